#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/array.h"
#include "core/clock.h"
#include "core/fingerprint.h"

static char dir[] = "/tmp/databuild-fp.XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Sets path's mtime to secs seconds ago (keeps it out of the racy window). */
static void age(const char *path, int secs)
{
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= secs;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(path, tv), 0);
}

static char *in_dir(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* What moves a fingerprint, and what does not. */
struct move_case {
	const char *name;
	void (*change)(const char *path);
	int moves;
};

static void nothing(const char *path) { (void)path; }
static void rewrite_same(const char *path) { write_file(path, "hello\n"); age(path, 60); }
static void append(const char *path) { write_file(path, "hello\nworld\n"); age(path, 60); }
static void replace(const char *path)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	write_file(tmp, "hello\n");
	age(tmp, 60);
	ck_assert_int_eq(rename(tmp, path), 0);
}
static void remove_it(const char *path) { ck_assert_int_eq(unlink(path), 0); }
static void chmod_it(const char *path) { ck_assert_int_eq(chmod(path, 0755), 0); }

static const struct move_case move_cases[] = {
	{ "nothing", nothing, 0 },
	{ "same bytes written again", rewrite_same, 1 },  /* ctime moves */
	{ "appended", append, 1 },
	{ "replaced by rename", replace, 1 },
	{ "removed", remove_it, 1 },
	{ "chmod", chmod_it, 1 },
};

START_TEST(test_moves)
{
	const struct move_case *c = &move_cases[_i];
	struct fingerprint before, after;
	char *path = in_dir("f");

	write_file(path, "hello\n");
	age(path, 60);
	fingerprint_of(path, &before);
	ck_assert_int_eq(before.exists, 1);
	/* a second apart: ctime of the change differs even on a coarse clock */
	c->change(path);
	fingerprint_of(path, &after);
	ck_assert_msg(fingerprint_equal(&before, &after) == !c->moves, "%s", c->name);
	unlink(path);
}
END_TEST

START_TEST(test_absent_and_dirs)
{
	struct fingerprint a, b;

	fingerprint_of(in_dir("none"), &a);
	fingerprint_of(in_dir("none"), &b);
	ck_assert_int_eq(a.exists, 0);
	ck_assert(fingerprint_equal(&a, &b));
	fingerprint_of(dir, &b);          /* a directory is not a file */
	ck_assert_int_eq(b.exists, 0);
}
END_TEST

START_TEST(test_hash_cached_until_moved)
{
	char *path = in_dir("h"), hex1[SHA256_HEX_SIZE], hex2[SHA256_HEX_SIZE];
	struct strbuf err = STRBUF_INIT;
	unsigned long h0, k0, h1, k1;

	write_file(path, "abc");
	age(path, 60);
	fingerprint_stats(&h0, &k0);
	ck_assert_int_eq(fingerprint_hash(path, hex1, &err), 0);
	ck_assert_str_eq(hex1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(fingerprint_hash(path, hex2, &err), 0);
	ck_assert_str_eq(hex1, hex2);
	fingerprint_stats(&h1, &k1);
	ck_assert_uint_eq(h1 - h0, 1);   /* hashed once */
	ck_assert_uint_eq(k1 - k0, 1);   /* then from the cache */

	write_file(path, "abd");         /* same size, new bytes */
	age(path, 60);
	ck_assert_int_eq(fingerprint_hash(path, hex2, &err), 0);
	ck_assert_str_ne(hex1, hex2);
	unlink(path);

	ck_assert_int_eq(fingerprint_hash(path, hex2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, path));
	strbuf_release(&err);
}
END_TEST

START_TEST(test_racy_not_cached)
{
	char *path = in_dir("r"), hex[SHA256_HEX_SIZE];
	struct strbuf err = STRBUF_INIT;
	struct fingerprint fp;
	unsigned long h0, k0, h1, k1;

	write_file(path, "fresh");       /* written just now: racy */
	fingerprint_of(path, &fp);
	ck_assert(fingerprint_racy(&fp, now_us() * 1000LL));
	fingerprint_stats(&h0, &k0);
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	fingerprint_stats(&h1, &k1);
	ck_assert_uint_eq(h1 - h0, 2);   /* a racy file is hashed every time */
	age(path, 60);
	fingerprint_of(path, &fp);
	ck_assert(!fingerprint_racy(&fp, now_us() * 1000LL));
	unlink(path);
	strbuf_release(&err);
}
END_TEST

/*
 * Hashes kept across processes (fingerprint_keep_in): a record is used
 * only when it matches the file now, and is written only for a file that
 * held still. Each case prepares the file and its record, then forgets
 * the process cache (what a new process sees) and hashes again.
 */
struct kept_case {
	const char *name;
	void (*prepare)(const char *path, const char *kept);  /* after the first hash */
	int hit;          /* the second hash comes from the record */
	const char *want; /* its hash */
};

#define HASH_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HASH_ABD "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9"

/* The one record in kept (a path), into text; 1 if there is exactly one. */
static int one_record(const char *kept, char *name, size_t len)
{
	char cmd[4400];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "ls '%s' 2>/dev/null", kept);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(name, (int)len, p))
		n++;
	pclose(p);
	name[strcspn(name, "\n")] = '\0';
	return n == 1;
}

