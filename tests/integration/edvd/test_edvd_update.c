/*
 * test_edvd_update.c - fleet updates through the Management API
 * (/api/fleet/updates): a refused spec names its field; an update of 4
 * tenants started with POST, edvd killed -9 once the canary is through,
 * restarted on the same state: edvd carries the update on by itself to
 * DONE, every tenant on the new release (the API and its VM's metadata in
 * the simulator); then :pause of a DONE update is 409 and :rollback
 * returns every tenant to the previous release. Each answer is checked
 * against docs/openapi.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "edvd_harness.h"

#define NT 4

static const char *const IDS[NT] = {"upd01", "upd02", "upd03", "upd04"};

static void image(const char *name)
{
  char body[300];

  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"rawDisk\":{\"source\":\"https://"
           "storage.googleapis.com/b/%s.tar.gz\"}}",
           name, name);
  assert_int_equal(
      sim_api_data("POST", "/compute/v1/projects/edv-sim/global/images", body),
      0);
}

static void release(const char *version, const char *img)
{
  char body[200];

  image(img);
  snprintf(body, sizeof(body), "{\"version\":\"%s\",\"image\":\"%s\"}", version,
           img);
  resp_free(
      call("POST", "/api/releases", "/api/releases", tok_op, body, NULL, 201));
}

static json_object *update_doc(const char *id)
{
  char path[160];
  resp *r;
  json_object *o;

  snprintf(path, sizeof(path), "/api/fleet/updates/%s", id);
  r = call("GET", path, "/api/fleet/updates/{id}", tok_view, NULL, NULL, 200);
  o = json_object_get(r->json);
  resp_free(r);
  return o;
}

static int counts(json_object *doc, const char *state)
{
  return json_object_get_int(
      json_object_object_get(json_object_object_get(doc, "counts"), state));
}

/* Polls the update until `state` (fails after `secs`). */
static void wait_update(const char *id, const char *state, int secs)
{
  for (int i = 0; i < secs * 5; i++) {
    json_object *d = update_doc(id);
    int ok = strcmp(jstr(d, "state"), state) == 0;

    json_object_put(d);
    if (ok)
      return;
    sleep_ms(200);
  }
  fail_msg("update %s never %s", id, state);
}

/* The tenant's release by the API and by its VM's metadata. */
static void check_on(const char *id, const char *version)
{
  char path[120], suffix[120];
  json_object *vm, *items;
  const char *meta = NULL;
  resp *r;

  snprintf(path, sizeof(path), "/api/tenants/%s", id);
  r = call("GET", path, "/api/tenants/{id}", tok_view, NULL, NULL, 200);
  assert_string_equal(jstr(r->json, "release"), version);
  /* The VM serving now (a release change replaces it: edv-ID-vm-N). */
  snprintf(suffix, sizeof(suffix), "/instances/%s",
           jstr(json_object_object_get(r->json, "resources"), "vm"));
  resp_free(r);
  vm = sim_resource(suffix);
  assert_non_null(vm);
  items =
      json_object_object_get(json_object_object_get(vm, "metadata"), "items");
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (strcmp(jstr(it, "key"), "edv-release") == 0)
      meta = jstr(it, "value");
  }
  if (!meta || strcmp(meta, version) != 0)
    fail_msg("%s: VM metadata edv-release %s, not %s", id,
             meta ? meta : "(none)", version);
  json_object_put(vm);
}

/* edvctl --server: the same document, the API's refusals as exit codes,
 * and an update started --async then waited for by `resume`. */
static void remote_cli(const char *id)
{
  char view[200], op[200];
  const char *env_view[] = {view, NULL}, *env_op[] = {op, NULL};
  const char *status[] = {"--server", base,       "fleet", "update",
                          "status",   "--format", "json",  NULL};
  const char *pause[] = {"--server", base, "fleet", "update",
                         "pause",    id,   NULL};
  const char *rollback[] = {"--server", base,       "fleet",
                            "update",   "rollback", NULL};
  const char *start[] = {"--server", base,     "fleet", "update",  "--release",
                         "1.1.0",    "--soak", "0",     "--async", NULL};
  const char *resume[] = {"--server", base,       "fleet", "update",
                          "resume",   "--format", "json",  NULL};
  char *out, *err;
  json_object *o;

  snprintf(view, sizeof(view), "EDV_TOKEN=%s", tok_view);
  snprintf(op, sizeof(op), "EDV_TOKEN=%s", tok_op);
  assert_int_equal(run_edvctl(env_view, status, &out, &err), 0);
  o = json_tokener_parse(out);
  assert_non_null(o);
  assert_string_equal(jstr(o, "id"), id);
  assert_string_equal(jstr(o, "state"), "ROLLED_BACK");
  json_object_put(o);
  free(out);
  free(err);
  assert_int_equal(run_edvctl(env_view, pause, &out, &err), 6);
  free(out);
  free(err);
  assert_int_equal(run_edvctl(env_op, rollback, &out, &err), 4);
  assert_non_null(strstr(err, "ROLLED_BACK"));
  free(out);
  free(err);
  assert_int_equal(run_edvctl(env_op, start, &out, &err), 0);
  free(out);
  free(err);
  assert_int_equal(run_edvctl(env_op, resume, &out, &err), 0);
  o = json_tokener_parse(out);
  assert_non_null(o);
  assert_string_equal(jstr(o, "state"), "DONE");
  assert_int_equal(counts(o, "DONE"), NT);
  json_object_put(o);
  free(out);
  free(err);
  for (int i = 0; i < NT; i++)
    check_on(IDS[i], "1.1.0");
}

