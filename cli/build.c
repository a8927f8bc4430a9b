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
		"                       [--events FILE] REF...\n"
		"\n"
		"Plan and run every job needed to produce the partitions REF..., in parallel,\n"
		"publishing each output atomically. A job whose outputs are live and fresh is\n"
		"not run; a partition another build is producing is waited for, not rebuilt.\n",
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

int build_request_run(struct cli *cli, struct build_request *r, int exec_mode)
{
	FILE *events = NULL;
	int ret;

	if (r->events_path) {
		events = fopen(r->events_path, "we");
		if (!events) {
			ret = cli_error(EXIT_USAGE, "cannot open '%s': %s", r->events_path,
					strerror(errno));
			goto out;
		}
		r->o.events_out = events;
	}
	ret = build_refs_run(cli, exec_mode, &r->refs, &r->o, stdout, 0);
out:
	if (events && fclose(events) != 0 && ret == EXIT_OK)
		ret = cli_error(EXIT_FAILED, "cannot write '%s': %s", r->events_path,
				strerror(errno));
	build_request_release(r);
	return ret;
}

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
		OPT_EVENTS(&r.events_path),
		OPT_END(),
	};
	int n = build_request_parse(&r, argc, argv, &usage, options);

	return n < 0 ? cli_parse_exit(n) : build_request_run(cli, &r, 0);
}
