/*
 * test_tenant_release_crash.c - kill -9 the process driving a tenant's
 * release change (tenant/vmswap.h) at every point of it, against an
 * edv-gcpsim child process, and check in the SIMULATOR's state that each
 * change ends with exactly one VM of the tenant, alone in its instance
 * group, of the expected release: the new one when it became HEALTHY,
 * the old one when it never does (an unhealthyImage fault).
 *
 * Each "life" is a forked child running the fleet through tharness; it
 * raises SIGKILL on the N-th event of the vm_release step (its start, an
 * info line before an act, a completed call), so each life dies one
 * stage further on; the next life takes the dead one's lease over and
 * resumes from the records.
 */
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

#include "tharness.h"

#define CP   "/compute/v1/projects/edv-sim"
#define ZONE "projects/edv-sim/zones/us-central1-a/"

typedef struct life {
  int init;          /* publish the images, record releases, make cs1/cs2 */
  const char *to;    /* the release cs1 changes to */
  uint64_t timeout;  /* its health deadline (ms) */
  unsigned kill_nth; /* die on the N-th vm_release event (0: never) */
  int down;          /* delete cs1 instead */
  unsigned seen;
} life;

static char g_dir[256];
static th_simproc g_sp = {-1, "", ""};
static unsigned g_kills;
static pid_t g_parent;

static void only_parent(void)
{
  if (getpid() != g_parent)
    _exit(5);
}

static void life_hook(void *data, const edv__event *ev)
{
  life *l = data;

  if (!l->kill_nth || !ev->step || strcmp(ev->step, "vm_release") != 0)
    return;
  if (++l->seen == l->kill_nth)
    raise(SIGKILL);
}

static const char *js(json_object *o, const char *k)
{
  json_object *v;

  return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void publish(th *h, const char *name)
{
  char body[300], wait[300];
  json_object *op;

  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"rawDisk\":{\"source\":"
           "\"https://storage.googleapis.com/edv-images/%s.tar.gz\"}}",
           name, name);
  op = th_api(h, EDV_API_COMPUTE, "POST", CP "/global/images",
              json_tokener_parse(body));
  if (!op)
    fail_msg("publish %s", name);
  snprintf(wait, sizeof(wait), CP "/global/operations/%s/wait", js(op, "name"));
  json_object_put(op);
  op = th_api(h, EDV_API_COMPUTE, "POST", wait, NULL);
  json_object_put(op);
}

static void release_put(th *h, const char *version, const char *image)
{
  edv__release_rec r;
  edv_error err;

  memset(&r, 0, sizeof(r));
  snprintf(r.version, sizeof(r.version), "%s", version);
  snprintf(r.image, sizeof(r.image), "projects/edv-sim/global/images/%s",
           image);
  if (edv__store_release_put(h->store, &r, &err))
    fail_msg("release %s: %s", version, err.message);
}

static int life_main(life *l)
{
  th h;
  th_opts o;
  edv_error err;
  int bad;

  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  h.hook = life_hook;
  h.hook_data = l;
  if (l->init) {
    publish(&h, "edv-app-1");
    publish(&h, "edv-app-2");
    publish(&h, "edv-app-bad");
    release_put(&h, "1.0.0", "edv-app-1");
    if (th_register(&h, "cs1", "basic", &err) ||
        th_register(&h, "cs2", "basic", &err))
      fail_msg("register: %s", err.message);
    th_drive(&h, "cs1", EDV_DIR_UP, &err);
    th_drive(&h, "cs2", EDV_DIR_UP, &err);
  } else if (l->down) {
    if (th_drive(&h, "cs1", EDV_DIR_DOWN, &err))
      fail_msg("drive down: %s", err.message);
  } else if (l->down) {
    if (th_drive(&h, "cs1", EDV_DIR_DOWN, &err))
      fail_msg("drive down: %s", err.message);
  } else {
    edv__vmgen g;
    edv__tenant_rec rec;

    if (edv__store_tenant_get(h.store, "cs1", &rec, &err) ||
        edv__vmgen_get(h.store, "cs1", &g, &err))
      fail_msg("cs1: %s", err.message);
    /* The first life records the change; the others resume it. */
    if (!g.pending && strcmp(rec.release, l->to) != 0 &&
        rec.phase == EDV_PHASE_READY &&
        edv__fleet_set_release(h.fleet, "cs1", l->to, l->timeout, &err))
      fail_msg("set release: %s", err.message);
    if (th_drive(&h, "cs1", EDV_DIR_UP, &err))
      fail_msg("drive: %s", err.message);
  }
  if (th_wait(&h, 60000))
    fail_msg("life timed out");
  bad = h.ended[EDV_PHASE_FAILED] > 0;
  if (bad)
    fprintf(stderr, "# life: FAILED run: %s\n", h.last_err);
  th_close(&h);
  return bad;
}

