/*
 * test_edvd_dashboard.c - the web dashboard (/dashboard/) in a real
 * browser: headless Chromium loads each page from an edvd --sim with three
 * tenants and the test reads the DOM it rendered (tenant rows, a chart
 * canvas, the tenant page's steps and events, text never turned into
 * markup); without a token the page shows only the login form; an
 * incident Monitoring notifies edvd of (its intake, as the simulator's
 * webhook_basicauth channel sends it) shows on the overview and the
 * tenant's page until its closed notification. Over HTTP:
 * the embedded files with their Content-Type and strict headers, 404 for
 * any other name (no file system path from the URL), the API still 401
 * without a token.
 *
 * Chromium: $EDV_CHROMIUM, else `chromium` or `chromium-browser` on PATH.
 * Missing, the test is skipped (TAP plan "1..0 # SKIP"), except under CI (CI
 * set and not "false"), where it fails. Screenshots of the two pages are
 * written to BUILD_ROOT/test-artifacts/dashboard/ (the test's artifacts).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "edvd_harness.h"

#define NAME_XSS "Hill <img src=x onerror=alert(1)> School"

static const char *const ids[] = {"dash01", "dash02", "dash03"};
static char chromium[512];
static char shots[512];
static int have_charts;

/* The browser: $EDV_CHROMIUM or the first of the usual names on PATH. */
static int find_chromium(void)
{
  static const char *const names[] = {"chromium", "chromium-browser"};
  const char *env = getenv("EDV_CHROMIUM"), *path = getenv("PATH");

  if (env && *env) {
    snprintf(chromium, sizeof(chromium), "%s", env);
    return access(chromium, X_OK) == 0;
  }
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    for (const char *p = path; p && *p;) {
      size_t n = strcspn(p, ":");
      snprintf(chromium, sizeof(chromium), "%.*s/%s", (int)n, p, names[i]);
      if (n && access(chromium, X_OK) == 0)
        return 1;
      p += n;
      if (*p == ':')
        p++;
    }
  }
  return 0;
}

/* Loads `fragment` (after /dashboard/) in headless Chromium and returns
 * the DOM it rendered (free it); `shot`: also a screenshot there. The
 * virtual time budget lets the page poll the API at least twice. */
static char *browse(const char *fragment, const char *shot)
{
  static int runs;
  char url[512], out[320], profile[320], shotarg[600];
  pid_t pid;
  int st = 0;

  snprintf(url, sizeof(url), "%s/dashboard/%s", base, fragment);
  snprintf(out, sizeof(out), "%s/dom-%d.html", dir, runs);
  snprintf(profile, sizeof(profile), "%s/chromium-%d", dir, runs++);
  snprintf(shotarg, sizeof(shotarg), "--screenshot=%s/%s", shots,
           shot ? shot : "");
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
        dn = open("/dev/null", O_RDWR);
    char pd[340];
    snprintf(pd, sizeof(pd), "--user-data-dir=%s", profile);
    dup2(dn, 0);
    dup2(o, 1);
    dup2(dn, 2);
    alarm(60); /* a browser that hangs fails the test, not the suite */
    execl(chromium, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--no-first-run",
          "--no-default-browser-check", "--disable-extensions",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--hide-scrollbars", "--window-size=1280,1400",
          "--virtual-time-budget=12000", pd, "--dump-dom",
          shot ? shotarg : "--mute-audio", url, (char *)NULL);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("%s %s: exit status %d", chromium, url, st);
  return eh_slurp(out);
}

