#include "model/ref.h"
#include "core/json.h"

#include <stdarg.h>
#include <string.h>

#define QUOTE_MAX 200

int ref_char_len(const char *str, size_t avail)
{
	unsigned int cp;
	int n = utf8_decode(str, avail, &cp);

	if (!n || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return 0;
	return n;
}

void ref_addquoted(struct strbuf *sb, const char *s)
{
	size_t len = strlen(s), end = len > QUOTE_MAX ? QUOTE_MAX : len, i = 0;

	while (i < end) {
		int n = ref_char_len(s + i, len - i);

		if (!n) {
			strbuf_addf(sb, "\\x%02x", (unsigned char)s[i]);
			i++;
		} else {
			strbuf_add(sb, s + i, (size_t)n);
			i += (size_t)n;
		}
	}
	if (end < len)
		strbuf_addstr(sb, "...");
}

static int fail(struct strbuf *err, const char *ref, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct strbuf *err, const char *ref, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	strbuf_addstr(err, "invalid ref '");
	ref_addquoted(err, ref);
	strbuf_addstr(err, "': ");
	va_start(ap, fmt);
	strbuf_vaddf(err, fmt, ap);
	va_end(ap);
	return -1;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && !memcmp(s + len - n, suffix, n);
}

int ref_validate(const char *ref, struct strbuf *err)
{
	size_t len = strlen(ref), seg = 0, i = 0, nseg = 1;

	if (!len)
		return fail(err, ref, "empty ref");
	if (len > REF_MAX)
		return fail(err, ref, "longer than %d bytes (%zu)", REF_MAX, len);
	if (ref[0] == '/')
		return fail(err, ref, "leading '/' (empty segment at byte 0)");
	for (;;) {
		if (i == len || ref[i] == '/') {
			size_t slen = i - seg;

			if (!slen) {
				if (i == len)
					return fail(err, ref, "trailing '/' (empty segment at byte %zu)", i);
				return fail(err, ref, "empty segment at byte %zu", i);
			}
			if (slen > REF_SEGMENT_MAX)
				return fail(err, ref, "segment %zu at byte %zu is longer than %d bytes (%zu)",
					    nseg, seg, REF_SEGMENT_MAX, slen);
			if ((slen == 1 && ref[seg] == '.') ||
			    (slen == 2 && ref[seg] == '.' && ref[seg + 1] == '.'))
				return fail(err, ref, "segment '%.*s' at byte %zu is not allowed",
					    (int)slen, ref + seg, seg);
			if (seg == 0 && slen == strlen(CONTROL_DIR) &&
			    !memcmp(ref, CONTROL_DIR, slen))
				return fail(err, ref, "top-level name '%s' is reserved", CONTROL_DIR);
			if (i == len) {
				const char *sfx = NULL;

				if (ends_with(ref + seg, slen, SIDECAR_MANIFEST))
					sfx = SIDECAR_MANIFEST;
				else if (ends_with(ref + seg, slen, SIDECAR_ERROR))
					sfx = SIDECAR_ERROR;
				if (sfx)
					return fail(err, ref, "name '%s' ends in the reserved suffix '%s'",
						    ref + seg, sfx);
				return 0;
			}
			i++;
			seg = i;
			nseg++;
			continue;
		}
		{
			int n = ref_char_len(ref + i, len - i);
			unsigned char c = (unsigned char)ref[i];

			if (!n) {
				if (c < 0x20 || c == 0x7f)
					return fail(err, ref, "control character 0x%02x at byte %zu", c, i);
				if (c == 0xc2 && i + 1 < len &&
				    (unsigned char)ref[i + 1] >= 0x80 && (unsigned char)ref[i + 1] <= 0x9f)
					return fail(err, ref, "control character U+%04X at byte %zu",
						    (unsigned char)ref[i + 1], i);
				return fail(err, ref, "invalid UTF-8 at byte %zu", i);
			}
			i += (size_t)n;
		}
	}
}

int ref_validate_at(const char *ref, const struct jpath *p, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	int ret = 0;

	if (ref_validate(ref, &why) < 0)
		ret = json_fail(err, p, "%s", why.buf);
	strbuf_release(&why);
	return ret;
}

size_t ref_dataset_len(const char *ref)
{
	const char *slash = strrchr(ref, '/');
	return slash ? (size_t)(slash - ref) : 0;
}

size_t ref_depth(const char *ref)
{
	size_t n = 1;

	if (!*ref)
		return 0;
	for (; *ref; ref++)
		if (*ref == '/')
			n++;
	return n;
}

const char *ref_sidecar_suffix(const char *name, size_t *stem_len)
{
	size_t len = strlen(name);
	const char *sfx = NULL;

	if (ends_with(name, len, SIDECAR_MANIFEST))
		sfx = SIDECAR_MANIFEST;
	else if (ends_with(name, len, SIDECAR_ERROR))
		sfx = SIDECAR_ERROR;
	if (!sfx || len == strlen(sfx))
		return NULL;
	if (stem_len)
		*stem_len = len - strlen(sfx);
	return sfx;
}
