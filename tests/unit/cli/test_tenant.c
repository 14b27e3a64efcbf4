/*
 * test_tenant.c - runs the built edvctl (argv[1]) against its embedded
 * simulator (--sim, a scratch state directory, the `fast` profile from a
 * config file): every tenant command's success path with its JSON checked,
 * bad arguments that must give exit 2, name the problem and create nothing,
 * provision-tenant.sh with the seed's arguments, the README quickstart, the
 * `sim start` command, and docs/cli.md against the command table.
 *
 * argv[2] names the group of tests to run (meson runs them in parallel):
 * flow, bad, foreign_dns, script, quickstart, sim, docs. argv[3], when
 * given, is the built edvd (the store file test runs it too).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

static const char *edvctl;   /* the binary under test */
static const char *edvd;     /* argv[3], or NULL */
static const char *src_root; /* EDV_SOURCE_ROOT */
static const char *bld_root; /* EDV_BUILD_ROOT */

typedef struct run_result {
  int status;        /* exit code, or 128 + signal */
  char out[1 << 20]; /* a TTY view redraws every frame */
  char err[65536];
} run_result;

/* A scratch directory with the simulator's state and a config file. */
typedef struct scratch {
  char dir[256];
  char config[300];
} scratch;

static void slurp(int fd, char *buf, size_t size)
{
  size_t len = 0;
  ssize_t n;
  char tmp[4096];

  while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
    if (len + (size_t)n < size) {
      memcpy(buf + len, tmp, (size_t)n);
      len += (size_t)n;
    }
  }
  buf[len] = '\0';
}

/*
 * Runs `prog` with argv (NULL-ended, without the program name), stdin
 * from /dev/null, stdout to a temp file and stderr through another, with
 * `env` ("K=V" strings, NULL-ended) added to a cleaned environment.
 */
static void run_prog(run_result *r, const char *prog, const char *const *args,
                     const char *const *env)
{
  char *argv[40];
  char outname[] = "/tmp/edvctl-out-XXXXXX",
       errname[] = "/tmp/edvctl-err-XXXXXX";
  int outfd = mkstemp(outname), errfd = mkstemp(errname), i, wstatus;
  pid_t pid;

  assert_true(outfd >= 0 && errfd >= 0);
  unlink(outname);
  unlink(errname);
  argv[0] = (char *)prog;
  for (i = 0; args[i] && i < 38; i++)
    argv[i + 1] = (char *)args[i];
  argv[i + 1] = NULL;
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);

    dup2(devnull, 0);
    dup2(outfd, 1);
    dup2(errfd, 2);
    /* No ambient configuration, credentials or state may leak in. */
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("EDV_CONFIG");
    unsetenv("EDV_ENDPOINT");
    unsetenv("EDV_PROJECT");
    unsetenv("EDV_KEY_FILE");
    unsetenv("EDV_STATE_DIR");
    unsetenv("EDV_SIM");
    unsetenv("EDV_FORMAT");
    unsetenv("EDV_SIM_PROFILE");
    unsetenv("EDVCTL");
    setenv("CLOUDSDK_CONFIG", "/nonexistent-edv-test", 1);
    setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
    for (i = 0; env && env[i]; i++)
      putenv((char *)env[i]);
    execv(prog, argv);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  r->status =
      WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  lseek(outfd, 0, SEEK_SET);
  slurp(outfd, r->out, sizeof(r->out));
  lseek(errfd, 0, SEEK_SET);
  slurp(errfd, r->err, sizeof(r->err));
  close(outfd);
  close(errfd);
}

/* edvctl --config SCRATCH/edv.conf ARGS... */
static void run_edv(run_result *r, const scratch *s, const char *const *args)
{
  const char *argv[40];
  int i = 0, k;

  argv[i++] = "--config";
  argv[i++] = s->config;
  for (k = 0; args[k] && i < 39; k++)
    argv[i++] = args[k];
  argv[i] = NULL;
  run_prog(r, edvctl, argv, NULL);
}

#define EDV(r, s, ...)                                                         \
  do {                                                                         \
    const char *const args_[] = {__VA_ARGS__, NULL};                           \
    run_edv((r), (s), args_);                                                  \
  } while (0)

#define EXPECT_OK(r)                                                           \
  do {                                                                         \
    if ((r)->status != 0)                                                      \
      print_error("exit %d\nstderr: %s\nstdout: %s\n", (r)->status, (r)->err,  \
                  (r)->out);                                                   \
    assert_int_equal((r)->status, 0);                                          \
  } while (0)

/* The scratch directory: the simulator persisted in it (--sim), its
 * latency profile `fast`. */
static void scratch_make(scratch *s)
{
  FILE *f;
  const char *tmp =
      getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

  snprintf(s->dir, sizeof(s->dir), "%s/edvctl-tenant-XXXXXX", tmp);
  assert_non_null(mkdtemp(s->dir));
  snprintf(s->config, sizeof(s->config), "%s/edv.conf", s->dir);
  f = fopen(s->config, "w");
  assert_non_null(f);
  fprintf(f,
          "# written by test_tenant\n"
          "state_dir = %s\n"
          "sim.profile = fast\n",
          s->dir);
  fclose(f);
}

static void scratch_remove(scratch *s)
{
  char cmd[400];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
  assert_int_equal(system(cmd), 0);
}

/* Parses stdout as one JSON document (the test fails otherwise). */
static json_object *parse_out(const run_result *r)
{
  json_tokener *tok = json_tokener_new();
  json_object *obj = json_tokener_parse_ex(tok, r->out, (int)strlen(r->out));
  size_t used = json_tokener_get_parse_end(tok);

  if (!obj)
    print_error("stdout is not JSON: %s\n", r->out);
  assert_non_null(obj);
  /* Nothing but whitespace after the document: only JSON on stdout. */
  for (size_t i = used; r->out[i]; i++)
    assert_true(r->out[i] == '\n' || r->out[i] == ' ');
  json_tokener_free(tok);
  return obj;
}

static const char *jstr(json_object *o, const char *key)
{
  json_object *v;

  if (!json_object_object_get_ex(o, key, &v))
    return NULL;
  return json_object_get_string(v);
}

static json_object *jget(json_object *o, const char *key)
{
  json_object *v = NULL;

  json_object_object_get_ex(o, key, &v);
  return v;
}

/* 1 when the file exists and contains `needle`. */
static int file_has(const char *path, const char *needle)
{
  FILE *f = fopen(path, "r");
  static char buf[4 << 20];
  size_t n;

  if (!f)
    return 0;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return strstr(buf, needle) != NULL;
}

static void platform_init(const scratch *s)
{
  static run_result r;

  EDV(&r, s, "--sim", "-q", "platform", "init");
  EXPECT_OK(&r);
}

/* ---- flow: every command's success path -------------------------------- */

