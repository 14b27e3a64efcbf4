/*
 * incidents.c - Cloud Monitoring's incidents (edv/fleet.h, "Alert
 * incidents"): the notifications its webhook channels send (schema 1.2)
 * checked field by field and recorded in the store by incident_id, and
 * the incident lists. Nothing is recorded from a payload with a bad field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "fleet/fleet.h"
#include "tenant/spec.h"

#define INC_LABELS_MAX 64 /* labels of one map */

/* One field of the payload, named by its path ("incident.state"). */
typedef struct inc_field {
  const char *path;
  json_object *v;
} inc_field;

static int inc_bad(edv_error *err, const char *path, const char *what)
{
  return edv_error_set(err, EDV_EINVAL, "field '%s' %s", path, what);
}

/* Text without control characters, at most size - 1 bytes: copied. */
static int inc_text_ok(const char *s, size_t size)
{
  if (strlen(s) >= size)
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return 0;
  return 1;
}

/* `key` of `obj` as a string into out: required or not, else "". */
static int inc_str(json_object *obj, const char *prefix, const char *key,
                   int required, char *out, size_t size, edv_error *err)
{
  char path[96];
  json_object *v;

  snprintf(path, sizeof(path), "%s%s", prefix, key);
  out[0] = '\0';
  if (!json_object_object_get_ex(obj, key, &v) || !v) {
    if (required)
      return inc_bad(err, path, "is missing");
    return 0;
  }
  if (!json_object_is_type(v, json_type_string))
    return inc_bad(err, path, "must be a string");
  if (!inc_text_ok(json_object_get_string(v), size)) {
    edv_error_set(err, EDV_EINVAL,
                  "field '%s' must be text of at most %zu bytes without "
                  "control characters",
                  path, size - 1);
    return EDV_EINVAL;
  }
  snprintf(out, size, "%s", json_object_get_string(v));
  return 0;
}

/* `key` of `obj`: an object (or absent/null when not required). */
static int inc_obj(json_object *obj, const char *prefix, const char *key,
                   int required, json_object **out, edv_error *err)
{
  char path[96];
  json_object *v;

  snprintf(path, sizeof(path), "%s%s", prefix, key);
  *out = NULL;
  if (!json_object_object_get_ex(obj, key, &v) || !v) {
    if (required)
      return inc_bad(err, path, "is missing");
    return 0;
  }
  if (!json_object_is_type(v, json_type_object))
    return inc_bad(err, path, "must be an object");
  *out = v;
  return 0;
}

/* A label map: at most INC_LABELS_MAX string values of printable text. */
static int inc_labels(json_object *obj, const char *path, json_object **out,
                      edv_error *err)
{
  char p[96];
  const char *slash = strrchr(path, '.');
  json_object *m;
  int n = 0;

  snprintf(p, sizeof(p), "%.*s", (int)(slash - path + 1), path);
  if (inc_obj(obj, p, slash + 1, 0, &m, err))
    return EDV_EINVAL;
  *out = m;
  if (!m)
    return 0;
  json_object_object_foreach(m, key, val)
  {
    if (++n > INC_LABELS_MAX)
      return edv_error_set(err, EDV_EINVAL,
                           "field '%s' has more than %d labels", path,
                           INC_LABELS_MAX);
    if (!inc_text_ok(key, 128))
      return edv_error_set(err, EDV_EINVAL,
                           "field '%s' has a label key that is not text of "
                           "at most 127 bytes",
                           path);
    if (!json_object_is_type(val, json_type_string) ||
        !inc_text_ok(json_object_get_string(val), 1024))
      return edv_error_set(err, EDV_EINVAL,
                           "field '%s.%s' must be a string of at most 1023 "
                           "bytes without control characters",
                           path, key);
  }
  return 0;
}

/* A time in seconds since the epoch (a JSON integer) into ms. */
static int inc_time(json_object *v, const char *path, int64_t *ms,
                    edv_error *err)
{
  int64_t s;

  if (!json_object_is_type(v, json_type_int))
    return inc_bad(err, path, "must be an integer (seconds since the epoch)");
  s = json_object_get_int64(v);
  if (s <= 0 || s > 253402300799LL) /* 9999-12-31 */
    return inc_bad(err, path, "is not a time (seconds since the epoch)");
  *ms = s * 1000;
  return 0;
}

