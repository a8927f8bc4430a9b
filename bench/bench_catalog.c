/*
 * benchcatalog: the catalog benchmark and the catalog filler of the
 * listing benchmark. Everything goes through the catalog_*() API; the
 * reference figures come from the raw SQLite C API on the same file.
 *
 *   benchcatalog fill STORE DATASET COUNT [--files] [--per-run N]
 *     Publishes COUNT live partitions DATASET/p=NNNNNNN (empty data),
 *     N outputs per run (default 1000), manifests published with
 *     catalog_publish_batch. --files also creates each partition's file
 *     (empty, mode 0444) in the store's data directory. Prints
 *     "fill <wall ns> <count>".
 *
 *   benchcatalog bench STORE [--partitions N] [--lookups N] [--list N]
 *                            [--publish N] [--reps R] [--seed S]
 *     Fills N partitions (default 1,000,000) in ten datasets
 *     cat/ds=D/p=NNNNNNN unless the catalog already holds them, then runs R
 *     interleaved repetitions (reference first) and prints one line each:
 *       fill <ns> <partitions>
 *       lookup sqlite|catalog <p50 ns> <p99 ns> <mean ns> <lookups>
 *       list sqlite|catalog <ns> <rows>
 *       publish catalog <ns> <manifests> <begin_run ns>
 *     lookup: random point lookups of existing refs, one timed call each
 *     (catalog_get_partition vs a prepared SELECT * ... WHERE ref = ?);
 *     list: one whole dataset (N / 10 partitions; --list 0 skips it) paged 1,000
 *     at a time with catalog_list_partitions vs one range SELECT;
 *     publish: `--publish` one-output manifests (default 10,000, each with
 *     two inputs) begun with catalog_begin_run (untimed), then published in
 *     one catalog_publish_batch (timed).
 *
 *   benchcatalog ops STORE LOCATION [--ops N] [--tag T]
 *     The latency of single catalog operations on the catalog at LOCATION
 *     ("" for the store's SQLite file, or a postgresql:// URL), as one
 *     builder sees them: N times each (default 1,000) a lease acquire plus
 *     release of a fresh ref, a one-output run begun and published
 *     (catalog_begin_run + catalog_publish), and a point lookup of a
 *     published ref. Refs are ops/T/p=N, so runs on one catalog do not
 *     collide. Prints one line per operation:
 *       ops lease|publish|lookup <p50 ns> <p99 ns> <mean ns> <count>
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "catalog/catalog.h"
#include "core/array.h"
#include "store/store.h"
#include "core/strbuf.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define FAKE_KEY "0000000000000000000000000000000000000000000000000000000000000001"
#define NDATASETS 10

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(const struct strbuf *err)
{
	fprintf(stderr, "benchcatalog: %s\n", err->buf);
	return -1;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void fill_ref(struct strbuf *sb, const char *dataset, long i)
{
	strbuf_reset(sb);
	strbuf_addf(sb, "%s/p=%07ld", dataset, i);
}

static int touch_file(const struct store *s, const char *ref, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	int fd, ret = -1;

	store_data_path(s, ref, &path);
	if (mkdir_parents(path.buf, 0755) < 0 ||
	    (fd = open(path.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444)) < 0) {
		strbuf_addf(err, "cannot create '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	close(fd);
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

/* Begins one run producing outputs from inputs and prepares its manifest in m. */
static int begin(struct catalog *c, struct manifest *m, const struct strvec *outputs,
		 const struct strvec *inputs, struct strbuf *err)
{
	struct run_record run;
	int ret = -1;

	run_record_init(&run);
	manifest_init(m);
	run.job = xstrdup("bench_fill");
	run.host = xstrdup("bench");
	run.start_us = now_us();
	strvec_copy(&run.outputs, outputs);
	if (catalog_begin_run(c, &run, err) < 0)
		goto out;
	m->run_id = xstrdup(run.run_id);
	m->job = xstrdup("bench_fill");
	m->version = xstrdup("1.0.0");
	memcpy(m->build_key, FAKE_KEY, sizeof(m->build_key));
	m->start_time_us = run.start_us;
	m->end_time_us = now_us();
	m->host = xstrdup("bench");
	for (size_t i = 0; i < outputs->nr; i++) {
		struct manifest_output *o = manifest_add_output(m, outputs->v[i]);

		memcpy(o->sha256, EMPTY_SHA256, sizeof(o->sha256));
		o->size = 0;
		strvec_push(&m->config.outputs, outputs->v[i]);
	}
	for (size_t i = 0; i < inputs->nr; i++) {
		struct manifest_input *in = manifest_add_input(m, inputs->v[i]);

		memcpy(in->sha256, EMPTY_SHA256, sizeof(in->sha256));
		job_config_add_input(&m->config, DEP_MATERIALIZE, inputs->v[i]);
	}
	ret = 0;
out:
	run_record_release(&run);
	return ret;
}

