#ifndef DATABUILD_FS_INTERNAL_H
#define DATABUILD_FS_INTERNAL_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include "catalog/catalog.h"
#include "core/strmap.h"
#include "fs/fs.h"
#include "fs/witness.h"

/*
 * Shared state of the FUSE daemon, private to fs/. Locks: nodes_lock
 * guards the node table; wait_lock guards every node's build fields, the
 * build queue and `stopping`; events_lock the events index; graph_lock
 * the graph in force and the reload record (a leaf: nothing else is
 * taken while it is held).
 */
/* What a name of the mount is (struct node's kind). */
enum inode_kind {
	INODE_ROOT,
	INODE_DIR,          /* a dataset directory: a prefix of partition refs */
	INODE_PART,         /* a partition: its published data */
	INODE_MANIFEST,     /* a partition's .manifest.json sidecar */
	INODE_ERROR,        /* a partition's .error sidecar */
	INODE_CTL_DIR,      /* .databuild */
	INODE_CTL_STATUS,   /* .databuild/status */
	INODE_CTL_EVENTS,   /* .databuild/events */
	INODE_CTL_RELOAD,   /* .databuild/reload: opening it reloads the graph (not listed) */
	INODE_MIRROR,       /* .databuild/manifests and its directories: a dataset's sidecars */
	INODE_HISTORY,      /* .databuild/history and its directories (datasets, refs) */
	INODE_VERSION,      /* .databuild/history/REF/NAME: one version's bytes */
	INODE_VERSION_MANIFEST,  /* .databuild/history/REF/NAME.manifest.json */
};

enum build_state {
	BUILD_NONE,
	BUILD_QUEUED,
	BUILD_RUNNING,
};

/* A slot for a builder thread (waiter.c); wait_lock. */
struct batch;

struct builder {
	struct fs *fs;
	pthread_t thread;
	int used;   /* thread was started and not joined yet */
	int done;   /* the thread has left its loop: join it before reuse */
	/*
	 * Its builds' cancellation (executor cancel_fd): written by
	 * builders_cancel (the mount stops) and by the cancel_unread
	 * watchdog; drained between builds. Non-blocking, close-on-exec.
	 */
	int cancel[2];
	struct batch *batch;  /* the build it runs (wait_lock), or NULL */
};

struct waiter {
	struct waiter *next;
	fuse_req_t req;
	fuse_ino_t ino;        /* the inode number the open came for */
	struct fuse_file_info fi;
};

/*
 * A store file registered with the kernel for passthrough reads of one
 * inode number (fs/file.c, "Passthrough"); owned by its node's list.
 */
struct backing {
	struct backing *next;
	fuse_ino_t ino;        /* the inode number the kernel reads it for */
	int id;                /* the kernel's backing id */
	dev_t dev;             /* the store file's identity */
	ino_t file;
	unsigned opens;        /* handles using it; 0 (an interrupted open): closed by the next */
};

/*
 * One name of the mount. Nodes live until the mount ends, so an inode
 * number is never reused and never changes meaning. A partition rebuilt
 * while readers hold its old bytes through passthrough gets a new inode
 * number (node_renumber); the old one keeps mapping to the same node in
 * by_ino, so loops over by_ino visit a node only at i == n->ino.
 */
struct node {
	fuse_ino_t ino;
	enum inode_kind kind;  /* partition and directory may swap (nodes_lock) */
	const char *path;      /* "" for the root; interned in the table */
	const char *name;      /* last segment of path */
	struct node *part;     /* sidecars: their partition */

