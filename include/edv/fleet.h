/*
 * edv/fleet.h - the fleet: the schools of one Google Cloud project, on a
 * caller's uv loop. What edvctl, edvd and any embedding program build on.
 *
 * A fleet holds the state store (edv.db in the state directory), the tiers
 * and the tenant state machine. Its operations answer with JSON documents
 * defined here once, so that `edvctl --format json`, the Management API and
 * an embedder see the same keys: times in RFC 3339 (UTC), money as numbers
 * rounded to cents, phases and step states as their upper-case names.
 *
 * The callback contract is the engine's (edv/engine.h): a function that
 * takes a callback returns 0 and calls it exactly once, later, from the
 * loop; or returns an edv_code, fills `err` and never calls it. An answer
 * is borrowed for the duration of the callback (json_object_get() it to
 * keep it). Everything runs on the fleet's loop thread.
 *
 * Long operations (create, delete, scale, apply, resume, retry, restore)
 * answer when they are over (the tenant READY, DELETED or FAILED; the
 * restore done), unless EDV_FLEET_ASYNC is given: then they answer once
 * the request is durable and the work has started, and the work goes on
 * while the fleet is open (events say how it ends; a fleet closed before
 * leaves it at a durable point, and any process opening the same store
 * resumes it with edv_tenant_resume()).
 */
#ifndef EDV_FLEET_H
#define EDV_FLEET_H

#include <stdint.h>

#include <json-c/json.h>
#include <uv.h>

#include "edv/config.h"
#include "edv/engine.h"
#include "edv/error.h"
#include "edv/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edv_fleet edv_fleet;

typedef struct edv_fleet_options {
  /* Required: calls go through it; its loop is the fleet's loop. */
  edv_engine *engine;
  /* The settings (domain, region, supernet, subnet_prefix,
   * dns.reserved_labels, state_dir, tiers_file; docs/config.md). Borrowed
   * while the fleet is open; NULL: defaults. */
  const edv_config *config;
  /* The directory of edv.db; NULL: config state_dir, else
   * $XDG_STATE_HOME/edv, else ~/.local/state/edv. Created 0700. */
  const char *state_dir;
  /* Who acts, for the journal ("edvctl", "edvd", your tool's name);
   * NULL: "libedv". */
  const char *actor;
  /* Tiers files tried after config tiers_file and ./tiers.json (NULL-ended;
   * the installed copy); NULL: none. */
  const char *const *tiers_fallbacks;
  /* The lease holder's name, unique per process; NULL: "ACTOR@host:pid". */
  const char *holder;
  /* How often observed states (health, certificates) are polled and the
   * first step retry delay, in ms; 0: 2000 each (the simulator's quick
   * clock wants 250). */
  uint64_t poll_ms;
  uint64_t retry_base_ms;
} edv_fleet_options;

/*
 * Opens the fleet: the store (created where none exists; an empty or
 * foreign file is refused, named, untouched), the tiers, the machine.
 * Nothing is called in the cloud. 0, or an edv_code with `err` filled.
 */
EDV_EXPORT int edv_fleet_open(const edv_fleet_options *opts, edv_fleet **out,
                              edv_error *err);

/*
 * Stops every run at a durable point (a stopped step resumes later),
 * makes every record durable and closes; `cb` runs once everything is
 * closed. edv_fleet_close(NULL, ...) does nothing.
 */
EDV_EXPORT void edv_fleet_close(edv_fleet *fleet, void (*cb)(void *data),
                                void *data);

EDV_EXPORT uv_loop_t *edv_fleet_loop(const edv_fleet *fleet);
EDV_EXPORT edv_engine *edv_fleet_engine(const edv_fleet *fleet);
/* The DNS domain tenants are served under ("edvirons.com"). */
EDV_EXPORT const char *edv_fleet_domain(const edv_fleet *fleet);

/*
 * On whose behalf the operations started from now on act, for the
 * journal: its lines then say "ACTOR:who" ("edvd:alice"). NULL or "": the
 * actor alone.
 */
EDV_EXPORT void edv_fleet_act_as(edv_fleet *fleet, const char *who);