static void test_update_survives_kill(void **state)
{
  char b[512], id[64], path[160];
  resp *r;
  int st;

  (void)state;
  release("1.0.0", "edv-upd-100");
  for (int i = 0; i < NT; i++) {
    char slug[32];
    snprintf(slug, sizeof(slug), "%s-school", IDS[i]);
    resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                   spec(b, sizeof(b), IDS[i], slug, "Update School", "basic"),
                   NULL, 202));
  }
  for (int i = 0; i < NT; i++)
    wait_phase(IDS[i], "READY", 120);
  release("1.1.0", "edv-upd-110");
  expect_error("POST", "/api/fleet/updates", "/api/fleet/updates", tok_op,
               "{\"release\":\"1.1.0\",\"waves\":\"50%,1\"}", 400, "waves");
  expect_error("POST", "/api/fleet/updates", "/api/fleet/updates", tok_op,
               "{\"release\":\"1.1.0\",\"max_parallel\":0}", 400,
               "max_parallel");
  expect_error("POST", "/api/fleet/updates", "/api/fleet/updates", tok_view,
               "{\"release\":\"1.1.0\"}", 403, NULL);
  r = call("POST", "/api/fleet/updates", "/api/fleet/updates", tok_op,
           "{\"release\":\"1.1.0\",\"waves\":\"1,100%\",\"soak_s\":1,"
           "\"max_parallel\":1}",
           NULL, 201);
  snprintf(id, sizeof(id), "%s", jstr(r->json, "id"));
  assert_string_equal(jstr(r->json, "state"), "RUNNING");
  resp_free(r);
  resp_free(call("GET", "/api/fleet/updates", "/api/fleet/updates", tok_view,
                 NULL, NULL, 200));
  /* Once the canary is through: kill -9, restart. */
  for (int i = 0;; i++) {
    json_object *d = update_doc(id);
    int n = counts(d, "SOAKING") + counts(d, "DONE");
    json_object_put(d);
    if (n >= 1)
      break;
    if (i > 600)
      fail_msg("the canary never got through");
    sleep_ms(100);
  }
  /* The embedded simulator dies with edvd and saves its cloud at most
   * every 200 ms: give it that, so that only edvd loses its memory (a real
   * cloud keeps what it acknowledged). */
  sleep_ms(600);
  kill(edvd_pid, SIGKILL);
  assert_int_equal(waitpid(edvd_pid, &st, 0), edvd_pid);
  start_edvd();
  wait_update(id, "DONE", 120);
  {
    json_object *d = update_doc(id);
    assert_int_equal(counts(d, "DONE"), NT);
    json_object_put(d);
  }
  for (int i = 0; i < NT; i++)
    check_on(IDS[i], "1.1.0");
  /* A DONE update does not pause; it rolls back. */
  snprintf(path, sizeof(path), "/api/fleet/updates/%s:pause", id);
  expect_error("POST", path, "/api/fleet/updates/{id}:pause", tok_op, NULL, 409,
               NULL);
  snprintf(path, sizeof(path), "/api/fleet/updates/%s:rollback", id);
  resp_free(call("POST", path, "/api/fleet/updates/{id}:rollback", tok_op, NULL,
                 NULL, 200));
  wait_update(id, "ROLLED_BACK", 120);
  for (int i = 0; i < NT; i++)
    check_on(IDS[i], "1.0.0");
  expect_error("GET", "/api/fleet/updates/u-nope", "/api/fleet/updates/{id}",
               tok_view, NULL, 404, NULL);
  remote_cli(id);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_update_survives_kill),
  };

  return EH_MAIN("edvd-update", tests, NULL, EH_CONF_UNLIMITED);
}
