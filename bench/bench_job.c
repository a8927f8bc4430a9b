/*
 * benchjob: the configure and exec executables of the synthetic benchmark
 * graphs (see docs/design/bench.md). One small program with no library
 * dependencies, so that its own start-up cost is as small as a job's can be
 * and the same for databuild, ninja and make.
 *
 *   benchjob configure SHAPE REF...
 *     Prints a JSON array with one JobConfig per REF (args = [REF]).
 *     SHAPE: "flat"        no inputs
 *            "dag:W:L"     ref ".../l=L/k=K": inputs (l+1, k) and
 *                          (l+1, (k+1) mod W) below level L-1, plus
 *                          (2, k) and (2, (k+1) mod W) on level 0, so
 *                          W*L partitions have 2*W*(L-1) + 2*W edges
 *     With $BENCH_CONFIGURE_LOG set, appends "<self ns> <refs>" to it: the
 *     time from main() to the last byte written, for subtracting the
 *     configure processes from a planner's wall time.
 *
 *   benchjob exec OPTS REF...
 *     Reads and discards stdin (the JobConfig), then writes every REF at
 *     $DATABUILD_OUTPUT_DIR/REF. OPTS is a comma-separated list:
 *       empty       empty outputs (default)
 *       echo        each output holds "REF\n"
 *       bytes=N     each output holds N deterministic bytes
 *       sized       each output holds as many bytes as the value of the
 *                   ref's last segment says ("blob/size=256M": 256 MiB;
 *                   suffixes K, M, G)
 *       sleep=MS    sleep MS milliseconds first
 *       log=PATH    append "REF START END\n" to PATH for each output (run
 *                   counting; START and END: CLOCK_MONOTONIC ns of the
 *                   job's start and of the output's completion)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "benchjob: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct out {
	char *buf;
	size_t len, alloc;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->alloc) {
		o->alloc = (o->len + n + 1) * 2;
		if (!(o->buf = realloc(o->buf, o->alloc)))
			die("%s", "out of memory");
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* Refs made by this program need no JSON escaping: they are checked here. */
static void check_ref(const char *ref)
{
	for (const char *p = ref; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			die("ref '%s' needs escaping", ref);
}

static void add_input(struct out *o, const char *base, long l, long k)
{
	char num[64];

	out_str(o, "{\"dep_type\":\"materialize\",\"ref\":\"");
	out_str(o, base);
	snprintf(num, sizeof(num), "l=%ld/k=%ld", l, k);
	out_str(o, num);
	out_str(o, "\"}");
}

/* The dataset part of a dag ref ("g/l=3/k=5" -> "g/"), or NULL. */
static char *dag_parse(const char *ref, long *l, long *k)
{
	const char *p = strstr(ref, "l=");

	while (p && p != ref && p[-1] != '/')
		p = strstr(p + 1, "l=");
	if (!p || sscanf(p, "l=%ld/k=%ld", l, k) != 2)
		return NULL;
	return strndup(ref, (size_t)(p - ref));
}

static int configure(int argc, char **argv)
{
	int64_t t0 = now_ns();
	struct out o = { 0 };
	long width = 0, levels = 0;
	const char *shape, *logpath;

	if (argc < 3)
		die("%s", "usage: benchjob configure SHAPE REF...");
	shape = argv[2];
	if (!strncmp(shape, "dag:", 4)) {
		if (sscanf(shape + 4, "%ld:%ld", &width, &levels) != 2 || width < 2 || levels < 1)
			die("bad shape '%s'", shape);
	} else if (strcmp(shape, "flat")) {
		die("unknown shape '%s'", shape);
	}
	out_str(&o, "[");
	for (int i = 3; i < argc; i++) {
		const char *ref = argv[i];
		int n = 0;

		check_ref(ref);
		if (i > 3)
			out_str(&o, ",");
		out_str(&o, "{\"outputs\":[\"");
		out_str(&o, ref);
		out_str(&o, "\"],\"inputs\":[");
		if (width) {
			long l, k;
			char *base = dag_parse(ref, &l, &k);

			if (!base || l < 0 || l >= levels || k < 0 || k >= width)
				die("ref '%s' is not in the dag", ref);
			if (l + 1 < levels) {
				add_input(&o, base, l + 1, k);
				out_str(&o, ",");
				add_input(&o, base, l + 1, (k + 1) % width);
				n = 2;
			}
			if (l == 0 && levels > 2) {
				out_str(&o, n ? "," : "");
				add_input(&o, base, 2, k);
				out_str(&o, ",");
				add_input(&o, base, 2, (k + 1) % width);
			}
			free(base);
		}
		out_str(&o, "],\"args\":[\"");
		out_str(&o, ref);
		out_str(&o, "\"]}");
	}
	out_str(&o, "]\n");
	for (size_t off = 0; off < o.len;) {
		ssize_t w = write(1, o.buf + off, o.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write: %s", strerror(errno));
		off += (size_t)w;
	}
	if ((logpath = getenv("BENCH_CONFIGURE_LOG")) && *logpath) {
		char line[64];
		int fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		int n;

		if (fd < 0)
			die("cannot open '%s'", logpath);
		n = snprintf(line, sizeof(line), "%lld %d\n", (long long)(now_ns() - t0), argc - 3);
		if (write(fd, line, (size_t)n) != n)
			die("cannot write '%s'", logpath);
		close(fd);
	}
	free(o.buf);
	return 0;
}

static void mkdir_parents(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die("cannot create '%s'", path);
		*p = '/';
	}
}

static void write_all(int fd, const char *buf, size_t len, const char *path)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("cannot write '%s'", path);
		buf += w;
		len -= (size_t)w;
	}
}

