#ifndef DATABUILD_CATALOG_POSTGRES_H
#define DATABUILD_CATALOG_POSTGRES_H

#include "catalog/module.h"

/*
 * The PostgreSQL backend (internal to catalog/; callers use catalog_open
 * with a "postgresql://" or "postgres://" location). It is built as the
 * loadable module CATALOG_PG_MODULE (catalog/module.h), the one part of
 * databuild that links libpq; catalog.c loads it when such a location is
 * opened, and nothing else includes this header.
 *
 * Same tables and semantics as the SQLite backend. Writers are serialised
 * by a transaction-level advisory lock, so event seqs are committed in
 * order, and every write transaction sends NOTIFY databuild (catalog_watch
 * listens for it). Leases are session advisory locks held on a second
 * connection owned by the handle: the server drops them when the holder's
 * process dies. A statement that fails because the connection was lost is
 * retried once after reconnecting (backoff from 50 ms doubling to 2 s, for
 * at most $DATABUILD_PG_RECONNECT_S seconds, default 60); a retried begin,
 * publish or finish that had in fact committed succeeds without recording
 * anything twice. An append_event(s) whose COMMIT was lost in flight may
 * be recorded twice.
 */
extern const struct catalog_ops catalog_pg_ops;

/* The module's one exported symbol (CATALOG_MODULE_SYMBOL). */
extern const struct catalog_module databuild_catalog_module;

/*
 * Opens c (c->location already set to the location as printed in
 * messages, its password masked) on conninfo, the location as given
 * (passed to PQconnectdb unchanged; the backend keeps its own copy).
 * Creates the schema in an empty database.
 */
int catalog_pg_open(struct catalog *c, const char *conninfo, struct strbuf *err);

/*
 * For the module's other files (libpq's PGconn and PGresult are these
 * structs). pg_result_ok: r is a command's or a query's result, not an
 * error. pg_fail appends "catalog 'LOCATION': " and the server's message
 * for r (conn's last error when r is NULL or carries none) to err, on
 * one line. pg_exec_sql runs sql (one statement or several separated by
 * ';') on conn, outside any pipeline; -1 with err filled by pg_fail.
 */
struct pg_conn;
struct pg_result;
int pg_result_ok(const struct pg_result *r);
void pg_fail(struct strbuf *err, const char *location, struct pg_conn *conn,
	     const struct pg_result *r);
int pg_exec_sql(struct pg_conn *conn, const char *location, const char *sql,
		struct strbuf *err);

/* The schema version this build writes (table databuild_schema). */
#define CATALOG_PG_VERSION 3
/* Advisory lock class of the catalog ("dbLD"); the second key picks the lock. */
#define CATALOG_PG_LOCK_CLASS 1684163652
#define CATALOG_PG_LOCK_WRITE 1
#define CATALOG_PG_LOCK_SCHEMA 2

#endif
