/*
 * steps_alerts.c - the platform plan's alerting (docs/operations.md,
 * "Alerts"): the notification channels the configuration names
 * (alerts.*), and the five fleet-wide alert policies, each naming every one
 * of those channels.
 *
 * One label scheme: a VM's or a Cloud SQL instance's user label
 * edv-tenant (metadata.user_labels."edv-tenant" in Monitoring), custom
 * metrics' metric label edv_tenant, and the load balancer's metrics' backend
 * service (resource.label."backend_target_name" = edv-ID-be).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/file.h"
#include "gcp/gcp.h"
#include "tenant/ensure.h"
#include "tenant/kinds.h"
#include "tenant/machine.h"
#include "tenant/steps.h"

#define SECRET_MAX 4096

/* ---- the configured targets ----------------------------------------------
 *
 * One JSON object per channel the configuration asks for:
 *   {"type", "id": the label that tells ours of this type apart (absent:
 *    the type alone), "labels": its labels but the secret, "from": the
 *    config key asking for it, "secret": the secret label, "file": the
 *    file holding it, "file_key": that file's config key}
 * or {"error": why the configuration asks for an impossible channel}.
 */

static void target_add(json_object *list, const char *type, const char *id,
                       const char *from)
{
  json_object *t = json_object_new_object();

  json_object_object_add(t, "type", json_object_new_string(type));
  if (id)
    json_object_object_add(t, "id", json_object_new_string(id));
  json_object_object_add(t, "labels", json_object_new_object());
  json_object_object_add(t, "from", json_object_new_string(from));
  json_object_array_add(list, t);
}

static json_object *target_last(json_object *list)
{
  return json_object_array_get_idx(list, json_object_array_length(list) - 1);
}

static void target_label(json_object *list, const char *key, const char *val)
{
  json_object_object_add(edv__jget(target_last(list), "labels"), key,
                         json_object_new_string(val));
}

static void target_secret(json_object *list, const char *label,
                          const char *file, const char *file_key)
{
  json_object_object_add(target_last(list), "secret",
                         json_object_new_string(label));
  json_object_object_add(target_last(list), "file",
                         json_object_new_string(file));
  json_object_object_add(target_last(list), "file_key",
                         json_object_new_string(file_key));
}

/* One target per entry of a comma-separated list (NULL or "none": none). */
static void targets_split(json_object *list, const char *csv, const char *type,
                          const char *id, const char *from)
{
  char val[1024];

  if (!csv || strcmp(csv, "none") == 0)
    return;
  while (*csv) {
    size_t n = strcspn(csv, ",");
    if (n > 0 && n < sizeof(val)) {
      snprintf(val, sizeof(val), "%.*s", (int)n, csv);
      target_add(list, type, id, from);
      target_label(list, id, val);
    }
    csv += n + (csv[n] == ',');
  }
}

/* Key a (a channel) needs key b (its secret file): 1 when both are set.
 * b without a is an error too unless `b_alone` (b has another use). */
static int targets_pair(json_object *list, const char *ka, const char *a,
                        const char *kb, const char *b, int b_alone,
                        const char *what)
{
  char msg[300];
  json_object *e;

  if (!a == !b || (!a && b_alone))
    return a && b;
  snprintf(msg, sizeof(msg), "%s is set but %s is not: %s needs both",
           a ? ka : kb, a ? kb : ka, what);
  e = json_object_new_object();
  json_object_object_add(e, "error", json_object_new_string(msg));
  json_object_array_add(list, e);
  return 0;
}