	/* wait_lock */
	enum build_state state;
	unsigned long batch;   /* the batch building it (state RUNNING) */
	struct waiter *waiters;
	size_t waiters_nr;
	char *error;           /* the last failure seen by this mount, or NULL */
	char *damage;          /* what an open found wrong with its data, until rebuilt */
	unsigned long error_gen;
	char *served_run;      /* the run whose bytes the page cache may hold */
	/*
	 * FRESH_KEYS: what a build of this mount found fresh, checked on
	 * every open (fs/witness.h); NULL: the next open plans.
	 * fail_witness: the job's files when its last rebuild by this mount
	 * failed (a last good version is served without retrying until one
	 * of them moves). Both owned by the node.
	 */
	struct witness *witness;
	struct witness *fail_witness;
	char *inval_run;       /* the run a build of this mount last invalidated the inode for */
	char *sidecar_key;     /* what sidecar_size was computed for */
	int64_t sidecar_size;
	/* progress of its build, for .databuild/status (cleared by take_waiters) */
	int64_t queued_us;     /* when a reader first waited on it (waiter_add) */
	int64_t unread_us;     /* when its last waiting reader left (0: readers, or none yet) */
	int wanted;            /* queued with nobody waiting (waiter_queue): never unread */
	struct backing *backings;  /* backing_lock: its inode numbers' backing files */
	char *run_job;         /* the job of its node in the running plan (control_note_run) */
	char *run_id;          /* that node's run, once it started */
	const char *run_state; /* node_state_name() of that node, or NULL */
};

/* Handle kept in fi->fh for open files. */
enum handle_kind {
	HANDLE_DATA,     /* a published partition: fd */
	HANDLE_TEXT,     /* a generated snapshot: text */
	HANDLE_EVENTS,   /* the live events file */
	HANDLE_DIR,      /* an open directory: dir */
};

struct dirh;

/*
 * Open files and directories. fi->fh holds a handle id, never a pointer:
 * a request that races with release finds the id gone (EBADF) instead of
 * freed memory. refs: the table's plus one per request using it.
 */
struct handle {
	enum handle_kind kind;
	int fd;
	struct strbuf text;
	struct dirh *dir;
	struct node *backing_node;  /* backing_lock: whose backing file this open reads, */
	struct backing *backing;    /* and which (NULL: none) */
	unsigned refs;       /* handles_lock */
};

struct event_pos {
	int64_t seq;       /* the event's sequence number */
	uint64_t start;    /* its first byte in the events file */
};

struct events_index {
	struct event_pos *pos;
	size_t nr, alloc;
	uint64_t size;     /* total bytes */
};

/*
 * A graph in force, with the partition space made from it (space.c).
 * Reference-counted: the mount holds one reference to the current one,
 * and every user takes its own (fs_graph_get) for as long as it uses the
 * graph or the space: a FUSE request for its duration, an open directory
 * until it is released, a build until executor_build returns. A reload
 * swaps in a new one; the old one is freed when its last user puts it,
 * so a build finishes under the graph it started with. Read-only once
 * made, so any thread may read it.
 */
struct fs_graph {
	const struct graph *graph;  /* the graph: `owned`, or the mount's (opts->graph) */
	struct graph *owned;        /* a reloaded graph, freed with this; NULL for opts->graph */
	unsigned long gen;          /* 1: the graph mounted with; +1 per reload */
	int64_t loaded_us;          /* when it was loaded */
	struct space_pat *space;    /* every output pattern of graph (space_init) */
	size_t space_nr;
	int space_domains;          /* some job binds a variable to a domain */
	atomic_uint refs;
};

struct watch;

struct fs {
	const struct fs_opts *opts;
	struct fuse_session *se;
	char *mountpoint;
	int64_t mount_us;
	uid_t uid;
	gid_t gid;
	pthread_key_t catalog_key;
	int catalog_key_made;

	pthread_rwlock_t nodes_lock;
	struct strmap by_path;
	struct node **by_ino;  /* by_ino[ino]; [0] unused */
	size_t nodes_nr, nodes_alloc;

	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;
	struct node **queue;
	size_t queue_nr, queue_alloc;
	unsigned long next_batch;
	int stopping;
	struct builder *builders;   /* max_builds slots, started on demand */
	size_t builders_idle;       /* builder threads waiting for work (waiter.c linger) */
	pthread_t unread_thread;    /* the cancel_unread watchdog (unread_started) */
	int unread_started;
	size_t builders_nr;         /* slots allocated (0 once stopped) */
	size_t builders_running;    /* threads started and not done */
	size_t replying;            /* builders answering waiters they took (done_replying) */