/* How many times `needle` is in `hay`. */
static int count(const char *hay, const char *needle)
{
  int n = 0;

  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

/* 1 when the markup has an event handler attribute (` onload=`...). */
static int handler_attr(const char *html)
{
  for (const char *p = html; (p = strstr(p, " on")) != NULL; p++) {
    size_t n = strspn(p + 3, "abcdefghijklmnopqrstuvwxyz");
    if (n && p[3 + n] == '=')
      return 1;
  }
  return 0;
}

/* How many answers edvd's log shows for `request` ("GET /api/tenants
 * 200"; its JSON lines write '/' as "\/"). */
static int log_count(const char *request)
{
  char path[320], want[256], *log;
  size_t o = 0;
  int n;

  for (const char *p = request; *p && o + 3 < sizeof(want); p++) {
    if (*p == '/')
      want[o++] = '\\';
    want[o++] = *p;
  }
  want[o] = '\0';
  snprintf(path, sizeof(path), "%s/edvd.log", dir);
  log = eh_slurp(path);
  n = count(log, want);
  free(log);
  return n;
}

static int setup(void **state)
{
  char body[512], *art = getenv("EDV_BUILD_ROOT");

  (void)state;
  if (eh_intake_setup(body, sizeof(body)) || eh_setup(body))
    return -1;
  snprintf(shots, sizeof(shots), "%s/test-artifacts/dashboard",
           art ? art : dir);
  if (art) {
    snprintf(body, sizeof(body), "%s/test-artifacts", art);
    mkdir(body, 0755);
  }
  mkdir(shots, 0755);
  /* Three tenants provision while the HTTP checks and the login page run;
   * one has markup in its name. */
  for (size_t i = 0; i < 3; i++) {
    char slug[32];
    resp *r;
    snprintf(slug, sizeof(slug), "school-%s", ids[i]);
    spec(body, sizeof(body), ids[i], slug, i == 1 ? NAME_XSS : "Dash School",
         i == 2 ? "standard" : "basic");
    r = http("POST", base, "/api/tenants", tok_op, body, NULL);
    if (r->status != 202)
      return -1;
    resp_free(r);
  }
  return 0;
}

/* A file of the dashboard: 200, its type, the strict headers; its ETag
 * gives 304. Returns the answer (free it). */
static resp *get_file(const char *path, const char *ctype)
{
  char v[512], inm[128];
  resp *r = http("GET", base, path, NULL, NULL, NULL), *again;

  assert_int_equal(r->status, 200);
  assert_string_equal(resp_header(r, "Content-Type", v, sizeof(v)), ctype);
  assert_string_equal(resp_header(r, "X-Content-Type-Options", v, sizeof(v)),
                      "nosniff");
  resp_header(r, "Content-Security-Policy", v, sizeof(v));
  assert_non_null(strstr(v, "default-src 'self'"));
  assert_non_null(strstr(v, "script-src 'self';"));
  assert_non_null(strstr(v, "frame-ancestors 'none'"));
  assert_null(strstr(v, "unsafe"));
  assert_string_equal(resp_header(r, "Cache-Control", v, sizeof(v)),
                      "no-cache");
  snprintf(inm, sizeof(inm), "If-None-Match: %s",
           resp_header(r, "ETag", v, sizeof(v)));
  assert_true(strlen(v) > 2);
  again = http("GET", base, path, NULL, NULL, inm);
  assert_int_equal(again->status, 304);
  assert_int_equal(again->len, 0);
  resp_free(again);
  return r;
}

static void test_files(void **state)
{
  static const char *const unknown[] = {
      "/dashboard/nope.js",       "/dashboard/..%2fapi.c",
      "/dashboard/%2e%2e/api.c",  "/dashboard/%61pp.js",
      "/dashboard//app.js",       "/dashboard/./app.js",
      "/dashboard/app.js/",       "/dashboard/APP.JS",
      "/dashboard/app.js%00",     "/dashboard/index.html/x",
      "/dashboard/../etc/passwd", "/dashboard/%2Fetc%2Fpasswd",
  };
  char v[256];
  resp *r;

  (void)state;
  r = get_file("/dashboard/", "text/html; charset=utf-8");
  /* No inline script: every <script> names a file of the origin. */
  assert_int_equal(count(r->body, "<script"), count(r->body, "<script src=\""));
  assert_null(strstr(r->body, "javascript:"));
  assert_false(handler_attr(r->body)); /* no onload=, onclick=, ... */
  assert_non_null(strstr(r->body, "src=\"app.js\""));
  resp_free(r);
  resp_free(get_file("/dashboard/index.html", "text/html; charset=utf-8"));
  resp_free(get_file("/dashboard/app.js", "text/javascript; charset=utf-8"));
  resp_free(get_file("/dashboard/dashboard.css", "text/css; charset=utf-8"));
  r = get_file("/dashboard/chart.js", "text/javascript; charset=utf-8");
  have_charts = strstr(r->body, "Chart.js v") != NULL;
  print_message("# Chart.js %s this edvd\n", have_charts ? "in" : "not in");
  resp_free(r);
  /* /dashboard sends the browser to /dashboard/ (relative names). */
  r = http("GET", base, "/dashboard", NULL, NULL, NULL);
  assert_int_equal(r->status, 301);
  assert_string_equal(resp_header(r, "Location", v, sizeof(v)), "/dashboard/");
  resp_free(r);
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    r = http("GET", base, unknown[i], NULL, NULL, NULL);
    if (r->status != 404)
      fail_msg("GET %s: %ld, want 404: %.200s", unknown[i], r->status, r->body);
    assert_string_equal(jstr(r->json, "error.status"), "NOT_FOUND");
    resp_free(r);
  }
  r = http("POST", base, "/dashboard/", tok_admin, "{}", NULL);
  assert_int_equal(r->status, 405);
  assert_string_equal(resp_header(r, "Allow", v, sizeof(v)), "GET, HEAD");
  resp_free(r);
  /* The page is public; the data is not. */
  r = http("GET", base, "/api/tenants", NULL, NULL, NULL);
  assert_int_equal(r->status, 401);
  resp_free(r);
}

