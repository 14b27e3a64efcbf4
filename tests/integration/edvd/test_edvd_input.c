/*
 * test_edvd_input.c - what edvd does with malformed request input, end to
 * end (edvd --sim, see edvd_harness.h):
 *
 * - path parameters are checked once decoded on every route that has one:
 *   a NUL (%00) or invalid UTF-8 is a 400 naming `id`, and no answer or
 *   audit line ever holds the raw bytes;
 * - query parameters: a repeated one, or one whose value decodes to a NUL
 *   or invalid UTF-8, is a 400 naming it;
 * - bodies: no Content-Type or another type than application/json is a
 *   415 naming the type received; a duplicate key (nested ones too) is a
 *   400 naming its key path, on every route that takes a body;
 * - requests refused without a token cannot grow the audit log without
 *   bound: 5,000 of them leave a few lines and summary lines whose counts
 *   add up to the rest.
 *
 * Every answer is validated against docs/openapi.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

static const char *const T1 = "in01";

/* 1 when s[0..n) is valid UTF-8 (json-c's own check, on a JSON text). */
static int json_utf8_ok(const char *s, size_t n)
{
  json_tokener *tok = json_tokener_new();
  json_object *o;
  int ok;

  json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
  o = json_tokener_parse_ex(tok, s, (int)n);
  ok = o && json_tokener_get_error(tok) == json_tokener_success;
  json_object_put(o);
  json_tokener_free(tok);
  return ok;
}

static size_t discard(char *p, size_t sz, size_t n, void *data)
{
  (void)p;
  (void)data;
  return sz * n;
}

/* One call with the Content-Type given (NULL: none at all). */
static resp *http_ct(const char *method, const char *path, const char *token,
                     const char *ctype, const char *body)
{
  char line[256];

  snprintf(line, sizeof(line), "Content-Type:%s%s", ctype ? " " : "",
           ctype ? ctype : "");
  return http(method, base, path, token, body, line);
}

/* An error answer `want` naming `field`, whose message contains `says`,
 * valid UTF-8 and as the document describes it. */
static void refused(resp *r, const char *method, const char *path,
                    const char *tmpl, long want, const char *field,
                    const char *says)
{
  const char *f, *m;

  if (r->status != want)
    fail_msg("%s %s: status %ld, want %ld: %.400s", method, path, r->status,
             want, r->body);
  if (!json_utf8_ok(r->body, r->len))
    fail_msg("%s %s: the answer is not valid UTF-8", method, path);
  check_schema(r, tmpl, method);
  f = jstr(r->json, "error.field");
  m = jstr(r->json, "error.message");
  if (field && (!f || strcmp(f, field) != 0))
    fail_msg("%s %s: field %s, want %s (%s)", method, path, f ? f : "(none)",
             field, r->body);
  if (says && (!m || !strstr(m, says)))
    fail_msg("%s %s: message %s, want one saying '%s'", method, path,
             m ? m : "(none)", says);
  resp_free(r);
}

static void expect(const char *method, const char *path, const char *tmpl,
                   const char *token, const char *body, long want,
                   const char *field, const char *says)
{
  refused(http(method, base, path, token, body, NULL), method, path, tmpl, want,
          field, says);
}

static int setup(void **state)
{
  char b[512];
  resp *r;

  (void)state;
  if (eh_setup(NULL))
    return -1;
  r = http("POST", base, "/api/tenants", tok_op,
           spec(b, sizeof(b), T1, "input-one", "Input One", "basic"), NULL);
  if (r->status != 202) {
    resp_free(r);
    return -1;
  }
  resp_free(r);
  return 0;
}

/* Every route with a path parameter, with a body where one is taken. */
static const struct {
  const char *method, *suffix, *tmpl, *body;
} id_routes[] = {
    {"GET", "", "/api/tenants/{id}", NULL},
    {"PUT", "", "/api/tenants/{id}", "{}"},
    {"DELETE", "", "/api/tenants/{id}", NULL},
    {"GET", "/events", "/api/tenants/{id}/events", NULL},
    {"POST", "/scale", "/api/tenants/{id}/scale", "{\"tier\":\"basic\"}"},
    {"POST", "/backup", "/api/tenants/{id}/backup", NULL},
    {"GET", "/backups", "/api/tenants/{id}/backups", NULL},
    {"POST", "/restore", "/api/tenants/{id}/restore", "{}"},
    {"GET", "/metrics", "/api/tenants/{id}/metrics", NULL},
};

