/*
 * bench_tenants.c - provisions N tenants (default 1,000) at once on the
 * simulator's fast profile and prints: wall time, the ratio of the fleet's
 * wall time to one tenant's, API calls per tenant (mutations, operation
 * polls, reads, from the simulator's request log), new connections per
 * call (libcurl's CURLINFO_NUM_CONNECTS summed by the engine), and the CPU
 * and peak RSS of the orchestrator and of the simulator.
 *
 *   bench-tenants [-n N] [-p fast|demo] [-i POLL_MS] [-m thread|proc|inproc]
 *                 [-u MAX_PARALLEL]
 *
 * -u: then a fleet update (edv/fleet.h, edv_fleet_update_start) moves every
 * tenant to a new release, waves 1,10%,50%,100%, no soak, at most
 * MAX_PARALLEL tenants at a time, each by a VM replaced (a new VM from the
 * release's image, HEALTHY behind the load balancer, the old one drained
 * and deleted): its wall time and the API calls per tenant update.
 *
 * Where the simulator runs (-m):
 * - thread (default): in this process on a loop thread of its own. CPU is
 *   split exactly (the orchestrator's loop thread with
 *   getrusage(RUSAGE_THREAD), the simulator's thread through its CPU-time
 *   clock); the peak RSS is the process's, both together.
 * - proc: edv-gcpsim as a child process ($EDV_BUILD_ROOT/edv-gcpsim, else
 *   next to this program's build tree; fast profile, -p ignored): the
 *   orchestrator's CPU and peak RSS are this process's alone, the
 *   simulator's come from /proc (CPU over the fleet phase, VmHWM) and
 *   wait4() (its whole life). Calls by kind are not available (the
 *   request log is the child's): the total is the engine's HTTP requests.
 * - inproc: the simulator on the orchestrator's own loop, as the tests run
 *   it (the figures before this split): CPU and RSS are both together.
 *
 * POLL_MS (default 250, as `edvctl --sim`) is the fleet's poll interval
 * for observed states (certificate ACTIVE, backend HEALTHY, SQL RUNNABLE)
 * and operations; the tests use 50 ms.
 *
 * Needs EDV_SOURCE_ROOT (for tiers.json) or runs from the source root.
 * Built, never run as a test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "edv/fleet.h"
#include "sim/sim_int.h"
#include "tenant/shared.h"
#include "tharness.h"
#include "transport/transport.h"

static const char *const tier_cycle[] = {"basic", "standard", "premium",
                                         "enterprise"};

static double tv_ms(const struct timeval *u, const struct timeval *s)
{
  return (double)u->tv_sec * 1e3 + u->tv_usec / 1e3 + (double)s->tv_sec * 1e3 +
         s->tv_usec / 1e3;
}

static double rusage_ms(int who)
{
  struct rusage ru;

  getrusage(who, &ru);
  return tv_ms(&ru.ru_utime, &ru.ru_stime);
}

/* ---- the simulator on a thread of its own -------------------------------- */

typedef struct simthread {
  uv_loop_t loop;
  edv_sim *es;
  uv_async_t stop;
  uv_check_t tap;
  size_t cursor;
  pthread_t thread;
  pthread_mutex_t mu;
  th_counts counts; /* under mu */
  char dir[256];
  char key[320];
} simthread;

/* Every turn of the simulator's loop: count what it logged since. */
static void st_tap(uv_check_t *t)
{
  simthread *st = t->data;
  sim *s = edv__sim_core(st->es);

  if (!s)
    return;
  pthread_mutex_lock(&st->mu);
  while (st->cursor != s->log_next) {
    th_count_request(&st->counts, &s->log[st->cursor]);
    st->cursor = (st->cursor + 1) % SIM_LOG_SIZE;
  }
  pthread_mutex_unlock(&st->mu);
}

static void st_stop(uv_async_t *a)
{
  simthread *st = a->data;

  uv_close((uv_handle_t *)&st->tap, NULL);
  uv_close((uv_handle_t *)&st->stop, NULL);
  edv_sim_close(st->es, NULL, NULL);
}

static void *st_main(void *arg)
{
  simthread *st = arg;

  uv_run(&st->loop, UV_RUN_DEFAULT);
  return NULL;
}

