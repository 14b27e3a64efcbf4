/*
 * test_tenant_drift.c - the tenant steps verify what they own and put it
 * back, and a tier change scales a tenant, against the in-process
 * simulator.
 *
 *   test-tenant-drift repair | resume | scale | name | agree | swap_kill
 *
 * repair: a READY tenant is changed behind its back through the
 * simulator's API (VM stopped and given another machine type, Cloud SQL
 * given a public IP and another tier, its URL map host rule deleted, its
 * backend service pointed at another health check with another timeout,
 * its DB password secret deleted, its certificate map entry pointed at
 * another certificate, the platform's health check probing another path
 * and its forwarding rule pointed at another proxy); a plan shows the
 * repairs; driving it up again restores every field (read from the
 * simulator; the new password reaches the DB user through one
 * users.update, seen in the simulator's request log) and journals each
 * repair; a second run makes no mutating call.
 *
 * resume: the machine-type repair is stopped right after each of its
 * calls (instances.stop, setMachineType, start) at a durable point and a
 * new run resumes from the step's record to a RUNNING VM of the tier's
 * type.
 *
 * kill: the same with kill -9: each "life" is a forked child driving the
 * tenant against an edv-gcpsim child process (which outlives it, as the
 * cloud does) and dies by SIGKILL right after one of the repair's calls
 * returns; the next life resumes. The VM ends RUNNING with the tier's type
 * and the simulator saw one instances.stop.
 *
 * scale: basic -> standard grows the VM (stop, setMachineType, start), its
 * boot disk (disks.resize) and Cloud SQL (tier and storage: one patch);
 * standard -> premium -> basic (with a rename) shrinks the machine types
 * back and keeps the larger disks, journalling that it did. After each,
 * every place the tier lives says the new one (the VM's, disk's and
 * database's labels, the VM's edv-tier and edv-max-users metadata, its
 * startup script's app environment, the disk's one snapshot schedule, the
 * tier's, alone in the region), and neither a plan nor the drift pass
 * sees anything left to do.
 *
 * swap_kill: the snapshot schedule's swap (create, detach, attach,
 * delete) killed -9 after each call; resumed, one schedule remains.
 *
 * name: a Cloud SQL name still reserved after a deletion moves the tenant
 * to the next generation at once, without the act's observe-again
 * retries (no step retry is seen).
 *
 * agree: Cloud SQL's tier, sslMode, deletion protection and backup start
 * time, a firewall rule's ranges and the VM's machine type, each changed
 * in turn: the drift
 * pass's judgement (the kind's diff over the pass's own list call) and a
 * plan (the steps, read-only) both see it; after a run, neither does.
 */
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tenant/kinds.h"
#include "tenant/spec.h"
#include "tharness.h"

#define P   "/compute/v1/projects/edv-sim/"
#define SQL "/sql/v1beta4/projects/edv-sim/instances/"
#define CMP "/v1/projects/edv-sim/locations/global"

static char g_zone[64];
static pid_t g_parent;

/* A cmocka failure inside a forked life (test_kill) would longjmp into the
 * child's copy of the runner, which would go on with the next test: each
 * test starts here, and lives end instead. */
static void only_parent(void)
{
  if (g_parent && getpid() != g_parent)
    _exit(5);
}

/* ---- helpers ------------------------------------------------------------ */

static const char *jstr_at(json_object *o, const char *path)
{
  char buf[256], *save = NULL, *tok;

  snprintf(buf, sizeof(buf), "%s", path);
  for (tok = strtok_r(buf, ".", &save); tok && o;
       tok = strtok_r(NULL, ".", &save))
    if (!json_object_object_get_ex(o, tok, &o))
      return NULL;
  return o ? json_object_get_string(o) : NULL;
}

/* The tenant's zone: the region's first zone by name (as preflight). */
static void find_zone(th *h)
{
  json_object *r =
      th_api(h, EDV_API_COMPUTE, "GET", P "regions/us-central1", NULL);
  json_object *zones = r ? json_object_object_get(r, "zones") : NULL;

  g_zone[0] = '\0';
  for (size_t i = 0; zones && i < json_object_array_length(zones); i++) {
    const char *z = strrchr(
        json_object_get_string(json_object_array_get_idx(zones, i)), '/');
    z = z ? z + 1 : "";
    if (!g_zone[0] || strcmp(z, g_zone) < 0)
      snprintf(g_zone, sizeof(g_zone), "%s", z);
  }
  json_object_put(r);
  assert_true(g_zone[0] != '\0');
}

static json_object *get(th *h, edv_api api, const char *fmt, ...)
{
  char path[600];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(path, sizeof(path), fmt, ap);
  va_end(ap);
  return th_api(h, api, "GET", path, NULL);
}

/* Polls `path` until field `field` ends with `want` (10 s at most). */
static void wait_field(th *h, edv_api api, const char *path, const char *field,
                       const char *want)
{
  uint64_t end = th_now_ms() + 10000;

  for (;;) {
    json_object *o = th_api(h, api, "GET", path, NULL);
    const char *v = o ? jstr_at(o, field) : NULL;
    size_t lv = v ? strlen(v) : 0, lw = strlen(want);
    int ok = v && lv >= lw && strcmp(v + lv - lw, want) == 0;

    json_object_put(o);
    if (ok)
      return;
    if (th_now_ms() > end)
      fail_msg("%s: %s never became %s", path, field, want);
    uv_sleep(20);
  }
}

/* Polls `path` until top-level field `field` (as JSON text) contains
 * `want`. */
static void wait_contains(th *h, edv_api api, const char *path,
                          const char *field, const char *want)
{
  uint64_t end = th_now_ms() + 10000;

  for (;;) {
    json_object *o = th_api(h, api, "GET", path, NULL);
    json_object *f = o ? json_object_object_get(o, field) : NULL;
    const char *v =
        f ? json_object_to_json_string_ext(f, JSON_C_TO_STRING_NOSLASHESCAPE)
          : NULL;
    int ok = v && strstr(v, want);

    json_object_put(o);
    if (ok)
      return;
    if (th_now_ms() > end)
      fail_msg("%s: %s never held %s", path, field, want);
    uv_sleep(20);
  }
}

static json_object *jparse(const char *s)
{
  json_object *o = json_tokener_parse(s);
  assert_non_null(o);
  return o;
}

/* A mutating call behind the machine's back; asserts the API took it. */
static void mutate(th *h, edv_api api, const char *method, const char *path,
                   const char *body)
{
  json_object *r = th_api(h, api, method, path, body ? jparse(body) : NULL);

  if (!r)
    fail_msg("%s %s was refused", method, path);
  json_object_put(r);
}

typedef struct jfind {
  const char *needle;
  const char *event; /* NULL: any */
  const char *step;  /* NULL: any */
  unsigned hits;
} jfind;

static int journal_one(void *data, const edv__journal_rec *r)
{
  jfind *f = data;

  if (f->event && strcmp(r->event, f->event) != 0)
    return 0;
  if (f->step && strcmp(r->step, f->step) != 0)
    return 0;
  if (!f->needle || strstr(r->api_call, f->needle) ||
      strstr(r->operation, f->needle))
    f->hits++;
  return 0;
}

/* How many journal entries of `id` (of `event` and `step` when not NULL)
 * mention `needle` (NULL: any). */
