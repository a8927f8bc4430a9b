#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"

struct run_case {
	const char *script;       /* run with /bin/sh -c */
	const char *input;
	long timeout_ms;
	size_t max_output;
	enum proc_end end;
	int status;
	const char *out, *err;    /* exact stdout / stderr, NULL: not checked */
	const char *describe;
};

static const struct run_case run_cases[] = {
	{ "echo hello", NULL, 0, 0, PROC_EXITED, 0, "hello\n", "", "exited with status 0" },
	{ "echo out; echo err >&2; exit 3", NULL, 0, 0, PROC_EXITED, 3, "out\n", "err\n",
	  "exited with status 3" },
	{ "exit 255", NULL, 0, 0, PROC_EXITED, 255, "", "", "exited with status 255" },
	{ "cat", "the input\n", 0, 0, PROC_EXITED, 0, "the input\n", "", "exited with status 0" },
	{ "cat", "", 0, 0, PROC_EXITED, 0, "", "", "exited with status 0" },
	{ "cat", NULL, 0, 0, PROC_EXITED, 0, "", "", "exited with status 0" },
	{ "wc -c", "12345", 0, 0, PROC_EXITED, 0, "5\n", "", "exited with status 0" },
	{ "kill -9 $$", NULL, 0, 0, PROC_SIGNALED, 9, "", "", "was killed by signal 9 (Killed)" },
	{ "kill -TERM $$", NULL, 0, 0, PROC_SIGNALED, 15, "", "", "was killed by signal 15 (Terminated)" },
	{ "kill -PIPE $$", NULL, 0, 0, PROC_SIGNALED, 13, "", "", "was killed by signal 13 (Broken pipe)" },
	{ "sleep 30", NULL, 200, 0, PROC_TIMED_OUT, 0, "", "", "timed out after 200 ms" },
	{ "echo partial; exec sleep 30", NULL, 300, 0, PROC_TIMED_OUT, 0, "partial\n", "",
	  "timed out after 300 ms" },
	{ "sleep 30 </dev/null >/dev/null 2>&1", NULL, 1000, 0, PROC_TIMED_OUT, 0, "", "",
	  "timed out after 1 s" },
	{ "yes", NULL, 0, 10000, PROC_TOO_MUCH_OUTPUT, 0, NULL, "", "printed more than 10000 bytes" },
	{ "yes >&2", NULL, 0, 5000, PROC_TOO_MUCH_OUTPUT, 0, "", NULL, "printed more than 5000 bytes" },
	{ "printf 1234567890", NULL, 0, 10, PROC_EXITED, 0, "1234567890", "", "exited with status 0" },
	{ "printf 12345678901", NULL, 0, 10, PROC_TOO_MUCH_OUTPUT, 0, "1234567890", "",
	  "printed more than 10 bytes" },
	/* the leader exits; its background child is killed, not waited for */
	{ "sleep 30 & echo started", NULL, 0, 0, PROC_EXITED, 0, "started\n", "", "exited with status 0" },
	/* closes stdin at once while we still have input to write */
	{ "exec 0<&-; echo closed", "x", 0, 0, PROC_EXITED, 0, "closed\n", "", "exited with status 0" },
};

START_TEST(test_run)
{
	const struct run_case *c = &run_cases[_i];
	const char *argv[] = { "/bin/sh", "-c", c->script, NULL };
	struct proc_opts o = {
		.argv = argv,
		.input = c->input,
		.input_len = c->input ? strlen(c->input) : 0,
		.timeout_ms = c->timeout_ms,
		.max_output = c->max_output,
	};
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT, d = STRBUF_INIT;
	long long t0 = mono_ms();

	ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
	ck_assert_int_eq(r.end, c->end);
	ck_assert_int_eq(r.status, c->status);
	if (c->out)
		ck_assert_str_eq(r.out.buf, c->out);
	if (c->err)
		ck_assert_str_eq(r.err.buf, c->err);
	if (c->max_output) {
		ck_assert_uint_le(r.out.len, c->max_output);
		ck_assert_uint_le(r.err.len, c->max_output);
	}
	proc_describe(&r, 0, &d);
	ck_assert_str_eq(d.buf, c->describe);
	ck_assert_int_eq(proc_ok(&r), c->end == PROC_EXITED && c->status == 0);
	/* sanity bound: nothing here may wait for the 30 s sleeps */
	ck_assert_int_lt(mono_ms() - t0, 20000);
	ck_assert_int_le(r.elapsed_ms, mono_ms() - t0 + 1);
	if (c->timeout_ms)
		ck_assert_int_ge(r.elapsed_ms, c->timeout_ms);
	proc_result_release(&r);
	strbuf_release(&err);
	strbuf_release(&d);
}
END_TEST

