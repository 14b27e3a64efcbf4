/*
 * machine.h - the tenant state machine: a DAG of idempotent, resumable
 * steps, driven for many tenants at once on one uv loop.
 *
 * A fleet (edv__fleet) owns what every tenant shares: the engine, the store
 * and its group-commit batch, the tiers, the platform's names and the
 * shared-resource writers. A run (edv__trun) drives one tenant in one
 * direction (provision: up; deprovision: down) while it holds the tenant's
 * lease. A step run (edv__srun) is one step of one tenant.
 *
 * The step contract (docs/architecture.md, "The tenant machine"): observe ->
 * diff -> act -> await -> verify. A step implementation observes with
 * edv__step_get(), acts with edv__step_act() (which commits the intent -- step,
 * attempt, requestId -- through the batch BEFORE the call goes out, then
 * records the operation's name, then awaits it), and ends with
 * edv__step_done(). A step whose observation already matches the desired state
 * calls edv__step_done() without acting, so re-running a finished tenant makes
 * no mutating call.
 *
 * After a crash, a step whose record says WAITING first awaits its recorded
 * operation (never re-issuing the call), and a step whose record says
 * INTENT observes again and, if it must act, re-issues the same call with
 * the same requestId, so Compute answers with the original operation.
 *
 * Steps keep what later steps need (the subnet's range, the database's
 * private IP, the backend service's link) in the run's `facts` object.
 * Every verify re-records its facts, so facts need no persistence: a resumed
 * run re-verifies its DONE steps cheaply (one GET each) before going on.
 */
#ifndef EDV_TENANT_MACHINE_H
#define EDV_TENANT_MACHINE_H

#include <stdint.h>

#include <json-c/json.h>
#include <uv.h>

#include "edv/engine.h"
#include "edv/error.h"
#include "common/json.h"
#include "edv/ops.h"
#include "store/batch.h"
#include "store/store.h"
#include "tenant/spec.h"
#include "tenant/tiers.h"
#include "tenant/vmswap.h"

typedef struct edv__fleet edv__fleet;
typedef struct edv__trun edv__trun;
typedef struct edv__srun edv__srun;

/* The pseudo-tenant that holds the platform's steps and lease. Its id
 * cannot collide with a tenant's (ids start with a letter). */
#define EDV_PLATFORM_ID "@platform"

/* ---- Events (progress for the CLI, journal for history) --------------- */

typedef enum {
  EDV_EV_PHASE = 0,      /* the tenant's phase changed */
  EDV_EV_STEP_START = 1, /* a step started (or resumed) */
  EDV_EV_STEP_DONE = 2,  /* a step verified its resources */
  EDV_EV_STEP_RETRY = 3, /* a step failed transiently; retrying */
  EDV_EV_STEP_FAIL = 4,  /* a step failed for good */
  EDV_EV_CALL = 5,       /* a mutating API call completed */
  EDV_EV_INFO = 6,       /* something worth showing (waiting for ...) */
  EDV_EV_END = 7,        /* the run ended (see phase and error) */
  EDV_EV_PLAN = 8,       /* planning: the mutating call a run would make */
} edv__event_kind;

typedef struct edv__event {
  edv__event_kind kind;
  const char *tenant;     /* tenant id */
  const char *step;       /* step name, or NULL */
  const char *title;      /* step title, or NULL */
  edv_tenant_phase phase; /* the tenant's phase now */
  const char *message;    /* what happened, or NULL */
  const edv_error *error; /* for FAIL/RETRY/END, or NULL */
  uint64_t elapsed_ms;    /* for step events: since the step started */
} edv__event;

typedef void (*edv__event_fn)(void *data, const edv__event *ev);

/* ---- The fleet ----------------------------------------------------------*/

