/*
 * dayops_pitr.c - point-in-time restore of a tenant's database
 * (edv_tenant_restore_to_time, edv/fleet.h "Day 2").
 *
 * Cloud SQL restores a moment only into a new instance (instances.clone
 * with cloneContext.pointInTime), so a restore is a run of its own:
 *
 *   window   getLatestRecoveryTime of the tenant's instance: a time outside
 *            [earliest, latest] is refused (EDV_EINVAL naming the window);
 *            nothing is written or changed before this passes
 *   start    journal "pitr.start" (time, from and to generations), durable
 *            before anything is sent
 *   clone    the instance of the next name generation, cloned at the time
 *            (created once: observed first, so a resumed restore finds it)
 *   switch   the tenant's recorded generation moves on (the store: only
 *            from `from` to `to`, so a repeat is a no-op)
 *   rewire   a run of the tenant machine (apply): the steps find the new
 *            instance under the new name, the egress firewall its address,
 *            the VM its metadata (then a reset, see steps_tenant.c)
 *   retire   the old instance: deletion protection lifted, deleted (only
 *            if it is this tenant's by its labels)
 *   end      journal "pitr" (result DONE or FAILED)
 *
 * Every stage observes before it acts, so a process killed anywhere
 * (kill -9) leaves a "pitr.start" without its end; the next restore call
 * for the tenant with the same time resumes from the first stage (another
 * time gets EDV_ECONFLICT naming the unfinished one). A clone refused by
 * Cloud SQL ends the restore FAILED with nothing switched; a failure after
 * the switch leaves it unfinished (to resume).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "edv/ops.h"
#include "fleet/dayops.h"
#include "tenant/kinds.h"
#include "tenant/spec.h"

#define MOD "fleet"

#define PITR_WAIT_MS 3600000u /* one Cloud SQL operation */
#define PITR_POLLS   1800u    /* observations of a state in transition */
#define PITR_TIME_SZ 40

#define SQLP "/sql/v1beta4/projects/%s/instances/%s"

typedef enum {
  P_WINDOW = 0,
  P_CLONE,
  P_SWITCH,
  P_REWIRE,
  P_RETIRE,
} pitr_stage;

struct edv__pitr {
  struct edv__pitr *next;
  edv__dayops *o;
  char tenant[EDV_STORE_ID_SZ];
  char actor[EDV_STORE_SMALL_SZ];
  char when[PITR_TIME_SZ];
  int64_t when_ms;
  uint32_t from, to;
  char from_inst[EDV_FQDN_MAX];
  char to_inst[EDV_FQDN_MAX];
  pitr_stage stage;
  int started;  /* "pitr.start" is durable */
  int resumed;  /* found unfinished in the journal */
  int switched; /* past the switch: a failure leaves it to resume */
  unsigned polls;
  int64_t started_ms;
  uint64_t t0;
  unsigned flags;
  edv_fleet_cb cb;
  void *data;
  edv_op_waiter *waiter;
  uv_timer_t *timer;
};

typedef edv__pitr pitr;

static void pitr_step(pitr *p);

/* ---- the restores in flight ----------------------------------------------*/

static pitr *pitr_find(edv__dayops *o, const char *tenant)
{
  for (pitr *p = o ? o->pitrs : NULL; p; p = p->next)
    if (strcmp(p->tenant, tenant) == 0)
      return p;
  return NULL;
}

int edv__pitr_holds(edv_fleet *f, const char *tenant)
{
  pitr *p = pitr_find(f->dayops, tenant);

  /* Its own run (rewire) drives the tenant meanwhile. */
  return p && p->stage != P_REWIRE;
}

int edv__pitr_active(edv_fleet *f, const char *tenant)
{
  return pitr_find(f->dayops, tenant) != NULL;
}

static void journal(pitr *p, const char *event, const char *detail,
                    const char *error)
{
  edv__journal_rec j;

  if (!p->o->f)
    return;
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", p->tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", p->actor);
  snprintf(j.event, sizeof(j.event), "%s", event);
  snprintf(j.api_call, sizeof(j.api_call), "%s", detail ? detail : "");
  j.duration_ms = (int64_t)((uv_hrtime() - p->t0) / 1000000u);
  snprintf(j.error, sizeof(j.error), "%s", error ? error : "");
  edv__fleet_journal(p->o->f, &j);
}

