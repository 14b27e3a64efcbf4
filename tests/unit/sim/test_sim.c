/*
 * test_sim.c - the simulator core through its HTTP face: token exchange
 * and its invalid_grant cases, bearer checks, the networks module with
 * its operations (PENDING -> RUNNING -> DONE on the simulated clock, wait,
 * requestId), name rules and Google's errors, faults, quotas, rate limits,
 * persistence and the admin API.
 *
 * The simulator runs on its own loop in a second thread; the test thread
 * is a blocking libcurl client (as a real client is a separate process).
 * Only HTTP crosses between them, except in test_admin_state, which puts a
 * resource before the loop thread starts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "edv/sim.h"
#include "sim/sim_int.h"

typedef struct simfx {
  uv_loop_t loop;
  uv_async_t stop;
  pthread_t thread;
  edv_sim *es;
  unsigned port;
  char dir[64];
  char key_path[128];
  char state_path[128];
  int closed;
  json_object *key;
  char token[128];
} simfx;

#define NET "/compute/v1/projects/edv-sim/global/networks"
#define OPS "/compute/v1/projects/edv-sim/global/operations/"

/* --- harness ------------------------------------------------------------ */

static void fx_closed(void *data)
{
  simfx *f = data;

  f->closed++;
}

static void fx_stop_cb(uv_async_t *a)
{
  simfx *f = a->data;

  uv_close((uv_handle_t *)&f->stop, NULL);
  edv_sim_close(f->es, fx_closed, f);
}

static void *fx_loop(void *arg)
{
  simfx *f = arg;

  uv_run(&f->loop, UV_RUN_DEFAULT);
  return NULL;
}

/* Starts a simulator; state_dir reuses a directory (persistence test). */
static simfx *fx_new(const char *profile, double scale, const char *dir)
{
  simfx *f = calloc(1, sizeof(*f));
  edv_sim_options o;
  edv_error err;

  assert_non_null(f);
  if (dir) {
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
  } else {
    const char *tmp = getenv("TMPDIR");

    snprintf(f->dir, sizeof(f->dir), "%s/edv-simtest-XXXXXX",
             tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
  }
  snprintf(f->key_path, sizeof(f->key_path), "%s/key.json", f->dir);
  snprintf(f->state_path, sizeof(f->state_path), "%s/state.json", f->dir);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  memset(&o, 0, sizeof(o));
  o.profile = profile;
  o.time_scale = scale;
  o.state_file = f->state_path;
  o.seed = 42;
  f->es = edv_sim_start(&f->loop, &o, &err);
  if (f->es == NULL)
    fail_msg("edv_sim_start: %s", err.message);
  f->port = edv_sim_port(f->es);
  assert_int_equal(edv_sim_write_key(f->es, f->key_path, &err), 0);
  f->key = json_object_from_file(f->key_path);
  assert_non_null(f->key);
  uv_async_init(&f->loop, &f->stop, fx_stop_cb);
  f->stop.data = f;
  return f;
}

static void fx_run(simfx *f)
{
  assert_int_equal(pthread_create(&f->thread, NULL, fx_loop, f), 0);
}

static void fx_free(simfx *f, int keep_dir)
{
  char cmd[200];

  uv_async_send(&f->stop);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  assert_int_equal(f->closed, 1);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  json_object_put(f->key);
  if (!keep_dir) {
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
  }
  free(f);
}

typedef struct reply {
  long status;
  CURLcode result;
  char *body;
  size_t len;
  char headers[2048];
  size_t hlen;
  json_object *json;
} reply;

static size_t write_cb(char *p, size_t sz, size_t n, void *data)
{
  reply *r = data;
  char *q = realloc(r->body, r->len + sz * n + 1);

  if (q == NULL)
    return 0;
  r->body = q;
  memcpy(r->body + r->len, p, sz * n);
  r->len += sz * n;
  r->body[r->len] = '\0';
  return sz * n;
}

static size_t header_cb(char *p, size_t sz, size_t n, void *data)
{
  reply *r = data;
  size_t take = sz * n;

  if (take > sizeof(r->headers) - 1 - r->hlen)
    take = sizeof(r->headers) - 1 - r->hlen;
  memcpy(r->headers + r->hlen, p, take);
  r->hlen += take;
  r->headers[r->hlen] = '\0';
  return sz * n;
}

static void reply_free(reply *r)
{
  free(r->body);
  json_object_put(r->json);
  memset(r, 0, sizeof(*r));
}

static long http_timeout_ms = 20000;

/* One blocking request; extra is an optional header line. */
static long http(simfx *f, const char *method, const char *path,
                 const char *body, const char *extra, reply *r)
{
  CURL *c = curl_easy_init();
  char url[1024], auth[200];
  struct curl_slist *h = NULL;

  memset(r, 0, sizeof(*r));
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
  if (f->token[0]) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->token);
    h = curl_slist_append(h, auth);
  }
  if (extra)
    h = curl_slist_append(h, extra);
  h = curl_slist_append(h, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  else if (strcmp(method, "POST") == 0)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, http_timeout_ms);
  r->result = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  if (r->body)
    r->json = json_tokener_parse(r->body);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r->status;
}

