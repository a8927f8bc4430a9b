#ifndef DATABUILD_CATALOG_H
#define DATABUILD_CATALOG_H

#include <stdint.h>
#include "core/array.h"
#include "model/manifest.h"
#include "store/store.h"
#include "core/strbuf.h"

/*
 * The catalog: the durable record of partitions, job runs, manifests,
 * builds and events, plus the leases that make building a partition
 * exclusive across processes.
 *
 * A `struct catalog` is a handle on one backend connection. A handle is
 * used by one thread at a time (open one per thread; opening is cheap);
 * the lease functions alone may be called from any thread concurrently.
 * Callers use the catalog_*() wrappers below; the backend behind them
 * (SQLite or PostgreSQL, chosen by catalog_open's location) is hidden.
 *
 * Conventions: functions return 0 on success and -1 with a message in err;
 * lookups return 1 found / 0 not found / -1 error. Out-structures
 * (struct partition, run_record, build_record, manifest) are initialised
 * by the callee and released by the caller with the matching *_release();
 * lists (struct partition_list, struct strvec) are appended to, so the
 * caller initialises them (PARTITION_LIST_INIT, STRVEC_INIT). Every
 * multi-row change happens in one transaction and appends its events in
 * that same transaction. Errors start with "catalog '<location>': ".
 */

enum part_status {
	PART_MISSING = 0,  /* not in the catalog (never stored) */
	PART_LIVE,
	PART_BUILDING,
	PART_FAILED,
	PART_STALE,
	PART_TAINTED,
	PART_DAMAGED,      /* its data no longer matches its manifest (error says how) */
	PART_STATUS_NR     /* the number of statuses, not one */
};

const char *part_status_name(enum part_status s);
/* -1 if name is not a status. */
int part_status_parse(const char *name);

struct partition {
	char *ref;
	enum part_status status;
	char build_key[SHA256_HEX_LEN + 1];  /* "" if unknown */
	char sha256[SHA256_HEX_LEN + 1];     /* "" unless data was published */
	int64_t size;                        /* -1 unless published */
	char *version;                       /* job version that built it, or NULL */
	char *job;                           /* producing job label, or NULL */
	char *run_id;                        /* producing (or failing) run, or NULL */
	int64_t created_us;                  /* first seen */
	int64_t updated_us;                  /* last status change; for live: the run's end */
	char *error;                         /* failed: one-line reason, else NULL */
	char *published_run;                 /* run of the last publish (its manifest
						holds the data's lineage), or NULL */
	char *ident;                         /* the published data file's identity
						(store/store.h), or NULL if unknown */
};

void partition_init(struct partition *p);
void partition_release(struct partition *p);

struct partition_list {
	struct partition *items;
	size_t nr, alloc;
};
#define PARTITION_LIST_INIT { .items = NULL, .nr = 0, .alloc = 0 }
void partition_list_release(struct partition_list *l);
/* {"ref", "status", "size", "sha256", "build_key", "version", "job", "run_id",
 *  "published_run", "created_us", "updated_us", "error"}; absent values null. */
cJSON *partition_to_json(const struct partition *p);
/* Appends us (µs since the epoch) as ISO-8601 UTC "2024-01-01T00:00:00Z". */
void catalog_format_time(int64_t us, struct strbuf *out);

enum run_status {
	RUN_RUNNING,
	RUN_SUCCEEDED,
	RUN_FAILED,
	RUN_CANCELLED,
	RUN_ABANDONED,  /* its process died without finishing it */
};
const char *run_status_name(enum run_status s);

struct run_record {
	char *run_id;
	int64_t build_id;
	char *job;
	char *config_json;
	enum run_status status;
	long pid;
	char *host;
	int64_t start_us, end_us;  /* end 0 while running */
	int exit_status;           /* >= 0 exit code, < 0 minus the signal */
	char *log_path;
	char *error;               /* NULL unless failed */
	struct strvec outputs;
};
void run_record_init(struct run_record *r);
void run_record_release(struct run_record *r);
/* -1 if name is not a run status. */
int run_status_parse(const char *name);
cJSON *run_record_to_json(const struct run_record *r);

