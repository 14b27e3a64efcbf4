/*
 * test_envelope.c - every error body of docs/google-cloud.md sections 1-6,
 * parsed into the typed error the callers branch on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "transport/transport.h"

typedef struct env_case {
  const char *name;
  int http;
  const char *body;
  edv_code code;
  const char *reason; /* expected edv_error.reason, or NULL for "" */
  const char *status; /* expected edv_error.status, or NULL for "" */
  const char *msg;    /* substring of the message */
  int transient;      /* edv_error_is_transient */
} env_case;

static const env_case http_cases[] = {
    /* Section 2: Compute's legacy reasons. */
    {"compute 409 alreadyExists", 409,
     "{\"error\":{\"code\":409,\"message\":\"The resource "
     "'projects/P/global/networks/N' already exists\",\"errors\":[{"
     "\"message\":\"The resource 'projects/P/global/networks/N' already "
     "exists\",\"domain\":\"global\",\"reason\":\"alreadyExists\"}]}}",
     EDV_EEXIST, "alreadyExists", NULL, "already exists", 0},
    {"compute 404 notFound", 404,
     "{\"error\":{\"code\":404,\"message\":\"The resource "
     "'projects/P/zones/Z/instances/I' was not found\",\"errors\":[{"
     "\"message\":\"The resource 'projects/P/zones/Z/instances/I' was not "
     "found\",\"domain\":\"global\",\"reason\":\"notFound\"}]}}",
     EDV_ENOTFOUND, "notFound", NULL, "was not found", 0},
    {"compute 400 resourceNotReady", 400,
     "{\"error\":{\"code\":400,\"message\":\"The resource "
     "'projects/P/regions/R/subnetworks/default' is not ready\","
     "\"errors\":[{\"domain\":\"global\",\"reason\":\"resourceNotReady\","
     "\"message\":\"The resource 'projects/P/regions/R/subnetworks/default'"
     " is not ready\"}]}}",
     EDV_ENOTREADY, "resourceNotReady", NULL, "is not ready", 0},
    {"compute 400 resourceInUseByAnotherResource", 400,
     "{\"error\":{\"code\":400,\"message\":\"The network resource "
     "'projects/P/global/networks/N' is already being used by "
     "'projects/P/global/firewalls/F'\",\"errors\":[{\"domain\":\"global\","
     "\"reason\":\"resourceInUseByAnotherResource\",\"message\":\"x\"}]}}",
     EDV_EINUSE, "resourceInUseByAnotherResource", NULL, "being used by", 0},
    {"compute 403 rateLimitExceeded", 403,
     "{\"error\":{\"code\":403,\"message\":\"Rate Limit Exceeded\","
     "\"errors\":[{\"domain\":\"usageLimits\",\"reason\":"
     "\"rateLimitExceeded\",\"message\":\"Rate Limit Exceeded\"}]}}",
     EDV_ERATELIMIT, "rateLimitExceeded", NULL, "Rate Limit", 1},
    {"compute 403 userRateLimitExceeded", 403,
     "{\"error\":{\"code\":403,\"message\":\"User Rate Limit Exceeded\","
     "\"errors\":[{\"domain\":\"usageLimits\",\"reason\":"
     "\"userRateLimitExceeded\"}]}}",
     EDV_ERATELIMIT, "userRateLimitExceeded", NULL, "User Rate", 1},
    {"compute 403 quotaExceeded global", 403,
     "{\"error\":{\"code\":403,\"message\":\"Quota 'NETWORKS' exceeded. "
     "Limit: 5.0 globally.\",\"errors\":[{\"domain\":\"usageLimits\","
     "\"reason\":\"quotaExceeded\",\"message\":\"Quota 'NETWORKS' exceeded. "
     "Limit: 5.0 globally.\"}]}}",
     EDV_EQUOTA, "quotaExceeded", NULL, "Limit: 5.0 globally", 0},
    {"compute 403 quotaExceeded regional", 403,
     "{\"error\":{\"code\":403,\"message\":\"Quota 'CPUS' exceeded. Limit: "
     "24.0 in region us-central1.\",\"errors\":[{\"domain\":\"usageLimits\","
     "\"reason\":\"quotaExceeded\"}]}}",
     EDV_EQUOTA, "quotaExceeded", NULL, "in region us-central1", 0},
    {"compute 412 conditionNotMet", 412,
     "{\"error\":{\"code\":412,\"message\":\"Supplied fingerprint does not "
     "match current metadata fingerprint.\",\"errors\":[{\"domain\":"
     "\"global\",\"reason\":\"conditionNotMet\"}]}}",
     EDV_EPRECONDITION, "conditionNotMet", NULL, "fingerprint", 0},
    /* Section 2: AIP-193 style, and the mixed Cloud SQL 429. */
    {"sqladmin 429 mixed", 429,
     "{\"error\":{\"code\":429,\"message\":\"Quota exceeded for quota "
     "metric 'Queries' and limit 'Queries per minute per user' of service "
     "'sqladmin.googleapis.com' for consumer 'project_number:N'.\","
     "\"errors\":[{\"message\":\"Quota exceeded\",\"domain\":\"global\","
     "\"reason\":\"rateLimitExceeded\"}],\"status\":\"RESOURCE_EXHAUSTED\","
     "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
     "\"reason\":\"RATE_LIMIT_EXCEEDED\",\"domain\":\"googleapis.com\","
     "\"metadata\":{\"quota_limit\":\"defaultPerMinutePerUser\","
     "\"quota_limit_value\":\"180\",\"quota_metric\":"
     "\"sqladmin.googleapis.com/default\",\"service\":"
     "\"sqladmin.googleapis.com\",\"consumer\":\"projects/N\"}},{\"@type\":"
     "\"type.googleapis.com/google.rpc.Help\",\"links\":[]}]}}",
     EDV_ERATELIMIT, "rateLimitExceeded", "RESOURCE_EXHAUSTED",
     "Queries per minute per user", 1},
    {"aip-193 409 ALREADY_EXISTS", 409,
     "{\"error\":{\"code\":409,\"message\":\"Resource already exists\","
     "\"status\":\"ALREADY_EXISTS\",\"details\":[{\"@type\":"
     "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
     "\"RESOURCE_ALREADY_EXISTS\",\"domain\":"
     "\"certificatemanager.googleapis.com\"}]}}",
     EDV_EEXIST, "RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS", "already", 0},
    {"aip-193 400 FAILED_PRECONDITION", 400,
     "{\"error\":{\"code\":400,\"message\":\"Precondition check failed.\","
     "\"status\":\"FAILED_PRECONDITION\"}}",
     EDV_EPRECONDITION, NULL, "FAILED_PRECONDITION", "Precondition", 0},
    {"aip-193 429 RESOURCE_EXHAUSTED", 429,
     "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted "
     "(e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
     EDV_ERATELIMIT, NULL, "RESOURCE_EXHAUSTED", "exhausted", 1},
    {"aip-193 409 ABORTED (etag)", 409,
     "{\"error\":{\"code\":409,\"message\":\"The etag does not match.\","
     "\"status\":\"ABORTED\"}}",
     EDV_EABORTED, NULL, "ABORTED", "etag", 0},
    {"aip-193 403 PERMISSION_DENIED", 403,
     "{\"error\":{\"code\":403,\"message\":\"Permission 'dns.changes.create'"
     " denied on resource\",\"status\":\"PERMISSION_DENIED\",\"details\":[{"
     "\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
     "\"IAM_PERMISSION_DENIED\",\"domain\":\"iam.googleapis.com\"}]}}",
     EDV_EPERM, "IAM_PERMISSION_DENIED", "PERMISSION_DENIED", "denied", 0},
    {"aip-193 404 NOT_FOUND", 404,
     "{\"error\":{\"code\":404,\"message\":\"Resource "
     "'projects/p/locations/global/certificates/c' was not found\","
     "\"status\":\"NOT_FOUND\"}}",
     EDV_ENOTFOUND, NULL, "NOT_FOUND", "was not found", 0},
    /* Section 3: Cloud SQL and DNS conflicts. */
    {"sqladmin 409 operationInProgress", 409,
     "{\"error\":{\"code\":409,\"message\":\"Operation failed because "
     "another operation was already in progress. Try your request after "
     "the current operation is complete.\",\"errors\":[{\"message\":\"x\","
     "\"domain\":\"global\",\"reason\":\"operationInProgress\"}]}}",
     EDV_EOPINPROGRESS, "operationInProgress", NULL, "already in progress", 1},
    {"sqladmin 409 invalidState", 409,
     "{\"error\":{\"code\":409,\"message\":\"The instance or operation is "
     "not in an appropriate state to handle the request.\",\"errors\":[{"
     "\"domain\":\"global\",\"reason\":\"invalidState\"}]}}",
     EDV_ECONFLICT, "invalidState", NULL, "appropriate state", 0},
    {"dns 409 alreadyExists (no status)", 409,
     "{\"error\":{\"code\":409,\"message\":\"The resource 'entity.rrset' "
     "named 'x.example.com. (A)' already exists\",\"errors\":[{\"domain\":"
     "\"global\",\"reason\":\"alreadyExists\",\"message\":\"x\"}]}}",
     EDV_EEXIST, "alreadyExists", NULL, "x.example.com. (A)", 0},
    {"dns 412 conditionNotMet", 412,
     "{\"error\":{\"code\":412,\"message\":\"Precondition not met for "
     "'entity.change.deletions[0]'\",\"errors\":[{\"domain\":\"global\","
     "\"reason\":\"conditionNotMet\"}]}}",
     EDV_EPRECONDITION, "conditionNotMet", NULL, "deletions[0]", 0},
    {"dns 404 deletion does not exist", 404,
     "{\"error\":{\"code\":404,\"message\":\"The "
     "'entity.change.deletions[0]' resource named 'x. (A)' does not "
     "exist.\",\"errors\":[{\"domain\":\"global\",\"reason\":\"notFound\"}]}}",
     EDV_ENOTFOUND, "notFound", NULL, "does not exist", 0},
    {"monitoring 429 too many configs", 429,
     "{\"error\":{\"code\":429,\"message\":\"Error creating uptime check "
     "config: too many configs in project\",\"status\":"
     "\"RESOURCE_EXHAUSTED\"}}",
     EDV_EQUOTA, NULL, "RESOURCE_EXHAUSTED", "too many configs", 0},
    /* Section 4: validation, quotas and name reuse. */
    {"compute 400 invalid CIDR overlap", 400,
     "{\"error\":{\"code\":400,\"message\":\"Invalid value for field "
     "'resource.ipCidrRange': '192.168.0.0/28'. Invalid IPCidrRange: "
     "192.168.0.0/28 conflicts with existing subnetwork 'S' in region "
     "'R'.\",\"errors\":[{\"domain\":\"global\",\"reason\":\"invalid\"}]},"
     "\"statusMessage\":\"Bad Request\"}",
     EDV_EINVAL, "invalid", NULL, "conflicts with existing subnetwork", 0},
    {"compute 400 disk shrink", 400,
     "{\"error\":{\"code\":400,\"message\":\"Invalid value for field "
     "'sizeGb': '50'. New disk size '50' GiB must be larger than existing "
     "size '60' GiB.\",\"errors\":[{\"domain\":\"global\",\"reason\":"
     "\"invalid\"}]}}",
     EDV_EINVAL, "invalid", NULL, "must be larger", 0},
    {"sqladmin 409 instanceAlreadyExists", 409,
     "{\"error\":{\"code\":409,\"message\":\"The Cloud SQL instance already "
     "exists. When you delete an instance, you can't reuse the name of the "
     "deleted instance until one week from the deletion date.\",\"errors\":"
     "[{\"domain\":\"global\",\"reason\":\"instanceAlreadyExists\"}]}}",
     EDV_EEXIST, "instanceAlreadyExists", NULL, "one week", 0},
    {"sqladmin 400 postgres tier", 400,
     "{\"error\":{\"code\":400,\"message\":\"Invalid request: Only custom or "
     "shared-core instance Billing Tier type allowed for PostgreSQL "
     "database.\",\"errors\":[{\"domain\":\"global\",\"reason\":"
     "\"invalid\"}]}}",
     EDV_EINVAL, "invalid", NULL, "Billing Tier", 0},
    {"dns 403 quotaExceeded per change", 403,
     "{\"error\":{\"code\":403,\"message\":\"The change would exceed quota "
     "for additions per change.\",\"errors\":[{\"domain\":\"usageLimits\","
     "\"reason\":\"quotaExceeded\"}]}}",
     EDV_EQUOTA, "quotaExceeded", NULL, "additions per change", 0},
    {"dns 429 rateLimitExceeded", 429,
     "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted "
     "(e.g. check quota).\",\"errors\":[{\"domain\":\"usageLimits\","
     "\"reason\":\"rateLimitExceeded\"}]}}",
     EDV_ERATELIMIT, "rateLimitExceeded", NULL, "exhausted", 1},
    {"sqladmin 2019 USER-100s", 429,
     "{\"error\":{\"code\":429,\"message\":\"Quota exceeded for quota group "
     "'default' and limit 'USER-100s' of service 'sqladmin.googleapis.com' "
     "for consumer 'project_number:1'.\",\"errors\":[{\"domain\":"
     "\"usageLimits\",\"reason\":\"rateLimitExceeded\"}]}}",
     EDV_ERATELIMIT, "rateLimitExceeded", NULL, "USER-100s", 1},
    /* Section 1: OAuth token endpoint errors. */
    {"oauth invalid_grant iat/exp", 400,
     "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT: "
     "Token must be a short-lived token (60 minutes) and in a reasonable "
     "timeframe. Check your iat and exp values in the JWT claim.\"}",
     EDV_ECRED, "invalid_grant", NULL, "short-lived token", 0},
    {"oauth invalid_grant signature", 400,
     "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT "
     "Signature.\"}",
     EDV_ECRED, "invalid_grant", NULL, "invalid_grant: Invalid JWT Sig", 0},
    {"oauth invalid_grant deleted account", 400,
     "{\"error\":\"invalid_grant\",\"error_description\":\"The account has "
     "been deleted\"}",
     EDV_ECRED, "invalid_grant", NULL, "account has been deleted", 0},
    {"oauth temporarily_unavailable", 503,
     "{\"error\":\"temporarily_unavailable\"}", EDV_EUNAVAIL,
     "temporarily_unavailable", NULL, "temporarily", 1},
    /* Transport-level answers without a Google envelope. */
    {"html 502", 502,
     "<!DOCTYPE html>\n<html><head><title>Error 502 (Server Error)!!1"
     "</title></head><body><p>The server encountered a temporary error"
     "</p></body></html>",
     EDV_EUNAVAIL, NULL, NULL, "Error 502 (Server Error)!!1", 1},
    {"plain 503", 503, "upstream connect error or disconnect/reset",
     EDV_EUNAVAIL, NULL, NULL, "upstream connect error", 1},
    {"empty 500", 500, "", EDV_EINTERNAL, NULL, NULL, "HTTP 500", 1},
    {"408", 408, NULL, EDV_EUNAVAIL, NULL, NULL, "HTTP 408", 1},
    {"504", 504, NULL, EDV_EUNAVAIL, NULL, NULL, "HTTP 504", 1},
    {"401", 401,
     "{\"error\":{\"code\":401,\"message\":\"Request had invalid "
     "authentication credentials.\",\"status\":\"UNAUTHENTICATED\"}}",
     EDV_EUNAUTH, NULL, "UNAUTHENTICATED", "invalid authentication", 0},
    {"501", 501, NULL, EDV_EHTTP, NULL, NULL, "HTTP 501", 0},
    {"409 plain conflict", 409, "{\"error\":{\"code\":409,\"message\":\"c\"}}",
     EDV_ECONFLICT, NULL, NULL, "c", 0},
};