/* A string field by dotted path ("error.errors"); NULL when absent. */
static const char *jget(json_object *o, const char *path)
{
  char buf[200], *save = NULL;

  snprintf(buf, sizeof(buf), "%s", path);
  for (char *t = strtok_r(buf, ".", &save); t && o;
       t = strtok_r(NULL, ".", &save)) {
    if (json_object_is_type(o, json_type_array))
      o = json_object_array_get_idx(o, (size_t)atoi(t));
    else
      o = json_object_object_get(o, t);
  }
  return o ? json_object_get_string(o) : NULL;
}

static void assert_jeq(json_object *o, const char *path, const char *want)
{
  const char *got = jget(o, path);

  if (got == NULL || strcmp(got, want) != 0)
    fail_msg("%s: want '%s', got '%s' in %s", path, want, got ? got : "(none)",
             json_object_to_json_string(o));
}

/* --- tokens ------------------------------------------------------------- */

static char *make_jwt(const char *pem, const char *kid, const char *iss,
                      const char *aud, const char *scope, long iat, long exp)
{
  jwt_t *j = NULL;
  char *out;

  assert_int_equal(jwt_new(&j), 0);
  jwt_add_grant(j, "iss", iss);
  if (aud)
    jwt_add_grant(j, "aud", aud);
  if (scope)
    jwt_add_grant(j, "scope", scope);
  jwt_add_grant_int(j, "iat", iat);
  jwt_add_grant_int(j, "exp", exp);
  jwt_add_header(j, "kid", kid);
  assert_int_equal(jwt_set_alg(j, JWT_ALG_RS256, (const unsigned char *)pem,
                               (int)strlen(pem)),
                   0);
  out = jwt_encode_str(j);
  jwt_free(j);
  assert_non_null(out);
  return out;
}

static char *key_jwt(simfx *f, const char *aud, long iat, long exp)
{
  return make_jwt(jget(f->key, "private_key"), jget(f->key, "private_key_id"),
                  jget(f->key, "client_email"), aud,
                  "https://www.googleapis.com/auth/cloud-platform", iat, exp);
}

static long exchange(simfx *f, const char *assertion, reply *r)
{
  CURL *c = curl_easy_init();
  char *esc = curl_easy_escape(c, assertion, 0);
  size_t n = strlen(esc) + 100;
  char *form = malloc(n);
  long status;
  char saved[128];

  snprintf(form, n,
           "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-"
           "bearer&assertion=%s",
           esc);
  curl_free(esc);
  curl_easy_cleanup(c);
  memcpy(saved, f->token, sizeof(saved));
  f->token[0] = '\0';
  status = http(f, "POST", "/token", form,
                "Content-Type: application/x-www-form-urlencoded", r);
  memcpy(f->token, saved, sizeof(saved));
  free(form);
  return status;
}

/* Gets a token with the written key and uses it from now on. */
static void login(simfx *f)
{
  reply r;
  long now = (long)time(NULL);
  char *a = key_jwt(f, jget(f->key, "token_uri"), now, now + 3600);

  assert_int_equal(exchange(f, a, &r), 200);
  snprintf(f->token, sizeof(f->token), "%s", jget(r.json, "access_token"));
  assert_jeq(r.json, "token_type", "Bearer");
  assert_jeq(r.json, "expires_in", "3599");
  reply_free(&r);
  free(a);
}

/* A fresh RSA key: private PEM returned, public PEM in *pub if asked. */
static char *other_key_pem_pub(char **pub)
{
  EVP_PKEY *k = EVP_RSA_gen(2048);
  BIO *b = BIO_new(BIO_s_mem());
  char *data, *out;
  long n;

  assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL),
                   1);
  n = BIO_get_mem_data(b, &data);
  out = strndup(data, (size_t)n);
  BIO_free(b);
  if (pub) {
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    n = BIO_get_mem_data(b, &data);
    *pub = strndup(data, (size_t)n);
    BIO_free(b);
  }
  EVP_PKEY_free(k);
  return out;
}

static char *other_key_pem(void)
{
  return other_key_pem_pub(NULL);
}

static void expect_grant_error(simfx *f, const char *assertion,
                               const char *description)
{
  reply r;

  assert_int_equal(exchange(f, assertion, &r), 400);
  assert_jeq(r.json, "error", "invalid_grant");
  assert_jeq(r.json, "error_description", description);
  reply_free(&r);
}