static void test_path_params(void **state)
{
  static const struct {
    const char *seg, *says;
  } bad[] = {
      {"in01%00zz", "NUL"},    /* answered for in01 before */
      {"%ff", "UTF-8"},        /* echoed raw before */
      {"in%C3%28", "UTF-8"},   /* a broken two-byte sequence */
      {"%ED%A0%80", "UTF-8"},  /* a surrogate */
      {"in01%0Abad", "U+000A"} /* a control character */
  };
  char path[300];
  resp *r;

  (void)state;
  for (size_t i = 0; i < sizeof(id_routes) / sizeof(id_routes[0]); i++)
    for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
      snprintf(path, sizeof(path), "/api/tenants/%s%s", bad[j].seg,
               id_routes[i].suffix);
      expect(id_routes[i].method, path, id_routes[i].tmpl, tok_admin,
             id_routes[i].body, 400, "id", bad[j].says);
    }
  /* Refused before the token too: no token, same answer. */
  expect("DELETE", "/api/tenants/%ff", "/api/tenants/{id}", NULL, NULL, 400,
         "id", "UTF-8");
  /* Valid UTF-8 is not refused: an unknown tenant. */
  expect("GET", "/api/tenants/%C3%A9cole", "/api/tenants/{id}", tok_view, NULL,
         404, NULL, "not found");
  /* A route that does not exist: the path comes back percent-encoded. */
  r = http("DELETE", base, "/api/nothing%ff", tok_admin, NULL, NULL);
  assert_int_equal(r->status, 404);
  assert_true(json_utf8_ok(r->body, r->len));
  assert_non_null(strstr(jstr(r->json, "error.message"), "%ff"));
  resp_free(r);
  /* And the tenant in01 is still what GET answers for in01. */
  r = http("GET", base, "/api/tenants/in01", tok_view, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
}

static void test_query_params(void **state)
{
  resp *r;

  (void)state;
  /* CORS is off by default: an Origin gets nothing a browser could use,
   * and a preflight is no special case (405). */
  r = http("GET", base, "/api/tenants", tok_view, NULL,
           "Origin: https://ops.example.org");
  assert_int_equal(r->status, 200);
  assert_null(strstr(r->headers, "Access-Control-Allow-Origin"));
  resp_free(r);
  r = http("OPTIONS", base, "/api/tenants", NULL, NULL,
           "Origin: https://ops.example.org\n"
           "Access-Control-Request-Method: POST");
  assert_int_equal(r->status, 405);
  resp_free(r);
  expect("GET", "/api/tenants?limit=1&limit=2", "/api/tenants", tok_view, NULL,
         400, "limit", "repeated");
  expect("GET", "/api/tenants?tier=basic&state=READY&tier=basic",
         "/api/tenants", tok_view, NULL, 400, "tier", "repeated");
  expect("GET", "/api/tenants/in01?observe=false&observe=true",
         "/api/tenants/{id}", tok_view, NULL, 400, "observe", "repeated");
  expect("GET", "/api/tenants/in01/events?limit=5&limit=5",
         "/api/tenants/{id}/events", tok_view, NULL, 400, "limit", "repeated");
  expect("GET", "/api/tenants?tier=%ff", "/api/tenants", tok_view, NULL, 400,
         "tier", "UTF-8");
  expect("GET", "/api/tenants?tier=basic%00x", "/api/tenants", tok_view, NULL,
         400, "tier", "NUL");
  expect("GET", "/api/tenants?%ff=1", "/api/tenants", tok_view, NULL, 400,
         "query", "UTF-8");
  expect("GET", "/api/tenants?colour=red", "/api/tenants", tok_view, NULL, 400,
         "colour", "not known");
  resp_free(call("GET", "/api/tenants?limit=1&tier=basic", "/api/tenants",
                 tok_view, NULL, NULL, 200));
}

