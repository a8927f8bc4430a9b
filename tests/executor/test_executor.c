/*
 * executor_run through the C API, as the mount daemon uses it: real store,
 * real SQLite catalog, real sh jobs. Covers what the CLI cannot show: the
 * on_partition contract (every requested ref exactly once, as soon as it is
 * known), and several executor_run calls in threads of one process sharing
 * one store (no global state, coalescing through leases).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "store/store.h"
#include "core/strmap.h"
#include "executor/contain.h"
#include "executor/executor.h"
#include "executor/internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Job "a": writes its arg to a/<arg>; arg "fail" exits 3; "wait" blocks on $DIR/go. */
static const char graph_text[] =
	"{\"name\":\"t\",\"jobs\":["
	"{\"label\":\"a\",\"outputs\":[\"a/{x}\"],\"configure\":[\"true\"],"
	"\"exec\":[\"sh\",\"-c\","
	"\"echo $1 >>\\\"$DIR/runs\\\"; "
	"if [ $1 = fail ]; then echo broken >&2; exit 3; fi; "
	"if [ $1 = wait ]; then : >\\\"$DIR/started\\\"; "
	"while [ ! -e \\\"$DIR/go\\\" ]; do sleep 0.01; done; fi; "
	"mkdir -p \\\"$DATABUILD_OUTPUT_DIR/a\\\" && printf %s $1 >\\\"$DATABUILD_OUTPUT_DIR/a/$1\\\"\","
	"\"sh\"]},"
	"{\"label\":\"b\",\"outputs\":[\"b/{x}\"],\"configure\":[\"true\"],"
	"\"exec\":[\"sh\",\"-c\","
	"\"echo b$1 >>\\\"$DIR/runs\\\"; mkdir -p \\\"$DATABUILD_OUTPUT_DIR/b\\\" && "
	"cat \\\"$DATABUILD_INPUT_DIR/a/$1\\\" >\\\"$DATABUILD_OUTPUT_DIR/b/$1\\\"\","
	"\"sh\"]}]}";

static char *dir;
static struct graph graph;
static struct store store;

