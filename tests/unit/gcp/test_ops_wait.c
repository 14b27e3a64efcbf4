/*
 * test_ops_wait.c - the operation waiter against a scripted loopback server
 * (tests/support/mockserver): Compute wait returning early, fallback to GET
 * polling, Cloud SQL and DNS polling, google.longrunning errors, deadline,
 * cancellation, operations already done, waiting by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edv/ops.h"
#include "mockserver.h"

typedef struct fixture {
  uv_loop_t loop;
  mock_server *ms;
  edv_engine *engine;
  char token_file[64];
  int in_wait;    /* inside edv_op_wait(): the callback must not run */
  int done_calls; /* callback count */
  int progress_calls;
  int failed;
  edv_error err;
  json_object *final_op;
  edv_op_waiter *waiter;
  int engine_closed;
} fixture;

static int setup(void **state)
{
  fixture *f = calloc(1, sizeof(*f));
  edv_config *cfg;
  edv_error err;
  FILE *fp;
  int fd;

  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->ms = mock_start();
  assert_non_null(f->ms);
  strcpy(f->token_file, "edv-ops-token-XXXXXX");
  fd = mkstemp(f->token_file);
  assert_true(fd >= 0);
  fp = fdopen(fd, "w");
  fputs("test-token-ops\n", fp);
  fclose(fp);
  cfg = edv_config_new();
  assert_int_equal(edv_config_set(cfg, "endpoint", mock_url(f->ms), &err), 0);
  assert_int_equal(
      edv_config_set(cfg, "access_token_file", f->token_file, &err), 0);
  assert_int_equal(edv_config_set(cfg, "project", "p", &err), 0);
  assert_int_equal(edv_config_set(cfg, "retry.initial_ms", "5", &err), 0);
  assert_int_equal(edv_config_set(cfg, "retry.max_ms", "20", &err), 0);
  f->engine = edv_engine_new(&f->loop, cfg, &err);
  edv_config_free(cfg);
  assert_non_null(f->engine);
  *state = f;
  return 0;
}

static void on_engine_closed(void *data)
{
  ((fixture *)data)->engine_closed = 1;
}

static int teardown(void **state)
{
  fixture *f = *state;

  edv_engine_close(f->engine, on_engine_closed, f);
  while (!f->engine_closed)
    uv_run(&f->loop, UV_RUN_ONCE);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  mock_stop(f->ms);
  unlink(f->token_file);
  json_object_put(f->final_op);
  free(f);
  return 0;
}

static void on_progress(void *data, json_object *op)
{
  fixture *f = data;

  assert_non_null(op);
  f->progress_calls++;
}

static void on_done(void *data, json_object *op, const edv_error *err)
{
  fixture *f = data;

  assert_false(f->in_wait); /* never synchronous */
  f->done_calls++;
  f->final_op = json_object_get(op);
  if (err) {
    f->failed = 1;
    f->err = *err;
  }
}

static void run(fixture *f)
{
  while (f->done_calls == 0)
    uv_run(&f->loop, UV_RUN_ONCE);
  /* Let anything stray surface: the callback must not run twice. */
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->done_calls, 1);
}

static edv_op_wait_opts fast_opts(void)
{
  edv_op_wait_opts o;

  memset(&o, 0, sizeof(o));
  o.poll_initial_ms = 5;
  o.poll_max_ms = 20;
  o.deadline_ms = 10000;
  o.progress_cb = on_progress;
  return o;
}

static int start(fixture *f, const char *op_text, const edv_op_wait_opts *o)
{
  json_object *op = json_tokener_parse(op_text);
  edv_error err;
  int result;

  assert_non_null(op);
  f->in_wait = 1;
  result = edv_op_wait(f->engine, op, o, on_done, f, &f->waiter, &err);
  f->in_wait = 0;
  json_object_put(op);
  return result;
}