static void test_content_type(void **state)
{
  char b[512];
  resp *r;

  (void)state;
  spec(b, sizeof(b), "in02", "input-two", "Input Two", "basic");
  refused(http_ct("POST", "/api/tenants", tok_op, NULL, b), "POST",
          "/api/tenants", "/api/tenants", 415, "Content-Type", "missing");
  refused(http_ct("POST", "/api/tenants", tok_op, "text/plain", b), "POST",
          "/api/tenants", "/api/tenants", 415, "Content-Type", "'text/plain'");
  refused(http_ct("POST", "/api/tenants", tok_op,
                  "application/x-www-form-urlencoded", b),
          "POST", "/api/tenants", "/api/tenants", 415, "Content-Type",
          "'application/x-www-form-urlencoded'");
  refused(http_ct("POST", "/api/tenants", tok_op, "application/jsonp", b),
          "POST", "/api/tenants", "/api/tenants", 415, "Content-Type",
          "'application/jsonp'");
  /* Every other route that takes a body: the same. */
  refused(http_ct("PUT", "/api/tenants/in01", tok_op, NULL, "{}"), "PUT",
          "/api/tenants/in01", "/api/tenants/{id}", 415, "Content-Type",
          "missing");
  refused(http_ct("POST", "/api/tenants/in01/scale", tok_op, "text/json",
                  "{\"tier\":\"basic\"}"),
          "POST", "/api/tenants/in01/scale", "/api/tenants/{id}/scale", 415,
          "Content-Type", "'text/json'");
  refused(http_ct("POST", "/api/tenants/in01/backup", tok_op, NULL, "{}"),
          "POST", "/api/tenants/in01/backup", "/api/tenants/{id}/backup", 415,
          "Content-Type", "missing");
  refused(
      http_ct("POST", "/api/tenants/in01/restore", tok_op, "text/plain", "{}"),
      "POST", "/api/tenants/in01/restore", "/api/tenants/{id}/restore", 415,
      "Content-Type", "'text/plain'");
  /* Nothing was created by the refused POSTs. */
  r = http("GET", base, "/api/tenants/in02", tok_view, NULL, NULL);
  assert_int_equal(r->status, 404);
  resp_free(r);
  /* A media type's parameters and case do not matter. */
  refused(http_ct("POST", "/api/tenants", tok_op,
                  "Application/JSON; charset=utf-8",
                  "{\"id\":\"in02\",\"id\":\"in03\"}"),
          "POST", "/api/tenants", "/api/tenants", 400, "id", "duplicate");
}

static void test_duplicate_keys(void **state)
{
  (void)state;
  /* The last one won before: this created in04. */
  expect("POST", "/api/tenants", "/api/tenants", tok_op,
         "{\"id\":\"in03\",\"slug\":\"input-three\",\"display_name\":\"T\","
         "\"tier\":\"basic\",\"region\":\"us-central1\",\"id\":\"in04\"}",
         400, "id", "duplicate key 'id'");
  /* The same key written with an escape. */
  expect("POST", "/api/tenants", "/api/tenants", tok_op,
         "{\"tier\":\"basic\",\"t\\u0069er\":\"premium\"}", 400, "tier",
         "duplicate key 'tier'");
  /* Nested: named by their key path (an unknown field before). */
  expect("POST", "/api/tenants", "/api/tenants", tok_op,
         "{\"x\":{\"a\":1,\"b\":{\"c\":[1,{\"d\":2,\"d\":3}]}}}", 400,
         "x.b.c[1].d", "duplicate key 'x.b.c[1].d'");
  /* A key repeated in different objects is no duplicate. */
  expect("POST", "/api/tenants", "/api/tenants", tok_op,
         "{\"x\":[{\"a\":1},{\"a\":2}],\"a\":{\"a\":3}}", 400, NULL,
         "not known");
  expect("PUT", "/api/tenants/in01", "/api/tenants/{id}", tok_op,
         "{\"tier\":\"basic\",\"tier\":\"standard\"}", 400, "tier",
         "duplicate");
  expect("POST", "/api/tenants/in01/scale", "/api/tenants/{id}/scale", tok_op,
         "{\"tier\":\"standard\",\"tier\":\"basic\"}", 400, "tier",
         "duplicate");
  expect("POST", "/api/tenants/in01/backup", "/api/tenants/{id}/backup", tok_op,
         "{\"description\":\"a\",\"description\":\"b\"}", 400, "description",
         "duplicate");
  expect("POST", "/api/tenants/in01/restore", "/api/tenants/{id}/restore",
         tok_op, "{\"backup_id\":\"a\",\"backup_id\":\"b\"}", 400, "backup_id",
         "duplicate");
  /* Invalid UTF-8 in a body is malformed JSON, never echoed. */
  expect("POST", "/api/tenants", "/api/tenants", tok_op, "{\"id\":\"in\xff\"}",
         400, "body", "malformed");
  expect("POST", "/api/tenants", "/api/tenants", tok_op, "{\"\xc3(\":1}", 400,
         "body", "malformed");
  /* Nothing of the refused bodies reached the store. */
  for (int i = 3; i <= 4; i++) {
    char path[64];
    resp *r;
    snprintf(path, sizeof(path), "/api/tenants/in0%d", i);
    r = http("GET", base, path, tok_view, NULL, NULL);
    assert_int_equal(r->status, 404);
    resp_free(r);
  }
}

