/*
 * compute.c - Compute Engine v1, first slice: projects.get, regions and
 * zones (get/list, with quotas), networks (insert/get/list/patch/delete)
 * and the three operation collections (get/list/delete/wait).
 *
 * Seeds a fresh project with regions and zones. Other Compute collections
 * (subnetworks, firewalls, instances, ...) belong in their own files on
 * the same pattern; the operation routes here already serve every zonal,
 * regional and global operation they start.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/modules.h"
#include "sim/sim.h"

#define CP "/compute/v1/projects/{project}"

/* The seeded geography: region -> zone suffixes. */
static const struct {
  const char *region, *zones, *description;
} compute_regions[] = {
    {"us-central1", "abcf", "us-central1"},
    {"us-east1", "bcd", "us-east1"},
    {"us-west1", "abc", "us-west1"},
    {"europe-west1", "bcd", "europe-west1"},
    {"europe-west2", "abc", "europe-west2"},
    {"asia-southeast1", "abc", "asia-southeast1"},
    {"africa-south1", "abc", "africa-south1"},
};

/* Default quotas: the observed paid-project values of docs/google-cloud.md
 * section 7 where known; the rest are generous round numbers. */
static const struct {
  const char *metric;
  double limit;
} compute_region_quotas[] =
    {
        {"CPUS", 24},
        {"DISKS_TOTAL_GB", 4096},
        {"SSD_TOTAL_GB", 500},
        {"STATIC_ADDRESSES", 8},
        {"IN_USE_ADDRESSES", 8},
        {"INSTANCES", 100},
        {"SUBNETWORKS", 100},
        {"ROUTERS", 10},
},
  compute_global_quotas[] = {
      {"NETWORKS", 15},
      {"FIREWALLS", 200},
      {"ROUTES", 250},
      {"SNAPSHOTS", 5000},
      {"IMAGES", 2000},
      {"HEALTH_CHECKS", 75},
      {"BACKEND_SERVICES", 75},
      {"URL_MAPS", 30},
      {"TARGET_HTTPS_PROXIES", 30},
      {"GLOBAL_INTERNAL_ADDRESSES", 5000},
      {"STATIC_ADDRESSES", 8},
      {"FORWARDING_RULES", 15},
      {"SSL_CERTIFICATES", 30},
};

static char *compute_name(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A canonical name, malloc'd. */
static char *compute_name(const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return strdup(buf);
}

static int not_found(sim_resp *resp, const char *name)
{
  return sim_err_legacy(resp, 404, "notFound",
                        "The resource '%s' was not found", name);
}

/* --- projects, regions, zones ------------------------------------------- */

/* Project.quotas[]: the project-wide quotas are shared with other APIs
 * (SQL_INSTANCES, UPTIME_CHECKS); only Compute's own metrics belong here
 * (Quota.metric is an enum). */
static json_object *compute_project_quotas(sim *s)
{
  json_object *all = sim_quota_json(s, "global"),
              *out = json_object_new_array();

  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *q = json_object_array_get_idx(all, i);
    const char *m = json_object_get_string(json_object_object_get(q, "metric"));

    for (size_t j = 0;
         j < sizeof(compute_global_quotas) / sizeof(*compute_global_quotas);
         j++)
      if (m && strcmp(m, compute_global_quotas[j].metric) == 0) {
        json_object_array_add(out, json_object_get(q));
        break;
      }
  }
  json_object_put(all);
  return out;
}

static int projects_get(sim *s, sim_req *req, sim_resp *resp)
{
  char name[300];
  json_object *p;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(name, sizeof(name), "projects/%s", sim_project(s));
  p = sim_store_get(s, name);
  if (p == NULL)
    return not_found(resp, name);
  p = json_object_get(p);
  {
    json_object *copy = NULL;

    json_object_deep_copy(p, &copy, NULL);
    json_object_put(p);
    json_object_object_add(copy, "quotas", compute_project_quotas(s));
    return sim_resp_json(resp, 200, copy);
  }
}

/* A stored object plus live quotas (regions carry Region.quotas[]). */
static json_object *with_quotas(sim *s, json_object *obj, const char *region)
{
  json_object *copy = NULL;

  json_object_deep_copy(obj, &copy, NULL);
  if (copy && region)
    json_object_object_add(copy, "quotas", sim_quota_json(s, region));
  if (copy && sim_region_down(s, region))
    json_object_object_add(copy, "status", json_object_new_string("DOWN"));
  return copy;
}

