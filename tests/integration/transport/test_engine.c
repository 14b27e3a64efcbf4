/*
 * test_engine.c - the real engine on a uv loop against the scripted
 * loopback server: keep-alive, retries and what is never retried, 401
 * refresh, deadline, cancel, pagination, close with calls in flight.
 *
 * Every test ends by closing the engine, running the loop dry and checking
 * uv_loop_close() == 0, so a leaked handle fails the test.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mockserver.h"
#include "transport/transport.h"

typedef struct fx {
  uv_loop_t loop;
  mock_server *ms;
  edv_engine *engine;
  char token_path[64];
  int closed;
} fx;

/* What one call's callback saw. */
typedef struct result {
  int done;
  int http_status;
  edv_code code;
  edv_error err;
  unsigned attempts;
  uint64_t elapsed_ms;
  char json[512];
  char header[64];
} result;

static const char ok_body[] = "{\"kind\":\"compute#network\",\"name\":\"n\"}";

static void write_token(fx *f, const char *token)
{
  int fd = open(f->token_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

  assert_true(fd >= 0);
  assert_int_equal(write(fd, token, strlen(token)), (ssize_t)strlen(token));
  close(fd);
}

static fx *fx_new(const char *k1, const char *v1)
{
  fx *f = calloc(1, sizeof(*f));
  edv_config *cfg = edv_config_new();
  edv_error err;
  int fd;

  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->ms = mock_start();
  assert_non_null(f->ms);
  snprintf(f->token_path, sizeof(f->token_path), "/tmp/edv-tok-XXXXXX");
  fd = mkstemp(f->token_path);
  assert_true(fd >= 0);
  close(fd);
  write_token(f, "tok-1");
  assert_int_equal(edv_config_set(cfg, "endpoint", mock_url(f->ms), &err), 0);
  assert_int_equal(
      edv_config_set(cfg, "access_token_file", f->token_path, &err), 0);
  assert_int_equal(edv_config_set(cfg, "project", "p", &err), 0);
  assert_int_equal(edv_config_set(cfg, "retry.initial_ms", "10", &err), 0);
  assert_int_equal(edv_config_set(cfg, "retry.max_ms", "40", &err), 0);
  if (k1)
    assert_int_equal(edv_config_set(cfg, k1, v1, &err), 0);
  f->engine = edv_engine_new(&f->loop, cfg, &err);
  edv_config_free(cfg);
  assert_non_null(f->engine);
  edv__prng_seed(&f->engine->prng, 1234);
  return f;
}

static void on_closed(void *data)
{
  ((fx *)data)->closed++;
}

static void fx_free(fx *f)
{
  edv_engine_close(f->engine, on_closed, f);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(f->closed, 1);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  mock_stop(f->ms);
  unlink(f->token_path);
  free(f);
}

static void on_result(void *data, const edv_response *res)
{
  result *r = data;
  const char *h = edv_response_header(res, "X-Test");

  r->done++;
  r->http_status = res->http_status;
  r->code = res->error ? res->error->code : EDV_OK;
  if (res->error)
    r->err = *res->error;
  r->attempts = res->attempts;
  r->elapsed_ms = res->elapsed_ms;
  if (res->json)
    snprintf(r->json, sizeof(r->json), "%s",
             json_object_to_json_string_ext(res->json, JSON_C_TO_STRING_PLAIN));
  if (h)
    snprintf(r->header, sizeof(r->header), "%s", h);
}

static edv_request req_get(const char *path)
{
  edv_request req = {.api = EDV_API_COMPUTE, .method = "GET", .path = path};

  return req;
}

/* Submits one call and runs the loop until it completed. */
static void run(fx *f, const edv_request *req, result *r)
{
  memset(r, 0, sizeof(*r));
  assert_int_equal(edv_call_submit(f->engine, req, on_result, r, NULL), 0);
  /* The callback never runs inside edv_call_submit(). */
  assert_int_equal(r->done, 0);
  while (!r->done)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(r->done, 1);
}

static void check_auth_header(fx *f, size_t i, const char *want)
{
  mock_request req;
  char buf[128];

  assert_int_equal(mock_request_get(f->ms, i, &req), 0);
  if (want) {
    assert_non_null(
        mock_request_header(&req, "Authorization", buf, sizeof(buf)));
    assert_string_equal(buf, want);
  } else {
    assert_null(mock_request_header(&req, "Authorization", buf, sizeof(buf)));
  }
  mock_request_free(&req);
}

/* ---- Success and keep-alive ---------------------------------------------*/

typedef struct chain {
  fx *f;
  int left;
  int ok;
} chain;

static void on_chain(void *data, const edv_response *res)
{
  chain *c = data;
  edv_request req = req_get("/compute/v1/projects/p/global/networks/n");

  if (!res->error && res->http_status == 200 && res->json)
    c->ok++;
  if (--c->left > 0)
    assert_int_equal(edv_call_submit(c->f->engine, &req, on_chain, c, NULL), 0);
}

static void test_get_keepalive(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/networks/n");
  chain c = {.f = f, .left = 5};
  edv_api_stats st;
  result r;

  (void)state;
  mock_expect(f->ms, "GET", "/compute/v1/", 200, ok_body, "X-Test: yes");
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.http_status, 200);
  assert_int_equal(r.attempts, 1);
  assert_string_equal(r.json, ok_body);
  assert_string_equal(r.header, "yes");
  check_auth_header(f, 0, "Bearer tok-1");

  /* Five more, each submitted from the previous callback. */
  mock_set_default(f->ms, 200, ok_body, NULL);
  assert_int_equal(edv_call_submit(f->engine, &req, on_chain, &c, NULL), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(c.ok, 5);
  assert_int_equal(mock_request_count(f->ms), 6);
  assert_int_equal(mock_connection_count(f->ms), 1); /* reused */
  assert_int_equal(f->engine->http.connects, 1);
  edv_engine_stats(f->engine, EDV_API_COMPUTE, &st);
  assert_int_equal(st.calls, 6);
  assert_int_equal(st.attempts, 6);
  assert_int_equal(st.errors, 0);
  assert_int_equal(st.in_flight, 0);
  fx_free(f);
}

static void test_post_body_and_noauth(void **state)
{
  fx *f = fx_new(NULL, NULL);
  json_object *body = json_tokener_parse("{\"name\":\"edv-1\"}");
  const char *hdrs[] = {"X-Goog-User-Project: p", NULL};
  edv_request req = {.api = EDV_API_OAUTH2,
                     .method = "POST",
                     .path = "/token",
                     .form = "grant_type=x&assertion=y",
                     .flags = EDV_REQ_NOAUTH};
  mock_request m;
  char buf[128];
  result r;

  (void)state;
  mock_set_default(f->ms, 200, "{}", NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  check_auth_header(f, 0, NULL);
  assert_int_equal(mock_request_get(f->ms, 0, &m), 0);
  assert_string_equal(m.body, "grant_type=x&assertion=y");
  assert_string_equal(mock_request_header(&m, "Content-Type", buf, 128),
                      "application/x-www-form-urlencoded");
  mock_request_free(&m);

  req = (edv_request){.api = EDV_API_SQLADMIN,
                      .method = "POST",
                      .path = "/v1/projects/p/instances",
                      .body = body,
                      .headers = hdrs};
  run(f, &req, &r);
  assert_int_equal(mock_request_get(f->ms, 1, &m), 0);
  assert_string_equal(m.method, "POST");
  assert_string_equal(m.body, "{\"name\":\"edv-1\"}");
  assert_string_equal(mock_request_header(&m, "Content-Type", buf, 128),
                      "application/json");
  assert_string_equal(mock_request_header(&m, "X-Goog-User-Project", buf, 128),
                      "p");
  mock_request_free(&m);
  json_object_put(body);
  fx_free(f);
}

/* ---- Retried failures ---------------------------------------------------*/

static const char rate_429[] =
    "{\"error\":{\"code\":429,\"message\":\"Quota exceeded\",\"status\":"
    "\"RESOURCE_EXHAUSTED\",\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}";
static const char rate_403[] =
    "{\"error\":{\"code\":403,\"message\":\"Rate Limit Exceeded\",\"errors\":"
    "[{\"domain\":\"usageLimits\",\"reason\":\"rateLimitExceeded\"}]}}";
static const char unavail_503[] =
    "{\"error\":{\"code\":503,\"message\":\"The service is currently "
    "unavailable.\",\"status\":\"UNAVAILABLE\"}}";

static void test_429_then_200(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/zones/z/instances/i");
  edv_api_stats st;
  result r;

  (void)state;
  mock_expect(f->ms, "GET", NULL, 429, rate_429, NULL);
  mock_expect(f->ms, "GET", NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.attempts, 2);
  edv_engine_stats(f->engine, EDV_API_COMPUTE, &st);
  assert_int_equal(st.rate_limited, 1);
  assert_int_equal(st.retries, 1);
  /* AIMD: the read bucket's rate was halved. */
  assert_true(f->engine->rl.groups[EDV_API_COMPUTE].bucket.rate == 750);
  fx_free(f);
}

static void test_503s_then_200(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/sql/v1beta4/projects/p/instances/db");
  mock_reply twice = {.status = 503, .body = unavail_503, .times = 2};
  result r;

  (void)state;
  req.api = EDV_API_SQLADMIN;
  mock_expect_reply(f->ms, &twice);
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.attempts, 3);
  assert_int_equal(mock_pending(f->ms), 0);
  fx_free(f);
}

static void test_drop_then_200_get(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/networks/n");
  result r;

  (void)state;
  mock_expect(f->ms, NULL, NULL, MOCK_DROP, NULL, NULL);
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.attempts, 2);
  fx_free(f);
}