static unsigned journal_count(th *h, const char *id, const char *event,
                              const char *step, const char *needle)
{
  jfind f = {needle, event, step, 0};

  assert_int_equal(
      edv__store_journal_list(h->store, id, 0, 0, journal_one, &f, NULL), 0);
  return f.hits;
}

static unsigned journal_has(th *h, const char *id, const char *needle)
{
  return journal_count(h, id, NULL, NULL, needle);
}

/* How many `verb` requests on a path ending with `tail` the simulator
 * answered with 2xx (its request log, /_sim/requests; the verb and the
 * path name the method: the log's method ids are cut at 79 characters,
 * which Certificate Manager's map entry ids exceed). */
static unsigned sim_calls(th *h, const char *verb, const char *tail)
{
  json_object *log = th_admin(h, "GET", "/_sim/requests", NULL);
  json_object *reqs = log ? json_object_object_get(log, "requests") : NULL;
  unsigned n = 0;

  assert_non_null(reqs);
  for (size_t i = 0; i < json_object_array_length(reqs); i++) {
    json_object *e = json_object_array_get_idx(reqs, i);
    const char *v = jstr_at(e, "method"), *path = jstr_at(e, "path");
    const char *st = jstr_at(e, "status");
    size_t lp = path ? strlen(path) : 0, lt = strlen(tail);

    if (v && strcmp(v, verb) == 0 && lp >= lt &&
        strcmp(path + lp - lt, tail) == 0 && st && st[0] == '2')
      n++;
  }
  json_object_put(log);
  return n;
}

/* The tenant's step `step` is DONE in the store. */
static void step_done(th *h, const char *id, const char *step)
{
  edv__step_rec rec;

  assert_int_equal(edv__store_step_get(h->store, id, step, &rec, NULL), 0);
  if (rec.state != EDV_STEP_DONE)
    fail_msg("step %s of %s is in state %d (%s)", step, id, (int)rec.state,
             rec.error);
}

static void up(th *h, const char *id)
{
  edv_error err;

  memset(h->ended, 0, sizeof(h->ended));
  if (th_drive(h, id, EDV_DIR_UP, &err))
    fail_msg("drive %s: %s", id, err.message);
  assert_int_equal(th_wait(h, 60000), 0);
  if (h->ended[EDV_PHASE_READY] != 1)
    fail_msg("%s not READY; last error: %s", id, h->last_err);
}

static void provision(th *h, const char *id, const char *tier)
{
  edv_error err;

  th_open(h, NULL);
  th_platform(h);
  find_zone(h);
  assert_int_equal(th_register(h, id, tier, &err), 0);
  up(h, id);
}

/* Records another tier (and display name, when not NULL) for the tenant,
 * as the Management API does. */
static void set_spec(th *h, const char *id, const char *tier, const char *name)
{
  edv__tenant_rec rec;
  edv__tenant_spec spec;
  json_object *o;

  assert_int_equal(edv__store_tenant_get(h->store, id, &rec, NULL), 0);
  o = jparse(rec.spec_json);
  assert_int_equal(edv__spec_from_json(o, &spec, NULL), 0);
  json_object_put(o);
  snprintf(spec.tier, sizeof(spec.tier), "%s", tier);
  snprintf(rec.tier, sizeof(rec.tier), "%s", tier);
  if (name)
    snprintf(spec.display_name, sizeof(spec.display_name), "%s", name);
  o = edv__spec_to_json(&spec);
  snprintf(rec.spec_json, sizeof(rec.spec_json), "%s",
           json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  assert_int_equal(edv__store_tenant_put(h->store, &rec, EDV_PUT_UPDATE, NULL),
                   0);
}

static void set_tier(th *h, const char *id, const char *tier)
{
  set_spec(h, id, tier, NULL);
}

/* The VM is RUNNING with machine type `mt`; its boot disk is `gb` GB. */
static void check_vm(th *h, const char *id, const char *mt, int gb)
{
  char vm[64], disk[64], want[96];
  json_object *o;

  edv__name_vm(id, vm, sizeof(vm));
  edv__name_disk(id, disk, sizeof(disk));
  o = get(h, EDV_API_COMPUTE, P "zones/%s/instances/%s", g_zone, vm);
  assert_non_null(o);
  snprintf(want, sizeof(want), "/machineTypes/%s", mt);
  assert_non_null(strstr(jstr_at(o, "machineType"), want));
  assert_string_equal(jstr_at(o, "status"), "RUNNING");
  json_object_put(o);
  o = get(h, EDV_API_COMPUTE, P "zones/%s/disks/%s", g_zone, disk);
  assert_non_null(o);
  assert_int_equal(atoi(jstr_at(o, "sizeGb")), gb);
  json_object_put(o);
}

/* Cloud SQL: tier, storage, private only. */
static void check_sql(th *h, const char *id, const char *tier, int gb)
{
  char name[64];
  json_object *o, *v;

  edv__name_sql_instance(id, 1, name, sizeof(name));
  o = get(h, EDV_API_SQLADMIN, SQL "%s", name);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "settings.tier"), tier);
  assert_int_equal(atoi(jstr_at(o, "settings.dataDiskSizeGb")), gb);
  assert_true(json_object_object_get_ex(
      json_object_object_get(json_object_object_get(o, "settings"),
                             "ipConfiguration"),
      "ipv4Enabled", &v));
  assert_false(json_object_get_boolean(v));
  assert_non_null(strstr(jstr_at(o, "settings.ipConfiguration.privateNetwork"),
                         "networks/edv-tenants"));
  json_object_put(o);
}

/* The VM's behind-the-back stop and machine-type change. */
static void vm_retype(th *h, const char *id, const char *mt)
{
  char vm[64], path[300], body[200];

  edv__name_vm(id, vm, sizeof(vm));
  snprintf(path, sizeof(path), P "zones/%s/instances/%s/stop", g_zone, vm);
  mutate(h, EDV_API_COMPUTE, "POST", path, NULL);
  snprintf(path, sizeof(path), P "zones/%s/instances/%s", g_zone, vm);
  wait_field(h, EDV_API_COMPUTE, path, "status", "TERMINATED");
  snprintf(path, sizeof(path), P "zones/%s/instances/%s/setMachineType", g_zone,
           vm);
  snprintf(body, sizeof(body), "{\"machineType\":\"zones/%s/machineTypes/%s\"}",
           g_zone, mt);
  mutate(h, EDV_API_COMPUTE, "POST", path, body);
  snprintf(path, sizeof(path), P "zones/%s/instances/%s", g_zone, vm);
  wait_field(h, EDV_API_COMPUTE, path, "machineType", mt);
}

/* ---- plan events --------------------------------------------------------- */

