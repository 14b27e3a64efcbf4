/*
 * test_edvd_scale.c - tenant scaling through the Management API, end to
 * end (edvd --sim, see edvd_harness.h): PUT /api/tenants/{id} with another
 * tier and POST /api/tenants/{id}/scale answer 202 with Location, and the
 * tenant comes back READY with the new tier's machine type and Cloud SQL
 * tier in the simulator; a downgrade keeps the larger disks and says so;
 * refused while the tenant provisions, for a viewer, and for bad bodies.
 * Every answer is validated against docs/openapi.json.
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

static const char *const T1 = "sc01";

/* Waits until the tenant's run ended and it is READY. */
static void wait_settled(const char *id, int secs)
{
  char path[128];

  snprintf(path, sizeof(path), "/api/tenants/%s", id);
  for (int t = 0; t < secs * 10; t++) {
    resp *r = call("GET", path, "/api/tenants/{id}", tok_view, NULL, NULL, 200);
    json_object *run = json_object_object_get(r->json, "run");
    int done = run == NULL && strcmp(jstr(r->json, "phase"), "READY") == 0;
    resp_free(r);
    if (done)
      return;
    sleep_ms(100);
  }
  fail_msg("%s: not READY (phase %s) after %d s", id, phase_of(id), secs);
}

/* 1 when the tenant's journal holds event `event` whose detail has
 * `must`. */
static int has_event(const char *id, const char *event, const char *must)
{
  char path[200];
  resp *r;
  json_object *evs;
  int found = 0;

  snprintf(path, sizeof(path), "/api/tenants/%s/events?limit=1000", id);
  r = call("GET", path, "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  evs = json_object_object_get(r->json, "events");
  for (size_t i = 0; evs && i < json_object_array_length(evs); i++) {
    json_object *e = json_object_array_get_idx(evs, i);
    const char *d = jstr(e, "detail");
    if (strcmp(jstr(e, "event"), event) == 0 && d && strstr(d, must))
      found = 1;
  }
  resp_free(r);
  return found;
}

static void test_refused(void **state)
{
  char b[512];
  resp *r;

  (void)state;
  /* Roles: a viewer may not scale. */
  expect_error("POST", "/api/tenants/sc01/scale", "/api/tenants/{id}/scale",
               tok_view, "{\"tier\":\"standard\"}", 403, NULL);
  expect_error("PUT", "/api/tenants/sc01", "/api/tenants/{id}", tok_view,
               "{\"tier\":\"standard\"}", 403, NULL);
  /* Bodies. */
  expect_error("POST", "/api/tenants/sc01/scale", "/api/tenants/{id}/scale",
               tok_op, "{}", 400, "tier");
  expect_error("POST", "/api/tenants/sc01/scale", "/api/tenants/{id}/scale",
               tok_op, "{\"tier\":\"gold\"}", 400, "tier");
  expect_error("POST", "/api/tenants/sc01/scale", "/api/tenants/{id}/scale",
               tok_op, "{\"tier\":\"standard\",\"size\":2}", 400, "size");
  expect_error("POST", "/api/tenants/sc01/scale", "/api/tenants/{id}/scale",
               tok_op, "{\"tier\":\"basic\"}", 409, "tier");
  expect_error("PUT", "/api/tenants/sc01", "/api/tenants/{id}", tok_op,
               "{\"tier\":\"standard\",\"display_name\":\"Other\"}", 400,
               "tier");
  expect_error("POST", "/api/tenants/nosuch/scale", "/api/tenants/{id}/scale",
               tok_op, "{\"tier\":\"standard\"}", 404, NULL);
  /* A tenant still provisioning. */
  r = http("POST", base, "/api/tenants", tok_op,
           spec(b, sizeof(b), "sc02", "school-sc02", "Scale Two", "basic"),
           NULL);
  assert_int_equal(r->status, 202);
  resp_free(r);
  r = call("POST", "/api/tenants/sc02/scale", "/api/tenants/{id}/scale", tok_op,
           "{\"tier\":\"standard\"}", NULL, 409);
  assert_non_null(strstr(jstr(r->json, "error.message"), "PROVISIONING"));
  resp_free(r);
}

static void test_put_up(void **state)
{
  resp *r;

  (void)state;
  check_tenant_cloud(T1, "e2-small", "db-f1-micro", 20, 10);
  r = call("PUT", "/api/tenants/sc01", "/api/tenants/{id}", tok_op,
           "{\"tier\":\"standard\"}", NULL, 202);
  assert_non_null(strstr(r->headers, "Location: /api/tenants/sc01"));
  assert_string_equal(jstr(r->json, "from_tier"), "basic");
  assert_string_equal(jstr(r->json, "to_tier"), "standard");
  assert_string_equal(jstr(r->json, "tenant.tier"), "standard");
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "notes")), 0);
  resp_free(r);
  wait_settled(T1, 90);
  check_tenant_cloud(T1, "e2-medium", "db-g1-small", 50, 20);
  assert_true(has_event(T1, "scale", "basic -> standard"));
}

static void test_post_down(void **state)
{
  resp *r;
  json_object *notes;

  (void)state;
  r = call("POST", "/api/tenants/sc01/scale", "/api/tenants/{id}/scale", tok_op,
           "{\"tier\":\"basic\"}", NULL, 202);
  assert_non_null(strstr(r->headers, "Location: /api/tenants/sc01"));
  notes = json_object_object_get(r->json, "notes");
  assert_int_equal(json_object_array_length(notes), 2);
  assert_non_null(
      strstr(json_object_get_string(json_object_array_get_idx(notes, 0)),
             "boot disk stays 50 GB"));
  resp_free(r);
  wait_settled(T1, 90);
  /* Smaller machines; the disks keep their size. */
  check_tenant_cloud(T1, "e2-small", "db-f1-micro", 50, 20);
  assert_true(has_event(T1, "scale", "standard -> basic"));
}

static int setup(void **state)
{
  char b[512];
  resp *r;

  (void)state;
  if (eh_setup(NULL))
    return -1;
  r = http("POST", base, "/api/tenants", tok_op,
           spec(b, sizeof(b), T1, "school-sc01", "Scale School", "basic"),
           NULL);
  if (r->status != 202) {
    resp_free(r);
    return -1;
  }
  resp_free(r);
  for (int t = 0; t < 900; t++) {
    if (strcmp(phase_of(T1), "READY") == 0)
      return 0;
    sleep_ms(100);
  }
  return -1;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_put_up),
      cmocka_unit_test(test_post_down),
  };

  return EH_MAIN("edvd-scale", tests, setup, NULL);
}