/* 1 killed, 0 finished, 2 finished FAILED. */
static int run_life(life *l)
{
  pid_t pid;
  int st;

  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(life_main(l) ? 3 : 0);
  if (waitpid(pid, &st, 0) != pid)
    fail_msg("waitpid");
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
    g_kills++;
    return 1;
  }
  if (WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3))
    return WEXITSTATUS(st) ? 2 : 0;
  fail_msg("a life ended with status %d", st);
  return -1;
}

/* ---- checks (parent) -----------------------------------------------------*/

/* Tenant `id`: exactly one VM and one boot disk, the VM `vm` of release
 * label `label`, alone in the group; the recorded release `version`. */
static void check(const char *id, const char *vm, const char *label,
                  const char *version)
{
  th h;
  th_opts o;
  json_object *st, *fp, *r, *items;
  char slug[64], name[256], path[256];
  edv__tenant_rec rec;
  edv_error err;
  int n;

  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  st = th_state_all(&h);
  snprintf(slug, sizeof(slug), "%s-s", id);
  fp = th_footprint(st, id, slug);
  n = json_object_get_int(json_object_object_get(fp, "compute#instance"));
  if (n != 1)
    fail_msg("%s: %d VMs", id, n);
  n = json_object_get_int(json_object_object_get(fp, "compute#disk"));
  if (n != 1)
    fail_msg("%s: %d disks", id, n);
  json_object_put(fp);
  json_object_put(st);
  snprintf(name, sizeof(name), ZONE "instances/%s", vm);
  r = th_res(&h, name);
  if (!r)
    fail_msg("%s: no VM %s", id, vm);
  assert_string_equal(js(json_object_object_get(r, "labels"), "edv-release"),
                      label);
  json_object_put(r);
  snprintf(path, sizeof(path),
           CP "/zones/us-central1-a/instanceGroups/edv-%s-ig/listInstances",
           id);
  r = th_api(&h, EDV_API_COMPUTE, "POST", path, json_object_new_object());
  items = json_object_object_get(r, "items");
  assert_int_equal(json_object_array_length(items), 1);
  assert_non_null(
      strstr(js(json_object_array_get_idx(items, 0), "instance"), vm));
  json_object_put(r);
  assert_int_equal(edv__store_tenant_get(h.store, id, &rec, &err), 0);
  assert_string_equal(rec.release, version);
  th_close(&h);
}

