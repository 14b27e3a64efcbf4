/*
 * test_edvd_remote.c - `edvctl --server`: the tenant commands through the
 * built edvd (argv[1]) with --sim, run as the built edvctl (argv[2]); and
 * edvd serving HTTPS (server.tls_cert/server.tls_key).
 *
 * Remote output is compared with the local mode's on the same state
 * directory (SQLite: edvd writes, the local edvctl only reads): list,
 * history, state and get (with the live state of the VM, database and
 * certificate, which edvd observes for GET ?observe=true) must be
 * byte-identical in both formats: the API answers with the library's
 * documents, which the local mode prints (`get --format json` once its
 * `observed` and `run`, which may differ in time, are set aside); so must
 * `tenant plan` (GET .../plan, with its exit code) and the day-2
 * documents. Scale, apply, retry, resume, recover and move go through POST
 * .../scale, .../apply, .../retry, .../resume, .../recover and .../move;
 * the simulator's state says they did what they say. The TLS certificate is
 * made at test time with openssl (nothing PEM-like is kept in the tree).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

static char tokfile_op[320], tokfile_view[320];
static char env_sim[3][400]; /* the local mode's cloud: the simulator */

/* Writes `tok` to `path` with `mode`. */
static void write_file(const char *path, const char *text, mode_t mode)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

/* edvctl --server BASE --token-file FILE [--format F] ARGS... */
static int remote(const char *tokfile, const char *format, const char *a1,
                  const char *a2, const char *a3, char **out, char **err)
{
  const char *args[16];
  int n = 0;

  args[n++] = "--server";
  args[n++] = base;
  args[n++] = "--token-file";
  args[n++] = tokfile;
  args[n++] = "--format";
  args[n++] = format;
  args[n++] = "tenant";
  args[n++] = a1;
  if (a2)
    args[n++] = a2;
  if (a3)
    args[n++] = a3;
  args[n] = NULL;
  return run_edvctl(NULL, args, out, err);
}

/* edvctl --server ... tenant delete ID --now --yes (no grace). */
static int remote_purge(const char *tokfile, const char *format, const char *id,
                        char **out, char **err)
{
  const char *args[] = {"--server", base,    "--token-file", tokfile,
                        "--format", format,  "tenant",       "delete",
                        id,         "--now", "--yes",        NULL};

  return run_edvctl(NULL, args, out, err);
}

/* edvctl --state-dir DIR [--format F] tenant A1 [A2 [A3]], the cloud the
 * simulator. */
static int local3(const char *format, const char *a1, const char *a2,
                  const char *a3, char **out, char **err)
{
  const char *env[] = {env_sim[0], env_sim[1], env_sim[2], NULL};
  const char *args[] = {
      "--state-dir", dir, "--format", format, "tenant", a1, a2, a3, NULL};

  return run_edvctl(env, args, out, err);
}

static int local(const char *format, const char *a1, const char *a2, char **out,
                 char **err)
{
  return local3(format, a1, a2, NULL, out, err);
}

