/*
 * api_ops.c - the day-2 routes of the Management API:
 *
 *   POST /api/tenants/{id}/backup    on-demand Cloud SQL backup (202)
 *   GET  /api/tenants/{id}/backups   the instance's backup runs
 *   POST /api/tenants/{id}/restore   restore one of them, or the database
 *                                    as of a point in time (202)
 *   GET  /api/tenants/{id}/metrics   recent health from Cloud Monitoring
 *   GET  /api/infrastructure/capacity  quotas and how many tenants fit
 *
 * The work is the fleet's (edv/fleet.h "Day 2", src/fleet/dayops*.c):
 * jobs, their journal lines, idempotency keys, recovery after a restart,
 * the caches. Each handler checks the request (query, body, headers),
 * calls the library (EDV_FLEET_ASYNC: a job answers once started) and
 * renders its answer; the library's errors become HTTP answers here.
 */
#include <stdio.h>
#include <string.h>

#include "server/api.h"

#define OPS_DEADLINE_MS 50000u /* a suspended request: two calls + margin */

/* An error of the library as an answer: the field it names ("field
 * 'backup_id' ..." or the Idempotency-Key header), a job started but not
 * followable as 502, the fleet stopping as 503. */
static void ops_error(api_ctx *c, const edv_error *e)
{
  char fb[64];
  const char *field = api_field_of(e->message, fb, sizeof(fb));

  if (!field && strncmp(e->message, "Idempotency-Key", 15) == 0)
    field = "Idempotency-Key";
  if (e->code == EDV_EPROTO)
    api_error(c, 502, "INTERNAL", field, "%s", e->message);
  else if (e->code == EDV_ECANCELED)
    api_error(c, 503, NULL, field, "%s", e->message);
  else
    api_error_edv(c, e, field);
}

static void on_answer(void *data, json_object *answer, const edv_error *err)
{
  api_ctx *c = data;

  if (!api_resume(c))
    return;
  if (err)
    ops_error(c, err);
  else
    api_send(c, 200, json_object_get(answer));
}

/* A job's answer: 202 and where to follow it. */
static void on_job(void *data, json_object *answer, const edv_error *err)
{
  api_ctx *c = data;
  char loc[128];

  if (!api_resume(c))
    return;
  if (err) {
    ops_error(c, err);
    return;
  }
  snprintf(loc, sizeof(loc), "/api/tenants/%s/backups",
           json_object_get_string(json_object_object_get(answer, "tenant")));
  edv__http_add_header(c->req, "Location", loc);
  api_send(c, 202, json_object_get(answer));
}

/* The library's call returned: wait for its answer, or answer its error. */
static void ops_wait(api_ctx *c, int result, const edv_error *err)
{
  if (result)
    ops_error(c, err);
  else
    api_suspend(c, OPS_DEADLINE_MS);
}

/* The tenant of a route: 404 before the body is looked at. */
static int ops_tenant(api_ctx *c, const char *id)
{
  edv_error err;
  json_object *t = edv_tenant_peek(c->d->ef, id, &err), *phase;
  int gone = t && json_object_object_get_ex(t, "phase", &phase) &&
             strcmp(json_object_get_string(phase), "DELETED") == 0;

  json_object_put(t);
  if (t && !gone)
    return 0;
  if (gone)
    edv_error_set(&err, EDV_ENOTFOUND, "tenant '%s' not found", id);
  ops_error(c, &err);
  return -1;
}

/* The Idempotency-Key header, or NULL; kept for the audit line. */
static const char *ops_key(api_ctx *c)
{
  const char *key = edv__http_header(c->req, "Idempotency-Key");

  if (key && strlen(key) < sizeof(c->idem_key))
    snprintf(c->idem_key, sizeof(c->idem_key), "%s", key);
  return key;
}

/* Parses an optional JSON body: NULL and 0 when there is none. */
static int optional_body(api_ctx *c, json_object **out)
{
  size_t len;

  *out = NULL;
  edv__http_body(c->req, &len);
  if (len == 0)
    return 0;
  *out = api_body_object(c);
  return *out ? 0 : -1;
}

