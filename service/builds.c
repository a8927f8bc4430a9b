#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "service/internal.h"

/*
 * Builds started over the API: each runs executor_build (the path of
 * `databuild build`) in a detached thread of its own with its own
 * catalog handle, and is cancelled through a pipe the executor polls.
 * The handlers only read the progress the executor's callbacks record.
 */

struct service_build {
	int64_t id;
	struct service *svc;
	struct strvec refs;
	int cancel_pipe[2];       /* [1] written once to cancel */
	/* guarded by builds.lock; set by the build thread (on_node, build_main) */
	const char *state;        /* running, succeeded, failed, cancelled, error */
	int cancel_requested;     /* builds_cancel */
	size_t total, done, built, restored, up_to_date, failed, skipped, cancelled;
	cJSON *failures;          /* [{"job", "outputs", "run_id", "error"}] */
	char *error;              /* state error: why the build could not run */
	int64_t start_us, end_us;
};

void builds_init(struct builds *b)
{
	pthread_mutex_init(&b->lock, NULL);
	b->items = NULL;
	b->nr = b->alloc = 0;
	b->running = 0;
	pthread_cond_init(&b->ended, NULL);
	b->stopping = 0;
}

static void on_node(const struct node_report *r, void *arg)
{
	struct service_build *sb = arg;
	struct builds *b = &sb->svc->builds;

	pthread_mutex_lock(&b->lock);
	switch (r->state) {
	case NODE_PENDING:
		sb->total++;
		break;
	case NODE_WAITING:
	case NODE_RUNNING:
		break;
	default:
		sb->done++;
		if (r->state == NODE_BUILT)
			sb->built++;
		else if (r->state == NODE_RESTORED)
			sb->restored++;
		else if (r->state == NODE_UP_TO_DATE)
			sb->up_to_date++;
		else if (r->state == NODE_SKIPPED)
			sb->skipped++;
		else if (r->state == NODE_CANCELLED)
			sb->cancelled++;
		if (r->state == NODE_FAILED || r->state == NODE_SKIPPED) {
			cJSON *f = cJSON_CreateObject();

			if (r->state == NODE_FAILED)
				sb->failed++;
			cJSON_AddStringToObject(f, "job", r->job);
			cJSON_AddItemToObject(f, "outputs", json_strvec(r->outputs));
			cJSON_AddStringToObject(f, "state", node_state_name(r->state));
			json_add_string_or_null(f, "run_id", r->run_id);
			json_add_string_or_null(f, "error", r->error);
			cJSON_AddItemToArray(sb->failures, f);
		}
		break;
	}
	pthread_mutex_unlock(&b->lock);
}

/* executor_build of sb's refs; its outcome into sb. */
static void build_run(struct service_build *sb)
{
	struct service *svc = sb->svc;
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct build_summary sum;
	struct strbuf err = STRBUF_INIT;
	struct catalog c;
	const char *state = "error";
	int rc;

	build_summary_init(&sum);
	if (catalog_open(&c, svc->opts.store, svc->opts.catalog_location, &err) < 0)
		goto out;
	o.jobs = svc->opts.jobs;
	o.backend = svc->opts.backend;
	o.freshness = svc->opts.freshness;
	o.requester = "serve";
	o.cancel_fd = sb->cancel_pipe[0];
	o.on_node = on_node;
	o.arg = sb;
	rc = executor_build(svc->opts.graph, &c, svc->opts.store, &sb->refs, &o, &sum, &err);
	catalog_close(&c);
	if (rc == 0)
		state = "succeeded";
	else if (rc == 1)
		state = "failed";
	else if (rc == 130)
		state = "cancelled";
out:
	strbuf_rtrim(&err);
	pthread_mutex_lock(&svc->builds.lock);
	sb->state = state;
	if (err.len)
		sb->error = strbuf_detach(&err, NULL);
	sb->end_us = now_us();
	pthread_mutex_unlock(&svc->builds.lock);
	build_summary_release(&sum);
	strbuf_release(&err);
}

