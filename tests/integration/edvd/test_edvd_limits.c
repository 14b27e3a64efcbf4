/*
 * test_edvd_limits.c - edvd's connection-level limits, over raw sockets.
 *
 * Errors the HTTP layer makes itself come in the API's JSON error shape:
 * a request target over 8 KiB gets 414, a request line plus headers over
 * 16 KiB gets 431, an announced body over 64 KiB gets 413; a request just
 * under those limits is served.
 *
 * Slow clients cannot starve the API: 4,200 connections (more than
 * server.max_connections, 4,096) each send a request line and then one
 * header line every 250 ms, never finishing their request, from loopback
 * like the probes (so server.max_connections_per_ip is 0 here). Meanwhile
 * GET /healthz is answered, every time, within 5 s, and every slow
 * connection is closed by the server (server.request_timeout_s = 2; most
 * get a JSON 408 first). The /healthz latencies and how long the slow
 * connections lasted are printed (TAP comments), not asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

#define SLOW_N         4200
#define SLOW_TICK_MS   250
#define HEALTHZ_MAX_MS 5000L

static struct sockaddr_in addr; /* edvd's */

static double now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int dial(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  assert_true(fd >= 0);
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Sends req (len bytes) on a new connection and reads the answer until
 * the server closes or 10 s pass; the answer's status, Content-Type and
 * body (as JSON) are checked against want. */
static void expect_json(const char *req, size_t len, int want,
                        const char *want_status)
{
  int fd = dial();
  struct timeval tv = {10, 0};
  size_t cap = 1 << 16, got = 0;
  char *buf = malloc(cap + 1), *body;
  int status = 0;
  json_object *o;

  assert_true(fd >= 0);
  assert_non_null(buf);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  /* The server may answer and close before the whole request is sent. */
  (void)send(fd, req, len, MSG_NOSIGNAL);
  for (;;) {
    ssize_t n = recv(fd, buf + got, cap - got, 0);

    if (n <= 0)
      break;
    got += (size_t)n;
    if (got == cap)
      break;
  }
  close(fd);
  buf[got] = '\0';
  assert_true(sscanf(buf, "HTTP/1.1 %d", &status) == 1);
  assert_int_equal(status, want);
  assert_non_null(strstr(buf, "Content-Type: application/json"));
  body = strstr(buf, "\r\n\r\n");
  assert_non_null(body);
  o = json_tokener_parse(body + 4);
  if (o == NULL)
    fail_msg("not JSON: %s", body + 4);
  assert_int_equal(json_object_get_int(json_object_object_get(
                       json_object_object_get(o, "error"), "code")),
                   want);
  assert_string_equal(jstr(o, "error.status"), want_status);
  assert_non_null(jstr(o, "error.message"));
  json_object_put(o);
  free(buf);
}

/* "GET <target> HTTP/1.1" with one header of `hdr_len` bytes. */
static char *request(size_t uri_len, size_t hdr_len, const char *extra)
{
  size_t cap = uri_len + hdr_len + 256;
  char *s = malloc(cap), *p;

  assert_non_null(s);
  p = s + sprintf(s, "GET /healthz");
  if (uri_len > 8) {
    p += sprintf(p, "?x=");
    memset(p, 'a', uri_len - 11);
    p += uri_len - 11;
  }
  p += sprintf(p, " HTTP/1.1\r\nHost: edvd\r\n%s", extra ? extra : "");
  if (hdr_len) {
    p += sprintf(p, "X-Big: ");
    memset(p, 'b', hdr_len);
    p += hdr_len;
    p += sprintf(p, "\r\n");
  }
  sprintf(p, "\r\n");
  return s;
}

static void test_errors_json(void **state)
{
  char *req;

  (void)state;
  req = request(10000, 0, NULL); /* target over 8 KiB */
  expect_json(req, strlen(req), 414, "URI_TOO_LONG");
  free(req);
  req = request(0, 20000, NULL); /* headers over 16 KiB */
  expect_json(req, strlen(req), 431, "HEADERS_TOO_LARGE");
  free(req);
  req = request(0, 0, "Content-Length: 100000\r\n"); /* body over 64 KiB */
  expect_json(req, strlen(req), 413, "PAYLOAD_TOO_LARGE");
  free(req);
  {
    /* The body really sent, without announcing its length. */
    static const char head[] = "POST /api/tenants HTTP/1.1\r\nHost: edvd\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"
                               "11170\r\n"; /* 70,000 bytes */
    size_t n = sizeof(head) - 1 + 70000 + 7;
    char *s = malloc(n + 1);

    assert_non_null(s);
    memcpy(s, head, sizeof(head) - 1);
    memset(s + sizeof(head) - 1, '{', 70000);
    memcpy(s + sizeof(head) - 1 + 70000, "\r\n0\r\n\r\n", 7);
    expect_json(s, n, 413, "PAYLOAD_TOO_LARGE");
    free(s);
  }
  /* Just under the limits: served. */
  req = request(8000, 7000, NULL);
  {
    int fd = dial();
    char buf[256] = "";

    assert_true(fd >= 0);
    assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
                     (ssize_t)strlen(req));
    assert_true(recv(fd, buf, sizeof(buf) - 1, 0) > 12);
    close(fd);
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
  }
  free(req);
}