static void test_token(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  long now = (long)time(NULL);
  const char *aud;
  char *a, *pem;
  reply r;

  (void)state;
  fx_run(f);
  aud = jget(f->key, "token_uri");
  assert_non_null(strstr(aud, "/token"));
  login(f);
  /* Bad signature: the right kid, signed by another key. */
  pem = other_key_pem();
  a = make_jwt(pem, jget(f->key, "private_key_id"),
               jget(f->key, "client_email"), aud, "x", now, now + 3600);
  expect_grant_error(f, a, "Invalid JWT Signature.");
  free(a);
  /* Unknown kid. */
  a = make_jwt(pem, "0123456789abcdef", jget(f->key, "client_email"), aud, "x",
               now, now + 3600);
  expect_grant_error(f, a, "Invalid JWT Signature.");
  free(a);
  free(pem);
  /* Wrong audience. */
  a = key_jwt(f, "https://example.com/token", now, now + 3600);
  expect_grant_error(f, a, "Invalid JWT: Failed audience check.");
  free(a);
  /* Stale iat, and a lifetime over an hour. */
  a = key_jwt(f, aud, now - 7200, now - 3600);
  expect_grant_error(f, a,
                     "Invalid JWT: Token must be a short-lived token (60 "
                     "minutes) and in a reasonable timeframe. Check your iat "
                     "and exp values in the JWT claim.");
  free(a);
  a = key_jwt(f, aud, now, now + 7200);
  expect_grant_error(f, a,
                     "Invalid JWT: Token must be a short-lived token (60 "
                     "minutes) and in a reasonable timeframe. Check your iat "
                     "and exp values in the JWT claim.");
  free(a);
  /* The token works; no token or a bad one gets Google's 401. */
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 200);
  reply_free(&r);
  snprintf(f->token, sizeof(f->token), "ya29.nope");
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 401);
  assert_jeq(r.json, "error.status", "UNAUTHENTICATED");
  assert_non_null(strstr(jget(r.json, "error.message"),
                         "Request had invalid authentication credentials. "
                         "Expected OAuth 2 access token"));
  reply_free(&r);
  f->token[0] = '\0';
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 401);
  assert_jeq(r.json, "error.errors.0.reason", "required");
  reply_free(&r);
  /* A key the test brings is trusted through the admin API. */
  {
    char *pub = NULL, *priv = other_key_pem_pub(&pub);
    json_object *body = json_object_new_object();

    json_object_object_add(body, "kid", json_object_new_string("ext-1"));
    json_object_object_add(body, "client_email",
                           json_object_new_string("ext@p.iam.gserviceaccount."
                                                  "com"));
    json_object_object_add(body, "public_key", json_object_new_string(pub));
    assert_int_equal(http(f, "POST", "/_sim/keys",
                          json_object_to_json_string(body), NULL, &r),
                     200);
    reply_free(&r);
    a = make_jwt(priv, "ext-1", "ext@p.iam.gserviceaccount.com", aud, "x", now,
                 now + 3600);
    assert_int_equal(exchange(f, a, &r), 200);
    reply_free(&r);
    free(a);
    json_object_put(body);
    free(pub);
    free(priv);
  }
  fx_free(f, 0);
}

/* A self-signed JWT (aud https://SERVICE/) is a bearer too. */
static void test_self_signed_bearer(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  long now = (long)time(NULL);
  char *a, auth[4096];
  reply r;

  (void)state;
  fx_run(f);
  a = make_jwt(jget(f->key, "private_key"), jget(f->key, "private_key_id"),
               jget(f->key, "client_email"), "https://compute.googleapis.com/",
               NULL, now, now + 3600);
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a);
  assert_int_equal(http(f, "GET", NET, NULL, auth, &r), 200);
  reply_free(&r);
  free(a);
  fx_free(f, 0);
}

/* --- networks and operations -------------------------------------------- */

static long advance(simfx *f, double seconds)
{
  reply r;
  char body[64];
  long status;

  snprintf(body, sizeof(body), "{\"seconds\":%.3f}", seconds);
  status = http(f, "POST", "/_sim/clock/advance", body, NULL, &r);
  reply_free(&r);
  return status;
}

static char *op_path(reply *r)
{
  char buf[300];

  snprintf(buf, sizeof(buf), OPS "%s", jget(r->json, "name"));
  return strdup(buf);
}

struct later {
  simfx *f;
  int ms;
  double seconds;
};

static void *advance_later(void *arg)
{
  struct later *l = arg;

  usleep((useconds_t)l->ms * 1000);
  advance(l->f, l->seconds);
  return NULL;
}