	struct strmap manifest_sizes;  /* run_id -> (void *)(size + 1); wait_lock */
	struct strmap run_texts;       /* failed run_id -> struct run_text; wait_lock */

	pthread_mutex_t events_lock;
	struct events_index events;

	pthread_mutex_t backing_lock;
	int passthrough;           /* backing_lock: -1 off, 0 not tried yet, 1 registering works */

	pthread_mutex_t handles_lock;
	struct handle **handles;   /* by slot; NULL: free */
	uint32_t *handle_gens;     /* by slot: bumped when the slot is freed */
	size_t handles_nr, handles_alloc, gens_alloc;
	size_t *free_slots;
	size_t free_nr, free_alloc;

	pthread_mutex_t log_lock;
	FILE *log;

	pthread_mutex_t graph_lock;
	struct fs_graph *graph;     /* in force: one reference held here (graph_lock) */
	char *reload_error;         /* why the last reload was refused; NULL after a good one */
	int64_t reload_error_us;    /* when (graph_lock) */
	struct watch *watch;        /* reload.c's watcher thread, or NULL */
};

/* fs.c */
struct fs *fs_of(fuse_req_t req);
/* The calling thread's catalog handle (opened on first use), or NULL with err. */
struct catalog *fs_catalog(struct fs *fs, struct strbuf *err);
__attribute__((format(printf, 2, 3)))
void fs_log(struct fs *fs, const char *fmt, ...);

/* inode.c: the node table and the lookup side of the ops. */
int nodes_init(struct fs *fs);
void nodes_release(struct fs *fs);
struct node *node_by_ino(struct fs *fs, fuse_ino_t ino);
struct node *node_by_path(struct fs *fs, const char *path);
/* Gives n a new inode number if its number is still old (fs/file.c, "Passthrough"). */
void node_renumber(struct fs *fs, struct node *n, fuse_ino_t old);
/* Whether a node of kind k is a directory (root, dataset directory, .databuild). */
int inode_kind_is_dir(enum inode_kind k);
/*
 * .databuild/manifests mirrors the directories of the mount with only
 * their sidecars (the same inodes as beside the partitions): the
 * directory a mirror node n stands for ("" for .databuild/manifests).
 */
#define MANIFESTS_DIR CONTROL_DIR "/manifests"
const char *mirror_base(const struct node *n);
/* Finds or creates the node of path with kind (updating a dir/partition flip). */
struct node *node_get(struct fs *fs, const char *path, enum inode_kind kind);
/* "" or "a/b" joined with name. */
void path_join(struct strbuf *out, const char *dir, const char *name);
/*
 * Classifies the child `name` of directory node dir under graph g: fills
 * e (ino 0 when it does not exist). 0, or -1 with err (catalog failure).
 */
int fs_resolve(struct fs *fs, const struct fs_graph *g, struct catalog *c, struct node *dir,
	       const char *name, struct fuse_entry_param *e, struct strbuf *err);
/* Attributes of a node; p is its catalog row (partitions, sidecars) or NULL. */
int fs_node_attr(struct fs *fs, struct catalog *c, struct node *n,
		 struct fuse_entry_param *e, struct strbuf *err);
/* Entry attributes of a partition (or sidecar) from a catalog row. */
void fs_fill_entry(struct fs *fs, struct catalog *c, struct node *n,
		   const struct partition *p, struct fuse_entry_param *e);
/* Whether a job of g could produce ref (pattern match or lookup executable). */
int fs_buildable(const struct fs_graph *g, const char *ref);
/* Whether path ("" = root) is a directory of the mount under g. -1 on error. */
int fs_is_dir(const struct fs_graph *g, struct catalog *c, const char *path,
	      struct strbuf *err);

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* dir.c */
void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi);
void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* file.c */
void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/*
 * Opens the published data of p (a partition just read from the catalog)
 * into a new handle, beneath data/ without following any link, and
 * checks it by fstat against the identity and size its publish recorded
 * (store_check_data; nothing is read). NULL with errno: ESTALE when the
 * file is damaged (missing, a link, changed), why saying how.
 */
