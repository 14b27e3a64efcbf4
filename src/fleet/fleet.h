/*
 * fleet/fleet.h - the inside of the public fleet (edv/fleet.h), for the
 * fleet module's files. The fleet module is libedv's top layer: it holds the
 * store, the tiers and the tenant machine, and the product's operations on
 * them, so that edvctl, edvd and embedders write none of it.
 *
 *   fleet.c   open/close, events and their subscribers, the runs in flight
 *   env.c     the state directory, the store in it, the tiers file
 *   tenants.c create, get, list, update, scale, delete, apply, resume,
 *             retry, events
 *   plan.c    the plan of a tenant (read-only) and its document
 *   view.c    the one JSON view of a tenant and of its parts (and of a
 *             release)
 *   releases.c releases: create (the image checked), list
 *   update.c  fleet updates: a release rolled out in waves, durable
 *   dayops.c  backups, restore, metrics; status, costs, capacity
 *   programs.c what programs need beside an open fleet (edv/tiers.h, the
 *             "For programs" part of edv/fleet.h): tiers document, spec
 *             check, the state directory's tenants, audit
 *   state.c   the store itself: export, import, snapshots
 *   rebuild.c the store rebuilt from the cloud alone
 *   recon.c   the reconciler: resume pass, drift.c, heal.c (recon.h)
 */
#ifndef EDV_FLEET_FLEET_H
#define EDV_FLEET_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <uv.h>

#include "edv/config.h"
#include "edv/fleet.h"
#include "store/store.h"
#include "tenant/machine.h"
#include "tenant/tiers.h"

/* ---- env.c: what a fleet is opened from ------------------------------- */

/* The state directory: config state_dir, else $XDG_STATE_HOME/edv, else
 * $HOME/.local/state/edv. Returns 0, or EDV_EINVAL when it does not fit. */
int edv__env_state_dir(const edv_config *cfg, char *buf, size_t size,
                       edv_error *err);

/* mkdir -p, creating missing directories 0700. 0 or -1 (errno set). */
int edv__env_mkdirs(const char *path);

/*
 * Loads the tiers: config tiers_file, else ./tiers.json, else the first
 * readable of `fallbacks` (NULL-ended; the installed and source-tree
 * copies), else the last fallback (for its error message).
 */
int edv__env_load_tiers(const edv_config *cfg, const char *const *fallbacks,
                        edv__tiers **out, edv_error *err);

/* Opens (creating) DIR/edv.db. */
int edv__env_open_store(const char *dir, edv_store **out, edv_error *err);

/* Fills the machine options the configuration decides (domain, region,
 * supernet, subnet_prefix, reserved labels, lease TTL); the caller sets
 * the rest. */
void edv__env_fleet_opts(const edv_config *cfg, edv__fleet_opts *o);

/* ---- fleet.c: the fleet object ---------------------------------------- */

/* A caller waiting for a run's end (a long operation without ASYNC). */
typedef struct edv__run_waiter {
  struct edv__run_waiter *next;
  edv_fleet_cb cb;
  void *data;
} edv__run_waiter;

/* A tenant this fleet drives. */
typedef struct edv__fleet_run {
  struct edv__fleet_run *next;
  char id[EDV_STORE_ID_SZ];
  edv__direction dir;
  int then_down; /* a delete asked while going up: drive down at the end */
  edv__run_waiter *waiters;
} edv__fleet_run;

/* A plan in progress (plan.c). */
typedef struct edv__plan edv__plan;

struct edv_fleet_sub {
  struct edv_fleet_sub *next;
  edv_fleet *fleet;
  edv_event_cb cb;
  void *data;
  int gone; /* unsubscribed during a dispatch: freed after it */
};

