/*
 * test_monitoring.c - Monitoring's read side and alerting in the
 * simulator: timeSeries.list's filters and aggregation over series written
 * with timeSeries.create (monitoring_query.c), and the alert-policy
 * evaluator (alerting.c) end to end: incidents on the simulated clock and
 * webhook notifications POSTed to a listener of the test's.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <math.h>
#include <time.h>

#include <cmocka.h>

#include "apitest.h"

#define MON "/v3/projects/edv-sim"

/* ---- helpers ------------------------------------------------------------ */

/* GET timeSeries with filter (escaped here) and the rest of the query. */
static long list_series(simfx *f, const char *filter, const char *rest,
                        reply *r)
{
  CURL *c = curl_easy_init();
  char *esc = curl_easy_escape(c, filter, 0);
  char path[4096];
  long status;

  snprintf(path, sizeof(path), MON "/timeSeries?filter=%s&%s", esc, rest);
  curl_free(esc);
  curl_easy_cleanup(c);
  status = http(f, "GET", path, NULL, r);
  return status;
}

static void rfc3339(int64_t ms, char *buf, size_t n)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + strlen(buf), n - strlen(buf), ".%03dZ", (int)(ms % 1000));
}

/* One point of a custom GAUGE DOUBLE series (resource gce_instance in zone,
 * metric label edv_tenant). */
static void write_point(simfx *f, const char *type, const char *tenant,
                        const char *zone, double v, const char *when)
{
  char body[1024];
  reply r;

  snprintf(body, sizeof(body),
           "{\"timeSeries\":[{\"metric\":{\"type\":\"%s\",\"labels\":{"
           "\"edv_tenant\":\"%s\"}},\"resource\":{\"type\":\"gce_instance\","
           "\"labels\":{\"project_id\":\"edv-sim\",\"instance_id\":\"i-%s\","
           "\"zone\":\"%s\"}},\"points\":[{\"interval\":{\"endTime\":\"%s\"},"
           "\"value\":{\"doubleValue\":%g}}]}]}",
           type, tenant, tenant, zone, when, v);
  http(f, "POST", MON "/timeSeries", body, &r);
  expect_status(&r, 200);
  reply_free(&r);
}

static int64_t sim_ms(simfx *f)
{
  reply r;
  int64_t ms;

  http(f, "GET", "/_sim/clock", NULL, &r);
  expect_status(&r, 200);
  ms = strtoll(jget(r.json, "ms"), NULL, 10);
  reply_free(&r);
  return ms;
}

/* The index of the series whose `path` (within it) is `want`, or fails. */
static size_t series_with(json_object *o, const char *path, const char *want)
{
  char p[256];

  for (size_t i = 0; i < jlen(o, "timeSeries"); i++) {
    const char *got;

    snprintf(p, sizeof(p), "timeSeries.%zu.%s", i, path);
    got = jget(o, p);
    if (got && strcmp(got, want) == 0)
      return i;
  }
  fail_msg("no series with %s = %s in %s", path, want,
           json_object_to_json_string(o));
  return 0;
}

static double jnum(json_object *o, const char *path)
{
  const char *v = jget(o, path);

  if (v == NULL)
    fail_msg("%s: absent in %s", path, json_object_to_json_string(o));
  return strtod(v, NULL);
}

#define LOAD "custom.googleapis.com/q/load"

/* Three series, four points each at 10:00..10:03: a (z1) 1..4, b (z1)
 * 10..40, c (z2) 5. */
static void write_load(simfx *f)
{
  char when[40];

  for (int m = 0; m < 4; m++) {
    snprintf(when, sizeof(when), "2026-11-27T10:0%d:00Z", m);
    write_point(f, LOAD, "a", "z1", m + 1, when);
    write_point(f, LOAD, "b", "z1", (m + 1) * 10, when);
    write_point(f, LOAD, "c", "z2", 5, when);
  }
}

#define IV                                                                     \
  "interval.startTime=2026-11-27T09:59:00Z&interval.endTime="                  \
  "2026-11-27T10:03:00Z"

/* ---- the query layer ---------------------------------------------------- */

