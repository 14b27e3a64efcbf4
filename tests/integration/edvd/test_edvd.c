/*
 * test_edvd.c - the built edvd (argv[1]) with --sim, a fresh state
 * directory and an ephemeral port, driven over HTTP with libcurl; tokens
 * are made with the built edvctl (argv[2]).
 *
 * Every JSON answer is validated against its response schema in
 * docs/openapi.json (a validator for the subset the document uses: $ref,
 * type, nullable, enum, required, properties, additionalProperties,
 * items). The SIGTERM-and-restart test with 20 tenants is
 * test_edvd_restart.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"
#include "tharness.h"

static void test_health(void **state)
{
  resp *r;

  (void)state;
  resp_free(call("GET", "/healthz", "/healthz", NULL, NULL, NULL, 200));
  resp_free(call("GET", "/readyz", "/readyz", NULL, NULL, NULL, 200));
  r = call("GET", "/api/openapi.json", "/api/openapi.json", NULL, NULL, NULL,
           200);
  assert_true(json_object_equal(r->json, openapi));
  resp_free(r);
}

static void test_auth(void **state)
{
  resp *r;
  char b[512];

  (void)state;
  r = call("GET", "/api/tenants", "/api/tenants", NULL, NULL, NULL, 401);
  assert_non_null(strcasestr(r->headers, "WWW-Authenticate: Bearer"));
  resp_free(r);
  expect_error("GET", "/api/tenants", "/api/tenants", "edv_00000000_notatoken",
               NULL, 401, NULL);
  expect_error("GET", "/api/tenants", "/api/tenants", "garbage", NULL, 401,
               NULL);
  resp_free(
      call("GET", "/api/tenants", "/api/tenants", tok_view, NULL, NULL, 200));
  expect_error("POST", "/api/tenants", "/api/tenants", tok_view,
               spec(b, sizeof(b), "authx", "authx", "A", "basic"), 403, NULL);
  expect_error("DELETE", "/api/tenants/authx", "/api/tenants/{id}", tok_view,
               NULL, 403, NULL);
  expect_error("POST", "/api/infrastructure/reconcile",
               "/api/infrastructure/reconcile", tok_op, "{}", 403, NULL);
  resp_free(call("POST", "/api/infrastructure/reconcile",
                 "/api/infrastructure/reconcile", tok_admin, NULL, NULL, 202));
  r = http("GET", base, "/metrics", NULL, NULL, NULL);
  assert_int_equal(r->status, 401);
  resp_free(r);
}

static void test_errors(void **state)
{
  resp *r;
  char b[512], *big;

  (void)state;
  r = http("GET", base, "/api/nothing", tok_admin, NULL, NULL);
  assert_int_equal(r->status, 404);
  {
    char why[600];
    json_object *es = json_object_object_get(
        json_object_object_get(json_object_object_get(openapi, "components"),
                               "schemas"),
        "Error");
    if (validate(es, r->json, "$", why, sizeof(why)))
      fail_msg("404: %s", why);
  }
  resp_free(r);
  r = http("PATCH", base, "/api/tenants", tok_admin, "{}", NULL);
  assert_int_equal(r->status, 405);
  assert_non_null(strcasestr(r->headers, "Allow: GET, POST"));
  assert_string_equal(jstr(r->json, "error.status"), "METHOD_NOT_ALLOWED");
  resp_free(r);
  /* 413: a body over the limit, refused before it is read. */
  big = malloc(100000);
  memset(big, ' ', 99999);
  big[0] = '{';
  big[99998] = '}';
  big[99999] = '\0';
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op, big, 413, NULL);
  free(big);
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op, "{\"id\":", 400,
               "body");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op, "[1]", 400,
               "body");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op,
               "{\"id\":\"e1\",\"slug\":\"e1\",\"display_name\":\"E\","
               "\"tier\":\"basic\",\"region\":\"us-central1\",\"color\":1}",
               400, "color");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op,
               "{\"id\":\"e1\",\"display_name\":\"E\",\"tier\":\"basic\","
               "\"region\":\"us-central1\"}",
               400, "slug");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op,
               spec(b, sizeof(b), "e1", "Bad_Slug", "E", "basic"), 400, "slug");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op,
               spec(b, sizeof(b), "1e", "e1", "E", "basic"), 400, "id");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op,
               spec(b, sizeof(b), "e1", "e1", "E", "platinum"), 400, "tier");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op,
               "{\"id\":\"e1\",\"slug\":\"e1\",\"display_name\":7,"
               "\"tier\":\"basic\",\"region\":\"us-central1\"}",
               400, "display_name");
  /* The right form, but not a region the Compute API has. */
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op,
               "{\"id\":\"e1\",\"slug\":\"e1\",\"display_name\":\"E\","
               "\"tier\":\"basic\",\"region\":\"mars-north9\"}",
               400, "region");
  expect_error("GET", "/api/tenants?limit=0", "/api/tenants", tok_view, NULL,
               400, "limit");
  expect_error("GET", "/api/tenants?limit=abc", "/api/tenants", tok_view, NULL,
               400, "limit");
  expect_error("GET", "/api/tenants?state=sleeping", "/api/tenants", tok_view,
               NULL, 400, "state");
  expect_error("GET", "/api/tenants?tier=gold", "/api/tenants", tok_view, NULL,
               400, "tier");
  expect_error("GET", "/api/tenants?color=red", "/api/tenants", tok_view, NULL,
               400, "color");
  expect_error("GET", "/api/tenants/nobody", "/api/tenants/{id}", tok_view,
               NULL, 404, NULL);
  expect_error("GET", "/api/tenants/nobody/events", "/api/tenants/{id}/events",
               tok_view, NULL, 404, NULL);
  expect_error("POST", "/api/tenants/x/scale", "/api/tenants/{id}/scale",
               tok_op, "{\"tier\":\"basic\"}", 404, NULL);
  expect_error("GET", "/api/infrastructure/capacity?all=1",
               "/api/infrastructure/capacity", tok_view, NULL, 400, "all");
}

