/* Listing partitions and children, page by page; writers in several processes at once. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/array.h"
#include "core/hash.h"
#include "core/strmap.h"
#include "fixture.h"

/* ---- listing --------------------------------------------------------- */

#define BULK 10500

/* BULK partitions "big/k=%05d", plus neighbours that must not match "big/". */
static void fill_bulk(void)
{
	struct manifest *ms = xcalloc(BULK + 3, sizeof(*ms));
	const struct manifest **ptrs = xcalloc(BULK + 3, sizeof(*ptrs));
	static const char *const extra[] = { "big", "big0/x", "bif/x" };

	for (size_t i = 0; i < BULK + 3; i++) {
		struct run_record run;
		struct manifest_output *o;
		char *ref = i < BULK ? xstrfmt("big/k=%05zu", i) : xstrdup(extra[i - BULK]);

		run_record_init(&run);
		run.job = xstrdup("bulk");
		strvec_push(&run.outputs, ref);
		OK(catalog_begin_run(&cat, &run, &err));
		manifest_init(&ms[i]);
		ms[i].run_id = xstrdup(run.run_id);
		ms[i].job = xstrdup("bulk");
		ms[i].start_time_us = run.start_us;
		ms[i].end_time_us = run.start_us + 1;
		o = manifest_add_output(&ms[i], ref);
		sha256_hex(ref, strlen(ref), o->sha256);
		o->size = (int64_t)i;
		strvec_push(&ms[i].config.outputs, ref);
		ptrs[i] = &ms[i];
		run_record_release(&run);
		free(ref);
	}
	OK(catalog_publish_batch(&cat, ptrs, BULK + 3, &err));
	for (size_t i = 0; i < BULK + 3; i++)
		manifest_release(&ms[i]);
	free(ms);
	free(ptrs);
	/* a few non-live ones among them */
	OK(catalog_set_status(&cat, "big/k=00100", PART_FAILED, "x", &err));
	OK(catalog_set_status(&cat, "big/k=05000", PART_TAINTED, NULL, &err));
	OK(catalog_set_status(&cat, "big/k=10499", PART_STALE, NULL, &err));
}

static const struct page_case {
	const char *prefix;
	size_t page;
	unsigned mask;
	size_t want;
} page_cases[] = {
	{ "big/", 1000, 0, BULK },
	{ "big/", 7, 0, BULK },
	{ "big/", 4096, 0, BULK },
	{ "big/", 0, 0, BULK },
	{ "big/k=000", 3, 0, 100 },
	{ "big", 999, 0, BULK + 2 },
	{ "", 1000, 0, BULK + 3 },
	{ "big/", 1000, 1u << PART_LIVE, BULK - 3 },
	{ "big/", 2, (1u << PART_FAILED) | (1u << PART_STALE) | (1u << PART_TAINTED), 3 },
	{ "nothing/", 10, 0, 0 },
};

START_TEST(test_list_paging)
{
	const struct page_case *tc = &page_cases[_i];
	char *after = NULL;
	size_t total = 0, pages = 0;

	fill_bulk();
	for (;;) {
		struct partition_list l = PARTITION_LIST_INIT;

		OK(catalog_list_partitions(&cat, tc->prefix, after, tc->page, tc->mask, &l, &err));
		if (tc->page)
			ck_assert_uint_le(l.nr, tc->page);
		for (size_t i = 0; i < l.nr; i++) {
			ck_assert_msg(!strncmp(l.items[i].ref, tc->prefix, strlen(tc->prefix)),
				      "'%s' lacks prefix '%s'", l.items[i].ref, tc->prefix);
			if (after)
				ck_assert_msg(strcmp(after, l.items[i].ref) < 0, "'%s' after '%s'",
					      l.items[i].ref, after);
			if (tc->mask)
				ck_assert(tc->mask & (1u << l.items[i].status));
			free(after);
			after = xstrdup(l.items[i].ref);
		}
		size_t got = l.nr;

		total += got;
		pages++;
		partition_list_release(&l);
		if (!tc->page || got < tc->page)
			break;
		ck_assert_uint_lt(pages, BULK + 10);
	}
	ck_assert_uint_eq(total, tc->want);
	free(after);
}
END_TEST

