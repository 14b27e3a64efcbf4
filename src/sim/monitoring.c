/*
 * monitoring.c - Cloud Monitoring v3, synchronous (no operations):
 * alertPolicies (create/get/list/patch/delete), notificationChannels
 * (create/get/list/patch/delete), uptimeCheckConfigs (create/get/list/delete)
 * and timeSeries (create/list).
 *
 * Enforced:
 * - alert policies need a displayName and 1 to 6 conditions, each with a
 *   displayName and exactly one condition kind (threshold needs a filter,
 *   a combiner is needed beyond one condition);
 * - at most 100 uptime checks per project (quota UPTIME_CHECKS, settable
 *   with POST /_sim/quotas): the 101st gets 429 RESOURCE_EXHAUSTED "Error
 *   creating uptime check config: too many configs in project";
 * - timeSeries.create: at most 200 series a call, one point each, custom
 *   metrics only (custom.googleapis.com/ or external.googleapis.com/);
 *   points are kept per series (newest first, at most 1,000);
 * - timeSeries.list: Monitoring's filters and aggregation
 *   (monitoring_query.c), over the built-in metrics (metrics_gen.c) or
 *   the series written, within interval.startTime (exclusive) ..
 *   interval.endTime;
 * - a series takes at most one point per 5 s, in time order (Google's
 *   limit, cloud.google.com/monitoring/quotas); a call with a point too
 *   soon or too old is refused whole (Google writes the other series);
 * - metricDescriptors.create: a custom type, a metricKind and a
 *   valueType; create updates an existing descriptor, as Google does.
 *   Points of a type with a descriptor must have its value type.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/modules.h"
#include "sim/monitoring_query.h"
#include "sim/schema_apis.h"
#include "sim/jsonutil.h"
#include "sim/sim.h"

#define MON_MAX_SERIES   200
#define MON_MAX_POINTS   1000
#define MON_KIND_POLICY  "monitoring.alertPolicy"
#define MON_KIND_CHANNEL "monitoring.notificationChannel"
#define MON_KIND_UPTIME  "monitoring.uptimeCheckConfig"
#define MON_KIND_SERIES  "monitoring.timeSeries"
#define MON_KIND_DESC    "monitoring.metricDescriptor"
#define MON_SAMPLE_MS    5000

/* 1 (resp filled) when the body does not fit the request schema. */
static int bad_body(sim_resp *resp, const char *type, json_object *body,
                    const char *where)
{
  return sim_schema_check(resp, sim_schema_monitoring, type, body, where) < 0;
}

static int bad(sim_resp *resp, const char *msg)
{
  sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "%s", msg);
  return -1;
}

/* --- shared CRUD -------------------------------------------------------- */

typedef struct mon_coll {
  const char *coll; /* "alertPolicies" */
  const char *kind;
  const char *param; /* route parameter of the id */
  /* What is answered of a stored resource (a new reference); NULL: itself */
  json_object *(*view)(json_object *stored);
} mon_coll;

static json_object *channel_view(json_object *stored);

static const mon_coll mon_policies = {"alertPolicies", MON_KIND_POLICY,
                                      "alertPoliciesId", NULL};
static const mon_coll mon_channels = {"notificationChannels", MON_KIND_CHANNEL,
                                      "notificationChannelsId", channel_view};
static const mon_coll mon_uptime = {"uptimeCheckConfigs", MON_KIND_UPTIME,
                                    "uptimeCheckConfigsId", NULL};

static json_object *answer_of(const mon_coll *c, json_object *stored)
{
  return c->view ? c->view(stored) : json_object_get(stored);
}

static json_object *lookup(sim *s, sim_req *req, sim_resp *resp,
                           const mon_coll *c, char *key, size_t n)
{
  json_object *o;

  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  snprintf(key, n, "projects/%s/%s/%s", sim_project(s), c->coll,
           sim_param(req, c->param));
  o = sim_store_get(s, key);
  if (o == NULL)
    sim_err_rpc(resp, 404, "NOT_FOUND", "Requested entity was not found.");
  return o;
}

/* A new resource from the body with a fresh numeric id as its name. */
static json_object *new_resource(sim *s, const mon_coll *c, json_object *body,
                                 char *key, size_t n)
{
  json_object *o = body ? copy(body) : json_object_new_object();
  char id[24];

  snprintf(key, n, "projects/%s/%s/%s", sim_project(s), c->coll,
           sim_new_id(s, id));
  json_object_object_add(o, "name", json_object_new_string(key));
  return o;
}

static int generic_get(sim *s, sim_req *req, sim_resp *resp, const mon_coll *c)
{
  char key[400];
  json_object *o = lookup(s, req, resp, c, key, sizeof(key));

  return o ? sim_resp_json(resp, 200, answer_of(c, o)) : SIM_DONE;
}

static int generic_delete(sim *s, sim_req *req, sim_resp *resp,
                          const mon_coll *c)
{
  char key[400];

  if (lookup(s, req, resp, c, key, sizeof(key)) == NULL)
    return SIM_DONE;
  sim_store_del(s, key);
  if (c == &mon_uptime)
    sim_quota_give(s, "UPTIME_CHECKS", NULL, 1);
  return sim_resp_json(resp, 200, json_object_new_object());
}

