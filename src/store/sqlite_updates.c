/*
 * sqlite_updates.c - the fleet updates of the SQLite store (schema 4 of
 * store/sqlite.c): one row per update and one per tenant of an update.
 * Written a few times per tenant updated: each call prepares its
 * statement, on the store's one connection, inside whatever transaction
 * the store has open.
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_int.h"

#define UPD_COLS                                                               \
  "id, release_version, waves, soak_ms, max_parallel, max_failures, tiers,"    \
  " state, wave, soak_until_ms, status, created_ms, updated_ms"
#define UT_COLS                                                                \
  "update_id, tenant, wave, state, from_release, to_release, error,"           \
  " started_ms, finished_ms"

static void upd_row(sqlite3_stmt *st, edv__update_rec *r)
{
  memset(r, 0, sizeof(*r));
  edv__sq_text(st, 0, r->id, sizeof(r->id));
  edv__sq_text(st, 1, r->release, sizeof(r->release));
  edv__sq_text(st, 2, r->waves, sizeof(r->waves));
  r->soak_ms = sqlite3_column_int64(st, 3);
  r->max_parallel = (unsigned)sqlite3_column_int64(st, 4);
  r->max_failures = (unsigned)sqlite3_column_int64(st, 5);
  edv__sq_text(st, 6, r->tiers, sizeof(r->tiers));
  edv__sq_text(st, 7, r->state, sizeof(r->state));
  r->wave = (unsigned)sqlite3_column_int64(st, 8);
  r->soak_until_ms = sqlite3_column_int64(st, 9);
  edv__sq_text(st, 10, r->status, sizeof(r->status));
  r->created_ms = sqlite3_column_int64(st, 11);
  r->updated_ms = sqlite3_column_int64(st, 12);
}

static void ut_row(sqlite3_stmt *st, edv__update_tenant_rec *r)
{
  memset(r, 0, sizeof(*r));
  edv__sq_text(st, 0, r->update_id, sizeof(r->update_id));
  edv__sq_text(st, 1, r->tenant, sizeof(r->tenant));
  r->wave = (unsigned)sqlite3_column_int64(st, 2);
  edv__sq_text(st, 3, r->state, sizeof(r->state));
  edv__sq_text(st, 4, r->from, sizeof(r->from));
  edv__sq_text(st, 5, r->to, sizeof(r->to));
  edv__sq_text(st, 6, r->error, sizeof(r->error));
  r->started_ms = sqlite3_column_int64(st, 7);
  r->finished_ms = sqlite3_column_int64(st, 8);
}

/* Steps a prepared write to its end: 0 or the error of `what`. */
int edv__sq_write(sqlite3 *db, sqlite3_stmt *st, edv_error *err,
                  const char *what)
{
  int rc = sqlite3_step(st);

  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return 0;
  if ((rc & 0xff) == SQLITE_CONSTRAINT)
    return edv_error_set(err, EDV_EINVAL, "store: %s: %s", what,
                         sqlite3_errmsg(db));
  return edv__sq_fail(db, rc, err, what);
}

int edv__sq_update_put(edv_store *stp, const edv__update_rec *r, edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int64_t now = edv__store_now(stp);
  int rc = sqlite3_prepare_v2(
      db,
      "INSERT INTO updates (" UPD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
      " ?8, ?9, ?10, ?11, ?12, ?12) ON CONFLICT (id) DO UPDATE SET"
      " state = excluded.state, wave = excluded.wave,"
      " soak_until_ms = excluded.soak_until_ms, status = excluded.status,"
      " updated_ms = excluded.updated_ms",
      -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "update put");
  sqlite3_bind_text(st, 1, r->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, r->release, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, r->waves, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, r->soak_ms);
  sqlite3_bind_int64(st, 5, r->max_parallel);
  sqlite3_bind_int64(st, 6, r->max_failures);
  sqlite3_bind_text(st, 7, r->tiers, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 8, r->state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 9, r->wave);
  sqlite3_bind_int64(st, 10, r->soak_until_ms);
  sqlite3_bind_text(st, 11, r->status, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 12, now);
  return edv__sq_write(db, st, err, "update put");
}

int edv__sq_update_get(edv_store *stp, const char *id, edv__update_rec *out,
                       edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      db, "SELECT " UPD_COLS " FROM updates WHERE id = ?1", -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "update get");
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    upd_row(st, out);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return edv_error_set(err, EDV_ENOTFOUND, "update '%.40s' does not exist",
                         id);
  return rc == SQLITE_ROW ? 0 : edv__sq_fail(db, rc, err, "update get");
}

int edv__sq_update_list(edv_store *stp, edv__update_fn fn, void *data,
                        edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  edv__update_rec r;
  int rc = sqlite3_prepare_v2(
      db, "SELECT " UPD_COLS " FROM updates ORDER BY seq", -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "update list");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    upd_row(st, &r);
    if (fn(data, &r))
      break;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return 0;
  return edv__sq_fail(db, rc, err, "update list");
}

int edv__sq_update_tenant_put(edv_store *stp, const edv__update_tenant_rec *r,
                              edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "INSERT OR REPLACE INTO update_tenants (" UT_COLS
                              ") VALUES (?1, ?2,"
                              " ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                              -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "update tenant put");
  sqlite3_bind_text(st, 1, r->update_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, r->tenant, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, r->wave);
  sqlite3_bind_text(st, 4, r->state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 5, r->from, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, r->to, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 7, r->error, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 8, r->started_ms);
  sqlite3_bind_int64(st, 9, r->finished_ms);
  return edv__sq_write(db, st, err, "update tenant put");
}

int edv__sq_update_tenants(edv_store *stp, const char *id,
                           edv__update_tenant_fn fn, void *data, edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  edv__update_tenant_rec r;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT " UT_COLS " FROM update_tenants WHERE"
                              " update_id = ?1 ORDER BY wave, tenant",
                              -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "update tenants");
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ut_row(st, &r);
    if (fn(data, &r))
      break;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return 0;
  return edv__sq_fail(db, rc, err, "update tenants");
}
