/*
 * test_ratelimit.c - token buckets, the whole-minute refill, concurrency
 * caps, FIFO order and AIMD, driven by an injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "transport/transport.h"

static uint64_t fake_now;

static uint64_t fake_clock(void *data)
{
  (void)data;
  return fake_now;
}

/* A waiter that records the order in which grants happen. */
typedef struct tw {
  edv__rl_waiter w;
  int id;
} tw;

static int granted[64];
static int ngranted;

static void on_grant(edv__rl_waiter *w)
{
  granted[ngranted++] = edv__container_of(w, tw, w)->id;
}

static void add(edv__limiter *rl, tw *t, int id, edv_api api,
                const char *method)
{
  memset(t, 0, sizeof(*t));
  t->id = id;
  t->w.granted = on_grant;
  t->w.group = edv__rl_group_of(api, method);
  edv__rl_enqueue(rl, &t->w);
}

static edv_config *cfg_with(const char *k1, const char *v1, const char *k2,
                            const char *v2)
{
  edv_config *cfg = edv_config_new();

  if (k1)
    assert_int_equal(edv_config_set(cfg, k1, v1, NULL), 0);
  if (k2)
    assert_int_equal(edv_config_set(cfg, k2, v2, NULL), 0);
  return cfg;
}

static void test_minute_bucket(void **state)
{
  edv__bucket b;
  int i;

  (void)state;
  /* 10:00:15 (as ms since an epoch at a minute boundary). */
  edv__bucket_init(&b, EDV__RL_MINUTE, 5, 15000);
  for (i = 0; i < 5; i++)
    assert_int_equal(edv__bucket_take(&b, 15000 + (uint64_t)i), 0);
  /* Spent: wait for 10:01:00, not for a smooth trickle. */
  assert_int_equal(edv__bucket_take(&b, 20000), 40000);
  assert_int_equal(edv__bucket_take(&b, 59999), 1);
  assert_int_equal(edv__bucket_take(&b, 60000), 0);
  for (i = 0; i < 4; i++)
    assert_int_equal(edv__bucket_take(&b, 60001), 0);
  assert_true(edv__bucket_take(&b, 60002) > 0);
}

static void test_smooth_bucket(void **state)
{
  edv__bucket b;
  uint64_t wait;

  (void)state;
  /* 600/min = 10/s, burst 3 s worth = 30 tokens. */
  edv__bucket_init(&b, EDV__RL_SMOOTH, 600, 0);
  for (int i = 0; i < 30; i++)
    assert_int_equal(edv__bucket_take(&b, 0), 0);
  wait = edv__bucket_take(&b, 0);
  assert_int_equal(wait, 100);
  assert_int_equal(edv__bucket_take(&b, 100), 0);
  /* Unlimited buckets never wait. */
  edv__bucket_init(&b, EDV__RL_SMOOTH, 0, 0);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(edv__bucket_take(&b, 0), 0);
}

static void test_aimd(void **state)
{
  edv__bucket b;

  (void)state;
  edv__bucket_init(&b, EDV__RL_SMOOTH, 1200, 0);
  edv__bucket_cut(&b, 1000);
  assert_true(b.rate == 600);
  /* A burst of 429s from calls in flight counts once. */
  edv__bucket_cut(&b, 1200);
  assert_true(b.rate == 600);
  edv__bucket_cut(&b, 2000);
  assert_true(b.rate == 300);
  for (int i = 0; i < 10; i++)
    edv__bucket_cut(&b, 3000 + 1000 * (uint64_t)i);
  assert_true(b.rate == 120); /* the floor: a tenth of the limit */
  /* Additive recovery: +120/min every 10 s without a cut. */
  edv__bucket_take(&b, 12000 + 9999);
  assert_true(b.rate == 120);
  edv__bucket_take(&b, 12000 + 10000);
  assert_true(b.rate == 240);
  edv__bucket_take(&b, 12000 + 100000);
  assert_true(b.rate == 1200);
  /* Minute buckets: a cut leaves what the halved rate allows of the
   * current minute, counting the calls already made. */
  edv__bucket_init(&b, EDV__RL_MINUTE, 100, 0);
  for (int i = 0; i < 30; i++)
    assert_int_equal(edv__bucket_take(&b, 1000), 0);
  edv__bucket_cut(&b, 5000);
  assert_true(b.rate == 50);
  for (int i = 0; i < 20; i++)
    assert_int_equal(edv__bucket_take(&b, 5000), 0);
  assert_int_equal(edv__bucket_take(&b, 5000), 55000);
  assert_int_equal(edv__bucket_take(&b, 60000), 0);
  /* After an overload (window spent), wait for the next minute. */
  edv__bucket_init(&b, EDV__RL_MINUTE, 100, 0);
  for (int i = 0; i < 90; i++)
    edv__bucket_take(&b, 1000);
  edv__bucket_cut(&b, 2000);
  assert_int_equal(edv__bucket_take(&b, 2000), 58000);
}

