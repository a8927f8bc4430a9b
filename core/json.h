#ifndef DATABUILD_JSON_H
#define DATABUILD_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include "core/array.h"
#include "core/strbuf.h"

/*
 * Helpers for strict decoders built on cJSON. A decoder walks a cJSON
 * tree and, on the first fault, appends "<json path>: <what is wrong>"
 * to err and returns -1. Paths look like `[2].inputs[0].dep_type`.
 * Unknown object members are ignored.
 *
 * struct jpath is a stack of path components living in the decoder's
 * frames; it allocates nothing.
 */
struct jpath {
	const struct jpath *parent;
	const char *key;  /* member name, or NULL for an array index */
	size_t index;
};

#define JPATH_ROOT { .parent = NULL, .key = NULL, .index = 0 }

/* Appends the textual path ("[2].inputs[0].dep_type"; "(root)" if empty). */
void jpath_format(const struct jpath *p, struct strbuf *out);

/* Appends "<path>: <fmt...>" to err and returns -1. */
__attribute__((format(printf, 3, 4)))
int json_fail(struct strbuf *err, const struct jpath *p, const char *fmt, ...);

/*
 * Parses text (len bytes, need not be NUL-terminated) as one strict RFC 8259
 * JSON value (nothing but whitespace may follow; raw control characters,
 * invalid escapes, \u0000 and invalid UTF-8 in strings are refused). On a syntax error
 * appends "line L, column C: <reason>" to err and returns NULL, e.g.
 * "line 3, column 7: expected ':' after the member name, got '2'".
 * Columns count characters (UTF-8 sequences), from 1.
 * The result is freed with cJSON_Delete().
 */
cJSON *json_parse(const char *text, size_t len, struct strbuf *err);

/* "a string", "an array", "null", ... for messages. */
const char *json_type_name(const cJSON *item);

/*
 * The check every decoder starts with: 0 if item is an object, else
 * "<p>: expected <what>, got <type>" appended to err and -1. what names
 * the object for the reader: "a manifest object",
 * "an object {\"from\", \"to\"}".
 */
int json_check_object(const cJSON *item, const struct jpath *p, const char *what,
		      struct strbuf *err);
/*
 * A JSON document whose root must be an object: json_parse, then
 * json_check_object at "(root)". 0 with *root set (the caller frees it
 * with cJSON_Delete), or -1 with *root NULL and the syntax error or
 * "(root): expected <what>, got <type>" appended to err.
 */
int json_parse_object(const char *text, size_t len, const char *what, cJSON **root,
		      struct strbuf *err);

/*
 * Finds member `key` of obj (which must be an object: else an error at p).
 * A member present twice is an error; a missing one is an error only if
 * required (*out NULL otherwise).
 */
int json_find(const cJSON *obj, const struct jpath *p, const char *key, int required,
	      const cJSON **out, struct strbuf *err);

/* Flags of json_get_array. */
enum json_flags {
	JSON_REQUIRED = 1 << 0,  /* a missing member is an error */
	JSON_NONEMPTY = 1 << 1,  /* an empty array is an error */
};

/*
 * Member `key` of obj as an array (*out NULL when absent and not
 * JSON_REQUIRED). Anything else fails with "expected an array of <what>,
 * got <type>"; with JSON_NONEMPTY, "expected a non-empty array of <what>,
 * got <type>" ("an empty array" for []). The elements are not checked.
 */
int json_get_array(const cJSON *obj, const struct jpath *p, const char *key,
		   unsigned flags, const char *what, const cJSON **out, struct strbuf *err);

/* Typed getters: member `key` of object obj at path p. */
/* required string (non-NULL *out points into the cJSON tree) */
int json_get_string(const cJSON *obj, const struct jpath *p, const char *key,
		    int required, const char **out, struct strbuf *err);
/* array of strings, appended (copied) to out */
int json_get_strvec(const cJSON *obj, const struct jpath *p, const char *key,
		    int required, struct strvec *out, struct strbuf *err);
int json_get_int64(const cJSON *obj, const struct jpath *p, const char *key,
		   int required, int64_t *out, struct strbuf *err);

/*
 * Integers: a JSON number that is integral and within +-2^53 (exactly
 * representable in the double cJSON keeps), else "expected an integer".
 * json_item_int64 checks an item already found (at path p).
 */
int json_item_int64(const cJSON *item, const struct jpath *p, int64_t *out,
		    struct strbuf *err);
/* Optional string member that may also be null: *out NULL when absent/null. */
int json_get_nullable_string(const cJSON *obj, const struct jpath *p, const char *key,
			     const char **out, struct strbuf *err);

/* Adds an exact integer member (printed with %lld, not through a double). */
void json_add_int64(cJSON *obj, const char *key, int64_t v);
/* Adds a string member, or null when s is NULL. */
void json_add_string_or_null(cJSON *obj, const char *key, const char *s);
/* An array of the strings of sv. */
cJSON *json_strvec(const struct strvec *sv);

/* cJSON_Print without formatting, appended to out. */
void json_print(const cJSON *item, struct strbuf *out);
/*
 * Pretty-printed with two-space indentation (empty arrays and objects stay
 * on one line); no trailing newline.
 */
void json_print_pretty(const cJSON *item, struct strbuf *out);

#endif
