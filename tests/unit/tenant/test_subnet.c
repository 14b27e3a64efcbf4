/*
 * test_subnet.c - the CIDR helpers and the lowest-free-block allocator
 * (common/cidr.c) and the tenant address plan check (tenant/subnet.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tenant/subnet.h"

static edv_cidr cidr(const char *text)
{
  edv_cidr c;

  if (edv__cidr_parse(text, &c) != 0)
    fail_msg("cannot parse %s", text);
  return c;
}

static void assert_cidr(const edv_cidr *c, const char *want)
{
  char buf[EDV_CIDR_STRLEN];

  assert_string_equal(edv__cidr_format(c, buf, sizeof(buf)), want);
}

static void test_parse_format(void **state)
{
  static const char *const good[] = {"10.64.0.0/16",       "0.0.0.0/0",
                                     "255.255.255.255/32", "10.64.0.16/28",
                                     "192.168.0.0/24",     NULL};
  static const char *const bad[] = {"10.64.0.1/28",
                                    "10.0.0.0/33",
                                    "256.0.0.0/8",
                                    "010.0.0.0/8",
                                    "10.0.0/8",
                                    "10.0.0.0/",
                                    "10.0.0.0",
                                    "10.0.0.0/28 ",
                                    " 10.0.0.0/8",
                                    "10.0.0.0/08",
                                    "10.0.0.0.0/8",
                                    "a.b.c.d/8",
                                    "",
                                    "10.0.0.0/-1",
                                    "1000.0.0.0/8",
                                    NULL};
  edv_cidr c;
  size_t i;

  (void)state;
  for (i = 0; good[i]; i++) {
    if (edv__cidr_parse(good[i], &c))
      fail_msg("%s refused", good[i]);
    assert_cidr(&c, good[i]);
  }
  for (i = 0; bad[i]; i++)
    if (edv__cidr_parse(bad[i], &c) == 0)
      fail_msg("%s accepted", bad[i]);
  assert_int_equal(edv__cidr_parse(NULL, &c), EDV_EINVAL);
  c = cidr("10.64.0.16/28");
  assert_int_equal(edv__cidr_first(&c), 0x0a400010u);
  assert_int_equal(edv__cidr_last(&c), 0x0a40001fu);
  c = cidr("0.0.0.0/0");
  assert_int_equal(edv__cidr_last(&c), 0xffffffffu);
}

static void test_overlap_contains(void **state)
{
  edv_cidr a = cidr("10.64.0.0/16"), b = cidr("10.64.3.0/28"),
           c = cidr("10.65.0.0/16"), d = cidr("10.64.0.0/28"),
           e = cidr("10.64.0.16/28");

  (void)state;
  assert_true(edv__cidr_overlaps(&a, &b));
  assert_true(edv__cidr_overlaps(&b, &a));
  assert_false(edv__cidr_overlaps(&a, &c));
  assert_false(edv__cidr_overlaps(&d, &e)); /* adjacent */
  assert_true(edv__cidr_overlaps(&d, &d));
  assert_true(edv__cidr_contains(&a, &b));
  assert_false(edv__cidr_contains(&b, &a));
  assert_false(edv__cidr_contains(&a, &c));
}

static void test_plan_check(void **state)
{
  edv_cidr super = cidr(EDV_SUBNET_SUPERNET), psa = cidr(EDV_SUBNET_PSA_RANGE),
           bad = cidr("10.96.0.0/12");
  edv_error err;

  (void)state;
  assert_int_equal(
      edv__subnet_plan_check(&super, EDV_SUBNET_PREFIX, &psa, &err), 0);
  assert_int_equal(edv__subnet_plan_check(&bad, 28, &psa, &err), EDV_ECONFIG);
  assert_non_null(strstr(err.message, "overlaps the reserved range"));
  assert_int_equal(edv__subnet_plan_check(&super, 30, &psa, &err), EDV_ECONFIG);
  assert_int_equal(edv__subnet_plan_check(&super, 12, NULL, &err), EDV_ECONFIG);
  super = cidr("10.64.0.0/24");
  assert_int_equal(edv__subnet_plan_check(&super, 22, NULL, &err), EDV_ECONFIG);
  /* Auto-mode networks use 10.128.0.0/9: the default plan stays clear. */
  bad = cidr("10.128.0.0/9");
  super = cidr(EDV_SUBNET_SUPERNET);
  assert_false(edv__cidr_overlaps(&super, &bad));
  assert_false(edv__cidr_overlaps(&psa, &bad));
}