typedef struct plan_seen {
  char calls[2048];
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

/* ---- repair ------------------------------------------------------------- */

static void test_repair(void **state)
{
  th h;
  char sql[64], bes[64], path[400], body[600], secret[128], entry[128],
      cert[128], entry_path[300], subnet[64], subnet_path[300];
  json_object *map, *rules, *pms, *o;
  const char *fp;
  char ig_path[300];
  plan_seen plan;
  edv_error err;
  unsigned long muts;
  unsigned users_updates, set_targets, entry_patches;

  (void)state;
  only_parent();
  provision(&h, "d1", "basic");
  edv__name_sql_instance("d1", 1, sql, sizeof(sql));
  edv__name_backend_service("d1", bes, sizeof(bes));

  /* Behind its back. The VM: stopped, another machine type. */
  vm_retype(&h, "d1", "e2-medium");
  /* The subnet: private Google access off. */
  edv__name_subnet("d1", subnet, sizeof(subnet));
  snprintf(subnet_path, sizeof(subnet_path),
           P "regions/us-central1/subnetworks/%s", subnet);
  snprintf(path, sizeof(path), "%s/setPrivateIpGoogleAccess", subnet_path);
  mutate(&h, EDV_API_COMPUTE, "POST", path,
         "{\"privateIpGoogleAccess\":false}");
  wait_field(&h, EDV_API_COMPUTE, subnet_path, "privateIpGoogleAccess",
             "false");
  /* The instance group: another named port (the backend service sends
   * to "http"). */
  {
    char ig[64];
    edv__name_instance_group("d1", ig, sizeof(ig));
    snprintf(ig_path, sizeof(ig_path), P "zones/%s/instanceGroups/%s", g_zone,
             ig);
  }
  snprintf(path, sizeof(path), "%s/setNamedPorts", ig_path);
  mutate(&h, EDV_API_COMPUTE, "POST", path,
         "{\"namedPorts\":[{\"name\":\"http\",\"port\":8080}]}");
  wait_contains(&h, EDV_API_COMPUTE, ig_path, "namedPorts", "8080");
  /* Cloud SQL: a public IP and another tier. */
  snprintf(path, sizeof(path), SQL "%s", sql);
  mutate(&h, EDV_API_SQLADMIN, "PATCH", path,
         "{\"settings\":{\"tier\":\"db-g1-small\","
         "\"ipConfiguration\":{\"ipv4Enabled\":true}}}");
  wait_field(&h, EDV_API_SQLADMIN, path, "settings.tier", "db-g1-small");
  /* The URL map: the tenant's host rule and path matcher gone. */
  map = get(&h, EDV_API_COMPUTE, P "global/urlMaps/edv-urlmap");
  assert_non_null(map);
  rules = json_object_new_array();
  pms = json_object_new_array();
  json_object_object_add(map, "hostRules", rules);
  json_object_object_add(map, "pathMatchers", pms);
  fp = jstr_at(map, "fingerprint");
  assert_non_null(fp);
  mutate(&h, EDV_API_COMPUTE, "PUT", P "global/urlMaps/edv-urlmap",
         json_object_to_json_string(map));
  json_object_put(map);
  uv_sleep(100);
  assert_int_equal(th_urlmap_rules(&h, "d1", NULL), 0);
  /* The backend service: another health check, another timeout. */
  mutate(&h, EDV_API_COMPUTE, "POST", P "global/healthChecks",
         "{\"name\":\"other-hc\",\"type\":\"HTTP\","
         "\"httpHealthCheck\":{\"port\":8080,\"requestPath\":\"/\"}}");
  wait_field(&h, EDV_API_COMPUTE, P "global/healthChecks/other-hc", "name",
             "other-hc");
  o = get(&h, EDV_API_COMPUTE, P "global/backendServices/%s", bes);
  assert_non_null(o);
  snprintf(body, sizeof(body),
           "{\"timeoutSec\":99,\"healthChecks\":[\"projects/edv-sim/global/"
           "healthChecks/other-hc\"],\"fingerprint\":\"%s\"}",
           jstr_at(o, "fingerprint"));
  json_object_put(o);
  snprintf(path, sizeof(path), P "global/backendServices/%s", bes);
  mutate(&h, EDV_API_COMPUTE, "PATCH", path, body);
  wait_field(&h, EDV_API_COMPUTE, path, "timeoutSec", "99");
  /* The platform's health check: another path. */
  mutate(&h, EDV_API_COMPUTE, "PATCH", P "global/healthChecks/edv-hc-http",
         "{\"httpHealthCheck\":{\"port\":80,\"requestPath\":\"/x\"}}");
  wait_field(&h, EDV_API_COMPUTE, P "global/healthChecks/edv-hc-http",
             "httpHealthCheck.requestPath", "/x");
  /* The DB password secret deleted: made again, its new password must
   * reach the database user (users.update). */
  edv__name_secret("d1", secret, sizeof(secret));
  snprintf(path, sizeof(path), "/v1/projects/edv-sim/secrets/%s", secret);
  mutate(&h, EDV_API_SECRETMANAGER, "DELETE", path, NULL);
  users_updates = sim_calls(&h, "PUT", "/users");
  /* The certificate map entry: another (existing) certificate. */
  mutate(&h, EDV_API_CERTIFICATEMANAGER, "POST",
         CMP "/certificates?certificateId=other-cert",
         "{\"managed\":{\"domains\":[\"other.example.org\"]}}");
  wait_field(&h, EDV_API_CERTIFICATEMANAGER, CMP "/certificates/other-cert",
             "name", "/other-cert");
  edv__name_cert_map_entry("d1", EDV_HOST_PRIMARY, entry, sizeof(entry));
  edv__name_certificate("d1", cert, sizeof(cert));
  snprintf(entry_path, sizeof(entry_path),
           CMP "/certificateMaps/edv-certmap/certificateMapEntries/%s", entry);
  snprintf(path, sizeof(path), "%s?updateMask=certificates", entry_path);
  mutate(&h, EDV_API_CERTIFICATEMANAGER, "PATCH", path,
         "{\"certificates\":[\"projects/edv-sim/locations/global/"
         "certificates/other-cert\"]}");
  wait_contains(&h, EDV_API_CERTIFICATEMANAGER, entry_path, "certificates",
                "/certificates/other-cert");
  /* The platform's forwarding rule: another proxy of the same URL map. */
  mutate(&h, EDV_API_COMPUTE, "POST", P "global/targetHttpsProxies",
         "{\"name\":\"other-proxy\",\"urlMap\":\"projects/edv-sim/global/"
         "urlMaps/edv-urlmap\",\"certificateMap\":\"//certificatemanager."
         "googleapis.com/projects/edv-sim/locations/global/certificateMaps/"
         "edv-certmap\"}");
  wait_field(&h, EDV_API_COMPUTE, P "global/targetHttpsProxies/other-proxy",
             "name", "other-proxy");
  mutate(&h, EDV_API_COMPUTE, "POST",
         P "global/forwardingRules/edv-https-fr/"
           "setTarget",
         "{\"target\":\"projects/edv-sim/global/targetHttpsProxies/"
         "other-proxy\"}");
  wait_field(&h, EDV_API_COMPUTE, P "global/forwardingRules/edv-https-fr",
             "target", "/targetHttpsProxies/other-proxy");

  set_targets =
      sim_calls(&h, "POST", "/forwardingRules/edv-https-fr/setTarget");
  snprintf(path, sizeof(path), "/certificateMapEntries/%s", entry);
  entry_patches = sim_calls(&h, "PATCH", path);

  /* A plan shows the repairs and changes nothing. */
  memset(&plan, 0, sizeof(plan));
  h.hook = plan_event;
  h.hook_data = &plan;
  muts = h.counts.mutations;
  assert_int_equal(edv__fleet_plan(h.fleet, "d1", plan_done, &plan, &err), 0);
  while (!plan.done)
    uv_run(&h.loop, UV_RUN_ONCE);
  h.hook = NULL;
  fprintf(stderr, "# plan:\n%s", plan.calls);
  assert_non_null(strstr(plan.calls, "/setMachineType"));
  assert_non_null(strstr(plan.calls, "/setPrivateIpGoogleAccess"));
  assert_non_null(strstr(plan.calls, "PATCH /sql/v1beta4/"));
  assert_non_null(strstr(plan.calls, "PATCH " P "global/backendServices/"));
  assert_non_null(strstr(plan.calls, "PUT " P "global/urlMaps/edv-urlmap"));
  assert_non_null(strstr(plan.calls, "/certificateMapEntries/"));
  assert_non_null(strstr(plan.calls, "/setNamedPorts"));
  assert_int_equal(h.counts.mutations, muts);

  /* The platform puts its health check back; the tenant the rest. */
  memset(h.ended, 0, sizeof(h.ended));
  assert_int_equal(th_drive(&h, EDV_PLATFORM_ID, EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 30000), 0);
  wait_field(&h, EDV_API_COMPUTE, P "global/healthChecks/edv-hc-http",
             "httpHealthCheck.requestPath", "/health");
  assert_true(journal_has(&h, EDV_PLATFORM_ID, "drift: health check") >= 1);
  wait_field(&h, EDV_API_COMPUTE, P "global/forwardingRules/edv-https-fr",
             "target",
             "/targetHttpsProxies/"
             "edv-https-proxy");
  assert_true(
      journal_has(&h, EDV_PLATFORM_ID, "drift: global forwarding rule") >= 1);
  assert_int_equal(
      sim_calls(&h, "POST", "/forwardingRules/edv-https-fr/setTarget"),
      set_targets + 1); /* the repair */
  up(&h, "d1");

  check_vm(&h, "d1", "e2-small", 20);
  check_sql(&h, "d1", "db-f1-micro", 10);
  wait_field(&h, EDV_API_COMPUTE, subnet_path, "privateIpGoogleAccess", "true");
  assert_true(journal_has(&h, "d1", "drift: subnetwork") >= 1);
  /* The instance group's named port put back (its kind's diff). */
  wait_contains(&h, EDV_API_COMPUTE, ig_path, "namedPorts",
                "{\"name\":\"http\",\"port\":80}");
  assert_true(journal_has(&h, "d1",
                          "drift: instance group 'edv-d1-ig': named ports "
                          "differ") >= 1);
  assert_int_equal(th_urlmap_rules(&h, "d1", NULL), 101);
  o = get(&h, EDV_API_COMPUTE, P "global/backendServices/%s", bes);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "timeoutSec"), "30");
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(
                             json_object_object_get(o, "healthChecks"), 0)),
                         "/healthChecks/edv-hc-http"));
  json_object_put(o);
  assert_true(journal_has(&h, "d1", "setting the machine type") >= 1);
  assert_true(journal_has(&h, "d1", "drift: Cloud SQL instance") >= 1);
  assert_true(journal_has(&h, "d1", "public IP enabled") >= 1);
  assert_true(journal_has(&h, "d1", "drift: the URL map's host rule") >= 1);
  assert_true(journal_has(&h, "d1", "drift: backend service") >= 1);
  assert_true(journal_has(&h, "d1", "compute.instances.setMachineType") >= 1);
  assert_true(journal_has(&h, "d1", "compute.instances.start") >= 1);
  /* The secret is back with a new version, and the user got it: one
   * users.update on the tenant's instance (the simulator does not keep
   * passwords), journalled, the step DONE. */
  snprintf(path, sizeof(path), "/v1/projects/edv-sim/secrets/%s", secret);
  o = get(&h, EDV_API_SECRETMANAGER, "%s/versions/latest", path);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "state"), "ENABLED");
  json_object_put(o);
  snprintf(path, sizeof(path), "/instances/%s/users", sql);
  assert_int_equal(sim_calls(&h, "PUT", path), users_updates + 1);
  assert_int_equal(
      journal_count(&h, "d1", "api.call", "sql_user", "sql.users.update"), 1);
  assert_true(journal_has(&h, "d1", "setting the password from the new") >= 1);
  step_done(&h, "d1", "db_secret");
  step_done(&h, "d1", "sql_user");
  /* The entry serves the tenant's certificate again (one patch). */
  o = get(&h, EDV_API_CERTIFICATEMANAGER, "%s", entry_path);
  assert_non_null(o);
  {
    json_object *certs = json_object_object_get(o, "certificates");
    char want[200];

    assert_int_equal(json_object_array_length(certs), 1);
    snprintf(want, sizeof(want), "/certificates/%s", cert);
    assert_non_null(strstr(
        json_object_get_string(json_object_array_get_idx(certs, 0)), want));
  }
  json_object_put(o);
  assert_true(journal_has(&h, "d1", "drift: certificate map entry") >= 1);
  snprintf(path, sizeof(path), "/certificateMapEntries/%s", entry);
  assert_int_equal(sim_calls(&h, "PATCH", path), entry_patches + 1);
  step_done(&h, "d1", "cert_map_entry");

  /* A stopped VM of the right type is started. */
  {
    char vm[64];
    edv__name_vm("d1", vm, sizeof(vm));
    snprintf(path, sizeof(path), P "zones/%s/instances/%s/stop", g_zone, vm);
    mutate(&h, EDV_API_COMPUTE, "POST", path, NULL);
    snprintf(path, sizeof(path), P "zones/%s/instances/%s", g_zone, vm);
    wait_field(&h, EDV_API_COMPUTE, path, "status", "TERMINATED");
    up(&h, "d1");
    check_vm(&h, "d1", "e2-small", 20);
    assert_true(journal_has(&h, "d1", "is TERMINATED; starting it") >= 1);
  }

  /* Converged: a new run observes only. */
  muts = h.counts.mutations;
  up(&h, "d1");
  assert_int_equal(h.counts.mutations, muts);
  th_close(&h);
}

