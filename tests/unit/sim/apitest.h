/*
 * apitest.h - the client side of the API-module tests (test_sql.c,
 * test_dns.c, test_certmgr.c, test_misc_apis.c): a simulator on its own
 * loop in a second thread, and a blocking libcurl client in the test
 * thread, so only HTTP crosses between them (as for a real client). The
 * same harness as test_sim.c, trimmed, with a token from the metadata
 * endpoint instead of a signed JWT.
 *
 * Include after <cmocka.h>. Every helper is static inline so a test file
 * that does not use one does not warn.
 */
#ifndef EDV_TEST_SIM_APITEST_H
#define EDV_TEST_SIM_APITEST_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "edv/sim.h"

typedef struct simfx {
  uv_loop_t loop;
  uv_async_t stop;
  pthread_t thread;
  edv_sim *es;
  unsigned port;
  char dir[64];
  char state_path[128];
  int closed;
  char token[256];
  /* fx_on_loop(): a call run on the simulator's loop thread */
  uv_async_t call;
  void (*call_fn)(edv_sim *es, void *arg);
  void *call_arg;
  int call_done;
  int call_ready; /* call, mu and cv set up (by fx_start_in) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
} simfx;

typedef struct reply {
  long status;
  CURLcode result;
  char *body;
  size_t len;
  json_object *json;
  char ctype[160]; /* the answer's Content-Type */
} reply;

static inline void fx_closed(void *data)
{
  ((simfx *)data)->closed++;
}

static inline void fx_stop_cb(uv_async_t *a)
{
  simfx *f = a->data;

  uv_close((uv_handle_t *)&f->stop, NULL);
  if (f->call_ready)
    uv_close((uv_handle_t *)&f->call, NULL);
  edv_sim_close(f->es, fx_closed, f);
}

static inline void fx_call_cb(uv_async_t *a)
{
  simfx *f = a->data;

  f->call_fn(f->es, f->call_arg);
  pthread_mutex_lock(&f->mu);
  f->call_done = 1;
  pthread_cond_signal(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

/* Runs fn(es, arg) on the simulator's loop thread and waits for it: how a
 * test reaches the simulator's internals without racing its loop. */
static inline void fx_on_loop(simfx *f, void (*fn)(edv_sim *es, void *arg),
                              void *arg)
{
  pthread_mutex_lock(&f->mu);
  f->call_fn = fn;
  f->call_arg = arg;
  f->call_done = 0;
  pthread_mutex_unlock(&f->mu);
  uv_async_send(&f->call);
  pthread_mutex_lock(&f->mu);
  while (!f->call_done)
    pthread_cond_wait(&f->cv, &f->mu);
  pthread_mutex_unlock(&f->mu);
}

static inline void *fx_loop(void *arg)
{
  simfx *f = arg;

  uv_run(&f->loop, UV_RUN_DEFAULT);
  return NULL;
}

static inline size_t fx_write_cb(char *p, size_t sz, size_t n, void *data)
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

static inline void reply_free(reply *r)
{
  free(r->body);
  json_object_put(r->json);
  memset(r, 0, sizeof(*r));
}

/* One blocking request with a Content-Type of the caller's. */
static inline long http_ct(simfx *f, const char *method, const char *path,
                           const char *ctype, const char *body, reply *r);

/* One blocking request; body NULL sends none (an empty one for POST). */
static inline long http(simfx *f, const char *method, const char *path,
                        const char *body, reply *r)
{
  return http_ct(f, method, path, "application/json", body, r);
}

static inline long http_ct(simfx *f, const char *method, const char *path,
                           const char *ctype, const char *body, reply *r)
{
  char cth[200];
  char *got = NULL;
  CURL *c = curl_easy_init();
  char url[2048], auth[320];
  struct curl_slist *h = NULL;

  memset(r, 0, sizeof(*r));
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
  if (f->token[0]) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->token);
    h = curl_slist_append(h, auth);
  }
  snprintf(cth, sizeof(cth), "Content-Type: %s", ctype);
  h = curl_slist_append(h, cth);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  else if (strcmp(method, "POST") == 0)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  r->result = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &got) == CURLE_OK && got)
    snprintf(r->ctype, sizeof(r->ctype), "%s", got);
  if (r->body)
    r->json = json_tokener_parse(r->body);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r->status;
}