/* No token: the login form, no data, no call that answered data. */
static void test_login(void **state)
{
  char *dom;
  int calls = log_count("GET /api/"), ok = log_count("GET /api/tenants 200");

  (void)state;
  dom = browse("", NULL);
  assert_non_null(strstr(dom, "data-view=\"login\""));
  assert_non_null(strstr(dom, "<section id=\"login\">")); /* not hidden */
  assert_non_null(strstr(dom, "id=\"login-form\""));
  assert_null(strstr(dom, "data-tenant="));
  assert_null(strstr(dom, "dash01"));
  /* Without a token the page calls nothing. */
  assert_int_equal(log_count("GET /api/"), calls);
  free(dom);
  /* A token that is not valid: back to the form, saying so. */
  dom = browse("#token=edv_nope_notvalid", NULL);
  assert_non_null(strstr(dom, "data-view=\"login\""));
  assert_non_null(strstr(dom, "refused (401)"));
  assert_null(strstr(dom, "data-tenant="));
  assert_true(log_count("GET /api/tenants 401") >= 1);
  assert_int_equal(log_count("GET /api/tenants 200"), ok);
  free(dom);
}

static void test_overview(void **state)
{
  char frag[256], *dom;
  int before = log_count("GET /api/infrastructure/costs 200");

  (void)state;
  for (size_t i = 0; i < 3; i++)
    wait_phase(ids[i], "READY", 90);
  snprintf(frag, sizeof(frag), "#token=%s", tok_view);
  dom = browse(frag, "overview.png");
  assert_non_null(strstr(dom, "data-view=\"overview\""));
  assert_non_null(strstr(dom, "data-state=\"ready\""));
  for (size_t i = 0; i < 3; i++) {
    char row[64], link[96];
    snprintf(row, sizeof(row), "<tr data-tenant=\"%s\">", ids[i]);
    snprintf(link, sizeof(link), "href=\"#/tenants/%s\"", ids[i]);
    assert_int_equal(count(dom, row), 1);
    assert_non_null(strstr(dom, link));
  }
  assert_int_equal(count(dom, "<tr data-tenant="), 3);
  /* The cards: phases, tiers, cost this month from the costs route. */
  assert_non_null(strstr(dom, "<dt>READY</dt><dd>3</dd>"));
  assert_non_null(strstr(dom, "<dt>standard</dt><dd>1</dd>"));
  assert_non_null(strstr(dom, "data-card=\"cost\""));
  assert_non_null(strstr(dom, "<canvas data-chart=\"fleet\""));
  assert_true(have_charts == (strstr(dom, "charts-missing") == NULL));
  /* The name is text, never markup. */
  assert_non_null(
      strstr(dom, "Hill &lt;img src=x onerror=alert(1)&gt; School"));
  assert_null(strstr(dom, "<img"));
  /* Live: the page polled the API again without being reloaded. */
  assert_true(log_count("GET /api/infrastructure/costs 200") >= before + 2);
  free(dom);
}

static void test_tenant(void **state)
{
  char frag[256], *dom;
  resp *r = http("GET", base, "/api/tenants/dash02", tok_view, NULL, NULL);
  json_object *steps;

  (void)state;
  assert_int_equal(r->status, 200);
  snprintf(frag, sizeof(frag), "#/tenants/dash02&token=%s", tok_view);
  dom = browse(frag, "tenant.png");
  assert_non_null(strstr(dom, "data-view=\"tenant\""));
  assert_non_null(strstr(dom, "data-state=\"ready\""));
  /* Every step of the tenant's document, once, DONE. */
  steps = json_object_object_get(r->json, "steps");
  assert_true(json_object_array_length(steps) > 5);
  for (size_t i = 0; i < json_object_array_length(steps); i++) {
    char want[128];
    snprintf(want, sizeof(want), "<tr data-step=\"%s\">",
             jstr(json_object_array_get_idx(steps, i), "name"));
    assert_int_equal(count(dom, want), 1);
  }
  assert_int_equal(count(dom, "<tr data-step="),
                   (int)json_object_array_length(steps));
  assert_non_null(strstr(dom, "class=\"state-DONE\">DONE</td>"));
  assert_non_null(strstr(dom, jstr(r->json, "resources.vm")));
  assert_non_null(strstr(dom, "<canvas data-chart=\"steps\""));
  assert_non_null(strstr(dom, "<canvas data-chart=\"latency\""));
  /* The seed's metrics: a card and a chart each. */
  assert_non_null(strstr(dom, "<canvas data-chart=\"usage\""));
  assert_non_null(strstr(dom, "<canvas data-chart=\"response\""));
  assert_non_null(strstr(dom, "<canvas data-chart=\"utilization\""));
  assert_non_null(strstr(dom, "data-card=\"usage\""));
  assert_non_null(strstr(dom, "data-card=\"response\""));
  assert_non_null(strstr(dom, "data-card=\"utilization\""));
  assert_true(have_charts == (strstr(dom, "charts-missing") == NULL));
  assert_true(count(dom, "<tr data-seq=") > 5);
  assert_non_null(strstr(dom, ">created<"));
  assert_non_null(strstr(dom, "data-card=\"availability\""));
  assert_non_null(strstr(dom, "no backup runs yet"));
  assert_non_null(
      strstr(dom, "Hill &lt;img src=x onerror=alert(1)&gt; School"));
  assert_null(strstr(dom, "<img"));
  free(dom);
  resp_free(r);
}

