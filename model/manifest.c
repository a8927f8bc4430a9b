#include <string.h>

#include "model/manifest.h"
#include "model/ref.h"

void manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	job_config_init(&m->config);
	strvec_init(&m->key_files);
}

void manifest_release(struct manifest *m)
{
	free(m->run_id);
	free(m->job);
	free(m->version);
	for (size_t i = 0; i < m->outputs_nr; i++)
		free(m->outputs[i].ref);
	free(m->outputs);
	for (size_t i = 0; i < m->inputs_nr; i++) {
		free(m->inputs[i].ref);
		free(m->inputs[i].run_id);
	}
	free(m->inputs);
	job_config_release(&m->config);
	free(m->log_path);
	free(m->host);
	strvec_clear(&m->key_files);
	manifest_init(m);
}

struct manifest_output *manifest_add_output(struct manifest *m, const char *ref)
{
	struct manifest_output *o;

	ALLOC_GROW(m->outputs, m->outputs_nr + 1, m->outputs_alloc);
	o = &m->outputs[m->outputs_nr++];
	memset(o, 0, sizeof(*o));
	o->ref = xstrdup(ref);
	o->size = -1;
	return o;
}

struct manifest_input *manifest_add_input(struct manifest *m, const char *ref)
{
	struct manifest_input *in;

	ALLOC_GROW(m->inputs, m->inputs_nr + 1, m->inputs_alloc);
	in = &m->inputs[m->inputs_nr++];
	memset(in, 0, sizeof(*in));
	in->ref = xstrdup(ref);
	in->type = DEP_MATERIALIZE;
	return in;
}

int sha256_hex_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == SHA256_HEX_LEN;
}

static int get_hash(const cJSON *obj, const struct jpath *p, const char *key, int required,
		    int allow_empty, char out[SHA256_HEX_LEN + 1], struct strbuf *err)
{
	struct jpath mp = { p, key, 0 };
	const char *s;

	out[0] = '\0';
	if (json_get_string(obj, p, key, required, &s, err) < 0)
		return -1;
	if (!s || (allow_empty && !*s))
		return 0;
	if (!sha256_hex_valid(s))
		return json_fail(err, &mp, "expected %s64 lowercase hex digits, got '%s'",
				 allow_empty ? "\"\" or " : "", s);
	memcpy(out, s, SHA256_HEX_LEN + 1);
	return 0;
}

static int get_ref(const cJSON *obj, const struct jpath *p, const char **out,
		   struct strbuf *err)
{
	struct jpath mp = { p, "ref", 0 };

	if (json_get_string(obj, p, "ref", 1, out, err) < 0)
		return -1;
	return ref_validate_at(*out, &mp, err);
}

static int dup_nullable(const cJSON *obj, const struct jpath *p, const char *key,
			char **out, struct strbuf *err)
{
	const char *s;

	if (json_get_nullable_string(obj, p, key, &s, err) < 0)
		return -1;
	*out = s ? xstrdup(s) : NULL;
	return 0;
}

static int dup_required(const cJSON *obj, const struct jpath *p, const char *key,
			char **out, struct strbuf *err)
{
	struct jpath mp = { p, key, 0 };
	const char *s;

	if (json_get_string(obj, p, key, 1, &s, err) < 0)
		return -1;
	if (!*s)
		return json_fail(err, &mp, "expected a non-empty string");
	*out = xstrdup(s);
	return 0;
}

static int decode_outputs(struct manifest *m, const cJSON *obj, const struct jpath *p,
			  struct strbuf *err)
{
	struct jpath mp = { p, "outputs", 0 };
	const cJSON *item;
	size_t i = 0;

	if (json_get_array(obj, p, "outputs", JSON_REQUIRED | JSON_NONEMPTY, "outputs", &item,
			   err) < 0)
		return -1;
	for (const cJSON *e = item->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };
		struct jpath sp = { &ep, "size", 0 };
		struct manifest_output *o;
		const char *ref;
		int64_t size;

		if (json_check_object(e, &ep, "an object {\"ref\", \"sha256\", \"size\"}",
				      err) < 0 ||
		    get_ref(e, &ep, &ref, err) < 0)
			return -1;
		o = manifest_add_output(m, ref);
		if (get_hash(e, &ep, "sha256", 1, 0, o->sha256, err) < 0 ||
		    json_get_int64(e, &ep, "size", 1, &size, err) < 0)
			return -1;
		if (size < 0)
			return json_fail(err, &sp, "expected a size >= 0, got %lld",
					 (long long)size);
		o->size = size;
	}
	return 0;
}

static int decode_inputs(struct manifest *m, const cJSON *obj, const struct jpath *p,
			 struct strbuf *err)
{
	struct jpath mp = { p, "inputs", 0 };
	const cJSON *item;
	size_t i = 0;

	if (json_get_array(obj, p, "inputs", 0, "inputs", &item, err) < 0)
		return -1;
	if (!item)
		return 0;
	for (const cJSON *e = item->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };
		struct jpath tp = { &ep, "dep_type", 0 };
		struct manifest_input *in;
		const char *ref, *type;
		int t;

		if (json_check_object(e, &ep, "an object {\"ref\", \"dep_type\", \"sha256\", "
				      "\"run_id\"}", err) < 0 ||
		    get_ref(e, &ep, &ref, err) < 0)
			return -1;
		in = manifest_add_input(m, ref);
		if (json_get_string(e, &ep, "dep_type", 1, &type, err) < 0)
			return -1;
		if ((t = dep_type_parse(type)) < 0)
			return json_fail(err, &tp, "expected \"materialize\" or \"query\", got '%s'",
					 type);
		in->type = t;
		if (get_hash(e, &ep, "sha256", 0, 1, in->sha256, err) < 0 ||
		    dup_nullable(e, &ep, "run_id", &in->run_id, err) < 0)
			return -1;
	}
	return 0;
}

