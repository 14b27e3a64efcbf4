/*
 * test_token.c - the token cache, single-flight refresh, waiters, and every
 * credentials kind end to end against the scripted fake engine, with an
 * injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/internal.h"
#include "fake_engine.h"
#include "testutil.h"

#define EMAIL     "sa@proj.iam.gserviceaccount.com"
#define TOKEN_URI "https://oauth2.test/token"
#define OK_BODY(tok, exp)                                                      \
  "{\"access_token\":\"" tok "\",\"expires_in\":" exp                          \
  ",\"token_type\":\"Bearer\"}"

static uv_loop_t loop;
static char *dir, *sa_path;
static uint64_t now_ms = 1000000;
static int64_t now_s = 1700000000;

static uint64_t clock_mono(void *d)
{
  (void)d;
  return now_ms;
}

static int64_t clock_wall(void *d)
{
  (void)d;
  return now_s;
}

static void advance(uint64_t ms)
{
  now_ms += ms;
  now_s += (int64_t)(ms / 1000);
}

typedef struct got {
  int calls;
  char token[2048];
  edv_error err;
  int failed;
  int registering; /* set while edv__auth_token runs */
} got;

static void got_cb(void *data, const char *token, const edv_error *err)
{
  got *g = data;

  assert_false(g->registering); /* never synchronous */
  g->calls++;
  g->failed = err != NULL;
  if (err)
    g->err = *err;
  snprintf(g->token, sizeof(g->token), "%s", token ? token : "");
}

static void ask(edv_auth *auth, got *g)
{
  g->registering = 1;
  assert_int_equal(edv__auth_token(auth, got_cb, g), 0);
  g->registering = 0;
}

static void run(void)
{
  uv_run(&loop, UV_RUN_DEFAULT);
}

static edv_auth *auth_with(edv_config *cfg)
{
  edv_error err;
  edv_auth *auth = edv__auth_new(fake_engine(), cfg, &err);

  assert_non_null(auth);
  edv__auth_set_clock(auth, clock_mono, clock_wall, NULL);
  edv_config_free(cfg);
  return auth;
}

static edv_auth *auth_sa(void)
{
  edv_config *cfg = fake_config();
  edv_error err;

  edv_config_set(cfg, "key_file", sa_path, &err);
  return auth_with(cfg);
}

static void auth_done(edv_auth *auth)
{
  edv__auth_free(auth);
  run();
}

static int setup(void **state)
{
  char *json;

  (void)state;
  uv_loop_init(&loop);
  fake_init(&loop);
  dir = tu_tmpdir();
  json = tu_sa_json(tu_rsa_pem(), "kid-1", EMAIL, TOKEN_URI, "proj-a");
  sa_path = tu_write(dir, "sa.json", json, 0600);
  free(json);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  assert_int_equal(uv_loop_close(&loop), 0);
  tu_rmrf(dir);
  free(dir);
  free(sa_path);
  return 0;
}

static int each_setup(void **state)
{
  char empty[600];

  (void)state;
  fake_reset();
  snprintf(empty, sizeof(empty), "%s/no-home", dir);
  setenv("HOME", empty, 1);
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  unsetenv("CLOUDSDK_CONFIG");
  unsetenv("GCE_METADATA_HOST");
  unsetenv("GCE_METADATA_ROOT");
  unsetenv("GCE_METADATA_IP");
  return 0;
}

static int each_teardown(void **state)
{
  (void)state;
  tu_log_stop();
  fake_reset();
  return 0;
}

/* ---- pure decisions ----------------------------------------------------*/

