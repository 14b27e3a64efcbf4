/*
 * test_compute_net.c - the Compute networking and load-balancing
 * collections of edv-gcpsim (compute_net.c, compute_lb.c) through real
 * HTTP: subnet CIDR rules and Google's overlap message, networks in use,
 * firewalls, routers with NAT, addresses (external and private services
 * ranges) with labels, health checks, backend services, URL maps and their
 * fingerprints, target HTTPS proxies with certificate maps, forwarding
 * rules, in-use deletes, quotas, list filters, aggregatedList, requestId,
 * the body schema check, operations that race (re-checked when they
 * complete), an operation surviving a restart, and gcloud unchanged (when
 * installed).
 *
 * As in test_sim.c, the simulator runs on its own loop in a second thread
 * and the test thread is a blocking libcurl client. The simulator runs
 * with no_auth (the token flow is test_sim.c's business). Resources of
 * other modules this file needs (an instance group, a certificate map) are
 * put into the store before the loop thread starts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edv/sim.h"
#include "sim/compute_int.h"
#include "sim/sim_int.h"

#define P      "/compute/v1/projects/edv-sim"
#define NET    P "/global/networks"
#define SUB    P "/regions/us-central1/subnetworks"
#define SUB_EU P "/regions/europe-west1/subnetworks"
#define FW     P "/global/firewalls"
#define RT     P "/regions/us-central1/routers"
#define GADDR  P "/global/addresses"
#define RADDR  P "/regions/us-central1/addresses"
#define HC     P "/global/healthChecks"
#define BS     P "/global/backendServices"
#define UM     P "/global/urlMaps"
#define PX     P "/global/targetHttpsProxies"
#define FR     P "/global/forwardingRules"

/* --- harness ------------------------------------------------------------ */

typedef struct simfx {
  uv_loop_t loop;
  uv_async_t stop;
  pthread_t thread;
  edv_sim *es;
  unsigned port;
  int closed;
} simfx;

static void fx_closed(void *data)
{
  simfx *f = data;

  f->closed++;
}

static void fx_stop_cb(uv_async_t *a)
{
  simfx *f = a->data;

  uv_close((uv_handle_t *)&f->stop, NULL);
  edv_sim_close(f->es, fx_closed, f);
}

static void *fx_loop(void *arg)
{
  simfx *f = arg;

  uv_run(&f->loop, UV_RUN_DEFAULT);
  return NULL;
}

static simfx *fx_new_state(const char *profile, const char *state_file)
{
  simfx *f = calloc(1, sizeof(*f));
  edv_sim_options o;
  edv_error err;

  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  memset(&o, 0, sizeof(o));
  o.profile = profile;
  o.state_file = state_file;
  o.seed = 7;
  o.no_auth = 1;
  f->es = edv_sim_start(&f->loop, &o, &err);
  if (f->es == NULL)
    fail_msg("edv_sim_start: %s", err.message);
  f->port = edv_sim_port(f->es);
  uv_async_init(&f->loop, &f->stop, fx_stop_cb);
  f->stop.data = f;
  return f;
}

static simfx *fx_new_profile(const char *profile)
{
  return fx_new_state(profile, NULL);
}

static simfx *fx_new(void)
{
  return fx_new_profile("fast");
}

static void fx_run(simfx *f)
{
  assert_int_equal(pthread_create(&f->thread, NULL, fx_loop, f), 0);
}

