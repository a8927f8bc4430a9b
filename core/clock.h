#ifndef DATABUILD_CORE_CLOCK_H
#define DATABUILD_CORE_CLOCK_H

/*
 * The one clock of databuild. now_us is wall-clock time (what the catalog
 * records: start and end times, event times); mono_ms is a monotonic clock
 * for deadlines and durations, never affected by a change of the system
 * time.
 */

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
long long now_us(void);
/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long mono_ms(void);

#endif
