/*
 * compute_vm.c - Compute Engine v1, VM side: machineTypes (served from a
 * static table for every seeded zone; images are compute_image.c's) and
 * instances (insert/get/list/
 * aggregatedList/delete/start/stop/reset/setMachineType/setMetadata/
 * setLabels/setServiceAccount/updateShieldedInstanceConfig), plus the helpers
 * compute_vm.h shares with compute_disk.c and compute_health.c.
 *
 * Instance life cycle, derived when read (timers are not persisted):
 * insert stores the instance at once in phase "provisioning" (status
 * PROVISIONING, then STAGING after a short profile delay) and its boot
 * disk; the insert operation's completion moves it to "running" and
 * records the boot start. stop goes "stopping" -> "terminated" at its
 * operation's end; start goes "starting" (STAGING) -> "running". reset
 * keeps RUNNING, counts itself and restarts the boot clock. What the
 * backend-health model needs (boot start, boot delay, resets) lives in the
 * private "_sim" object, never served.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/compute_vm.h"
#include "sim/modules.h"
#include "sim/schema.h"
#include "sim/sim.h"

#define CP SIM_CVM_CP

/* --- shared helpers (compute_vm.h) -------------------------------------- */

char *sim_cvm_name(const char *fmt, ...)
{
  char buf[600];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return strdup(buf);
}

int sim_cvm_not_found(sim_resp *resp, const char *name)
{
  return sim_err_legacy(resp, 404, "notFound",
                        "The resource '%s' was not found", name);
}

int sim_cvm_check_name(sim_resp *resp, json_object *body, const char **out)
{
  json_object *v;
  const char *name;

  if (body == NULL || !json_object_object_get_ex(body, "name", &v))
    return sim_err_legacy(resp, 400, "required",
                          "Required field 'resource.name' not specified"),
           -1;
  name = json_object_get_string(v);
  if (!sim_valid_compute_name(name))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for field 'resource.name': '%s'. "
                          "Must be a match of regex "
                          "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
                          name),
           -1;
  *out = name;
  return 0;
}

int sim_cvm_schema(sim_resp *resp, const char *type, json_object *body)
{
  return sim_schema_check(resp, sim_schema_compute_vm, type, body, "resource");
}

const char *sim_cvm_zone_region(const char *zone, char *buf, size_t n)
{
  const char *dash = strrchr(zone, '-');
  size_t len = dash ? (size_t)(dash - zone) : strlen(zone);

  if (len >= n)
    len = n - 1;
  memcpy(buf, zone, len);
  buf[len] = '\0';
  return buf;
}

int sim_cvm_zone_exists(sim *s, const char *zone)
{
  char name[300];

  snprintf(name, sizeof(name), "projects/%s/zones/%s", sim_project(s), zone);
  return zone && strchr(zone, '/') == NULL && sim_store_get(s, name) != NULL;
}

int sim_cvm_region_exists(sim *s, const char *region)
{
  char name[300];

  snprintf(name, sizeof(name), "projects/%s/regions/%s", sim_project(s),
           region);
  return region && strchr(region, '/') == NULL &&
         sim_store_get(s, name) != NULL;
}

json_object *sim_cvm_fingerprint(sim *s)
{
  char fp[16];

  return json_object_new_string(sim_fingerprint(s, fp));
}

json_object *sim_cvm_private(json_object *obj)
{
  json_object *p;

  if (json_object_object_get_ex(obj, "_sim", &p))
    return p;
  p = json_object_new_object();
  json_object_object_add(obj, "_sim", p);
  return p;
}

