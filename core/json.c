#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

#define JSON_INT_MAX 9007199254740992.0  /* 2^53 */

static int is_identifier(const char *s)
{
	if (!*s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void add_json_string(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': strbuf_addstr(out, "\\\""); break;
		case '\\': strbuf_addstr(out, "\\\\"); break;
		case '\b': strbuf_addstr(out, "\\b"); break;
		case '\f': strbuf_addstr(out, "\\f"); break;
		case '\n': strbuf_addstr(out, "\\n"); break;
		case '\r': strbuf_addstr(out, "\\r"); break;
		case '\t': strbuf_addstr(out, "\\t"); break;
		default:
			if (c < 0x20)
				strbuf_addf(out, "\\u%04x", c);
			else
				strbuf_addch(out, c);
		}
	}
	strbuf_addch(out, '"');
}

static void format_path(const struct jpath *p, struct strbuf *out)
{
	if (!p || (!p->parent && !p->key))
		return;  /* the root */
	format_path(p->parent, out);
	if (!p->key) {
		strbuf_addf(out, "[%zu]", p->index);
	} else if (is_identifier(p->key)) {
		if (out->len)
			strbuf_addch(out, '.');
		strbuf_addstr(out, p->key);
	} else {
		strbuf_addch(out, '[');
		add_json_string(out, p->key);
		strbuf_addch(out, ']');
	}
}

void jpath_format(const struct jpath *p, struct strbuf *out)
{
	struct strbuf tmp = STRBUF_INIT;

	format_path(p, &tmp);
	strbuf_addstr(out, tmp.len ? tmp.buf : "(root)");
	strbuf_release(&tmp);
}

int json_fail(struct strbuf *err, const struct jpath *p, const char *fmt, ...)
{
	va_list ap;

	jpath_format(p, err);
	strbuf_addstr(err, ": ");
	va_start(ap, fmt);
	strbuf_vaddf(err, fmt, ap);
	va_end(ap);
	return -1;
}

static void add_position(struct strbuf *err, const char *text, const char *at)
{
	size_t line = 1, col = 1;

	for (const char *s = text; s < at; s++) {
		if (*s == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)*s & 0xc0) != 0x80) {
			col++;
		}
	}
	strbuf_addf(err, "line %zu, column %zu: ", line, col);
}

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * A strict RFC 8259 scanner run before cJSON: it rejects what cJSON would
 * let through (invalid escapes, raw control characters in strings) and
 * says precisely where and why a text is not JSON, which cJSON does not.
 */
struct scan {
	const char *s, *end;
	const char *at;
	struct strbuf why;
	int depth;
};

static void describe_char(struct strbuf *sb, const struct scan *sc, const char *p)
{
	if (p >= sc->end)
		strbuf_addstr(sb, "end of input");
	else if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
		strbuf_addf(sb, "'%c'", *p);
	else
		strbuf_addf(sb, "byte 0x%02x", (unsigned char)*p);
}

static int scan_fail(struct scan *sc, const char *at, const char *expected)
{
	sc->at = at;
	if (at >= sc->end) {
		strbuf_addstr(&sc->why, "unexpected end of input");
		if (expected)
			strbuf_addf(&sc->why, " (expected %s)", expected);
		return -1;
	}
	if (expected) {
		strbuf_addf(&sc->why, "expected %s, got ", expected);
		describe_char(&sc->why, sc, at);
	} else {
		strbuf_addstr(&sc->why, "unexpected ");
		describe_char(&sc->why, sc, at);
	}
	return -1;
}

static void scan_ws(struct scan *sc)
{
	while (sc->s < sc->end && is_json_space(*sc->s))
		sc->s++;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length (2..4) of the valid UTF-8 sequence at s (a byte >= 0x80), or 0. */
static int utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned int cp;

	return utf8_decode((const char *)s, avail, &cp);
}

