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

/* The releases operations of the backend table (store.h). */
int edv__sq_release_put(edv_store *st, const edv__release_rec *rec,
                        edv_error *err);
int edv__sq_release_get(edv_store *st, const char *version,
                        edv__release_rec *out, edv_error *err);
int edv__sq_release_list(edv_store *st, edv__release_fn fn, void *data,
                         edv_error *err);

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

#endif /* EDV_STORE_SQLITE_INT_H */
