#ifndef DATABUILD_DOMAIN_H
#define DATABUILD_DOMAIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "core/array.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "core/strmap.h"

/*
 * Partition domains: the values one placeholder of a job may take
 * (docs/design/domains.md). A domain is one JSON object with one kind:
 *
 *   {"dates":  {"start": "2024-01-01", "end": "today-1d",
 *               "step": "1d", "format": "%Y-%m-%d"}}     step Nd, Nw, Nmo, Ny
 *   {"hours":  {"start": "2024-01-01T00", "end": "now",
 *               "step": "1h", "format": "%Y-%m-%dT%H"}}  step Nh, Nd
 *   {"ints":   {"start": 0, "end": 99999, "step": 1}}
 *   {"values": ["north", "south", "east"]}
 *   {"command": ["jobs/list-customers"], "timeout_s": 60}
 *
 * Order: dates, hours and ints ascend from start by step; values keep the
 * order of the list; command keeps the order of its output (one value per
 * line, blank lines skipped, later duplicates dropped). Every value is
 * valid text for one ref segment.
 *
 * dates/hours/ints are arithmetic: membership, index and value_at are
 * O(1) and nothing is enumerated. values/command keep their list plus a
 * hash index (O(1) membership and index).
 *
 * Bounds of dates and hours are written in the domain's format or in ISO
 * form (2024-01-01, 2024-01-01T00 or 2024-01-01T00:00:00Z), or relative
 * to the clock (core/clock.h now_s, which DATABUILD_NOW freezes):
 * `today`, `now`, optionally followed by +N or -N and a unit h, d or w
 * (`today-1d`, `now-2h`). A dates domain takes the UTC date of the
 * relative time, an hours domain its hour. Relative bounds are resolved
 * when the domain is parsed and again by domain_refresh. The end is
 * inclusive; the last value is the last one on the step not after it.
 *
 * Month and year steps (1mo, 3mo, 1y) keep the day of the month of
 * start, clamped to the end of shorter months, and are counted from start
 * (not from the previous value): 2024-01-31 + 1mo is 2024-02-29, + 2mo is
 * 2024-03-31.
 *
 * Ownership: a struct domain owns every string it points to. Threads:
 * after domain_ready has returned 0, every const function may be called
 * from any thread; domain_ready itself is thread-safe; domain_refresh is
 * not safe while other threads use the domain (reload a graph instead).
 */
enum domain_kind {
	DOMAIN_DATES,
	DOMAIN_HOURS,
	DOMAIN_INTS,
	DOMAIN_VALUES,
	DOMAIN_COMMAND,
};

/* A bound of dates or hours as written. */
enum domain_bound_base {
	BOUND_ABSOLUTE,      /* a date or hour as written */
	BOUND_NOW,           /* now_s() */
	BOUND_TODAY,         /* midnight (UTC) of now_s() */
};

struct domain_bound {
	char *text;                       /* as written, owned */
	enum domain_bound_base relative;  /* BOUND_ABSOLUTE (0) or what it is relative to */
	long long offset_s;               /* relative: seconds added to the base */
};

struct domain {
	char *name;              /* "day2024", or "job.variable" for an inline domain */
	enum domain_kind kind;

	/* dates, hours, ints (set by domain_parse, bounds by domain_resolve) */
	long long start, end;    /* days / hours since the epoch, or the integers */
	long long step;          /* in days, hours or months (months set), or integers */
	int months;              /* dates: step counts months (Nmo, Ny) */
	char *step_text;         /* as written ("7d"), or NULL for the default */
	char *format;            /* dates, hours: strftime format, owned */
	struct domain_bound start_bound, end_bound;
	uint64_t nr;             /* dates, hours, ints: number of values (domain_resolve) */

	/* values, command (command: filled by domain_ready) */
	struct strvec values;
	struct strmap index;     /* value -> (void *)(position + 1) */

	/* command */
	struct strvec argv;      /* argv[0] as written (graph.c resolves it) */
	char *dir;               /* working directory of the command, owned */
	long timeout_ms;

	pthread_mutex_t lock;    /* guards loading */
	atomic_int ready;        /* values are available (always 1 unless command) */
};

/* Default timeout of a command domain and its largest output. */
#define DOMAIN_COMMAND_TIMEOUT_S 60L
#define DOMAIN_COMMAND_MAX_OUTPUT (64u << 20)

/*
 * Parses item (at JSON path p) as a domain named name. dir is the
 * directory a command domain runs in (the graph's). 0, or -1 with
 * "<p>...: <what>" appended to err, e.g.
 *   domains.day2024.dates.end: expected a date (2024-12-31, in format
 *   %Y-%m-%d, or today[-Nd]), got '2024-13-01'
 * d is initialised either way; domain_release is always safe after it.
 * Command domains are not run here (domain_ready runs them).
 */
