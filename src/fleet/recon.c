/*
 * recon.c - the reconciler of a fleet (fleet/recon.h; edv/fleet.h,
 * "Reconciler"): its state and life, the pass that resumes interrupted
 * tenants, and its figures for a status document and for Prometheus.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fleet/recon.h"
#include "store/batch.h"

#define MOD "reconciler"

/* ---- life ----------------------------------------------------------------*/

static void recon_free(edv__recon *d)
{
  edv__heal_free(d);
  json_object_put(d->vm_zones);
  json_object_put(d->orphans);
  json_object_put(d->drift_state);
  json_object_put(d->orphans_asked);
  json_object_put(d->orphans_seen);
  free(d);
}

edv__recon *edv__recon_get(edv_fleet *f)
{
  edv__recon *d = f->recon;

  if (d || f->closing)
    return d;
  d = calloc(1, sizeof(*d));
  if (!d)
    return NULL;
  d->f = f;
  d->engine = f->engine;
  d->store = f->store;
  d->tiers = f->tiers;
  d->fleet = f->machine;
  d->stopping = f->stopping;
  d->orphan_grace_ms = 3600000u;
  d->heal_after = 3;
  d->heal_max_per_hour = 3;
  d->probe_timeout_ms = 10000u;
  f->recon = d;
  return d;
}

void edv__recon_stop(edv_fleet *f)
{
  if (f->recon)
    f->recon->stopping = 1;
}

void edv__recon_detach(edv_fleet *f)
{
  edv__recon *d = f->recon;

  if (!d)
    return;
  f->recon = NULL;
  d->stopping = 1;
  d->f = NULL;
  d->engine = NULL;
  d->store = NULL;
  d->tiers = NULL;
  d->fleet = NULL;
  if (!d->refs)
    recon_free(d);
}

void edv__recon_hold(edv__recon *d)
{
  d->refs++;
}

void edv__recon_release(edv__recon *d)
{
  if (d->refs)
    d->refs--;
  if (!d->refs && !d->f)
    recon_free(d);
}

/* ---- what the passes share -----------------------------------------------*/

int edv__recon_driven(edv__recon *d, const char *id)
{
  return d->f && edv__fleet_run_find(d->f, id) != NULL;
}

int edv__recon_drive(edv__recon *d, const char *id, edv__direction dir,
                     edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__fleet_run *r;
  int result;

  if (d->stopping || !d->f)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is stopping");
  r = edv__fleet_run_find(d->f, id);
  if (r)
    return edv_error_set(err, EDV_EBUSY, "tenant '%s' is already being %s", id,
                         edv__direction_done(r->dir));
  /* A backup or restore holds the database: the fleet starts no run
   * meanwhile (fleet/dayops.h). */
  result = edv__fleet_drive_tenant(d->f, id, dir, cb, data, err);
  if (result)
    return result;
  d->runs_started++;
  EDV_LOG_I(MOD, "run started: tenant=%s direction=%s", id,
            edv__direction_name(dir));
  return 0;
}

void edv__recon_journal(edv__recon *d, const char *actor, const char *tenant,
                        const char *event, const char *what, const char *error)
{
  edv__journal_rec j;

  if (!d->f)
    return;
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", actor);
  snprintf(j.event, sizeof(j.event), "%s", event);
  snprintf(j.api_call, sizeof(j.api_call), "%.*s", (int)sizeof(j.api_call) - 1,
           what ? what : "");
  if (error)
    snprintf(j.error, sizeof(j.error), "%s", error);
  edv__fleet_journal(d->f, &j);
}

/* ---- the resume pass -----------------------------------------------------*/

typedef struct pass_ctx {
  char ids[256][EDV_STORE_ID_SZ];
  edv__direction dirs[256];
  unsigned n;
  /* READY and DELETED tenants: a failover may have left resources in an
   * old region to retire (EDV_DIR_RETIRE). */
  char settled[256][EDV_STORE_ID_SZ];
  unsigned nsettled;
  edv_fleet *f;
  int64_t now_ms; /* SUSPENDED tenants whose grace ended by then go */
} pass_ctx;