struct edv_fleet {
  uv_loop_t *loop;
  edv_engine *engine;
  const edv_config *cfg;
  char actor[EDV_STORE_SMALL_SZ];
  char who[64]; /* edv_fleet_act_as: on whose behalf ("alice") */
  char state_dir[512];
  edv_store *store;
  edv__tiers *tiers;
  edv__fleet *machine;
  edv__fleet_run *runs;
  unsigned nruns;
  edv__plan *plans; /* tenants being planned (plan.c) */
  edv_fleet_sub *subs;
  /* Regions the Compute API confirmed (they do not disappear). */
  char regions[16][48];
  unsigned nregions;
  /* Answers waiting for the next loop turn (edv__fleet_answer_later). */
  struct edv__later *later;
  unsigned dispatching; /* nesting of event dispatches */
  int stopping;         /* edv__fleet_stop_all: no new run */
  int closing;
  void (*close_cb)(void *data);
  void *close_data;
  /* The state rebuild in flight (rebuild.c), or NULL. */
  void *rebuild;
  /* Day-2 operations in flight (dayops.c), or NULL. */
  void *dayops;
  void (*dayops_free)(edv_fleet *f);
  /* edv_fleet_options.cloud_clock (edv__fleet_cloud_now). */
  int64_t (*cloud_clock)(void *data);
  void *cloud_clock_data;
  /* The reconciler (recon.h), or NULL before its first use. */
  struct edv__recon *recon;
  /* The fleet updates driven here (update.c), or NULL. */
  void *updates;
};

/* Stops every run at a durable point and starts no other (a shutdown);
 * their waiters get EDV_ECANCELED. */
void edv__fleet_stop_all(edv_fleet *f);

/* Deletion's grace (tenant.delete_grace_s, default 7 days), in ms. */
int64_t edv__fleet_grace_ms(const edv_fleet *f);
/* When a SUSPENDED tenant's grace ends (ms since the epoch): it counts
 * from its suspension (the row's last write). -1 for other phases. */
int64_t edv__fleet_purge_after(const edv_fleet *f, const edv__tenant_rec *rec);

/* The run of `id` in this fleet, or NULL. */
edv__fleet_run *edv__fleet_run_find(edv_fleet *f, const char *id);

/*
 * Drives `id` in `dir`, tracking the run; `cb` (may be NULL) gets the
 * tenant document when the run ends. Joining a run already going the same
 * way only adds the waiter. EDV_EBUSY naming the holder when another
 * process holds the tenant's lease.
 */
int edv__fleet_drive_tenant(edv_fleet *f, const char *id, edv__direction dir,
                            edv_fleet_cb cb, void *data, edv_error *err);

/*
 * Answers `cb` from the loop's next turn (the callback contract: never
 * inside the call) with `doc` (taken with a new reference; may be NULL)
 * or `e` (copied; may be NULL). 0, or EDV_ENOMEM with `err` filled.
 */
int edv__fleet_answer_later(edv_fleet *f, edv_fleet_cb cb, void *data,
                            json_object *doc, const edv_error *e,
                            edv_error *err);
/* The same with the tenant document of `id` (or its error), read now. */
int edv__fleet_answer_tenant_later(edv_fleet *f, const char *id,
                                   edv_fleet_cb cb, void *data, edv_error *err);

/* Answers `cb` with the tenant document of `id` (or its error), now. */
void edv__fleet_answer_tenant(edv_fleet *f, const char *id, edv_fleet_cb cb,
                              void *data);

/* Appends a journal line through the machine's group commit (durable at
 * the end of this loop turn, in order with the runs' records). */
int edv__fleet_journal(edv_fleet *f, const edv__journal_rec *j);

/* Reads a tenant record; EDV_ENOTFOUND (naming the id) for none or for the
 * platform's pseudo-tenant. */
int edv__fleet_tenant_rec(edv_fleet *f, const char *id, edv__tenant_rec *rec,
                          edv_error *err);

/* ---- programs.c: beside an open fleet ------------------------------- */

/* The platform's phase ("READY", ...), or "MISSING" when it has no record
 * (status, the reconcile pass). */
const char *edv__fleet_platform_phase(edv_fleet *f);

/* ---- plan.c: plans --------------------------------------------------- */

/* An event of the machine: 1 when it belongs to a tenant being planned
 * (then the plan has it, and nobody else), else 0. */
int edv__plan_event(edv_fleet *f, const edv__event *ev);

/* ---- view.c: the one JSON view ---------------------------------------- */

/* A DELETED tenant's final backup, as its sql_instance step recorded it
 * (tenant/machine.h): its name and expiry ("" unknown). 0, or -1 when
 * there is none on record. */
int edv__fleet_final_backup(edv_fleet *f, const char *id, char *name,
                            size_t nsize, char *expiry, size_t esize);

