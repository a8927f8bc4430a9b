/*
 * catalog_fill STORE < SCRIPT: fills the catalog of STORE through the C
 * API, for the shell tests of the catalog commands. One command a line:
 *
 *   publish JOB OUT[,OUT...] [IN[,IN...]]   run JOB, write each OUT's data
 *                                           ("data of OUT\n") and publish it
 *   fail JOB OUT[,OUT...] MESSAGE...        a run that failed (exit 3)
 *   building JOB OUT[,OUT...]               a run that is still running
 *   bulk PREFIX N                           N live partitions PREFIX0000000...,
 *                                           published in batches of 1000
 *
 * Prints the run id of each publish / fail / building line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/clock.h"
#include "catalog/catalog.h"
#include "core/array.h"
#include "core/hash.h"

static struct store store;
static struct catalog cat;

static int die(const char *what, const struct strbuf *err)
{
	fprintf(stderr, "catalog_fill: %s: %s\n", what, err ? err->buf : strerror(errno));
	exit(1);
}

static void split(struct strvec *out, const char *list, const char *sep)
{
	char *copy = xstrdup(list ? list : ""), *save = NULL;

	for (char *t = strtok_r(copy, sep, &save); t; t = strtok_r(NULL, sep, &save))
		strvec_push(out, t);
	free(copy);
}

static char *begin(const char *job, const struct strvec *outs)
{
	struct strbuf err = STRBUF_INIT;
	struct run_record run;
	char *id;

	run_record_init(&run);
	run.job = xstrdup(job);
	run.host = xstrdup("filler");
	run.pid = getpid();
	run.config_json = xstrdup("{\"outputs\":[],\"inputs\":[],\"args\":[],\"env\":{}}");
	strvec_copy(&run.outputs, outs);
	if (catalog_begin_run(&cat, &run, &err) < 0)
		die("begin_run", &err);
	id = xstrdup(run.run_id);
	run_record_release(&run);
	return id;
}

static void write_data(const char *ref, struct manifest_output *o)
{
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT;
	char *text = xstrfmt("data of %s\n", ref);
	long long size;
	int fd;

	store_data_path(&store, ref, &path);
	if (mkdir_parents(path.buf, 0755) < 0)
		die(path.buf, NULL);
	fd = open(path.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		die(path.buf, NULL);
	if (sha256_file(path.buf, o->sha256, &size, &err) < 0)
		die(path.buf, &err);
	o->size = size;
	strbuf_release(&path);
	strbuf_release(&err);
	free(text);
}

static void publish(const char *job, const struct strvec *outs, const struct strvec *ins)
{
	struct strbuf err = STRBUF_INIT;
	struct manifest m;
	char *id = begin(job, outs);

	manifest_init(&m);
	m.run_id = id;
	m.job = xstrdup(job);
	m.version = xstrdup("1.0.0");
	sha256_hex(job, strlen(job), m.build_key);
	m.start_time_us = now_us() - 2500000;
	m.end_time_us = now_us();
	m.host = xstrdup("filler");
	m.log_path = xstrfmt("%s/logs/%s.log", store.root, id);
	strvec_push(&m.config.args, "--date");
	strvec_push(&m.config.args, "two words");
	strvec_push(&m.config.env, "MODE=test");
	for (size_t i = 0; i < outs->nr; i++) {
		write_data(outs->v[i], manifest_add_output(&m, outs->v[i]));
		strvec_push(&m.config.outputs, outs->v[i]);
	}
	for (size_t i = 0; i < ins->nr; i++) {
		struct manifest_input *in = manifest_add_input(&m, ins->v[i]);
		struct partition p;

		if (catalog_get_partition(&cat, ins->v[i], &p, &err) < 0)
			die("get_partition", &err);
		memcpy(in->sha256, p.sha256, sizeof(in->sha256));
		in->run_id = p.published_run ? xstrdup(p.published_run) : NULL;
		job_config_add_input(&m.config, DEP_MATERIALIZE, ins->v[i]);
		partition_release(&p);
	}
	if (catalog_publish(&cat, &m, &err) < 0)
		die("publish", &err);
	printf("%s\n", id);
	manifest_release(&m);
}

static void bulk(const char *prefix, long n)
{
	struct strbuf err = STRBUF_INIT;

	for (long base = 0; base < n; base += 1000) {
		size_t k = (size_t)(n - base < 1000 ? n - base : 1000);
		struct manifest *ms = xcalloc(k, sizeof(*ms));
		const struct manifest **ptrs = xcalloc(k, sizeof(*ptrs));

		for (size_t i = 0; i < k; i++) {
			struct strvec outs = STRVEC_INIT;
			struct manifest_output *o;
			char *ref = xstrfmt("%s%07ld", prefix, base + (long)i);

			strvec_push(&outs, ref);
			manifest_init(&ms[i]);
			ms[i].run_id = begin("bulk", &outs);
			ms[i].job = xstrdup("bulk");
			ms[i].start_time_us = ms[i].end_time_us = now_us();
			o = manifest_add_output(&ms[i], ref);
			sha256_hex(ref, strlen(ref), o->sha256);
			o->size = base + (long)i;
			strvec_push(&ms[i].config.outputs, ref);
			ptrs[i] = &ms[i];
			strvec_clear(&outs);
			free(ref);
		}
		if (catalog_publish_batch(&cat, ptrs, k, &err) < 0)
			die("publish_batch", &err);
		for (size_t i = 0; i < k; i++)
			manifest_release(&ms[i]);
		free(ms);
		free(ptrs);
	}
}

int main(int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT;
	char line[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: catalog_fill STORE < SCRIPT\n");
		return 2;
	}
	if (store_open(&store, argv[1], &err) < 0 || catalog_open(&cat, &store, getenv("DATABUILD_CATALOG"), &err) < 0)
		die(argv[1], &err);
	while (fgets(line, sizeof(line), stdin)) {
		struct strvec w = STRVEC_INIT, outs = STRVEC_INIT, ins = STRVEC_INIT;

		split(&w, line, " \t\n");
		if (!w.nr || w.v[0][0] == '#') {
			strvec_clear(&w);
			continue;
		}
		if (w.nr >= 3)
			split(&outs, w.v[2], ",");
		if (!strcmp(w.v[0], "publish") && w.nr >= 3) {
			if (w.nr >= 4)
				split(&ins, w.v[3], ",");
			publish(w.v[1], &outs, &ins);
		} else if (!strcmp(w.v[0], "fail") && w.nr >= 4) {
			struct strbuf msg = STRBUF_INIT;
			char *id = begin(w.v[1], &outs);

			for (size_t i = 3; i < w.nr; i++)
				strbuf_addf(&msg, "%s%s", i > 3 ? " " : "", w.v[i]);
			if (catalog_finish_run(&cat, id, RUN_FAILED, 3, msg.buf, &err) < 0)
				die("finish_run", &err);
			printf("%s\n", id);
			free(id);
			strbuf_release(&msg);
		} else if (!strcmp(w.v[0], "building") && w.nr == 3) {
			char *id = begin(w.v[1], &outs);

			printf("%s\n", id);
			free(id);
		} else if (!strcmp(w.v[0], "bulk") && w.nr == 3) {
			bulk(w.v[1], strtol(w.v[2], NULL, 10));
		} else {
			fprintf(stderr, "catalog_fill: bad line: %s", line);
			return 2;
		}
		strvec_clear(&w);
		strvec_clear(&outs);
		strvec_clear(&ins);
	}
	catalog_close(&cat);
	store_release(&store);
	return 0;
}