typedef struct edv__fleet_opts {
  edv_engine *engine;        /* required; its loop is the fleet's loop */
  edv_store *store;          /* required */
  const edv__tiers *tiers;   /* required */
  const char *project;       /* NULL: the engine's project */
  const char *domain;        /* "edvirons.com" (no trailing dot needed) */
  const char *reserved;      /* dns.reserved_labels; NULL: the default */
  const char *backup_loc;    /* sql.backup_location; NULL: "auto" */
  const char *alert_email;   /* alerts.email: "a@x,b@y"; NULL/"none": none */
  const char *alert_webhook; /* alerts.webhook: https URLs; NULL/"none" */
  /* alerts.slack_channel, .slack_token_file, .pagerduty_key_file,
   * .intake_url, .intake_password_file; NULL: unset */
  const char *alert_slack_channel;
  const char *alert_slack_token_file;
  const char *alert_pagerduty_key_file;
  const char *alert_intake_url;
  const char *alert_intake_password_file;
  const char *region;        /* the platform's default region */
  const char *network;       /* tenant VPC, default "edv-tenants" */
  const char *supernet;      /* tenant subnets, default EDV_SUBNET_SUPERNET */
  unsigned subnet_prefix;    /* default EDV_SUBNET_PREFIX */
  const char *holder;        /* lease holder name; default "edv@host:pid" */
  const char *actor;         /* who acts, for the journal ("edvctl") */
  unsigned max_attempts;     /* per step before FAILED; default 8 */
  uint64_t retry_base_ms;    /* first step retry delay; default 2000 */
  uint64_t lease_ttl_ms;     /* default 60000 */
  uint64_t poll_ms;          /* observe-poll interval (health, cert state);
                                default 2000 */
  uint64_t ready_timeout_ms; /* health/certificate wait; default 30 min */
  edv__event_fn on_event;    /* optional progress sink */
  void *event_data;
} edv__fleet_opts;

int edv__fleet_new(uv_loop_t *loop, const edv__fleet_opts *opts,
                   edv__fleet **out, edv_error *err);
/* Stops every run (their records stay consistent: a stopped step is left
 * in INTENT or WAITING and resumes later), flushes the batch, closes. */
void edv__fleet_close(edv__fleet *f, void (*cb)(void *data), void *data);

edv_engine *edv__fleet_engine(const edv__fleet *f);
edv_store *edv__fleet_store(const edv__fleet *f);
/* The fleet's group commit (for its counters: /metrics). */
/* The fleet's group-commit batch (store/batch.h): other writers on the
 * loop (edvd's journal lines) queue there too, in order with the runs. */
edv__store_batch *edv__fleet_batch(const edv__fleet *f);
const edv__tiers *edv__fleet_tiers(const edv__fleet *f);
const char *edv__fleet_project(const edv__fleet *f);
const char *edv__fleet_domain(const edv__fleet *f);
/* The VPC of the tenants' subnets ("edv-tenants"). */
const char *edv__fleet_network(const edv__fleet *f);
/* The platform's region (its router, the platform plan's steps). */
const char *edv__fleet_region(const edv__fleet *f);
/* Its reserved hostname labels (edv__spec_check_reserved's list). */
const char *edv__fleet_reserved_labels(const edv__fleet *f);
/* Its sql.backup_location setting ("auto", "region" or a location). */
const char *edv__fleet_backup_location(const edv__fleet *f);
/* Where its alerts go: the notification channels its alerts.* settings
 * ask for (tenant/steps_alerts.c, edv__alert_targets_new). */
json_object *edv__fleet_alert_targets(const edv__fleet *f);
/* The channels opts' alerts.* settings ask for, as a JSON array
 * (tenant/steps_alerts.c); secrets are named by file, never read here. */
json_object *edv__alert_targets_new(const edv__fleet_opts *o);
/* Runs in flight. */
unsigned edv__fleet_active(const edv__fleet *f);
uv_loop_t *edv__fleet_loop(const edv__fleet *f);
uint64_t edv__fleet_poll_ms(const edv__fleet *f);
/* First poll delay for operation waits (0: the waiter's default). */
uint64_t edv__fleet_op_poll_ms(const edv__fleet *f);
/* The supernet tenant subnets come from, and their prefix length. */
const char *edv__fleet_supernet(const edv__fleet *f, unsigned *prefix);

/* The shared-resource writers (tenant/shared.c) hang here. */
typedef struct edv__shared edv__shared;
edv__shared *edv__fleet_shared(edv__fleet *f);

/* ---- Driving tenants --------------------------------------------------- */