static void test_state(void **state)
{
  (void)state;
  assert_int_equal(edv__token_state(0, 99999999, 0), EDV__TOK_NONE);
  assert_int_equal(edv__token_state(1, 1000, 1000), EDV__TOK_NONE);
  assert_int_equal(edv__token_state(1, 1000, 2000), EDV__TOK_NONE);
  /* within 10 s of expiry: unusable */
  assert_int_equal(edv__token_state(1, 10000, 0), EDV__TOK_NONE);
  assert_int_equal(edv__token_state(1, 10001, 0), EDV__TOK_STALE);
  /* refresh when now + 300 s >= expiry */
  assert_int_equal(edv__token_state(1, 300000, 0), EDV__TOK_STALE);
  assert_int_equal(edv__token_state(1, 300001, 0), EDV__TOK_FRESH);
  assert_int_equal(edv__token_state(1, UINT64_MAX, 5), EDV__TOK_FRESH);
}

/* ---- service account exchange ------------------------------------------*/

static void check_exchange_request(const fake_req *r)
{
  char *gt, *assertion;
  json_object *h, *cl, *v;

  assert_string_equal(r->method, "POST");
  assert_string_equal(r->url, TOKEN_URI);
  assert_int_equal(r->api, EDV_API_OAUTH2);
  assert_true(r->flags & EDV_REQ_NOAUTH);
  assert_true(r->flags & EDV_REQ_IDEMPOTENT);
  assert_non_null(r->form);
  assert_non_null(strstr(r->form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                                  "grant-type%3Ajwt-bearer&assertion="));
  gt = tu_form_get(r->form, "grant_type");
  assert_string_equal(gt, "urn:ietf:params:oauth:grant-type:jwt-bearer");
  assertion = tu_form_get(r->form, "assertion");
  assert_int_equal(tu_jwt_verify(assertion, tu_rsa_key(), &h, &cl), 0);
  assert_true(json_object_object_get_ex(h, "kid", &v));
  assert_string_equal(json_object_get_string(v), "kid-1");
  assert_true(json_object_object_get_ex(cl, "aud", &v));
  assert_string_equal(json_object_get_string(v), TOKEN_URI);
  assert_true(json_object_object_get_ex(cl, "iss", &v));
  assert_string_equal(json_object_get_string(v), EMAIL);
  json_object_put(h);
  json_object_put(cl);
  free(gt);
  free(assertion);
}

static void test_single_flight(void **state)
{
  edv_auth *auth = auth_sa();
  got g[10];
  int i;

  (void)state;
  memset(g, 0, sizeof(g));
  fake_script(200, OK_BODY("tok-1", "3599"), NULL, 20);
  for (i = 0; i < 10; i++)
    ask(auth, &g[i]);
  assert_int_equal(g[0].calls, 0);
  run();
  assert_int_equal(fake_count(), 1);
  for (i = 0; i < 10; i++) {
    assert_int_equal(g[i].calls, 1);
    assert_false(g[i].failed);
    assert_string_equal(g[i].token, "tok-1");
  }
  check_exchange_request(fake_get(0));
  assert_string_equal(edv__auth_project(auth), "proj-a");
  assert_non_null(strstr(edv__auth_describe(auth), EMAIL));
  /* Cached: no second request. */
  memset(g, 0, sizeof(g));
  ask(auth, &g[0]);
  run();
  assert_int_equal(fake_count(), 1);
  assert_string_equal(g[0].token, "tok-1");
  auth_done(auth);
}

static void test_stale_served_while_refreshing(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0}, g2 = {0};

  (void)state;
  fake_script(200, OK_BODY("tok-1", "3600"), NULL, 1);
  fake_script(200, OK_BODY("tok-2", "3600"), NULL, 5);
  ask(auth, &g);
  run();
  advance((3600 - 200) * 1000u); /* inside the 300 s margin */
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  ask(auth, &g2);
  run();
  assert_string_equal(g.token, "tok-1"); /* served at once */
  assert_string_equal(g2.token, "tok-1");
  assert_int_equal(fake_count(), 2); /* one background refresh */
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "tok-2");
  assert_int_equal(fake_count(), 2);
  auth_done(auth);
}

