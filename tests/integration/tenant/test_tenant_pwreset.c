/*
 * test_tenant_pwreset.c - the database password reset survives a run that
 * stops between the secret's new version and users.update.
 *
 * The db_secret step adds a Secret Manager version (a new DB password)
 * when the secret has none enabled; the sql_user step must then set the
 * existing database user's password from it. Which version the user's
 * password was last set from is durable (the sql_user step's record), so
 * a run that ends right after addVersion is resumed by the next one.
 *
 * stop: the tenant's secret is deleted behind its back; the run is stopped
 * (at a durable point) right after its addVersion returned. The resumed run
 * sends users.update for the tenant's user (the simulator's request log;
 * it never shows passwords; a plan before it shows the call), both steps
 * end DONE, and a further run makes no mutating call. A version added behind
 * the machine's back (a manual rotation) reaches the user the same way, without
 * a new addVersion. The password is in no file of the state directory (store,
 * WAL).
 *
 * kill: the same with kill -9: each "life" is a forked child driving the
 * tenant against an edv-gcpsim child process (which outlives it, as the
 * cloud does); the first dies by SIGKILL right after addVersion returns.
 */
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "tenant/spec.h"
#include "tharness.h"

#define SM "/v1/projects/edv-sim/secrets/"

static pid_t g_parent;

/* A cmocka failure inside a forked life (test_kill) would longjmp into the
 * child's copy of the runner: each test starts here, and lives end
 * instead. */
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

/* The simulator's clock, as its request log writes times (ms): requests
 * logged before the call are a few ms older. */
static void sim_mark(th *h, char *out, size_t size)
{
  json_object *c;

  usleep(5000);
  c = th_admin(h, "GET", "/_sim/clock", NULL);

  assert_non_null(c);
  assert_non_null(jstr_at(c, "time"));
  snprintf(out, size, "%s", jstr_at(c, "time"));
  json_object_put(c);
}

/* Read-like POSTs and operation reads (as the harness's tap counts). */
static int read_like(const char *id)
{
  static const char *const sfx[] = {".getHealth",    ".listInstances", ".wait",
                                    ".getIamPolicy", ".get",           ".list",
                                    ".access"};
  size_t n = strlen(id);

  if (strstr(id, "operations.") || strstr(id, "changes.get"))
    return 1;
  for (size_t i = 0; i < sizeof(sfx) / sizeof(*sfx); i++) {
    size_t k = strlen(sfx[i]);
    if (n >= k && strcmp(id + n - k, sfx[i]) == 0)
      return 1;
  }
  return 0;
}

/*
 * From the simulator's request log (/_sim/requests), entries at or after
 * `since` answered with 2xx: with `verb`, those whose path ends with
 * `tail`; with verb NULL, the mutating API calls.
 */
static unsigned sim_calls(th *h, const char *since, const char *verb,
                          const char *tail)
{
  json_object *log = th_admin(h, "GET", "/_sim/requests", NULL);
  json_object *reqs = log ? json_object_object_get(log, "requests") : NULL;
  unsigned n = 0;

  assert_non_null(reqs);
  /* The ring (4,096 entries) must still hold the window's start. */
  if (json_object_array_length(reqs) >= 4000) {
    const char *t0 = jstr_at(json_object_array_get_idx(reqs, 0), "time");
    assert_true(t0 && strcmp(t0, since) < 0);
  }
  for (size_t i = 0; i < json_object_array_length(reqs); i++) {
    json_object *e = json_object_array_get_idx(reqs, i);
    const char *v = jstr_at(e, "method"), *path = jstr_at(e, "path");
    const char *st = jstr_at(e, "status"), *t = jstr_at(e, "time");
    const char *api = jstr_at(e, "api"), *id = jstr_at(e, "methodId");
    size_t lp = path ? strlen(path) : 0;

    if (!v || !path || !st || !t || st[0] != '2' || strcmp(t, since) < 0)
      continue;
    if (verb) {
      size_t lt = strlen(tail);
      if (strcmp(v, verb) == 0 && lp >= lt && strcmp(path + lp - lt, tail) == 0)
        n++;
    } else if (strcmp(v, "GET") != 0 && strncmp(path, "/_sim", 5) != 0 &&
               !(api && (strstr(api, "oauth") || strstr(api, "admin") ||
                         strstr(api, "metadata"))) &&
               !(id && read_like(id))) {
      n++;
    }
  }
  json_object_put(log);
  return n;
}

