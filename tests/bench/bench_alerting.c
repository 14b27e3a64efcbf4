/*
 * bench_alerting.c - what the simulator's alert-policy evaluator costs at a
 * fleet's size. Prints the CPU time of one evaluation step (30 s of
 * simulated time) of one policy grouped by tenant over N written series
 * (half of them breaching: N/2 incidents open on the first step), and of
 * an hour's catch-up (120 steps) after one clock advance.
 *
 *   bench-alerting [tenants]      (default 1000)
 *
 * The simulator runs in-process on its own loop thread (fast profile, no
 * bearer tokens); each step writes every tenant's point with
 * timeSeries.create (200 series a call), then times POST
 * /_sim/clock/advance and the GET /_sim/clock after it (the due
 * evaluations run before it is answered).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "edv/sim.h"

typedef struct bench {
  uv_loop_t loop;
  uv_async_t stop;
  pthread_t thread;
  edv_sim *es;
  CURL *c;
  char *buf;
  size_t len;
} bench;

static void stop_cb(uv_async_t *a)
{
  bench *b = a->data;

  uv_close((uv_handle_t *)&b->stop, NULL);
  edv_sim_close(b->es, NULL, NULL);
}

static void *loop_main(void *arg)
{
  uv_run(&((bench *)arg)->loop, UV_RUN_DEFAULT);
  return NULL;
}

static size_t keep(char *p, size_t sz, size_t n, void *data)
{
  bench *b = data;
  char *q = realloc(b->buf, b->len + sz * n + 1);

  if (q == NULL)
    return 0;
  b->buf = q;
  memcpy(b->buf + b->len, p, sz * n);
  b->len += sz * n;
  b->buf[b->len] = '\0';
  return sz * n;
}

/* One call; the answer parsed (NULL when it is not JSON). Exits on a
 * status other than 200. */
