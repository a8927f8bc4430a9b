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

int job_config_list_parse(struct job_config_list *l, const char *text, size_t len,
			  struct strbuf *err)
{
	struct jpath root = JPATH_ROOT;
	cJSON *json = json_parse(text, len, err);
	int ret;

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