static void test_lifecycle(void **state)
{
  resp *r;
  char b[512], b2[512], life01_vm_id[64];
  const char *key = "Idempotency-Key: create-life-1";

  (void)state;
  spec(b, sizeof(b), "life01", "greenwood-high", "Greenwood High School",
       "premium");
  r = call("POST", "/api/tenants", "/api/tenants", tok_op, b, key, 202);
  assert_non_null(strcasestr(r->headers, "Location: /api/tenants/life01"));
  assert_string_equal(jstr(r->json, "id"), "life01");
  resp_free(r);
  /* Same key, same body: the same answer. */
  r = call("POST", "/api/tenants", "/api/tenants", tok_op, b, key, 202);
  assert_string_equal(jstr(r->json, "id"), "life01");
  resp_free(r);
  /* Same key, another body: 409. */
  spec(b2, sizeof(b2), "life02", "life02", "Other", "basic");
  expect_error_h("POST", "/api/tenants", "/api/tenants", tok_op, b2, key, 409,
                 "Idempotency-Key");
  /* Same id, another spec: 409; identical spec, no key: 202. */
  spec(b2, sizeof(b2), "life01", "greenwood-high", "Another Name", "premium");
  expect_error("POST", "/api/tenants", "/api/tenants", tok_op, b2, 409, "id");
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op, b, NULL, 202));
  wait_phase("life01", "READY", 90);

  r = call("GET", "/api/tenants/life01", "/api/tenants/{id}", tok_view, NULL,
           NULL, 200);
  assert_string_equal(jstr(r->json, "phase"), "READY");
  assert_string_equal(jstr(r->json, "resources.vm"), "edv-life01-vm");
  assert_true(
      json_object_array_length(json_object_object_get(r->json, "steps")) > 5);
  assert_null(json_object_object_get(r->json, "observed"));
  resp_free(r);
  /* observe=true: the live state, asked of the (simulated) cloud. */
  r = call("GET", "/api/tenants/life01?observe=true", "/api/tenants/{id}",
           tok_view, NULL, NULL, 200);
  assert_string_equal(jstr(r->json, "observed.vm.name"), "edv-life01-vm");
  assert_string_equal(jstr(r->json, "observed.vm.state"), "RUNNING");
  assert_non_null(jstr(r->json, "observed.vm.private_ip"));
  assert_string_equal(jstr(r->json, "observed.database.state"), "RUNNABLE");
  assert_string_equal(jstr(r->json, "observed.certificate.state"), "ACTIVE");
  resp_free(r);
  /* Asked again within the view cache's TTL: no second call. */
  {
    int n0 = sim_count("sql.instances.get", "edv-life01");
    assert_true(n0 >= 1); /* the first observe asked */
    resp_free(call("GET", "/api/tenants/life01?observe=true",
                   "/api/tenants/{id}", tok_view, NULL, NULL, 200));
    assert_int_equal(sim_count("sql.instances.get", "edv-life01"), n0);
  }
  expect_error("GET", "/api/tenants/life01?observe=yes", "/api/tenants/{id}",
               tok_view, NULL, 400, "observe");
  r = call("GET", "/api/tenants/life01/events?limit=2",
           "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "events")), 2);
  assert_non_null(json_object_object_get(r->json, "next_after"));
  resp_free(r);

  /* PUT: the display name changes; a tier change (scaling: see
   * test_edvd_scale.c) cannot come with another change. */
  {
    json_object *vm = sim_resource("/instances/edv-life01-vm");
    assert_non_null(vm);
    snprintf(life01_vm_id, sizeof(life01_vm_id), "%s", jstr(vm, "id"));
    json_object_put(vm);
  }
  r = call("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
           "{\"display_name\":\"Greenwood High\"}", NULL, 200);
  assert_string_equal(jstr(r->json, "display_name"), "Greenwood High");
  resp_free(r);
  wait_phase("life01", "READY", 60);
  /* The VM's startup script names it, in place (the same VM). */
  {
    int named = 0;
    for (int i = 0; i < 300 && !named; i++) {
      json_object *vm = sim_resource("/instances/edv-life01-vm");
      named = vm && strstr(json_object_to_json_string_ext(
                               vm, JSON_C_TO_STRING_NOSLASHESCAPE),
                           "EDV_TENANT_NAME='Greenwood High'\\n");
      if (vm && named)
        assert_string_equal(jstr(vm, "id"), life01_vm_id);
      json_object_put(vm);
      if (!named)
        sleep_ms(100);
    }
    assert_true(named);
  }
  expect_error("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
               "{\"tier\":\"basic\",\"display_name\":\"X\"}", 400, "tier");
  expect_error("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
               "{\"nickname\":\"g\"}", 400, "nickname");
  expect_error("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
               "{\"id\":\"other\"}", 400, "id");
  expect_error("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
               "{\"ops_ssh\":\"yes\"}", 400, "ops_ssh");
  /* Operations SSH on: the tenant is driven again and gets its IAP rule. */
  r = call("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
           "{\"ops_ssh\":true}", NULL, 200);
  assert_true(
      json_object_get_boolean(json_object_object_get(r->json, "ops_ssh")));
  resp_free(r);
  for (int i = 0;; i++) {
    resp *fw = http("GET", sim_base,
                    "/_sim/state?prefix=projects/edv-sim/global/firewalls/"
                    "edv-life01-allow-iap-ssh",
                    NULL, NULL, NULL);
    size_t n =
        json_object_array_length(json_object_object_get(fw->json, "resources"));
    resp_free(fw);
    if (n == 1)
      break;
    if (i > 600)
      fail_msg("no IAP SSH rule for life01 after the PUT");
    usleep(100000);
  }
  wait_phase("life01", "READY", 60);

  /* A second and third tenant, then paging through them. */
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "life02", "hillside", "Hillside", "basic"),
                 NULL, 202));
  resp_free(
      call("POST", "/api/tenants", "/api/tenants", tok_op,
           spec(b, sizeof(b), "life03", "riverside", "Riverside", "basic"),
           NULL, 202));
  r = call("GET", "/api/tenants?limit=2", "/api/tenants", tok_view, NULL, NULL,
           200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "tenants")), 2);
  assert_non_null(jstr(r->json, "next_page_token"));
  {
    char path[200];
    resp *r2;
    snprintf(path, sizeof(path), "/api/tenants?limit=2&page_token=%s",
             jstr(r->json, "next_page_token"));
    r2 = call("GET", path, "/api/tenants", tok_view, NULL, NULL, 200);
    assert_true(json_object_array_length(
                    json_object_object_get(r2->json, "tenants")) >= 1);
    resp_free(r2);
  }
  resp_free(r);
  r = call("GET", "/api/tenants?tier=basic", "/api/tenants", tok_view, NULL,
           NULL, 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "tenants")), 2);
  resp_free(r);
  wait_phase("life02", "READY", 90);
  wait_phase("life03", "READY", 90);
  r = call("GET", "/api/tenants?state=ready", "/api/tenants", tok_view, NULL,
           NULL, 200);
  assert_true(json_object_array_length(
                  json_object_object_get(r->json, "tenants")) >= 3);
  resp_free(r);

  r = call("GET", "/api/infrastructure/status", "/api/infrastructure/status",
           tok_view, NULL, NULL, 200);
  assert_true(json_object_get_int(json_object_object_get(
                  json_object_object_get(
                      json_object_object_get(r->json, "tenants"), "by_phase"),
                  "READY")) >= 3);
  assert_string_equal(jstr(r->json, "platform"), "READY");
  assert_true(json_object_get_int(json_object_object_get(
                  json_object_object_get(
                      json_object_object_get(r->json, "apis"), "compute"),
                  "calls")) > 0);
  resp_free(r);
  r = call("GET", "/api/infrastructure/costs", "/api/infrastructure/costs",
           tok_view, NULL, NULL, 200);
  assert_true(json_object_get_double(
                  json_object_object_get(r->json, "monthly_total")) > 0);
  resp_free(r);
  r = call("GET", "/metrics", "/metrics", tok_view, NULL, NULL, 200);
  assert_non_null(strstr(r->body, "edv_tenants{phase=\"READY\"}"));
  assert_non_null(
      strstr(r->body, "edv_api_rate_limited_total{api=\"compute\"}"));
  assert_non_null(strstr(r->body, "edv_runs_in_flight"));
  resp_free(r);

  /* Delete: 202, then SUSPENDED (its grace, purge_after set); undelete:
   * READY again; ?now=true: DELETED; a second delete is 404. */
  r = call("DELETE", "/api/tenants/life03", "/api/tenants/{id}", tok_op, NULL,
           NULL, 202);
  resp_free(r);
  wait_phase("life03", "SUSPENDED", 90);
  r = call("GET", "/api/tenants/life03", "/api/tenants/{id}", tok_view, NULL,
           NULL, 200);
  assert_non_null(
      json_object_get_string(json_object_object_get(r->json, "purge_after")));
  resp_free(r);
  expect_error("DELETE", "/api/tenants/life03?now=maybe", "/api/tenants/{id}",
               tok_op, NULL, 400, NULL);
  r = call("POST", "/api/tenants/life03/undelete", "/api/tenants/{id}/undelete",
           tok_op, NULL, NULL, 202);
  resp_free(r);
  wait_phase("life03", "READY", 90);
  expect_error("POST", "/api/tenants/life03/undelete",
               "/api/tenants/{id}/undelete", tok_op, NULL, 409, NULL);
  r = call("DELETE", "/api/tenants/life03?now=true", "/api/tenants/{id}",
           tok_op, NULL, NULL, 202);
  resp_free(r);
  wait_phase("life03", "DELETED", 90);
  expect_error("DELETE", "/api/tenants/life03", "/api/tenants/{id}", tok_op,
               NULL, 404, NULL);
  r = call("GET", "/api/tenants?state=deleted", "/api/tenants", tok_view, NULL,
           NULL, 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "tenants")), 1);
  resp_free(r);
}

