/*
 * The PostgreSQL catalog's tables (catalog/postgres_schema.h): every step
 * of their history, and the upgrade a handle makes when it opens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/postgres.h"
#include "catalog/postgres_schema.h"

/* Step v takes the schema from version v to v + 1. */
static const char *const pg_migrations[CATALOG_PG_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE builds ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  refs TEXT NOT NULL,"
	"  requester TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  start_us BIGINT NOT NULL,"
	"  end_us BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE runs ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  build_id BIGINT REFERENCES builds(id),"
	"  job TEXT COLLATE \"C\" NOT NULL,"
	"  config_json TEXT,"
	"  status TEXT COLLATE \"C\" NOT NULL,"
	"  pid BIGINT NOT NULL DEFAULT 0,"
	"  host TEXT,"
	"  start_us BIGINT NOT NULL,"
	"  end_us BIGINT NOT NULL DEFAULT 0,"
	"  exit_status INTEGER NOT NULL DEFAULT 0,"
	"  log_path TEXT,"
	"  error TEXT,"
	"  outputs TEXT NOT NULL,"
	"  prior TEXT NOT NULL);"
	"CREATE TABLE partitions ("
	"  ref TEXT COLLATE \"C\" PRIMARY KEY,"
	"  dataset TEXT COLLATE \"C\" NOT NULL,"
	"  name TEXT COLLATE \"C\" NOT NULL,"
	"  status TEXT COLLATE \"C\" NOT NULL,"
	"  build_key TEXT NOT NULL DEFAULT '',"
	"  sha256 TEXT NOT NULL DEFAULT '',"
	"  size BIGINT NOT NULL DEFAULT -1,"
	"  version TEXT,"
	"  job TEXT,"
	"  run_id BIGINT,"
	"  published_run BIGINT,"
	"  created_us BIGINT NOT NULL,"
	"  updated_us BIGINT NOT NULL,"
	"  error TEXT);"
	"CREATE INDEX partitions_by_dataset ON partitions(dataset, name);"
	"CREATE INDEX partitions_by_published_run ON partitions(published_run);"
	"CREATE TABLE datasets ("
	"  path TEXT COLLATE \"C\" PRIMARY KEY,"
	"  parent TEXT COLLATE \"C\" NOT NULL,"
	"  name TEXT COLLATE \"C\" NOT NULL);"
	"CREATE UNIQUE INDEX datasets_by_parent ON datasets(parent, name);"
	"CREATE TABLE manifests ("
	"  run_id BIGINT PRIMARY KEY REFERENCES runs(id),"
	"  json TEXT NOT NULL);"
	"CREATE TABLE manifest_inputs ("
	"  run_id BIGINT NOT NULL REFERENCES manifests(run_id) ON DELETE CASCADE,"
	"  input_ref TEXT COLLATE \"C\" NOT NULL,"
	"  dep_type TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  input_run_id BIGINT,"
	"  PRIMARY KEY (run_id, input_ref));"
	"CREATE INDEX manifest_inputs_by_input ON manifest_inputs(input_ref);"
	"CREATE TABLE events ("
	"  seq BIGSERIAL PRIMARY KEY,"
	"  time_us BIGINT NOT NULL,"
	"  build_id BIGINT,"
	"  type TEXT NOT NULL,"
	"  ref TEXT,"
	"  run_id BIGINT,"
	"  payload TEXT);"
	"CREATE INDEX runs_by_job ON runs(job, status, end_us);",
	/* 1 -> 2: published files' identities; the store id and other facts */
	"ALTER TABLE partitions ADD COLUMN ident TEXT;"
	"CREATE TABLE meta ("
	"  key TEXT COLLATE \"C\" PRIMARY KEY,"
	"  value TEXT NOT NULL);",
	/* 2 -> 3: versions (docs/design/history.md), one per published partition so far */
	"CREATE TABLE versions ("
	"  ref TEXT COLLATE \"C\" NOT NULL,"
	"  time_us BIGINT NOT NULL,"
	"  run_id BIGINT NOT NULL,"
	"  build_key TEXT NOT NULL DEFAULT '',"
	"  sha256 TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
	"  size BIGINT NOT NULL DEFAULT -1,"
	"  job TEXT,"
	"  version TEXT,"
	"  PRIMARY KEY (ref, time_us));"
	"CREATE INDEX versions_by_sha256 ON versions(sha256);"
	"CREATE INDEX versions_by_run ON versions(run_id);"
	"INSERT INTO versions (ref, time_us, run_id, build_key, sha256, size, job, version)"
	"  SELECT ref, updated_us, published_run, build_key, sha256, size, job, version"
	"  FROM partitions WHERE published_run IS NOT NULL AND sha256 != '';",
};

int pg_schema_migrate(PGconn *conn, const char *location, struct strbuf *err)
{
	PGresult *r = NULL;
	int version, foreign, ret = -1;
	char sql[96];

	if (pg_exec_sql(conn, location, "CREATE TABLE IF NOT EXISTS databuild_schema"
		" (version INTEGER NOT NULL)", err) < 0)
		goto out;
	r = PQexec(conn, "SELECT (SELECT max(version) FROM databuild_schema),"
		   " to_regclass('partitions') IS NOT NULL");
	if (!pg_result_ok(r)) {
		pg_fail(err, location, conn, r);
		goto out;
	}
	version = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
	foreign = !strcmp(PQgetvalue(r, 0, 1), "t");
	if (version > CATALOG_PG_VERSION) {
		strbuf_addf(err, "catalog '%s': schema version %d is newer than this databuild "
			    "supports (%d); upgrade databuild", location, version,
			    CATALOG_PG_VERSION);
		goto out;
	}
	if (!version && foreign) {
		strbuf_addf(err, "catalog '%s': the database has tables but is not a databuild "
			    "catalog", location);
		goto out;
	}
	for (int v = version; v < CATALOG_PG_VERSION; v++)
		if (pg_exec_sql(conn, location, pg_migrations[v], err) < 0) {
			strbuf_addf(err, " (migrating the schema from version %d to %d)", v, v + 1);
			goto out;
		}
	snprintf(sql, sizeof(sql), "DELETE FROM databuild_schema;"
		 " INSERT INTO databuild_schema VALUES (%d)", CATALOG_PG_VERSION);
	if (version < CATALOG_PG_VERSION && pg_exec_sql(conn, location, sql, err) < 0)
		goto out;
	ret = 0;
out:
	PQclear(r);
	return ret;
}
