/*
 * viewcache.c - see viewcache.h. The entries live in the fleet's cache of
 * answers that cost Google Cloud calls (edv_fleet_cache_get), the one
 * that also keeps the Monitoring part of tenant metrics; it goes with the
 * fleet.
 */
#include "server/viewcache.h"

json_object *edvd_view_get(edvd *d, const char *key)
{
  return d->ef ? edv_fleet_cache_get(d->ef, key) : NULL;
}

void edvd_view_put(edvd *d, const char *key, json_object *v, uint64_t ttl_ms)
{
  if (d->ef)
    edv_fleet_cache_put(d->ef, key, v, ttl_ms);
}
