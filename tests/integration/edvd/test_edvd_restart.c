/*
 * test_edvd_restart.c - SIGTERM in the middle of provisioning 20 tenants,
 * restart on the same state, every tenant READY with no duplicates.
 *
 * The built edvd (argv[1]) runs with --sim (the simulator's fast profile)
 * on a fresh state directory; tokens come from the built edvctl (argv[2]).
 * After the restart the test checks, per tenant: READY; exactly the
 * resources of one READY tenant in the simulator's state (nothing twice);
 * and in its journal (GET /api/tenants/{id}/events) the READY phase comes
 * after every step's completion (phase writes are ordered behind the step
 * records they depend on). While the tenants provision, the test holds
 * the store's write lock from another connection (as edvctl would) and
 * checks that edvd's loop keeps answering. /metrics must then carry the
 * step-duration histogram with consistent buckets, and /_sim/state mask
 * Secret Manager payloads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"
#include "store/store.h"
#include "tharness.h"

enum { NTENANTS = 20 };

static long now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every event of the tenant's journal, in order (a new array). */
static json_object *all_events(const char *id)
{
  json_object *out = json_object_new_array();
  char path[160], tmpl[] = "/api/tenants/{id}/events";
  long long after = 0;

  for (;;) {
    json_object *evs, *next;
    resp *r;
    size_t n;

    snprintf(path, sizeof(path), "/api/tenants/%s/events?after=%lld&limit=1000",
             id, after);
    r = call("GET", path, tmpl, tok_view, NULL, NULL, 200);
    evs = json_object_object_get(r->json, "events");
    n = json_object_array_length(evs);
    for (size_t i = 0; i < n; i++)
      json_object_array_add(out,
                            json_object_get(json_object_array_get_idx(evs, i)));
    next = json_object_object_get(r->json, "next_after");
    if (!next || json_object_is_type(next, json_type_null) || n == 0) {
      resp_free(r);
      break;
    }
    after = json_object_get_int64(next);
    resp_free(r);
  }
  return out;
}

/* The READY phase line comes after every step.done line, and exists. */
static void check_journal_order(const char *id)
{
  json_object *evs = all_events(id);
  size_t n = json_object_array_length(evs);
  long long ready_seq = -1, last_done = -1;

  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(evs, i);
    const char *ev = jstr(e, "event"), *detail = jstr(e, "detail");
    long long seq = json_object_get_int64(json_object_object_get(e, "seq"));

    if (ev && strcmp(ev, "step.done") == 0 && seq > last_done)
      last_done = seq;
    if (ev && strcmp(ev, "phase") == 0 && detail &&
        strcmp(detail, "READY") == 0)
      ready_seq = seq;
  }
  json_object_put(evs);
  if (ready_seq < 0)
    fail_msg("%s: no READY phase in the journal", id);
  if (last_done < 0 || last_done > ready_seq)
    fail_msg("%s: READY (seq %lld) written before a step's completion (seq "
             "%lld)",
             id, ready_seq, last_done);
}