static int pass_one(void *data, const edv__tenant_rec *rec)
{
  pass_ctx *p = data;

  int64_t purge = edv__fleet_purge_after(p->f, rec);

  if (rec->id[0] == '@' || p->n >= 256)
    return 0;
  if ((rec->phase == EDV_PHASE_READY || rec->phase == EDV_PHASE_DELETED) &&
      p->nsettled < 256)
    snprintf(p->settled[p->nsettled++], sizeof(p->settled[0]), "%s", rec->id);
  if (rec->phase != EDV_PHASE_PENDING && rec->phase != EDV_PHASE_PROVISIONING &&
      rec->phase != EDV_PHASE_UPDATING &&
      rec->phase != EDV_PHASE_DEPROVISIONING &&
      rec->phase != EDV_PHASE_SUSPENDING && (purge < 0 || purge > p->now_ms))
    return 0;
  snprintf(p->ids[p->n], sizeof(p->ids[p->n]), "%s", rec->id);
  /* An expired grace: the purge (the deletion with its final backup). */
  p->dirs[p->n] = rec->phase == EDV_PHASE_DEPROVISIONING || purge >= 0
                      ? EDV_DIR_DOWN
                  : rec->phase == EDV_PHASE_SUSPENDING ? EDV_DIR_SUSPEND
                                                       : EDV_DIR_UP;
  p->n++;
  return 0;
}

/* A caller waiting for the pass's runs (edv_fleet_reconcile without
 * EDV_FLEET_ASYNC): answered when the last of them ended. */
typedef struct recon_wait {
  edv_fleet *f;
  edv_fleet_cb cb;
  void *data;
  unsigned pending; /* runs not ended yet */
  unsigned resumed; /* tenants the pass started */
  int armed;        /* every run is started: the last end answers */
} recon_wait;

/* The pass's answer: how many were resumed, what runs, the platform. */
static json_object *recon_doc(edv_fleet *f, unsigned resumed)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "resumed", json_object_new_int((int)resumed));
  json_object_object_add(o, "runs_in_flight",
                         json_object_new_int((int)f->nruns));
  json_object_object_add(o, "platform",
                         json_object_new_string(edv__fleet_platform_phase(f)));
  return o;
}

static void wait_answer(recon_wait *w)
{
  json_object *o = recon_doc(w->f, w->resumed);

  w->cb(w->data, o, NULL);
  json_object_put(o);
  free(w);
}

/* One run of the pass ended (READY, DELETED, FAILED or stopped: the pass
 * answers how many it resumed, each run's own end is in its events). */
static void wait_one(void *data, json_object *answer, const edv_error *err)
{
  recon_wait *w = data;

  (void)answer;
  (void)err;
  if (--w->pending == 0 && w->armed)
    wait_answer(w);
}

/* Drives `id` for the pass, the waiter (if any) told of its end. */
static int pass_drive(edv__recon *d, const char *id, edv__direction dir,
                      recon_wait *w, edv_error *err)
{
  if (edv__recon_drive(d, id, dir, w ? wait_one : NULL, w, err))
    return -1;
  if (w)
    w->pending++;
  return 0;
}

/* Drives every tenant the store lists as interrupted; how many started. */
static unsigned resume_all(edv__recon *d, pass_ctx *p, recon_wait *w)
{
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ] = "";
  unsigned started = 0;
  edv_error err;

  memset(&f, 0, sizeof(f));
  f.phase = -1;
  f.limit = 256; /* pass_one keeps at most 256: page at that size */
  /* Collect first, drive after: the store must not be called from inside
   * its own list callback. */
  do {
    f.after = next;
    if (edv__store_tenant_list(d->store, &f, pass_one, p, next, sizeof(next),
                               &err)) {
      EDV_LOG_E(MOD, "pass: cannot list tenants: %s", err.message);
      break;
    }
    for (unsigned i = 0; i < p->n; i++) {
      if (edv__recon_driven(d, p->ids[i]))
        continue;
      if (pass_drive(d, p->ids[i], p->dirs[i], w, &err) == 0)
        started++;
      else if (err.code != EDV_EBUSY)
        EDV_LOG_W(MOD, "pass: tenant=%s: %s", p->ids[i], err.message);
    }
    /* A failover's old region, once it answers: the retirement's own
     * preflight asks it, and a run that fails is tried at the next pass. */
    for (unsigned i = 0; i < p->nsettled; i++) {
      char region[EDV_REGION_MAX + 1];

      if (edv__recon_driven(d, p->settled[i]) ||
          !edv__fleet_retire_pending(d->f->machine, p->settled[i], region,
                                     sizeof(region)))
        continue;
      if (pass_drive(d, p->settled[i], EDV_DIR_RETIRE, w, &err) == 0)
        started++;
      else if (err.code != EDV_EBUSY)
        EDV_LOG_W(MOD, "pass: tenant=%s: retire in %s: %s", p->settled[i],
                  region, err.message);
    }
    p->n = 0;
    p->nsettled = 0;
  } while (next[0]);
  return started;
}

