/*
 * test_fleet_api.c - the public fleet API (edv/fleet.h) end to end, with
 * public headers only, on the simulator in-process: the platform, a tenant
 * created and waited for (its events seen), its document, the list, a
 * refused spec that records nothing, the journal, the delete, the
 * recovery of a deleted tenant from its final backup, and the
 * reconciler's passes; each checked against the simulator's state, not
 * only the answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "edv/config.h"
#include "edv/engine.h"
#include "edv/error.h"
#include "edv/fleet.h"
#include "edv/sim.h"
#include "edv/tiers.h"

typedef struct fx {
  uv_loop_t loop;
  edv_sim *sim;
  edv_config *cfg;
  edv_engine *engine;
  edv_fleet *fleet;
  edv_fleet_sub *sub;
  char dir[128];
  /* events */
  unsigned step_done, ends, phases;
  char last_end_phase[32];
  /* the move of api08, in loop milliseconds: its backend removed (the
   * host rule's removal starts), the old instance gone with its final
   * backup, the new backend healthy */
  uint64_t move_off_ms, move_backup_ms, move_healthy_ms;
  /* the answer of the last call */
  int answered;
  json_object *answer;
  edv_error err;
} fx;

static fx F;

static void on_event(void *data, const edv_event *ev)
{
  fx *f = data;

  if (strcmp(ev->tenant, "api08") == 0 && ev->step && ev->phase) {
    uint64_t now = uv_now(&f->loop);
    if (ev->kind == EDV_EVENT_STEP_START && !f->move_off_ms &&
        strcmp(ev->phase, "DEPROVISIONING") == 0 &&
        strcmp(ev->step, "url_map_rule") == 0)
      f->move_off_ms = now;
    else if (ev->kind == EDV_EVENT_STEP_DONE && f->move_off_ms &&
             strcmp(ev->step, "sql_instance") == 0 &&
             strcmp(ev->phase, "DEPROVISIONING") == 0)
      f->move_backup_ms = now;
    else if (ev->kind == EDV_EVENT_STEP_DONE && f->move_off_ms &&
             strcmp(ev->step, "health") == 0)
      f->move_healthy_ms = now;
  }
  if (strcmp(ev->tenant, "api01") != 0)
    return;
  if (ev->kind == EDV_EVENT_STEP_DONE)
    f->step_done++;
  else if (ev->kind == EDV_EVENT_PHASE)
    f->phases++;
  else if (ev->kind == EDV_EVENT_END) {
    f->ends++;
    snprintf(f->last_end_phase, sizeof(f->last_end_phase), "%s", ev->phase);
  }
}

static void on_answer(void *data, json_object *answer, const edv_error *err)
{
  fx *f = data;

  f->answered++;
  json_object_put(f->answer);
  f->answer = json_object_get(answer);
  if (err)
    f->err = *err;
  else
    memset(&f->err, 0, sizeof(f->err));
}

/* Runs the loop until the call started by `result` answers. */
static json_object *wait_answer(int result)
{
  assert_int_equal(result, 0);
  for (int i = 0; i < 600000 && !F.answered; i++)
    uv_run(&F.loop, UV_RUN_ONCE);
  assert_int_equal(F.answered, 1);
  F.answered = 0;
  return F.answer;
}

static const char *js(json_object *o, const char *k)
{
  json_object *v;

  return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* ---- the simulator's state, through the public engine ---------------- */

typedef struct admin {
  int done;
  json_object *json;
} admin;

static void on_admin(void *data, const edv_response *res)
{
  admin *a = data;

  a->done = 1;
  a->json = res->json ? json_object_get(res->json) : NULL;
}

static void on_status(void *data, const edv_response *res)
{
  *(int *)data = res->http_status ? res->http_status : -1;
}

/* `method` on the simulator's admin API; the parsed answer (caller
 * puts). */
static json_object *sim_admin_call(const char *method, const char *path,
                                   const char *body)
{
  edv_request req;
  admin a = {0, NULL};
  char url[512];

  json_object *b = body ? json_tokener_parse(body) : NULL;

  snprintf(url, sizeof(url), "%s%s", edv_sim_base_url(F.sim), path);
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_OTHER;
  req.method = method;
  req.path = url;
  req.body = b;
  req.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY;
  req.label = "sim admin";
  assert_int_equal(edv_call_submit(F.engine, &req, on_admin, &a, NULL), 0);
  json_object_put(b);
  while (!a.done)
    uv_run(&F.loop, UV_RUN_ONCE);
  return a.json;
}

static json_object *sim_admin_post(const char *path, const char *body)
{
  return sim_admin_call("POST", path, body);
}

/* GET of the simulator's admin API `path`; the parsed answer (caller
 * puts). */
static json_object *sim_admin_get(const char *path)
{
  edv_request req;
  admin a = {0, NULL};
  char url[512];

  snprintf(url, sizeof(url), "%s%s", edv_sim_base_url(F.sim), path);
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_OTHER;
  req.method = "GET";
  req.path = url;
  req.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY;
  req.label = "sim admin";
  assert_int_equal(edv_call_submit(F.engine, &req, on_admin, &a, NULL), 0);
  while (!a.done)
    uv_run(&F.loop, UV_RUN_ONCE);
  assert_non_null(a.json);
  return a.json;
}

static json_object *sim_state(const char *kind)
{
  char path[256];

  snprintf(path, sizeof(path), "/_sim/state?kind=%s", kind);
  return sim_admin_get(path);
}

/* The data version instance `inst`'s data was last set to (by a restore or
 * a clone: the last segment of its history in the simulator). */
static long long dv_restored(const char *inst)
{
  char path[256];
  json_object *o, *seg;
  long long v;
  size_t n;

  snprintf(path, sizeof(path), "/_sim/sql/instances/%s/dataVersion", inst);
  o = sim_admin_get(path);
  seg = json_object_object_get(o, "segments");
  n = json_object_array_length(seg);
  assert_true(n > 0);
  v = json_object_get_int64(
      json_object_object_get(json_object_array_get_idx(seg, n - 1), "version"));
  json_object_put(o);
  return v;
}

/* How many resources of `kind` named `name` the simulator holds (with
 * `field`, a zone or region URL, naming `where`; NULL: anywhere). */
static int sim_count_in(const char *kind, const char *name, const char *field,
                        const char *where)
{
  json_object *st = sim_state(kind);
  json_object *items = json_object_object_get(st, "resources");
  int n = 0;

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *r =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    const char *rn = js(r, "name");
    size_t len = strlen(name);
    /* A name ending in '*' is a prefix. */
    int same =
        rn && (len && name[len - 1] == '*' ? strncmp(rn, name, len - 1) == 0
                                           : strcmp(rn, name) == 0);
    n += same && (!field || (js(r, field) && strstr(js(r, field), where)));
  }
  json_object_put(st);
  return n;
}

static int sim_count(const char *kind, const char *name)
{
  return sim_count_in(kind, name, NULL, NULL);
}

static int sim_has(const char *kind, const char *name)
{
  return sim_count(kind, name) > 0;
}

/* The document's "resources" (the Resources schema of the OpenAPI
 * document): every key, each name as the tenant's steps make it, and the
 * Compute and Cloud SQL ones in the simulator. */
static void check_resources(json_object *r)
{
  static const struct {
    const char *key, *value, *sim_kind;
  } want[] = {
      {"subnetwork", "edv-api01", "compute%23subnetwork"},
      {"subnet_range", "10.64.0.0/28", NULL},
      {"vm", "edv-api01-vm", "compute%23instance"},
      {"disk", "edv-api01-boot", "compute%23disk"},
      {"sql_instance", "edv-api01-db-1", "sql%23instance"},
      {"service_account", "edv-api01@edv-sim.iam.gserviceaccount.com", NULL},
      {"secret", "edv-api01-db-password", NULL},
      {"instance_group", "edv-api01-ig", "compute%23instanceGroup"},
      {"backend_service", "edv-api01-be", "compute%23backendService"},
      {"certificate", "edv-api01-cert", NULL},
      /* Its tier's schedule: retention and a hash of its settings. */
      {"snapshot_policy", "edv-api01-snap-30d-85355212",
       "compute%23resourcePolicy"},
  };
  json_object *fw = json_object_object_get(r, "firewalls");

  assert_int_equal(json_object_object_length(r),
                   sizeof(want) / sizeof(*want) + 1);
  for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
    const char *v = js(r, want[i].key);
    if (!v || strcmp(v, want[i].value) != 0)
      fail_msg("resources.%s is %s, want %s", want[i].key, v ? v : "null",
               want[i].value);
    if (want[i].sim_kind && !sim_has(want[i].sim_kind, v))
      fail_msg("resources.%s: %s is not in the simulator", want[i].key, v);
  }
  assert_int_equal(json_object_array_length(fw), 2);
  assert_string_equal(json_object_get_string(json_object_array_get_idx(fw, 0)),
                      "edv-api01-allow-lb");
  assert_string_equal(json_object_get_string(json_object_array_get_idx(fw, 1)),
                      "edv-api01-deny-ingress");
  for (size_t i = 0; i < 2; i++)
    assert_true(
        sim_has("compute%23firewall",
                json_object_get_string(json_object_array_get_idx(fw, i))));
}