static void test_expired_refreshed(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0};

  (void)state;
  fake_script(200, OK_BODY("tok-1", "100"), NULL, 1);
  fake_script(200, OK_BODY("tok-2", "3600"), NULL, 1);
  ask(auth, &g);
  run();
  advance(95 * 1000u); /* 5 s left: not usable */
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "tok-2");
  assert_int_equal(fake_count(), 2);
  auth_done(auth);
}

static void test_refresh_failure_keeps_token(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0};

  (void)state;
  fake_script(200, OK_BODY("tok-keep-1234567890", "3600"), NULL, 1);
  fake_script(503, "{\"error\":\"temporarily_unavailable\"}", NULL, 1);
  ask(auth, &g);
  run();
  advance(3400 * 1000u);
  tu_log_start();
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_false(g.failed);
  assert_string_equal(g.token, "tok-keep-1234567890");
  assert_int_equal(fake_count(), 2);
  assert_non_null(strstr(tu_log_text(), "token refresh failed"));
  assert_null(strstr(tu_log_text(), "tok-keep"));
  /* Within the backoff: no new attempt, the old token still served. */
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "tok-keep-1234567890");
  assert_int_equal(fake_count(), 2);
  /* After it: one more attempt, which succeeds. */
  advance(1500);
  fake_script(200, OK_BODY("tok-new", "3600"), NULL, 1);
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_int_equal(fake_count(), 3);
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "tok-new");
  auth_done(auth);
}

static void test_invalid_grant_no_secrets(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0};
  char buf[1024], *assertion;
  const char *line;

  (void)state;
  /* A hostile server echoing the assertion must not get it into errors. */
  fake_script(400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid "
              "JWT Signature.\"}",
              NULL, 1);
  tu_log_start();
  ask(auth, &g);
  run();
  assert_true(g.failed);
  assert_int_equal(g.err.code, EDV_ECRED);
  assert_int_equal(g.err.http_status, 400);
  assert_string_equal(g.err.reason, "invalid_grant");
  assert_non_null(strstr(g.err.message, "Invalid JWT Signature."));
  assertion = tu_form_get(fake_get(0)->form, "assertion");
  edv_error_format(&g.err, buf, sizeof(buf));
  assert_null(strstr(buf, assertion));
  assert_null(strstr(tu_log_text(), assertion));
  line = strchr(tu_rsa_pem(), '\n') + 1; /* first base64 line of the key */
  assert_null(strstr(tu_log_text(), "PRIVATE KEY"));
  assert_null(strstr(tu_log_text(),
                     (char[]){line[0], line[1], line[2], line[3], line[4],
                              line[5], line[6], line[7], line[8], 0}));
  free(assertion);
  auth_done(auth);
}

static void test_echoed_assertion_redacted(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0};
  char buf[1024], *live;

  (void)state;
  /* A hostile server echoing our assertion back (the fake substitutes
   * @ASSERTION@ with the one it received). */
  fake_script(400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"bad "
              "@ASSERTION@ here\"}",
              NULL, 1);
  tu_log_start();
  ask(auth, &g);
  run();
  assert_true(g.failed);
  live = tu_form_get(fake_get(0)->form, "assertion");
  edv_error_format(&g.err, buf, sizeof(buf));
  assert_non_null(strstr(buf, "[REDACTED]"));
  assert_null(strstr(buf, live));
  /* Not even a prefix of it survives truncation. */
  assert_null(strstr(buf, "eyJhbGciOi"));
  assert_null(strstr(tu_log_text(), "eyJhbGciOi"));
  free(live);
  auth_done(auth);
}

