/*
 * observe.c - the live state of a tenant's VM, database and certificate
 * (see observe.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "tenant/machine.h"
#include "tenant/observe.h"
#include "tenant/spec.h"

/* The VM, the database, the certificate and the app version the VM
 * reports (its guest attributes under edvirons/). */
#define OBS_N 4

typedef struct obs_item {
  const char *key; /* "vm", "database", "certificate", "app" */
  char name[96];
  char path[480]; /* GET path; "" when there is nothing to ask */
  edv_api api;
  json_object *res; /* a reference to the answer, or NULL */
  int absent;       /* 404, or nothing to ask */
  char error[300];  /* the call's error, or "" */
  struct obs *obs;
} obs_item;

typedef struct obs {
  obs_item items[OBS_N];
  int pending;
  edv__observe_cb cb;
  void *data;
  uv_timer_t later; /* delivers a result with no call from the loop */
} obs;

/* The zone the VM step used, from its resource ("projects/P/zones/Z/..."
 * or a URL with /zones/Z/). */
static int vm_zone(edv_store *store, const char *id, char *zone, size_t size)
{
  edv__step_rec r;
  const char *p, *e;

  if (edv__store_step_get(store, id, "vm", &r, NULL) != 0)
    return -1;
  p = strstr(r.resource, "zones/");
  if (!p)
    return -1;
  p += 6;
  e = strchr(p, '/');
  snprintf(zone, size, "%.*s", (int)(e ? (size_t)(e - p) : strlen(p)), p);
  return zone[0] ? 0 : -1;
}

/* The app version in the VM's guest attributes
 * ({queryValue: {items: [{namespace, key, value}]}}), or NULL. */
static const char *app_version(const obs_item *it)
{
  json_object *a = edv__jget(it->res, "queryValue.items");

  for (size_t i = 0; a && json_object_is_type(a, json_type_array) &&
                     i < json_object_array_length(a);
       i++) {
    json_object *e = json_object_array_get_idx(a, i);
    const char *ns = edv__jstr(e, "namespace"), *k = edv__jstr(e, "key");
    if (ns && k && strcmp(ns, "edvirons") == 0 && strcmp(k, "app-version") == 0)
      return edv__jstr(e, "value");
  }
  return NULL;
}

static const char *item_state(const obs_item *it, char *buf, size_t size)
{
  const char *s;

  if (it->error[0]) {
    snprintf(buf, size, "unknown: %s", it->error);
    return buf;
  }
  if (strcmp(it->key, "app") == 0)
    return app_version(it) ? "reported" : "not reported";
  if (it->absent || !it->res)
    return "not created";
  if (strcmp(it->key, "vm") == 0)
    s = edv__jstr(it->res, "status");
  else if (strcmp(it->key, "database") == 0)
    s = edv__jstr(it->res, "state");
  else
    s = edv__jstr(edv__jget(it->res, "managed"), "state");
  snprintf(buf, size, "%s", s ? s : "present");
  return buf;
}

/* The private IP of a VM or Cloud SQL instance, or NULL. */
static const char *item_ip(const obs_item *it)
{
  json_object *a;

  if (!it->res)
    return NULL;
  if (strcmp(it->key, "vm") == 0) {
    a = edv__jget(it->res, "networkInterfaces");
    return a && json_object_is_type(a, json_type_array) &&
                   json_object_array_length(a) > 0
               ? edv__jstr(json_object_array_get_idx(a, 0), "networkIP")
               : NULL;
  }
  if (strcmp(it->key, "database") != 0)
    return NULL;
  a = edv__jget(it->res, "ipAddresses");
  for (size_t i = 0; a && json_object_is_type(a, json_type_array) &&
                     i < json_object_array_length(a);
       i++) {
    json_object *ip = json_object_array_get_idx(a, i);
    const char *t = edv__jstr(ip, "type");
    if (t && strcmp(t, "PRIVATE") == 0)
      return edv__jstr(ip, "ipAddress");
  }
  return NULL;
}

static json_object *obs_result(const obs *o)
{
  json_object *r = json_object_new_object();
  char buf[400];

  for (int i = 0; i < OBS_N; i++) {
    const obs_item *it = &o->items[i];
    json_object *x = json_object_new_object();
    const char *ip = item_ip(it);
    const char *exp = it->res && strcmp(it->key, "certificate") == 0
                          ? edv__jstr(it->res, "expireTime")
                          : NULL;

    json_object_object_add(x, "name", json_object_new_string(it->name));
    json_object_object_add(
        x, "state", json_object_new_string(item_state(it, buf, sizeof(buf))));
    if (ip)
      json_object_object_add(x, "private_ip", json_object_new_string(ip));
    if (exp)
      json_object_object_add(x, "expires", json_object_new_string(exp));
    if (strcmp(it->key, "app") == 0 && app_version(it))
      json_object_object_add(x, "version",
                             json_object_new_string(app_version(it)));
    json_object_object_add(r, it->key, x);
  }
  return r;
}

