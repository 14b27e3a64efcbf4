/*
 * test_file.c - a secret read from a private file (common/file.h,
 * edv__file_read_secret): its final newline dropped, refused when others
 * may read it, when empty, when not a regular file, each refusal naming
 * the configuration key and the file but never the secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/file.h"

static char dir[64], path[128];

static void put(const char *text, mode_t mode)
{
  FILE *fp;

  unlink(path);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
  assert_int_equal(chmod(path, mode), 0);
}

/* The refusal of the file as it is, with its message checked. */
static void refused(const char *why)
{
  char buf[64];
  edv_error err;

  assert_int_equal(
      edv__file_read_secret("alerts.x_file", path, buf, sizeof(buf), &err),
      EDV_ECONFIG);
  assert_non_null(strstr(err.message, "alerts.x_file"));
  assert_non_null(strstr(err.message, path));
  assert_non_null(strstr(err.message, why));
  assert_null(strstr(err.message, "s3cret"));
  assert_string_equal(buf, "");
}

static void test_read_secret(void **state)
{
  char buf[64];
  edv_error err;

  (void)state;
  put("s3cret\n", 0600);
  assert_int_equal(
      edv__file_read_secret("alerts.x_file", path, buf, sizeof(buf), &err), 0);
  assert_string_equal(buf, "s3cret");
  put("s3cret\r\n", 0400);
  assert_int_equal(
      edv__file_read_secret("alerts.x_file", path, buf, sizeof(buf), &err), 0);
  assert_string_equal(buf, "s3cret");
  put("s3cret", 0600);
  assert_int_equal(
      edv__file_read_secret("alerts.x_file", path, buf, sizeof(buf), &err), 0);
  assert_string_equal(buf, "s3cret");
  put("s3cret\n", 0644);
  refused("mode 0644");
  put("s3cret\n", 0640);
  refused("chmod 600");
  put("\n", 0600);
  refused("empty");
  put("s3cret-far-too-long-for-the-buffer-s3cret-far-too-long-for-the-64-"
      "bytes-of-it\n",
      0600);
  refused("bytes");
  unlink(path);
  refused("cannot read");
  assert_int_equal(mkfifo(path, 0600), 0);
  refused("regular file");
  unlink(path);
}

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/edv-file-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/secret", dir);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  unlink(path);
  rmdir(dir);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_secret),
  };

  return cmocka_run_group_tests_name("common/file", tests, setup, teardown);
}
