/*
 * dayops_capacity.c - capacity planning (edv_fleet_capacity): the quotas
 * of the fleet's regions, the URL map's rules, the project's Cloud SQL
 * instances and the subnet pool, and how many tenants of each tier still
 * fit. Answers come from a snapshot at most 30 s old, refreshed at most
 * every 5 s and only when the fleet changed: one regions.get per region,
 * one urlMaps.get, the pages of sqladmin instances.list, and one
 * machineTypes.get per machine type ever (kept).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cidr.h"
#include "fleet/dayops.h"
#include "gcp/gcp.h"
#include "tenant/steps.h"
#include "tenant/subnet.h"

#define CAP_TTL_MS    30000 /* an answer is at most this old */
#define CAP_MIN_MS    5000  /* refreshes at least this far apart */
#define CAP_REGIONS   8
#define CAP_QUOTAS    48
#define CAP_TYPES     16
#define CAP_WAITERS   64
#define CAP_SQL_LIMIT 1000 /* Cloud SQL instances per project (default) */

typedef struct cap_quota {
  char metric[48];
  double limit, usage;
} cap_quota;

typedef struct edv__cap_state cap_state;

typedef struct cap_region {
  cap_state *cap;
  char name[48];
  char zone[64]; /* the first zone, for machineTypes.get */
  int ok;
  char error[200];
  size_t nquotas;
  cap_quota quotas[CAP_QUOTAS];
} cap_region;

typedef struct cap_type {
  cap_state *cap;
  char name[EDV_MACHINE_TYPE_MAX + 1];
  int vcpus;
} cap_type;

typedef struct cap_snapshot {
  int valid;
  int64_t at_ms;      /* wall clock of the refresh */
  uint64_t fleet_sig; /* the fleet it saw (live tenants, generations) */
  size_t nregions;
  cap_region regions[CAP_REGIONS];
  int urlmap_ok;
  unsigned host_rules, path_matchers;
  int sql_ok;
  unsigned sql_instances;
  size_t subnets_used;
} cap_snapshot;

typedef struct cap_waiter {
  edv_fleet_cb cb;
  void *data;
} cap_waiter;

struct edv__cap_state {
  edv__dayops *o;
  cap_snapshot snap, next;
  int refreshing;
  int64_t last_refresh_ms;
  unsigned pending;
  cap_waiter waiters[CAP_WAITERS];
  size_t nwaiters;
  cap_type types[CAP_TYPES]; /* machine types seen: kept for good */
  size_t ntypes;
};

void edv__dayops_cap_free(edv__dayops *o)
{
  free(o->cap);
  o->cap = NULL;
}

static const cap_type *cap_type_find(const cap_state *cap, const char *name)
{
  for (size_t i = 0; i < cap->ntypes; i++)
    if (strcmp(cap->types[i].name, name) == 0)
      return &cap->types[i];
  return NULL;
}

/* ---- the fleet it is for -------------------------------------------------*/

typedef struct fleet_scan {
  uint64_t sig;
  char regions[CAP_REGIONS][48];
  size_t nregions;
} fleet_scan;

static void scan_add_region(fleet_scan *s, const char *r)
{
  if (!r || !*r)
    return;
  for (size_t i = 0; i < s->nregions; i++)
    if (strcmp(s->regions[i], r) == 0)
      return;
  if (s->nregions < CAP_REGIONS)
    snprintf(s->regions[s->nregions++], sizeof(s->regions[0]), "%s", r);
}

static int scan_one(void *data, const edv__tenant_rec *rec)
{
  fleet_scan *s = data;
  json_object *spec, *v;

  if (rec->id[0] == '@' || rec->phase == EDV_PHASE_DELETED)
    return 0;
  for (const char *p = rec->id; *p; p++)
    s->sig = (s->sig ^ (unsigned char)*p) * 1099511628211ull;
  s->sig = (s->sig ^ (uint64_t)rec->phase) * 1099511628211ull;
  spec = json_tokener_parse(rec->spec_json);
  if (spec && json_object_object_get_ex(spec, "region", &v))
    scan_add_region(s, json_object_get_string(v));
  json_object_put(spec);
  return 0;
}

