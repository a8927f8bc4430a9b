#include "model/pattern.h"
#include "model/ref.h"

#include <stdarg.h>
#include <string.h>

static int fail(struct strbuf *err, const char *text, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct strbuf *err, const char *text, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	strbuf_addstr(err, "invalid pattern '");
	ref_addquoted(err, text);
	strbuf_addstr(err, "': ");
	va_start(ap, fmt);
	strbuf_vaddf(err, fmt, ap);
	va_end(ap);
	return -1;
}

static int name_char(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && !memcmp(s + len - n, suffix, n);
}

/* Checks one segment text[seg, end); pushes placeholder names. */
static int parse_segment(struct pattern *p, const char *text, size_t seg, size_t end,
			 int first, int last, struct strbuf *err)
{
	size_t i = seg, lit_start = seg;
	int has_ph = 0, prev_ph = 0;

	if (end - seg > REF_SEGMENT_MAX)
		return fail(err, text, "segment at byte %zu is longer than %d bytes (%zu)",
			    seg, REF_SEGMENT_MAX, end - seg);
	while (i < end) {
		char c = text[i];

		if (c == '{') {
			size_t j = i + 1;
			char *name;

			if (prev_ph)
				return fail(err, text, "adjacent placeholders at byte %zu", i);
			while (j < end && text[j] != '}')
				j++;
			if (j == end)
				return fail(err, text, "unterminated '{' at byte %zu", i);
			if (j == i + 1)
				return fail(err, text, "empty placeholder '{}' at byte %zu", i);
			for (size_t k = i + 1; k < j; k++)
				if (!name_char(text[k], k == i + 1))
					return fail(err, text,
						    "invalid placeholder name '%.*s' at byte %zu "
						    "(expected [A-Za-z_][A-Za-z0-9_]*)",
						    (int)(j - i - 1), text + i + 1, i);
			name = xstrndup(text + i + 1, j - i - 1);
			if (strvec_find(&p->names, name) >= 0) {
				fail(err, text, "duplicate placeholder '{%s}' at byte %zu", name, i);
				free(name);
				return -1;
			}
			strvec_push_nodup(&p->names, name);
			has_ph = prev_ph = 1;
			i = j + 1;
			lit_start = i;
			continue;
		}
		if (c == '}')
			return fail(err, text, "unmatched '}' at byte %zu", i);
		{
			int n = ref_char_len(text + i, end - i);

			if (!n) {
				unsigned char b = (unsigned char)c;
				if (b < 0x20 || b == 0x7f)
					return fail(err, text, "control character 0x%02x at byte %zu", b, i);
				return fail(err, text, "invalid UTF-8 or control character at byte %zu", i);
			}
			i += (size_t)n;
			prev_ph = 0;
		}
	}
	if (!has_ph) {
		size_t len = end - seg;

		if ((len == 1 && text[seg] == '.') ||
		    (len == 2 && text[seg] == '.' && text[seg + 1] == '.'))
			return fail(err, text, "segment '%.*s' at byte %zu is not allowed",
				    (int)len, text + seg, seg);
		if (first && len == strlen(CONTROL_DIR) && !memcmp(text + seg, CONTROL_DIR, len))
			return fail(err, text, "top-level name '%s' is reserved", CONTROL_DIR);
	}
	if (last) {
		const char *sfx = NULL;

		if (ends_with(text + lit_start, end - lit_start, SIDECAR_MANIFEST))
			sfx = SIDECAR_MANIFEST;
		else if (ends_with(text + lit_start, end - lit_start, SIDECAR_ERROR))
			sfx = SIDECAR_ERROR;
		if (sfx)
			return fail(err, text, "last segment ends in the reserved suffix '%s'", sfx);
	}
	return 0;
}

int pattern_parse(struct pattern *p, const char *text, struct strbuf *err)
{
	size_t len = strlen(text), seg = 0, i;
	const char *brace;
	int ret = -1;

	p->text = xstrdup(text);
	strvec_init(&p->names);
	p->depth = 0;
	brace = strchr(text, '{');
	p->literal_prefix = brace ? (size_t)(brace - text) : len;

	if (!len) {
		fail(err, text, "empty pattern");
		goto out;
	}
	if (len > REF_MAX) {
		fail(err, text, "longer than %d bytes (%zu)", REF_MAX, len);
		goto out;
	}
	if (text[0] == '/') {
		fail(err, text, "leading '/' (empty segment at byte 0)");
		goto out;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '/')
			continue;
		if (i == seg) {
			if (i == len)
				fail(err, text, "trailing '/' (empty segment at byte %zu)", i);
			else
				fail(err, text, "empty segment at byte %zu", i);
			goto out;
		}
		if (parse_segment(p, text, seg, i, seg == 0, i == len, err))
			goto out;
		p->depth++;
		seg = i + 1;
	}
	ret = 0;
out:
	if (ret)
		pattern_release(p);
	return ret;
}

void pattern_release(struct pattern *p)
{
	free(p->text);
	p->text = NULL;
	strvec_clear(&p->names);
	p->depth = 0;
	p->literal_prefix = 0;
}