/* A JSON document without the keys that may differ in time. */
static const char *doc_settled(const char *text, char *buf, size_t size)
{
  json_object *o = json_tokener_parse(text);

  assert_non_null(o);
  json_object_object_del(o, "observed");
  json_object_object_del(o, "run");
  snprintf(buf, size, "%s",
           json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
  json_object_put(o);
  return buf;
}

static int setup(void **state)
{
  (void)state;
  /* No drift pass but the first: the scale/apply test makes drift. No
   * health probes: their points would change `tenant metrics` between
   * the remote and the local call. No resume pass but the first: the
   * retry test leaves a tenant for `tenant resume` to carry on. */
  if (eh_setup("server.drift_interval_s = 0\nserver.health_interval_s = 0\n"
               "server.reconcile_interval_s = 0\n"))
    return -1;
  snprintf(tokfile_op, sizeof(tokfile_op), "%s/op.token", dir);
  snprintf(tokfile_view, sizeof(tokfile_view), "%s/view.token", dir);
  snprintf(env_sim[0], sizeof(env_sim[0]), "EDV_ENDPOINT=%s", sim_base);
  snprintf(env_sim[1], sizeof(env_sim[1]), "EDV_KEY_FILE=%s/sim-key.json", dir);
  snprintf(env_sim[2], sizeof(env_sim[2]), "EDV_PROJECT=edv-sim");
  return 0;
}

static void test_remote_lifecycle(void **state)
{
  char *out, *err, *lo, *le;
  const char *const fmts[] = {"table", "json"};
  json_object *o;

  (void)state;
  write_file(tokfile_op, tok_op, 0600);
  write_file(tokfile_view, tok_view, 0600);
  {
    const char *args[] = {"--server", base,          "--token-file",
                          tokfile_op, "tenant",      "create",
                          "rem001",   "riverside",   "Riverside School",
                          "basic",    "us-central1", "--wait",
                          NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 0);
  }
  /* The same summary as the local mode; progress lines from the journal. */
  assert_non_null(strstr(out, "Tenant       rem001: Riverside School\n"));
  assert_non_null(strstr(out, "Phase        READY\n"));
  assert_non_null(strstr(err, "rem001: phase PROVISIONING"));
  assert_non_null(strstr(err, "rem001: vm: done"));
  assert_non_null(strstr(err, "rem001 is READY"));
  assert_null(strstr(out, tok_op));
  assert_null(strstr(err, tok_op));
  free(out);
  free(err);
  assert_string_equal(phase_of("rem001"), "READY");

  /* list, history, state: byte-identical to the local mode. */
  for (int f = 0; f < 2; f++) {
    const char *cmds[][2] = {{"list", NULL},
                             {"history", "rem001"},
                             {"state", "rem001"},
                             {"get", "rem001"}};
    for (size_t c = 0; c < sizeof(cmds) / sizeof(*cmds); c++) {
      assert_int_equal(remote(tokfile_view, fmts[f], cmds[c][0], cmds[c][1],
                              NULL, &out, &err),
                       0);
      assert_int_equal(local(fmts[f], cmds[c][0], cmds[c][1], &lo, &le), 0);
      if (strcmp(cmds[c][0], "get") == 0 && f == 1) {
        /* One document: GET /api/tenants/ID?observe=true is what the
         * library answers locally (the live state set aside). */
        static char a[65536], b[65536];
        o = json_tokener_parse(out);
        assert_non_null(json_object_object_get(o, "observed"));
        assert_non_null(json_object_object_get(o, "steps"));
        assert_string_equal(json_object_get_string(json_object_object_get(
                                json_object_object_get(o, "resources"), "vm")),
                            "edv-rem001-vm");
        assert_non_null(json_object_object_get(o, "created"));
        assert_null(json_object_object_get(o, "created_ms"));
        json_object_put(o);
        assert_string_equal(doc_settled(out, a, sizeof(a)),
                            doc_settled(lo, b, sizeof(b)));
      } else {
        assert_string_equal(out, lo);
      }
      if (strcmp(cmds[c][0], "get") == 0 && f == 0)
        assert_non_null(strstr(out, "; RUNNING, 10."));
      free(out);
      free(err);
      free(lo);
      free(le);
    }
  }

  /* The table is rendered from the document alone: another tiers file on
   * this machine (its basic tier another size), or none, changes
   * nothing; the tier's sizes are edvd's. */
  {
    char tf[400], envf[450], *src = getenv("EDV_SOURCE_ROOT");
    char path[400];
    json_object *tiers, *basic;
    const char *files[] = {tf, "/nonexistent/tiers.json"};

    snprintf(path, sizeof(path), "%s/tiers.json", src ? src : ".");
    tiers = json_object_from_file(path);
    assert_non_null(tiers);
    basic =
        json_object_array_get_idx(json_object_object_get(tiers, "tiers"), 0);
    assert_string_equal(jstr(basic, "name"), "basic");
    json_object_object_add(basic, "machine_type",
                           json_object_new_string("e2-medium"));
    json_object_object_add(basic, "disk_gb", json_object_new_int(30));
    snprintf(tf, sizeof(tf), "%s/other-tiers.json", dir);
    assert_int_equal(json_object_to_file(tf, tiers), 0);
    json_object_put(tiers);
    assert_int_equal(local("table", "get", "rem001", &lo, &le), 0);
    assert_non_null(strstr(lo, "VM           edv-rem001-vm: e2-small, 20 GB "
                               "pd-ssd; RUNNING"));
    assert_non_null(strstr(lo, "Database     edv-rem001-db-1: PostgreSQL, "
                               "db-f1-micro; RUNNABLE"));
    for (int i = 0; i < 2; i++) {
      const char *env[] = {envf, NULL};
      const char *args[] = {"--server", base,  "--token-file", tokfile_view,
                            "tenant",   "get", "rem001",       NULL};
      snprintf(envf, sizeof(envf), "EDV_TIERS_FILE=%s", files[i]);
      assert_int_equal(run_edvctl(env, args, &out, &err), 0);
      assert_string_equal(out, lo);
      free(out);
      free(err);
    }
    free(lo);
    free(le);
  }

  /* Delete through the API: first SUSPENDED (its grace), undeleted
   * (READY), then --now: DELETED with its history; gone from list. */
  assert_int_equal(
      remote(tokfile_op, "table", "delete", "rem001", "--yes", &out, &err), 0);
  assert_non_null(strstr(out, "Tenant rem001 suspended; purged after "));
  free(out);
  free(err);
  assert_string_equal(phase_of("rem001"), "SUSPENDED");
  assert_int_equal(
      remote(tokfile_op, "table", "undelete", "rem001", NULL, &out, &err), 0);
  assert_non_null(strstr(err, "rem001 is READY"));
  free(out);
  free(err);
  assert_string_equal(phase_of("rem001"), "READY");
  assert_int_equal(remote_purge(tokfile_op, "table", "rem001", &out, &err), 0);
  assert_string_equal(out, "Tenant rem001 deleted.\n");
  free(out);
  free(err);
  assert_string_equal(phase_of("rem001"), "DELETED");
  assert_int_equal(remote(tokfile_view, "json", "list", NULL, NULL, &out, &err),
                   0);
  o = json_tokener_parse(out);
  assert_non_null(o);
  assert_int_equal(
      json_object_array_length(json_object_object_get(o, "tenants")), 0);
  json_object_put(o);
  free(out);
  free(err);
  assert_int_equal(
      remote(tokfile_view, "json", "list", "--all", NULL, &out, &err), 0);
  assert_int_equal(local("json", "list", "--all", &lo, &le), 0);
  assert_string_equal(out, lo);
  free(out);
  free(err);
  free(lo);
  free(le);
  assert_int_equal(
      remote(tokfile_op, "table", "delete", "rem001", "--yes", &out, &err), 3);
  assert_non_null(strstr(err, "tenant 'rem001' is already deleted"));
  free(out);
  free(err);

  /* Recovered through POST .../recover from the final backup the delete
   * left: READY, its new instance restored from that backup; a second
   * recover is refused (exit 4, naming why). */
  {
    json_object *b = sim_resource("/simRestores/edv-rem001-db-2");
    assert_null(b);
    assert_int_equal(
        remote(tokfile_op, "table", "recover", "rem001", NULL, &out, &err), 0);
    assert_non_null(strstr(err, "rem001 is READY"));
    free(out);
    free(err);
    assert_string_equal(phase_of("rem001"), "READY");
    b = sim_resource("/simRestores/edv-rem001-db-2");
    assert_non_null(b);
    assert_non_null(strstr(jstr(b, "source"), "/backups/"));
    json_object_put(b);
    assert_int_equal(
        remote(tokfile_op, "table", "recover", "rem001", NULL, &out, &err), 4);
    assert_non_null(strstr(err, "only a DELETED tenant"));
    free(out);
    free(err);
  }

  /* Moved through POST .../move: READY in europe-west1 on a new instance
   * restored from the old one's final backup, the old one gone; its own
   * region again or an unknown one: refused naming the field. */
  {
    const char *mv[] = {"--server", base,   "--token-file", tokfile_op,
                        "tenant",   "move", "rem001",       "--region",
                        NULL,       NULL};
    json_object *b;
    int rc;

    mv[8] = "europe-west1";
    assert_int_equal(run_edvctl(NULL, mv, &out, &err), 0);
    free(out);
    free(err);
    assert_string_equal(phase_of("rem001"), "READY");
    assert_null(sim_resource("/instances/edv-rem001-db-2"));
    b = sim_resource("/instances/edv-rem001-db-3");
    assert_non_null(b);
    assert_string_equal(jstr(b, "region"), "europe-west1");
    json_object_put(b);
    b = sim_resource("/simRestores/edv-rem001-db-3");
    assert_non_null(b);
    assert_non_null(strstr(jstr(b, "source"), "/backups/"));
    json_object_put(b);
    rc = run_edvctl(NULL, mv, &out, &err);
    if (rc == 0 || !strstr(err, "region"))
      fail_msg("same region: rc %d: %s", rc, err);
    free(out);
    free(err);
    mv[8] = "mars-north1";
    rc = run_edvctl(NULL, mv, &out, &err);
    if (rc == 0 || !strstr(err, "'region'"))
      fail_msg("unknown region: rc %d: %s", rc, err);
    free(out);
    free(err);
  }
  /* A failover (from_latest_backup) needs a backup kept outside the old
   * region: none yet, refused with nothing done. */
  {
    const char *fo[] = {"--server",
                        base,
                        "--token-file",
                        tokfile_op,
                        "tenant",
                        "move",
                        "rem001",
                        "--region",
                        "us-central1",
                        "--from-latest-backup",
                        NULL};
    int rc = run_edvctl(NULL, fo, &out, &err);

    if (rc != 4 || !strstr(err, "no successful backup kept outside"))
      fail_msg("failover without a backup: rc %d: %s", rc, err);
    free(out);
    free(err);
    assert_string_equal(phase_of("rem001"), "READY");
    assert_null(sim_resource("/instances/edv-rem001-db-4"));
  }
}

/* edvctl [--server ... --token-file TOK] --format F release A1 [A2 [A3 A4]]:
 * remote with a token file, else local on the same state directory. */
static int release_cmd(const char *tokfile, const char *format,
                       const char *const *rargs, char **out, char **err)
{
  const char *env[] = {env_sim[0], env_sim[1], env_sim[2], NULL};
  const char *args[20];
  int n = 0;

  if (tokfile) {
    args[n++] = "--server";
    args[n++] = base;
    args[n++] = "--token-file";
    args[n++] = tokfile;
  } else {
    args[n++] = "--state-dir";
    args[n++] = dir;
  }
  args[n++] = "--format";
  args[n++] = format;
  args[n++] = "release";
  while (*rargs && n < 19)
    args[n++] = *rargs++;
  args[n] = NULL;
  return run_edvctl(tokfile ? NULL : env, args, out, err);
}

/* Releases through POST/GET /api/releases: roles, a refused image that
 * records nothing (exit 2 naming the field), a duplicate (exit 4), and the
 * same documents (keys and bytes) remote and local. */
static void test_remote_releases(void **state)
{
  const char *bad[] = {"create", "2.0.0", "--image-family", "nope", NULL};
  const char *good[] = {"create", "2.0.0", "--image-family", "edv-remote",
                        NULL};
  const char *list[] = {"list", NULL};
  char *out, *err, *lo, *le;
  json_object *o;
  resp *r;

  (void)state;
  write_file(tokfile_op, tok_op, 0600);
  write_file(tokfile_view, tok_view, 0600);
  assert_int_equal(
      sim_api_data("POST", "/compute/v1/projects/edv-sim/global/images",
                   "{\"name\":\"edv-remote-1\",\"family\":\"edv-remote\","
                   "\"rawDisk\":{\"source\":\"https://storage.googleapis.com/"
                   "b/edv-remote-1.tar.gz\"}}"),
      0);
  /* A viewer reads, but cannot create: 403, exit 6. */
  assert_int_equal(release_cmd(tokfile_view, "table", good, &out, &err), 6);
  assert_non_null(strstr(err, "needs role operator"));
  free(out);
  free(err);
  expect_error("POST", "/api/releases", "/api/releases", tok_op,
               "{\"version\":\"2.0.0\",\"image_family\":\"nope\"}", 400,
               "image_family");
  assert_int_equal(release_cmd(tokfile_op, "table", bad, &out, &err), 2);
  assert_non_null(strstr(err, "field 'image_family'"));
  free(out);
  free(err);
  r = call("GET", "/api/releases", "/api/releases", tok_view, NULL, NULL, 200);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r->json, "releases")), 0);
  resp_free(r);
  assert_int_equal(release_cmd(tokfile_op, "json", good, &out, &err), 0);
  o = json_tokener_parse(out);
  assert_string_equal(jstr(o, "image"),
                      "projects/edv-sim/global/images/edv-remote-1");
  json_object_put(o);
  free(out);
  free(err);
  assert_int_equal(release_cmd(tokfile_op, "table", good, &out, &err), 4);
  assert_non_null(strstr(err, "already exists"));
  free(out);
  free(err);
  /* The same document through the API, edvctl --server and edvctl. */
  r = call("GET", "/api/releases", "/api/releases", tok_view, NULL, NULL, 200);
  for (int f = 0; f < 2; f++) {
    const char *fmt = f ? "json" : "table";
    assert_int_equal(release_cmd(tokfile_view, fmt, list, &out, &err), 0);
    assert_int_equal(release_cmd(NULL, fmt, list, &lo, &le), 0);
    assert_string_equal(out, lo);
    if (f) {
      o = json_tokener_parse(out);
      assert_string_equal(
          json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
          json_object_to_json_string_ext(r->json, JSON_C_TO_STRING_PLAIN));
      json_object_put(o);
    }
    free(out);
    free(err);
    free(lo);
    free(le);
  }
  resp_free(r);
}

