#ifndef DATABUILD_CATALOG_QUERY_H
#define DATABUILD_CATALOG_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/backend.h"
#include "catalog/rows.h"

/*
 * The query layer of the SQL backends (internal to catalog/): the
 * catalog's statements written once, their parameters bound and their
 * rows decoded once, and the operations that are the same on every SQL
 * database written once, over a small adapter each backend provides
 * (struct query_backend: run a statement, step through its rows, read a
 * column, run a write transaction). A backend keeps what differs: its
 * connection, transactions and locking, error mapping, leases and
 * notifications. Optional adapter entries let the shared code batch
 * statements (PostgreSQL: a pipeline), bind arrays (PostgreSQL: publish
 * set-at-a-time) and take ids before inserting (sequences, so that a
 * retried transaction finds its rows).
 *
 * Statements (query_sql) use SQLite's numbered placeholders ?1, ?2, ...
 * (the PostgreSQL adapter turns them into $1, $2, ... when it prepares a
 * statement) and only SQL both dialects accept: casts are CAST(x AS T), a
 * parameter whose type nothing else fixes is cast, "no limit" is
 * QUERY_NO_LIMIT, inserted keys come back with RETURNING (SQLite >= 3.35).
 * The Q_SET_* statements alone are PostgreSQL's: they take arrays (QP_ARRAY)
 * and run only on an adapter with arrays.
 */

enum query_id {
	Q_PART_GET,
	Q_LIST_GE_LT,
	Q_LIST_GT_LT,
	Q_LIST_GE,
	Q_LIST_GT,
	Q_CHILDREN,
	Q_PART_INSERT,
	Q_DS_INSERT,
	Q_DS_ANY,
	Q_DS_DELETE,
	Q_PART_DELETE,
	Q_PART_STATUS,
	Q_PART_BUILDING,
	Q_PART_PUBLISH,
	Q_PART_RESTORE,
	Q_PART_IDENT,
	Q_BUILD_INSERT,
	Q_BUILD_FINISH,
	Q_BUILD_GET,
	Q_RUN_INSERT,
	Q_RUN_PID,
	Q_RUN_LOG,
	Q_RUN_GET,
	Q_RUN_FINISH,
	Q_MAN_PUT,
	Q_MAN_GET,
	Q_MI_DELETE,
	Q_MI_INSERT,
	Q_UPSTREAM,
	Q_DOWNSTREAM,
	Q_DURATIONS,
	Q_EV_INSERT,
	Q_EV_READ,
	Q_EV_LAST,
	Q_META_GET,
	Q_META_SET,
	Q_COUNT,
	/* versions (docs/design/history.md) */
	Q_VER_INSERT,
	Q_VER_LIST,
	Q_VER_PAGE,
	Q_VER_PAGE_LT,
	Q_VER_FIND,
	Q_VER_BY_TIME,
	Q_VER_BY_RUN,
	Q_VER_DELETE,
	Q_HASH_REF,
	Q_RUN_REF,
	/* publish_batch set-at-a-time: one statement per table over arrays */
	Q_SET_RUNS_GET,
	Q_SET_PART_GET,
	Q_SET_MAN_PUT,
	Q_SET_MI_DELETE,
	Q_SET_MI_INSERT,
	Q_SET_PART_INSERT,
	Q_SET_DS_INSERT,
	Q_SET_PART_PUBLISH,
	Q_SET_RUN_FINISH,
	Q_SET_EV_INSERT,
	Q_SET_VER_INSERT,
	Q__NR
};

/* The SQL of each statement, with ?N placeholders. */
extern const char *const query_sql[Q__NR];

/* The LIMIT bound that means none (SQLite refuses NULL, PostgreSQL -1). */
#define QUERY_NO_LIMIT INT64_MAX

/*
 * The parameters of one statement, ?1 first. Text is not copied: it must
 * stay valid until the statement is done.
 */
