/*
 * dayops_metrics.c - a tenant's metrics over a window (edv_tenant_metrics):
 *
 * - health and latency: the points of edvd's probe metrics (tenant_up,
 *   probe_latency_ms, metric label edv_tenant), raw;
 * - the seed's tenant metrics, each aligned by Cloud Monitoring into about
 *   60 points over the window: active users (the app's custom metric),
 *   requests per second and the share answered 5xx (the load balancer's
 *   request_count of the tenant's backend service, by response code
 *   class), response time (its backend_latencies, 50th and 95th
 *   percentiles), and resource utilization (the VM's CPU and memory, the
 *   Cloud SQL instance's CPU and connections, by the edv-tenant label);
 * - its steps' durations, from the store.
 *
 * Ten timeSeries.list calls; the Monitoring part is kept 5 s per tenant
 * and window, so a dashboard polling every second spends them once per
 * key per 5 s.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet/dayops.h"
#include "gcp/gcp.h"

#define METRICS_MAX_POINTS 20000
#define METRICS_TTL_MS     5000u
#define METRICS_ALIGNED    60 /* points per aligned series over the window */

/* The tenant's selectors: %s is the tenant's id, or for the load
 * balancer's metrics its backend service's name (they carry no labels). */
enum { BY_METRIC_LABEL, BY_USER_LABEL, BY_BACKEND };

enum {
  Q_UP,
  Q_LATENCY,
  Q_USERS,
  Q_REQUESTS,
  Q_RESPONSE_P50,
  Q_RESPONSE_P95,
  Q_VM_CPU,
  Q_VM_MEMORY,
  Q_DB_CPU,
  Q_DB_CONNECTIONS,
  Q_N
};

/* One timeSeries.list per row; a row without an aligner reads raw points. */
static const struct metrics_query {
  const char *metric;
  int by;
  const char *extra, *aligner, *reducer, *group;
} queries[Q_N] = {
    [Q_UP] = {EDV_METRIC_UP, BY_METRIC_LABEL, NULL, NULL, NULL, NULL},
    [Q_LATENCY] = {EDV_METRIC_LATENCY, BY_METRIC_LABEL, NULL, NULL, NULL, NULL},
    [Q_USERS] = {"custom.googleapis.com/edvirons/active_users", BY_METRIC_LABEL,
                 NULL, "ALIGN_MEAN", "REDUCE_SUM", NULL},
    [Q_REQUESTS] = {"loadbalancing.googleapis.com/https/request_count",
                    BY_BACKEND, NULL, "ALIGN_RATE", "REDUCE_SUM",
                    "metric.label.response_code_class"},
    [Q_RESPONSE_P50] = {"loadbalancing.googleapis.com/https/backend_latencies",
                        BY_BACKEND, NULL, "ALIGN_DELTA", "REDUCE_PERCENTILE_50",
                        NULL},
    [Q_RESPONSE_P95] = {"loadbalancing.googleapis.com/https/backend_latencies",
                        BY_BACKEND, NULL, "ALIGN_DELTA", "REDUCE_PERCENTILE_95",
                        NULL},
    [Q_VM_CPU] = {"compute.googleapis.com/instance/cpu/utilization",
                  BY_USER_LABEL, NULL, "ALIGN_MEAN", "REDUCE_MAX", NULL},
    [Q_VM_MEMORY] = {"agent.googleapis.com/memory/percent_used", BY_USER_LABEL,
                     "metric.labels.state = \"used\"", "ALIGN_MEAN",
                     "REDUCE_MAX", NULL},
    [Q_DB_CPU] = {"cloudsql.googleapis.com/database/cpu/utilization",
                  BY_USER_LABEL, NULL, "ALIGN_MEAN", "REDUCE_MAX", NULL},
    [Q_DB_CONNECTIONS] =
        {"cloudsql.googleapis.com/database/network/connections", BY_USER_LABEL,
         NULL, "ALIGN_MEAN", "REDUCE_SUM", NULL},
};