struct list_ctx {
  const mon_coll *c;
  json_object *items;
};

static int list_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct list_ctx *c = data;

  (void)name;
  if (strcmp(kind, c->c->kind) == 0)
    json_object_array_add(c->items, answer_of(c->c, obj));
  return 0;
}

static int generic_list(sim *s, sim_req *req, sim_resp *resp, const mon_coll *c)
{
  char prefix[300];
  struct list_ctx l;
  json_object *o;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/%s/", sim_project(s), c->coll);
  l.c = c;
  l.items = json_object_new_array();
  sim_store_each(s, prefix, list_cb, &l);
  o = json_object_new_object();
  json_object_object_add(o, "totalSize",
                         json_object_new_int((int)alen(l.items)));
  json_object_object_add(o, c->coll, l.items);
  return sim_resp_json(resp, 200, o);
}

/* --- alertPolicies ------------------------------------------------------ */

static const char *const cond_kinds[] = {
    "conditionThreshold",
    "conditionAbsent",
    "conditionMatchedLog",
    "conditionMonitoringQueryLanguage",
    "conditionPrometheusQueryLanguage",
    "conditionSql",
    NULL,
};

/* Seconds of a duration "N[.F]s" (>= 0), or -1. */
static double duration_s(const char *d)
{
  char *end;
  double v;

  if (!d || !isdigit((unsigned char)*d))
    return -1;
  v = strtod(d, &end);
  return strcmp(end, "s") == 0 ? v : -1;
}

/* An aggregation of an alert condition: a reducer needs an aligner (not
 * ALIGN_NONE) and an alignment period; an aligner needs the period,
 * 60 s to 25 h for alerting (Aggregation, monitoring.v3). */
static int check_aggregation(sim_resp *resp, json_object *a, const char *f)
{
  const char *al = js(a, "perSeriesAligner"),
             *red = js(a, "crossSeriesReducer");
  double period = duration_s(js(a, "alignmentPeriod"));
  char msg[200];

  if (red && strcmp(red, "REDUCE_NONE") != 0 &&
      (!al || strcmp(al, "ALIGN_NONE") == 0)) {
    snprintf(msg, sizeof(msg),
             "Field alert_policy.conditions.condition_threshold.%s: a "
             "cross_series_reducer needs a per_series_aligner other than "
             "ALIGN_NONE.",
             f);
    return bad(resp, msg);
  }
  if (al && strcmp(al, "ALIGN_NONE") != 0 &&
      (js(a, "alignmentPeriod") == NULL || period < 60 || period > 90000)) {
    snprintf(msg, sizeof(msg),
             "Field alert_policy.conditions.condition_threshold.%s."
             "alignment_period must be between 60s and 90000s.",
             f);
    return bad(resp, msg);
  }
  return 0;
}

