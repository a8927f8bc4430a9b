#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/graph.h"
#include "core/json.h"
#include "core/strmap.h"

#define GRAPH_FILE_MAX (64u << 20)
#define LOOKUP_LIST_MAX 8

static int parse_num(const char **s, long *out)
{
	const char *p = *s;
	long v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return -1;  /* no leading zeros */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LONG_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

static int parse_idents(const char **s)
{
	const char *p = *s;

	for (;;) {
		const char *start = p;

		while ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		       (*p >= 'a' && *p <= 'z') || *p == '-')
			p++;
		if (p == start)
			return -1;
		if (*p != '.')
			break;
		p++;
	}
	*s = p;
	return 0;
}

int semver_parse(struct semver *v, const char *text, struct strbuf *err)
{
	const char *s = text;
	long major, minor, patch;

	if (parse_num(&s, &major) < 0 || *s++ != '.' || parse_num(&s, &minor) < 0 ||
	    *s++ != '.' || parse_num(&s, &patch) < 0)
		goto bad;
	if (*s == '-') {
		s++;
		if (parse_idents(&s) < 0)
			goto bad;
	}
	if (*s == '+') {
		s++;
		if (parse_idents(&s) < 0)
			goto bad;
	}
	if (*s)
		goto bad;
	v->major = major;
	v->minor = minor;
	v->patch = patch;
	v->text = xstrdup(text);
	return 0;
bad:
	strbuf_addf(err, "expected semver MAJOR.MINOR.PATCH, got '%s'", text);
	return -1;
}

void semver_release(struct semver *v)
{
	free(v->text);
	v->text = NULL;
	v->major = v->minor = v->patch = 0;
}

static void job_release(struct job *j)
{
	free(j->label);
	for (size_t i = 0; i < j->outputs_nr; i++)
		pattern_release(&j->outputs[i]);
	free(j->outputs);
	strvec_clear(&j->configure);
	strvec_clear(&j->exec);
	semver_release(&j->version);
}

void graph_release(struct graph *g)
{
	for (size_t i = 0; i < g->jobs_nr; i++)
		job_release(&g->jobs[i]);
	free(g->jobs);
	free(g->path);
	free(g->dir);
	free(g->name);
	strvec_clear(&g->lookup);
	memset(g, 0, sizeof(*g));
	strvec_init(&g->lookup);
}

/* Makes path absolute (relative to the cwd) without resolving symlinks. */
static char *absolute(const char *path)
{
	char *cwd;
	char *res;

	if (path[0] == '/')
		return xstrdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		for (path += 2; *path == '/'; path++)
			;
	res = xstrfmt("%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path);
	free(cwd);
	return res;
}

static void set_location(struct graph *g, const char *path)
{
	const char *slash;
	char *dir, *real;

	g->path = absolute(path);
	slash = strrchr(g->path, '/');
	dir = xstrndup(g->path, slash == g->path ? 1 : (size_t)(slash - g->path));
	real = realpath(dir, NULL);
	if (real) {
		free(dir);
		dir = real;
	}
	g->dir = dir;
}

static int check_executable(const char *path, struct stat *st)
{
	if (stat(path, st) < 0)
		return -1;
	if (!S_ISREG(st->st_mode)) {
		errno = S_ISDIR(st->st_mode) ? EISDIR : EACCES;
		return -1;
	}
	if (access(path, X_OK) < 0)
		return -1;
	return 0;
}

static char *search_path(const char *name)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (1) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		char *dir = n ? xstrndup(path, n) : xstrdup(".");
		char *cand = xstrfmt("%s/%s", dir, name);

		free(dir);
		if (!check_executable(cand, &st)) {
			char *abs = absolute(cand);

			free(cand);
			return abs;
		}
		free(cand);
		if (!colon)
			return NULL;
		path = colon + 1;
	}
}

/*
 * Resolves argv[0] of `what` (e.g. "job 'x' configure") in place.
 * mp is the path of the argv member.
 */
