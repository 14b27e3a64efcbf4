/*
 * test_edvd_metrics.c - edvd's observability conventions, end to end:
 * /metrics in the Prometheus text format (every sample of a declared
 * family), edv_build_info, the process_* families read from /proc, the
 * request-duration histogram by route template counting a request; the
 * metric names of examples/prometheus and examples/grafana all exported
 * (tests/check_monitoring.py on a real scrape, and failing on a scrape
 * without one of them); the JSON log lines' severity, message and
 * tenant/step/call fields; log.format = text, with journald's "<N>"
 * priority prefix exactly when stderr is the stream JOURNAL_STREAM names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "edv/version.h"
#include "edvd_harness.h"

#define ROUTE_LABELS "route=\"/api/tenants/{id}\",method=\"GET\",code=\"4xx\""

static char *read_from(const char *path, long off);

static char *scrape(void)
{
  resp *r = http("GET", base, "/metrics", tok_view, NULL, NULL);
  char *text;

  assert_int_equal(r->status, 200);
  assert_non_null(strstr(r->headers, "text/plain; version=0.0.4"));
  text = strdup(r->body);
  resp_free(r);
  assert_non_null(text);
  return text;
}

/* The value of the sample whose name and labels are `series` exactly
 * ("name" or "name{a=\"b\"}"); -1 when absent. */
static double sample(const char *text, const char *series)
{
  size_t n = strlen(series);

  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (strncmp(p, series, n) == 0 && p[n] == ' ')
      return strtod(p + n + 1, NULL);
  return -1;
}

/* A family's name from a sample's name: itself when declared, else its
 * histogram base (_bucket, _sum, _count). */
static int declared(const char *text, const char *name, size_t len)
{
  static const char *const sfx[] = {"", "_bucket", "_sum", "_count"};

  for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
    char want[200];
    size_t sl = strlen(sfx[i]);
    if (len <= sl || memcmp(name + len - sl, sfx[i], sl) != 0)
      continue;
    snprintf(want, sizeof(want), "# TYPE %.*s %s", (int)(len - sl), name,
             sl ? "histogram" : "");
    if (strstr(text, want))
      return 1;
  }
  return 0;
}

/* Every line a comment or `name{labels} value` of a family declared by a
 * TYPE line, each family declared once; edv_build_info and process_*. */
static void test_exposition(void **state)
{
  char *text = scrape(), *copy = strdup(text), *save = NULL;
  char want[256];
  double v, now = (double)time(NULL);
  int samples = 0;

  (void)state;
  for (char *line = strtok_r(copy, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    size_t len = strspn(line, "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
    const char *val;
    char *end;

    if (strncmp(line, "# TYPE ", 7) == 0) {
      const char *name = line + 7;
      size_t nl = strcspn(name, " ");
      /* Declared once. */
      snprintf(want, sizeof(want), "\n# TYPE %.*s ", (int)nl, name);
      assert_ptr_equal(strstr(text, want), strstr(text, want));
      assert_null(strstr(strstr(text, want) + 1, want));
      continue;
    }
    if (line[0] == '#')
      continue;
    if (len == 0)
      fail_msg("not a sample: %s", line);
    if (!declared(text, line, len))
      fail_msg("sample of an undeclared family: %s", line);
    val = line[len] == '{' ? strstr(line, "} ") : line + len;
    if (!val)
      fail_msg("bad labels: %s", line);
    val += line[len] == '{' ? 2 : 1;
    strtod(val, &end);
    if (end == val || *end)
      fail_msg("bad value: %s", line);
    samples++;
  }
  free(copy);
  assert_true(samples > 50);

  /* The commit `edvd --version` names. */
  {
    char cmd[320], out[256] = "", *c;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "'%s' --version", edvd_bin);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, sizeof(out), p));
    pclose(p);
    c = strstr(out, "commit ");
    assert_non_null(c);
    c += 7;
    c[strcspn(c, ",)")] = '\0';
    snprintf(want, sizeof(want), "edv_build_info{version=\"%s\",commit=\"%s\"}",
             edv_version(), c);
  }
  assert_true(sample(text, want) == 1);
  assert_non_null(strstr(text, "# TYPE edv_build_info gauge\n"));
  /* The process: started within the last hour, a few MB, some fds. */
  v = sample(text, "process_start_time_seconds");
  assert_true(v > now - 3600 && v <= now + 5);
  assert_true(sample(text, "process_resident_memory_bytes") > 1e6);
  assert_true(sample(text, "process_virtual_memory_bytes") >=
              sample(text, "process_resident_memory_bytes"));
  v = sample(text, "process_open_fds");
  assert_true(v >= 3);
  assert_true(sample(text, "process_max_fds") >= v ||
              sample(text, "process_max_fds") == -1);
  assert_true(sample(text, "process_cpu_seconds_total") >= 0);
  assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
  assert_non_null(
      strstr(text, "# TYPE edv_http_request_duration_seconds histogram\n"));
  free(text);
}