json_object *edv__alert_targets_new(const edv__fleet_opts *o)
{
  json_object *list = json_object_new_array();

  targets_split(list, o->alert_email, "email", "email_address", "alerts.email");
  targets_split(list, o->alert_webhook, "webhook_tokenauth", "url",
                "alerts.webhook");
  if (targets_pair(list, "alerts.slack_channel", o->alert_slack_channel,
                   "alerts.slack_token_file", o->alert_slack_token_file, 0,
                   "a Slack channel")) {
    target_add(list, "slack", "channel_name", "alerts.slack_channel");
    target_label(list, "channel_name", o->alert_slack_channel);
    target_secret(list, "auth_token", o->alert_slack_token_file,
                  "alerts.slack_token_file");
  }
  if (o->alert_pagerduty_key_file) {
    target_add(list, "pagerduty", NULL, "alerts.pagerduty_key_file");
    target_secret(list, "service_key", o->alert_pagerduty_key_file,
                  "alerts.pagerduty_key_file");
  }
  if (targets_pair(list, "alerts.intake_url", o->alert_intake_url,
                   "alerts.intake_password_file", o->alert_intake_password_file,
                   1, "edvd's intake channel")) {
    target_add(list, "webhook_basicauth", "url", "alerts.intake_url");
    target_label(list, "url", o->alert_intake_url);
    target_label(list, "username", EDV_ALERT_INTAKE_USER);
    target_secret(list, "password", o->alert_intake_password_file,
                  "alerts.intake_password_file");
  }
  return list;
}

/* ---- notification channels ---------------------------------------------
 *
 * One Monitoring notification channel per target, marked ours (userLabels
 * edv-managed) and found again by type and identifying label. Monitoring
 * answers a secret label obfuscated, so a channel with a secret carries
 * the user label edv-secret, the first 16 hex digits of the secret's
 * SHA-256: a rotated secret differs from it, and the channel is patched.
 * Made one at a time, re-listing before each, like the alert policies. A
 * channel no longer configured is removed by the alert_policies step, once
 * no policy of ours names it.
 */

static int labelled_ours(json_object *c)
{
  const char *m = edv__jstr(edv__jget(c, "userLabels"), "edv-managed");

  return m && strcmp(m, "true") == 0;
}

/* Our channel of the list for target t, or NULL. */
static json_object *channel_find(json_object *list, json_object *t)
{
  json_object *chans = edv__jget(list, "notificationChannels");
  const char *type = edv__jstr(t, "type"), *id = edv__jstr(t, "id");
  const char *want = id ? edv__jstr(edv__jget(t, "labels"), id) : NULL;

  for (size_t i = 0; i < edv__jarr_len(chans); i++) {
    json_object *c = json_object_array_get_idx(chans, i);
    const char *ct = edv__jstr(c, "type");
    const char *v = id ? edv__jstr(edv__jget(c, "labels"), id) : NULL;
    if (labelled_ours(c) && ct && strcmp(ct, type) == 0 &&
        (!id || (v && strcmp(v, want) == 0)))
      return c;
  }
  return NULL;
}

static void channels_list(edv__srun *sr, edv__step_json_fn then)
{
  char path[256];

  snprintf(path, sizeof(path),
           "/v3/projects/%s/notificationChannels?pageSize=1000",
           edv__srun_project(sr));
  edv__step_get(sr, EDV_API_MONITORING, path, then);
}

/* tag: the first 16 hex digits of the SHA-256 of the secret. */
static void secret_tag(const char *secret, char tag[17])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned len = 0;

  memset(h, 0, sizeof(h));
  EVP_Digest(secret, strlen(secret), h, &len, EVP_sha256(), NULL);
  for (int i = 0; i < 8; i++) {
    tag[2 * i] = hex[h[i] >> 4];
    tag[2 * i + 1] = hex[h[i] & 15];
  }
  tag[16] = '\0';
}

/* The body of target t's channel; secret NULL: t has none. */
static json_object *channel_body(edv__srun *sr, json_object *t,
                                 const char *secret)
{
  const edv__kind *row = &edv__platform_kinds[EDV_PKIND_NOTIFICATION_CHANNELS];
  json_object *body = json_object_new_object(), *labels, *ul;
  const char *type = edv__jstr(t, "type"), *id = edv__jstr(t, "id");
  char dn[1100], tag[17];

  labels = json_object_new_object();
  json_object_object_foreach(edv__jget(t, "labels"), k, v)
  {
    json_object_object_add(labels, k, json_object_get(v));
  }
  if (secret)
    json_object_object_add(labels, edv__jstr(t, "secret"),
                           json_object_new_string(secret));
  snprintf(dn, sizeof(dn), "edv: %s%s%s", strcmp(type, "email") ? type : "",
           strcmp(type, "email") && id ? " " : "",
           id ? edv__jstr(edv__jget(t, "labels"), id) : "");
  json_object_object_add(body, "type", json_object_new_string(type));
  json_object_object_add(body, "displayName", json_object_new_string(dn));
  snprintf(dn, sizeof(dn), "EdVirons fleet alerts (%s)", edv__jstr(t, "from"));
  json_object_object_add(body, "description", json_object_new_string(dn));
  json_object_object_add(body, "labels", labels);
  edv__kind_mark(row, body, NULL, edv__srun_labels(sr));
  if (secret) {
    secret_tag(secret, tag);
    ul = edv__jget(body, "userLabels");
    json_object_object_add(ul, "edv-secret", json_object_new_string(tag));
  }
  return body;
}