static int resolve_argv0(const struct graph *g, struct strvec *argv, const struct jpath *mp,
			 const char *what, struct strbuf *err)
{
	struct jpath ep = { mp, NULL, 0 };
	const char *name = argv->v[0];
	struct stat st;
	char *resolved;

	if (!strchr(name, '/')) {
		resolved = search_path(name);
		if (!resolved)
			return json_fail(err, &ep, "%s executable '%s' not found in PATH", what,
					 name);
	} else {
		const char *rel = name;

		if (name[0] == '/') {
			resolved = xstrdup(name);
		} else {
			while (rel[0] == '.' && rel[1] == '/')
				for (rel += 2; *rel == '/'; rel++)
					;
			resolved = xstrfmt("%s%s%s", g->dir, strcmp(g->dir, "/") ? "/" : "", rel);
		}
		if (check_executable(resolved, &st) < 0) {
			int e = errno;

			json_fail(err, &ep, "%s executable '%s' %s", what, resolved,
				  e == ENOENT ? "does not exist" :
				  e == EISDIR ? "is a directory" :
				  e == EACCES ? "is not executable" : strerror(e));
			free(resolved);
			return -1;
		}
	}
	free((char *)argv->v[0]);
	argv->v[0] = resolved;
	return 0;
}

static int decode_argv(const struct graph *g, const cJSON *obj, const struct jpath *p,
		       const char *key, int required, const char *what, struct strvec *out,
		       struct strbuf *err)
{
	struct jpath mp = { p, key, 0 };
	struct jpath ep = { &mp, NULL, 0 };
	const cJSON *item;

	if (json_get_array(obj, p, key, (required ? JSON_REQUIRED : 0) | JSON_NONEMPTY,
			   "strings (an argv)", &item, err) < 0)
		return -1;
	if (!item)
		return 0;
	if (json_get_strvec(obj, p, key, 1, out, err) < 0)
		return -1;
	if (!*out->v[0])
		return json_fail(err, &ep, "empty program name");
	return resolve_argv0(g, out, &mp, what, err);
}

static int valid_label(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* The pattern with placeholder names dropped: "a/{x}" and "a/{y}" have one shape. */
static char *pattern_shape(const char *text)
{
	struct strbuf sb = STRBUF_INIT;

	for (const char *s = text; *s; s++) {
		strbuf_addch(&sb, *s);
		if (*s == '{') {
			while (*s && *s != '}')
				s++;
			if (!*s)
				break;
			strbuf_addch(&sb, '}');
		}
	}
	return strbuf_detach(&sb, NULL);
}

#define SHAPE_KEY(job, pat) ((void *)(((uintptr_t)(job) << 20 | (uintptr_t)(pat)) + 1))
#define SHAPE_JOB(v) ((((uintptr_t)(v)) - 1) >> 20)
#define SHAPE_PAT(v) ((((uintptr_t)(v)) - 1) & 0xfffff)

static int decode_outputs(struct graph *g, size_t ji, const cJSON *obj,
			  const struct jpath *p, struct strmap *shapes, struct strbuf *err)
{
	struct job *j = &g->jobs[ji];
	struct jpath mp = { p, "outputs", 0 };
	const cJSON *item;
	size_t i = 0;

	if (json_get_array(obj, p, "outputs", JSON_REQUIRED | JSON_NONEMPTY, "patterns", &item,
			   err) < 0)
		return -1;
	j->outputs = xcalloc(cJSON_GetArraySize(item), sizeof(*j->outputs));
	for (const cJSON *e = item->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };
		struct strbuf why = STRBUF_INIT;
		char *shape;
		void *prev;

		if (!cJSON_IsString(e))
			return json_fail(err, &ep, "expected a pattern string, got %s",
					 json_type_name(e));
		if (pattern_parse(&j->outputs[i], e->valuestring, &why) < 0) {
			json_fail(err, &ep, "%s", why.buf);
			strbuf_release(&why);
			return -1;
		}
		j->outputs_nr++;
		shape = pattern_shape(e->valuestring);
		prev = strmap_get(shapes, shape);
		if (prev) {
			const struct job *o = &g->jobs[SHAPE_JOB(prev)];
			const char *otext = o->outputs[SHAPE_PAT(prev)].text;

			if (o == j)
				json_fail(err, &ep, "pattern '%s' is listed twice (also '%s')",
					  e->valuestring, otext);
			else
				json_fail(err, &ep, "pattern '%s' is also an output of job '%s' "
					  "('%s'): no ref could be looked up unambiguously",
					  e->valuestring, o->label, otext);
			free(shape);
			return -1;
		}
		strmap_put(shapes, shape, SHAPE_KEY(ji, i));
		free(shape);
	}
	return 0;
}