static void test_flow(void **state)
{
  static run_result r;
  scratch s;
  json_object *o, *v;

  (void)state;
  scratch_make(&s);
  EDV(&r, &s, "--sim", "--format", "json", "platform", "init");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "READY");
  assert_string_equal(jstr(o, "project"), "edv-sim");
  json_object_put(o);
  assert_string_equal(r.err, "");

  /* --format json: only JSON on stdout, nothing on stderr. */
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "create", "school001",
      "greenwood-high", "Greenwood High School", "premium", "us-central1",
      "--wait");
  EXPECT_OK(&r);
  assert_string_equal(r.err, "");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "id"), "school001");
  assert_string_equal(jstr(o, "phase"), "READY");
  assert_string_equal(jstr(o, "url"), "https://school001.edvirons.com");
  json_object_put(o);
  /* The tenant document (edv/fleet.h), with the live state: the same keys
   * as GET /api/tenants/ID?observe=true. */
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "get", "school001");
  EXPECT_OK(&r);
  o = parse_out(&r);
  v = jget(jget(o, "observed"), "certificate");
  assert_non_null(v);
  assert_string_equal(jstr(v, "state"), "ACTIVE");
  assert_string_equal(jstr(jget(jget(o, "observed"), "vm"), "state"),
                      "RUNNING");
  assert_string_equal(jstr(jget(jget(o, "observed"), "database"), "state"),
                      "RUNNABLE");
  assert_string_equal(jstr(jget(o, "resources"), "vm"), "edv-school001-vm");
  assert_true(json_object_get_double(
                  jget(jget(o, "monthly_cost_estimate"), "total")) > 100.0);
  assert_int_equal(json_object_get_int(jget(o, "max_users")), 500);
  assert_true(json_object_array_length(jget(o, "app_access")) > 0);
  assert_non_null(strstr(jstr(o, "created"), "T"));
  assert_null(jget(o, "created_ms"));
  v = json_object_array_get_idx(jget(o, "steps"), 0);
  assert_string_equal(jstr(v, "name"), "preflight");
  assert_string_equal(jstr(v, "state"), "DONE");
  assert_non_null(jstr(v, "finished"));
  json_object_put(o);

  /* Not a terminal: one progress line per transition on stderr. */
  EDV(&r, &s, "--sim", "tenant", "create", "school002", "hillside",
      "Hillside Academy", "basic", "us-central1", "--wait");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.err, "school002: subnet: done"));
  assert_non_null(strstr(r.err, "school002: phase READY"));
  assert_null(strstr(r.err, "\033[")); /* no terminal codes in a pipe */
  assert_non_null(strstr(r.out, "URL          https://school002.edvirons.com"));
  assert_non_null(strstr(r.out, "Certificate  edv-school002-cert: ACTIVE"));
  assert_non_null(strstr(r.out, "Cost         ~$"));

  EDV(&r, &s, "--sim", "tenant", "list", "--format", "json");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_array_length(jget(o, "tenants")), 2);
  assert_string_equal(
      jstr(json_object_array_get_idx(jget(o, "tenants"), 0), "phase"), "READY");
  assert_true(json_object_object_get_ex(o, "next_page_token", NULL));
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "list", "--tier", "basic");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "school002"));
  assert_null(strstr(r.out, "school001"));

  EDV(&r, &s, "--sim", "tenant", "get", "school001");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Phase        READY"));
  assert_non_null(strstr(r.out, "VM           edv-school001-vm"));
  assert_non_null(strstr(r.out, "RUNNING"));
  assert_non_null(strstr(r.out, "Licences     500 users"));
  assert_non_null(strstr(r.out, "Last error   none"));
  assert_non_null(strstr(r.out, "Cloud SQL instance"));

  EDV(&r, &s, "--sim", "tenant", "history", "school001", "--format", "json");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "tenant"), "school001");
  assert_true(json_object_array_length(jget(o, "events")) > 10);
  assert_string_equal(
      jstr(json_object_array_get_idx(jget(o, "events"), 0), "event"),
      "created");
  assert_string_equal(
      jstr(json_object_array_get_idx(jget(o, "events"), 0), "detail"),
      "premium");
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "history", "school001");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "phase"));
  assert_non_null(strstr(r.out, "READY"));

  EDV(&r, &s, "--sim", "tenant", "state", "school001");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_array_length(jget(o, "steps")), 27);
  assert_non_null(jstr(jget(o, "resources"), "subnet_range"));
  assert_false(json_object_object_get_ex(o, "observed", NULL));
  json_object_put(o);

  /* A plan prints the plan only: no progress, even in a pipe. */
  EDV(&r, &s, "--sim", "tenant", "plan", "school001");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "No changes."));
  assert_string_equal(r.err, "");
  EDV(&r, &s, "--sim", "tenant", "plan", "school001", "--format", "json");
  EXPECT_OK(&r);
  assert_string_equal(r.err, "");
  o = parse_out(&r);
  assert_true(json_object_get_boolean(jget(o, "in_sync")));
  assert_int_equal(json_object_array_length(jget(o, "changes")), 0);
  json_object_put(o);
  /* terraform's convention: 0 in sync, 2 changes (below), 1 an error. */
  EDV(&r, &s, "--sim", "tenant", "plan", "school001", "--detailed-exitcode");
  EXPECT_OK(&r);

  /* The isolation audit: nothing to say (exit 0), then a rule opening the
   * tenant's VM to the world is named (exit 8). */
  EDV(&r, &s, "--sim", "infra", "audit");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "No findings"));
  EDV(&r, &s, "--sim", "-q", "api", "POST",
      "/compute/v1/projects/edv-sim/global/firewalls", "--wait", "--data",
      "{\"name\":\"wide-open\",\"network\":\"global/networks/"
      "edv-tenants\",\"sourceRanges\":[\"0.0.0.0/0\"],\"allowed\":[{"
      "\"IPProtocol\":\"tcp\",\"ports\":[\"22\"]}]}");
  EXPECT_OK(&r);
  EDV(&r, &s, "--sim", "infra", "audit", "--format", "json");
  assert_int_equal(r.status, 8);
  o = parse_out(&r);
  v = json_object_array_get_idx(jget(o, "findings"), 0);
  assert_non_null(v);
  assert_string_equal(jstr(v, "kind"), "exposed");
  assert_string_equal(jstr(v, "tenant"), "school001");
  assert_string_equal(jstr(v, "rule"), "wide-open");
  json_object_put(o);
  EDV(&r, &s, "--sim", "-q", "api", "DELETE",
      "/compute/v1/projects/edv-sim/global/firewalls/wide-open", "--wait");
  EXPECT_OK(&r);

  /* A drift: a deleted firewall shows as one create. */
  EDV(&r, &s, "--sim", "-q", "api", "DELETE",
      "/compute/v1/projects/edv-sim/global/firewalls/edv-school001-allow-lb",
      "--wait");
  EXPECT_OK(&r);
  {
    EDV(&r, &s, "--sim", "tenant", "plan", "school001", "--format", "json");
    EXPECT_OK(&r);
    o = parse_out(&r);
    assert_false(json_object_get_boolean(jget(o, "in_sync")));
    v = json_object_array_get_idx(jget(o, "changes"), 0);
    assert_non_null(v);
    assert_string_equal(jstr(v, "step"), "firewall_allow");
    assert_string_equal(jstr(v, "action"), "create");
    json_object_put(o);
    EDV(&r, &s, "--sim", "tenant", "plan", "school001");
    EXPECT_OK(&r);
    assert_non_null(strstr(r.out, "  + Firewall: load balancer to VM"));
    assert_non_null(strstr(r.out, "Plan: 1 to create"));
    EDV(&r, &s, "--sim", "tenant", "plan", "school001", "--detailed-exitcode");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.out, "Plan: 1 to create"));
  }

  /* Exit codes: not found 3, conflict 4. */
  EDV(&r, &s, "--sim", "tenant", "get", "school404");
  assert_int_equal(r.status, 3);
  assert_non_null(strstr(r.err, "tenant 'school404' not found"));
  EDV(&r, &s, "--sim", "tenant", "retry", "school002");
  assert_int_equal(r.status, 4);
  assert_non_null(strstr(r.err, "not FAILED"));
  EDV(&r, &s, "--sim", "tenant", "resume", "--all");
  EXPECT_OK(&r);

  EDV(&r, &s, "--sim", "tiers", "list", "--format", "json");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_array_length(o), 4);
  assert_string_equal(jstr(json_object_array_get_idx(o, 2), "name"), "premium");
  json_object_put(o);

  /* Delete: refused without --yes off a terminal, then done. */
  EDV(&r, &s, "--sim", "tenant", "delete", "school002");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "without --yes"));
  /* First its grace: SUSPENDED, then undeleted, then deleted --now. */
  EDV(&r, &s, "--sim", "tenant", "delete", "school002", "--yes");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Tenant school002 suspended; purged after "));
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "state", "school002");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "SUSPENDED");
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "undelete", "school002");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.err, "school002 is READY"));
  EDV(&r, &s, "--sim", "tenant", "undelete", "school002");
  assert_int_equal(r.status, 4);
  EDV(&r, &s, "--sim", "tenant", "delete", "school002", "--now", "--yes");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Tenant school002 deleted."));
  EDV(&r, &s, "--sim", "tenant", "list", "--format", "json");
  o = parse_out(&r);
  assert_int_equal(json_object_array_length(jget(o, "tenants")), 1);
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "list", "--all");
  assert_non_null(strstr(r.out, "DELETED"));
  EDV(&r, &s, "--sim", "tenant", "delete", "school002", "--yes");
  assert_int_equal(r.status, 3);
  /* The final backup the delete left, then the tenant recovered from it;
   * a second recover is refused (exit 4). */
  EDV(&r, &s, "--sim", "tenant", "get", "school002");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Final backup projects/edv-sim/backups/"));
  EDV(&r, &s, "--sim", "tenant", "recover", "school002");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.err, "school002 is READY"));
  EDV(&r, &s, "--sim", "tenant", "get", "school002");
  assert_null(strstr(r.out, "Final backup"));
  assert_non_null(strstr(r.out, "Phase        READY"));
  EDV(&r, &s, "--sim", "tenant", "recover", "school002");
  assert_int_equal(r.status, 4);
  assert_non_null(strstr(r.err, "only a DELETED tenant"));
  scratch_remove(&s);
}