static int fleet_scan_all(edv_fleet *f, fleet_scan *s, edv_error *err)
{
  edv__tenant_filter flt;
  char next[EDV_STORE_ID_SZ] = "", after[EDV_STORE_ID_SZ] = "";
  const char *r = f->cfg ? edv_config_get(f->cfg, "region") : NULL;

  memset(s, 0, sizeof(*s));
  s->sig = 1469598103934665603ull;
  scan_add_region(s, r && *r ? r : "us-central1");
  memset(&flt, 0, sizeof(flt));
  flt.phase = -1;
  flt.limit = 1000;
  do {
    flt.after = after;
    next[0] = '\0';
    if (edv__store_tenant_list(f->store, &flt, scan_one, s, next, sizeof(next),
                               err))
      return -1;
    snprintf(after, sizeof(after), "%s", next);
  } while (next[0]);
  return 0;
}

/* ---- the refresh ---------------------------------------------------------*/

static json_object *cap_render(cap_state *cap, int fresh);

/* Answers every waiter (the fleet gone: with EDV_ECANCELED). */
static void cap_answer_all(cap_state *cap, int fresh)
{
  size_t n = cap->nwaiters;
  cap_waiter w[CAP_WAITERS];
  edv_error e;

  memcpy(w, cap->waiters, n * sizeof(*w));
  cap->nwaiters = 0;
  edv_error_set(&e, EDV_ECANCELED, "the fleet closed");
  for (size_t i = 0; i < n; i++) {
    json_object *doc = cap->o->f ? cap_render(cap, fresh) : NULL;
    if (!cap->o->f)
      w[i].cb(w[i].data, NULL, &e);
    else if (!doc) {
      edv_error_set(&e, EDV_ENOMEM, "out of memory");
      w[i].cb(w[i].data, NULL, &e);
    } else {
      w[i].cb(w[i].data, doc, NULL);
      json_object_put(doc);
    }
  }
}

static void cap_finish(cap_state *cap)
{
  edv__dayops *o = cap->o;

  cap->snap = cap->next;
  cap->snap.valid = 1;
  cap->refreshing = 0;
  cap_answer_all(cap, 1);
  edv__dayops_unref(o); /* the refresh's */
}

static void cap_on_type(void *data, const edv_response *res)
{
  cap_type *t = data;
  json_object *v;

  t->vcpus = 0;
  if (!res->error && json_object_object_get_ex(res->json, "guestCpus", &v) &&
      json_object_get_int(v) > 0)
    t->vcpus = json_object_get_int(v);
  if (--t->cap->pending == 0)
    cap_finish(t->cap);
}

/* The machine type `mt` to ask for (not known yet), or NULL. */
static cap_type *cap_type_to_ask(cap_state *cap, const char *mt)
{
  cap_type *t = (cap_type *)cap_type_find(cap, mt);

  /* Known (> 0) or asked in this refresh (-1); 0: failed, ask again. */
  if (t && t->vcpus != 0)
    return NULL;
  if (!t && cap->ntypes == CAP_TYPES)
    return NULL;
  if (!t) {
    t = &cap->types[cap->ntypes++];
    t->cap = cap;
    snprintf(t->name, sizeof(t->name), "%s", mt);
  }
  return t;
}

