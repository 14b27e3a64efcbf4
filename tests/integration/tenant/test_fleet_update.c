/*
 * test_fleet_update.c - fleet updates (edv/fleet.h, "Fleet updates") on the
 * in-process simulator, through the public fleet API, each checked against
 * the store's records and the simulator's VMs:
 *   waves    12 tenants on release 1.0.0 moved to 1.1.0 in waves
 *            1,25%,100% (soak 1 s, 4 at a time): every tenant on 1.1.0 in
 *            its record and in its VM's label and metadata; each wave's
 *            tenants ended before any tenant of the next one started;
 *            refusals name the field; a rollback brings every tenant back
 *            to 1.0.0 (records and VMs).
 *   kill     `edvctl fleet update` (an edv-gcpsim child, 6 tenants, waves
 *            1,50%,100%) killed -9 four times at different instants, each
 *            time carried on by `fleet update resume` (or started again
 *            when it was killed before the update was recorded), until it
 *            ends: DONE, every tenant on 1.1.0 in the store (`tenant get`)
 *            and in its VM's metadata, exactly one VM each.
 *   pause    8 tenants one at a time: paused after the first, nothing more
 *            starts (the rest still on 1.0.0), resumed to DONE; then an
 *            update to 1.2.0 aborted after its first tenant: the rest stay
 *            on 1.1.0, and its rollback returns the updated one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "edv/fleet.h"
#include "pharness.h"
#include "tharness.h"

#define CP "/compute/v1/projects/edv-sim"

static th H;
static edv_config *Cfg;
static edv_fleet *F;

static int ji(json_object *o, const char *k)
{
  return json_object_get_int(json_object_object_get(o, k));
}

/* A release of a new image `img` (published in the simulator first). */
static void release(const char *version, const char *img)
{
  char body[400], wait[400];
  json_object *s, *op;
  ph_ans x = {0};
  edv_error err;

  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"rawDisk\":{\"source\":"
           "\"https://storage.googleapis.com/edv-images/%s.tar.gz\"}}",
           img, img);
  op = th_api(&H, EDV_API_COMPUTE, "POST", CP "/global/images",
              json_tokener_parse(body));
  assert_non_null(op);
  snprintf(wait, sizeof(wait), CP "/global/operations/%s/wait",
           ph_js(op, "name"));
  json_object_put(op);
  op = th_api(&H, EDV_API_COMPUTE, "POST", wait, NULL);
  assert_non_null(op);
  assert_string_equal(ph_js(op, "status"), "DONE");
  json_object_put(op);
  snprintf(body, sizeof(body), "{\"version\":\"%s\",\"image\":\"%s\"}", version,
           img);
  s = json_tokener_parse(body);
  assert_int_equal(edv_release_create(F, s, ph_on_ans, &x, &err), 0);
  json_object_put(s);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("release %s: %s", version, x.err.message);
  json_object_put(x.a);
}

/* n tenants "upNN" created at once, waited until READY. */
static void tenants(unsigned n)
{
  ph_ans x[16];
  edv_error err;

  assert_true(n <= 16);
  th_raise_quotas(&H, n);
  memset(x, 0, sizeof(x));
  for (unsigned i = 0; i < n; i++) {
    char spec[300];
    json_object *s;

    snprintf(spec, sizeof(spec),
             "{\"id\":\"up%02u\",\"slug\":\"up%02u-s\",\"display_name\":"
             "\"School %u\",\"tier\":\"basic\",\"region\":\"us-central1\"}",
             i, i, i);
    s = json_tokener_parse(spec);
    assert_int_equal(edv_tenant_create(F, s, 0, ph_on_ans, &x[i], &err), 0);
    json_object_put(s);
  }
  for (unsigned i = 0; i < n; i++) {
    ph_wait(&H.loop, &x[i]);
    if (!x[i].a)
      fail_msg("create up%02u: %s", i, x[i].err.message);
    assert_string_equal(ph_js(x[i].a, "phase"), "READY");
    json_object_put(x[i].a);
  }
}

/* Tenant `id` runs `version`: its record says so, and so do its VM's label
 * and metadata in the simulator. */
