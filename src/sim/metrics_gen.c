/*
 * metrics_gen.c - the simulator's built-in metrics (metrics_gen.h): the
 * series Google's Monitoring would hold for what the simulator runs,
 * computed for any time from the resources, the usage model and the
 * history of the metric faults (usage.c). Nothing is stored per point;
 * a query builds one index of the backend services (their groups, the
 * members' health, the tenant, the load balancer in front) and walks each
 * kind of resource once, so a fleet of 1,000 tenants costs a walk, not a
 * search per point.
 *
 * The model, per backend service B at time t (the usage model gives
 * users(t) and requests per user and minute R):
 * - requests in a point's interval: users * R * minutes, +-5% (a hash of
 *   the series and the time, never rand(): the same query gives the same
 *   answer), split evenly among B's instance groups by their healthy
 *   members. A member counts as healthy at t when the boot model of
 *   compute_health.c says HEALTHY now and its boot finished before t.
 *   With no healthy member, every request answers 503 (502 for the
 *   classic EXTERNAL scheme), on B's first group.
 * - a backendErrors fault: rate x the share of the interval it was active
 *   of those requests answer 500. The data plane's real answers
 *   (dataplane.c, counted per minute and code) are added on the first
 *   group.
 * - a member VM's CPU: 0.04 + 0.0015 per request per minute it serves,
 *   +-0.01, at most 1; memory used 35% + 30% x CPU; a vmLoad fault holds
 *   either at its values. No VM point outside the VM's RUNNING time
 *   (from its last start to now, or to its last stop).
 * - backend latency: 30 ms x (1 + 4 x CPU^2) of the group's members;
 *   total latency: that + 3..8 ms (1..3 ms for a 5xx the load balancer
 *   answers itself, which has no backend latency).
 * - the app's active users on each healthy member: users / healthy
 *   members (rounded), 0 on a member not healthy; none under appDown.
 * - Cloud SQL (the tenant of `settings.userLabels."edv-tenant"`, whose
 *   backend service holds VMs with that label, or is named edv-ID-be):
 *   up 1 while RUNNABLE and no sqlDown fault, else 0; connections
 *   users / 2 (0 when down); CPU 0.03 + 0.0004 per request per minute,
 *   +-0.01 (no point when down).
 *
 * Not modelled: a history of the resources (a backend's health, a VM's
 * status and a Cloud SQL instance's state are the current ones, bounded
 * by the VM's last start/stop and the resources' creation times), the
 * usage model's changes (a change applies to the past too), latency
 * spread (a point's distribution is one bucket), request sizes, CDN.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/compute_int.h"
#include "sim/compute_vm.h"
#include "sim/metrics_gen.h"
#include "sim/sim_int.h"

#define MG_STEP       60000
#define MG_MIN_STEP   1000
#define MG_MAX_POINTS 100000 /* per series: older points are not generated */
#define MG_MAX_HIST   32     /* faults of one target per query */
#define MG_NAME       128
#define MG_MAX_CODES  16

#define LB_PREFIX   "loadbalancing.googleapis.com/https/"
#define T_REQUESTS  LB_PREFIX "request_count"
#define T_BACKEND_L LB_PREFIX "backend_latencies"
#define T_TOTAL_L   LB_PREFIX "total_latencies"
#define T_CPU       "compute.googleapis.com/instance/cpu/utilization"
#define T_MEMORY    "agent.googleapis.com/memory/percent_used"
#define T_SQL_UP    "cloudsql.googleapis.com/database/up"
#define T_SQL_CONN  "cloudsql.googleapis.com/database/network/connections"
#define T_SQL_CPU   "cloudsql.googleapis.com/database/cpu/utilization"
#define T_USERS     "custom.googleapis.com/edvirons/active_users"

typedef struct mg_member {
  char *vm;            /* canonical */
  size_t bs;           /* index of its backend service */
  size_t group;        /* index of its group */
  int healthy;         /* now, in the boot model */
  uint64_t healthy_ms; /* since when (its boot finished) */
} mg_member;

typedef struct mg_group {
  char name[MG_NAME], zone[MG_NAME];
  size_t m0, nm; /* members */
} mg_group;

typedef struct mg_bs {
  char canon[2 * MG_NAME], name[MG_NAME];
  int classic; /* EXTERNAL: 502 for no healthy member */
  size_t g0, ng;
  char fr[MG_NAME], proxy[MG_NAME], map[MG_NAME];
  int https; /* fr's proxy is a target HTTPS proxy */
} mg_bs;