static int regions_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *r;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = compute_name("projects/%s/regions/%s", sim_project(s),
                      sim_param(req, "region"));
  r = name ? sim_store_get(s, name) : NULL;
  result =
      r ? sim_resp_json(resp, 200, with_quotas(s, r, sim_param(req, "region")))
        : not_found(resp, name ? name : "");
  free(name);
  return result;
}

static int regions_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  json_object *page, *items;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/regions/", sim_project(s));
  self = sim_link(SIM_API_COMPUTE, "projects/%s/regions", sim_project(s));
  page = sim_list_page(s, req, prefix, "compute#region", "compute#regionList",
                       self);
  items = json_object_object_get(page, "items");
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *r = json_object_array_get_idx(items, i);
    const char *rname =
        json_object_get_string(json_object_object_get(r, "name"));

    json_object_array_put_idx(items, i, with_quotas(s, r, rname));
  }
  free(self);
  return sim_resp_json(resp, 200, page);
}

/* A zone as served: status DOWN while its region is out (outage.c). */
static json_object *zone_json(sim *s, json_object *z)
{
  json_object *copy = NULL;
  const char *name = json_object_get_string(json_object_object_get(z, "name"));

  if (!sim_zone_down(s, name))
    return json_object_get(z);
  json_object_deep_copy(z, &copy, NULL);
  if (copy)
    json_object_object_add(copy, "status", json_object_new_string("DOWN"));
  return copy;
}

static int zones_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *z;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = compute_name("projects/%s/zones/%s", sim_project(s),
                      sim_param(req, "zone"));
  z = name ? sim_store_get(s, name) : NULL;
  result = z ? sim_resp_json(resp, 200, zone_json(s, z))
             : not_found(resp, name ? name : "");
  free(name);
  return result;
}

static int zones_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  json_object *page, *items;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(s));
  self = sim_link(SIM_API_COMPUTE, "projects/%s/zones", sim_project(s));
  page =
      sim_list_page(s, req, prefix, "compute#zone", "compute#zoneList", self);
  items = json_object_object_get(page, "items");
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *z = json_object_array_get_idx(items, i);

    if (sim_zone_down(
            s, json_object_get_string(json_object_object_get(z, "name"))))
      json_object_array_put_idx(items, i, zone_json(s, z));
  }
  free(self);
  result = sim_resp_json(resp, 200, page);
  return result;
}

/* --- networks ----------------------------------------------------------- */

/* Body fields a client may set on a network; the rest are output only. */
static const char *const network_fields[] = {
    "name",
    "description",
    "autoCreateSubnetworks",
    "routingConfig",
    "mtu",
    "networkFirewallPolicyEnforcementOrder",
    "enableUlaInternalIpv6",
    "internalIpv6Range",
    "IPv4Range",
    "gatewayIPv4",
    "kind",
    NULL,
};

static int field_allowed(const char *const *fields, const char *key)
{
  for (size_t i = 0; fields[i]; i++)
    if (strcmp(fields[i], key) == 0)
      return 1;
  return 0;
}

static int check_name(sim_resp *resp, json_object *body, const char **out)
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

