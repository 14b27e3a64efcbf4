/*
 * sqlite_int.h - what the SQLite backend's files share (store/sqlite.c
 * holds the connection; store/sqlite_releases.c the releases table).
 */
#ifndef EDV_STORE_SQLITE_INT_H
#define EDV_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* The connection of an open SQLite store. */
sqlite3 *edv__sq_db(edv_store *st);

/* An SQLite result code `rc` of `what` as an edv_code, `err` filled
 * (EDV_EBUSY for a locked database). */
int edv__sq_fail(sqlite3 *db, int rc, edv_error *err, const char *what);
/* Column `col` of the current row as text into buf ("" for NULL). */
void edv__sq_text(sqlite3_stmt *st, int col, char *buf, size_t size);

/* Steps a prepared write `st` to its end and finalizes it: 0, EDV_EINVAL
 * for a constraint the row breaks, or the failure of `what`. */
int edv__sq_write(sqlite3 *db, sqlite3_stmt *st, edv_error *err,
                  const char *what);

/* The releases operations of the backend table (store.h). */
int edv__sq_release_put(edv_store *st, const edv__release_rec *rec,
                        edv_error *err);
int edv__sq_release_get(edv_store *st, const char *version,
                        edv__release_rec *out, edv_error *err);
int edv__sq_release_list(edv_store *st, edv__release_fn fn, void *data,
                         edv_error *err);

/* Schema 2 (a migration of store/sqlite.c): the SUSPENDING and SUSPENDED
 * phases (deletion's grace). SQLite cannot change a CHECK in place: the
 * table is rebuilt, with foreign keys off (sq_migrate) so that dropping the
 * old one cascades to nothing. */
#define EDV__SQ_MIGRATION_GRACE                                                \
  "CREATE TABLE tenants_new ("                                                 \
  "  id TEXT PRIMARY KEY NOT NULL,"                                            \
  "  slug TEXT NOT NULL UNIQUE,"                                               \
  "  tier TEXT NOT NULL,"                                                      \
  "  spec TEXT NOT NULL,"                                                      \
  "  phase TEXT NOT NULL CHECK (phase IN ('PENDING', 'PROVISIONING',"          \
  "    'READY', 'UPDATING', 'DEPROVISIONING', 'DELETED', 'FAILED',"            \
  "    'SUSPENDING', 'SUSPENDED')),"                                           \
  "  generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),"           \
  "  last_error TEXT NOT NULL DEFAULT '',"                                     \
  "  created_ms INTEGER NOT NULL,"                                             \
  "  updated_ms INTEGER NOT NULL"                                              \
  ");"                                                                         \
  "INSERT INTO tenants_new SELECT id, slug, tier, spec, phase, generation,"    \
  "  last_error, created_ms, updated_ms FROM tenants;"                         \
  "DROP TABLE tenants;"                                                        \
  "ALTER TABLE tenants_new RENAME TO tenants;"                                 \
  "CREATE INDEX tenants_tier ON tenants (tier, id);"                           \
  "CREATE INDEX tenants_phase ON tenants (phase, id);"

/* Schema 3 (a migration of store/sqlite.c): releases and the one each
 * tenant runs ('': none, the stock image). */
#define EDV__SQ_MIGRATION_RELEASES                                             \
  "ALTER TABLE tenants ADD COLUMN release_version TEXT NOT NULL DEFAULT '';"   \
  "CREATE TABLE releases ("                                                    \
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT, version TEXT NOT NULL UNIQUE,"     \
  "  image TEXT NOT NULL, family TEXT NOT NULL DEFAULT '',"                    \
  "  notes TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL);"

/* Schema 4 (a migration of store/sqlite.c): fleet updates, a release
 * rolled out in waves, and one row per tenant of an update. */
