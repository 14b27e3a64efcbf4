/*
 * dayops_fleet.c - the fleet as a whole (edv/fleet.h): its status (tenants
 * by phase and tier, the failed ones, the runs in flight, the platform,
 * the engine's call figures) and its monthly cost estimate, both from the
 * store and the tiers file alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/dayops.h"

#define COUNT_TIERS 32

typedef struct counts {
  uint64_t by_phase[EDV_PHASE__COUNT];
  json_object *by_tier; /* {tier: {phase: n}} */
  uint64_t per_tier[COUNT_TIERS];
  char tiers[COUNT_TIERS][EDV_STORE_TIER_SZ];
  unsigned ntiers;
  uint64_t live; /* not DELETED */
} counts;

static int count_one(void *data, const char *tier, edv_tenant_phase phase,
                     uint64_t n)
{
  counts *k = data;
  json_object *t;
  unsigned i;

  if (strcmp(tier, "platform") == 0)
    return 0; /* the platform's pseudo-tenant */
  if (phase < EDV_PHASE__COUNT)
    k->by_phase[phase] += n;
  if (!json_object_object_get_ex(k->by_tier, tier, &t)) {
    t = json_object_new_object();
    json_object_object_add(k->by_tier, tier, t);
  }
  json_object_object_add(t, edv__phase_name(phase),
                         json_object_new_int64((int64_t)n));
  if (phase == EDV_PHASE_DELETED)
    return 0;
  k->live += n;
  for (i = 0; i < k->ntiers; i++)
    if (strcmp(k->tiers[i], tier) == 0)
      break;
  if (i == k->ntiers && k->ntiers < COUNT_TIERS)
    snprintf(k->tiers[k->ntiers++], sizeof(k->tiers[0]), "%s", tier);
  if (i < COUNT_TIERS)
    k->per_tier[i] += n;
  return 0;
}

/* Counts the tenants; k->by_tier is the caller's (json_object_put). */
static int count_all(edv_fleet *f, counts *k, edv_error *err)
{
  memset(k, 0, sizeof(*k));
  k->by_tier = json_object_new_object();
  return edv__store_tenant_counts(f->store, count_one, k, err);
}

/* ---- status --------------------------------------------------------------*/

static int failed_one(void *data, const edv__tenant_rec *rec)
{
  json_object *arr = data, *o = json_object_new_object();

  json_object_object_add(o, "id", json_object_new_string(rec->id));
  json_object_object_add(o, "tier", json_object_new_string(rec->tier));
  json_object_object_add(o, "error", json_object_new_string(rec->last_error));
  json_object_array_add(arr, o);
  return 0;
}

static json_object *tenants_view(counts *k)
{
  json_object *t = json_object_new_object(), *bp = json_object_new_object();

  for (int p = 0; p < EDV_PHASE__COUNT; p++)
    json_object_object_add(bp, edv__phase_name((edv_tenant_phase)p),
                           json_object_new_int64((int64_t)k->by_phase[p]));
  json_object_object_add(t, "total", json_object_new_int64((int64_t)k->live));
  json_object_object_add(t, "by_phase", bp);
  json_object_object_add(t, "by_tier", k->by_tier);
  k->by_tier = NULL;
  return t;
}

static json_object *runs_view(edv_fleet *f)
{
  json_object *runs = json_object_new_array();

  for (edv__fleet_run *r = f->runs; r; r = r->next) {
    json_object *x = json_object_new_object();
    json_object_object_add(x, "tenant", json_object_new_string(r->id));
    json_object_object_add(x, "direction",
                           json_object_new_string(edv__direction_name(r->dir)));
    json_object_array_add(runs, x);
  }
  return runs;
}