static int platform_ready(edv__recon *d)
{
  edv__tenant_rec rec;

  return edv__store_tenant_get(d->store, EDV_PLATFORM_ID, &rec, NULL) == 0 &&
         rec.phase == EDV_PHASE_READY;
}

/* The pass itself: 0 with the runs started (`w`, if any, told of their
 * ends), or an edv_code when the platform's run could not start. */
static int recon_pass(edv__recon *d, unsigned flags, recon_wait *w,
                      unsigned *runs, edv_error *perr)
{
  uint64_t t0 = uv_hrtime();
  pass_ctx *p;
  unsigned started;
  edv_error err;

  if (d->stopping || edv__recon_driven(d, EDV_PLATFORM_ID))
    return 0;
  if (!platform_ready(d)) {
    if (!(flags & EDV_PASS_PLATFORM)) {
      EDV_LOG_W(MOD, "pass skipped: the platform is not READY (run `edvctl "
                     "platform init`, or edvd --sim)");
      return 0;
    }
    EDV_LOG_I(MOD, "platform missing: running platform init");
    if (pass_drive(d, EDV_PLATFORM_ID, EDV_DIR_UP, w, &err)) {
      if (perr)
        *perr = err;
      return err.code;
    }
    *runs = 1;
    return 0;
  }
  if (!(p = calloc(1, sizeof(*p))))
    return edv_error_set(perr, EDV_ENOMEM, "out of memory");
  d->last_pass_ms = edv__store_now(d->store);
  p->f = d->f;
  p->now_ms = d->last_pass_ms;
  started = resume_all(d, p, w);
  free(p);
  /* Idempotency keys answer retries, which come within minutes; a day
   * is plenty, and keeps the table small. */
  if (edv__store_idem_prune(d->store, d->last_pass_ms - 86400000, &err))
    EDV_LOG_W(MOD, "pass: idempotency prune: %s", err.message);
  if (flags & EDV_PASS_DRIFT)
    edv__drift_pass(d);
  d->passes++;
  d->last_pass_dur_ms = (uv_hrtime() - t0) / 1000000u;
  d->last_pass_started = started;
  if (started)
    EDV_LOG_I(MOD, "pass: resumed %u tenant(s)", started);
  *runs = started;
  return 0;
}

int edv_fleet_reconcile(edv_fleet *f, unsigned flags, edv_fleet_cb cb,
                        void *data, edv_error *err)
{
  edv__recon *d = edv__recon_get(f);
  recon_wait *w = NULL;
  unsigned runs = 0;
  json_object *o;
  int rc;

  if (!d)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (cb && !(flags & EDV_FLEET_ASYNC)) {
    if (!(w = calloc(1, sizeof(*w))))
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
    w->f = f;
    w->cb = cb;
    w->data = data;
  }
  if ((rc = recon_pass(d, flags, w, &runs, err)) != 0 && !(w && w->pending)) {
    free(w);
    return rc;
  }
  if (w) {
    /* Its runs answer it from the loop; none started: answered below. */
    w->resumed = runs;
    w->armed = 1;
    if (w->pending)
      return 0;
    free(w);
  }
  if (!cb)
    return 0;
  o = recon_doc(f, runs);
  rc = edv__fleet_answer_later(f, cb, data, o, NULL, err);
  json_object_put(o);
  return rc;
}

/* ---- settings and the other passes ---------------------------------------*/

int edv_fleet_reconciler_set(edv_fleet *f, const edv_reconciler_options *o,
                             edv_error *err)
{
  edv__recon *d = edv__recon_get(f);

  if (!d)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (o->probe_via && strlen(o->probe_via) >= sizeof(d->probe_via))
    return edv_error_set(err, EDV_EINVAL, "probe_via: longer than %zu bytes",
                         sizeof(d->probe_via) - 1);
  d->delete_orphans = o->delete_orphans != 0;
  d->orphan_grace_ms = o->orphan_grace_ms;
  d->heal_after = o->heal_after ? o->heal_after : 3;
  d->heal_max_per_hour = o->heal_max_per_hour;
  d->probe_timeout_ms = o->probe_timeout_ms ? o->probe_timeout_ms : 10000u;
  snprintf(d->probe_via, sizeof(d->probe_via), "%s",
           o->probe_via ? o->probe_via : "");
  d->audit = o->audit;
  d->audit_data = o->audit_data;
  d->reconcile_interval_ms = o->reconcile_interval_ms;
  d->drift_interval_ms = o->drift_interval_ms;
  d->health_interval_ms = o->health_interval_ms;
  return 0;
}