/* ---- the steps and the drift pass agree --------------------------------- */

/* What edvd's drift pass judges of `name`: the kind's diff over its item
 * of the kind's fleet-wide list (the pass's own call); -1 when not listed. */
static int pass_sees_of(th *h, const char *id, const char *tier,
                        edv__kind_id kind, const char *name, const char *db_ip)
{
  const edv__kind *k = &edv__kinds[kind];
  edv__kind_ctx c = {edv__tiers_find(h->tiers, tier),
                     id,
                     "edv-sim",
                     "edv-tenants",
                     NULL,
                     db_ip};
  char path[800], text[1024];
  json_object *page, *items;
  int n = -1;

  assert_int_equal(
      edv__kind_path(k->list, "edv-sim", NULL, NULL, NULL, NULL, path, 700), 0);
  snprintf(path + strlen(path), sizeof(path) - strlen(path), "?%s",
           k->list_query);
  page = th_api(h, k->api, "GET", path, NULL);
  assert_non_null(page);
  items = json_object_object_get(page, "items");
  if (json_object_is_type(items, json_type_object)) {
    /* aggregatedList: {"zones/z": {"instances": [...]}}, one zone here. */
    json_object *zones = items;
    items = NULL;
    json_object_object_foreach(zones, scope, v)
    {
      (void)scope;
      if (edv__jarr_len(json_object_object_get(v, "instances")))
        items = json_object_object_get(v, "instances");
    }
  }
  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (strcmp(jstr_at(it, "name"), name) == 0)
      n = k->diff(&c, it, NULL, text, sizeof(text));
  }
  json_object_put(page);
  return n;
}

