/*
 * test_tenant_isolation.c - isolation you can prove, against the
 * in-process simulator.
 *
 *   test-tenant-isolation audit | ops | sql
 *
 * audit: three tenants provisioned; the audit (three list calls) finds
 * nothing, and each VM reaches only its own database; a firewall rule
 * from one tenant's tag to another's, and one admitting 0.0.0.0/0 to a
 * tenant VM, inserted through the simulator's API, are flagged naming the
 * rule and the tenants; an egress rule letting a tenant out to the whole
 * private services range is flagged as database reachability.
 *
 * ops: operations SSH turned on for one tenant adds its IAP rule (IAP's
 * range to tcp:22, its tag only), which the audit accepts as the
 * operations path; turned off, the rule is deleted and nothing else.
 *
 * sql: Cloud SQL is created with sslMode ENCRYPTED_ONLY and deletion
 * protection; a delete behind the machine's back is refused by the
 * simulator; sslMode and protection turned off are put back by a run; a
 * tenant deletion lifts the protection (journalled) and deletes the
 * instance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "tenant/audit.h"
#include "tenant/spec.h"
#include "tharness.h"

#define P    "projects/edv-sim/"
#define CFW  "/compute/v1/projects/edv-sim/global/firewalls"
#define SQLI "/sql/v1beta4/projects/edv-sim/instances/"

static const char *const ids[] = {"iso-a", "iso-b", "iso-c"};

static void fleet_up(th *h, unsigned n)
{
  edv_error err;

  th_open(h, NULL);
  th_raise_quotas(h, n);
  th_platform(h);
  for (unsigned i = 0; i < n; i++) {
    assert_int_equal(th_register(h, ids[i], "basic", &err), 0);
    assert_int_equal(th_drive(h, ids[i], EDV_DIR_UP, &err), 0);
  }
  assert_int_equal(th_wait(h, 120000), 0);
  for (unsigned i = 0; i < n; i++)
    assert_int_equal(th_phase(h, ids[i]), EDV_PHASE_READY);
}

static void drive(th *h, const char *id, edv__direction dir, int phase)
{
  edv_error err;

  assert_int_equal(th_drive(h, id, dir, &err), 0);
  assert_int_equal(th_wait(h, 60000), 0);
  if (th_phase(h, id) != phase)
    fail_msg("%s: phase %d, wanted %d (%s)", id, th_phase(h, id), phase,
             h->last_err);
}

typedef struct audit_wait {
  int done;
  json_object *report;
  edv_error err;
} audit_wait;

static void on_audit(void *data, json_object *report, const edv_error *err)
{
  audit_wait *w = data;

  w->done = 1;
  w->report = report;
  if (err)
    w->err = *err;
}

static json_object *audit(th *h)
{
  audit_wait w;

  memset(&w, 0, sizeof(w));
  assert_int_equal(edv__audit_run(h->engine, "edv-sim", 30000, on_audit, &w),
                   0);
  while (!w.done)
    uv_run(&h->loop, UV_RUN_ONCE);
  if (!w.report)
    fail_msg("audit failed: %s", w.err.message);
  return w.report;
}

static size_t nfindings(json_object *r)
{
  return json_object_array_length(edv__jget(r, "findings"));
}

/* The finding of `kind` decided by `rule` for `tenant`, or NULL. */
static json_object *finding(json_object *r, const char *kind,
                            const char *tenant, const char *rule)
{
  json_object *f = edv__jget(r, "findings");

  for (size_t i = 0; i < json_object_array_length(f); i++) {
    json_object *x = json_object_array_get_idx(f, i);
    if (strcmp(edv__jstr(x, "kind"), kind) == 0 &&
        strcmp(edv__jstr(x, "tenant"), tenant) == 0 &&
        strcmp(edv__jstr(x, "rule"), rule) == 0)
      return x;
  }
  return NULL;
}

static json_object *tenant_of(json_object *r, const char *id)
{
  json_object *t = edv__jget(r, "tenants");

  for (size_t i = 0; i < json_object_array_length(t); i++)
    if (strcmp(edv__jstr(json_object_array_get_idx(t, i), "id"), id) == 0)
      return json_object_array_get_idx(t, i);
  return NULL;
}

/* A call behind the machine's back, its operation awaited in the
 * simulator (fast profile). */
static void call(th *h, edv_api api, const char *method, const char *path,
                 const char *body)
{
  json_object *b = body ? json_tokener_parse(body) : NULL;
  json_object *r;
  uint64_t end = th_now_ms() + 200;

  if (body && !b)
    fail_msg("bad JSON %s", body);
  r = th_api(h, api, method, path, b);
  if (!r)
    fail_msg("%s %s was refused", method, path);
  json_object_put(r);
  while (th_now_ms() < end)
    uv_run(&h->loop, UV_RUN_NOWAIT);
}

