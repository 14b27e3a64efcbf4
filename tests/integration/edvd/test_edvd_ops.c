/*
 * test_edvd_ops.c - edvd's day-2 routes end to end (edvd --sim, see
 * edvd_harness.h): on-demand backups and their list, restores (with tenant
 * isolation of backup ids), per-tenant metrics from Cloud Monitoring, and
 * capacity planning. Every answer is validated against docs/openapi.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

/* Two READY tenants shared by the tests (made by setup). */
static const char *const T1 = "ops01", *const T2 = "ops02";

/* Waits up to secs for an event `event` whose detail holds `must` in the
 * journal of tenant `id`; its detail and error into the buffers. */
static int wait_event(const char *id, const char *event, const char *must,
                      int secs, char *detail, size_t dsize, char *error,
                      size_t esize)
{
  char path[200];

  for (int t = 0; t < secs * 10; t++) {
    resp *r;
    json_object *evs;
    int found = 0;
    snprintf(path, sizeof(path), "/api/tenants/%s/events?limit=1000", id);
    r = call("GET", path, "/api/tenants/{id}/events", tok_view, NULL, NULL,
             200);
    evs = json_object_object_get(r->json, "events");
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
      json_object *e = json_object_array_get_idx(evs, i);
      const char *d = jstr(e, "detail"), *er = jstr(e, "error");
      if (strcmp(jstr(e, "event"), event) != 0 || !d || !strstr(d, must))
        continue;
      found = 1;
      snprintf(detail, dsize, "%s", d ? d : "");
      snprintf(error, esize, "%s", er ? er : "");
    }
    resp_free(r);
    if (found)
      return 0;
    sleep_ms(100);
  }
  return -1;
}

static void instance_of(const char *id, char *out, size_t size)
{
  char path[200];
  resp *r;

  snprintf(path, sizeof(path), "/api/tenants/%s", id);
  r = call("GET", path, "/api/tenants/{id}", tok_view, NULL, NULL, 200);
  assert_non_null(jstr(r->json, "resources.sql_instance"));
  snprintf(out, size, "%s", jstr(r->json, "resources.sql_instance"));
  resp_free(r);
}

