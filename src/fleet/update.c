/*
 * update.c - fleet updates: a release rolled out in waves (edv/fleet.h,
 * "Fleet updates").
 *
 * The store is the truth (store/sqlite_updates.c): the update's row (its
 * spec, state, current wave, soak deadline, status) and one row per
 * tenant (wave, state, from/to release, error, times). Every change is
 * written at once, before what it announces is done, so the records
 * always say where a killed process was.
 *
 * A driver (one per update this process drives, `upd`) runs on the fleet's
 * loop from a timer: each tick re-reads the records (another process may
 * have paused or aborted the update), renews the update's lease
 * ("@update:ID", taken over at once from a dead holder of this host) and
 * then, as the state says:
 *   RUNNING      starts PENDING tenants of the current wave (up to
 *                max_parallel in flight); a tenant whose update succeeded
 *                is SOAKING; once the wave has no PENDING or UPDATING
 *                tenant the soak starts (soak_until), health is checked
 *                at its start, every few seconds and at its end (a tenant
 *                unhealthy is FAILED), then SOAKING tenants are DONE and
 *                the next wave starts; after the last wave: DONE. More
 *                FAILED tenants than max_failures: HALTED.
 *   ROLLING_BACK the rollback reset every tenant the update moved to
 *                PENDING with to = its previous release; they are updated
 *                back, newest wave first, and end ROLLED_BACK (or FAILED).
 * An UPDATING tenant not in flight here (a killed process) is updated
 * again: the tenant update is a reconcile, idempotent.
 *
 * The tenant update itself is update_one(): the tenant's VM replaced by
 * one of the release (edv_tenant_set_release), judged by update_one_ok().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "fleet/fleet.h"

#define MOD "update"

#define UPD_WAVES_MAX    20
#define UPD_CHECK_MS     5000 /* health checks during a soak, at most */
#define UPD_RECHECK_MS   2000 /* a tenant found unhealthy: looked at again */
#define UPD_STRIKES      5    /* unhealthy checks in a row: FAILED */
#define UPD_LEASE_PREFIX "@update:"

typedef struct upd_waiter {
  struct upd_waiter *next;
  edv_fleet_cb cb;
  void *data;
} upd_waiter;

typedef struct upd upd;

/* A tenant update in flight (or a soak health check). */
typedef struct upd_flight {
  upd *u;
  char tenant[EDV_STORE_ID_SZ];
  char to[EDV_STORE_VERSION_SZ];
  int check; /* a health check, not an update */
} upd_flight;

struct upd {
  struct upd *next;
  edv_fleet *f;
  char id[EDV_STORE_ID_SZ];
  uv_timer_t timer;
  unsigned inflight; /* tenant updates in flight */
  unsigned checks;   /* health checks in flight */
  int64_t last_check_ms;
  /* Tenants in flight here (an UPDATING row not among them was left by
   * another life and is updated again). */
  char (*busy)[EDV_STORE_ID_SZ];
  unsigned nbusy, capbusy;
  /* Unhealthy checks in a row, per tenant (a VM still booting is given
   * UPD_STRIKES looks before it counts as failed). */
  struct upd_strike {
    char tenant[EDV_STORE_ID_SZ];
    unsigned n;
  } * strikes;
  unsigned nstrikes, capstrikes;
  upd_waiter *waiters;
  int stopped;      /* the driver stopped: no tick any more */
  int timer_closed; /* its timer's close callback ran */
};

/* The drivers of this process, on the fleet. */
typedef struct upd_set {
  upd *list;
} upd_set;

static const char *const ut_states[] = {"PENDING", "UPDATING", "SOAKING",
                                        "DONE",    "FAILED",   "ROLLED_BACK"};

static int64_t upd_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is(const char *a, const char *b)
{
  return strcmp(a, b) == 0;
}

/* ---- the seam: one tenant's update --------------------------------------*/

/*
 * One tenant's update: `id` moved to release `version` and `cb` called
 * once from the loop with its end. edv_tenant_set_release replaces the
 * tenant's VM by one of the release without downtime, and rolls back by
 * itself (an error to `cb`, the tenant on its old VM) when the new VM is
 * not HEALTHY in time. Called again for a tenant a dead process left
 * UPDATING: a change still pending goes on (set_release resumes it); one
 * that already served ends with the tenant's document (READY) or a run
 * that finishes it (apply). A tenant that was on no release ("", the
 * stock image) cannot be moved back to it: the release change needs a
 * recorded release.
 */
static int update_one(edv_fleet *f, const char *id, const char *version,
                      edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  int result;

  if (!version[0])
    return edv_error_set(err, EDV_EINVAL,
                         "field 'release': tenant '%s' ran no release "
                         "before (the stock image); record one for that "
                         "image and update to it",
                         id);
  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if (is(rec.release, version))
    return rec.phase == EDV_PHASE_READY
               ? edv_tenant_get(f, id, 0, cb, data, err)
               : edv_tenant_apply(f, id, 0, cb, data, err);
  return edv_tenant_set_release(f, id, version, 0, cb, data, err);
}

/* update_one()'s verdict: 1 when the answer says the tenant is READY on
 * `version` (edv_tenant_set_release answers an error when it rolled
 * back). */
static int update_one_ok(json_object *doc, const edv_error *err,
                         const char *version)
{
  const char *r = edv__jstr(doc, "release"), *phase = edv__jstr(doc, "phase");

  return !err && doc && phase && is(phase, "READY") && r &&
         is(r, version[0] ? version : "none");
}

/* ---- records --------------------------------------------------------------*/

typedef struct ut_list {
  edv__update_tenant_rec *t;
  size_t n, cap;
} ut_list;

static int ut_add(void *data, const edv__update_tenant_rec *r)
{
  ut_list *l = data;

  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    edv__update_tenant_rec *t = realloc(l->t, cap * sizeof(*t));
    if (!t)
      return 1;
    l->t = t;
    l->cap = cap;
  }
  l->t[l->n++] = *r;
  return 0;
}

static int ut_load(edv_fleet *f, const char *id, ut_list *l, edv_error *err)
{
  memset(l, 0, sizeof(*l));
  return edv__store_update_tenants(f->store, id, ut_add, l, err);
}

/* Parses the waves spec into cumulative targets of `n` tenants; an error
 * names the field. How many waves (>= 1), or -1. */