static void test_remote_errors(void **state)
{
  char *out, *err, env_tok[200];

  (void)state;
  write_file(tokfile_op, tok_op, 0600);
  write_file(tokfile_view, tok_view, 0600);
  /* A viewer cannot create: the API's 403, exit 6. */
  {
    const char *args[] = {"--server", base,     "--token-file", tokfile_view,
                          "tenant",   "create", "rem002",       "hillside",
                          "Hillside", "basic",  "us-central1",  "--no-wait",
                          NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 6);
    assert_non_null(strstr(err, "needs role operator"));
    assert_null(strstr(err, tok_view));
    free(out);
    free(err);
  }
  assert_string_equal(phase_of("rem002"), "?");
  /* The token from EDV_TOKEN works the same. */
  snprintf(env_tok, sizeof(env_tok), "EDV_TOKEN=%s", tok_view);
  {
    const char *env[] = {env_tok, NULL};
    const char *args[] = {"--server", base, "tenant", "list", NULL};
    assert_int_equal(run_edvctl(env, args, &out, &err), 0);
    assert_non_null(strstr(out, "ID "));
    free(out);
    free(err);
  }
  /* No token at all: a clear error, nothing sent. */
  {
    const char *args[] = {"--server", base, "tenant", "list", NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 6);
    assert_non_null(strstr(err, "no API token"));
    assert_non_null(strstr(err, "EDV_TOKEN"));
    free(out);
    free(err);
  }
  /* A token file others may read is refused, naming the file. */
  write_file(tokfile_view, tok_view, 0640);
  assert_int_equal(
      remote(tokfile_view, "table", "list", NULL, NULL, &out, &err), 6);
  assert_non_null(strstr(err, tokfile_view));
  assert_non_null(strstr(err, "readable by group or others"));
  assert_null(strstr(err, tok_view));
  free(out);
  free(err);
  write_file(tokfile_view, tok_view, 0600);
  /* A wrong token: 401, exit 6. */
  {
    const char *env[] = {"EDV_TOKEN=edv_00000000_notatoken", NULL};
    const char *args[] = {"--server", base, "tenant", "list", NULL};
    assert_int_equal(run_edvctl(env, args, &out, &err), 6);
    assert_non_null(strstr(err, "EUNAUTH"));
    free(out);
    free(err);
  }
  /* Unknown tenant: 404, exit 3; a bad field: exit 2 naming it. */
  assert_int_equal(
      remote(tokfile_view, "table", "get", "nosuch", NULL, &out, &err), 3);
  assert_non_null(strstr(err, "tenant 'nosuch' not found"));
  free(out);
  free(err);
  {
    const char *args[] = {"--server", base,     "--token-file", tokfile_op,
                          "tenant",   "create", "rem003",       "Bad_Slug",
                          "Bad",      "basic",  "us-central1",  "--no-wait",
                          NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 2);
    assert_non_null(strstr(err, "SLUG 'Bad_Slug': field 'slug'"));
    free(out);
    free(err);
  }
  /* A plan of an unknown tenant: GET .../plan's 404, exit 3. */
  assert_int_equal(
      remote(tokfile_view, "table", "plan", "nosuch", NULL, &out, &err), 3);
  assert_non_null(strstr(err, "tenant 'nosuch' not found"));
  free(out);
  free(err);
  /* Commands the API cannot express. */
  {
    const char *args[] = {
        "--server", base, "--token-file", tokfile_op, "platform", "init", NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 2);
    assert_non_null(strstr(err, "not available with --server"));
    free(out);
    free(err);
  }
  /* Nobody listening: a connection error, exit 5. */
  {
    const char *args[] = {"--server",
                          "http://127.0.0.1:1",
                          "--token-file",
                          tokfile_view,
                          "tenant",
                          "list",
                          NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 5);
    assert_non_null(strstr(err, "cannot reach edvd"));
    free(out);
    free(err);
  }
  /* The token never goes over plain http to another host. */
  {
    const char *args[] = {"--server",
                          "http://192.0.2.10:8080",
                          "--token-file",
                          tokfile_view,
                          "tenant",
                          "list",
                          NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 2);
    assert_non_null(strstr(err, "refusing to send the API token"));
    free(out);
    free(err);
  }
}

