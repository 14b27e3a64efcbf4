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