static json_object *pitr_doc(const pitr *p, const char *status)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "tenant", json_object_new_string(p->tenant));
  json_object_object_add(o, "kind",
                         json_object_new_string("point_in_time_restore"));
  json_object_object_add(o, "point_in_time", json_object_new_string(p->when));
  json_object_object_add(o, "from_instance",
                         json_object_new_string(p->from_inst));
  json_object_object_add(o, "instance", json_object_new_string(p->to_inst));
  json_object_object_add(o, "status", json_object_new_string(status));
  json_object_object_add(o, "resumed", json_object_new_boolean(p->resumed));
  json_object_object_add(o, "started", edv__view_time_json(p->started_ms));
  return o;
}

static void pitr_answer(pitr *p, const char *status, const edv_error *err)
{
  edv_fleet_cb cb = p->cb;
  json_object *doc;

  p->cb = NULL;
  if (!cb)
    return;
  if (err) {
    cb(p->data, NULL, err);
    return;
  }
  doc = pitr_doc(p, status);
  cb(p->data, doc, NULL);
  json_object_put(doc);
}

static void timer_closed(uv_handle_t *h)
{
  free(h);
}

static void pitr_free(pitr *p)
{
  edv__dayops *o = p->o;

  for (pitr **q = &o->pitrs; *q; q = &(*q)->next)
    if (*q == p) {
      *q = p->next;
      break;
    }
  if (p->timer) {
    uv_timer_stop(p->timer);
    uv_close((uv_handle_t *)p->timer, timer_closed);
  }
  free(p);
  edv__dayops_unref(o);
}

/* The end: DONE, or an error. A failure before the switch is an end
 * (nothing of the tenant changed); after it, the restore stays unfinished
 * in the journal, to resume. */
static void pitr_end(pitr *p, const edv_error *err)
{
  char detail[EDV_STORE_SMALL_SZ];
  edv_error e;

  if (!err) {
    snprintf(detail, sizeof(detail), "time=%s from=%u to=%u result=DONE",
             p->when, (unsigned)p->from, (unsigned)p->to);
    journal(p, "pitr", detail, NULL);
    EDV_LOG_I(MOD, "tenant=%s restored to %s on %s", p->tenant, p->when,
              p->to_inst);
    pitr_answer(p, "DONE", NULL);
  } else if (p->started && !p->switched && err->code != EDV_ECANCELED) {
    snprintf(detail, sizeof(detail), "time=%s from=%u to=%u result=FAILED",
             p->when, (unsigned)p->from, (unsigned)p->to);
    journal(p, "pitr", detail, err->message);
    pitr_answer(p, NULL, err);
  } else if (p->started) {
    edv_error_set(&e, err->code,
                  "%s; the restore of tenant '%s' to %s is unfinished: run "
                  "it again with the same time to finish it",
                  err->message, p->tenant, p->when);
    pitr_answer(p, NULL, &e);
  } else {
    pitr_answer(p, NULL, err);
  }
  pitr_free(p);
}

