#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "model/domain.h"
#include "model/ref.h"
#include "core/clock.h"
#include "core/proc.h"

#define DATES_FORMAT "%Y-%m-%d"
#define HOURS_FORMAT "%Y-%m-%dT%H"
#define DESCRIBE_VALUES_MAX 5

static long long floor_div(long long a, long long b)
{
	long long q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

const char *domain_kind_name(enum domain_kind kind)
{
	switch (kind) {
	case DOMAIN_DATES: return "dates";
	case DOMAIN_HOURS: return "hours";
	case DOMAIN_INTS: return "ints";
	case DOMAIN_VALUES: return "values";
	case DOMAIN_COMMAND: return "command";
	}
	return "?";
}

static const char *value_noun(enum domain_kind kind)
{
	switch (kind) {
	case DOMAIN_DATES: return "date";
	case DOMAIN_HOURS: return "hour";
	case DOMAIN_INTS: return "int";
	default: return "value";
	}
}

static int arithmetic(const struct domain *d)
{
	return d->kind == DOMAIN_DATES || d->kind == DOMAIN_HOURS || d->kind == DOMAIN_INTS;
}

int domain_value_valid(const char *s, struct strbuf *why)
{
	size_t len = strlen(s);
	const char *reason = NULL;

	if (!len)
		reason = "is empty";
	else if (len > REF_SEGMENT_MAX)
		reason = "is longer than 255 bytes";
	else if (strchr(s, '/'))
		reason = "contains '/'";
	else if (!strcmp(s, ".") || !strcmp(s, ".."))
		reason = "is not a usable segment";
	for (size_t i = 0; !reason && i < len;) {
		int n = ref_char_len(s + i, len - i);

		if (!n)
			reason = "contains a control character or invalid UTF-8";
		i += (size_t)(n ? n : 1);
	}
	if (!reason)
		return 1;
	if (why)
		strbuf_addstr(why, reason);
	return 0;
}

/* ---- calendar units: days (dates) or hours (hours) since the epoch ---- */

static void unit_tm(const struct domain *d, long long u, struct tm *tm)
{
	long long days = d->kind == DOMAIN_HOURS ? floor_div(u, 24) : u;
	long long y;
	unsigned m, md;

	civil_from_days(days, &y, &m, &md);
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)(y - 1900);
	tm->tm_mon = (int)m - 1;
	tm->tm_mday = (int)md;
	tm->tm_hour = d->kind == DOMAIN_HOURS ? (int)(u - days * 24) : 0;
	tm->tm_wday = (int)(((days % 7) + 11) % 7);  /* 1970-01-01 was a Thursday */
	tm->tm_yday = (int)(days - days_from_civil(y, 1, 1));
}

/* Appends unit u formatted with d->format. */
static void unit_format(const struct domain *d, long long u, struct strbuf *out)
{
	struct tm tm;
	size_t room = 64;

	unit_tm(d, u, &tm);
	for (;;) {
		size_t n;

		strbuf_grow(out, room);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		n = strftime(out->buf + out->len, room, d->format, &tm);
#pragma GCC diagnostic pop
		if (n) {
			strbuf_setlen(out, out->len + n);
			return;
		}
		if (room > 4096)
			return;  /* the format yields nothing: domain_parse refuses it */
		room *= 4;
	}
}

/* text read with d->format: 0 and *u, or -1 (also when not canonical). */
static int unit_parse_format(const struct domain *d, const char *text, long long *u)
{
	struct strbuf back = STRBUF_INIT;
	struct tm tm;
	const char *end;
	long long days;
	int ret = -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = 1;
	end = strptime(text, d->format, &tm);
	if (!end || *end || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23)
		goto out;
	days = days_from_civil((long long)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
			       (unsigned)tm.tm_mday);
	*u = d->kind == DOMAIN_HOURS ? days * 24 + tm.tm_hour : days;
	unit_format(d, *u, &back);
	if (strcmp(back.buf, text))
		goto out;
	ret = 0;
out:
	strbuf_release(&back);
	return ret;
}