typedef enum {
  EDV_DIR_UP = 0,   /* provision: PROVISIONING -> READY */
  EDV_DIR_DOWN = 1, /* deprovision: DEPROVISIONING -> DELETED */
  /* deletion's grace: SUSPENDING -> SUSPENDED. Only the EDV_STEP_SUSPEND
   * steps act (their `down`, which asks edv__srun_suspending()), in the
   * down order; the others are left as they are. Driving the tenant up
   * again undoes it. */
  EDV_DIR_SUSPEND = 2,
  /* After a failover move: the old region's resources (instance group,
   * snapshot schedule, VM, Cloud SQL instance with a final backup, subnet)
   * deleted once the region answers again, by the names of the old
   * region and SQL generation the "failover" record keeps. The tenant's
   * phase and step records are left as they are; the record says DONE at
   * the end. */
  EDV_DIR_RETIRE = 3,
} edv__direction;

/* "up", "down", "suspend", "retire"; and as in "being provisioned",
 * "being deprovisioned", "being suspended", "being retired". */
const char *edv__direction_name(edv__direction dir);
const char *edv__direction_done(edv__direction dir);

/* Called once when a run ends: the final phase and the error, if any. */
typedef void (*edv__run_done_fn)(void *data, const char *tenant,
                                 edv_tenant_phase phase, const edv_error *err);

/*
 * Records a new tenant (PENDING) after validating its spec against the
 * tiers, the domain and the reserved hostname labels. An identical spec for an
 * existing id is accepted (idempotent); a different one is EDV_EEXIST naming
 * the id. Nothing is created in the cloud.
 */
int edv__fleet_register(edv__fleet *f, const edv__tenant_spec *spec,
                        edv_error *err);

/*
 * Gives a DELETED tenant a new life from the final backup its deletion
 * recorded (the sql_instance step's kept record): in one transaction, the
 * sql_restore step's record names the backup (the run restores it onto
 * the new Cloud SQL instance, also when resumed after a crash) and the
 * tenant is PENDING again with its stored spec. `backup` receives the
 * backup's name. Nothing is called in the cloud; the caller drives the
 * tenant up. EDV_EPRECONDITION when the tenant is not DELETED or has no
 * final backup on record.
 */
int edv__fleet_recover(edv__fleet *f, const char *id, char *backup, size_t size,
                       edv_error *err);

/*
 * Region move (machine.c, "region move"): records that the READY tenant
 * `id` moves to `region` (the "move" step record, PENDING). Nothing is
 * called in the cloud; the caller drives the tenant, and every run of it
 * while the record is PENDING retires the region-bound resources (the
 * Cloud SQL instance with a final backup) then brings them up in the new
 * region from that backup. EDV_ECONFLICT when the tenant is not READY.
 */
#define EDV_MOVE_STEP "move"
/*
 * A failover move (`failover` non-NULL: the JSON the "failover" record
 * keeps, {"backup": backup run name, "from": old region, "generation":
 * old SQL generation, "cidr": old range}, written with the move in one
 * transaction): the way down retires only the global pieces (host rule,
 * backend service), the way up restores that backup run and allocates a
 * new range; the old region's resources wait, recorded, for
 * EDV_DIR_RETIRE (the reconcile pass, edv__fleet_retire_pending).
 */
#define EDV_FAILOVER_STEP "failover"
int edv__fleet_move(edv__fleet *f, const char *id, const char *region,
                    const char *failover, edv_error *err);
/* 1 when a failover of `id` left resources in its old region to retire
 * (the move is over, the "failover" record PENDING); `region` receives
 * the old region. 0 otherwise. */
int edv__fleet_retire_pending(edv__fleet *f, const char *id, char *region,
                              size_t size);
/* The ranges of subnets a failover left in a region to retire, fleet-wide
 * (at most `max`): a new subnet must not overlap them. How many. */
size_t edv__fleet_retiring_ranges(edv__fleet *f, edv_cidr *out, size_t max);
/*
 * Takes (or extends, when this fleet holds it) the lease named `key` for
 * something other than a tenant run ("@update:ID", a fleet update's
 * driver), taking it over at once from a dead holder of this host as a
 * run does. 0, or EDV_EBUSY with *cur (may be NULL) the lease in force.
 * edv__fleet_lease_drop gives it back.
 */
int edv__fleet_lease(edv__fleet *f, const char *key, edv__lease_rec *cur,
                     edv_error *err);
