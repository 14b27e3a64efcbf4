/*
 * test_auth_mock.c - credentials through the real engine and transport,
 * against the scripted loopback server (tests/support/mockserver.h):
 * JWT-bearer exchange, 401 -> one refresh, expiry, single flight, a failed
 * refresh that keeps the old token, the metadata server, and the
 * authorized_user refresh-token grant. Secrets are checked absent from the
 * log and from errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edv/auth.h"
#include "edv/engine.h"
#include "mockserver.h"
#include "testutil.h"

#define EMAIL "sa@proj.iam.gserviceaccount.com"
#define OK_BODY(tok, exp)                                                      \
  "{\"access_token\":\"" tok "\",\"expires_in\":" exp                          \
  ",\"token_type\":\"Bearer\"}"
#define MD_TOKEN   "/computeMetadata/v1/instance/service-accounts/default/token"
#define MD_PROJECT "/computeMetadata/v1/project/project-id"

typedef struct fixture {
  uv_loop_t loop;
  mock_server *ms;
  char *dir;
  char *key_path;
  edv_engine *engine;
} fixture;

typedef struct got {
  int calls;
  int failed;
  edv_error err;
  char token[2048];
  int status;
} got;

static void token_cb(void *data, const char *token, const edv_error *err)
{
  got *g = data;

  g->calls++;
  g->failed = err != NULL;
  if (err)
    g->err = *err;
  snprintf(g->token, sizeof(g->token), "%s", token ? token : "");
}

static void call_cb(void *data, const edv_response *res)
{
  got *g = data;

  g->calls++;
  g->status = res->http_status;
  g->failed = res->error != NULL;
  if (res->error)
    g->err = *res->error;
}

/* Runs the loop until *calls reaches n (or 10 s pass). */
static void run_until(fixture *f, const int *calls, int n)
{
  uint64_t end = uv_hrtime() + 10000000000ull;

  while (*calls < n && uv_hrtime() < end)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_true(*calls >= n);
}

static void clean_env(const char *dir)
{
  char home[600];

  snprintf(home, sizeof(home), "%s/no-home", dir);
  setenv("HOME", home, 1);
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  unsetenv("CLOUDSDK_CONFIG");
  unsetenv("GCE_METADATA_HOST");
  unsetenv("GCE_METADATA_ROOT");
  unsetenv("GCE_METADATA_IP");
}

static int setup(void **state)
{
  fixture *f = calloc(1, sizeof(*f));
  char uri[300], *json;

  uv_loop_init(&f->loop);
  f->ms = mock_start();
  assert_non_null(f->ms);
  f->dir = tu_tmpdir();
  clean_env(f->dir);
  snprintf(uri, sizeof(uri), "%s/token", mock_url(f->ms));
  json = tu_sa_json(tu_rsa_pem(), "kid-int", EMAIL, uri, "proj-key");
  f->key_path = tu_write(f->dir, "sa.json", json, 0600);
  free(json);
  *state = f;
  return 0;
}

static void engine_closed(void *data)
{
  (*(int *)data)++;
}

static int teardown(void **state)
{
  fixture *f = *state;
  int closed = 0;

  tu_log_stop();
  if (f->engine) {
    edv_engine_close(f->engine, engine_closed, &closed);
    run_until(f, &closed, 1);
  }
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  mock_stop(f->ms);
  tu_rmrf(f->dir);
  free(f->dir);
  free(f->key_path);
  free(f);
  return 0;
}

/* An engine whose API calls go to the mock; extra config as key, value
 * pairs ending with NULL. */
static void start_engine(fixture *f, ...)
{
  edv_config *cfg = edv_config_new();
  edv_error err;
  const char *k;
  va_list ap;

  assert_int_equal(edv_config_set(cfg, "endpoint", mock_url(f->ms), &err), 0);
  va_start(ap, f);
  while ((k = va_arg(ap, const char *)) != NULL) {
    const char *v = va_arg(ap, const char *);
    assert_int_equal(edv_config_set(cfg, k, v, &err), 0);
  }
  va_end(ap);
  f->engine = edv_engine_new(&f->loop, cfg, &err);
  assert_non_null(f->engine);
  edv_config_free(cfg);
}

static void get_token(fixture *f, got *g)
{
  memset(g, 0, sizeof(*g));
  assert_int_equal(edv_engine_access_token(f->engine, token_cb, g), 0);
  assert_int_equal(g->calls, 0); /* never synchronous */
  run_until(f, &g->calls, 1);
}

static size_t count_path(mock_server *ms, const char *path)
{
  size_t i, n = 0;

  for (i = 0; i < mock_request_count(ms); i++) {
    mock_request r;
    if (mock_request_get(ms, i, &r) == 0) {
      n += strncmp(r.path, path, strlen(path)) == 0;
      mock_request_free(&r);
    }
  }
  return n;
}