/* 1 when channel c has target t's labels (the secret's by its tag). */
static int channel_current(json_object *c, json_object *t, const char *secret)
{
  json_object *have = edv__jget(c, "labels");
  char tag[17];
  const char *v;

  json_object_object_foreach(edv__jget(t, "labels"), k, want)
  {
    v = edv__jstr(have, k);
    if (!v || strcmp(v, json_object_get_string(want)) != 0)
      return 0;
  }
  if (!secret)
    return 1;
  secret_tag(secret, tag);
  v = edv__jstr(edv__jget(c, "userLabels"), "edv-secret");
  return v && strcmp(v, tag) == 0;
}

static void channels_up(edv__srun *sr);

static void channel_written(edv__srun *sr, json_object *res,
                            const edv_error *err)
{
  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  (*edv__srun_stage(sr))++;
  channels_up(sr);
}

/* Target t's channel made or brought up to date; 1 when a call was made
 * (or the step ended), 0 when it was current. */
static int channel_ensure(edv__srun *sr, json_object *list, json_object *t)
{
  const edv__kind *row = &edv__platform_kinds[EDV_PKIND_NOTIFICATION_CHANNELS];
  char secret[SECRET_MAX], path[512];
  const char *file = edv__jstr(t, "file");
  json_object *c;
  edv_error err;
  int result = 1;

  if (edv__jstr(t, "error")) {
    edv__step_fail(sr, EDV_ECONFIG, "%s", edv__jstr(t, "error"));
    return 1;
  }
  if (file && edv__file_read_secret(edv__jstr(t, "file_key"), file, secret,
                                    sizeof(secret), &err) != 0) {
    edv__step_done(sr, &err);
    return 1;
  }
  c = channel_find(list, t);
  if (!c) {
    if (edv__res_path(sr, row->create, NULL, path, sizeof(path)) != 0)
      edv__step_fail(sr, EDV_EINVAL, "the channels' path is too long");
    else
      edv__step_act(sr, row->api, "POST", path,
                    channel_body(sr, t, file ? secret : NULL),
                    row->create_label, channel_written);
  } else if (!channel_current(c, t, file ? secret : NULL)) {
    edv__step_info(sr, 1,
                   "notification channel %s (%s): its labels or secret "
                   "differ from the configuration; patching it",
                   edv__jstr(c, "name"), edv__jstr(t, "type"));
    snprintf(path, sizeof(path), "/v3/%s?updateMask=labels,userLabels",
             edv__jstr(c, "name"));
    edv__step_act(sr, row->api, "PATCH", path,
                  channel_body(sr, t, file ? secret : NULL),
                  "monitoring.notificationChannels.patch", channel_written);
  } else {
    result = 0;
  }
  OPENSSL_cleanse(secret, sizeof(secret));
  return result;
}

static void channels_listed(edv__srun *sr, json_object *res,
                            const edv_error *err)
{
  json_object *targets = edv__fleet_alert_targets(edv__srun_fleet(sr));
  int *stage = edv__srun_stage(sr);

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  for (; (size_t)*stage < edv__jarr_len(targets); (*stage)++)
    if (channel_ensure(sr, res,
                       json_object_array_get_idx(targets, (size_t)*stage)))
      return;
  edv__step_done(sr, NULL);
}

static void channels_up(edv__srun *sr)
{
  channels_list(sr, channels_listed);
}

void edv__alert_channels_up(edv__srun *sr)
{
  channels_up(sr);
}

/* ---- fleet-wide alert policies ------------------------------------------
 *
 * The seed's five alerts, made once for the fleet on metrics Monitoring
 * really has, grouped by tenant so an incident names its school
 * (per-tenant policies would not fit the project's limits at a thousand
 * tenants). Each names every configured notification channel, carries a
 * severity and says what to do (docs/operations.md, "Alerts").
 */

