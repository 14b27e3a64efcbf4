/*
 * test_log.c - the logger's conventions: JSON lines with Cloud Logging's
 * `severity` (ALERT for an error line starting "ALERT "), `message`, and
 * the message's tenant=, step= and call= tokens as fields; text lines on
 * stderr prefixed with the syslog priority ("<N>", journald's convention)
 * exactly when stderr is the stream JOURNAL_STREAM names.
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
#include <json-c/json.h>

#include "common/log.h"

static char last[4096];

static void sink(void *data, edv_log_level level, const char *line)
{
  (void)data;
  (void)level;
  snprintf(last, sizeof(last), "%s", line);
}

/* The JSON line of one message; its field `key` ("" when absent). */
static const char *field(json_object *o, const char *key)
{
  json_object *v;

  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static json_object *logged(edv_log_level level, const char *msg)
{
  json_object *o;

  last[0] = '\0';
  edv__log(level, "test", "%s", msg);
  o = json_tokener_parse(last);
  if (!o)
    fail_msg("not JSON: %s", last);
  return o;
}

static void test_json_fields(void **state)
{
  static const struct {
    edv_log_level level;
    const char *msg, *severity, *tenant, *step, *call;
  } cases[] = {
      {EDV_LOG_ERROR, "step failed: tenant=s1 step=sql_instance error=x",
       "ERROR", "s1", "sql_instance", ""},
      {EDV_LOG_WARN, "step retry: tenant=s-2 step=vm error=EQUOTA", "WARNING",
       "s-2", "vm", ""},
      {EDV_LOG_INFO, "GET call=compute.instances.get: ERATELIMIT (HTTP 429)",
       "INFO", "", "", "compute.instances.get"},
      {EDV_LOG_DEBUG, "tenant=s3: probe ok (step=, subtenant=z)", "DEBUG", "s3",
       "", ""},
      {EDV_LOG_ERROR, "ALERT tenant=s4 degraded: still unhealthy", "ALERT",
       "s4", "", ""},
      /* Only an error line is an alert. */
      {EDV_LOG_WARN, "ALERT tenant=s5 backup stale", "WARNING", "s5", "", ""},
      {EDV_LOG_INFO, "no fields here; mytenant=q xcall=r", "INFO", "", "", ""},
  };

  (void)state;
  edv__log_set_sink(sink, NULL);
  edv__log_set_level(EDV_LOG_DEBUG);
  edv__log_set_json(1);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_object *o = logged(cases[i].level, cases[i].msg);
    json_object *v;

    assert_string_equal(field(o, "severity"), cases[i].severity);
    assert_string_equal(field(o, "message"), cases[i].msg);
    assert_string_equal(field(o, "module"), "test");
    assert_int_equal(strlen(field(o, "time")), 24);
    assert_string_equal(field(o, "tenant"), cases[i].tenant);
    assert_string_equal(field(o, "step"), cases[i].step);
    assert_string_equal(field(o, "call"), cases[i].call);
    assert_false(json_object_object_get_ex(o, "level", &v));
    assert_false(json_object_object_get_ex(o, "msg", &v));
    json_object_put(o);
  }
  /* Below the threshold: nothing. */
  edv__log_set_level(EDV_LOG_WARN);
  last[0] = '\0';
  edv__log(EDV_LOG_INFO, "test", "dropped");
  assert_string_equal(last, "");
  edv__log_set_sink(NULL, NULL);
}

/* Logs one line per level (and an alert) to stderr, redirected to a file;
 * the file's text. */
static char *stderr_lines(const char *journal_stream, int json, char *buf,
                          size_t size)
{
  char path[] = "/tmp/edv-test-log-XXXXXX", js[64];
  int fd = mkstemp(path), saved = dup(2);
  struct stat st;
  FILE *f;
  size_t n;

  assert_true(fd >= 0 && saved >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino);
  fflush(stderr);
  assert_int_equal(dup2(fd, 2), 2);
  if (journal_stream)
    setenv("JOURNAL_STREAM", *journal_stream ? journal_stream : js, 1);
  else
    unsetenv("JOURNAL_STREAM");
  edv__log_set_level(EDV_LOG_DEBUG); /* looks at JOURNAL_STREAM again */
  edv__log_set_json(json);
  edv__log(EDV_LOG_ERROR, "t", "an error tenant=a");
  edv__log(EDV_LOG_WARN, "t", "a warning");
  edv__log(EDV_LOG_INFO, "t", "some info");
  edv__log(EDV_LOG_DEBUG, "t", "a detail");
  edv__log(EDV_LOG_ERROR, "t", "ALERT tenant=b degraded");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  unsetenv("JOURNAL_STREAM");
  f = fdopen(fd, "r");
  assert_non_null(f);
  rewind(f);
  n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
  unlink(path);
  return buf;
}

static void test_journald_prefix(void **state)
{
  static const char *const prios[] = {"<3>", "<4>", "<6>", "<7>", "<1>"};
  char buf[8192], *line, *save = NULL;
  int i = 0;

  (void)state;
  edv__log_set_sink(NULL, NULL);
  /* stderr is the journal's stream: each line starts with its priority. */
  stderr_lines("", 0, buf, sizeof(buf));
  for (line = strtok_r(buf, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save), i++) {
    assert_true(i < 5);
    if (strncmp(line, prios[i], 3) != 0 || line[3] != '2')
      fail_msg("line %d: want %s then the time: %s", i, prios[i], line);
  }
  assert_int_equal(i, 5);
  /* JSON lines too (journald strips the prefix, the JSON stays whole). */
  stderr_lines("", 1, buf, sizeof(buf));
  assert_memory_equal(buf, "<3>{\"time\":", 11);
  assert_non_null(strstr(buf, "\n<1>{\"time\":"));
  /* JOURNAL_STREAM naming another stream (a child whose stderr was
   * redirected), or unset: no prefix. */
  stderr_lines("1:2", 0, buf, sizeof(buf));
  assert_null(strchr(buf, '<'));
  assert_int_equal(buf[0], '2');
  stderr_lines(NULL, 0, buf, sizeof(buf));
  assert_null(strchr(buf, '<'));
  stderr_lines("garbage", 1, buf, sizeof(buf));
  assert_int_equal(buf[0], '{');
  edv__log_set_json(0);
  edv__log_set_level(EDV_LOG_WARN);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_fields),
      cmocka_unit_test(test_journald_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