const char *sim_cvm_str(json_object *obj, const char *key)
{
  json_object *v;

  if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static uint64_t priv_u64(json_object *obj, const char *key)
{
  json_object *p, *v;

  if (!json_object_object_get_ex(obj, "_sim", &p) ||
      !json_object_object_get_ex(p, key, &v))
    return 0;
  return (uint64_t)json_object_get_int64(v);
}

static const char *priv_str(json_object *obj, const char *key)
{
  json_object *p;

  if (!json_object_object_get_ex(obj, "_sim", &p))
    return NULL;
  return sim_cvm_str(p, key);
}

static void priv_set_u64(json_object *obj, const char *key, uint64_t v)
{
  json_object_object_add(sim_cvm_private(obj), key,
                         json_object_new_int64((int64_t)v));
}

static void priv_set_str(json_object *obj, const char *key, const char *v)
{
  json_object_object_add(sim_cvm_private(obj), key, json_object_new_string(v));
}

/* How long an instance stays PROVISIONING before STAGING (simulated ms). */
static uint64_t stage_delay(sim *s)
{
  static const uint64_t d[] = {5, 500, 15000};

  return d[sim_get_profile(s)];
}

const char *sim_cvm_instance_status(sim *s, json_object *inst)
{
  const char *phase = priv_str(inst, "phase");

  if (phase == NULL)
    return sim_cvm_str(inst, "status") ? sim_cvm_str(inst, "status")
                                       : "RUNNING";
  if (strcmp(phase, "provisioning") == 0)
    return sim_now_ms(s) - priv_u64(inst, "createdMs") < stage_delay(s)
               ? "PROVISIONING"
               : "STAGING";
  if (strcmp(phase, "starting") == 0)
    return "STAGING";
  if (strcmp(phase, "stopping") == 0)
    return "STOPPING";
  if (strcmp(phase, "terminated") == 0)
    return "TERMINATED";
  return "RUNNING";
}

json_object *sim_cvm_render(sim *s, json_object *obj)
{
  json_object *copy = NULL;
  const char *kind = sim_cvm_str(obj, "kind");

  if (json_object_deep_copy(obj, &copy, NULL) != 0 || copy == NULL)
    return json_object_new_object();
  if (kind && strcmp(kind, "compute#instance") == 0)
    json_object_object_add(
        copy, "status",
        json_object_new_string(sim_cvm_instance_status(s, obj)));
  json_object_object_del(copy, "_sim");
  return copy;
}

void sim_cvm_render_items(sim *s, json_object *page)
{
  json_object *items = json_object_object_get(page, "items");

  for (size_t i = 0; i < sim_cvm_len(items); i++)
    json_object_array_put_idx(
        items, i, sim_cvm_render(s, json_object_array_get_idx(items, i)));
}

int sim_cvm_op(sim *s, sim_req *req, sim_resp *resp, const char *scope,
               const char *type, const char *target_name, json_object *target,
               sim_op_duration duration, json_object *payload)
{
  sim_op_spec spec;
  sim_op *op;
  char *link = NULL;

  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_COMPUTE;
  spec.duration = duration;
  spec.scope = scope;
  spec.operation_type = type;
  spec.target_name = target_name;
  spec.target_link = sim_cvm_str(target, "selfLink");
  if (spec.target_link == NULL)
    spec.target_link = link = sim_link(SIM_API_COMPUTE, "%s", target_name);
  spec.target_id = sim_cvm_str(target, "id");
  spec.payload = payload;
  op = sim_op_start(s, req, &spec);
  free(link);
  return op ? sim_op_respond(s, resp, op) : sim_resp_json(resp, 503, NULL);
}

static void agg_scope(json_object *items, const char *scope, const char *key,
                      json_object *arr)
{
  json_object *o = json_object_new_object();

  if (sim_cvm_len(arr) > 0) {
    json_object_object_add(o, key, arr);
  } else {
    json_object *w = json_object_new_object(), *data = json_object_new_array(),
                *kv = json_object_new_object();
    char msg[200];

    json_object_put(arr);
    snprintf(msg, sizeof(msg),
             "There are no results for scope '%s' on this page.", scope);
    json_object_object_add(w, "code",
                           json_object_new_string("NO_RESULTS_ON_PAGE"));
    json_object_object_add(w, "message", json_object_new_string(msg));
    json_object_object_add(kv, "key", json_object_new_string("scope"));
    json_object_object_add(kv, "value", json_object_new_string(scope));
    json_object_array_add(data, kv);
    json_object_object_add(w, "data", data);
    json_object_object_add(o, "warning", w);
  }
  json_object_object_add(items, scope, o);
}

struct agg_ctx {
  sim *s;
  const char *kind, *filter;
  json_object *arr;
  json_object *scopes; /* names of zones/regions */
};

static int agg_scope_cb(void *data, const char *name, const char *kind,
                        json_object *obj)
{
  struct agg_ctx *c = data;

  (void)name;
  if (strcmp(kind, c->kind) == 0)
    json_object_array_add(c->scopes,
                          json_object_new_string(sim_cvm_str(obj, "name")));
  return 0;
}

static int agg_item_cb(void *data, const char *name, const char *kind,
                       json_object *obj)
{
  struct agg_ctx *c = data;

  (void)name;
  if (strcmp(kind, c->kind) == 0 && sim_filter_match(obj, c->filter))
    json_object_array_add(c->arr, sim_cvm_render(c->s, obj));
  return 0;
}

/* The aggregatedList key of a collection: "instances" stays, but Google
 * names resourcePolicies and instanceGroups the same as the path. */
int sim_cvm_aggregated(sim *s, sim_req *req, sim_resp *resp, int zonal,
                       const char *coll, const char *kind,
                       const char *list_kind)
{
  struct agg_ctx c;
  char prefix[300];
  json_object *out, *items;
  char id[24];

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  memset(&c, 0, sizeof(c));
  c.s = s;
  c.filter = sim_query(req, "filter");
  c.scopes = json_object_new_array();
  c.kind = zonal ? "compute#zone" : "compute#region";
  snprintf(prefix, sizeof(prefix), "projects/%s/%s/", sim_project(s),
           zonal ? "zones" : "regions");
  sim_store_each(s, prefix, agg_scope_cb, &c);
  items = json_object_new_object();
  c.kind = kind;
  for (size_t i = 0; i < sim_cvm_len(c.scopes); i++) {
    const char *sc =
        json_object_get_string(json_object_array_get_idx(c.scopes, i));
    char scope[200];

    snprintf(scope, sizeof(scope), "%s/%s", zonal ? "zones" : "regions", sc);
    snprintf(prefix, sizeof(prefix), "projects/%s/%s/%s/", sim_project(s),
             scope, coll);
    c.arr = json_object_new_array();
    sim_store_each(s, prefix, agg_item_cb, &c);
    agg_scope(items, scope, coll, c.arr);
  }
  json_object_put(c.scopes);
  out = json_object_new_object();
  json_object_object_add(out, "kind", json_object_new_string(list_kind));
  json_object_object_add(out, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(out, "items", items);
  json_object_object_add(out, "selfLink",
                         sim_link_json(SIM_API_COMPUTE,
                                       "projects/%s/aggregated/%s",
                                       sim_project(s), coll));
  return sim_resp_json(resp, 200, out);
}

int sim_cvm_check_fingerprint(sim_resp *resp, const char *want, const char *got,
                              const char *what)
{
  if (want && got && sim_same_bytes(want, got))
    return 0;
  sim_err_legacy(resp, 412, "conditionNotMet", "%s", what);
  return -1;
}

/* --- machine types ------------------------------------------------------ */

/* The families the tiers use; guestCpus counts against the CPUS quota. */
static const struct {
  const char *name, *description;
  int cpus, memory_mb, shared;
} machine_types[] = {
    {"e2-micro",
     "Efficient Instance, 2 vCPU (1/4 shared physical core) and "
     "1 GB RAM",
     2, 1024, 1},
    {"e2-small",
     "Efficient Instance, 2 vCPU (1/2 shared physical core) and "
     "2 GB RAM",
     2, 2048, 1},
    {"e2-medium",
     "Efficient Instance, 2 vCPU (1 shared physical core) and 4 "
     "GB RAM",
     2, 4096, 1},
    {"e2-standard-2", "Efficient Instance, 2 vCPUs, 8 GB RAM", 2, 8192, 0},
    {"e2-standard-4", "Efficient Instance, 4 vCPUs, 16 GB RAM", 4, 16384, 0},
    {"e2-standard-8", "Efficient Instance, 8 vCPUs, 32 GB RAM", 8, 32768, 0},
    {"e2-standard-16", "Efficient Instance, 16 vCPUs, 64 GB RAM", 16, 65536, 0},
    {"n2-standard-2", "2 vCPUs 8 GB RAM", 2, 8192, 0},
    {"n2-standard-4", "4 vCPUs 16 GB RAM", 4, 16384, 0},
};
#define N_MACHINE_TYPES (sizeof(machine_types) / sizeof(*machine_types))

static int machine_type_index(const char *name)
{
  for (size_t i = 0; name && i < N_MACHINE_TYPES; i++)
    if (strcmp(machine_types[i].name, name) == 0)
      return (int)i;
  return -1;
}

/* Stable ids: the same type in the same zone always has the same id. */
static json_object *machine_type_json(sim *s, size_t i, const char *zone)
{
  json_object *o = json_object_new_object();
  char id[24];
  uint64_t h = 1469598103934665603ull;

  for (const char *p = zone; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  snprintf(id, sizeof(id), "%llu",
           (unsigned long long)(1000000000000000000ull +
                                (h + i * 7919) % 8000000000000000000ull));
  json_object_object_add(o, "kind",
                         json_object_new_string("compute#machineType"));
  json_object_object_add(o, "id", json_object_new_string(id));
  json_object_object_add(
      o, "creationTimestamp",
      json_object_new_string("1969-12-31T16:00:00.000-08:00"));
  json_object_object_add(o, "name",
                         json_object_new_string(machine_types[i].name));
  json_object_object_add(o, "description",
                         json_object_new_string(machine_types[i].description));
  json_object_object_add(o, "guestCpus",
                         json_object_new_int(machine_types[i].cpus));
  json_object_object_add(o, "memoryMb",
                         json_object_new_int(machine_types[i].memory_mb));
  json_object_object_add(o, "imageSpaceGb", json_object_new_int(0));
  json_object_object_add(o, "maximumPersistentDisks", json_object_new_int(128));
  json_object_object_add(o, "maximumPersistentDisksSizeGb",
                         json_object_new_string("263168"));
  json_object_object_add(o, "zone", json_object_new_string(zone));
  json_object_object_add(o, "isSharedCpu",
                         json_object_new_boolean(machine_types[i].shared));
  json_object_object_add(o, "architecture", json_object_new_string("X86_64"));
  json_object_object_add(
      o, "selfLink",
      sim_link_json(SIM_API_COMPUTE, "projects/%s/zones/%s/machineTypes/%s",
                    sim_project(s), zone, machine_types[i].name));
  return o;
}

static int zone_not_found(sim *s, sim_resp *resp, const char *zone)
{
  char name[300];

  snprintf(name, sizeof(name), "projects/%s/zones/%s", sim_project(s), zone);
  return sim_cvm_not_found(resp, name);
}

static int machine_types_get(sim *s, sim_req *req, sim_resp *resp)
{
  const char *zone = sim_param(req, "zone");
  const char *mt = sim_param(req, "machineType");
  int i;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (!sim_cvm_zone_exists(s, zone))
    return zone_not_found(s, resp, zone);
  i = machine_type_index(mt);
  if (i < 0) {
    char name[400];

    snprintf(name, sizeof(name), "projects/%s/zones/%s/machineTypes/%s",
             sim_project(s), zone, mt);
    return sim_cvm_not_found(resp, name);
  }
  return sim_resp_json(resp, 200, machine_type_json(s, (size_t)i, zone));
}

static json_object *machine_types_in(sim *s, const char *zone,
                                     const char *filter)
{
  json_object *arr = json_object_new_array();

  for (size_t i = 0; i < N_MACHINE_TYPES; i++) {
    json_object *o = machine_type_json(s, i, zone);

    if (sim_filter_match(o, filter))
      json_object_array_add(arr, o);
    else
      json_object_put(o);
  }
  return arr;
}

static int machine_types_list(sim *s, sim_req *req, sim_resp *resp)
{
  const char *zone = sim_param(req, "zone");
  json_object *out;
  char id[24];

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (!sim_cvm_zone_exists(s, zone))
    return zone_not_found(s, resp, zone);
  out = json_object_new_object();
  json_object_object_add(out, "kind",
                         json_object_new_string("compute#machineTypeList"));
  json_object_object_add(out, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(out, "items",
                         machine_types_in(s, zone, sim_query(req, "filter")));
  json_object_object_add(out, "selfLink",
                         sim_link_json(SIM_API_COMPUTE,
                                       "projects/%s/zones/%s/machineTypes",
                                       sim_project(s), zone));
  return sim_resp_json(resp, 200, out);
}

static int zone_names_cb(void *data, const char *name, const char *kind,
                         json_object *obj)
{
  (void)name;
  if (strcmp(kind, "compute#zone") == 0)
    json_object_array_add(data,
                          json_object_new_string(sim_cvm_str(obj, "name")));
  return 0;
}

static int machine_types_aggregated(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *zones = json_object_new_array(), *items, *out;
  char prefix[300], id[24];

  if (sim_check_project(s, req, resp) < 0) {
    json_object_put(zones);
    return SIM_DONE;
  }
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(s));
  sim_store_each(s, prefix, zone_names_cb, zones);
  items = json_object_new_object();
  for (size_t i = 0; i < sim_cvm_len(zones); i++) {
    const char *z = json_object_get_string(json_object_array_get_idx(zones, i));
    char scope[200];

    snprintf(scope, sizeof(scope), "zones/%s", z);
    agg_scope(items, scope, "machineTypes",
              machine_types_in(s, z, sim_query(req, "filter")));
  }
  json_object_put(zones);
  out = json_object_new_object();
  json_object_object_add(
      out, "kind", json_object_new_string("compute#machineTypeAggregatedList"));
  json_object_object_add(out, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(out, "items", items);
  json_object_object_add(out, "selfLink",
                         sim_link_json(SIM_API_COMPUTE,
                                       "projects/%s/aggregated/machineTypes",
                                       sim_project(s)));
  return sim_resp_json(resp, 200, out);
}

/* --- instances: validation ---------------------------------------------- */

/* An OBSOLETE or DELETED image makes no new disk (a DEPRECATED one still
 * does): 1 with 400 filled, else 0. */
static int image_unusable(sim_resp *resp, json_object *img, size_t i)
{
  const char *st =
      sim_cvm_str(json_object_object_get(img, "deprecated"), "state");

  if (!st || (strcmp(st, "OBSOLETE") != 0 && strcmp(st, "DELETED") != 0))
    return 0;
  sim_err_legacy(resp, 400, "invalid",
                 "Invalid value for field "
                 "'resource.disks[%zu].initializeParams.sourceImage': '%s'. "
                 "The image is %s.",
                 i, sim_cvm_str(img, "name"), st);
  return 1;
}

/* The machine type a reference names in zone, or -1 with 400 filled. */
static int resolve_machine_type(sim *s, sim_resp *resp, const char *zone,
                                const char *ref, const char *field)
{
  char *name = ref ? sim_ref_name(s, ref) : NULL;
  char want[300];
  const char *t = name ? strrchr(name, '/') : NULL;
  int i = -1;

  snprintf(want, sizeof(want), "projects/%s/zones/%s/machineTypes/",
           sim_project(s), zone);
  if (name && t && strncmp(name, want, strlen(want)) == 0 &&
      strchr(name + strlen(want), '/') == NULL)
    i = machine_type_index(t + 1);
  if (ref == NULL)
    sim_err_legacy(resp, 400, "required", "Required field '%s' not specified",
                   field);
  else if (i < 0)
    sim_err_legacy(resp, 400, "invalid",
                   "Invalid value for field '%s': '%s'. Machine type with "
                   "name '%s' does not exist in zone '%s'.",
                   field, ref, t ? t + 1 : ref, zone);
  free(name);
  return i;
}

/* Label rules (docs/google-cloud.md section 4): <= 64 labels, keys
 * [a-z][a-z0-9_-]{0,62}, values [a-z0-9_-]{0,63}. */
static int check_labels(sim_resp *resp, json_object *labels, const char *field)
{
  int n = 0;

  if (labels == NULL)
    return 0;
  if (!json_object_is_type(labels, json_type_object))
    return sim_err_legacy(resp, 400, "invalid", "Invalid value for field '%s'.",
                          field),
           -1;
  json_object_object_foreach(labels, key, val)
  {
    const char *v = json_object_get_string(val);
    size_t kl = strlen(key), vl = strlen(v);
    int ok = kl >= 1 && kl <= 63 && key[0] >= 'a' && key[0] <= 'z' &&
             vl <= 63 && json_object_is_type(val, json_type_string);

    for (size_t i = 0; ok && i < kl; i++)
      ok = (key[i] >= 'a' && key[i] <= 'z') ||
           (key[i] >= '0' && key[i] <= '9') || key[i] == '_' || key[i] == '-';
    for (size_t i = 0; ok && i < vl; i++)
      ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
           v[i] == '_' || v[i] == '-';
    if (!ok)
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid value for field '%s': ''. Label '%s' "
                            "violates format constraints. Keys must start "
                            "with a lowercase character and contain only "
                            "hyphens (-), underscores (_), lowercase "
                            "characters, and numbers; values may contain "
                            "only hyphens (-), underscores (_), lowercase "
                            "characters, and numbers.",
                            field, key),
             -1;
    n++;
  }
  if (n > 64)
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for field '%s': ''. Resource "
                          "cannot have more than 64 labels.",
                          field),
           -1;
  return 0;
}

/* Metadata items: [{key, value}] with keys unique. */
static int check_metadata(sim_resp *resp, json_object *md, const char *field)
{
  json_object *items;
  size_t n;

  if (md == NULL)
    return 0;
  items = json_object_object_get(md, "items");
  n = sim_cvm_len(items);
  for (size_t i = 0; i < n; i++) {
    const char *k = sim_cvm_str(json_object_array_get_idx(items, i), "key");

    if (k == NULL || k[0] == '\0')
      return sim_err_legacy(resp, 400, "required",
                            "Required field '%s.items[%zu].key' not "
                            "specified",
                            field, i),
             -1;
    for (size_t j = 0; j < i; j++)
      if (strcmp(k, sim_cvm_str(json_object_array_get_idx(items, j), "key")) ==
          0)
        return sim_err_legacy(resp, 400, "invalid",
                              "Invalid value for field '%s.items[%zu].key': "
                              "'%s'. Duplicate keys are not allowed.",
                              field, i, k),
               -1;
  }
  return 0;
}

/* Disk quota metric: pd-ssd and pd-balanced count as SSD. */
static const char *disk_quota_metric(const char *type)
{
  return type && strcmp(type, "pd-standard") == 0 ? "DISKS_TOTAL_GB"
                                                  : "SSD_TOTAL_GB";
}

/* --- instances: networking ---------------------------------------------- */

static int parse_ipv4(const char *s, uint32_t *out)
{
  unsigned a, b, c, d;
  char tail;

  if (s == NULL || sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 ||
      a > 255 || b > 255 || c > 255 || d > 255)
    return -1;
  *out = (a << 24) | (b << 16) | (c << 8) | d;
  return 0;
}

struct ip_ctx {
  const char *subnet; /* canonical */
  sim *s;
  uint32_t used[256];
  size_t n;
};

static int ip_used_cb(void *data, const char *name, const char *kind,
                      json_object *obj)
{
  struct ip_ctx *c = data;
  json_object *nics = json_object_object_get(obj, "networkInterfaces");

  (void)name;
  if (strcmp(kind, "compute#instance") != 0)
    return 0;
  for (size_t i = 0; i < sim_cvm_len(nics); i++) {
    json_object *nic = json_object_array_get_idx(nics, i);
    char *sn = sim_ref_name(c->s, sim_cvm_str(nic, "subnetwork"));
    uint32_t ip;

    if (sn && strcmp(sn, c->subnet) == 0 && c->n < 256 &&
        parse_ipv4(sim_cvm_str(nic, "networkIP"), &ip) == 0)
      c->used[c->n++] = ip;
    free(sn);
  }
  return 0;
}

/* Instances by the subnetworks of their interfaces (canonical names), so
 * that an address is allocated against the instances of its subnetwork
 * rather than every zonal resource of the project. */
static void inst_subnet_keys(sim *s, json_object *inst,
                             void (*emit)(void *ctx, const char *key),
                             void *ctx)
{
  json_object *nics = json_object_object_get(inst, "networkInterfaces");

  for (size_t i = 0; i < sim_cvm_len(nics); i++) {
    char *sn = sim_ref_name(
        s, sim_cvm_str(json_object_array_get_idx(nics, i), "subnetwork"));

    if (sn)
      emit(ctx, sn);
    free(sn);
  }
}

/* ip_used_cb over the instances of c->subnet under prefix, in name order
 * (as a walk of the store meets them: the first 256 count). */
static void ips_used(sim *s, const char *prefix, struct ip_ctx *c)
{
  size_t n;
  const char **v =
      sim_store_lookup_sorted(s, "compute#instance", c->subnet, prefix, &n);

  for (size_t i = 0; v && i < n; i++)
    ip_used_cb(c, v[i], "compute#instance", sim_store_get(s, v[i]));
  free(v);
}

/* The lowest free address of the subnet (Google keeps .0, .1 and the last
 * two), or 0 when it is full. */
static uint32_t allocate_ip(sim *s, const char *subnet_name, json_object *sn)
{
  const char *cidr = sim_cvm_str(sn, "ipCidrRange");
  char net[32];
  const char *slash = cidr ? strchr(cidr, '/') : NULL;
  uint32_t base, size;
  int bits;
  struct ip_ctx c;
  char prefix[300];

  if (slash == NULL || (size_t)(slash - cidr) >= sizeof(net))
    return 0;
  memcpy(net, cidr, (size_t)(slash - cidr));
  net[slash - cidr] = '\0';
  bits = atoi(slash + 1);
  if (parse_ipv4(net, &base) < 0 || bits < 8 || bits > 29)
    return 0;
  size = 1u << (32 - bits);
  memset(&c, 0, sizeof(c));
  c.subnet = subnet_name;
  c.s = s;
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(s));
  ips_used(s, prefix, &c);
  for (uint32_t ip = base + 2; ip < base + size - 2; ip++) {
    size_t i;

    for (i = 0; i < c.n && c.used[i] != ip; i++)
      ;
    if (i == c.n)
      return ip;
  }
  return 0;
}

static json_object *ip_json(uint32_t ip)
{
  char buf[20];

  snprintf(buf, sizeof(buf), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
           (ip >> 8) & 255, ip & 255);
  return json_object_new_string(buf);
}

/*
 * Checks networkInterfaces[] and fills in what Google adds (network from
 * the subnetwork, networkIP, name, the NAT IP of an access config).
 * Records in *external the number of external IPs. 0 or -1 (filled).
 */
static int build_nics(sim *s, sim_resp *resp, const char *region,
                      json_object *nics, int *external)
{
  size_t n = sim_cvm_len(nics);

  *external = 0;
  if (nics == NULL || !json_object_is_type(nics, json_type_array) || n == 0)
    return sim_err_legacy(resp, 400, "required",
                          "Required field 'resource.networkInterfaces' not "
                          "specified"),
           -1;
  for (size_t i = 0; i < n; i++) {
    json_object *nic = json_object_array_get_idx(nics, i), *sn = NULL, *acs;
    const char *sref = sim_cvm_str(nic, "subnetwork");
    const char *nref = sim_cvm_str(nic, "network");
    char *sname = sref ? sim_ref_name(s, sref) : NULL;
    char *nname = NULL, buf[32];
    uint32_t ip;

    if (sname) {
      char want[200];

      sn = sim_store_get(s, sname);
      snprintf(want, sizeof(want), "projects/%s/regions/%s/subnetworks/",
               sim_project(s), region);
      if (sn == NULL && strncmp(sname, want, strlen(want)) != 0 &&
          strstr(sname, "/regions/") != NULL) {
        free(sname);
        return sim_err_legacy(resp, 400, "invalid",
                              "Invalid value for field "
                              "'resource.networkInterfaces[%zu].subnetwork': "
                              "'%s'. Subnetwork should belong to the same "
                              "region as the instance.",
                              i, sref),
               -1;
      }
      if (sn == NULL) {
        free(sname);
        return sim_err_legacy(resp, 400, "invalid",
                              "Invalid value for field "
                              "'resource.networkInterfaces[%zu].subnetwork': "
                              "'%s'. The referenced subnetwork resource "
                              "cannot be found.",
                              i, sref),
               -1;
      }
      if (strncmp(sname, want, strlen(want)) != 0) {
        free(sname);
        return sim_err_legacy(resp, 400, "invalid",
                              "Invalid value for field "
                              "'resource.networkInterfaces[%zu].subnetwork': "
                              "'%s'. Subnetwork should belong to the same "
                              "region as the instance.",
                              i, sref),
               -1;
      }
      nref = sim_cvm_str(sn, "network");
    }
    nname = nref ? sim_ref_name(s, nref) : NULL;
    if (nname == NULL || sim_store_get(s, nname) == NULL) {
      int result = nname ? sim_err_legacy(resp, 400, "invalid",
                                          "Invalid value for field "
                                          "'resource.networkInterfaces[%zu]"
                                          ".network': '%s'. The referenced "
                                          "network resource cannot be found.",
                                          i, nref)
                         : sim_err_legacy(resp, 400, "required",
                                          "Required field 'resource."
                                          "networkInterfaces[%zu].network' "
                                          "not specified",
                                          i);

      (void)result;
      free(sname);
      free(nname);
      return -1;
    }
    json_object_object_add(nic, "kind",
                           json_object_new_string("compute#networkInterface"));
    json_object_object_add(nic, "network",
                           sim_link_json(SIM_API_COMPUTE, "%s", nname));
    if (sname)
      json_object_object_add(nic, "subnetwork",
                             sim_link_json(SIM_API_COMPUTE, "%s", sname));
    snprintf(buf, sizeof(buf), "nic%zu", i);
    json_object_object_add(nic, "name", json_object_new_string(buf));
    if (!json_object_object_get_ex(nic, "networkIP", NULL)) {
      ip = sn ? allocate_ip(s, sname, sn) : 0;
      if (sn && ip == 0) {
        sim_err_legacy(resp, 400, "ipSpaceExhausted",
                       "IP space of '%s' is exhausted.", sname);
        free(sname);
        free(nname);
        return -1;
      }
      json_object_object_add(nic, "networkIP",
                             ip ? ip_json(ip)
                                : json_object_new_string("10.128.0.2"));
    }
    json_object_object_add(nic, "stackType",
                           json_object_new_string("IPV4_ONLY"));
    json_object_object_add(nic, "fingerprint",
                           json_object_new_string("Qk9PVA=="));
    /* No accessConfigs: no external IP, which is what the tenant VM wants
     * (egress goes through Cloud NAT). Each config gets an ephemeral IP. */
    acs = json_object_object_get(nic, "accessConfigs");
    for (size_t j = 0; j < sim_cvm_len(acs); j++) {
      json_object *ac = json_object_array_get_idx(acs, j);

      json_object_object_add(ac, "kind",
                             json_object_new_string("compute#accessConfig"));
      if (!json_object_object_get_ex(ac, "type", NULL))
        json_object_object_add(ac, "type",
                               json_object_new_string("ONE_TO_ONE_NAT"));
      if (!json_object_object_get_ex(ac, "name", NULL))
        json_object_object_add(ac, "name",
                               json_object_new_string("External NAT"));
      if (!json_object_object_get_ex(ac, "natIP", NULL))
        json_object_object_add(
            ac, "natIP",
            ip_json((34u << 24) | (uint32_t)sim_rand_range(s, 1, 0xfffffe)));
      json_object_object_add(ac, "networkTier",
                             json_object_new_string("PREMIUM"));
      (*external)++;
    }
    free(sname);
    free(nname);
  }
  return 0;
}

/* --- instances: disks --------------------------------------------------- */

struct new_disk {
  char *name; /* canonical */
  json_object *disk;
  double gb;
  const char *metric;
};

/*
 * Checks disks[] and builds the disks the instance creates (boot disk from
 * initializeParams). Existing disks (source) must be in the zone and free.
 * Fills out[] (at most 16) and *nout. 0 or -1 (filled).
 */
static int build_disks(sim *s, sim_resp *resp, const char *zone,
                       const char *iname, json_object *inst,
                       struct new_disk *out, size_t *nout)
{
  json_object *disks = json_object_object_get(inst, "disks");
  size_t n = sim_cvm_len(disks);
  char ts[32], id[24];

  *nout = 0;
  if (n == 0 || n > 16)
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for field 'resource.disks': ''. "
                          "Boot disk must be specified."),
           -1;
  for (size_t i = 0; i < n; i++) {
    json_object *ad = json_object_array_get_idx(disks, i);
    json_object *ip = json_object_object_get(ad, "initializeParams");
    int boot = i == 0;
    const char *dname;
    char *full, *img_name, buf[100];
    json_object *img, *d, *users, *rps;
    const char *type = "pd-standard", *tref;
    long long size_gb;

    json_object_object_add(ad, "boot", json_object_new_boolean(boot));
    json_object_object_add(ad, "index", json_object_new_int((int)i));
    json_object_object_add(ad, "kind",
                           json_object_new_string("compute#attachedDisk"));
    json_object_object_add(ad, "type", json_object_new_string("PERSISTENT"));
    if (!json_object_object_get_ex(ad, "mode", NULL))
      json_object_object_add(ad, "mode", json_object_new_string("READ_WRITE"));
    if (!json_object_object_get_ex(ad, "interface", NULL))
      json_object_object_add(ad, "interface", json_object_new_string("SCSI"));
    if (ip == NULL) {
      /* An existing disk. */
      char want[300];
      json_object *ex;

      full = sim_cvm_str(ad, "source")
                 ? sim_ref_name(s, sim_cvm_str(ad, "source"))
                 : NULL;
      snprintf(want, sizeof(want), "projects/%s/zones/%s/disks/",
               sim_project(s), zone);
      ex = full ? sim_store_get(s, full) : NULL;
      if (ex == NULL || strncmp(full, want, strlen(want)) != 0) {
        sim_err_legacy(
            resp, 400, "invalid",
            "Invalid value for field 'resource.disks[%zu].source':"
            " '%s'. The referenced disk resource cannot be found.",
            i, sim_cvm_str(ad, "source") ? sim_cvm_str(ad, "source") : "");
        free(full);
        return -1;
      }
      users = json_object_object_get(ex, "users");
      if (sim_cvm_len(users) > 0) {
        char *u = sim_ref_name(
            s, json_object_get_string(json_object_array_get_idx(users, 0)));

        sim_err_legacy(resp, 400, "resourceInUseByAnotherResource",
                       "The disk resource '%s' is already being used by "
                       "'%s'",
                       full, u ? u : "");
        free(u);
        free(full);
        return -1;
      }
      json_object_object_add(ad, "source",
                             sim_link_json(SIM_API_COMPUTE, "%s", full));
      if (!json_object_object_get_ex(ad, "deviceName", NULL))
        json_object_object_add(ad, "deviceName",
                               json_object_new_string(sim_cvm_str(ex, "name")));
      json_object_object_add(
          ad, "diskSizeGb",
          json_object_get(json_object_object_get(ex, "sizeGb")));
      if (!json_object_object_get_ex(ad, "autoDelete", NULL))
        json_object_object_add(ad, "autoDelete", json_object_new_boolean(0));
      free(full);
      continue;
    }
    dname = sim_cvm_str(ip, "diskName");
    if (dname == NULL && boot)
      dname = iname;
    if (dname == NULL) {
      snprintf(buf, sizeof(buf), "%s-%zu", iname, i);
      dname = buf;
    }
    if (!sim_valid_compute_name(dname))
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid value for field "
                            "'resource.disks[%zu].initializeParams.diskName':"
                            " '%s'. Must be a match of regex "
                            "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
                            i, dname),
             -1;
    full = sim_cvm_name("projects/%s/zones/%s/disks/%s", sim_project(s), zone,
                        dname);
    for (size_t j = 0; j < *nout; j++)
      if (strcmp(out[j].name, full) == 0) {
        free(full);
        return sim_err_legacy(resp, 400, "invalid",
                              "Invalid value for field 'resource.disks': ''."
                              " Disk names must be unique."),
               -1;
      }
    if (sim_store_get(s, full) || sim_op_pending(s, full)) {
      sim_err_legacy(resp, 409, "alreadyExists",
                     "The resource '%s' already exists", full);
      free(full);
      return -1;
    }
    /* The image: required for a boot disk. */
    img = NULL;
    if (sim_cvm_str(ip, "sourceImage")) {
      img_name = sim_ref_name(s, sim_cvm_str(ip, "sourceImage"));
      img = img_name ? sim_cvm_image_resolve(s, img_name) : NULL;
      if (img == NULL || image_unusable(resp, img, i)) {
        if (img == NULL)
          sim_cvm_not_found(resp, img_name ? img_name : "");
        free(img_name);
        free(full);
        return -1;
      }
      free(img_name);
    } else if (boot && !sim_cvm_str(ip, "sourceSnapshot")) {
      free(full);
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid value for field "
                            "'resource.disks[0].initializeParams': ''. A "
                            "source image or snapshot is required for the "
                            "boot disk."),
             -1;
    }
    size_gb = img ? atoll(sim_cvm_str(img, "diskSizeGb")) : 10;
    if (json_object_object_get_ex(ip, "diskSizeGb", NULL)) {
      long long want =
          json_object_get_int64(json_object_object_get(ip, "diskSizeGb"));

      if (img && want < size_gb) {
        sim_err_legacy(resp, 400, "invalid",
                       "Invalid value for field "
                       "'resource.disks[%zu].initializeParams.diskSizeGb': "
                       "'%lld'. Requested disk size cannot be smaller than "
                       "the image size (%lld GB).",
                       i, want, size_gb);
        free(full);
        return -1;
      }
      if (want < 10 || want > 65536) {
        sim_err_legacy(resp, 400, "invalid",
                       "Invalid value for field "
                       "'resource.disks[%zu].initializeParams.diskSizeGb': "
                       "'%lld'. Disk size must be between 10 GB and 65536 "
                       "GB.",
                       i, want);
        free(full);
        return -1;
      }
      size_gb = want;
    }
    tref = sim_cvm_str(ip, "diskType");
    if (tref) {
      const char *t = strrchr(tref, '/') ? strrchr(tref, '/') + 1 : tref;
      char *tn = sim_ref_name(s, tref);
      char want[300];
      int ok;

      snprintf(want, sizeof(want), "projects/%s/zones/%s/diskTypes/%s",
               sim_project(s), zone, t);
      ok = (strcmp(t, "pd-ssd") == 0 || strcmp(t, "pd-balanced") == 0 ||
            strcmp(t, "pd-standard") == 0) &&
           (strchr(tref, '/') == NULL || (tn && strcmp(tn, want) == 0));
      free(tn);
      if (!ok) {
        sim_err_legacy(resp, 400, "invalid",
                       "Invalid value for field "
                       "'resource.disks[%zu].initializeParams.diskType': "
                       "'%s'. The referenced diskType resource cannot be "
                       "found.",
                       i, tref);
        free(full);
        return -1;
      }
      type = t;
    }
    if (check_labels(resp, json_object_object_get(ip, "labels"),
                     "resource.disks.initializeParams.labels") < 0) {
      free(full);
      return -1;
    }
    /* The disk as it will exist. */
    d = json_object_new_object();
    json_object_object_add(d, "kind", json_object_new_string("compute#disk"));
    json_object_object_add(d, "id", json_object_new_string(sim_new_id(s, id)));
    json_object_object_add(d, "creationTimestamp",
                           json_object_new_string(sim_now_str(s, ts)));
    json_object_object_add(d, "name", json_object_new_string(dname));
    json_object_object_add(
        d, "sizeGb",
        json_object_new_string(
            (snprintf(buf, sizeof(buf), "%lld", size_gb), buf)));
    json_object_object_add(d, "zone",
                           sim_link_json(SIM_API_COMPUTE,
                                         "projects/%s/zones/%s", sim_project(s),
                                         zone));
    json_object_object_add(d, "status", json_object_new_string("CREATING"));
    json_object_object_add(d, "type",
                           sim_link_json(SIM_API_COMPUTE,
                                         "projects/%s/zones/%s/diskTypes/%s",
                                         sim_project(s), zone, type));
    if (img) {
      json_object_object_add(
          d, "sourceImage",
          json_object_get(json_object_object_get(img, "selfLink")));
      json_object_object_add(
          d, "sourceImageId",
          json_object_get(json_object_object_get(img, "id")));
      json_object_object_add(
          d, "licenses",
          json_object_get(json_object_object_get(img, "licenses")));
    }
    json_object_object_add(d, "physicalBlockSizeBytes",
                           json_object_new_string("4096"));
    json_object_object_add(d, "architecture", json_object_new_string("X86_64"));
    /* Labels: the disk's own, else the instance's (the tenant's marker
     * must reach the disk for billing by label). */
    if (json_object_object_get_ex(ip, "labels", NULL))
      json_object_object_add(
          d, "labels", json_object_get(json_object_object_get(ip, "labels")));
    else if (json_object_object_get_ex(inst, "labels", NULL))
      json_object_object_add(
          d, "labels", json_object_get(json_object_object_get(inst, "labels")));
    json_object_object_add(d, "labelFingerprint", sim_cvm_fingerprint(s));
    rps = json_object_new_array();
    for (size_t j = 0;
         j < sim_cvm_len(json_object_object_get(ip, "resourcePolicies")); j++) {
      const char *r = json_object_get_string(json_object_array_get_idx(
          json_object_object_get(ip, "resourcePolicies"), j));
      char *rn = sim_ref_name(s, r);

      if (rn == NULL || sim_store_get(s, rn) == NULL) {
        sim_cvm_not_found(resp, rn ? rn : "");
        free(rn);
        free(full);
        json_object_put(rps);
        json_object_put(d);
        return -1;
      }
      json_object_array_add(rps, sim_link_json(SIM_API_COMPUTE, "%s", rn));
      free(rn);
    }
    if (sim_cvm_len(rps))
      json_object_object_add(d, "resourcePolicies", rps);
    else
      json_object_put(rps);
    users = json_object_new_array();
    json_object_array_add(
        users, json_object_get(json_object_object_get(inst, "selfLink")));
    json_object_object_add(d, "users", users);
    json_object_object_add(d, "selfLink",
                           sim_link_json(SIM_API_COMPUTE, "%s", full));
    json_object_object_add(ad, "source",
                           sim_link_json(SIM_API_COMPUTE, "%s", full));
    if (!json_object_object_get_ex(ad, "deviceName", NULL))
      json_object_object_add(ad, "deviceName", json_object_new_string(dname));
    json_object_object_add(
        ad, "diskSizeGb", json_object_get(json_object_object_get(d, "sizeGb")));
    if (!json_object_object_get_ex(ad, "autoDelete", NULL))
      json_object_object_add(ad, "autoDelete", json_object_new_boolean(1));
    /* type points into initializeParams: use it before dropping that. */
    out[*nout].metric = disk_quota_metric(type);
    json_object_object_del(ad, "initializeParams");
    out[*nout].name = full;
    out[*nout].disk = d;
    out[*nout].gb = (double)size_gb;
    (*nout)++;
  }
  return 0;
}