struct handle *handle_open_data(struct fs *fs, const struct partition *p, struct strbuf *why);
struct handle *handle_new(enum handle_kind kind);
/*
 * The state the mount shows for partition node n (a sidecar: its
 * partition) with catalog row p: "stale" for a live one whose freshness
 * witness no longer holds (keys), and for one whose rebuild failed while
 * its last good bytes are served (not -o strict); else p's status.
 */
enum part_status fs_status_shown(struct fs *fs, struct node *n, const struct partition *p);
/*
 * Whether an open of a partition that is not live (row p) may be served
 * its published bytes: the last good version of a failed rebuild (not
 * -o strict), a stale one under -o stale=serve.
 */
int fs_serves_old(const struct fs *fs, const struct partition *p);
/* Enters h in the table (which owns it from now on) and returns its id. */
uint64_t handle_register(struct fs *fs, struct handle *h);
/* The handle of id with a reference taken, or NULL if released. */
struct handle *handle_get(struct fs *fs, uint64_t id);
void handle_put(struct fs *fs, struct handle *h);
/* Removes id from the table (release); freed when its last user is done. */
void handle_unregister(struct fs *fs, uint64_t id);
void handles_release(struct fs *fs);
/* Replies to open/opendir with h registered; unregisters it if the open was interrupted. */
void reply_open_handle(fuse_req_t req, struct fs *fs, struct fuse_file_info *fi,
		       struct handle *h);
/*
 * reply_open_handle for h, an open of n's store file (HANDLE_DATA) that
 * came for inode number ino: through FUSE passthrough where the mount can
 * (fs/file.c, "Passthrough"), else as fi says (keep_cache is the
 * caller's); ESTALE, h freed, when ino reads another file of n.
 */
void reply_open_data(fuse_req_t req, struct fs *fs, struct node *n, fuse_ino_t ino,
		     struct fuse_file_info *fi, struct handle *h);
void dirh_free(struct dirh *d);

/*
 * waiter.c: builds in flight and the opens waiting on them. Queued
 * partitions are grouped by the job whose pattern claims them (a ref none
 * claims goes alone); each group is one executor_build on its own builder
 * thread, started on demand (at most 64 at once, further groups wait for
 * a free one), so a hanging configure or job holds only the reads that
 * need it. A failed batch is retried one ref at a time on its own thread.
 */
int builders_start(struct fs *fs, struct strbuf *err);
/*
 * Stops starting builds, cancels the running ones and answers every
 * waiting open with EIO, without waiting for anything (idempotent).
 */
void builders_cancel(struct fs *fs);
/*
 * builders_cancel, then waits for the builder threads; builds still running
 * after a grace period (a configure or job that ignores the cancellation)
 * have every child process of the daemon killed (SIGKILL, with its process
 * group). Joins every thread and answers any waiter left.
 */
void builders_stop(struct fs *fs);
/* Queues req (an open of partition n) on n's build; replies later. */
void waiter_add(struct fs *fs, struct node *n, fuse_ino_t ino, fuse_req_t req,
		struct fuse_file_info *fi);
/*
 * Queues a build of n with nobody waiting (a stale partition served at
 * once under -o stale=serve, a last good version served while its
 * rebuild is retried); nothing if it is queued or running already.
 */
void waiter_queue(struct fs *fs, struct node *n);

/*
 * history.c: .databuild/history (docs/filesystem.md, "History"), a
 * read-only tree of the catalog's versions. Its directories are the
 * datasets and partitions that have versions (whatever the graph says);
 * .databuild/history/REF lists one file per version of REF, named by
 * catalog_format_version_name, and NAME.manifest.json beside each. Every
 * answer is one or a few catalog reads; nothing is built, nothing waits.
 */
#define HISTORY_DIR CONTROL_DIR "/history"
/* The directory or version path below HISTORY_DIR of history node n ("" for the top). */
const char *history_base(const struct node *n);
/*
 * The child `name` of history directory dir: fills e (ino 0 when it does
 * not exist). 0, or -1 with err (catalog failure).
 */
