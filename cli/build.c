#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/clock.h"
#include "cli/cli.h"
#include "core/proc.h"
#include "model/ref.h"
#include "core/strmap.h"
#include "executor/executor.h"

/*
 * `databuild build`, and the runner that `cat` and `exec` share with it:
 * SIGINT/SIGTERM -> a self-pipe the executor polls as its cancel fd;
 * progress as one status line on a TTY, else one line per finished job.
 */

static const struct cli_usage usage = {
	.cmd = "build",
	.head = "usage: databuild build [-j N] [--keep-going] [--freshness presence|keys] [--force]\n"
		"                       [--no-cache] [--missing] [--stale] [--failed] [--dry-run]\n"
		"                       [--events FILE] REF...\n"
		"\n"
		"Plan and run every job needed to produce the partitions REF..., in parallel,\n"
		"publishing each output atomically. A job whose outputs are live and fresh is\n"
		"not run; a partition another build is producing is waited for, not rebuilt.\n"
		"\n"
		"A placeholder value of REF may select over its domain (a backfill): a glob\n"
		"('report/date=2024-02-*', 'raw/station=*/date=2024-01-0[1-7]') or a range\n"
		"('report/date=2024-01-01..2024-03-31', inclusive, in domain order).\n"
		"--missing, --stale and --failed keep only the partitions in those states\n"
		"(several: any of them).\n",
	.tail = "exit status: 0 all built or up to date, 1 some job failed, 2 usage, graph or\n"
		"planning error, 130 interrupted\n",
};

struct build_ui {
	FILE *f;           /* progress goes here; NULL: quiet */
	int tty;
	struct catalog *c;
	int jobs;
	size_t total, done, running, failed;
	long long start_ms;
	long long remaining_us;  /* expected work left (past durations) */
	struct strmap avg;       /* job -> heap long long (mean run time, µs) */
	unsigned char *is_running;
	size_t is_running_alloc;
	struct strvec names;     /* node -> job label, for the status line */
	int line_shown;
	int backfill;            /* a selection: ETA kept and, off a TTY, progress lines */
	size_t tenths;           /* off a TTY: tenths of the total reported so far */
};

static int cancel_wfd = -1;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (cancel_wfd >= 0 && write(cancel_wfd, &c, 1) < 0)
		(void)0;
	errno = saved;
}

