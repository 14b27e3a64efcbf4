/*
 * test_tenant_pitr.c - point-in-time restore of a tenant's database through
 * edvctl, against an edv-gcpsim child process, checked in the simulator's
 * state: the tenant's backups kept in the continent's multi-region (on
 * the instance and its backup runs); a time outside the recovery window
 * refused (exit 2, naming the window) with nothing changed; a restore to
 * time T, killed (-9) at several instants and finished by running it
 * again, after which the tenant is served by a new instance holding T's
 * data version (its VM's metadata, the egress firewall, the tenant
 * document) and the old instance is gone.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleet/dayops.h"
#include "tharness.h"

#define TID "pt1"

static char g_dir[256];
static th_simproc g_sp = {-1, "", ""};
static th g_h;

/* assert_string_equal that fails, instead of crashing, on NULL. */
#define assert_str(got, want)                                                  \
  do {                                                                         \
    const char *g_ = (got);                                                    \
    if (!g_ || strcmp(g_, (want)) != 0)                                        \
      fail_msg("%s: got %s, want %s", #got, g_ ? g_ : "NULL", (want));         \
  } while (0)

static int setup(void **state)
{
  th_opts o;

  (void)state;
  snprintf(g_dir, sizeof(g_dir), "/tmp/edv-pitr-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  th_simproc_start(&g_sp, g_dir);
  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&g_h, &o); /* only to read the simulator's state */
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  th_close(&g_h);
  th_simproc_stop(&g_sp);
  th_rmtree(g_dir);
  return 0;
}

static int edvctl(unsigned kill_ms, char *out, size_t outsize, char *err,
                  size_t errsize, const char *const *args)
{
  return th_edvctl(&g_sp, g_dir, kill_ms, SIGKILL, out, outsize, err, errsize,
                   args);
}

/* The simulator's Cloud SQL instance `name`, or NULL. */
static json_object *sql_inst(const char *name)
{
  char key[200];

  snprintf(key, sizeof(key), "projects/edv-sim/instances/%s", name);
  return th_res(&g_h, key);
}

/* The data version of instance `name` now (at NULL) or at `at`; the time
 * it is of into when. */
static long long data_version(const char *name, const char *at, char *when,
                              size_t size)
{
  char path[300];
  json_object *o;
  long long v;

  snprintf(path, sizeof(path), "/_sim/sql/instances/%s/dataVersion%s%s", name,
           at ? "?at=" : "", at ? at : "");
  o = th_admin(&g_h, "GET", path, NULL);
  assert_non_null(o);
  assert_non_null(json_object_object_get(o, "dataVersion"));
  v = json_object_get_int64(json_object_object_get(o, "dataVersion"));
  if (when)
    snprintf(when, size, "%s",
             json_object_get_string(json_object_object_get(o, "time")));
  json_object_put(o);
  return v;
}

/* The version the instance's data was last set to (by its creation, a
 * clone or a restore): the start of its last history segment. */
static long long data_version_set(const char *name)
{
  char path[300];
  json_object *o, *segs;
  long long v;

  snprintf(path, sizeof(path), "/_sim/sql/instances/%s/dataVersion", name);
  o = th_admin(&g_h, "GET", path, NULL);
  assert_non_null(o);
  segs = json_object_object_get(o, "segments");
  assert_true(json_object_array_length(segs) > 0);
  v = json_object_get_int64(json_object_object_get(
      json_object_array_get_idx(segs, json_object_array_length(segs) - 1),
      "version"));
  json_object_put(o);
  return v;
}

static void advance(double seconds)
{
  json_object *b = json_object_new_object(), *r;

  json_object_object_add(b, "seconds", json_object_new_double(seconds));
  r = th_admin(&g_h, "POST", "/_sim/clock/advance", b); /* takes b */
  assert_non_null(r);
  json_object_put(r);
}

static const char *meta(json_object *vm, const char *key)
{
  json_object *items =
      json_object_object_get(json_object_object_get(vm, "metadata"), "items");

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (strcmp(json_object_get_string(json_object_object_get(it, "key")),
               key) == 0)
      return json_object_get_string(json_object_object_get(it, "value"));
  }
  return NULL;
}

static const char *private_ip(json_object *inst)
{
  json_object *ips = json_object_object_get(inst, "ipAddresses");

  for (size_t i = 0; i < json_object_array_length(ips); i++) {
    json_object *ip = json_object_array_get_idx(ips, i);
    if (strcmp(json_object_get_string(json_object_object_get(ip, "type")),
               "PRIVATE") == 0)
      return json_object_get_string(json_object_object_get(ip, "ipAddress"));
  }
  return NULL;
}