/* One build request (catalog_begin_build). */
struct build_record {
	int64_t id;
	struct strvec refs;
	char *requester;
	char *status;              /* "running" until finished */
	int64_t start_us, end_us;  /* end 0 while running */
};
void build_record_init(struct build_record *b);
void build_record_release(struct build_record *b);

struct event {
	int64_t seq;
	int64_t time_us;
	int64_t build_id;   /* 0 if none */
	char *type;         /* see EV_* */
	char *ref;          /* may be NULL */
	char *run_id;       /* may be NULL */
	char *payload;      /* JSON object text, may be NULL */
};
void event_release(struct event *e);
/* Appends the event as one JSON line (with trailing '\n'). */
void event_to_jsonl(const struct event *e, struct strbuf *out);

#define EV_BUILD_REQUESTED    "build_requested"
#define EV_BUILD_FINISHED     "build_finished"
#define EV_JOB_PLANNED        "job_planned"
#define EV_JOB_STARTED        "job_started"
#define EV_JOB_FINISHED       "job_finished"
#define EV_JOB_FAILED         "job_failed"
#define EV_JOB_SKIPPED        "job_skipped"     /* an input failed */
#define EV_JOB_CUTOFF         "job_up_to_date"  /* build key unchanged */
#define EV_JOB_CANCELLED      "job_cancelled"
#define EV_JOB_ABANDONED      "job_abandoned"
#define EV_PARTITION_PUBLISHED "partition_published"
#define EV_PARTITION_FAILED   "partition_failed"
#define EV_PARTITION_TAINTED  "partition_tainted"
#define EV_PARTITION_STALE    "partition_stale"
#define EV_PARTITION_DAMAGED  "partition_damaged"
#define EV_LEASE_WAIT         "lease_wait"      /* waiting on another builder */
#define EV_JOB_RESTORED       "job_restored"    /* run cache: outputs restored, no run */
#define EV_PARTITION_RESTORED "partition_restored"      /* run cache */
#define EV_PARTITION_ROLLED_BACK "partition_rolled_back" /* databuild rollback */
#define EV_PARTITION_REMOVED  "partition_removed"       /* databuild rm */

/* An exclusive claim on building one partition (see lease_* below). */
struct lease;

/* The functions of one backend (catalog/backend.h, internal to catalog/). */
struct catalog_ops;

struct catalog {
	const struct catalog_ops *ops;  /* the backend, chosen by catalog_open */
	void *impl;                     /* the backend's state (its open sets it) */
	const struct store *store;
	char *location;                 /* as printed in messages, e.g. the SQLite file */
};

/*
 * Opens the catalog of store. location NULL or "" selects the SQLite file
 * <store>/catalog.db; "sqlite:PATH" another SQLite file; further schemes
 * (postgresql://) select other backends. A corrupt, unreadable or newer-
 * than-supported catalog fails with a message naming the file.
 *
 * The catalog must belong to the store: both carry the store's id
 * (store/store.h store_id, CATALOG_META_STORE_ID). A catalog with another
 * store's id is refused; one with no id takes the store's, unless the
 * store already holds published data (the catalog was emptied, truncated
 * or replaced): that is refused too, naming `databuild recover`.
 */
int catalog_open(struct catalog *c, const struct store *store, const char *location,
		 struct strbuf *err);
/* catalog_open without the store id check: for `databuild recover` alone. */
int catalog_open_unchecked(struct catalog *c, const struct store *store,
			   const char *location, struct strbuf *err);
void catalog_close(struct catalog *c);

/* 1 found (out filled), 0 unknown ref (out->status = PART_MISSING), -1 error. */
int catalog_get_partition(struct catalog *c, const char *ref, struct partition *out,
			  struct strbuf *err);
/*
 * catalog_get_partition for refs[0..n) into out[0..n) (out[i].status
 * PART_MISSING for an unknown ref): one round trip on PostgreSQL, point
 * lookups on SQLite. 0, or -1 with err (out then holds what was read;
 * partition_release each either way).
 */