static int publish(struct catalog *c, struct manifest *ms, size_t n, struct strbuf *err)
{
	const struct manifest **ptrs = xcalloc(n ? n : 1, sizeof(*ptrs));
	int ret;

	for (size_t i = 0; i < n; i++)
		ptrs[i] = &ms[i];
	ret = catalog_publish_batch(c, ptrs, n, err);
	free(ptrs);
	return ret;
}

static int fill(struct catalog *c, const struct store *s, const char *dataset, long count,
		long per_run, int files, struct strbuf *err)
{
	const size_t batch = 10;
	struct manifest *ms = xcalloc(batch, sizeof(*ms));
	struct strvec outs = STRVEC_INIT, none = STRVEC_INIT;
	struct strbuf ref = STRBUF_INIT;
	size_t nr = 0;
	int ret = -1;

	for (long i = 0; i < count;) {
		strvec_clear(&outs);
		for (long j = 0; j < per_run && i < count; j++, i++) {
			fill_ref(&ref, dataset, i);
			strvec_push(&outs, ref.buf);
			if (files && touch_file(s, ref.buf, err) < 0)
				goto out;
		}
		if (begin(c, &ms[nr], &outs, &none, err) < 0)
			goto out;
		if (++nr == batch || i == count) {
			if (publish(c, ms, nr, err) < 0)
				goto out;
			for (size_t k = 0; k < nr; k++)
				manifest_release(&ms[k]);
			nr = 0;
		}
	}
	ret = 0;
out:
	for (size_t k = 0; k < nr; k++)
		manifest_release(&ms[k]);
	free(ms);
	strvec_clear(&outs);
	strbuf_release(&ref);
	return ret;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void report(const char *what, const char *who, int64_t *t, size_t n)
{
	int64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof(*t), cmp_i64);
	printf("%s %s %lld %lld %lld %zu\n", what, who, (long long)t[n / 2],
	       (long long)t[(n * 99) / 100], (long long)(sum / (int64_t)n), n);
	fflush(stdout);
}

static void report_lookups(const char *who, int64_t *t, size_t n)
{
	int64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof(*t), cmp_i64);
	printf("lookup %s %lld %lld %lld %zu\n", who, (long long)t[n / 2],
	       (long long)t[(n * 99) / 100], (long long)(sum / (int64_t)n), n);
	fflush(stdout);
}

/* Copies every column of the current row, as the catalog copies a partition. */
static void copy_row(sqlite3_stmt *st)
{
	int n = sqlite3_column_count(st);

	for (int i = 0; i < n; i++) {
		const unsigned char *v = sqlite3_column_text(st, i);

		free(v ? xstrdup((const char *)v) : NULL);
	}
}

static int ref_of(long partitions, long i, struct strbuf *sb)
{
	long per = partitions / NDATASETS;

	strbuf_reset(sb);
	strbuf_addf(sb, "cat/ds=%ld/p=%07ld", i / per, i % per);
	return 0;
}

