/*
 * test_tenant_regions.c - what tenants share beyond the platform plan,
 * against the in-process simulator (tenant/steps_shared.c).
 *
 * regions: tenants in two regions; each region has its Cloud Router with
 * Cloud NAT; the project's IAM policy holds each tenant's account in
 * exactly the log and metric writer roles, written in fewer
 * setIamPolicy calls than tenants; deleting the last tenants of a region
 * (two at once) removes its router and leaves the other region's (the platform
 * region's router stays with no tenant left); a binding and a member
 * someone else put in the policy survive all of it.
 *
 * arrive: a tenant arrives in a region while the region's last tenant is
 * deleting its router (the delete held by the simulator): the newcomer
 * ends READY with the router there.
 *
 * drift: a tenant's router deleted and its account taken out of a role by
 * hand: a plan shows the router's create and the policy write and makes
 * no change; the next run puts both back.
 *
 * conflict: the IAM policy writer's setIamPolicy refused 409 ABORTED (the
 * policy changed under it): it reads again and writes; the changes queued
 * meanwhile go in the next write, together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tenant/kinds.h"
#include "tenant/shared.h"
#include "tharness.h"

#define PROJECT "edv-sim"
#define ROUTERS "projects/" PROJECT "/regions/%s/routers/edv-router-%s"
#define FOREIGN                                                                \
  "{\"policy\":{\"bindings\":["                                                \
  "{\"role\":\"roles/owner\",\"members\":[\"user:owner@example.com\"]},"       \
  "{\"role\":\"roles/logging.logWriter\",\"members\":"                         \
  "[\"group:ops@example.com\"]}]}}"

static json_object *policy(th *h)
{
  json_object *p =
      th_api(h, EDV_API_CLOUDRESOURCEMANAGER, "POST",
             "/v1/projects/" PROJECT ":getIamPolicy", json_object_new_object());

  assert_non_null(p);
  return p;
}

/* Someone else's grants, made before any tenant. */
static void seed_foreign(th *h)
{
  json_object *p = th_api(h, EDV_API_CLOUDRESOURCEMANAGER, "POST",
                          "/v1/projects/" PROJECT ":setIamPolicy",
                          json_tokener_parse(FOREIGN));

  assert_non_null(p);
  assert_non_null(json_object_object_get(p, "bindings"));
  json_object_put(p);
}

/* The foreign grants are as seeded: roles/owner with exactly its user,
 * the group still in roles/logging.logWriter. */
static void check_foreign(json_object *pol)
{
  json_object *b = json_object_object_get(pol, "bindings");
  int owner = 0, group = 0;

  for (size_t i = 0; i < edv__jarr_len(b); i++) {
    json_object *bi = json_object_array_get_idx(b, i);
    const char *role = edv__jstr(bi, "role");
    json_object *ms = json_object_object_get(bi, "members");
    for (size_t k = 0; k < edv__jarr_len(ms); k++) {
      const char *m = json_object_get_string(json_object_array_get_idx(ms, k));
      if (strcmp(role, "roles/owner") == 0) {
        assert_int_equal(edv__jarr_len(ms), 1);
        owner += strcmp(m, "user:owner@example.com") == 0;
      }
      if (strcmp(role, "roles/logging.logWriter") == 0)
        group += strcmp(m, "group:ops@example.com") == 0;
    }
  }
  assert_int_equal(owner, 1);
  assert_int_equal(group, 1);
}

/* How many roles of the policy hold tenant `id`'s account; with
 * `exactly`, that they are the project roles. */
static int roles_of(json_object *pol, const char *id, int exactly)
{
  json_object *b = json_object_object_get(pol, "bindings");
  char member[300];
  int n = 0;

  snprintf(member, sizeof(member),
           "serviceAccount:edv-%s@" PROJECT ".iam.gserviceaccount.com", id);
  for (size_t i = 0; i < edv__jarr_len(b); i++) {
    json_object *bi = json_object_array_get_idx(b, i);
    json_object *ms = json_object_object_get(bi, "members");
    for (size_t k = 0; k < edv__jarr_len(ms); k++)
      if (strcmp(json_object_get_string(json_object_array_get_idx(ms, k)),
                 member) == 0) {
        int known = 0;
        for (int r = 0; edv__kind_project_roles[r]; r++)
          known +=
              strcmp(edv__jstr(bi, "role"), edv__kind_project_roles[r]) == 0;
        if (exactly && !known)
          fail_msg("%s holds %s", member, edv__jstr(bi, "role"));
        n++;
      }
  }
  return n;
}