/* Absolute bound text in ISO form: 2024-01-01, 2024-01-01T00, 2024-01-01T00:00:00Z. */
static int unit_parse_iso(const struct domain *d, const char *text, long long *u)
{
	long long t;
	size_t len = strlen(text);

	if (d->kind == DOMAIN_DATES) {
		if (len != 10 || utc_parse(text, &t) < 0)
			return -1;
		*u = t / 86400;
		return 0;
	}
	if (len == 13 && text[10] == 'T') {
		char *full = xstrfmt("%s:00:00Z", text);
		int r = utc_parse(full, &t);

		free(full);
		if (r < 0)
			return -1;
	} else if (len < 19 || utc_parse(text, &t) < 0) {
		return -1;
	}
	if (floor_div(t, 3600) * 3600 != t)
		return -1;
	*u = floor_div(t, 3600);
	return 0;
}

/* ---- month steps ---- */

static long long month_of(long long days)
{
	long long y;
	unsigned m, md;

	civil_from_days(days, &y, &m, &md);
	return y * 12 + (long long)m - 1;
}

static long long month_value(const struct domain *d, uint64_t i)
{
	long long y0;
	unsigned m0, anchor, dim;
	long long mi, y;
	unsigned m;

	civil_from_days(d->start, &y0, &m0, &anchor);
	mi = y0 * 12 + (long long)m0 - 1 + (long long)i * d->step;
	y = floor_div(mi, 12);
	m = (unsigned)(mi - y * 12) + 1;
	dim = days_in_month(y, m);
	return days_from_civil(y, m, anchor < dim ? anchor : dim);
}

/* The unit (day, hour, integer) at position i of an arithmetic domain. */
static long long unit_at(const struct domain *d, uint64_t i)
{
	if (d->months)
		return month_value(d, i);
	return d->start + (long long)i * d->step;
}

/* What unit_pos returns for a unit that has no position. */
enum { POS_OUTSIDE = -1, POS_OFF_STEP = -2 };

/* Position of unit u (>= 0), POS_OUTSIDE or POS_OFF_STEP. */
static int64_t unit_pos(const struct domain *d, long long u)
{
	long long i;

	if (!d->nr || u < d->start)
		return POS_OUTSIDE;
	if (d->months) {
		long long m = month_of(u) - month_of(d->start);

		if (m % d->step)
			return POS_OFF_STEP;
		i = m / d->step;
		if ((uint64_t)i >= d->nr)
			return unit_at(d, d->nr - 1) < u ? POS_OUTSIDE : POS_OFF_STEP;
		return month_value(d, (uint64_t)i) == u ? i : POS_OFF_STEP;
	}
	if ((u - d->start) % d->step)
		return u > unit_at(d, d->nr - 1) ? POS_OUTSIDE : POS_OFF_STEP;
	i = (u - d->start) / d->step;
	return (uint64_t)i < d->nr ? i : POS_OUTSIDE;
}