/* --- instances: insert -------------------------------------------------- */

/* Boot delay in simulated ms (the clock already runs time-scale times
 * faster than real time, so this is scaled too). */
static uint64_t boot_delay(sim *s)
{
  switch (sim_get_profile(s)) {
  case SIM_PROFILE_FAST:
    return sim_rand_range(s, 0, 100);
  case SIM_PROFILE_DEMO:
    return sim_rand_range(s, 2000, 4000);
  default:
    return sim_rand_range(s, 60000, 90000);
  }
}

static char *instance_name(sim *s, sim_req *req)
{
  return sim_cvm_name("projects/%s/zones/%s/instances/%s", sim_project(s),
                      sim_param(req, "zone"), sim_param(req, "instance"));
}

/* Quotas an instance holds, given back on delete or a failed insert. */
static void give_instance_quota(sim *s, json_object *inst)
{
  const char *region = priv_str(inst, "region");

  if (region == NULL)
    return;
  sim_quota_give(s, "INSTANCES", region, 1);
  sim_quota_give(s, "CPUS", region, (double)priv_u64(inst, "cpus"));
  sim_quota_give(s, "IN_USE_ADDRESSES", region,
                 (double)priv_u64(inst, "externalIps"));
}

static int take_quota(sim *s, sim_resp *resp, const char *metric,
                      const char *region, double n, double *taken)
{
  if (n <= 0)
    return 0;
  if (sim_quota_take(s, resp, metric, region, n) < 0)
    return -1;
  *taken += n;
  return 0;
}