#define QUERY_MAX_PARAMS 10
enum qparam_type { QP_NULL, QP_TEXT, QP_INT, QP_ARRAY };
/* An array parameter: its items as text, NULL items SQL NULL (qa_release frees). */
struct qarray {
	char **v;
	size_t nr, alloc;
};
#define QARRAY_INIT { .v = NULL, .nr = 0, .alloc = 0 }
struct qparam {
	enum qparam_type type;
	const char *text;   /* QP_TEXT: len bytes, not necessarily NUL-terminated */
	size_t len;
	int64_t num;        /* QP_INT */
	const struct qarray *arr;  /* QP_ARRAY: not copied either */
};
struct qparams {
	struct qparam v[QUERY_MAX_PARAMS];
	int n;
};
#define QPARAMS_INIT { .n = 0 }
/* Text (NULL: SQL NULL); the first n bytes; an integer; an id (NULL unless > 0). */
void qp_text(struct qparams *p, const char *s);
void qp_textn(struct qparams *p, const char *s, size_t n);
void qp_int(struct qparams *p, int64_t x);
void qp_id(struct qparams *p, int64_t x);
/* An array (only for adapters with arrays). */
void qp_array(struct qparams *p, const struct qarray *a);
/* Appends an item to an array: text (NULL: NULL), n bytes, an integer, an id. */
void qa_text(struct qarray *a, const char *s);
void qa_textn(struct qarray *a, const char *s, size_t n);
void qa_int(struct qarray *a, int64_t x);
void qa_id(struct qarray *a, int64_t x);
void qa_release(struct qarray *a);

/* A statement being read: the backend's state (its run sets it). */
struct qrows {
	void *res;   /* SQLite: the statement; PostgreSQL: the result */
	int row;     /* PostgreSQL: the current row, -1 before the first */
};

struct query_backend {
	/*
	 * Runs statement id with p into *rows: 0, or -1 with err (then there
	 * is nothing to release). The rows are read with next; every run
	 * that succeeded is ended by done, also after next failed.
	 */
	int (*run)(struct catalog *c, enum query_id id, const struct qparams *p,
		   struct qrows *rows, struct strbuf *err);
	/* Steps to the next row: 1, 0 after the last one, -1 with err. */
	int (*next)(struct catalog *c, struct qrows *rows, struct strbuf *err);
	/* The rows an INSERT, UPDATE or DELETE changed (once next returned 0). */
	long (*changes)(struct catalog *c, const struct qrows *rows);
	void (*done)(struct catalog *c, struct qrows *rows);
	/* Column col of the current row: its text (NULL if NULL) and length. */
	const char *(*text)(const struct qrows *rows, int col, size_t *len);
	/* 1 if column col of the current row is NULL. */
	int (*is_null)(const struct qrows *rows, int col);
	/* Column col as an integer (0 if NULL) or a double (0 if NULL). */
	int64_t (*integer)(const struct qrows *rows, int col);
	double (*real)(const struct qrows *rows, int col);
	/*
	 * Runs fn in one write transaction (writers serialised, commit or
	 * rollback by fn's result): 0, or -1 with err.
	 */
	int (*write_tx)(struct catalog *c, int (*fn)(struct catalog *c, void *arg,
						     struct strbuf *err),
			void *arg, struct strbuf *err);
	/*
	 * NULL (statements always run at once), or q_exec's contract, except
	 * between batch_begin and batch_end, where statement id is queued
	 * and *changes (may be NULL) is -1: its outcome is known at
	 * batch_end only.
	 */
	int (*send)(struct catalog *c, enum query_id id, const struct qparams *p, long *changes,
		    struct strbuf *err);
	/*
	 * NULL, or opens a batch: the n statements ids are prepared, and
	 * those sent until batch_end are queued and run in one round trip.
	 * batch_end waits for them all: 0, or -1 with the first error in err
	 * (err NULL: the outcome alone).
	 */
	int (*batch_begin)(struct catalog *c, const enum query_id *ids, size_t n,
			   struct strbuf *err);
	int (*batch_end)(struct catalog *c, struct strbuf *err);
	/*
	 * NULL, or records that the caller chose id for a row of insert, so
	 * that the ids new_id takes later stay above it.
	 */
	int (*id_given)(struct catalog *c, enum query_id insert, int64_t id, struct strbuf *err);
	/*
	 * NULL (the database assigns ids as it inserts), or takes the id the
	 * row of insert (Q_BUILD_INSERT, Q_RUN_INSERT) will have into *id,
	 * unless *id is set already: a transaction run again keeps its ids
	 * and so finds the rows its first attempt may have committed.
	 */
	int (*new_id)(struct catalog *c, enum query_id insert, int64_t *id, struct strbuf *err);
	/*
	 * 1 while write_tx runs fn again after a lost connection whose
	 * first COMMIT may have gone through (fn then takes work it finds
	 * done as done), else 0.
	 */
	int (*retrying)(struct catalog *c);
	/*
	 * 1 if run and send bind QP_ARRAY parameters (the Q_SET_* statements
	 * run): then publish_batch writes a batch in which no run and no
	 * output appears twice set-at-a-time, one statement per table.
	 */
	int arrays;
};

