/*
 * test_mockserver.c - the scripted loopback server used by every HTTP test:
 * ordered expectations, default reply, drop, delay, request log, keep-alive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "mockserver.h"

typedef struct fetch {
  char buf[4096];
  size_t len;
} fetch;

static size_t fetch_write(char *p, size_t sz, size_t n, void *data)
{
  fetch *f = data;
  size_t len = sz * n;

  if (f->len + len >= sizeof(f->buf))
    return 0;
  memcpy(f->buf + f->len, p, len);
  f->len += len;
  f->buf[f->len] = '\0';
  return len;
}

/* One request on `easy` (kept between calls for keep-alive). */
static long do_req(CURL *easy, const char *url, const char *post, fetch *f,
                   CURLcode *rc)
{
  long status = 0;

  memset(f, 0, sizeof(*f));
  curl_easy_setopt(easy, CURLOPT_URL, url);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, fetch_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 3000L);
  if (post)
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post);
  else
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  *rc = curl_easy_perform(easy);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

static void test_script(void **state)
{
  mock_server *ms = mock_start();
  CURL *easy = curl_easy_init();
  char url[256], hdr[128];
  fetch f;
  CURLcode rc;
  mock_request req;
  mock_reply slow = {.path_prefix = "/slow",
                     .status = 200,
                     .body = "{}",
                     .delay_ms = 150,
                     .times = 2};

  (void)state;
  assert_non_null(ms);
  mock_expect(ms, "GET", "/a", 200, "{\"x\":1}", "X-Test: yes");
  mock_expect(ms, "POST", "/b", 201, "{}", NULL);
  mock_expect_reply(ms, &slow);

  snprintf(url, sizeof(url), "%s/a?q=1%%202", mock_url(ms));
  assert_int_equal(do_req(easy, url, NULL, &f, &rc), 200);
  assert_string_equal(f.buf, "{\"x\":1}");
  /* Nothing queued for GET /b: the default 404 envelope. */
  snprintf(url, sizeof(url), "%s/b", mock_url(ms));
  assert_int_equal(do_req(easy, url, NULL, &f, &rc), 404);
  assert_int_equal(do_req(easy, url, "{\"k\":2}", &f, &rc), 201);
  snprintf(url, sizeof(url), "%s/slow", mock_url(ms));
  assert_int_equal(do_req(easy, url, NULL, &f, &rc), 200);
  assert_int_equal(do_req(easy, url, NULL, &f, &rc), 200);
  assert_int_equal(mock_pending(ms), 0);
  /* Keep-alive: one connection carried all five requests. */
  assert_int_equal(mock_connection_count(ms), 1);

  assert_int_equal(mock_request_count(ms), 5);
  assert_int_equal(mock_request_get(ms, 0, &req), 0);
  assert_string_equal(req.method, "GET");
  assert_string_equal(req.path, "/a?q=1%202");
  assert_non_null(mock_request_header(&req, "Host", hdr, sizeof(hdr)));
  assert_null(mock_request_header(&req, "Authorization", hdr, sizeof(hdr)));
  mock_request_free(&req);
  assert_int_equal(mock_request_get(ms, 2, &req), 0);
  assert_string_equal(req.method, "POST");
  assert_string_equal(req.body, "{\"k\":2}");
  mock_request_free(&req);
  assert_int_equal(mock_request_get(ms, 9, &req), -1);

  curl_easy_cleanup(easy);
  mock_stop(ms);
}

static void test_drop_and_stop_while_delayed(void **state)
{
  mock_server *ms = mock_start();
  CURL *easy = curl_easy_init();
  char url[256];
  fetch f;
  CURLcode rc;
  mock_reply hang = {.status = 200, .body = "{}", .delay_ms = 60000};

  (void)state;
  mock_expect(ms, NULL, NULL, MOCK_DROP, NULL, NULL);
  snprintf(url, sizeof(url), "%s/x", mock_url(ms));
  do_req(easy, url, NULL, &f, &rc);
  assert_int_equal(rc, CURLE_GOT_NOTHING);
  /* A reply delayed for a minute must not hold up mock_stop(). */
  mock_expect_reply(ms, &hang);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 100L);
  curl_easy_perform(easy);
  curl_easy_cleanup(easy);
  mock_stop(ms);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_script),
      cmocka_unit_test(test_drop_and_stop_while_delayed),
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