void edv__fleet_lease_drop(edv__fleet *f, const char *key);
/* The region a move of `id` in flight goes to: 0, or -1 when none. */
int edv__fleet_move_target(edv__fleet *f, const char *id, char *region,
                           size_t size);
/*
 * Release change (tenant/vmswap.h): records that the READY tenant `id`
 * goes to release `version` (in the store) by replacing its VM, the new
 * VM HEALTHY within `timeout_ms` or rolled back: its "vm_generation"
 * record PENDING. Nothing is called in the cloud; the caller drives the
 * tenant up. The same change already pending is 0 (idempotent);
 * EDV_ECONFLICT when the tenant is not READY or another change is
 * pending, EDV_EINVAL when it already runs `version`.
 */
int edv__fleet_set_release(edv__fleet *f, const char *id, const char *version,
                           uint64_t timeout_ms, edv_error *err);

/*
 * Turns the tenant's operations SSH (spec field ops_ssh: the IAP firewall
 * rule to its VM's tcp:22) on or off in its stored spec and journals it;
 * driving the tenant up then adds or removes the rule. EDV_ENOTFOUND for
 * an unknown id, EDV_ECONFLICT for a tenant being deleted or DELETED, and
 * nothing changes when the spec already says so (0).
 */
int edv__fleet_set_ops_ssh(edv__fleet *f, const char *tenant, int on,
                           edv_error *err);

/*
 * Drives the tenant in `dir` until READY / DELETED / FAILED. Takes the
 * tenant's lease (EDV_EBUSY naming the holder when another driver has it).
 * The callback runs exactly once unless this returns non-zero.
 */
int edv__fleet_drive(edv__fleet *f, const char *tenant, edv__direction dir,
                     edv__run_done_fn cb, void *data, edv_error *err);

/*
 * Plans the tenant: runs its provisioning plan read-only (observes every
 * resource; no mutating call, no store write, no lease) and reports, as
 * EDV_EV_PLAN events, each call a real run would make, and as INFO events
 * the drift it sees. A tenant in its deletion's grace (SUSPENDING,
 * SUSPENDED) is planned towards suspended instead: only the steps a
 * suspension touches (VM stopped, out of the URL map and DNS). The
 * callback runs once with the phase unchanged.
 */
int edv__fleet_plan(edv__fleet *f, const char *tenant, edv__run_done_fn cb,
                    void *data, edv_error *err);

/* 1 when the step runs in a plan (read-only). */
int edv__srun_planning(const edv__srun *sr);
/* 1 when the step runs in a deprovisioning (EDV_DIR_DOWN). */
int edv__srun_going_down(const edv__srun *sr);
/* 1 when the step runs in a suspension (EDV_DIR_SUSPEND). */
int edv__srun_suspending(const edv__srun *sr);

/* Stops a tenant's run at a durable point; its callback runs with
 * EDV_ECANCELED. */
void edv__fleet_stop(edv__fleet *f, const char *tenant);

/*
 * A delete asked for while the tenant's run goes up. Records the tenant
 * DEPROVISIONING (queued behind everything the run wrote before, so that
 * nothing can overwrite it) and stops the run, which then ends without a
 * final phase of its own (its callback gets EDV_ECANCELED). `done` runs
 * once the record is durable (err NULL) or could not be written: only then
 * may the delete be acknowledged, and a process that dies after it resumes
 * the tenant downwards. The caller drives the tenant down once the run
 * has ended. EDV_ENOTFOUND when no run of the tenant goes up (or it is
 * already writing its final phase).
 */
int edv__fleet_request_down(edv__fleet *f, const char *tenant,
                            void (*done)(void *data, const edv_error *err),
                            void *data);

/* ---- Step definitions --------------------------------------------------- */

#define EDV_STEP_MAX_DEPS 8

typedef struct edv__step_def {
  const char *name;                    /* "sql_instance": store key */
  const char *title;                   /* "Cloud SQL instance" */
  const char *deps[EDV_STEP_MAX_DEPS]; /* steps that must be done first
                                          (reversed for deprovisioning) */
  void (*up)(edv__srun *sr);           /* provision; ends with
                                          edv__step_done() */
  void (*down)(edv__srun *sr);         /* deprovision; may be NULL */
  unsigned flags;                      /* EDV_STEP_* */
} edv__step_def;

