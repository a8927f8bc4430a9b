#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/clock.h"
#include "core/strmap.h"
#include "model/manifest.h"
#include "fs/witness.h"

static struct witness *witness_new(void)
{
	struct witness *w = xcalloc(1, sizeof(*w));

	w->refs = 1;
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

static void witness_free(struct witness *w)
{
	for (size_t i = 0; i < w->files_nr; i++)
		free(w->files[i].path);
	for (size_t i = 0; i < w->inputs_nr; i++) {
		free(w->inputs[i].ref);
		free(w->inputs[i].run);
	}
	free(w->files);
	free(w->inputs);
	strmap_clear(&w->input_set);
	free(w->run);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void witness_get(struct witness *w)
{
	pthread_mutex_lock(&w->lock);
	w->refs++;
	pthread_mutex_unlock(&w->lock);
}

void witness_put(struct witness *w)
{
	unsigned left;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	left = --w->refs;
	pthread_mutex_unlock(&w->lock);
	if (!left)
		witness_free(w);
}

/*
 * Adds path's fingerprint (once per path). expect: the content hash the
 * file had when it entered a key, or NULL. 1 added (or known), 0 when the
 * file changed since (or is racy: it may change unseen).
 */
static int add_file(struct witness *w, struct strmap *seen, const char *path,
		    const char *expect, long long now_ns, struct strbuf *why)
{
	struct witness_file *f;
	char hex[SHA256_HEX_SIZE];
	struct strbuf err = STRBUF_INIT;
	int ret = 1;

	if (!path || !*path || strmap_contains(seen, path))
		goto out;
	strmap_put(seen, path, NULL);
	ALLOC_GROW(w->files, w->files_nr + 1, w->files_alloc);
	f = &w->files[w->files_nr++];
	f->path = xstrdup(path);
	/* The fingerprint first: a change after it shows at the next stat. */
	fingerprint_of(path, &f->fp);
	if (fingerprint_racy(&f->fp, now_ns)) {
		strbuf_addf(why, "'%s' changed just now", path);
		ret = 0;
	} else if (expect && (!f->fp.exists || fingerprint_hash(path, hex, &err) < 0 ||
			      strcmp(hex, expect))) {
		strbuf_addf(why, "'%s' changed since it entered a key", path);
		ret = 0;
	}
out:
	strbuf_release(&err);
	return ret;
}

/* The files of ref's job that the manifest may not name. 1, or 0 (a file moved). */
static int add_job_files(struct witness *w, struct strmap *seen, const struct graph *g,
			 const char *ref, long long now_ns, struct strbuf *why)
{
	struct strbuf err = STRBUF_INIT, path = STRBUF_INIT;
	const struct job *job = graph_lookup(g, ref, &err);
	int ret = 1;

	if (!job)
		goto out;
	if (job->configure.nr && !add_file(w, seen, job->configure.v[0], NULL, now_ns, why))
		ret = 0;
	if (job->exec.nr && !job_is_source(job) && !add_file(w, seen, job->exec.v[0], NULL, now_ns, why))
		ret = 0;
	if (job_is_source(job) && job_source_path(job, ref, &path) &&
	    !add_file(w, seen, path.buf, NULL, now_ns, why))
		ret = 0;
out:
	strbuf_release(&err);
	strbuf_release(&path);
	return ret;
}

int witness_take(const struct graph *g, struct catalog *c, const char *ref,
		 struct witness **out, struct strbuf *why, struct strbuf *err)
{
	struct witness *w = witness_new();
	struct strmap seen_files = STRMAP_INIT, seen_refs = STRMAP_INIT;
	struct strvec queue = STRVEC_INIT;
	struct partition p;
	struct manifest m;
	long long now_ns = now_us() * 1000LL;
	int ret = -1, rc;

	partition_init(&p);
	manifest_init(&m);
	/* Before anything is read: a change after this point moves the sequence. */
	if (catalog_last_event_seq(c, &w->seq, err) < 0)
		goto out;
	ret = 0;
	if (!add_file(w, &seen_files, g->path, NULL, now_ns, why) ||
	    (g->lookup.nr && !add_file(w, &seen_files, g->lookup.v[0], NULL, now_ns, why)))
		goto out;
	strvec_push(&queue, ref);
	strmap_put(&seen_refs, ref, NULL);
	for (size_t i = 0; i < queue.nr; i++) {
		const char *r = queue.v[i];

		partition_release(&p);
		partition_init(&p);
		manifest_release(&m);
		manifest_init(&m);
		if ((rc = catalog_get_partition(c, r, &p, err)) < 0) {
			ret = -1;
			goto out;
		}
		if (!rc || p.status != PART_LIVE || !p.published_run) {
			strbuf_addf(why, "'%s' is not live", r);
			goto out;
		}
		if (!i) {
			w->run = xstrdup(p.published_run);
		} else {
			ALLOC_GROW(w->inputs, w->inputs_nr + 1, w->inputs_alloc);
			w->inputs[w->inputs_nr].ref = xstrdup(r);
			w->inputs[w->inputs_nr].run = xstrdup(p.published_run);
			w->inputs_nr++;
			strmap_put(&w->input_set, r, NULL);
		}
		if (!add_job_files(w, &seen_files, g, r, now_ns, why))
			goto out;
		if ((rc = catalog_get_manifest(c, p.published_run, &m, err)) < 0) {
			ret = -1;
			goto out;
		}
		if (!rc)
			continue;
		for (size_t k = 0; k < m.key_files.nr; k++) {
			const char *entry = m.key_files.v[k];
			char hex[SHA256_HEX_SIZE];

			if (strlen(entry) < SHA256_HEX_SIZE || entry[SHA256_HEX_SIZE - 1] != ' ')
				continue;
			memcpy(hex, entry, SHA256_HEX_SIZE - 1);
			hex[SHA256_HEX_SIZE - 1] = '\0';
			if (!add_file(w, &seen_files, entry + SHA256_HEX_SIZE, hex, now_ns, why))
				goto out;
		}
		for (size_t k = 0; k < m.inputs_nr; k++) {
			if (strmap_contains(&seen_refs, m.inputs[k].ref))
				continue;
			strmap_put(&seen_refs, m.inputs[k].ref, NULL);
			strvec_push(&queue, m.inputs[k].ref);
		}
	}
	*out = w;
	w = NULL;
	ret = 1;
out:
	if (w)
		witness_put(w);
	partition_release(&p);
	manifest_release(&m);
	strvec_clear(&queue);
	strmap_clear(&seen_files);
	strmap_clear(&seen_refs);
	return ret;
}

struct witness *witness_take_job(const struct graph *g, const char *ref)
{
	struct witness *w = witness_new();
	struct strmap seen = STRMAP_INIT;
	struct strbuf why = STRBUF_INIT;
	long long now_ns = now_us() * 1000LL;

	/* A racy file is fingerprinted all the same: at worst one more retry. */
	add_file(w, &seen, g->path, NULL, now_ns, &why);
	add_job_files(w, &seen, g, ref, now_ns, &why);
	strmap_clear(&seen);
	strbuf_release(&why);
	return w;
}

int witness_files_hold(const struct witness *w)
{
	for (size_t i = 0; i < w->files_nr; i++) {
		struct fingerprint now;

		fingerprint_of(w->files[i].path, &now);
		if (!fingerprint_equal(&now, &w->files[i].fp))
			return 0;
	}
	return 1;
}

struct touch_walk {
	const struct witness *w;
	int64_t until;
	size_t seen;
	int touched;
};

static int touch_event(const struct event *e, void *arg)
{
	struct touch_walk *t = arg;

	if (e->seq > t->until)
		return 1;
	t->seen++;
	if (e->ref && strmap_contains(&t->w->input_set, e->ref)) {
		t->touched = 1;
		return 1;
	}
	return 0;
}

/*
 * Whether an event in (after, until] is about an upstream partition of w:
 * 1 yes, 0 no, 2 too many events to tell (more than WITNESS_EVENTS_MAX),
 * -1 with err.
 */
static int events_touch(const struct witness *w, struct catalog *c, int64_t after,
			int64_t until, struct strbuf *err)
{
	struct touch_walk t = { .w = w, .until = until, .seen = 0, .touched = 0 };

	if (!w->inputs_nr)
		return 0;
	if (until - after > WITNESS_EVENTS_MAX)
		return 2;
	if (catalog_read_events(c, after, WITNESS_EVENTS_MAX, touch_event, &t, err) < 0)
		return -1;
	return t.touched ? 1 : 0;
}

/*
 * The catalog's last event seq, skipping the query when c's data version
 * shows no change since this thread last asked (the caller has just read
 * the catalog through c: its version is current). One cache per thread,
 * for the handle it last used (the mount keeps one handle per thread).
 */
static __thread const struct catalog *seq_catalog;
static __thread uint64_t seq_version;
static __thread int64_t seq_cached;

static int last_seq(struct catalog *c, int64_t *seq, struct strbuf *err)
{
	uint64_t v;
	int versioned = catalog_data_version(c, &v) == 1;

	if (versioned && seq_catalog == c && seq_version == v) {
		*seq = seq_cached;
		return 0;
	}
	if (catalog_last_event_seq(c, seq, err) < 0)
		return -1;
	/* the query's own read brought the version up to date */
	if (versioned && catalog_data_version(c, &v) == 1) {
		seq_catalog = c;
		seq_version = v;
		seq_cached = *seq;
	}
	return 0;
}

int witness_holds(struct witness *w, struct catalog *c, const struct partition *p,
		  struct strbuf *err)
{
	struct partition up;
	int64_t seq, known;
	int ret = 0, rc;

	partition_init(&up);
	if (p->status != PART_LIVE || !p->published_run || !w->run ||
	    strcmp(p->published_run, w->run))
		goto out;
	if (!witness_files_hold(w))
		goto out;
	if (last_seq(c, &seq, err) < 0) {
		ret = -1;
		goto out;
	}
	pthread_mutex_lock(&w->lock);
	known = w->seq;
	pthread_mutex_unlock(&w->lock);
	if (seq != known && (rc = events_touch(w, c, known, seq, err)) != 0) {
		if (rc < 0) {
			ret = -1;
			goto out;
		}
		if (rc == 1)
			goto out;
		/* Too many events to read: ask about each upstream partition. */
		for (size_t i = 0; i < w->inputs_nr; i++) {
			partition_release(&up);
			partition_init(&up);
			if ((rc = catalog_get_partition(c, w->inputs[i].ref, &up, err)) < 0) {
				ret = -1;
				goto out;
			}
			if (!rc || up.status != PART_LIVE || !up.published_run ||
			    strcmp(up.published_run, w->inputs[i].run))
				goto out;
		}
	}
	if (seq != known) {
		pthread_mutex_lock(&w->lock);
		if (seq > w->seq)
			w->seq = seq;
		pthread_mutex_unlock(&w->lock);
	}
	ret = 1;
out:
	partition_release(&up);
	return ret;
}