static int scan_string(struct scan *sc)
{
	const char *start = sc->s++;

	while (sc->s < sc->end) {
		unsigned char c = (unsigned char)*sc->s;

		if (c == '"') {
			sc->s++;
			return 0;
		}
		if (c < 0x20) {
			sc->at = sc->s;
			strbuf_addf(&sc->why, "control character 0x%02x in a string (escape it)", c);
			return -1;
		}
		if (c >= 0x80) {
			int n = utf8_seq_len((const unsigned char *)sc->s, (size_t)(sc->end - sc->s));

			if (!n) {
				sc->at = sc->s;
				strbuf_addf(&sc->why, "invalid UTF-8 (byte 0x%02x) in a string", c);
				return -1;
			}
			sc->s += n;
			continue;
		}
		if (c != '\\') {
			sc->s++;
			continue;
		}
		if (sc->s + 1 >= sc->end)
			break;
		if (sc->s[1] == 'u') {
			for (int i = 2; i < 6; i++)
				if (sc->s + i >= sc->end || !is_hex(sc->s[i]))
					return scan_fail(sc, sc->s + i, "4 hex digits after \\u");
			if (!memcmp(sc->s + 2, "0000", 4)) {
				sc->at = sc->s;
				strbuf_addstr(&sc->why, "\\u0000 in a string is not supported");
				return -1;
			}
			sc->s += 6;
		} else if (strchr("\"\\/bfnrt", sc->s[1]) && sc->s[1]) {
			sc->s += 2;
		} else {
			sc->at = sc->s;
			strbuf_addstr(&sc->why, "invalid escape in a string");
			return -1;
		}
	}
	sc->at = start;
	strbuf_addstr(&sc->why, "unterminated string");
	return -1;
}

static int scan_digits(struct scan *sc)
{
	const char *start = sc->s;

	while (sc->s < sc->end && *sc->s >= '0' && *sc->s <= '9')
		sc->s++;
	return sc->s > start ? 0 : scan_fail(sc, sc->s, "a digit");
}

static int scan_number(struct scan *sc)
{
	if (*sc->s == '-')
		sc->s++;
	if (sc->s < sc->end && *sc->s == '0') {
		sc->s++;
		if (sc->s < sc->end && *sc->s >= '0' && *sc->s <= '9')
			return scan_fail(sc, sc->s - 1, "a number without leading zeros");
	} else if (scan_digits(sc) < 0) {
		return -1;
	}
	if (sc->s < sc->end && *sc->s == '.') {
		sc->s++;
		if (scan_digits(sc) < 0)
			return -1;
	}
	if (sc->s < sc->end && (*sc->s == 'e' || *sc->s == 'E')) {
		sc->s++;
		if (sc->s < sc->end && (*sc->s == '+' || *sc->s == '-'))
			sc->s++;
		if (scan_digits(sc) < 0)
			return -1;
	}
	return 0;
}

static int scan_value(struct scan *sc);

static int scan_container(struct scan *sc, char close)
{
	const char *open = sc->s++;

	if (++sc->depth > CJSON_NESTING_LIMIT) {
		sc->at = open;
		strbuf_addf(&sc->why, "nested deeper than %d levels", CJSON_NESTING_LIMIT);
		return -1;
	}
	scan_ws(sc);
	if (sc->s < sc->end && *sc->s == close) {
		sc->s++;
		sc->depth--;
		return 0;
	}
	for (;;) {
		scan_ws(sc);
		if (close == '}') {
			if (sc->s >= sc->end || *sc->s != '"')
				return scan_fail(sc, sc->s, "a member name in double quotes");
			if (scan_string(sc) < 0)
				return -1;
			scan_ws(sc);
			if (sc->s >= sc->end || *sc->s != ':')
				return scan_fail(sc, sc->s, "':' after the member name");
			sc->s++;
		}
		if (scan_value(sc) < 0)
			return -1;
		scan_ws(sc);
		if (sc->s < sc->end && *sc->s == ',') {
			sc->s++;
			scan_ws(sc);
			if (sc->s < sc->end && *sc->s == close)
				return scan_fail(sc, sc->s, close == '}' ? "a member after ','" :
						 "a value after ','");
			continue;
		}
		if (sc->s < sc->end && *sc->s == close) {
			sc->s++;
			sc->depth--;
			return 0;
		}
		return scan_fail(sc, sc->s, close == '}' ? "',' or '}'" : "',' or ']'");
	}
}

static int scan_value(struct scan *sc)
{
	static const char *const literals[] = { "true", "false", "null" };

	scan_ws(sc);
	if (sc->s >= sc->end)
		return scan_fail(sc, sc->s, "a value");
	switch (*sc->s) {
	case '{': return scan_container(sc, '}');
	case '[': return scan_container(sc, ']');
	case '"': return scan_string(sc);
	}
	if (*sc->s == '-' || (*sc->s >= '0' && *sc->s <= '9'))
		return scan_number(sc);
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(literals[i]);

		if (literals[i][0] != *sc->s)
			continue;
		if ((size_t)(sc->end - sc->s) >= n && !memcmp(sc->s, literals[i], n)) {
			sc->s += n;
			return 0;
		}
		sc->at = sc->s;
		strbuf_addf(&sc->why, "invalid literal (expected '%s')", literals[i]);
		return -1;
	}
	return scan_fail(sc, sc->s, "a value");
}