/* The value of the metrics line starting with `prefix` (-1 when absent). */
static double metric(const char *text, const char *prefix)
{
  const char *p = text;
  size_t n = strlen(prefix);

  while (p && *p) {
    if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
      return strtod(p + n + 1, NULL);
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return -1;
}

static void check_metrics(void)
{
  resp *r = http("GET", base, "/metrics", tok_view, NULL, NULL);
  static const char *const les[] = {"0.1", "0.5", "1",   "5",   "15",   "30",
                                    "60",  "120", "300", "600", "1200", "+Inf"};
  char key[160];
  double prev = 0, count;

  assert_int_equal(r->status, 200);
  assert_non_null(r->body);
  /* What the issue asks of /metrics. */
  assert_non_null(strstr(r->body, "\nedv_tenants{phase=\"READY\"} "));
  assert_non_null(strstr(r->body, "\nedv_api_calls_total{api=\"compute\"} "));
  assert_non_null(strstr(r->body, "# TYPE edv_api_call_errors_total counter"));
  assert_non_null(strstr(r->body, "\nedv_api_throttle_waits_total{api="));
  assert_non_null(strstr(r->body, "\nedv_reconcile_last_duration_seconds "));
  /* This edvd (the second) committed its records in groups. */
  assert_true(metric(r->body, "edv_store_commits_total") > 0);
  assert_true(metric(r->body, "edv_store_busy_retries_total") >= 0);
  assert_non_null(
      strstr(r->body, "# TYPE edv_step_duration_seconds histogram\n"));
  /* The VM step of 20 tenants, at least (the second edvd's own count). */
  snprintf(key, sizeof(key), "edv_step_duration_seconds_count{step=\"vm\"}");
  count = metric(r->body, key);
  assert_true(count >= 1);
  for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
    double v;
    snprintf(key, sizeof(key),
             "edv_step_duration_seconds_bucket{step=\"vm\",le=\"%s\"}", les[i]);
    v = metric(r->body, key);
    if (v < prev)
      fail_msg("bucket le=%s (%g) below the previous one (%g)", les[i], v,
               prev);
    prev = v;
  }
  assert_true(prev == count); /* +Inf equals _count */
  assert_true(metric(r->body, "edv_step_duration_seconds_sum{step=\"vm\"}") >=
              0);
  resp_free(r);
}

/* /_sim/state masks Secret Manager payloads (the tenants' DB passwords)
 * unless asked with secrets=show. */
static void check_secrets_masked(json_object *state)
{
  json_object *res = json_object_object_get(state, "resources");
  size_t n = json_object_array_length(res), payloads = 0;
  resp *r;

  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(res, i), *o;
    const char *kind = jstr(e, "kind");
    if (!kind || strcmp(kind, "secretmanager.secretPayload") != 0)
      continue;
    payloads++;
    o = json_object_object_get(e, "resource");
    assert_null(json_object_object_get(o, "data"));
    assert_true(json_object_get_boolean(json_object_object_get(o, "masked")));
  }
  assert_true(payloads >= NTENANTS);
  r = http("GET", sim_base,
           "/_sim/state?kind=secretmanager.secretPayload&secrets=show", NULL,
           NULL, NULL);
  assert_int_equal(r->status, 200);
  res = json_object_object_get(r->json, "resources");
  assert_true(json_object_array_length(res) >= NTENANTS);
  assert_non_null(jstr(json_object_array_get_idx(res, 0), "resource.data"));
  resp_free(r);
  r = http("GET", sim_base, "/_sim/state?secrets=yes", NULL, NULL, NULL);
  assert_int_equal(r->status, 400);
  resp_free(r);
}

/*
 * Another process (edvctl, say) holds the store's write lock for a while
 * as tenants provision: edvd's loop must not wait for it. /healthz is
 * answered from the loop, so its latency is the loop's stall; with a
 * blocking busy wait it would be the whole hold.
 */