static void test_post_without_request_id_not_retried(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = {.api = EDV_API_COMPUTE,
                     .method = "POST",
                     .path = "/compute/v1/projects/p/global/networks",
                     .label = "compute.networks.insert"};
  result r;

  (void)state;
  mock_expect(f->ms, NULL, NULL, 503, unavail_503, NULL);
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_EUNAVAIL);
  assert_int_equal(r.http_status, 503);
  assert_int_equal(r.attempts, 1);
  assert_string_equal(r.err.where, "POST compute.networks.insert");
  assert_int_equal(mock_pending(f->ms), 1);
  /* A dropped connection is not repeated either: the server may have
   * acted on the request. */
  mock_reset(f->ms);
  mock_expect(f->ms, NULL, NULL, MOCK_DROP, NULL, NULL);
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_ECONN);
  assert_int_equal(r.attempts, 1);
  fx_free(f);
}

static void test_post_with_request_id_retried(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = {.api = EDV_API_COMPUTE,
                     .method = "POST",
                     .path = "/compute/v1/projects/p/global/networks?requestId="
                             "0f8fad5b-d9cb-469f-a165-70867728950e"};
  result r;

  (void)state;
  mock_expect(f->ms, NULL, NULL, MOCK_DROP, NULL, NULL);
  mock_expect(f->ms, NULL, NULL, 503, unavail_503, NULL);
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.attempts, 3);
  fx_free(f);
}

