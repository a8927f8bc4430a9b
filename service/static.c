#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "model/ref.h"
#include "service/internal.h"
#include "service/static.h"

#ifndef DATABUILD_WEB_DIR_DEFAULT
#define DATABUILD_WEB_DIR_DEFAULT "/usr/local/share/databuild/web"
#endif

/* A file name longer than this is not one of ours (404). */
#define ASSET_PATH_MAX 255

static pthread_once_t web_once = PTHREAD_ONCE_INIT;
static char *web_dir;  /* set once by web_dir_find; never freed */

static const struct {
	const char *ext;
	const char *type;
} content_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static int has_index(const char *dir)
{
	struct strbuf p = STRBUF_INIT;
	int ok;

	strbuf_addf(&p, "%s/index.html", dir);
	ok = !access(p.buf, R_OK);
	strbuf_release(&p);
	return ok;
}

/* ../web beside the directory of the running binary (a build tree), or NULL. */
static char *web_dir_beside_binary(void)
{
	char *exe = realpath("/proc/self/exe", NULL), *slash;
	struct strbuf dir = STRBUF_INIT;

	if (!exe)
		return NULL;
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	strbuf_addf(&dir, "%s/../web", exe);
	free(exe);
	if (has_index(dir.buf))
		return strbuf_detach(&dir, NULL);
	strbuf_release(&dir);
	return NULL;
}

static void web_dir_find(void)
{
	const char *env = getenv("DATABUILD_WEB_DIR");

	if (env && *env)
		web_dir = xstrdup(env);
	else if (!(web_dir = web_dir_beside_binary()))
		web_dir = xstrdup(DATABUILD_WEB_DIR_DEFAULT);
}

static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(content_types) / sizeof(content_types[0]); i++)
		if (!strcmp(dot, content_types[i].ext))
			return content_types[i].type;
	return "application/octet-stream";
}

/* 1 if path is segments of [A-Za-z0-9._-] that do not start with '.'. */
static int asset_name_ok(const char *path)
{
	size_t n = strlen(path);

	if (!n || n > ASSET_PATH_MAX || path[n - 1] == '/')
		return 0;
	for (const char *p = path; *p; p++) {
		int seg_start = p == path || p[-1] == '/';

		if ((seg_start && (*p == '.' || *p == '/')) ||
		    !(strchr("._-/", *p) || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return 0;
	}
	return 1;
}

/* Opens path beneath dirfd without following links: fd or -1 with errno. */
static int open_beneath(int dirfd, const char *path)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	/* without openat2 the name check above already keeps it beneath */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static enum MHD_Result not_found(struct MHD_Connection *conn, const char *path,
				 const char *why)
{
	struct strbuf err = STRBUF_INIT;
	enum MHD_Result ret;

	strbuf_addstr(&err, "page file '");
	ref_addquoted(&err, path);
	strbuf_addf(&err, "': %s", why);
	ret = reply_error_buf(conn, MHD_HTTP_NOT_FOUND, &err);
	strbuf_release(&err);
	return ret;
}

static enum MHD_Result serve_file(struct MHD_Connection *conn, const char *path)
{
	struct MHD_Response *r = NULL;
	enum MHD_Result ret;
	struct stat st;
	int dirfd = -1, fd = -1;

	pthread_once(&web_once, web_dir_find);
	if (!asset_name_ok(path))
		return not_found(conn, path, "no such file");
	dirfd = open(web_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		struct strbuf err = STRBUF_INIT;

		strbuf_addf(&err, "the page's directory '%s' is missing (install databuild, "
			    "or set DATABUILD_WEB_DIR); the API is under /api/", web_dir);
		ret = reply_error_buf(conn, MHD_HTTP_NOT_FOUND, &err);
		strbuf_release(&err);
		goto out;
	}
	fd = open_beneath(dirfd, path);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = not_found(conn, path, "no such file");
		goto out;
	}
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		ret = reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "page file '%s': cannot answer", path);
		goto out;
	}
	fd = -1;  /* the response owns it now */
	reply_headers(r, content_type(path));
	if (!strcmp(path, "index.html")) {
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'self'; img-src 'self' data:; "
					"frame-ancestors 'none'; base-uri 'none'");
		MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	}
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}

enum MHD_Result static_index(struct MHD_Connection *conn)
{
	return serve_file(conn, "index.html");
}

enum MHD_Result static_asset(struct MHD_Connection *conn, const char *path)
{
	return serve_file(conn, path);
}