/* What a tenant document holds beyond its record. */
#define EDV_VIEW_STEPS     0x1u /* "steps" */
#define EDV_VIEW_RESOURCES 0x2u /* "resources" */

/* "2026-12-07T09:43:09.123Z" from a wall-clock time in ms. */
void edv__view_time(int64_t ms, char *buf, size_t size);
/* RFC 3339 in UTC ("2026-11-27T21:32:22.123Z") to ms since the epoch, or
 * -1. */
int64_t edv__view_time_parse(const char *t);
/* The time as a JSON string, or null when ms is 0. */
json_object *edv__view_time_json(int64_t ms);

/* The cloud's time in ms (edv_fleet_options.cloud_clock, else the
 * system's): what Cloud Monitoring's points and intervals are stamped
 * with. */
int64_t edv__fleet_cloud_now(const edv_fleet *f);
/* A JSON string, or null for NULL and "" (a document has no "" values). */
json_object *edv__view_str(const char *s);
/* An amount of money: a JSON number rounded to cents ("48.92"). */
json_object *edv__view_money(double v);

/* A monthly cost estimate: {[currency,] vm, disk, sql, sql_storage,
 * backups, shared, total}. New object. */
json_object *edv__view_cost(const edv__tier_cost *cost, int currency);

/* The tenant document (edv/fleet.h) of `rec`. New object. */
json_object *edv__view_tenant(edv_fleet *f, const edv__tenant_rec *rec,
                              unsigned what);

/* The release document {version, image, image_family, notes, created,
 * current} of `rec` (`current`: it is the fleet's current release). */
json_object *edv__view_release(const edv__release_rec *rec, int current);

/* The incident document (edv/fleet.h, "Alert incidents") of `rec`. New
 * object. */
json_object *edv__view_incident(const edv__incident_rec *rec);

/* incidents.c: the open incidents, {"total": N, "by_alert": [{alert,
 * severity, count}]} (the "open" of the incident list, the
 * "incidents_open" of the status). New object; the store's error leaves
 * it empty. */
json_object *edv__incidents_open_view(edv_fleet *f);

/* The update document (edv/fleet.h, "Fleet updates") of `r` and its `n`
 * tenant rows in `nwaves` waves; `tenants`: with the "tenants" list. */
json_object *edv__view_update(const edv__update_rec *r,
                              const edv__update_tenant_rec *t, size_t n,
                              unsigned nwaves, int tenants);

/* ---- update.c: fleet updates ------------------------------------------ */

/* The fleet closes: every update driver here stops (its waiters get
 * EDV_ECANCELED; its tenants in flight stop with their runs). */
void edv__update_stop(edv_fleet *f);
/* The fleet is freed: what is left of the drivers forgets it. */
void edv__update_free(edv_fleet *f);

/* ---- releases.c -------------------------------------------------------- */

/* 1 when `v` is a release version ("1.4.0", "2.0.0-rc.1"), else 0. */
int edv__release_version_ok(const char *v);

/* ---- state.c, rebuild.c: the store itself ----------------------------- */

/* 0 when the store holds no tenant record (nor, with journal_too, a
 * journal line); else EDV_ECONFLICT naming edv.db. */
int edv__state_empty(edv_fleet *f, int journal_too, edv_error *err);

/* The export document of edv_fleet_state_export(), read in one
 * transaction (a consistent image). New object in *out. */
int edv__state_export_doc(edv_store *st, unsigned flags, json_object **out,
                          edv_error *err);

/*
 * Loads an export document (edv_fleet_state_import) into `st` in one
 * transaction, every field checked against the tiers, the domain and the
 * supernet; nothing written on an error. The caller checks the store is
 * empty. *ntenants (may be NULL) gets the number of records.
 */
int edv__state_import_doc(edv_store *st, const edv__tiers *tiers,
                          const char *domain, const char *supernet,
                          json_object *doc, unsigned *ntenants, edv_error *err);

/* The fleet closes: a rebuild in flight answers EDV_ECANCELED once its
 * calls end, writing nothing. */
void edv__state_rebuild_stop(edv_fleet *f);

/* Reads a JSON document from a file (at most 64 MiB); errors name it. */
int edv__state_read_json(const char *path, json_object **out, edv_error *err);

#endif /* EDV_FLEET_FLEET_H */
