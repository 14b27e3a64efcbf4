/*
 * test_metrics.c - the simulator's built-in metrics (src/sim/metrics_gen.c)
 * and what drives them (src/sim/usage.c): one tenant's stack (a VM with
 * the tenant's labels in an instance group behind a backend service, the
 * platform's URL map, proxy and forwarding rule, a Cloud SQL instance with
 * the tenant's user labels), the usage model, the metric faults over
 * intervals of the simulated clock and the data plane's answers, read back
 * through sim__metrics_generate() run on the simulator's loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"
#include "sim/metrics_gen.h"
#include "sim/sim_int.h"

#define CP     "/compute/v1/projects/edv-sim"
#define ZA     CP "/zones/us-central1-a"
#define MINUTE 60000

#define T_REQ   "loadbalancing.googleapis.com/https/request_count"
#define T_BL    "loadbalancing.googleapis.com/https/backend_latencies"
#define T_TL    "loadbalancing.googleapis.com/https/total_latencies"
#define T_CPU   "compute.googleapis.com/instance/cpu/utilization"
#define T_MEM   "agent.googleapis.com/memory/percent_used"
#define T_UP    "cloudsql.googleapis.com/database/up"
#define T_CONN  "cloudsql.googleapis.com/database/network/connections"
#define T_USERS "custom.googleapis.com/edvirons/active_users"

typedef struct gen_call {
  const char *type;
  int64_t start, end;
  json_object *out;
  int known;
} gen_call;

static void gen_on_loop(edv_sim *es, void *arg)
{
  gen_call *g = arg;

  g->out = json_object_new_array();
  g->known = sim__metrics_generate(edv__sim_core(es), g->type, g->start, g->end,
                                   0, g->out);
}

/* The series of type with points in (start, end]: a new array. */
static json_object *gen(simfx *f, const char *type, int64_t start, int64_t end)
{
  gen_call g = {type, start, end, NULL, 0};

  fx_on_loop(f, gen_on_loop, &g);
  assert_int_equal(g.known, 1);
  return g.out;
}

static int64_t now_ms(simfx *f)
{
  reply r;
  int64_t ms;

  http(f, "GET", "/_sim/clock", NULL, &r);
  expect_status(&r, 200);
  ms = json_object_get_int64(json_object_object_get(r.json, "ms"));
  reply_free(&r);
  return ms;
}

/* The series whose field at path1 is v1 (and path2 v2, unless NULL). */
static json_object *series(json_object *arr, const char *path1, const char *v1,
                           const char *path2, const char *v2)
{
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *ts = json_object_array_get_idx(arr, i);
    const char *a = jget(ts, path1), *b = path2 ? jget(ts, path2) : NULL;

    if (a && strcmp(a, v1) == 0 && (!path2 || (b && strcmp(b, v2) == 0)))
      return ts;
  }
  return NULL;
}

static int64_t pt_end(json_object *ts, size_t i)
{
  char path[64];

  snprintf(path, sizeof(path), "points.%zu.interval.endTime", i);
  return sim_time_parse(jget(ts, path));
}

static double pt_val(json_object *ts, size_t i)
{
  char path[64];
  const char *v;

  snprintf(path, sizeof(path), "points.%zu.value.int64Value", i);
  if ((v = jget(ts, path)) != NULL)
    return (double)atoll(v);
  snprintf(path, sizeof(path), "points.%zu.value.doubleValue", i);
  v = jget(ts, path);
  assert_non_null(v);
  return atof(v);
}

/* The count of ts's point ending at t, 0 when it has none. */
static long count_at(json_object *ts, int64_t t)
{
  for (size_t i = 0; ts && i < jlen(ts, "points"); i++)
    if (pt_end(ts, i) == t)
      return (long)pt_val(ts, i);
  return 0;
}

/* When the metric fault id began ("from") or ended ("to"), from the
 * history GET /_sim/faults lists. */