static int pass_sees(th *h, edv__kind_id kind, const char *name,
                     const char *db_ip)
{
  return pass_sees_of(h, "a1", "basic", kind, name, db_ip);
}

/* What a plan of tenant `id` would do (the steps, read-only): its calls. */
static void plan_id(th *h, const char *id, plan_seen *plan)
{
  edv_error err;

  memset(plan, 0, sizeof(*plan));
  h->hook = plan_event;
  h->hook_data = plan;
  assert_int_equal(edv__fleet_plan(h->fleet, id, plan_done, plan, &err), 0);
  while (!plan->done)
    uv_run(&h->loop, UV_RUN_ONCE);
  h->hook = NULL;
}

static void plan_of(th *h, plan_seen *plan)
{
  plan_id(h, "a1", plan);
}

/*
 * Each change behind the machine's back is one the steps repair (a plan
 * shows the call) and one the drift pass reports (the kind's diff over
 * its list page) -- among them the backup start time and a firewall rule's
 * ranges, which the pass did not judge before the kinds table -- and once
 * a run has repaired it, neither sees anything.
 */
static void test_agree(void **state)
{
  static const struct {
    edv__kind_id kind;
    const char *what, *body, *call;
  } cases[] = {
      {EDV_KIND_SQL_INSTANCE, "tier",
       "{\"settings\":{\"tier\":\"db-g1-small\"}}", "PATCH " SQL},
      {EDV_KIND_SQL_INSTANCE, "sslMode",
       "{\"settings\":{\"ipConfiguration\":{\"sslMode\":"
       "\"ALLOW_UNENCRYPTED_AND_ENCRYPTED\"}}}",
       "PATCH " SQL},
      {EDV_KIND_SQL_INSTANCE, "deletion protection",
       "{\"settings\":{\"deletionProtectionEnabled\":false}}", "PATCH " SQL},
      {EDV_KIND_SQL_INSTANCE, "backup start", NULL, "PATCH " SQL},
      {EDV_KIND_FW_ALLOW_LB, "ranges", "{\"sourceRanges\":[\"0.0.0.0/0\"]}",
       "PATCH " P "global/firewalls/edv-a1-allow-lb"},
      {EDV_KIND_VM, "machine type", NULL, "/setMachineType"},
  };
  th h;
  char sql[64], fw[64], vm[64], path[400];
  plan_seen plan;

  (void)state;
  only_parent();
  provision(&h, "a1", "basic");
  edv__name_sql_instance("a1", 1, sql, sizeof(sql));
  edv__name_firewall("a1", EDV_FIREWALL_ALLOW_LB, fw, sizeof(fw));
  edv__name_vm("a1", vm, sizeof(vm));
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    int sqlk = cases[i].kind == EDV_KIND_SQL_INSTANCE;
    const char *name = sqlk ? sql : cases[i].kind == EDV_KIND_VM ? vm : fw;

    assert_int_equal(pass_sees(&h, cases[i].kind, name, NULL), 0);
    if (sqlk)
      snprintf(path, sizeof(path), SQL "%s", sql);
    else
      snprintf(path, sizeof(path), P "global/firewalls/%s", fw);
    if (cases[i].kind == EDV_KIND_VM) {
      vm_retype(&h, "a1", "e2-medium"); /* stopped, another type */
    } else if (cases[i].body) {
      mutate(&h, edv__kinds[cases[i].kind].api, "PATCH", path, cases[i].body);
    } else {
      /* The whole backup configuration back, another start time. */
      json_object *o = get(&h, EDV_API_SQLADMIN, "%s", path), *b;
      assert_non_null(o);
      json_object_object_add(edv__jget(o, "settings.backupConfiguration"),
                             "startTime", json_object_new_string("23:00"));
      b = json_object_new_object();
      json_object_object_add(b, "settings", json_object_new_object());
      json_object_object_add(
          json_object_object_get(b, "settings"), "backupConfiguration",
          json_object_get(edv__jget(o, "settings.backupConfiguration")));
      mutate(&h, EDV_API_SQLADMIN, "PATCH", path,
             json_object_to_json_string(b));
      json_object_put(b);
      json_object_put(o);
    }
    /* The simulator applies a patch through its operation. */
    for (uint64_t end = th_now_ms() + 10000;
         pass_sees(&h, cases[i].kind, name, NULL) < 1; uv_sleep(20))
      if (th_now_ms() > end)
        fail_msg("%s: the drift pass does not see it", cases[i].what);
    plan_of(&h, &plan);
    if (!strstr(plan.calls, cases[i].call))
      fail_msg("%s: the plan does not repair it: %s", cases[i].what,
               plan.calls);
    up(&h, "a1");
    assert_int_equal(pass_sees(&h, cases[i].kind, name, NULL), 0);
    plan_of(&h, &plan);
    if (plan.calls[0])
      fail_msg("%s: repaired, yet a plan would still call: %s", cases[i].what,
               plan.calls);
  }
  th_close(&h);
}

/* ---- resume ------------------------------------------------------------- */

typedef struct stopper {
  th *h;
  const char *label; /* stop the run after this call, */
  const char *step;  /* or once this step is done */
  int fired;
} stopper;

static void stop_after(void *data, const edv__event *ev)
{
  stopper *s = data;
  int hit = s->label ? ev->kind == EDV_EV_CALL && ev->message &&
                           strstr(ev->message, s->label) && !ev->error
                     : ev->kind == EDV_EV_STEP_DONE && ev->step &&
                           strcmp(ev->step, s->step) == 0;

  if (!s->fired && hit) {
    s->fired = 1;
    edv__fleet_stop(s->h->fleet, ev->tenant);
  }
}

static void test_resume(void **state)
{
  static const char *const calls[] = {"compute.instances.stop",
                                      "compute.instances.setMachineType",
                                      "compute.instances.start"};
  th h;
  edv_error err;
  stopper s;

  (void)state;
  only_parent();
  provision(&h, "r1", "basic");
  /* Behind its back: another machine type, and running again. */
  vm_retype(&h, "r1", "e2-medium");
  {
    char vm[64], path[300];
    edv__name_vm("r1", vm, sizeof(vm));
    snprintf(path, sizeof(path), P "zones/%s/instances/%s/start", g_zone, vm);
    mutate(&h, EDV_API_COMPUTE, "POST", path, NULL);
    snprintf(path, sizeof(path), P "zones/%s/instances/%s", g_zone, vm);
    wait_field(&h, EDV_API_COMPUTE, path, "status", "RUNNING");
  }
  /* Each run stops right after one of the repair's calls; the next one
   * resumes from the step's record. */
  for (int i = 0; i < 3; i++) {
    memset(&s, 0, sizeof(s));
    s.h = &h;
    s.label = calls[i];
    h.hook = stop_after;
    h.hook_data = &s;
    memset(h.ended, 0, sizeof(h.ended));
    assert_int_equal(th_drive(&h, "r1", EDV_DIR_UP, &err), 0);
    assert_int_equal(th_wait(&h, 60000), 0);
    h.hook = NULL;
    if (!s.fired)
      fail_msg("run %d never called %s", i + 1, calls[i]);
    /* Stopped mid-repair: the tenant is not READY. */
    assert_int_equal(h.ended[EDV_PHASE_READY], 0);
  }
  up(&h, "r1");
  check_vm(&h, "r1", "e2-small", 20);
  /* Each call went out once: a resumed step awaited the recorded
   * operation (or observed) instead of repeating it. */
  for (int i = 0; i < 3; i++) {
    char call[96];
    snprintf(call, sizeof(call), "POST %s", calls[i]);
    assert_int_equal(journal_count(&h, "r1", "api.call", "vm", call), 1);
  }
  th_close(&h);
}

