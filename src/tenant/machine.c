/*
 * machine.c - the tenant state machine runtime (see machine.h).
 *
 * Scheduling is a plain DAG walk: a step starts when every step it depends
 * on is done (provisioning), or when every step that depends on it is done
 * (deprovisioning). Independent steps run at the same time, so a tenant is
 * ready after its critical path (the SQL instance and the certificate), not
 * after the sum of its steps.
 *
 * Lifetimes. A run owns one uv_timer_t per step (retries, polls) and one for
 * its lease. A run is freed only after every handle it opened is closed and
 * every call and operation wait it started has called back: `refs` counts
 * them, and run_unref() frees at zero.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "gcp/gcp.h"
#include "tenant/kinds.h"
#include "tenant/machine.h"
#include "tenant/shared.h"
#include "tenant/subnet.h"

#define MOD "tenant"

typedef enum {
  SR_BLOCKED = 0, /* waiting for its dependencies */
  SR_RUNNING = 1, /* started: a call, a wait or a timer is pending */
  SR_DONE = 2,    /* verified (up) or gone (down) */
  SR_FAILED = 3,  /* failed for good */
  SR_STOPPED = 4, /* stopped by edv__fleet_stop(); record left as is */
} sr_state;

struct edv__srun {
  edv__trun *tr;
  const edv__step_def *def;
  unsigned index;
  sr_state state;
  edv__step_rec rec;     /* the durable record (up direction) */
  int stage;             /* step-private progress marker */
  unsigned attempts;     /* tries in this run */
  uint64_t started_ms;   /* monotonic, for events */
  uint64_t first_ms;     /* first start in this run (ready timeout) */
  uv_timer_t timer;      /* retries and edv__step_later() */
  edv__srun_fn later_fn; /* what the timer runs */
  edv_call *call;        /* the call in flight, or NULL */
  edv_op_waiter *waiter; /* the operation wait in flight, or NULL */
  /* The act in progress. */
  edv_api act_api;
  char *act_method;
  char *act_path;
  char *act_label;
  char *act_zone; /* DNS managed zone, or NULL */
  json_object *act_body;
  edv__step_json_fn act_cb;
  edv__step_json_fn get_cb;
  uint64_t act_sent_ms;
  /* EEXIST goes to act_cb (edv__step_act_eexist). */
  int act_eexist;
  void *ctx; /* edv__srun_set_ctx() */
  void (*ctx_free)(void *ctx);
  /* edv__step_record()'s continuation. */
  edv__srun_fn record_then;
};

struct edv__trun {
  edv__fleet *fleet;
  edv__trun *next; /* fleet's list */
  char id[EDV_STORE_ID_SZ];
  edv__tenant_spec spec;
  const edv__tier *tier;
  edv__tenant_rec rec;
  edv__direction dir;
  const edv__step_def *defs;
  unsigned n;
  edv__srun *steps;
  json_object *facts;
  char marker[96];
  uv_timer_t lease_timer;
  unsigned refs; /* open handles + calls in flight + 1 while live */
  int ended;     /* the done callback ran */
  int stopping;  /* edv__fleet_stop() or failure: start nothing */
  int platform;  /* the platform pseudo-tenant */
  int planning;  /* read-only plan: no act, no store write */
  edv_error err; /* first permanent failure */
  /* A region move's way down: only the region-bound steps (move_defs),
   * ending PENDING in region move_to (see move_apply). */
  edv__step_def *move_defs;
  char move_to[EDV_REGION_MAX + 1];
  /* A failover move's way down (the "failover" record PENDING): only the
   * global pieces; the way up restores failover_backup. */
  int failover;
  char failover_backup[EDV_STORE_RES_SZ];
  /* EDV_DIR_RETIRE: the old region's resources, by the old region and
   * generation (in spec and rec); no step record or phase is written. */
  int retire;
  /* Its VM's generation and release change (tenant/vmswap.h). */
  edv__vmgen vmgen;

  /* Its records in the store's group commit (see run_write_failed). */
  int write_failed; /* a record of this run could not be saved */
  int finishing;    /* the final phase write is queued */
  /* edv__fleet_request_down(): the record says DEPROVISIONING, and the run
   * ends without writing a final phase of its own. */
  int down_requested;
  void (*down_cb)(void *data, const edv_error *err);
  void *down_data;
  unsigned writes;  /* its records queued in the batch, not yet done */
  int end_deferred; /* run_end() waits for `writes` to reach 0 */
  edv__run_done_fn cb;
  void *cb_data;
  uint64_t started_ms;
};

struct edv__fleet {
  uv_loop_t *loop;
  edv_engine *engine;
  edv_store *store;
  edv__store_batch *batch;
  const edv__tiers *tiers;
  char *project, *domain, *region, *network, *supernet, *holder, *actor;
  char *reserved;             /* dns.reserved_labels */
  char *backup_location;      /* sql.backup_location */
  json_object *alert_targets; /* edv__fleet_alert_targets */
  unsigned subnet_prefix;
  unsigned max_attempts;
  uint64_t retry_base_ms, lease_ttl_ms, poll_ms, ready_timeout_ms;
  edv__event_fn on_event;
  void *event_data;
  edv__trun *runs;
  edv__shared *shared; /* URL map and DNS writers, lazily */
  unsigned active;
  int closing;
  void (*close_cb)(void *data);
  void *close_data;
};

static void run_schedule(edv__trun *tr);
static void run_maybe_end(edv__trun *tr);
static void run_unref(edv__trun *tr);
static void run_end(edv__trun *tr);
static void step_start(edv__srun *sr);

/* One of the run's queued records is done (durable or failed). The run
 * ends only once none is pending: its lease is released, and its callers
 * told, after every record it wrote is settled. */
static void run_end_if_settled(edv__trun *tr)
{
  if (tr->writes == 0 && tr->end_deferred && !tr->ended)
    run_end(tr);
}

static void run_write_settled(edv__trun *tr)
{
  tr->writes--;
  run_end_if_settled(tr);
}

/* ---- small helpers ------------------------------------------------------ */

static char *xstrdup(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void copy(char *dst, size_t size, const char *src)
{
  snprintf(dst, size, "%s", src ? src : "");
}

int edv__same_link(const char *a, const char *b)
{
  const char *pa = a ? strstr(a, "projects/") : NULL;
  const char *pb = b ? strstr(b, "projects/") : NULL;

  return pa && pb && strcmp(pa, pb) == 0;
}

static void emit(edv__trun *tr, edv__event_kind kind, edv__srun *sr,
                 const char *msg, const edv_error *err)
{
  edv__fleet *f = tr->fleet;
  edv__event ev;

  if (!f->on_event)
    return;
  memset(&ev, 0, sizeof(ev));
  ev.kind = kind;
  ev.tenant = tr->id;
  ev.step = sr ? sr->def->name : NULL;
  ev.title = sr ? sr->def->title : NULL;
  ev.phase = tr->rec.phase;
  ev.message = msg;
  ev.error = err;
  ev.elapsed_ms = sr ? uv_now(f->loop) - sr->started_ms : 0;
  f->on_event(f->event_data, &ev);
}

/*
 * A record of the run could not be saved (its group commit failed, or the
 * database stayed locked past the batch's deadline). The run must not go
 * on as if it were: it stops, its error says why, and no later phase is
 * written (the phase apply refuses once this is set), so the tenant keeps
 * its last durable phase and resumes from its last durable records.
 */
static void run_write_failed(edv__trun *tr, const char *what,
                             const edv_error *err)
{
  EDV_LOG_E(MOD, "%s: %s not saved: %s", tr->id, what, err->message);
  tr->write_failed = 1;
  if (tr->ended)
    return;
  if (!tr->err.code || tr->err.code == EDV_ECANCELED) {
    edv_error_set(&tr->err, err->code ? err->code : EDV_EIO,
                  "%s not saved, the run stopped (the tenant resumes from "
                  "its last saved state): %s",
                  what, err->message);
    snprintf(tr->err.where, sizeof(tr->err.where), "store");
  }
  edv__fleet_stop(tr->fleet, tr->id);
}

typedef struct jour_ctx {
  edv__trun *tr;
  edv__journal_rec j;
} jour_ctx;

static int jour_apply(edv_store *st, void *data, edv_error *err)
{
  return edv__store_journal_append(st, &((jour_ctx *)data)->j, NULL, err);
}

static void jour_done(void *data, int result, const edv_error *err)
{
  jour_ctx *jc = data;
  edv__trun *tr = jc->tr;

  if (result)
    run_write_failed(tr, "journal entry", err);
  free(jc);
  run_write_settled(tr);
  run_unref(tr);
}

/* Fills a journal entry of the run, timed now. */
static void journal_fill(edv__trun *tr, edv__journal_rec *j, const char *event,
                         const char *step, const char *api_call, const char *op,
                         uint64_t dur, const edv_error *e)
{
  memset(j, 0, sizeof(*j));
  copy(j->tenant, sizeof(j->tenant), tr->id);
  j->time_ms = edv__store_now(tr->fleet->store);
  copy(j->actor, sizeof(j->actor), tr->fleet->actor);
  copy(j->event, sizeof(j->event), event);
  copy(j->step, sizeof(j->step), step);
  copy(j->api_call, sizeof(j->api_call), api_call);
  copy(j->operation, sizeof(j->operation), op);
  j->duration_ms = (int64_t)dur;
  if (e && e->code)
    edv_error_format(e, j->error, sizeof(j->error));
}

/* Queues a journal line for the turn's group commit (in order with the
 * step records around it; never a transaction of its own). */
static void journal(edv__trun *tr, const char *event, const char *step,
                    const char *api_call, const char *op, uint64_t dur,
                    const edv_error *e)
{
  jour_ctx *jc;
  edv_error err;
  int result;

  if (tr->planning)
    return;
  jc = calloc(1, sizeof(*jc));
  if (!jc) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    run_write_failed(tr, "journal entry", &err);
    return;
  }
  jc->tr = tr;
  journal_fill(tr, &jc->j, event, step, api_call, op, dur, e);
  tr->refs++;
  tr->writes++;
  result = edv__store_batch_add(tr->fleet->batch, jour_apply, jour_done, jc);
  if (result) {
    tr->refs--;
    tr->writes--;
    free(jc);
    edv_error_set(&err, (edv_code)result, "cannot queue a journal entry");
    run_write_failed(tr, "journal entry", &err);
  }
}

/*
 * Phase writes ride the group commit too, behind the step records queued
 * before them: READY (or DELETED, FAILED) becomes durable only with or
 * after the records it depends on, and never when one of them failed. The
 * tenant row and its "phase" journal line are one write. A tenant's
 * deletion also releases its range, moves its SQL name generation on and
 * drops its step records in that same write.
 */
typedef struct phase_ctx {
  edv__trun *tr;
  edv__tenant_rec rec; /* the row to write, with the new phase */
  edv__journal_rec j;
  int cleanup; /* DELETED of a tenant: subnet, generation, steps;
                  PHASE_MOVED: the end of a move's way down */
  int has_err;
  edv_error e; /* the error the phase reports */
  void (*then)(edv__trun *tr, int result, const edv_error *err);
} phase_ctx;

/* Drops a deleted tenant's step records, but for the DONE records of
 * steps flagged EDV_STEP_KEEP (what outlives the tenant: its final
 * backup) and a PENDING failover record, which are written back. */
static int steps_drop(edv_store *st, edv__trun *tr, edv_error *err)
{
  edv__step_rec keep[5];
  unsigned n = 0;
  int rc;

  /* So is a failover's record of an old region still to retire. */
  if (edv__store_step_get(st, tr->rec.id, EDV_FAILOVER_STEP, &keep[n], NULL) ==
          0 &&
      keep[n].state == EDV_STEP_PENDING)
    n++;
  for (unsigned i = 0; i < tr->n && n < sizeof(keep) / sizeof(*keep); i++)
    if ((tr->defs[i].flags & EDV_STEP_KEEP) &&
        edv__store_step_get(st, tr->rec.id, tr->defs[i].name, &keep[n], NULL) ==
            0 &&
        keep[n].state == EDV_STEP_DONE)
      n++;
  if ((rc = edv__store_step_delete_all(st, tr->rec.id, err)))
    return rc;
  for (unsigned i = 0; i < n; i++)
    if ((rc = edv__store_step_put(st, &keep[i], err)))
      return rc;
  return 0;
}

#define PHASE_MOVED 2
static int move_apply(edv_store *st, edv__trun *tr, edv__tenant_rec *rec,
                      edv_error *err);