static void setup(void)
{
	char tmpl[] = "/tmp/databuild-executor.XXXXXX";
	struct strbuf err = STRBUF_INIT, path = STRBUF_INIT;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	dir = xstrdup(tmpl);
	setenv("DIR", dir, 1);
	strbuf_addf(&path, "%s/databuild.json", dir);
	ck_assert_msg(graph_load_text(&graph, path.buf, graph_text, strlen(graph_text), &err) == 0,
		      "%s", err.buf);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/store", dir);
	ck_assert_msg(store_open(&store, path.buf, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
	strbuf_release(&path);
}

static void teardown(void)
{
	graph_release(&graph);
	store_release(&store);
	remove_tree(dir);
	free(dir);
}

static int runs_of(const char *what)
{
	struct strbuf sb = STRBUF_INIT, path = STRBUF_INIT;
	int n = 0;

	strbuf_addf(&path, "%s/runs", dir);
	if (strbuf_read_file(&sb, path.buf, 0) == 0)
		for (char *p = sb.buf; (p = strstr(p, what)); p += strlen(what))
			if ((p == sb.buf || p[-1] == '\n') && p[strlen(what)] == '\n')
				n++;
	strbuf_release(&sb);
	strbuf_release(&path);
	return n;
}

/* on_partition / on_node recorder. */
struct calls {
	struct strmap seen;   /* ref -> (void *)(intptr_t)(count * 2 + ok) */
	size_t partitions;
	int waiting;          /* some node reported NODE_WAITING */
	enum node_state last;
	pthread_mutex_t lock;
};

static void on_partition(const char *ref, int ok, const char *error, void *arg)
{
	struct calls *c = arg;
	intptr_t v;

	pthread_mutex_lock(&c->lock);
	v = (intptr_t)strmap_get(&c->seen, ref);
	v = ((v >> 1) + 1) * 2 + (ok ? 1 : 0);
	strmap_put(&c->seen, ref, (void *)v);
	c->partitions++;
	if (!ok)
		ck_assert_ptr_nonnull(error);
	pthread_mutex_unlock(&c->lock);
}

static void on_node(const struct node_report *r, void *arg)
{
	struct calls *c = arg;

	pthread_mutex_lock(&c->lock);
	if (r->state == NODE_WAITING)
		c->waiting = 1;
	c->last = r->state;
	pthread_mutex_unlock(&c->lock);
}

static void calls_init(struct calls *c)
{
	memset(c, 0, sizeof(*c));
	strmap_init(&c->seen);
	pthread_mutex_init(&c->lock, NULL);
}

static void calls_release(struct calls *c)
{
	strmap_clear(&c->seen);
	pthread_mutex_destroy(&c->lock);
}

/* count of on_partition calls for ref, and whether the last said ok */
static int calls_of(struct calls *c, const char *ref, int *ok)
{
	intptr_t v = (intptr_t)strmap_get(&c->seen, ref);

	*ok = (int)(v & 1);
	return (int)(v >> 1);
}

/* plan: nodes "a:x" (job a, arg x) and "b:x" (reads a/x), requested refs. */
static void plan_make(struct job_graph *plan, const char *const *nodes, const char *requested)
{
	job_graph_init(plan);
	for (size_t i = 0; nodes[i]; i++) {
		struct job_config cfg = JOB_CONFIG_INIT;
		const char *arg = nodes[i] + 2;
		char job[2] = { nodes[i][0], 0 };

		strvec_pushf(&cfg.outputs, "%s/%s", job, arg);
		strvec_push(&cfg.args, arg);
		if (job[0] == 'b') {
			char *in = xstrfmt("a/%s", arg);

			job_config_add_input(&cfg, DEP_MATERIALIZE, in);
			for (size_t k = 0; k < i; k++)
				if (!strcmp(plan->nodes[k].config.outputs.v[0], in))
					job_graph_add_edge(plan, k, i);
			free(in);
		}
		job_graph_add_node(plan, job, &cfg, "missing");
		job_config_release(&cfg);
	}
	for (const char *p = requested; p && *p; ) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *ref = xstrndup(p, n);

		strvec_push(&plan->outputs, ref);
		free(ref);
		p = end ? end + 1 : NULL;
	}
}

static int run(struct catalog *c, const char *const *nodes, const char *requested,
	       int keep_going, struct calls *calls, struct build_summary *sum)
{
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct job_graph plan;
	struct strbuf err = STRBUF_INIT;
	int ret;

	plan_make(&plan, nodes, requested);
	o.jobs = 2;
	o.keep_going = keep_going;
	o.on_partition = on_partition;
	o.on_node = on_node;
	o.arg = calls;
	ret = executor_run(&graph, c, &store, &plan, &o, sum, &err);
	ck_assert_msg(ret >= 0, "executor_run: %s", err.buf);
	job_graph_release(&plan);
	strbuf_release(&err);
	return ret;
}

struct partition_case {
	const char *name;
	const char *prebuilt;          /* node run first ("a:p"), NULL for none */
	const char *nodes[4];
	const char *requested;         /* comma-separated */
	int keep_going;
	int ret;
	const char *ok_refs, *failed_refs;  /* each exactly one call */
	size_t total_calls;
};

static const struct partition_case partition_cases[] = {
	{ "chain", NULL, { "a:x", "b:x", NULL }, "b/x", 0, 0, "a/x,b/x", "", 2 },
	{ "pruned ref answered at once", "a:p", { "a:y", NULL }, "a/p,a/y", 0, 0,
	  "a/p,a/y", "", 2 },
	{ "unbuildable pruned ref", NULL, { "a:y", NULL }, "a/nothing,a/y", 0, 1,
	  "a/y", "a/nothing", 2 },
	{ "failure and downstream", NULL, { "a:fail", "b:fail", NULL }, "b/fail", 0, 1,
	  "", "a/fail,b/fail", 2 },
	{ "keep going", NULL, { "a:fail", "b:fail", "a:z", NULL }, "b/fail,a/z", 1, 1,
	  "a/z", "a/fail,b/fail", 3 },
	{ "duplicate requested ref", NULL, { "a:d", NULL }, "a/d,a/d", 0, 0, "a/d", "", 1 },
};

static void check_refs(struct calls *c, const char *list, int want_ok)
{
	for (const char *p = list; p && *p; ) {
		const char *end = strchr(p, ',');
		char *ref = xstrndup(p, end ? (size_t)(end - p) : strlen(p));
		int ok, n = calls_of(c, ref, &ok);

		ck_assert_msg(n == 1, "%s: %d on_partition calls", ref, n);
		ck_assert_msg(ok == want_ok, "%s: ok=%d", ref, ok);
		free(ref);
		p = end ? end + 1 : NULL;
	}
}

START_TEST(test_on_partition)
{
	const struct partition_case *tc = &partition_cases[_i];
	struct strbuf err = STRBUF_INIT;
	struct build_summary sum;
	struct catalog c;
	struct calls calls;
	int ret;

	ck_assert_msg(catalog_open(&c, &store, NULL, &err) == 0, "%s", err.buf);
	if (tc->prebuilt) {
		const char *pre[] = { tc->prebuilt, NULL };
		char *ref = xstrfmt("a/%s", tc->prebuilt + 2);

		calls_init(&calls);
		build_summary_init(&sum);
		ck_assert_int_eq(run(&c, pre, ref, 0, &calls, &sum), 0);
		build_summary_release(&sum);
		calls_release(&calls);
		free(ref);
	}
	calls_init(&calls);
	build_summary_init(&sum);
	ret = run(&c, tc->nodes, tc->requested, tc->keep_going, &calls, &sum);
	ck_assert_msg(ret == tc->ret, "%s: returned %d", tc->name, ret);
	check_refs(&calls, tc->ok_refs, 1);
	check_refs(&calls, tc->failed_refs, 0);
	ck_assert_msg(calls.partitions == tc->total_calls, "%s: %zu on_partition calls",
		      tc->name, calls.partitions);
	if (tc->ret)
		ck_assert(sum.errors.len || sum.skipped || tc->failed_refs[0]);
	build_summary_release(&sum);
	calls_release(&calls);
	catalog_close(&c);
	strbuf_release(&err);
}
END_TEST

/* catalog_read_events callback: "type ref" lines. */
static int event_line(const struct event *e, void *arg)
{
	strbuf_addf(arg, "%s %s\n", e->type, e->ref ? e->ref : "-");
	return 0;
}

/* The events after seq after, one "type ref" line each, into log. */
static void events_log(struct catalog *c, int64_t after, struct strbuf *log)
{
	struct strbuf err = STRBUF_INIT;

	ck_assert_msg(catalog_read_events(c, after, 0, event_line, log, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
}

/*
 * Up-to-date events are kept and appended with others later, but never
 * after an event of a node that reads the output: a/x is live while the
 * plan still has its node (as when another build published it after the
 * plan), so a/x is cut off and b/x runs; job_up_to_date for a/x comes
 * before b's job_started, and it is in the catalog when the run returns.
 */
START_TEST(test_cutoff_event_order)
{
	static const char *const pre[] = { "a:x", NULL };
	static const char *const nodes[] = { "a:x", "b:x", NULL };
	struct strbuf err = STRBUF_INIT, log = STRBUF_INIT;
	struct build_summary sum;
	struct catalog c;
	struct calls calls;
	const char *cut, *started;
	int64_t after = 0;

	ck_assert_msg(catalog_open(&c, &store, NULL, &err) == 0, "%s", err.buf);
	calls_init(&calls);
	build_summary_init(&sum);
	ck_assert_int_eq(run(&c, pre, "a/x", 0, &calls, &sum), 0);
	build_summary_release(&sum);
	calls_release(&calls);
	ck_assert_msg(catalog_last_event_seq(&c, &after, &err) == 0, "%s", err.buf);

	calls_init(&calls);
	build_summary_init(&sum);
	ck_assert_int_eq(run(&c, nodes, "b/x", 0, &calls, &sum), 0);
	ck_assert_int_eq(sum.up_to_date, 1);
	ck_assert_int_eq(sum.built, 1);
	ck_assert_int_eq(runs_of("x"), 1);
	events_log(&c, after, &log);
	cut = strstr(log.buf, "job_up_to_date a/x\n");
	started = strstr(log.buf, "job_started ");
	ck_assert_msg(cut && started && cut < started, "events out of order:\n%s", log.buf);
	build_summary_release(&sum);
	calls_release(&calls);
	catalog_close(&c);
	strbuf_release(&log);
	strbuf_release(&err);
}
END_TEST

struct thread_arg {
	const char *const *nodes;
	const char *requested;
	struct calls calls;
	struct build_summary sum;
	int cancel_fd;
	int ret;
};

static void *thread_main(void *p)
{
	struct thread_arg *t = p;
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct strbuf err = STRBUF_INIT;
	struct job_graph plan;
	struct catalog c;

	if (catalog_open(&c, &store, NULL, &err) < 0) {
		t->ret = -2;
		return NULL;
	}
	plan_make(&plan, t->nodes, t->requested);
	o.jobs = 2;
	o.on_partition = on_partition;
	o.on_node = on_node;
	o.arg = &t->calls;
	o.cancel_fd = t->cancel_fd;
	t->ret = executor_run(&graph, &c, &store, &plan, &o, &t->sum, &err);
	job_graph_release(&plan);
	catalog_close(&c);
	strbuf_release(&err);
	return NULL;
}

static int exists(const char *name)
{
	char *p = xstrfmt("%s/%s", dir, name);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static void wait_for(int (*cond)(void *), void *arg)
{
	long long deadline = mono_ms() + 30000;

	while (!cond(arg)) {
		ck_assert_msg(mono_ms() < deadline, "timed out");
		usleep(5000);
	}
}

static int started(void *arg)
{
	(void)arg;
	return exists("started");
}

static int is_waiting(void *arg)
{
	struct thread_arg *t = arg;
	int w;

	pthread_mutex_lock(&t->calls.lock);
	w = t->calls.waiting;
	pthread_mutex_unlock(&t->calls.lock);
	return w;
}

/* Two executor_run in two threads of one process: the job runs once. */
START_TEST(test_threads_coalesce)
{
	static const char *const nodes[] = { "a:wait", NULL };
	struct thread_arg t[2];
	pthread_t th[2];
	char *go;
	int ok;

	for (int i = 0; i < 2; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].nodes = nodes;
		t[i].requested = "a/wait";
		t[i].cancel_fd = -1;
		calls_init(&t[i].calls);
		build_summary_init(&t[i].sum);
	}
	ck_assert_int_eq(pthread_create(&th[0], NULL, thread_main, &t[0]), 0);
	wait_for(started, NULL);
	ck_assert_int_eq(pthread_create(&th[1], NULL, thread_main, &t[1]), 0);
	wait_for(is_waiting, &t[1]);
	go = xstrfmt("%s/go", dir);
	close(open(go, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	free(go);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(t[i].ret, 0);
		ck_assert_int_eq(calls_of(&t[i].calls, "a/wait", &ok), 1);
		ck_assert(ok);
	}
	ck_assert_int_eq(runs_of("wait"), 1);
	ck_assert_int_eq(t[0].sum.built, 1);
	ck_assert_int_eq(t[1].sum.up_to_date, 1);
	ck_assert_int_eq((int)t[1].sum.waited, 1);
	{
		/* the second's kept events reach the catalog, its wait before its cut-off */
		struct strbuf err = STRBUF_INIT, log = STRBUF_INIT;
		struct catalog c;
		const char *wait, *cut;

		ck_assert_msg(catalog_open(&c, &store, NULL, &err) == 0, "%s", err.buf);
		events_log(&c, 0, &log);
		wait = strstr(log.buf, "lease_wait a/wait\n");
		cut = strstr(log.buf, "job_up_to_date a/wait\n");
		ck_assert_msg(wait && cut && wait < cut, "events:\n%s", log.buf);
		catalog_close(&c);
		strbuf_release(&log);
		strbuf_release(&err);
	}
	for (int i = 0; i < 2; i++) {
		calls_release(&t[i].calls);
		build_summary_release(&t[i].sum);
	}
}
END_TEST

/* A cancel fd that is readable: 130, every ref answered, nothing published. */
START_TEST(test_cancel_fd)
{
	static const char *const nodes[] = { "a:wait", "b:wait", NULL };
	struct thread_arg t;
	pthread_t th;
	int pfd[2], ok;
	long long start;
	struct strbuf path = STRBUF_INIT;

	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	memset(&t, 0, sizeof(t));
	t.nodes = nodes;
	t.requested = "b/wait";
	t.cancel_fd = pfd[0];
	calls_init(&t.calls);
	build_summary_init(&t.sum);
	ck_assert_int_eq(pthread_create(&th, NULL, thread_main, &t), 0);
	wait_for(started, NULL);
	start = mono_ms();
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	pthread_join(th, NULL);
	ck_assert_msg(mono_ms() - start < 5000, "cancel took %lld ms", mono_ms() - start);
	ck_assert_int_eq(t.ret, 130);
	ck_assert_int_eq(calls_of(&t.calls, "a/wait", &ok), 1);
	ck_assert(!ok);
	ck_assert_int_eq(calls_of(&t.calls, "b/wait", &ok), 1);
	ck_assert(!ok);
	ck_assert_int_eq(t.sum.cancelled, 2);
	store_data_path(&store, "a/wait", &path);
	ck_assert_int_ne(access(path.buf, F_OK), 0);
	close(pfd[0]);
	close(pfd[1]);
	strbuf_release(&path);
	calls_release(&t.calls);
	build_summary_release(&t.sum);
}
END_TEST

struct crash_case {
	const char *name;
	int corrupt;        /* the dead builder renamed other bytes into data/ */
	int runs;           /* job runs in total, the first build included */
	enum node_state state;
};

static const struct crash_case crash_cases[] = {
	{ "died before renaming: cut off", 0, 1, NODE_UP_TO_DATE },
	{ "died after renaming: stale, rebuilt", 1, 2, NODE_BUILT },
};

static int stale_event(const struct event *e, void *arg)
{
	if (!strcmp(e->type, EV_PARTITION_STALE) && e->ref && !strcmp(e->ref, "a/k"))
		*(int *)arg = 1;
	return 0;
}

/*
 * A builder that died mid-run leaves its outputs 'building' in the catalog
 * and maybe new bytes in data/: the next builder abandons the run and never
 * keeps a live partition whose bytes differ from its recorded hash.
 */
START_TEST(test_dead_builder)
{
	const struct crash_case *tc = &crash_cases[_i];
	static const char *const nodes[] = { "a:k", NULL };
	struct strbuf err = STRBUF_INIT, path = STRBUF_INIT, bytes = STRBUF_INIT;
	struct build_summary sum;
	struct run_record rec;
	struct partition p;
	struct calls calls;
	struct catalog c;
	int stale = 0;
	FILE *f;

	ck_assert_msg(catalog_open(&c, &store, NULL, &err) == 0, "%s", err.buf);
	calls_init(&calls);
	build_summary_init(&sum);
	ck_assert_int_eq(run(&c, nodes, "a/k", 0, &calls, &sum), 0);
	build_summary_release(&sum);
	calls_release(&calls);

	run_record_init(&rec);
	rec.job = xstrdup("a");
	rec.config_json = xstrdup("{}");
	rec.pid = 999999;
	strvec_push(&rec.outputs, "a/k");
	ck_assert_msg(catalog_begin_run(&c, &rec, &err) == 0, "%s", err.buf);
	store_data_path(&store, "a/k", &path);
	if (tc->corrupt) {
		ck_assert_int_eq(chmod(path.buf, 0644), 0);
		f = fopen(path.buf, "we");
		ck_assert_ptr_nonnull(f);
		fputs("half-published", f);
		fclose(f);
	}

	calls_init(&calls);
	build_summary_init(&sum);
	ck_assert_int_eq(run(&c, nodes, "a/k", 0, &calls, &sum), 0);
	ck_assert_msg(calls.last == tc->state, "%s: ended %s", tc->name,
		      node_state_name(calls.last));
	ck_assert_int_eq(runs_of("k"), tc->runs);
	ck_assert_int_eq(strbuf_read_file(&bytes, path.buf, 0), 0);
	ck_assert_str_eq(bytes.buf, "k");
	partition_init(&p);
	ck_assert_int_eq(catalog_get_partition(&c, "a/k", &p, &err), 1);
	ck_assert_int_eq(p.status, PART_LIVE);
	catalog_read_events(&c, 0, 0, stale_event, &stale, &err);
	ck_assert_int_eq(stale, tc->corrupt);
	run_record_release(&rec);
	partition_release(&p);
	build_summary_release(&sum);
	calls_release(&calls);
	catalog_close(&c);
	strbuf_release(&err);
	strbuf_release(&path);
	strbuf_release(&bytes);
}
END_TEST

static const struct {
	enum node_state s;
	const char *name;
} state_names[] = {
	{ NODE_PENDING, "pending" }, { NODE_WAITING, "waiting" }, { NODE_RUNNING, "running" },
	{ NODE_BUILT, "built" }, { NODE_UP_TO_DATE, "up_to_date" }, { NODE_FAILED, "failed" },
	{ NODE_SKIPPED, "skipped" }, { NODE_CANCELLED, "cancelled" },
};

START_TEST(test_state_names)
{
	ck_assert_str_eq(node_state_name(state_names[_i].s), state_names[_i].name);
}
END_TEST

/*
 * sync_paths: fdatasync of each data file for small batches (a missing
 * file is an error), one syncfs above SYNC_FILES_MAX files (which names no
 * file, so it cannot see a missing one).
 */
static const struct sync_case {
	const char *name;
	size_t files;
	int missing;  /* one more file that does not exist */
	int want;     /* errno */
} sync_cases[] = {
	{ "nothing", 0, 0, 0 },
	{ "one file", 1, 0, 0 },
	{ "small batch", SYNC_FILES_MAX, 0, 0 },
	{ "small batch, a file missing", 3, 1, ENOENT },
	{ "large batch: syncfs", SYNC_FILES_MAX + 1, 0, 0 },
	{ "large batch with a missing file: syncfs", SYNC_FILES_MAX, 1, 0 },
};

START_TEST(test_sync_paths)
{
	const struct sync_case *tc = &sync_cases[_i];
	struct strvec files = STRVEC_INIT;
	int fd = open(store.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < tc->files; i++) {
		char *path = xstrfmt("%s/f%zu", store.data_dir, i);
		int f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		ck_assert_int_ge(f, 0);
		ck_assert_int_eq(write(f, "x", 1), 1);
		close(f);
		strvec_push_nodup(&files, path);
	}
	if (tc->missing)
		strvec_pushf(&files, "%s/missing", store.data_dir);
	ck_assert_msg(sync_paths(fd, &files) == tc->want, "%s", tc->name);
	close(fd);
	strvec_clear(&files);
}
END_TEST

/*
 * contain_run finds a run's leftover by its environment, with the pid mark
 * (only pids created since the spawn are looked at) and without it (every
 * process); in its process group or out of it (setsid).
 */
static const struct contain_case {
	const char *name;
	int mark;    /* contain_mark before the fork */
	int setsid;  /* the leftover left the run's process group */
	int old;     /* the mark is older than wrapping pid_max could take */
} contain_cases[] = {
	{ "in the group, marked", 1, 0, 0 },
	{ "setsid, marked", 1, 1, 0 },
	{ "setsid, no mark: every process is looked at", 0, 1, 0 },
	{ "setsid, marked too long ago: every process is looked at", 1, 1, 1 },
};

START_TEST(test_contain)
{
	const struct contain_case *tc = &contain_cases[_i];
	char *staging = xstrfmt("%s/staging-contain", dir);
	char *env = xstrfmt("DATABUILD_OUTPUT_DIR=%s/out", staging);
	char *const envp[] = { env, NULL };
	char exe[64], link[256];
	struct contain_mark mark = { 0, 0 };
	long long start = now_us();
	pid_t pid;
	ssize_t n = 0;

	if (tc->mark)
		contain_mark(&mark);
	if (tc->old)  /* as if the run had started an hour ago */
		mark.at_ns -= 3600 * 1000000000LL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		if (tc->setsid)
			setsid();
		else
			setpgid(0, 0);
		execle("/bin/sleep", "sleep", "30", (char *)NULL, envp);
		_exit(127);
	}
	snprintf(exe, sizeof(exe), "/proc/%ld/exe", (long)pid);
	for (int i = 0; i < 500; i++) {  /* the environment is the new one once it ran exec */
		n = readlink(exe, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = '\0', strstr(link, "sleep")))
			break;
		usleep(10000);
	}
	ck_assert_msg(n > 0 && strstr(link, "sleep"), "%s: the helper did not start", tc->name);
	ck_assert_msg(contain_run(staging, tc->setsid ? -1 : pid, start, tc->mark ? &mark : NULL) >= 1,
		      "%s: nothing killed", tc->name);
	/* killed and reaped by contain_run (a child of ours) */
	ck_assert_msg(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD, "%s: not reaped",
		      tc->name);
	free(env);
	free(staging);
}
END_TEST

/* How long a pid mark holds: pid_max less the reserved pids at the bound's rate. */
static const struct wrap_case {
	unsigned long long pid_max;
	unsigned long cpus;
	long long want_ns;
} wrap_cases[] = {
	{ 32768, 2, 32468LL * 500 },            /* 16 ms: 2 CPUs, 1M pids/s each */
	{ 32768, 1, 32468LL * 1000 },
	{ 4194304, 2, 4194004LL * 500 },        /* 2.1 s */
	{ 32768, 10, 32468LL * 100 },           /* ten CPUs reach the machine-wide bound */
	{ 32768, 256, 32468LL * 100 },          /* and no more past it: 3.2 ms */
	{ 4194304, 0, 4194004LL * 100 },        /* CPUs unknown: the machine-wide bound */
	{ 300, 2, 0 },                          /* nothing above the reserved pids */
	{ 0, 2, 0 },                            /* pid_max unknown */
};

START_TEST(test_wrap_window)
{
	const struct wrap_case *tc = &wrap_cases[_i];

	ck_assert_int_eq(contain_wrap_ns(tc->pid_max, tc->cpus), tc->want_ns);
}
END_TEST

static const struct cpus_case {
	const char *list;
	unsigned long want;
} cpus_cases[] = {
	{ "0-1\n", 2 },
	{ "0\n", 1 },
	{ "0-3,8-11\n", 12 },
	{ "0-255", 256 },
	{ "", 0 },
	{ "\n", 0 },
	{ "garbage", 0 },
};

START_TEST(test_cpu_count)
{
	const struct cpus_case *tc = &cpus_cases[_i];

	ck_assert_msg(contain_cpu_count(tc->list) == tc->want, "'%s': %lu, want %lu", tc->list,
		      contain_cpu_count(tc->list), tc->want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("executor");
	TCase *tc = tcase_create("executor");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_on_partition, 0, ARRAY_SIZE(partition_cases));
	tcase_add_test(tc, test_cutoff_event_order);
	tcase_add_test(tc, test_threads_coalesce);
	tcase_add_test(tc, test_cancel_fd);
	tcase_add_loop_test(tc, test_dead_builder, 0, ARRAY_SIZE(crash_cases));
	tcase_add_loop_test(tc, test_state_names, 0, ARRAY_SIZE(state_names));
	tcase_add_loop_test(tc, test_sync_paths, 0, ARRAY_SIZE(sync_cases));
	tcase_add_loop_test(tc, test_contain, 0, ARRAY_SIZE(contain_cases));
	tcase_add_loop_test(tc, test_wrap_window, 0, ARRAY_SIZE(wrap_cases));
	tcase_add_loop_test(tc, test_cpu_count, 0, ARRAY_SIZE(cpus_cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
