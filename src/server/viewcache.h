/*
 * viewcache.h - a short-lived cache for viewer routes whose answers cost
 * Google Cloud calls (GET /api/tenants/{id}?observe=true; the fleet keeps
 * the one of .../metrics itself), so a dashboard polling them every second
 * spends a call budget of one answer per key per TTL, not one per request;
 * the tenant runs share that budget.
 */
#ifndef EDV_SERVER_VIEWCACHE_H
#define EDV_SERVER_VIEWCACHE_H

#include <stdint.h>

#include <json-c/json.h>

#include "server/edvd.h"

/* How long an observed answer is served again. */
#define EDVD_VIEW_TTL_MS 5000u

/* The value cached under `key` if younger than its TTL: a new reference
 * (json_object_put it), or NULL. */
json_object *edvd_view_get(edvd *d, const char *key);
/* Caches `v` (a reference is taken) under `key` for ttl_ms. */
void edvd_view_put(edvd *d, const char *key, json_object *v, uint64_t ttl_ms);

#endif /* EDV_SERVER_VIEWCACHE_H */