#define ON_OUR_VMS                                                             \
  "resource.type=\"gce_instance\" AND "                                        \
  "metadata.user_labels.\"edv-managed\"=\"true\""
#define BY_USER_LABEL "metadata.user_labels.\"edv-tenant\""
#define LB_REQUESTS                                                            \
  "metric.type=\"loadbalancing.googleapis.com/https/request_count\" AND "      \
  "resource.type=\"https_lb_rule\" AND "                                       \
  "resource.label.url_map_name=\"" EDV_URLMAP_NAME "\""

static const struct alert_def {
  const char *name, *severity, *doc;
  const char *filter, *denominator; /* denominator: a ratio's, or NULL */
  const char *aligner, *reducer, *group_by;
  const char *comparison, *duration;
  double threshold;
} alerts[] = {
    /* edvd's probes (fleet/heal.c): 1 healthy, 0 not, per tenant; the
     * best of its probes in a minute below 1: all of them failed. */
    {"vm_down", "CRITICAL",
     "The tenant's site failed every probe of edvd for a minute: the "
     "school's site is down.\n\n"
     "1. `edvctl tenant get ID` (VM status, backend health).\n"
     "2. edvd heals a stopped or missing VM by itself "
     "(server.heal_after); if it keeps failing, `edvctl tenant apply ID`.\n"
     "3. Look at the VM's serial console for a failed boot.",
     "metric.type=\"custom.googleapis.com/edvirons/tenant_up\" AND "
     "resource.type=\"global\"",
     NULL, "ALIGN_MAX", "REDUCE_MAX", "metric.label.\"edv_tenant\"",
     "COMPARISON_LT", "60s", 1.0},
    {"high_cpu", "WARNING",
     "CPU usage > 80% for 5 minutes on a tenant VM.\n\n"
     "Check the tenant's users against its tier (`edvctl tenant get ID`); "
     "if the load is real, `edvctl tenant scale ID TIER`.",
     "metric.type=\"compute.googleapis.com/instance/cpu/utilization\" "
     "AND " ON_OUR_VMS,
     NULL, "ALIGN_MEAN", "REDUCE_MAX", BY_USER_LABEL, "COMPARISON_GT", "300s",
     0.8},
    /* The Ops Agent's metric (render.c installs the agent). */
    {"high_memory", "WARNING",
     "Memory usage > 85% for 5 minutes on a tenant VM.\n\n"
     "Look for a leaking app process on the VM; if the load is real, "
     "`edvctl tenant scale ID TIER`.",
     "metric.type=\"agent.googleapis.com/memory/percent_used\" AND "
     "metric.label.state=\"used\" AND " ON_OUR_VMS,
     NULL, "ALIGN_MEAN", "REDUCE_MAX", BY_USER_LABEL, "COMPARISON_GT", "300s",
     85.0},
    /* Cloud SQL's own metric: 1 while the instance serves, 0 not. */
    {"database_errors", "CRITICAL",
     "The tenant's database is down or unreachable (Cloud SQL reports it "
     "not up for a minute).\n\n"
     "1. `edvctl tenant get ID` (Cloud SQL state).\n"
     "2. A FAILED or MAINTENANCE instance: wait for Cloud SQL, or restore "
     "(`edvctl tenant restore ID --to-time T`).\n"
     "3. A region down: fail over from the latest backup "
     "(`edvctl tenant move ID --region R --from-latest-backup`).",
     "metric.type=\"cloudsql.googleapis.com/database/up\" AND "
     "resource.type=\"cloudsql_database\" AND "
     "metadata.user_labels.\"edv-managed\"=\"true\"",
     NULL, "ALIGN_MIN", "REDUCE_MIN", BY_USER_LABEL, "COMPARISON_LT", "60s",
     1.0},
    /* The load balancer's 5xx answers over all its answers, per backend
     * service (edv-ID-be). */
    {"application_errors", "ERROR",
     "More than 5% of the tenant's requests answered 5xx at the load "
     "balancer for 5 minutes (the backend service edv-ID-be).\n\n"
     "1. `edvctl tenant get ID` (backend health).\n"
     "2. Check the app's logs on the VM and the release it runs; a bad "
     "release is rolled back with the fleet update's rollback.",
     LB_REQUESTS " AND metric.label.response_code_class=\"500\"", LB_REQUESTS,
     "ALIGN_RATE", "REDUCE_SUM", "resource.label.\"backend_target_name\"",
     "COMPARISON_GT", "300s", 0.05},
};
#define NALERTS (sizeof(alerts) / sizeof(*alerts))