static int decode_nonneg(const cJSON *obj, const struct jpath *p, const char *key,
			 long max, long *out, struct strbuf *err)
{
	struct jpath mp = { p, key, 0 };
	int64_t v = 0;

	if (json_get_int64(obj, p, key, 0, &v, err) < 0)
		return -1;
	if (v < 0 || v > max)
		return json_fail(err, &mp, "expected an integer from 0 to %ld, got %lld",
				 max, (long long)v);
	*out = (long)v;
	return 0;
}

static int decode_job(struct graph *g, size_t ji, const cJSON *obj, const struct jpath *p,
		      struct strmap *labels, struct strmap *shapes, struct strbuf *err)
{
	struct job *j = &g->jobs[ji];
	struct jpath lp = { p, "label", 0 };
	struct jpath vp = { p, "version", 0 };
	struct strbuf what = STRBUF_INIT;
	struct strbuf why = STRBUF_INIT;
	const char *label, *version;
	void *prev;
	int ret = -1;

	strvec_init(&j->configure);
	strvec_init(&j->exec);
	j->graph_dir = g->dir;
	if (json_check_object(obj, p, "a job object", err) < 0 ||
	    json_get_string(obj, p, "label", 1, &label, err) < 0)
		goto out;
	if (!valid_label(label)) {
		json_fail(err, &lp, "invalid label '%s': use letters, digits, '_', '.' and '-'",
			  label);
		goto out;
	}
	if ((prev = strmap_get(labels, label))) {
		json_fail(err, &lp, "duplicate label '%s' (also jobs[%zu])", label,
			  (size_t)(uintptr_t)prev - 1);
		goto out;
	}
	strmap_put(labels, label, (void *)(uintptr_t)(ji + 1));
	j->label = xstrdup(label);
	if (decode_outputs(g, ji, obj, p, shapes, err) < 0)
		goto out;
	strbuf_addf(&what, "job '%s' configure", label);
	if (decode_argv(g, obj, p, "configure", 1, what.buf, &j->configure, err) < 0)
		goto out;
	strbuf_reset(&what);
	strbuf_addf(&what, "job '%s' exec", label);
	if (decode_argv(g, obj, p, "exec", 1, what.buf, &j->exec, err) < 0)
		goto out;
	if (json_get_string(obj, p, "version", 0, &version, err) < 0)
		goto out;
	if (semver_parse(&j->version, version ? version : "0.0.0", &why) < 0) {
		json_fail(err, &vp, "%s", why.buf);
		goto out;
	}
	if (decode_nonneg(obj, p, "timeout_s", JOB_TIMEOUT_MAX_S, &j->timeout_s, err) < 0 ||
	    decode_nonneg(obj, p, "configure_timeout_s", JOB_TIMEOUT_MAX_S,
			  &j->configure_timeout_s, err) < 0 ||
	    decode_nonneg(obj, p, "retries", JOB_RETRIES_MAX, &j->retries, err) < 0)
		goto out;
	ret = 0;
out:
	strbuf_release(&what);
	strbuf_release(&why);
	return ret;
}

/* The graph object root (checked by json_parse_object) into g. */
static int decode_graph(struct graph *g, const cJSON *root, struct strbuf *err)
{
	struct jpath rp = JPATH_ROOT;
	struct jpath np = { &rp, "name", 0 };
	struct jpath jp = { &rp, "jobs", 0 };
	struct strmap labels = STRMAP_INIT;
	struct strmap shapes = STRMAP_INIT;
	const cJSON *jobs;
	const char *name;
	size_t i = 0;
	int ret = -1;

	if (json_get_string(root, &rp, "name", 1, &name, err) < 0)
		goto out;
	if (!*name) {
		json_fail(err, &np, "expected a non-empty graph name");
		goto out;
	}
	g->name = xstrdup(name);
	if (decode_argv(g, root, &rp, "lookup", 0, "lookup", &g->lookup, err) < 0 ||
	    json_get_array(root, &rp, "jobs", JSON_REQUIRED | JSON_NONEMPTY, "jobs", &jobs,
			   err) < 0)
		goto out;
	g->jobs = xcalloc(cJSON_GetArraySize(jobs), sizeof(*g->jobs));
	for (const cJSON *e = jobs->child; e; e = e->next, i++) {
		struct jpath ep = { &jp, NULL, i };

		g->jobs_nr++;
		if (decode_job(g, i, e, &ep, &labels, &shapes, err) < 0)
			goto out;
	}
	ret = 0;
out:
	strmap_clear(&labels);
	strmap_clear(&shapes);
	return ret;
}