static json_object *apis_view(edv_engine *engine)
{
  json_object *o = json_object_new_object();

  for (int a = 0; a < EDV_API__COUNT; a++) {
    edv_api_stats s;
    json_object *x;
    if (a == EDV_API_OTHER)
      continue;
    edv_engine_stats(engine, (edv_api)a, &s);
    x = json_object_new_object();
#define STAT(name)                                                             \
  json_object_object_add(x, #name, json_object_new_int64((int64_t)s.name))
    STAT(calls);
    STAT(attempts);
    STAT(errors);
    STAT(retries);
    STAT(rate_limited);
    STAT(throttle_waits);
    STAT(in_flight);
#undef STAT
    json_object_object_add(o, edv_api_name((edv_api)a), x);
  }
  return o;
}

json_object *edv__dayops_status(edv_fleet *f, edv_error *err)
{
  counts k;
  json_object *o, *failed;
  edv__tenant_filter flt;

  if (count_all(f, &k, err) != 0) {
    json_object_put(k.by_tier);
    return NULL;
  }
  o = json_object_new_object();
  json_object_object_add(o, "tenants", tenants_view(&k));
  failed = json_object_new_array();
  memset(&flt, 0, sizeof(flt));
  flt.phase = EDV_PHASE_FAILED;
  flt.limit = 100;
  edv__store_tenant_list(f->store, &flt, failed_one, failed, NULL, 0, NULL);
  json_object_object_add(o, "failed", failed);
  json_object_object_add(o, "runs_in_flight",
                         json_object_new_int((int)f->nruns));
  json_object_object_add(o, "runs", runs_view(f));
  json_object_object_add(o, "platform",
                         json_object_new_string(edv__fleet_platform_phase(f)));
  json_object_object_add(o, "apis", apis_view(f->engine));
  json_object_object_add(o, "backups", edv__dayops_backups_view(f));
  json_object_object_add(o, "incidents_open", edv__incidents_open_view(f));
  return o;
}

int edv_fleet_status(edv_fleet *f, edv_fleet_cb cb, void *data, edv_error *err)
{
  edv_error e;
  json_object *o = edv__dayops_status(f, &e);

  if (!o) {
    if (err)
      *err = e;
    return e.code;
  }
  return edv__dayops_answer_later(f, o, cb, data, err);
}

/* ---- costs ---------------------------------------------------------------*/

json_object *edv__dayops_costs(edv_fleet *f, edv_error *err)
{
  counts k;
  json_object *o, *arr;
  double total = 0;
  int result;

  result = count_all(f, &k, err);
  json_object_put(k.by_tier);
  if (result)
    return NULL;
  o = json_object_new_object();
  arr = json_object_new_array();
  for (size_t i = 0; i < f->tiers->ntiers; i++) {
    const edv__tier *t = &f->tiers->tiers[i];
    edv__tier_cost cost;
    uint64_t n = 0;
    json_object *x;
    for (unsigned j = 0; j < k.ntiers; j++)
      if (strcmp(k.tiers[j], t->name) == 0)
        n = k.per_tier[j];
    /* Shared platform costs are split across the real fleet once there is
     * one, else across the file's planning figure. */
    if (edv__tier_cost_estimate(f->tiers, t, k.live ? (int)k.live : 0, &cost,
                                NULL))
      continue;
    x = json_object_new_object();
    json_object_object_add(x, "tier", json_object_new_string(t->name));
    json_object_object_add(x, "tenants", json_object_new_int64((int64_t)n));
    json_object_object_add(x, "per_tenant", edv__view_cost(&cost, 0));
    json_object_object_add(x, "monthly_total",
                           edv__view_money(cost.total * (double)n));
    json_object_array_add(arr, x);
    total += cost.total * (double)n;
  }
  json_object_object_add(o, "currency", json_object_new_string("USD"));
  json_object_object_add(
      o, "basis",
      json_object_new_string("list-price estimates from tiers.json, per "
                             "month; not a bill"));
  json_object_object_add(o, "tenants", json_object_new_int64((int64_t)k.live));
  json_object_object_add(o, "tiers", arr);
  json_object_object_add(o, "monthly_total", edv__view_money(total));
  return o;
}

int edv_fleet_costs(edv_fleet *f, edv_fleet_cb cb, void *data, edv_error *err)
{
  edv_error e;
  json_object *o = edv__dayops_costs(f, &e);

  if (!o) {
    if (err)
      *err = e;
    return e.code;
  }
  return edv__dayops_answer_later(f, o, cb, data, err);
}