static void test_network_lifecycle(void **state)
{
  /* Realistic durations on a real-time clock: only advance moves it. */
  simfx *f = fx_new("realistic", 1, NULL);
  reply r;
  char *op;
  pthread_t t;
  struct later l;

  (void)state;
  fx_run(f);
  login(f);
  assert_int_equal(http(f, "POST", NET,
                        "{\"name\":\"edv-net\","
                        "\"autoCreateSubnetworks\":false}",
                        NULL, &r),
                   200);
  assert_jeq(r.json, "kind", "compute#operation");
  assert_jeq(r.json, "status", "PENDING");
  assert_jeq(r.json, "operationType", "insert");
  assert_non_null(strstr(jget(r.json, "targetLink"),
                         "/compute/v1/projects/edv-sim/global/networks/"
                         "edv-net"));
  /* Links point back at us, not at googleapis.com. */
  assert_int_equal(strncmp(jget(r.json, "selfLink"), "http://127.0.0.1:", 17),
                   0);
  op = op_path(&r);
  reply_free(&r);
  /* Not visible until DONE. */
  assert_int_equal(http(f, "GET", NET "/edv-net", NULL, NULL, &r), 404);
  reply_free(&r);
  /* Creating it again while it is being created conflicts. */
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"edv-net\"}", NULL, &r),
                   409);
  reply_free(&r);
  assert_int_equal(advance(f, 3.5), 200);
  assert_int_equal(http(f, "GET", op, NULL, NULL, &r), 200);
  assert_jeq(r.json, "status", "RUNNING");
  assert_non_null(jget(r.json, "startTime"));
  assert_null(jget(r.json, "endTime"));
  reply_free(&r);
  /* wait is deferred until the clock moves past the end. */
  l.f = f;
  l.ms = 300;
  l.seconds = 60;
  assert_int_equal(pthread_create(&t, NULL, advance_later, &l), 0);
  assert_int_equal(http(f, "POST",
                        "/compute/v1/projects/edv-sim/global/"
                        "operations/x",
                        NULL, NULL, &r),
                   404);
  reply_free(&r);
  {
    char wait[400];

    snprintf(wait, sizeof(wait), "%s/wait", op);
    assert_int_equal(http(f, "POST", wait, NULL, NULL, &r), 200);
  }
  pthread_join(t, NULL);
  assert_jeq(r.json, "status", "DONE");
  assert_jeq(r.json, "progress", "100");
  assert_non_null(jget(r.json, "endTime"));
  reply_free(&r);
  assert_int_equal(http(f, "GET", NET "/edv-net", NULL, NULL, &r), 200);
  assert_jeq(r.json, "kind", "compute#network");
  assert_jeq(r.json, "autoCreateSubnetworks", "false");
  reply_free(&r);
  /* Compute list filters: RE2-style full matches on fields. */
  assert_int_equal(
      http(f, "GET", NET "?filter=name%20eq%20%22edv-.*%22", NULL, NULL, &r),
      200);
  assert_jeq(r.json, "items.0.name", "edv-net");
  reply_free(&r);
  assert_int_equal(
      http(f, "GET", NET "?filter=name%20eq%20%22edv%22", NULL, NULL, &r), 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r.json, "items")), 0);
  reply_free(&r);
  /* RE2 syntax POSIX lacks, single quotes, (?i); AIP-160 ordering. */
  assert_int_equal(http(f, "GET", NET "?filter=name%20eq%20%27%5Cw%2B-net%27",
                        NULL, NULL, &r),
                   200);
  assert_jeq(r.json, "items.0.name", "edv-net");
  reply_free(&r);
  assert_int_equal(
      http(f, "GET", NET "?filter=name%20eq%20(%3Fi)EDV-NET", NULL, NULL, &r),
      200);
  assert_jeq(r.json, "items.0.name", "edv-net");
  reply_free(&r);
  assert_int_equal(http(f, "GET",
                        NET "?filter=(name%20%3D%20x)%20OR%20(name%20%3D%20"
                            "edv-net)",
                        NULL, NULL, &r),
                   200);
  assert_jeq(r.json, "items.0.name", "edv-net");
  reply_free(&r);
  /* An invalid expression is Compute's 400, not an empty list. */
  assert_int_equal(http(f, "GET", NET "?filter=name%20eq%20(", NULL, NULL, &r),
                   400);
  assert_jeq(r.json, "error.errors.0.reason", "invalid");
  assert_jeq(r.json, "error.message",
             "Invalid value for field 'filter': 'name eq ('. Invalid list "
             "filter expression.");
  reply_free(&r);
  assert_int_equal(http(f, "GET",
                        NET "?filter=(name%20eq%20edv.*)%20(status%20%3D%20x)",
                        NULL, NULL, &r),
                   400);
  reply_free(&r);
  /* Errors, each in Compute's legacy envelope. */
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"edv-net\"}", NULL, &r),
                   409);
  assert_jeq(r.json, "error.errors.0.reason", "alreadyExists");
  assert_jeq(r.json, "error.message",
             "The resource 'projects/edv-sim/global/networks/edv-net' "
             "already exists");
  reply_free(&r);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"Bad_Name\"}", NULL, &r),
                   400);
  assert_jeq(r.json, "error.errors.0.reason", "invalid");
  assert_non_null(strstr(jget(r.json, "error.message"),
                         "Invalid value for field 'resource.name': "
                         "'Bad_Name'"));
  reply_free(&r);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"x-\"}", NULL, &r), 400);
  reply_free(&r);
  assert_int_equal(http(f, "GET", NET "/missing", NULL, NULL, &r), 404);
  assert_jeq(r.json, "error.errors.0.reason", "notFound");
  assert_jeq(r.json, "error.message",
             "The resource 'projects/edv-sim/global/networks/missing' was "
             "not found");
  reply_free(&r);
  assert_int_equal(http(f, "DELETE", NET "/missing", NULL, NULL, &r), 404);
  reply_free(&r);
  assert_int_equal(http(f, "POST", NET, "{bad json", NULL, &r), 400);
  assert_jeq(r.json, "error.errors.0.reason", "parseError");
  reply_free(&r);
  assert_int_equal(http(f, "GET",
                        "/compute/v1/projects/other/global/"
                        "networks",
                        NULL, NULL, &r),
                   404);
  reply_free(&r);
  /* Delete goes through an operation too. */
  assert_int_equal(http(f, "DELETE", NET "/edv-net", NULL, NULL, &r), 200);
  assert_jeq(r.json, "operationType", "delete");
  reply_free(&r);
  assert_int_equal(advance(f, 60), 200);
  assert_int_equal(http(f, "GET", NET "/edv-net", NULL, NULL, &r), 404);
  reply_free(&r);
  free(op);
  fx_free(f, 0);
}

static void test_request_id(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  reply r1, r2;
  const char *rid = "?requestId=5f2b7c1e-8d6a-4b3c-9e1f-0a1b2c3d4e5f";
  char path[200];

  (void)state;
  fx_run(f);
  login(f);
  snprintf(path, sizeof(path), NET "%s", rid);
  assert_int_equal(http(f, "POST", path, "{\"name\":\"n1\"}", NULL, &r1), 200);
  assert_int_equal(http(f, "POST", path, "{\"name\":\"n1\"}", NULL, &r2), 200);
  assert_string_equal(jget(r1.json, "name"), jget(r2.json, "name"));
  assert_jeq(r2.json, "clientOperationId",
             "5f2b7c1e-8d6a-4b3c-9e1f-0a1b2c3d4e5f");
  reply_free(&r1);
  reply_free(&r2);
  /* Without the requestId the same insert is a conflict (or a second
   * network), never a silent duplicate. */
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"n1\"}", NULL, &r1), 409);
  reply_free(&r1);
  fx_free(f, 0);
}