/* http() with a formatted path. */
static inline long httpf(simfx *f, const char *method, const char *body,
                         reply *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static inline long httpf(simfx *f, const char *method, const char *body,
                         reply *r, const char *fmt, ...)
{
  char path[2048];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(path, sizeof(path), fmt, ap);
  va_end(ap);
  return http(f, method, path, body, r);
}

/* A field by dotted path ("error.errors.0.reason"), as a string; NULL when
 * absent. */
static inline const char *jget(json_object *o, const char *path)
{
  char buf[256], *save = NULL;

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

static inline size_t jlen(json_object *o, const char *path)
{
  char buf[256], *save = NULL;

  snprintf(buf, sizeof(buf), "%s", path);
  for (char *t = strtok_r(buf, ".", &save); t && o;
       t = strtok_r(NULL, ".", &save)) {
    if (json_object_is_type(o, json_type_array))
      o = json_object_array_get_idx(o, (size_t)atoi(t));
    else
      o = json_object_object_get(o, t);
  }
  return o && json_object_is_type(o, json_type_array)
             ? json_object_array_length(o)
             : 0;
}

#define assert_jeq(o, path, want)                                              \
  do {                                                                         \
    const char *got_ = jget((o), (path));                                      \
    if (got_ == NULL || strcmp(got_, (want)) != 0)                             \
      fail_msg("%s: want '%s', got '%s' in %s", (path), (want),                \
               got_ ? got_ : "(none)", json_object_to_json_string(o));         \
  } while (0)

/* Expects status; on a mismatch fails with the body. */
#define expect_status(r, want)                                                 \
  do {                                                                         \
    if ((r)->status != (want))                                                 \
      fail_msg("want HTTP %d, got %ld: %s", (int)(want), (r)->status,          \
               (r)->body ? (r)->body : "(no body)");                           \
  } while (0)

static inline long advance(simfx *f, double seconds)
{
  reply r;
  char body[64];
  long status;

  snprintf(body, sizeof(body), "{\"seconds\":%.3f}", seconds);
  status = http(f, "POST", "/_sim/clock/advance", body, &r);
  reply_free(&r);
  return status;
}

/* A bearer token from the metadata endpoint (no key signing needed). */
static inline void fx_login(simfx *f)
{
  CURL *c = curl_easy_init();
  char url[256];
  struct curl_slist *h = curl_slist_append(NULL, "Metadata-Flavor: Google");
  reply r;

  memset(&r, 0, sizeof(r));
  snprintf(url, sizeof(url),
           "http://127.0.0.1:%u/computeMetadata/v1/instance/"
           "service-accounts/default/token",
           f->port);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  r.json = json_tokener_parse(r.body);
  assert_non_null(jget(r.json, "access_token"));
  snprintf(f->token, sizeof(f->token), "%s", jget(r.json, "access_token"));
  reply_free(&r);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

/*
 * Starts a simulator with its state file in dir (NULL: a fresh temporary
 * directory) and logs in. With the realistic profile only the test moves
 * the clock, so every state in between can be observed.
 */
static inline simfx *fx_start_in(const char *profile, const char *dir)
{
  simfx *f = calloc(1, sizeof(*f));
  edv_sim_options o;
  edv_error err;

  assert_non_null(f);
  if (dir) {
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
  } else {
    snprintf(f->dir, sizeof(f->dir), "/tmp/edv-simapi-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
  }
  snprintf(f->state_path, sizeof(f->state_path), "%s/state.json", f->dir);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  memset(&o, 0, sizeof(o));
  o.profile = profile;
  o.time_scale = 1;
  o.state_file = f->state_path;
  o.seed = 7;
  f->es = edv_sim_start(&f->loop, &o, &err);
  if (f->es == NULL)
    fail_msg("edv_sim_start: %s", err.message);
  f->port = edv_sim_port(f->es);
  uv_async_init(&f->loop, &f->stop, fx_stop_cb);
  f->stop.data = f;
  uv_async_init(&f->loop, &f->call, fx_call_cb);
  f->call.data = f;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  f->call_ready = 1;
  assert_int_equal(pthread_create(&f->thread, NULL, fx_loop, f), 0);
  fx_login(f);
  return f;
}

static inline simfx *fx_start(const char *profile)
{
  return fx_start_in(profile, NULL);
}

/* Stops the simulator (it saves its state); keep_dir leaves the state
 * file for a restart with fx_start_in(). */
static inline void fx_stop(simfx *f, int keep_dir)
{
  char cmd[200];

  uv_async_send(&f->stop);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  assert_int_equal(f->closed, 1);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  if (f->call_ready) {
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
  }
  if (!keep_dir) {
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
  }
  free(f);
}

static inline void fx_free(simfx *f)
{
  fx_stop(f, 0);
}

/* ---- lists ------------------------------------------------------------- */

/* Follows a list through its pages (`collection` + "?" + query, then
 * &pageToken=): the last path segment of each item's name, space-ended,
 * into out; *pages gets how many pages it took. Each page's "kind" must be
 * `kind` (NULL: not checked). */
static inline void list_names(simfx *f, const char *collection,
                              const char *items, const char *kind,
                              const char *query, char *out, size_t n,
                              int *pages)
{
  char token[300] = "";
  reply r;

  out[0] = '\0';
  *pages = 0;
  for (;;) {
    if (token[0])
      httpf(f, "GET", NULL, &r, "%s?%s&pageToken=%s", collection, query, token);
    else
      httpf(f, "GET", NULL, &r, "%s?%s", collection, query);
    expect_status(&r, 200);
    if (kind)
      assert_jeq(r.json, "kind", kind);
    (*pages)++;
    for (size_t i = 0; i < jlen(r.json, items); i++) {
      char path[64];
      const char *name, *slash;

      snprintf(path, sizeof(path), "%s.%zu.name", items, i);
      name = jget(r.json, path);
      assert_non_null(name);
      slash = strrchr(name, '/');
      snprintf(out + strlen(out), n - strlen(out), "%s ",
               slash ? slash + 1 : name);
    }
    if (!jget(r.json, "nextPageToken")) {
      reply_free(&r);
      return;
    }
    assert_true(jlen(r.json, items) > 0);
    snprintf(token, sizeof(token), "%s", jget(r.json, "nextPageToken"));
    reply_free(&r);
    if (*pages > 10)
      fail_msg("%s: pages never end", collection);
  }
}

/* ---- Compute operations ------------------------------------------------ */

/* The path of a URL the simulator returned (selfLink). */
static inline const char *url_path(const char *url)
{
  const char *p = strstr(url, "://");

  return p ? strchr(p + 3, '/') : url;
}

/* Advances the clock in 5 s steps until the operation in r is DONE;
 * fails on an operation error. Frees r. */
static inline void op_done(simfx *f, reply *r)
{
  char path[1024];
  reply o;

  expect_status(r, 200);
  assert_jeq(r->json, "kind", "compute#operation");
  snprintf(path, sizeof(path), "%s", url_path(jget(r->json, "selfLink")));
  reply_free(r);
  for (int i = 0; i < 400; i++) {
    http(f, "GET", path, NULL, &o);
    expect_status(&o, 200);
    if (strcmp(jget(o.json, "status"), "DONE") == 0) {
      if (jget(o.json, "error"))
        fail_msg("operation failed: %s", o.body);
      reply_free(&o);
      return;
    }
    reply_free(&o);
    assert_int_equal(advance(f, 5), 200);
  }
  fail_msg("operation %s never finished", path);
}

/* POSTs/DELETEs and waits for the operation. */
static inline void call_done(simfx *f, const char *method, const char *path,
                             const char *body)
{
  reply r;

  http(f, method, path, body, &r);
  op_done(f, &r);
}

#endif /* EDV_TEST_SIM_APITEST_H */