static int phase_apply(edv_store *st, void *data, edv_error *err)
{
  phase_ctx *pc = data;
  const char *id = pc->rec.id;
  uint32_t gen;
  int rc;

  if (pc->tr->write_failed)
    return edv_error_set(err, EDV_EIO,
                         "tenant '%s': an earlier record of this run was not "
                         "saved; phase %s not written",
                         id, edv__phase_name(pc->rec.phase));
  if (pc->cleanup == PHASE_MOVED) {
    if ((rc = move_apply(st, pc->tr, &pc->rec, err)))
      return rc;
  } else if (pc->cleanup) {
    /* Cloud SQL names cannot be reused for a week: the next life of this
     * tenant gets the next generation. The range returns to the pool. */
    if ((rc = edv__store_subnet_release(st, id, err)) ||
        (rc = edv__store_tenant_next_generation(st, id, &gen, err)) ||
        (rc = steps_drop(st, pc->tr, err)))
      return rc;
    pc->rec.generation = gen;
  }
  if ((rc = edv__store_tenant_put(st, &pc->rec, EDV_PUT_UPDATE, err)))
    return rc;
  return edv__store_journal_append(st, &pc->j, NULL, err);
}

static void phase_done(void *data, int result, const edv_error *err)
{
  phase_ctx *pc = data;
  edv__trun *tr = pc->tr;

  if (result == 0) {
    tr->rec.phase = pc->rec.phase;
    tr->rec.generation = pc->rec.generation;
    copy(tr->rec.last_error, sizeof(tr->rec.last_error), pc->rec.last_error);
    emit(tr, EDV_EV_PHASE, NULL, edv__phase_name(pc->rec.phase),
         pc->has_err ? &pc->e : NULL);
  } else {
    run_write_failed(tr, "phase", err);
  }
  tr->writes--;
  if (pc->then)
    pc->then(tr, result, err);
  free(pc);
  run_end_if_settled(tr);
  run_unref(tr);
}

/* Queues the tenant's new phase; `then` (may be NULL) runs once it is
 * durable (result 0) or failed (the run is then already stopping). */
static void set_phase_then(edv__trun *tr, edv_tenant_phase phase,
                           const edv_error *e, int cleanup,
                           void (*then)(edv__trun *, int, const edv_error *))
{
  phase_ctx *pc;
  edv_error err;
  int result;

  if (tr->planning) {
    if (then)
      then(tr, 0, NULL);
    return;
  }
  pc = calloc(1, sizeof(*pc));
  if (!pc) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    run_write_failed(tr, "phase", &err);
    if (then)
      then(tr, EDV_ENOMEM, &err);
    return;
  }
  pc->tr = tr;
  pc->rec = tr->rec;
  pc->rec.phase = phase;
  if (e && e->code)
    edv_error_format(e, pc->rec.last_error, sizeof(pc->rec.last_error));
  else if (phase == EDV_PHASE_READY || phase == EDV_PHASE_DELETED ||
           phase == EDV_PHASE_SUSPENDED)
    pc->rec.last_error[0] = '\0';
  if (e && e->code) {
    pc->has_err = 1;
    pc->e = *e;
  }
  pc->cleanup = cleanup;
  pc->then = then;
  journal_fill(tr, &pc->j, "phase", NULL, edv__phase_name(phase), NULL, 0, e);
  tr->refs++;
  tr->writes++;
  result = edv__store_batch_add(tr->fleet->batch, phase_apply, phase_done, pc);
  if (result) {
    tr->refs--;
    tr->writes--;
    free(pc);
    edv_error_set(&err, (edv_code)result, "cannot queue a phase write");
    run_write_failed(tr, "phase", &err);
    if (then)
      then(tr, result, &err);
  }
}

static void set_phase(edv__trun *tr, edv_tenant_phase phase, const edv_error *e)
{
  set_phase_then(tr, phase, e, 0, NULL);
}

/* ---- run lifetime ----------------------------------------------------- */

static void run_free(edv__trun *tr)
{
  edv__fleet *f = tr->fleet;
  edv__trun **pp;

  for (pp = &f->runs; *pp; pp = &(*pp)->next)
    if (*pp == tr) {
      *pp = tr->next;
      break;
    }
  for (unsigned i = 0; i < tr->n; i++) {
    edv__srun *sr = &tr->steps[i];
    free(sr->act_method);
    free(sr->act_path);
    free(sr->act_label);
    free(sr->act_zone);
    json_object_put(sr->act_body);
    if (sr->ctx && sr->ctx_free)
      sr->ctx_free(sr->ctx);
  }
  free(tr->steps);
  free(tr->move_defs);
  json_object_put(tr->facts);
  free(tr);
  f->active--;
  if (f->closing && f->runs == NULL) {
    /* The last run is gone: the fleet can finish closing. */
    edv__shared_free(f->shared);
    edv__store_batch_close(f->batch, f->close_cb, f->close_data);
    free(f->project);
    free(f->domain);
    free(f->reserved);
    free(f->backup_location);
    json_object_put(f->alert_targets);
    free(f->region);
    free(f->network);
    free(f->supernet);
    free(f->holder);
    free(f->actor);
    free(f);
  }
}

static void run_unref(edv__trun *tr)
{
  if (--tr->refs == 0)
    run_free(tr);
}

/* Step timers carry their step run, the lease timer its run. */
static void on_step_timer_closed(uv_handle_t *h)
{
  run_unref(((edv__srun *)h->data)->tr);
}

static void on_lease_timer_closed(uv_handle_t *h)
{
  run_unref((edv__trun *)h->data);
}

static void run_close_handles(edv__trun *tr)
{
  for (unsigned i = 0; i < tr->n; i++)
    uv_close((uv_handle_t *)&tr->steps[i].timer, on_step_timer_closed);
  uv_close((uv_handle_t *)&tr->lease_timer, on_lease_timer_closed);
}

static void run_end(edv__trun *tr)
{
  edv__fleet *f = tr->fleet;
  edv_error err;
  edv_tenant_phase phase = tr->rec.phase;
  const edv_error *e = tr->err.code ? &tr->err : NULL;

  if (tr->ended)
    return;
  if (tr->writes > 0) {
    /* Records of the run still wait for the group commit: end (release
     * the lease, tell the caller) once they are settled. */
    tr->end_deferred = 1;
    return;
  }
  tr->ended = 1;
  uv_timer_stop(&tr->lease_timer);
  if (!tr->planning &&
      edv__store_lease_release(f->store, tr->id, f->holder, &err))
    EDV_LOG_D(MOD, "%s: lease release: %s", tr->id, err.message);
  emit(tr, EDV_EV_END, NULL, edv__phase_name(phase), e);
  if (tr->cb)
    tr->cb(tr->cb_data, tr->id, phase, e);
  run_close_handles(tr);
  run_unref(tr); /* the "live" reference */
}

/* ---- leases ------------------------------------------------------------ */

static void on_lease_timer(uv_timer_t *t)
{
  edv__trun *tr = t->data;
  edv_error err;

  if (edv__store_lease_renew(tr->fleet->store, tr->id, tr->fleet->holder,
                             (int64_t)tr->fleet->lease_ttl_ms, &err)) {
    if (err.code == EDV_EBUSY && strcmp(err.where, "sqlite") == 0) {
      /* The database is locked by another process's transaction, not the
       * lease taken: the lease is renewed at a third of its TTL, so the
       * next tick still renews it in time. */
      EDV_LOG_W(MOD, "%s: lease renewal postponed: %s", tr->id, err.message);
      return;
    }
    /* Someone took the tenant over (our lease expired while the loop was
     * stalled): stop at once, the new holder resumes from the record. */
    EDV_LOG_E(MOD, "%s: lost the lease: %s", tr->id, err.message);
    if (!tr->err.code)
      tr->err = err;
    tr->stopping = 1;
    edv__fleet_stop(tr->fleet, tr->id);
  }
}

/* ---- step records ------------------------------------------------------- */

typedef struct put_ctx {
  edv__trun *tr;
  edv__step_rec rec;
  void (*then)(edv__srun *sr, int result, const edv_error *err);
  edv__srun *sr;
} put_ctx;

static int put_apply(edv_store *st, void *data, edv_error *err)
{
  put_ctx *pc = data;
  int rc = edv__store_step_put(st, &pc->rec, err);

  /* A DONE or FAILED record that fails (not a lock: the batch retries
   * those) forbids a phase queued behind it in this very transaction. */
  if (rc && !pc->then &&
      !(rc == EDV_EBUSY && strcmp(err->where, "sqlite") == 0))
    pc->tr->write_failed = 1;
  return rc;
}

static void put_done(void *data, int result, const edv_error *err)
{
  put_ctx *pc = data;
  edv__trun *tr = pc->tr;

  if (pc->then)
    pc->then(pc->sr, result, err);
  else if (result)
    run_write_failed(tr, "step record", err);
  free(pc);
  run_write_settled(tr);
  run_unref(tr);
}

/* Queues the step's record for the turn's group commit; `then` (may be
 * NULL) runs once it is durable (result 0) or failed. */
static void step_save(edv__srun *sr,
                      void (*then)(edv__srun *, int, const edv_error *))
{
  edv__trun *tr = sr->tr;
  put_ctx *pc;
  edv_error err;
  int result;

  /* A plan writes nothing; a retirement's steps are not the tenant's
   * (they observe before they act, so they need no record). */
  if (tr->planning || tr->retire) {
    if (then)
      then(sr, 0, NULL);
    return;
  }
  pc = calloc(1, sizeof(*pc));
  if (!pc) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory saving a step record");
    if (then)
      then(sr, EDV_ENOMEM, &err);
    return;
  }
  pc->tr = tr;
  pc->rec = sr->rec;
  pc->then = then;
  pc->sr = sr;
  tr->refs++;
  tr->writes++;
  result = edv__store_batch_add(tr->fleet->batch, put_apply, put_done, pc);
  if (result) {
    tr->refs--;
    tr->writes--;
    free(pc);
    edv_error_set(&err, (edv_code)result, "cannot queue a step record");
    if (then)
      then(sr, result, &err);
  }
}

/* ---- step API ----------------------------------------------------------- */

edv__fleet *edv__srun_fleet(const edv__srun *sr)
{
  return sr->tr->fleet;
}

const edv__tenant_spec *edv__srun_spec(const edv__srun *sr)
{
  return &sr->tr->spec;
}

const edv__tier *edv__srun_tier(const edv__srun *sr)
{
  return sr->tr->tier;
}

const char *edv__srun_project(const edv__srun *sr)
{
  return sr->tr->fleet->project;
}

const char *edv__srun_region(const edv__srun *sr)
{
  return sr->tr->platform ? sr->tr->fleet->region : sr->tr->spec.region;
}

const char *edv__srun_zone(const edv__srun *sr)
{
  return edv__srun_fact((edv__srun *)sr, "zone");
}

const char *edv__srun_domain(const edv__srun *sr)
{
  return sr->tr->fleet->domain;
}

const char *edv__srun_network(const edv__srun *sr)
{
  return sr->tr->fleet->network;
}

uint32_t edv__srun_generation(const edv__srun *sr)
{
  return sr->tr->rec.generation;
}

const char *edv__srun_backup_location(const edv__srun *sr, char *buf,
                                      size_t size)
{
  return edv__sql_backup_location(sr->tr->fleet->backup_location,
                                  edv__srun_region(sr), buf, size);
}

json_object *edv__srun_facts(edv__srun *sr)
{
  return sr->tr->facts;
}

const char *edv__srun_fact(edv__srun *sr, const char *key)
{
  return edv__jstr(sr->tr->facts, key);
}

void edv__srun_set_fact(edv__srun *sr, const char *key, const char *value)
{
  if (value)
    json_object_object_add(sr->tr->facts, key, json_object_new_string(value));
  else
    json_object_object_del(sr->tr->facts, key);
}

int edv__srun_planning(const edv__srun *sr)
{
  return sr->tr->planning;
}

const char *edv__direction_name(edv__direction dir)
{
  return dir == EDV_DIR_UP        ? "up"
         : dir == EDV_DIR_DOWN    ? "down"
         : dir == EDV_DIR_SUSPEND ? "suspend"
                                  : "retire";
}

const char *edv__direction_done(edv__direction dir)
{
  return dir == EDV_DIR_UP        ? "provisioned"
         : dir == EDV_DIR_DOWN    ? "deprovisioned"
         : dir == EDV_DIR_SUSPEND ? "suspended"
                                  : "retired";
}

