/*
 * fleet.c - the fleet object (edv/fleet.h): opening and closing, events and
 * their subscribers, the runs this fleet drives and the callers waiting for
 * them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fleet/dayops.h"
#include "fleet/fleet.h"
#include "fleet/recon.h"

#define MOD "fleet"

/* An answer waiting for the loop's next turn. */
typedef struct edv__later edv__later;
struct edv__later {
  struct edv__later *next;
  edv_fleet *f;
  uv_timer_t timer;
  edv_fleet_cb cb;
  void *data;
  json_object *doc;
  edv_error err;
  int has_err;
};

static void later_fire(uv_timer_t *t);

/* ---- events --------------------------------------------------------------*/

static const char *const event_names[] = {
    "phase", "step.start", "step.done", "step.retry", "step.fail",
    "call",  "info",       "end",       "plan",
};

const char *edv_event_kind_name(edv_event_kind kind)
{
  if ((unsigned)kind < sizeof(event_names) / sizeof(event_names[0]))
    return event_names[kind];
  return "unknown";
}

int edv_fleet_step(int platform, unsigned i, const char **name,
                   const char **title)
{
  const edv__step_def *defs =
      platform ? edv__platform_steps : edv__tenant_steps;
  unsigned n = platform ? edv__platform_nsteps : edv__tenant_nsteps;

  if (i >= n)
    return -1;
  if (name)
    *name = defs[i].name;
  if (title)
    *title = defs[i].title;
  return 0;
}

edv_fleet_sub *edv_fleet_subscribe(edv_fleet *f, edv_event_cb cb, void *data)
{
  edv_fleet_sub *s = calloc(1, sizeof(*s)), **pp;

  if (!s)
    return NULL;
  s->fleet = f;
  s->cb = cb;
  s->data = data;
  /* At the end: subscribers hear events in the order they subscribed. */
  for (pp = &f->subs; *pp; pp = &(*pp)->next)
    ;
  *pp = s;
  return s;
}

static void subs_sweep(edv_fleet *f)
{
  edv_fleet_sub **pp = &f->subs;

  while (*pp) {
    edv_fleet_sub *s = *pp;
    if (s->gone) {
      *pp = s->next;
      free(s);
    } else {
      pp = &s->next;
    }
  }
}

void edv_fleet_unsubscribe(edv_fleet_sub *s)
{
  if (!s)
    return;
  s->gone = 1;
  if (!s->fleet->dispatching)
    subs_sweep(s->fleet);
}

static void dispatch(edv_fleet *f, const edv_event *ev)
{
  f->dispatching++;
  for (edv_fleet_sub *s = f->subs; s; s = s->next)
    if (!s->gone)
      s->cb(s->data, ev);
  if (--f->dispatching == 0)
    subs_sweep(f);
}

static void on_machine_event(void *data, const edv__event *ev)
{
  edv_fleet *f = data;
  edv_event pub;

  /* A plan's events are its document's, not progress (plan.c). */
  if (edv__plan_event(f, ev))
    return;
  /* The end of a run the fleet tracks is told by run_done, once the run
   * has left the fleet's list (a subscriber may then close the fleet). */
  if (ev->kind == EDV_EV_END && edv__fleet_run_find(f, ev->tenant))
    return;
  pub.kind = (edv_event_kind)ev->kind;
  pub.tenant = ev->tenant;
  pub.step = ev->step;
  pub.title = ev->title;
  pub.phase = edv__phase_name(ev->phase);
  pub.message = ev->message;
  pub.error = ev->error;
  pub.elapsed_ms = ev->elapsed_ms;
  dispatch(f, &pub);
}

/* ---- open and close ------------------------------------------------------*/