static void rec_of(th *h, const char *id, const char *step, edv__step_rec *rec)
{
  assert_int_equal(edv__store_step_get(h->store, id, step, rec, NULL), 0);
}

static void step_done(th *h, const char *id, const char *step)
{
  edv__step_rec rec;

  rec_of(h, id, step, &rec);
  if (rec.state != EDV_STEP_DONE)
    fail_msg("step %s of %s is in state %d (%s)", step, id, (int)rec.state,
             rec.error);
}

/* The tenant's secret's latest version: its name ("" when none). */
static void latest_version(th *h, const char *id, char *out, size_t size)
{
  char secret[128], path[300];
  json_object *o;

  edv__name_secret(id, secret, sizeof(secret));
  snprintf(path, sizeof(path), SM "%s/versions/latest", secret);
  o = th_api(h, EDV_API_SECRETMANAGER, "GET", path, NULL);
  snprintf(out, size, "%s", o && jstr_at(o, "name") ? jstr_at(o, "name") : "");
  if (o)
    assert_string_equal(jstr_at(o, "state"), "ENABLED");
  json_object_put(o);
}

/* The sql_user record names the version the password came from: `version`
 * followed by '@' and its creation time. */
static void recorded_is(th *h, const char *id, const char *version)
{
  edv__step_rec rec;
  size_t n = strlen(version);

  rec_of(h, id, "sql_user", &rec);
  if (strncmp(rec.resource, version, n) != 0 || rec.resource[n] != '@')
    fail_msg("sql_user of %s records '%s', want '%s@...'", id, rec.resource,
             version);
}

static void delete_secret(th *h, const char *id)
{
  char secret[128], path[300];
  json_object *r;

  edv__name_secret(id, secret, sizeof(secret));
  snprintf(path, sizeof(path), SM "%s", secret);
  r = th_api(h, EDV_API_SECRETMANAGER, "DELETE", path, NULL);
  if (!r)
    fail_msg("DELETE %s was refused", path);
  json_object_put(r);
}

/* The tenant user's users.update requests: path tail. */
static void users_tail(const char *id, char *out, size_t size)
{
  char sql[64];

  edv__name_sql_instance(id, 1, sql, sizeof(sql));
  snprintf(out, size, "/instances/%s/users", sql);
}

/* ---- the password is nowhere in our files -------------------------------- */

static char g_pw[160];
static int g_pw_found;

static int scan_one(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
  FILE *f;
  char *buf;
  size_t n, k = strlen(g_pw);

  /* The simulator's state file is the cloud's: it keeps payloads. */
  if (flag != FTW_F || sb->st_size <= 0 ||
      strncmp(path + ftw->base, "cloud.json", 10) == 0)
    return 0;
  f = fopen(path, "rb");
  if (!f)
    return 0;
  buf = malloc((size_t)sb->st_size);
  assert_non_null(buf);
  n = fread(buf, 1, (size_t)sb->st_size, f);
  fclose(f);
  for (size_t i = 0; k && i + k <= n; i++)
    if (memcmp(buf + i, g_pw, k) == 0) {
      fprintf(stderr, "# the DB password is in %s\n", path);
      g_pw_found = 1;
      break;
    }
  free(buf);
  return 0;
}

/* Reads the secret's latest value and asserts no file of ours under `dir`
 * (the store and its WAL, keys) holds it, nor its base64. */
