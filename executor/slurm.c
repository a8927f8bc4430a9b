#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proc.h"
#include "executor/backend.h"
#include "executor/internal.h"

/*
 * The Slurm backend: each run is one Slurm job, started by an `srun`
 * child of this process (about 30 ms per job on an idle controller, where
 * `sbatch` plus polling costs about a second: docs/design/executor.md).
 * srun forwards the JobConfig on its stdin to the job. The job's stdout
 * and stderr are written by slurmstepd straight into the run's log on the
 * shared store (task_output below); srun appends its own lines to the same
 * log. `--export=ALL` carries the environment,
 * `--chdir` the graph's directory, `--time` the job's timeout_s rounded up
 * to minutes. The job name is unique per run, so `scancel --name` finds
 * it. srun exits with the job's status, or 128 + N for signal N: the line
 * srun itself writes to the log ("task 0: Killed") tells the two apart.
 */

#define SCANCEL_TIMEOUT_MS 20000
#define PING_TIMEOUT_MS 30000
#define TAIL_BYTES 8192
/* Runs in flight by default: each is one light local srun. */
#define SLURM_DEFAULT_JOBS 32

/* Per executor_run (x->backend_state); a run's own state is its job name. */
struct slurm {
	const struct strvec *opts;  /* the user's srun options (borrowed; may be NULL) */
	char *suffix;               /* of every job name: "-<pid>-<host>" */
};

static void *slurm_open(const struct backend_opts *b, const char *host)
{
	struct slurm *sl = xcalloc(1, sizeof(*sl));

	sl->opts = b ? &b->opts : NULL;
	sl->suffix = xstrfmt("-%ld-%s", (long)getpid(), host);
	return sl;
}

static void slurm_close(void *state)
{
	struct slurm *sl = state;

	free(sl->suffix);
	free(sl);
}

/* The Slurm job name of n's run, unique per run (scancel --name finds it). */
static const char *job_name(const struct xnode *n)
{
	return n->backend_state;
}

/*
 * Sets *pattern to the srun --output pattern that makes slurmstepd write
 * the task's stdout and stderr into log_path itself (NULL: srun forwards
 * them). Returns 0, or -1 with err set. Through srun's I/O
 * forwarding (the default, and also for an --output without a per-task
 * specifier) the last lines of a task killed by a signal are often lost.
 * Only a pattern holding %t is opened on the task's node, so the log's
 * directory holds `.task0`, a symlink to itself, and the pattern is
 * DIR/.task%t/NAME; a literal '%' is doubled. A path with a backslash
 * (which turns off all replacement) gets srun's forwarding.
 */
static int task_output(const char *log_path, char **pattern, struct strbuf *err)
{
	const char *slash = strrchr(log_path, '/');
	struct strbuf pat = STRBUF_INIT, link = STRBUF_INIT;
	char target[8];
	ssize_t len;

	*pattern = NULL;
	if (!slash || strchr(log_path, '\\'))
		return 0;
	strbuf_add(&link, log_path, slash - log_path);
	strbuf_addstr(&link, "/.task0");
	if (symlink(".", link.buf) < 0 && errno != EEXIST) {
		strbuf_addf(err, "cannot create '%s': %s", link.buf, strerror(errno));
		goto fail;
	}
	len = readlink(link.buf, target, sizeof(target));
	if (len != 1 || target[0] != '.') {
		strbuf_addf(err, "'%s' is not a symlink to '.' (the Slurm backend's log link)",
			    link.buf);
		goto fail;
	}
	for (const char *p = log_path; *p; p++) {
		if (p == slash)
			strbuf_addstr(&pat, "/.task%t");
		if (*p == '%')
			strbuf_addch(&pat, '%');
		strbuf_addch(&pat, *p);
	}
	strbuf_release(&link);
	*pattern = strbuf_detach(&pat, NULL);
	return 0;
fail:
	strbuf_release(&link);
	strbuf_release(&pat);
	return -1;
}

/* Slurm variables that would make srun start a step of the caller's own job. */
static int inherited_job(const char *entry)
{
	return !strncmp(entry, "SLURM_JOB_ID=", 13) || !strncmp(entry, "SLURM_JOBID=", 12);
}

static int slurm_spawn(struct xrun *x, struct xnode *n, int in_fd, int log_fd,
		       struct strbuf *err)
{
	const struct job_config *cfg = &n->gn->config;
	const struct slurm *sl = x->backend_state;
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT, all = STRVEC_INIT;
	char *output, *name;
	int ret;

