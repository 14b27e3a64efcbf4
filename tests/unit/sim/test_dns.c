/*
 * test_dns.c - Cloud DNS in the simulator, through HTTP: the seeded zone
 * for the domain, changes (pending -> done, atomic), Google's 409, 412,
 * 404 and CNAME-conflict errors, the per-change quota, and the
 * resourceRecordSets methods with filters and paging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

#define ZONE "/dns/v1/projects/edv-sim/managedZones/edvirons-com"

static long change(simfx *f, const char *body, reply *r)
{
  return http(f, "POST", ZONE "/changes", body, r);
}

static void test_dns_seed_and_changes(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char id[32];

  (void)state;
  http(f, "GET", ZONE, NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "dns#managedZone");
  assert_jeq(r.json, "dnsName", "edvirons.com.");
  assert_int_equal(jlen(r.json, "nameServers"), 4);
  reply_free(&r);
  http(f, "GET", "/dns/v1/projects/edv-sim/managedZones?dnsName=edvirons.com.",
       NULL, &r);
  assert_int_equal(jlen(r.json, "managedZones"), 1);
  reply_free(&r);
  http(f, "GET", ZONE "/rrsets", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "rrsets"), 2); /* NS + SOA */
  reply_free(&r);
  /* An addition: pending until its operation is done, served at once. */
  change(f,
         "{\"additions\":[{\"name\":\"www.edvirons.com.\",\"type\":\"A\","
         "\"ttl\":300,\"rrdatas\":[\"34.1.1.1\",\"34.1.1.2\"]}]}",
         &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "dns#change");
  assert_jeq(r.json, "status", "pending");
  snprintf(id, sizeof(id), "%s", jget(r.json, "id"));
  reply_free(&r);
  advance(f, 60);
  httpf(f, "GET", NULL, &r, ZONE "/changes/%s", id);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "done");
  assert_jeq(r.json, "additions.0.name", "www.edvirons.com.");
  reply_free(&r);
  /* Adding it again. */
  change(f,
         "{\"additions\":[{\"name\":\"www.edvirons.com.\",\"type\":\"A\","
         "\"ttl\":300,\"rrdatas\":[\"34.1.1.9\"]}]}",
         &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.errors.0.reason", "alreadyExists");
  assert_jeq(r.json, "error.message",
             "The resource 'entity.rrset' named 'www.edvirons.com. (A)' "
             "already exists");
  reply_free(&r);
  /* An inexact deletion fails the whole change: b is not added. */
  change(f,
         "{\"additions\":[{\"name\":\"b.edvirons.com.\",\"type\":\"A\","
         "\"ttl\":300,\"rrdatas\":[\"34.1.1.3\"]}],\"deletions\":[{\"name\":"
         "\"www.edvirons.com.\",\"type\":\"A\",\"ttl\":60,\"rrdatas\":["
         "\"34.1.1.1\",\"34.1.1.2\"]}]}",
         &r);
  expect_status(&r, 412);
  assert_jeq(r.json, "error.errors.0.reason", "conditionNotMet");
  assert_jeq(r.json, "error.message",
             "Precondition not met for 'entity.change.deletions[0]'");
  reply_free(&r);
  http(f, "GET", ZONE "/rrsets/b.edvirons.com./A", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* Deleting what is not there. */
  change(f,
         "{\"deletions\":[{\"name\":\"x.edvirons.com.\",\"type\":\"A\","
         "\"ttl\":300,\"rrdatas\":[\"34.1.1.3\"]}]}",
         &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.errors.0.reason", "notFound");
  assert_jeq(r.json, "error.message",
             "The 'entity.change.deletions[0]' resource named "
             "'x.edvirons.com. (A)' does not exist.");
  reply_free(&r);
  /* CNAME beside another type, both ways round. */
  change(f,
         "{\"additions\":[{\"name\":\"www.edvirons.com.\",\"type\":\"CNAME\","
         "\"ttl\":300,\"rrdatas\":[\"lb.edvirons.com.\"]}]}",
         &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "cnameResourceRecordSetConflict");
  reply_free(&r);
  change(f,
         "{\"additions\":[{\"name\":\"c.edvirons.com.\",\"type\":\"CNAME\","
         "\"ttl\":300,\"rrdatas\":[\"lb.edvirons.com.\"]},{\"name\":"
         "\"c.edvirons.com.\",\"type\":\"TXT\",\"ttl\":300,\"rrdatas\":["
         "\"\\\"x\\\"\"]}]}",
         &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "cnameResourceRecordSetConflict");
  reply_free(&r);
  /* Outside the zone. */
  change(f,
         "{\"additions\":[{\"name\":\"www.example.org.\",\"type\":\"A\","
         "\"ttl\":300,\"rrdatas\":[\"34.1.1.3\"]}]}",
         &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* An exact deletion (rrdatas in another order) plus a replacement. */
  change(f,
         "{\"deletions\":[{\"name\":\"www.edvirons.com.\",\"type\":\"A\","
         "\"ttl\":300,\"rrdatas\":[\"34.1.1.2\",\"34.1.1.1\"]}],"
         "\"additions\":[{\"name\":\"www.edvirons.com.\",\"type\":\"CNAME\","
         "\"ttl\":300,\"rrdatas\":[\"lb.edvirons.com.\"]}]}",
         &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", ZONE "/rrsets?name=www.edvirons.com.&type=CNAME", NULL, &r);
  assert_int_equal(jlen(r.json, "rrsets"), 1);
  reply_free(&r);
  http(f, "GET", ZONE "/changes", NULL, &r);
  assert_jeq(r.json, "kind", "dns#changesListResponse");
  assert_int_equal(jlen(r.json, "changes"), 2);
  reply_free(&r);
  fx_free(f);
}

static void test_dns_quota_and_rrsets(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  size_t cap = 1001 * 100 + 64, n;
  char *body = malloc(cap);

  (void)state;
  assert_non_null(body);
  n = (size_t)snprintf(body, cap, "{\"additions\":[");
  for (int i = 0; i < 1001; i++)
    n += (size_t)snprintf(body + n, cap - n,
                          "%s{\"name\":\"h%d.edvirons.com.\",\"type\":\"A\","
                          "\"ttl\":300,\"rrdatas\":[\"10.0.0.1\"]}",
                          i ? "," : "", i);
  snprintf(body + n, cap - n, "]}");
  change(f, body, &r);
  expect_status(&r, 403);
  assert_jeq(r.json, "error.errors.0.reason", "quotaExceeded");
  assert_jeq(r.json, "error.message",
             "The change would exceed quota for additions per change.");
  reply_free(&r);
  free(body);
  /* The direct rrset methods. */
  http(f, "POST", ZONE "/rrsets",
       "{\"name\":\"t1.edvirons.com.\",\"type\":\"A\",\"ttl\":60,"
       "\"rrdatas\":[\"34.2.2.2\"]}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "dns#resourceRecordSet");
  reply_free(&r);
  http(f, "POST", ZONE "/rrsets",
       "{\"name\":\"t1.edvirons.com.\",\"type\":\"A\",\"ttl\":60,"
       "\"rrdatas\":[\"34.2.2.2\"]}",
       &r);
  expect_status(&r, 409);
  reply_free(&r);
  http(f, "PATCH", ZONE "/rrsets/t1.edvirons.com./A",
       "{\"ttl\":120,\"rrdatas\":[\"34.2.2.3\"]}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "ttl", "120");
  reply_free(&r);
  http(f, "GET", ZONE "/rrsets/t1.edvirons.com./A", NULL, &r);
  assert_jeq(r.json, "rrdatas.0", "34.2.2.3");
  reply_free(&r);
  http(f, "POST", ZONE "/rrsets",
       "{\"name\":\"t2.edvirons.com.\",\"type\":\"A\",\"ttl\":60,"
       "\"rrdatas\":[\"not-an-ip\"]}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* Paging: three rrsets (SOA, NS, t1), two a page. */
  http(f, "GET", ZONE "/rrsets?maxResults=2", NULL, &r);
  assert_int_equal(jlen(r.json, "rrsets"), 2);
  assert_jeq(r.json, "nextPageToken", "2");
  reply_free(&r);
  http(f, "GET", ZONE "/rrsets?maxResults=2&pageToken=2", NULL, &r);
  assert_int_equal(jlen(r.json, "rrsets"), 1);
  assert_null(jget(r.json, "nextPageToken"));
  reply_free(&r);
  http(f, "DELETE", ZONE "/rrsets/t1.edvirons.com./A", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "DELETE", ZONE "/rrsets/t1.edvirons.com./A", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* Zones: create, refuse to delete a non-empty one. */
  http(f, "POST", "/dns/v1/projects/edv-sim/managedZones",
       "{\"name\":\"school-org\",\"dnsName\":\"school.org.\","
       "\"description\":\"x\"}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", "/dns/v1/projects/edv-sim/managedZones/school-org/changes",
       "{\"additions\":[{\"name\":\"a.school.org.\",\"type\":\"A\",\"ttl\":"
       "300,\"rrdatas\":[\"34.3.3.3\"]}]}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "DELETE", "/dns/v1/projects/edv-sim/managedZones/school-org", NULL,
       &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "containerNotEmpty");
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dns_seed_and_changes),
      cmocka_unit_test(test_dns_quota_and_rrsets),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
