#ifndef DATABUILD_MODEL_TZ_H
#define DATABUILD_MODEL_TZ_H

#include <stddef.h>

#include "core/strbuf.h"

/*
 * Time zones for schedules, read from the system's tz database (TZif
 * files under $TZDIR, default /usr/share/zoneinfo) without touching the
 * process's TZ or calling tzset: a loaded zone is plain data, so any
 * number of threads may convert with it at once, and nothing else in the
 * process (localtime_r, getenv) is disturbed.
 *
 * The UTC offset of an instant is the one of the last transition at or
 * before it (RFC 8536's 64-bit data); before the first transition it is
 * local time type 0. After the last transition the zone's POSIX rule
 * (the file's footer, e.g. "CET-1CEST,M3.5.0,M10.5.0/3") is applied when
 * it has the common Mm.w.d form; otherwise the last offset stays.
 *
 * Ownership: struct tzone owns its arrays and name; tzone_release frees
 * them. "UTC" (also "Etc/UTC", "Z") needs no file.
 */
struct tz_rule;

struct tzone {
	char *name;            /* as given ("Europe/Berlin"), owned */
	long long *at;         /* transition instants (s since the epoch), ascending */
	int *offset;           /* offset east of UTC (s) from at[i] on */
	size_t nr;
	int offset0;           /* before at[0] (or always, when nr == 0) */
	struct tz_rule *rule;  /* the footer's DST rule, or NULL */
};
#define TZONE_INIT { .name = NULL, .at = NULL, .offset = NULL, .nr = 0, .offset0 = 0, \
		     .rule = NULL }

/*
 * Loads the zone named name (an IANA name: "UTC", "Europe/Berlin"). 0, or
 * -1 with "unknown time zone 'X' (no file ...)" or what is wrong with
 * its file appended to err. z is initialised either way.
 */
int tzone_load(struct tzone *z, const char *name, struct strbuf *err);
void tzone_release(struct tzone *z);

/* The offset east of UTC in seconds at the instant t (s since the epoch). */
int tzone_offset(const struct tzone *z, long long t);
/*
 * The instant of local wall-clock time local (seconds since the epoch as
 * if the zone were UTC). A local time that is skipped (spring forward)
 * maps to the instant the clock jumps over it plus its distance into the
 * gap; one that repeats (fall back) maps to its first occurrence.
 */
long long tzone_to_utc(const struct tzone *z, long long local);

#endif
