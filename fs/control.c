#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/json.h"
#include "executor/executor.h"
#include "fs/internal.h"

/* "reload": the graph in force and the last refused reload. */
static void status_reload(struct fs *fs, const struct fs_graph *g, cJSON *root)
{
	cJSON *r = cJSON_AddObjectToObject(root, "reload");

	json_add_int64(r, "generation", (int64_t)g->gen);
	json_add_int64(r, "loaded_us", g->loaded_us);
	pthread_mutex_lock(&fs->graph_lock);
	if (fs->reload_error) {
		cJSON_AddStringToObject(r, "error", fs->reload_error);
		json_add_int64(r, "error_us", fs->reload_error_us);
	} else {
		cJSON_AddNullToObject(r, "error");
	}
	pthread_mutex_unlock(&fs->graph_lock);
}

/*
 * One build a reader waits on: its ref, state and readers, since when,
 * and the job and run building it once the plan runs (else the job that
 * claims the ref under g). wait_lock held.
 */
static cJSON *status_build(const struct fs_graph *g, const struct node *n)
{
	cJSON *b = cJSON_CreateObject();
	struct strbuf why = STRBUF_INIT;
	const struct job *job = n->run_job ? NULL : graph_lookup(g->graph, n->path, &why);

	cJSON_AddStringToObject(b, "ref", n->path);
	cJSON_AddStringToObject(b, "state", n->state == BUILD_QUEUED ? "queued" : "running");
	json_add_int64(b, "waiters", n->waiters_nr);
	json_add_int64(b, "since_us", n->queued_us);
	if (n->run_job || job)
		cJSON_AddStringToObject(b, "job", n->run_job ? n->run_job : job->label);
	else
		cJSON_AddNullToObject(b, "job");
	if (n->run_id)
		cJSON_AddStringToObject(b, "run_id", n->run_id);
	else
		cJSON_AddNullToObject(b, "run_id");
	if (n->run_state)
		cJSON_AddStringToObject(b, "run_state", n->run_state);
	else
		cJSON_AddNullToObject(b, "run_state");
	strbuf_release(&why);
	return b;
}

int control_status(struct fs *fs, struct catalog *c, struct strbuf *out, struct strbuf *err)
{
	cJSON *root = cJSON_CreateObject(), *parts, *builds = cJSON_CreateArray();
	struct fs_graph *g = fs_graph_get(fs);
	int64_t counts[PART_STATUS_NR], waiting = 0;
	int ret = -1;

	if (catalog_count_partitions(c, 0, counts, err) < 0)
		goto out;
	json_add_int64(root, "pid", getpid());
	cJSON_AddStringToObject(root, "mountpoint", fs->mountpoint);
	cJSON_AddStringToObject(root, "store", fs->opts->store->root);
	cJSON_AddStringToObject(root, "graph", g->graph->path);
	status_reload(fs, g, root);
	cJSON_AddStringToObject(root, "freshness", freshness_name(fs->opts->freshness));
	cJSON_AddStringToObject(root, "on_stale", fs->opts->stale_serve ? "serve" : "wait");
	cJSON_AddBoolToObject(root, "strict", fs->opts->strict);
	json_add_int64(root, "max_builds", (int64_t)fs->builders_nr);
	if (fs->opts->cancel_unread_s >= 0)
		json_add_int64(root, "cancel_unread_s", fs->opts->cancel_unread_s);
	else
		cJSON_AddNullToObject(root, "cancel_unread_s");
	json_add_int64(root, "started_us", fs->mount_us);
	parts = cJSON_AddObjectToObject(root, "partitions");
	for (int i = PART_LIVE; i < PART_STATUS_NR; i++)
		json_add_int64(parts, part_status_name((enum part_status)i), counts[i]);

	pthread_rwlock_rdlock(&fs->nodes_lock);
	pthread_mutex_lock(&fs->wait_lock);
	for (size_t i = 1; i < fs->nodes_nr; i++) {
		struct node *n = fs->by_ino[i];

		if (n->ino != i || n->state == BUILD_NONE)
			continue;
		waiting += n->waiters_nr;
		cJSON_AddItemToArray(builds, status_build(g, n));
	}
	pthread_mutex_unlock(&fs->wait_lock);
	pthread_rwlock_unlock(&fs->nodes_lock);
	json_add_int64(root, "waiters", waiting);
	cJSON_AddItemToObject(root, "builds", builds);
	builds = NULL;
	json_print_pretty(root, out);
	strbuf_addch(out, '\n');
	ret = 0;
out:
	fs_graph_put(g);
	cJSON_Delete(builds);
	cJSON_Delete(root);
	return ret;
}

