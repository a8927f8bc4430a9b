#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"

#define ptr(i) ((void *)(uintptr_t)(i))

START_TEST(test_basic)
{
	struct strmap m = STRMAP_INIT;
	const char *k;
	void *v;
	size_t n = 0;

	ck_assert_ptr_null(strmap_get(&m, "a"));
	ck_assert_ptr_null(strmap_remove(&m, "a"));
	ck_assert(!strmap_contains(&m, "a"));
	ck_assert_ptr_null(strmap_put(&m, "a", ptr(1)));
	ck_assert_ptr_null(strmap_put(&m, "", ptr(2)));
	ck_assert_ptr_null(strmap_put(&m, "b", NULL));
	ck_assert_uint_eq(m.nr, 3);
	ck_assert(strmap_contains(&m, "b"));
	ck_assert_ptr_null(strmap_get(&m, "b"));
	ck_assert_ptr_eq(strmap_get(&m, ""), ptr(2));
	ck_assert_ptr_eq(strmap_put(&m, "a", ptr(3)), ptr(1));
	ck_assert_uint_eq(m.nr, 3);
	ck_assert_ptr_eq(strmap_get(&m, "a"), ptr(3));
	k = strmap_key(&m, "a");
	ck_assert_str_eq(k, "a");
	ck_assert_ptr_eq(strmap_key(&m, "a"), k);
	ck_assert_ptr_null(strmap_key(&m, "zz"));
	for (size_t i = 0; strmap_next(&m, &i, &k, &v);)
		n++;
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_eq(strmap_remove(&m, "a"), ptr(3));
	ck_assert(!strmap_contains(&m, "a"));
	ck_assert_uint_eq(m.nr, 2);
	ck_assert_ptr_null(strmap_put(&m, "a", ptr(4)));
	ck_assert_ptr_eq(strmap_get(&m, "a"), ptr(4));
	strmap_clear(&m);
	ck_assert_uint_eq(m.nr, 0);
	ck_assert_ptr_null(strmap_get(&m, "a"));
	strmap_clear(&m);
}
END_TEST

struct bulk_case {
	long n;
};

static const struct bulk_case bulk_cases[] = { { 10 }, { 1000 }, { 100000 }, { 1000000 } };

START_TEST(test_bulk)
{
	struct strmap m = STRMAP_INIT;
	long n = bulk_cases[_i].n, seen = 0;
	char key[64];
	const char *k;
	void *v;

	for (long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "reviews/date=%ld", i);
		ck_assert_ptr_null(strmap_put(&m, key, ptr(i + 1)));
	}
	ck_assert_uint_eq(m.nr, (size_t)n);
	ck_assert_uint_eq(m.cap & (m.cap - 1), 0);
	ck_assert_uint_le(m.used * 10, m.cap * 7);
	for (long i = 0; i < n; i += 2) {
		snprintf(key, sizeof(key), "reviews/date=%ld", i);
		ck_assert_ptr_eq(strmap_remove(&m, key), ptr(i + 1));
	}
	for (long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "reviews/date=%ld", i);
		ck_assert_ptr_eq(strmap_get(&m, key), i % 2 ? ptr(i + 1) : NULL);
	}
	for (size_t it = 0; strmap_next(&m, &it, &k, &v);) {
		long i = (long)(uintptr_t)v - 1;
		snprintf(key, sizeof(key), "reviews/date=%ld", i);
		ck_assert_str_eq(k, key);
		ck_assert_int_eq(i % 2, 1);
		seen++;
	}
	ck_assert_int_eq(seen, n / 2);
	strmap_clear(&m);
}
END_TEST

START_TEST(test_churn)
{
	struct strmap m = STRMAP_INIT;
	char key[64];
	size_t cap;

	/* insert/remove cycles leave tombstones; the table must not grow without bound */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "live%d", i);
		strmap_put(&m, key, ptr(1));
	}
	cap = m.cap;
	for (int i = 0; i < 200000; i++) {
		snprintf(key, sizeof(key), "tmp%d", i);
		strmap_put(&m, key, ptr(2));
		ck_assert_ptr_eq(strmap_remove(&m, key), ptr(2));
	}
	ck_assert_uint_eq(m.nr, 100);
	ck_assert_uint_le(m.cap, cap * 2);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "live%d", i);
		ck_assert_ptr_eq(strmap_get(&m, key), ptr(1));
	}
	strmap_clear(&m);
}
END_TEST

