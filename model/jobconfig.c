#include <string.h>

#include "model/jobconfig.h"
#include "model/ref.h"
#include "core/strmap.h"

const char *dep_type_name(enum dep_type t)
{
	return t == DEP_QUERY ? "query" : "materialize";
}

int dep_type_parse(const char *name)
{
	if (!strcmp(name, "materialize"))
		return DEP_MATERIALIZE;
	if (!strcmp(name, "query"))
		return DEP_QUERY;
	return -1;
}

void job_config_init(struct job_config *c)
{
	struct job_config blank = JOB_CONFIG_INIT;

	*c = blank;
}

void job_config_release(struct job_config *c)
{
	strvec_clear(&c->outputs);
	for (size_t i = 0; i < c->inputs_nr; i++)
		free(c->inputs[i].ref);
	free(c->inputs);
	strvec_clear(&c->args);
	strvec_clear(&c->env);
	job_config_init(c);
}

void job_config_add_input(struct job_config *c, enum dep_type t, const char *ref)
{
	ALLOC_GROW(c->inputs, c->inputs_nr + 1, c->inputs_alloc);
	c->inputs[c->inputs_nr].type = t;
	c->inputs[c->inputs_nr].ref = xstrdup(ref);
	c->inputs_nr++;
}

void job_config_copy(struct job_config *dst, const struct job_config *src)
{
	job_config_init(dst);
	strvec_copy(&dst->outputs, &src->outputs);
	for (size_t i = 0; i < src->inputs_nr; i++)
		job_config_add_input(dst, src->inputs[i].type, src->inputs[i].ref);
	strvec_copy(&dst->args, &src->args);
	strvec_copy(&dst->env, &src->env);
}

int job_config_equal(const struct job_config *a, const struct job_config *b)
{
	if (!strvec_equal(&a->outputs, &b->outputs) || !strvec_equal(&a->args, &b->args) ||
	    !strvec_equal(&a->env, &b->env) || a->inputs_nr != b->inputs_nr)
		return 0;
	for (size_t i = 0; i < a->inputs_nr; i++)
		if (a->inputs[i].type != b->inputs[i].type ||
		    strcmp(a->inputs[i].ref, b->inputs[i].ref))
			return 0;
	return 1;
}

static int decode_outputs(struct job_config *c, const cJSON *obj, const struct jpath *p,
			  struct strmap *seen, struct strbuf *err)
{
	struct jpath mp = { p, "outputs", 0 };
	const cJSON *item;
	size_t i = 0;

	if (json_get_array(obj, p, "outputs", JSON_REQUIRED | JSON_NONEMPTY, "refs", &item,
			   err) < 0)
		return -1;
	for (const cJSON *e = item->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };

		if (!cJSON_IsString(e))
			return json_fail(err, &ep, "expected a ref string, got %s",
					 json_type_name(e));
		if (ref_validate_at(e->valuestring, &ep, err) < 0)
			return -1;
		if (strmap_contains(seen, e->valuestring))
			return json_fail(err, &ep, "duplicate output '%s'", e->valuestring);
		strmap_put(seen, e->valuestring, NULL);
		strvec_push(&c->outputs, e->valuestring);
	}
	return 0;
}

static int decode_inputs(struct job_config *c, const cJSON *obj, const struct jpath *p,
			 struct strmap *outputs, struct strbuf *err)
{
	struct jpath mp = { p, "inputs", 0 };
	struct strmap seen = STRMAP_INIT;
	const cJSON *item;
	size_t i = 0;
	int ret = -1;

	if (json_get_array(obj, p, "inputs", 0, "inputs", &item, err) < 0)
		goto out;
	if (!item) {
		ret = 0;
		goto out;
	}
	for (const cJSON *e = item->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };
		struct jpath tp = { &ep, "dep_type", 0 };
		struct jpath rp = { &ep, "ref", 0 };
		const char *type, *ref;
		int t;