static void test_bad_responses(void **state)
{
  static const struct {
    const char *body;
    const char *field;
  } cases[] = {
      {"{\"expires_in\":3599,\"token_type\":\"Bearer\"}", "access_token"},
      {"{\"access_token\":\"t\",\"token_type\":\"Bearer\"}", "expires_in"},
      {"{\"access_token\":\"t\",\"expires_in\":-1,\"token_type\":\"Bearer\"}",
       "expires_in"},
      {"{\"access_token\":\"t\",\"expires_in\":\"soon\","
       "\"token_type\":\"Bearer\"}",
       "expires_in"},
      {"{\"access_token\":\"t\",\"expires_in\":3599,\"token_type\":\"mac\"}",
       "token_type"},
      {"{\"access_token\":7,\"expires_in\":3599,\"token_type\":\"Bearer\"}",
       "access_token"},
      {"{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":3599,"
       "\"token_type\":\"Bearer\"}",
       "access_token"},
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    edv_auth *auth = auth_sa();
    got g = {0};
    fake_script(200, cases[i].body, NULL, 1);
    ask(auth, &g);
    run();
    assert_true(g.failed);
    assert_int_equal(g.err.code, EDV_EPROTO);
    assert_non_null(strstr(g.err.message, cases[i].field));
    auth_done(auth);
    fake_reset();
  }
  {
    /* expires_in as a numeric string is accepted (google-auth-python). */
    edv_auth *auth = auth_sa();
    got g = {0};
    fake_script(200,
                "{\"access_token\":\"t-str\",\"expires_in\":\"3599\","
                "\"token_type\":\"bearer\"}",
                NULL, 1);
    ask(auth, &g);
    run();
    assert_false(g.failed);
    assert_string_equal(g.token, "t-str");
    auth_done(auth);
  }
}

static void test_oauth_5xx_stays_transient(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0};

  (void)state;
  fake_script(503,
              "{\"error\":\"temporarily_unavailable\","
              "\"error_description\":\"try later\"}",
              NULL, 1);
  ask(auth, &g);
  run();
  assert_true(g.failed);
  assert_int_equal(g.err.code, EDV_EUNAVAIL);
  assert_int_equal(g.err.http_status, 503);
  assert_string_equal(g.err.reason, "temporarily_unavailable");
  assert_non_null(strstr(g.err.message, "try later"));
  auth_done(auth);
}

static void test_invalidate(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0};

  (void)state;
  fake_script(200, OK_BODY("tok-1", "3600"), NULL, 1);
  fake_script(200, OK_BODY("tok-2", "3600"), NULL, 1);
  ask(auth, &g);
  run();
  edv__auth_invalidate(auth, "some-older-token"); /* not ours: kept */
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "tok-1");
  assert_int_equal(fake_count(), 1);
  edv__auth_invalidate(auth, "tok-1");
  edv__auth_invalidate(auth, "tok-1"); /* a second 401: no effect */
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "tok-2");
  assert_int_equal(fake_count(), 2);
  auth_done(auth);
}

static void test_submit_failure_async(void **state)
{
  edv_auth *auth = auth_sa();
  got g = {0};

  (void)state;
  fake_fail_next_submit();
  ask(auth, &g);
  assert_int_equal(g.calls, 0);
  run();
  assert_int_equal(g.calls, 1);
  assert_true(g.failed);
  auth_done(auth);
}

/* ---- lifetime ----------------------------------------------------------*/

static void test_free_cancels(void **state)
{
  edv_auth *auth = auth_sa();
  got g1 = {0}, g2 = {0};

  (void)state;
  fake_script(200, OK_BODY("tok-1", "3600"), NULL, 50);
  ask(auth, &g1);
  uv_run(&loop, UV_RUN_NOWAIT); /* the exchange is now in flight */
  assert_int_equal(fake_in_flight(), 1);
  ask(auth, &g2); /* queued, not yet dispatched */
  edv__auth_free(auth);
  assert_int_equal(g1.calls, 1);
  assert_int_equal(g1.err.code, EDV_ECANCELED);
  assert_int_equal(g2.calls, 1);
  assert_int_equal(g2.err.code, EDV_ECANCELED);
  assert_int_equal(edv__auth_token(auth, got_cb, &g1), EDV_ECANCELED);
  run();
  assert_int_equal(fake_in_flight(), 0);
  edv__auth_free(NULL);
  assert_int_equal(edv__auth_token(NULL, got_cb, &g1), EDV_EINVAL);
}