/* The simulator's stored backup run, or NULL (free with json_object_put). */
static json_object *sim_backup_run(const char *inst, const char *bid)
{
  char path[400];
  resp *r;
  json_object *items, *run = NULL;

  snprintf(path, sizeof(path),
           "/_sim/state?prefix=projects/edv-sim/instances/%s/backupRuns/%s",
           inst, bid);
  r = http("GET", sim_base, path, NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  items = json_object_object_get(r->json, "resources");
  if (json_object_array_length(items) == 1)
    run = json_object_get(json_object_object_get(
        json_object_array_get_idx(items, 0), "resource"));
  resp_free(r);
  return run;
}

/* A backup of tenant `id`, followed to SUCCESSFUL; its id into bid. */
static void backup_of(const char *id, const char *key, char *bid, size_t size)
{
  char path[200], extra[200], inst[100], detail[200], err[1100];
  resp *r;
  json_object *run;

  snprintf(path, sizeof(path), "/api/tenants/%s/backup", id);
  snprintf(extra, sizeof(extra), "Idempotency-Key: %s", key);
  r = call("POST", path, "/api/tenants/{id}/backup", tok_op,
           "{\"description\":\"before the term starts\"}", key ? extra : NULL,
           202);
  assert_non_null(jstr(r->json, "backup_id"));
  assert_string_equal(jstr(r->json, "kind"), "backup");
  assert_non_null(jstr(r->json, "operation"));
  assert_non_null(strcasestr(r->headers, "Location: /api/tenants/"));
  snprintf(bid, size, "%s", jstr(r->json, "backup_id"));
  resp_free(r);
  assert_int_equal(wait_event(id, "backup", bid, 20, detail, sizeof(detail),
                              err, sizeof(err)),
                   0);
  assert_non_null(strstr(detail, bid));
  assert_non_null(strstr(detail, "result=DONE"));
  assert_string_equal(err, "");
  instance_of(id, inst, sizeof(inst));
  run = sim_backup_run(inst, bid);
  assert_non_null(run);
  assert_string_equal(
      json_object_get_string(json_object_object_get(run, "status")),
      "SUCCESSFUL");
  assert_string_equal(
      json_object_get_string(json_object_object_get(run, "type")), "ON_DEMAND");
  json_object_put(run);
}

static void test_backup(void **state)
{
  char bid[40], path[200];
  resp *r;
  json_object *arr;
  int seen = 0;

  (void)state;
  /* Refusals before anything happens. */
  expect_error("POST", "/api/tenants/ops01/backup", "/api/tenants/{id}/backup",
               tok_view, "{}", 403, NULL);
  expect_error("POST", "/api/tenants/nosuch/backup", "/api/tenants/{id}/backup",
               tok_op, NULL, 404, NULL);
  expect_error("POST", "/api/tenants/ops01/backup", "/api/tenants/{id}/backup",
               tok_op, "{\"descr\":\"x\"}", 400, "descr");
  expect_error("POST", "/api/tenants/ops01/backup", "/api/tenants/{id}/backup",
               tok_op, "{\"description\":7}", 400, "description");
  expect_error("POST", "/api/tenants/ops01/backup?x=1",
               "/api/tenants/{id}/backup", tok_op, NULL, 400, "x");

  backup_of(T1, "bk-ops01-1", bid, sizeof(bid));
  /* A replay of the key: the same backup, not a second one. */
  r = call("POST", "/api/tenants/ops01/backup", "/api/tenants/{id}/backup",
           tok_op, "{\"description\":\"before the term starts\"}",
           "Idempotency-Key: bk-ops01-1", 202);
  assert_string_equal(jstr(r->json, "backup_id"), bid);
  assert_true(
      json_object_get_boolean(json_object_object_get(r->json, "replayed")));
  resp_free(r);
  /* The same key with another request: 409. */
  expect_error_h("POST", "/api/tenants/ops01/backup",
                 "/api/tenants/{id}/backup", tok_op,
                 "{\"description\":\"other\"}", "Idempotency-Key: bk-ops01-1",
                 409, "Idempotency-Key");

  /* The list shows it, once, with its type and times. */
  snprintf(path, sizeof(path), "/api/tenants/%s/backups", T1);
  r = call("GET", path, "/api/tenants/{id}/backups", tok_view, NULL, NULL, 200);
  arr = json_object_object_get(r->json, "backups");
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *b = json_object_array_get_idx(arr, i);
    if (strcmp(jstr(b, "id"), bid) != 0)
      continue;
    seen++;
    assert_string_equal(jstr(b, "status"), "SUCCESSFUL");
    assert_string_equal(jstr(b, "type"), "ON_DEMAND");
    assert_string_equal(jstr(b, "description"), "before the term starts");
    assert_non_null(jstr(b, "ended"));
  }
  assert_int_equal(seen, 1);
  assert_null(json_object_object_get(r->json, "operation"));
  resp_free(r);
  expect_error("GET", "/api/tenants/nosuch/backups",
               "/api/tenants/{id}/backups", tok_view, NULL, 404, NULL);
}