/*
 * Statements run on the adapter of c (c->ops->query). q_exec runs a
 * statement that returns no rows; *changes (may be NULL) gets the rows it
 * changed. q_one runs a statement for its first row and calls fn on it
 * (fn NULL: only whether there is one): 1, 0 if none, -1 (fn's -1 too).
 */
int q_exec(struct catalog *c, enum query_id id, const struct qparams *p, long *changes,
	   struct strbuf *err);
int q_one(struct catalog *c, enum query_id id, const struct qparams *p,
	  int (*fn)(struct catalog *c, const struct qrows *rows, void *arg), void *arg,
	  struct strbuf *err);
/* q_exec, or queued if a batch is open (the adapter's send). */
int q_send(struct catalog *c, enum query_id id, const struct qparams *p, long *changes,
	   struct strbuf *err);
/* q_one reading the first column of the first row as an integer into *out. */
int q_one_int(struct catalog *c, enum query_id id, const struct qparams *p, int64_t *out,
	      struct strbuf *err);

/* Row decoding: the current row of a Q_PART_GET or Q_LIST_* statement into p. */
void q_read_partition(struct catalog *c, const struct qrows *rows, struct partition *p);

/*
 * The layer is four files, one per noun: query.c (the statements, their
 * parameters, row decoding, partitions, datasets and meta), query_runs.c
 * (builds, runs, manifests: begun and published), query_events.c (the
 * event log, lineage and taint) and query_versions.c (a partition's
 * history). What they share:
 */
/* The adapter of c's backend. */
static inline const struct query_backend *q_backend(struct catalog *c)
{
	return c->ops->query;
}
/*
 * Column i of the current row: text (a copy, NULL if NULL); an integer (0
 * if NULL); an id as the decimal text callers see (run ids; NULL if NULL);
 * a SHA-256 hex digest into out (at most SHA256_HEX_LEN characters, "" if
 * NULL).
 */
char *q_col_dup(struct catalog *c, const struct qrows *rows, int i);
int64_t q_col_int(struct catalog *c, const struct qrows *rows, int i);
char *q_col_id(struct catalog *c, const struct qrows *rows, int i);
void q_col_hex(struct catalog *c, const struct qrows *rows, int i, char out[SHA256_HEX_LEN + 1]);
/*
 * The smallest valid UTF-8 string greater than every string starting with
 * prefix (in byte order, which is code point order) into out: prefix with
 * its last code point below U+10FFFF incremented and the rest dropped. 1,
 * or 0 if there is none (prefix empty or all U+10FFFF). Bytes that are
 * not UTF-8 (which PostgreSQL refuses anyway) are incremented as bytes.
 */
int q_prefix_upper(const char *prefix, struct strbuf *out);
/* Adds the parameters of Q_EV_INSERT to p (time_us 0: now; ids 0: NULL). */
void q_ev_params(struct qparams *p, int64_t time_us, int64_t build_id, const char *type,
		 const char *ref, int64_t run_id, const char *payload);