static void pitr_fail(pitr *p, edv_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void pitr_fail(pitr *p, edv_code code, const char *fmt, ...)
{
  edv_error e;
  va_list ap;
  char msg[sizeof(e.message)];

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  edv_error_set(&e, code, "%s", msg);
  pitr_end(p, &e);
}

/* 1 (and the restore ended) once the fleet is closing. */
static int pitr_gone(pitr *p)
{
  edv_error e;

  if (p->o->f && !edv__dayops_closing(p->o->f))
    return 0;
  edv_error_set(&e, EDV_ECANCELED, "the fleet closed");
  pitr_end(p, &e);
  return 1;
}

/* ---- calls ---------------------------------------------------------------*/

static void on_timer(uv_timer_t *t)
{
  if (!pitr_gone(t->data))
    pitr_step(t->data);
}

/* Observes the stage again after the fleet's poll interval. */
static void pitr_later(pitr *p)
{
  edv_fleet *f = p->o->f;

  if (++p->polls > PITR_POLLS) {
    pitr_fail(p, EDV_ETIMEDOUT,
              "Cloud SQL instance '%s' stayed in transition too long",
              p->stage == P_CLONE ? p->to_inst : p->from_inst);
    return;
  }
  if (!p->timer) {
    p->timer = malloc(sizeof(*p->timer));
    if (!p->timer || uv_timer_init(f->loop, p->timer)) {
      free(p->timer);
      p->timer = NULL;
      pitr_fail(p, EDV_ENOMEM, "out of memory");
      return;
    }
    p->timer->data = p;
  }
  uv_timer_start(p->timer, on_timer, edv__fleet_op_poll_ms(f->machine), 0);
}

static void on_op_done(void *data, json_object *op, const edv_error *err)
{
  pitr *p = data;

  (void)op;
  p->waiter = NULL;
  if (pitr_gone(p))
    return;
  if (err) {
    pitr_end(p, err);
    return;
  }
  pitr_step(p); /* observe again */
}

/* A mutation answered: wait for its operation, then observe again. */
static void on_mutated(void *data, const edv_response *res)
{
  pitr *p = data;
  edv_op_wait_opts wo;
  edv_error e;

  if (pitr_gone(p))
    return;
  if (res->error) {
    if (res->http_status == 409)
      pitr_later(p); /* another operation on the instance: look again */
    else
      pitr_end(p, res->error);
    return;
  }
  memset(&wo, 0, sizeof(wo));
  wo.deadline_ms = PITR_WAIT_MS;
  wo.poll_initial_ms = edv__fleet_op_poll_ms(p->o->f->machine);
  if (edv_op_wait(p->o->f->engine, res->json, &wo, on_op_done, p, &p->waiter,
                  &e))
    pitr_end(p, &e);
}

static void pitr_call(pitr *p, const char *method, const char *inst,
                      const char *suffix, json_object *body, const char *label,
                      edv_response_cb cb)
{
  char path[512];
  edv_error e;

  snprintf(path, sizeof(path), SQLP "%s", edv__fleet_project(p->o->f->machine),
           inst, suffix);
  if (edv__dayops_submit(p->o->f, EDV_API_SQLADMIN, method, path, body, label,
                         cb, p)) {
    edv_error_set(&e, EDV_EUNAVAIL, "cannot call Cloud SQL now");
    pitr_end(p, &e);
  }
}

/* ---- window
 * ----------------------------------------------------------------*/

static void journal_started(void *data, int result, const edv_error *err);

static int start_apply(edv_store *st, void *data, edv_error *err)
{
  pitr *p = data;
  edv__journal_rec j;

  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", p->tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", p->actor);
  snprintf(j.event, sizeof(j.event), "pitr.start");
  snprintf(j.api_call, sizeof(j.api_call), "time=%s from=%u to=%u", p->when,
           (unsigned)p->from, (unsigned)p->to);
  return edv__store_journal_append(st, &j, NULL, err);
}

static void on_window(void *data, const edv_response *res)
{
  pitr *p = data;
  const char *lo = NULL, *hi = NULL;
  int64_t earliest, latest;
  edv_error e;

  if (pitr_gone(p))
    return;
  if (res->error) {
    if (res->http_status == 400)
      edv_error_set(&e, EDV_EPRECONDITION,
                    "tenant '%s' has no point-in-time recovery window: %s",
                    p->tenant, res->error->message);
    else
      e = *res->error;
    pitr_end(p, &e);
    return;
  }
  lo = edv__jstr(res->json, "earliestRecoveryTime");
  hi = edv__jstr(res->json, "latestRecoveryTime");
  earliest = edv__rfc3339_ms(lo);
  latest = edv__rfc3339_ms(hi);
  if (latest < 0) {
    pitr_fail(p, EDV_EPROTO, "Cloud SQL gave no recovery window for '%s'",
              p->from_inst);
    return;
  }
  if (p->when_ms > latest || (earliest >= 0 && p->when_ms < earliest)) {
    pitr_fail(p, EDV_EINVAL,
              "field 'point_in_time': %s is outside the recovery window of "
              "tenant '%s': earliest %s, latest %s",
              p->when, p->tenant, lo ? lo : "(unknown)", hi);
    return;
  }
  p->stage = P_CLONE;
  if (edv__store_batch_add(edv__fleet_batch(p->o->f->machine), start_apply,
                           journal_started, p))
    pitr_fail(p, EDV_EUNAVAIL, "cannot record the restore now");
}

static void journal_started(void *data, int result, const edv_error *err)
{
  pitr *p = data;

  if (result) {
    edv_error e;

    edv_error_set(&e, EDV_EIO, "cannot record the restore: %s",
                  err ? err->message : "store error");
    pitr_end(p, &e);
    return;
  }
  p->started = 1;
  EDV_LOG_I(MOD, "tenant=%s restore to %s: %s -> %s", p->tenant, p->when,
            p->from_inst, p->to_inst);
  if (p->flags & EDV_FLEET_ASYNC)
    pitr_answer(p, "RUNNING", NULL);
  if (!pitr_gone(p))
    pitr_step(p);
}