static void fx_free(simfx *f)
{
  uv_async_send(&f->stop);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  assert_int_equal(f->closed, 1);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

typedef struct reply {
  long status;
  char *body;
  size_t len;
  json_object *json;
} reply;

static size_t write_cb(char *p, size_t sz, size_t n, void *data)
{
  reply *r = data;
  char *q = realloc(r->body, r->len + sz * n + 1);

  if (q == NULL)
    return 0;
  r->body = q;
  memcpy(r->body + r->len, p, sz * n);
  r->len += sz * n;
  r->body[r->len] = '\0';
  return sz * n;
}

static void reply_free(reply *r)
{
  free(r->body);
  json_object_put(r->json);
  memset(r, 0, sizeof(*r));
}

static long http(simfx *f, const char *method, const char *path,
                 const char *body, reply *r)
{
  CURL *c = curl_easy_init();
  char url[1024];
  struct curl_slist *h = NULL;

  memset(r, 0, sizeof(*r));
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
  h = curl_slist_append(h, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  else if (strcmp(method, "POST") == 0)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  if (r->body)
    r->json = json_tokener_parse(r->body);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r->status;
}

/* A field by dotted path ("error.errors.0.reason"); NULL when absent. */
static const char *jget(json_object *o, const char *path)
{
  char buf[200], *save = NULL;

  snprintf(buf, sizeof(buf), "%s", path);
  for (char *t = strtok_r(buf, ".", &save); t && o;
       t = strtok_r(NULL, ".", &save)) {
    if (json_object_is_type(o, json_type_array))
      o = json_object_array_get_idx(o, (size_t)atoi(t));
    else
      o = json_object_object_get(o, t);
  }
  return o ? json_object_get_string(o) : NULL;
}

static void assert_jeq(json_object *o, const char *path, const char *want)
{
  const char *got = jget(o, path);

  if (got == NULL || strcmp(got, want) != 0)
    fail_msg("%s: want '%s', got '%s' in %s", path, want, got ? got : "(none)",
             json_object_to_json_string(o));
}

/* Waits for the operation in r (any scope) and checks it ended as
 * expected: error NULL for success, else its first error code. */
static void wait_op(simfx *f, reply *r, const char *error)
{
  const char *self = jget(r->json, "selfLink"), *p;
  char path[600];
  reply w;

  if (r->status != 200)
    fail_msg("want an operation, got %ld: %s", r->status,
             r->body ? r->body : "");
  assert_jeq(r->json, "kind", "compute#operation");
  p = strstr(self, "/compute/v1/");
  assert_non_null(p);
  snprintf(path, sizeof(path), "%s/wait", p);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(http(f, "POST", path, NULL, &w), 200);
    if (strcmp(jget(w.json, "status"), "DONE") == 0)
      break;
    reply_free(&w);
    usleep(20 * 1000);
  }
  assert_jeq(w.json, "status", "DONE");
  if (error)
    assert_jeq(w.json, "error.errors.0.code", error);
  else if (jget(w.json, "error"))
    fail_msg("operation failed: %s", json_object_to_json_string(w.json));
  reply_free(&w);
}

/* A mutation that must succeed, through its operation. */
static void ok(simfx *f, const char *method, const char *path, const char *body)
{
  reply r;

  http(f, method, path, body, &r);
  wait_op(f, &r, NULL);
  reply_free(&r);
}

/* A request that must fail synchronously with status, reason and (when
 * not NULL) exactly this message. */
static void fails(simfx *f, const char *method, const char *path,
                  const char *body, long status, const char *reason,
                  const char *message)
{
  reply r;

  if (http(f, method, path, body, &r) != status)
    fail_msg("%s %s: want %ld, got %ld: %s", method, path, status, r.status,
             r.body ? r.body : "");
  assert_jeq(r.json, "error.errors.0.reason", reason);
  if (message)
    assert_jeq(r.json, "error.message", message);
  reply_free(&r);
}

/* GET path into r (must be 200). */
static void get(simfx *f, const char *path, reply *r)
{
  if (http(f, "GET", path, NULL, r) != 200)
    fail_msg("GET %s: %ld %s", path, r->status, r->body ? r->body : "");
}

static void quota(simfx *f, const char *metric, const char *region, int limit)
{
  char body[200];
  reply r;

  if (region)
    snprintf(body, sizeof(body),
             "{\"metric\":\"%s\",\"region\":\"%s\",\"limit\":%d}", metric,
             region, limit);
  else
    snprintf(body, sizeof(body), "{\"metric\":\"%s\",\"limit\":%d}", metric,
             limit);
  assert_int_equal(http(f, "POST", "/_sim/quotas", body, &r), 200);
  reply_free(&r);
}

static size_t items(reply *r)
{
  json_object *a = json_object_object_get(r->json, "items");

  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

/* --- subnetworks and networks ------------------------------------------- */

static void test_subnets(void **state)
{
  simfx *f = fx_new();
  reply r;
  char fp[64], body[300];

  (void)state;
  fx_run(f);
  ok(f, "POST", NET, "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  ok(f, "POST", NET, "{\"name\":\"auto-net\"}");
  ok(f, "POST", SUB,
     "{\"name\":\"edv-s1\",\"network\":\"global/networks/edv-net\","
     "\"ipCidrRange\":\"192.168.0.0/24\",\"description\":\"edv-managed\"}");
  get(f, SUB "/edv-s1", &r);
  assert_jeq(r.json, "kind", "compute#subnetwork");
  assert_jeq(r.json, "gatewayAddress", "192.168.0.1");
  assert_jeq(r.json, "description", "edv-managed");
  assert_non_null(jget(r.json, "fingerprint"));
  assert_non_null(strstr(jget(r.json, "network"),
                         "/projects/edv-sim/global/networks/edv-net"));
  assert_non_null(strstr(jget(r.json, "region"), "/regions/us-central1"));
  snprintf(fp, sizeof(fp), "%s", jget(r.json, "fingerprint"));
  reply_free(&r);
  /* The network lists it. */
  get(f, NET "/edv-net", &r);
  assert_non_null(strstr(jget(r.json, "subnetworks.0"),
                         "/regions/us-central1/subnetworks/edv-s1"));
  reply_free(&r);
  /* Overlap in another region: Google's exact message. */
  fails(f, "POST", SUB_EU,
        "{\"name\":\"edv-s2\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"192.168.0.0/28\"}",
        400, "invalid",
        "Invalid value for field 'resource.ipCidrRange': '192.168.0.0/28'. "
        "Invalid IPCidrRange: 192.168.0.0/28 conflicts with existing "
        "subnetwork 'edv-s1' in region 'us-central1'.");
  /* The same range in another network is fine. */
  ok(f, "POST", NET,
     "{\"name\":\"other-net\",\"autoCreateSubnetworks\":"
     "false}");
  ok(f, "POST", SUB,
     "{\"name\":\"other-s\",\"network\":\"global/networks/other-net\","
     "\"ipCidrRange\":\"192.168.0.0/24\"}");
  /* A missing network is 404 for the reference. */
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/nope\","
        "\"ipCidrRange\":\"10.0.0.0/24\"}",
        404, "notFound",
        "The resource 'projects/edv-sim/global/networks/nope' was not found");
  /* Bad ranges. */
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"10.0.0.1/24\"}",
        400, "invalid", NULL);
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"10.0.0.0/30\"}",
        400, "invalid", NULL);
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"fd00::/64\"}",
        400, "invalid", NULL);
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/edv-net\"}", 400,
        "required", "Required field 'resource.ipCidrRange' not specified");
  /* Auto-mode networks keep 10.128.0.0/9 for themselves. */
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/auto-net\","
        "\"ipCidrRange\":\"10.130.0.0/20\"}",
        400, "invalid", NULL);
  ok(f, "POST", SUB,
     "{\"name\":\"auto-s\",\"network\":\"global/networks/auto-net\","
     "\"ipCidrRange\":\"172.16.0.0/24\"}");
  /* Names, duplicates, unknown fields (top level and nested). */
  fails(f, "POST", SUB,
        "{\"name\":\"Edv_S\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"10.0.0.0/24\"}",
        400, "invalid",
        "Invalid value for field 'resource.name': 'Edv_S'. Must be a match "
        "of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s1\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"10.9.0.0/24\"}",
        409, "alreadyExists",
        "The resource 'projects/edv-sim/regions/us-central1/subnetworks/"
        "edv-s1' already exists");
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"bogus\":1,\"network\":\"global/networks/"
        "edv-net\",\"ipCidrRange\":\"10.0.0.0/24\"}",
        400, "invalid",
        "Invalid JSON payload received. Unknown name \"bogus\" at "
        "'resource': Cannot find field.");
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"10.0.0.0/24\",\"secondaryIpRanges\":[{"
        "\"rangeName\":\"a\",\"ipCidrRange\":\"10.1.0.0/24\",\"x\":1}]}",
        400, "invalid",
        "Invalid JSON payload received. Unknown name \"x\" at "
        "'resource.secondaryIpRanges[0]': Cannot find field.");
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s3\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"10.0.0.0/24\",\"privateIpGoogleAccess\":\"yes\"}",
        400, "invalid", NULL);
  fails(f, "GET", P "/regions/mars-north1/subnetworks", NULL, 404, "notFound",
        NULL);
  /* The network cannot go while a subnet uses it. */
  fails(f, "DELETE", NET "/edv-net", NULL, 400,
        "resourceInUseByAnotherResource",
        "The network resource 'projects/edv-sim/global/networks/edv-net' is "
        "already being used by 'projects/edv-sim/regions/us-central1/"
        "subnetworks/edv-s1'");
  /* Patch needs the current fingerprint. */
  fails(f, "PATCH", SUB "/edv-s1", "{\"privateIpGoogleAccess\":true}", 412,
        "conditionNotMet", "Invalid fingerprint.");
  fails(f, "PATCH", SUB "/edv-s1",
        "{\"privateIpGoogleAccess\":true,\"fingerprint\":\"c3RhbGU=\"}", 412,
        "conditionNotMet", "Invalid fingerprint.");
  snprintf(body, sizeof(body),
           "{\"privateIpGoogleAccess\":true,\"fingerprint\":\"%s\"}", fp);
  ok(f, "PATCH", SUB "/edv-s1", body);
  get(f, SUB "/edv-s1", &r);
  assert_jeq(r.json, "privateIpGoogleAccess", "true");
  assert_jeq(r.json, "description", "edv-managed");
  assert_string_not_equal(jget(r.json, "fingerprint"), fp);
  snprintf(body, sizeof(body),
           "{\"ipCidrRange\":\"10.0.0.0/24\",\"fingerprint\":\"%s\"}",
           jget(r.json, "fingerprint"));
  reply_free(&r);
  fails(f, "PATCH", SUB "/edv-s1", body, 400, "invalid", NULL);
  /* expandIpCidrRange: only a superset that is free. */
  fails(f, "POST", SUB "/edv-s1/expandIpCidrRange",
        "{\"ipCidrRange\":\"192.168.1.0/24\"}", 400, "invalid", NULL);
  ok(f, "POST", SUB "/edv-s1/expandIpCidrRange",
     "{\"ipCidrRange\":\"192.168.0.0/23\"}");
  get(f, SUB "/edv-s1", &r);
  assert_jeq(r.json, "ipCidrRange", "192.168.0.0/23");
  reply_free(&r);
  /* setPrivateIpGoogleAccess (gcloud subnets update). */
  ok(f, "POST", SUB "/edv-s1/setPrivateIpGoogleAccess",
     "{\"privateIpGoogleAccess\":false}");
  get(f, SUB "/edv-s1", &r);
  assert_jeq(r.json, "privateIpGoogleAccess", "false");
  reply_free(&r);
  fails(f, "POST", SUB "/edv-s1/setPrivateIpGoogleAccess", "{}", 400,
        "required", NULL);
  /* List with a name filter. */
  get(f, SUB "?filter=name%20eq%20%22edv-.*%22", &r);
  assert_int_equal(items(&r), 1);
  assert_jeq(r.json, "kind", "compute#subnetworkList");
  assert_jeq(r.json, "items.0.name", "edv-s1");
  reply_free(&r);
  get(f, SUB, &r);
  assert_int_equal(items(&r), 3);
  reply_free(&r);
  get(f, P "/aggregated/subnetworks?filter=name%20eq%20%22edv-.*%22", &r);
  assert_jeq(r.json, "kind", "compute#subnetworkAggregatedList");
  assert_jeq(r.json, "items.regions/us-central1.subnetworks.0.name", "edv-s1");
  assert_null(jget(r.json, "items.regions/us-central1.subnetworks.1"));
  reply_free(&r);
  /* Delete, then the network goes too and its list is empty. */
  ok(f, "DELETE", SUB "/edv-s1", NULL);
  fails(f, "GET", SUB "/edv-s1", NULL, 404, "notFound",
        "The resource 'projects/edv-sim/regions/us-central1/subnetworks/"
        "edv-s1' was not found");
  get(f, NET "/edv-net", &r);
  assert_int_equal(
      json_object_array_length(json_object_object_get(r.json, "subnetworks")),
      0);
  reply_free(&r);
  ok(f, "DELETE", NET "/edv-net", NULL);
  /* Quota: one subnet per region, Google's text. */
  quota(f, "SUBNETWORKS", "europe-west1", 1);
  ok(f, "POST", SUB_EU,
     "{\"name\":\"q1\",\"network\":\"global/networks/other-net\","
     "\"ipCidrRange\":\"10.5.0.0/24\"}");
  fails(f, "POST", SUB_EU,
        "{\"name\":\"q2\",\"network\":\"global/networks/other-net\","
        "\"ipCidrRange\":\"10.6.0.0/24\"}",
        403, "quotaExceeded",
        "Quota 'SUBNETWORKS' exceeded. Limit: 1.0 in region europe-west1.");
  fx_free(f);
}

/* --- firewalls ---------------------------------------------------------- */

