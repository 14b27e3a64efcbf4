/*
 * test_tenant_fleet.c - many tenants at once against the in-process
 * simulator.
 *
 * fifty: 50 tenants provisioned concurrently: no overlapping subnet
 * ranges (read from the simulator), the URL map holds 50 host rules, each
 * tenant has exactly its resources, and the shared writers keep the
 * simulator's 409/412 answers (rejected writes) near zero. Prints the
 * figures.
 *
 * faults: 20 tenants with 10% 503s, 5% rate-limit errors and 2% answers
 * dropped after the change was applied: all READY, no duplicates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tenant/shared.h"
#include "tenant/subnet.h"
#include "tharness.h"

static const char *const tier_cycle[] = {"basic", "standard", "premium",
                                         "enterprise"};

static void provision(th *h, unsigned n, const char *prefix,
                      uint64_t timeout_ms)
{
  edv_error err;
  char id[32];

  for (unsigned i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "%s%03u", prefix, i);
    assert_int_equal(th_register(h, id, tier_cycle[i % 4], &err), 0);
    if (th_drive(h, id, EDV_DIR_UP, &err))
      fail_msg("drive %s: %s", id, err.message);
  }
  if (th_wait(h, timeout_ms))
    fail_msg("%u tenants: not done in %llu s", n,
             (unsigned long long)timeout_ms / 1000);
  if (h->ended[EDV_PHASE_READY] != n)
    fail_msg("READY %u of %u; last error: %s", h->ended[EDV_PHASE_READY], n,
             h->last_err);
}

/* Exactly the resources of a READY tenant, one URL map rule each. */
static void check_all(th *h, unsigned n, const char *prefix, int ready)
{
  json_object *st = th_state_all(h), *map;
  char id[32], slug[40], why[2048];

  map = th_res(h, "projects/edv-sim/global/urlMaps/edv-urlmap");
  for (unsigned i = 0; i < n; i++) {
    json_object *fp;
    snprintf(id, sizeof(id), "%s%03u", prefix, i);
    snprintf(slug, sizeof(slug), "%s-s", id);
    fp = th_footprint(st, id, slug);
    if (th_footprint_check(fp, ready, why, sizeof(why)))
      fail_msg("%s: %s", id, why);
    json_object_put(fp);
    assert_int_equal(th_urlmap_rules(h, id, map), ready ? 101 : 0);
  }
  json_object_put(map);
  json_object_put(st);
}

static void test_fifty(void **state)
{
  th h;
  json_object *st, *items, *map;
  edv_cidr ranges[64];
  unsigned nr = 0;
  uint64_t t0;
  unsigned long uw = 0, dw = 0, conf = 0;

  (void)state;
  th_open(&h, NULL);
  th_raise_quotas(&h, 50);
  th_platform(&h);
  memset(&h.counts, 0, sizeof(h.counts));
  t0 = th_now_ms();
  provision(&h, 50, "f", 120000);
  fprintf(stderr, "# 50 tenants READY in %.1f s\n",
          (double)(th_now_ms() - t0) / 1000.0);

  /* Ranges as the simulator holds them: pairwise disjoint. */
  st = th_admin(&h, "GET", "/_sim/state?kind=compute%23subnetwork", NULL);
  items = json_object_object_get(st, "resources");
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *r =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    const char *name =
        json_object_get_string(json_object_object_get(r, "name"));
    if (strncmp(name, "edv-f", 5) != 0)
      continue;
    assert_true(nr < 64);
    assert_int_equal(
        edv__cidr_parse(
            json_object_get_string(json_object_object_get(r, "ipCidrRange")),
            &ranges[nr]),
        0);
    nr++;
  }
  json_object_put(st);
  assert_int_equal(nr, 50);
  for (unsigned i = 0; i < nr; i++)
    for (unsigned k = i + 1; k < nr; k++)
      assert_false(edv__cidr_overlaps(&ranges[i], &ranges[k]));

  /* The URL map: 50 host rules, 50 path matchers. */
  map = th_res(&h, "projects/edv-sim/global/urlMaps/edv-urlmap");
  assert_int_equal(
      json_object_array_length(json_object_object_get(map, "hostRules")), 50);
  assert_int_equal(
      json_object_array_length(json_object_object_get(map, "pathMatchers")),
      50);
  json_object_put(map);
  check_all(&h, 50, "f", 1);

  edv__shared_stats(edv__fleet_shared(h.fleet), &uw, &dw, &conf);
  fprintf(stderr,
          "# requests %lu: mutations %lu, polls %lu, reads %lu; "
          "409 %lu, 412 %lu, 429 %lu, 5xx %lu, other 4xx %lu\n"
          "# shared writers: %lu URL map writes, %lu DNS changes, %lu "
          "conflicts retried\n",
          h.counts.total, h.counts.mutations, h.counts.polls, h.counts.reads,
          h.counts.st409, h.counts.st412, h.counts.st429, h.counts.st5xx,
          h.counts.other4xx, uw, dw, conf);
  /* Single writers: no storm. A handful at most. */
  assert_true(h.counts.st409 + h.counts.st412 <= 5);
  assert_true(uw < 50); /* batched: fewer writes than tenants */
  th_close(&h);
}