static void assert_on(const char *id, const char *version)
{
  char name[200], label[48];
  json_object *vm, *items;
  ph_ans x = {0};
  edv_error err;
  const char *meta = NULL, *lab;

  assert_int_equal(edv_tenant_get(F, id, 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  if (strcmp(ph_js(x.a, "release"), version) != 0)
    fail_msg("%s: the store says release %s, not %s", id, ph_js(x.a, "release"),
             version);
  /* The VM serving now (a release change replaces it: edv-ID-vm-N). */
  snprintf(name, sizeof(name),
           "projects/edv-sim/zones/us-central1-a/instances/%s",
           ph_js(json_object_object_get(x.a, "resources"), "vm"));
  json_object_put(x.a);
  snprintf(label, sizeof(label), "%s", version);
  for (char *p = label; *p; p++)
    if (*p == '.')
      *p = '_';
  vm = th_res(&H, name);
  assert_non_null(vm);
  /* The VM was made for the release: its label and its metadata (what the
   * app reads) name it. */
  lab = ph_js(json_object_object_get(vm, "labels"), "edv-release");
  if (!lab || strcmp(lab, label) != 0)
    fail_msg("%s: VM label edv-release %s, not %s", id, lab ? lab : "(none)",
             label);
  items =
      json_object_object_get(json_object_object_get(vm, "metadata"), "items");
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (strcmp(ph_js(it, "key"), "edv-release") == 0)
      meta = ph_js(it, "value");
  }
  if (!meta || strcmp(meta, version) != 0)
    fail_msg("%s: VM metadata edv-release %s, not %s", id,
             meta ? meta : "(none)", version);
  json_object_put(vm);
}

/* Starts an update; waits for it to stop unless ASYNC. NULL with *err
 * when refused. */
static json_object *start(const char *text, unsigned flags, edv_error *err)
{
  json_object *s = json_tokener_parse(text);
  ph_ans x = {0};
  int rc;

  assert_non_null(s);
  rc = edv_fleet_update_start(F, s, flags, ph_on_ans, &x, err);
  json_object_put(s);
  if (rc)
    return NULL;
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("update: %s", x.err.message);
  if (!(flags & EDV_FLEET_ASYNC) && strcmp(ph_js(x.a, "state"), "DONE") != 0)
    fprintf(stderr, "# %s\n", json_object_to_json_string(x.a));
  return x.a;
}

static json_object *act(const char *id, const char *action, unsigned flags)
{
  ph_ans x = {0};
  edv_error err;

  if (edv_fleet_update_act(F, id, action, flags, ph_on_ans, &x, &err))
    fail_msg("%s: %s", action, err.message);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("%s: %s", action, x.err.message);
  return x.a;
}

static json_object *get(const char *id)
{
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(edv_fleet_update_get(F, id, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  return x.a;
}

static int count(json_object *doc, const char *state)
{
  return ji(json_object_object_get(doc, "counts"), state);
}

/* Runs the loop until the update has `n` tenants DONE or SOAKING (n > 0),
 * or none UPDATING (n == 0). */
static void run_until(const char *id, int n)
{
  for (;;) {
    json_object *d = get(id);
    int ok = n > 0 ? count(d, "DONE") + count(d, "SOAKING") >= n
                   : count(d, "UPDATING") == 0;

    json_object_put(d);
    if (ok)
      return;
    uv_run(&H.loop, UV_RUN_ONCE);
  }
}

static void refused(const char *text, edv_code code, const char *needle)
{
  edv_error err;

  memset(&err, 0, sizeof(err));
  assert_null(start(text, 0, &err));
  assert_int_equal(err.code, code);
  if (!strstr(err.message, needle))
    fail_msg("'%s': '%s' does not name %s", text, err.message, needle);
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
  /* A new VM not HEALTHY within 8 s is rolled back (the fast profile's
   * VMs are healthy within a second or two). */
  assert_int_equal(edv_config_set(Cfg, "release.health_timeout_s", "8", &err),
                   0);
  th_platform(&H);
  memset(&fo, 0, sizeof(fo));
  fo.engine = H.engine;
  fo.config = Cfg;
  fo.state_dir = H.dir;
  fo.actor = "update-test";
  fo.poll_ms = 50;
  fo.retry_base_ms = 50;
  if (edv_fleet_open(&fo, &F, &err))
    fail_msg("fleet: %s", err.message);
  release("1.0.0", "edv-tenant-100");
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

/* From the update document: the latest end of wave w comes before the
 * earliest start of wave w + 1 (RFC 3339 UTC with milliseconds: ordered
 * as strings). */
static void assert_wave_order(json_object *doc)
{
  json_object *ts = json_object_object_get(doc, "tenants");
  int nw = ji(doc, "waves_total");

  for (int w = 1; w < nw; w++) {
    char last_end[40] = "", first_start[40] = "~";

    for (size_t i = 0; i < json_object_array_length(ts); i++) {
      json_object *t = json_object_array_get_idx(ts, i);
      if (ji(t, "wave") == w && strcmp(ph_js(t, "finished"), last_end) > 0)
        snprintf(last_end, sizeof(last_end), "%s", ph_js(t, "finished"));
      if (ji(t, "wave") == w + 1 &&
          strcmp(ph_js(t, "started"), first_start) < 0)
        snprintf(first_start, sizeof(first_start), "%s", ph_js(t, "started"));
    }
    if (!last_end[0] || strcmp(last_end, first_start) > 0)
      fail_msg("wave %d ended at %s, after wave %d started at %s", w, last_end,
               w + 1, first_start);
  }
}

/* ---- every tenant's hostname through the simulated load balancer ------*/

typedef struct lbprobe {
  uv_timer_t timer;
  unsigned n, inflight, sent, failed;
  char hosts[16][64];
} lbprobe;

static void on_lb(void *data, const edv_response *res)
{
  lbprobe *p = data;

  p->inflight--;
  if (res->http_status != 200)
    p->failed++;
}

/* Every 100 ms, a request to each tenant's hostname (one in flight per
 * round: a slow round is not piled on). */
static void lb_tick(uv_timer_t *t)
{
  lbprobe *p = t->data;
  char url[256];

  if (p->inflight)
    return;
  snprintf(url, sizeof(url), "%s/health", H.base);
  for (unsigned i = 0; i < p->n; i++) {
    const char *hdr[] = {p->hosts[i], NULL};
    edv_request req;

    memset(&req, 0, sizeof(req));
    req.api = EDV_API_OTHER;
    req.method = "GET";
    req.path = url;
    req.headers = hdr;
    req.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY;
    req.label = "school health";
    if (edv_call_submit(H.engine, &req, on_lb, p, NULL) == 0) {
      p->inflight++;
      p->sent++;
    }
  }
}

static void lb_start(lbprobe *p, unsigned n)
{
  memset(p, 0, sizeof(*p));
  p->n = n;
  for (unsigned i = 0; i < n; i++)
    snprintf(p->hosts[i], sizeof(p->hosts[i]), "Host: up%02u.edvirons.com", i);
  uv_timer_init(&H.loop, &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, lb_tick, 0, 100);
  /* Every hostname answers before anything changes. */
  while (p->sent < 2 * n || p->inflight)
    uv_run(&H.loop, UV_RUN_ONCE);
  assert_int_equal(p->failed, 0);
}

static void lb_stop(lbprobe *p, const char *what)
{
  uv_timer_stop(&p->timer);
  while (p->inflight)
    uv_run(&H.loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&p->timer, NULL);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  print_message("# %s: %u requests to the %u tenants' hostnames through the "
                "load balancer (every 100 ms), %u failed\n",
                what, p->sent, p->n, p->failed);
}

static void test_waves(void **state)
{
  lbprobe lb;
  json_object *d, *w;
  ph_ans x = {0};
  edv_error err;
  char id[40], tn[8];

  (void)state;
  tenants(12);
  release("1.1.0", "edv-tenant-110");
  /* Refusals name the field; nothing is recorded. */
  refused("{\"release\":\"9.9.9\"}", EDV_EINVAL, "field 'release'");
  refused("{\"release\":\"1.1.0\",\"waves\":\"1,50%,10%\"}", EDV_EINVAL,
          "field 'waves'");
  refused("{\"release\":\"1.1.0\",\"waves\":\"0\"}", EDV_EINVAL,
          "field 'waves'");
  refused("{\"release\":\"1.1.0\",\"max_parallel\":0}", EDV_EINVAL,
          "field 'max_parallel'");
  refused("{\"release\":\"1.1.0\",\"soak_s\":\"x\"}", EDV_EINVAL,
          "field 'soak_s'");
  refused("{\"release\":\"1.1.0\",\"tiers\":[\"gold\"]}", EDV_EINVAL,
          "field 'tiers'");
  refused("{\"release\":\"1.1.0\",\"colour\":1}", EDV_EINVAL, "field 'colour'");
  refused("{\"release\":\"1.0.0\"}", EDV_EPRECONDITION, "1.0.0");
  assert_int_equal(edv_fleet_update_get(F, NULL, ph_on_ans, &x, &err),
                   EDV_ENOTFOUND);
  /* Every tenant's hostname requested every 100 ms meanwhile: the VMs
   * are replaced with no failed request. */
  lb_start(&lb, 12);
  d = start("{\"release\":\"1.1.0\",\"waves\":\"1,25%,100%\",\"soak_s\":1,"
            "\"max_parallel\":4}",
            0, NULL);
  assert_string_equal(ph_js(d, "state"), "DONE");
  assert_int_equal(count(d, "DONE"), 12);
  assert_int_equal(ji(d, "waves_total"), 3);
  w = json_object_object_get(d, "per_wave");
  assert_int_equal(ji(json_object_array_get_idx(w, 0), "tenants"), 1);
  assert_int_equal(ji(json_object_array_get_idx(w, 1), "tenants"), 2);
  assert_int_equal(ji(json_object_array_get_idx(w, 2), "tenants"), 9);
  assert_wave_order(d);
  snprintf(id, sizeof(id), "%s", ph_js(d, "id"));
  json_object_put(d);
  for (unsigned i = 0; i < 12; i++) {
    snprintf(tn, sizeof(tn), "up%02u", i);
    assert_on(tn, "1.1.0");
  }
  /* Rollback: every tenant back on 1.0.0. */
  d = act(NULL, "rollback", 0);
  assert_string_equal(ph_js(d, "id"), id);
  assert_string_equal(ph_js(d, "state"), "ROLLED_BACK");
  assert_int_equal(count(d, "ROLLED_BACK"), 12);
  json_object_put(d);
  for (unsigned i = 0; i < 12; i++) {
    snprintf(tn, sizeof(tn), "up%02u", i);
    assert_on(tn, "1.0.0");
  }
  lb_stop(&lb, "update and rollback");
  assert_int_equal(lb.failed, 0);
  assert_true(lb.sent > 12 * 10);
}

/* A release whose VMs never become HEALTHY (the simulator's unhealthyImage
 * fault): the canary's new VM is rolled back, the update halts after the
 * canary wave (max_failures 0), and every tenant stays on its old VM and
 * release, serving. */
static void test_canary(void **state)
{
  lbprobe lb;
  json_object *d, *f, *st;
  char tn[8], needle[64];

  (void)state;
  tenants(4);
  release("1.2.0", "edv-tenant-bad");
  f = th_admin(&H, "POST", "/_sim/faults",
               json_tokener_parse("{\"unhealthyImage\":\"edv-tenant-bad\"}"));
  assert_non_null(f);
  json_object_put(f);
  lb_start(&lb, 4);
  d = start("{\"release\":\"1.2.0\",\"waves\":\"1,100%\",\"soak_s\":1,"
            "\"max_parallel\":4,\"max_failures\":0}",
            0, NULL);
  assert_string_equal(ph_js(d, "state"), "HALTED");
  assert_int_equal(count(d, "FAILED"), 1);
  assert_int_equal(count(d, "PENDING"), 3);
  assert_int_equal(count(d, "DONE"), 0);
  json_object_put(d);
  lb_stop(&lb, "a release that never becomes healthy");
  assert_int_equal(lb.failed, 0);
  st = th_state_all(&H);
  for (unsigned i = 0; i < 4; i++) {
    snprintf(tn, sizeof(tn), "up%02u", i);
    assert_on(tn, "1.0.0");
    /* One VM each: the canary's new one is gone. */
    snprintf(needle, sizeof(needle), "/instances/edv-%s-vm", tn);
    assert_int_equal(th_count_names(st, needle, NULL), 1);
  }
  json_object_put(st);
}

static void test_pause(void **state)
{
  json_object *d;
  edv_error err;
  char id[40], tn[8];
  int done;

  (void)state;
  tenants(8);
  release("1.1.0", "edv-tenant-110");
  d = start("{\"release\":\"1.1.0\",\"waves\":\"100%\",\"soak_s\":0,"
            "\"max_parallel\":1}",
            EDV_FLEET_ASYNC, &err);
  assert_non_null(d);
  assert_string_equal(ph_js(d, "state"), "RUNNING");
  snprintf(id, sizeof(id), "%s", ph_js(d, "id"));
  json_object_put(d);
  /* Another update while this one runs: refused, naming it. */
  refused("{\"release\":\"1.1.0\"}", EDV_ECONFLICT, id);
  run_until(id, 1);
  d = act(id, "pause", 0);
  assert_string_equal(ph_js(d, "state"), "PAUSED");
  json_object_put(d);
  run_until(id, 0);
  /* Nothing starts while paused. */
  for (int i = 0; i < 20; i++)
    uv_run(&H.loop, UV_RUN_NOWAIT);
  d = get(id);
  assert_string_equal(ph_js(d, "state"), "PAUSED");
  done = count(d, "DONE") + count(d, "SOAKING");
  assert_true(done >= 1 && done < 8);
  assert_int_equal(count(d, "PENDING"), 8 - done);
  json_object_put(d);
  assert_on("up07", "1.0.0");
  d = act(id, "resume", 0);
  assert_string_equal(ph_js(d, "state"), "DONE");
  assert_int_equal(count(d, "DONE"), 8);
  json_object_put(d);
  for (unsigned i = 0; i < 8; i++) {
    snprintf(tn, sizeof(tn), "up%02u", i);
    assert_on(tn, "1.1.0");
  }
  /* Abort after the first tenant of the next update. */
  release("1.2.0", "edv-tenant-120");
  d = start("{\"release\":\"1.2.0\",\"waves\":\"100%\",\"soak_s\":0,"
            "\"max_parallel\":1}",
            EDV_FLEET_ASYNC, &err);
  assert_non_null(d);
  snprintf(id, sizeof(id), "%s", ph_js(d, "id"));
  json_object_put(d);
  run_until(id, 1);
  d = act(id, "abort", 0);
  assert_string_equal(ph_js(d, "state"), "ABORTED");
  json_object_put(d);
  run_until(id, 0);
  d = get(id);
  assert_string_equal(ph_js(d, "state"), "ABORTED");
  done = count(d, "DONE") + count(d, "SOAKING");
  assert_true(done >= 1 && done < 8);
  json_object_put(d);
  assert_on("up00", "1.2.0");
  assert_on("up07", "1.1.0");
  d = act(id, "rollback", 0);
  assert_string_equal(ph_js(d, "state"), "ROLLED_BACK");
  assert_int_equal(count(d, "ROLLED_BACK"), done);
  assert_int_equal(count(d, "PENDING"), 8 - done); /* never touched */
  json_object_put(d);
  for (unsigned i = 0; i < 8; i++) {
    snprintf(tn, sizeof(tn), "up%02u", i);
    assert_on(tn, "1.1.0");
  }
  /* An unknown action names the field. */
  assert_int_equal(
      edv_fleet_update_act(F, id, "explode", 0, ph_on_ans, NULL, &err),
      EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'action'"));
}

/* ---- kill -9 of edvctl ------------------------------------------------*/

static char Kdir[256];
static th_simproc Ksp = {-1, "", ""};

static int ctl(unsigned kill_ms, char *out, size_t outsize,
               const char *const *args)
{
  char err[4096] = "";
  int rc = th_edvctl(&Ksp, Kdir, kill_ms, SIGKILL, out, outsize, err,
                     sizeof(err), args);

  if (rc != 0 && rc != -SIGKILL)
    print_message("# edvctl %s %s %s (kill after %u ms): rc %d: %s\n", args[0],
                  args[1], args[2] ? args[2] : "", kill_ms, rc, err);
  return rc;
}

static void ctl_ok(const char *const *args)
{
  if (ctl(0, NULL, 0, args) != 0)
    fail_msg("edvctl %s %s failed", args[0], args[1]);
}

/* How many lives in a row changed nothing, from the update's status `out`
 * (`recorded` 0: none yet): progress is a tenant leaving PENDING or
 * reaching DONE or ROLLED_BACK, or the update's state changing. */
static unsigned stalled(const char *out, int recorded)
{
  static int last = -1;
  static unsigned n;
  json_object *doc = recorded ? json_tokener_parse(out) : NULL;
  int p = 0;

  if (doc) {
    p = 6 - count(doc, "PENDING") + count(doc, "DONE") +
        count(doc, "ROLLED_BACK") + count(doc, "SOAKING");
    p = p * 16 + (int)(ph_js(doc, "state") ? ph_js(doc, "state")[0] : 0);
    json_object_put(doc);
  }
  n = p == last ? n + 1 : 0;
  last = p;
  return n;
}

/* The store (through edvctl) and the cloud: each of the kill test's six
 * tenants on `version`, with exactly one VM, the one its record names, made
 * for that release. */
static void assert_all_on(const char *version)
{
  char out[65536];
  th h;
  th_opts o;

  th_simproc_opts(&Ksp, Kdir, &o);
  th_open(&h, &o);
  for (unsigned i = 0; i < 6; i++) {
    char id[8], name[200];
    const char *get[] = {"tenant", "get", id, "--format", "json", NULL};
    json_object *doc, *vm, *items, *st;
    const char *meta = NULL;

    snprintf(id, sizeof(id), "uk%02u", i);
    assert_int_equal(ctl(0, out, sizeof(out), get), 0);
    doc = json_tokener_parse(out);
    assert_non_null(doc);
    assert_string_equal(ph_js(doc, "release"), version);
    snprintf(name, sizeof(name),
             "projects/edv-sim/zones/us-central1-a/instances/%s",
             ph_js(json_object_object_get(doc, "resources"), "vm"));
    json_object_put(doc);
    vm = th_res(&h, name);
    assert_non_null(vm);
    items =
        json_object_object_get(json_object_object_get(vm, "metadata"), "items");
    for (size_t j = 0; j < json_object_array_length(items); j++)
      if (strcmp(ph_js(json_object_array_get_idx(items, j), "key"),
                 "edv-release") == 0)
        meta = ph_js(json_object_array_get_idx(items, j), "value");
    assert_non_null(meta);
    assert_string_equal(meta, version);
    json_object_put(vm);
    snprintf(name, sizeof(name), "/instances/edv-%s-vm", id);
    st = th_state_all(&h);
    if (th_count_names(st, name, NULL) != 1)
      fail_msg("%s: %u VMs", id, th_count_names(st, name, NULL));
    json_object_put(st);
  }
  th_close(&h);
}

static void test_kill(void **state)
{
  static const char *const platform[] = {"platform", "init", NULL};
  static const char *const img100[] = {
      "api",
      "POST",
      CP "/global/images",
      "--wait",
      "--data",
      "{\"name\":\"edv-tenant-100\",\"rawDisk\":{\"source\":"
      "\"https://storage.googleapis.com/edv-images/t100.tar.gz\"}}",
      NULL};
  static const char *const img110[] = {
      "api",
      "POST",
      CP "/global/images",
      "--wait",
      "--data",
      "{\"name\":\"edv-tenant-110\",\"rawDisk\":{\"source\":"
      "\"https://storage.googleapis.com/edv-images/t110.tar.gz\"}}",
      NULL};
  static const char *const rel100[] = {"release", "create",         "1.0.0",
                                       "--image", "edv-tenant-100", NULL};
  static const char *const rel110[] = {"release", "create",         "1.1.0",
                                       "--image", "edv-tenant-110", NULL};
  /* --tier repeated: both tiers (the six are basic; were only the last
   * kept, no tenant would be selected). */
  static const char *const start[] = {
      "fleet",      "update", "--release", "1.1.0",          "--waves",
      "1,50%,100%", "--soak", "0",         "--max-parallel", "1",
      "--tier",     "basic",  "--tier",    "standard",       NULL};
  static const char *const resume[] = {"fleet", "update", "resume", NULL};
  static const char *const status[] = {"fleet",    "update", "status",
                                       "--format", "json",   NULL};
  static const char *const rollback[] = {"fleet", "update", "rollback", NULL};
  /* Instants over each life (a wave runs 2 tenants at a time: the new VMs
   * made, their health awaited, the old ones drained and deleted). */
  static const unsigned kills[] = {60,  250, 90,  300, 120,
                                   200, 70,  160, 50,  100};
  const char *tmp = getenv("TMPDIR");
  char out[65536];
  json_object *doc;
  unsigned nkills = 0;
  int rc;

  (void)state;
  snprintf(Kdir, sizeof(Kdir), "%s/edv-upd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(Kdir));
  th_simproc_start(&Ksp, Kdir);
  ctl_ok(platform);
  ctl_ok(img100);
  ctl_ok(img110);
  ctl_ok(rel100);
  for (unsigned i = 0; i < 6; i++) {
    char id[8], slug[12];
    const char *create[] = {"tenant",      "create",    id,
                            slug,          "School",    "basic",
                            "us-central1", "--no-wait", NULL};
    snprintf(id, sizeof(id), "uk%02u", i);
    snprintf(slug, sizeof(slug), "uk%02u-s", i);
    ctl_ok(create);
  }
  {
    static const char *const all[] = {"tenant", "resume", "--all", NULL};
    ctl_ok(all);
  }
  ctl_ok(rel110);
  /* Killed again and again until it is DONE (at least 10 times, 20 with
   * the rollback's below; short lives die anywhere from edvctl's start to
   * a swap's calls, longer ones carry a tenant or two on); each
   * next life resumes (or starts, when the update was not recorded yet). */
  for (unsigned k = 0;; k++) {
    const char *state_now = NULL;
    int recorded = ctl(0, out, sizeof(out), status) == 0;

    doc = recorded ? json_tokener_parse(out) : NULL;
    state_now = doc ? ph_js(doc, "state") : NULL;
    if (state_now && strcmp(state_now, "DONE") == 0) {
      json_object_put(doc);
      break;
    }
    json_object_put(doc);
    /* A life that changed nothing makes the next one longer (a slow build,
     * ASan, starts edvctl slowly: short lives would all die before doing
     * anything); past 40 lives, one that is not killed finishes it. */
    assert_true(k <= 40);
    rc = ctl(k < 40 ? kills[k % 10] + 40 * stalled(out, recorded) : 0, NULL, 0,
             recorded ? resume : start);
    assert_true(rc == -SIGKILL || rc == 0);
    nkills += rc == -SIGKILL;
  }
  print_message("# fleet update: %u kill -9s\n", nkills);
  assert_true(nkills >= 10);
  assert_int_equal(ctl(0, out, sizeof(out), status), 0);
  doc = json_tokener_parse(out);
  assert_non_null(doc);
  assert_string_equal(ph_js(doc, "state"), "DONE");
  assert_int_equal(count(doc, "DONE"), 6);
  assert_wave_order(doc);
  json_object_put(doc);
  assert_all_on("1.1.0");
  /* The rollback, killed until it is ROLLED_BACK (at least 6 times):
   * each tenant back on 1.0.0 (a VM of the next generation), one VM each. */
  for (unsigned k = 0, r0 = nkills;; k++) {
    const char *state_now;
    int asked;

    assert_int_equal(ctl(0, out, sizeof(out), status), 0);
    doc = json_tokener_parse(out);
    state_now = doc ? ph_js(doc, "state") : NULL;
    if (state_now && strcmp(state_now, "ROLLED_BACK") == 0) {
      json_object_put(doc);
      print_message("# rollback: %u kill -9s\n", nkills - r0);
      assert_true(nkills - r0 >= 6);
      assert_true(nkills >= 20);
      break;
    }
    /* Still DONE: the rollback was killed before it was recorded. */
    asked = state_now && strcmp(state_now, "DONE") != 0;
    json_object_put(doc);
    assert_true(k <= 40);
    rc = ctl(k < 40 ? kills[k % 10] + 40 * stalled(out, 1) : 0, NULL, 0,
             asked ? resume : rollback);
    assert_true(rc == -SIGKILL || rc == 0);
    nkills += rc == -SIGKILL;
  }
  assert_int_equal(ctl(0, out, sizeof(out), status), 0);
  doc = json_tokener_parse(out);
  assert_non_null(doc);
  assert_int_equal(count(doc, "ROLLED_BACK"), 6);
  json_object_put(doc);
  assert_all_on("1.0.0");
}

/* The simulator child goes whatever happened (a failed assertion would
 * leave it running, and the test waiting on its output). */
static int kill_teardown(void **state)
{
  (void)state;
  if (Ksp.pid > 0)
    th_simproc_stop(&Ksp);
  th_rmtree(Kdir);
  return 0;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest all[] = {
      cmocka_unit_test_setup_teardown(test_waves, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pause, setup, teardown),
      cmocka_unit_test_setup_teardown(test_canary, setup, teardown),
      cmocka_unit_test_teardown(test_kill, kill_teardown),
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