void control_note_run(struct fs *fs, unsigned long batch, const struct node_report *r)
{
	for (size_t i = 0; i < r->outputs->nr; i++) {
		struct node *n = node_by_path(fs, r->outputs->v[i]);

		if (!n)
			continue;
		pthread_mutex_lock(&fs->wait_lock);
		if (n->state == BUILD_RUNNING && n->batch == batch) {
			if (!n->run_job || strcmp(n->run_job, r->job)) {
				free(n->run_job);
				n->run_job = xstrdup(r->job);
			}
			if (r->run_id && (!n->run_id || strcmp(n->run_id, r->run_id))) {
				free(n->run_id);
				n->run_id = xstrdup(r->run_id);
			}
			n->run_state = node_state_name(r->state);
		}
		pthread_mutex_unlock(&fs->wait_lock);
	}
}

struct index_walk {
	struct events_index *ix;
	struct strbuf line;
};

static int index_event(const struct event *e, void *arg)
{
	struct index_walk *w = arg;
	struct events_index *ix = w->ix;

	strbuf_reset(&w->line);
	event_to_jsonl(e, &w->line);
	ALLOC_GROW(ix->pos, ix->nr + 1, ix->alloc);
	ix->pos[ix->nr].seq = e->seq;
	ix->pos[ix->nr].start = ix->size;
	ix->nr++;
	ix->size += w->line.len;
	return 0;
}

static int refresh_locked(struct fs *fs, struct catalog *c, struct strbuf *err)
{
	struct index_walk w = { .ix = &fs->events, .line = STRBUF_INIT };
	int64_t last = fs->events.nr ? fs->events.pos[fs->events.nr - 1].seq : 0;
	int ret = catalog_read_events(c, last, 0, index_event, &w, err);

	strbuf_release(&w.line);
	return ret;
}

int64_t events_refresh(struct fs *fs, struct catalog *c, struct strbuf *err)
{
	int64_t size = -1;

	pthread_mutex_lock(&fs->events_lock);
	if (refresh_locked(fs, c, err) == 0)
		size = fs->events.size;
	pthread_mutex_unlock(&fs->events_lock);
	return size;
}

struct read_walk {
	int64_t last_seq;     /* the index's end: later events are not in the file yet */
	size_t want;          /* bytes wanted in text */
	struct strbuf text;
};

static int read_event(const struct event *e, void *arg)
{
	struct read_walk *w = arg;

	if (e->seq > w->last_seq)
		return 1;
	event_to_jsonl(e, &w->text);
	return w->text.len >= w->want;
}

int events_read(struct fs *fs, struct catalog *c, uint64_t off, size_t size,
		struct strbuf *out, struct strbuf *err)
{
	struct events_index *ix = &fs->events;
	struct read_walk w = { .last_seq = 0, .want = 0, .text = STRBUF_INIT };
	size_t lo, hi, skip;
	int ret = -1;

	pthread_mutex_lock(&fs->events_lock);
	if (off >= ix->size && refresh_locked(fs, c, err) < 0)
		goto out;
	if (off >= ix->size || !ix->nr) {
		ret = 0;
		goto out;
	}
	lo = 0;
	hi = ix->nr;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->pos[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	skip = off - ix->pos[lo].start;
	w.last_seq = ix->pos[ix->nr - 1].seq;
	w.want = skip + size;
	if (catalog_read_events(c, lo ? ix->pos[lo - 1].seq : 0, 0, read_event, &w, err) < 0)
		goto out;
	if (w.text.len > skip)
		strbuf_add(out, w.text.buf + skip, w.text.len - skip < size ? w.text.len - skip : size);
	ret = 0;
out:
	pthread_mutex_unlock(&fs->events_lock);
	strbuf_release(&w.text);
	return ret;
}

void events_release(struct fs *fs)
{
	free(fs->events.pos);
	memset(&fs->events, 0, sizeof(fs->events));
}
