/*
 * test_edvd_alerts_fire.c - the seed's five alerts, each driven to fire on the
 * simulator, end to end: a fault (or a stopped VM) changes what the
 * simulator's built-in metrics (or edvd's probes) say; the simulator's
 * Monitoring evaluates the platform's alert policy on its clock and opens
 * an incident for that tenant alone once the condition has held for the
 * policy's duration; the policy's channels get a notification (the email
 * channel's recorded, edvd's intake webhook really POSTed with Basic
 * auth); edvd lists the incident for the tenant; the fault removed, the
 * incident closes everywhere.
 *
 * The simulator's clock is moved on (POST /_sim/clock/advance) so that a
 * five-minute policy takes seconds; edvd stamps its probe points with that
 * clock (edv_fleet_options.cloud_clock).
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "edvd_harness.h"
#include "pharness.h"

static const char *const T1 = "al01", *const T2 = "al02";
static char pwfile[64], conf[1024], listen_at[64];

/* ---- the simulator's Monitoring -------------------------------------- */

static void advance(int secs)
{
  char body[64];
  resp *r;

  snprintf(body, sizeof(body), "{\"seconds\":%d}", secs);
  r = http("POST", sim_base, "/_sim/clock/advance", NULL, body, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
}

/* Moves the clock on `secs` in steps of `step`, letting edvd's probes
 * (every second) write a point between steps. */
static void advance_slowly(int secs, int step)
{
  for (int done = 0; done < secs; done += step) {
    advance(step);
    sleep_ms(1300);
  }
}

static int fault(const char *body)
{
  resp *r = http("POST", sim_base, "/_sim/faults", NULL, body, NULL);
  int id;

  assert_int_equal(r->status, 200);
  id = (int)json_object_get_int(json_object_object_get(r->json, "id"));
  resp_free(r);
  return id;
}

static void fault_clear(int id)
{
  char path[64];
  resp *r;

  snprintf(path, sizeof(path), "/_sim/faults?id=%d", id);
  r = http("DELETE", sim_base, path, NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);
}

/* The tenant an incident of the simulator names, by the label scheme. */
static const char *incident_tenant(json_object *inc)
{
  const char *t = jstr(inc, "metadata.user_labels.edv-tenant");
  static char buf[64];
  const char *be;

  if (t)
    return t;
  if ((t = jstr(inc, "metric.labels.edv_tenant")) != NULL)
    return t;
  be = jstr(inc, "resource.labels.backend_target_name");
  if (be && strncmp(be, "edv-", 4) == 0 && strlen(be) > 7 &&
      strcmp(be + strlen(be) - 3, "-be") == 0) {
    snprintf(buf, sizeof(buf), "%.*s", (int)(strlen(be) - 7), be + 4);
    return buf;
  }
  return "";
}

/* How many of the simulator's incidents of `alert` are in `state` (open,
 * closed) for `tenant` (NULL: any); the last one's id into id. */
static int sim_incidents(const char *alert, const char *state,
                         const char *tenant, char *id, size_t size)
{
  resp *r = http("GET", sim_base, "/_sim/incidents", NULL, NULL, NULL);
  json_object *all;
  int n = 0;

  assert_int_equal(r->status, 200);
  all = json_object_object_get(r->json, "incidents");
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *inc = json_object_array_get_idx(all, i);
    const char *a = jstr(inc, "policy_user_labels.edv-alert");
    if (!a || strcmp(a, alert) != 0 || strcmp(jstr(inc, "state"), state) != 0)
      continue;
    if (tenant && strcmp(incident_tenant(inc), tenant) != 0)
      continue;
    n++;
    if (id)
      snprintf(id, size, "%s", jstr(inc, "incident_id"));
  }
  resp_free(r);
  return n;
}

/* Waits (real time, 15 s) for the notifications of incident `id` in
 * `state`: the email channel's recorded, the intake's delivered 200. */