/* Rewrites the one record of kept with sed expression expr. */
static void edit_record(const char *kept, const char *expr)
{
	char name[200], cmd[4600];

	ck_assert(one_record(kept, name, sizeof(name)));
	snprintf(cmd, sizeof(cmd), "sed -i '%s' '%s/%s'", expr, kept, name);
	ck_assert_int_eq(system(cmd), 0);
}

static void keep_as_is(const char *path, const char *kept) { (void)path; (void)kept; }
static void rewrite_aged(const char *path, const char *kept)
{
	(void)kept;
	write_file(path, "abd");   /* same size, new bytes, an old mtime: fingerprint moves */
	age(path, 60);
}
static void forge_hash(const char *path, const char *kept)
{
	(void)path;                /* the record is trusted while the fingerprint holds */
	edit_record(kept, "1s/" HASH_ABC "/" HASH_ABD "/");
}
static void other_path(const char *path, const char *kept)
{
	(void)path;
	edit_record(kept, "3s/$/x/");
}
static void other_host(const char *path, const char *kept)
{
	(void)path;
	edit_record(kept, "2s/$/x/");
}
static void truncated(const char *path, const char *kept)
{
	(void)path;
	edit_record(kept, "2,$d");
}
static void bad_hex(const char *path, const char *kept)
{
	(void)path;
	edit_record(kept, "1s/ba7816bf/BA7816BF/");
}
static void removed(const char *path, const char *kept)
{
	char cmd[4200];

	(void)path;
	snprintf(cmd, sizeof(cmd), "rm -r '%s'", kept);
	ck_assert_int_eq(system(cmd), 0);
}

static const struct kept_case kept_cases[] = {
	{ "unchanged file: from the record", keep_as_is, 1, HASH_ABC },
	{ "forged hash: trusted while the fingerprint holds", forge_hash, 1, HASH_ABD },
	{ "rewritten file: the record is not used", rewrite_aged, 0, HASH_ABD },
	{ "record of another path", other_path, 0, HASH_ABC },
	{ "record of another host", other_host, 0, HASH_ABC },
	{ "truncated record", truncated, 0, HASH_ABC },
	{ "record with a malformed hash", bad_hex, 0, HASH_ABC },
	{ "records removed", removed, 0, HASH_ABC },
};

START_TEST(test_kept)
{
	const struct kept_case *c = &kept_cases[_i];
	char *path = xstrdup(in_dir("k")), *kept = xstrfmt("%s/cache/hashes", dir);
	char hex[SHA256_HEX_SIZE], name[200];
	struct strbuf err = STRBUF_INIT;
	unsigned long h0, k0, h1, k1;

	write_file(path, "abc");
	age(path, 60);
	fingerprint_keep_in(kept);
	fingerprint_forget();
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	ck_assert_str_eq(hex, HASH_ABC);
	ck_assert_msg(one_record(kept, name, sizeof(name)), "%s: no record written", c->name);
	c->prepare(path, kept);
	fingerprint_forget();
	fingerprint_stats(&h0, &k0);
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	fingerprint_stats(&h1, &k1);
	ck_assert_msg(k1 - k0 == (unsigned long)c->hit && h1 - h0 == (unsigned long)!c->hit,
		      "%s: %lu hits, %lu hashed", c->name, k1 - k0, h1 - h0);
	ck_assert_msg(!strcmp(hex, c->want), "%s: %s", c->name, hex);
	if (!c->hit) {
		/* hashed again: the record now matches the file and is used */
		fingerprint_forget();
		fingerprint_stats(&h0, &k0);
		ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
		fingerprint_stats(&h1, &k1);
		ck_assert_msg(k1 - k0 == 1 && h1 == h0, "%s: not rewritten", c->name);
		ck_assert_str_eq(hex, c->want);
	}
	fingerprint_keep_in(NULL);
	fingerprint_forget();
	unlink(path);
	free(path);
	strbuf_release(&err);
	snprintf(name, sizeof(name), "rm -rf '%s/cache'", dir);
	ck_assert_int_eq(system(name), 0);
	free(kept);
}
END_TEST

