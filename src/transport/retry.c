/*
 * retry.c - which failures are retried, and when.
 *
 * Retried: connection failures of one attempt, 408, 429, 500, 502, 503,
 * 504, Compute's 403 rateLimitExceeded/userRateLimitExceeded, and Cloud
 * SQL's 409 operationInProgress (docs/architecture.md, "The flow of one
 * call"). Those are exactly
 * the errors edv_error_is_transient() calls transient once envelope.c has
 * mapped them, so this file asks it rather than keeping a second table.
 * Hard quotas (403/429 quotaExceeded) and every other 4xx are final.
 *
 * A request is repeated only when that is safe: GET and HEAD always; other
 * methods when flagged EDV_REQ_IDEMPOTENT or when the URL carries a
 * `requestId` that the server dedupes on.
 *
 * Delays use "full jitter" (AWS architecture blog, 2015): uniform in
 * [0, min(cap, base * 2^n)], which spreads a burst of clients that failed
 * together better than equal or decorrelated jitter. A Retry-After header
 * wins over the computed delay. No delay may end past the call's deadline:
 * the call then fails with ETIMEDOUT instead of sleeping in vain.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "transport/transport.h"

void edv__prng_seed(edv__prng *prng, uint64_t seed)
{
  prng->state = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): tiny, and good enough for jitter. */
uint64_t edv__prng_next(edv__prng *prng)
{
  uint64_t z = (prng->state += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t edv__prng_upto(edv__prng *prng, uint64_t bound)
{
  if (bound == UINT64_MAX)
    return edv__prng_next(prng);
  /* The modulo bias is below 2^-40 for any delay we use. */
  return edv__prng_next(prng) % (bound + 1);
}

void edv__retry_policy_from_config(edv__retry_policy *pol,
                                   const edv_config *cfg)
{
  pol->initial_ms = (uint64_t)edv_config_get_int(cfg, "retry.initial_ms", 1000);
  pol->max_ms = (uint64_t)edv_config_get_int(cfg, "retry.max_ms", 32000);
  pol->max_attempts =
      (unsigned)edv_config_get_int(cfg, "retry.max_attempts", 8);
  if (pol->max_ms < pol->initial_ms)
    pol->max_ms = pol->initial_ms;
  if (pol->max_attempts == 0)
    pol->max_attempts = 1;
}

int edv__retry_error_retryable(const edv_error *err)
{
  return edv_error_is_transient(err);
}

/* Looks for a `requestId=` parameter (not a suffix of another name). */
static int retry_has_request_id(const char *url)
{
  const char *q = url ? strchr(url, '?') : NULL;

  while (q) {
    q++;
    if (strncmp(q, "requestId=", 10) == 0 && q[10] && q[10] != '&')
      return 1;
    q = strchr(q, '&');
  }
  return 0;
}

int edv__retry_request_safe(const char *method, const char *url, unsigned flags)
{
  if (flags & EDV_REQ_NORETRY)
    return 0;
  if (!method || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
    return 1;
  if (flags & EDV_REQ_IDEMPOTENT)
    return 1;
  return retry_has_request_id(url);
}

uint64_t edv__retry_backoff(const edv__retry_policy *pol, edv__prng *prng,
                            unsigned retry)
{
  uint64_t ceiling = pol->initial_ms;

  /* Doubling stops at the cap, so the shift can never overflow. */
  while (retry-- > 0 && ceiling < pol->max_ms)
    ceiling *= 2;
  if (ceiling > pol->max_ms)
    ceiling = pol->max_ms;
  return edv__prng_upto(prng, ceiling);
}

int64_t edv__retry_after_ms(const char *value, time_t now_s)
{
  char *end;
  long long secs;
  struct tm tm;
  time_t when;

  if (!value)
    return -1;
  while (*value == ' ')
    value++;
  if (*value >= '0' && *value <= '9') {
    secs = strtoll(value, &end, 10);
    while (*end == ' ')
      end++;
    if (*end || secs < 0 || secs > 86400 * 7)
      return -1;
    return (int64_t)secs * 1000;
  }
  /* IMF-fixdate, the only form RFC 9110 lets senders generate. */
  memset(&tm, 0, sizeof(tm));
  end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end)
    return -1;
  when = timegm(&tm);
  if (when == (time_t)-1)
    return -1;
  return when <= now_s ? 0 : (int64_t)(when - now_s) * 1000;
}

edv__retry_verdict edv__retry_plan(const edv__retry_policy *pol,
                                   edv__prng *prng, const edv_error *err,
                                   const char *method, const char *url,
                                   unsigned flags, unsigned attempts,
                                   const char *retry_after, uint64_t now_ms,
                                   uint64_t deadline_ms, uint64_t *delay_ms)
{
  int64_t hinted;
  uint64_t delay;

  *delay_ms = 0;
  if (!edv__retry_error_retryable(err) ||
      !edv__retry_request_safe(method, url, flags) ||
      attempts >= pol->max_attempts)
    return EDV__RETRY_NO;
  hinted = edv__retry_after_ms(retry_after, time(NULL));
  delay = hinted >= 0 ? (uint64_t)hinted
                      : edv__retry_backoff(pol, prng, attempts - 1);
  /* Waking exactly at the deadline leaves no time to send: treat as late. */
  if (now_ms >= deadline_ms || delay >= deadline_ms - now_ms)
    return EDV__RETRY_DEADLINE;
  *delay_ms = delay;
  return EDV__RETRY_AFTER;
}