/*
 * Inserts ref with status if it is unknown, and the datasets above it;
 * *created (may be NULL; must be NULL in a batch) tells whether it was
 * inserted. In a batch every dataset above ref is sent (none is known to
 * exist yet); the outcome is the same.
 */
int q_ensure_partition(struct catalog *c, const char *ref, enum part_status status, int64_t t,
		       int *created, struct strbuf *err);

/*
 * The row operations rows.c runs the catalog's rules with, inside the
 * caller's write transaction.
 */
/* Sets ref's status, error and updated_us; other columns stay. */
int q_update_status(struct catalog *c, const char *ref, enum part_status status,
		    const char *error, int64_t t, struct strbuf *err);
/* Deletes ref's row. */
int q_delete_partition(struct catalog *c, const char *ref, struct strbuf *err);
/* 1 if some partition's ref starts with dir's first len bytes + "/", 0 if none, -1. */
int q_dataset_used(struct catalog *c, const char *dir, size_t len, struct strbuf *err);
/* Deletes the dataset row of the first len bytes of dir. */
int q_delete_dataset(struct catalog *c, const char *dir, size_t len, struct strbuf *err);
/* Puts back the row of a partition a run held (see rows_finish_run). */
int q_restore_partition(struct catalog *c, const char *ref, enum part_status status,
			int64_t run_id, const char *job, const char *error, int64_t updated_us,
			struct strbuf *err);
/*
 * Run id's record into r (run_record_init'ed here) and its prior-state
 * JSON into *prior (may be NULL; caller frees): 1, 0 if none, -1.
 */
int q_get_run_row(struct catalog *c, int64_t id, struct run_record *r, char **prior,
		  struct strbuf *err);
/* Records run id's end. */
int q_end_run(struct catalog *c, int64_t id, enum run_status status, int64_t t,
	      int exit_status, const char *error, struct strbuf *err);
/*
 * Appends one event (t 0: now; build_id, run_id 0: none; payload JSON or
 * NULL); its sequence number into *seq (may be NULL).
 */
int q_event(struct catalog *c, int64_t time_us, int64_t build_id, const char *type,
	    const char *ref, int64_t run_id, const char *payload, int64_t *seq,
	    struct strbuf *err);
/*
 * Appends es[0..n) inside the caller's write transaction, checked as
 * catalog_append_events checks them (one statement over arrays where the
 * adapter has them).
 */
int q_events_in_tx(struct catalog *c, const struct event *es, size_t n, struct strbuf *err);
/*
 * The refs one lineage step from ref (downstream: its readers, with their
 * status names in states; upstream: its inputs, states left alone), appended.
 */
int q_neighbours(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
		 struct strvec *states, struct strbuf *err);

/*
 * The catalog_ops entries written once (backend.h states their contracts;
 * the wrappers of catalog.c have initialised the out-structures).
 */
/* catalog_get_partitions on an adapter with arrays: one statement. */
int q_get_partitions(struct catalog *c, const char *const *refs, size_t n,
		     struct partition *out, struct strbuf *err);
int q_get_partition(struct catalog *c, const char *ref, struct partition *out,
		    struct strbuf *err);
int q_list_partitions(struct catalog *c, const char *prefix, const char *after, size_t limit,
		      unsigned status_mask, struct partition_list *out, struct strbuf *err);
int q_list_children(struct catalog *c, const char *dir, const char *after, size_t limit,
		    struct strvec *names, struct strbuf *err);
/* catalog_begin_build(_events); retry-safe where the backend has new_id. */
int q_begin_build(struct catalog *c, const struct strvec *refs, const char *requester,
		  const struct event *es, size_t n, int64_t *build_id, struct strbuf *err);
/*
 * catalog_begin_run: its writes are one batch where the backend has one
 * (PostgreSQL: one round trip), its run id taken first where it has
 * new_id (then a run begun again after a lost connection finds its row).
 */
