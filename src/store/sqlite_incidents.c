/*
 * sqlite_incidents.c - Monitoring's incidents in the SQLite store (schema 5
 * of store/sqlite.c): one row per incident_id, written when edvd receives
 * a notification (a few per incident), read by the incident lists, pruned
 * after each write (fleet/incidents.c). Each call prepares its statement
 * on the store's one connection, inside whatever transaction is open.
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_int.h"

#define INC_COLS                                                               \
  "incident_id, tenant, policy_name, alert, severity, state, started_ms,"      \
  " ended_ms, summary, observed_value, threshold_value, url, metric_type,"     \
  " resource_type, labels_json, received_ms"

static void inc_row(sqlite3_stmt *st, edv__incident_rec *r)
{
  memset(r, 0, sizeof(*r));
  edv__sq_text(st, 0, r->id, sizeof(r->id));
  edv__sq_text(st, 1, r->tenant, sizeof(r->tenant));
  edv__sq_text(st, 2, r->policy, sizeof(r->policy));
  edv__sq_text(st, 3, r->alert, sizeof(r->alert));
  edv__sq_text(st, 4, r->severity, sizeof(r->severity));
  edv__sq_text(st, 5, r->state, sizeof(r->state));
  r->started_ms = sqlite3_column_int64(st, 6);
  r->ended_ms = sqlite3_column_int64(st, 7);
  edv__sq_text(st, 8, r->summary, sizeof(r->summary));
  edv__sq_text(st, 9, r->observed, sizeof(r->observed));
  edv__sq_text(st, 10, r->threshold, sizeof(r->threshold));
  edv__sq_text(st, 11, r->url, sizeof(r->url));
  edv__sq_text(st, 12, r->metric_type, sizeof(r->metric_type));
  edv__sq_text(st, 13, r->resource_type, sizeof(r->resource_type));
  edv__sq_text(st, 14, r->labels_json, sizeof(r->labels_json));
  r->received_ms = sqlite3_column_int64(st, 15);
}

int edv__sq_incident_put(edv_store *stp, const edv__incident_rec *r,
                         edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  const char *text[] = {
      r->id,          r->tenant,        r->policy,     r->alert,
      r->severity,    r->state,         NULL,          NULL,
      r->summary,     r->observed,      r->threshold,  r->url,
      r->metric_type, r->resource_type, r->labels_json};
  /* A closed incident stays closed: a late "open" changes nothing. */
  int rc = sqlite3_prepare_v2(
      db,
      "INSERT INTO incidents (" INC_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
      " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
      " ON CONFLICT (incident_id) DO UPDATE SET tenant = excluded.tenant,"
      " policy_name = excluded.policy_name, alert = excluded.alert,"
      " severity = excluded.severity, state = excluded.state,"
      " started_ms = excluded.started_ms, ended_ms = excluded.ended_ms,"
      " summary = excluded.summary, observed_value = excluded.observed_value,"
      " threshold_value = excluded.threshold_value, url = excluded.url,"
      " metric_type = excluded.metric_type,"
      " resource_type = excluded.resource_type,"
      " labels_json = excluded.labels_json,"
      " received_ms = excluded.received_ms"
      " WHERE incidents.state = 'open' OR excluded.state = 'closed'",
      -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "incident put");
  for (int i = 0; i < (int)(sizeof(text) / sizeof(text[0])); i++)
    if (text[i])
      sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 7, r->started_ms);
  sqlite3_bind_int64(st, 8, r->ended_ms);
  sqlite3_bind_int64(st, 16, edv__store_now(stp));
  return edv__sq_write(db, st, err, "incident put");
}

int edv__sq_incident_get(edv_store *stp, const char *id, edv__incident_rec *out,
                         edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      db, "SELECT " INC_COLS " FROM incidents WHERE incident_id = ?1", -1, &st,
      NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "incident get");
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    inc_row(st, out);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return edv_error_set(err, EDV_ENOTFOUND, "incident '%.64s' is not known",
                         id);
  return rc == SQLITE_ROW ? 0 : edv__sq_fail(db, rc, err, "incident get");
}

int edv__sq_incident_list(edv_store *stp, const edv__incident_filter *f,
                          edv__incident_fn fn, void *data, int *more,
                          edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  edv__incident_rec r;
  unsigned limit = f->limit ? f->limit : 100, n = 0;
  int rc;

  if (limit > 1000)
    limit = 1000;
  rc = sqlite3_prepare_v2(
      db,
      "SELECT " INC_COLS " FROM incidents WHERE (?1 IS NULL OR state = ?1)"
      " AND (?2 IS NULL OR tenant = ?2)"
      " AND (?4 IS NULL OR (started_ms, incident_id) < (?3, ?4))"
      " ORDER BY started_ms DESC, incident_id DESC LIMIT ?5",
      -1, &st, NULL);
  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "incident list");
  if (f->state)
    sqlite3_bind_text(st, 1, f->state, -1, SQLITE_TRANSIENT);
  if (f->tenant)
    sqlite3_bind_text(st, 2, f->tenant, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, f->after_ms);
  if (f->after_id)
    sqlite3_bind_text(st, 4, f->after_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)limit + 1); /* one more: next? */
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n++ == limit) {
      if (more)
        *more = 1;
      break;
    }
    inc_row(st, &r);
    if (fn(data, &r))
      break;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return 0;
  return edv__sq_fail(db, rc, err, "incident list");
}

int edv__sq_incident_open_counts(edv_store *stp, edv__incident_count_fn fn,
                                 void *data, edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT alert, severity, count(*) FROM incidents"
                              " WHERE state = 'open' GROUP BY alert, severity"
                              " ORDER BY alert, severity",
                              -1, &st, NULL);
  char alert[EDV_STORE_SMALL_SZ], sev[EDV_STORE_STEP_SZ];

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "incident counts");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    edv__sq_text(st, 0, alert, sizeof(alert));
    edv__sq_text(st, 1, sev, sizeof(sev));
    if (fn(data, alert, sev, (uint64_t)sqlite3_column_int64(st, 2)))
      break;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return 0;
  return edv__sq_fail(db, rc, err, "incident counts");
}

int edv__sq_incident_prune(edv_store *stp, int64_t closed_before_ms,
                           unsigned max_rows, edv_error *err)
{
  sqlite3 *db = edv__sq_db(stp);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "DELETE FROM incidents WHERE state = 'closed'"
                              " AND received_ms < ?1",
                              -1, &st, NULL);

  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "incident prune");
  sqlite3_bind_int64(st, 1, closed_before_ms);
  if ((rc = edv__sq_write(db, st, err, "incident prune")))
    return rc;
  rc = sqlite3_prepare_v2(
      db,
      "DELETE FROM incidents WHERE incident_id IN (SELECT incident_id FROM"
      " incidents WHERE state = 'closed' ORDER BY received_ms, incident_id"
      " LIMIT max(0, (SELECT count(*) FROM incidents) - ?1))",
      -1, &st, NULL);
  if (rc != SQLITE_OK)
    return edv__sq_fail(db, rc, err, "incident prune");
  sqlite3_bind_int64(st, 1, max_rows);
  return edv__sq_write(db, st, err, "incident prune");
}