typedef struct metrics_ctx {
  edv__dayops *o;
  edv_fleet_cb cb;
  void *data;
  char tenant[EDV_STORE_ID_SZ];
  char phase[24];
  int64_t window_s;
  unsigned pending;
  edv_error err;
  int failed;
  json_object *answers[Q_N]; /* the aligned queries' answers */
  /* tenant_up */
  size_t up_n, up_sum;
  int64_t last_ms;
  int last_up;
  /* probe_latency_ms */
  double *lat;
  size_t lat_n;
  int64_t lat_last_ms;
  double lat_last;
} metrics_ctx;

static int point_value(json_object *pt, double *out)
{
  json_object *v, *x;

  if (!json_object_object_get_ex(pt, "value", &v))
    return -1;
  if (json_object_object_get_ex(v, "doubleValue", &x) ||
      json_object_object_get_ex(v, "int64Value", &x)) {
    /* int64Value comes as a string (JSON has no 64-bit integers). */
    if (json_object_is_type(x, json_type_string)) {
      char *end;
      const char *s = json_object_get_string(x);
      *out = strtod(s, &end);
      return *end || end == s ? -1 : 0;
    }
    if (json_object_is_type(x, json_type_double) ||
        json_object_is_type(x, json_type_int)) {
      *out = json_object_get_double(x);
      return 0;
    }
    return -1;
  }
  if (json_object_object_get_ex(v, "boolValue", &x)) {
    *out = json_object_get_boolean(x) ? 1 : 0;
    return 0;
  }
  return -1;
}

static void add_point(metrics_ctx *m, int latency, double val, int64_t t)
{
  if (!latency) {
    m->up_n++;
    m->up_sum += val > 0.5;
    if (t > m->last_ms) {
      m->last_ms = t;
      m->last_up = val > 0.5;
    }
    return;
  }
  if (m->lat_n >= METRICS_MAX_POINTS || !isfinite(val))
    return;
  if (!m->lat && !(m->lat = malloc(METRICS_MAX_POINTS * sizeof(double))))
    return;
  m->lat[m->lat_n++] = val;
  if (t > m->lat_last_ms) {
    m->lat_last_ms = t;
    m->lat_last = val;
  }
}

/* Every point of every series in a timeSeries.list answer. */
static void each_point(metrics_ctx *m, json_object *page, int latency)
{
  json_object *series;

  if (!json_object_object_get_ex(page, "timeSeries", &series) ||
      !json_object_is_type(series, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length(series); i++) {
    json_object *pts, *ts = json_object_array_get_idx(series, i);
    if (!json_object_object_get_ex(ts, "points", &pts) ||
        !json_object_is_type(pts, json_type_array))
      continue;
    for (size_t k = 0; k < json_object_array_length(pts); k++) {
      json_object *pt = json_object_array_get_idx(pts, k), *iv;
      double val;
      int64_t t = -1;
      if (point_value(pt, &val))
        continue;
      if (json_object_object_get_ex(pt, "interval", &iv))
        t = edv__view_time_parse(edv__jstr(iv, "endTime"));
      add_point(m, latency, val, t);
    }
  }
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n-1]. */
static double percentile(const double *v, size_t n, double p)
{
  size_t rank = (size_t)ceil(p / 100.0 * (double)n);

  if (rank < 1)
    rank = 1;
  return v[rank - 1];
}

static json_object *health_view(const metrics_ctx *m)
{
  json_object *up = json_object_new_object();

  json_object_object_add(up, "points", json_object_new_int64((int64_t)m->up_n));
  json_object_object_add(
      up, "availability",
      m->up_n ? json_object_new_double((double)m->up_sum / (double)m->up_n)
              : NULL);
  json_object_object_add(
      up, "last_probe",
      m->up_n && m->last_ms >= 0 ? edv__view_time_json(m->last_ms) : NULL);
  json_object_object_add(
      up, "last_up",
      m->up_n && m->last_ms >= 0 ? json_object_new_boolean(m->last_up) : NULL);
  return up;
}

static json_object *latency_view(metrics_ctx *m)
{
  json_object *lat = json_object_new_object();

  json_object_object_add(lat, "points",
                         json_object_new_int64((int64_t)m->lat_n));
  if (m->lat_n)
    qsort(m->lat, m->lat_n, sizeof(double), cmp_double);
  json_object_object_add(
      lat, "p50",
      m->lat_n ? json_object_new_double(percentile(m->lat, m->lat_n, 50))
               : NULL);
  json_object_object_add(
      lat, "p95",
      m->lat_n ? json_object_new_double(percentile(m->lat, m->lat_n, 95))
               : NULL);
  json_object_object_add(lat, "last",
                         m->lat_n ? json_object_new_double(m->lat_last) : NULL);
  return lat;
}

static int step_dur(void *data, const edv__step_rec *r)
{
  json_object *arr = data, *o;

  if (!r->started_ms || !r->finished_ms || r->finished_ms < r->started_ms)
    return 0;
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(r->step));
  json_object_object_add(o, "duration_ms",
                         json_object_new_int64(r->finished_ms - r->started_ms));
  json_object_array_add(arr, o);
  return 0;
}

