/*
 * metrics_model.c - the model behind the built-in metrics (metrics_gen.h,
 * metrics_gen.c): the series Google's Monitoring would hold for what the
 * simulator runs, computed for any time from the resources, the usage
 * model and the history of the metric faults (usage.c). Nothing is stored per
 * point; a query builds one index of the backend services (their groups, the
 * members' health, the tenant, the load balancer in front) and walks each
 * kind of resource once, so a fleet of 1,000 tenants costs a walk, not a
 * search per point.
 *
 * The model, per backend service B at time t (the usage model gives
 * users(t) and requests per user and minute R):
 * - requests in a point's interval: users * R * minutes, +-5% (a hash of
 *   the series and the time, never rand(): the same query gives the same
 *   answer; none before B's creation), split evenly among B's instance
 *   groups by their healthy members. A member counts as healthy at t when the
 * boot model of compute_health.c says HEALTHY now and its boot finished before
 * t. With no healthy member, every request answers 503 (502 for the classic
 * EXTERNAL scheme), on B's first group.
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
#include "sim/metrics_int.h"

/* --- small helpers ------------------------------------------------------ */

const char *mg_base(const char *name)
{
  const char *slash = name ? strrchr(name, '/') : NULL;

  return slash ? slash + 1 : name ? name : "";
}

const char *mg_str(json_object *o, const char *key)
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
double mg_jitter(const char *key, int64_t t)
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
const sim_mhist *mg_fault_at(sim *s, int kind, const char *target, int64_t t)
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
  snprintf(b->name, sizeof(b->name), "%s", mg_base(name));
  return 0;
}

/* The members of group g of backend service bi, with their health when
 * asked (the boot model's checks are the index's main cost). */