/* Existing disks (disks[].source) now have the instance as a user; the
 * disks it creates were built with it. */
static void attach_existing(sim *s, json_object *inst)
{
  json_object *disks = json_object_object_get(inst, "disks");

  for (size_t i = 0; i < sim_cvm_len(disks); i++) {
    json_object *ad = json_object_array_get_idx(disks, i);
    char *dn = sim_ref_name(s, sim_cvm_str(ad, "source"));
    json_object *d = dn ? sim_store_get(s, dn) : NULL;
    json_object *users = d ? json_object_object_get(d, "users") : NULL;

    if (d && sim_cvm_len(users) == 0) {
      users = json_object_new_array();
      json_object_array_add(
          users, json_object_get(json_object_object_get(inst, "selfLink")));
      json_object_object_add(d, "users", users);
    }
    free(dn);
  }
}

static int instances_insert(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *inst = NULL, *md, *sched;
  const char *zone = sim_param(req, "zone"), *name;
  char *full = NULL, id[24], ts[32], region[64];
  struct new_disk nd[16];
  size_t nnd = 0;
  int mt, external = 0, result = SIM_DONE;
  double took_inst = 0, took_cpu = 0, took_ip = 0, took_ssd = 0, took_hdd = 0;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (!sim_cvm_zone_exists(s, zone))
    return zone_not_found(s, resp, zone);
  if (sim_cvm_check_name(resp, body, &name) < 0 ||
      sim_cvm_schema(resp, "Instance", body) < 0)
    return SIM_DONE;
  sim_cvm_zone_region(zone, region, sizeof(region));
  full = sim_cvm_name("projects/%s/zones/%s/instances/%s", sim_project(s), zone,
                      name);
  if (sim_store_get(s, full) || sim_op_pending(s, full)) {
    sim_err_legacy(resp, 409, "alreadyExists",
                   "The resource '%s' already exists", full);
    goto out;
  }
  mt = resolve_machine_type(s, resp, zone, sim_cvm_str(body, "machineType"),
                            "resource.machineType");
  if (mt < 0)
    goto out;
  if (check_labels(resp, json_object_object_get(body, "labels"),
                   "resource.labels") < 0 ||
      check_metadata(resp, json_object_object_get(body, "metadata"),
                     "resource.metadata") < 0)
    goto out;
  json_object_deep_copy(body, &inst, NULL);
  json_object_object_add(inst, "kind",
                         json_object_new_string("compute#instance"));
  json_object_object_add(inst, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(inst, "creationTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(inst, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", full));
  json_object_object_add(inst, "zone",
                         sim_link_json(SIM_API_COMPUTE, "projects/%s/zones/%s",
                                       sim_project(s), zone));
  json_object_object_add(
      inst, "machineType",
      sim_link_json(SIM_API_COMPUTE, "projects/%s/zones/%s/machineTypes/%s",
                    sim_project(s), zone, machine_types[mt].name));
  if (build_nics(s, resp, region,
                 json_object_object_get(inst, "networkInterfaces"),
                 &external) < 0 ||
      build_disks(s, resp, zone, name, inst, nd, &nnd) < 0)
    goto out;
  /* Quotas, all or nothing. */
  for (size_t i = 0; i < nnd; i++) {
    double *t =
        strcmp(nd[i].metric, "SSD_TOTAL_GB") == 0 ? &took_ssd : &took_hdd;

    if (take_quota(s, resp, nd[i].metric, region, nd[i].gb, t) < 0)
      goto out;
  }
  if (take_quota(s, resp, "INSTANCES", region, 1, &took_inst) < 0 ||
      take_quota(s, resp, "CPUS", region, machine_types[mt].cpus, &took_cpu) <
          0 ||
      take_quota(s, resp, "IN_USE_ADDRESSES", region, external, &took_ip) < 0)
    goto out;
  md = json_object_object_get(inst, "metadata");
  if (md == NULL) {
    md = json_object_new_object();
    json_object_object_add(md, "items", json_object_new_array());
    json_object_object_add(inst, "metadata", md);
  }
  json_object_object_add(md, "kind",
                         json_object_new_string("compute#metadata"));
  json_object_object_add(md, "fingerprint", sim_cvm_fingerprint(s));
  json_object_object_add(inst, "labelFingerprint", sim_cvm_fingerprint(s));
  json_object_object_add(inst, "fingerprint", sim_cvm_fingerprint(s));
  if (json_object_object_get_ex(inst, "tags", NULL))
    json_object_object_add(json_object_object_get(inst, "tags"), "fingerprint",
                           sim_cvm_fingerprint(s));
  if (!json_object_object_get_ex(inst, "scheduling", NULL)) {
    sched = json_object_new_object();
    json_object_object_add(sched, "onHostMaintenance",
                           json_object_new_string("MIGRATE"));
    json_object_object_add(sched, "automaticRestart",
                           json_object_new_boolean(1));
    json_object_object_add(sched, "preemptible", json_object_new_boolean(0));
    json_object_object_add(sched, "provisioningModel",
                           json_object_new_string("STANDARD"));
    json_object_object_add(inst, "scheduling", sched);
  }
  json_object_object_add(inst, "cpuPlatform",
                         json_object_new_string("Intel Broadwell"));
  json_object_object_add(inst, "canIpForward",
                         json_object_new_boolean(json_object_get_boolean(
                             json_object_object_get(inst, "canIpForward"))));
  json_object_object_add(inst, "startRestricted", json_object_new_boolean(0));
  json_object_object_add(
      inst, "deletionProtection",
      json_object_new_boolean(json_object_get_boolean(
          json_object_object_get(inst, "deletionProtection"))));
  json_object_object_add(inst, "status",
                         json_object_new_string("PROVISIONING"));
  priv_set_str(inst, "phase", "provisioning");
  priv_set_str(inst, "region", region);
  priv_set_u64(inst, "createdMs", sim_now_ms(s));
  priv_set_u64(inst, "cpus", (uint64_t)machine_types[mt].cpus);
  priv_set_u64(inst, "externalIps", (uint64_t)external);
  priv_set_u64(inst, "resets", 0);
  /* Visible at once, as on Google (PROVISIONING); the operation's end makes
   * it RUNNING. Its disks exist from now on too. */
  for (size_t i = 0; i < nnd; i++) {
    json_object *ds = sim_cvm_private(nd[i].disk);

    json_object_object_add(ds, "quotaRegion", json_object_new_string(region));
    sim_store_put(s, nd[i].name, "compute#disk", nd[i].disk);
    nd[i].disk = NULL;
  }
  {
    json_object *payload = json_object_new_object(),
                *dn = json_object_new_array();

    for (size_t i = 0; i < nnd; i++)
      json_object_array_add(dn, json_object_new_string(nd[i].name));
    json_object_object_add(payload, "name", json_object_new_string(full));
    json_object_object_add(payload, "disks", dn);
    attach_existing(s, inst);
    sim_store_put(s, full, "compute#instance", json_object_get(inst));
    {
      char scope[100];

      snprintf(scope, sizeof(scope), "zones/%s", zone);
      result = sim_cvm_op(s, req, resp, scope, "insert", full, inst,
                          SIM_DUR_MEDIUM, payload);
    }
  }
  took_inst = took_cpu = took_ip = took_ssd = took_hdd = 0;
out:
  sim_quota_give(s, "INSTANCES", region, took_inst);
  sim_quota_give(s, "CPUS", region, took_cpu);
  sim_quota_give(s, "IN_USE_ADDRESSES", region, took_ip);
  sim_quota_give(s, "SSD_TOTAL_GB", region, took_ssd);
  sim_quota_give(s, "DISKS_TOTAL_GB", region, took_hdd);
  for (size_t i = 0; i < nnd; i++) {
    free(nd[i].name);
    json_object_put(nd[i].disk);
  }
  json_object_put(inst);
  free(full);
  return result;
}