static off_t file_size(const char *path)
{
  struct stat st;

  return stat(path, &st) == 0 ? st.st_size : -1;
}

/* 5,000 DELETEs without a token; then the audit log, edvd stopped (the
 * pending summary is written at shutdown). */
static void test_audit_bound(void **state)
{
  enum { N = 5000 };
  char path[400], url[300], line[8192];
  off_t before, grown;
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Expect:");
  FILE *f;
  long denied = 0, suppressed = 0, summaries = 0, status = 0;

  (void)state;
  snprintf(path, sizeof(path), "%s/audit.log", dir);
  before = file_size(path);
  assert_true(before > 0);
  snprintf(url, sizeof(url), "%s/api/tenants/%s", base, T1);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  for (int i = 0; i < N; i++) {
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 401);
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  assert_int_equal(stop_edvd(NULL), 0);

  grown = file_size(path) - before;
  f = fopen(path, "r");
  assert_non_null(f);
  assert_int_equal(fseeko(f, before, SEEK_SET), 0);
  while (fgets(line, sizeof(line), f)) {
    json_object *o = json_tokener_parse(line), *v;
    assert_non_null(o);
    if (json_object_object_get_ex(o, "suppressed", &v)) {
      assert_string_equal(jstr(o, "source"), "127.0.0.1");
      assert_non_null(strstr(jstr(o, "message"),
                             "unauthenticated requests suppressed from "
                             "127.0.0.1 in the last"));
      suppressed += json_object_get_int64(v);
      summaries++;
    } else if (jstr(o, "status") && strcmp(jstr(o, "status"), "401") == 0) {
      denied++;
    }
    json_object_put(o);
  }
  fclose(f);
  print_message("# 5000 unauthenticated DELETEs: %lld bytes of audit log, "
                "%ld lines written, %ld suppressed in %ld summary line(s)\n",
                (long long)grown, denied, suppressed, summaries);
  assert_true(summaries >= 1);
  assert_int_equal(denied + suppressed, N);
  assert_true(grown < 32 * 1024); /* 5,000 lines were 1.4 MB */
}

/* No line of the audit log holds invalid UTF-8, whatever the path. */
static void test_audit_utf8(void **state)
{
  char path[400];
  FILE *f;
  char line[8192];
  int n = 0;
  long status;
  resp *r;

  (void)state;
  /* Decoded ids went into the audit line's "tenant" before. */
  r = http("DELETE", base, "/api/tenants/%ff%fe", tok_admin, NULL, NULL);
  status = r->status;
  resp_free(r);
  resp_free(http("POST", base, "/api/tenants/%C3%28/backup", NULL, NULL, NULL));
  snprintf(path, sizeof(path), "%s/audit.log", dir);
  f = fopen(path, "r");
  assert_non_null(f);
  while (fgets(line, sizeof(line), f)) {
    if (!json_utf8_ok(line, strlen(line)))
      fail_msg("audit line not valid UTF-8: %s", line);
    n++;
  }
  fclose(f);
  assert_true(n > 0);
  assert_int_equal(status, 400);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_params),
      cmocka_unit_test(test_query_params),
      cmocka_unit_test(test_content_type),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_audit_utf8),
      cmocka_unit_test(test_audit_bound), /* stops edvd */
  };

  return EH_MAIN("edvd-input", tests, setup, NULL);
}
