#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/recover.h"
#include "core/array.h"
#include "core/hash.h"
#include "core/json.h"
#include "store/store.h"
#include "core/strmap.h"

/* One manifest file of the store. */
struct found {
	struct manifest m;
	int64_t id;          /* its run id */
	int entered;         /* the catalog did not know its run */
};

/* What became of one ref: the manifest it is published by. */
struct ref_state {
	int64_t winner;      /* the run id whose sha256 the data has; 0: none */
	int64_t newest;      /* the newest run id listing it */
	char ident[STORE_IDENT_MAX];
	char *why;           /* no winner: what is wrong with the data */
};

static int by_id(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads every <store>/manifests/<id>.json into *fs, sorted by run id. */
static int read_manifests(struct catalog *c, struct found **fs, size_t *nr,
			  struct strbuf *err)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT, text = STRBUF_INIT;
	size_t alloc = 0;
	struct dirent *de;
	DIR *d;
	int ret = -1;

	store_path(c->store, "manifests", &dir);
	d = opendir(dir.buf);
	if (!d) {
		strbuf_addf(err, "store '%s': cannot read '%s': %s", c->store->root, dir.buf,
			    strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		struct found *f;
		int fd;

		if (de->d_name[0] == '.' || !dot || strcmp(dot, ".json"))
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir.buf, de->d_name);
		strbuf_reset(&text);
		fd = open(path.buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || strbuf_read_fd(&text, fd, (size_t)1 << 30) < 0) {
			strbuf_addf(err, "cannot read manifest '%s': %s", path.buf, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		ALLOC_GROW(*fs, *nr + 1, alloc);
		f = &(*fs)[*nr];
		memset(f, 0, sizeof(*f));
		if (manifest_parse(&f->m, text.buf, text.len, err) < 0) {
			strbuf_addf(err, " (manifest '%s')", path.buf);
			goto out;
		}
		(*nr)++;
		f->id = f->m.run_id ? strtoll(f->m.run_id, NULL, 10) : 0;
		if (f->id <= 0 || !f->m.job || !f->m.outputs_nr) {
			strbuf_addf(err, "manifest '%s': no run id, job or outputs", path.buf);
			goto out;
		}
	}
	qsort(*fs, *nr, sizeof(**fs), by_id);
	ret = 0;
out:
	if (d)
		closedir(d);
	strbuf_release(&dir);
	strbuf_release(&path);
	strbuf_release(&text);
	return ret;
}

/* Hashes ref's data file once and finds the newest manifest it matches. */
static void settle_ref(struct catalog *c, const char *ref, struct ref_state *rs,
		       const struct found *fs, size_t nr)
{
	struct strbuf e = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE];
	long long size = 0;
	struct stat st;
	int fd = store_open_data(c->store, ref, O_RDONLY | O_NONBLOCK);

	if (fd < 0) {
		rs->why = xstrfmt(errno == ENOENT ? "its data file is missing" :
				  errno == ELOOP ? "its data file is a symbolic link" :
				  "its data file cannot be opened");
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    sha256_fd(fd, ref, hex, &size, &e) < 0) {
		rs->why = xstrfmt("its data file cannot be read%s%s", e.len ? ": " : "", e.buf);
		goto out;
	}
	store_ident_format(&st, rs->ident);
	for (size_t i = nr; i-- > 0 && !rs->winner;)
		for (size_t k = 0; k < fs[i].m.outputs_nr; k++)
			if (!strcmp(fs[i].m.outputs[k].ref, ref) &&
			    !strcmp(fs[i].m.outputs[k].sha256, hex))
				rs->winner = fs[i].id;
	if (!rs->winner)
		rs->why = xstrfmt("its data file matches none of its manifests (sha256 %.12s...)",
				  hex);
out:
	close(fd);
	strbuf_release(&e);
}

/* Enters f's run as it began; 1 entered, 0 already known, -1. */
static int enter_run(struct catalog *c, int64_t build_id, struct found *f, struct strbuf *err)
{
	struct run_record r, known;
	cJSON *cfg;
	int found;

	run_record_init(&known);
	found = catalog_get_run(c, f->m.run_id, &known, err);
	run_record_release(&known);
	if (found)
		return found < 0 ? -1 : 0;
	run_record_init(&r);
	r.run_id = xstrdup(f->m.run_id);
	r.build_id = build_id;
	r.job = xstrdup(f->m.job);
	cfg = job_config_to_json(&f->m.config);
	r.config_json = cJSON_PrintUnformatted(cfg);
	cJSON_Delete(cfg);
	r.host = xstrdup(f->m.host ? f->m.host : "");
	r.start_us = f->m.start_time_us;
	r.log_path = f->m.log_path ? xstrdup(f->m.log_path) : NULL;
	for (size_t k = 0; k < f->m.outputs_nr; k++)
		strvec_push(&r.outputs, f->m.outputs[k].ref);
	found = catalog_begin_run(c, &r, err);
	run_record_release(&r);
	return found < 0 ? -1 : 1;
}

int catalog_recover(struct catalog *c, struct recover_stats *st,
		    void (*report)(const char *ref, const char *why, void *arg), void *arg,
		    struct strbuf *err)
{
	struct found *fs = NULL;
	struct strmap refs = STRMAP_INIT;
	struct strvec asked = STRVEC_INIT;
	char id[STORE_ID_LEN + 1];
	int64_t build_id = 0;
	size_t nr = 0;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (read_manifests(c, &fs, &nr, err) < 0)
		goto out;
	st->manifests = nr;
	for (size_t i = 0; i < nr; i++)
		for (size_t k = 0; k < fs[i].m.outputs_nr; k++) {
			const char *ref = fs[i].m.outputs[k].ref;
			struct ref_state *rs = strmap_get(&refs, ref);

			if (!rs) {
				rs = xcalloc(1, sizeof(*rs));
				strmap_put(&refs, ref, rs);
			}
			rs->newest = fs[i].id;
		}
	for (size_t i = 0; i < nr; i++)
		for (size_t k = 0; k < fs[i].m.outputs_nr; k++) {
			struct ref_state *rs = strmap_get(&refs, fs[i].m.outputs[k].ref);

			if (!rs->winner && !rs->why)
				settle_ref(c, fs[i].m.outputs[k].ref, rs, fs, nr);
		}
	if (catalog_begin_build(c, &asked, "recover", &build_id, err) < 0)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		struct manifest *m = &fs[i].m;
		size_t keep = 0;
		int entered = enter_run(c, build_id, &fs[i], err);

		if (entered < 0)
			goto out;
		if (!entered) {
			st->skipped++;
			continue;
		}
		fs[i].entered = 1;
		st->runs++;
		/* its outputs that arrived, or that no manifest's data matches */
		for (size_t k = 0; k < m->outputs_nr; k++) {
			struct ref_state *rs = strmap_get(&refs, m->outputs[k].ref);

			if (rs->winner ? fs[i].id > rs->winner : fs[i].id != rs->newest) {
				free(m->outputs[k].ref);
				continue;
			}
			if (rs->winner == fs[i].id)
				memcpy(m->outputs[k].ident, rs->ident, sizeof(rs->ident));
			m->outputs[keep++] = m->outputs[k];
		}
		m->outputs_nr = keep;
		if (!keep) {
			st->abandoned++;
			if (catalog_finish_run(c, m->run_id, RUN_ABANDONED, 0,
					       "recovered from the store: none of its outputs "
					       "was published", err) < 0)
				goto out;
			continue;
		}
		if (catalog_publish(c, m, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		if (!fs[i].entered)
			continue;
		for (size_t k = 0; k < fs[i].m.outputs_nr; k++) {
			const char *ref = fs[i].m.outputs[k].ref;
			struct ref_state *rs = strmap_get(&refs, ref);

			if (rs->winner) {
				st->partitions += rs->winner == fs[i].id;
				continue;
			}
			st->damaged++;
			if (report)
				report(ref, rs->why, arg);
			if (catalog_set_status(c, ref, PART_DAMAGED, rs->why, err) < 0)
				goto out;
		}
	}
	if (catalog_finish_build(c, build_id, "succeeded", err) < 0 ||
	    store_id(c->store, 1, id, err) < 0 ||
	    catalog_set_meta(c, CATALOG_META_STORE_ID, id, err) < 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; i < nr; i++)
		manifest_release(&fs[i].m);
	free(fs);
	{
		size_t iter = 0;
		const char *key;
		void *val;

		while (strmap_next(&refs, &iter, &key, &val)) {
			struct ref_state *rs = val;

			free(rs->why);
			free(rs);
		}
	}
	strmap_clear(&refs);
	strvec_clear(&asked);
	return ret;
}