/* An incident of tenant dash01: open, on the overview's open incidents
 * (its tenant linked) and the tenant's page; closed, gone from the
 * overview, still on the tenant's page as closed. */
static void test_incidents(void **state)
{
  char frag[256], body[4096], *dom;
  resp *r;

  (void)state;
  eh_notification(body, sizeof(body), "0.dash01-errors", "open", "dash01", NULL,
                  "edv-dash01-be");
  r = http("POST", base, "/api/v1/alerts/notifications", NULL, body,
           EH_INTAKE_AUTH);
  assert_int_equal(r->status, 200);
  resp_free(r);
  snprintf(frag, sizeof(frag), "#token=%s", tok_view);
  dom = browse(frag, "incidents-overview.png");
  assert_non_null(strstr(dom, "data-view=\"overview\""));
  assert_int_equal(count(dom, "<tr data-incident=\"0.dash01-errors\" "
                              "data-state=\"open\">"),
                   1);
  assert_non_null(strstr(dom, "<td><a href=\"#/tenants/dash01\">dash01</a>"
                              "</td><td>application_errors</td>"
                              "<td class=\"severity-Error\">Error</td>"));
  assert_non_null(strstr(dom, "with value 0.500 is above the threshold"));
  free(dom);
  snprintf(frag, sizeof(frag), "#/tenants/dash01&token=%s", tok_view);
  dom = browse(frag, "incidents-tenant.png");
  assert_non_null(strstr(dom, "data-view=\"tenant\""));
  assert_int_equal(count(dom, "<tr data-incident=\"0.dash01-errors\" "
                              "data-state=\"open\">"),
                   1);
  free(dom);

  eh_notification(body, sizeof(body), "0.dash01-errors", "closed", "dash01",
                  NULL, "edv-dash01-be");
  r = http("POST", base, "/api/v1/alerts/notifications", NULL, body,
           EH_INTAKE_AUTH);
  assert_int_equal(r->status, 200);
  resp_free(r);
  snprintf(frag, sizeof(frag), "#token=%s", tok_view);
  dom = browse(frag, NULL);
  assert_non_null(strstr(dom, "data-state=\"ready\""));
  assert_null(strstr(dom, "data-incident="));
  assert_non_null(strstr(dom, "no open incident"));
  free(dom);
  snprintf(frag, sizeof(frag), "#/tenants/dash01&token=%s", tok_view);
  dom = browse(frag, NULL);
  assert_int_equal(count(dom, "<tr data-incident=\"0.dash01-errors\" "
                              "data-state=\"closed\">"),
                   1);
  free(dom);
}

static int teardown_intake(void **state)
{
  (void)state;
  eh_intake_cleanup();
  return 0;
}

int main(int argc, char **argv)
{
  const char *ci = getenv("CI");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_login),
      cmocka_unit_test(test_overview),
      cmocka_unit_test(test_tenant),
      cmocka_unit_test_teardown(test_incidents, teardown_intake),
  };

  if (!find_chromium()) {
    if (ci && *ci && strcmp(ci, "false") != 0) {
      printf("1..1\nnot ok 1 - chromium is missing (scripts/install-deps.sh "
             "installs Debian's chromium); CI needs it\n");
      return 1;
    }
    printf("1..0 # SKIP chromium is not installed (Debian: chromium)\n");
    return 0; /* TAP: the plan says skipped (exit 77 would be an error) */
  }
  return EH_MAIN("edvd-dashboard", tests, setup, NULL);
}
