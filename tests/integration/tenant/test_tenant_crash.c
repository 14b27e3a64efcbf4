/*
 * test_tenant_crash.c - kill -9 the orchestrator at every step boundary,
 * right after mutating calls, and at random instants, while it provisions
 * and deprovisions tenants against an edv-gcpsim child process; restart it
 * each time, and check that every tenant ends READY (or gone) with exactly
 * one of each resource and no orphan, in the SIMULATOR's state.
 *
 *   test-tenant-crash boundaries | calls | random | edvctl | recover | move
 *                     | failover
 *
 * Each "life" of the orchestrator is a forked child running the fleet
 * through tharness (its own loop, engine and store connection); it dies by
 * SIGKILL, raised by itself on a chosen event (exact boundaries) or sent by
 * the parent after a random delay. The simulator keeps running in its own
 * process, so what the dead life started goes on there, as in the cloud.
 * The next life must take over the dead life's lease at once (holder
 * "edv@host:pid" whose pid is gone) and resume from the records.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ftw.h>

#include <cmocka.h>

#include "tharness.h"

#define MAX_IDS 8

typedef struct tenant_want {
  const char *id;
  const char *tier;
  edv__direction dir;
  int recover; /* up from DELETED: from its final backup, not anew */
} tenant_want;

typedef struct life {
  tenant_want t[MAX_IDS];
  unsigned n;
  int platform;              /* drive the platform instead */
  edv__event_kind kill_kind; /* with kill_nth */
  const char *kill_tenant;   /* NULL: any */
  const char *kill_step;     /* NULL: any */
  unsigned kill_nth;         /* 0: never kill itself */
  unsigned seen;
} life;

static char g_dir[256];
static th_simproc g_sp = {-1, "", ""};
static unsigned g_kills;
static pid_t g_parent;

/* A cmocka failure inside a forked life would longjmp into the child's
 * copy of the runner, which would go on running tests (and the
 * teardown, killing the simulator). Lives end here instead. */
static void only_parent(void)
{
  if (getpid() != g_parent)
    _exit(5);
}

/* ---- the simulator child ------------------------------------------------ */

/* ---- one life (the child) --------------------------------------------------
 */

static void life_hook(void *data, const edv__event *ev)
{
  life *l = data;

  if (!l->kill_nth || ev->kind != l->kill_kind)
    return;
  if (l->kill_tenant && strcmp(ev->tenant, l->kill_tenant) != 0)
    return;
  if (l->kill_step && (!ev->step || strcmp(ev->step, l->kill_step) != 0))
    return;
  if (++l->seen == l->kill_nth)
    raise(SIGKILL); /* kill -9, now, whatever is pending */
}

static int life_main(life *l)
{
  th h;
  th_opts o;
  edv_error err;
  char region[64];
  int bad = 0;

  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  h.hook = life_hook;
  h.hook_data = l;
  if (l->platform) {
    th_platform(&h);
  } else {
    for (unsigned i = 0; i < l->n; i++) {
      int ph = th_phase(&h, l->t[i].id);
      if (l->t[i].dir == EDV_DIR_UP && l->t[i].recover &&
          ph == EDV_PHASE_DELETED) {
        char backup[EDV_STORE_RES_SZ];
        if (edv__fleet_recover(h.fleet, l->t[i].id, backup, sizeof(backup),
                               &err))
          fail_msg("recover %s: %s", l->t[i].id, err.message);
      } else if (l->t[i].dir == EDV_DIR_UP &&
                 (ph < 0 || ph == EDV_PHASE_DELETED)) {
        if (th_register(&h, l->t[i].id, l->t[i].tier, &err))
          fail_msg("register %s: %s", l->t[i].id, err.message);
      }
      if ((l->t[i].dir == EDV_DIR_UP && ph == EDV_PHASE_READY &&
           edv__fleet_move_target(h.fleet, l->t[i].id, region,
                                  sizeof(region)) != 0) ||
          (l->t[i].dir == EDV_DIR_RETIRE &&
           !edv__fleet_retire_pending(h.fleet, l->t[i].id, region,
                                      sizeof(region))) ||
          (l->t[i].dir == EDV_DIR_DOWN && (ph == EDV_PHASE_DELETED || ph < 0)))
        continue;
      if (th_drive(&h, l->t[i].id, l->t[i].dir, &err))
        fail_msg("drive %s: %s", l->t[i].id, err.message);
    }
    if (th_wait(&h, 60000))
      fail_msg("life timed out");
    bad = h.ended[EDV_PHASE_FAILED] > 0;
    if (bad)
      fprintf(stderr, "# life: FAILED run: %s\n", h.last_err);
  }
  th_close(&h);
  return bad;
}

/* Runs one life; kills it after kill_ms (0: never) unless it ends first.
 * Returns 1 when it was killed, 0 when it finished, -1 on failure. */
static int run_life(life *l, unsigned kill_ms)
{
  pid_t pid;
  int st;
  uint64_t end = th_now_ms() + 120000, kill_at = th_now_ms() + kill_ms;

  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(life_main(l) ? 3 : 0);
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      break;
    if (kill_ms && th_now_ms() >= kill_at) {
      kill(pid, SIGKILL);
      kill_ms = 0;
    }
    if (th_now_ms() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("a life did not end in 120 s");
    }
    usleep(2000);
  }
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
    g_kills++;
    return 1;
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  fail_msg("a life ended with status %d", st);
  return -1;
}