static void obs_closed(uv_handle_t *h)
{
  free(h->data);
}

static void obs_finish(obs *o)
{
  json_object *r = obs_result(o);

  for (int i = 0; i < OBS_N; i++)
    json_object_put(o->items[i].res);
  o->cb(o->data, r);
  uv_close((uv_handle_t *)&o->later, obs_closed);
}

static void on_later(uv_timer_t *t)
{
  obs_finish(t->data);
}

static void obs_done(void *data, const edv_response *res)
{
  obs_item *it = data;
  char buf[300];

  if (res->error && res->error->code == EDV_ENOTFOUND)
    it->absent = 1;
  else if (res->error)
    snprintf(it->error, sizeof(it->error), "%s",
             edv_error_format(res->error, buf, sizeof(buf)));
  else if (res->json)
    it->res = json_object_get(res->json);
  if (--it->obs->pending == 0)
    obs_finish(it->obs);
}

int edv__observe(edv_engine *engine, edv_store *store,
                 const edv__tenant_rec *rec, uint64_t timeout_ms,
                 edv__observe_cb cb, void *data)
{
  const char *project = edv_engine_project(engine);
  obs *o = calloc(1, sizeof(*o));
  char zone[96];

  if (!o)
    return -1;
  o->cb = cb;
  o->data = data;
  uv_timer_init(edv_engine_loop(engine), &o->later);
  o->later.data = o;
  o->items[0].key = "vm";
  o->items[1].key = "database";
  o->items[2].key = "certificate";
  o->items[3].key = "app";
  edv__tenant_vm_names(store, rec->id, o->items[0].name,
                       sizeof(o->items[0].name), NULL, 0);
  edv__name_sql_instance(rec->id, rec->generation, o->items[1].name,
                         sizeof(o->items[1].name));
  edv__name_certificate(rec->id, o->items[2].name, sizeof(o->items[2].name));
  snprintf(o->items[3].name, sizeof(o->items[3].name), "%s", o->items[0].name);
  if (project && rec->phase != EDV_PHASE_DELETED) {
    if (vm_zone(store, rec->id, zone, sizeof(zone)) == 0) {
      snprintf(o->items[0].path, sizeof(o->items[0].path),
               "/compute/v1/projects/%s/zones/%s/instances/%s", project, zone,
               o->items[0].name);
      snprintf(o->items[3].path, sizeof(o->items[3].path),
               "%.400s/getGuestAttributes?queryPath=edvirons%%2F",
               o->items[0].path);
    }
    snprintf(o->items[1].path, sizeof(o->items[1].path),
             "/sql/v1beta4/projects/%s/instances/%s", project,
             o->items[1].name);
    snprintf(o->items[2].path, sizeof(o->items[2].path),
             "/v1/projects/%s/locations/global/certificates/%s", project,
             o->items[2].name);
  }
  o->items[0].api = EDV_API_COMPUTE;
  o->items[1].api = EDV_API_SQLADMIN;
  o->items[2].api = EDV_API_CERTIFICATEMANAGER;
  o->items[3].api = EDV_API_COMPUTE;
  /* Count first: a call may end before the next is submitted. */
  for (int i = 0; i < OBS_N; i++) {
    o->items[i].obs = o;
    if (o->items[i].path[0])
      o->pending++;
    else
      o->items[i].absent = 1;
  }
  o->pending++; /* held until every call is submitted */
  for (int i = 0; i < OBS_N; i++) {
    obs_item *it = &o->items[i];
    edv_request req;

    if (!it->path[0])
      continue;
    memset(&req, 0, sizeof(req));
    req.api = it->api;
    req.method = "GET";
    req.path = it->path;
    req.timeout_ms = timeout_ms;
    req.label = it->key;
    if (edv_call_submit(engine, &req, obs_done, it, NULL) != 0) {
      snprintf(it->error, sizeof(it->error), "the call could not be made");
      o->pending--;
    }
  }
  if (--o->pending == 0)
    uv_timer_start(&o->later, on_later, 0, 0); /* never call back inline */
  return 0;
}