static json_object *aggregations(const struct alert_def *a)
{
  json_object *aggs = json_object_new_array(), *agg = json_object_new_object();
  json_object *group = json_object_new_array();

  json_object_object_add(agg, "alignmentPeriod", json_object_new_string("60s"));
  json_object_object_add(agg, "perSeriesAligner",
                         json_object_new_string(a->aligner));
  json_object_object_add(agg, "crossSeriesReducer",
                         json_object_new_string(a->reducer));
  json_object_array_add(group, json_object_new_string(a->group_by));
  json_object_object_add(agg, "groupByFields", group);
  json_object_array_add(aggs, agg);
  return aggs;
}

/* Alert i's conditions. */
static json_object *alert_conditions(unsigned i)
{
  const struct alert_def *a = &alerts[i];
  json_object *conds = json_object_new_array(), *c = json_object_new_object();
  json_object *th = json_object_new_object();
  char dn[96];

  snprintf(dn, sizeof(dn), "edv: %s", a->name);
  json_object_object_add(c, "displayName", json_object_new_string(dn));
  json_object_object_add(th, "filter", json_object_new_string(a->filter));
  json_object_object_add(th, "aggregations", aggregations(a));
  if (a->denominator) {
    json_object_object_add(th, "denominatorFilter",
                           json_object_new_string(a->denominator));
    json_object_object_add(th, "denominatorAggregations", aggregations(a));
  }
  json_object_object_add(th, "comparison",
                         json_object_new_string(a->comparison));
  json_object_object_add(th, "thresholdValue",
                         json_object_new_double(a->threshold));
  json_object_object_add(th, "duration", json_object_new_string(a->duration));
  json_object_object_add(c, "conditionThreshold", th);
  json_object_array_add(conds, c);
  return conds;
}

static json_object *alert_body(unsigned i, json_object *chans)
{
  json_object *p = json_object_new_object(), *doc, *labels;
  char dn[96];

  snprintf(dn, sizeof(dn), "edv: %s", alerts[i].name);
  json_object_object_add(p, "displayName", json_object_new_string(dn));
  json_object_object_add(p, "combiner", json_object_new_string("OR"));
  json_object_object_add(p, "severity",
                         json_object_new_string(alerts[i].severity));
  json_object_object_add(p, "notificationChannels", json_object_get(chans));
  doc = json_object_new_object();
  json_object_object_add(doc, "content", json_object_new_string(alerts[i].doc));
  json_object_object_add(doc, "mimeType",
                         json_object_new_string("text/markdown"));
  json_object_object_add(p, "documentation", doc);
  labels = json_object_new_object();
  json_object_object_add(labels, "edv-managed", json_object_new_string("true"));
  json_object_object_add(labels, "edv-alert",
                         json_object_new_string(alerts[i].name));
  json_object_object_add(p, "userLabels", labels);
  json_object_object_add(p, "conditions", alert_conditions(i));
  return p;
}

/* The step's context: {channels: [names of ours configured],
 * stale: [names of ours no longer configured]}. */
static json_object *alerts_ctx(edv__srun *sr, const char *key)
{
  return edv__jget(edv__srun_ctx(sr), key);
}

static void ctx_put(void *o)
{
  json_object_put(o);
}

static json_object *policy_find(json_object *list, unsigned i)
{
  json_object *pols = edv__jget(list, "alertPolicies");
  char dn[96];

  snprintf(dn, sizeof(dn), "edv: %s", alerts[i].name);
  for (size_t k = 0; k < edv__jarr_len(pols); k++) {
    json_object *p = json_object_array_get_idx(pols, k);
    const char *d = edv__jstr(p, "displayName");
    if (d && strcmp(d, dn) == 0)
      return p;
  }
  return NULL;
}

static int names_has(json_object *arr, const char *name)
{
  for (size_t k = 0; k < edv__jarr_len(arr); k++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(arr, k)),
               name) == 0)
      return 1;
  return 0;
}

