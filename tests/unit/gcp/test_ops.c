/*
 * test_ops.c - long-running operation shapes, done-ness and the typed
 * errors of failed operations (src/gcp/ops.c), without a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "edv/ops.h"

static json_object *parse(const char *text)
{
  json_object *obj = json_tokener_parse(text);

  assert_non_null(obj);
  return obj;
}

static edv_op_kind detect(const char *text)
{
  json_object *obj = parse(text);
  edv_op_kind kind = edv_op_detect(obj);

  json_object_put(obj);
  return kind;
}

static void test_detect_by_kind(void **state)
{
  (void)state;
  assert_int_equal(detect("{\"kind\":\"compute#operation\",\"name\":\"o\","
                          "\"status\":\"RUNNING\"}"),
                   EDV_OP_COMPUTE);
  assert_int_equal(detect("{\"kind\":\"sql#operation\",\"name\":\"o\"}"),
                   EDV_OP_SQL);
  assert_int_equal(detect("{\"kind\":\"dns#change\",\"id\":\"3\","
                          "\"status\":\"pending\"}"),
                   EDV_OP_DNS);
  /* Another resource with a kind is not an operation. */
  assert_int_equal(detect("{\"kind\":\"compute#instance\",\"name\":\"vm\","
                          "\"status\":\"RUNNING\",\"zone\":\"z\"}"),
                   EDV_OP_UNKNOWN);
  assert_int_equal(edv_op_detect(NULL), EDV_OP_UNKNOWN);
  assert_int_equal(detect("[1,2]"), EDV_OP_UNKNOWN);
  assert_string_equal(edv_op_kind_name(EDV_OP_LRO), "lro");
  assert_string_equal(edv_op_kind_name((edv_op_kind)42), "unknown");
}

static void test_detect_without_kind(void **state)
{
  (void)state;
  /* Compute by its selfLink, or by zone/region/targetLink. */
  assert_int_equal(
      detect("{\"name\":\"operation-1\",\"status\":\"PENDING\","
             "\"selfLink\":\"https://www.googleapis.com/compute/v1/projects/"
             "p/global/operations/operation-1\"}"),
      EDV_OP_COMPUTE);
  assert_int_equal(detect("{\"name\":\"o\",\"status\":\"RUNNING\","
                          "\"zone\":\"https://x/projects/p/zones/z\"}"),
                   EDV_OP_COMPUTE);
  /* Cloud SQL by its selfLink or targetProject. */
  assert_int_equal(
      detect("{\"name\":\"abc\",\"status\":\"PENDING\",\"selfLink\":"
             "\"https://sqladmin.googleapis.com/v1/projects/p/operations/"
             "abc\"}"),
      EDV_OP_SQL);
  assert_int_equal(detect("{\"name\":\"abc\",\"status\":\"RUNNING\","
                          "\"targetProject\":\"p\"}"),
                   EDV_OP_SQL);
  /* DNS by its lowercase status and additions. */
  assert_int_equal(detect("{\"id\":\"1\",\"status\":\"pending\","
                          "\"additions\":[]}"),
                   EDV_OP_DNS);
  /* google.longrunning: `done`, or a bare operation name (proto3 JSON
   * drops done: false). */
  assert_int_equal(detect("{\"name\":\"projects/p/locations/global/"
                          "operations/operation-1\",\"metadata\":{}}"),
                   EDV_OP_LRO);
  assert_int_equal(detect("{\"name\":\"operations/pssn.p24-1\","
                          "\"done\":true,\"response\":{}}"),
                   EDV_OP_LRO);
  assert_int_equal(detect("{\"name\":\"vm\",\"status\":\"RUNNING\"}"),
                   EDV_OP_UNKNOWN);
  assert_int_equal(detect("{\"name\":\"x\"}"), EDV_OP_UNKNOWN);
}