/* An answer: `answer` is NULL when `err` is set. */
typedef void (*edv_fleet_cb)(void *data, json_object *answer,
                             const edv_error *err);

/* Flags of the operations. */
#define EDV_FLEET_ASYNC   0x1u /* answer once started (see above) */
#define EDV_FLEET_OBSERVE 0x2u /* get: add the live state ("observed") */
#define EDV_FLEET_NOW     0x4u /* reserved for deletion without grace */

/* ---- Events --------------------------------------------------------------*/

typedef enum {
  EDV_EVENT_PHASE = 0,      /* the tenant's phase changed */
  EDV_EVENT_STEP_START = 1, /* a step started (or resumed) */
  EDV_EVENT_STEP_DONE = 2,  /* a step verified its resources */
  EDV_EVENT_STEP_RETRY = 3, /* a step failed transiently; retrying */
  EDV_EVENT_STEP_FAIL = 4,  /* a step failed for good */
  EDV_EVENT_CALL = 5,       /* a mutating API call completed */
  EDV_EVENT_INFO = 6,       /* something worth showing */
  EDV_EVENT_END = 7,        /* a run ended (see phase and error) */
  EDV_EVENT_PLAN = 8,       /* reserved (a plan's calls are its answer) */
} edv_event_kind;

typedef struct edv_event {
  edv_event_kind kind;
  const char *tenant;     /* tenant id ("@platform": the platform) */
  const char *step;       /* step name, or NULL */
  const char *title;      /* step title, or NULL */
  const char *phase;      /* the tenant's phase now ("READY") */
  const char *message;    /* what happened, or NULL */
  const edv_error *error; /* for FAIL/RETRY/END, or NULL */
  uint64_t elapsed_ms;    /* step events: since the step started */
} edv_event;

typedef void (*edv_event_cb)(void *data, const edv_event *ev);

typedef struct edv_fleet_sub edv_fleet_sub;

/* Calls `cb` for every event of every tenant until unsubscribed (or the
 * fleet closes). NULL on ENOMEM. */
EDV_EXPORT edv_fleet_sub *edv_fleet_subscribe(edv_fleet *fleet, edv_event_cb cb,
                                              void *data);
/* Safe from inside an event callback. */
EDV_EXPORT void edv_fleet_unsubscribe(edv_fleet_sub *sub);

/* "READY" for EDV_EVENT_STEP_DONE and the like: the kind's name. */
EDV_EXPORT const char *edv_event_kind_name(edv_event_kind kind);

/*
 * The steps of a plan, in order: the i-th step's name and title (0), or -1
 * past the last. `platform`: the platform's plan instead of a tenant's.
 */
EDV_EXPORT int edv_fleet_step(int platform, unsigned i, const char **name,
                              const char **title);

/* ---- Tenants -------------------------------------------------------------
 *
 * The tenant document ("view"): id, slug, display_name, tier, region,
 * ops_ssh, phase, generation, url, urls, last_error, created, updated,
 * run ({direction} while driven here, else null), max_users, app_access,
 * features, monthly_cost_estimate ({currency, vm, disk, sql, sql_storage,
 * backups, shared, total}), resources (the names of its resources), steps
 * ([{name, title, state, attempt, request_id, operation, resource, error,
 * started, finished}]) and, with EDV_FLEET_OBSERVE, observed (the live
 * state of its VM, database and certificate). docs/api.md lists each key.
 */

/*
 * Records a new tenant and provisions it. `spec`: {id, slug, display_name,
 * tier, region[, ops_ssh]} (borrowed); each field is checked (an error
 * names it), the region against the Compute API and the hostnames against
 * the DNS zone (a record EdVirons did not create: EDV_EEXIST naming it).
 * An identical spec for an existing id is accepted (idempotent); a
 * different one is EDV_EEXIST. Answers with the tenant document.
 */
EDV_EXPORT int edv_tenant_create(edv_fleet *fleet, json_object *spec,
                                 unsigned flags, edv_fleet_cb cb, void *data,
                                 edv_error *err);

