#ifndef DATABUILD_CATALOG_SQLITE_H
#define DATABUILD_CATALOG_SQLITE_H

#include "catalog/backend.h"

/* The SQLite backend (internal to catalog/; callers use catalog_open). */
extern const struct catalog_ops catalog_sqlite_ops;

/*
 * Schema: catalog_sqlite_migrations[v] is the SQL that takes a catalog
 * from PRAGMA user_version v to v + 1; CATALOG_SQLITE_VERSION is the
 * version this build writes. Exposed so tests can build older catalogs.
 */
#define CATALOG_SQLITE_VERSION 4
#define CATALOG_SQLITE_APPLICATION_ID 0x64624c44  /* "dbLD" */
extern const char *const catalog_sqlite_migrations[CATALOG_SQLITE_VERSION];

#endif
