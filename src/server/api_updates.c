/*
 * api_updates.c - /api/fleet/updates: fleet updates, a release rolled out
 * in waves (edv/fleet.h, "Fleet updates"; docs/api.md). Reading needs the
 * viewer role, starting or acting on one the operator role (the route
 * table in api.c). edvd drives every update itself: the answers come once
 * the update is recorded (or acted on), never at its end.
 */
#include <string.h>

#include "edv/fleet.h"
#include "server/api.h"

/* An error, naming the field its message names ("field 'waves' ..."). */
static void upd_error(api_ctx *c, const edv_error *err)
{
  char fb[72];

  api_error_edv(c, err, api_field_of(err->message, fb, sizeof(fb)));
}

static void upd_answer(api_ctx *c, unsigned status, json_object *o,
                       const edv_error *err)
{
  if (!api_resume(c))
    return;
  if (!o)
    upd_error(c, err);
  else
    api_send(c, status, json_object_get(o));
}

static void upd_ok(void *data, json_object *o, const edv_error *err)
{
  upd_answer(data, 200, o, err);
}

static void upd_created(void *data, json_object *o, const edv_error *err)
{
  upd_answer(data, 201, o, err);
}

/* Calls the library; suspends the request until it answers. */
static void upd_call(api_ctx *c, int result, const edv_error *err)
{
  if (result) {
    upd_error(c, err);
    return;
  }
  api_suspend(c, 15000);
}

void api_updates_list(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  upd_call(c, edv_fleet_update_list(c->d->ef, upd_ok, c, &err), &err);
}

void api_updates_create(api_ctx *c, const char *id)
{
  json_object *body;
  edv_error err;
  int result;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (!(body = api_body_object(c)))
    return;
  result = edv_fleet_update_start(c->d->ef, body, EDV_FLEET_ASYNC, upd_created,
                                  c, &err);
  json_object_put(body);
  upd_call(c, result, &err);
}

void api_update_get(api_ctx *c, const char *id)
{
  edv_error err;

  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  upd_call(c, edv_fleet_update_get(c->d->ef, id, upd_ok, c, &err), &err);
}

/* POST /api/fleet/updates/{id}:ACTION, the action from the route. */
void api_update_act(api_ctx *c, const char *id)
{
  const char *action = strrchr(c->route, ':');
  edv_error err;

  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  upd_call(c,
           edv_fleet_update_act(c->d->ef, id, action + 1, EDV_FLEET_ASYNC,
                                upd_ok, c, &err),
           &err);
}
