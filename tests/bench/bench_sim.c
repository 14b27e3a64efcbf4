/*
 * bench_sim.c - how fast is edv-gcpsim? Prints requests per second and the
 * simulator thread's CPU time per request for regions.get and for
 * networks.insert followed by globalOperations.wait, so that 1,000-tenant
 * runs can be checked to be limited by the orchestrator, not by the
 * simulator.
 *
 *   bench-sim [clients] [requests-per-client]
 *
 * The simulator runs in-process on its own loop thread: fast profile, auth
 * on (every call carries a bearer token the simulator issued through its
 * metadata endpoint, so the token check is in the figures), Compute rate
 * limits lifted through POST /_sim/limits and the NETWORKS quota through
 * POST /_sim/quotas. Each client is a thread with one keep-alive libcurl
 * handle. "server CPU" is getrusage(RUSAGE_THREAD) taken on the simulator's
 * loop thread (user + system), so the clients' work is not counted; the
 * process total (RUSAGE_SELF: simulator + clients + libcurl) is printed
 * beside it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

#include "edv/sim.h"

typedef struct bench {
  uv_loop_t loop;
  uv_async_t stop;
  uv_async_t probe; /* samples the loop thread's rusage */
  pthread_t loop_thread;
  pthread_cond_t probed;
  int probe_seq;
  double server_cpu; /* seconds, user + system, of the loop thread */
  char auth[320];
  edv_sim *es;
  unsigned port;
  int requests;
  int mode; /* 0 get, 1 insert + wait */
  int errors;
  pthread_mutex_t mu;
} bench;

typedef struct client {
  bench *b;
  int id;
  pthread_t thread;
} client;

static void stop_cb(uv_async_t *a)
{
  bench *b = a->data;

  uv_close((uv_handle_t *)&b->stop, NULL);
  uv_close((uv_handle_t *)&b->probe, NULL);
  edv_sim_close(b->es, NULL, NULL);
}

static double tv_s(struct timeval tv)
{
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* On the loop thread: its own CPU time so far. */
static void probe_cb(uv_async_t *a)
{
  bench *b = a->data;
  struct rusage ru;

  getrusage(RUSAGE_THREAD, &ru);
  pthread_mutex_lock(&b->mu);
  b->server_cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
  b->probe_seq++;
  pthread_cond_broadcast(&b->probed);
  pthread_mutex_unlock(&b->mu);
}

static double server_cpu(bench *b)
{
  double v;
  int seq;

  pthread_mutex_lock(&b->mu);
  seq = b->probe_seq;
  uv_async_send(&b->probe);
  while (b->probe_seq == seq)
    pthread_cond_wait(&b->probed, &b->mu);
  v = b->server_cpu;
  pthread_mutex_unlock(&b->mu);
  return v;
}

static double process_cpu(void)
{
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

static void *loop_main(void *arg)
{
  bench *b = arg;

  uv_run(&b->loop, UV_RUN_DEFAULT);
  return NULL;
}

static size_t keep_body(char *p, size_t sz, size_t n, void *data)
{
  char *buf = data;
  size_t len = strlen(buf), take = sz * n;

  if (take > 511 - len)
    take = 511 - len;
  memcpy(buf + len, p, take);
  buf[len + take] = '\0';
  return sz * n;
}

static long call(CURL *c, const char *method, const char *url, const char *body,
                 char *out)
{
  long status = 0;

  out[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
  curl_easy_setopt(c, CURLOPT_HTTPGET, strcmp(method, "GET") == 0 ? 1L : 0L);
  if (curl_easy_perform(c) != CURLE_OK)
    return 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

/* The operation name from an Operation body (no JSON parser needed). */
static int op_name(const char *body, char *out, size_t n)
{
  const char *p = strstr(body, "\"name\":\"operation-");

  if (p == NULL)
    return -1;
  p += 8;
  snprintf(out, n, "%.*s", (int)strcspn(p, "\""), p);
  return 0;
}

static void *client_main(void *arg)
{
  client *cl = arg;
  bench *b = cl->b;
  CURL *c = curl_easy_init();
  char url[512], body[128], out[512], op[128];
  int errors = 0;

  struct curl_slist *h = curl_slist_append(NULL, b->auth);

  h = curl_slist_append(h, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)out);
  for (int i = 0; i < b->requests; i++) {
    if (b->mode == 0) {
      snprintf(url, sizeof(url),
               "http://127.0.0.1:%u/compute/v1/projects/edv-sim/regions/"
               "us-central1",
               b->port);
      errors += call(c, "GET", url, NULL, out) != 200;
      continue;
    }
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%u/compute/v1/projects/edv-sim/global/"
             "networks",
             b->port);
    snprintf(body, sizeof(body), "{\"name\":\"b-%d-%d\"}", cl->id, i);
    if (call(c, "POST", url, body, out) != 200 ||
        op_name(out, op, sizeof(op)) < 0) {
      errors++;
      continue;
    }
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%u/compute/v1/projects/edv-sim/global/"
             "operations/%s/wait",
             b->port, op);
    errors += call(c, "POST", url, NULL, out) != 200;
  }
  curl_easy_cleanup(c);
  curl_slist_free_all(h);
  pthread_mutex_lock(&b->mu);
  b->errors += errors;
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

static double now_s(clockid_t id)
{
  struct timespec ts;

  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns the number of failed requests (figures with failures in them
 * are not figures). */
static int run(bench *b, int clients, int mode, const char *label,
               int calls_per_request)
{
  client *cl = calloc((size_t)clients, sizeof(*cl));
  double t0, s0, p0, t1, s1, p1, n;

  b->mode = mode;
  b->errors = 0;
  s0 = server_cpu(b);
  p0 = process_cpu();
  t0 = now_s(CLOCK_MONOTONIC);
  for (int i = 0; i < clients; i++) {
    cl[i].b = b;
    cl[i].id = i;
    pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);
  }
  for (int i = 0; i < clients; i++)
    pthread_join(cl[i].thread, NULL);
  t1 = now_s(CLOCK_MONOTONIC);
  s1 = server_cpu(b);
  p1 = process_cpu();
  n = (double)clients * b->requests * calls_per_request;
  printf("%-16s %7.0f requests %8.0f req/s  server %6.1f us CPU/req  "
         "process %6.1f us CPU/req  %d errors\n",
         label, n, n / (t1 - t0), (s1 - s0) * 1e6 / n, (p1 - p0) * 1e6 / n,
         b->errors);
  free(cl);
  return b->errors;
}

/* A token from the simulator's metadata endpoint, as a VM would get it. */
static int login(bench *b)
{
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Metadata-Flavor: Google");
  char url[160], out[512];
  const char *p;

  snprintf(url, sizeof(url),
           "http://127.0.0.1:%u/computeMetadata/v1/instance/"
           "service-accounts/default/token",
           b->port);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)out);
  out[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_perform(c);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  p = strstr(out, "\"access_token\":\"");
  if (p == NULL)
    return -1;
  p += 16;
  snprintf(b->auth, sizeof(b->auth), "Authorization: Bearer %.*s",
           (int)strcspn(p, "\""), p);
  return 0;
}

/* An admin call (loopback, no token needed). */
static long admin(bench *b, const char *path, const char *body)
{
  CURL *c = curl_easy_init();
  char url[160], out[512];
  long status;

  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)out);
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", b->port, path);
  status = call(c, "POST", url, body, out);
  curl_easy_cleanup(c);
  return status;
}

