/*
 * test_edvd_conventions.c - the Management API's HTTP conventions: the
 * versioned paths (/api/v1/... with /api/... as the alias), ETag on tenant
 * answers and If-Match on PUT/DELETE (412, nothing changed), one
 * pagination style for events (page_token / next_page_token), and CORS
 * for the configured origins only (this edvd allows one origin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "edvd_harness.h"

#define T1     "conv01"
#define ORIGIN "https://ops.example.org"

static int setup(void **state)
{
  char b[512];
  resp *r;

  (void)state;
  if (eh_setup("server.cors_origins = " ORIGIN "\n"))
    return -1;
  r = http(
      "POST", base, "/api/tenants", tok_op,
      spec(b, sizeof(b), T1, "conv-school-01", "Conventions School", "basic"),
      NULL);
  if (r->status != 202) {
    resp_free(r);
    return -1;
  }
  resp_free(r);
  wait_phase(T1, "READY", 120);
  return 0;
}

static void test_versioned_paths(void **state)
{
  resp *r;

  (void)state;
  r = call("GET", "/api/v1/tenants/" T1, "/api/tenants/{id}", tok_view, NULL,
           NULL, 200);
  assert_string_equal(jstr(r->json, "id"), T1);
  resp_free(r);
  r = call("GET", "/api/v1/tenants", "/api/tenants", tok_view, NULL, NULL, 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "tenants")), 1);
  resp_free(r);
  /* The alias is a prefix rewrite, nothing more: unknown stays unknown. */
  r = http("GET", base, "/api/v1/nothing", tok_view, NULL, NULL);
  assert_int_equal(r->status, 404);
  resp_free(r);
  r = http("GET", base, "/api/v2/tenants", tok_view, NULL, NULL);
  assert_int_equal(r->status, 404);
  resp_free(r);
}

static void test_etag_if_match(void **state)
{
  char tag[64], tag2[64], hdr[128], b[256];
  resp *r;

  (void)state;
  r = call("GET", "/api/tenants/" T1, "/api/tenants/{id}", tok_view, NULL, NULL,
           200);
  resp_header(r, "ETag", tag, sizeof(tag));
  resp_free(r);
  assert_true(strlen(tag) > 2 && tag[0] == '"');
  /* The same record: the same tag. */
  r = http("GET", base, "/api/tenants/" T1, tok_view, NULL, NULL);
  assert_string_equal(resp_header(r, "ETag", tag2, sizeof(tag2)), tag);
  resp_free(r);

  /* A stale tag: 412 naming If-Match, and nothing changed. */
  snprintf(b, sizeof(b), "{\"display_name\":\"Renamed School\"}");
  expect_error_h("PUT", "/api/tenants/" T1, "/api/tenants/{id}", tok_op, b,
                 "If-Match: \"0000000000000000\"", 412, "If-Match");
  r = http("GET", base, "/api/tenants/" T1, tok_view, NULL, NULL);
  assert_string_equal(jstr(r->json, "display_name"), "Conventions School");
  resp_free(r);

  /* The current tag: 200, and the tag moves with the record. */
  snprintf(hdr, sizeof(hdr), "If-Match: %s", tag);
  r = call("PUT", "/api/tenants/" T1, "/api/tenants/{id}", tok_op, b, hdr, 200);
  assert_string_equal(jstr(r->json, "display_name"), "Renamed School");
  resp_header(r, "ETag", tag2, sizeof(tag2));
  assert_true(tag2[0] == '"');
  assert_string_not_equal(tag2, tag);
  resp_free(r);
  wait_phase(T1, "READY", 120);

  /* DELETE with the old tag: 412, the tenant still READY. */
  expect_error_h("DELETE", "/api/tenants/" T1, "/api/tenants/{id}", tok_op,
                 NULL, hdr, 412, "If-Match");
  assert_string_equal(phase_of(T1), "READY");
}

static void test_events_pages(void **state)
{
  char path[200], tok[32];
  resp *r;
  long first_seq;
  json_object *ev;

  (void)state;
  r = call("GET", "/api/tenants/" T1 "/events?limit=2",
           "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  ev = json_object_object_get(r->json, "events");
  assert_int_equal(json_object_array_length(ev), 2);
  assert_non_null(jstr(r->json, "next_page_token"));
  snprintf(tok, sizeof(tok), "%s", jstr(r->json, "next_page_token"));
  first_seq = json_object_get_int64(
      json_object_object_get(json_object_array_get_idx(ev, 1), "seq"));
  assert_int_equal(atol(tok), first_seq);
  resp_free(r);
  snprintf(path, sizeof(path),
           "/api/tenants/" T1 "/events?limit=2&page_token=%s", tok);
  r = call("GET", path, "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  ev = json_object_object_get(r->json, "events");
  assert_true(json_object_array_length(ev) > 0);
  assert_true(json_object_get_int64(json_object_object_get(
                  json_object_array_get_idx(ev, 0), "seq")) > first_seq);
  resp_free(r);
  snprintf(path, sizeof(path),
           "/api/tenants/" T1 "/events?page_token=%s&after=1", tok);
  expect_error("GET", path, "/api/tenants/{id}/events", tok_view, NULL, 400,
               "page_token");
  expect_error("GET", "/api/tenants/" T1 "/events?page_token=zz",
               "/api/tenants/{id}/events", tok_view, NULL, 400, "page_token");
}

static void test_cors(void **state)
{
  char v[256];
  resp *r;

  (void)state;
  r = http("GET", base, "/api/tenants/" T1, tok_view, NULL, "Origin: " ORIGIN);
  assert_int_equal(r->status, 200);
  assert_string_equal(
      resp_header(r, "Access-Control-Allow-Origin", v, sizeof(v)), ORIGIN);
  assert_non_null(strstr(
      resp_header(r, "Access-Control-Expose-Headers", v, sizeof(v)), "ETag"));
  resp_free(r);
  /* Another origin: nothing that lets a browser read the answer. */
  r = http("GET", base, "/api/tenants/" T1, tok_view, NULL,
           "Origin: https://evil.example");
  assert_string_equal(
      resp_header(r, "Access-Control-Allow-Origin", v, sizeof(v)), "");
  resp_free(r);
  /* Preflight: 204 naming the methods the path allows, for ours only. */
  r = http("OPTIONS", base, "/api/v1/tenants/" T1, NULL, NULL,
           "Origin: " ORIGIN "\nAccess-Control-Request-Method: PUT");
  assert_int_equal(r->status, 204);
  assert_non_null(strstr(
      resp_header(r, "Access-Control-Allow-Methods", v, sizeof(v)), "PUT"));
  assert_non_null(
      strstr(resp_header(r, "Access-Control-Allow-Headers", v, sizeof(v)),
             "If-Match"));
  resp_free(r);
  r = http("OPTIONS", base, "/api/tenants/" T1, NULL, NULL,
           "Origin: https://evil.example\nAccess-Control-Request-Method: PUT");
  assert_int_equal(r->status, 405);
  resp_free(r);
  /* No Origin: not a preflight. */
  r = http("OPTIONS", base, "/api/tenants/" T1, NULL, NULL,
           "Access-Control-Request-Method: PUT");
  assert_int_equal(r->status, 405);
  resp_free(r);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_versioned_paths),
      cmocka_unit_test(test_etag_if_match),
      cmocka_unit_test(test_events_pages),
      cmocka_unit_test(test_cors),
  };

  return EH_MAIN("edvd-conventions", tests, setup, NULL);
}