static void test_firewalls(void **state)
{
  simfx *f = fx_new();
  reply r1, r2;
  const char *rid = "?requestId=0f2b7c1e-8d6a-4b3c-9e1f-0a1b2c3d4e5f";
  char path[200];

  (void)state;
  fx_run(f);
  ok(f, "POST", NET, "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  /* requestId: the same operation twice, one firewall. */
  snprintf(path, sizeof(path), FW "%s", rid);
  http(f, "POST", path,
       "{\"name\":\"edv-fw\",\"network\":\"global/networks/edv-net\","
       "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"80\","
       "\"8000-9000\"]}],\"targetTags\":[\"edv-t1\"]}",
       &r1);
  http(f, "POST", path,
       "{\"name\":\"edv-fw\",\"network\":\"global/networks/edv-net\","
       "\"allowed\":[{\"IPProtocol\":\"tcp\"}]}",
       &r2);
  if (r2.status != 200 || r1.status != 200)
    fail_msg("requestId: %ld %s / %ld %s", r1.status, r1.body, r2.status,
             r2.body);
  assert_string_equal(jget(r1.json, "name"), jget(r2.json, "name"));
  wait_op(f, &r1, NULL);
  reply_free(&r1);
  reply_free(&r2);
  get(f, FW "/edv-fw", &r1);
  assert_jeq(r1.json, "kind", "compute#firewall");
  assert_jeq(r1.json, "priority", "1000");
  assert_jeq(r1.json, "direction", "INGRESS");
  assert_jeq(r1.json, "sourceRanges.0", "0.0.0.0/0");
  assert_jeq(r1.json, "allowed.0.ports.1", "8000-9000");
  assert_jeq(r1.json, "disabled", "false");
  reply_free(&r1);
  /* Validation. */
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"priority\":70000,\"allowed\":[{\"IPProtocol\":\"tcp\"}]}",
        400, "invalid", NULL);
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"allowed\":[{\"IPProtocol\":\"tcp\"}],\"denied\":[{\"IPProtocol\":"
        "\"udp\"}]}",
        400, "invalid", NULL);
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\"}", 400,
        "invalid", NULL);
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"allowed\":[{\"IPProtocol\":\"icmp\",\"ports\":[\"22\"]}]}",
        400, "invalid", NULL);
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"allowed\":[{\"IPProtocol\":\"tcp\"}],\"sourceRanges\":["
        "\"300.0.0.0/8\"]}",
        400, "invalid", NULL);
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"direction\":\"SIDEWAYS\",\"allowed\":[{\"IPProtocol\":\"tcp\"}]}",
        400, "invalid", NULL);
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"allowed\":[{\"IPProtocol\":\"tcp\"}],\"targetTags\":[\"a\"],"
        "\"targetServiceAccounts\":[\"x@y\"]}",
        400, "invalid", NULL);
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"network\":\"global/networks/gone\","
        "\"allowed\":[{\"IPProtocol\":\"tcp\"}]}",
        404, "notFound",
        "The resource 'projects/edv-sim/global/networks/gone' was not found");
  /* No network: Google means "default", which this project lacks. */
  fails(f, "POST", FW,
        "{\"name\":\"bad\",\"allowed\":[{\"IPProtocol\":\"tcp\"}]}", 404,
        "notFound",
        "The resource 'projects/edv-sim/global/networks/default' was not "
        "found");
  /* EGRESS defaults its destination. */
  ok(f, "POST", FW,
     "{\"name\":\"edv-deny\",\"network\":\"global/networks/edv-net\","
     "\"direction\":\"EGRESS\",\"priority\":65535,\"denied\":[{"
     "\"IPProtocol\":\"all\"}]}");
  get(f, FW "/edv-deny", &r1);
  assert_jeq(r1.json, "destinationRanges.0", "0.0.0.0/0");
  assert_null(jget(r1.json, "sourceRanges"));
  reply_free(&r1);
  /* The network is in use by the firewalls. */
  fails(f, "DELETE", NET "/edv-net", NULL, 400,
        "resourceInUseByAnotherResource",
        "The network resource 'projects/edv-sim/global/networks/edv-net' is "
        "already being used by 'projects/edv-sim/global/firewalls/"
        "edv-deny'");
  /* Patch merges; update replaces; the network cannot change. */
  ok(f, "PATCH", FW "/edv-fw",
     "{\"priority\":900,\"sourceRanges\":[\"130.211.0.0/22\","
     "\"35.191.0.0/16\"]}");
  get(f, FW "/edv-fw", &r1);
  assert_jeq(r1.json, "priority", "900");
  assert_jeq(r1.json, "sourceRanges.1", "35.191.0.0/16");
  assert_jeq(r1.json, "targetTags.0", "edv-t1");
  reply_free(&r1);
  ok(f, "PUT", FW "/edv-fw",
     "{\"name\":\"edv-fw\",\"network\":\"global/networks/edv-net\","
     "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"443\"]}]}");
  get(f, FW "/edv-fw", &r1);
  assert_jeq(r1.json, "priority", "1000");
  assert_null(jget(r1.json, "targetTags"));
  assert_jeq(r1.json, "allowed.0.ports.0", "443");
  reply_free(&r1);
  ok(f, "POST", NET, "{\"name\":\"net2\",\"autoCreateSubnetworks\":false}");
  fails(f, "PATCH", FW "/edv-fw", "{\"network\":\"global/networks/net2\"}", 400,
        "invalid", NULL);
  /* List, filter, delete. */
  ok(f, "POST", FW,
     "{\"name\":\"other-fw\",\"network\":\"global/networks/net2\","
     "\"allowed\":[{\"IPProtocol\":\"udp\"}]}");
  get(f, FW "?filter=name%20eq%20%22edv-.*%22", &r1);
  assert_int_equal(items(&r1), 2);
  reply_free(&r1);
  ok(f, "DELETE", FW "/edv-fw", NULL);
  ok(f, "DELETE", FW "/edv-deny", NULL);
  ok(f, "DELETE", NET "/edv-net", NULL);
  fails(f, "DELETE", FW "/edv-fw", NULL, 404, "notFound",
        "The resource 'projects/edv-sim/global/firewalls/edv-fw' was not "
        "found");
  /* Quota, with Google's text. */
  quota(f, "FIREWALLS", NULL, 1);
  fails(f, "POST", FW,
        "{\"name\":\"edv-q\",\"network\":\"global/networks/net2\","
        "\"allowed\":[{\"IPProtocol\":\"tcp\"}]}",
        403, "quotaExceeded",
        "Quota 'FIREWALLS' exceeded. Limit: 1.0 globally.");
  fx_free(f);
}

/* --- routers ------------------------------------------------------------ */

static void test_routers(void **state)
{
  simfx *f = fx_new();
  reply r;

  (void)state;
  fx_run(f);
  ok(f, "POST", NET, "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  ok(f, "POST", SUB,
     "{\"name\":\"edv-s1\",\"network\":\"global/networks/edv-net\","
     "\"ipCidrRange\":\"10.0.0.0/24\"}");
  ok(f, "POST", RT,
     "{\"name\":\"edv-router\",\"network\":\"global/networks/edv-net\","
     "\"nats\":[{\"name\":\"edv-nat\",\"natIpAllocateOption\":"
     "\"AUTO_ONLY\",\"sourceSubnetworkIpRangesToNat\":"
     "\"LIST_OF_SUBNETWORKS\",\"subnetworks\":[{\"name\":\"regions/"
     "us-central1/subnetworks/edv-s1\",\"sourceIpRangesToNat\":["
     "\"ALL_IP_RANGES\"]}]}]}");
  get(f, RT "/edv-router", &r);
  assert_jeq(r.json, "kind", "compute#router");
  assert_jeq(r.json, "nats.0.name", "edv-nat");
  assert_non_null(strstr(jget(r.json, "nats.0.subnetworks.0.name"),
                         "/projects/edv-sim/regions/us-central1/"
                         "subnetworks/edv-s1"));
  reply_free(&r);
  fails(f, "POST", RT,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"nats\":[{\"name\":\"n\",\"natIpAllocateOption\":\"SOMETIMES\","
        "\"sourceSubnetworkIpRangesToNat\":\"ALL_SUBNETWORKS_ALL_IP_"
        "RANGES\"}]}",
        400, "invalid", NULL);
  fails(f, "POST", RT,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"nats\":[{\"name\":\"n\",\"natIpAllocateOption\":\"AUTO_ONLY\","
        "\"sourceSubnetworkIpRangesToNat\":\"LIST_OF_SUBNETWORKS\"}]}",
        400, "required", NULL);
  fails(f, "POST", RT,
        "{\"name\":\"bad\",\"network\":\"global/networks/edv-net\","
        "\"nats\":[{\"name\":\"n\",\"natIpAllocateOption\":\"MANUAL_ONLY\","
        "\"sourceSubnetworkIpRangesToNat\":\"ALL_SUBNETWORKS_ALL_IP_"
        "RANGES\"}]}",
        400, "required", NULL);
  fails(f, "POST", RT, "{\"name\":\"bad\"}", 400, "required",
        "Required field 'resource.network' not specified");
  /* The subnet is used by the router's NAT; the network by both. */
  fails(f, "DELETE", SUB "/edv-s1", NULL, 400, "resourceInUseByAnotherResource",
        "The subnetwork resource 'projects/edv-sim/regions/us-central1/"
        "subnetworks/edv-s1' is already being used by 'projects/edv-sim/"
        "regions/us-central1/routers/edv-router'");
  ok(f, "PATCH", RT "/edv-router", "{\"nats\":[]}");
  ok(f, "DELETE", SUB "/edv-s1", NULL);
  quota(f, "ROUTERS", "us-central1", 1);
  fails(f, "POST", RT,
        "{\"name\":\"edv-r2\",\"network\":\"global/networks/edv-net\"}", 403,
        "quotaExceeded",
        "Quota 'ROUTERS' exceeded. Limit: 1.0 in region us-central1.");
  ok(f, "DELETE", RT "/edv-router", NULL);
  ok(f, "DELETE", NET "/edv-net", NULL);
  fx_free(f);
}

/* --- addresses ---------------------------------------------------------- */