/* ---- checks (parent) --------------------------------------------------------
 */

static void check_tenants(const tenant_want *t, unsigned n)
{
  th h;
  th_opts o;
  json_object *st;
  char why[2048], q[160];

  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  st = th_state_all(&h);
  assert_non_null(st);
  for (unsigned i = 0; i < n; i++) {
    char slug[64];
    json_object *fp, *lbl;
    int ready = t[i].dir == EDV_DIR_UP;
    int ph = th_phase(&h, t[i].id);
    snprintf(slug, sizeof(slug), "%s-s", t[i].id);
    /* No record at all (-1) for a tenant to be gone: every life died
     * before registering it (a delete keeps the record, DELETED). What
     * follows checks that nothing of it exists either. */
    if (ph != (ready ? EDV_PHASE_READY : EDV_PHASE_DELETED) &&
        (ready || ph >= 0))
      fail_msg("%s: phase %d, want %s", t[i].id, ph,
               ready ? "READY" : "DELETED");
    fp = th_footprint(st, t[i].id, slug);
    if (th_footprint_check(fp, ready, why, sizeof(why)))
      fail_msg("%s: %s", t[i].id, why);
    json_object_put(fp);
    assert_int_equal(th_urlmap_rules(&h, t[i].id, NULL), ready ? 101 : 0);
    snprintf(q, sizeof(q), "/_sim/state?label=edv-tenant=%s", t[i].id);
    lbl = th_admin(&h, "GET", q, NULL);
    if (!ready &&
        json_object_array_length(json_object_object_get(lbl, "resources")))
      fail_msg("%s: labelled leftovers", t[i].id);
    json_object_put(lbl);
    if (!ready) {
      edv_cidr c;
      assert_int_equal(edv__store_subnet_get(h.store, t[i].id, &c, NULL),
                       EDV_ENOTFOUND);
    }
  }
  json_object_put(st);
  th_close(&h);
}