int main(int argc, char **argv)
{
  bench b;
  edv_sim_options o;
  edv_error err;
  int failed;
  int clients = argc > 1 ? atoi(argv[1]) : 8;

  memset(&b, 0, sizeof(b));
  b.requests = argc > 2 ? atoi(argv[2]) : 2000;
  pthread_mutex_init(&b.mu, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  uv_loop_init(&b.loop);
  memset(&o, 0, sizeof(o));
  o.profile = "fast";
  o.seed = 1;
  b.es = edv_sim_start(&b.loop, &o, &err);
  if (b.es == NULL) {
    fprintf(stderr, "bench-sim: %s\n", err.message);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    return 1;
  }
  b.port = edv_sim_port(b.es);
  pthread_cond_init(&b.probed, NULL);
  uv_async_init(&b.loop, &b.stop, stop_cb);
  uv_async_init(&b.loop, &b.probe, probe_cb);
  b.stop.data = &b;
  b.probe.data = &b;
  pthread_create(&b.loop_thread, NULL, loop_main, &b);
  printf("edv-gcpsim bench: %d clients x %d requests, fast profile, auth on\n",
         clients, b.requests);
  /* Inserts leave networks behind: lift the NETWORKS quota, and the
   * per-minute rate limits, first. */
  if (login(&b) < 0 ||
      admin(&b, "/_sim/quotas", "{\"metric\":\"NETWORKS\",\"limit\":1e9}") !=
          200 ||
      admin(&b, "/_sim/limits",
            "{\"api\":\"compute\",\"readsPerMinute\":0,"
            "\"writesPerMinute\":0}") != 200) {
    fprintf(stderr, "bench-sim: setup failed (token, quota or limits)\n");
    uv_async_send(&b.stop);
    pthread_join(b.loop_thread, NULL);
    uv_loop_close(&b.loop);
    return 1;
  }
  failed = run(&b, clients, 0, "regions.get", 1);
  b.requests /= 10; /* each insert leaves a network behind */
  failed += run(&b, clients, 1, "insert + wait", 2);
  uv_async_send(&b.stop);
  pthread_join(b.loop_thread, NULL);
  uv_loop_close(&b.loop);
  curl_global_cleanup();
  if (failed)
    fprintf(stderr, "bench-sim: %d requests failed\n", failed);
  return failed ? 1 : 0;
}