static void wait_notified(const char *id, const char *state)
{
  int email = 0, intake = 0;

  for (int t = 0; t < 150 && !(email && intake); t++) {
    resp *r = http("GET", sim_base, "/_sim/notifications", NULL, NULL, NULL);
    json_object *all = json_object_object_get(r->json, "notifications");

    email = intake = 0;
    for (size_t i = 0; i < json_object_array_length(all); i++) {
      json_object *n = json_object_array_get_idx(all, i);
      const char *type = jstr(n, "type");
      if (strcmp(jstr(n, "incident_id"), id) != 0 ||
          strcmp(jstr(n, "state"), state) != 0)
        continue;
      /* No secret in what the simulator recorded. */
      assert_null(strstr(json_object_to_json_string(n), "intake-pw"));
      if (strcmp(type, "email") == 0)
        email++;
      else if (strcmp(type, "webhook_basicauth") == 0 &&
               json_object_get_boolean(
                   json_object_object_get(n, "delivered")) &&
               json_object_get_int(json_object_object_get(n, "status")) == 200)
        intake++;
    }
    resp_free(r);
    if (!(email && intake))
      sleep_ms(100);
  }
  if (email != 1 || intake != 1)
    fail_msg("incident %s %s: %d email and %d intake notifications "
             "(want 1 each)",
             id, state, email, intake);
}

/* edvd's view: incident `id` in `state`, for `tenant`. */
static void edvd_has(const char *id, const char *state, const char *tenant)
{
  char path[160];
  resp *r;
  json_object *all;
  int found = 0;

  snprintf(path, sizeof(path), "/api/v1/alerts/incidents?state=%s", state);
  r = call("GET", path, "/api/alerts/incidents", tok_view, NULL, NULL, 200);
  all = json_object_object_get(r->json, "incidents");
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *inc = json_object_array_get_idx(all, i);
    if (strcmp(jstr(inc, "incident_id") ? jstr(inc, "incident_id") : "", id) !=
        0)
      continue;
    found++;
    assert_string_equal(jstr(inc, "tenant"), tenant);
    assert_string_equal(jstr(inc, "state"), state);
  }
  resp_free(r);
  if (found != 1)
    fail_msg("edvd lists incident %s %s %d times", id, state, found);
}

/*
 * One alert through its life: `on` (a fault body, or NULL with `drive`)
 * held `before` seconds opens nothing yet, held `after` more opens one
 * incident of `alert` for T1 alone (notified, in edvd); cleared, `heal`
 * seconds close it (notified, in edvd). `while_open`, when given, runs
 * while the incident is open.
 */
static void alert_cycle(const char *alert, const char *tenant, const char *on,
                        int before, int after, int heal,
                        void (*while_open)(void))
{
  char id[128];
  int fid = fault(on);

  advance(before);
  assert_int_equal(sim_incidents(alert, "open", NULL, NULL, 0), 0);
  advance(after);
  assert_int_equal(sim_incidents(alert, "open", tenant, id, sizeof(id)), 1);
  /* Only that tenant's. */
  assert_int_equal(sim_incidents(alert, "open", NULL, NULL, 0), 1);
  wait_notified(id, "open");
  edvd_has(id, "open", tenant);
  if (while_open)
    while_open();
  fault_clear(fid);
  advance(heal);
  assert_int_equal(sim_incidents(alert, "open", NULL, NULL, 0), 0);
  assert_int_equal(sim_incidents(alert, "closed", tenant, NULL, 0), 1);
  wait_notified(id, "closed");
  edvd_has(id, "closed", tenant);
}

static void resource_of(const char *tenant, const char *key, char *out,
                        size_t size)
{
  char path[128], k[64];
  resp *r;

  snprintf(path, sizeof(path), "/api/tenants/%s", tenant);
  snprintf(k, sizeof(k), "resources.%s", key);
  r = call("GET", path, "/api/tenants/{id}", tok_view, NULL, NULL, 200);
  assert_non_null(jstr(r->json, k));
  snprintf(out, size, "%s", jstr(r->json, k));
  resp_free(r);
}