/* Sets the simulated project's CPUS quota in us-central1. */
static void cpu_quota(int limit)
{
  char b[160];
  resp *r;

  snprintf(b, sizeof(b),
           "{\"metric\":\"CPUS\",\"region\":\"us-central1\",\"limit\":%d}",
           limit);
  r = http("POST", sim_base, "/_sim/quotas", NULL, b, NULL);
  assert_true(r->status >= 200 && r->status < 300);
  resp_free(r);
}

static void test_remote_retry(void **state)
{
  char *out, *err;
  json_object *o;

  (void)state;
  write_file(tokfile_op, tok_op, 0600);
  /* No CPU left: the VM step fails for good, the tenant is FAILED. */
  cpu_quota(0);
  {
    const char *args[] = {"--server", base,     "--token-file", tokfile_op,
                          "tenant",   "create", "rem010",       "oakwood",
                          "Oakwood",  "basic",  "us-central1",  "--wait",
                          NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 5);
  }
  assert_non_null(strstr(out, "Phase        FAILED\n"));
  assert_non_null(strstr(err, "rem010: vm: FAILED: EQUOTA"));
  assert_non_null(strstr(err, "edvctl: EQUOTA (403 quotaExceeded)"));
  assert_non_null(strstr(err, "`edvctl tenant retry rem010`"));
  free(out);
  free(err);
  assert_string_equal(phase_of("rem010"), "FAILED");
  /* CPUs again. A FAILED tenant is not resumed (the library's decision,
   * POST .../resume's 409): still FAILED, no VM made. */
  cpu_quota(1000);
  assert_int_equal(
      remote(tokfile_op, "table", "resume", "rem010", NULL, &out, &err), 4);
  assert_non_null(strstr(err, "is FAILED; use `tenant retry`"));
  free(out);
  free(err);
  assert_string_equal(phase_of("rem010"), "FAILED");
  assert_null(sim_resource("/instances/edv-rem010-vm"));
  /* retry (POST .../retry) drives it to READY: one whole footprint in the
   * simulator, one VM. */
  assert_int_equal(
      remote(tokfile_op, "table", "retry", "rem010", NULL, &out, &err), 0);
  assert_non_null(strstr(out, "Phase        READY\n"));
  assert_non_null(strstr(err, "rem010: vm: done"));
  free(out);
  free(err);
  assert_string_equal(phase_of("rem010"), "READY");
  {
    char why[512];
    json_object *vm = sim_resource("/instances/edv-rem010-vm");
    resp *m;
    if (footprint_ok("rem010", "oakwood", why, sizeof(why)))
      fail_msg("after retry: %s", why);
    assert_non_null(vm);
    assert_string_equal(jstr(vm, "status"), "RUNNING");
    json_object_put(vm);
    /* edvctl asked the routes, not a create or a DELETE of its own. */
    m = http("GET", base, "/metrics", tok_view, NULL, NULL);
    assert_int_equal(m->status, 200);
    assert_non_null(strstr(
        m->body,
        "route=\"/api/tenants/{id}/retry\",method=\"POST\",code=\"2xx\""));
    assert_non_null(strstr(
        m->body,
        "route=\"/api/tenants/{id}/resume\",method=\"POST\",code=\"4xx\""));
    resp_free(m);
  }
  /* Retrying a tenant that is not FAILED is a conflict; resuming a READY
   * one has nothing to do. */
  assert_int_equal(
      remote(tokfile_op, "table", "retry", "rem010", NULL, &out, &err), 4);
  assert_non_null(strstr(err, "is READY, not FAILED"));
  free(out);
  free(err);
  assert_int_equal(
      remote(tokfile_op, "table", "resume", "rem010", NULL, &out, &err), 0);
  assert_string_equal(out, "Tenant rem010 is READY: nothing to resume.\n");
  free(out);
  free(err);
  /* A run left at a durable point (a local create --async that ended,
   * which edvd, with no resume pass, does not carry on): resume through
   * edvd (POST .../resume) drives it to READY, one footprint. */
  {
    const char *env[] = {env_sim[0], env_sim[1], env_sim[2], NULL};
    const char *args[] = {"--state-dir", dir,       "tenant",  "create",
                          "rem011",      "elmwood", "Elmwood", "basic",
                          "us-central1", "--async", NULL};
    char why[512];
    assert_int_equal(run_edvctl(env, args, &out, &err), 0);
    free(out);
    free(err);
    assert_int_equal(
        remote(tokfile_op, "table", "resume", "rem011", NULL, &out, &err), 0);
    assert_non_null(strstr(err, "rem011 is READY"));
    assert_non_null(strstr(out, "Phase        READY\n"));
    free(out);
    free(err);
    assert_string_equal(phase_of("rem011"), "READY");
    if (footprint_ok("rem011", "elmwood", why, sizeof(why)))
      fail_msg("after resume: %s", why);
  }
  assert_int_equal(
      remote(tokfile_op, "table", "resume", "--all", NULL, &out, &err), 2);
  assert_non_null(strstr(err, "not available with --server"));
  free(out);
  free(err);
  /* delete --format json: the final document, nothing on stderr. */
  assert_int_equal(remote_purge(tokfile_op, "json", "rem010", &out, &err), 0);
  o = json_tokener_parse(out);
  assert_non_null(o);
  assert_string_equal(
      json_object_get_string(json_object_object_get(o, "phase")), "DELETED");
  json_object_put(o);
  assert_string_equal(err, "");
  free(out);
  free(err);
}