static void assert_request(fixture *f, size_t i, const char *method,
                           const char *path)
{
  mock_request req;
  char auth[128];

  assert_int_equal(mock_request_get(f->ms, i, &req), 0);
  assert_string_equal(req.method, method);
  assert_string_equal(req.path, path);
  assert_non_null(
      mock_request_header(&req, "authorization", auth, sizeof(auth)));
  assert_string_equal(auth, "Bearer test-token-ops");
  mock_request_free(&req);
}

static const char *final_status(fixture *f)
{
  json_object *v;

  assert_non_null(f->final_op);
  assert_true(json_object_object_get_ex(f->final_op, "status", &v));
  return json_object_get_string(v);
}

#define ZOP "/compute/v1/projects/p/zones/europe-west1-b/operations/op-1"
#define ZOP_JSON(status)                                                       \
  "{\"kind\":\"compute#operation\",\"name\":\"op-1\",\"status\":\"" status     \
  "\",\"zone\":\"https://www.googleapis.com/compute/v1/projects/p/zones/"      \
  "europe-west1-b\",\"selfLink\":\"https://www.googleapis.com" ZOP "\"}"

/* operations.wait returns early twice (RUNNING), then DONE. The selfLink
 * names googleapis.com; the polls go to the engine's endpoint. */
static void test_compute_wait_early(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  mock_expect(f->ms, "POST", ZOP "/wait", 200, ZOP_JSON("RUNNING"), NULL);
  mock_expect(f->ms, "POST", ZOP "/wait", 200, ZOP_JSON("RUNNING"), NULL);
  mock_expect(f->ms, "POST", ZOP "/wait", 200, ZOP_JSON("DONE"), NULL);
  assert_int_equal(start(f, ZOP_JSON("PENDING"), &o), 0);
  assert_non_null(f->waiter);
  run(f);
  assert_false(f->failed);
  assert_string_equal(final_status(f), "DONE");
  assert_int_equal(f->progress_calls, 2);
  assert_int_equal(mock_request_count(f->ms), 3);
  assert_request(f, 0, "POST", ZOP "/wait");
  assert_request(f, 2, "POST", ZOP "/wait");
}

/* No wait method (405): GET polling takes over. */
static void test_compute_wait_unavailable(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  mock_expect(f->ms, "POST", ZOP "/wait", 405,
              "{\"error\":{\"code\":405,\"message\":\"Method not allowed\"}}",
              NULL);
  mock_expect(f->ms, "GET", ZOP, 200, ZOP_JSON("RUNNING"), NULL);
  mock_expect(f->ms, "GET", ZOP, 200, ZOP_JSON("DONE"), NULL);
  assert_int_equal(start(f, ZOP_JSON("RUNNING"), &o), 0);
  run(f);
  assert_false(f->failed);
  assert_string_equal(final_status(f), "DONE");
  assert_int_equal(mock_request_count(f->ms), 3);
  assert_request(f, 0, "POST", ZOP "/wait");
  assert_request(f, 1, "GET", ZOP);
  assert_request(f, 2, "GET", ZOP);
}

/* The in-use failure of docs/google-cloud.md section 2, delivered by wait. */
static void test_compute_failed(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  mock_expect(f->ms, "POST", "/compute/v1/projects/p/global/operations/op-9",
              200,
              "{\"kind\":\"compute#operation\",\"name\":\"op-9\","
              "\"status\":\"DONE\",\"operationType\":\"delete\","
              "\"error\":{\"errors\":[{\"code\":"
              "\"RESOURCE_IN_USE_BY_ANOTHER_RESOURCE\",\"message\":\"The "
              "network resource 'projects/p/global/networks/n' is already "
              "being used by 'projects/p/global/firewalls/f'\"}]},"
              "\"httpErrorStatusCode\":400,\"httpErrorMessage\":\"BAD "
              "REQUEST\"}",
              NULL);
  /* A global operation without selfLink: the path is built. */
  assert_int_equal(start(f,
                         "{\"kind\":\"compute#operation\",\"name\":\"op-9\","
                         "\"status\":\"RUNNING\"}",
                         &o),
                   0);
  run(f);
  assert_true(f->failed);
  assert_int_equal(f->err.code, EDV_EINUSE);
  assert_int_equal(f->err.http_status, 400);
  assert_string_equal(f->err.reason, "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE");
  assert_request(f, 0, "POST",
                 "/compute/v1/projects/p/global/operations/op-9/wait");
}

