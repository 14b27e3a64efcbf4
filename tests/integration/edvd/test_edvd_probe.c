/*
 * test_edvd_probe.c - edvd's health probes through each tenant's hostname
 * (the embedded simulator's data plane), their results as Cloud
 * Monitoring custom metrics (metric label edv_tenant), and auto-healing on
 * them.
 *
 * Two tenants are created through the API. Then: both have tenant_up
 * points in the simulator's Monitoring, every timeSeries.create carries a
 * whole round (one call per round) and none is refused; a VM forced
 * unhealthy answers 503 through the data plane, is reset after heal_after
 * probes (journalled heal.reset), then after heal_max_per_hour resets is
 * reported degraded (heal.degraded) and reset no more; cleared, it is
 * healthy again (tenant_up 1); unhealthy again within the hour (flapping),
 * it is reported degraded again and still not reset. The harness's config
 * probes every second, heals after 2 probes and allows 2 resets an hour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

#define UP "custom.googleapis.com/edvirons/tenant_up"

static char domain[128];

/* GET /health of a tenant through the simulator's data plane. */
static resp *dataplane(const char *id)
{
  char host[300];

  snprintf(host, sizeof(host), "Host: %s.%s", id, domain);
  return http("GET", sim_base, "/health", NULL, NULL, host);
}

/* The newest tenant_up point of a tenant in the simulator: its value
 * ("1"/"0") into val, and the number of points; 0 when none. */
static int newest_up(const char *id, char *val, size_t n)
{
  resp *r = http("GET", sim_base, "/_sim/state?kind=monitoring.timeSeries",
                 NULL, NULL, NULL);
  json_object *arr;
  int count = 0;

  val[0] = '\0';
  assert_int_equal(r->status, 200);
  arr = json_object_object_get(r->json, "resources");
  for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
    json_object *o =
        json_object_object_get(json_object_array_get_idx(arr, i), "resource");
    const char *type, *tenant;
    json_object *pts;

    type = jstr(o, "metric.type");
    tenant = jstr(o, "metric.labels.edv_tenant");
    if (!type || !tenant || strcmp(type, UP) != 0 || strcmp(tenant, id) != 0)
      continue;
    /* Only the global monitored resource with the project, as written. */
    assert_string_equal(jstr(o, "resource.type"), "global");
    assert_non_null(jstr(o, "resource.labels.project_id"));
    assert_string_equal(jstr(o, "valueType"), "INT64");
    pts = json_object_object_get(o, "points");
    count = (int)json_object_array_length(pts);
    if (count)
      snprintf(val, n, "%s",
               jstr(json_object_array_get_idx(pts, 0), "value.int64Value"));
  }
  resp_free(r);
  return count;
}

/* A counter or gauge of /metrics (the first line starting with name). */
static double metric(const char *name)
{
  resp *r = call("GET", "/metrics", "/metrics", tok_view, NULL, NULL, 200);
  const char *p = r->body;
  double v = -1;
  size_t n = strlen(name);

  while ((p = strstr(p, name)) != NULL) {
    if ((p == r->body || p[-1] == '\n') && p[n] == ' ') {
      v = strtod(p + n + 1, NULL);
      break;
    }
    p += n;
  }
  resp_free(r);
  if (v < 0)
    fail_msg("/metrics has no %s", name);
  return v;
}

/* timeSeries.create calls in the simulator's request log, and how many of
 * them were refused. */
static int writes_logged(int *refused)
{
  resp *r = http("GET", sim_base, "/_sim/requests", NULL, NULL, NULL);
  json_object *arr = json_object_object_get(r->json, "requests");
  int n = 0;

  *refused = 0;
  for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *m = jstr(e, "methodId");

    if (m && strcmp(m, "monitoring.projects.timeSeries.create") == 0) {
      n++;
      if (json_object_get_int(json_object_object_get(e, "status")) != 200)
        (*refused)++;
    }
  }
  resp_free(r);
  return n;
}

/* Resets of a VM recorded by the simulator's health model. */
static long resets_of(const char *vm)
{
  resp *r = http("GET", sim_base, "/_sim/health/instances", NULL, NULL, NULL);
  json_object *arr = json_object_object_get(r->json, "instances");
  long resets = -1;

  for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *n = jstr(e, "instance");

    if (n && strlen(n) >= strlen(vm) &&
        strcmp(n + strlen(n) - strlen(vm), vm) == 0)
      resets = json_object_get_int64(json_object_object_get(e, "resets"));
  }
  resp_free(r);
  return resets;
}

static int events_have(const char *id, const char *event)
{
  char path[200], want[100];
  resp *r;
  int hit;

  snprintf(path, sizeof(path), "/api/tenants/%s/events?limit=1000", id);
  snprintf(want, sizeof(want), "\"event\":\"%s\"", event);
  r = call("GET", path, "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  hit = strstr(r->body, want) != NULL;
  resp_free(r);
  return hit;
}

static void test_create(void **state)
{
  char b[512];
  resp *r;
  const char *url;

  (void)state;
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "probe1", "probe1", "Probe One", "basic"),
                 NULL, 202));
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "probe2", "probe2", "Probe Two", "basic"),
                 NULL, 202));
  wait_phase("probe1", "READY", 90);
  wait_phase("probe2", "READY", 90);
  r = call("GET", "/api/tenants/probe1", "/api/tenants/{id}", tok_view, NULL,
           NULL, 200);
  url = jstr(r->json, "url");
  assert_non_null(url);
  assert_true(strncmp(url, "https://probe1.", 15) == 0);
  snprintf(domain, sizeof(domain), "%s", url + 15);
  resp_free(r);
}