struct describe_case {
	enum proc_end end;
	int status;
	size_t limit;
	long timeout_ms;
	const char *want;
};

static const struct describe_case describe_cases[] = {
	{ PROC_TIMED_OUT, 0, 60000, 0, "timed out after 60 s" },
	{ PROC_TIMED_OUT, 0, 0, 60000, "timed out after 60 s" },
	{ PROC_TIMED_OUT, 0, 1500, 0, "timed out after 1500 ms" },
	{ PROC_TOO_MUCH_OUTPUT, 0, 1048576, 0, "printed more than 1048576 bytes" },
	{ PROC_SPAWN_FAILED, 2, 0, 0, "could not be started: No such file or directory" },
	{ PROC_SIGNALED, 9, 0, 0, "was killed by signal 9 (Killed)" },
	{ PROC_EXITED, 1, 0, 0, "exited with status 1" },
};

START_TEST(test_describe)
{
	const struct describe_case *c = &describe_cases[_i];
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf d = STRBUF_INIT;

	r.end = c->end;
	r.status = c->status;
	r.limit = c->limit;
	proc_describe(&r, c->timeout_ms, &d);
	ck_assert_str_eq(d.buf, c->want);
	strbuf_release(&d);
}
END_TEST

struct spawn_fail_case {
	const char *argv0;
	int err;
};

static const struct spawn_fail_case spawn_fail_cases[] = {
	{ "/nonexistent/databuild-helper", 2 },
	{ "databuild-no-such-command-here", 2 },
	{ "/etc/passwd", 13 },
};

START_TEST(test_spawn_failed)
{
	const char *argv[] = { spawn_fail_cases[_i].argv0, NULL };
	struct proc_opts o = { .argv = argv };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;

	ck_assert_int_eq(proc_run(&o, &r, &err), 0);
	ck_assert_int_eq(r.end, PROC_SPAWN_FAILED);
	ck_assert_int_eq(r.status, spawn_fail_cases[_i].err);
	ck_assert(!proc_ok(&r));
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_empty_argv)
{
	const char *argv[] = { NULL };
	struct proc_opts o = { .argv = argv };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;

	ck_assert_int_eq(proc_run(&o, &r, &err), -1);
	ck_assert_str_eq(err.buf, "cannot run a process: empty argv");
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_path_env_cwd)
{
	const char *argv[] = { "sh", "-c", "echo \"$DB_X:$(pwd)\"", NULL };
	const char *envp[] = { "DB_X=42", "PATH=/usr/bin:/bin", NULL };
	struct proc_opts o = { .argv = argv, .envp = envp, .cwd = "/tmp" };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;

	ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_EXITED);
	ck_assert_str_eq(r.out.buf, "42:/tmp\n");
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_large_io)
{
	/* 10 MB in both directions at once: neither side may deadlock */
	const size_t n = 10 * 1024 * 1024;
	const char *argv[] = { "/bin/sh", "-c", "cat; head -c 3000000 /dev/zero >&2", NULL };
	struct strbuf in = STRBUF_INIT, err = STRBUF_INIT;
	struct proc_result r = PROC_RESULT_INIT;
	struct proc_opts o = { .argv = argv, .timeout_ms = 60000 };

	for (size_t i = 0; i < n; i++)
		strbuf_addch(&in, (char)('a' + i % 23));
	o.input = in.buf;
	o.input_len = in.len;
	ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_EXITED);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.out.len, n);
	ck_assert_int_eq(memcmp(r.out.buf, in.buf, n), 0);
	ck_assert_uint_eq(r.err.len, 3000000);
	proc_result_release(&r);
	strbuf_release(&in);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_cancel)
{
	/* a child that never ends, and its background child: both gone at cancel */
	const char *argv[] = { "/bin/sh", "-c", "sleep 1000 & echo $!; exec sleep 1000", NULL };
	struct strbuf err = STRBUF_INIT, desc = STRBUF_INIT;
	struct proc_result r = PROC_RESULT_INIT;
	struct proc_opts o = { .argv = argv, .timeout_ms = 60000 };
	long long t0 = mono_ms();
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);  /* cancelled from the start */
	o.cancel_fd = p[0];
	ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_CANCELLED);
	ck_assert_int_lt(mono_ms() - t0, 30000);
	proc_describe(&r, 0, &desc);
	ck_assert_str_eq(desc.buf, "was cancelled");
	close(p[0]);
	close(p[1]);
	proc_result_release(&r);
	strbuf_release(&err);
	strbuf_release(&desc);
}
END_TEST