/* ---- slow clients ------------------------------------------------------*/

typedef struct slow {
  int fd[SLOW_N];
  double closed_at[SLOW_N]; /* ms since start; 0 while open */
  int got_408[SLOW_N];
  double start;
  volatile int stop;
} slow;

static void slow_check(slow *s, int i, double t)
{
  char buf[512];
  ssize_t n = recv(s->fd[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);

  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (n > 0) {
    buf[n] = '\0';
    s->got_408[i] = strncmp(buf, "HTTP/1.1 408", 12) == 0 &&
                    strstr(buf, "\"REQUEST_TIMEOUT\"") != NULL;
  }
  s->closed_at[i] = t;
  close(s->fd[i]);
  s->fd[i] = -1;
}

/* Every tick, one more header line on each connection still open. */
static void *trickle(void *arg)
{
  slow *s = arg;

  while (!s->stop) {
    double t = now_ms() - s->start;

    for (int i = 0; i < SLOW_N; i++) {
      if (s->fd[i] < 0)
        continue;
      slow_check(s, i, t);
      if (s->fd[i] >= 0 &&
          send(s->fd[i], "X-Slow: 1\r\n", 11, MSG_DONTWAIT | MSG_NOSIGNAL) <
              0 &&
          errno != EAGAIN)
        slow_check(s, i, t);
    }
    sleep_ms(SLOW_TICK_MS);
  }
  return NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *data)
{
  (void)p;
  (void)data;
  return size * n;
}

/* GET /healthz on a new connection: the status (0 when none came within
 * HEALTHZ_MAX_MS) and the time it took. */
static long healthz(double *ms)
{
  CURL *c = curl_easy_init();
  char url[200];
  long status = 0;
  double t0 = now_ms();

  snprintf(url, sizeof(url), "%s/healthz", base);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HEALTHZ_MAX_MS);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  *ms = now_ms() - t0;
  return status;
}

static void test_slow_clients(void **state)
{
  static slow s;
  static const char head[] = "GET /healthz HTTP/1.1\r\nHost: edvd\r\n";
  pthread_t th;
  double lat[8], worst = 0, last_close = 0, connected;
  int open_n = 0, n408 = 0, failed = 0;

  (void)state;
  s.start = now_ms();
  for (int i = 0; i < SLOW_N; i++) {
    s.fd[i] = dial();
    if (s.fd[i] < 0 ||
        send(s.fd[i], head, sizeof(head) - 1, MSG_NOSIGNAL) < 0) {
      if (s.fd[i] >= 0)
        close(s.fd[i]);
      s.fd[i] = -1;
      s.closed_at[i] = now_ms() - s.start;
      failed++;
    }
  }
  connected = now_ms() - s.start;
  assert_int_equal(pthread_create(&th, NULL, trickle, &s), 0);
  for (int k = 0; k < 8; k++) {
    long st = healthz(&lat[k]);

    if (st != 200) {
      s.stop = 1;
      pthread_join(th, NULL);
      fail_msg("GET /healthz #%d under %d slow connections: status %ld "
               "after %.0f ms",
               k, SLOW_N, st, lat[k]);
    }
    if (lat[k] > worst)
      worst = lat[k];
    sleep_ms(250);
  }
  /* Every slow connection ends: request_timeout_s is 2. */
  for (int w = 0; w < 100; w++) {
    open_n = 0;
    for (int i = 0; i < SLOW_N; i++)
      open_n += s.fd[i] >= 0;
    if (open_n == 0)
      break;
    sleep_ms(100);
  }
  s.stop = 1;
  pthread_join(th, NULL);
  for (int i = 0; i < SLOW_N; i++) {
    n408 += s.got_408[i];
    if (s.closed_at[i] > last_close)
      last_close = s.closed_at[i];
    if (s.fd[i] >= 0)
      close(s.fd[i]);
  }
  printf("# %d slow connections (%d refused) opened in %.0f ms; /healthz "
         "answered in %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f ms (worst "
         "%.0f); the last slow connection closed at %.0f ms, %d with a "
         "JSON 408\n",
         SLOW_N, failed, connected, lat[0], lat[1], lat[2], lat[3], lat[4],
         lat[5], lat[6], lat[7], worst, last_close, n408);
  assert_int_equal(open_n, 0);
  /* Most closes are the deadline's (408), not only make-room ones. */
  assert_true(n408 > 0);
}

static int setup(void **state)
{
  struct rlimit rl;
  const char *port;

  (void)state;
  /* 4,200 sockets here too. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (eh_setup("server.request_timeout_s = 2\n"
               "server.max_connections_per_ip = 0\n"))
    return -1;
  port = strrchr(base, ':');
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(port ? port + 1 : "0"));
  return inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors_json),
      cmocka_unit_test(test_slow_clients),
  };

  return EH_MAIN("edvd-limits", tests, setup, NULL);
}
