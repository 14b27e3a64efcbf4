/*
 * test_httpd.c - the libmicrohttpd adapter: sync and deferred answers, the
 * body limit, deadlines, a client that leaves while its request is
 * suspended, and shutdown with a request still suspended.
 *
 * The loop (and the server) run on a second thread; the test thread is a
 * plain blocking libcurl client. The server is only touched from the loop
 * thread: the test thread talks to it through uv_async_t.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "httpd/httpd.h"

typedef struct fixture {
  uv_loop_t loop;
  uv_async_t stop;
  uv_timer_t later; /* answers deferred requests */
  pthread_t thread;
  edv_httpd *httpd;
  edv_http_req *held; /* a suspended request */
  unsigned port;
  int close_calls;
  int end_calls[4];
  int handled;
  int answer_after_ms; /* 0: answer now; -1: never (hold) */
  uint64_t deadline_ms;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} fixture;

static void on_closed(void *data)
{
  fixture *f = data;

  f->close_calls++;
}

static void later_cb(uv_timer_t *t)
{
  fixture *f = t->data;

  if (f->held) {
    edv__httpd_respond(f->held, 202, "text/plain", "later", 5);
    f->held = NULL;
  }
}

static void on_end(void *data, edv_http_req *req, edv_httpd_end why)
{
  fixture *f = data;

  f->end_calls[why]++;
  if (f->held == req)
    f->held = NULL;
}

static void handler(void *data, edv_http_req *req)
{
  fixture *f = data;
  size_t len;
  const char *body = edv__http_body(req, &len);
  char buf[256];

  f->handled++;
  if (f->answer_after_ms == 0) {
    snprintf(
        buf, sizeof(buf), "%s %s q=%s x=%s h=%s len=%zu body=%s",
        edv__http_method(req), edv__http_path(req), edv__http_query_raw(req),
        edv__http_query(req, "x") ? edv__http_query(req, "x") : "-",
        edv__http_header(req, "x-test") ? edv__http_header(req, "x-test") : "-",
        len, body);
    edv__http_add_header(req, "X-Reply", "yes");
    edv__httpd_respond(req, 200, "text/plain", buf, strlen(buf));
    return;
  }
  f->held = req;
  edv__http_on_end(req, f->deadline_ms, on_end, f);
  if (f->answer_after_ms > 0)
    uv_timer_start(&f->later, later_cb, (uint64_t)f->answer_after_ms, 0);
}

static void stop_cb(uv_async_t *a)
{
  fixture *f = a->data;

  uv_close((uv_handle_t *)&f->later, NULL);
  uv_close((uv_handle_t *)&f->stop, NULL);
  edv__httpd_close(f->httpd, on_closed, f);
}

static void *loop_main(void *arg)
{
  fixture *f = arg;

  uv_run(&f->loop, UV_RUN_DEFAULT);
  return NULL;
}

static fixture *start(size_t max_body)
{
  fixture *f = calloc(1, sizeof(*f));
  edv_httpd_options o;
  edv_error err;

  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  memset(&o, 0, sizeof(o));
  o.port = 0;
  o.max_body = max_body;
  o.handler = handler;
  o.data = f;
  f->httpd = edv__httpd_start(&f->loop, &o, &err);
  assert_non_null(f->httpd);
  f->port = edv__httpd_port(f->httpd);
  assert_true(f->port > 0);
  uv_async_init(&f->loop, &f->stop, stop_cb);
  f->stop.data = f;
  uv_timer_init(&f->loop, &f->later);
  f->later.data = f;
  assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
  return f;
}

