/*
 * bench_transport.c - keep-alive GETs through the whole engine, next to a
 * bare libcurl easy-handle loop against the same server in the same run.
 *
 *   bench-transport [calls] [concurrency]      (defaults: 20000, 1)
 *
 * The server is the test mockserver (libmicrohttpd, own threads, same
 * process), answering every GET with the same ~2 KB JSON body. CPU per call
 * is measured for the calling thread only (RUSAGE_THREAD), so the server's
 * work is not counted; the process total is printed too. The engine uses a
 * static token file (real auth module) and unlimited rate limits, so the
 * figures show the transport's own overhead: multi_socket on uv, header
 * building, JSON parsing, bookkeeping.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <uv.h>

#include "edv/engine.h"
#include "mockserver.h"

#define PATH "/compute/v1/projects/bench/zones/us-central1-a/instances/vm-1"

typedef struct bench {
  edv_engine *engine;
  long left; /* calls still to submit */
  long inflight;
  long ok, failed;
} bench;

typedef struct sample {
  double wall_s;
  double thread_cpu_us; /* calling thread */
  double proc_cpu_us;   /* whole process, server included */
} sample;

static double tv_us(struct timeval tv)
{
  return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

static void sample_now(sample *s)
{
  struct rusage t, p;

  getrusage(RUSAGE_THREAD, &t);
  getrusage(RUSAGE_SELF, &p);
  s->wall_s = (double)uv_hrtime() / 1e9;
  s->thread_cpu_us = tv_us(t.ru_utime) + tv_us(t.ru_stime);
  s->proc_cpu_us = tv_us(p.ru_utime) + tv_us(p.ru_stime);
}

static void report(const char *name, const sample *a, const sample *b,
                   long calls, long failed)
{
  double wall = b->wall_s - a->wall_s;

  printf("%-26s %8ld calls %7.3f s %9.0f calls/s %7.1f us CPU/call "
         "(process %6.1f)%s\n",
         name, calls, wall, (double)calls / wall,
         (b->thread_cpu_us - a->thread_cpu_us) / (double)calls,
         (b->proc_cpu_us - a->proc_cpu_us) / (double)calls,
         failed ? "  FAILURES" : "");
}

static void submit_one(bench *b);

static void on_response(void *data, const edv_response *res)
{
  bench *b = data;

  b->inflight--;
  if (!res->error && res->json)
    b->ok++;
  else
    b->failed++;
  if (b->left > 0)
    submit_one(b);
}

static void submit_one(bench *b)
{
  edv_request req = {.api = EDV_API_COMPUTE, .method = "GET", .path = PATH};

  b->left--;
  b->inflight++;
  if (edv_call_submit(b->engine, &req, on_response, b, NULL) != 0) {
    b->inflight--;
    b->failed++;
  }
}

static edv_engine *make_engine(uv_loop_t *loop, const char *url,
                               const char *token_file)
{
  static const char *const kv[][2] = {
      {"ratelimit.compute.per_minute", "0"},
      {"ratelimit.compute.concurrency", "0"},
      {"project", "bench"},
  };
  edv_config *cfg = edv_config_new();
  edv_engine *engine;
  edv_error err;
  size_t i;

  edv_config_set(cfg, "endpoint", url, &err);
  edv_config_set(cfg, "access_token_file", token_file, &err);
  for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
    edv_config_set(cfg, kv[i][0], kv[i][1], &err);
  engine = edv_engine_new(loop, cfg, &err);
  edv_config_free(cfg);
  if (!engine)
    fprintf(stderr, "engine: %s\n", err.message);
  return engine;
}

static int run_engine(const char *url, const char *token_file, long calls,
                      long conc)
{
  uv_loop_t loop;
  bench b = {0};
  sample s0, s1;
  long i;

  uv_loop_init(&loop);
  b.engine = make_engine(&loop, url, token_file);
  if (!b.engine)
    return 1;
  /* Warm up: connection(s), token, pools. */
  b.left = conc;
  for (i = 0; i < conc; i++)
    submit_one(&b);
  uv_run(&loop, UV_RUN_DEFAULT);
  b.ok = b.failed = 0;
  b.left = calls;
  sample_now(&s0);
  for (i = 0; i < conc && b.left > 0; i++)
    submit_one(&b);
  uv_run(&loop, UV_RUN_DEFAULT);
  sample_now(&s1);
  report("engine (uv + curl multi)", &s0, &s1, calls, b.failed);
  edv_engine_close(b.engine, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) != 0 || b.failed;
}

typedef struct sink {
  char *buf;
  size_t len, cap;
} sink;

static size_t sink_write(char *p, size_t size, size_t n, void *data)
{
  sink *s = data;
  size_t len = size * n;

  if (s->len + len + 1 > s->cap) {
    s->cap = (s->len + len + 1) * 2;
    s->buf = realloc(s->buf, s->cap);
  }
  memcpy(s->buf + s->len, p, len);
  s->len += len;
  s->buf[s->len] = '\0';
  return len;
}

/* The baseline: one easy handle, keep-alive, same headers; optionally the
 * same JSON parse the engine does. */
static int run_bare(const char *url, long calls, int parse)
{
  char full[256];
  CURL *easy = curl_easy_init();
  struct curl_slist *h = NULL;
  sink s = {0};
  sample s0, s1;
  long i, failed = 0, status;

  snprintf(full, sizeof(full), "%s%s", url, PATH);
  h = curl_slist_append(h, "Accept: application/json");
  h = curl_slist_append(h, "Authorization: Bearer bench-token");
  curl_easy_setopt(easy, CURLOPT_URL, full);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sink_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &s);
  for (i = -1; i < calls; i++) {
    if (i == 0)
      sample_now(&s0);
    s.len = 0;
    status = 0;
    if (curl_easy_perform(easy) != CURLE_OK ||
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
        status != 200)
      failed++;
    if (parse) {
      json_object *j = json_tokener_parse(s.buf);
      if (!j)
        failed++;
      json_object_put(j);
    }
  }
  sample_now(&s1);
  report(parse ? "bare curl easy + json-c" : "bare curl easy", &s0, &s1, calls,
         failed);
  curl_slist_free_all(h);
  curl_easy_cleanup(easy);
  free(s.buf);
  return failed != 0;
}