int edv__srun_going_down(const edv__srun *sr)
{
  return sr->tr->dir == EDV_DIR_DOWN;
}

int edv__srun_suspending(const edv__srun *sr)
{
  return sr->tr->dir == EDV_DIR_SUSPEND;
}

int *edv__srun_stage(edv__srun *sr)
{
  return &sr->stage;
}

const char *edv__srun_recorded(const edv__srun *sr)
{
  return sr->rec.resource;
}

void edv__srun_set_recorded(edv__srun *sr, const char *what)
{
  copy(sr->rec.resource, sizeof(sr->rec.resource), what);
}

int edv__srun_recorded_done(const edv__srun *sr)
{
  return sr->rec.state == EDV_STEP_DONE;
}

static void record_saved(edv__srun *sr, int result, const edv_error *err)
{
  edv__srun_fn then = sr->record_then;

  sr->record_then = NULL;
  if (result) {
    edv_error e;
    if (!err) {
      edv_error_set(&e, (edv_code)result, "cannot save the step's record");
      err = &e;
    }
    edv__step_done(sr, err);
    return;
  }
  then(sr);
}

void edv__step_record(edv__srun *sr, edv__srun_fn then)
{
  sr->record_then = then;
  if (!sr->tr->planning)
    sr->rec.state = EDV_STEP_INTENT;
  step_save(sr, record_saved);
}

void *edv__srun_ctx(const edv__srun *sr)
{
  return sr->ctx;
}

void edv__srun_set_ctx(edv__srun *sr, void *ctx, void (*free_fn)(void *))
{
  if (sr->ctx && sr->ctx_free && sr->ctx != ctx)
    sr->ctx_free(sr->ctx);
  sr->ctx = ctx;
  sr->ctx_free = free_fn;
}

json_object *edv__srun_labels(const edv__srun *sr)
{
  if (sr->tr->platform) {
    json_object *l = json_object_new_object();
    json_object_object_add(l, EDV_LABEL_MANAGED,
                           json_object_new_string("true"));
    json_object_object_add(l, "edv-role", json_object_new_string("platform"));
    return l;
  }
  return edv__tenant_labels(sr->tr->spec.id, sr->tr->spec.tier);
}

int edv__srun_release(const edv__srun *sr, edv__release_rec *out,
                      edv_error *err)
{
  if (!sr->tr->rec.release[0])
    return EDV_ENOTFOUND;
  if (edv__store_release_get(sr->tr->fleet->store, sr->tr->rec.release, out,
                             err) == 0)
    return 0;
  return edv_error_set(err, EDV_EPRECONDITION,
                       "the tenant runs release '%s', which is not recorded",
                       sr->tr->rec.release);
}

const char *edv__srun_marker(const edv__srun *sr)
{
  return sr->tr->marker;
}

void edv__step_info(edv__srun *sr, int jour, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (jour)
    journal(sr->tr, "info", sr->def->name, msg, NULL, 0, NULL);
  emit(sr->tr, EDV_EV_INFO, sr, msg, NULL);
}

static int owned_fail(edv__srun *sr, const char *what, const char *why)
{
  edv__step_fail(sr, EDV_ENOTOWNED,
                 "%s exists but %s; it belongs to someone else and is "
                 "never taken over (rename or delete it by hand)",
                 what, why);
  return -1;
}

int edv__step_owned_labels(edv__srun *sr, json_object *res, const char *what)
{
  json_object *labels = edv__jget(res, "labels");
  char owner[EDV_TENANT_ID_MAX + 8];

  if (!labels)
    labels = edv__jget(res, "settings.userLabels");
  if (sr->tr->platform) {
    const char *m = edv__jstr(labels, EDV_LABEL_MANAGED);
    if (m && strcmp(m, "true") == 0)
      return 0;
    return owned_fail(sr, what, "carries no edv-managed=true label");
  }
  if (!labels || !edv__labels_owner(labels, owner, sizeof(owner)))
    return owned_fail(sr, what, "carries no edv-managed labels");
  if (strcmp(owner, sr->tr->spec.id) != 0) {
    char why[128];
    snprintf(why, sizeof(why), "is labelled for tenant '%s'", owner);
    return owned_fail(sr, what, why);
  }
  return 0;
}

int edv__step_owned_desc(edv__srun *sr, json_object *res, const char *what)
{
  const char *d = edv__jstr(res, "description");
  char owner[EDV_TENANT_ID_MAX + 16];

  if (sr->tr->platform) {
    if (d && strncmp(d, "edv-managed", 11) == 0)
      return 0;
    return owned_fail(sr, what, "has no edv-managed description marker");
  }
  if (!d || !edv__description_owner(d, owner, sizeof(owner)))
    return owned_fail(sr, what, "has no edv-managed description marker");
  if (strcmp(owner, sr->tr->spec.id) != 0) {
    char why[128];
    snprintf(why, sizeof(why), "is marked for tenant '%s'", owner);
    return owned_fail(sr, what, why);
  }
  return 0;
}

static void on_timer(uv_timer_t *t)
{
  edv__srun *sr = t->data;
  edv__srun_fn fn = sr->later_fn;

  sr->later_fn = NULL;
  if (sr->tr->stopping && sr->state == SR_RUNNING) {
    sr->state = SR_STOPPED;
    run_maybe_end(sr->tr);
    return;
  }
  if (fn)
    fn(sr);
}

void edv__step_later(edv__srun *sr, uint64_t ms, edv__srun_fn fn)
{
  uint64_t now = uv_now(sr->tr->fleet->loop);

  if (now - sr->first_ms > sr->tr->fleet->ready_timeout_ms) {
    edv__step_fail(sr, EDV_ETIMEDOUT, "%s: still not ready after %llu s",
                   sr->def->title,
                   (unsigned long long)(now - sr->first_ms) / 1000);
    return;
  }
  sr->later_fn = fn;
  uv_timer_start(&sr->timer, on_timer, ms ? ms : 1, 0);
}

void edv__step_fail(edv__srun *sr, edv_code code, const char *fmt, ...)
{
  edv_error err;
  va_list ap;

  edv_error_clear(&err);
  err.code = code;
  va_start(ap, fmt);
  vsnprintf(err.message, sizeof(err.message), fmt, ap);
  va_end(ap);
  snprintf(err.where, sizeof(err.where), "step %s", sr->def->name);
  edv__step_done(sr, &err);
}

static void restart_step(edv__srun *sr)
{
  step_start(sr);
}

void edv__step_done(edv__srun *sr, const edv_error *err)
{
  edv__trun *tr = sr->tr;
  edv__fleet *f = tr->fleet;
  uint64_t dur = uv_now(f->loop) - sr->started_ms;

  sr->call = NULL;
  sr->waiter = NULL;
  if (!err || err->code == EDV_OK) {
    sr->state = SR_DONE;
    /* Going down, only what outlives the tenant is recorded; a
     * suspension keeps the records of the tenant's life as they are. */
    if (tr->dir == EDV_DIR_UP ||
        (tr->dir == EDV_DIR_DOWN && (sr->def->flags & EDV_STEP_KEEP))) {
      sr->rec.state = EDV_STEP_DONE;
      sr->rec.error[0] = '\0';
      sr->rec.op_name[0] = '\0';
      sr->rec.finished_ms = edv__store_now(f->store);
      step_save(sr, NULL);
    }
    journal(tr,
            tr->dir == EDV_DIR_UP     ? "step.done"
            : tr->dir == EDV_DIR_DOWN ? "step.deleted"
                                      : "step.suspended",
            sr->def->name, NULL, NULL, dur, NULL);
    emit(tr, EDV_EV_STEP_DONE, sr, NULL, NULL);
    run_schedule(tr);
    return;
  }
  if (err->code == EDV_ECANCELED || tr->stopping) {
    /* Stopped: the record stays INTENT or WAITING and resumes later. */
    sr->state = SR_STOPPED;
    run_maybe_end(tr);
    return;
  }
  /* ABORTED (a concurrent change or an operation still running on the
   * resource, e.g. deleting what a crashed run was still creating) is
   * retried here, at the step level, as AIP-194 asks: the step observes
   * again before acting. */
  if (!tr->retire && /* a retirement: the next reconcile pass */
      (edv_error_is_transient(err) || err->code == EDV_ENOTREADY ||
       err->code == EDV_ETIMEDOUT || err->code == EDV_EABORTED ||
       /* the store locked by another process past its short busy
        * timeout (a step's own synchronous write: subnet, generation) */
       (err->code == EDV_EBUSY && strcmp(err->where, "sqlite") == 0)) &&
      sr->attempts < f->max_attempts) {
    /* Jittered, so that many tenants hitting the same wall do not come
     * back in step. "Equal jitter": the delay is uniform in [cap/2, cap]
     * with cap = base * 2^min(attempt, 6) (2-4 s first, 64-128 s at most
     * with the 2 s default; 8 attempts fail a step after ~3-6 minutes),
     * unlike the transport's full jitter, so a retry never comes back
     * at once. */
    uint64_t cap = f->retry_base_ms << (sr->attempts < 6 ? sr->attempts : 6);
    uint64_t delay = cap / 2 + (uint64_t)rand() % (cap / 2 + 1);
    char msg[160];

    snprintf(msg, sizeof(msg), "attempt %u failed; retrying in %llu ms",
             sr->attempts, (unsigned long long)delay);
    journal(tr, "step.retry", sr->def->name, NULL, NULL, dur, err);
    emit(tr, EDV_EV_STEP_RETRY, sr, msg, err);
    sr->later_fn = restart_step;
    uv_timer_start(&sr->timer, on_timer, delay, 0);
    return;
  }
  sr->state = SR_FAILED;
  if (tr->dir == EDV_DIR_UP) {
    sr->rec.state = EDV_STEP_FAILED;
    edv_error_format(err, sr->rec.error, sizeof(sr->rec.error));
    sr->rec.finished_ms = edv__store_now(f->store);
    step_save(sr, NULL);
  }
  journal(tr, "step.failed", sr->def->name, NULL, NULL, dur, err);
  emit(tr, EDV_EV_STEP_FAIL, sr, NULL, err);
  if (!tr->err.code) {
    tr->err = *err;
    if (!tr->err.where[0])
      snprintf(tr->err.where, sizeof(tr->err.where), "step %s", sr->def->name);
  }
  tr->stopping = 1;
  run_maybe_end(tr);
}

/* ---- observe ------------------------------------------------------------ */

static void on_get(void *data, const edv_response *res)
{
  edv__srun *sr = data;
  edv__trun *tr = sr->tr;
  edv__step_json_fn cb = sr->get_cb;

  sr->call = NULL;
  sr->get_cb = NULL;
  if (res->error && res->error->code == EDV_ENOTFOUND)
    cb(sr, NULL, NULL);
  else if (res->error && (edv_error_is_transient(res->error) ||
                          res->error->code == EDV_ECANCELED ||
                          res->error->code == EDV_ETIMEDOUT))
    edv__step_done(sr, res->error);
  else
    cb(sr, res->error ? NULL : res->json, res->error);
  run_unref(tr);
}

void edv__step_get(edv__srun *sr, edv_api api, const char *path,
                   edv__step_json_fn cb)
{
  edv__step_call(sr, api, "GET", path, NULL, cb);
}

void edv__step_call(edv__srun *sr, edv_api api, const char *method,
                    const char *path, json_object *body, edv__step_json_fn cb)
{
  edv_request req;
  edv_error err;
  int result;

  memset(&req, 0, sizeof(req));
  req.api = api;
  req.method = method;
  req.path = path;
  req.body = body;
  /* Reads and read-like POSTs (getHealth, listInstances) are safe to
   * repeat. */
  req.flags = EDV_REQ_IDEMPOTENT;
  req.label = sr->def->name;
  sr->get_cb = cb;
  sr->tr->refs++;
  result = edv_call_submit(sr->tr->fleet->engine, &req, on_get, sr, &sr->call);
  json_object_put(body);
  if (result) {
    sr->tr->refs--;
    edv__step_done(sr, (edv_error_set(&err, (edv_code)result,
                                      "cannot submit %s %s", method, path),
                        &err));
  }
}

int edv__srun_next_generation(edv__srun *sr, edv_error *err)
{
  uint32_t gen;
  int result = edv__store_tenant_next_generation(sr->tr->fleet->store,
                                                 sr->tr->id, &gen, err);
  if (result == 0) {
    sr->tr->rec.generation = gen;
    journal(sr->tr, "generation", sr->def->name, NULL, NULL, 0, NULL);
  }
  return result;
}