/* ---- set-up ----------------------------------------------------------- */

static int setup(void **state)
{
  edv_sim_options so;
  edv_fleet_options fo;
  edv_error err;
  char key[200], tiers[600];
  const char *src = getenv("EDV_SOURCE_ROOT");

  (void)state;
  memset(&F, 0, sizeof(F));
  snprintf(F.dir, sizeof(F.dir), "/tmp/edv-fleet-api-XXXXXX");
  assert_non_null(mkdtemp(F.dir));
  uv_loop_init(&F.loop);
  memset(&so, 0, sizeof(so));
  so.project = "edv-sim";
  so.profile = "fast";
  F.sim = edv_sim_start(&F.loop, &so, &err);
  assert_non_null(F.sim);
  snprintf(key, sizeof(key), "%s/sim-key.json", F.dir);
  assert_int_equal(edv_sim_write_key(F.sim, key, &err), 0);
  snprintf(tiers, sizeof(tiers), "%s/tiers.json", src ? src : ".");
  F.cfg = edv_config_new();
  assert_int_equal(
      edv_config_set(F.cfg, "endpoint", edv_sim_base_url(F.sim), &err), 0);
  assert_int_equal(edv_config_set(F.cfg, "key_file", key, &err), 0);
  assert_int_equal(edv_config_set(F.cfg, "project", "edv-sim", &err), 0);
  assert_int_equal(edv_config_set(F.cfg, "tiers_file", tiers, &err), 0);
  F.engine = edv_engine_new(&F.loop, F.cfg, &err);
  assert_non_null(F.engine);
  memset(&fo, 0, sizeof(fo));
  fo.engine = F.engine;
  fo.config = F.cfg;
  fo.state_dir = F.dir;
  fo.actor = "fleet-api-test";
  fo.poll_ms = 50;
  fo.retry_base_ms = 50;
  assert_int_equal(edv_fleet_open(&fo, &F.fleet, &err), 0);
  F.sub = edv_fleet_subscribe(F.fleet, on_event, &F);
  assert_non_null(F.sub);
  return 0;
}

static void closed(void *data)
{
  *(int *)data = 1;
}

static int teardown(void **state)
{
  int done = 0;
  char cmd[200];

  (void)state;
  edv_fleet_close(F.fleet, closed, &done);
  while (!done)
    uv_run(&F.loop, UV_RUN_ONCE);
  done = 0;
  edv_engine_close(F.engine, closed, &done);
  while (!done)
    uv_run(&F.loop, UV_RUN_ONCE);
  done = 0;
  edv_sim_close(F.sim, closed, &done);
  while (!done)
    uv_run(&F.loop, UV_RUN_ONCE);
  uv_run(&F.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&F.loop), 0);
  edv_config_free(F.cfg);
  json_object_put(F.answer);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static json_object *spec(const char *id, const char *slug, const char *tier)
{
  json_object *s = json_object_new_object();

  json_object_object_add(s, "id", json_object_new_string(id));
  json_object_object_add(s, "slug", json_object_new_string(slug));
  json_object_object_add(s, "display_name",
                         json_object_new_string("API School"));
  json_object_object_add(s, "tier", json_object_new_string(tier));
  json_object_object_add(s, "region", json_object_new_string("us-central1"));
  return s;
}

/* ---- the tests -------------------------------------------------------- */

static void test_refused_spec(void **state)
{
  json_object *s = spec("api02", "api-school-02", "platinum"), *a;
  edv_error err;

  (void)state;
  /* Refused at once, naming the field; nothing recorded. */
  assert_int_equal(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err),
                   EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'tier'"));
  json_object_put(s);
  s = spec("api02", "api-school-02", "basic");
  json_object_object_add(s, "colour", json_object_new_string("blue"));
  assert_int_equal(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err),
                   EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'colour'"));
  json_object_put(s);
  /* A region Compute does not know: refused from the loop. */
  s = spec("api02", "api-school-02", "basic");
  json_object_object_add(s, "region", json_object_new_string("mars-north1"));
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  assert_null(a);
  assert_int_equal(F.err.code, EDV_EINVAL);
  assert_non_null(strstr(F.err.message, "field 'region'"));
  json_object_put(s);
  a = wait_answer(edv_tenant_list(F.fleet, NULL, on_answer, &F, &err));
  assert_int_equal(
      json_object_array_length(json_object_object_get(a, "tenants")), 0);
  assert_int_equal(edv_tenant_get(F.fleet, "api02", 0, on_answer, &F, &err),
                   EDV_ENOTFOUND);
}

static void test_platform(void **state)
{
  json_object *a;
  edv_error err;

  (void)state;
  a = wait_answer(edv_fleet_platform_init(F.fleet, 0, on_answer, &F, &err));
  assert_non_null(a);
  assert_string_equal(js(a, "phase"), "READY");
  assert_string_equal(js(a, "project"), "edv-sim");
  assert_true(json_object_array_length(json_object_object_get(a, "steps")) > 0);
}

static void test_create_get_list_delete(void **state)
{
  json_object *s = spec("api01", "api-school-01", "basic"), *a, *steps, *v;
  const char *vm, *name;
  edv_error err;
  char vm_name[128];

  (void)state;
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  json_object_put(s);
  assert_non_null(a);
  assert_string_equal(js(a, "phase"), "READY");
  /* Every step of the plan is DONE, and each was announced. */
  steps = json_object_object_get(a, "steps");
  for (unsigned i = 0; edv_fleet_step(0, i, &name, NULL) == 0; i++) {
    int found = 0;
    for (size_t k = 0; k < json_object_array_length(steps); k++) {
      json_object *st = json_object_array_get_idx(steps, k);
      if (strcmp(js(st, "name"), name) == 0) {
        assert_string_equal(js(st, "state"), "DONE");
        assert_non_null(js(st, "title"));
        found = 1;
      }
    }
    if (!found)
      fail_msg("step %s missing from the document", name);
  }
  assert_true(F.step_done >= json_object_array_length(steps));
  assert_int_equal(F.ends, 1);
  assert_string_equal(F.last_end_phase, "READY");
  /* The document's conventions: RFC 3339 times, money in cents. */
  assert_int_equal(strlen(js(a, "created")), 24);
  assert_int_equal(js(a, "created")[10], 'T');
  assert_int_equal(js(a, "created")[23], 'Z');
  v = json_object_object_get(json_object_object_get(a, "monthly_cost_estimate"),
                             "total");
  assert_non_null(v);
  {
    const char *t = json_object_to_json_string(v), *dot = strchr(t, '.');
    assert_true(!dot || strlen(dot + 1) <= 2);
  }
  check_resources(json_object_object_get(a, "resources"));
  /* The VM the document names is in the simulator. */
  vm = js(json_object_object_get(a, "resources"), "vm");
  assert_non_null(vm);
  snprintf(vm_name, sizeof(vm_name), "%s", vm);
  assert_true(sim_has("compute%23instance", vm_name));

  /* get: the same document; list: one tenant, no next page. */
  a = wait_answer(edv_tenant_get(F.fleet, "api01", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "READY");
  assert_string_equal(js(a, "url"), "https://api01.edvirons.com");
  a = wait_answer(edv_tenant_list(F.fleet, NULL, on_answer, &F, &err));
  assert_int_equal(
      json_object_array_length(json_object_object_get(a, "tenants")), 1);
  assert_null(json_object_object_get(a, "next_page_token"));
  {
    edv_tenant_query q = {.state = "failed"};
    a = wait_answer(edv_tenant_list(F.fleet, &q, on_answer, &F, &err));
    assert_int_equal(
        json_object_array_length(json_object_object_get(a, "tenants")), 0);
  }
  /* The journal, as its own actor wrote it. */
  edv_fleet_act_as(F.fleet, "alice");
  a = wait_answer(
      edv_tenant_events(F.fleet, "api01", 0, 5, on_answer, &F, &err));
  assert_int_equal(
      json_object_array_length(json_object_object_get(a, "events")), 5);
  assert_non_null(json_object_object_get(a, "next_after"));

  /* delete --now: DELETED, the VM gone from the simulator. */
  a = wait_answer(
      edv_tenant_delete(F.fleet, "api01", EDV_FLEET_NOW, on_answer, &F, &err));
  assert_non_null(a);
  assert_string_equal(js(a, "phase"), "DELETED");
  assert_int_equal(F.ends, 2);
  assert_false(sim_has("compute%23instance", vm_name));
  assert_int_equal(edv_tenant_delete(F.fleet, "api01", 0, on_answer, &F, &err),
                   EDV_ENOTFOUND);
}

/* One authenticated Cloud SQL call through the engine: its HTTP status. */
static int sql_call(const char *method, const char *path)
{
  edv_request req;
  int status = 0;

  memset(&req, 0, sizeof(req));
  req.api = EDV_API_SQLADMIN;
  req.method = method;
  req.path = path;
  req.flags = EDV_REQ_NORETRY;
  req.label = "test sql call";
  assert_int_equal(edv_call_submit(F.engine, &req, on_status, &status, NULL),
                   0);
  while (!status)
    uv_run(&F.loop, UV_RUN_ONCE);
  return status;
}

/* The one resource of `kind` whose `field` is `value` (a new reference),
 * or NULL. */
static json_object *sim_find(const char *kind, const char *field,
                             const char *value)
{
  json_object *st = sim_state(kind), *hit = NULL;
  json_object *items = json_object_object_get(st, "resources");

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *r =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    const char *v = js(r, field);
    if (v && strcmp(v, value) == 0) {
      assert_null(hit);
      hit = json_object_get(r);
    }
  }
  json_object_put(st);
  return hit;
}