/* --- faults, quotas, rate limits ---------------------------------------- */

static void wait_done(simfx *f, reply *op_reply, reply *out)
{
  char path[400];
  char *op = op_path(op_reply);

  snprintf(path, sizeof(path), "%s/wait", op);
  free(op);
  assert_int_equal(http(f, "POST", path, NULL, NULL, out), 200);
  assert_jeq(out->json, "status", "DONE");
}

static void test_faults(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  reply r, w;

  (void)state;
  fx_run(f);
  login(f);
  assert_int_equal(http(f, "POST", "/_sim/faults",
                        "{\"api\":\"compute\",\"method\":\"compute.networks."
                        "insert\",\"errorRate\":1,\"code\":503,\"count\":1}",
                        NULL, &r),
                   200);
  reply_free(&r);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"f1\"}", NULL, &r), 503);
  assert_jeq(r.json, "error.errors.0.reason", "backendError");
  reply_free(&r);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"f1\"}", NULL, &r), 200);
  wait_done(f, &r, &w);
  reply_free(&r);
  reply_free(&w);
  /* Drop after apply: the change happens, the answer never comes. */
  assert_int_equal(http(f, "POST", "/_sim/faults",
                        "{\"method\":\"compute.networks.insert\","
                        "\"dropAfterApply\":1,\"count\":1}",
                        NULL, &r),
                   200);
  reply_free(&r);
  http(f, "POST", NET, "{\"name\":\"f2\"}", NULL, &r);
  assert_true(r.result == CURLE_GOT_NOTHING || r.result == CURLE_RECV_ERROR);
  reply_free(&r);
  usleep(100 * 1000); /* fast profile: done within 50 ms */
  assert_int_equal(http(f, "GET", NET "/f2", NULL, NULL, &r), 200);
  reply_free(&r);
  /* An operation that ends in error, and gives its quota back. */
  assert_int_equal(http(f, "POST", "/_sim/faults",
                        "{\"failOperation\":\"compute.networks.insert\","
                        "\"count\":1,\"operationError\":{\"code\":"
                        "\"QUOTA_EXCEEDED\",\"message\":\"no\","
                        "\"httpStatus\":403}}",
                        NULL, &r),
                   200);
  reply_free(&r);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"f3\"}", NULL, &r), 200);
  wait_done(f, &r, &w);
  assert_jeq(w.json, "error.errors.0.code", "QUOTA_EXCEEDED");
  assert_jeq(w.json, "httpErrorStatusCode", "403");
  reply_free(&r);
  reply_free(&w);
  assert_int_equal(http(f, "GET", NET "/f3", NULL, NULL, &r), 404);
  reply_free(&r);
  assert_int_equal(http(f, "DELETE", "/_sim/faults", NULL, NULL, &r), 200);
  reply_free(&r);
  /* The request log saw all of it, the dropped request included. */
  assert_int_equal(http(f, "GET", "/_sim/requests", NULL, NULL, &r), 200);
  assert_jeq(r.json, "countsByStatus.503", "1");
  assert_jeq(r.json, "countsByStatus.0", "1");
  reply_free(&r);
  fx_free(f, 0);
}

static void test_quota_and_rate(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  reply r, w;

  (void)state;
  fx_run(f);
  login(f);
  assert_int_equal(http(f, "POST", "/_sim/quotas",
                        "{\"metric\":\"NETWORKS\",\"limit\":1}", NULL, &r),
                   200);
  reply_free(&r);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"q1\"}", NULL, &r), 200);
  wait_done(f, &r, &w);
  reply_free(&r);
  reply_free(&w);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"q2\"}", NULL, &r), 403);
  assert_jeq(r.json, "error.errors.0.reason", "quotaExceeded");
  assert_jeq(r.json, "error.errors.0.domain", "usageLimits");
  assert_jeq(r.json, "error.message",
             "Quota 'NETWORKS' exceeded. Limit: 1.0 globally.");
  reply_free(&r);
  /* Regions carry their quotas. */
  assert_int_equal(http(f, "GET",
                        "/compute/v1/projects/edv-sim/regions/"
                        "us-central1",
                        NULL, NULL, &r),
                   200);
  assert_jeq(r.json, "quotas.0.metric", "CPUS");
  assert_jeq(r.json, "quotas.0.limit", "24.0");
  reply_free(&r);
  /* Reads: two a minute, then 403 until the next simulated minute. */
  assert_int_equal(http(f, "POST", "/_sim/limits",
                        "{\"api\":\"compute\",\"readsPerMinute\":2}", NULL, &r),
                   200);
  reply_free(&r);
  advance(f, 60); /* start on a fresh minute */
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 200);
  reply_free(&r);
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 200);
  reply_free(&r);
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 403);
  assert_jeq(r.json, "error.errors.0.reason", "rateLimitExceeded");
  reply_free(&r);
  advance(f, 60);
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 200);
  reply_free(&r);
  fx_free(f, 0);
}

/* --- persistence, admin, metadata --------------------------------------- */

