/*
 * soak.c - many tenants created, scaled and deleted through edvctl and
 * edvd while the simulator injects faults and edvctl/edvd processes are
 * killed with SIGKILL at random moments; then everything converges and the
 * simulator's state is checked. Prints what it found and how long the
 * convergence took; exits 1 when something is wrong.
 *
 *   soak [-n TENANTS] [-k KILLS] [-s SEED] [--fault-rate F] [-j JOBS]
 *        [-i KILL_INTERVAL_MS] [--timeout S] [--keep]
 *
 * Processes, all on 127.0.0.1 in a temporary directory: edv-gcpsim (its
 * own process, never killed: its state is the cloud), edvd (restarted
 * after each kill) and up to JOBS edvctl commands at once. Each tenant has
 * a plan run one command at a time: a create (`edvctl tenant create
 * --wait`, or `POST /api/tenants` to edvd), maybe a scale (`POST
 * /api/tenants/{id}/scale`), maybe a delete (`edvctl tenant delete`, or
 * `DELETE /api/tenants/{id}`). A command that was killed or failed is
 * issued again, as an operator would; one that says "not now" (a busy
 * lease, a tenant not READY yet) is issued again a little later. While
 * kills remain after every plan is done, READY tenants are scaled again.
 *
 * Faults (--fault-rate F scales them, default 1): 10% of API requests 503,
 * 5% 429, 2% applied and then the connection dropped (the client never
 * sees the answer), 5% delayed by a second.
 *
 * Then the faults are cleared, the remaining commands finish, edvd resumes
 * what the kills interrupted, and the soak waits until no tenant is
 * PENDING, PROVISIONING or DEPROVISIONING. It reads the simulator's
 * /_sim/state (never the commands' exit codes) and counts:
 *   duplicates  resources beyond what a READY tenant owns (per kind);
 *   missing     resources a READY tenant lacks;
 *   orphans     resources of a DELETED tenant, or new since the platform
 *               was made and belonging to no tenant;
 *   stuck       tenants not READY (or DELETED when deleted), or READY at
 *               another tier than the last scale asked for.
 * All must be 0, and no child may have logged a sanitizer report (an
 * ASan build).
 *
 * Binaries: $EDVCTL, $EDVD, $EDV_GCPSIM, else the build tree's.
 * Built with the benchmarks; `soak -n 3 -k 5` runs in the test suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "pharness.h"
#include "tharness.h"

#define MAX_JOBS 64

typedef enum {
  OP_CREATE_CTL,
  OP_CREATE_API,
  OP_SCALE_API,
  OP_DELETE_CTL,
  OP_DELETE_API
} op_kind;

typedef struct op {
  op_kind kind;
  const char *tier; /* create, scale */
} op;

typedef struct tenant {
  char id[16], slug[24];
  op plan[64];
  int nplan, next;
  int busy;            /* a command of it is running */
  uint64_t not_before; /* ms: wait before the next try */
  const char *tier;    /* the tier it should end at */
  int deleted;         /* its plan deletes it */
} tenant;

typedef struct job {
  pid_t pid;
  int t; /* tenant index */
} job;

static const char *const tiers[] = {"basic", "standard", "premium",
                                    "enterprise"};

static struct {
  unsigned n, kills, jobs;
  unsigned long seed;
  double fault_rate;
  unsigned kill_ms;
  unsigned timeout_s;
  int keep;
  const char *edvctl, *edvd, *sim;
  char dir[256], conf[320], token[128], api[64], sim_url[128];
  pid_t sim_pid, edvd_pid;
  tenant *t;
  job jobs_run[MAX_JOBS];
  unsigned njobs;
  uint64_t rng;
  /* figures */
  unsigned issued[5], reissued, killed_ctl, killed_edvd, extra_scales;
} S;

static uint64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t rnd(void)
{
  /* xorshift64*: the soak's choices repeat with the seed. */
  S.rng ^= S.rng >> 12;
  S.rng ^= S.rng << 25;
  S.rng ^= S.rng >> 27;
  return S.rng * 2685821657736338717ull;
}

