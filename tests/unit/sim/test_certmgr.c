/*
 * test_certmgr.c - Certificate Manager in the simulator, through HTTP: a
 * DNS authorization's _acme-challenge CNAME; a managed certificate that
 * stays PROVISIONING until that CNAME is in the simulated zone and its
 * domain resolves to a global forwarding rule (built through the Compute
 * API), then ACTIVE; FAILED after the timeout and for good; maps, entries
 * (PENDING -> ACTIVE) and gclbTargets; ids, conflicts and in-use deletes
 * in the new-style envelope.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

#define CM   "/v1/projects/edv-sim/locations/global"
#define CP   "/compute/v1/projects/edv-sim"
#define ZONE "/dns/v1/projects/edv-sim/managedZones/edvirons-com"

/* A mutating call that must start an operation, then its completion. */
static void ok_op(simfx *f, const char *method, const char *path,
                  const char *body)
{
  reply r;

  http(f, method, path, body, &r);
  expect_status(&r, 200);
  reply_free(&r);
  assert_int_equal(advance(f, 120), 200);
}

static void cname_for(simfx *f, const char *auth, char *out, size_t n)
{
  reply r;

  httpf(f, "GET", NULL, &r, CM "/dnsAuthorizations/%s", auth);
  expect_status(&r, 200);
  snprintf(out, n,
           "{\"additions\":[{\"name\":\"%s\",\"type\":\"CNAME\",\"ttl\":300,"
           "\"rrdatas\":[\"%s\"]}]}",
           jget(r.json, "dnsResourceRecord.name"),
           jget(r.json, "dnsResourceRecord.data"));
  reply_free(&r);
}

static const char *cert_state(simfx *f, const char *cert, reply *r)
{
  httpf(f, "GET", NULL, r, CM "/certificates/%s", cert);
  expect_status(r, 200);
  return jget(r->json, "managed.state");
}