/* ---- tests ---------------------------------------------------------------*/

static void test_exchange(void **state)
{
  fixture *f = *state;
  mock_request r;
  json_object *h, *cl, *v;
  char buf[256], *gt, *assertion;
  got g;

  start_engine(f, "key_file", f->key_path, NULL);
  mock_expect(f->ms, "POST", "/token", 200, OK_BODY("tok-1", "3599"), NULL);
  get_token(f, &g);
  assert_false(g.failed);
  assert_string_equal(g.token, "tok-1");
  assert_string_equal(edv_engine_project(f->engine), "proj-key");
  assert_int_equal(mock_request_get(f->ms, 0, &r), 0);
  assert_string_equal(r.method, "POST");
  assert_string_equal(r.path, "/token");
  assert_non_null(mock_request_header(&r, "content-type", buf, sizeof(buf)));
  assert_non_null(strstr(buf, "application/x-www-form-urlencoded"));
  assert_null(mock_request_header(&r, "authorization", buf, sizeof(buf)));
  gt = tu_form_get(r.body, "grant_type");
  assert_string_equal(gt, "urn:ietf:params:oauth:grant-type:jwt-bearer");
  assertion = tu_form_get(r.body, "assertion");
  assert_int_equal(tu_jwt_verify(assertion, tu_rsa_key(), &h, &cl), 0);
  assert_true(json_object_object_get_ex(h, "kid", &v));
  assert_string_equal(json_object_get_string(v), "kid-int");
  assert_true(json_object_object_get_ex(cl, "iss", &v));
  assert_string_equal(json_object_get_string(v), EMAIL);
  assert_true(json_object_object_get_ex(cl, "aud", &v));
  assert_non_null(strstr(json_object_get_string(v), "/token"));
  json_object_put(h);
  json_object_put(cl);
  free(gt);
  free(assertion);
  mock_request_free(&r);
}

static void test_401_refresh_once(void **state)
{
  fixture *f = *state;
  edv_request req = {0};
  mock_request r;
  char buf[256];
  got g = {0};

  start_engine(f, "key_file", f->key_path, NULL);
  mock_expect(f->ms, "POST", "/token", 200, OK_BODY("tok-old", "3599"), NULL);
  mock_expect(f->ms, "GET", "/compute/v1/x", 401,
              "{\"error\":{\"code\":401,\"message\":\"Request had invalid "
              "authentication credentials.\",\"status\":\"UNAUTHENTICATED\"}}",
              NULL);
  mock_expect(f->ms, "POST", "/token", 200, OK_BODY("tok-new", "3599"), NULL);
  mock_expect(f->ms, "GET", "/compute/v1/x", 200, "{\"ok\":true}", NULL);
  req.api = EDV_API_COMPUTE;
  req.method = "GET";
  req.path = "/compute/v1/x";
  assert_int_equal(edv_call_submit(f->engine, &req, call_cb, &g, NULL), 0);
  run_until(f, &g.calls, 1);
  assert_false(g.failed);
  assert_int_equal(g.status, 200);
  assert_int_equal(count_path(f->ms, "/token"), 2);
  assert_int_equal(mock_request_count(f->ms), 4);
  assert_int_equal(mock_request_get(f->ms, 3, &r), 0);
  assert_non_null(mock_request_header(&r, "authorization", buf, sizeof(buf)));
  assert_string_equal(buf, "Bearer tok-new");
  mock_request_free(&r);
}

static void test_expired_refreshed(void **state)
{
  fixture *f = *state;
  got g;

  start_engine(f, "key_file", f->key_path, NULL);
  /* 5 s is inside the 10 s hard margin: unusable at once. */
  mock_expect(f->ms, "POST", "/token", 200, OK_BODY("tok-short", "5"), NULL);
  mock_expect(f->ms, "POST", "/token", 200, OK_BODY("tok-long", "3599"), NULL);
  get_token(f, &g);
  assert_string_equal(g.token, "tok-short");
  get_token(f, &g);
  assert_string_equal(g.token, "tok-long");
  get_token(f, &g);
  assert_string_equal(g.token, "tok-long");
  assert_int_equal(count_path(f->ms, "/token"), 2);
}