static void check_case(const env_case *c, const edv_error *err)
{
  print_message("# %s\n", c->name);
  assert_int_equal(err->code, c->code);
  assert_int_equal(err->http_status, c->http);
  assert_string_equal(err->reason, c->reason ? c->reason : "");
  assert_string_equal(err->status, c->status ? c->status : "");
  assert_non_null(strstr(err->message, c->msg));
  assert_int_equal(edv_error_is_transient(err), c->transient);
  assert_int_equal(edv__retry_error_retryable(err), c->transient);
}

static void test_http_envelopes(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(http_cases) / sizeof(http_cases[0]); i++) {
    const env_case *c = &http_cases[i];
    json_object *json = c->body ? json_tokener_parse(c->body) : NULL;
    edv_error err;

    edv__error_from_http(c->http, json, c->body, c->body ? strlen(c->body) : 0,
                         &err);
    check_case(c, &err);
    json_object_put(json);
  }
}

static void test_excerpt_is_one_printable_line(void **state)
{
  const char body[] = "line one\r\n\tline\x01 two   \n";
  edv_error err;

  (void)state;
  edv__error_from_http(502, NULL, body, sizeof(body) - 1, &err);
  assert_string_equal(err.message, "line one line two");
}

typedef struct op_case {
  const char *name;
  const char *op; /* a whole operation, or just its error */
  int hint;
  edv_code code;
  const char *reason;
  const char *status;
  const char *msg;
  int http;
} op_case;

