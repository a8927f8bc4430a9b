#include <string.h>

#include "core/array.h"
#include "model/ref.h"
#include "fs/internal.h"

static int space_pat_init(struct space_pat *sp, const struct job *j, const struct pattern *p,
			  struct strbuf *err)
{
	size_t depth = p->depth;
	int ret = -1;

	sp->job = j;
	sp->pattern = p;
	sp->prefix = xcalloc(depth + 1, sizeof(*sp->prefix));
	sp->segment = xcalloc(depth + 1, sizeof(*sp->segment));
	for (size_t d = 0; d <= depth; d++) {
		strvec_init(&sp->prefix[d].names);
		strvec_init(&sp->segment[d].names);
	}
	for (size_t d = 0; d < depth; d++) {
		char *pre = d ? pattern_segments(p->text, 0, d) : NULL;
		char *seg = pattern_segments(p->text, d, 1);
		int bad = (pre && pattern_parse(&sp->prefix[d], pre, err) < 0) ||
			  pattern_parse(&sp->segment[d], seg, err) < 0;

		free(pre);
		free(seg);
		if (bad) {
			strbuf_addf(err, " (pattern '%s' of job '%s')", p->text, j->label);
			goto out;
		}
	}
	ret = 0;
out:
	return ret;
}

static void space_pat_release(struct space_pat *sp)
{
	for (size_t d = 0; sp->prefix && d <= sp->pattern->depth; d++) {
		pattern_release(&sp->prefix[d]);
		pattern_release(&sp->segment[d]);
	}
	free(sp->prefix);
	free(sp->segment);
}

int space_init(struct fs_graph *fg, struct strbuf *err)
{
	const struct graph *g = fg->graph;
	size_t nr = 0;

	for (size_t j = 0; j < g->jobs_nr; j++) {
		nr += g->jobs[j].outputs_nr;
		if (g->jobs[j].vars_nr)
			fg->space_domains = 1;
	}
	fg->space = xcalloc(nr + 1, sizeof(*fg->space));
	for (size_t j = 0; j < g->jobs_nr; j++) {
		for (size_t k = 0; k < g->jobs[j].outputs_nr; k++) {
			struct space_pat *sp = &fg->space[fg->space_nr++];

			if (space_pat_init(sp, &g->jobs[j], &g->jobs[j].outputs[k], err) < 0)
				return -1;
		}
	}
	return 0;
}

void space_release(struct fs_graph *g)
{
	for (size_t i = 0; i < g->space_nr; i++)
		space_pat_release(&g->space[i]);
	free(g->space);
	g->space = NULL;
	g->space_nr = 0;
}

/*
 * Whether sp places the directory path (depth segments): SPACE_UNPLACED
 * when its leading segments do not match path, else SPACE_IN or
 * SPACE_OUTSIDE by the domains of their placeholders; SPACE_ERROR with
 * err when a command domain cannot be read.
 */
static int space_pat_dir(const struct space_pat *sp, const char *path, size_t depth,
			 struct strbuf *err)
{
	const struct pattern *prefix = &sp->prefix[depth];
	struct strvec values = STRVEC_INIT;
	struct strbuf why = STRBUF_INIT;
	int ret = SPACE_UNPLACED;

	if (depth >= sp->pattern->depth)
		goto out;
	if (!depth) {
		ret = SPACE_IN;
		goto out;
	}
	if (!pattern_match(prefix, path, &values))
		goto out;
	ret = SPACE_IN;
	for (size_t k = 0; k < values.nr && ret == SPACE_IN; k++) {
		struct domain *d = job_domain(sp->job, prefix->names.v[k]);
		int in = d ? domain_contains(d, values.v[k], &why) : 1;

		if (in < 0) {
			strbuf_addf(err, "'%s': variable '%s' of job '%s': %s", path,
				    prefix->names.v[k], sp->job->label, why.buf);
			ret = SPACE_ERROR;
		} else if (!in) {
			ret = SPACE_OUTSIDE;
		}
	}
out:
	strvec_clear(&values);
	strbuf_release(&why);
	return ret;
}