static void password_not_stored(th *h, const char *id, const char *dir)
{
  char secret[128], path[300], b64[160];
  json_object *o;
  const char *data;
  int len;

  edv__name_secret(id, secret, sizeof(secret));
  snprintf(path, sizeof(path), SM "%s/versions/latest:access", secret);
  o = th_api(h, EDV_API_SECRETMANAGER, "GET", path, NULL);
  assert_non_null(o);
  data = jstr_at(o, "payload.data");
  assert_non_null(data);
  assert_true(strlen(data) < sizeof(b64));
  snprintf(b64, sizeof(b64), "%s", data);
  json_object_put(o);
  len = EVP_DecodeBlock((unsigned char *)g_pw, (const unsigned char *)b64,
                        (int)strlen(b64));
  assert_true(len > 0);
  while (len > 0 && g_pw[len - 1] == '\0')
    len--;
  g_pw[len] = '\0';
  assert_true(strlen(g_pw) >= 16);
  g_pw_found = 0;
  assert_int_equal(nftw(dir, scan_one, 16, FTW_PHYS), 0);
  assert_false(g_pw_found);
  snprintf(g_pw, sizeof(g_pw), "%s", b64);
  assert_int_equal(nftw(dir, scan_one, 16, FTW_PHYS), 0);
  assert_false(g_pw_found);
  memset(g_pw, 0, sizeof(g_pw));
}

/* ---- stop (in process) ----------------------------------------------------
 */

typedef struct stopper {
  th *h;
  const char *label; /* stop the run right after this call */
  int fired;
} stopper;

static void stop_after(void *data, const edv__event *ev)
{
  stopper *s = data;

  if (!s->fired && ev->kind == EDV_EV_CALL && ev->message &&
      strstr(ev->message, s->label) && !ev->error) {
    s->fired = 1;
    edv__fleet_stop(s->h->fleet, ev->tenant);
  }
}

typedef struct plan_seen {
  int done;
  unsigned updates; /* PLAN events of a users.update */
} plan_seen;

static void plan_event(void *data, const edv__event *ev)
{
  plan_seen *p = data;

  if (ev->kind == EDV_EV_PLAN && ev->message &&
      strncmp(ev->message, "PUT ", 4) == 0 && strstr(ev->message, "/users?"))
    p->updates++;
}

static void plan_done(void *data, const char *tenant, edv_tenant_phase phase,
                      const edv_error *err)
{
  plan_seen *p = data;

  (void)tenant;
  (void)phase;
  (void)err;
  p->done = 1;
}

/* Plans `id`: how many users.update it would send. */
static unsigned plan_updates(th *h, const char *id)
{
  plan_seen p = {0, 0};
  edv_error err;
  unsigned long muts = h->counts.mutations;

  h->hook = plan_event;
  h->hook_data = &p;
  assert_int_equal(edv__fleet_plan(h->fleet, id, plan_done, &p, &err), 0);
  while (!p.done)
    uv_run(&h->loop, UV_RUN_ONCE);
  h->hook = NULL;
  assert_int_equal(h->counts.mutations, muts);
  return p.updates;
}

static void up(th *h, const char *id)
{
  edv_error err;

  memset(h->ended, 0, sizeof(h->ended));
  if (th_drive(h, id, EDV_DIR_UP, &err))
    fail_msg("drive %s: %s", id, err.message);
  assert_int_equal(th_wait(h, 60000), 0);
  if (h->ended[EDV_PHASE_READY] != 1)
    fail_msg("%s did not end READY: %s", id, h->last_err);
}