static int networks_insert(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *net, *rc;
  const char *name;
  char *full, id[24], ts[32];
  sim_op_spec spec;
  sim_op *op;

  if (sim_check_project(s, req, resp) < 0 || check_name(resp, body, &name) < 0)
    return SIM_DONE;
  json_object_object_foreach(body, key, val)
  {
    (void)val;
    if (!field_allowed(network_fields, key))
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid JSON payload received. Unknown name "
                            "\"%s\" at 'resource': Cannot find field.",
                            key);
  }
  full = compute_name("projects/%s/global/networks/%s", sim_project(s), name);
  if (sim_store_get(s, full) || sim_op_pending(s, full)) {
    sim_err_legacy(resp, 409, "alreadyExists",
                   "The resource '%s' already exists", full);
    free(full);
    return SIM_DONE;
  }
  if (sim_quota_take(s, resp, "NETWORKS", NULL, 1) < 0) {
    free(full);
    return SIM_DONE;
  }
  /* The network as it will exist; apply() stores it at DONE. */
  net = NULL;
  json_object_deep_copy(body, &net, NULL);
  json_object_object_add(net, "kind",
                         json_object_new_string("compute#network"));
  json_object_object_add(net, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(net, "creationTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(net, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", full));
  json_object_object_add(net, "selfLinkWithId",
                         sim_link_json(SIM_API_COMPUTE,
                                       "projects/%s/global/networks/%s",
                                       sim_project(s), id));
  if (!json_object_object_get_ex(net, "autoCreateSubnetworks", NULL))
    json_object_object_add(net, "autoCreateSubnetworks",
                           json_object_new_boolean(1));
  if (!json_object_object_get_ex(net, "routingConfig", NULL)) {
    rc = json_object_new_object();
    json_object_object_add(rc, "routingMode",
                           json_object_new_string("REGIONAL"));
    json_object_object_add(net, "routingConfig", rc);
  }
  if (!json_object_object_get_ex(net, "mtu", NULL))
    json_object_object_add(net, "mtu", json_object_new_int(1460));
  if (!json_object_object_get_ex(net, "networkFirewallPolicyEnforcementOrder",
                                 NULL))
    json_object_object_add(net, "networkFirewallPolicyEnforcementOrder",
                           json_object_new_string("AFTER_CLASSIC_FIREWALL"));
  json_object_object_add(net, "subnetworks", json_object_new_array());
  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_COMPUTE;
  spec.duration = SIM_DUR_QUICK;
  spec.scope = "global";
  spec.operation_type = "insert";
  spec.target_name = full;
  spec.target_link =
      json_object_get_string(json_object_object_get(net, "selfLink"));
  spec.target_id = id;
  spec.payload = net;
  op = sim_op_start(s, req, &spec);
  free(full);
  if (op == NULL)
    return sim_resp_json(resp, 503, NULL);
  return sim_op_respond(s, resp, op);
}

static void networks_insert_apply(sim *s, sim_op *op, json_object *net)
{
  char name[512];

  snprintf(name, sizeof(name), "projects/%s/global/networks/%s", sim_project(s),
           json_object_get_string(json_object_object_get(net, "name")));
  if (sim_op_failed(op)) {
    sim_quota_give(s, "NETWORKS", NULL, 1);
    return;
  }
  sim_store_put(s, name, "compute#network", json_object_get(net));
}

static int networks_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *n;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = compute_name("projects/%s/global/networks/%s", sim_project(s),
                      sim_param(req, "network"));
  n = name ? sim_store_get(s, name) : NULL;
  result = n ? sim_resp_json(resp, 200, json_object_get(n))
             : not_found(resp, name ? name : "");
  free(name);
  return result;
}

static int networks_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/global/networks/",
           sim_project(s));
  self =
      sim_link(SIM_API_COMPUTE, "projects/%s/global/networks", sim_project(s));
  result = sim_resp_json(resp, 200,
                         sim_list_page(s, req, prefix, "compute#network",
                                       "compute#networkList", self));
  free(self);
  return result;
}

struct user_ctx {
  sim *s;
  const char *network;
  char *user;
};

/* Finds a resource whose "network" field points at ctx->network. */
static int user_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct user_ctx *c = data;
  json_object *v;
  char *ref;
  int hit;

  if (!json_object_object_get_ex(obj, "network", &v) ||
      !json_object_is_type(v, json_type_string))
    return 0;
  ref = sim_ref_name(c->s, json_object_get_string(v));
  hit = ref && strcmp(ref, c->network) == 0;
  free(ref);
  if (hit)
    c->user = strdup(name);
  return hit;
}

static sim_op *start_simple(sim *s, sim_req *req, const char *type,
                            const char *full, json_object *target,
                            json_object *payload)
{
  sim_op_spec spec;

  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_COMPUTE;
  spec.duration = SIM_DUR_QUICK;
  spec.scope = "global";
  spec.operation_type = type;
  spec.target_name = full;
  spec.target_link =
      json_object_get_string(json_object_object_get(target, "selfLink"));
  spec.target_id = json_object_get_string(json_object_object_get(target, "id"));
  spec.payload = payload;
  return sim_op_start(s, req, &spec);
}