int space_dir(const struct fs_graph *g, const char *path, struct strbuf *err)
{
	size_t depth = *path ? ref_depth(path) : 0;
	int ret = SPACE_UNPLACED;

	for (size_t i = 0; i < g->space_nr && ret != SPACE_IN; i++) {
		int r = space_pat_dir(&g->space[i], path, depth, err);

		if (r == SPACE_ERROR)
			return SPACE_ERROR;
		if (r == SPACE_IN || (r == SPACE_OUTSIDE && ret == SPACE_UNPLACED))
			ret = r;
	}
	return ret;
}

int space_ref(const struct fs_graph *g, const char *ref, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	struct job *job = NULL;
	int ret = SPACE_IN;

	if (!g->space_domains)
		goto out;
	ret = graph_resolve(g->graph, ref, &job, &why);
	if (ret < 0)
		strbuf_addbuf(err, &why);
	else if (!ret && !job)
		ret = SPACE_UNPLACED;  /* no job, or two: the catalog decides, as without domains */
out:
	strbuf_release(&why);
	return ret;
}

static void streams_push(struct space_stream **v, size_t *nr, size_t *alloc,
			 const struct space_pat *sp, size_t depth)
{
	ALLOC_GROW(*v, *nr + 1, *alloc);
	(*v)[*nr].sp = sp;
	(*v)[*nr].depth = depth;
	(*v)[*nr].is_dir = depth + 1 < sp->pattern->depth;
	(*nr)++;
}

/*
 * Whether sp lists the segment below dir from its domains: the segment
 * has placeholders, each with a domain (made ready here: a command
 * domain runs the first time), and dir lies in sp's space. 1, 0, or -1
 * with err.
 */
static int stream_of(const struct space_pat *sp, const char *dir, size_t depth,
		     struct strbuf *err)
{
	const struct pattern *seg;
	int in;

	if (depth >= sp->pattern->depth)
		return 0;
	seg = &sp->segment[depth];
	if (!seg->names.nr)
		return 0;
	for (size_t k = 0; k < seg->names.nr; k++)
		if (!job_domain(sp->job, seg->names.v[k]))
			return 0;
	in = space_pat_dir(sp, dir, depth, err);
	if (in == SPACE_ERROR)
		return -1;
	if (in != SPACE_IN)
		return 0;
	for (size_t k = 0; k < seg->names.nr; k++)
		if (domain_ready(job_domain(sp->job, seg->names.v[k]), err) < 0)
			return -1;
	return 1;
}

int space_streams(const struct fs_graph *g, const char *dir, struct space_stream **out,
		  size_t *nr, struct strbuf *err)
{
	size_t depth = *dir ? ref_depth(dir) : 0, alloc = 0, files_nr = 0, files_alloc = 0;
	struct space_stream *files = NULL;
	int ret = -1;

	*out = NULL;
	*nr = 0;
	for (size_t i = 0; i < g->space_nr; i++) {
		const struct space_pat *sp = &g->space[i];
		int r = stream_of(sp, dir, depth, err);

		if (r < 0)
			goto out;
		if (!r)
			continue;
		if (depth + 1 < sp->pattern->depth)
			streams_push(out, nr, &alloc, sp, depth);
		else
			streams_push(&files, &files_nr, &files_alloc, sp, depth);
	}
	/* directory streams first: a name that is both is a directory */
	for (size_t i = 0; i < files_nr; i++)
		streams_push(out, nr, &alloc, files[i].sp, depth);
	ret = 0;
out:
	free(files);
	if (ret) {
		free(*out);
		*out = NULL;
		*nr = 0;
	}
	return ret;
}

int space_stream_has(const struct space_stream *s, const char *name)
{
	const struct pattern *seg = &s->sp->segment[s->depth];
	struct strvec values = STRVEC_INIT;
	int ret = 0;

	if (!pattern_match(seg, name, &values))
		goto out;
	ret = 1;
	for (size_t k = 0; k < values.nr && ret; k++) {
		struct domain *d = job_domain(s->sp->job, seg->names.v[k]);

		ret = d && domain_contains(d, values.v[k], NULL) == 1;
	}
out:
	strvec_clear(&values);
	return ret;
}
