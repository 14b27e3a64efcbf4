/*
 * test_retry.c - what is retried, backoff bounds with full jitter,
 * Retry-After, and the deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "transport/transport.h"

/* The error a response with this status and reason maps to. */
static edv_error mk(int http, const char *reason)
{
  edv_error err;

  edv_error_clear(&err);
  err.http_status = http;
  err.code = edv__code_from_http(http, reason, NULL, NULL, NULL);
  return err;
}

static void test_classification_table(void **state)
{
  static const struct {
    int http;
    const char *reason;
    int retry;
  } table[] = {
      {408, NULL, 1},
      {429, NULL, 1},
      {429, "rateLimitExceeded", 1},
      {429, "quotaExceeded", 0},
      {500, NULL, 1},
      {502, NULL, 1},
      {503, NULL, 1},
      {504, NULL, 1},
      {403, "rateLimitExceeded", 1},
      {403, "userRateLimitExceeded", 1},
      {403, "quotaExceeded", 0},
      {403, "forbidden", 0},
      {409, "operationInProgress", 1},
      {409, "alreadyExists", 0},
      {409, NULL, 0},
      {400, NULL, 0},
      {400, "resourceNotReady", 0},
      {401, NULL, 0},
      {404, NULL, 0},
      {412, NULL, 0},
      {501, NULL, 0},
  };
  edv_error err;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    err = mk(table[i].http, table[i].reason);
    print_message("# %d %s\n", table[i].http,
                  table[i].reason ? table[i].reason : "-");
    assert_int_equal(edv__retry_error_retryable(&err), table[i].retry);
  }
  /* Transport failures of one attempt are retried; our deadline is not. */
  edv_error_set(&err, EDV_ECONN, "reset");
  assert_true(edv__retry_error_retryable(&err));
  edv_error_set(&err, EDV_ETIMEDOUT, "late");
  assert_false(edv__retry_error_retryable(&err));
  edv_error_set(&err, EDV_EPROTO, "too big");
  assert_false(edv__retry_error_retryable(&err));
}

static void test_request_safety(void **state)
{
  (void)state;
  assert_true(edv__retry_request_safe("GET", "https://x/a", 0));
  assert_false(edv__retry_request_safe("GET", "https://x/a", EDV_REQ_NORETRY));
  assert_false(edv__retry_request_safe("POST", "https://x/a", 0));
  assert_true(
      edv__retry_request_safe("POST", "https://x/a", EDV_REQ_IDEMPOTENT));
  assert_true(edv__retry_request_safe(
      "POST", "https://x/a?requestId=0f8fad5b-d9cb-469f-a165-70867728950e", 0));
  assert_true(
      edv__retry_request_safe("DELETE", "https://x/a?b=1&requestId=u", 0));
  /* Only a real, non-empty requestId parameter counts. */
  assert_false(edv__retry_request_safe("POST", "https://x/a?xrequestId=u", 0));
  assert_false(edv__retry_request_safe("POST", "https://x/a?requestId=", 0));
  assert_false(edv__retry_request_safe("POST", "https://x/requestId=u", 0));
  assert_false(edv__retry_request_safe("PATCH", "https://x/a?requestId=u",
                                       EDV_REQ_NORETRY));
}

static void test_backoff_full_jitter_bounds(void **state)
{
  edv__retry_policy pol = {
      .initial_ms = 100, .max_ms = 1600, .max_attempts = 10};
  edv__prng prng;
  uint64_t lo[8], hi[8], d;
  unsigned n, i;

  (void)state;
  edv__prng_seed(&prng, 42);
  for (n = 0; n < 8; n++) {
    uint64_t cap = 100u << n;
    if (cap > 1600)
      cap = 1600;
    lo[n] = UINT64_MAX;
    hi[n] = 0;
    for (i = 0; i < 2000; i++) {
      d = edv__retry_backoff(&pol, &prng, n);
      assert_true(d <= cap);
      if (d < lo[n])
        lo[n] = d;
      if (d > hi[n])
        hi[n] = d;
    }
    /* Full jitter really spans [0, cap]. */
    assert_true(lo[n] < cap / 10 + 1);
    assert_true(hi[n] > cap - cap / 10 - 1);
  }
  /* Huge retry counts never overflow past the cap. */
  assert_true(edv__retry_backoff(&pol, &prng, 1000) <= 1600);
  /* The same seed gives the same delays. */
  edv__prng_seed(&prng, 7);
  d = edv__retry_backoff(&pol, &prng, 3);
  edv__prng_seed(&prng, 7);
  assert_int_equal(edv__retry_backoff(&pol, &prng, 3), d);
}

