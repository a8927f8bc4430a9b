#ifndef DATABUILD_PATTERN_H
#define DATABUILD_PATTERN_H

#include "core/array.h"
#include "core/strbuf.h"

/*
 * Output patterns: `summaries/category={category}/date={date}`.
 *
 * A pattern has the shape of a ref in which segments may contain `{name}`
 * placeholders. A placeholder matches one or more characters of a single
 * segment (never '/'). Names are [A-Za-z_][A-Za-z0-9_]*, unique within a
 * pattern; two placeholders may not be adjacent (`{a}{b}` is ambiguous).
 * Literal text must itself be valid ref text.
 */
struct pattern {
	char *text;              /* owned copy of the source text */
	struct strvec names;     /* placeholder names in order of appearance */
	size_t depth;            /* number of segments */
	size_t literal_prefix;   /* bytes of text before the first '{' (all if none) */
};

/*
 * 0, or -1 with "invalid pattern 'p': ..." appended to err (err may be
 * NULL); on failure p is left released (pattern_release is still safe).
 */
int pattern_parse(struct pattern *p, const char *text, struct strbuf *err);
void pattern_release(struct pattern *p);

/*
 * 1 if ref matches p, else 0. On a match and when values is non-NULL, the
 * text each placeholder matched is pushed onto values (in the order of
 * p->names). Matching is exact and anchored at both ends. When a segment
 * can be split in several ways (`{a}-{b}` against `x-y-z`), earlier
 * placeholders take the shortest text that lets the rest match (a=x,
 * b=y-z). values is left unchanged when there is no match. ref itself is
 * not validated here (callers run ref_validate first).
 */
int pattern_match(const struct pattern *p, const char *ref, struct strvec *values);

/*
 * Whether some ref matching p could lie below the directory `dir` (a valid
 * ref prefix such as "summaries/category=comedy"), i.e. whether dir's
 * segments match p's leading segments. dir == "" is the root.
 * Returns 1 if the matching refs' next segment under dir is itself a
 * partition (dir has depth p->depth - 1), 2 if it is a further directory,
 * 0 if p cannot produce anything under dir.
 */
int pattern_match_dir(const struct pattern *p, const char *dir);

/*
 * The text of segments [from, from + n) of a pattern's (or a ref's) text,
 * allocated (the caller frees it); text must have from + n segments.
 */
char *pattern_segments(const char *text, size_t from, size_t n);

/*
 * The dataset of an output pattern (as `databuild status` and the API name
 * it): its segments before the first placeholder, never its last segment
 * ("raw" for raw/station={station}/date={date}); the pattern itself when
 * that is empty ({y}/same). Appended to out.
 */
void pattern_dataset_name(const char *pattern, struct strbuf *out);

/*
 * If segment `index` (0-based) of p has no placeholder, appends its text to
 * out and returns a pointer to the appended text (valid until out changes);
 * else (or if index >= p->depth) returns NULL and leaves out alone. Used
 * to list directories that no partition has populated yet.
 */
const char *pattern_literal_segment(const struct pattern *p, size_t index,
				    struct strbuf *out);

#endif