		if (json_check_object(e, &ep, "an object {\"dep_type\", \"ref\"}", err) < 0 ||
		    json_get_string(e, &ep, "dep_type", 1, &type, err) < 0)
			goto out;
		if ((t = dep_type_parse(type)) < 0) {
			json_fail(err, &tp, "expected \"materialize\" or \"query\", got '%s'", type);
			goto out;
		}
		if (json_get_string(e, &ep, "ref", 1, &ref, err) < 0 ||
		    ref_validate_at(ref, &rp, err) < 0)
			goto out;
		if (strmap_contains(outputs, ref)) {
			json_fail(err, &rp, "'%s' is also an output of this config", ref);
			goto out;
		}
		if (strmap_contains(&seen, ref)) {
			json_fail(err, &rp, "duplicate input '%s'", ref);
			goto out;
		}
		strmap_put(&seen, ref, NULL);
		job_config_add_input(c, t, ref);
	}
	ret = 0;
out:
	strmap_clear(&seen);
	return ret;
}

static int decode_env(struct job_config *c, const cJSON *obj, const struct jpath *p,
		      struct strbuf *err)
{
	struct jpath mp = { p, "env", 0 };
	struct strmap seen = STRMAP_INIT;
	const cJSON *item;
	int ret = -1;

	if (json_find(obj, p, "env", 0, &item, err) < 0)
		goto out;
	if (!item) {
		ret = 0;
		goto out;
	}
	if (json_check_object(item, &mp, "an object of strings", err) < 0)
		goto out;
	for (const cJSON *e = item->child; e; e = e->next) {
		struct jpath ep = { &mp, e->string ? e->string : "", 0 };

		if (!e->string || !*e->string) {
			json_fail(err, &mp, "empty variable name");
			goto out;
		}
		if (strchr(e->string, '=')) {
			json_fail(err, &ep, "variable name contains '='");
			goto out;
		}
		if (strmap_contains(&seen, e->string)) {
			json_fail(err, &ep, "duplicate variable");
			goto out;
		}
		if (!cJSON_IsString(e)) {
			json_fail(err, &ep, "expected a string, got %s", json_type_name(e));
			goto out;
		}
		strmap_put(&seen, e->string, NULL);
		strvec_pushf(&c->env, "%s=%s", e->string, e->valuestring);
	}
	ret = 0;
out:
	strmap_clear(&seen);
	return ret;
}

int job_config_from_json(struct job_config *c, const cJSON *obj,
			 const struct jpath *p, struct strbuf *err)
{
	struct strmap outputs = STRMAP_INIT;
	int ret = -1;

	job_config_init(c);
	if (json_check_object(obj, p, "a job config object", err) < 0 ||
	    decode_outputs(c, obj, p, &outputs, err) < 0 ||
	    decode_inputs(c, obj, p, &outputs, err) < 0 ||
	    json_get_strvec(obj, p, "args", 0, &c->args, err) < 0 ||
	    decode_env(c, obj, p, err) < 0)
		goto out;
	ret = 0;
out:
	strmap_clear(&outputs);
	if (ret < 0)
		job_config_release(c);
	return ret;
}

cJSON *job_config_to_json(const struct job_config *c)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *inputs = cJSON_CreateArray();
	cJSON *env = cJSON_CreateObject();

	cJSON_AddItemToObject(obj, "outputs", json_strvec(&c->outputs));
	for (size_t i = 0; i < c->inputs_nr; i++) {
		cJSON *in = cJSON_CreateObject();

		cJSON_AddStringToObject(in, "dep_type", dep_type_name(c->inputs[i].type));
		cJSON_AddStringToObject(in, "ref", c->inputs[i].ref);
		cJSON_AddItemToArray(inputs, in);
	}
	cJSON_AddItemToObject(obj, "inputs", inputs);
	cJSON_AddItemToObject(obj, "args", json_strvec(&c->args));
	for (size_t i = 0; i < c->env.nr; i++) {
		const char *eq = strchr(c->env.v[i], '=');
		char *name = eq ? xstrndup(c->env.v[i], eq - c->env.v[i]) : xstrdup(c->env.v[i]);

		cJSON_AddItemToObject(env, name, cJSON_CreateString(eq ? eq + 1 : ""));
		free(name);
	}
	cJSON_AddItemToObject(obj, "env", env);
	return obj;
}