static void test_addresses(void **state)
{
  simfx *f = fx_new();
  reply r;
  char body[300], lfp[64];

  (void)state;
  fx_run(f);
  ok(f, "POST", GADDR,
     "{\"name\":\"edv-ip\",\"labels\":{\"edv-managed\":\"true\"}}");
  get(f, GADDR "/edv-ip", &r);
  assert_jeq(r.json, "kind", "compute#address");
  assert_jeq(r.json, "address", "203.0.113.1");
  assert_jeq(r.json, "addressType", "EXTERNAL");
  assert_jeq(r.json, "status", "RESERVED");
  assert_jeq(r.json, "networkTier", "PREMIUM");
  assert_jeq(r.json, "labels.edv-managed", "true");
  snprintf(lfp, sizeof(lfp), "%s", jget(r.json, "labelFingerprint"));
  reply_free(&r);
  ok(f, "POST", RADDR, "{\"name\":\"edv-rip\"}");
  get(f, RADDR "/edv-rip", &r);
  assert_jeq(r.json, "address", "198.51.100.1");
  assert_non_null(strstr(jget(r.json, "region"), "/regions/us-central1"));
  reply_free(&r);
  /* setLabels needs the current labelFingerprint. */
  fails(f, "POST", GADDR "/edv-ip/setLabels",
        "{\"labels\":{\"a\":\"b\"},\"labelFingerprint\":\"c3RhbGU=\"}", 412,
        "conditionNotMet",
        "Labels fingerprint either invalid or resource labels have changed");
  fails(f, "POST", GADDR "/edv-ip/setLabels",
        "{\"labels\":{\"A\":\"b\"},\"labelFingerprint\":\"x\"}", 412,
        "conditionNotMet", NULL);
  snprintf(body, sizeof(body),
           "{\"labels\":{\"edv-tenant\":\"t1\"},\"labelFingerprint\":\"%s\"}",
           lfp);
  ok(f, "POST", GADDR "/edv-ip/setLabels", body);
  get(f, GADDR "/edv-ip", &r);
  assert_jeq(r.json, "labels.edv-tenant", "t1");
  assert_null(jget(r.json, "labels.edv-managed"));
  assert_string_not_equal(jget(r.json, "labelFingerprint"), lfp);
  reply_free(&r);
  fails(f, "POST", GADDR, "{\"name\":\"bad\",\"labels\":{\"Bad\":\"x\"}}", 400,
        "invalid", NULL);
  /* Private services access: a /16 of the network that avoids its
   * subnets. */
  ok(f, "POST", NET, "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  ok(f, "POST", SUB,
     "{\"name\":\"edv-s1\",\"network\":\"global/networks/edv-net\","
     "\"ipCidrRange\":\"10.0.0.0/24\"}");
  ok(f, "POST", GADDR,
     "{\"name\":\"edv-psa\",\"addressType\":\"INTERNAL\",\"purpose\":"
     "\"VPC_PEERING\",\"prefixLength\":16,\"network\":\"global/networks/"
     "edv-net\"}");
  get(f, GADDR "/edv-psa", &r);
  assert_jeq(r.json, "address", "10.1.0.0");
  assert_jeq(r.json, "prefixLength", "16");
  assert_jeq(r.json, "purpose", "VPC_PEERING");
  reply_free(&r);
  /* A subnet may not take part of it; nor may another range. */
  fails(f, "POST", SUB,
        "{\"name\":\"edv-s2\",\"network\":\"global/networks/edv-net\","
        "\"ipCidrRange\":\"10.1.4.0/24\"}",
        400, "invalid", NULL);
  fails(f, "POST", GADDR,
        "{\"name\":\"edv-psa2\",\"addressType\":\"INTERNAL\",\"purpose\":"
        "\"VPC_PEERING\",\"prefixLength\":20,\"address\":\"10.1.16.0\","
        "\"network\":\"global/networks/edv-net\"}",
        400, "invalid", NULL);
  fails(f, "POST", GADDR,
        "{\"name\":\"edv-psa2\",\"addressType\":\"INTERNAL\",\"purpose\":"
        "\"VPC_PEERING\",\"network\":\"global/networks/edv-net\"}",
        400, "required", NULL);
  fails(f, "POST", GADDR,
        "{\"name\":\"edv-psa2\",\"addressType\":\"INTERNAL\",\"purpose\":"
        "\"VPC_PEERING\",\"prefixLength\":16}",
        400, "required", NULL);
  /* An internal regional address comes from its subnet. */
  ok(f, "POST", RADDR,
     "{\"name\":\"edv-int\",\"addressType\":\"INTERNAL\",\"subnetwork\":"
     "\"regions/us-central1/subnetworks/edv-s1\"}");
  get(f, RADDR "/edv-int", &r);
  assert_jeq(r.json, "address", "10.0.0.2");
  reply_free(&r);
  /* The network is used by the range too. */
  fails(f, "DELETE", NET "/edv-net", NULL, 400,
        "resourceInUseByAnotherResource", NULL);
  /* Static address quota. */
  quota(f, "STATIC_ADDRESSES", NULL, 1);
  fails(f, "POST", GADDR, "{\"name\":\"edv-ip2\"}", 403, "quotaExceeded",
        "Quota 'STATIC_ADDRESSES' exceeded. Limit: 1.0 globally.");
  get(f, GADDR "?filter=name%20eq%20%22edv-.*%22", &r);
  assert_int_equal(items(&r), 2);
  reply_free(&r);
  get(f, P "/aggregated/addresses", &r);
  assert_jeq(r.json, "items.global.addresses.0.name", "edv-ip");
  assert_jeq(r.json, "items.regions/us-central1.addresses.0.name", "edv-int");
  reply_free(&r);
  ok(f, "DELETE", GADDR "/edv-ip", NULL);
  ok(f, "POST", GADDR, "{\"name\":\"edv-ip2\"}");
  fx_free(f);
}

/* --- load balancing ----------------------------------------------------- */

/* Resources of other modules, put before the loop runs. */
static void seed_others(simfx *f)
{
  sim *s = edv__sim_core(f->es);

  sim_store_put(s,
                "projects/edv-sim/zones/us-central1-a/instanceGroups/"
                "edv-ig",
                "compute#instanceGroup",
                json_tokener_parse("{\"name\":\"edv-ig\"}"));
  sim_store_put(s, "projects/edv-sim/locations/global/certificateMaps/edv-map",
                "certificatemanager.certificateMap",
                json_tokener_parse("{\"name\":\"projects/edv-sim/locations/"
                                   "global/certificateMaps/edv-map\"}"));
  sim_store_put(s, "projects/edv-sim/locations/global/certificateMaps/map2",
                "certificatemanager.certificateMap",
                json_tokener_parse("{\"name\":\"projects/edv-sim/locations/"
                                   "global/certificateMaps/map2\"}"));
}

#define CMAP "//certificatemanager.googleapis.com/projects/edv-sim/locations/"

static void lb_health_and_backends(simfx *f)
{
  reply r;

  ok(f, "POST", HC,
     "{\"name\":\"edv-hc\",\"type\":\"HTTP\",\"checkIntervalSec\":30,"
     "\"timeoutSec\":10,\"httpHealthCheck\":{\"port\":80,\"requestPath\":"
     "\"/health\"},\"description\":\"edv-managed\"}");
  get(f, HC "/edv-hc", &r);
  assert_jeq(r.json, "kind", "compute#healthCheck");
  assert_jeq(r.json, "httpHealthCheck.requestPath", "/health");
  assert_jeq(r.json, "healthyThreshold", "2");
  reply_free(&r);
  ok(f, "POST", HC, "{\"name\":\"hc-defaults\",\"type\":\"HTTP\"}");
  get(f, HC "/hc-defaults", &r);
  assert_jeq(r.json, "checkIntervalSec", "5");
  assert_jeq(r.json, "timeoutSec", "5");
  assert_jeq(r.json, "httpHealthCheck.port", "80");
  assert_jeq(r.json, "httpHealthCheck.requestPath", "/");
  reply_free(&r);
  fails(f, "POST", HC,
        "{\"name\":\"bad\",\"type\":\"HTTP\",\"checkIntervalSec\":5,"
        "\"timeoutSec\":10}",
        400, "invalid", NULL);
  fails(f, "POST", HC, "{\"name\":\"bad\"}", 400, "required", NULL);
  fails(f, "POST", HC,
        "{\"name\":\"bad\",\"type\":\"HTTP\",\"httpHealthCheck\":{"
        "\"port\":80,\"nope\":1}}",
        400, "invalid",
        "Invalid JSON payload received. Unknown name \"nope\" at "
        "'resource.httpHealthCheck': Cannot find field.");
  ok(f, "PUT", HC "/hc-defaults",
     "{\"name\":\"hc-defaults\",\"type\":\"TCP\",\"tcpHealthCheck\":{"
     "\"port\":22}}");
  /* Backend services. */
  fails(f, "POST", BS,
        "{\"name\":\"bad\",\"healthChecks\":[\"global/healthChecks/nope\"]}",
        404, "notFound",
        "The resource 'projects/edv-sim/global/healthChecks/nope' was not "
        "found");
  fails(f, "POST", BS,
        "{\"name\":\"bad\",\"healthChecks\":[\"global/healthChecks/edv-hc\"],"
        "\"backends\":[{\"group\":\"zones/us-central1-a/instanceGroups/"
        "nope\"}]}",
        404, "notFound", NULL);
  fails(f, "POST", BS,
        "{\"name\":\"bad\",\"backends\":[{\"group\":\"zones/us-central1-a/"
        "instanceGroups/edv-ig\"}]}",
        400, "invalid", NULL);
  ok(f, "POST", BS,
     "{\"name\":\"edv-bs\",\"protocol\":\"HTTP\",\"portName\":\"http\","
     "\"loadBalancingScheme\":\"EXTERNAL_MANAGED\",\"healthChecks\":["
     "\"global/healthChecks/edv-hc\"],\"backends\":[{\"group\":\"zones/"
     "us-central1-a/instanceGroups/edv-ig\",\"balancingMode\":"
     "\"UTILIZATION\"}]}");
  ok(f, "POST", BS,
     "{\"name\":\"edv-bs2\",\"loadBalancingScheme\":\"EXTERNAL_MANAGED\","
     "\"healthChecks\":[\"global/healthChecks/edv-hc\"]}");
  get(f, BS "/edv-bs", &r);
  assert_jeq(r.json, "kind", "compute#backendService");
  assert_non_null(jget(r.json, "fingerprint"));
  assert_non_null(strstr(jget(r.json, "backends.0.group"),
                         "/zones/us-central1-a/instanceGroups/edv-ig"));
  reply_free(&r);
  /* compute_int.h's view of it. */
  fails(f, "PATCH", BS "/edv-bs", "{\"timeoutSec\":60}", 412, "conditionNotMet",
        "Invalid fingerprint.");
  /* The health check is used by both backend services. */
  fails(f, "DELETE", HC "/edv-hc", NULL, 400, "resourceInUseByAnotherResource",
        "The health_check resource 'projects/edv-sim/global/healthChecks/"
        "edv-hc' is already being used by 'projects/edv-sim/global/"
        "backendServices/edv-bs'");
}