static int waves_parse(const char *spec, size_t n, size_t *cum, edv_error *err)
{
  char buf[EDV_STORE_SMALL_SZ], *save = NULL, *tok;
  int k = 0;
  size_t prev = 0;

  if (!spec || !*spec || strlen(spec) >= sizeof(buf)) {
    edv_error_set(err, EDV_EINVAL,
                  "field 'waves': give cumulative targets such as "
                  "\"1,10%%,50%%,100%%\" (at most %zu characters)",
                  sizeof(buf) - 1);
    return -1;
  }
  snprintf(buf, sizeof(buf), "%s", spec);
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *end;
    unsigned long v;
    size_t target;

    while (*tok == ' ')
      tok++;
    v = strtoul(tok, &end, 10);
    if (end == tok || (*end && !(end[0] == '%' && !end[1])) || v == 0 ||
        (*end == '%' && v > 100) || v > 100000) {
      edv_error_set(err, EDV_EINVAL,
                    "field 'waves': item %d '%.20s' is not a count (1 or "
                    "more) nor a percentage (1%%..100%%)",
                    k + 1, tok);
      return -1;
    }
    if (k == UPD_WAVES_MAX) {
      edv_error_set(err, EDV_EINVAL, "field 'waves': at most %d waves",
                    UPD_WAVES_MAX);
      return -1;
    }
    target = *end == '%' ? (n * v + 99) / 100 : v;
    if (target > n)
      target = n;
    if (target < prev) {
      edv_error_set(err, EDV_EINVAL,
                    "field 'waves': item %d '%.20s' is below the one before "
                    "(targets are cumulative)",
                    k + 1, tok);
      return -1;
    }
    cum[k++] = prev = target;
  }
  if (k == 0) {
    edv_error_set(err, EDV_EINVAL, "field 'waves': no wave given");
    return -1;
  }
  return k;
}

static int upd_put(edv_fleet *f, edv__update_rec *r, const char *state,
                   edv_error *err)
{
  if (state)
    snprintf(r->state, sizeof(r->state), "%s", state);
  return edv__store_update_put(f->store, r, err);
}

/* Writes the record when its status changes (the driver's progress
 * lines: written once, not on every tick, which also keeps the window in
 * which another process's pause could be written over as small as it
 * gets). */
static void upd_progress(edv_fleet *f, edv__update_rec *r, const char *before)
{
  if (strcmp(before, r->status) != 0)
    (void)upd_put(f, r, NULL, NULL);
}

static void upd_status(edv__update_rec *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void upd_status(edv__update_rec *r, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(r->status, sizeof(r->status), fmt, ap);
  va_end(ap);
}

/* A journal line of the tenant: "update.<what>" with the update's id and
 * the tenant's row ("u-... wave=2 1.0.0->1.1.0"). */
static void upd_journal(edv_fleet *f, const edv__update_tenant_rec *t,
                        const char *what)
{
  edv__journal_rec j;

  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", t->tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", f->actor);
  snprintf(j.event, sizeof(j.event), "update.%s", what);
  snprintf(j.api_call, sizeof(j.api_call), "%.31s wave=%u %.40s->%.40s",
           t->update_id, t->wave + 1, t->from[0] ? t->from : "none",
           t->to[0] ? t->to : "none");
  snprintf(j.error, sizeof(j.error), "%s", t->error);
  (void)edv__fleet_journal(f, &j);
}

/* ---- the document ---------------------------------------------------------*/

static json_object *upd_doc(edv_fleet *f, const edv__update_rec *r, int tenants)
{
  ut_list l;
  size_t cum[UPD_WAVES_MAX];
  int nw;
  json_object *doc;

  if (ut_load(f, r->id, &l, NULL) != 0) {
    free(l.t);
    return NULL;
  }
  nw = waves_parse(r->waves, l.n, cum, NULL);
  doc = edv__view_update(r, l.t, l.n, nw < 1 ? 1 : (unsigned)nw, tenants);
  free(l.t);
  return doc;
}

/* ---- the driver -----------------------------------------------------------*/

static upd_set *upd_set_of(edv_fleet *f)
{
  return f->updates;
}

static upd *upd_find(edv_fleet *f, const char *id)
{
  upd_set *s = upd_set_of(f);

  for (upd *u = s ? s->list : NULL; u; u = u->next)
    if (is(u->id, id) && !u->stopped)
      return u;
  return NULL;
}

static int upd_busy(const upd *u, const char *tenant)
{
  for (unsigned i = 0; i < u->nbusy; i++)
    if (is(u->busy[i], tenant))
      return 1;
  return 0;
}

static int upd_busy_add(upd *u, const char *tenant)
{
  if (u->nbusy == u->capbusy) {
    unsigned cap = u->capbusy ? u->capbusy * 2 : 8;
    void *b = realloc(u->busy, cap * sizeof(*u->busy));
    if (!b)
      return -1;
    u->busy = b;
    u->capbusy = cap;
  }
  snprintf(u->busy[u->nbusy++], EDV_STORE_ID_SZ, "%s", tenant);
  return 0;
}

static void upd_busy_del(upd *u, const char *tenant)
{
  for (unsigned i = 0; i < u->nbusy; i++)
    if (is(u->busy[i], tenant)) {
      memmove(u->busy[i], u->busy[u->nbusy - 1], EDV_STORE_ID_SZ);
      u->nbusy--;
      return;
    }
}

static void upd_lease_key(const char *id, char *buf, size_t size)
{
  snprintf(buf, size, UPD_LEASE_PREFIX "%s", id);
}

/* Freed once its timer is closed and nothing of it is in flight. */
static void upd_maybe_free(upd *u)
{
  upd_set *s;

  if (!u->timer_closed || u->inflight || u->checks)
    return;
  if (u->f && (s = upd_set_of(u->f)) != NULL)
    for (upd **p = &s->list; *p; p = &(*p)->next)
      if (*p == u) {
        *p = u->next;
        break;
      }
  free(u->busy);
  free(u->strikes);
  free(u);
}

static void upd_closed(uv_handle_t *h)
{
  upd *u = h->data;

  u->timer_closed = 1;
  upd_maybe_free(u);
}

/* Answers every waiter with the update's document (or `e`). */
static void upd_answer(upd *u, const edv_error *e)
{
  edv__update_rec r;
  edv_error err;
  json_object *doc = NULL;

  if (!e) {
    if (edv__store_update_get(u->f->store, u->id, &r, &err) == 0)
      doc = upd_doc(u->f, &r, 1);
    else
      e = &err;
  }
  while (u->waiters) {
    upd_waiter *w = u->waiters;
    u->waiters = w->next;
    w->cb(w->data, e ? NULL : doc, e);
    free(w);
  }
  json_object_put(doc);
}