int catalog_get_partitions(struct catalog *c, const char *const *refs, size_t n,
			   struct partition *out, struct strbuf *err);
/* 1 if catalog_get_partitions costs one round trip (a server), 0 if a lookup each. */
int catalog_lookups_batched(const struct catalog *c);
/*
 * Partitions whose ref starts with prefix ("" = all), in ref order,
 * strictly after `after` (NULL = from the start), at most limit of them,
 * whose status bit (1u << status) is in status_mask (0 = any). Pages
 * through any number of partitions without loading them all.
 */
int catalog_list_partitions(struct catalog *c, const char *prefix, const char *after,
			    size_t limit, unsigned status_mask,
			    struct partition_list *out, struct strbuf *err);
/*
 * The distinct immediate children of directory `dir` ("" = root) among
 * known partitions, in name order, strictly after `after`: a child that
 * is a partition is pushed as "name", one that is a directory as "name/".
 * A name can be both (a partition "a" and partitions "a/b").
 */
int catalog_list_children(struct catalog *c, const char *dir, const char *after,
			  size_t limit, struct strvec *names, struct strbuf *err);

/* One build per request: refs asked for, requester "cli" | "fs" | ... */
int catalog_begin_build(struct catalog *c, const struct strvec *refs,
			const char *requester, int64_t *build_id, struct strbuf *err);
/*
 * catalog_begin_build that also appends es[0..n) (as catalog_append_events
 * would; their build_id is ignored: each gets the new build's) in the same
 * write transaction, right after its build_requested: a plan's job_planned
 * events, known before the build is recorded.
 */
int catalog_begin_build_events(struct catalog *c, const struct strvec *refs,
			       const char *requester, const struct event *es, size_t n,
			       int64_t *build_id, struct strbuf *err);
/* status: "succeeded" | "failed" | "cancelled". */
int catalog_finish_build(struct catalog *c, int64_t build_id, const char *status,
			 struct strbuf *err);
/* 1 found, 0 unknown build, -1 error. */
int catalog_get_build(struct catalog *c, int64_t build_id, struct build_record *out,
		      struct strbuf *err);

/*
 * Records a run as running and its outputs as building (one transaction,
 * with an EV_JOB_STARTED event). run->run_id is assigned by the catalog
 * (unique across every process sharing it) if NULL on entry, and
 * run->log_path is set to the store's <store>/logs/<run_id>.log (and
 * recorded, also in the event) if NULL on entry. Fields used: build_id,
 * job, config_json, pid, host, start_us, log_path, outputs.
 */
int catalog_begin_run(struct catalog *c, struct run_record *run, struct strbuf *err);
int catalog_set_run_pid(struct catalog *c, const char *run_id, long pid,
			struct strbuf *err);
/*
 * In one transaction: stores the manifest, marks every output live with
 * its hash, size, build key, version and run, marks the run succeeded,
 * and appends EV_JOB_FINISHED and one EV_PARTITION_PUBLISHED per output.
 * The caller has already made the data durable in the store. The run
 * (m->run_id) must have been begun with catalog_begin_run. Clears the
 * error of an output that had failed before.
 */
int catalog_publish(struct catalog *c, const struct manifest *m, struct strbuf *err);
/*
 * catalog_publish for n manifests in ONE transaction (all or nothing):
 * the fast path for many small runs (10k manifests in well under a second).
 */
int catalog_publish_batch(struct catalog *c, const struct manifest *const *ms, size_t n,
			  struct strbuf *err);
/*
 * Ends a run that did not publish: status failed / cancelled / abandoned.
 * Its outputs become PART_FAILED with `error` (failed) or return to what
 * they were before the run (cancelled, abandoned: missing outputs are
 * forgotten, previously live ones stay live). Appends the matching event.
 * Only outputs still held by this run (partition run_id == run_id) change.
 * A run that is not running any more is an error.
 */
int catalog_finish_run(struct catalog *c, const char *run_id, enum run_status status,
		       int exit_status, const char *error, struct strbuf *err);