/* ---- waiting and --async -------------------------------------------------*/

/* Long operations wait by default, off a terminal too (a script must not
 * take a recorded tenant for a provisioned one); --async returns once the
 * work is durable and says how to follow it, and `resume` finishes it. */
static void test_async(void **state)
{
  static run_result r;
  scratch s;
  json_object *o;

  (void)state;
  scratch_make(&s);
  EDV(&r, &s, "--sim", "-q", "platform", "init");
  EXPECT_OK(&r);
  /* No flag, no terminal: it waits for READY. */
  EDV(&r, &s, "--sim", "tenant", "create", "school005", "birchwood",
      "Birchwood", "basic", "us-central1");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Phase        READY"));
  /* --async: recorded and started, not READY; resume finishes it. */
  EDV(&r, &s, "--sim", "tenant", "create", "school006", "cedarwood",
      "Cedarwood", "basic", "us-central1", "--async");
  EXPECT_OK(&r);
  assert_non_null(
      strstr(r.out, "Follow it with `edvctl tenant get school006`"));
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "state", "school006");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_not_equal(jstr(o, "phase"), "READY");
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "create", "school007", "elmwood", "Elmwood",
      "basic", "us-central1", "--async", "--wait");
  assert_int_equal(r.status, 2);
  EDV(&r, &s, "--sim", "-q", "tenant", "resume", "school006");
  EXPECT_OK(&r);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "state", "school006");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "READY");
  json_object_put(o);
  /* The structured formats over the same document. */
  EDV(&r, &s, "--sim", "tenant", "list", "--format", "value(id,phase,tier)",
      "--sort-by", "~id");
  EXPECT_OK(&r);
  assert_string_equal(r.out, "school006\tREADY\tbasic\n"
                             "school005\tREADY\tbasic\n");
  EDV(&r, &s, "--sim", "tenant", "list", "--format", "yaml");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "tenants:\n- id: school005\n"));
  assert_non_null(strstr(r.out, "  monthly_cost_estimate:\n    currency: USD"));
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "list", "--filter",
      "phase=FAILED OR id~6$");
  o = parse_out(&r);
  assert_int_equal(json_object_array_length(jget(o, "tenants")), 1);
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "list", "--filter", "id=school00*",
      "--sort-by", "id");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "ID "));
  assert_true(strstr(r.out, "school005") < strstr(r.out, "school006"));
  EDV(&r, &s, "--sim", "tenant", "list", "--filter", "phase");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "--filter: 'phase' needs an operator"));
  /* delete --async: the deletion is durable before edvctl returns (the
   * next process takes it down), JSON the document. */
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "delete", "school005",
      "--yes", "--now", "--async");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "id"), "school005");
  json_object_put(o);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "state", "school005");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "DEPROVISIONING");
  json_object_put(o);
  EDV(&r, &s, "--sim", "-q", "tenant", "resume", "school005");
  EXPECT_OK(&r);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "state", "school005");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "DELETED");
  json_object_put(o);
  scratch_remove(&s);
}

/* ---- scale and apply ----------------------------------------------------*/

/* The simulator's resource at `path` (edvctl --sim api GET), or NULL when
 * it has none (exit 3). */
static json_object *sim_get(const scratch *s, const char *path)
{
  static run_result r;

  EDV(&r, s, "--sim", "--format", "json", "api", "GET", path);
  if (r.status == 3)
    return NULL;
  EXPECT_OK(&r);
  return parse_out(&r);
}

#define VM_PATH                                                                \
  "/compute/v1/projects/edv-sim/zones/us-central1-a/instances/"                \
  "edv-school001-vm"
#define SQL_PATH "/sql/v1beta4/projects/edv-sim/instances/edv-school001-db-1"
#define FW_PATH                                                                \
  "/compute/v1/projects/edv-sim/global/firewalls/edv-school001-allow-lb"

static void test_scale_apply(void **state)
{
  static run_result r;
  scratch s;
  json_object *o, *t;

  (void)state;
  scratch_make(&s);
  platform_init(&s);
  EDV(&r, &s, "--sim", "-q", "tenant", "create", "school001", "greenwood-high",
      "Greenwood High School", "basic", "us-central1", "--wait");
  EXPECT_OK(&r);
  o = sim_get(&s, VM_PATH);
  assert_non_null(strstr(jstr(o, "machineType"), "/machineTypes/e2-small"));
  json_object_put(o);

  /* scale: the tier recorded, the VM and the database moved to it. */
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "scale", "school001",
      "premium");
  EXPECT_OK(&r);
  assert_string_equal(r.err, "");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "from_tier"), "basic");
  assert_string_equal(jstr(o, "to_tier"), "premium");
  t = jget(o, "tenant");
  assert_string_equal(jstr(t, "tier"), "premium");
  assert_string_equal(jstr(t, "phase"), "READY");
  assert_int_equal(json_object_get_int(jget(t, "max_users")), 500);
  json_object_put(o);
  o = sim_get(&s, VM_PATH);
  assert_non_null(
      strstr(jstr(o, "machineType"), "/machineTypes/e2-standard-2"));
  assert_string_equal(jstr(o, "status"), "RUNNING");
  json_object_put(o);
  o = sim_get(&s, SQL_PATH);
  assert_string_equal(jstr(jget(o, "settings"), "tier"), "db-custom-2-4096");
  json_object_put(o);
  /* Down again, in a table: the progress, the summary, the disk note. */
  EDV(&r, &s, "--sim", "tenant", "scale", "school001", "basic");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.err, "school001: vm: done"));
  assert_non_null(strstr(r.err, "note: the boot disk stays 100 GB"));
  assert_non_null(strstr(r.out, "Tier         basic, region us-central1"));
  o = sim_get(&s, SQL_PATH);
  assert_string_equal(jstr(jget(o, "settings"), "tier"), "db-f1-micro");
  json_object_put(o);
  /* The tier it has: a conflict; an unknown one: a usage error. */
  EDV(&r, &s, "--sim", "tenant", "scale", "school001", "basic");
  assert_int_equal(r.status, 4);
  assert_non_null(strstr(r.err, "already on tier basic"));
  EDV(&r, &s, "--sim", "tenant", "scale", "school001", "gold");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "'gold' is not a tier"));
  EDV(&r, &s, "--sim", "tenant", "scale", "school404", "basic");
  assert_int_equal(r.status, 3);

  /* apply: a firewall rule deleted behind our back is planned (exit 2),
   * created again by apply, and the plan is then empty (exit 0). */
  EDV(&r, &s, "--sim", "-q", "api", "DELETE", FW_PATH, "--wait");
  EXPECT_OK(&r);
  assert_null(sim_get(&s, FW_PATH));
  EDV(&r, &s, "--sim", "tenant", "plan", "school001", "--detailed-exitcode");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.out, "  + Firewall: load balancer to VM"));
  EDV(&r, &s, "--sim", "tenant", "apply", "school001");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.err, "school001: firewall_allow: done"));
  assert_non_null(strstr(r.err, "school001 is READY"));
  assert_non_null(strstr(r.out, "Phase        READY"));
  o = sim_get(&s, FW_PATH);
  assert_non_null(o);
  assert_string_equal(jstr(o, "name"), "edv-school001-allow-lb");
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "plan", "school001", "--detailed-exitcode");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "No changes."));
  /* apply --format json: the tenant document, nothing on stderr. */
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "apply", "school001");
  EXPECT_OK(&r);
  assert_string_equal(r.err, "");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "READY");
  assert_non_null(jget(o, "steps"));
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "apply", "school404");
  assert_int_equal(r.status, 3);
  scratch_remove(&s);
}

/* ---- bad arguments: exit 2, the problem named, nothing created ---------- */

/* Runs a create that must be refused; checks the message and that no
 * tenant was recorded and no tenant resource reached the simulator. */
static void refused(const scratch *s, const char *needle,
                    const char *const *args)
{
  static run_result r;
  char cloud[320];
  json_object *o;

  run_edv(&r, s, args);
  if (r.status != 2 || !strstr(r.err, needle))
    print_error("exit %d, stderr: %s\n(wanted 2 and '%s')\n", r.status, r.err,
                needle);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, needle));
  assert_string_equal(r.out, "");
  EDV(&r, s, "--sim", "tenant", "list", "--all", "--format", "json");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_array_length(jget(o, "tenants")), 0);
  json_object_put(o);
  snprintf(cloud, sizeof(cloud), "%s/sim-cloud.json", s->dir);
  assert_false(file_has(cloud, "edv-school0"));
}

