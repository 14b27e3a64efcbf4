/*
 * test_output.c - edvctl's structured output (src/cli/output.h): YAML,
 * value(...), --filter and --sort-by over a list document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/output.h"

static const char *doc_text =
    "{\"tenants\":["
    "{\"id\":\"alpha\",\"tier\":\"basic\",\"phase\":\"READY\","
    "\"created\":\"2026-12-01T10:00:00.000Z\",\"features\":[\"lms\",\"sis\"],"
    "\"monthly_cost_estimate\":{\"total\":48.92},\"last_error\":null},"
    "{\"id\":\"bravo\",\"tier\":\"premium\",\"phase\":\"FAILED\","
    "\"created\":\"2026-12-03T10:00:00.000Z\",\"features\":[\"lms\"],"
    "\"monthly_cost_estimate\":{\"total\":310.5},\"last_error\":\"boom\"},"
    "{\"id\":\"charlie\",\"tier\":\"standard\",\"phase\":\"READY\","
    "\"created\":\"2026-12-02T10:00:00.000Z\",\"features\":[],"
    "\"monthly_cost_estimate\":{\"total\":120},\"last_error\":null}"
    "],\"next_page_token\":null}";

/* The ids left in order after shaping, "a,b". */
static char *ids(const char *filter, const char *sort)
{
  static char out[256];
  json_object *doc = json_tokener_parse(doc_text), *items;
  char why[200];

  out[0] = '\0';
  if (cli_out_shape(doc, filter, sort, why, sizeof(why)) != 0) {
    json_object_put(doc);
    snprintf(out, sizeof(out), "ERR %s", why);
    return out;
  }
  items = cli_out_items(doc);
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    size_t n = strlen(out);
    snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "",
             json_object_get_string(json_object_object_get(
                 json_object_array_get_idx(items, i), "id")));
  }
  json_object_put(doc);
  return out;
}

static void test_filter(void **state)
{
  (void)state;
  assert_string_equal(ids(NULL, NULL), "alpha,bravo,charlie");
  assert_string_equal(ids("phase=READY", NULL), "alpha,charlie");
  assert_string_equal(ids("phase=ready", NULL), "alpha,charlie");
  assert_string_equal(ids("phase!=READY", NULL), "bravo");
  assert_string_equal(ids("id=*o", NULL), "bravo");
  assert_string_equal(ids("id:ar", NULL), "charlie");
  assert_string_equal(ids("features:sis", NULL), "alpha");
  assert_string_equal(ids("last_error:*", NULL), "bravo");
  assert_string_equal(ids("NOT last_error:*", NULL), "alpha,charlie");
  assert_string_equal(ids("-tier=basic", NULL), "bravo,charlie");
  assert_string_equal(ids("id~^[ab]", NULL), "alpha,bravo");
  assert_string_equal(ids("id!~^[ab]", NULL), "charlie");
  assert_string_equal(ids("monthly_cost_estimate.total>100", NULL),
                      "bravo,charlie");
  assert_string_equal(ids("monthly_cost_estimate.total<=120 phase=READY", NULL),
                      "alpha,charlie");
  assert_string_equal(ids("tier=basic OR tier=premium", NULL), "alpha,bravo");
  assert_string_equal(ids("phase=READY AND tier=basic OR tier=standard", NULL),
                      "alpha,charlie");
  assert_string_equal(ids("created>=\"2026-12-02\"", NULL), "bravo,charlie");
  assert_string_equal(ids("nosuch=x", NULL), "");
  /* Mistakes are named. */
  assert_non_null(strstr(ids("phase", NULL), "needs an operator"));
  assert_non_null(strstr(ids("(phase=READY)", NULL), "parentheses"));
  assert_non_null(strstr(ids("id~[", NULL), "regular expression"));
  assert_non_null(strstr(ids("id=\"open", NULL), "closing quote"));
  assert_non_null(strstr(ids("id=a OR", NULL), "OR needs"));
}