static void test_restore(void **state)
{
  char b1[40], b2[40], inst[100], body[200], detail[200], err[1100];
  resp *r;
  int fault = -1, seen = 0;

  (void)state;
  backup_of(T1, "bk-ops01-2", b1, sizeof(b1));
  backup_of(T2, "bk-ops02-1", b2, sizeof(b2));
  /* Bodies: unknown field, missing, malformed id. */
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_op,
               "{\"backup_id\":\"1\",\"force\":true}", 400, "force");
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_op, "{}", 400, "backup_id");
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_op, "{\"backup_id\":\"12ab\"}",
               400, "backup_id");
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_op, "{\"backup_id\":12}", 400,
               "backup_id");
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_view, "{\"backup_id\":\"1\"}",
               403, NULL);
  /* A point in time outside the recovery window (before the instance):
   * 400 naming the field and the window; not a time: 400; nothing made
   * in the simulator. */
  expect_error(
      "POST", "/api/tenants/ops01/restore", "/api/tenants/{id}/restore", tok_op,
      "{\"point_in_time\":\"2000-01-01T00:00:00Z\"}", 400, "point_in_time");
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_op,
               "{\"point_in_time\":\"soon\"}", 400, "point_in_time");
  r = http("GET", sim_base,
           "/_sim/state?prefix=projects/edv-sim/instances/edv-ops01-db-2", NULL,
           NULL, NULL);
  assert_int_equal(r->status, 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "resources")),
      0);
  resp_free(r);
  /* Tenant isolation: ops02's backup cannot restore ops01. */
  snprintf(body, sizeof(body), "{\"backup_id\":\"%s\"}", b2);
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_op, body, 404, "backup_id");

  /* Slow operation polls keep the restore in flight for a while. */
  r = http("POST", sim_base, "/_sim/faults", NULL,
           "{\"method\":\"sql.operations.get\",\"latencyMs\":1500}", NULL);
  assert_int_equal(r->status, 200);
  fault = json_object_get_int(json_object_object_get(r->json, "id"));
  resp_free(r);
  snprintf(body, sizeof(body), "{\"backup_id\":\"%s\"}", b1);
  r = call("POST", "/api/tenants/ops01/restore", "/api/tenants/{id}/restore",
           tok_op, body, NULL, 202);
  assert_string_equal(jstr(r->json, "kind"), "restore");
  assert_string_equal(jstr(r->json, "backup_id"), b1);
  resp_free(r);
  /* While it runs: shown in the list, and a second job is refused. */
  r = call("GET", "/api/tenants/ops01/backups", "/api/tenants/{id}/backups",
           tok_view, NULL, NULL, 200);
  assert_string_equal(jstr(r->json, "operation.kind"), "restore");
  resp_free(r);
  expect_error("POST", "/api/tenants/ops01/backup", "/api/tenants/{id}/backup",
               tok_op, NULL, 409, NULL);
  expect_error("POST", "/api/tenants/ops01/restore",
               "/api/tenants/{id}/restore", tok_op, body, 409, NULL);
  {
    char q[64];
    snprintf(q, sizeof(q), "/_sim/faults?id=%d", fault);
    resp_free(http("DELETE", sim_base, q, NULL, NULL, NULL));
  }
  assert_int_equal(wait_event(T1, "restore", b1, 30, detail, sizeof(detail),
                              err, sizeof(err)),
                   0);
  assert_non_null(strstr(detail, b1));
  assert_non_null(strstr(detail, "result=DONE"));
  assert_string_equal(err, "");
  /* The simulator saw restoreBackup of ops01's instance, and the instance
   * is RUNNABLE again. */
  instance_of(T1, inst, sizeof(inst));
  r = http("GET", sim_base, "/_sim/requests", NULL, NULL, NULL);
  {
    json_object *reqs = json_object_object_get(r->json, "requests");
    char want[200];
    snprintf(want, sizeof(want), "/instances/%s/restoreBackup", inst);
    for (size_t i = 0; i < json_object_array_length(reqs); i++) {
      json_object *q = json_object_array_get_idx(reqs, i);
      if (strcmp(jstr(q, "methodId"), "sql.instances.restoreBackup") == 0) {
        assert_non_null(strstr(jstr(q, "path"), want));
        seen++;
      }
    }
  }
  resp_free(r);
  assert_int_equal(seen, 1);
  {
    char path[300];
    json_object *items;
    snprintf(path, sizeof(path),
             "/_sim/state?prefix=projects/edv-sim/instances/%s", inst);
    r = http("GET", sim_base, path, NULL, NULL, NULL);
    items = json_object_object_get(r->json, "resources");
    assert_true(json_object_array_length(items) >= 1);
    for (size_t i = 0; i < json_object_array_length(items); i++) {
      json_object *it = json_object_array_get_idx(items, i);
      if (strcmp(jstr(it, "kind"), "sql#instance") == 0)
        assert_string_equal(jstr(it, "resource.state"), "RUNNABLE");
    }
    resp_free(r);
  }
}