static void lb_url_maps(simfx *f)
{
  reply r;
  char body[1024], fp[64];

  fails(f, "POST", UM,
        "{\"name\":\"bad\",\"defaultService\":\"global/backendServices/"
        "edv-bs\",\"hostRules\":[{\"hosts\":[\"t1.edvirons.com\"],"
        "\"pathMatcher\":\"pm-t1\"}],\"pathMatchers\":[{\"name\":\"pm-t2\","
        "\"defaultService\":\"global/backendServices/edv-bs\"}]}",
        400, "invalid", NULL);
  fails(f, "POST", UM,
        "{\"name\":\"bad\",\"defaultService\":\"global/backendServices/"
        "nope\"}",
        400, "invalid", NULL);
  fails(f, "POST", UM, "{\"name\":\"bad\"}", 400, "required", NULL);
  ok(f, "POST", UM,
     "{\"name\":\"edv-lb\",\"defaultService\":\"global/backendServices/"
     "edv-bs2\",\"hostRules\":[{\"hosts\":[\"t1.edvirons.com\"],"
     "\"pathMatcher\":\"pm-t1\"}],\"pathMatchers\":[{\"name\":\"pm-t1\","
     "\"defaultService\":\"global/backendServices/edv-bs\"}]}");
  get(f, UM "/edv-lb", &r);
  assert_jeq(r.json, "kind", "compute#urlMap");
  snprintf(fp, sizeof(fp), "%s", jget(r.json, "fingerprint"));
  assert_int_equal(strlen(fp), 12);
  reply_free(&r);
  /* A stale fingerprint gets 412; the fresh one works and changes. */
  fails(f, "PATCH", UM "/edv-lb",
        "{\"fingerprint\":\"AAAAAAAAAAA=\",\"hostRules\":[]}", 412,
        "conditionNotMet", "Invalid fingerprint.");
  fails(f, "PUT", UM "/edv-lb",
        "{\"name\":\"edv-lb\",\"fingerprint\":\"AAAAAAAAAAA=\","
        "\"defaultService\":\"global/backendServices/edv-bs\"}",
        412, "conditionNotMet", "Invalid fingerprint.");
  /* gcloud sends the fingerprint back in URL-safe base64. */
  {
    char safe[64];

    snprintf(safe, sizeof(safe), "%s", fp);
    for (char *p = safe; *p; p++)
      *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    snprintf(body, sizeof(body),
             "{\"fingerprint\":\"%s\",\"hostRules\":[{\"hosts\":["
             "\"t1.edvirons.com\"],\"pathMatcher\":\"pm-t1\"},{\"hosts\":["
             "\"t2.edvirons.com\"],\"pathMatcher\":\"pm-t1\"}]}",
             safe);
  }
  ok(f, "PATCH", UM "/edv-lb", body);
  get(f, UM "/edv-lb", &r);
  assert_jeq(r.json, "hostRules.1.hosts.0", "t2.edvirons.com");
  assert_string_not_equal(jget(r.json, "fingerprint"), fp);
  /* The old fingerprint is stale now. */
  snprintf(body, sizeof(body), "{\"fingerprint\":\"%s\",\"hostRules\":[]}", fp);
  fails(f, "PATCH", UM "/edv-lb", body, 412, "conditionNotMet", NULL);
  /* A host rule pointing at a missing path matcher; a host twice. */
  snprintf(body, sizeof(body),
           "{\"fingerprint\":\"%s\",\"hostRules\":[{\"hosts\":[\"x\"],"
           "\"pathMatcher\":\"pm-zz\"}]}",
           jget(r.json, "fingerprint"));
  fails(f, "PATCH", UM "/edv-lb", body, 400, "invalid",
        "Invalid value for field 'resource.hostRules[0].pathMatcher': "
        "'pm-zz'. The path matcher 'pm-zz' does not exist in this URL map.");
  snprintf(body, sizeof(body),
           "{\"fingerprint\":\"%s\",\"hostRules\":[{\"hosts\":[\"x\"],"
           "\"pathMatcher\":\"pm-t1\"},{\"hosts\":[\"x\"],\"pathMatcher\":"
           "\"pm-t1\"}]}",
           jget(r.json, "fingerprint"));
  fails(f, "PATCH", UM "/edv-lb", body, 400, "invalid", NULL);
  reply_free(&r);
  /* The backend service is used by the URL map. */
  fails(f, "DELETE", BS "/edv-bs", NULL, 400, "resourceInUseByAnotherResource",
        "The backend_service resource 'projects/edv-sim/global/"
        "backendServices/edv-bs' is already being used by 'projects/"
        "edv-sim/global/urlMaps/edv-lb'");
}

/* A URL map body with n host rules whose default service is bs. */
static char *big_map(const char *name, const char *bs, size_t n)
{
  size_t cap = n * 160 + 512, len;
  char *body = malloc(cap);

  assert_non_null(body);
  len = (size_t)snprintf(body, cap,
                         "{\"name\":\"%s\",\"defaultService\":\"global/"
                         "backendServices/%s\",\"pathMatchers\":[{"
                         "\"name\":\"pm\",\"defaultService\":\"global/"
                         "backendServices/%s\"}],\"hostRules\":[",
                         name, bs, bs);
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(body + len, cap - len,
                            "%s{\"hosts\":[\"tenant-%06zu-with-a-long-name-"
                            "for-size.edvirons.com\"],\"description\":"
                            "\"padding-padding-padding-padding-padding\","
                            "\"pathMatcher\":\"pm\"}",
                            i ? "," : "", i);
  snprintf(body + len, cap - len, "]}");
  return body;
}

/* URL map size limits: 1 MB, or 64 KB for the classic load balancer. */
static void lb_url_map_size(simfx *f)
{
  char *body = big_map("edv-big", "edv-bs2", 9000);

  assert_true(strlen(body) > 1024 * 1024);
  fails(f, "POST", UM, body, 400, "invalid", NULL);
  free(body);
  ok(f, "POST", BS,
     "{\"name\":\"classic\",\"loadBalancingScheme\":\"EXTERNAL\"}");
  body = big_map("edv-mid", "classic", 700);
  assert_true(strlen(body) > 64 * 1024);
  fails(f, "POST", UM, body, 400, "invalid", NULL);
  free(body);
  body = big_map("edv-mid", "edv-bs2", 700);
  ok(f, "POST", UM, body);
  free(body);
  ok(f, "DELETE", UM "/edv-mid", NULL);
  ok(f, "DELETE", BS "/classic", NULL);
}