/* "key_files": {"PATH": "HEX", ...}, optional. */
static int decode_key_files(struct manifest *m, const cJSON *obj, const struct jpath *p,
			    struct strbuf *err)
{
	struct jpath kp = { p, "key_files", 0 };
	const cJSON *item;

	if (json_find(obj, p, "key_files", 0, &item, err) < 0)
		return -1;
	if (!item || cJSON_IsNull(item))
		return 0;
	if (json_check_object(item, &kp, "an object {\"PATH\": \"sha256\"}", err) < 0)
		return -1;
	for (const cJSON *e = item->child; e; e = e->next) {
		struct jpath ep = { &kp, e->string, 0 };
		char hex[SHA256_HEX_LEN + 1];

		if (get_hash(item, &kp, e->string, 1, 0, hex, err) < 0)
			return -1;
		if (!*e->string)
			return json_fail(err, &ep, "expected a path");
		strvec_pushf(&m->key_files, "%s %s", hex, e->string);
	}
	return 0;
}

int manifest_from_json(struct manifest *m, const cJSON *obj,
		       const struct jpath *p, struct strbuf *err)
{
	struct jpath cp = { p, "config", 0 };
	struct jpath ep = { p, "end_time", 0 };
	const cJSON *config;
	int64_t start, end;
	int ret = -1;

	manifest_init(m);
	if (json_check_object(obj, p, "a manifest object", err) < 0 ||
	    dup_required(obj, p, "run_id", &m->run_id, err) < 0 ||
	    dup_required(obj, p, "job", &m->job, err) < 0 ||
	    dup_nullable(obj, p, "version", &m->version, err) < 0 ||
	    get_hash(obj, p, "build_key", 1, 0, m->build_key, err) < 0 ||
	    json_get_int64(obj, p, "start_time", 1, &start, err) < 0 ||
	    json_get_int64(obj, p, "end_time", 1, &end, err) < 0)
		goto out;
	if (end < start) {
		json_fail(err, &ep, "end time %lld is before start time %lld",
			  (long long)end, (long long)start);
		goto out;
	}
	m->start_time_us = start;
	m->end_time_us = end;
	if (decode_outputs(m, obj, p, err) < 0 || decode_inputs(m, obj, p, err) < 0 ||
	    json_find(obj, p, "config", 1, &config, err) < 0 ||
	    job_config_from_json(&m->config, config, &cp, err) < 0 ||
	    dup_nullable(obj, p, "log", &m->log_path, err) < 0 ||
	    dup_nullable(obj, p, "host", &m->host, err) < 0 ||
	    decode_key_files(m, obj, p, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		manifest_release(m);
	return ret;
}

int manifest_parse(struct manifest *m, const char *text, size_t len, struct strbuf *err)
{
	struct jpath root = JPATH_ROOT;
	cJSON *json;
	int ret;

	manifest_init(m);
	if (!(json = json_parse(text, len, err)))
		return -1;
	ret = manifest_from_json(m, json, &root, err);
	cJSON_Delete(json);
	return ret;
}

cJSON *manifest_to_json(const struct manifest *m)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *outputs = cJSON_CreateArray();
	cJSON *inputs = cJSON_CreateArray();

	json_add_string_or_null(obj, "run_id", m->run_id);
	json_add_string_or_null(obj, "job", m->job);
	json_add_string_or_null(obj, "version", m->version);
	cJSON_AddStringToObject(obj, "build_key", m->build_key);
	json_add_int64(obj, "start_time", m->start_time_us);
	json_add_int64(obj, "end_time", m->end_time_us);
	for (size_t i = 0; i < m->outputs_nr; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "ref", m->outputs[i].ref);
		cJSON_AddStringToObject(o, "sha256", m->outputs[i].sha256);
		json_add_int64(o, "size", m->outputs[i].size);
		cJSON_AddItemToArray(outputs, o);
	}
	cJSON_AddItemToObject(obj, "outputs", outputs);
	for (size_t i = 0; i < m->inputs_nr; i++) {
		cJSON *in = cJSON_CreateObject();

		cJSON_AddStringToObject(in, "ref", m->inputs[i].ref);
		cJSON_AddStringToObject(in, "dep_type", dep_type_name(m->inputs[i].type));
		cJSON_AddStringToObject(in, "sha256", m->inputs[i].sha256);
		json_add_string_or_null(in, "run_id", m->inputs[i].run_id);
		cJSON_AddItemToArray(inputs, in);
	}
	cJSON_AddItemToObject(obj, "inputs", inputs);
	cJSON_AddItemToObject(obj, "config", job_config_to_json(&m->config));
	json_add_string_or_null(obj, "log", m->log_path);
	json_add_string_or_null(obj, "host", m->host);
	if (m->key_files.nr) {
		cJSON *files = cJSON_CreateObject();

		for (size_t i = 0; i < m->key_files.nr; i++) {
			const char *e = m->key_files.v[i];
			char hex[SHA256_HEX_LEN + 1];

			if (strlen(e) <= SHA256_HEX_LEN + 1)
				continue;
			memcpy(hex, e, SHA256_HEX_LEN);
			hex[SHA256_HEX_LEN] = '\0';
			if (!cJSON_GetObjectItemCaseSensitive(files, e + SHA256_HEX_LEN + 1))
				cJSON_AddStringToObject(files, e + SHA256_HEX_LEN + 1, hex);
		}
		cJSON_AddItemToObject(obj, "key_files", files);
	}
	return obj;
}