struct matcher {
	const char *s;        /* the ref segment */
	size_t slen;
	unsigned char *dead;  /* (placeholder, offset) pairs known to fail */
	size_t *spans;        /* start, end per placeholder of this segment */
};

/* Matches pattern segment pat[0, plen) against m->s[off, slen). */
static int match_from(struct matcher *m, const char *pat, size_t plen, size_t off, size_t ph)
{
	size_t close, e;

	while (plen && *pat != '{') {
		if (off == m->slen || m->s[off] != *pat)
			return 0;
		pat++;
		plen--;
		off++;
	}
	if (!plen)
		return off == m->slen;
	if (m->dead && m->dead[ph * (m->slen + 1) + off])
		return 0;
	close = (size_t)((const char *)memchr(pat, '}', plen) - pat);
	for (e = off + 1; e <= m->slen; e++) {
		if (m->s[e - 1] == '/')
			break;
		if (match_from(m, pat + close + 1, plen - close - 1, e, ph + 1)) {
			if (m->spans) {
				m->spans[2 * ph] = off;
				m->spans[2 * ph + 1] = e;
			}
			return 1;
		}
	}
	if (m->dead)
		m->dead[ph * (m->slen + 1) + off] = 1;
	return 0;
}

static size_t count_ph(const char *pat, size_t plen)
{
	size_t n = 0;

	for (size_t i = 0; i < plen; i++)
		if (pat[i] == '{')
			n++;
	return n;
}

static int match_segment(const char *pat, size_t plen, const char *s, size_t slen,
			 struct strvec *values)
{
	struct matcher m = { s, slen, NULL, NULL };
	size_t nph = count_ph(pat, plen);
	int ok;

	if (!nph)
		return plen == slen && !memcmp(pat, s, slen);
	if (nph > 1)
		m.dead = xcalloc(nph * (slen + 1), 1);
	if (values)
		m.spans = xcalloc(2 * nph, sizeof(*m.spans));
	ok = match_from(&m, pat, plen, 0, 0);
	if (ok && values)
		for (size_t k = 0; k < nph; k++)
			strvec_push_nodup(values, xstrndup(s + m.spans[2 * k],
							   m.spans[2 * k + 1] - m.spans[2 * k]));
	free(m.dead);
	free(m.spans);
	return ok;
}

/* Matches the first `nseg` segments of p against the whole of ref. */
static int match_prefix(const struct pattern *p, const char *ref, size_t nseg,
			struct strvec *values)
{
	const char *pat = p->text, *s = ref;
	size_t pushed = values ? values->nr : 0;

	for (size_t k = 0; k < nseg; k++) {
		const char *pend = strchrnul(pat, '/'), *send = strchrnul(s, '/');

		if (!match_segment(pat, (size_t)(pend - pat), s, (size_t)(send - s), values))
			goto fail;
		if (k + 1 < nseg) {
			if (!*pend || !*send)
				goto fail;
			pat = pend + 1;
			s = send + 1;
		} else if (*send) {
			goto fail;
		}
	}
	return 1;
fail:
	if (values)
		while (values->nr > pushed) {
			free((char *)values->v[--values->nr]);
			values->v[values->nr] = NULL;
		}
	return 0;
}

int pattern_match(const struct pattern *p, const char *ref, struct strvec *values)
{
	if (!p->depth || ref_depth(ref) != p->depth)
		return 0;
	return match_prefix(p, ref, p->depth, values);
}

int pattern_match_dir(const struct pattern *p, const char *dir)
{
	size_t d = ref_depth(dir);

	if (!p->depth || d >= p->depth)
		return 0;
	if (d && !match_prefix(p, dir, d, NULL))
		return 0;
	return d + 1 == p->depth ? 1 : 2;
}

const char *pattern_literal_segment(const struct pattern *p, size_t index,
				    struct strbuf *out)
{
	const char *seg = p->text, *end;
	size_t start = out->len;

	if (index >= p->depth)
		return NULL;
	while (index--)
		seg = strchr(seg, '/') + 1;
	end = strchrnul(seg, '/');
	if (memchr(seg, '{', (size_t)(end - seg)))
		return NULL;
	strbuf_add(out, seg, (size_t)(end - seg));
	return out->buf + start;
}

void pattern_dataset_name(const char *pattern, struct strbuf *out)
{
	const char *brace = strchr(pattern, '{');
	const char *end = brace ? brace : pattern + strlen(pattern);
	size_t len = 0;

	/* the segments before the first placeholder, never the last segment */
	for (const char *s = pattern; s < end; s++)
		if (*s == '/')
			len = (size_t)(s - pattern);
	if (len)
		strbuf_add(out, pattern, len);
	else
		strbuf_addstr(out, pattern);
}

char *pattern_segments(const char *text, size_t from, size_t n)
{
	const char *start = text, *end;

	while (from--)
		start = strchr(start, '/') + 1;
	end = start;
	while (n--) {
		end = strchrnul(end, '/');
		if (n && *end)
			end++;
	}
	return xstrndup(start, (size_t)(end - start));
}