static int64_t fault_time(simfx *f, int id, const char *which)
{
  reply r;
  int64_t ms = 0;

  http(f, "GET", "/_sim/faults", NULL, &r);
  for (size_t i = 0; i < jlen(r.json, "history"); i++) {
    char path[64];

    snprintf(path, sizeof(path), "history.%zu.id", i);
    if (atoi(jget(r.json, path)) == id) {
      snprintf(path, sizeof(path), "history.%zu.%s", i, which);
      ms = jget(r.json, path) ? sim_time_parse(jget(r.json, path)) : 0;
    }
  }
  reply_free(&r);
  assert_true(ms > 0);
  return ms;
}

static int add_fault(simfx *f, const char *body, int64_t *from)
{
  reply r;
  int id;

  http(f, "POST", "/_sim/faults", body, &r);
  expect_status(&r, 200);
  id = json_object_get_int(json_object_object_get(r.json, "id"));
  reply_free(&r);
  *from = fault_time(f, id, "from");
  return id;
}

static int64_t del_fault(simfx *f, int id)
{
  reply r;

  httpf(f, "DELETE", NULL, &r, "/_sim/faults?id=%d", id);
  expect_status(&r, 200);
  reply_free(&r);
  return fault_time(f, id, "to");
}

static void post_ok(simfx *f, const char *path, const char *body)
{
  reply r;

  http(f, "POST", path, body, &r);
  expect_status(&r, 200);
  reply_free(&r);
}

/* A 400 whose message names field. */
static void post_bad(simfx *f, const char *path, const char *body,
                     const char *field)
{
  reply r;

  http(f, "POST", path, body, &r);
  expect_status(&r, 400);
  if (strncmp(jget(r.json, "error.message"), field, strlen(field)) != 0)
    fail_msg("%s: want a message naming %s, got %s", body, field, r.body);
  reply_free(&r);
}

/* Tenant s1: VM edv-s1-vm (labels edv-managed, edv-tenant) in edv-s1-ig
 * behind edv-s1-be, edv-urlmap, a target HTTPS proxy, edv-https-fr, an A
 * record s1.<domain>, and Cloud SQL edv-s1-db-1 labelled for s1. */
