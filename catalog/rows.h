#ifndef DATABUILD_CATALOG_ROWS_H
#define DATABUILD_CATALOG_ROWS_H

#include <stdint.h>

#include "catalog/catalog.h"

struct cJSON;

/*
 * What the SQL backends (sqlite.c, postgres.c) share: the catalog's rules
 * written once over the row operations of the query layer (query.h, one
 * implementation for both backends; internal to catalog/). The functions
 * below run inside a write transaction the backend opened and leave
 * commit or rollback to the caller: on -1 (err set) the transaction must
 * roll back.
 */

/* A run id is the decimal text of a positive integer. 0 if malformed. */
int64_t rows_parse_run_id(const char *s);
/* rows_parse_run_id, or -1 with err naming the catalog and the id. */
int rows_run_id(struct catalog *c, const char *run_id, int64_t *id, struct strbuf *err);
/* Prints o compactly and frees it; the text is the caller's. */
char *rows_json_take(struct cJSON *o);
/* Appends the strings of the JSON array text (NULL or malformed: none). */
void rows_strvec_from_json(struct strvec *out, const char *text);
/* Length of the directory part of the first n bytes of s ("a/b/c": 3), 0 if none. */
size_t rows_dir_len(const char *s, size_t n);

/*
 * The statuses in mask (bit 1 << status) as ",name,name,": a partition's
 * status is in it when ",STATUS," is a substring (one bound parameter).
 */
void rows_status_filter(unsigned mask, struct strbuf *out);

/* Deletes ref's row and the dataset rows no other partition still needs. */
int rows_forget_partition(struct catalog *c, const char *ref, struct strbuf *err);
/* catalog_set_status inside the caller's transaction. */
int rows_set_status(struct catalog *c, const char *ref, enum part_status status,
		    const char *error, int64_t t, struct strbuf *err);
/*
 * Adds to the JSON array prior what a run taking over ref must restore if
 * it ends without publishing: p, ref's row (or a partition_init'ed one).
 * A partition building under another run, whose end was never recorded,
 * is recorded stale (it has published data) or missing.
 */
void rows_prior_add(struct cJSON *prior, const char *ref, const struct partition *p);
/*
 * The event that ends a run finished as status (failed, cancelled or
 * abandoned), or NULL with err set: a run that succeeded is published.
 */
const char *rows_end_event(struct catalog *c, const char *run_id, enum run_status status,
			   struct strbuf *err);
/*
 * catalog_finish_run inside the caller's transaction: the run's row ends;
 * its outputs still held by it become failed (RUN_FAILED) or get their
 * prior state back (cancelled, abandoned: a partition restored live whose
 * data no longer match its row is restored stale); then the end event ev.
 * A run that has already ended is an error, unless replay is set and it
 * ended as status (a retried finish whose first commit went through).
 */
int rows_finish_run(struct catalog *c, const char *run_id, int64_t id, enum run_status status,
		    const char *ev, int exit_status, const char *error, int replay, int64_t t,
		    struct strbuf *err);
/* catalog_lineage (no transaction needed). */
int rows_lineage(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
		 struct strbuf *err);
/*
 * catalog_taint inside the caller's transaction; the refs whose status
 * changed are appended to changed (the caller drops them on rollback).
 */
int rows_taint(struct catalog *c, const struct strvec *refs, int downstream, int64_t t,
	       int64_t build_id, struct strvec *changed, struct strbuf *err);

#endif