/* Canonical decimal integer (no '+', no leading zeros, no "-0"). */
static int int_parse(const char *text, long long *out)
{
	const char *s = text;
	long long v = 0;
	int neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9' || (*s == '0' && (s[1] || neg)))
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (LLONG_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (*s)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* The unit of a value of an arithmetic domain: 0, or -1 if it is not one. */
static int value_unit(const struct domain *d, const char *value, long long *u)
{
	if (d->kind == DOMAIN_INTS)
		return int_parse(value, u);
	return unit_parse_format(d, value, u);
}

static void unit_value(const struct domain *d, long long u, struct strbuf *out)
{
	if (d->kind == DOMAIN_INTS)
		strbuf_addf(out, "%lld", u);
	else
		unit_format(d, u, out);
}

/* ---- resolving bounds ---- */

static long long bound_unit(const struct domain *d, const struct domain_bound *b, long long now)
{
	long long t = b->relative == BOUND_TODAY ? floor_div(now, 86400) * 86400 : now;

	t += b->offset_s;
	return d->kind == DOMAIN_DATES ? floor_div(t, 86400) : floor_div(t, 3600);
}

static void count_values(struct domain *d)
{
	long long n;

	d->nr = 0;
	if (d->end < d->start)
		return;
	if (!d->months) {
		d->nr = (uint64_t)((d->end - d->start) / d->step) + 1;
		return;
	}
	n = floor_div(month_of(d->end) - month_of(d->start), d->step);
	if (n >= 0 && month_value(d, (uint64_t)n) > d->end)
		n--;
	d->nr = n >= 0 ? (uint64_t)n + 1 : 0;
}

static void resolve(struct domain *d, long long now)
{
	if (d->kind != DOMAIN_DATES && d->kind != DOMAIN_HOURS)
		return;
	if (d->start_bound.relative)
		d->start = bound_unit(d, &d->start_bound, now);
	if (d->end_bound.relative)
		d->end = bound_unit(d, &d->end_bound, now);
	count_values(d);
}

/* ---- parsing ---- */

static void domain_init(struct domain *d, const char *name, const char *dir)
{
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name);
	d->dir = dir ? xstrdup(dir) : NULL;
	strvec_init(&d->values);
	strvec_init(&d->argv);
	strmap_init(&d->index);
	pthread_mutex_init(&d->lock, NULL);
	atomic_init(&d->ready, 1);
}

void domain_release(struct domain *d)
{
	free(d->name);
	free(d->dir);
	free(d->format);
	free(d->step_text);
	free(d->start_bound.text);
	free(d->end_bound.text);
	strvec_clear(&d->values);
	strvec_clear(&d->argv);
	strmap_clear(&d->index);
	pthread_mutex_destroy(&d->lock);
	memset(d, 0, sizeof(*d));
}

/* `today` / `now`, optionally [+-]N{h,d,w}: 1 if text is relative. */
static int parse_relative(const char *text, struct domain_bound *b)
{
	const char *s = text;
	long long n = 0, unit;
	int sign;

	if (!strncmp(s, "today", 5)) {
		b->relative = BOUND_TODAY;
		s += 5;
	} else if (!strncmp(s, "now", 3)) {
		b->relative = BOUND_NOW;
		s += 3;
	} else {
		return 0;
	}
	b->offset_s = 0;
	if (!*s)
		return 1;
	if (*s != '+' && *s != '-')
		goto bad;
	sign = *s++ == '-' ? -1 : 1;
	if (*s < '0' || *s > '9')
		goto bad;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > 100000000)
			goto bad;
		n = n * 10 + (*s - '0');
	}
	if (!strcmp(s, "h"))
		unit = 3600;
	else if (!strcmp(s, "d"))
		unit = 86400;
	else if (!strcmp(s, "w"))
		unit = 7 * 86400;
	else
		goto bad;
	b->offset_s = sign * n * unit;
	return 1;
bad:
	b->relative = BOUND_ABSOLUTE;
	return -1;
}

static int parse_bound(struct domain *d, const cJSON *obj, const struct jpath *p,
		       const char *key, struct domain_bound *b, long long *u, struct strbuf *err)
{
	struct jpath bp = { p, key, 0 };
	const char *text;
	int rel;

	if (json_get_string(obj, p, key, 1, &text, err) < 0)
		return -1;
	b->text = xstrdup(text);
	rel = parse_relative(text, b);
	if (rel > 0)
		return 0;
	if (!rel && (!unit_parse_iso(d, text, u) || !unit_parse_format(d, text, u)))
		return 0;
	if (d->kind == DOMAIN_DATES)
		return json_fail(err, &bp, "expected a date (2024-12-31, in format %s, or "
				 "today[-Nd]), got '%s'", d->format, text);
	return json_fail(err, &bp, "expected an hour (2024-12-31T23, in format %s, or "
			 "now[-Nh]), got '%s'", d->format, text);
}

/* "7d", "1mo", "2y", "6h": sets d->step (and d->months). */
static int parse_step(struct domain *d, const char *text)
{
	const char *s = text;
	long long n = 0;

	if (*s < '1' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > 1000000)
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (d->kind == DOMAIN_DATES) {
		if (!strcmp(s, "d"))
			d->step = n;
		else if (!strcmp(s, "w"))
			d->step = 7 * n;
		else if (!strcmp(s, "mo"))
			d->step = n, d->months = 1;
		else if (!strcmp(s, "y"))
			d->step = 12 * n, d->months = 1;
		else
			return -1;
		return 0;
	}
	if (!strcmp(s, "h"))
		d->step = n;
	else if (!strcmp(s, "d"))
		d->step = 24 * n;
	else
		return -1;
	return 0;
}