#define SQLOP "/sql/v1beta4/projects/p/operations/a1b2"
#define SQL_JSON(status)                                                       \
  "{\"kind\":\"sql#operation\",\"name\":\"a1b2\",\"status\":\"" status         \
  "\",\"targetProject\":\"p\",\"operationType\":\"CREATE\"}"

static void test_sql_polling(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  mock_expect(f->ms, "GET", SQLOP, 200, SQL_JSON("PENDING"), NULL);
  mock_expect(f->ms, "GET", SQLOP, 200, SQL_JSON("RUNNING"), NULL);
  mock_expect(f->ms, "GET", SQLOP, 200, SQL_JSON("DONE"), NULL);
  assert_int_equal(start(f, SQL_JSON("PENDING"), &o), 0);
  run(f);
  assert_false(f->failed);
  assert_string_equal(final_status(f), "DONE");
  assert_int_equal(f->progress_calls, 2);
  assert_int_equal(mock_request_count(f->ms), 3);
  assert_request(f, 0, "GET", SQLOP);
  assert_request(f, 2, "GET", SQLOP);
}

/* A SQL operation's selfLink (v1) is followed, host rewritten. */
static void test_sql_selflink(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  mock_expect(f->ms, "GET", "/v1/projects/p/operations/zz", 200,
              "{\"kind\":\"sql#operation\",\"name\":\"zz\","
              "\"status\":\"DONE\"}",
              NULL);
  assert_int_equal(
      start(f,
            "{\"kind\":\"sql#operation\",\"name\":\"zz\",\"status\":"
            "\"PENDING\",\"selfLink\":\"https://sqladmin.googleapis.com/v1/"
            "projects/p/operations/zz\"}",
            &o),
      0);
  run(f);
  assert_false(f->failed);
  assert_request(f, 0, "GET", "/v1/projects/p/operations/zz");
}

#define DNSCH "/dns/v1/projects/p/managedZones/edv-zone/changes/17"

static void test_dns_change(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  o.managed_zone = "edv-zone";
  mock_expect(f->ms, "GET", DNSCH, 200,
              "{\"kind\":\"dns#change\",\"id\":\"17\",\"status\":"
              "\"pending\"}",
              NULL);
  mock_expect(f->ms, "GET", DNSCH, 200,
              "{\"kind\":\"dns#change\",\"id\":\"17\",\"status\":\"done\"}",
              NULL);
  assert_int_equal(start(f,
                         "{\"kind\":\"dns#change\",\"id\":\"17\","
                         "\"status\":\"pending\",\"additions\":[]}",
                         &o),
                   0);
  run(f);
  assert_false(f->failed);
  assert_string_equal(final_status(f), "done");
  assert_int_equal(mock_request_count(f->ms), 2);
  assert_request(f, 1, "GET", DNSCH);
}

/* A DNS change needs its managed zone. */
static void test_dns_needs_zone(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();
  json_object *op = json_tokener_parse(
      "{\"kind\":\"dns#change\",\"id\":\"1\",\"status\":\"pending\"}");
  edv_error err;

  assert_int_equal(edv_op_wait(f->engine, op, &o, on_done, f, &f->waiter, &err),
                   EDV_EINVAL);
  assert_null(f->waiter);
  assert_non_null(strstr(err.message, "managed_zone"));
  json_object_put(op);
  /* Neither is anything that is not an operation accepted. */
  op = json_tokener_parse("{\"kind\":\"compute#network\",\"name\":\"n\"}");
  assert_int_equal(edv_op_wait(f->engine, op, &o, on_done, f, NULL, &err),
                   EDV_EINVAL);
  json_object_put(op);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->done_calls, 0);
}

#define LRO "/v1/projects/p/locations/global/operations/operation-77"