/* One GET of an unknown tenant, by its path and by /api/v1: counted under
 * the route template, never under the raw path; buckets cumulative with
 * +Inf equal to _count. */
static void test_request_histogram(void **state)
{
  static const char *const les[] = {"0.005", "0.01", "0.025", "0.05", "0.1",
                                    "0.25",  "0.5",  "1",     "2.5",  "5",
                                    "10",    "30",   "+Inf"};
  char *text = scrape(), series[256];
  double before, after, prev = 0;
  resp *r;

  (void)state;
  before =
      sample(text, "edv_http_request_duration_seconds_count{" ROUTE_LABELS "}");
  free(text);
  if (before < 0)
    before = 0;
  r = http("GET", base, "/api/tenants/nosuchschool7", tok_view, NULL, NULL);
  assert_int_equal(r->status, 404);
  resp_free(r);
  r = http("GET", base, "/api/v1/tenants/nosuchschool8", tok_view, NULL, NULL);
  assert_int_equal(r->status, 404);
  resp_free(r);
  r = http("GET", base, "/no/route/here", tok_view, NULL, NULL);
  assert_int_equal(r->status, 404);
  resp_free(r);

  text = scrape();
  after =
      sample(text, "edv_http_request_duration_seconds_count{" ROUTE_LABELS "}");
  assert_true(after == before + 2);
  assert_null(strstr(text, "nosuchschool"));
  assert_null(strstr(text, "/no/route"));
  assert_true(sample(text,
                     "edv_http_request_duration_seconds_count{"
                     "route=\"unmatched\",method=\"GET\",code=\"4xx\"}") >= 1);
  assert_true(sample(text, "edv_http_request_duration_seconds_sum{" ROUTE_LABELS
                           "}") >= 0);
  for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
    double b;
    snprintf(series, sizeof(series),
             "edv_http_request_duration_seconds_bucket{" ROUTE_LABELS
             ",le=\"%s\"}",
             les[i]);
    b = sample(text, series);
    assert_true(b >= prev);
    prev = b;
  }
  assert_true(prev == after);
  free(text);
}

/* tests/check_monitoring.py --scrape FILE: exit status; its report in
 * `report`. */
static int check_names(const char *file, const char *report)
{
  const char *root = getenv("EDV_SOURCE_ROOT");
  char script[512];
  pid_t pid;
  int st = 0;

  snprintf(script, sizeof(script), "%s/tests/check_monitoring.py",
           root ? root : ".");
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* Its TAP to a file, not into this program's. */
    FILE *out = fopen(report, "w");
    if (!out)
      _exit(126);
    dup2(fileno(out), 1);
    dup2(fileno(out), 2);
    execlp("python3", "python3", script, "--scrape", file, root ? root : ".",
           (char *)NULL);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Every metric and label the rules and the dashboard name is in a real
 * scrape; the same scrape with one family renamed fails the check. */
static void test_examples_names(void **state)
{
  char *text, path[320], report[320], *p;
  FILE *f;
  resp *r;

  (void)state;
  /* A request of each kind first, so that the histogram has samples. */
  r = http("GET", base, "/api/tenants", tok_view, NULL, NULL);
  resp_free(r);
  text = scrape();
  snprintf(path, sizeof(path), "%s/metrics.prom", dir);
  snprintf(report, sizeof(report), "%s/check_monitoring.out", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  if (check_names(path, report) != 0) {
    /* Its report as TAP comments, not as this program's results. */
    char *out = read_from(report, 0), *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save))
      printf("# %s\n", l);
    fail_msg("check_monitoring.py failed on edvd's scrape");
  }
  /* Renamed in edvd and not in the examples: the check must fail. */
  while ((p = strstr(text, "edv_tenants_backup_stale")) != NULL)
    memcpy(p, "edv_tenants_backup_stald", 24);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  assert_int_not_equal(check_names(path, report), 0);
  p = read_from(report, 0);
  assert_non_null(
      strstr(p, "not exported by edvd: ['edv_tenants_backup_stale']"));
  free(p);
  free(text);
}