static void test_filters(void **state)
{
  simfx *f = fx_start("fast");
  reply r;

  (void)state;
  write_load(f);
  list_series(f,
              "metric.type = \"" LOAD "\" AND metric.label.edv_tenant != "
              "\"b\"",
              IV, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "timeSeries"), 2);
  series_with(r.json, "metric.labels.edv_tenant", "a");
  series_with(r.json, "metric.labels.edv_tenant", "c");
  assert_int_equal(jlen(r.json, "timeSeries.0.points"), 4);
  reply_free(&r);
  list_series(f,
              "metric.type = \"" LOAD "\" AND resource.labels.zone = "
              "starts_with(\"z1\")",
              IV, &r);
  assert_int_equal(jlen(r.json, "timeSeries"), 2);
  series_with(r.json, "metric.labels.edv_tenant", "b");
  reply_free(&r);
  list_series(f,
              "metric.type=\"" LOAD "\" AND metric.labels.edv_tenant = "
              "one_of(\"a\", \"c\") AND resource.type = \"gce_instance\"",
              IV, &r);
  assert_int_equal(jlen(r.json, "timeSeries"), 2);
  reply_free(&r);
  /* Nothing of another user label. */
  list_series(f,
              "metric.type = \"" LOAD "\" AND metadata.user_labels."
              "\"edv-tenant\" = \"a\"",
              IV, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "timeSeries"), 0);
  reply_free(&r);
  /* Paging and the HEADERS view. */
  list_series(f, "metric.type = \"" LOAD "\"", IV "&pageSize=2&view=HEADERS",
              &r);
  assert_int_equal(jlen(r.json, "timeSeries"), 2);
  assert_null(jget(r.json, "timeSeries.0.points"));
  assert_jeq(r.json, "nextPageToken", "2");
  reply_free(&r);
  list_series(f, "metric.type = \"" LOAD "\"", IV "&pageSize=2&pageToken=2",
              &r);
  assert_int_equal(jlen(r.json, "timeSeries"), 1);
  assert_null(jget(r.json, "nextPageToken"));
  reply_free(&r);
  /* Refused, naming the filter. */
  list_series(f,
              "metric.type = \"" LOAD "\" OR metric.label.edv_tenant = "
              "\"a\"",
              IV, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "OR metric.label"));
  reply_free(&r);
  list_series(f, "metric.label.edv_tenant = \"a\"", IV, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "metric type"));
  reply_free(&r);
  list_series(f, "metric.type = \"" LOAD "\" AND metric.label.x =~ \"a.*\"", IV,
              &r);
  expect_status(&r, 400);
  reply_free(&r);
  fx_free(f);
}

static void test_aggregation(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  size_t i;

  (void)state;
  write_load(f);
  /* ALIGN_MEAN over 2 min: (10:01, 10:03] and (09:59, 10:01]. */
  list_series(f, "metric.type = \"" LOAD "\"",
              "interval.startTime=2026-11-27T10:00:00Z&interval.endTime="
              "2026-11-27T10:03:00Z&aggregation.alignmentPeriod=120s&"
              "aggregation.perSeriesAligner=ALIGN_MEAN",
              &r);
  expect_status(&r, 200);
  i = series_with(r.json, "metric.labels.edv_tenant", "a");
  {
    char p[80];

    snprintf(p, sizeof(p), "timeSeries.%zu.points", i);
    assert_int_equal(jlen(r.json, p), 2);
    snprintf(p, sizeof(p), "timeSeries.%zu.points.0.value.doubleValue", i);
    assert_true(fabs(jnum(r.json, p) - 3.5) < 1e-9);
    snprintf(p, sizeof(p), "timeSeries.%zu.points.1.value.doubleValue", i);
    assert_true(fabs(jnum(r.json, p) - 1.5) < 1e-9);
    snprintf(p, sizeof(p), "timeSeries.%zu.points.0.interval.endTime", i);
    assert_jeq(r.json, p, "2026-11-27T10:03:00.000Z");
  }
  reply_free(&r);
  /* ALIGN_MAX then REDUCE_SUM by zone at 10:03: z1 4 + 40, z2 5. */
  list_series(f, "metric.type = \"" LOAD "\"",
              "interval.startTime=2026-11-27T10:02:00Z&interval.endTime="
              "2026-11-27T10:03:00Z&aggregation.alignmentPeriod=60s&"
              "aggregation.perSeriesAligner=ALIGN_MAX&"
              "aggregation.crossSeriesReducer=REDUCE_SUM&"
              "aggregation.groupByFields=resource.label.%22zone%22",
              &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "timeSeries"), 2);
  i = series_with(r.json, "resource.labels.zone", "z1");
  {
    char p[80];

    snprintf(p, sizeof(p), "timeSeries.%zu.points.0.value.doubleValue", i);
    assert_true(fabs(jnum(r.json, p) - 44) < 1e-9);
    /* Only the group's labels are left. */
    snprintf(p, sizeof(p), "timeSeries.%zu.metric.labels.edv_tenant", i);
    assert_null(jget(r.json, p));
  }
  reply_free(&r);
  /* REDUCE_COUNT and REDUCE_PERCENTILE_50 over every series;
   * ALIGN_COUNT. */
  list_series(f, "metric.type = \"" LOAD "\"",
              "interval.startTime=2026-11-27T10:02:00Z&interval.endTime="
              "2026-11-27T10:03:00Z&aggregation.alignmentPeriod=60s&"
              "aggregation.perSeriesAligner=ALIGN_NEXT_OLDER&"
              "aggregation.crossSeriesReducer=REDUCE_COUNT",
              &r);
  assert_int_equal(jlen(r.json, "timeSeries"), 1);
  assert_jeq(r.json, "timeSeries.0.points.0.value.int64Value", "3");
  assert_jeq(r.json, "timeSeries.0.valueType", "INT64");
  reply_free(&r);
  list_series(f, "metric.type = \"" LOAD "\"",
              "interval.startTime=2026-11-27T10:02:00Z&interval.endTime="
              "2026-11-27T10:03:00Z&aggregation.alignmentPeriod=60s&"
              "aggregation.perSeriesAligner=ALIGN_MAX&"
              "aggregation.crossSeriesReducer=REDUCE_PERCENTILE_50",
              &r);
  assert_true(
      fabs(jnum(r.json, "timeSeries.0.points.0.value.doubleValue") - 5) < 1e-9);
  reply_free(&r);
  list_series(f,
              "metric.type = \"" LOAD "\" AND metric.label.edv_tenant = "
              "\"b\"",
              "interval.endTime=2026-11-27T10:03:00Z&aggregation."
              "alignmentPeriod=300s&aggregation.perSeriesAligner=ALIGN_COUNT",
              &r);
  assert_jeq(r.json, "timeSeries.0.points.0.value.int64Value", "4");
  reply_free(&r);
  fx_free(f);
}

