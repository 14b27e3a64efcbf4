/*
 * test_httpd.c - the libmicrohttpd adapter: sync and deferred answers, the
 * body limit, deadlines, a client that leaves while its request is
 * suspended, shutdown with a request still suspended, and the connection
 * limits: a request that does not arrive in time (however steadily it
 * trickles), room made for a new client when the slots are full, the
 * per-address limit, the idle keep-alive.
 *
 * The loop (and the server) run on a second thread; the test thread is a
 * plain blocking libcurl client. The server is only touched from the loop
 * thread: the test thread talks to it through uv_async_t.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* Starts a server with these options (handler and data are set here). */
static fixture *start_opts(edv_httpd_options o)
{
  fixture *f = calloc(1, sizeof(*f));
  edv_error err;

  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
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

static fixture *start(size_t max_body)
{
  edv_httpd_options o;

  memset(&o, 0, sizeof(o));
  o.max_body = max_body;
  return start_opts(o);
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

/* ---- connection limits (raw sockets) ----------------------------------*/

/* A connected socket that gives up reading after 5 s; -1 when refused. */
static int dial(fixture *f)
{
  struct sockaddr_in sa;
  struct timeval tv = {5, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  assert_true(fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)f->port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/* A request line and one header, never finished. */
static void send_part(int fd)
{
  static const char part[] = "GET /slow HTTP/1.1\r\nHost: t\r\n";

  assert_int_equal(send(fd, part, sizeof(part) - 1, MSG_NOSIGNAL),
                   (ssize_t)sizeof(part) - 1);
}

/* Reads until the server closes (or 5 s pass: fails): what came. */
static void read_to_end(int fd, char *buf, size_t size)
{
  size_t got = 0;

  for (;;) {
    ssize_t n = recv(fd, buf + got, size - 1 - got, 0);

    if (n < 0 && errno == ECONNRESET)
      break;
    if (n < 0)
      fail_msg("the server did not close the connection: %s", strerror(errno));
    if (n == 0)
      break;
    got += (size_t)n;
    if (got == size - 1)
      break;
  }
  buf[got] = '\0';
}

/* A request whose header lines keep coming, one every 50 ms, is closed
 * when request_timeout_ms has passed since the connection opened: MHD's
 * own timeout, restarted by each byte, would never end it. */
static void test_request_deadline(void **state)
{
  edv_httpd_options o;
  fixture *f;
  char buf[512];
  int fd, closed = 0;

  (void)state;
  memset(&o, 0, sizeof(o));
  o.request_timeout_ms = 300;
  f = start_opts(o);
  fd = dial(f);
  send_part(fd);
  for (int i = 0; i < 100 && !closed; i++) {
    usleep(50 * 1000);
    closed = send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0 ||
             recv(fd, buf, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
  }
  assert_true(closed);
  read_to_end(fd, buf, sizeof(buf));
  close(fd);
  assert_true(strncmp(buf, "HTTP/1.1 408 ", 13) == 0);
  assert_non_null(strstr(buf, "request not received within"));
  assert_int_equal(f->handled, 0);
  finish(f, 0);
}

/* Every slot taken by a slow client: a new client is still served, the
 * oldest slow one being closed to make room (its deadline is far off). */
static void test_make_room(void **state)
{
  edv_httpd_options o;
  fixture *f;
  int fds[16];
  char buf[512];
  reply r;

  (void)state;
  memset(&o, 0, sizeof(o));
  o.max_connections = 16;
  f = start_opts(o);
  for (int i = 0; i < 16; i++) {
    fds[i] = dial(f);
    send_part(fds[i]);
    usleep(2000); /* accepted in this order */
  }
  http(f, "GET", "/new", NULL, 3000, &r);
  assert_int_equal(r.result, CURLE_OK);
  assert_int_equal(r.status, 200);
  read_to_end(fds[0], buf, sizeof(buf));
  assert_true(strncmp(buf, "HTTP/1.1 408 ", 13) == 0);
  for (int i = 0; i < 16; i++)
    close(fds[i]);
  finish(f, 0);
}

/* max_per_ip connections from one address, the next one is refused. */
static void test_per_ip(void **state)
{
  edv_httpd_options o;
  fixture *f;
  int fds[3];
  reply r;

  (void)state;
  memset(&o, 0, sizeof(o));
  o.max_per_ip = 3;
  f = start_opts(o);
  for (int i = 0; i < 3; i++)
    fds[i] = dial(f);
  usleep(100 * 1000); /* accepted */
  http(f, "GET", "/fourth", NULL, 2000, &r);
  assert_int_not_equal(r.result, CURLE_OK);
  assert_int_equal(f->handled, 0);
  close(fds[0]);
  usleep(100 * 1000); /* its close seen */
  http(f, "GET", "/fourth", NULL, 2000, &r);
  assert_int_equal(r.status, 200);
  close(fds[1]);
  close(fds[2]);
  finish(f, 0);
}

/* After an answer the clock starts again: an idle keep-alive is closed
 * once request_timeout_ms passes, without a 408 (it could cross the
 * client's next request). */
static void test_idle_keepalive(void **state)
{
  static const char req[] = "GET /one HTTP/1.1\r\nHost: t\r\n\r\n";
  edv_httpd_options o;
  fixture *f;
  char buf[512];
  ssize_t n;
  int fd;

  (void)state;
  memset(&o, 0, sizeof(o));
  o.request_timeout_ms = 300;
  f = start_opts(o);
  fd = dial(f);
  assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL),
                   (ssize_t)sizeof(req) - 1);
  n = recv(fd, buf, sizeof(buf) - 1, 0);
  assert_true(n > 12);
  assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
  read_to_end(fd, buf, sizeof(buf)); /* the body came with the head */
  close(fd);
  assert_string_equal(buf, "");
  assert_int_equal(f->handled, 1);
  finish(f, 0);
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
      cmocka_unit_test(test_request_deadline),
      cmocka_unit_test(test_make_room),
      cmocka_unit_test(test_per_ip),
      cmocka_unit_test(test_idle_keepalive),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
