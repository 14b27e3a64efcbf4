/*
 * view.c - the one JSON view of a tenant (edv/fleet.h): what
 * `edvctl tenant get --format json`, `GET /api/tenants/{id}` and embedders
 * see. Times are RFC 3339 in UTC with milliseconds, money is rounded to
 * cents, absent values are null (never missing keys, never "").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cidr.h"
#include "common/rfc3339.h"
#include "fleet/dayops.h"
#include "fleet/fleet.h"
#include "tenant/kinds.h"

void edv__view_time(int64_t ms, char *buf, size_t size)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;

  gmtime_r(&t, &tm);
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)(ms % 1000));
}

int64_t edv__view_time_parse(const char *t)
{
  return edv__rfc3339_ms(t); /* the one parser, common/rfc3339.c */
}

json_object *edv__view_time_json(int64_t ms)
{
  char ts[40];

  if (ms <= 0)
    return NULL;
  edv__view_time(ms, ts, sizeof(ts));
  return json_object_new_string(ts);
}

json_object *edv__view_money(double v)
{
  char buf[32];

  snprintf(buf, sizeof(buf), "%.2f", v);
  return json_object_new_double_s(strtod(buf, NULL), buf);
}

json_object *edv__view_str(const char *s)
{
  return s && *s ? json_object_new_string(s) : NULL;
}