static void hold_store_lock(long hold_ms)
{
  char path[400];
  edv__store_opts o;
  edv__journal_rec j;
  edv_store *st;
  edv_error err;
  long t0, worst = 0;
  int probes = 0;

  snprintf(path, sizeof(path), "%s/edv.db", dir);
  memset(&o, 0, sizeof(o));
  o.path = path;
  assert_int_equal(edv__store_open_sqlite(&o, &st, &err), 0);
  /* tenant.lease_ttl_s = 20 (the default is 60): the runs' leases use it. */
  {
    edv__lease_rec l;
    int seen = 0;
    for (int i = 0; i < NTENANTS; i++) {
      char id[32];
      snprintf(id, sizeof(id), "boot%02d", i);
      if (edv__store_lease_get(st, id, &l, NULL) == 0) {
        int64_t left = l.expires_ms - edv__store_now(st);
        if (left <= 0 || left > 20000)
          fail_msg("%s: lease expires in %lld ms, want (0, 20000]", id,
                   (long long)left);
        seen++;
      }
    }
    assert_true(seen > 0);
  }
  assert_int_equal(edv__store_begin(st, &err), 0);
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "boot00");
  snprintf(j.actor, sizeof(j.actor), "test");
  snprintf(j.event, sizeof(j.event), "lock");
  assert_int_equal(edv__store_journal_append(st, &j, NULL, &err), 0);
  t0 = now_ms();
  while (now_ms() - t0 < hold_ms) {
    long a = now_ms(), d;
    resp *r = http("GET", base, "/healthz", NULL, NULL, NULL);
    d = now_ms() - a;
    assert_int_equal(r->status, 200);
    resp_free(r);
    if (d > worst)
      worst = d;
    probes++;
    sleep_ms(20);
  }
  assert_int_equal(edv__store_commit(st, &err), 0);
  edv__store_close(st);
  printf("# store locked by another process for %ld ms: %d /healthz "
         "answers, the slowest in %ld ms\n",
         hold_ms, probes, worst);
  if (worst > hold_ms / 2)
    fail_msg("edvd's loop stalled %ld ms while another process held the "
             "store's lock",
             worst);
}

/* Enough simulated quota for n tenants (the default CPUS quota, 24 in
 * us-central1, fits 12 basic VMs: the 13th tenant would fail for good).
 * The simulator keeps quotas in its state file, across the restart. */
static void raise_quotas(unsigned n)
{
  static const char *const regional[] = {"CPUS",         "DISKS_TOTAL_GB",
                                         "SSD_TOTAL_GB", "INSTANCES",
                                         "SUBNETWORKS",  "IN_USE_ADDRESSES"};
  static const char *const global[] = {"FIREWALLS", "BACKEND_SERVICES",
                                       "HEALTH_CHECKS", "SQL_INSTANCES",
                                       "SSL_CERTIFICATES"};
  char body[200];
  resp *r;

  for (size_t i = 0; i < sizeof(regional) / sizeof(*regional); i++) {
    snprintf(body, sizeof(body),
             "{\"metric\":\"%s\",\"region\":\"us-central1\",\"limit\":%u}",
             regional[i], n * 400 + 1000);
    r = http("POST", sim_base, "/_sim/quotas", NULL, body, NULL);
    assert_int_equal(r->status, 200);
    resp_free(r);
  }
  for (size_t i = 0; i < sizeof(global) / sizeof(*global); i++) {
    snprintf(body, sizeof(body), "{\"metric\":\"%s\",\"limit\":%u}", global[i],
             n * 400 + 1000);
    r = http("POST", sim_base, "/_sim/quotas", NULL, body, NULL);
    assert_int_equal(r->status, 200);
    resp_free(r);
  }
}

/* SIGTERM while tenants provision; a restart finishes them, once. */
static void test_sigterm_restart(void **state)
{
  char b[512], id[32], slug[32];
  const int n = NTENANTS;
  long ms, t0 = now_ms(), t_ready;
  int ready = 0;
  resp *r;

  (void)state;
  raise_quotas(NTENANTS);
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "boot%02d", i);
    snprintf(slug, sizeof(slug), "boot-school-%02d", i);
    resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                   spec(b, sizeof(b), id, slug, "Boot School", "basic"), NULL,
                   202));
  }
  hold_store_lock(1500);
  sleep_ms(400); /* some steps done, others in flight */
  /* (The status answer's schema is test_edvd.c's business.) */
  r = http("GET", base, "/api/infrastructure/status", tok_view, NULL, NULL);
  assert_int_equal(r->status, 200);
  assert_true(json_object_get_int(
                  json_object_object_get(r->json, "runs_in_flight")) > 0);
  resp_free(r);
  assert_int_equal(stop_edvd(&ms), 0);
  assert_true(ms < 12000);
  /* Not all READY yet, or the test proves nothing about resumption. */
  ready = 0;
  start_edvd();
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "boot%02d", i);
    ready += strcmp(phase_of(id), "READY") == 0;
  }
  if (ready == n)
    fail_msg("every tenant was READY before the restart: nothing resumed");
  for (int t = 0; t < 1200 && ready < n; t++) {
    ready = 0;
    for (int i = 0; i < n; i++) {
      snprintf(id, sizeof(id), "boot%02d", i);
      ready += strcmp(phase_of(id), "READY") == 0;
    }
    if (ready < n)
      sleep_ms(100);
  }
  assert_int_equal(ready, n);
  t_ready = now_ms();
  printf("# %d tenants READY %ld ms after the first create (SIGTERM and "
         "restart included)\n",
         n, t_ready - t0);
  /* Exactly the resources of a READY tenant each: nothing twice. */
  r = http("GET", sim_base, "/_sim/state", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  for (int i = 0; i < n; i++) {
    char why[1024];
    json_object *fp;
    snprintf(id, sizeof(id), "boot%02d", i);
    snprintf(slug, sizeof(slug), "boot-school-%02d", i);
    fp = th_footprint(r->json, id, slug);
    if (th_footprint_check(fp, 1, why, sizeof(why)))
      fail_msg("%s: %s", id, why);
    json_object_put(fp);
  }
  check_secrets_masked(r->json);
  resp_free(r);
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "boot%02d", i);
    check_journal_order(id);
  }
  check_metrics();
}