/* Drops a disk's quota and the disk itself. */
static void delete_disk(sim *s, const char *name)
{
  json_object *d = sim_store_get(s, name);
  const char *region = priv_str(d, "quotaRegion");
  const char *type = sim_cvm_str(d, "type");

  if (d == NULL)
    return;
  if (region)
    sim_quota_give(s,
                   disk_quota_metric(type && strrchr(type, '/')
                                         ? strrchr(type, '/') + 1
                                         : NULL),
                   region, atof(sim_cvm_str(d, "sizeGb")));
  sim_store_del(s, name);
}

static void instances_insert_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *name = sim_cvm_str(payload, "name");
  json_object *inst = sim_store_get(s, name);
  json_object *dn = json_object_object_get(payload, "disks");
  char ts[32];

  if (inst == NULL)
    return;
  if (sim_op_failed(op)) {
    for (size_t i = 0; i < sim_cvm_len(dn); i++)
      delete_disk(s, json_object_get_string(json_object_array_get_idx(dn, i)));
    give_instance_quota(s, inst);
    sim_store_del(s, name);
    return;
  }
  for (size_t i = 0; i < sim_cvm_len(dn); i++) {
    json_object *d = sim_store_get(
        s, json_object_get_string(json_object_array_get_idx(dn, i)));

    if (d) {
      json_object_object_add(d, "status", json_object_new_string("READY"));
      json_object_object_add(d, "lastAttachTimestamp",
                             json_object_new_string(sim_now_str(s, ts)));
    }
  }
  priv_set_str(inst, "phase", "running");
  priv_set_u64(inst, "startMs", sim_now_ms(s));
  priv_set_u64(inst, "bootMs", boot_delay(s));
  json_object_object_add(inst, "status", json_object_new_string("RUNNING"));
  json_object_object_add(inst, "lastStartTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
}

