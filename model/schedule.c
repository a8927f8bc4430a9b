#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "model/graph.h"
#include "model/ref.h"
#include "model/schedule.h"

/* Days: floor division, also before 1970. */
static long long day_of(long long local)
{
	return local / 86400 - (local % 86400 < 0);
}

/* 0 Sunday .. 6 Saturday (1970-01-01 was a Thursday). */
static unsigned weekday(long long day)
{
	return (unsigned)((day % 7 + 11) % 7);
}

/* The fields of a cron expression, in order. */
static const struct cron_field {
	const char *name;
	unsigned lo, hi;
} cron_fields[] = {
	{ "minute", 0, 59 },
	{ "hour", 0, 23 },
	{ "day of month", 1, 31 },
	{ "month", 1, 12 },
	{ "day of week", 0, 7 },
};

static const struct {
	const char *name, *text;
} cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static int cron_num(const char **s, unsigned *out)
{
	unsigned v = 0;

	if (**s < '0' || **s > '9')
		return -1;
	for (; **s >= '0' && **s <= '9'; (*s)++) {
		v = v * 10 + (unsigned)(**s - '0');
		if (v > 1000)
			return -1;
	}
	*out = v;
	return 0;
}

/* One item of a field's list (s..end): *, N, N-M, each with an optional /STEP. */
static int cron_item(const char *s, const char *end, const struct cron_field *f,
		     uint64_t *bits, struct strbuf *why)
{
	const char *p = s;
	unsigned lo = f->lo, hi = f->hi, step = 1;

	if (*p == '*') {
		p++;
	} else {
		if (cron_num(&p, &lo) < 0)
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			if (cron_num(&p, &hi) < 0)
				goto bad;
		} else if (*p == '/') {
			hi = f->hi;
		}
	}
	if (*p == '/') {
		p++;
		if (cron_num(&p, &step) < 0 || !step)
			goto bad;
	}
	if (p != end)
		goto bad;
	if (lo < f->lo || hi > f->hi || lo > hi) {
		strbuf_addf(why, "%s '%.*s' is outside %u-%u", f->name, (int)(end - s), s,
			    f->lo, f->hi);
		return -1;
	}
	for (unsigned v = lo; v <= hi; v += step)
		*bits |= 1ull << v;
	return 0;
bad:
	strbuf_addf(why, "%s: expected *, N, N-M or a list of them, each with an optional "
		    "/STEP, got '%.*s'", f->name, (int)(end - s), s);
	return -1;
}

/* One whitespace-free field of length n. */
static int cron_field_parse(const char *s, size_t n, const struct cron_field *f,
			    uint64_t *bits, struct strbuf *why)
{
	const char *end = s + n;

	*bits = 0;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));

		if (cron_item(s, comma ? comma : end, f, bits, why) < 0)
			return -1;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

int cron_parse(struct cron *c, const char *text, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	uint64_t bits[5];
	const char *s = text, *starts[5];
	size_t lens[5], nr = 0;
	int ret = -1;

	for (size_t i = 0; i < sizeof(cron_macros) / sizeof(cron_macros[0]); i++)
		if (!strcmp(text, cron_macros[i].name))
			s = cron_macros[i].text;
	memset(c, 0, sizeof(*c));
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (nr == 5) {
			nr++;
			break;
		}
		starts[nr] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		lens[nr] = (size_t)(s - starts[nr]);
		nr++;
	}
	if (nr != 5) {
		strbuf_addf(err, "expected 5 fields (minute hour day-of-month month day-of-week) "
			    "or @daily, @hourly, ..., got '%s'", text);
		goto out;
	}
	for (size_t i = 0; i < 5; i++)
		if (cron_field_parse(starts[i], lens[i], &cron_fields[i], &bits[i], &why) < 0) {
			strbuf_addf(err, "cron '%s': %s", text, why.buf);
			goto out;
		}
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->dow = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f);
	c->dom_any = starts[2][0] == '*';
	c->dow_any = starts[4][0] == '*';
	ret = 0;
out:
	strbuf_release(&why);
	return ret;
}

/* Whether day (days since the epoch, local) is a day of c. */
static int cron_day(const struct cron *c, long long day)
{
	long long y;
	unsigned m, d;
	int dom, dow;

	civil_from_days(day, &y, &m, &d);
	if (!(c->month & (1u << m)))
		return 0;
	dom = !!(c->dom & (1u << d));
	dow = !!(c->dow & (1u << weekday(day)));
	if (c->dom_any || c->dow_any)
		return dom && dow;
	return dom || dow;
}

int cron_matches(const struct cron *c, long long local)
{
	long long sec = local - day_of(local) * 86400;

	return cron_day(c, day_of(local)) && (c->hour & (1u << (sec / 3600))) &&
	       (c->minute & (1ull << (sec % 3600 / 60))) && sec % 60 == 0;
}

#define CRON_SEARCH_DAYS (366 * 10 + 2)

