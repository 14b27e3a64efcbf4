/*
 * test_adc.c - Application Default Credentials order, with the environment
 * and HOME pointed at a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "auth/internal.h"
#include "fake_engine.h"
#include "testutil.h"

static char *dir;
static char *sa_a, *sa_b, *sa_gcloud, *sa_home;

static char *write_sa(const char *sub, const char *name, const char *email)
{
  char d[700], *json, *path;

  snprintf(d, sizeof(d), "%s/%s", dir, sub);
  mkdir(d, 0700);
  json = tu_sa_json(tu_rsa_pem(), "k", email, NULL, "p");
  path = tu_write(d, name, json, 0600);
  free(json);
  return path;
}

static int setup(void **state)
{
  char home_cfg[700];

  (void)state;
  dir = tu_tmpdir();
  sa_a = write_sa(".", "a.json", "a@p.iam.gserviceaccount.com");
  sa_b = write_sa(".", "b.json", "b@p.iam.gserviceaccount.com");
  sa_gcloud = write_sa("gc", "application_default_credentials.json",
                       "gcloud@p.iam.gserviceaccount.com");
  snprintf(home_cfg, sizeof(home_cfg), "%s/home", dir);
  mkdir(home_cfg, 0700);
  snprintf(home_cfg, sizeof(home_cfg), "%s/home/.config", dir);
  mkdir(home_cfg, 0700);
  sa_home =
      write_sa("home/.config/gcloud", "application_default_credentials.json",
               "home@p.iam.gserviceaccount.com");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  tu_rmrf(dir);
  free(dir);
  free(sa_a);
  free(sa_b);
  free(sa_gcloud);
  free(sa_home);
  return 0;
}

/* A clean environment before each test: nothing points anywhere. */
static int env_clean(void **state)
{
  char empty[700];

  (void)state;
  snprintf(empty, sizeof(empty), "%s/empty-home", dir);
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  unsetenv("CLOUDSDK_CONFIG");
  unsetenv("GCE_METADATA_HOST");
  unsetenv("GCE_METADATA_ROOT");
  unsetenv("GCE_METADATA_IP");
  setenv("HOME", empty, 1);
  return 0;
}

static const char *find_email(const edv__adc_opts *o, edv__creds *c)
{
  edv_error err;

  assert_int_equal(edv__adc_find(o, c, &err), 0);
  return c->client_email;
}

static void test_order(void **state)
{
  edv__adc_opts o = {0};
  edv__creds c;
  char gc[700];

  (void)state;
  snprintf(gc, sizeof(gc), "%s/gc", dir);
  setenv("CLOUDSDK_CONFIG", gc, 1);
  setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_b, 1);
  o.key_file = sa_a;
  /* 1. explicit key file beats the environment */
  assert_string_equal(find_email(&o, &c), "a@p.iam.gserviceaccount.com");
  assert_string_equal(c.origin, "config key_file");
  edv__creds_clear(&c);
  /* 2. GOOGLE_APPLICATION_CREDENTIALS */
  o.key_file = NULL;
  assert_string_equal(find_email(&o, &c), "b@p.iam.gserviceaccount.com");
  assert_string_equal(c.origin, "GOOGLE_APPLICATION_CREDENTIALS");
  edv__creds_clear(&c);
  /* 3. gcloud's file under CLOUDSDK_CONFIG */
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  assert_string_equal(find_email(&o, &c), "gcloud@p.iam.gserviceaccount.com");
  assert_string_equal(c.origin, "gcloud ADC file");
  edv__creds_clear(&c);
}

static void test_home_gcloud(void **state)
{
  edv__adc_opts o = {0};
  edv__creds c;
  char home[700];

  (void)state;
  snprintf(home, sizeof(home), "%s/home", dir);
  setenv("HOME", home, 1);
  assert_string_equal(find_email(&o, &c), "home@p.iam.gserviceaccount.com");
  edv__creds_clear(&c);
}

static void test_access_token_file_first(void **state)
{
  edv__adc_opts o = {0};
  edv__creds c;
  edv_error err;
  char *tok = tu_write(dir, "tok", "ya29.static-token\n", 0600);

  (void)state;
  setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_b, 1);
  o.key_file = sa_a;
  o.access_token_file = tok;
  assert_int_equal(edv__adc_find(&o, &c, &err), 0);
  assert_int_equal(c.kind, EDV_CRED_ACCESS_TOKEN_FILE);
  assert_string_equal(c.path, tok);
  edv__creds_clear(&c);
  free(tok);
}