/*
 * `tenant plan ID --detailed-exitcode` through edvd (GET .../plan, a
 * viewer's) and locally, in both formats: the same output and the same
 * exit code, `want` (0 in sync, 2 changes). Returns 0, or fails.
 */
static int plan_both(const char *id, int want)
{
  const char *const fmts[] = {"table", "json"};
  char *out, *err, *lo, *le;

  for (int f = 0; f < 2; f++) {
    assert_int_equal(remote(tokfile_view, fmts[f], "plan", id,
                            "--detailed-exitcode", &out, &err),
                     want);
    assert_int_equal(
        local3(fmts[f], "plan", id, "--detailed-exitcode", &lo, &le), want);
    assert_string_equal(out, lo);
    if (f == 0)
      assert_non_null(strstr(out, want ? "  + Firewall: load balancer to VM"
                                       : "No changes."));
    free(out);
    free(err);
    free(lo);
    free(le);
  }
  return 0;
}

static void test_remote_scale_apply(void **state)
{
  char *out, *err, name[300];
  json_object *o;

  (void)state;
  write_file(tokfile_op, tok_op, 0600);
  write_file(tokfile_view, tok_view, 0600);
  {
    const char *args[] = {"--server", base,       "--token-file", tokfile_op,
                          "-q",       "tenant",   "create",       "rem020",
                          "lakeview", "Lakeview", "basic",        "us-central1",
                          "--wait",   NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 0);
    free(out);
    free(err);
  }
  check_tenant_cloud("rem020", "e2-small", "db-f1-micro", 0, 0);
  /* --async: accepted by edvd, which carries it on; edvctl says how to
   * follow it and returns before READY. */
  {
    const char *args[] = {"--server",  base,     "--token-file", tokfile_op,
                          "tenant",    "create", "rem021",       "brookside",
                          "Brookside", "basic",  "us-central1",  "--async",
                          NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 0);
    assert_non_null(strstr(out, "the creation accepted"));
    assert_non_null(strstr(out, "tenant get rem021"));
    free(out);
    free(err);
  }
  wait_phase("rem021", "READY", 120);

  /* scale: POST .../scale, the wait, then the library's answer. */
  assert_int_equal(
      remote(tokfile_op, "json", "scale", "rem020", "premium", &out, &err), 0);
  assert_string_equal(err, "");
  o = json_tokener_parse(out);
  assert_non_null(o);
  assert_string_equal(jstr(o, "from_tier"), "basic");
  assert_string_equal(jstr(o, "to_tier"), "premium");
  assert_string_equal(jstr(o, "tenant.tier"), "premium");
  assert_string_equal(jstr(o, "tenant.phase"), "READY");
  json_object_put(o);
  free(out);
  free(err);
  check_tenant_cloud("rem020", "e2-standard-2", "db-custom-2-4096", 0, 0);
  /* A viewer cannot; the tier it has is a conflict. */
  assert_int_equal(
      remote(tokfile_view, "table", "scale", "rem020", "basic", &out, &err), 6);
  free(out);
  free(err);
  assert_int_equal(
      remote(tokfile_op, "table", "scale", "rem020", "premium", &out, &err), 4);
  assert_non_null(strstr(err, "already on tier premium"));
  free(out);
  free(err);
  /* Down again in a table: progress, the disk note, the summary. */
  assert_int_equal(
      remote(tokfile_op, "table", "scale", "rem020", "basic", &out, &err), 0);
  assert_non_null(strstr(err, "rem020 is READY"));
  assert_non_null(strstr(err, "note: the boot disk stays 100 GB"));
  assert_non_null(strstr(out, "Tier         basic, region us-central1"));
  free(out);
  free(err);
  check_tenant_cloud("rem020", "e2-small", "db-f1-micro", 0, 0);

  /* apply: a firewall rule deleted behind edvd's back (no drift pass runs
   * in this group) is planned, created again by POST .../apply, and the
   * plan is then empty. */
  assert_int_equal(
      sim_api(
          "DELETE",
          "/compute/v1/projects/edv-sim/global/firewalls/edv-rem020-allow-lb"),
      0);
  assert_int_not_equal(
      sim_find("/firewalls/edv-rem020-allow-lb", name, sizeof(name)), 0);
  assert_int_equal(plan_both("rem020", 2), 0);
  assert_int_equal(
      remote(tokfile_op, "table", "apply", "rem020", NULL, &out, &err), 0);
  assert_non_null(strstr(err, "rem020: firewall_allow: done"));
  assert_non_null(strstr(err, "rem020 is READY"));
  assert_non_null(strstr(out, "Phase        READY\n"));
  free(out);
  free(err);
  assert_int_equal(
      sim_find("/firewalls/edv-rem020-allow-lb", name, sizeof(name)), 0);
  assert_int_equal(plan_both("rem020", 0), 0);
  /* update --ops-ssh on: PUT {"ops_ssh": true}, the run adds the IAP
   * SSH rule in the simulator. */
  {
    const char *args[] = {"--server", base,     "--token-file", tokfile_op,
                          "tenant",   "update", "rem020",       "--ops-ssh",
                          "on",       NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 0);
    assert_non_null(strstr(err, "rem020 is READY"));
    assert_non_null(strstr(out, "Phase        READY\n"));
    free(out);
    free(err);
  }
  assert_int_equal(
      sim_find("/firewalls/edv-rem020-allow-iap-ssh", name, sizeof(name)), 0);
  /* An unknown tenant: 404, exit 3. */
  assert_int_equal(
      remote(tokfile_op, "json", "apply", "nosuch", NULL, &out, &err), 3);
  free(out);
  free(err);
}