static void add_fault(th *h, const char *api, double rate, int code,
                      const char *reason, double drop)
{
  json_object *b = json_object_new_object(), *r;

  if (api)
    json_object_object_add(b, "api", json_object_new_string(api));
  if (rate > 0) {
    json_object_object_add(b, "errorRate", json_object_new_double(rate));
    json_object_object_add(b, "code", json_object_new_int(code));
  }
  if (reason)
    json_object_object_add(b, "reason", json_object_new_string(reason));
  if (drop > 0)
    json_object_object_add(b, "dropAfterApply", json_object_new_double(drop));
  r = th_admin(h, "POST", "/_sim/faults", b);
  assert_non_null(r);
  json_object_put(r);
}

static void test_faults(void **state)
{
  th h;
  th_opts o;
  static const char *const rpc_apis[] = {
      "sql",           "dns",        "certificatemanager", "iam",
      "secretmanager", "monitoring", "servicenetworking"};
  uint64_t t0;

  (void)state;
  memset(&o, 0, sizeof(o));
  o.max_attempts = 30;
  th_open(&h, &o);
  th_raise_quotas(&h, 20);
  th_platform(&h);
  add_fault(&h, NULL, 0.10, 503, NULL, 0);
  /* Rate limits as each API answers them: Compute's 403
   * rateLimitExceeded, 429 RESOURCE_EXHAUSTED elsewhere. */
  add_fault(&h, "compute", 0.05, 403, "rateLimitExceeded", 0);
  for (size_t i = 0; i < sizeof(rpc_apis) / sizeof(*rpc_apis); i++)
    add_fault(&h, rpc_apis[i], 0.05, 429, NULL, 0);
  add_fault(&h, NULL, 0, 0, NULL, 0.02);
  memset(&h.counts, 0, sizeof(h.counts));
  t0 = th_now_ms();
  provision(&h, 20, "g", 150000);
  fprintf(stderr,
          "# 20 tenants READY under faults in %.1f s: requests %lu, 5xx "
          "%lu, 429 %lu, 403 %lu, dropped %lu, 409 %lu, 412 %lu, step "
          "retries %lu\n",
          (double)(th_now_ms() - t0) / 1000.0, h.counts.total, h.counts.st5xx,
          h.counts.st429, h.counts.st403, h.counts.dropped, h.counts.st409,
          h.counts.st412, h.events_retry);
  assert_true(h.counts.dropped > 0);
  json_object_put(th_admin(&h, "DELETE", "/_sim/faults", NULL));
  check_all(&h, 20, "g", 1);
  th_close(&h);
}

/* Every kind of create whose answer is lost after it was applied, once
 * each (the mutations without a requestId in particular: Cloud SQL,
 * Certificate Manager, Secret Manager, IAM, DNS): the step must observe
 * what landed, never create a second one nor fail. */
static void test_drops(void **state)
{
  th h;
  static const char *const methods[] = {
      "sql.instances.insert",
      "sql.databases.insert",
      "sql.users.insert",
      "dns.changes.create",
      "iam.projects.serviceAccounts.create",
      "secretmanager.projects.secrets.create",
      "secretmanager.projects.secrets.addVersion",
      "secretmanager.projects.secrets.setIamPolicy",
      "certificatemanager.projects.locations.dnsAuthorizations.create",
      "certificatemanager.projects.locations.certificates.create",
      "certificatemanager.projects.locations.certificateMaps."
      "certificateMapEntries.create",
      "compute.instances.insert",
      "compute.urlMaps.update",
      "compute.instanceGroups.addInstances",
  };

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "method", json_object_new_string(methods[i]));
    json_object_object_add(b, "dropAfterApply", json_object_new_double(1.0));
    json_object_object_add(b, "count", json_object_new_int(1));
    json_object_put(th_admin(&h, "POST", "/_sim/faults", b));
  }
  provision(&h, 2, "d", 60000);
  fprintf(stderr, "# drops: %lu answers dropped, 409 %lu, step retries %lu\n",
          h.counts.dropped, h.counts.st409, h.events_retry);
  assert_true(h.counts.dropped >= 10);
  check_all(&h, 2, "d", 1);
  th_close(&h);
}

