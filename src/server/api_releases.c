/*
 * api_releases.c - GET/POST /api/releases: the releases tenant VMs run
 * (edv/fleet.h, "Releases"; docs/api.md). Reading needs the viewer role,
 * recording one the operator role (the route table in api.c).
 */
#include "edv/fleet.h"
#include "server/api.h"

/* An error, naming the field its message names ("field 'image' ..."). */
static void rel_error(api_ctx *c, const edv_error *err)
{
  char fb[72];

  api_error_edv(c, err, api_field_of(err->message, fb, sizeof(fb)));
}

/* An answer of the library sent as it is, with `status` on success. */
static void rel_answer(api_ctx *c, unsigned status, json_object *o,
                       const edv_error *err)
{
  if (!api_resume(c))
    return;
  if (!o)
    rel_error(c, err);
  else
    api_send(c, status, json_object_get(o));
}

static void rel_listed(void *data, json_object *o, const edv_error *err)
{
  rel_answer(data, 200, o, err);
}

static void rel_created(void *data, json_object *o, const edv_error *err)
{
  rel_answer(data, 201, o, err);
}

void api_releases_list(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (edv_release_list(c->d->ef, rel_listed, c, &err)) {
    rel_error(c, &err);
    return;
  }
  api_suspend(c, 15000);
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
  result = edv_release_create(c->d->ef, body, rel_created, c, &err);
  json_object_put(body);
  if (result) {
    rel_error(c, &err);
    return;
  }
  api_suspend(c, 30000);
}
