/*
 * fleet/dayops.h - the day-2 operations of the fleet (edv/fleet.h "Day 2"
 * and "The fleet as a whole"), shared by their files:
 *
 *   dayops.c          backups and restores as jobs (one per tenant), their
 *                     journal lines, idempotency keys, recovery after a
 *                     restart; the list of a tenant's backups
 *   dayops_metrics.c  a tenant's recent health from Cloud Monitoring
 *   dayops_fleet.c    status and costs of the fleet
 *   dayops_capacity.c quotas and how many tenants still fit
 *
 * Their state hangs on the fleet (f->dayops). Calls and operation waits
 * in flight hold a reference to it, so that their callbacks, which may
 * come after the fleet is closed (the engine cancels them), find it: they
 * then answer their caller with EDV_ECANCELED and touch nothing else.
 */
#ifndef EDV_FLEET_DAYOPS_H
#define EDV_FLEET_DAYOPS_H

#include <stdint.h>

#include <json-c/json.h>

#include "edv/engine.h"
#include "fleet/fleet.h"

/* edvd's probe metrics (heal.c writes them, dayops_metrics.c reads them)
 * and their tenant label: custom metrics carry the tenant as metric label
 * edv_tenant (label keys take no '-'; docs/operations.md, "Alerts"). */
#define EDV_METRIC_UP           "custom.googleapis.com/edvirons/tenant_up"
#define EDV_METRIC_LATENCY      "custom.googleapis.com/edvirons/probe_latency_ms"
#define EDV_METRIC_TENANT_LABEL "edv_tenant"

/* One Cloud API call of a day-2 operation. */
#define EDV_DAYOPS_CALL_MS 20000u

typedef struct edv__job edv__job;
typedef struct edv__pitr edv__pitr;
typedef struct edv__cap_state edv__cap_state;

typedef struct edv__dayops {
  edv_fleet *f;           /* NULL once the fleet is gone */
  unsigned refs;          /* the fleet's, and one per call or job in flight */
  edv__job *jobs;         /* backups and restores in flight */
  edv__pitr *pitrs;       /* point-in-time restores in flight */
  json_object *backups;   /* dayops_backups.c: tenant -> {last, stale} */
  json_object *recovered; /* tenants whose journal was looked at */
  json_object *cache;     /* key -> {"exp": loop ms, "v": value} */
  edv__cap_state *cap;    /* dayops_capacity.c */
} edv__dayops;

/* The fleet's day-2 state, created on first use; NULL on ENOMEM. */
edv__dayops *edv__dayops_of(edv_fleet *f);
/* A reference for a call in flight; the release frees the state once the
 * fleet is gone and nothing holds it. */
void edv__dayops_ref(edv__dayops *o);
void edv__dayops_unref(edv__dayops *o);

/* 1 once the fleet stops or closes: no new job, no restore started. */
int edv__dayops_closing(const edv_fleet *f);

/* The fleet is closing: stops waiting for operations (each journalled as
 * interrupted, followed again by the next process). From
 * edv_fleet_close(), before the machine closes. */
void edv__dayops_stop(edv_fleet *f);

/* 1 when a backup or restore of `tenant` runs in this fleet (a run must
 * not start meanwhile: edv__fleet_drive_tenant refuses it). */
int edv__dayops_busy(edv_fleet *f, const char *tenant);

/* Follows again a backup or restore of `tenant` a previous process
 * started and never saw end (once per tenant and fleet). */
void edv__dayops_recover(edv_fleet *f, const char *tenant);

/* {"kind", "backup_id", "operation", "started"} of the job of `tenant` in
 * flight, or NULL (JSON null). */
json_object *edv__dayops_job_view(edv_fleet *f, const char *tenant);

/* A tenant a day-2 operation may concern: a valid id, recorded, not
 * DELETED; else EDV_ENOTFOUND naming it. Recovers its job (above). */
int edv__dayops_tenant(edv_fleet *f, const char *id, edv__tenant_rec *rec,
                       edv_error *err);

/* Submits one call (no body: NULL) with the day-2 timeout. */
int edv__dayops_submit(edv_fleet *f, edv_api api, const char *method,
                       const char *path, json_object *body, const char *label,
                       edv_response_cb cb, void *data);

/* Answers `doc` (taken; NULL: ENOMEM) to `cb` from the loop, soon. */
int edv__dayops_answer_later(edv_fleet *f, json_object *doc, edv_fleet_cb cb,
                             void *data, edv_error *err);

/* A short-lived cache of answers that cost Google Cloud calls (tenant
 * metrics here; edvd's observed tenant views): the value under `key` when
 * younger than its TTL (a new reference), or NULL. At most 1024 entries. */
json_object *edv__dayops_cache_get(edv_fleet *f, const char *key);
/* Caches `v` (a reference is taken) for ttl_ms. */
void edv__dayops_cache_put(edv_fleet *f, const char *key, json_object *v,
                           uint64_t ttl_ms);

/* dayops_fleet.c: the documents of edv_fleet_status and edv_fleet_costs,
 * now (for a caller that adds its own keys); NULL with `err` filled. */
json_object *edv__dayops_status(edv_fleet *f, edv_error *err);
json_object *edv__dayops_costs(edv_fleet *f, edv_error *err);

/* dayops_pitr.c: 1 while a point-in-time restore of `tenant` runs in this
 * fleet (active), and holds it against other runs (holds: all but while
 * its own run rewires the tenant). */
int edv__pitr_active(edv_fleet *f, const char *tenant);
int edv__pitr_holds(edv_fleet *f, const char *tenant);
/* Stops waiting for operations: the fleet closes (the restores stay
 * unfinished in the journal). */
void edv__pitr_stop(edv_fleet *f);

/* dayops_backups.c: no successful backup for this long is stale, unless
 * the configuration says otherwise (backup.stale_after_s). */
#define EDV_BACKUP_STALE_S (26 * 3600)
/* The fleet's threshold: backup.stale_after_s, default EDV_BACKUP_STALE_S. */
int64_t edv__backup_stale_s(edv_fleet *f);
/* 1 when a tenant made at created_ms whose last successful backup ended
 * at last_ms (-1: none) has none in stale_s seconds at now_ms. */
int edv__backup_stale(int64_t last_ms, int64_t created_ms, int64_t now_ms,
                      int64_t stale_s);
/* The last check's {last_successful, age_s, stale} of `tenant`, or NULL
 * (not checked); and {checked, stale_after_s, stale, tenants: [...]}. */
json_object *edv__dayops_backup_view(edv_fleet *f, const char *tenant);
json_object *edv__dayops_backups_view(edv_fleet *f);

/* dayops_capacity.c: frees the capacity state (the fleet is gone). */
void edv__dayops_cap_free(edv__dayops *o);

#endif /* EDV_FLEET_DAYOPS_H */