/* Two fleets (two orchestrators: separate stores, disjoint supernets)
 * provisioning at the same time share one URL map and one DNS zone: their
 * writers meet stale fingerprints (412) and must re-read and retry until
 * every tenant's rule is in. */
static unsigned two_left;

static void two_done(void *data, const char *tenant, edv_tenant_phase phase,
                     const edv_error *err)
{
  (void)data;
  if (phase != EDV_PHASE_READY)
    fprintf(stderr, "# %s ended %s: %s\n", tenant, edv__phase_name(phase),
            err ? err->message : "");
  two_left--;
}

static void closed_flag(void *data)
{
  *(int *)data = 1;
}

static void test_twofleets(void **state)
{
  th h;
  edv__fleet *f2;
  edv_store *st2;
  edv__store_opts so;
  edv__fleet_opts fo;
  edv_error err;
  char path[400], id[32];
  unsigned long uw1, dw1, c1, uw2, dw2, c2;
  int done = 0;
  json_object *map;

  (void)state;
  th_open(&h, NULL);
  th_raise_quotas(&h, 40);
  th_platform(&h);
  snprintf(path, sizeof(path), "%s/second.db", h.dir);
  memset(&so, 0, sizeof(so));
  so.path = path;
  so.synchronous_normal = 1;
  assert_int_equal(edv__store_open_sqlite(&so, &st2, &err), 0);
  memset(&fo, 0, sizeof(fo));
  fo.engine = h.engine;
  fo.store = st2;
  fo.tiers = h.tiers;
  fo.supernet = "10.65.0.0/16";
  fo.holder = "edv@second:1";
  fo.retry_base_ms = 50;
  fo.poll_ms = 50;
  fo.max_attempts = 12;
  assert_int_equal(edv__fleet_new(&h.loop, &fo, &f2, &err), 0);
  memset(&h.counts, 0, sizeof(h.counts));
  two_left = 0;
  for (unsigned i = 0; i < 15; i++) {
    edv__tenant_spec sp;
    snprintf(id, sizeof(id), "ta%02u", i);
    assert_int_equal(th_register(&h, id, tier_cycle[i % 4], &err), 0);
    assert_int_equal(th_drive(&h, id, EDV_DIR_UP, &err), 0);
    snprintf(id, sizeof(id), "tb%02u", i);
    th_spec(&sp, id, tier_cycle[i % 4], NULL);
    assert_int_equal(edv__fleet_register(f2, &sp, &err), 0);
    assert_int_equal(edv__fleet_drive(f2, id, EDV_DIR_UP, two_done, NULL, &err),
                     0);
    two_left++;
  }
  while (h.runs > 0 || two_left > 0)
    uv_run(&h.loop, UV_RUN_ONCE);
  assert_int_equal(h.ended[EDV_PHASE_READY], 15);
  edv__shared_stats(edv__fleet_shared(h.fleet), &uw1, &dw1, &c1);
  edv__shared_stats(edv__fleet_shared(f2), &uw2, &dw2, &c2);
  fprintf(stderr,
          "# two fleets: 412 %lu, 409 %lu; writes %lu+%lu URL map, %lu+%lu "
          "DNS; conflicts retried %lu+%lu\n",
          h.counts.st412, h.counts.st409, uw1, uw2, dw1, dw2, c1, c2);
  map = th_res(&h, "projects/edv-sim/global/urlMaps/edv-urlmap");
  assert_int_equal(
      json_object_array_length(json_object_object_get(map, "hostRules")), 30);
  for (unsigned i = 0; i < 15; i++) {
    edv__tenant_rec rec;
    snprintf(id, sizeof(id), "ta%02u", i);
    assert_int_equal(th_urlmap_rules(&h, id, map), 101);
    snprintf(id, sizeof(id), "tb%02u", i);
    assert_int_equal(th_urlmap_rules(&h, id, map), 101);
    assert_int_equal(edv__store_tenant_get(st2, id, &rec, &err), 0);
    assert_int_equal(rec.phase, EDV_PHASE_READY);
  }
  json_object_put(map);
  edv__fleet_close(f2, closed_flag, &done);
  while (!done)
    uv_run(&h.loop, UV_RUN_ONCE);
  edv__store_close(st2);
  th_close(&h);
}