static void test_refusals(void **state)
{
  static const struct {
    const char *query, *says;
  } cases[] = {
      {"aggregation.crossSeriesReducer=REDUCE_SUM",
       "requires a per-series aligner"},
      {"aggregation.perSeriesAligner=ALIGN_MEAN",
       "alignmentPeriod is required"},
      {"aggregation.alignmentPeriod=60s&aggregation.perSeriesAligner="
       "ALIGN_RATE",
       "cannot be applied to metrics with kind GAUGE and value type DOUBLE"},
      {"aggregation.alignmentPeriod=60s&aggregation.perSeriesAligner="
       "ALIGN_PERCENTILE_99",
       "cannot be applied to metrics with kind GAUGE"},
      {"aggregation.alignmentPeriod=10s&aggregation.perSeriesAligner="
       "ALIGN_MEAN",
       "at least 60 seconds"},
      {"aggregation.alignmentPeriod=60s&aggregation.perSeriesAligner="
       "ALIGN_STDDEV",
       "ALIGN_STDDEV"},
      {"aggregation.alignmentPeriod=60s&aggregation.perSeriesAligner="
       "ALIGN_MEAN&aggregation.crossSeriesReducer=REDUCE_SUM&"
       "aggregation.groupByFields=metric.bogus",
       "groupByFields"},
  };
  simfx *f = fx_start("fast");
  reply r;
  char q[600];

  (void)state;
  write_load(f);
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    snprintf(q, sizeof(q), IV "&%s", cases[i].query);
    list_series(f, "metric.type = \"" LOAD "\"", q, &r);
    if (r.status != 400 || !jget(r.json, "error.message") ||
        !strstr(jget(r.json, "error.message"), cases[i].says))
      fail_msg("%s: want 400 saying '%s', got %ld %s", cases[i].query,
               cases[i].says, r.status, r.body ? r.body : "");
    reply_free(&r);
  }
  fx_free(f);
}

/* Percentiles of distributions from their buckets: linear buckets of 10,
 * 10 samples in [0, 10) and 10 in [30, 40). */
static void test_distribution(void **state)
{
  simfx *f = fx_start("fast");
  reply r;

  (void)state;
  http(f, "POST", MON "/timeSeries",
       "{\"timeSeries\":[{\"metric\":{\"type\":\"custom.googleapis.com/q/"
       "lat\"},\"resource\":{\"type\":\"global\",\"labels\":{\"project_id\":"
       "\"edv-sim\"}},\"metricKind\":\"DELTA\",\"valueType\":"
       "\"DISTRIBUTION\",\"points\":[{\"interval\":{\"startTime\":"
       "\"2026-11-27T10:00:00Z\",\"endTime\":\"2026-11-27T10:01:00Z\"},"
       "\"value\":{\"distributionValue\":{\"count\":\"20\",\"mean\":20,"
       "\"bucketOptions\":{\"linearBuckets\":{\"numFiniteBuckets\":4,"
       "\"width\":10,\"offset\":0}},\"bucketCounts\":[\"0\",\"10\",\"0\","
       "\"0\",\"10\"]}}}]}]}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  list_series(f, "metric.type = \"custom.googleapis.com/q/lat\"",
              "interval.endTime=2026-11-27T10:01:00Z&aggregation."
              "alignmentPeriod=60s&aggregation.perSeriesAligner="
              "ALIGN_PERCENTILE_99",
              &r);
  expect_status(&r, 200);
  assert_true(fabs(jnum(r.json, "timeSeries.0.points.0.value.doubleValue") -
                   39.8) < 1e-6);
  reply_free(&r);
  list_series(f, "metric.type = \"custom.googleapis.com/q/lat\"",
              "interval.endTime=2026-11-27T10:01:00Z&aggregation."
              "alignmentPeriod=60s&aggregation.perSeriesAligner="
              "ALIGN_DELTA&aggregation.crossSeriesReducer="
              "REDUCE_PERCENTILE_50",
              &r);
  expect_status(&r, 200);
  assert_true(fabs(jnum(r.json, "timeSeries.0.points.0.value.doubleValue") -
                   10) < 1e-6);
  reply_free(&r);
  /* No ALIGN_MAX of a distribution. */
  list_series(f, "metric.type = \"custom.googleapis.com/q/lat\"",
              "interval.endTime=2026-11-27T10:01:00Z&aggregation."
              "alignmentPeriod=60s&aggregation.perSeriesAligner=ALIGN_MAX",
              &r);
  expect_status(&r, 400);
  reply_free(&r);
  fx_free(f);
}

/* ---- a webhook listener ------------------------------------------------- */

#define HOOK_MAX 16

