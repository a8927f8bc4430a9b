#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fingerprint.h"
#include "core/json.h"
#include "core/strmap.h"
#include "model/ref.h"
#include "scheduler/gc.h"
#include "scheduler/scheduler.h"

/* Partitions read per page by a freshness scan; events per eager look. */
#define SCAN_PAGE 1000
#define EVENTS_PER_LOOK 1000
/* A stopped scheduler's build has this long after SIGTERM, then its process group is killed. */
#define BUILD_STOP_GRACE_MS 30000
/* The end of a build's output kept for its event. */
#define BUILD_OUTPUT_KEEP 65536
/* How far back a schedule with no recorded tick and no start looks for its newest tick. */
#define NEWEST_LOOKBACK_S (11LL * 366 * 86400)

struct scheduler {
	struct scheduler_opts o;
	/*
	 * The graph in force: o.graph until the graph file changes, then the
	 * scheduler's own copy of it, reloaded by graph_follow (a file that
	 * does not load keeps the previous graph, with the error logged).
	 */
	const struct graph *g;
	struct graph own;
	int own_loaded;
	struct fingerprint graph_fp;  /* of o.graph->path when g was loaded */
	pthread_t thread;
	int stop[2];               /* scheduler_stop writes stop[1]; stop[0] also cancels builds */
	struct catalog catalog;    /* the thread's own handle (scheduler_start opens it) */
	struct lease *lease;       /* set once held (lease_take): this scheduler acts */
	int64_t eager_seq;         /* events up to this seq were looked at (lease_take, eager_look) */
	struct strmap fresh_tried; /* ref -> (void *)(intptr_t) now_s() of its last freshness
				      rebuild (freshness_scan) */
	long long fresh_next_ms;   /* mono_ms() of the next freshness scan (freshness_look) */
	long long gc_next;         /* now_s() of the next daily gc (scheduler_start, gc_look) */
};

__attribute__((format(printf, 2, 3)))
static void slog(struct scheduler *s, const char *fmt, ...)
{
	struct strbuf line = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&line, fmt, ap);
	va_end(ap);
	if (s->o.log)
		s->o.log(s->o.log_arg, line.buf);
	strbuf_release(&line);
}

static int stopping(const struct scheduler *s)
{
	struct pollfd pfd = { .fd = s->stop[0], .events = POLLIN, .revents = 0 };

	return poll(&pfd, 1, 0) > 0;
}

/* Appends an event of type with payload (consumed). */
static void emit(struct scheduler *s, const char *type, const char *ref, cJSON *payload)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	struct event e = { .seq = 0, .time_us = 0, .build_id = 0, .type = (char *)type,
			   .ref = (char *)ref, .run_id = NULL, .payload = NULL };
	int64_t seq;

	json_print(payload, &text);
	e.payload = text.buf;
	if (catalog_append_event(&s->catalog, &e, &seq, &err) < 0)
		slog(s, "cannot record a %s event: %s", type, err.buf);
	cJSON_Delete(payload);
	strbuf_release(&text);
	strbuf_release(&err);
}

/* What build_spawn saw of a build. */
struct build_result {
	int exited;         /* 1: exited with status; 0: killed by signal status */
	int status;
	int cancelled;      /* the scheduler stopped during the build */
	struct strbuf out;  /* the end of its stdout and stderr */
};

static void output_add(struct strbuf *out, const char *buf, size_t n)
{
	strbuf_add(out, buf, n);
	if (out->len > 2 * BUILD_OUTPUT_KEEP) {
		memmove(out->buf, out->buf + out->len - BUILD_OUTPUT_KEEP, BUILD_OUTPUT_KEEP);
		strbuf_setlen(out, BUILD_OUTPUT_KEEP);
	}
}

/* Reads what fd has (to EOF, or EAGAIN when nonblocking): 1 at EOF or error, else 0. */
static int output_read(int fd, struct strbuf *out)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			output_add(out, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return !(n < 0 && errno == EAGAIN);
	}
}

/*
 * Runs argv in its own process group, stdin /dev/null, stdout and stderr
 * into r->out, signals reset (the thread has all of them blocked). When
 * the scheduler stops, the build gets SIGTERM (it cancels its jobs and
 * publishes nothing) and BUILD_STOP_GRACE_MS to end, then its process
 * group SIGKILL. 0 once it ended, or -1 with err when it did not start.
 */