/* The last aggregation's field `k` (a string, or groupByFields as JSON). */
static const char *last_agg(json_object *aggs, const char *k)
{
  json_object *a = json_object_array_get_idx(aggs, alen(aggs) - 1), *v;

  if (!a || !json_object_object_get_ex(a, k, &v))
    return "";
  return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* A threshold condition as Monitoring takes it (MetricThreshold): a
 * filter naming the metric type, a duration of whole minutes, valid
 * aggregations; a ratio's denominatorFilter names its metric type and its
 * denominatorAggregations align and group as the aggregations do. */
static int check_threshold(sim_resp *resp, json_object *t)
{
  const char *f = js(t, "filter"), *den = js(t, "denominatorFilter");
  json_object *aggs = json_object_object_get(t, "aggregations");
  json_object *daggs = json_object_object_get(t, "denominatorAggregations");
  double d = duration_s(js(t, "duration"));
  char pa[256];

  if (f == NULL)
    return bad(resp, "Field alert_policy.conditions.condition_threshold."
                     "filter is required.");
  if (strlen(f) > 2048 || !strstr(f, "metric.type"))
    return bad(resp, "Field alert_policy.conditions.condition_threshold."
                     "filter must name a metric.type (at most 2048 "
                     "characters).");
  if (js(t, "duration") && (d < 0 || d != (double)(long)(d / 60) * 60))
    return bad(resp, "Field alert_policy.conditions.condition_threshold."
                     "duration must be a multiple of 60s.");
  for (size_t i = 0; i < alen(aggs); i++)
    if (check_aggregation(resp, json_object_array_get_idx(aggs, i),
                          "aggregations") < 0)
      return -1;
  for (size_t i = 0; i < alen(daggs); i++)
    if (check_aggregation(resp, json_object_array_get_idx(daggs, i),
                          "denominator_aggregations") < 0)
      return -1;
  if (den == NULL)
    return alen(daggs) == 0
               ? 0
               : bad(resp, "Field alert_policy.conditions.condition_"
                           "threshold.denominator_aggregations needs a "
                           "denominator_filter.");
  if (strlen(den) > 2048 || !strstr(den, "metric.type"))
    return bad(resp, "Field alert_policy.conditions.condition_threshold."
                     "denominator_filter must name a metric.type (at most "
                     "2048 characters).");
  snprintf(pa, sizeof(pa), "%s", last_agg(aggs, "alignmentPeriod"));
  if (strcmp(pa, last_agg(daggs, "alignmentPeriod")) != 0)
    return bad(resp, "Fields alert_policy.conditions.condition_threshold."
                     "aggregations and denominator_aggregations must use the "
                     "same alignment period.");
  snprintf(pa, sizeof(pa), "%s", last_agg(aggs, "groupByFields"));
  if (strcmp(pa, last_agg(daggs, "groupByFields")) != 0)
    return bad(resp, "Fields alert_policy.conditions.condition_threshold."
                     "aggregations and denominator_aggregations must group "
                     "by the same fields.");
  return 0;
}

static int check_policy(sim *s, sim_resp *resp, json_object *p)
{
  json_object *conds = json_object_object_get(p, "conditions");
  json_object *chans = json_object_object_get(p, "notificationChannels");
  const char *comb = js(p, "combiner"), *sev = js(p, "severity");
  char prefix[300];

  if (js(p, "displayName") == NULL)
    return bad(resp, "Field alert_policy.display_name is required.");
  if (alen(conds) < 1 || alen(conds) > 6)
    return bad(resp, "An alert policy must have between 1 and 6 "
                     "conditions.");
  if (alen(conds) > 1 && comb == NULL)
    return bad(resp, "Field alert_policy.combiner is required when there is "
                     "more than one condition.");
  if (comb && strcmp(comb, "AND") != 0 && strcmp(comb, "OR") != 0 &&
      strcmp(comb, "AND_WITH_MATCHING_RESOURCE") != 0)
    return bad(resp, "Invalid value at 'alert_policy.combiner'.");
  if (sev && strcmp(sev, "SEVERITY_UNSPECIFIED") != 0 &&
      strcmp(sev, "CRITICAL") != 0 && strcmp(sev, "ERROR") != 0 &&
      strcmp(sev, "WARNING") != 0)
    return bad(resp, "Invalid value at 'alert_policy.severity'.");
  /* Each channel named must exist in the project. */
  snprintf(prefix, sizeof(prefix), "projects/%s/notificationChannels/",
           sim_project(s));
  for (size_t i = 0; i < alen(chans); i++) {
    const char *c = json_object_get_string(json_object_array_get_idx(chans, i));
    if (!c || strncmp(c, prefix, strlen(prefix)) != 0 ||
        sim_store_get(s, c) == NULL)
      return bad(resp, "Field alert_policy.notification_channels names a "
                       "notification channel that does not exist.");
  }
  for (size_t i = 0; i < alen(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i), *t;
    int kinds = 0;

    if (js(c, "displayName") == NULL)
      return bad(resp, "Field alert_policy.conditions.display_name is "
                       "required.");
    for (size_t k = 0; cond_kinds[k]; k++)
      kinds += json_object_object_get_ex(c, cond_kinds[k], NULL);
    if (kinds != 1)
      return bad(resp, "Each condition needs exactly one condition type.");
    if (json_object_object_get_ex(c, "conditionThreshold", &t) &&
        check_threshold(resp, t) < 0)
      return -1;
  }
  return 0;
}

static void mutation(sim *s, sim_req *req, json_object *o, const char *field)
{
  json_object *m = json_object_new_object();
  char ts[32];

  json_object_object_add(m, "mutateTime",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(m, "mutatedBy",
                         json_object_new_string(sim_principal(req)));
  json_object_object_add(o, field, m);
}

/* Conditions get names of their own under the policy (a patch's new
 * conditions too; one that has a name keeps it). */
static void name_conditions(sim *s, json_object *p, const char *key)
{
  json_object *conds = json_object_object_get(p, "conditions");
  char cname[500], id[24];

  for (size_t i = 0; i < alen(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (js(c, "name"))
      continue;
    snprintf(cname, sizeof(cname), "%s/conditions/%s", key, sim_new_id(s, id));
    json_object_object_add(c, "name", json_object_new_string(cname));
  }
}

static int policies_create(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400];
  json_object *p;

  if (sim_check_project(s, req, resp) < 0 ||
      bad_body(resp, "AlertPolicy", sim_body(req), "alert_policy") ||
      check_policy(s, resp, sim_body(req)) < 0)
    return SIM_DONE;
  p = new_resource(s, &mon_policies, sim_body(req), key, sizeof(key));
  name_conditions(s, p, key);
  if (!json_object_object_get_ex(p, "enabled", NULL))
    json_object_object_add(p, "enabled", json_object_new_boolean(1));
  if (!js(p, "combiner"))
    json_object_object_add(p, "combiner", json_object_new_string("OR"));
  mutation(s, req, p, "creationRecord");
  mutation(s, req, p, "mutationRecord");
  sim_store_put(s, key, MON_KIND_POLICY, json_object_get(p));
  return sim_resp_json(resp, 200, p);
}

/* The resource `stored` (key `key`) patched with `body` as updateMask
 * `mask` says: each top-level field named (camelCase or snake_case) taken
 * from the body, or removed when the body lacks it; no mask: the body
 * replaces it all but its name and creationRecord. A new object. */
static json_object *patched(json_object *stored, json_object *body,
                            const char *mask, const char *key)
{
  json_object *want, *v;
  char field[64];

  if (mask == NULL) {
    want = body ? copy(body) : json_object_new_object();
    json_object_object_add(want, "name", json_object_new_string(key));
    json_object_object_add(
        want, "creationRecord",
        copy(json_object_object_get(stored, "creationRecord")));
    return want;
  }
  want = copy(stored);
  for (const char *m = mask; *m;) {
    size_t n = strcspn(m, ","), o = 0;

    for (size_t i = 0; i < n && o + 1 < sizeof(field); i++)
      if (m[i] == '_' && i + 1 < n)
        field[o++] = (char)toupper((unsigned char)m[++i]);
      else
        field[o++] = m[i];
    field[o] = '\0';
    if (json_object_object_get_ex(body, field, &v))
      json_object_object_add(want, field, copy(v));
    else
      json_object_object_del(want, field);
    m += n + (m[n] == ',');
  }
  return want;
}

static int policies_patch(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400];
  json_object *p = lookup(s, req, resp, &mon_policies, key, sizeof(key));
  json_object *want, *body = sim_body(req);

  if (p == NULL || bad_body(resp, "AlertPolicy", body, "alert_policy"))
    return SIM_DONE;
  want = patched(p, body, sim_query(req, "updateMask"), key);
  if (check_policy(s, resp, want) < 0) {
    json_object_put(want);
    return SIM_DONE;
  }
  name_conditions(s, want, key);
  mutation(s, req, want, "mutationRecord");
  sim_store_put(s, key, MON_KIND_POLICY, json_object_get(want));
  return sim_resp_json(resp, 200, want);
}

static int policies_get(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_get(s, req, resp, &mon_policies);
}

static int policies_list(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_list(s, req, resp, &mon_policies);
}

static int policies_delete(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_delete(s, req, resp, &mon_policies);
}

/* --- notificationChannels ----------------------------------------------- */

/* The channel types served (Monitoring's notificationChannelDescriptors),
 * the labels each requires. Secret labels (auth_token, password,
 * service_key) are kept as given (the simulator's notifications use them)
 * and answered obfuscated, as Monitoring does. */
static const struct {
  const char *type, *required[3];
} chan_types[] = {
    {"email", {"email_address"}},
    {"sms", {"number"}},
    {"webhook_tokenauth", {"url"}},
    {"webhook_basicauth", {"url", "username", "password"}},
    {"slack", {"channel_name", "auth_token"}},
    {"pagerduty", {"service_key"}},
    {"pubsub", {"topic"}},
};
static const char *const chan_secrets[] = {"auth_token", "password",
                                           "service_key", NULL};
#define CHAN_MASKED "**************"

static json_object *channel_view(json_object *stored)
{
  json_object *c = copy(stored);
  json_object *labels = json_object_object_get(c, "labels");

  for (size_t i = 0; chan_secrets[i]; i++)
    if (js(labels, chan_secrets[i]))
      json_object_object_add(labels, chan_secrets[i],
                             json_object_new_string(CHAN_MASKED));
  return c;
}

/* 0 when channel c has a known type and its required labels; else 400
 * naming what is missing. */
static int check_channel(sim_resp *resp, json_object *c)
{
  json_object *labels = json_object_object_get(c, "labels");
  const char *type = js(c, "type"), *v;
  size_t t;

  if (type == NULL) {
    sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                "Field notification_channel.type is required.");
    return -1;
  }
  for (t = 0; t < sizeof(chan_types) / sizeof(*chan_types); t++)
    if (strcmp(chan_types[t].type, type) == 0)
      break;
  if (t == sizeof(chan_types) / sizeof(*chan_types)) {
    sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                "Unknown notification channel type.");
    return -1;
  }
  for (size_t k = 0; k < 3 && chan_types[t].required[k]; k++)
    if (!(v = js(labels, chan_types[t].required[k])) || !*v) {
      sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                  "Field notification_channel.labels[%s] is required "
                  "for a channel of type %s.",
                  chan_types[t].required[k], type);
      return -1;
    }
  return 0;
}

