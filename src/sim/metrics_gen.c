/*
 * metrics_gen.c - the simulator's built-in metrics (metrics_gen.h): the
 * series of each metric type, their resources and labels as Google's
 * Monitoring has them, and their points from the model of
 * metrics_model.c (described at its top). Raw points only, one per step,
 * newest first; a DELTA point's interval starts one step before its end,
 * a GAUGE point's start is its end; none after the simulated now. A
 * series without a point in the interval is left out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/compute_vm.h"
#include "sim/metrics_gen.h"
#include "sim/metrics_int.h"

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
    long count = mg_group_count(c, bi, gi, code, t);
    double ms;
    char key[3 * MG_NAME];

    if (count <= 0)
      continue;
    if (metric == 0) {
      point_add(c, ts, t, 1, v_int(count));
      continue;
    }
    snprintf(key, sizeof(key), "%s/%zu/latency", c->bs[bi].canon, gi);
    ms = lb_own ? 1 + 2 * mg_jitter(key, t) : mg_group_latency(c, gi, t);
    if (code == 500)
      ms *= 0.5; /* the app fails fast */
    if (metric == 2 && !lb_own)
      ms += 3 + 5 * mg_jitter(key, t);
    point_add(c, ts, t, 1, v_dist(count, ms));
  }
  series_end(c, ts);
}

/* metric 0: request_count, 1: backend_latencies, 2: total_latencies */
static void gen_lb(mg_ctx *c, int metric)
{
  mg_index_build(c, MG_IX_FRONTENDS | MG_IX_HEALTH);
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
  mg_index_free(c);
}

/* --- VMs ---------------------------------------------------------------- */

static const char *const mem_states[] = {"used", "free", "buffered", "cached",
                                         "slab"};

static double memory_of(mg_ctx *c, const char *vm, const mg_member *m,
                        int64_t t, int state)
{
  const sim_mhist *f = mg_fault_at(c->s, SIM_MF_VM_LOAD, vm, t);
  double used = f && f->mem >= 0 ? f->mem : 35 + 30 * mg_vm_cpu(c, vm, m, t);
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
  const char *status, *tenant = mg_str(labels, "edv-tenant");
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
    from = sim_time_parse(mg_str(inst, "creationTimestamp"));
  to = INT64_MAX;
  if (strcmp(status, "RUNNING") != 0) {
    int64_t stop = sim_time_parse(mg_str(inst, "lastStopTimestamp"));

    if (stop <= from)
      return 0;
    to = stop;
  }
  for (int st = 0; st < states; st++) {
    json_object *ml = json_object_new_object(), *rl = json_object_new_object();
    json_object *ts;

    if (metric == 0)
      add_str(ml, "instance_name", mg_base(name));
    else if (metric == 1)
      add_str(ml, "state", mem_states[st]);
    else
      add_str(ml, "edv_tenant", tenant);
    add_str(rl, "project_id", sim_project(c->s));
    add_str(rl, "instance_id", mg_str(inst, "id"));
    add_str(rl, "zone", mg_base(mg_str(inst, "zone")));
    ts = series_new(c, ml, "gce_instance", rl, labels, "GAUGE",
                    metric == 2 ? "INT64" : "DOUBLE");
    for (int64_t t = last_t(c), n = 0; t > c->start && n < MG_MAX_POINTS;
         t -= c->step, n++) {
      if (t < from || t >= to)
        continue;
      if (metric == 0) {
        point_add(c, ts, t, 0, v_double(mg_vm_cpu(c, name, m, t)));
      } else if (metric == 1) {
        point_add(c, ts, t, 0, v_double(memory_of(c, name, m, t, st)));
      } else if (!mg_fault_at(c->s, SIM_MF_APP_DOWN, name, t)) {
        size_t nh = m ? mg_healthy_at(c, m->bs, (size_t)-1, t) : 0;
        double users =
            m && nh && mg_member_healthy_at(m, t)
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

  mg_index_build(c, MG_IX_HEALTH);
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(c->s));
  sim_store_each(c->s, prefix, vm_cb, &d);
  mg_index_free(c);
}

/* --- Cloud SQL ---------------------------------------------------------- */

static int sql_cb(void *data, const char *name, const char *kind,
                  json_object *inst)
{
  gen_data *d = data;
  mg_ctx *c = d->c;
  json_object *ul = json_object_object_get(
      json_object_object_get(inst, "settings"), "userLabels");
  const char *state = mg_str(inst, "state"), *tenant = mg_str(ul, "edv-tenant");
  int runnable = state && strcmp(state, "RUNNABLE") == 0;
  int64_t created = sim_time_parse(mg_str(inst, "createTime"));
  json_object *rl, *ts, *ix;
  size_t bi = (size_t)-1;
  char id[2 * MG_NAME];

  if (strcmp(kind, "sql#instance") != 0)
    return 0;
  if (tenant && json_object_object_get_ex(c->tenant_ix, tenant, &ix))
    bi = (size_t)json_object_get_int64(ix);
  rl = json_object_new_object();
  add_str(rl, "project_id", sim_project(c->s));
  snprintf(id, sizeof(id), "%s:%s", sim_project(c->s), mg_base(name));
  add_str(rl, "database_id", id);
  add_str(rl, "region", mg_str(inst, "region"));
  ts = series_new(c, json_object_new_object(), "cloudsql_database", rl, ul,
                  "GAUGE", d->metric == 2 ? "DOUBLE" : "INT64");
  for (int64_t t = last_t(c), n = 0; t > c->start && n < MG_MAX_POINTS;
       t -= c->step, n++) {
    int up = runnable && !mg_fault_at(c->s, SIM_MF_SQL_DOWN, name, t);
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
          0.03 + 0.0004 * u.users * u.rpm + 0.02 * (mg_jitter(name, t) - 0.5);

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

  mg_index_build(c, 0); /* the tenants' backend services only */
  snprintf(prefix, sizeof(prefix), "projects/%s/instances/", sim_project(c->s));
  sim_store_each(c->s, prefix, sql_cb, &d);
  mg_index_free(c);
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
    /* No point in the future: a minute's counts appear once it is over. */
    c.end = end_ms < (int64_t)sim_now_ms(s) ? end_ms : (int64_t)sim_now_ms(s);
    if (c.end > c.start && out)
      types[i].gen(&c, types[i].metric);
    return 1;
  }
  return 0;
}