static void test_single_flight(void **state)
{
  fixture *f = *state;
  mock_reply slow = {.method = "POST",
                     .path_prefix = "/token",
                     .status = 200,
                     .body = OK_BODY("tok-shared", "3599"),
                     .delay_ms = 200};
  got g[20];
  int i, done = 0;

  start_engine(f, "key_file", f->key_path, NULL);
  mock_expect_reply(f->ms, &slow);
  memset(g, 0, sizeof(g));
  for (i = 0; i < 20; i++)
    assert_int_equal(edv_engine_access_token(f->engine, token_cb, &g[i]), 0);
  while (done < 20) {
    uv_run(&f->loop, UV_RUN_ONCE);
    for (done = 0, i = 0; i < 20; i++)
      done += g[i].calls;
  }
  for (i = 0; i < 20; i++) {
    assert_int_equal(g[i].calls, 1);
    assert_string_equal(g[i].token, "tok-shared");
  }
  assert_int_equal(count_path(f->ms, "/token"), 1);
}

static void test_refresh_failure_keeps_token(void **state)
{
  fixture *f = *state;
  mock_request r;
  char *assertion;
  got g;

  start_engine(f, "key_file", f->key_path, NULL);
  /* 200 s: usable, but inside the 300 s margin, so the next request
   * refreshes in the background; that refresh is refused. */
  mock_expect(f->ms, "POST", "/token", 200,
              OK_BODY("tok-kept-0123456789", "200"), NULL);
  mock_expect(f->ms, "POST", "/token", 400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid "
              "JWT Signature.\"}",
              NULL);
  get_token(f, &g);
  assert_string_equal(g.token, "tok-kept-0123456789");
  tu_log_start();
  get_token(f, &g);
  assert_string_equal(g.token, "tok-kept-0123456789");
  /* Let the background refresh fail. */
  while (count_path(f->ms, "/token") < 2 ||
         !strstr(tu_log_text(), "token refresh failed"))
    uv_run(&f->loop, UV_RUN_ONCE);
  get_token(f, &g); /* inside the backoff: no new request */
  assert_false(g.failed);
  assert_string_equal(g.token, "tok-kept-0123456789");
  assert_int_equal(count_path(f->ms, "/token"), 2);
  assert_non_null(strstr(tu_log_text(), "Invalid JWT Signature."));
  /* No secret in the log: neither the token nor the assertion nor the
   * key. */
  assert_int_equal(mock_request_get(f->ms, 1, &r), 0);
  assertion = tu_form_get(r.body, "assertion");
  assert_null(strstr(tu_log_text(), "tok-kept"));
  assert_null(strstr(tu_log_text(), assertion));
  assert_null(strstr(tu_log_text(), "eyJhbGciOi"));
  assert_null(strstr(tu_log_text(), "PRIVATE KEY"));
  free(assertion);
  mock_request_free(&r);
}

static void test_invalid_grant(void **state)
{
  fixture *f = *state;
  char buf[1024];
  got g;

  start_engine(f, "key_file", f->key_path, NULL);
  mock_expect(f->ms, "POST", "/token", 400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid "
              "JWT: Token must be a short-lived token (60 minutes) and in a "
              "reasonable timeframe.\"}",
              NULL);
  tu_log_start();
  get_token(f, &g);
  assert_true(g.failed);
  assert_int_equal(g.err.code, EDV_ECRED);
  assert_non_null(strstr(g.err.message, "short-lived token"));
  edv_error_format(&g.err, buf, sizeof(buf));
  assert_null(strstr(buf, "eyJhbGciOi"));
  assert_null(strstr(tu_log_text(), "eyJhbGciOi"));
  assert_int_equal(count_path(f->ms, "/token"), 1); /* 400: not retried */
}

static void test_metadata_server(void **state)
{
  fixture *f = *state;
  mock_request r;
  char host[64], buf[64];
  got g;

  snprintf(host, sizeof(host), "127.0.0.1:%u", (unsigned)mock_port(f->ms));
  setenv("GCE_METADATA_HOST", host, 1);
  start_engine(f, NULL);
  mock_expect(f->ms, "GET", MD_TOKEN, 200, OK_BODY("md-tok", "1967"),
              "Metadata-Flavor: Google");
  mock_reply proj = {.method = "GET",
                     .path_prefix = MD_PROJECT,
                     .status = 200,
                     .body = "proj-md",
                     .headers = "Metadata-Flavor: Google",
                     .content_type = "application/text"};
  mock_expect_reply(f->ms, &proj);
  get_token(f, &g);
  assert_false(g.failed);
  assert_string_equal(g.token, "md-tok");
  assert_int_equal(count_path(f->ms, MD_TOKEN), 1);
  assert_int_equal(mock_request_get(f->ms, 0, &r), 0);
  assert_non_null(mock_request_header(&r, "metadata-flavor", buf, sizeof(buf)));
  assert_string_equal(buf, "Google");
  assert_null(mock_request_header(&r, "authorization", buf, sizeof(buf)));
  mock_request_free(&r);
  assert_string_equal(edv_engine_project(f->engine), "proj-md");
}