typedef struct mg_ctx {
  sim *s;
  int64_t start, end, step;
  mg_bs *bs;
  size_t nbs, capbs;
  mg_group *g;
  size_t ng, capg;
  mg_member *m;
  size_t nm, capm;
  json_object *vm_ix;     /* VM canonical name -> member index */
  json_object *tenant_ix; /* edv-tenant -> backend service index */
  json_object *out;
  const char *type;
} mg_ctx;

/* --- small helpers ------------------------------------------------------ */

static const char *base_of(const char *name)
{
  const char *slash = name ? strrchr(name, '/') : NULL;

  return slash ? slash + 1 : name ? name : "";
}

static const char *jstr(json_object *o, const char *key)
{
  json_object *v;

  return json_object_object_get_ex(o, key, &v) &&
                 json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
  void *p;

  if (n < *cap)
    return 0;
  p = realloc(*v, (*cap ? *cap * 2 : 16) * size);
  if (p == NULL)
    return -1;
  *v = p;
  *cap = *cap ? *cap * 2 : 16;
  return 0;
}

/* In [0, 1): a hash of the series key and the time (FNV-1a, then a
 * splitmix64 finish). */
static double jitter(const char *key, int64_t t)
{
  uint64_t h = 1469598103934665603ULL;

  for (const char *p = key; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  h ^= (uint64_t)t + 0x9E3779B97F4A7C15ULL;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return (double)(h >> 11) * 0x1p-53;
}

/* The metric faults of kind on target active at t, the last one found. */
static const sim_mhist *fault_at(sim *s, int kind, const char *target,
                                 int64_t t)
{
  const sim_mhist *h[MG_MAX_HIST];
  size_t n = sim__mfault_find(s, kind, target, (uint64_t)t - 1, (uint64_t)t, h,
                              MG_MAX_HIST);

  for (size_t i = n; i-- > 0;)
    if ((int64_t)h[i]->from_ms <= t &&
        (h[i]->to_ms == 0 || (int64_t)h[i]->to_ms > t))
      return h[i];
  return NULL;
}

/* --- the index of backend services --------------------------------------- */

static int bs_cb(void *data, const char *name, const char *kind,
                 json_object *obj)
{
  mg_ctx *c = data;
  mg_bs *b;

  (void)obj;
  if (strcmp(kind, "compute#backendService") != 0 ||
      grow((void **)&c->bs, &c->capbs, c->nbs, sizeof(*c->bs)) < 0)
    return 0;
  b = &c->bs[c->nbs++];
  memset(b, 0, sizeof(*b));
  snprintf(b->canon, sizeof(b->canon), "%s", name);
  snprintf(b->name, sizeof(b->name), "%s", base_of(name));
  return 0;
}

/* The members of group g of backend service bi, with their health. */
static void add_group(mg_ctx *c, size_t bi, json_object *bs, json_object *g)
{
  json_object *names = json_object_new_array();
  json_object *hs = sim_cvm_group_health(c->s, bs, g, names);
  mg_group *gr;

  if (grow((void **)&c->g, &c->capg, c->ng, sizeof(*c->g)) < 0)
    goto out;
  gr = &c->g[c->ng++];
  memset(gr, 0, sizeof(*gr));
  snprintf(gr->name, sizeof(gr->name), "%s", jstr(g, "name"));
  snprintf(gr->zone, sizeof(gr->zone), "%s", base_of(jstr(g, "zone")));
  gr->m0 = c->nm;
  for (size_t i = 0; i < json_object_array_length(hs); i++) {
    const char *vm =
        json_object_get_string(json_object_array_get_idx(names, i));
    const char *st = jstr(json_object_array_get_idx(hs, i), "healthState");
    json_object *inst = sim_store_get(c->s, vm);
    mg_member *m;

    if (grow((void **)&c->m, &c->capm, c->nm, sizeof(*c->m)) < 0 ||
        (vm = strdup(vm)) == NULL)
      break;
    m = &c->m[c->nm];
    m->vm = (char *)vm;
    m->bs = bi;
    m->group = c->ng - 1;
    m->healthy = st && strcmp(st, "HEALTHY") == 0;
    m->healthy_ms =
        sim_cvm_priv_u64(inst, "startMs") + sim_cvm_priv_u64(inst, "bootMs");
    if (!json_object_object_get_ex(c->vm_ix, vm, NULL))
      json_object_object_add(c->vm_ix, vm,
                             json_object_new_int64((int64_t)c->nm));
    c->nm++;
    gr->nm++;
    /* The tenant of the backend service: its VMs' label. */
    {
      const char *t =
          jstr(json_object_object_get(inst, "labels"), "edv-tenant");

      if (t && !json_object_object_get_ex(c->tenant_ix, t, NULL))
        json_object_object_add(c->tenant_ix, t,
                               json_object_new_int64((int64_t)bi));
    }
  }
out:
  json_object_put(hs);
  json_object_put(names);
}

static size_t bs_find(mg_ctx *c, const char *canon)
{
  size_t lo = 0, hi = c->nbs;

  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int r = strcmp(c->bs[mid].canon, canon);

    if (r == 0)
      return mid;
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (size_t)-1;
}

/* The forwarding rule, proxy and URL map in front of each backend service
 * (a target HTTPS proxy's rule wins over another). */
static void frontend(mg_ctx *c, const char *fr, const char *proxy,
                     json_object *map, const char *ref)
{
  char *canon = ref ? sim_ref_name(c->s, ref) : NULL;
  size_t bi = canon ? bs_find(c, canon) : (size_t)-1;
  int https = strstr(proxy, "/targetHttpsProxies/") != NULL;
  mg_bs *b;

  free(canon);
  if (bi == (size_t)-1)
    return;
  b = &c->bs[bi];
  if (b->fr[0] && (b->https || !https))
    return;
  snprintf(b->fr, sizeof(b->fr), "%s", base_of(fr));
  snprintf(b->proxy, sizeof(b->proxy), "%s", base_of(proxy));
  snprintf(b->map, sizeof(b->map), "%s", jstr(map, "name"));
  b->https = https;
}

static void frontends(mg_ctx *c)
{
  json_object *rules = sim_compute_forwarding_ips(c->s);

  for (size_t i = 0; i < json_object_array_length(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    const char *fr = jstr(r, "name"), *proxy = jstr(r, "target");
    json_object *p = proxy ? sim_store_get(c->s, proxy) : NULL, *map, *pms;
    char *mapn =
        jstr(p, "urlMap") ? sim_ref_name(c->s, jstr(p, "urlMap")) : NULL;

    map = mapn ? sim_store_get(c->s, mapn) : NULL;
    free(mapn);
    if (map == NULL || fr == NULL)
      continue;
    frontend(c, fr, proxy, map, jstr(map, "defaultService"));
    pms = json_object_object_get(map, "pathMatchers");
    for (size_t j = 0; j < sim_cvm_len(pms); j++) {
      json_object *pm = json_object_array_get_idx(pms, j);
      json_object *prs = json_object_object_get(pm, "pathRules");

      frontend(c, fr, proxy, map, jstr(pm, "defaultService"));
      for (size_t k = 0; k < sim_cvm_len(prs); k++)
        frontend(c, fr, proxy, map,
                 jstr(json_object_array_get_idx(prs, k), "service"));
    }
  }
  json_object_put(rules);
}

static void index_build(mg_ctx *c, int lb)
{
  char prefix[256];

  c->vm_ix = json_object_new_object();
  c->tenant_ix = json_object_new_object();
  snprintf(prefix, sizeof(prefix), "projects/%s/global/backendServices/",
           sim_project(c->s));
  sim_store_each(c->s, prefix, bs_cb, c);
  for (size_t bi = 0; bi < c->nbs; bi++) {
    json_object *bs = sim_store_get(c->s, c->bs[bi].canon);
    json_object *backends = json_object_object_get(bs, "backends");
    const char *scheme = jstr(bs, "loadBalancingScheme");

    c->bs[bi].classic = scheme && strcmp(scheme, "EXTERNAL") == 0;
    c->bs[bi].g0 = c->ng;
    for (size_t i = 0; i < sim_cvm_len(backends); i++) {
      char *gn = sim_ref_name(
          c->s, jstr(json_object_array_get_idx(backends, i), "group"));
      json_object *g = gn ? sim_store_get(c->s, gn) : NULL;

      free(gn);
      if (g)
        add_group(c, bi, bs, g);
    }
    c->bs[bi].ng = c->ng - c->bs[bi].g0;
    /* A backend service of no labelled VM: edv-ID-be is tenant ID's. */
    {
      const char *n = c->bs[bi].name;
      size_t len = strlen(n);
      char t[MG_NAME];

      if (len > 7 && strncmp(n, "edv-", 4) == 0 &&
          strcmp(n + len - 3, "-be") == 0) {
        snprintf(t, sizeof(t), "%.*s", (int)(len - 7), n + 4);
        if (!json_object_object_get_ex(c->tenant_ix, t, NULL))
          json_object_object_add(c->tenant_ix, t,
                                 json_object_new_int64((int64_t)bi));
      }
    }
  }
  if (lb)
    frontends(c);
}

static void index_free(mg_ctx *c)
{
  for (size_t i = 0; i < c->nm; i++)
    free(c->m[i].vm);
  free(c->m);
  free(c->g);
  free(c->bs);
  json_object_put(c->vm_ix);
  json_object_put(c->tenant_ix);
}

/* --- the model ---------------------------------------------------------- */

static int member_healthy_at(const mg_member *m, int64_t t)
{
  return m->healthy && (int64_t)m->healthy_ms <= t;
}

/* Healthy members at t of group gi, or of the whole backend service when
 * gi is (size_t)-1. */
static size_t healthy_at(mg_ctx *c, size_t bi, size_t gi, int64_t t)
{
  const mg_bs *b = &c->bs[bi];
  size_t n = 0;

  for (size_t g = b->g0; g < b->g0 + b->ng; g++) {
    if (gi != (size_t)-1 && g != gi)
      continue;
    for (size_t i = c->g[g].m0; i < c->g[g].m0 + c->g[g].nm; i++)
      n += (size_t)member_healthy_at(&c->m[i], t);
  }
  return n;
}

/* Requests per minute of backend service bi at t. */
static double bs_rpm(mg_ctx *c, size_t bi, int64_t t)
{
  sim_usage u = sim__usage_at(c->s, c->bs[bi].name, (uint64_t)t);

  return u.users * u.rpm;
}

/* A VM's CPU at t from the model (what it serves), before faults. */
static double member_cpu(mg_ctx *c, const mg_member *m, int64_t t)
{
  double rpm = 0, cpu;
  size_t nh;

  if (m && member_healthy_at(m, t) &&
      (nh = healthy_at(c, m->bs, (size_t)-1, t)) > 0)
    rpm = bs_rpm(c, m->bs, t) / (double)nh;
  cpu = 0.04 + 0.0015 * rpm + 0.02 * (jitter(m ? m->vm : "", t) - 0.5);
  return cpu > 1 ? 1 : cpu < 0 ? 0 : cpu;
}

static double vm_cpu(mg_ctx *c, const char *vm, const mg_member *m, int64_t t)
{
  const sim_mhist *f = fault_at(c->s, SIM_MF_VM_LOAD, vm, t);

  if (f && f->cpu >= 0)
    return f->cpu;
  return member_cpu(c, m, t);
}

/* Backend latency (ms) of group gi at t: its healthy members' CPU. */
static double group_latency(mg_ctx *c, size_t gi, int64_t t)
{
  double cpu = 0;
  size_t n = 0;

  for (size_t i = c->g[gi].m0; i < c->g[gi].m0 + c->g[gi].nm; i++)
    if (member_healthy_at(&c->m[i], t)) {
      cpu += vm_cpu(c, c->m[i].vm, &c->m[i], t);
      n++;
    }
  cpu = n ? cpu / (double)n : 0;
  return 30.0 * (1 + 4 * cpu * cpu);
}

/* The share of (t - step, t] a backendErrors fault made fail. */
static double error_share(mg_ctx *c, size_t bi, int64_t t)
{
  const sim_mhist *h[MG_MAX_HIST];
  int64_t from = t - c->step;
  size_t n = sim__mfault_find(c->s, SIM_MF_BACKEND_ERRORS, c->bs[bi].name,
                              (uint64_t)from, (uint64_t)t, h, MG_MAX_HIST);
  double share = 0;

  for (size_t i = 0; i < n; i++) {
    int64_t a = (int64_t)h[i]->from_ms > from ? (int64_t)h[i]->from_ms : from;
    int64_t b =
        h[i]->to_ms && (int64_t)h[i]->to_ms < t ? (int64_t)h[i]->to_ms : t;

    if (b > a)
      share += h[i]->rate * (double)(b - a) / (double)c->step;
  }
  return share > 1 ? 1 : share;
}

/* Requests of group gi (of backend service bi) answering `code` in the
 * point ending at t. */
static long group_count(mg_ctx *c, size_t bi, size_t gi, int code, int64_t t)
{
  const mg_bs *b = &c->bs[bi];
  double rpm = bs_rpm(c, bi, t);
  char key[3 * MG_NAME];
  long total, mine, failed, n = 0;
  size_t nh = healthy_at(c, bi, (size_t)-1, t);

  snprintf(key, sizeof(key), "%s/requests", b->canon);
  total = lround(rpm * (double)c->step / 60000.0 *
                 (1 + 0.1 * (jitter(key, t) - 0.5)));
  if (nh == 0) {
    if (gi == b->g0 && code == (b->classic ? 502 : 503))
      n = total;
  } else {
    size_t gh = healthy_at(c, bi, gi, t);

    mine = (long)((double)total * (double)gh / (double)nh);
    if (gi == b->g0) { /* the first group takes what the split left */
      mine = total;
      for (size_t g = b->g0 + 1; g < b->g0 + b->ng; g++)
        mine -= (long)((double)total * (double)healthy_at(c, bi, g, t) /
                       (double)nh);
    }
    failed = (long)floor((double)mine * error_share(c, bi, t));
    if (code == 200)
      n = mine - failed;
    else if (code == 500)
      n = failed;
  }
  if (gi == b->g0)
    n += sim__dp_counted(c->s, b->canon, code, (uint64_t)(t - c->step),
                         (uint64_t)t);
  return n;
}

/* --- output ------------------------------------------------------------- */

static void add_str(json_object *o, const char *k, const char *v)
{
  json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static json_object *series_new(mg_ctx *c, json_object *mlabels,
                               const char *rtype, json_object *rlabels,
                               json_object *user_labels, const char *kind,
                               const char *vtype)
{
  json_object *ts = json_object_new_object(), *m = json_object_new_object();
  json_object *r = json_object_new_object();

  add_str(m, "type", c->type);
  json_object_object_add(m, "labels", mlabels);
  add_str(r, "type", rtype);
  json_object_object_add(r, "labels", rlabels);
  json_object_object_add(ts, "metric", m);
  json_object_object_add(ts, "resource", r);
  if (user_labels) {
    json_object *md = json_object_new_object(), *ul = NULL;

    if (json_object_deep_copy(user_labels, &ul, NULL) != 0)
      ul = json_object_new_object();
    json_object_object_add(md, "userLabels", ul);
    json_object_object_add(ts, "metadata", md);
  }
  add_str(ts, "metricKind", kind);
  add_str(ts, "valueType", vtype);
  json_object_object_add(ts, "points", json_object_new_array());
  return ts;
}

/* Keeps a series with points (newest first), drops an empty one. */
static void series_end(mg_ctx *c, json_object *ts)
{
  if (json_object_array_length(json_object_object_get(ts, "points")) > 0)
    json_object_array_add(c->out, ts);
  else
    json_object_put(ts);
}

static void point_add(mg_ctx *c, json_object *ts, int64_t t, int delta,
                      json_object *value)
{
  json_object *p = json_object_new_object(), *iv = json_object_new_object();
  char a[32], b[32];

  add_str(iv, "startTime",
          sim_time_str((uint64_t)(delta ? t - c->step : t), a));
  add_str(iv, "endTime", sim_time_str((uint64_t)t, b));
  json_object_object_add(p, "interval", iv);
  json_object_object_add(p, "value", value);
  json_object_array_add(json_object_object_get(ts, "points"), p);
}

static json_object *v_int(int64_t n)
{
  json_object *v = json_object_new_object();
  char buf[32];

  snprintf(buf, sizeof(buf), "%lld", (long long)n);
  add_str(v, "int64Value", buf);
  return v;
}

static json_object *v_double(double d)
{
  json_object *v = json_object_new_object();

  json_object_object_add(v, "doubleValue", json_object_new_double(d));
  return v;
}

/* count values of about mean_ms, in Google's exponential buckets (66
 * finite, growth 1.4, scale 1): all in the bucket of the mean. */
static json_object *v_dist(long count, double mean_ms)
{
  json_object *v = json_object_new_object(), *d = json_object_new_object();
  json_object *bo = json_object_new_object(), *eb = json_object_new_object();
  json_object *bc = json_object_new_array();
  char buf[32];
  int bucket = mean_ms < 1 ? 0 : 1 + (int)floor(log(mean_ms) / log(1.4));

  if (bucket > 67)
    bucket = 67;
  snprintf(buf, sizeof(buf), "%ld", count);
  add_str(d, "count", buf);
  json_object_object_add(d, "mean", json_object_new_double(mean_ms));
  json_object_object_add(eb, "numFiniteBuckets", json_object_new_int(66));
  json_object_object_add(eb, "growthFactor", json_object_new_double(1.4));
  json_object_object_add(eb, "scale", json_object_new_double(1));
  json_object_object_add(bo, "exponentialBuckets", eb);
  json_object_object_add(d, "bucketOptions", bo);
  for (int i = 0; i < bucket; i++)
    json_object_array_add(bc, json_object_new_string("0"));
  json_object_array_add(bc, json_object_new_string(buf));
  json_object_object_add(d, "bucketCounts", bc);
  json_object_object_add(v, "distributionValue", d);
  return v;
}

/* The newest point time in (start, end], aligned on the step. */
static int64_t last_t(const mg_ctx *c)
{
  return c->end - (c->end % c->step + c->step) % c->step;
}

/* --- load balancer ------------------------------------------------------ */

static json_object *lb_resource(mg_ctx *c, size_t bi, size_t gi)
{
  const mg_bs *b = &c->bs[bi];
  json_object *r = json_object_new_object();

  add_str(r, "project_id", sim_project(c->s));
  add_str(r, "region", "global");
  add_str(r, "url_map_name", b->map);
  add_str(r, "forwarding_rule_name", b->fr);
  add_str(r, "target_proxy_name", b->proxy);
  add_str(r, "backend_target_name", b->name);
  add_str(r, "backend_target_type", "BACKEND_SERVICE");
  add_str(r, "backend_name", c->g[gi].name);
  add_str(r, "backend_type", "INSTANCE_GROUP");
  add_str(r, "backend_scope", c->g[gi].zone);
  add_str(r, "matched_url_path_rule", "UNMATCHED");
  return r;
}

static json_object *lb_labels(int code)
{
  json_object *l = json_object_new_object();
  char buf[16];

  snprintf(buf, sizeof(buf), "%d", code);
  add_str(l, "response_code", buf);
  snprintf(buf, sizeof(buf), "%d", code / 100 * 100);
  add_str(l, "response_code_class", buf);
  add_str(l, "cache_result", "DISABLED");
  add_str(l, "proxy_continent", "America");
  add_str(l, "client_country", "United States");
  return l;
}

static void lb_series(mg_ctx *c, size_t bi, size_t gi, int code, int metric)
{
  json_object *ts;
  /* 5xx answered by the load balancer itself: no backend latency. */
  int lb_own = code == 502 || code == 503;

  if (metric == 1 && lb_own)
    return;
  ts = series_new(c, lb_labels(code), "https_lb_rule", lb_resource(c, bi, gi),
                  NULL, "DELTA", metric ? "DISTRIBUTION" : "INT64");
  for (int64_t t = last_t(c), n = 0; t > c->start && n < MG_MAX_POINTS;
       t -= c->step, n++) {
    long count = group_count(c, bi, gi, code, t);
    double ms;
    char key[3 * MG_NAME];

    if (count <= 0)
      continue;
    if (metric == 0) {
      point_add(c, ts, t, 1, v_int(count));
      continue;
    }
    snprintf(key, sizeof(key), "%s/%zu/latency", c->bs[bi].canon, gi);
    ms = lb_own ? 1 + 2 * jitter(key, t) : group_latency(c, gi, t);
    if (code == 500)
      ms *= 0.5; /* the app fails fast */
    if (metric == 2 && !lb_own)
      ms += 3 + 5 * jitter(key, t);
    point_add(c, ts, t, 1, v_dist(count, ms));
  }
  series_end(c, ts);
}

/* metric 0: request_count, 1: backend_latencies, 2: total_latencies */
static void gen_lb(mg_ctx *c, int metric)
{
  index_build(c, 1);
  for (size_t bi = 0; bi < c->nbs; bi++) {
    const mg_bs *b = &c->bs[bi];
    int codes[MG_MAX_CODES] = {200, 500, b->classic ? 502 : 503};
    size_t nc = 3, nd;
    int extra[MG_MAX_CODES];

    if (!b->fr[0] || b->ng == 0)
      continue;
    nd = sim__dp_codes(c->s, b->canon, (uint64_t)(c->start - c->step), extra,
                       MG_MAX_CODES);
    for (size_t i = 0; i < nd; i++) {
      size_t j;

      for (j = 0; j < nc && codes[j] != extra[i]; j++)
        ;
      if (j == nc && nc < MG_MAX_CODES)
        codes[nc++] = extra[i];
    }
    for (size_t g = b->g0; g < b->g0 + b->ng; g++)
      for (size_t i = 0; i < nc; i++)
        lb_series(c, bi, g, codes[i], metric);
  }
  index_free(c);
}

/* --- VMs ---------------------------------------------------------------- */

static const char *const mem_states[] = {"used", "free", "buffered", "cached",
                                         "slab"};

static double memory_of(mg_ctx *c, const char *vm, const mg_member *m,
                        int64_t t, int state)
{
  const sim_mhist *f = fault_at(c->s, SIM_MF_VM_LOAD, vm, t);
  double used = f && f->mem >= 0 ? f->mem : 35 + 30 * vm_cpu(c, vm, m, t);
  double buffered = 1.5, slab = 2.5, rest = 100 - used - buffered - slab;
  double cached = rest > 0 ? rest * 0.3 : 0;

  if (used + buffered + slab > 100) /* a fault near 100%: nothing else */
    buffered = slab = 0, cached = 0, rest = 100 - used;
  switch (state) {
  case 0:
    return used;
  case 1:
    return rest - cached > 0 ? rest - cached : 0;
  case 2:
    return buffered;
  case 3:
    return cached;
  default:
    return slab;
  }
}

typedef struct gen_data {
  mg_ctx *c;
  int metric; /* VMs 0: cpu, 1: memory, 2: active users; Cloud SQL 0: up,
                 1: connections, 2: cpu */
} gen_data;

static int vm_cb(void *data, const char *name, const char *kind,
                 json_object *inst)
{
  mg_ctx *c = ((gen_data *)data)->c;
  int metric = ((gen_data *)data)->metric;
  json_object *labels = json_object_object_get(inst, "labels"), *ix;
  const char *status, *tenant = jstr(labels, "edv-tenant");
  const mg_member *m = NULL;
  int64_t from, to;
  int states = metric == 1 ? 5 : 1;

  if (strcmp(kind, "compute#instance") != 0 || (metric == 2 && !tenant))
    return 0;
  if (json_object_object_get_ex(c->vm_ix, name, &ix))
    m = &c->m[json_object_get_int64(ix)];
  /* RUNNING from its last start, to now or to its last stop. */
  status = sim_cvm_instance_status(c->s, inst);
  from = (int64_t)sim_cvm_priv_u64(inst, "startMs");
  if (from == 0)
    from = sim_time_parse(jstr(inst, "creationTimestamp"));
  to = INT64_MAX;
  if (strcmp(status, "RUNNING") != 0) {
    int64_t stop = sim_time_parse(jstr(inst, "lastStopTimestamp"));

    if (stop <= from)
      return 0;
    to = stop;
  }
  for (int st = 0; st < states; st++) {
    json_object *ml = json_object_new_object(), *rl = json_object_new_object();
    json_object *ts;

    if (metric == 0)
      add_str(ml, "instance_name", base_of(name));
    else if (metric == 1)
      add_str(ml, "state", mem_states[st]);
    else
      add_str(ml, "edv_tenant", tenant);
    add_str(rl, "project_id", sim_project(c->s));
    add_str(rl, "instance_id", jstr(inst, "id"));
    add_str(rl, "zone", base_of(jstr(inst, "zone")));
    ts = series_new(c, ml, "gce_instance", rl, labels, "GAUGE",
                    metric == 2 ? "INT64" : "DOUBLE");
    for (int64_t t = last_t(c), n = 0; t > c->start && n < MG_MAX_POINTS;
         t -= c->step, n++) {
      if (t < from || t >= to)
        continue;
      if (metric == 0) {
        point_add(c, ts, t, 0, v_double(vm_cpu(c, name, m, t)));
      } else if (metric == 1) {
        point_add(c, ts, t, 0, v_double(memory_of(c, name, m, t, st)));
      } else if (!fault_at(c->s, SIM_MF_APP_DOWN, name, t)) {
        size_t nh = m ? healthy_at(c, m->bs, (size_t)-1, t) : 0;
        double users =
            m && nh && member_healthy_at(m, t)
                ? sim__usage_at(c->s, c->bs[m->bs].name, (uint64_t)t).users /
                      (double)nh
                : 0;

        point_add(c, ts, t, 0, v_int(llround(users)));
      }
    }
    series_end(c, ts);
  }
  return 0;
}

static void gen_vm(mg_ctx *c, int metric)
{
  gen_data d = {c, metric};
  char prefix[256];

  index_build(c, 0);
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(c->s));
  sim_store_each(c->s, prefix, vm_cb, &d);
  index_free(c);
}

/* --- Cloud SQL ---------------------------------------------------------- */

static int sql_cb(void *data, const char *name, const char *kind,
                  json_object *inst)
{
  gen_data *d = data;
  mg_ctx *c = d->c;
  json_object *ul = json_object_object_get(
      json_object_object_get(inst, "settings"), "userLabels");
  const char *state = jstr(inst, "state"), *tenant = jstr(ul, "edv-tenant");
  int runnable = state && strcmp(state, "RUNNABLE") == 0;
  int64_t created = sim_time_parse(jstr(inst, "createTime"));
  json_object *rl, *ts, *ix;
  size_t bi = (size_t)-1;
  char id[2 * MG_NAME];

  if (strcmp(kind, "sql#instance") != 0)
    return 0;
  if (tenant && json_object_object_get_ex(c->tenant_ix, tenant, &ix))
    bi = (size_t)json_object_get_int64(ix);
  rl = json_object_new_object();
  add_str(rl, "project_id", sim_project(c->s));
  snprintf(id, sizeof(id), "%s:%s", sim_project(c->s), base_of(name));
  add_str(rl, "database_id", id);
  add_str(rl, "region", jstr(inst, "region"));
  ts = series_new(c, json_object_new_object(), "cloudsql_database", rl, ul,
                  "GAUGE", d->metric == 2 ? "DOUBLE" : "INT64");
  for (int64_t t = last_t(c), n = 0; t > c->start && n < MG_MAX_POINTS;
       t -= c->step, n++) {
    int up = runnable && !fault_at(c->s, SIM_MF_SQL_DOWN, name, t);
    sim_usage u = {0, 0};

    if (created > 0 && t < created)
      continue;
    if (bi != (size_t)-1)
      u = sim__usage_at(c->s, c->bs[bi].name, (uint64_t)t);
    if (d->metric == 0) {
      point_add(c, ts, t, 0, v_int(up));
    } else if (d->metric == 1) {
      point_add(c, ts, t, 0, v_int(up ? (int64_t)floor(u.users / 2) : 0));
    } else if (up) {
      double cpu =
          0.03 + 0.0004 * u.users * u.rpm + 0.02 * (jitter(name, t) - 0.5);

      point_add(c, ts, t, 0, v_double(cpu > 1 ? 1 : cpu < 0 ? 0 : cpu));
    }
  }
  series_end(c, ts);
  return 0;
}

static void gen_sql(mg_ctx *c, int metric)
{
  gen_data d = {c, metric};
  char prefix[256];

  index_build(c, 0);
  snprintf(prefix, sizeof(prefix), "projects/%s/instances/", sim_project(c->s));
  sim_store_each(c->s, prefix, sql_cb, &d);
  index_free(c);
}

/* --- entry --------------------------------------------------------------- */

int sim__metrics_generate(sim *s, const char *type, int64_t start_ms,
                          int64_t end_ms, int64_t step_ms, json_object *out)
{
  static const struct {
    const char *type;
    void (*gen)(mg_ctx *c, int metric);
    int metric;
  } types[] = {
      {T_REQUESTS, gen_lb, 0}, {T_BACKEND_L, gen_lb, 1},
      {T_TOTAL_L, gen_lb, 2},  {T_CPU, gen_vm, 0},
      {T_MEMORY, gen_vm, 1},   {T_USERS, gen_vm, 2},
      {T_SQL_UP, gen_sql, 0},  {T_SQL_CONN, gen_sql, 1},
      {T_SQL_CPU, gen_sql, 2},
  };
  mg_ctx c;

  for (size_t i = 0; type && i < sizeof(types) / sizeof(*types); i++) {
    if (strcmp(type, types[i].type) != 0)
      continue;
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.type = types[i].type;
    c.out = out;
    c.step = step_ms <= 0            ? MG_STEP
             : step_ms < MG_MIN_STEP ? MG_MIN_STEP
                                     : step_ms;
    c.start = start_ms;
    c.end = end_ms;
    if (c.end > c.start && out)
      types[i].gen(&c, types[i].metric);
    return 1;
  }
  return 0;
}