/* ---- infra reconcile and tenant update --display-name --------------------*/

/* The VM's startup script (its metadata item), a new string or NULL. */
static char *vm_script(const scratch *s)
{
  json_object *o = sim_get(s, VM_PATH);
  json_object *items = jget(jget(o, "metadata"), "items");
  char *script = NULL;

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (strcmp(jstr(it, "key"), "startup-script") == 0)
      script = strdup(jstr(it, "value"));
  }
  json_object_put(o);
  return script;
}

/* `infra reconcile` is the API's reconcile pass: nothing while the
 * platform is missing; then every interrupted tenant is driven on (its
 * resources in the simulator). `tenant update --display-name` records the
 * new name (PUT /api/tenants/ID's display_name) and puts it into the VM's
 * startup script in place (setMetadata: the same VM); a plan shows a
 * script that names another. */
static void test_reconcile_update(void **state)
{
  static run_result r;
  scratch s;
  json_object *o;
  char vm_id[64], *script;

  (void)state;
  scratch_make(&s);
  EDV(&r, &s, "--sim", "--format", "json", "infra", "reconcile");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_get_int(jget(o, "resumed")), 0);
  assert_string_equal(jstr(o, "platform"), "MISSING");
  json_object_put(o);
  platform_init(&s);
  EDV(&r, &s, "--sim", "-q", "tenant", "create", "school001", "greenwood-high",
      "Greenwood High School", "basic", "us-central1", "--async");
  EXPECT_OK(&r);
  assert_null(sim_get(&s, VM_PATH));
  EDV(&r, &s, "--sim", "--format", "json", "infra", "reconcile");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_get_int(jget(o, "resumed")), 1);
  assert_int_equal(json_object_get_int(jget(o, "runs_in_flight")), 0);
  assert_string_equal(jstr(o, "platform"), "READY");
  json_object_put(o);
  o = sim_get(&s, VM_PATH);
  assert_non_null(o);
  assert_string_equal(jstr(o, "status"), "RUNNING");
  json_object_put(o);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "state", "school001");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "READY");
  json_object_put(o);
  /* Nothing left to resume: the table says so. */
  EDV(&r, &s, "--sim", "infra", "reconcile");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Resumed: 0 tenant(s)\n"));

  EDV(&r, &s, "--sim", "tenant", "update", "school001");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "nothing to change"));
  EDV(&r, &s, "--sim", "tenant", "update", "school001", "--display-name",
      " Greenwood");
  assert_int_equal(r.status, 2); /* as the API's 400 through --server */
  assert_non_null(
      strstr(r.err, "edvctl tenant update: field 'display_name' must not"));
  o = sim_get(&s, VM_PATH);
  snprintf(vm_id, sizeof(vm_id), "%s", jstr(o, "id"));
  json_object_put(o);
  script = vm_script(&s);
  assert_non_null(script);
  assert_non_null(
      strstr(script, "\nEDV_TENANT_NAME='Greenwood High School'\n"));
  free(script);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "update", "school001",
      "--display-name", "Greenwood's Academy");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "display_name"), "Greenwood's Academy");
  assert_string_equal(jstr(o, "phase"), "READY");
  json_object_put(o);
  script = vm_script(&s);
  assert_non_null(script);
  assert_non_null(
      strstr(script, "\nEDV_TENANT_NAME='Greenwood'\\''s Academy'\n"));
  assert_null(strstr(script, "Greenwood High School"));
  o = sim_get(&s, VM_PATH);
  assert_string_equal(jstr(o, "id"), vm_id); /* the same VM */
  assert_string_equal(jstr(o, "status"), "RUNNING");
  /* Another name put into the script from outside: a plan shows it. */
  {
    json_object *md = jget(o, "metadata"), *items = jget(md, "items");
    char *body, *other;
    const char *old = "EDV_TENANT_NAME='Greenwood'\\''s Academy'";
    char *at = strstr(script, old);
    size_t size = strlen(script) + 64;
    assert_non_null(at);
    other = malloc(size);
    assert_non_null(other);
    snprintf(other, size, "%.*sEDV_TENANT_NAME='Old Name Academy'%s",
             (int)(at - script), script, at + strlen(old));
    for (size_t i = 0; i < json_object_array_length(items); i++) {
      json_object *it = json_object_array_get_idx(items, i);
      if (strcmp(jstr(it, "key"), "startup-script") == 0)
        json_object_object_add(it, "value", json_object_new_string(other));
    }
    free(other);
    body = strdup(json_object_to_json_string(md));
    EDV(&r, &s, "--sim", "-q", "api", "POST", VM_PATH "/setMetadata", "--wait",
        "--data", body);
    free(body);
    EXPECT_OK(&r);
  }
  json_object_put(o);
  free(script);
  EDV(&r, &s, "--sim", "tenant", "plan", "school001", "--format", "json");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_false(json_object_get_boolean(jget(o, "in_sync")));
  assert_int_equal(json_object_array_length(jget(o, "changes")), 1);
  assert_string_equal(
      jstr(json_object_array_get_idx(jget(o, "changes"), 0), "step"), "vm");
  assert_non_null(strstr(json_object_to_json_string(o), "setMetadata"));
  json_object_put(o);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "state", "school001");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "display_name"), "Greenwood's Academy");
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "history", "school001");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "updated"));
  scratch_remove(&s);
}

#define REFUSED(s, needle, ...)                                                \
  do {                                                                         \
    const char *const args_[] = {"--sim", __VA_ARGS__, NULL};                  \
    refused((s), (needle), args_);                                             \
  } while (0)

static void test_bad_arguments(void **state)
{
  scratch s;

  (void)state;
  scratch_make(&s);
  platform_init(&s);
  REFUSED(&s, "TIER 'gold' is not a known tier (known: basic", "tenant",
          "create", "school001", "greenwood-high", "Greenwood High School",
          "gold", "us-central1", "--wait");
  REFUSED(&s, "field 'id'", "tenant", "create", "School_1", "greenwood-high",
          "Greenwood High School", "premium", "us-central1", "--wait");
  /* Ids of 27..63 characters were cut to 26 and that id provisioned. They
   * are refused as the Management API refuses them (edv__spec_set). */
  REFUSED(&s,
          "ID 'abcdefghijklmnopqrstuvwxyz1': field 'id' has the wrong "
          "length",
          "tenant", "create", "abcdefghijklmnopqrstuvwxyz1", "greenwood-high",
          "Greenwood High School", "premium", "us-central1", "--no-wait");
  REFUSED(&s, "field 'id' has the wrong length", "tenant", "create",
          "abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghijklmnopqrstuvwxy",
          "greenwood-high", "Greenwood High School", "premium", "us-central1",
          "--no-wait");
  /* A reserved hostname label (dns.reserved_labels' built-in list). */
  REFUSED(&s, "SLUG 'www': field 'slug' 'www' is a reserved DNS label",
          "tenant", "create", "school001", "www", "Greenwood High School",
          "premium", "us-central1", "--no-wait");
  REFUSED(&s,
          "REGION 'mars-north1': field 'region': 'mars-north1' is not a "
          "region of project",
          "tenant", "create", "school001", "greenwood-high",
          "Greenwood High School", "premium", "mars-north1", "--wait");
  REFUSED(&s, "missing argument REGION", "tenant", "create", "school001",
          "greenwood-high", "Greenwood High School", "premium");
  REFUSED(&s, "missing argument ID", "tenant", "create");
  REFUSED(&s, "edvctl tenant create: unknown flag '--colour'\n", "tenant",
          "create", "school001", "greenwood-high", "Greenwood High School",
          "premium", "us-central1", "--colour");
  REFUSED(&s, "--wait and --async exclude each other", "tenant", "create",
          "school001", "greenwood-high", "Greenwood High School", "premium",
          "us-central1", "--wait", "--no-wait");
  REFUSED(&s, "unexpected argument 'extra'", "tenant", "create", "school001",
          "greenwood-high", "Greenwood High School", "premium", "us-central1",
          "extra");
  REFUSED(&s, "--state: 'sleepy' is not a phase", "tenant", "list", "--state",
          "sleepy");
  REFUSED(&s, "--tier: 'gold' is not a tier", "tenant", "list", "--tier",
          "gold");
  REFUSED(&s, "--profile 'slow' is not one of", "sim", "start", "--profile",
          "slow");
  REFUSED(&s, "edvctl tenant: unknown command 'destroy'\n", "tenant", "destroy",
          "school001");
  scratch_remove(&s);
}