/* The driver ends (its state stopped it, or the fleet closes): its lease
 * given back, its waiters answered; freed once nothing is in flight (what
 * is, ends on its own: a tenant run at a durable point). */
static void upd_end(upd *u, const edv_error *e)
{
  char key[64];

  if (u->stopped)
    return;
  u->stopped = 1;
  uv_timer_stop(&u->timer);
  upd_lease_key(u->id, key, sizeof(key));
  edv__fleet_lease_drop(u->f->machine, key);
  upd_answer(u, e);
  uv_close((uv_handle_t *)&u->timer, upd_closed);
}

static void upd_tick(uv_timer_t *t);

static void upd_kick(upd *u, uint64_t ms)
{
  if (!u->stopped && !u->f->closing)
    uv_timer_start(&u->timer, upd_tick, ms, 0);
}

static void flight_end(upd_flight *fl)
{
  upd *u = fl->u;

  if (fl->check)
    u->checks--;
  else {
    u->inflight--;
    upd_busy_del(u, fl->tenant);
  }
  free(fl);
  if (u->stopped)
    upd_maybe_free(u);
  else
    upd_kick(u, 0);
}

/* The row of `tenant` in the update, re-read. */
static int ut_get(edv_fleet *f, const char *id, const char *tenant,
                  edv__update_tenant_rec *out)
{
  ut_list l;
  int found = 0;

  if (ut_load(f, id, &l, NULL) == 0)
    for (size_t i = 0; i < l.n; i++)
      if (is(l.t[i].tenant, tenant)) {
        *out = l.t[i];
        found = 1;
      }
  free(l.t);
  return found ? 0 : -1;
}

static void on_updated(void *data, json_object *doc, const edv_error *err)
{
  upd_flight *fl = data;
  edv_fleet *f = fl->u->f;
  edv__update_tenant_rec t;
  int ok = update_one_ok(doc, err, fl->to);

  /* A fleet closing stops the run at a durable point: the row stays
   * UPDATING, and whoever carries the update on runs it again. */
  if (!f || (err && err->code == EDV_ECANCELED)) {
    flight_end(fl);
    return;
  }
  /* The row may have moved on meanwhile (a rollback reset it): then this
   * end is not its news. */
  if (ut_get(f, fl->u->id, fl->tenant, &t) == 0 && is(t.state, "UPDATING") &&
      is(t.to, fl->to)) {
    snprintf(t.state, sizeof(t.state), "%s",
             ok ? (is(t.to, t.from) ? "ROLLED_BACK" : "SOAKING") : "FAILED");
    if (!ok)
      snprintf(t.error, sizeof(t.error), "%s",
               err ? err->message
                   : (edv__jstr(doc, "last_error")
                          ? edv__jstr(doc, "last_error")
                          : "the tenant did not end "
                            "READY on the release"));
    t.finished_ms = upd_now();
    if (edv__store_update_tenant_put(f->store, &t, NULL) == 0)
      upd_journal(f, &t, ok ? "tenant.done" : "tenant.failed");
    EDV_LOG_I(MOD, "update=%s tenant=%s: %s", t.update_id, t.tenant, t.state);
  }
  flight_end(fl);
}

static upd_flight *flight_new(upd *u, const edv__update_tenant_rec *t,
                              int check)
{
  upd_flight *fl = calloc(1, sizeof(*fl));

  if (!fl)
    return NULL;
  fl->u = u;
  fl->check = check;
  snprintf(fl->tenant, sizeof(fl->tenant), "%s", t->tenant);
  snprintf(fl->to, sizeof(fl->to), "%s", t->to);
  return fl;
}

/* The tenant's unhealthy checks in a row (a new entry when missing, or
 * NULL on ENOMEM). */
static struct upd_strike *strike_of(upd *u, const char *tenant)
{
  for (unsigned i = 0; i < u->nstrikes; i++)
    if (is(u->strikes[i].tenant, tenant))
      return &u->strikes[i];
  if (u->nstrikes == u->capstrikes) {
    unsigned cap = u->capstrikes ? u->capstrikes * 2 : 8;
    void *p = realloc(u->strikes, cap * sizeof(*u->strikes));
    if (!p)
      return NULL;
    u->strikes = p;
    u->capstrikes = cap;
  }
  memset(&u->strikes[u->nstrikes], 0, sizeof(*u->strikes));
  snprintf(u->strikes[u->nstrikes].tenant, EDV_STORE_ID_SZ, "%s", tenant);
  return &u->strikes[u->nstrikes++];
}

/* Starts the update of one tenant row (PENDING, or UPDATING left by a
 * dead process). 0 started; 1 not now (busy elsewhere); -1 failed (the
 * row is FAILED). */
static int start_tenant(upd *u, edv__update_tenant_rec *t)
{
  edv_fleet *f = u->f;
  upd_flight *fl = flight_new(u, t, 0);
  edv_error err;
  int again = is(t->state, "UPDATING");

  if (!fl || upd_busy_add(u, t->tenant)) {
    free(fl);
    return 1;
  }
  /* Durable before the tenant changes: a crash from here on finds it
   * UPDATING and runs it again. */
  if (!again) {
    snprintf(t->state, sizeof(t->state), "UPDATING");
    t->started_ms = upd_now();
    t->error[0] = '\0';
    if (edv__store_update_tenant_put(f->store, t, &err) != 0) {
      upd_busy_del(u, t->tenant);
      free(fl);
      return 1;
    }
    upd_journal(f, t, "tenant.start");
  }
  u->inflight++;
  if (update_one(f, t->tenant, t->to, on_updated, fl, &err) == 0)
    return 0;
  u->inflight--;
  upd_busy_del(u, t->tenant);
  free(fl);
  if (err.code == EDV_EBUSY)
    return 1; /* another driver has the tenant now: later */
  snprintf(t->state, sizeof(t->state), "FAILED");
  snprintf(t->error, sizeof(t->error), "%s", err.message);
  t->finished_ms = upd_now();
  (void)edv__store_update_tenant_put(f->store, t, NULL);
  upd_journal(f, t, "tenant.failed");
  return -1;
}

/* A soak health check's answer: healthy when READY on the release with
 * its VM RUNNING and the app reporting the release (when it has one). */
