#ifndef DATABUILD_SCHEDULER_H
#define DATABUILD_SCHEDULER_H

#include "catalog/catalog.h"
#include "store/store.h"
#include "core/strbuf.h"
#include "model/graph.h"

/*
 * The scheduler (docs/schedules.md): fires the graph's schedules,
 * rebuilds partitions that its freshness policies say are too old or
 * stale, and rebuilds the partitions of eager jobs when an upstream is
 * republished. Hosted by the daemons (`databuild mount`, `databuild
 * serve`) as one thread.
 *
 * One scheduler per store acts: the one holding the lease on the
 * reserved name SCHEDULER_LEASE (never a valid ref: ".databuild" is
 * reserved). The others retry every interval, so when the holder dies
 * another takes over. Time is core/clock.h now_s().
 *
 * Firing runs the host's build command (build_argv + refs) as a child
 * process in its own process group, one build at a time, and records the
 * outcome as an event. The
 * last fired tick of each schedule is recorded in the catalog
 * (SCHEDULER_META_TICK) *before* its build starts: a tick fires at most
 * once, even when its daemon dies during the build.
 *
 * Events (catalog_append_event, payloads are JSON objects):
 *   schedule_tick    {"schedule", "tick", "refs", "catch_up"}
 *   freshness_due    ref; {"dataset", "max_age", "age_s", "reason": "max_age" | "stale"}
 *   eager_due        ref; {"job", "upstream"}
 *   trigger_build    {"trigger": "schedule" | "freshness" | "eager", "refs",
 *                     "status": "succeeded" | "failed" | "cancelled", "exit",
 *                     "schedule" and "tick" for a schedule, "error" on failure}
 *
 * The graph file is followed: when its fingerprint (core/fingerprint.h)
 * moves, the scheduler loads it again and its schedules, freshness
 * policies and eager jobs take over; a file that does not load leaves the
 * previous ones in force (the error is logged).
 *
 * Threads: scheduler_start returns after the thread started;
 * scheduler_stop may be called from any one thread, once. The graph,
 * store and strings of the options are borrowed and must outlive the
 * scheduler. The thread has every signal blocked.
 */

#define SCHEDULER_LEASE ".databuild/scheduler"
/* Catalog meta keys: printf formats of a schedule's name, and a plain key. */
#define SCHEDULER_META_TICK "schedule.%s.last_tick"  /* value: "2024-03-02T02:00:00Z" */
#define SCHEDULER_META_EAGER_SEQ "scheduler.eager_seq"  /* the last event seq looked at */

#define EV_SCHEDULE_TICK "schedule_tick"
#define EV_FRESHNESS_DUE "freshness_due"
#define EV_EAGER_DUE "eager_due"
#define EV_TRIGGER_BUILD "trigger_build"

/* How often a scheduler looks (and a waiting one retries the lease). */
#define SCHEDULER_INTERVAL_MS 500
/* How often the freshness policies scan the catalog. */
#define SCHEDULER_FRESHNESS_EVERY_MS 5000
/*
 * The scheduler that acts also collects the store's garbage (gc_run,
 * scheduler/gc.h) every this many seconds of now_s() when the graph has a
 * retention policy, the first time this long after scheduler_start, and
 * logs what it freed ("gc: freed 2 versions (...), ...").
 */
#define SCHEDULER_GC_EVERY_S 86400
/* At most this many ticks of one schedule fire per look (catch_up all). */
#define SCHEDULER_TICKS_PER_LOOK 100

struct scheduler_opts {
	const struct graph *graph;
	const struct store *store;
	const char *catalog_location;   /* NULL: the store's SQLite catalog */
	/* the command that builds refs, NULL-terminated; the refs are appended:
	   {"/proc/self/exe", "--graph", G, "--store", S, "build", NULL} */
	const char *const *build_argv;
	const char *const *build_envp;  /* its environment; NULL: the daemon's */
	long interval_ms;               /* 0: SCHEDULER_INTERVAL_MS */
	/* what went wrong in the thread, one line at a time (NULL: dropped) */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

struct scheduler;

/* Opens its catalog handle and starts the thread: 0, or -1 with err. */
int scheduler_start(struct scheduler **out, const struct scheduler_opts *o,
		    struct strbuf *err);
/*
 * Stops the thread and frees s. A running build is cancelled: SIGTERM
 * (databuild build then cancels its jobs and publishes nothing), and its
 * process group is killed if it has not ended 30 s later.
 */
void scheduler_stop(struct scheduler *s);

/*
 * The last fired tick of sc recorded in c: 1 with *t, 0 none, -1 error.
 * For `databuild schedules`.
 */
int scheduler_last_tick(struct catalog *c, const struct schedule *sc, long long *t,
			struct strbuf *err);

#endif
