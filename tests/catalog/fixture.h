/*
 * What the catalog cases share (tests/catalog/test_catalog*.c, one
 * executable): the fixture every case runs in, and the helpers that fill
 * its catalog and read it back. Every helper fails the running case (a
 * check assertion) when a call it makes fails, so none returns an error.
 */
#ifndef DATABUILD_TESTS_CATALOG_FIXTURE_H
#define DATABUILD_TESTS_CATALOG_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Registering cases, in a function whose TCase * is named tc (add_cases
 * in test_catalog.c and each file's *_cases): a test, or a loop test over
 * every row of its static table of cases.
 */
#define ADD(name) tcase_add_test(tc, name)
#define ADD_LOOP(name, cases) tcase_add_loop_test(tc, name, 0, (int)ARRAY_SIZE(cases))

/* Fails the case unless expr (a catalog call writing to err) is >= 0, printing err. */
#define OK(expr) ck_assert_msg((expr) >= 0, "%s failed: %s", #expr, err.buf)

/*
 * The fixture (setup/teardown, or setup_pg/teardown_pg), which owns all
 * of these: a fresh directory per case (tmpdir), the store opened on it,
 * and cat, the catalog opened on that store at location. A case that
 * closes cat opens it again, so that teardown has something to close.
 * err collects every call's error; setup starts it empty, and a case that
 * expects a failure resets it afterwards.
 */
extern char *tmpdir;
extern struct store store;
extern struct catalog cat;
extern struct strbuf err;
/*
 * The catalog location every case opens: NULL (the store's SQLite file),
 * or a fresh PostgreSQL database per case when the cases run against
 * $DATABUILD_TEST_PG (a server URL such as postgresql://postgres@host:port/).
 */
extern char *location;

/* Opens tmpdir, store and cat (at location); teardown closes and removes them all. */
void setup(void);
void teardown(void);

#ifdef DATABUILD_WITH_POSTGRES
/* The name of the case's database (setup_pg; teardown_pg frees it). */
extern char *pg_dbname;

/*
 * A fresh database per case on $DATABUILD_TEST_PG, then setup with
 * location its URL; teardown_pg tears down, drops the database (forcing
 * off what is still connected) and frees pg_dbname and location.
 */
void setup_pg(void);
void teardown_pg(void);
/* The server URL with its database replaced by db (the query string kept); the caller frees it. */
char *pg_url(const char *db);
/*
 * Runs sql on conninfo with psql (the tests do not link libpq: only the
 * PostgreSQL module does), failing the case if it fails.
 */
void pg_exec(const char *conninfo, const char *sql);
/* Runs sql on the server's default database. */
void pg_admin(const char *sql);
#endif

/* The store's SQLite catalog file (cat's location when location is NULL); the caller frees it. */
char *db_path(void);
/* Pushes the items of list (comma-separated; NULL or "" has none) onto out. */
void split(struct strvec *out, const char *list);

/*
 * Runs job producing outs (comma list) from ins (comma list, each read
 * from cat as it is now), publishes it in cat; returns the run id, which
 * the caller frees. Each output's sha256 is that of "<ref>@<run id>".
 */
char *produce(const char *job, const char *outs, const char *ins);
/*
 * Called by produce() between beginning the run and publishing it, if set
 * (a case that sets it resets it to NULL).
 */
extern void (*produce_hook)(void);

/* Fails the case unless ref's status in cat is want, naming both. */
void assert_status(const char *ref, enum part_status want);
/* The first column of the first row of sql on the SQLite file path (read-only), or -1. */
int sql_int(const char *path, const char *sql);

/*
 * Events read back with collect (the catalog_read_events callback, arg an
 * ev_list): each event's JSONL line and type, in order. collect fails the
 * case unless each seq is above last_seq, which it advances (start it at
 * the seq the read begins after), and stops the read once stop_after
 * events are in (0: never).
 * ev_list_release frees lines and types and leaves the list empty, ready
 * for another read (last_seq and stop_after are kept).
 */
struct ev_list {
	struct strvec lines;
	struct strvec types;
	int64_t last_seq;
	size_t stop_after;
};

#define EV_LIST_INIT { STRVEC_INIT, STRVEC_INIT, 0, 0 }

int collect(const struct event *e, void *arg);
void ev_list_release(struct ev_list *l);

/*
 * Begins a run of job "b" writing ref in cat (left running); the manifest
 * to publish it with, initialised here into *m (input, if not NULL, one
 * materialized input). The caller releases *m.
 */
void batch_manifest(struct manifest *m, const char *ref, const char *input);

/*
 * The cases of each file, added in order to a tcase that add_cases (in
 * test_catalog.c) made with its name, timeout and fixture. With pg (the
 * tcase runs on PostgreSQL) catalog_leases_cases leaves out the case
 * about the lock files of SQLite's leases.
 */
void catalog_listing_cases(TCase *tc);
void catalog_versions_cases(TCase *tc);
void catalog_leases_cases(TCase *tc, int pg);
#ifdef DATABUILD_WITH_POSTGRES
void catalog_pg_schema_cases(TCase *tc);
#endif
void catalog_reconnect_cases(TCase *tc);

#endif