static void test_persistence(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  reply r, w;
  char dir[64], id[32], token[128], kid[64];
  struct stat st;

  (void)state;
  fx_run(f);
  login(f);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"keep\"}", NULL, &r), 200);
  wait_done(f, &r, &w);
  reply_free(&r);
  reply_free(&w);
  assert_int_equal(http(f, "GET", NET "/keep", NULL, NULL, &r), 200);
  snprintf(id, sizeof(id), "%s", jget(r.json, "id"));
  reply_free(&r);
  snprintf(dir, sizeof(dir), "%s", f->dir);
  snprintf(token, sizeof(token), "%s", f->token);
  snprintf(kid, sizeof(kid), "%s", jget(f->key, "private_key_id"));
  fx_free(f, 1);
  assert_int_equal(stat("/dev/null", &st), 0);
  {
    char path[128];

    snprintf(path, sizeof(path), "%s/state.json", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
  }
  f = fx_new("fast", 1, dir);
  fx_run(f);
  /* Same key, same token, same resource. */
  assert_string_equal(jget(f->key, "private_key_id"), kid);
  snprintf(f->token, sizeof(f->token), "%s", token);
  assert_int_equal(http(f, "GET", NET "/keep", NULL, NULL, &r), 200);
  assert_jeq(r.json, "id", id);
  reply_free(&r);
  fx_free(f, 0);
}

static void test_admin_state(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  sim *s = edv__sim_core(f->es);
  json_object *a = json_tokener_parse("{\"name\":\"a\",\"labels\":{"
                                      "\"edv-tenant\":\"t1\"}}");
  json_object *b = json_tokener_parse("{\"name\":\"b\",\"labels\":{"
                                      "\"edv-tenant\":\"t2\"}}");
  reply r;

  (void)state;
  /* The loop thread is not running yet: the store is ours to touch. */
  sim_store_put(s, "projects/edv-sim/zones/us-central1-a/instances/a",
                "compute#instance", a);
  sim_store_put(s, "projects/edv-sim/zones/us-central1-a/instances/b",
                "compute#instance", b);
  fx_run(f);
  assert_int_equal(
      http(f, "GET", "/_sim/state?label=edv-tenant%3Dt1", NULL, NULL, &r), 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r.json, "resources")), 1);
  assert_jeq(r.json, "resources.0.resource.name", "a");
  reply_free(&r);
  assert_int_equal(
      http(f, "GET", "/_sim/state?kind=compute%23zone", NULL, NULL, &r), 200);
  assert_true(json_object_array_length(
                  json_object_object_get(r.json, "resources")) >= 20);
  reply_free(&r);
  assert_int_equal(http(f, "GET", "/_sim/health", NULL, NULL, &r), 200);
  assert_jeq(r.json, "status", "ok");
  reply_free(&r);
  assert_int_equal(http(f, "POST", "/_sim/reset", NULL, NULL, &r), 200);
  reply_free(&r);
  assert_int_equal(
      http(f, "GET", "/_sim/state?label=edv-tenant", NULL, NULL, &r), 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r.json, "resources")), 0);
  reply_free(&r);
  fx_free(f, 0);
}

static void test_metadata(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  reply r;

  (void)state;
  fx_run(f);
  assert_int_equal(http(f, "GET",
                        "/computeMetadata/v1/instance/"
                        "service-accounts/default/token",
                        NULL, NULL, &r),
                   403);
  reply_free(&r);
  assert_int_equal(http(f, "GET",
                        "/computeMetadata/v1/instance/"
                        "service-accounts/default/token",
                        NULL, "Metadata-Flavor: Google", &r),
                   200);
  assert_non_null(strstr(r.headers, "Metadata-Flavor: Google"));
  assert_jeq(r.json, "token_type", "Bearer");
  snprintf(f->token, sizeof(f->token), "%s", jget(r.json, "access_token"));
  reply_free(&r);
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 200);
  reply_free(&r);
  assert_int_equal(http(f, "GET", "/computeMetadata/v1/project/project-id",
                        NULL, "Metadata-Flavor: Google", &r),
                   200);
  assert_string_equal(r.body, "edv-sim");
  reply_free(&r);
  fx_free(f, 0);
}

/* --- the operation engine through a test module ------------------------- */

/* A module of our own under /x/ (so no real module's routes compete):
 * starts an operation of the shape named in ?shape=, slow on purpose. */

static int thing_create(sim *s, sim_req *req, sim_resp *resp)
{
  sim_op_spec spec;
  const char *shape = sim_query(req, "shape");
  char name[200];
  sim_op *op;

  memset(&spec, 0, sizeof(spec));
  snprintf(name, sizeof(name), "projects/%s/locations/%s/things/%s",
           sim_param(req, "project"), sim_param(req, "location"),
           sim_query(req, "thingId"));
  spec.duration = SIM_DUR_SLOW;
  spec.target_name = name;
  spec.payload = json_object_new_string(name);
  if (strcmp(shape, "lro") == 0) {
    spec.shape = SIM_OP_LRO;
    spec.scope = sim_param(req, "location");
    spec.operation_type = "create";
    spec.metadata_type = "type.googleapis.com/test.OperationMetadata";
  } else if (strcmp(shape, "sql") == 0) {
    spec.shape = SIM_OP_SQL;
    spec.operation_type = "CREATE";
    spec.target_id = sim_query(req, "thingId");
  } else if (strcmp(shape, "dns") == 0) {
    spec.shape = SIM_OP_DNS;
    spec.scope = "zone1";
    spec.duration = SIM_DUR_INSTANT;
    spec.dns_change = json_tokener_parse("{\"additions\":[]}");
  } else {
    spec.shape = SIM_OP_COMPUTE;
    spec.scope = "global";
    spec.operation_type = "insert";
  }
  op = sim_op_start(s, req, &spec);
  return sim_op_respond(s, resp, op);
}