static void signals_install(int wfd)
{
	struct sigaction sa;

	cancel_wfd = wfd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void signals_restore(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cancel_wfd = -1;
}

static long long job_avg(struct build_ui *ui, const char *job)
{
	long long *v = strmap_get(&ui->avg, job);

	if (!v) {
		struct strbuf err = STRBUF_INIT;
		int64_t avg = 0;

		v = xmalloc(sizeof(*v));
		*v = catalog_last_durations(ui->c, job, 5, &avg, &err) < 0 ? 0 : avg;
		strmap_put(&ui->avg, job, v);
		strbuf_release(&err);
	}
	return *v;
}

static void outputs_text(const struct strvec *o, struct strbuf *out)
{
	for (size_t i = 0; i < o->nr && i < 3; i++) {
		if (i)
			strbuf_addch(out, ' ');
		strbuf_addstr(out, o->v[i]);
	}
	if (o->nr > 3)
		strbuf_addf(out, " (+%zu more)", o->nr - 3);
}

/*
 * Seconds left: the expected work left (durations of past runs) over the
 * slots, else the pace of this build so far; < 0 when unknown.
 */
static double eta_s(const struct build_ui *ui)
{
	size_t left = ui->total - ui->done;
	long long par = ui->jobs > 0 ? ui->jobs : 1;

	if (!left)
		return -1;
	if ((long long)left < par)
		par = (long long)left;
	if (ui->remaining_us > 0)
		return ui->remaining_us / 1e6 / (double)par;
	if (ui->done)
		return (mono_ms() - ui->start_ms) / 1000.0 * (double)left / (double)ui->done;
	return -1;
}

static void eta_text(const struct build_ui *ui, struct strbuf *out)
{
	double left = eta_s(ui);

	if (left >= 0)
		strbuf_addf(out, left < 10 ? ", ~%.1f s left" : ", ~%.0f s left", left);
}

static void status_line(struct build_ui *ui)
{
	struct strbuf line = STRBUF_INIT;
	struct winsize ws;
	size_t cols = 80, shown = 0;
	long long elapsed = mono_ms() - ui->start_ms;

	if (ioctl(fileno(ui->f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		cols = ws.ws_col;
	strbuf_addf(&line, "[%zu/%zu] %.1f s", ui->done, ui->total, elapsed / 1000.0);
	if (ui->failed)
		strbuf_addf(&line, ", %zu failed", ui->failed);
	eta_text(ui, &line);
	if (ui->running) {
		strbuf_addf(&line, " | running %zu:", ui->running);
		for (size_t i = 0; i < ui->names.nr && shown < 4; i++)
			if (i < ui->is_running_alloc && ui->is_running[i]) {
				strbuf_addf(&line, " %s", ui->names.v[i]);
				shown++;
			}
		if (ui->running > shown)
			strbuf_addstr(&line, " ...");
	}
	if (line.len > cols - 1)
		strbuf_setlen(&line, cols - 1);
	fprintf(ui->f, "\r%s\033[K", line.buf);
	fflush(ui->f);
	ui->line_shown = 1;
	strbuf_release(&line);
}

/* Off a TTY, in a backfill: one line at each tenth of the jobs done. */
static void progress_line(struct build_ui *ui)
{
	struct strbuf line = STRBUF_INIT;
	size_t tenths = ui->total ? ui->done * 10 / ui->total : 10;

	if (tenths <= ui->tenths)
		return;
	ui->tenths = tenths;
	strbuf_addf(&line, "progress: %zu/%zu jobs done, %zu failed, %.1f s", ui->done,
		    ui->total, ui->failed, (mono_ms() - ui->start_ms) / 1000.0);
	eta_text(ui, &line);
	fprintf(ui->f, "%s\n", line.buf);
	strbuf_release(&line);
}

static void line_clear(struct build_ui *ui)
{
	if (ui->tty && ui->line_shown) {
		fputs("\r\033[K", ui->f);
		ui->line_shown = 0;
	}
}

static void on_node(const struct node_report *r, void *arg)
{
	struct build_ui *ui = arg;
	struct strbuf outs = STRBUF_INIT;
	int was_running;

	if (!ui->f)
		return;
	ALLOC_GROW(ui->is_running, r->node + 1, ui->is_running_alloc);
	while (ui->names.nr <= r->node)
		strvec_push(&ui->names, "");
	was_running = ui->is_running[r->node];
	outputs_text(r->outputs, &outs);
	switch (r->state) {
	case NODE_PENDING:
		ui->is_running[r->node] = 0;
		free((char *)ui->names.v[r->node]);
		ui->names.v[r->node] = xstrdup(r->job);
		ui->total++;
		if (ui->tty || ui->backfill)
			ui->remaining_us += job_avg(ui, r->job);
		break;
	case NODE_WAITING:
		if (!ui->tty)
			fprintf(ui->f, "waiting %s: another build is producing %s\n", r->job, outs.buf);
		break;
	case NODE_RUNNING:
		if (r->error) {
			line_clear(ui);
			fprintf(ui->f, "retrying %s [run %s] (attempt %d failed)\n", r->job,
				r->run_id ? r->run_id : "-", r->attempt);
		}
		if (!was_running)
			ui->running++;
		ui->is_running[r->node] = 1;
		break;
	default:
		if (was_running)
			ui->running--;
		ui->is_running[r->node] = 0;
		ui->done++;
		if (ui->tty || ui->backfill)
			ui->remaining_us -= job_avg(ui, r->job);
		line_clear(ui);
		if (r->state == NODE_BUILT) {
			if (!ui->tty)
				fprintf(ui->f, "built %s [run %s] %.1f s: %s\n", r->job, r->run_id,
					r->duration_us / 1e6, outs.buf);
		} else if (r->state == NODE_UP_TO_DATE) {
			if (!ui->tty)
				fprintf(ui->f, "up to date %s: %s\n", r->job, outs.buf);
		} else if (r->state == NODE_FAILED) {
			ui->failed++;
			fprintf(ui->f, "FAILED %s [run %s]: %s\n", r->job,
				r->run_id ? r->run_id : "-", outs.buf);
		} else if (!ui->tty) {
			fprintf(ui->f, "%s %s: %s\n", node_state_name(r->state), r->job, outs.buf);
		}
		if (!ui->tty && ui->backfill)
			progress_line(ui);
		break;
	}
	if (ui->tty)
		status_line(ui);
	else
		fflush(ui->f);
	strbuf_release(&outs);
}

static void ui_release(struct build_ui *ui)
{
	const char *k;
	void *v;

	for (size_t i = 0; strmap_next(&ui->avg, &i, &k, &v); )
		free(v);
	strmap_clear(&ui->avg);
	free(ui->is_running);
	strvec_clear(&ui->names);
}

static void summary_print(struct build_ui *ui, const struct build_summary *sum, int ret)
{
	struct strbuf s = STRBUF_INIT;

	line_clear(ui);
	if (ui->f) {
		strbuf_addf(&s, "%zu built", sum->built);
		if (sum->restored)
			strbuf_addf(&s, ", %zu restored", sum->restored);
		strbuf_addf(&s, ", %zu up to date", sum->up_to_date);
		if (sum->failed)
			strbuf_addf(&s, ", %zu failed", sum->failed);
		if (sum->skipped)
			strbuf_addf(&s, ", %zu skipped", sum->skipped);
		if (sum->cancelled)
			strbuf_addf(&s, ", %zu cancelled", sum->cancelled);
		strbuf_addf(&s, " in %.2f s", (mono_ms() - ui->start_ms) / 1000.0);
		fprintf(ui->f, "%s%s\n", ret == 130 ? "interrupted: " : "", s.buf);
		fflush(ui->f);
	}
	if (sum->errors.len) {
		fflush(stdout);
		fprintf(stderr, "databuild: %zu job%s failed:\n%s", sum->failed,
			sum->failed == 1 ? "" : "s", sum->errors.buf);
	}
	if (ret == 130)
		cli_error(EXIT_INTERRUPTED, "interrupted: running jobs were killed, nothing "
			  "of them was published");
	strbuf_release(&s);
}

/* build_refs_run of refs already checked; backfill: see struct build_ui. */
static int run_refs(struct cli *cli, int exec_mode, const struct strvec *refs,
		    struct executor_opts *o, FILE *progress, int quiet_summary, int backfill)
{
	struct build_ui ui;
	struct build_summary sum;
	struct strbuf err = STRBUF_INIT;
	int pfd[2] = { -1, -1 };
	int ret;

	memset(&ui, 0, sizeof(ui));
	strmap_init(&ui.avg);
	strvec_init(&ui.names);
	build_summary_init(&sum);
	if (cli_open_catalog(cli) < 0 || cli_load_graph(cli) < 0 || cli_check_executor(cli) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = cli_error(EXIT_FAILED, "pipe: %s", strerror(errno));
		goto out;
	}
	ui.f = progress;
	ui.tty = progress && isatty(fileno(progress));
	ui.backfill = backfill;
	ui.c = &cli->catalog;
	o->backend = &cli->backend;
	ui.jobs = o->jobs > 0 ? o->jobs : executor_default_jobs(o->backend);
	ui.start_ms = mono_ms();
	o->cancel_fd = pfd[0];
	o->on_node = on_node;
	o->arg = &ui;
	o->requester = "cli";
	signals_install(pfd[1]);
	if (exec_mode)
		ret = executor_exec(&cli->graph, &cli->catalog, &cli->store, refs, o, &sum, &err);
	else
		ret = executor_build(&cli->graph, &cli->catalog, &cli->store, refs, o, &sum, &err);
	signals_restore();
	if (ret == 2) {
		line_clear(&ui);
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (ret < 0) {
		line_clear(&ui);
		cli_fail(EXIT_FAILED, &err);
		ret = EXIT_FAILED;
		goto out;
	}
	if (!quiet_summary || ret)
		summary_print(&ui, &sum, ret);
	else
		line_clear(&ui);
	ret = ret == 130 ? EXIT_INTERRUPTED : ret ? EXIT_FAILED : EXIT_OK;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	build_summary_release(&sum);
	ui_release(&ui);
	strbuf_release(&err);
	return ret;
}

int build_refs_run(struct cli *cli, int exec_mode, const struct strvec *refs,
		   struct executor_opts *o, FILE *progress, int quiet_summary)
{
	struct cli_refs r = CLI_REFS_INIT;
	int ret = EXIT_USAGE;

	if (cli_refs_expand(cli, &r, (int)refs->nr, (char **)refs->v, 0) == 0)
		ret = run_refs(cli, exec_mode, &r.refs, o, progress, quiet_summary, 0);
	cli_refs_release(&r);
	return ret;
}

const char build_jobs_help[] =
	"run at most N jobs at once (default: number of cores;\n"
	"32 with --executor slurm)";

/* A ref argument: validated and appended once. -1 (printed) if invalid. */
static int collect_ref(const char *arg, struct strvec *refs)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (ref_validate(arg, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		ret = -1;
	} else if (strvec_find(refs, arg) < 0) {
		strvec_push(refs, arg);
	}
	strbuf_release(&err);
	return ret;
}

int build_request_parse(struct build_request *r, int argc, char **argv,
			const struct cli_usage *u, const struct cli_option *options)
{
	int n = cli_parse_options(argc, argv, u, options, 0);

	for (int i = 0; i < n; i++)
		if (collect_ref(argv[i], &r->refs) < 0)
			n = CLI_PARSE_ERROR;
	if (!n) {
		cli_usage_print(stderr, u, options);
		n = CLI_PARSE_ERROR;
	}
	if (n < 0)
		build_request_release(r);
	return n < 0 ? n : (int)r->refs.nr;
}

void build_request_release(struct build_request *r)
{
	strvec_clear(&r->refs);
}

/* Small selections ask the catalog ref by ref; larger ones scan it. */
#define STATES_POINT_MAX 64
#define STATES_PAGE 2000

/* The prefixes of r, without those that a shorter one covers, into out. */
static void scan_prefixes(const struct cli_refs *r, struct strvec *out)
{
	struct strvec sorted = STRVEC_INIT;
	const char *kept = NULL;

	strvec_copy(&sorted, &r->prefixes);
	strvec_sort(&sorted, 1);
	for (size_t i = 0; i < sorted.nr; i++) {
		if (kept && !strncmp(sorted.v[i], kept, strlen(kept)))
			continue;
		strvec_push(out, sorted.v[i]);
		kept = out->v[out->nr - 1];
	}
	strvec_clear(&sorted);
}

/* states[i] of refs of r found under prefix: one paged scan. 0, or -1 with err. */
static int states_scan(struct catalog *c, const struct cli_refs *r, const char *prefix,
		       unsigned char *states, struct strbuf *err)
{
	char *after = NULL;
	int ret = -1;

	for (;;) {
		struct partition_list page = PARTITION_LIST_INIT;
		size_t nr;

		if (catalog_list_partitions(c, prefix, after, STATES_PAGE, 0, &page, err) < 0) {
			partition_list_release(&page);
			goto out;
		}
		for (size_t k = 0; k < page.nr; k++) {
			uintptr_t i = (uintptr_t)strmap_get(&r->seen, page.items[k].ref);

			if (i)
				states[i - 1] = (unsigned char)page.items[k].status;
		}
		nr = page.nr;
		if (nr) {
			free(after);
			after = xstrdup(page.items[nr - 1].ref);
		}
		partition_list_release(&page);
		if (nr < STATES_PAGE)
			break;
	}
	ret = 0;
out:
	free(after);
	return ret;
}

/*
 * The catalog state of each ref of r into states[] (PART_MISSING when
 * unknown): one query per ref for a few, else one paged scan per
 * prefix, never one query per partition of a backfill. 0, or -1 (printed).
 */
static int refs_states(struct cli *cli, const struct cli_refs *r, unsigned char *states)
{
	struct strvec prefixes = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = cli_open_catalog_if_any(cli);

	if (ret <= 0)
		goto out;  /* no store (every state stays PART_MISSING), or printed */
	ret = -1;
	if (r->refs.nr <= STATES_POINT_MAX) {
		for (size_t i = 0; i < r->refs.nr; i++) {
			struct partition p;
			int found;

			partition_init(&p);
			found = catalog_get_partition(&cli->catalog, r->refs.v[i], &p, &err);

			states[i] = found > 0 ? (unsigned char)p.status : PART_MISSING;
			partition_release(&p);
			if (found < 0)
				goto out;
		}
	} else {
		scan_prefixes(r, &prefixes);
		for (size_t k = 0; k < prefixes.nr; k++)
			if (states_scan(&cli->catalog, r, prefixes.v[k], states, &err) < 0)
				goto out;
	}
	ret = 0;
out:
	if (err.len)
		cli_fail(EXIT_USAGE, &err);
	strvec_clear(&prefixes);
	strbuf_release(&err);
	return ret;
}

/* The state a filter and the dry run speak of: tainted counts as stale. */
static enum part_status state_shown(unsigned char st)
{
	return st == PART_TAINTED ? PART_STALE : (enum part_status)st;
}

/*
 * Keeps the refs of r whose state is in only (all when only is 0) into
 * kept, in order; states into kept_states (may be NULL). 0, or -1 (printed).
 */
static int refs_keep(struct cli *cli, const struct cli_refs *r, unsigned only, int need_states,
		     struct strvec *kept, unsigned char **kept_states)
{
	unsigned char *states = NULL;
	size_t n = 0;

	if (only || need_states) {
		states = xcalloc(r->refs.nr + 1, 1);
		if (refs_states(cli, r, states) < 0) {
			free(states);
			return -1;
		}
	}
	for (size_t i = 0; i < r->refs.nr; i++) {
		if (only && !(only & (1u << state_shown(states[i]))))
			continue;
		strvec_push(kept, r->refs.v[i]);
		if (states)
			states[n++] = states[i];
	}
	if (kept_states)
		*kept_states = states;
	else
		free(states);
	return 0;
}

/* Which states --missing, --stale, --failed keep, for messages: "missing or failed". */
static void only_text(unsigned only, struct strbuf *out)
{
	static const enum part_status order[] = { PART_MISSING, PART_STALE, PART_FAILED };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (only & (1u << order[i]))
			strbuf_addf(out, "%s%s", n++ ? " or " : "", part_status_name(order[i]));
}

/* --dry-run: the selected refs with their states, and a summary on stderr. */
static int dry_run_print(const struct cli_refs *r, const struct strvec *kept,
			 const unsigned char *states, unsigned only)
{
	size_t counts[STATUS_STATE_NR] = { 0 };
	struct strbuf out = STRBUF_INIT, sum = STRBUF_INIT;
	int ret;

	for (size_t i = 0; i < kept->nr; i++) {
		enum status_state st = status_state_of((enum part_status)states[i]);

		counts[st]++;
		strbuf_addf(&out, "%-8s %s\n", status_state_name(st), kept->v[i]);
	}
	ret = cli_write_stdout(&out);
	strbuf_addf(&sum, "dry run: %zu partition%s", kept->nr, kept->nr == 1 ? "" : "s");
	if (only) {
		strbuf_addstr(&sum, " (");
		only_text(only, &sum);
		strbuf_addf(&sum, ", of %zu selected)", r->refs.nr);
	}
	for (int st = 0, n = 0; st < STATUS_STATE_NR; st++)
		if (counts[st])
			strbuf_addf(&sum, "%s%zu %s", n++ ? ", " : ": ", counts[st],
				    status_state_name((enum status_state)st));
	fprintf(stderr, "%s; nothing was built\n", sum.buf);
	strbuf_release(&out);
	strbuf_release(&sum);
	return ret;
}

/*
 * The refs of r's arguments (expanded, kept by r->only) into refs, or
 * printed for r->dry_run. 1 when there is something to build, 0 when
 * the request is done (*code set), -1 (printed; exit 2).
 */
static int request_refs(struct cli *cli, struct build_request *r, struct cli_refs *sel,
			struct strvec *refs, int *code)
{
	unsigned char *states = NULL;
	struct strbuf what = STRBUF_INIT;
	int ret = -1;

	*code = EXIT_OK;
	if (cli_refs_expand(cli, sel, (int)r->refs.nr, (char **)r->refs.v,
			    r->select ? CLI_REFS_SELECT : 0) < 0)
		goto out;
	if (refs_keep(cli, sel, r->only, r->dry_run, refs, r->dry_run ? &states : NULL) < 0)
		goto out;
	ret = 0;
	if (r->dry_run) {
		*code = dry_run_print(sel, refs, states, r->only);
	} else if (!refs->nr) {
		only_text(r->only, &what);
		printf("nothing to build: none of the %zu selected partition%s is %s\n",
		       sel->refs.nr, sel->refs.nr == 1 ? "" : "s", what.buf);
		*code = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
	} else {
		ret = 1;
	}
out:
	free(states);
	strbuf_release(&what);
	return ret;
}

int build_request_run(struct cli *cli, struct build_request *r, int exec_mode)
{
	struct cli_refs sel = CLI_REFS_INIT;
	struct strvec refs = STRVEC_INIT;
	FILE *events = NULL;
	int ret, want;

	want = request_refs(cli, r, &sel, &refs, &ret);
	if (want <= 0) {
		ret = want < 0 ? EXIT_USAGE : ret;
		goto out;
	}
	if (r->events_path) {
		events = fopen(r->events_path, "we");
		if (!events) {
			ret = cli_error(EXIT_USAGE, "cannot open '%s': %s", r->events_path,
					strerror(errno));
			goto out;
		}
		r->o.events_out = events;
	}
	ret = run_refs(cli, exec_mode, &refs, &r->o, stdout, 0, sel.selections > 0);
out:
	if (events && fclose(events) != 0 && ret == EXIT_OK)
		ret = cli_error(EXIT_FAILED, "cannot write '%s': %s", r->events_path,
				strerror(errno));
	cli_refs_release(&sel);
	strvec_clear(&refs);
	build_request_release(r);
	return ret;
}

/* --missing, --stale, --failed: sets bit opt->min of the unsigned at opt->value. */
static int opt_only(const struct cli_option *opt, const char *arg, struct strbuf *err)
{
	(void)arg;
	(void)err;
	*(unsigned *)opt->value |= 1u << opt->min;
	return 0;
}
#define OPT_ONLY(l, v, st, h) \
	{ .type = CLI_OPT_CALLBACK, .long_name = (l), .value = (v), .cb = opt_only, \
	  .min = (st), .help = (h) }

int cmd_build(struct cli *cli, int argc, char **argv)
{
	struct build_request r = BUILD_REQUEST_INIT;
	const struct cli_option options[] = {
		OPT_JOBS(&r.o.jobs, build_jobs_help),
		OPT_FLAG('k', "keep-going", &r.o.keep_going,
			 "after a failure, build everything that does not depend on it"),
		OPT_FRESHNESS(&r.o.freshness,
			      "keys: live and built from the same inputs and job (default);\n"
			      "presence: live is enough"),
		OPT_FLAG(0, "force", &r.o.force,
			 "run the jobs of REF... even if their outputs are fresh"),
		OPT_FLAG(0, "no-cache", &r.o.no_cache,
			 "run jobs even when an earlier version was built under\n"
			 "the same build key (default: restore it, no run)"),
		OPT_ONLY("missing", &r.only, PART_MISSING,
			"only the partitions the catalog does not hold"),
		OPT_ONLY("stale", &r.only, PART_STALE,
			"only the stale or tainted partitions (as the catalog records them)"),
		OPT_ONLY("failed", &r.only, PART_FAILED,
			"only the partitions whose last build failed"),
		OPT_FLAG('n', "dry-run", &r.dry_run,
			 "print the selected partitions with their states; build nothing"),
		OPT_EVENTS(&r.events_path),
		OPT_END(),
	};
	int n;

	r.select = 1;
	n = build_request_parse(&r, argc, argv, &usage, options);

	return n < 0 ? cli_parse_exit(n) : build_request_run(cli, &r, 0);
}
