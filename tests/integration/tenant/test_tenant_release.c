/*
 * test_tenant_release.c - a tenant's release change (edv_tenant_set_release,
 * tenant/vmswap.h) on the in-process simulator, through the public fleet
 * API, each checked against the simulator's state:
 *   - swap: of three tenants, one goes to a new release while its
 *     hostname is requested through the simulated load balancer every
 *     20 ms: no request fails; its VM is the next generation, booted from
 *     the new image, with the old one's labels and metadata (tier, the
 *     new edv-release), alone in its instance group, the snapshot schedule
 *     on its new disk; the old VM and disk are gone; the neighbours are
 *     untouched; the plan says in sync; the document says the new release;
 *   - refusals: an unknown version and the version it runs, naming the
 *     field; nothing recorded;
 *   - state rebuild: the swapped tenant's release and VM (its generation)
 *     are read back; its plan is in sync and its document names the VM;
 *   - unhealthy: a release whose image the simulator keeps unhealthy
 *     (fault unhealthyImage) is rolled back: the error names the release
 *     and the health state, the tenant keeps its old VM (alone in the
 *     group) and release, the new VM and disk are gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "edv/fleet.h"
#include "edv/sim.h"
#include "pharness.h"
#include "tharness.h"

#define CP   "/compute/v1/projects/edv-sim"
#define ZONE "projects/edv-sim/zones/us-central1-a/"

static th H;
static edv_config *Cfg;
static edv_fleet *F;

/* A Compute call that starts a global operation, waited for. */
static void compute_op(const char *method, const char *path, const char *body)
{
  json_object *op = th_api(&H, EDV_API_COMPUTE, method, path,
                           body ? json_tokener_parse(body) : NULL);
  char wait[400];

  assert_non_null(op);
  snprintf(wait, sizeof(wait), CP "/global/operations/%s/wait",
           ph_js(op, "name"));
  json_object_put(op);
  op = th_api(&H, EDV_API_COMPUTE, "POST", wait, NULL);
  assert_non_null(op);
  assert_string_equal(ph_js(op, "status"), "DONE");
  json_object_put(op);
}

/* Image `name` published and release `version` of it recorded. */
static void release(const char *version, const char *name)
{
  char body[400];
  json_object *s, *r;
  ph_ans x = {0};
  edv_error err;

  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"rawDisk\":{\"source\":"
           "\"https://storage.googleapis.com/edv-images/%s.tar.gz\"}}",
           name, name);
  compute_op("POST", CP "/global/images", body);
  snprintf(body, sizeof(body), "{\"version\":\"%s\",\"image\":\"%s\"}", version,
           name);
  s = json_tokener_parse(body);
  assert_int_equal(edv_release_create(F, s, ph_on_ans, &x, &err), 0);
  json_object_put(s);
  ph_wait(&H.loop, &x);
  r = x.a;
  if (!r)
    fail_msg("release %s: %s", version, x.err.message);
  json_object_put(r);
}

static void tenant_create(const char *id)
{
  char spec[300];
  json_object *s;
  ph_ans x = {0};
  edv_error err;

  snprintf(spec, sizeof(spec),
           "{\"id\":\"%s\",\"slug\":\"%s-s\",\"display_name\":\"School %s\","
           "\"tier\":\"basic\",\"region\":\"us-central1\"}",
           id, id, id);
  s = json_tokener_parse(spec);
  assert_int_equal(edv_tenant_create(F, s, 0, ph_on_ans, &x, &err), 0);
  json_object_put(s);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("create %s: %s", id, x.err.message);
  json_object_put(x.a);
}

