/*
 * viewcache.c - see viewcache.h. One JSON object on the edvd: key ->
 * {"exp": loop ms, "v": value}; expired entries are dropped when the cache
 * grows past VIEW_MAX, and it never holds more than that.
 */
#include <stdint.h>

#include "server/viewcache.h"

#define VIEW_MAX 1024

static uint64_t view_now(edvd *d)
{
  return uv_now(d->loop);
}

json_object *edvd_view_get(edvd *d, const char *key)
{
  json_object *e, *exp, *v;

  if (!d->view_cache || !json_object_object_get_ex(d->view_cache, key, &e) ||
      !json_object_object_get_ex(e, "exp", &exp) ||
      !json_object_object_get_ex(e, "v", &v))
    return NULL;
  if ((uint64_t)json_object_get_int64(exp) <= view_now(d)) {
    json_object_object_del(d->view_cache, key);
    return NULL;
  }
  return json_object_get(v);
}

static void view_prune(edvd *d)
{
  json_object *keep = json_object_new_object();
  uint64_t now = view_now(d);

  json_object_object_foreach(d->view_cache, k, e)
  {
    json_object *exp;
    if (json_object_object_get_ex(e, "exp", &exp) &&
        (uint64_t)json_object_get_int64(exp) > now)
      json_object_object_add(keep, k, json_object_get(e));
  }
  json_object_put(d->view_cache);
  d->view_cache = keep;
}

void edvd_view_put(edvd *d, const char *key, json_object *v, uint64_t ttl_ms)
{
  json_object *e;

  if (!d->view_cache)
    d->view_cache = json_object_new_object();
  if (json_object_object_length(d->view_cache) >= VIEW_MAX)
    view_prune(d);
  if (json_object_object_length(d->view_cache) >= VIEW_MAX)
    return; /* every entry young: serve this one uncached */
  e = json_object_new_object();
  json_object_object_add(
      e, "exp", json_object_new_int64((int64_t)(view_now(d) + ttl_ms)));
  json_object_object_add(e, "v", json_object_get(v));
  json_object_object_add(d->view_cache, key, e);
}

void edvd_view_free(edvd *d)
{
  json_object_put(d->view_cache);
  d->view_cache = NULL;
}
