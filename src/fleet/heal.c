/*
 * heal.c - health probes of every tenant through its hostname, their
 * results as Cloud Monitoring custom metrics, and auto-healing of tenant
 * VMs.
 *
 * Probes. Every server.health_interval_s (default 30) a round starts: each
 * READY tenant that nobody drives gets one GET https://<id>.<domain>/health
 * (its primary hostname, through the load balancer, as a school sees it)
 * with a server.probe_timeout_s (default 10) deadline and no retry: a
 * probe is one attempt. With server.probe_via (edvd --sim sets it to the
 * embedded simulator, whose data plane answers for tenant hostnames) the
 * request goes to that base URL instead, with the Host header set to the
 * hostname. A probe is healthy on a 2xx within the deadline; otherwise it
 * is unhealthy (another HTTP status), timeout, or error (no answer at
 * all: DNS, refused, reset). At most one probe per tenant is in flight,
 * and at most HEAL_MAX_INFLIGHT in all (the rest wait in a FIFO), so a
 * slow fleet cannot pile probes up; a tenant still being probed when the
 * next round starts is left out of it.
 *
 * Healing. A tenant unhealthy or timing out on server.heal_after (default
 * 3) consecutive probes has its VM reset (compute.instances.reset; the
 * zone comes from the drift pass's aggregatedList, or when that has not
 * seen the VM yet from one instances.aggregatedList filtered by its
 * name), at most
 * server.heal_max_per_hour (default 3) times in any hour; past that the
 * tenant is reported degraded (an ALERT error log line and a journal
 * entry, heal.degraded) and left alone until it is healthy again. Every
 * reset is journalled (heal.reset). A probe that got no answer at all
 * (error) does not count towards a reset: that is the network between
 * edvd and the load balancer, which a VM reset cannot mend.
 *
 * Metrics. When a round's probes have all ended, every result is written
 * with projects.timeSeries.create: custom.googleapis.com/edvirons/
 * tenant_up (GAUGE INT64, 1 healthy / 0 not) and, for probes that got an
 * HTTP answer, custom.googleapis.com/edvirons/probe_latency_ms (GAUGE
 * DOUBLE), metric label edv_tenant = the tenant id, monitored resource
 * `global` {project_id}, endTime = the time the round started (the same
 * for every point of a round, so the series of a round stay in step). A
 * call carries at most 200 time series (Google's limit per request), so a
 * round of N tenants costs ceil(2N/200) calls. Google accepts at most one
 * point per time series every 5 seconds (cloud.google.com/monitoring/
 * quotas, "Rate at which data can be written to a single time series"):
 * a round less than HEAL_SAMPLE_MS after the last round written is not
 * written (its points are counted as skipped), so with a probe interval
 * under 5 s every call still carries a whole round and none is refused;
 * a series whose own last point is that recent is skipped too. The two
 * metric descriptors are created once per process
 * (metricDescriptors.create). A failed write is logged and counted; it
 * never holds probing up.
 *
 * Everything shows in /metrics (edv__heal_prometheus) and, in figures,
 * /api/infrastructure/status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "fleet/dayops.h"
#include "gcp/gcp.h"
#include "fleet/recon.h"
#include "tenant/spec.h"

#define MOD               "heal"
#define HEAL_MAX_RESETS   16   /* remembered resets per tenant */
#define HEAL_MAX_INFLIGHT 64   /* probes in flight at once */
#define HEAL_MAX_SERIES   200  /* time series per timeSeries.create */
#define HEAL_SAMPLE_MS    5000 /* one point per series per 5 s */
#define HEAL_PAGE         512  /* tenants listed per store page */

/* Probe results, as counted and labelled in /metrics. */
enum { R_HEALTHY, R_UNHEALTHY, R_TIMEOUT, R_ERROR, R__COUNT };
static const char *const result_names[R__COUNT] = {"healthy", "unhealthy",
                                                   "timeout", "error"};

/* Latency histogram bounds, seconds (Prometheus convention). */
static const double lat_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                    0.5,   1,    2.5,   5,    10};
#define NBOUNDS (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