uint64_t edv__srun_poll_ms(const edv__srun *sr)
{
  return sr->tr->fleet->poll_ms;
}

/* ---- act ------------------------------------------------------------------
 */

static void act_finish(edv__srun *sr, json_object *obj, const edv_error *err)
{
  edv__step_json_fn cb = sr->act_cb;

  sr->act_cb = NULL;
  if (err && (edv_error_is_transient(err) || err->code == EDV_ECANCELED ||
              err->code == EDV_ETIMEDOUT)) {
    edv__step_done(sr, err);
    return;
  }
  cb(sr, obj, err);
}

static void on_op_done(void *data, json_object *op, const edv_error *err)
{
  edv__srun *sr = data;
  edv__trun *tr = sr->tr;
  char call[EDV_STORE_SMALL_SZ];

  sr->waiter = NULL;
  snprintf(call, sizeof(call), "%s %s", sr->act_method ? sr->act_method : "",
           sr->act_label ? sr->act_label : "");
  journal(tr, "operation", sr->def->name, call, sr->rec.op_name,
          uv_now(tr->fleet->loop) - sr->act_sent_ms, err);
  if (err && err->code == EDV_ENOTFOUND && sr->act_method &&
      strcmp(sr->act_method, "DELETE") == 0)
    err = NULL; /* deleted by someone else meanwhile: gone is gone */
  act_finish(sr, op, err);
  run_unref(tr);
}

static void wait_recorded_op(edv__srun *sr, json_object *op)
{
  edv__trun *tr = sr->tr;
  edv_op_wait_opts o;
  edv_error err;
  int result;

  memset(&o, 0, sizeof(o));
  o.project = tr->fleet->project;
  o.managed_zone = sr->act_zone;
  o.deadline_ms = tr->fleet->ready_timeout_ms;
  o.poll_initial_ms = edv__fleet_op_poll_ms(tr->fleet);
  tr->refs++;
  result =
      edv_op_wait(tr->fleet->engine, op, &o, on_op_done, sr, &sr->waiter, &err);
  if (result) {
    tr->refs--;
    act_finish(sr, NULL, &err);
  }
}

static void on_op_recorded(edv__srun *sr, int result, const edv_error *err)
{
  json_object *op = sr->act_body; /* parked here while the record commits */

  sr->act_body = NULL;
  if (result) {
    /* The call happened but its operation is not recorded: stop the run.
     * The durable intent (same requestId) lets a resume observe it. */
    edv_error stop;
    json_object_put(op);
    run_write_failed(sr->tr, "operation record", err);
    edv_error_set(&stop, EDV_ECANCELED, "stopped");
    edv__step_done(sr, &stop);
    return;
  }
  wait_recorded_op(sr, op);
  json_object_put(op);
}

static void on_act_response(void *data, const edv_response *res)
{
  edv__srun *sr = data;
  edv__trun *tr = sr->tr;
  char call[EDV_STORE_SMALL_SZ];
  edv_op_kind kind;

  sr->call = NULL;
  snprintf(call, sizeof(call), "%s %s", sr->act_method,
           sr->act_label ? sr->act_label : "");
  emit(tr, EDV_EV_CALL, sr, call, res->error);
  if (res->error) {
    journal(tr, "api.call", sr->def->name, call, NULL, res->elapsed_ms,
            res->error);
    if (res->error->code == EDV_ENOTFOUND &&
        strcmp(sr->act_method, "DELETE") == 0)
      act_finish(sr, NULL, NULL);
    else if (res->error->code == EDV_EEXIST &&
             strcmp(sr->act_method, "POST") == 0 && sr->attempts < 3 &&
             !sr->act_eexist) {
      /* Our own earlier attempt probably landed (a reply lost after the
       * change was applied): observe again rather than fail. */
      edv_error e = *res->error;
      e.code = EDV_ENOTREADY;
      edv__step_done(sr, &e);
    } else
      act_finish(sr, NULL, res->error);
    run_unref(tr);
    return;
  }
  kind = edv_op_detect(res->json);
  if (kind == EDV_OP_UNKNOWN || edv_op_is_done(kind, res->json)) {
    edv_error e;
    int bad = kind != EDV_OP_UNKNOWN && edv_op_error(kind, res->json, &e);
    journal(tr, "api.call", sr->def->name, call, NULL, res->elapsed_ms,
            bad ? &e : NULL);
    act_finish(sr, res->json, bad ? &e : NULL);
    run_unref(tr);
    return;
  }
  journal(tr, "api.call", sr->def->name, call,
          edv__jstr(res->json, "selfLink") ? edv__jstr(res->json, "selfLink")
                                           : edv__jstr(res->json, "name"),
          res->elapsed_ms, NULL);
  /* Durable: the operation's name, so a restart awaits it. */
  sr->rec.state = EDV_STEP_WAITING;
  copy(sr->rec.op_name, sizeof(sr->rec.op_name),
       edv__jstr(res->json, "selfLink") ? edv__jstr(res->json, "selfLink")
       : kind == EDV_OP_DNS             ? edv__jstr(res->json, "id")
                                        : edv__jstr(res->json, "name"));
  if (kind == EDV_OP_DNS)
    snprintf(sr->rec.op_kind, sizeof(sr->rec.op_kind), "dns:%s",
             sr->act_zone ? sr->act_zone : "");
  else
    copy(sr->rec.op_kind, sizeof(sr->rec.op_kind), edv_op_kind_name(kind));
  json_object_put(sr->act_body);
  sr->act_body = json_object_get(res->json);
  step_save(sr, on_op_recorded);
  run_unref(tr);
}

static void act_send(edv__srun *sr, int result, const edv_error *err)
{
  edv__trun *tr = sr->tr;
  edv_request req;
  char *path;
  edv_error e;

  if (result) {
    /* The intent is not durable: do not act. */
    edv__step_done(sr, err);
    return;
  }
  if (tr->stopping) {
    edv_error_set(&e, EDV_ECANCELED, "stopped");
    edv__step_done(sr, &e);
    return;
  }
  path = strdup(sr->act_path);
  if (path && sr->rec.request_id[0])
    path = edv__url_append_query(path, "requestId", sr->rec.request_id);
  if (!path) {
    edv__step_fail(sr, EDV_ENOMEM, "out of memory");
    return;
  }
  memset(&req, 0, sizeof(req));
  req.api = sr->act_api;
  req.method = sr->act_method;
  req.path = path;
  req.body = sr->act_body;
  req.label = sr->act_label;
  sr->act_sent_ms = uv_now(tr->fleet->loop);
  tr->refs++;
  result =
      edv_call_submit(tr->fleet->engine, &req, on_act_response, sr, &sr->call);
  free(path);
  json_object_put(sr->act_body);
  sr->act_body = NULL;
  if (result) {
    tr->refs--;
    edv_error_set(&e, (edv_code)result, "cannot submit %s", sr->act_label);
    edv__step_done(sr, &e);
  }
}

/* APIs that deduplicate a repeated mutation by requestId. */
static int api_takes_request_id(edv_api api)
{
  return api == EDV_API_COMPUTE;
}

static void act_common(edv__srun *sr, edv_api api, const char *method,
                       const char *path, json_object *body, const char *label,
                       const char *zone, edv__step_json_fn cb)
{
  char what[EDV_STORE_RES_SZ];

  snprintf(what, sizeof(what), "%s %s", method, path);
  free(sr->act_method);
  free(sr->act_path);
  free(sr->act_label);
  free(sr->act_zone);
  json_object_put(sr->act_body);
  sr->act_api = api;
  sr->act_method = xstrdup(method);
  sr->act_path = xstrdup(path);
  sr->act_label = xstrdup(label ? label : sr->def->name);
  sr->act_zone = xstrdup(zone);
  sr->act_body = body;
  sr->act_cb = cb;
  /* Same act as the recorded intent (a resumed or retried step): reuse
   * its requestId, so that Compute returns the first operation instead of
   * creating a second resource. */
  if (!(sr->rec.state == EDV_STEP_INTENT &&
        strcmp(sr->rec.resource, what) == 0 && sr->rec.request_id[0])) {
    sr->rec.request_id[0] = '\0';
    if (api_takes_request_id(api))
      edv__request_id(sr->rec.request_id);
  }
  if (sr->tr->planning) {
    /* A plan reports the call and carries on as if it had succeeded. */
    emit(sr->tr, EDV_EV_PLAN, sr, what, NULL);
    json_object_put(sr->act_body);
    sr->act_body = NULL;
    edv__step_done(sr, NULL);
    return;
  }
  sr->rec.state = EDV_STEP_INTENT;
  copy(sr->rec.resource, sizeof(sr->rec.resource), what);
  sr->rec.op_name[0] = '\0';
  sr->rec.op_kind[0] = '\0';
  if (sr->tr->dir == EDV_DIR_UP)
    step_save(sr, act_send);
  else
    act_send(sr, 0, NULL);
}

void edv__step_act(edv__srun *sr, edv_api api, const char *method,
                   const char *path, json_object *body, const char *label,
                   edv__step_json_fn cb)
{
  sr->act_eexist = 0;
  act_common(sr, api, method, path, body, label, NULL, cb);
}

void edv__step_act_eexist(edv__srun *sr, edv_api api, const char *method,
                          const char *path, json_object *body,
                          const char *label, edv__step_json_fn cb)
{
  sr->act_eexist = 1;
  act_common(sr, api, method, path, body, label, NULL, cb);
}

void edv__step_act_dns(edv__srun *sr, const char *zone, const char *path,
                       json_object *body, edv__step_json_fn cb)
{
  sr->act_eexist = 0;
  act_common(sr, EDV_API_DNS, "POST", path, body, "dns.changes.create", zone,
             cb);
}

/* ---- scheduling --------------------------------------------------------- */

int edv__step_needs(const edv__step_def *a, const char *b)
{
  for (unsigned d = 0; d < EDV_STEP_MAX_DEPS && a->deps[d]; d++)
    if (strcmp(a->deps[d], b) == 0)
      return 1;
  return 0;
}

static int deps_met(edv__trun *tr, edv__srun *sr)
{
  if (sr->def->flags & EDV_STEP_FIRST)
    return 1;
  for (unsigned i = 0; i < tr->n; i++)
    if ((tr->steps[i].def->flags & EDV_STEP_FIRST) &&
        tr->steps[i].state != SR_DONE)
      return 0;
  for (unsigned i = 0; i < tr->n; i++) {
    const edv__srun *o = &tr->steps[i];
    /* Up: every step this one needs is done first; down: every step that
     * needs this one is gone first (the same deps, reversed). */
    int first = tr->dir == EDV_DIR_UP ? edv__step_needs(sr->def, o->def->name)
                                      : edv__step_needs(o->def, sr->def->name);
    if (first && o->state != SR_DONE)
      return 0;
  }
  return 1;
}

static void on_resumed_op(void *data, json_object *op, const edv_error *err)
{
  edv__srun *sr = data;
  edv__trun *tr = sr->tr;

  sr->waiter = NULL;
  (void)op;
  if (err && err->code == EDV_ECANCELED) {
    edv__step_done(sr, err);
  } else {
    /* Whatever the operation's outcome, observe: the step's own verify
     * decides (a failed insert is re-issued, a finished one verified). */
    if (err)
      EDV_LOG_I(MOD, "%s/%s: recorded operation ended: %s", tr->id,
                sr->def->name, err->message);
    sr->rec.state = EDV_STEP_INTENT;
    sr->rec.op_name[0] = '\0';
    if (tr->dir == EDV_DIR_UP)
      sr->def->up(sr);
    else
      sr->def->down(sr);
  }
  run_unref(tr);
}

static int resume_recorded_op(edv__srun *sr)
{
  edv__trun *tr = sr->tr;
  edv_op_wait_opts o;
  edv_op_kind kind = EDV_OP_UNKNOWN;
  edv_error err;
  const char *k = sr->rec.op_kind;

  memset(&o, 0, sizeof(o));
  o.project = tr->fleet->project;
  o.deadline_ms = tr->fleet->ready_timeout_ms;
  o.poll_initial_ms = edv__fleet_op_poll_ms(tr->fleet);
  if (strcmp(k, "compute") == 0)
    kind = EDV_OP_COMPUTE;
  else if (strcmp(k, "sql") == 0)
    kind = EDV_OP_SQL;
  else if (strcmp(k, "lro") == 0)
    kind = EDV_OP_LRO;
  else if (strncmp(k, "dns:", 4) == 0) {
    kind = EDV_OP_DNS;
    o.managed_zone = k + 4;
  }
  if (kind == EDV_OP_UNKNOWN)
    return -1;
  journal(tr, "resume", sr->def->name, "await recorded operation",
          sr->rec.op_name, 0, NULL);
  tr->refs++;
  if (edv_op_wait_name(tr->fleet->engine, kind, sr->rec.op_name, NULL, &o,
                       on_resumed_op, sr, &sr->waiter, &err)) {
    tr->refs--;
    return -1;
  }
  return 0;
}