int edv_fleet_open(const edv_fleet_options *opts, edv_fleet **out,
                   edv_error *err)
{
  edv_fleet *f;
  edv__fleet_opts mo;
  int result;

  *out = NULL;
  if (!opts || !opts->engine)
    return edv_error_set(err, EDV_EINVAL, "fleet: options.engine is required");
  f = calloc(1, sizeof(*f));
  if (!f)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  f->engine = opts->engine;
  f->loop = edv_engine_loop(opts->engine);
  f->cfg = opts->config;
  snprintf(f->actor, sizeof(f->actor), "%s",
           opts->actor && *opts->actor ? opts->actor : "libedv");
  if (opts->state_dir) {
    if (snprintf(f->state_dir, sizeof(f->state_dir), "%s", opts->state_dir) >=
        (int)sizeof(f->state_dir)) {
      free(f);
      return edv_error_set(err, EDV_EINVAL, "state_dir: path too long");
    }
  } else if ((result = edv__env_state_dir(f->cfg, f->state_dir,
                                          sizeof(f->state_dir), err)) != 0) {
    free(f);
    return result;
  }
  result = edv__env_load_tiers(f->cfg, opts->tiers_fallbacks, &f->tiers, err);
  if (result == 0)
    result = edv__env_open_store(f->state_dir, &f->store, err);
  if (result == 0) {
    memset(&mo, 0, sizeof(mo));
    mo.engine = f->engine;
    mo.store = f->store;
    mo.tiers = f->tiers;
    if (f->cfg)
      edv__env_fleet_opts(f->cfg, &mo);
    mo.holder = opts->holder;
    mo.actor = f->actor;
    mo.poll_ms = opts->poll_ms;
    mo.retry_base_ms = opts->retry_base_ms;
    mo.on_event = on_machine_event;
    mo.event_data = f;
    result = edv__fleet_new(f->loop, &mo, &f->machine, err);
  }
  if (result) {
    edv__store_close(f->store);
    edv__tiers_free(f->tiers);
    free(f);
    return result;
  }
  f->cloud_clock = opts->cloud_clock;
  f->cloud_clock_data = opts->cloud_clock_data;
  *out = f;
  return 0;
}

int64_t edv__fleet_cloud_now(const edv_fleet *f)
{
  return f && f->cloud_clock ? f->cloud_clock(f->cloud_clock_data)
                             : edv__store_wall_clock(NULL);
}

uv_loop_t *edv_fleet_loop(const edv_fleet *f)
{
  return f->loop;
}

edv_engine *edv_fleet_engine(const edv_fleet *f)
{
  return f->engine;
}

const char *edv_fleet_domain(const edv_fleet *f)
{
  return edv__fleet_domain(f->machine);
}

static void machine_closed(void *data)
{
  edv_fleet *f = data;
  void (*cb)(void *) = f->close_cb;
  void *cbdata = f->close_data;

  /* Answers still waiting for their turn are given now: the fleet goes. */
  while (f->later) {
    edv__later *l = f->later;
    uv_timer_stop(&l->timer);
    later_fire(&l->timer);
  }
  if (f->dayops_free)
    f->dayops_free(f);
  edv__update_free(f);
  edv__recon_detach(f); /* freed by its last call in flight */
  while (f->runs) {
    edv__fleet_run *r = f->runs;
    f->runs = r->next;
    while (r->waiters) {
      edv__run_waiter *w = r->waiters;
      r->waiters = w->next;
      free(w);
    }
    free(r);
  }
  for (edv_fleet_sub *s = f->subs; s; s = s->next)
    s->gone = 1;
  subs_sweep(f);
  edv__store_close(f->store);
  edv__tiers_free(f->tiers);
  free(f);
  if (cb)
    cb(cbdata);
}

void edv_fleet_close(edv_fleet *f, void (*cb)(void *data), void *data)
{
  if (!f || f->closing)
    return;
  f->closing = 1;
  f->close_cb = cb;
  f->close_data = data;
  edv__recon_stop(f);  /* no pass starts */
  edv__dayops_stop(f); /* backups and restores stop waiting */
  edv__update_stop(f); /* update drivers stop (their runs below) */
  edv__state_rebuild_stop(f);
  /* The machine stops every run; their callbacks (run_done below) answer
   * the waiters with EDV_ECANCELED before it calls machine_closed. */
  edv__fleet_close(f->machine, machine_closed, f);
}

/* ---- records -------------------------------------------------------------*/

int edv__fleet_tenant_rec(edv_fleet *f, const char *id, edv__tenant_rec *rec,
                          edv_error *err)
{
  int result;

  if (!id || !*id || strcmp(id, EDV_PLATFORM_ID) == 0)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' not found",
                         id ? id : "");
  result = edv__store_tenant_get(f->store, id, rec, err);
  if (result == EDV_ENOTFOUND)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' not found", id);
  return result;
}