static void add_group(mg_ctx *c, size_t bi, json_object *bs, json_object *g,
                      int health)
{
  json_object *names = NULL, *hs = NULL;
  mg_group *gr;
  size_t n;

  if (health) {
    names = json_object_new_array();
    hs = sim_cvm_group_health(c->s, bs, g, names);
  } else {
    names = json_object_get(
        json_object_object_get(json_object_object_get(g, "_sim"), "members"));
  }
  n = sim_cvm_len(names);

  if (grow((void **)&c->g, &c->capg, c->ng, sizeof(*c->g)) < 0)
    goto out;
  gr = &c->g[c->ng++];
  memset(gr, 0, sizeof(*gr));
  snprintf(gr->name, sizeof(gr->name), "%s", mg_str(g, "name"));
  snprintf(gr->zone, sizeof(gr->zone), "%s", mg_base(mg_str(g, "zone")));
  gr->m0 = c->nm;
  for (size_t i = 0; i < n; i++) {
    const char *vm =
        json_object_get_string(json_object_array_get_idx(names, i));
    const char *st =
        hs ? mg_str(json_object_array_get_idx(hs, i), "healthState") : NULL;
    json_object *inst = sim_store_get(c->s, vm);
    mg_member *m;

    if (inst == NULL)
      continue;
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
          mg_str(json_object_object_get(inst, "labels"), "edv-tenant");

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
  snprintf(b->fr, sizeof(b->fr), "%s", mg_base(fr));
  snprintf(b->proxy, sizeof(b->proxy), "%s", mg_base(proxy));
  snprintf(b->map, sizeof(b->map), "%s", mg_str(map, "name"));
  b->https = https;
}

static void frontends(mg_ctx *c)
{
  json_object *rules = sim_compute_forwarding_ips(c->s);

  for (size_t i = 0; i < json_object_array_length(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    const char *fr = mg_str(r, "name"), *proxy = mg_str(r, "target");
    json_object *p = proxy ? sim_store_get(c->s, proxy) : NULL, *map, *pms;
    char *mapn =
        mg_str(p, "urlMap") ? sim_ref_name(c->s, mg_str(p, "urlMap")) : NULL;

    map = mapn ? sim_store_get(c->s, mapn) : NULL;
    free(mapn);
    if (map == NULL || fr == NULL)
      continue;
    frontend(c, fr, proxy, map, mg_str(map, "defaultService"));
    pms = json_object_object_get(map, "pathMatchers");
    for (size_t j = 0; j < sim_cvm_len(pms); j++) {
      json_object *pm = json_object_array_get_idx(pms, j);
      json_object *prs = json_object_object_get(pm, "pathRules");

      frontend(c, fr, proxy, map, mg_str(pm, "defaultService"));
      for (size_t k = 0; k < sim_cvm_len(prs); k++)
        frontend(c, fr, proxy, map,
                 mg_str(json_object_array_get_idx(prs, k), "service"));
    }
  }
  json_object_put(rules);
}

void mg_index_build(mg_ctx *c, int flags)
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
    const char *scheme = mg_str(bs, "loadBalancingScheme");

    c->bs[bi].classic = scheme && strcmp(scheme, "EXTERNAL") == 0;
    c->bs[bi].created_ms = sim_time_parse(mg_str(bs, "creationTimestamp"));
    c->bs[bi].g0 = c->ng;
    for (size_t i = 0; i < sim_cvm_len(backends); i++) {
      char *gn = sim_ref_name(
          c->s, mg_str(json_object_array_get_idx(backends, i), "group"));
      json_object *g = gn ? sim_store_get(c->s, gn) : NULL;

      free(gn);
      if (g)
        add_group(c, bi, bs, g, flags & MG_IX_HEALTH);
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
  if (flags & MG_IX_FRONTENDS)
    frontends(c);
}

void mg_index_free(mg_ctx *c)
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

int mg_member_healthy_at(const mg_member *m, int64_t t)
{
  return m->healthy && (int64_t)m->healthy_ms <= t;
}

/* Healthy members at t of group gi, or of the whole backend service when
 * gi is (size_t)-1. */
size_t mg_healthy_at(mg_ctx *c, size_t bi, size_t gi, int64_t t)
{
  const mg_bs *b = &c->bs[bi];
  size_t n = 0;

  for (size_t g = b->g0; g < b->g0 + b->ng; g++) {
    if (gi != (size_t)-1 && g != gi)
      continue;
    for (size_t i = c->g[g].m0; i < c->g[g].m0 + c->g[g].nm; i++)
      n += (size_t)mg_member_healthy_at(&c->m[i], t);
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

  if (m && mg_member_healthy_at(m, t) &&
      (nh = mg_healthy_at(c, m->bs, (size_t)-1, t)) > 0)
    rpm = bs_rpm(c, m->bs, t) / (double)nh;
  cpu = 0.04 + 0.0015 * rpm + 0.02 * (mg_jitter(m ? m->vm : "", t) - 0.5);
  return cpu > 1 ? 1 : cpu < 0 ? 0 : cpu;
}

double mg_vm_cpu(mg_ctx *c, const char *vm, const mg_member *m, int64_t t)
{
  const sim_mhist *f = mg_fault_at(c->s, SIM_MF_VM_LOAD, vm, t);

  if (f && f->cpu >= 0)
    return f->cpu;
  return member_cpu(c, m, t);
}

/* Backend latency (ms) of group gi at t: its healthy members' CPU. */
double mg_group_latency(mg_ctx *c, size_t gi, int64_t t)
{
  double cpu = 0;
  size_t n = 0;

  for (size_t i = c->g[gi].m0; i < c->g[gi].m0 + c->g[gi].nm; i++)
    if (mg_member_healthy_at(&c->m[i], t)) {
      cpu += mg_vm_cpu(c, c->m[i].vm, &c->m[i], t);
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
long mg_group_count(mg_ctx *c, size_t bi, size_t gi, int code, int64_t t)
{
  const mg_bs *b = &c->bs[bi];
  double rpm = bs_rpm(c, bi, t);
  char key[3 * MG_NAME];
  long total, mine, failed, n = 0;
  size_t nh = mg_healthy_at(c, bi, (size_t)-1, t);

  snprintf(key, sizeof(key), "%s/requests", b->canon);
  total = t > b->created_ms ? lround(rpm * (double)c->step / 60000.0 *
                                     (1 + 0.1 * (mg_jitter(key, t) - 0.5)))
                            : 0;
  if (nh == 0) {
    if (gi == b->g0 && code == (b->classic ? 502 : 503))
      n = total;
  } else {
    size_t gh = mg_healthy_at(c, bi, gi, t);

    mine = (long)((double)total * (double)gh / (double)nh);
    if (gi == b->g0) { /* the first group takes what the split left */
      mine = total;
      for (size_t g = b->g0 + 1; g < b->g0 + b->ng; g++)
        mine -= (long)((double)total * (double)mg_healthy_at(c, bi, g, t) /
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