static int networks_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char *full;
  json_object *n;
  struct user_ctx uc;
  char prefix[300];
  sim_op *op;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  full = compute_name("projects/%s/global/networks/%s", sim_project(s),
                      sim_param(req, "network"));
  n = full ? sim_store_get(s, full) : NULL;
  if (n == NULL) {
    not_found(resp, full ? full : "");
    free(full);
    return SIM_DONE;
  }
  if (sim_op_pending(s, full)) {
    sim_err_legacy(resp, 400, "resourceNotReady",
                   "The resource '%s' is not ready", full);
    free(full);
    return SIM_DONE;
  }
  uc.s = s;
  uc.network = full;
  uc.user = NULL;
  snprintf(prefix, sizeof(prefix), "projects/%s/", sim_project(s));
  sim_store_each(s, prefix, user_cb, &uc);
  if (uc.user) {
    sim_err_legacy(resp, 400, "resourceInUseByAnotherResource",
                   "The network resource '%s' is already being used by '%s'",
                   full, uc.user);
    free(uc.user);
    free(full);
    return SIM_DONE;
  }
  op = start_simple(s, req, "delete", full, n, json_object_new_string(full));
  free(full);
  return op ? sim_op_respond(s, resp, op) : sim_resp_json(resp, 503, NULL);
}

static void networks_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  if (sim_op_failed(op))
    return;
  if (sim_store_del(s, json_object_get_string(payload)) == 0)
    sim_quota_give(s, "NETWORKS", NULL, 1);
}

static const char *const network_patchable[] = {
    "description", "routingConfig",
    "mtu",         "networkFirewallPolicyEnforcementOrder",
    "name",        NULL,
};

static int networks_patch(sim *s, sim_req *req, sim_resp *resp)
{
  char *full;
  json_object *n, *body = sim_body(req), *payload;
  sim_op *op;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  full = compute_name("projects/%s/global/networks/%s", sim_project(s),
                      sim_param(req, "network"));
  n = full ? sim_store_get(s, full) : NULL;
  if (n == NULL) {
    not_found(resp, full ? full : "");
    free(full);
    return SIM_DONE;
  }
  json_object_object_foreach(body, key, val)
  {
    (void)val;
    if (!field_allowed(network_patchable, key)) {
      sim_err_legacy(resp, 400, "invalid",
                     "Invalid value for field 'resource.%s': cannot be "
                     "patched.",
                     key);
      free(full);
      return SIM_DONE;
    }
  }
  payload = json_object_new_object();
  json_object_object_add(payload, "name", json_object_new_string(full));
  json_object_object_add(payload, "patch",
                         body ? json_object_get(body)
                              : json_object_new_object());
  op = start_simple(s, req, "patch", full, n, payload);
  free(full);
  return op ? sim_op_respond(s, resp, op) : sim_resp_json(resp, 503, NULL);
}

static void networks_patch_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *name =
      json_object_get_string(json_object_object_get(payload, "name"));
  json_object *n = sim_store_get(s, name);

  if (sim_op_failed(op) || n == NULL)
    return;
  json_object_object_foreach(json_object_object_get(payload, "patch"), k, v)
  {
    if (strcmp(k, "name") != 0)
      json_object_object_add(n, k, json_object_get(v));
  }
}

/* --- operations --------------------------------------------------------- */

/* "projects/p/global/operations/x", ".../regions/r/...", ".../zones/z/..." */
static char *op_name(sim *s, sim_req *req)
{
  char buf[512];
  const char *op = sim_param(req, "operation");

  if (op == NULL)
    op = ""; /* a list: the collection itself */

  if (sim_param(req, "zone"))
    snprintf(buf, sizeof(buf), "projects/%s/zones/%s/operations/%s",
             sim_project(s), sim_param(req, "zone"), op);
  else if (sim_param(req, "region"))
    snprintf(buf, sizeof(buf), "projects/%s/regions/%s/operations/%s",
             sim_project(s), sim_param(req, "region"), op);
  else
    snprintf(buf, sizeof(buf), "projects/%s/global/operations/%s",
             sim_project(s), op);
  return strdup(buf);
}

static sim_op *op_lookup(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  sim_op *op;

  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  name = op_name(s, req);
  op = name ? sim_op_find(s, name) : NULL;
  if (op == NULL)
    not_found(resp, name ? name : "");
  free(name);
  return op;
}

static int operations_get(sim *s, sim_req *req, sim_resp *resp)
{
  sim_op *op = op_lookup(s, req, resp);

  return op ? sim_op_respond(s, resp, op) : SIM_DONE;
}

static int operations_wait(sim *s, sim_req *req, sim_resp *resp)
{
  sim_op *op = op_lookup(s, req, resp);

  return op ? sim_op_wait(s, req, resp, op) : SIM_DONE;
}