static void make_tenant(simfx *f)
{
  reply r;
  char body[1024], zone[128];

  call_done(f, "POST", CP "/global/networks",
            "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  call_done(f, "POST", CP "/regions/us-central1/subnetworks",
            "{\"name\":\"edv-s1\",\"network\":\"global/networks/edv-net\","
            "\"ipCidrRange\":\"10.20.0.0/28\"}");
  call_done(f, "POST", CP "/global/firewalls",
            "{\"name\":\"edv-hc\",\"network\":\"global/networks/edv-net\","
            "\"sourceRanges\":[\"35.191.0.0/16\",\"130.211.0.0/22\"],"
            "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"80\"]}]}");
  call_done(f, "POST", ZA "/instances",
            "{\"name\":\"edv-s1-vm\",\"machineType\":\"zones/us-central1-a/"
            "machineTypes/e2-small\",\"labels\":{\"edv-managed\":\"true\","
            "\"edv-tenant\":\"s1\"},\"disks\":[{\"boot\":true,\"autoDelete\":"
            "true,\"initializeParams\":{\"sourceImage\":\"projects/"
            "debian-cloud/global/images/family/debian-12\"}}],"
            "\"networkInterfaces\":[{\"subnetwork\":\"regions/us-central1/"
            "subnetworks/edv-s1\"}],\"metadata\":{\"items\":[{\"key\":"
            "\"startup-script\",\"value\":\"#!/bin/sh\"}]}}");
  call_done(f, "POST", ZA "/instanceGroups",
            "{\"name\":\"edv-s1-ig\",\"namedPorts\":[{\"name\":\"http\","
            "\"port\":80}]}");
  call_done(f, "POST", ZA "/instanceGroups/edv-s1-ig/addInstances",
            "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
            "edv-s1-vm\"}]}");
  call_done(f, "POST", CP "/global/healthChecks",
            "{\"name\":\"edv-http-hc\",\"type\":\"HTTP\",\"httpHealthCheck\":"
            "{\"port\":80,\"requestPath\":\"/health\"}}");
  call_done(f, "POST", CP "/global/backendServices",
            "{\"name\":\"edv-s1-be\",\"protocol\":\"HTTP\",\"portName\":"
            "\"http\",\"loadBalancingScheme\":\"EXTERNAL_MANAGED\","
            "\"healthChecks\":[\"global/healthChecks/edv-http-hc\"],"
            "\"backends\":[{\"group\":\"zones/us-central1-a/instanceGroups/"
            "edv-s1-ig\"}]}");
  call_done(f, "POST", CP "/global/urlMaps",
            "{\"name\":\"edv-urlmap\",\"defaultService\":\"global/"
            "backendServices/edv-s1-be\"}");
  call_done(f, "POST", CP "/global/targetHttpsProxies",
            "{\"name\":\"edv-https-proxy\",\"urlMap\":\"global/urlMaps/"
            "edv-urlmap\",\"sslCertificates\":[\"global/sslCertificates/"
            "edv-cert\"]}");
  call_done(f, "POST", CP "/global/forwardingRules",
            "{\"name\":\"edv-https-fr\",\"target\":\"global/"
            "targetHttpsProxies/edv-https-proxy\",\"portRange\":\"443\","
            "\"loadBalancingScheme\":\"EXTERNAL_MANAGED\"}");
  http(f, "GET", CP "/global/forwardingRules/edv-https-fr", NULL, &r);
  expect_status(&r, 200);
  snprintf(body, sizeof(body),
           "{\"additions\":[{\"name\":\"s1.edvirons.com.\",\"type\":\"A\","
           "\"ttl\":300,\"rrdatas\":[\"%s\"]}]}",
           jget(r.json, "IPAddress"));
  reply_free(&r);
  http(f, "GET", "/dns/v1/projects/edv-sim/managedZones", NULL, &r);
  snprintf(zone, sizeof(zone), "%s", jget(r.json, "managedZones.0.name"));
  reply_free(&r);
  httpf(f, "POST", body, &r, "/dns/v1/projects/edv-sim/managedZones/%s/changes",
        zone);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", "/v1/projects/edv-sim/instances",
       "{\"name\":\"edv-s1-db-1\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"us-central1\",\"settings\":{\"tier\":\"db-f1-micro\","
       "\"userLabels\":{\"edv-managed\":\"true\",\"edv-tenant\":\"s1\"}}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  assert_int_equal(advance(f, 900), 200); /* the database, the VM's boot */
}

/* A data-plane request to s1.<domain>: its status. */
static long get_s1(simfx *f)
{
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Host: s1.edvirons.com");
  char url[128];
  reply r;
  long status;

  memset(&r, 0, sizeof(r));
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/health", f->port);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  status = r.status;
  reply_free(&r);
  return status;
}

static void check_lb_labels(json_object *ts)
{
  static const char *const want[][2] = {
      {"project_id", "edv-sim"},
      {"region", "global"},
      {"url_map_name", "edv-urlmap"},
      {"forwarding_rule_name", "edv-https-fr"},
      {"target_proxy_name", "edv-https-proxy"},
      {"backend_target_name", "edv-s1-be"},
      {"backend_target_type", "BACKEND_SERVICE"},
      {"backend_name", "edv-s1-ig"},
      {"backend_type", "INSTANCE_GROUP"},
      {"backend_scope", "us-central1-a"},
      {"matched_url_path_rule", "UNMATCHED"}};
  char path[96];

  assert_jeq(ts, "resource.type", "https_lb_rule");
  assert_jeq(ts, "metricKind", "DELTA");
  assert_jeq(ts, "valueType", "INT64");
  assert_int_equal(json_object_object_length(json_object_object_get(
                       json_object_object_get(ts, "resource"), "labels")),
                   sizeof(want) / sizeof(*want));
  for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
    snprintf(path, sizeof(path), "resource.labels.%s", want[i][0]);
    assert_jeq(ts, path, want[i][1]);
  }
  assert_int_equal(json_object_object_length(json_object_object_get(
                       json_object_object_get(ts, "metric"), "labels")),
                   5);
  assert_jeq(ts, "metric.labels.cache_result", "DISABLED");
  assert_jeq(ts, "metric.labels.proxy_continent", "America");
  assert_non_null(jget(ts, "metric.labels.client_country"));
  assert_null(json_object_object_get(ts, "metadata"));
  /* DELTA: each point's interval is one step, newest first. */
  for (size_t i = 0; i < jlen(ts, "points"); i++) {
    char sp[64];

    snprintf(sp, sizeof(sp), "points.%zu.interval.startTime", i);
    assert_true(sim_time_parse(jget(ts, sp)) == pt_end(ts, i) - MINUTE);
    if (i)
      assert_true(pt_end(ts, i) < pt_end(ts, i - 1));
  }
}