static void on_checked(void *data, json_object *doc, const edv_error *err)
{
  upd_flight *fl = data;
  edv_fleet *f = fl->u->f;
  edv__update_tenant_rec t;
  const char *want = fl->to[0] ? fl->to : "none";
  const char *phase = edv__jstr(doc, "phase"), *rel = edv__jstr(doc, "release"),
             *vm = edv__jstr(edv__jget(edv__jget(doc, "observed"), "vm"),
                             "state"),
             *app = edv__jstr(doc, "release_observed");
  char why[300] = "";

  if (!f || (err && err->code == EDV_ECANCELED)) {
    flight_end(fl);
    return;
  }
  if (err)
    snprintf(why, sizeof(why), "%.290s", err->message);
  else if (!phase || !is(phase, "READY"))
    snprintf(why, sizeof(why), "tenant is %s", phase ? phase : "?");
  else if (!rel || !is(rel, want))
    snprintf(why, sizeof(why), "tenant runs release %s", rel ? rel : "?");
  else if (!vm || !is(vm, "RUNNING"))
    snprintf(why, sizeof(why), "VM is %s", vm ? vm : "unknown");
  else if (fl->to[0] && (!app || !is(app, fl->to)))
    snprintf(why, sizeof(why), "the app reports %s", app ? app : "nothing");
  if (ut_get(f, fl->u->id, fl->tenant, &t) == 0 && is(t.state, "SOAKING")) {
    struct upd_strike *k = strike_of(fl->u, fl->tenant);
    unsigned n = k ? (why[0] ? ++k->n : (k->n = 0)) : UPD_STRIKES;

    if (why[0] && n >= UPD_STRIKES) {
      snprintf(t.state, sizeof(t.state), "FAILED");
      snprintf(t.error, sizeof(t.error),
               "unhealthy during the soak (%u checks in a row): %s", n, why);
      t.finished_ms = upd_now();
      if (edv__store_update_tenant_put(f->store, &t, NULL) == 0)
        upd_journal(f, &t, "tenant.failed");
    } else if (why[0] || t.error[0]) {
      /* Said, not failed yet (a VM still booting); cleared when healthy. */
      if (why[0])
        snprintf(t.error, sizeof(t.error), "unhealthy (%u of %u checks): %s", n,
                 UPD_STRIKES, why);
      else
        t.error[0] = '\0';
      (void)edv__store_update_tenant_put(f->store, &t, NULL);
    }
  }
  flight_end(fl);
}

static void check_round(upd *u, const ut_list *l, unsigned wave)
{
  edv_error err;

  u->last_check_ms = upd_now();
  for (size_t i = 0; i < l->n; i++) {
    const edv__update_tenant_rec *t = &l->t[i];
    upd_flight *fl;

    if (t->wave != wave || !is(t->state, "SOAKING"))
      continue;
    if (!(fl = flight_new(u, t, 1)))
      return;
    u->checks++;
    if (edv_tenant_get(u->f, t->tenant, EDV_FLEET_OBSERVE, on_checked, fl,
                       &err) != 0) {
      u->checks--;
      free(fl);
    }
  }
}

/* Counts the rows in each state (of wave `wave`, or every wave when -1). */
static void ut_count(const ut_list *l, int wave, unsigned c[6])
{
  memset(c, 0, 6 * sizeof(*c));
  for (size_t i = 0; i < l->n; i++)
    for (unsigned k = 0; k < 6; k++)
      if ((wave < 0 || l->t[i].wave == (unsigned)wave) &&
          is(l->t[i].state, ut_states[k]))
        c[k]++;
}

enum { C_PENDING, C_UPDATING, C_SOAKING, C_DONE, C_FAILED, C_ROLLED };

/* A row a rollback moves back (to its previous release); the rows it
 * never touched keep to != from and are left alone. */
static int is_back(const edv__update_tenant_rec *t)
{
  return is(t->to, t->from);
}

/* Starts what may start among rows of `wave` (-1: any) in `order` (1: by
 * wave; -1: newest wave first, the rollback's rows only). */
static void start_some(upd *u, edv__update_rec *r, ut_list *l, int wave,
                       int order)
{
  for (size_t k = 0; k < l->n && u->inflight < r->max_parallel; k++) {
    edv__update_tenant_rec *t = &l->t[order > 0 ? k : l->n - 1 - k];

    if ((wave >= 0 && t->wave != (unsigned)wave) || (order < 0 && !is_back(t)))
      continue;
    if (is(t->state, "PENDING") ||
        (is(t->state, "UPDATING") && !upd_busy(u, t->tenant)))
      start_tenant(u, t);
  }
}

static void drive_running(upd *u, edv__update_rec *r, ut_list *l, unsigned nw)
{
  char before[EDV_STORE_ERR_SZ];
  edv_fleet *f = u->f;
  unsigned c[6], all[6];
  int64_t now = upd_now();

  ut_count(l, -1, all);
  if (all[C_FAILED] > r->max_failures) {
    upd_status(r,
               "halted: %u tenants failed, more than max_failures %u; "
               "see the FAILED tenants, then resume, abort or rollback",
               all[C_FAILED], r->max_failures);
    (void)upd_put(f, r, "HALTED", NULL);
    EDV_LOG_W(MOD, "update=%s %s", r->id, r->status);
    return;
  }
  while (r->wave < nw) {
    ut_count(l, (int)r->wave, c);
    if (c[C_PENDING] || c[C_UPDATING]) {
      start_some(u, r, l, (int)r->wave, 1);
      snprintf(before, sizeof(before), "%s", r->status);
      upd_status(r, "wave %u of %u: updating", r->wave + 1, nw);
      upd_progress(f, r, before);
      return;
    }
    if (c[C_SOAKING] && r->soak_until_ms == 0) {
      r->soak_until_ms = now + r->soak_ms;
      upd_status(r,
                 "wave %u of %u: soaking until every tenant has been "
                 "healthy for %lld s",
                 r->wave + 1, nw, (long long)(r->soak_ms / 1000));
      (void)upd_put(f, r, NULL, NULL);
      check_round(u, l, r->wave);
      return;
    }
    if (c[C_SOAKING] && (u->checks || now < r->soak_until_ms)) {
      if (!u->checks && now - u->last_check_ms >= UPD_CHECK_MS)
        check_round(u, l, r->wave);
      return;
    }
    if (c[C_SOAKING] && u->last_check_ms < r->soak_until_ms) {
      check_round(u, l, r->wave); /* the last look, at the soak's end */
      return;
    }
    /* A tenant unhealthy at its last look is looked at again until it is
     * healthy or has failed. */
    for (size_t i = 0; i < l->n; i++)
      if (l->t[i].wave == r->wave && is(l->t[i].state, "SOAKING") &&
          l->t[i].error[0]) {
        if (!u->checks && now - u->last_check_ms >= UPD_RECHECK_MS)
          check_round(u, l, r->wave);
        return;
      }
    /* The wave is over: its SOAKING tenants passed. */
    for (size_t i = 0; i < l->n; i++)
      if (l->t[i].wave == r->wave && is(l->t[i].state, "SOAKING")) {
        snprintf(l->t[i].state, sizeof(l->t[i].state), "DONE");
        (void)edv__store_update_tenant_put(f->store, &l->t[i], NULL);
        upd_journal(f, &l->t[i], "tenant.healthy");
      }
    if (c[C_FAILED] > 0 && all[C_FAILED] > r->max_failures)
      return; /* the next tick halts */
    r->wave++;
    r->soak_until_ms = 0;
    (void)upd_put(f, r, NULL, NULL);
  }
  ut_count(l, -1, all);
  upd_status(r, "done: %u tenants on %s, %u failed", all[C_DONE], r->release,
             all[C_FAILED]);
  (void)upd_put(f, r, "DONE", NULL);
}

