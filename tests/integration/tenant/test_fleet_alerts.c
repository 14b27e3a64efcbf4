/*
 * test_fleet_alerts.c - where the fleet's alerts go (alerts.email,
 * alerts.webhook; docs/operations.md, "Alerts"), on the in-process
 * simulator through the public fleet API:
 *   - the platform makes one notification channel per configured target,
 *     labelled ours, and every one of the five alert policies names
 *     exactly those, with a severity and documentation saying what to do;
 *   - a channel someone else made is never touched;
 *   - with the configuration changed (a target dropped, another added),
 *     the next platform run patches every policy to the new set and
 *     deletes the channels no longer configured;
 *   - the five policies as the simulator keeps them: their exact filters,
 *     aggregations, thresholds, durations (docs/operations.md, "Alerts");
 *     one made by an older version (another filter) is patched in place;
 *   - Slack, PagerDuty and edvd-intake channels from 0600 secret files: the
 *     secret kept by Monitoring, answered masked, tagged edv-secret, never
 *     in the log or the fleet's store; a rotated secret patches the
 *     channel; a secret file open to others is refused naming its key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "edv/fleet.h"
#include "edv/log.h"
#include "pharness.h"

static ph H;

/* The platform, run by a public fleet whose configuration sends alerts to
 * `emails` and `hooks`. */
static void platform_with(const char *emails, const char *hooks)
{
  edv_config *cfg = edv_config_new();
  edv_fleet *f;
  edv_error err;
  char tf[600];
  const char *src = getenv("EDV_SOURCE_ROOT");

  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  assert_int_equal(edv_config_set(cfg, "tiers_file", tf, &err), 0);
  assert_int_equal(edv_config_set(cfg, "alerts.email", emails, &err), 0);
  assert_int_equal(edv_config_set(cfg, "alerts.webhook", hooks, &err), 0);
  f = ph_fleet_open(&H, NULL, cfg, "alerts-test");
  ph_platform(&H, f);
  ph_fleet_close(&H, f);
  edv_config_free(cfg);
}

static json_object *list(const char *coll)
{
  char path[200];

  snprintf(path, sizeof(path), "/v3/projects/edv-sim/%s?pageSize=1000", coll);
  return ph_api(&H, EDV_API_MONITORING, "GET", path, NULL);
}

static int ours(json_object *o)
{
  json_object *l = json_object_object_get(o, "userLabels"), *m;

  return l && json_object_object_get_ex(l, "edv-managed", &m) &&
         strcmp(json_object_get_string(m), "true") == 0;
}

/* Our channels' addresses, sorted, joined by spaces; their names in
 * `names` (same order is not needed: a set). */
static void our_channels(char *addrs, size_t size, json_object *names)
{
  json_object *l = list("notificationChannels");
  json_object *arr = json_object_object_get(l, "notificationChannels");
  char *v[16];
  size_t n = 0, off = 0;

  for (size_t i = 0; i < json_object_array_length(arr) && n < 16; i++) {
    json_object *c = json_object_array_get_idx(arr, i), *lab;
    const char *t = json_object_get_string(json_object_object_get(c, "type"));
    if (!ours(c))
      continue;
    lab = json_object_object_get(c, "labels");
    v[n++] = strdup(
        strcmp(t, "pagerduty") == 0 ? "pagerduty"
        : strcmp(t, "slack") == 0
            ? ph_js(lab, "channel_name")
            : ph_js(lab, strcmp(t, "email") == 0 ? "email_address" : "url"));
    json_object_array_add(names,
                          json_object_get(json_object_object_get(c, "name")));
  }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
      char *t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  addrs[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    off +=
        (size_t)snprintf(addrs + off, size - off, "%s%s", i ? " " : "", v[i]);
    free(v[i]);
  }
  json_object_put(l);
}

/* Every policy of ours names exactly `names`, has a severity and says what
 * to do; 5 of them. */
