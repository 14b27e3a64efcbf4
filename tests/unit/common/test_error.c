/*
 * test_error.c - edv_error names, messages, formatting, transience.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "edv/error.h"

static void test_names_and_messages(void **state)
{
  (void)state;
  assert_string_equal(edv_err_name(EDV_OK), "OK");
  assert_string_equal(edv_err_name(EDV_ENOTFOUND), "ENOTFOUND");
  assert_string_equal(edv_strerror(EDV_EEXIST), "resource already exists");
  assert_string_equal(edv_err_name((edv_code)9999), "UNKNOWN");
  assert_string_equal(edv_strerror((edv_code)-1), "unknown error");
  /* Values are part of the ABI: they must never move. */
  assert_int_equal(EDV_ENOTFOUND, 2);
  assert_int_equal(EDV_EHTTP, 27);
}

static void test_set_and_format(void **state)
{
  edv_error err;
  char buf[256];

  (void)state;
  assert_int_equal(edv_error_set(&err, EDV_ENOTFOUND, "no %s", "vm"),
                   EDV_ENOTFOUND);
  err.http_status = 404;
  strcpy(err.reason, "notFound");
  strcpy(err.where, "GET compute.instances.get");
  edv_error_format(&err, buf, sizeof(buf));
  assert_string_equal(buf, "ENOTFOUND (404 notFound): no vm [GET "
                           "compute.instances.get]");
  /* Truncation never overflows and stays terminated. */
  edv_error_format(&err, buf, 8);
  assert_int_equal(strlen(buf), 7);
  assert_int_equal(edv_error_set(NULL, EDV_EINVAL, "x"), EDV_EINVAL);
}

static void test_transient(void **state)
{
  edv_error err;

  (void)state;
  edv_error_set(&err, EDV_EUNAVAIL, NULL);
  assert_true(edv_error_is_transient(&err));
  edv_error_set(&err, EDV_ENOTFOUND, NULL);
  assert_false(edv_error_is_transient(&err));
  edv_error_set(&err, EDV_EINTERNAL, NULL);
  err.http_status = 500;
  assert_true(edv_error_is_transient(&err));
  err.http_status = 0; /* a failed operation, not an HTTP 500 */
  assert_false(edv_error_is_transient(&err));
  assert_false(edv_error_is_transient(NULL));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_and_messages),
      cmocka_unit_test(test_set_and_format),
      cmocka_unit_test(test_transient),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