typedef struct heal_tenant {
  struct heal_tenant *next;
  char id[EDV_STORE_ID_SZ];
  unsigned bad;                    /* consecutive unhealthy probes */
  int64_t resets[HEAL_MAX_RESETS]; /* wall-clock ms of recent resets */
  unsigned nresets;
  int degraded;        /* alerted; no more resets until healthy */
  int probing;         /* a probe is queued or in flight */
  int locating;        /* looking the VM's zone up before a reset */
  int last;            /* last result (R_*), -1 before the first */
  int64_t written_up;  /* endTime (ms) of the last point written, per */
  int64_t written_lat; /* series */
  uint64_t seen;       /* the last round that listed the tenant */
} heal_tenant;

typedef struct heal_result {
  char id[EDV_STORE_ID_SZ];
  int result;
  double ms;
  int done;
} heal_result;

typedef struct heal_round {
  unsigned pending; /* probes not ended yet */
  unsigned n;
  int64_t at_ms; /* wall clock at the start: every point's endTime */
  heal_result *res;
} heal_round;

typedef struct heal_probe {
  struct heal_probe *next; /* FIFO link while queued */
  edv__recon *d;
  heal_round *round;
  unsigned slot; /* in round->res */
  char id[EDV_STORE_ID_SZ];
  uint64_t t0; /* uv_hrtime at submit */
} heal_probe;

struct edv__heal {
  heal_tenant *tenants;
  heal_probe *qhead, *qtail; /* waiting for a slot */
  unsigned inflight;
  uint64_t rounds;
  int descriptors; /* 0 not yet, 1 created (or being created) */
  uint64_t results[R__COUNT];
  uint64_t lat_buckets[NBOUNDS]; /* cumulative counts are made at render */
  uint64_t lat_count;
  double lat_sum_s;
  uint64_t writes_ok, writes_error, points_written, points_skipped;
  int64_t last_write; /* round time of the last round written */
};

typedef struct reset_ctx {
  edv__recon *d;
  char id[EDV_STORE_ID_SZ];
  char vm[EDV_NAME_MAX];
} reset_ctx;

static edv__heal *heal_state(edv__recon *d)
{
  if (!d->heal)
    d->heal = calloc(1, sizeof(*d->heal));
  return d->heal;
}

static heal_tenant *tenant_find(edv__heal *hs, const char *id)
{
  for (heal_tenant *t = hs->tenants; t; t = t->next)
    if (strcmp(t->id, id) == 0)
      return t;
  return NULL;
}

static heal_tenant *tenant_get(edv__heal *hs, const char *id)
{
  heal_tenant *t = tenant_find(hs, id);

  if (t)
    return t;
  t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  snprintf(t->id, sizeof(t->id), "%s", id);
  t->last = -1;
  t->written_up = t->written_lat = INT64_MIN / 2;
  t->next = hs->tenants;
  hs->tenants = t;
  return t;
}

static void round_unref(heal_round *r)
{
  if (r && --r->pending == 0) {
    free(r->res);
    free(r);
  }
}

void edv__heal_free(edv__recon *d)
{
  edv__heal *hs = d->heal;

  if (!hs)
    return;
  /* Probes still queued never reached the engine (in-flight ones were
   * cancelled by edv_engine_close before the loop ended). */
  while (hs->qhead) {
    heal_probe *p = hs->qhead;

    hs->qhead = p->next;
    round_unref(p->round);
    free(p);
  }
  while (hs->tenants) {
    heal_tenant *t = hs->tenants;

    hs->tenants = t->next;
    free(t);
  }
  free(hs);
  d->heal = NULL;
}

/* RFC 3339 UTC with milliseconds. */
static void rfc3339(int64_t ms, char *buf, size_t n)
{
  time_t sec = (time_t)(ms / 1000);
  struct tm tm;

  size_t len;

  gmtime_r(&sec, &tm);
  len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + len, n - len, ".%03dZ", (int)(ms % 1000));
}

static int64_t wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- healing ------------------------------------------------------------ */

static void heal_journal(edv__recon *d, const char *id, const char *event,
                         const char *detail)
{
  edv__recon_journal(d, "healer", id, event, detail, NULL);
}