/* The data version the simulator keeps for project backup `name` (its
 * instance's when it was taken). */
static long long dv_backup(const char *name)
{
  json_object *r = sim_find("sql.backupVersion", "backup", name);
  long long v;

  assert_non_null(r);
  v = json_object_get_int64(json_object_object_get(r, "dataVersion"));
  json_object_put(r);
  return v;
}

/*
 * Delete is refused while an update runs, and keeps the data: the
 * instance goes with a FINAL backup kept the
 * tier's 30 days, which the deleted tenant's document names; recover
 * brings the tenant back READY (same id, hostnames, tier) on a new
 * instance the simulator says was restored from that backup, deletion
 * protection on again (a direct delete is refused). A READY tenant cannot
 * be recovered, and once the final backup expired neither can a deleted
 * one (nothing created).
 */
static void test_delete_recover(void **state)
{
  json_object *s = spec("api05", "api-school-05", "basic"), *a, *fb, *b, *r;
  edv_error err;
  char backup[256];
  long long bv;

  (void)state;
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  json_object_put(s);
  assert_string_equal(js(a, "phase"), "READY");
  assert_null(json_object_object_get(a, "final_backup"));
  assert_int_equal(sql_call("DELETE", "/sql/v1beta4/projects/edv-sim/instances/"
                                      "edv-api05-db-1"),
                   400);
  assert_true(sim_has("sql%23instance", "edv-api05-db-1"));
  /* Not while an update runs: refused, naming why; nothing deleted. */
  a = wait_answer(
      edv_tenant_apply(F.fleet, "api05", EDV_FLEET_ASYNC, on_answer, &F, &err));
  assert_non_null(a);
  assert_int_equal(edv_tenant_delete(F.fleet, "api05", 0, on_answer, &F, &err),
                   EDV_EBUSY);
  assert_non_null(strstr(err.message, "being updated"));
  a = wait_answer(edv_tenant_apply(F.fleet, "api05", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "READY");
  assert_true(sim_has("sql%23instance", "edv-api05-db-1"));
  a = wait_answer(
      edv_tenant_delete(F.fleet, "api05", EDV_FLEET_NOW, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "DELETED");
  assert_false(sim_has("sql%23instance", "edv-api05-db-1"));
  b = sim_find("sql%23backup", "instance", "edv-api05-db-1");
  assert_non_null(b);
  assert_string_equal(js(b, "type"), "FINAL");
  assert_string_equal(js(b, "ttlDays"), "30");
  snprintf(backup, sizeof(backup), "%s", js(b, "name"));
  fb = json_object_object_get(a, "final_backup");
  assert_non_null(fb);
  assert_string_equal(js(fb, "name"), backup);
  assert_string_equal(js(fb, "expires"), js(b, "expiryTime"));
  json_object_put(b);
  a = wait_answer(edv_tenant_get(F.fleet, "api05", 0, on_answer, &F, &err));
  assert_string_equal(js(json_object_object_get(a, "final_backup"), "name"),
                      backup);

  bv = dv_backup(backup);
  assert_true(bv > 0);

  /* recover: READY again, on a new instance restored from the backup. */
  a = wait_answer(edv_tenant_recover(F.fleet, "api05", 0, on_answer, &F, &err));
  assert_non_null(a);
  assert_string_equal(js(a, "phase"), "READY");
  assert_string_equal(js(a, "tier"), "basic");
  assert_string_equal(js(a, "slug"), "api-school-05");
  assert_string_equal(js(a, "url"), "https://api05.edvirons.com");
  assert_null(json_object_object_get(a, "final_backup"));
  assert_true(sim_has("sql%23instance", "edv-api05-db-2"));
  assert_true(sim_has("compute%23instance", "edv-api05-vm"));
  r = sim_find("sql.simRestore", "instance", "edv-api05-db-2");
  assert_non_null(r);
  assert_string_equal(js(r, "source"), backup);
  json_object_put(r);
  /* ... with the data of the backup. */
  assert_int_equal(dv_restored("edv-api05-db-2"), bv);
  assert_int_equal(sql_call("DELETE", "/sql/v1beta4/projects/edv-sim/instances/"
                                      "edv-api05-db-2"),
                   400);
  assert_int_equal(edv_tenant_recover(F.fleet, "api05", 0, on_answer, &F, &err),
                   EDV_EPRECONDITION);
  assert_non_null(strstr(err.message, "only a DELETED tenant"));

  /* Deleted again (a new final backup), then 31 days pass: gone. */
  a = wait_answer(
      edv_tenant_delete(F.fleet, "api05", EDV_FLEET_NOW, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "DELETED");
  assert_string_not_equal(js(json_object_object_get(a, "final_backup"), "name"),
                          backup);
  {
    json_object *adv =
        sim_admin_post("/_sim/clock/advance", "{\"seconds\":2678400}");
    json_object_put(adv);
  }
  a = wait_answer(edv_tenant_recover(F.fleet, "api05", 0, on_answer, &F, &err));
  assert_null(a);
  assert_int_equal(F.err.code, EDV_EPRECONDITION);
  assert_non_null(strstr(F.err.message, "no longer exists"));
  a = wait_answer(edv_tenant_get(F.fleet, "api05", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "DELETED");
  assert_false(sim_has("sql%23instance", "edv-api05-db-3"));
}

static int64_t recon_figure(const char *key);

/* "2026-12-07T10:00:00.123Z" in ms since the epoch, or -1. */
static int64_t rfc3339_ms(const char *t)
{
  struct tm tm;
  int ms = 0;

  memset(&tm, 0, sizeof(tm));
  if (!t || sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon,
                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (int64_t)timegm(&tm) * 1000 + ms;
}

/* 1 when the URL map has a host rule for `host`. */
static int urlmap_has_host(const char *host)
{
  json_object *m = sim_find("compute%23urlMap", "name", "edv-urlmap");
  json_object *rules = json_object_object_get(m, "hostRules");
  int found = 0;

  assert_non_null(m);
  for (size_t i = 0; i < json_object_array_length(rules); i++) {
    json_object *hosts =
        json_object_object_get(json_object_array_get_idx(rules, i), "hosts");
    for (size_t k = 0; k < json_object_array_length(hosts); k++)
      found |=
          strcmp(json_object_get_string(json_object_array_get_idx(hosts, k)),
                 host) == 0;
  }
  json_object_put(m);
  return found;
}

/* Puts `map` (the URL map as read, any fingerprint) as the URL map, the
 * way someone would by hand, and waits until `host` is routed (want 1) or
 * not (0). */
static void urlmap_put_by_hand(json_object *map, const char *host, int want)
{
  json_object *now = sim_find("compute%23urlMap", "name", "edv-urlmap");
  edv_request req;
  admin a = {0, NULL};

  assert_non_null(now);
  json_object_object_add(
      map, "fingerprint",
      json_object_get(json_object_object_get(now, "fingerprint")));
  json_object_put(now);
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_COMPUTE;
  req.method = "PUT";
  req.path = "/compute/v1/projects/edv-sim/global/urlMaps/edv-urlmap";
  req.body = map;
  req.label = "test: the URL map by hand";
  assert_int_equal(edv_call_submit(F.engine, &req, on_admin, &a, NULL), 0);
  while (!a.done)
    uv_run(&F.loop, UV_RUN_ONCE);
  json_object_put(a.json);
  json_object_put(map);
  for (int i = 0; i < 2000 && urlmap_has_host(host) != want; i++)
    uv_sleep(5);
  assert_int_equal(urlmap_has_host(host), want);
}

/* The A record set named `name` in the simulator (1) or not (0). */
static int dns_has_a(const char *name)
{
  json_object *st = sim_state("dns%23resourceRecordSet");
  json_object *items = json_object_object_get(st, "resources");
  int n = 0;

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *r =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    n += js(r, "name") && strcmp(js(r, "name"), name) == 0 && js(r, "type") &&
         strcmp(js(r, "type"), "A") == 0;
  }
  json_object_put(st);
  return n > 0;
}

/* The simulator's VM status ("RUNNING", "TERMINATED"), or "" when absent
 * (copied into buf). */
static const char *vm_status(const char *name, char *buf, size_t size)
{
  json_object *vm = sim_find("compute%23instance", "name", name);

  snprintf(buf, size, "%s", vm && js(vm, "status") ? js(vm, "status") : "");
  json_object_put(vm);
  return buf;
}

/* The Cloud SQL instance's createTime (copied), "" when absent. */
static const char *sql_created(const char *name, char *buf, size_t size)
{
  json_object *db = sim_find("sql%23instance", "name", name);

  snprintf(buf, size, "%s",
           db && js(db, "createTime") ? js(db, "createTime") : "");
  json_object_put(db);
  return buf;
}

/* The tenant's state in the simulator while it is on the air. */
static void check_on_air(void)
{
  char b[64];

  assert_string_equal(vm_status("edv-api06-vm", b, sizeof(b)), "RUNNING");
  assert_true(urlmap_has_host("api06.edvirons.com"));
  assert_true(urlmap_has_host("api-school-06.edvirons.com"));
  assert_true(dns_has_a("api06.edvirons.com."));
  assert_true(dns_has_a("api-school-06.edvirons.com."));
}

/* ... and while it is suspended: off the air, nothing destroyed. */
static void check_suspended(const char *db_created)
{
  char b[64];

  assert_string_equal(vm_status("edv-api06-vm", b, sizeof(b)), "TERMINATED");
  assert_true(sim_has("compute%23disk", "edv-api06-boot"));
  assert_false(urlmap_has_host("api06.edvirons.com"));
  assert_false(urlmap_has_host("api-school-06.edvirons.com"));
  assert_false(dns_has_a("api06.edvirons.com."));
  assert_false(dns_has_a("api-school-06.edvirons.com."));
  assert_string_equal(sql_created("edv-api06-db-1", b, sizeof(b)), db_created);
  assert_true(sim_has("compute%23subnetwork", "edv-api06"));
  assert_true(sim_has("compute%23backendService", "edv-api06-be"));
  assert_false(sim_has("sql%23backup", "edv-api06-db-1"));
}

/*
 * Two-phase deletion: delete suspends (VM stopped, host rule and DNS A
 * records gone, the SQL instance, disk, subnet untouched) with a
 * purge_after; deleting again answers the same; update and apply are
 * refused; undelete brings the tenant back READY on the same instance.
 * delete --now of a SUSPENDED tenant purges it (final backup). A tenant
 * never READY is not suspended.
 */
static long long dv_now(const char *inst);

static void test_delete_grace(void **state)
{
  json_object *s = spec("api06", "api-school-06", "basic"), *a, *b, *patch;
  edv_error err;
  char created[64], b2[64];
  long long v0, seg0;
  json_object *routed, *unrouted;

  (void)state;
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  json_object_put(s);
  assert_string_equal(js(a, "phase"), "READY");
  assert_null(json_object_object_get(a, "purge_after"));
  check_on_air();
  sql_created("edv-api06-db-1", created, sizeof(created));
  assert_string_not_equal(created, "");
  /* The school's data when it is deleted: undelete must give it back. */
  v0 = dv_now("edv-api06-db-1");
  seg0 = dv_restored("edv-api06-db-1");
  routed = sim_find("compute%23urlMap", "name", "edv-urlmap");

  a = wait_answer(edv_tenant_delete(F.fleet, "api06", 0, on_answer, &F, &err));
  assert_non_null(a);
  assert_string_equal(js(a, "phase"), "SUSPENDED");
  assert_null(json_object_object_get(a, "final_backup"));
  {
    /* The default grace: 7 days after the suspension. */
    int64_t up = rfc3339_ms(js(a, "updated"));
    int64_t pa = rfc3339_ms(js(a, "purge_after"));
    assert_true(up > 0);
    assert_int_equal(pa - up, (int64_t)7 * 86400 * 1000);
  }
  check_suspended(created);
  /* Planned, a suspended tenant is in sync; with its host rule put back
   * by hand, the plan shows the rule's removal and writes nothing. */
  a = wait_answer(edv_tenant_plan(F.fleet, "api06", on_answer, &F, &err));
  assert_true(json_object_get_boolean(json_object_object_get(a, "in_sync")));
  unrouted = sim_find("compute%23urlMap", "name", "edv-urlmap");
  urlmap_put_by_hand(routed, "api06.edvirons.com", 1);
  a = wait_answer(edv_tenant_plan(F.fleet, "api06", on_answer, &F, &err));
  assert_false(json_object_get_boolean(json_object_object_get(a, "in_sync")));
  assert_non_null(strstr(json_object_to_json_string(a), "urlMaps"));
  /* A write would land within its operation's few ms: look for 1 s. */
  for (int i = 0; i < 100; i++) {
    assert_true(urlmap_has_host("api06.edvirons.com"));
    uv_run(&F.loop, UV_RUN_NOWAIT);
    uv_sleep(10);
  }
  urlmap_put_by_hand(unrouted, "api06.edvirons.com", 0);
  /* Again: the same, nothing purged. */
  a = wait_answer(edv_tenant_delete(F.fleet, "api06", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "SUSPENDED");
  assert_int_equal(edv_tenant_apply(F.fleet, "api06", 0, on_answer, &F, &err),
                   EDV_EPRECONDITION);
  assert_non_null(strstr(err.message, "undelete"));
  patch = json_tokener_parse("{\"display_name\":\"X\"}");
  assert_int_equal(
      edv_tenant_update(F.fleet, "api06", patch, 0, on_answer, &F, &err),
      EDV_EPRECONDITION);
  json_object_put(patch);
  /* The reconciler's pass leaves it (grace not over), and so does a drift
   * pass's and health's view: nothing started, nothing changed. */
  {
    int64_t d0 = recon_figure("drift_passes");
    a = wait_answer(edv_fleet_reconcile(
        F.fleet, EDV_FLEET_ASYNC | EDV_PASS_DRIFT, on_answer, &F, &err));
    assert_non_null(a);
    assert_int_equal(json_object_get_int(json_object_object_get(a, "resumed")),
                     0);
    for (int i = 0; i < 600000 && recon_figure("drift_passes") < d0 + 1; i++)
      uv_run(&F.loop, UV_RUN_ONCE);
    assert_int_equal(recon_figure("drift_passes"), d0 + 1);
    assert_int_equal(edv_fleet_runs(F.fleet), 0);
  }
  check_suspended(created);

  /* undelete: READY, the same instance, back on the air. */
  a = wait_answer(
      edv_tenant_undelete(F.fleet, "api06", 0, on_answer, &F, &err));
  assert_non_null(a);
  assert_string_equal(js(a, "phase"), "READY");
  assert_null(json_object_object_get(a, "purge_after"));
  check_on_air();
  assert_string_equal(sql_created("edv-api06-db-1", b2, sizeof(b2)), created);
  assert_false(sim_has("sql%23instance", "edv-api06-db-2"));
  /* The same data: nothing restored over it, only time has passed. */
  assert_int_equal(dv_restored("edv-api06-db-1"), seg0);
  assert_true(dv_now("edv-api06-db-1") >= v0);
  assert_int_equal(
      edv_tenant_undelete(F.fleet, "api06", 0, on_answer, &F, &err),
      EDV_EPRECONDITION);

  /* delete, then delete --now: purged, with its final backup. */
  a = wait_answer(edv_tenant_delete(F.fleet, "api06", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "SUSPENDED");
  a = wait_answer(
      edv_tenant_delete(F.fleet, "api06", EDV_FLEET_NOW, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "DELETED");
  assert_false(sim_has("compute%23instance", "edv-api06-vm"));
  assert_false(sim_has("sql%23instance", "edv-api06-db-1"));
  b = sim_find("sql%23backup", "instance", "edv-api06-db-1");
  assert_non_null(b);
  assert_string_equal(js(b, "type"), "FINAL");
  json_object_put(b);
  assert_non_null(json_object_object_get(a, "final_backup"));
}

/* With a grace of 0 the reconciler's next pass purges a suspended tenant
 * (final backup and all). */
static void test_grace_expiry(void **state)
{
  json_object *s = spec("api07", "api-school-07", "basic"), *a, *b;
  edv_error err;

  (void)state;
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  json_object_put(s);
  assert_string_equal(js(a, "phase"), "READY");
  assert_int_equal(edv_config_set(F.cfg, "tenant.delete_grace_s", "0", &err),
                   0);
  a = wait_answer(edv_tenant_delete(F.fleet, "api07", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "SUSPENDED");
  assert_true(sim_has("sql%23instance", "edv-api07-db-1"));
  a = wait_answer(edv_fleet_reconcile(F.fleet, 0, on_answer, &F, &err));
  assert_int_equal(json_object_get_int(json_object_object_get(a, "resumed")),
                   1);
  a = wait_answer(edv_tenant_get(F.fleet, "api07", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "DELETED");
  assert_false(sim_has("compute%23instance", "edv-api07-vm"));
  assert_false(sim_has("sql%23instance", "edv-api07-db-1"));
  b = sim_find("sql%23backup", "instance", "edv-api07-db-1");
  assert_non_null(b);
  assert_string_equal(js(b, "type"), "FINAL");
  json_object_put(b);
}

/* ---- the school's hostname through the simulated load balancer ------- */

typedef struct probe {
  uv_timer_t timer;
  unsigned inflight, sent, failed;
  uint64_t down_ms, up_ms; /* first failure, first 200 after it */
  char host[96];           /* "Host: ..." (probe_start) */
} probe;

static void on_probe(void *data, const edv_response *res)
{
  probe *p = data;
  uint64_t now = uv_now(&F.loop);

  p->inflight--;
  if (res->http_status != 200) {
    p->failed++;
    if (!p->down_ms)
      p->down_ms = now;
    p->up_ms = 0;
  } else if (p->down_ms && !p->up_ms) {
    p->up_ms = now;
  }
}

/* GET /health with the probe's Host, every 20 ms, one at a time. */
static void probe_tick(uv_timer_t *t)
{
  probe *p = t->data;
  const char *hdr[] = {p->host, NULL};
  edv_request req;
  char url[256];

  if (p->inflight)
    return;
  snprintf(url, sizeof(url), "%s/health", edv_sim_base_url(F.sim));
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_OTHER;
  req.method = "GET";
  req.path = url;
  req.headers = hdr;
  req.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY;
  req.label = "school health";
  if (edv_call_submit(F.engine, &req, on_probe, p, NULL) == 0) {
    p->inflight++;
    p->sent++;
  }
}

/* Probes https://ID.edvirons.com/health every 20 ms until probe_stop,
 * once three probes went out. */
static void probe_start(probe *p, const char *id)
{
  memset(p, 0, sizeof(*p));
  snprintf(p->host, sizeof(p->host), "Host: %s.edvirons.com", id);
  uv_timer_init(&F.loop, &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, probe_tick, 0, 20);
  while (p->sent < 3)
    uv_run(&F.loop, UV_RUN_ONCE);
}

/* Once the hostname answers again (and no probe is in flight). */
static void probe_stop(probe *p)
{
  while (!p->up_ms || p->inflight)
    uv_run(&F.loop, UV_RUN_ONCE);
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, NULL);
}

/* The one resource of `kind` named `name` (asserts there is exactly one;
 * caller puts). */
static json_object *sim_one(const char *kind, const char *name)
{
  json_object *r;
  int n = sim_count(kind, name);

  if (n != 1)
    fail_msg("%d of %s '%s'", n, kind, name);
  r = sim_find(kind, "name", name);
  assert_non_null(r);
  return r;
}

/* `field` of `r` (a URL or a name) names `region`. */
static void in_region(json_object *r, const char *field, const char *region)
{
  const char *v = js(r, field);

  assert_non_null(v);
  if (!strstr(v, region))
    fail_msg("%s '%s' is not in %s", field, v, region);
}

/*
 * A tenant moved from us-central1 to europe-west1: its VM, subnet,
 * instance group and Cloud SQL instance are in the new region, once each
 * (the old ones gone: the old instance with a FINAL backup, which the new
 * one was restored from), its backend service points at the new instance
 * group, the plan shows no change, and a tenant beside it is untouched.
 * Refused: an unknown region, its own region, a tenant not READY.
 */
static void test_move(void **state)
{
  json_object *s, *a, *r, *b, *bes;
  edv_error err;
  char backup[256], other_vm[512];
  uint64_t t0, t1;
  probe pr;

  (void)state;
  s = spec("api08", "api-school-08", "basic");
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  json_object_put(s);
  assert_string_equal(js(a, "phase"), "READY");
  s = spec("api09", "api-school-09", "basic");
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  json_object_put(s);
  assert_string_equal(js(a, "phase"), "READY");
  r = sim_one("compute%23instance", "edv-api09-vm");
  snprintf(other_vm, sizeof(other_vm), "%s %s", js(r, "id"), js(r, "zone"));
  json_object_put(r);

  /* Refusals, nothing recorded. */
  assert_int_equal(
      edv_tenant_move(F.fleet, "api08", "us-central1", 0, on_answer, &F, &err),
      EDV_EINVAL);
  assert_non_null(strstr(err.message, "region"));
  assert_int_equal(
      edv_tenant_move(F.fleet, "api08", "Europe", 0, on_answer, &F, &err),
      EDV_EINVAL);
  assert_non_null(strstr(err.message, "region"));
  a = wait_answer(
      edv_tenant_move(F.fleet, "api08", "mars-north1", 0, on_answer, &F, &err));
  assert_null(a);
  assert_int_equal(F.err.code, EDV_EINVAL);
  assert_non_null(strstr(F.err.message, "field 'region'"));
  /* A DELETED tenant (made and purged here: this group runs alone). */
  s = spec("api07", "api-school-07", "basic");
  a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
  json_object_put(s);
  assert_string_equal(js(a, "phase"), "READY");
  a = wait_answer(
      edv_tenant_delete(F.fleet, "api07", EDV_FLEET_NOW, on_answer, &F, &err));
  assert_non_null(a);
  assert_int_equal(
      edv_tenant_move(F.fleet, "api07", "europe-west1", 0, on_answer, &F, &err),
      EDV_ECONFLICT);
  assert_non_null(strstr(err.message, "DELETED"));
  r = sim_one("sql%23instance", "edv-api08-db-1");
  in_region(r, "region", "us-central1");
  json_object_put(r);

  probe_start(&pr, "api08");
  assert_int_equal(pr.failed, 0);
  t0 = uv_now(&F.loop);
  a = wait_answer(edv_tenant_move(F.fleet, "api08", "europe-west1", 0,
                                  on_answer, &F, &err));
  uv_update_time(&F.loop);
  t1 = uv_now(&F.loop);
  probe_stop(&pr);
  printf("# move api08 through the load balancer: https://api08 failed "
         "%u of %u probes (every 20 ms), from %llu ms after the move "
         "started for %llu ms\n",
         pr.failed, pr.sent, (unsigned long long)(pr.down_ms - t0),
         (unsigned long long)(pr.up_ms - pr.down_ms));
  /* Figures, not asserted (docs/operations.md): the downtime is from the
   * backend's removal until the new one is healthy. */
  printf("# move api08 us-central1 -> europe-west1 (simulator, poll 50 ms): "
         "whole move %llu ms; offline (backend removed -> new backend "
         "healthy) %llu ms; final backup taken %llu ms after the backend's "
         "removal\n",
         (unsigned long long)(t1 - t0),
         (unsigned long long)(F.move_healthy_ms - F.move_off_ms),
         (unsigned long long)(F.move_backup_ms - F.move_off_ms));
  if (!a)
    fail_msg("move: %s", F.err.message);
  assert_string_equal(js(a, "phase"), "READY");
  assert_string_equal(js(a, "region"), "europe-west1");
  r = sim_one("compute%23instance", "edv-api08-vm");
  in_region(r, "zone", "/zones/europe-west1-");
  json_object_put(r);
  r = sim_one("compute%23subnetwork", "edv-api08");
  in_region(r, "region", "/regions/europe-west1");
  json_object_put(r);
  r = sim_one("compute%23instanceGroup", "edv-api08-ig");
  in_region(r, "zone", "/zones/europe-west1-");
  bes = sim_one("compute%23backendService", "edv-api08-be");
  b = json_object_object_get(bes, "backends");
  assert_int_equal(json_object_array_length(b), 1);
  assert_string_equal(js(json_object_array_get_idx(b, 0), "group"),
                      js(r, "selfLink"));
  json_object_put(bes);
  json_object_put(r);
  assert_false(sim_has("sql%23instance", "edv-api08-db-1"));
  r = sim_one("sql%23instance", "edv-api08-db-2");
  assert_string_equal(js(r, "region"), "europe-west1");
  json_object_put(r);
  b = sim_find("sql%23backup", "instance", "edv-api08-db-1");
  assert_non_null(b);
  assert_string_equal(js(b, "type"), "FINAL");
  snprintf(backup, sizeof(backup), "%s", js(b, "name"));
  json_object_put(b);
  r = sim_find("sql.simRestore", "instance", "edv-api08-db-2");
  assert_non_null(r);
  assert_string_equal(js(r, "source"), backup);
  json_object_put(r);
  /* The old instance's data as it was at its final backup. */
  assert_int_equal(dv_restored("edv-api08-db-2"), dv_backup(backup));
  assert_true(dv_backup(backup) > 0);
  /* The tenant beside it: the same VM where it was. */
  r = sim_one("compute%23instance", "edv-api09-vm");
  snprintf(backup, sizeof(backup), "%s %s", js(r, "id"), js(r, "zone"));
  assert_string_equal(backup, other_vm);
  json_object_put(r);
  r = sim_one("compute%23subnetwork", "edv-api09");
  in_region(r, "region", "/regions/us-central1");
  json_object_put(r);
  assert_true(sim_has("sql%23instance", "edv-api09-db-1"));
  a = wait_answer(edv_tenant_plan(F.fleet, "api08", on_answer, &F, &err));
  assert_non_null(a);
  if (!json_object_get_boolean(json_object_object_get(a, "in_sync")))
    fail_msg("plan after the move: %s", json_object_to_json_string(a));
  /* Its region is now europe-west1: moving there is refused. */
  assert_int_equal(
      edv_tenant_move(F.fleet, "api08", "europe-west1", 0, on_answer, &F, &err),
      EDV_EINVAL);
  /* Back to us-central1, answered at once: no delete while it runs. */
  a = wait_answer(edv_tenant_move(F.fleet, "api08", "us-central1",
                                  EDV_FLEET_ASYNC, on_answer, &F, &err));
  assert_non_null(a);
  assert_int_equal(edv_tenant_delete(F.fleet, "api08", 0, on_answer, &F, &err),
                   EDV_EBUSY);
  assert_non_null(strstr(err.message, "moving to us-central1"));
  while (edv_fleet_runs(F.fleet) > 0)
    uv_run(&F.loop, UV_RUN_ONCE);
  a = wait_answer(edv_tenant_get(F.fleet, "api08", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "READY");
  assert_string_equal(js(a, "region"), "us-central1");
  r = sim_one("compute%23instance", "edv-api08-vm");
  in_region(r, "zone", "/zones/us-central1-");
  json_object_put(r);
  assert_false(sim_has("sql%23instance", "edv-api08-db-2"));
  r = sim_one("sql%23instance", "edv-api08-db-3");
  assert_string_equal(js(r, "region"), "us-central1");
  json_object_put(r);
}

/* The data version backup run `id` of instance `inst` captured. */
static long long dv_run(const char *inst, const char *id)
{
  char key[256];
  json_object *st = sim_state("sql.dataVersion"), *hit = NULL, *v;
  json_object *items = json_object_object_get(st, "resources");
  long long n;

  snprintf(key, sizeof(key), "projects/edv-sim/instances/%s/dataVersion", inst);
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (js(it, "name") && strcmp(js(it, "name"), key) == 0)
      hit = json_object_object_get(it, "resource");
  }
  assert_non_null(hit);
  assert_true(json_object_object_get_ex(json_object_object_get(hit, "backups"),
                                        id, &v));
  n = json_object_get_int64(v);
  json_object_put(st);
  return n;
}

/* The version of instance `inst`'s data now. */
static long long dv_now(const char *inst)
{
  char path[256];
  json_object *o;
  long long v;

  snprintf(path, sizeof(path), "/_sim/sql/instances/%s/dataVersion", inst);
  o = sim_admin_get(path);
  v = json_object_get_int64(json_object_object_get(o, "dataVersion"));
  json_object_put(o);
  return v;
}

/* The old region's pieces of api10 in europe-west2: `n` of each. */
static void old_region_has(int n)
{
  assert_int_equal(sim_count_in("compute%23instance", "edv-api10-vm", "zone",
                                "/zones/europe-west2-"),
                   n);
  assert_int_equal(sim_count_in("compute%23subnetwork", "edv-api10", "region",
                                "/regions/europe-west2"),
                   n);
  assert_int_equal(sim_count_in("compute%23instanceGroup", "edv-api10-ig",
                                "zone", "/zones/europe-west2-"),
                   n);
  assert_int_equal(sim_count_in("compute%23resourcePolicy", "edv-api10-snap-*",
                                "region", "/regions/europe-west2"),
                   n);
  assert_int_equal(sim_count("sql%23instance", "edv-api10-db-1"), n);
}

/*
 * Failover: europe-west2 goes down (the simulator's regionDown fault)
 * under api10 and api11. A plain move of api10 is refused, naming
 * --from-latest-backup, with nothing recorded or created; the failover
 * move brings api10 up in us-central1 from its newest backup run kept
 * outside the region (in `eu`), READY and serving its hostname through the load
 * balancer, its new instance restored from that run with its data version; the
 * old region's VM, subnet, instance group, snapshot schedule and instance still
 * there while it is down (a reconcile pass cannot retire them, and another move
 * is refused meanwhile). Once the region is back, a pass retires them (the old
 * instance with a FINAL backup): one of each left, in us-central1, api11
 * untouched. Prints RPO and RTO.
 */
static void test_failover(void **state)
{
  json_object *s, *a, *r, *f;
  edv_error err;
  char other_vm[512], run[64], restored[256], path[256];
  long long v_out, v_run, v_new;
  uint64_t t_out, t_moved;
  probe pr;

  (void)state;
  for (int i = 10; i <= 11; i++) {
    char id[8], slug[32];
    snprintf(id, sizeof(id), "api%d", i);
    snprintf(slug, sizeof(slug), "api-school-%d", i);
    s = spec(id, slug, "basic");
    json_object_object_add(s, "region", json_object_new_string("europe-west2"));
    a = wait_answer(edv_tenant_create(F.fleet, s, 0, on_answer, &F, &err));
    json_object_put(s);
    assert_string_equal(js(a, "phase"), "READY");
  }
  r = sim_one("compute%23instance", "edv-api11-vm");
  snprintf(other_vm, sizeof(other_vm), "%s %s", js(r, "id"), js(r, "zone"));
  json_object_put(r);
  /* A backup kept in `eu` (sql.backup_location's default), then a minute
   * of writes. */
  a = wait_answer(
      edv_tenant_backup(F.fleet, "api10", NULL, NULL, 0, on_answer, &F, &err));
  if (!a)
    fail_msg("backup: %s", F.err.message);
  f = sim_admin_post("/_sim/clock/advance", "{\"seconds\": 60}");
  json_object_put(f);
  r = sim_find("sql%23backupRun", "instance", "edv-api10-db-1");
  assert_non_null(r);
  assert_string_equal(js(r, "status"), "SUCCESSFUL");
  assert_string_equal(js(r, "location"), "eu");
  snprintf(run, sizeof(run), "%s", js(r, "id"));
  json_object_put(r);
  v_run = dv_run("edv-api10-db-1", run);

  probe_start(&pr, "api10");
  assert_int_equal(pr.failed, 0);
  v_out = dv_now("edv-api10-db-1");
  uv_update_time(&F.loop);
  t_out = uv_now(&F.loop);
  f = sim_admin_post("/_sim/faults", "{\"regionDown\": \"europe-west2\"}");
  json_object_put(f);

  /* A plain move needs the old region: refused, nothing recorded. */
  a = wait_answer(
      edv_tenant_move(F.fleet, "api10", "us-central1", 0, on_answer, &F, &err));
  assert_null(a);
  assert_int_equal(F.err.code, EDV_EPRECONDITION);
  if (!strstr(F.err.message, "--from-latest-backup") ||
      !strstr(F.err.message, "DOWN"))
    fail_msg("plain move while down: %s", F.err.message);
  a = wait_answer(edv_tenant_get(F.fleet, "api10", 0, on_answer, &F, &err));
  assert_string_equal(js(a, "phase"), "READY");
  assert_string_equal(js(a, "region"), "europe-west2");
  assert_false(sim_has("sql%23instance", "edv-api10-db-2"));
  assert_int_equal(sim_count("compute%23instance", "edv-api10-vm"), 1);

  a = wait_answer(edv_tenant_move(F.fleet, "api10", "us-central1",
                                  EDV_FLEET_LATEST_BACKUP, on_answer, &F,
                                  &err));
  uv_update_time(&F.loop);
  t_moved = uv_now(&F.loop);
  if (!a)
    fail_msg("failover: %s", F.err.message);
  probe_stop(&pr);
  assert_string_equal(js(a, "phase"), "READY");
  assert_string_equal(js(a, "region"), "us-central1");
  r = sim_one("sql%23instance", "edv-api10-db-2");
  assert_string_equal(js(r, "region"), "us-central1");
  json_object_put(r);
  r = sim_find("sql.simRestore", "instance", "edv-api10-db-2");
  assert_non_null(r);
  snprintf(restored, sizeof(restored),
           "projects/edv-sim/instances/edv-api10-db-1/backupRuns/%s", run);
  assert_string_equal(js(r, "source"), restored);
  json_object_put(r);
  v_new = dv_restored("edv-api10-db-2");
  assert_int_equal(v_new, v_run);
  assert_true(v_out >= v_run + 60);
  printf("# failover api10 europe-west2 (down) -> us-central1 (simulator, "
         "poll 50 ms): RPO %lld data versions (simulated seconds: the "
         "backup's %lld vs %lld at the outage); RTO %llu ms (hostname down "
         "from the outage until healthy in us-central1; %u of %u probes "
         "failed); the move itself %llu ms\n",
         v_out - v_new, v_new, v_out, (unsigned long long)(pr.up_ms - t_out),
         pr.failed, pr.sent, (unsigned long long)(t_moved - t_out));
  assert_true(pr.up_ms > pr.down_ms && pr.down_ms >= t_out);
  assert_int_equal(sim_count_in("compute%23instance", "edv-api10-vm", "zone",
                                "/zones/us-central1-"),
                   1);
  assert_int_equal(sim_count_in("compute%23subnetwork", "edv-api10", "region",
                                "/regions/us-central1"),
                   1);
  old_region_has(1);
  /* Still down: the pass cannot retire them, another move must wait. */
  a = wait_answer(edv_fleet_reconcile(F.fleet, 0, on_answer, &F, &err));
  assert_non_null(a);
  old_region_has(1);
  assert_int_equal(
      edv_tenant_move(F.fleet, "api10", "europe-west1", 0, on_answer, &F, &err),
      EDV_ECONFLICT);
  assert_non_null(strstr(err.message, "europe-west2"));

  /* The region is back: the next pass retires what was left there. */
  f = sim_admin_call("DELETE", "/_sim/faults", NULL);
  json_object_put(f);
  a = wait_answer(edv_fleet_reconcile(F.fleet, 0, on_answer, &F, &err));
  assert_non_null(a);
  old_region_has(0);
  r = sim_find("sql%23backup", "instance", "edv-api10-db-1");
  assert_non_null(r);
  assert_string_equal(js(r, "type"), "FINAL");
  json_object_put(r);
  r = sim_one("compute%23instance", "edv-api10-vm");
  in_region(r, "zone", "/zones/us-central1-");
  json_object_put(r);
  r = sim_one("compute%23subnetwork", "edv-api10");
  in_region(r, "region", "/regions/us-central1");
  json_object_put(r);
  assert_int_equal(sim_count("compute%23instanceGroup", "edv-api10-ig"), 1);
  assert_true(sim_has("sql%23instance", "edv-api10-db-2"));
  /* api11, in the region that went down: as it was. */
  r = sim_one("compute%23instance", "edv-api11-vm");
  snprintf(path, sizeof(path), "%s %s", js(r, "id"), js(r, "zone"));
  assert_string_equal(path, other_vm);
  json_object_put(r);
  assert_true(sim_has("sql%23instance", "edv-api11-db-1"));
  assert_int_equal(sim_count_in("compute%23subnetwork", "edv-api11", "region",
                                "/regions/europe-west2"),
                   1);
  a = wait_answer(edv_tenant_plan(F.fleet, "api10", on_answer, &F, &err));
  assert_non_null(a);
  if (!json_object_get_boolean(json_object_object_get(a, "in_sync")))
    fail_msg("plan after the failover: %s", json_object_to_json_string(a));
  /* Nothing left to retire: the next pass drives nothing. */
  a = wait_answer(edv_fleet_reconcile(F.fleet, 0, on_answer, &F, &err));
  assert_int_equal(json_object_get_int(json_object_object_get(a, "resumed")),
                   0);
}

/* Reopens the fleet on the same state directory (closing the first). */
static void reopen(void)
{
  edv_fleet_options fo;
  edv_error err;
  int done = 0;

  edv_fleet_close(F.fleet, closed, &done);
  while (!done)
    uv_run(&F.loop, UV_RUN_ONCE);
  memset(&fo, 0, sizeof(fo));
  fo.engine = F.engine;
  fo.config = F.cfg;
  fo.state_dir = F.dir;
  fo.actor = "fleet-api-test";
  fo.poll_ms = 50;
  fo.retry_base_ms = 50;
  assert_int_equal(edv_fleet_open(&fo, &F.fleet, &err), 0);
}

/* Two tenants started (ASYNC), the fleet closed under them: the next fleet
 * resumes both to READY with one call, and nothing exists twice. */
static void test_resume_all(void **state)
{
  json_object *s, *a, *list;
  edv_error err;

  (void)state;
  s = spec("api03", "api-school-03", "basic");
  a = wait_answer(
      edv_tenant_create(F.fleet, s, EDV_FLEET_ASYNC, on_answer, &F, &err));
  json_object_put(s);
  assert_non_null(a);
  assert_string_not_equal(js(a, "phase"), "READY");
  s = spec("api04", "api-school-04", "basic");
  a = wait_answer(
      edv_tenant_create(F.fleet, s, EDV_FLEET_ASYNC, on_answer, &F, &err));
  json_object_put(s);
  assert_non_null(a);
  reopen(); /* the runs stop at a durable point */
  a = wait_answer(edv_tenant_resume(F.fleet, NULL, 0, on_answer, &F, &err));
  assert_non_null(a);
  list = json_object_object_get(a, "tenants");
  assert_int_equal(json_object_array_length(list), 2);
  for (size_t i = 0; i < 2; i++)
    assert_string_equal(js(json_object_array_get_idx(list, i), "phase"),
                        "READY");
  /* Each VM once in the simulator. */
  assert_int_equal(sim_count("compute%23instance", "edv-api03-vm"), 1);
  assert_int_equal(sim_count("compute%23instance", "edv-api04-vm"), 1);
  /* Nothing left to resume. */
  a = wait_answer(edv_tenant_resume(F.fleet, NULL, 0, on_answer, &F, &err));
  assert_int_equal(
      json_object_array_length(json_object_object_get(a, "tenants")), 0);
}

/* What programs use beside an open fleet: the reconcile pass resumes an
 * interrupted tenant (its VM once in the simulator), the state directory's
 * tenants read without a fleet, the phase names, the tiers document and
 * the offline spec check. */
static void test_reconcile_programs(void **state)
{
  json_object *s, *a, *list, *tiers = NULL;
  edv_error err;
  int found = 0;

  (void)state;
  s = spec("api05", "api-school-05", "basic");
  a = wait_answer(
      edv_tenant_create(F.fleet, s, EDV_FLEET_ASYNC, on_answer, &F, &err));
  assert_non_null(a);
  reopen(); /* the run stops at a durable point */
  a = wait_answer(edv_fleet_reconcile(F.fleet, 0, on_answer, &F, &err));
  assert_non_null(a);
  assert_int_equal(json_object_get_int(json_object_object_get(a, "resumed")),
                   1);
  assert_int_equal(
      json_object_get_int(json_object_object_get(a, "runs_in_flight")), 0);
  assert_string_equal(js(a, "platform"), "READY");
  assert_int_equal(sim_count("compute%23instance", "edv-api05-vm"), 1);
  a = wait_answer(edv_fleet_reconcile(F.fleet, 0, on_answer, &F, &err));
  assert_int_equal(json_object_get_int(json_object_object_get(a, "resumed")),
                   0);

  assert_int_equal(edv_state_tenants(F.dir, &list, &err), 0);
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *t = json_object_array_get_idx(list, i);
    if (strcmp(js(t, "id"), "api05") == 0) {
      found = 1;
      assert_string_equal(js(t, "phase"), "READY");
      assert_string_equal(js(t, "region"), "us-central1");
    }
    assert_true(js(t, "id")[0] != '@'); /* not the platform */
  }
  assert_true(found);
  json_object_put(list);
  assert_int_equal(edv_state_tenants("/nonexistent/edv", &list, &err), 0);
  assert_int_equal(json_object_array_length(list), 0);
  json_object_put(list);
  assert_string_equal(edv_phase_name(0), "PENDING");
  assert_null(edv_phase_name(100));

  assert_int_equal(edv_tiers_load(F.cfg, NULL, &tiers, &err), 0);
  assert_true(json_object_array_length(json_object_object_get(tiers, "tiers")) >
              0);
  assert_int_equal(edv_tenant_spec_check(s, tiers, F.cfg, &err), 0);
  json_object_object_add(s, "tier", json_object_new_string("gold"));
  assert_int_equal(edv_tenant_spec_check(s, NULL, NULL, &err), 0);
  assert_int_equal(edv_tenant_spec_check(s, tiers, F.cfg, &err), EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'tier'"));
  json_object_object_add(s, "slug", json_object_new_string("www"));
  assert_int_equal(edv_tenant_spec_check(s, NULL, F.cfg, &err), EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'slug'"));
  json_object_put(s);
  json_object_put(tiers);
}

/* The reconciler's figure `key` (edv_fleet_reconciler_status). */
static int64_t recon_figure(const char *key)
{
  json_object *st = edv_fleet_reconciler_status(F.fleet), *v;
  int64_t n = -1;

  assert_non_null(st);
  if (json_object_object_get_ex(st, key, &v))
    n = json_object_get_int64(v);
  json_object_put(st);
  return n;
}

/* The reconciler on the fleet: a drift pass and a probe round closed
 * under their calls (the answers come after the fleet is gone: the
 * sanitizers' run checks nothing is used or leaked), then on the next
 * fleet a drift pass to its end: the two READY tenants judged in sync,
 * nothing driven, no orphan, and a resume pass with nothing to resume. */
static void test_reconciler(void **state)
{
  edv_reconciler_options o;
  edv_api_stats api;
  edv_error err;
  json_object *a;

  (void)state;
  memset(&o, 0, sizeof(o));
  o.heal_after = 3;
  o.heal_max_per_hour = 3;
  o.probe_timeout_ms = 2000;
  o.probe_via = edv_sim_base_url(F.sim);
  assert_int_equal(edv_fleet_reconciler_set(F.fleet, &o, &err), 0);
  assert_int_equal(edv_fleet_drift_pass(F.fleet), 0);
  edv_fleet_heal_pass(F.fleet);
  uv_run(&F.loop, UV_RUN_NOWAIT);
  edv_engine_stats(F.engine, EDV_API_COMPUTE, &api);
  assert_true(api.in_flight > 0); /* the drift pass's lists */
  reopen();
  /* The calls of the closed fleet's passes end (engine still open). */
  for (int i = 0; i < 200; i++)
    uv_run(&F.loop, UV_RUN_NOWAIT);
  assert_int_equal(recon_figure("drift_passes"), 0);
  a = wait_answer(edv_fleet_reconcile(F.fleet, EDV_FLEET_ASYNC | EDV_PASS_DRIFT,
                                      on_answer, &F, &err));
  assert_non_null(a);
  assert_int_equal(json_object_get_int(json_object_object_get(a, "resumed")),
                   0);
  for (int i = 0; i < 600000 && recon_figure("drift_passes") < 1; i++)
    uv_run(&F.loop, UV_RUN_ONCE);
  assert_int_equal(recon_figure("drift_passes"), 1);
  assert_int_equal(recon_figure("passes"), 1);
  assert_int_equal(recon_figure("last_pass_resumed"), 0);
  assert_int_equal(recon_figure("drift_repairs"), 0);
  assert_true(recon_figure("drift_last_calls") >= 7);
  assert_int_equal(edv_fleet_runs(F.fleet), 0);
  assert_int_equal(edv_fleet_reconciler_runs(F.fleet), 0);
  {
    json_object *st = edv_fleet_reconciler_status(F.fleet);
    assert_int_equal(
        json_object_array_length(json_object_object_get(st, "orphans")), 0);
    json_object_put(st);
  }
  /* The VMs are still there, once each. */
  assert_int_equal(sim_count("compute%23instance", "edv-api03-vm"), 1);
  assert_int_equal(sim_count("compute%23instance", "edv-api04-vm"), 1);
}

/* Three groups, each its own test program run (meson: tenant/fleet-api-*),
 * so that no one run comes near its timeout on a slow machine; each group
 * starts with the platform. No argument runs them all, in this order. */
int main(int argc, char **argv)
{
  static const struct {
    const char *group;
    struct CMUnitTest tests[8];
    size_t n;
  } groups[] = {
      {"tenants",
       {cmocka_unit_test(test_refused_spec), cmocka_unit_test(test_platform),
        cmocka_unit_test(test_create_get_list_delete),
        cmocka_unit_test(test_delete_recover),
        cmocka_unit_test(test_delete_grace),
        cmocka_unit_test(test_grace_expiry)},
       6},
      {"move",
       {cmocka_unit_test(test_platform), cmocka_unit_test(test_move),
        cmocka_unit_test(test_failover)},
       3},
      {"programs",
       {cmocka_unit_test(test_platform), cmocka_unit_test(test_resume_all),
        cmocka_unit_test(test_reconcile_programs),
        cmocka_unit_test(test_reconciler)},
       4},
  };
  const char *only = argc > 1 ? argv[1] : NULL;
  int rc = 0, found = 0;

  for (size_t g = 0; g < sizeof(groups) / sizeof(*groups); g++) {
    if (only && strcmp(only, groups[g].group) != 0)
      continue;
    found = 1;
    rc |= _cmocka_run_group_tests(groups[g].group, groups[g].tests, groups[g].n,
                                  setup, teardown);
  }
  if (!found) {
    fprintf(stderr, "unknown group '%s' (tenants, move, programs)\n", only);
    return 2;
  }
  return rc;
}
