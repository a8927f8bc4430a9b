#ifndef DATABUILD_CATALOG_POSTGRES_SCHEMA_H
#define DATABUILD_CATALOG_POSTGRES_SCHEMA_H

#include <libpq-fe.h>

#include "core/strbuf.h"

/*
 * The PostgreSQL catalog's tables (internal to the PostgreSQL module,
 * catalog/postgres.h). Their history is a list of steps, one per schema
 * version, never edited once released: a new version adds a step. Text
 * columns that are compared or ordered use COLLATE "C", so ref order and
 * prefix scans are byte order, as in SQLite (catalog/sqlite.c).
 */

/*
 * Creates the tables in an empty database or upgrades them to
 * CATALOG_PG_VERSION, on conn, which must be inside a transaction holding
 * the schema lock (CATALOG_PG_LOCK_SCHEMA) and have nothing in flight.
 * Fails, naming location, on a database whose schema is newer than this
 * build, on one with tables that are not a databuild catalog, and on a
 * step the server rejects (naming the step); the caller rolls back.
 */
int pg_schema_migrate(PGconn *conn, const char *location, struct strbuf *err);

#endif
