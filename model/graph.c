#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/graph.h"
#include "model/ref.h"
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
	strvec_clear(&j->key_ignore);
	semver_release(&j->version);
	for (size_t i = 0; i < j->vars_nr; i++) {
		free(j->vars[i].name);
		if (j->vars[i].owned) {
			domain_release(j->vars[i].domain);
			free(j->vars[i].domain);
		}
	}
	free(j->vars);
	free(j->source);
	pattern_release(&j->source_pattern);
}

void graph_release(struct graph *g)
{
	for (size_t i = 0; i < g->jobs_nr; i++)
		job_release(&g->jobs[i]);
	free(g->jobs);
	for (size_t i = 0; i < g->domains_nr; i++)
		domain_release(&g->domains[i]);
	free(g->domains);
	for (size_t i = 0; i < g->schedules_nr; i++)
		schedule_release(&g->schedules[i]);
	free(g->schedules);
	for (size_t i = 0; i < g->freshness_nr; i++)
		freshness_policy_release(&g->freshness[i]);
	free(g->freshness);
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

int graph_label_valid(const char *s)
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

/* Parses a domain (named or inline) and resolves a command's argv[0]. */
static int decode_domain(struct graph *g, struct domain *d, const char *name,
			 const cJSON *item, const struct jpath *p, struct strbuf *err)
{
	struct jpath cp = { p, "command", 0 };
	char *what;
	int ret;

	if (domain_parse(d, name, item, p, g->dir, err) < 0)
		return -1;
	if (d->kind != DOMAIN_COMMAND)
		return 0;
	what = xstrfmt("domain '%s' command", name);
	ret = resolve_argv0(g, &d->argv, &cp, what, err);
	free(what);
	return ret;
}

static void describe_domain_names(const struct graph *g, struct strbuf *out)
{
	if (!g->domains_nr) {
		strbuf_addstr(out, "the graph has no \"domains\"");
		return;
	}
	strbuf_addstr(out, "domains: ");
	for (size_t i = 0; i < g->domains_nr; i++)
		strbuf_addf(out, "%s%s", i ? ", " : "", g->domains[i].name);
}

static int decode_domains(struct graph *g, const cJSON *root, const struct jpath *rp,
			  struct strbuf *err)
{
	struct jpath dp = { rp, "domains", 0 };
	const cJSON *obj;

	if (json_find(root, rp, "domains", 0, &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	if (json_check_object(obj, &dp, "an object of named domains", err) < 0)
		return -1;
	g->domains = xcalloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(*g->domains));
	for (const cJSON *m = obj->child; m; m = m->next) {
		struct jpath mp = { &dp, m->string, 0 };

		if (!graph_label_valid(m->string))
			return json_fail(err, &mp, "invalid domain name '%s': use letters, digits, "
					 "'_', '.' and '-'", m->string);
		if (graph_domain(g, m->string))
			return json_fail(err, &mp, "duplicate member");
		g->domains_nr++;
		if (decode_domain(g, &g->domains[g->domains_nr - 1], m->string, m, &mp, err) < 0)
			return -1;
	}
	return 0;
}

/* Whether name is a placeholder of one of j's output patterns. */
static int job_has_var(const struct job *j, const char *name)
{
	for (size_t i = 0; i < j->outputs_nr; i++)
		if (strvec_find(&j->outputs[i].names, name) >= 0)
			return 1;
	return 0;
}

static void describe_vars(const struct job *j, struct strbuf *out)
{
	struct strvec all = STRVEC_INIT;

	for (size_t i = 0; i < j->outputs_nr; i++)
		for (size_t k = 0; k < j->outputs[i].names.nr; k++)
			if (strvec_find(&all, j->outputs[i].names.v[k]) < 0)
				strvec_push(&all, j->outputs[i].names.v[k]);
	if (!all.nr)
		strbuf_addstr(out, "its outputs have no placeholders");
	else
		strbuf_addstr(out, "variables: ");
	for (size_t i = 0; i < all.nr; i++)
		strbuf_addf(out, "%s%s", i ? ", " : "", all.v[i]);
	strvec_clear(&all);
}

static int decode_partitions(struct graph *g, struct job *j, const cJSON *obj,
			     const struct jpath *p, struct strbuf *err)
{
	struct jpath pp = { p, "partitions", 0 };
	const cJSON *parts;

	if (json_find(obj, p, "partitions", 0, &parts, err) < 0)
		return -1;
	if (!parts)
		return 0;
	if (json_check_object(parts, &pp, "an object {\"variable\": \"domain\" | {domain}}",
			      err) < 0)
		return -1;
	j->vars = xcalloc((size_t)cJSON_GetArraySize(parts) + 1, sizeof(*j->vars));
	for (const cJSON *m = parts->child; m; m = m->next) {
		struct jpath mp = { &pp, m->string, 0 };
		struct job_var *v;

		if (!job_has_var(j, m->string)) {
			struct strbuf vars = STRBUF_INIT;

			describe_vars(j, &vars);
			json_fail(err, &mp, "'%s' is not a variable of job '%s' (%s)", m->string,
				  j->label, vars.buf);
			strbuf_release(&vars);
			return -1;
		}
		if (job_domain(j, m->string))
			return json_fail(err, &mp, "duplicate member");
		v = &j->vars[j->vars_nr++];
		v->name = xstrdup(m->string);
		if (cJSON_IsString(m)) {
			v->domain = graph_domain(g, m->valuestring);
			if (!v->domain) {
				struct strbuf names = STRBUF_INIT;

				describe_domain_names(g, &names);
				json_fail(err, &mp, "no domain '%s' (%s)", m->valuestring, names.buf);
				strbuf_release(&names);
				return -1;
			}
		} else if (cJSON_IsObject(m)) {
			char *name = xstrfmt("%s.%s", j->label, m->string);
			int r;

			v->domain = xcalloc(1, sizeof(*v->domain));
			v->owned = 1;
			r = decode_domain(g, v->domain, name, m, &mp, err);
			free(name);
			if (r < 0)
				return -1;
		} else {
			return json_fail(err, &mp, "expected a domain name or a domain object, got %s",
					 json_type_name(m));
		}
	}
	return 0;
}

/* A source job: "source" instead of configure and exec. */
static int decode_source(struct graph *g, struct job *j, const cJSON *obj,
			 const struct jpath *p, const char *source, struct strbuf *err)
{
	static const char *const forbidden[] = { "configure", "exec" };
	struct jpath sp = { p, "source", 0 };
	struct jpath op = { p, "outputs", 0 };
	struct strbuf why = STRBUF_INIT;
	const struct pattern *out;
	const char *rel = source;
	int ret = -1;

	for (size_t i = 0; i < 2; i++) {
		struct jpath fp = { p, forbidden[i], 0 };
		const cJSON *m;

		if (json_find(obj, p, forbidden[i], 0, &m, err) < 0)
			goto out;
		if (m) {
			json_fail(err, &fp, "job '%s' is a source (it has \"source\"): it has no %s",
				  j->label, forbidden[i]);
			goto out;
		}
	}
	if (j->outputs_nr != 1) {
		json_fail(err, &op, "source job '%s' has one output pattern, got %zu", j->label,
			  j->outputs_nr);
		goto out;
	}
	if (!*source) {
		json_fail(err, &sp, "expected a non-empty path pattern");
		goto out;
	}
	if (source[0] == '/') {
		j->source = xstrdup(source);
	} else {
		while (rel[0] == '.' && rel[1] == '/')
			for (rel += 2; *rel == '/'; rel++)
				;
		j->source = xstrfmt("%s%s%s", g->dir, strcmp(g->dir, "/") ? "/" : "", rel);
	}
	if (pattern_parse(&j->source_pattern, j->source + 1, &why) < 0) {
		json_fail(err, &sp, "invalid source '%s': %s", j->source, why.buf);
		goto out;
	}
	out = &j->outputs[0];
	for (size_t i = 0; i < j->source_pattern.names.nr; i++)
		if (strvec_find(&out->names, j->source_pattern.names.v[i]) < 0) {
			json_fail(err, &sp, "placeholder '{%s}' of source '%s' is not in the output "
				  "pattern '%s'", j->source_pattern.names.v[i], j->source, out->text);
			goto out;
		}
	for (size_t i = 0; i < out->names.nr; i++)
		if (strvec_find(&j->source_pattern.names, out->names.v[i]) < 0) {
			json_fail(err, &sp, "source '%s' has no placeholder '{%s}' of the output "
				  "pattern '%s'", j->source, out->names.v[i], out->text);
			goto out;
		}
	/*
	 * Importing a source is a run like any other (staged, contained,
	 * hashed, published read-only): a copy of the file, which is only
	 * ever read. The planner passes the file and the ref as arguments.
	 */
	strvec_push(&j->exec, "/bin/sh");
	strvec_push(&j->exec, "-c");
	strvec_push(&j->exec, SOURCE_IMPORT_SCRIPT);
	strvec_push(&j->exec, "databuild-source");
	ret = 0;
out:
	strbuf_release(&why);
	return ret;
}

/* "key_ignore": path prefixes (relative ones to the graph's directory), made absolute. */
static int decode_key_ignore(const struct graph *g, struct job *j, const cJSON *obj,
			     const struct jpath *p, struct strbuf *err)
{
	struct strvec raw = STRVEC_INIT;
	int ret = -1;

	if (json_get_strvec(obj, p, "key_ignore", 0, &raw, err) < 0)
		goto out;
	for (size_t i = 0; i < raw.nr; i++) {
		struct jpath kp = { p, "key_ignore", 0 };
		struct jpath ep = { &kp, NULL, i };

		if (!*raw.v[i]) {
			json_fail(err, &ep, "expected a path, got an empty string");
			goto out;
		}
		if (raw.v[i][0] == '/')
			strvec_push(&j->key_ignore, raw.v[i]);
		else
			strvec_pushf(&j->key_ignore, "%s/%s", g->dir, raw.v[i]);
	}
	ret = 0;
out:
	strvec_clear(&raw);
	return ret;
}

/* "eager": a boolean. */
static int decode_eager(struct job *j, const cJSON *obj, const struct jpath *p,
			struct strbuf *err)
{
	struct jpath ep = { p, "eager", 0 };
	const cJSON *m;

	if (json_find(obj, p, "eager", 0, &m, err) < 0)
		return -1;
	if (m && !cJSON_IsBool(m))
		return json_fail(err, &ep, "expected true or false, got %s", json_type_name(m));
	j->eager = m && cJSON_IsTrue(m);
	return 0;
}

/* One member of "retention" (an integer from min to max) into *out. */
static int decode_retention_field(const cJSON *m, const struct jpath *p, long min, long max,
				  long *out, struct strbuf *err)
{
	struct jpath mp = { p, m->string, 0 };
	struct strbuf why = STRBUF_INIT;
	int64_t v = 0;
	int ret = -1;

	if (!cJSON_IsNumber(m)) {
		json_fail(err, &mp, "expected an integer >= %ld, got %s", min,
			  json_type_name(m));
		goto out;
	}
	if (json_item_int64(m, &mp, &v, &why) < 0 || v < min || v > max) {
		json_fail(err, &mp, "expected an integer from %ld to %ld, got %g", min, max,
			  m->valuedouble);
		goto out;
	}
	*out = (long)v;
	ret = 0;
out:
	strbuf_release(&why);
	return ret;
}

/* "retention" of obj (the graph or a job), if present, into r. */
static int decode_retention(const cJSON *obj, const struct jpath *p, struct retention *r,
			    struct strbuf *err)
{
	struct jpath rp = { p, "retention", 0 };
	const cJSON *o;

	r->set = 0;
	if (json_find(obj, p, "retention", 0, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	if (json_check_object(o, &rp, "an object {\"keep_versions\", \"keep_days\"}",
			      err) < 0)
		return -1;
	for (const cJSON *m = o->child; m; m = m->next) {
		struct jpath mp = { &rp, m->string, 0 };
		unsigned field;

		if (!strcmp(m->string, "keep_versions")) {
			field = RETENTION_VERSIONS;
			if (decode_retention_field(m, &rp, 1, RETENTION_VERSIONS_MAX,
						   &r->keep_versions, err) < 0)
				return -1;
		} else if (!strcmp(m->string, "keep_days")) {
			field = RETENTION_DAYS;
			if (decode_retention_field(m, &rp, 0, RETENTION_DAYS_MAX,
						   &r->keep_days, err) < 0)
				return -1;
		} else {
			return json_fail(err, &mp, "unknown member '%s': expected keep_versions "
					 "or keep_days", m->string);
		}
		if (r->set & field)
			return json_fail(err, &mp, "duplicate member '%s'", m->string);
		r->set |= field;
	}
	return 0;
}

int retention_keeps(const struct retention *r, int current, size_t rank, int64_t age_us)
{
	if (current || !r->set)
		return 1;
	if ((r->set & RETENTION_VERSIONS) && rank < (size_t)r->keep_versions)
		return 1;
	if ((r->set & RETENTION_DAYS) && age_us < (int64_t)r->keep_days * 86400 * 1000000)
		return 1;
	return 0;
}

void graph_retention(const struct graph *g, const char *ref, struct retention *out)
{
	struct strbuf why = STRBUF_INIT;
	const struct job *j = graph_lookup(g, ref, &why);

	*out = g->retention;
	if (j && (j->retention.set & RETENTION_VERSIONS)) {
		out->set |= RETENTION_VERSIONS;
		out->keep_versions = j->retention.keep_versions;
	}
	if (j && (j->retention.set & RETENTION_DAYS)) {
		out->set |= RETENTION_DAYS;
		out->keep_days = j->retention.keep_days;
	}
	strbuf_release(&why);
}

int graph_has_retention(const struct graph *g)
{
	if (g->retention.set)
		return 1;
	for (size_t i = 0; i < g->jobs_nr; i++)
		if (g->jobs[i].retention.set)
			return 1;
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
	const char *label, *version, *source;
	void *prev;
	int ret = -1;

	strvec_init(&j->configure);
	strvec_init(&j->exec);
	strvec_init(&j->key_ignore);
	j->graph_dir = g->dir;
	if (json_check_object(obj, p, "a job object", err) < 0 ||
	    json_get_string(obj, p, "label", 1, &label, err) < 0)
		goto out;
	if (!graph_label_valid(label)) {
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
	if (decode_outputs(g, ji, obj, p, shapes, err) < 0 ||
	    json_get_string(obj, p, "source", 0, &source, err) < 0)
		goto out;
	if (source) {
		if (decode_source(g, j, obj, p, source, err) < 0)
			goto out;
	} else {
		strbuf_addf(&what, "job '%s' configure", label);
		if (decode_argv(g, obj, p, "configure", 1, what.buf, &j->configure, err) < 0)
			goto out;
		strbuf_reset(&what);
		strbuf_addf(&what, "job '%s' exec", label);
		if (decode_argv(g, obj, p, "exec", 1, what.buf, &j->exec, err) < 0)
			goto out;
	}
	if (decode_partitions(g, j, obj, p, err) < 0)
		goto out;
	if (json_get_string(obj, p, "version", 0, &version, err) < 0)
		goto out;
	if (semver_parse(&j->version, version ? version : "0.0.0", &why) < 0) {
		json_fail(err, &vp, "%s", why.buf);
		goto out;
	}
	if (decode_key_ignore(g, j, obj, p, err) < 0)
		goto out;
	if (decode_eager(j, obj, p, err) < 0 ||
	    decode_nonneg(obj, p, "timeout_s", JOB_TIMEOUT_MAX_S, &j->timeout_s, err) < 0 ||
	    decode_nonneg(obj, p, "configure_timeout_s", JOB_TIMEOUT_MAX_S,
			  &j->configure_timeout_s, err) < 0 ||
	    decode_nonneg(obj, p, "retries", JOB_RETRIES_MAX, &j->retries, err) < 0 ||
	    decode_retention(obj, p, &j->retention, err) < 0)
		goto out;
	ret = 0;
out:
	strbuf_release(&what);
	strbuf_release(&why);
	return ret;
}

/* Each ref of schedule s's first tick must have a job (unless a lookup executable decides). */
static int check_schedule_refs(const struct graph *g, const struct schedule *s,
			       const struct jpath *p, struct strbuf *err)
{
	struct jpath bp = { p, "build", 0 };
	struct strvec refs = STRVEC_INIT;
	struct strbuf why = STRBUF_INIT;
	long long t = cron_next(&s->cron, &s->tz, s->start == LLONG_MIN ? 0 : s->start - 1);
	int ret = -1;

	if (g->lookup.nr) {
		ret = 0;
		goto out;
	}
	if (schedule_refs(s, t < 0 ? 0 : t, &refs, err) < 0)
		goto out;
	for (size_t i = 0; i < refs.nr; i++) {
		struct jpath ep = { &bp, NULL, i };

		if (!graph_lookup(g, refs.v[i], &why)) {
			json_fail(err, &ep, "%s", why.buf);
			goto out;
		}
	}
	ret = 0;
out:
	strvec_clear(&refs);
	strbuf_release(&why);
	return ret;
}

static int decode_schedules(struct graph *g, const cJSON *root, const struct jpath *rp,
			    struct strbuf *err)
{
	struct jpath sp = { rp, "schedules", 0 };
	const cJSON *arr;
	size_t i = 0;

	if (json_get_array(root, rp, "schedules", 0, "schedules", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	g->schedules = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*g->schedules));
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		struct jpath ep = { &sp, NULL, i };
		struct schedule *s = &g->schedules[i];

		g->schedules_nr++;
		if (schedule_parse(s, e, &ep, err) < 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(g->schedules[k].name, s->name)) {
				struct jpath np = { &ep, "name", 0 };

				return json_fail(err, &np, "duplicate schedule name '%s' (also "
						 "schedules[%zu])", s->name, k);
			}
		if (check_schedule_refs(g, s, &ep, err) < 0)
			return -1;
	}
	return 0;
}

/* Whether some output pattern of g has the dataset part dataset (up to placeholder names). */
static int graph_has_dataset(const struct graph *g, const char *dataset)
{
	char *want = pattern_shape(dataset);
	int found = 0;

	for (size_t i = 0; i < g->jobs_nr && !found; i++)
		for (size_t k = 0; k < g->jobs[i].outputs_nr && !found; k++) {
			const char *text = g->jobs[i].outputs[k].text;
			const char *slash = strrchr(text, '/');
			char *dir, *shape;

			if (!slash)
				continue;
			dir = xstrndup(text, (size_t)(slash - text));
			shape = pattern_shape(dir);
			found = !strcmp(shape, want);
			free(dir);
			free(shape);
		}
	free(want);
	return found;
}

static int decode_freshness(struct graph *g, const cJSON *root, const struct jpath *rp,
			    struct strbuf *err)
{
	struct jpath fp = { rp, "freshness", 0 };
	const cJSON *obj;

	if (json_find(root, rp, "freshness", 0, &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	if (json_check_object(obj, &fp, "an object {\"dataset\": {\"max_age\": \"26h\"}}",
			      err) < 0)
		return -1;
	g->freshness = xcalloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(*g->freshness));
	for (const cJSON *m = obj->child; m; m = m->next) {
		struct jpath mp = { &fp, m->string, 0 };
		struct strbuf why = STRBUF_INIT;
		struct pattern pat;
		int bad;

		bad = pattern_parse(&pat, m->string, &why) < 0;
		if (!bad)
			pattern_release(&pat);
		if (bad) {
			json_fail(err, &mp, "invalid dataset '%s': %s", m->string, why.buf);
			strbuf_release(&why);
			return -1;
		}
		if (!g->lookup.nr && !graph_has_dataset(g, m->string))
			return json_fail(err, &mp, "no job produces partitions of dataset '%s'",
					 m->string);
		g->freshness_nr++;
		if (freshness_policy_parse(&g->freshness[g->freshness_nr - 1], m->string, m,
					   &mp, err) < 0)
			return -1;
	}
	return 0;
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
	    decode_domains(g, root, &rp, err) < 0 ||
	    decode_retention(root, &rp, &g->retention, err) < 0 ||
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
	if (decode_schedules(g, root, &rp, err) < 0 || decode_freshness(g, root, &rp, err) < 0)
		goto out;
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

struct domain *graph_domain(const struct graph *g, const char *name)
{
	for (size_t i = 0; i < g->domains_nr; i++)
		if (!strcmp(g->domains[i].name, name))
			return &g->domains[i];
	return NULL;
}

struct domain *job_domain(const struct job *j, const char *var)
{
	for (size_t i = 0; i < j->vars_nr; i++)
		if (!strcmp(j->vars[i].name, var))
			return j->vars[i].domain;
	return NULL;
}

int graph_domains_refresh(struct graph *g, struct strbuf *err)
{
	int ret = 0;

	for (size_t i = 0; i < g->domains_nr; i++)
		if (domain_refresh(&g->domains[i], ret ? NULL : err) < 0)
			ret = -1;
	for (size_t i = 0; i < g->jobs_nr; i++)
		for (size_t k = 0; k < g->jobs[i].vars_nr; k++)
			if (g->jobs[i].vars[k].owned &&
			    domain_refresh(g->jobs[i].vars[k].domain, ret ? NULL : err) < 0)
				ret = -1;
	return ret;
}

/*
 * Appends p's text with its i-th placeholder replaced by the value of
 * the same name in (names, values).
 */
static void pattern_fill(const struct pattern *p, const struct strvec *names,
			 const char *const *values, struct strbuf *out)
{
	size_t k = 0;

	for (const char *s = p->text; *s; s++) {
		if (*s != '{') {
			strbuf_addch(out, *s);
			continue;
		}
		strbuf_addstr(out, values[strvec_find(names, p->names.v[k++])]);
		s = strchr(s, '}');
	}
}

int job_space_contains(const struct job *j, const struct pattern *p, const char *ref,
		       struct strbuf *err)
{
	struct strvec values = STRVEC_INIT;
	struct strbuf why = STRBUF_INIT;
	int ret = 0;

	if (!p)
		p = job_match(j, ref);
	if (!p || !pattern_match(p, ref, &values)) {
		if (err)
			strbuf_addf(err, "ref '%s' is not an output of job '%s'", ref, j->label);
		goto out;
	}
	ret = 1;
	for (size_t k = 0; k < values.nr && ret == 1; k++) {
		struct domain *d = job_domain(j, p->names.v[k]);

		if (!d)
			continue;
		ret = domain_contains(d, values.v[k], &why);
		if (ret == 0 && err)
			strbuf_addf(err, "ref '%s' is outside the partitions of job '%s': "
				    "variable '%s': %s", ref, j->label, p->names.v[k], why.buf);
		else if (ret < 0 && err)
			strbuf_addbuf(err, &why);
	}
out:
	strvec_clear(&values);
	strbuf_release(&why);
	return ret;
}

int graph_resolve(const struct graph *g, const char *ref, struct job **out,
		  struct strbuf *err)
{
	struct job *j = graph_lookup(g, ref, err);

	*out = j;
	if (!j)
		return 0;
	return job_space_contains(j, NULL, ref, err);
}

static void fail_open_ended(const struct job *j, const char *var, const char *what,
			    struct strbuf *err)
{
	strbuf_addf(err, "variable '%s' of job '%s' has no domain: %s", var, j->label, what);
}

int job_space_count(const struct job *j, const struct pattern *p, uint64_t *count,
		    struct strbuf *err)
{
	uint64_t n = 1;

	for (size_t k = 0; k < p->names.nr; k++) {
		struct domain *d = job_domain(j, p->names.v[k]);
		uint64_t c;

		if (!d) {
			fail_open_ended(j, p->names.v[k], "its partitions are open-ended", err);
			return -1;
		}
		if (domain_ready(d, err) < 0)
			return -1;
		c = domain_count(d);
		n = c && n > UINT64_MAX / c ? UINT64_MAX : n * c;
	}
	*count = n;
	return 0;
}

int64_t job_space_index(const struct job *j, const struct pattern *p, const char *ref)
{
	struct strvec values = STRVEC_INIT;
	uint64_t pos = 0;
	int64_t ret = -1;

	if (!pattern_match(p, ref, &values))
		goto out;
	for (size_t k = 0; k < values.nr; k++) {
		const struct domain *d = job_domain(j, p->names.v[k]);
		int64_t i = d ? domain_index(d, values.v[k]) : -1;

		if (i < 0)
			goto out;
		pos = pos * domain_count(d) + (uint64_t)i;
	}
	ret = pos > INT64_MAX ? -1 : (int64_t)pos;
out:
	strvec_clear(&values);
	return ret;
}

int space_iter_init(struct space_iter *it, const struct job *j, const struct pattern *p,
		    const char *expr, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	int ret = -1;

	memset(it, 0, sizeof(*it));
	strvec_init(&it->exprs);
	strbuf_init(&it->ref, 0);
	it->job = j;
	if (!p && expr) {
		for (size_t i = 0; i < j->outputs_nr && !p; i++)
			if (pattern_match(&j->outputs[i], expr, NULL))
				p = &j->outputs[i];
	}
	if (!p) {
		strbuf_addf(err, "'%s' matches no output pattern of job '%s'", expr ? expr : "",
			    j->label);
		goto out;
	}
	it->pattern = p;
	if (expr && !pattern_match(p, expr, &it->exprs)) {
		strbuf_addf(err, "'%s' does not match pattern '%s' of job '%s'", expr, p->text,
			    j->label);
		goto out;
	}
	it->nr = p->names.nr;
	it->vars = xcalloc(it->nr + 1, sizeof(*it->vars));
	it->cur = xcalloc(it->nr + 1, sizeof(*it->cur));
	for (size_t k = 0; k < it->nr; k++) {
		const char *var = p->names.v[k];
		const char *e = expr ? it->exprs.v[k] : NULL;
		struct domain *d = job_domain(j, var);

		if (!d && !e) {
			fail_open_ended(j, var, "its partitions cannot be enumerated", err);
			goto out;
		}
		if (!d && domain_expr_kind(e) != DOMAIN_EXPR_VALUE) {
			strbuf_reset(&why);
			strbuf_addf(&why, "%s '%s' needs one",
				    domain_expr_kind(e) == DOMAIN_EXPR_GLOB ? "glob" : "range", e);
			fail_open_ended(j, var, why.buf, err);
			goto out;
		}
		strbuf_reset(&why);
		if (domain_iter_init(&it->vars[k], d, e, &why) < 0) {
			strbuf_addf(err, "variable '%s' of job '%s': %s", var, j->label, why.buf);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret)
		space_iter_release(it);
	strbuf_release(&why);
	return ret;
}

/* Checks that dir (depth segments) lies in the space of p's leading segments. */
static int below_check(const struct job *j, const struct pattern *p, const char *dir,
		       size_t depth, struct strbuf *err)
{
	struct pattern prefix = { 0 };
	struct strvec values = STRVEC_INIT;
	struct strbuf why = STRBUF_INIT;
	char *text = NULL;
	int ret = -1;

	if (!depth) {
		ret = 0;
		goto out;
	}
	text = pattern_segments(p->text, 0, depth);
	if (pattern_parse(&prefix, text, &why) < 0 || !pattern_match(&prefix, dir, &values)) {
		strbuf_addf(err, "'%s' is not a directory of pattern '%s' of job '%s'", dir, p->text,
			    j->label);
		goto out;
	}
	for (size_t k = 0; k < values.nr; k++) {
		struct domain *d = job_domain(j, prefix.names.v[k]);
		int r = d ? domain_contains(d, values.v[k], &why) : 1;

		if (r == 0)
			strbuf_addf(err, "'%s' is outside the partitions of job '%s': variable '%s': %s",
				    dir, j->label, prefix.names.v[k], why.buf);
		else if (r < 0)
			strbuf_addbuf(err, &why);
		if (r <= 0)
			goto out;
	}
	ret = 0;
out:
	pattern_release(&prefix);
	strvec_clear(&values);
	strbuf_release(&why);
	free(text);
	return ret;
}

int space_iter_init_below(struct space_iter *it, const struct job *j, const struct pattern *p,
			  const char *dir, struct strbuf *err)
{
	size_t depth = *dir ? ref_depth(dir) : 0;
	struct strbuf why = STRBUF_INIT;
	char *seg = NULL;
	int ret = -1;

	memset(it, 0, sizeof(*it));
	strvec_init(&it->exprs);
	strbuf_init(&it->ref, 0);
	it->job = j;
	if ((depth && !pattern_match_dir(p, dir)) || depth >= p->depth) {
		strbuf_addf(err, "'%s' is not a directory of pattern '%s' of job '%s'", dir, p->text,
			    j->label);
		goto out;
	}
	if (below_check(j, p, dir, depth, err) < 0)
		goto out;
	seg = pattern_segments(p->text, depth, 1);
	if (pattern_parse(&it->segment, seg, &why) < 0) {
		strbuf_addf(err, "segment '%s' of pattern '%s': %s", seg, p->text, why.buf);
		goto out;
	}
	it->pattern = &it->segment;
	it->nr = it->segment.names.nr;
	it->vars = xcalloc(it->nr + 1, sizeof(*it->vars));
	it->cur = xcalloc(it->nr + 1, sizeof(*it->cur));
	for (size_t k = 0; k < it->nr; k++) {
		const char *var = it->segment.names.v[k];
		struct domain *d = job_domain(j, var);

		if (!d) {
			fail_open_ended(j, var, "its partitions cannot be listed", err);
			goto out;
		}
		strbuf_reset(&why);
		if (domain_iter_init(&it->vars[k], d, NULL, &why) < 0) {
			strbuf_addf(err, "variable '%s' of job '%s': %s", var, j->label, why.buf);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret)
		space_iter_release(it);
	strbuf_release(&why);
	free(seg);
	return ret;
}

int graph_expand_init(struct space_iter *it, const struct graph *g, const char *expr,
		      struct strbuf *err)
{
	const struct job *j = graph_lookup(g, expr, err);

	if (!j) {
		memset(it, 0, sizeof(*it));
		strvec_init(&it->exprs);
		strbuf_init(&it->ref, 0);
		return -1;
	}
	return space_iter_init(it, j, job_match(j, expr), expr, err);
}

const char *space_iter_next(struct space_iter *it)
{
	size_t k;

	if (it->state == 2)
		return NULL;
	if (!it->state) {
		it->state = 1;
		for (k = 0; k < it->nr; k++)
			if (!(it->cur[k] = domain_iter_next(&it->vars[k])))
				goto done;
	} else {
		for (k = it->nr; k-- > 0; ) {
			if ((it->cur[k] = domain_iter_next(&it->vars[k])))
				break;
			domain_iter_rewind(&it->vars[k]);
			it->cur[k] = domain_iter_next(&it->vars[k]);
		}
		if (k == SIZE_MAX)
			goto done;
	}
	strbuf_reset(&it->ref);
	pattern_fill(it->pattern, &it->pattern->names, it->cur, &it->ref);
	return it->ref.buf;
done:
	it->state = 2;
	return NULL;
}

void space_iter_release(struct space_iter *it)
{
	for (size_t k = 0; it->vars && k < it->nr; k++)
		domain_iter_release(&it->vars[k]);
	free(it->vars);
	free(it->cur);
	strvec_clear(&it->exprs);
	strbuf_release(&it->ref);
	pattern_release(&it->segment);
	memset(it, 0, sizeof(*it));
	strvec_init(&it->exprs);
	strbuf_init(&it->ref, 0);
}

int job_source_path(const struct job *j, const char *ref, struct strbuf *out)
{
	struct strvec values = STRVEC_INIT;
	int ret = 0;

	strbuf_reset(out);
	if (!j->source || !pattern_match(&j->outputs[0], ref, &values))
		goto out;
	strbuf_addch(out, '/');
	pattern_fill(&j->source_pattern, &j->outputs[0].names, values.v, out);
	ret = 1;
out:
	strvec_clear(&values);
	return ret;
}

int job_source_ref(const struct job *j, const char *path, struct strbuf *out)
{
	struct strvec values = STRVEC_INIT;
	int ret = 0;

	strbuf_reset(out);
	if (!j->source || path[0] != '/' ||
	    !pattern_match(&j->source_pattern, path + 1, &values))
		goto out;
	pattern_fill(&j->outputs[0], &j->source_pattern.names, values.v, out);
	if (ref_validate(out->buf, NULL) < 0) {
		strbuf_reset(out);
		goto out;
	}
	ret = 1;
out:
	strvec_clear(&values);
	return ret;
}