static void st_start(simthread *st, const char *profile)
{
  edv_sim_options so;
  edv_error err;
  const char *tmp = getenv("TMPDIR");

  memset(st, 0, sizeof(*st));
  snprintf(st->dir, sizeof(st->dir), "%s/edv-bt-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(st->dir) || uv_loop_init(&st->loop)) {
    fprintf(stderr, "bench: cannot set the simulator up\n");
    exit(1);
  }
  memset(&so, 0, sizeof(so));
  so.profile = profile;
  so.seed = 42;
  st->es = edv_sim_start(&st->loop, &so, &err);
  snprintf(st->key, sizeof(st->key), "%s/sim-key.json", st->dir);
  if (!st->es || edv_sim_write_key(st->es, st->key, &err)) {
    fprintf(stderr, "bench: simulator: %s\n", err.message);
    exit(1);
  }
  pthread_mutex_init(&st->mu, NULL);
  uv_check_init(&st->loop, &st->tap);
  st->tap.data = st;
  uv_check_start(&st->tap, st_tap);
  uv_unref((uv_handle_t *)&st->tap);
  st->cursor = edv__sim_core(st->es)->log_next;
  uv_async_init(&st->loop, &st->stop, st_stop);
  st->stop.data = st;
  pthread_create(&st->thread, NULL, st_main, st);
}

static double st_cpu_ms(const simthread *st)
{
  clockid_t cid;
  struct timespec ts;

  if (pthread_getcpuclockid(st->thread, &cid) || clock_gettime(cid, &ts))
    return 0;
  return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static th_counts st_counts(simthread *st)
{
  th_counts c;

  pthread_mutex_lock(&st->mu);
  c = st->counts;
  pthread_mutex_unlock(&st->mu);
  return c;
}

static void st_end(simthread *st)
{
  uv_async_send(&st->stop);
  pthread_join(st->thread, NULL);
  uv_loop_close(&st->loop);
  pthread_mutex_destroy(&st->mu);
  th_rmtree(st->dir);
}

/* ---- the simulator as a child process ------------------------------------ */

/* CPU ms of a process so far, from /proc/PID/stat (utime + stime). */
static double proc_cpu_ms(pid_t pid)
{
  char path[64], buf[1024];
  unsigned long ut = 0, stime = 0;
  FILE *f;
  char *p;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  f = fopen(path, "r");
  if (!f)
    return 0;
  buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
  fclose(f);
  /* Fields 14 and 15, counted after the ")" that ends the command. */
  p = strrchr(buf, ')');
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &ut, &stime) != 2)
    return 0;
  return (double)(ut + stime) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

/* VmHWM of a process, in MB. */
static double proc_hwm_mb(pid_t pid)
{
  char path[64], line[256];
  double kb = 0;
  FILE *f;

  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  f = fopen(path, "r");
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmHWM: %lf", &kb) == 1)
      break;
  if (f)
    fclose(f);
  return kb / 1024.0;
}

/* ---- the fleet ----------------------------------------------------------- */

static double provision(th *h, const char *prefix, unsigned n)
{
  edv_error err;
  char id[32];
  uint64_t t0 = th_now_ms();
  unsigned ready0 = h->ended[EDV_PHASE_READY];

  for (unsigned i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "%s%04u", prefix, i);
    if (th_register(h, id, tier_cycle[i % 4], &err) ||
        th_drive(h, id, EDV_DIR_UP, &err)) {
      fprintf(stderr, "bench: %s: %s\n", id, err.message);
      exit(1);
    }
  }
  if (th_wait(h, 3600000)) {
    fprintf(stderr, "bench: not done in an hour\n");
    exit(1);
  }
  if (h->ended[EDV_PHASE_READY] - ready0 != n) {
    fprintf(stderr, "bench: %u of %u READY; last error: %s\n",
            h->ended[EDV_PHASE_READY] - ready0, n, h->last_err);
    exit(1);
  }
  return (double)(th_now_ms() - t0);
}

/* The engine's HTTP requests and new connections so far. */
static void engine_totals(th *h, uint64_t *requests, uint64_t *connects)
{
  *requests = 0;
  for (int api = 0; api < EDV_API__COUNT; api++) {
    edv_api_stats s;
    edv_engine_stats(h->engine, (edv_api)api, &s);
    *requests += s.attempts;
  }
  *connects = h->engine->http.connects;
}