static void lb_proxies(simfx *f)
{
  reply r;

  fails(f, "POST", PX,
        "{\"name\":\"bad\",\"urlMap\":\"global/urlMaps/edv-lb\"}", 400,
        "invalid", NULL);
  fails(f, "POST", PX,
        "{\"name\":\"bad\",\"urlMap\":\"global/urlMaps/nope\",\"sslCertificates"
        "\":[\"global/sslCertificates/c\"]}",
        404, "notFound", NULL);
  fails(f, "POST", PX,
        "{\"name\":\"bad\",\"urlMap\":\"global/urlMaps/edv-lb\","
        "\"certificateMap\":\"//certificatemanager.googleapis.com/"
        "certificateMaps/edv-map\"}",
        400, "invalid", NULL);
  fails(f, "POST", PX,
        "{\"name\":\"bad\",\"urlMap\":\"global/urlMaps/edv-lb\","
        "\"certificateMap\":\"" CMAP "global/certificateMaps/nope\"}",
        404, "notFound", NULL);
  ok(f, "POST", PX,
     "{\"name\":\"edv-px\",\"urlMap\":\"global/urlMaps/edv-lb\","
     "\"sslCertificates\":[\"global/sslCertificates/legacy\"]}");
  /* gcloud sends the REST URL; it is stored in the documented form. */
  ok(f, "POST", PX,
     "{\"name\":\"edv-px-map\",\"urlMap\":\"global/urlMaps/edv-lb\","
     "\"certificateMap\":\"https://certificatemanager.googleapis.com/v1/"
     "projects/edv-sim/locations/global/certificateMaps/edv-map\"}");
  get(f, PX "/edv-px-map", &r);
  assert_jeq(r.json, "kind", "compute#targetHttpsProxy");
  assert_jeq(r.json, "certificateMap", CMAP "global/certificateMaps/edv-map");
  assert_jeq(r.json, "quicOverride", "NONE");
  reply_free(&r);
  /* setCertificateMap on the proxy with certificates; clearing the map of
   * a proxy without certificates is refused. */
  ok(f, "POST", PX "/edv-px/setCertificateMap",
     "{\"certificateMap\":\"" CMAP "global/certificateMaps/map2\"}");
  get(f, PX "/edv-px", &r);
  assert_jeq(r.json, "certificateMap", CMAP "global/certificateMaps/map2");
  reply_free(&r);
  fails(f, "POST", PX "/edv-px-map/setCertificateMap", "{}", 400, "invalid",
        NULL);
  fails(f, "POST", PX "/edv-px/setCertificateMap", "{\"map\":\"x\"}", 400,
        "invalid", NULL);
  /* setUrlMap (its discovery path has no /global). */
  ok(f, "POST", UM,
     "{\"name\":\"edv-lb2\",\"defaultService\":\"global/backendServices/"
     "edv-bs2\"}");
  ok(f, "POST", P "/targetHttpsProxies/edv-px/setUrlMap",
     "{\"urlMap\":\"global/urlMaps/edv-lb2\"}");
  get(f, PX "/edv-px", &r);
  assert_non_null(strstr(jget(r.json, "urlMap"), "/global/urlMaps/edv-lb2"));
  reply_free(&r);
  fails(f, "DELETE", UM "/edv-lb", NULL, 400, "resourceInUseByAnotherResource",
        "The url_map resource 'projects/edv-sim/global/urlMaps/edv-lb' is "
        "already being used by 'projects/edv-sim/global/targetHttpsProxies/"
        "edv-px-map'");
}

static void lb_forwarding(simfx *f)
{
  reply r;

  ok(f, "POST", GADDR, "{\"name\":\"edv-lb-ip\"}");
  fails(f, "POST", FR,
        "{\"name\":\"bad\",\"IPAddress\":\"global/addresses/nope\","
        "\"target\":\"global/targetHttpsProxies/edv-px-map\"}",
        404, "notFound", NULL);
  fails(f, "POST", FR,
        "{\"name\":\"bad\",\"target\":\"global/targetHttpsProxies/nope\"}", 404,
        "notFound", NULL);
  fails(f, "POST", FR,
        "{\"name\":\"bad\",\"IPAddress\":\"192.0.2.9\",\"target\":\"global/"
        "targetHttpsProxies/edv-px-map\"}",
        400, "invalid", NULL);
  fails(f, "POST", FR,
        "{\"name\":\"bad\",\"portRange\":\"443-80\",\"target\":\"global/"
        "targetHttpsProxies/edv-px-map\"}",
        400, "invalid", NULL);
  ok(f, "POST", FR,
     "{\"name\":\"edv-https\",\"IPAddress\":\"global/addresses/edv-lb-ip\","
     "\"portRange\":\"443\",\"target\":\"global/targetHttpsProxies/"
     "edv-px-map\",\"loadBalancingScheme\":\"EXTERNAL_MANAGED\","
     "\"labels\":{\"edv-managed\":\"true\"}}");
  get(f, FR "/edv-https", &r);
  assert_jeq(r.json, "kind", "compute#forwardingRule");
  assert_jeq(r.json, "IPAddress", "203.0.113.1");
  assert_jeq(r.json, "portRange", "443-443");
  assert_jeq(r.json, "IPProtocol", "TCP");
  assert_jeq(r.json, "labels.edv-managed", "true");
  reply_free(&r);
  get(f, GADDR "/edv-lb-ip", &r);
  assert_jeq(r.json, "status", "IN_USE");
  assert_non_null(
      strstr(jget(r.json, "users.0"), "/global/forwardingRules/edv-https"));
  reply_free(&r);
  /* The same IP and port again; an ephemeral IP is fine. */
  fails(f, "POST", FR,
        "{\"name\":\"dup\",\"IPAddress\":\"203.0.113.1\",\"portRange\":"
        "\"443-443\",\"target\":\"global/targetHttpsProxies/edv-px\","
        "\"loadBalancingScheme\":\"EXTERNAL_MANAGED\"}",
        400, "invalid",
        "Invalid value for field 'resource.IPAddress': '203.0.113.1'. The IP "
        "address and port range are already used by 'projects/edv-sim/global/"
        "forwardingRules/edv-https'.");
  fails(f, "POST", FR,
        "{\"name\":\"edv-eph\",\"portRange\":\"443-443\",\"target\":"
        "\"global/targetHttpsProxies/edv-px\"}",
        400, "invalid",
        "Invalid value for field 'resource.loadBalancingScheme': 'EXTERNAL'. "
        "The backend service behind the target proxy uses load balancing "
        "scheme EXTERNAL_MANAGED.");
  ok(f, "POST", FR,
     "{\"name\":\"edv-eph\",\"portRange\":\"443-443\",\"target\":\"global/"
     "targetHttpsProxies/edv-px\",\"loadBalancingScheme\":"
     "\"EXTERNAL_MANAGED\"}");
  get(f, FR "/edv-eph", &r);
  assert_jeq(r.json, "IPAddress", "203.0.113.2");
  reply_free(&r);
  /* In use: address, proxy. */
  fails(f, "DELETE", GADDR "/edv-lb-ip", NULL, 400,
        "resourceInUseByAnotherResource",
        "The address resource 'projects/edv-sim/global/addresses/edv-lb-ip' "
        "is already being used by 'projects/edv-sim/global/forwardingRules/"
        "edv-https'");
  fails(f, "DELETE", PX "/edv-px-map", NULL, 400,
        "resourceInUseByAnotherResource",
        "The target_https_proxy resource 'projects/edv-sim/global/"
        "targetHttpsProxies/edv-px-map' is already being used by "
        "'projects/edv-sim/global/forwardingRules/edv-https'");
  /* setLabels on a forwarding rule. */
  get(f, FR "/edv-https", &r);
  {
    char body[200];

    snprintf(body, sizeof(body),
             "{\"labels\":{\"edv-tenant\":\"platform\"},"
             "\"labelFingerprint\":\"%s\"}",
             jget(r.json, "labelFingerprint"));
    ok(f, "POST", FR "/edv-https/setLabels", body);
  }
  reply_free(&r);
  get(f, FR "?filter=labels.edv-tenant%20%3D%20platform", &r);
  assert_int_equal(items(&r), 1);
  reply_free(&r);
  get(f, P "/aggregated/forwardingRules", &r);
  assert_jeq(r.json, "kind", "compute#forwardingRuleAggregatedList");
  assert_jeq(r.json, "items.global.forwardingRules.0.name", "edv-eph");
  assert_jeq(r.json, "items.global.forwardingRules.1.name", "edv-https");
  reply_free(&r);
  quota(f, "FORWARDING_RULES", NULL, 2);
  fails(f, "POST", FR,
        "{\"name\":\"edv-q\",\"portRange\":\"80\",\"target\":\"global/"
        "targetHttpsProxies/edv-px\",\"loadBalancingScheme\":"
        "\"EXTERNAL_MANAGED\"}",
        403, "quotaExceeded",
        "Quota 'FORWARDING_RULES' exceeded. Limit: 2.0 globally.");
}

static void test_load_balancing(void **state)
{
  simfx *f = fx_new();
  reply r;

  (void)state;
  seed_others(f);
  fx_run(f);
  lb_health_and_backends(f);
  lb_url_maps(f);
  lb_url_map_size(f);
  lb_proxies(f);
  lb_forwarding(f);
  /* Everything goes, in dependency order, and the address is free. */
  ok(f, "DELETE", FR "/edv-https", NULL);
  get(f, GADDR "/edv-lb-ip", &r);
  assert_jeq(r.json, "status", "RESERVED");
  assert_null(jget(r.json, "users"));
  reply_free(&r);
  ok(f, "DELETE", GADDR "/edv-lb-ip", NULL);
  ok(f, "DELETE", FR "/edv-eph", NULL);
  ok(f, "DELETE", PX "/edv-px-map", NULL);
  ok(f, "DELETE", PX "/edv-px", NULL);
  ok(f, "DELETE", UM "/edv-lb", NULL);
  ok(f, "DELETE", UM "/edv-lb2", NULL);
  ok(f, "DELETE", BS "/edv-bs", NULL);
  ok(f, "DELETE", BS "/edv-bs2", NULL);
  ok(f, "DELETE", HC "/edv-hc", NULL);
  get(f, HC, &r);
  assert_int_equal(items(&r), 1);
  reply_free(&r);
  fx_free(f);
}

/* --- globalForwardingRules.setTarget ------------------------------------ */