static void on_reset(void *data, const edv_response *res)
{
  reset_ctx *c = data;
  edv__recon *d = c->d;

  if (res->error && res->error->code != EDV_ECANCELED)
    EDV_LOG_E(MOD, "tenant=%s: reset failed: %s", c->id, res->error->message);
  free(c);
  edv__recon_release(d);
}

/* 1 while a run drives the tenant or a backup/restore of it is on. */
static int heal_busy(edv__recon *d, const char *id)
{
  if (edv__recon_driven(d, id))
    return 1;
  edv__dayops_recover(d->f, id); /* a restore an earlier edvd started */
  return edv__dayops_busy(d->f, id);
}

static void do_reset(edv__recon *d, heal_tenant *h, const char *vm,
                     const char *zone)
{
  char path[400], rid[EDV__REQUEST_ID_LEN + 1];
  edv_request rq;
  reset_ctx *c;

  /* The zone lookup took a while: a run may have started meanwhile. */
  if (heal_busy(d, h->id) || edv__request_id(rid)) {
    h->bad = 0;
    return;
  }
  c = calloc(1, sizeof(*c));
  if (!c)
    return;
  c->d = d;
  snprintf(c->id, sizeof(c->id), "%s", h->id);
  /* requestId: a retried reset is not a second reset. */
  snprintf(path, sizeof(path),
           "/compute/v1/projects/%s/zones/%s/instances/%s/reset?requestId=%s",
           edv__fleet_project(d->fleet), zone, vm, rid);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_COMPUTE;
  rq.method = "POST";
  rq.path = path;
  rq.label = "compute.instances.reset";
  if (edv_call_submit(d->engine, &rq, on_reset, c, NULL)) {
    free(c);
    return;
  }
  edv__recon_hold(d);
  h->resets[h->nresets++ % HEAL_MAX_RESETS] = wall_ms();
  h->bad = 0;
  d->heal_resets++;
  EDV_LOG_W(MOD, "tenant=%s: VM %s unhealthy %u times in a row: reset", h->id,
            vm, d->heal_after);
  heal_journal(d, h->id, "heal.reset", vm);
}

/* The zone of a VM the drift pass has not seen yet: one aggregatedList
 * filtered by its name, then the reset. */
static void on_locate(void *data, const edv_response *res)
{
  reset_ctx *c = data;
  edv__recon *d = c->d;
  heal_tenant *h = d->heal && !d->stopping ? tenant_find(d->heal, c->id) : NULL;
  json_object *items;
  char zone[64] = "";

  if (h)
    h->locating = 0;
  if (h && !res->error &&
      json_object_object_get_ex(res->json, "items", &items)) {
    json_object_object_foreach(items, scope, v)
    {
      json_object *inst;

      if (!zone[0] && strncmp(scope, "zones/", 6) == 0 &&
          json_object_object_get_ex(v, "instances", &inst) &&
          json_object_array_length(inst) > 0)
        snprintf(zone, sizeof(zone), "%s", scope + 6);
    }
  }
  if (h && zone[0])
    do_reset(d, h, c->vm, zone);
  else if (h)
    EDV_LOG_W(MOD, "tenant=%s: VM %s to reset not found%s%s", c->id, c->vm,
              res->error ? ": " : "", res->error ? res->error->message : "");
  free(c);
  edv__recon_release(d);
}