static void finish(fixture *f, int shutdown_ends)
{
  uv_async_send(&f->stop);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  assert_int_equal(f->close_calls, 1);
  assert_int_equal(f->end_calls[EDV_HTTPD_SHUTDOWN], shutdown_ends);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

typedef struct reply {
  long status;
  CURLcode result;
  char body[1024];
  size_t len;
  char headers[1024];
  size_t hlen;
} reply;

static size_t write_cb(char *p, size_t sz, size_t n, void *data)
{
  reply *r = data;
  size_t take = sz * n;

  if (take > sizeof(r->body) - 1 - r->len)
    take = sizeof(r->body) - 1 - r->len;
  memcpy(r->body + r->len, p, take);
  r->len += take;
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

static void http(fixture *f, const char *method, const char *path,
                 const char *body, long timeout_ms, reply *r)
{
  CURL *c = curl_easy_init();
  char url[512];
  struct curl_slist *h = curl_slist_append(NULL, "X-Test: hello");

  memset(r, 0, sizeof(*r));
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 5000L);
  r->result = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static void test_sync(void **state)
{
  fixture *f = start(0);
  reply r;

  (void)state;
  http(f, "POST", "/a%20b/c?x=1%2B2&y", "{\"k\":1}", 0, &r);
  assert_int_equal(r.result, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "POST /a b/c q=x=1%2B2&y x=1+2 h=hello len=7 "
                              "body={\"k\":1}");
  assert_non_null(strstr(r.headers, "X-Reply: yes"));
  http(f, "GET", "/", NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "GET / q= x=- h=hello len=0 body=");
  finish(f, 0);
}

static void test_async(void **state)
{
  fixture *f = start(0);
  reply r;

  (void)state;
  f->answer_after_ms = 30;
  http(f, "GET", "/slow", NULL, 0, &r);
  assert_int_equal(r.result, CURLE_OK);
  assert_int_equal(r.status, 202);
  assert_string_equal(r.body, "later");
  assert_int_equal(f->end_calls[EDV_HTTPD_GONE], 0);
  finish(f, 0);
}

static void test_body_limit(void **state)
{
  fixture *f = start(16);
  reply r;
  char big[200];

  (void)state;
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  http(f, "POST", "/big", big, 0, &r);
  assert_int_equal(r.status, 413);
  assert_int_equal(f->handled, 0);
  http(f, "POST", "/small", "0123456789", 0, &r);
  assert_int_equal(r.status, 200);
  finish(f, 0);
}

static void test_deadline(void **state)
{
  fixture *f = start(0);
  reply r;

  (void)state;
  f->answer_after_ms = -1; /* hold */
  f->deadline_ms = 50;
  http(f, "GET", "/never", NULL, 0, &r);
  assert_int_equal(r.status, 504);
  assert_int_equal(f->end_calls[EDV_HTTPD_DEADLINE], 1);
  finish(f, 0);
}

/* The client gives up while its request is suspended: the owner hears of
 * it (EDV_HTTPD_GONE) and the server keeps serving. */
static void test_abort_while_suspended(void **state)
{
  fixture *f = start(0);
  reply r;

  (void)state;
  f->answer_after_ms = 300;
  http(f, "GET", "/gone", NULL, 50, &r);
  assert_int_equal(r.result, CURLE_OPERATION_TIMEDOUT);
  usleep(400 * 1000); /* the late answer would come meanwhile */
  /* The hang-up was seen while suspended, so the owner was told and
   * never answered (on_end dropped its pointer). */
  assert_int_equal(f->end_calls[EDV_HTTPD_GONE], 1);
  assert_null(f->held);
  f->answer_after_ms = 0;
  http(f, "GET", "/after", NULL, 0, &r);
  assert_int_equal(r.status, 200);
  finish(f, 0);
}

struct bg {
  fixture *f;
  reply r;
};

static void *bg_request(void *arg)
{
  struct bg *b = arg;

  http(b->f, "GET", "/held", NULL, 0, &b->r);
  return NULL;
}

static void test_shutdown_with_suspended(void **state)
{
  fixture *f = start(0);
  struct bg b = {f, {0}};
  pthread_t t;
  int tries = 0;

  (void)state;
  f->answer_after_ms = -1;
  assert_int_equal(pthread_create(&t, NULL, bg_request, &b), 0);
  /* Wait until the request is held (read without the loop's lock is
   * fine for a test poll: it only ever goes from 0 to 1 here). */
  while (__atomic_load_n(&f->handled, __ATOMIC_SEQ_CST) == 0 && tries++ < 200)
    usleep(10 * 1000);
  assert_int_equal(f->handled, 1);
  finish(f, 1); /* closes the server while the request is suspended */
  pthread_join(t, NULL);
  assert_int_equal(b.r.status, 503);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync),
      cmocka_unit_test(test_async),
      cmocka_unit_test(test_body_limit),
      cmocka_unit_test(test_deadline),
      cmocka_unit_test(test_abort_while_suspended),
      cmocka_unit_test(test_shutdown_with_suspended),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