/* The step runs first in both directions (it observes what every other
 * step needs, e.g. the zone and the platform's facts) and its `up` is
 * also what runs when deprovisioning. */
#define EDV_STEP_FIRST 0x1u
/* The step's DONE record outlives the tenant's deletion (the others are
 * dropped with the DELETED phase): what it recorded there stays readable
 * while the tenant is DELETED, until its next life overwrites it. */
#define EDV_STEP_KEEP 0x2u
/* The step's `down` runs when the tenant is suspended (EDV_DIR_SUSPEND):
 * it takes the tenant off the air without destroying anything. */
#define EDV_STEP_SUSPEND 0x4u

/*
 * A deleted tenant's final backup, as the sql_instance step records it
 * (EDV_STEP_KEEP): "projects/P/backups/ID until 2027-01-06T10:00:00.000Z".
 * format writes it (expiry NULL: unknown); parse reads the backup's name
 * and its expiry ("" when unknown) back: 0, or -1 when `rec` is not such
 * a record.
 */
void edv__final_backup_format(char *buf, size_t size, const char *name,
                              const char *expiry);
int edv__final_backup_parse(const char *rec, char *name, size_t nsize,
                            char *expiry, size_t esize);

/* 1 when step `a` lists step `b` among its deps: b is made before a and,
 * deprovisioning, deleted after it (the only order either direction has;
 * tenant/kinds.h derives its kinds' order from it). */
int edv__step_needs(const edv__step_def *a, const char *b);

/* The tenant plan and the platform plan (tenant/steps_*.c). */
extern const edv__step_def edv__tenant_steps[];
extern const unsigned edv__tenant_nsteps;
extern const edv__step_def edv__platform_steps[];
extern const unsigned edv__platform_nsteps;

/* ---- What a step may use ------------------------------------------------ */

/* Step accessors. */
edv__fleet *edv__srun_fleet(const edv__srun *sr);
const edv__tenant_spec *edv__srun_spec(const edv__srun *sr);
const edv__tier *edv__srun_tier(const edv__srun *sr);
const char *edv__srun_project(const edv__srun *sr);
const char *edv__srun_region(const edv__srun *sr);
const char *edv__srun_zone(const edv__srun *sr);
const char *edv__srun_domain(const edv__srun *sr); /* no trailing dot */
const char *edv__srun_network(const edv__srun *sr);
uint32_t edv__srun_generation(const edv__srun *sr);
/* Where the tenant's Cloud SQL backups are kept (edv__sql_backup_location
 * of the fleet's setting and the tenant's region), or NULL: its region. */
const char *edv__srun_backup_location(const edv__srun *sr, char *buf,
                                      size_t size);
/* The run's facts: borrowed object, shared by the tenant's steps. */
json_object *edv__srun_facts(edv__srun *sr);
/* Shortcut: facts[key] as a string or NULL. */
const char *edv__srun_fact(edv__srun *sr, const char *key);
void edv__srun_set_fact(edv__srun *sr, const char *key, const char *value);
/* A per-step scratch integer (which stage a multi-act step is at). */
int *edv__srun_stage(edv__srun *sr);
/*
 * The `resource` of the step's durable record: the last act's "METHOD
 * path", or what the step put there with edv__srun_set_recorded(). Set
 * replaces it in memory; it becomes durable with the step's next record
 * write (DONE, FAILED, or the next act's intent, which replaces it again),
 * through the group commit, so in order after every earlier write of the
 * step. A resumed run loads it with the record. Never a secret.
 */
const char *edv__srun_recorded(const edv__srun *sr);
void edv__srun_set_recorded(edv__srun *sr, const char *what);
/* 1 when the step's durable record says DONE: it completed in an earlier
 * run (and nothing of this run has replaced the record yet). */
int edv__srun_recorded_done(const edv__srun *sr);
/* A per-step context pointer for step helpers: set replaces (and frees,
 * with its free function) the previous one; the run frees the last. */