/* ---- scale -------------------------------------------------------------- */

/* The value of metadata item `key` of a VM. */
static const char *vm_meta_of(json_object *vm, const char *key)
{
  json_object *items = edv__jget(vm, "metadata.items");

  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (strcmp(jstr_at(it, "key"), key) == 0)
      return jstr_at(it, "value");
  }
  return NULL;
}

/* The tenant's snapshot schedules in the region (by our prefix): how
 * many, the name of one in `one`. */
static unsigned region_policies(th *h, const char *id, char *one, size_t size)
{
  char prefix[64];
  json_object *o = get(h, EDV_API_COMPUTE,
                       P "regions/us-central1/"
                         "resourcePolicies");
  json_object *items = o ? json_object_object_get(o, "items") : NULL;
  unsigned n = 0;

  edv__name_snapshot_policy_prefix(id, prefix, sizeof(prefix));
  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    const char *name = jstr_at(json_object_array_get_idx(items, i), "name");
    if (name && strncmp(name, prefix, strlen(prefix)) == 0) {
      snprintf(one, size, "%s", name);
      n++;
    }
  }
  json_object_put(o);
  return n;
}

/*
 * Every place the tenant's tier lives says `tier`: the VM's, its boot
 * disk's and its database's edv-tier labels, the VM's metadata
 * (edv-tier, edv-max-users: its licences) and its startup script's app
 * environment (with the display name `name`, when not NULL), and the
 * disk's snapshot schedule: one, the tier's (its retention), the only one
 * of the tenant's in the region.
 */
static void check_tier_everywhere(th *h, const char *id, const char *tier,
                                  const char *name)
{
  const edv__tier *t = edv__tiers_find(h->tiers, tier);
  char vm[64], disk[64], sql[64], pol[64], line[160], one[64] = "";
  json_object *o, *rp, *p;
  const char *script;

  assert_non_null(t);
  edv__name_vm(id, vm, sizeof(vm));
  edv__name_disk(id, disk, sizeof(disk));
  edv__name_sql_instance(id, 1, sql, sizeof(sql));
  assert_int_equal(edv__name_snapshot_policy(id, t, pol, sizeof(pol)), 0);
  o = get(h, EDV_API_COMPUTE, P "zones/%s/instances/%s", g_zone, vm);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "labels.edv-tier"), tier);
  assert_string_equal(vm_meta_of(o, "edv-tier"), tier);
  snprintf(line, sizeof(line), "%d", t->max_users);
  assert_string_equal(vm_meta_of(o, "edv-max-users"), line);
  script = vm_meta_of(o, "startup-script");
  assert_non_null(script);
  snprintf(line, sizeof(line), "\nEDV_TIER=%s\nEDV_MAX_USERS=%d\n", tier,
           t->max_users);
  if (!strstr(script, line))
    fail_msg("the startup script does not say %s", line + 1);
  snprintf(line, sizeof(line), "\nEDV_FEATURES=%s", t->features[0]);
  for (size_t i = 1; i < t->nfeatures; i++)
    snprintf(line + strlen(line), sizeof(line) - strlen(line), ",%s",
             t->features[i]);
  strcat(line, "\n");
  if (!strstr(script, line))
    fail_msg("the startup script does not say %s", line + 1);
  if (name) {
    snprintf(line, sizeof(line), "\nEDV_TENANT_NAME='%s'\n", name);
    if (!strstr(script, line))
      fail_msg("the startup script does not say %s", line + 1);
  }
  /* The watcher that makes the app see it is installed by the script. */
  assert_non_null(strstr(script, "edvirons-config-watch.service"));
  json_object_put(o);

  o = get(h, EDV_API_COMPUTE, P "zones/%s/disks/%s", g_zone, disk);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "labels.edv-tier"), tier);
  rp = json_object_object_get(o, "resourcePolicies");
  if (edv__jarr_len(rp) != 1)
    fail_msg("the boot disk has %zu snapshot schedules", edv__jarr_len(rp));
  snprintf(line, sizeof(line), "/resourcePolicies/%s", pol);
  if (!strstr(json_object_get_string(json_object_array_get_idx(rp, 0)), line))
    fail_msg("the boot disk's schedule is %s, want %s",
             json_object_get_string(json_object_array_get_idx(rp, 0)), pol);
  json_object_put(o);
  p = get(h, EDV_API_COMPUTE, P "regions/us-central1/resourcePolicies/%s", pol);
  assert_non_null(p);
  assert_int_equal(
      json_object_get_int(edv__jget(p, "snapshotSchedulePolicy.retentionPolicy."
                                       "maxRetentionDays")),
      t->snapshot_retention_days);
  assert_string_equal(
      jstr_at(p, "snapshotSchedulePolicy.snapshotProperties.labels.edv-tier"),
      tier);
  json_object_put(p);
  if (region_policies(h, id, one, sizeof(one)) != 1)
    fail_msg("the region holds %u schedules of %s",
             region_policies(h, id, one, sizeof(one)), id);

  o = get(h, EDV_API_SQLADMIN, SQL "%s", sql);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "settings.userLabels.edv-tier"), tier);
  json_object_put(o);

  /* The certificate and its map entry (Certificate Manager's patch). */
  edv__name_certificate(id, line, sizeof(line));
  o = get(h, EDV_API_CERTIFICATEMANAGER, CMP "/certificates/%s", line);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "labels.edv-tier"), tier);
  json_object_put(o);
  edv__name_cert_map_entry(id, EDV_HOST_PRIMARY, line, sizeof(line));
  o = get(h, EDV_API_CERTIFICATEMANAGER,
          CMP "/certificateMaps/edv-certmap/certificateMapEntries/%s", line);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "labels.edv-tier"), tier);
  json_object_put(o);
  edv__name_dns_authorization(id, EDV_HOST_PRIMARY, line, sizeof(line));
  o = get(h, EDV_API_CERTIFICATEMANAGER, CMP "/dnsAuthorizations/%s", line);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "labels.edv-tier"), tier);
  json_object_put(o);
  /* The DB password's secret (Secret Manager's patch). */
  edv__name_secret(id, line, sizeof(line));
  o = get(h, EDV_API_SECRETMANAGER, "/v1/projects/edv-sim/secrets/%s", line);
  assert_non_null(o);
  assert_string_equal(jstr_at(o, "labels.edv-tier"), tier);
  json_object_put(o);
}