/* A DNS record someone else made at a would-be tenant's hostname: the
 * create is refused (exit 4) naming the record, nothing is recorded and
 * the record keeps its value. */
static void test_foreign_dns(void **state)
{
  static run_result r;
  scratch s;
  json_object *o;
  const char *zone = "/dns/v1/projects/edv-sim/managedZones/edvirons-com";
  char path[200];

  (void)state;
  scratch_make(&s);
  platform_init(&s);
  snprintf(path, sizeof(path), "%s/rrsets", zone);
  EDV(&r, &s, "--sim", "-q", "api", "POST", path, "--data",
      "{\"name\":\"greenwood-high.edvirons.com.\",\"type\":\"A\","
      "\"ttl\":600,\"rrdatas\":[\"198.51.100.7\"]}");
  EXPECT_OK(&r);
  EDV(&r, &s, "--sim", "tenant", "create", "school001", "greenwood-high",
      "Greenwood High School", "premium", "us-central1", "--no-wait");
  if (r.status != 4 || !strstr(r.err, "greenwood-high.edvirons.com.") ||
      !strstr(r.err, "198.51.100.7") || !strstr(r.err, "field 'slug'"))
    print_error("exit %d, stderr: %s\n", r.status, r.err);
  assert_int_equal(r.status, 4);
  assert_non_null(strstr(r.err, "did not create"));
  EDV(&r, &s, "--sim", "tenant", "list", "--all", "--format", "json");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_array_length(jget(o, "tenants")), 0);
  json_object_put(o);
  snprintf(path, sizeof(path), "%s/rrsets/greenwood-high.edvirons.com./A",
           zone);
  EDV(&r, &s, "--sim", "--format", "json", "api", "GET", path);
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(
      json_object_get_string(json_object_array_get_idx(jget(o, "rrdatas"), 0)),
      "198.51.100.7");
  assert_int_equal(json_object_array_length(jget(o, "rrdatas")), 1);
  json_object_put(o);
  scratch_remove(&s);
}

/* ---- provision-tenant.sh
 * ---------------------------------------------------*/

static void test_provision_script(void **state)
{
  static run_result r;
  scratch s;
  char script[512], env_edvctl[512], env_state[300], env_conf[320];
  const char *none[] = {NULL};
  const char *two[] = {"school001", "greenwood-high", NULL};
  const char *seed[] = {"school001", "greenwood-high", "Greenwood High School",
                        "premium",   "us-central1",    NULL};
  const char *env[6];

  (void)state;
  scratch_make(&s);
  platform_init(&s);
  snprintf(script, sizeof(script), "%s/provision-tenant.sh", src_root);
  snprintf(env_edvctl, sizeof(env_edvctl), "EDVCTL=%s", edvctl);
  snprintf(env_state, sizeof(env_state), "EDV_STATE_DIR=%s", s.dir);
  snprintf(env_conf, sizeof(env_conf), "EDV_CONFIG=%s", s.config);
  env[0] = env_edvctl;
  env[1] = env_state;
  env[2] = env_conf;
  env[3] = "EDV_SIM=1";
  env[4] = NULL;

  run_prog(&r, script, none, env);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "usage: provision-tenant.sh"));
  run_prog(&r, script, two, env);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "expected 5 arguments, got 2"));

  run_prog(&r, script, seed, env);
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Phase        READY"));
  assert_non_null(strstr(r.out, "URL          https://school001.edvirons.com"));
  assert_non_null(strstr(r.err, "school001: phase READY"));
  /* Idempotent: the same spec again is accepted and stays READY. */
  run_prog(&r, script, seed, env);
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Phase        READY"));
  scratch_remove(&s);
}

/* ---- the README quickstart ---------------------------------------------- */

static void test_quickstart(void **state)
{
  static run_result r;
  static char readme[65536];
  scratch s;
  char path[512], env_build[512], env_state[320];
  const char *const qs[] = {"scripts/quickstart.sh", NULL};
  const char *env[8];
  FILE *f;
  size_t n;

  (void)state;
  /* The README's quickstart block names the script this test runs. */
  snprintf(path, sizeof(path), "%s/README.md", src_root);
  f = fopen(path, "r");
  assert_non_null(f);
  n = fread(readme, 1, sizeof(readme) - 1, f);
  readme[n] = '\0';
  fclose(f);
  assert_non_null(strstr(readme, "    bash scripts/quickstart.sh\n"));
  assert_non_null(strstr(readme, "    bash .ci/run\n"));

  scratch_make(&s);
  snprintf(env_build, sizeof(env_build), "EDV_BUILD_DIR=%s", bld_root);
  snprintf(env_state, sizeof(env_state), "QUICKSTART_STATE=%s/qs", s.dir);
  env[0] = env_build;
  env[1] = env_state;
  env[2] = "EDV_SKIP_DEPS=1";  /* the packages are there: we built */
  env[3] = "EDV_SKIP_BUILD=1"; /* and do not rebuild the tree under test */
  env[4] = "QUICKSTART_PROFILE=fast";
  env[5] = NULL;
  /* `bash scripts/quickstart.sh` from the source root, as the README. */
  assert_int_equal(chdir(src_root), 0);
  run_prog(&r, "/bin/bash", qs, env);
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Platform ready."));
  assert_non_null(strstr(r.out, "Phase        READY"));
  assert_non_null(strstr(r.out, "URL          https://school001.edvirons.com"));
  assert_non_null(strstr(r.out, "VM           edv-school001-vm"));
  assert_non_null(strstr(r.out, "Database     edv-school001-db-1"));
  assert_non_null(strstr(r.out, "Certificate  edv-school001-cert: ACTIVE"));
  assert_non_null(strstr(r.out, "Cost         ~$167.94 a month"));
  /* A rerun works (fresh state each time). */
  run_prog(&r, "/bin/bash", qs, env);
  EXPECT_OK(&r);
  scratch_remove(&s);
}

/* ---- sim start ---------------------------------------------------------- */

/* The simulator's clock in ms, through its admin API. */
static long long sim_clock_ms(const scratch *s)
{
  static run_result r;
  json_object *o, *ms;
  long long v;

  EDV(&r, s, "sim", "clock", "advance", "0");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_true(json_object_object_get_ex(o, "ms", &ms));
  v = json_object_get_int64(ms);
  json_object_put(o);
  return v;
}

/* The verbs on a running simulator, found through the state directory. */
static void sim_verbs(const scratch *s, const char *url, const char *env_ep,
                      const char *env_key)
{
  static run_result r;
  char want[300];
  const char *get[] = {
      "api", "GET", "/compute/v1/projects/edv-sim/regions/us-central1", NULL};
  const char *env[] = {env_ep, env_key, "EDV_PROJECT=edv-sim", NULL};
  long long t0;

  EDV(&r, s, "sim", "env");
  EXPECT_OK(&r);
  snprintf(want, sizeof(want), "export EDV_ENDPOINT=%s ", url);
  assert_non_null(strstr(r.out, want));
  snprintf(want, sizeof(want),
           "export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=%s/compute/v1/\n",
           url);
  assert_non_null(strstr(r.out, want));

  /* A fault the simulator applies once, then no more. */
  EDV(&r, s, "sim", "faults", "add",
      "{\"api\":\"compute\",\"errorRate\":1,\"code\":400,\"count\":1}");
  EXPECT_OK(&r);
  EDV(&r, s, "sim", "faults", "list");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "\"code\": 400"));
  run_prog(&r, edvctl, get, env);
  assert_int_equal(r.status, 5);
  run_prog(&r, edvctl, get, env);
  EXPECT_OK(&r);
  EDV(&r, s, "sim", "faults", "add", "{\"api\":\"dns\",\"latencyMs\":5}");
  EXPECT_OK(&r);
  EDV(&r, s, "sim", "faults", "clear");
  EXPECT_OK(&r);
  EDV(&r, s, "sim", "faults", "list");
  assert_null(strstr(r.out, "\"api\""));

  t0 = sim_clock_ms(s);
  EDV(&r, s, "sim", "clock", "advance", "1h");
  EXPECT_OK(&r);
  assert_true(sim_clock_ms(s) - t0 >= 3600 * 1000);

  EDV(&r, s, "sim", "state", "--kind", "compute#region");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "\"name\": \"projects/edv-sim/regions/"));
  assert_null(strstr(r.out, "compute#zone"));
  EDV(&r, s, "sim", "reset");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "\"status\": \"ok\""));
  EDV(&r, s, "sim", "clock", "advance", "soon");
  assert_int_equal(r.status, 2);
  run_prog(&r, edvctl,
           (const char *const[]){"--state-dir", "/nonexistent-edv", "sim",
                                 "env", NULL},
           NULL);
  assert_int_equal(r.status, 3);
  assert_non_null(strstr(r.err, "no simulator was started"));
}