/* The tenant of the incident (edv/fleet.h): "" for none. */
static int inc_tenant(edv__incident_rec *r, json_object *user,
                      json_object *metric, json_object *resource,
                      edv_error *err)
{
  const char *path = NULL, *id = NULL, *v;
  char buf[EDV_STORE_ID_SZ + 8];
  size_t n;

  if ((v = edv__jstr(user, "edv-tenant")) != NULL) {
    path = "incident.metadata.user_labels.edv-tenant";
    id = v;
  } else if ((v = edv__jstr(metric, "edv_tenant")) != NULL) {
    path = "incident.metric.labels.edv_tenant";
    id = v;
  } else if ((v = edv__jstr(resource, "backend_target_name")) != NULL &&
             (n = strlen(v)) > 7 && strncmp(v, "edv-", 4) == 0 &&
             strcmp(v + n - 3, "-be") == 0 && n - 7 < sizeof(buf)) {
    path = "incident.resource.labels.backend_target_name";
    snprintf(buf, sizeof(buf), "%.*s", (int)(n - 7), v + 4);
    id = buf;
  }
  if (!id)
    return 0;
  if (edv__spec_check_id(id, NULL))
    return edv_error_set(err, EDV_EINVAL,
                         "field '%s': '%.64s' does not name a tenant id", path,
                         id);
  n = strlen(id); /* a valid id fits */
  memcpy(r->tenant, id, n < sizeof(r->tenant) ? n + 1 : 0);
  return 0;
}

/* started_at, a time; ended_at: null (or 0) while open, a time once
 * closed. */
static int inc_times(json_object *inc, edv__incident_rec *r, edv_error *err)
{
  json_object *v;

  if (!json_object_object_get_ex(inc, "started_at", &v) || !v)
    return inc_bad(err, "incident.started_at", "is missing");
  if (inc_time(v, "incident.started_at", &r->started_ms, err))
    return EDV_EINVAL;
  if (!json_object_object_get_ex(inc, "ended_at", &v) ||
      (json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 0))
    v = NULL;
  if (strcmp(r->state, "open") == 0 && v)
    return inc_bad(err, "incident.ended_at",
                   "must be null while the incident is open");
  if (strcmp(r->state, "closed") == 0 && !v)
    return inc_bad(err, "incident.ended_at",
                   "is missing: a closed incident has an end");
  if (v && inc_time(v, "incident.ended_at", &r->ended_ms, err))
    return EDV_EINVAL;
  if (v && r->ended_ms < r->started_ms)
    return inc_bad(err, "incident.ended_at", "is before started_at");
  return 0;
}