void job_config_list_release(struct job_config_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		job_config_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

struct job_config *job_config_list_append(struct job_config_list *l)
{
	ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	job_config_init(&l->items[l->nr]);
	return &l->items[l->nr++];
}

int job_config_list_from_json(struct job_config_list *l, const cJSON *arr,
			      const struct jpath *p, struct strbuf *err)
{
	size_t i = 0;

	if (!cJSON_IsArray(arr))
		return json_fail(err, p, "expected an array of job configs, got %s",
				 json_type_name(arr));
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		struct jpath ep = { p, NULL, i };
		struct job_config *c = job_config_list_append(l);

		if (job_config_from_json(c, e, &ep, err) < 0) {
			l->nr--;
			return -1;
		}
	}
	return 0;
}

/*
 * The fast path of job_config_list_parse: the common shape of a configure
 * answer decoded straight from the text, with no cJSON tree. It accepts a
 * subset of what the full decoder accepts and builds the same configs;
 * anything else (an escape, a number, an unknown or repeated member, any
 * fault) makes it give up, and the full decoder then decodes the text or
 * says precisely what is wrong with it.
 */
enum fast_kind { FAST_OUTPUT, FAST_MATERIALIZE, FAST_QUERY, FAST_ARG, FAST_ENV };

struct fast_str {
	const char *s;
	size_t n;
	enum fast_kind kind;  /* FAST_ENV: the name; the value is the next entry */
};

struct fast {
	const char *s, *end;
	struct fast_str *strs;  /* the strings of the config being read */
	size_t nr, alloc;
};

#define FAST_ENV_MAX 32  /* more variables: the full decoder checks them */

static void fast_ws(struct fast *f)
{
	while (f->s < f->end && (*f->s == ' ' || *f->s == '\n' || *f->s == '\t' || *f->s == '\r'))
		f->s++;
}

/* Skips whitespace and c; -1 if the next character is not c. */
static int fast_char(struct fast *f, char c)
{
	fast_ws(f);
	if (f->s >= f->end || *f->s != c)
		return -1;
	f->s++;
	return 0;
}

/* After whitespace: 1 if the next character is c (skipped), else 0 (nothing skipped). */
static int fast_skip_if(struct fast *f, char c)
{
	fast_ws(f);
	if (f->s < f->end && *f->s == c) {
		f->s++;
		return 1;
	}
	return 0;
}

/* A string without escapes (its bytes are the value). */
static int fast_string(struct fast *f, struct fast_str *out)
{
	const char *p;

	if (fast_char(f, '"') < 0)
		return -1;
	for (p = f->s; p < f->end && *p != '"';) {
		unsigned char c = (unsigned char)*p;
		unsigned int cp;
		int n;

		if (c == '\\' || c < 0x20)
			return -1;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (!(n = utf8_decode(p, (size_t)(f->end - p), &cp)))
			return -1;
		p += n;
	}
	if (p >= f->end)
		return -1;
	out->s = f->s;
	out->n = (size_t)(p - f->s);
	f->s = p + 1;
	return 0;
}

static int fast_is(const struct fast_str *s, const char *word)
{
	return s->n == strlen(word) && !memcmp(s->s, word, s->n);
}

static void fast_add(struct fast *f, const struct fast_str *s, enum fast_kind kind)
{
	ALLOC_GROW(f->strs, f->nr + 1, f->alloc);
	f->strs[f->nr] = *s;
	f->strs[f->nr++].kind = kind;
}

/* A member name and its ':'. */
static int fast_key(struct fast *f, struct fast_str *key)
{
	return fast_string(f, key) < 0 || fast_char(f, ':') < 0 ? -1 : 0;
}

/* [ "s", ... ] */
static int fast_strings(struct fast *f, enum fast_kind kind)
{
	struct fast_str s;

	if (fast_char(f, '[') < 0)
		return -1;
	if (fast_skip_if(f, ']'))
		return 0;
	do {
		if (fast_string(f, &s) < 0)
			return -1;
		fast_add(f, &s, kind);
	} while (fast_skip_if(f, ','));
	return fast_char(f, ']');
}