/* ---- aligned series ----------------------------------------------------
 *
 * An aligned answer has a point per alignment period and output series;
 * `collect` gathers the points of its series (only those whose
 * response_code_class is `cls` when given), summed by end time, oldest
 * first. */

#define ALIGNED_MAX 2048

typedef struct tv {
  int64_t t;
  double v;
} tv;

static int cmp_tv(const void *a, const void *b)
{
  int64_t x = ((const tv *)a)->t, y = ((const tv *)b)->t;

  return x < y ? -1 : x > y;
}

static size_t collect(json_object *answer, const char *cls, tv *out)
{
  json_object *series = edv__jget(answer, "timeSeries");
  size_t n = 0, k = 0;

  for (size_t i = 0; i < edv__jarr_len(series); i++) {
    json_object *ts = json_object_array_get_idx(series, i);
    json_object *pts = edv__jget(ts, "points");
    const char *c = edv__jstr(edv__jget(edv__jget(ts, "metric"), "labels"),
                              "response_code_class");
    if (cls && (!c || strcmp(c, cls) != 0))
      continue;
    for (size_t j = 0; j < edv__jarr_len(pts) && n < ALIGNED_MAX; j++) {
      json_object *pt = json_object_array_get_idx(pts, j);
      double v;
      int64_t t =
          edv__view_time_parse(edv__jstr(edv__jget(pt, "interval"), "endTime"));
      if (t >= 0 && point_value(pt, &v) == 0 && isfinite(v))
        out[n++] = (tv){t, v};
    }
  }
  if (n == 0)
    return 0;
  qsort(out, n, sizeof(*out), cmp_tv);
  for (size_t i = 1; i < n; i++) {
    if (out[i].t == out[k].t)
      out[k].v += out[i].v;
    else
      out[++k] = out[i];
  }
  return k + 1;
}

/* {current, mean, max, points: [{t, v}]}; `mean` is given when the plain
 * mean of the points is not the right one (a ratio's). */
static json_object *series_view(const tv *p, size_t n, const double *mean)
{
  json_object *o = json_object_new_object(), *pts = json_object_new_array();
  double sum = 0, max = 0;

  for (size_t i = 0; i < n; i++) {
    json_object *pt = json_object_new_object();
    json_object_object_add(pt, "t", edv__view_time_json(p[i].t));
    json_object_object_add(pt, "v", json_object_new_double(p[i].v));
    json_object_array_add(pts, pt);
    sum += p[i].v;
    if (i == 0 || p[i].v > max)
      max = p[i].v;
  }
  json_object_object_add(o, "current",
                         n ? json_object_new_double(p[n - 1].v) : NULL);
  json_object_object_add(o, "mean",
                         mean ? json_object_new_double(*mean)
                         : n  ? json_object_new_double(sum / (double)n)
                              : NULL);
  json_object_object_add(o, "max", n ? json_object_new_double(max) : NULL);
  json_object_object_add(o, "points", pts);
  return o;
}

