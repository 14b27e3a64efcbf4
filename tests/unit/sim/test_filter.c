/*
 * test_filter.c - Compute list filters (src/sim/filter.c) on resources
 * in memory: the regular-expression syntax (eq/ne, whole-field RE2
 * matches, quoted and unquoted literals, numbers and booleans, nested
 * fields, RE2 syntax POSIX ERE lacks), AIP-160 (= != < > : :*, OR, AND,
 * parentheses), and the filters Compute refuses (invalid expressions,
 * mixed syntaxes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sim/sim_int.h"

static json_object *vm(void)
{
  return json_tokener_parse(
      "{\"name\":\"edv-t1-vm\",\"id\":\"7351\",\"status\":\"RUNNING\","
      "\"cpuPlatform\":\"Intel Broadwell\",\"canIpForward\":false,"
      "\"diskSizeGb\":\"20\",\"guestCpus\":2,\"labels\":{\"edv-tenant\":"
      "\"t1\",\"owner\":\"ops\"},\"scheduling\":{\"automaticRestart\":"
      "true},\"tags\":{\"items\":[\"web\",\"ssh\"]},\"zone\":\"https://"
      "www.googleapis.com/compute/v1/projects/p/zones/us-central1-a\"}");
}

static void match(json_object *o, const char *filter, int want)
{
  if (sim__filter_check(filter) != 0)
    fail_msg("filter '%s' refused", filter);
  if (sim_filter_match(o, filter) != want)
    fail_msg("filter '%s': want %s", filter, want ? "a match" : "no match");
}

static void test_filter_regex(void **state)
{
  json_object *o = vm();

  (void)state;
  match(o, "name eq \"edv-.*\"", 1);
  match(o, "name eq 'edv-.*'", 1);
  match(o, "name eq edv-.*", 1); /* unquoted */
  match(o, "name eq edv", 0);    /* the whole field */
  match(o, "name eq .*t1.*", 1); /* gcloud's --filter name~t1 */
  match(o, "name ne .*-vm", 0);
  match(o, "name ne .*-db", 1);
  match(o, "cpuPlatform eq Intel Broadwell", 1); /* the rest, unquoted */
  match(o, "guestCpus eq 2", 1);                 /* numbers as text */
  match(o, "guestCpus eq \\d", 1);
  match(o, "diskSizeGb eq \\d+", 1);
  match(o, "canIpForward eq false", 1);               /* booleans as text */
  match(o, "scheduling.automaticRestart eq true", 1); /* nested */
  match(o, "labels.edv-tenant eq t\\d", 1);
  match(o, "labels.absent eq .*", 0);
  match(o, "labels.absent ne .*", 1);
  match(o, "name eq \\w+-\\w+-\\w+", 1);
  match(o, "name eq [\\w-]+", 1);
  match(o, "name eq \\S+", 1);
  match(o, "cpuPlatform eq \\S+", 0);
  match(o, "name eq (?i)EDV-T1-VM", 1);
  match(o, "name eq EDV-T1-VM", 0);
  match(o, "name eq (?:edv|x)-.*?", 1);
  match(o, "name eq (edv|x)-(t1|t2)-vm", 1);
  match(o, "zone eq .*/us-central1-a", 1);
  match(o, "(name eq edv-.*) (status eq RUNNING)", 1);
  match(o, "(name eq edv-.*) (status ne RUNNING)", 0);
  match(o, "(name eq \"edv-t1-vm\") (zone eq \".*-a\")", 1);
  match(o, "(name eq (edv)-.*)", 1); /* the literal's own parentheses */
  json_object_put(o);
}

static void test_filter_aip160(void **state)
{
  json_object *o = vm();

  (void)state;
  match(o, "name = edv-t1-vm", 1);
  match(o, "name = \"edv-t1-vm\"", 1);
  match(o, "name = edv-*", 1);
  match(o, "name != edv-t1-vm", 0);
  match(o, "labels.edv-tenant = t1", 1);
  match(o, "labels.owner:*", 1);
  match(o, "labels.nobody:*", 0);
  match(o, "labels:owner", 1);
  match(o, "tags.items:web", 1);
  match(o, "tags.items = ssh", 1);
  match(o, "scheduling.automaticRestart = true", 1);
  match(o, "scheduling.automaticRestart = false", 0);
  match(o, "guestCpus > 1", 1);
  match(o, "guestCpus >= 3", 0);
  match(o, "diskSizeGb < 100", 1); /* int64 as a string, compared as a number */
  match(o,
        "(cpuPlatform = \"Intel Skylake\") OR (cpuPlatform = \"Intel "
        "Broadwell\") AND (scheduling.automaticRestart = true)",
        1);
  match(o, "(cpuPlatform = \"Intel Skylake\") OR (cpuPlatform = \"AMD\")", 0);
  match(o, "name = edv-t1-vm AND status = RUNNING", 1);
  match(o, "name = edv-t1-vm status = STOPPED", 0);
  json_object_put(o);
}

static void test_filter_refused(void **state)
{
  static const char *const bad[] = {
      "name eq (",      /* not a regular expression */
      "name eq [a-",    /* neither */
      "name eq \\bedv", /* RE2 we cannot express */
      "name eq \\pL+",
      "name eq \"edv.*\" AND status = RUNNING", /* mixed syntaxes */
      "(name eq edv.*) (status = RUNNING)",
      "(name eq edv.*) OR (status eq RUNNING)",
      "name eq \"edv", /* unterminated quote */
      "(name = edv",   /* unterminated parenthesis */
      "name",          /* no operator */
      "name =",        /* no value */
      "= edv",         /* no field */
      "name = edv OR", /* dangling OR */
      "AND name = edv",
  };
  json_object *o = vm();

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    if (sim__filter_check(bad[i]) != -1)
      fail_msg("filter '%s' should be refused", bad[i]);
    assert_int_equal(sim_filter_match(o, bad[i]), 0);
  }
  assert_int_equal(sim__filter_check(NULL), 0);
  assert_int_equal(sim__filter_check(""), 0);
  assert_int_equal(sim_filter_match(o, ""), 1);
  json_object_put(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filter_regex),
      cmocka_unit_test(test_filter_aip160),
      cmocka_unit_test(test_filter_refused),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
