/*
 * test_sql.c - Cloud SQL Admin in the simulator, through HTTP: the
 * instance lifecycle (PENDING_CREATE -> RUNNABLE, MAINTENANCE during
 * restart), one operation at a time per instance, PostgreSQL tiers,
 * settingsVersion, deletion protection, name reuse after a week of
 * simulated time, databases, users (passwords never echoed or stored),
 * backup runs, final backups that outlive their instance, private IP from a
 * private services access range, on both /v1 and /sql/v1beta4, and a
 * region outage.
 *
 * The realistic profile on a real-time clock: nothing finishes unless the
 * test advances the clock, so every intermediate state is observable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

#define V1 "/v1/projects/edv-sim"
#define VB "/sql/v1beta4/projects/edv-sim"

static const char msg_busy[] =
    "Operation failed because another operation was already in progress. "
    "Try your request after the current operation is complete.";

static void expect_busy(reply *r)
{
  expect_status(r, 409);
  assert_jeq(r->json, "error.errors.0.reason", "operationInProgress");
  assert_jeq(r->json, "error.errors.0.domain", "global");
  assert_jeq(r->json, "error.message", msg_busy);
}

/* Runs every due operation: SQL instance operations take minutes. */
static void settle(simfx *f)
{
  assert_int_equal(advance(f, 900), 200);
}