/* The format must print one segment per value and read back what it printed. */
static int check_format(struct domain *d, const struct jpath *fp, struct strbuf *err)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT, why = STRBUF_INIT;
	long long u, probe = d->start;
	int ret = -1;

	unit_format(d, probe, &a);
	if (!a.len) {
		json_fail(err, fp, "format '%s' prints nothing", d->format);
		goto out;
	}
	if (!domain_value_valid(a.buf, &why)) {
		json_fail(err, fp, "format '%s' prints '%s', which %s", d->format, a.buf, why.buf);
		goto out;
	}
	if (unit_parse_format(d, a.buf, &u) < 0 || u != probe) {
		json_fail(err, fp, "format '%s' cannot be read back ('%s')", d->format, a.buf);
		goto out;
	}
	unit_format(d, d->months ? month_value(d, 1) : probe + d->step, &b);
	if (!strcmp(a.buf, b.buf)) {
		json_fail(err, fp, "format '%s' prints '%s' for two values one step apart",
			  d->format, a.buf);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&why);
	return ret;
}

static int parse_calendar(struct domain *d, const cJSON *obj, const struct jpath *p,
			  struct strbuf *err)
{
	struct jpath sp = { p, "step", 0 }, fp = { p, "format", 0 }, ep = { p, "end", 0 };
	const char *format, *step;

	if (json_check_object(obj, p, "an object {\"start\", \"end\"}", err) < 0 ||
	    json_get_string(obj, p, "format", 0, &format, err) < 0 ||
	    json_get_string(obj, p, "step", 0, &step, err) < 0)
		return -1;
	if (format && !*format)
		return json_fail(err, &fp, "expected a non-empty strftime format");
	d->format = xstrdup(format ? format : d->kind == DOMAIN_DATES ? DATES_FORMAT :
			    HOURS_FORMAT);
	d->step = 1;
	if (step) {
		if (parse_step(d, step) < 0)
			return json_fail(err, &sp, "expected a step like %s, got '%s'",
					 d->kind == DOMAIN_DATES ? "1d, 7d, 2w, 1mo or 1y" :
					 "1h, 6h or 1d", step);
		d->step_text = xstrdup(step);
	}
	if (parse_bound(d, obj, p, "start", &d->start_bound, &d->start, err) < 0 ||
	    parse_bound(d, obj, p, "end", &d->end_bound, &d->end, err) < 0)
		return -1;
	if (d->start_bound.relative || d->end_bound.relative) {
		struct strbuf why = STRBUF_INIT;

		if (now_check(&why) < 0) {
			json_fail(err, p, "%s", why.buf);
			strbuf_release(&why);
			return -1;
		}
	}
	resolve(d, now_s());
	if (!d->start_bound.relative && !d->end_bound.relative && d->end < d->start)
		return json_fail(err, &ep, "end '%s' is before start '%s'", d->end_bound.text,
				 d->start_bound.text);
	return check_format(d, &fp, err);
}

static int parse_ints(struct domain *d, const cJSON *obj, const struct jpath *p,
		      struct strbuf *err)
{
	struct jpath sp = { p, "step", 0 }, ep = { p, "end", 0 };
	int64_t start, end, step = 1;

	if (json_check_object(obj, p, "an object {\"start\", \"end\"}", err) < 0 ||
	    json_get_int64(obj, p, "start", 1, &start, err) < 0 ||
	    json_get_int64(obj, p, "end", 1, &end, err) < 0 ||
	    json_get_int64(obj, p, "step", 0, &step, err) < 0)
		return -1;
	if (step < 1)
		return json_fail(err, &sp, "expected a positive step, got %lld", (long long)step);
	if (end < start)
		return json_fail(err, &ep, "end %lld is before start %lld", (long long)end,
				 (long long)start);
	d->start = start;
	d->end = end;
	d->step = step;
	d->nr = (uint64_t)((end - start) / step) + 1;
	return 0;
}

/* Adds value to d's list; 0 if it was there already. */
static int add_value(struct strvec *values, struct strmap *index, const char *v)
{
	if (strmap_contains(index, v))
		return 0;
	strmap_put(index, v, (void *)(uintptr_t)(values->nr + 1));
	strvec_push(values, v);
	return 1;
}

static int parse_values(struct domain *d, const cJSON *arr, const struct jpath *p,
			struct strbuf *err)
{
	size_t i = 0;

