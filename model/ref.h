#ifndef DATABUILD_REF_H
#define DATABUILD_REF_H

#include <stddef.h>
#include "core/strbuf.h"

/*
 * Partition refs: `reviews/date=2024-01-01`.
 *
 * A ref is one or more segments joined by '/': no empty, "." or ".."
 * segment, no leading or trailing '/', only printable characters (bytes
 * below 0x20, 0x7f and C1 controls are refused; UTF-8 above 0x7f is
 * allowed if valid; a backslash is an ordinary character),
 * at most REF_MAX bytes and REF_SEGMENT_MAX bytes per segment. A last
 * segment ending in a sidecar suffix and the top-level name ".databuild"
 * are reserved. Every ref that validates is a relative path that stays
 * inside whatever directory it is joined to.
 */
#define REF_MAX 1024
#define REF_SEGMENT_MAX 255

#define SIDECAR_MANIFEST ".manifest.json"
#define SIDECAR_ERROR ".error"
#define CONTROL_DIR ".databuild"

/*
 * 0 if ref is valid; otherwise -1 with a message appended to err that
 * quotes the ref (see ref_addquoted) and says what is wrong, e.g.
 *   invalid ref 'a//b': empty segment at byte 2
 * err may be NULL when only the verdict is wanted.
 */
int ref_validate(const char *ref, struct strbuf *err);

struct jpath;
/*
 * ref_validate for the JSON decoders: 0, or -1 with "<p>: <why>" appended
 * to err (p the ref's place in the document, why ref_validate's message).
 */
int ref_validate_at(const char *ref, const struct jpath *p, struct strbuf *err);

/*
 * Length (1..4) of the printable character that starts s (at most avail
 * bytes are looked at), or 0 if s starts with a control byte (below 0x20,
 * 0x7f, or a C1 control U+0080..U+009F) or invalid UTF-8 (overlong forms,
 * surrogates, above U+10FFFF, truncated sequences).
 */
int ref_char_len(const char *s, size_t avail);

/*
 * Appends s for quoting in a message: control bytes and bytes that are not
 * valid UTF-8 become \xNN, other text is copied as is. Strings longer than
 * 200 bytes are cut to their first 200 bytes followed by "...".
 */
void ref_addquoted(struct strbuf *sb, const char *s);

/* Length of the dataset part (the ref without its last segment); 0 if none. */
size_t ref_dataset_len(const char *ref);

/* Number of segments in a valid ref. */
size_t ref_depth(const char *ref);

/*
 * If name (one path segment) ends in a sidecar suffix, returns the suffix
 * (SIDECAR_MANIFEST or SIDECAR_ERROR) and stores the length of the stem in
 * *stem_len (may be NULL); otherwise, and when the stem would be empty, NULL.
 */
const char *ref_sidecar_suffix(const char *name, size_t *stem_len);

#endif