static void test_retry_after(void **state)
{
  time_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */

  (void)state;
  assert_int_equal(edv__retry_after_ms("120", now), 120000);
  assert_int_equal(edv__retry_after_ms(" 0 ", now), 0);
  assert_int_equal(edv__retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", now),
                   30000);
  assert_int_equal(edv__retry_after_ms("Wed, 21 Oct 2015 07:27:00 GMT", now),
                   0);
  assert_int_equal(edv__retry_after_ms("soon", now), -1);
  assert_int_equal(edv__retry_after_ms("-5", now), -1);
  assert_int_equal(edv__retry_after_ms("12abc", now), -1);
  assert_int_equal(edv__retry_after_ms(NULL, now), -1);
}

static void test_plan(void **state)
{
  edv__retry_policy pol = {
      .initial_ms = 1000, .max_ms = 32000, .max_attempts = 4};
  edv__prng prng;
  edv_error e503 = mk(503, NULL), e404 = mk(404, NULL);
  uint64_t delay;

  (void)state;
  edv__prng_seed(&prng, 1);
  /* Transient GET within the deadline: retried within the first cap. */
  assert_int_equal(edv__retry_plan(&pol, &prng, &e503, "GET", "u", 0, 1, NULL,
                                   1000, 100000, &delay),
                   EDV__RETRY_AFTER);
  assert_true(delay <= 1000);
  /* Not transient, or not safe: final. */
  assert_int_equal(edv__retry_plan(&pol, &prng, &e404, "GET", "u", 0, 1, NULL,
                                   1000, 100000, &delay),
                   EDV__RETRY_NO);
  assert_int_equal(edv__retry_plan(&pol, &prng, &e503, "POST", "u", 0, 1, NULL,
                                   1000, 100000, &delay),
                   EDV__RETRY_NO);
  /* Attempts exhausted. */
  assert_int_equal(edv__retry_plan(&pol, &prng, &e503, "GET", "u", 0, 4, NULL,
                                   1000, 100000, &delay),
                   EDV__RETRY_NO);
  /* Retry-After wins, and one past the deadline fails now. */
  assert_int_equal(edv__retry_plan(&pol, &prng, &e503, "GET", "u", 0, 1, "3",
                                   1000, 100000, &delay),
                   EDV__RETRY_AFTER);
  assert_int_equal(delay, 3000);
  assert_int_equal(edv__retry_plan(&pol, &prng, &e503, "GET", "u", 0, 1, "30",
                                   1000, 20000, &delay),
                   EDV__RETRY_DEADLINE);
  /* Never sleep past the deadline, whatever the jitter draws. */
  for (int i = 0; i < 1000; i++) {
    edv__retry_verdict v = edv__retry_plan(&pol, &prng, &e503, "GET", "u", 0, 3,
                                           NULL, 1000, 1500, &delay);
    assert_true(v == EDV__RETRY_DEADLINE ||
                (v == EDV__RETRY_AFTER && 1000 + delay < 1500));
  }
}

static void test_policy_from_config(void **state)
{
  edv_config *cfg = edv_config_new();
  edv__retry_policy pol;

  (void)state;
  edv__retry_policy_from_config(&pol, cfg);
  assert_int_equal(pol.initial_ms, 1000);
  assert_int_equal(pol.max_ms, 32000);
  assert_int_equal(pol.max_attempts, 8);
  assert_int_equal(edv_config_set(cfg, "retry.initial_ms", "50", NULL), 0);
  assert_int_equal(edv_config_set(cfg, "retry.max_ms", "10", NULL), 0);
  edv__retry_policy_from_config(&pol, cfg);
  assert_int_equal(pol.max_ms, 50); /* never below the base */
  edv_config_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classification_table),
      cmocka_unit_test(test_request_safety),
      cmocka_unit_test(test_backoff_full_jitter_bounds),
      cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_plan),
      cmocka_unit_test(test_policy_from_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
