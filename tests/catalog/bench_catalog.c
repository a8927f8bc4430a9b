/*
 * bench_catalog [N [DIR]]: the catalog's performance figures on N
 * partitions (default 1,000,000) in a fresh store under DIR (default
 * $TMPDIR): filling through begin_run + publish_batch, point lookups
 * (p50/p99), listing a 100k-partition prefix in pages of 1000, listing a
 * directory, and publishing 10,000 manifests in one batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/array.h"
#include "core/hash.h"

#define DATASETS 10

static struct store store;
static struct catalog cat;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int rc, const struct strbuf *err)
{
	if (rc < 0) {
		fprintf(stderr, "bench_catalog: %s\n", err->buf);
		exit(1);
	}
}

static char *ref_of(long i, long per_ds)
{
	return xstrfmt("ds%02ld/date=%07ld", i / per_ds, i % per_ds);
}

/* Begins one run per ref and publishes them all in one transaction; returns the publish time. */
static double publish_range(long from, long to, long per_ds, const char *job)
{
	struct strbuf err = STRBUF_INIT;
	size_t n = (size_t)(to - from);
	struct manifest *ms = xcalloc(n, sizeof(*ms));
	const struct manifest **ptrs = xcalloc(n, sizeof(*ptrs));
	double t0;

	for (size_t k = 0; k < n; k++) {
		struct run_record run;
		struct manifest_output *o;
		char *ref = ref_of(from + (long)k, per_ds);

		run_record_init(&run);
		run.job = xstrdup(job);
		strvec_push(&run.outputs, ref);
		check(catalog_begin_run(&cat, &run, &err), &err);
		manifest_init(&ms[k]);
		ms[k].run_id = xstrdup(run.run_id);
		ms[k].job = xstrdup(job);
		ms[k].version = xstrdup("1.0.0");
		sha256_hex(job, strlen(job), ms[k].build_key);
		ms[k].start_time_us = run.start_us;
		ms[k].end_time_us = run.start_us + 1000;
		o = manifest_add_output(&ms[k], ref);
		sha256_hex(ref, strlen(ref), o->sha256);
		o->size = 1000 + (long)k;
		strvec_push(&ms[k].config.outputs, ref);
		if (from + (long)k >= per_ds) {
			char *up = ref_of(from + (long)k - per_ds, per_ds);
			struct manifest_input *in = manifest_add_input(&ms[k], up);

			sha256_hex(up, strlen(up), in->sha256);
			job_config_add_input(&ms[k].config, DEP_MATERIALIZE, up);
			free(up);
		}
		ptrs[k] = &ms[k];
		run_record_release(&run);
		free(ref);
	}
	t0 = now_s();
	check(catalog_publish_batch(&cat, ptrs, n, &err), &err);
	t0 = now_s() - t0;
	for (size_t k = 0; k < n; k++)
		manifest_release(&ms[k]);
	free(ms);
	free(ptrs);
	strbuf_release(&err);
	return t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT;
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long per_ds = n / DATASETS;
	const char *base = argc > 2 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir = xstrfmt("%s/databuild-bench.XXXXXX", base);
	double t0, fill, *lat;
	size_t lookups = 100000, total = 0;
	char *after = NULL, *prefix;

	if (n < DATASETS * 1000 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: bench_catalog [N >= 10000 [DIR]]\n");
		return 2;
	}
	check(store_open(&store, dir, &err), &err);
	check(catalog_open(&cat, &store, NULL, &err), &err);

	t0 = now_s();
	for (long i = 0; i < n; i += 10000)
		publish_range(i, i + 10000 < n ? i + 10000 : n, per_ds, "bench");
	fill = now_s() - t0;
	printf("fill: %ld partitions (begin_run each + publish_batch of 10000) in %.1f s "
	       "(%.0f runs/s)\n", n, fill, (double)n / fill);

	/* point lookups at random refs */
	lat = xcalloc(lookups, sizeof(*lat));
	srand(42);
	for (size_t i = 0; i < lookups; i++) {
		char *ref = ref_of(rand() % n, per_ds);
		struct partition p;
		int rc;

		t0 = now_s();
		rc = catalog_get_partition(&cat, ref, &p, &err);
		lat[i] = now_s() - t0;
		check(rc, &err);
		if (rc != 1 || p.status != PART_LIVE) {
			fprintf(stderr, "bench_catalog: '%s' not live\n", ref);
			return 1;
		}
		partition_release(&p);
		free(ref);
	}
	qsort(lat, lookups, sizeof(*lat), cmp_double);
	printf("point lookup: p50 %.1f us, p99 %.1f us (%zu lookups)\n",
	       lat[lookups / 2] * 1e6, lat[lookups * 99 / 100] * 1e6, lookups);
	free(lat);

	/* a whole prefix, a page of 1000 at a time */
	prefix = xstrfmt("ds%02d/", DATASETS / 2);
	t0 = now_s();
	for (;;) {
		struct partition_list l = PARTITION_LIST_INIT;
		size_t got;

		check(catalog_list_partitions(&cat, prefix, after, 1000, 0, &l, &err), &err);
		got = l.nr;
		total += got;
		if (got) {
			free(after);
			after = xstrdup(l.items[got - 1].ref);
		}
		partition_list_release(&l);
		if (got < 1000)
			break;
	}
	printf("list prefix '%s': %zu partitions in %.1f ms (pages of 1000)\n", prefix, total,
	       (now_s() - t0) * 1e3);

	{
		struct strvec names = STRVEC_INIT;
		char *d = xstrfmt("ds%02d", DATASETS / 2);

		t0 = now_s();
		check(catalog_list_children(&cat, d, NULL, 1000, &names, &err), &err);
		printf("list children of '%s': first page of %zu names in %.2f ms\n", d, names.nr,
		       (now_s() - t0) * 1e3);
		strvec_clear(&names);
		free(d);
	}

	{
		struct strvec down = STRVEC_INIT;
		struct strvec refs = STRVEC_INIT;
		char *r = ref_of(per_ds * (DATASETS - 3), per_ds);

		t0 = now_s();
		check(catalog_lineage(&cat, r, 1, &down, &err), &err);
		printf("downstream lineage of '%s': %zu partitions in %.2f ms\n", r, down.nr,
		       (now_s() - t0) * 1e3);
		strvec_push(&refs, r);
		strvec_clear(&down);
		t0 = now_s();
		check(catalog_taint(&cat, &refs, 1, 0, &down, &err), &err);
		printf("taint --downstream of '%s': %zu changed in %.2f ms\n", r, down.nr,
		       (now_s() - t0) * 1e3);
		strvec_clear(&down);
		strvec_clear(&refs);
		free(r);
	}

	/* 10,000 more manifests, published in one batch (republishing the first 10k refs) */
	printf("publish_batch: 10000 manifests in %.1f ms\n",
	       publish_range(0, 10000, per_ds, "bench2") * 1e3);

	free(after);
	free(prefix);
	catalog_close(&cat);
	remove_tree(dir);
	store_release(&store);
	free(dir);
	strbuf_release(&err);
	return 0;
}