/* A racy file gets no record; a directory that cannot be made costs nothing. */
START_TEST(test_kept_not_written)
{
	char *path = xstrdup(in_dir("w")), *kept = xstrfmt("%s/cache/hashes", dir);
	char hex[SHA256_HEX_SIZE], name[200];
	struct strbuf err = STRBUF_INIT;

	fingerprint_keep_in(kept);
	write_file(path, "abc");          /* just written: racy */
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	ck_assert_str_eq(hex, HASH_ABC);
	ck_assert(!one_record(kept, name, sizeof(name)));

	write_file(in_dir("cache"), "a file where the directory goes");
	age(path, 60);
	fingerprint_forget();
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	ck_assert_str_eq(hex, HASH_ABC);
	ck_assert_uint_eq(err.len, 0);

	fingerprint_keep_in(NULL);
	fingerprint_forget();
	unlink(in_dir("cache"));
	unlink(path);
	free(path);
	free(kept);
	strbuf_release(&err);
}
END_TEST

/*
 * fingerprint_prune: which files of the kept directory go. Each case
 * starts from one record of a settled file and changes one thing.
 */
struct prune_case {
	const char *name;
	void (*change)(const char *path, const char *kept);
	int removed;      /* files gc removes */
};

/* Runs a shell command made as printf makes it, failing the case if it fails. */
__attribute__((format(printf, 1, 2)))
static void sh(const char *fmt, ...)
{
	char cmd[9000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

static void file_rewritten(const char *path, const char *kept) { rewrite_aged(path, kept); }
static void file_removed(const char *path, const char *kept) { (void)kept; unlink(path); }
static void other_host_removed(const char *path, const char *kept)
{
	other_host(path, kept);
	unlink(path);   /* on this host: another host may well have it */
}
static void garbage(const char *path, const char *kept)
{
	(void)path;
	sh("echo garbage >'%s/0000000000000000000000000000000000000000000000000000000000000000'",
	   kept);
}
static void misnamed(const char *path, const char *kept)
{
	(void)path;
	sh("cp '%s'/* '%s/1111111111111111111111111111111111111111111111111111111111111111'",
	   kept, kept);
}
static void fresh_tmp(const char *path, const char *kept)
{
	(void)path;
	sh("echo half >'%s/x.tmp.1.0'", kept);
}
static void old_tmp(const char *path, const char *kept)
{
	(void)path;
	sh("echo half >'%s/x.tmp.1.0' && touch -d '2 hours ago' '%s/x.tmp.1.0'", kept, kept);
}

static const struct prune_case prune_cases[] = {
	{ "unchanged file: kept", keep_as_is, 0 },
	{ "file rewritten", file_rewritten, 1 },
	{ "file removed", file_removed, 1 },
	{ "record of another host: not ours to judge", other_host_removed, 0 },
	{ "not a record", garbage, 1 },
	{ "a record under another name", misnamed, 1 },
	{ "a temporary file being written", fresh_tmp, 0 },
	{ "a temporary file its writer left an hour ago", old_tmp, 1 },
};

/* A file p of dir whose hash is kept in dir/cache/hashes: its path and that directory. */
static void kept_record(char **path, char **kept)
{
	struct strbuf err = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE];

	*path = xstrdup(in_dir("p"));
	*kept = xstrfmt("%s/cache/hashes", dir);
	write_file(*path, "abc");
	age(*path, 60);
	fingerprint_keep_in(*kept);
	ck_assert_int_eq(fingerprint_hash(*path, hex, &err), 0);
	strbuf_release(&err);
}

/* Undoes kept_record. */
static void kept_record_remove(char *path, char *kept)
{
	fingerprint_keep_in(NULL);
	fingerprint_forget();
	unlink(path);
	free(path);
	free(kept);
	sh("rm -rf '%s/cache'", dir);
}

START_TEST(test_prune)
{
	const struct prune_case *c = &prune_cases[_i];
	char before[16], after[16], cmd[4200], *path, *kept;
	struct strbuf err = STRBUF_INIT;
	uint64_t count = 0;
	int64_t bytes = 0;
	FILE *p;

	kept_record(&path, &kept);
	c->change(path, kept);
	snprintf(cmd, sizeof(cmd), "ls '%s' | wc -l", kept);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(before, sizeof(before), p));
	pclose(p);

	ck_assert_int_eq(fingerprint_prune(kept, 1, &count, &bytes, &err), 0);
	ck_assert_msg(count == (uint64_t)c->removed, "%s: dry run counts %llu", c->name,
		      (unsigned long long)count);
	ck_assert_int_eq(fingerprint_prune(kept, 0, &count, &bytes, &err), 0);
	ck_assert_msg(count == (uint64_t)c->removed, "%s: removed %llu", c->name,
		      (unsigned long long)count);
	ck_assert(c->removed ? bytes > 0 : bytes == 0);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(after, sizeof(after), p));
	pclose(p);
	ck_assert_msg(atoi(before) - atoi(after) == c->removed, "%s: %s files before, %s after",
		      c->name, before, after);
	kept_record_remove(path, kept);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_prune_nothing)
{
	struct strbuf err = STRBUF_INIT;
	uint64_t count = 1;
	int64_t bytes = 1;

	ck_assert_int_eq(fingerprint_prune(in_dir("none"), 0, &count, &bytes, &err), 0);
	ck_assert(count == 0 && bytes == 0);
	write_file(in_dir("file"), "x");
	ck_assert_int_eq(fingerprint_prune(in_dir("file"), 0, &count, &bytes, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, in_dir("file")));
	unlink(in_dir("file"));
	strbuf_release(&err);
}
END_TEST

