/*
 * test_dataplane.c - the simulator's data plane (src/sim/dataplane.c): a
 * request whose Host is a hostname of the simulated DNS is answered as the
 * global external Application Load Balancer would (A record -> forwarding
 * rule -> target proxy -> URL map -> backend service -> instance group ->
 * members in the boot model), while the APIs stay where they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

#define CP "/compute/v1/projects/edv-sim"
#define ZA CP "/zones/us-central1-a"

/* GET path with a Host header, no token: what a browser sends. */
static long get_host(simfx *f, const char *host, const char *path, reply *r,
                     char *location, size_t lsize)
{
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  char url[300], hdr[300];
  char *loc = NULL;

  memset(r, 0, sizeof(*r));
  snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
  snprintf(hdr, sizeof(hdr), "Host: %s", host);
  h = curl_slist_append(h, hdr);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  r->result = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  if (location) {
    location[0] = '\0';
    if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
      snprintf(location, lsize, "%s", loc);
  }
  if (r->body)
    r->json = json_tokener_parse(r->body);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r->status;
}

/* The whole stack of one tenant: network, firewall for Google's health
 * check ranges, a VM with a startup script in a group, a health check, a
 * backend service, a URL map with a host rule (unknown hosts redirected),
 * an HTTPS proxy, a forwarding rule and an A record for t1.<domain>. */
static void make_stack(simfx *f, const char *scheme, char *ip, size_t n)
{
  reply r;
  char body[2048], zone[128];

  call_done(f, "POST", CP "/global/networks",
            "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  call_done(f, "POST", CP "/regions/us-central1/subnetworks",
            "{\"name\":\"edv-t1\",\"network\":\"global/networks/edv-net\","
            "\"ipCidrRange\":\"10.10.0.0/28\"}");
  call_done(f, "POST", CP "/global/firewalls",
            "{\"name\":\"edv-t1-allow-hc\",\"network\":\"global/networks/"
            "edv-net\",\"direction\":\"INGRESS\",\"priority\":1000,"
            "\"sourceRanges\":[\"35.191.0.0/16\",\"130.211.0.0/22\"],"
            "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"80\"]}],"
            "\"targetTags\":[\"edv-web\"]}");
  call_done(f, "POST", ZA "/instances",
            "{\"name\":\"edv-t1-vm\",\"machineType\":\"zones/us-central1-a/"
            "machineTypes/e2-micro\",\"disks\":[{\"boot\":true,"
            "\"autoDelete\":true,\"initializeParams\":{\"sourceImage\":"
            "\"projects/debian-cloud/global/images/family/debian-12\"}}],"
            "\"networkInterfaces\":[{\"subnetwork\":\"regions/us-central1/"
            "subnetworks/edv-t1\"}],\"metadata\":{\"items\":[{\"key\":"
            "\"startup-script\",\"value\":\"#!/bin/sh\"}]},\"tags\":{"
            "\"items\":[\"edv-web\"]}}");
  call_done(f, "POST", ZA "/instanceGroups",
            "{\"name\":\"edv-t1-ig\",\"namedPorts\":[{\"name\":\"http\","
            "\"port\":80}]}");
  call_done(f, "POST", ZA "/instanceGroups/edv-t1-ig/addInstances",
            "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
            "edv-t1-vm\"}]}");
  call_done(f, "POST", CP "/global/healthChecks",
            "{\"name\":\"edv-hc\",\"type\":\"HTTP\",\"httpHealthCheck\":{"
            "\"port\":80,\"requestPath\":\"/health\"}}");
  snprintf(body, sizeof(body),
           "{\"name\":\"edv-t1-bs\",\"protocol\":\"HTTP\",\"portName\":"
           "\"http\",\"loadBalancingScheme\":\"%s\",\"healthChecks\":["
           "\"global/healthChecks/edv-hc\"],\"backends\":[{\"group\":"
           "\"zones/us-central1-a/instanceGroups/edv-t1-ig\"}]}",
           scheme);
  call_done(f, "POST", CP "/global/backendServices", body);
  call_done(f, "POST", CP "/global/urlMaps",
            "{\"name\":\"edv-map\",\"defaultUrlRedirect\":{\"hostRedirect\":"
            "\"www.edvirons.com\",\"redirectResponseCode\":\"FOUND\"},"
            "\"hostRules\":[{\"hosts\":[\"t1.edvirons.com\"],\"pathMatcher\":"
            "\"t1\"}],\"pathMatchers\":[{\"name\":\"t1\",\"defaultService\":"
            "\"global/backendServices/edv-t1-bs\"}]}");
  call_done(f, "POST", CP "/global/targetHttpsProxies",
            "{\"name\":\"edv-proxy\",\"urlMap\":\"global/urlMaps/edv-map\","
            "\"sslCertificates\":[\"global/sslCertificates/edv-cert\"]}");
  snprintf(body, sizeof(body),
           "{\"name\":\"edv-fr\",\"target\":\"global/targetHttpsProxies/"
           "edv-proxy\",\"portRange\":\"443\",\"loadBalancingScheme\":\"%s\"}",
           scheme);
  call_done(f, "POST", CP "/global/forwardingRules", body);
  http(f, "GET", CP "/global/forwardingRules/edv-fr", NULL, &r);
  expect_status(&r, 200);
  assert_non_null(jget(r.json, "IPAddress"));
  snprintf(ip, n, "%s", jget(r.json, "IPAddress"));
  reply_free(&r);
  http(f, "GET", "/dns/v1/projects/edv-sim/managedZones", NULL, &r);
  expect_status(&r, 200);
  snprintf(zone, sizeof(zone), "%s", jget(r.json, "managedZones.0.name"));
  reply_free(&r);
  snprintf(body, sizeof(body),
           "{\"additions\":[{\"name\":\"t1.edvirons.com.\",\"type\":\"A\","
           "\"ttl\":300,\"rrdatas\":[\"%s\"]},{\"name\":\"alias.edvirons."
           "com.\",\"type\":\"CNAME\",\"ttl\":300,\"rrdatas\":["
           "\"t1.edvirons.com.\"]},{\"name\":\"nowhere.edvirons.com.\","
           "\"type\":\"A\",\"ttl\":300,\"rrdatas\":[\"198.51.100.7\"]}]}",
           ip);
  {
    char path[300];

    snprintf(path, sizeof(path),
             "/dns/v1/projects/edv-sim/managedZones/%s/changes", zone);
    http(f, "POST", path, body, &r);
    expect_status(&r, 200);
    reply_free(&r);
  }
  assert_int_equal(advance(f, 120), 200); /* boot delay, DNS change */
}