/* $EDV_BUILD_ROOT, else the build tree this program sits in
 * (BUILD/tests/bench/bench-tenants). */
static void default_build_root(const char *argv0)
{
  char root[512];
  char *p;

  if (getenv("EDV_BUILD_ROOT"))
    return;
  snprintf(root, sizeof(root), "%s", argv0);
  for (int up = 0; up < 3 && (p = strrchr(root, '/')); up++)
    *p = '\0';
  if (!strchr(argv0, '/') || strcmp(root, argv0) == 0)
    snprintf(root, sizeof(root), "build");
  setenv("EDV_BUILD_ROOT", root, 1);
}

/* ---- -u: a fleet update ------------------------------------------------ */

typedef struct answer {
  int done;
  json_object *a;
  edv_error err;
} answer;

static void on_answer(void *data, json_object *a, const edv_error *err)
{
  answer *x = data;

  x->done = 1;
  x->a = a ? json_object_get(a) : NULL;
  if (err)
    x->err = *err;
}

static void on_closed(void *data)
{
  ((answer *)data)->done = 1;
}

static json_object *await(th *h, answer *x)
{
  while (!x->done)
    uv_run(&h->loop, UV_RUN_ONCE);
  if (!x->a) {
    fprintf(stderr, "bench: %s\n", x->err.message);
    exit(1);
  }
  return x->a;
}

static th_counts counts_now(th *h, simthread *st)
{
  return st ? st_counts(st) : h->counts;
}

static void fleet_update(th *h, simthread *st, unsigned par, uint64_t poll)
{
  const char *src = getenv("EDV_SOURCE_ROOT");
  edv_config *cfg = edv_config_new();
  edv_fleet_options fo;
  edv_fleet *f;
  edv_error err;
  answer x = {0};
  json_object *op, *doc, *counts;
  th_counts c0, c1;
  char body[300], tf[600];
  unsigned done;
  uint64_t t0, t1;

  /* The release's image, published the way a platform team would. */
  op = th_api(h, EDV_API_COMPUTE, "POST",
              "/compute/v1/projects/edv-sim/global/images",
              json_tokener_parse("{\"name\":\"edv-bench-2\",\"rawDisk\":"
                                 "{\"source\":\"https://storage.googleapis"
                                 ".com/edv-images/b2.tar.gz\"}}"));
  snprintf(body, sizeof(body),
           "/compute/v1/projects/edv-sim/global/operations/%s/wait",
           json_object_get_string(json_object_object_get(op, "name")));
  json_object_put(op);
  json_object_put(th_api(h, EDV_API_COMPUTE, "POST", body, NULL));
  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  edv_config_set(cfg, "tiers_file", tf, &err);
  memset(&fo, 0, sizeof(fo));
  fo.engine = h->engine;
  fo.config = cfg;
  fo.state_dir = h->dir;
  fo.actor = "bench";
  fo.poll_ms = poll;
  if (edv_fleet_open(&fo, &f, &err)) {
    fprintf(stderr, "bench: fleet: %s\n", err.message);
    exit(1);
  }
  doc = json_tokener_parse("{\"version\":\"2.0.0\",\"image\":"
                           "\"edv-bench-2\"}");
  if (edv_release_create(f, doc, on_answer, &x, &err))
    exit(1);
  json_object_put(doc);
  json_object_put(await(h, &x));
  snprintf(body, sizeof(body),
           "{\"release\":\"2.0.0\",\"waves\":\"1,10%%,50%%,100%%\","
           "\"soak_s\":0,\"max_parallel\":%u}",
           par);
  doc = json_tokener_parse(body);
  c0 = counts_now(h, st);
  t0 = th_now_ms();
  memset(&x, 0, sizeof(x));
  if (edv_fleet_update_start(f, doc, 0, on_answer, &x, &err)) {
    fprintf(stderr, "bench: update: %s\n", err.message);
    exit(1);
  }
  json_object_put(doc);
  doc = await(h, &x);
  t1 = th_now_ms();
  c1 = counts_now(h, st);
  counts = json_object_object_get(doc, "counts");
  done = (unsigned)json_object_get_int(json_object_object_get(counts, "DONE"));
  printf(
      "fleet update            %s: %u tenants DONE, %u FAILED, in %.2f s "
      "(waves 1,10%%,50%%,100%%, max parallel %u, no soak)\n",
      json_object_get_string(json_object_object_get(doc, "state")), done,
      (unsigned)json_object_get_int(json_object_object_get(counts, "FAILED")),
      (double)(t1 - t0) / 1e3, par);
  if (done && st)
    printf("calls per tenant update %.1f (mutations %.1f, operation polls "
           "%.1f, reads %.1f)\n",
           (double)(c1.total - c0.total) / done,
           (double)(c1.mutations - c0.mutations) / done,
           (double)(c1.polls - c0.polls) / done,
           (double)(c1.reads - c0.reads) / done);
  json_object_put(doc);
  memset(&x, 0, sizeof(x));
  edv_fleet_close(f, on_closed, &x);
  while (!x.done)
    uv_run(&h->loop, UV_RUN_ONCE);
  edv_config_free(cfg);
}