static void fail_dump(json_object *r)
{
  fail_msg("%s", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY));
}

static void test_audit(void **state)
{
  th h;
  json_object *r, *f;

  (void)state;
  fleet_up(&h, 3);
  r = audit(&h);
  if (nfindings(r))
    fail_dump(r);
  assert_int_equal(json_object_array_length(edv__jget(r, "tenants")), 3);
  for (int i = 0; i < 3; i++) {
    json_object *t = tenant_of(r, ids[i]);
    assert_non_null(t);
    assert_non_null(edv__jstr(t, "ip"));
    assert_non_null(edv__jstr(t, "db_ip"));
  }
  assert_int_equal(edv__jint(r, "checked.firewalls", 0), 12);
  json_object_put(r);

  /* Tenant a's tag admitted to tenant b's VM. */
  call(&h, EDV_API_COMPUTE, "POST", CFW,
       "{\"name\":\"bad-a-to-b\",\"network\":\"global/networks/edv-tenants\","
       "\"priority\":900,\"sourceTags\":[\"edv-iso-a\"],\"targetTags\":["
       "\"edv-iso-b\"],\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":["
       "\"5000\"]}]}");
  /* The world admitted to tenant c's VM. */
  call(&h, EDV_API_COMPUTE, "POST", CFW,
       "{\"name\":\"bad-world-to-c\",\"network\":\"global/networks/"
       "edv-tenants\","
       "\"priority\":500,\"sourceRanges\":[\"0.0.0.0/0\"],\"targetTags\":["
       "\"edv-iso-c\"],\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":["
       "\"22\"]}]}");
  r = audit(&h);
  f = finding(r, "cross-tenant", "iso-b", "bad-a-to-b");
  if (!f)
    fail_dump(r);
  assert_string_equal(edv__jstr(f, "from_tenant"), "iso-a");
  assert_non_null(strstr(edv__jstr(f, "detail"), "bad-a-to-b"));
  f = finding(r, "exposed", "iso-c", "bad-world-to-c");
  if (!f)
    fail_dump(r);
  assert_string_equal(edv__jstr(f, "source"), "0.0.0.0/0");
  /* 0.0.0.0/0 holds a's and b's VMs too. */
  assert_non_null(finding(r, "cross-tenant", "iso-c", "bad-world-to-c"));
  assert_null(finding(r, "cross-tenant", "iso-a", "bad-a-to-b"));
  json_object_put(r);

  /* Tenant a let out to the whole private services range. */
  call(&h, EDV_API_COMPUTE, "POST", CFW,
       "{\"name\":\"bad-a-out\",\"network\":\"global/networks/edv-tenants\","
       "\"direction\":\"EGRESS\",\"priority\":900,\"destinationRanges\":["
       "\"10.96.0.0/16\"],\"targetTags\":[\"edv-iso-a\"],\"allowed\":[{"
       "\"IPProtocol\":\"all\"}]}");
  r = audit(&h);
  if (!finding(r, "db-reachable", "iso-b", "bad-a-out") ||
      !finding(r, "db-reachable", "iso-c", "bad-a-out"))
    fail_dump(r);
  json_object_put(r);

  /* One of our own rules widened by hand: flagged, and a run puts it
   * back (the audit then says nothing of it). */
  call(&h, EDV_API_COMPUTE, "PATCH", CFW "/edv-iso-b-allow-lb",
       "{\"sourceRanges\":[\"0.0.0.0/0\"],\"sourceTags\":[\"edv-iso-c\"]}");
  r = audit(&h);
  if (!finding(r, "exposed", "iso-b", "edv-iso-b-allow-lb") ||
      !finding(r, "cross-tenant", "iso-b", "edv-iso-b-allow-lb"))
    fail_dump(r);
  json_object_put(r);
  drive(&h, "iso-b", EDV_DIR_UP, EDV_PHASE_READY);
  r = audit(&h);
  if (finding(r, "exposed", "iso-b", "edv-iso-b-allow-lb") ||
      finding(r, "cross-tenant", "iso-b", "edv-iso-b-allow-lb"))
    fail_dump(r);
  json_object_put(r);
  th_close(&h);
}

static void test_ops(void **state)
{
  th h;
  edv_error err;
  json_object *r, *fw;

  (void)state;
  fleet_up(&h, 2);
  assert_null(th_res(&h, P "global/firewalls/edv-iso-a-allow-iap-ssh"));
  assert_int_equal(edv__fleet_set_ops_ssh(h.fleet, "iso-a", 1, &err), 0);
  drive(&h, "iso-a", EDV_DIR_UP, EDV_PHASE_READY);
  fw = th_res(&h, P "global/firewalls/edv-iso-a-allow-iap-ssh");
  assert_non_null(fw);
  assert_string_equal(
      json_object_to_json_string_ext(edv__jget(fw, "sourceRanges"),
                                     JSON_C_TO_STRING_PLAIN |
                                         JSON_C_TO_STRING_NOSLASHESCAPE),
      "[\"35.235.240.0/20\"]");
  assert_string_equal(json_object_to_json_string_ext(
                          edv__jget(fw, "targetTags"), JSON_C_TO_STRING_PLAIN),
                      "[\"edv-iso-a\"]");
  assert_string_equal(json_object_to_json_string_ext(edv__jget(fw, "allowed"),
                                                     JSON_C_TO_STRING_PLAIN),
                      "[{\"IPProtocol\":\"tcp\",\"ports\":[\"22\"]}]");
  json_object_put(fw);
  assert_null(th_res(&h, P "global/firewalls/edv-iso-b-allow-iap-ssh"));
  r = audit(&h);
  if (nfindings(r))
    fail_dump(r);
  assert_true(
      json_object_get_boolean(edv__jget(tenant_of(r, "iso-a"), "ops_ssh")));
  assert_false(
      json_object_get_boolean(edv__jget(tenant_of(r, "iso-b"), "ops_ssh")));
  json_object_put(r);
  /* Off: our rule goes, the others stay. */
  assert_int_equal(edv__fleet_set_ops_ssh(h.fleet, "iso-a", 0, &err), 0);
  drive(&h, "iso-a", EDV_DIR_UP, EDV_PHASE_READY);
  assert_null(th_res(&h, P "global/firewalls/edv-iso-a-allow-iap-ssh"));
  fw = th_res(&h, P "global/firewalls/edv-iso-a-allow-lb");
  assert_non_null(fw);
  json_object_put(fw);
  th_close(&h);
}

static void test_sql(void **state)
{
  th h;
  json_object *db, *r;
  edv_error err;
  edv__tenant_rec rec;

  (void)state;
  fleet_up(&h, 1);
  db = th_res(&h, P "instances/edv-iso-a-db-1");
  assert_non_null(db);
  assert_string_equal(
      edv__jstr(edv__jget(db, "settings.ipConfiguration"), "sslMode"),
      "ENCRYPTED_ONLY");
  assert_true(json_object_get_boolean(
      edv__jget(db, "settings.deletionProtectionEnabled")));
  json_object_put(db);
  /* Refused behind the machine's back. */
  r = th_api(&h, EDV_API_SQLADMIN, "DELETE", SQLI "edv-iso-a-db-1", NULL);
  assert_null(r);
  db = th_res(&h, P "instances/edv-iso-a-db-1");
  assert_non_null(db);
  assert_string_equal(edv__jstr(db, "state"), "RUNNABLE");
  json_object_put(db);
  /* Turned off by hand: a run puts both back. */
  call(&h, EDV_API_SQLADMIN, "PATCH", SQLI "edv-iso-a-db-1",
       "{\"settings\":{\"deletionProtectionEnabled\":false,"
       "\"ipConfiguration\":{\"sslMode\":"
       "\"ALLOW_UNENCRYPTED_AND_ENCRYPTED\"}}}");
  db = th_res(&h, P "instances/edv-iso-a-db-1");
  assert_string_equal(
      edv__jstr(edv__jget(db, "settings.ipConfiguration"), "sslMode"),
      "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
  json_object_put(db);
  r = audit(&h);
  if (!finding(r, "db-tls", "iso-a", "-"))
    fail_dump(r);
  json_object_put(r);
  drive(&h, "iso-a", EDV_DIR_UP, EDV_PHASE_READY);
  db = th_res(&h, P "instances/edv-iso-a-db-1");
  assert_string_equal(
      edv__jstr(edv__jget(db, "settings.ipConfiguration"), "sslMode"),
      "ENCRYPTED_ONLY");
  assert_true(json_object_get_boolean(
      edv__jget(db, "settings.deletionProtectionEnabled")));
  json_object_put(db);
  /* The tenant deletion lifts the protection, then deletes. */
  drive(&h, "iso-a", EDV_DIR_DOWN, EDV_PHASE_DELETED);
  assert_null(th_res(&h, P "instances/edv-iso-a-db-1"));
  assert_int_equal(edv__store_tenant_get(h.store, "iso-a", &rec, &err), 0);
  th_close(&h);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest all[] = {
      cmocka_unit_test(test_audit),
      cmocka_unit_test(test_ops),
      cmocka_unit_test(test_sql),
  };
  const char *only = argc > 1 ? argv[1] : NULL;

  if (only) {
    for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
      if (strstr(all[i].name, only))
        return _cmocka_run_group_tests(only, &all[i], 1, NULL, NULL);
    fprintf(stderr, "unknown test '%s'\n", only);
    return 2;
  }
  return cmocka_run_group_tests(all, NULL, NULL);
}