/* The tenant's VM in the simulator (a new reference). */
static json_object *tenant_vm(void)
{
  json_object *st =
      th_admin(&g_h, "GET", "/_sim/state?kind=compute%23instance", NULL);
  json_object *items = json_object_object_get(st, "resources"), *vm = NULL;

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *r =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    if (strcmp(json_object_get_string(json_object_object_get(r, "name")),
               "edv-" TID "-vm") == 0)
      vm = json_object_get(r);
  }
  json_object_put(st);
  return vm;
}

/* How many Cloud SQL instances the simulator holds. */
static unsigned sql_count(void)
{
  json_object *st =
      th_admin(&g_h, "GET", "/_sim/state?kind=sql%23instance", NULL);
  unsigned n;

  assert_non_null(st);
  n = (unsigned)json_object_array_length(
      json_object_object_get(st, "resources"));
  json_object_put(st);
  return n;
}

static void test_pitr(void **state)
{
  static const char *const platform[] = {"platform", "init", NULL};
  static const char *const create[] = {"tenant",       "create",      TID,
                                       "pt-school",    "PITR School", "basic",
                                       "europe-west1", NULL};
  static const char *const backup[] = {"tenant", "backup", TID, NULL};
  static const char *const get[] = {"tenant",   "get",  TID,
                                    "--format", "json", NULL};
  char out[65536], err[4096], t1[40], when[40];
  const char *old_times[] = {"2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"};
  const char *argv[8];
  json_object *inst, *vm, *fw, *run, *doc;
  long long v1;
  unsigned kills = 0, lives = 0, before;
  int rc;

  (void)state;
  assert_int_equal(edvctl(0, NULL, 0, err, sizeof(err), platform), 0);
  rc = edvctl(0, NULL, 0, err, sizeof(err), create);
  if (rc != 0)
    fail_msg("create: exit %d: %s", rc, err);
  /* Cross-region copies: the backups live in the continent's
   * multi-region, on the instance and on each backup run. */
  inst = sql_inst("edv-" TID "-db-1");
  assert_non_null(inst);
  assert_str(
      json_object_get_string(json_object_object_get(
          json_object_object_get(json_object_object_get(inst, "settings"),
                                 "backupConfiguration"),
          "location")),
      "eu");
  json_object_put(inst);
  assert_int_equal(edvctl(0, NULL, 0, err, sizeof(err), backup), 0);
  {
    json_object *st =
        th_admin(&g_h, "GET", "/_sim/state?kind=sql%23backupRun", NULL);
    json_object *items = json_object_object_get(st, "resources");
    assert_int_equal(json_object_array_length(items), 1);
    run =
        json_object_object_get(json_object_array_get_idx(items, 0), "resource");
    assert_str(json_object_get_string(json_object_object_get(run, "location")),
               "eu");
    json_object_put(st);
  }
  /* Backup health: edvctl infra status checks every READY tenant. */
  {
    static const char *const status[] = {"infra", "status", "--format", "json",
                                         NULL};
    json_object *st, *t;

    /* The limit is the configuration's (backup.stale_after_s). */
    setenv("EDV_BACKUP_STALE_AFTER_S", "7200", 1);
    rc = edvctl(0, out, sizeof(out), err, sizeof(err), status);
    unsetenv("EDV_BACKUP_STALE_AFTER_S");
    if (rc != 0)
      fail_msg("infra status: exit %d: %s", rc, err);
    st = json_tokener_parse(out);
    assert_non_null(st);
    assert_int_equal(
        json_object_get_int(json_object_object_get(
            json_object_object_get(st, "backups"), "stale_after_s")),
        7200);
    assert_true(json_object_get_boolean(json_object_object_get(
        json_object_object_get(st, "backups"), "checked")));
    assert_int_equal(json_object_get_int(json_object_object_get(
                         json_object_object_get(st, "backups"), "stale")),
                     0);
    t = json_object_array_get_idx(
        json_object_object_get(json_object_object_get(st, "backups"),
                               "tenants"),
        0);
    assert_str(json_object_get_string(json_object_object_get(t, "tenant")),
               TID);
    assert_non_null(json_object_object_get(t, "last_successful"));
    assert_false(json_object_get_boolean(json_object_object_get(t, "stale")));
    json_object_put(st);
  }
  /* T1: a moment of the data; an hour of writes later, restore to it. */
  v1 = data_version("edv-" TID "-db-1", NULL, t1, sizeof(t1));
  advance(3600);
  assert_true(data_version("edv-" TID "-db-1", NULL, NULL, 0) >= v1 + 3600);
  /* Outside the window (before the instance, the future): refused,
   * naming the window, nothing changed in the cloud. */
  before = sql_count();
  for (size_t i = 0; i < 2; i++) {
    const char *const bad[] = {"tenant",    "restore",    TID,
                               "--to-time", old_times[i], NULL};
    rc = edvctl(0, NULL, 0, err, sizeof(err), bad);
    if (rc != 2 || !strstr(err, "recovery window") ||
        !strstr(err, "earliest") || !strstr(err, "latest"))
      fail_msg("restore to %s: exit %d: %s", old_times[i], rc, err);
  }
  {
    const char *const bad[] = {"tenant",    "restore",   TID,
                               "--to-time", "yesterday", NULL};
    rc = edvctl(0, NULL, 0, err, sizeof(err), bad);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "point_in_time"));
  }
  assert_int_equal(sql_count(), before);
  inst = sql_inst("edv-" TID "-db-2");
  assert_null(inst);
  /* The restore to T1, killed at several instants, then run again. */
  argv[0] = "tenant";
  argv[1] = "restore";
  argv[2] = TID;
  argv[3] = "--to-time";
  argv[4] = t1;
  argv[5] = NULL;
  rc = -1;
  for (unsigned ms = 100; ms <= 2500 && rc != 0; ms += 300) {
    rc = edvctl(ms, out, sizeof(out), err, sizeof(err), argv);
    if (rc == -SIGKILL)
      kills++;
    else if (rc != 0)
      fail_msg("restore (killed at %u ms): exit %d: %s", ms, rc, err);
  }
  while (rc != 0 && lives++ < 3)
    rc = edvctl(0, out, sizeof(out), err, sizeof(err), argv);
  if (rc != 0)
    fail_msg("restore: exit %d: %s", rc, err);
  fprintf(stderr, "# %u kills during the restore\n", kills);
  assert_true(kills >= 2);
  /* The new instance holds T1's data; the old one is gone. */
  inst = sql_inst("edv-" TID "-db-2");
  assert_non_null(inst);
  assert_str(json_object_get_string(json_object_object_get(inst, "state")),
             "RUNNABLE");
  assert_int_equal(data_version_set("edv-" TID "-db-2"), v1);
  assert_null(sql_inst("edv-" TID "-db-1"));
  assert_int_equal(sql_count(), before);
  /* The tenant is served by it: the VM's metadata, the egress firewall to
   * the database's address, the tenant document. */
  vm = tenant_vm();
  assert_non_null(vm);
  assert_str(meta(vm, "edv-db-instance"), "edv-" TID "-db-2");
  assert_str(meta(vm, "edv-db-host"), private_ip(inst));
  fw = th_res(&g_h,
              "projects/edv-sim/global/firewalls/edv-" TID "-allow-db-egress");
  assert_non_null(fw);
  snprintf(when, sizeof(when), "%s/32", private_ip(inst));
  assert_str(json_object_get_string(json_object_array_get_idx(
                 json_object_object_get(fw, "destinationRanges"), 0)),
             when);
  json_object_put(fw);
  json_object_put(vm);
  json_object_put(inst);
  assert_int_equal(edvctl(0, out, sizeof(out), err, sizeof(err), get), 0);
  doc = json_tokener_parse(out);
  assert_non_null(doc);
  assert_str(json_object_get_string(json_object_object_get(
                 json_object_object_get(doc, "resources"), "sql_instance")),
             "edv-" TID "-db-2");
  assert_str(json_object_get_string(json_object_object_get(doc, "phase")),
             "READY");
  json_object_put(doc);
  /* Done: the same command again starts a new restore, and a time before
   * the new instance existed is outside its window. */
  rc = edvctl(0, NULL, 0, err, sizeof(err), argv);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "recovery window"));
  inst = sql_inst("edv-" TID "-db-2");
  assert_non_null(inst);
  json_object_put(inst);
}

/* The stale rule: no successful backup in 26 hours (or the configured
 * limit), counted from the tenant's creation when it never had one. */
static void test_stale_rule(void **state)
{
  const int64_t h = 3600 * 1000, now = 1000 * h, d = EDV_BACKUP_STALE_S;

  (void)state;
  assert_false(edv__backup_stale(now - 25 * h, now - 90 * h, now, d));
  assert_true(edv__backup_stale(now - 27 * h, now - 90 * h, now, d));
  assert_false(edv__backup_stale(-1, now - 2 * h, now, d)); /* young */
  assert_true(edv__backup_stale(-1, now - 30 * h, now, d));
  assert_true(edv__backup_stale(now - 2 * h, now - 90 * h, now, 3600));
  assert_false(edv__backup_stale(now - 2 * h, now - 90 * h, now, 3 * 3600));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stale_rule),
      cmocka_unit_test(test_pitr),
  };

  return cmocka_run_group_tests_name("pitr", tests, setup, teardown);
}
