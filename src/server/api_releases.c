/*
 * api_releases.c - GET/POST /api/releases: the releases tenant VMs run
 * (edv/fleet.h, "Releases"; docs/api.md). Reading needs the viewer role,
 * recording one the operator role (the route table in api.c).
 */
#include "edv/fleet.h"
#include "server/api.h"

void api_releases_list(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  api_lib_wait(c, edv_release_list(c->d->ef, api_lib_200, c, &err), &err,
               15000);
}

void api_releases_create(api_ctx *c, const char *id)
{
  json_object *body;
  edv_error err;
  int result;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (!(body = api_body_object(c)))
    return;
  result = edv_release_create(c->d->ef, body, api_lib_201, c, &err);
  json_object_put(body);
  api_lib_wait(c, result, &err, 30000);
}
