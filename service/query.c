#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "core/json.h"
#include "model/ref.h"
#include "service/query.h"

/* Digits only, at most 18 of them (fits int64_t). 0, or -1. */
static int digits_int64(const char *s, int64_t *out)
{
	size_t n = strlen(s);

	if (!n || n > 18 || strspn(s, "0123456789") != n)
		return -1;
	*out = strtoll(s, NULL, 10);
	return 0;
}

int query_limit(const char *text, size_t *out, struct strbuf *err)
{
	int64_t v;

	if (!text) {
		*out = QUERY_LIMIT_DEFAULT;
		return 0;
	}
	if (digits_int64(text, &v) < 0 || v < 1 || v > QUERY_LIMIT_MAX) {
		strbuf_addf(err, "parameter 'limit': expected an integer from 1 to %d, got '",
			    QUERY_LIMIT_MAX);
		ref_addquoted(err, text);
		strbuf_addch(err, '\'');
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

int query_seq(const char *name, const char *text, int64_t *out, struct strbuf *err)
{
	*out = 0;
	if (!text)
		return 0;
	if (digits_int64(text, out) < 0) {
		strbuf_addf(err, "parameter '%s': expected a non-negative integer, got '", name);
		ref_addquoted(err, text);
		strbuf_addch(err, '\'');
		return -1;
	}
	return 0;
}

int query_states(const char *text, unsigned *mask, struct strbuf *err)
{
	struct strbuf name = STRBUF_INIT;
	const char *p = text;
	int ret = -1;

	*mask = 0;
	if (!text || !*text)
		return 0;
	do {
		const char *end = strchr(p, ',');
		int st;

		strbuf_reset(&name);
		strbuf_add(&name, p, end ? (size_t)(end - p) : strlen(p));
		st = part_status_parse(name.buf);
		if (st <= PART_MISSING) {
			strbuf_addstr(err, "parameter 'state': unknown state '");
			ref_addquoted(err, name.buf);
			strbuf_addstr(err, "' (expected live, building, failed, stale, tainted or "
				      "damaged)");
			goto out;
		}
		*mask |= 1u << st;
		p = end ? end + 1 : NULL;
	} while (p);
	ret = 0;
out:
	strbuf_release(&name);
	return ret;
}

int query_ref(const char *name, const char *text, struct strbuf *err)
{
	if (!text) {
		strbuf_addf(err, "parameter '%s': missing", name);
		return -1;
	}
	strbuf_addf(err, "parameter '%s': ", name);
	if (ref_validate(text, err) < 0)
		return -1;
	strbuf_reset(err);
	return 0;
}

int query_dataset(const char *text, struct strbuf *err)
{
	return query_ref("dataset", text, err);
}

int body_refs(const char *body, size_t len, struct strvec *refs, int *downstream,
	      struct strbuf *err)
{
	const struct jpath root = JPATH_ROOT;
	const struct jpath at_refs = { .parent = &root, .key = "refs", .index = 0 };
	const cJSON *arr, *ds = NULL;
	cJSON *doc = NULL;
	size_t i = 0;
	const cJSON *item;
	int ret = -1;

	if (!len) {
		strbuf_addstr(err, "request body: expected a JSON object {\"refs\": [...]}, got "
			      "nothing");
		goto out;
	}
	if (json_parse_object(body, len, "an object {\"refs\": [...]}", &doc, err) < 0)
		goto out;
	if (json_get_array(doc, &root, "refs", JSON_REQUIRED | JSON_NONEMPTY, "refs", &arr,
			   err) < 0)
		goto out;
	cJSON_ArrayForEach(item, arr) {
		const struct jpath at = { .parent = &at_refs, .key = NULL, .index = i++ };

		if (!cJSON_IsString(item)) {
			json_fail(err, &at, "expected a ref, got %s", json_type_name(item));
			goto out;
		}
		if (ref_validate_at(item->valuestring, &at, err) < 0)
			goto out;
		if (strvec_find(refs, item->valuestring) < 0)
			strvec_push(refs, item->valuestring);
	}
	if (json_find(doc, &root, "downstream", 0, &ds, err) < 0)
		goto out;
	if (ds && !downstream) {
		strbuf_addstr(err, "downstream: not accepted here");
		goto out;
	}
	if (ds && !cJSON_IsBool(ds)) {
		strbuf_addf(err, "downstream: expected true or false, got %s", json_type_name(ds));
		goto out;
	}
	if (downstream)
		*downstream = ds ? cJSON_IsTrue(ds) : 0;
	ret = 0;
out:
	cJSON_Delete(doc);
	return ret;
}

size_t dataset_len(const char *ref)
{
	const char *seg = ref;
	size_t len;

	while (*seg) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (memchr(seg, '=', n)) {
			if (seg > ref)
				return (size_t)(seg - ref) - 1;
			break;
		}
		if (!end)
			break;
		seg = end + 1;
	}
	len = ref_dataset_len(ref);
	return len ? len : strlen(ref);
}

int path_unsafe(const char *path)
{
	const char *seg = path;

	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 1;
		if (!n && end && seg != path)
			return 1;
		if (!end)
			return 0;
		seg = end + 1;
	}
}

int range_parse(const char *text, int64_t size, int64_t *from, int64_t *to)
{
	const char *spec, *dash;
	int64_t a = -1, b = -1;
	struct strbuf num = STRBUF_INIT;
	int ret = -1;

	if (strncmp(text, "bytes=", 6))
		goto out;
	spec = text + 6;
	dash = strchr(spec, '-');
	if (!dash || strchr(spec, ','))
		goto out;
	strbuf_add(&num, spec, (size_t)(dash - spec));
	if (num.len && digits_int64(num.buf, &a) < 0)
		goto out;
	if (*(dash + 1) && digits_int64(dash + 1, &b) < 0)
		goto out;
	if (a < 0 && b < 0)
		goto out;
	if (a < 0) {  /* the last b bytes */
		if (!b || !size) {
			ret = 0;
			goto out;
		}
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
	} else {
		if (a >= size) {
			ret = 0;
			goto out;
		}
		if (b >= 0 && b < a)
			goto out;
		*from = a;
		*to = b < 0 || b >= size ? size - 1 : b;
	}
	ret = 1;
out:
	strbuf_release(&num);
	return ret;
}
