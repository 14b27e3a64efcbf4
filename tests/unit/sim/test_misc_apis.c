/*
 * test_misc_apis.c - Secret Manager, IAM and Cloud Monitoring in the
 * simulator, through HTTP: secrets (latest alias, payload never in the
 * request log, IAM policy with etags), service accounts (create, get by
 * email and uniqueId, the "-" project, 409, 404), alert policies,
 * notification channels, the uptime-check limit (101st -> 429) and
 * custom-metric time series; channel types' required labels, secret labels
 * kept but answered masked, channel patches; threshold conditions and
 * ratios as Monitoring takes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

#define SM  "/v1/projects/edv-sim/secrets"
#define IAM "/v1/projects/edv-sim/serviceAccounts"
#define MON "/v3/projects/edv-sim"

/* base64("db-pass-Zq9") */
#define PAYLOAD "ZGItcGFzcy1acTk="

static void test_secrets(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char etag[64], body[300];

  (void)state;
  http(f, "POST", SM "?secretId=edv-t1-db",
       "{\"replication\":{\"automatic\":{}},\"labels\":{\"edv-tenant\":"
       "\"t1\"}}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "name", "projects/edv-sim/secrets/edv-t1-db");
  reply_free(&r);
  http(f, "POST", SM "?secretId=edv-t1-db",
       "{\"replication\":{\"automatic\":{}}}", &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.status", "ALREADY_EXISTS");
  reply_free(&r);
  http(f, "POST", SM "?secretId=bad%20id",
       "{\"replication\":{\"automatic\":{}}}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* patch: the labels the mask names, a new etag; other fields and a
   * missing mask are refused. */
  http(f, "GET", SM "/edv-t1-db", NULL, &r);
  snprintf(etag, sizeof(etag), "%s", jget(r.json, "etag"));
  reply_free(&r);
  http(f, "PATCH", SM "/edv-t1-db", "{\"labels\":{\"edv-tier\":\"x\"}}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "PATCH", SM "/edv-t1-db?updateMask=replication",
       "{\"replication\":{\"automatic\":{}}}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "PATCH", SM "/edv-t1-db?updateMask=labels",
       "{\"labels\":{\"edv-tenant\":\"t1\",\"edv-tier\":\"premium\"}}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db", NULL, &r);
  assert_jeq(r.json, "labels.edv-tier", "premium");
  assert_jeq(r.json, "labels.edv-tenant", "t1");
  assert_string_not_equal(jget(r.json, "etag"), etag);
  reply_free(&r);
  /* No version yet. */
  http(f, "GET", SM "/edv-t1-db/versions/latest:access", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "POST", SM "/edv-t1-db:addVersion",
       "{\"payload\":{\"data\":\"b2xk\"}}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "name", "projects/edv-sim/secrets/edv-t1-db/versions/1");
  reply_free(&r);
  http(f, "POST", SM "/edv-t1-db:addVersion",
       "{\"payload\":{\"data\":\"" PAYLOAD "\"}}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "state", "ENABLED");
  assert_null(strstr(r.body, PAYLOAD));
  reply_free(&r);
  http(f, "POST", SM "/edv-t1-db:addVersion",
       "{\"payload\":{\"data\":\"not base64!\"}}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db/versions/latest:access", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "name", "projects/edv-sim/secrets/edv-t1-db/versions/2");
  assert_jeq(r.json, "payload.data", PAYLOAD);
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db/versions/1:access", NULL, &r);
  assert_jeq(r.json, "payload.data", "b2xk");
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db/versions/2", NULL, &r);
  expect_status(&r, 200);
  assert_null(strstr(r.body, PAYLOAD));
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db/versions", NULL, &r);
  assert_int_equal(jlen(r.json, "versions"), 2);
  reply_free(&r);
  http(f, "GET", SM, NULL, &r);
  assert_int_equal(jlen(r.json, "secrets"), 1);
  assert_null(strstr(r.body, PAYLOAD));
  reply_free(&r);
  /* The payload never reaches the request log. */
  http(f, "GET", "/_sim/requests", NULL, &r);
  expect_status(&r, 200);
  assert_null(strstr(r.body, PAYLOAD));
  assert_null(strstr(r.body, "db-pass"));
  reply_free(&r);
  /* IAM policy: read, modify, write with the etag; a stale one aborts. */
  http(f, "GET", SM "/edv-t1-db:getIamPolicy", NULL, &r);
  expect_status(&r, 200);
  snprintf(etag, sizeof(etag), "%s", jget(r.json, "etag"));
  reply_free(&r);
  snprintf(body, sizeof(body),
           "{\"policy\":{\"etag\":\"%s\",\"bindings\":[{\"role\":"
           "\"roles/secretmanager.secretAccessor\",\"members\":["
           "\"serviceAccount:edv-t1@edv-sim.iam.gserviceaccount.com\"]}]}}",
           etag);
  http(f, "POST", SM "/edv-t1-db:setIamPolicy", body, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "bindings.0.role", "roles/secretmanager.secretAccessor");
  reply_free(&r);
  http(f, "POST", SM "/edv-t1-db:setIamPolicy", body, &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.status", "ABORTED");
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db:getIamPolicy", NULL, &r);
  assert_jeq(r.json, "bindings.0.members.0",
             "serviceAccount:edv-t1@edv-sim.iam.gserviceaccount.com");
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db", NULL, &r);
  assert_null(jget(r.json, "bindings"));
  reply_free(&r);
  http(f, "DELETE", SM "/edv-t1-db", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", SM "/edv-t1-db/versions/latest:access", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

/* Resource Manager: the project's IAM policy, read-modify-write with
 * the etag; a stale etag is 409 ABORTED; roles, members and the project
 * are checked. */
static void test_project_policy(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char etag[64], body[600];
  static const char *const bad[] = {
      /* no members */
      "{\"policy\":{\"bindings\":[{\"role\":\"roles/viewer\"}]}}",
      /* not a role */
      "{\"policy\":{\"bindings\":[{\"role\":\"viewer\",\"members\":"
      "[\"user:a@example.com\"]}]}}",
      /* a member without its type */
      "{\"policy\":{\"bindings\":[{\"role\":\"roles/viewer\",\"members\":"
      "[\"a@example.com\"]}]}}",
      /* allUsers on a project */
      "{\"policy\":{\"bindings\":[{\"role\":\"roles/viewer\",\"members\":"
      "[\"allUsers\"]}]}}",
      /* a field Policy does not have */
      "{\"policy\":{\"owners\":[]}}",
  };

  (void)state;
  http(f, "POST", "/v1/projects/edv-sim:getIamPolicy", "{}", &r);
  expect_status(&r, 200);
  assert_null(jget(r.json, "bindings"));
  snprintf(etag, sizeof(etag), "%s", jget(r.json, "etag"));
  reply_free(&r);
  snprintf(body, sizeof(body),
           "{\"policy\":{\"etag\":\"%s\",\"bindings\":[{\"role\":"
           "\"roles/logging.logWriter\",\"members\":["
           "\"serviceAccount:edv-t1@edv-sim.iam.gserviceaccount.com\"]},"
           "{\"role\":\"projects/edv-sim/roles/custom\",\"members\":["
           "\"group:ops@example.com\",\"domain:example.com\"]}]}}",
           etag);
  http(f, "POST", "/v1/projects/edv-sim:setIamPolicy", body, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "bindings.1.members.1", "domain:example.com");
  assert_string_not_equal(jget(r.json, "etag"), etag);
  reply_free(&r);
  /* The same etag again: someone (we) changed the policy since. */
  http(f, "POST", "/v1/projects/edv-sim:setIamPolicy", body, &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.status", "ABORTED");
  reply_free(&r);
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    http(f, "POST", "/v1/projects/edv-sim:setIamPolicy", bad[i], &r);
    expect_status(&r, 400);
    reply_free(&r);
  }
  http(f, "POST", "/v1/projects/other:getIamPolicy", "{}", &r);
  expect_status(&r, 403);
  reply_free(&r);
  http(f, "POST", "/v1/projects/edv-sim:getIamPolicy", "{}", &r);
  assert_jeq(r.json, "bindings.0.members.0",
             "serviceAccount:edv-t1@edv-sim.iam.gserviceaccount.com");
  assert_jeq(r.json, "bindings.1.role", "projects/edv-sim/roles/custom");
  reply_free(&r);
  fx_free(f);
}

static void test_iam(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char uid[40];

  (void)state;
  http(f, "POST", IAM,
       "{\"accountId\":\"edv-t1\",\"serviceAccount\":{\"displayName\":"
       "\"Tenant t1\",\"description\":\"edv\"}}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "email", "edv-t1@edv-sim.iam.gserviceaccount.com");
  assert_jeq(r.json, "name",
             "projects/edv-sim/serviceAccounts/"
             "edv-t1@edv-sim.iam.gserviceaccount.com");
  assert_jeq(r.json, "displayName", "Tenant t1");
  assert_int_equal(strlen(jget(r.json, "uniqueId")), 21);
  snprintf(uid, sizeof(uid), "%s", jget(r.json, "uniqueId"));
  reply_free(&r);
  http(f, "POST", IAM, "{\"accountId\":\"edv-t1\"}", &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.status", "ALREADY_EXISTS");
  reply_free(&r);
  http(f, "POST", IAM, "{\"accountId\":\"short\"}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "POST", IAM, "{\"accountId\":\"1starts-with-digit\"}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "GET", IAM "/edv-t1@edv-sim.iam.gserviceaccount.com", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET",
       "/v1/projects/-/serviceAccounts/edv-t1@edv-sim.iam.gserviceaccount.com",
       NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  httpf(f, "GET", NULL, &r, IAM "/%s", uid);
  expect_status(&r, 200);
  assert_jeq(r.json, "email", "edv-t1@edv-sim.iam.gserviceaccount.com");
  reply_free(&r);
  http(f, "GET", IAM, NULL, &r);
  assert_int_equal(jlen(r.json, "accounts"), 1);
  reply_free(&r);
  http(f, "DELETE", IAM "/edv-t1@edv-sim.iam.gserviceaccount.com", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", IAM "/edv-t1@edv-sim.iam.gserviceaccount.com", NULL, &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.status", "NOT_FOUND");
  reply_free(&r);
  fx_free(f);
}

/* A one-condition alert policy: severity, then one notification channel. */
#define POLICY_FMT                                                             \
  "{\"displayName\":\"db\",\"severity\":\"%s\",\"notificationChannels\":"      \
  "[\"%s\"],\"conditions\":[{\"displayName\":\"c\",\"conditionThreshold\":{"   \
  "\"filter\":\"metric.type=\\\"custom.googleapis.com/edv/x\\\"\"}}]}"

static void test_monitoring(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char name[200], body[600], path[400], chan[200];

  (void)state;
  /* Alert policies and channels. */
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"email\",\"displayName\":\"ops\",\"labels\":{"
       "\"email_address\":\"ops@edvirons.com\"}}",
       &r);
  expect_status(&r, 200);
  assert_non_null(
      strstr(jget(r.json, "name"), "projects/edv-sim/notificationChannels/"));
  reply_free(&r);
  http(f, "POST", MON "/alertPolicies", "{\"displayName\":\"x\"}", &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "INVALID_ARGUMENT");
  reply_free(&r);
  http(f, "POST", MON "/alertPolicies",
       "{\"displayName\":\"vm_down\",\"combiner\":\"OR\",\"conditions\":[{"
       "\"displayName\":\"up\",\"conditionThreshold\":{\"filter\":"
       "\"metric.type=\\\"custom.googleapis.com/edv/health\\\"\","
       "\"comparison\":\"COMPARISON_LT\",\"thresholdValue\":1,"
       "\"duration\":\"60s\"}}]}",
       &r);
  expect_status(&r, 200);
  snprintf(name, sizeof(name), "%s", jget(r.json, "name"));
  assert_non_null(jget(r.json, "conditions.0.name"));
  assert_non_null(jget(r.json, "creationRecord.mutateTime"));
  reply_free(&r);
  snprintf(path, sizeof(path), "/v3/%s?updateMask=displayName", name);
  http(f, "PATCH", path, "{\"displayName\":\"vm_down_2\"}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "displayName", "vm_down_2");
  assert_jeq(r.json, "combiner", "OR");
  reply_free(&r);
  http(f, "GET", MON "/alertPolicies", NULL, &r);
  assert_int_equal(jlen(r.json, "alertPolicies"), 1);
  reply_free(&r);
  snprintf(path, sizeof(path), "/v3/%s", name);
  http(f, "DELETE", path, NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", path, NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* Channels: a known type with its label; a secret label never answered. */
  http(f, "POST", MON "/notificationChannels", "{\"type\":\"carrier-pigeon\"}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"webhook_tokenauth\",\"labels\":{}}", &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "labels[url]"));
  reply_free(&r);
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"pagerduty\",\"labels\":{\"service_key\":\"pd-secret-1\"}}",
       &r);
  expect_status(&r, 200);
  assert_null(strstr(r.body, "pd-secret-1"));
  snprintf(chan, sizeof(chan), "%s", jget(r.json, "name"));
  reply_free(&r);
  /* A policy names existing channels only, with a known severity. */
  snprintf(body, sizeof(body), POLICY_FMT, "WARNING",
           "projects/edv-sim/notificationChannels/404");
  http(f, "POST", MON "/alertPolicies", body, &r);
  expect_status(&r, 400);
  reply_free(&r);
  snprintf(body, sizeof(body), POLICY_FMT, "LOUD", chan);
  http(f, "POST", MON "/alertPolicies", body, &r);
  expect_status(&r, 400);
  reply_free(&r);
  snprintf(body, sizeof(body), POLICY_FMT, "CRITICAL", chan);
  http(f, "POST", MON "/alertPolicies", body, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "severity", "CRITICAL");
  snprintf(name, sizeof(name), "/v3/%s", jget(r.json, "name"));
  reply_free(&r);
  /* A channel in use is deleted only with force, and leaves the policy. */
  snprintf(path, sizeof(path), "/v3/%s", chan);
  http(f, "DELETE", path, NULL, &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "FAILED_PRECONDITION");
  reply_free(&r);
  strcat(path, "?force=true");
  http(f, "DELETE", path, NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", name, NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "notificationChannels"), 0);
  reply_free(&r);
  http(f, "DELETE", name, NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  /* A hundred uptime checks, then Google's 429. */
  for (int i = 0; i < 100; i++) {
    snprintf(body, sizeof(body),
             "{\"displayName\":\"t%d\",\"monitoredResource\":{\"type\":"
             "\"uptime_url\",\"labels\":{\"host\":\"t%d.edvirons.com\"}},"
             "\"httpCheck\":{\"path\":\"/health\",\"useSsl\":true}}",
             i, i);
    http(f, "POST", MON "/uptimeCheckConfigs", body, &r);
    expect_status(&r, 200);
    if (i == 0)
      snprintf(name, sizeof(name), "%s", jget(r.json, "name"));
    reply_free(&r);
  }
  http(f, "POST", MON "/uptimeCheckConfigs", body, &r);
  expect_status(&r, 429);
  assert_jeq(r.json, "error.status", "RESOURCE_EXHAUSTED");
  assert_jeq(r.json, "error.message",
             "Error creating uptime check config: too many configs in "
             "project");
  reply_free(&r);
  snprintf(path, sizeof(path), "/v3/%s", name);
  http(f, "DELETE", path, NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", MON "/uptimeCheckConfigs", body, &r);
  expect_status(&r, 200);
  reply_free(&r);
  /* Custom metrics: written, then read back within an interval. */
  http(f, "POST", MON "/timeSeries",
       "{\"timeSeries\":[{\"metric\":{\"type\":\"compute.googleapis.com/"
       "instance/cpu\"},\"resource\":{\"type\":\"global\"},\"points\":[{"
       "\"interval\":{\"endTime\":\"2026-11-27T10:00:00Z\"},\"value\":{"
       "\"doubleValue\":1}}]}]}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  for (int i = 0; i < 3; i++) {
    snprintf(body, sizeof(body),
             "{\"timeSeries\":[{\"metric\":{\"type\":\"custom.googleapis.com/"
             "edv/health\",\"labels\":{\"tenant\":\"t1\"}},\"resource\":{"
             "\"type\":\"global\",\"labels\":{\"project_id\":\"edv-sim\"}},"
             "\"points\":[{\"interval\":{\"endTime\":"
             "\"2026-11-27T10:0%d:00Z\"},\"value\":{\"doubleValue\":%d}}]},"
             "{\"metric\":{\"type\":\"custom.googleapis.com/edv/health\","
             "\"labels\":{\"tenant\":\"t2\"}},\"resource\":{\"type\":"
             "\"global\"},\"points\":[{\"interval\":{\"endTime\":"
             "\"2026-11-27T10:0%d:00Z\"},\"value\":{\"doubleValue\":1}}]}]}",
             i, i, i);
    http(f, "POST", MON "/timeSeries", body, &r);
    expect_status(&r, 200);
    reply_free(&r);
  }
  http(f, "GET",
       MON "/timeSeries?filter=metric.type%20%3D%20%22custom.googleapis.com%2F"
           "edv%2Fhealth%22%20AND%20metric.labels.tenant%20%3D%20%22t1%22"
           "&interval.startTime=2026-11-27T10:00:00Z"
           "&interval.endTime=2026-11-27T10:05:00Z",
       NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "timeSeries"), 1);
  assert_jeq(r.json, "timeSeries.0.metric.labels.tenant", "t1");
  assert_jeq(r.json, "timeSeries.0.valueType", "DOUBLE");
  /* Start is exclusive: 10:01 and 10:02, newest first. */
  assert_int_equal(jlen(r.json, "timeSeries.0.points"), 2);
  assert_jeq(r.json, "timeSeries.0.points.0.value.doubleValue", "2");
  reply_free(&r);
  http(f, "GET",
       MON "/timeSeries?filter=metric.type%3D%22custom.googleapis.com%2F"
           "edv%2Fhealth%22&interval.endTime=2026-11-27T10:05:00Z",
       NULL, &r);
  assert_int_equal(jlen(r.json, "timeSeries"), 2);
  reply_free(&r);
  http(f, "GET", MON "/timeSeries?filter=metric.type%3D%22x%22", NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  fx_free(f);
}

/* The stored resource `name` as /_sim/state has it (r filled). */
static json_object *stored(simfx *f, const char *name, reply *r)
{
  char path[400];
  json_object *items;

  snprintf(path, sizeof(path), "/_sim/state?prefix=%s", name);
  http(f, "GET", path, NULL, r);
  expect_status(r, 200);
  items = json_object_object_get(r->json, "resources");
  assert_int_equal(json_object_array_length(items), 1);
  return json_object_object_get(json_object_array_get_idx(items, 0),
                                "resource");
}

#define MASKED "**************"

static void test_monitoring_channels(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char name[200], path[400], body[1600];

  (void)state;
  /* Each type's required labels, the missing one named. */
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"slack\",\"labels\":{\"channel_name\":\"#a\"}}", &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "labels[auth_token]"));
  reply_free(&r);
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"webhook_basicauth\",\"labels\":{\"url\":\"http://x/\","
       "\"password\":\"p\"}}",
       &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "labels[username]"));
  reply_free(&r);
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"sms\",\"labels\":{}}", &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "labels[number]"));
  reply_free(&r);
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"pubsub\",\"labels\":{\"topic\":\"projects/p/topics/t\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);

  /* A Slack token: kept, answered masked by create, get, list, patch. */
  http(f, "POST", MON "/notificationChannels",
       "{\"type\":\"slack\",\"labels\":{\"channel_name\":\"#a\","
       "\"auth_token\":\"xoxb-s1\"}}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "labels.auth_token", MASKED);
  assert_jeq(r.json, "labels.channel_name", "#a");
  assert_null(strstr(r.body, "xoxb-s1"));
  snprintf(name, sizeof(name), "%s", jget(r.json, "name"));
  reply_free(&r);
  assert_jeq(stored(f, name, &r), "labels.auth_token", "xoxb-s1");
  reply_free(&r);
  snprintf(path, sizeof(path), "/v3/%s", name);
  http(f, "GET", path, NULL, &r);
  assert_jeq(r.json, "labels.auth_token", MASKED);
  reply_free(&r);
  http(f, "GET", MON "/notificationChannels", NULL, &r);
  assert_null(strstr(r.body, "xoxb-s1"));
  assert_non_null(strstr(r.body, MASKED));
  reply_free(&r);
  /* Rotated by a patch (snake_case mask as Google takes too). */
  snprintf(path, sizeof(path), "/v3/%s?updateMask=labels,user_labels", name);
  http(f, "PATCH", path,
       "{\"labels\":{\"channel_name\":\"#a\",\"auth_token\":\"xoxb-s2\"},"
       "\"userLabels\":{\"edv-secret\":\"abc\"}}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "labels.auth_token", MASKED);
  assert_jeq(r.json, "userLabels.edv-secret", "abc");
  assert_int_equal(jlen(r.json, "mutationRecords"), 1);
  reply_free(&r);
  assert_jeq(stored(f, name, &r), "labels.auth_token", "xoxb-s2");
  reply_free(&r);
  /* The masked value sent back keeps the secret; the type stays. */
  snprintf(path, sizeof(path), "/v3/%s?updateMask=labels", name);
  http(f, "PATCH", path,
       "{\"labels\":{\"channel_name\":\"#b\",\"auth_token\":\"" MASKED "\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  {
    json_object *c = stored(f, name, &r);
    assert_jeq(c, "labels.auth_token", "xoxb-s2");
    assert_jeq(c, "labels.channel_name", "#b");
  }
  reply_free(&r);
  snprintf(path, sizeof(path), "/v3/%s?updateMask=type", name);
  http(f, "PATCH", path, "{\"type\":\"email\"}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  snprintf(path, sizeof(path), "/v3/%s?updateMask=labels", name);
  http(f, "PATCH", path, "{\"labels\":{\"channel_name\":\"#b\"}}", &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "labels[auth_token]"));
  reply_free(&r);

  /* Threshold conditions: a ratio with matching aggregations is taken. */
#define RATIO(den, dur, dagg)                                                  \
  "{\"displayName\":\"r\",\"conditions\":[{\"displayName\":\"c\","             \
  "\"conditionThreshold\":{\"filter\":\"metric.type=\\\"a\\\" AND "            \
  "resource.type=\\\"global\\\"\"" den ",\"comparison\":\"COMPARISON_GT\","    \
  "\"thresholdValue\":0.05,\"duration\":\"" dur "\",\"aggregations\":[{"       \
  "\"alignmentPeriod\":\"60s\",\"perSeriesAligner\":\"ALIGN_RATE\","           \
  "\"crossSeriesReducer\":\"REDUCE_SUM\",\"groupByFields\":[\"resource."       \
  "label.\\\"x\\\"\"]}]" dagg "}}]}"
#define DEN ",\"denominatorFilter\":\"metric.type=\\\"b\\\"\""
#define DAGG(period, group)                                                    \
  ",\"denominatorAggregations\":[{\"alignmentPeriod\":\"" period "\","         \
  "\"perSeriesAligner\":\"ALIGN_RATE\",\"crossSeriesReducer\":"                \
  "\"REDUCE_SUM\",\"groupByFields\":[\"" group "\"]}]"
  http(f, "POST", MON "/alertPolicies",
       RATIO(DEN, "300s", DAGG("60s", "resource.label.\\\"x\\\"")), &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "conditions.0.conditionThreshold.denominatorFilter",
             "metric.type=\"b\"");
  snprintf(name, sizeof(name), "%s", jget(r.json, "name"));
  reply_free(&r);
  /* Another alignment period, other groups, no denominator filter, a
   * duration not of whole minutes: refused, naming the field. */
  http(f, "POST", MON "/alertPolicies",
       RATIO(DEN, "300s", DAGG("120s", "resource.label.\\\"x\\\"")), &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "alignment period"));
  reply_free(&r);
  http(f, "POST", MON "/alertPolicies",
       RATIO(DEN, "300s", DAGG("60s", "resource.label.\\\"y\\\"")), &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "POST", MON "/alertPolicies",
       RATIO("", "300s", DAGG("60s", "resource.label.\\\"x\\\"")), &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "denominator_filter"));
  reply_free(&r);
  http(f, "POST", MON "/alertPolicies", RATIO(DEN, "90s", ""), &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "duration"));
  reply_free(&r);
  /* A reducer without an aligner. */
  http(f, "POST", MON "/alertPolicies",
       "{\"displayName\":\"r\",\"conditions\":[{\"displayName\":\"c\","
       "\"conditionThreshold\":{\"filter\":\"metric.type=\\\"a\\\"\","
       "\"duration\":\"60s\",\"aggregations\":[{\"crossSeriesReducer\":"
       "\"REDUCE_SUM\"}]}}]}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* Conditions replaced by a patch get names of their own. */
  snprintf(path, sizeof(path), "/v3/%s?updateMask=conditions", name);
  snprintf(body, sizeof(body), "%s", RATIO("", "60s", ""));
  http(f, "PATCH", path, body, &r);
  expect_status(&r, 200);
  assert_non_null(jget(r.json, "conditions.0.name"));
  assert_null(
      jget(r.json, "conditions.0.conditionThreshold.denominatorFilter"));
  reply_free(&r);
  /* No secret in the simulator's request log. */
  http(f, "GET", "/_sim/requests", NULL, &r);
  expect_status(&r, 200);
  assert_null(strstr(r.body, "xoxb-s"));
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_secrets),
      cmocka_unit_test(test_iam),
      cmocka_unit_test(test_project_policy),
      cmocka_unit_test(test_monitoring),
      cmocka_unit_test(test_monitoring_channels),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