void *edv__srun_ctx(const edv__srun *sr);
void edv__srun_set_ctx(edv__srun *sr, void *ctx, void (*free_fn)(void *));
/* Labels for this tenant (new object). */
json_object *edv__srun_labels(const edv__srun *sr);
/* The description marker for label-less kinds. */
const char *edv__srun_marker(const edv__srun *sr);
/* The release the tenant runs (its record's): 0; EDV_ENOTFOUND without
 * one (the stock image); EDV_EPRECONDITION, `err` filled, when it is not
 * in the store. */
int edv__srun_release(const edv__srun *sr, edv__release_rec *out,
                      edv_error *err);

/* The tenant's VM generation as the run loaded it (tenant/vmswap.h). */
const edv__vmgen *edv__srun_vmgen(const edv__srun *sr);

typedef void (*edv__step_json_fn)(edv__srun *sr, json_object *obj,
                                  const edv_error *err);
typedef void (*edv__srun_fn)(edv__srun *sr);

/*
 * Makes the step's record durable now (state INTENT, with what
 * edv__srun_set_recorded() put in its `resource`) through the group
 * commit, then runs `then`; a failed write ends the step with its error.
 * For a step that must record what it is about to do before a write that
 * does not go through edv__step_act (the shared DNS writer). A plan runs
 * `then` at once.
 */
void edv__step_record(edv__srun *sr, edv__srun_fn then);

/*
 * Makes `g` the tenant's "vm_generation" record and, with `release`
 * non-NULL, `release` the release the tenant runs, in one write of the
 * group commit (in order behind the run's earlier records); once durable
 * the run's own copies follow and `then` runs; a failed write ends the
 * step with its error. A plan writes nothing and runs `then`.
 */
void edv__srun_vmgen_save(edv__srun *sr, const edv__vmgen *g,
                          const char *release, edv__srun_fn then);

/*
 * GET path; cb gets the parsed resource, or NULL with err NULL when it does
 * not exist (404), or the error. JSON borrowed during the callback.
 */
void edv__step_get(edv__srun *sr, edv_api api, const char *path,
                   edv__step_json_fn cb);

/*
 * A mutating call, durable before act: commits the intent (attempt and, for
 * APIs that take one, requestId) through the batch, sends the call
 * (`body` is consumed), commits the returned operation's name, waits for
 * the operation, and calls cb with the final operation (or the response
 * when the call returned no operation) or the error. Calls that fail
 * transiently end the step with a retry (cb is not called). 404 on a
 * DELETE is success (already gone). `dns_zone` is needed only when the call
 * returns a DNS change.
 */
void edv__step_act(edv__srun *sr, edv_api api, const char *method,
                   const char *path, json_object *body, const char *label,
                   edv__step_json_fn cb);

/* Same, but a create refused with EDV_EEXIST reaches cb at once (no
 * observe-again retry first): for callers that observe themselves and
 * then decide (a name Cloud SQL still reserves, see edv__ensure). */
void edv__step_act_eexist(edv__srun *sr, edv_api api, const char *method,
                          const char *path, json_object *body,
                          const char *label, edv__step_json_fn cb);

/* Same, for a DNS changes.create in managed zone `zone`. */
void edv__step_act_dns(edv__srun *sr, const char *zone, const char *path,
                       json_object *body, edv__step_json_fn cb);

/*
 * A call that changes nothing (getHealth, listInstances, secret access):
 * no intent, no operation. cb gets the response JSON or the error;
 * transient errors retry the step.
 */
void edv__step_call(edv__srun *sr, edv_api api, const char *method,
                    const char *path, json_object *body, edv__step_json_fn cb);

/* Moves the tenant to the next Cloud SQL name generation (a name still
 * reserved after a deletion) and records it. Returns 0 or an edv_code. */
int edv__srun_next_generation(edv__srun *sr, edv_error *err);

/* The fleet's poll interval for observed states (ms). */
uint64_t edv__srun_poll_ms(const edv__srun *sr);

/* Runs fn again after ms (polling an observed state). Counts against the
 * run's ready timeout: past it, the step fails with ETIMEDOUT. */
void edv__step_later(edv__srun *sr, uint64_t ms, edv__srun_fn fn);