	if (!cJSON_IsArray(arr) || !arr->child)
		return json_fail(err, p, "expected a non-empty array of values, got %s",
				 cJSON_IsArray(arr) ? "an empty array" : json_type_name(arr));
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		struct jpath ep = { p, NULL, i };
		struct strbuf why = STRBUF_INIT;

		if (!cJSON_IsString(e))
			return json_fail(err, &ep, "expected a string, got %s", json_type_name(e));
		if (!domain_value_valid(e->valuestring, &why)) {
			json_fail(err, &ep, "value '%s' %s", e->valuestring, why.buf);
			strbuf_release(&why);
			return -1;
		}
		if (!add_value(&d->values, &d->index, e->valuestring))
			return json_fail(err, &ep, "value '%s' is listed twice", e->valuestring);
	}
	return 0;
}

static int parse_command(struct domain *d, const cJSON *obj, const struct jpath *p,
			 struct strbuf *err)
{
	struct jpath cp = { p, "command", 0 }, zp = { &cp, NULL, 0 };
	struct jpath tp = { p, "timeout_s", 0 };
	const cJSON *item;
	int64_t timeout = DOMAIN_COMMAND_TIMEOUT_S;

	if (json_get_array(obj, p, "command", JSON_REQUIRED | JSON_NONEMPTY,
			   "strings (an argv)", &item, err) < 0 ||
	    json_get_strvec(obj, p, "command", 1, &d->argv, err) < 0 ||
	    json_get_int64(obj, p, "timeout_s", 0, &timeout, err) < 0)
		return -1;
	if (!*d->argv.v[0])
		return json_fail(err, &zp, "empty program name");
	if (timeout < 1 || timeout > 86400)
		return json_fail(err, &tp, "expected an integer from 1 to 86400, got %lld",
				 (long long)timeout);
	d->timeout_ms = (long)timeout * 1000;
	atomic_store(&d->ready, 0);
	return 0;
}

static const char *const kinds[] = { "dates", "hours", "ints", "values", "command" };