static void step_start(edv__srun *sr)
{
  edv__trun *tr = sr->tr;

  if (tr->dir == EDV_DIR_SUSPEND &&
      !(sr->def->flags & (EDV_STEP_SUSPEND | EDV_STEP_FIRST))) {
    /* Not touched by a suspension. */
    sr->state = SR_DONE;
    run_schedule(tr);
    return;
  }
  sr->state = SR_RUNNING;
  sr->stage = 0;
  sr->attempts++;
  sr->started_ms = uv_now(tr->fleet->loop);
  if (sr->attempts == 1)
    sr->first_ms = sr->started_ms;
  if (tr->dir == EDV_DIR_UP) {
    if (sr->rec.started_ms == 0)
      sr->rec.started_ms = edv__store_now(tr->fleet->store);
    sr->rec.attempt++;
  }
  emit(tr, EDV_EV_STEP_START, sr, sr->attempts > 1 ? "retry" : NULL, NULL);
  if (tr->dir == EDV_DIR_UP && sr->rec.state == EDV_STEP_WAITING &&
      sr->rec.op_name[0] && resume_recorded_op(sr) == 0)
    return;
  if (tr->dir == EDV_DIR_UP || (sr->def->flags & EDV_STEP_FIRST))
    sr->def->up(sr);
  else if (sr->def->down)
    sr->def->down(sr);
  else
    edv__step_done(sr, NULL);
}

/* The final phase write of the run is durable (or failed: the run already
 * carries the error); the run ends. */
static void run_finished(edv__trun *tr, int result, const edv_error *err)
{
  (void)result;
  (void)err;
  run_end(tr);
}

static void retire_done(edv__trun *tr);

static void run_maybe_end(edv__trun *tr)
{
  unsigned done = 0, running = 0;

  if (tr->ended || tr->finishing)
    return;
  for (unsigned i = 0; i < tr->n; i++) {
    if (tr->steps[i].state == SR_DONE)
      done++;
    else if (tr->steps[i].state == SR_RUNNING)
      running++;
  }
  if (running)
    return;
  if (tr->down_requested) {
    /* A delete was asked for: going down comes next, READY or FAILED
     * would only hide the DEPROVISIONING the record holds. */
    if (!tr->err.code)
      edv_error_set(&tr->err, EDV_ECANCELED,
                    "stopped: tenant '%s' is to be deleted", tr->id);
    run_end(tr);
    return;
  }
  if (done == tr->n && !tr->write_failed) {
    /* Queued behind the steps' last records: durable only after them. */
    tr->finishing = 1;
    if (tr->dir == EDV_DIR_UP)
      set_phase_then(tr, EDV_PHASE_READY, NULL, 0, run_finished);
    else if (tr->dir == EDV_DIR_SUSPEND)
      set_phase_then(tr, EDV_PHASE_SUSPENDED, NULL, 0, run_finished);
    else if (tr->retire)
      retire_done(tr);
    else if (tr->move_defs)
      set_phase_then(tr, EDV_PHASE_PENDING, NULL, PHASE_MOVED, run_finished);
    else
      set_phase_then(tr, EDV_PHASE_DELETED, NULL, !tr->platform, run_finished);
    return;
  }
  if (tr->stopping || tr->write_failed) {
    if (tr->err.code && tr->err.code != EDV_ECANCELED && !tr->write_failed &&
        !tr->retire) {
      tr->finishing = 1;
      set_phase_then(tr, EDV_PHASE_FAILED, &tr->err, 0, run_finished);
      return;
    }
    if (!tr->err.code)
      edv_error_set(&tr->err, EDV_ECANCELED,
                    "stopped; resume with `edvctl tenant resume %s`", tr->id);
    run_end(tr);
  }
}

/* Starts every step whose dependencies are met. A step that finishes
 * synchronously (no down action) re-enters here through edv__step_done(),
 * so one pass suffices. */
static void run_schedule(edv__trun *tr)
{
  if (tr->ended)
    return;
  for (unsigned i = 0; i < tr->n && !tr->stopping; i++) {
    edv__srun *sr = &tr->steps[i];
    if (sr->state != SR_BLOCKED || !deps_met(tr, sr))
      continue;
    step_start(sr);
    if (tr->ended)
      return;
  }
  run_maybe_end(tr);
}

/* ---- fleet -------------------------------------------------------------- */

int edv__fleet_new(uv_loop_t *loop, const edv__fleet_opts *o, edv__fleet **out,
                   edv_error *err)
{
  edv__fleet *f;
  char host[64] = "localhost";
  char holder[EDV_STORE_HOLDER_SZ];

  if (!loop || !o || !o->engine || !o->store || !o->tiers || !out)
    return edv_error_set(err, EDV_EINVAL,
                         "fleet: missing engine, store "
                         "or tiers");
  f = calloc(1, sizeof(*f));
  if (!f)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  f->loop = loop;
  f->engine = o->engine;
  f->store = o->store;
  f->tiers = o->tiers;
  f->batch = edv__store_batch_new(loop, o->store);
  gethostname(host, sizeof(host) - 1);
  snprintf(holder, sizeof(holder), "edv@%s:%ld", host, (long)getpid());
  f->project = xstrdup(o->project ? o->project : edv_engine_project(o->engine));
  f->domain = xstrdup(o->domain ? o->domain : "edvirons.com");
  f->reserved = xstrdup(o->reserved ? o->reserved : EDV_DNS_RESERVED_DEFAULT);
  f->backup_location = xstrdup(o->backup_loc ? o->backup_loc : "auto");
  f->alert_targets = edv__alert_targets_new(o);
  if (f->domain && f->domain[0] && f->domain[strlen(f->domain) - 1] == '.')
    f->domain[strlen(f->domain) - 1] = '\0';
  f->region = xstrdup(o->region ? o->region : "us-central1");
  f->network = xstrdup(o->network ? o->network : "edv-tenants");
  f->supernet = xstrdup(o->supernet ? o->supernet : EDV_SUBNET_SUPERNET);
  f->holder = xstrdup(o->holder ? o->holder : holder);
  f->actor = xstrdup(o->actor ? o->actor : "edv");
  f->subnet_prefix = o->subnet_prefix ? o->subnet_prefix : EDV_SUBNET_PREFIX;
  f->max_attempts = o->max_attempts ? o->max_attempts : 8;
  f->retry_base_ms = o->retry_base_ms ? o->retry_base_ms : 2000;
  f->lease_ttl_ms = o->lease_ttl_ms ? o->lease_ttl_ms : 60000;
  f->poll_ms = o->poll_ms ? o->poll_ms : 2000;
  f->ready_timeout_ms =
      o->ready_timeout_ms ? o->ready_timeout_ms : 30ull * 60 * 1000;
  f->on_event = o->on_event;
  f->event_data = o->event_data;
  if (!f->batch || !f->project || !f->domain || !f->reserved || !f->region ||
      !f->network || !f->supernet || !f->holder || !f->actor ||
      !f->backup_location || !f->alert_targets) {
    edv_code code = f->project ? EDV_ENOMEM : EDV_ECONFIG;
    if (f->batch)
      edv__store_batch_close(f->batch, NULL, NULL);
    free(f->project);
    free(f->domain);
    free(f->reserved);
    free(f->backup_location);
    json_object_put(f->alert_targets);
    free(f->region);
    free(f->network);
    free(f->supernet);
    free(f->holder);
    free(f->actor);
    free(f);
    return edv_error_set(err, code,
                         code == EDV_ECONFIG
                             ? "fleet: no project configured (set `project` "
                               "or use a key file that names one)"
                             : "out of memory");
  }
  *out = f;
  return 0;
}

edv_engine *edv__fleet_engine(const edv__fleet *f)
{
  return f->engine;
}

edv_store *edv__fleet_store(const edv__fleet *f)
{
  return f->store;
}

edv__store_batch *edv__fleet_batch(const edv__fleet *f)
{
  return f ? f->batch : NULL;
}

const edv__tiers *edv__fleet_tiers(const edv__fleet *f)
{
  return f->tiers;
}

const char *edv__fleet_project(const edv__fleet *f)
{
  return f->project;
}

const char *edv__fleet_network(const edv__fleet *f)
{
  return f->network;
}

const char *edv__fleet_region(const edv__fleet *f)
{
  return f->region;
}

const char *edv__fleet_domain(const edv__fleet *f)
{
  return f->domain;
}

const char *edv__fleet_reserved_labels(const edv__fleet *f)
{
  return f->reserved;
}

const char *edv__fleet_backup_location(const edv__fleet *f)
{
  return f->backup_location;
}

json_object *edv__fleet_alert_targets(const edv__fleet *f)
{
  return f->alert_targets;
}

unsigned edv__fleet_active(const edv__fleet *f)
{
  return f->active;
}

uv_loop_t *edv__fleet_loop(const edv__fleet *f)
{
  return f->loop;
}

edv__shared *edv__fleet_shared(edv__fleet *f)
{
  if (!f->shared)
    f->shared = edv__shared_new(f);
  return f->shared;
}

uint64_t edv__fleet_poll_ms(const edv__fleet *f)
{
  return f->poll_ms;
}

/*
 * The first poll delay of operation waits. The waiter's default (1 s,
 * doubling) suits the real cloud; a fleet told to poll faster than that
 * (edvctl --sim, tests, benchmarks: the simulator finishes operations in
 * milliseconds) polls operations as fast, otherwise every SQL, DNS and
 * Certificate Manager operation cost a whole second and a tenant on the
 * fast profile took ~9 s instead of ~2 s. 0 keeps the waiter's default.
 */
uint64_t edv__fleet_op_poll_ms(const edv__fleet *f)
{
  return f->poll_ms < 1000 ? f->poll_ms : 0;
}

const char *edv__fleet_supernet(const edv__fleet *f, unsigned *prefix)
{
  if (prefix)
    *prefix = f->subnet_prefix;
  return f->supernet;
}

int edv__fleet_set_ops_ssh(edv__fleet *f, const char *tenant, int on,
                           edv_error *err)
{
  edv__tenant_rec rec;
  edv__tenant_spec spec;
  edv__journal_rec j;
  json_object *o;
  int result;

  if (edv__store_tenant_get(f->store, tenant, &rec, NULL) != 0)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%.64s' does not exist",
                         tenant);
  if (rec.phase == EDV_PHASE_DELETED || rec.phase == EDV_PHASE_DEPROVISIONING)
    return edv_error_set(err, EDV_ECONFLICT, "tenant '%s' is %s", rec.id,
                         edv__phase_name(rec.phase));
  o = json_tokener_parse(rec.spec_json);
  result = o ? edv__spec_from_json(o, &spec, err) : EDV_EPROTO;
  json_object_put(o);
  if (result)
    return edv_error_set(err, EDV_EPROTO, "tenant '%s': stored spec unreadable",
                         rec.id);
  if (!spec.ops_ssh == !on)
    return 0;
  spec.ops_ssh = on;
  o = edv__spec_to_json(&spec);
  if (!o)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  copy(rec.spec_json, sizeof(rec.spec_json),
       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  result = edv__store_tenant_put(f->store, &rec, EDV_PUT_UPDATE, err);
  if (result)
    return result;
  memset(&j, 0, sizeof(j));
  copy(j.tenant, sizeof(j.tenant), rec.id);
  copy(j.actor, sizeof(j.actor), f->actor);
  copy(j.event, sizeof(j.event), "updated");
  copy(j.api_call, sizeof(j.api_call), on ? "ops_ssh on" : "ops_ssh off");
  edv__store_journal_append(f->store, &j, NULL, NULL);
  return 0;
}