static int setup(void **state)
{
  const char *tmp = getenv("TMPDIR");
  life l;

  (void)state;
  g_parent = getpid();
  snprintf(g_dir, sizeof(g_dir), "%s/edv-relcrash-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(g_dir));
  th_simproc_start(&g_sp, g_dir);
  {
    th h;
    th_opts o;
    th_simproc_opts(&g_sp, g_dir, &o);
    th_open(&h, &o);
    th_platform(&h);
    th_close(&h);
  }
  memset(&l, 0, sizeof(l));
  l.init = 1;
  assert_int_equal(run_life(&l), 0);
  {
    th h;
    th_opts o;
    th_simproc_opts(&g_sp, g_dir, &o);
    th_open(&h, &o);
    release_put(&h, "2.0.0", "edv-app-2");
    release_put(&h, "3.0.0", "edv-app-bad");
    th_close(&h);
  }
  check("cs1", "edv-cs1-vm", "1_0_0", "1.0.0");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  only_parent();
  th_simproc_stop(&g_sp);
  th_rmtree(g_dir);
  return 0;
}

/* Lives that die one vm_release event further on each time (the 2nd or
 * 3rd event of the life: its start is the 1st), until one finishes. */
static int lives(life *l)
{
  unsigned n = 0;
  int r;

  for (;;) {
    l->seen = 0;
    l->kill_nth = 2 + n % 2;
    n++;
    if ((r = run_life(l)) != 1)
      return r;
    assert_true(n < 60);
  }
}

static void test_swap_killed(void **state)
{
  life l;
  unsigned k0 = g_kills;

  (void)state;
  only_parent();
  memset(&l, 0, sizeof(l));
  l.to = "2.0.0";
  l.timeout = 60000;
  assert_int_equal(lives(&l), 0);
  check("cs1", "edv-cs1-vm-1", "2_0_0", "2.0.0");
  /* And back (generation 2), killed the same way. */
  l.to = "1.0.0";
  assert_int_equal(lives(&l), 0);
  check("cs1", "edv-cs1-vm-2", "1_0_0", "1.0.0");
  check("cs2", "edv-cs2-vm", "1_0_0", "1.0.0");
  fprintf(stderr, "# %u kills during two release changes\n", g_kills - k0);
  assert_true(g_kills - k0 >= 10);
}

static void test_rollback_killed(void **state)
{
  life l;
  unsigned k0 = g_kills;
  json_object *f;

  (void)state;
  only_parent();
  {
    th h;
    th_opts o;
    th_simproc_opts(&g_sp, g_dir, &o);
    th_open(&h, &o);
    f = th_admin(&h, "POST", "/_sim/faults",
                 json_tokener_parse("{\"unhealthyImage\":\"edv-app-bad\"}"));
    assert_non_null(f);
    json_object_put(f);
    th_close(&h);
  }
  memset(&l, 0, sizeof(l));
  l.to = "3.0.0";
  l.timeout = 1500;
  /* The last life ends FAILED (rolled back), or READY when the life
   * that rolled back died before recording FAILED. */
  assert_true(lives(&l) >= 0);
  check("cs1", "edv-cs1-vm-2", "1_0_0", "1.0.0");
  fprintf(stderr, "# %u kills during a rolled back release change\n",
          g_kills - k0);
  assert_true(g_kills - k0 >= 3);
}

/* Deleted in the middle of a change (both VMs in the group): both go. */
static void test_delete_mid_change(void **state)
{
  life l;
  th h;
  th_opts o;
  json_object *st, *fp, *lbl;
  char slug[] = "cs1-s", why[1024];

  (void)state;
  only_parent();
  /* The rollback before may have left cs1 FAILED (the life that rolled
   * back recorded it) or READY (it died first): a run without a change
   * makes it READY either way, as `tenant retry` would. */
  memset(&l, 0, sizeof(l));
  l.to = "1.0.0";
  assert_int_equal(run_life(&l), 0);
  memset(&l, 0, sizeof(l));
  l.to = "2.0.0";
  l.timeout = 60000;
  /* Its start, "creating", the insert, "adding", addInstances: dead. */
  l.kill_nth = 5;
  assert_int_equal(run_life(&l), 1);
  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  st = th_state_all(&h);
  fp = th_footprint(st, "cs1", slug);
  assert_int_equal(
      json_object_get_int(json_object_object_get(fp, "compute#instance")), 2);
  json_object_put(fp);
  json_object_put(st);
  th_close(&h);
  memset(&l, 0, sizeof(l));
  l.down = 1;
  assert_int_equal(run_life(&l), 0);
  th_open(&h, &o);
  st = th_state_all(&h);
  fp = th_footprint(st, "cs1", slug);
  if (th_footprint_check(fp, 0, why, sizeof(why)))
    fail_msg("cs1: %s", why);
  json_object_put(fp);
  json_object_put(st);
  lbl = th_admin(&h, "GET", "/_sim/state?label=edv-tenant=cs1", NULL);
  assert_int_equal(
      json_object_array_length(json_object_object_get(lbl, "resources")), 0);
  json_object_put(lbl);
  th_close(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_swap_killed),
      cmocka_unit_test(test_rollback_killed),
      cmocka_unit_test(test_delete_mid_change),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