/* {"dep_type": "materialize"|"query", "ref": "r"}, members in either order */
static int fast_input(struct fast *f)
{
	struct fast_str key, type = { NULL, 0, FAST_OUTPUT }, ref = { NULL, 0, FAST_OUTPUT };

	if (fast_char(f, '{') < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct fast_str *v;

		if ((i && fast_char(f, ',') < 0) || fast_key(f, &key) < 0)
			return -1;
		v = fast_is(&key, "dep_type") ? &type : fast_is(&key, "ref") ? &ref : NULL;
		if (!v || v->s || fast_string(f, v) < 0)
			return -1;
	}
	if (fast_char(f, '}') < 0)
		return -1;
	if (fast_is(&type, "materialize"))
		fast_add(f, &ref, FAST_MATERIALIZE);
	else if (fast_is(&type, "query"))
		fast_add(f, &ref, FAST_QUERY);
	else
		return -1;
	return 0;
}

static int fast_inputs(struct fast *f)
{
	if (fast_char(f, '[') < 0)
		return -1;
	if (fast_skip_if(f, ']'))
		return 0;
	do {
		if (fast_input(f) < 0)
			return -1;
	} while (fast_skip_if(f, ','));
	return fast_char(f, ']');
}

/* {"NAME": "value", ...} */
static int fast_env(struct fast *f)
{
	struct fast_str name, value;

	if (fast_char(f, '{') < 0)
		return -1;
	if (fast_skip_if(f, '}'))
		return 0;
	do {
		if (fast_key(f, &name) < 0 || fast_string(f, &value) < 0)
			return -1;
		fast_add(f, &name, FAST_ENV);
		fast_add(f, &value, FAST_ENV);
	} while (fast_skip_if(f, ','));
	return fast_char(f, '}');
}

/* Copies f's strings of kind into the exactly sized strvec sv. */
static void fast_strvec(const struct fast *f, enum fast_kind kind, size_t n, struct strvec *sv)
{
	size_t k = 0;

	if (!n)
		return;
	sv->v = xmalloc((n + 1) * sizeof(*sv->v));
	sv->alloc = n + 1;
	for (size_t i = 0; i < f->nr; i++)
		if (f->strs[i].kind == kind)
			sv->v[k++] = xstrndup(f->strs[i].s, f->strs[i].n);
	sv->v[k] = NULL;
	sv->nr = k;
}

/* 0 if the names of env ("NAME=value", names checked already) are distinct. */
static int fast_env_ok(const struct strvec *env)
{
	if (env->nr > FAST_ENV_MAX)
		return -1;
	for (size_t i = 0; i < env->nr; i++) {
		size_t n = strcspn(env->v[i], "=");

		for (size_t k = 0; k < i; k++)
			if (!strncmp(env->v[k], env->v[i], n + 1))
				return -1;
	}
	return 0;
}

