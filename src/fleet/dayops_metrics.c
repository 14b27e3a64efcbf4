/*
 * dayops_metrics.c - a tenant's recent health (edv_tenant_metrics): the
 * points of the probes' custom metrics (tenant_up, probe_latency_ms) in
 * Cloud Monitoring over a window, and its steps' durations from the store.
 * The Monitoring part is kept 5 s per tenant and window, so a dashboard
 * polling every second spends one pair of calls per key per 5 s.
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

static void cache_key(char *key, size_t size, const char *tenant,
                      int64_t window_s)
{
  snprintf(key, size, "metrics/%s/%lld", tenant, (long long)window_s);
}

/* The document around the Monitoring part `mon` ({health, latency_ms}). */
static json_object *metrics_doc(edv_fleet *f, const char *tenant,
                                const char *phase, int64_t window_s,
                                json_object *mon)
{
  json_object *o = json_object_new_object(), *steps = json_object_new_array();

  json_object_object_add(o, "tenant", json_object_new_string(tenant));
  json_object_object_add(o, "phase", json_object_new_string(phase));
  json_object_object_add(o, "window_s", json_object_new_int64(window_s));
  json_object_object_add(
      o, "health", json_object_get(json_object_object_get(mon, "health")));
  json_object_object_add(
      o, "latency_ms",
      json_object_get(json_object_object_get(mon, "latency_ms")));
  json_object_object_add(o, "operation", edv__dayops_job_view(f, tenant));
  edv__store_step_list(f->store, tenant, step_dur, steps, NULL);
  json_object_object_add(o, "steps", steps);
  return o;
}

static void metrics_free(metrics_ctx *m)
{
  edv__dayops_unref(m->o);
  free(m->lat);
  free(m);
}

static void metrics_answer(metrics_ctx *m)
{
  edv_fleet *f = m->o->f;
  json_object *mon, *doc;
  char key[EDV_STORE_ID_SZ + 40];

  mon = json_object_new_object();
  json_object_object_add(mon, "health", health_view(m));
  json_object_object_add(mon, "latency_ms", latency_view(m));
  cache_key(key, sizeof(key), m->tenant, m->window_s);
  edv__dayops_cache_put(f, key, mon, METRICS_TTL_MS);
  doc = metrics_doc(f, m->tenant, m->phase, m->window_s, mon);
  json_object_put(mon);
  m->cb(m->data, doc, NULL);
  json_object_put(doc);
}

static void metrics_on_series(metrics_ctx *m, const edv_response *res,
                              int latency)
{
  edv_error e;

  if (res->error && !m->failed) {
    m->failed = 1;
    m->err = *res->error;
  } else if (!res->error) {
    each_point(m, res->json, latency);
  }
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

static void metrics_on_up(void *data, const edv_response *res)
{
  metrics_on_series(data, res, 0);
}

static void metrics_on_latency(void *data, const edv_response *res)
{
  metrics_on_series(data, res, 1);
}

/* "90s", "15m", "1h", "24h" -> seconds (60 s .. 24 h), or -1. */
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
  else
    return -1;
  if (v <= 0 || v > 86400)
    return -1;
  v *= mul;
  return v >= 60 && v <= 86400 ? (int64_t)v : -1;
}

static char *series_path(edv_fleet *f, const char *metric, const char *tenant,
                         int64_t start_ms, int64_t end_ms)
{
  char filter[400], t0[40], t1[40], *url;

  snprintf(filter, sizeof(filter),
           "metric.type = \"%s\" AND metric.labels." EDV_METRIC_TENANT_LABEL
           " = \"%s\"",
           metric, tenant);
  edv__view_time(start_ms, t0, sizeof(t0));
  edv__view_time(end_ms, t1, sizeof(t1));
  url = edv__url_pathf("/v3/projects/%s/timeSeries",
                       edv__fleet_project(f->machine));
  url = edv__url_append_query(url, "filter", filter);
  url = edv__url_append_query(url, "interval.startTime", t0);
  url = edv__url_append_query(url, "interval.endTime", t1);
  return edv__url_append_query(url, "pageSize", "100000");
}

/* Both calls or none: the second is submitted only if the first was. */
static int metrics_start(edv_fleet *f, metrics_ctx *m, edv_error *err)
{
  int64_t now = edv__store_wall_clock(NULL);
  char *p1 =
      series_path(f, EDV_METRIC_UP, m->tenant, now - m->window_s * 1000, now);
  char *p2 = series_path(f, EDV_METRIC_LATENCY, m->tenant,
                         now - m->window_s * 1000, now);
  int r1, r2;

  if (!p1 || !p2) {
    free(p1);
    free(p2);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  m->pending = 2;
  r1 = edv__dayops_submit(f, EDV_API_MONITORING, "GET", p1, NULL,
                          "monitoring.timeSeries.list", metrics_on_up, m);
  r2 = r1 ? 1
          : edv__dayops_submit(f, EDV_API_MONITORING, "GET", p2, NULL,
                               "monitoring.timeSeries.list", metrics_on_latency,
                               m);
  free(p1);
  free(p2);
  if (r1)
    return edv_error_set(err, EDV_EUNAVAIL, "cannot call Cloud Monitoring now");
  if (r2) {
    /* The first call's callback ends the request, with this error. */
    m->pending = 1;
    m->failed = 1;
    edv_error_set(&m->err, EDV_EUNAVAIL, "cannot call Cloud Monitoring now");
  }
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
                         "60s..24h (e.g. 90s, 15m, 1h)",
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