	if (task_output(n->log_path, &output, err) < 0)
		return -1;
	name = xstrfmt("databuild-%s%s", n->run_id, sl->suffix);
	strvec_push(&argv, "srun");
	strvec_push(&argv, "--quiet");
	strvec_push(&argv, "--quit-on-interrupt");
	if (n->job->timeout_s > 0)
		strvec_pushf(&argv, "--time=%ld", (n->job->timeout_s + 59) / 60);
	if (sl->opts)
		strvec_copy(&argv, sl->opts);
	strvec_pushf(&argv, "--job-name=%s", name);
	strvec_push(&argv, "--nodes=1");
	strvec_push(&argv, "--ntasks=1");
	strvec_push(&argv, "--export=ALL");
	strvec_pushf(&argv, "--chdir=%s", x->g->dir);
	if (output) {
		strvec_pushf(&argv, "--output=%s", output);
		strvec_push(&argv, "--open-mode=append");
	}
	strvec_push(&argv, "--");
	strvec_copy(&argv, &n->job->exec);
	strvec_copy(&argv, &cfg->args);
	xrun_exec_env(n, x->s, &all);
	for (size_t i = 0; i < all.nr; i++)
		if (!inherited_job(all.v[i]))
			strvec_push(&env, all.v[i]);

	ret = spawn_child(n, argv.v, env.v, 1, in_fd, log_fd, x->g->dir, err);
	if (ret == 0)
		n->backend_state = name;
	else
		free(name);
	strvec_clear(&argv);
	strvec_clear(&env);
	strvec_clear(&all);
	free(output);
	return ret;
}

/* Runs a Slurm client command; its output in out (may be NULL). Best effort. */
static void slurm_cmd(const char *const *argv, struct strbuf *out)
{
	struct proc_opts po;
	struct proc_result res = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;

	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.timeout_ms = SCANCEL_TIMEOUT_MS;
	po.max_output = 65536;
	if (proc_run(&po, &res, &err) == 0 && proc_ok(&res) && out)
		strbuf_addbuf(out, &res.out);
	proc_result_release(&res);
	strbuf_release(&err);
}

/*
 * Ends the Slurm job named name: SIGKILL to its job step (delivered by
 * slurmd to every task at once; a job-level scancel, signal or not, gives
 * a job that ignores SIGTERM the cluster's KillWait, 30 s by default),
 * then the job is cancelled (a pending job never starts).
 */
static void slurm_kill(const char *name)
{
	struct strbuf ids = STRBUF_INIT;
	char *opt = xstrfmt("--name=%s", name);
	const char *squeue[] = { "squeue", "--noheader", "--states=all", opt, "--format=%i", NULL };
	const char *cancel[] = { "scancel", "--quiet", opt, NULL };
	char *save = NULL;

	slurm_cmd(squeue, &ids);
	for (char *id = strtok_r(ids.buf, " \n", &save); id; id = strtok_r(NULL, " \n", &save)) {
		char *step = xstrfmt("%s.0", id);
		const char *kill_step[] = { "scancel", "--quiet", "--signal=KILL", step, NULL };

		slurm_cmd(kill_step, NULL);
		free(step);
	}
	slurm_cmd(cancel, NULL);
	strbuf_release(&ids);
	free(opt);
}

/* The levels as enum stop_level describes them (--quit-on-interrupt: SIGINT ends srun). */
static void slurm_stop(struct xrun *x, struct xnode *n, enum stop_level level)
{
	(void)x;
	switch (level) {
	case STOP_NONE:
		break;
	case STOP_TERM:
		kill(n->pid, SIGTERM);
		break;
	case STOP_KILL:
		slurm_kill(job_name(n));
		kill(n->pid, SIGINT);
		break;
	case STOP_KILL_CHILD:
		kill(-n->pid, SIGKILL);
		slurm_kill(job_name(n));
		break;
	}
}

/* The signal whose description is text (as srun prints it), or 0. */
static int signal_named(const char *text, size_t len)
{
	static const char core[] = " (core dumped)";

	if (len > sizeof(core) - 1 && !memcmp(text + len - (sizeof(core) - 1), core,
					       sizeof(core) - 1))
		len -= sizeof(core) - 1;
	for (int s = 1; s < NSIG; s++) {
		const char *d = sigdescr_np(s);

		if (d && strlen(d) == len && !memcmp(d, text, len))
			return s;
	}
	return 0;
}

/*
 * Reads srun's own lines in the log tail: "srun: error: NODE: task 0:
 * TEXT" (how the task ended), "srun: error: MESSAGE" (srun could not run
 * the job), "... DUE TO TIME LIMIT ***" (Slurm enforced --time),
 * "slurmstepd...: error: *** ... CANCELLED ..." (the job was cancelled in
 * Slurm: srun may still exit 0).
 */
static void srun_lines(const struct strbuf *tail, int *sig, int *task_seen, int *time_limit,
		       int *cancelled, struct strbuf *srun_error)
{
	const char *p = tail->buf, *end = tail->buf + tail->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		size_t len = (size_t)(e - p);
		const char *t;

		if (memmem(p, len, "DUE TO TIME LIMIT", 17))
			*time_limit = 1;
		else if (len > 10 && !memcmp(p, "slurmstepd", 10) && memmem(p, len, "***", 3) &&
			 memmem(p, len, " CANCELLED ", 11))
			*cancelled = 1;
		if (len > 13 && !memcmp(p, "srun: error: ", 13)) {
			t = memmem(p, len, ": task 0: ", 10);
			if (t) {
				t += 10;
				*task_seen = 1;
				*sig = signal_named(t, (size_t)(e - t));
			} else {
				strbuf_reset(srun_error);
				strbuf_add(srun_error, p + 13, len - 13);
			}
		}
		p = e + 1;
	}
}