static void test_lowest_free(void **state)
{
  edv_cidr super = cidr("10.64.0.0/16"), out, taken[4];
  edv_error err;

  (void)state;
  assert_int_equal(edv__cidr_alloc(&super, 28, NULL, 0, &out, &err), 0);
  assert_cidr(&out, "10.64.0.0/28");

  taken[0] = cidr("10.64.0.0/28");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 1, &out, &err), 0);
  assert_cidr(&out, "10.64.0.16/28");

  /* A hole below a taken block is the lowest free one. */
  taken[0] = cidr("10.64.0.16/28");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 1, &out, &err), 0);
  assert_cidr(&out, "10.64.0.0/28");

  /* Bigger, smaller and unaligned neighbours, in any order. */
  taken[0] = cidr("10.64.0.48/28");
  taken[1] = cidr("10.64.0.0/27");
  taken[2] = cidr("10.64.0.40/29");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 3, &out, &err), 0);
  assert_cidr(&out, "10.64.0.64/28");
  taken[2] = cidr("10.64.0.32/29");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 3, &out, &err), 0);
  assert_cidr(&out, "10.64.0.64/28");
  taken[0] = cidr("10.64.0.56/29");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 3, &out, &err), 0);
  assert_cidr(&out, "10.64.0.64/28");
  taken[0] = cidr("10.64.0.40/29");
  taken[2] = cidr("10.64.0.48/28");
  assert_int_equal(edv__cidr_alloc(&super, 29, taken, 3, &out, &err), 0);
  assert_cidr(&out, "10.64.0.32/29");

  /* Ranges outside the supernet do not matter; one covering it does. */
  taken[0] = cidr("10.63.255.240/28");
  taken[1] = cidr("192.168.0.0/16");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 2, &out, &err), 0);
  assert_cidr(&out, "10.64.0.0/28");
  taken[0] = cidr("10.0.0.0/8");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 1, &out, &err),
                   EDV_EQUOTA);

  /* Bad prefixes. */
  assert_int_equal(edv__cidr_alloc(&super, 8, NULL, 0, &out, &err), EDV_EINVAL);
  assert_int_equal(edv__cidr_alloc(&super, 33, NULL, 0, &out, &err),
                   EDV_EINVAL);
}

static void test_exhaustion(void **state)
{
  edv_cidr super = cidr("10.64.0.0/24"), taken[16], out;
  edv_error err;
  size_t i;

  (void)state;
  for (i = 0; i < 16; i++) {
    assert_int_equal(edv__cidr_alloc(&super, 28, taken, i, &out, &err), 0);
    assert_int_equal(out.net, 0x0a400000u + 16 * i);
    taken[i] = out;
  }
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 16, &out, &err),
                   EDV_EQUOTA);
  assert_non_null(strstr(err.message, "10.64.0.0/24 has no free /28"));
  /* The whole IPv4 space as a supernet does not overflow at the top. */
  super = cidr("255.255.255.0/24");
  for (i = 0; i < 16; i++) {
    assert_int_equal(edv__cidr_alloc(&super, 28, taken, i, &out, &err), 0);
    taken[i] = out;
  }
  assert_cidr(&taken[15], "255.255.255.240/28");
  assert_int_equal(edv__cidr_alloc(&super, 28, taken, 16, &out, &err),
                   EDV_EQUOTA);
}

/* 1000 allocations with releases in between: never an overlap, always in
 * the supernet, always the lowest free block. */
static void test_no_overlap_over_1000(void **state)
{
  enum { N = 1000 };
  edv_cidr super = cidr(EDV_SUBNET_SUPERNET), *live, out;
  edv_error err;
  size_t nlive = 0, i, j, k;
  unsigned seed = 12345;

  (void)state;
  live = calloc(N, sizeof(*live));
  assert_non_null(live);
  for (i = 0; i < N; i++) {
    /* Now and then release a random earlier range. */
    seed = seed * 1103515245u + 12345u;
    if (nlive > 10 && (seed >> 16) % 5 == 0) {
      k = (seed >> 8) % nlive;
      live[k] = live[--nlive];
    }
    assert_int_equal(
        edv__cidr_alloc(&super, EDV_SUBNET_PREFIX, live, nlive, &out, &err), 0);
    assert_true(edv__cidr_contains(&super, &out));
    assert_int_equal(out.prefix, EDV_SUBNET_PREFIX);
    /* Lowest: every aligned block below it is taken (checked on every
     * 25th allocation to keep the test quick). */
    for (j = edv__cidr_first(&super); i % 25 == 0 && j < out.net; j += 16) {
      edv_cidr below = {(uint32_t)j, 28};
      int hit = 0;

      for (k = 0; k < nlive && !hit; k++)
        hit = edv__cidr_overlaps(&below, &live[k]);
      if (!hit)
        fail_msg("allocation %zu skipped a free block", i);
    }
    live[nlive++] = out;
  }
  for (i = 0; i < nlive; i++)
    for (j = i + 1; j < nlive; j++)
      if (edv__cidr_overlaps(&live[i], &live[j]))
        fail_msg("ranges %zu and %zu overlap", i, j);
  free(live);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_format),
      cmocka_unit_test(test_overlap_contains),
      cmocka_unit_test(test_plan_check),
      cmocka_unit_test(test_lowest_free),
      cmocka_unit_test(test_exhaustion),
      cmocka_unit_test(test_no_overlap_over_1000),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
