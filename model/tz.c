#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/clock.h"
#include "model/tz.h"

#define TZ_FILE_MAX (1u << 20)
#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"

/* One end of daylight saving time: day d (0 Sunday) of week w (5: last) of month m. */
struct tz_when {
	unsigned month, week, day;
	long time;  /* seconds after local midnight (may be negative or past 24 h) */
};

/* A POSIX TZ rule with daylight saving time (the TZif footer). */
struct tz_rule {
	int std, dst;            /* offsets east of UTC */
	struct tz_when start, end;
};

void tzone_release(struct tzone *z)
{
	free(z->name);
	free(z->at);
	free(z->offset);
	free(z->rule);
	*z = (struct tzone)TZONE_INIT;
}

static int is_utc(const char *name)
{
	return !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC") || !strcmp(name, "Z") ||
	       !strcmp(name, "Etc/UCT") || !strcmp(name, "UCT") || !strcmp(name, "Zulu");
}

/* An IANA name: segments of [A-Za-z0-9_+-], none of them "." or "..". */
static int valid_name(const char *name)
{
	const char *seg = name;

	if (!*name || *name == '/')
		return 0;
	for (const char *s = name;; s++) {
		if (*s == '/' || !*s) {
			size_t n = (size_t)(s - seg);

			if (!n || (n == 1 && seg[0] == '.') || (n == 2 && !strncmp(seg, "..", 2)))
				return 0;
			if (!*s)
				return 1;
			seg = s + 1;
		} else if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			     (*s >= '0' && *s <= '9') || *s == '_' || *s == '+' || *s == '-' ||
			     *s == '.')) {
			return 0;
		}
	}
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The counts of a TZif header at p. */
struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static void read_counts(const unsigned char *p, struct tzif_counts *c)
{
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
}

