/*
 * test_tokens.c - prog/tokens.c: create, verify by role, refuse wrong
 * tokens and unsafe files, never store the token itself.
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

#include "prog/tokens.h"

static char path[300];

static int setup(void **state)
{
  char tmpl[] = "/tmp/edv-tokens-XXXXXX";

  (void)state;
  if (!mkdtemp(tmpl))
    return -1;
  snprintf(path, sizeof(path), "%s/%s", tmpl, EDV_TOKENS_FILE);
  return 0;
}

static void test_create_verify(void **state)
{
  char admin[EDV_TOKEN_MAX], viewer[EDV_TOKEN_MAX], bad[EDV_TOKEN_MAX];
  edv__tokens *t;
  const char *name = NULL, *id = NULL;
  struct stat st;
  edv_error err;
  FILE *f;
  char text[4096];
  size_t n;

  (void)state;
  assert_int_equal(edv__tokens_create(path, "alice", EDV_ROLE_ADMIN, admin,
                                      sizeof(admin), &err),
                   0);
  assert_int_equal(edv__tokens_create(path, "grafana", EDV_ROLE_VIEWER, viewer,
                                      sizeof(viewer), &err),
                   0);
  assert_int_equal(edv__tokens_create(path, "alice", EDV_ROLE_VIEWER, bad,
                                      sizeof(bad), &err),
                   EDV_EEXIST);
  assert_int_equal(edv__tokens_create(path, "bad name", EDV_ROLE_VIEWER, bad,
                                      sizeof(bad), &err),
                   EDV_EINVAL);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* The file holds hashes, never the tokens. */
  f = fopen(path, "r");
  assert_non_null(f);
  n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = '\0';
  assert_null(strstr(text, admin + 14));
  assert_null(strstr(text, viewer + 14));

  assert_int_equal(edv__tokens_load(path, &t, &err), 0);
  assert_int_equal(edv__tokens_count(t), 2);
  assert_int_equal(edv__tokens_verify(t, admin, &name, &id), EDV_ROLE_ADMIN);
  assert_string_equal(name, "alice");
  assert_int_equal(strlen(id), 8);
  assert_int_equal(edv__tokens_verify(t, viewer, &name, NULL), EDV_ROLE_VIEWER);
  /* Right id, wrong secret; truncated; garbage; empty. */
  snprintf(bad, sizeof(bad), "%s", admin);
  bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
  assert_int_equal(edv__tokens_verify(t, bad, NULL, NULL), EDV_ROLE_NONE);
  bad[20] = '\0';
  assert_int_equal(edv__tokens_verify(t, bad, NULL, NULL), EDV_ROLE_NONE);
  assert_int_equal(edv__tokens_verify(t, "edv_zzzzzzzz_x", NULL, NULL),
                   EDV_ROLE_NONE);
  assert_int_equal(edv__tokens_verify(t, "", NULL, NULL), EDV_ROLE_NONE);
  assert_int_equal(edv__tokens_verify(t, NULL, NULL, NULL), EDV_ROLE_NONE);
  edv__tokens_free(t);

  /* A file others can read is refused. */
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(edv__tokens_load(path, &t, &err), EDV_ECONFIG);
  assert_null(t);
  unlink(path);
  /* A missing file is an empty set. */
  assert_int_equal(edv__tokens_load(path, &t, &err), 0);
  assert_int_equal(edv__tokens_count(t), 0);
  assert_int_equal(edv__tokens_verify(t, admin, NULL, NULL), EDV_ROLE_NONE);
  edv__tokens_free(t);
  *strrchr(path, '/') = '\0';
  rmdir(path);
}

static void test_roles(void **state)
{
  (void)state;
  assert_int_equal(edv__role_parse("viewer"), EDV_ROLE_VIEWER);
  assert_int_equal(edv__role_parse("operator"), EDV_ROLE_OPERATOR);
  assert_int_equal(edv__role_parse("admin"), EDV_ROLE_ADMIN);
  assert_int_equal(edv__role_parse("root"), EDV_ROLE_NONE);
  assert_int_equal(edv__role_parse(NULL), EDV_ROLE_NONE);
  assert_string_equal(edv__role_name(EDV_ROLE_OPERATOR), "operator");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_create_verify, setup),
      cmocka_unit_test(test_roles),
  };

  return cmocka_run_group_tests_name("tokens", tests, NULL, NULL);
}