int graph_load_text(struct graph *g, const char *path, const char *text,
		    size_t len, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	cJSON *root = NULL;
	int ret = -1;

	memset(g, 0, sizeof(*g));
	strvec_init(&g->lookup);
	set_location(g, path);
	if (json_parse_object(text, len, "a graph object {\"name\", \"jobs\"}", &root,
			      &why) < 0 ||
	    decode_graph(g, root, &why) < 0) {
		strbuf_addf(err, "%s: %s", path, why.buf);
		graph_release(g);
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	strbuf_release(&why);
	return ret;
}

int graph_load(struct graph *g, const char *path, struct strbuf *err)
{
	struct strbuf text = STRBUF_INIT;
	int ret = -1;

	struct stat st;
	int fd;

	memset(g, 0, sizeof(*g));
	strvec_init(&g->lookup);
	/* O_NONBLOCK: a FIFO must not wait for a writer; a regular file ignores it */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot read graph file '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		strbuf_addf(err, "cannot read graph file '%s': not a regular file (%s)", path,
			    S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" :
			    S_ISSOCK(st.st_mode) ? "a socket" : "a device");
		goto out;
	}
	if (strbuf_read_fd(&text, fd, GRAPH_FILE_MAX) < 0) {
		strbuf_addf(err, "cannot read graph file '%s': %s", path,
			    errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
		goto out;
	}
	ret = graph_load_text(g, path, text.buf, text.len, err);
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&text);
	return ret;
}

struct job *graph_job(const struct graph *g, const char *label)
{
	for (size_t i = 0; i < g->jobs_nr; i++)
		if (!strcmp(g->jobs[i].label, label))
			return &g->jobs[i];
	return NULL;
}

/* The first pattern of j matching ref, or NULL. */
const struct pattern *job_match(const struct job *j, const char *ref)
{
	for (size_t i = 0; i < j->outputs_nr; i++)
		if (pattern_match(&j->outputs[i], ref, NULL))
			return &j->outputs[i];
	return NULL;
}

struct job *graph_lookup(const struct graph *g, const char *ref, struct strbuf *err)
{
	struct job *found = NULL;
	size_t matches = 0, listed = 0, total = 0;

	for (size_t i = 0; i < g->jobs_nr; i++) {
		if (job_match(&g->jobs[i], ref)) {
			matches++;
			found = &g->jobs[i];
		}
	}
	if (matches == 1)
		return found;
	if (!matches) {
		strbuf_addf(err, "no job produces '%s' (patterns: ", ref);
		for (size_t i = 0; i < g->jobs_nr; i++) {
			for (size_t k = 0; k < g->jobs[i].outputs_nr; k++, total++) {
				if (listed >= LOOKUP_LIST_MAX)
					continue;
				strbuf_addf(err, "%s%s", listed ? ", " : "",
					    g->jobs[i].outputs[k].text);
				listed++;
			}
		}
		if (total > listed)
			strbuf_addf(err, " and %zu more", total - listed);
		strbuf_addch(err, ')');
		return NULL;
	}
	strbuf_addf(err, "ref '%s' is claimed by %zu jobs: ", ref, matches);
	for (size_t i = 0; i < g->jobs_nr; i++) {
		const struct pattern *p = job_match(&g->jobs[i], ref);

		if (p)
			strbuf_addf(err, "%s%s (%s)", listed++ ? ", " : "", g->jobs[i].label,
				    p->text);
	}
	return NULL;
}

void refs_describe(const char *const *refs, size_t nr, size_t max, struct strbuf *out)
{
	for (size_t i = 0; i < nr && i < max; i++)
		strbuf_addf(out, "%s'%s'", i ? ", " : "", refs[i]);
	if (nr > max)
		strbuf_addf(out, " and %zu more", nr - max);
}
