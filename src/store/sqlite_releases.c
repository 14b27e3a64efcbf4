/*
 * sqlite_releases.c - the releases table of the SQLite store (schema 3 of
 * store/sqlite.c). Releases are few and written rarely: each call prepares
 * its statement, on the store's one connection, inside whatever
 * transaction the store has open (an import's).
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_int.h"

#define REL_COLS "version, image, family, notes, created_ms, seq"

int edv__sq_fail(sqlite3 *db, int rc, edv_error *err, const char *what)
{
  edv_code code = EDV_EIO;

  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    code = EDV_EBUSY;
  else if ((rc & 0xff) == SQLITE_NOMEM)
    code = EDV_ENOMEM;
  edv_error_set(err, code, "store: %s: %s", what, sqlite3_errmsg(db));
  if (err)
    snprintf(err->where, sizeof(err->where), "sqlite");
  return code;
}

void edv__sq_text(sqlite3_stmt *st, int col, char *buf, size_t size)
{
  const unsigned char *t = sqlite3_column_text(st, col);

  snprintf(buf, size, "%s", t ? (const char *)t : "");
}

static void rel_row(sqlite3_stmt *st, edv__release_rec *r)
{
  memset(r, 0, sizeof(*r));
  edv__sq_text(st, 0, r->version, sizeof(r->version));
  edv__sq_text(st, 1, r->image, sizeof(r->image));
  edv__sq_text(st, 2, r->family, sizeof(r->family));
  edv__sq_text(st, 3, r->notes, sizeof(r->notes));
  r->created_ms = sqlite3_column_int64(st, 4);
  r->seq = sqlite3_column_int64(st, 5);
}

int edv__sq_release_put(edv_store *stp, const edv__release_rec *r,
                        edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "INSERT INTO releases (version, image, family,"
                              " notes, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                              -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "release put");
  sqlite3_bind_text(st, 1, r->version, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, r->image, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, r->family, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, r->notes, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5,
                     r->created_ms ? r->created_ms : edv__store_now(stp));
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return 0;
  if ((rc & 0xff) == SQLITE_CONSTRAINT)
    return edv_error_set(err, EDV_EEXIST, "release '%s' already exists",
                         r->version);
  return edv__sq_fail(db, rc, err, "release put");
}

int edv__sq_release_get(edv_store *stp, const char *version,
                        edv__release_rec *out, edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      db, "SELECT " REL_COLS " FROM releases WHERE version = ?1", -1, &st,
      NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "release get");
  sqlite3_bind_text(st, 1, version, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    rel_row(st, out);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return edv_error_set(err, EDV_ENOTFOUND, "release '%s' does not exist",
                         version);
  return rc == SQLITE_ROW ? 0 : edv__sq_fail(db, rc, err, "release get");
}

int edv__sq_release_list(edv_store *stp, edv__release_fn fn, void *data,
                         edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  edv__release_rec r;
  int rc = sqlite3_prepare_v2(
      db, "SELECT " REL_COLS " FROM releases ORDER BY seq", -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "release list");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    rel_row(st, &r);
    if (fn(data, &r))
      break;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return 0;
  return edv__sq_fail(db, rc, err, "release list");
}