static void test_compute_403_rate_retried(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/firewalls");
  result r;

  (void)state;
  mock_expect(f->ms, NULL, NULL, 403, rate_403, NULL);
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.attempts, 2);
  fx_free(f);
}

static void test_404_typed_not_retried(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/zones/z/instances/i");
  result r;

  (void)state;
  req.label = "compute.instances.get";
  mock_expect(f->ms, NULL, NULL, 404,
              "{\"error\":{\"code\":404,\"message\":\"The resource "
              "'projects/p/zones/z/instances/i' was not found\",\"errors\":"
              "[{\"domain\":\"global\",\"reason\":\"notFound\"}]}}",
              NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_ENOTFOUND);
  assert_int_equal(r.http_status, 404);
  assert_int_equal(r.attempts, 1);
  assert_string_equal(r.err.reason, "notFound");
  assert_string_equal(r.err.where, "GET compute.instances.get");
  assert_non_null(strstr(r.err.message, "was not found"));
  /* The envelope stays visible to the callback. */
  assert_non_null(strstr(r.json, "notFound"));
  assert_int_equal(mock_request_count(f->ms), 1);
  fx_free(f);
}

static void test_retry_after_honoured(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/networks/n");
  result r;

  (void)state;
  /* Our backoff would be <= 40 ms; the server asks for a full second. */
  mock_expect(f->ms, NULL, NULL, 503, unavail_503, "Retry-After: 1");
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.attempts, 2);
  assert_true(r.elapsed_ms >= 1000);
  assert_true(r.elapsed_ms < 1500);
  fx_free(f);
}