/* The labels of the incident as one JSON text: {resource, metric, user}. */
static int inc_labels_json(edv__incident_rec *r, json_object *rl,
                           json_object *ml, json_object *ul, edv_error *err)
{
  json_object *labels;
  const char *s;

  labels = json_object_new_object();
  json_object_object_add(labels, "resource",
                         rl ? json_object_get(rl) : json_object_new_object());
  json_object_object_add(labels, "metric",
                         ml ? json_object_get(ml) : json_object_new_object());
  json_object_object_add(labels, "user",
                         ul ? json_object_get(ul) : json_object_new_object());
  s = json_object_to_json_string_ext(
      labels, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (strlen(s) >= sizeof(r->labels_json)) {
    json_object_put(labels);
    return edv_error_set(err, EDV_EINVAL,
                         "field 'incident.resource.labels': the labels take "
                         "more than %zu bytes",
                         sizeof(r->labels_json) - 1);
  }
  snprintf(r->labels_json, sizeof(r->labels_json), "%s", s);
  json_object_put(labels);
  return 0;
}

/* Checks a 1.2 payload into r; nothing is written. */
static int inc_check(json_object *payload, edv__incident_rec *r, edv_error *err)
{
  static const char *const sev[] = {"Critical", "Error", "Warning",
                                    "No severity"};
  static const char P[] = "incident.";
  json_object *inc, *res, *met, *meta, *pul, *rl = NULL, *ml = NULL, *ul = NULL;
  char version[16];
  const char *s;
  size_t i;

  memset(r, 0, sizeof(*r));
  if (!json_object_is_type(payload, json_type_object))
    return edv_error_set(err, EDV_EINVAL,
                         "the notification must be a JSON object");
  if (inc_str(payload, "", "version", 1, version, sizeof(version), err))
    return EDV_EINVAL;
  if (strcmp(version, "1.2") != 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'version' is '%s': this intake reads "
                         "Monitoring's webhook schema 1.2",
                         version);
  if (inc_obj(payload, "", "incident", 1, &inc, err) ||
      inc_str(inc, P, "incident_id", 1, r->id, sizeof(r->id), err) ||
      inc_str(inc, P, "state", 1, r->state, sizeof(r->state), err) ||
      inc_str(inc, P, "summary", 0, r->summary, sizeof(r->summary), err) ||
      inc_str(inc, P, "url", 0, r->url, sizeof(r->url), err) ||
      inc_str(inc, P, "observed_value", 0, r->observed, sizeof(r->observed),
              err) ||
      inc_str(inc, P, "threshold_value", 0, r->threshold, sizeof(r->threshold),
              err) ||
      inc_str(inc, P, "policy_name", 1, r->policy, sizeof(r->policy), err) ||
      inc_str(inc, P, "severity", 1, r->severity, sizeof(r->severity), err) ||
      inc_obj(inc, P, "resource", 1, &res, err) ||
      inc_str(res, "incident.resource.", "type", 1, r->resource_type,
              sizeof(r->resource_type), err) ||
      inc_labels(res, "incident.resource.labels", &rl, err) ||
      inc_obj(inc, P, "metric", 1, &met, err) ||
      inc_str(met, "incident.metric.", "type", 1, r->metric_type,
              sizeof(r->metric_type), err) ||
      inc_labels(met, "incident.metric.labels", &ml, err) ||
      inc_obj(inc, P, "metadata", 0, &meta, err) ||
      (meta && inc_labels(meta, "incident.metadata.user_labels", &ul, err)) ||
      inc_labels(inc, "incident.policy_user_labels", &pul, err))
    return EDV_EINVAL;
  if (!r->id[0])
    return inc_bad(err, "incident.incident_id", "is empty");
  if (strcmp(r->state, "open") != 0 && strcmp(r->state, "closed") != 0)
    return inc_bad(err, "incident.state", "must be 'open' or 'closed'");
  for (i = 0; i < sizeof(sev) / sizeof(sev[0]); i++)
    if (strcmp(r->severity, sev[i]) == 0)
      break;
  if (i == sizeof(sev) / sizeof(sev[0]))
    return inc_bad(err, "incident.severity",
                   "must be 'Critical', 'Error', 'Warning' or 'No severity'");
  if (r->url[0] && strncmp(r->url, "https://", 8) != 0 &&
      strncmp(r->url, "http://", 7) != 0)
    return inc_bad(err, "incident.url", "must be an http(s) URL");
  if (inc_times(inc, r, err))
    return EDV_EINVAL;
  s = edv__jstr(pul, "edv-alert");
  snprintf(r->alert, sizeof(r->alert), "%s", s ? s : "");
  if (inc_tenant(r, ul, ml, rl, err))
    return EDV_EINVAL;
  return inc_labels_json(r, rl, ml, ul, err);
}

int edv_alert_notification(edv_fleet *f, json_object *payload, edv_fleet_cb cb,
                           void *data, edv_error *err)
{
  edv__incident_rec *r;
  json_object *doc;
  int64_t keep_after;
  int result;

  if (!f || !payload || !cb)
    return edv_error_set(err, EDV_EINVAL,
                         "a fleet, a notification and a callback are needed");
  if (f->closing)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  if (!(r = malloc(sizeof(*r))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if ((result = inc_check(payload, r, err)) ||
      (result = edv__store_incident_put(f->store, r, err)) ||
      (result = edv__store_incident_get(f->store, r->id, r, err))) {
    free(r);
    return result;
  }
  /* Bounded: closed incidents age out, the table has a cap. A failed
   * prune is retried by the next notification. */
  keep_after = edv__store_now(f->store) - EDV_INCIDENTS_KEEP_CLOSED * 1000LL;
  edv__store_incident_prune(f->store, keep_after, EDV_INCIDENTS_MAX, NULL);
  doc = edv__view_incident(r);
  free(r);
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

/* ---- lists ---------------------------------------------------------------*/

typedef struct inc_page {
  json_object *arr;
  int64_t last_ms;
  char last_id[EDV_STORE_INCID_SZ];
} inc_page;

static int inc_list_one(void *data, const edv__incident_rec *rec)
{
  inc_page *p = data;

  json_object_array_add(p->arr, edv__view_incident(rec));
  p->last_ms = rec->started_ms;
  snprintf(p->last_id, sizeof(p->last_id), "%s", rec->id);
  return 0;
}

static int inc_count_one(void *data, const char *alert, const char *severity,
                         uint64_t n)
{
  json_object *open = data, *o = json_object_new_object();

  json_object_object_add(o, "alert", edv__view_str(alert));
  json_object_object_add(o, "severity", edv__view_str(severity));
  json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
  json_object_array_add(json_object_object_get(open, "by_alert"), o);
  json_object_object_add(
      open, "total",
      json_object_new_int64(edv__jint(open, "total", 0) + (int64_t)n));
  return 0;
}

json_object *edv__incidents_open_view(edv_fleet *f)
{
  json_object *open = json_object_new_object();

  json_object_object_add(open, "total", json_object_new_int64(0));
  json_object_object_add(open, "by_alert", json_object_new_array());
  edv__store_incident_open_counts(f->store, inc_count_one, open, NULL);
  return open;
}

/* A page token: "MS:ID" of the last incident of the page before. */
static int inc_token(const char *tok, edv__incident_filter *f, edv_error *err)
{
  char *end;
  long long ms;

  if (!tok || !*tok)
    return 0;
  ms = strtoll(tok, &end, 10);
  if (end == tok || *end != ':' || ms < 0 || !end[1] ||
      strlen(end + 1) >= EDV_STORE_INCID_SZ)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'page_token': not a token this server gave");
  f->after_ms = ms;
  f->after_id = end + 1;
  return 0;
}

int edv_incidents_list(edv_fleet *f, const edv_incident_query *q,
                       edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__incident_filter filter;
  inc_page page;
  json_object *doc;
  char tok[EDV_STORE_INCID_SZ + 32];
  int more = 0, result;

  if (!f || !cb)
    return edv_error_set(err, EDV_EINVAL, "a fleet and a callback are needed");
  memset(&filter, 0, sizeof(filter));
  if (q && q->state && strcmp(q->state, "all") != 0) {
    if (strcmp(q->state, "open") != 0 && strcmp(q->state, "closed") != 0)
      return edv_error_set(err, EDV_EINVAL,
                           "field 'state': '%.32s' is not open, closed or all",
                           q->state);
    filter.state = q->state;
  }
  if (q && q->tenant && edv__spec_check_id(q->tenant, NULL))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'tenant': '%.64s' is not a tenant id",
                         q->tenant);
  if (q && q->limit > 1000)
    return edv_error_set(err, EDV_EINVAL, "field 'limit': at most 1000");
  filter.tenant = q ? q->tenant : NULL;
  filter.limit = q ? q->limit : 0;
  if (q && (result = inc_token(q->page_token, &filter, err)))
    return result;
  memset(&page, 0, sizeof(page));
  page.arr = json_object_new_array();
  if ((result = edv__store_incident_list(f->store, &filter, inc_list_one, &page,
                                         &more, err))) {
    json_object_put(page.arr);
    return result;
  }
  doc = json_object_new_object();
  json_object_object_add(doc, "incidents", page.arr);
  if (more) {
    snprintf(tok, sizeof(tok), "%lld:%s", (long long)page.last_ms,
             page.last_id);
    json_object_object_add(doc, "next_page_token", json_object_new_string(tok));
  } else {
    json_object_object_add(doc, "next_page_token", NULL);
  }
  json_object_object_add(doc, "open", edv__incidents_open_view(f));
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}