/* The router of `region` with its NAT (1), or none (0). */
static int router_in(th *h, const char *region)
{
  char name[256];
  json_object *r;
  int has;

  snprintf(name, sizeof(name), ROUTERS, region, region);
  r = th_res(h, name);
  if (!r)
    return 0;
  assert_string_equal(edv__jstr(r, "description"), "edv-managed:platform");
  has =
      edv__jstr(json_object_array_get_idx(json_object_object_get(r, "nats"), 0),
                "name") != NULL;
  assert_true(has);
  assert_string_equal(
      edv__jstr(json_object_array_get_idx(json_object_object_get(r, "nats"), 0),
                "name"),
      "edv-nat");
  json_object_put(r);
  return 1;
}

static void add(th *h, const char *id, const char *region)
{
  edv__tenant_spec s;
  edv_error err;

  th_spec(&s, id, "basic", region);
  if (edv__fleet_register(h->fleet, &s, &err))
    fail_msg("register %s: %s", id, err.message);
  if (th_drive(h, id, EDV_DIR_UP, &err))
    fail_msg("drive %s: %s", id, err.message);
}

static void drive(th *h, const char *id, edv__direction dir)
{
  edv_error err;

  if (th_drive(h, id, dir, &err))
    fail_msg("drive %s: %s", id, err.message);
}

static void wait_all(th *h, unsigned ready, unsigned deleted)
{
  if (th_wait(h, 120000))
    fail_msg("runs not done in 120 s");
  if (h->ended[EDV_PHASE_READY] != ready ||
      h->ended[EDV_PHASE_DELETED] != deleted)
    fail_msg("READY %u (want %u), DELETED %u (want %u); last error: %s",
             h->ended[EDV_PHASE_READY], ready, h->ended[EDV_PHASE_DELETED],
             deleted, h->last_err);
}

/* The project's setIamPolicy calls the simulator answered 200. */
static unsigned set_calls(th *h)
{
  json_object *log = th_admin(h, "GET", "/_sim/requests", NULL);
  json_object *reqs = json_object_object_get(log, "requests");
  unsigned n = 0;

  for (size_t i = 0; i < edv__jarr_len(reqs); i++) {
    json_object *e = json_object_array_get_idx(reqs, i);
    const char *p = edv__jstr(e, "path");
    json_object *st = json_object_object_get(e, "status");
    if (p && strstr(p, "/v1/projects/" PROJECT ":setIamPolicy") &&
        json_object_get_int(st) == 200)
      n++;
  }
  json_object_put(log);
  return n;
}

static void test_regions(void **state)
{
  static const char *const us[] = {"ru1", "ru2", "ru3", "ru4"};
  static const char *const eu[] = {"re1", "re2", "re3"};
  const unsigned n = 7;
  th h;
  json_object *pol;
  unsigned writes, base;

  (void)state;
  th_open(&h, NULL);
  th_raise_quotas(&h, n);
  th_platform(&h);
  assert_true(router_in(&h, "us-central1"));
  assert_false(router_in(&h, "europe-west1"));
  seed_foreign(&h);
  base = set_calls(&h);
  for (unsigned i = 0; i < 4; i++)
    add(&h, us[i], "us-central1");
  for (unsigned i = 0; i < 3; i++)
    add(&h, eu[i], "europe-west1");
  wait_all(&h, n, 0);
  assert_true(router_in(&h, "us-central1"));
  assert_true(router_in(&h, "europe-west1"));
  pol = policy(&h);
  for (unsigned i = 0; i < 4; i++)
    assert_int_equal(roles_of(pol, us[i], 1), 2);
  for (unsigned i = 0; i < 3; i++)
    assert_int_equal(roles_of(pol, eu[i], 1), 2);
  check_foreign(pol);
  json_object_put(pol);
  /* Coalesced: the tenants' grants went in fewer writes than tenants. */
  writes = set_calls(&h) - base;
  printf("# %u tenants: %u setIamPolicy calls\n", n, writes);
  assert_true(writes >= 1 && writes < n);
  assert_int_equal(writes, edv__shared_iam_writes(edv__fleet_shared(h.fleet)));

  /* One of three leaves europe-west1: its router stays. */
  drive(&h, "re1", EDV_DIR_DOWN);
  wait_all(&h, n, 1);
  assert_true(router_in(&h, "europe-west1"));
  pol = policy(&h);
  assert_int_equal(roles_of(pol, "re1", 0), 0);
  assert_int_equal(roles_of(pol, "re2", 1), 2);
  json_object_put(pol);
  /* The last two leave at once: the router goes (neither keeps it for
   * the other), us-central1's stays. */
  drive(&h, "re2", EDV_DIR_DOWN);
  drive(&h, "re3", EDV_DIR_DOWN);
  wait_all(&h, n, 3);
  assert_false(router_in(&h, "europe-west1"));
  assert_true(router_in(&h, "us-central1"));
  /* Every tenant gone: the platform region keeps the platform's router,
   * the policy is exactly what others had put in it. */
  for (unsigned i = 0; i < 4; i++)
    drive(&h, us[i], EDV_DIR_DOWN);
  wait_all(&h, n, n);
  assert_true(router_in(&h, "us-central1"));
  pol = policy(&h);
  check_foreign(pol);
  assert_int_equal(edv__jarr_len(json_object_object_get(pol, "bindings")), 2);
  for (unsigned i = 0; i < 4; i++)
    assert_int_equal(roles_of(pol, us[i], 0), 0);
  json_object_put(pol);
  th_close(&h);
}