long long cron_next(const struct cron *c, const struct tzone *z, long long after)
{
	long long day = day_of(after + tzone_offset(z, after)) - 1;

	for (long long k = 0; k < CRON_SEARCH_DAYS; k++, day++) {
		if (!cron_day(c, day))
			continue;
		for (unsigned h = 0; h < 24; h++) {
			if (!(c->hour & (1u << h)))
				continue;
			for (unsigned mi = 0; mi < 60; mi++) {
				long long t;

				if (!(c->minute & (1ull << mi)))
					continue;
				t = tzone_to_utc(z, day * 86400 + h * 3600 + mi * 60);
				if (t > after)
					return t;
			}
		}
	}
	return -1;
}

/* The text of {today[+-Nd|w][:FORMAT]} between the braces, for tick t. */
static int placeholder_expand(const char *s, size_t n, long long t, const struct tzone *z,
			      struct strbuf *out, struct strbuf *err)
{
	const char *p = s + 5, *end = s + n;
	long long day = day_of(t + tzone_offset(z, t)), shift = 0, y;
	char *format = NULL;
	struct tm tm;
	unsigned m, d;
	size_t room, got = 0;
	int ret = -1;

	if (n < 5 || strncmp(s, "today", 5))
		goto bad;
	if (p < end && (*p == '+' || *p == '-')) {
		int sign = *p++ == '-' ? -1 : 1;

		if (p == end || *p < '0' || *p > '9')
			goto bad;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			shift = shift * 10 + (*p - '0');
			if (shift > 100000)
				goto bad;
		}
		if (p < end && *p == 'd')
			p++;
		else if (p < end && *p == 'w')
			p++, shift *= 7;
		else
			goto bad;
		shift *= sign;
	}
	if (p < end && *p != ':')
		goto bad;
	format = p < end ? xstrndup(p + 1, (size_t)(end - p - 1)) : xstrdup("%Y-%m-%d");
	if (!*format)
		goto bad;
	day += shift;
	civil_from_days(day, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)(y - 1900);
	tm.tm_mon = (int)m - 1;
	tm.tm_mday = (int)d;
	tm.tm_wday = (int)weekday(day);
	tm.tm_yday = (int)(day - days_from_civil(y, 1, 1));
	for (room = 64; room <= 4096 && !got; room *= 2) {
		strbuf_grow(out, room);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		got = strftime(out->buf + out->len, room, format, &tm);
#pragma GCC diagnostic pop
	}
	if (!got) {
		strbuf_addf(err, "format '%s' of '{%.*s}' prints nothing", format, (int)n, s);
		goto out;
	}
	strbuf_setlen(out, out->len + got);
	ret = 0;
	goto out;
bad:
	strbuf_addf(err, "unknown placeholder '{%.*s}': expected {today}, {today-Nd}, "
		    "{today+Nw} or {today...:FORMAT}", (int)n, s);
out:
	free(format);
	return ret;
}

int template_expand(const char *tmpl, long long t, const struct tzone *z,
		    struct strbuf *out, struct strbuf *err)
{
	for (const char *s = tmpl; *s; s++) {
		const char *close;

		if (*s == '}') {
			strbuf_addf(err, "unmatched '}' in '%s'", tmpl);
			return -1;
		}
		if (*s != '{') {
			strbuf_addch(out, *s);
			continue;
		}
		close = strchr(s, '}');
		if (!close) {
			strbuf_addf(err, "unclosed '{' in '%s'", tmpl);
			return -1;
		}
		if (placeholder_expand(s + 1, (size_t)(close - s - 1), t, z, out, err) < 0)
			return -1;
		s = close;
	}
	return 0;
}

const char *catch_up_name(enum catch_up c)
{
	return c == CATCH_UP_ALL ? "all" : "latest";
}

void schedule_release(struct schedule *s)
{
	free(s->name);
	free(s->cron_text);
	free(s->start_text);
	tzone_release(&s->tz);
	strvec_clear(&s->build);
	memset(s, 0, sizeof(*s));
	strvec_init(&s->build);
}

int schedule_refs(const struct schedule *s, long long t, struct strvec *refs,
		  struct strbuf *err)
{
	struct strbuf ref = STRBUF_INIT;
	int ret = -1;

	for (size_t i = 0; i < s->build.nr; i++) {
		strbuf_reset(&ref);
		if (template_expand(s->build.v[i], t, &s->tz, &ref, err) < 0)
			goto out;
		strvec_push(refs, ref.buf);
	}
	ret = 0;
out:
	strbuf_release(&ref);
	return ret;
}

/* "build": each template expands (for the tick t) to a valid ref. */
static int schedule_build_parse(struct schedule *s, const cJSON *item, const struct jpath *p,
				struct strbuf *err)
{
	struct jpath bp = { p, "build", 0 };
	struct strbuf ref = STRBUF_INIT, why = STRBUF_INIT;
	const cJSON *arr;
	long long t = cron_next(&s->cron, &s->tz, s->start == LLONG_MIN ? 0 : s->start - 1);
	int ret = -1;