static void test_rate_limit_wakes_queue(void **state)
{
  fx *f = fx_new("ratelimit.dns.per_minute", "60");
  edv_request req = req_get("/dns/v1/projects/p/managedZones");
  edv_api_stats st;
  result r[4];
  int i;

  (void)state;
  /* 60/min: a burst of 3, then one a second, woken by the limiter's
   * timer (nothing polls). */
  req.api = EDV_API_DNS;
  mock_set_default(f->ms, 200, ok_body, NULL);
  memset(r, 0, sizeof(r));
  for (i = 0; i < 4; i++)
    assert_int_equal(edv_call_submit(f->engine, &req, on_result, &r[i], NULL),
                     0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  for (i = 0; i < 4; i++)
    assert_int_equal(r[i].code, EDV_OK);
  assert_true(r[0].elapsed_ms < 500);
  assert_true(r[3].elapsed_ms >= 900);
  assert_true(r[3].elapsed_ms < 1600);
  edv_engine_stats(f->engine, EDV_API_DNS, &st);
  assert_int_equal(st.throttle_waits, 1);
  fx_free(f);
}

/* ---- Deadline, cancel, 401 ----------------------------------------------*/

static void test_deadline(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/networks/slow");
  mock_reply slow = {.status = 200, .body = ok_body, .delay_ms = 3000};
  mock_reply busy = {.status = 503,
                     .body = unavail_503,
                     .headers = "Retry-After: 30",
                     .times = 5};
  uint64_t t0;
  result r;

  (void)state;
  mock_expect_reply(f->ms, &slow);
  req.timeout_ms = 300;
  t0 = edv__now_ms();
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_ETIMEDOUT);
  assert_true(edv__now_ms() - t0 >= 290);
  assert_true(edv__now_ms() - t0 < 300 + 250);
  /* Retry-After beyond the deadline: fail now, with the 503's detail. */
  mock_reset(f->ms);
  mock_expect_reply(f->ms, &busy);
  req.timeout_ms = 2000;
  t0 = edv__now_ms();
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_ETIMEDOUT);
  assert_int_equal(r.http_status, 503);
  assert_non_null(strstr(r.err.message, "EUNAVAIL"));
  assert_true(edv__now_ms() - t0 < 1000);
  fx_free(f);
}