static void test_is_done(void **state)
{
  json_object *op;

  (void)state;
  op = parse("{\"status\":\"DONE\"}");
  assert_true(edv_op_is_done(EDV_OP_COMPUTE, op));
  assert_true(edv_op_is_done(EDV_OP_SQL, op));
  assert_false(edv_op_is_done(EDV_OP_DNS, op)); /* DNS says "done" */
  json_object_put(op);
  op = parse("{\"status\":\"RUNNING\"}");
  assert_false(edv_op_is_done(EDV_OP_COMPUTE, op));
  json_object_put(op);
  op = parse("{\"status\":\"done\"}");
  assert_true(edv_op_is_done(EDV_OP_DNS, op));
  json_object_put(op);
  op = parse("{\"name\":\"operations/x\"}");
  assert_false(edv_op_is_done(EDV_OP_LRO, op));
  json_object_put(op);
  op = parse("{\"name\":\"operations/x\",\"done\":true}");
  assert_true(edv_op_is_done(EDV_OP_LRO, op));
  assert_false(edv_op_is_done(EDV_OP_UNKNOWN, op));
  json_object_put(op);
}

/* The Compute operation error of docs/google-cloud.md section 2 (in-use). */
static void test_compute_error(void **state)
{
  json_object *op;
  edv_error err;

  (void)state;
  op = parse(
      "{\"kind\":\"compute#operation\",\"id\":\"123\","
      "\"name\":\"operation-1728938708258-62475e98b4d71-14d19ec0-defb4629\","
      "\"operationType\":\"delete\",\"status\":\"DONE\",\"progress\":100,"
      "\"targetLink\":\"https://www.googleapis.com/compute/v1/projects/p/"
      "global/networks/n\","
      "\"error\":{\"errors\":[{\"code\":"
      "\"RESOURCE_IN_USE_BY_ANOTHER_RESOURCE\",\"message\":\"The network "
      "resource 'projects/p/global/networks/n' is already being used by "
      "'projects/p/global/firewalls/f'\"}]},"
      "\"httpErrorStatusCode\":400,\"httpErrorMessage\":\"BAD REQUEST\"}");
  assert_int_equal(edv_op_error(EDV_OP_COMPUTE, op, &err), EDV_EINUSE);
  assert_int_equal(err.code, EDV_EINUSE);
  assert_int_equal(err.http_status, 400);
  assert_string_equal(err.reason, "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE");
  assert_non_null(strstr(err.message, "already being used by"));
  assert_non_null(strstr(err.where, "operation-1728938708258"));
  assert_non_null(strstr(err.where, "delete"));
  json_object_put(op);
}

static void compute_code(const char *code, int http, edv_code want)
{
  char text[512];
  json_object *op;
  edv_error err;

  snprintf(text, sizeof(text),
           "{\"kind\":\"compute#operation\",\"name\":\"o\",\"status\":"
           "\"DONE\",\"error\":{\"errors\":[{\"code\":\"%s\",\"message\":"
           "\"m\"},{\"code\":\"X\",\"message\":\"second\"}]},"
           "\"httpErrorStatusCode\":%d}",
           code, http);
  op = parse(text);
  assert_int_equal(edv_op_error(EDV_OP_COMPUTE, op, &err), want);
  assert_int_equal(err.http_status, http);
  assert_string_equal(err.reason, code);
  json_object_put(op);
}

static void test_compute_error_codes(void **state)
{
  (void)state;
  compute_code("QUOTA_EXCEEDED", 403, EDV_EQUOTA);
  compute_code("ALREADY_EXISTS", 409, EDV_EEXIST);
  compute_code("RESOURCE_NOT_FOUND", 404, EDV_ENOTFOUND);
  compute_code("ZONE_RESOURCE_POOL_EXHAUSTED", 503, EDV_EOPFAILED);
  compute_code("SOMETHING_NEW", 500, EDV_EOPFAILED);
}

