#ifndef DATABUILD_FS_H
#define DATABUILD_FS_H

#include "model/graph.h"
#include "store/store.h"
#include "core/strbuf.h"
#include "executor/executor.h"
#include "planner/planner.h"

/*
 * The FUSE daemon (docs/design/fs.md): the low-level libfuse API on a
 * multi-threaded session. Partitions are read-only files; opening a
 * missing one registers a waiter and returns at once, a builder thread
 * plans and executes (executor_build) and replies to every waiter of each
 * partition when its fate is known. Handlers never block on a build, on a
 * lease or on a job. A watcher thread reloads the graph file when it
 * changes (or when `databuild reload` opens .databuild/reload): the new
 * graph is put in force atomically, a broken one is refused and logged,
 * and running builds finish under the graph they started with.
 */
/* Builds in flight at once by default (each holds a few catalog connections). */
#define FS_MAX_BUILDS 16
#define FS_MAX_BUILDS_LIMIT 64
#define FS_CANCEL_UNREAD_DEFAULT_S 10

struct fs_opts {
	const char *mountpoint;
	const struct graph *graph;     /* the graph to start with: borrowed, lives as long as
					  the mount (reloads load graph->path anew) */
	const struct store *store;     /* borrowed */
	const char *catalog_location;  /* as for catalog_open */
	const char *fuse_options;      /* "-o" text, may be NULL */
	enum freshness freshness;      /* FS_OPTS_INIT: FRESH_KEYS (checked on every open) */
	/*
	 * -o stale=serve: a live partition found stale (keys) is served
	 * at once with its old bytes while it is rebuilt in the background
	 * (default: the reader waits for the rebuild).
	 */
	int stale_serve;
	/*
	 * -o strict: a partition whose last rebuild failed answers EIO
	 * (default: its last good bytes are served, status "stale").
	 */
	int strict;
	/*
	 * -o max_builds=N: builds (groups of partitions of one job) in flight
	 * at once; further ones queue, the one with the most waiting readers
	 * first. 0: FS_MAX_BUILDS.
	 */
	int max_builds;
	/*
	 * -o cancel_unread[=SECONDS]: a build that readers asked for and that
	 * nobody waits for any more is cancelled after SECONDS (default 10).
	 * -1: off (the default: a build goes on for the next reader).
	 */
	int cancel_unread_s;
	/*
	 * -o sidecars=hidden: readdir lists no sidecar (R.manifest.json,
	 * R.error) beside the partitions, so that whole-directory readers
	 * see only data; they are looked up by name as always, and listed
	 * under .databuild/manifests/ (default: listed, sidecars=listed).
	 */
	int sidecars_hidden;
	/* -o no_cache: builds never restore outputs from the run cache */
	int no_cache;
	/*
	 * -o passthrough=off: partitions' reads go through the daemon even
	 * where the kernel could serve them straight from the store file
	 * (default passthrough=auto: FUSE passthrough where the kernel offers
	 * it and the daemon may register backing files, i.e. has
	 * CAP_SYS_ADMIN; docs/design/fs.md, "Read throughput").
	 */
	int passthrough_off;
	int jobs;                      /* <= 0: executor_default_jobs(backend) */
	const struct backend_opts *backend;  /* where the builds' jobs run (NULL: local) */
	int foreground;
	int debug;
	/*
	 * Once the mount is up, fs_serve writes the byte 'O' to ready_fd
	 * (daemonized: the parent waits on it); it never closes it.
	 */
	int ready_fd;                  /* -1: none */
};
#define FS_OPTS_INIT { .mountpoint = NULL, .graph = NULL, .store = NULL, \
		       .catalog_location = NULL, .fuse_options = NULL, \
		       .freshness = FRESH_KEYS, .stale_serve = 0, .strict = 0, \
		       .sidecars_hidden = 0, .passthrough_off = 0, \
		       .max_builds = 0, .cancel_unread_s = -1, .jobs = 0, .backend = NULL, \
		       .foreground = 0, .debug = 0, .ready_fd = -1 }

/*
 * Mounts and serves until unmounted or SIGINT/SIGTERM/SIGHUP; then answers
 * every waiting reader, cancels running jobs (publishing nothing partial)
 * and unmounts. Returns 0 on a clean unmount, -1 with err otherwise.
 * Logs to <store>/daemon.log. Installs its own handlers for SIGINT,
 * SIGTERM, SIGHUP (and ignores SIGPIPE) while it runs; every path in opts
 * must be absolute if the caller changes directory.
 */
int fs_serve(const struct fs_opts *opts, struct strbuf *err);

/*
 * Unmounts mountpoint, also when its daemon has died ("transport endpoint
 * is not connected", detached lazily). When the plain unmount fails (the
 * mount is busy: a reader blocked in open, a process with its cwd inside)
 * sends SIGTERM to the daemon named by .databuild/status, which answers
 * every waiting reader with EIO, cancels its jobs and unmounts; after 5 s
 * without that, detaches the mount lazily. 0 or -1 with err.
 */
int fs_unmount(const char *mountpoint, struct strbuf *err);

/*
 * 1 if mountpoint (an absolute path, compared as given) is a databuild
 * mount in /proc/self/mounts (also when its daemon died), else 0.
 */
int fs_is_mounted(const char *mountpoint);

/*
 * Asks the daemon serving mountpoint to reload its graph file now, through
 * the mount itself (an open of MOUNTPOINT/.databuild/reload, answered once
 * the reload is done), and waits for the answer. 0: reloaded, `out` says
 * what is in force ("generation 3, 8 jobs", and a warning if a command
 * domain failed); 1: the daemon refused the graph file and keeps the
 * graph in force, err says why; -1: the daemon could not be asked (not a
 * databuild mount, or a daemon without reload), err says why.
 */
int fs_reload(const char *mountpoint, struct strbuf *out, struct strbuf *err);

#endif
