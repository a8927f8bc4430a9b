#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/proc.h"
#include "core/ref.h"
#include "core/strmap.h"
#include "executor/executor.h"

/*
 * `databuild build`, and the runner that `cat` and `exec` share with it:
 * SIGINT/SIGTERM -> a self-pipe the executor polls as its cancel fd;
 * progress as one status line on a TTY, else one line per finished job.
 */

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

static void status_line(struct build_ui *ui)
{
	struct strbuf line = STRBUF_INIT;
	struct winsize ws;
	size_t cols = 80, shown = 0;
	long long elapsed = mono_ms() - ui->start_ms;

	if (ioctl(fileno(ui->f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		cols = ws.ws_col;
	strbuf_addf(&line, "[%zu/%zu] %.1f s", ui->done, ui->total, elapsed / 1000.0);
	if (ui->remaining_us > 0 && ui->done < ui->total) {
		long long par = ui->jobs > 0 ? ui->jobs : 1;

		if ((long long)(ui->total - ui->done) < par)
			par = (long long)(ui->total - ui->done);
		double left = ui->remaining_us / 1e6 / (double)par;

		strbuf_addf(&line, left < 10 ? ", ~%.1f s left" : ", ~%.0f s left", left);
	}
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
		if (ui->tty)
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
		if (ui->tty)
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
		strbuf_addf(&s, "%zu built, %zu up to date", sum->built, sum->up_to_date);
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

int build_refs_run(struct cli *cli, int exec_mode, const struct strvec *refs,
		   struct executor_opts *o, FILE *progress, int quiet_summary)
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
	ui.c = &cli->catalog;
	o->executor = cli->executor;
	o->slurm_opts = &cli->slurm_opts;
	ui.jobs = o->jobs > 0 ? o->jobs : executor_default_jobs(o->executor);
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

/* A ref argument: validated and appended once. -1 (printed) if invalid. */
int build_collect_refs(const char *arg, struct strvec *refs)
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

/*
 * Options common to build, cat and exec at argv[*i]: -j N, --events FILE.
 * *matched = 1 if it was one. 0, or -1 (printed) on a bad value.
 */
int build_parse_common(int argc, char **argv, int *i, struct executor_opts *o,
		       const char **events_path, int *matched)
{
	const char *a = argv[*i], *v = NULL;
	long n;
	int r;

	*matched = 1;
	if (!strncmp(a, "-j", 2) && a[2]) {
		v = a + 2;
	} else if (!strcmp(a, "-j")) {
		if (*i + 1 >= argc)
			return cli_error(-1, "option '-j' needs a value");
		v = argv[++*i];
	} else if ((r = cli_opt_value(NULL, argc, argv, i, "--jobs", &v)) != 0) {
		if (r < 0)
			return -1;
	} else if ((r = cli_opt_value(NULL, argc, argv, i, "--events", events_path)) != 0) {
		return r < 0 ? -1 : 0;
	} else {
		*matched = 0;
		return 0;
	}
	if (cli_parse_long("-j", v, 1, 4096, &n) < 0)
		return -1;
	o->jobs = (int)n;
	return 0;
}

/* build's own options at argv[*i]: 1 taken, 0 not one, -1 (printed). */
static int build_own_option(int argc, char **argv, int *i, struct executor_opts *o)
{
	const char *a = argv[*i], *v;
	int r, f;

	if (!strcmp(a, "-k") || !strcmp(a, "--keep-going")) {
		o->keep_going = 1;
		return 1;
	}
	if (!strcmp(a, "--force")) {
		o->force = 1;
		return 1;
	}
	if ((r = cli_opt_value(NULL, argc, argv, i, "--freshness", &v)) <= 0)
		return r;
	f = freshness_parse(v);
	if (f < 0)
		return cli_error(-1, "option '--freshness': expected 'presence' or 'keys', got '%s'",
				 v);
	o->freshness = (enum freshness)f;
	return 1;
}

int build_args(int argc, char **argv, const char *help, unsigned flags, struct strvec *refs,
	       struct executor_opts *o, const char **events_path)
{
	int opts_done = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int matched;

		if (opts_done || a[0] != '-' || !a[1]) {
			if (build_collect_refs(a, refs) < 0)
				return -1;
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = 1;
			continue;
		}
		if (build_parse_common(argc, argv, &i, o, events_path, &matched) < 0)
			return -1;
		if (matched && (!*events_path || (flags & BUILD_ARGS_EVENTS)))
			continue;
		if (!matched && (flags & BUILD_ARGS_BUILD) &&
		    (matched = build_own_option(argc, argv, &i, o)) != 0) {
			if (matched < 0)
				return -1;
			continue;
		}
		return cli_error(-1, "%s: unknown option '%s' (see 'databuild %s --help')", argv[0],
				 a, argv[0]);
	}
	if (!refs->nr) {
		fputs(help, stderr);
		return -1;
	}
	return 0;
}

int build_cmd(struct cli *cli, int argc, char **argv, const char *help, int exec_mode)
{
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct strvec refs = STRVEC_INIT;
	const char *events_path = NULL;
	FILE *events = NULL;
	unsigned flags = BUILD_ARGS_EVENTS | (exec_mode ? 0 : BUILD_ARGS_BUILD);
	int ret = build_args(argc, argv, help, flags, &refs, &o, &events_path);

	if (ret) {
		ret = ret > 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (events_path) {
		events = fopen(events_path, "we");
		if (!events) {
			ret = cli_error(EXIT_USAGE, "cannot open '%s': %s", events_path,
					strerror(errno));
			goto out;
		}
		o.events_out = events;
	}
	ret = build_refs_run(cli, exec_mode, &refs, &o, stdout, 0);
out:
	if (events && fclose(events) != 0 && ret == EXIT_OK)
		ret = cli_error(EXIT_FAILED, "cannot write '%s': %s", events_path, strerror(errno));
	strvec_clear(&refs);
	return ret;
}

static const char usage[] =
	"usage: databuild build [-j N] [--keep-going] [--freshness presence|keys] [--force]\n"
	"                       [--events FILE] REF...\n"
	"\n"
	"Plan and run every job needed to produce the partitions REF..., in parallel,\n"
	"publishing each output atomically. A job whose outputs are live and fresh is\n"
	"not run; a partition another build is producing is waited for, not rebuilt.\n"
	"\n"
	"options:\n"
	"  -j, --jobs N          run at most N jobs at once (default: number of cores;\n"
	"                        32 with --executor slurm)\n"
	"  -k, --keep-going      after a failure, build everything that does not depend on it\n"
	"  --freshness MODE      keys: live and built from the same inputs and job (default);\n"
	"                        presence: live is enough\n"
	"  --force               run the jobs of REF... even if their outputs are fresh\n"
	"  --events FILE         also write every build event to FILE as JSON lines\n"
	"  -h, --help            this text\n"
	"\n"
	"exit status: 0 all built or up to date, 1 some job failed, 2 usage, graph or\n"
	"planning error, 130 interrupted\n";

int cmd_build(struct cli *cli, int argc, char **argv)
{
	return build_cmd(cli, argc, argv, usage, 0);
}