static void assert_policies(json_object *names)
{
  json_object *l = list("alertPolicies");
  json_object *arr = json_object_object_get(l, "alertPolicies");
  unsigned mine = 0;

  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *p = json_object_array_get_idx(arr, i);
    json_object *ch = json_object_object_get(p, "notificationChannels");
    const char *sev =
        json_object_get_string(json_object_object_get(p, "severity"));
    const char *doc = json_object_get_string(json_object_object_get(
        json_object_object_get(p, "documentation"), "content"));
    if (!ours(p))
      continue;
    mine++;
    assert_non_null(sev);
    assert_true(strcmp(sev, "CRITICAL") == 0 || strcmp(sev, "ERROR") == 0 ||
                strcmp(sev, "WARNING") == 0);
    assert_non_null(doc);
    assert_true(strlen(doc) > 60);
    if (json_object_array_length(ch) != json_object_array_length(names))
      fail_msg("policy %s names %s, want %s",
               json_object_get_string(json_object_object_get(p, "displayName")),
               json_object_to_json_string(ch),
               json_object_to_json_string(names));
    for (size_t k = 0; k < json_object_array_length(ch); k++) {
      int found = 0;
      for (size_t m = 0; m < json_object_array_length(names); m++)
        found |=
            strcmp(json_object_get_string(json_object_array_get_idx(ch, k)),
                   json_object_get_string(
                       json_object_array_get_idx(names, m))) == 0;
      assert_true(found);
    }
  }
  assert_int_equal(mine, 5);
  json_object_put(l);
}

static void test_channels(void **state)
{
  json_object *body = json_object_new_object(), *lab = json_object_new_object();
  json_object *names, *foreign, *l;
  char addrs[1024], foreign_name[200];

  (void)state;
  /* Someone else's channel: never touched. */
  json_object_object_add(body, "type", json_object_new_string("email"));
  json_object_object_add(lab, "email_address",
                         json_object_new_string("ceo@school.example"));
  json_object_object_add(body, "labels", lab);
  foreign = ph_api(&H, EDV_API_MONITORING, "POST",
                   "/v3/projects/edv-sim/notificationChannels", body);
  assert_non_null(foreign);
  snprintf(foreign_name, sizeof(foreign_name), "%s",
           json_object_get_string(json_object_object_get(foreign, "name")));
  json_object_put(foreign);

  platform_with("ops@school.example,oncall@school.example",
                "https://hooks.example/edv");
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(
      addrs,
      "https://hooks.example/edv oncall@school.example ops@school.example");
  assert_policies(names);
  json_object_put(names);

  /* Run again unchanged: nothing written. */
  {
    unsigned long before = ph_mutations(&H);
    assert_true(before > 0); /* the count sees the platform's writes */
    platform_with("ops@school.example,oncall@school.example",
                  "https://hooks.example/edv");
    assert_int_equal(ph_mutations(&H), before);
  }

  /* One address dropped, the webhook dropped, another address added. */
  platform_with("ops@school.example,dean@school.example", "none");
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(addrs, "dean@school.example ops@school.example");
  assert_policies(names);
  json_object_put(names);

  /* The foreign channel is still there, unchanged. */
  {
    char path[260];
    snprintf(path, sizeof(path), "/v3/%s", foreign_name);
    l = ph_api(&H, EDV_API_MONITORING, "GET", path, NULL);
    assert_non_null(l);
    assert_string_equal(
        json_object_get_string(json_object_object_get(
            json_object_object_get(l, "labels"), "email_address")),
        "ceo@school.example");
    json_object_put(l);
  }

  /* No target at all: policies name none, our channels are gone. */
  platform_with("none", "none");
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(addrs, "");
  assert_policies(names);
  json_object_put(names);
}

/* ---- the five policies ---------------------------------------------------*/

#define VMS                                                                    \
  "resource.type=\"gce_instance\" AND "                                        \
  "metadata.user_labels.\"edv-managed\"=\"true\""
#define LB                                                                     \
  "metric.type=\"loadbalancing.googleapis.com/https/request_count\" AND "      \
  "resource.type=\"https_lb_rule\" AND "                                       \
  "resource.label.url_map_name=\"edv-urlmap\""