static void test_queue_fifo_and_timer(void **state)
{
  edv_config *cfg = cfg_with("ratelimit.sqladmin.per_minute", "60", NULL, NULL);
  edv__limiter rl;
  tw t[5];
  uint64_t wait;
  int i;

  (void)state;
  fake_now = 0;
  ngranted = 0;
  edv__rl_init(&rl, cfg, fake_clock, NULL);
  /* 60/min: burst of 3 (3 s worth), then one per second. */
  for (i = 0; i < 5; i++)
    add(&rl, &t[i], i, EDV_API_SQLADMIN, "GET");
  wait = edv__rl_pump(&rl);
  assert_int_equal(ngranted, 3);
  assert_int_equal(wait, 1000);
  fake_now = 999;
  assert_int_equal(edv__rl_pump(&rl), 1);
  assert_int_equal(ngranted, 3);
  fake_now = 1000;
  edv__rl_pump(&rl);
  assert_int_equal(ngranted, 4);
  /* A removed waiter is never granted. */
  assert_int_equal(edv__rl_remove(&rl, &t[4].w), 1);
  assert_int_equal(edv__rl_remove(&rl, &t[4].w), 0);
  fake_now = 5000;
  assert_int_equal(edv__rl_pump(&rl), UINT64_MAX);
  assert_int_equal(ngranted, 4);
  for (i = 0; i < 4; i++)
    assert_int_equal(granted[i], i);
  edv_config_free(cfg);
}

static void test_concurrency_cap(void **state)
{
  edv_config *cfg = cfg_with("ratelimit.dns.concurrency", "2",
                             "ratelimit.dns.per_minute", "0");
  edv__limiter rl;
  tw t[4];

  (void)state;
  fake_now = 0;
  ngranted = 0;
  edv__rl_init(&rl, cfg, fake_clock, NULL);
  for (int i = 0; i < 4; i++)
    add(&rl, &t[i], i, EDV_API_DNS, "POST");
  /* Waiting only on slots: no timer, a release wakes the queue. */
  assert_int_equal(edv__rl_pump(&rl), UINT64_MAX);
  assert_int_equal(ngranted, 2);
  edv__rl_release(&rl, EDV_API_DNS);
  edv__rl_pump(&rl);
  assert_int_equal(ngranted, 3);
  assert_int_equal(granted[2], 2);
  edv__rl_release(&rl, EDV_API_DNS);
  edv__rl_release(&rl, EDV_API_DNS);
  edv__rl_pump(&rl);
  assert_int_equal(ngranted, 4);
  /* Other APIs are not affected by DNS's cap. */
  edv_config_free(cfg);
}

static void test_compute_read_write_groups(void **state)
{
  edv_config *cfg = cfg_with("ratelimit.compute.write.per_minute", "1",
                             "ratelimit.compute.read.per_minute", "2");
  edv__limiter rl;
  tw t[5];

  (void)state;
  fake_now = 60000 * 100 + 30000;
  ngranted = 0;
  edv__rl_init(&rl, cfg, fake_clock, NULL);
  add(&rl, &t[0], 0, EDV_API_COMPUTE, "POST");
  add(&rl, &t[1], 1, EDV_API_COMPUTE, "DELETE");
  add(&rl, &t[2], 2, EDV_API_COMPUTE, "GET");
  add(&rl, &t[3], 3, EDV_API_COMPUTE, "GET");
  add(&rl, &t[4], 4, EDV_API_COMPUTE, "GET");
  /* The write bucket is spent after one; reads still flow. Both refill
   * at the next whole minute, 30 s away. */
  assert_int_equal(edv__rl_pump(&rl), 30000);
  assert_int_equal(ngranted, 3);
  assert_int_equal(t[1].w.queued, 1);
  assert_int_equal(t[4].w.queued, 1);
  fake_now = 60000 * 101;
  edv__rl_pump(&rl);
  assert_int_equal(ngranted, 5);
  /* A write rate limit shrinks only the write bucket. */
  edv__rl_penalize(&rl, EDV__RL_GROUP_COMPUTE_WRITE);
  assert_true(rl.groups[EDV__RL_GROUP_COMPUTE_WRITE].bucket.rate == 1);
  assert_true(rl.groups[EDV_API_COMPUTE].bucket.rate == 2);
  edv_config_free(cfg);
}

static void test_defaults(void **state)
{
  edv_config *cfg = edv_config_new();
  edv__limiter rl;

  (void)state;
  edv__rl_init(&rl, cfg, fake_clock, NULL);
  assert_true(rl.groups[EDV_API_COMPUTE].bucket.limit == 1500);
  assert_true(rl.groups[EDV__RL_GROUP_COMPUTE_WRITE].bucket.limit == 1500);
  assert_int_equal(rl.groups[EDV_API_COMPUTE].bucket.mode, EDV__RL_MINUTE);
  assert_true(rl.groups[EDV_API_SQLADMIN].bucket.limit == 180);
  assert_true(rl.groups[EDV_API_CERTIFICATEMANAGER].bucket.limit == 300);
  assert_true(rl.groups[EDV_API_OAUTH2].bucket.limit == 0);
  assert_int_equal(rl.cap[EDV_API_COMPUTE], 64);
  assert_int_equal(rl.cap[EDV_API_OAUTH2], 0);
  edv_config_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_minute_bucket),
      cmocka_unit_test(test_smooth_bucket),
      cmocka_unit_test(test_aimd),
      cmocka_unit_test(test_queue_fifo_and_timer),
      cmocka_unit_test(test_concurrency_cap),
      cmocka_unit_test(test_compute_read_write_groups),
      cmocka_unit_test(test_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
