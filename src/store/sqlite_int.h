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

/* The releases operations of the backend table (store.h). */
int edv__sq_release_put(edv_store *st, const edv__release_rec *rec,
                        edv_error *err);
int edv__sq_release_get(edv_store *st, const char *version,
                        edv__release_rec *out, edv_error *err);
int edv__sq_release_list(edv_store *st, edv__release_fn fn, void *data,
                         edv_error *err);

#endif /* EDV_STORE_SQLITE_INT_H */