int history_resolve(struct fs *fs, struct catalog *c, struct node *dir, const char *name,
		    struct fuse_entry_param *e, struct strbuf *err);
/*
 * Attributes of history node n read again from the catalog: 0 (e->ino 0
 * when n is gone: a version removed by gc), -1 with err.
 */
int history_attr(struct fs *fs, struct catalog *c, struct node *n,
		 struct fuse_entry_param *e, struct strbuf *err);
/*
 * The open of a version (a data handle on its object, holding a shared
 * flock while open) or of its manifest (a text handle). Replies itself.
 */
void history_open(fuse_req_t req, struct fs *fs, struct node *n, struct fuse_file_info *fi);
/* Appends the pretty-printed manifest of run_id (as R.manifest.json): 1, 0 none, -1 err. */
int history_render_manifest(struct catalog *c, const char *run_id, struct strbuf *out,
			    struct strbuf *err);
/*
 * Where the listing of a history directory is (struct dirh owns one):
 * the versions of its ref first, then its children page by page.
 */
struct history_cursor {
	int phase;               /* 0: versions next, 1: children next, 2: done */
	char *after;             /* catalog cursor of the children (a raw name), owned */
	const char **open;       /* partitions listed that a directory of their name may follow */
	size_t open_nr, open_alloc;
};
/* Called with each entry listed: n lives as long as the mount. */
typedef void history_add_fn(void *ctx, struct node *n, const struct fuse_entry_param *e);
/* Back to the start (also makes a zeroed cursor usable). */
void history_cursor_reset(struct history_cursor *hc);
void history_cursor_release(struct history_cursor *hc);
/* Lists the next entries of dir through add; 1 when the listing is done. -1 with err. */
int history_list_step(struct fs *fs, struct catalog *c, struct node *dir,
		      struct history_cursor *hc, history_add_fn *add, void *ctx,
		      struct strbuf *err);

/* sidecar.c */
/* What an error sidecar says about a failed run (the same for all its outputs). */
struct run_text {
	char *head;   /* job, run_id, exit status, log */
	char *error;  /* the run's one-line error, or NULL */
	char *tail;   /* "log tail:" section, or "" */
};
void run_texts_release(struct fs *fs);
/*
 * Renders n's manifest / error sidecar text: 1 rendered, 0 absent, -1 err.
 * The error sidecar has the job log's tail only if show_log (the reader is
 * the mount's owner: a log may hold secrets).
 */
int sidecar_render(struct fs *fs, struct catalog *c, struct node *n,
		   const struct partition *p, int show_log, struct strbuf *out,
		   struct strbuf *err);
/*
 * Size of the sidecar as its owner sees it (cached per node while its
 * source is unchanged; others read a shorter text through direct_io); -1 absent.
 */
int64_t sidecar_size(struct fs *fs, struct catalog *c, struct node *n,
		     const struct partition *p);
/* Whether a sidecar of kind exists for partition row p and node part. */
int sidecar_exists(struct fs *fs, enum inode_kind kind, struct node *part,
		   const struct partition *p);
void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/*
 * space.c: the partition space as the mount shows it (docs/design/fs.md,
 * "Domains"). Built by space_init with each struct fs_graph (once per
 * graph: at mount and at each reload) and read-only afterwards, so any
 * thread may use it while it holds a reference to the graph. The checks
 * are O(1) per name (domain membership is arithmetic or hashed); a
 * command domain is run the first time a check needs its values.
 */
struct space_pat {
	const struct job *job;          /* borrowed from the graph */
	const struct pattern *pattern;  /* one of job's output patterns */
	struct pattern *prefix;         /* prefix[d]: its first d segments (1 <= d < depth) */
	struct pattern *segment;        /* segment[d]: its segment d alone (d < depth) */
};

enum space_answer {
	SPACE_ERROR = -1,     /* a command domain cannot be read (err says why): EIO */
	SPACE_OUTSIDE = 0,    /* outside its job's domains: ENOENT */
	SPACE_IN = 1,         /* in the space (or open-ended) */
	SPACE_UNPLACED = 2,   /* no pattern places it (or two jobs claim it): the catalog decides */
};

