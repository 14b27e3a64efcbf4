/*
 * test_edvd_snapshot.c - edvd's periodic store snapshots
 * (state.snapshot_dir, state.snapshot_interval_s = 1, state.snapshot_keep
 * = 2) while it provisions a tenant: the directory holds the newest two
 * snapshots, 0600, and nothing else of theirs; the newest, put in a state
 * directory of its own, is a store `edvctl state export` reads, holding
 * the tenant READY with the spec the live store has.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "edvd_harness.h"

static char snapdir[64] = "/tmp/edvd-snap-XXXXXX";
static char env_sim[3][400];

/* The snapshots in snapdir (names sorted; newest last), how many. */
static int snapshots(char names[][64], int max)
{
  DIR *d = opendir(snapdir);
  struct dirent *e;
  int n = 0;

  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "edv-", 4) == 0 && n < max)
      snprintf(names[n++], 64, "%.60s", e->d_name);
  closedir(d);
  qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
  return n;
}

/* `edvctl --state-dir SD state export FILE --journal`, then the file. */
static json_object *export_of(const char *sd, const char *file)
{
  const char *env[] = {env_sim[0], env_sim[1], env_sim[2], NULL};
  const char *args[] = {"--state-dir", sd,          "state", "export",
                        file,          "--journal", NULL};
  char *err = NULL;
  int rc = run_edvctl(env, args, NULL, &err);

  if (rc != 0)
    fail_msg("edvctl state export: %d %s", rc, err ? err : "");
  free(err);
  return json_object_from_file(file);
}

static json_object *tenant_in(json_object *doc, const char *id)
{
  json_object *t = json_object_object_get(doc, "tenants");

  for (size_t i = 0; i < json_object_array_length(t); i++) {
    json_object *o = json_object_array_get_idx(t, i);
    if (strcmp(json_object_get_string(json_object_object_get(o, "id")), id) ==
        0)
      return o;
  }
  return NULL;
}

static void test_snapshots(void **state)
{
  char body[512], names[16][64], path[400], sd[200], file[400];
  json_object *snap, *live, *t;
  struct stat sb;
  resp *r;
  int n = 0;

  (void)state;
  snprintf(env_sim[0], sizeof(env_sim[0]), "EDV_ENDPOINT=%s", sim_base);
  snprintf(env_sim[1], sizeof(env_sim[1]), "EDV_KEY_FILE=%s/sim-key.json", dir);
  snprintf(env_sim[2], sizeof(env_sim[2]), "EDV_PROJECT=edv-sim");
  spec(body, sizeof(body), "snap01", "snap-school", "Snap School", "basic");
  r = call("POST", "/api/tenants", "/api/tenants", tok_op, body, NULL, 202);
  resp_free(r);
  wait_phase("snap01", "READY", 120);
  /* Two seconds of snapshots after READY: the newest has the tenant. */
  sleep_ms(2600);
  /* A new snapshot is written before the oldest is pruned: between the
   * two there are three. */
  for (int i = 0; i < 100 && (n = snapshots(names, 16)) != 2; i++)
    sleep_ms(100);
  assert_int_equal(n, 2); /* state.snapshot_keep */
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof(path), "%s/%.63s", snapdir, names[i]);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(strlen(names[i]), strlen("edv-20261207T120000Z.db"));
  }
  /* The newest, as the store of a state directory of its own. */
  snprintf(sd, sizeof(sd), "%s/restored", snapdir);
  assert_int_equal(mkdir(sd, 0700), 0);
  snprintf(path, sizeof(path), "%s/%.63s", snapdir, names[n - 1]);
  snprintf(file, sizeof(file), "%s/edv.db", sd);
  assert_int_equal(link(path, file), 0);
  snprintf(file, sizeof(file), "%s/snap.json", snapdir);
  snap = export_of(sd, file);
  assert_non_null(snap);
  snprintf(file, sizeof(file), "%s/live.json", snapdir);
  live = export_of(dir, file);
  assert_non_null(live);
  t = tenant_in(snap, "snap01");
  assert_non_null(t);
  assert_string_equal(
      json_object_get_string(json_object_object_get(t, "phase")), "READY");
  assert_true(json_object_equal(
      json_object_object_get(t, "spec"),
      json_object_object_get(tenant_in(live, "snap01"), "spec")));
  assert_non_null(tenant_in(snap, "@platform"));
  json_object_put(snap);
  json_object_put(live);
}

static int setup(void **state)
{
  char conf[256];

  (void)state;
  if (!mkdtemp(snapdir))
    return -1;
  snprintf(conf, sizeof(conf),
           "state.snapshot_dir = %s\nstate.snapshot_interval_s = 1\n"
           "state.snapshot_keep = 2\n",
           snapdir);
  return eh_setup(conf);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_snapshots)};
  int rc = EH_MAIN("edvd-snapshot", tests, setup, NULL);
  char cmd[128];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", snapdir);
  if (system(cmd) != 0)
    rc = rc ? rc : 1;
  return rc;
}