static const struct {
  const char *name, *severity, *filter, *denominator, *aligner, *reducer,
      *group_by, *comparison, *duration;
  double threshold;
} want_policies[] = {
    {"vm_down", "CRITICAL",
     "metric.type=\"custom.googleapis.com/edvirons/tenant_up\" AND "
     "resource.type=\"global\"",
     NULL, "ALIGN_MAX", "REDUCE_MAX", "metric.label.\"edv_tenant\"",
     "COMPARISON_LT", "60s", 1},
    {"high_cpu", "WARNING",
     "metric.type=\"compute.googleapis.com/instance/cpu/utilization\" AND " VMS,
     NULL, "ALIGN_MEAN", "REDUCE_MAX", "metadata.user_labels.\"edv-tenant\"",
     "COMPARISON_GT", "300s", 0.8},
    {"high_memory", "WARNING",
     "metric.type=\"agent.googleapis.com/memory/percent_used\" AND "
     "metric.label.state=\"used\" AND " VMS,
     NULL, "ALIGN_MEAN", "REDUCE_MAX", "metadata.user_labels.\"edv-tenant\"",
     "COMPARISON_GT", "300s", 85},
    {"database_errors", "CRITICAL",
     "metric.type=\"cloudsql.googleapis.com/database/up\" AND "
     "resource.type=\"cloudsql_database\" AND "
     "metadata.user_labels.\"edv-managed\"=\"true\"",
     NULL, "ALIGN_MIN", "REDUCE_MIN", "metadata.user_labels.\"edv-tenant\"",
     "COMPARISON_LT", "60s", 1},
    {"application_errors", "ERROR",
     LB " AND metric.label.response_code_class=\"500\"", LB, "ALIGN_RATE",
     "REDUCE_SUM", "resource.label.\"backend_target_name\"", "COMPARISON_GT",
     "300s", 0.05},
};

/* The simulator's policy "edv: NAME" (a new reference), or NULL. */
static json_object *sim_policy(const char *name)
{
  json_object *st =
      ph_admin(&H, "GET", "/_sim/state?kind=monitoring.alertPolicy", NULL);
  json_object *items = json_object_object_get(st, "resources"), *found = NULL;
  char dn[80];

  snprintf(dn, sizeof(dn), "edv: %s", name);
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *p =
        json_object_object_get(json_object_array_get_idx(items, i), "resource");
    const char *d = ph_js(p, "displayName");
    if (d && strcmp(d, dn) == 0)
      found = json_object_get(p);
  }
  json_object_put(st);
  return found;
}

static json_object *at(json_object *o, const char *path)
{
  char key[64];

  while (o && *path) {
    size_t n = strcspn(path, ".");
    snprintf(key, sizeof(key), "%.*s", (int)n, path);
    if (json_object_is_type(o, json_type_array))
      o = json_object_array_get_idx(o, (size_t)atoi(key));
    else
      o = json_object_object_get(o, key);
    path += n + (path[n] == '.');
  }
  return o;
}

static const char *at_str(json_object *o, const char *path)
{
  return json_object_get_string(at(o, path));
}

/* One aggregation as the policies make it. */
static void assert_aggregation(json_object *aggs, unsigned i)
{
  assert_int_equal(json_object_array_length(aggs), 1);
  assert_string_equal(at_str(aggs, "0.alignmentPeriod"), "60s");
  assert_string_equal(at_str(aggs, "0.perSeriesAligner"),
                      want_policies[i].aligner);
  assert_string_equal(at_str(aggs, "0.crossSeriesReducer"),
                      want_policies[i].reducer);
  assert_int_equal(json_object_array_length(at(aggs, "0.groupByFields")), 1);
  assert_string_equal(at_str(aggs, "0.groupByFields.0"),
                      want_policies[i].group_by);
}

/* The five policies, exactly, as the simulator keeps them, each naming
 * the channels `names`. */
