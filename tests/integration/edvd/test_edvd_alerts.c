/*
 * test_edvd_alerts.c - edvd's alert intake (POST
 * /api/v1/alerts/notifications: Cloud Monitoring's webhook_basicauth
 * channel) and the incidents it keeps (GET /api/v1/alerts/incidents,
 * /metrics, edvctl infra incidents).
 *
 * Refused notifications (credentials, payloads) record nothing; an open
 * then a closed notification make one closed incident; the tenant comes
 * from the user label, the metric label or the backend service's name;
 * incidents outlive a restart of edvd; a password file readable by others
 * stops edvd from starting, and without one the intake is disabled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

#define NOTIFY "/api/v1/alerts/notifications"
#define TMPL_N "/api/alerts/notifications"
#define LIST   "/api/v1/alerts/incidents"
#define TMPL_L "/api/alerts/incidents"

/* The incidents edvd lists with `query` ("" for all). */
static json_object *incidents(const char *query)
{
  char path[256];
  resp *r;
  json_object *o;

  snprintf(path, sizeof(path), LIST "%s", query);
  r = call("GET", path, TMPL_L, tok_view, NULL, NULL, 200);
  o = json_object_get(json_object_object_get(r->json, "incidents"));
  resp_free(r);
  return o;
}

static size_t n_incidents(const char *query)
{
  json_object *a = incidents(query);
  size_t n = json_object_array_length(a);

  json_object_put(a);
  return n;
}

static json_object *incident(const char *id)
{
  json_object *a = incidents("?state=all"), *hit = NULL;

  for (size_t i = 0; i < json_object_array_length(a); i++) {
    json_object *x = json_object_array_get_idx(a, i);
    if (strcmp(jstr(x, "incident_id"), id) == 0)
      hit = json_object_get(x);
  }
  json_object_put(a);
  return hit;
}

static int setup(void **state)
{
  char conf[512];

  (void)state;
  if (eh_intake_setup(conf, sizeof(conf)))
    return -1;
  return eh_setup(conf);
}

/* Wrong, missing or bearer credentials: 401 with a Basic challenge, and
 * nothing recorded; the list needs a token. */
static void test_auth(void **state)
{
  static const char *const bad[] = {
      NULL,                                            /* no Authorization */
      "Authorization: Basic ZWR2LWFsZXJ0czp3cm9uZw==", /* wrong password */
      "Authorization: Basic c29tZW9uZTpzM2NyZXQtaW50YWtl", /* wrong user */
      "Authorization: Basic !!!!",                         /* not base64 */
      "Authorization: Digest abc",
  };
  char body[4096], h[128];

  (void)state;
  eh_notification(body, sizeof(body), "0.auth", "open", "s1", NULL, NULL);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    resp *r = http("POST", base, NOTIFY, NULL, body, bad[i]);
    assert_int_equal(r->status, 401);
    assert_non_null(strstr(resp_header(r, "WWW-Authenticate", h, sizeof(h)),
                           "Basic realm="));
    resp_free(r);
  }
  /* A bearer token, even an admin's, is not accepted there. */
  expect_error("POST", NOTIFY, TMPL_N, tok_admin, body, 401, NULL);
  expect_error("GET", LIST, TMPL_L, NULL, NULL, 401, NULL);
  assert_int_equal(n_incidents(""), 0);
}

/* Each malformed payload is a 400 naming the field; nothing recorded. */
static void test_malformed(void **state)
{
  static const struct {
    const char *from, *to, *field;
  } cases[] = {
      {"\"version\": \"1.2\"", "\"version\": \"1.1\"", "version"},
      {"\"incident_id\": \"0.bad\",", "", "incident.incident_id"},
      {"\"state\": \"open\"", "\"state\": \"pending\"", "incident.state"},
      {"\"started_at\": 1765000000", "\"started_at\": \"yesterday\"",
       "incident.started_at"},
      {"\"state\": \"open\"", "\"state\": \"closed\"", "incident.ended_at"},
      {"\"ended_at\": null", "\"ended_at\": 1765003600", "incident.ended_at"},
      {"\"severity\": \"Error\"", "\"severity\": \"Fatal\"",
       "incident.severity"},
      {"\"project_id\": \"edv-test\"", "\"project_id\": 7",
       "incident.resource.labels.project_id"},
      {"\"edv-tenant\": \"s1\"", "\"edv-tenant\": \"Not A Tenant\"",
       "incident.metadata.user_labels.edv-tenant"},
      {"\"metric\": {", "\"metric\": 5, \"x\": {", "incident.metric"},
      {"\"policy_name\": \"edv: application_errors\",", "",
       "incident.policy_name"},
      {"\"url\": \"https:", "\"url\": \"javascript:", "incident.url"},
  };
  char body[4096], bad[4096];

  (void)state;
  eh_notification(body, sizeof(body), "0.bad", "open", "s1", NULL, NULL);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *at = strstr(body, cases[i].from);
    assert_non_null(at);
    snprintf(bad, sizeof(bad), "%.*s%s%s", (int)(at - body), body, cases[i].to,
             at + strlen(cases[i].from));
    expect_error_h("POST", NOTIFY, TMPL_N, NULL, bad, EH_INTAKE_AUTH, 400,
                   cases[i].field);
  }
  expect_error_h("POST", NOTIFY, TMPL_N, NULL, "[1]", EH_INTAKE_AUTH, 400,
                 "body");
  assert_int_equal(n_incidents(""), 0);
}