/* Fields of a condition Monitoring never fills in by itself: one that
 * `have` has and `want` lacks is a difference (others it may add, as it
 * adds the conditions' names, are not). */
static const char *const set_by_users[] = {
    "denominatorFilter", "denominatorAggregations", "forecastOptions",
    "conditionAbsent",   "conditionMatchedLog",     NULL,
};

/* 1 when `have` (as Monitoring answers it) says what `want` (as we build
 * it) says: every field of want with the same value (numbers as numbers,
 * arrays in order), and none of set_by_users more. */
static int same_json(json_object *want, json_object *have)
{
  json_type t = json_object_get_type(want);

  if (t == json_type_double || t == json_type_int)
    return (json_object_is_type(have, json_type_double) ||
            json_object_is_type(have, json_type_int)) &&
           json_object_get_double(want) == json_object_get_double(have);
  if (t != json_object_get_type(have))
    return 0;
  if (t == json_type_array) {
    if (json_object_array_length(want) != json_object_array_length(have))
      return 0;
    for (size_t k = 0; k < json_object_array_length(want); k++)
      if (!same_json(json_object_array_get_idx(want, k),
                     json_object_array_get_idx(have, k)))
        return 0;
    return 1;
  }
  if (t != json_type_object)
    return strcmp(json_object_get_string(want), json_object_get_string(have)) ==
           0;
  json_object_object_foreach(want, k, v)
  {
    json_object *h;
    if (!json_object_object_get_ex(have, k, &h) || !same_json(v, h))
      return 0;
  }
  for (size_t i = 0; set_by_users[i]; i++)
    if (json_object_object_get_ex(have, set_by_users[i], NULL) &&
        !json_object_object_get_ex(want, set_by_users[i], NULL))
      return 0;
  return 1;
}

/* 1 when policy p (ours) names exactly `chans` and has alert i's
 * severity, documentation and conditions. */
static int policy_current(json_object *p, unsigned i, json_object *chans)
{
  json_object *have = edv__jget(p, "notificationChannels"), *conds;
  const char *sev = edv__jstr(p, "severity");
  const char *doc = edv__jstr(edv__jget(p, "documentation"), "content");
  const char *comb = edv__jstr(p, "combiner");
  int same;

  if (edv__jarr_len(have) != edv__jarr_len(chans))
    return 0;
  for (size_t k = 0; k < edv__jarr_len(have); k++)
    if (!names_has(chans,
                   json_object_get_string(json_object_array_get_idx(have, k))))
      return 0;
  if (!sev || strcmp(sev, alerts[i].severity) != 0 || !doc ||
      strcmp(doc, alerts[i].doc) != 0 || (comb && strcmp(comb, "OR") != 0))
    return 0;
  conds = alert_conditions(i);
  same = same_json(conds, edv__jget(p, "conditions"));
  json_object_put(conds);
  return same;
}

static void alerts_next(edv__srun *sr);
static void alerts_stale(edv__srun *sr);

static void alert_written(edv__srun *sr, json_object *res, const edv_error *err)
{
  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  (*edv__srun_stage(sr))++;
  alerts_next(sr);
}

/* Alert-policy edits are single-threaded per project: one at a time,
 * re-listing before each so a concurrent init never duplicates. A policy
 * of ours whose channels, severity, documentation or conditions differ (a
 * fleet made by an older version) is patched; one with our name but not
 * our label is someone else's and left alone. */