/* 1 found (out filled), 0 unknown run, -1 error. */
int catalog_get_run(struct catalog *c, const char *run_id, struct run_record *out,
		    struct strbuf *err);
/* 1 found, 0 no manifest for run_id, -1 error. */
int catalog_get_manifest(struct catalog *c, const char *run_id, struct manifest *out,
			 struct strbuf *err);
/* Mean duration of the job's last n succeeded runs; 0 if none (for ETAs). */
int catalog_last_durations(struct catalog *c, const char *job, size_t n,
			   int64_t *avg_us, struct strbuf *err);

/* Appends an event; e->seq and e->time_us are assigned (time if 0). */
int catalog_append_event(struct catalog *c, const struct event *e, int64_t *seq,
			 struct strbuf *err);
/* Appends es[0..n) in one transaction (all or none), in order. */
int catalog_append_events(struct catalog *c, const struct event *es, size_t n,
			  struct strbuf *err);
/*
 * Calls fn for each event with seq > after_seq in seq order (at most limit;
 * 0 = all). fn returning non-zero stops the walk (not an error). Events
 * are read a page at a time, so fn may use the same handle. seq values
 * are assigned in commit order: a reader that remembers the last seq it
 * saw never misses a later event.
 */
int catalog_read_events(struct catalog *c, int64_t after_seq, size_t limit,
			int (*fn)(const struct event *e, void *arg), void *arg,
			struct strbuf *err);
/*
 * The seq of the newest event (0 if none), in O(1): take it before
 * catalog_begin_build to read a build's events from there on without
 * scanning the whole log.
 */
int catalog_last_event_seq(struct catalog *c, int64_t *seq, struct strbuf *err);
/*
 * A cheap change counter (no query, no system call): a number that moves
 * whenever the catalog was changed, by any handle or process, before this
 * handle's latest read (any call that read the catalog). Values of one
 * handle compare; equal values around two reads mean nothing changed in
 * between. 1 with *out set, or 0 when the backend keeps no such counter
 * (PostgreSQL): callers then ask (catalog_last_event_seq).
 */
int catalog_data_version(struct catalog *c, uint64_t *out);

/*
 * How many partitions the catalog holds in each status, in one query:
 * counts (PART_STATUS_NR entries, indexed by enum part_status) is
 * overwritten; statuses whose bit (1u << status) is not in status_mask
 * count 0 (status_mask 0 = every status). counts[PART_MISSING] is 0.
 */
int catalog_count_partitions(struct catalog *c, unsigned status_mask, int64_t *counts,
			     struct strbuf *err);

/*
 * Marks refs tainted (and, with downstream, every partition built from
 * them, transitively through manifests, stale). The refs that changed
 * are pushed to `changed` (may be NULL). A ref unknown to the catalog is
 * an error naming it. One transaction.
 */
int catalog_taint(struct catalog *c, const struct strvec *refs, int downstream,
		  int64_t build_id, struct strvec *changed, struct strbuf *err);
/*
 * Transitive upstream (inputs of the manifests that built ref, and theirs)
 * or downstream (partitions whose current manifest read ref, and theirs)
 * of ref, each once, nearest first.
 */
int catalog_lineage(struct catalog *c, const char *ref, int downstream,
		    struct strvec *refs, struct strbuf *err);
/*
 * Records a new identity for ref's data file, found intact by a rehash
 * against its manifest (after the store was copied or restored, every
 * inode and ctime changes): only while ref is live and published_run is
 * still its published run, else nothing changes.
 */
int catalog_set_ident(struct catalog *c, const char *ref, const char *published_run,
		      const char *ident, struct strbuf *err);
/*
 * Checks the data file of p, a partition just read (live, stale or
 * tainted, with published data; others are left alone and count as
 * intact) against what its publish recorded, by fstat (store_check_data).
 * Only when that differs in identity but not in size is the file rehashed:
 * the same bytes re-record the identity (catalog_set_ident) and count as
 * intact. Damage marks p damaged in the catalog with its event
 * (EV_PARTITION_DAMAGED, the reason in the error) and in p. Returns 0
 * intact, 1 damaged (why says what is wrong), -1 error. Not for FUSE
 * handlers: it may read the whole file.
 */