int edv_fleet_drift_pass(edv_fleet *f)
{
  edv__recon *d = edv__recon_get(f);

  return d ? edv__drift_pass(d) : -1;
}

void edv_fleet_heal_pass(edv_fleet *f)
{
  edv__recon *d = edv__recon_get(f);

  if (d)
    edv__heal_pass(d);
}

uint64_t edv_fleet_reconciler_runs(const edv_fleet *f)
{
  return f->recon ? f->recon->runs_started : 0;
}

unsigned edv_fleet_runs(const edv_fleet *f)
{
  return f->nruns;
}

void edv_fleet_stop(edv_fleet *f)
{
  edv__fleet_stop_all(f);
}

/* ---- figures -------------------------------------------------------------*/

/* The drift figures of the status. */
static void drift_view(edv__recon *d, json_object *rc)
{
  json_object *by = json_object_new_object(), *un = json_object_new_array();
  char what[1024];

  edv__drift_detection(what, sizeof(what));
  json_object_object_add(rc, "drift_detection", json_object_new_string(what));
  json_object_object_add(
      rc, "drift_interval_s",
      json_object_new_int64((int64_t)(d->drift_interval_ms / 1000)));
  json_object_object_add(rc, "drift_passes",
                         json_object_new_int64((int64_t)d->drift_passes));
  json_object_object_add(rc, "drift_repairs",
                         json_object_new_int64((int64_t)d->drift_repairs));
  json_object_object_add(rc, "drift_last_calls",
                         json_object_new_int((int)d->drift_last_calls));
  for (int dk = 0; dk < EDV_DRIFT_KINDS; dk++)
    json_object_object_add(
        by, edv__drift_kinds[dk],
        json_object_new_int((int)d->drift_calls_by_kind[dk]));
  json_object_object_add(rc, "drift_last_calls_by_kind", by);
  if (d->drift_state) {
    json_object_object_foreach(d->drift_state, tid, e)
    {
      json_object *u, *v;
      /* Only drift that survived a repair (not one being repaired). */
      if ((!json_object_object_get_ex(e, "repairs", &v) ||
           json_object_get_int64(v) < 2) &&
          (!json_object_object_get_ex(e, "skipped", &v) ||
           json_object_get_int64(v) < 1))
        continue;
      u = json_object_new_object();
      json_object_object_add(u, "tenant", json_object_new_string(tid));
      if (json_object_object_get_ex(e, "drift", &v))
        json_object_object_add(u, "drift", json_object_get(v));
      if (json_object_object_get_ex(e, "since", &v))
        json_object_object_add(u, "since", json_object_get(v));
      if (json_object_object_get_ex(e, "repairs", &v))
        json_object_object_add(u, "repairs", json_object_get(v));
      if (json_object_object_get_ex(e, "skipped", &v))
        json_object_object_add(u, "skipped_passes", json_object_get(v));
      json_object_array_add(un, u);
    }
  }
  json_object_object_add(rc, "drift_unresolved", un);
  json_object_object_add(rc, "delete_orphans",
                         json_object_new_boolean(d->delete_orphans));
  json_object_object_add(rc, "orphans_deleted",
                         json_object_new_int64((int64_t)d->orphans_deleted));
}

json_object *edv_fleet_reconciler_status(edv_fleet *f)
{
  edv__recon *d = edv__recon_get(f);
  json_object *rc;

  if (!d || !(rc = json_object_new_object()))
    return NULL;

  json_object_object_add(
      rc, "interval_s",
      json_object_new_int64((int64_t)(d->reconcile_interval_ms / 1000)));
  json_object_object_add(rc, "passes",
                         json_object_new_int64((int64_t)d->passes));
  if (d->passes) {
    json_object_object_add(rc, "last_pass",
                           edv__view_time_json(d->last_pass_ms));
    json_object_object_add(rc, "last_pass_duration_ms",
                           json_object_new_int64((int64_t)d->last_pass_dur_ms));
    json_object_object_add(rc, "last_pass_resumed",
                           json_object_new_int((int)d->last_pass_started));
  } else {
    json_object_object_add(rc, "last_pass", NULL);
  }
  drift_view(d, rc);
  json_object_object_add(
      rc, "health_interval_s",
      json_object_new_int64((int64_t)(d->health_interval_ms / 1000)));
  json_object_object_add(rc, "health_probes",
                         json_object_new_int64((int64_t)d->heal_probes));
  json_object_object_add(rc, "unhealthy_probes",
                         json_object_new_int64((int64_t)d->heal_unhealthy));
  json_object_object_add(rc, "heal_resets",
                         json_object_new_int64((int64_t)d->heal_resets));
  json_object_object_add(rc, "degraded_alerts",
                         json_object_new_int64((int64_t)d->heal_degraded));
  edv__heal_status(d, rc);
  json_object_object_add(rc, "orphans",
                         d->orphans ? json_object_get(d->orphans)
                                    : json_object_new_array());
  return rc;
}