/* Resets the VM unless the hourly budget is spent (then: degraded). */
static void heal_act(edv__recon *d, heal_tenant *h)
{
  int64_t now = wall_ms();
  unsigned recent = 0;
  char vm[EDV_NAME_MAX], path[600];
  json_object *z;
  edv_request rq;
  reset_ctx *c;

  for (unsigned i = 0; i < h->nresets && i < HEAL_MAX_RESETS; i++)
    if (now - h->resets[i] < 3600000)
      recent++;
  if (recent >= d->heal_max_per_hour) {
    if (!h->degraded) {
      h->degraded = 1;
      d->heal_degraded++;
      EDV_LOG_E(MOD,
                "ALERT tenant=%s degraded: still unhealthy after %u "
                "reset(s) in the last hour; not resetting again",
                h->id, recent);
      heal_journal(d, h->id, "heal.degraded",
                   "unhealthy after the hourly reset budget");
    }
    return;
  }
  if (h->locating)
    return;
  edv__tenant_vm_names(d->store, h->id, vm, sizeof(vm), NULL, 0);
  if (d->vm_zones && json_object_object_get_ex(d->vm_zones, vm, &z)) {
    do_reset(d, h, vm, json_object_get_string(z));
    return;
  }
  c = calloc(1, sizeof(*c));
  if (!c)
    return;
  c->d = d;
  snprintf(c->id, sizeof(c->id), "%s", h->id);
  snprintf(c->vm, sizeof(c->vm), "%s", vm);
  snprintf(path, sizeof(path),
           "/compute/v1/projects/%s/aggregated/instances"
           "?filter=name%%20%%3D%%20%%22%s%%22&maxResults=500",
           edv__fleet_project(d->fleet), vm);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_COMPUTE;
  rq.method = "GET";
  rq.path = path;
  rq.label = "compute.instances.aggregatedList";
  if (edv_call_submit(d->engine, &rq, on_locate, c, NULL) == 0) {
    h->locating = 1;
    edv__recon_hold(d);
  } else {
    free(c);
  }
}

/* One probe's result into the tenant's state machine. */
static void heal_account(edv__recon *d, heal_tenant *h, int result)
{
  h->last = result;
  d->heal_probes++;
  if (result == R_HEALTHY) {
    if (h->degraded)
      EDV_LOG_I(MOD, "tenant=%s: healthy again", h->id);
    h->bad = 0;
    h->degraded = 0;
    return;
  }
  d->heal_unhealthy++;
  if (result == R_ERROR)
    return;
  /* A run (scale, repair, delete) or a backup/restore takes the VM or the
   * database down on purpose: not the VM's fault, and a reset would fight
   * the run. Counting starts again once it is over. */
  if (heal_busy(d, h->id)) {
    EDV_LOG_D(MOD, "tenant=%s: unhealthy while a run or job is on: not counted",
              h->id);
    h->bad = 0;
    return;
  }
  if (++h->bad >= d->heal_after)
    heal_act(d, h);
}

/* ---- metrics ------------------------------------------------------------ */

static void on_descriptor(void *data, const edv_response *res)
{
  edv__recon *d = data;

  /* Google updates an existing descriptor; 409 is fine all the same. */
  if (res->error && res->error->code != EDV_ECANCELED &&
      res->error->code != EDV_EEXIST) {
    EDV_LOG_W(MOD, "metricDescriptors.create: %s (points are still written)",
              res->error->message);
    if (!d->stopping && d->heal)
      d->heal->descriptors = 0; /* try again next round */
  }
  edv__recon_release(d);
}

static void create_descriptors(edv__recon *d)
{
  static const struct {
    const char *type, *value_type, *name, *unit, *desc;
  } m[] = {
      {EDV_METRIC_UP, "INT64", "Tenant up", "1",
       "1 when the tenant's /health answered 2xx through its hostname, "
       "else 0 (edvd probes)."},
      {EDV_METRIC_LATENCY, "DOUBLE", "Tenant probe latency", "ms",
       "Time edvd's probe of the tenant's /health took, in milliseconds."},
  };
  char path[300];

  snprintf(path, sizeof(path), "/v3/projects/%s/metricDescriptors",
           edv__fleet_project(d->fleet));
  d->heal->descriptors = 1;
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
    json_object *o = json_object_new_object(), *labels, *l;
    edv_request rq;

    json_object_object_add(o, "type", json_object_new_string(m[i].type));
    json_object_object_add(o, "metricKind", json_object_new_string("GAUGE"));
    json_object_object_add(o, "valueType",
                           json_object_new_string(m[i].value_type));
    json_object_object_add(o, "unit", json_object_new_string(m[i].unit));
    json_object_object_add(o, "displayName", json_object_new_string(m[i].name));
    json_object_object_add(o, "description", json_object_new_string(m[i].desc));
    labels = json_object_new_array();
    l = json_object_new_object();
    json_object_object_add(l, "key",
                           json_object_new_string(EDV_METRIC_TENANT_LABEL));
    json_object_object_add(l, "valueType", json_object_new_string("STRING"));
    json_object_object_add(l, "description",
                           json_object_new_string("The tenant id."));
    json_object_array_add(labels, l);
    json_object_object_add(o, "labels", labels);
    memset(&rq, 0, sizeof(rq));
    rq.api = EDV_API_MONITORING;
    rq.method = "POST";
    rq.path = path;
    rq.body = o;
    rq.flags = EDV_REQ_IDEMPOTENT; /* create-or-update */
    rq.label = "monitoring.projects.metricDescriptors.create";
    if (edv_call_submit(d->engine, &rq, on_descriptor, d, NULL))
      d->heal->descriptors = 0;
    else
      edv__recon_hold(d);
    json_object_put(o);
  }
}