static const char *spec_str(json_object *spec, const char *key)
{
  json_object *v;

  if (spec && json_object_object_get_ex(spec, key, &v) &&
      json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return "";
}

/* ---- steps ---------------------------------------------------------------*/

static int step_one(void *data, const edv__step_rec *r)
{
  json_object *arr = data, *o = json_object_new_object();

  json_object_object_add(o, "name", json_object_new_string(r->step));
  json_object_object_add(o, "title", NULL);
  json_object_object_add(
      o, "state", json_object_new_string(edv__step_state_name(r->state)));
  json_object_object_add(o, "attempt", json_object_new_int((int)r->attempt));
  json_object_object_add(o, "request_id", edv__view_str(r->request_id));
  json_object_object_add(o, "operation", edv__view_str(r->op_name));
  json_object_object_add(o, "resource", edv__view_str(r->resource));
  json_object_object_add(o, "error", edv__view_str(r->error));
  json_object_object_add(o, "started", edv__view_time_json(r->started_ms));
  json_object_object_add(o, "finished", edv__view_time_json(r->finished_ms));
  json_object_array_add(arr, o);
  return 0;
}

/* The step records in plan order, with their titles (the store's order is
 * arbitrary). Records of steps the plan no longer has come last. */
static json_object *steps_view(edv_fleet *f, const char *id)
{
  json_object *all = json_object_new_array(), *out = json_object_new_array();
  int platform = strcmp(id, EDV_PLATFORM_ID) == 0;
  const edv__step_def *defs =
      platform ? edv__platform_steps : edv__tenant_steps;
  unsigned ndefs = platform ? edv__platform_nsteps : edv__tenant_nsteps;
  size_t n;

  edv__store_step_list(f->store, id, step_one, all, NULL);
  n = json_object_array_length(all);
  for (unsigned d = 0; d < ndefs; d++) {
    for (size_t i = 0; i < n; i++) {
      json_object *s = json_object_array_get_idx(all, i);
      const char *name =
          json_object_get_string(json_object_object_get(s, "name"));
      if (strcmp(name, defs[d].name) == 0) {
        json_object_object_add(s, "title",
                               json_object_new_string(defs[d].title));
        json_object_array_add(out, json_object_get(s));
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(all, i);
    if (!json_object_object_get(s, "title"))
      json_object_array_add(out, json_object_get(s));
  }
  json_object_put(all);
  return out;
}

/* ---- resources -----------------------------------------------------------*/

/* The names of the tenant's resources: pure functions of its id (and its
 * Cloud SQL name generation, its tier's snapshot schedule), one key per kind
 * that has one in the kinds table (tenant/kinds.h), and its recorded subnet
 * range. */
static json_object *resources_view(edv_fleet *f, const edv__tenant_rec *rec)
{
  json_object *o = json_object_new_object(), *list;
  edv__kind_who w = {rec->id,
                     rec->slug,
                     rec->generation,
                     edv__fleet_project(f->machine),
                     edv__fleet_domain(f->machine),
                     edv__tiers_find(f->tiers, rec->tier)};
  char n[EDV_FQDN_MAX];
  edv_cidr cidr;
  char cb[EDV_CIDR_STRLEN + 1];
  edv__vmgen g;

  if (edv__vmgen_get(f->store, rec->id, &g, NULL) == 0)
    w.vm_generation = g.cur;

  for (unsigned k = 0; k < EDV_KIND__COUNT; k++) {
    const edv__kind *kd = &edv__kinds[k];
    json_object *name;

    if (!kd->view)
      continue;
    name =
        kd->name(&w, 0, n, sizeof(n)) == 0 ? json_object_new_string(n) : NULL;
    if (!kd->view_list) {
      json_object_object_add(o, kd->view, name);
    } else {
      if (!json_object_object_get_ex(o, kd->view, &list)) {
        list = json_object_new_array();
        json_object_object_add(o, kd->view, list);
      }
      if (name)
        json_object_array_add(list, name);
    }
    if (k == EDV_KIND_SUBNET)
      json_object_object_add(
          o, "subnet_range",
          edv__store_subnet_get(f->store, rec->id, &cidr, NULL) == 0
              ? json_object_new_string(edv__cidr_format(&cidr, cb, sizeof(cb)))
              : NULL);
  }
  return o;
}

/* ---- the tenant ----------------------------------------------------------*/

json_object *edv__view_cost(const edv__tier_cost *cost, int currency)
{
  json_object *c = json_object_new_object();

  if (currency)
    json_object_object_add(c, "currency", json_object_new_string("USD"));
  json_object_object_add(c, "vm", edv__view_money(cost->vm));
  json_object_object_add(c, "disk", edv__view_money(cost->disk));
  json_object_object_add(c, "sql", edv__view_money(cost->sql));
  json_object_object_add(c, "sql_storage", edv__view_money(cost->sql_storage));
  json_object_object_add(c, "backups",
                         edv__view_money(cost->sql_backups + cost->snapshots));
  json_object_object_add(c, "shared",
                         edv__view_money(cost->lb_share + cost->dns_share));
  json_object_object_add(c, "total", edv__view_money(cost->total));
  return c;
}

static json_object *cost_view(const edv__tiers *tiers, const edv__tier *t)
{
  edv__tier_cost cost;

  if (!t || edv__tier_cost_estimate(tiers, t, 0, &cost, NULL) != 0)
    return NULL;
  return edv__view_cost(&cost, 1);
}

static json_object *urls_view(const char *domain, const char *id,
                              const char *slug)
{
  json_object *urls = json_object_new_array();
  char url[EDV_FQDN_MAX + 16];

  snprintf(url, sizeof(url), "https://%s.%s", id, domain);
  json_object_array_add(urls, json_object_new_string(url));
  if (slug && *slug && strcmp(slug, id) != 0) {
    snprintf(url, sizeof(url), "https://%s.%s", slug, domain);
    json_object_array_add(urls, json_object_new_string(url));
  }
  return urls;
}

int edv__fleet_final_backup(edv_fleet *f, const char *id, char *name,
                            size_t nsize, char *expiry, size_t esize)
{
  edv__step_rec sr;

  if (edv__store_step_get(f->store, id, "sql_instance", &sr, NULL) != 0 ||
      sr.state != EDV_STEP_DONE)
    return -1;
  return edv__final_backup_parse(sr.resource, name, nsize, expiry, esize);
}

/* A DELETED tenant's final backup: {name, expires}, or null. */
static json_object *final_backup_view(edv_fleet *f, const edv__tenant_rec *rec)
{
  char name[EDV_STORE_RES_SZ], exp[64];
  json_object *o;

  if (rec->phase != EDV_PHASE_DELETED ||
      edv__fleet_final_backup(f, rec->id, name, sizeof(name), exp,
                              sizeof(exp)) != 0)
    return NULL;
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(name));
  json_object_object_add(o, "expires", edv__view_str(exp));
  return o;
}

/* The figures of the tenant's tier `t` (NULL: a tier the tiers file no
 * longer has): licences, sizes, apps, features, the monthly estimate. */
static void tier_view(json_object *o, const edv__tiers *tiers,
                      const edv__tier *t)
{
  json_object_object_add(o, "max_users",
                         t ? json_object_new_int((int)t->max_users) : NULL);
  /* The tier's sizes, as the tiers file names them (null: a tier the
   * file no longer has): what `tenant get` prints beside each resource. */
  json_object_object_add(o, "machine_type",
                         t ? json_object_new_string(t->machine_type) : NULL);
  json_object_object_add(o, "disk_gb",
                         t ? json_object_new_int(t->disk_gb) : NULL);
  json_object_object_add(o, "disk_type",
                         t ? json_object_new_string(t->disk_type) : NULL);
  json_object_object_add(o, "sql_tier",
                         t ? json_object_new_string(t->sql.tier) : NULL);
  json_object_object_add(o, "sql_ha",
                         t ? json_object_new_boolean(t->sql.regional) : NULL);
  if (t) {
    json_object *apps = json_object_new_array();
    json_object *feats = json_object_new_array();
    for (size_t i = 0; i < t->napps; i++)
      json_object_array_add(apps, json_object_new_string(t->app_access[i]));
    for (size_t i = 0; i < t->nfeatures; i++)
      json_object_array_add(feats, json_object_new_string(t->features[i]));
    json_object_object_add(o, "app_access", apps);
    json_object_object_add(o, "features", feats);
  } else {
    json_object_object_add(o, "app_access", json_object_new_array());
    json_object_object_add(o, "features", json_object_new_array());
  }
  json_object_object_add(o, "monthly_cost_estimate", cost_view(tiers, t));
}

json_object *edv__view_tenant(edv_fleet *f, const edv__tenant_rec *rec,
                              unsigned what)
{
  json_object *o = json_object_new_object();
  json_object *spec = json_tokener_parse(rec->spec_json), *v;
  const edv__tier *t = edv__tiers_find(f->tiers, rec->tier);
  edv__fleet_run *r = edv__fleet_run_find(f, rec->id);
  json_object *urls;

  json_object_object_add(o, "id", json_object_new_string(rec->id));
  json_object_object_add(o, "slug", json_object_new_string(rec->slug));
  json_object_object_add(
      o, "display_name",
      json_object_new_string(spec_str(spec, "display_name")));
  json_object_object_add(o, "tier", json_object_new_string(rec->tier));
  json_object_object_add(o, "region",
                         json_object_new_string(spec_str(spec, "region")));
  json_object_object_add(
      o, "ops_ssh",
      json_object_new_boolean(spec &&
                              json_object_object_get_ex(spec, "ops_ssh", &v) &&
                              json_object_get_boolean(v)));
  json_object_put(spec);
  json_object_object_add(o, "phase",
                         json_object_new_string(edv__phase_name(rec->phase)));
  json_object_object_add(o, "generation",
                         json_object_new_int64((int64_t)rec->generation));
  /* Backup health, as the last check found it (null: not checked). */
  json_object_object_add(o, "backup", edv__dayops_backup_view(f, rec->id));
  urls = urls_view(edv__fleet_domain(f->machine), rec->id, rec->slug);
  json_object_object_add(o, "url",
                         json_object_get(json_object_array_get_idx(urls, 0)));
  json_object_object_add(o, "urls", urls);
  json_object_object_add(o, "last_error", edv__view_str(rec->last_error));
  json_object_object_add(o, "created", edv__view_time_json(rec->created_ms));
  json_object_object_add(o, "updated", edv__view_time_json(rec->updated_ms));
  json_object_object_add(o, "final_backup", final_backup_view(f, rec));
  json_object_object_add(
      o, "purge_after",
      edv__fleet_purge_after(f, rec) < 0
          ? NULL
          : edv__view_time_json(edv__fleet_purge_after(f, rec)));
  if (r) {
    json_object *x = json_object_new_object();
    json_object_object_add(x, "direction",
                           json_object_new_string(edv__direction_name(r->dir)));
    json_object_object_add(o, "run", x);
  } else {
    json_object_object_add(o, "run", NULL);
  }
  tier_view(o, f->tiers, t);
  /* What it runs: the release recorded ("none": the stock image); what
   * its VM reports running is added by a get with EDV_FLEET_OBSERVE. */
  json_object_object_add(
      o, "release",
      json_object_new_string(rec->release[0] ? rec->release : "none"));
  json_object_object_add(o, "release_observed", NULL);
  if (what & EDV_VIEW_RESOURCES)
    json_object_object_add(o, "resources", resources_view(f, rec));
  if (what & EDV_VIEW_STEPS)
    json_object_object_add(o, "steps", steps_view(f, rec->id));
  return o;
}

json_object *edv__view_release(const edv__release_rec *rec, int current)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "version", json_object_new_string(rec->version));
  json_object_object_add(o, "image", json_object_new_string(rec->image));
  json_object_object_add(o, "image_family", edv__view_str(rec->family));
  json_object_object_add(o, "notes", edv__view_str(rec->notes));
  json_object_object_add(o, "created", edv__view_time_json(rec->created_ms));
  json_object_object_add(o, "current", json_object_new_boolean(current));
  return o;
}