/*
 * Makes names in dir impossible to remove (on = 1) or removable again:
 * the immutable attribute for root, whom permissions do not stop, a
 * directory without write permission for anyone else. 0, or -1 if the
 * file system has no such attribute.
 */
static int pin_dir(const char *path, int on)
{
	int fd, flags, ret = -1;

	if (geteuid() != 0)
		return chmod(path, on ? 0555 : 0755);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
		ret = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A stale record that cannot be removed: counted by a dry run, an error for real. */
START_TEST(test_prune_cannot_remove)
{
	struct strbuf err = STRBUF_INIT;
	uint64_t count = 0;
	int64_t bytes = 0;
	char *path, *kept;

	kept_record(&path, &kept);
	rewrite_aged(path, kept);
	if (pin_dir(kept, 1) < 0) {
		fprintf(stderr, "%s: no immutable attribute here; case not run\n", kept);
		goto out;
	}
	ck_assert_int_eq(fingerprint_prune(kept, 1, &count, &bytes, &err), 0);
	ck_assert(count == 1);
	ck_assert_int_eq(fingerprint_prune(kept, 0, &count, &bytes, &err), -1);
	ck_assert_msg(strstr(err.buf, "cannot remove") && strstr(err.buf, kept), "%s", err.buf);
	ck_assert_int_eq(pin_dir(kept, 0), 0);
	strbuf_reset(&err);
	ck_assert_int_eq(fingerprint_prune(kept, 0, &count, &bytes, &err), 0);
	ck_assert(count == 1);
out:
	kept_record_remove(path, kept);
	strbuf_release(&err);
}
END_TEST

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	rmdir(dir);
	strcpy(dir, "/tmp/databuild-fp.XXXXXX");
}

int main(void)
{
	Suite *s = suite_create("fingerprint");
	TCase *tc = tcase_create("fingerprint");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_moves, 0, sizeof(move_cases) / sizeof(move_cases[0]));
	tcase_add_test(tc, test_absent_and_dirs);
	tcase_add_test(tc, test_hash_cached_until_moved);
	tcase_add_test(tc, test_racy_not_cached);
	tcase_add_loop_test(tc, test_kept, 0, sizeof(kept_cases) / sizeof(kept_cases[0]));
	tcase_add_test(tc, test_kept_not_written);
	tcase_add_loop_test(tc, test_prune, 0, sizeof(prune_cases) / sizeof(prune_cases[0]));
	tcase_add_test(tc, test_prune_nothing);
	tcase_add_test(tc, test_prune_cannot_remove);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