static json_object *aligned_view(metrics_ctx *m, int q, tv *buf)
{
  return series_view(buf, collect(m->answers[q], NULL, buf), NULL);
}

/* Requests per second, and the share of them answered 5xx (its mean over
 * the window weighs each point by its requests). */
static void requests_views(metrics_ctx *m, json_object *mon, tv *all, tv *err)
{
  size_t n = collect(m->answers[Q_REQUESTS], NULL, all);
  size_t ne = collect(m->answers[Q_REQUESTS], "500", err), k = 0;
  double sum = 0, sum_err = 0, ratio;
  json_object *rv, *ev;

  rv = series_view(all, n, NULL);
  /* err[] becomes the ratio at each of all[]'s times. */
  for (size_t i = 0, j = 0; i < n; i++) {
    double e = 0;
    while (j < ne && err[j].t < all[i].t)
      j++;
    if (j < ne && err[j].t == all[i].t)
      e = err[j].v;
    sum += all[i].v;
    sum_err += e;
    if (all[i].v > 0)
      all[k++] = (tv){all[i].t, e / all[i].v};
  }
  ratio = sum > 0 ? sum_err / sum : 0;
  ev = series_view(all, k, k ? &ratio : NULL);
  json_object_object_add(mon, "requests_per_s", rv);
  json_object_object_add(mon, "error_ratio", ev);
}

static json_object *seed_views(metrics_ctx *m)
{
  json_object *mon = json_object_new_object(), *resp, *util;
  tv *a = malloc(2 * ALIGNED_MAX * sizeof(*a));

  if (!a)
    return mon;
  json_object_object_add(mon, "active_users", aligned_view(m, Q_USERS, a));
  requests_views(m, mon, a, a + ALIGNED_MAX);
  resp = json_object_new_object();
  json_object_object_add(resp, "p50", aligned_view(m, Q_RESPONSE_P50, a));
  json_object_object_add(resp, "p95", aligned_view(m, Q_RESPONSE_P95, a));
  json_object_object_add(mon, "response_ms", resp);
  util = json_object_new_object();
  json_object_object_add(util, "vm_cpu", aligned_view(m, Q_VM_CPU, a));
  json_object_object_add(util, "vm_memory_pct",
                         aligned_view(m, Q_VM_MEMORY, a));
  json_object_object_add(util, "db_cpu", aligned_view(m, Q_DB_CPU, a));
  json_object_object_add(util, "db_connections",
                         aligned_view(m, Q_DB_CONNECTIONS, a));
  json_object_object_add(mon, "utilization", util);
  free(a);
  return mon;
}

/* ---- the document -------------------------------------------------------- */

static void cache_key(char *key, size_t size, const char *tenant,
                      int64_t window_s)
{
  snprintf(key, size, "metrics/%s/%lld", tenant, (long long)window_s);
}

/* The document around the Monitoring part `mon` (health, latency_ms and
 * the seed's metrics). */
static json_object *metrics_doc(edv_fleet *f, const char *tenant,
                                const char *phase, int64_t window_s,
                                json_object *mon)
{
  json_object *o = json_object_new_object(), *steps = json_object_new_array();

  json_object_object_add(o, "tenant", json_object_new_string(tenant));
  json_object_object_add(o, "phase", json_object_new_string(phase));
  json_object_object_add(o, "window_s", json_object_new_int64(window_s));
  json_object_object_foreach(mon, key, val)
  {
    json_object_object_add(o, key, json_object_get(val));
  }
  json_object_object_add(o, "operation", edv__dayops_job_view(f, tenant));
  edv__store_step_list(f->store, tenant, step_dur, steps, NULL);
  json_object_object_add(o, "steps", steps);
  return o;
}

static void metrics_free(metrics_ctx *m)
{
  edv__dayops_unref(m->o);
  for (int q = 0; q < Q_N; q++)
    json_object_put(m->answers[q]);
  free(m->lat);
  free(m);
}

