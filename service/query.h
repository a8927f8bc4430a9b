#ifndef DATABUILD_SERVICE_QUERY_H
#define DATABUILD_SERVICE_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include "core/array.h"
#include "core/strbuf.h"

/*
 * What a request says, parsed without I/O: query parameters, request
 * bodies, URL paths. Each parser returns 0, or -1 with a message in err
 * that names the parameter (or the body's JSON path) and what is wrong.
 */

#define QUERY_LIMIT_DEFAULT 100
#define QUERY_LIMIT_MAX 10000

/* ?limit=N: NULL -> QUERY_LIMIT_DEFAULT; else 1..QUERY_LIMIT_MAX. */
int query_limit(const char *text, size_t *out, struct strbuf *err);
/* A non-negative integer parameter `name` (a sequence number, a cursor); NULL -> 0. */
int query_seq(const char *name, const char *text, int64_t *out, struct strbuf *err);
/*
 * ?state=S[,S...]: partition statuses as in `databuild ls --status`
 * into a mask of (1u << enum part_status); NULL or "" -> 0 (any).
 */
int query_states(const char *text, unsigned *mask, struct strbuf *err);
/* A ref given as parameter `name`: ref_validate, with the parameter named. */
int query_ref(const char *name, const char *text, struct strbuf *err);
/* A dataset (?dataset=D): the directory of partitions under D/, a valid ref. */
int query_dataset(const char *text, struct strbuf *err);

/*
 * The body of POST /api/builds and /api/taint:
 * {"refs": ["REF", ...], "downstream": BOOL}. refs must be a non-empty
 * array of valid refs (duplicates are dropped); downstream (may be NULL:
 * then the member is refused) is false when absent.
 */
int body_refs(const char *body, size_t len, struct strvec *refs, int *downstream,
	      struct strbuf *err);

/*
 * The dataset of a ref, as the API groups partitions: its leading
 * segments up to the first key=value segment ("summaries" for
 * summaries/category=comedy/date=1), else the ref without its last
 * segment, else the ref itself. Returns its length in ref.
 */
size_t dataset_len(const char *ref);

/* 1 if path has a "." or ".." segment or an empty one inside it. */
int path_unsafe(const char *path);

/*
 * "bytes=A-B", "bytes=A-", "bytes=-N" against a file of size bytes:
 * 1 with [*from, *to] (inclusive) set, 0 if unsatisfiable (416),
 * -1 if malformed or several ranges (served whole, as RFC 9110 allows).
 */
int range_parse(const char *text, int64_t size, int64_t *from, int64_t *to);

#endif
