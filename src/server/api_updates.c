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

void api_updates_list(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  api_lib_wait(c, edv_fleet_update_list(c->d->ef, api_lib_200, c, &err), &err,
               15000);
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
  result = edv_fleet_update_start(c->d->ef, body, EDV_FLEET_ASYNC, api_lib_201,
                                  c, &err);
  json_object_put(body);
  api_lib_wait(c, result, &err, 15000);
}

void api_update_get(api_ctx *c, const char *id)
{
  edv_error err;

  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  api_lib_wait(c, edv_fleet_update_get(c->d->ef, id, api_lib_200, c, &err),
               &err, 15000);
}

/* POST /api/fleet/updates/{id}:ACTION, the action from the route. */
void api_update_act(api_ctx *c, const char *id)
{
  const char *action = strrchr(c->route, ':');
  edv_error err;

  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  api_lib_wait(c,
               edv_fleet_update_act(c->d->ef, id, action + 1, EDV_FLEET_ASYNC,
                                    api_lib_200, c, &err),
               &err, 15000);
}