static int operations_delete(sim *s, sim_req *req, sim_resp *resp)
{
  sim_op *op = op_lookup(s, req, resp);

  /* Deleting an operation record changes nothing we model: keep it, as
   * the operation may still be read by a waiter. */
  return op ? sim_resp_json(resp, 204, NULL) : SIM_DONE;
}

static int operations_list(sim *s, sim_req *req, sim_resp *resp)
{
  char *name, *slash, *self;
  json_object *o, *all, *items;
  const char *filter = sim_query(req, "filter");

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = op_name(s, req); /* ".../operations/" */
  slash = name ? strrchr(name, '/') : NULL;
  if (slash == NULL) {
    free(name);
    return sim_resp_json(resp, 503, NULL);
  }
  slash[1] = '\0';
  all = sim_op_list(s, name);
  items = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *op = json_object_array_get_idx(all, i);

    if (sim_filter_match(op, filter))
      json_object_array_add(items, json_object_get(op));
  }
  json_object_put(all);
  slash[0] = '\0';
  self = sim_link(SIM_API_COMPUTE, "%s", name);
  o = json_object_new_object();
  json_object_object_add(o, "kind",
                         json_object_new_string("compute#operationList"));
  json_object_object_add(o, "id", json_object_new_string(name));
  json_object_object_add(o, "items", items);
  json_object_object_add(o, "selfLink", json_object_new_string(self));
  free(self);
  free(name);
  return sim_resp_json(resp, 200, o);
}

/* --- table -------------------------------------------------------------- */

static const sim_route compute_routes[] = {
    {"GET", CP, "compute.projects.get", projects_get, NULL, 0, NULL},
    {"GET", CP "/regions", "compute.regions.list", regions_list, NULL, 0, NULL},
    {"GET", CP "/regions/{region}", "compute.regions.get", regions_get, NULL, 0,
     NULL},
    {"GET", CP "/zones", "compute.zones.list", zones_list, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}", "compute.zones.get", zones_get, NULL, 0, NULL},
    {"POST", CP "/global/networks", "compute.networks.insert", networks_insert,
     networks_insert_apply, 0, NULL},
    {"GET", CP "/global/networks", "compute.networks.list", networks_list, NULL,
     0, NULL},
    {"GET", CP "/global/networks/{network}", "compute.networks.get",
     networks_get, NULL, 0, NULL},
    {"DELETE", CP "/global/networks/{network}", "compute.networks.delete",
     networks_delete, networks_delete_apply, 0, NULL},
    {"PATCH", CP "/global/networks/{network}", "compute.networks.patch",
     networks_patch, networks_patch_apply, 0, NULL},
    {"GET", CP "/global/operations", "compute.globalOperations.list",
     operations_list, NULL, 0, NULL},
    {"GET", CP "/global/operations/{operation}", "compute.globalOperations.get",
     operations_get, NULL, 0, NULL},
    {"DELETE", CP "/global/operations/{operation}",
     "compute.globalOperations.delete", operations_delete, NULL, 0, NULL},
    {"POST", CP "/global/operations/{operation}/wait",
     "compute.globalOperations.wait", operations_wait, NULL, 0, NULL},
    {"GET", CP "/regions/{region}/operations", "compute.regionOperations.list",
     operations_list, NULL, 0, NULL},
    {"GET", CP "/regions/{region}/operations/{operation}",
     "compute.regionOperations.get", operations_get, NULL, 0, NULL},
    {"DELETE", CP "/regions/{region}/operations/{operation}",
     "compute.regionOperations.delete", operations_delete, NULL, 0, NULL},
    {"POST", CP "/regions/{region}/operations/{operation}/wait",
     "compute.regionOperations.wait", operations_wait, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}/operations", "compute.zoneOperations.list",
     operations_list, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}/operations/{operation}",
     "compute.zoneOperations.get", operations_get, NULL, 0, NULL},
    {"DELETE", CP "/zones/{zone}/operations/{operation}",
     "compute.zoneOperations.delete", operations_delete, NULL, 0, NULL},
    {"POST", CP "/zones/{zone}/operations/{operation}/wait",
     "compute.zoneOperations.wait", operations_wait, NULL, 0, NULL},
};

