#ifndef DATABUILD_CORE_CLOCK_H
#define DATABUILD_CORE_CLOCK_H

#include "core/strbuf.h"

/*
 * The one clock of databuild. now_us is wall-clock time (what the catalog
 * records: start and end times, event times); mono_ms is a monotonic clock
 * for deadlines and durations, never affected by a change of the system
 * time.
 *
 * now_s is "now" for the calendar: relative bounds of domains
 * ("today-1d", "now-2h"), schedules, freshness. It honours the
 * environment variable DATABUILD_NOW (e.g. 2024-03-03T03:00:00Z, UTC), which
 * freezes it for tests; when the variable is unset or empty it is the
 * system's real time. DATABUILD_NOW=@FILE reads the time from the first
 * line of FILE at every call, so a test can move the clock of a running
 * daemon (and of the builds it spawns) by rewriting FILE (write a new
 * file and rename it over FILE: a reader never sees half a line). The
 * calendar is UTC.
 */

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
long long now_us(void);
/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long mono_ms(void);

#define CLOCK_NOW_ENV "DATABUILD_NOW"

/*
 * Seconds since the Unix epoch: DATABUILD_NOW when it is set and valid
 * (an @FILE that cannot be read or holds no valid time counts as
 * malformed), else CLOCK_REALTIME. A malformed DATABUILD_NOW is ignored here;
 * now_check reports it.
 */
long long now_s(void);
/*
 * 0 if DATABUILD_NOW is unset, empty or valid; else -1 with
 * "DATABUILD_NOW: expected a UTC time like 2024-03-03T03:00:00Z, got 'x'"
 * (for @FILE: "DATABUILD_NOW: cannot read 'FILE': <errno>" or
 * "DATABUILD_NOW: 'FILE': expected a UTC time like ..., got 'x'")
 * appended to err. Callers that resolve relative times check first.
 */
int now_check(struct strbuf *err);
/*
 * Parses a UTC time "YYYY-MM-DDTHH:MM:SSZ" (the Z may be omitted; so may
 * the whole time of day: "YYYY-MM-DD" is midnight) into seconds since the
 * epoch. 0, or -1 when text is not such a time.
 */
int utc_parse(const char *text, long long *out);
/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12). */
long long days_from_civil(long long y, unsigned m, unsigned d);
/* Days in month m (1..12) of year y. */
unsigned days_in_month(long long y, unsigned m);
/* The date of day number days since 1970-01-01. */
void civil_from_days(long long days, long long *y, unsigned *m, unsigned *d);

#endif