static const op_case op_cases[] = {
    {"compute op in use",
     "{\"kind\":\"compute#operation\",\"status\":\"DONE\",\"error\":{"
     "\"errors\":[{\"code\":\"RESOURCE_IN_USE_BY_ANOTHER_RESOURCE\","
     "\"message\":\"The network resource 'projects/P/global/networks/N' is "
     "already being used by 'projects/P/global/firewalls/F'\"}]},"
     "\"httpErrorStatusCode\":400,\"httpErrorMessage\":\"BAD REQUEST\"}",
     0, EDV_EINUSE, "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", NULL,
     "already being used", 400},
    {"compute op stockout (403 FORBIDDEN)",
     "{\"status\":\"DONE\",\"error\":{\"errors\":[{\"code\":"
     "\"ZONE_RESOURCE_POOL_EXHAUSTED\",\"message\":\"The zone 'projects/P/"
     "zones/Z' does not have enough resources available to fulfill the "
     "request.\"}]},\"httpErrorStatusCode\":403,\"httpErrorMessage\":"
     "\"FORBIDDEN\"}",
     0, EDV_EOPFAILED, "ZONE_RESOURCE_POOL_EXHAUSTED", NULL, "enough resources",
     403},
    {"compute op quota (error member only)",
     "{\"errors\":[{\"code\":\"QUOTA_EXCEEDED\",\"message\":\"Quota 'CPUS' "
     "exceeded. Limit: 24.0 in region us-central1.\"},{\"code\":\"X\","
     "\"message\":\"y\"}]}",
     403, EDV_EQUOTA, "QUOTA_EXCEEDED", NULL, "(and 1 more)", 403},
    {"sql op error",
     "{\"kind\":\"sql#operation\",\"status\":\"DONE\",\"error\":{\"kind\":"
     "\"sql#operationErrors\",\"errors\":[{\"kind\":\"sql#operationError\","
     "\"code\":\"ERROR_RDBMS\",\"message\":\"database edv exists\"}]}}",
     0, EDV_EOPFAILED, "ERROR_RDBMS", NULL, "database edv exists", 0},
    {"sql op already exists",
     "{\"error\":{\"kind\":\"sql#operationErrors\",\"errors\":[{\"code\":"
     "\"INSTANCE_ALREADY_EXISTS\",\"message\":\"m\"}]}}",
     0, EDV_EEXIST, "INSTANCE_ALREADY_EXISTS", NULL, "m", 0},
    {"longrunning cancelled",
     "{\"name\":\"projects/p/locations/global/operations/o\",\"done\":true,"
     "\"error\":{\"code\":1,\"message\":\"Operation was cancelled.\"}}",
     0, EDV_ECANCELED, NULL, "CANCELLED", "cancelled", 0},
    {"longrunning already exists",
     "{\"done\":true,\"error\":{\"code\":6,\"message\":\"Resource exists\","
     "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
     "\"reason\":\"ALREADY_EXISTS_X\"}]}}",
     0, EDV_EEXIST, "ALREADY_EXISTS_X", "ALREADY_EXISTS", "exists", 0},
    {"longrunning not found", "{\"code\":5,\"message\":\"gone\"}", 0,
     EDV_ENOTFOUND, NULL, "NOT_FOUND", "gone", 0},
    {"longrunning internal is not transient",
     "{\"code\":13,\"message\":\"internal\"}", 0, EDV_EINTERNAL, NULL,
     "INTERNAL", "internal", 0},
};