cJSON *json_parse(const char *text, size_t len, struct strbuf *err)
{
	struct scan sc = { text, text + len, NULL, STRBUF_INIT, 0 };
	const char *end = NULL;
	cJSON *root = NULL;

	scan_ws(&sc);
	if (sc.s == sc.end) {
		add_position(err, text, sc.s);
		strbuf_addstr(err, "expected a JSON value, got end of input");
		goto out;
	}
	if (scan_value(&sc) < 0) {
		add_position(err, text, sc.at);
		strbuf_addbuf(err, &sc.why);
		goto out;
	}
	scan_ws(&sc);
	if (sc.s < sc.end) {
		add_position(err, text, sc.s);
		strbuf_addstr(err, "unexpected text after the JSON value");
		goto out;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		/* valid JSON that cJSON still refused */
		if (!end || end < text || end > sc.end)
			end = sc.end;
		add_position(err, text, end);
		strbuf_addstr(err, "cannot parse the JSON value here");
	}
out:
	strbuf_release(&sc.why);
	return root;
}

static const char *type_name(const cJSON *item)
{
	if (!item)
		return "nothing";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNumber(item) || cJSON_IsRaw(item))
		return "a number";
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsObject(item))
		return "an object";
	return "an invalid value";
}

const char *json_type_name(const cJSON *item)
{
	return type_name(item);
}

int json_check_object(const cJSON *item, const struct jpath *p, const char *what,
		      struct strbuf *err)
{
	if (cJSON_IsObject(item))
		return 0;
	return json_fail(err, p, "expected %s, got %s", what, type_name(item));
}

int json_parse_object(const char *text, size_t len, const char *what, cJSON **root,
		      struct strbuf *err)
{
	struct jpath rp = JPATH_ROOT;

	*root = json_parse(text, len, err);
	if (!*root)
		return -1;
	if (json_check_object(*root, &rp, what, err) < 0) {
		cJSON_Delete(*root);
		*root = NULL;
		return -1;
	}
	return 0;
}

int json_find(const cJSON *obj, const struct jpath *p, const char *key, int required,
	      const cJSON **out, struct strbuf *err)
{
	const cJSON *item = NULL;
	struct jpath child = { p, key, 0 };

	*out = NULL;
	if (json_check_object(obj, p, "an object", err) < 0)
		return -1;
	for (const cJSON *it = obj->child; it; it = it->next) {
		if (!it->string || strcmp(it->string, key))
			continue;
		if (item)
			return json_fail(err, &child, "duplicate member");
		item = it;
	}
	if (!item && required)
		return json_fail(err, &child, "required member is missing");
	*out = item;
	return 0;
}

/* A string member; with nullable, null counts as absent. */
static int get_string(const cJSON *obj, const struct jpath *p, const char *key, int required,
		      int nullable, const char **out, struct strbuf *err)
{
	struct jpath child = { p, key, 0 };
	const cJSON *item;

	*out = NULL;
	if (json_find(obj, p, key, required, &item, err) < 0)
		return -1;
	if (!item || (nullable && cJSON_IsNull(item)))
		return 0;
	if (!cJSON_IsString(item) || !item->valuestring)
		return json_fail(err, &child, "expected a string%s, got %s",
				 nullable ? " or null" : "", type_name(item));
	*out = item->valuestring;
	return 0;
}

int json_get_string(const cJSON *obj, const struct jpath *p, const char *key,
		    int required, const char **out, struct strbuf *err)
{
	return get_string(obj, p, key, required, 0, out, err);
}

int json_get_nullable_string(const cJSON *obj, const struct jpath *p, const char *key,
			     const char **out, struct strbuf *err)
{
	return get_string(obj, p, key, 0, 1, out, err);
}

