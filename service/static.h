#ifndef DATABUILD_SERVICE_STATIC_H
#define DATABUILD_SERVICE_STATIC_H

#include <microhttpd.h>

/*
 * The page's files (web/ in the source; docs/web.md): index.html at "/"
 * and every other file under "/assets/". The directory is
 * $DATABUILD_WEB_DIR if set, else ../web next to the running binary's
 * directory when it holds index.html (a build tree), else the installed
 * DATABUILD_WEB_DIR_DEFAULT. Only names of [A-Za-z0-9._-] segments that
 * do not start with '.' are served, opened beneath the directory without
 * following links.
 */

/* Answers GET "/" with index.html. */
enum MHD_Result static_index(struct MHD_Connection *conn);
/* Answers GET path (after "/assets/") with that file, or 404. */
enum MHD_Result static_asset(struct MHD_Connection *conn, const char *path);

#endif