static void assert_exact_policies(json_object *names)
{
  for (unsigned i = 0; i < 5; i++) {
    json_object *p = sim_policy(want_policies[i].name), *th, *ch;
    if (!p)
      fail_msg("no policy edv: %s", want_policies[i].name);
    assert_string_equal(ph_js(p, "severity"), want_policies[i].severity);
    assert_string_equal(at_str(p, "userLabels.edv-alert"),
                        want_policies[i].name);
    assert_string_equal(at_str(p, "userLabels.edv-managed"), "true");
    assert_string_equal(ph_js(p, "combiner"), "OR");
    assert_int_equal(json_object_array_length(at(p, "conditions")), 1);
    th = at(p, "conditions.0.conditionThreshold");
    assert_string_equal(ph_js(th, "filter"), want_policies[i].filter);
    assert_string_equal(ph_js(th, "comparison"), want_policies[i].comparison);
    assert_string_equal(ph_js(th, "duration"), want_policies[i].duration);
    assert_true(json_object_get_double(at(th, "thresholdValue")) ==
                want_policies[i].threshold);
    assert_aggregation(at(th, "aggregations"), i);
    if (want_policies[i].denominator) {
      assert_string_equal(ph_js(th, "denominatorFilter"),
                          want_policies[i].denominator);
      assert_aggregation(at(th, "denominatorAggregations"), i);
    } else {
      assert_null(at(th, "denominatorFilter"));
      assert_null(at(th, "denominatorAggregations"));
    }
    ch = at(p, "notificationChannels");
    assert_int_equal(json_object_array_length(ch),
                     json_object_array_length(names));
    for (size_t k = 0; k < json_object_array_length(ch); k++) {
      int found = 0;
      for (size_t m = 0; m < json_object_array_length(names); m++)
        found |=
            strcmp(json_object_get_string(json_object_array_get_idx(ch, k)),
                   json_object_get_string(
                       json_object_array_get_idx(names, m))) == 0;
      assert_true(found);
    }
    json_object_put(p);
  }
}

/* A fleet made by an older version: its database_errors policy watched a
 * custom metric nothing writes, averaged by a label "tenant". The next
 * platform run patches that policy in place (same name) to the new
 * condition, and writes nothing else. */
static void test_policies(void **state)
{
  json_object *p, *body, *names;
  char path[300], name[200], addrs[512];
  unsigned long before;

  (void)state;
  platform_with("ops@school.example", "none");
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(addrs, "ops@school.example");
  assert_exact_policies(names);

  p = sim_policy("database_errors");
  snprintf(name, sizeof(name), "%s", ph_js(p, "name"));
  json_object_put(p);
  snprintf(path, sizeof(path), "/v3/%s?updateMask=conditions", name);
  body = json_tokener_parse(
      "{\"conditions\":[{\"displayName\":\"edv: database_errors\","
      "\"conditionThreshold\":{\"filter\":\"metric.type=\\\"custom."
      "googleapis.com/edv/db_errors\\\" AND resource.type=\\\"global\\\"\","
      "\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":0,"
      "\"duration\":\"60s\",\"aggregations\":[{\"alignmentPeriod\":\"60s\","
      "\"perSeriesAligner\":\"ALIGN_MEAN\",\"crossSeriesReducer\":"
      "\"REDUCE_MEAN\",\"groupByFields\":[\"metric.label.\\\"tenant\\\"\"]}]"
      "}}]}");
  json_object_put(ph_api(&H, EDV_API_MONITORING, "PATCH", path, body));
  p = sim_policy("database_errors");
  assert_string_equal(at_str(p, "conditions.0.conditionThreshold.filter"),
                      "metric.type=\"custom.googleapis.com/edv/db_errors\" "
                      "AND resource.type=\"global\"");
  json_object_put(p);

  before = ph_mutations(&H);
  platform_with("ops@school.example", "none");
  assert_int_equal(ph_mutations(&H), before + 1); /* the one patch */
  p = sim_policy("database_errors");
  assert_string_equal(ph_js(p, "name"), name);
  json_object_put(p);
  assert_exact_policies(names);
  json_object_put(names);
}

/* ---- channels with secrets ---------------------------------------------*/

#define SLACK_1  "xoxb-1111-SECRET-slack"
#define SLACK_2  "xoxb-9999-SECRET-rotated"
#define PD_KEY   "pd-SECRET-key-2222"
#define INTAKE   "intake-SECRET-pw-3333"
#define INTAKE_U "http://127.0.0.1:9/api/v1/alerts/notifications"

static void secret_file(const char *name, const char *text, mode_t mode,
                        char *path, size_t size)
{
  FILE *fp;

  snprintf(path, size, "%s/%s", H.dir, name);
  unlink(path);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp, "%s\n", text);
  fclose(fp);
  assert_int_equal(chmod(path, mode), 0);
}

static char slack_file[400], pd_file[400], intake_file[400], log_file[400];