/* A short name: the last path segment. */
static const char *leaf(const char *name)
{
  const char *s = strrchr(name, '/');

  return s ? s + 1 : name;
}

/* ---- the five alerts -------------------------------------------------- */

/* A number at a dotted path of a metrics document ("error_ratio.current");
 * NAN when null or absent. */
static double num_at(json_object *o, const char *path)
{
  char buf[128], *dot, *p = buf;
  json_object *v = o;

  snprintf(buf, sizeof(buf), "%s", path);
  while (v && p) {
    if ((dot = strchr(p, '.')) != NULL)
      *dot = '\0';
    v = json_object_object_get(v, p);
    p = dot ? dot + 1 : NULL;
  }
  return v && !json_object_is_type(v, json_type_null)
             ? json_object_get_double(v)
             : NAN;
}

/* The seed's tenant metrics while half of T1's requests fail: read from
 * the simulator's built-in metrics through Cloud Monitoring's aggregation,
 * on the simulator's clock. */
static void check_tenant_metrics(void)
{
  resp *r = call("GET", "/api/tenants/al01/metrics?window=15m",
                 "/api/tenants/{id}/metrics", tok_view, NULL, NULL, 200);
  json_object *m = r->json;
  double ratio = num_at(m, "error_ratio.current");

  /* The usage model's default: 20 users, 6 requests a minute each (2/s),
   * plus edvd's probes (1/s). */
  assert_true(num_at(m, "active_users.current") == 20);
  assert_true(num_at(m, "requests_per_s.current") >= 1.5 &&
              num_at(m, "requests_per_s.current") <= 4);
  if (!(ratio > 0.35 && ratio < 0.65))
    fail_msg("error_ratio.current %.3f (want about 0.5)", ratio);
  assert_true(num_at(m, "error_ratio.mean") > 0.1);
  assert_true(num_at(m, "response_ms.p50.current") > 0);
  assert_true(num_at(m, "response_ms.p95.current") >=
              num_at(m, "response_ms.p50.current"));
  assert_true(num_at(m, "utilization.vm_cpu.current") > 0 &&
              num_at(m, "utilization.vm_cpu.current") <= 1);
  assert_true(num_at(m, "utilization.vm_memory_pct.current") > 0 &&
              num_at(m, "utilization.vm_memory_pct.current") <= 100);
  assert_true(num_at(m, "utilization.db_cpu.current") > 0);
  assert_true(num_at(m, "utilization.db_connections.current") > 0);
  /* A point a minute since the tenant was made (about 8 minutes of the
   * simulator's clock by now). */
  assert_true(json_object_array_length(json_object_object_get(
                  json_object_object_get(m, "active_users"), "points")) >= 5);
  resp_free(r);
}

static void test_application_errors(void **state)
{
  char be[128], body[256];

  (void)state;
  resource_of(T1, "backend_service", be, sizeof(be));
  snprintf(body, sizeof(body), "{\"backendErrors\":\"%s\",\"rate\":0.5}",
           leaf(be));
  /* 5xx above 5% for 5 minutes. */
  alert_cycle("application_errors", T1, body, 180, 270, 180,
              check_tenant_metrics);
}

static void test_database_errors(void **state)
{
  char inst[128], body[256];

  (void)state;
  resource_of(T1, "sql_instance", inst, sizeof(inst));
  snprintf(body, sizeof(body), "{\"sqlDown\":\"%s\"}", leaf(inst));
  /* Down for a minute. */
  alert_cycle("database_errors", T1, body, 30, 120, 120, NULL);
}

