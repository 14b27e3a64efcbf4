/*
 * test_config.c - config files, validation, the environment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edv/config.h"
#include "edv/engine.h"

static char *write_file(const char *text)
{
  char *path = strdup("/tmp/edv-test-config-XXXXXX");
  int fd = mkstemp(path);
  FILE *f;

  assert_true(fd >= 0);
  f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_defaults(void **state)
{
  edv_config *cfg = edv_config_new();

  (void)state;
  assert_string_equal(edv_config_get(cfg, "domain"), "edvirons.com");
  assert_string_equal(edv_config_get(cfg, "region"), "us-central1");
  assert_string_equal(edv_config_get(cfg, "supernet"), "10.64.0.0/10");
  assert_int_equal(edv_config_get_int(cfg, "http.timeout_ms", 0), 120000);
  assert_int_equal(edv_config_get_int(cfg, "subnet_prefix", 0), 28);
  assert_null(edv_config_get(cfg, "project"));
  assert_int_equal(edv_config_get_int(cfg, "nope", 5), 5);
  edv_config_free(cfg);
  edv_config_free(NULL);
}

static void test_good_file(void **state)
{
  char *path = write_file(
      "# EdVirons config\n"
      "\n"
      "project = edv-prod-1\n"
      "  endpoint   =   http://127.0.0.1:8080/  \n"
      "endpoint.sqladmin = \"https://sql.example.com\"\n"
      "auth.self_signed_jwt = yes\n"
      "auth.scopes = \"https://www.googleapis.com/auth/cloud-platform\"\n"
      "ratelimit.compute.write.per_minute = 100 # keep it low\n"
      "ratelimit.sqladmin.concurrency = 4\n"
      "log.level = debug\n"
      "zone = europe-west4-b\n"
      "supernet = 10.128.0.0/12\n"
      "server.listen = 127.0.0.1:8443\n");
  edv_config *cfg = edv_config_new();
  edv_error err;

  (void)state;
  assert_int_equal(edv_config_load_file(cfg, path, &err), EDV_OK);
  assert_string_equal(edv_config_get(cfg, "project"), "edv-prod-1");
  /* Trailing slashes of URLs are dropped. */
  assert_string_equal(edv_config_get(cfg, "endpoint"), "http://127.0.0.1:8080");
  assert_string_equal(edv_config_get(cfg, "endpoint.sqladmin"),
                      "https://sql.example.com");
  assert_string_equal(edv_config_get(cfg, "auth.self_signed_jwt"), "true");
  assert_int_equal(
      edv_config_get_int(cfg, "ratelimit.compute.write.per_minute", 0), 100);
  assert_string_equal(edv_config_get(cfg, "log.level"), "debug");
  unlink(path);
  free(path);
  edv_config_free(cfg);
}

/* Loads `text`; expects failure mentioning every string of `want`, and
 * that nothing of the file was applied. */
static void check_bad(const char *text, const char *where_line,
                      const char *want)
{
  char *path = write_file(text);
  edv_config *cfg = edv_config_new();
  edv_error err;

  assert_int_equal(edv_config_load_file(cfg, path, &err), EDV_ECONFIG);
  assert_int_equal(err.code, EDV_ECONFIG);
  print_message("# %s\n", err.message);
  assert_non_null(strstr(err.message, want));
  assert_non_null(strstr(err.where, where_line));
  assert_non_null(strstr(err.message, where_line));
  assert_string_equal(edv_config_get(cfg, "domain"), "edvirons.com");
  assert_null(edv_config_get(cfg, "project"));
  unlink(path);
  free(path);
  edv_config_free(cfg);
}