static json_object *tenant_get(const char *id)
{
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(edv_tenant_get(F, id, 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  return x.a;
}

/* The simulator's resource ZONE + `kind`/`name`, or NULL. */
static json_object *zres(const char *kind, const char *name)
{
  char full[256];

  snprintf(full, sizeof(full), ZONE "%s/%s", kind, name);
  return th_res(&H, full);
}

static const char *meta(json_object *vm, const char *key)
{
  json_object *items =
      json_object_object_get(json_object_object_get(vm, "metadata"), "items");

  for (size_t i = 0; items && i < json_object_array_length(items); i++)
    if (strcmp(ph_js(json_object_array_get_idx(items, i), "key"), key) == 0)
      return ph_js(json_object_array_get_idx(items, i), "value");
  return NULL;
}

/* The VM names in tenant `id`'s instance group, comma-separated. */
static void members(const char *id, char *buf, size_t size)
{
  char path[256];
  json_object *r, *items;

  snprintf(path, sizeof(path),
           CP "/zones/us-central1-a/instanceGroups/edv-%s-ig/listInstances",
           id);
  r = th_api(&H, EDV_API_COMPUTE, "POST", path, json_object_new_object());
  assert_non_null(r);
  buf[0] = '\0';
  items = json_object_object_get(r, "items");
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    const char *inst = ph_js(json_object_array_get_idx(items, i), "instance");
    const char *last = strrchr(inst, '/');
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s%s", n ? "," : "", last ? last + 1 : inst);
  }
  json_object_put(r);
}

/* The VM of tenant `id` named `vm` runs release `label` from an image
 * whose name ends `image`, carries the tier's label and metadata, and is
 * the only member of its group. */
static void assert_serving(const char *id, const char *vm, const char *disk,
                           const char *label, const char *version,
                           const char *image)
{
  json_object *o, *labels;
  char buf[256];
  const char *src;

  o = zres("instances", vm);
  if (!o)
    fail_msg("%s: no VM %s", id, vm);
  labels = json_object_object_get(o, "labels");
  assert_string_equal(ph_js(labels, "edv-release"), label);
  assert_string_equal(ph_js(labels, "edv-tier"), "basic");
  assert_string_equal(ph_js(labels, "edv-tenant"), id);
  assert_string_equal(meta(o, "edv-release"), version);
  assert_string_equal(meta(o, "edv-tier"), "basic");
  assert_non_null(meta(o, "edv-max-users"));
  assert_non_null(meta(o, "startup-script"));
  assert_string_equal(meta(o, "edv-tenant"), id);
  json_object_put(o);
  o = zres("disks", disk);
  assert_non_null(o);
  src = ph_js(o, "sourceImage");
  assert_non_null(src);
  if (strlen(src) < strlen(image) ||
      strcmp(src + strlen(src) - strlen(image), image) != 0)
    fail_msg("%s boots %s, not ...%s", disk, src, image);
  json_object_put(o);
  members(id, buf, sizeof(buf));
  assert_string_equal(buf, vm);
}

static int setup(void **state)
{
  const char *src = getenv("EDV_SOURCE_ROOT");
  edv_fleet_options fo;
  th_opts o;
  edv_error err;
  char tf[600];

  (void)state;
  memset(&o, 0, sizeof(o));
  th_open(&H, &o);
  Cfg = edv_config_new();
  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  assert_int_equal(edv_config_set(Cfg, "tiers_file", tf, &err), 0);
  assert_int_equal(edv_config_set(Cfg, "release.health_timeout_s", "2", &err),
                   0);
  th_platform(&H);
  memset(&fo, 0, sizeof(fo));
  fo.engine = H.engine;
  fo.config = Cfg;
  fo.state_dir = H.dir;
  fo.actor = "release-test";
  fo.poll_ms = 50;
  fo.retry_base_ms = 50;
  if (edv_fleet_open(&fo, &F, &err))
    fail_msg("fleet: %s", err.message);
  release("1.0.0", "edv-app-1");
  tenant_create("rc1");
  tenant_create("rc2");
  tenant_create("rc3");
  release("2.0.0", "edv-app-2");
  release("3.0.0", "edv-app-bad");
  return 0;
}

static int teardown(void **state)
{
  ph_ans x = {0};

  (void)state;
  edv_fleet_close(F, ph_on_closed, &x);
  ph_wait(&H.loop, &x);
  th_close(&H);
  edv_config_free(Cfg);
  return 0;
}

/* ---- the hostname through the simulated load balancer ---------------- */

typedef struct probe {
  uv_timer_t timer;
  unsigned inflight, sent, failed, by_new;
  char host[96];
  char new_vm[64];
} probe;

static void on_probe(void *data, const edv_response *res)
{
  probe *p = data;

  p->inflight--;
  if (res->http_status != 200)
    p->failed++;
  else if (res->json && ph_js(res->json, "instance") &&
           strstr(ph_js(res->json, "instance"), p->new_vm))
    p->by_new++;
}

static void probe_tick(uv_timer_t *t)
{
  probe *p = t->data;
  const char *hdr[] = {p->host, NULL};
  edv_request req;
  char url[256];

  if (p->inflight)
    return;
  snprintf(url, sizeof(url), "%s/health", edv_sim_base_url(H.sim));
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_OTHER;
  req.method = "GET";
  req.path = url;
  req.headers = hdr;
  req.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY;
  req.label = "school health";
  if (edv_call_submit(H.engine, &req, on_probe, p, NULL) == 0) {
    p->inflight++;
    p->sent++;
  }
}

/* ---- the tests ------------------------------------------------------------*/

static void test_swap(void **state)
{
  probe p;
  ph_ans x = {0};
  edv_error err;
  json_object *t, *o, *pols;
  int attached = 0;
  th_counts c0;
  uint64_t t0;
  unsigned s0;

  (void)state;
  memset(&p, 0, sizeof(p));
  snprintf(p.host, sizeof(p.host), "Host: rc2.edvirons.com");
  snprintf(p.new_vm, sizeof(p.new_vm), "edv-rc2-vm-1");
  uv_timer_init(&H.loop, &p.timer);
  p.timer.data = &p;
  uv_timer_start(&p.timer, probe_tick, 0, 20);
  while (p.sent < 3)
    uv_run(&H.loop, UV_RUN_ONCE);
  assert_int_equal(p.failed, 0);
  c0 = H.counts;
  t0 = th_now_ms();
  s0 = p.sent;
  assert_int_equal(
      edv_tenant_set_release(F, "rc2", "2.0.0", 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  /* A figure, not a check: what one release change costs. */
  print_message("# release change: %llu ms, %lu API calls (%lu mutating, "
                "%lu operation polls; the %u probes meanwhile excluded)\n",
                (unsigned long long)(th_now_ms() - t0),
                H.counts.total - c0.total - (p.sent - s0),
                H.counts.mutations - c0.mutations, H.counts.polls - c0.polls,
                p.sent - s0);
  if (!x.a)
    fail_msg("set release: %s", x.err.message);
  assert_string_equal(ph_js(x.a, "release"), "2.0.0");
  assert_string_equal(ph_js(x.a, "phase"), "READY");
  json_object_put(x.a);
  /* A few more requests, now served by the new VM. */
  {
    unsigned until = p.sent + 5;
    while (p.sent < until || p.inflight)
      uv_run(&H.loop, UV_RUN_ONCE);
  }
  uv_timer_stop(&p.timer);
  uv_close((uv_handle_t *)&p.timer, NULL);
  print_message("# %u requests through the load balancer, %u failed, %u "
                "served by the new VM\n",
                p.sent, p.failed, p.by_new);
  assert_int_equal(p.failed, 0);
  assert_true(p.by_new >= 5);
  /* The simulator: the new generation serves, alone. */
  assert_serving("rc2", "edv-rc2-vm-1", "edv-rc2-boot-1", "2_0_0", "2.0.0",
                 "/edv-app-2");
  assert_null(zres("instances", "edv-rc2-vm"));
  assert_null(zres("disks", "edv-rc2-boot"));
  o = zres("disks", "edv-rc2-boot-1");
  pols = json_object_object_get(o, "resourcePolicies");
  for (size_t i = 0; pols && i < json_object_array_length(pols); i++)
    attached |=
        strstr(json_object_get_string(json_object_array_get_idx(pols, i)),
               "edv-rc2-snap") != NULL;
  assert_true(attached);
  json_object_put(o);
  /* The neighbours: untouched. */
  assert_serving("rc1", "edv-rc1-vm", "edv-rc1-boot", "1_0_0", "1.0.0",
                 "/edv-app-1");
  assert_serving("rc3", "edv-rc3-vm", "edv-rc3-boot", "1_0_0", "1.0.0",
                 "/edv-app-1");
  /* The plan follows the new VM: nothing to change. */
  memset(&x, 0, sizeof(x));
  assert_int_equal(edv_tenant_plan(F, "rc2", ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  if (!json_object_get_boolean(json_object_object_get(x.a, "in_sync")))
    fail_msg("plan: %s", json_object_to_json_string(x.a));
  json_object_put(x.a);
  t = tenant_get("rc2");
  assert_string_equal(ph_js(t, "release"), "2.0.0");
  json_object_put(t);
}

static void test_refusals(void **state)
{
  ph_ans x = {0};
  edv_error err;

  (void)state;
  assert_int_equal(
      edv_tenant_set_release(F, "rc1", "9.9.9", 0, ph_on_ans, &x, &err),
      EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'release'"));
  assert_int_equal(
      edv_tenant_set_release(F, "rc1", "1.0.0", 0, ph_on_ans, &x, &err),
      EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'release'"));
  assert_int_equal(
      edv_tenant_set_release(F, "nope", "2.0.0", 0, ph_on_ans, &x, &err),
      EDV_ENOTFOUND);
  assert_false(x.done);
  assert_serving("rc1", "edv-rc1-vm", "edv-rc1-boot", "1_0_0", "1.0.0",
                 "/edv-app-1");
}

/* The plan of `id` on fleet `f` is in sync. */
static void assert_in_sync(edv_fleet *f, const char *id)
{
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(edv_tenant_plan(f, id, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  if (!json_object_get_boolean(json_object_object_get(x.a, "in_sync")))
    fail_msg("plan: %s", json_object_to_json_string(x.a));
  json_object_put(x.a);
}

static void test_rebuild(void **state)
{
  char dir[300];
  edv_fleet_options fo;
  edv_fleet *f, *keep = F;
  ph_ans x = {0};
  edv_error err;
  json_object *t;

  (void)state;
  snprintf(dir, sizeof(dir), "%s/rebuilt", H.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  memset(&fo, 0, sizeof(fo));
  fo.engine = H.engine;
  fo.config = Cfg;
  fo.state_dir = dir;
  fo.actor = "release-test";
  fo.poll_ms = 50;
  assert_int_equal(edv_fleet_open(&fo, &f, &err), 0);
  assert_int_equal(edv_fleet_state_rebuild(f, 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("rebuild: %s", x.err.message);
  json_object_put(x.a);
  F = f;
  t = tenant_get("rc2");
  assert_string_equal(ph_js(t, "release"), "2.0.0");
  assert_string_equal(ph_js(json_object_object_get(t, "resources"), "vm"),
                      "edv-rc2-vm-1");
  json_object_put(t);
  assert_in_sync(f, "rc2");
  assert_in_sync(f, "rc1");
  F = keep;
  memset(&x, 0, sizeof(x));
  edv_fleet_close(f, ph_on_closed, &x);
  ph_wait(&H.loop, &x);
}

static void test_unhealthy(void **state)
{
  ph_ans x = {0};
  edv_error err;
  json_object *f, *t;

  (void)state;
  f = th_admin(&H, "POST", "/_sim/faults",
               json_tokener_parse("{\"unhealthyImage\":\"edv-app-bad\"}"));
  assert_non_null(f);
  json_object_put(f);
  assert_int_equal(
      edv_tenant_set_release(F, "rc3", "3.0.0", 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_null(x.a);
  assert_int_equal(x.err.code, EDV_EOPFAILED);
  print_message("# %s\n", x.err.message);
  assert_non_null(strstr(x.err.message, "release 3.0.0"));
  assert_non_null(strstr(x.err.message, "UNHEALTHY"));
  assert_non_null(strstr(x.err.message, "rolled back"));
  /* The old VM serves, alone; the new one and its disk are gone. */
  assert_serving("rc3", "edv-rc3-vm", "edv-rc3-boot", "1_0_0", "1.0.0",
                 "/edv-app-1");
  assert_null(zres("instances", "edv-rc3-vm-1"));
  assert_null(zres("disks", "edv-rc3-boot-1"));
  t = tenant_get("rc3");
  assert_string_equal(ph_js(t, "release"), "1.0.0");
  json_object_put(t);
  f = th_admin(&H, "DELETE", "/_sim/faults", NULL);
  json_object_put(f);
  /* FAILED with the message; a retry finds it as it was: READY. */
  t = tenant_get("rc3");
  assert_string_equal(ph_js(t, "phase"), "FAILED");
  json_object_put(t);
  memset(&x, 0, sizeof(x));
  assert_int_equal(edv_tenant_retry(F, "rc3", 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  assert_string_equal(ph_js(x.a, "phase"), "READY");
  assert_string_equal(ph_js(x.a, "release"), "1.0.0");
  json_object_put(x.a);
  assert_serving("rc3", "edv-rc3-vm", "edv-rc3-boot", "1_0_0", "1.0.0",
                 "/edv-app-1");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_swap),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_rebuild),
      cmocka_unit_test(test_unhealthy),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