int main(int argc, char **argv)
{
  unsigned n = 1000;
  uint64_t poll = 250;
  const char *profile = "fast", *mode = "thread";
  th h;
  th_opts o;
  simthread st;
  th_simproc sp = {.pid = -1};
  char spdir[256] = "";
  double solo_ms, fleet_ms, cpu0, cpu1, scpu0 = 0, scpu1 = 0;
  double sim_hwm = 0, sim_life_cpu = 0, sim_life_rss = 0;
  uint64_t req0, req1, con0, con1;
  th_counts c;
  unsigned long uw = 0, dw = 0, conf = 0;
  struct rusage ru;
  int opt, thread, proc;
  unsigned upar = 0;

  while ((opt = getopt(argc, argv, "n:p:i:m:u:")) != -1) {
    if (opt == 'u')
      upar = (unsigned)strtoul(optarg, NULL, 10);
    else if (opt == 'n')
      n = (unsigned)strtoul(optarg, NULL, 10);
    else if (opt == 'i')
      poll = strtoull(optarg, NULL, 10);
    else if (opt == 'p')
      profile = optarg;
    else if (opt == 'm')
      mode = optarg;
    else {
      fprintf(stderr, "usage: bench-tenants [-n N] [-p fast|demo] "
                      "[-i POLL_MS] [-m thread|proc|inproc] "
                      "[-u MAX_PARALLEL]\n");
      return 2;
    }
  }
  thread = strcmp(mode, "thread") == 0;
  proc = strcmp(mode, "proc") == 0;
  if (!thread && !proc && strcmp(mode, "inproc") != 0) {
    fprintf(stderr, "bench: -m: thread, proc or inproc, not '%s'\n", mode);
    return 2;
  }
  if (n == 0)
    n = 1;
  if (!getenv("EDV_SOURCE_ROOT"))
    setenv("EDV_SOURCE_ROOT", ".", 0);
  memset(&o, 0, sizeof(o));
  if (thread) {
    st_start(&st, profile);
    o.endpoint = edv_sim_base_url(st.es);
    o.key_file = st.key;
    o.quiet_tap = 1;
  } else if (proc) {
    const char *tmp = getenv("TMPDIR");
    default_build_root(argv[0]);
    snprintf(spdir, sizeof(spdir), "%s/edv-bp-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(spdir)) {
      fprintf(stderr, "bench: mkdtemp failed\n");
      return 1;
    }
    th_simproc_start(&sp, spdir);
    o.endpoint = sp.url;
    o.key_file = sp.key;
    o.quiet_tap = 1;
  }
  o.profile = profile;
  o.max_attempts = 30;
  o.poll_ms = poll;
  th_open(&h, &o);
  th_raise_quotas(&h, n + 1);
  th_platform(&h);

  /* One tenant alone: the reference for the ratio. */
  memset(&h.counts, 0, sizeof(h.counts));
  solo_ms = provision(&h, "solo", 1);

  memset(&h.counts, 0, sizeof(h.counts));
  if (thread) {
    pthread_mutex_lock(&st.mu);
    memset(&st.counts, 0, sizeof(st.counts));
    pthread_mutex_unlock(&st.mu);
    scpu0 = st_cpu_ms(&st);
  } else if (proc) {
    scpu0 = proc_cpu_ms(sp.pid);
  }
  engine_totals(&h, &req0, &con0);
  cpu0 = rusage_ms(thread ? RUSAGE_THREAD : RUSAGE_SELF);
  fleet_ms = provision(&h, "b", n);
  cpu1 = rusage_ms(thread ? RUSAGE_THREAD : RUSAGE_SELF);
  engine_totals(&h, &req1, &con1);
  c = h.counts;
  if (thread) {
    scpu1 = st_cpu_ms(&st);
    c = st_counts(&st);
  } else if (proc) {
    scpu1 = proc_cpu_ms(sp.pid);
    sim_hwm = proc_hwm_mb(sp.pid);
  }
  edv__shared_stats(edv__fleet_shared(h.fleet), &uw, &dw, &conf);

  printf("tenants                 %u (profile %s, simulator %s, poll %llu "
         "ms)\n",
         n, proc ? "fast" : profile,
         thread ? "on its own thread"
         : proc ? "in its own process"
                : "in-process on the same loop",
         (unsigned long long)poll);
  printf("wall time               %.2f s (one tenant alone: %.2f s)\n",
         fleet_ms / 1e3, solo_ms / 1e3);
  printf("fleet / one tenant      %.2f\n", fleet_ms / solo_ms);
  if (proc)
    printf("API calls per tenant    %.1f (HTTP requests the engine sent; "
           "by kind: -m thread)\n",
           (double)(req1 - req0) / n);
  else
    printf("API calls per tenant    %.1f (mutations %.1f, operation polls "
           "%.1f, reads %.1f)\n",
           (double)c.total / n, (double)c.mutations / n, (double)c.polls / n,
           (double)c.reads / n);
  printf("new connections         %.3f per call (%llu for %llu HTTP "
         "requests)\n",
         req1 > req0 ? (double)(con1 - con0) / (double)(req1 - req0) : 0.0,
         (unsigned long long)(con1 - con0), (unsigned long long)(req1 - req0));
  if (!proc)
    printf("rejected (409/412)      %lu / %lu\n", c.st409, c.st412);
  printf("shared writers          %lu URL map writes, %lu DNS changes, %lu "
         "conflicts\n",
         uw, dw, conf);
  if (thread) {
    printf("CPU per tenant          orchestrator %.2f ms (its loop "
           "thread), simulator %.2f ms (its thread)\n",
           (cpu1 - cpu0) / n, (scpu1 - scpu0) / n);
  } else if (proc) {
    printf("CPU per tenant          orchestrator %.2f ms (this process), "
           "simulator %.2f ms (its process)\n",
           (cpu1 - cpu0) / n, (scpu1 - scpu0) / n);
  } else {
    printf("CPU per tenant          %.2f ms (orchestrator + simulator)\n",
           (cpu1 - cpu0) / n);
  }
  if (upar)
    fleet_update(&h, thread ? &st : NULL, upar, poll);
  th_close(&h);
  getrusage(RUSAGE_SELF, &ru);
  if (thread) {
    st_end(&st);
    printf("peak RSS                %.1f MB (orchestrator and simulator "
           "together)\n",
           (double)ru.ru_maxrss / 1024.0);
  } else if (proc) {
    struct rusage cru;
    int status;

    kill(sp.pid, SIGTERM);
    if (wait4(sp.pid, &status, 0, &cru) == sp.pid) {
      sim_life_cpu = tv_ms(&cru.ru_utime, &cru.ru_stime);
      sim_life_rss = (double)cru.ru_maxrss / 1024.0;
    }
    sp.pid = -1;
    th_rmtree(spdir);
    printf("peak RSS                orchestrator %.1f MB, simulator %.1f "
           "MB\n",
           (double)ru.ru_maxrss / 1024.0, sim_hwm ? sim_hwm : sim_life_rss);
    printf("simulator, whole life   %.0f ms CPU, %.1f MB peak RSS "
           "(wait4)\n",
           sim_life_cpu, sim_life_rss);
  } else {
    printf("peak RSS                %.1f MB (orchestrator and simulator "
           "together)\n",
           (double)ru.ru_maxrss / 1024.0);
  }
  return 0;
}