/* Nothing left to do: a plan calls nothing, and the drift pass's
 * judgement of the VM and the database (the kinds' diffs over its own
 * list calls) sees nothing. */
static void check_converged(th *h, const char *id, const char *tier)
{
  char vm[64], sql[64];
  plan_seen plan;

  edv__name_vm(id, vm, sizeof(vm));
  edv__name_sql_instance(id, 1, sql, sizeof(sql));
  plan_id(h, id, &plan);
  if (plan.calls[0])
    fail_msg("%s at %s: a plan would still call: %s", id, tier, plan.calls);
  assert_int_equal(pass_sees_of(h, id, tier, EDV_KIND_VM, vm, NULL), 0);
  assert_int_equal(pass_sees_of(h, id, tier, EDV_KIND_SQL_INSTANCE, sql, NULL),
                   0);
}

static void test_scale(void **state)
{
  th h;
  char vm[64];
  plan_seen plan;

  (void)state;
  only_parent();
  provision(&h, "s1", "basic");
  check_vm(&h, "s1", "e2-small", 20);
  check_sql(&h, "s1", "db-f1-micro", 10);
  check_tier_everywhere(&h, "s1", "basic", NULL);

  /* Up: machine type, boot disk, SQL tier and storage; every place the
   * tier lives (labels, metadata, app environment, snapshot schedule). */
  set_tier(&h, "s1", "standard");
  edv__name_vm("s1", vm, sizeof(vm));
  /* Before the run, the drift pass and a plan both see the VM's tier
   * label, metadata and app environment at the old tier. */
  assert_true(pass_sees_of(&h, "s1", "standard", EDV_KIND_VM, vm, NULL) >= 3);
  plan_id(&h, "s1", &plan);
  if (!strstr(plan.calls, "/setMachineType") && !strstr(plan.calls, "/stop"))
    fail_msg("the plan does not scale the VM: %s", plan.calls);
  up(&h, "s1");
  check_vm(&h, "s1", "e2-medium", 50);
  check_sql(&h, "s1", "db-g1-small", 20);
  check_tier_everywhere(&h, "s1", "standard", NULL);
  check_converged(&h, "s1", "standard");
  assert_true(journal_has(&h, "s1", "compute.disks.resize") >= 1);
  assert_true(journal_has(&h, "s1", "storage 10 GB -> 20 GB") >= 1);

  /* Premium: a longer snapshot retention, a new schedule swapped in. */
  set_tier(&h, "s1", "premium");
  up(&h, "s1");
  check_tier_everywhere(&h, "s1", "premium", NULL);
  check_converged(&h, "s1", "premium");

  /* Down (and a rename): machine types shrink, disks stay, and the
   * journal says so; the tier and the name reach the VM in place. */
  set_spec(&h, "s1", "basic", "Renamed School");
  up(&h, "s1");
  check_vm(&h, "s1", "e2-small", 100);
  check_sql(&h, "s1", "db-f1-micro", 50);
  check_tier_everywhere(&h, "s1", "basic", "Renamed School");
  check_converged(&h, "s1", "basic");
  assert_true(journal_has(&h, "s1", "kept (a disk cannot shrink)") >= 1);
  assert_true(journal_has(&h, "s1", "kept (Cloud SQL storage cannot") >= 1);
  /* In place: the VM was stopped only for its machine types. */
  assert_true(journal_has(&h, "s1", "updating its labels in place") >= 3);
  assert_true(journal_has(&h, "s1", "updating its metadata in place") >= 3);
  th_close(&h);
}

/* ---- kill -9 ------------------------------------------------------------ */

static char k_dir[256];
static th_simproc k_sp = {-1, "", ""};

static void kopen(th *h)
{
  th_opts o;

  th_simproc_opts(&k_sp, k_dir, &o);
  th_open(h, &o);
}

typedef struct klife {
  int first;         /* provision, then retype the VM behind its back */
  const char *label; /* die right after this call returns; NULL: never */
  const char *swap;  /* swap: provision w1 basic, scale it to this tier
                        (first life); the lives drive w1 instead of k1 */
} klife;

static void kill_after(void *data, const edv__event *ev)
{
  klife *l = data;

  if (l->label && ev->kind == EDV_EV_CALL && ev->message &&
      strstr(ev->message, l->label) && !ev->error)
    raise(SIGKILL); /* kill -9, now, whatever is pending */
}

/* One life (the child): 0 when the tenant ended READY. */
static int klife_main(klife *l)
{
  th h;
  edv_error err;
  int ok;

  kopen(&h);
  find_zone(&h);
  if (l->first && l->swap) {
    th_platform(&h);
    if (th_register(&h, "w1", "basic", &err))
      return 2;
    up(&h, "w1");
    set_tier(&h, "w1", l->swap);
    th_close(&h);
    return 0;
  }
  if (l->first) {
    th_platform(&h);
    if (th_register(&h, "k1", "basic", &err))
      return 2;
    up(&h, "k1");
    vm_retype(&h, "k1", "e2-medium");
    {
      char vm[64], path[300];
      edv__name_vm("k1", vm, sizeof(vm));
      snprintf(path, sizeof(path), P "zones/%s/instances/%s/start", g_zone, vm);
      mutate(&h, EDV_API_COMPUTE, "POST", path, NULL);
      snprintf(path, sizeof(path), P "zones/%s/instances/%s", g_zone, vm);
      wait_field(&h, EDV_API_COMPUTE, path, "status", "RUNNING");
    }
    th_close(&h);
    return 0;
  }
  h.hook = kill_after;
  h.hook_data = l;
  memset(h.ended, 0, sizeof(h.ended));
  if (th_drive(&h, l->swap ? "w1" : "k1", EDV_DIR_UP, &err) ||
      th_wait(&h, 60000))
    return 2;
  ok = h.ended[EDV_PHASE_READY] == 1;
  if (ok && l->swap) {
    check_tier_everywhere(&h, "w1", l->swap, NULL);
    check_converged(&h, "w1", l->swap);
  } else if (ok)
    check_vm(&h, "k1", "e2-small", 20);
  th_close(&h);
  return ok ? 0 : 1;
}

/* Runs a life; 1 when it was killed, 0 when it ended READY. */
static int krun(klife *l)
{
  pid_t pid;
  int st;

  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(klife_main(l));
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
    return 1;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  fail_msg("a life ended with status %d", st);
  return -1;
}

/* Requests the simulator logged whose path ends with `suffix`. */
static unsigned sim_requests(const char *suffix)
{
  th h;
  json_object *log, *reqs;
  unsigned n = 0;

  kopen(&h);
  log = th_admin(&h, "GET", "/_sim/requests", NULL);
  reqs = json_object_object_get(log, "requests");
  for (size_t i = 0; reqs && i < json_object_array_length(reqs); i++) {
    const char *path = json_object_get_string(
        json_object_object_get(json_object_array_get_idx(reqs, i), "path"));
    const char *q;
    size_t lp, ls = strlen(suffix);
    if (!path)
      continue;
    q = strchr(path, '?');
    lp = q ? (size_t)(q - path) : strlen(path);
    if (lp >= ls && strncmp(path + lp - ls, suffix, ls) == 0)
      n++;
  }
  json_object_put(log);
  th_close(&h);
  return n;
}