static double rnd01(void)
{
  return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* At exit, whatever the way out (die(), a harness assertion): no process
 * of ours outlives the soak. */
static void stop_children(void)
{
  if (S.edvd_pid > 0)
    kill(S.edvd_pid, SIGKILL);
  for (unsigned i = 0; i < S.njobs; i++)
    kill(S.jobs_run[i].pid, SIGKILL);
  if (S.sim_pid > 0)
    kill(S.sim_pid, SIGTERM);
  S.edvd_pid = S.sim_pid = 0;
  S.njobs = 0;
}

static void die(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  fputs("soak: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fprintf(stderr, "soak: logs kept in %s\n", S.dir);
  exit(2);
}

/* ---- processes ----------------------------------------------------------- */

/* Starts `argv` with stdin from /dev/null and stdout + stderr appended to
 * DIR/log (or stdout to `out` when not NULL). */
static pid_t spawn(char *const *argv, const char *log, const char *out)
{
  char path[400];
  pid_t pid;

  fflush(NULL);
  pid = fork();
  if (pid < 0)
    die("fork: %s", strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY), fd;

    snprintf(path, sizeof(path), "%s/%s", S.dir, log);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(in, 0);
    dup2(fd, 2);
    if (out) {
      int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
    } else {
      dup2(fd, 1);
    }
    setpgid(0, 0);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* Runs edvctl to the end; its stdout into `out` (NULL: the log). Returns
 * the exit status (128 + signal). */
static int ctl_sync(const char *out, const char *a1, const char *a2,
                    const char *a3, const char *a4, const char *a5,
                    const char *a6)
{
  char *argv[12] = {(char *)S.edvctl, "--config", S.conf,     "-q",
                    (char *)a1,       (char *)a2, (char *)a3, (char *)a4,
                    (char *)a5,       (char *)a6, NULL};
  int st;
  pid_t pid = spawn(argv, "edvctl.log", out);

  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void start_edvd(void)
{
  char *argv[] = {(char *)S.edvd, "--config", S.conf, NULL};

  S.edvd_pid = spawn(argv, "edvd.log", NULL);
}

static int free_port(void)
{
  int port = ph_free_port();

  if (port < 0)
    die("no free port: %s", strerror(errno));
  return port;
}

static void start_sim(void)
{
  char state[320], key[320], out[320], seed[32], line[120] = "";
  char *argv[] = {(char *)S.sim, "--host",    "127.0.0.1", "--port", "0",
                  "--state",     state,       "--key-out", key,      "--seed",
                  seed,          "--profile", "fast",      NULL};
  uint64_t t0 = now_ms();

  snprintf(state, sizeof(state), "%s/sim-cloud.json", S.dir);
  snprintf(key, sizeof(key), "%s/sim-key.json", S.dir);
  snprintf(out, sizeof(out), "%s/sim.out", S.dir);
  snprintf(seed, sizeof(seed), "%lu", S.seed);
  S.sim_pid = spawn(argv, "sim.log", out);
  while (now_ms() - t0 < 60000) {
    FILE *f = fopen(out, "r");

    if (f && fgets(line, sizeof(line), f) &&
        strncmp(line, "listening on ", 13) == 0) {
      fclose(f);
      line[strcspn(line, "\n")] = '\0';
      snprintf(S.sim_url, sizeof(S.sim_url), "%s", line + 13);
      return;
    }
    if (f)
      fclose(f);
    usleep(50000);
  }
  die("edv-gcpsim did not start (see %s/sim.log)", S.dir);
}

static void write_config(void)
{
  FILE *f = fopen(S.conf, "w");

  if (!f)
    die("%s: %s", S.conf, strerror(errno));
  fprintf(f,
          "# written by soak\n"
          "endpoint = %s\n"
          "key_file = %s/sim-key.json\n"
          "project = edv-sim\n"
          "state_dir = %s/state\n"
          "tiers_file = %s/tiers.json\n"
          "retry.initial_ms = 20\n"
          "retry.max_ms = 400\n"
          "retry.max_attempts = 10\n"
          "tenant.lease_ttl_s = 5\n"
          "server.listen = %s\n"
          "server.reconcile_interval_s = 1\n"
          "server.drift_interval_s = 5\n"
          "server.health_interval_s = 0\n",
          S.sim_url, S.dir, S.dir, EDV_SOAK_SOURCE_ROOT, S.api);
  /* The simulator is local: our client-side limits would only slow it. */
  for (int api = 0; api < EDV_API_OAUTH2; api++)
    fprintf(f,
            "ratelimit.%s.per_minute = 6000000\n"
            "ratelimit.%s.concurrency = 512\n",
            edv_api_name(api), edv_api_name(api));
  fprintf(f, "ratelimit.compute.write.per_minute = 6000000\n");
  fclose(f);
}

/* ---- edvd's API ---------------------------------------------------------- */

typedef struct answer {
  char *buf;
  size_t len, size;
} answer;

static size_t keep_answer(char *p, size_t sz, size_t n, void *data)
{
  answer *a = data;
  size_t k = sz * n;

  if (a->size > 0) {
    size_t room = a->size - 1 - a->len;
    memcpy(a->buf + a->len, p, k < room ? k : room);
    a->len += k < room ? k : room;
    a->buf[a->len] = '\0';
  }
  return k;
}

/* One call to edvd; the HTTP status, or 0 when there was no answer. The
 * answer's start goes to out (when size > 0). */
static long api_call(const char *method, const char *path, const char *body,
                     char *out, size_t size)
{
  answer a = {out, 0, size};

  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  char url[256], auth[200];
  long status = 0;

  snprintf(url, sizeof(url), "http://%s%s", S.api, path);
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", S.token);
  h = curl_slist_append(h, auth);
  h = curl_slist_append(h, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
  if (size > 0)
    out[0] = '\0';
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return status;
}

/* ---- the plan --------------------------------------------------------------
 */

static const char *other_tier(const char *tier)
{
  int k = 0;

  while (k < 3 && tiers[k] != tier)
    k++;
  return tiers[(k + 1 + rnd() % 3) % 4];
}

static void plan_tenants(void)
{
  S.t = calloc(S.n, sizeof(*S.t));
  if (!S.t)
    die("out of memory");
  for (unsigned i = 0; i < S.n; i++) {
    tenant *t = &S.t[i];
    const char *tier = tiers[rnd() % 4];

    snprintf(t->id, sizeof(t->id), "soak%04u", i);
    snprintf(t->slug, sizeof(t->slug), "soak%04u-s", i);
    t->plan[t->nplan++] =
        (op){rnd01() < 0.5 ? OP_CREATE_CTL : OP_CREATE_API, tier};
    t->tier = tier;
    if (rnd01() < 0.35) {
      t->tier = other_tier(tier);
      t->plan[t->nplan++] = (op){OP_SCALE_API, t->tier};
    }
    if (rnd01() < 0.25) {
      t->plan[t->nplan++] =
          (op){rnd01() < 0.5 ? OP_DELETE_CTL : OP_DELETE_API, NULL};
      t->deleted = 1;
    }
  }
}

/* One more scale of a tenant whose plan is done (not deleted). */
static void add_scale(void)
{
  for (unsigned tries = 0; tries < S.n; tries++) {
    tenant *t = &S.t[rnd() % S.n];

    if (t->deleted || t->busy || t->next < t->nplan ||
        t->nplan == (int)(sizeof(t->plan) / sizeof(*t->plan)))
      continue;
    t->tier = other_tier(t->tier);
    t->plan[t->nplan++] = (op){OP_SCALE_API, t->tier};
    S.extra_scales++;
    return;
  }
}

/* The outcome of a tenant's current command: done, again now, or again
 * after `delay_ms`. */
static void op_result(tenant *t, int done, unsigned delay_ms)
{
  t->busy = 0;
  if (done) {
    t->next++;
  } else {
    S.reissued++;
    t->not_before = now_ms() + delay_ms;
  }
}

/* edvctl's exit status for the tenant's current command. */
static void ctl_done(tenant *t, int status)
{
  op_kind k = t->plan[t->next].kind;

  if (status == 0)
    op_result(t, 1, 0);
  else if (k == OP_DELETE_CTL && status == 3)
    op_result(t, 1, 0); /* already deleted */
  else
    op_result(t, 0, status == 4 ? 500 : 100);
}

static void run_api(tenant *t)
{
  const op *o = &t->plan[t->next];
  char path[128], body[512], ans[1024];
  long st;

  S.issued[o->kind]++;
  switch (o->kind) {
  case OP_CREATE_API:
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"slug\":\"%s\",\"display_name\":\"Soak %s\","
             "\"tier\":\"%s\",\"region\":\"us-central1\"}",
             t->id, t->slug, t->id, o->tier);
    st = api_call("POST", "/api/tenants", body, NULL, 0);
    /* 409 is a busy store or lease here (the plan has not scaled it yet,
     * so the spec is the same): again, later. */
    op_result(t, st == 202 || st == 200 || st == 201, st == 409 ? 500 : 200);
    break;
  case OP_SCALE_API:
    snprintf(path, sizeof(path), "/api/tenants/%s/scale", t->id);
    snprintf(body, sizeof(body), "{\"tier\":\"%s\"}", o->tier);
    st = api_call("POST", path, body, ans, sizeof(ans));
    /* 409: not READY yet, or (the answer to an earlier try was lost with
     * a killed edvd) already on that tier: done. */
    op_result(t,
              st == 202 || st == 200 ||
                  (st == 409 && strstr(ans, "is already on tier")),
              st == 409 ? 400 : 200);
    if (st == 404) {
      /* Never created (cannot happen: the create ended well first). */
      fprintf(stderr, "soak: %s: scale answered 404\n", t->id);
      t->next = 0;
    }
    break;
  case OP_DELETE_API:
    /* now=true: the purge itself, not the grace (what the soak counts). */
    snprintf(path, sizeof(path), "/api/tenants/%s?now=true", t->id);
    st = api_call("DELETE", path, NULL, NULL, 0);
    op_result(t, st == 202 || st == 200 || st == 204 || st == 404, 300);
    break;
  default:
    break;
  }
}

static void run_ctl(tenant *t)
{
  const op *o = &t->plan[t->next];
  char name[64];
  char *create[] = {
      (char *)S.edvctl, "--config", S.conf,  "-q", "tenant",
      "create",         t->id,      t->slug, name, (char *)o->tier,
      "us-central1",    "--wait",   NULL};
  char *del[] = {(char *)S.edvctl, "--config", S.conf,  "-q",    "tenant",
                 "delete",         t->id,      "--now", "--yes", NULL};

  snprintf(name, sizeof(name), "Soak %s", t->id);
  S.issued[o->kind]++;
  S.jobs_run[S.njobs].pid =
      spawn(o->kind == OP_CREATE_CTL ? create : del, "edvctl.log", NULL);
  S.jobs_run[S.njobs].t = (int)(t - S.t);
  S.njobs++;
  t->busy = 1;
}

/* Reaps ended edvctl commands and edvd. */
static void reap(void)
{
  int st;
  pid_t pid;

  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

    if (pid == S.edvd_pid) {
      S.edvd_pid = 0;
      continue;
    }
    if (pid == S.sim_pid)
      die("edv-gcpsim exited (%d): see %s/sim.log", status, S.dir);
    for (unsigned i = 0; i < S.njobs; i++) {
      if (S.jobs_run[i].pid != pid)
        continue;
      ctl_done(&S.t[S.jobs_run[i].t], status);
      S.jobs_run[i] = S.jobs_run[--S.njobs];
      break;
    }
  }
}

/* Starts what can start; returns how many tenants still have commands. */
static unsigned launch(void)
{
  unsigned left = 0, start = (unsigned)(rnd() % S.n);
  uint64_t now = now_ms();

  for (unsigned k = 0; k < S.n; k++) {
    tenant *t = &S.t[(start + k) % S.n];
    op_kind kind;

    if (t->next >= t->nplan)
      continue;
    left++;
    if (t->busy || now < t->not_before)
      continue;
    kind = t->plan[t->next].kind;
    if (kind == OP_CREATE_CTL || kind == OP_DELETE_CTL) {
      if (S.njobs < S.jobs)
        run_ctl(t);
    } else if (S.edvd_pid > 0) {
      run_api(t);
    }
  }
  return left;
}

static void kill_one(void)
{
  int edvd = S.edvd_pid > 0 && (S.njobs == 0 || rnd01() < 0.3);

  if (edvd) {
    kill(S.edvd_pid, SIGKILL);
    S.killed_edvd++;
  } else if (S.njobs > 0) {
    kill(S.jobs_run[rnd() % S.njobs].pid, SIGKILL);
    S.killed_ctl++;
  }
}

/* ---- checks ------------------------------------------------------------ */

static json_object *admin(th *h, const char *method, const char *path,
                          const char *body)
{
  json_object *o;

  /* The harness's loop sleeps between calls: its clock (which the call's
   * deadline starts from) must be current. */
  uv_update_time(&h->loop);
  o = th_admin(h, method, path, body ? json_tokener_parse(body) : NULL);

  if (!o)
    die("simulator admin %s %s failed", method, path);
  return o;
}

static json_object *tenant_list(void)
{
  char out[400], buf[1 << 16], *all = NULL;
  size_t n, len = 0;
  json_object *o;
  FILE *f;

  snprintf(out, sizeof(out), "%s/list.json", S.dir);
  if (ctl_sync(out, "tenant", "list", "--all", "--format", "json", NULL) != 0)
    return NULL;
  f = fopen(out, "r");
  if (!f)
    return NULL;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    all = realloc(all, len + n + 1);
    memcpy(all + len, buf, n);
    len += n;
  }
  fclose(f);
  if (!all)
    return NULL;
  all[len] = '\0';
  o = json_tokener_parse(all);
  free(all);
  /* {"tenants": [...], "next_page_token": null}: the tenants. */
  {
    json_object *ts = json_object_get(json_object_object_get(o, "tenants"));
    json_object_put(o);
    return ts;
  }
}

static const char *jstr(json_object *o, const char *k1, const char *k2)
{
  json_object *v;

  if (!json_object_object_get_ex(o, k1, &v))
    return "";
  if (k2 && !json_object_object_get_ex(v, k2, &v))
    return "";
  return json_object_get_string(v);
}

static int tenant_index(const char *id)
{
  unsigned i;

  if (strncmp(id, "soak", 4) != 0)
    return -1;
  i = (unsigned)strtoul(id + 4, NULL, 10);
  return i < S.n && strcmp(S.t[i].id, id) == 0 ? (int)i : -1;
}

/* The tenant a resource belongs to: by name, else by its edv-tenant
 * label; -1 for none. */
static int owner(json_object *res)
{
  const char *name = jstr(res, "name", NULL);
  json_object *r, *labels;

  for (unsigned i = 0; i < S.n; i++)
    if (th_name_is_tenant(name, S.t[i].id, S.t[i].slug))
      return (int)i;
  if (json_object_object_get_ex(res, "resource", &r) &&
      (json_object_object_get_ex(r, "labels", &labels) ||
       (json_object_object_get_ex(r, "settings", &labels) &&
        json_object_object_get_ex(labels, "userLabels", &labels))))
    return tenant_index(jstr(labels, "edv-tenant", NULL));
  return -1;
}

/* Sanitizer reports in a log (an ASan build's children): they would
 * otherwise pass for a failed command issued again. */
static unsigned sanitizer_reports(const char *log)
{
  char path[400], line[4096];
  unsigned n = 0;
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", S.dir, log);
  f = fopen(path, "r");
  while (f && fgets(line, sizeof(line), f))
    if (strstr(line, "ERROR: AddressSanitizer") ||
        strstr(line, "ERROR: LeakSanitizer") ||
        strstr(line, "runtime error:")) {
      printf("soak: %s: %s", log, line);
      n++;
    }
  if (f)
    fclose(f);
  return n;
}

int main(int argc, char **argv)
{
  static const struct option longs[] = {{"fault-rate", 1, NULL, 'f'},
                                        {"timeout", 1, NULL, 'T'},
                                        {"keep", 0, NULL, 'K'},
                                        {"help", 0, NULL, 'h'},
                                        {NULL, 0, NULL, 0}};
  const char *tmp = getenv("TMPDIR");
  json_object *state, *items, *list, *base_names, *reqs;
  unsigned kills_left, stuck = 0, dup = 0, missing = 0, orphans = 0, ready = 0,
                       deleted = 0, wrong_tier = 0;
  uint64_t t0, t_chaos, t_conv, next_kill, deadline, next_note = 0;
  unsigned sanitized;
  int c, rc;
  th h;
  th_opts o;

  S.n = 50;
  S.kills = 200;
  S.seed = 1;
  S.fault_rate = 1.0;
  S.jobs = 8;
  S.kill_ms = 150;
  S.timeout_s = 3600;
  while ((c = getopt_long(argc, argv, "n:k:s:j:i:h", longs, NULL)) != -1) {
    switch (c) {
    case 'n':
      S.n = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'k':
      S.kills = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 's':
      S.seed = strtoul(optarg, NULL, 10);
      break;
    case 'j':
      S.jobs = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'i':
      S.kill_ms = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'f':
      S.fault_rate = strtod(optarg, NULL);
      break;
    case 'T':
      S.timeout_s = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'K':
      S.keep = 1;
      break;
    default:
      fprintf(c == 'h' ? stdout : stderr,
              "usage: soak [-n TENANTS] [-k KILLS] [-s SEED] "
              "[--fault-rate F] [-j JOBS]\n"
              "            [-i KILL_INTERVAL_MS] [--timeout S] [--keep]\n");
      return c == 'h' ? 0 : 2;
    }
  }
  if (S.n < 1 || S.n > 9999 || S.jobs < 1 || S.jobs > MAX_JOBS ||
      S.fault_rate < 0 || S.fault_rate > 5 || S.timeout_s < 10) {
    fprintf(stderr,
            "soak: -n 1..9999, -j 1..%d, --fault-rate 0..5, "
            "--timeout >= 10\n",
            MAX_JOBS);
    return 2;
  }
  S.rng = S.seed * 0x9E3779B97F4A7C15ull + 1;
  S.edvctl = getenv("EDVCTL") ? getenv("EDVCTL") : EDV_SOAK_EDVCTL;
  S.edvd = getenv("EDVD") ? getenv("EDVD") : EDV_SOAK_EDVD;
  S.sim = getenv("EDV_GCPSIM") ? getenv("EDV_GCPSIM") : EDV_SOAK_SIM;
  /* Nothing ambient may leak into the children: credentials, config, or a
   * metadata server (only loopback is used). */
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  unsetenv("EDV_CONFIG");
  unsetenv("EDV_ENDPOINT");
  unsetenv("EDV_PROJECT");
  unsetenv("EDV_KEY_FILE");
  unsetenv("EDV_STATE_DIR");
  unsetenv("EDV_SIM");
  unsetenv("EDV_TOKEN");
  setenv("CLOUDSDK_CONFIG", "/nonexistent-edv-soak", 1);
  setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
  setenv("EDV_SOURCE_ROOT", EDV_SOAK_SOURCE_ROOT, 0);
  signal(SIGPIPE, SIG_IGN);
  atexit(stop_children);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  snprintf(S.dir, sizeof(S.dir), "%s/edv-soak-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(S.dir))
    die("mkdtemp: %s", strerror(errno));
  snprintf(S.conf, sizeof(S.conf), "%s/edv.conf", S.dir);
  snprintf(S.api, sizeof(S.api), "127.0.0.1:%d", free_port());
  start_sim();
  write_config();
  plan_tenants();

  memset(&o, 0, sizeof(o));
  {
    static char key[320], thdir[320];
    snprintf(key, sizeof(key), "%s/sim-key.json", S.dir);
    snprintf(thdir, sizeof(thdir), "%s/th", S.dir);
    mkdir(thdir, 0700);
    o.endpoint = S.sim_url;
    o.key_file = key;
    o.dir = thdir;
    o.quiet_tap = 1;
  }
  th_open(&h, &o);
  th_raise_quotas(&h, S.n);
  {
    char out[400];
    FILE *f;

    snprintf(out, sizeof(out), "%s/token", S.dir);
    if (ctl_sync(out, "token", "create", "--role", "admin", "--name", "soak") !=
            0 ||
        !(f = fopen(out, "r")) || !fgets(S.token, sizeof(S.token), f))
      die("token create failed (see %s/edvctl.log)", S.dir);
    fclose(f);
    S.token[strcspn(S.token, "\n")] = '\0';
  }
  if (ctl_sync(NULL, "platform", "init", NULL, NULL, NULL, NULL) != 0)
    die("platform init failed (see %s/edvctl.log)", S.dir);
  /* What exists before any tenant: the platform, the DNS zone. */
  state = admin(&h, "GET", "/_sim/state", NULL);
  base_names = json_object_new_object();
  items = json_object_object_get(state, "resources");
  for (size_t i = 0; i < json_object_array_length(items); i++)
    json_object_object_add(
        base_names, jstr(json_object_array_get_idx(items, i), "name", NULL),
        NULL);
  json_object_put(state);

  if (S.fault_rate > 0) {
    char b[160];
    double r503 = 0.10 * S.fault_rate, r429 = 0.05 * S.fault_rate;

    if (r503 >= 1)
      r503 = 0.99;
    snprintf(b, sizeof(b), "{\"errorRate\":%.4f,\"code\":503}", r503);
    json_object_put(admin(&h, "POST", "/_sim/faults", b));
    /* Tried after the 503 fault: its share of all requests is r429. */
    snprintf(b, sizeof(b), "{\"errorRate\":%.4f,\"code\":429}",
             r429 / (1 - r503) < 1 ? r429 / (1 - r503) : 0.99);
    json_object_put(admin(&h, "POST", "/_sim/faults", b));
    snprintf(b, sizeof(b), "{\"dropAfterApply\":%.4f}", 0.02 * S.fault_rate);
    json_object_put(admin(&h, "POST", "/_sim/faults", b));
    snprintf(b, sizeof(b), "{\"latencyMs\":1000,\"latencyRate\":%.4f}",
             0.05 * S.fault_rate);
    json_object_put(admin(&h, "POST", "/_sim/faults", b));
  }

  printf("soak: %u tenants, %u kills, seed %lu, fault rate %.2f, %u jobs, "
         "dir %s\n",
         S.n, S.kills, S.seed, S.fault_rate, S.jobs, S.dir);
  fflush(stdout);
  /* Chaos: plans run, kills fall. */
  t0 = now_ms();
  deadline = t0 + (uint64_t)S.timeout_s * 1000u;
  kills_left = S.kills;
  start_edvd();
  next_kill = now_ms() + (uint64_t)(rnd01() * 2 * S.kill_ms);
  for (;;) {
    unsigned left;

    reap();
    if (S.edvd_pid == 0)
      start_edvd();
    left = launch();
    if (left == 0 && kills_left == 0)
      break;
    if (left == 0 && kills_left > 0)
      add_scale();
    if (kills_left > 0 && now_ms() >= next_kill &&
        (S.njobs > 0 || S.edvd_pid > 0)) {
      kill_one();
      kills_left--;
      next_kill = now_ms() + (uint64_t)(rnd01() * 2 * S.kill_ms);
    }
    if (now_ms() > deadline)
      die("timeout (%u s) with %u tenants' commands left, %u kills left",
          S.timeout_s, left, kills_left);
    if (now_ms() >= next_note) {
      fprintf(stderr,
              "soak: %.0f s: %u tenants with commands left, %u kills "
              "left, %u edvctl running\n",
              (now_ms() - t0) / 1000.0, left, kills_left, S.njobs);
      next_note = now_ms() + 10000;
    }
    usleep(10000);
  }
  t_chaos = now_ms();
  /* Converge: no faults, no kills; edvd resumes what was interrupted. */
  json_object_put(admin(&h, "DELETE", "/_sim/faults", NULL));
  for (;;) {
    unsigned busy = 0;

    reap();
    if (S.edvd_pid == 0)
      start_edvd();
    list = tenant_list();
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
      const char *pha = jstr(json_object_array_get_idx(list, i), "phase", NULL);
      if (strcmp(pha, "PENDING") == 0 || strcmp(pha, "PROVISIONING") == 0 ||
          strcmp(pha, "DEPROVISIONING") == 0)
        busy++;
    }
    if (list && busy == 0 && json_object_array_length(list) == S.n)
      break;
    if (now_ms() >= next_note) {
      fprintf(stderr, "soak: converging %.0f s: %u tenants in progress\n",
              (now_ms() - t_chaos) / 1000.0, busy);
      next_note = now_ms() + 10000;
    }
    json_object_put(list);
    list = NULL;
    if (now_ms() > deadline)
      break;
    usleep(500000);
  }
  t_conv = now_ms();
  kill(S.edvd_pid, SIGTERM);
  while (waitpid(S.edvd_pid, &c, 0) < 0 && errno == EINTR)
    ;
  S.edvd_pid = 0;

  /* The store's view: every tenant where its plan left it. */
  if (!list)
    list = tenant_list();
  for (unsigned i = 0; i < S.n; i++) {
    tenant *t = &S.t[i];
    json_object *rec = NULL;
    const char *pha;

    for (size_t k = 0; list && k < json_object_array_length(list); k++)
      if (strcmp(jstr(json_object_array_get_idx(list, k), "id", NULL), t->id) ==
          0)
        rec = json_object_array_get_idx(list, k);
    pha = rec ? jstr(rec, "phase", NULL) : "(none)";
    if (strcmp(pha, t->deleted ? "DELETED" : "READY") != 0) {
      printf("soak: stuck: %s is %s (want %s; last error: %s)\n", t->id, pha,
             t->deleted ? "DELETED" : "READY",
             rec ? jstr(rec, "last_error", NULL) : "");
      stuck++;
    } else if (!t->deleted && strcmp(jstr(rec, "tier", NULL), t->tier) != 0) {
      printf("soak: stuck: %s is READY at %s (want %s)\n", t->id,
             jstr(rec, "tier", NULL), t->tier);
      wrong_tier++;
    }
    t->deleted ? deleted++ : ready++;
  }
  json_object_put(list);

  /* The cloud's view: /_sim/state, resource by resource. */
  state = admin(&h, "GET", "/_sim/state", NULL);
  items = json_object_object_get(state, "resources");
  {
    json_object **fp = calloc(S.n, sizeof(*fp));

    for (size_t i = 0; i < json_object_array_length(items); i++) {
      json_object *res = json_object_array_get_idx(items, i), *cur;
      const char *kind = jstr(res, "kind", NULL);
      const char *name = jstr(res, "name", NULL);
      int w;

      if (strcmp(kind, "sql.deletedInstance") == 0)
        continue; /* Google's reservation of a deleted name */
      if (strcmp(kind, "cloudresourcemanager.policy") == 0)
        continue; /* the project's IAM policy: every tenant's, and made by
                     the first tenant's grant, not by the platform */
      w = owner(res);
      if (w < 0) {
        if (!json_object_object_get_ex(base_names, name, NULL)) {
          printf("soak: orphan: %s (%s), no tenant\n", name, kind);
          orphans++;
        }
        continue;
      }
      if (S.t[w].deleted) {
        printf("soak: orphan: %s (%s) of deleted %s\n", name, kind, S.t[w].id);
        orphans++;
        continue;
      }
      if (!fp[w])
        fp[w] = json_object_new_object();
      cur = json_object_object_get(fp[w], kind);
      json_object_object_add(
          fp[w], kind,
          json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
    }
    for (unsigned i = 0; i < S.n; i++) {
      char why[2048];

      if (S.t[i].deleted)
        continue;
      if (!fp[i])
        fp[i] = json_object_new_object();
      if (th_footprint_check(fp[i], 1, why, sizeof(why)) == 0) {
        json_object_put(fp[i]);
        continue;
      }
      unsigned extra = 0;
      json_object_object_foreach(fp[i], kind, val)
      {
        int have = json_object_get_int(val), want = th_footprint_want(kind);
        if (have > want) {
          printf("soak: duplicate: %s has %d %s (want %d)\n", S.t[i].id, have,
                 kind, want);
          extra += (unsigned)(have - want);
        }
      }
      dup += extra;
      /* Not more than a READY tenant has, yet not the same: some missing. */
      if (extra == 0) {
        printf("soak: incomplete: %s: %s\n", S.t[i].id, why);
        missing++;
      }
      json_object_put(fp[i]);
    }
    free(fp);
  }
  json_object_put(state);
  json_object_put(base_names);
  reqs = admin(&h, "GET", "/_sim/requests", NULL);

  printf("soak: %u tenants: %u READY, %u DELETED at the end (%u scaled "
         "again while kills remained)\n",
         S.n, ready, deleted, S.extra_scales);
  printf("soak: commands: %u creates (edvctl), %u creates (API), %u scales, "
         "%u deletes (edvctl), %u deletes (API); %u issued again\n",
         S.issued[OP_CREATE_CTL], S.issued[OP_CREATE_API],
         S.issued[OP_SCALE_API], S.issued[OP_DELETE_CTL],
         S.issued[OP_DELETE_API], S.reissued);
  printf("soak: kills: %u (edvctl %u, edvd %u)\n", S.killed_ctl + S.killed_edvd,
         S.killed_ctl, S.killed_edvd);
  printf("soak: the simulator's last 4,096 answers by status: %s\n",
         json_object_to_json_string_ext(
             json_object_object_get(reqs, "countsByStatus"),
             JSON_C_TO_STRING_PLAIN));
  json_object_put(reqs);
  printf("soak: chaos %.1f s, converge %.1f s\n", (t_chaos - t0) / 1000.0,
         (t_conv - t_chaos) / 1000.0);
  printf("soak: duplicates %u, orphans %u, stuck %u (wrong tier %u), "
         "incomplete %u\n",
         dup, orphans, stuck + wrong_tier, wrong_tier, missing);
  fflush(stdout);

  th_close(&h);
  kill(S.sim_pid, SIGTERM);
  while (waitpid(S.sim_pid, &c, 0) < 0 && errno == EINTR)
    ;
  S.sim_pid = 0;
  sanitized = sanitizer_reports("edvctl.log") + sanitizer_reports("edvd.log") +
              sanitizer_reports("sim.log");
  rc = dup || orphans || stuck || wrong_tier || missing || sanitized ? 1 : 0;
  if (rc || S.keep) {
    printf("soak: kept %s\n", S.dir);
  } else {
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", S.dir);
    if (system(cmd) != 0)
      fprintf(stderr, "soak: could not remove %s\n", S.dir);
  }
  free(S.t);
  curl_global_cleanup();
  return rc;
}
