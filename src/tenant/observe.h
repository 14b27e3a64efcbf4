/*
 * observe.h - the live state of a tenant's main resources (its VM, Cloud
 * SQL instance and certificate), for `edvctl tenant get` and the
 * Management API's GET /api/tenants/{id}?observe=true.
 *
 * Four GETs at once with one deadline; the answer is a "resources" object
 * shaped for people:
 *
 *   {"vm":          {"name", "state", "private_ip"?},
 *    "database":    {"name", "state", "private_ip"?},
 *    "certificate": {"name", "state", "expires"?},
 *    "app":         {"name" (the VM), "state", "version"?}}
 *
 * "app" is the VM's guest attribute edvirons/app-version (compute
 * instances.getGuestAttributes), the version its startup script reports
 * (state "reported" or "not reported").
 *
 * where state is the resource's own state word (RUNNING, RUNNABLE,
 * ACTIVE...), "not created" when the API says 404 (or the tenant is
 * DELETED), or "unknown: <why>" when the call failed. Nothing secret is in
 * any of these resources.
 */
#ifndef EDV_TENANT_OBSERVE_H
#define EDV_TENANT_OBSERVE_H

#include <stdint.h>

#include <json-c/json.h>

#include "edv/engine.h"
#include "store/store.h"

/* `resources` is a new reference for the callee (json_object_put it). */
typedef void (*edv__observe_cb)(void *data, json_object *resources);

/*
 * Starts the four GETs for `rec` (the VM's zone comes from its step
 * record in `store`). The callback always runs exactly once: later, from
 * the loop, once every call ended (a call the engine cancels at close ends
 * too). Returns 0, or -1 when out of memory (no callback).
 */
int edv__observe(edv_engine *engine, edv_store *store,
                 const edv__tenant_rec *rec, uint64_t timeout_ms,
                 edv__observe_cb cb, void *data);

#endif /* EDV_TENANT_OBSERVE_H */