int edv__fleet_recover(edv__fleet *f, const char *id, char *backup, size_t size,
                       edv_error *err)
{
  edv__tenant_rec rec;
  edv__tenant_spec spec;
  edv__step_rec kept, sr;
  json_object *o;
  char expiry[64];
  int result;

  if ((result = edv__store_tenant_get(f->store, id, &rec, err)) != 0)
    return result;
  if (rec.phase != EDV_PHASE_DELETED)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' is %s: only a DELETED tenant can be "
                         "recovered",
                         rec.id, edv__phase_name(rec.phase));
  if (edv__store_step_get(f->store, id, "sql_instance", &kept, NULL) != 0 ||
      kept.state != EDV_STEP_DONE ||
      edv__final_backup_parse(kept.resource, backup, size, expiry,
                              sizeof(expiry)) != 0)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' has no final backup on record: "
                         "nothing to recover from",
                         rec.id);
  o = json_tokener_parse(rec.spec_json);
  result = o ? edv__spec_from_json(o, &spec, err) : EDV_EPROTO;
  json_object_put(o);
  if (result)
    return edv_error_set(err, EDV_EINTERNAL,
                         "tenant '%s': stored spec unreadable", rec.id);
  memset(&sr, 0, sizeof(sr));
  copy(sr.tenant, sizeof(sr.tenant), rec.id);
  copy(sr.step, sizeof(sr.step), "sql_restore");
  sr.state = EDV_STEP_PENDING;
  copy(sr.resource, sizeof(sr.resource), backup);
  if ((result = edv__store_begin(f->store, err)) != 0)
    return result;
  if ((result = edv__store_step_put(f->store, &sr, err)) != 0 ||
      (result = edv__fleet_register(f, &spec, err)) != 0 ||
      (result = edv__store_commit(f->store, err)) != 0) {
    edv__store_rollback(f->store, NULL);
    return result;
  }
  return 0;
}

/* A new tenant (or a new life) runs the fleet's current release ("":
 * none defined, the stock image). */
static void register_release(edv__fleet *f, edv__tenant_rec *rec)
{
  edv__release_rec cur;

  rec->release[0] = '\0';
  if (edv__store_release_current(f->store, &cur, NULL) == 0)
    copy(rec->release, sizeof(rec->release), cur.version);
}

int edv__fleet_register(edv__fleet *f, const edv__tenant_spec *spec,
                        edv_error *err)
{
  edv__tenant_rec rec, old;
  json_object *js;
  int result;

  result = edv__spec_validate(spec, f->tiers, NULL, NULL, f->domain, err);
  if (!result)
    result = edv__spec_check_reserved(spec, f->reserved, err);
  if (result)
    return result;
  if (edv__store_tenant_get(f->store, spec->id, &old, NULL) == 0 &&
      old.phase == EDV_PHASE_DELETED) {
    /* A new life for a deleted tenant: the new spec, the generation moved
     * on by the deletion (Cloud SQL name reuse). */
    json_object *js2 = edv__spec_to_json(spec);
    if (!js2)
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
    copy(old.slug, sizeof(old.slug), spec->slug);
    copy(old.tier, sizeof(old.tier), spec->tier);
    copy(old.spec_json, sizeof(old.spec_json),
         json_object_to_json_string_ext(js2, JSON_C_TO_STRING_PLAIN));
    json_object_put(js2);
    old.phase = EDV_PHASE_PENDING;
    old.last_error[0] = '\0';
    register_release(f, &old);
    return edv__store_tenant_put(f->store, &old, EDV_PUT_UPDATE, err);
  }
  if (edv__store_tenant_get(f->store, spec->id, &old, NULL) == 0) {
    edv__tenant_spec cur;
    json_object *o = json_tokener_parse(old.spec_json);
    int same = o && edv__spec_from_json(o, &cur, NULL) == 0 &&
               edv__spec_equal(&cur, spec);
    json_object_put(o);
    if (!same)
      return edv_error_set(err, EDV_EEXIST,
                           "tenant '%s' already exists with a different "
                           "spec (delete it first, or use the same spec)",
                           spec->id);
    return 0;
  }
  memset(&rec, 0, sizeof(rec));
  copy(rec.id, sizeof(rec.id), spec->id);
  copy(rec.slug, sizeof(rec.slug), spec->slug);
  copy(rec.tier, sizeof(rec.tier), spec->tier);
  js = edv__spec_to_json(spec);
  if (!js)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  copy(rec.spec_json, sizeof(rec.spec_json),
       json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
  json_object_put(js);
  rec.phase = EDV_PHASE_PENDING;
  rec.generation = 1;
  register_release(f, &rec);
  result = edv__store_tenant_put(f->store, &rec, EDV_PUT_CREATE, err);
  if (result == 0) {
    edv__journal_rec j;
    memset(&j, 0, sizeof(j));
    copy(j.tenant, sizeof(j.tenant), spec->id);
    copy(j.actor, sizeof(j.actor), f->actor);
    copy(j.event, sizeof(j.event), "created");
    copy(j.api_call, sizeof(j.api_call), spec->tier);
    edv__store_journal_append(f->store, &j, NULL, NULL);
  }
  return result;
}

/* The platform's record: created on first use. */
static int platform_record(edv__fleet *f, edv__tenant_rec *rec, edv_error *err)
{
  if (edv__store_tenant_get(f->store, EDV_PLATFORM_ID, rec, NULL) == 0)
    return 0;
  memset(rec, 0, sizeof(*rec));
  copy(rec->id, sizeof(rec->id), EDV_PLATFORM_ID);
  copy(rec->slug, sizeof(rec->slug), EDV_PLATFORM_ID);
  copy(rec->tier, sizeof(rec->tier), "platform");
  copy(rec->spec_json, sizeof(rec->spec_json), "{}");
  rec->phase = EDV_PHASE_PENDING;
  rec->generation = 1;
  return edv__store_tenant_put(f->store, rec, EDV_PUT_UPSERT, err);
}

static int load_step_rec(edv_store *st, edv__trun *tr, edv__srun *sr)
{
  edv_error err;

  if (!tr->retire &&
      edv__store_step_get(st, tr->id, sr->def->name, &sr->rec, &err) == 0)
    return 0;
  memset(&sr->rec, 0, sizeof(sr->rec));
  copy(sr->rec.tenant, sizeof(sr->rec.tenant), tr->id);
  copy(sr->rec.step, sizeof(sr->rec.step), sr->def->name);
  sr->rec.state = EDV_STEP_PENDING;
  return 0;
}

static int run_init(edv__fleet *f, edv__trun *tr, const char *tenant,
                    edv_error *err)
{
  int result;

  copy(tr->id, sizeof(tr->id), tenant);
  tr->platform = strcmp(tenant, EDV_PLATFORM_ID) == 0;
  if (tr->platform) {
    result = platform_record(f, &tr->rec, err);
    if (result)
      return result;
    tr->defs = edv__platform_steps;
    tr->n = edv__platform_nsteps;
    snprintf(tr->marker, sizeof(tr->marker), "%s", EDV_MARKER_PLATFORM);
    return 0;
  }
  result = edv__store_tenant_get(f->store, tenant, &tr->rec, err);
  if (result)
    return result;
  {
    json_object *o = json_tokener_parse(tr->rec.spec_json);
    result = o ? edv__spec_from_json(o, &tr->spec, err) : EDV_EPROTO;
    json_object_put(o);
    if (result)
      return edv_error_set(err, (edv_code)result,
                           "tenant '%s': stored spec is unreadable", tenant);
  }
  tr->tier = edv__tiers_find(f->tiers, tr->spec.tier);
  if (!tr->tier)
    return edv_error_set(err, EDV_EINVAL,
                         "tenant '%s': tier '%s' is not in the tiers file",
                         tenant, tr->spec.tier);
  edv__tenant_description(tr->spec.id, tr->marker, sizeof(tr->marker));
  if ((result = edv__vmgen_get(f->store, tenant, &tr->vmgen, err)))
    return result;
  tr->defs = edv__tenant_steps;
  tr->n = edv__tenant_nsteps;
  return 0;
}

/* ---- release change (tenant/vmswap.h) ----------------------------------- */

const edv__vmgen *edv__srun_vmgen(const edv__srun *sr)
{
  return &sr->tr->vmgen;
}

typedef struct vmgen_ctx {
  edv__srun *sr;
  edv__vmgen g;
  int has_release;
  char release[EDV_STORE_VERSION_SZ];
  edv__srun_fn then;
} vmgen_ctx;

static int vmgen_apply(edv_store *st, void *data, edv_error *err)
{
  vmgen_ctx *vc = data;
  edv__trun *tr = vc->sr->tr;
  edv__step_rec r;
  edv__tenant_rec rec;
  int rc;

  edv__vmgen_record(tr->id, &vc->g, edv__store_now(st), &r);
  if ((rc = edv__store_step_put(st, &r, err)) || !vc->has_release)
    return rc;
  if ((rc = edv__store_tenant_get(st, tr->id, &rec, err)))
    return rc;
  copy(rec.release, sizeof(rec.release), vc->release);
  return edv__store_tenant_put(st, &rec, EDV_PUT_UPDATE, err);
}

static void vmgen_done(void *data, int result, const edv_error *err)
{
  vmgen_ctx *vc = data;
  edv__srun *sr = vc->sr;
  edv__trun *tr = sr->tr;

  if (result == 0) {
    tr->vmgen = vc->g;
    if (vc->has_release)
      copy(tr->rec.release, sizeof(tr->rec.release), vc->release);
    vc->then(sr);
  } else {
    edv_error e;
    if (!err) {
      edv_error_set(&e, (edv_code)result, "cannot save the VM generation");
      err = &e;
    }
    edv__step_done(sr, err);
  }
  free(vc);
  run_write_settled(tr);
  run_unref(tr);
}

void edv__srun_vmgen_save(edv__srun *sr, const edv__vmgen *g,
                          const char *release, edv__srun_fn then)
{
  edv__trun *tr = sr->tr;
  vmgen_ctx *vc;
  edv_error err;
  int result;

  if (tr->planning) {
    then(sr);
    return;
  }
  if (!(vc = calloc(1, sizeof(*vc)))) {
    edv__step_fail(sr, EDV_ENOMEM, "out of memory saving the VM generation");
    return;
  }
  vc->sr = sr;
  vc->g = *g;
  vc->then = then;
  if (release) {
    vc->has_release = 1;
    copy(vc->release, sizeof(vc->release), release);
  }
  tr->refs++;
  tr->writes++;
  result = edv__store_batch_add(tr->fleet->batch, vmgen_apply, vmgen_done, vc);
  if (result) {
    tr->refs--;
    tr->writes--;
    free(vc);
    edv_error_set(&err, (edv_code)result, "cannot queue the VM generation");
    edv__step_done(sr, &err);
  }
}

int edv__fleet_set_release(edv__fleet *f, const char *id, const char *version,
                           uint64_t timeout_ms, edv_error *err)
{
  edv__tenant_rec rec;
  edv__release_rec rel;
  edv__vmgen g;
  edv__step_rec r;
  int result;

  if ((result = edv__store_tenant_get(f->store, id, &rec, err)) ||
      (result = edv__vmgen_get(f->store, id, &g, err)))
    return result;
  if (g.pending && strcmp(g.to, version) == 0)
    return 0;
  if (g.pending)
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' is changing to release %s; change it "
                         "once that ends",
                         rec.id, g.to);
  if (rec.phase != EDV_PHASE_READY)
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' is %s: only a READY tenant changes its "
                         "release",
                         rec.id, edv__phase_name(rec.phase));
  if ((result = edv__store_release_get(f->store, version, &rel, err)))
    return result == EDV_ENOTFOUND
               ? (int)edv_error_set(err, EDV_EINVAL,
                                    "field 'release': no release '%s' "
                                    "(edvctl release list)",
                                    version)
               : result;
  if (strcmp(rec.release, rel.version) == 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'release': tenant '%s' already runs release "
                         "%s",
                         rec.id, rel.version);
  g.pending = 1;
  g.committed = g.rollback = 0;
  g.other = g.cur + 1;
  copy(g.from, sizeof(g.from), rec.release);
  copy(g.to, sizeof(g.to), rel.version);
  g.deadline_ms = edv__store_now(f->store) + (int64_t)timeout_ms;
  g.health[0] = '\0';
  edv__vmgen_record(rec.id, &g, edv__store_now(f->store), &r);
  return edv__store_step_put(f->store, &r, err);
}