/* --- instances: reads --------------------------------------------------- */

static int instances_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = instance_name(s, req);
  inst = sim_store_get(s, name);
  result = inst ? sim_resp_json(resp, 200, sim_cvm_render(s, inst))
                : sim_cvm_not_found(resp, name);
  free(name);
  return result;
}

static int instances_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  json_object *page;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (!sim_cvm_zone_exists(s, sim_param(req, "zone")))
    return zone_not_found(s, resp, sim_param(req, "zone"));
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/%s/instances/",
           sim_project(s), sim_param(req, "zone"));
  self = sim_link(SIM_API_COMPUTE, "projects/%s/zones/%s/instances",
                  sim_project(s), sim_param(req, "zone"));
  page = sim_list_page(s, req, prefix, "compute#instance",
                       "compute#instanceList", self);
  free(self);
  sim_cvm_render_items(s, page);
  return sim_resp_json(resp, 200, page);
}

static int instances_aggregated(sim *s, sim_req *req, sim_resp *resp)
{
  return sim_cvm_aggregated(s, req, resp, 1, "instances", "compute#instance",
                            "compute#instanceAggregatedList");
}

/* --- instances: mutations ----------------------------------------------- */

/* The stored instance a mutation acts on, or NULL with 404/400 filled. A
 * pending operation on it (other than a state change) is not a conflict
 * on Google either, so only creation in progress is refused. */
static json_object *instance_for_update(sim *s, sim_req *req, sim_resp *resp,
                                        char **name_out)
{
  char *name;
  json_object *inst;

  *name_out = NULL;
  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  name = instance_name(s, req);
  inst = sim_store_get(s, name);
  if (inst == NULL) {
    sim_cvm_not_found(resp, name);
    free(name);
    return NULL;
  }
  *name_out = name;
  return inst;
}

static int instance_op(sim *s, sim_req *req, sim_resp *resp, const char *type,
                       const char *name, json_object *inst,
                       json_object *payload)
{
  char scope[100];

  snprintf(scope, sizeof(scope), "zones/%s", sim_param(req, "zone"));
  if (payload == NULL)
    payload = json_object_new_object();
  json_object_object_add(payload, "name", json_object_new_string(name));
  return sim_cvm_op(s, req, resp, scope, type, name, inst, SIM_DUR_MEDIUM,
                    payload);
}

static int not_ready(sim_resp *resp, const char *name)
{
  return sim_err_legacy(resp, 400, "resourceNotReady",
                        "The resource '%s' is not ready", name);
}

static int instances_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name);
  int result;

  if (inst == NULL)
    return SIM_DONE;
  if (strcmp(priv_str(inst, "phase") ? priv_str(inst, "phase") : "",
             "provisioning") == 0 &&
      sim_op_pending(s, name))
    result = not_ready(resp, name);
  else if (json_object_get_boolean(
               json_object_object_get(inst, "deletionProtection")))
    result = sim_err_legacy(resp, 400, "resourceIsProtected",
                            "Invalid resource usage: 'Resource cannot be "
                            "deleted if it's protected against deletion.'.");
  else {
    json_object *payload = json_object_new_object();

    json_object_object_add(payload, "prevPhase",
                           json_object_new_string(priv_str(inst, "phase")
                                                      ? priv_str(inst, "phase")
                                                      : "running"));
    priv_set_str(inst, "phase", "stopping");
    result = instance_op(s, req, resp, "delete", name, inst, payload);
  }
  free(name);
  return result;
}