/* Second stage: the vCPUs of machine types not seen yet. */
static void cap_stage_types(cap_state *cap)
{
  edv_fleet *f = cap->o->f;
  const char *zone = NULL;

  for (size_t i = 0; i < cap->next.nregions && !zone; i++)
    if (cap->next.regions[i].ok && cap->next.regions[i].zone[0])
      zone = cap->next.regions[i].zone;
  if (!f || edv__dayops_closing(f))
    zone = NULL;    /* the engine closes: answer with what we have */
  cap->pending = 1; /* held while submitting */
  for (size_t i = 0; zone && i < f->tiers->ntiers; i++) {
    const char *mt = f->tiers->tiers[i].machine_type;
    cap_type *t = cap_type_to_ask(cap, mt);
    char path[300];
    if (!t)
      continue;
    t->vcpus = -1;
    snprintf(path, sizeof(path),
             "/compute/v1/projects/%s/zones/%s/machineTypes/%s",
             edv__fleet_project(f->machine), zone, mt);
    cap->pending++;
    if (edv__dayops_submit(f, EDV_API_COMPUTE, "GET", path, NULL,
                           "compute.machineTypes.get", cap_on_type, t)) {
      cap->pending--;
      t->vcpus = 0;
    }
  }
  if (--cap->pending == 0)
    cap_finish(cap);
}

static void cap_stage_done(cap_state *cap)
{
  if (--cap->pending == 0)
    cap_stage_types(cap);
}

static void region_quotas(cap_region *r, json_object *q)
{
  for (size_t i = 0; i < json_object_array_length(q) && r->nquotas < CAP_QUOTAS;
       i++) {
    json_object *x = json_object_array_get_idx(q, i), *v;
    cap_quota *cq = &r->quotas[r->nquotas];
    const char *m = edv__jstr(x, "metric");
    if (!m)
      continue;
    snprintf(cq->metric, sizeof(cq->metric), "%s", m);
    cq->limit = json_object_object_get_ex(x, "limit", &v)
                    ? json_object_get_double(v)
                    : 0;
    cq->usage = json_object_object_get_ex(x, "usage", &v)
                    ? json_object_get_double(v)
                    : 0;
    r->nquotas++;
  }
}

static void cap_on_region(void *data, const edv_response *res)
{
  cap_region *r = data;
  json_object *q, *zones;

  if (res->error) {
    snprintf(r->error, sizeof(r->error), "%.190s", res->error->message);
    cap_stage_done(r->cap);
    return;
  }
  r->ok = 1;
  if (json_object_object_get_ex(res->json, "quotas", &q) &&
      json_object_is_type(q, json_type_array))
    region_quotas(r, q);
  /* The first zone in name order, as the tenant steps choose. */
  if (json_object_object_get_ex(res->json, "zones", &zones) &&
      json_object_is_type(zones, json_type_array))
    for (size_t i = 0; i < json_object_array_length(zones); i++) {
      char z[64];
      if (!edv__zone_from_url(
              json_object_get_string(json_object_array_get_idx(zones, i)), z,
              sizeof(z)))
        continue;
      if (!r->zone[0] || strcmp(z, r->zone) < 0)
        snprintf(r->zone, sizeof(r->zone), "%s", z);
    }
  cap_stage_done(r->cap);
}

static unsigned array_len(json_object *o, const char *key)
{
  json_object *v;

  return json_object_object_get_ex(o, key, &v) &&
                 json_object_is_type(v, json_type_array)
             ? (unsigned)json_object_array_length(v)
             : 0;
}

static void cap_on_urlmap(void *data, const edv_response *res)
{
  cap_state *cap = data;

  if (!res->error) {
    cap->next.urlmap_ok = 1;
    cap->next.host_rules = array_len(res->json, "hostRules");
    cap->next.path_matchers = array_len(res->json, "pathMatchers");
  }
  cap_stage_done(cap);
}

static int cap_on_sql_page(void *data, json_object *page)
{
  cap_state *cap = data;

  cap->next.sql_instances += array_len(page, "items");
  return 0;
}

static void cap_on_sql_done(void *data, const edv_error *err, unsigned pages)
{
  cap_state *cap = data;

  (void)pages;
  cap->next.sql_ok = !err;
  cap_stage_done(cap);
}