static json_object *call(bench *b, const char *method, const char *path,
                         const char *body)
{
  char url[512];
  long status = 0;
  struct curl_slist *h =
      curl_slist_append(NULL, "Content-Type: application/json");
  json_object *o;

  snprintf(url, sizeof(url), "%s%s", edv_sim_base_url(b->es), path);
  b->len = 0;
  if (b->buf)
    b->buf[0] = '\0';
  curl_easy_setopt(b->c, CURLOPT_URL, url);
  curl_easy_setopt(b->c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(b->c, CURLOPT_HTTPGET, strcmp(method, "GET") == 0);
  if (body)
    curl_easy_setopt(b->c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(b->c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(b->c, CURLOPT_WRITEFUNCTION, keep);
  curl_easy_setopt(b->c, CURLOPT_WRITEDATA, b);
  curl_easy_perform(b->c);
  curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  if (status != 200) {
    fprintf(stderr, "%s %s: HTTP %ld %s\n", method, path, status,
            b->buf ? b->buf : "");
    exit(1);
  }
  o = b->buf ? json_tokener_parse(b->buf) : NULL;
  return o;
}

/* CPU seconds of the process (the simulator's loop thread does the work;
 * the client thread waits on two small calls): figures that do not depend
 * on how loaded the machine is. */
static double now_s(void)
{
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Every tenant's point at the simulated now. */
static void write_points(bench *b, int n)
{
  json_object *clock = call(b, "GET", "/_sim/clock", NULL), *v;
  const char *when = json_object_object_get_ex(clock, "time", &v)
                         ? json_object_get_string(v)
                         : "";
  size_t cap = 300 * 200 + 64, o;
  char *body = malloc(cap);

  for (int i = 0; i < n && body; i += 200) {
    o = (size_t)snprintf(body, cap, "{\"timeSeries\":[");
    for (int k = i; k < n && k < i + 200; k++)
      o += (size_t)snprintf(
          body + o, cap - o,
          "%s{\"metric\":{\"type\":\"custom.googleapis.com/bench/errors\","
          "\"labels\":{\"edv_tenant\":\"t%d\"}},\"resource\":{\"type\":"
          "\"global\"},\"points\":[{\"interval\":{\"endTime\":\"%s\"},"
          "\"value\":{\"doubleValue\":%d}}]}",
          k > i ? "," : "", k, when, k % 2);
    snprintf(body + o, cap - o, "]}");
    json_object_put(call(b, "POST", "/v3/projects/edv-sim/timeSeries", body));
  }
  free(body);
  json_object_put(clock);
}

/* Advances the clock and reads it again (the due evaluations run before
 * that request is answered); CPU seconds. */
static double step(bench *b, int seconds)
{
  char body[64];
  double t0 = now_s();

  snprintf(body, sizeof(body), "{\"seconds\":%d}", seconds);
  json_object_put(call(b, "POST", "/_sim/clock/advance", body));
  json_object_put(call(b, "GET", "/_sim/clock", NULL));
  return now_s() - t0;
}

/* The open incidents (not timed: the answer is large). */
static size_t open_incidents(bench *b)
{
  json_object *o = call(b, "GET", "/_sim/incidents?state=open", NULL), *v;
  size_t n = json_object_object_get_ex(o, "incidents", &v)
                 ? json_object_array_length(v)
                 : 0;

  json_object_put(o);
  return n;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  bench b;
  edv_sim_options opt;
  edv_error err;
  size_t open = 0;
  double first, sum = 0, hour;

  if (n <= 0) {
    fprintf(stderr, "usage: bench-alerting [tenants]\n");
    return 2;
  }
  memset(&b, 0, sizeof(b));
  memset(&opt, 0, sizeof(opt));
  opt.profile = "fast";
  opt.time_scale = 1;
  opt.no_auth = 1;
  opt.seed = 7;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  uv_loop_init(&b.loop);
  if ((b.es = edv_sim_start(&b.loop, &opt, &err)) == NULL) {
    fprintf(stderr, "edv_sim_start: %s\n", err.message);
    return 1;
  }
  uv_async_init(&b.loop, &b.stop, stop_cb);
  b.stop.data = &b;
  pthread_create(&b.thread, NULL, loop_main, &b);
  b.c = curl_easy_init();
  json_object_put(call(
      &b, "POST", "/v3/projects/edv-sim/alertPolicies",
      "{\"displayName\":\"bench\",\"conditions\":[{\"displayName\":\"bench\","
      "\"conditionThreshold\":{\"filter\":\"metric.type = \\\"custom."
      "googleapis.com/bench/errors\\\"\",\"aggregations\":[{"
      "\"alignmentPeriod\":\"60s\",\"perSeriesAligner\":\"ALIGN_MAX\","
      "\"crossSeriesReducer\":\"REDUCE_MAX\",\"groupByFields\":["
      "\"metric.label.edv_tenant\"]}],\"comparison\":\"COMPARISON_GT\","
      "\"thresholdValue\":0.5,\"duration\":\"0s\"}}]}"));
  write_points(&b, n);
  first = step(&b, 30);
  open = open_incidents(&b);
  printf("tenants %d: first step %.1f ms CPU (%zu incidents opened)\n", n,
         first * 1000, open);
  for (int i = 0; i < 10; i++) {
    write_points(&b, n);
    sum += step(&b, 30);
  }
  open = open_incidents(&b);
  printf("tenants %d: one evaluation step %.1f ms CPU (mean of 10, %zu open)\n",
         n, sum * 100, open);
  write_points(&b, n);
  hour = step(&b, 3600);
  open = open_incidents(&b);
  printf("tenants %d: 1 h catch-up (120 steps) %.1f ms CPU (%zu open after)\n",
         n, hour * 1000, open);
  curl_easy_cleanup(b.c);
  free(b.buf);
  uv_async_send(&b.stop);
  pthread_join(b.thread, NULL);
  uv_loop_close(&b.loop);
  curl_global_cleanup();
  return 0;
}