static int channels_create(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400];
  json_object *c, *body = sim_body(req);

  if (sim_check_project(s, req, resp) < 0 ||
      bad_body(resp, "NotificationChannel", body, "notification_channel") ||
      check_channel(resp, body) < 0)
    return SIM_DONE;
  c = new_resource(s, &mon_channels, body, key, sizeof(key));
  if (!json_object_object_get_ex(c, "enabled", NULL))
    json_object_object_add(c, "enabled", json_object_new_boolean(1));
  json_object_object_add(
      c, "verificationStatus",
      json_object_new_string("VERIFICATION_STATUS_UNSPECIFIED"));
  mutation(s, req, c, "creationRecord");
  sim_store_put(s, key, MON_KIND_CHANNEL, c);
  return sim_resp_json(resp, 200, channel_view(c));
}

/* A patch: the type stays; a secret label sent back as answered (masked)
 * keeps the value kept. */
static int channels_patch(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400];
  json_object *c = lookup(s, req, resp, &mon_channels, key, sizeof(key));
  json_object *want, *body = sim_body(req), *labels, *old;
  const char *type;

  if (c == NULL ||
      bad_body(resp, "NotificationChannel", body, "notification_channel"))
    return SIM_DONE;
  want = patched(c, body, sim_query(req, "updateMask"), key);
  type = js(want, "type");
  if (type && strcmp(type, js(c, "type")) != 0) {
    json_object_put(want);
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field notification_channel.type cannot be changed.");
  }
  json_object_object_add(want, "type", json_object_new_string(js(c, "type")));
  labels = json_object_object_get(want, "labels");
  old = json_object_object_get(c, "labels");
  for (size_t i = 0; chan_secrets[i]; i++)
    if (js(labels, chan_secrets[i]) && js(old, chan_secrets[i]) &&
        strcmp(js(labels, chan_secrets[i]), CHAN_MASKED) == 0)
      json_object_object_add(labels, chan_secrets[i],
                             json_object_new_string(js(old, chan_secrets[i])));
  if (check_channel(resp, want) < 0) {
    json_object_put(want);
    return SIM_DONE;
  }
  {
    json_object *recs = json_object_object_get(want, "mutationRecords");
    json_object *tmp = json_object_new_object();
    if (!json_object_is_type(recs, json_type_array)) {
      recs = json_object_new_array();
      json_object_object_add(want, "mutationRecords", recs);
    }
    mutation(s, req, tmp, "record");
    json_object_array_add(
        recs, json_object_get(json_object_object_get(tmp, "record")));
    json_object_put(tmp);
  }
  sim_store_put(s, key, MON_KIND_CHANNEL, want);
  return sim_resp_json(resp, 200, channel_view(want));
}