/* ---- clone
 * -----------------------------------------------------------------*/

/* The owner label check of both instances: only this tenant's. */
static int is_ours(pitr *p, json_object *inst)
{
  char owner[EDV_STORE_ID_SZ];

  return edv__kind_owner(&edv__kinds[EDV_KIND_SQL_INSTANCE], inst, owner,
                         sizeof(owner)) == 1 &&
         strcmp(owner, p->tenant) == 0;
}

static void on_clone_seen(void *data, const edv_response *res)
{
  pitr *p = data;
  const char *state;
  json_object *b, *ctx;

  if (pitr_gone(p))
    return;
  if (res->error && res->error->code != EDV_ENOTFOUND) {
    pitr_end(p, res->error);
    return;
  }
  if (!res->error) {
    state = edv__jstr(res->json, "state");
    if (!is_ours(p, res->json)) {
      pitr_fail(p, EDV_ECONFLICT,
                "Cloud SQL instance '%s' exists and is not tenant '%s''s; "
                "nothing was restored",
                p->to_inst, p->tenant);
      return;
    }
    if (state && strcmp(state, "RUNNABLE") == 0) {
      p->stage = P_SWITCH;
      p->polls = 0;
      pitr_step(p);
    } else if (state && strcmp(state, "PENDING_CREATE") == 0) {
      pitr_later(p);
    } else {
      pitr_fail(p, EDV_EOPFAILED, "the restored instance '%s' is %s",
                p->to_inst, state ? state : "in an unknown state");
    }
    return;
  }
  b = json_object_new_object();
  ctx = json_object_new_object();
  json_object_object_add(ctx, "kind",
                         json_object_new_string("sql#cloneContext"));
  json_object_object_add(ctx, "destinationInstanceName",
                         json_object_new_string(p->to_inst));
  json_object_object_add(ctx, "pointInTime", json_object_new_string(p->when));
  json_object_object_add(b, "cloneContext", ctx);
  /* Not retried blindly: a lost answer is found by observing again. */
  pitr_call(p, "POST", p->from_inst, "/clone", b, "sql.instances.clone",
            on_mutated);
  json_object_put(b);
}

/* ---- switch
 * ----------------------------------------------------------------*/

static int switch_apply(edv_store *st, void *data, edv_error *err)
{
  pitr *p = data;
  edv__tenant_rec rec;
  uint32_t gen;
  int result;

  if ((result = edv__store_tenant_get(st, p->tenant, &rec, err)) != 0)
    return result;
  if (rec.generation == p->to)
    return 0; /* done before a restart */
  if (rec.generation != p->from)
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' moved to Cloud SQL generation %u "
                         "meanwhile; nothing was switched",
                         p->tenant, (unsigned)rec.generation);
  if ((result = edv__store_tenant_next_generation(st, p->tenant, &gen, err)))
    return result;
  if (gen != p->to)
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s': generation %u, not %u", p->tenant,
                         (unsigned)gen, (unsigned)p->to);
  return 0;
}

static void switch_done(void *data, int result, const edv_error *err)
{
  pitr *p = data;

  if (pitr_gone(p))
    return;
  if (result) {
    pitr_end(p, err);
    return;
  }
  p->switched = 1;
  journal(p, "generation", "point-in-time restore", NULL);
  p->stage = P_REWIRE;
  pitr_step(p);
}

/* ---- rewire
 * ----------------------------------------------------------------*/

static void on_rewired(void *data, json_object *doc, const edv_error *err)
{
  pitr *p = data;

  if (pitr_gone(p))
    return;
  if (err) {
    pitr_end(p, err);
    return;
  }
  if (!edv__jstr(doc, "phase") || strcmp(edv__jstr(doc, "phase"), "READY")) {
    pitr_fail(p, EDV_EOPFAILED,
              "tenant '%s' is %s after moving to instance '%s'", p->tenant,
              edv__jstr(doc, "phase") ? edv__jstr(doc, "phase") : "not READY",
              p->to_inst);
    return;
  }
  p->stage = P_RETIRE;
  p->polls = 0;
  pitr_step(p);
}

/* ---- retire
 * ----------------------------------------------------------------*/

