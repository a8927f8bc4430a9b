#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/array.h"
#include "core/json.h"
#include "core/proc.h"
#include "model/ref.h"
#include "fs/internal.h"

#define MAX_WORKERS 8

static struct fuse_session *signal_session;
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction saved_actions[3], saved_pipe;

static void on_stop_signal(int sig)
{
	if (signal_session)
		fuse_session_exit(signal_session);
}

/*
 * Unlike fuse_set_signal_handlers, also when the signals were ignored on
 * entry (a daemon started from a script in the background).
 */
static void signals_install(struct fuse_session *se)
{
	struct sigaction sa;

	signal_session = se;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 3; i++)
		sigaction(stop_signals[i], &sa, &saved_actions[i]);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &saved_pipe);
}

static void signals_restore(void)
{
	for (size_t i = 0; i < 3; i++)
		sigaction(stop_signals[i], &saved_actions[i], NULL);
	sigaction(SIGPIPE, &saved_pipe, NULL);
	signal_session = NULL;
}

struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void catalog_free(void *p)
{
	struct catalog *c = p;

	catalog_close(c);
	free(c);
}

struct catalog *fs_catalog(struct fs *fs, struct strbuf *err)
{
	struct catalog *c = pthread_getspecific(fs->catalog_key);

	if (c)
		return c;
	c = xcalloc(1, sizeof(*c));
	if (catalog_open(c, fs->opts->store, fs->opts->catalog_location, err) < 0) {
		free(c);
		return NULL;
	}
	pthread_setspecific(fs->catalog_key, c);
	return c;
}

void fs_log(struct fs *fs, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;

	if (!fs->log)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&fs->log_lock);
	fprintf(fs->log, "%s.%03ldZ [%d] ", stamp, ts.tv_nsec / 1000000, (int)getpid());
	va_start(ap, fmt);
	vfprintf(fs->log, fmt, ap);
	va_end(ap);
	fputc('\n', fs->log);
	fflush(fs->log);
	pthread_mutex_unlock(&fs->log_lock);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;
	unsigned want = FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			FUSE_CAP_ASYNC_READ | FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_AUTO_INVAL_DATA;

	conn->want |= conn->capable & want;
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	/*
	 * Passthrough (fs/file.c): the store may sit on one stacked file
	 * system (overlayfs); direct I/O opens, its fallback, keep shared mmap.
	 */
	pthread_mutex_lock(&fs->backing_lock);
	if (fs->passthrough == 0 && (conn->capable & FUSE_CAP_PASSTHROUGH)) {
		conn->want |= FUSE_CAP_PASSTHROUGH;
		conn->max_backing_stack_depth = FUSE_BACKING_STACKED_OVER;
		conn->want |= conn->capable & FUSE_CAP_DIRECT_IO_ALLOW_MMAP;
	} else {
		fs->passthrough = -1;
	}
	pthread_mutex_unlock(&fs->backing_lock);
	if (conn->max_background < 64)
		conn->max_background = 64;
	if (conn->congestion_threshold < 48)
		conn->congestion_threshold = 48;
	fs_log(fs, "init: protocol %u.%u, capable 0x%x, want 0x%x, max_write %u, passthrough %s",
	       conn->proto_major, conn->proto_minor, conn->capable, conn->want,
	       conn->max_write, fs->passthrough < 0 ? "off" : "on");
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;

	memset(&st, 0, sizeof(st));
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_namemax = 255;
	st.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &st);
}

/* Everything that would write: the mount is read-only. */
static void erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	erofs(req);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	erofs(req);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	erofs(req);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	erofs(req);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	erofs(req);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	erofs(req);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	erofs(req);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	erofs(req);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv, off_t off,
			 struct fuse_file_info *fi)
{
	erofs(req);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	erofs(req);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	erofs(req);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	erofs(req);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			 off_t length, struct fuse_file_info *fi)
{
	erofs(req);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_op_lookup,
	.forget = fs_op_forget,
	.forget_multi = fs_op_forget_multi,
	.getattr = fs_op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = fs_op_open,
	.read = fs_op_read,
	.write = op_write,
	.write_buf = op_write_buf,
	.release = fs_op_release,
	.opendir = fs_op_opendir,
	.readdir = fs_op_readdir,
	.readdirplus = fs_op_readdirplus,
	.releasedir = fs_op_releasedir,
	.statfs = fs_statfs,
	.setxattr = op_setxattr,
	.getxattr = fs_op_getxattr,
	.listxattr = fs_op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
	.fallocate = op_fallocate,
};