static void metrics_answer(metrics_ctx *m)
{
  edv_fleet *f = m->o->f;
  json_object *mon, *doc;
  char key[EDV_STORE_ID_SZ + 40];

  mon = seed_views(m);
  json_object_object_add(mon, "health", health_view(m));
  json_object_object_add(mon, "latency_ms", latency_view(m));
  cache_key(key, sizeof(key), m->tenant, m->window_s);
  edv__dayops_cache_put(f, key, mon, METRICS_TTL_MS);
  doc = metrics_doc(f, m->tenant, m->phase, m->window_s, mon);
  json_object_put(mon);
  m->cb(m->data, doc, NULL);
  json_object_put(doc);
}

/* One call's answer: the context and the query it answers. */
typedef struct metrics_call {
  metrics_ctx *m;
  int q;
} metrics_call;

static void metrics_on_series(void *data, const edv_response *res)
{
  metrics_call *c = data;
  metrics_ctx *m = c->m;
  edv_error e;

  if (res->error && !m->failed) {
    m->failed = 1;
    m->err = *res->error;
  } else if (!res->error && (c->q == Q_UP || c->q == Q_LATENCY)) {
    each_point(m, res->json, c->q == Q_LATENCY);
  } else if (!res->error) {
    m->answers[c->q] = json_object_get(res->json);
  }
  free(c);
  if (--m->pending > 0)
    return;
  if (!m->o->f) {
    edv_error_set(&e, EDV_ECANCELED, "the fleet closed");
    m->cb(m->data, NULL, &e);
  } else if (m->failed) {
    edv_error_set(&e, EDV_EUNAVAIL, "Cloud Monitoring: %s", m->err.message);
    m->cb(m->data, NULL, &e);
  } else {
    metrics_answer(m);
  }
  metrics_free(m);
}

/* "90s", "15m", "1h", "7d" -> seconds (60 s .. 30 days), or -1. */
static int64_t parse_window(const char *s)
{
  char *end;
  long long v;
  int64_t mul;

  if (!s || !isdigit((unsigned char)*s))
    return -1;
  v = strtoll(s, &end, 10);
  if (strcmp(end, "s") == 0)
    mul = 1;
  else if (strcmp(end, "m") == 0)
    mul = 60;
  else if (strcmp(end, "h") == 0)
    mul = 3600;
  else if (strcmp(end, "d") == 0)
    mul = 86400;
  else
    return -1;
  if (v <= 0 || v > 30 * 86400)
    return -1;
  v *= mul;
  return v >= 60 && v <= 30 * 86400 ? (int64_t)v : -1;
}

/* The alignment period of a window: about METRICS_ALIGNED points, in
 * whole minutes. */
static int64_t align_period_s(int64_t window_s)
{
  int64_t p = (window_s / METRICS_ALIGNED + 59) / 60 * 60;

  return p < 60 ? 60 : p;
}

