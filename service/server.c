#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "model/ref.h"
#include "service/internal.h"
#include "service/mhd.h"
#include "service/query.h"
#include "service/static.h"

/*
 * The daemon: libmicrohttpd with one thread per connection (a slow
 * client holds only its own thread), the routes, and who may use them.
 */

/* A request body larger than this is refused (413). */
#define BODY_MAX (1 << 20)
/*
 * 1,000 event streams and the ordinary requests beside them. Each
 * connection has a thread whose stack is STACK_SIZE: the handlers run
 * catalog queries and render JSON there, nothing recursive or large
 * (the service tests pass with a quarter of it).
 */
#define CONNECTIONS_MAX 2048
#define STACK_SIZE (256 * 1024)
/* Descriptors beyond the connections: catalogs, logs, builds' jobs. */
#define FDS_SPARE 256
/* The fewest connections served when the open-files limit is low. */
#define CONNECTIONS_MIN 64
#define LISTEN_BACKLOG 1024
/* Seconds an idle connection is kept (streams send a heartbeat before). */
#define IDLE_TIMEOUT_S 120
#define COOKIE_NAME "databuild_token"

/* Per request: the body as it arrives. */
struct request_state {
	struct strbuf body;
	int too_large;
};

/* GET /: the page; with ?token=TOKEN, sets the cookie and sends the browser to /. */
static enum MHD_Result serve_root(struct service *svc, struct MHD_Connection *conn)
{
	const char *given = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (given) {
		struct strbuf cookie = STRBUF_INIT;

		if (!token_equal(svc->token, given, strlen(given)))
			return reply_error(conn, MHD_HTTP_UNAUTHORIZED,
					   "parameter 'token': not this store's token "
					   "(see serve.token in the store)");
		strbuf_addf(&cookie, COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict",
			    svc->token);
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		reply_headers(r, "text/plain");
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie.buf);
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/");
		ret = MHD_queue_response(conn, MHD_HTTP_SEE_OTHER, r);
		MHD_destroy_response(r);
		strbuf_release(&cookie);
		return ret;
	}
	return static_index(conn);
}

static int is_safe_method(const char *method)
{
	return !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
}

/*
 * Whether the request may use the API: 0 yes, else the HTTP status to
 * answer (401 no or wrong token, 403 a cookie request from another
 * origin) with err saying why.
 */
static unsigned authorize(struct service *svc, struct MHD_Connection *conn, const char *method,
			  struct strbuf *err)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COOKIE_NAME);
	const char *origin;

	if (auth) {
		if (strncmp(auth, "Bearer ", 7) || !token_equal(svc->token, auth + 7,
								 strlen(auth + 7))) {
			strbuf_addstr(err, "header 'Authorization': expected 'Bearer TOKEN' with "
				      "this store's token (serve.token in the store)");
			return MHD_HTTP_UNAUTHORIZED;
		}
		return 0;
	}
	if (!cookie) {
		strbuf_addstr(err, "no token: send 'Authorization: Bearer TOKEN' (serve.token in "
			      "the store) or visit /?token=TOKEN first");
		return MHD_HTTP_UNAUTHORIZED;
	}
	if (!token_equal(svc->token, cookie, strlen(cookie))) {
		strbuf_addstr(err, "cookie '" COOKIE_NAME "': not this store's token (visit "
			      "/?token=TOKEN again)");
		return MHD_HTTP_UNAUTHORIZED;
	}
	if (is_safe_method(method))
		return 0;
	origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	if (!origin || (strcmp(origin, svc->origin) &&
			(!*svc->localhost_origin || strcmp(origin, svc->localhost_origin)))) {
		strbuf_addstr(err, "header 'Origin': ");
		if (origin) {
			strbuf_addch(err, '\'');
			ref_addquoted(err, origin);
			strbuf_addch(err, '\'');
		} else {
			strbuf_addstr(err, "missing");
		}
		strbuf_addf(err, ": a %s authenticated by the cookie must come from %s", method,
			    svc->origin);
		return MHD_HTTP_FORBIDDEN;
	}
	return 0;
}