static void test_certmgr_managed_flow(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char body[600], op[300];

  (void)state;
  /* A DNS authorization and its record. */
  http(f, "POST", CM "/dnsAuthorizations?dnsAuthorizationId=da1",
       "{\"domain\":\"t1.edvirons.com\",\"labels\":{\"edv-tenant\":\"t1\"}}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "done", "false");
  assert_jeq(r.json, "metadata.@type",
             "type.googleapis.com/google.cloud.certificatemanager.v1."
             "OperationMetadata");
  assert_jeq(r.json, "metadata.verb", "create");
  snprintf(op, sizeof(op), "/v1/%s", jget(r.json, "name"));
  reply_free(&r);
  assert_int_equal(advance(f, 120), 200);
  http(f, "GET", op, NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "done", "true");
  assert_jeq(r.json, "response.@type",
             "type.googleapis.com/google.cloud.certificatemanager.v1."
             "DnsAuthorization");
  reply_free(&r);
  http(f, "GET", CM "/dnsAuthorizations/da1", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "dnsResourceRecord.name",
             "_acme-challenge.t1.edvirons.com.");
  assert_jeq(r.json, "dnsResourceRecord.type", "CNAME");
  assert_non_null(strstr(jget(r.json, "dnsResourceRecord.data"),
                         ".authorize.certificatemanager.goog."));
  reply_free(&r);
  /* Ids and conflicts, new-style envelope. */
  http(f, "POST", CM "/dnsAuthorizations?dnsAuthorizationId=Bad_Id",
       "{\"domain\":\"x.edvirons.com\"}", &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  assert_jeq(r.json, "error.details.0.@type",
             "type.googleapis.com/google.rpc.ErrorInfo");
  reply_free(&r);
  http(f, "POST", CM "/dnsAuthorizations?dnsAuthorizationId=dx",
       "{\"domain\":\"x.edvirons.com\",\"nope\":1}", &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.message",
             "Invalid JSON payload received. Unknown name \"nope\" at "
             "'dns_authorization': Cannot find field.");
  reply_free(&r);
  http(f, "POST", CM "/dnsAuthorizations?dnsAuthorizationId=da1",
       "{\"domain\":\"t1.edvirons.com\"}", &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.status", "ALREADY_EXISTS");
  reply_free(&r);
  /* The certificate waits for its conditions. */
  ok_op(f, "POST", CM "/certificates?certificateId=c1",
        "{\"managed\":{\"domains\":[\"t1.edvirons.com\"],"
        "\"dnsAuthorizations\":[\"projects/edv-sim/locations/global/"
        "dnsAuthorizations/da1\"]}}");
  assert_string_equal(cert_state(f, "c1", &r), "PROVISIONING");
  assert_jeq(r.json, "sanDnsnames.0", "t1.edvirons.com");
  reply_free(&r);
  assert_int_equal(advance(f, 600), 200);
  assert_string_equal(cert_state(f, "c1", &r), "PROVISIONING");
  assert_jeq(r.json, "managed.provisioningIssue.reason", "AUTHORIZATION_ISSUE");
  assert_jeq(r.json, "managed.authorizationAttemptInfo.0.state", "AUTHORIZING");
  assert_non_null(
      strstr(jget(r.json, "managed.provisioningIssue.details"), "CNAME"));
  reply_free(&r);
  cname_for(f, "da1", body, sizeof(body));
  ok_op(f, "POST", ZONE "/changes", body);
  assert_string_equal(cert_state(f, "c1", &r), "PROVISIONING");
  assert_non_null(strstr(jget(r.json, "managed.provisioningIssue.details"),
                         "load balancer"));
  reply_free(&r);
  /* A map and an entry: PENDING while the certificate is. */
  ok_op(f, "POST", CM "/certificateMaps?certificateMapId=m1", "{}");
  ok_op(f, "POST",
        CM "/certificateMaps/m1/certificateMapEntries?certificateMapEntryId=e1",
        "{\"hostname\":\"t1.edvirons.com\",\"certificates\":[\"projects/"
        "edv-sim/locations/global/certificates/c1\"]}");
  http(f, "GET", CM "/certificateMaps/m1/certificateMapEntries/e1", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "state", "PENDING");
  reply_free(&r);
  http(f, "POST",
       CM "/certificateMaps/m1/certificateMapEntries?certificateMapEntryId=e2",
       "{\"hostname\":\"t2.edvirons.com\",\"certificates\":[\"a\",\"b\",\"c\","
       "\"d\",\"e\"]}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* The load balancer, through the Compute API. */
  ok_op(f, "POST", CP "/global/healthChecks",
        "{\"name\":\"hc\",\"type\":\"HTTP\"}");
  ok_op(f, "POST", CP "/global/backendServices",
        "{\"name\":\"bs\",\"protocol\":\"HTTP\",\"loadBalancingScheme\":"
        "\"EXTERNAL_MANAGED\",\"healthChecks\":["
        "\"projects/edv-sim/global/healthChecks/hc\"]}");
  ok_op(f, "POST", CP "/global/urlMaps",
        "{\"name\":\"um\",\"defaultService\":\"projects/edv-sim/global/"
        "backendServices/bs\"}");
  ok_op(f, "POST", CP "/global/targetHttpsProxies",
        "{\"name\":\"px\",\"urlMap\":\"projects/edv-sim/global/urlMaps/um\","
        "\"certificateMap\":\"//certificatemanager.googleapis.com/projects/"
        "edv-sim/locations/global/certificateMaps/m1\"}");
  ok_op(f, "POST", CP "/global/addresses", "{\"name\":\"lb-ip\"}");
  http(f, "GET", CP "/global/addresses/lb-ip", NULL, &r);
  expect_status(&r, 200);
  snprintf(body, sizeof(body),
           "{\"additions\":[{\"name\":\"t1.edvirons.com.\",\"type\":\"A\","
           "\"ttl\":300,\"rrdatas\":[\"%s\"]}]}",
           jget(r.json, "address"));
  reply_free(&r);
  /* The A record alone is not enough: no forwarding rule has the IP. */
  ok_op(f, "POST", ZONE "/changes", body);
  assert_string_equal(cert_state(f, "c1", &r), "PROVISIONING");
  reply_free(&r);
  ok_op(f, "POST", CP "/global/forwardingRules",
        "{\"name\":\"fr\",\"IPAddress\":\"projects/edv-sim/global/addresses/"
        "lb-ip\",\"target\":\"projects/edv-sim/global/targetHttpsProxies/px\","
        "\"portRange\":\"443\",\"loadBalancingScheme\":\"EXTERNAL_MANAGED\"}");
  assert_string_equal(cert_state(f, "c1", &r), "ACTIVE");
  assert_jeq(r.json, "managed.authorizationAttemptInfo.0.state", "AUTHORIZED");
  assert_null(jget(r.json, "managed.provisioningIssue"));
  assert_non_null(jget(r.json, "pemCertificate"));
  reply_free(&r);
  http(f, "GET", CM "/certificateMaps/m1/certificateMapEntries/e1", NULL, &r);
  assert_jeq(r.json, "state", "ACTIVE");
  reply_free(&r);
  http(f, "GET", CM "/certificateMaps/m1", NULL, &r);
  assert_non_null(strstr(jget(r.json, "gclbTargets.0.targetHttpsProxy"),
                         "/global/targetHttpsProxies/px"));
  reply_free(&r);
  /* In use: the entry holds the certificate, the map has entries. */
  http(f, "DELETE", CM "/certificates/c1", NULL, &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "FAILED_PRECONDITION");
  reply_free(&r);
  http(f, "DELETE", CM "/dnsAuthorizations/da1", NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* Labels patch. */
  ok_op(f, "PATCH", CM "/certificates/c1?updateMask=labels",
        "{\"labels\":{\"edv-tenant\":\"t1\"}}");
  http(f, "GET", CM "/certificates/c1", NULL, &r);
  assert_jeq(r.json, "labels.edv-tenant", "t1");
  assert_null(jget(r.json, "simCreateMs"));
  reply_free(&r);
  http(f, "GET", CM "/certificates", NULL, &r);
  assert_int_equal(jlen(r.json, "certificates"), 1);
  reply_free(&r);
  http(f, "GET", CM "/operations", NULL, &r);
  assert_true(jlen(r.json, "operations") >= 5);
  reply_free(&r);
  /* Entry, then certificate: deletes go through. */
  ok_op(f, "DELETE", CM "/certificateMaps/m1/certificateMapEntries/e1", NULL);
  ok_op(f, "DELETE", CM "/certificates/c1", NULL);
  http(f, "GET", CM "/certificates/c1", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

static void test_certmgr_failed(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char body[600];

  (void)state;
  ok_op(f, "POST", CM "/dnsAuthorizations?dnsAuthorizationId=da2",
        "{\"domain\":\"t2.edvirons.com\"}");
  ok_op(f, "POST", CM "/certificates?certificateId=c2",
        "{\"managed\":{\"domains\":[\"t2.edvirons.com\"],"
        "\"dnsAuthorizations\":[\"projects/edv-sim/locations/global/"
        "dnsAuthorizations/da2\"]}}");
  assert_int_equal(advance(f, 3700), 200);
  assert_string_equal(cert_state(f, "c2", &r), "FAILED");
  assert_jeq(r.json, "managed.authorizationAttemptInfo.0.state", "FAILED");
  assert_jeq(r.json, "managed.authorizationAttemptInfo.0.failureReason",
             "CONFIG");
  reply_free(&r);
  /* Fixing DNS afterwards does not revive it. */
  cname_for(f, "da2", body, sizeof(body));
  ok_op(f, "POST", ZONE "/changes", body);
  assert_string_equal(cert_state(f, "c2", &r), "FAILED");
  reply_free(&r);
  fx_free(f);
}

#define ENTRY CM "/certificateMaps/pm/certificateMapEntries/pe"

/* A 400 INVALID_ARGUMENT "Validation failed" naming the refused paths in
 * a google.rpc.BadRequest violation on updateMask. */
static void expect_mask_refused(simfx *f, const char *mask, const char *paths)
{
  reply r;
  char want[200];

  httpf(f, "PATCH", "{\"hostname\":\"x.edvirons.com\"}", &r,
        ENTRY "?updateMask=%s", mask);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  assert_jeq(r.json, "error.message", "Validation failed");
  assert_jeq(r.json, "error.details.0.@type",
             "type.googleapis.com/google.rpc.BadRequest");
  assert_jeq(r.json, "error.details.0.fieldViolations.0.field", "updateMask");
  snprintf(want, sizeof(want), "paths not permitted to be updated: %s", paths);
  assert_jeq(r.json, "error.details.0.fieldViolations.0.description", want);
  reply_free(&r);
}

/*
 * certificateMapEntries.patch: certificates, labels and description
 * change through a long-running operation whose response is the entry;
 * the hostname (and any path outside those three) is refused, a
 * certificate that does not exist too, and nothing changes until the
 * operation is done.
 */
static void test_certmgr_entry_patch(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char op[300];

  (void)state;
  ok_op(f, "POST", CM "/certificates?certificateId=pc1",
        "{\"managed\":{\"domains\":[\"p.edvirons.com\"]}}");
  ok_op(f, "POST", CM "/certificates?certificateId=pc2",
        "{\"managed\":{\"domains\":[\"p.edvirons.com\"]}}");
  ok_op(f, "POST", CM "/certificateMaps?certificateMapId=pm", "{}");
  ok_op(f, "POST",
        CM "/certificateMaps/pm/certificateMapEntries?certificateMapEntryId=pe",
        "{\"hostname\":\"p.edvirons.com\",\"certificates\":[\"projects/"
        "edv-sim/locations/global/certificates/pc1\"],\"description\":"
        "\"first\",\"labels\":{\"edv-tenant\":\"t1\"}}");

  /* certificates only: labels and description stay. */
  http(f, "PATCH", ENTRY "?updateMask=certificates",
       "{\"certificates\":[\"projects/edv-sim/locations/global/certificates/"
       "pc2\"],\"description\":\"ignored\"}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "done", "false");
  assert_jeq(r.json, "metadata.verb", "update");
  assert_jeq(r.json, "metadata.target",
             "projects/edv-sim/locations/global/certificateMaps/pm/"
             "certificateMapEntries/pe");
  snprintf(op, sizeof(op), "%s", jget(r.json, "name"));
  reply_free(&r);
  http(f, "GET", ENTRY, NULL, &r);
  assert_jeq(r.json, "certificates.0",
             "projects/edv-sim/locations/global/certificates/pc1");
  reply_free(&r);
  /* A second patch while the first runs. */
  http(f, "PATCH", ENTRY "?updateMask=labels", "{\"labels\":{}}", &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.status", "ABORTED");
  reply_free(&r);
  assert_int_equal(advance(f, 120), 200);
  httpf(f, "GET", NULL, &r, "/v1/%s", op);
  expect_status(&r, 200);
  assert_jeq(r.json, "done", "true");
  assert_null(jget(r.json, "error"));
  assert_jeq(r.json, "response.@type",
             "type.googleapis.com/google.cloud.certificatemanager.v1."
             "CertificateMapEntry");
  assert_jeq(r.json, "response.certificates.0",
             "projects/edv-sim/locations/global/certificates/pc2");
  reply_free(&r);
  http(f, "GET", ENTRY, NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "certificates"), 1);
  assert_jeq(r.json, "certificates.0",
             "projects/edv-sim/locations/global/certificates/pc2");
  assert_jeq(r.json, "hostname", "p.edvirons.com");
  assert_jeq(r.json, "description", "first");
  assert_jeq(r.json, "labels.edv-tenant", "t1");
  reply_free(&r);

  /* labels and description together; a masked field absent from the body
   * is cleared. */
  ok_op(f, "PATCH", ENTRY "?updateMask=labels,description",
        "{\"labels\":{\"edv-tenant\":\"t2\"}}");
  http(f, "GET", ENTRY, NULL, &r);
  assert_jeq(r.json, "labels.edv-tenant", "t2");
  assert_null(jget(r.json, "description"));
  assert_jeq(r.json, "certificates.0",
             "projects/edv-sim/locations/global/certificates/pc2");
  reply_free(&r);
  ok_op(f, "PATCH", ENTRY "?updateMask=description",
        "{\"description\":\"second\"}");
  http(f, "GET", ENTRY, NULL, &r);
  assert_jeq(r.json, "description", "second");
  reply_free(&r);

  /* Refused: the hostname and matcher (the entry's identity), unknown
   * paths; no mask; a certificate that does not exist; too many. */
  expect_mask_refused(f, "hostname", "hostname");
  expect_mask_refused(f, "certificates,hostname,matcher", "hostname,matcher");
  expect_mask_refused(f, "nonsense", "nonsense");
  http(f, "PATCH", ENTRY, "{\"description\":\"x\"}", &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  assert_jeq(r.json, "error.message", "Field 'update_mask' is required.");
  reply_free(&r);
  http(f, "PATCH", ENTRY "?updateMask=certificates",
       "{\"certificates\":[\"projects/edv-sim/locations/global/certificates/"
       "nope\"]}",
       &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  assert_jeq(r.json, "error.message",
             "Certificate 'projects/edv-sim/locations/global/certificates/"
             "nope' not found.");
  reply_free(&r);
  http(f, "PATCH", ENTRY "?updateMask=certificates",
       "{\"certificates\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  reply_free(&r);
  http(f, "PATCH", ENTRY "?updateMask=labels", "{\"labelz\":{}}", &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  reply_free(&r);
  http(f, "PATCH",
       CM "/certificateMaps/pm/certificateMapEntries/nope?updateMask=labels",
       "{}", &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.status", "NOT_FOUND");
  reply_free(&r);
  http(f, "GET", ENTRY, NULL, &r);
  assert_jeq(r.json, "hostname", "p.edvirons.com");
  assert_jeq(r.json, "certificates.0",
             "projects/edv-sim/locations/global/certificates/pc2");
  reply_free(&r);
  /* The entry now holds pc2, not pc1. */
  ok_op(f, "DELETE", CM "/certificates/pc1", NULL);
  http(f, "DELETE", CM "/certificates/pc2", NULL, &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "FAILED_PRECONDITION");
  reply_free(&r);
  fx_free(f);
}

/*
 * Lists: `filter` (AIP-160: labels.k="v", AND, OR, !=, labels:k),
 * `pageSize` and `pageToken`, on certificates (what drift detection
 * lists) and map entries (the same code).
 */
static void test_certmgr_list_filter_pages(void **state)
{
  static const char *const labels[] = {
      "\"edv-managed\":\"true\",\"edv-tenant\":\"a\"",
      "\"edv-managed\":\"true\",\"edv-tenant\":\"b\"",
      "\"edv-managed\":\"false\",\"edv-tenant\":\"c\"",
      "\"edv-managed\":\"true\",\"edv-tenant\":\"d\"",
      "\"other\":\"x\"",
  };
  simfx *f = fx_start("realistic");
  char body[400], names[400];
  reply r;
  int pages;

  (void)state;
  for (size_t i = 0; i < sizeof(labels) / sizeof(*labels); i++) {
    char path[200];

    snprintf(path, sizeof(path), CM "/certificates?certificateId=lc-%c",
             (int)('a' + i));
    snprintf(body, sizeof(body),
             "{\"managed\":{\"domains\":[\"l%c.edvirons.com\"]},"
             "\"labels\":{%s}}",
             (int)('a' + i), labels[i]);
    ok_op(f, "POST", path, body);
  }
  list_names(f, CM "/certificates", "certificates", NULL, "pageSize=0", names,
             sizeof(names), &pages);
  assert_string_equal(names, "lc-a lc-b lc-c lc-d lc-e ");
  assert_int_equal(pages, 1);
  list_names(f, CM "/certificates", "certificates", NULL, "pageSize=2", names,
             sizeof(names), &pages);
  assert_string_equal(names, "lc-a lc-b lc-c lc-d lc-e ");
  assert_int_equal(pages, 3);
  /* What drift detection sends, paged by one. */
  list_names(f, CM "/certificates", "certificates", NULL,
             "filter=labels.edv-managed%3D%22true%22&pageSize=1", names,
             sizeof(names), &pages);
  assert_string_equal(names, "lc-a lc-b lc-d ");
  assert_int_equal(pages, 3);
  list_names(f, CM "/certificates", "certificates", NULL,
             "filter=labels.edv-managed%3D%22true%22%20AND%20"
             "labels.edv-tenant%3D%22b%22",
             names, sizeof(names), &pages);
  assert_string_equal(names, "lc-b ");
  list_names(f, CM "/certificates", "certificates", NULL,
             "filter=labels.edv-managed%3Dtrue%20labels.edv-tenant%3Da%20OR%20"
             "labels.edv-tenant%3Dd",
             names, sizeof(names), &pages);
  assert_string_equal(names, "lc-a lc-d ");
  list_names(f, CM "/certificates", "certificates", NULL,
             "filter=labels.edv-managed%21%3D%22true%22", names, sizeof(names),
             &pages);
  assert_string_equal(names, "lc-c lc-e ");
  list_names(f, CM "/certificates", "certificates", NULL,
             "filter=labels%3Aother", names, sizeof(names), &pages);
  assert_string_equal(names, "lc-e ");
  list_names(f, CM "/certificates", "certificates", NULL,
             "filter=sanDnsnames%3A%22lc.edvirons.com%22", names, sizeof(names),
             &pages);
  assert_string_equal(names, "lc-c ");
  list_names(f, CM "/certificates", "certificates", NULL,
             "filter=name%3D%22*%2Flc-b%22", names, sizeof(names), &pages);
  assert_string_equal(names, "lc-b ");
  /* Refused: grouping, a dangling operator, a negative size, a token that
   * is not one of ours. */
  http(f, "GET", CM "/certificates?filter=%28labels.a%3Db%29", NULL, &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  assert_non_null(strstr(jget(r.json, "error.message"), "filter"));
  reply_free(&r);
  http(f, "GET", CM "/certificates?filter=labels.a%3D", NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "GET", CM "/certificates?pageSize=-1", NULL, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "page_size"));
  reply_free(&r);
  http(f, "GET", CM "/certificates?pageToken=nope", NULL, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "page_token"));
  reply_free(&r);
  /* Map entries page the same way. */
  ok_op(f, "POST", CM "/certificateMaps?certificateMapId=lm", "{}");
  for (int i = 0; i < 3; i++) {
    char path[200];

    snprintf(path, sizeof(path),
             CM "/certificateMaps/lm/certificateMapEntries"
                "?certificateMapEntryId=le-%d",
             i);
    snprintf(body, sizeof(body),
             "{\"hostname\":\"l%c.edvirons.com\",\"certificates\":["
             "\"projects/edv-sim/locations/global/certificates/lc-%c\"],"
             "\"labels\":{\"n\":\"%d\"}}",
             (int)('a' + i), (int)('a' + i), i);
    ok_op(f, "POST", path, body);
  }
  http(f, "GET", CM "/certificateMaps/lm/certificateMapEntries?pageSize=2",
       NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "certificateMapEntries"), 2);
  assert_non_null(jget(r.json, "nextPageToken"));
  snprintf(body, sizeof(body), "%s", jget(r.json, "nextPageToken"));
  reply_free(&r);
  httpf(f, "GET", NULL, &r,
        CM "/certificateMaps/lm/certificateMapEntries?pageSize=2&pageToken=%s",
        body);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "certificateMapEntries"), 1);
  assert_null(jget(r.json, "nextPageToken"));
  assert_non_null(strstr(jget(r.json, "certificateMapEntries.0.name"), "le-2"));
  reply_free(&r);
  http(f, "GET",
       CM "/certificateMaps/lm/certificateMapEntries?filter=labels.n%3D1", NULL,
       &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "certificateMapEntries"), 1);
  assert_non_null(strstr(jget(r.json, "certificateMapEntries.0.name"), "le-1"));
  reply_free(&r);
  fx_free(f);
}

/* locations/- lists every location's resources (and operations); a page
 * token of a wildcard list pages on across locations. */
static void test_certmgr_location_wildcard(void **state)
{
  static const char *const locs[] = {"global", "us-central1", "europe-west1"};
  simfx *f = fx_start("fast");
  char path[300], body[300], names[400];
  reply r;
  int pages;

  (void)state;
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof(path),
             "/v1/projects/edv-sim/locations/%s/dnsAuthorizations"
             "?dnsAuthorizationId=wa-%zu",
             locs[i], i);
    snprintf(body, sizeof(body), "{\"domain\":\"w%zu.edvirons.com\"}", i);
    ok_op(f, "POST", path, body);
    snprintf(path, sizeof(path),
             "/v1/projects/edv-sim/locations/%s/certificates"
             "?certificateId=wc-%zu",
             locs[i], i);
    snprintf(body, sizeof(body),
             "{\"managed\":{\"domains\":[\"w%zu.edvirons.com\"]}}", i);
    ok_op(f, "POST", path, body);
    snprintf(path, sizeof(path),
             "/v1/projects/edv-sim/locations/%s/certificateMaps"
             "?certificateMapId=wm-%zu",
             locs[i], i);
    ok_op(f, "POST", path, "{}");
  }
  list_names(f, "/v1/projects/edv-sim/locations/-/dnsAuthorizations",
             "dnsAuthorizations", NULL, "pageSize=0", names, sizeof(names),
             &pages);
  assert_string_equal(names, "wa-2 wa-0 wa-1 "); /* in name order */
  list_names(f, "/v1/projects/edv-sim/locations/-/certificates", "certificates",
             NULL, "pageSize=1", names, sizeof(names), &pages);
  assert_string_equal(names, "wc-2 wc-0 wc-1 ");
  assert_int_equal(pages, 3);
  list_names(f, "/v1/projects/edv-sim/locations/-/certificateMaps",
             "certificateMaps", NULL, "pageSize=0", names, sizeof(names),
             &pages);
  assert_string_equal(names, "wm-2 wm-0 wm-1 ");
  /* One location still lists only its own. */
  list_names(f, "/v1/projects/edv-sim/locations/us-central1/certificates",
             "certificates", NULL, "pageSize=0", names, sizeof(names), &pages);
  assert_string_equal(names, "wc-1 ");
  http(f, "GET", "/v1/projects/edv-sim/locations/-/operations", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "operations"), 9);
  reply_free(&r);
  http(f, "GET", "/v1/projects/edv-sim/locations/us-central1/operations", NULL,
       &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "operations"), 3);
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_certmgr_managed_flow),
      cmocka_unit_test(test_certmgr_failed),
      cmocka_unit_test(test_certmgr_entry_patch),
      cmocka_unit_test(test_certmgr_list_filter_pages),
      cmocka_unit_test(test_certmgr_location_wildcard),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
