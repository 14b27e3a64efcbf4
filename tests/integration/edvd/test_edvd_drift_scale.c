/*
 * test_edvd_drift_scale.c - what a drift pass costs, end to end: the built
 * edvd (argv[1]) with --sim, tokens from the built edvctl (argv[2]).
 *
 * A fleet of 20 basic tenants, then of 200, provisioned through the API
 * (the timers off: every pass is one POST /api/infrastructure/reconcile).
 * Each pass must cost exactly one list page per kind (every list asks for
 * the API's largest page), the same for 20 and for 200 tenants, and the
 * simulator's request log must show nothing but those list calls during
 * the pass: never a GET per resource (the one GET is the URL map's: the
 * map is one resource holding every tenant's host rule).
 *
 * EDV_DRIFT_SCALE_N overrides the large fleet's size (40..240, default
 * 200; 60 under AddressSanitizer, where 200 tenants take minutes: the same
 * code paths, and CI's plain build measures the 200): past about 240 tenants
 * the DNS zone (4 records a tenant) needs a second page, and the firewall
 * rules (4 a tenant) one per 125 tenants, as docs/operations.md says: the
 * firewall kind is held to exactly that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

static unsigned provisioned;

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_object *reconciler(resp **r)
{
  *r = call("GET", "/api/infrastructure/status", "/api/infrastructure/status",
            tok_view, NULL, NULL, 200);
  return json_object_object_get((*r)->json, "reconciler");
}

static long rc_int(const char *key)
{
  resp *r;
  long v = json_object_get_int64(json_object_object_get(reconciler(&r), key));

  resp_free(r);
  return v;
}

/* Enough quota in the simulator for n tenants. */
static void raise_quotas(unsigned n)
{
  static const char *const regional[] = {"CPUS",         "DISKS_TOTAL_GB",
                                         "SSD_TOTAL_GB", "INSTANCES",
                                         "SUBNETWORKS",  "IN_USE_ADDRESSES"};
  static const char *const global[] = {"FIREWALLS", "BACKEND_SERVICES",
                                       "HEALTH_CHECKS", "SQL_INSTANCES",
                                       "SSL_CERTIFICATES"};
  char body[200];

  for (size_t i = 0; i < sizeof(regional) / sizeof(*regional); i++) {
    snprintf(body, sizeof(body),
             "{\"metric\":\"%s\",\"region\":\"us-central1\",\"limit\":%u}",
             regional[i], n * 400 + 1000);
    resp_free(http("POST", sim_base, "/_sim/quotas", NULL, body, NULL));
  }
  for (size_t i = 0; i < sizeof(global) / sizeof(*global); i++) {
    snprintf(body, sizeof(body), "{\"metric\":\"%s\",\"limit\":%u}", global[i],
             n * 400 + 1000);
    resp_free(http("POST", sim_base, "/_sim/quotas", NULL, body, NULL));
  }
}

/* Provisions tenants sc<provisioned+1> .. sc<n> and waits for all READY. */
static void grow_to(unsigned n)
{
  char body[400], id[16], slug[32];
  double t0 = now_s();
  unsigned ready = 0;

  for (unsigned i = provisioned + 1; i <= n; i++) {
    snprintf(id, sizeof(id), "sc%03u", i);
    snprintf(slug, sizeof(slug), "school-%03u", i);
    resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                   spec(body, sizeof(body), id, slug, "Scale School", "basic"),
                   NULL, 202));
  }
  /* Generous: the figure is printed, the limit only catches a hang. */
  for (int t = 0; t < 9000 && ready < n; t++) {
    resp *r = call("GET", "/api/infrastructure/status",
                   "/api/infrastructure/status", tok_view, NULL, NULL, 200);
    json_object *ph = json_object_object_get(
        json_object_object_get(r->json, "tenants"), "by_phase");
    ready = (unsigned)json_object_get_int(json_object_object_get(ph, "READY"));
    if (json_object_get_int(json_object_object_get(ph, "FAILED")) > 0)
      fail_msg("a tenant FAILED: %.1000s", r->body);
    resp_free(r);
    if (ready < n)
      sleep_ms(100);
  }
  if (ready < n)
    fail_msg("%u of %u tenants READY after 900 s", ready, n);
  for (int t = 0; t < 600; t++) {
    resp *r = call("GET", "/api/infrastructure/status",
                   "/api/infrastructure/status", tok_view, NULL, NULL, 200);
    int idle = json_object_get_int(
                   json_object_object_get(r->json, "runs_in_flight")) == 0;
    resp_free(r);
    if (idle)
      break;
    sleep_ms(100);
  }
  printf("# %u tenants READY %.1f s after the first POST of this batch\n", n,
         now_s() - t0);
  provisioned = n;
}

/* One pass, checked against the simulator's request log; returns its
 * page count. */