static enum MHD_Result route(struct service *svc, struct MHD_Connection *conn,
			     const char *url, const char *method, struct request_state *rs)
{
	struct strbuf err = STRBUF_INIT;
	enum MHD_Result ret;
	unsigned status;

	if (path_unsafe(url)) {
		strbuf_addstr(&err, "path '");
		ref_addquoted(&err, url);
		strbuf_addstr(&err, "': empty, '.' and '..' segments are not allowed");
		ret = reply_error_buf(conn, MHD_HTTP_BAD_REQUEST, &err);
	} else if (!strcmp(url, "/")) {
		ret = is_safe_method(method) ? serve_root(svc, conn) :
			reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "method %s: '/' accepts GET only", method);
	} else if (!strncmp(url, "/api/", 5)) {
		if ((status = authorize(svc, conn, method, &err))) {
			ret = reply_error_buf(conn, status, &err);
		} else if (rs->too_large) {
			ret = reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
					  "request body: larger than %d bytes", BODY_MAX);
		} else {
			struct api_request rq = {
				.svc = svc, .conn = conn, .method = method, .path = url + 5,
				.body = rs->body.buf, .body_len = rs->body.len,
			};

			ret = api_handle(&rq);
		}
	} else if (!strncmp(url, "/assets/", 8)) {
		ret = is_safe_method(method) ? static_asset(conn, url + 8) :
			reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "method %s: '/assets/' accepts GET only", method);
	} else {
		strbuf_addstr(&err, "path '");
		ref_addquoted(&err, url);
		strbuf_addstr(&err, "': no such page (the API is under /api/)");
		ret = reply_error_buf(conn, MHD_HTTP_NOT_FOUND, &err);
	}
	strbuf_release(&err);
	return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **req_cls)
{
	struct service *svc = cls;
	struct request_state *rs = *req_cls;

	if (!rs) {
		rs = xcalloc(1, sizeof(*rs));
		strbuf_init(&rs->body, 0);
		*req_cls = rs;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rs->body.len + *upload_data_size > BODY_MAX)
			rs->too_large = 1;
		else
			strbuf_add(&rs->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return route(svc, conn, url, method, rs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct request_state *rs = *req_cls;

	if (rs) {
		strbuf_release(&rs->body);
		free(rs);
		*req_cls = NULL;
	}
}

struct catalog *service_catalog_open(struct service *svc, struct strbuf *err)
{
	struct catalog *c = xcalloc(1, sizeof(*c));

	if (catalog_open(c, svc->opts.store, svc->opts.catalog_location, err) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

void service_catalog_close(struct catalog *c)
{
	if (c) {
		catalog_close(c);
		free(c);
	}
}

/*
 * Makes room for CONNECTIONS_MAX descriptors: a soft limit of open files
 * below that is raised to the hard limit (the command line has usually
 * raised it already). Below that, *connections is what the hard limit
 * allows (at least CONNECTIONS_MIN), with a warning. 0, or -1 with err.
 */
static int fd_limit_raise(unsigned *connections, struct strbuf *err)
{
	const rlim_t need = CONNECTIONS_MAX + FDS_SPARE;
	struct rlimit rl;
	rlim_t target;

	*connections = CONNECTIONS_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		strbuf_addf(err, "open files limit (RLIMIT_NOFILE): cannot read it: %s",
			    strerror(errno));
		return -1;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		/* serve fewer at once rather than not at all */
		*connections = rl.rlim_max > FDS_SPARE + CONNECTIONS_MIN ?
			       (unsigned)(rl.rlim_max - FDS_SPARE) : CONNECTIONS_MIN;
		fprintf(stderr, "databuild: warning: open files limit (RLIMIT_NOFILE): the hard "
			"limit is %llu, so at most %u connections are served at once instead of "
			"%d (raise it: ulimit -Hn, or LimitNOFILE= in a systemd unit)\n",
			(unsigned long long)rl.rlim_max, *connections, CONNECTIONS_MAX);
	}
	target = rl.rlim_max != RLIM_INFINITY ? rl.rlim_max : need;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = target;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			strbuf_addf(err, "open files limit (RLIMIT_NOFILE): cannot raise the soft "
				    "limit to %llu: %s", (unsigned long long)target,
				    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Binds and starts the daemon; sets the origins from the port bound. */
static int daemon_start(struct service *svc, unsigned connections, struct strbuf *err)
{
	/* poll, not select: descriptors above 1023 */
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL;
	const union MHD_DaemonInfo *info;
	unsigned port;

	if (svc->addr.ipv6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	svc->daemon = MHD_start_daemon(flags, (uint16_t)svc->addr.port, NULL, NULL,
				       on_access, svc,
				       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&svc->addr.ss,
				       MHD_OPTION_NOTIFY_COMPLETED, on_completed, svc,
				       MHD_OPTION_CONNECTION_LIMIT, connections,
				       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
				       MHD_OPTION_THREAD_STACK_SIZE, (size_t)STACK_SIZE,
				       MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)LISTEN_BACKLOG,
				       MHD_OPTION_END);
	if (!svc->daemon) {
		strbuf_addf(err, "listen address '%s': cannot serve there: %s", svc->opts.listen,
			    errno ? strerror(errno) : "the HTTP server did not start");
		return -1;
	}
	info = MHD_get_daemon_info(svc->daemon, MHD_DAEMON_INFO_BIND_PORT);
	port = info && info->port ? info->port : svc->addr.port;
	snprintf(svc->origin, sizeof(svc->origin), "http://%s:%u", svc->addr.host, port);
	if (svc->addr.loopback)
		snprintf(svc->localhost_origin, sizeof(svc->localhost_origin),
			 "http://localhost:%u", port);
	return 0;
}

int service_start(struct service **out, const struct service_opts *opts, struct strbuf *err)
{
	struct service *svc = xcalloc(1, sizeof(*svc));
	struct catalog *c;
	unsigned connections;
	int ret = SERVICE_ERROR;

	*out = NULL;
	svc->opts = *opts;
	builds_init(&svc->builds);
	if (service_mhd_load(err) < 0 || listen_addr_parse(opts->listen, &svc->addr, err) < 0) {
		ret = SERVICE_CONFIG;
		goto out;
	}
	if (!svc->addr.loopback && !opts->allow_remote) {
		strbuf_addf(err, "listen address '%s': not a loopback address; other hosts could "
			    "reach the API (add --allow-remote if that is what you want)",
			    opts->listen);
		ret = SERVICE_CONFIG;
		goto out;
	}
	if (token_load(opts->store, svc->token, err) < 0 ||
	    !(c = service_catalog_open(svc, err))) {
		ret = SERVICE_CONFIG;
		goto out;
	}
	service_catalog_close(c);
	if (fd_limit_raise(&connections, err) < 0 || event_hub_start(svc, err) < 0 ||
	    daemon_start(svc, connections, err) < 0)
		goto out;
	*out = svc;
	svc = NULL;
	ret = 0;
out:
	if (svc) {
		event_hub_free(svc->events);
		builds_stop(&svc->builds);
		builds_release(&svc->builds);
		explicit_bzero(svc->token, sizeof(svc->token));
		free(svc);
	}
	return ret;
}

const char *service_origin(const struct service *s)
{
	return s->origin;
}

const char *service_token(const struct service *s)
{
	return s->token;
}

int service_is_remote(const struct service *s)
{
	return !s->addr.loopback;
}

void service_stop(struct service *s)
{
	if (!s)
		return;
	s->stopping = 1;
	builds_stop(&s->builds);
	event_hub_stop(s->events);
	MHD_stop_daemon(s->daemon);
	event_hub_free(s->events);
	builds_release(&s->builds);
	explicit_bzero(s->token, sizeof(s->token));
	free(s);
}