/* ---- region move --------------------------------------------------------
 *
 * `tenant move` records the target region in the "move" record (state
 * PENDING) before anything is done. While it is there, a run of the tenant
 * goes down through the region-bound steps only (the load balancer's host
 * rule and backend service, which hold the instance group, the instance
 * group, snapshot schedule, VM, database and subnet: the old region is
 * retired, the Cloud SQL instance with its final backup), and its last
 * write, one transaction, puts the tenant PENDING in the new region: the
 * spec's region, the next SQL name generation, those steps' records reset
 * (but the preflight's: it finds the zone, and runs first either way)
 * with the sql_restore step naming the final backup (what `tenant recover`
 * restores), the move record DONE. The run then goes up, recreating them
 * in the new region. Every stage is an ordinary step or a single write:
 * a run killed anywhere resumes from the records.
 */

static const char *const move_steps[] = {
    "preflight",       "url_map_rule", "backend_service", "instance_group",
    "snapshot_policy", "vm",           "sql_user",        "sql_database",
    "sql_restore",     "sql_instance", "subnet",          "region_nat",
};

int edv__fleet_move_target(edv__fleet *f, const char *id, char *region,
                           size_t size)
{
  edv__step_rec r;

  if (edv__store_step_get(f->store, id, EDV_MOVE_STEP, &r, NULL) != 0 ||
      r.state != EDV_STEP_PENDING || !r.resource[0])
    return -1;
  copy(region, size, r.resource);
  return 0;
}

int edv__fleet_move(edv__fleet *f, const char *id, const char *region,
                    const char *failover, edv_error *err)
{
  edv__tenant_rec rec;
  edv__step_rec r, fo;
  int result;

  if ((result = edv__store_tenant_get(f->store, id, &rec, err)) != 0)
    return result;
  if (rec.phase != EDV_PHASE_READY)
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' is %s: only a READY tenant can be "
                         "moved",
                         rec.id, edv__phase_name(rec.phase));
  memset(&r, 0, sizeof(r));
  copy(r.tenant, sizeof(r.tenant), rec.id);
  copy(r.step, sizeof(r.step), EDV_MOVE_STEP);
  r.state = EDV_STEP_PENDING;
  copy(r.resource, sizeof(r.resource), region);
  r.started_ms = edv__store_now(f->store);
  if (!failover)
    return edv__store_step_put(f->store, &r, err);
  if (strlen(failover) >= sizeof(fo.resource))
    return edv_error_set(err, EDV_EINVAL,
                         "tenant '%s': failover record too long", rec.id);
  fo = r;
  copy(fo.step, sizeof(fo.step), EDV_FAILOVER_STEP);
  copy(fo.resource, sizeof(fo.resource), failover);
  /* Both or neither: a failover record is only ever beside its move. */
  if ((result = edv__store_begin(f->store, err)))
    return result;
  if ((result = edv__store_step_put(f->store, &fo, err)) ||
      (result = edv__store_step_put(f->store, &r, err))) {
    edv__store_rollback(f->store, NULL);
    return result;
  }
  return edv__store_commit(f->store, err);
}

/* The tenant's "failover" record, PENDING, and its JSON (the caller puts
 * it): 0, or -1 when there is none. */
static int failover_get(edv_store *st, const char *id, edv__step_rec *r,
                        json_object **o)
{
  if (edv__store_step_get(st, id, EDV_FAILOVER_STEP, r, NULL) != 0 ||
      r->state != EDV_STEP_PENDING || !(*o = json_tokener_parse(r->resource)))
    return -1;
  if (!json_object_is_type(*o, json_type_object)) {
    json_object_put(*o);
    return -1;
  }
  return 0;
}

int edv__fleet_retire_pending(edv__fleet *f, const char *id, char *region,
                              size_t size)
{
  edv__step_rec r;
  json_object *o;
  char to[EDV_REGION_MAX + 1];
  int pending;

  if (edv__fleet_move_target(f, id, to, sizeof(to)) == 0 ||
      failover_get(f->store, id, &r, &o) != 0)
    return 0;
  pending = edv__jstr(o, "from") != NULL;
  if (pending)
    copy(region, size, edv__jstr(o, "from"));
  json_object_put(o);
  return pending;
}

typedef struct ids_ctx {
  char (*ids)[EDV_STORE_ID_SZ];
  size_t n, cap;
} ids_ctx;

static int ids_one(void *data, const edv__tenant_rec *rec)
{
  ids_ctx *c = data;

  if (c->n < c->cap)
    copy(c->ids[c->n++], sizeof(c->ids[0]), rec->id);
  return 0;
}

size_t edv__fleet_retiring_ranges(edv__fleet *f, edv_cidr *out, size_t max)
{
  char ids[128][EDV_STORE_ID_SZ], next[EDV_STORE_ID_SZ] = "";
  ids_ctx c = {ids, 0, 128};
  edv__tenant_filter flt;
  size_t n = 0;

  memset(&flt, 0, sizeof(flt));
  flt.phase = -1;
  flt.limit = 128;
  do {
    edv__step_rec r;
    json_object *o;

    flt.after = next;
    c.n = 0;
    if (edv__store_tenant_list(f->store, &flt, ids_one, &c, next, sizeof(next),
                               NULL))
      break;
    for (size_t i = 0; i < c.n && n < max; i++) {
      if (failover_get(f->store, ids[i], &r, &o) != 0)
        continue;
      if (edv__jstr(o, "cidr") &&
          edv__cidr_parse(edv__jstr(o, "cidr"), &out[n]) == 0)
        n++;
      json_object_put(o);
    }
  } while (next[0] && n < max);
  return n;
}

/* A failover's way down: the global pieces only (the old region is not
 * asked: its preflight would fail). */
static const char *const failover_steps[] = {"url_map_rule", "backend_service"};

/* The retirement of the old region, later: its region-bound resources
 * (the database's children go with the instance). */
static const char *const retire_steps[] = {
    "preflight", "instance_group", "snapshot_policy",
    "vm",        "sql_instance",   "subnet",
};

/* The run's steps narrowed to `names`. */
static int defs_filter(edv__trun *tr, const char *const *names, size_t nn,
                       edv_error *err)
{
  unsigned n = 0;

  tr->move_defs = calloc(tr->n, sizeof(*tr->move_defs));
  if (!tr->move_defs)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  for (unsigned i = 0; i < tr->n; i++)
    for (size_t k = 0; k < nn; k++)
      if (strcmp(tr->defs[i].name, names[k]) == 0)
        tr->move_defs[n++] = tr->defs[i];
  tr->defs = tr->move_defs;
  tr->n = n;
  return 0;
}

#define NAMES(a) (a), sizeof(a) / sizeof(*(a))

/* The way down of a move: the tenant's steps that are bound to its
 * region, or a failover's. */
static int move_filter(edv__trun *tr, edv_error *err)
{
  edv__step_rec r;
  json_object *o;

  if (failover_get(tr->fleet->store, tr->id, &r, &o) == 0) {
    tr->failover = 1;
    copy(tr->failover_backup, sizeof(tr->failover_backup),
         edv__jstr(o, "backup"));
    json_object_put(o);
    return defs_filter(tr, NAMES(failover_steps), err);
  }
  return defs_filter(tr, NAMES(move_steps), err);
}

/* EDV_DIR_RETIRE: the old region and generation the failover record
 * keeps, its region-bound steps. */
static int retire_setup(edv__trun *tr, edv_error *err)
{
  edv__step_rec r;
  json_object *o;
  const char *from;
  int64_t gen;
  int result;

  if (!edv__fleet_retire_pending(tr->fleet, tr->id, tr->move_to,
                                 sizeof(tr->move_to)) ||
      failover_get(tr->fleet->store, tr->id, &r, &o) != 0)
    return edv_error_set(err, EDV_ENOTFOUND,
                         "tenant '%s' has nothing left to retire", tr->id);
  from = edv__jstr(o, "from");
  gen = json_object_get_int64(json_object_object_get(o, "generation"));
  if (!from || strlen(from) >= sizeof(tr->spec.region) || gen < 0 ||
      gen > UINT32_MAX) {
    json_object_put(o);
    return edv_error_set(err, EDV_EPROTO,
                         "tenant '%s': its failover record is unreadable",
                         tr->id);
  }
  copy(tr->spec.region, sizeof(tr->spec.region), from);
  tr->rec.generation = (uint32_t)gen;
  json_object_put(o);
  tr->retire = 1;
  if ((result = defs_filter(tr, NAMES(retire_steps), err)))
    return result;
  return 0;
}

/* A retirement's end: the failover record DONE, with a journal line, in
 * one write behind its steps' journal lines. */
typedef struct retire_ctx {
  edv__trun *tr;
  edv__journal_rec j;
} retire_ctx;

static int retire_apply(edv_store *st, void *data, edv_error *err)
{
  retire_ctx *rc = data;
  edv__step_rec r;
  int result;

  if (rc->tr->write_failed)
    return edv_error_set(err, EDV_EIO,
                         "tenant '%s': an earlier record of this run was not "
                         "saved; the retirement is not recorded",
                         rc->tr->id);
  if ((result =
           edv__store_step_get(st, rc->tr->id, EDV_FAILOVER_STEP, &r, err)))
    return result;
  r.state = EDV_STEP_DONE;
  r.finished_ms = edv__store_now(st);
  if ((result = edv__store_step_put(st, &r, err)))
    return result;
  return edv__store_journal_append(st, &rc->j, NULL, err);
}

static void retire_written(void *data, int result, const edv_error *err)
{
  retire_ctx *rc = data;
  edv__trun *tr = rc->tr;

  if (result)
    run_write_failed(tr, "failover record", err);
  tr->writes--;
  free(rc);
  run_finished(tr, result, err);
  run_end_if_settled(tr);
  run_unref(tr);
}

static void retire_done(edv__trun *tr)
{
  retire_ctx *rc = calloc(1, sizeof(*rc));
  char what[EDV_REGION_MAX + 64];
  edv_error err;

  if (!rc) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    run_write_failed(tr, "failover record", &err);
    run_end(tr);
    return;
  }
  rc->tr = tr;
  snprintf(what, sizeof(what), "old region %s retired", tr->spec.region);
  journal_fill(tr, &rc->j, "retire", NULL, what, NULL, 0, NULL);
  tr->refs++;
  tr->writes++;
  if (edv__store_batch_add(tr->fleet->batch, retire_apply, retire_written,
                           rc)) {
    tr->refs--;
    tr->writes--;
    free(rc);
    edv_error_set(&err, EDV_EIO, "cannot queue the failover record");
    run_write_failed(tr, "failover record", &err);
    run_end(tr);
  }
}

static int move_apply(edv_store *st, edv__trun *tr, edv__tenant_rec *rec,
                      edv_error *err)
{
  edv__step_rec kept, r;
  edv__tenant_spec spec = tr->spec;
  char backup[EDV_STORE_RES_SZ], expiry[64];
  json_object *js;
  uint32_t gen;
  int rc;

  if (tr->failover)
    copy(backup, sizeof(backup), tr->failover_backup);
  else if (edv__store_step_get(st, rec->id, "sql_instance", &kept, NULL) != 0 ||
           kept.state != EDV_STEP_DONE ||
           edv__final_backup_parse(kept.resource, backup, sizeof(backup),
                                   expiry, sizeof(expiry)) != 0)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s': its Cloud SQL instance left no final "
                         "backup; the move to %s stops here",
                         rec->id, tr->move_to);
  /* A failover leaves the old subnet in place: the way up takes a new
   * range (the old one stays out of the pool while it is retired). */
  if (tr->failover && (rc = edv__store_subnet_release(st, rec->id, err)))
    return rc;
  copy(spec.region, sizeof(spec.region), tr->move_to);
  if (!(js = edv__spec_to_json(&spec)))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  copy(rec->spec_json, sizeof(rec->spec_json),
       json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
  json_object_put(js);
  /* Every region-bound step's record (but the preflight's), whichever
   * steps this way down ran. */
  for (size_t i = 1; i < sizeof(move_steps) / sizeof(*move_steps); i++) {
    memset(&r, 0, sizeof(r));
    copy(r.tenant, sizeof(r.tenant), rec->id);
    copy(r.step, sizeof(r.step), move_steps[i]);
    r.state = EDV_STEP_PENDING;
    if (strcmp(r.step, "sql_restore") == 0)
      copy(r.resource, sizeof(r.resource), backup);
    if ((rc = edv__store_step_put(st, &r, err)))
      return rc;
  }
  if ((rc = edv__store_step_get(st, rec->id, EDV_MOVE_STEP, &r, err)))
    return rc;
  r.state = EDV_STEP_DONE;
  r.finished_ms = edv__store_now(st);
  if ((rc = edv__store_step_put(st, &r, err)) ||
      (rc = edv__store_tenant_next_generation(st, rec->id, &gen, err)))
    return rc;
  rec->generation = gen;
  return 0;
}

