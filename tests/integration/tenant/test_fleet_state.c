/*
 * test_fleet_state.c - the store itself (edv/fleet.h, "The store itself")
 * on a fleet of tenants of every tier (several regions, operations SSH on
 * some, a display name with a quote) provisioned on the in-process
 * simulator:
 *   export/import  the export is 0600; imported into an empty state
 *                  directory and exported again it is the same bytes; a
 *                  second import is refused (store not empty); a bad field
 *                  is refused naming it, with nothing written; the
 *                  imported fleet plans "No changes" for every tenant.
 *   rebuild        from the cloud alone into an empty store: every
 *                  tenant's spec, tier, subnet and generation are the lost
 *                  store's, every tenant plans "No changes", the simulator
 *                  saw no mutating call, a resource that only looks like
 *                  ours is ignored, a tenant in its deletion grace is
 *                  SUSPENDED again; refused over records unless forced,
 *                  and forced it leaves a 0600 copy of the old file.
 *   rebuild-kill   `edvctl state rebuild --force` killed -9 at instants
 *                  spread over its run, ten times over one state
 *                  directory that already holds the fleet: it holds it
 *                  whole after every kill (the old records are replaced
 *                  in the same transaction as the new ones are written),
 *                  and the last, unkilled run gives the lost store's
 *                  records.
 *   snapshot       edv_fleet_snapshot() of a live store is a 0600 store
 *                  that state export reads identically; prune keeps the
 *                  newest N.
 * TENANTS (environment) sets the fleet's size (default 20).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "edv/fleet.h"
#include "pharness.h"
#include "tharness.h"

static th H;
static unsigned N = 20;
static char ids[64][16];
static edv_config *Cfg;

/* ---- public fleets on the harness's loop and engine ------------------- */

static void on_done(void *data, const edv_error *err)
{
  ph_ans *x = data;

  x->done = 1;
  if (err)
    x->err = *err;
}

static edv_fleet *pub_open(const char *dir)
{
  return ph_fleet_at(H.engine, dir, Cfg, "state-test");
}

static void pub_close(edv_fleet *f)
{
  ph_fleet_end(&H.loop, f);
}