static void on_write(void *data, const edv_response *res)
{
  edv__recon *d = data;

  if (!d->heal || (res->error && res->error->code == EDV_ECANCELED)) {
    /* nothing to count */
  } else if (!res->error) {
    d->heal->writes_ok++;
  } else {
    d->heal->writes_error++;
    EDV_LOG_W(MOD, "timeSeries.create failed: %s", res->error->message);
  }
  edv__recon_release(d);
}

static json_object *series(const char *type, const char *id,
                           const char *project, const char *value_type,
                           json_object *value, const char *at)
{
  json_object *ts = json_object_new_object(), *m = json_object_new_object();
  json_object *r = json_object_new_object(), *labels, *pts, *pt, *iv, *v;

  labels = json_object_new_object();
  json_object_object_add(labels, EDV_METRIC_TENANT_LABEL,
                         json_object_new_string(id));
  json_object_object_add(m, "type", json_object_new_string(type));
  json_object_object_add(m, "labels", labels);
  labels = json_object_new_object();
  json_object_object_add(labels, "project_id", json_object_new_string(project));
  json_object_object_add(r, "type", json_object_new_string("global"));
  json_object_object_add(r, "labels", labels);
  json_object_object_add(ts, "metric", m);
  json_object_object_add(ts, "resource", r);
  json_object_object_add(ts, "metricKind", json_object_new_string("GAUGE"));
  json_object_object_add(ts, "valueType", json_object_new_string(value_type));
  iv = json_object_new_object();
  json_object_object_add(iv, "endTime", json_object_new_string(at));
  v = json_object_new_object();
  json_object_object_add(
      v, strcmp(value_type, "INT64") == 0 ? "int64Value" : "doubleValue",
      value);
  pt = json_object_new_object();
  json_object_object_add(pt, "interval", iv);
  json_object_object_add(pt, "value", v);
  pts = json_object_new_array();
  json_object_array_add(pts, pt);
  json_object_object_add(ts, "points", pts);
  return ts;
}

static void write_batch(edv__recon *d, json_object *arr)
{
  json_object *body = json_object_new_object();
  char path[300];
  edv_request rq;

  json_object_object_add(body, "timeSeries", arr);
  snprintf(path, sizeof(path), "/v3/projects/%s/timeSeries",
           edv__fleet_project(d->fleet));
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_MONITORING;
  rq.method = "POST";
  rq.path = path;
  rq.body = body;
  rq.label = "monitoring.projects.timeSeries.create";
  if (edv_call_submit(d->engine, &rq, on_write, d, NULL)) {
    d->heal->writes_error++;
    EDV_LOG_W(MOD, "timeSeries.create could not be submitted");
  } else {
    edv__recon_hold(d);
  }
  json_object_put(body);
}