static void test_healthy_and_unhealthy(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char ip[64], loc[300];

  (void)state;
  make_stack(f, "EXTERNAL_MANAGED", ip, sizeof(ip));
  /* Healthy: the VM answers /health through the load balancer. */
  get_host(f, "t1.edvirons.com", "/health", &r, NULL, 0);
  expect_status(&r, 200);
  assert_jeq(r.json, "instance", "edv-t1-vm");
  assert_jeq(r.json, "status", "ok");
  reply_free(&r);
  /* Host header case and a trailing dot do not matter; a CNAME is
   * followed. */
  get_host(f, "T1.EDVIRONS.COM.", "/health", &r, NULL, 0);
  expect_status(&r, 200);
  reply_free(&r);
  get_host(f, "alias.edvirons.com", "/health", &r, NULL, 0);
  /* alias has no host rule: the map's default redirect. */
  assert_int_equal(r.status, 302);
  reply_free(&r);
  get_host(f, "alias.edvirons.com", "/x?y=1", &r, loc, sizeof(loc));
  assert_int_equal(r.status, 302);
  assert_string_equal(loc, "https://www.edvirons.com/x?y=1");
  reply_free(&r);
  /* Only /health is served by the simulated VM. */
  get_host(f, "t1.edvirons.com", "/other", &r, NULL, 0);
  assert_int_equal(r.status, 404);
  reply_free(&r);
  /* Forced unhealthy: no healthy upstream. */
  http(f, "POST", "/_sim/faults", "{\"unhealthy\":\"edv-t1-vm\"}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  get_host(f, "t1.edvirons.com", "/health", &r, NULL, 0);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "no healthy upstream");
  reply_free(&r);
  /* The API getHealth agrees. */
  http(f, "POST", CP "/global/backendServices/edv-t1-bs/getHealth",
       "{\"group\":\"zones/us-central1-a/instanceGroups/edv-t1-ig\"}", &r);
  assert_jeq(r.json, "healthStatus.0.healthState", "UNHEALTHY");
  reply_free(&r);
  http(f, "DELETE", "/_sim/faults", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  get_host(f, "t1.edvirons.com", "/health", &r, NULL, 0);
  expect_status(&r, 200);
  reply_free(&r);
  /* Stopped: unhealthy again. */
  call_done(f, "POST", ZA "/instances/edv-t1-vm/stop", NULL);
  get_host(f, "t1.edvirons.com", "/health", &r, NULL, 0);
  assert_int_equal(r.status, 503);
  reply_free(&r);
  fx_free(f);
}

static void test_unreachable(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char ip[64];

  (void)state;
  make_stack(f, "EXTERNAL_MANAGED", ip, sizeof(ip));
  /* An A record whose address no forwarding rule serves, and a name of
   * the domain that does not resolve: nothing answers (reset). */
  get_host(f, "nowhere.edvirons.com", "/health", &r, NULL, 0);
  assert_int_not_equal(r.result, CURLE_OK);
  assert_int_equal(r.status, 0);
  reply_free(&r);
  get_host(f, "missing.edvirons.com", "/health", &r, NULL, 0);
  assert_int_not_equal(r.result, CURLE_OK);
  reply_free(&r);
  /* Port 80: the rule serves 443 only. */
  get_host(f, "t1.edvirons.com:80", "/health", &r, NULL, 0);
  assert_int_not_equal(r.result, CURLE_OK);
  reply_free(&r);
  /* The APIs are untouched: the simulator's own address, and a Google
   * API host. */
  http(f, "GET", "/_sim/health", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  get_host(f, "compute.googleapis.com", "/_sim/health", &r, NULL, 0);
  expect_status(&r, 200);
  reply_free(&r);
  /* The request log shows the data-plane requests. */
  http(f, "GET", "/_sim/requests", NULL, &r);
  assert_non_null(strstr(r.body, "\"path\":\"/health\""));
  reply_free(&r);
  fx_free(f);
}

static void test_classic(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char ip[64];

  (void)state;
  make_stack(f, "EXTERNAL", ip, sizeof(ip));
  http(f, "POST", "/_sim/faults", "{\"unhealthy\":\"edv-t1-vm\"}", &r);
  reply_free(&r);
  /* The classic load balancer answers 502 for no healthy backend. */
  get_host(f, "t1.edvirons.com", "/health", &r, NULL, 0);
  assert_int_equal(r.status, 502);
  assert_non_null(strstr(r.body, "Server Error"));
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_healthy_and_unhealthy),
      cmocka_unit_test(test_unreachable),
      cmocka_unit_test(test_classic),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests_name("sim-dataplane", tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
