#ifndef DATABUILD_MODEL_SCHEDULE_H
#define DATABUILD_MODEL_SCHEDULE_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "core/array.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "model/tz.h"

/*
 * Triggers of the graph file (docs/schedules.md): schedules, freshness
 * policies (and, on jobs, "eager": graph.h). Pure: parsing, the next tick
 * of a cron expression in a time zone, and the refs a tick builds. The
 * running part is scheduler/.
 *
 *   "schedules": [{"name": "nightly", "cron": "0 2 * * *", "timezone": "UTC",
 *                  "start": "2024-03-01", "build": ["report/date={today-1d}"],
 *                  "catch_up": "latest"}],
 *   "freshness": {"daily": {"max_age": "26h"}}
 *
 * Ownership: each struct owns the strings and zone it points to; the
 * *_release functions free them. Threads: after parsing, every const
 * function may be called from any thread at once.
 */

/*
 * A cron expression: five fields, minute (0-59) hour (0-23) day of month
 * (1-31) month (1-12) day of week (0-7, 0 and 7 Sunday), each a comma
 * list of `*`, N, N-M, each optionally /STEP (N/STEP: from N to the end).
 * @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly
 * stand for their usual expansions. As in Vixie cron, when both day of
 * month and day of week are restricted (neither starts with `*`), a day
 * matches if either does.
 */
struct cron {
	uint64_t minute;   /* bit n: minute n */
	uint32_t hour, dom;
	uint16_t month;    /* bit n: month n (1..12) */
	uint8_t dow;       /* bit n: weekday n (0 Sunday .. 6) */
	int dom_any, dow_any;  /* the field starts with '*' */
};

/* 0, or -1 with "expected 5 fields ..., got 'x'" etc. appended to err. */
int cron_parse(struct cron *c, const char *text, struct strbuf *err);
/* 1 if the local wall-clock time local (s since the epoch, as if UTC) matches. */
int cron_matches(const struct cron *c, long long local);

/*
 * The first tick of c in zone z strictly after the instant after (s
 * since the epoch), or -1 if there is none within the next 10 years
 * (e.g. "0 0 31 2 *"). Local times are minutes of the zone's wall clock
 * (tzone_to_utc: a time skipped by a DST jump fires just after it, a
 * repeated one fires once).
 */
long long cron_next(const struct cron *c, const struct tzone *z, long long after);

/*
 * A ref template: a ref in which {today}, {today-Nd}, {today+Nd} (also w
 * for weeks) stand for the tick's date in the schedule's time zone, as
 * %Y-%m-%d or, after a colon, in a strftime format of date fields:
 * {today:%Y%m%d}, {today-1d:%d.%m.%Y}. Appends the expansion for the tick
 * t in zone z to out: 0, or -1 with what is wrong appended to err
 * ("unknown placeholder '{x}'", "unclosed '{'", ...).
 */
int template_expand(const char *tmpl, long long t, const struct tzone *z,
		    struct strbuf *out, struct strbuf *err);

enum catch_up {
	CATCH_UP_LATEST,  /* of the ticks missed, fire only the newest */
	CATCH_UP_ALL,     /* fire each, oldest first */
};
const char *catch_up_name(enum catch_up c);

struct schedule {
	char *name;          /* [A-Za-z0-9_.-]+, unique in the graph */
	char *cron_text;     /* as written */
	struct cron cron;
	struct tzone tz;     /* default UTC */
	char *start_text;    /* as written, or NULL */
	long long start;     /* local midnight of "start" in tz (s since the epoch), or
				LLONG_MIN when there is none */
	struct strvec build; /* ref templates, at least one */
	enum catch_up catch_up;  /* default latest */
};

/*
 * Parses one element of "schedules" at JSON path p: 0, or -1 with
 * "<p>.cron: ..." appended to err. Each ref template is expanded once
 * (for the first tick after start, or the epoch) and must give a valid
 * ref. s is initialised either way.
 */
int schedule_parse(struct schedule *s, const cJSON *item, const struct jpath *p,
		   struct strbuf *err);
void schedule_release(struct schedule *s);
/*
 * The refs of tick t (each template expanded), pushed to refs: 0, or -1
 * with err (only for templates that parse_schedule did not check).
 */
int schedule_refs(const struct schedule *s, long long t, struct strvec *refs,
		  struct strbuf *err);

/* A freshness policy: partitions of a dataset older than max_age are rebuilt. */
struct freshness_policy {
	char *dataset;       /* a dataset, placeholders allowed: "summaries/category={c}" */
	long long max_age_s;
	char *max_age_text;  /* as written ("26h") */
};
/* One member of "freshness" (name = dataset) at p: 0, or -1 with err. */
int freshness_policy_parse(struct freshness_policy *f, const char *dataset,
			   const cJSON *item, const struct jpath *p, struct strbuf *err);
void freshness_policy_release(struct freshness_policy *f);

/*
 * A duration: one or more NUMBER UNIT with units s, m, h, d, w ("26h",
 * "1d12h", "90m"). 0 with *out in seconds (> 0), or -1.
 */
int duration_parse(const char *text, long long *out);

#endif