/* The usage model and a backendErrors fault over an interval. */
static void test_requests_and_errors(void **state)
{
  simfx *f = fx_start("fast");
  json_object *arr, *ok, *err;
  int64_t t0, from, to, t1;
  int inside = 0, id;

  (void)state;
  make_tenant(f);
  post_ok(f, "/_sim/usage",
          "{\"backendService\":\"edv-s1-be\",\"users\":50,"
          "\"requestsPerUserMinute\":6}");
  t0 = now_ms(f);
  assert_int_equal(advance(f, 300), 200);
  id = add_fault(f, "{\"backendErrors\":\"edv-s1-be\",\"rate\":0.5}", &from);
  assert_int_equal(advance(f, 300), 200);
  to = del_fault(f, id);
  assert_int_equal(advance(f, 300), 200);
  t1 = now_ms(f);

  /* No traffic before the backend service existed (its VM was not
   * there to answer either: no 503s). */
  {
    reply r;
    int64_t created;

    http(f, "GET", CP "/global/backendServices/edv-s1-be", NULL, &r);
    created = sim_time_parse(jget(r.json, "creationTimestamp"));
    reply_free(&r);
    assert_true(created > 0);
    arr = gen(f, T_REQ, created - 30 * MINUTE, created);
    assert_int_equal(json_object_array_length(arr), 0);
    json_object_put(arr);
  }
  arr = gen(f, T_REQ, t0, t1);
  ok = series(arr, "metric.labels.response_code", "200", NULL, NULL);
  err = series(arr, "metric.labels.response_code", "500", NULL, NULL);
  assert_non_null(ok);
  assert_non_null(err);
  assert_null(series(arr, "metric.labels.response_code", "503", NULL, NULL));
  check_lb_labels(ok);
  check_lb_labels(err);
  assert_jeq(err, "metric.labels.response_code_class", "500");
  assert_jeq(ok, "metric.labels.response_code_class", "200");
  /* Every minute: 300 requests +-5%; the 500s exactly where the fault was
   * active, half of the minute's requests when it was all along. */
  assert_true(jlen(ok, "points") >= 14);
  for (int64_t t = t1 - t1 % MINUTE; t - MINUTE > t0; t -= MINUTE) {
    long c200 = count_at(ok, t), c500 = count_at(err, t);

    if (c200 + c500 < 285 || c200 + c500 > 315)
      fail_msg("minute ending %lld: %ld requests", (long long)t, c200 + c500);
    if (t <= from || t - MINUTE >= to) {
      assert_int_equal(c500, 0);
    } else {
      /* rate x the share of the minute the fault was active */
      int64_t a = from > t - MINUTE ? from : t - MINUTE, b = to < t ? to : t;
      double share = 0.5 * (double)(b - a) / (double)MINUTE;

      assert_int_equal(c500, (long)floor((double)(c200 + c500) * share));
      inside += b - a == MINUTE;
    }
  }
  assert_true(inside >= 3);
  /* Latencies: the same series, a distribution of the same count. */
  {
    json_object *bl = gen(f, T_BL, t0, t1), *tl = gen(f, T_TL, t0, t1);
    json_object *b =
        series(bl, "metric.labels.response_code", "200", NULL, NULL);
    json_object *tt =
        series(tl, "metric.labels.response_code", "200", NULL, NULL);
    const char *cnt, *mean;
    size_t nb;

    assert_non_null(b);
    assert_non_null(tt);
    assert_jeq(b, "valueType", "DISTRIBUTION");
    assert_jeq(b, "resource.labels.backend_name", "edv-s1-ig");
    assert_jeq(b,
               "points.0.value.distributionValue.bucketOptions."
               "exponentialBuckets.numFiniteBuckets",
               "66");
    cnt = jget(b, "points.0.value.distributionValue.count");
    assert_non_null(cnt);
    assert_int_equal(atol(cnt), count_at(ok, pt_end(b, 0)));
    nb = jlen(b, "points.0.value.distributionValue.bucketCounts");
    {
      char path[96];

      snprintf(path, sizeof(path),
               "points.0.value.distributionValue.bucketCounts.%zu", nb - 1);
      assert_jeq(b, path, cnt);
    }
    /* CPU about 0.49: 30 ms x (1 + 4 x 0.24) */
    mean = jget(b, "points.0.value.distributionValue.mean");
    assert_true(atof(mean) > 50 && atof(mean) < 65);
    assert_true(atof(jget(tt, "points.0.value.distributionValue.mean")) >=
                atof(mean) + 3);
    json_object_put(bl);
    json_object_put(tl);
  }
  /* Deterministic: the same query, the same answer. */
  {
    json_object *again = gen(f, T_REQ, t0, t1);

    assert_string_equal(json_object_to_json_string(arr),
                        json_object_to_json_string(again));
    json_object_put(again);
  }
  json_object_put(arr);
  /* Not a built-in type: the caller looks in the written series. */
  {
    gen_call g = {"custom.googleapis.com/edvirons/tenant_up", t0, t1, NULL, 0};

    fx_on_loop(f, gen_on_loop, &g);
    assert_int_equal(g.known, 0);
    assert_int_equal(json_object_array_length(g.out), 0);
    json_object_put(g.out);
  }
  fx_free(f);
}

