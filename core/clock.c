#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Howard Hinnant's days_from_civil and civil_from_days (public domain). */
long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

void civil_from_days(long long days, long long *y, unsigned *m, unsigned *d)
{
	long long z = days + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long long)yoe + era * 400 + (*m <= 2);
}

/* Exactly n digits at *s. */
static int digits(const char **s, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*s)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (unsigned)(c - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

unsigned days_in_month(long long y, unsigned m)
{
	static const unsigned char days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

int utc_parse(const char *text, long long *out)
{
	const char *s = text;
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;

	if (digits(&s, 4, &y) < 0 || *s++ != '-' || digits(&s, 2, &mo) < 0 ||
	    *s++ != '-' || digits(&s, 2, &d) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*s == 'T') {
		s++;
		if (digits(&s, 2, &h) < 0 || *s++ != ':' || digits(&s, 2, &mi) < 0 ||
		    *s++ != ':' || digits(&s, 2, &sec) < 0)
			return -1;
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (*s == 'Z')
			s++;
	}
	if (*s)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

/*
 * The time DATABUILD_NOW sets: 0 with *t, 1 when it is unset or empty, or
 * -1 when it is malformed (what is wrong appended to why, when not NULL).
 * "@FILE" reads the time from FILE's first line, at every call.
 */
static int now_env(long long *t, struct strbuf *why)
{
	const char *env = getenv(CLOCK_NOW_ENV);
	struct strbuf file = STRBUF_INIT;
	int fd, ret = -1;

	if (!env || !*env)
		return 1;
	if (*env != '@') {
		ret = utc_parse(env, t);
		if (ret < 0 && why)
			strbuf_addf(why, "expected a UTC time like 2024-03-03T03:00:00Z, got '%s'",
				    env);
		return ret;
	}
	fd = open(env + 1, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || strbuf_read_fd(&file, fd, 256) < 0) {
		if (why)
			strbuf_addf(why, "cannot read '%s': %s", env + 1, strerror(errno));
		goto out;
	}
	strbuf_setlen(&file, strcspn(file.buf, "\n"));
	strbuf_rtrim(&file);
	ret = utc_parse(file.buf, t);
	if (ret < 0 && why)
		strbuf_addf(why, "'%s': expected a UTC time like 2024-03-03T03:00:00Z, got '%s'",
			    env + 1, file.buf);
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&file);
	return ret;
}

long long now_s(void)
{
	long long t;

	if (!now_env(&t, NULL))
		return t;
	return now_us() / 1000000;
}

int now_check(struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	long long t;
	int ret = 0;

	if (now_env(&t, &why) < 0) {
		strbuf_addf(err, "%s: %s", CLOCK_NOW_ENV, why.buf);
		ret = -1;
	}
	strbuf_release(&why);
	return ret;
}