int domain_parse(struct domain *d, const char *name, const cJSON *item,
		 const struct jpath *p, const char *dir, struct strbuf *err)
{
	const cJSON *member = NULL;
	size_t found = 0, k = 0;

	domain_init(d, name, dir);
	if (json_check_object(item, p, "a domain object {\"dates\" | \"hours\" | \"ints\" | "
			      "\"values\" | \"command\": ...}", err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const cJSON *m;

		if (json_find(item, p, kinds[i], 0, &m, err) < 0)
			return -1;
		if (m) {
			if (found++)
				return json_fail(err, p, "a domain has one kind, got both '%s' and '%s'",
						 kinds[k], kinds[i]);
			member = m;
			k = i;
		}
	}
	if (!member) {
		const cJSON *src;

		if (json_find(item, p, "source", 0, &src, err) < 0)
			return -1;
		if (src)
			return json_fail(err, p, "a source is a job (\"source\" and \"outputs\"), "
					 "not a domain: its partitions are the files that exist");
		return json_fail(err, p, "expected one of \"dates\", \"hours\", \"ints\", "
				 "\"values\", \"command\"");
	}
	{
		struct jpath kp = { p, kinds[k], 0 };

		d->kind = (enum domain_kind)k;
		switch (d->kind) {
		case DOMAIN_DATES:
		case DOMAIN_HOURS:
			return parse_calendar(d, member, &kp, err);
		case DOMAIN_INTS:
			return parse_ints(d, member, &kp, err);
		case DOMAIN_VALUES:
			return parse_values(d, member, &kp, err);
		case DOMAIN_COMMAND:
			return parse_command(d, item, p, err);
		}
	}
	return -1;
}

/* ---- command domains ---- */

static void describe_argv(const struct domain *d, struct strbuf *out)
{
	strbuf_addstr(out, d->argv.v[0]);
	for (size_t i = 1; i < d->argv.nr; i++) {
		strbuf_addch(out, ' ');
		strbuf_addstr(out, d->argv.v[i]);
	}
}

static int command_read(const struct domain *d, struct strvec *values, struct strmap *index,
			struct strbuf *err)
{
	struct proc_opts opts = {
		.argv = d->argv.v, .cwd = d->dir, .timeout_ms = d->timeout_ms,
		.max_output = DOMAIN_COMMAND_MAX_OUTPUT,
	};
	struct proc_result res = PROC_RESULT_INIT;
	struct strbuf why = STRBUF_INIT;
	size_t line = 0;
	char *s;
	int ret = -1;

	if (proc_run(&opts, &res, &why) < 0) {
		strbuf_addf(err, "domain '%s': cannot run '%s': %s", d->name, d->argv.v[0],
			    why.buf);
		goto out;
	}
	if (!proc_ok(&res)) {
		strbuf_addf(err, "domain '%s': command '", d->name);
		describe_argv(d, err);
		strbuf_addstr(err, "' ");
		proc_describe(&res, 0, err);
		if (res.err.len) {
			strbuf_addstr(err, ":\n");
			strbuf_add_tail(err, res.err.buf, res.err.len, 10, 2000, "  ");
		}
		goto out;
	}
	for (s = res.out.buf; *s; ) {
		char *nl = strchrnul(s, '\n'), *end = nl;
		char saved = *nl;

		line++;
		while (end > s && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		if (*s && !domain_value_valid(s, &why)) {
			strbuf_addf(err, "domain '%s': line %zu of the output of '%s': value '",
				    d->name, line, d->argv.v[0]);
			ref_addquoted(err, s);
			strbuf_addf(err, "' %s", why.buf);
			goto out;
		}
		if (*s)
			add_value(values, index, s);
		*nl = saved;
		s = saved ? nl + 1 : nl;
	}
	ret = 0;
out:
	proc_result_release(&res);
	strbuf_release(&why);
	return ret;
}

int domain_ready(struct domain *d, struct strbuf *err)
{
	int ret = 0;

	if (atomic_load_explicit(&d->ready, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&d->lock);
	if (!atomic_load_explicit(&d->ready, memory_order_relaxed)) {
		ret = command_read(d, &d->values, &d->index, err);
		if (!ret)
			atomic_store_explicit(&d->ready, 1, memory_order_release);
		else {
			strvec_clear(&d->values);
			strmap_clear(&d->index);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int domain_refresh(struct domain *d, struct strbuf *err)
{
	struct strvec values = STRVEC_INIT;
	struct strmap index = STRMAP_INIT;
	int ret = -1;

	if (d->kind != DOMAIN_COMMAND) {
		if ((d->start_bound.relative || d->end_bound.relative) && now_check(err) < 0)
			return -1;
		resolve(d, now_s());
		return 0;
	}
	pthread_mutex_lock(&d->lock);
	if (command_read(d, &values, &index, err) < 0)
		goto out;
	strvec_clear(&d->values);
	strmap_clear(&d->index);
	d->values = values;
	d->index = index;
	strvec_init(&values);
	strmap_init(&index);
	atomic_store_explicit(&d->ready, 1, memory_order_release);
	ret = 0;
out:
	pthread_mutex_unlock(&d->lock);
	strvec_clear(&values);
	strmap_clear(&index);
	return ret;
}

/* ---- describing ---- */

static void describe_bound(const struct domain *d, const struct domain_bound *b, long long u,
			   struct strbuf *out)
{
	unit_format(d, u, out);
	if (b->relative)
		strbuf_addf(out, " (%s)", b->text);
}

void domain_describe(const struct domain *d, struct strbuf *out)
{
	strbuf_addstr(out, domain_kind_name(d->kind));
	strbuf_addch(out, ' ');
	switch (d->kind) {
	case DOMAIN_DATES:
	case DOMAIN_HOURS:
		describe_bound(d, &d->start_bound, d->start, out);
		strbuf_addstr(out, "..");
		describe_bound(d, &d->end_bound, d->end, out);
		if (d->step_text && (d->months || d->step != 1))
			strbuf_addf(out, " every %s", d->step_text);
		if (strcmp(d->format, d->kind == DOMAIN_DATES ? DATES_FORMAT : HOURS_FORMAT))
			strbuf_addf(out, ", format %s", d->format);
		break;
	case DOMAIN_INTS:
		strbuf_addf(out, "%lld..%lld", d->start, d->end);
		if (d->step != 1)
			strbuf_addf(out, " every %lld", d->step);
		break;
	case DOMAIN_VALUES:
		for (size_t i = 0; i < d->values.nr && i < DESCRIBE_VALUES_MAX; i++)
			strbuf_addf(out, "%s%s", i ? ", " : "", d->values.v[i]);
		if (d->values.nr > DESCRIBE_VALUES_MAX)
			strbuf_addf(out, " and %zu more", d->values.nr - DESCRIBE_VALUES_MAX);
		break;
	case DOMAIN_COMMAND:
		describe_argv(d, out);
		if (atomic_load_explicit(&d->ready, memory_order_acquire))
			strbuf_addf(out, ": %zu value%s", d->values.nr,
				    d->values.nr == 1 ? "" : "s");
		else
			strbuf_addstr(out, ": not read yet");
		break;
	}
}

/* ---- queries ---- */

uint64_t domain_count(const struct domain *d)
{
	if (arithmetic(d))
		return d->nr;
	if (!atomic_load_explicit(&d->ready, memory_order_acquire))
		return 0;
	return d->values.nr;
}

int64_t domain_index(const struct domain *d, const char *value)
{
	long long u;
	int64_t pos;
	void *v;

	if (arithmetic(d)) {
		if (value_unit(d, value, &u) < 0)
			return -1;
		pos = unit_pos(d, u);
		return pos >= 0 ? pos : -1;
	}
	if (!atomic_load_explicit(&d->ready, memory_order_acquire))
		return -1;
	v = strmap_get(&d->index, value);
	return v ? (int64_t)((uintptr_t)v - 1) : -1;
}

int domain_value_at(const struct domain *d, uint64_t i, struct strbuf *out)
{
	strbuf_reset(out);
	if (i >= domain_count(d))
		return -1;
	if (arithmetic(d))
		unit_value(d, unit_at(d, i), out);
	else
		strbuf_addstr(out, d->values.v[i]);
	return 0;
}

/* Why a value is not in a domain. */
enum miss {
	MISS_NOT_IN,       /* values, command */
	MISS_UNREADABLE,   /* not a date / hour / integer at all */
	MISS_OUTSIDE,      /* before start or after the last value */
	MISS_OFF_STEP,     /* between two steps */
};

static void fail_value(const struct domain *d, const char *value, enum miss why,
		       struct strbuf *err)
{
	if (!err)
		return;
	if (why == MISS_OUTSIDE || why == MISS_OFF_STEP)
		strbuf_addf(err, "%s ", value_noun(d->kind));
	strbuf_addch(err, '\'');
	ref_addquoted(err, value);
	switch (why) {
	case MISS_NOT_IN:
		strbuf_addf(err, "' is not in domain '%s' (", d->name);
		break;
	case MISS_UNREADABLE:
		strbuf_addf(err, "' is not %s of domain '%s' (", d->kind == DOMAIN_INTS ?
			    "an integer" : d->kind == DOMAIN_DATES ? "a date" : "an hour", d->name);
		break;
	case MISS_OUTSIDE:
		strbuf_addf(err, "' is outside domain '%s' (", d->name);
		break;
	case MISS_OFF_STEP:
		strbuf_addf(err, "' is not on the step of domain '%s' (", d->name);
		break;
	}
	domain_describe(d, err);
	strbuf_addch(err, ')');
}

int domain_contains(struct domain *d, const char *value, struct strbuf *err)
{
	long long u;
	int64_t pos;

	if (domain_ready(d, err) < 0)
		return -1;
	if (!arithmetic(d)) {
		if (strmap_contains(&d->index, value))
			return 1;
		fail_value(d, value, MISS_NOT_IN, err);
		return 0;
	}
	if (value_unit(d, value, &u) < 0) {
		fail_value(d, value, MISS_UNREADABLE, err);
		return 0;
	}
	pos = unit_pos(d, u);
	if (pos >= 0)
		return 1;
	fail_value(d, value, pos == POS_OUTSIDE ? MISS_OUTSIDE : MISS_OFF_STEP, err);
	return 0;
}

/* ---- selections and iteration ---- */

enum domain_expr domain_expr_kind(const char *expr)
{
	if (strpbrk(expr, "*?["))
		return DOMAIN_EXPR_GLOB;
	if (strstr(expr, ".."))
		return DOMAIN_EXPR_RANGE;
	return DOMAIN_EXPR_VALUE;
}

/* Position of one end of a range ("" is the first or the last value). */
static int range_end(struct domain *d, const char *expr, const char *text, int last,
		     uint64_t *pos, struct strbuf *err)
{
	int64_t i;

	if (!*text) {
		if (!domain_count(d)) {
			strbuf_addf(err, "range '%s': domain '%s' is empty (", expr, d->name);
			domain_describe(d, err);
			strbuf_addch(err, ')');
			return -1;
		}
		*pos = last ? domain_count(d) - 1 : 0;
		return 0;
	}
	i = domain_index(d, text);
	if (i >= 0) {
		*pos = (uint64_t)i;
		return 0;
	}
	strbuf_addf(err, "range '%s': ", expr);
	domain_contains(d, text, err);
	return -1;
}

static int range_init(struct domain_iter *it, struct domain *d, const char *expr,
		      struct strbuf *err)
{
	const char *dots = strstr(expr, "..");
	uint64_t a, b;
	char *left;
	int ret;

	/* a value of a list domain may itself contain "..": try every split */
	for (const char *s = dots; s && !arithmetic(d); s = strstr(s + 1, "..")) {
		char *l = xstrndup(expr, (size_t)(s - expr));
		int ok = (!*l || domain_index(d, l) >= 0) && (!s[2] || domain_index(d, s + 2) >= 0);

		free(l);
		if (ok) {
			dots = s;
			break;
		}
	}
	left = xstrndup(expr, (size_t)(dots - expr));
	ret = range_end(d, expr, left, 0, &a, err);
	if (!ret)
		ret = range_end(d, expr, dots + 2, 1, &b, err);
	if (!ret && a > b) {
		strbuf_addf(err, "range '%s' is reversed: '%s' comes after '%s' in domain '%s' (",
			    expr, left, dots + 2, d->name);
		domain_describe(d, err);
		strbuf_addch(err, ')');
		ret = -1;
	}
	if (!ret) {
		it->begin = it->pos = a;
		it->end = b + 1;
	}
	free(left);
	return ret;
}

int domain_iter_init(struct domain_iter *it, struct domain *d, const char *expr,
		     struct strbuf *err)
{
	int64_t i;
	int ret = -1;

	memset(it, 0, sizeof(*it));
	strbuf_init(&it->value, 0);
	it->d = d;
	if (!d) {
		if (!expr) {
			strbuf_addstr(err, "an open-ended variable cannot be enumerated");
		} else if (domain_expr_kind(expr) != DOMAIN_EXPR_VALUE) {
			strbuf_addf(err, "%s '%s' needs a domain to select from",
				    domain_expr_kind(expr) == DOMAIN_EXPR_GLOB ? "glob" : "range", expr);
		} else {
			it->literal = xstrdup(expr);
			it->end = 1;
			ret = 0;
		}
		goto out;
	}
	if (domain_ready(d, err) < 0)
		goto out;
	if (!expr) {
		it->end = domain_count(d);
		ret = 0;
		goto out;
	}
	i = domain_index(d, expr);
	if (i >= 0) {
		it->begin = it->pos = (uint64_t)i;
		it->end = (uint64_t)i + 1;
		ret = 0;
		goto out;
	}
	switch (domain_expr_kind(expr)) {
	case DOMAIN_EXPR_GLOB:
		it->glob = xstrdup(expr);
		it->end = domain_count(d);
		ret = 0;
		break;
	case DOMAIN_EXPR_RANGE:
		ret = range_init(it, d, expr, err);
		break;
	case DOMAIN_EXPR_VALUE:
		domain_contains(d, expr, err);
		break;
	}
out:
	if (ret)
		domain_iter_release(it);
	return ret;
}

const char *domain_iter_next(struct domain_iter *it)
{
	while (it->pos < it->end) {
		uint64_t i = it->pos++;
		const char *v;

		if (!it->d) {
			v = it->literal;
		} else if (arithmetic(it->d)) {
			strbuf_reset(&it->value);
			unit_value(it->d, unit_at(it->d, i), &it->value);
			v = it->value.buf;
		} else {
			v = it->d->values.v[i];
		}
		if (it->glob && fnmatch(it->glob, v, 0))
			continue;
		return v;
	}
	return NULL;
}

void domain_iter_rewind(struct domain_iter *it)
{
	it->pos = it->begin;
}

void domain_iter_release(struct domain_iter *it)
{
	free(it->glob);
	free(it->literal);
	strbuf_release(&it->value);
	memset(it, 0, sizeof(*it));
	strbuf_init(&it->value, 0);
}