static void test_dataplane(void **state)
{
  resp *r;

  (void)state;
  r = dataplane("probe1");
  assert_int_equal(r->status, 200);
  assert_string_equal(jstr(r->json, "instance"), "edv-probe1-vm");
  resp_free(r);
  /* The API is untouched when Host is the simulator's own address. */
  r = http("GET", sim_base, "/_sim/health", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
}

static void test_metrics_written(void **state)
{
  char v1[8], v2[8];
  double w0, p0, w1, p1;
  int ok = 0, refused, logged;

  (void)state;
  for (int i = 0; i < 200 && !ok; i++) {
    ok = newest_up("probe1", v1, sizeof(v1)) > 0 &&
         newest_up("probe2", v2, sizeof(v2)) > 0 && strcmp(v1, "1") == 0 &&
         strcmp(v2, "1") == 0;
    if (!ok)
      sleep_ms(100);
  }
  if (!ok)
    fail_msg("no tenant_up 1 point for both tenants (%s, %s)", v1, v2);
  /* Over two write periods (5 s sampling): every call carries both
   * tenants' two series, i.e. one call per round. */
  w0 = metric("edv_metric_writes_total{result=\"ok\"}");
  p0 = metric("edv_metric_points_total{result=\"written\"}");
  sleep_ms(11000);
  w1 = metric("edv_metric_writes_total{result=\"ok\"}");
  p1 = metric("edv_metric_points_total{result=\"written\"}");
  assert_true(w1 - w0 >= 2);
  assert_true(p1 - p0 == 4 * (w1 - w0));
  assert_true(metric("edv_metric_points_total{result=\"skipped\"}") > 0);
  assert_true(metric("edv_metric_writes_total{result=\"error\"}") == 0);
  /* edvd's count is the simulator's, and none was refused (sampling). */
  logged = writes_logged(&refused);
  assert_int_equal(refused, 0);
  assert_true(logged == (int)metric("edv_metric_writes_total{result=\"ok\"}"));
  assert_true(metric("edv_probes_total{result=\"healthy\"}") > 0);
  assert_true(metric("edv_tenants_healthy") == 2);
  assert_true(metric("edv_probe_latency_seconds_count") > 0);
  printf("# probes: %.0f, mean latency %.2f ms; writes %d, points/write "
         "%.1f\n",
         metric("edv_probe_latency_seconds_count"),
         1e3 * metric("edv_probe_latency_seconds_sum") /
             metric("edv_probe_latency_seconds_count"),
         logged, (p1 - p0) / (w1 - w0));
}

static void test_heal(void **state)
{
  resp *r;
  char v[8];
  int degraded = 0, ok = 0;

  (void)state;
  r = http("POST", sim_base, "/_sim/faults", NULL,
           "{\"unhealthy\":\"edv-probe2-vm\"}", NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
  r = dataplane("probe2");
  assert_int_equal(r->status, 503);
  assert_string_equal(r->body, "no healthy upstream");
  resp_free(r);
  for (int i = 0; i < 300 && !degraded; i++) {
    degraded = events_have("probe2", "heal.degraded");
    if (!degraded)
      sleep_ms(100);
  }
  assert_true(degraded);
  assert_true(events_have("probe2", "heal.reset"));
  assert_false(events_have("probe1", "heal.reset"));
  assert_int_equal(resets_of("edv-probe2-vm"), 2);
  sleep_ms(3000); /* three more probes: no more resets past the limit */
  assert_int_equal(resets_of("edv-probe2-vm"), 2);
  assert_int_equal(resets_of("edv-probe1-vm"), 0);
  assert_true(metric("edv_heal_resets_total") == 2);
  assert_true(metric("edv_heal_degraded_total") == 1);
  assert_true(metric("edv_probes_total{result=\"unhealthy\"}") >= 6);
  assert_true(metric("edv_tenants_unhealthy") == 1);
  /* tenant_up 0 reaches Monitoring within a sampling period. */
  for (int i = 0; i < 100 && !ok; i++) {
    ok = newest_up("probe2", v, sizeof(v)) > 0 && strcmp(v, "0") == 0;
    if (!ok)
      sleep_ms(100);
  }
  assert_true(ok);
  r = http("DELETE", sim_base, "/_sim/faults", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
  r = dataplane("probe2");
  assert_int_equal(r->status, 200);
  resp_free(r);
  ok = 0;
  for (int i = 0; i < 150 && !ok; i++) {
    ok = newest_up("probe2", v, sizeof(v)) > 0 && strcmp(v, "1") == 0;
    if (!ok)
      sleep_ms(100);
  }
  assert_true(ok);
  assert_true(metric("edv_tenants_healthy") == 2);
}

/* Flapping: unhealthy again within the hour after the budget was spent:
 * reported degraded again at once, never reset again. */
static void test_flapping(void **state)
{
  resp *r;
  int again = 0;

  (void)state;
  r = http("POST", sim_base, "/_sim/faults", NULL,
           "{\"unhealthy\":\"edv-probe2-vm\"}", NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
  for (int i = 0; i < 150 && !again; i++) {
    again = metric("edv_heal_degraded_total") == 2;
    if (!again)
      sleep_ms(100);
  }
  assert_true(again);
  sleep_ms(2500);
  assert_int_equal(resets_of("edv-probe2-vm"), 2);
  assert_true(metric("edv_heal_resets_total") == 2);
  r = http("DELETE", sim_base, "/_sim/faults", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create),          cmocka_unit_test(test_dataplane),
      cmocka_unit_test(test_metrics_written), cmocka_unit_test(test_heal),
      cmocka_unit_test(test_flapping),
  };

  return EH_MAIN("edvd-probe", tests, NULL, "server.probe_timeout_s = 5\n");
}
