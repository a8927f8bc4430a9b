#ifndef DATABUILD_SERVICE_MHD_H
#define DATABUILD_SERVICE_MHD_H

#include "core/strbuf.h"

/*
 * libmicrohttpd, loaded when the service starts rather than when the
 * program does. Linking it would make every databuild command load it and
 * its GnuTLS chain (ten shared objects) although only `serve` and `mount
 * --serve` use it; so no program links it, and service/mhd.c defines the
 * eleven MHD_* functions service/ calls (a new one is added there too, or
 * the link fails), with the library's own names and
 * prototypes (<microhttpd.h> is still the header), each forwarding to the
 * library that service_mhd_load dlopen()s. The soname is the one the
 * build found (SERVICE_MHD_SONAME, from meson.build).
 *
 * The forwarders may be called only after service_mhd_load has returned
 * 0 (service_start calls it first); calling one before is a programming
 * error and aborts. MHD_get_daemon_info forwards no variadic arguments:
 * none of the info types databuild asks for takes any.
 */

/*
 * Loads libmicrohttpd and resolves what service/ calls, once per process
 * (thread-safe; later calls return the first result). 0, or -1 with
 * "cannot load the HTTP server library 'libmicrohttpd.so.12': <dlerror()>"
 * in err (a configuration error: the CLI exits 2).
 */
int service_mhd_load(struct strbuf *err);

#endif