static char *slurp(const char *path)
{
  FILE *fp = fopen(path, "r");
  char *buf;
  long n;

  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  rewind(fp);
  buf = calloc(1, (size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  return buf;
}

static void assert_mode_0600(const char *path)
{
  struct stat sb;

  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
}

static void export_to(edv_fleet *f, const char *path, unsigned flags)
{
  edv_error err;

  if (edv_fleet_state_export(f, path, flags, &err))
    fail_msg("export %s: %s", path, err.message);
  assert_mode_0600(path);
}

/* Every tenant of the fleet plans "No changes". */
static void assert_all_in_sync(edv_fleet *f)
{
  for (unsigned i = 0; i < N; i++) {
    ph_ans x = {0};
    edv_error err;
    json_object *v;

    assert_int_equal(edv_tenant_plan(f, ids[i], ph_on_ans, &x, &err), 0);
    ph_wait(&H.loop, &x);
    if (!x.a)
      fail_msg("plan %s: %s", ids[i], x.err.message);
    if (!json_object_object_get_ex(x.a, "in_sync", &v) ||
        !json_object_get_boolean(v))
      fail_msg("plan %s is not in sync: %s", ids[i],
               json_object_to_json_string(x.a));
    assert_int_equal(
        json_object_array_length(json_object_object_get(x.a, "changes")), 0);
    json_object_put(x.a);
  }
}

static void mkdir_in(char *buf, size_t size, const char *name)
{
  snprintf(buf, size, "%s/%s", H.dir, name);
  assert_int_equal(mkdir(buf, 0700), 0);
}

/* ---- set-up: the fleet whose store is "lost" -------------------------- */

/* st00 scaled basic -> standard: its VM keeps its old edv-tier label
 * (docs/status.md), its database gets the new one. */
static void scale_one(void)
{
  edv_fleet *f = pub_open(H.dir);
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(
      edv_tenant_scale(f, "st00", "standard", 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("scale: %s", x.err.message);
  json_object_put(x.a);
  pub_close(f);
}

/* st05 deleted: in its grace (SUSPENDED: VM stopped, out of the URL map
 * and DNS), which a rebuild must see. */
static void suspend_one(void)
{
  edv_fleet *f = pub_open(H.dir);
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(edv_tenant_delete(f, "st05", 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("delete: %s", x.err.message);
  json_object_put(x.a);
  pub_close(f);
  assert_int_equal(th_phase(&H, "st05"), EDV_PHASE_SUSPENDED);
}

static int setup(void **state)
{
  static const char *const tiers[] = {"basic", "standard", "premium",
                                      "enterprise"};
  const char *n = getenv("TENANTS"), *src = getenv("EDV_SOURCE_ROOT");
  th_opts o;
  edv_error err;
  char tf[600];

  (void)state;
  if (n && atoi(n) > 0 && atoi(n) <= 64)
    N = (unsigned)atoi(n);
  memset(&o, 0, sizeof(o));
  th_open(&H, &o);
  th_raise_quotas(&H, N);
  Cfg = edv_config_new();
  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  assert_int_equal(edv_config_set(Cfg, "tiers_file", tf, &err), 0);
  th_platform(&H);
  for (unsigned i = 0; i < N; i++) {
    edv__tenant_spec s;
    snprintf(ids[i], sizeof(ids[i]), "st%02u", i);
    /* Two in another region (its default quotas hold two). */
    th_spec(&s, ids[i], tiers[i % 4], i == 1 || i == 6 ? "europe-west1" : NULL);
    if (i == 2) /* the slug is the id: no alias hostname */
      memcpy(s.slug, s.id, sizeof(s.id));
    if (i == 3)
      snprintf(s.display_name, sizeof(s.display_name),
               "St. Mary's \"Upper\" School");
    if (edv__fleet_register(H.fleet, &s, &err))
      fail_msg("register %s: %s", ids[i], err.message);
    if (i % 5 == 4 && edv__fleet_set_ops_ssh(H.fleet, ids[i], 1, &err))
      fail_msg("ops_ssh %s: %s", ids[i], err.message);
    if (th_drive(&H, ids[i], EDV_DIR_UP, &err))
      fail_msg("drive %s: %s", ids[i], err.message);
  }
  assert_int_equal(th_wait(&H, 120000), 0);
  for (unsigned i = 0; i < N; i++)
    if (th_phase(&H, ids[i]) != EDV_PHASE_READY)
      fail_msg("%s is not READY: %s", ids[i], H.last_err);
  scale_one();
  if (N > 5)
    suspend_one();
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  th_close(&H);
  edv_config_free(Cfg);
  return 0;
}

/* The harness's store (the fleet's own) exported to PATH. */
static void export_lost(const char *path, unsigned flags)
{
  edv_fleet *f = pub_open(H.dir);

  export_to(f, path, flags);
  pub_close(f);
}

/* ---- export / import ---------------------------------------------------- */

static void test_export_import(void **state)
{
  char a[400], b[400], dir[300], bad[400];
  char *ta, *tb;
  edv_fleet *f;
  edv_error err;
  unsigned n = 0;

  (void)state;
  snprintf(a, sizeof(a), "%s/a.json", H.dir);
  export_lost(a, EDV_STATE_JOURNAL);
  mkdir_in(dir, sizeof(dir), "imported");
  f = pub_open(dir);
  if (edv_fleet_state_import(f, a, &n, &err))
    fail_msg("import: %s", err.message);
  assert_int_equal(n, N + 1); /* and the platform */
  snprintf(b, sizeof(b), "%s/b.json", H.dir);
  export_to(f, b, EDV_STATE_JOURNAL);
  ta = slurp(a);
  tb = slurp(b);
  assert_string_equal(ta, tb);
  assert_non_null(strstr(ta, "\"journal\""));
  /* Into a store that is no longer empty: refused, naming why. */
  assert_int_equal(edv_fleet_state_import(f, a, NULL, &err), EDV_ECONFLICT);
  assert_non_null(strstr(err.message, "not empty"));
  assert_all_in_sync(f);
  pub_close(f);

  /* A bad field: refused naming it, nothing written. */
  {
    json_object *doc = json_tokener_parse(ta), *t1, *spec, *steps;
    t1 = json_object_array_get_idx(json_object_object_get(doc, "tenants"), 2);
    spec = json_object_object_get(t1, "spec");
    json_object_object_add(spec, "tier", json_object_new_string("platinum"));
    snprintf(bad, sizeof(bad), "%s/bad.json", H.dir);
    assert_int_equal(json_object_to_file(bad, doc), 0);
    mkdir_in(dir, sizeof(dir), "bad");
    f = pub_open(dir);
    assert_int_equal(edv_fleet_state_import(f, bad, NULL, &err), EDV_EINVAL);
    assert_non_null(strstr(err.message, "tenants[2].spec"));
    assert_non_null(strstr(err.message, "tier"));
    /* A bad step state, later in the file. */
    json_object_object_add(spec, "tier",
                           json_object_new_string(json_object_get_string(
                               json_object_object_get(t1, "tier"))));
    steps = json_object_object_get(t1, "steps");
    json_object_object_add(json_object_array_get_idx(steps, 1), "state",
                           json_object_new_string("HALF"));
    assert_int_equal(json_object_to_file(bad, doc), 0);
    assert_int_equal(edv_fleet_state_import(f, bad, NULL, &err), EDV_EINVAL);
    assert_non_null(strstr(err.message, "tenants[2].steps[1].state"));
    json_object_put(doc);
    /* Nothing of either attempt was written. */
    snprintf(b, sizeof(b), "%s/bad-export.json", H.dir);
    export_to(f, b, EDV_STATE_JOURNAL);
    free(tb);
    tb = slurp(b);
    /* Parsed, not matched: json-c's versions print [] differently. */
    doc = json_tokener_parse(tb);
    assert_non_null(doc);
    assert_int_equal(
        json_object_array_length(json_object_object_get(doc, "tenants")), 0);
    assert_int_equal(
        json_object_array_length(json_object_object_get(doc, "journal")), 0);
    json_object_put(doc);
    pub_close(f);
  }
  free(ta);
  free(tb);
}

/* ---- rebuild ------------------------------------------------------------- */

static size_t records_in(const char *dir);

/* What a rebuild must give back of each tenant record. */
static void assert_same_records(const char *lost, const char *rebuilt)
{
  char *ta = slurp(lost), *tb = slurp(rebuilt);
  json_object *a = json_tokener_parse(ta), *b = json_tokener_parse(tb);
  json_object *at = json_object_object_get(a, "tenants");
  json_object *bt = json_object_object_get(b, "tenants");
  static const char *const keys[] = {"id",    "slug",       "tier",  "spec",
                                     "phase", "generation", "subnet"};

  assert_int_equal(json_object_array_length(at), json_object_array_length(bt));
  for (size_t i = 0; i < json_object_array_length(at); i++) {
    json_object *x = json_object_array_get_idx(at, i);
    json_object *y = json_object_array_get_idx(bt, i);
    for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
      if (!json_object_equal(json_object_object_get(x, keys[k]),
                             json_object_object_get(y, keys[k])))
        fail_msg(
            "tenants[%zu].%s: %s, rebuilt %s", i, keys[k],
            json_object_to_json_string(json_object_object_get(x, keys[k])),
            json_object_to_json_string(json_object_object_get(y, keys[k])));
  }
  json_object_put(a);
  json_object_put(b);
  free(ta);
  free(tb);
}

static json_object *rebuild(edv_fleet *f, unsigned flags)
{
  ph_ans x = {0};
  edv_error err;

  if (edv_fleet_state_rebuild(f, flags, ph_on_ans, &x, &err))
    fail_msg("rebuild: %s", err.message);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("rebuild: %s", x.err.message);
  return x.a;
}

static void test_rebuild(void **state)
{
  char lost[400], got[400], dir[300], path[400];
  json_object *fw = json_object_new_object(), *r, *allowed, *rule, *v;
  unsigned long mutations;
  edv_fleet *f;
  edv_error err;

  (void)state;
  snprintf(lost, sizeof(lost), "%s/lost.json", H.dir);
  export_lost(lost, 0);
  mutations = H.counts.mutations;
  /* Someone else's rule with a name like ours (no marker): ignored. */
  json_object_object_add(fw, "name",
                         json_object_new_string("edv-ghost-ops-ssh"));
  json_object_object_add(
      fw, "network",
      json_object_new_string("projects/edv-sim/global/networks/edv-tenants"));
  allowed = json_object_new_array();
  rule = json_object_new_object();
  json_object_object_add(rule, "IPProtocol", json_object_new_string("tcp"));
  json_object_array_add(allowed, rule);
  json_object_object_add(fw, "allowed", allowed);
  json_object_put(th_api(&H, EDV_API_COMPUTE, "POST",
                         "/compute/v1/projects/edv-sim/global/firewalls", fw));
  for (int i = 0; i < 500; i++) {
    v = th_api(&H, EDV_API_COMPUTE, "GET",
               "/compute/v1/projects/edv-sim/global/firewalls/"
               "edv-ghost-ops-ssh",
               NULL);
    if (v && json_object_object_get(v, "selfLink"))
      break;
    json_object_put(v);
    v = NULL;
    usleep(10000); /* the insert's operation runs on the simulator's clock */
  }
  assert_non_null(v);
  json_object_put(v);
  assert_true(H.counts.mutations > mutations); /* the tap counts them */

  /* A fleet closed while its rebuild reads: cancelled, nothing written. */
  mkdir_in(dir, sizeof(dir), "closed");
  f = pub_open(dir);
  {
    ph_ans x = {0};
    assert_int_equal(edv_fleet_state_rebuild(f, 0, ph_on_ans, &x, &err), 0);
    pub_close(f);
    ph_wait(&H.loop, &x);
    assert_null(x.a);
    assert_int_equal(x.err.code, EDV_ECANCELED);
  }
  assert_int_equal(records_in(dir), 0);

  mkdir_in(dir, sizeof(dir), "rebuilt");
  f = pub_open(dir);
  mutations = H.counts.mutations;
  r = rebuild(f, 0);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r, "tenants")), N);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r, "skipped")), 0);
  assert_string_equal(
      json_object_get_string(json_object_object_get(r, "platform")), "READY");
  json_object_put(r);
  /* Nothing changed in the cloud. */
  assert_int_equal(H.counts.mutations, mutations);
  snprintf(got, sizeof(got), "%s/rebuilt.json", H.dir);
  export_to(f, got, 0);
  assert_same_records(lost, got);
  assert_all_in_sync(f);

  /* Over records: refused, unless forced (then the old file is kept). */
  assert_int_equal(edv_fleet_state_rebuild(f, 0, ph_on_ans, NULL, &err),
                   EDV_ECONFLICT);
  assert_non_null(strstr(err.message, "not empty"));
  r = rebuild(f, EDV_STATE_FORCE);
  v = json_object_object_get(r, "backup");
  assert_non_null(v);
  snprintf(path, sizeof(path), "%s", json_object_get_string(v));
  assert_mode_0600(path);
  assert_non_null(strstr(path, "/rebuilt/edv.db.bak-"));
  json_object_put(r);
  export_to(f, got, 0);
  assert_same_records(lost, got);
  assert_int_equal(H.counts.mutations, mutations);
  pub_close(f);
}