/* A DELETE of a tenant still provisioning, then kill -9 before its run
 * stops: the restarted edvd must take it down, not finish it (the DELETE
 * was answered 202, so it must be durable). */
static void test_delete_survives_kill(void **state)
{
  char b[512], why[1024];
  json_object *fp;
  resp *r;
  int st;

  (void)state;
  /* Slow Cloud SQL calls: the run is sure to be in flight at the DELETE. */
  r = http("POST", sim_base, "/_sim/faults", NULL,
           "{\"api\":\"sql\",\"latencyMs\":2000}", NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
  resp_free(call(
      "POST", "/api/tenants", "/api/tenants", tok_op,
      spec(b, sizeof(b), "gone01", "gone-school-01", "Gone School", "basic"),
      NULL, 202));
  sleep_ms(300);
  assert_string_equal(phase_of("gone01"), "PROVISIONING");
  r = call("DELETE", "/api/tenants/gone01", "/api/tenants/{id}", tok_op, NULL,
           NULL, 202);
  /* Answered once the delete is recorded. */
  assert_string_equal(jstr(r->json, "phase"), "DEPROVISIONING");
  resp_free(r);
  kill(edvd_pid, SIGKILL);
  assert_int_equal(waitpid(edvd_pid, &st, 0), edvd_pid);
  start_edvd(); /* a new simulator process: no fault any more */
  wait_phase("gone01", "DELETED", 120);
  r = http("GET", sim_base, "/_sim/state", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  fp = th_footprint(r->json, "gone01", "gone-school-01");
  if (th_footprint_check(fp, 0, why, sizeof(why)))
    fail_msg("gone01 after its delete: %s", why);
  json_object_put(fp);
  resp_free(r);
}

/*
 * Why 20 tenants used to take minutes: not the simulator (its fast profile
 * finishes operations in milliseconds and it enforces no quota unless a
 * test sets one) but edvd's own client-side rate limits, which model a
 * real project's quotas: Cloud SQL Admin at 180 requests a minute (3 a
 * second, smooth) and Certificate Manager at 300, shared by 20 tenants
 * each polling its SQL and certificate operations every 250 ms. Every SQL
 * call then queued for seconds behind the others (api.call durations of
 * 3-7 s in the journal; edv_api_throttle_waits_total climbs). Against the
 * simulator those limits only measure themselves, so this edvd lifts them,
 * as the tenant harness does (tests/integration/tenant/tharness.c).
 */
int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigterm_restart),
      cmocka_unit_test(test_delete_survives_kill),
  };

  return EH_MAIN("edvd-restart", tests, NULL,
                 EH_CONF_UNLIMITED "tenant.lease_ttl_s = 20\n");
}