static size_t block_size(const struct tzif_counts *c, size_t tsize)
{
	return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chars +
	       (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* [+-]hh[:mm[:ss]] at *s into *out (seconds). */
static int rule_time(const char **s, long *out)
{
	long sign = 1, v = 0, part;
	const char *p = *s;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (int i = 0; i < 3; i++) {
		if (i && *p != ':')
			break;
		if (i)
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (part = 0; *p >= '0' && *p <= '9'; p++)
			part = part * 10 + (*p - '0');
		if (part > 167)
			return -1;
		v += part * (i == 0 ? 3600 : i == 1 ? 60 : 1);
	}
	*s = p;
	*out = sign * v;
	return 0;
}

static int rule_name(const char **s)
{
	const char *p = *s;

	if (*p == '<') {
		while (*p && *p != '>')
			p++;
		if (*p != '>')
			return -1;
		p++;
	} else {
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			p++;
	}
	if (p == *s)
		return -1;
	*s = p;
	return 0;
}

static long rule_num(const char **s)
{
	long v = 0;

	if (**s < '0' || **s > '9')
		return -1;
	for (; **s >= '0' && **s <= '9'; (*s)++)
		v = v * 10 + (**s - '0');
	return v;
}

/* ",Mm.w.d[/time]" at *s. */
static int rule_when(const char **s, struct tz_when *w)
{
	long m, wk, d;

	if (*(*s)++ != ',' || *(*s)++ != 'M')
		return -1;
	m = rule_num(s);
	if (m < 1 || m > 12 || *(*s)++ != '.')
		return -1;
	wk = rule_num(s);
	if (wk < 1 || wk > 5 || *(*s)++ != '.')
		return -1;
	d = rule_num(s);
	if (d < 0 || d > 6)
		return -1;
	w->month = (unsigned)m;
	w->week = (unsigned)wk;
	w->day = (unsigned)d;
	w->time = 7200;
	if (**s == '/') {
		(*s)++;
		return rule_time(s, &w->time);
	}
	return 0;
}

/* The footer "STDoff DST[off],Mm.w.d[/t],Mm.w.d[/t]"; NULL for anything else. */
static struct tz_rule *rule_parse(const char *s)
{
	struct tz_rule r;
	long off;

	if (rule_name(&s) < 0 || rule_time(&s, &off) < 0)
		return NULL;
	r.std = (int)-off;
	if (rule_name(&s) < 0)
		return NULL;
	r.dst = r.std + 3600;
	if (*s && *s != ',') {
		if (rule_time(&s, &off) < 0)
			return NULL;
		r.dst = (int)-off;
	}
	if (rule_when(&s, &r.start) < 0 || rule_when(&s, &r.end) < 0 || *s)
		return NULL;
	return memcpy(xmalloc(sizeof(r)), &r, sizeof(r));
}

/* The instant of w in year y, w's time read with offset off. */
static long long when_instant(const struct tz_when *w, long long y, int off)
{
	long long first = days_from_civil(y, w->month, 1);
	unsigned wd1 = (unsigned)((first % 7 + 11) % 7);  /* 1970-01-01 was a Thursday */
	unsigned day = 1 + (w->day + 7 - wd1) % 7 + (w->week - 1) * 7;

	if (day > days_in_month(y, w->month))
		day -= 7;
	return (first + day - 1) * 86400 + w->time - off;
}

static int rule_offset(const struct tz_rule *r, long long t)
{
	long long y;
	unsigned m, d;
	long long start, end;

	civil_from_days((t + r->std) / 86400 - ((t + r->std) % 86400 < 0), &y, &m, &d);
	start = when_instant(&r->start, y, r->std);
	end = when_instant(&r->end, y, r->dst);
	if (start < end)
		return t >= start && t < end ? r->dst : r->std;
	return t >= end && t < start ? r->std : r->dst;
}

/* Decodes the TZif data of buf (n bytes) into z. 0, or -1 (malformed). */
static int tzif_decode(struct tzone *z, const unsigned char *buf, size_t n)
{
	struct tzif_counts c;
	const unsigned char *p = buf, *types, *idx;
	size_t tsize = 4, len;

	if (n < 44 || memcmp(buf, "TZif", 4))
		return -1;
	read_counts(p, &c);
	if (buf[4] >= '2') {
		len = 44 + block_size(&c, 4);
		if (len + 44 > n || memcmp(buf + len, "TZif", 4))
			return -1;
		p = buf + len;
		read_counts(p, &c);
		tsize = 8;
	}
	if (!c.type || (size_t)(p - buf) + 44 + block_size(&c, tsize) > n)
		return -1;
	idx = p + 44 + (size_t)c.time * tsize;
	types = idx + c.time;
	z->nr = c.time;
	z->at = xcalloc(c.time + 1, sizeof(*z->at));
	z->offset = xcalloc(c.time + 1, sizeof(*z->offset));
	for (size_t i = 0; i < c.time; i++) {
		const unsigned char *at = p + 44 + i * tsize;

		if (idx[i] >= c.type)
			return -1;
		z->at[i] = tsize == 8 ? be64(at) : (int32_t)be32(at);
		z->offset[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
	}
	z->offset0 = (int32_t)be32(types);
	if (tsize == 8) {
		const unsigned char *foot = p + 44 + block_size(&c, tsize);
		const unsigned char *nl;

		if (foot < buf + n && *foot == '\n' &&
		    (nl = memchr(foot + 1, '\n', (size_t)(buf + n - foot - 1)))) {
			char *text = xstrndup((const char *)foot + 1, (size_t)(nl - foot - 1));

			z->rule = rule_parse(text);
			free(text);
		}
	}
	return 0;
}

int tzone_load(struct tzone *z, const char *name, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, data = STRBUF_INIT;
	const char *dir = getenv("TZDIR");
	int fd = -1, ret = -1;

	*z = (struct tzone)TZONE_INIT;
	z->name = xstrdup(name);
	if (is_utc(name))
		return 0;
	if (!valid_name(name)) {
		strbuf_addf(err, "invalid time zone '%s': expected an IANA name such as "
			    "'Europe/Berlin' or 'UTC'", name);
		goto out;
	}
	strbuf_addf(&path, "%s/%s", dir && *dir ? dir : TZ_DIR_DEFAULT, name);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		strbuf_addf(err, "unknown time zone '%s' (%s: %s)", name, path.buf,
			    strerror(errno));
		goto out;
	}
	if (strbuf_read_fd(&data, fd, TZ_FILE_MAX) < 0) {
		strbuf_addf(err, "time zone '%s': cannot read '%s': %s", name, path.buf,
			    strerror(errno));
		goto out;
	}
	if (tzif_decode(z, (const unsigned char *)data.buf, data.len) < 0) {
		strbuf_addf(err, "time zone '%s': '%s' is not a valid TZif file", name, path.buf);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		tzone_release(z);
	strbuf_release(&path);
	strbuf_release(&data);
	return ret;
}

int tzone_offset(const struct tzone *z, long long t)
{
	size_t lo = 0, hi = z->nr;

	if (!z->nr || t < z->at[0])
		return z->nr || !z->rule ? z->offset0 : rule_offset(z->rule, t);
	while (hi - lo > 1) {  /* the last transition at or before t: at[lo] */
		size_t mid = lo + (hi - lo) / 2;

		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (lo == z->nr - 1 && z->rule)
		return rule_offset(z->rule, t);
	return z->offset[lo];
}

long long tzone_to_utc(const struct tzone *z, long long local)
{
	int before = tzone_offset(z, local - 86400), after = tzone_offset(z, local + 86400);

	if (tzone_offset(z, local - before) == before)
		return local - before;
	if (tzone_offset(z, local - after) == after)
		return local - after;
	return local - before;  /* in a gap: as far past the jump as local is into it */
}
