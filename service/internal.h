#ifndef DATABUILD_SERVICE_INTERNAL_H
#define DATABUILD_SERVICE_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/json.h"
#include "service/address.h"
#include "service/service.h"
#include "service/token.h"

/*
 * Inside the service: server.c (the daemon, authentication), api.c
 * (the routes under /api/, builds, taint, events), partitions.c,
 * lineage.c and runs.c (the reading handlers), builds.c (build threads),
 * stream.c (the responses that follow: SSE events, a run's growing log),
 * reply.c (responses), token.c, address.c and query.c (pure parsing).
 */

struct service_build;  /* builds.c */
struct event_hub;      /* stream.c */

/* The builds started over the API, by id (guarded by lock). */
struct builds {
	pthread_mutex_t lock;
	struct service_build **items;  /* items[id - 1] */
	size_t nr, alloc;
	size_t running;                /* build threads not yet ended */
	pthread_cond_t ended;          /* signalled when a build thread ends */
	int stopping;                  /* service_stop: no more builds start */
};

struct service {
	struct service_opts opts;   /* copied; the pointers in it are borrowed */
	struct listen_addr addr;
	char origin[96];            /* "http://127.0.0.1:8707", the port bound */
	char localhost_origin[96];  /* "http://localhost:PORT" on loopback, else "" */
	char token[TOKEN_HEX_LEN + 1];
	struct MHD_Daemon *daemon;
	struct builds builds;
	struct event_hub *events;   /* owned; set by event_hub_start */
	/* set by service_stop before the daemon stops: streams end */
	atomic_int stopping;
};

/* One request as the handlers see it (the path after "/api/"). */
struct api_request {
	struct service *svc;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
};

/* --- server.c */
/*
 * A catalog handle of svc's catalog for one request or one stream (a
 * handle is used by one thread at a time), or NULL with err. Handles are
 * not kept between requests: a request starts from a handle no earlier
 * lookup has left in any state.
 */
struct catalog *service_catalog_open(struct service *svc, struct strbuf *err);
void service_catalog_close(struct catalog *c);  /* NULL: nothing */

/* --- reply.c: each queues one response and returns MHD's result */
enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, cJSON *body);
/* reply_json with one more header (header NULL: none). Takes body. */
enum MHD_Result reply_json_with(struct MHD_Connection *conn, unsigned status, cJSON *body,
				const char *header, const char *value);
__attribute__((format(printf, 3, 4)))
enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...);
/* {"error": err} (trailing whitespace dropped). */
enum MHD_Result reply_error_buf(struct MHD_Connection *conn, unsigned status,
				const struct strbuf *err);
/* The headers every response carries (no caching, no sniffing). */
void reply_headers(struct MHD_Response *r, const char *content_type);

/* --- api.c: routing, and the helpers every handler shares */
enum MHD_Result api_handle(struct api_request *rq);
/* Query parameter `name` of the request, or NULL. */
const char *api_arg(const struct api_request *rq, const char *name);
/* 404 naming the path. */
enum MHD_Result api_not_found(const struct api_request *rq);
/* A catalog failure: 500 with its message. */
enum MHD_Result api_catalog_failed(const struct api_request *rq, const struct strbuf *err);
/*
 * An id from the path (`what` names it: "run", "build"): decimal digits.
 * 0, or -1 with a 400 answered in *ret.
 */
int api_check_id(const struct api_request *rq, const char *what, const char *id,
		 enum MHD_Result *ret);
/* Adds "dataset" (see dataset_len) of ref to o. */
void api_add_dataset(cJSON *o, const char *ref);
/* partition_to_json plus "dataset". */
cJSON *api_partition_json(const struct partition *p);

/* --- partitions.c: GET datasets, partitions, partitions/REF */
enum MHD_Result api_datasets(const struct api_request *rq, struct catalog *c);
enum MHD_Result api_partitions(const struct api_request *rq, struct catalog *c);
enum MHD_Result api_partition(const struct api_request *rq, struct catalog *c,
			      const char *ref);
/* {"ref", "dataset", "status"} of ref (missing if unknown); NULL on a catalog error. */
cJSON *api_ref_state_json(struct catalog *c, const char *ref, struct strbuf *err);

/* --- lineage.c: GET graph */
enum MHD_Result api_graph(const struct api_request *rq, struct catalog *c);

/* --- runs.c: GET runs, runs/ID, runs/ID/log */
enum MHD_Result api_runs(const struct api_request *rq, struct catalog *c);
enum MHD_Result api_run(const struct api_request *rq, struct catalog *c, const char *id);
enum MHD_Result api_run_log(const struct api_request *rq, struct catalog *c,
			    const char *id);
/* Appends run run_id to arr (nothing if unknown). 0, or -1 (err). */
int api_add_run(struct catalog *c, const char *run_id, cJSON *arr, struct strbuf *err);

/* --- builds.c */
void builds_init(struct builds *b);
/* Starts a build of refs in a thread: 0 with *id set, or -1 with err. */
int builds_start(struct service *svc, const struct strvec *refs, int64_t *id,
		 struct strbuf *err);
/* Its progress as JSON, or NULL for an unknown id. */
cJSON *builds_json(struct builds *b, int64_t id);
/* Asks build id to stop: 1 asked, 0 unknown id, -1 already finished. */
int builds_cancel(struct builds *b, int64_t id);
/* Cancels every build and waits for their threads; no build starts after it. */
void builds_stop(struct builds *b);
/* Frees what builds_stop left (after the last handler that may read b). */
void builds_release(struct builds *b);

/* --- stream.c */
/*
 * The event streams share one reader of the catalog's events (a thread
 * with a handle of its own) and a ring of the last RING_EVENTS events
 * (4,096, at most 4 MiB), formatted once as SSE. A stream that resumes
 * from before the ring, or falls behind it while its client does not
 * read, reads that backlog from the catalog a page at a time through a
 * pool of at most 4 handles, then rejoins the ring: no stream holds a
 * handle of its own, whatever the number of streams. (The pooled handles
 * stay open while the service runs, unlike a request's: they only ever
 * read events, and one that fails is closed, not given back.)
 *
 * event_hub_start starts the reader for svc and sets svc->events: 0, or
 * -1 with err (the catalog does not open, no thread). event_hub_stop ends
 * every stream's wait and the reader (call it before the daemon stops);
 * event_hub_free (also stops) frees the hub once no stream refers to it,
 * i.e. after the daemon stopped. Both take NULL.
 */
int event_hub_start(struct service *svc, struct strbuf *err);
void event_hub_stop(struct event_hub *h);
void event_hub_free(struct event_hub *h);
/*
 * The SSE stream of events after seq, fed from svc->events (started): a
 * response, or NULL (err). Its memory is bounded (its pending text, about
 * 16 KiB or one page of the backlog, and MHD's 8 KiB buffer).
 */
struct MHD_Response *stream_events(struct service *svc, int64_t after, struct strbuf *err);
/*
 * The log of run run_id at path from offset, following it while the run
 * is running: a response, or NULL (err).
 */
struct MHD_Response *stream_log(struct service *svc, const char *run_id, const char *path,
				int64_t offset, struct strbuf *err);

#endif