static int channels_get(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_get(s, req, resp, &mon_channels);
}

static int channels_list(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_list(s, req, resp, &mon_channels);
}

struct chan_use {
  const char *name;
  json_object *users; /* the keys of the policies naming it */
};

static int chan_use_cb(void *data, const char *name, const char *kind,
                       json_object *obj)
{
  struct chan_use *u = data;
  json_object *chans = json_object_object_get(obj, "notificationChannels");

  if (strcmp(kind, MON_KIND_POLICY) != 0)
    return 0;
  for (size_t i = 0; i < alen(chans); i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(chans, i)),
               u->name) == 0) {
      json_object_array_add(u->users, json_object_new_string(name));
      break;
    }
  return 0;
}

/* A channel an alert policy names is deleted only with force=true (the
 * policies then lose it), as Monitoring does. */
static int channels_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400], prefix[300];
  const char *force = sim_query(req, "force");
  struct chan_use u;

  if (lookup(s, req, resp, &mon_channels, key, sizeof(key)) == NULL)
    return SIM_DONE;
  u.name = key;
  u.users = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/alertPolicies/",
           sim_project(s));
  sim_store_each(s, prefix, chan_use_cb, &u);
  if (alen(u.users) && !(force && strcmp(force, "true") == 0)) {
    json_object_put(u.users);
    return sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                       "The notification channel is referenced by an alert "
                       "policy; use force=true to delete it anyway.");
  }
  for (size_t i = 0; i < alen(u.users); i++) {
    const char *pk =
        json_object_get_string(json_object_array_get_idx(u.users, i));
    json_object *pol = copy(sim_store_get(s, pk)), *left;
    json_object *chans = json_object_object_get(pol, "notificationChannels");

    left = json_object_new_array();
    for (size_t k = 0; k < alen(chans); k++) {
      json_object *c = json_object_array_get_idx(chans, k);
      if (strcmp(json_object_get_string(c), key) != 0)
        json_object_array_add(left, json_object_get(c));
    }
    json_object_object_add(pol, "notificationChannels", left);
    sim_store_put(s, pk, MON_KIND_POLICY, pol);
  }
  json_object_put(u.users);
  return generic_delete(s, req, resp, &mon_channels);
}

/* --- uptimeCheckConfigs ------------------------------------------------- */

static int uptime_create(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400];
  json_object *u, *body = sim_body(req);

  if (sim_check_project(s, req, resp) < 0 ||
      bad_body(resp, "UptimeCheckConfig", body, "uptime_check_config"))
    return SIM_DONE;
  if (js(body, "displayName") == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field uptime_check_config.display_name is required.");
  if (!json_object_object_get_ex(body, "monitoredResource", NULL) &&
      !json_object_object_get_ex(body, "resourceGroup", NULL) &&
      !json_object_object_get_ex(body, "syntheticMonitor", NULL))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "An uptime check needs a monitored resource or a "
                       "resource group.");
  if (sim_quota_take(s, resp, "UPTIME_CHECKS", NULL, 1) < 0)
    return sim_err_rpc(resp, 429, "RESOURCE_EXHAUSTED",
                       "Error creating uptime check config: too many "
                       "configs in project");
  u = new_resource(s, &mon_uptime, body, key, sizeof(key));
  if (!js(u, "period"))
    json_object_object_add(u, "period", json_object_new_string("60s"));
  if (!js(u, "timeout"))
    json_object_object_add(u, "timeout", json_object_new_string("10s"));
  sim_store_put(s, key, MON_KIND_UPTIME, json_object_get(u));
  return sim_resp_json(resp, 200, u);
}

static int uptime_get(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_get(s, req, resp, &mon_uptime);
}

static int uptime_list(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_list(s, req, resp, &mon_uptime);
}

static int uptime_delete(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_delete(s, req, resp, &mon_uptime);
}

/* --- timeSeries --------------------------------------------------------- */