int catalog_check_data(struct catalog *c, struct partition *p, struct strbuf *why,
		       struct strbuf *err);
/*
 * Migrates a store made before objects/ (catalog/objects.c; nothing when
 * its store.format says "objects"): every live, stale or tainted data file
 * whose bytes are its manifest's is linked into objects/ and its identity
 * recorded again, then store.format is written. Resumable. 0, or -1 with err.
 */
int catalog_migrate_objects(struct catalog *c, struct strbuf *err);

/*
 * Versions (docs/design/history.md). Every publish of a partition is a
 * version: its bytes are the object <store>/objects/<sha256>. A version is
 * named by its publish time with microseconds (catalog_format_version_name);
 * no two versions of one ref share a time. The current version is the one
 * the partition's row points at (published_run).
 */
struct version {
	char *ref;
	char *run_id;                        /* the run that published it */
	int64_t time_us;                     /* publish time, µs since the epoch */
	char build_key[SHA256_HEX_LEN + 1];
	char sha256[SHA256_HEX_LEN + 1];
	int64_t size;
	char *job;                           /* job label, or NULL */
	char *version;                       /* job version text, or NULL */
	int current;                         /* 1: the partition's current version */
};
void version_init(struct version *v);
void version_release(struct version *v);
/* Deep copy into dst (initialised by the callee). */
void version_copy(struct version *dst, const struct version *src);
struct version_list {
	struct version *items;
	size_t nr, alloc;
};
#define VERSION_LIST_INIT { .items = NULL, .nr = 0, .alloc = 0 }
void version_list_release(struct version_list *l);
/* {"ref", "name", "run_id", "time_us", "build_key", "sha256", "size", "job",
 *  "version", "current"}; absent values null. */
cJSON *version_to_json(const struct version *v);
/* Appends us as "2024-01-07T12:00:00.123456Z" (UTC, always 6 digits). */
void catalog_format_version_name(int64_t us, struct strbuf *out);
/* Parses a name made by catalog_format_version_name: 0, or -1 if malformed. */
int catalog_parse_version_name(const char *s, int64_t *us);

/* The versions of ref, oldest first, current flagged (appended to out). */
int catalog_list_versions(struct catalog *c, const char *ref, struct version_list *out,
			  struct strbuf *err);
/*
 * Every version whose ref starts with prefix ("" = all), in (ref, time_us)
 * order, strictly after (after_ref, after_us) (after_ref NULL: from the
 * start), at most limit of them: pages through any number of versions.
 */
int catalog_page_versions(struct catalog *c, const char *prefix, const char *after_ref,
			  int64_t after_us, size_t limit, struct version_list *out,
			  struct strbuf *err);
/* The newest version of ref published under build_key: 1 found, 0 none, -1. */
int catalog_find_version(struct catalog *c, const char *ref, const char *build_key,
			 struct version *out, struct strbuf *err);
/* The version of ref named which (its name, or its run id): 1, 0 none, -1. */
int catalog_get_version(struct catalog *c, const char *ref, const char *which,
			struct version *out, struct strbuf *err);
/*
 * In one transaction, makes vs[0..n) current again: each partition becomes
 * live with the version's hash, size, build key, job, job version and run
 * (run_id and published_run), idents[i] as its data identity, no error;
 * one event `event` (EV_PARTITION_RESTORED or EV_PARTITION_ROLLED_BACK)
 * each, payload {"run_id", "version" (the name), "sha256", "size"}, in
 * build build_id (0: none). The caller has already linked the objects
 * over data/. A partition being built by a running run is an error
 * naming the ref and the run; nothing changes then.
 */
int catalog_restore_versions(struct catalog *c, const struct version *vs,
			     const char *const *idents, size_t n, const char *event,
			     int64_t build_id, struct strbuf *err);