/* Builds c from f's strings; -1 if the full decoder would refuse them. */
static int fast_build(struct fast *f, struct job_config *c)
{
	size_t count[FAST_ENV + 1] = { 0 }, refs_nr = 0, k = 0;
	const char **refs;
	int ret = -1;

	for (size_t i = 0; i < f->nr; i++) {
		const struct fast_str *s = &f->strs[i];

		count[s->kind]++;
		if (s->kind != FAST_ENV)
			continue;
		if (!s->n || memchr(s->s, '=', s->n))
			return -1;  /* an empty name or one with '=' */
		i++;  /* its value */
	}
	if (!count[FAST_OUTPUT])
		return -1;
	fast_strvec(f, FAST_OUTPUT, count[FAST_OUTPUT], &c->outputs);
	fast_strvec(f, FAST_ARG, count[FAST_ARG], &c->args);
	refs_nr = count[FAST_MATERIALIZE] + count[FAST_QUERY];
	if (refs_nr) {
		c->inputs = xmalloc(refs_nr * sizeof(*c->inputs));
		c->inputs_alloc = refs_nr;
	}
	for (size_t i = 0; i < f->nr; i++) {
		const struct fast_str *s = &f->strs[i];

		if (s->kind == FAST_ENV) {
			char *e = xmalloc(s->n + s[1].n + 2);

			memcpy(e, s->s, s->n);
			e[s->n] = '=';
			memcpy(e + s->n + 1, s[1].s, s[1].n);
			e[s->n + 1 + s[1].n] = '\0';
			strvec_push_nodup(&c->env, e);
			i++;
		} else if (s->kind == FAST_MATERIALIZE || s->kind == FAST_QUERY) {
			c->inputs[c->inputs_nr].type = s->kind == FAST_QUERY ? DEP_QUERY
									  : DEP_MATERIALIZE;
			c->inputs[c->inputs_nr++].ref = xstrndup(s->s, s->n);
		}
	}
	refs = xmalloc((c->outputs.nr + c->inputs_nr) * sizeof(*refs));
	for (size_t i = 0; i < c->outputs.nr; i++)
		refs[k++] = c->outputs.v[i];
	for (size_t i = 0; i < c->inputs_nr; i++)
		refs[k++] = c->inputs[i].ref;
	for (size_t i = 0; i < k; i++)
		if (ref_validate(refs[i], NULL) < 0)
			goto out;
	/* an output or input twice, or a ref both input and output */
	if (strs_have_duplicates(refs, k) || fast_env_ok(&c->env) < 0)
		goto out;
	ret = 0;
out:
	free(refs);
	return ret;
}

static int fast_config(struct fast *f, struct job_config *c)
{
	unsigned seen = 0;
	struct fast_str key;

	f->nr = 0;
	if (fast_char(f, '{') < 0)
		return -1;
	if (!fast_skip_if(f, '}')) {
		do {
			unsigned bit;
			int r;

			if (fast_key(f, &key) < 0)
				return -1;
			if (fast_is(&key, "outputs")) {
				bit = 1;
				r = fast_strings(f, FAST_OUTPUT);
			} else if (fast_is(&key, "inputs")) {
				bit = 2;
				r = fast_inputs(f);
			} else if (fast_is(&key, "args")) {
				bit = 4;
				r = fast_strings(f, FAST_ARG);
			} else if (fast_is(&key, "env")) {
				bit = 8;
				r = fast_env(f);
			} else {
				return -1;
			}
			if (r < 0 || (seen & bit))
				return -1;
			seen |= bit;
		} while (fast_skip_if(f, ','));
		if (fast_char(f, '}') < 0)
			return -1;
	}
	return fast_build(f, c);
}

/* 0 with the configs appended to l, or -1 with l as it was: use the full decoder. */
static int fast_list_parse(struct job_config_list *l, const char *text, size_t len)
{
	struct fast f = { text, text + len, NULL, 0, 0 };
	size_t first = l->nr;
	int ret = -1;

	if (fast_char(&f, '[') < 0)
		goto out;
	if (!fast_skip_if(&f, ']')) {
		do {
			if (fast_config(&f, job_config_list_append(l)) < 0)
				goto out;
		} while (fast_skip_if(&f, ','));
		if (fast_char(&f, ']') < 0)
			goto out;
	}
	fast_ws(&f);
	if (f.s == f.end)
		ret = 0;
out:
	if (ret < 0) {
		while (l->nr > first)
			job_config_release(&l->items[--l->nr]);
	}
	free(f.strs);
	return ret;
}

int job_config_list_parse(struct job_config_list *l, const char *text, size_t len,
			  struct strbuf *err)
{
	struct jpath root = JPATH_ROOT;
	cJSON *json;
	int ret;

	if (fast_list_parse(l, text, len) == 0)
		return 0;
	json = json_parse(text, len, err);
	if (!json)
		return -1;
	ret = job_config_list_from_json(l, json, &root, err);
	cJSON_Delete(json);
	return ret;
}

cJSON *job_config_list_to_json(const struct job_config_list *l)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < l->nr; i++)
		cJSON_AddItemToArray(arr, job_config_to_json(&l->items[i]));
	return arr;
}
