/*
 * compute_vm.h - helpers shared by the Compute VM-side collections:
 * compute_vm.c (machineTypes, images, instances), compute_disk.c (disks,
 * snapshots, resourcePolicies) and compute_health.c (instanceGroups,
 * backendServices.getHealth and the instance boot model).
 *
 * Resources of these files may carry a private "_sim" object (boot and
 * membership bookkeeping). It is persisted with the resource but never
 * served: every handler renders through sim_cvm_render().
 */
#ifndef EDV_SIM_COMPUTE_VM_H
#define EDV_SIM_COMPUTE_VM_H

#include "sim/schema.h"
#include "sim/sim.h"

/*
 * Generated into schema_compute_vm.c (Instance, Metadata, Snapshot,
 * ResourcePolicy, InstanceGroup and the request types of the VM-side
 * methods) by tools/gen_schema_hoist.py; the command line is in the
 * "Regenerating" note of docs/simulator.md.
 */
extern const sim_schema_type sim_schema_compute_vm[];

#define SIM_CVM_CP "/compute/v1/projects/{project}"

/* Canonical name (malloc'd) from a format. */
char *sim_cvm_name(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* 404 notFound with Google's text for canonical name. Returns SIM_DONE. */
int sim_cvm_not_found(sim_resp *resp, const char *name);

/* The body's "name": required and a valid Compute name, else 400 filled
 * in and -1. */
int sim_cvm_check_name(sim_resp *resp, json_object *body, const char **out);

/*
 * Checks a request body against discovery schema `type` (unknown fields,
 * wrong JSON types, nested objects included) with the table generated
 * into schema_compute_vm.c. 0, or -1 with Google's 400 filled.
 */
int sim_cvm_schema(sim_resp *resp, const char *type, json_object *body);

/* The region of a zone ("us-central1-a" -> "us-central1") into buf. */
const char *sim_cvm_zone_region(const char *zone, char *buf, size_t n);

/* 1 when the zone (or region) is a seeded one of the simulated project. */
int sim_cvm_zone_exists(sim *s, const char *zone);
int sim_cvm_region_exists(sim *s, const char *region);

/* A fresh opaque fingerprint ("Tm9UaGluZz0=" style) as a json string. */
json_object *sim_cvm_fingerprint(sim *s);

/*
 * A copy of a stored resource fit to serve: "_sim" removed and, for
 * instances, the status derived from the simulated clock. New object.
 */
json_object *sim_cvm_render(sim *s, json_object *obj);

/* Renders every item of a list page in place (see sim_cvm_render). */
void sim_cvm_render_items(sim *s, json_object *page);

/* The private "_sim" object of a stored resource (created if missing). */
json_object *sim_cvm_private(json_object *obj);

/* Length of an array; 0 for NULL or a non-array (json-c asserts). */
static inline size_t sim_cvm_len(json_object *arr)
{
  return json_object_is_type(arr, json_type_array)
             ? json_object_array_length(arr)
             : 0;
}

/* A string field, or NULL. */
const char *sim_cvm_str(json_object *obj, const char *key);

/*
 * Starts a Compute operation on scope ("zones/Z", "regions/R", "global")
 * and answers with it. target is the resource it acts on (for its
 * selfLink and id; may be NULL when target_link is given in full).
 * Takes ownership of payload.
 */
int sim_cvm_op(sim *s, sim_req *req, sim_resp *resp, const char *scope,
               const char *type, const char *target_name, json_object *target,
               sim_op_duration duration, json_object *payload);

/*
 * Compute aggregatedList over every seeded zone ("zones/Z") or region
 * ("regions/R") of the project: items maps the scope to {items_key:[...]}
 * or to a NO_RESULTS_ON_PAGE warning. coll is the collection under the
 * scope ("instances"), kind the item kind.
 */
int sim_cvm_aggregated(sim *s, sim_req *req, sim_resp *resp, int zonal,
                       const char *coll, const char *kind,
                       const char *list_kind);

/* Instance status derived from its stored phase and the clock. */
const char *sim_cvm_instance_status(sim *s, json_object *inst);

/* Fingerprint check of a set* request: 0 when body's field matches the
 * current value (or the body has none... see callers), else 412 filled. */
int sim_cvm_check_fingerprint(sim_resp *resp, const char *want, const char *got,
                              const char *what);

/*
 * The health of the members of instance group g (a stored group) as
 * backends of backend service bs, in the boot model of compute_health.c:
 * a new array of BackendServiceGroupHealth.healthStatus[] entries
 * (instance selfLink, ipAddress, port, healthState). When names is an
 * array, each member's canonical name is appended to it, in the same
 * order. getHealth answers with it; so does the data plane (dataplane.c).
 */
json_object *sim_cvm_group_health(sim *s, json_object *bs, json_object *g,
                                  json_object *names);

/* Route registration of the sibling files (called by the module init). */
/* compute_image.c: the image a canonical name designates
 * ("projects/P/global/images/I" or ".../images/family/F": the family's
 * newest image not DEPRECATED, OBSOLETE or DELETED), borrowed, or NULL. */
json_object *sim_cvm_image_resolve(sim *s, const char *name);
int sim_cvm_image_init(sim *s);
void sim_cvm_image_seed(sim *s);
/* compute_health.c: a number of a resource's private "_sim" object
 * ("startMs", "bootMs": the boot model's), 0 when absent. */
uint64_t sim_cvm_priv_u64(json_object *obj, const char *key);
/* compute_health.c: an instance's metadata value of `key`, or NULL. */
const char *sim_cvm_metadata(json_object *inst, const char *key);
/* compute_guest.c: instances.getGuestAttributes. */
int sim_cvm_guest_init(sim *s);
int sim_cvm_disk_init(sim *s);
int sim_cvm_health_init(sim *s);

#endif /* EDV_SIM_COMPUTE_VM_H */