static void thing_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *thing = json_object_new_object();

  json_object_object_add(thing, "name", json_object_get(payload));
  sim_op_set_response(op, "type.googleapis.com/test.Thing", thing);
}

static int thing_get(sim *s, sim_req *req, sim_resp *resp)
{
  sim_op *op = sim_op_find(s, sim_param(req, "name"));

  if (op == NULL)
    return sim_err(resp, 404, "notFound", "no %s", sim_param(req, "name"));
  return sim_op_respond(s, resp, op);
}

static const sim_route thing_routes[] = {
    {"POST", "/x/v1/projects/{project}/locations/{location}/things",
     "test.things.create", thing_create, thing_apply, 0, NULL},
    {"GET", "/x/v1/{+name}", "test.operations.get", thing_get, NULL, 0, NULL},
};

static void test_op_shapes(void **state)
{
  simfx *f = fx_new("realistic", 1, NULL);
  reply r, w;
  pthread_t t;
  struct later l;
  char path[400];

  (void)state;
  assert_int_equal(
      sim_register(edv__sim_core(f->es), SIM_API_CERTMGR, thing_routes, 2), 0);
  fx_run(f);
  login(f);
  /* google.longrunning: done only at the end, with the response. */
  assert_int_equal(http(f, "POST",
                        "/x/v1/projects/edv-sim/locations/global/"
                        "things?shape=lro&thingId=t1",
                        "{}", NULL, &r),
                   200);
  assert_jeq(r.json, "done", "false");
  assert_jeq(r.json, "metadata.@type",
             "type.googleapis.com/test.OperationMetadata");
  assert_jeq(r.json, "metadata.verb", "create");
  snprintf(path, sizeof(path), "/x/v1/%s", jget(r.json, "name"));
  reply_free(&r);
  assert_int_equal(advance(f, 600), 200);
  assert_int_equal(http(f, "GET", path, NULL, NULL, &r), 200);
  assert_jeq(r.json, "done", "true");
  assert_jeq(r.json, "response.@type", "type.googleapis.com/test.Thing");
  assert_jeq(r.json, "response.name",
             "projects/edv-sim/locations/global/things/t1");
  reply_free(&r);
  /* Cloud SQL and DNS shapes. */
  assert_int_equal(http(f, "POST",
                        "/x/v1/projects/edv-sim/locations/global/"
                        "things?shape=sql&thingId=db1",
                        "{}", NULL, &r),
                   200);
  assert_jeq(r.json, "kind", "sql#operation");
  assert_jeq(r.json, "status", "PENDING");
  assert_jeq(r.json, "targetId", "db1");
  reply_free(&r);
  assert_int_equal(http(f, "POST",
                        "/x/v1/projects/edv-sim/locations/global/"
                        "things?shape=dns&thingId=c",
                        "{}", NULL, &r),
                   200);
  assert_jeq(r.json, "kind", "dns#change");
  assert_jeq(r.json, "id", "1");
  assert_jeq(r.json, "status", "pending");
  reply_free(&r);
  /* Compute wait on a slow operation returns at its two-minute deadline,
   * still RUNNING. */
  assert_int_equal(http(f, "POST",
                        "/x/v1/projects/edv-sim/locations/global/"
                        "things?shape=compute&thingId=c1",
                        "{}", NULL, &r),
                   200);
  l.f = f;
  l.ms = 300;
  l.seconds = 121;
  assert_int_equal(pthread_create(&t, NULL, advance_later, &l), 0);
  snprintf(path, sizeof(path), OPS "%s/wait", jget(r.json, "name"));
  assert_int_equal(http(f, "POST", path, NULL, NULL, &w), 200);
  pthread_join(t, NULL);
  assert_jeq(w.json, "status", "RUNNING");
  reply_free(&r);
  reply_free(&w);
  fx_free(f, 0);
}

static void test_latency_fault(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  reply r;
  uint64_t t0;

  (void)state;
  fx_run(f);
  login(f);
  assert_int_equal(http(f, "POST", "/_sim/faults",
                        "{\"api\":\"compute\",\"latencyMs\":200}", NULL, &r),
                   200);
  reply_free(&r);
  t0 = uv_hrtime();
  assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 200);
  assert_true(uv_hrtime() - t0 >= 200 * 1000000ull);
  reply_free(&r);
  /* Spikes: latencyRate is the share of requests delayed; 0 delays none
   * (a 60 s delay would outlast the client's 5 s timeout). */
  assert_int_equal(http(f, "DELETE", "/_sim/faults", NULL, NULL, &r), 200);
  reply_free(&r);
  assert_int_equal(http(f, "POST", "/_sim/faults",
                        "{\"api\":\"compute\",\"latencyMs\":60000,"
                        "\"latencyRate\":0}",
                        NULL, &r),
                   200);
  reply_free(&r);
  assert_int_equal(http(f, "GET", "/_sim/faults", NULL, NULL, &r), 200);
  assert_jeq(r.json, "faults.0.latencyRate", "0.0");
  reply_free(&r);
  http_timeout_ms = 5000;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(http(f, "GET", NET, NULL, NULL, &r), 200);
    reply_free(&r);
  }
  http_timeout_ms = 20000;
  fx_free(f, 0);
}