struct member_ctx {
  sim *s;
  const char *instance; /* canonical */
  json_object *groups;  /* names of groups holding it */
};

static int member_cb(void *data, const char *name, const char *kind,
                     json_object *obj)
{
  struct member_ctx *c = data;
  json_object *p, *m;

  if (strcmp(kind, "compute#instanceGroup") != 0 ||
      !json_object_object_get_ex(obj, "_sim", &p) ||
      !json_object_object_get_ex(p, "members", &m))
    return 0;
  for (size_t i = 0; i < sim_cvm_len(m); i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(m, i)),
               c->instance) == 0)
      json_object_array_add(c->groups, json_object_new_string(name));
  return 0;
}

/* Google drops a deleted instance from its unmanaged groups. */
static void leave_groups(sim *s, const char *instance)
{
  struct member_ctx c;
  char prefix[300];

  c.s = s;
  c.instance = instance;
  c.groups = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(s));
  sim_store_each(s, prefix, member_cb, &c);
  for (size_t i = 0; i < sim_cvm_len(c.groups); i++) {
    json_object *g = sim_store_get(
        s, json_object_get_string(json_object_array_get_idx(c.groups, i)));
    json_object *m = json_object_object_get(sim_cvm_private(g), "members");
    json_object *keep = json_object_new_array();

    for (size_t j = 0; j < sim_cvm_len(m); j++) {
      json_object *e = json_object_array_get_idx(m, j);

      if (strcmp(json_object_get_string(e), instance) != 0)
        json_object_array_add(keep, json_object_get(e));
    }
    json_object_object_add(g, "size",
                           json_object_new_int((int)sim_cvm_len(keep)));
    json_object_object_add(sim_cvm_private(g), "members", keep);
  }
  json_object_put(c.groups);
}

static void instances_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *name = sim_cvm_str(payload, "name");
  json_object *inst = sim_store_get(s, name), *disks;

  if (inst == NULL)
    return;
  if (sim_op_failed(op)) {
    priv_set_str(inst, "phase", sim_cvm_str(payload, "prevPhase"));
    return;
  }
  disks = json_object_object_get(inst, "disks");
  for (size_t i = 0; i < sim_cvm_len(disks); i++) {
    json_object *ad = json_object_array_get_idx(disks, i);
    char *dn = sim_ref_name(s, sim_cvm_str(ad, "source"));
    json_object *d = dn ? sim_store_get(s, dn) : NULL;

    if (d && json_object_get_boolean(json_object_object_get(ad, "autoDelete")))
      delete_disk(s, dn);
    else if (d) {
      json_object_object_add(d, "users", json_object_new_array());
      json_object_object_add(d, "lastDetachTimestamp",
                             json_object_new_string(""));
      {
        char ts[32];

        json_object_object_add(d, "lastDetachTimestamp",
                               json_object_new_string(sim_now_str(s, ts)));
      }
    }
    free(dn);
  }
  if (strcmp(sim_cvm_str(payload, "prevPhase"), "terminated") == 0)
    priv_set_u64(inst, "cpus", 0);
  give_instance_quota(s, inst);
  leave_groups(s, name);
  sim_store_del(s, name);
}

static int instances_start(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name);
  const char *status;
  int result;

  if (inst == NULL)
    return SIM_DONE;
  status = sim_cvm_instance_status(s, inst);
  if (strcmp(status, "TERMINATED") == 0) {
    const char *mtl = sim_cvm_str(inst, "machineType");
    int mt = mtl && strrchr(mtl, '/')
                 ? machine_type_index(strrchr(mtl, '/') + 1)
                 : -1;

    if (mt < 0) {
      free(name);
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid value for field 'machineType': '%s'.",
                            mtl ? mtl : "");
    }

    if (sim_quota_take(s, resp, "CPUS", priv_str(inst, "region"),
                       machine_types[mt].cpus) < 0) {
      free(name);
      return SIM_DONE;
    }
    priv_set_u64(inst, "cpus", (uint64_t)machine_types[mt].cpus);
    priv_set_str(inst, "phase", "starting");
    result = instance_op(s, req, resp, "start", name, inst, NULL);
  } else if (strcmp(status, "RUNNING") == 0) {
    /* Starting a running instance is a no-op operation. */
    json_object *p = json_object_new_object();

    json_object_object_add(p, "noop", json_object_new_boolean(1));
    result = instance_op(s, req, resp, "start", name, inst, p);
  } else
    result = not_ready(resp, name);
  free(name);
  return result;
}

static void instances_start_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name"));
  char ts[32];

  if (inst == NULL || json_object_object_get_ex(payload, "noop", NULL))
    return;
  if (sim_op_failed(op)) {
    sim_quota_give(s, "CPUS", priv_str(inst, "region"),
                   (double)priv_u64(inst, "cpus"));
    priv_set_u64(inst, "cpus", 0);
    priv_set_str(inst, "phase", "terminated");
    return;
  }
  priv_set_str(inst, "phase", "running");
  priv_set_u64(inst, "startMs", sim_now_ms(s));
  priv_set_u64(inst, "bootMs", boot_delay(s));
  json_object_object_add(inst, "status", json_object_new_string("RUNNING"));
  json_object_object_add(inst, "lastStartTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
}

static int instances_stop(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name);
  const char *status;
  int result;

  if (inst == NULL)
    return SIM_DONE;
  status = sim_cvm_instance_status(s, inst);
  if (strcmp(status, "RUNNING") == 0 || strcmp(status, "STAGING") == 0) {
    json_object *p = json_object_new_object();

    /* Instances put into the store by a test have no phase yet. */
    json_object_object_add(p, "prevPhase",
                           json_object_new_string(priv_str(inst, "phase")
                                                      ? priv_str(inst, "phase")
                                                      : "running"));
    priv_set_str(inst, "phase", "stopping");
    result = instance_op(s, req, resp, "stop", name, inst, p);
  } else if (strcmp(status, "TERMINATED") == 0) {
    json_object *p = json_object_new_object();

    json_object_object_add(p, "noop", json_object_new_boolean(1));
    result = instance_op(s, req, resp, "stop", name, inst, p);
  } else
    result = not_ready(resp, name);
  free(name);
  return result;
}

static void instances_stop_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name"));
  char ts[32];

  if (inst == NULL || json_object_object_get_ex(payload, "noop", NULL))
    return;
  if (sim_op_failed(op)) {
    priv_set_str(inst, "phase", sim_cvm_str(payload, "prevPhase"));
    return;
  }
  /* A stopped instance holds no CPUs: Google charges the CPUS quota only
   * while it runs. */
  sim_quota_give(s, "CPUS", priv_str(inst, "region"),
                 (double)priv_u64(inst, "cpus"));
  priv_set_u64(inst, "cpus", 0);
  priv_set_str(inst, "phase", "terminated");
  json_object_object_add(inst, "status", json_object_new_string("TERMINATED"));
  json_object_object_add(inst, "lastStopTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
}

static int instances_reset(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name);
  int result;

  if (inst == NULL)
    return SIM_DONE;
  if (strcmp(sim_cvm_instance_status(s, inst), "RUNNING") != 0)
    result = not_ready(resp, name);
  else
    result = instance_op(s, req, resp, "reset", name, inst, NULL);
  free(name);
  return result;
}

static void instances_reset_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name"));
  char ts[32];

  if (inst == NULL || sim_op_failed(op))
    return;
  /* A hard reset: the status stays RUNNING, the guest boots again. The
   * count and time are for the auto-heal tests (GET /_sim/health/
   * instances); Instance has no field for them. */
  priv_set_u64(inst, "resets", priv_u64(inst, "resets") + 1);
  priv_set_u64(inst, "startMs", sim_now_ms(s));
  priv_set_u64(inst, "bootMs", boot_delay(s));
  priv_set_str(inst, "lastResetTimestamp", sim_now_str(s, ts));
}

static int instances_set_machine_type(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name), *p;
  int mt, result;

  if (inst == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp, "InstancesSetMachineTypeRequest", sim_body(req)) <
      0) {
    free(name);
    return SIM_DONE;
  }
  mt = resolve_machine_type(s, resp, sim_param(req, "zone"),
                            sim_cvm_str(sim_body(req), "machineType"),
                            "resource.machineType");
  if (mt < 0) {
    free(name);
    return SIM_DONE;
  }
  /* Only for a stopped (TERMINATED) instance (docs/google-cloud.md section
   * 6); Google's text for a running one is not published: ours. */
  if (strcmp(sim_cvm_instance_status(s, inst), "TERMINATED") != 0) {
    result = sim_err_legacy(resp, 400, "invalid",
                            "Instance '%s' must be stopped before its "
                            "machine type can be changed. Current status: "
                            "%s.",
                            sim_cvm_str(inst, "name"),
                            sim_cvm_instance_status(s, inst));
    free(name);
    return result;
  }
  p = json_object_new_object();
  json_object_object_add(p, "machineType",
                         json_object_new_string(machine_types[mt].name));
  result = instance_op(s, req, resp, "setMachineType", name, inst, p);
  free(name);
  return result;
}