static void cancel_cb(uv_timer_t *t)
{
  edv_call_cancel(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/networks/slow");
  mock_reply slow = {.status = 200, .body = ok_body, .delay_ms = 3000};
  uv_timer_t timer;
  edv_call *call;
  result r = {0};

  (void)state;
  mock_expect_reply(f->ms, &slow);
  assert_int_equal(edv_call_submit(f->engine, &req, on_result, &r, &call), 0);
  assert_non_null(call);
  uv_timer_init(&f->loop, &timer);
  timer.data = call;
  uv_timer_start(&timer, cancel_cb, 100, 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.done, 1);
  assert_int_equal(r.code, EDV_ECANCELED);
  assert_true(r.elapsed_ms < 1000);
  fx_free(f);
}

static const char unauth_401[] =
    "{\"error\":{\"code\":401,\"message\":\"Request had invalid "
    "authentication credentials.\",\"status\":\"UNAUTHENTICATED\"}}";

static void test_401_refresh_once(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/networks/n");
  result r;

  (void)state;
  /* The token was rotated: the resend must read the new one. */
  mock_expect(f->ms, NULL, NULL, 401, unauth_401, NULL);
  mock_expect(f->ms, NULL, NULL, 200, ok_body, NULL);
  write_token(f, "tok-1");
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_OK);
  assert_int_equal(r.attempts, 2);
  check_auth_header(f, 0, "Bearer tok-1");
  check_auth_header(f, 1, "Bearer tok-1");
  /* Refused twice: one refresh only, then the typed error. */
  mock_reset(f->ms);
  mock_set_default(f->ms, 401, unauth_401, NULL);
  write_token(f, "tok-2");
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_EUNAUTH);
  assert_int_equal(r.attempts, 2);
  assert_int_equal(mock_request_count(f->ms), 2);
  fx_free(f);
}

/* ---- Pages, limits, close ------------------------------------------------*/

typedef struct pages {
  int items;
  int done;
  unsigned npages;
  edv_code code;
} pages;

static int on_page(void *data, json_object *page)
{
  pages *p = data;
  json_object *items;

  if (json_object_object_get_ex(page, "items", &items))
    p->items += (int)json_object_array_length(items);
  return 0;
}

static void on_pages_done(void *data, const edv_error *err, unsigned n)
{
  pages *p = data;

  p->done++;
  p->npages = n;
  p->code = err ? err->code : EDV_OK;
}