/* Reports progress (an INFO event and, when `journal`, a journal line). */
void edv__step_info(edv__srun *sr, int journal, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * Ownership: returns 0 when `res` carries our labels for this tenant
 * (edv__step_owned_labels) or our description marker
 * (edv__step_owned_desc); otherwise ends the step with EDV_ENOTOWNED
 * naming `what` and returns -1 (the step must return at once).
 */
int edv__step_owned_labels(edv__srun *sr, json_object *res, const char *what);
int edv__step_owned_desc(edv__srun *sr, json_object *res, const char *what);

/* Ends the step: err NULL = verified DONE. A transient err retries the
 * step with backoff (up to max_attempts); any other fails the tenant. */
void edv__step_done(edv__srun *sr, const edv_error *err);
/* Convenience: ends the step with a new error of `code`. */
void edv__step_fail(edv__srun *sr, edv_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- The common step shapes (tenant/ensure.c) ---------------------------
 *
 * Most steps manage one resource: GET it; when absent, create it and await
 * the operation; when present, check it is ours; then verify it against
 * the desired state and record facts. edv__step_ensure() does that; the
 * step supplies paths, the desired body and a verify function.
 */
typedef enum {
  EDV_OWN_LABELS = 0, /* kinds with labels (settings.userLabels for SQL) */
  EDV_OWN_DESC = 1,   /* label-less kinds: the description marker */
  EDV_OWN_NONE = 2,   /* no marker possible (checked by other means) */
} edv__own_mode;

typedef struct edv__ensure {
  edv_api api;
  const char *what;        /* "subnetwork 'edv-t1'": for messages */
  const char *get_path;    /* the resource */
  const char *create_path; /* POST here when absent (collection URL) */
  const char *label;       /* "compute.subnetworks.insert" */
  edv__own_mode own;
  /* The desired resource for the create call (new object), or NULL to
   * fail: the function has ended the step already. */
  json_object *(*build)(edv__srun *sr);
  /* Called with the existing, owned resource (borrowed). Must end with
   * edv__step_done() or go on to the step's next stage. NULL: done. */
  void (*verify)(edv__srun *sr, json_object *res);
  /* Optional: ready yet? (e.g. an instance RUNNING, a certificate
   * ACTIVE). 0 = poll again later; 1 = go on to verify; -1 = failed (the
   * function has ended the step). */
  int (*ready)(edv__srun *sr, json_object *res);
  /* Optional: the create was refused with EDV_EEXIST although the GET
   * finds nothing, after the act's own retries (so not a lost reply of
   * ours): the name is reserved (Cloud SQL keeps a deleted instance's name
   * for a week). Return 1 when handled (the function went on with the
   * step, e.g. under a new name), 0 to fail the step with the error. */
  int (*name_taken)(edv__srun *sr, const edv_error *err);
} edv__ensure;

/* Ensures the resource exists, is ours and is verified. `e` is copied. */
void edv__step_ensure(edv__srun *sr, const edv__ensure *e);

/*
 * Ensures the resource is gone: GET; absent -> done; present and ours ->
 * DELETE (path `delete_path`, or get_path when NULL) and await; present
 * and not ours -> left alone (EDV_ENOTOWNED fails the step).
 */
void edv__step_ensure_absent(edv__srun *sr, edv_api api, const char *what,
                             const char *get_path, const char *delete_path,
                             edv__own_mode own, const char *label);

/*
 * Drift repair: acts (method on path with body, consumed; through
 * edv__step_act, so the intent is durable and a crash resumes it), then
 * runs `again` (the step's observe, which verifies the change landed and
 * may go on to the next repair). A 412 (fingerprint or settingsVersion
 * race) observes again instead of failing. In a plan, the call is
 * reported and the step ends.
 */
void edv__step_repair(edv__srun *sr, edv_api api, const char *method,
                      const char *path, json_object *body, const char *label,
                      edv__srun_fn again);
/* Counts a repair of `key` in this run: 1 while under EDV_REPAIR_MAX, else
 * the step fails naming `what` (a resource that will not stay repaired,
 * something else changes it) and 0. */
int edv__step_repair_allowed(edv__srun *sr, const char *key, const char *what);
#define EDV_REPAIR_MAX 4

/* 1 when two resource links name the same thing: compared from
 * "projects/" on, so a full URL matches a relative name. */
int edv__same_link(const char *a, const char *b);

#endif /* EDV_TENANT_MACHINE_H */