static void test_sql_error(void **state)
{
  json_object *op;
  edv_error err;

  (void)state;
  op = parse("{\"kind\":\"sql#operation\",\"name\":\"a1b2\","
             "\"operationType\":\"CREATE\",\"status\":\"DONE\","
             "\"error\":{\"kind\":\"sql#operationErrors\",\"errors\":[{"
             "\"kind\":\"sql#operationError\",\"code\":\"INTERNAL_ERROR\","
             "\"message\":\"An internal error occurred.\"}]}}");
  assert_int_equal(edv_op_error(EDV_OP_SQL, op, &err), EDV_EOPFAILED);
  assert_string_equal(err.reason, "INTERNAL_ERROR");
  assert_string_equal(err.message, "An internal error occurred.");
  assert_non_null(strstr(err.where, "sql operation a1b2 (CREATE)"));
  assert_int_equal(err.http_status, 0);
  json_object_put(op);
}

static void lro_code(int code, edv_code want, const char *status)
{
  char text[256];
  json_object *op;
  edv_error err;

  snprintf(text, sizeof(text),
           "{\"name\":\"projects/p/locations/global/operations/o\","
           "\"done\":true,\"error\":{\"code\":%d,\"message\":\"msg %d\"}}",
           code, code);
  op = parse(text);
  assert_int_equal(edv_op_error(EDV_OP_LRO, op, &err), want);
  assert_string_equal(err.status, status);
  assert_non_null(strstr(err.message, "msg"));
  /* A failed operation is never "retry as is". */
  assert_false(edv_error_is_transient(&err) && want != EDV_EUNAVAIL);
  json_object_put(op);
}

static void test_lro_error_codes(void **state)
{
  json_object *op;
  edv_error err;

  (void)state;
  lro_code(1, EDV_ECANCELED, "CANCELLED");
  lro_code(5, EDV_ENOTFOUND, "NOT_FOUND");
  lro_code(6, EDV_EEXIST, "ALREADY_EXISTS");
  lro_code(8, EDV_EQUOTA, "RESOURCE_EXHAUSTED");
  lro_code(9, EDV_EPRECONDITION, "FAILED_PRECONDITION");
  lro_code(10, EDV_EABORTED, "ABORTED");
  lro_code(14, EDV_EUNAVAIL, "UNAVAILABLE");
  lro_code(2, EDV_EOPFAILED, "UNKNOWN");

  /* ErrorInfo in details gives the reason. */
  op = parse("{\"name\":\"operations/x\",\"done\":true,\"error\":{"
             "\"code\":9,\"message\":\"m\",\"details\":[{\"@type\":"
             "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
             "\"DNS_AUTHORIZATION_MISSING\"}]}}");
  assert_int_equal(edv_op_error(EDV_OP_LRO, op, &err), EDV_EPRECONDITION);
  assert_string_equal(err.reason, "DNS_AUTHORIZATION_MISSING");
  json_object_put(op);
}

static void test_no_error(void **state)
{
  json_object *op;
  edv_error err;

  (void)state;
  op = parse("{\"kind\":\"compute#operation\",\"status\":\"DONE\"}");
  err.code = EDV_EIO;
  assert_int_equal(edv_op_error(EDV_OP_COMPUTE, op, &err), 0);
  assert_int_equal(err.code, EDV_OK);
  json_object_put(op);
  op = parse("{\"kind\":\"dns#change\",\"id\":\"1\",\"status\":\"done\"}");
  assert_int_equal(edv_op_error(EDV_OP_DNS, op, NULL), 0);
  json_object_put(op);
  op = parse("{\"name\":\"operations/x\",\"done\":true,\"response\":{}}");
  assert_int_equal(edv_op_error(EDV_OP_LRO, op, &err), 0);
  json_object_put(op);
  assert_int_equal(edv_op_error(EDV_OP_LRO, NULL, &err), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detect_by_kind),
      cmocka_unit_test(test_detect_without_kind),
      cmocka_unit_test(test_is_done),
      cmocka_unit_test(test_compute_error),
      cmocka_unit_test(test_compute_error_codes),
      cmocka_unit_test(test_sql_error),
      cmocka_unit_test(test_lro_error_codes),
      cmocka_unit_test(test_no_error),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