int edv__recon_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
  va_list ap;
  int n;

  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return -1;
    if (*buf && *len + (size_t)n < *cap) {
      *len += (size_t)n;
      return 0;
    }
    {
      size_t ncap = (*cap ? *cap * 2 : 4096) + (size_t)n;
      char *nb = realloc(*buf, ncap);

      if (!nb)
        return -1;
      *buf = nb;
      *cap = ncap;
    }
  }
}

/* The passes', drift's and orphans' figures. */
static int passes_prometheus(edv__recon *d, char **b, size_t *len, size_t *cap)
{
  int bad = edv__recon_cat(
      b, len, cap,
      "# HELP edv_reconcile_passes_total Passes of the reconciler.\n"
      "# TYPE edv_reconcile_passes_total counter\n"
      "edv_reconcile_passes_total %llu\n"
      "# HELP edv_reconcile_last_duration_seconds Duration of the "
      "last pass.\n"
      "# TYPE edv_reconcile_last_duration_seconds gauge\n"
      "edv_reconcile_last_duration_seconds %.3f\n"
      "# HELP edv_drift_repairs_total Tenants driven again for "
      "drift.\n"
      "# TYPE edv_drift_repairs_total counter\n"
      "edv_drift_repairs_total %llu\n"
      "# HELP edv_heal_resets_total VM resets by the healer.\n"
      "# TYPE edv_heal_resets_total counter\n"
      "edv_heal_resets_total %llu\n"
      "# HELP edv_heal_degraded_total Tenants reported degraded.\n"
      "# TYPE edv_heal_degraded_total counter\n"
      "edv_heal_degraded_total %llu\n"
      "# HELP edv_orphans Resources of ours for no live tenant, "
      "by kind (last drift pass).\n# TYPE edv_orphans gauge\n",
      (unsigned long long)d->passes, (double)d->last_pass_dur_ms / 1e3,
      (unsigned long long)d->drift_repairs, (unsigned long long)d->heal_resets,
      (unsigned long long)d->heal_degraded);

  for (int ok = 0; ok < EDV_ORPHAN_KINDS; ok++)
    bad |= edv__recon_cat(b, len, cap, "edv_orphans{kind=\"%s\"} %u\n",
                          edv__orphan_kinds[ok], d->orphan_counts[ok]);
  bad |=
      edv__recon_cat(b, len, cap,
                     "# HELP edv_drift_last_calls List pages the last drift "
                     "pass fetched.\n# TYPE edv_drift_last_calls gauge\n"
                     "edv_drift_last_calls %u\n"
                     "# HELP edv_drift_passes_total Drift passes.\n"
                     "# TYPE edv_drift_passes_total counter\n"
                     "edv_drift_passes_total %llu\n",
                     d->drift_last_calls, (unsigned long long)d->drift_passes);
  return bad;
}

char *edv_fleet_reconciler_metrics(edv_fleet *f)
{
  edv__recon *d = edv__recon_get(f);
  char *b = NULL, *probes;
  size_t len = 0, cap = 0;
  int bad;

  if (!d)
    return NULL;
  bad = passes_prometheus(d, &b, &len, &cap);
  bad |= edv__recon_cat(
      &b, &len, &cap,
      "# HELP edv_store_commits_total Group commits of the state "
      "store.\n# TYPE edv_store_commits_total counter\n"
      "edv_store_commits_total %lu\n"
      "# HELP edv_store_busy_retries_total Group commits retried "
      "because another process held the store's lock.\n"
      "# TYPE edv_store_busy_retries_total counter\n"
      "edv_store_busy_retries_total %lu\n",
      edv__store_batch_commits(edv__fleet_batch(f->machine)),
      edv__store_batch_busy_retries(edv__fleet_batch(f->machine)));
  probes = edv__heal_prometheus(d); /* heal.c: probes, metrics */
  bad |= !probes || edv__recon_cat(&b, &len, &cap, "%s", probes);
  free(probes);
  if (bad) {
    free(b);
    return NULL;
  }
  return b;
}