/* The tenant document (EDV_ENOTFOUND for an unknown id). */
EDV_EXPORT int edv_tenant_get(edv_fleet *fleet, const char *id, unsigned flags,
                              edv_fleet_cb cb, void *data, edv_error *err);

typedef struct edv_tenant_query {
  const char *tier;       /* only this tier, or NULL */
  const char *state;      /* only this phase ("READY", any case), or NULL;
                             DELETED tenants are listed only when asked */
  const char *region;     /* only this region, or NULL */
  const char *page_token; /* from a previous answer, or NULL */
  unsigned limit;         /* tenants per page; 0: 100; at most 1000 */
} edv_tenant_query;

/* {"tenants": [documents without steps and resources], "next_page_token":
 * "..."|null}, ordered by id. `query` may be NULL. Errors name the query
 * field ("limit: ..."). */
EDV_EXPORT int edv_tenant_list(edv_fleet *fleet, const edv_tenant_query *query,
                               edv_fleet_cb cb, void *data, edv_error *err);

/*
 * Changes a tenant: `patch` holds any of display_name, tier, ops_ssh
 * (borrowed; other keys are refused, naming them). A new tier scales (see
 * edv_tenant_scale); the others are recorded and applied by a run.
 */
EDV_EXPORT int edv_tenant_update(edv_fleet *fleet, const char *id,
                                 json_object *patch, unsigned flags,
                                 edv_fleet_cb cb, void *data, edv_error *err);

/* Moves the tenant to `tier` (disks only grow) and drives it there. */
EDV_EXPORT int edv_tenant_scale(edv_fleet *fleet, const char *id,
                                const char *tier, unsigned flags,
                                edv_fleet_cb cb, void *data, edv_error *err);

/*
 * Deletes the tenant's resources (only those EdVirons created) and
 * records it DELETED. A tenant being provisioned is stopped first.
 */
EDV_EXPORT int edv_tenant_delete(edv_fleet *fleet, const char *id,
                                 unsigned flags, edv_fleet_cb cb, void *data,
                                 edv_error *err);

/*
 * The plan: what a reconcile of the tenant would do now, read-only (no
 * write, no lease, no event to subscribers). Answers with {"tenant",
 * "tier", "phase", "in_sync" (no change and no drift), "changes": [{step,
 * title, action ("create", "update" or "delete"), method, path}] (each
 * call a run would make), "drift": [{step, title, note, repaired}] (what
 * differs from the spec; repaired: a change of the same step puts it
 * back, else it needs a manual change), "not_checked": [{step, title,
 * note}] (what a plan cannot observe)}, each list in plan order.
 * EDV_ENOTFOUND for a DELETED tenant.
 */
EDV_EXPORT int edv_tenant_plan(edv_fleet *fleet, const char *id,
                               edv_fleet_cb cb, void *data, edv_error *err);

/* Carries out the plan: reconciles the tenant now (drives it up, or down
 * when it is being deleted). Answers with the tenant document. */
EDV_EXPORT int edv_tenant_apply(edv_fleet *fleet, const char *id,
                                unsigned flags, edv_fleet_cb cb, void *data,
                                edv_error *err);

/* Resumes a tenant left PENDING, PROVISIONING or DEPROVISIONING in the
 * direction it was going; id NULL: every such tenant, answering
 * {"tenants": [documents]}. */
EDV_EXPORT int edv_tenant_resume(edv_fleet *fleet, const char *id,
                                 unsigned flags, edv_fleet_cb cb, void *data,
                                 edv_error *err);

/* Runs a FAILED tenant again in the direction it failed. */
EDV_EXPORT int edv_tenant_retry(edv_fleet *fleet, const char *id,
                                unsigned flags, edv_fleet_cb cb, void *data,
                                edv_error *err);

/* The tenant's journal: {"tenant", "events": [{seq, time, actor, event,
 * step, detail, operation, duration_ms, error}], "next_after": N|null},
 * oldest first, after sequence `after`, at most `limit` (0: 100). */
EDV_EXPORT int edv_tenant_events(edv_fleet *fleet, const char *id,
                                 int64_t after, unsigned limit, edv_fleet_cb cb,
                                 void *data, edv_error *err);