static void test_not_ready(void **state)
{
  char b[512];

  (void)state;
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "ops03", "ops-three", "Ops Three", "basic"),
                 NULL, 202));
  /* Just created: PENDING or PROVISIONING, not READY. */
  expect_error("POST", "/api/tenants/ops03/backup", "/api/tenants/{id}/backup",
               tok_op, NULL, 409, NULL);
  expect_error("POST", "/api/tenants/ops03/restore",
               "/api/tenants/{id}/restore", tok_op, "{\"backup_id\":\"1\"}",
               409, NULL);
  wait_phase("ops03", "READY", 90);
}

static void test_metrics(void **state)
{
  resp *r = NULL;
  long points = 0;

  (void)state;
  expect_error("GET", "/api/tenants/ops01/metrics?window=31d",
               "/api/tenants/{id}/metrics", tok_view, NULL, 400, "window");
  expect_error("GET", "/api/tenants/ops01/metrics?window=721h",
               "/api/tenants/{id}/metrics", tok_view, NULL, 400, "window");
  expect_error("GET", "/api/tenants/ops01/metrics?window=10s",
               "/api/tenants/{id}/metrics", tok_view, NULL, 400, "window");
  expect_error("GET", "/api/tenants/ops01/metrics?span=1h",
               "/api/tenants/{id}/metrics", tok_view, NULL, 400, "span");
  expect_error("GET", "/api/tenants/nosuch/metrics",
               "/api/tenants/{id}/metrics", tok_view, NULL, 404, NULL);
  /* Probes run every second (server.health_interval_s = 1) and write
   * tenant_up / probe_latency_ms: wait for a few points. */
  for (int t = 0; t < 100; t++) {
    if (r)
      resp_free(r);
    r = call("GET", "/api/tenants/ops01/metrics?window=15m",
             "/api/tenants/{id}/metrics", tok_view, NULL, NULL, 200);
    points = json_object_get_int64(json_object_object_get(
        json_object_object_get(r->json, "health"), "points"));
    if (points >= 3)
      break;
    sleep_ms(200);
  }
  assert_string_equal(jstr(r->json, "phase"), "READY");
  assert_int_equal(
      json_object_get_int(json_object_object_get(r->json, "window_s")), 900);
  assert_true(
      json_object_array_length(json_object_object_get(r->json, "steps")) > 3);
  if (points < 3)
    fail_msg("no tenant_up points for ops01 after 20 s (are edvd's probes "
             "writing custom.googleapis.com/edvirons/tenant_up?)");
  {
    json_object *h = json_object_object_get(r->json, "health");
    json_object *l = json_object_object_get(r->json, "latency_ms");
    double av =
        json_object_get_double(json_object_object_get(h, "availability"));
    assert_true(av >= 0 && av <= 1);
    assert_non_null(json_object_object_get(h, "last_probe"));
    assert_true(json_object_get_int(json_object_object_get(l, "points")) > 0);
    assert_true(json_object_get_double(json_object_object_get(l, "p95")) >=
                json_object_get_double(json_object_object_get(l, "p50")));
  }
  resp_free(r);
}

static long fits_of(json_object *cap, const char *region, const char *tier,
                    const char **binding)
{
  json_object *regions = json_object_object_get(cap, "regions");

  for (size_t i = 0; i < json_object_array_length(regions); i++) {
    json_object *rg = json_object_array_get_idx(regions, i), *f;
    if (strcmp(jstr(rg, "region"), region) != 0)
      continue;
    f = json_object_object_get(rg, "tenants_that_fit");
    for (size_t k = 0; k < json_object_array_length(f); k++) {
      json_object *x = json_object_array_get_idx(f, k);
      if (strcmp(jstr(x, "tier"), tier) == 0) {
        if (binding)
          *binding = jstr(x, "binding");
        return json_object_get_int64(json_object_object_get(x, "fits"));
      }
    }
  }
  return -1;
}

