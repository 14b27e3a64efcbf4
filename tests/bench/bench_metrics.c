/*
 * bench_metrics.c - the cost of the simulator's built-in metrics over a
 * crafted fleet of N tenants as the tenant plan makes them (a RUNNING VM
 * with the tenant's labels in an instance group behind a backend service,
 * one path matcher each in the platform's URL map, a Cloud SQL instance
 * with the tenant's user labels): prints, per metric type, the time of
 * one sim__metrics_generate() over the last M minutes (M points a
 * series), and the series and points it made.
 *
 *   bench-metrics [N [M]]   (default 1000 tenants, 60 minutes)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "sim/metrics_gen.h"
#include "sim/sim_int.h"

#define P  "projects/edv-sim"
#define CU "https://www.googleapis.com/compute/v1/" P

static void put(sim *s, const char *name, const char *kind, const char *json)
{
  json_object *o = json_tokener_parse(json);

  if (o == NULL || sim_store_put(s, name, kind, o) != 0) {
    fprintf(stderr, "bad resource %s: %s\n", name, json);
    exit(1);
  }
}

static void fleet(sim *s, unsigned n, uint64_t now)
{
  json_object *map = json_object_new_object(), *pms = json_object_new_array();
  json_object *hrs = json_object_new_array();
  char name[256], b[2048];

  put(s, P "/global/firewalls/edv-allow-hc", "compute#firewall",
      "{\"name\":\"edv-allow-hc\",\"network\":\"" CU
      "/global/networks/edv-tenants\",\"direction\":\"INGRESS\","
      "\"priority\":1000,\"sourceRanges\":[\"35.191.0.0/16\","
      "\"130.211.0.0/22\"],\"allowed\":[{\"IPProtocol\":\"tcp\"}]}");
  for (unsigned i = 0; i < n; i++) {
    snprintf(name, sizeof(name), P "/zones/us-central1-a/instances/edv-t%u-vm",
             i);
    snprintf(b, sizeof(b),
             "{\"kind\":\"compute#instance\",\"name\":\"edv-t%u-vm\","
             "\"id\":\"%u\",\"zone\":\"" CU "/zones/us-central1-a\","
             "\"creationTimestamp\":\"2026-01-01T00:00:00.000Z\","
             "\"labels\":{\"edv-managed\":\"true\",\"edv-tenant\":\"t%u\"},"
             "\"networkInterfaces\":[{\"network\":\"" CU
             "/global/networks/edv-tenants\",\"networkIP\":\"10.64.0.2\"}],"
             "\"metadata\":{\"items\":[{\"key\":\"startup-script\","
             "\"value\":\"#!/bin/sh\"}]},\"_sim\":{\"phase\":\"running\","
             "\"startMs\":%llu,\"bootMs\":0}}",
             i, 1000000 + i, i, (unsigned long long)(now - 86400000ULL));
    put(s, name, "compute#instance", b);
    snprintf(name, sizeof(name),
             P "/zones/us-central1-a/instanceGroups/edv-t%u-ig", i);
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-ig\",\"zone\":\"" CU
             "/zones/us-central1-a\",\"namedPorts\":[{\"name\":\"http\","
             "\"port\":80}],\"_sim\":{\"members\":[\"" P
             "/zones/us-central1-a/instances/edv-t%u-vm\"]}}",
             i, i);
    put(s, name, "compute#instanceGroup", b);
    snprintf(name, sizeof(name), P "/global/backendServices/edv-t%u-be", i);
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-be\",\"loadBalancingScheme\":"
             "\"EXTERNAL_MANAGED\",\"portName\":\"http\",\"backends\":[{"
             "\"group\":\"" CU "/zones/us-central1-a/instanceGroups/"
             "edv-t%u-ig\"}]}",
             i, i);
    put(s, name, "compute#backendService", b);
    snprintf(name, sizeof(name), P "/instances/edv-t%u-db-1", i);
    snprintf(b, sizeof(b),
             "{\"kind\":\"sql#instance\",\"name\":\"edv-t%u-db-1\","
             "\"state\":\"RUNNABLE\",\"region\":\"us-central1\","
             "\"createTime\":\"2026-01-01T00:00:00.000Z\",\"settings\":{"
             "\"userLabels\":{\"edv-managed\":\"true\",\"edv-tenant\":"
             "\"t%u\"}}}",
             i, i);
    put(s, name, "sql#instance", b);
    snprintf(b, sizeof(b),
             "{\"name\":\"t%u\",\"defaultService\":\"" CU
             "/global/backendServices/edv-t%u-be\"}",
             i, i);
    json_object_array_add(pms, json_tokener_parse(b));
    snprintf(b, sizeof(b),
             "{\"hosts\":[\"t%u.edvirons.com\"],\"pathMatcher\":\"t%u\"}", i,
             i);
    json_object_array_add(hrs, json_tokener_parse(b));
  }
  json_object_object_add(map, "name", json_object_new_string("edv-urlmap"));
  json_object_object_add(map, "hostRules", hrs);
  json_object_object_add(map, "pathMatchers", pms);
  sim_store_put(s, P "/global/urlMaps/edv-urlmap", "compute#urlMap", map);
  put(s, P "/global/targetHttpsProxies/edv-https-proxy",
      "compute#targetHttpsProxy",
      "{\"name\":\"edv-https-proxy\",\"urlMap\":\"" CU
      "/global/urlMaps/edv-urlmap\"}");
  put(s, P "/global/forwardingRules/edv-https-fr", "compute#forwardingRule",
      "{\"name\":\"edv-https-fr\",\"IPAddress\":\"203.0.113.5\","
      "\"portRange\":\"443-443\",\"target\":\"" CU
      "/global/targetHttpsProxies/edv-https-proxy\"}");
}

static double ms_since(const struct timespec *t0)
{
  struct timespec t1;

  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
         (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void closed(void *data)
{
  (void)data;
}

int main(int argc, char **argv)
{
  static const char *const types[] = {
      "loadbalancing.googleapis.com/https/request_count",
      "loadbalancing.googleapis.com/https/backend_latencies",
      "compute.googleapis.com/instance/cpu/utilization",
      "agent.googleapis.com/memory/percent_used",
      "custom.googleapis.com/edvirons/active_users",
      "cloudsql.googleapis.com/database/up",
      "cloudsql.googleapis.com/database/network/connections",
      "cloudsql.googleapis.com/database/cpu/utilization"};
  unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
  int64_t minutes = argc > 2 ? strtoll(argv[2], NULL, 10) : 60;
  uv_loop_t loop;
  sim_options o;
  edv_error err;
  sim *s;
  uint64_t now;

  uv_loop_init(&loop);
  memset(&o, 0, sizeof(o));
  o.seed = 7;
  o.no_auth = 1;
  s = sim_new(&loop, &o, &err);
  if (s == NULL) {
    fprintf(stderr, "sim_new: %s\n", err.message);
    return 1;
  }
  now = sim_now_ms(s);
  fleet(s, n, now);
  printf("%u tenants, %lld minutes (a point each)\n", n, (long long)minutes);
  for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
    json_object *out = json_object_new_array();
    struct timespec t0;
    size_t points = 0;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    sim__metrics_generate(s, types[i], (int64_t)now - minutes * 60000,
                          (int64_t)now, 0, out);
    ms = ms_since(&t0);
    for (size_t j = 0; j < json_object_array_length(out); j++)
      points += json_object_array_length(
          json_object_object_get(json_object_array_get_idx(out, j), "points"));
    printf("%-55s %8.1f ms  %6zu series  %7zu points\n", types[i], ms,
           json_object_array_length(out), points);
    json_object_put(out);
  }
  sim_close(s, closed, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}