/* ---- Day 2 -------------------------------------------------------------
 *
 * Backups and restores are jobs: one per tenant at a time (Cloud SQL runs
 * one operation per instance), none while a run drives the tenant, and no
 * run starts while one is on (EDV_EBUSY). Each is journalled: "backup" /
 * "restore" at its end (detail "backup_id=B result=DONE|FAILED|UNKNOWN"),
 * after "backup.start" / "restore.start" (detail "backup_id=B tag=T").
 * A fleet closed while waiting journals "backup.interrupted" (the
 * operation goes on in Cloud SQL); the next fleet on the same store follows
 * it again on its first day-2 call for that tenant.
 *
 * The job document: {tenant, kind ("backup"|"restore"), instance,
 * backup_id, operation, status, started, replayed}. With EDV_FLEET_ASYNC
 * it answers once the operation started (status as Cloud SQL said:
 * "PENDING", "RUNNING"); without, once it is over (status "DONE"; a
 * failed operation is EDV_EOPFAILED).
 */

/*
 * Takes an on-demand backup of the tenant's Cloud SQL instance (a READY
 * tenant: else EDV_EPRECONDITION). `description`: at most 200 characters,
 * no control characters; NULL or "": "ACTOR on-demand backup[ by WHO]"
 * (edv_fleet_act_as). `idempotency_key` (1..255 printable ASCII, or NULL):
 * a request repeated with it is answered with the first one's job
 * ("replayed": true, status "RUNNING" or "DONE") instead of starting
 * another; the same key with other arguments is EDV_ECONFLICT (an error
 * about the key starts with "Idempotency-Key"). Answers with the job
 * document.
 */
EDV_EXPORT int edv_tenant_backup(edv_fleet *fleet, const char *id,
                                 const char *description,
                                 const char *idempotency_key, unsigned flags,
                                 edv_fleet_cb cb, void *data, edv_error *err);

/* The backup runs of the tenant's instance, newest first (one page of
 * 100): {tenant, instance, backups: [{id, status, type, description,
 * enqueued, started, ended, error}], more, operation ({kind, backup_id,
 * operation, started} of the job in flight, or null)}. */
EDV_EXPORT int edv_tenant_backups(edv_fleet *fleet, const char *id,
                                  edv_fleet_cb cb, void *data, edv_error *err);

/*
 * Restores the tenant's instance from its backup run `backup_id` (1..19
 * digits; one of this tenant's instance, else EDV_ENOTFOUND; SUCCESSFUL,
 * else EDV_EPRECONDITION). An error about it names the field "backup_id".
 * `idempotency_key` as for edv_tenant_backup. Answers with the job
 * document.
 */
EDV_EXPORT int edv_tenant_restore(edv_fleet *fleet, const char *id,
                                  const char *backup_id,
                                  const char *idempotency_key, unsigned flags,
                                  edv_fleet_cb cb, void *data, edv_error *err);

/*
 * Restores the tenant's database to `point_in_time` (RFC 3339, e.g.
 * "2026-12-07T09:30:00Z"; else EDV_EINVAL naming the field
 * "point_in_time"): Cloud SQL clones the instance as it was then into the
 * tenant's next instance name, the tenant switches to it (its VM's
 * database settings, firewall), and the old instance is deleted. A time
 * outside the instance's recovery window (Cloud SQL's point-in-time
 * recovery: its transaction log retention, not before its creation, not
 * in the future) is EDV_EINVAL naming the window's earliest and latest
 * times, and changes nothing. Durable: an interrupted restore (a killed
 * process) is finished by calling this again with the same time; another
 * time is EDV_ECONFLICT until then. Answers with {tenant, kind
 * "point_in_time_restore", point_in_time, from_instance, instance,
 * status, resumed, started} once done (status DONE), or once recorded
 * with EDV_FLEET_ASYNC (RUNNING).
 */
EDV_EXPORT int edv_tenant_restore_to_time(edv_fleet *fleet, const char *id,
                                          const char *point_in_time,
                                          unsigned flags, edv_fleet_cb cb,
                                          void *data, edv_error *err);