typedef struct freeing {
  edv_auth *auth;
  int calls;
} freeing;

static void free_in_cb(void *data, const char *token, const edv_error *err)
{
  freeing *f = data;

  (void)token;
  (void)err;
  f->calls++;
  edv__auth_free(f->auth);
}

static void test_free_inside_callback(void **state)
{
  edv_auth *auth = auth_sa();
  freeing fr = {auth, 0};
  got g = {0};

  (void)state;
  fake_script(200, OK_BODY("tok-1", "3600"), NULL, 1);
  assert_int_equal(edv__auth_token(auth, free_in_cb, &fr), 0);
  ask(auth, &g);
  run();
  assert_int_equal(fr.calls, 1);
  assert_int_equal(g.calls, 1); /* still answered with the same result */
  assert_string_equal(g.token, "tok-1");
}

static void test_bad_config(void **state)
{
  edv_config *cfg = fake_config();
  edv_error err;

  (void)state;
  edv_config_set(cfg, "auth.self_signed_jwt", "maybe", &err);
  assert_null(edv__auth_new(fake_engine(), cfg, &err));
  assert_int_equal(err.code, EDV_ECONFIG);
  assert_string_equal(err.where, "auth.self_signed_jwt");
  assert_null(edv__auth_new(NULL, cfg, &err));
  edv_config_free(cfg);
}

/* ---- other credentials kinds -------------------------------------------*/

static void test_self_signed(void **state)
{
  edv_config *cfg = fake_config();
  edv_auth *auth;
  edv_error err;
  got g = {0};
  json_object *h, *cl, *v;
  char first[2048];

  (void)state;
  edv_config_set(cfg, "key_file", sa_path, &err);
  edv_config_set(cfg, "auth.self_signed_jwt", "true", &err);
  edv_config_set(cfg, "auth.scopes", "https://a.test/s1, https://a.test/s2",
                 &err);
  auth = auth_with(cfg);
  ask(auth, &g);
  run();
  assert_false(g.failed);
  assert_int_equal(fake_count(), 0); /* no exchange */
  assert_int_equal(tu_jwt_verify(g.token, tu_rsa_key(), &h, &cl), 0);
  assert_true(json_object_object_get_ex(cl, "sub", &v));
  assert_string_equal(json_object_get_string(v), EMAIL);
  assert_true(json_object_object_get_ex(cl, "scope", &v));
  assert_string_equal(json_object_get_string(v),
                      "https://a.test/s1 https://a.test/s2");
  assert_false(json_object_object_get_ex(cl, "aud", &v));
  json_object_put(h);
  json_object_put(cl);
  assert_non_null(strstr(edv__auth_describe(auth), "self-signed"));
  snprintf(first, sizeof(first), "%s", g.token);
  /* Re-minted once inside the margin. */
  advance((3600 - 250) * 1000u);
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_not_equal(g.token, first);
  assert_int_equal(tu_jwt_verify(g.token, tu_rsa_key(), &h, &cl), 0);
  json_object_put(h);
  json_object_put(cl);
  auth_done(auth);
}

static void test_access_token_file(void **state)
{
  edv_config *cfg = fake_config();
  char *path = tu_write(dir, "token", "ya29.first-token\n", 0600);
  edv_auth *auth;
  edv_error err;
  got g = {0};
  char *p2;

  (void)state;
  edv_config_set(cfg, "access_token_file", path, &err);
  edv_config_set(cfg, "key_file", sa_path, &err); /* loses to the token */
  auth = auth_with(cfg);
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "ya29.first-token");
  assert_int_equal(fake_count(), 0);
  advance(48u * 3600 * 1000); /* never expires */
  p2 = tu_write(dir, "token", "ya29.second-token", 0600);
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "ya29.first-token");
  edv__auth_invalidate(auth, "ya29.first-token"); /* re-read the file */
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "ya29.second-token");
  free(p2);
  p2 = tu_write(dir, "token", "two words", 0600);
  edv__auth_invalidate(auth, "ya29.second-token");
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_true(g.failed);
  assert_int_equal(g.err.code, EDV_ECRED);
  assert_null(strstr(g.err.message, "two words"));
  free(p2);
  free(path);
  auth_done(auth);
}