static void drive_rollback(upd *u, edv__update_rec *r, ut_list *l)
{
  char before[EDV_STORE_ERR_SZ];
  unsigned c[6];
  size_t m = 0;

  /* Only the rollback's rows count. */
  for (size_t i = 0; i < l->n; i++)
    if (is_back(&l->t[i]))
      l->t[m++] = l->t[i];
  l->n = m;
  ut_count(l, -1, c);
  if (c[C_PENDING] || c[C_UPDATING]) {
    start_some(u, r, l, -1, -1);
    snprintf(before, sizeof(before), "%s", r->status);
    upd_status(r, "rolling back: %u tenants to go",
               c[C_PENDING] + c[C_UPDATING]);
    upd_progress(u->f, r, before);
    return;
  }
  upd_status(r, "rolled back: %u tenants on their previous release, %u failed",
             c[C_ROLLED], c[C_FAILED]);
  (void)upd_put(u->f, r, "ROLLED_BACK", NULL);
}

static void upd_tick(uv_timer_t *timer)
{
  upd *u = timer->data;
  edv_fleet *f = u->f;
  edv__update_rec r;
  edv__lease_rec cur;
  ut_list l;
  size_t cum[UPD_WAVES_MAX];
  edv_error err;
  char key[64];
  int nw;

  if (u->stopped || f->closing || f->stopping)
    return;
  if (edv__store_update_get(f->store, u->id, &r, &err) != 0) {
    if (err.code == EDV_EBUSY) {
      upd_kick(u, edv__fleet_poll_ms(f->machine));
      return;
    }
    upd_end(u, &err);
    return;
  }
  upd_lease_key(u->id, key, sizeof(key));
  if (edv__fleet_lease(f->machine, key, &cur, &err) != 0) {
    if (err.code == EDV_EBUSY && !is(err.where, "sqlite"))
      edv_error_set(&err, EDV_EBUSY,
                    "update '%s' is being driven by %s; try again when it "
                    "ends or its lease expires",
                    u->id, cur.holder);
    if (err.code == EDV_EBUSY && is(err.where, "sqlite")) {
      upd_kick(u, edv__fleet_poll_ms(f->machine));
      return;
    }
    upd_end(u, &err);
    return;
  }
  if (!is(r.state, "RUNNING") && !is(r.state, "ROLLING_BACK")) {
    upd_end(u, NULL);
    return;
  }
  if (ut_load(f, u->id, &l, &err) != 0) {
    free(l.t);
    upd_kick(u, edv__fleet_poll_ms(f->machine));
    return;
  }
  nw = waves_parse(r.waves, l.n, cum, NULL);
  if (is(r.state, "RUNNING"))
    drive_running(u, &r, &l, nw < 1 ? 1 : (unsigned)nw);
  else
    drive_rollback(u, &r, &l);
  free(l.t);
  if (!is(r.state, "RUNNING") && !is(r.state, "ROLLING_BACK")) {
    upd_end(u, NULL);
    return;
  }
  upd_kick(u, edv__fleet_poll_ms(f->machine));
}

/* The driver of `id` here (made and started when missing), with `cb` (may
 * be NULL) waiting for its stop. */