/*
 * Backup health: lists the backup runs of every READY tenant's Cloud SQL
 * instance and records the end of its last SUCCESSFUL one; a tenant with
 * none in 26 hours (and older than that) is stale. A tenant turning stale
 * raises an alert (an "ALERT" error log line, journal "backup.stale";
 * "backup.fresh" when it recovers). The results show in the tenant
 * document ("backup": {last_successful, age_s, stale}, null before the
 * first check) and in edv_fleet_status ("backups"). Answers with
 * {checked, stale_after_s, stale, tenants: [{tenant, last_successful,
 * age_s, stale}]}.
 */
EDV_EXPORT int edv_fleet_backup_check(edv_fleet *fleet, edv_fleet_cb cb,
                                      void *data, edv_error *err);

/*
 * The tenant's health over the last `window` ("90s", "15m", "1h": 60 s to
 * 24 h; NULL: "1h"; else EDV_EINVAL naming the field "window") from the
 * probes' custom metrics in Cloud Monitoring: {tenant, phase, window_s,
 * health: {points, availability, last_probe, last_up}, latency_ms:
 * {points, p50, p95, last}, operation (as in edv_tenant_backups), steps:
 * [{name, duration_ms}]}. The Monitoring part is kept 5 s per tenant and
 * window.
 */
EDV_EXPORT int edv_tenant_metrics(edv_fleet *fleet, const char *id,
                                  const char *window, edv_fleet_cb cb,
                                  void *data, edv_error *err);

/* ---- The fleet as a whole ----------------------------------------------*/

/*
 * Creates (or checks and repairs) what every tenant shares: the VPC, the
 * private services range, the load balancer, the DNS zone, the alert
 * policies. Tenants wait for it. Answers {"project", "phase",
 * "last_error", "steps"} when it is READY (or FAILED: the error).
 */
EDV_EXPORT int edv_fleet_platform_init(edv_fleet *fleet, unsigned flags,
                                       edv_fleet_cb cb, void *data,
                                       edv_error *err);

/*
 * {tenants: {total (not DELETED), by_phase: {PHASE: n}, by_tier: {tier:
 * {PHASE: n}}}, failed: [{id, tier, error}] (at most 100), runs_in_flight,
 * runs: [{tenant, direction}] (driven by this fleet), platform (its phase,
 * or "MISSING"), apis: {api: {calls, attempts, errors, retries,
 * rate_limited, throttle_waits, in_flight}} (this engine's figures)}.
 * From the store alone (no cloud call).
 */
EDV_EXPORT int edv_fleet_status(edv_fleet *fleet, edv_fleet_cb cb, void *data,
                                edv_error *err);

/*
 * Monthly list-price estimates from the tiers file: {currency, basis,
 * tenants (not DELETED), tiers: [{tier, tenants, per_tenant: {vm, disk,
 * sql, sql_storage, backups, shared, total}, monthly_total}],
 * monthly_total}; shared platform costs are split across the fleet (the
 * tiers file's planning figure while it is empty). No cloud call.
 */
EDV_EXPORT int edv_fleet_costs(edv_fleet *fleet, edv_fleet_cb cb, void *data,
                               edv_error *err);

/*
 * Capacity: {as_of, age_s, fresh, max_age_s, per_tenant: [{tier,
 * machine_type, vcpus, instances, disk_gb, disk_quota, in_use_addresses,
 * subnets, sql_instances}], regions: [{region, error, quotas: [{metric,
 * limit, usage}], tenants_that_fit: [{tier, fits, binding}]}], subnets:
 * {supernet, prefix, total, used, free}, url_map: {name, host_rules,
 * path_matchers} or null, sql: {instances, limit} or null}. From a
 * snapshot at most 30 s old, refreshed at most every 5 s and only when the
 * fleet changed (one regions.get per region, one urlMaps.get, the pages of
 * sqladmin instances.list, one machineTypes.get per machine type ever).
 */
EDV_EXPORT int edv_fleet_capacity(edv_fleet *fleet, edv_fleet_cb cb, void *data,
                                  edv_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EDV_FLEET_H */