static int bench_lookups(struct catalog *c, sqlite3 *db, long partitions, size_t n)
{
	int64_t *t = xcalloc(n, sizeof(*t));
	long *idx = xcalloc(n, sizeof(*idx));
	struct strbuf ref = STRBUF_INIT, err = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	for (size_t i = 0; i < n; i++)
		idx[i] = (long)(rng() % (uint64_t)partitions);
	if (sqlite3_prepare_v3(db, "SELECT * FROM partitions WHERE ref = ?1",
			       -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "benchcatalog: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t t0;
		int rc;

		ref_of(partitions, idx[i], &ref);
		t0 = now_ns();
		sqlite3_bind_text(st, 1, ref.buf, (int)ref.len, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			copy_row(st);
		sqlite3_reset(st);
		t[i] = now_ns() - t0;
		if (rc != SQLITE_ROW) {
			fprintf(stderr, "benchcatalog: sqlite: '%s' not found\n", ref.buf);
			goto out;
		}
	}
	report_lookups("sqlite", t, n);
	for (size_t i = 0; i < n; i++) {
		struct partition p;
		int64_t t0;
		int rc;

		ref_of(partitions, idx[i], &ref);
		t0 = now_ns();
		rc = catalog_get_partition(c, ref.buf, &p, &err);
		partition_release(&p);
		t[i] = now_ns() - t0;
		if (rc != 1) {
			if (rc < 0)
				fail(&err);
			else
				fprintf(stderr, "benchcatalog: catalog: '%s' not found\n", ref.buf);
			goto out;
		}
	}
	report_lookups("catalog", t, n);
	ret = 0;
out:
	sqlite3_finalize(st);
	strbuf_release(&ref);
	strbuf_release(&err);
	free(t);
	free(idx);
	return ret;
}

static int bench_list(struct catalog *c, sqlite3 *db, long dataset, long expect)
{
	struct strbuf prefix = STRBUF_INIT, upper = STRBUF_INIT, err = STRBUF_INIT;
	struct partition_list l = PARTITION_LIST_INIT;
	sqlite3_stmt *st = NULL;
	char *after = NULL;
	long rows = 0;
	int64_t t0;
	int ret = -1, rc;

	strbuf_addf(&prefix, "cat/ds=%ld/", dataset);
	strbuf_addf(&upper, "cat/ds=%ld0", dataset);  /* '0' follows '/' */
	if (sqlite3_prepare_v2(db, "SELECT * FROM partitions WHERE ref >= ?1 AND ref < ?2"
			       " ORDER BY ref", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "benchcatalog: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	t0 = now_ns();
	sqlite3_bind_text(st, 1, prefix.buf, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, upper.buf, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		copy_row(st);
		rows++;
	}
	printf("list sqlite %lld %ld\n", (long long)(now_ns() - t0), rows);
	if (rc != SQLITE_DONE || rows != expect) {
		fprintf(stderr, "benchcatalog: sqlite listed %ld of %ld rows\n", rows, expect);
		goto out;
	}
	rows = 0;
	t0 = now_ns();
	for (;;) {
		size_t got;

		if (catalog_list_partitions(c, prefix.buf, after, 1000, 0, &l, &err) < 0) {
			fail(&err);
			goto out;
		}
		got = l.nr;
		rows += (long)got;
		if (got) {
			free(after);
			after = xstrdup(l.items[got - 1].ref);
		}
		partition_list_release(&l);
		if (got < 1000)
			break;
	}
	printf("list catalog %lld %ld\n", (long long)(now_ns() - t0), rows);
	fflush(stdout);
	if (rows != expect) {
		fprintf(stderr, "benchcatalog: catalog listed %ld of %ld rows\n", rows, expect);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	free(after);
	strbuf_release(&prefix);
	strbuf_release(&upper);
	strbuf_release(&err);
	return ret;
}

static int bench_publish(struct catalog *c, long partitions, long n, int rep)
{
	struct manifest *ms = xcalloc((size_t)n, sizeof(*ms));
	struct strvec outs = STRVEC_INIT, ins = STRVEC_INIT;
	struct strbuf ref = STRBUF_INIT, err = STRBUF_INIT;
	int64_t t0, t_begin, t_pub;
	long begun = 0;
	int ret = -1;

	t0 = now_ns();
	for (long i = 0; i < n; i++, begun++) {
		strvec_clear(&outs);
		strvec_clear(&ins);
		strbuf_reset(&ref);
		strbuf_addf(&ref, "pub/rep=%d/p=%06ld", rep, i);
		strvec_push(&outs, ref.buf);
		ref_of(partitions, (long)(rng() % (uint64_t)partitions), &ref);
		strvec_push(&ins, ref.buf);
		ref_of(partitions, (long)(rng() % (uint64_t)partitions), &ref);
		if (strcmp(ref.buf, ins.v[0]))
			strvec_push(&ins, ref.buf);
		if (begin(c, &ms[i], &outs, &ins, &err) < 0) {
			fail(&err);
			goto out;
		}
	}
	t_begin = now_ns() - t0;
	t0 = now_ns();
	if (publish(c, ms, (size_t)n, &err) < 0) {
		fail(&err);
		goto out;
	}
	t_pub = now_ns() - t0;
	printf("publish catalog %lld %ld %lld\n", (long long)t_pub, n, (long long)t_begin);
	fflush(stdout);
	ret = 0;
out:
	for (long i = 0; i < begun; i++)
		manifest_release(&ms[i]);
	free(ms);
	strvec_clear(&outs);
	strvec_clear(&ins);
	strbuf_release(&ref);
	strbuf_release(&err);
	return ret;
}

static int parse_long(const char *opt, const char *v, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno || *end || *out < 0) {
		fprintf(stderr, "benchcatalog: option '%s': bad number '%s'\n", opt, v);
		return -1;
	}
	return 0;
}

static int cmd_fill(int argc, char **argv)
{
	struct store s = { 0 };
	struct catalog c = { 0 };
	struct strbuf err = STRBUF_INIT;
	long count, per_run = 1000;
	int files = 0, opened = 0, ret = 1;
	int64_t t0;

	if (argc < 5 || parse_long("COUNT", argv[4], &count) < 0) {
		fprintf(stderr, "usage: benchcatalog fill STORE DATASET COUNT [--files] [--per-run N]\n");
		return 2;
	}
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--files"))
			files = 1;
		else if (!strcmp(argv[i], "--per-run") && i + 1 < argc &&
			 !parse_long("--per-run", argv[i + 1], &per_run) && per_run > 0)
			i++;
		else {
			fprintf(stderr, "benchcatalog: bad option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (store_open(&s, argv[2], &err) < 0 || catalog_open(&c, &s, NULL, &err) < 0) {
		fail(&err);
		goto out;
	}
	opened = 1;
	t0 = now_ns();
	if (fill(&c, &s, argv[3], count, per_run, files, &err) < 0) {
		fail(&err);
		goto out;
	}
	printf("fill %lld %ld\n", (long long)(now_ns() - t0), count);
	ret = 0;
out:
	if (opened)
		catalog_close(&c);
	store_release(&s);
	strbuf_release(&err);
	return ret;
}

static int cmd_bench(int argc, char **argv)
{
	struct store s = { 0 };
	struct catalog c = { 0 };
	struct strbuf err = STRBUF_INIT, path = STRBUF_INIT, ds = STRBUF_INIT;
	struct partition p;
	sqlite3 *db = NULL;
	long partitions = 1000000, lookups = 100000, list = 1, pub = 10000, reps = 5, seed = 1;
	int opened = 0, ret = 1, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: benchcatalog bench STORE [--partitions N] [--lookups N]"
			" [--list N] [--publish N] [--reps R] [--seed S]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		long *v = !strcmp(argv[i], "--partitions") ? &partitions :
			  !strcmp(argv[i], "--lookups") ? &lookups :
			  !strcmp(argv[i], "--list") ? &list :
			  !strcmp(argv[i], "--publish") ? &pub :
			  !strcmp(argv[i], "--reps") ? &reps :
			  !strcmp(argv[i], "--seed") ? &seed : NULL;

		if (!v || i + 1 >= argc || parse_long(argv[i], argv[i + 1], v) < 0) {
			fprintf(stderr, "benchcatalog: bad option '%s'\n", argv[i]);
			return 2;
		}
		i++;
	}
	if (partitions < NDATASETS || lookups < 1 || reps < 1) {
		fprintf(stderr, "benchcatalog: need --partitions >= %d, --lookups >= 1, --reps >= 1\n",
			NDATASETS);
		return 2;
	}
	partitions -= partitions % NDATASETS;
	rng_state ^= (uint64_t)seed * 0x2545f4914f6cdd1dull;
	if (store_open(&s, argv[2], &err) < 0 || catalog_open(&c, &s, NULL, &err) < 0) {
		fail(&err);
		goto out;
	}
	opened = 1;
	ref_of(partitions, partitions - 1, &ds);
	partition_init(&p);
	rc = catalog_get_partition(&c, ds.buf, &p, &err);
	partition_release(&p);
	if (rc < 0) {
		fail(&err);
		goto out;
	}
	if (!rc) {
		int64_t t0 = now_ns();

		for (long d = 0; d < NDATASETS; d++) {
			strbuf_reset(&ds);
			strbuf_addf(&ds, "cat/ds=%ld", d);
			if (fill(&c, &s, ds.buf, partitions / NDATASETS, 1000, 0, &err) < 0) {
				fail(&err);
				goto out;
			}
		}
		printf("fill %lld %ld\n", (long long)(now_ns() - t0), partitions);
		fflush(stdout);
	}
	store_path(&s, "catalog.db", &path);
	if (sqlite3_open_v2(path.buf, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "benchcatalog: cannot open '%s': %s\n", path.buf,
			db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_exec(db, "PRAGMA cache_size = -16384", NULL, NULL, NULL);
	if (list)
		list = partitions / NDATASETS;
	for (long r = 0; r < reps; r++) {
		if (bench_lookups(&c, db, partitions, (size_t)lookups) < 0 ||
		    (list && bench_list(&c, db, r % NDATASETS, list) < 0) ||
		    (pub && bench_publish(&c, partitions, pub, (int)r + (int)seed * 1000) < 0))
			goto out;
	}
	ret = 0;
out:
	if (db)
		sqlite3_close(db);
	if (opened)
		catalog_close(&c);
	store_release(&s);
	strbuf_release(&err);
	strbuf_release(&path);
	strbuf_release(&ds);
	return ret;
}

static int cmd_ops(int argc, char **argv)
{
	struct store s = { 0 };
	struct catalog c = { 0 };
	struct strbuf err = STRBUF_INIT, ref = STRBUF_INIT;
	struct strvec outs = STRVEC_INIT, none = STRVEC_INIT;
	const char *tag = "bench";
	long n = 1000;
	int64_t *lease_t = NULL, *pub_t = NULL, *look_t = NULL;
	int opened = 0, ret = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: benchcatalog ops STORE LOCATION [--ops N] [--tag T]\n");
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--ops") && i + 1 < argc && !parse_long("--ops", argv[i + 1], &n) &&
		    n > 0) {
			i++;
		} else if (!strcmp(argv[i], "--tag") && i + 1 < argc) {
			tag = argv[++i];
		} else {
			fprintf(stderr, "benchcatalog: bad option '%s'\n", argv[i]);
			return 2;
		}
	}
	lease_t = xcalloc((size_t)n, sizeof(*lease_t));
	pub_t = xcalloc((size_t)n, sizeof(*pub_t));
	look_t = xcalloc((size_t)n, sizeof(*look_t));
	if (store_open(&s, argv[2], &err) < 0 ||
	    catalog_open(&c, &s, *argv[3] ? argv[3] : NULL, &err) < 0) {
		fail(&err);
		goto out;
	}
	opened = 1;
	for (long i = 0; i < n; i++) {
		struct lease *l = NULL;
		struct manifest m;
		int64_t t0;
		int rc;

		strbuf_reset(&ref);
		strbuf_addf(&ref, "ops/%s/p=%07ld", tag, i);
		t0 = now_ns();
		rc = catalog_lease_acquire(&c, ref.buf, 0, &l, &err);
		if (rc == 1)
			catalog_lease_release(&c, l);
		lease_t[i] = now_ns() - t0;
		if (rc != 1) {
			if (!rc)
				strbuf_addf(&err, "lease of '%s' is held by someone else", ref.buf);
			fail(&err);
			goto out;
		}
		strvec_clear(&outs);
		strvec_push(&outs, ref.buf);
		t0 = now_ns();
		rc = begin(&c, &m, &outs, &none, &err);
		if (!rc)
			rc = catalog_publish(&c, &m, &err);
		pub_t[i] = now_ns() - t0;
		manifest_release(&m);
		if (rc < 0) {
			fail(&err);
			goto out;
		}
	}
	for (long i = 0; i < n; i++) {
		struct partition p;
		int64_t t0;
		int rc;

		strbuf_reset(&ref);
		strbuf_addf(&ref, "ops/%s/p=%07ld", tag, (long)(rng() % (uint64_t)n));
		t0 = now_ns();
		rc = catalog_get_partition(&c, ref.buf, &p, &err);
		partition_release(&p);
		look_t[i] = now_ns() - t0;
		if (rc != 1) {
			if (!rc)
				strbuf_addf(&err, "'%s' not found after its publish", ref.buf);
			fail(&err);
			goto out;
		}
	}
	report("ops", "lease", lease_t, (size_t)n);
	report("ops", "publish", pub_t, (size_t)n);
	report("ops", "lookup", look_t, (size_t)n);
	ret = 0;
out:
	if (opened)
		catalog_close(&c);
	store_release(&s);
	strbuf_release(&err);
	strbuf_release(&ref);
	strvec_clear(&outs);
	free(lease_t);
	free(pub_t);
	free(look_t);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "fill"))
		return cmd_fill(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ops"))
		return cmd_ops(argc, argv);
	fprintf(stderr, "usage: benchcatalog fill|bench|ops STORE ...\n");
	return 2;
}