static void test_bad_files(void **state)
{
  (void)state;
  check_bad("project = p1\nthis is not a line\n", ":2", "key = value");
  check_bad("project = p1\ndomain = x.org\nfrobnicate = 1\n", ":3",
            "unknown key 'frobnicate'");
  check_bad("project = p1\nhttp.timeout_ms = soon\n", ":2", "http.timeout_ms");
  check_bad("subnet_prefix = 31\n", ":1", "out of range");
  check_bad("supernet = 10.64.0.1/10\n", ":1", "supernet");
  check_bad("endpoint = ftp://x\n", ":1", "endpoint");
  check_bad("endpoint.nosuchapi = http://x\n", ":1", "unknown key");
  check_bad("log.level = loud\n", ":1", "error|warn|info|debug");
  check_bad("region = Mars\n", ":1", "region");
  check_bad("auth.self_signed_jwt = maybe\n", ":1", "true or false");
  check_bad("project = \"p1\n", ":1", "unterminated");
  check_bad(" = 3\n", ":1", "missing key");
}

static void test_missing_file(void **state)
{
  edv_config *cfg = edv_config_new();
  edv_error err;

  (void)state;
  assert_int_equal(edv_config_load_file(cfg, "/nonexistent/edv.conf", &err),
                   EDV_ECONFIG);
  assert_non_null(strstr(err.message, "/nonexistent/edv.conf"));
  edv_config_free(cfg);
}

static void test_set_and_foreach(void **state)
{
  edv_config *cfg = edv_config_new();
  edv_error err;

  (void)state;
  assert_int_equal(edv_config_set(cfg, "retry.max_attempts", "0", &err),
                   EDV_ECONFIG);
  assert_string_equal(err.where, "retry.max_attempts");
  assert_int_equal(edv_config_set(cfg, "retry.max_attempts", "3", &err), 0);
  assert_int_equal(edv_config_set(cfg, "bogus", "3", &err), EDV_ECONFIG);
  assert_string_equal(err.where, "bogus");
  assert_int_equal(edv_config_set(cfg, "domain", "", &err), EDV_ECONFIG);
  assert_int_equal(
      edv_config_set(cfg, "endpoint.compute", "http://127.0.0.1:1", &err), 0);
  /* dns.reserved_labels: DNS labels, stored without the spaces. */
  assert_int_equal(
      edv_config_set(cfg, "dns.reserved_labels", "www, mail ,intranet", &err),
      0);
  assert_string_equal(edv_config_get(cfg, "dns.reserved_labels"),
                      "www,mail,intranet");
  assert_int_equal(edv_config_set(cfg, "dns.reserved_labels", "none", &err), 0);
  assert_int_equal(edv_config_set(cfg, "dns.reserved_labels", "www,", &err),
                   EDV_ECONFIG);
  assert_int_equal(edv_config_set(cfg, "dns.reserved_labels", "Www", &err),
                   EDV_ECONFIG);
  assert_int_equal(edv_config_set(cfg, "dns.reserved_labels", "-x", &err),
                   EDV_ECONFIG);
  assert_int_equal(edv_config_set(cfg, "dns.reserved_labels", "a b", &err),
                   EDV_ECONFIG);
  /* server.cors_origins: none by default; exact origins, no wildcard,
   * no path. */
  assert_string_equal(edv_config_get(cfg, "server.cors_origins"), "none");
  assert_int_equal(
      edv_config_set(cfg, "server.cors_origins",
                     "https://ops.example.org,http://localhost:8080", &err),
      0);
  assert_int_equal(edv_config_set(cfg, "server.cors_origins", "*", &err),
                   EDV_ECONFIG);
  assert_non_null(strstr(err.message, "server.cors_origins"));
  assert_int_equal(
      edv_config_set(cfg, "server.cors_origins", "https://a.example/x", &err),
      EDV_ECONFIG);
  assert_int_equal(
      edv_config_set(cfg, "server.cors_origins", "ops.example.org", &err),
      EDV_ECONFIG);
  assert_int_equal(
      edv_config_set(cfg, "server.cors_origins", "https://a.example,", &err),
      EDV_ECONFIG);
  /* alerts.email / alerts.webhook: lists, normalised; none by default. */
  assert_string_equal(edv_config_get(cfg, "alerts.email"), "none");
  assert_int_equal(edv_config_set(cfg, "alerts.email",
                                  "ops@school.example, on-call+edv@x.org",
                                  &err),
                   0);
  assert_string_equal(edv_config_get(cfg, "alerts.email"),
                      "ops@school.example,on-call+edv@x.org");
  assert_int_equal(edv_config_set(cfg, "alerts.email", "ops", &err),
                   EDV_ECONFIG);
  assert_non_null(strstr(err.message, "alerts.email"));
  assert_int_equal(edv_config_set(cfg, "alerts.email", "a@b.org,", &err),
                   EDV_ECONFIG);
  assert_int_equal(edv_config_set(cfg, "alerts.email", "a b@c.org", &err),
                   EDV_ECONFIG);
  assert_int_equal(
      edv_config_set(cfg, "alerts.webhook", "https://hooks.example/edv", &err),
      0);
  assert_int_equal(
      edv_config_set(cfg, "alerts.webhook", "http://hooks.example/edv", &err),
      EDV_ECONFIG);
  assert_non_null(strstr(err.message, "alerts.webhook"));
  edv_config_foreach(cfg, NULL, NULL); /* tolerated */
  edv_config_free(cfg);
}