/* The data plane: a backendErrors fault answers that share of real
 * requests 500, and every answer is counted. */
static void test_dataplane_counts(void **state)
{
  simfx *f = fx_start("fast");
  json_object *arr;
  long codes[2] = {0, 0};
  int64_t t0, from;
  int id;

  (void)state;
  make_tenant(f);
  post_ok(f, "/_sim/usage",
          "{\"backendService\":\"edv-s1-be\",\"pattern\":\"none\"}");
  t0 = now_ms(f);
  id = add_fault(f, "{\"backendErrors\":\"edv-s1-be\",\"rate\":0.5}", &from);
  for (int i = 0; i < 6; i++) {
    long st = get_s1(f);

    if (st != 200 && st != 500)
      fail_msg("data plane answered %ld", st);
    codes[st == 500]++;
  }
  assert_int_equal(codes[0], 3);
  assert_int_equal(codes[1], 3);
  del_fault(f, id);
  assert_int_equal(get_s1(f), 200);
  /* Not before the minute is over. */
  arr = gen(f, T_REQ, t0 - 2 * MINUTE, t0 + 3 * MINUTE);
  for (size_t i = 0; i < json_object_array_length(arr); i++)
    assert_true(pt_end(json_object_array_get_idx(arr, i), 0) <= now_ms(f));
  json_object_put(arr);
  assert_int_equal(advance(f, 60), 200);
  arr = gen(f, T_REQ, t0 - 2 * MINUTE, t0 + 3 * MINUTE);
  {
    json_object *ok =
        series(arr, "metric.labels.response_code", "200", NULL, NULL);
    json_object *err =
        series(arr, "metric.labels.response_code", "500", NULL, NULL);
    long n200 = 0, n500 = 0;

    assert_non_null(ok);
    assert_non_null(err);
    for (size_t i = 0; i < jlen(ok, "points"); i++)
      n200 += (long)pt_val(ok, i);
    for (size_t i = 0; i < jlen(err, "points"); i++)
      n500 += (long)pt_val(err, i);
    assert_int_equal(n200, 4); /* the model has no traffic ("none") */
    assert_int_equal(n500, 3);
  }
  json_object_put(arr);
  /* No active users either. */
  arr = gen(f, T_USERS, t0 - MINUTE, t0 + MINUTE);
  assert_int_equal(json_object_array_length(arr), 1);
  for (size_t i = 0; i < jlen(json_object_array_get_idx(arr, 0), "points"); i++)
    assert_int_equal(pt_val(json_object_array_get_idx(arr, 0), i), 0);
  json_object_put(arr);
  fx_free(f);
}