static void test_sim_start(void **state)
{
  static run_result r;
  scratch s;
  char outname[320], key[320], url[128] = "", env_ep[160], env_key[340];
  pid_t pid;
  int wstatus, outfd;
  struct timespec ts = {0, 50 * 1000000L};

  (void)state;
  scratch_make(&s);
  snprintf(outname, sizeof(outname), "%s/sim.out", s.dir);
  snprintf(key, sizeof(key), "%s/key.json", s.dir);
  outfd = open(outname, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  assert_true(outfd >= 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(outfd, 1);
    execl(edvctl, edvctl, "--config", s.config, "sim", "start", "--port", "0",
          "--key-out", key, "--format", "json", (char *)NULL);
    _exit(127);
  }
  close(outfd);
  for (int tries = 0; tries < 200 && !url[0]; tries++) {
    FILE *f = fopen(outname, "r");
    char line[256];
    nanosleep(&ts, NULL);
    while (f && fgets(line, sizeof(line), f)) {
      char *p = strstr(line, "\"url\": \"");
      if (p) {
        p += 8;
        *strchr(p, '"') = '\0';
        snprintf(url, sizeof(url), "%s", p);
      }
    }
    if (f)
      fclose(f);
  }
  assert_true(url[0] != '\0');
  snprintf(env_ep, sizeof(env_ep), "EDV_ENDPOINT=%s", url);
  snprintf(env_key, sizeof(env_key), "EDV_KEY_FILE=%s", key);
  {
    const char *args[] = {
        "api", "GET", "/compute/v1/projects/edv-sim/regions/us-central1", NULL};
    const char *env[] = {env_ep, env_key, "EDV_PROJECT=edv-sim", NULL};
    run_prog(&r, edvctl, args, env);
  }
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "compute#region"));
  sim_verbs(&s, url, env_ep, env_key);
  kill(pid, SIGINT);
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  assert_true(WIFEXITED(wstatus));
  assert_int_equal(WEXITSTATUS(wstatus), 0);
  scratch_remove(&s);
}

/* ---- docs/cli.md and the EDV_SIM variable --------------------------------*/

/* Every command of `edvctl --help` and of each group's --help appears in
 * docs/cli.md as `edvctl GROUP COMMAND`. */
static void test_docs_in_sync(void **state)
{
  static run_result top, grp;
  static char doc[131072];
  char path[512], line[256], group[64], name[64], full[160];
  FILE *f;
  size_t n;
  const char *p;
  int ncmds = 0;

  (void)state;
  snprintf(path, sizeof(path), "%s/docs/cli.md", src_root);
  f = fopen(path, "r");
  assert_non_null(f);
  n = fread(doc, 1, sizeof(doc) - 1, f);
  doc[n] = '\0';
  fclose(f);
  run_prog(&top, edvctl, (const char *const[]){"--help", NULL}, NULL);
  EXPECT_OK(&top);
  p = strstr(top.out, "Commands:\n");
  assert_non_null(p);
  p += 10;
  while (sscanf(p, "  %63s", group) == 1 && strncmp(p, "  ", 2) == 0) {
    const char *q;
    run_prog(&grp, edvctl, (const char *const[]){group, "--help", NULL}, NULL);
    EXPECT_OK(&grp);
    if (!strstr(grp.out, "Examples:"))
      print_error("'edvctl %s --help' has no examples\n", group);
    assert_non_null(strstr(grp.out, "Examples:"));
    q = strstr(grp.out, "Commands:\n");
    if (!q) {
      snprintf(full, sizeof(full), "`edvctl %s", group);
      if (!strstr(doc, full))
        print_error("docs/cli.md lacks %s`\n", full);
      assert_non_null(strstr(doc, full));
      ncmds++;
    }
    for (q = q ? q + 10 : NULL;
         q && sscanf(q, "  %63s", name) == 1 && strncmp(q, "  ", 2) == 0;) {
      snprintf(full, sizeof(full), "### `edvctl %s %s", group, name);
      if (!strstr(doc, full))
        print_error("docs/cli.md lacks a section %s`\n", full);
      assert_non_null(strstr(doc, full));
      ncmds++;
      q = strchr(q, '\n');
      q = q ? q + 1 : NULL;
    }
    p = strchr(p, '\n');
    if (!p)
      break;
    p++;
  }
  /* Leaf commands' --help have examples too. */
  {
    static run_result leaf;
    const char *const leaves[][3] = {
        {"tenant", "create", NULL}, {"tenant", "plan", NULL},
        {"tenant", "get", NULL},    {"sim", "start", NULL},
        {"tiers", "list", NULL},    {"platform", "init", NULL}};
    for (size_t i = 0; i < sizeof(leaves) / sizeof(*leaves); i++) {
      const char *a[] = {leaves[i][0], leaves[i][1], "--help", NULL};
      run_prog(&leaf, edvctl, a, NULL);
      EXPECT_OK(&leaf);
      assert_non_null(strstr(leaf.out, "Examples:"));
      snprintf(line, sizeof(line), "Usage: edvctl %s %s", leaves[i][0],
               leaves[i][1]);
      assert_non_null(strstr(leaf.out, line));
    }
  }
  assert_true(ncmds >= 14);
  assert_non_null(strstr(doc, "| 7 | interrupted"));
}

static void test_env_sim(void **state)
{
  static run_result r;
  scratch s;
  char env_state[300];
  const char *args[] = {"tenant", "list", "--format", "json", NULL};
  const char *env[] = {env_state, "EDV_SIM=1", NULL};
  const char *bad[] = {"EDV_SIM=maybe", NULL};
  json_object *o;

  (void)state;
  scratch_make(&s);
  snprintf(env_state, sizeof(env_state), "EDV_STATE_DIR=%s", s.dir);
  run_prog(&r, edvctl, args, env);
  EXPECT_OK(&r);
  /* An empty list (json-c before 0.17 prints it "[\n]", later "[]"). */
  o = parse_out(&r);
  assert_true(json_object_is_type(jget(o, "tenants"), json_type_array));
  assert_int_equal(json_object_array_length(jget(o, "tenants")), 0);
  json_object_put(o);
  run_prog(&r, edvctl, args, bad);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "EDV_SIM 'maybe'"));
  scratch_remove(&s);
}

/* ---- shell completion --------------------------------------------------- */

/* The candidates `edvctl __complete WORD...` prints for the last word. */
static const char *complete(const char *const *words)
{
  static run_result r;
  const char *argv[24] = {"__complete"};
  int i = 1;

  for (int k = 0; words[k] && i < 23; k++)
    argv[i++] = words[k];
  argv[i] = NULL;
  run_prog(&r, edvctl, argv, NULL);
  EXPECT_OK(&r);
  return r.out;
}

#define COMPLETES(want, ...)                                                   \
  do {                                                                         \
    const char *const words_[] = {__VA_ARGS__, NULL};                          \
    const char *got_ = complete(words_);                                       \
    if (strcmp(got_, (want)) != 0)                                             \
      print_error("completing '%s': got '%s', wanted '%s'\n",                  \
                  words_[sizeof(words_) / sizeof(words_[0]) - 2], got_,        \
                  (want));                                                     \
    assert_string_equal(got_, (want));                                         \
  } while (0)

/* Completion walks the parser's command table and the state; the bash
 * script turns its answer into COMPREPLY. */
