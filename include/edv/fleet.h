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

#include <stddef.h>
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
  /* The cloud's time in ms since the epoch, for what is written to and
   * asked of Cloud Monitoring (the probes' metric points, the intervals
   * of tenant metrics); NULL: the system clock. An embedded simulator's
   * clock, which can be moved on, is edv_sim_clock with the edv_sim as
   * `cloud_clock_data`. */
  int64_t (*cloud_clock)(void *data);
  void *cloud_clock_data;
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
#define EDV_FLEET_NOW     0x4u /* delete: no grace, purge at once */
#define EDV_FLEET_LATEST_BACKUP                                                \
  0x8u /* move: fail over from the newest backup kept outside the region */

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
 * final_backup ({name, expires} of a DELETED tenant's final backup, else
 * null), purge_after (a SUSPENDED tenant's end of grace, else null), run
 * ({direction} while driven here, else null), max_users, app_access, features,
 * monthly_cost_estimate ({currency, vm, disk, sql, sql_storage, backups,
 * shared, total}), resources (the names of its resources), steps
 * ([{name, title, state, attempt, request_id, operation, resource, error,
 * started, finished}]), release (the release it runs, "none": the stock
 * image), release_observed (see "Releases") and, with EDV_FLEET_OBSERVE,
 * observed (the live state of its VM, database and certificate, and the
 * app version it reports). docs/api.md lists each key.
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
 * Deletion is two-phase. A tenant that has been READY is first suspended
 * (SUSPENDING, then SUSPENDED): its VM stopped, its host rule taken out of
 * the load balancer's URL map, its DNS A records removed; nothing else
 * touched. The document's purge_after says when its grace
 * (tenant.delete_grace_s, default 7 days) ends: then the reconciler's pass
 * purges it; edv_tenant_undelete() brings it back before. Deleting a
 * SUSPENDED tenant again answers its document. With EDV_FLEET_NOW (and for
 * a tenant never READY), the purge is at once:
 * deletes the tenant's resources (only those EdVirons created) and
 * records it DELETED. A tenant being provisioned is stopped first; one
 * being updated (a run going up after it was READY) or with a backup or
 * restore running is refused (EDV_EBUSY, naming why). Its
 * Cloud SQL instance goes with a final backup kept for the tier's
 * backup.final_backup_days (at least 30): the document's final_backup,
 * what edv_tenant_recover() restores.
 */
EDV_EXPORT int edv_tenant_delete(edv_fleet *fleet, const char *id,
                                 unsigned flags, edv_fleet_cb cb, void *data,
                                 edv_error *err);

/*
 * Brings a tenant in its deletion's grace (SUSPENDING, SUSPENDED, or
 * FAILED while being suspended) back to READY: drives it up, which starts
 * its VM and puts its host rule and DNS records back; its Cloud SQL
 * instance and data are the same. EDV_EPRECONDITION for a tenant in any
 * other phase. Answers with the tenant document.
 */
EDV_EXPORT int edv_tenant_undelete(edv_fleet *fleet, const char *id,
                                   unsigned flags, edv_fleet_cb cb, void *data,
                                   edv_error *err);

/*
 * Recreates a DELETED tenant from the final backup its deletion left
 * (the document's final_backup): the same id, slug, hostnames, tier and
 * region, and the Cloud SQL data as of the deletion (restored onto the
 * new instance before the app starts; the database user gets a new
 * password). EDV_EPRECONDITION, naming why, when the tenant is not
 * DELETED or its final backup is missing, expired or gone. Answers with
 * the tenant document.
 */
EDV_EXPORT int edv_tenant_recover(edv_fleet *fleet, const char *id,
                                  unsigned flags, edv_fleet_cb cb, void *data,
                                  edv_error *err);

/*
 * Moves a READY tenant to `region` (a region of the project, not its
 * own): its old region's resources (load balancer backend, instance
 * group, VM, subnet, Cloud SQL instance: deleted with a final backup) are
 * retired, then brought up in `region` with the database restored from
 * that final backup; the hostnames, DNS and the load balancer's IP stay.
 * The move is recorded before anything is done and every run of the
 * tenant carries it on until it ends (crash-safe; `tenant resume`).
 * EDV_EINVAL naming field 'region' (unknown, malformed or the tenant's
 * own), EDV_ECONFLICT when the tenant is not READY. Answers with the
 * tenant document.
 *
 * The tenant's own region must answer (its final backup is taken there):
 * EDV_EPRECONDITION, saying so, when it is DOWN or cannot be reached.
 * With EDV_FLEET_LATEST_BACKUP (a failover) it need not: the tenant comes
 * up in `region` from the newest SUCCESSFUL backup run of its Cloud SQL
 * instance kept outside the old region (EDV_EPRECONDITION when there is
 * none; what was written since is lost), and the old region's resources
 * are recorded and retired by the reconcile pass once the region answers
 * again (EDV_ECONFLICT for another move until then).
 */
EDV_EXPORT int edv_tenant_move(edv_fleet *fleet, const char *id,
                               const char *region, unsigned flags,
                               edv_fleet_cb cb, void *data, edv_error *err);

/*
 * Changes the release a READY tenant runs (a release recorded with
 * edvctl release create; `version` names it), without downtime: a new VM
 * of the release's image, with every label and metadata item of the
 * serving one, joins the tenant's instance group; once the load balancer
 * reports it HEALTHY it serves and becomes the tenant's release, and the
 * old VM drains out of the group and is deleted (the snapshot schedule
 * goes to the new boot disk). Not HEALTHY within release.health_timeout_s
 * (default 600): the new VM is removed and deleted, the tenant stays on
 * its old VM and release (rolled back), and the answer is the error
 * EDV_EOPFAILED, "release V: the new VM did not become HEALTHY in time
 * (health state: S); rolled back: ..."; the tenant is then FAILED until
 * its next run (edv_tenant_apply, the reconcile pass) finds it READY
 * again. Success answers the tenant document (its "release" the new
 * one). The change is durable before anything is done; a run cut short
 * resumes it (edv_tenant_resume, the same call again) with exactly one
 * VM left in the group. EDV_EINVAL naming field 'release' for an unknown
 * version or the one the tenant already runs; EDV_ECONFLICT for a tenant
 * not READY, moving, or with another release change pending; EDV_EBUSY
 * with a run, backup or restore in flight.
 */
EDV_EXPORT int edv_tenant_set_release(edv_fleet *fleet, const char *id,
                                      const char *version, unsigned flags,
                                      edv_fleet_cb cb, void *data,
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

/* ---- Releases ------------------------------------------------------------
 *
 * A release names what a tenant VM runs: an app version and the tenant
 * image that holds it (/opt/edvirons/bin/edvirons-app), an image of the
 * project of config release.image_project (default: the fleet's). The
 * release document: {version, image ("projects/P/global/images/I", the
 * image every VM of the release boots), image_family (what it was given
 * as, or null), notes, created, current}. The fleet's current release is
 * the newest one: a new tenant records it and its VM boots its image
 * (with none defined, the stock Debian 12 image and release "none"). The
 * tenant document's "release" is what it records; with EDV_FLEET_OBSERVE,
 * "release_observed" is the app version its VM reports (the guest
 * attribute edvirons/app-version its startup script writes; "none" from a
 * stock image; null when not reported). docs/operations.md, "Releases".
 */

/*
 * Records a release. `spec`: {version, image | image_family[, notes]}
 * (borrowed). version: MAJOR.MINOR.PATCH[-PRERELEASE] in lower case, at
 * most 40 characters. The image is checked through the Compute API
 * (images.get / images.getFromFamily) before anything is recorded: one
 * missing, not READY, or DEPRECATED/OBSOLETE/DELETED is EDV_EINVAL naming
 * the field; a family is resolved to its newest image now. A version that
 * exists is EDV_EEXIST. Answers with the release document.
 */
EDV_EXPORT int edv_release_create(edv_fleet *fleet, json_object *spec,
                                  edv_fleet_cb cb, void *data, edv_error *err);

/* {"releases": [release documents, oldest first], "current": VERSION|null}
 * from the store alone. */
EDV_EXPORT int edv_release_list(edv_fleet *fleet, edv_fleet_cb cb, void *data,
                                edv_error *err);

/* ---- Fleet updates: a release rolled out in waves -------------------------
 *
 * An update moves the selected tenants (READY, of the given tiers, not on
 * the release yet) to a release, wave by wave: at most max_parallel
 * tenants at a time; a wave ends when each of its tenants is updated or
 * failed, then its tenants must stay healthy (READY on the release, VM
 * RUNNING, the app reporting the release) for the soak time before the
 * next wave starts. More failures than max_failures halt it (HALTED,
 * with a status saying why). It is recorded in the store before anything
 * is done and every change of it is written at once, so a process killed
 * in the middle leaves it where it was: any process of the same store
 * carries it on (edv_fleet_update_carry; edvd does on its own).
 * docs/operations.md, "Rolling out a release".
 *
 * The update document: {id, release, state (RUNNING, PAUSED, HALTED,
 * ABORTED, DONE, ROLLING_BACK, ROLLED_BACK), status, waves (the spec),
 * wave (the current one, from 1), waves_total, soak_s, soak_until (or
 * null), max_parallel, max_failures, tiers, created, updated, counts
 * ({PENDING, UPDATING, SOAKING, DONE, FAILED, ROLLED_BACK}), per_wave
 * ([{wave, tenants, counts}]), tenants ([{id, wave, state, from, to,
 * error, started, finished}]; "from"/"to": a release, "none" the stock
 * image)}. The list leaves "tenants" out.
 */

/*
 * Starts an update. `spec`: {release (required), waves ("1,10%,50%,100%":
 * cumulative targets, each a count or a percentage of the selected
 * tenants, at most 20; default "1,100%"; tenants past the last target are
 * left out), soak_s (0..86400, default 60), max_parallel (1..100, default
 * 5), max_failures (0..10000, default 0), tiers (an array of tier names;
 * default every tier)}; an error names the field. EDV_ECONFLICT while
 * another update is RUNNING, PAUSED, HALTED or ROLLING_BACK;
 * EDV_EPRECONDITION when no tenant is selected. Answers the update
 * document when it stops (DONE, HALTED, PAUSED, ABORTED), or once
 * recorded with EDV_FLEET_ASYNC (it goes on while the fleet is open).
 */
EDV_EXPORT int edv_fleet_update_start(edv_fleet *fleet, json_object *spec,
                                      unsigned flags, edv_fleet_cb cb,
                                      void *data, edv_error *err);

/* The update document of `id`, or of the newest update when id is NULL
 * (EDV_ENOTFOUND when there is none). */
EDV_EXPORT int edv_fleet_update_get(edv_fleet *fleet, const char *id,
                                    edv_fleet_cb cb, void *data,
                                    edv_error *err);

/* {"updates": [update documents without tenants, oldest first]}. */
EDV_EXPORT int edv_fleet_update_list(edv_fleet *fleet, edv_fleet_cb cb,
                                     void *data, edv_error *err);

/*
 * Acts on update `id` (NULL: the newest): "pause" (a RUNNING one: no
 * tenant starts, those in flight finish), "resume" (PAUSED or HALTED:
 * RUNNING again, the FAILED tenants of the current wave retried; RUNNING
 * or ROLLING_BACK: carried on here, after a crash), "abort" (RUNNING,
 * PAUSED or HALTED: stops for good, those in flight finish) or "rollback"
 * (the newest update, not ROLLED_BACK: each tenant it moved goes back to
 * the release it ran before, the same way, newest wave first). Another
 * action is EDV_EINVAL naming field 'action'; one the state does not
 * allow EDV_ECONFLICT saying the state. EDV_EBUSY when another process
 * drives the update (its lease). Answers with the update document: at
 * once for pause and abort and with EDV_FLEET_ASYNC, else when it stops.
 */
EDV_EXPORT int edv_fleet_update_act(edv_fleet *fleet, const char *id,
                                    const char *action, unsigned flags,
                                    edv_fleet_cb cb, void *data,
                                    edv_error *err);

/* Carries on every update left RUNNING or ROLLING_BACK that nobody drives
 * (a process killed meanwhile): what edvd does when it starts and on each
 * reconcile pass. How many it took up. */
EDV_EXPORT unsigned edv_fleet_update_carry(edv_fleet *fleet);

/* ---- Alert incidents ------------------------------------------------------
 *
 * Cloud Monitoring's incidents, as its webhook notifications (schema
 * 1.2) report them to edvd (POST /api/v1/alerts/notifications): kept in
 * the store by incident_id, an open then a closed notification updating
 * one row, a closed incident never reopened by a late "open". Closed
 * incidents are kept 90 days after their closed notification came, and
 * at most EDV_INCIDENTS_MAX rows in all (the oldest closed ones go first;
 * open ones are always kept).
 *
 * The tenant of an incident: the user label "edv-tenant" of its
 * metadata, else its metric label edv_tenant, else its resource label
 * backend_target_name of the form "edv-ID-be", else none (a fleet-level
 * incident: "tenant" null).
 *
 * The incident document: {incident_id, tenant, state ("open"|"closed"),
 * alert (the policy's user label "edv-alert"), severity ("Critical",
 * "Error", "Warning", "No severity"), policy, summary, started, ended
 * (RFC 3339 UTC, ended null while open), observed_value, threshold_value,
 * url, metric_type, resource_type, labels ({resource, metric, user}: the
 * notification's labels), received}. Absent values are null.
 * docs/api.md, "Alert incidents".
 */

#define EDV_INCIDENTS_MAX         10000u
#define EDV_INCIDENTS_KEEP_CLOSED (90 * 86400) /* seconds */

/*
 * Records one notification: `payload` is the webhook's JSON body
 * (borrowed): {"version": "1.2", "incident": {incident_id, state,
 * started_at, ended_at, summary, url, observed_value, threshold_value,
 * resource {type, labels}, metric {type, labels}, metadata {user_labels},
 * policy_name, policy_user_labels, severity, ...}} (other fields are
 * ignored). A payload that is not valid is EDV_EINVAL naming the field
 * ("field 'incident.state' ...") and records nothing. Answers the
 * incident document as recorded.
 */
EDV_EXPORT int edv_alert_notification(edv_fleet *fleet, json_object *payload,
                                      edv_fleet_cb cb, void *data,
                                      edv_error *err);

typedef struct edv_incident_query {
  const char *state;      /* "open", "closed", "all" or NULL (all) */
  const char *tenant;     /* only this tenant's, or NULL */
  const char *page_token; /* from a previous answer, or NULL */
  unsigned limit;         /* incidents per page; 0: 100; at most 1000 */
} edv_incident_query;

/* {"incidents": [incident documents, newest started first],
 * "next_page_token": "..."|null, "open": {"total": N, "by_alert":
 * [{alert, severity, count}]}} ("open" counts every open incident, the
 * filters aside; edv_fleet_status has it as "incidents_open"). `query`
 * may be NULL. Errors name the query field. */
EDV_EXPORT int edv_incidents_list(edv_fleet *fleet,
                                  const edv_incident_query *query,
                                  edv_fleet_cb cb, void *data, edv_error *err);

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

/* ---- For programs: the fleet's surroundings ---------------------------
 *
 * What a program (edvctl, edvd) needs beside an open fleet: a read-only
 * look at its store and the isolation audit (the state directory, the
 * reconcile pass and stopping are in "Reconciler" below).
 */

/*
 * The tenants recorded in the store of the state directory `dir`, read
 * without a fleet, an engine or a lease (shell completion): *out a new
 * array of {id, region, phase}, ordered by id, DELETED ones included. No
 * store there: an empty array (nothing is created).
 */
EDV_EXPORT int edv_state_tenants(const char *dir, json_object **out,
                                 edv_error *err);

/*
 * Proves tenant isolation from the project's live network (three
 * read-only list calls of the engine's project, every page): answers
 * {"tenants": [{id, vm, ip, database, db_ip, ops_ssh}], "findings":
 * [{kind, tenant, from_tenant, rule, source, ports, detail}], "checked":
 * {firewalls, vms, databases}} (docs/cli.md, `edvctl infra audit`).
 */
EDV_EXPORT int edv_network_audit(edv_engine *engine, edv_fleet_cb cb,
                                 void *data, edv_error *err);

/* ---- The store itself: export, import, rebuild, snapshots ---------------
 *
 * docs/operations.md, "Lost edv.db". The store (edv.db) holds no secret;
 * these files are written 0600 all the same.
 */

/* Flags of the state operations: EDV_STATE_JOURNAL, the export holds the
 * journal too; EDV_STATE_FORCE, a rebuild into a store that holds records,
 * after a copy of it beside edv.db. */
#define EDV_STATE_JOURNAL 0x100u
#define EDV_STATE_FORCE   0x200u

/*
 * Writes the fleet's records as one JSON document to `path` (0600,
 * replaced atomically), read in one transaction: {format "edv-state",
 * version 2, releases: [{version, image, image_family, notes, created_ms}]
 * (oldest first), tenants: [{id, slug, tier, spec, phase, generation,
 * last_error, created_ms, updated_ms, release ("" none), subnet (CIDR or
 * null), steps:
 * [{step, state, attempt, request_id, op_name, op_kind, resource, error,
 * started_ms, finished_ms}]}] (the platform's pseudo-tenant "@platform"
 * included), journal (with EDV_STATE_JOURNAL): [{seq, tenant, time_ms,
 * actor, event, step, api_call, operation, duration_ms, error}]}. Leases
 * and idempotency keys are transient and left out. Synchronous (the local
 * store only): 0 or an edv_code with `err` filled (EDV_EBUSY: another
 * process held the store's write lock past its busy timeout; try again).
 */
EDV_EXPORT int edv_fleet_state_export(edv_fleet *fleet, const char *path,
                                      unsigned flags, edv_error *err);

/*
 * Loads an export into the fleet's store, which must be empty (no record
 * and no journal line: else EDV_ECONFLICT naming the file), in one
 * transaction: every field is checked (an error names it,
 * "tenants[2].spec: field 'tier' ..."; a tenant's spec as for a create,
 * its tier against the tiers file) and nothing is written unless all of
 * it is. Exporting again gives the same document. *ntenants (may be NULL)
 * gets the number of records. Synchronous.
 */
EDV_EXPORT int edv_fleet_state_import(edv_fleet *fleet, const char *path,
                                      unsigned *ntenants, edv_error *err);

/*
 * Rebuilds the store from the cloud alone: the tenants are found by their
 * VMs' labels (edv-managed, edv-tenant), the tier by the edv-tier label of
 * the Cloud SQL instance (else the VM's), their slug and display name read
 * back from the VM's startup script, the region from its zone, the subnet's
 * range from the subnetwork, the SQL name generation from the Cloud SQL
 * instance's name, ops_ssh from the IAP firewall rule, the database
 * password's version from Secret Manager (its identity, never its value);
 * the platform from the VPC's marker. Resources without our labels or
 * markers are ignored. Each tenant is recorded READY with every step DONE,
 * so `tenant plan` then shows what differs, if anything. The store must hold
 * no tenant record (EDV_ECONFLICT) unless EDV_STATE_FORCE: then edv.db is
 * first copied to edv.db.bak-TIME.db (never replacing one) and its records
 * (not its journal) dropped. Nothing in the cloud changes. Answers
 * {"tenants": [{id, tier, region, subnet, generation}], "skipped": [{id,
 * reason}] (resources of a tenant that has no VM), "platform" ("READY" or
 * "MISSING"), "backup" (the copy's path, or null)}. Every record is written
 * in one transaction at the end: a rebuild killed, failed or cancelled (the
 * fleet closed meanwhile: EDV_ECANCELED) leaves the store as it was. One at
 * a time (EDV_EBUSY).
 */
EDV_EXPORT int edv_fleet_state_rebuild(edv_fleet *fleet, unsigned flags,
                                       edv_fleet_cb cb, void *data,
                                       edv_error *err);

/* The end of a snapshot: err NULL on success. */
typedef void (*edv_fleet_done_cb)(void *data, const edv_error *err);

/*
 * Copies edv.db to `path` (0600, replaced atomically) with SQLite's online
 * backup API, in a uv work thread on a connection of its own: the loop
 * and the fleet's writes go on meanwhile, and the copy is one moment's
 * consistent image, a store the fleet opens (rename it edv.db in a state
 * directory). `cb` runs once from the loop, even if the fleet was closed
 * meanwhile.
 */
EDV_EXPORT int edv_fleet_snapshot(edv_fleet *fleet, const char *path,
                                  edv_fleet_done_cb cb, void *data,
                                  edv_error *err);

/* "DIR/edv-YYYYMMDDTHHMMSSZ.db" for a time in ms since the epoch (UTC):
 * the name edv_fleet_snapshot_prune() knows. 0 or EDV_EINVAL (too small). */
EDV_EXPORT int edv_fleet_snapshot_name(const char *dir, int64_t time_ms,
                                       char *buf, size_t size);

/* Removes the oldest snapshots named so in `dir` beyond the newest `keep`;
 * other files are left alone. */
EDV_EXPORT int edv_fleet_snapshot_prune(const char *dir, unsigned keep,
                                        edv_error *err);

/* ---- Reconciler (drift, heal, passes) -----------------------------------
 *
 * What keeps a fleet as its specs say while a service (edvd) runs: the
 * resume pass (tenants left PENDING, PROVISIONING or DEPROVISIONING are
 * driven again), the drift pass (a fixed number of filtered list calls for
 * the whole fleet; READY tenants whose resources are missing or changed
 * are driven again, with a back-off when that does not fix them; orphans,
 * resources of ours for no live tenant, are reported and deleted only when
 * asked) and the health probes (GET https://ID.DOMAIN/health of every
 * READY tenant; a VM unhealthy for heal_after probes in a row is reset,
 * at most heal_max_per_hour times an hour; results written as Cloud
 * Monitoring custom metrics). docs/operations.md describes each.
 *
 * The fleet runs no timer: the embedder calls each pass when it wants
 * (edvd: on its server.*_interval_s timers). The passes' state and figures
 * live on the fleet; journal lines are written as "reconciler" and
 * "healer". A pass in flight when the fleet closes stops at once.
 */

typedef struct edv_reconciler_options {
  int delete_orphans;         /* 1: delete orphans (the narrow rules of
                                 docs/operations.md); 0: report only */
  uint64_t orphan_grace_ms;   /* an orphan's age before it may go */
  unsigned heal_after;        /* bad probes in a row before a reset
                                 (0: 3) */
  unsigned heal_max_per_hour; /* resets per tenant per hour (0: none) */
  uint64_t probe_timeout_ms;  /* a probe's deadline (0: 10000) */
  /* Base URL probes go to instead (the Host header names the tenant's
   * hostname; a simulator's data plane), or NULL. */
  const char *probe_via;
  /* How often the embedder runs each pass, for the status document only. */
  uint64_t reconcile_interval_ms, drift_interval_ms, health_interval_ms;
  /* Called with one JSON line ({time, who, role, method, path, tenant,
   * result}, borrowed) for every orphan deletion asked; NULL: none. */
  void (*audit)(void *data, json_object *line);
  void *audit_data;
} edv_reconciler_options;

/* Sets the reconciler's options (copied). Until then: report orphans
 * only, after 1 h; reset after 3 bad probes, 3 times an hour at most;
 * probes of 10 s. 0, or EDV_EINVAL naming the field. */
EDV_EXPORT int edv_fleet_reconciler_set(edv_fleet *fleet,
                                        const edv_reconciler_options *opts,
                                        edv_error *err);

/* Flags of edv_fleet_reconcile, beside EDV_FLEET_ASYNC. */
#define EDV_PASS_DRIFT    0x10u /* a drift pass too, after the resume pass */
#define EDV_PASS_PLATFORM 0x20u /* platform not READY: drive it up instead */

/*
 * One resume pass, now (POST /api/infrastructure/reconcile, `edvctl infra
 * reconcile`): drives every interrupted tenant nobody drives (PENDING,
 * PROVISIONING, UPDATING, DEPROVISIONING) and forgets idempotency keys
 * older than a day. Nothing while the platform is being driven or is not
 * READY (with EDV_PASS_PLATFORM: drives it up instead). Answers
 * {"resumed": N, "runs_in_flight": N, "platform": PHASE|"MISSING"} once the
 * runs it started ended, or at once with EDV_FLEET_ASYNC (the runs go on;
 * events tell their end); `cb` may be NULL. 0, or an edv_code with `err`
 * filled when the platform's run could not start (EDV_EBUSY: another
 * process holds it) or on ENOMEM.
 */
EDV_EXPORT int edv_fleet_reconcile(edv_fleet *fleet, unsigned flags,
                                   edv_fleet_cb cb, void *data, edv_error *err);

/* Starts a drift pass unless one is in flight or the platform is not
 * READY; 0, or -1 on ENOMEM. */
EDV_EXPORT int edv_fleet_drift_pass(edv_fleet *fleet);

/* Starts a round of health probes (a tenant still being probed is left
 * out of it). */
EDV_EXPORT void edv_fleet_heal_pass(edv_fleet *fleet);

/* The reconciler's figures (a new object; NULL on ENOMEM): {interval_s,
 * passes, last_pass, last_pass_duration_ms, last_pass_resumed,
 * drift_detection, drift_interval_s, drift_passes, drift_repairs,
 * drift_last_calls, drift_last_calls_by_kind, drift_unresolved,
 * delete_orphans, orphans_deleted, health_interval_s, health_probes,
 * unhealthy_probes, heal_resets, degraded_alerts, tenants_healthy,
 * tenants_unhealthy, metric_writes, metric_write_errors, orphans};
 * docs/api.md ("reconciler") lists each. */
EDV_EXPORT json_object *edv_fleet_reconciler_status(edv_fleet *fleet);

/* The same figures and the store's group commits as Prometheus text
 * (malloc'd; NULL on ENOMEM). */
EDV_EXPORT char *edv_fleet_reconciler_metrics(edv_fleet *fleet);

/* ---- Quick looks (no cloud call, no callback) -------------------------*/

#define EDV_TENANT_ID_MAX       26          /* a tenant id's length, at most */
#define EDV_IDEMPOTENCY_KEY_MAX 255         /* an idempotency key's, at most */
#define EDV_PLATFORM_TENANT     "@platform" /* the platform's events */

/* The tenant document as the store has it now (no steps, resources or
 * observed state): for a program that must decide before it calls.
 * A new object, or NULL with `err` (EDV_ENOTFOUND for an unknown or
 * malformed id; a DELETED tenant is found). */
EDV_EXPORT json_object *edv_tenant_peek(edv_fleet *fleet, const char *id,
                                        edv_error *err);

/* The tenant's entity tag ("\"3f2a9c1b7e0d5a44\"", quotes included): it
 * changes whenever its spec, phase or generation does (HTTP's ETag and
 * If-Match). 0, or EDV_ENOTFOUND as edv_tenant_peek. */
EDV_EXPORT int edv_tenant_etag(edv_fleet *fleet, const char *id, char *buf,
                               size_t size, edv_error *err);

/* 1 while a backup or restore of the tenant runs (no run may start). */
EDV_EXPORT int edv_tenant_busy(edv_fleet *fleet, const char *id);

/*
 * An idempotency key for a create of `spec` (1..255 printable ASCII; NULL:
 * none): recorded with the request the first time; the same key with the
 * same spec (in any key order) again is 0 (the create, idempotent, gives
 * the same answer), with another spec EDV_ECONFLICT (the message starts
 * with "Idempotency-Key"). Keys are forgotten after a day
 * (edv_fleet_reconcile). A spec the create would refuse is 0.
 */
EDV_EXPORT int edv_tenant_create_key(edv_fleet *fleet, const char *key,
                                     json_object *spec, edv_error *err);

/* 0 when the store answers (a readiness check), else its error. */
EDV_EXPORT int edv_fleet_check(edv_fleet *fleet, edv_error *err);

/* A short-lived cache of answers on the fleet, for a program serving the
 * same costly answer to many callers: the value under `key` if younger
 * than its ttl (a new reference), else NULL; put takes a reference. */
EDV_EXPORT json_object *edv_fleet_cache_get(edv_fleet *fleet, const char *key);
EDV_EXPORT void edv_fleet_cache_put(edv_fleet *fleet, const char *key,
                                    json_object *value, uint64_t ttl_ms);

/* A wall-clock time (ms since the epoch) as every document writes it:
 * RFC 3339 in UTC with milliseconds ("2026-12-07T09:43:09.123Z"). */
EDV_EXPORT void edv_time_format(int64_t ms, char *buf, size_t size);

/* The i-th tenant phase's name ("PENDING", ..., "DELETED"), NULL past the
 * last. */
EDV_EXPORT const char *edv_phase_name(unsigned i);

/*
 * The state directory a fleet opens (edv_fleet_options.state_dir): `dir`
 * when given, else config state_dir, else $XDG_STATE_HOME/edv, else
 * ~/.local/state/edv; created (0700, with its parents) when missing, so
 * that a program may keep its own files beside edv.db. 0, or EDV_EINVAL /
 * EDV_EIO naming "state_dir".
 */
EDV_EXPORT int edv_fleet_state_dir(const edv_config *config, const char *dir,
                                   char *buf, size_t size, edv_error *err);

/* The runs the reconciler started (resumes, drift repairs, the platform
 * with EDV_PASS_PLATFORM) since the fleet opened. */
EDV_EXPORT uint64_t edv_fleet_reconciler_runs(const edv_fleet *fleet);

/* The runs this fleet drives now. */
EDV_EXPORT unsigned edv_fleet_runs(const edv_fleet *fleet);

/* Stops every run at a durable point and starts no other run or pass (a
 * service shutting down while requests end); close the fleet after. */
EDV_EXPORT void edv_fleet_stop(edv_fleet *fleet);

#ifdef __cplusplus
}
#endif
#endif /* EDV_FLEET_H */