static void alerts_listed(edv__srun *sr, json_object *res, const edv_error *err)
{
  const edv__kind *row = &edv__platform_kinds[EDV_PKIND_ALERT_POLICIES];
  int *stage = edv__srun_stage(sr);
  json_object *chans = alerts_ctx(sr, "channels"), *p = NULL;
  char path[512];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  for (; (unsigned)*stage < NALERTS; (*stage)++) {
    p = policy_find(res, (unsigned)*stage);
    if (!p)
      break;
    if (!labelled_ours(p)) {
      edv__step_info(sr, 0,
                     "alert policy \"edv: %s\" exists but is not ours "
                     "(no edv-managed label): left as it is",
                     alerts[*stage].name);
      continue;
    }
    if (!policy_current(p, (unsigned)*stage, chans))
      break;
  }
  if ((unsigned)*stage >= NALERTS) {
    alerts_stale(sr);
    return;
  }
  if (!p) {
    if (edv__res_path(sr, row->create, NULL, path, sizeof(path)) != 0) {
      edv__step_fail(sr, EDV_EINVAL, "the alert policies' path is too long");
      return;
    }
    edv__step_act(sr, row->api, "POST", path,
                  alert_body((unsigned)*stage, chans), row->create_label,
                  alert_written);
    return;
  }
  edv__step_info(sr, 0,
                 "drift: alert policy \"edv: %s\": its notification "
                 "channels, severity, documentation or conditions differ; "
                 "patching it",
                 alerts[*stage].name);
  snprintf(path, sizeof(path),
           "/v3/%s?updateMask=conditions,combiner,notificationChannels,"
           "severity,documentation",
           edv__jstr(p, "name"));
  edv__step_act(sr, row->api, "PATCH", path,
                alert_body((unsigned)*stage, chans),
                "monitoring.alertPolicies.patch", alert_written);
}

static void alerts_next(edv__srun *sr)
{
  char path[256];

  snprintf(path, sizeof(path), "/v3/projects/%s/alertPolicies?pageSize=1000",
           edv__srun_project(sr));
  edv__step_get(sr, EDV_API_MONITORING, path, alerts_listed);
}

static void stale_deleted(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *stale = alerts_ctx(sr, "stale");
  int *stage = edv__srun_stage(sr);
  const char *name = json_object_get_string(
      json_object_array_get_idx(stale, (size_t)*stage - NALERTS));

  (void)res;
  /* Still named by a policy we did not make: not ours to detach. */
  if (err && err->code == EDV_EPRECONDITION)
    edv__step_info(sr, 1,
                   "notification channel %s is no longer configured but an "
                   "alert policy of someone else's names it: kept",
                   name);
  else if (err && err->code != EDV_ENOTFOUND) {
    edv__step_done(sr, err);
    return;
  }
  (*stage)++;
  alerts_stale(sr);
}

/* Our channels no longer configured, once no policy of ours names them. */
static void alerts_stale(edv__srun *sr)
{
  json_object *stale = alerts_ctx(sr, "stale");
  int *stage = edv__srun_stage(sr);
  char path[512];

  if ((size_t)*stage - NALERTS >= edv__jarr_len(stale)) {
    edv__step_done(sr, NULL);
    return;
  }
  snprintf(path, sizeof(path), "/v3/%s",
           json_object_get_string(
               json_object_array_get_idx(stale, (size_t)*stage - NALERTS)));
  edv__step_act(sr, EDV_API_MONITORING, "DELETE", path, NULL,
                "monitoring.notificationChannels.delete", stale_deleted);
}

/* Sorts our channels into configured and stale, then the policies. */
static void alerts_channels(edv__srun *sr, json_object *res,
                            const edv_error *err)
{
  json_object *targets = edv__fleet_alert_targets(edv__srun_fleet(sr));
  json_object *ctx, *want, *stale, *chans;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  ctx = json_object_new_object();
  want = json_object_new_array();
  stale = json_object_new_array();
  for (size_t n = 0; n < edv__jarr_len(targets); n++) {
    json_object *t = json_object_array_get_idx(targets, n);
    json_object *c = edv__jstr(t, "error") ? NULL : channel_find(res, t);
    if (c && edv__jstr(c, "name") && !names_has(want, edv__jstr(c, "name")))
      json_object_array_add(want, json_object_new_string(edv__jstr(c, "name")));
  }
  chans = edv__jget(res, "notificationChannels");
  for (size_t k = 0; k < edv__jarr_len(chans); k++) {
    json_object *c = json_object_array_get_idx(chans, k);
    const char *name = edv__jstr(c, "name");
    if (labelled_ours(c) && name && !names_has(want, name))
      json_object_array_add(stale, json_object_new_string(name));
  }
  json_object_object_add(ctx, "channels", want);
  json_object_object_add(ctx, "stale", stale);
  edv__srun_set_ctx(sr, ctx, ctx_put);
  alerts_next(sr);
}

void edv__alert_policies_up(edv__srun *sr)
{
  channels_list(sr, alerts_channels);
}