/* Labels as "k=v;" in key order, for series identity. */
static void labels_str(json_object *labels, char *buf, size_t n)
{
  const char *keys[64];
  size_t k = 0, len = 0;

  buf[0] = '\0';
  if (!json_object_is_type(labels, json_type_object))
    return;
  json_object_object_foreach(labels, key, val)
  {
    (void)val;
    if (k < 64)
      keys[k++] = key;
  }
  for (size_t i = 1; i < k; i++)
    for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
      const char *t = keys[j];

      keys[j] = keys[j - 1];
      keys[j - 1] = t;
    }
  for (size_t i = 0; i < k && len < n; i++)
    len += (size_t)snprintf(buf + len, n - len, "%s=%s;", keys[i],
                            js(labels, keys[i]) ? js(labels, keys[i]) : "");
}

static uint64_t fnv1a(const char *p)
{
  uint64_t h = 1469598103934665603ull;

  for (; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

static void series_key(sim *s, json_object *ts, char *key, size_t n)
{
  json_object *metric = json_object_object_get(ts, "metric"),
              *res = json_object_object_get(ts, "resource");
  char ml[1024], rl[1024], id[2400];

  labels_str(json_object_object_get(metric, "labels"), ml, sizeof(ml));
  labels_str(json_object_object_get(res, "labels"), rl, sizeof(rl));
  snprintf(id, sizeof(id), "%s|%s|%s|%s", js(metric, "type"), ml,
           js(res, "type"), rl);
  snprintf(key, n, "projects/%s/timeSeries/%016llx", sim_project(s),
           (unsigned long long)fnv1a(id));
}

static const char *value_type(json_object *value)
{
  if (json_object_object_get_ex(value, "doubleValue", NULL))
    return "DOUBLE";
  if (json_object_object_get_ex(value, "int64Value", NULL))
    return "INT64";
  if (json_object_object_get_ex(value, "boolValue", NULL))
    return "BOOL";
  if (json_object_object_get_ex(value, "stringValue", NULL))
    return "STRING";
  if (json_object_object_get_ex(value, "distributionValue", NULL))
    return "DISTRIBUTION";
  return NULL;
}

static int check_series(sim_resp *resp, json_object *ts, size_t i)
{
  json_object *points = json_object_object_get(ts, "points"), *pt;
  const char *type = js(json_object_object_get(ts, "metric"), "type");
  char msg[300];

  if (type == NULL || (strncmp(type, "custom.googleapis.com/", 22) != 0 &&
                       strncmp(type, "external.googleapis.com/", 24) != 0)) {
    snprintf(msg, sizeof(msg),
             "timeSeries[%zu]: only custom metrics "
             "(custom.googleapis.com/...) can be written; got '%s'.",
             i, type ? type : "");
    return bad(resp, msg);
  }
  if (js(json_object_object_get(ts, "resource"), "type") == NULL) {
    snprintf(msg, sizeof(msg), "timeSeries[%zu]: resource.type is required.",
             i);
    return bad(resp, msg);
  }
  if (alen(points) != 1) {
    snprintf(msg, sizeof(msg),
             "timeSeries[%zu]: exactly one point must be written per time "
             "series.",
             i);
    return bad(resp, msg);
  }
  pt = json_object_array_get_idx(points, 0);
  if (sim_time_parse(js(json_object_object_get(pt, "interval"), "endTime")) <
          0 ||
      value_type(json_object_object_get(pt, "value")) == NULL) {
    snprintf(msg, sizeof(msg),
             "timeSeries[%zu]: the point needs interval.endTime and a "
             "typed value.",
             i);
    return bad(resp, msg);
  }
  return 0;
}

/* The sampling limit and the descriptor's value type, for series i. */
static int check_series_store(sim *s, sim_resp *resp, json_object *ts, size_t i)
{
  json_object *pt =
      json_object_array_get_idx(json_object_object_get(ts, "points"), 0);
  json_object *have, *newest, *desc;
  const char *type = js(json_object_object_get(ts, "metric"), "type");
  const char *vt = value_type(json_object_object_get(pt, "value"));
  char key[400];
  int64_t t =
      sim_time_parse(js(json_object_object_get(pt, "interval"), "endTime"));

  snprintf(key, sizeof(key), "projects/%s/metricDescriptors/%s", sim_project(s),
           type);
  desc = sim_store_get(s, key);
  if (desc && js(desc, "valueType") && strcmp(js(desc, "valueType"), vt) != 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "One or more TimeSeries could not be written: Value "
                       "type for metric %s must be %s, but is %s.: "
                       "timeSeries[%zu]",
                       type, js(desc, "valueType"), vt, i),
           -1;
  series_key(s, ts, key, sizeof(key));
  have = sim_store_get(s, key);
  newest =
      alen(json_object_object_get(have, "points"))
          ? json_object_array_get_idx(json_object_object_get(have, "points"), 0)
          : NULL;
  if (newest) {
    int64_t last = sim_time_parse(
        js(json_object_object_get(newest, "interval"), "endTime"));

    if (t < last)
      return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                         "One or more TimeSeries could not be written: "
                         "Points must be written in order. One or more of "
                         "the points specified had an older start time than "
                         "the most recent point.: timeSeries[%zu]",
                         i),
             -1;
    if (t - last < MON_SAMPLE_MS)
      return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                         "One or more TimeSeries could not be written: One "
                         "or more points were written more frequently than "
                         "the maximum sampling period configured for the "
                         "metric.: timeSeries[%zu]",
                         i),
             -1;
  }
  return 0;
}

