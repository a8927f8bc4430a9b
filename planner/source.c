#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "planner/source.h"

/* Adds the ref of the regular file at "/" + rel, if it is one of j's. */
static void add_file(const struct job *j, const char *rel, struct strvec *refs,
		     struct strbuf *path, struct strbuf *ref)
{
	struct stat st;

	strbuf_reset(path);
	strbuf_addch(path, '/');
	strbuf_addstr(path, rel);
	if (stat(path->buf, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (job_source_ref(j, path->buf, ref) && job_space_contains(j, NULL, ref->buf, NULL) == 1)
		strvec_push(refs, ref->buf);
}

/*
 * Walks below rel (the path without its leading '/', "" for the root),
 * which matches the first `depth` segments of the source pattern.
 */
static int walk(const struct job *j, struct strbuf *rel, size_t depth, struct strvec *refs,
		struct strbuf *err)
{
	const struct pattern *p = &j->source_pattern;
	struct strbuf path = STRBUF_INIT, ref = STRBUF_INIT, lit = STRBUF_INIT;
	size_t base = rel->len;
	DIR *dir = NULL;
	struct dirent *e;
	int ret = -1;

	if (pattern_literal_segment(p, depth, &lit)) {
		if (base)
			strbuf_addch(rel, '/');
		strbuf_addbuf(rel, &lit);
		if (depth + 1 == p->depth)
			add_file(j, rel->buf, refs, &path, &ref);
		else if (walk(j, rel, depth + 1, refs, err) < 0)
			goto out;
		ret = 0;
		goto out;
	}
	strbuf_addch(&path, '/');
	strbuf_addbuf(&path, rel);
	dir = opendir(path.buf);
	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR) {
			ret = 0;
			goto out;
		}
		strbuf_addf(err, "source of job '%s': cannot read directory '%s': %s", j->label,
			    path.buf, strerror(errno));
		goto out;
	}
	while ((errno = 0, e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		strbuf_setlen(rel, base);
		if (base)
			strbuf_addch(rel, '/');
		strbuf_addstr(rel, e->d_name);
		if (depth + 1 == p->depth) {
			if (pattern_match(p, rel->buf, NULL))
				add_file(j, rel->buf, refs, &path, &ref);
		} else if (pattern_match_dir(p, rel->buf)) {
			if (walk(j, rel, depth + 1, refs, err) < 0)
				goto out;
		}
	}
	if (errno) {
		strbuf_addf(err, "source of job '%s': cannot read directory '/%.*s': %s",
			    j->label, (int)base, rel->buf, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (dir)
		closedir(dir);
	strbuf_setlen(rel, base);
	strbuf_release(&path);
	strbuf_release(&ref);
	strbuf_release(&lit);
	return ret;
}

int source_discover(const struct job *j, struct strvec *refs, struct strbuf *err)
{
	struct strbuf rel = STRBUF_INIT;
	struct strvec found = STRVEC_INIT;
	int ret = -1;

	if (!j->source) {
		strbuf_addf(err, "job '%s' is not a source", j->label);
		goto out;
	}
	if (walk(j, &rel, 0, &found, err) < 0)
		goto out;
	strvec_sort(&found, 1);
	for (size_t i = 0; i < found.nr; i++)
		strvec_push(refs, found.v[i]);
	ret = 0;
out:
	strbuf_release(&rel);
	strvec_clear(&found);
	return ret;
}

int source_exists(const struct job *j, const char *ref, struct stat *st, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	struct stat sb;
	int ret = 0;

	if (!job_source_path(j, ref, &path) || job_space_contains(j, NULL, ref, NULL) != 1)
		goto out;
	if (stat(path.buf, &sb) < 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			strbuf_addf(err, "source of job '%s': cannot stat '%s': %s", j->label,
				    path.buf, strerror(errno));
			ret = -1;
		}
		goto out;
	}
	if (!S_ISREG(sb.st_mode))
		goto out;
	if (st)
		*st = sb;
	ret = 1;
out:
	strbuf_release(&path);
	return ret;
}