/* Open, then closed: one incident, closed; /metrics counts it while open;
 * a closed one never seen open is recorded closed. The audit names the
 * intake's user, never its password. */
static void test_open_close(void **state)
{
  char body[4096], path[320];
  json_object *x;
  resp *r;
  char *audit;

  (void)state;
  eh_notification(body, sizeof(body), "0.oc", "open", "s1", NULL, NULL);
  r = call("POST", NOTIFY, TMPL_N, NULL, body, EH_INTAKE_AUTH, 200);
  assert_string_equal(jstr(r->json, "state"), "open");
  assert_string_equal(jstr(r->json, "tenant"), "s1");
  resp_free(r);
  assert_int_equal(n_incidents("?state=open"), 1);
  x = incident("0.oc");
  assert_non_null(x);
  assert_string_equal(jstr(x, "alert"), "application_errors");
  assert_string_equal(jstr(x, "severity"), "Error");
  assert_string_equal(jstr(x, "started"), "2025-12-06T05:46:40.000Z");
  assert_null(json_object_object_get(x, "ended"));
  assert_string_equal(jstr(x, "labels.user.edv-tenant"), "s1");
  json_object_put(x);
  r = call("GET", "/metrics", "/metrics", tok_view, NULL, NULL, 200);
  assert_non_null(strstr(r->body, "edv_incidents_open{alert=\"application_"
                                  "errors\",severity=\"Error\"} 1\n"));
  resp_free(r);

  eh_notification(body, sizeof(body), "0.oc", "closed", "s1", NULL, NULL);
  resp_free(call("POST", NOTIFY, TMPL_N, NULL, body, EH_INTAKE_AUTH, 200));
  assert_int_equal(n_incidents("?state=open"), 0);
  assert_int_equal(n_incidents("?state=closed"), 1);
  x = incident("0.oc");
  assert_string_equal(jstr(x, "state"), "closed");
  assert_string_equal(jstr(x, "ended"), "2025-12-06T06:46:40.000Z");
  json_object_put(x);
  r = call("GET", "/metrics", "/metrics", tok_view, NULL, NULL, 200);
  assert_null(strstr(r->body, "edv_incidents_open{"));
  resp_free(r);

  eh_notification(body, sizeof(body), "0.late", "closed", NULL, NULL, NULL);
  resp_free(call("POST", NOTIFY, TMPL_N, NULL, body, EH_INTAKE_AUTH, 200));
  x = incident("0.late");
  assert_string_equal(jstr(x, "state"), "closed");
  json_object_put(x);

  snprintf(path, sizeof(path), "%s/audit.log", dir);
  audit = eh_slurp(path);
  assert_non_null(strstr(audit, "\"who\":\"edv-alerts\""));
  assert_null(strstr(audit, "s3cret"));
  free(audit);
  expect_error("GET", LIST "?state=sleeping", TMPL_L, tok_view, NULL, 400,
               "state");
  expect_error("GET", LIST "?page_token=zzz", TMPL_L, tok_view, NULL, 400,
               "page_token");
  expect_error("GET", LIST "?limit=0", TMPL_L, tok_view, NULL, 400, "limit");
  expect_error("GET", LIST "?tenant=Bad_Id", TMPL_L, tok_view, NULL, 400,
               "tenant");
  expect_error("GET", LIST "?colour=red", TMPL_L, tok_view, NULL, 400,
               "colour");
}

/* The tenant: the user label first, then the metric label, then the
 * backend service edv-ID-be; none is a fleet-level incident. */