typedef struct arrive {
  int deleting; /* the leaver said it deletes the router */
} arrive;

static void arrive_hook(void *data, const edv__event *ev)
{
  arrive *a = data;

  if (ev->kind == EDV_EV_INFO && ev->step &&
      strcmp(ev->step, "region_nat") == 0 && ev->message &&
      strstr(ev->message, "deleting its Cloud Router"))
    a->deleting = 1;
}

static void test_arrive(void **state)
{
  th h;
  arrive a = {0};

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  add(&h, "ae1", "europe-west1");
  wait_all(&h, 1, 0);
  assert_true(router_in(&h, "europe-west1"));
  /* The router's delete is held a while by the simulator: the newcomer's
   * step would find the router still there and go on. */
  json_object_put(th_admin(
      &h, "POST", "/_sim/faults",
      json_tokener_parse("{\"api\":\"compute\",\"method\":"
                         "\"compute.routers.delete\",\"latencyMs\":1500}")));
  h.hook = arrive_hook;
  h.hook_data = &a;
  drive(&h, "ae1", EDV_DIR_DOWN);
  while (!a.deleting && h.runs)
    uv_run(&h.loop, UV_RUN_ONCE);
  assert_true(a.deleting);
  /* Recorded after the leaver counted the region's tenants. */
  add(&h, "ae2", "europe-west1");
  wait_all(&h, 2, 1);
  json_object_put(th_admin(&h, "DELETE", "/_sim/faults", NULL));
  assert_int_equal(th_phase(&h, "ae2"), EDV_PHASE_READY);
  assert_true(router_in(&h, "europe-west1"));
  th_close(&h);
}

typedef struct plan_seen {
  char calls[4096];
  int done;
} plan_seen;

static void plan_event(void *data, const edv__event *ev)
{
  plan_seen *p = data;
  size_t n = strlen(p->calls);

  if (ev->kind == EDV_EV_PLAN && ev->message && n + 2 < sizeof(p->calls))
    snprintf(p->calls + n, sizeof(p->calls) - n, "%s\n", ev->message);
}

static void plan_done(void *data, const char *tenant, edv_tenant_phase phase,
                      const edv_error *err)
{
  (void)tenant;
  (void)phase;
  (void)err;
  ((plan_seen *)data)->done = 1;
}

static void test_drift(void **state)
{
  th h;
  json_object *pol, *b, *o;
  plan_seen plan;
  edv_error err;
  char body[1024];
  unsigned long muts;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  seed_foreign(&h);
  add(&h, "dr1", "europe-west1");
  wait_all(&h, 1, 0);
  /* By hand: the router deleted, the account out of the log writers. */
  o = th_api(&h, EDV_API_COMPUTE, "DELETE",
             "/compute/v1/projects/" PROJECT
             "/regions/europe-west1/routers/edv-router-europe-west1",
             NULL);
  json_object_put(o);
  while (router_in(&h, "europe-west1"))
    uv_run(&h.loop, UV_RUN_NOWAIT);
  pol = policy(&h);
  b = json_object_object_get(pol, "bindings");
  for (size_t i = 0; i < edv__jarr_len(b); i++) {
    json_object *bi = json_object_array_get_idx(b, i);
    if (strcmp(edv__jstr(bi, "role"), "roles/logging.logWriter") == 0)
      json_object_object_add(bi, "members",
                             json_tokener_parse("[\"group:ops@example.com\"]"));
  }
  snprintf(body, sizeof(body), "{\"policy\":%s}",
           json_object_to_json_string(pol));
  json_object_put(pol);
  json_object_put(th_api(&h, EDV_API_CLOUDRESOURCEMANAGER, "POST",
                         "/v1/projects/" PROJECT ":setIamPolicy",
                         json_tokener_parse(body)));
  pol = policy(&h);
  assert_int_equal(roles_of(pol, "dr1", 1), 1);
  json_object_put(pol);
  /* A plan shows both writes and makes none. */
  memset(&plan, 0, sizeof(plan));
  h.hook = plan_event;
  h.hook_data = &plan;
  muts = h.counts.mutations;
  assert_int_equal(edv__fleet_plan(h.fleet, "dr1", plan_done, &plan, &err), 0);
  while (!plan.done)
    uv_run(&h.loop, UV_RUN_ONCE);
  h.hook = NULL;
  assert_non_null(strstr(plan.calls, "POST /compute/v1/projects/" PROJECT
                                     "/regions/europe-west1/routers"));
  assert_non_null(
      strstr(plan.calls, "POST /v1/projects/" PROJECT ":setIamPolicy"));
  assert_int_equal(h.counts.mutations, muts);
  assert_false(router_in(&h, "europe-west1"));
  /* The next run puts both back. */
  drive(&h, "dr1", EDV_DIR_UP);
  wait_all(&h, 2, 0);
  assert_true(router_in(&h, "europe-west1"));
  pol = policy(&h);
  assert_int_equal(roles_of(pol, "dr1", 1), 2);
  check_foreign(pol);
  json_object_put(pol);
  th_close(&h);
}