static void test_metadata_flavor_required(void **state)
{
  fixture *f = *state;
  char host[64];
  got g;

  snprintf(host, sizeof(host), "127.0.0.1:%u", (unsigned)mock_port(f->ms));
  setenv("GCE_METADATA_HOST", host, 1);
  start_engine(f, NULL);
  /* Something that is not the metadata server answers with a token. */
  mock_expect(f->ms, "GET", MD_TOKEN, 200, OK_BODY("impostor-tok", "3599"),
              NULL);
  get_token(f, &g);
  assert_true(g.failed);
  assert_int_equal(g.err.code, EDV_ECRED);
  assert_non_null(strstr(g.err.message, "Metadata-Flavor"));
  assert_null(strstr(g.err.message, "impostor-tok"));
}

static void test_authorized_user(void **state)
{
  fixture *f = *state;
  char json[600], *path, *v;
  mock_request r;
  got g;

  snprintf(json, sizeof(json),
           "{\"type\":\"authorized_user\",\"client_id\":\"cid.apps\","
           "\"client_secret\":\"csecret-987654\",\"refresh_token\":"
           "\"1//rtok-abcdef\",\"token_uri\":\"%s/oauth/token\"}",
           mock_url(f->ms));
  path = tu_write(f->dir, "user.json", json, 0600);
  setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
  start_engine(f, NULL);
  mock_expect(f->ms, "POST", "/oauth/token", 200, OK_BODY("user-tok", "3599"),
              NULL);
  get_token(f, &g);
  assert_false(g.failed);
  assert_string_equal(g.token, "user-tok");
  assert_int_equal(mock_request_get(f->ms, 0, &r), 0);
  v = tu_form_get(r.body, "grant_type");
  assert_string_equal(v, "refresh_token");
  free(v);
  v = tu_form_get(r.body, "refresh_token");
  assert_string_equal(v, "1//rtok-abcdef");
  free(v);
  v = tu_form_get(r.body, "client_secret");
  assert_string_equal(v, "csecret-987654");
  free(v);
  mock_request_free(&r);
  free(path);
}

static void test_default_token_uri_follows_endpoint(void **state)
{
  fixture *f = *state;
  char *json, *path;
  mock_request r;
  got g;

  /* A real key file names Google's token endpoint; with the engine's
   * endpoint moved (to a simulator), the exchange follows it. */
  json = tu_sa_json(tu_rsa_pem(), "kid-d", EMAIL,
                    "https://oauth2.googleapis.com/token", NULL);
  path = tu_write(f->dir, "google.json", json, 0600);
  start_engine(f, "key_file", path, NULL);
  mock_expect(f->ms, "POST", "/token", 200, OK_BODY("sim-tok", "3599"), NULL);
  get_token(f, &g);
  assert_false(g.failed);
  assert_string_equal(g.token, "sim-tok");
  assert_int_equal(mock_request_get(f->ms, 0, &r), 0);
  assert_string_equal(r.path, "/token");
  mock_request_free(&r);
  free(json);
  free(path);
}

static void test_self_signed_jwt(void **state)
{
  fixture *f = *state;
  edv_request req = {0};
  json_object *h, *cl, *v;
  mock_request r;
  char buf[2048];
  got g = {0};

  start_engine(f, "key_file", f->key_path, "auth.self_signed_jwt", "true",
               NULL);
  mock_expect(f->ms, "GET", "/compute/v1/y", 200, "{}", NULL);
  req.api = EDV_API_COMPUTE;
  req.method = "GET";
  req.path = "/compute/v1/y";
  assert_int_equal(edv_call_submit(f->engine, &req, call_cb, &g, NULL), 0);
  run_until(f, &g.calls, 1);
  assert_false(g.failed);
  assert_int_equal(count_path(f->ms, "/token"), 0); /* no exchange */
  assert_int_equal(mock_request_get(f->ms, 0, &r), 0);
  assert_non_null(mock_request_header(&r, "authorization", buf, sizeof(buf)));
  assert_int_equal(strncmp(buf, "Bearer ", 7), 0);
  assert_int_equal(tu_jwt_verify(buf + 7, tu_rsa_key(), &h, &cl), 0);
  assert_true(json_object_object_get_ex(cl, "sub", &v));
  assert_string_equal(json_object_get_string(v), EMAIL);
  assert_true(json_object_object_get_ex(cl, "scope", &v));
  assert_false(json_object_object_get_ex(cl, "aud", &v));
  json_object_put(h);
  json_object_put(cl);
  mock_request_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_exchange),
      T(test_401_refresh_once),
      T(test_expired_refreshed),
      T(test_single_flight),
      T(test_refresh_failure_keeps_token),
      T(test_invalid_grant),
      T(test_metadata_server),
      T(test_metadata_flavor_required),
      T(test_authorized_user),
      T(test_default_token_uri_follows_endpoint),
      T(test_self_signed_jwt),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
