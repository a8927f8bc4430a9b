#ifndef DATABUILD_SERVICE_H
#define DATABUILD_SERVICE_H

#include "store/store.h"
#include "core/strbuf.h"
#include "executor/executor.h"
#include "model/graph.h"
#include "planner/planner.h"

/*
 * The HTTP service (docs/api.md): a JSON API over the catalog, and builds
 * through the same executor_build path as `databuild build`, served with
 * libmicrohttpd, one thread per connection. A peer of fs/: the other
 * face of the same engine. libmicrohttpd is loaded by service_start, not
 * linked (service/mhd.h): other commands never load it.
 *
 * Every /api/ request must carry the store's token (STORE/serve.token) as
 * "Authorization: Bearer TOKEN" or as the cookie databuild_token that
 * GET /?token=TOKEN sets; a POST authenticated by the cookie must come
 * from the server's own origin. Handlers never wait on a build: each
 * build runs in a thread of its own and POST /api/builds answers 202 at
 * once.
 */
struct service_opts {
	const char *listen;            /* "ADDR:PORT" (IPv4, or [IPv6]:PORT); port 0: any free */
	int allow_remote;              /* a non-loopback address is refused without it */
	const struct graph *graph;     /* borrowed, lives as long as the service */
	const struct store *store;     /* borrowed */
	const char *catalog_location;  /* as for catalog_open */
	const struct backend_opts *backend;  /* where the builds' jobs run (NULL: local) */
	int jobs;                      /* per build; <= 0: executor_default_jobs(backend) */
	enum freshness freshness;
};
#define SERVICE_OPTS_INIT { .listen = "127.0.0.1:8707", .allow_remote = 0, .graph = NULL, \
			    .store = NULL, .catalog_location = NULL, .backend = NULL, \
			    .jobs = 0, .freshness = FRESH_KEYS }

struct service;

/* Results of service_start below zero. */
enum {
	SERVICE_ERROR = -1,   /* the address is taken, no thread could start, ...: err */
	SERVICE_CONFIG = -2,  /* libmicrohttpd cannot be loaded (service/mhd.h), opts->listen
				 is malformed or remote without allow_remote, the token
				 file is unsafe, the catalog does not open: err */
};

/*
 * Reads or creates the store's token, checks the catalog opens, and
 * starts serving in threads of its own. 0 with *out set, or
 * SERVICE_ERROR / SERVICE_CONFIG with err naming what is wrong.
 */
int service_start(struct service **out, const struct service_opts *opts, struct strbuf *err);
/* "http://127.0.0.1:8707" (the port actually bound), for messages and links. */
const char *service_origin(const struct service *s);
/* The token of the store (hex), for the login link. */
const char *service_token(const struct service *s);
/* 1 if opts->listen was not a loopback address (the caller warns loudly). */
int service_is_remote(const struct service *s);
/*
 * Cancels the running builds (their jobs are killed, nothing partial is
 * published), ends the event streams, waits for every thread and frees s.
 */
void service_stop(struct service *s);

#endif
