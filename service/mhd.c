#include "service/mhd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

/* libmicrohttpd through dlopen (service/mhd.h). */

#ifndef SERVICE_MHD_SONAME
#error "SERVICE_MHD_SONAME: set by service/meson.build"
#endif

/* What service/ calls; MHD_start_daemon goes through the va_list variant. */
struct mhd_fns {
	struct MHD_Daemon *(*start_daemon_va)(unsigned int, uint16_t, MHD_AcceptPolicyCallback,
					      void *, MHD_AccessHandlerCallback, void *, va_list);
	void (*stop_daemon)(struct MHD_Daemon *);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *,
						       enum MHD_DaemonInfoType, ...);
	const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind,
					       const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
					  struct MHD_Response *);
	struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
							    enum MHD_ResponseMemoryMode);
	struct MHD_Response *(*create_response_from_callback)(uint64_t, size_t,
							      MHD_ContentReaderCallback, void *,
							      MHD_ContentReaderFreeCallback);
	struct MHD_Response *(*create_response_from_fd)(size_t, int);
	struct MHD_Response *(*create_response_from_fd_at_offset64)(uint64_t, int, uint64_t);
	void (*destroy_response)(struct MHD_Response *);
	enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *,
					       const char *);
};

static const struct {
	const char *name;
	size_t offset;
} mhd_syms[] = {
	{ "MHD_start_daemon_va", offsetof(struct mhd_fns, start_daemon_va) },
	{ "MHD_stop_daemon", offsetof(struct mhd_fns, stop_daemon) },
	{ "MHD_get_daemon_info", offsetof(struct mhd_fns, get_daemon_info) },
	{ "MHD_lookup_connection_value", offsetof(struct mhd_fns, lookup_connection_value) },
	{ "MHD_queue_response", offsetof(struct mhd_fns, queue_response) },
	{ "MHD_create_response_from_buffer", offsetof(struct mhd_fns, create_response_from_buffer) },
	{ "MHD_create_response_from_callback",
	  offsetof(struct mhd_fns, create_response_from_callback) },
	{ "MHD_create_response_from_fd", offsetof(struct mhd_fns, create_response_from_fd) },
	{ "MHD_create_response_from_fd_at_offset64",
	  offsetof(struct mhd_fns, create_response_from_fd_at_offset64) },
	{ "MHD_destroy_response", offsetof(struct mhd_fns, destroy_response) },
	{ "MHD_add_response_header", offsetof(struct mhd_fns, add_response_header) },
};

/* Written once by mhd_load_once, read-only afterwards. */
static struct mhd_fns mhd;
static int mhd_loaded;
static struct strbuf mhd_error = STRBUF_INIT;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

static void mhd_load_once(void)
{
	struct mhd_fns fns;
	void *h = dlopen(SERVICE_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		strbuf_addf(&mhd_error, "cannot load the HTTP server library '%s': %s",
			    SERVICE_MHD_SONAME, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(mhd_syms) / sizeof(mhd_syms[0]); i++) {
		void *sym = dlsym(h, mhd_syms[i].name);

		if (!sym) {
			strbuf_addf(&mhd_error, "cannot load the HTTP server library '%s': %s",
				    SERVICE_MHD_SONAME, dlerror());
			dlclose(h);
			return;
		}
		/* POSIX: a data pointer from dlsym holds a function pointer */
		memcpy((char *)&fns + mhd_syms[i].offset, &sym, sizeof(sym));
	}
	mhd = fns;
	mhd_loaded = 1;  /* h stays open: the library is used until the process ends */
}

int service_mhd_load(struct strbuf *err)
{
	pthread_once(&mhd_once, mhd_load_once);
	if (mhd_loaded)
		return 0;
	strbuf_addstr(err, mhd_error.buf);
	return -1;
}

/* The table, once loaded; a forwarder called before service_mhd_load is a bug. */
static const struct mhd_fns *fns(void)
{
	if (!mhd_loaded) {
		fputs("databuild: bug: libmicrohttpd called before service_mhd_load\n", stderr);
		abort();
	}
	return &mhd;
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
				    MHD_AcceptPolicyCallback apc, void *apc_cls,
				    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;

	va_start(ap, dh_cls);
	d = fns()->start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void MHD_stop_daemon(struct MHD_Daemon *daemon)
{
	fns()->stop_daemon(daemon);
}

const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
						enum MHD_DaemonInfoType info_type, ...)
{
	return fns()->get_daemon_info(daemon, info_type);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *connection,
					enum MHD_ValueKind kind, const char *key)
{
	return fns()->lookup_connection_value(connection, kind, key);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection,
				   unsigned int status_code, struct MHD_Response *response)
{
	return fns()->queue_response(connection, status_code, response);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
						     enum MHD_ResponseMemoryMode mode)
{
	return fns()->create_response_from_buffer(size, buffer, mode);
}

struct MHD_Response *MHD_create_response_from_callback(uint64_t size, size_t block_size,
						       MHD_ContentReaderCallback crc,
						       void *crc_cls,
						       MHD_ContentReaderFreeCallback crfc)
{
	return fns()->create_response_from_callback(size, block_size, crc, crc_cls, crfc);
}

struct MHD_Response *MHD_create_response_from_fd(size_t size, int fd)
{
	return fns()->create_response_from_fd(size, fd);
}

struct MHD_Response *MHD_create_response_from_fd_at_offset64(uint64_t size, int fd,
							     uint64_t offset)
{
	return fns()->create_response_from_fd_at_offset64(size, fd, offset);
}

void MHD_destroy_response(struct MHD_Response *response)
{
	fns()->destroy_response(response);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header,
					const char *content)
{
	return fns()->add_response_header(response, header, content);
}