static void test_completion(void **state)
{
  static run_result r;
  scratch s;
  char cmd[2048], out[300];

  (void)state;
  scratch_make(&s);
  EDV(&r, &s, "--sim", "-q", "tenant", "create", "school001", "greenwood",
      "Greenwood", "basic", "europe-west1", "--no-wait");
  EXPECT_OK(&r);
  COMPLETES("tenant\n", "ten");
  COMPLETES("retry\nresume\nrecover\nrestore\n", "tenant", "re");
  COMPLETES("--wait\n", "tenant", "create", "--w");
  COMPLETES("table\njson\nyaml\n", "--format", "");
  COMPLETES("@files\n", "--config", "");
  COMPLETES("READY\n", "tenant", "list", "--state", "R");
  COMPLETES("", "tenant", "zz", "");       /* unknown: nothing */
  COMPLETES("", "tenant", "get", "x", ""); /* one ID only */
  COMPLETES("bash\n", "completion", "b");
  COMPLETES("school001\n", "--config", s.config, "tenant", "get", "");
  COMPLETES("school001\n", "tenant", "--config", s.config, "delete", "s");
  COMPLETES("basic\n", "--config", s.config, "tenant", "create", "a", "b", "c",
            "ba");
  /* The configured region first, then those the tenants use. */
  COMPLETES("us-central1\neurope-west1\n", "--config", s.config, "tenant",
            "create", "a", "b", "c", "basic", "");
  assert_non_null(
      strstr(complete((const char *const[]){"--config", s.config, "tenant",
                                            "create", "a", "b", "c", "", NULL}),
             "premium\n"));
  /* A tiers file that cannot be read: no tier is offered (and nothing
   * crashes). */
  snprintf(cmd, sizeof(cmd), "%s/notiers.conf", s.dir);
  {
    FILE *f = fopen(cmd, "w");
    assert_non_null(f);
    fprintf(f, "state_dir = %s\ntiers_file = %s/missing.json\n", s.dir, s.dir);
    fclose(f);
  }
  COMPLETES("", "--config", cmd, "tenant", "scale", "school001", "");

  /* The bash script itself, through bash. */
  snprintf(out, sizeof(out), "%s/compreply", s.dir);
  snprintf(cmd, sizeof(cmd),
           "bash -c 'source <(\"$0\" completion bash) && "
           "COMP_WORDS=(\"$0\" --config \"$1\" tenant get sch) && "
           "COMP_CWORD=5 && _edvctl && printf \"%%s\\n\" "
           "\"${COMPREPLY[@]}\"' '%s' '%s' > '%s'",
           edvctl, s.config, out);
  assert_int_equal(system(cmd), 0);
  assert_true(file_has(out, "school001\n"));
  /* fish through fish; zsh's script is only parsed (driving zsh's
   * completion system needs a terminal). */
  snprintf(cmd, sizeof(cmd),
           "fish -c 'set -gx PATH (dirname $argv[1]) $PATH; "
           "source (edvctl completion fish | psub); "
           "complete -C\"edvctl --config $argv[2] tenant get sch\"' "
           "'%s' '%s' > '%s'",
           edvctl, s.config, out);
  assert_int_equal(system(cmd), 0);
  assert_true(file_has(out, "school001\n"));
  snprintf(cmd, sizeof(cmd), "'%s' completion zsh | zsh -n", edvctl);
  assert_int_equal(system(cmd), 0);
  run_prog(&r, edvctl, (const char *const[]){"completion", "tcsh", NULL}, NULL);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "SHELL 'tcsh' is not one of: bash, zsh"));
  scratch_remove(&s);
}

/* ---- the state store's file -------------------------------------------- */

/* Both programs must refuse `db` (exit non-zero, naming it and `why`) and
 * leave it as it was. */
static void store_refused(const scratch *s, const char *db, const char *why)
{
  static run_result r;
  struct stat before, after;
  const char *edvd_args[] = {"--config", s->config, "--listen", "127.0.0.1:0",
                             NULL};

  assert_int_equal(stat(db, &before), 0);
  EDV(&r, s, "tenant", "list", "--all", "--format", "json");
  if (r.status == 0 || !strstr(r.err, db) || !strstr(r.err, why))
    print_error("edvctl: exit %d, stderr: %s\n(wanted '%s')\n", r.status, r.err,
                why);
  assert_int_not_equal(r.status, 0);
  assert_non_null(strstr(r.err, db));
  assert_non_null(strstr(r.err, why));
  assert_string_equal(r.out, "");
  assert_non_null(edvd);
  run_prog(&r, edvd, edvd_args, NULL);
  /* edvd logs JSON lines: json-c writes '/' as "\/". */
  for (char *w = r.err, *p = r.err;; p++) {
    if (p[0] == '\\' && p[1] == '/')
      p++;
    if (!(*w++ = *p))
      break;
  }
  if (r.status == 0 || !strstr(r.err, db) || !strstr(r.err, why))
    print_error("edvd: exit %d, stderr: %s\n(wanted '%s')\n", r.status, r.err,
                why);
  assert_int_not_equal(r.status, 0);
  assert_non_null(strstr(r.err, db));
  assert_non_null(strstr(r.err, why));
  assert_int_equal(stat(db, &after), 0);
  assert_int_equal(after.st_size, before.st_size);
  assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

/* An empty or foreign edv.db is an error for edvctl and edvd alike (never
 * a new, empty store that forgets every tenant); a missing one is
 * created. */
static void test_store_file(void **state)
{
  static run_result r;
  scratch s;
  char db[320];
  struct stat sb;
  json_object *o;
  FILE *f;

  (void)state;
  scratch_make(&s);
  snprintf(db, sizeof(db), "%s/edv.db", s.dir);
  f = fopen(db, "w");
  assert_non_null(f);
  fclose(f);
  store_refused(&s, db, "is empty, not an edv store");
  f = fopen(db, "w");
  assert_non_null(f);
  for (int i = 0; i < 100; i++)
    fputs("school001 READY\n", f);
  fclose(f);
  store_refused(&s, db, "is not an SQLite database");
  unlink(db);
  /* The fleet needs a project (none is called to list). */
  EDV(&r, &s, "--project", "edv-test", "tenant", "list", "--all", "--format",
      "json");
  EXPECT_OK(&r);
  o = parse_out(&r); /* json-c 0.17 and later print [] as "[]" */
  assert_int_equal(json_object_array_length(jget(o, "tenants")), 0);
  json_object_put(o);
  assert_int_equal(stat(db, &sb), 0);
  assert_true(sb.st_size > 0);
  scratch_remove(&s);
}

/* ---- Ctrl-C and the terminal ------------------------------------------- */

/* SIGINT during `create --wait`: exit 7, a consistent record, and `tenant
 * resume` finishes the tenant. */
static void test_interrupt(void **state)
{
  static run_result r;
  scratch s;
  char outname[320], errname[320];
  pid_t pid;
  int wstatus, outfd, errfd;
  struct timespec ts = {1, 500 * 1000000L};
  json_object *o;

  (void)state;
  scratch_make(&s);
  platform_init(&s);
  snprintf(outname, sizeof(outname), "%s/create.out", s.dir);
  snprintf(errname, sizeof(errname), "%s/create.err", s.dir);
  outfd = open(outname, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  errfd = open(errname, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  assert_true(outfd >= 0 && errfd >= 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(outfd, 1);
    dup2(errfd, 2);
    execl(edvctl, edvctl, "--config", s.config, "--sim", "tenant", "create",
          "school001", "greenwood-high", "Greenwood High School", "premium",
          "us-central1", "--wait", (char *)NULL);
    _exit(127);
  }
  close(outfd);
  close(errfd);
  nanosleep(&ts, NULL); /* inside the run: the fast profile takes ~9 s */
  kill(pid, SIGINT);
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  assert_true(WIFEXITED(wstatus));
  assert_int_equal(WEXITSTATUS(wstatus), 7);
  assert_true(file_has(errname, "tenant resume school001"));

  EDV(&r, &s, "--sim", "tenant", "get", "school001", "--format", "json");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "PROVISIONING");
  json_object_put(o);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "resume", "school001");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "READY");
  json_object_put(o);
  scratch_remove(&s);
}

/* On a terminal (script(1) gives one): the live view hides the cursor,
 * redraws in place, ends with the outcome and shows the cursor again. */