int json_get_array(const cJSON *obj, const struct jpath *p, const char *key,
		   unsigned flags, const char *what, const cJSON **out, struct strbuf *err)
{
	struct jpath child = { p, key, 0 };
	const cJSON *item;

	if (json_find(obj, p, key, flags & JSON_REQUIRED, &item, err) < 0)
		return -1;
	*out = NULL;
	if (!item)
		return 0;
	if ((flags & JSON_NONEMPTY) && (!cJSON_IsArray(item) || !item->child))
		return json_fail(err, &child, "expected a non-empty array of %s, got %s", what,
				 cJSON_IsArray(item) ? "an empty array" : type_name(item));
	if (!cJSON_IsArray(item))
		return json_fail(err, &child, "expected an array of %s, got %s", what,
				 type_name(item));
	*out = item;
	return 0;
}

int json_get_strvec(const cJSON *obj, const struct jpath *p, const char *key,
		    int required, struct strvec *out, struct strbuf *err)
{
	struct jpath child = { p, key, 0 };
	const cJSON *item;
	size_t i = 0;

	if (json_get_array(obj, p, key, required ? JSON_REQUIRED : 0, "strings", &item,
			   err) < 0)
		return -1;
	if (!item)
		return 0;
	for (const cJSON *e = item->child; e; e = e->next, i++) {
		struct jpath elem = { &child, NULL, i };

		if (!cJSON_IsString(e) || !e->valuestring)
			return json_fail(err, &elem, "expected a string, got %s", type_name(e));
		strvec_push(out, e->valuestring);
	}
	return 0;
}

int json_item_int64(const cJSON *item, const struct jpath *p, int64_t *out,
		    struct strbuf *err)
{
	double d;

	if (!cJSON_IsNumber(item))
		return json_fail(err, p, "expected an integer, got %s", type_name(item));
	d = item->valuedouble;
	if (!isfinite(d) || d != floor(d) || d > JSON_INT_MAX || d < -JSON_INT_MAX)
		return json_fail(err, p, "expected an integer, got %g", d);
	*out = (int64_t)d;
	return 0;
}

int json_get_int64(const cJSON *obj, const struct jpath *p, const char *key,
		   int required, int64_t *out, struct strbuf *err)
{
	struct jpath child = { p, key, 0 };
	const cJSON *item;

	if (json_find(obj, p, key, required, &item, err) < 0)
		return -1;
	if (!item)
		return 0;
	return json_item_int64(item, &child, out, err);
}

void json_add_int64(cJSON *obj, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	cJSON_AddItemToObject(obj, key, cJSON_CreateRaw(buf));
}

void json_add_string_or_null(cJSON *obj, const char *key, const char *s)
{
	cJSON_AddItemToObject(obj, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

cJSON *json_strvec(const struct strvec *sv)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < sv->nr; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}

static void print_scalar(const cJSON *item, struct strbuf *out)
{
	char *s;

	if (cJSON_IsString(item)) {
		add_json_string(out, item->valuestring ? item->valuestring : "");
		return;
	}
	if (cJSON_IsRaw(item)) {
		strbuf_addstr(out, item->valuestring ? item->valuestring : "null");
		return;
	}
	s = cJSON_PrintUnformatted(item);
	strbuf_addstr(out, s ? s : "null");
	cJSON_free(s);
}

static void print_value(const cJSON *item, struct strbuf *out, int pretty, size_t depth)
{
	int is_obj = cJSON_IsObject(item);
	size_t n = 0;

	if (!is_obj && !cJSON_IsArray(item)) {
		print_scalar(item, out);
		return;
	}
	strbuf_addch(out, is_obj ? '{' : '[');
	for (const cJSON *e = item->child; e; e = e->next, n++) {
		if (n)
			strbuf_addch(out, ',');
		if (pretty) {
			strbuf_addch(out, '\n');
			for (size_t i = 0; i <= depth; i++)
				strbuf_addstr(out, "  ");
		}
		if (is_obj) {
			add_json_string(out, e->string ? e->string : "");
			strbuf_addstr(out, pretty ? ": " : ":");
		}
		print_value(e, out, pretty, depth + 1);
	}
	if (pretty && n) {
		strbuf_addch(out, '\n');
		for (size_t i = 0; i < depth; i++)
			strbuf_addstr(out, "  ");
	}
	strbuf_addch(out, is_obj ? '}' : ']');
}

void json_print(const cJSON *item, struct strbuf *out)
{
	print_value(item, out, 0, 0);
}

void json_print_pretty(const cJSON *item, struct strbuf *out)
{
	print_value(item, out, 1, 0);
}