static void test_pages(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req =
      req_get("/compute/v1/projects/p/zones/z/instances?maxResults=2");
  pages p = {0};
  mock_request m;

  (void)state;
  mock_expect(f->ms, NULL, NULL, 200,
              "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
              "\"nextPageToken\":\"t1\"}",
              NULL);
  mock_expect(f->ms, NULL, NULL, 200,
              "{\"items\":[{\"name\":\"c\"},{\"name\":\"d\"}],"
              "\"nextPageToken\":\"t+2\"}",
              NULL);
  mock_expect(f->ms, NULL, NULL, 200, "{\"items\":[{\"name\":\"e\"}]}", NULL);
  assert_int_equal(edv_call_pages(f->engine, &req, on_page, on_pages_done, &p),
                   0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(p.done, 1);
  assert_int_equal(p.code, EDV_OK);
  assert_int_equal(p.npages, 3);
  assert_int_equal(p.items, 5);
  assert_int_equal(mock_request_get(f->ms, 1, &m), 0);
  assert_string_equal(m.path,
                      "/compute/v1/projects/p/zones/z/instances?maxResults=2"
                      "&pageToken=t1");
  mock_request_free(&m);
  assert_int_equal(mock_request_get(f->ms, 2, &m), 0);
  assert_string_equal(m.path,
                      "/compute/v1/projects/p/zones/z/instances?maxResults=2"
                      "&pageToken=t%2B2");
  mock_request_free(&m);
  /* An error on page two ends the walk with it. */
  memset(&p, 0, sizeof(p));
  mock_expect(f->ms, NULL, NULL, 200, "{\"nextPageToken\":\"x\"}", NULL);
  mock_expect(f->ms, NULL, NULL, 403, "{\"error\":{\"code\":403}}", NULL);
  assert_int_equal(edv_call_pages(f->engine, &req, on_page, on_pages_done, &p),
                   0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(p.code, EDV_EPERM);
  assert_int_equal(p.npages, 1);
  fx_free(f);
}

static void test_body_limit(void **state)
{
  fx *f = fx_new("http.max_response_bytes", "1024");
  edv_request req = req_get("/compute/v1/projects/p/global/networks");
  char big[3000];
  result r;

  (void)state;
  memset(big, ' ', sizeof(big) - 3);
  big[0] = '{';
  big[sizeof(big) - 3] = '}';
  big[sizeof(big) - 2] = '\0';
  mock_expect(f->ms, NULL, NULL, 200, big, NULL);
  run(f, &req, &r);
  assert_int_equal(r.code, EDV_EPROTO);
  assert_int_equal(r.attempts, 1);
  fx_free(f);
}

static void test_concurrency_cap_and_close(void **state)
{
  fx *f = fx_new("ratelimit.dns.concurrency", "1");
  edv_request req = req_get("/dns/v1/projects/p/managedZones/z");
  mock_reply slow = {
      .status = 200, .body = ok_body, .delay_ms = 5000, .times = 10};
  edv_api_stats st;
  result r[3];
  int i;

  (void)state;
  req.api = EDV_API_DNS;
  mock_expect_reply(f->ms, &slow);
  memset(r, 0, sizeof(r));
  for (i = 0; i < 3; i++)
    assert_int_equal(edv_call_submit(f->engine, &req, on_result, &r[i], NULL),
                     0);
  /* Let the first request reach the server; the others wait for a slot. */
  while (mock_request_count(f->ms) < 1)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  for (i = 0; i < 20; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  edv_engine_stats(f->engine, EDV_API_DNS, &st);
  assert_int_equal(st.in_flight, 3);
  assert_int_equal(st.attempts, 1);
  assert_int_equal(st.throttle_waits, 2);
  /* Closing cancels all three; their callbacks run before close_cb. */
  edv_engine_close(f->engine, on_closed, f);
  for (i = 0; i < 3; i++) {
    assert_int_equal(r[i].done, 1);
    assert_int_equal(r[i].code, EDV_ECANCELED);
  }
  assert_int_equal(edv_call_submit(f->engine, &req, on_result, &r[0], NULL),
                   EDV_ECANCELED);
  fx_free(f); /* a second close is a no-op */
}

typedef struct stress {
  edv_call *calls[300]; /* handles of the calls not yet completed */
  int done[300];
  int ok, canceled, other;
} stress;

typedef struct stress_ref {
  stress *s;
  int i;
} stress_ref;

static void on_stress(void *data, const edv_response *res)
{
  stress_ref *ref = data;

  ref->s->calls[ref->i] = NULL; /* the handle dies with the callback */
  ref->s->done[ref->i]++;
  if (!res->error)
    ref->s->ok++;
  else if (res->error->code == EDV_ECANCELED)
    ref->s->canceled++;
  else
    ref->s->other++;
}

static void stress_cancel_cb(uv_timer_t *t)
{
  stress *s = t->data;
  int i;

  /* Cancel every tenth call that has not completed yet. */
  for (i = 0; i < 300; i += 10)
    if (s->calls[i])
      edv_call_cancel(s->calls[i]);
  uv_close((uv_handle_t *)t, NULL);
}

static void test_stress_mixed_faults(void **state)
{
  fx *f = fx_new("ratelimit.compute.concurrency", "16");
  edv_request req = req_get("/compute/v1/projects/p/global/networks/n");
  static const int statuses[] = {200, 503, MOCK_DROP, 429, 200, 200, 502};
  static stress s;
  stress_ref refs[300];
  uv_timer_t timer;
  int i;

  (void)state;
  memset(&s, 0, sizeof(s));
  for (i = 0; i < 600; i++) {
    mock_reply r = {.status = statuses[i % 7],
                    .body = statuses[i % 7] == 200 ? ok_body : unavail_503,
                    .delay_ms = (unsigned)(i % 5)};
    mock_expect_reply(f->ms, &r);
  }
  mock_set_default(f->ms, 200, ok_body, NULL);
  for (i = 0; i < 300; i++) {
    refs[i].s = &s;
    refs[i].i = i;
    assert_int_equal(
        edv_call_submit(f->engine, &req, on_stress, &refs[i], &s.calls[i]), 0);
  }
  uv_timer_init(&f->loop, &timer);
  timer.data = &s;
  uv_timer_start(&timer, stress_cancel_cb, 20, 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  for (i = 0; i < 300; i++)
    assert_int_equal(s.done[i], 1);
  print_message("# ok %d canceled %d other %d\n", s.ok, s.canceled, s.other);
  assert_int_equal(s.ok + s.canceled + s.other, 300);
  assert_int_equal(s.other, 0); /* every fault was retried away */
  fx_free(f);
}

static void close_from_cb(void *data, const edv_response *res)
{
  fx *f = data;

  assert_null(res->error);
  edv_engine_close(f->engine, on_closed, f);
}

static void test_close_from_callback(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("/compute/v1/projects/p/global/networks/n");
  result other = {0};

  (void)state;
  mock_set_default(f->ms, 200, ok_body, NULL);
  assert_int_equal(edv_call_submit(f->engine, &req, close_from_cb, f, NULL), 0);
  req.timeout_ms = 5000;
  assert_int_equal(edv_call_submit(f->engine, &req, on_result, &other, NULL),
                   0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(f->closed, 1);
  assert_int_equal(other.done, 1);
  /* The engine is gone: tear down the rest by hand. */
  assert_int_equal(uv_loop_close(&f->loop), 0);
  mock_stop(f->ms);
  unlink(f->token_path);
  free(f);
}

static void test_bad_arguments(void **state)
{
  fx *f = fx_new(NULL, NULL);
  edv_request req = req_get("relative/path");
  result r = {0};

  (void)state;
  assert_int_equal(edv_call_submit(f->engine, &req, on_result, &r, NULL),
                   EDV_EINVAL);
  req = req_get("/x");
  req.method = "TRACE";
  assert_int_equal(edv_call_submit(f->engine, &req, on_result, &r, NULL),
                   EDV_EINVAL);
  req = req_get("/x");
  req.api = EDV_API_OTHER; /* no endpoint: absolute URLs only */
  assert_int_equal(edv_call_submit(f->engine, &req, on_result, &r, NULL),
                   EDV_EINVAL);
  assert_int_equal(edv_call_submit(NULL, &req, on_result, &r, NULL),
                   EDV_EINVAL);
  assert_int_equal(r.done, 0);
  assert_string_equal(edv_engine_endpoint(f->engine, EDV_API_SQLADMIN),
                      mock_url(f->ms));
  assert_string_equal(edv_engine_project(f->engine), "p");
  assert_string_equal(edv_api_name(EDV_API_CERTIFICATEMANAGER),
                      "certificatemanager");
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_keepalive),
      cmocka_unit_test(test_post_body_and_noauth),
      cmocka_unit_test(test_429_then_200),
      cmocka_unit_test(test_503s_then_200),
      cmocka_unit_test(test_drop_then_200_get),
      cmocka_unit_test(test_post_without_request_id_not_retried),
      cmocka_unit_test(test_post_with_request_id_retried),
      cmocka_unit_test(test_compute_403_rate_retried),
      cmocka_unit_test(test_404_typed_not_retried),
      cmocka_unit_test(test_retry_after_honoured),
      cmocka_unit_test(test_rate_limit_wakes_queue),
      cmocka_unit_test(test_deadline),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_401_refresh_once),
      cmocka_unit_test(test_pages),
      cmocka_unit_test(test_body_limit),
      cmocka_unit_test(test_concurrency_cap_and_close),
      cmocka_unit_test(test_stress_mixed_faults),
      cmocka_unit_test(test_close_from_callback),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