static void append_key(void *data, const char *key, const char *value)
{
  char *buf = data;

  (void)value;
  strcat(buf, key);
  strcat(buf, ",");
}

static void test_foreach_order(void **state)
{
  edv_config *cfg = edv_config_new();
  char keys[4096] = "";

  (void)state;
  assert_int_equal(edv_config_set(cfg, "zone", "us-east1-b", NULL), 0);
  assert_int_equal(edv_config_set(cfg, "access_token_file", "/t", NULL), 0);
  edv_config_foreach(cfg, append_key, keys);
  assert_non_null(strstr(keys, "access_token_file,alerts.email,alerts.webhook,"
                               "backup.stale_after_s,domain,"));
  assert_non_null(strstr(keys, "supernet,zone,"));
  edv_config_free(cfg);
}

static void test_env(void **state)
{
  edv_config *cfg = edv_config_new();
  edv_error err;

  (void)state;
  setenv("EDV_ENDPOINT", "http://127.0.0.1:9999", 1);
  setenv("EDV_PROJECT", "env-project", 1);
  setenv("EDV_LOG_LEVEL", "info", 1);
  setenv("EDV_ENDPOINT_DNS", "http://dns.local", 1);
  setenv("EDV_RATELIMIT_COMPUTE_CONCURRENCY", "8", 1);
  assert_int_equal(edv_config_load_env(cfg, &err), EDV_OK);
  assert_string_equal(edv_config_get(cfg, "endpoint"), "http://127.0.0.1:9999");
  assert_string_equal(edv_config_get(cfg, "project"), "env-project");
  assert_string_equal(edv_config_get(cfg, "log.level"), "info");
  assert_string_equal(edv_config_get(cfg, "endpoint.dns"), "http://dns.local");
  assert_int_equal(edv_config_get_int(cfg, "ratelimit.compute.concurrency", 0),
                   8);
  /* A bad variable names itself; nothing of the environment is applied. */
  setenv("EDV_PROJECT", "other", 1);
  setenv("EDV_HTTP_TIMEOUT_MS", "-1", 1);
  assert_int_equal(edv_config_load_env(cfg, &err), EDV_ECONFIG);
  assert_string_equal(err.where, "EDV_HTTP_TIMEOUT_MS");
  assert_string_equal(edv_config_get(cfg, "project"), "env-project");
  unsetenv("EDV_HTTP_TIMEOUT_MS");
  unsetenv("EDV_ENDPOINT");
  unsetenv("EDV_PROJECT");
  unsetenv("EDV_LOG_LEVEL");
  unsetenv("EDV_ENDPOINT_DNS");
  unsetenv("EDV_RATELIMIT_COMPUTE_CONCURRENCY");
  edv_config_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_good_file),
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_set_and_foreach),
      cmocka_unit_test(test_foreach_order),
      cmocka_unit_test(test_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