/* The platform with email, Slack, PagerDuty and edvd's intake (but the
 * key `drop`, when not NULL), the library's log (debug) captured in
 * log_file; 0, or -1 with err filled. */
static int platform_secrets(edv_error *out, const char *drop)
{
  edv_config *cfg = edv_config_new();
  edv_fleet *f;
  edv_error err;
  ph_ans x = {0};
  char tf[600];
  const char *src = getenv("EDV_SOURCE_ROOT");
  int saved, fd, result;
  edv_log_level level = edv_log_get_level();

  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  assert_int_equal(edv_config_set(cfg, "tiers_file", tf, &err), 0);
  {
    const char *const kv[] = {"alerts.email",
                              "ops@school.example",
                              "alerts.slack_channel",
                              "#edv-alerts",
                              "alerts.slack_token_file",
                              slack_file,
                              "alerts.pagerduty_key_file",
                              pd_file,
                              "alerts.intake_url",
                              INTAKE_U,
                              "alerts.intake_password_file",
                              intake_file};
    for (size_t i = 0; i < sizeof(kv) / sizeof(*kv); i += 2)
      if (!drop || strcmp(kv[i], drop) != 0)
        assert_int_equal(edv_config_set(cfg, kv[i], kv[i + 1], &err), 0);
  }
  fflush(stderr);
  saved = dup(2);
  fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND, 0600);
  assert_true(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  edv_log_set_level(EDV_LOG_DEBUG);
  f = ph_fleet_open(&H, NULL, cfg, "alerts-test");
  assert_int_equal(edv_fleet_platform_init(f, 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  ph_fleet_close(&H, f);
  edv_log_set_level(level);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  edv_config_free(cfg);
  result = x.a ? 0 : -1;
  if (x.a)
    assert_string_equal(ph_js(x.a, "phase"), "READY");
  else
    *out = x.err;
  json_object_put(x.a);
  return result;
}

/* 1 when the file at path holds `needle` (binary-safe). */
static int file_has(const char *path, const char *needle)
{
  FILE *fp = fopen(path, "rb");
  char *buf;
  long n;
  int found = 0;

  if (!fp)
    return 0;
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  buf = calloc(1, (size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, fp) == (size_t)n)
    for (long i = 0; i + (long)strlen(needle) <= n && !found; i++)
      found = memcmp(buf + i, needle, strlen(needle)) == 0;
  free(buf);
  fclose(fp);
  return found;
}

/* Our channel of `type`: its name; its secret label as Monitoring keeps
 * it (the simulator's state) and as the API answers it; its edv-secret. */
static void secret_channel(const char *type, const char *label, char *name,
                           char *kept, char *answered, char *tag)
{
  json_object *l = list("notificationChannels"), *c = NULL, *st;
  json_object *arr = json_object_object_get(l, "notificationChannels");

  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    if (ours(o) && strcmp(ph_js(o, "type"), type) == 0) {
      assert_null(c); /* one of each */
      c = o;
    }
  }
  if (!c)
    fail_msg("no channel of type %s", type);
  snprintf(name, 200, "%s", ph_js(c, "name"));
  snprintf(answered, 200, "%s",
           at_str(c, "labels") ? ph_js(at(c, "labels"), label)
                                     ? ph_js(at(c, "labels"), label)
                                     : "(none)"
                               : "(none)");
  snprintf(tag, 40, "%s",
           ph_js(at(c, "userLabels"), "edv-secret")
               ? ph_js(at(c, "userLabels"), "edv-secret")
               : "(none)");
  json_object_put(l);
  st = ph_res(&H, name);
  assert_non_null(st);
  snprintf(kept, 200, "%s",
           ph_js(at(st, "labels"), label) ? ph_js(at(st, "labels"), label)
                                          : "(none)");
  json_object_put(st);
}

static void test_secret_channels(void **state)
{
  char name[200], kept[200], answered[200], tag[40], slack_name[200];
  char addrs[1024], db[400];
  json_object *names, *c;
  edv_error err;
  unsigned long before;
  static const char *const secrets[] = {SLACK_1, SLACK_2, PD_KEY, INTAKE};

  (void)state;
  snprintf(log_file, sizeof(log_file), "%s/captured.log", H.dir);
  secret_file("slack.token", SLACK_1, 0600, slack_file, sizeof(slack_file));
  secret_file("pd.key", PD_KEY, 0400, pd_file, sizeof(pd_file));
  secret_file("intake.pw", INTAKE, 0600, intake_file, sizeof(intake_file));
  assert_int_equal(platform_secrets(&err, NULL), 0);

  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(addrs,
                      "#edv-alerts " INTAKE_U " ops@school.example pagerduty");
  assert_exact_policies(names);
  json_object_put(names);

  /* Each secret kept whole (no newline), answered masked, tagged. */
  secret_channel("slack", "auth_token", slack_name, kept, answered, tag);
  assert_string_equal(kept, SLACK_1);
  assert_string_equal(answered, "**************");
  assert_string_equal(tag, "6b2d2e6041d57632");
  secret_channel("pagerduty", "service_key", name, kept, answered, tag);
  assert_string_equal(kept, PD_KEY);
  assert_string_equal(answered, "**************");
  assert_string_equal(tag, "ec72a3c05883e5ae");
  secret_channel("webhook_basicauth", "password", name, kept, answered, tag);
  assert_string_equal(kept, INTAKE);
  assert_string_equal(answered, "**************");
  assert_string_equal(tag, "84a842e3070dbd4b");
  c = ph_res(&H, name);
  assert_string_equal(at_str(c, "labels.username"), "edv-alerts");
  assert_string_equal(at_str(c, "labels.url"), INTAKE_U);
  json_object_put(c);

  /* Unchanged: nothing written. */
  before = ph_mutations(&H);
  assert_int_equal(platform_secrets(&err, NULL), 0);
  assert_int_equal(ph_mutations(&H), before);

  /* Rotated: the same channel patched with the new token. */
  secret_file("slack.token", SLACK_2, 0600, slack_file, sizeof(slack_file));
  assert_int_equal(platform_secrets(&err, NULL), 0);
  assert_int_equal(ph_mutations(&H), before + 1);
  secret_channel("slack", "auth_token", name, kept, answered, tag);
  assert_string_equal(name, slack_name);
  assert_string_equal(kept, SLACK_2);
  assert_string_equal(answered, "**************");
  assert_string_equal(tag, "205130e0c696bee3");

  /* A secret file others may read: refused, naming the key and the file,
   * and nothing written. */
  assert_int_equal(chmod(intake_file, 0644), 0);
  assert_int_equal(platform_secrets(&err, NULL), -1);
  assert_non_null(strstr(err.message, "alerts.intake_password_file"));
  assert_non_null(strstr(err.message, intake_file));
  assert_null(strstr(err.message, INTAKE));
  assert_int_equal(ph_mutations(&H), before + 1);
  assert_int_equal(chmod(intake_file, 0600), 0);

  /* A Slack channel without its token file: refused naming both keys. */
  assert_int_equal(platform_secrets(&err, "alerts.slack_token_file"), -1);
  assert_non_null(strstr(err.message, "alerts.slack_channel"));
  assert_non_null(strstr(err.message, "alerts.slack_token_file"));
  /* The intake's password without its URL (edvd's intake reached some
   * other way): no intake channel, ours removed. */
  assert_int_equal(platform_secrets(&err, "alerts.intake_url"), 0);
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(addrs, "#edv-alerts ops@school.example pagerduty");
  assert_exact_policies(names);
  json_object_put(names);

  /* No secret in the log or the fleet's store (edv.db and its WAL). */
  assert_true(file_has(log_file, "notificationChannels")); /* it logged */
  for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++) {
    assert_false(file_has(log_file, secrets[i]));
    snprintf(db, sizeof(db), "%s/edv.db", H.dir);
    assert_false(file_has(db, secrets[i]));
    snprintf(db, sizeof(db), "%s/edv.db-wal", H.dir);
    assert_false(file_has(db, secrets[i]));
  }
}

static int setup(void **state)
{
  (void)state;
  ph_open(&H);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ph_close(&H);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_channels),
      cmocka_unit_test(test_policies),
      cmocka_unit_test(test_secret_channels),
  };

  return cmocka_run_group_tests_name("fleet-alerts", tests, setup, teardown);
}