/* First stage, all at once: regions, the URL map, the SQL instances. */
static int cap_refresh(edv_fleet *f, cap_state *cap, const fleet_scan *s,
                       edv_error *err)
{
  const char *proj = edv__fleet_project(f->machine);
  char path[400];
  edv_request rq;

  memset(&cap->next, 0, sizeof(cap->next));
  cap->last_refresh_ms = edv__store_wall_clock(NULL);
  cap->next.at_ms = cap->last_refresh_ms;
  cap->next.fleet_sig = s->sig;
  if (edv__store_subnet_count(f->store, &cap->next.subnets_used, err))
    return -1;
  cap->refreshing = 1;
  edv__dayops_ref(cap->o); /* until cap_finish */
  cap->pending = 1;        /* held while submitting */
  for (size_t i = 0; i < s->nregions; i++) {
    cap_region *r = &cap->next.regions[cap->next.nregions++];
    r->cap = cap;
    snprintf(r->name, sizeof(r->name), "%s", s->regions[i]);
    snprintf(path, sizeof(path), "/compute/v1/projects/%s/regions/%s", proj,
             r->name);
    cap->pending++;
    if (edv__dayops_submit(f, EDV_API_COMPUTE, "GET", path, NULL,
                           "compute.regions.get", cap_on_region, r)) {
      cap->pending--;
      snprintf(r->error, sizeof(r->error), "cannot call Compute now");
    }
  }
  snprintf(path, sizeof(path), "/compute/v1/projects/%s/global/urlMaps/%s",
           proj, EDV_URLMAP_NAME);
  cap->pending++;
  if (edv__dayops_submit(f, EDV_API_COMPUTE, "GET", path, NULL,
                         "compute.urlMaps.get", cap_on_urlmap, cap))
    cap->pending--;
  snprintf(path, sizeof(path),
           "/sql/v1beta4/projects/%s/instances?maxResults=500", proj);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_SQLADMIN;
  rq.method = "GET";
  rq.path = path;
  rq.label = "sql.instances.list";
  rq.timeout_ms = EDV_DAYOPS_CALL_MS;
  cap->pending++;
  if (edv_call_pages(f->engine, &rq, cap_on_sql_page, cap_on_sql_done, cap))
    cap->pending--;
  cap_stage_done(cap);
  return 0;
}

/* ---- the document --------------------------------------------------------*/

static const char *disk_metric(const edv__tier *t)
{
  return strcmp(t->disk_type, "pd-standard") == 0 ? "DISKS_TOTAL_GB"
                                                  : "SSD_TOTAL_GB";
}

static const cap_quota *quota_of(const cap_region *r, const char *metric)
{
  for (size_t i = 0; i < r->nquotas; i++)
    if (strcmp(r->quotas[i].metric, metric) == 0)
      return &r->quotas[i];
  return NULL;
}

/* What one tenant of each tier takes. */
static json_object *per_tenant_view(const cap_state *cap,
                                    const edv__tiers *tiers)
{
  json_object *arr = json_object_new_array();

  for (size_t i = 0; i < tiers->ntiers; i++) {
    const edv__tier *t = &tiers->tiers[i];
    const cap_type *mt = cap_type_find(cap, t->machine_type);
    json_object *x = json_object_new_object();
    json_object_object_add(x, "tier", json_object_new_string(t->name));
    json_object_object_add(x, "machine_type",
                           json_object_new_string(t->machine_type));
    json_object_object_add(x, "vcpus",
                           mt && mt->vcpus > 0 ? json_object_new_int(mt->vcpus)
                                               : NULL);
    json_object_object_add(x, "instances", json_object_new_int(1));
    json_object_object_add(x, "disk_gb", json_object_new_int(t->disk_gb));
    json_object_object_add(x, "disk_quota",
                           json_object_new_string(disk_metric(t)));
    json_object_object_add(x, "in_use_addresses", json_object_new_int(0));
    json_object_object_add(x, "subnets", json_object_new_int(1));
    json_object_object_add(x, "sql_instances", json_object_new_int(1));
    json_object_array_add(arr, x);
  }
  return arr;
}