/* A waiter whose client gives up is dropped, not answered later. */
static void test_wait_client_gone(void **state)
{
  simfx *f = fx_new("realistic", 1, NULL);
  reply r, w;
  char path[400];

  (void)state;
  fx_run(f);
  login(f);
  assert_int_equal(http(f, "POST", NET, "{\"name\":\"w1\"}", NULL, &r), 200);
  snprintf(path, sizeof(path), OPS "%s/wait", jget(r.json, "name"));
  reply_free(&r);
  http_timeout_ms = 200;
  http(f, "POST", path, NULL, NULL, &w);
  http_timeout_ms = 20000;
  assert_int_equal(w.result, CURLE_OPERATION_TIMEDOUT);
  reply_free(&w);
  usleep(100 * 1000);
  assert_int_equal(advance(f, 60), 200);
  assert_int_equal(http(f, "GET", "/_sim/requests", NULL, NULL, &r), 200);
  /* The abandoned wait is logged with status 0 (no answer). */
  assert_jeq(r.json, "countsByStatus.0", "1");
  reply_free(&r);
  assert_int_equal(http(f, "GET", NET "/w1", NULL, NULL, &r), 200);
  reply_free(&r);
  fx_free(f, 0);
}

/* --- routing ------------------------------------------------------------ */

static int echo_route(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o = json_object_new_object();
  const char *names[] = {"name", "p", "t"};

  json_object_object_add(o, "route",
                         json_object_new_string(sim_req_method_id(req)));
  for (size_t i = 0; i < 3; i++)
    if (sim_param(req, names[i]))
      json_object_object_add(o, names[i],
                             json_object_new_string(sim_param(req, names[i])));
  return sim_resp_json(resp, 200, o);
}

static const sim_route echo_routes[] = {
    {"GET", "/x/v1/{+name}", "plus", echo_route, NULL, SIM_ROUTE_NOAUTH, NULL},
    {"GET", "/x/v1/projects/{p}/things/{t}", "flat", echo_route, NULL,
     SIM_ROUTE_NOAUTH, NULL},
    {"POST", "/x/v1/projects/{p}/things/{t}:act", "act", echo_route, NULL,
     SIM_ROUTE_NOAUTH, NULL},
    {"GET", "/x/v1/{+name}:get", "plusverb", echo_route, NULL, SIM_ROUTE_NOAUTH,
     NULL},
    {"GET", "/x/v1/projects/{p}/hosty", "nohost", echo_route, NULL,
     SIM_ROUTE_NOAUTH, NULL},
    {"GET", "/x/v1/projects/{p}/hosty", "host", echo_route, NULL,
     SIM_ROUTE_NOAUTH, "special."},
};

static void expect_route(simfx *f, const char *method, const char *path,
                         const char *extra, const char *route,
                         const char *param, const char *value)
{
  reply r;

  assert_int_equal(http(f, method, path, NULL, extra, &r), 200);
  assert_jeq(r.json, "route", route);
  if (param)
    assert_jeq(r.json, param, value);
  reply_free(&r);
}

static void test_routing(void **state)
{
  simfx *f = fx_new("fast", 1, NULL);
  reply r;

  (void)state;
  assert_int_equal(sim_register(edv__sim_core(f->es), SIM_API_MONITORING,
                                echo_routes,
                                sizeof(echo_routes) / sizeof(*echo_routes)),
                   0);
  fx_run(f);
  /* More literal segments win over {+name}, whatever the order. */
  expect_route(f, "GET", "/x/v1/projects/a/things/b", NULL, "flat", "t", "b");
  expect_route(f, "GET", "/x/v1/projects/a/other/b", NULL, "plus", "name",
               "projects/a/other/b");
  /* A literal suffix after a parameter (custom verbs). */
  expect_route(f, "POST", "/x/v1/projects/a/things/b:act", NULL, "act", "t",
               "b");
  expect_route(f, "GET", "/x/v1/a/b:get", NULL, "plusverb", "name", "a/b");
  /* An encoded slash stays inside its parameter. */
  expect_route(f, "GET", "/x/v1/projects/a%2Fb/things/c", NULL, "flat", "p",
               "a/b");
  /* Host breaks the tie between identical templates. */
  expect_route(f, "GET", "/x/v1/projects/a/hosty", "Host: special.example",
               "host", NULL, NULL);
  expect_route(f, "GET", "/x/v1/projects/a/hosty", NULL, "nohost", NULL, NULL);
  /* A known path with another verb, and an unknown path: 404. */
  assert_int_equal(
      http(f, "DELETE", "/x/v1/projects/a/things/b", NULL, NULL, &r), 404);
  reply_free(&r);
  assert_int_equal(http(f, "GET", "/nowhere", NULL, NULL, &r), 404);
  reply_free(&r);
  fx_free(f, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_token),
      cmocka_unit_test(test_self_signed_bearer),
      cmocka_unit_test(test_network_lifecycle),
      cmocka_unit_test(test_request_id),
      cmocka_unit_test(test_faults),
      cmocka_unit_test(test_quota_and_rate),
      cmocka_unit_test(test_persistence),
      cmocka_unit_test(test_admin_state),
      cmocka_unit_test(test_metadata),
      cmocka_unit_test(test_op_shapes),
      cmocka_unit_test(test_latency_fault),
      cmocka_unit_test(test_wait_client_gone),
      cmocka_unit_test(test_routing),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