START_TEST(test_large_output_no_read)
{
	/* the child never reads a large stdin and prints a lot */
	const char *argv[] = { "/bin/sh", "-c", "head -c 5000000 /dev/zero; echo done >&2", NULL };
	struct strbuf in = STRBUF_INIT, err = STRBUF_INIT;
	struct proc_result r = PROC_RESULT_INIT;
	struct proc_opts o = { .argv = argv, .timeout_ms = 60000 };

	for (int i = 0; i < 4 * 1024 * 1024; i++)
		strbuf_addch(&in, 'x');
	o.input = in.buf;
	o.input_len = in.len;
	ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_EXITED);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.out.len, 5000000);
	ck_assert_str_eq(r.err.buf, "done\n");
	proc_result_release(&r);
	strbuf_release(&in);
	strbuf_release(&err);
}
END_TEST

static int gone_or_zombie(long pid)
{
	char path[64], state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(f);
	return state == 'Z' || state == 'X';
}

START_TEST(test_background_killed)
{
	const char *argv[] = { "/bin/sh", "-c", "sleep 30 & echo $!", NULL };
	struct proc_opts o = { .argv = argv, .timeout_ms = 20000 };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	long long t0 = mono_ms();
	long pid;

	ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
	ck_assert(proc_ok(&r));
	pid = atol(r.out.buf);
	ck_assert_int_gt(pid, 0);
	while (!gone_or_zombie(pid) && mono_ms() - t0 < 10000)
		usleep(10000);
	ck_assert_msg(gone_or_zombie(pid), "background process %ld survived", pid);
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_no_fd_leak)
{
	const char *argv[] = { "/bin/ls", "/proc/self/fd", NULL };
	struct proc_opts o = { .argv = argv, .input = "x", .input_len = 1 };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	int leaky = open("/dev/null", O_RDONLY);   /* deliberately without O_CLOEXEC */
	char *line, *save = NULL;
	int count = 0;

	ck_assert_int_ge(leaky, 3);
	ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_EXITED);
	for (line = strtok_r(r.out.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* 0, 1, 2 and the descriptor ls opened to read the directory */
		ck_assert_msg(atoi(line) <= 3, "descriptor %s leaked into the child", line);
		count++;
	}
	ck_assert_int_eq(count, 4);
	close(leaky);
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_closed_std_fds)
{
	/* the caller has no stdin/stdout: the pipes land on fds 0..2 */
	const char *argv[] = { "/bin/sh", "-c", "cat; echo e >&2", NULL };
	struct proc_opts o = { .argv = argv, .input = "in\n", .input_len = 3 };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	int saved0 = fcntl(0, F_DUPFD_CLOEXEC, 3), saved1 = fcntl(1, F_DUPFD_CLOEXEC, 3);
	int rc;

	close(0);
	close(1);
	rc = proc_run(&o, &r, &err);
	dup2(saved0, 0);
	dup2(saved1, 1);
	close(saved0);
	close(saved1);
	ck_assert_msg(!rc, "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_EXITED);
	ck_assert_str_eq(r.out.buf, "in\n");
	ck_assert_str_eq(r.err.buf, "e\n");
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_signal_mask_reset)
{
	/* a caller that blocks and ignores signals must not pass that on */
	const char *argv[] = { "/bin/sh", "-c", "kill -TERM $$; sleep 5; echo survived", NULL };
	struct proc_opts o = { .argv = argv, .timeout_ms = 20000 };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	sigset_t set, old;
	void (*old_handler)(int);
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	old_handler = signal(SIGTERM, SIG_IGN);
	rc = proc_run(&o, &r, &err);
	signal(SIGTERM, old_handler);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ck_assert_msg(!rc, "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_SIGNALED);
	ck_assert_int_eq(r.status, SIGTERM);
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_signal_dispositions_reset)
{
	const char *argv[] = { "/bin/grep", "^SigIgn:", "/proc/self/status", NULL };
	struct proc_opts o = { .argv = argv };
	struct proc_result r = PROC_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	void (*old_int)(int) = signal(SIGINT, SIG_IGN);
	void (*old_hup)(int) = signal(SIGHUP, SIG_IGN);
	int rc = proc_run(&o, &r, &err);

	signal(SIGPIPE, old_pipe);
	signal(SIGINT, old_int);
	signal(SIGHUP, old_hup);
	ck_assert_msg(!rc, "%s", err.buf);
	ck_assert_int_eq(r.end, PROC_EXITED);
	{
		unsigned long long ign = strtoull(r.out.buf + strlen("SigIgn:"), NULL, 16);
		ck_assert_msg(!(ign & (1ULL << (SIGPIPE - 1) | 1ULL << (SIGINT - 1) |
				       1ULL << (SIGHUP - 1))),
			      "child ignores signals: %s", r.out.buf);
	}
	proc_result_release(&r);
	strbuf_release(&err);
}
END_TEST

/*
 * The set a child's dispositions are reset by: every signal a daemon may
 * handle or ignore, and all others (one reset each in glibc's child
 * instead of a query and a reset), but never SIGKILL and SIGSTOP, which
 * cannot be changed. (Which ignored signals stay ignored depends on the
 * process's state at its first spawn: tests/executor/signals.sh.)
 */
START_TEST(test_sigdefault_set)
{
	static const struct {
		int sig, member;
	} cases[] = {
		{ SIGPIPE, 1 }, { SIGINT, 1 }, { SIGTERM, 1 }, { SIGHUP, 1 }, { SIGQUIT, 1 },
		{ SIGCHLD, 1 }, { SIGALRM, 1 }, { SIGUSR1, 1 }, { SIGUSR2, 1 }, { SIGTSTP, 1 },
		{ SIGTTIN, 1 }, { SIGTTOU, 1 }, { SIGXFSZ, 1 }, { SIGXCPU, 1 },
		{ SIGSEGV, 1 }, { SIGILL, 1 }, { SIGWINCH, 1 }, { SIGPROF, 1 },
		{ SIGKILL, 0 }, { SIGSTOP, 0 },
	};
	sigset_t set;

	proc_sigdefault(&set);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(sigismember(&set, cases[i].sig) == cases[i].member,
			      "signal %d (%s): member %d, expected %d", cases[i].sig,
			      strsignal(cases[i].sig), sigismember(&set, cases[i].sig),
			      cases[i].member);
	ck_assert_int_eq(sigismember(&set, SIGRTMIN), 1);
	ck_assert_int_eq(sigismember(&set, SIGRTMAX), 1);
}
END_TEST

START_TEST(test_sigpipe_not_raised)
{
	/* writing to a child that exited must not kill us with SIGPIPE */
	const char *argv[] = { "/bin/true", NULL };
	struct strbuf in = STRBUF_INIT, err = STRBUF_INIT;
	struct proc_result r = PROC_RESULT_INIT;
	struct proc_opts o = { .argv = argv };
	sigset_t pending;
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_DFL);
	for (int i = 0; i < 1024 * 1024; i++)
		strbuf_addch(&in, 'x');
	o.input = in.buf;
	o.input_len = in.len;
	for (int k = 0; k < 20; k++) {
		ck_assert_msg(!proc_run(&o, &r, &err), "%s", err.buf);
		ck_assert(proc_ok(&r));
	}
	sigpending(&pending);
	ck_assert(!sigismember(&pending, SIGPIPE));
	signal(SIGPIPE, old_pipe);
	proc_result_release(&r);
	strbuf_release(&in);
	strbuf_release(&err);
}
END_TEST

static void *thread_run(void *arg)
{
	long id = (long)arg;
	char script[128];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct proc_opts o = { .argv = argv, .input = "abc", .input_len = 3, .timeout_ms = 30000 };
	long bad = 0;

	snprintf(script, sizeof(script), "cat; echo %ld; exit %ld", id, id % 7);
	for (int k = 0; k < 20; k++) {
		struct proc_result r = PROC_RESULT_INIT;
		struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;

		strbuf_addf(&want, "abc%ld\n", id);
		if (proc_run(&o, &r, &err) || r.end != PROC_EXITED || r.status != id % 7 ||
		    strcmp(r.out.buf, want.buf))
			bad++;
		proc_result_release(&r);
		strbuf_release(&err);
		strbuf_release(&want);
	}
	return (void *)bad;
}

START_TEST(test_threads)
{
	pthread_t t[8];
	void *bad;

	for (long i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_run, (void *)i), 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

START_TEST(test_clock)
{
	long long a = now_us(), m = mono_ms();

	ck_assert_int_gt(a, 1600000000LL * 1000000);
	ck_assert_int_gt(m, 0);
	ck_assert_int_ge(mono_ms(), m);
}
END_TEST

static Suite *proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("proc");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_run, 0, sizeof(run_cases) / sizeof(run_cases[0]));
	tcase_add_loop_test(tc, test_describe, 0, sizeof(describe_cases) / sizeof(describe_cases[0]));
	tcase_add_loop_test(tc, test_spawn_failed, 0,
			    sizeof(spawn_fail_cases) / sizeof(spawn_fail_cases[0]));
	tcase_add_test(tc, test_empty_argv);
	tcase_add_test(tc, test_path_env_cwd);
	tcase_add_test(tc, test_large_io);
	tcase_add_test(tc, test_large_output_no_read);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_background_killed);
	tcase_add_test(tc, test_no_fd_leak);
	tcase_add_test(tc, test_closed_std_fds);
	tcase_add_test(tc, test_signal_mask_reset);
	tcase_add_test(tc, test_signal_dispositions_reset);
	tcase_add_test(tc, test_sigdefault_set);
	tcase_add_test(tc, test_sigpipe_not_raised);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_clock);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proc_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