static void build_args(struct fs *fs, struct fuse_args *args)
{
	const struct fs_opts *o = fs->opts;
	struct strbuf opt = STRBUF_INIT;

	fuse_opt_add_arg(args, "databuild");
	strbuf_addf(&opt, "ro,fsname=databuild,subtype=databuild");
	if (o->fuse_options && *o->fuse_options) {
		strbuf_addf(&opt, ",%s", o->fuse_options);
		if (strstr(o->fuse_options, "allow_other") &&
		    !strstr(o->fuse_options, "default_permissions"))
			strbuf_addstr(&opt, ",default_permissions");
	}
	fuse_opt_add_arg(args, "-o");
	fuse_opt_add_arg(args, opt.buf);
	if (o->debug)
		fuse_opt_add_arg(args, "-d");
	strbuf_release(&opt);
}

static int fs_setup(struct fs *fs, const struct fs_opts *opts, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	int ret = -1;

	fs->opts = opts;
	fs->uid = getuid();
	fs->gid = getgid();
	fs->mount_us = now_us();
	fs->mountpoint = xstrdup(opts->mountpoint);
	pthread_mutex_init(&fs->wait_lock, NULL);
	pthread_cond_init(&fs->wait_cond, NULL);
	pthread_mutex_init(&fs->events_lock, NULL);
	pthread_mutex_init(&fs->log_lock, NULL);
	pthread_mutex_init(&fs->handles_lock, NULL);
	pthread_mutex_init(&fs->backing_lock, NULL);
	fs->passthrough = opts->passthrough_off ? -1 : 0;
	pthread_mutex_init(&fs->graph_lock, NULL);
	strmap_init(&fs->manifest_sizes);
	strmap_init(&fs->run_texts);
	store_path(opts->store, "daemon.log", &path);
	fs->log = fopen(path.buf, "ae");
	if (!fs->log) {
		strbuf_addf(err, "cannot open the log '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	setvbuf(fs->log, NULL, _IOLBF, 0);
	if (pthread_key_create(&fs->catalog_key, catalog_free)) {
		strbuf_addstr(err, "cannot create a thread key");
		goto out;
	}
	fs->catalog_key_made = 1;
	if (nodes_init(fs) < 0) {
		strbuf_addstr(err, "cannot create the inode table");
		goto out;
	}
	fs->graph = fs_graph_new(opts->graph, NULL, 1, err);
	if (!fs->graph)
		goto out;
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

static void fs_teardown(struct fs *fs)
{
	struct catalog *c = fs->catalog_key_made ? pthread_getspecific(fs->catalog_key) : NULL;

	if (c) {
		pthread_setspecific(fs->catalog_key, NULL);
		catalog_free(c);
	}
	if (fs->catalog_key_made)
		pthread_key_delete(fs->catalog_key);
	if (fs->by_ino)
		nodes_release(fs);
	handles_release(fs);
	fs_graph_put(fs->graph);
	fs->graph = NULL;
	free(fs->reload_error);
	strmap_clear(&fs->manifest_sizes);
	run_texts_release(fs);
	events_release(fs);
	free(fs->queue);
	if (fs->log)
		fclose(fs->log);
	free(fs->mountpoint);
}

/*
 * libfuse's messages while the session is made and mounted ("unknown
 * option(s)", a refused mount) go to the daemon's log as always and are
 * also kept here, so that the error the mount command prints says what
 * libfuse objected to. Only set from fs_serve's thread before the session
 * runs; libfuse logs nothing from other threads then.
 */
static struct strbuf *fuse_said;

static void fuse_log_kept(enum fuse_log_level level, const char *fmt, va_list ap)
{
	va_list copy;

	(void)level;
	if (fuse_said) {
		va_copy(copy, ap);
		strbuf_vaddf(fuse_said, fmt, copy);
		va_end(copy);
	}
	vfprintf(stderr, fmt, ap);
}

/* Appends ": TEXT" (what libfuse said, lines joined by ';'), or tail if it said nothing. */
static void add_fuse_said(struct strbuf *err, const struct strbuf *said, const char *tail)
{
	struct strbuf t = STRBUF_INIT;

	strbuf_addbuf(&t, said);
	strbuf_rtrim(&t);
	for (size_t i = 0; i < t.len; i++)
		if (t.buf[i] == '\n')
			t.buf[i] = ';';
	if (t.len)
		strbuf_addf(err, ": %s", t.buf);
	else
		strbuf_addstr(err, tail);
	strbuf_release(&t);
}

int fs_serve(const struct fs_opts *opts, struct strbuf *err)
{
	struct fs fs;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *cfg = NULL;
	struct strbuf said = STRBUF_INIT;
	struct stat st;
	int ret = -1, mounted = 0, handlers = 0, rc;

	memset(&fs, 0, sizeof(fs));
	if (stat(opts->mountpoint, &st) < 0) {
		strbuf_addf(err, "mountpoint '%s': %s", opts->mountpoint, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		strbuf_addf(err, "mountpoint '%s': not a directory", opts->mountpoint);
		return -1;
	}
	if (fs_setup(&fs, opts, err) < 0)
		goto out;
	if (!fs_catalog(&fs, err))
		goto out;
	build_args(&fs, &args);
	fuse_said = &said;
	fuse_set_log_func(fuse_log_kept);
	fs.se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!fs.se) {
		strbuf_addf(err, "cannot create the FUSE session for '%s'", opts->mountpoint);
		add_fuse_said(err, &said, " (bad -o options?)");
		goto out;
	}
	signals_install(fs.se);
	handlers = 1;
	if (fuse_session_mount(fs.se, opts->mountpoint) < 0) {
		strbuf_addf(err, "cannot mount at '%s'", opts->mountpoint);
		add_fuse_said(err, &said, "");
		strbuf_addf(err, " (see %s/daemon.log)", opts->store->root);
		goto out;
	}
	fuse_set_log_func(NULL);
	fuse_said = NULL;
	mounted = 1;
	if (builders_start(&fs, err) < 0 || watch_start(&fs, err) < 0)
		goto out;
	fs_log(&fs, "mounted '%s' (graph '%s', store '%s', freshness %s, executor %s)",
	       opts->mountpoint, opts->graph->path, opts->store->root,
	       freshness_name(opts->freshness), backend_opts_name(opts->backend));
	if (opts->ready_fd >= 0 && write(opts->ready_fd, "O", 1) < 0)
		fs_log(&fs, "cannot signal readiness: %s", strerror(errno));

	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, MAX_WORKERS);
	fuse_loop_cfg_set_idle_threads(cfg, MAX_WORKERS);
	rc = fuse_session_loop_mt(fs.se, cfg);
	fs_log(&fs, "stopping (%d)", rc);
	/* Answer the readers, then unmount: no build holds the mount up. */
	builders_cancel(&fs);
	watch_cancel(&fs);
	fuse_session_unmount(fs.se);
	mounted = 0;
	builders_stop(&fs);
	watch_stop(&fs);
	if (rc < 0) {
		strbuf_addf(err, "serving '%s' failed: %s", opts->mountpoint, strerror(-rc));
		goto out;
	}
	ret = 0;
out:
	fuse_set_log_func(NULL);
	fuse_said = NULL;
	strbuf_release(&said);
	watch_stop(&fs);
	if (fs.builders_nr)
		builders_stop(&fs);
	if (mounted)
		fuse_session_unmount(fs.se);
	if (handlers)
		signals_restore();
	if (fs.se)
		fuse_session_destroy(fs.se);
	if (cfg)
		fuse_loop_cfg_destroy(cfg);
	fuse_opt_free_args(&args);
	if (ret < 0 && err->len)
		fs_log(&fs, "%s", err->buf);
	else
		fs_log(&fs, "unmounted '%s'", opts->mountpoint);
	fs_teardown(&fs);
	return ret;
}

static int fusermount(const char *mountpoint, int lazy, struct strbuf *err)
{
	const char *argv[] = { "fusermount3", "-u", mountpoint, NULL, NULL };
	struct proc_opts po;
	struct proc_result res = PROC_RESULT_INIT;
	int ret = -1;

	if (lazy) {
		argv[2] = "-z";
		argv[3] = mountpoint;
	}
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.timeout_ms = 30000;
	if (proc_run(&po, &res, err) < 0)
		goto out;
	if (!proc_ok(&res)) {
		strbuf_addf(err, "cannot unmount '%s': ", mountpoint);
		if (res.end == PROC_SPAWN_FAILED)
			strbuf_addf(err, "cannot run fusermount3: %s", strerror(res.status));
		else if (res.err.len)
			strbuf_add_tail(err, res.err.buf, res.err.len, 3, 1000, NULL);
		else
			proc_describe(&res, po.timeout_ms, err);
		goto out;
	}
	ret = 0;
out:
	proc_result_release(&res);
	return ret;
}

/* Undoes the octal escapes of /proc/self/mounts (\040 for a space) in place. */
static void mounts_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int fs_is_mounted(const char *mountpoint)
{
	struct strbuf mounts = STRBUF_INIT;
	char *line, *save = NULL;
	int found = 0;

	if (strbuf_read_file(&mounts, "/proc/self/mounts", 0) < 0)
		return 0;
	for (line = strtok_r(mounts.buf, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[3], *fsave = NULL;
		int i;

		f[0] = strtok_r(line, " ", &fsave);
		for (i = 1; i < 3 && f[i - 1]; i++)
			f[i] = strtok_r(NULL, " ", &fsave);
		if (i < 3 || !f[2])
			continue;
		mounts_unescape(f[1]);
		found = !strcmp(f[1], mountpoint) && !strcmp(f[2], "fuse.databuild");
	}
	strbuf_release(&mounts);
	return found;
}

/* The answer of a reload (fs_reload): 0, 1 or -1 as fs_reload. */
static int reload_answer(const struct strbuf *text, struct strbuf *out, struct strbuf *err)
{
	cJSON *o = cJSON_ParseWithLength(text->buf, text->len);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	const cJSON *gen = cJSON_GetObjectItemCaseSensitive(o, "generation");
	const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(o, "jobs");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *warning = cJSON_GetObjectItemCaseSensitive(o, "warning");
	int ret = -1;

	if (!cJSON_IsBool(ok) || !cJSON_IsNumber(gen)) {
		strbuf_addstr(err, "the daemon's answer is not a reload result: ");
		strbuf_add_tail(err, text->buf, text->len, 3, 300, NULL);
		goto out;
	}
	if (cJSON_IsFalse(ok)) {
		strbuf_addf(err, "%s (the daemon keeps generation %.0f of the graph)",
			    cJSON_IsString(error) ? error->valuestring : "refused",
			    gen->valuedouble);
		ret = 1;
		goto out;
	}
	strbuf_addf(out, "generation %.0f, %.0f jobs", gen->valuedouble,
		    cJSON_IsNumber(jobs) ? jobs->valuedouble : 0.0);
	if (cJSON_IsString(warning))
		strbuf_addf(out, " (warning: %s)", warning->valuestring);
	ret = 0;
out:
	cJSON_Delete(o);
	return ret;
}

int fs_reload(const char *mountpoint, struct strbuf *out, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	char *real = realpath(mountpoint, NULL);
	int fd = -1, ret = -1, saverr = errno;

	if (!real || !fs_is_mounted(real)) {
		strbuf_addf(err, "'%s' is not a databuild mount", mountpoint);
		if (!real)
			strbuf_addf(err, ": %s", strerror(saverr));
		goto out;
	}
	strbuf_addf(&path, "%s/%s/reload", real, CONTROL_DIR);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saverr = errno;
		strbuf_addf(err, "cannot ask the daemon of '%s' to reload: '%s': %s%s", mountpoint,
			    path.buf, strerror(saverr),
			    saverr == ENOENT ? " (a daemon of an older databuild: remount)" : "");
		goto out;
	}
	if (strbuf_read_fd(&text, fd, 1 << 20) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	ret = reload_answer(&text, out, err);
out:
	if (fd >= 0)
		close(fd);
	free(real);
	strbuf_release(&path);
	strbuf_release(&text);
	return ret;
}

/*
 * The pid of the daemon serving the live mount at mountpoint, from its
 * .databuild/status (read by a child process with a timeout, so that a
 * wedged daemon cannot hang the caller). 0 if it cannot be told.
 */
static pid_t daemon_pid(const char *mountpoint)
{
	struct strbuf path = STRBUF_INIT;
	const char *argv[] = { "cat", NULL, NULL };
	struct proc_opts po;
	struct proc_result res = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	const char *at;
	long pid = 0;

	strbuf_addf(&path, "%s/.databuild/status", mountpoint);
	argv[1] = path.buf;
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.timeout_ms = 2000;
	po.max_output = 1 << 20;
	if (proc_run(&po, &res, &err) == 0 && proc_ok(&res) &&
	    (at = strstr(res.out.buf, "\"pid\":")))
		pid = strtol(at + 6, NULL, 10);
	proc_result_release(&res);
	strbuf_release(&err);
	strbuf_release(&path);
	return pid > 0 ? (pid_t)pid : 0;
}

/* Waits up to ms milliseconds for mountpoint to leave the mount table: 1 if it did. */
static int wait_unmounted(const char *mountpoint, long ms)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	for (long waited = 0; fs_is_mounted(mountpoint); waited += 20) {
		if (waited >= ms)
			return 0;
		nanosleep(&pause, NULL);
	}
	return 1;
}

/*
 * The mount is busy (a reader blocked in open, a process inside it): asks
 * its daemon to stop with SIGTERM (it answers every waiting reader with
 * EIO, cancels its jobs and unmounts), waits up to 5 s, then detaches the
 * mount lazily. 0, or -1 with err.
 */
static int stop_daemon(const char *mountpoint, struct strbuf *err)
{
	pid_t pid = daemon_pid(mountpoint);

	if (pid && kill(pid, SIGTERM) == 0 && wait_unmounted(mountpoint, 5000))
		return 0;
	if (!fs_is_mounted(mountpoint))
		return 0;
	return fusermount(mountpoint, 1, err);
}

int fs_unmount(const char *mountpoint, struct strbuf *err)
{
	struct strbuf abs = STRBUF_INIT, busy = STRBUF_INIT;
	struct stat st;
	char *real = NULL;
	int ret = -1, dead = stat(mountpoint, &st) < 0 && errno == ENOTCONN;

	if (!dead && (real = realpath(mountpoint, NULL)))
		strbuf_addstr(&abs, real);
	else if (*mountpoint != '/' && (real = getcwd(NULL, 0)))
		strbuf_addf(&abs, "%s/%s", real, mountpoint);
	else
		strbuf_addstr(&abs, mountpoint);
	while (abs.len > 1 && abs.buf[abs.len - 1] == '/')
		strbuf_setlen(&abs, abs.len - 1);
	if (!fs_is_mounted(abs.buf)) {
		strbuf_addf(err, "'%s' is not a databuild mount", mountpoint);
		goto out;
	}
	ret = fusermount(abs.buf, dead, &busy);
	if (ret < 0 && !dead)
		ret = stop_daemon(abs.buf, err);
	else if (ret < 0)
		strbuf_addbuf(err, &busy);
out:
	free(real);
	strbuf_release(&busy);
	strbuf_release(&abs);
	return ret;
}