/* Drift detection and orphans: test_edvd_drift.c. */

static void test_files_and_secrets(void **state)
{
  struct stat st;
  char path[400], *log;
  FILE *f;
  long n;

  (void)state;
  snprintf(path, sizeof(path), "%s/api-tokens.json", dir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  snprintf(path, sizeof(path), "%s/audit.log", dir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  f = fopen(path, "r");
  assert_non_null(f);
  log = calloc(1, 1 << 20);
  n = (long)fread(log, 1, (1 << 20) - 1, f);
  fclose(f);
  assert_true(n > 0);
  assert_non_null(strstr(log, "\"who\":\"op\""));
  assert_non_null(strstr(log, "\"method\":\"DELETE\""));
  assert_non_null(strstr(log, "\"result\":\"denied\""));
  assert_null(strstr(log, tok_op + 14)); /* no token secret */
  free(log);
  /* Neither the logs nor the audit hold a token. */
  snprintf(path, sizeof(path), "%s/edvd.log", dir);
  f = fopen(path, "r");
  assert_non_null(f);
  log = calloc(1, 8 << 20);
  n = (long)fread(log, 1, (8 << 20) - 1, f);
  fclose(f);
  assert_true(n > 0);
  assert_null(strstr(log, tok_admin + 14));
  assert_null(strstr(log, tok_op + 14));
  assert_null(strstr(log, tok_view + 14));
  /* Every whole line is JSON, the embedded simulator's too (edvd sets its
   * logger: edv_sim_log_set), at edvd's level (info: the key it trusts). */
  {
    char *line = log, *nl;
    int sim_lines = 0;

    while ((nl = strchr(line, '\n')) != NULL) {
      json_object *o, *m;

      *nl = '\0';
      o = json_tokener_parse(line);
      if (!o)
        fail_msg("edvd.log: not a JSON line: %s", line);
      if (json_object_object_get_ex(o, "module", &m) &&
          strcmp(json_object_get_string(m), "sim") == 0)
        sim_lines++;
      json_object_put(o);
      line = nl + 1;
    }
    assert_true(sim_lines > 0);
  }
  free(log);
}

static void test_sighup_tokens(void **state)
{
  char tok[128];
  resp *r;

  (void)state;
  make_token("viewer", "late", tok, sizeof(tok));
  r = http("GET", base, "/api/tenants", tok, NULL, NULL);
  assert_int_equal(r->status, 401);
  resp_free(r);
  kill(edvd_pid, SIGHUP);
  for (int i = 0; i < 50; i++) {
    r = http("GET", base, "/api/tenants", tok, NULL, NULL);
    long s = r->status;
    resp_free(r);
    if (s == 200)
      return;
    sleep_ms(100);
  }
  fail_msg("the new token is still refused after SIGHUP");
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health),
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_lifecycle),
      cmocka_unit_test(test_sighup_tokens),
      cmocka_unit_test(test_files_and_secrets),
  };

  return EH_MAIN("edvd", tests, NULL, NULL);
}