static int conflict_left, conflict_failed;

static void conflict_cb(void *data, const edv_error *err)
{
  (void)data;
  conflict_left--;
  conflict_failed += err != NULL && err->code != 0;
}

static void test_conflict(void **state)
{
  static const char *const members[] = {
      "serviceAccount:edv-c1@" PROJECT ".iam.gserviceaccount.com",
      "serviceAccount:edv-c2@" PROJECT ".iam.gserviceaccount.com",
      "serviceAccount:edv-c3@" PROJECT ".iam.gserviceaccount.com"};
  th h;
  json_object *pol;
  unsigned long uw, dw, conflicts;
  unsigned base;

  (void)state;
  th_open(&h, NULL);
  seed_foreign(&h);
  base = set_calls(&h);
  /* The first write is refused as Google refuses a stale etag. */
  json_object_put(th_admin(
      &h, "POST", "/_sim/faults",
      json_tokener_parse(
          "{\"api\":\"cloudresourcemanager\",\"method\":"
          "\"cloudresourcemanager.projects.setIamPolicy\",\"errorRate\":1.0,"
          "\"code\":409,\"reason\":\"ABORTED\",\"message\":\"There were "
          "concurrent policy changes.\",\"count\":1}")));
  for (unsigned i = 0; i < 3; i++) {
    assert_int_equal(edv__iam_project_set(h.fleet, members[i],
                                          edv__kind_project_roles, 0,
                                          conflict_cb, NULL),
                     0);
    conflict_left++;
  }
  while (conflict_left)
    uv_run(&h.loop, UV_RUN_ONCE);
  assert_int_equal(conflict_failed, 0);
  edv__shared_stats(edv__fleet_shared(h.fleet), &uw, &dw, &conflicts);
  assert_int_equal(conflicts, 1);
  /* The first change's write refused, read again and written; the two
   * queued meanwhile in the next write, together. */
  assert_int_equal(edv__shared_iam_writes(edv__fleet_shared(h.fleet)), 2);
  assert_int_equal(set_calls(&h) - base, 2);
  pol = policy(&h);
  for (unsigned i = 0; i < 3; i++) {
    char id[8];
    snprintf(id, sizeof(id), "c%u", i + 1);
    assert_int_equal(roles_of(pol, id, 1), 2);
  }
  check_foreign(pol);
  json_object_put(pol);
  /* Taken out again: the policy is what others put in it. */
  for (unsigned i = 0; i < 3; i++) {
    assert_int_equal(edv__iam_project_set(h.fleet, members[i],
                                          edv__kind_project_roles, 1,
                                          conflict_cb, NULL),
                     0);
    conflict_left++;
  }
  while (conflict_left)
    uv_run(&h.loop, UV_RUN_ONCE);
  pol = policy(&h);
  check_foreign(pol);
  assert_int_equal(edv__jarr_len(json_object_object_get(pol, "bindings")), 2);
  json_object_put(pol);
  json_object_put(th_admin(&h, "DELETE", "/_sim/faults", NULL));
  th_close(&h);
}

int main(int argc, char **argv)
{
  const char *which = argc > 1 ? argv[1] : "all";
  struct CMUnitTest all[] = {
      cmocka_unit_test(test_regions),
      cmocka_unit_test(test_arrive),
      cmocka_unit_test(test_drift),
      cmocka_unit_test(test_conflict),
  };
  struct CMUnitTest pick[sizeof(all) / sizeof(*all)];
  size_t n = 0;

  for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
    if (strcmp(which, "all") == 0 || strstr(all[i].name, which))
      pick[n++] = all[i];
  return _cmocka_run_group_tests("regions", pick, n, NULL, NULL);
}