static int setup(void **state)
{
  const char *tmp = getenv("TMPDIR");

  (void)state;
  g_parent = getpid();
  snprintf(g_dir, sizeof(g_dir), "%s/edv-crash-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(g_dir));
  th_simproc_start(&g_sp, g_dir);
  {
    life l;
    memset(&l, 0, sizeof(l));
    l.platform = 1;
    assert_int_equal(run_life(&l, 0), 0);
  }
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

static void set_dir(life *l, edv__direction dir)
{
  for (unsigned i = 0; i < l->n; i++)
    l->t[i].dir = dir;
}

/* ---- scenarios ------------------------------------------------------------
 */

/* Kill when tenant A finishes each step, in plan order, provisioning; then
 * in reverse order, deprovisioning. B runs beside A and dies wherever it
 * happens to be. */
static void test_boundaries(void **state)
{
  life l;
  unsigned kills0 = g_kills;

  (void)state;
  only_parent();
  memset(&l, 0, sizeof(l));
  l.t[0] = (tenant_want){"ca1", "premium", EDV_DIR_UP};
  l.t[1] = (tenant_want){"ca2", "basic", EDV_DIR_UP};
  l.n = 2;
  l.kill_kind = EDV_EV_STEP_DONE;
  l.kill_tenant = "ca1";
  l.kill_nth = 1;
  for (unsigned s = 0; s < edv__tenant_nsteps; s++) {
    l.kill_step = edv__tenant_steps[s].name;
    l.seen = 0;
    run_life(&l, 0);
  }
  l.kill_nth = 0;
  assert_int_equal(run_life(&l, 0), 0);
  check_tenants(l.t, l.n);
  set_dir(&l, EDV_DIR_DOWN);
  l.kill_nth = 1;
  for (unsigned s = edv__tenant_nsteps; s-- > 0;) {
    l.kill_step = edv__tenant_steps[s].name;
    l.seen = 0;
    run_life(&l, 0);
  }
  l.kill_nth = 0;
  assert_int_equal(run_life(&l, 0), 0);
  check_tenants(l.t, l.n);
  fprintf(stderr, "# %u kills at step boundaries\n", g_kills - kills0);
  assert_true(g_kills - kills0 >= 30);
}

/* Kill right after the first mutating call of each life returns (the
 * operation not yet recorded, or the create's reply just in): the next
 * life must await or observe, never create twice. */
static void test_calls(void **state)
{
  life l;
  unsigned kills0 = g_kills, lives = 0;

  (void)state;
  only_parent();
  memset(&l, 0, sizeof(l));
  l.t[0] = (tenant_want){"cb1", "enterprise", EDV_DIR_UP};
  l.t[1] = (tenant_want){"cb2", "standard", EDV_DIR_UP};
  l.n = 2;
  l.kill_kind = EDV_EV_CALL;
  l.kill_nth = 1;
  for (;;) {
    l.seen = 0;
    /* Every few lives, die at the 3rd call instead: not always the
     * first thing a life does. */
    l.kill_nth = lives % 3 == 2 ? 3 : 1;
    lives++;
    if (run_life(&l, 0) == 0)
      break;
    assert_true(lives < 80);
  }
  check_tenants(l.t, l.n);
  set_dir(&l, EDV_DIR_DOWN);
  for (;;) {
    l.seen = 0;
    l.kill_nth = lives % 3 == 2 ? 3 : 1;
    lives++;
    if (run_life(&l, 0) == 0)
      break;
    assert_true(lives < 160);
  }
  check_tenants(l.t, l.n);
  fprintf(stderr, "# %u kills right after mutating calls\n", g_kills - kills0);
  assert_true(g_kills - kills0 >= 20);
}

/* Kill at random instants: four tenants provisioning, then two of them
 * turned around (deprovisioned half-built) while the others go on, then
 * all deprovisioned. */
static void test_random(void **state)
{
  life l;
  unsigned kills0 = g_kills, lives = 0;
  unsigned seed = (unsigned)time(NULL);
  const char *s = getenv("TH_SEED");

  (void)state;
  only_parent();
  if (s)
    seed = (unsigned)strtoul(s, NULL, 10);
  fprintf(stderr, "# random seed %u (TH_SEED to repeat)\n", seed);
  srand(seed);
  memset(&l, 0, sizeof(l));
  l.t[0] = (tenant_want){"cc1", "basic", EDV_DIR_UP};
  l.t[1] = (tenant_want){"cc2", "standard", EDV_DIR_UP};
  l.t[2] = (tenant_want){"cc3", "premium", EDV_DIR_UP};
  l.t[3] = (tenant_want){"cc4", "enterprise", EDV_DIR_UP};
  l.n = 4;
  /* Short random delays (a life that only resumes is quick), growing
   * with each life of a phase so that every phase ends. */
  for (int i = 0; i < 3; i++) {
    run_life(&l, 15 + (unsigned)rand() % 150);
    lives++;
  }
  l.t[2].dir = EDV_DIR_DOWN;
  l.t[3].dir = EDV_DIR_DOWN;
  for (unsigned k = 0;; k++) {
    lives++;
    if (run_life(&l, 15 + (unsigned)rand() % (150 + 40 * k)) == 0)
      break;
    assert_true(lives < 80);
  }
  check_tenants(l.t, l.n);
  set_dir(&l, EDV_DIR_DOWN);
  for (unsigned k = 0;; k++) {
    lives++;
    if (run_life(&l, 15 + (unsigned)rand() % (150 + 40 * k)) == 0)
      break;
    assert_true(lives < 160);
  }
  check_tenants(l.t, l.n);
  fprintf(stderr, "# %u kills at random instants\n", g_kills - kills0);
  assert_true(g_kills - kills0 >= 6);
}

/* The FINAL backups the simulator holds of Cloud SQL instance `inst`;
 * `name` receives the last one's name. */
static unsigned final_backups(th *h, const char *inst, char *name, size_t size)
{
  json_object *st = th_admin(h, "GET", "/_sim/state?kind=sql%23backup", NULL);
  json_object *items = json_object_object_get(st, "resources");
  unsigned n = 0;

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *b =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    json_object *v;
    if (json_object_object_get_ex(b, "instance", &v) &&
        strcmp(json_object_get_string(v), inst) == 0) {
      n++;
      snprintf(name, size, "%s",
               json_object_get_string(json_object_object_get(b, "name")));
    }
  }
  json_object_put(st);
  return n;
}

/* Repeats lives dying right after their nth mutating call until one ends
 * by itself; the lives it took. */
static unsigned until_done_killing_calls(life *l, unsigned max)
{
  unsigned lives = 0;

  l->kill_kind = EDV_EV_CALL;
  for (;;) {
    l->seen = 0;
    l->kill_nth = lives % 3 == 2 ? 2 : 1;
    lives++;
    if (run_life(l, 0) == 0)
      return lives;
    assert_true(lives < max);
  }
}

/*
 * Deletion with a final backup, then recovery from it, both killed: the
 * delete dies right after each of its mutating calls (lifting deletion
 * protection, the delete with its final backup, ...), the recovery once
 * its restore is done and then after each of its calls. In the simulator:
 * exactly one FINAL backup of the instance, the recovered tenant READY with one
 * of each resource on a new instance restored from that backup.
 */
static void test_recover(void **state)
{
  life l;
  unsigned kills0 = g_kills;
  char backup[256] = "", again[256] = "";
  th h;
  th_opts o;
  json_object *r;

  (void)state;
  only_parent();
  memset(&l, 0, sizeof(l));
  l.t[0] = (tenant_want){"cr1", "basic", EDV_DIR_UP, 0};
  l.n = 1;
  assert_int_equal(run_life(&l, 0), 0);
  set_dir(&l, EDV_DIR_DOWN);
  until_done_killing_calls(&l, 60);
  check_tenants(l.t, l.n);
  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  assert_int_equal(final_backups(&h, "edv-cr1-db-1", backup, sizeof(backup)),
                   1);
  th_close(&h);

  l.t[0].dir = EDV_DIR_UP;
  l.t[0].recover = 1;
  /* Dies once the restore is done (recorded, the rest of the plan to go),
   * then after each mutating call of the lives that follow. */
  l.kill_kind = EDV_EV_STEP_DONE;
  l.kill_tenant = "cr1";
  l.kill_step = "sql_restore";
  l.kill_nth = 1;
  assert_int_equal(run_life(&l, 0), 1);
  l.kill_step = NULL;
  until_done_killing_calls(&l, 80);
  l.kill_nth = 0;
  assert_int_equal(run_life(&l, 0), 0);
  check_tenants(l.t, l.n);
  th_open(&h, &o);
  r = th_res(&h, "projects/edv-sim/simRestores/edv-cr1-db-2");
  assert_non_null(r);
  assert_string_equal(
      json_object_get_string(json_object_object_get(r, "source")), backup);
  json_object_put(r);
  assert_int_equal(final_backups(&h, "edv-cr1-db-1", again, sizeof(again)), 1);
  th_close(&h);

  /* A life that died between the restore's intent and its call left the
   * call, not the backup's name, in the record: the next one finds the
   * tenant's newest final backup by its labels and restores that. */
  set_dir(&l, EDV_DIR_DOWN);
  l.kill_nth = 0;
  assert_int_equal(run_life(&l, 0), 0);
  th_open(&h, &o);
  assert_int_equal(final_backups(&h, "edv-cr1-db-2", backup, sizeof(backup)),
                   1);
  {
    edv__step_rec sr;
    edv_error err;
    char name[256];

    assert_int_equal(
        edv__fleet_recover(h.fleet, "cr1", name, sizeof(name), &err), 0);
    assert_string_equal(name, backup);
    assert_int_equal(
        edv__store_step_get(h.store, "cr1", "sql_restore", &sr, &err), 0);
    sr.state = EDV_STEP_INTENT;
    snprintf(sr.resource, sizeof(sr.resource),
             "POST /sql/v1beta4/projects/edv-sim/instances/edv-cr1-db-3/"
             "restoreBackup");
    assert_int_equal(edv__store_step_put(h.store, &sr, &err), 0);
    assert_int_equal(th_drive(&h, "cr1", EDV_DIR_UP, &err), 0);
    assert_int_equal(th_wait(&h, 60000), 0);
    assert_int_equal(th_phase(&h, "cr1"), EDV_PHASE_READY);
  }
  r = th_res(&h, "projects/edv-sim/simRestores/edv-cr1-db-3");
  assert_non_null(r);
  assert_string_equal(
      json_object_get_string(json_object_object_get(r, "source")), backup);
  json_object_put(r);
  th_close(&h);
  fprintf(stderr, "# %u kills deleting and recovering\n", g_kills - kills0);
  assert_true(g_kills - kills0 >= 10);
}

/* Field `field` of the simulator's resource `key` contains `want`. */
static void res_in(th *h, const char *key, const char *field, const char *want)
{
  json_object *r = th_res(h, key);
  const char *v;

  if (!r)
    fail_msg("%s: not in the simulator", key);
  v = json_object_get_string(json_object_object_get(r, field));
  if (!v || !strstr(v, want))
    fail_msg("%s: %s '%s', want %s", key, field, v ? v : "(none)", want);
  json_object_put(r);
}

/*
 * A region move killed (-9) once the old region's host rule, backend
 * service, instance group, VM, Cloud SQL instance and subnet are each
 * gone, once the restore in the new region is done, then after each
 * mutating call of the lives that follow, each life resuming it. In the
 * simulator: the tenant READY with one of each resource, its VM, subnet,
 * instance group and instance in europe-west1, the old instance gone with
 * exactly one FINAL backup, which the new one was restored from; the
 * tenant beside it READY where it was.
 */
static void test_move(void **state)
{
  static const char *const at[] = {
      "url_map_rule", "backend_service", "instance_group", "vm",
      "sql_instance", "subnet",          "sql_restore"};
  life l;
  unsigned kills0 = g_kills;
  char backup[256] = "";
  th h;
  th_opts o;
  edv_error err;
  json_object *r;

  (void)state;
  only_parent();
  memset(&l, 0, sizeof(l));
  l.t[0] = (tenant_want){"cm1", "basic", EDV_DIR_UP, 0};
  l.t[1] = (tenant_want){"cm2", "basic", EDV_DIR_UP, 0};
  l.n = 2;
  assert_int_equal(run_life(&l, 0), 0);
  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  assert_int_equal(edv__fleet_move(h.fleet, "cm1", "europe-west1", NULL, &err),
                   0);
  th_close(&h);
  l.kill_kind = EDV_EV_STEP_DONE;
  l.kill_tenant = "cm1";
  l.kill_nth = 1;
  for (size_t i = 0; i < sizeof(at) / sizeof(*at); i++) {
    l.seen = 0;
    l.kill_step = at[i];
    assert_int_equal(run_life(&l, 0), 1);
  }
  l.kill_step = NULL;
  until_done_killing_calls(&l, 80);
  l.kill_nth = 0;
  assert_int_equal(run_life(&l, 0), 0);
  check_tenants(l.t, l.n);
  th_open(&h, &o);
  assert_int_equal(
      edv__fleet_move_target(h.fleet, "cm1", backup, sizeof(backup)), -1);
  res_in(&h, "projects/edv-sim/zones/europe-west1-b/instances/edv-cm1-vm",
         "name", "edv-cm1-vm");
  res_in(&h, "projects/edv-sim/regions/europe-west1/subnetworks/edv-cm1",
         "region", "europe-west1");
  res_in(&h, "projects/edv-sim/zones/europe-west1-b/instanceGroups/edv-cm1-ig",
         "zone", "europe-west1-b");
  res_in(&h, "projects/edv-sim/instances/edv-cm1-db-2", "region",
         "europe-west1");
  assert_null(th_res(&h, "projects/edv-sim/instances/edv-cm1-db-1"));
  res_in(&h, "projects/edv-sim/zones/us-central1-a/instances/edv-cm2-vm",
         "name", "edv-cm2-vm");
  assert_int_equal(final_backups(&h, "edv-cm1-db-1", backup, sizeof(backup)),
                   1);
  r = th_res(&h, "projects/edv-sim/simRestores/edv-cm1-db-2");
  assert_non_null(r);
  assert_string_equal(
      json_object_get_string(json_object_object_get(r, "source")), backup);
  json_object_put(r);
  th_close(&h);
  fprintf(stderr, "# %u kills moving a tenant\n", g_kills - kills0);
  assert_true(g_kills - kills0 >= 7);
}

/*
 * A failover while us-central1 is down (the simulator's regionDown
 * fault), killed (-9) once the host rule and backend service are gone,
 * once the new subnet, instance and restore are done and the VM made,
 * then after each mutating call of the lives that follow. In the
 * simulator: cf1 READY in europe-west1 with one VM, subnet, instance group
 * and instance there, restored from the backup run kept in `eu`, its old
 * ones still in us-central1 (untouchable); once the region is back, their
 * retirement, killed once the VM and the instance are gone and after each
 * call, leaves one of each resource (check_tenants) and the old instance
 * gone with one FINAL backup; cf2, in the region that went down, as it
 * was.
 */
static void test_failover(void **state)
{
  static const char *const at[] = {"url_map_rule", "backend_service", "subnet",
                                   "sql_instance", "sql_restore",     "vm"};
  static const char *const retire_at[] = {"vm", "sql_instance"};
  life l;
  unsigned kills0 = g_kills;
  char run[64] = "", fo[600], cidr[EDV_CIDR_STRLEN + 1], src[256], vm2[512];
  th h;
  th_opts o;
  edv_error err;
  edv_cidr c;
  json_object *r, *items, *fault;

  (void)state;
  only_parent();
  memset(&l, 0, sizeof(l));
  l.t[0] = (tenant_want){"cf1", "basic", EDV_DIR_UP, 0};
  l.t[1] = (tenant_want){"cf2", "basic", EDV_DIR_UP, 0};
  l.n = 2;
  assert_int_equal(run_life(&l, 0), 0);
  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  r = th_api(&h, EDV_API_SQLADMIN, "POST",
             "/sql/v1beta4/projects/edv-sim/instances/edv-cf1-db-1/backupRuns",
             json_tokener_parse("{\"kind\": \"sql#backupRun\"}"));
  json_object_put(r);
  for (int i = 0; i < 500 && !run[0]; i++) {
    r = th_api(
        &h, EDV_API_SQLADMIN, "GET",
        "/sql/v1beta4/projects/edv-sim/instances/edv-cf1-db-1/backupRuns",
        NULL);
    items = json_object_object_get(r, "items");
    if (json_object_array_length(items) == 1 &&
        strcmp(json_object_get_string(json_object_object_get(
                   json_object_array_get_idx(items, 0), "status")),
               "SUCCESSFUL") == 0)
      snprintf(run, sizeof(run), "%s",
               json_object_get_string(json_object_object_get(
                   json_object_array_get_idx(items, 0), "id")));
    json_object_put(r);
    usleep(10000);
  }
  assert_true(run[0]);
  r = th_res(&h, "projects/edv-sim/zones/us-central1-a/instances/edv-cf2-vm");
  assert_non_null(r);
  snprintf(vm2, sizeof(vm2), "%s",
           json_object_get_string(json_object_object_get(r, "id")));
  json_object_put(r);
  fault = th_admin(&h, "POST", "/_sim/faults",
                   json_tokener_parse("{\"regionDown\": \"us-central1\"}"));
  json_object_put(fault);
  assert_int_equal(edv__store_subnet_get(h.store, "cf1", &c, NULL), 0);
  edv__cidr_format(&c, cidr, sizeof(cidr));
  snprintf(src, sizeof(src),
           "projects/edv-sim/instances/edv-cf1-db-1/backupRuns/%s", run);
  snprintf(fo, sizeof(fo),
           "{\"backup\":\"%s\",\"from\":\"us-central1\",\"generation\":1,"
           "\"cidr\":\"%s\"}",
           src, cidr);
  assert_int_equal(edv__fleet_move(h.fleet, "cf1", "europe-west1", fo, &err),
                   0);
  th_close(&h);
  l.kill_kind = EDV_EV_STEP_DONE;
  l.kill_tenant = "cf1";
  l.kill_nth = 1;
  for (size_t i = 0; i < sizeof(at) / sizeof(*at); i++) {
    l.seen = 0;
    l.kill_step = at[i];
    assert_int_equal(run_life(&l, 0), 1);
  }
  l.kill_step = NULL;
  until_done_killing_calls(&l, 80);
  l.kill_nth = 0;
  assert_int_equal(run_life(&l, 0), 0);
  th_open(&h, &o);
  assert_int_equal(th_phase(&h, "cf1"), EDV_PHASE_READY);
  assert_int_equal(th_phase(&h, "cf2"), EDV_PHASE_READY);
  res_in(&h, "projects/edv-sim/zones/europe-west1-b/instances/edv-cf1-vm",
         "name", "edv-cf1-vm");
  res_in(&h, "projects/edv-sim/regions/europe-west1/subnetworks/edv-cf1",
         "region", "europe-west1");
  res_in(&h, "projects/edv-sim/zones/europe-west1-b/instanceGroups/edv-cf1-ig",
         "zone", "europe-west1-b");
  res_in(&h, "projects/edv-sim/instances/edv-cf1-db-2", "region",
         "europe-west1");
  r = th_res(&h, "projects/edv-sim/simRestores/edv-cf1-db-2");
  assert_non_null(r);
  assert_string_equal(
      json_object_get_string(json_object_object_get(r, "source")), src);
  json_object_put(r);
  /* The old region's, untouched while it is down. */
  res_in(&h, "projects/edv-sim/zones/us-central1-a/instances/edv-cf1-vm",
         "name", "edv-cf1-vm");
  res_in(&h, "projects/edv-sim/regions/us-central1/subnetworks/edv-cf1",
         "ipCidrRange", cidr);
  res_in(&h, "projects/edv-sim/instances/edv-cf1-db-1", "region",
         "us-central1");
  assert_true(edv__fleet_retire_pending(h.fleet, "cf1", src, sizeof(src)));
  assert_string_equal(src, "us-central1");
  fault = th_admin(&h, "DELETE", "/_sim/faults", NULL);
  json_object_put(fault);
  th_close(&h);

  /* The region is back: the retirement, killed, then to its end. */
  l.t[0].dir = EDV_DIR_RETIRE;
  l.n = 1;
  l.kill_kind = EDV_EV_STEP_DONE;
  l.kill_nth = 1;
  for (size_t i = 0; i < sizeof(retire_at) / sizeof(*retire_at); i++) {
    l.seen = 0;
    l.kill_step = retire_at[i];
    assert_int_equal(run_life(&l, 0), 1);
  }
  l.kill_step = NULL;
  until_done_killing_calls(&l, 40);
  l.kill_nth = 0;
  assert_int_equal(run_life(&l, 0), 0);
  l.t[0].dir = EDV_DIR_UP;
  l.n = 2;
  check_tenants(l.t, l.n);
  th_open(&h, &o);
  assert_false(edv__fleet_retire_pending(h.fleet, "cf1", src, sizeof(src)));
  assert_null(th_res(&h, "projects/edv-sim/instances/edv-cf1-db-1"));
  assert_null(
      th_res(&h, "projects/edv-sim/zones/us-central1-a/instances/edv-cf1-vm"));
  assert_null(
      th_res(&h, "projects/edv-sim/regions/us-central1/subnetworks/edv-cf1"));
  assert_int_equal(final_backups(&h, "edv-cf1-db-1", src, sizeof(src)), 1);
  res_in(&h, "projects/edv-sim/zones/us-central1-a/instances/edv-cf2-vm", "id",
         vm2);
  res_in(&h, "projects/edv-sim/instances/edv-cf2-db-1", "region",
         "us-central1");
  th_close(&h);
  fprintf(stderr, "# %u kills failing over a tenant\n", g_kills - kills0);
  assert_true(g_kills - kills0 >= 10);
}

/* ---- edvctl, the product's own resume path ----------------------------------
 */

/* edvctl against the simulator child (tharness.h), counting the kills. */
static int edvctl(unsigned kill_ms, int sig, char *errout, size_t errsize,
                  const char *const *args)
{
  int rc =
      th_edvctl(&g_sp, g_dir, kill_ms, sig, NULL, 0, errout, errsize, args);

  if (rc == -SIGKILL)
    g_kills++;
  return rc;
}

/* `tenant resume --all` until it ends well (up to three tries: a run
 * stopped by a fault or a lease may need another); fails the test naming
 * `what` otherwise. */
static void resume_until_done(const char *what)
{
  static const char *const resume_all[] = {"tenant", "resume", "--all", NULL};
  char err[4096];
  int rc, lives = 0;

  while ((rc = edvctl(0, 0, err, sizeof(err), resume_all)) != 0 && ++lives < 3)
    ;
  if (rc != 0)
    fail_msg("resume --all (%s): rc %d: %s", what, rc, err);
}

/* Mutating requests the simulator logged (tokens and admin excluded). */
static long sim_mutations(void)
{
  th h;
  th_opts o;
  json_object *log, *reqs;
  long n = 0;

  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  log = th_admin(&h, "GET", "/_sim/requests", NULL);
  reqs = json_object_object_get(log, "requests");
  /* The ring must not have wrapped, or counts would not compare. */
  assert_true(json_object_array_length(reqs) < 4000);
  for (size_t i = 0; i < json_object_array_length(reqs); i++) {
    json_object *r = json_object_array_get_idx(reqs, i);
    const char *verb =
        json_object_get_string(json_object_object_get(r, "method"));
    const char *api = json_object_get_string(json_object_object_get(r, "api"));
    if (strcmp(verb, "GET") != 0 && strcmp(api, "sim") != 0 &&
        strcmp(api, "oauth2") != 0)
      n++;
  }
  json_object_put(log);
  th_close(&h);
  return n;
}

/* The simulator's resource of `kind` ("compute%23instance") named `name`
 * (a new reference), or NULL. */
static json_object *res_of(th *h, const char *kind, const char *name)
{
  char path[200];
  json_object *st, *items, *found = NULL;

  snprintf(path, sizeof(path), "/_sim/state?kind=%s", kind);
  st = th_admin(h, "GET", path, NULL);
  items = st ? json_object_object_get(st, "resources") : NULL;
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *r =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    const char *n = json_object_get_string(json_object_object_get(r, "name"));
    if (n && strcmp(n, name) == 0)
      found = json_object_get(r);
  }
  json_object_put(st);
  return found;
}