/* ---- rebuild under kill -9 --------------------------------------------- */

/* Runs `edvctl ... state rebuild --force` on `dir` against the in-process
 * simulator (the loop runs meanwhile), killed -9 after kill_ms (0:
 * never). Its exit code, or -SIGKILL. */
static int edvctl_rebuild(const char *dir, unsigned kill_ms)
{
  const char *build = getenv("EDV_BUILD_ROOT");
  char prog[512], tf[600];
  const char *src = getenv("EDV_SOURCE_ROOT");
  const char *argv[] = {prog,      "--endpoint", H.base,    "--key-file",
                        H.key,     "--project",  "edv-sim", "--state-dir",
                        dir,       "--quiet",    "state",   "rebuild",
                        "--force", NULL};
  uint64_t kill_at = th_now_ms() + kill_ms, end = th_now_ms() + 60000;
  pid_t pid;
  int st;

  snprintf(prog, sizeof(prog), "%s/src/cli/edvctl", build ? build : ".");
  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0);
    dup2(nul, 1);
    setenv("EDV_TIERS_FILE", tf, 1);
    execv(prog, (char *const *)argv);
    _exit(127);
  }
  while (waitpid(pid, &st, WNOHANG) != pid) {
    if (kill_ms && th_now_ms() >= kill_at) {
      kill(pid, SIGKILL);
      kill_ms = 0;
    }
    if (th_now_ms() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("edvctl did not end in 60 s");
    }
    uv_run(&H.loop, UV_RUN_NOWAIT); /* the simulator answers */
    usleep(1000);
  }
  return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
}