static char *read_from(const char *path, long off)
{
  FILE *f = fopen(path, "r");
  char *buf = calloc(1, 8 << 20);
  size_t n;

  assert_non_null(f);
  assert_non_null(buf);
  fseek(f, off, SEEK_SET);
  n = fread(buf, 1, (8 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static long file_size(const char *path)
{
  struct stat st;

  assert_int_equal(stat(path, &st), 0);
  return (long)st.st_size;
}

/* JSON lines: time, severity (Cloud Logging's names), module, message;
 * the message's tenant= and call= as fields of their own. */
static void test_log_fields(void **state)
{
  char path[320], *log, *line, *nl;
  int tenant_lines = 0, call_lines = 0;

  (void)state;
  snprintf(path, sizeof(path), "%s/edvd.log", dir);
  log = read_from(path, 0);
  for (line = log; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
    json_object *o, *v;
    const char *sev, *msg;

    *nl = '\0';
    o = json_tokener_parse(line);
    if (!o)
      fail_msg("not a JSON line: %s", line);
    sev = json_object_object_get_ex(o, "severity", &v)
              ? json_object_get_string(v)
              : "";
    if (strcmp(sev, "DEBUG") && strcmp(sev, "INFO") && strcmp(sev, "WARNING") &&
        strcmp(sev, "ERROR") && strcmp(sev, "ALERT"))
      fail_msg("severity '%s': %s", sev, line);
    assert_true(json_object_object_get_ex(o, "message", &v));
    msg = json_object_get_string(v);
    assert_true(json_object_object_get_ex(o, "time", &v));
    assert_false(json_object_object_get_ex(o, "level", &v));
    if (strstr(msg, "GET /api/tenants/nosuchschool7 404")) {
      assert_true(json_object_object_get_ex(o, "tenant", &v));
      assert_string_equal(json_object_get_string(v), "nosuchschool7");
      tenant_lines++;
    }
    if (json_object_object_get_ex(o, "call", &v)) {
      /* "GET call=compute.networks.get: OK, ...": the call's name. */
      assert_non_null(strstr(msg, json_object_get_string(v)));
      assert_null(strchr(json_object_get_string(v), ' '));
      call_lines++;
    }
    json_object_put(o);
  }
  free(log);
  assert_int_equal(tenant_lines, 1);
  assert_true(call_lines > 0); /* log.level = debug: each call's line */
}

/* The lines of one edvd run with `env_js` as JOURNAL_STREAM (NULL: the
 * one of its log file) and log.format = text. */
static char *text_run(const char *env_js)
{
  char path[320], conf[320], js[64];
  struct stat st;
  long off;
  FILE *f;
  resp *r;

  assert_int_equal(stop_edvd(NULL), 0);
  snprintf(conf, sizeof(conf), "%s/edvd.conf", dir);
  f = fopen(conf, "a");
  assert_non_null(f);
  fputs("log.format = text\n", f);
  fclose(f);
  snprintf(path, sizeof(path), "%s/edvd.log", dir);
  assert_int_equal(stat(path, &st), 0);
  snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino);
  setenv("JOURNAL_STREAM", env_js ? env_js : js, 1);
  off = file_size(path);
  start_edvd();
  unsetenv("JOURNAL_STREAM");
  r = http("GET", base, "/healthz", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
  r = http("GET", base, "/api/tenants/nosuchschool9", tok_view, NULL, NULL);
  resp_free(r);
  return read_from(path, off);
}

/* Text lines; under journald each starts with the level's syslog
 * priority, which journald takes and strips. */
static void test_journald_prefix(void **state)
{
  static const struct {
    const char *level;
    int prio;
  } map[] = {{"error", 3}, {"warn ", 4}, {"info ", 6}, {"debug", 7}};
  char *log, *line, *nl;
  int lines = 0, info = 0;

  (void)state;
  log = text_run(NULL);
  for (line = log; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
    int prio = -1, want = -1;
    char lv[6] = "";

    *nl = '\0';
    if (sscanf(line, "<%d>%*24s %5c", &prio, lv) != 2)
      fail_msg("no <N> prefix or not a text line: %s", line);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
      if (strncmp(lv, map[i].level, 5) == 0)
        want = map[i].prio;
    if (want == 3 && strstr(line, ": ALERT "))
      want = 1;
    if (prio != want)
      fail_msg("priority %d for level '%s': %s", prio, lv, line);
    info += prio == 6 && strstr(line, "GET /healthz 200") != NULL;
    lines++;
  }
  free(log);
  assert_true(lines > 2);
  assert_int_equal(info, 1);

  /* JOURNAL_STREAM inherited but stderr elsewhere: no prefix. */
  log = text_run("1:1");
  lines = 0;
  for (line = log; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
    *nl = '\0';
    if (line[0] == '<' || line[0] == '{' ||
        !(line[0] == '2' && line[10] == 'T'))
      fail_msg("not a plain text line: %s", line);
    lines++;
  }
  free(log);
  assert_true(lines > 2);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exposition),
      cmocka_unit_test(test_request_histogram),
      cmocka_unit_test(test_examples_names),
      cmocka_unit_test(test_log_fields),
      cmocka_unit_test(test_journald_prefix),
  };

  return EH_MAIN("edvd-metrics", tests, NULL, "log.level = debug\n");
}