/* How many tenants of tier t fit in region rg, and what binds first. */
static json_object *fit_view(const cap_state *cap, const cap_region *rg,
                             const edv__tier *t, int64_t free_subnets,
                             int64_t sql_free)
{
  const cap_type *mt = cap_type_find(cap, t->machine_type);
  json_object *x = json_object_new_object();
  struct {
    const char *metric;
    double need;
  } needs[] = {
      {"CPUS", mt ? mt->vcpus : 0},
      {"INSTANCES", 1},
      {disk_metric(t), t->disk_gb},
      {"SUBNETWORKS", 1},
  };
  int64_t best = free_subnets;
  const char *binding = "SUBNET_POOL";

  json_object_object_add(x, "tier", json_object_new_string(t->name));
  if (!mt || mt->vcpus <= 0) {
    /* Unknown vCPUs: no honest figure. */
    json_object_object_add(x, "fits", NULL);
    json_object_object_add(x, "binding", NULL);
    return x;
  }
  for (size_t k = 0; k < sizeof(needs) / sizeof(needs[0]); k++) {
    const cap_quota *q = quota_of(rg, needs[k].metric);
    int64_t n;
    if (!q || needs[k].need <= 0)
      continue;
    n = q->limit > q->usage
            ? (int64_t)floor((q->limit - q->usage) / needs[k].need)
            : 0;
    if (n < best) {
      best = n;
      binding = needs[k].metric;
    }
  }
  if (cap->snap.sql_ok && sql_free < best) {
    best = sql_free;
    binding = "SQL_INSTANCES";
  }
  json_object_object_add(x, "fits", json_object_new_int64(best));
  json_object_object_add(x, "binding", json_object_new_string(binding));
  return x;
}

static json_object *region_view(const cap_state *cap, const cap_region *rg,
                                const edv__tiers *tiers, int64_t free_subnets,
                                int64_t sql_free)
{
  json_object *x = json_object_new_object(), *qs, *fits;

  json_object_object_add(x, "region", json_object_new_string(rg->name));
  json_object_object_add(x, "error", edv__view_str(rg->ok ? NULL : rg->error));
  qs = json_object_new_array();
  for (size_t i = 0; i < rg->nquotas; i++) {
    json_object *q = json_object_new_object();
    json_object_object_add(q, "metric",
                           json_object_new_string(rg->quotas[i].metric));
    json_object_object_add(q, "limit",
                           json_object_new_double(rg->quotas[i].limit));
    json_object_object_add(q, "usage",
                           json_object_new_double(rg->quotas[i].usage));
    json_object_array_add(qs, q);
  }
  json_object_object_add(x, "quotas", qs);
  fits = json_object_new_array();
  for (size_t i = 0; rg->ok && i < tiers->ntiers; i++)
    json_object_array_add(
        fits, fit_view(cap, rg, &tiers->tiers[i], free_subnets, sql_free));
  json_object_object_add(x, "tenants_that_fit", fits);
  return x;
}

static json_object *subnets_view(edv_fleet *f, const cap_snapshot *s,
                                 uint64_t *free_out)
{
  json_object *sub = json_object_new_object();
  char cb[EDV_CIDR_STRLEN + 1];
  unsigned prefix = EDV_SUBNET_PREFIX;
  const char *supernet = edv__fleet_supernet(f->machine, &prefix);
  uint64_t total = 0, free_subnets;
  edv_cidr sn;

  if (supernet && edv__cidr_parse(supernet, &sn) == 0 && prefix >= sn.prefix &&
      prefix - sn.prefix < 32)
    total = (uint64_t)1 << (prefix - sn.prefix);
  free_subnets = total > s->subnets_used ? total - s->subnets_used : 0;
  json_object_object_add(
      sub, "supernet",
      json_object_new_string(total ? edv__cidr_format(&sn, cb, sizeof(cb))
                                   : ""));
  json_object_object_add(sub, "prefix", json_object_new_int((int)prefix));
  json_object_object_add(sub, "total", json_object_new_int64((int64_t)total));
  json_object_object_add(sub, "used",
                         json_object_new_int64((int64_t)s->subnets_used));
  json_object_object_add(sub, "free",
                         json_object_new_int64((int64_t)free_subnets));
  *free_out = free_subnets;
  return sub;
}