int q_begin_run(struct catalog *c, struct run_record *run, struct strbuf *err);
/*
 * publish(_batch) for both backends: the runs looked up, then their rows
 * sent in one batch per 64 manifests (one round trip where the adapter
 * batches), or, on an adapter with arrays, set-at-a-time (see arrays).
 */
int q_publish(struct catalog *c, const struct manifest *m, struct strbuf *err);
int q_publish_batch(struct catalog *c, const struct manifest *const *ms, size_t n,
		    struct strbuf *err);
int q_finish_build(struct catalog *c, int64_t build_id, const char *status,
		   struct strbuf *err);
int q_get_build(struct catalog *c, int64_t build_id, struct build_record *out,
		struct strbuf *err);
int q_set_run_pid(struct catalog *c, const char *run_id, long pid, struct strbuf *err);
int q_finish_run(struct catalog *c, const char *run_id, enum run_status status,
		 int exit_status, const char *error, struct strbuf *err);
int q_get_run(struct catalog *c, const char *run_id, struct run_record *out,
	      struct strbuf *err);
int q_get_manifest(struct catalog *c, const char *run_id, struct manifest *out,
		   struct strbuf *err);
int q_last_durations(struct catalog *c, const char *job, size_t n, int64_t *avg_us,
		     struct strbuf *err);
int q_append_event(struct catalog *c, const struct event *e, int64_t *seq,
		   struct strbuf *err);
int q_append_events(struct catalog *c, const struct event *es, size_t n, struct strbuf *err);
/*
 * Checks e as append_event(s) does (a type, a valid run id, a JSON object
 * payload) and appends the parameters of its Q_EV_INSERT to p (time 0:
 * now): 0, or -1 with err. For a backend that sends the insert itself
 * (PostgreSQL: the whole transaction in one round trip); the text of e
 * must outlive p.
 */
int q_event_params(struct catalog *c, const struct event *e, struct qparams *p,
		   struct strbuf *err);
int q_read_events(struct catalog *c, int64_t after_seq, size_t limit,
		  int (*fn)(const struct event *e, void *arg), void *arg, struct strbuf *err);
int q_last_event_seq(struct catalog *c, int64_t *seq, struct strbuf *err);
int q_taint(struct catalog *c, const struct strvec *refs, int downstream, int64_t build_id,
	    struct strvec *changed, struct strbuf *err);
int q_lineage(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
	      struct strbuf *err);
int q_set_ident(struct catalog *c, const char *ref, const char *published_run,
		const char *ident, struct strbuf *err);
int q_get_meta(struct catalog *c, const char *key, char **value, struct strbuf *err);
int q_set_meta(struct catalog *c, const char *key, const char *value, struct strbuf *err);
int q_set_status(struct catalog *c, const char *ref, enum part_status status,
		 const char *error, struct strbuf *err);
int q_count_partitions(struct catalog *c, unsigned status_mask, int64_t *counts,
		       struct strbuf *err);
/* The versions of catalog.h (docs/design/history.md). */
int q_list_versions(struct catalog *c, const char *ref, struct version_list *out,
		    struct strbuf *err);
int q_page_versions(struct catalog *c, const char *prefix, const char *after_ref,
		    int64_t after_us, size_t limit, struct version_list *out, struct strbuf *err);
int q_find_version(struct catalog *c, const char *ref, const char *build_key,
		   struct version *out, struct strbuf *err);
int q_get_version(struct catalog *c, const char *ref, const char *which, struct version *out,
		  struct strbuf *err);
int q_restore_versions(struct catalog *c, const struct version *vs, const char *const *idents,
		       size_t n, const char *event, int64_t build_id, struct strbuf *err);
int q_remove_partitions(struct catalog *c, const struct strvec *refs, struct strbuf *err);
int q_delete_versions(struct catalog *c, const struct version *vs, size_t n, size_t *deleted,
		      struct strbuf *err);
int q_hash_referenced(struct catalog *c, const char *sha256, struct strbuf *err);
int q_run_referenced(struct catalog *c, const char *run_id, struct strbuf *err);

#endif