static void test_sort(void **state)
{
  (void)state;
  assert_string_equal(ids(NULL, "created"), "alpha,charlie,bravo");
  assert_string_equal(ids(NULL, "~created"), "bravo,charlie,alpha");
  assert_string_equal(ids(NULL, "monthly_cost_estimate.total"),
                      "alpha,charlie,bravo");
  assert_string_equal(ids(NULL, "phase,~id"), "bravo,charlie,alpha");
  assert_string_equal(ids("phase=READY", "~id"), "charlie,alpha");
  assert_non_null(strstr(ids(NULL, "~"), "--sort-by"));
}

static char *render(int yaml, const char *spec, const char *text)
{
  static char buf[4096];
  json_object *doc = json_tokener_parse(text);
  FILE *f = fmemopen(buf, sizeof(buf), "w");

  assert_non_null(doc);
  assert_non_null(f);
  if (yaml)
    cli_out_yaml(f, doc);
  else
    cli_out_value(f, doc, spec);
  fclose(f);
  json_object_put(doc);
  return buf;
}

static void test_yaml(void **state)
{
  (void)state;
  assert_string_equal(
      render(1, NULL,
             "{\"id\":\"alpha\",\"n\":3,\"ok\":true,\"none\":null,"
             "\"empty\":[],\"obj\":{},\"s\":\"true\",\"t\":\"a: b\","
             "\"num\":\"42\",\"list\":[\"x\",{\"k\":1,\"j\":[1,2]}],"
             "\"nested\":{\"deep\":{\"v\":\"\"}}}"),
      "id: alpha\n"
      "n: 3\n"
      "ok: true\n"
      "none: null\n"
      "empty: []\n"
      "obj: {}\n"
      "s: \"true\"\n"
      "t: \"a: b\"\n"
      "num: \"42\"\n"
      "list:\n"
      "- x\n"
      "- k: 1\n"
      "  j:\n"
      "  - 1\n"
      "  - 2\n"
      "nested:\n"
      "  deep:\n"
      "    v: \"\"\n");
  assert_string_equal(render(1, NULL, "[]"), "[]\n");
}

static void test_value(void **state)
{
  char why[200];

  (void)state;
  assert_string_equal(
      render(0, "value(id,monthly_cost_estimate.total,features,last_error)",
             doc_text),
      "alpha\t48.92\tlms;sis\t\n"
      "bravo\t310.5\tlms\tboom\n"
      "charlie\t120\t\t\n");
  assert_string_equal(render(0, "value(status)", "{\"status\":\"ok\"}"),
                      "ok\n");
  assert_int_equal(cli_out_value_check("value(id,tier)", why, sizeof(why)), 0);
  assert_int_equal(cli_out_value_check("value()", why, sizeof(why)), -1);
  assert_int_equal(cli_out_value_check("value(id,,x)", why, sizeof(why)), -1);
  assert_int_equal(cli_out_value_check("value(id;rm)", why, sizeof(why)), -1);
  assert_int_equal(cli_out_value_check("csv(id)", why, sizeof(why)), -1);
  assert_non_null(strstr(why, "value(FIELD,...)"));
}

static void test_table(void **state)
{
  static const cli_col cols[] = {
      {"TENANT", "id"},         {"PHASE", "phase"},
      {"FEATURES", "features"}, {"USD/MONTH", "monthly_cost_estimate.total"},
      {"ERROR", "last_error"},
  };
  char buf[1024];
  json_object *doc = json_tokener_parse(doc_text);
  FILE *f = fmemopen(buf, sizeof(buf), "w");

  (void)state;
  cli_out_table(f, doc, cols, 5);
  fclose(f);
  json_object_put(doc);
  assert_string_equal(buf, "TENANT   PHASE   FEATURES  USD/MONTH  ERROR\n"
                           "alpha    READY   lms,sis   48.92      -\n"
                           "bravo    FAILED  lms       310.5      boom\n"
                           "charlie  READY   -         120        -\n");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filter), cmocka_unit_test(test_sort),
      cmocka_unit_test(test_yaml),   cmocka_unit_test(test_value),
      cmocka_unit_test(test_table),
  };

  return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