START_TEST(test_list_children)
{
	static const char *const refs[] = {
		"a", "a/b", "a/b/c=1", "a/b/c=2", "a/d=1", "a-b/x", "z/y/x/w=1", "top",
	};
	static const struct {
		const char *dir, *after;
		size_t limit;
		const char *want;
	} cases[] = {
		{ "", NULL, 0, "a,a-b/,a/,top,z/" },
		{ "", "a", 2, "a-b/,a/" },
		{ "", "a/", 0, "top,z/" },
		{ "a", NULL, 0, "b,b/,d=1" },
		{ "a/b", NULL, 0, "c=1,c=2" },
		{ "z", NULL, 0, "y/" },
		{ "z/y/x", NULL, 0, "w=1" },
		{ "none", NULL, 0, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(refs); i++)
		OK(catalog_set_status(&cat, refs[i], PART_STALE, NULL, &err));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strvec got = STRVEC_INIT, want = STRVEC_INIT;
		struct strbuf joined = STRBUF_INIT;

		split(&want, cases[i].want);
		OK(catalog_list_children(&cat, cases[i].dir, cases[i].after, cases[i].limit,
					 &got, &err));
		for (size_t k = 0; k < got.nr; k++)
			strbuf_addf(&joined, "%s%s", k ? "," : "", got.v[k]);
		ck_assert_msg(strvec_equal(&got, &want), "children of '%s': got '%s', want '%s'",
			      cases[i].dir, joined.buf, cases[i].want);
		strbuf_release(&joined);
		strvec_clear(&got);
		strvec_clear(&want);
	}
	/* forgetting the only partition under z/ removes z/ */
	OK(catalog_set_status(&cat, "z/y/x/w=1", PART_MISSING, NULL, &err));
	{
		struct strvec got = STRVEC_INIT;

		OK(catalog_list_children(&cat, "", NULL, 0, &got, &err));
		ck_assert_int_eq(strvec_find(&got, "z/"), -1);
		ck_assert_int_ge(strvec_find(&got, "a/"), 0);
		strvec_clear(&got);
	}
}
END_TEST

/* ---- concurrency ----------------------------------------------------- */

START_TEST(test_concurrent_writers)
{
	pid_t kids[3];
	struct partition_list l = PARTITION_LIST_INIT;
	struct strmap runs = STRMAP_INIT;

	for (int k = 0; k < 3; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (!kids[k]) {
			struct catalog mine;
			struct strbuf e = STRBUF_INIT;

			/* never touch the parent's connection in the child: a fresh one */
			if (catalog_open(&mine, &store, location, &e) < 0)
				_exit(10);
			cat = mine;
			for (int i = 0; i < 60; i++) {
				char *ref = xstrfmt("w%d/i=%02d", k, i);

				free(produce("w", ref, NULL));
				free(ref);
			}
			catalog_close(&cat);
			_exit(0);
		}
	}
	for (int k = 0; k < 3; k++) {
		int st;

		ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", k);
	}
	OK(catalog_list_partitions(&cat, "", NULL, 0, 1u << PART_LIVE, &l, &err));
	ck_assert_int_eq(l.nr, 180);
	for (size_t i = 0; i < l.nr; i++) {
		ck_assert(!strmap_contains(&runs, l.items[i].run_id));
		strmap_put(&runs, l.items[i].run_id, NULL);
	}
	strmap_clear(&runs);
	partition_list_release(&l);
}
END_TEST
void catalog_listing_cases(TCase *tc)
{
	ADD_LOOP(test_list_paging, page_cases);
	ADD(test_list_children);
	ADD(test_concurrent_writers);
}