/* The body's only field may be `name`, a string; its value (borrowed from
 * body, NULL when absent) into *out. Answers and returns -1 if not. */
static int string_field(api_ctx *c, json_object *body, const char *name,
                        const char *want, const char **out)
{
  json_object *v;

  *out = NULL;
  json_object_object_foreach(body, key, val)
  {
    (void)val;
    if (strcmp(key, name) != 0) {
      api_error(c, 400, NULL, key, "field '%.64s' is not known (allowed: %s)",
                key, name);
      return -1;
    }
  }
  if (!json_object_object_get_ex(body, name, &v))
    return 0;
  if (!json_object_is_type(v, json_type_string)) {
    api_error(c, 400, NULL, name, "field '%s' must be %s", name, want);
    return -1;
  }
  *out = json_object_get_string(v);
  return 0;
}

void api_tenant_backup(api_ctx *c, const char *id)
{
  edv_fleet *f = c->d->ef;
  json_object *body = NULL;
  const char *desc = NULL;
  edv_error err;
  int result;

  if (api_query_only(c, (const char *const[]){NULL}) || ops_tenant(c, id) ||
      optional_body(c, &body))
    return;
  if (body && string_field(c, body, "description",
                           "a string of at most 200 characters without "
                           "control characters",
                           &desc)) {
    json_object_put(body);
    return;
  }
  edv_fleet_act_as(f, c->who);
  result = edv_tenant_backup(f, id, desc, ops_key(c), EDV_FLEET_ASYNC, on_job,
                             c, &err);
  edv_fleet_act_as(f, NULL);
  json_object_put(body);
  ops_wait(c, result, &err);
}

void api_tenant_restore(api_ctx *c, const char *id)
{
  edv_fleet *f = c->d->ef;
  json_object *body;
  const char *bid = NULL;
  edv_error err;
  int result;

  if (api_query_only(c, (const char *const[]){NULL}) || ops_tenant(c, id) ||
      !(body = api_body_object(c)))
    return;
  if (json_object_object_get_ex(body, "point_in_time", NULL)) {
    /* To a moment: Cloud SQL's clone (fleet/dayops_pitr.c). */
    if (string_field(c, body, "point_in_time",
                     "an RFC 3339 time such as 2026-12-07T09:30:00Z", &bid)) {
      json_object_put(body);
      return;
    }
    edv_fleet_act_as(f, c->who);
    result = edv_tenant_restore_to_time(f, id, bid, EDV_FLEET_ASYNC, on_job, c,
                                        &err);
    edv_fleet_act_as(f, NULL);
    json_object_put(body);
    ops_wait(c, result, &err);
    return;
  }
  if (string_field(c, body, "backup_id",
                   "a backup run id: a string of 1..19 digits", &bid)) {
    json_object_put(body);
    return;
  }
  if (!bid) {
    json_object_put(body);
    api_error(c, 400, NULL, "backup_id", "field 'backup_id' is missing");
    return;
  }
  edv_fleet_act_as(f, c->who);
  result = edv_tenant_restore(f, id, bid, ops_key(c), EDV_FLEET_ASYNC, on_job,
                              c, &err);
  edv_fleet_act_as(f, NULL);
  json_object_put(body);
  ops_wait(c, result, &err);
}

void api_tenant_backups(api_ctx *c, const char *id)
{
  edv_error err;

  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  ops_wait(c, edv_tenant_backups(c->d->ef, id, on_answer, c, &err), &err);
}

void api_tenant_metrics(api_ctx *c, const char *id)
{
  static const char *const allowed[] = {"window", NULL};
  edv_error err;

  if (api_query_only(c, allowed))
    return;
  ops_wait(c,
           edv_tenant_metrics(c->d->ef, id, edv__http_query(c->req, "window"),
                              on_answer, c, &err),
           &err);
}

void api_infra_capacity(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  ops_wait(c, edv_fleet_capacity(c->d->ef, on_answer, c, &err), &err);
}