json_object *edv__view_incident(const edv__incident_rec *rec)
{
  json_object *o = json_object_new_object();
  json_object *labels = json_tokener_parse(rec->labels_json);

  json_object_object_add(o, "incident_id", json_object_new_string(rec->id));
  json_object_object_add(o, "tenant", edv__view_str(rec->tenant));
  json_object_object_add(o, "state", json_object_new_string(rec->state));
  json_object_object_add(o, "alert", edv__view_str(rec->alert));
  json_object_object_add(o, "severity", edv__view_str(rec->severity));
  json_object_object_add(o, "policy", edv__view_str(rec->policy));
  json_object_object_add(o, "summary", edv__view_str(rec->summary));
  json_object_object_add(o, "started", edv__view_time_json(rec->started_ms));
  json_object_object_add(o, "ended", edv__view_time_json(rec->ended_ms));
  json_object_object_add(o, "observed_value", edv__view_str(rec->observed));
  json_object_object_add(o, "threshold_value", edv__view_str(rec->threshold));
  json_object_object_add(o, "url", edv__view_str(rec->url));
  json_object_object_add(o, "metric_type", edv__view_str(rec->metric_type));
  json_object_object_add(o, "resource_type", edv__view_str(rec->resource_type));
  if (!json_object_is_type(labels, json_type_object)) {
    json_object_put(labels);
    labels = json_object_new_object();
  }
  json_object_object_add(o, "labels", labels);
  json_object_object_add(o, "received", edv__view_time_json(rec->received_ms));
  return o;
}