static char *series_path(edv_fleet *f, const metrics_ctx *m, int q,
                         int64_t start_ms, int64_t end_ms)
{
  const struct metrics_query *mq = &queries[q];
  char filter[512], sel[200], who[EDV_STORE_ID_SZ + 16], t0[40], t1[40];
  char period[24], *url;

  if (mq->by == BY_BACKEND) {
    edv__name_backend_service(m->tenant, who, sizeof(who));
    snprintf(sel, sizeof(sel), "resource.labels.backend_target_name = \"%s\"",
             who);
  } else if (mq->by == BY_USER_LABEL) {
    snprintf(sel, sizeof(sel), "metadata.user_labels.\"edv-tenant\" = \"%s\"",
             m->tenant);
  } else {
    snprintf(sel, sizeof(sel),
             "metric.labels." EDV_METRIC_TENANT_LABEL " = \"%s\"", m->tenant);
  }
  snprintf(filter, sizeof(filter), "metric.type = \"%s\" AND %s%s%s",
           mq->metric, sel, mq->extra ? " AND " : "",
           mq->extra ? mq->extra : "");
  edv__view_time(start_ms, t0, sizeof(t0));
  edv__view_time(end_ms, t1, sizeof(t1));
  url = edv__url_pathf("/v3/projects/%s/timeSeries",
                       edv__fleet_project(f->machine));
  url = edv__url_append_query(url, "filter", filter);
  url = edv__url_append_query(url, "interval.startTime", t0);
  url = edv__url_append_query(url, "interval.endTime", t1);
  if (mq->aligner) {
    snprintf(period, sizeof(period), "%llds",
             (long long)align_period_s(m->window_s));
    url = edv__url_append_query(url, "aggregation.alignmentPeriod", period);
    url =
        edv__url_append_query(url, "aggregation.perSeriesAligner", mq->aligner);
    url = edv__url_append_query(url, "aggregation.crossSeriesReducer",
                                mq->reducer);
    if (mq->group)
      url = edv__url_append_query(url, "aggregation.groupByFields", mq->group);
  }
  return edv__url_append_query(url, "pageSize", "100000");
}

/* Every call or none is in flight: a call that cannot be submitted ends
 * the request with an error once those already submitted have answered. */
static int metrics_start(edv_fleet *f, metrics_ctx *m, edv_error *err)
{
  int64_t now = edv__fleet_cloud_now(f);
  int submitted = 0;

  m->pending = Q_N + 1; /* the extra one is released below */
  for (int q = 0; q < Q_N; q++) {
    char *path = series_path(f, m, q, now - m->window_s * 1000, now);
    metrics_call *c = calloc(1, sizeof(*c));
    int r = 1;

    if (path && c) {
      *c = (metrics_call){m, q};
      r = edv__dayops_submit(f, EDV_API_MONITORING, "GET", path, NULL,
                             "monitoring.timeSeries.list", metrics_on_series,
                             c);
    }
    free(path);
    if (r) {
      free(c);
      m->pending -= (unsigned)(Q_N - q);
      if (!m->failed) {
        m->failed = 1;
        edv_error_set(&m->err, EDV_EUNAVAIL,
                      "cannot call Cloud Monitoring now");
      }
      break;
    }
    submitted++;
  }
  if (!submitted)
    return edv_error_set(err, EDV_EUNAVAIL, "cannot call Cloud Monitoring now");
  /* Release the extra count: the calls answer later, from the loop. */
  m->pending--;
  return 0;
}

int edv_tenant_metrics(edv_fleet *f, const char *id, const char *window,
                       edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  int64_t window_s = 3600;
  metrics_ctx *m;
  json_object *hit;
  char key[EDV_STORE_ID_SZ + 40];
  int result;

  if ((result = edv__dayops_tenant(f, id, &rec, err)) != 0)
    return result;
  if (window && (window_s = parse_window(window)) < 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'window': '%.32s' is not a duration of "
                         "60s..30d (e.g. 90s, 15m, 1h, 7d)",
                         window);
  cache_key(key, sizeof(key), rec.id, window_s);
  if ((hit = edv__dayops_cache_get(f, key)) != NULL) {
    json_object *doc =
        metrics_doc(f, rec.id, edv__phase_name(rec.phase), window_s, hit);
    json_object_put(hit);
    return edv__dayops_answer_later(f, doc, cb, data, err);
  }
  m = calloc(1, sizeof(*m));
  if (!m || !(m->o = edv__dayops_of(f))) {
    free(m);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  edv__dayops_ref(m->o);
  m->cb = cb;
  m->data = data;
  m->window_s = window_s;
  m->last_ms = m->lat_last_ms = -1;
  snprintf(m->tenant, sizeof(m->tenant), "%s", rec.id);
  snprintf(m->phase, sizeof(m->phase), "%s", edv__phase_name(rec.phase));
  if ((result = metrics_start(f, m, err)) != 0) {
    metrics_free(m);
    return result;
  }
  return 0;
}