static void test_tty(void **state)
{
  static run_result r;
  scratch s;
  char cmd[2048];
  const char *args[5];
  const char *env[] = {"TERM=xterm", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", NULL};
  char *hide, *show;

  (void)state;
  if (access("/usr/bin/script", X_OK) != 0)
    skip();
  scratch_make(&s);
  platform_init(&s);
  snprintf(cmd, sizeof(cmd),
           "stty cols 72 rows 40 2>/dev/null; '%s' --config '%s' --sim tenant "
           "create school001 greenwood-high 'Greenwood High School' premium "
           "us-central1 --wait",
           edvctl, s.config);
  args[0] = "-qec";
  args[1] = cmd;
  args[2] = "/dev/null";
  args[3] = NULL;
  run_prog(&r, "/usr/bin/script", args, env);
  EXPECT_OK(&r);
  hide = strstr(r.out, "\033[?25l");
  show = strstr(r.out, "\033[?25h");
  assert_non_null(hide);
  assert_non_null(show);
  assert_true(show > hide);
  assert_non_null(strstr(r.out, "Provisioning school001 (greenwood-high"));
  assert_non_null(strstr(r.out, "\033[29A")); /* redrawn in place */
  assert_non_null(strstr(r.out, "school001 is READY ("));
  assert_non_null(strstr(r.out, "Certificate  edv-school001-cert: ACTIVE"));
  /* No progress line of the pipe mode. */
  assert_null(strstr(r.out, "school001: subnet: done"));
  scratch_remove(&s);
}

/* ---- day 2: backups, restore, metrics, the fleet as a whole ------------- */

/* The simulator's stored resource or operation `name` from its cloud file
 * (list "resources" or "operations"), or NULL; json_object_put it. */
static json_object *sim_stored(const scratch *s, const char *list,
                               const char *name)
{
  char path[320];
  json_object *cloud, *arr, *out = NULL;

  snprintf(path, sizeof(path), "%s/sim-cloud.json", s->dir);
  cloud = json_object_from_file(path);
  assert_non_null(cloud);
  arr = jget(cloud, list);
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *x = json_object_array_get_idx(arr, i);
    if (jstr(x, "name") && strcmp(jstr(x, "name"), name) == 0)
      out = json_object_get(x);
  }
  json_object_put(cloud);
  return out;
}

static void test_day2(void **state)
{
  static run_result r;
  scratch s;
  json_object *o, *run, *op, *arr;
  char bid[40], inst[100], name[300];
  int seen = 0;

  (void)state;
  scratch_make(&s);
  platform_init(&s);
  EDV(&r, &s, "--sim", "-q", "tenant", "create", "day01", "day-one",
      "Day One School", "basic", "us-central1", "--wait");
  EXPECT_OK(&r);

  /* A backup: waited for, and in the simulator, SUCCESSFUL. */
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "backup", "day01",
      "--description", "before the term");
  EXPECT_OK(&r);
  assert_string_equal(r.err, "");
  o = parse_out(&r);
  assert_string_equal(jstr(o, "kind"), "backup");
  assert_string_equal(jstr(o, "status"), "DONE");
  assert_false(json_object_get_boolean(jget(o, "replayed")));
  snprintf(bid, sizeof(bid), "%s", jstr(o, "backup_id"));
  snprintf(inst, sizeof(inst), "%s", jstr(o, "instance"));
  json_object_put(o);
  snprintf(name, sizeof(name), "projects/edv-sim/instances/%s/backupRuns/%s",
           inst, bid);
  run = sim_stored(&s, "resources", name);
  if (!run)
    print_error("no backup run %s in the simulator\n", name);
  assert_non_null(run);
  assert_string_equal(jstr(jget(run, "obj"), "status"), "SUCCESSFUL");
  assert_string_equal(jstr(jget(run, "obj"), "type"), "ON_DEMAND");
  assert_string_equal(jstr(jget(run, "obj"), "description"), "before the term");
  json_object_put(run);

  /* The list shows it, and nothing in progress. */
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "backups", "day01");
  EXPECT_OK(&r);
  o = parse_out(&r);
  arr = jget(o, "backups");
  for (size_t i = 0; i < json_object_array_length(arr); i++)
    if (strcmp(jstr(json_object_array_get_idx(arr, i), "id"), bid) == 0)
      seen++;
  assert_int_equal(seen, 1);
  assert_null(jget(o, "operation"));
  assert_string_equal(jstr(o, "instance"), inst);
  json_object_put(o);
  EDV(&r, &s, "--sim", "tenant", "backups", "day01");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, bid));
  assert_non_null(strstr(r.out, "SUCCESSFUL"));

  /* Restore: refusals first (usage: exit 2; unknown backup: 3). */
  EDV(&r, &s, "--sim", "tenant", "restore", "day01");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "--backup"));
  EDV(&r, &s, "--sim", "tenant", "restore", "day01", "--backup", "12ab");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "backup_id"));
  EDV(&r, &s, "--sim", "tenant", "restore", "day01", "--backup", "999");
  assert_int_equal(r.status, 3);
  EDV(&r, &s, "--sim", "tenant", "backup", "nosuch");
  assert_int_equal(r.status, 3);
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "restore", "day01",
      "--backup", bid);
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "kind"), "restore");
  assert_string_equal(jstr(o, "status"), "DONE");
  assert_string_equal(jstr(o, "backup_id"), bid);
  snprintf(name, sizeof(name), "projects/edv-sim/operations/%s",
           jstr(o, "operation"));
  json_object_put(o);
  op = sim_stored(&s, "operations", name);
  assert_non_null(op);
  assert_string_equal(jstr(op, "methodId"), "sql.instances.restoreBackup");
  assert_string_equal(jstr(op, "targetId"), inst);
  json_object_put(op);
  /* The journal has both jobs' ends. */
  EDV(&r, &s, "--sim", "tenant", "history", "day01");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "backup.start"));
  assert_non_null(strstr(r.out, "restore.start"));
  assert_non_null(strstr(r.out, "result=DONE"));

  /* Metrics: the window checked, the steps' durations. */
  EDV(&r, &s, "--sim", "tenant", "metrics", "day01", "--window", "31d");
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "window"));
  EDV(&r, &s, "--sim", "--format", "json", "tenant", "metrics", "day01",
      "--window", "15m");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "phase"), "READY");
  assert_int_equal(json_object_get_int(jget(o, "window_s")), 900);
  assert_true(json_object_array_length(jget(o, "steps")) > 3);
  json_object_put(o);

  /* The fleet as a whole. */
  EDV(&r, &s, "--sim", "--format", "json", "infra", "status");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(jstr(o, "platform"), "READY");
  assert_int_equal(json_object_get_int(jget(jget(o, "tenants"), "total")), 1);
  assert_int_equal(
      json_object_get_int(jget(jget(jget(o, "tenants"), "by_phase"), "READY")),
      1);
  json_object_put(o);
  EDV(&r, &s, "--sim", "--format", "json", "infra", "costs");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_int_equal(json_object_get_int(jget(o, "tenants")), 1);
  assert_true(json_object_get_double(jget(o, "monthly_total")) > 0);
  json_object_put(o);
  EDV(&r, &s, "--sim", "--format", "json", "infra", "capacity");
  EXPECT_OK(&r);
  o = parse_out(&r);
  assert_string_equal(
      jstr(json_object_array_get_idx(jget(o, "regions"), 0), "region"),
      "us-central1");
  assert_true(json_object_get_int(jget(jget(o, "sql"), "instances")) >= 1);
  assert_true(json_object_get_int(jget(jget(o, "subnets"), "used")) >= 1);
  json_object_put(o);
  EDV(&r, &s, "--sim", "infra", "capacity");
  EXPECT_OK(&r);
  assert_non_null(strstr(r.out, "Region us-central1"));
  scratch_remove(&s);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flow),
      cmocka_unit_test(test_day2),
      cmocka_unit_test(test_scale_apply),
      cmocka_unit_test(test_reconcile_update),
      cmocka_unit_test(test_async),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_foreign_dns),
      cmocka_unit_test(test_provision_script),
      cmocka_unit_test(test_quickstart),
      cmocka_unit_test(test_sim_start),
      cmocka_unit_test(test_docs_in_sync),
      cmocka_unit_test(test_env_sim),
      cmocka_unit_test(test_completion),
      cmocka_unit_test(test_interrupt),
      cmocka_unit_test(test_tty),
      cmocka_unit_test(test_store_file),
  };

  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH_TO_EDVCTL [TEST_NAME_PATTERN]\n", argv[0]);
    return 2;
  }
  edvctl = realpath(argv[1], NULL); /* the quickstart test changes dir */
  if (!edvctl) {
    fprintf(stderr, "%s: not found\n", argv[1]);
    return 2;
  }
  src_root = getenv("EDV_SOURCE_ROOT");
  bld_root = getenv("EDV_BUILD_ROOT");
  if (!src_root || !bld_root) {
    fprintf(stderr, "EDV_SOURCE_ROOT and EDV_BUILD_ROOT must be set\n");
    return 2;
  }
  if (argc > 2)
    cmocka_set_test_filter(argv[2]);
  edvd = argc > 3 ? argv[3] : NULL;
  {
    int result = cmocka_run_group_tests(tests, NULL, NULL);
    free((char *)edvctl);
    return result;
  }
}