/* ---- a fleet update
 * --------------------------------------------------------*/

static const char *const view_ut_states[] = {
    "PENDING", "UPDATING", "SOAKING", "DONE", "FAILED", "ROLLED_BACK"};

static json_object *view_ut_counts(const edv__update_tenant_rec *t, size_t n,
                                   int wave)
{
  json_object *o = json_object_new_object();

  for (size_t k = 0; k < 6; k++) {
    int c = 0;
    for (size_t i = 0; i < n; i++)
      if ((wave < 0 || t[i].wave == (unsigned)wave) &&
          strcmp(t[i].state, view_ut_states[k]) == 0)
        c++;
    json_object_object_add(o, view_ut_states[k], json_object_new_int(c));
  }
  return o;
}

static json_object *view_release_name(const char *v)
{
  return json_object_new_string(v[0] ? v : "none");
}

json_object *edv__view_update(const edv__update_rec *r,
                              const edv__update_tenant_rec *t, size_t n,
                              unsigned nwaves, int tenants)
{
  json_object *o = json_object_new_object(), *tiers = json_object_new_array(),
              *waves = json_object_new_array();
  char buf[EDV_STORE_SMALL_SZ], *save = NULL;

  json_object_object_add(o, "id", json_object_new_string(r->id));
  json_object_object_add(o, "release", json_object_new_string(r->release));
  json_object_object_add(o, "state", json_object_new_string(r->state));
  json_object_object_add(o, "status", edv__view_str(r->status));
  json_object_object_add(o, "waves", json_object_new_string(r->waves));
  json_object_object_add(
      o, "wave",
      json_object_new_int((int)(r->wave < nwaves ? r->wave + 1 : nwaves)));
  json_object_object_add(o, "waves_total", json_object_new_int((int)nwaves));
  json_object_object_add(o, "soak_s", json_object_new_int64(r->soak_ms / 1000));
  json_object_object_add(o, "soak_until",
                         edv__view_time_json(r->soak_until_ms));
  json_object_object_add(o, "max_parallel",
                         json_object_new_int((int)r->max_parallel));
  json_object_object_add(o, "max_failures",
                         json_object_new_int((int)r->max_failures));
  snprintf(buf, sizeof(buf), "%s", r->tiers);
  for (char *tok = strtok_r(buf, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save))
    json_object_array_add(tiers, json_object_new_string(tok));
  json_object_object_add(o, "tiers", tiers);
  json_object_object_add(o, "created", edv__view_time_json(r->created_ms));
  json_object_object_add(o, "updated", edv__view_time_json(r->updated_ms));
  json_object_object_add(o, "counts", view_ut_counts(t, n, -1));
  for (unsigned w = 0; w < nwaves; w++) {
    json_object *x = json_object_new_object();
    int c = 0;

    for (size_t i = 0; i < n; i++)
      c += t[i].wave == w;
    json_object_object_add(x, "wave", json_object_new_int((int)w + 1));
    json_object_object_add(x, "tenants", json_object_new_int(c));
    json_object_object_add(x, "counts", view_ut_counts(t, n, (int)w));
    json_object_array_add(waves, x);
  }
  json_object_object_add(o, "per_wave", waves);
  if (tenants) {
    json_object *arr = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
      json_object *x = json_object_new_object();

      json_object_object_add(x, "id", json_object_new_string(t[i].tenant));
      json_object_object_add(x, "wave",
                             json_object_new_int((int)t[i].wave + 1));
      json_object_object_add(x, "state", json_object_new_string(t[i].state));
      json_object_object_add(x, "from", view_release_name(t[i].from));
      json_object_object_add(x, "to", view_release_name(t[i].to));
      json_object_object_add(x, "error", edv__view_str(t[i].error));
      json_object_object_add(x, "started",
                             edv__view_time_json(t[i].started_ms));
      json_object_object_add(x, "finished",
                             edv__view_time_json(t[i].finished_ms));
      json_object_array_add(arr, x);
    }
    json_object_object_add(o, "tenants", arr);
  }
  return o;
}
