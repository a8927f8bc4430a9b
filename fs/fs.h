#ifndef DATABUILD_FS_H
#define DATABUILD_FS_H

#include "model/graph.h"
#include "core/store.h"
#include "core/strbuf.h"
#include "executor/executor.h"
#include "planner/planner.h"

/*
 * The FUSE daemon (docs/design/fs.md): the low-level libfuse API on a
 * multi-threaded session. Partitions are read-only files; opening a
 * missing one registers a waiter and returns at once, a builder thread
 * plans and executes (executor_build) and replies to every waiter of each
 * partition when its fate is known. Handlers never block on a build, on a
 * lease or on a job.
 */
struct fs_opts {
	const char *mountpoint;
	const struct graph *graph;     /* borrowed, lives as long as the mount */
	const struct store *store;     /* borrowed */
	const char *catalog_location;  /* as for catalog_open */
	const char *fuse_options;      /* "-o" text, may be NULL */
	enum freshness freshness;      /* FS_OPTS_INIT: FRESH_PRESENCE */
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
		       .freshness = FRESH_PRESENCE, .jobs = 0, .backend = NULL, \
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

#endif