/* ---- TLS ------------------------------------------------------------------*/

/* Starts edvd on state directory `sd` with config `conf`; returns its pid
 * and puts its first stdout line in `line` ("" when it exited first). */
static pid_t start_other(const char *sd, const char *conf, char *line,
                         size_t size)
{
  int p[2];
  size_t len = 0;
  pid_t pid;
  char logf[400];

  snprintf(logf, sizeof(logf), "%s/edvd.log", sd);
  assert_int_equal(pipe(p), 0);
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int lf = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(p[1], 1);
    dup2(lf, 2);
    close(p[0]);
    execl(edvd_bin, edvd_bin, "--sim", "--state-dir", sd, "--listen",
          "127.0.0.1:0", "--config", conf, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  while (len + 1 < size) {
    ssize_t n = read(p[0], line + len, 1);
    if (n <= 0 || line[len] == '\n')
      break;
    len++;
  }
  line[len] = '\0';
  close(p[0]);
  return pid;
}

/* An edvd that must refuse to start: its exit status, its log in `log`. */
static int refused(const char *sd, const char *conf, char **log)
{
  char line[1024], path[400];
  int st;
  pid_t pid = start_other(sd, conf, line, sizeof(line));

  assert_string_equal(line, "");
  assert_int_equal(waitpid(pid, &st, 0), pid);
  snprintf(path, sizeof(path), "%s/edvd.log", sd);
  {
    FILE *f = fopen(path, "r");
    size_t n;
    *log = calloc(1, 65536);
    assert_non_null(*log);
    assert_non_null(f);
    n = fread(*log, 1, 65535, f);
    (*log)[n] = '\0';
    fclose(f);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A release change through POST /api/tenants/{id}/release and edvctl
 * --server tenant update --release: 400 naming the field, then the new
 * generation's VM of the release's image, the old one gone. */
static void test_remote_release_change(void **state)
{
  const char *rel[] = {"create", "2.1.0", "--image", "edv-remote-2", NULL};
  char *out, *err;
  json_object *o;

  (void)state;
  write_file(tokfile_op, tok_op, 0600);
  assert_int_equal(
      sim_api_data(
          "POST", "/compute/v1/projects/edv-sim/global/images",
          "{\"name\":\"edv-remote-2\",\"rawDisk\":{\"source\":"
          "\"https://storage.googleapis.com/b/edv-remote-2.tar.gz\"}}"),
      0);
  assert_int_equal(release_cmd(tokfile_op, "table", rel, &out, &err), 0);
  free(out);
  free(err);
  assert_string_equal(phase_of("rem021"), "READY");
  expect_error("POST", "/api/tenants/rem021/release",
               "/api/tenants/{id}/release", tok_op, "{\"release\":\"9.9.9\"}",
               400, "release");
  expect_error("POST", "/api/tenants/rem021/release",
               "/api/tenants/{id}/release", tok_op, "{\"version\":\"2.1.0\"}",
               400, "version");
  {
    const char *args[] = {"--server", base,     "--token-file", tokfile_op,
                          "tenant",   "update", "rem021",       "--release",
                          "2.1.0",    NULL};
    int rc = run_edvctl(NULL, args, &out, &err);
    if (rc != 0)
      fail_msg("update --release: rc %d: %s", rc, err);
    assert_non_null(strstr(err, "rem021 is READY"));
    free(out);
    free(err);
  }
  o = sim_resource("/instances/edv-rem021-vm-1");
  assert_non_null(o);
  assert_string_equal(jstr(json_object_object_get(o, "labels"), "edv-release"),
                      "2_1_0");
  json_object_put(o);
  assert_null(sim_resource("/instances/edv-rem021-vm"));
  o = sim_resource("/disks/edv-rem021-boot-1");
  assert_non_null(o);
  assert_non_null(strstr(jstr(o, "sourceImage"), "edv-remote-2"));
  json_object_put(o);
}

static void test_tls(void **state)
{
  char sd[320], cert[400], key[400], conf[400], cmd[1600], line[1024];
  char tok[200], tokf[400], url[200], *out, *err, *log;
  pid_t pid;
  int st;

  (void)state;
  snprintf(sd, sizeof(sd), "%s/tls", dir);
  assert_int_equal(mkdir(sd, 0700), 0);
  snprintf(cert, sizeof(cert), "%s/cert.pem", sd);
  snprintf(key, sizeof(key), "%s/key.pem", sd);
  snprintf(conf, sizeof(conf), "%s/edvd.conf", sd);
  /* A throwaway self-signed certificate for 127.0.0.1. */
  snprintf(cmd, sizeof(cmd),
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
           "-nodes -days 1 -subj /CN=127.0.0.1 -addext "
           "subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
           ">/dev/null 2>&1",
           key, cert);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(chmod(key, 0600), 0);

  /* Half a set-up, or a key others may read: edvd refuses to start. */
  snprintf(cmd, sizeof(cmd), "server.tls_cert = %s\n", cert);
  write_file(conf, cmd, 0600);
  assert_int_not_equal(refused(sd, conf, &log), 0);
  assert_non_null(strstr(log, "server.tls_key is not set"));
  free(log);
  snprintf(cmd, sizeof(cmd), "server.tls_cert = %s\nserver.tls_key = %s\n",
           cert, key);
  write_file(conf, cmd, 0600);
  assert_int_equal(chmod(key, 0640), 0);
  assert_int_not_equal(refused(sd, conf, &log), 0);
  assert_non_null(strstr(log, "readable by group or others"));
  assert_non_null(strstr(log, "key.pem"));
  free(log);
  assert_int_equal(chmod(key, 0600), 0);

  /* A token of its own state directory. */
  {
    const char *args[] = {"token", "create",      "--role", "viewer", "--name",
                          "tls",   "--state-dir", sd,       NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 0);
    snprintf(tok, sizeof(tok), "%s", out);
    tok[strcspn(tok, "\n")] = '\0';
    free(out);
    free(err);
  }
  snprintf(tokf, sizeof(tokf), "%s/view.token", sd);
  write_file(tokf, tok, 0600);

  pid = start_other(sd, conf, line, sizeof(line));
  assert_non_null(strstr(line, "\"listen\":\"https://127.0.0.1:"));
  {
    json_object *o = json_tokener_parse(line);
    assert_non_null(o);
    snprintf(url, sizeof(url), "%s",
             json_object_get_string(json_object_object_get(o, "listen")));
    json_object_put(o);
  }
  /* HTTPS with the CA: works; without it: the certificate is refused. */
  {
    const char *args[] = {
        "--server", url,      "--cacert", cert, "--token-file",
        tokf,       "tenant", "list",     NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 0);
    assert_non_null(strstr(out, "ID "));
    free(out);
    free(err);
  }
  {
    const char *args[] = {"--server", url, "--token-file", tokf, "tenant",
                          "list",     NULL};
    assert_int_equal(run_edvctl(NULL, args, &out, &err), 5);
    assert_non_null(strstr(err, "cannot reach edvd"));
    free(out);
    free(err);
  }
  /* Plain HTTP on the same port gets no answer. */
  {
    char plain[200];
    resp *r;
    snprintf(plain, sizeof(plain), "http://%s", url + strlen("https://"));
    r = http("GET", plain, "/healthz", NULL, NULL, NULL);
    assert_true(r->status == 0 || r->status >= 400);
    assert_int_not_equal(r->status, 200);
    resp_free(r);
    const char *args[] = {"--server", plain, "--token-file", tokf, "tenant",
                          "list",     NULL};
    assert_int_not_equal(run_edvctl(NULL, args, &out, &err), 0);
    free(out);
    free(err);
  }
  kill(pid, SIGTERM);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* edvctl --format json ARGS... through edvd (tokfile) or, tokfile NULL,
 * locally on edvd's state directory and simulator. */
static int day2_run(const char *tokfile, const char *const *words, char **out,
                    char **err)
{
  const char *env[] = {env_sim[0], env_sim[1], env_sim[2], NULL};
  const char *args[16];
  int n = 0;

  if (tokfile) {
    args[n++] = "--server";
    args[n++] = base;
    args[n++] = "--token-file";
    args[n++] = tokfile;
  } else {
    args[n++] = "--state-dir";
    args[n++] = dir;
  }
  args[n++] = "--format";
  args[n++] = "json";
  for (int i = 0; words[i] && n < 15; i++)
    args[n++] = words[i];
  args[n] = NULL;
  return run_edvctl(tokfile ? NULL : env, args, out, err);
}

/*
 * Asserts that a day-2 document through edvd (`remote`) is the local
 * one. Two are compared on selected keys:
 * - `infra capacity`: all but as_of, age_s and fresh, which say when this
 *   process last asked the cloud (each keeps its own snapshot);
 * - `infra status`: only the library's figures from the store (tenants,
 *   failed, platform). Left out: what edvd adds (reconciler, started,
 *   version), the runs it drives (runs_in_flight, runs), the per-process
 *   API counters (apis) and backup health (backups: each process checks
 *   it on its own schedule), which differ by nature.
 * Every other document must be the same byte for byte.
 */
static void day2_same(const char *verb, const char *remote, const char *local)
{
  static const char *const capacity_skip[] = {"as_of", "age_s", "fresh", NULL};
  static const char *const status_keys[] = {"tenants", "failed", "platform",
                                            NULL};
  json_object *r, *l, *sr, *sl;

  if (strcmp(verb, "capacity") != 0 && strcmp(verb, "status") != 0) {
    assert_string_equal(remote, local);
    return;
  }
  r = json_tokener_parse(remote);
  l = json_tokener_parse(local);
  assert_non_null(r);
  assert_non_null(l);
  if (strcmp(verb, "capacity") == 0) {
    for (int k = 0; capacity_skip[k]; k++) {
      json_object_object_del(r, capacity_skip[k]);
      json_object_object_del(l, capacity_skip[k]);
    }
    sr = json_object_get(r);
    sl = json_object_get(l);
  } else {
    /* edvd's own sections are there, and left out. */
    assert_non_null(json_object_object_get(r, "reconciler"));
    assert_non_null(json_object_object_get(r, "version"));
    sr = json_object_new_object();
    sl = json_object_new_object();
    for (int k = 0; status_keys[k]; k++) {
      json_object_object_add(
          sr, status_keys[k],
          json_object_get(json_object_object_get(r, status_keys[k])));
      json_object_object_add(
          sl, status_keys[k],
          json_object_get(json_object_object_get(l, status_keys[k])));
    }
    assert_non_null(json_object_object_get(sr, "tenants"));
  }
  assert_string_equal(
      json_object_to_json_string_ext(sr, JSON_C_TO_STRING_PRETTY),
      json_object_to_json_string_ext(sl, JSON_C_TO_STRING_PRETTY));
  json_object_put(sr);
  json_object_put(sl);
  json_object_put(r);
  json_object_put(l);
}

/* The day-2 verbs through the API: a backup edvd takes and follows (the
 * run in the simulator's state), and the documents of `tenant backups`
 * and `infra costs` are the same through edvd and locally. */
static void test_remote_day2(void **state)
{
  char *out, *err, *lo, *le, b[512], inst[100], bid[40], path[400];
  const char *const backup[] = {"tenant",        "backup",         "rem009",
                                "--description", "remote day two", NULL};
  const char *const lists[][4] = {{"tenant", "backups", "rem009", NULL},
                                  {"infra", "costs", NULL, NULL},
                                  {"tenant", "metrics", "rem009", NULL},
                                  {"infra", "capacity", NULL, NULL},
                                  {"infra", "status", NULL, NULL}};
  json_object *o;
  int done = 0;

  (void)state;
  write_file(tokfile_op, tok_op, 0600);
  write_file(tokfile_view, tok_view, 0600);
  resp_free(call(
      "POST", "/api/tenants", "/api/tenants", tok_op,
      spec(b, sizeof(b), "rem009", "school-rem009", "Day Two School", "basic"),
      NULL, 202));
  wait_phase("rem009", "READY", 90);
  /* A viewer may not take a backup (exit 6). */
  assert_int_equal(day2_run(tokfile_view, backup, &out, &err), 6);
  free(out);
  free(err);
  {
    int rc = day2_run(tokfile_op, backup, &out, &err);
    if (rc != 0)
      print_error("edvctl tenant backup: exit %d: %s\n", rc, err);
    assert_int_equal(rc, 0);
  }
  o = json_tokener_parse(out);
  assert_non_null(o);
  assert_string_equal(jstr(o, "kind"), "backup");
  assert_false(json_object_get_boolean(json_object_object_get(o, "replayed")));
  /* It waited, as the local mode does: the run is over when it answers. */
  assert_string_equal(jstr(o, "status"), "SUCCESSFUL");
  snprintf(bid, sizeof(bid), "%s", jstr(o, "backup_id"));
  snprintf(inst, sizeof(inst), "%s", jstr(o, "instance"));
  json_object_put(o);
  free(out);
  free(err);
  /* edvd follows it: the run SUCCESSFUL in the simulator, and no job
   * left in progress. */
  snprintf(path, sizeof(path),
           "/_sim/state?prefix=projects/edv-sim/instances/%s/backupRuns/%s",
           inst, bid);
  for (int t = 0; t < 200 && !done; t++) {
    resp *r = http("GET", sim_base, path, NULL, NULL, NULL);
    json_object *items = json_object_object_get(r->json, "resources");
    resp *l;
    done = json_object_array_length(items) == 1 &&
           strcmp(jstr(json_object_array_get_idx(items, 0), "resource.status"),
                  "SUCCESSFUL") == 0 &&
           strcmp(jstr(json_object_array_get_idx(items, 0),
                       "resource.description"),
                  "remote day two") == 0;
    resp_free(r);
    l = call("GET", "/api/tenants/rem009/backups", "/api/tenants/{id}/backups",
             tok_view, NULL, NULL, 200);
    done = done && !json_object_object_get(l->json, "operation");
    resp_free(l);
    if (!done)
      sleep_ms(100);
  }
  assert_true(done);
  /* The same documents through edvd and locally (capacity and status: the
   * parts both processes share, day2_same). */
  for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
    assert_int_equal(day2_run(tokfile_view, lists[i], &out, &err), 0);
    assert_int_equal(day2_run(NULL, lists[i], &lo, &le), 0);
    day2_same(lists[i][1], out, lo);
    if (i == 0)
      assert_non_null(strstr(out, bid));
    free(out);
    free(err);
    free(lo);
    free(le);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_remote_lifecycle),
      cmocka_unit_test(test_remote_errors),
      cmocka_unit_test(test_remote_releases),
      cmocka_unit_test(test_remote_retry),
      cmocka_unit_test(test_remote_day2),
      cmocka_unit_test(test_remote_scale_apply),
      cmocka_unit_test(test_remote_release_change),
      cmocka_unit_test(test_tls),
  };

  return EH_MAIN("edvd-remote", tests, setup, NULL);
}