typedef struct hook {
  int fd;
  unsigned port;
  pthread_t thread;
  pthread_mutex_t mu;
  volatile int stop;
  int silent; /* 1: never answers (the connections are held open) */
  int held[HOOK_MAX], n_held;
  int n;
  char *req[HOOK_MAX]; /* request head and body */
} hook;

static void *hook_run(void *arg)
{
  hook *h = arg;

  while (!h->stop) {
    struct pollfd p = {h->fd, POLLIN, 0};
    char buf[65536];
    size_t len = 0;
    int c;

    if (poll(&p, 1, 50) <= 0)
      continue;
    if ((c = accept(h->fd, NULL, NULL)) < 0)
      continue;
    /* Read until the head and Content-Length bytes of body are in. */
    for (;;) {
      ssize_t got = recv(c, buf + len, sizeof(buf) - 1 - len, 0);
      char *end, *cl;

      if (got <= 0)
        break;
      len += (size_t)got;
      buf[len] = '\0';
      end = strstr(buf, "\r\n\r\n");
      cl = strstr(buf, "Content-Length: ");
      if (end && cl && len >= (size_t)(end + 4 - buf) + (size_t)atol(cl + 16))
        break;
    }
    buf[len] = '\0';
    if (h->silent && h->n_held < HOOK_MAX) {
      h->held[h->n_held++] = c;
    } else {
      send(c,
           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
           57, 0);
      close(c);
    }
    pthread_mutex_lock(&h->mu);
    if (h->n < HOOK_MAX)
      h->req[h->n++] = strdup(buf);
    pthread_mutex_unlock(&h->mu);
  }
  return NULL;
}

static hook *hook_start_silent(int silent);

static hook *hook_start(void)
{
  return hook_start_silent(0);
}