static void test_capacity(void **state)
{
  resp *r, *r2;
  char b[512];
  const char *bind = NULL;
  long before, after = -1;
  json_object *pt;

  (void)state;
  r = call("GET", "/api/infrastructure/capacity",
           "/api/infrastructure/capacity", tok_view, NULL, NULL, 200);
  before = fits_of(r->json, "us-central1", "basic", &bind);
  assert_true(before > 0);
  assert_non_null(bind);
  pt = json_object_object_get(r->json, "per_tenant");
  assert_true(json_object_array_length(pt) >= 4);
  assert_int_equal(json_object_get_int(json_object_object_get(
                       json_object_array_get_idx(pt, 0), "vcpus")),
                   2); /* basic: e2-small, 2 vCPUs for the CPUS quota */
  assert_true(json_object_get_int(json_object_object_get(
                  json_object_object_get(r->json, "subnets"), "used")) >= 3);
  assert_true(json_object_get_int(json_object_object_get(
                  json_object_object_get(r->json, "url_map"), "host_rules")) >=
              3);
  assert_true(json_object_get_int(json_object_object_get(
                  json_object_object_get(r->json, "sql"), "instances")) >= 3);
  /* Cached: an immediate second call is not refreshed. */
  r2 = call("GET", "/api/infrastructure/capacity",
            "/api/infrastructure/capacity", tok_view, NULL, NULL, 200);
  assert_false(
      json_object_get_boolean(json_object_object_get(r2->json, "fresh")));
  assert_string_equal(jstr(r2->json, "as_of"), jstr(r->json, "as_of"));
  resp_free(r2);
  resp_free(r);
  expect_error("GET", "/api/infrastructure/capacity?all=1",
               "/api/infrastructure/capacity", tok_view, NULL, 400, "all");

  /* One more tenant: fewer fit (after the 5 s refresh floor). */
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "ops04", "ops-four", "Ops Four", "basic"),
                 NULL, 202));
  wait_phase("ops04", "READY", 90);
  for (int t = 0; t < 80; t++) {
    r = call("GET", "/api/infrastructure/capacity",
             "/api/infrastructure/capacity", tok_view, NULL, NULL, 200);
    after = fits_of(r->json, "us-central1", "basic", NULL);
    resp_free(r);
    if (after >= 0 && after < before)
      break;
    sleep_ms(250);
  }
  assert_true(after >= 0);
  assert_true(after < before);
}

/* A backup in flight when edvd stops is followed again after the
 * restart: "backup.interrupted", then its real end. */
static void test_restart_follow(void **state)
{
  char bid[40], detail[200], err[1100];
  resp *r;
  long ms;

  (void)state;
  r = http("POST", sim_base, "/_sim/faults", NULL,
           "{\"method\":\"sql.operations.get\",\"latencyMs\":2500}", NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
  r = call("POST", "/api/tenants/ops02/backup", "/api/tenants/{id}/backup",
           tok_op, NULL, NULL, 202);
  snprintf(bid, sizeof(bid), "%s", jstr(r->json, "backup_id"));
  resp_free(r);
  sleep_ms(300);
  assert_int_equal(stop_edvd(&ms), 0);
  start_edvd(); /* faults are not kept: polls are quick again */
  assert_int_equal(wait_event("ops02", "backup.interrupted", bid, 5, detail,
                              sizeof(detail), err, sizeof(err)),
                   0);
  assert_non_null(strstr(err, "followed again"));
  /* Any backup route of the tenant picks the operation up again. */
  resp_free(call("GET", "/api/tenants/ops02/backups",
                 "/api/tenants/{id}/backups", tok_view, NULL, NULL, 200));
  assert_int_equal(wait_event("ops02", "backup", bid, 20, detail,
                              sizeof(detail), err, sizeof(err)),
                   0);
  assert_non_null(strstr(detail, "result=DONE"));
  assert_string_equal(err, "");
}

static int setup(void **state)
{
  const char *const ids[] = {T1, T2};

  (void)state;
  if (eh_setup(NULL))
    return -1;
  return eh_tenants_ready(ids, 2, "Ops School");
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backup),    cmocka_unit_test(test_restore),
      cmocka_unit_test(test_not_ready), cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_capacity),  cmocka_unit_test(test_restart_follow),
  };

  return EH_MAIN("edvd-ops", tests, setup, NULL);
}