int sim_compute_init(sim *s)
{
  for (size_t i = 0;
       i < sizeof(compute_global_quotas) / sizeof(*compute_global_quotas); i++)
    sim_quota_define(s, compute_global_quotas[i].metric, NULL,
                     compute_global_quotas[i].limit);
  for (size_t r = 0; r < sizeof(compute_regions) / sizeof(*compute_regions);
       r++)
    for (size_t i = 0;
         i < sizeof(compute_region_quotas) / sizeof(*compute_region_quotas);
         i++)
      sim_quota_define(s, compute_region_quotas[i].metric,
                       compute_regions[r].region,
                       compute_region_quotas[i].limit);
  return sim_register(s, SIM_API_COMPUTE, compute_routes,
                      sizeof(compute_routes) / sizeof(*compute_routes));
}

static void seed_zone(sim *s, const char *region, char letter, const char *ts)
{
  char zone[64], name[300], id[24];
  json_object *z = json_object_new_object();

  snprintf(zone, sizeof(zone), "%s-%c", region, letter);
  snprintf(name, sizeof(name), "projects/%s/zones/%s", sim_project(s), zone);
  json_object_object_add(z, "kind", json_object_new_string("compute#zone"));
  json_object_object_add(z, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(z, "creationTimestamp", json_object_new_string(ts));
  json_object_object_add(z, "name", json_object_new_string(zone));
  json_object_object_add(z, "description", json_object_new_string(zone));
  json_object_object_add(z, "status", json_object_new_string("UP"));
  json_object_object_add(z, "region",
                         sim_link_json(SIM_API_COMPUTE,
                                       "projects/%s/regions/%s", sim_project(s),
                                       region));
  json_object_object_add(z, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", name));
  json_object_object_add(z, "supportsPzs", json_object_new_boolean(0));
  sim_store_put(s, name, "compute#zone", z);
}

void sim_compute_seed(sim *s)
{
  char name[300], id[24], ts[32];
  json_object *p = json_object_new_object(), *md = json_object_new_object();

  sim_time_str(sim_now_ms(s) - 86400000ull * 30, ts);
  snprintf(name, sizeof(name), "projects/%s", sim_project(s));
  json_object_object_add(p, "kind", json_object_new_string("compute#project"));
  json_object_object_add(p, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(p, "creationTimestamp", json_object_new_string(ts));
  json_object_object_add(p, "name", json_object_new_string(sim_project(s)));
  json_object_object_add(md, "kind",
                         json_object_new_string("compute#metadata"));
  json_object_object_add(md, "fingerprint",
                         json_object_new_string("c2ltLWZwMQ=="));
  json_object_object_add(md, "items", json_object_new_array());
  json_object_object_add(p, "commonInstanceMetadata", md);
  json_object_object_add(p, "defaultNetworkTier",
                         json_object_new_string("PREMIUM"));
  json_object_object_add(
      p, "xpnProjectStatus",
      json_object_new_string("UNSPECIFIED_XPN_PROJECT_STATUS"));
  json_object_object_add(p, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", name));
  sim_store_put(s, name, "compute#project", p);
  for (size_t r = 0; r < sizeof(compute_regions) / sizeof(*compute_regions);
       r++) {
    json_object *reg = json_object_new_object(),
                *zones = json_object_new_array();
    const char *rn = compute_regions[r].region;

    for (const char *z = compute_regions[r].zones; *z; z++) {
      seed_zone(s, rn, *z, ts);
      json_object_array_add(zones, sim_link_json(SIM_API_COMPUTE,
                                                 "projects/%s/zones/%s-%c",
                                                 sim_project(s), rn, *z));
    }
    snprintf(name, sizeof(name), "projects/%s/regions/%s", sim_project(s), rn);
    json_object_object_add(reg, "kind",
                           json_object_new_string("compute#region"));
    json_object_object_add(reg, "id",
                           json_object_new_string(sim_new_id(s, id)));
    json_object_object_add(reg, "creationTimestamp",
                           json_object_new_string(ts));
    json_object_object_add(reg, "name", json_object_new_string(rn));
    json_object_object_add(
        reg, "description",
        json_object_new_string(compute_regions[r].description));
    json_object_object_add(reg, "status", json_object_new_string("UP"));
    json_object_object_add(reg, "zones", zones);
    json_object_object_add(reg, "selfLink",
                           sim_link_json(SIM_API_COMPUTE, "%s", name));
    json_object_object_add(reg, "supportsPzs", json_object_new_boolean(0));
    sim_store_put(s, name, "compute#region", reg);
  }
}