static int build_spawn(struct scheduler *s, const char *const *argv, struct build_result *r,
		       struct strbuf *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int pfd[2] = { -1, -1 }, pidfd = -1, rc, wstatus = 0, killed = 0, ret = -1;
	long long deadline = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		strbuf_addf(err, "cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, argv[0], &fa, &at, (char *const *)argv,
			 s->o.build_envp ? (char *const *)s->o.build_envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	pfd[1] = -1;
	if (rc) {
		strbuf_addf(err, "cannot start '%s': %s", argv[0], strerror(rc));
		goto out;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);  /* -1: wait for the pipe's end */
	while (pidfd >= 0 || pfd[0] >= 0) {
		struct pollfd p[3] = {
			{ .fd = pfd[0], .events = POLLIN, .revents = 0 },
			{ .fd = pidfd, .events = POLLIN, .revents = 0 },
			{ .fd = r->cancelled ? -1 : s->stop[0], .events = POLLIN, .revents = 0 },
		};
		long long left = deadline - mono_ms();
		int n = poll(p, 3, r->cancelled && !killed ? (int)(left > 0 ? left : 0) : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {  /* the grace after SIGTERM is over */
			kill(-pid, SIGKILL);
			killed = 1;
			continue;
		}
		if (p[2].revents) {
			r->cancelled = 1;
			kill(pid, SIGTERM);
			deadline = mono_ms() + BUILD_STOP_GRACE_MS;
		}
		if (p[0].revents && output_read(pfd[0], &r->out)) {
			close(pfd[0]);
			pfd[0] = -1;
		}
		if (p[1].revents)
			break;
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (pfd[0] >= 0 && fcntl(pfd[0], F_SETFL, O_NONBLOCK) == 0)
		output_read(pfd[0], &r->out);  /* what is left; a leaked writer may hold it open */
	r->exited = WIFEXITED(wstatus);
	r->status = r->exited ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus);
	ret = 0;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

/*
 * Runs the build command over refs (with --force when force) and records
 * its outcome in a trigger_build event: payload (consumed) plus trigger,
 * refs, status, exit and error.
 */
static void run_build(struct scheduler *s, const char *trigger, const struct strvec *refs,
		      int force, cJSON *payload)
{
	struct strvec argv = STRVEC_INIT;
	struct build_result r = { .exited = 0, .status = 0, .cancelled = 0, .out = STRBUF_INIT };
	struct strbuf why = STRBUF_INIT;
	const char *status = "failed";

	strvec_pushv(&argv, s->o.build_argv);
	if (force)
		strvec_push(&argv, "--force");
	strvec_push(&argv, "--");
	strvec_pushv(&argv, refs->v);
	if (build_spawn(s, argv.v, &r, &why) < 0) {
		r.status = -1;
	} else if (r.exited && !r.status) {
		status = "succeeded";
	} else {
		if (r.cancelled)
			status = "cancelled";
		if (r.exited)
			strbuf_addf(&why, "the build exited with status %d", r.status);
		else
			strbuf_addf(&why, "the build was killed by signal %d (%s)", r.status,
				    strsignal(r.status));
		if (r.out.len) {
			strbuf_addstr(&why, ": ");
			strbuf_add_tail(&why, r.out.buf, r.out.len, 5, 2000, NULL);
		}
	}
	cJSON_AddStringToObject(payload, "trigger", trigger);
	cJSON_AddItemToObject(payload, "refs", json_strvec(refs));
	cJSON_AddStringToObject(payload, "status", status);
	json_add_int64(payload, "exit", r.exited ? r.status : -1);
	if (why.len) {
		cJSON_AddStringToObject(payload, "error", why.buf);
		slog(s, "%s build of '%s'%s: %s", trigger, refs->v[0],
		     refs->nr > 1 ? " and more" : "", why.buf);
	}
	emit(s, EV_TRIGGER_BUILD, NULL, payload);
	strvec_clear(&argv);
	strbuf_release(&r.out);
	strbuf_release(&why);
}

int scheduler_last_tick(struct catalog *c, const struct schedule *sc, long long *t,
			struct strbuf *err)
{
	struct strbuf key = STRBUF_INIT;
	char *value = NULL;
	int r;

	strbuf_addf(&key, SCHEDULER_META_TICK, sc->name);
	r = catalog_get_meta(c, key.buf, &value, err);
	if (r == 1 && utc_parse(value, t) < 0) {
		strbuf_addf(err, "catalog meta '%s': expected a UTC time, got '%s'", key.buf, value);
		r = -1;
	}
	free(value);
	strbuf_release(&key);
	return r;
}

/* Records tick t of sc as fired, then builds its refs. */
static void tick_fire(struct scheduler *s, const struct schedule *sc, long long t)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf key = STRBUF_INIT, when = STRBUF_INIT, err = STRBUF_INIT;
	cJSON *p;

	if (schedule_refs(sc, t, &refs, &err) < 0) {
		slog(s, "schedule '%s': %s", sc->name, err.buf);
		goto out;
	}
	strbuf_addf(&key, SCHEDULER_META_TICK, sc->name);
	catalog_format_time((int64_t)t * 1000000, &when);
	if (catalog_set_meta(&s->catalog, key.buf, when.buf, &err) < 0) {
		slog(s, "schedule '%s': tick %s not fired: %s", sc->name, when.buf, err.buf);
		goto out;
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "schedule", sc->name);
	cJSON_AddStringToObject(p, "tick", when.buf);
	cJSON_AddItemToObject(p, "refs", json_strvec(&refs));
	cJSON_AddStringToObject(p, "catch_up", catch_up_name(sc->catch_up));
	emit(s, EV_SCHEDULE_TICK, NULL, p);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "schedule", sc->name);
	cJSON_AddStringToObject(p, "tick", when.buf);
	run_build(s, "schedule", &refs, 0, p);
out:
	strvec_clear(&refs);
	strbuf_release(&key);
	strbuf_release(&when);
	strbuf_release(&err);
}

/*
 * The newest tick of sc in (from, now]: 1 with *out, or 0. Looks back in
 * windows growing from an hour, so that a dense cron is not walked from
 * far in the past.
 */
static int newest_tick(const struct schedule *sc, long long from, long long now,
		       long long *out)
{
	for (long long w = 3600;; w *= 4) {
		long long lo = now - w < from ? from : now - w;
		int found = 0;

		for (long long t = cron_next(&sc->cron, &sc->tz, lo); t != -1 && t <= now;
		     t = cron_next(&sc->cron, &sc->tz, t)) {
			*out = t;
			found = 1;
		}
		if (found || lo == from)
			return found;
	}
}

/* Fires what is due of sc at now: catch-up from its last recorded tick or start. */
static void schedule_look(struct scheduler *s, const struct schedule *sc, long long now)
{
	struct strbuf err = STRBUF_INIT;
	long long from = 0, t = 0;
	int r = scheduler_last_tick(&s->catalog, sc, &from, &err), fired = 0;

	if (r < 0) {
		slog(s, "schedule '%s': %s", sc->name, err.buf);
		goto out;
	}
	if (!r && sc->start == LLONG_MIN) {
		/* never fired, no start: only the newest due tick */
		if (newest_tick(sc, now - NEWEST_LOOKBACK_S, now, &t))
			tick_fire(s, sc, t);
		goto out;
	}
	if (sc->start != LLONG_MIN && (!r || from < sc->start - 1))
		from = sc->start - 1;
	if (sc->catch_up == CATCH_UP_LATEST) {
		if (newest_tick(sc, from, now, &t))
			tick_fire(s, sc, t);
		goto out;
	}
	for (t = cron_next(&sc->cron, &sc->tz, from);
	     t != -1 && t <= now && fired < SCHEDULER_TICKS_PER_LOOK && !stopping(s);
	     t = cron_next(&sc->cron, &sc->tz, t), fired++)
		tick_fire(s, sc, t);
out:
	strbuf_release(&err);
}

/* The refs of policy f that are due at now, pushed to due (each with its event). */
static void freshness_scan(struct scheduler *s, const struct freshness_policy *f,
			   long long now, struct strvec *due)
{
	const unsigned mask = 1u << PART_LIVE | 1u << PART_STALE | 1u << PART_TAINTED;
	struct strbuf err = STRBUF_INIT, prefix = STRBUF_INIT, ds = STRBUF_INIT;
	struct pattern pat;
	char *after = NULL;
	const char *brace = strchr(f->dataset, '{');

	if (pattern_parse(&pat, f->dataset, &err) < 0) {
		slog(s, "freshness '%s': %s", f->dataset, err.buf);
		strbuf_release(&err);
		return;
	}
	if (brace)
		strbuf_add(&prefix, f->dataset, (size_t)(brace - f->dataset));
	else
		strbuf_addf(&prefix, "%s/", f->dataset);
	for (;;) {
		struct partition_list list = PARTITION_LIST_INIT;
		size_t nr;

		if (catalog_list_partitions(&s->catalog, prefix.buf, after, SCAN_PAGE, mask, &list,
					    &err) < 0) {
			slog(s, "freshness '%s': %s", f->dataset, err.buf);
			partition_list_release(&list);
			break;
		}
		for (size_t i = 0; i < list.nr; i++) {
			const struct partition *p = &list.items[i];
			int stale = p->status != PART_LIVE;
			long long age = now - p->updated_us / 1000000;
			cJSON *payload;

			strbuf_reset(&ds);
			strbuf_add(&ds, p->ref, ref_dataset_len(p->ref));
			if (!pattern_match(&pat, ds.buf, NULL) || (!stale && age <= f->max_age_s))
				continue;
			/*
			 * Over age: once per max_age of the clock (now_s), whatever
			 * the publish time says, so that a clock ahead of the
			 * catalog's (DATABUILD_NOW) does not rebuild it at every scan.
			 */
			if (!stale && strmap_contains(&s->fresh_tried, p->ref) &&
			    now < (intptr_t)strmap_get(&s->fresh_tried, p->ref) + f->max_age_s)
				continue;
			if (!stale)
				strmap_put(&s->fresh_tried, p->ref, (void *)(intptr_t)now);
			payload = cJSON_CreateObject();
			cJSON_AddStringToObject(payload, "dataset", f->dataset);
			cJSON_AddStringToObject(payload, "max_age", f->max_age_text);
			json_add_int64(payload, "age_s", age);
			cJSON_AddStringToObject(payload, "reason", stale ? "stale" : "max_age");
			emit(s, EV_FRESHNESS_DUE, p->ref, payload);
			strvec_push(due, p->ref);
		}
		nr = list.nr;
		free(after);
		after = nr ? xstrdup(list.items[nr - 1].ref) : NULL;
		partition_list_release(&list);
		if (nr < SCAN_PAGE)
			break;
	}
	free(after);
	pattern_release(&pat);
	strbuf_release(&err);
	strbuf_release(&prefix);
	strbuf_release(&ds);
}

/* Forgets the rebuilds that no policy's max_age holds back any more. */
static void tried_prune(struct scheduler *s, long long now)
{
	const struct graph *g = s->g;
	long long keep = 0;
	const char *key;
	void *value;

	for (size_t i = 0; i < g->freshness_nr; i++)
		if (g->freshness[i].max_age_s > keep)
			keep = g->freshness[i].max_age_s;
	for (size_t i = 0; strmap_next(&s->fresh_tried, &i, &key, &value);)
		if ((intptr_t)value + keep <= now) {
			char *copy = xstrdup(key);

			strmap_remove(&s->fresh_tried, copy);
			free(copy);
		}
}

/* Every SCHEDULER_FRESHNESS_EVERY_MS: one forced build of what the policies say is due. */
static void freshness_look(struct scheduler *s, long long now)
{
	struct strvec due = STRVEC_INIT;

	if (!s->g->freshness_nr || mono_ms() < s->fresh_next_ms)
		return;
	s->fresh_next_ms = mono_ms() + SCHEDULER_FRESHNESS_EVERY_MS;
	tried_prune(s, now);
	for (size_t i = 0; i < s->g->freshness_nr; i++)
		freshness_scan(s, &s->g->freshness[i], now, &due);
	if (due.nr)
		run_build(s, "freshness", &due, 1, cJSON_CreateObject());
	strvec_clear(&due);
}

/* What eager_look collects from the events. */
struct eager_walk {
	struct strvec published;  /* each republished ref once */
	struct strmap seen;
	int64_t last;             /* the last seq read */
};

static int eager_event(const struct event *e, void *arg)
{
	struct eager_walk *w = arg;

	w->last = e->seq;
	if (!strcmp(e->type, EV_PARTITION_PUBLISHED) && e->ref &&
	    !strmap_contains(&w->seen, e->ref)) {
		strmap_put(&w->seen, e->ref, NULL);
		strvec_push(&w->published, e->ref);
	}
	return 0;
}

/*
 * 1 if the current manifest of down read up in other bytes than up's
 * current ones: down is behind. 0 if it did not read up, already read
 * these bytes (built after the republish), or either is unknown.
 */
static int reads_older(struct scheduler *s, const char *down, const char *up)
{
	struct partition d, u;
	struct manifest m;
	struct strbuf err = STRBUF_INIT;
	int behind = 0;

	partition_init(&d);
	partition_init(&u);
	manifest_init(&m);
	if (catalog_get_partition(&s->catalog, up, &u, &err) == 1 && u.sha256[0] &&
	    catalog_get_partition(&s->catalog, down, &d, &err) == 1 && d.published_run &&
	    catalog_get_manifest(&s->catalog, d.published_run, &m, &err) == 1)
		for (size_t i = 0; i < m.inputs_nr; i++)
			if (!strcmp(m.inputs[i].ref, up))
				behind = strcmp(m.inputs[i].sha256, u.sha256) != 0;
	if (err.len)
		slog(s, "eager: %s", err.buf);
	manifest_release(&m);
	partition_release(&d);
	partition_release(&u);
	strbuf_release(&err);
	return behind;
}

/*
 * The eager partitions that read up directly and are behind it, pushed to
 * due once each (with their event).
 */
static void eager_downstream(struct scheduler *s, const char *up, struct strmap *queued,
			     struct strvec *due)
{
	struct strvec down = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, why = STRBUF_INIT;

	if (catalog_lineage(&s->catalog, up, 1, &down, &err) < 0) {
		slog(s, "eager: downstream of '%s': %s", up, err.buf);
		goto out;
	}
	for (size_t i = 0; i < down.nr; i++) {
		const struct job *j;
		cJSON *payload;

		strbuf_reset(&why);
		j = graph_lookup(s->g, down.v[i], &why);
		if (!j || !j->eager || strmap_contains(queued, down.v[i]) ||
		    !reads_older(s, down.v[i], up))
			continue;
		strmap_put(queued, down.v[i], NULL);
		payload = cJSON_CreateObject();
		cJSON_AddStringToObject(payload, "job", j->label);
		cJSON_AddStringToObject(payload, "upstream", up);
		emit(s, EV_EAGER_DUE, down.v[i], payload);
		strvec_push(due, down.v[i]);
	}
out:
	strvec_clear(&down);
	strbuf_release(&err);
	strbuf_release(&why);
}

static int graph_has_eager(const struct graph *g)
{
	for (size_t i = 0; i < g->jobs_nr; i++)
		if (g->jobs[i].eager)
			return 1;
	return 0;
}

/* Builds the eager partitions downstream of what was published since the last look. */
static void eager_look(struct scheduler *s)
{
	struct eager_walk w = { .published = STRVEC_INIT, .seen = STRMAP_INIT,
				.last = s->eager_seq };
	struct strmap queued = STRMAP_INIT;
	struct strvec due = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, seq = STRBUF_INIT;

	if (!graph_has_eager(s->g))
		return;
	if (catalog_read_events(&s->catalog, s->eager_seq, EVENTS_PER_LOOK, eager_event, &w,
				&err) < 0) {
		slog(s, "eager: %s", err.buf);
		goto out;
	}
	if (w.last == s->eager_seq)
		goto out;
	s->eager_seq = w.last;
	strbuf_addf(&seq, "%lld", (long long)w.last);
	if (catalog_set_meta(&s->catalog, SCHEDULER_META_EAGER_SEQ, seq.buf, &err) < 0)
		slog(s, "eager: %s", err.buf);
	for (size_t i = 0; i < w.published.nr; i++)
		eager_downstream(s, w.published.v[i], &queued, &due);
	if (due.nr)
		run_build(s, "eager", &due, 0, cJSON_CreateObject());
out:
	strvec_clear(&w.published);
	strmap_clear(&w.seen);
	strmap_clear(&queued);
	strvec_clear(&due);
	strbuf_release(&err);
	strbuf_release(&seq);
}

/* Tries to become the store's acting scheduler. */
static void lease_take(struct scheduler *s)
{
	struct strbuf err = STRBUF_INIT;
	char *value = NULL;
	int64_t last = 0;

	if (catalog_lease_acquire(&s->catalog, SCHEDULER_LEASE, 0, &s->lease, &err) <= 0) {
		if (err.len)
			slog(s, "%s", err.buf);
		goto out;
	}
	s->fresh_next_ms = 0;
	if (catalog_get_meta(&s->catalog, SCHEDULER_META_EAGER_SEQ, &value, &err) == 1)
		s->eager_seq = strtoll(value, NULL, 10);
	else if (catalog_last_event_seq(&s->catalog, &last, &err) == 0)
		s->eager_seq = last;
	if (err.len)
		slog(s, "%s", err.buf);
out:
	free(value);
	strbuf_release(&err);
}

/* Follows edits of the graph file: a changed file is loaded and takes over. */
static void graph_follow(struct scheduler *s)
{
	struct strbuf err = STRBUF_INIT;
	struct fingerprint now;
	struct graph next;

	fingerprint_of(s->o.graph->path, &now);
	if (fingerprint_equal(&now, &s->graph_fp))
		return;
	/* a file still being written is looked at again next time */
	if (fingerprint_racy(&now, now_us() * 1000LL))
		return;
	s->graph_fp = now;
	if (graph_load(&next, s->o.graph->path, &err) < 0) {
		slog(s, "the graph file changed but does not load; its previous schedules stay "
		     "in force: %s", err.buf);
		goto out;
	}
	if (s->own_loaded)
		graph_release(&s->own);
	s->own = next;
	s->own_loaded = 1;
	s->g = &s->own;
	slog(s, "reloaded '%s': %zu schedule%s, %zu freshness polic%s", s->g->path,
	     s->g->schedules_nr, s->g->schedules_nr == 1 ? "" : "s", s->g->freshness_nr,
	     s->g->freshness_nr == 1 ? "y" : "ies");
out:
	strbuf_release(&err);
}

/*
 * The daily gc (scheduler/gc.h), when the graph in force has a retention
 * policy: the first a day after the scheduler started, then every day
 * (by now_s(), so DATABUILD_NOW moves it), one line in the log.
 */
static void gc_look(struct scheduler *s, long long now)
{
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	struct gc_report r;

	if (now < s->gc_next || !graph_has_retention(s->g))
		goto out;
	s->gc_next = now + SCHEDULER_GC_EVERY_S;
	if (gc_run(&s->catalog, s->o.store, s->g, 0, now_us(), &r, &err) < 0) {
		gc_report_summary(&r, &line);
		slog(s, "gc: %s; then failed: %s", line.buf, err.buf);
		goto out;
	}
	gc_report_summary(&r, &line);
	slog(s, "gc: %s", line.buf);
out:
	strbuf_release(&err);
	strbuf_release(&line);
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;
	struct pollfd pfd = { .fd = s->stop[0], .events = POLLIN, .revents = 0 };
	long interval = s->o.interval_ms > 0 ? s->o.interval_ms : SCHEDULER_INTERVAL_MS;

	for (;;) {
		graph_follow(s);
		if (!s->lease)
			lease_take(s);
		if (s->lease) {
			long long now = now_s();

			for (size_t i = 0; i < s->g->schedules_nr && !stopping(s); i++)
				schedule_look(s, &s->g->schedules[i], now);
			if (!stopping(s))
				freshness_look(s, now);
			if (!stopping(s))
				eager_look(s);
			if (!stopping(s))
				gc_look(s, now);
		}
		if (poll(&pfd, 1, (int)interval) > 0)
			break;
	}
	return NULL;
}

int scheduler_start(struct scheduler **out, const struct scheduler_opts *o,
		    struct strbuf *err)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	sigset_t all, old;
	int rc, opened = 0, ret = -1;

	*out = NULL;
	s->o = *o;
	s->g = o->graph;
	fingerprint_of(o->graph->path, &s->graph_fp);
	s->stop[0] = s->stop[1] = -1;
	strmap_init(&s->fresh_tried);
	s->gc_next = now_s() + SCHEDULER_GC_EVERY_S;
	if (pipe2(s->stop, O_CLOEXEC) < 0) {
		strbuf_addf(err, "scheduler: cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	if (catalog_open(&s->catalog, o->store, o->catalog_location, err) < 0)
		goto out;
	opened = 1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, scheduler_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		strbuf_addf(err, "scheduler: cannot start its thread: %s", strerror(rc));
		goto out;
	}
	*out = s;
	ret = 0;
out:
	if (ret < 0) {
		if (opened)
			catalog_close(&s->catalog);
		if (s->stop[0] >= 0) {
			close(s->stop[0]);
			close(s->stop[1]);
		}
		strmap_clear(&s->fresh_tried);
		free(s);
	}
	return ret;
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	while (write(s->stop[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(s->thread, NULL);
	if (s->lease)
		catalog_lease_release(&s->catalog, s->lease);
	catalog_close(&s->catalog);
	close(s->stop[0]);
	close(s->stop[1]);
	strmap_clear(&s->fresh_tried);
	if (s->own_loaded)
		graph_release(&s->own);
	free(s);
}
