/*
 * alerting.c - Cloud Monitoring's alert-policy evaluator on the simulated
 * clock, its incidents and its notifications.
 *
 * Every 30 s of simulated time (catching up after /_sim/clock/advance in
 * 30 s steps, at most the last 24 h) each enabled policy's
 * conditionThreshold and conditionAbsent conditions are evaluated: one
 * query per condition (monitoring_query.c) for a chunk of steps, then per
 * step the aligned (and reduced) series over the last alignment period.
 * A group (an output series, by its labels) breaching for `duration`
 * opens one incident per (policy, condition, group); an evaluation that
 * finds it not breaching closes it. On open and on close each enabled
 * channel the policy names gets a notification: recorded always, and
 * POSTed for webhook_tokenauth / webhook_basicauth (webhook.c) with
 * Monitoring's webhook payload (schema 1.2).
 *
 * Incidents ("_sim/incidents/...") and notifications
 * ("_sim/notifications/...") are store entries, so they survive the state
 * file and go with /_sim/reset. How long each group has been breaching is
 * kept in memory only: after a restart a breach starts again.
 *
 *   GET /_sim/incidents[?state=open|closed]
 *   GET /_sim/notifications
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sim/jsonutil.h"
#include "sim/modules.h"
#include "sim/monitoring_query.h"
#include "sim/sim_int.h"
#include "sim/webhook.h"

#define MOD "sim"

#define AL_STEP_MS     30000            /* evaluation period */
#define AL_CATCHUP_MS  (24 * 3600000LL) /* at most this far back */
#define AL_CHUNK_STEPS 20               /* steps per query */
#define AL_RAW_WINDOW  300000           /* unaligned: newest point within */
#define AL_KIND_INC    "sim.incident"
#define AL_KIND_NOTE   "sim.notification"
#define AL_INC_PREFIX  "_sim/incidents/"
#define AL_NOTE_PREFIX "_sim/notifications/"
#define AL_KEEP        1000 /* notifications, closed incidents kept */

typedef struct al_delivery {
  struct sim_alerting *a;
  sim_webhook *w;
  char key[300];
  struct al_delivery *next;
} al_delivery;

struct sim_alerting {
  sim *s;
  sim_timer *timer;
  int64_t next; /* the next evaluation time; 0 before the first */
  int64_t gen;  /* evaluation counter */
  int rebuilt;  /* open incidents of the store read back */
  /* "policy\x1f condition" -> {"gen": n, "groups": {key -> entry}}, entry
   * {"since": ms, "seen": ms, "gen": n, "keep": n, "incident": key} */
  json_object *conds;
  al_delivery *inflight;
};

/* --- small helpers ------------------------------------------------------ */

static int64_t jint(json_object *o, const char *k, int64_t dflt)
{
  json_object *v;

  return json_object_object_get_ex(o, k, &v) && v ? json_object_get_int64(v)
                                                  : dflt;
}