static void test_high_cpu(void **state)
{
  char vm[128], body[256];

  (void)state;
  resource_of(T1, "vm", vm, sizeof(vm));
  snprintf(body, sizeof(body), "{\"vmLoad\":\"%s\",\"cpu\":0.95}", leaf(vm));
  alert_cycle("high_cpu", T1, body, 180, 240, 180, NULL);
}

static void test_high_memory(void **state)
{
  char vm[128], body[256];

  (void)state;
  resource_of(T1, "vm", vm, sizeof(vm));
  snprintf(body, sizeof(body), "{\"vmLoad\":\"%s\",\"memory\":93}", leaf(vm));
  alert_cycle("high_memory", T1, body, 180, 240, 180, NULL);
}

/* The VM down: stopped in the simulator, so edvd's probes fail (healing is
 * off here) and write tenant_up 0, stamped on the simulator's clock. */
static void test_vm_down(void **state)
{
  char vm[128], path[400], id[128], name[300];

  (void)state;
  resource_of(T2, "vm", vm, sizeof(vm));
  snprintf(path, sizeof(path), "/instances/%s", leaf(vm));
  assert_int_equal(sim_find(path, name, sizeof(name)), 0);
  snprintf(path, sizeof(path), "/compute/v1/%s/stop", name);
  assert_int_equal(sim_api("POST", path), 0);
  advance_slowly(30, 15);
  assert_int_equal(sim_incidents("vm_down", "open", NULL, NULL, 0), 0);
  advance_slowly(150, 15);
  assert_int_equal(sim_incidents("vm_down", "open", T2, id, sizeof(id)), 1);
  assert_int_equal(sim_incidents("vm_down", "open", NULL, NULL, 0), 1);
  wait_notified(id, "open");
  edvd_has(id, "open", T2);
  snprintf(path, sizeof(path), "/compute/v1/%s/start", name);
  assert_int_equal(sim_api("POST", path), 0);
  advance_slowly(120, 15);
  assert_int_equal(sim_incidents("vm_down", "open", NULL, NULL, 0), 0);
  assert_int_equal(sim_incidents("vm_down", "closed", T2, NULL, 0), 1);
  wait_notified(id, "closed");
  edvd_has(id, "closed", T2);
}

/* The intake refuses a notification without the password, and records
 * nothing. */
static void test_intake_auth(void **state)
{
  resp *r;

  (void)state;
  r = http("POST", base, "/api/v1/alerts/notifications", NULL,
           "{\"version\":\"1.2\",\"incident\":{}}",
           "Authorization: Basic ZWR2LWFsZXJ0czp3cm9uZw==");
  assert_int_equal(r->status, 401);
  resp_free(r);
}

static int setup(void **state)
{
  const char *const ids[] = {T1, T2};

  (void)state;
  if (eh_setup(conf))
    return -1;
  return eh_tenants_ready(ids, 2, "Alert School");
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_intake_auth),
      cmocka_unit_test(test_application_errors),
      cmocka_unit_test(test_database_errors),
      cmocka_unit_test(test_high_cpu),
      cmocka_unit_test(test_high_memory),
      cmocka_unit_test(test_vm_down),
  };
  int port = ph_free_port(), fd, result;

  snprintf(pwfile, sizeof(pwfile), "/tmp/edv-intake-XXXXXX");
  if (port < 0 || (fd = mkstemp(pwfile)) < 0)
    return 1;
  if (fchmod(fd, 0600) || write(fd, "intake-pw-0123456789\n", 21) != 21)
    return 1;
  close(fd);
  snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
  eh_listen = listen_at;
  snprintf(conf, sizeof(conf),
           "alerts.email = oncall@example.com\n"
           "alerts.intake_url = http://%s/api/v1/alerts/notifications\n"
           "alerts.intake_password_file = %s\n"
           "server.heal_max_per_hour = 0\n",
           listen_at, pwfile);
  result = EH_MAIN("edvd-alerts-fire", tests, setup, conf);
  unlink(pwfile);
  return result;
}