/* Cloud SQL under sqlDown; the VM under vmLoad, then stopped; active
 * users. */
static void test_sql_and_vm(void **state)
{
  simfx *f = fx_start("fast");
  json_object *arr, *ts;
  int64_t t0, from, to, t1, stop;
  reply r;
  char vm_id[32];
  int id, down = 0;

  (void)state;
  make_tenant(f);
  post_ok(f, "/_sim/usage", "{\"backendService\":\"edv-s1-be\",\"users\":50}");
  t0 = now_ms(f);
  assert_int_equal(advance(f, 180), 200);
  id = add_fault(f, "{\"sqlDown\":\"edv-s1-db-1\"}", &from);
  assert_int_equal(advance(f, 240), 200);
  to = del_fault(f, id);
  assert_int_equal(advance(f, 180), 200);
  t1 = now_ms(f);
  arr = gen(f, T_UP, t0, t1);
  assert_int_equal(json_object_array_length(arr), 1);
  ts = json_object_array_get_idx(arr, 0);
  assert_jeq(ts, "resource.type", "cloudsql_database");
  assert_jeq(ts, "resource.labels.database_id", "edv-sim:edv-s1-db-1");
  assert_jeq(ts, "resource.labels.region", "us-central1");
  assert_jeq(ts, "resource.labels.project_id", "edv-sim");
  assert_jeq(ts, "metadata.userLabels.edv-tenant", "s1");
  assert_jeq(ts, "metricKind", "GAUGE");
  assert_int_equal(json_object_object_length(json_object_object_get(
                       json_object_object_get(ts, "metric"), "labels")),
                   0);
  assert_true(jlen(ts, "points") >= 9);
  for (size_t i = 0; i < jlen(ts, "points"); i++) {
    int64_t t = pt_end(ts, i);
    int want = !(t >= from && t < to);

    assert_int_equal((int)pt_val(ts, i), want);
    down += !want;
  }
  assert_true(down >= 3);
  json_object_put(arr);
  arr = gen(f, T_CONN, t0, t1);
  ts = json_object_array_get_idx(arr, 0);
  for (size_t i = 0; i < jlen(ts, "points"); i++) {
    int64_t t = pt_end(ts, i);

    assert_int_equal((int)pt_val(ts, i), t >= from && t < to ? 0 : 25);
  }
  json_object_put(arr);

  /* vmLoad holds CPU and memory; the model's CPU otherwise (300 requests
   * a minute: about 0.49). */
  t0 = now_ms(f);
  id = add_fault(f, "{\"vmLoad\":\"edv-s1-vm\",\"cpu\":0.97,\"memory\":88}",
                 &from);
  assert_int_equal(advance(f, 240), 200);
  to = del_fault(f, id);
  assert_int_equal(advance(f, 120), 200);
  t1 = now_ms(f);
  http(f, "GET", ZA "/instances/edv-s1-vm", NULL, &r);
  snprintf(vm_id, sizeof(vm_id), "%s", jget(r.json, "id"));
  reply_free(&r);
  arr = gen(f, T_CPU, t0, t1);
  assert_int_equal(json_object_array_length(arr), 1);
  ts = json_object_array_get_idx(arr, 0);
  assert_jeq(ts, "resource.type", "gce_instance");
  assert_jeq(ts, "resource.labels.instance_id", vm_id);
  assert_jeq(ts, "resource.labels.zone", "us-central1-a");
  assert_jeq(ts, "metric.labels.instance_name", "edv-s1-vm");
  assert_jeq(ts, "metadata.userLabels.edv-tenant", "s1");
  assert_jeq(ts, "metadata.userLabels.edv-managed", "true");
  assert_jeq(ts, "valueType", "DOUBLE");
  for (size_t i = 0; i < jlen(ts, "points"); i++) {
    int64_t t = pt_end(ts, i);
    double v = pt_val(ts, i);

    if (t >= from && t < to) {
      if (v != 0.97)
        fail_msg("cpu %f at %lld under vmLoad", v, (long long)t);
    } else if (v < 0.45 || v > 0.55)
      fail_msg("cpu %f at %lld", v, (long long)t);
  }
  json_object_put(arr);
  arr = gen(f, T_MEM, t0, t1);
  assert_int_equal(json_object_array_length(arr), 5);
  ts = series(arr, "metric.labels.state", "used", NULL, NULL);
  assert_non_null(ts);
  for (size_t i = 0; i < jlen(ts, "points"); i++) {
    int64_t t = pt_end(ts, i);

    if (t >= from && t < to)
      assert_true(pt_val(ts, i) == 88);
  }
  json_object_put(arr);
  arr = gen(f, T_USERS, t0, t1);
  assert_int_equal(json_object_array_length(arr), 1);
  ts = json_object_array_get_idx(arr, 0);
  assert_jeq(ts, "metric.labels.edv_tenant", "s1");
  assert_true(jlen(ts, "points") >= 5);
  for (size_t i = 0; i < jlen(ts, "points"); i++)
    assert_int_equal(pt_val(ts, i), 50);
  json_object_put(arr);

  /* Stopped: no CPU point after the stop; every request a 503. */
  call_done(f, "POST", ZA "/instances/edv-s1-vm/stop", NULL);
  stop = now_ms(f);
  assert_int_equal(advance(f, 300), 200);
  t1 = now_ms(f);
  arr = gen(f, T_CPU, stop, t1);
  assert_int_equal(json_object_array_length(arr), 0);
  json_object_put(arr);
  arr = gen(f, T_CPU, t0, t1);
  ts = json_object_array_get_idx(arr, 0);
  assert_non_null(ts);
  assert_true(pt_end(ts, 0) <= stop);
  json_object_put(arr);
  arr = gen(f, T_REQ, stop + MINUTE, t1);
  assert_non_null(
      series(arr, "metric.labels.response_code", "503", NULL, NULL));
  assert_null(series(arr, "metric.labels.response_code", "200", NULL, NULL));
  json_object_put(arr);
  fx_free(f);
}