static void slurm_reap(struct xrun *x, struct xnode *n, struct run_end *end)
{
	struct strbuf tail = STRBUF_INIT, srun_error = STRBUF_INIT;
	int st, sig = 0, task_seen = 0, time_limit = 0, cancelled = 0, rc;

	(void)x;
	st = child_reap(n->pid);
	end->status = child_status(st);
	if (!WIFEXITED(st))
		goto out;
	rc = end->status;
	log_end(n->log_path, TAIL_BYTES, &tail);
	srun_lines(&tail, &sig, &task_seen, &time_limit, &cancelled, &srun_error);
	end->timed_out = time_limit;
	if (time_limit)
		goto out;
	if (task_seen && sig && rc == 128 + sig)
		end->status = -sig;
	else if (cancelled)
		strbuf_addf(&end->why, "was cancelled in Slurm (job '%s')", job_name(n));
	else if (rc && !task_seen && srun_error.len)
		strbuf_addf(&end->why, "could not be run by Slurm (job '%s'): %s",
			    job_name(n), srun_error.buf);
out:
	free(n->backend_state);
	n->backend_state = NULL;
	strbuf_release(&tail);
	strbuf_release(&srun_error);
}

/* 1 if cmd is an executable file in $PATH. */
static int in_path(const char *cmd)
{
	const char *path = getenv("PATH"), *p;
	struct strbuf f = STRBUF_INIT;
	int found = 0;

	for (p = path ? path : "/usr/bin:/bin"; !found; ) {
		size_t len = strcspn(p, ":");

		strbuf_reset(&f);
		if (len)
			strbuf_add(&f, p, len);
		else
			strbuf_addch(&f, '.');
		strbuf_addf(&f, "/%s", cmd);
		found = access(f.buf, X_OK) == 0;
		if (!p[len])
			break;
		p += len + 1;
	}
	strbuf_release(&f);
	return found;
}

/* The line of scontrol's output that says why: the last that is not a banner. */
static const char *ping_reason(struct strbuf *out)
{
	char *nl;

	strbuf_rtrim(out);
	while ((nl = strrchr(out->buf, '\n')) &&
	       (strspn(nl + 1, "* ") == strlen(nl + 1) || strstr(nl + 1, "RESTORE")))
		*nl = '\0';
	nl = strrchr(out->buf, '\n');
	return nl ? nl + 1 : *out->buf ? out->buf : "no answer";
}

/*
 * srun, scancel and scontrol in PATH, a readable SLURM_CONF if it is set,
 * `scontrol ping` answering UP.
 */
static int slurm_check(const struct backend_opts *b, struct strbuf *err)
{
	static const char *const cmds[] = { "srun", "scancel", "scontrol" };
	static const char *const ping[] = { "scontrol", "ping", NULL };
	struct proc_opts po;
	struct proc_result res = PROC_RESULT_INIT;
	const char *conf = getenv("SLURM_CONF");
	int ret = -1;

	(void)b;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!in_path(cmds[i])) {
			strbuf_addf(err, "executor 'slurm': command '%s' not found in PATH "
				    "(Slurm's client commands are needed)", cmds[i]);
			goto out;
		}
	if (conf && access(conf, R_OK) < 0) {
		strbuf_addf(err, "executor 'slurm': SLURM_CONF '%s': %s", conf, strerror(errno));
		goto out;
	}
	memset(&po, 0, sizeof(po));
	po.argv = ping;
	po.timeout_ms = PING_TIMEOUT_MS;
	po.max_output = 65536;
	if (proc_run(&po, &res, err) < 0)
		goto out;
	if (proc_ok(&res) && strstr(res.out.buf, " is UP")) {
		ret = 0;
		goto out;
	}
	strbuf_addstr(&res.out, res.err.buf);
	strbuf_addf(err, "executor 'slurm': the Slurm controller is not reachable "
		    "('scontrol ping': %s)", ping_reason(&res.out));
	if (!conf)
		strbuf_addstr(err, " (SLURM_CONF is not set)");
out:
	proc_result_release(&res);
	return ret;
}

static int slurm_default_jobs(void)
{
	return SLURM_DEFAULT_JOBS;
}

const struct backend backend_slurm = {
	.name = "slurm",
	.check = slurm_check,
	.default_jobs = slurm_default_jobs,
	.open = slurm_open,
	.close = slurm_close,
	.spawn = slurm_spawn,
	.stop = slurm_stop,
	.reap = slurm_reap,
};