static void test_lro_error(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  mock_expect(f->ms, "GET", LRO, 200,
              "{\"name\":\"projects/p/locations/global/operations/"
              "operation-77\",\"metadata\":{}}",
              NULL);
  mock_expect(f->ms, "GET", LRO, 200,
              "{\"name\":\"projects/p/locations/global/operations/"
              "operation-77\",\"done\":true,\"error\":{\"code\":6,"
              "\"message\":\"certificate 'c' already exists\"}}",
              NULL);
  assert_int_equal(start(f,
                         "{\"name\":\"projects/p/locations/global/"
                         "operations/operation-77\",\"metadata\":{}}",
                         &o),
                   0);
  run(f);
  assert_true(f->failed);
  assert_int_equal(f->err.code, EDV_EEXIST);
  assert_string_equal(f->err.status, "ALREADY_EXISTS");
  assert_non_null(strstr(f->err.message, "already exists"));
  assert_int_equal(mock_request_count(f->ms), 2);
  assert_request(f, 0, "GET", LRO);
}

/* An operation that is not done by the deadline: ETIMEDOUT. */
static void test_deadline(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();
  mock_reply r;

  memset(&r, 0, sizeof(r));
  r.method = "GET";
  r.path_prefix = SQLOP;
  r.status = 200;
  r.body = SQL_JSON("RUNNING");
  r.times = 1000;
  mock_expect_reply(f->ms, &r);
  o.deadline_ms = 150;
  assert_int_equal(start(f, SQL_JSON("PENDING"), &o), 0);
  run(f);
  assert_true(f->failed);
  assert_int_equal(f->err.code, EDV_ETIMEDOUT);
  assert_non_null(strstr(f->err.message, "a1b2"));
  assert_true(mock_request_count(f->ms) >= 1); /* it did poll */
  assert_string_equal(final_status(f), "RUNNING");
}

/* The deadline also ends a poll that is in flight. */
static void test_deadline_in_flight(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();
  mock_reply r;

  memset(&r, 0, sizeof(r));
  r.method = "POST";
  r.path_prefix = ZOP "/wait";
  r.status = 200;
  r.body = ZOP_JSON("DONE");
  r.delay_ms = 3000;
  mock_expect_reply(f->ms, &r);
  o.deadline_ms = 100;
  assert_int_equal(start(f, ZOP_JSON("RUNNING"), &o), 0);
  run(f);
  assert_true(f->failed);
  assert_int_equal(f->err.code, EDV_ETIMEDOUT);
}

static void cancel_timer_cb(uv_timer_t *t)
{
  fixture *f = t->data;

  edv_op_cancel(f->waiter);
  assert_int_equal(f->done_calls, 0); /* the callback comes later */
  edv_op_cancel(f->waiter);           /* twice is harmless */
  uv_close((uv_handle_t *)t, NULL);
}

/* edv_op_cancel() during a long wait call: ECANCELED, from the loop. */
static void test_cancel(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();
  uv_timer_t t;
  mock_reply r;

  memset(&r, 0, sizeof(r));
  r.method = "POST";
  r.path_prefix = ZOP "/wait";
  r.status = 200;
  r.body = ZOP_JSON("RUNNING");
  r.delay_ms = 3000;
  mock_expect_reply(f->ms, &r);
  assert_int_equal(start(f, ZOP_JSON("RUNNING"), &o), 0);
  uv_timer_init(&f->loop, &t);
  t.data = f;
  uv_timer_start(&t, cancel_timer_cb, 50, 0);
  run(f);
  assert_true(f->failed);
  assert_int_equal(f->err.code, EDV_ECANCELED);
  uv_run(&f->loop, UV_RUN_NOWAIT); /* closes the timer */
}

/* Cancel while waiting on the backoff timer (no call in flight). */
static void test_cancel_between_polls(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  o.poll_initial_ms = 60000;
  o.poll_max_ms = 60000;
  assert_int_equal(start(f, SQL_JSON("PENDING"), &o), 0);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  f->in_wait = 1;
  edv_op_cancel(f->waiter);
  f->in_wait = 0;
  run(f);
  assert_int_equal(f->err.code, EDV_ECANCELED);
  assert_int_equal(mock_request_count(f->ms), 0);
}