/* The DNS writer with more queued changes than one Cloud DNS change may
 * carry (1,000 additions): split over several changes, all applied. */
static unsigned dns_left, dns_failed;

static void dns_cb(void *data, const edv_error *err)
{
  (void)data;
  if (err) {
    if (!dns_failed)
      fprintf(stderr, "# dns change failed: %s\n", err->message);
    dns_failed++;
  }
  dns_left--;
}

static void test_dnsbatch(void **state)
{
  th h;
  char name[128];
  const char *rr[2] = {"203.0.113.7", NULL};
  unsigned long uw, dw, conf;
  json_object *st;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  for (unsigned i = 0; i < 1200; i++) {
    snprintf(name, sizeof(name), "bulk%04u.edvirons.com.", i);
    assert_int_equal(edv__dns_set(h.fleet, "edvirons-com", name, "A", 300, rr,
                                  &(edv__dns_own){rr, 0}, dns_cb, NULL),
                     0);
    dns_left++;
  }
  while (dns_left)
    uv_run(&h.loop, UV_RUN_ONCE);
  assert_int_equal(dns_failed, 0);
  edv__shared_stats(edv__fleet_shared(h.fleet), &uw, &dw, &conf);
  assert_true(dw >= 3);
  st = th_admin(&h, "GET",
                "/_sim/state?prefix=projects/edv-sim/managedZones/"
                "edvirons-com/rrsets/bulk",
                NULL);
  assert_int_equal(
      json_object_array_length(json_object_object_get(st, "resources")), 1200);
  json_object_put(st);
  th_close(&h);
}

/* edv__fleet_stop() given an id its caller frees when the run ends (edvd
 * passes its own run record's, freed by its run-done callback): a
 * canceled call can end the run inside the stop, which must not read the
 * id afterwards. Found by the soak under ASan (a DELETE of a provisioning
 * tenant); this test fails under ASan without the fix. */
typedef struct owned_id {
  th *h;
  char *id;
} owned_id;

static void free_id_on_end(void *data, const char *tenant,
                           edv_tenant_phase phase, const edv_error *err)
{
  owned_id *o = data;

  (void)tenant;
  (void)phase;
  (void)err;
  o->h->runs--;
  free(o->id);
  o->id = NULL;
}

static void test_stop(void **state)
{
  th h;
  edv_error err;
  owned_id o;
  uint64_t until;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  /* Every answer slow: the runs have calls in flight when stopped. */
  json_object_put(th_admin(&h, "POST", "/_sim/faults",
                           json_tokener_parse("{\"latencyMs\":500}")));
  /* stop2 runs on behind stop1 in the fleet's list of runs. */
  assert_int_equal(th_register(&h, "stop2", "basic", &err), 0);
  assert_int_equal(th_drive(&h, "stop2", EDV_DIR_UP, &err), 0);
  assert_int_equal(th_register(&h, "stop1", "basic", &err), 0);
  o.h = &h;
  o.id = strdup("stop1");
  assert_non_null(o.id);
  assert_int_equal(
      edv__fleet_drive(h.fleet, "stop1", EDV_DIR_UP, free_id_on_end, &o, &err),
      0);
  h.runs++;
  until = th_now_ms() + 250;
  while (th_now_ms() < until)
    uv_run(&h.loop, UV_RUN_ONCE);
  edv__fleet_stop(h.fleet, o.id);
  edv__fleet_stop(h.fleet, "stop2");
  json_object_put(th_admin(&h, "DELETE", "/_sim/faults", NULL));
  assert_int_equal(th_wait(&h, 30000), 0);
  assert_null(o.id);
  /* Stopped, not failed nor READY: resumable. */
  assert_int_equal(th_phase(&h, "stop1"), EDV_PHASE_PROVISIONING);
  assert_int_equal(th_phase(&h, "stop2"), EDV_PHASE_PROVISIONING);
  th_close(&h);
}

int main(int argc, char **argv)
{
  const char *which = argc > 1 ? argv[1] : "all";
  struct CMUnitTest all[] = {
      cmocka_unit_test(test_fifty),    cmocka_unit_test(test_faults),
      cmocka_unit_test(test_drops),    cmocka_unit_test(test_twofleets),
      cmocka_unit_test(test_dnsbatch), cmocka_unit_test(test_stop),
  };
  struct CMUnitTest pick[sizeof(all) / sizeof(*all)];
  size_t n = 0;

  for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
    if (strcmp(which, "all") == 0 || strstr(all[i].name, which))
      pick[n++] = all[i];
  return _cmocka_run_group_tests("fleet", pick, n, NULL, NULL);
}