/* edvctl itself: bad specs refused with nothing created; `tenant create`
 * and `tenant delete` killed (-9) and interrupted (SIGINT) at random
 * instants, finished by `tenant resume --all` / `tenant resume ID`. */
static void test_edvctl(void **state)
{
  char err[4096];
  long m0;
  int rc;
  unsigned kills0 = g_kills;
  const char *platform[] = {"platform", "init", NULL};
  const char *bad_id[] = {"tenant", "create",      "Bad_Id", "bad-id", "X",
                          "basic",  "us-central1", "--wait", NULL};
  const char *bad_tier[] = {"tenant",   "create",      "ce9",    "ce9-s", "X",
                            "platinum", "us-central1", "--wait", NULL};
  const char *bad_region[] = {"tenant", "create",      "ce9",    "ce9-s", "X",
                              "basic",  "mars-north1", "--wait", NULL};
  const char *create[] = {"tenant",      "create",    "ce1",
                          "ce1-s",       "École Ce1", "premium",
                          "us-central1", "--no-wait", NULL};
  const char *dup[] = {"tenant", "create",      "ce1",    "ce1-s", "École Ce1",
                       "basic",  "us-central1", "--wait", NULL};
  const char *resume_all[] = {"tenant", "resume", "--all", NULL};
  const char *del[] = {"tenant", "delete", "ce1", "--now", "--yes", NULL};
  const char *suspend[] = {"tenant", "delete", "ce1", "--yes", NULL};
  const char *undelete[] = {"tenant", "undelete", "ce1", NULL};
  tenant_want want = {"ce1", "premium", EDV_DIR_UP};

  (void)state;
  only_parent();
  if (access(getenv("EDV_BUILD_ROOT") ? getenv("EDV_BUILD_ROOT") : ".", R_OK) !=
      0)
    skip();
  assert_int_equal(edvctl(0, 0, err, sizeof(err), platform), 0);
  m0 = sim_mutations();
  rc = edvctl(0, 0, err, sizeof(err), bad_id);
  if (rc == 0 || !strstr(err, "id"))
    fail_msg("bad id: rc %d: %s", rc, err);
  rc = edvctl(0, 0, err, sizeof(err), bad_tier);
  if (rc == 0 || !strstr(err, "platinum"))
    fail_msg("bad tier: rc %d: %s", rc, err);
  rc = edvctl(0, 0, err, sizeof(err), bad_region);
  if (rc == 0 || !strstr(err, "mars-north1"))
    fail_msg("bad region: rc %d: %s", rc, err);
  assert_int_equal(sim_mutations(), m0);

  /* Recorded (PENDING, nothing in the cloud yet), then driven by
   * `resume --all` killed twice, interrupted once, then to the end. The
   * kill instants are wall-clock (later in the plan on a fast machine
   * than under ASan; either way, somewhere in it). */
  assert_int_equal(edvctl(0, 0, err, sizeof(err), create), 0);
  rc = edvctl(700, SIGKILL, err, sizeof(err), resume_all);
  assert_true(rc == -SIGKILL || rc == 0);
  rc = edvctl(1500, SIGKILL, err, sizeof(err), resume_all);
  assert_true(rc == -SIGKILL || rc == 0);
  /* 7: interrupted at a durable point. -SIGINT: the signal came before
   * edvctl installed its handler (slow start under ASan), the default
   * action killed it: just another crash. */
  rc = edvctl(800, SIGINT, err, sizeof(err), resume_all);
  if (rc != 0 && rc != 7 && rc != -SIGINT)
    fail_msg("SIGINT: rc %d: %s", rc, err);
  resume_until_done("create");
  /* edvctl keeps its own state directory: check the cloud directly. */
  {
    th h;
    th_opts o;
    json_object *st, *fp;
    char why[2048];
    th_simproc_opts(&g_sp, g_dir, &o);
    th_open(&h, &o);
    st = th_state_all(&h);
    fp = th_footprint(st, "ce1", "ce1-s");
    if (th_footprint_check(fp, 1, why, sizeof(why)))
      fail_msg("ce1 via edvctl: %s", why);
    assert_int_equal(th_urlmap_rules(&h, "ce1", NULL), 101);
    json_object_put(fp);
    json_object_put(st);
    th_close(&h);
  }
  /* Same id, different spec: refused, nothing mutated. */
  m0 = sim_mutations();
  rc = edvctl(0, 0, err, sizeof(err), dup);
  if (rc == 0 || !strstr(err, "ce1"))
    fail_msg("duplicate id: rc %d: %s", rc, err);
  assert_int_equal(sim_mutations(), m0);

  /* Deletion's grace: `tenant delete` (a suspension) killed mid-way,
   * finished by `resume --all` (SUSPENDING goes on to SUSPENDED) or, when
   * killed before SUSPENDING was recorded, by deleting again; then
   * `tenant undelete` killed mid-way and finished the same way. Each
   * checked in the cloud: off the air with nothing destroyed, then the
   * whole footprint back. */
  for (int round = 0; round < 2; round++) {
    th h;
    th_opts o;
    json_object *st, *fp, *vm, *db;
    char why[2048], created[64];

    th_simproc_opts(&g_sp, g_dir, &o);
    th_open(&h, &o);
    db = res_of(&h, "sql%23instance", "edv-ce1-db-1");
    assert_non_null(db);
    snprintf(created, sizeof(created), "%s",
             json_object_get_string(json_object_object_get(db, "createTime")));
    json_object_put(db);
    th_close(&h);
    rc = edvctl(round ? 900 : 300, SIGKILL, err, sizeof(err), suspend);
    assert_true(rc == -SIGKILL || rc == 0);
    resume_until_done("suspend");
    if ((rc = edvctl(0, 0, err, sizeof(err), suspend)) != 0)
      fail_msg("delete (suspend): rc %d: %s", rc, err);
    th_open(&h, &o);
    vm = res_of(&h, "compute%23instance", "edv-ce1-vm");
    assert_non_null(vm);
    assert_string_equal(
        json_object_get_string(json_object_object_get(vm, "status")),
        "TERMINATED");
    json_object_put(vm);
    assert_int_equal(th_urlmap_rules(&h, "ce1", NULL), 0);
    st = th_state_all(&h);
    fp = th_footprint(st, "ce1", "ce1-s");
    /* The two A records gone, the two challenge CNAMEs kept. */
    assert_int_equal(json_object_get_int(
                         json_object_object_get(fp, "dns#resourceRecordSet")),
                     2);
    assert_non_null(json_object_object_get(fp, "sql#instance"));
    assert_non_null(json_object_object_get(fp, "compute#disk"));
    json_object_put(fp);
    json_object_put(st);
    db = res_of(&h, "sql%23instance", "edv-ce1-db-1");
    assert_non_null(db);
    assert_string_equal(
        json_object_get_string(json_object_object_get(db, "createTime")),
        created);
    json_object_put(db);
    th_close(&h);

    rc = edvctl(round ? 1200 : 400, SIGKILL, err, sizeof(err), undelete);
    assert_true(rc == -SIGKILL || rc == 0);
    resume_until_done("undelete");
    /* Killed before the run recorded its phase: still SUSPENDED (0);
     * otherwise READY already (4: nothing to undelete). */
    rc = edvctl(0, 0, err, sizeof(err), undelete);
    if (rc != 0 && rc != 4)
      fail_msg("undelete: rc %d: %s", rc, err);
    th_open(&h, &o);
    st = th_state_all(&h);
    fp = th_footprint(st, "ce1", "ce1-s");
    if (th_footprint_check(fp, 1, why, sizeof(why)))
      fail_msg("ce1 undeleted (round %d): %s", round, why);
    assert_int_equal(th_urlmap_rules(&h, "ce1", NULL), 101);
    vm = res_of(&h, "compute%23instance", "edv-ce1-vm");
    assert_string_equal(
        json_object_get_string(json_object_object_get(vm, "status")),
        "RUNNING");
    json_object_put(vm);
    db = res_of(&h, "sql%23instance", "edv-ce1-db-1");
    assert_non_null(db);
    assert_string_equal(
        json_object_get_string(json_object_object_get(db, "createTime")),
        created);
    json_object_put(db);
    json_object_put(fp);
    json_object_put(st);
    th_close(&h);
  }

  rc = edvctl(900, SIGKILL, err, sizeof(err), del);
  assert_true(rc == -SIGKILL || rc == 0);
  resume_until_done("delete");
  /* Killed before DEPROVISIONING was recorded, the tenant is still READY
   * and resume has nothing to do: delete again (3 = already deleted). */
  rc = edvctl(0, 0, err, sizeof(err), del);
  if (rc != 0 && rc != 3)
    fail_msg("delete: rc %d: %s", rc, err);
  {
    th h;
    th_opts o;
    json_object *st, *fp;
    char why[2048];
    th_simproc_opts(&g_sp, g_dir, &o);
    th_open(&h, &o);
    st = th_state_all(&h);
    fp = th_footprint(st, "ce1", "ce1-s");
    if (th_footprint_check(fp, 0, why, sizeof(why)))
      fail_msg("ce1 deleted via edvctl: %s", why);
    json_object_put(fp);
    json_object_put(st);
    th_close(&h);
  }
  (void)want;
  fprintf(stderr, "# %u edvctl kills\n", g_kills - kills0);
  /* A run where no kill landed proves nothing about crash safety. */
  assert_true(g_kills - kills0 >= 1);
}

int main(int argc, char **argv)
{
  const char *which = argc > 1 ? argv[1] : "all";
  struct CMUnitTest all[] = {
      cmocka_unit_test(test_boundaries), cmocka_unit_test(test_calls),
      cmocka_unit_test(test_random),     cmocka_unit_test(test_edvctl),
      cmocka_unit_test(test_recover),    cmocka_unit_test(test_move),
      cmocka_unit_test(test_failover),
  };
  struct CMUnitTest pick[7];
  size_t n = 0;

  for (size_t i = 0; i < 7; i++)
    if (strcmp(which, "all") == 0 || strstr(all[i].name, which))
      pick[n++] = all[i];
  return _cmocka_run_group_tests("crash", pick, n, setup, teardown);
}