int domain_parse(struct domain *d, const char *name, const cJSON *item,
		 const struct jpath *p, const char *dir, struct strbuf *err);
void domain_release(struct domain *d);

/*
 * Makes the values available: runs a command domain the first time (its
 * output is cached in d); a no-op for the other kinds. 0, or -1 with
 * "domain 'customer': command '/abs/list' exited with status 3: <stderr
 * tail>" appended to err (and the next call tries again).
 */
int domain_ready(struct domain *d, struct strbuf *err);
/*
 * Re-reads d: re-resolves relative bounds against now_s() and runs a
 * command domain again. On failure d keeps its previous values.
 */
int domain_refresh(struct domain *d, struct strbuf *err);

/*
 * Appends what d is, for messages: "dates 2024-01-01..2024-12-31",
 * "dates 2023-01-01..2024-03-02 (today-1d) every 7d, format %Y%m%d",
 * "hours ...", "ints 0..99999 every 5", "values north, south, east",
 * "command /abs/list-customers: 120 values".
 */
void domain_describe(const struct domain *d, struct strbuf *out);
/* "dates", "hours", "ints", "values", "command". */
const char *domain_kind_name(enum domain_kind kind);

/*
 * 1 if value is in d; else 0 with a message appended to err (may be NULL):
 *   date '2025-01-01' is outside domain 'day2024' (dates 2024-01-01..2024-12-31)
 *   date '2024-01-02' is not on the step of domain 'weekly' (dates ... every 7d)
 *   'x' is not a date of domain 'day2024' (dates ...)
 *   'west' is not in domain 'station' (values north, south, east)
 * -1 when a command domain cannot be read (err says why).
 */
int domain_contains(struct domain *d, const char *value, struct strbuf *err);

/* Number of values (0 for a command domain that is not ready). */
uint64_t domain_count(const struct domain *d);
/* Position of value in domain order, or -1 if it is not in d. */
int64_t domain_index(const struct domain *d, const char *value);
/* Sets out to the value at position i: 0, or -1 if i >= domain_count. */
int domain_value_at(const struct domain *d, uint64_t i, struct strbuf *out);

/*
 * Selections over one domain, as written in a ref segment's value:
 *   a value of the domain            that value
 *   a glob (contains *, ? or [)      the values it matches (fnmatch, no flags)
 *   A..B                             the values from A to B inclusive, in
 *                                    domain order (A and B in the domain,
 *                                    A not after B)
 * A text that is itself a value of the domain is that value even if it
 * contains glob characters or "..".
 */
enum domain_expr {
	DOMAIN_EXPR_VALUE,
	DOMAIN_EXPR_GLOB,
	DOMAIN_EXPR_RANGE,
};
/* How expr reads when it is not a value of its domain. */
enum domain_expr domain_expr_kind(const char *expr);

/*
 * Ordered enumeration in constant memory: one strbuf is reused for the
 * values of dates, hours and ints; values and command yield their own
 * strings.
 *
 *   struct domain_iter it;
 *   if (domain_iter_init(&it, d, "2024-02-*", &err) < 0) ...
 *   for (const char *v; (v = domain_iter_next(&it)); ) ...
 *   domain_iter_release(&it);
 *
 * expr NULL selects every value. d NULL stands for an open-ended
 * variable: expr must then be a plain value (yielded once); a glob or a
 * range is an error ("glob '*' needs a domain to select from"). A glob that matches nothing
 * yields nothing; a literal value outside d, a range whose ends are not
 * in d or are reversed are errors (naming the domain and its bounds).
 * The iterator borrows d, which must outlive it; it is released on
 * failure too.
 */
struct domain_iter {
	const struct domain *d;
	uint64_t pos, begin, end;  /* positions [begin, end); pos is the next */
	char *glob;                /* filter, owned; NULL: none */
	char *literal;             /* d NULL: the one value, owned */
	struct strbuf value;       /* the current value of arithmetic kinds */
};

int domain_iter_init(struct domain_iter *it, struct domain *d, const char *expr,
		     struct strbuf *err);
/* The next value (valid until the next call), or NULL at the end. */
const char *domain_iter_next(struct domain_iter *it);
/* Starts over from the first selected value. */
void domain_iter_rewind(struct domain_iter *it);
void domain_iter_release(struct domain_iter *it);

/*
 * Whether s is usable as a value: non-empty, at most 255 bytes, no '/',
 * printable UTF-8, not "." or "..". 1, or 0 with the reason appended to
 * why (may be NULL): "contains '/'".
 */
int domain_value_valid(const char *s, struct strbuf *why);

#endif
