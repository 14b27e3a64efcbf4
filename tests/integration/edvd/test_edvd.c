/*
 * test_edvd.c - the built edvd (argv[1]) with --sim, a fresh state
 * directory and an ephemeral port, driven over HTTP with libcurl; tokens
 * are made with the built edvctl (argv[2]).
 *
 * Every JSON answer is validated against its response schema in
 * docs/openapi.json (a validator for the subset the document uses: $ref,
 * type, nullable, enum, required, properties, additionalProperties,
 * items). The restart test SIGTERMs edvd while tenants provision, starts
 * it again on the same state, and checks every tenant ends READY with
 * exactly one of each resource in the simulator's state.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "tharness.h"

static const char *edvd_bin, *edvctl_bin;
static char dir[256];
static char base[128], sim_base[128];
static pid_t edvd_pid;
static char tok_admin[128], tok_op[128], tok_view[128];
static json_object *openapi;

/* ---- processes ------------------------------------------------------------*/

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs edvctl token create; returns the token printed on stdout. */
static void make_token(const char *role, const char *name, char *out,
                       size_t size)
{
  int p[2], st;
  pid_t pid;
  ssize_t n;

  assert_int_equal(pipe(p), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int dn = open("/dev/null", O_WRONLY);
    dup2(p[1], 1);
    dup2(dn, 2);
    close(p[0]);
    execl(edvctl_bin, edvctl_bin, "token", "create", "--role", role, "--name",
          name, "--state-dir", dir, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  n = read(p[0], out, size - 1);
  close(p[0]);
  assert_true(n > 0);
  out[n] = '\0';
  out[strcspn(out, "\n")] = '\0';
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Starts edvd and reads its first stdout line for the addresses. */
static void start_edvd(void)
{
  int p[2];
  char line[1024], logf[320];
  size_t len = 0;
  json_object *o;

  assert_int_equal(pipe(p), 0);
  snprintf(logf, sizeof(logf), "%s/edvd.log", dir);
  fflush(NULL);
  edvd_pid = fork();
  assert_true(edvd_pid >= 0);
  if (edvd_pid == 0) {
    int lf = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(p[1], 1);
    dup2(lf, 2);
    close(p[0]);
    char conf[320];
    snprintf(conf, sizeof(conf), "%s/edvd.conf", dir);
    execl(edvd_bin, edvd_bin, "--sim", "--state-dir", dir, "--listen",
          "127.0.0.1:0", "--config", conf, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  while (len + 1 < sizeof(line)) {
    ssize_t n = read(p[0], line + len, 1);
    if (n <= 0 || line[len] == '\n')
      break;
    len++;
  }
  line[len] = '\0';
  close(p[0]);
  o = json_tokener_parse(line);
  assert_non_null(o);
  snprintf(base, sizeof(base), "%s",
           json_object_get_string(json_object_object_get(o, "listen")));
  snprintf(sim_base, sizeof(sim_base), "%s",
           json_object_get_string(json_object_object_get(o, "sim")));
  json_object_put(o);
}

/* SIGTERMs edvd; returns its exit status and how long it took (ms). */
static int stop_edvd(long *ms)
{
  int st = 0;
  struct timespec a, b;

  clock_gettime(CLOCK_MONOTONIC, &a);
  kill(edvd_pid, SIGTERM);
  assert_int_equal(waitpid(edvd_pid, &st, 0), edvd_pid);
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (ms)
    *ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  edvd_pid = 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- HTTP -----------------------------------------------------------------*/

typedef struct resp {
  long status;
  char *body;
  size_t len, cap;
  char headers[4096];
  size_t hlen;
  json_object *json;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *data)
{
  resp *r = data;
  size_t k = sz * n;

  if (r->len + k + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 65536;
    char *np;
    while (cap < r->len + k + 1)
      cap *= 2;
    np = realloc(r->body, cap);
    if (!np)
      return 0;
    r->body = np;
    r->cap = cap;
  }
  memcpy(r->body + r->len, p, k);
  r->len += k;
  r->body[r->len] = '\0';
  return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *data)
{
  resp *r = data;
  size_t k = sz * n;

  if (r->hlen + k < sizeof(r->headers)) {
    memcpy(r->headers + r->hlen, p, k);
    r->hlen += k;
    r->headers[r->hlen] = '\0';
  }
  return k;
}

static resp *http(const char *method, const char *url_base, const char *path,
                  const char *token, const char *body, const char *extra)
{
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  resp *r = calloc(1, sizeof(*r));
  char url[1024], auth[256];

  assert_non_null(r);
  snprintf(url, sizeof(url), "%s%s", url_base, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  if (token) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
  }
  if (body) {
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  if (extra)
    h = curl_slist_append(h, extra);
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (curl_easy_perform(c) != CURLE_OK)
    r->status = 0;
  else
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (!r->body)
    r->body = calloc(1, 1);
  r->json = json_tokener_parse(r->body);
  return r;
}

static void resp_free(resp *r)
{
  json_object_put(r->json);
  free(r->body);
  free(r);
}

static const char *jstr(json_object *o, const char *path)
{
  char buf[256], *save = NULL, *k;
  json_object *v = o;

  snprintf(buf, sizeof(buf), "%s", path);
  for (k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
    v = json_object_object_get(v, k);
  return v ? json_object_get_string(v) : NULL;
}

/* ---- OpenAPI validation ---------------------------------------------------*/

static json_object *schema_ref(json_object *s)
{
  json_object *ref;
  int guard = 0;

  while (s && json_object_object_get_ex(s, "$ref", &ref) && guard++ < 8) {
    const char *r = json_object_get_string(ref);
    char name[128];
    assert_true(strncmp(r, "#/components/", 13) == 0);
    s = openapi;
    snprintf(name, sizeof(name), "%s", r + 2);
    for (char *save = NULL, *k = strtok_r(name, "/", &save); k;
         k = strtok_r(NULL, "/", &save))
      s = json_object_object_get(s, k);
  }
  return s;
}

static int validate(json_object *schema, json_object *v, const char *where,
                    char *why, size_t size)
{
  json_object *t, *x;
  const char *type;

  schema = schema_ref(schema);
  if (!schema) {
    snprintf(why, size, "%s: no schema", where);
    return -1;
  }
  if (v == NULL || json_object_is_type(v, json_type_null)) {
    if (json_object_object_get_ex(schema, "nullable", &x) &&
        json_object_get_boolean(x))
      return 0;
    snprintf(why, size, "%s: null where not nullable", where);
    return -1;
  }
  if (!json_object_object_get_ex(schema, "type", &t))
    return 0; /* {} or a schema we treat as any */
  type = json_object_get_string(t);
  if ((strcmp(type, "object") == 0 &&
       !json_object_is_type(v, json_type_object)) ||
      (strcmp(type, "array") == 0 &&
       !json_object_is_type(v, json_type_array)) ||
      (strcmp(type, "string") == 0 &&
       !json_object_is_type(v, json_type_string)) ||
      (strcmp(type, "integer") == 0 &&
       !json_object_is_type(v, json_type_int)) ||
      (strcmp(type, "number") == 0 && !json_object_is_type(v, json_type_int) &&
       !json_object_is_type(v, json_type_double)) ||
      (strcmp(type, "boolean") == 0 &&
       !json_object_is_type(v, json_type_boolean))) {
    snprintf(why, size, "%s: not %s: %.200s", where, type,
             json_object_to_json_string(v));
    return -1;
  }
  if (json_object_object_get_ex(schema, "enum", &x)) {
    int ok = 0;
    for (size_t i = 0; i < json_object_array_length(x); i++)
      if (strcmp(json_object_get_string(json_object_array_get_idx(x, i)),
                 json_object_get_string(v)) == 0)
        ok = 1;
    if (!ok) {
      snprintf(why, size, "%s: '%s' not in enum", where,
               json_object_get_string(v));
      return -1;
    }
  }
  if (strcmp(type, "array") == 0 &&
      json_object_object_get_ex(schema, "items", &x)) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      char w[300];
      snprintf(w, sizeof(w), "%s[%zu]", where, i);
      if (validate(x, json_object_array_get_idx(v, i), w, why, size))
        return -1;
    }
  }
  if (strcmp(type, "object") == 0) {
    json_object *props = json_object_object_get(schema, "properties");
    json_object *addl = json_object_object_get(schema, "additionalProperties");
    if (json_object_object_get_ex(schema, "required", &x)) {
      for (size_t i = 0; i < json_object_array_length(x); i++) {
        const char *k = json_object_get_string(json_object_array_get_idx(x, i));
        if (!json_object_object_get_ex(v, k, NULL)) {
          snprintf(why, size, "%s: required '%s' missing", where, k);
          return -1;
        }
      }
    }
    json_object_object_foreach(v, key, val)
    {
      json_object *ps = props ? json_object_object_get(props, key) : NULL;
      char w[300];
      snprintf(w, sizeof(w), "%s.%s", where, key);
      if (ps) {
        if (validate(ps, val, w, why, size))
          return -1;
      } else if (addl && json_object_is_type(addl, json_type_boolean)) {
        if (!json_object_get_boolean(addl)) {
          snprintf(why, size, "%s: property not in the schema", w);
          return -1;
        }
      } else if (addl) {
        if (validate(addl, val, w, why, size))
          return -1;
      }
    }
  }
  return 0;
}

/* Validates r against the document's response for (template, method). */
static void check_schema(resp *r, const char *tmpl, const char *method)
{
  json_object *op, *rs, *ct, *schema;
  char code[8], why[600];
  char lower[8];

  for (size_t i = 0; i < sizeof(lower) - 1 && method[i]; i++) {
    lower[i] = (char)(method[i] | 0x20);
    lower[i + 1] = '\0';
  }
  op = json_object_object_get(
      json_object_object_get(json_object_object_get(openapi, "paths"), tmpl),
      lower);
  if (!op)
    fail_msg("openapi: no %s %s", method, tmpl);
  snprintf(code, sizeof(code), "%ld", r->status);
  rs = json_object_object_get(json_object_object_get(op, "responses"), code);
  if (!rs)
    fail_msg("openapi: %s %s has no %ld response (body %.300s)", method, tmpl,
             r->status, r->body);
  rs = schema_ref(rs);
  ct = json_object_object_get(rs, "content");
  if (!ct)
    return;
  schema = json_object_object_get(
      json_object_object_get(ct, "application/json"), "schema");
  if (!schema)
    return; /* not JSON (metrics) */
  if (!r->json)
    fail_msg("%s %s: %ld answer is not JSON: %.300s", method, tmpl, r->status,
             r->body);
  if (validate(schema, r->json, "$", why, sizeof(why)))
    fail_msg("%s %s %ld: %s", method, tmpl, r->status, why);
}

/* A call whose answer is checked against the document; *r for the caller. */
static resp *call(const char *method, const char *path, const char *tmpl,
                  const char *token, const char *body, const char *extra,
                  long want)
{
  resp *r = http(method, base, path, token, body, extra);

  if (r->status != want)
    fail_msg("%s %s: status %ld, want %ld: %.500s", method, path, r->status,
             want, r->body);
  check_schema(r, tmpl, method);
  return r;
}

static void expect_error_h(const char *method, const char *path,
                           const char *tmpl, const char *token,
                           const char *body, const char *extra, long want,
                           const char *field)
{
  resp *r = call(method, path, tmpl, token, body, extra, want);
  const char *f = jstr(r->json, "error.field");

  assert_int_equal(json_object_get_int(json_object_object_get(
                       json_object_object_get(r->json, "error"), "code")),
                   want);
  if (field && (!f || strcmp(f, field) != 0))
    fail_msg("%s %s: field %s, want %s (%s)", method, path, f ? f : "(none)",
             field, r->body);
  resp_free(r);
}

static void expect_error(const char *method, const char *path, const char *tmpl,
                         const char *token, const char *body, long want,
                         const char *field)
{
  expect_error_h(method, path, tmpl, token, body, NULL, want, field);
}

static const char *phase_of(const char *id)
{
  static char ph[32];
  char path[128];
  resp *r;

  snprintf(path, sizeof(path), "/api/tenants/%s", id);
  r = http("GET", base, path, tok_view, NULL, NULL);
  snprintf(ph, sizeof(ph), "%s",
           r->status == 200 && jstr(r->json, "phase") ? jstr(r->json, "phase")
                                                      : "?");
  resp_free(r);
  return ph;
}

static void wait_phase(const char *id, const char *phase, int secs)
{
  for (int i = 0; i < secs * 10; i++) {
    if (strcmp(phase_of(id), phase) == 0)
      return;
    sleep_ms(100);
  }
  fail_msg("tenant %s is %s after %d s, want %s", id, phase_of(id), secs,
           phase);
}

static char *spec(char *buf, size_t size, const char *id, const char *slug,
                  const char *name, const char *tier)
{
  snprintf(buf, size,
           "{\"id\":\"%s\",\"slug\":\"%s\",\"display_name\":\"%s\","
           "\"tier\":\"%s\",\"region\":\"us-central1\"}",
           id, slug, name, tier);
  return buf;
}

/* ---- tests
 * ------------------------------------------------------------------*/

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
               tok_op, "{}", 501, NULL);
  expect_error("GET", "/api/infrastructure/capacity",
               "/api/infrastructure/capacity", tok_view, NULL, 501, NULL);
}

static void test_lifecycle(void **state)
{
  resp *r;
  char b[512], b2[512];
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
  resp_free(r);
  r = call("GET", "/api/tenants/life01/events?limit=2",
           "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "events")), 2);
  assert_non_null(json_object_object_get(r->json, "next_after"));
  resp_free(r);

  /* PUT: the display name changes; a tier change is refused. */
  r = call("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
           "{\"display_name\":\"Greenwood High\"}", NULL, 200);
  assert_string_equal(jstr(r->json, "display_name"), "Greenwood High");
  resp_free(r);
  wait_phase("life01", "READY", 60);
  expect_error("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
               "{\"tier\":\"basic\"}", 409, "tier");
  expect_error("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
               "{\"nickname\":\"g\"}", 400, "nickname");
  expect_error("PUT", "/api/tenants/life01", "/api/tenants/{id}", tok_op,
               "{\"id\":\"other\"}", 400, "id");

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

  /* Delete: 202, then DELETED; a second delete is 404. */
  r = call("DELETE", "/api/tenants/life03", "/api/tenants/{id}", tok_op, NULL,
           NULL, 202);
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

/* Runs `edvctl api METHOD PATH --wait` against the simulator. */
static int sim_api(const char *method, const char *path)
{
  int st;
  pid_t pid;
  char key[400];

  snprintf(key, sizeof(key), "%s/sim-key.json", dir);
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int dn = open("/dev/null", O_WRONLY);
    dup2(dn, 1);
    dup2(dn, 2);
    setenv("EDV_ENDPOINT", sim_base, 1);
    setenv("EDV_KEY_FILE", key, 1);
    setenv("EDV_PROJECT", "edv-sim", 1);
    execl(edvctl_bin, edvctl_bin, "api", method, path, "--wait", (char *)NULL);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The simulator's canonical name of the resource ending in `suffix`. */
static int sim_find(const char *suffix, char *out, size_t size)
{
  resp *r = http("GET", sim_base, "/_sim/state", NULL, NULL, NULL);
  json_object *items = json_object_object_get(r->json, "resources");
  int found = -1;

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    const char *n = json_object_get_string(
        json_object_object_get(json_object_array_get_idx(items, i), "name"));
    size_t ln = strlen(n), ls = strlen(suffix);
    if (ln >= ls && strcmp(n + ln - ls, suffix) == 0) {
      snprintf(out, size, "%s", n);
      found = 0;
    }
  }
  resp_free(r);
  return found;
}

static int footprint_ok(const char *id, const char *slug, char *why,
                        size_t size)
{
  resp *r = http("GET", sim_base, "/_sim/state", NULL, NULL, NULL);
  json_object *fp = th_footprint(r->json, id, slug);
  int result = th_footprint_check(fp, 1, why, size);

  json_object_put(fp);
  resp_free(r);
  return result;
}

/* Delete a READY tenant's VM and another's firewall rule behind edvd's
 * back: the next pass sees it with two list calls and puts them back. */
static void test_drift(void **state)
{
  char name[400], path[500], why[1024];
  resp *r;
  int ok = 0;

  (void)state;
  assert_int_equal(sim_find("/instances/edv-life01-vm", name, sizeof(name)), 0);
  snprintf(path, sizeof(path), "/compute/v1/%s", name);
  assert_int_equal(sim_api("DELETE", path), 0);
  r = call("GET", "/api/tenants/life02", "/api/tenants/{id}", tok_view, NULL,
           NULL, 200);
  snprintf(path, sizeof(path),
           "/compute/v1/projects/edv-sim/global/"
           "firewalls/%s",
           json_object_get_string(json_object_array_get_idx(
               json_object_object_get(
                   json_object_object_get(r->json, "resources"), "firewalls"),
               1)));
  resp_free(r);
  assert_int_equal(sim_api("DELETE", path), 0);
  assert_int_not_equal(
      footprint_ok("life01", "greenwood-high", why, sizeof(why)), 0);
  resp_free(call("POST", "/api/infrastructure/reconcile",
                 "/api/infrastructure/reconcile", tok_admin, NULL, NULL, 202));
  for (int i = 0; i < 600 && !ok; i++) {
    ok = footprint_ok("life01", "greenwood-high", why, sizeof(why)) == 0 &&
         footprint_ok("life02", "hillside", why, sizeof(why)) == 0 &&
         strcmp(phase_of("life01"), "READY") == 0 &&
         strcmp(phase_of("life02"), "READY") == 0;
    if (!ok)
      sleep_ms(100);
  }
  if (!ok)
    fail_msg("drift not repaired: %s", why);
  r = call("GET", "/api/tenants/life01/events?limit=1000",
           "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  assert_non_null(strstr(r->body, "\"event\":\"drift\""));
  assert_non_null(strstr(r->body, "missing instance edv-life01-vm"));
  resp_free(r);
  r = call("GET", "/api/infrastructure/status", "/api/infrastructure/status",
           tok_view, NULL, NULL, 200);
  assert_true(json_object_get_int(json_object_object_get(
                  json_object_object_get(r->json, "reconciler"),
                  "drift_repairs")) >= 2);
  /* A pass costs a fixed number of list pages, whatever the fleet. */
  assert_true(json_object_get_int(json_object_object_get(
                  json_object_object_get(r->json, "reconciler"),
                  "drift_last_calls")) <= 4);
  resp_free(r);
}

/* A VM forced unhealthy is reset after heal_after probes, at most
 * heal_max_per_hour times, then reported degraded and left alone. */
static void test_heal(void **state)
{
  resp *r;
  long resets = -1;
  int degraded = 0;

  (void)state;
  r = http("POST", sim_base, "/_sim/faults", NULL,
           "{\"unhealthy\":\"edv-life02-vm\"}", NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
  for (int i = 0; i < 300 && !degraded; i++) {
    r = call("GET", "/api/infrastructure/status", "/api/infrastructure/status",
             tok_view, NULL, NULL, 200);
    degraded = json_object_get_int(json_object_object_get(
                   json_object_object_get(r->json, "reconciler"),
                   "degraded_alerts")) >= 1;
    resp_free(r);
    if (!degraded)
      sleep_ms(100);
  }
  assert_true(degraded);
  sleep_ms(3000); /* three more probes: no more resets past the limit */
  r = http("GET", sim_base, "/_sim/health/instances", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  {
    json_object *arr = json_object_object_get(r->json, "instances");
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
      json_object *e = json_object_array_get_idx(arr, i);
      const char *n =
          json_object_get_string(json_object_object_get(e, "instance"));
      if (n && strstr(n, "edv-life02-vm"))
        resets = json_object_get_int64(json_object_object_get(e, "resets"));
    }
  }
  resp_free(r);
  assert_int_equal(resets, 2);
  r = call("GET", "/api/tenants/life02/events?limit=1000",
           "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  assert_non_null(strstr(r->body, "\"event\":\"heal.reset\""));
  assert_non_null(strstr(r->body, "\"event\":\"heal.degraded\""));
  resp_free(r);
  r = call("GET", "/metrics", "/metrics", tok_view, NULL, NULL, 200);
  assert_non_null(strstr(r->body, "edv_heal_resets_total 2"));
  resp_free(r);
  r = http("DELETE", sim_base, "/_sim/faults", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
}

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

/* SIGTERM while tenants provision; a restart finishes them, once. */
static void test_sigterm_restart(void **state)
{
  char b[512], id[32], slug[32];
  /* The figure is 20; twenty concurrent tenants take minutes on
   * the simulator (SQL and certificate operations), too long here. */
  const int n = 10;
  long ms;
  int ready = 0;
  resp *r;

  (void)state;
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "boot%02d", i);
    snprintf(slug, sizeof(slug), "boot-school-%02d", i);
    resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                   spec(b, sizeof(b), id, slug, "Boot School", "basic"), NULL,
                   202));
  }
  sleep_ms(700); /* some steps done, others in flight */
  r = call("GET", "/api/infrastructure/status", "/api/infrastructure/status",
           tok_view, NULL, NULL, 200);
  assert_true(json_object_get_int(
                  json_object_object_get(r->json, "runs_in_flight")) > 0);
  resp_free(r);
  assert_int_equal(stop_edvd(&ms), 0);
  assert_true(ms < 12000);
  start_edvd();
  for (int t = 0; t < 2400 && ready < n; t++) {
    ready = 0;
    for (int i = 0; i < n; i++) {
      snprintf(id, sizeof(id), "boot%02d", i);
      ready += strcmp(phase_of(id), "READY") == 0;
    }
    if (ready < n)
      sleep_ms(100);
  }
  assert_int_equal(ready, n);
  /* Exactly the resources of a READY tenant each: nothing twice. */
  r = http("GET", sim_base, "/_sim/state", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  for (int i = 0; i < n; i++) {
    char why[1024];
    json_object *fp;
    snprintf(id, sizeof(id), "boot%02d", i);
    snprintf(slug, sizeof(slug), "boot-school-%02d", i);
    fp = th_footprint(r->json, id, slug);
    if (th_footprint_check(fp, 1, why, sizeof(why)))
      fail_msg("%s: %s", id, why);
    json_object_put(fp);
  }
  resp_free(r);
}

static int setup(void **state)
{
  char tmpl[] = "/tmp/edvd-test-XXXXXX", path[512];
  const char *root = getenv("EDV_SOURCE_ROOT");

  (void)state;
  if (!mkdtemp(tmpl))
    return -1;
  snprintf(dir, sizeof(dir), "%s", tmpl);
  snprintf(path, sizeof(path), "%s/docs/openapi.json", root ? root : ".");
  openapi = json_object_from_file(path);
  if (!openapi)
    return -1;
  /* Quick health probes so the healer test takes seconds. */
  snprintf(path, sizeof(path), "%s/edvd.conf", dir);
  {
    FILE *f = fopen(path, "w");
    if (!f)
      return -1;
    fputs("# edvd under test\nserver.health_interval_s = 1\n"
          "server.heal_after = 2\nserver.heal_max_per_hour = 2\n",
          f);
    fclose(f);
  }
  make_token("admin", "adm", tok_admin, sizeof(tok_admin));
  make_token("operator", "op", tok_op, sizeof(tok_op));
  make_token("viewer", "view", tok_view, sizeof(tok_view));
  start_edvd();
  /* Wait for the platform (created on the first --sim start). */
  for (int i = 0; i < 600; i++) {
    resp *r =
        http("GET", base, "/api/infrastructure/status", tok_view, NULL, NULL);
    int ok = r->status == 200 && jstr(r->json, "platform") &&
             strcmp(jstr(r->json, "platform"), "READY") == 0;
    resp_free(r);
    if (ok)
      return 0;
    sleep_ms(100);
  }
  return -1;
}

static int teardown(void **state)
{
  long ms;

  (void)state;
  if (edvd_pid > 0 && stop_edvd(&ms) != 0)
    return -1;
  json_object_put(openapi);
  if (!getenv("EDV_KEEP_TEST_DIR")) {
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health),
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_lifecycle),
      cmocka_unit_test(test_drift),
      cmocka_unit_test(test_heal),
      cmocka_unit_test(test_sighup_tokens),
      cmocka_unit_test(test_sigterm_restart),
      cmocka_unit_test(test_files_and_secrets),
  };
  int result;

  if (argc < 3) {
    fprintf(stderr, "usage: %s EDVD EDVCTL\n", argv[0]);
    return 2;
  }
  edvd_bin = argv[1];
  edvctl_bin = argv[2];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests_name("edvd", tests, setup, teardown);
  curl_global_cleanup();
  return result;
}