	if (json_get_array(item, p, "build", JSON_REQUIRED | JSON_NONEMPTY, "ref templates",
			   &arr, err) < 0 ||
	    json_get_strvec(item, p, "build", 1, &s->build, err) < 0)
		goto out;
	for (size_t i = 0; i < s->build.nr; i++) {
		struct jpath ep = { &bp, NULL, i };

		strbuf_reset(&ref);
		strbuf_reset(&why);
		if (template_expand(s->build.v[i], t < 0 ? 0 : t, &s->tz, &ref, &why) < 0) {
			json_fail(err, &ep, "%s", why.buf);
			goto out;
		}
		if (ref_validate_at(ref.buf, &ep, err) < 0)
			goto out;
	}
	ret = 0;
out:
	strbuf_release(&ref);
	strbuf_release(&why);
	return ret;
}

int schedule_parse(struct schedule *s, const cJSON *item, const struct jpath *p,
		   struct strbuf *err)
{
	struct jpath np = { p, "name", 0 }, cp = { p, "cron", 0 }, zp = { p, "timezone", 0 };
	struct jpath sp = { p, "start", 0 }, kp = { p, "catch_up", 0 };
	struct strbuf why = STRBUF_INIT;
	const char *name, *cron, *tz, *start, *catch_up;
	long long local;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	strvec_init(&s->build);
	s->start = LLONG_MIN;
	if (json_check_object(item, p, "a schedule object {\"name\", \"cron\", \"build\"}",
			      err) < 0 ||
	    json_get_string(item, p, "name", 1, &name, err) < 0 ||
	    json_get_string(item, p, "cron", 1, &cron, err) < 0 ||
	    json_get_string(item, p, "timezone", 0, &tz, err) < 0 ||
	    json_get_string(item, p, "start", 0, &start, err) < 0 ||
	    json_get_string(item, p, "catch_up", 0, &catch_up, err) < 0)
		goto out;
	if (!graph_label_valid(name)) {
		json_fail(err, &np, "invalid schedule name '%s': use letters, digits, '_', '.' "
			  "and '-'", name);
		goto out;
	}
	s->name = xstrdup(name);
	if (cron_parse(&s->cron, cron, &why) < 0) {
		json_fail(err, &cp, "%s", why.buf);
		goto out;
	}
	s->cron_text = xstrdup(cron);
	if (tzone_load(&s->tz, tz ? tz : "UTC", &why) < 0) {
		json_fail(err, &zp, "%s", why.buf);
		goto out;
	}
	if (start) {
		if (utc_parse(start, &local) < 0) {
			json_fail(err, &sp, "expected a date like 2024-03-01 (or "
				  "2024-03-01T02:00:00, local to the timezone), got '%s'", start);
			goto out;
		}
		s->start_text = xstrdup(start);
		s->start = tzone_to_utc(&s->tz, local);
	}
	if (catch_up && strcmp(catch_up, "latest") && strcmp(catch_up, "all")) {
		json_fail(err, &kp, "expected \"latest\" or \"all\", got '%s'", catch_up);
		goto out;
	}
	s->catch_up = catch_up && !strcmp(catch_up, "all") ? CATCH_UP_ALL : CATCH_UP_LATEST;
	if (cron_next(&s->cron, &s->tz, 0) < 0) {
		json_fail(err, &cp, "cron '%s' never fires", cron);
		goto out;
	}
	ret = schedule_build_parse(s, item, p, err);
out:
	strbuf_release(&why);
	return ret;
}

int duration_parse(const char *text, long long *out)
{
	const char *s = text;
	long long total = 0;

	if (!*s)
		return -1;
	while (*s) {
		long long v = 0, unit;

		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (*s - '0');
			if (v > 100LL * 366 * 86400)
				return -1;
		}
		switch (*s++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -1;
		}
		total += v * unit;
		if (total > 100LL * 366 * 86400)
			return -1;
	}
	if (!total)
		return -1;
	*out = total;
	return 0;
}

void freshness_policy_release(struct freshness_policy *f)
{
	free(f->dataset);
	free(f->max_age_text);
	memset(f, 0, sizeof(*f));
}

int freshness_policy_parse(struct freshness_policy *f, const char *dataset,
			   const cJSON *item, const struct jpath *p, struct strbuf *err)
{
	struct jpath mp = { p, "max_age", 0 };
	const char *max_age;

	memset(f, 0, sizeof(*f));
	f->dataset = xstrdup(dataset);
	if (json_check_object(item, p, "a freshness policy {\"max_age\": \"26h\"}", err) < 0 ||
	    json_get_string(item, p, "max_age", 1, &max_age, err) < 0)
		return -1;
	if (duration_parse(max_age, &f->max_age_s) < 0)
		return json_fail(err, &mp, "expected a duration like 26h, 90m, 7d or 1d12h, "
				 "got '%s'", max_age);
	f->max_age_text = xstrdup(max_age);
	return 0;
}