/*
 * setTarget moves a rule to another target HTTPS proxy and nothing else
 * (address, ports, labels stay; the fingerprint changes); the target must
 * exist, be a global target proxy, and serve the rule's load balancing
 * scheme; a repeated requestId gets the first operation back.
 */
static void test_set_target(void **state)
{
  simfx *f = fx_new();
  reply r, r2;
  char fp[64], op[200];

  (void)state;
  seed_others(f);
  fx_run(f);
  ok(f, "POST", HC, "{\"name\":\"st-hc\",\"type\":\"HTTP\"}");
  ok(f, "POST", BS,
     "{\"name\":\"st-bs\",\"loadBalancingScheme\":\"EXTERNAL_MANAGED\","
     "\"healthChecks\":[\"global/healthChecks/st-hc\"]}");
  ok(f, "POST", BS,
     "{\"name\":\"st-classic\",\"loadBalancingScheme\":\"EXTERNAL\","
     "\"healthChecks\":[\"global/healthChecks/st-hc\"]}");
  ok(f, "POST", UM,
     "{\"name\":\"st-um\",\"defaultService\":\"global/backendServices/"
     "st-bs\"}");
  ok(f, "POST", UM,
     "{\"name\":\"st-um-classic\",\"defaultService\":\"global/"
     "backendServices/st-classic\"}");
  ok(f, "POST", PX,
     "{\"name\":\"st-px1\",\"urlMap\":\"global/urlMaps/st-um\","
     "\"certificateMap\":\"" CMAP "global/certificateMaps/edv-map\"}");
  ok(f, "POST", PX,
     "{\"name\":\"st-px2\",\"urlMap\":\"global/urlMaps/st-um\","
     "\"certificateMap\":\"" CMAP "global/certificateMaps/map2\"}");
  ok(f, "POST", PX,
     "{\"name\":\"st-px-classic\",\"urlMap\":\"global/urlMaps/st-um-classic\","
     "\"certificateMap\":\"" CMAP "global/certificateMaps/map2\"}");
  ok(f, "POST", FR,
     "{\"name\":\"st-fr\",\"portRange\":\"443\",\"target\":\"global/"
     "targetHttpsProxies/st-px1\",\"loadBalancingScheme\":"
     "\"EXTERNAL_MANAGED\",\"labels\":{\"edv-managed\":\"true\"}}");
  get(f, FR "/st-fr", &r);
  snprintf(fp, sizeof(fp), "%s", jget(r.json, "fingerprint"));
  reply_free(&r);

  /* Errors, each before any operation starts. */
  fails(f, "POST", FR "/nope/setTarget",
        "{\"target\":\"global/targetHttpsProxies/st-px2\"}", 404, "notFound",
        "The resource 'projects/edv-sim/global/forwardingRules/nope' was not "
        "found");
  fails(f, "POST", FR "/st-fr/setTarget", "{}", 400, "required",
        "Required field 'resource.target' not specified");
  fails(f, "POST", FR "/st-fr/setTarget",
        "{\"target\":\"global/targetHttpsProxies/st-px2\",\"targett\":\"x\"}",
        400, "invalid",
        "Invalid JSON payload received. Unknown name \"targett\" at "
        "'resource': Cannot find field.");
  fails(f, "POST", FR "/st-fr/setTarget",
        "{\"target\":\"global/targetHttpsProxies/nope\"}", 404, "notFound",
        "The resource 'projects/edv-sim/global/targetHttpsProxies/nope' was "
        "not found");
  fails(f, "POST", FR "/st-fr/setTarget",
        "{\"target\":\"global/urlMaps/st-um\"}", 400, "invalid",
        "Invalid value for field 'resource.target': 'global/urlMaps/st-um'. "
        "A global forwarding rule must point to a global target proxy.");
  fails(f, "POST", FR "/st-fr/setTarget",
        "{\"target\":\"global/targetHttpProxies/st-px2\"}", 400, "invalid",
        "Invalid value for field 'resource.target': 'global/"
        "targetHttpProxies/st-px2'. The new target must be of the same type "
        "as the current one (targetHttpsProxies).");
  fails(f, "POST", FR "/st-fr/setTarget",
        "{\"target\":\"global/targetHttpsProxies/st-px-classic\"}", 400,
        "invalid",
        "Invalid value for field 'resource.loadBalancingScheme': "
        "'EXTERNAL_MANAGED'. The backend service behind the target proxy "
        "uses load balancing scheme EXTERNAL.");
  get(f, FR "/st-fr", &r);
  assert_non_null(
      strstr(jget(r.json, "target"), "/global/targetHttpsProxies/st-px1"));
  assert_jeq(r.json, "fingerprint", fp);
  reply_free(&r);

  /* Success: a global operation naming the rule; then only the target
   * (and the fingerprint) changed. */
  http(f, "POST",
       FR "/st-fr/setTarget?requestId=7d0c1a7e-5b7e-4c1e-9d6a-0b9e6f1c2a33",
       "{\"target\":\"projects/edv-sim/global/targetHttpsProxies/st-px2\"}",
       &r);
  assert_int_equal(r.status, 200);
  assert_jeq(r.json, "operationType", "setTarget");
  assert_null(jget(r.json, "region"));
  assert_non_null(strstr(jget(r.json, "selfLink"), "/global/operations/"));
  assert_non_null(
      strstr(jget(r.json, "targetLink"), "/global/forwardingRules/st-fr"));
  snprintf(op, sizeof(op), "%s", jget(r.json, "name"));
  wait_op(f, &r, NULL);
  reply_free(&r);
  get(f, FR "/st-fr", &r);
  /* Stored as Google's full link (the simulator's own base URL). */
  assert_int_equal(strncmp(jget(r.json, "target"), "http", 4), 0);
  assert_non_null(strstr(jget(r.json, "target"),
                         "/compute/v1/projects/edv-sim/global/"
                         "targetHttpsProxies/st-px2"));
  assert_jeq(r.json, "IPAddress", "203.0.113.1");
  assert_jeq(r.json, "portRange", "443-443");
  assert_jeq(r.json, "loadBalancingScheme", "EXTERNAL_MANAGED");
  assert_jeq(r.json, "labels.edv-managed", "true");
  assert_string_not_equal(jget(r.json, "fingerprint"), fp);
  reply_free(&r);
  /* The new target is in use by the rule, the old one is free. */
  fails(f, "DELETE", PX "/st-px2", NULL, 400, "resourceInUseByAnotherResource",
        NULL);
  ok(f, "DELETE", PX "/st-px1", NULL);

  /* The same requestId again: the first operation, nothing re-applied
   * (the target named now is gone). */
  http(f, "POST",
       FR "/st-fr/setTarget?requestId=7d0c1a7e-5b7e-4c1e-9d6a-0b9e6f1c2a33",
       "{\"target\":\"global/targetHttpsProxies/st-px1\"}", &r2);
  assert_int_equal(r2.status, 200);
  assert_jeq(r2.json, "name", op);
  assert_jeq(r2.json, "status", "DONE");
  reply_free(&r2);
  fails(f, "POST",
        FR "/st-fr/setTarget?requestId=00000000-0000-0000-0000-000000000000",
        "{\"target\":\"global/targetHttpsProxies/st-px2\"}", 400, "invalid",
        NULL);
  get(f, FR "/st-fr", &r);
  assert_non_null(
      strstr(jget(r.json, "target"), "/global/targetHttpsProxies/st-px2"));
  reply_free(&r);
  fx_free(f);
}

/* --- races between operations ------------------------------------------ */

static void advance(simfx *f, int seconds)
{
  char body[64];
  reply r;

  snprintf(body, sizeof(body), "{\"seconds\":%d}", seconds);
  assert_int_equal(http(f, "POST", "/_sim/clock/advance", body, &r), 200);
  reply_free(&r);
}

/* The operation of r as it is now: its error code or "" when it
 * succeeded; it must be DONE. Malloc'd. */
static char *op_outcome(simfx *f, reply *r)
{
  const char *p = strstr(jget(r->json, "selfLink"), "/compute/v1/");
  const char *code;
  char *out;
  reply o;

  assert_non_null(p);
  get(f, p, &o);
  assert_jeq(o.json, "status", "DONE");
  code = jget(o.json, "error.errors.0.code");
  out = strdup(code ? code : "");
  reply_free(&o);
  return out;
}

/*
 * Two operations accepted together that cannot both succeed: whichever
 * completes second ends in error, and the store stays consistent.
 * Realistic durations on a clock that only moves when advanced, so both
 * are pending when the second is accepted.
 */