static void test_tenant(void **state)
{
  static const struct {
    const char *id, *user, *metric, *backend, *want;
  } cases[] = {
      {"0.t1", "s2", "s9", "edv-s8-be", "s2"},
      {"0.t2", NULL, "s3", "edv-s8-be", "s3"},
      {"0.t3", NULL, NULL, "edv-s4-be", "s4"},
      {"0.t4", NULL, NULL, "some-other-be", NULL},
      {"0.t5", NULL, NULL, NULL, NULL},
  };
  char body[4096];
  json_object *x;

  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    eh_notification(body, sizeof(body), cases[i].id, "open", cases[i].user,
                    cases[i].metric, cases[i].backend);
    resp_free(call("POST", NOTIFY, TMPL_N, NULL, body, EH_INTAKE_AUTH, 200));
    x = incident(cases[i].id);
    assert_non_null(x);
    if (cases[i].want)
      assert_string_equal(jstr(x, "tenant"), cases[i].want);
    else
      assert_null(json_object_object_get(x, "tenant"));
    json_object_put(x);
  }
  assert_int_equal(n_incidents("?tenant=s3"), 1);
  assert_int_equal(n_incidents("?tenant=s4&state=open"), 1);
  assert_int_equal(n_incidents("?tenant=s8"), 0);
  /* Pages of two, newest first, every incident once. */
  {
    char path[400], seen[1024] = "";
    size_t got = 0, all = n_incidents("");
    const char *tok = NULL;
    resp *r = NULL;

    for (int page = 0; page < 20; page++) {
      char *enc = NULL;
      if (tok) {
        CURL *cu = curl_easy_init();
        enc = curl_easy_escape(cu, tok, 0);
        curl_easy_cleanup(cu);
      }
      snprintf(path, sizeof(path), LIST "?limit=2%s%s",
               enc ? "&page_token=" : "", enc ? enc : "");
      curl_free(enc);
      if (r)
        resp_free(r);
      r = call("GET", path, TMPL_L, tok_view, NULL, NULL, 200);
      json_object *a = json_object_object_get(r->json, "incidents");
      assert_true(json_object_array_length(a) <= 2);
      for (size_t i = 0; i < json_object_array_length(a); i++) {
        const char *id = jstr(json_object_array_get_idx(a, i), "incident_id");
        char key[64];
        snprintf(key, sizeof(key), "<%s>", id);
        assert_null(strstr(seen, key));
        strcat(seen, key);
        got++;
      }
      tok = jstr(r->json, "next_page_token");
      if (!tok)
        break;
    }
    resp_free(r);
    assert_int_equal(got, all);
  }
}

/* edvctl infra incidents: the same document locally (the store) and
 * through edvd. */
static void test_edvctl(void **state)
{
  char tokenv[200], sim[3][400], *local = NULL, *remote = NULL, *err = NULL;
  int rc;
  const char *env[] = {tokenv, NULL};
  const char *env_sim[] = {sim[0], sim[1], sim[2], NULL};
  json_object *a, *b;

  (void)state;
  snprintf(tokenv, sizeof(tokenv), "EDV_TOKEN=%s", tok_view);
  snprintf(sim[0], sizeof(sim[0]), "EDV_ENDPOINT=%s", sim_base);
  snprintf(sim[1], sizeof(sim[1]), "EDV_KEY_FILE=%s/sim-key.json", dir);
  snprintf(sim[2], sizeof(sim[2]), "EDV_PROJECT=edv-sim");
  rc = run_edvctl(env_sim,
                  (const char *const[]){"--state-dir", dir, "--format", "json",
                                        "infra", "incidents", "--state", "open",
                                        NULL},
                  &local, &err);
  if (rc != 0)
    fail_msg("edvctl (local): %d: %s", rc, err);
  free(err);
  err = NULL;
  rc = run_edvctl(env,
                  (const char *const[]){"--server", base, "--format", "json",
                                        "infra", "incidents", "--state", "open",
                                        NULL},
                  &remote, &err);
  if (rc != 0)
    fail_msg("edvctl --server: %d: %s", rc, err);
  free(err);
  a = json_tokener_parse(local);
  b = json_tokener_parse(remote);
  assert_non_null(a);
  assert_true(json_object_array_length(json_object_object_get(a, "incidents")) >
              0);
  /* "received" is the store's, the same; every field agrees. */
  assert_true(json_object_equal(a, b));
  json_object_put(a);
  json_object_put(b);
  free(local);
  free(remote);
}

/* A restart keeps the incidents; a password file others may read stops
 * edvd from starting, naming the key; no file: the intake is disabled. */
static void test_restart(void **state)
{
  char conf[320], logf[320], *log;
  size_t before = n_incidents("");
  int st = 0;
  pid_t pid;
  FILE *f;

  (void)state;
  assert_true(before >= 6);
  assert_int_equal(stop_edvd(NULL), 0);
  start_edvd();
  assert_int_equal(n_incidents(""), before);
  assert_int_equal(stop_edvd(NULL), 0);

  chmod(eh_intake_file, 0644);
  snprintf(conf, sizeof(conf), "%s/edvd.conf", dir);
  snprintf(logf, sizeof(logf), "%s/edvd.log", dir);
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen(logf, "a", stderr);
    execl(edvd_bin, edvd_bin, "--sim", "--state-dir", dir, "--listen",
          "127.0.0.1:0", "--config", conf, (char *)NULL);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
  log = eh_slurp(logf);
  assert_non_null(strstr(log, "alerts.intake_password_file"));
  assert_non_null(strstr(log, "chmod 600"));
  free(log);

  f = fopen(conf, "w");
  assert_non_null(f);
  fputs("# edvd under test, no intake\n", f);
  fclose(f);
  start_edvd();
  {
    char body[4096];
    eh_notification(body, sizeof(body), "0.off", "open", "s1", NULL, NULL);
    expect_error_h("POST", NOTIFY, TMPL_N, NULL, body, EH_INTAKE_AUTH, 404,
                   NULL);
  }
  assert_int_equal(n_incidents(""), before);
}

static int teardown(void **state)
{
  (void)state;
  eh_intake_cleanup();
  return 0;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_open_close),
      cmocka_unit_test(test_tenant),
      cmocka_unit_test(test_edvctl),
      cmocka_unit_test_teardown(test_restart, teardown),
  };
  return EH_MAIN("edvd/alerts", tests, setup, NULL);
}