static void test_stop(void **state)
{
  th h;
  edv_error err;
  stopper s;
  char mark[40], users[128], v0[300], v1[300], secret[128], path[300];
  unsigned long muts;
  edv__step_rec rec;

  (void)state;
  only_parent();
  th_open(&h, NULL);
  th_platform(&h);
  assert_int_equal(th_register(&h, "pw1", "basic", &err), 0);
  up(&h, "pw1");
  users_tail("pw1", users, sizeof(users));
  latest_version(&h, "pw1", v0, sizeof(v0));
  assert_true(v0[0]);
  /* Provisioning set the password from the first version, and says so. */
  recorded_is(&h, "pw1", v0);

  /* Behind its back: the secret deleted. The next run makes it again and
   * adds a version (versions/1 again: the same name as before). */
  delete_secret(&h, "pw1");
  sim_mark(&h, mark, sizeof(mark));
  memset(&s, 0, sizeof(s));
  s.h = &h;
  s.label = "secretmanager.secrets.addVersion";
  h.hook = stop_after;
  h.hook_data = &s;
  memset(h.ended, 0, sizeof(h.ended));
  assert_int_equal(th_drive(&h, "pw1", EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  h.hook = NULL;
  assert_true(s.fired);
  assert_int_equal(h.ended[EDV_PHASE_READY], 0);
  /* The new version is there; the user has not got it yet. */
  latest_version(&h, "pw1", v1, sizeof(v1));
  assert_true(v1[0]);
  assert_int_equal(sim_calls(&h, mark, "POST", ":addVersion"), 1);
  assert_int_equal(sim_calls(&h, mark, "PUT", users), 0);
  rec_of(&h, "pw1", "sql_user", &rec);
  assert_int_equal(rec.state, EDV_STEP_DONE);
  /* A plan sees it. */
  assert_int_equal(plan_updates(&h, "pw1"), 1);

  /* Resumed: db_secret finds its version enabled (no fact of the stopped
   * run survives), sql_user sees it is not the one it set: users.update. */
  up(&h, "pw1");
  assert_int_equal(sim_calls(&h, mark, "POST", ":addVersion"), 1);
  assert_int_equal(sim_calls(&h, mark, "PUT", users), 1);
  step_done(&h, "pw1", "db_secret");
  step_done(&h, "pw1", "sql_user");
  recorded_is(&h, "pw1", v1);

  /* Converged: a further run observes only. */
  assert_int_equal(plan_updates(&h, "pw1"), 0);
  muts = h.counts.mutations;
  sim_mark(&h, mark, sizeof(mark));
  up(&h, "pw1");
  assert_int_equal(h.counts.mutations, muts);
  assert_int_equal(sim_calls(&h, mark, NULL, NULL), 0);

  /* A version added behind its back (a manual rotation): the user gets it,
   * with no addVersion of ours. */
  edv__name_secret("pw1", secret, sizeof(secret));
  snprintf(path, sizeof(path), SM "%s:addVersion", secret);
  {
    json_object *b = json_tokener_parse(
        "{\"payload\":{\"data\":\"cm90YXRlZC1ieS1oYW5kLTAxMjM0NQ==\"}}");
    json_object *r = th_api(&h, EDV_API_SECRETMANAGER, "POST", path, b);
    assert_non_null(r);
    json_object_put(r);
  }
  latest_version(&h, "pw1", v1, sizeof(v1));
  sim_mark(&h, mark, sizeof(mark));
  muts = h.counts.mutations;
  up(&h, "pw1");
  assert_int_equal(sim_calls(&h, mark, "POST", ":addVersion"), 0);
  assert_int_equal(sim_calls(&h, mark, "PUT", users), 1);
  assert_int_equal(h.counts.mutations, muts + 1);
  recorded_is(&h, "pw1", v1);
  muts = h.counts.mutations;
  up(&h, "pw1");
  assert_int_equal(h.counts.mutations, muts);

  password_not_stored(&h, "pw1", h.dir);
  th_close(&h);
}

/* ---- kill (forked lives against an edv-gcpsim child) ------------------- */

static char g_dir[256];
static th_simproc g_sp = {-1, "", ""};

static const char *g_kill_label; /* the life dies right after this call */

static void life_hook(void *data, const edv__event *ev)
{
  (void)data;
  if (g_kill_label && ev->kind == EDV_EV_CALL && ev->message &&
      strstr(ev->message, g_kill_label) && !ev->error)
    raise(SIGKILL); /* kill -9, now, whatever is pending */
}

/* The child: the platform, then the tenant, driven up. */
static int life_main(void)
{
  th h;
  th_opts o;
  edv_error err;
  int ph, bad;

  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  h.hook = life_hook;
  th_platform(&h);
  ph = th_phase(&h, "pk1");
  if (ph < 0 && th_register(&h, "pk1", "basic", &err))
    fail_msg("register: %s", err.message);
  if (th_drive(&h, "pk1", EDV_DIR_UP, &err))
    fail_msg("drive: %s", err.message);
  if (th_wait(&h, 60000))
    fail_msg("life timed out");
  bad = h.ended[EDV_PHASE_READY] != 1;
  if (bad)
    fprintf(stderr, "# life: did not end READY: %s\n", h.last_err);
  th_close(&h);
  return bad;
}

/* 1 when the life was killed, 0 when it ended READY. */
static int run_life(const char *kill_label)
{
  pid_t pid;
  int st;
  uint64_t end = th_now_ms() + 120000;

  fflush(NULL);
  g_kill_label = kill_label;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(life_main() ? 3 : 0);
  for (;;) {
    if (waitpid(pid, &st, WNOHANG) == pid)
      break;
    if (th_now_ms() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("a life did not end in 120 s");
    }
    usleep(2000);
  }
  g_kill_label = NULL;
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
    return 1;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  fail_msg("a life ended with status %d", st);
  return -1;
}

static void test_kill(void **state)
{
  const char *tmp = getenv("TMPDIR");
  th h;
  th_opts o;
  char mark[40], users[128], v1[300];

  (void)state;
  only_parent();
  snprintf(g_dir, sizeof(g_dir), "%s/edv-pwreset-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(g_dir));
  th_simproc_start(&g_sp, g_dir);
  users_tail("pk1", users, sizeof(users));
  assert_int_equal(run_life(NULL), 0);

  /* Behind its back: the secret deleted. */
  th_simproc_opts(&g_sp, g_dir, &o);
  th_open(&h, &o);
  delete_secret(&h, "pk1");
  sim_mark(&h, mark, sizeof(mark));
  th_close(&h);

  /* kill -9 right after addVersion returned. */
  assert_int_equal(run_life("secretmanager.secrets.addVersion"), 1);
  th_open(&h, &o);
  assert_int_equal(sim_calls(&h, mark, "POST", ":addVersion"), 1);
  assert_int_equal(sim_calls(&h, mark, "PUT", users), 0);
  th_close(&h);

  /* The next life resumes: users.update, both steps DONE. */
  assert_int_equal(run_life(NULL), 0);
  th_open(&h, &o);
  assert_int_equal(sim_calls(&h, mark, "POST", ":addVersion"), 1);
  assert_int_equal(sim_calls(&h, mark, "PUT", users), 1);
  step_done(&h, "pk1", "db_secret");
  step_done(&h, "pk1", "sql_user");
  latest_version(&h, "pk1", v1, sizeof(v1));
  recorded_is(&h, "pk1", v1);
  sim_mark(&h, mark, sizeof(mark));
  th_close(&h);

  /* Converged: another life makes no mutating call. */
  assert_int_equal(run_life(NULL), 0);
  th_open(&h, &o);
  assert_int_equal(sim_calls(&h, mark, NULL, NULL), 0);
  password_not_stored(&h, "pk1", g_dir);
  th_close(&h);
}

static int kill_teardown(void **state)
{
  (void)state;
  only_parent();
  th_simproc_stop(&g_sp);
  if (g_dir[0])
    th_rmtree(g_dir);
  return 0;
}

int main(int argc, char **argv)
{
  const char *which = argc > 1 ? argv[1] : "all";
  struct CMUnitTest all[] = {
      cmocka_unit_test(test_stop),
      cmocka_unit_test_teardown(test_kill, kill_teardown),
  };
  struct CMUnitTest pick[2];
  size_t n = 0;

  g_parent = getpid();
  for (size_t i = 0; i < 2; i++)
    if (strcmp(which, "all") == 0 || strstr(all[i].name, which))
      pick[n++] = all[i];
  return _cmocka_run_group_tests("pwreset", pick, n, NULL, NULL);
}