/* An operation already done: no request, the callback still from the
 * loop; its error is reported. */
static void test_already_done(void **state)
{
  fixture *f = *state;

  assert_int_equal(
      start(f,
            "{\"name\":\"operations/x\",\"done\":true,\"error\":{\"code\":"
            "8,\"message\":\"quota\"}}",
            NULL),
      0);
  assert_int_equal(f->done_calls, 0);
  run(f);
  assert_int_equal(f->err.code, EDV_EQUOTA);
  assert_int_equal(mock_request_count(f->ms), 0);
}

/* Waiting by name: a zonal Compute operation recorded before a crash. */
static void test_wait_by_name(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();
  edv_error err;

  o.no_compute_wait = 1;
  mock_expect(f->ms, "GET", ZOP, 200, ZOP_JSON("DONE"), NULL);
  f->in_wait = 1;
  assert_int_equal(edv_op_wait_name(f->engine, EDV_OP_COMPUTE, "op-1",
                                    "europe-west1-b", &o, on_done, f,
                                    &f->waiter, &err),
                   0);
  f->in_wait = 0;
  run(f);
  assert_false(f->failed);
  assert_request(f, 0, "GET", ZOP);
}

/* By name: a regional Compute operation, and an LRO given as a URL. */
static void test_wait_by_name_region_lro(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();
  edv_error err;

  mock_expect(f->ms, "POST",
              "/compute/v1/projects/p/regions/us-central1/operations/op-r/wait",
              200,
              "{\"kind\":\"compute#operation\",\"name\":\"op-r\","
              "\"status\":\"DONE\"}",
              NULL);
  f->in_wait = 1;
  assert_int_equal(edv_op_wait_name(f->engine, EDV_OP_COMPUTE, "op-r",
                                    "us-central1", &o, on_done, f, NULL, &err),
                   0);
  f->in_wait = 0;
  run(f);
  assert_false(f->failed);

  f->done_calls = 0;
  json_object_put(f->final_op);
  f->final_op = NULL;
  mock_expect(f->ms, "GET", "/v1/operations/pssn.p24-1", 200,
              "{\"name\":\"operations/pssn.p24-1\",\"done\":true,"
              "\"response\":{}}",
              NULL);
  assert_int_equal(edv_op_wait_name(f->engine, EDV_OP_LRO,
                                    "https://servicenetworking.googleapis.com/"
                                    "v1/operations/pssn.p24-1",
                                    NULL, &o, on_done, f, NULL, &err),
                   0);
  run(f);
  assert_false(f->failed);
  assert_int_equal(mock_request_count(f->ms), 2);
  /* Names that could leave /v1/ are refused. */
  assert_int_equal(edv_op_wait_name(f->engine, EDV_OP_LRO, "operations/../../x",
                                    NULL, &o, on_done, f, NULL, &err),
                   EDV_EINVAL);
  assert_int_equal(edv_op_wait_name(f->engine, EDV_OP_UNKNOWN, "x", NULL, &o,
                                    on_done, f, NULL, &err),
                   EDV_EINVAL);
}

/* An operation that vanished (404 on GET) is reported as ENOTFOUND. */
static void test_not_found(void **state)
{
  fixture *f = *state;
  edv_op_wait_opts o = fast_opts();

  assert_int_equal(start(f, SQL_JSON("PENDING"), &o), 0);
  run(f); /* the mock's default answer is a 404 envelope */
  assert_true(f->failed);
  assert_int_equal(f->err.code, EDV_ENOTFOUND);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_compute_wait_early, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compute_wait_unavailable, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_compute_failed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sql_polling, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sql_selflink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dns_change, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dns_needs_zone, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lro_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deadline_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_between_polls, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_already_done, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wait_by_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wait_by_name_region_lro, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