static long pass_calls(unsigned fleet)
{
  resp *r;
  json_object *reqs, *rc, *by;
  long before = rc_int("drift_passes"), calls, lists = 0;
  long last_mark = -1;

  /* The marker: everything after it in the log is the pass's. */
  resp_free(http("GET", sim_base, "/_sim/health", NULL, NULL, NULL));
  resp_free(call("POST", "/api/infrastructure/reconcile",
                 "/api/infrastructure/reconcile", tok_admin, NULL, NULL, 202));
  for (int i = 0; i < 600 && rc_int("drift_passes") <= before; i++)
    sleep_ms(100);
  rc = reconciler(&r);
  assert_true(json_object_get_int64(
                  json_object_object_get(rc, "drift_passes")) > before);
  calls = json_object_get_int(json_object_object_get(rc, "drift_last_calls"));
  by = json_object_object_get(rc, "drift_last_calls_by_kind");
  printf("# fleet %u: %ld page(s) in the pass (%s)\n", fleet, calls,
         json_object_to_json_string_ext(by, JSON_C_TO_STRING_PLAIN));
  json_object_object_foreach(by, kind, n)
  {
    /* 4 rules a tenant in pages of 500. */
    int want =
        strcmp(kind, "firewalls") == 0 ? (int)(fleet * 4 + 499) / 500 : 1;
    if (json_object_get_int(n) != want)
      fail_msg("fleet %u: kind %s took %d page(s), want %d", fleet, kind,
               json_object_get_int(n), want);
  }
  assert_int_equal(
      json_object_array_length(json_object_object_get(rc, "drift_unresolved")),
      0);
  assert_int_equal(
      json_object_array_length(json_object_object_get(rc, "orphans")), 0);
  resp_free(r);

  r = http("GET", sim_base, "/_sim/requests", NULL, NULL, NULL);
  reqs = json_object_object_get(r->json, "requests");
  for (size_t i = 0; reqs && i < json_object_array_length(reqs); i++)
    if (strcmp(jstr(json_object_array_get_idx(reqs, i), "path"),
               "/_sim/health") == 0)
      last_mark = (long)i;
  assert_true(last_mark >= 0);
  for (size_t i = (size_t)last_mark + 1; i < json_object_array_length(reqs);
       i++) {
    json_object *e = json_object_array_get_idx(reqs, i);
    const char *m = jstr(e, "methodId"), *verb = jstr(e, "method");
    const char *path = jstr(e, "path"), *api = jstr(e, "api");
    size_t lm = m ? strlen(m) : 0;

    /* Token requests are not API calls of the pass. */
    if ((api && (strcmp(api, "oauth2") == 0 || strcmp(api, "sim") == 0)) ||
        strncmp(path, "/_sim/", 6) == 0 || strstr(path, "/token"))
      continue;
    int is_list = (lm > 5 && strcmp(m + lm - 5, ".list") == 0) ||
                  (lm > 15 && strcmp(m + lm - 15, ".aggregatedList") == 0);
    if (m && strcmp(m, "compute.urlMaps.get") == 0)
      is_list = 1;
    if (strcmp(verb, "GET") != 0 || !is_list)
      fail_msg("fleet %u: the pass made a call that is not a list: %s %s "
               "(%s)",
               fleet, verb, path, m ? m : "?");
    lists++;
  }
  resp_free(r);
  if (lists != calls)
    fail_msg("fleet %u: the simulator saw %ld list call(s), edvd counted %ld",
             fleet, lists, calls);
  return calls;
}

#if defined(__SANITIZE_ADDRESS__)
#define BIG_DEFAULT 60
#else
#define BIG_DEFAULT 200
#endif

static void test_cost_does_not_grow(void **state)
{
  const char *env = getenv("EDV_DRIFT_SCALE_N");
  unsigned big = env ? (unsigned)strtoul(env, NULL, 10) : BIG_DEFAULT;
  long small_calls, big_calls;

  (void)state;
  if (big < 40 || big > 240)
    big = BIG_DEFAULT;
  raise_quotas(big);
  grow_to(20);
  small_calls = pass_calls(20);
  assert_int_equal(small_calls, 10); /* one page of each of the 10 kinds */
  grow_to(big);
  big_calls = pass_calls(big);
  /* Only the firewall list grows, by a page per 125 tenants. */
  assert_int_equal(big_calls, small_calls - 1 + (long)(big * 4 + 499) / 500);
}

/* The simulator is local and quick: the client-side limits (modelled on
 * a real project's quotas, Cloud SQL's 180 calls a minute first) would
 * only measure themselves, at minutes per hundred tenants. */
static int setup(void **state)
{
  static const char *const apis[] = {
      "compute",    "sqladmin", "dns",           "certificatemanager",
      "monitoring", "iam",      "secretmanager", "servicenetworking"};
  char conf[2048];
  size_t len;

  (void)state;
  len = (size_t)snprintf(conf, sizeof(conf),
                         "server.reconcile_interval_s = 0\n"
                         "server.drift_interval_s = 0\n"
                         "server.health_interval_s = 0\n"
                         "ratelimit.compute.write.per_minute = 0\n");
  for (size_t i = 0; i < sizeof(apis) / sizeof(*apis) && len < sizeof(conf);
       i++)
    len += (size_t)snprintf(conf + len, sizeof(conf) - len,
                            "ratelimit.%s.per_minute = 0\n"
                            "ratelimit.%s.concurrency = 256\n",
                            apis[i], apis[i]);
  return eh_setup(conf);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cost_does_not_grow),
  };

  return EH_MAIN("edvd-drift-scale", tests, setup, NULL);
}