/*
 * In one transaction, forgets the partitions refs (they become missing;
 * their versions stay), one EV_PARTITION_REMOVED event each. A ref unknown
 * to the catalog, or being built by a running run, is an error naming it
 * (and the run); nothing changes then.
 */
int catalog_remove_partitions(struct catalog *c, const struct strvec *refs,
			      struct strbuf *err);
/*
 * Deletes the version rows vs[0..n) (matched by ref and time_us) in one
 * transaction, except a version that is current: those are left and not
 * counted. *deleted (may be NULL) gets how many went.
 */
int catalog_delete_versions(struct catalog *c, const struct version *vs, size_t n,
			    size_t *deleted, struct strbuf *err);
/* 1 if a version or a partition row references content sha256, 0 if none, -1. */
int catalog_hash_referenced(struct catalog *c, const char *sha256, struct strbuf *err);
/*
 * 1 if run_id is still needed: it is running, or a version or a partition
 * row (run_id or published_run) names it; 0 if not (unknown runs: 0), -1.
 */
int catalog_run_referenced(struct catalog *c, const char *run_id, struct strbuf *err);

/*
 * Facts the catalog keeps about itself, such as the id of the store it
 * belongs to (CATALOG_META_STORE_ID). get: 1 found (*value the caller's),
 * 0 none (*value NULL), -1 error.
 */
#define CATALOG_META_STORE_ID "store_id"
int catalog_get_meta(struct catalog *c, const char *key, char **value, struct strbuf *err);
int catalog_set_meta(struct catalog *c, const char *key, const char *value,
		     struct strbuf *err);

/*
 * Sets one partition's status (creating the row if needed; PART_MISSING
 * forgets the partition). Stale, tainted and failed append their event.
 */
int catalog_set_status(struct catalog *c, const char *ref, enum part_status status,
		       const char *error, struct strbuf *err);

/*
 * Leases. catalog_lease_acquire claims the exclusive right to build ref
 * for this process. With wait == 0 it returns at once: 1 acquired
 * (*out set), 0 held by someone else. With wait != 0 it blocks until the
 * holder releases it or dies, then acquires it (returns 1). -1 on error.
 * A lease dies with its holder: the kernel (SQLite backend: flock on
 * <store>/locks/..., opened O_CLOEXEC) or the server (PostgreSQL: a
 * session advisory lock) releases it, even after kill -9. Two acquires
 * of one ref conflict even inside one process. Thread-safe.
 *
 * After acquiring, the holder must re-read the partition: whoever held the
 * lease before may have published it meanwhile. If the partition is
 * PART_BUILDING with a run whose lease was just acquired, that run's
 * process died: the holder calls catalog_finish_run(..., RUN_ABANDONED).
 */
int catalog_lease_acquire(struct catalog *c, const char *ref, int wait,
			  struct lease **out, struct strbuf *err);
void catalog_lease_release(struct catalog *c, struct lease *l);

/*
 * Change notification, so waiters sleep instead of polling. Sets *fd to a
 * descriptor that becomes readable when the catalog may have changed under
 * this handle: another handle or process committed events (a publish, a
 * failure, a new build) or released a lease. *fd is -1 when the backend
 * cannot notify (SQLite): callers then re-check on a timer.
 *
 * Each call consumes the notifications pending so far and returns how many
 * there were (> 0: re-read whatever you wait on), or -1 with err. Call it
 * right before poll()ing *fd: a query on the handle may have buffered a
 * notification that no longer shows on the descriptor. The first call
 * starts listening; changes before it are not reported. Same threading
 * rule as every other call: one thread per handle.
 */
int catalog_watch(struct catalog *c, int *fd, struct strbuf *err);
/*
 * catalog_watch, naming the leases released: the ref of every lease that
 * another handle released since the last call is pushed to released, and
 * "" for a notification that may have been a release this handle cannot
 * name (sent by an older databuild, or lost while reconnecting). Lease
 * waiters re-try only the refs named, instead of every waiter on every
 * commit of every builder.
 */
int catalog_watch_leases(struct catalog *c, int *fd, struct strvec *released,
			 struct strbuf *err);

#endif