static void jset_int(json_object *o, const char *k, int64_t v)
{
  json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *obj_or_new(json_object *o)
{
  return o && json_object_is_type(o, json_type_object)
             ? copy(o)
             : json_object_new_object();
}

/* --- conditions --------------------------------------------------------- */

enum { CMP_GT, CMP_GE, CMP_LT, CMP_LE, CMP_EQ, CMP_NE };

typedef struct al_cond {
  json_object *cond; /* borrowed from the policy */
  int absent;
  mq_filter *f, *df;
  mq_agg agg, dagg;
  int64_t window, dur;
  int cmp;
  double thr;
  int64_t trig_count;
  double trig_pct;
  mq_set *raw, *draw;
  /* per step */
  int met;
  json_object *state; /* the condition's entry in conds */
} al_cond;

static int cmp_of(const char *c)
{
  static const char *const names[] = {"COMPARISON_GT", "COMPARISON_GE",
                                      "COMPARISON_LT", "COMPARISON_LE",
                                      "COMPARISON_EQ", "COMPARISON_NE"};

  for (int i = 0; c && i < 6; i++)
    if (strcmp(c, names[i]) == 0)
      return i;
  return CMP_GT;
}

static int breaches(int cmp, double v, double thr)
{
  switch (cmp) {
  case CMP_GT:
    return v > thr;
  case CMP_GE:
    return v >= thr;
  case CMP_LT:
    return v < thr;
  case CMP_LE:
    return v <= thr;
  case CMP_EQ:
    return v == thr;
  default:
    return v != thr;
  }
}

static void cond_free(al_cond *c)
{
  mq_filter_free(c->f);
  mq_filter_free(c->df);
  mq_set_free(c->raw);
  mq_set_free(c->draw);
  memset(c, 0, sizeof(*c));
}

/* Reads a condition; -1 for a kind the evaluator does not handle or one
 * that does not parse (it is skipped, and logged). */
static int cond_prepare(json_object *cond, al_cond *c)
{
  json_object *t, *aggs, *trig;
  char msg[1200];

  memset(c, 0, sizeof(*c));
  c->cond = cond;
  if (!json_object_object_get_ex(cond, "conditionThreshold", &t)) {
    if (!json_object_object_get_ex(cond, "conditionAbsent", &t))
      return -1;
    c->absent = 1;
  }
  aggs = json_object_object_get(t, "aggregations");
  if ((c->f = mq_filter_parse(js(t, "filter"), msg, sizeof(msg))) == NULL ||
      mq_agg_json(alen(aggs) ? json_object_array_get_idx(aggs, 0) : NULL,
                  "aggregations", &c->agg, msg, sizeof(msg)) < 0)
    goto bad;
  if (js(t, "denominatorFilter")) {
    aggs = json_object_object_get(t, "denominatorAggregations");
    if ((c->df = mq_filter_parse(js(t, "denominatorFilter"), msg,
                                 sizeof(msg))) == NULL ||
        mq_agg_json(alen(aggs) ? json_object_array_get_idx(aggs, 0) : NULL,
                    "denominatorAggregations", &c->dagg, msg, sizeof(msg)) < 0)
      goto bad;
  }
  c->dur = mq_duration_ms(js(t, "duration"));
  if (c->dur < 0)
    c->dur = 0;
  c->window = c->agg.aligner ? c->agg.period_ms : AL_RAW_WINDOW;
  if (c->absent && c->dur > c->window)
    c->window = c->dur;
  c->cmp = cmp_of(js(t, "comparison"));
  c->thr = json_object_get_double(json_object_object_get(t, "thresholdValue"));
  trig = json_object_object_get(t, "trigger");
  c->trig_count = jint(trig, "count", 0);
  c->trig_pct = json_object_get_double(json_object_object_get(trig, "percent"));
  if (c->trig_count <= 0 && c->trig_pct <= 0)
    c->trig_count = 1;
  return 0;
bad:
  EDV_LOG_W(MOD, "alert condition %s not evaluated: %s", jsd(cond, "name", "?"),
            msg);
  return -1;
}

/* The aligned set at t over its window (an unaligned condition: each
 * series' newest point within AL_RAW_WINDOW). */
static mq_set *aligned_at(const mq_set *raw, const mq_agg *agg, int64_t window,
                          int64_t t)
{
  mq_agg next = {0};
  char msg[600];

  if (agg->aligner == 0) {
    next.aligner = 3; /* ALIGN_NEXT_OLDER */
    next.period_ms = window;
    agg = &next;
  }
  return mq_aggregate(raw, agg, t - window, t, msg, sizeof(msg));
}

/* --- incidents and notifications ---------------------------------------- */

static const char *severity_name(const char *sev)
{
  if (sev && strcmp(sev, "CRITICAL") == 0)
    return "Critical";
  if (sev && strcmp(sev, "ERROR") == 0)
    return "Error";
  if (sev && strcmp(sev, "WARNING") == 0)
    return "Warning";
  return "No severity";
}

static const char *resource_type_name(const char *t)
{
  static const char *const names[][2] = {
      {"https_lb_rule", "Application Load Balancer Rule"},
      {"gce_instance", "VM Instance"},
      {"cloudsql_database", "Cloud SQL Database"},
      {"global", "Global"},
  };

  for (size_t i = 0; t && i < sizeof(names) / sizeof(*names); i++)
    if (strcmp(t, names[i][0]) == 0)
      return names[i][1];
  return t ? t : "";
}

/* Monitoring's display name of a metric type: the built-in metrics'
 * own, else a custom descriptor's displayName, else the type's last
 * segment. */
static const char *metric_display(sim *s, const char *type)
{
  static const char *const names[][2] = {
      {"loadbalancing.googleapis.com/https/request_count", "Request count"},
      {"loadbalancing.googleapis.com/https/backend_latencies",
       "Backend latency"},
      {"loadbalancing.googleapis.com/https/total_latencies", "Total latency"},
      {"compute.googleapis.com/instance/cpu/utilization", "CPU utilization"},
      {"agent.googleapis.com/memory/percent_used", "Memory utilization"},
      {"cloudsql.googleapis.com/database/up", "Server up"},
      {"cloudsql.googleapis.com/database/network/connections",
       "Cloud SQL Connections"},
      {"cloudsql.googleapis.com/database/cpu/utilization", "CPU utilization"},
  };
  char key[400];

  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
    if (strcmp(type, names[i][0]) == 0)
      return names[i][1];
  snprintf(key, sizeof(key), "projects/%s/metricDescriptors/%s", s->project,
           type);
  return jsd(sim_store_get(s, key), "displayName",
             strrchr(type, '/') ? strrchr(type, '/') + 1 : type);
}

/* The name a group is shown by: its most telling label. */
static const char *display_of(json_object *rl, json_object *ml, json_object *ul,
                              const char *project)
{
  static const char *const prefer[] = {"backend_target_name", "instance_id",
                                       "database_id"};

  for (size_t i = 0; i < 3; i++)
    if (js(rl, prefer[i]))
      return js(rl, prefer[i]);
  if (js(ml, "instance_name"))
    return js(ml, "instance_name");
  if (js(ml, "edv_tenant"))
    return js(ml, "edv_tenant");
  if (js(ul, "edv-tenant"))
    return js(ul, "edv-tenant");
  json_object_object_foreach(rl, k, v)
  {
    if (strcmp(k, "project_id") != 0 && json_object_get_string(v))
      return json_object_get_string(v);
  }
  return project;
}

static void note_done(void *data, int status, const char *error)
{
  al_delivery *d = data, **pp;
  json_object *rec;

  for (pp = &d->a->inflight; *pp && *pp != d; pp = &(*pp)->next)
    ;
  if (*pp)
    *pp = d->next;
  rec = sim_store_get(d->a->s, d->key);
  if (rec) {
    json_object_object_add(
        rec, "delivered",
        json_object_new_boolean(status >= 200 && status < 300));
    json_object_object_add(rec, "status", json_object_new_int(status));
    json_object_object_add(
        rec, "error",
        json_object_new_string(error                           ? error
                               : status >= 200 && status < 300 ? ""
                                                               : "the webhook "
                                                                 "answered an "
                                                                 "error"));
    sim_dirty(d->a->s);
  }
  free(d);
}

/* The payload of schema 1.2 for an incident (the stored object less its
 * internal fields). */
static char *payload_of(json_object *inc)
{
  json_object *p = json_object_new_object(), *i = copy(inc);
  char *out;

  json_object_object_del(i, "policy");
  json_object_object_del(i, "_cond");
  json_object_object_del(i, "_group");
  json_object_object_add(p, "version", json_object_new_string("1.2"));
  json_object_object_add(p, "incident", i);
  out = strdup(json_object_to_json_string_ext(
      p, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(p);
  return out;
}

/* One notification per enabled channel of the policy. */
static void notify(struct sim_alerting *a, json_object *pol, json_object *inc,
                   int64_t t)
{
  json_object *chans = json_object_object_get(pol, "notificationChannels");
  char *body = NULL;

  for (size_t i = 0; i < alen(chans); i++) {
    const char *name =
        json_object_get_string(json_object_array_get_idx(chans, i));
    json_object *ch = name ? sim_store_get(a->s, name) : NULL, *rec, *en;
    json_object *labels = json_object_object_get(ch, "labels");
    const char *type = js(ch, "type"), *url = js(labels, "url");
    const char *slash = strrchr(name ? name : "", '/');
    char key[300], ts[32], err[200] = "", auth[600] = "";
    int post = 0;

    if (ch == NULL || type == NULL ||
        (json_object_object_get_ex(ch, "enabled", &en) &&
         !json_object_get_boolean(en)))
      continue;
    snprintf(key, sizeof(key), AL_NOTE_PREFIX "%013lld-%s-%s-%s", (long long)t,
             jsd(inc, "incident_id", ""), jsd(inc, "state", ""),
             slash ? slash + 1 : name);
    if (strcmp(type, "webhook_tokenauth") == 0 ||
        strcmp(type, "webhook_basicauth") == 0) {
      if (url && strncmp(url, "http://", 7) == 0)
        post = 1;
      else if (url && strncmp(url, "https://", 8) == 0)
        snprintf(err, sizeof(err),
                 "the simulator does not speak TLS to webhooks");
      else
        snprintf(err, sizeof(err), "labels.url is not an http:// URL");
    } else {
      snprintf(err, sizeof(err),
               "the simulator records %s notifications without sending them",
               type);
    }
    rec = json_object_new_object();
    json_object_object_add(rec, "channel", json_object_new_string(name));
    json_object_object_add(rec, "type", json_object_new_string(type));
    json_object_object_add(rec, "incident_id",
                           json_object_new_string(jsd(inc, "incident_id", "")));
    json_object_object_add(rec, "state",
                           json_object_new_string(jsd(inc, "state", "")));
    json_object_object_add(
        rec, "time", json_object_new_string(sim_time_str((uint64_t)t, ts)));
    json_object_object_add(rec, "delivered", json_object_new_boolean(0));
    json_object_object_add(rec, "status", json_object_new_int(0));
    json_object_object_add(rec, "error", json_object_new_string(err));
    sim_store_put(a->s, key, AL_KIND_NOTE, rec);
    if (post) {
      al_delivery *d = calloc(1, sizeof(*d));

      if (body == NULL)
        body = payload_of(inc);
      if (strcmp(type, "webhook_basicauth") == 0)
        sim_webhook_basic(js(labels, "username"), js(labels, "password"), auth,
                          sizeof(auth));
      if (d && body) {
        d->a = a;
        snprintf(d->key, sizeof(d->key), "%s", key);
        d->w = sim_webhook_post(a->s->loop, url, auth[0] ? auth : NULL, body,
                                note_done, d, err, sizeof(err));
        if (d->w) {
          d->next = a->inflight;
          a->inflight = d;
        } else {
          json_object_object_add(rec, "error", json_object_new_string(err));
          free(d);
        }
      } else {
        free(d);
      }
      memset(auth, 0, sizeof(auth));
    }
  }
  free(body);
}

static void add_str(json_object *o, const char *k, const char *v)
{
  json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

/* The group's part of an incident: resource, metric, metadata and the
 * names shown for them. Returns the resource's display name (in inc). */
static const char *incident_group(sim *s, json_object *inc, json_object *entry,
                                  const char *mtype)
{
  json_object *series = json_object_object_get(entry, "series");
  json_object *metric = json_object_object_get(series, "metric");
  json_object *resource = json_object_object_get(series, "resource");
  json_object *ul = json_object_object_get(
      json_object_object_get(series, "metadata"), "userLabels");
  json_object *rl = obj_or_new(json_object_object_get(resource, "labels"));
  json_object *ml = obj_or_new(json_object_object_get(metric, "labels"));
  json_object *res = json_object_new_object(), *met = json_object_new_object();
  json_object *md = json_object_new_object();
  const char *rtype = jsd(resource, "type", "global");
  char buf[800];

  if (!js(rl, "project_id"))
    add_str(rl, "project_id", s->project);
  add_str(inc, "resource_display_name", display_of(rl, ml, ul, s->project));
  add_str(res, "type", rtype);
  json_object_object_add(res, "labels", rl);
  json_object_object_add(inc, "resource", res);
  add_str(inc, "resource_type_display_name", resource_type_name(rtype));
  add_str(inc, "resource_id", "");
  snprintf(buf, sizeof(buf), "%s %s %s", s->project, rtype,
           js(inc, "resource_display_name"));
  add_str(inc, "resource_name", buf);
  add_str(met, "type", mtype);
  add_str(met, "displayName", metric_display(s, mtype));
  json_object_object_add(met, "labels", ml);
  json_object_object_add(inc, "metric", met);
  json_object_object_add(md, "system_labels", json_object_new_object());
  json_object_object_add(md, "user_labels", obj_or_new(ul));
  json_object_object_add(inc, "metadata", md);
  return js(inc, "resource_display_name");
}

/* The policy's part of an incident. */
static void incident_policy(json_object *inc, json_object *pol, al_cond *c)
{
  json_object *d = json_object_object_get(pol, "documentation");
  json_object *doc = json_object_new_object();

  add_str(inc, "policy_name", jsd(pol, "displayName", ""));
  json_object_object_add(inc, "policy_user_labels",
                         obj_or_new(json_object_object_get(pol, "userLabels")));
  add_str(inc, "condition_name", jsd(c->cond, "displayName", ""));
  json_object_object_add(inc, "condition", copy(c->cond));
  add_str(doc, "content", jsd(d, "content", ""));
  add_str(doc, "mime_type", jsd(d, "mimeType", "text/markdown"));
  add_str(doc, "subject", jsd(d, "subject", ""));
  json_object_object_add(inc, "documentation", doc);
  add_str(inc, "severity", severity_name(js(pol, "severity")));
  add_str(inc, "policy", jsd(pol, "name", ""));
}

/* Opens an incident for a group (its entry keeps the group's labels) at
 * t. */
static void incident_open(struct sim_alerting *a, json_object *pol, al_cond *c,
                          const char *cond_key, const char *gkey,
                          json_object *entry, double v, int64_t t)
{
  sim *s = a->s;
  json_object *inc = json_object_new_object();
  const char *mtype = jsd(
      json_object_object_get(json_object_object_get(entry, "series"), "metric"),
      "type", mq_filter_type(c->f));
  const char *disp;
  char id[32], buf[800], key[300];

  snprintf(id, sizeof(id), "0.");
  for (int k = 0; k < 12; k++)
    id[2 + k] = "abcdefghijklmnopqrstuvwxyz0123456789"[sim_rand(s) % 36];
  id[14] = '\0';
  add_str(inc, "incident_id", id);
  add_str(inc, "scoping_project_id", s->project);
  jset_int(inc, "scoping_project_number", (int64_t)s->project_number);
  snprintf(buf, sizeof(buf),
           "https://console.cloud.google.com/monitoring/alerting/incidents/"
           "%s?project=%s",
           id, s->project);
  add_str(inc, "url", buf);
  jset_int(inc, "started_at", t / 1000);
  json_object_object_add(inc, "ended_at", NULL);
  add_str(inc, "state", "open");
  disp = incident_group(s, inc, entry, mtype);
  if (c->absent)
    snprintf(buf, sizeof(buf), "%s for %s has been absent for %llds.", mtype,
             disp, (long long)(c->window / 1000));
  else
    snprintf(buf, sizeof(buf),
             "%s for %s with value %.3f is %s the threshold of %.3f.", mtype,
             disp, v, c->cmp == CMP_LT || c->cmp == CMP_LE ? "below" : "above",
             c->thr);
  add_str(inc, "summary", buf);
  add_str(inc, "apigee_url", "");
  snprintf(buf, sizeof(buf), "%.3f", c->absent ? 0 : v);
  add_str(inc, "observed_value", buf);
  snprintf(buf, sizeof(buf), "%g", c->thr);
  add_str(inc, "threshold_value", buf);
  incident_policy(inc, pol, c);
  add_str(inc, "_cond", cond_key);
  add_str(inc, "_group", gkey);
  snprintf(key, sizeof(key), AL_INC_PREFIX "%013lld-%s", (long long)t, id);
  add_str(entry, "incident", key);
  sim_store_put(s, key, AL_KIND_INC, json_object_get(inc));
  notify(a, pol, inc, t);
  json_object_put(inc);
  sim_dirty(s);
}

/* Closes the incident an entry holds. pol may be NULL (policy gone). */
static void incident_close(struct sim_alerting *a, json_object *pol,
                           json_object *entry, int64_t t)
{
  const char *key = js(entry, "incident");
  json_object *inc = key ? sim_store_get(a->s, key) : NULL;
  char buf[800];

  if (inc && strcmp(jsd(inc, "state", ""), "open") == 0) {
    const char *sum = jsd(inc, "summary", "");
    const char *cut = strstr(sum, " with value ");

    inc = copy(inc);
    json_object_object_add(inc, "state", json_object_new_string("closed"));
    jset_int(inc, "ended_at", t / 1000);
    snprintf(buf, sizeof(buf), "%.*s returned to normal.",
             (int)(cut ? (size_t)(cut - sum) : strcspn(sum, ".")), sum);
    json_object_object_add(inc, "summary", json_object_new_string(buf));
    sim_store_put(a->s, key, AL_KIND_INC, json_object_get(inc));
    if (pol == NULL)
      pol = sim_store_get(a->s, jsd(inc, "policy", ""));
    if (pol)
      notify(a, pol, inc, t);
    json_object_put(inc);
    sim_dirty(a->s);
  }
  json_object_object_del(entry, "incident");
}

/* --- evaluation --------------------------------------------------------- */

/* Each series' newest value by its group key (a ratio's denominator);
 * frees the set. */
static json_object *values_by_key(mq_set *set)
{
  json_object *o = json_object_new_object();
  char key[4096];
  double v;

  for (size_t i = 0; i < mq_set_len(set); i++) {
    mq_series_key(set, i, key, sizeof(key));
    if (mq_series_value(set, i, &v))
      json_object_object_add(o, key, json_object_new_double(v));
  }
  mq_set_free(set);
  return o;
}

/* The entry of group `key`, made on first sight with the group's labels
 * (for its incident, also once it is absent). */
static json_object *group_entry(json_object *groups, const char *key,
                                const mq_set *set, size_t i)
{
  json_object *e, *parts;

  if (json_object_object_get_ex(groups, key, &e))
    return e;
  e = json_object_new_object();
  parts = json_object_new_object();
  json_object_object_add(groups, key, e);
  json_object_object_add(parts, "metric",
                         copy(mq_series_part(set, i, "metric")));
  json_object_object_add(parts, "resource",
                         copy(mq_series_part(set, i, "resource")));
  json_object_object_add(parts, "metadata",
                         copy(mq_series_part(set, i, "metadata")));
  json_object_object_add(e, "series", parts);
  return e;
}

/* conditionAbsent: groups seen before with no point in the window (which
 * spans the duration) are absent; how many. */
static size_t absent_groups(struct sim_alerting *a, json_object *groups,
                            json_object *vals, int64_t t, size_t *total)
{
  size_t met = 0;

  json_object_object_foreach(groups, k, e)
  {
    if (jint(e, "gen", 0) == a->gen && jint(e, "seen", -1) == t)
      continue;
    jset_int(e, "gen", a->gen);
    (*total)++;
    if (!json_object_object_get_ex(e, "since", NULL))
      jset_int(e, "since", t);
    json_object_object_add(vals, k, json_object_new_double(0));
    met++;
  }
  return met;
}

/* Marks breaching groups of condition c at t (entries in its state) and
 * returns those breaching for its duration (key -> value); c->met says
 * whether the condition (its trigger) is met. */
static json_object *cond_eval(struct sim_alerting *a, al_cond *c, int64_t t)
{
  json_object *groups = json_object_object_get(c->state, "groups");
  json_object *vals = json_object_new_object(); /* key -> value, met */
  json_object *den = NULL, *dv;
  mq_set *set = aligned_at(c->raw, &c->agg, c->window, t);
  size_t n = mq_set_len(set), total = 0, met = 0;
  char key[4096];

  if (c->df)
    den = values_by_key(aligned_at(
        c->draw, &c->dagg, c->dagg.aligner ? c->dagg.period_ms : c->window, t));
  for (size_t i = 0; i < n; i++) {
    json_object *e;
    double v;

    mq_series_key(set, i, key, sizeof(key));
    if (!mq_series_value(set, i, &v))
      continue;
    if (den) {
      if (!json_object_object_get_ex(den, key, &dv) ||
          json_object_get_double(dv) == 0)
        continue;
      v /= json_object_get_double(dv);
    }
    total++;
    e = group_entry(groups, key, set, i);
    jset_int(e, "gen", a->gen);
    if (c->absent) {
      jset_int(e, "seen", t);
      json_object_object_del(e, "since");
      continue;
    }
    if (!breaches(c->cmp, v, c->thr)) {
      json_object_object_del(e, "since");
      continue;
    }
    if (!json_object_object_get_ex(e, "since", NULL))
      jset_int(e, "since", t);
    if (t - jint(e, "since", t) >= c->dur) {
      json_object_object_add(vals, key, json_object_new_double(v));
      met++;
    }
  }
  if (c->absent)
    met += absent_groups(a, groups, vals, t, &total);
  c->met =
      met > 0 &&
      ((c->trig_count > 0 && (int64_t)met >= c->trig_count) ||
       (c->trig_pct > 0 && (double)met * 100.0 >= c->trig_pct * (double)total));
  json_object_put(den);
  mq_set_free(set);
  return vals;
}

/* The resource part of a group key (AND_WITH_MATCHING_RESOURCE). */
static const char *resource_part(const char *key)
{
  const char *p = strchr(key, '}');

  return p ? p + 1 : key;
}

static int group_in(json_object *vals, const char *key)
{
  json_object_object_foreach(vals, k, v)
  {
    (void)v;
    if (strcmp(resource_part(k), resource_part(key)) == 0)
      return 1;
  }
  return 0;
}

static void policy_eval(struct sim_alerting *a, json_object *pol, al_cond *cs,
                        size_t nc, int64_t t)
{
  const char *comb = jsd(pol, "combiner", "OR");
  int all = strcmp(comb, "OR") != 0,
      matching = strcmp(comb, "AND_WITH_MATCHING_RESOURCE") == 0;
  json_object *vals[8] = {0};
  int all_met = nc > 0;

  for (size_t k = 0; k < nc && k < 8; k++) {
    jset_int(cs[k].state, "gen", a->gen);
    vals[k] = cond_eval(a, &cs[k], t);
    all_met &= cs[k].met;
  }
  for (size_t k = 0; k < nc && k < 8; k++) {
    json_object *groups = json_object_object_get(cs[k].state, "groups");
    const char *ckey = js(cs[k].state, "key");

    if (cs[k].met && (!all || all_met)) {
      json_object_object_foreach(vals[k], gkey, val)
      {
        json_object *e = json_object_object_get(groups, gkey);
        int ok = 1;

        for (size_t m = 0; matching && m < nc && m < 8; m++)
          ok &= m == k || group_in(vals[m], gkey);
        if (!ok || e == NULL)
          continue;
        jset_int(e, "keep", a->gen);
        if (!js(e, "incident"))
          incident_open(a, pol, &cs[k], ckey, gkey, e,
                        json_object_get_double(val), t);
      }
    }
    /* Whatever is not kept open now closes; groups gone are dropped. */
    {
      json_object *drop = json_object_new_array();

      json_object_object_foreach(groups, gkey, e)
      {
        if (js(e, "incident") && jint(e, "keep", -1) != a->gen)
          incident_close(a, pol, e, t);
        if (jint(e, "gen", -1) != a->gen)
          json_object_array_add(drop, json_object_new_string(gkey));
      }
      for (size_t i = 0; i < alen(drop); i++)
        json_object_object_del(
            groups, json_object_get_string(json_object_array_get_idx(drop, i)));
      json_object_put(drop);
    }
    json_object_put(vals[k]);
  }
}

/* Conditions of policies gone (or disabled, or changed) close their
 * incidents. */
static void sweep(struct sim_alerting *a, int64_t t)
{
  json_object *drop = json_object_new_array();

  json_object_object_foreach(a->conds, ckey, st)
  {
    if (jint(st, "gen", -1) == a->gen)
      continue;
    json_object_object_foreach(json_object_object_get(st, "groups"), g, e)
    {
      (void)g;
      if (js(e, "incident"))
        incident_close(a, NULL, e, t);
    }
    json_object_array_add(drop, json_object_new_string(ckey));
  }
  for (size_t i = 0; i < alen(drop); i++)
    json_object_object_del(
        a->conds, json_object_get_string(json_object_array_get_idx(drop, i)));
  json_object_put(drop);
}

struct pol_ctx {
  json_object *list;
};

static int pol_cb(void *data, const char *name, const char *kind,
                  json_object *obj)
{
  struct pol_ctx *c = data;
  json_object *en;

  (void)name;
  if (strcmp(kind, "monitoring.alertPolicy") == 0 &&
      !(json_object_object_get_ex(obj, "enabled", &en) &&
        !json_object_get_boolean(en)))
    json_object_array_add(c->list, json_object_get(obj));
  return 0;
}

static json_object *cond_state(struct sim_alerting *a, const char *pol,
                               json_object *cond)
{
  char key[800];
  json_object *st;

  snprintf(key, sizeof(key), "%s\x1f%s", pol, jsd(cond, "name", ""));
  if (!json_object_object_get_ex(a->conds, key, &st)) {
    st = json_object_new_object();
    json_object_object_add(st, "key", json_object_new_string(key));
    json_object_object_add(st, "groups", json_object_new_object());
    json_object_object_add(a->conds, key, st);
  }
  return st;
}

static int rebuild_cb(void *data, const char *name, const char *kind,
                      json_object *obj)
{
  struct sim_alerting *a = data;
  json_object *st, *e;

  if (strcmp(kind, AL_KIND_INC) != 0 ||
      strcmp(jsd(obj, "state", ""), "open") != 0 || !js(obj, "_cond") ||
      !js(obj, "_group"))
    return 0;
  if (!json_object_object_get_ex(a->conds, js(obj, "_cond"), &st)) {
    st = json_object_new_object();
    json_object_object_add(st, "key", json_object_new_string(js(obj, "_cond")));
    json_object_object_add(st, "groups", json_object_new_object());
    json_object_object_add(a->conds, js(obj, "_cond"), st);
  }
  e = json_object_new_object();
  jset_int(e, "since", jint(obj, "started_at", 0) * 1000);
  json_object_object_add(e, "incident", json_object_new_string(name));
  json_object_object_add(json_object_object_get(st, "groups"),
                         js(obj, "_group"), e);
  return 0;
}

struct prune_ctx {
  size_t skip; /* how many to drop, oldest first */
  json_object *names;
};

static int prune_cb(void *data, const char *name, const char *kind,
                    json_object *obj)
{
  struct prune_ctx *c = data;

  (void)kind;
  if (strcmp(jsd(obj, "state", ""), "open") == 0 &&
      strncmp(name, AL_INC_PREFIX, strlen(AL_INC_PREFIX)) == 0)
    return 0; /* open incidents stay */
  json_object_array_add(c->names, json_object_new_string(name));
  return alen(c->names) >= c->skip;
}

/* Keeps the newest AL_KEEP notifications and closed incidents (their keys
 * start with their time). */
static void prune(sim *s, const char *prefix, const char *kind)
{
  size_t n = sim_store_count(s, prefix, kind);
  struct prune_ctx c;

  if (n <= AL_KEEP + AL_KEEP / 10)
    return;
  c.skip = n - AL_KEEP;
  c.names = json_object_new_array();
  sim_store_each(s, prefix, prune_cb, &c);
  for (size_t i = 0; i < alen(c.names); i++)
    sim_store_del(
        s, json_object_get_string(json_object_array_get_idx(c.names, i)));
  json_object_put(c.names);
}

/* Evaluates steps first, first + 30 s, ... last. */
static void eval_chunk(struct sim_alerting *a, int64_t first, int64_t last)
{
  struct pol_ctx pc;
  char prefix[300];
  size_t np;
  al_cond(*cs)[8];
  size_t *nc;

  pc.list = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/alertPolicies/", a->s->project);
  sim_store_each(a->s, prefix, pol_cb, &pc);
  np = alen(pc.list);
  cs = calloc(np + 1, sizeof(*cs));
  nc = calloc(np + 1, sizeof(*nc));
  if (cs == NULL || nc == NULL)
    goto done;
  /* One query per condition for the whole chunk. */
  for (size_t p = 0; p < np; p++) {
    json_object *pol = json_object_array_get_idx(pc.list, p);
    json_object *conds = json_object_object_get(pol, "conditions");

    for (size_t k = 0; k < alen(conds) && nc[p] < 8; k++) {
      al_cond *c = &cs[p][nc[p]];

      if (cond_prepare(json_object_array_get_idx(conds, k), c) < 0) {
        cond_free(c);
        continue;
      }
      c->raw = mq_fetch(a->s, c->f, first - c->window, last);
      if (c->df)
        c->draw = mq_fetch(
            a->s, c->df,
            first - (c->dagg.aligner ? c->dagg.period_ms : c->window), last);
      c->state = cond_state(a, jsd(pol, "name", ""), c->cond);
      nc[p]++;
    }
  }
  for (int64_t t = first; t <= last; t += AL_STEP_MS) {
    a->gen++;
    for (size_t p = 0; p < np; p++)
      policy_eval(a, json_object_array_get_idx(pc.list, p), cs[p], nc[p], t);
    sweep(a, t);
  }
done:
  for (size_t p = 0; cs && nc && p < np; p++)
    for (size_t k = 0; k < nc[p]; k++)
      cond_free(&cs[p][k]);
  free(cs);
  free(nc);
  json_object_put(pc.list);
}

static void al_tick(sim *s, void *data)
{
  struct sim_alerting *a = data;
  int64_t now = (int64_t)sim_now_ms(s), first, last;

  a->timer = NULL;
  if (!a->rebuilt) {
    a->rebuilt = 1;
    sim_store_each(s, AL_INC_PREFIX, rebuild_cb, a);
  }
  if (a->next == 0)
    a->next = (now / AL_STEP_MS + 1) * AL_STEP_MS;
  if (a->next <= now) {
    first = a->next;
    last = now / AL_STEP_MS * AL_STEP_MS;
    if (last - first > AL_CATCHUP_MS)
      first = last - AL_CATCHUP_MS;
    for (int64_t c = first; c <= last; c += AL_CHUNK_STEPS * AL_STEP_MS)
      eval_chunk(a, c,
                 c + (AL_CHUNK_STEPS - 1) * AL_STEP_MS < last
                     ? c + (AL_CHUNK_STEPS - 1) * AL_STEP_MS
                     : last);
    a->next = last + AL_STEP_MS;
    prune(s, AL_NOTE_PREFIX, AL_KIND_NOTE);
    prune(s, AL_INC_PREFIX, AL_KIND_INC);
  }
  a->timer = sim_timer_at(s, (uint64_t)a->next, al_tick, a);
}

/* --- admin routes ------------------------------------------------------- */

struct list_ctx {
  const char *kind, *state;
  json_object *items;
};

static int list_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct list_ctx *c = data;
  json_object *o;

  (void)name;
  if (strcmp(kind, c->kind) != 0 ||
      (c->state && strcmp(jsd(obj, "state", ""), c->state) != 0))
    return 0;
  o = copy(obj);
  json_object_object_del(o, "_cond");
  json_object_object_del(o, "_group");
  json_object_array_add(c->items, o);
  return 0;
}

static int admin_list(sim *s, sim_resp *resp, const char *prefix,
                      const char *kind, const char *field, const char *state)
{
  struct list_ctx c = {kind, state, json_object_new_array()};
  json_object *o = json_object_new_object();

  sim_store_each(s, prefix, list_cb, &c);
  json_object_object_add(o, field, c.items);
  return sim_resp_json(resp, 200, o);
}

static int admin_incidents(sim *s, sim_req *req, sim_resp *resp)
{
  const char *state = sim_query(req, "state");

  if (state && strcmp(state, "open") != 0 && strcmp(state, "closed") != 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "state: must be open or closed");
  return admin_list(s, resp, AL_INC_PREFIX, AL_KIND_INC, "incidents", state);
}

static int admin_notifications(sim *s, sim_req *req, sim_resp *resp)
{
  (void)req;
  return admin_list(s, resp, AL_NOTE_PREFIX, AL_KIND_NOTE, "notifications",
                    NULL);
}

static const sim_route alerting_admin_routes[] = {
    {"GET", "/_sim/incidents", "sim.incidents.list", admin_incidents, NULL,
     SIM_ROUTE_NOAUTH | SIM_ROUTE_LOOPBACK, NULL},
    {"GET", "/_sim/notifications", "sim.notifications.list",
     admin_notifications, NULL, SIM_ROUTE_NOAUTH | SIM_ROUTE_LOOPBACK, NULL},
};

int sim_alerting_init(sim *s)
{
  struct sim_alerting *a = calloc(1, sizeof(*a));

  if (a == NULL || (a->conds = json_object_new_object()) == NULL) {
    free(a);
    return -1;
  }
  a->s = s;
  s->alerting = a;
  /* The first tick runs at once: the state file is loaded by then. */
  a->timer = sim_timer_at(s, 0, al_tick, a);
  return sim_register(s, SIM_API_ADMIN, alerting_admin_routes,
                      sizeof(alerting_admin_routes) /
                          sizeof(*alerting_admin_routes));
}

void sim__alerting_free(sim *s)
{
  struct sim_alerting *a = s->alerting;

  if (a == NULL)
    return;
  while (a->inflight) {
    al_delivery *d = a->inflight;

    a->inflight = d->next;
    sim_webhook_cancel(d->w);
    free(d);
  }
  json_object_put(a->conds);
  free(a);
  s->alerting = NULL;
}