static int upd_drive(edv_fleet *f, const char *id, edv_fleet_cb cb, void *data,
                     edv_error *err)
{
  upd_set *s = upd_set_of(f);
  upd *u = upd_find(f, id);
  upd_waiter *w = NULL;

  if (!s) {
    if (!(s = calloc(1, sizeof(*s))))
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
    f->updates = s;
  }
  if (cb && !(w = calloc(1, sizeof(*w))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (!u) {
    if (!(u = calloc(1, sizeof(*u)))) {
      free(w);
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
    }
    u->f = f;
    snprintf(u->id, sizeof(u->id), "%s", id);
    uv_timer_init(f->loop, &u->timer);
    u->timer.data = u;
    u->next = s->list;
    s->list = u;
  }
  if (w) {
    w->cb = cb;
    w->data = data;
    w->next = u->waiters;
    u->waiters = w;
  }
  upd_kick(u, 0);
  return 0;
}

/* ---- the fleet's end ------------------------------------------------------*/

void edv__update_stop(edv_fleet *f)
{
  upd_set *s = upd_set_of(f);
  edv_error e;

  if (!s)
    return;
  edv_error_set(&e, EDV_ECANCELED,
                "the fleet closed; the update goes on when it is carried on "
                "(`fleet update resume`)");
  for (upd *u = s->list, *next; u; u = next) {
    next = u->next;
    if (!u->stopped)
      upd_end(u, &e);
  }
}

void edv__update_free(edv_fleet *f)
{
  upd_set *s = upd_set_of(f);

  if (!s)
    return;
  /* Drivers with a health check still out outlive the fleet until it
   * ends (the engine answers it): they no longer know the fleet. */
  for (upd *u = s->list; u; u = u->next)
    u->f = NULL;
  free(s);
  f->updates = NULL;
}

/* ---- the operations -------------------------------------------------------*/

typedef struct sel_ctx {
  json_object *tiers; /* array, or NULL */
  const char *release;
  edv__tenant_rec *recs;
  size_t n, cap;
} sel_ctx;

static int sel_one(void *data, const edv__tenant_rec *rec)
{
  sel_ctx *c = data;
  int tier_ok = !c->tiers;

  for (size_t i = 0; c->tiers && i < json_object_array_length(c->tiers); i++)
    if (is(json_object_get_string(json_object_array_get_idx(c->tiers, i)),
           rec->tier))
      tier_ok = 1;
  if (!tier_ok || is(rec->release, c->release) || is(rec->id, EDV_PLATFORM_ID))
    return 0;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    edv__tenant_rec *r = realloc(c->recs, cap * sizeof(*r));
    if (!r)
      return 1;
    c->recs = r;
    c->cap = cap;
  }
  c->recs[c->n++] = *rec;
  return 0;
}

/* The READY tenants of the filter not on the release, ordered by id. */
static int select_tenants(edv_fleet *f, sel_ctx *c, edv_error *err)
{
  edv__tenant_filter flt;
  char after[EDV_STORE_ID_SZ] = "";
  int result;

  do {
    memset(&flt, 0, sizeof(flt));
    flt.phase = EDV_PHASE_READY;
    flt.after = after;
    flt.limit = 1000;
    if ((result = edv__store_tenant_list(f->store, &flt, sel_one, c, after,
                                         sizeof(after), err)))
      return result;
  } while (after[0]);
  return 0;
}

static int spec_uint(json_object *spec, const char *key, unsigned lo,
                     unsigned hi, unsigned dflt, unsigned *out, edv_error *err)
{
  json_object *v;
  int64_t n;

  *out = dflt;
  if (!json_object_object_get_ex(spec, key, &v) ||
      json_object_is_type(v, json_type_null))
    return 0;
  if (!json_object_is_type(v, json_type_int))
    return edv_error_set(err, EDV_EINVAL, "field '%s' must be an integer", key);
  n = json_object_get_int64(v);
  if (n < lo || n > hi)
    return edv_error_set(err, EDV_EINVAL,
                         "field '%s': %lld is out of range (%u..%u)", key,
                         (long long)n, lo, hi);
  *out = (unsigned)n;
  return 0;
}

/* The tier filter: names checked against the tiers, into r->tiers (a
 * comma list) and c->tiers (the array, NULL: every tier). */
static int spec_tiers(edv_fleet *f, json_object *spec, edv__update_rec *r,
                      sel_ctx *c, edv_error *err)
{
  json_object *v;
  size_t off = 0;

  c->tiers = NULL;
  if (json_object_object_get_ex(spec, "tiers", &v) &&
      !json_object_is_type(v, json_type_null)) {
    if (!json_object_is_type(v, json_type_array))
      return edv_error_set(err, EDV_EINVAL,
                           "field 'tiers' must be an array of tier names");
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *t = json_object_array_get_idx(v, i);
      const char *name = json_object_get_string(t);

      if (!json_object_is_type(t, json_type_string) ||
          !edv__tiers_find(f->tiers, name))
        return edv_error_set(err, EDV_EINVAL,
                             "field 'tiers': item %zu '%.32s' is not a tier",
                             i + 1, name ? name : "");
      off += (size_t)snprintf(
          r->tiers + off, off < sizeof(r->tiers) ? sizeof(r->tiers) - off : 0,
          "%s%s", off ? "," : "", name);
      if (off >= sizeof(r->tiers))
        return edv_error_set(err, EDV_EINVAL, "field 'tiers': too many");
    }
    if (json_object_array_length(v) > 0)
      c->tiers = v;
  }
  return 0;
}

/* Checks the spec into `r` (and the tier filter into c->tiers). */
static int spec_check(edv_fleet *f, json_object *spec, edv__update_rec *r,
                      sel_ctx *c, edv_error *err)
{
  const char *rel, *waves;
  json_object *v;
  unsigned soak, mp, mf;
  size_t cum[UPD_WAVES_MAX];
  edv__release_rec rr;

  if (!json_object_is_type(spec, json_type_object))
    return edv_error_set(err, EDV_EINVAL, "the update must be a JSON object");
  json_object_object_foreach(spec, key, val)
  {
    (void)val;
    if (!is(key, "release") && !is(key, "waves") && !is(key, "soak_s") &&
        !is(key, "max_parallel") && !is(key, "max_failures") &&
        !is(key, "tiers"))
      return edv_error_set(err, EDV_EINVAL,
                           "field '%.64s' is not known (allowed: release, "
                           "waves, soak_s, max_parallel, max_failures, tiers)",
                           key);
  }
  if (!json_object_object_get_ex(spec, "release", &v) ||
      !json_object_is_type(v, json_type_string))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'release' is missing (a release version)");
  rel = json_object_get_string(v);
  if (!edv__release_version_ok(rel))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'release': '%.64s' is not a version", rel);
  if (edv__store_release_get(f->store, rel, &rr, NULL) != 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'release': release '%s' does not exist "
                         "(`edvctl release create`)",
                         rel);
  waves = "1,100%";
  if (json_object_object_get_ex(spec, "waves", &v) &&
      !json_object_is_type(v, json_type_null)) {
    if (!json_object_is_type(v, json_type_string))
      return edv_error_set(err, EDV_EINVAL,
                           "field 'waves' must be a string such as "
                           "\"1,10%%,100%%\"");
    waves = json_object_get_string(v);
  }
  if (waves_parse(waves, 100, cum, err) < 0)
    return EDV_EINVAL;
  if (spec_uint(spec, "soak_s", 0, 86400, 60, &soak, err) ||
      spec_uint(spec, "max_parallel", 1, 100, 5, &mp, err) ||
      spec_uint(spec, "max_failures", 0, 10000, 0, &mf, err))
    return EDV_EINVAL;
  if (spec_tiers(f, spec, r, c, err))
    return EDV_EINVAL;
  snprintf(r->release, sizeof(r->release), "%s", rel);
  snprintf(r->waves, sizeof(r->waves), "%s", waves);
  r->soak_ms = (int64_t)soak * 1000;
  r->max_parallel = mp;
  r->max_failures = mf;
  c->release = r->release;
  return 0;
}

typedef struct open_ctx {
  char id[EDV_STORE_ID_SZ];
  int newest;
} open_ctx;

/* The newest update not over (RUNNING, PAUSED, HALTED, ROLLING_BACK). */
static int find_open(void *data, const edv__update_rec *r)
{
  open_ctx *o = data;

  if (is(r->state, "RUNNING") || is(r->state, "PAUSED") ||
      is(r->state, "HALTED") || is(r->state, "ROLLING_BACK"))
    snprintf(o->id, sizeof(o->id), "%s", r->id);
  return 0;
}

static int find_newest(void *data, const edv__update_rec *r)
{
  snprintf(((open_ctx *)data)->id, EDV_STORE_ID_SZ, "%s", r->id);
  return 0;
}