static void instances_set_machine_type_apply(sim *s, sim_op *op,
                                             json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name"));
  char zone[100];
  const char *z;

  if (inst == NULL || sim_op_failed(op))
    return;
  z = sim_cvm_str(inst, "zone") ? strrchr(sim_cvm_str(inst, "zone"), '/')
                                : NULL;
  snprintf(zone, sizeof(zone), "%s", z ? z + 1 : "");
  json_object_object_add(
      inst, "machineType",
      sim_link_json(SIM_API_COMPUTE, "projects/%s/zones/%s/machineTypes/%s",
                    sim_project(s), zone, sim_cvm_str(payload, "machineType")));
}

static int instances_set_metadata(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name), *body, *p;
  int result;

  if (inst == NULL)
    return SIM_DONE;
  body = sim_body(req);
  if (sim_cvm_schema(resp, "Metadata", body) < 0 ||
      check_metadata(resp, body, "resource") < 0 ||
      sim_cvm_check_fingerprint(
          resp,
          sim_cvm_str(json_object_object_get(inst, "metadata"), "fingerprint"),
          sim_cvm_str(body, "fingerprint"),
          "Supplied fingerprint does not match current metadata "
          "fingerprint.") < 0) {
    free(name);
    return SIM_DONE;
  }
  p = json_object_new_object();
  json_object_object_add(
      p, "fingerprint",
      json_object_new_string(sim_cvm_str(body, "fingerprint")));
  json_object_object_add(
      p, "items",
      json_object_object_get_ex(body, "items", NULL)
          ? json_object_get(json_object_object_get(body, "items"))
          : json_object_new_array());
  result = instance_op(s, req, resp, "setMetadata", name, inst, p);
  free(name);
  return result;
}

static void instances_set_metadata_apply(sim *s, sim_op *op,
                                         json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name")), *md;

  if (inst == NULL || sim_op_failed(op))
    return;
  md = json_object_object_get(inst, "metadata");
  /* Two writers raced with the same fingerprint: the later one loses. */
  if (!sim_same_bytes(sim_cvm_str(md, "fingerprint"),
                      sim_cvm_str(payload, "fingerprint"))) {
    sim_op_fail(op, 412, "CONDITION_NOT_MET",
                "Supplied fingerprint does not match current metadata "
                "fingerprint.");
    return;
  }
  json_object_object_add(
      md, "items", json_object_get(json_object_object_get(payload, "items")));
  json_object_object_add(md, "fingerprint", sim_cvm_fingerprint(s));
}

static int instances_set_labels(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name), *body, *p;
  int result;

  if (inst == NULL)
    return SIM_DONE;
  body = sim_body(req);
  if (sim_cvm_schema(resp, "InstancesSetLabelsRequest", body) < 0 ||
      check_labels(resp, json_object_object_get(body, "labels"), "labels") <
          0 ||
      sim_cvm_check_fingerprint(
          resp, sim_cvm_str(inst, "labelFingerprint"),
          sim_cvm_str(body, "labelFingerprint"),
          "Labels fingerprint either invalid or resource labels have "
          "changed") < 0) {
    free(name);
    return SIM_DONE;
  }
  p = json_object_new_object();
  json_object_object_add(
      p, "labelFingerprint",
      json_object_new_string(sim_cvm_str(body, "labelFingerprint")));
  json_object_object_add(
      p, "labels",
      json_object_object_get_ex(body, "labels", NULL)
          ? json_object_get(json_object_object_get(body, "labels"))
          : json_object_new_object());
  result = instance_op(s, req, resp, "setLabels", name, inst, p);
  free(name);
  return result;
}

static void instances_set_labels_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name"));

  if (inst == NULL || sim_op_failed(op))
    return;
  if (!sim_same_bytes(sim_cvm_str(inst, "labelFingerprint"),
                      sim_cvm_str(payload, "labelFingerprint"))) {
    sim_op_fail(op, 412, "CONDITION_NOT_MET",
                "Labels fingerprint either invalid or resource labels have "
                "changed");
    return;
  }
  json_object_object_add(
      inst, "labels",
      json_object_get(json_object_object_get(payload, "labels")));
  json_object_object_add(inst, "labelFingerprint", sim_cvm_fingerprint(s));
}

static int instances_set_service_account(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name), *p;
  int result;

  if (inst == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp, "InstancesSetServiceAccountRequest", sim_body(req)) <
      0)
    result = SIM_DONE;
  else if (strcmp(sim_cvm_instance_status(s, inst), "TERMINATED") != 0)
    result = sim_err_legacy(resp, 400, "invalid",
                            "Instance '%s' must be stopped before its "
                            "service account can be changed.",
                            sim_cvm_str(inst, "name"));
  else {
    p = json_object_new_object();
    json_object_object_add(p, "sa",
                           sim_body(req) ? json_object_get(sim_body(req))
                                         : json_object_new_object());
    result = instance_op(s, req, resp, "setServiceAccount", name, inst, p);
  }
  free(name);
  return result;
}

static void instances_set_service_account_apply(sim *s, sim_op *op,
                                                json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name"));
  json_object *arr = json_object_new_array();

  if (inst == NULL || sim_op_failed(op)) {
    json_object_put(arr);
    return;
  }
  if (sim_cvm_str(json_object_object_get(payload, "sa"), "email"))
    json_object_array_add(
        arr, json_object_get(json_object_object_get(payload, "sa")));
  json_object_object_add(inst, "serviceAccounts", arr);
}

static int instances_update_shielded(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *inst = instance_for_update(s, req, resp, &name), *p;
  int result;

  if (inst == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp, "ShieldedInstanceConfig", sim_body(req)) < 0)
    result = SIM_DONE;
  /* Secure boot and vTPM are read at boot, so Google wants the instance
   * stopped; the exact text is not recorded, this is our wording. */
  else if (strcmp(sim_cvm_instance_status(s, inst), "TERMINATED") != 0)
    result = sim_err_legacy(resp, 400, "invalid",
                            "Instance '%s' must be stopped before its "
                            "Shielded VM config can be changed.",
                            sim_cvm_str(inst, "name"));
  else {
    p = json_object_new_object();
    json_object_object_add(p, "config",
                           sim_body(req) ? json_object_get(sim_body(req))
                                         : json_object_new_object());
    result = instance_op(s, req, resp, "updateShieldedInstanceConfig", name,
                         inst, p);
  }
  free(name);
  return result;
}

static void instances_update_shielded_apply(sim *s, sim_op *op,
                                            json_object *payload)
{
  json_object *inst = sim_store_get(s, sim_cvm_str(payload, "name")), *cfg;

  if (inst == NULL || sim_op_failed(op))
    return;
  cfg = json_object_object_get(inst, "shieldedInstanceConfig");
  if (cfg == NULL) {
    cfg = json_object_new_object();
    json_object_object_add(inst, "shieldedInstanceConfig", cfg);
  }
  /* A PATCH: the fields sent replace, the rest stay. */
  json_object_object_foreach(json_object_object_get(payload, "config"), k, v)
      json_object_object_add(cfg, k, json_object_get(v));
}

/* --- table -------------------------------------------------------------- */

static const sim_route vm_routes[] = {
    {"GET", CP "/zones/{zone}/machineTypes", "compute.machineTypes.list",
     machine_types_list, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}/machineTypes/{machineType}",
     "compute.machineTypes.get", machine_types_get, NULL, 0, NULL},
    {"GET", CP "/aggregated/machineTypes",
     "compute.machineTypes.aggregatedList", machine_types_aggregated, NULL, 0,
     NULL},
    {"POST", CP "/zones/{zone}/instances", "compute.instances.insert",
     instances_insert, instances_insert_apply, 0, NULL},
    {"GET", CP "/zones/{zone}/instances", "compute.instances.list",
     instances_list, NULL, 0, NULL},
    {"GET", CP "/aggregated/instances", "compute.instances.aggregatedList",
     instances_aggregated, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}/instances/{instance}", "compute.instances.get",
     instances_get, NULL, 0, NULL},
    {"DELETE", CP "/zones/{zone}/instances/{instance}",
     "compute.instances.delete", instances_delete, instances_delete_apply, 0,
     NULL},
    {"POST", CP "/zones/{zone}/instances/{instance}/start",
     "compute.instances.start", instances_start, instances_start_apply, 0,
     NULL},
    {"POST", CP "/zones/{zone}/instances/{instance}/stop",
     "compute.instances.stop", instances_stop, instances_stop_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/instances/{instance}/reset",
     "compute.instances.reset", instances_reset, instances_reset_apply, 0,
     NULL},
    {"POST", CP "/zones/{zone}/instances/{instance}/setMachineType",
     "compute.instances.setMachineType", instances_set_machine_type,
     instances_set_machine_type_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/instances/{instance}/setMetadata",
     "compute.instances.setMetadata", instances_set_metadata,
     instances_set_metadata_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/instances/{instance}/setLabels",
     "compute.instances.setLabels", instances_set_labels,
     instances_set_labels_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/instances/{instance}/setServiceAccount",
     "compute.instances.setServiceAccount", instances_set_service_account,
     instances_set_service_account_apply, 0, NULL},
    {"PATCH",
     CP "/zones/{zone}/instances/{instance}/updateShieldedInstanceConfig",
     "compute.instances.updateShieldedInstanceConfig",
     instances_update_shielded, instances_update_shielded_apply, 0, NULL},
};

int sim_compute_vm_init(sim *s)
{
  if (sim_store_index(s, "compute#instance", inst_subnet_keys) < 0 ||
      sim_register(s, SIM_API_COMPUTE, vm_routes,
                   sizeof(vm_routes) / sizeof(*vm_routes)) < 0 ||
      sim_cvm_disk_init(s) < 0 || sim_cvm_health_init(s) < 0 ||
      sim_cvm_image_init(s) < 0 || sim_cvm_guest_init(s) < 0)
    return -1;
  return 0;
}

void sim_compute_vm_seed(sim *s)
{
  sim_cvm_image_seed(s);
}