static void test_sql_lifecycle(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char op[128], run[64];

  (void)state;
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pg1\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"us-central1\",\"settings\":{\"tier\":"
       "\"db-custom-2-4096\",\"availabilityType\":\"REGIONAL\","
       "\"userLabels\":{\"edv-tenant\":\"t1\"},\"backupConfiguration\":{"
       "\"enabled\":true,\"startTime\":\"02:00\","
       "\"pointInTimeRecoveryEnabled\":true,\"transactionLogRetentionDays\":7,"
       "\"backupRetentionSettings\":{\"retainedBackups\":7,\"retentionUnit\":"
       "\"COUNT\"}}},\"rootPassword\":\"root-secret-1\"}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "sql#operation");
  assert_jeq(r.json, "operationType", "CREATE");
  assert_jeq(r.json, "targetId", "pg1");
  assert_jeq(r.json, "status", "PENDING");
  snprintf(op, sizeof(op), "%s", jget(r.json, "name"));
  reply_free(&r);
  /* Visible at once, still being created. */
  http(f, "GET", V1 "/instances/pg1", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "state", "PENDING_CREATE");
  assert_jeq(r.json, "settings.settingsVersion", "1");
  assert_null(strstr(r.body, "root-secret-1"));
  reply_free(&r);
  /* One operation at a time, whatever the sub-collection. */
  http(f, "POST", V1 "/instances/pg1/databases", "{\"name\":\"edv\"}", &r);
  expect_busy(&r);
  reply_free(&r);
  http(f, "PATCH", V1 "/instances/pg1", "{\"settings\":{}}", &r);
  expect_busy(&r);
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pg1\",\"databaseVersion\":\"POSTGRES_15\",\"settings\":{"
       "\"tier\":\"db-f1-micro\"}}",
       &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.errors.0.reason", "instanceAlreadyExists");
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg1", NULL, &r);
  assert_jeq(r.json, "state", "RUNNABLE");
  assert_jeq(r.json, "ipAddresses.0.type", "PRIMARY");
  assert_jeq(r.json, "settings.availabilityType", "REGIONAL");
  assert_jeq(r.json, "connectionName", "edv-sim:us-central1:pg1");
  reply_free(&r);
  httpf(f, "GET", NULL, &r, V1 "/operations/%s", op);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "DONE");
  reply_free(&r);
  /* Databases and users, each an operation on the instance. */
  http(f, "POST", V1 "/instances/pg1/databases", "{\"name\":\"edv\"}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "CREATE_DATABASE");
  reply_free(&r);
  http(f, "POST", V1 "/instances/pg1/users",
       "{\"name\":\"edv\",\"password\":\"s3cret-pw\"}", &r);
  expect_busy(&r);
  reply_free(&r);
  settle(f);
  http(f, "POST", V1 "/instances/pg1/users",
       "{\"name\":\"edv\",\"password\":\"s3cret-pw\"}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "CREATE_USER");
  assert_null(strstr(r.body, "s3cret-pw"));
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg1/users", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "sql#usersList");
  assert_int_equal(jlen(r.json, "items"), 2); /* postgres + edv */
  assert_null(strstr(r.body, "s3cret-pw"));
  reply_free(&r);
  http(f, "GET", "/_sim/state", NULL, &r);
  assert_null(strstr(r.body, "s3cret-pw"));
  assert_null(strstr(r.body, "root-secret-1"));
  reply_free(&r);
  http(f, "GET", V1 "/instances/pg1/databases/edv", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "charset", "UTF8");
  reply_free(&r);
  http(f, "POST", V1 "/instances/pg1/databases", "{\"name\":\"edv\"}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* settingsVersion guards a patch; each patch increments it. */
  http(f, "PATCH", V1 "/instances/pg1",
       "{\"settings\":{\"settingsVersion\":\"7\",\"tier\":"
       "\"db-custom-4-8192\"}}",
       &r);
  expect_status(&r, 412);
  assert_jeq(r.json, "error.errors.0.reason", "staleData");
  assert_jeq(r.json, "error.message", "Condition does not match.");
  reply_free(&r);
  http(f, "PATCH", V1 "/instances/pg1",
       "{\"settings\":{\"settingsVersion\":\"1\",\"tier\":"
       "\"db-custom-4-8192\",\"deletionProtectionEnabled\":true}}",
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "UPDATE");
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg1", NULL, &r);
  assert_jeq(r.json, "settings.settingsVersion", "2");
  assert_jeq(r.json, "settings.tier", "db-custom-4-8192");
  assert_jeq(r.json, "settings.userLabels.edv-tenant", "t1");
  /* Unencrypted connections are accepted unless sslMode says otherwise. */
  assert_jeq(r.json, "settings.ipConfiguration.sslMode",
             "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
  reply_free(&r);
  http(f, "PATCH", V1 "/instances/pg1",
       "{\"settings\":{\"ipConfiguration\":{\"sslMode\":\"TLS_PLEASE\"}}}", &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "invalid");
  reply_free(&r);
  http(f, "PATCH", V1 "/instances/pg1",
       "{\"settings\":{\"ipConfiguration\":{\"sslMode\":\"ENCRYPTED_ONLY\","
       "\"requireSsl\":true}}}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "PATCH", V1 "/instances/pg1",
       "{\"settings\":{\"ipConfiguration\":{\"sslMode\":\"ENCRYPTED_ONLY\"}}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg1", NULL, &r);
  assert_jeq(r.json, "settings.ipConfiguration.sslMode", "ENCRYPTED_ONLY");
  reply_free(&r);
  /* A restart shows MAINTENANCE until it is done. */
  http(f, "POST", V1 "/instances/pg1/restart", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "RESTART");
  reply_free(&r);
  http(f, "GET", V1 "/instances/pg1", NULL, &r);
  assert_jeq(r.json, "state", "MAINTENANCE");
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg1", NULL, &r);
  assert_jeq(r.json, "state", "RUNNABLE");
  reply_free(&r);
  /* Backup runs, and a restore from one. */
  http(f, "POST", V1 "/instances/pg1/backupRuns", "{}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "BACKUP_VOLUME");
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg1/backupRuns", NULL, &r);
  assert_int_equal(jlen(r.json, "items"), 1);
  assert_jeq(r.json, "items.0.status", "SUCCESSFUL");
  snprintf(run, sizeof(run), "%s", jget(r.json, "items.0.id"));
  reply_free(&r);
  httpf(f, "GET", NULL, &r, V1 "/instances/pg1/backupRuns/%s", run);
  expect_status(&r, 200);
  reply_free(&r);
  httpf(f, "POST", "{\"restoreBackupContext\":{\"backupRunId\":\"1\"}}", &r,
        V1 "/instances/pg1/restoreBackup");
  expect_status(&r, 404);
  reply_free(&r);
  {
    char body[200];

    snprintf(body, sizeof(body),
             "{\"restoreBackupContext\":{\"backupRunId\":\"%s\"}}", run);
    http(f, "POST", V1 "/instances/pg1/restoreBackup", body, &r);
    expect_status(&r, 200);
    assert_jeq(r.json, "operationType", "RESTORE_VOLUME");
    reply_free(&r);
  }
  settle(f);
  http(f, "GET", V1 "/operations?instance=pg1", NULL, &r);
  assert_jeq(r.json, "kind", "sql#operationsList");
  assert_true(jlen(r.json, "items") >= 7);
  assert_jeq(r.json, "items.0.operationType", "RESTORE_VOLUME");
  reply_free(&r);
  /* Label filter, as drift detection lists. */
  http(f, "GET", V1 "/instances?filter=settings.userLabels.edv-tenant%3At1",
       NULL, &r);
  assert_int_equal(jlen(r.json, "items"), 1);
  reply_free(&r);
  http(f, "GET", V1 "/instances?filter=settings.userLabels.edv-tenant%3At9",
       NULL, &r);
  assert_int_equal(jlen(r.json, "items"), 0);
  reply_free(&r);
  /* Deletion protection blocks delete until it is turned off. */
  http(f, "DELETE", V1 "/instances/pg1", NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "PATCH", V1 "/instances/pg1",
       "{\"settings\":{\"deletionProtectionEnabled\":false}}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "DELETE", V1 "/instances/pg1", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "DELETE");
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg1", NULL, &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.errors.0.reason", "instanceDoesNotExist");
  reply_free(&r);
  /* The name is refused for a week of simulated time. */
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pg1\",\"databaseVersion\":\"POSTGRES_15\",\"settings\":{"
       "\"tier\":\"db-f1-micro\"}}",
       &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.errors.0.reason", "instanceAlreadyExists");
  assert_jeq(r.json, "error.message",
             "The Cloud SQL instance already exists. When you delete an "
             "instance, you can't reuse the name of the deleted instance "
             "until one week from the deletion date.");
  reply_free(&r);
  assert_int_equal(advance(f, 6 * 86400), 200);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pg1\",\"databaseVersion\":\"POSTGRES_15\",\"settings\":{"
       "\"tier\":\"db-f1-micro\"}}",
       &r);
  expect_status(&r, 409);
  reply_free(&r);
  assert_int_equal(advance(f, 2 * 86400), 200);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pg1\",\"databaseVersion\":\"POSTGRES_15\",\"settings\":{"
       "\"tier\":\"db-f1-micro\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  fx_free(f);
}

static void expect_invalid(simfx *f, const char *body, const char *message)
{
  reply r;

  http(f, "POST", V1 "/instances", body, &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "invalid");
  if (message)
    assert_jeq(r.json, "error.message", message);
  reply_free(&r);
}

static void test_sql_validation(void **state)
{
  simfx *f = fx_start("fast");
  static const char pg_tier[] =
      "Invalid request: Only custom or shared-core instance Billing Tier "
      "type allowed for PostgreSQL database.";
  reply r;

  (void)state;
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-n1-standard-1\"}}",
                 pg_tier);
  /* 3 vCPUs; 8 vCPUs with 0.75 GiB each; 1 vCPU with 7.5 GiB; not a
   * multiple of 256. */
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-custom-3-7680\"}}",
                 pg_tier);
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-custom-8-6144\"}}",
                 pg_tier);
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-custom-1-7680\"}}",
                 pg_tier);
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-custom-1-4000\"}}",
                 pg_tier);
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-custom-2-4096\","
                 "\"availabilityType\":\"GLOBAL\"}}",
                 NULL);
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-g1-small\","
                 "\"backupConfiguration\":{\"startTime\":\"25:00\"}}}",
                 NULL);
  expect_invalid(f,
                 "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-g1-small\","
                 "\"backupConfiguration\":{\"transactionLogRetentionDays\":"
                 "8}}}",
                 NULL);
  expect_invalid(f,
                 "{\"name\":\"Bad_Name\",\"databaseVersion\":\"POSTGRES_15\","
                 "\"settings\":{\"tier\":\"db-g1-small\"}}",
                 NULL);
  /* Fields the schema does not have, or of the wrong type. */
  http(f, "POST", V1 "/instances",
       "{\"name\":\"a1\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-g1-small\",\"tierr\":\"x\"}}",
       &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.message",
             "Invalid JSON payload received. Unknown name \"tierr\" at "
             "'body.settings': Cannot find field.");
  reply_free(&r);
  /* int64 fields take numbers as well as strings. */
  http(f, "POST", V1 "/instances",
       "{\"name\":\"a2\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-g1-small\",\"dataDiskSizeGb\":20}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  /* MySQL takes other tiers. */
  http(f, "POST", V1 "/instances",
       "{\"name\":\"my1\",\"databaseVersion\":\"MYSQL_8_0\",\"settings\":{"
       "\"tier\":\"db-n1-standard-1\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", V1 "/instances/nope", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

static void test_sql_private_ip_v1beta4(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  const char *ip;
  char first[64];

  (void)state;
  http(f, "POST", "/compute/v1/projects/edv-sim/global/networks",
       "{\"name\":\"edv-vpc\",\"autoCreateSubnetworks\":false}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  assert_int_equal(advance(f, 120), 200);
  http(f, "POST", "/compute/v1/projects/edv-sim/global/addresses",
       "{\"name\":\"edv-psa\",\"purpose\":\"VPC_PEERING\",\"addressType\":"
       "\"INTERNAL\",\"prefixLength\":16,\"address\":\"10.60.0.0\","
       "\"network\":\"projects/edv-sim/global/networks/edv-vpc\"}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  assert_int_equal(advance(f, 120), 200);
  /* No private services access connection yet. */
  http(f, "POST", VB "/instances",
       "{\"name\":\"pgp\",\"databaseVersion\":\"POSTGRES_15\",\"settings\":{"
       "\"tier\":\"db-custom-1-3840\",\"ipConfiguration\":{\"ipv4Enabled\":"
       "false,\"privateNetwork\":\"projects/edv-sim/global/networks/"
       "edv-vpc\"}}}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* Service networking checks its ranges. */
  http(f, "POST", "/v1/services/servicenetworking.googleapis.com/connections",
       "{\"network\":\"projects/edv-sim/global/networks/edv-vpc\","
       "\"reservedPeeringRanges\":[\"missing\"]}",
       &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.status", "FAILED_PRECONDITION");
  reply_free(&r);
  http(f, "POST", "/v1/services/servicenetworking.googleapis.com/connections",
       "{\"network\":\"projects/123456789/global/networks/edv-vpc\","
       "\"reservedPeeringRanges\":[\"edv-psa\"]}",
       &r);
  expect_status(&r, 200);
  assert_non_null(strstr(jget(r.json, "name"), "/operations/"));
  assert_jeq(r.json, "done", "false");
  reply_free(&r);
  assert_int_equal(advance(f, 120), 200);
  http(f, "GET",
       "/v1/services/servicenetworking.googleapis.com/connections?network="
       "projects%2Fedv-sim%2Fglobal%2Fnetworks%2Fedv-vpc",
       NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "connections.0.reservedPeeringRanges.0", "edv-psa");
  assert_jeq(r.json, "connections.0.peering",
             "servicenetworking-googleapis-com");
  reply_free(&r);
  http(f, "POST", VB "/instances",
       "{\"name\":\"pgp\",\"databaseVersion\":\"POSTGRES_15\",\"settings\":{"
       "\"tier\":\"db-custom-1-3840\",\"ipConfiguration\":{\"ipv4Enabled\":"
       "false,\"privateNetwork\":\"projects/edv-sim/global/networks/"
       "edv-vpc\"}}}",
       &r);
  expect_status(&r, 200);
  assert_non_null(strstr(jget(r.json, "selfLink"), "/operations/"));
  reply_free(&r);
  settle(f);
  http(f, "GET", VB "/instances/pgp", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "state", "RUNNABLE");
  assert_int_equal(jlen(r.json, "ipAddresses"), 1);
  assert_jeq(r.json, "ipAddresses.0.type", "PRIVATE");
  ip = jget(r.json, "ipAddresses.0.ipAddress");
  assert_int_equal(strncmp(ip, "10.60.", 6), 0);
  snprintf(first, sizeof(first), "%s", ip);
  reply_free(&r);
  /* A second instance gets the next free address, not a held one. */
  http(f, "POST", VB "/instances",
       "{\"name\":\"pgq\",\"databaseVersion\":\"POSTGRES_15\",\"settings\":{"
       "\"tier\":\"db-custom-1-3840\",\"ipConfiguration\":{\"ipv4Enabled\":"
       "false,\"privateNetwork\":\"projects/edv-sim/global/networks/"
       "edv-vpc\"}}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "GET", VB "/instances/pgq", NULL, &r);
  expect_status(&r, 200);
  ip = jget(r.json, "ipAddresses.0.ipAddress");
  assert_non_null(ip);
  assert_int_equal(strncmp(ip, "10.60.", 6), 0);
  assert_string_not_equal(ip, first);
  reply_free(&r);
  http(f, "GET", VB "/operations?instance=pgp", NULL, &r);
  assert_jeq(r.json, "items.0.status", "DONE");
  assert_jeq(r.json, "items.0.operationType", "CREATE");
  reply_free(&r);
  fx_free(f);
}

/* An instance being created when the simulator stops is finished by the
 * restarted one (operations and their payloads live in the state file);
 * a deleted name stays refused across the restart. */
static void test_sql_restart(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char dir[64];

  (void)state;
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pgr\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-g1-small\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pgd\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-g1-small\"}}",
       &r);
  reply_free(&r);
  settle(f);
  http(f, "DELETE", V1 "/instances/pgd", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pgs\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-g1-small\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  snprintf(dir, sizeof(dir), "%s", f->dir);
  fx_stop(f, 1);
  f = fx_start_in("realistic", dir);
  http(f, "GET", V1 "/instances/pgs", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "state", "PENDING_CREATE");
  reply_free(&r);
  http(f, "POST", V1 "/instances/pgs/restart", NULL, &r);
  expect_busy(&r);
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pgs", NULL, &r);
  assert_jeq(r.json, "state", "RUNNABLE");
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pgd\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-g1-small\"}}",
       &r);
  expect_status(&r, 409);
  reply_free(&r);
  fx_free(f);
}

/* Sets the stored state of instance `name` in a stopped simulator's state
 * file (a state Google can leave an instance in, such as SUSPENDED). */
static void set_instance_state(const char *path, const char *name,
                               const char *state)
{
  json_object *root = json_object_from_file(path), *res;
  char key[200];
  int hit = 0;

  assert_non_null(root);
  snprintf(key, sizeof(key), "projects/edv-sim/instances/%s", name);
  res = json_object_object_get(root, "resources");
  for (size_t i = 0; i < json_object_array_length(res); i++) {
    json_object *e = json_object_array_get_idx(res, i);

    if (strcmp(jget(e, "name"), key) != 0)
      continue;
    json_object_object_add(json_object_object_get(e, "obj"), "state",
                           json_object_new_string(state));
    hit = 1;
  }
  assert_true(hit);
  assert_int_equal(json_object_to_file_ext(path, root, JSON_C_TO_STRING_PLAIN),
                   0);
  json_object_put(root);
}

/*
 * users.update (PUT .../users?name=N[&host=H]) on both bases: an
 * UPDATE_USER operation on the instance, one at a time; the new password
 * reaches no response, the request log or the state; unknown user, no
 * name, an unknown field, a host that is not the user's and an instance
 * that is not RUNNABLE get Google's errors.
 */
static void test_sql_users_update(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char op[128], dir[64];

  (void)state;
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pgu\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-f1-micro\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", VB "/instances",
       "{\"name\":\"myu\",\"databaseVersion\":\"MYSQL_8_0\","
       "\"settings\":{\"tier\":\"db-n1-standard-1\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  /* Still PENDING_CREATE: its create operation holds it. */
  http(f, "PUT", V1 "/instances/pgu/users?name=postgres",
       "{\"password\":\"early-pw-0\"}", &r);
  expect_busy(&r);
  reply_free(&r);
  settle(f);
  http(f, "POST", V1 "/instances/pgu/users",
       "{\"name\":\"edv\",\"password\":\"first-pw-1\"}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);

  http(f, "PUT", V1 "/instances/pgu/users?name=edv",
       "{\"name\":\"edv\",\"password\":\"second-pw-2\"}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "sql#operation");
  assert_jeq(r.json, "operationType", "UPDATE_USER");
  assert_jeq(r.json, "targetId", "pgu");
  assert_jeq(r.json, "status", "PENDING");
  assert_null(strstr(r.body, "second-pw-2"));
  snprintf(op, sizeof(op), "%s", jget(r.json, "name"));
  reply_free(&r);
  /* One operation at a time on the instance. */
  http(f, "PUT", V1 "/instances/pgu/users?name=edv",
       "{\"password\":\"third-pw-3\"}", &r);
  expect_busy(&r);
  reply_free(&r);
  settle(f);
  httpf(f, "GET", NULL, &r, V1 "/operations/%s", op);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "DONE");
  assert_jeq(r.json, "operationType", "UPDATE_USER");
  assert_null(jget(r.json, "error"));
  assert_null(strstr(r.body, "second-pw-2"));
  reply_free(&r);
  http(f, "GET", V1 "/instances/pgu/users", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "items"), 2);
  assert_null(strstr(r.body, "pw-"));
  assert_null(strstr(r.body, "password\""));
  reply_free(&r);
  http(f, "GET", "/_sim/state", NULL, &r);
  expect_status(&r, 200);
  assert_null(strstr(r.body, "pw-"));
  reply_free(&r);
  http(f, "GET", "/_sim/requests", NULL, &r);
  expect_status(&r, 200);
  assert_non_null(strstr(r.body, "sql.users.update"));
  assert_null(strstr(r.body, "pw-"));
  reply_free(&r);

  /* Errors. */
  http(f, "PUT", V1 "/instances/pgu/users?name=nobody",
       "{\"password\":\"x-pw-4\"}", &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.errors.0.reason", "notFound");
  assert_jeq(r.json, "error.message", "Not Found: user nobody does not exist.");
  reply_free(&r);
  http(f, "PUT", V1 "/instances/pgu/users",
       "{\"name\":\"edv\","
       "\"password\":\"x-pw-5\"}",
       &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "required");
  assert_jeq(r.json, "error.message", "Missing parameter: user.");
  reply_free(&r);
  http(f, "PUT", V1 "/instances/pgu/users?name=edv", "{\"passwd\":\"x-pw-6\"}",
       &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "invalid");
  assert_jeq(r.json, "error.message",
             "Invalid JSON payload received. Unknown name \"passwd\" at "
             "'body': Cannot find field.");
  reply_free(&r);
  http(f, "PUT", V1 "/instances/nope/users?name=edv",
       "{\"password\":\"x-pw-7\"}", &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.errors.0.reason", "instanceDoesNotExist");
  reply_free(&r);

  /* MySQL on /sql/v1beta4: the account is name@host. */
  http(f, "PUT", VB "/instances/myu/users?name=root&host=10.0.0.1",
       "{\"password\":\"x-pw-8\"}", &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.errors.0.reason", "notFound");
  reply_free(&r);
  http(f, "PUT", VB "/instances/myu/users?name=root&host=%25",
       "{\"password\":\"root-pw-9\"}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "UPDATE_USER");
  assert_jeq(r.json, "targetId", "myu");
  assert_null(strstr(r.body, "root-pw-9"));
  reply_free(&r);
  settle(f);
  http(f, "GET", VB "/operations?instance=myu", NULL, &r);
  assert_jeq(r.json, "items.0.operationType", "UPDATE_USER");
  assert_jeq(r.json, "items.0.status", "DONE");
  reply_free(&r);

  /* An instance that is not RUNNABLE (and has no operation running). */
  snprintf(dir, sizeof(dir), "%s", f->dir);
  fx_stop(f, 1);
  {
    char path[128];

    snprintf(path, sizeof(path), "%s/state.json", dir);
    set_instance_state(path, "pgu", "SUSPENDED");
  }
  f = fx_start_in("realistic", dir);
  http(f, "PUT", V1 "/instances/pgu/users?name=edv",
       "{\"password\":\"x-pw-10\"}", &r);
  expect_status(&r, 409);
  assert_jeq(r.json, "error.errors.0.reason", "invalidState");
  assert_jeq(r.json, "error.message",
             "The instance or operation is not in an appropriate state to "
             "handle the request.");
  reply_free(&r);
  fx_free(f);
}

/*
 * instances.list: `filter` (Cloud SQL's `field:value`, nested fields,
 * space-separated or AND/OR), `maxResults` and `pageToken`.
 */
static void test_sql_list_filter_pages(void **state)
{
  static const char *const labels[] = {
      "\"edv-managed\":\"true\",\"edv-tenant\":\"a\"",
      "\"edv-managed\":\"true\",\"edv-tenant\":\"b\"",
      "\"edv-managed\":\"false\",\"edv-tenant\":\"c\"",
      "\"edv-managed\":\"true\",\"edv-tenant\":\"d\"",
      "\"other\":\"x\"",
  };
  simfx *f = fx_start("fast");
  char body[400], names[400];
  reply r;
  int pages;

  (void)state;
  for (size_t i = 0; i < sizeof(labels) / sizeof(*labels); i++) {
    snprintf(body, sizeof(body),
             "{\"name\":\"pg-%c\",\"databaseVersion\":\"POSTGRES_15\","
             "\"settings\":{\"tier\":\"db-f1-micro\",\"userLabels\":{%s}}}",
             (int)('a' + i), labels[i]);
    http(f, "POST", VB "/instances", body, &r);
    expect_status(&r, 200);
    reply_free(&r);
  }
  /* No filter, every instance on one page (500 by default). */
  list_names(f, VB "/instances", "items", "sql#instancesList", "maxResults=0",
             names, sizeof(names), &pages);
  assert_string_equal(names, "pg-a pg-b pg-c pg-d pg-e ");
  assert_int_equal(pages, 1);
  /* Pages of two, every instance once. */
  list_names(f, VB "/instances", "items", "sql#instancesList", "maxResults=2",
             names, sizeof(names), &pages);
  assert_string_equal(names, "pg-a pg-b pg-c pg-d pg-e ");
  assert_int_equal(pages, 3);
  /* The label filter drift detection sends, paged. */
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "filter=settings.userLabels.edv-managed%3Atrue&maxResults=1",
             names, sizeof(names), &pages);
  assert_string_equal(names, "pg-a pg-b pg-d ");
  assert_int_equal(pages, 3);
  /* Space-separated terms are ANDed; AND and OR explicitly; quotes; =. */
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "filter=settings.userLabels.edv-managed%3Atrue%20"
             "settings.userLabels.edv-tenant%3Ab",
             names, sizeof(names), &pages);
  assert_string_equal(names, "pg-b ");
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "filter=settings.userLabels.edv-managed%3Atrue%20AND%20"
             "settings.userLabels.edv-tenant%3Ab%20OR%20"
             "settings.userLabels.edv-tenant%3A%22d%22",
             names, sizeof(names), &pages);
  assert_string_equal(names, "pg-b pg-d ");
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "filter=name%3Dpg-e%20databaseVersion%3APOSTGRES_15", names,
             sizeof(names), &pages);
  assert_string_equal(names, "pg-e ");
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "filter=settings.userLabels.edv-managed%21%3Dtrue", names,
             sizeof(names), &pages);
  assert_string_equal(names, "pg-c pg-e ");
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "filter=settings.userLabels%3Aother", names, sizeof(names),
             &pages);
  assert_string_equal(names, "pg-e ");
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "filter=settings.userLabels.nosuch%3Atrue", names, sizeof(names),
             &pages);
  assert_string_equal(names, "");
  /* Above 1000: 1000. */
  list_names(f, VB "/instances", "items", "sql#instancesList",
             "maxResults=5000", names, sizeof(names), &pages);
  assert_int_equal(pages, 1);
  /* Refused: what the subset does not read, bad numbers, foreign tokens. */
  http(f, "GET", VB "/instances?filter=%28name%3Apg-a%29", NULL, &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "invalid");
  assert_non_null(strstr(jget(r.json, "error.message"), "filter"));
  reply_free(&r);
  http(f, "GET", VB "/instances?filter=name%3A", NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "GET", VB "/instances?maxResults=two", NULL, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "maxResults"));
  reply_free(&r);
  http(f, "GET", VB "/instances?pageToken=projects%2Fother%2Finstances%2Fx",
       NULL, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "page token"));
  reply_free(&r);
  fx_free(f);
}

/* The data version (GET /_sim/sql/instances/I/dataVersion[?at=]) of
 * instance `inst` now (at NULL) or at `at`; *ms gets the time it is of. */
static long long data_version(simfx *f, const char *inst, const char *at,
                              char *when, size_t n)
{
  reply r;
  long long v;

  if (at)
    httpf(f, "GET", NULL, &r, "/_sim/sql/instances/%s/dataVersion?at=%s", inst,
          at);
  else
    httpf(f, "GET", NULL, &r, "/_sim/sql/instances/%s/dataVersion", inst);
  expect_status(&r, 200);
  assert_non_null(jget(r.json, "dataVersion"));
  v = atoll(jget(r.json, "dataVersion"));
  if (when)
    snprintf(when, n, "%s", jget(r.json, "time"));
  reply_free(&r);
  return v;
}

/* The version the last segment of the instance's history started with:
 * what its data was set to by a clone or a restore. */
static long long data_version_set(simfx *f, const char *inst)
{
  reply r;
  long long v;
  size_t n;
  char path[64];

  httpf(f, "GET", NULL, &r, "/_sim/sql/instances/%s/dataVersion", inst);
  expect_status(&r, 200);
  n = jlen(r.json, "segments");
  assert_true(n > 0);
  snprintf(path, sizeof(path), "segments.%zu.version", n - 1);
  v = atoll(jget(r.json, path));
  reply_free(&r);
  return v;
}

/*
 * The data version advances with the clock; backups capture it (and are
 * stored where backupConfiguration.location says); restoreBackup sets it;
 * a clone at pointInTime starts with the source's version of then, inside
 * the recovery window only (400 naming it, nothing created, otherwise);
 * getLatestRecoveryTime reports the window; a clone has the source's
 * databases.
 */
static void test_sql_pitr(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char t0[40], t1[40], when[40], run[64], body[400];
  long long v0, v1, vb, vt;

  (void)state;
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pg2\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"europe-west1\",\"settings\":{\"tier\":"
       "\"db-custom-1-3840\",\"backupConfiguration\":{\"enabled\":true,"
       "\"location\":\"us\",\"pointInTimeRecoveryEnabled\":true,"
       "\"transactionLogRetentionDays\":2}}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"nopitr\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-custom-1-3840\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"badloc\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-custom-1-3840\",\"backupConfiguration\":"
       "{\"location\":\"US East\"}}}",
       &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "location"));
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg2", NULL, &r);
  assert_jeq(r.json, "settings.backupConfiguration.location", "us");
  reply_free(&r);
  http(f, "POST", V1 "/instances/pg2/databases", "{\"name\":\"school\"}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  v0 = data_version(f, "pg2", NULL, t0, sizeof(t0));
  assert_int_equal(advance(f, 3600), 200);
  /* It went on, and its past is kept. */
  v1 = data_version(f, "pg2", NULL, t1, sizeof(t1));
  assert_true(v1 >= v0 + 3600);
  assert_int_equal(data_version(f, "pg2", t0, NULL, 0), v0);
  /* A backup: in the configured location, with the version of its start. */
  http(f, "POST", V1 "/instances/pg2/backupRuns", "{}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg2/backupRuns", NULL, &r);
  assert_jeq(r.json, "items.0.location", "us");
  snprintf(run, sizeof(run), "%s", jget(r.json, "items.0.id"));
  vb = data_version(f, "pg2", jget(r.json, "items.0.startTime"), NULL, 0);
  reply_free(&r);
  assert_true(vb >= v1);
  assert_int_equal(advance(f, 3600), 200);
  /* The window: creation (less than 2 days ago) to now. */
  http(f, "GET", V1 "/instances/pg2/getLatestRecoveryTime", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "sql#getLatestRecoveryTime");
  snprintf(when, sizeof(when), "%s", jget(r.json, "earliestRecoveryTime"));
  reply_free(&r);
  http(f, "GET", V1 "/instances/pg2", NULL, &r);
  assert_string_equal(when, jget(r.json, "createTime"));
  reply_free(&r);
  http(f, "GET", VB "/instances/nopitr/getLatestRecoveryTime", NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* A clone at t1 has t1's data, and the source's databases. */
  snprintf(body, sizeof(body),
           "{\"cloneContext\":{\"destinationInstanceName\":\"pg2-t1\","
           "\"pointInTime\":\"%s\"}}",
           t1);
  http(f, "POST", V1 "/instances/pg2/clone", body, &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg2-t1", NULL, &r);
  assert_jeq(r.json, "state", "RUNNABLE");
  reply_free(&r);
  assert_int_equal(data_version_set(f, "pg2-t1"), v1);
  http(f, "GET", V1 "/instances/pg2-t1/databases/school", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "instance", "pg2-t1");
  reply_free(&r);
  /* Outside the window: 400 naming it, nothing created. Before the
   * instance existed, the future, not a time, an instance without
   * point-in-time recovery. */
  {
    static const char *const bad_times[] = {"2000-01-01T00:00:00Z",
                                            "2999-01-01T00:00:00.000Z"};
    for (size_t i = 0; i < 2; i++) {
      snprintf(body, sizeof(body),
               "{\"cloneContext\":{\"destinationInstanceName\":\"pg2-bad\","
               "\"pointInTime\":\"%s\"}}",
               bad_times[i]);
      http(f, "POST", V1 "/instances/pg2/clone", body, &r);
      expect_status(&r, 400);
      assert_non_null(strstr(jget(r.json, "error.message"), "recovery window"));
      reply_free(&r);
    }
  }
  http(f, "POST", V1 "/instances/pg2/clone",
       "{\"cloneContext\":{\"destinationInstanceName\":\"pg2-bad\","
       "\"pointInTime\":\"yesterday\"}}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "POST", V1 "/instances/nopitr/clone",
       "{\"cloneContext\":{\"destinationInstanceName\":\"pg2-bad\","
       "\"pointInTime\":\"2026-01-01T00:00:00Z\"}}",
       &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "not enabled"));
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pg2-bad", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* Past the 2 days of logs: t0 falls out of the window. */
  assert_int_equal(advance(f, 2 * 86400), 200);
  snprintf(body, sizeof(body),
           "{\"cloneContext\":{\"destinationInstanceName\":\"pg2-bad\","
           "\"pointInTime\":\"%s\"}}",
           t0);
  http(f, "POST", V1 "/instances/pg2/clone", body, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"), "recovery window"));
  reply_free(&r);
  /* restoreBackup: the backup's version. */
  snprintf(body, sizeof(body),
           "{\"restoreBackupContext\":{\"backupRunId\":\"%s\"}}", run);
  http(f, "POST", V1 "/instances/pg2/restoreBackup", body, &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  assert_int_equal(data_version_set(f, "pg2"), vb);
  vt = data_version(f, "pg2", NULL, NULL, 0);
  assert_true(vt >= vb && vt < v1 + 3600);
  fx_free(f);
}

/*
 * Final backups: instances.delete with enableFinalBackup leaves a FINAL
 * project backup that outlives the instance (list with a filter, get),
 * bad final-backup parameters are refused before anything changes,
 * restoreBackup with `backup` restores it onto another instance (the
 * simulator records the source), and the backup is gone at its expiry on
 * the simulated clock; deleting one is an operation.
 */
static void test_sql_final_backup(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char name[128], path[200], body[300];
  long long fv;

  (void)state;
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pgf\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"us-central1\",\"settings\":{\"tier\":\"db-g1-small\"}}",
       &r);
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"pgn\",\"databaseVersion\":\"POSTGRES_15\","
       "\"settings\":{\"tier\":\"db-g1-small\"}}",
       &r);
  reply_free(&r);
  settle(f);
  http(f, "DELETE",
       V1 "/instances/pgf?enableFinalBackup=true&finalBackupTtlDays=0", NULL,
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "DELETE",
       V1 "/instances/pgf?enableFinalBackup=true&finalBackupTtlDays=3&"
          "finalBackupExpiryTime=2999-01-01T00:00:00Z",
       NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "DELETE", V1 "/instances/pgf?finalBackupTtlDays=3", NULL, &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "GET", V1 "/instances/pgf", NULL, &r);
  assert_jeq(r.json, "state", "RUNNABLE");
  reply_free(&r);
  /* Stopped, its data holds still: the version the final backup keeps. */
  http(f, "PATCH", V1 "/instances/pgf",
       "{\"settings\":{\"activationPolicy\":\"NEVER\"}}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  assert_int_equal(advance(f, 60), 200); /* pgn's data goes on */
  fv = data_version(f, "pgf", NULL, NULL, 0);
  assert_true(fv > 0);
  assert_true(data_version(f, "pgn", NULL, NULL, 0) != fv);
  http(f, "DELETE",
       V1 "/instances/pgf?enableFinalBackup=true&finalBackupTtlDays=3&"
          "finalBackupDescription=last",
       NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/pgf", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "GET", V1 "/backups?filter=instance:pgf%20type:FINAL", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "backups"), 1);
  assert_jeq(r.json, "backups.0.type", "FINAL");
  assert_jeq(r.json, "backups.0.state", "SUCCESSFUL");
  assert_jeq(r.json, "backups.0.instance", "pgf");
  assert_jeq(r.json, "backups.0.ttlDays", "3");
  assert_jeq(r.json, "backups.0.description", "last");
  assert_non_null(jget(r.json, "backups.0.instanceDeletionTime"));
  assert_non_null(jget(r.json, "backups.0.expiryTime"));
  snprintf(name, sizeof(name), "%s", jget(r.json, "backups.0.name"));
  reply_free(&r);
  http(f, "GET", V1 "/backups?filter=instance:pgn", NULL, &r);
  assert_int_equal(jlen(r.json, "backups"), 0);
  reply_free(&r);
  snprintf(path, sizeof(path), "/v1/%s", name);
  http(f, "GET", path, NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "name", name);
  reply_free(&r);
  /* Restored onto another instance: the simulator records the source. */
  snprintf(body, sizeof(body), "{\"backup\":\"%s\"}", name);
  http(f, "POST", V1 "/instances/pgn/restoreBackup", body, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "RESTORE_VOLUME");
  reply_free(&r);
  settle(f);
  http(f, "GET", "/_sim/state?kind=sql.simRestore", NULL, &r);
  expect_status(&r, 200);
  assert_non_null(strstr(r.body, name));
  assert_non_null(strstr(r.body, "\"pgn\""));
  reply_free(&r);
  /* ... and its data is the deleted instance's, as it was then. */
  assert_int_equal(data_version_set(f, "pgn"), fv);
  http(f, "POST", V1 "/instances/pgn/restoreBackup",
       "{\"backup\":\"projects/edv-sim/backups/42\"}", &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* Three days later it is gone. */
  assert_int_equal(advance(f, 3 * 86400 + 60), 200);
  http(f, "GET", path, NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "POST", V1 "/instances/pgn/restoreBackup", body, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* Deleting one is an operation; then it is gone. */
  http(f, "DELETE", V1 "/instances/pgn?enableFinalBackup=true", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "GET", "/_sim/state?kind=sql.simRestore", NULL, &r);
  assert_null(strstr(r.body, "\"pgn\""));
  reply_free(&r);
  http(f, "GET", V1 "/backups", NULL, &r);
  assert_int_equal(jlen(r.json, "backups"), 1);
  assert_jeq(r.json, "backups.0.ttlDays", "30");
  snprintf(path, sizeof(path), "/v1/%s", jget(r.json, "backups.0.name"));
  reply_free(&r);
  http(f, "DELETE", path, NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "DELETE_BACKUP");
  reply_free(&r);
  settle(f);
  http(f, "GET", path, NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

/* A region out of service (POST /_sim/faults {"regionDown"}): Compute
 * and Cloud SQL calls on its resources answer 503 backendError, the
 * region and its zones say DOWN, backup runs kept elsewhere are still
 * listed and restorable onto an instance of another region while those
 * kept in the region are not, and removing the fault brings it back. */
static void test_sql_region_down(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char run[64], body[300];

  (void)state;
  http(f, "POST", V1 "/instances",
       "{\"name\":\"away\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"europe-west1\",\"settings\":{\"tier\":"
       "\"db-custom-1-3840\",\"backupConfiguration\":{\"enabled\":true,"
       "\"location\":\"eu\"}}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"home\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"europe-west1\",\"settings\":{\"tier\":"
       "\"db-custom-1-3840\",\"backupConfiguration\":{\"enabled\":true,"
       "\"location\":\"europe-west1\"}}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", V1 "/instances",
       "{\"name\":\"elsewhere\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"us-central1\",\"settings\":{\"tier\":"
       "\"db-custom-1-3840\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "POST", V1 "/instances/away/backupRuns", "{}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "POST", V1 "/instances/home/backupRuns", "{}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "GET", V1 "/instances/away/backupRuns", NULL, &r);
  snprintf(run, sizeof(run), "%s", jget(r.json, "items.0.id"));
  reply_free(&r);

  http(f, "POST", "/_sim/faults", "{\"regionDown\":\"europe-west1\"}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", V1 "/instances/away", NULL, &r);
  expect_status(&r, 503);
  assert_jeq(r.json, "error.errors.0.reason", "backendError");
  reply_free(&r);
  http(f, "GET", V1 "/instances/elsewhere", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/edv-sim/regions/europe-west1", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "DOWN");
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/edv-sim/zones/europe-west1-b", NULL, &r);
  assert_jeq(r.json, "status", "DOWN");
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/edv-sim/regions/us-central1", NULL, &r);
  assert_jeq(r.json, "status", "UP");
  reply_free(&r);
  http(f, "GET",
       "/compute/v1/projects/edv-sim/regions/europe-west1/subnetworks", NULL,
       &r);
  expect_status(&r, 503);
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/edv-sim/zones/europe-west1-b/instances",
       NULL, &r);
  expect_status(&r, 503);
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/edv-sim/zones/us-central1-a/instances",
       NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  /* Kept in `eu`: listed, and restorable elsewhere; kept in the region:
   * not listed, not restorable. */
  http(f, "GET", V1 "/instances/away/backupRuns", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "items"), 1);
  reply_free(&r);
  http(f, "GET", V1 "/instances/home/backupRuns", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "items"), 0);
  reply_free(&r);
  snprintf(body, sizeof(body),
           "{\"restoreBackupContext\":{\"backupRunId\":\"%s\","
           "\"instanceId\":\"away\"}}",
           run);
  http(f, "POST", V1 "/instances/elsewhere/restoreBackup", body, &r);
  expect_status(&r, 200);
  reply_free(&r);
  settle(f);
  http(f, "POST", V1 "/instances/away/restoreBackup", body, &r);
  expect_status(&r, 503);
  reply_free(&r);

  http(f, "DELETE", "/_sim/faults", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", V1 "/instances/away", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "state", "RUNNABLE");
  reply_free(&r);
  http(f, "GET", V1 "/instances/home/backupRuns", NULL, &r);
  assert_int_equal(jlen(r.json, "items"), 1);
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/edv-sim/regions/europe-west1", NULL, &r);
  assert_jeq(r.json, "status", "UP");
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sql_lifecycle),
      cmocka_unit_test(test_sql_validation),
      cmocka_unit_test(test_sql_private_ip_v1beta4),
      cmocka_unit_test(test_sql_restart),
      cmocka_unit_test(test_sql_users_update),
      cmocka_unit_test(test_sql_list_filter_pages),
      cmocka_unit_test(test_sql_final_backup),
      cmocka_unit_test(test_sql_pitr),
      cmocka_unit_test(test_sql_region_down),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