/* Writes a finished round: every result, HEAL_MAX_SERIES series a call. */
static void round_write(edv__recon *d, heal_round *r)
{
  edv__heal *hs = d->heal;
  const char *project = edv__fleet_project(d->fleet);
  json_object *arr = NULL;
  unsigned n = 0;

  char at[40];
  int gate;

  /* Rounds are written whole, one round per sampling period, so every
   * call carries a whole round whatever the probe interval. */
  gate = r->at_ms - hs->last_write < HEAL_SAMPLE_MS;
  if (!gate)
    hs->last_write = r->at_ms;
  rfc3339(r->at_ms, at, sizeof(at));
  for (unsigned i = 0; i < r->n; i++) {
    heal_result *x = &r->res[i];
    heal_tenant *t = x->done ? tenant_find(hs, x->id) : NULL;
    int want_lat;

    if (!t)
      continue;
    want_lat = x->result == R_HEALTHY || x->result == R_UNHEALTHY;
    for (int k = 0; k < 1 + want_lat; k++) {
      int64_t *last = k == 0 ? &t->written_up : &t->written_lat;
      json_object *ts;

      if (gate || r->at_ms - *last < HEAL_SAMPLE_MS) {
        hs->points_skipped++;
        continue;
      }
      ts = k == 0 ? series(EDV_METRIC_UP, t->id, project, "INT64",
                           json_object_new_string(x->result == R_HEALTHY ? "1"
                                                                         : "0"),
                           at)
                  : series(EDV_METRIC_LATENCY, t->id, project, "DOUBLE",
                           json_object_new_double(x->ms), at);
      *last = r->at_ms;
      if (!arr)
        arr = json_object_new_array();
      json_object_array_add(arr, ts);
      hs->points_written++;
      if (++n == HEAL_MAX_SERIES) {
        write_batch(d, arr);
        arr = NULL;
        n = 0;
      }
    }
  }
  if (arr)
    write_batch(d, arr);
}

/* ---- probes ------------------------------------------------------------- */

static void pump(edv__recon *d);

/* A probe ended (result R_*, or -1: cancelled). */
static void probe_end(heal_probe *p, int result, double ms)
{
  edv__recon *d = p->d;
  edv__heal *hs = d->heal;
  heal_round *r = p->round;
  heal_tenant *t = hs ? tenant_find(hs, p->id) : NULL;

  if (t)
    t->probing = 0;
  if (result >= 0 && hs && !d->stopping) {
    heal_result *x = &r->res[p->slot];

    hs->results[result]++;
    if (result == R_HEALTHY || result == R_UNHEALTHY) {
      double s = ms / 1000.0;

      hs->lat_count++;
      hs->lat_sum_s += s;
      for (size_t b = 0; b < NBOUNDS; b++)
        if (s <= lat_bounds[b]) {
          hs->lat_buckets[b]++;
          break;
        }
    }
    x->result = result;
    x->ms = ms;
    x->done = 1;
    if (t)
      heal_account(d, t, result);
  }
  if (r->pending == 1 && hs && !d->stopping)
    round_write(d, r);
  round_unref(r);
  free(p);
}

static void on_probe(void *data, const edv_response *res)
{
  heal_probe *p = data;
  edv__recon *d = p->d;
  double ms = (double)(uv_hrtime() - p->t0) / 1e6;
  int result;

  if (d->heal && d->heal->inflight)
    d->heal->inflight--;
  if (!res->error)
    result = R_HEALTHY;
  else if (res->error->code == EDV_ECANCELED)
    result = -1;
  else if (res->error->code == EDV_ETIMEDOUT)
    result = R_TIMEOUT;
  else if (res->http_status > 0)
    result = R_UNHEALTHY;
  else
    result = R_ERROR;
  if (result > R_HEALTHY)
    EDV_LOG_D(MOD, "tenant=%s: probe %s (HTTP %d): %s", p->id,
              result_names[result], res->http_status, res->error->message);
  probe_end(p, result, ms);
  pump(d);
  edv__recon_release(d);
}