void edv__fleet_answer_tenant(edv_fleet *f, const char *id, edv_fleet_cb cb,
                              void *data)
{
  edv__tenant_rec rec;
  edv_error err;
  json_object *doc;

  /* The platform's pseudo-tenant too: its runs have waiters as well. */
  if (edv__store_tenant_get(f->store, id, &rec, &err) != 0) {
    if (err.code == EDV_ENOTFOUND)
      edv_error_set(&err, EDV_ENOTFOUND, "tenant '%s' not found", id);
    cb(data, NULL, &err);
    return;
  }
  doc = edv__view_tenant(f, &rec, EDV_VIEW_STEPS | EDV_VIEW_RESOURCES);
  if (!doc) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    cb(data, NULL, &err);
    return;
  }
  cb(data, doc, NULL);
  json_object_put(doc);
}

/* ---- answers on the next loop turn ---------------------------------------*/

static void later_closed(uv_handle_t *h)
{
  free(h->data);
}

static void later_unlink(edv__later *l)
{
  for (edv__later **pp = &l->f->later; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      return;
    }
}

static void later_fire(uv_timer_t *t)
{
  edv__later *l = t->data;

  later_unlink(l);
  if (l->has_err)
    l->cb(l->data, NULL, &l->err);
  else
    l->cb(l->data, l->doc, NULL);
  json_object_put(l->doc);
  l->doc = NULL;
  uv_close((uv_handle_t *)&l->timer, later_closed);
}

int edv__fleet_answer_later(edv_fleet *f, edv_fleet_cb cb, void *data,
                            json_object *doc, const edv_error *e,
                            edv_error *err)
{
  edv__later *l = calloc(1, sizeof(*l));

  if (!l)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  l->f = f;
  l->cb = cb;
  l->data = data;
  l->doc = json_object_get(doc);
  if (e) {
    l->err = *e;
    l->has_err = 1;
  }
  uv_timer_init(f->loop, &l->timer);
  l->timer.data = l;
  uv_timer_start(&l->timer, later_fire, 0, 0);
  l->next = f->later;
  f->later = l;
  return 0;
}