/* How many records the store of `dir` holds. */
static size_t records_in(const char *dir)
{
  char path[400], *text;
  edv_fleet *f = pub_open(dir);
  json_object *doc;
  size_t n;

  snprintf(path, sizeof(path), "%s/check.json", dir);
  export_to(f, path, 0);
  pub_close(f);
  text = slurp(path);
  doc = json_tokener_parse(text);
  n = json_object_array_length(json_object_object_get(doc, "tenants"));
  json_object_put(doc);
  free(text);
  return n;
}

static void test_rebuild_kill(void **state)
{
  char lost[400], got[400], dir[300];
  unsigned long mutations = H.counts.mutations;
  unsigned kills = 0, whole;
  uint64_t t0;
  size_t n;
  edv_fleet *f;

  (void)state;
  snprintf(lost, sizeof(lost), "%s/lost-k.json", H.dir);
  export_lost(lost, 0);
  mkdir_in(dir, sizeof(dir), "killed");
  /* How long a whole run takes here: the kills are spread over it. */
  t0 = th_now_ms();
  assert_int_equal(edvctl_rebuild(dir, 0), 0);
  whole = (unsigned)(th_now_ms() - t0);
  for (unsigned k = 0; k < 10; k++) {
    int rc = edvctl_rebuild(dir, 1 + whole * k / 10);
    kills += rc == -SIGKILL;
    if (rc != -SIGKILL && rc != 0)
      fail_msg("edvctl state rebuild: exit %d", rc);
    n = records_in(dir);
    /* The old records stay until the new ones replace them, at once. */
    if (n != N + 1)
      fail_msg("after kill %u the store holds %zu records", k, n);
  }
  assert_int_equal(edvctl_rebuild(dir, 0), 0);
  f = pub_open(dir);
  snprintf(got, sizeof(got), "%s/killed.json", H.dir);
  export_to(f, got, 0);
  assert_same_records(lost, got);
  assert_all_in_sync(f);
  pub_close(f);
  assert_int_equal(H.counts.mutations, mutations);
  fprintf(stderr, "# %u of 10 runs killed -9 (a whole run: %u ms)\n", kills,
          whole);
  assert_true(kills >= 5);
}