static void *build_main(void *arg)
{
	struct service_build *sb = arg;
	struct builds *b = &sb->svc->builds;

	build_run(sb);
	pthread_mutex_lock(&b->lock);
	b->running--;
	pthread_cond_broadcast(&b->ended);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static void build_free(struct service_build *sb)
{
	strvec_clear(&sb->refs);
	for (int i = 0; i < 2; i++)
		if (sb->cancel_pipe[i] >= 0)
			close(sb->cancel_pipe[i]);
	cJSON_Delete(sb->failures);
	free(sb->error);
	free(sb);
}

int builds_start(struct service *svc, const struct strvec *refs, int64_t *id,
		 struct strbuf *err)
{
	struct builds *b = &svc->builds;
	struct service_build *sb = xcalloc(1, sizeof(*sb));
	pthread_attr_t attr;
	int ret = -1, rc;

	sb->svc = svc;
	strvec_init(&sb->refs);
	strvec_copy(&sb->refs, refs);
	sb->cancel_pipe[0] = sb->cancel_pipe[1] = -1;
	sb->failures = cJSON_CreateArray();
	sb->state = "running";
	sb->start_us = now_us();
	if (pipe2(sb->cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		strbuf_addf(err, "cannot start a build: pipe: %s", strerror(errno));
		goto out;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&b->lock);
	if (b->stopping) {
		pthread_mutex_unlock(&b->lock);
		pthread_attr_destroy(&attr);
		strbuf_addstr(err, "the service is stopping");
		goto out;
	}
	ALLOC_GROW(b->items, b->nr + 1, b->alloc);
	sb->id = (int64_t)b->nr + 1;
	{
		pthread_t t;

		rc = pthread_create(&t, &attr, build_main, sb);
	}
	if (!rc) {
		b->items[b->nr++] = sb;
		b->running++;
		*id = sb->id;
	}
	pthread_mutex_unlock(&b->lock);
	pthread_attr_destroy(&attr);
	if (rc) {
		strbuf_addf(err, "cannot start a build thread: %s", strerror(rc));
		goto out;
	}
	sb = NULL;
	ret = 0;
out:
	if (sb)
		build_free(sb);
	return ret;
}

cJSON *builds_json(struct builds *b, int64_t id)
{
	struct service_build *sb;
	cJSON *o = NULL;

	pthread_mutex_lock(&b->lock);
	if (id < 1 || (uint64_t)id > b->nr)
		goto out;
	sb = b->items[id - 1];
	o = cJSON_CreateObject();
	json_add_int64(o, "id", sb->id);
	cJSON_AddItemToObject(o, "refs", json_strvec(&sb->refs));
	cJSON_AddStringToObject(o, "state", sb->state);
	cJSON_AddBoolToObject(o, "cancel_requested", sb->cancel_requested);
	json_add_int64(o, "total", (int64_t)sb->total);
	json_add_int64(o, "done", (int64_t)sb->done);
	json_add_int64(o, "built", (int64_t)sb->built);
	json_add_int64(o, "restored", (int64_t)sb->restored);
	json_add_int64(o, "up_to_date", (int64_t)sb->up_to_date);
	json_add_int64(o, "failed", (int64_t)sb->failed);
	json_add_int64(o, "skipped", (int64_t)sb->skipped);
	json_add_int64(o, "cancelled", (int64_t)sb->cancelled);
	cJSON_AddItemToObject(o, "failures", cJSON_Duplicate(sb->failures, 1));
	json_add_string_or_null(o, "error", sb->error);
	json_add_int64(o, "start_us", sb->start_us);
	json_add_int64(o, "end_us", sb->end_us);
out:
	pthread_mutex_unlock(&b->lock);
	return o;
}

/* Writes the cancel byte of sb (lock held). */
static void build_cancel(struct service_build *sb)
{
	if (!sb->cancel_requested && write(sb->cancel_pipe[1], "x", 1) < 0)
		(void)0;  /* the pipe is non-blocking and holds one byte at most */
	sb->cancel_requested = 1;
}

int builds_cancel(struct builds *b, int64_t id)
{
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	if (id >= 1 && (uint64_t)id <= b->nr) {
		struct service_build *sb = b->items[id - 1];

		ret = -1;
		if (!sb->end_us) {
			build_cancel(sb);
			ret = 1;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

void builds_stop(struct builds *b)
{
	pthread_mutex_lock(&b->lock);
	b->stopping = 1;
	for (size_t i = 0; i < b->nr; i++)
		if (!b->items[i]->end_us)
			build_cancel(b->items[i]);
	while (b->running)
		pthread_cond_wait(&b->ended, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

void builds_release(struct builds *b)
{
	for (size_t i = 0; i < b->nr; i++)
		build_free(b->items[i]);
	free(b->items);
	b->items = NULL;
	b->nr = b->alloc = 0;
	pthread_cond_destroy(&b->ended);
	pthread_mutex_destroy(&b->lock);
}