static void on_old_seen(void *data, const edv_response *res)
{
  pitr *p = data;
  const char *state;
  json_object *b, *st;

  if (pitr_gone(p))
    return;
  if (res->error && res->error->code == EDV_ENOTFOUND) {
    pitr_end(p, NULL);
    return;
  }
  if (res->error) {
    pitr_end(p, res->error);
    return;
  }
  if (!is_ours(p, res->json)) {
    pitr_fail(p, EDV_ECONFLICT,
              "Cloud SQL instance '%s' is not tenant '%s''s: left alone",
              p->from_inst, p->tenant);
    return;
  }
  state = edv__jstr(res->json, "state");
  if (state && strcmp(state, "RUNNABLE") != 0) {
    pitr_later(p); /* being deleted, or busy */
    return;
  }
  if (json_object_get_boolean(
          edv__jget(res->json, "settings.deletionProtectionEnabled"))) {
    b = json_object_new_object();
    st = json_object_new_object();
    json_object_object_add(st, "deletionProtectionEnabled",
                           json_object_new_boolean(0));
    json_object_object_add(b, "settings", st);
    pitr_call(p, "PATCH", p->from_inst, "", b, "sql.instances.patch",
              on_mutated);
    json_object_put(b);
    return;
  }
  pitr_call(p, "DELETE", p->from_inst, "", NULL, "sql.instances.delete",
            on_mutated);
}

/* ---- the stages ----------------------------------------------------------*/

static void pitr_step(pitr *p)
{
  edv_error e;

  switch (p->stage) {
  case P_WINDOW:
    pitr_call(p, "GET", p->from_inst, "/getLatestRecoveryTime", NULL,
              "sql.projects.instances.getLatestRecoveryTime", on_window);
    return;
  case P_CLONE:
    pitr_call(p, "GET", p->to_inst, "", NULL, "sql.instances.get",
              on_clone_seen);
    return;
  case P_SWITCH:
    if (edv__store_batch_add(edv__fleet_batch(p->o->f->machine), switch_apply,
                             switch_done, p))
      pitr_fail(p, EDV_EUNAVAIL, "cannot record the switch now");
    return;
  case P_REWIRE:
    if (edv__fleet_drive_tenant(p->o->f, p->tenant, EDV_DIR_UP, on_rewired, p,
                                &e))
      pitr_end(p, &e);
    return;
  case P_RETIRE:
    pitr_call(p, "GET", p->from_inst, "", NULL, "sql.instances.get",
              on_old_seen);
    return;
  }
}

/* ---- the unfinished restore of the journal
 * ---------------------------------*/

typedef struct pend_ctx {
  int found;
  char when[PITR_TIME_SZ];
  unsigned from, to;
  char actor[EDV_STORE_SMALL_SZ];
  int64_t time_ms;
} pend_ctx;

static int pend_one(void *data, const edv__journal_rec *r)
{
  pend_ctx *c = data;
  char when[PITR_TIME_SZ];
  unsigned from, to;

  if (strcmp(r->event, "pitr.start") == 0 &&
      sscanf(r->api_call, "time=%39s from=%u to=%u", when, &from, &to) == 3) {
    c->found = 1;
    snprintf(c->when, sizeof(c->when), "%s", when);
    c->from = from;
    c->to = to;
    snprintf(c->actor, sizeof(c->actor), "%s", r->actor);
    c->time_ms = r->time_ms;
  } else if (strcmp(r->event, "pitr") == 0) {
    c->found = 0;
  }
  return 0;
}

/* ---- the call
 * --------------------------------------------------------------*/

static int check_time(const char *when, int64_t *ms, edv_error *err)
{
  *ms = when && strlen(when) < PITR_TIME_SZ ? edv__rfc3339_ms(when) : -1;
  if (*ms < 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'point_in_time' must be an RFC 3339 time "
                         "such as 2026-12-07T09:30:00Z (got '%.40s')",
                         when ? when : "");
  return 0;
}

/* The restore may start (or resume: pc says whether one is unfinished)
 * now; else the error. */