/* ---- snapshots ------------------------------------------------------------
 */

static void test_snapshot(void **state)
{
  char dir[300], path[400], a[400], b[400], *ta, *tb;
  edv_fleet *live, *f;
  edv_error err;
  ph_ans x = {0};

  (void)state;
  mkdir_in(dir, sizeof(dir), "snap");
  snprintf(path, sizeof(path), "%s/edv.db", dir);
  live = pub_open(H.dir);
  assert_int_equal(edv_fleet_snapshot(live, path, on_done, &x, &err), 0);
  assert_int_equal(x.done, 0); /* never inside the call */
  ph_wait(&H.loop, &x);
  assert_int_equal(x.err.code, 0);
  assert_mode_0600(path);
  snprintf(a, sizeof(a), "%s/live.json", H.dir);
  export_to(live, a, EDV_STATE_JOURNAL);
  f = pub_open(dir);
  snprintf(b, sizeof(b), "%s/snap.json", H.dir);
  export_to(f, b, EDV_STATE_JOURNAL);
  pub_close(f);
  pub_close(live);
  ta = slurp(a);
  tb = slurp(b);
  assert_string_equal(ta, tb);
  free(ta);
  free(tb);

  /* Prune keeps the newest N of its own names, nothing else. */
  mkdir_in(dir, sizeof(dir), "snaps");
  for (int i = 0; i < 4; i++) {
    FILE *fp;
    assert_int_equal(edv_fleet_snapshot_name(dir,
                                             1796600000000LL + i * 3600000LL,
                                             path, sizeof(path)),
                     0);
    assert_non_null(fp = fopen(path, "w"));
    fclose(fp);
  }
  snprintf(path, sizeof(path), "%s/notes.db", dir);
  fclose(fopen(path, "w"));
  assert_int_equal(edv_fleet_snapshot_prune(dir, 2, &err), 0);
  assert_int_equal(access(path, F_OK), 0);
  edv_fleet_snapshot_name(dir, 1796600000000LL, path, sizeof(path));
  assert_int_not_equal(access(path, F_OK), 0);
  edv_fleet_snapshot_name(dir, 1796600000000LL + 3600000LL, path, sizeof(path));
  assert_int_not_equal(access(path, F_OK), 0);
  edv_fleet_snapshot_name(dir, 1796600000000LL + 2 * 3600000LL, path,
                          sizeof(path));
  assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_export_import),
      cmocka_unit_test(test_rebuild),
      cmocka_unit_test(test_rebuild_kill),
      cmocka_unit_test(test_snapshot),
  };

  return cmocka_run_group_tests_name("fleet-state", tests, setup, teardown);
}