START_TEST(test_remove_while_iterating)
{
	struct strmap m = STRMAP_INIT;
	char key[64];
	const char *k;

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "%d", i);
		strmap_put(&m, key, ptr(i));
	}
	for (size_t it = 0; strmap_next(&m, &it, &k, NULL);) {
		char copy[64];
		snprintf(copy, sizeof(copy), "%s", k);
		strmap_remove(&m, copy);
	}
	ck_assert_uint_eq(m.nr, 0);
	strmap_clear(&m);
}
END_TEST

START_TEST(test_hash)
{
	ck_assert_uint_ne(strhash("a"), strhash("b"));
	ck_assert_uint_eq(strhash("reviews"), strhash("reviews"));
}
END_TEST

/* strmap_find_or_add over a sequence of keys: added or found, as strmap_put would say. */
static const struct find_or_add_case {
	const char *keys[8];  /* NULL-terminated */
	const char *added;    /* per key: '1' added, '0' found */
	size_t nr;            /* distinct keys at the end */
} find_or_add_cases[] = {
	{ { "a", NULL }, "1", 1 },
	{ { "a", "a", NULL }, "10", 1 },
	{ { "", "a", "", "b", "a", NULL }, "11010", 3 },
	{ { "x/1", "x/2", "x/3", "x/2", "x/1", "x/4", NULL }, "111001", 4 },
};

START_TEST(test_find_or_add)
{
	const struct find_or_add_case *c = &find_or_add_cases[_i];
	struct strmap m = STRMAP_INIT;

	for (size_t i = 0; c->keys[i]; i++) {
		int added = -1;
		struct strmap_entry *e = strmap_find_or_add(&m, c->keys[i], &added);

		ck_assert_int_eq(added, c->added[i] == '1');
		ck_assert_str_eq(e->key, c->keys[i]);
		ck_assert_ptr_ne(e->key, c->keys[i]);  /* the map's own copy */
		ck_assert_ptr_eq(e->key, strmap_key(&m, c->keys[i]));
		if (added) {
			ck_assert_ptr_null(e->value);
			e->value = (void *)c->keys[i];
		}
		ck_assert_ptr_eq(strmap_get(&m, c->keys[i]), e->value);
	}
	ck_assert_uint_eq(m.nr, c->nr);
	strmap_clear(&m);
}
END_TEST

/* Growth through many rehashes keeps every entry findable. */
START_TEST(test_find_or_add_bulk)
{
	struct strmap m = STRMAP_INIT;
	char key[32];
	int added;

	for (size_t i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k/%zu", i);
		strmap_find_or_add(&m, key, &added)->value = ptr(i + 1);
		ck_assert(added);
	}
	for (size_t i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k/%zu", i);
		ck_assert_ptr_eq(strmap_find_or_add(&m, key, &added)->value, ptr(i + 1));
		ck_assert(!added);
	}
	ck_assert_uint_eq(m.nr, 5000);
	strmap_clear(&m);
}
END_TEST

static Suite *strmap_suite(void)
{
	Suite *s = suite_create("strmap");
	TCase *tc = tcase_create("strmap");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_basic);
	tcase_add_loop_test(tc, test_bulk, 0, sizeof(bulk_cases) / sizeof(bulk_cases[0]));
	tcase_add_test(tc, test_churn);
	tcase_add_test(tc, test_remove_while_iterating);
	tcase_add_test(tc, test_hash);
	tcase_add_loop_test(tc, test_find_or_add, 0,
			    sizeof(find_or_add_cases) / sizeof(find_or_add_cases[0]));
	tcase_add_test(tc, test_find_or_add_bulk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(strmap_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