static hook *hook_start_silent(int silent)
{
  hook *h = calloc(1, sizeof(*h));
  struct sockaddr_in a;
  socklen_t al = sizeof(a);

  assert_non_null(h);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  h->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(h->fd >= 0);
  assert_int_equal(bind(h->fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(h->fd, 16), 0);
  assert_int_equal(getsockname(h->fd, (struct sockaddr *)&a, &al), 0);
  h->port = ntohs(a.sin_port);
  h->silent = silent;
  pthread_mutex_init(&h->mu, NULL);
  assert_int_equal(pthread_create(&h->thread, NULL, hook_run, h), 0);
  return h;
}

static void hook_stop(hook *h)
{
  h->stop = 1;
  pthread_join(h->thread, NULL);
  close(h->fd);
  for (int i = 0; i < h->n_held; i++)
    close(h->held[i]);
  for (int i = 0; i < h->n; i++)
    free(h->req[i]);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

/* The i-th request received (waits for it, up to 10 s of real time). */
static const char *hook_req(hook *h, int i)
{
  for (int k = 0; k < 200; k++) {
    const char *r = NULL;

    pthread_mutex_lock(&h->mu);
    if (h->n > i)
      r = h->req[i];
    pthread_mutex_unlock(&h->mu);
    if (r)
      return r;
    usleep(50000);
  }
  fail_msg("the webhook got no request #%d", i);
  return NULL;
}

/* "Basic " + base64(user:password), written here independently of the
 * simulator's encoder. */
static void sim_test_basic(const char *user, const char *pw, char *out,
                           size_t n)
{
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char in[300];
  size_t len = (size_t)snprintf(in, sizeof(in), "%s:%s", user, pw), o = 6;
  unsigned char *u = (unsigned char *)in;

  snprintf(out, n, "Basic ");
  for (size_t i = 0; i < len && o + 5 < n; i += 3) {
    size_t left = len - i;
    unsigned v = (unsigned)u[i] << 16 |
                 (left > 1 ? (unsigned)u[i + 1] << 8 : 0) |
                 (left > 2 ? u[i + 2] : 0);

    out[o++] = b64[v >> 18 & 63];
    out[o++] = b64[v >> 12 & 63];
    out[o++] = left > 1 ? b64[v >> 6 & 63] : '=';
    out[o++] = left > 2 ? b64[v & 63] : '=';
  }
  out[o] = '\0';
}

/* ---- the evaluator ------------------------------------------------------ */

#define ERRS "custom.googleapis.com/q/errors"
#define REQS "custom.googleapis.com/q/requests"

/* A channel's name. */
static void create_channel(simfx *f, const char *body, char *name, size_t n)
{
  reply r;

  http(f, "POST", MON "/notificationChannels", body, &r);
  expect_status(&r, 200);
  snprintf(name, n, "%s", jget(r.json, "name"));
  reply_free(&r);
}

static void create_policy(simfx *f, const char *body)
{
  reply r;

  http(f, "POST", MON "/alertPolicies", body, &r);
  expect_status(&r, 200);
  reply_free(&r);
}

/* Writes each tenant's value at the simulated now, then moves the clock
 * 30 s; `times` times. */
static void feed(simfx *f, const char *type, const char *const *tenants,
                 const double *vals, size_t nt, int times)
{
  char when[40];

  for (int k = 0; k < times; k++) {
    rfc3339(sim_ms(f), when, sizeof(when));
    for (size_t i = 0; i < nt; i++)
      write_point(f, type, tenants[i], "z1", vals[i], when);
    assert_int_equal(advance(f, 30), 200);
  }
}

static json_object *admin_get(simfx *f, const char *path)
{
  reply r;
  json_object *o;

  http(f, "GET", path, NULL, &r);
  expect_status(&r, 200);
  o = json_object_get(r.json);
  reply_free(&r);
  return o;
}

/* Waits until every notification has an answer (a status or an error). */
static json_object *notifications_settled(simfx *f, size_t want)
{
  for (int k = 0; k < 200; k++) {
    json_object *o = admin_get(f, "/_sim/notifications");
    size_t n = jlen(o, "notifications"), done = 0;

    for (size_t i = 0; i < n; i++) {
      char p[80];

      snprintf(p, sizeof(p), "notifications.%zu.status", i);
      done += strcmp(jget(o, p), "0") != 0;
    }
    if (n == want && done == want)
      return o;
    json_object_put(o);
    usleep(50000);
  }
  fail_msg("want %zu delivered notifications", want);
  return NULL;
}

#define POLICY_HEAD                                                            \
  "{\"displayName\":\"edv: errors\",\"severity\":\"ERROR\",\"userLabels\":{"   \
  "\"edv-managed\":\"true\"},\"documentation\":{\"content\":\"Look at the "    \
  "tenant.\",\"mimeType\":\"text/markdown\"},"

static void test_threshold_end_to_end(void **state)
{
  static const char *const tenants[] = {"s1", "s2"};
  static const double bad[] = {1, 0}, good[] = {0, 0};
  simfx *f = fx_start("fast");
  hook *h = hook_start();
  char body[2048], chan[300], want[300], stored_pw[100];
  json_object *o, *pay;
  const char *req, *js_body;
  reply r;

  (void)state;
  snprintf(body, sizeof(body),
           "{\"type\":\"webhook_basicauth\",\"displayName\":\"intake\","
           "\"labels\":{\"url\":\"http://127.0.0.1:%u/hook\",\"username\":"
           "\"edv-alerts\",\"password\":\"s3cret-pw\"}}",
           h->port);
  create_channel(f, body, chan, sizeof(chan));
  snprintf(body, sizeof(body),
           POLICY_HEAD
           "\"notificationChannels\":[\"%s\"],\"conditions\":[{"
           "\"displayName\":\"errors high\",\"conditionThreshold\":{"
           "\"filter\":\"metric.type = \\\"" ERRS "\\\" AND "
           "metric.label.edv_tenant = starts_with(\\\"s\\\")\","
           "\"aggregations\":[{\"alignmentPeriod\":\"60s\","
           "\"perSeriesAligner\":\"ALIGN_MAX\",\"crossSeriesReducer\":"
           "\"REDUCE_MAX\",\"groupByFields\":[\"metric.label.\\\"edv_"
           "tenant\\\"\"]}],"
           "\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":0.5,"
           "\"duration\":\"120s\"}}]}",
           chan);
  create_policy(f, body);
  /* 90 s of breaching: under the duration, no incident. */
  feed(f, ERRS, tenants, bad, 2, 3);
  o = admin_get(f, "/_sim/incidents");
  assert_int_equal(jlen(o, "incidents"), 0);
  json_object_put(o);
  /* Past it: one incident, s1's. */
  feed(f, ERRS, tenants, bad, 2, 3);
  o = admin_get(f, "/_sim/incidents?state=open");
  assert_int_equal(jlen(o, "incidents"), 1);
  assert_jeq(o, "incidents.0.metric.labels.edv_tenant", "s1");
  assert_jeq(o, "incidents.0.state", "open");
  assert_jeq(o, "incidents.0.severity", "Error");
  assert_jeq(o, "incidents.0.policy_name", "edv: errors");
  assert_jeq(o, "incidents.0.observed_value", "1.000");
  assert_null(jget(o, "incidents.0._group"));
  assert_non_null(strstr(jget(o, "incidents.0.policy"), "alertPolicies/"));
  json_object_put(o);
  o = notifications_settled(f, 1);
  assert_jeq(o, "notifications.0.state", "open");
  assert_jeq(o, "notifications.0.type", "webhook_basicauth");
  assert_jeq(o, "notifications.0.delivered", "true");
  assert_jeq(o, "notifications.0.status", "200");
  assert_null(strstr(json_object_to_json_string(o), "s3cret-pw"));
  json_object_put(o);
  /* The POST: Basic auth of the channel's stored labels, payload 1.2. */
  http(f, "GET", "/_sim/state?kind=monitoring.notificationChannel", NULL, &r);
  snprintf(stored_pw, sizeof(stored_pw), "%s",
           jget(r.json, "resources.0.resource.labels.password"));
  reply_free(&r);
  req = hook_req(h, 0);
  assert_non_null(strstr(req, "POST /hook HTTP/1.1\r\n"));
  sim_test_basic("edv-alerts", stored_pw, want, sizeof(want));
  if (!strstr(req, want))
    fail_msg("want '%s' in %s", want, req);
  js_body = strstr(req, "\r\n\r\n") + 4;
  pay = json_tokener_parse(js_body);
  assert_non_null(pay);
  assert_jeq(pay, "version", "1.2");
  assert_jeq(pay, "incident.state", "open");
  assert_jeq(pay, "incident.metric.type", ERRS);
  assert_jeq(pay, "incident.metric.displayName", "errors");
  assert_jeq(pay, "incident.resource_display_name", "s1");
  assert_jeq(pay, "incident.metric.labels.edv_tenant", "s1");
  assert_jeq(pay, "incident.resource.labels.project_id", "edv-sim");
  assert_jeq(pay, "incident.documentation.content", "Look at the tenant.");
  assert_jeq(pay, "incident.policy_user_labels.edv-managed", "true");
  assert_jeq(pay, "incident.scoping_project_id", "edv-sim");
  assert_null(jget(pay, "incident.policy"));
  assert_null(jget(pay, "incident.ended_at"));
  json_object_put(pay);
  /* Back to normal: closed, and a closing notification. */
  feed(f, ERRS, tenants, good, 2, 3);
  o = admin_get(f, "/_sim/incidents");
  assert_int_equal(jlen(o, "incidents"), 1);
  assert_jeq(o, "incidents.0.state", "closed");
  assert_non_null(jget(o, "incidents.0.ended_at"));
  json_object_put(o);
  o = notifications_settled(f, 2);
  json_object_put(o);
  pay = json_tokener_parse(strstr(hook_req(h, 1), "\r\n\r\n") + 4);
  assert_jeq(pay, "incident.state", "closed");
  assert_non_null(jget(pay, "incident.ended_at"));
  json_object_put(pay);
  hook_stop(h);
  fx_free(f);
}

/* A ratio (errors / requests, summed per tenant) over a threshold of 0.1
 * with no duration; an https:// webhook is recorded, not delivered. */
static void test_ratio(void **state)
{
  static const char *const tenants[] = {"s1", "s2"};
  static const double errs[] = {5, 0}, reqs[] = {10, 10};
  simfx *f = fx_start("fast");
  char body[2048], chan[300], chan2[300], when[40];
  json_object *o;

  (void)state;
  create_channel(f,
                 "{\"type\":\"webhook_tokenauth\",\"labels\":{\"url\":"
                 "\"https://example.com/hook\"}}",
                 chan, sizeof(chan));
  /* A second one nobody listens on: refused, recorded. */
  create_channel(f,
                 "{\"type\":\"webhook_tokenauth\",\"labels\":{\"url\":"
                 "\"http://127.0.0.1:1/hook\"}}",
                 chan2, sizeof(chan2));
  snprintf(body, sizeof(body),
           POLICY_HEAD
           "\"notificationChannels\":[\"%s\",\"%s\"],\"conditions\":[{"
           "\"displayName\":\"error ratio\",\"conditionThreshold\":{"
           "\"filter\":\"metric.type = \\\"" ERRS "\\\"\","
           "\"aggregations\":[{\"alignmentPeriod\":\"60s\","
           "\"perSeriesAligner\":\"ALIGN_SUM\",\"crossSeriesReducer\":"
           "\"REDUCE_SUM\",\"groupByFields\":[\"metric.label.edv_tenant\"]}],"
           "\"denominatorFilter\":\"metric.type = \\\"" REQS "\\\"\","
           "\"denominatorAggregations\":[{\"alignmentPeriod\":\"60s\","
           "\"perSeriesAligner\":\"ALIGN_SUM\",\"crossSeriesReducer\":"
           "\"REDUCE_SUM\",\"groupByFields\":[\"metric.label.edv_tenant\"]}],"
           "\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":0.1,"
           "\"duration\":\"0s\"}}]}",
           chan, chan2);
  create_policy(f, body);
  rfc3339(sim_ms(f), when, sizeof(when));
  for (size_t i = 0; i < 2; i++) {
    write_point(f, ERRS, tenants[i], "z1", errs[i], when);
    write_point(f, REQS, tenants[i], "z1", reqs[i], when);
  }
  assert_int_equal(advance(f, 30), 200);
  o = admin_get(f, "/_sim/incidents");
  assert_int_equal(jlen(o, "incidents"), 1);
  assert_jeq(o, "incidents.0.metric.labels.edv_tenant", "s1");
  assert_jeq(o, "incidents.0.observed_value", "0.500");
  assert_jeq(o, "incidents.0.threshold_value", "0.1");
  json_object_put(o);
  for (int k = 0;; k++) {
    size_t tls;

    o = admin_get(f, "/_sim/notifications");
    assert_int_equal(jlen(o, "notifications"), 2);
    tls = strcmp(jget(o, "notifications.0.channel"), chan) == 0 ? 0 : 1;
    if (*jget(o, tls ? "notifications.0.error" : "notifications.1.error") ||
        k == 200) {
      assert_jeq(o, tls ? "notifications.1.error" : "notifications.0.error",
                 "the simulator does not speak TLS to webhooks");
      assert_jeq(o, "notifications.0.delivered", "false");
      assert_jeq(o, "notifications.1.delivered", "false");
      assert_jeq(o, tls ? "notifications.0.status" : "notifications.1.status",
                 "0");
      assert_non_null(strstr(
          jget(o, tls ? "notifications.0.error" : "notifications.1.error"),
          "connect: "));
      json_object_put(o);
      break;
    }
    json_object_put(o);
    usleep(50000);
  }
  fx_free(f);
}

/* Two conditions, A breaching and B not: AND opens nothing, OR opens A's
 * incident; once B breaches too AND opens both. */
static void test_combiners(void **state)
{
  simfx *f = fx_start("fast");
  char body[3072], when[40];
  json_object *o;

  (void)state;
  for (int k = 0; k < 2; k++) {
    snprintf(body, sizeof(body),
             "{\"displayName\":\"%s\",\"combiner\":\"%s\",\"conditions\":["
             "{\"displayName\":\"A\",\"conditionThreshold\":{\"filter\":"
             "\"metric.type = \\\"custom.googleapis.com/q/a\\\"\","
             "\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":0.5,"
             "\"duration\":\"0s\"}},"
             "{\"displayName\":\"B\",\"conditionThreshold\":{\"filter\":"
             "\"metric.type = \\\"custom.googleapis.com/q/b\\\"\","
             "\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":0.5,"
             "\"duration\":\"0s\"}}]}",
             k ? "or" : "and", k ? "OR" : "AND");
    create_policy(f, body);
  }
  rfc3339(sim_ms(f), when, sizeof(when));
  write_point(f, "custom.googleapis.com/q/a", "s1", "z1", 1, when);
  write_point(f, "custom.googleapis.com/q/b", "s1", "z1", 0, when);
  assert_int_equal(advance(f, 30), 200);
  o = admin_get(f, "/_sim/incidents");
  assert_int_equal(jlen(o, "incidents"), 1);
  assert_jeq(o, "incidents.0.policy_name", "or");
  assert_jeq(o, "incidents.0.condition_name", "A");
  json_object_put(o);
  rfc3339(sim_ms(f), when, sizeof(when));
  write_point(f, "custom.googleapis.com/q/a", "s1", "z1", 1, when);
  write_point(f, "custom.googleapis.com/q/b", "s1", "z1", 1, when);
  assert_int_equal(advance(f, 30), 200);
  o = admin_get(f, "/_sim/incidents?state=open");
  /* or: A and B; and: A and B. */
  assert_int_equal(jlen(o, "incidents"), 4);
  json_object_put(o);
  /* B back to normal: AND closes both of its incidents, OR keeps A's. */
  rfc3339(sim_ms(f), when, sizeof(when));
  write_point(f, "custom.googleapis.com/q/a", "s1", "z1", 1, when);
  write_point(f, "custom.googleapis.com/q/b", "s1", "z1", 0, when);
  assert_int_equal(advance(f, 30), 200);
  o = admin_get(f, "/_sim/incidents?state=open");
  assert_int_equal(jlen(o, "incidents"), 1);
  assert_jeq(o, "incidents.0.policy_name", "or");
  assert_jeq(o, "incidents.0.condition_name", "A");
  json_object_put(o);
  fx_free(f);
}

/* An incident survives a restart (the state file) and closes after it;
 * conditionAbsent opens when a tenant seen before stops reporting. */
static void test_restart_and_absent(void **state)
{
  static const char *const both[] = {"s1", "s2"}, *const one[] = {"s1"};
  static const double bad[] = {1, 1}, good[] = {0};
  simfx *f = fx_start("fast");
  char dir[64];
  json_object *o;

  (void)state;
  create_policy(f, "{\"displayName\":\"high\",\"conditions\":[{"
                   "\"displayName\":\"high\",\"conditionThreshold\":{"
                   "\"filter\":\"metric.type = \\\"" ERRS "\\\"\","
                   "\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":"
                   "0.5,\"duration\":\"0s\"}}]}");
  create_policy(f, "{\"displayName\":\"gone\",\"conditions\":[{"
                   "\"displayName\":\"gone\",\"conditionAbsent\":{"
                   "\"filter\":\"metric.type = \\\"" REQS "\\\"\","
                   "\"aggregations\":[{\"alignmentPeriod\":\"60s\","
                   "\"perSeriesAligner\":\"ALIGN_MAX\",\"crossSeriesReducer\":"
                   "\"REDUCE_MAX\",\"groupByFields\":[\"metric.label."
                   "edv_tenant\"]}],\"duration\":\"120s\"}}]}");
  feed(f, ERRS, one, bad, 1, 2);
  feed(f, REQS, both, bad, 2, 2);
  o = admin_get(f, "/_sim/incidents?state=open");
  assert_int_equal(jlen(o, "incidents"), 1);
  assert_jeq(o, "incidents.0.policy_name", "high");
  json_object_put(o);
  /* s2 stops reporting: absent after 120 s. */
  feed(f, REQS, one, bad, 1, 2);
  o = admin_get(f, "/_sim/incidents?state=open");
  assert_int_equal(jlen(o, "incidents"), 1);
  json_object_put(o);
  feed(f, REQS, one, bad, 1, 4);
  o = admin_get(f, "/_sim/incidents?state=open");
  assert_int_equal(jlen(o, "incidents"), 2);
  {
    size_t i = strcmp(jget(o, "incidents.0.policy_name"), "gone") == 0 ? 0 : 1;
    char p[80];

    snprintf(p, sizeof(p), "incidents.%zu.metric.labels.edv_tenant", i);
    assert_jeq(o, p, "s2");
  }
  json_object_put(o);
  /* Restart: the incidents are still there; "high" closes once normal. */
  snprintf(dir, sizeof(dir), "%s", f->dir);
  fx_stop(f, 1);
  f = fx_start_in("fast", dir);
  o = admin_get(f, "/_sim/incidents?state=open");
  assert_int_equal(jlen(o, "incidents"), 2);
  json_object_put(o);
  feed(f, ERRS, one, good, 1, 2);
  o = admin_get(f, "/_sim/incidents?state=closed");
  assert_int_equal(jlen(o, "incidents"), 1);
  assert_jeq(o, "incidents.0.policy_name", "high");
  json_object_put(o);
  fx_free(f);
}

/* The newest 1,000 notifications are kept: 60 groups opening at once on a
 * policy with 20 email channels make 1,200. */
static void test_prune(void **state)
{
  simfx *f = fx_start("fast");
  char body[65536], chans[8192] = "", name[300], when[40];
  size_t o;
  json_object *n;
  reply r;

  (void)state;
  for (int i = 0; i < 20; i++) {
    snprintf(body, sizeof(body),
             "{\"type\":\"email\",\"labels\":{\"email_address\":"
             "\"ops%d@example.com\"}}",
             i);
    create_channel(f, body, name, sizeof(name));
    snprintf(chans + strlen(chans), sizeof(chans) - strlen(chans), "%s\"%s\"",
             i ? "," : "", name);
  }
  snprintf(body, sizeof(body),
           "{\"displayName\":\"many\",\"notificationChannels\":[%s],"
           "\"conditions\":[{\"displayName\":\"many\","
           "\"conditionThreshold\":{\"filter\":\"metric.type = \\\"" ERRS
           "\\\"\",\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":"
           "0.5,\"duration\":\"0s\"}}]}",
           chans);
  create_policy(f, body);
  rfc3339(sim_ms(f), when, sizeof(when));
  o = (size_t)snprintf(body, sizeof(body), "{\"timeSeries\":[");
  for (int i = 0; i < 60; i++)
    o += (size_t)snprintf(
        body + o, sizeof(body) - o,
        "%s{\"metric\":{\"type\":\"" ERRS "\",\"labels\":{\"edv_tenant\":"
        "\"t%d\"}},\"resource\":{\"type\":\"global\"},\"points\":[{"
        "\"interval\":{\"endTime\":\"%s\"},\"value\":{\"doubleValue\":1}}"
        "]}",
        i ? "," : "", i, when);
  snprintf(body + o, sizeof(body) - o, "]}");
  http(f, "POST", MON "/timeSeries", body, &r);
  expect_status(&r, 200);
  reply_free(&r);
  assert_int_equal(advance(f, 30), 200);
  n = admin_get(f, "/_sim/incidents?state=open");
  assert_int_equal(jlen(n, "incidents"), 60);
  json_object_put(n);
  n = admin_get(f, "/_sim/notifications");
  assert_int_equal(jlen(n, "notifications"), 1000);
  assert_jeq(n, "notifications.0.error",
             "the simulator records email notifications without sending "
             "them");
  json_object_put(n);
  fx_free(f);
}

/* A webhook that takes the request and never answers: after 5 s (real
 * time) the notification is recorded undelivered, "no answer within 5 s". */
static void test_webhook_timeout(void **state)
{
  static const char *const one[] = {"s1"};
  static const double bad[] = {1}, good[] = {0};
  simfx *f = fx_start("fast");
  hook *h = hook_start_silent(1);
  char body[2048], chan[300];
  json_object *o = NULL;

  (void)state;
  snprintf(body, sizeof(body),
           "{\"type\":\"webhook_tokenauth\",\"labels\":{\"url\":"
           "\"http://127.0.0.1:%u/hook\"}}",
           h->port);
  create_channel(f, body, chan, sizeof(chan));
  snprintf(body, sizeof(body),
           "{\"displayName\":\"slow\",\"notificationChannels\":[\"%s\"],"
           "\"conditions\":[{\"displayName\":\"slow\","
           "\"conditionThreshold\":{\"filter\":\"metric.type = \\\"" ERRS
           "\\\"\",\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":"
           "0.5,\"duration\":\"0s\"}}]}",
           chan);
  create_policy(f, body);
  feed(f, ERRS, one, bad, 1, 1);
  hook_req(h, 0);
  for (int k = 0; k < 200; k++) {
    o = admin_get(f, "/_sim/notifications");
    if (*jget(o, "notifications.0.error"))
      break;
    json_object_put(o);
    o = NULL;
    usleep(50000);
  }
  assert_non_null(o);
  assert_jeq(o, "notifications.0.error", "no answer within 5 s");
  assert_jeq(o, "notifications.0.delivered", "false");
  assert_jeq(o, "notifications.0.status", "0");
  json_object_put(o);
  /* The closing one is still in flight when the simulator stops: it is
   * cancelled (the sanitizer build checks nothing leaks or dangles). */
  feed(f, ERRS, one, good, 1, 1);
  hook_req(h, 1);
  fx_free(f);
  hook_stop(h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_aggregation),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_distribution),
      cmocka_unit_test(test_threshold_end_to_end),
      cmocka_unit_test(test_ratio),
      cmocka_unit_test(test_combiners),
      cmocka_unit_test(test_restart_and_absent),
      cmocka_unit_test(test_prune),
      cmocka_unit_test(test_webhook_timeout),
  };

  curl_global_init(CURL_GLOBAL_DEFAULT);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