int edv__fleet_answer_tenant_later(edv_fleet *f, const char *id,
                                   edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  edv_error e;
  json_object *doc;
  int result;

  if (edv__fleet_tenant_rec(f, id, &rec, &e) != 0)
    return edv__fleet_answer_later(f, cb, data, NULL, &e, err);
  doc = edv__view_tenant(f, &rec, EDV_VIEW_STEPS | EDV_VIEW_RESOURCES);
  if (!doc)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

typedef struct journal_item {
  edv__journal_rec rec;
} journal_item;

static int journal_apply(edv_store *st, void *data, edv_error *err)
{
  return edv__store_journal_append(st, &((journal_item *)data)->rec, NULL, err);
}

static void journal_done(void *data, int result, const edv_error *err)
{
  journal_item *q = data;

  if (result)
    EDV_LOG_E(MOD, "journal: tenant=%s event=%s not written: %s", q->rec.tenant,
              q->rec.event, err ? err->message : "?");
  free(q);
}

int edv__fleet_journal(edv_fleet *f, const edv__journal_rec *j)
{
  edv__store_batch *b = edv__fleet_batch(f->machine);
  journal_item *q = malloc(sizeof(*q));
  edv_error err;

  /* Through the group commit: a lock held by another process is retried
   * from a timer there, never waited for on the loop. */
  if (q) {
    q->rec = *j;
    if (edv__store_batch_add(b, journal_apply, journal_done, q) == 0)
      return 0;
    free(q);
  }
  if (edv__store_journal_append(f->store, j, NULL, &err) == 0)
    return 0;
  EDV_LOG_E(MOD, "journal: tenant=%s event=%s not written: %s", j->tenant,
            j->event, err.message);
  return -1;
}

/* ---- runs ----------------------------------------------------------------*/

void edv__fleet_stop_all(edv_fleet *f)
{
  f->stopping = 1;
  edv__recon_stop(f);  /* no pass starts */
  edv__dayops_stop(f); /* backups and restores stop waiting */
  edv__update_stop(f); /* update drivers stop (their runs below) */
  edv__fleet_stop(f->machine, NULL);
}

edv__fleet_run *edv__fleet_run_find(edv_fleet *f, const char *id)
{
  for (edv__fleet_run *r = f->runs; r; r = r->next)
    if (strcmp(r->id, id) == 0)
      return r;
  return NULL;
}

static void run_unlink(edv_fleet *f, edv__fleet_run *r)
{
  for (edv__fleet_run **pp = &f->runs; *pp; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      f->nruns--;
      return;
    }
}

static int add_waiter(edv__fleet_run *r, edv_fleet_cb cb, void *data,
                      edv_error *err)
{
  edv__run_waiter *w, **pp;

  if (!cb)
    return 0;
  w = calloc(1, sizeof(*w));
  if (!w)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  w->cb = cb;
  w->data = data;
  for (pp = &r->waiters; *pp; pp = &(*pp)->next)
    ;
  *pp = w;
  return 0;
}

/* Answers a run's waiters: the tenant document, or the run's error when
 * it ended without reaching its phase (stopped, or FAILED). */
static void answer_waiters(edv_fleet *f, edv__run_waiter *w, const char *id,
                           edv_tenant_phase phase, const edv_error *err)
{
  while (w) {
    edv__run_waiter *next = w->next;
    if (err && err->code && phase != EDV_PHASE_READY &&
        phase != EDV_PHASE_DELETED)
      w->cb(w->data, NULL, err);
    else
      edv__fleet_answer_tenant(f, id, w->cb, w->data);
    free(w);
    w = next;
  }
}

static void run_done(void *data, const char *tenant, edv_tenant_phase phase,
                     const edv_error *err)
{
  edv_fleet *f = data;
  edv__fleet_run *r = edv__fleet_run_find(f, tenant);
  edv__run_waiter *w = NULL;
  char id[EDV_STORE_ID_SZ];
  int then_down = 0;
  edv_error e;

  snprintf(id, sizeof(id), "%s", tenant);
  if (r) {
    w = r->waiters;
    r->waiters = NULL;
    then_down = r->then_down;
    run_unlink(f, r);
    free(r);
  }
  {
    edv_event end;
    memset(&end, 0, sizeof(end));
    end.kind = EDV_EVENT_END;
    end.tenant = id;
    end.phase = edv__phase_name(phase);
    end.message = end.phase;
    end.error = err && err->code ? err : NULL;
    dispatch(f, &end);
  }
  if (then_down && !f->closing && !f->stopping) {
    /* A delete asked while going up: its waiters wait for the way down. */
    if (edv__fleet_drive_tenant(f, id, EDV_DIR_DOWN, NULL, NULL, &e) == 0) {
      edv__fleet_run *down = edv__fleet_run_find(f, id);
      if (down) {
        down->waiters = w;
        return;
      }
    }
    answer_waiters(f, w, id, EDV_PHASE_FAILED, &e);
    return;
  }
  answer_waiters(f, w, id, phase, err);
}

int64_t edv__fleet_grace_ms(const edv_fleet *f)
{
  return (f->cfg
              ? edv_config_get_int(f->cfg, "tenant.delete_grace_s", 7 * 86400)
              : 7 * 86400) *
         (int64_t)1000;
}

int64_t edv__fleet_purge_after(const edv_fleet *f, const edv__tenant_rec *rec)
{
  return rec->phase == EDV_PHASE_SUSPENDED
             ? rec->updated_ms + edv__fleet_grace_ms(f)
             : -1;
}

int edv__fleet_drive_tenant(edv_fleet *f, const char *id, edv__direction dir,
                            edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__fleet_run *r = edv__fleet_run_find(f, id);
  int result;

  if (f->closing || f->stopping)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is %s",
                         f->closing ? "closing" : "stopping");
  if (r) {
    if (r->dir != dir && !(dir == EDV_DIR_DOWN && r->then_down))
      return edv_error_set(err, EDV_EBUSY, "tenant '%s' is being %s", id,
                           edv__direction_done(r->dir));
    return add_waiter(r, cb, data, err);
  }
  /* A backup or restore holds the database: no run meanwhile (a repair
   * or scale would patch it mid-restore, a delete would fail half-way). */
  if (edv__dayops_busy(f, id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' has a backup or restore running; "
                         "retry once it ends (see its backups)",
                         id);
  r = calloc(1, sizeof(*r));
  if (!r)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  snprintf(r->id, sizeof(r->id), "%s", id);
  r->dir = dir;
  if ((result = add_waiter(r, cb, data, err)) != 0) {
    free(r);
    return result;
  }
  /* Listed before the machine starts it, so that its end finds it. */
  r->next = f->runs;
  f->runs = r;
  f->nruns++;
  result = edv__fleet_drive(f->machine, id, dir, run_done, f, err);
  if (result) {
    run_unlink(f, r);
    free(r->waiters);
    free(r);
  }
  return result;
}