static void test_authorized_user(void **state)
{
  const char *json = "{\"type\":\"authorized_user\",\"client_id\":\"cid.apps\","
                     "\"client_secret\":\"csecret-abcdef\","
                     "\"refresh_token\":\"1//refresh/token+x\"}";
  char *path = tu_write(dir, "user.json", json, 0600);
  edv_config *cfg = fake_config();
  edv_auth *auth;
  got g = {0};
  const fake_req *r;
  char *v;

  (void)state;
  setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
  auth = auth_with(cfg);
  fake_script(200, OK_BODY("user-tok", "3599"), NULL, 1);
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "user-tok");
  r = fake_get(0);
  assert_string_equal(r->url, "https://oauth2.googleapis.com/token");
  assert_string_equal(r->method, "POST");
  v = tu_form_get(r->form, "grant_type");
  assert_string_equal(v, "refresh_token");
  free(v);
  v = tu_form_get(r->form, "client_id");
  assert_string_equal(v, "cid.apps");
  free(v);
  v = tu_form_get(r->form, "client_secret");
  assert_string_equal(v, "csecret-abcdef");
  free(v);
  v = tu_form_get(r->form, "refresh_token");
  assert_string_equal(v, "1//refresh/token+x");
  free(v);
  assert_non_null(strstr(r->form, "refresh_token=1%2F%2Frefresh%2Ftoken%2Bx"));
  /* Google's default endpoint follows the engine's oauth2 endpoint. */
  fake_set_oauth2_endpoint("http://127.0.0.1:8/sim");
  edv__auth_invalidate(auth, "user-tok");
  fake_script(200, OK_BODY("user-tok", "3599"), NULL, 1);
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "user-tok");
  assert_string_equal(fake_get(1)->url, "http://127.0.0.1:8/sim/token");
  fake_set_oauth2_endpoint("https://oauth2.googleapis.com");
  edv__auth_invalidate(auth, "user-tok");
  fake_script(200, OK_BODY("user-tok", "3599"), NULL, 1);
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(fake_get(2)->url, "https://oauth2.googleapis.com/token");
  r = fake_get(0); /* realloc may have moved it */
  assert_null(edv__auth_project(auth));
  assert_non_null(strstr(edv__auth_describe(auth), "authorized_user"));
  /* A refused refresh token: ECRED, with neither secret in sight. */
  edv__auth_invalidate(auth, "user-tok");
  fake_script(400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"Token "
              "has been expired or revoked. csecret-abcdef\"}",
              NULL, 1);
  tu_log_start();
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_int_equal(g.err.code, EDV_ECRED);
  assert_non_null(strstr(g.err.message, "expired or revoked"));
  assert_null(strstr(g.err.message, "csecret-abcdef"));
  assert_null(strstr(tu_log_text(), "csecret-abcdef"));
  assert_null(strstr(tu_log_text(), "1//refresh"));
  free(path);
  auth_done(auth);
}