static int pitr_gate(edv_fleet *f, edv__dayops *o, const edv__tenant_rec *rec,
                     int64_t ms, pend_ctx *pc, edv_error *err)
{
  int result;

  if (edv__dayops_closing(f))
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  if (pitr_find(o, rec->id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being restored now; retry once it "
                         "ends",
                         rec->id);
  memset(pc, 0, sizeof(*pc));
  if ((result = edv__store_journal_list(f->store, rec->id, 0, 1000000u,
                                        pend_one, pc, err)) != 0)
    return result;
  if (pc->found && edv__rfc3339_ms(pc->when) != ms)
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' has an unfinished restore to %s: run it "
                         "again with that time to finish it first",
                         rec->id, pc->when);
  if (!pc->found && rec->phase != EDV_PHASE_READY)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' is %s; a restore needs a READY tenant",
                         rec->id, edv__phase_name(rec->phase));
  if (edv__fleet_run_find(f, rec->id) || edv__dayops_busy(f, rec->id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being driven, backed up or restored "
                         "now; retry once that ends",
                         rec->id);
  return 0;
}

/* A new restore of `rec` to `when` (or the unfinished one of pc), not yet
 * listed; NULL on ENOMEM. */
static pitr *pitr_new(edv_fleet *f, edv__dayops *o, const edv__tenant_rec *rec,
                      const pend_ctx *pc, const char *when, int64_t ms)
{
  pitr *p = calloc(1, sizeof(*p));

  if (!p)
    return NULL;
  p->o = o;
  snprintf(p->tenant, sizeof(p->tenant), "%s", rec->id);
  snprintf(p->actor, sizeof(p->actor), "%.60s%s%.60s", f->actor,
           f->who[0] ? ":" : "", f->who);
  snprintf(p->when, sizeof(p->when), "%s", pc->found ? pc->when : when);
  p->when_ms = ms;
  p->from = pc->found ? pc->from : rec->generation;
  p->to = pc->found ? pc->to : rec->generation + 1;
  p->started_ms = pc->found ? pc->time_ms : edv__store_wall_clock(NULL);
  p->t0 = uv_hrtime();
  /* Names of valid ids and small generations always fit. */
  edv__name_sql_instance(p->tenant, p->from, p->from_inst,
                         sizeof(p->from_inst));
  edv__name_sql_instance(p->tenant, p->to, p->to_inst, sizeof(p->to_inst));
  if (pc->found) {
    /* Where it stopped is found by observing, from the clone on. */
    p->resumed = p->started = 1;
    p->switched = rec->generation == p->to;
    p->stage = P_CLONE;
    EDV_LOG_I(MOD, "tenant=%s: resuming the restore to %s", p->tenant, p->when);
  }
  return p;
}

int edv_tenant_restore_to_time(edv_fleet *f, const char *id,
                               const char *point_in_time, unsigned flags,
                               edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__dayops *o;
  edv__tenant_rec rec;
  pend_ctx pc;
  pitr *p;
  int64_t ms;
  int result;
  char path[512];

  if ((result = edv__dayops_tenant(f, id, &rec, err)) != 0 ||
      (result = check_time(point_in_time, &ms, err)) != 0)
    return result;
  if (!(o = edv__dayops_of(f)))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if ((result = pitr_gate(f, o, &rec, ms, &pc, err)) != 0)
    return result;
  if (!(p = pitr_new(f, o, &rec, &pc, point_in_time, ms)))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  p->flags = flags;
  p->cb = cb;
  p->data = data;
  /* The first call: its refusal is this call's error (the callback
   * never runs then). */
  snprintf(path, sizeof(path), SQLP "%s", edv__fleet_project(f->machine),
           pc.found ? p->to_inst : p->from_inst,
           pc.found ? "" : "/getLatestRecoveryTime");
  if (edv__dayops_submit(f, EDV_API_SQLADMIN, "GET", path, NULL,
                         pc.found
                             ? "sql.instances.get"
                             : "sql.projects.instances.getLatestRecoveryTime",
                         pc.found ? on_clone_seen : on_window, p)) {
    free(p);
    return edv_error_set(err, EDV_EUNAVAIL, "cannot call Cloud SQL now");
  }
  p->next = o->pitrs;
  o->pitrs = p;
  edv__dayops_ref(o);
  if (pc.found && (flags & EDV_FLEET_ASYNC)) {
    p->cb = NULL;
    return edv__dayops_answer_later(f, pitr_doc(p, "RUNNING"), cb, data, err);
  }
  return 0;
}

/* The fleet closes: stop waiting (the restore stays unfinished in the
 * journal; the next restore call resumes it). */
void edv__pitr_stop(edv_fleet *f)
{
  edv__dayops *o = f->dayops;

  for (pitr *p = o ? o->pitrs : NULL; p; p = p->next)
    if (p->waiter) {
      edv_op_cancel(p->waiter); /* on_op_done ends it */
    }
}