/* Sends queued probes while there is room. */
static void pump(edv__recon *d)
{
  edv__heal *hs = d->heal;
  const char *domain;
  size_t dl;

  /* Stopping: the fleet's machine may be gone already. */
  if (d->stopping || !d->fleet)
    return;
  domain = edv__fleet_domain(d->fleet);
  dl = domain ? strlen(domain) : 0;
  if (dl && domain[dl - 1] == '.')
    dl--;
  while (hs && !d->stopping && hs->qhead && hs->inflight < HEAL_MAX_INFLIGHT) {
    heal_probe *p = hs->qhead;
    char host[EDV_FQDN_MAX], url[600], hdr[EDV_FQDN_MAX + 8];
    const char *headers[2] = {NULL, NULL};
    edv_request rq;

    hs->qhead = p->next;
    if (!hs->qhead)
      hs->qtail = NULL;
    p->next = NULL;
    snprintf(host, sizeof(host), "%s.%.*s", p->id, (int)dl,
             domain ? domain : "");
    if (d->probe_via[0]) {
      snprintf(url, sizeof(url), "%s/health", d->probe_via);
      snprintf(hdr, sizeof(hdr), "Host: %s", host);
      headers[0] = hdr;
    } else {
      snprintf(url, sizeof(url), "https://%s/health", host);
    }
    memset(&rq, 0, sizeof(rq));
    rq.api = EDV_API_OTHER; /* no Google budget: not rate limited */
    rq.method = "GET";
    rq.path = url;
    rq.headers = headers;
    rq.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY | EDV_REQ_RAWBODY;
    rq.timeout_ms = d->probe_timeout_ms;
    rq.label = "probe";
    p->t0 = uv_hrtime();
    if (edv_call_submit(d->engine, &rq, on_probe, p, NULL)) {
      probe_end(p, R_ERROR, 0);
      continue;
    }
    hs->inflight++;
    edv__recon_hold(d);
  }
}

typedef struct heal_list {
  char ids[HEAL_PAGE][EDV_STORE_ID_SZ];
  unsigned n;
} heal_list;

static int heal_one(void *data, const edv__tenant_rec *rec)
{
  heal_list *l = data;

  if (rec->id[0] != '@' && l->n < HEAL_PAGE)
    snprintf(l->ids[l->n++], sizeof(l->ids[0]), "%s", rec->id);
  return 0;
}

/* Adds a probe of id to round r and to the queue. */
static int enqueue(edv__recon *d, heal_round *r, heal_tenant *t)
{
  edv__heal *hs = d->heal;
  heal_probe *p;

  if (r->n % 64 == 0) {
    heal_result *v = realloc(r->res, (r->n + 64) * sizeof(*v));

    if (!v)
      return -1;
    r->res = v;
  }
  p = calloc(1, sizeof(*p));
  if (!p)
    return -1;
  memset(&r->res[r->n], 0, sizeof(r->res[0]));
  snprintf(r->res[r->n].id, sizeof(r->res[0].id), "%s", t->id);
  p->d = d;
  p->round = r;
  p->slot = r->n++;
  r->pending++;
  snprintf(p->id, sizeof(p->id), "%s", t->id);
  if (hs->qtail)
    hs->qtail->next = p;
  else
    hs->qhead = p;
  hs->qtail = p;
  t->probing = 1;
  return 0;
}

void edv__heal_pass(edv__recon *d)
{
  edv__heal *hs;
  heal_list *l;
  heal_round *r;
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ] = "";

  if (d->stopping || !d->engine || !d->fleet || !(hs = heal_state(d)))
    return;
  l = calloc(1, sizeof(*l));
  r = calloc(1, sizeof(*r));
  if (!l || !r) {
    free(l);
    free(r);
    return;
  }
  hs->rounds++;
  r->pending = 1; /* held until every probe is queued */
  r->at_ms = edv__fleet_cloud_now(d->f);
  memset(&f, 0, sizeof(f));
  f.phase = EDV_PHASE_READY;
  f.limit = HEAL_PAGE;
  do {
    f.after = next;
    l->n = 0;
    if (edv__store_tenant_list(d->store, &f, heal_one, l, next, sizeof(next),
                               NULL))
      break;
    for (unsigned i = 0; i < l->n; i++) {
      heal_tenant *t = tenant_get(hs, l->ids[i]);

      if (!t)
        continue;
      t->seen = hs->rounds;
      if (t->probing || edv__recon_driven(d, t->id))
        continue;
      enqueue(d, r, t);
    }
  } while (next[0]);
  free(l);
  /* Forget tenants no longer READY (deleted, or being changed). */
  for (heal_tenant **pp = &hs->tenants; *pp;) {
    heal_tenant *t = *pp;

    if (t->seen != hs->rounds && !t->probing) {
      *pp = t->next;
      free(t);
    } else {
      pp = &t->next;
    }
  }
  if (r->n && !hs->descriptors)
    create_descriptors(d);
  round_unref(r);
  pump(d);
}