static void new_id(edv_fleet *f, char *buf, size_t size)
{
  time_t now = time(NULL);
  struct tm tm;
  edv__update_rec r;
  char base[32];

  gmtime_r(&now, &tm);
  strftime(base, sizeof(base), "u-%Y%m%d-%H%M%S", &tm);
  snprintf(buf, size, "%s", base);
  for (unsigned i = 2; edv__store_update_get(f->store, buf, &r, NULL) == 0; i++)
    snprintf(buf, size, "%.20s-%u", base, i % 1000);
}

/* Answers now (ASYNC) or when the driver stops. */
static int upd_answer_or_wait(edv_fleet *f, const char *id, unsigned flags,
                              edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__update_rec r;
  json_object *doc;
  int result;

  if (!(flags & EDV_FLEET_ASYNC))
    return upd_drive(f, id, cb, data, err);
  if ((result = upd_drive(f, id, NULL, NULL, err)))
    return result;
  if ((result = edv__store_update_get(f->store, id, &r, err)))
    return result;
  doc = upd_doc(f, &r, 1);
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

int edv_fleet_update_start(edv_fleet *f, json_object *spec, unsigned flags,
                           edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__update_rec r;
  sel_ctx c;
  open_ctx o;
  size_t cum[UPD_WAVES_MAX];
  int nw, result;

  if (!f || !spec || !cb)
    return edv_error_set(err, EDV_EINVAL,
                         "an update and a callback are needed");
  if (f->closing || f->stopping)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  memset(&r, 0, sizeof(r));
  memset(&c, 0, sizeof(c));
  memset(&o, 0, sizeof(o));
  if ((result = spec_check(f, spec, &r, &c, err)))
    return result;
  if ((result = edv__store_update_list(f->store, find_open, &o, err)))
    return result;
  if (o.id[0])
    return edv_error_set(err, EDV_ECONFLICT,
                         "update '%s' is not over; resume, abort or roll it "
                         "back first",
                         o.id);
  if ((result = select_tenants(f, &c, err))) {
    free(c.recs);
    return result;
  }
  if (c.n == 0) {
    free(c.recs);
    return edv_error_set(err, EDV_EPRECONDITION,
                         "no READY tenant%s%s is off release %s: nothing to "
                         "update",
                         r.tiers[0] ? " of tier " : "", r.tiers, r.release);
  }
  nw = waves_parse(r.waves, c.n, cum, err);
  new_id(f, r.id, sizeof(r.id));
  upd_status(&r, "wave 1 of %d: starting", nw);
  if ((result = edv__store_begin(f->store, err))) {
    free(c.recs);
    return result;
  }
  result = upd_put(f, &r, "RUNNING", err);
  for (size_t i = 0, w = 0; !result && i < c.n; i++) {
    edv__update_tenant_rec t;

    while (w + 1 < (size_t)nw && i >= cum[w])
      w++;
    if (i >= cum[w])
      break; /* past the last target: left out */
    memset(&t, 0, sizeof(t));
    snprintf(t.update_id, sizeof(t.update_id), "%s", r.id);
    snprintf(t.tenant, sizeof(t.tenant), "%s", c.recs[i].id);
    t.wave = (unsigned)w;
    snprintf(t.state, sizeof(t.state), "PENDING");
    snprintf(t.from, sizeof(t.from), "%s", c.recs[i].release);
    snprintf(t.to, sizeof(t.to), "%s", r.release);
    result = edv__store_update_tenant_put(f->store, &t, err);
  }
  free(c.recs);
  if (result) {
    (void)edv__store_rollback(f->store, NULL);
    return result;
  }
  if ((result = edv__store_commit(f->store, err)))
    return result;
  EDV_LOG_I(MOD, "update=%s release=%s waves=%s recorded", r.id, r.release,
            r.waves);
  return upd_answer_or_wait(f, r.id, flags, cb, data, err);
}

/* The update named `id`, or the newest one for NULL. */
static int upd_rec(edv_fleet *f, const char *id, edv__update_rec *r,
                   edv_error *err)
{
  open_ctx o;
  int result;

  memset(&o, 0, sizeof(o));
  if (!id || !*id) {
    if ((result = edv__store_update_list(f->store, find_newest, &o, err)))
      return result;
    if (!o.id[0])
      return edv_error_set(err, EDV_ENOTFOUND, "there is no fleet update");
    id = o.id;
  }
  if (strlen(id) >= EDV_STORE_ID_SZ)
    return edv_error_set(err, EDV_ENOTFOUND, "update '%.40s' does not exist",
                         id);
  return edv__store_update_get(f->store, id, r, err);
}

int edv_fleet_update_get(edv_fleet *f, const char *id, edv_fleet_cb cb,
                         void *data, edv_error *err)
{
  edv__update_rec r;
  json_object *doc;
  int result;

  if (!cb)
    return edv_error_set(err, EDV_EINVAL, "a callback is needed");
  if ((result = upd_rec(f, id, &r, err)))
    return result;
  if (!(doc = upd_doc(f, &r, 1)))
    return edv_error_set(err, EDV_ENOMEM, "cannot read the update");
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

typedef struct list_ctx {
  edv_fleet *f;
  edv__update_rec *r;
  size_t n, cap;
} list_ctx;

static int list_one(void *data, const edv__update_rec *r)
{
  list_ctx *c = data;

  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    edv__update_rec *p = realloc(c->r, cap * sizeof(*p));
    if (!p)
      return 1;
    c->r = p;
    c->cap = cap;
  }
  c->r[c->n++] = *r;
  return 0;
}

int edv_fleet_update_list(edv_fleet *f, edv_fleet_cb cb, void *data,
                          edv_error *err)
{
  list_ctx c;
  json_object *doc, *arr;
  int result;

  if (!cb)
    return edv_error_set(err, EDV_EINVAL, "a callback is needed");
  memset(&c, 0, sizeof(c));
  c.f = f;
  if ((result = edv__store_update_list(f->store, list_one, &c, err))) {
    free(c.r);
    return result;
  }
  arr = json_object_new_array();
  for (size_t i = 0; i < c.n; i++) {
    json_object *d = upd_doc(f, &c.r[i], 0);
    if (d)
      json_object_array_add(arr, d);
  }
  free(c.r);
  doc = json_object_new_object();
  json_object_object_add(doc, "updates", arr);
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

/* A rollback: every tenant the update moved (or is moving) goes back to
 * its previous release; those it never touched are left. */
static int rollback_rows(edv_fleet *f, edv__update_rec *r, edv_error *err)
{
  ut_list l;
  unsigned n = 0;
  int result;

  if ((result = ut_load(f, r->id, &l, err))) {
    free(l.t);
    return result;
  }
  if ((result = edv__store_begin(f->store, err))) {
    free(l.t);
    return result;
  }
  for (size_t i = 0; !result && i < l.n; i++) {
    edv__update_tenant_rec *t = &l.t[i];

    if (!is(t->state, "UPDATING") && !is(t->state, "SOAKING") &&
        !is(t->state, "DONE"))
      continue;
    snprintf(t->to, sizeof(t->to), "%s", t->from);
    snprintf(t->state, sizeof(t->state), "PENDING");
    t->error[0] = '\0';
    t->started_ms = t->finished_ms = 0;
    result = edv__store_update_tenant_put(f->store, t, err);
    n++;
  }
  free(l.t);
  upd_status(r, "rolling back: %u tenants to go", n);
  if (!result)
    result = upd_put(f, r, "ROLLING_BACK", err);
  if (result) {
    (void)edv__store_rollback(f->store, NULL);
    return result;
  }
  return edv__store_commit(f->store, err);
}

/* resume of a PAUSED or HALTED update: the FAILED tenants of the current
 * wave go again. */
static int resume_rows(edv_fleet *f, edv__update_rec *r, edv_error *err)
{
  ut_list l;
  int result;

  if ((result = ut_load(f, r->id, &l, err))) {
    free(l.t);
    return result;
  }
  for (size_t i = 0; !result && i < l.n; i++)
    if (l.t[i].wave == r->wave && is(l.t[i].state, "FAILED")) {
      snprintf(l.t[i].state, sizeof(l.t[i].state), "PENDING");
      result = edv__store_update_tenant_put(f->store, &l.t[i], err);
    }
  free(l.t);
  r->soak_until_ms = 0;
  upd_status(r, "wave %u: resumed", r->wave + 1);
  return result ? result : upd_put(f, r, "RUNNING", err);
}

int edv_fleet_update_act(edv_fleet *f, const char *id, const char *action,
                         unsigned flags, edv_fleet_cb cb, void *data,
                         edv_error *err)
{
  edv__update_rec r;
  open_ctx o;
  json_object *doc;
  int result;
  const char *who = f->who[0] ? f->who : f->actor;

  if (!cb || !action)
    return edv_error_set(err, EDV_EINVAL,
                         "an action and a callback are needed");
  if (f->closing || f->stopping)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  if (!is(action, "pause") && !is(action, "resume") && !is(action, "abort") &&
      !is(action, "rollback"))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'action': '%.32s' is not one of pause, "
                         "resume, abort, rollback",
                         action);
  if ((result = upd_rec(f, id, &r, err)))
    return result;
  if (is(action, "pause")) {
    if (!is(r.state, "RUNNING"))
      return edv_error_set(err, EDV_ECONFLICT,
                           "update '%s' is %s: only a RUNNING one pauses", r.id,
                           r.state);
    upd_status(&r,
               "paused by %s at wave %u; `fleet update resume %s` "
               "goes on",
               who, r.wave + 1, r.id);
    result = upd_put(f, &r, "PAUSED", err);
  } else if (is(action, "abort")) {
    if (!is(r.state, "RUNNING") && !is(r.state, "PAUSED") &&
        !is(r.state, "HALTED"))
      return edv_error_set(err, EDV_ECONFLICT,
                           "update '%s' is %s: only a RUNNING, PAUSED or "
                           "HALTED one aborts",
                           r.id, r.state);
    upd_status(&r,
               "aborted by %s at wave %u; the tenants updated stay on %s "
               "(rollback returns them)",
               who, r.wave + 1, r.release);
    result = upd_put(f, &r, "ABORTED", err);
  } else if (is(action, "resume")) {
    if (is(r.state, "PAUSED") || is(r.state, "HALTED"))
      result = resume_rows(f, &r, err);
    else if (!is(r.state, "RUNNING") && !is(r.state, "ROLLING_BACK"))
      return edv_error_set(err, EDV_ECONFLICT,
                           "update '%s' is %s: there is nothing to resume",
                           r.id, r.state);
    if (!result)
      return upd_answer_or_wait(f, r.id, flags, cb, data, err);
  } else {
    memset(&o, 0, sizeof(o));
    if ((result = edv__store_update_list(f->store, find_newest, &o, err)))
      return result;
    if (!is(o.id, r.id))
      return edv_error_set(err, EDV_ECONFLICT,
                           "update '%s' is not the newest ('%s' is): roll "
                           "that one back first",
                           r.id, o.id);
    if (is(r.state, "ROLLED_BACK") || is(r.state, "ROLLING_BACK")) {
      if (is(r.state, "ROLLED_BACK"))
        return edv_error_set(err, EDV_ECONFLICT,
                             "update '%s' is already ROLLED_BACK", r.id);
    } else if ((result = rollback_rows(f, &r, err)))
      return result;
    return upd_answer_or_wait(f, r.id, flags, cb, data, err);
  }
  if (result)
    return result;
  EDV_LOG_I(MOD, "update=%s %s", r.id, r.status);
  if (upd_find(f, r.id))
    upd_kick(upd_find(f, r.id), 0);
  doc = upd_doc(f, &r, 1);
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

typedef struct carry_ctx {
  edv_fleet *f;
  unsigned n;
} carry_ctx;

static int carry_one(void *data, const edv__update_rec *r)
{
  carry_ctx *c = data;
  edv__lease_rec cur;
  char key[64];

  if ((!is(r->state, "RUNNING") && !is(r->state, "ROLLING_BACK")) ||
      upd_find(c->f, r->id))
    return 0;
  /* Somebody alive drives it: leave it to them (a peek, no take). */
  upd_lease_key(r->id, key, sizeof(key));
  if (edv__store_lease_get(c->f->store, key, &cur, NULL) == 0 &&
      cur.expires_ms > upd_now() && !is(cur.holder, ""))
    if (edv__fleet_lease(c->f->machine, key, &cur, NULL) != 0)
      return 0;
  if (upd_drive(c->f, r->id, NULL, NULL, NULL) == 0) {
    EDV_LOG_I(MOD, "update=%s (%s) carried on", r->id, r->state);
    c->n++;
  }
  return 0;
}

unsigned edv_fleet_update_carry(edv_fleet *f)
{
  carry_ctx c = {f, 0};

  if (!f || f->closing || f->stopping)
    return 0;
  (void)edv__store_update_list(f->store, carry_one, &c, NULL);
  return c.n;
}