static void test_named_file_missing(void **state)
{
  edv__adc_opts o = {0};
  edv__creds c;
  edv_error err;
  char missing[700];

  (void)state;
  snprintf(missing, sizeof(missing), "%s/missing.json", dir);
  setenv("GOOGLE_APPLICATION_CREDENTIALS", missing, 1);
  assert_int_equal(edv__adc_find(&o, &c, &err), EDV_ECRED);
  assert_non_null(strstr(err.message, "missing.json"));
  assert_non_null(strstr(err.message, "GOOGLE_APPLICATION_CREDENTIALS"));
  o.key_file = missing;
  assert_int_equal(edv__adc_find(&o, &c, &err), EDV_ECRED);
  assert_non_null(strstr(err.message, "config key_file"));
  o.key_file = NULL;
  o.access_token_file = missing;
  assert_int_equal(edv__adc_find(&o, &c, &err), EDV_ECRED);
  assert_non_null(strstr(err.message, "access token file"));
}

static void test_metadata_fallback(void **state)
{
  edv__adc_opts o = {0};
  edv__creds c;
  edv_error err;

  (void)state;
  assert_int_equal(edv__adc_find(&o, &c, &err), 0);
  assert_int_equal(c.kind, EDV_CRED_METADATA);
  assert_string_equal(c.metadata_root, "http://metadata.google.internal");
  assert_non_null(strstr(c.tried, "GOOGLE_APPLICATION_CREDENTIALS"));
  assert_non_null(strstr(c.tried, "empty-home/.config/gcloud/"
                                  "application_default_credentials.json"));
  edv__creds_clear(&c);
}

static void test_metadata_root(void **state)
{
  char *r;

  (void)state;
  r = edv__metadata_root();
  assert_string_equal(r, "http://metadata.google.internal");
  free(r);
  setenv("GCE_METADATA_IP", "169.254.169.254", 1);
  r = edv__metadata_root();
  assert_string_equal(r, "http://169.254.169.254");
  free(r);
  setenv("GCE_METADATA_ROOT", "legacy:8080/", 1);
  r = edv__metadata_root();
  assert_string_equal(r, "http://legacy:8080");
  free(r);
  setenv("GCE_METADATA_HOST", "127.0.0.1:1234", 1);
  r = edv__metadata_root();
  assert_string_equal(r, "http://127.0.0.1:1234");
  free(r);
}

static void test_locate(void **state)
{
  edv_config *cfg = fake_config();
  edv_error err;
  char buf[512];

  (void)state;
  assert_int_equal(edv_auth_locate(NULL, buf, sizeof(buf), &err),
                   EDV_CRED_METADATA);
  assert_non_null(strstr(buf, "metadata server"));
  assert_non_null(strstr(buf, "not probed"));
  edv_config_set(cfg, "key_file", sa_a, &err);
  edv_config_set(cfg, "auth.self_signed_jwt", "true", &err);
  assert_int_equal(edv_auth_locate(cfg, buf, sizeof(buf), &err),
                   EDV_CRED_SERVICE_ACCOUNT);
  assert_non_null(strstr(buf, "a@p.iam.gserviceaccount.com"));
  assert_non_null(strstr(buf, sa_a));
  assert_non_null(strstr(buf, "self-signed"));
  assert_null(strstr(buf, "PRIVATE"));
  edv_config_set(cfg, "key_file", "/nonexistent/k.json", &err);
  assert_int_equal(edv_auth_locate(cfg, buf, sizeof(buf), &err), EDV_CRED_NONE);
  assert_int_equal(err.code, EDV_ECRED);
  edv_config_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_order, env_clean),
      cmocka_unit_test_setup(test_home_gcloud, env_clean),
      cmocka_unit_test_setup(test_access_token_file_first, env_clean),
      cmocka_unit_test_setup(test_named_file_missing, env_clean),
      cmocka_unit_test_setup(test_metadata_fallback, env_clean),
      cmocka_unit_test_setup(test_metadata_root, env_clean),
      cmocka_unit_test_setup(test_locate, env_clean),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