/* A ~2 KB instance-like JSON body. */
static char *make_body(void)
{
  json_object *o = json_object_new_object(), *disks = json_object_new_array();
  char *out;
  int i;

  json_object_object_add(o, "kind", json_object_new_string("compute#instance"));
  json_object_object_add(o, "name", json_object_new_string("vm-1"));
  json_object_object_add(o, "status", json_object_new_string("RUNNING"));
  for (i = 0; i < 14; i++) {
    json_object *d = json_object_new_object();
    json_object_object_add(d, "deviceName", json_object_new_string("disk"));
    json_object_object_add(
        d, "source",
        json_object_new_string("https://www.googleapis.com/compute/v1/projects/"
                               "bench/zones/us-central1-a/disks/vm-1-disk"));
    json_object_object_add(d, "diskSizeGb", json_object_new_string("50"));
    json_object_array_add(disks, d);
  }
  json_object_object_add(o, "disks", disks);
  out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return out;
}

int main(int argc, char **argv)
{
  long calls = argc > 1 ? atol(argv[1]) : 20000;
  long conc = argc > 2 ? atol(argv[2]) : 1;
  char token_file[] = "/tmp/edv-bench-token-XXXXXX";
  mock_server *ms;
  char *body;
  int fd, result = 0;

  if (calls <= 0 || conc <= 0) {
    fprintf(stderr, "usage: %s [calls] [concurrency]\n", argv[0]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  fd = mkstemp(token_file);
  if (fd < 0 || write(fd, "bench-token", 11) != 11)
    return 1;
  close(fd);
  ms = mock_start();
  if (!ms)
    return 1;
  mock_set_logging(ms, 0);
  body = make_body();
  mock_set_default(ms, 200, body, NULL);
  printf("body %zu bytes, %ld calls, concurrency %ld (engine), libcurl %s\n",
         strlen(body), calls, conc,
         curl_version_info(CURLVERSION_NOW)->version);
  result |= run_bare(mock_url(ms), calls, 0);
  result |= run_bare(mock_url(ms), calls, 1);
  result |= run_engine(mock_url(ms), token_file, calls, conc);
  printf("server connections: %lu\n", mock_connection_count(ms));
  mock_stop(ms);
  unlink(token_file);
  free(body);
  curl_global_cleanup();
  return result;
}