static void test_races(void **state)
{
  simfx *f = fx_new_profile("realistic");
  reply a, b, r;
  char *oa, *ob;

  (void)state;
  fx_run(f);
  http(f, "POST", NET,
       "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":"
       "false}",
       &a);
  assert_int_equal(a.status, 200);
  reply_free(&a);
  http(f, "POST", HC, "{\"name\":\"edv-hc\",\"type\":\"HTTP\"}", &a);
  assert_int_equal(a.status, 200);
  reply_free(&a);
  advance(f, 120);
  /* Overlapping subnets in two regions, both accepted. */
  http(f, "POST", SUB,
       "{\"name\":\"edv-a\",\"network\":\"global/networks/edv-net\","
       "\"ipCidrRange\":\"10.0.0.0/24\"}",
       &a);
  http(f, "POST", SUB_EU,
       "{\"name\":\"edv-b\",\"network\":\"global/networks/edv-net\","
       "\"ipCidrRange\":\"10.0.0.0/28\"}",
       &b);
  assert_int_equal(a.status, 200);
  assert_int_equal(b.status, 200);
  advance(f, 120);
  oa = op_outcome(f, &a);
  ob = op_outcome(f, &b);
  assert_true((*oa == '\0') != (*ob == '\0'));
  assert_string_equal(*oa ? oa : ob, "INVALID_USAGE");
  free(oa);
  free(ob);
  reply_free(&a);
  reply_free(&b);
  get(f, P "/aggregated/subnetworks", &r);
  assert_non_null(jget(r.json, "items"));
  assert_int_equal(
      json_object_object_length(json_object_object_get(r.json, "items")), 1);
  reply_free(&r);
  /* A backend service on a health check being deleted. */
  http(f, "POST", BS,
       "{\"name\":\"edv-bs\",\"healthChecks\":[\"global/healthChecks/"
       "edv-hc\"]}",
       &a);
  http(f, "DELETE", HC "/edv-hc", NULL, &b);
  assert_int_equal(a.status, 200);
  assert_int_equal(b.status, 200);
  advance(f, 120);
  oa = op_outcome(f, &a);
  ob = op_outcome(f, &b);
  if (*oa)
    assert_string_equal(oa, "RESOURCE_NOT_FOUND");
  else
    assert_string_equal(ob, "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE");
  assert_true((*oa == '\0') != (*ob == '\0'));
  free(oa);
  free(ob);
  reply_free(&a);
  reply_free(&b);
  fx_free(f);
}

/* An operation running when the simulator stops completes after it starts
 * again from its state file: the payload is JSON and names its collection. */
static void test_restart(void **state)
{
  char dir[64], path[128], cmd[200];
  simfx *f;
  reply r;

  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/edv-simnet-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/state.json", dir);
  f = fx_new_state("realistic", path);
  fx_run(f);
  http(f, "POST", NET,
       "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":"
       "false}",
       &r);
  reply_free(&r);
  advance(f, 120);
  http(f, "POST", FW,
       "{\"name\":\"edv-fw\",\"network\":\"global/networks/edv-net\","
       "\"allowed\":[{\"IPProtocol\":\"tcp\"}]}",
       &r);
  assert_int_equal(r.status, 200);
  assert_jeq(r.json, "status", "PENDING");
  reply_free(&r);
  fx_free(f);
  f = fx_new_state("realistic", path);
  fx_run(f);
  fails(f, "GET", FW "/edv-fw", NULL, 404, "notFound", NULL);
  advance(f, 120);
  get(f, FW "/edv-fw", &r);
  assert_jeq(r.json, "priority", "1000");
  reply_free(&r);
  fx_free(f);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* --- gcloud ------------------------------------------------------------ */

/* Runs gcloud with its own configuration directory against f; returns its
 * exit status and leaves its output (stdout and stderr) in out. */
static int gcloud(simfx *f, const char *cfg, const char *args, char *out,
                  size_t n)
{
  char cmd[1024];
  FILE *p;
  size_t len = 0;
  int status;

  snprintf(cmd, sizeof(cmd),
           "CLOUDSDK_CONFIG='%s' CLOUDSDK_CORE_DISABLE_PROMPTS=1 "
           "CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true "
           "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true "
           "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE="
           "http://127.0.0.1:%u/compute/v1/ gcloud --quiet "
           "--project edv-sim %s 2>&1",
           cfg, f->port, args);
  p = popen(cmd, "r");
  assert_non_null(p);
  while (len + 1 < n && fgets(out + len, (int)(n - len), p))
    len += strlen(out + len);
  out[len] = '\0';
  status = pclose(p);
  return status;
}

static void gcloud_ok(simfx *f, const char *cfg, const char *args)
{
  char out[8192];

  if (gcloud(f, cfg, args, out, sizeof(out)) != 0)
    fail_msg("gcloud %s:\n%s", args, out);
}

/*
 * gcloud, unchanged, against the simulator (skipped when it is not
 * installed): credentials are disabled and the Compute endpoint points
 * here. It reads what it wrote, follows operations, sends fingerprints
 * back in URL-safe base64 (add-path-matcher updates the URL map) and lists
 * through aggregatedList. About 6 s per gcloud run, hence few of them.
 */
static void test_gcloud(void **state)
{
  simfx *f;
  char cfg[64], out[8192], cmd[200];

  (void)state;
  if (system("gcloud --version >/dev/null 2>&1") != 0)
    skip();
  snprintf(cfg, sizeof(cfg), "/tmp/edv-gcloud-XXXXXX");
  assert_non_null(mkdtemp(cfg));
  f = fx_new();
  fx_run(f);
  gcloud_ok(f, cfg, "compute networks create edv-net --subnet-mode=custom");
  gcloud_ok(f, cfg,
            "compute networks subnets create edv-s1 --network edv-net "
            "--region us-central1 --range 10.0.0.0/24");
  assert_int_not_equal(gcloud(f, cfg,
                              "compute networks subnets create edv-s2 "
                              "--network edv-net --region europe-west1 "
                              "--range 10.0.0.0/28",
                              out, sizeof(out)),
                       0);
  assert_non_null(strstr(out, "Invalid IPCidrRange: 10.0.0.0/28 conflicts "
                              "with existing subnetwork 'edv-s1' in region "
                              "'us-central1'."));
  gcloud(f, cfg, "compute networks subnets list '--format=value(name)'", out,
         sizeof(out));
  assert_string_equal(out, "edv-s1\n");
  gcloud_ok(f, cfg,
            "compute health-checks create http edv-hc --port 80 "
            "--request-path /health");
  gcloud_ok(f, cfg,
            "compute backend-services create edv-bs --global --protocol "
            "HTTP --health-checks edv-hc --load-balancing-scheme "
            "EXTERNAL_MANAGED");
  gcloud_ok(f, cfg, "compute url-maps create edv-lb --default-service edv-bs");
  gcloud_ok(f, cfg,
            "compute url-maps add-path-matcher edv-lb --path-matcher-name "
            "pm-t1 --default-service edv-bs --new-hosts t1.edvirons.com");
  fx_free(f);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cfg);
  assert_int_equal(system(cmd), 0);
}

/* compute_int.h, called while the loop thread is not running. */
static void test_internal_api(void **state)
{
  simfx *f = fx_new();
  sim *s = edv__sim_core(f->es);
  json_object *rows;
  char *user;

  (void)state;
  sim_store_put(s, "projects/edv-sim/global/targetHttpsProxies/px",
                "compute#targetHttpsProxy",
                json_tokener_parse("{\"name\":\"px\",\"certificateMap\":\"" CMAP
                                   "global/certificateMaps/m\"}"));
  sim_store_put(s, "projects/edv-sim/global/forwardingRules/fr",
                "compute#forwardingRule",
                json_tokener_parse("{\"name\":\"fr\",\"IPAddress\":"
                                   "\"203.0.113.7\",\"portRange\":"
                                   "\"443-443\",\"target\":\"https://www."
                                   "googleapis.com/compute/v1/projects/"
                                   "edv-sim/global/targetHttpsProxies/px\"}"));
  sim_store_put(s, "projects/edv-sim/global/backendServices/bs",
                "compute#backendService",
                json_tokener_parse("{\"name\":\"bs\",\"healthChecks\":["
                                   "\"projects/edv-sim/global/healthChecks/"
                                   "hc\"]}"));
  rows = sim_compute_forwarding_ips(s);
  assert_int_equal(json_object_array_length(rows), 1);
  assert_jeq(rows, "0.IPAddress", "203.0.113.7");
  assert_jeq(rows, "0.target", "projects/edv-sim/global/targetHttpsProxies/px");
  assert_jeq(rows, "0.certificateMap",
             "projects/edv-sim/locations/global/certificateMaps/m");
  json_object_put(rows);
  assert_int_equal(sim_compute_ip_forwarded(s, "203.0.113.7"), 1);
  assert_int_equal(sim_compute_ip_forwarded(s, "203.0.113.8"), 0);
  user = sim_compute_ref_user(s, "projects/edv-sim/global/"
                                 "targetHttpsProxies/px");
  assert_string_equal(user, "projects/edv-sim/global/forwardingRules/fr");
  free(user);
  user = sim_compute_ref_user(s, "projects/edv-sim/global/healthChecks/hc");
  assert_string_equal(user, "projects/edv-sim/global/backendServices/bs");
  free(user);
  assert_null(sim_compute_ref_user(s, "projects/edv-sim/global/"
                                      "forwardingRules/fr"));
  assert_non_null(sim_compute_backend_service(s, "global/backendServices/"
                                                 "bs"));
  assert_null(sim_compute_health_check(s, "global/healthChecks/hc"));
  assert_null(sim_compute_network_user(s, "nope"));
  fx_run(f);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subnets),
      cmocka_unit_test(test_firewalls),
      cmocka_unit_test(test_routers),
      cmocka_unit_test(test_addresses),
      cmocka_unit_test(test_load_balancing),
      cmocka_unit_test(test_set_target), /* globalForwardingRules.setTarget */
      cmocka_unit_test(test_races),
      cmocka_unit_test(test_restart),
      cmocka_unit_test(test_internal_api),
      cmocka_unit_test(test_gcloud),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