static void test_metadata(void **state)
{
  edv_config *cfg = fake_config();
  edv_auth *auth;
  edv_error err;
  got g = {0};
  const fake_req *r;

  (void)state;
  setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
  edv_config_set(cfg, "auth.scopes", "https://a.test/s1 https://a.test/s2",
                 &err);
  auth = auth_with(cfg);
  fake_script(200, OK_BODY("md-tok", "1967"), "Metadata-Flavor: Google\n", 1);
  fake_script(200, "my-project\n", "Metadata-Flavor: Google\n", 1);
  ask(auth, &g);
  run();
  assert_false(g.failed);
  assert_string_equal(g.token, "md-tok");
  assert_int_equal(fake_count(), 2);
  r = fake_get(0);
  assert_string_equal(r->method, "GET");
  assert_string_equal(r->url, "http://127.0.0.1:9/computeMetadata/v1/instance/"
                              "service-accounts/default/token?scopes="
                              "https://a.test/s1,https://a.test/s2");
  assert_non_null(strstr(r->headers, "Metadata-Flavor: Google"));
  assert_int_equal(r->timeout_ms, 3000);
  assert_true(r->flags & EDV_REQ_NOAUTH);
  r = fake_get(1);
  assert_string_equal(r->url, "http://127.0.0.1:9/computeMetadata/v1/project/"
                              "project-id");
  assert_true(r->flags & EDV_REQ_RAWBODY);
  assert_non_null(strstr(r->headers, "Metadata-Flavor: Google"));
  assert_string_equal(edv__auth_project(auth), "my-project");
  assert_non_null(strstr(edv__auth_describe(auth), "metadata server"));
  /* Later refreshes do not ask for the project again. */
  edv__auth_invalidate(auth, "md-tok");
  fake_script(200, OK_BODY("md-tok-2", "3599"), "Metadata-Flavor: Google\n", 1);
  memset(&g, 0, sizeof(g));
  ask(auth, &g);
  run();
  assert_string_equal(g.token, "md-tok-2");
  assert_int_equal(fake_count(), 3);
  auth_done(auth);
}

static void test_metadata_without_flavor(void **state)
{
  edv_auth *auth;
  got g = {0};

  (void)state;
  setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
  auth = auth_with(fake_config());
  fake_script(200, OK_BODY("impostor-token", "3599"), NULL, 1);
  fake_script(200, "p", NULL, 1);
  ask(auth, &g);
  run();
  assert_true(g.failed);
  assert_int_equal(g.err.code, EDV_ECRED);
  assert_non_null(strstr(g.err.message, "Metadata-Flavor"));
  assert_non_null(strstr(g.err.message, "GOOGLE_APPLICATION_CREDENTIALS"));
  assert_null(strstr(g.err.message, "impostor-token"));
  assert_null(edv__auth_project(auth));
  auth_done(auth);
}

static void test_nothing_found(void **state)
{
  edv_auth *auth;
  got g = {0};

  (void)state;
  auth = auth_with(fake_config());
  fake_script(0, NULL, NULL, 1); /* connection failure */
  fake_script(0, NULL, NULL, 1);
  ask(auth, &g);
  run();
  assert_true(g.failed);
  assert_int_equal(g.err.code, EDV_ECRED);
  assert_non_null(strstr(g.err.message, "no Google credentials found"));
  assert_non_null(strstr(g.err.message, "key_file"));
  assert_non_null(strstr(g.err.message, "GOOGLE_APPLICATION_CREDENTIALS"));
  assert_non_null(strstr(g.err.message, "application_default_credentials"));
  assert_non_null(strstr(g.err.message, "metadata.google.internal"));
  auth_done(auth);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, each_setup, each_teardown)
  const struct CMUnitTest tests[] = {
      T(test_state),
      T(test_single_flight),
      T(test_stale_served_while_refreshing),
      T(test_expired_refreshed),
      T(test_refresh_failure_keeps_token),
      T(test_invalid_grant_no_secrets),
      T(test_echoed_assertion_redacted),
      T(test_bad_responses),
      T(test_oauth_5xx_stays_transient),
      T(test_invalidate),
      T(test_submit_failure_async),
      T(test_free_cancels),
      T(test_free_inside_callback),
      T(test_bad_config),
      T(test_self_signed),
      T(test_access_token_file),
      T(test_authorized_user),
      T(test_metadata),
      T(test_metadata_without_flavor),
      T(test_nothing_found),
  };
#undef T
  return cmocka_run_group_tests(tests, setup, teardown);
}