static void test_operation_errors(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(op_cases) / sizeof(op_cases[0]); i++) {
    const op_case *c = &op_cases[i];
    json_object *json = json_tokener_parse(c->op);
    edv_error err;

    print_message("# %s\n", c->name);
    assert_non_null(json);
    assert_int_equal(edv__error_from_operation(json, c->hint, &err), c->code);
    assert_int_equal(err.code, c->code);
    assert_int_equal(err.http_status, c->http);
    assert_string_equal(err.reason, c->reason ? c->reason : "");
    assert_string_equal(err.status, c->status ? c->status : "");
    assert_non_null(strstr(err.message, c->msg));
    assert_false(edv_error_is_transient(&err));
    json_object_put(json);
  }
}

static void test_operation_without_error(void **state)
{
  json_object *op = json_tokener_parse("{\"status\":\"DONE\"}");
  edv_error err;

  (void)state;
  assert_int_equal(edv__error_from_operation(op, 0, &err), EDV_OK);
  assert_int_equal(err.code, EDV_OK);
  assert_int_equal(edv__error_from_operation(NULL, 0, NULL), EDV_OK);
  json_object_put(op);
}

static void test_rpc_names(void **state)
{
  (void)state;
  assert_string_equal(edv__rpc_name(14), "UNAVAILABLE");
  assert_string_equal(edv__rpc_name(99), "UNKNOWN");
  assert_int_equal(edv__code_from_rpc(16), EDV_EUNAUTH);
  assert_int_equal(edv__code_from_rpc(-1), EDV_EOPFAILED);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_envelopes),
      cmocka_unit_test(test_excerpt_is_one_printable_line),
      cmocka_unit_test(test_operation_errors),
      cmocka_unit_test(test_operation_without_error),
      cmocka_unit_test(test_rpc_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