typedef struct usage_call {
  int64_t t;
  double users;
} usage_call;

static void usage_on_loop(edv_sim *es, void *arg)
{
  usage_call *u = arg;

  u->users =
      sim__usage_at(edv__sim_core(es), "edv-s1-be", (uint64_t)u->t).users;
}

static double users_at(simfx *f, const char *when)
{
  usage_call u = {sim_time_parse(when), -1};

  fx_on_loop(f, usage_on_loop, &u);
  return u.users;
}

/* The admin routes: validation naming the field, the school pattern. */
static void test_usage_and_fault_validation(void **state)
{
  simfx *f = fx_start("fast");
  reply r;

  (void)state;
  http(f, "GET", "/_sim/usage", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "usage.0.backendService", "*");
  assert_jeq(r.json, "usage.0.users", "20");
  assert_jeq(r.json, "usage.0.pattern", "flat");
  reply_free(&r);
  post_bad(f, "/_sim/usage", "{\"users\":3}", "backendService");
  post_bad(f, "/_sim/usage", "{\"backendService\":\"Bad_Name\"}",
           "backendService");
  post_bad(f, "/_sim/usage", "{\"backendService\":\"*\",\"users\":-1}",
           "users");
  post_bad(f, "/_sim/usage", "{\"backendService\":\"*\",\"users\":1.5}",
           "users");
  post_bad(f, "/_sim/usage", "{\"backendService\":\"*\",\"pattern\":\"x\"}",
           "pattern");
  post_bad(f, "/_sim/usage",
           "{\"backendService\":\"*\",\"utcOffsetMinutes\":9999}",
           "utcOffsetMinutes");
  post_bad(f, "/_sim/usage", "{\"backendService\":\"*\",\"userz\":1}", "userz");
  post_bad(f, "/_sim/faults", "{\"backendErrors\":\"edv-s1-be\"}", "rate");
  post_bad(f, "/_sim/faults", "{\"backendErrors\":\"edv-s1-be\",\"rate\":2}",
           "rate");
  post_bad(f, "/_sim/faults", "{\"sqlDown\":7}", "sqlDown");
  post_bad(f, "/_sim/faults", "{\"vmLoad\":\"edv-s1-vm\"}", "cpu");
  post_bad(f, "/_sim/faults", "{\"vmLoad\":\"edv-s1-vm\",\"memory\":101}",
           "memory");
  post_bad(f, "/_sim/faults", "{\"sqlDown\":\"a\",\"cpu\":0.5}", "cpu");
  post_bad(f, "/_sim/faults", "{\"appDown\":\"a\",\"sqlDown\":\"b\"}",
           "appDown");
  /* Nothing half-added. */
  http(f, "GET", "/_sim/faults", NULL, &r);
  assert_int_equal(jlen(r.json, "faults"), 0);
  assert_int_equal(jlen(r.json, "history"), 0);
  reply_free(&r);

  /* school: weekdays 07:00-16:00 local (UTC+3 here), 2% otherwise. */
  post_ok(f, "/_sim/usage",
          "{\"backendService\":\"edv-s1-be\",\"users\":400,\"pattern\":"
          "\"school\",\"utcOffsetMinutes\":180}");
  assert_true(users_at(f, "2026-12-07T05:00:00Z") == 400); /* Mon 08:00 */
  assert_true(users_at(f, "2026-12-07T03:59:00Z") == 8);   /* 06:59 */
  assert_true(users_at(f, "2026-12-07T13:00:00Z") == 8);   /* 16:00 */
  assert_true(users_at(f, "2026-12-05T08:00:00Z") == 8);   /* Saturday */
  assert_true(users_at(f, "2026-12-04T20:59:00Z") == 8);   /* Fri 23:59 */
  /* "*" resets every backend service to one setting. */
  post_ok(f, "/_sim/usage", "{\"backendService\":\"*\",\"users\":7}");
  assert_true(users_at(f, "2026-12-07T05:00:00Z") == 7);
  http(f, "GET", "/_sim/usage", NULL, &r);
  assert_int_equal(jlen(r.json, "usage"), 1);
  reply_free(&r);
  /* Saved in the state file: a restart keeps it. */
  post_ok(f, "/_sim/usage",
          "{\"backendService\":\"edv-s2-be\",\"users\":9,\"pattern\":"
          "\"none\"}");
  {
    char dir[64];

    snprintf(dir, sizeof(dir), "%s", f->dir);
    fx_stop(f, 1);
    f = fx_start_in("fast", dir);
  }
  http(f, "GET", "/_sim/usage", NULL, &r);
  assert_int_equal(jlen(r.json, "usage"), 2);
  assert_jeq(r.json, "usage.0.users", "7");
  assert_jeq(r.json, "usage.1.backendService", "edv-s2-be");
  assert_jeq(r.json, "usage.1.pattern", "none");
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_usage_and_fault_validation),
      cmocka_unit_test(test_requests_and_errors),
      cmocka_unit_test(test_dataplane_counts),
      cmocka_unit_test(test_sql_and_vm),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests_name("sim-metrics", tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