static int series_create(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *all = json_object_object_get(sim_body(req), "timeSeries");
  size_t n = alen(all);
  char key[400];

  if (sim_check_project(s, req, resp) < 0 ||
      bad_body(resp, "CreateTimeSeriesRequest", sim_body(req), "body"))
    return SIM_DONE;
  if (n == 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "At least one TimeSeries must be written.");
  if (n > MON_MAX_SERIES)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Only %d TimeSeries can be written in a single "
                       "request; got %zu.",
                       MON_MAX_SERIES, n);
  for (size_t i = 0; i < n; i++)
    if (check_series(resp, json_object_array_get_idx(all, i), i) < 0 ||
        check_series_store(s, resp, json_object_array_get_idx(all, i), i) < 0)
      return SIM_DONE;
  for (size_t i = 0; i < n; i++) {
    json_object *ts = json_object_array_get_idx(all, i), *have, *pts, *np;
    json_object *pt =
        json_object_array_get_idx(json_object_object_get(ts, "points"), 0);

    series_key(s, ts, key, sizeof(key));
    have = sim_store_get(s, key);
    if (have == NULL) {
      have = json_object_new_object();
      json_object_object_add(have, "metric",
                             copy(json_object_object_get(ts, "metric")));
      json_object_object_add(have, "resource",
                             copy(json_object_object_get(ts, "resource")));
      json_object_object_add(have, "metricKind",
                             json_object_new_string(js(ts, "metricKind")
                                                        ? js(ts, "metricKind")
                                                        : "GAUGE"));
      json_object_object_add(have, "valueType",
                             json_object_new_string(value_type(
                                 json_object_object_get(pt, "value"))));
      json_object_object_add(have, "points", json_object_new_array());
      sim_store_put(s, key, MON_KIND_SERIES, have);
    }
    /* Newest first, as list returns them; bounded. */
    pts = json_object_object_get(have, "points");
    np = json_object_new_array();
    json_object_array_add(np, copy(pt));
    for (size_t j = 0; j < alen(pts) && j + 1 < MON_MAX_POINTS; j++)
      json_object_array_add(np,
                            json_object_get(json_object_array_get_idx(pts, j)));
    json_object_object_add(have, "points", np);
  }
  return sim_resp_json(resp, 200, json_object_new_object());
}

static int series_list(sim *s, sim_req *req, sim_resp *resp)
{
  const char *view = sim_query(req, "view"), *ps = sim_query(req, "pageSize");
  const char *tok = sim_query(req, "pageToken");
  const char *t0 = sim_query(req, "interval.startTime");
  char msg[1200];
  mq_filter *f;
  mq_agg agg, sec;
  int given, sgiven;
  int64_t start, end, from = 0, max = 100000;
  mq_set *raw, *set = NULL;
  json_object *o;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  end = sim_time_parse(sim_query(req, "interval.endTime"));
  if (end < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field interval.endTime had an invalid value.");
  start = t0 ? sim_time_parse(t0) : -1;
  if (t0 && (start < 0 || start > end))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field interval.startTime had an invalid value (it "
                       "must be an RFC 3339 time no later than "
                       "interval.endTime).");
  if (view && strcmp(view, "FULL") != 0 && strcmp(view, "HEADERS") != 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid value at 'view' (FULL or HEADERS).");
  if ((ps && ((max = strtoll(ps, NULL, 10)) <= 0 || max > 100000)) ||
      (tok && (from = strtoll(tok, NULL, 10)) < 0))
    return sim_err_rpc(
        resp, 400, "INVALID_ARGUMENT", "Field %s had an invalid value.",
        ps && (max <= 0 || max > 100000) ? "pageSize" : "pageToken");
  if (mq_agg_query(req, "aggregation", &agg, &given, msg, sizeof(msg)) < 0 ||
      mq_agg_query(req, "secondaryAggregation", &sec, &sgiven, msg,
                   sizeof(msg)) < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "%s", msg);
  if (sec.aligner || sec.reducer)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field secondaryAggregation: the simulator does not "
                       "support a secondary aggregation.");
  if ((f = mq_filter_parse(sim_query(req, "filter"), msg, sizeof(msg))) == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "%s", msg);
  if (agg.aligner) {
    /* The oldest period's points start one period before its end. */
    int64_t lo = start < 0 || start >= end ? end - agg.period_ms : start;
    int64_t steps = (end - lo + agg.period_ms - 1) / agg.period_ms;

    raw = mq_fetch(s, f, end - steps * agg.period_ms, end);
    set = raw ? mq_aggregate(raw, &agg, start, end, msg, sizeof(msg)) : NULL;
    if (raw && set == NULL) {
      mq_set_free(raw);
      mq_filter_free(f);
      return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "%s", msg);
    }
  } else {
    raw = mq_fetch(s, f, start, end);
  }
  mq_filter_free(f);
  if (raw == NULL)
    return sim_err_rpc(resp, 500, "INTERNAL", "out of memory");
  o = json_object_new_object();
  json_object_object_add(o, "timeSeries",
                         mq_set_json(set ? set : raw,
                                     view && strcmp(view, "HEADERS") == 0,
                                     (size_t)from, (size_t)max));
  if ((size_t)(from + max) < mq_set_len(set ? set : raw)) {
    char next[24];

    snprintf(next, sizeof(next), "%lld", (long long)(from + max));
    json_object_object_add(o, "nextPageToken", json_object_new_string(next));
  }
  mq_set_free(set);
  mq_set_free(raw);
  return sim_resp_json(resp, 200, o);
}