/* Operations of `type` on the zone's instances that the simulator created:
 * one per distinct call (a call sent again with its requestId gets the
 * operation it already made, as Compute does). */
static unsigned sim_operations(const char *type)
{
  th h;
  json_object *list, *items;
  char path[300];
  unsigned n = 0;

  kopen(&h);
  find_zone(&h); /* set in the lives, which are children */
  snprintf(path, sizeof(path), P "zones/%s/operations", g_zone);
  list = th_api(&h, EDV_API_COMPUTE, "GET", path, NULL);
  items = json_object_object_get(list, "items");
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    const char *t =
        edv__jstr(json_object_array_get_idx(items, i), "operationType");
    n += t && strcmp(t, type) == 0;
  }
  json_object_put(list);
  th_close(&h);
  return n;
}

static void test_kill(void **state)
{
  static const char *const calls[] = {"compute.instances.stop",
                                      "compute.instances.setMachineType",
                                      "compute.instances.start"};
  const char *tmp = getenv("TMPDIR");
  klife l;

  (void)state;
  only_parent();
  snprintf(k_dir, sizeof(k_dir), "%s/edv-drift-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(k_dir));
  th_simproc_start(&k_sp, k_dir);
  memset(&l, 0, sizeof(l));
  l.first = 1;
  assert_int_equal(krun(&l), 0);
  for (int i = 0; i < 3; i++) {
    memset(&l, 0, sizeof(l));
    l.label = calls[i];
    if (krun(&l) != 1)
      fail_msg("life %d was not killed after %s", i + 1, calls[i]);
  }
  memset(&l, 0, sizeof(l));
  assert_int_equal(krun(&l), 0);
  /* Each of the repair's calls took effect once (the behind-the-back
   * stop, setMachineType and start are the other one each): a life
   * killed right after a call left its intent, and the next one observed
   * the VM's state; when the killed call's operation was still running,
   * so that the drift still showed, it sent the call again with the same
   * requestId, which made no second operation. */
  fprintf(stderr,
          "# simulator saw requests stop %u, setMachineType %u, start %u; "
          "operations %u, %u, %u\n",
          sim_requests("/stop"), sim_requests("/setMachineType"),
          sim_requests("/start"), sim_operations("stop"),
          sim_operations("setMachineType"), sim_operations("start"));
  assert_int_equal(sim_operations("stop"), 2);
  assert_int_equal(sim_operations("setMachineType"), 2);
  assert_int_equal(sim_operations("start"), 2);
  th_simproc_stop(&k_sp);
  th_rmtree(k_dir);
}

/*
 * The snapshot schedule's swap killed -9 right after each of its calls:
 * the new schedule made, the old one off the disk, the new one on it, the
 * old one deleted. Each next life resumes from what the cloud holds, and
 * the last ends READY with the tier's schedule alone on the disk and no
 * other schedule of the tenant's in the region (checked in that life:
 * check_tier_everywhere, check_converged).
 */
static void test_swap_kill(void **state)
{
  static const char *const calls[] = {
      "compute.resourcePolicies.insert", "compute.disks.removeResourcePolicies",
      "compute.disks.addResourcePolicies", "compute.resourcePolicies.delete"};
  const char *tmp = getenv("TMPDIR");
  klife l;

  (void)state;
  only_parent();
  snprintf(k_dir, sizeof(k_dir), "%s/edv-swap-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(k_dir));
  th_simproc_start(&k_sp, k_dir);
  memset(&l, 0, sizeof(l));
  l.first = 1;
  l.swap = "premium";
  assert_int_equal(krun(&l), 0);
  for (int i = 0; i < 4; i++) {
    memset(&l, 0, sizeof(l));
    l.swap = "premium";
    l.label = calls[i];
    if (krun(&l) != 1)
      fail_msg("life %d was not killed after %s", i + 1, calls[i]);
  }
  memset(&l, 0, sizeof(l));
  l.swap = "premium";
  assert_int_equal(krun(&l), 0);
  /* Each schedule went on the disk once (basic's at the create, then
   * premium's) and basic's came off once: a life killed after a call left
   * its intent, and the next observed the disk instead of calling again. */
  fprintf(stderr,
          "# simulator: addResourcePolicies %u, removeResourcePolicies "
          "%u operations\n",
          sim_operations("addResourcePolicies"),
          sim_operations("removeResourcePolicies"));
  assert_int_equal(sim_operations("addResourcePolicies"), 2);
  assert_int_equal(sim_operations("removeResourcePolicies"), 1);
  th_simproc_stop(&k_sp);
  th_rmtree(k_dir);
}

/* ---- reserved SQL name -------------------------------------------------- */

static void test_name(void **state)
{
  th h;
  edv_error err;
  stopper s;
  char sql[64], path[300];
  edv__tenant_rec rec;

  (void)state;
  only_parent();
  provision(&h, "n1", "basic");
  /* Delete the instance behind our back (lifting its deletion protection
   * first, as a person would have to): Cloud SQL keeps its name. */
  edv__name_sql_instance("n1", 1, sql, sizeof(sql));
  snprintf(path, sizeof(path), SQL "%s", sql);
  mutate(&h, EDV_API_SQLADMIN, "PATCH", path,
         "{\"settings\":{\"deletionProtectionEnabled\":false}}");
  mutate(&h, EDV_API_SQLADMIN, "DELETE", path, NULL);
  for (uint64_t end = th_now_ms() + 10000;;) {
    json_object *o = th_api(&h, EDV_API_SQLADMIN, "GET", path, NULL);
    if (!o)
      break;
    json_object_put(o);
    if (th_now_ms() > end)
      fail_msg("%s never went away", sql);
    uv_sleep(20);
  }
  /* The run goes as far as the new instance (the VM still serves the old
   * one, so its health would never come: that is not this test). */
  memset(&s, 0, sizeof(s));
  s.h = &h;
  s.step = "sql_instance";
  h.hook = stop_after;
  h.hook_data = &s;
  memset(h.ended, 0, sizeof(h.ended));
  assert_int_equal(th_drive(&h, "n1", EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  h.hook = NULL;
  assert_true(s.fired);
  /* The new instance is made under generation 2, and the reserved name
   * cost no backoff. */
  assert_int_equal(edv__store_tenant_get(h.store, "n1", &rec, NULL), 0);
  assert_int_equal(rec.generation, 2);
  assert_true(journal_has(&h, "n1", "is still reserved after a deletion") >= 1);
  /* The hook ran at the first refusal: no step retry in between. */
  assert_int_equal(journal_count(&h, "n1", "step.retry", "sql_instance", NULL),
                   0);
  th_close(&h);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest all[] = {
      cmocka_unit_test(test_repair),    cmocka_unit_test(test_resume),
      cmocka_unit_test(test_kill),      cmocka_unit_test(test_scale),
      cmocka_unit_test(test_name),      cmocka_unit_test(test_agree),
      cmocka_unit_test(test_swap_kill),
  };
  const char *only = argc > 1 ? argv[1] : NULL;

  g_parent = getpid();

  if (only) {
    for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
      if (strstr(all[i].name, only))
        return _cmocka_run_group_tests(only, &all[i], 1, NULL, NULL);
    fprintf(stderr, "unknown test '%s'\n", only);
    return 2;
  }
  return cmocka_run_group_tests(all, NULL, NULL);
}
