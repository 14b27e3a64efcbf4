/*
 * test_stephist.c - the step-duration histogram of /metrics: cumulative
 * buckets with inclusive upper bounds, +Inf equal to _count, _sum in
 * seconds, one series per step, bad names dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prog/stephist.h"

/* The value of the line starting with `prefix` (-1 when absent). */
static double value_of(const char *text, const char *prefix)
{
  const char *p = text;
  size_t n = strlen(prefix);

  while (p && *p) {
    if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
      return strtod(p + n + 1, NULL);
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return -1;
}

static void test_render(void **state)
{
  edv__stephist *h = edv__stephist_new();
  char *text;
  size_t len;

  (void)state;
  assert_non_null(h);
  /* Empty: the HELP and TYPE lines only. */
  text = edv__stephist_render(h, &len);
  assert_non_null(text);
  assert_int_equal(strlen(text), len);
  assert_non_null(strstr(text, "# TYPE edv_step_duration_seconds histogram\n"));
  assert_null(strstr(text, "_bucket"));
  free(text);

  edv__stephist_observe(h, "sql_instance", 100);     /* le 0.1, inclusive */
  edv__stephist_observe(h, "sql_instance", 101);     /* le 0.5 */
  edv__stephist_observe(h, "sql_instance", 240000);  /* le 300 */
  edv__stephist_observe(h, "sql_instance", 5000000); /* beyond 1200: +Inf */
  edv__stephist_observe(h, "vm", 3000);
  edv__stephist_observe(h, "bad\"name", 1);
  edv__stephist_observe(h, "", 1);
  edv__stephist_observe(h, NULL, 1);
  assert_int_equal(edv__stephist_dropped(h), 3);

  text = edv__stephist_render(h, &len);
  assert_non_null(text);
  assert_null(strstr(text, "bad"));
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\""
                             "sql_instance\",le=\"0.1\"}") == 1);
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\""
                             "sql_instance\",le=\"0.5\"}") == 2);
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\""
                             "sql_instance\",le=\"120\"}") == 2);
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\""
                             "sql_instance\",le=\"300\"}") == 3);
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\""
                             "sql_instance\",le=\"1200\"}") == 3);
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\""
                             "sql_instance\",le=\"+Inf\"}") == 4);
  assert_true(value_of(text, "edv_step_duration_seconds_count{step=\""
                             "sql_instance\"}") == 4);
  assert_true(value_of(text, "edv_step_duration_seconds_sum{step=\""
                             "sql_instance\"}") == 5240.201);
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\"vm\","
                             "le=\"1\"}") == 0);
  assert_true(value_of(text, "edv_step_duration_seconds_bucket{step=\"vm\","
                             "le=\"5\"}") == 1);
  assert_true(value_of(text, "edv_step_duration_seconds_count{step=\"vm\"}") ==
              1);
  /* Every bound of the issue, in order, then +Inf. */
  {
    static const char *const les[] = {"0.1", "0.5", "1",    "5",
                                      "15",  "30",  "60",   "120",
                                      "300", "600", "1200", "+Inf"};
    const char *p = text;
    for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
      char want[96];
      snprintf(want, sizeof(want), "{step=\"vm\",le=\"%s\"}", les[i]);
      p = strstr(p, want);
      assert_non_null(p);
    }
  }
  free(text);

  /* A bounded number of series. */
  for (int i = 0; i < EDV_STEPHIST_MAXSTEPS + 5; i++) {
    char name[32];
    snprintf(name, sizeof(name), "s%d", i);
    edv__stephist_observe(h, name, 1);
  }
  assert_int_equal(edv__stephist_dropped(h), 3 + 2 + 5);
  edv__stephist_free(h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
