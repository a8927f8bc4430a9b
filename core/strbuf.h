#ifndef DATABUILD_STRBUF_H
#define DATABUILD_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * An owned, growable, NUL-terminated byte string.
 *
 * Invariants: buf is never NULL (it points at a shared empty string until
 * the first growth), buf[len] == '\0', len < alloc whenever alloc > 0.
 * The buffer may hold NUL bytes; len is authoritative.
 *
 * Initialise with STRBUF_INIT or strbuf_init(). strbuf_release() frees and
 * re-initialises. strbuf_detach() hands the heap string to the caller, who
 * frees it with free(). Allocation failure aborts the process: there is no
 * sensible recovery from it anywhere in databuild.
 */
struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT { .alloc = 0, .len = 0, .buf = strbuf_slopbuf }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
/* Returns the heap string (never NULL) and re-initialises sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
/* Ensures room for extra more bytes plus the NUL. */
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_setlen(struct strbuf *sb, size_t len);
#define strbuf_reset(sb) strbuf_setlen((sb), 0)

void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addbuf(struct strbuf *sb, const struct strbuf *other);
__attribute__((format(printf, 2, 3)))
void strbuf_addf(struct strbuf *sb, const char *fmt, ...);
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Appends s with JSON-style escaping of quotes, backslashes and controls. */
void strbuf_addquoted(struct strbuf *sb, const char *s);
/* Appends s as one POSIX shell word in single quotes (' as '\\''). */
void strbuf_addshquoted(struct strbuf *sb, const char *s);
/* Drops trailing whitespace. */
void strbuf_rtrim(struct strbuf *sb);

/*
 * Reads all of fd (until EOF) / the whole file at path, appending.
 * Returns 0, or -1 with errno set. max == 0 means unlimited; more than max
 * bytes fails with errno = EFBIG.
 */
int strbuf_read_fd(struct strbuf *sb, int fd, size_t max);
int strbuf_read_file(struct strbuf *sb, const char *path, size_t max);

/*
 * The last `lines` lines of data (at most `max_bytes` of it), appended to sb,
 * each prefixed with `indent` (may be NULL), joined by '\n' with no final
 * newline; trailing blank lines of data are ignored; nothing is appended if
 * data is empty. Used for "tail of stderr" in messages.
 */
void strbuf_add_tail(struct strbuf *sb, const char *data, size_t len,
		     size_t lines, size_t max_bytes, const char *indent);

/*
 * Length (1..4) of the valid UTF-8 sequence at the start of s (avail bytes
 * available), storing its code point in *cp; 0 if the bytes are not valid
 * UTF-8 (overlong forms, surrogates and code points above U+10FFFF are
 * invalid).
 */
int utf8_decode(const char *s, size_t avail, unsigned int *cp);

#endif