#define EDV__SQ_MIGRATION_UPDATES                                              \
  "CREATE TABLE updates ("                                                     \
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"          \
  "  release_version TEXT NOT NULL, waves TEXT NOT NULL,"                      \
  "  soak_ms INTEGER NOT NULL CHECK (soak_ms >= 0),"                           \
  "  max_parallel INTEGER NOT NULL CHECK (max_parallel >= 1),"                 \
  "  max_failures INTEGER NOT NULL CHECK (max_failures >= 0),"                 \
  "  tiers TEXT NOT NULL DEFAULT '',"                                          \
  "  state TEXT NOT NULL CHECK (state IN ('RUNNING', 'PAUSED', 'HALTED',"      \
  "    'ABORTED', 'DONE', 'ROLLING_BACK', 'ROLLED_BACK')),"                    \
  "  wave INTEGER NOT NULL DEFAULT 0, soak_until_ms INTEGER NOT NULL"          \
  "  DEFAULT 0, status TEXT NOT NULL DEFAULT '',"                              \
  "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"               \
  "CREATE TABLE update_tenants ("                                              \
  "  update_id TEXT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,"       \
  "  tenant TEXT NOT NULL, wave INTEGER NOT NULL,"                             \
  "  state TEXT NOT NULL CHECK (state IN ('PENDING', 'UPDATING', 'SOAKING',"   \
  "    'DONE', 'FAILED', 'ROLLED_BACK')),"                                     \
  "  from_release TEXT NOT NULL, to_release TEXT NOT NULL,"                    \
  "  error TEXT NOT NULL DEFAULT '', started_ms INTEGER NOT NULL DEFAULT 0,"   \
  "  finished_ms INTEGER NOT NULL DEFAULT 0,"                                  \
  "  PRIMARY KEY (update_id, tenant));"

/* The fleet updates of the backend table (store.h, sqlite_updates.c). */
int edv__sq_update_put(edv_store *st, const edv__update_rec *rec,
                       edv_error *err);
int edv__sq_update_get(edv_store *st, const char *id, edv__update_rec *out,
                       edv_error *err);
int edv__sq_update_list(edv_store *st, edv__update_fn fn, void *data,
                        edv_error *err);
int edv__sq_update_tenant_put(edv_store *st, const edv__update_tenant_rec *rec,
                              edv_error *err);
int edv__sq_update_tenants(edv_store *st, const char *id,
                           edv__update_tenant_fn fn, void *data,
                           edv_error *err);

/* Schema 5 (a migration of store/sqlite.c): Monitoring's incidents, from
 * edvd's intake of its notifications (store/sqlite_incidents.c). */
#define EDV__SQ_MIGRATION_INCIDENTS                                            \
  "CREATE TABLE incidents ("                                                   \
  "  incident_id TEXT PRIMARY KEY NOT NULL, tenant TEXT NOT NULL DEFAULT '',"  \
  "  policy_name TEXT NOT NULL DEFAULT '', alert TEXT NOT NULL DEFAULT '',"    \
  "  severity TEXT NOT NULL DEFAULT '',"                                       \
  "  state TEXT NOT NULL CHECK (state IN ('open', 'closed')),"                 \
  "  started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL DEFAULT 0,"        \
  "  summary TEXT NOT NULL DEFAULT '', observed_value TEXT NOT NULL"           \
  "  DEFAULT '', threshold_value TEXT NOT NULL DEFAULT '',"                    \
  "  url TEXT NOT NULL DEFAULT '', metric_type TEXT NOT NULL DEFAULT '',"      \
  "  resource_type TEXT NOT NULL DEFAULT '',"                                  \
  "  labels_json TEXT NOT NULL DEFAULT '{}', received_ms INTEGER NOT NULL);"   \
  "CREATE INDEX incidents_started ON incidents (started_ms, incident_id);"     \
  "CREATE INDEX incidents_state ON incidents (state, received_ms);"

/* The incidents of the backend table (store.h, sqlite_incidents.c). */
int edv__sq_incident_put(edv_store *st, const edv__incident_rec *rec,
                         edv_error *err);
int edv__sq_incident_get(edv_store *st, const char *id, edv__incident_rec *out,
                         edv_error *err);
int edv__sq_incident_list(edv_store *st, const edv__incident_filter *filter,
                          edv__incident_fn fn, void *data, int *more,
                          edv_error *err);
int edv__sq_incident_open_counts(edv_store *st, edv__incident_count_fn fn,
                                 void *data, edv_error *err);
int edv__sq_incident_prune(edv_store *st, int64_t closed_before_ms,
                           unsigned max_rows, edv_error *err);

#endif /* EDV_STORE_SQLITE_INT_H */