static long long ref_size(const char *ref)
{
	const char *eq = strrchr(ref, '=');
	char *end;
	long long n;

	if (!eq || strchr(eq, '/'))
		die("ref '%s' has no size in its last segment", ref);
	n = strtoll(eq + 1, &end, 10);
	switch (*end) {
	case 'K': n <<= 10; end++; break;
	case 'M': n <<= 20; end++; break;
	case 'G': n <<= 30; end++; break;
	default: break;
	}
	if (*end || n < 0)
		die("ref '%s' has a bad size", ref);
	return n;
}

static int exec_job(int argc, char **argv)
{
	int64_t t0 = now_ns();
	const char *outdir = getenv("DATABUILD_OUTPUT_DIR"), *logpath = NULL;
	long long bytes = -1, sleep_ms = 0;
	int echo = 0, sized = 0;
	char *opts, *tok, *save = NULL, *chunk = NULL;
	char sink[4096];
	const size_t chunk_size = 1 << 20;

	if (argc < 3)
		die("%s", "usage: benchjob exec OPTS REF...");
	if (!outdir || !*outdir)
		die("%s", "DATABUILD_OUTPUT_DIR is not set");
	opts = strdup(argv[2]);
	for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "empty"))
			bytes = -1;
		else if (!strcmp(tok, "echo"))
			echo = 1;
		else if (!strcmp(tok, "sized"))
			sized = 1;
		else if (!strncmp(tok, "bytes=", 6))
			bytes = atoll(tok + 6);
		else if (!strncmp(tok, "sleep=", 6))
			sleep_ms = atoll(tok + 6);
		else if (!strncmp(tok, "log=", 4))
			logpath = tok + 4;
		else
			die("unknown exec option '%s'", tok);
	}
	while (read(0, sink, sizeof(sink)) > 0)
		;
	if (sleep_ms > 0) {
		struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (bytes > 0 || sized) {
		if (!(chunk = malloc(chunk_size)))
			die("%s", "out of memory");
		for (size_t i = 0; i < chunk_size; i++)
			chunk[i] = (char)('a' + (i * 7 + i / 4096) % 26);
	}
	for (int i = 3; i < argc; i++) {
		size_t n = strlen(outdir) + strlen(argv[i]) + 2;
		char *path = malloc(n);
		int fd;

		if (!path)
			die("%s", "out of memory");
		snprintf(path, n, "%s/%s", outdir, argv[i]);
		mkdir_parents(path);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
			die("cannot create '%s'", path);
		if (sized)
			bytes = ref_size(argv[i]);
		if (echo) {
			write_all(fd, argv[i], strlen(argv[i]), path);
			write_all(fd, "\n", 1, path);
		}
		for (long long left = bytes; left > 0;) {
			size_t w = left < (long long)chunk_size ? (size_t)left : chunk_size;

			write_all(fd, chunk, w, path);
			left -= (long long)w;
		}
		if (close(fd) < 0)
			die("cannot write '%s'", path);
		if (logpath) {
			int lfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
			size_t len = strlen(argv[i]) + 64;
			char *line = malloc(len);
			int w;

			if (lfd < 0 || !line)
				die("cannot open '%s'", logpath);
			w = snprintf(line, len, "%s %lld %lld\n", argv[i], (long long)t0,
				     (long long)now_ns());
			write_all(lfd, line, (size_t)w, logpath);
			close(lfd);
			free(line);
		}
		free(path);
	}
	free(chunk);
	free(opts);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "configure"))
		return configure(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return exec_job(argc, argv);
	die("%s", "usage: benchjob configure|exec ...");
}