static json_object *cap_render(cap_state *cap, int fresh)
{
  edv_fleet *f = cap->o->f;
  const cap_snapshot *s = &cap->snap;
  json_object *o = json_object_new_object(), *regions, *sub, *x;
  uint64_t free_subnets;
  int64_t sql_free = 0, now = edv__store_wall_clock(NULL);

  if (s->sql_ok)
    sql_free = CAP_SQL_LIMIT > (int64_t)s->sql_instances
                   ? CAP_SQL_LIMIT - (int64_t)s->sql_instances
                   : 0;
  sub = subnets_view(f, s, &free_subnets);
  json_object_object_add(o, "as_of", edv__view_time_json(s->at_ms));
  json_object_object_add(o, "age_s",
                         json_object_new_int64((now - s->at_ms) / 1000));
  json_object_object_add(o, "fresh", json_object_new_boolean(fresh));
  json_object_object_add(o, "max_age_s",
                         json_object_new_int(CAP_TTL_MS / 1000));
  json_object_object_add(o, "per_tenant", per_tenant_view(cap, f->tiers));
  regions = json_object_new_array();
  for (size_t r = 0; r < s->nregions; r++)
    json_object_array_add(regions,
                          region_view(cap, &s->regions[r], f->tiers,
                                      (int64_t)free_subnets, sql_free));
  json_object_object_add(o, "regions", regions);
  json_object_object_add(o, "subnets", sub);
  x = NULL;
  if (s->urlmap_ok) {
    x = json_object_new_object();
    json_object_object_add(x, "name", json_object_new_string(EDV_URLMAP_NAME));
    json_object_object_add(x, "host_rules",
                           json_object_new_int((int)s->host_rules));
    json_object_object_add(x, "path_matchers",
                           json_object_new_int((int)s->path_matchers));
  }
  json_object_object_add(o, "url_map", x);
  x = NULL;
  if (s->sql_ok) {
    x = json_object_new_object();
    json_object_object_add(x, "instances",
                           json_object_new_int((int)s->sql_instances));
    json_object_object_add(x, "limit", json_object_new_int(CAP_SQL_LIMIT));
  }
  json_object_object_add(o, "sql", x);
  return o;
}

/* ---- the call ------------------------------------------------------------*/

static cap_state *cap_of(edv_fleet *f)
{
  edv__dayops *o = edv__dayops_of(f);

  if (o && !o->cap && (o->cap = calloc(1, sizeof(*o->cap))) != NULL)
    o->cap->o = o;
  return o ? o->cap : NULL;
}

int edv_fleet_capacity(edv_fleet *f, edv_fleet_cb cb, void *data,
                       edv_error *err)
{
  cap_state *cap = cap_of(f);
  fleet_scan s;
  int64_t now = edv__store_wall_clock(NULL);

  if (!cap)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (fleet_scan_all(f, &s, err))
    return err ? err->code : EDV_EIO;
  if (!cap->refreshing) {
    int stale = !cap->snap.valid || now - cap->snap.at_ms >= CAP_TTL_MS ||
                cap->snap.fleet_sig != s.sig;
    if (!stale || now - cap->last_refresh_ms < CAP_MIN_MS)
      return edv__dayops_answer_later(f, cap_render(cap, 0), cb, data, err);
  }
  if (cap->nwaiters == CAP_WAITERS) {
    if (cap->snap.valid)
      return edv__dayops_answer_later(f, cap_render(cap, 0), cb, data, err);
    return edv_error_set(err, EDV_EUNAVAIL,
                         "too many capacity requests; retry");
  }
  if (edv__dayops_closing(f))
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  /* Listed first: a refresh whose calls all fail ends at once. */
  cap->waiters[cap->nwaiters].cb = cb;
  cap->waiters[cap->nwaiters++].data = data;
  if (!cap->refreshing && cap_refresh(f, cap, &s, err)) {
    cap->nwaiters--;
    return err ? err->code : EDV_EIO;
  }
  return 0;
}