/* A move's way down ended: its way up comes next, for the same caller. */
typedef struct move_chain {
  edv__fleet *f;
  edv__run_done_fn cb;
  void *data;
} move_chain;

static int fleet_run(edv__fleet *f, const char *tenant, edv__direction dir,
                     int planning, edv__run_done_fn cb, void *data,
                     edv_error *err);

static void move_down_done(void *data, const char *tenant,
                           edv_tenant_phase phase, const edv_error *err)
{
  move_chain *mc = data;
  edv_error e;

  if (!err && phase == EDV_PHASE_PENDING && !mc->f->closing) {
    if (fleet_run(mc->f, tenant, EDV_DIR_UP, 0, mc->cb, mc->data, &e) == 0) {
      free(mc);
      return;
    }
    err = &e;
  }
  if (mc->cb)
    mc->cb(mc->data, tenant, phase, err);
  free(mc);
}

int edv__fleet_drive(edv__fleet *f, const char *tenant, edv__direction dir,
                     edv__run_done_fn cb, void *data, edv_error *err)
{
  char to[EDV_REGION_MAX + 1];
  move_chain *mc;
  int result;

  if (!f || !tenant || edv__fleet_move_target(f, tenant, to, sizeof(to)))
    return fleet_run(f, tenant, dir, 0, cb, data, err);
  /* A move in flight: whichever way it was asked, down then up. */
  if (!(mc = calloc(1, sizeof(*mc))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  mc->f = f;
  mc->cb = cb;
  mc->data = data;
  if ((result =
           fleet_run(f, tenant, EDV_DIR_DOWN, 0, move_down_done, mc, err)) != 0)
    free(mc);
  return result;
}

int edv__fleet_plan(edv__fleet *f, const char *tenant, edv__run_done_fn cb,
                    void *data, edv_error *err)
{
  edv__tenant_rec rec;
  edv__direction dir = EDV_DIR_UP;

  /* In its deletion's grace, the tenant's wanted state is suspended. */
  if (edv__store_tenant_get(f->store, tenant, &rec, NULL) == 0 &&
      (rec.phase == EDV_PHASE_SUSPENDED || rec.phase == EDV_PHASE_SUSPENDING))
    dir = EDV_DIR_SUSPEND;
  return fleet_run(f, tenant, dir, 1, cb, data, err);
}

/*
 * Is the lease holder a process of this host that no longer exists?
 * Holders are named "<prog>@<host>:<pid>" (the fleet's default). A driver
 * killed with SIGKILL cannot release its lease, and waiting for the TTL
 * (60 s by default) after every crash would stall `tenant resume`; when the
 * holder ran on this very host and its pid is gone (kill(pid, 0) says
 * ESRCH), nobody can be driving the tenant, so the lease is taken over at
 * once. Anything else (another host, a live or unknown process, a holder
 * name of another form) is left to expire. A pid reused by an unrelated
 * process only delays the takeover until the TTL, it never allows two
 * drivers. Zombies count as alive until their parent reaps them.
 */
static int holder_dead(const char *holder)
{
  char host[256] = "";
  const char *at = strchr(holder, '@'), *colon = strrchr(holder, ':');
  char *end;
  long pid;

  if (!at || !colon || colon < at)
    return 0;
  if (gethostname(host, sizeof(host) - 1) != 0)
    return 0;
  if (strlen(host) != (size_t)(colon - at - 1) ||
      strncmp(at + 1, host, (size_t)(colon - at - 1)) != 0)
    return 0;
  errno = 0;
  pid = strtol(colon + 1, &end, 10);
  if (errno || *end || pid <= 1 || pid == (long)getpid())
    return 0;
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Takes the lease of a tenant whose holder died on this host: releases it
 * in the dead holder's name (a no-op if someone else already did and
 * re-took it), then acquires it normally, so two survivors racing here
 * still end with one driver. */
static int lease_take_over(edv__fleet *f, const char *tenant,
                           edv__lease_rec *cur, edv_error *err)
{
  char dead[EDV_STORE_HOLDER_SZ];
  edv_error e;
  int result;

  if (!holder_dead(cur->holder))
    return EDV_EBUSY;
  copy(dead, sizeof(dead), cur->holder);
  EDV_LOG_I(MOD, "%s: lease holder %s is dead; taking over", tenant, dead);
  result = edv__store_lease_release(f->store, tenant, dead, &e);
  if (result && result != EDV_ENOTFOUND) {
    if (err)
      *err = e;
    return result;
  }
  return edv__store_lease_acquire(f->store, tenant, f->holder,
                                  (int64_t)f->lease_ttl_ms, cur, err);
}

int edv__fleet_lease(edv__fleet *f, const char *key, edv__lease_rec *cur,
                     edv_error *err)
{
  edv__lease_rec c;
  int result;

  memset(&c, 0, sizeof(c));
  result = edv__store_lease_acquire(f->store, key, f->holder,
                                    (int64_t)f->lease_ttl_ms, &c, err);
  if (result == EDV_EBUSY && !(err && strcmp(err->where, "sqlite") == 0))
    result = lease_take_over(f, key, &c, err);
  if (cur)
    *cur = c;
  return result;
}

void edv__fleet_lease_drop(edv__fleet *f, const char *key)
{
  (void)edv__store_lease_release(f->store, key, f->holder, NULL);
}

static int fleet_run(edv__fleet *f, const char *tenant, edv__direction dir,
                     int planning, edv__run_done_fn cb, void *data,
                     edv_error *err)
{
  edv__trun *tr;
  edv__lease_rec cur;
  int result;

  if (!f || !tenant || f->closing)
    return edv_error_set(err, EDV_EINVAL, "fleet: bad arguments or closing");
  for (tr = f->runs; tr; tr = tr->next)
    if (strcmp(tr->id, tenant) == 0 && !tr->ended)
      return edv_error_set(err, EDV_EBUSY,
                           "tenant '%s' is already being driven here", tenant);
  tr = calloc(1, sizeof(*tr));
  if (!tr)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  tr->fleet = f;
  result = run_init(f, tr, tenant, err);
  if (result) {
    free(tr);
    return result;
  }
  if (dir == EDV_DIR_RETIRE) {
    if (planning || tr->platform)
      result = edv_error_set(err, EDV_EINVAL, "fleet: nothing to retire");
    else
      result = retire_setup(tr, err);
    if (result) {
      free(tr->move_defs);
      free(tr);
      return result;
    }
    dir = EDV_DIR_DOWN;
  } else if (dir == EDV_DIR_DOWN && tr->rec.phase == EDV_PHASE_DELETED) {
    free(tr);
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' is already deleted",
                         tenant);
  }
  tr->planning = planning;
  if (!planning && !tr->platform && dir == EDV_DIR_DOWN && !tr->retire &&
      edv__fleet_move_target(f, tr->id, tr->move_to, sizeof(tr->move_to)) ==
          0 &&
      (result = move_filter(tr, err)) != 0) {
    free(tr);
    return result;
  }
  memset(&cur, 0, sizeof(cur));
  result = planning
               ? 0
               : edv__store_lease_acquire(f->store, tr->id, f->holder,
                                          (int64_t)f->lease_ttl_ms, &cur, err);
  if (result == EDV_EBUSY && !(err && strcmp(err->where, "sqlite") == 0))
    result = lease_take_over(f, tr->id, &cur, err);
  else if (result == EDV_EBUSY) {
    /* The database was locked, not the lease held: say so. */
    free(tr->move_defs);
    free(tr);
    return result;
  }
  if (result) {
    free(tr->move_defs);
    free(tr);
    if (result == EDV_EBUSY)
      return edv_error_set(err, EDV_EBUSY,
                           "tenant '%s' is being driven by %s (lease until "
                           "%lld); try again when it ends or expires",
                           tenant, cur.holder, (long long)cur.expires_ms);
    return result;
  }
  tr->steps = calloc(tr->n, sizeof(*tr->steps));
  tr->facts = json_object_new_object();
  if (!tr->steps || !tr->facts) {
    if (!planning)
      edv__store_lease_release(f->store, tr->id, f->holder, NULL);
    free(tr->steps);
    json_object_put(tr->facts);
    free(tr->move_defs);
    free(tr);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  tr->dir = dir;
  tr->cb = cb;
  tr->cb_data = data;
  tr->started_ms = uv_now(f->loop);
  tr->refs = 1 + tr->n + 1; /* live + step timers + lease timer */
  for (unsigned i = 0; i < tr->n; i++) {
    edv__srun *sr = &tr->steps[i];
    sr->tr = tr;
    sr->def = &tr->defs[i];
    sr->index = i;
    uv_timer_init(f->loop, &sr->timer);
    sr->timer.data = sr;
    load_step_rec(f->store, tr, sr);
  }
  uv_timer_init(f->loop, &tr->lease_timer);
  tr->lease_timer.data = tr;
  if (!planning)
    uv_timer_start(&tr->lease_timer, on_lease_timer, f->lease_ttl_ms / 3,
                   f->lease_ttl_ms / 3);
  tr->next = f->runs;
  f->runs = tr;
  f->active++;
  tr->rec.last_error[0] = '\0';
  if (!tr->retire)
    set_phase(tr,
              dir == EDV_DIR_UP        ? EDV_PHASE_PROVISIONING
              : dir == EDV_DIR_SUSPEND ? EDV_PHASE_SUSPENDING
                                       : EDV_PHASE_DEPROVISIONING,
              NULL);
  run_schedule(tr);
  return 0;
}

void edv__fleet_stop(edv__fleet *f, const char *tenant)
{
  char id[EDV_STORE_ID_SZ];

  /* A canceled call may end the run right here, and the run's owner may
   * free `tenant` from its done callback (edvd passes its run record's
   * id): compare with a copy. */
  if (tenant)
    snprintf(id, sizeof(id), "%s", tenant);
  for (edv__trun *tr = f->runs; tr; tr = tr->next) {
    if (tr->ended || (tenant && strcmp(tr->id, id) != 0))
      continue;
    tr->stopping = 1;
    for (unsigned i = 0; i < tr->n; i++) {
      edv__srun *sr = &tr->steps[i];
      if (sr->state != SR_RUNNING)
        continue;
      if (sr->call)
        edv_call_cancel(sr->call);
      else if (sr->waiter)
        edv_op_cancel(sr->waiter);
      else if (uv_is_active((uv_handle_t *)&sr->timer)) {
        uv_timer_stop(&sr->timer);
        sr->state = SR_STOPPED;
      }
      /* Otherwise a store commit is pending: its callback sees
       * `stopping` and ends the step. */
    }
    run_maybe_end(tr);
  }
}

static void request_down_written(edv__trun *tr, int result,
                                 const edv_error *err)
{
  (void)result;
  if (tr->down_cb)
    tr->down_cb(tr->down_data, err && err->code ? err : NULL);
}

int edv__fleet_request_down(edv__fleet *f, const char *tenant,
                            void (*done)(void *data, const edv_error *err),
                            void *data)
{
  edv__trun *tr;

  for (tr = f->runs; tr; tr = tr->next) {
    if (!tr->ended && tr->dir == EDV_DIR_UP && !tr->planning &&
        strcmp(tr->id, tenant) == 0)
      break;
  }
  if (!tr || tr->down_requested || tr->finishing)
    return EDV_ENOTFOUND;
  tr->down_requested = 1;
  tr->down_cb = done;
  tr->down_data = data;
  /* Queued behind every record the run queued before, so none of them
   * can overwrite it; durable before the caller is told. */
  set_phase_then(tr, EDV_PHASE_DEPROVISIONING, NULL, 0, request_down_written);
  edv__fleet_stop(f, tenant);
  return 0;
}

void edv__fleet_close(edv__fleet *f, void (*cb)(void *data), void *data)
{
  if (!f)
    return;
  f->closing = 1;
  f->close_cb = cb;
  f->close_data = data;
  if (f->runs) {
    edv__fleet_stop(f, NULL);
    return; /* run_free() of the last run finishes the close */
  }
  edv__shared_free(f->shared);
  edv__store_batch_close(f->batch, cb, data);
  free(f->project);
  free(f->domain);
  free(f->reserved);
  free(f->backup_location);
  json_object_put(f->alert_targets);
  free(f->region);
  free(f->network);
  free(f->supernet);
  free(f->holder);
  free(f->actor);
  free(f);
}
