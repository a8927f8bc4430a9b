/*
 * leaderboard: ranks the categories of one day, leaderboard/date=D — the
 * fan-in of every category's daily summary. A job written in C to show
 * that a job is any executable that speaks the protocol.
 *
 *   leaderboard configure REF...   one JobConfig per date; its inputs are
 *                                  summaries/category=C/date=D for every C
 *   leaderboard exec DATE          reads those summaries, writes the ranking
 *
 * Output: TSV with a header, one row per category, best first:
 *   rank  category  reviews  rating_sum  mean_rating  top_podcast
 * Ranked by mean rating (compared exactly as rating_sum / reviews), then
 * by more reviews, then by name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const categories[] = {
	"comedy", "news", "science", "sports", "true_crime",
};
#define NCATEGORIES (sizeof(categories) / sizeof(categories[0]))

struct row {
	const char *category;
	long reviews;
	long rating_sum;
	char *mean;         /* as the summary printed it */
	char *top_podcast;
};

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("leaderboard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

__attribute__((format(printf, 1, 2)))
static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		die("out of memory");
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static int valid_date(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, leap;

	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return 0;
	if (s[10])
		return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] + (m == 2 && leap);
}

static int configure(int nrefs, char **refs)
{
	static const char prefix[] = "leaderboard/date=";
	int printed = 0;
	char *out = xprintf("[");

	for (int i = 0; i < nrefs; i++) {
		const char *date = refs[i] + strlen(prefix);
		char *next;
		int dup = 0;

		if (strncmp(refs[i], prefix, strlen(prefix)) || strchr(date, '/'))
			die("cannot produce '%s' (expected leaderboard/date=YYYY-MM-DD)", refs[i]);
		if (!valid_date(date))
			die("'%s': '%s' is not a date (YYYY-MM-DD)", refs[i], date);
		for (int j = 0; j < i; j++)
			dup |= !strcmp(refs[i], refs[j]);
		if (dup)
			continue;
		next = xprintf("%s%s{\"outputs\":[\"%s\"],\"inputs\":[", out,
			       printed++ ? "," : "", refs[i]);
		free(out);
		out = next;
		for (size_t c = 0; c < NCATEGORIES; c++) {
			next = xprintf("%s%s{\"dep_type\":\"materialize\","
				       "\"ref\":\"summaries/category=%s/date=%s\"}",
				       out, c ? "," : "", categories[c], date);
			free(out);
			out = next;
		}
		next = xprintf("%s],\"args\":[\"%s\"],\"env\":{}}", out, date);
		free(out);
		out = next;
	}
	printf("%s]\n", out);
	free(out);
	return fflush(stdout) ? 1 : 0;
}

/* Splits line at tabs into at most n fields; returns the number found. */
static int split_tabs(char *line, char **fields, int n)
{
	int nr = 0;

	line[strcspn(line, "\n")] = '\0';
	while (nr < n) {
		fields[nr++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return nr;
}

static void read_summary(const char *input_dir, const char *category, const char *date,
			 struct row *r)
{
	char *path = xprintf("%s/summaries/category=%s/date=%s", input_dir, category, date);
	char *line = NULL, *f[6], *end;
	size_t cap = 0;
	FILE *fp = fopen(path, "re");

	if (!fp)
		die("cannot open input '%s': %s", path, strerror(errno));
	if (getline(&line, &cap, fp) < 0 || strncmp(line, "category\t", 9))
		die("'%s': missing header line", path);
	if (getline(&line, &cap, fp) < 0 || split_tabs(line, f, 6) != 6)
		die("'%s': expected a row of 6 tab-separated fields", path);
	if (strcmp(f[0], category) || strcmp(f[1], date))
		die("'%s': row is for '%s' on '%s'", path, f[0], f[1]);
	r->category = category;
	r->reviews = strtol(f[2], &end, 10);
	if (*end || r->reviews < 0)
		die("'%s': reviews: not a count: '%s'", path, f[2]);
	r->rating_sum = strtol(f[3], &end, 10);
	if (*end || r->rating_sum < 0)
		die("'%s': rating_sum: not a count: '%s'", path, f[3]);
	r->mean = xprintf("%s", f[4]);
	f[5][strcspn(f[5], ",")] = '\0';
	r->top_podcast = xprintf("%s", f[5]);
	free(line);
	fclose(fp);
	free(path);
}

/* Best first: higher mean (exact), then more reviews, then by name. */
static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	long long l = (long long)a->rating_sum * b->reviews;
	long long r = (long long)b->rating_sum * a->reviews;

	if (l != r)
		return l > r ? -1 : 1;
	if (a->reviews != b->reviews)
		return a->reviews > b->reviews ? -1 : 1;
	return strcmp(a->category, b->category);
}

static int exec_job(const char *date)
{
	const char *in = getenv("DATABUILD_INPUT_DIR");
	const char *outdir = getenv("DATABUILD_OUTPUT_DIR");
	struct row rows[NCATEGORIES];
	char *dir, *path;
	FILE *fp;
	int c;

	if (!in || !outdir)
		die("DATABUILD_INPUT_DIR and DATABUILD_OUTPUT_DIR must be set");
	if (!valid_date(date))
		die("'%s' is not a date (YYYY-MM-DD)", date);
	while ((c = getchar()) != EOF)  /* the JobConfig: everything needed is in argv */
		;
	for (size_t i = 0; i < NCATEGORIES; i++)
		read_summary(in, categories[i], date, &rows[i]);
	qsort(rows, NCATEGORIES, sizeof(rows[0]), row_cmp);

	dir = xprintf("%s/leaderboard", outdir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("cannot create '%s': %s", dir, strerror(errno));
	path = xprintf("%s/date=%s", dir, date);
	if (!(fp = fopen(path, "we")))
		die("cannot create '%s': %s", path, strerror(errno));
	fputs("rank\tcategory\treviews\trating_sum\tmean_rating\ttop_podcast\n", fp);
	for (size_t i = 0; i < NCATEGORIES; i++)
		fprintf(fp, "%zu\t%s\t%ld\t%ld\t%s\t%s\n", i + 1, rows[i].category,
			rows[i].reviews, rows[i].rating_sum, rows[i].mean, rows[i].top_podcast);
	if (fclose(fp))
		die("cannot write '%s': %s", path, strerror(errno));
	for (size_t i = 0; i < NCATEGORIES; i++) {
		free(rows[i].mean);
		free(rows[i].top_podcast);
	}
	free(path);
	free(dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "configure"))
		return configure(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "exec"))
		return exec_job(argv[2]);
	fputs("usage: leaderboard configure REF... | exec DATE\n", stderr);
	return 2;
}