/* --- metricDescriptors -------------------------------------------------- */

static int in_list(const char *v, const char *const *list)
{
  for (size_t i = 0; v && list[i]; i++)
    if (strcmp(v, list[i]) == 0)
      return 1;
  return 0;
}

static int descriptors_create(sim *s, sim_req *req, sim_resp *resp)
{
  static const char *const kinds[] = {"GAUGE", "DELTA", "CUMULATIVE", NULL};
  static const char *const vtypes[] = {
      "BOOL", "INT64", "DOUBLE", "STRING", "MONEY", "DISTRIBUTION", NULL};
  json_object *body = sim_body(req), *d;
  const char *type = js(body, "type");
  char key[400];

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (type == NULL || (strncmp(type, "custom.googleapis.com/", 22) != 0 &&
                       strncmp(type, "external.googleapis.com/", 24) != 0))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field metric_descriptor.type must name a custom "
                       "metric (custom.googleapis.com/...); got '%s'.",
                       type ? type : "");
  if (!in_list(js(body, "metricKind"), kinds))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid value at 'metric_descriptor.metric_kind'.");
  if (!in_list(js(body, "valueType"), vtypes))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid value at 'metric_descriptor.value_type'.");
  snprintf(key, sizeof(key), "projects/%s/metricDescriptors/%s", sim_project(s),
           type);
  d = copy(body);
  json_object_object_add(d, "name", json_object_new_string(key));
  sim_store_put(s, key, MON_KIND_DESC, json_object_get(d));
  return sim_resp_json(resp, 200, d);
}

/* --- table -------------------------------------------------------------- */

#define MP     "/v3/projects/{projectsId}"
#define MON_ID "monitoring.projects."

static const sim_route monitoring_routes[] = {
    {"POST", MP "/alertPolicies", MON_ID "alertPolicies.create",
     policies_create, NULL, 0, NULL},
    {"GET", MP "/alertPolicies", MON_ID "alertPolicies.list", policies_list,
     NULL, 0, NULL},
    {"GET", MP "/alertPolicies/{alertPoliciesId}", MON_ID "alertPolicies.get",
     policies_get, NULL, 0, NULL},
    {"PATCH", MP "/alertPolicies/{alertPoliciesId}",
     MON_ID "alertPolicies.patch", policies_patch, NULL, 0, NULL},
    {"DELETE", MP "/alertPolicies/{alertPoliciesId}",
     MON_ID "alertPolicies.delete", policies_delete, NULL, 0, NULL},
    {"POST", MP "/notificationChannels", MON_ID "notificationChannels.create",
     channels_create, NULL, 0, NULL},
    {"GET", MP "/notificationChannels", MON_ID "notificationChannels.list",
     channels_list, NULL, 0, NULL},
    {"GET", MP "/notificationChannels/{notificationChannelsId}",
     MON_ID "notificationChannels.get", channels_get, NULL, 0, NULL},
    {"PATCH", MP "/notificationChannels/{notificationChannelsId}",
     MON_ID "notificationChannels.patch", channels_patch, NULL, 0, NULL},
    {"DELETE", MP "/notificationChannels/{notificationChannelsId}",
     MON_ID "notificationChannels.delete", channels_delete, NULL, 0, NULL},
    {"POST", MP "/uptimeCheckConfigs", MON_ID "uptimeCheckConfigs.create",
     uptime_create, NULL, 0, NULL},
    {"GET", MP "/uptimeCheckConfigs", MON_ID "uptimeCheckConfigs.list",
     uptime_list, NULL, 0, NULL},
    {"GET", MP "/uptimeCheckConfigs/{uptimeCheckConfigsId}",
     MON_ID "uptimeCheckConfigs.get", uptime_get, NULL, 0, NULL},
    {"DELETE", MP "/uptimeCheckConfigs/{uptimeCheckConfigsId}",
     MON_ID "uptimeCheckConfigs.delete", uptime_delete, NULL, 0, NULL},
    {"POST", MP "/timeSeries", MON_ID "timeSeries.create", series_create, NULL,
     0, NULL},
    {"GET", MP "/timeSeries", MON_ID "timeSeries.list", series_list, NULL, 0,
     NULL},
    {"POST", MP "/metricDescriptors", MON_ID "metricDescriptors.create",
     descriptors_create, NULL, 0, NULL},

};

int sim_monitoring_init(sim *s)
{
  sim_quota_define(s, "UPTIME_CHECKS", NULL, 100);
  return sim_register(s, SIM_API_MONITORING, monitoring_routes,
                      sizeof(monitoring_routes) / sizeof(*monitoring_routes));
}