/* One segment of a directory listed from domains: names in domain order. */
struct space_stream {
	const struct space_pat *sp;
	size_t depth;     /* index of the listed segment (the directory's depth) */
	int is_dir;       /* its names are directories (the pattern goes on below) */
};

/* Parses every output pattern of g->graph into g->space. 0, or -1 with err. */
int space_init(struct fs_graph *g, struct strbuf *err);
void space_release(struct fs_graph *g);
/* Whether directory path ("" = root) is placed by a pattern with its values in their domains. */
int space_dir(const struct fs_graph *g, const char *path, struct strbuf *err);
/* Whether a (valid) ref is in its job's space (graph_resolve): an enum space_answer. */
int space_ref(const struct fs_graph *g, const char *ref, struct strbuf *err);
/*
 * The segments of directory dir listed from domains: those of the
 * patterns that place dir in their space and whose next segment has
 * placeholders that all have a domain (ready on return). *out is
 * allocated (free() it), directory streams first. 0, or -1 with err (a
 * command domain failed).
 */
int space_streams(const struct fs_graph *g, const char *dir, struct space_stream **out,
		  size_t *nr, struct strbuf *err);
/* 1 if name is one of the names stream s lists. */
int space_stream_has(const struct space_stream *s, const char *name);

/*
 * control.c: .databuild/status and .databuild/events. control_status
 * renders the daemon's state (the graph in force, the last refused
 * reload, the builds readers wait on with their progress) as JSON.
 */
int control_status(struct fs *fs, struct catalog *c, struct strbuf *out, struct strbuf *err);
/*
 * Records the progress of a plan node (executor on_node, builder thread)
 * on the mount's nodes of its outputs that batch `batch` is building.
 */
struct node_report;
void control_note_run(struct fs *fs, unsigned long batch, const struct node_report *r);
/* Brings the events index up to date; returns the events file size or -1. */
int64_t events_refresh(struct fs *fs, struct catalog *c, struct strbuf *err);
/* Appends the bytes [off, off+size) of the events file to out. */
int events_read(struct fs *fs, struct catalog *c, uint64_t off, size_t size,
		struct strbuf *out, struct strbuf *err);
void events_release(struct fs *fs);

/*
 * reload.c: the graph in force, and its reload. fs_graph_* are safe from
 * any thread; fs_graph_get never blocks (a leaf mutex).
 */
/*
 * A new struct fs_graph of graph (owned: freed with it, else borrowed)
 * with its space made, one reference held by the caller. NULL with err.
 */
struct fs_graph *fs_graph_new(const struct graph *graph, struct graph *owned,
			      unsigned long gen, struct strbuf *err);
/* The graph in force, with a reference taken: fs_graph_put it. */
struct fs_graph *fs_graph_get(struct fs *fs);
/* Drops a reference; the last one frees the graph (NULL is a no-op). */
void fs_graph_put(struct fs_graph *g);
/*
 * Starts the watcher thread: inotify on the graph file's directory and
 * on the directories of the job executables; a change of the graph file
 * (write, rename over it, removal) reloads it after 100 ms without
 * further change (at most 500 ms after the first); a change of a job
 * executable is logged. 0, or -1 with err.
 */
int watch_start(struct fs *fs, struct strbuf *err);
/*
 * Stops taking reload requests and answers the queued ones with EIO,
 * without waiting for a reload in progress (idempotent).
 */
void watch_cancel(struct fs *fs);
/* watch_cancel, then joins the watcher (after its reload in progress) and frees it. */
void watch_stop(struct fs *fs);
/*
 * The open of .databuild/reload (a FUSE handler): hands the reload to the
 * watcher thread and returns; the watcher replies with a text handle
 * holding the outcome as one JSON line, or EINTR if the reader is
 * interrupted first, EIO if the mount stops. EACCES for a reader other
 * than the mount's owner and root.
 */
void reload_open(fuse_req_t req, struct fs *fs, struct fuse_file_info *fi);

#endif