/* ---- figures ------------------------------------------------------------ */

static void count_states(edv__heal *hs, unsigned *up, unsigned *down)
{
  *up = *down = 0;
  for (heal_tenant *t = hs ? hs->tenants : NULL; t; t = t->next)
    if (t->last == R_HEALTHY)
      (*up)++;
    else if (t->last >= 0)
      (*down)++;
}

json_object *edv__heal_status(edv__recon *d, json_object *rc)
{
  edv__heal *hs = d->heal;
  unsigned up, down;

  count_states(hs, &up, &down);
  json_object_object_add(rc, "tenants_healthy", json_object_new_int((int)up));
  json_object_object_add(rc, "tenants_unhealthy",
                         json_object_new_int((int)down));
  json_object_object_add(
      rc, "metric_writes",
      json_object_new_int64(hs ? (int64_t)hs->writes_ok : 0));
  json_object_object_add(
      rc, "metric_write_errors",
      json_object_new_int64(hs ? (int64_t)hs->writes_error : 0));
  return rc;
}

char *edv__heal_prometheus(edv__recon *d)
{
  edv__heal *hs = d->heal;
  char *b = NULL;
  size_t len = 0, cap = 0;
  unsigned up, down;
  uint64_t cum = 0;
  int bad = 0;

  count_states(hs, &up, &down);
  bad |=
      edv__recon_cat(&b, &len, &cap,
                     "# HELP edv_probes_total Health probes of tenants through "
                     "their hostname, by result.\n"
                     "# TYPE edv_probes_total counter\n");
  for (int i = 0; i < R__COUNT; i++)
    bad |= edv__recon_cat(
        &b, &len, &cap, "edv_probes_total{result=\"%s\"} %llu\n",
        result_names[i], (unsigned long long)(hs ? hs->results[i] : 0));
  bad |= edv__recon_cat(
      &b, &len, &cap,
      "# HELP edv_tenants_healthy READY tenants whose last probe "
      "was healthy.\n"
      "# TYPE edv_tenants_healthy gauge\nedv_tenants_healthy %u\n"
      "# HELP edv_tenants_unhealthy READY tenants whose last probe "
      "was not healthy.\n"
      "# TYPE edv_tenants_unhealthy gauge\nedv_tenants_unhealthy %u\n"
      "# HELP edv_probe_latency_seconds Time a probe took to get "
      "an HTTP answer.\n"
      "# TYPE edv_probe_latency_seconds histogram\n",
      up, down);
  for (size_t i = 0; i < NBOUNDS; i++) {
    cum += hs ? hs->lat_buckets[i] : 0;
    bad |= edv__recon_cat(&b, &len, &cap,
                          "edv_probe_latency_seconds_bucket{le=\"%g\"} %llu\n",
                          lat_bounds[i], (unsigned long long)cum);
  }
  bad |= edv__recon_cat(
      &b, &len, &cap,
      "edv_probe_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
      "edv_probe_latency_seconds_sum %.6f\n"
      "edv_probe_latency_seconds_count %llu\n"
      "# HELP edv_metric_writes_total timeSeries.create calls for "
      "the probe results, by result.\n"
      "# TYPE edv_metric_writes_total counter\n"
      "edv_metric_writes_total{result=\"ok\"} %llu\n"
      "edv_metric_writes_total{result=\"error\"} %llu\n"
      "# HELP edv_metric_points_total Probe result points, written "
      "or skipped (one point per series per 5 s).\n"
      "# TYPE edv_metric_points_total counter\n"
      "edv_metric_points_total{result=\"written\"} %llu\n"
      "edv_metric_points_total{result=\"skipped\"} %llu\n",
      (unsigned long long)(hs ? hs->lat_count : 0), hs ? hs->lat_sum_s : 0.0,
      (unsigned long long)(hs ? hs->lat_count : 0),
      (unsigned long long)(hs ? hs->writes_ok : 0),
      (unsigned long long)(hs ? hs->writes_error : 0),
      (unsigned long long)(hs ? hs->points_written : 0),
      (unsigned long long)(hs ? hs->points_skipped : 0));
  if (bad) {
    free(b);
    return NULL;
  }
  return b;
}
