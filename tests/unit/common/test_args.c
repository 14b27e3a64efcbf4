/*
 * test_args.c - the command-line parser of the three programs
 * (common/args.h): value forms, combined short switches, "--", and the
 * messages of each mistake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/args.h"

static const edv__opt opts[] = {
    {"data", 'd', "JSON", "a body"}, {"quiet", 'q', NULL, "less"},
    {"verbose", 'v', NULL, "more"},  {"listen", 0, "HOST:PORT", "where"},
    {NULL, 0, NULL, NULL},
};

typedef struct seen {
  char log[512];
  char err[300];
} seen;

static int on_flag(edv__args *p, unsigned t, int i, const char *v)
{
  seen *s = p->data;
  size_t n = strlen(s->log);

  snprintf(s->log + n, sizeof(s->log) - n, "%s=%s;", p->tables[t][i].name,
           v ? v : "(none)");
  return 0;
}

static int on_word(edv__args *p, const char *w)
{
  seen *s = p->data;
  size_t n = strlen(s->log);

  snprintf(s->log + n, sizeof(s->log) - n, "[%s];", w);
  return 0;
}

static int on_error(edv__args *p, const char *msg)
{
  seen *s = p->data;

  snprintf(s->err, sizeof(s->err), "%s", msg);
  return 2;
}

static int parse(seen *s, int argc, char **argv)
{
  edv__args p;

  memset(s, 0, sizeof(*s));
  memset(&p, 0, sizeof(p));
  p.tables[0] = opts;
  p.flag = on_flag;
  p.word = on_word;
  p.error = on_error;
  p.data = s;
  return edv__args_parse(&p, argc, argv);
}

static void test_forms(void **state)
{
  seen s;
  char *a[] = {"prog", "--data={}", "--listen", ":80", "-qv",     "-d[1]",
               "-d",   "x",         "word",     "--",  "--quiet", NULL};

  (void)state;
  assert_int_equal(parse(&s, 11, a), 0);
  assert_string_equal(s.log, "data={};listen=:80;quiet=(none);verbose=(none);"
                             "data=[1];data=x;[word];[--quiet];");
}

static void test_mistakes(void **state)
{
  seen s;
  char *typo[] = {"prog", "--lisen", ":80", NULL};
  char *far[] = {"prog", "--zzzzzz", NULL};
  char *missing[] = {"prog", "--listen", NULL};
  char *empty[] = {"prog", "--listen=", NULL};
  char *novalue[] = {"prog", "--quiet=1", NULL};
  char *shortu[] = {"prog", "-qx", NULL};

  (void)state;
  assert_int_equal(parse(&s, 3, typo), 2);
  assert_string_equal(s.err,
                      "unknown flag '--lisen'; did you mean '--listen'?");
  assert_int_equal(parse(&s, 2, far), 2);
  assert_string_equal(s.err, "unknown flag '--zzzzzz'");
  assert_int_equal(parse(&s, 2, missing), 2);
  assert_string_equal(s.err, "flag --listen needs a value (HOST:PORT)");
  assert_int_equal(parse(&s, 2, empty), 2);
  assert_string_equal(s.err,
                      "flag --listen needs a non-empty value (HOST:PORT)");
  assert_int_equal(parse(&s, 2, novalue), 2);
  assert_string_equal(s.err, "flag --quiet takes no value");
  assert_int_equal(parse(&s, 2, shortu), 2);
  assert_string_equal(s.err, "unknown flag '-x'");
  assert_string_equal(s.log, "quiet=(none);"); /* -q was read first */
}

static void test_near(void **state)
{
  const char *best = NULL;
  size_t d = SIZE_MAX;

  (void)state;
  edv__args_near("tenat", 5, "tiers", &best, &d);
  edv__args_near("tenat", 5, "tenant", &best, &d);
  assert_string_equal(best, "tenant");
  best = NULL;
  d = SIZE_MAX;
  edv__args_near("xyz", 3, "tenant", &best, &d);
  assert_null(best);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms),
      cmocka_unit_test(test_mistakes),
      cmocka_unit_test(test_near),
  };

  return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
