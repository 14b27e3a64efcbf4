/*
 * compute_health.c - Compute Engine v1: unmanaged instance groups
 * (insert/get/list/aggregatedList/delete/addInstances/removeInstances/
 * listInstances/setNamedPorts) and backendServices.getHealth, which is
 * where the instance boot model shows (docs/simulator.md, "Instance boot
 * model").
 *
 * An instance in a backend's group is HEALTHY when all hold:
 *  (a) it is RUNNING and has been for its boot delay since the last
 *      start or reset (per profile: fast 0-100 ms, demo 2-4 s, realistic
 *      60-90 s of simulated time);
 *  (b) its metadata has a non-empty `startup-script`;
 *  (c) the Cloud SQL instance named by its metadata key `edv-db-instance`
 *      exists (projects/P/instances/<name>) and is RUNNABLE (no key: no
 *      database to wait for);
 *  (d) for each Google health-check range (35.191.0.0/16, 130.211.0.0/22)
 *      the highest-priority INGRESS firewall rule of its network that
 *      targets it and covers tcp on the health check's port is an allow;
 *  (e) no fault forces it unhealthy (POST /_sim/faults {"unhealthy"}, or
 *      {"unhealthyImage"} naming the image its boot disk was made from).
 * GET /_sim/health/instances says which condition failed.
 *
 * Backend services and health checks belong to compute_net.c/compute_lb.c;
 * this file only reads them from the store by canonical name, as it reads
 * Cloud SQL instances (sql.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/compute_vm.h"
#include "sim/sim.h"

#define CP SIM_CVM_CP

/* The metadata key naming the tenant's Cloud SQL instance. */
#define HEALTH_DB_KEY "edv-db-instance"

/* --- instance groups ---------------------------------------------------- */

static char *group_name(sim *s, sim_req *req)
{
  return sim_cvm_name("projects/%s/zones/%s/instanceGroups/%s", sim_project(s),
                      sim_param(req, "zone"), sim_param(req, "instanceGroup"));
}

static json_object *members_of(json_object *g)
{
  json_object *m = json_object_object_get(sim_cvm_private(g), "members");

  if (m == NULL) {
    m = json_object_new_array();
    json_object_object_add(sim_cvm_private(g), "members", m);
  }
  return m;
}

static int has_member(json_object *g, const char *inst)
{
  json_object *m = members_of(g);

  for (size_t i = 0; i < sim_cvm_len(m); i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(m, i)), inst) ==
        0)
      return 1;
  return 0;
}

static int check_named_ports(sim_resp *resp, json_object *ports)
{
  for (size_t i = 0; i < sim_cvm_len(ports); i++) {
    json_object *p = json_object_array_get_idx(ports, i), *v;
    const char *n = sim_cvm_str(p, "name");
    int port =
        json_object_object_get_ex(p, "port", &v) ? json_object_get_int(v) : 0;

    if (n == NULL || !sim_valid_compute_name(n))
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid value for field "
                            "'resource.namedPorts[%zu].name': '%s'. Must be "
                            "a match of regex "
                            "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
                            i, n ? n : ""),
             -1;
    if (port < 1 || port > 65535)
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid value for field "
                            "'resource.namedPorts[%zu].port': '%d'. Must be "
                            "greater than or equal to 1 and less than or "
                            "equal to 65535.",
                            i, port),
             -1;
  }
  return 0;
}

static int groups_insert(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *g = NULL, *p;
  const char *zone = sim_param(req, "zone"), *gname;
  char *full = NULL, *net = NULL, id[24], ts[32], scope[100];
  int result = SIM_DONE;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (!sim_cvm_zone_exists(s, zone)) {
    full = sim_cvm_name("projects/%s/zones/%s", sim_project(s), zone);
    result = sim_cvm_not_found(resp, full);
    goto out;
  }
  if (sim_cvm_check_name(resp, body, &gname) < 0 ||
      sim_cvm_schema(resp, "InstanceGroup", body) < 0 ||
      check_named_ports(resp, json_object_object_get(body, "namedPorts")) < 0)
    goto out;
  full = sim_cvm_name("projects/%s/zones/%s/instanceGroups/%s", sim_project(s),
                      zone, gname);
  if (sim_store_get(s, full) || sim_op_pending(s, full)) {
    sim_err_legacy(resp, 409, "alreadyExists",
                   "The resource '%s' already exists", full);
    goto out;
  }
  if (sim_cvm_str(body, "network")) {
    net = sim_ref_name(s, sim_cvm_str(body, "network"));
    if (net == NULL || sim_store_get(s, net) == NULL) {
      sim_cvm_not_found(resp, net ? net : "");
      goto out;
    }
  }
  json_object_deep_copy(body, &g, NULL);
  json_object_object_add(g, "kind",
                         json_object_new_string("compute#instanceGroup"));
  json_object_object_add(g, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(g, "creationTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(g, "zone",
                         sim_link_json(SIM_API_COMPUTE, "projects/%s/zones/%s",
                                       sim_project(s), zone));
  if (net)
    json_object_object_add(g, "network",
                           sim_link_json(SIM_API_COMPUTE, "%s", net));
  json_object_object_add(g, "size", json_object_new_int(0));
  json_object_object_add(g, "fingerprint", sim_cvm_fingerprint(s));
  json_object_object_add(g, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", full));
  members_of(g);
  p = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string(full));
  json_object_object_add(p, "group", json_object_get(g));
  snprintf(scope, sizeof(scope), "zones/%s", zone);
  result = sim_cvm_op(s, req, resp, scope, "insert", full, g, SIM_DUR_QUICK, p);
out:
  json_object_put(g);
  free(net);
  free(full);
  return result;
}

static void groups_insert_apply(sim *s, sim_op *op, json_object *payload)
{
  if (sim_op_failed(op))
    return;
  sim_store_put(s, sim_cvm_str(payload, "name"), "compute#instanceGroup",
                json_object_get(json_object_object_get(payload, "group")));
}

static json_object *group_lookup(sim *s, sim_req *req, sim_resp *resp,
                                 char **name_out)
{
  char *name;
  json_object *g;

  *name_out = NULL;
  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  name = group_name(s, req);
  g = sim_store_get(s, name);
  if (g == NULL) {
    sim_cvm_not_found(resp, name);
    free(name);
    return NULL;
  }
  *name_out = name;
  return g;
}

static int groups_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *g = group_lookup(s, req, resp, &name);
  int result;

  if (g == NULL)
    return SIM_DONE;
  result = sim_resp_json(resp, 200, sim_cvm_render(s, g));
  free(name);
  return result;
}

/* A zonal list of coll (kind's items), as Compute renders it. */
static int zonal_list(sim *s, sim_req *req, sim_resp *resp, const char *coll,
                      const char *kind, const char *list_kind)
{
  char prefix[300];
  char *self;
  json_object *page;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/%s/%s/", sim_project(s),
           sim_param(req, "zone"), coll);
  self = sim_link(SIM_API_COMPUTE, "projects/%s/zones/%s/%s", sim_project(s),
                  sim_param(req, "zone"), coll);
  page = sim_list_page(s, req, prefix, kind, list_kind, self);
  free(self);
  sim_cvm_render_items(s, page);
  return sim_resp_json(resp, 200, page);
}

static int groups_list(sim *s, sim_req *req, sim_resp *resp)
{
  return zonal_list(s, req, resp, "instanceGroups", "compute#instanceGroup",
                    "compute#instanceGroupList");
}

/* Managed instance groups are not simulated: the list is empty (gcloud's
 * `instance-groups unmanaged describe` reads it to tell the kinds apart). */
static int managers_list(sim *s, sim_req *req, sim_resp *resp)
{
  return zonal_list(s, req, resp, "instanceGroupManagers",
                    "compute#instanceGroupManager",
                    "compute#instanceGroupManagerList");
}

static int groups_aggregated(sim *s, sim_req *req, sim_resp *resp)
{
  return sim_cvm_aggregated(s, req, resp, 1, "instanceGroups",
                            "compute#instanceGroup",
                            "compute#instanceGroupAggregatedList");
}

struct bs_user {
  sim *s;
  const char *group;
  char *user;
};

/* A backend service with backends[].group == c->group. */
static int bs_user_cb(void *data, const char *name, const char *kind,
                      json_object *obj)
{
  struct bs_user *c = data;
  json_object *backends = json_object_object_get(obj, "backends");

  (void)kind;
  for (size_t i = 0; i < sim_cvm_len(backends); i++) {
    char *gn = sim_ref_name(
        c->s, sim_cvm_str(json_object_array_get_idx(backends, i), "group"));
    int hit = gn && strcmp(gn, c->group) == 0;

    free(gn);
    if (hit) {
      c->user = strdup(name);
      return 1;
    }
  }
  return 0;
}

static int groups_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char *name, prefix[300], scope[100];
  json_object *g = group_lookup(s, req, resp, &name), *p;
  struct bs_user u;
  int result;

  if (g == NULL)
    return SIM_DONE;
  u.s = s;
  u.group = name;
  u.user = NULL;
  snprintf(prefix, sizeof(prefix), "projects/%s/global/backendServices/",
           sim_project(s));
  sim_store_each(s, prefix, bs_user_cb, &u);
  if (u.user == NULL) {
    snprintf(prefix, sizeof(prefix), "projects/%s/regions/", sim_project(s));
    sim_store_each(s, prefix, bs_user_cb, &u);
  }
  if (u.user) {
    result = sim_err_legacy(resp, 400, "resourceInUseByAnotherResource",
                            "The instance_group resource '%s' is already "
                            "being used by '%s'",
                            name, u.user);
    free(u.user);
  } else {
    p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    snprintf(scope, sizeof(scope), "zones/%s", sim_param(req, "zone"));
    result =
        sim_cvm_op(s, req, resp, scope, "delete", name, g, SIM_DUR_QUICK, p);
  }
  free(name);
  return result;
}

static void groups_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  if (!sim_op_failed(op))
    sim_store_del(s, sim_cvm_str(payload, "name"));
}

/* The canonical network of an instance's nic0, malloc'd, or NULL. */
static char *instance_network(sim *s, json_object *inst)
{
  json_object *nic = json_object_array_get_idx(
      json_object_object_get(inst, "networkInterfaces"), 0);

  return sim_cvm_str(nic, "network")
             ? sim_ref_name(s, sim_cvm_str(nic, "network"))
             : NULL;
}

/*
 * Resolves InstanceReference[] into canonical instance names (a new
 * array): each must exist, be in the group's zone and, when adding, on
 * the group's network and not yet a member. NULL with the error filled.
 */
static json_object *member_refs(sim *s, sim_resp *resp, json_object *g,
                                const char *gname, json_object *refs, int add)
{
  json_object *out = json_object_new_array();
  char want[300];
  const char *zl = strrchr(sim_cvm_str(g, "zone"), '/');
  char *gnet = sim_cvm_str(g, "network")
                   ? sim_ref_name(s, sim_cvm_str(g, "network"))
                   : NULL;

  snprintf(want, sizeof(want), "projects/%s/zones/%s/instances/",
           sim_project(s), zl ? zl + 1 : "");
  for (size_t i = 0; i < sim_cvm_len(refs); i++) {
    const char *ref =
        sim_cvm_str(json_object_array_get_idx(refs, i), "instance");
    char *in = ref ? sim_ref_name(s, ref) : NULL, *inet = NULL;
    json_object *inst = in ? sim_store_get(s, in) : NULL;
    int bad = 0;

    if (in == NULL) {
      sim_err_legacy(resp, 400, "required",
                     "Required field 'resource.instances[%zu].instance' not "
                     "specified",
                     i);
      bad = 1;
    } else if (strncmp(in, want, strlen(want)) != 0) {
      sim_err_legacy(resp, 400, "invalid",
                     "Invalid value for field "
                     "'resource.instances[%zu].instance': '%s'. Instance "
                     "must be in the same zone as the instance group.",
                     i, ref);
      bad = 1;
    } else if (inst == NULL && add) {
      sim_cvm_not_found(resp, in);
      bad = 1;
    } else if (add && has_member(g, in)) {
      sim_err_legacy(resp, 400, "memberAlreadyExists",
                     "Resource '%s' is already a member of '%s'", in, gname);
      bad = 1;
    } else if (add) {
      inet = instance_network(s, inst);
      if (gnet == NULL && inet) {
        gnet = strdup(inet); /* the first member fixes the network */
      } else if (gnet && (inet == NULL || strcmp(gnet, inet) != 0)) {
        sim_err_legacy(resp, 400, "invalid",
                       "Invalid value for field "
                       "'resource.instances[%zu].instance': '%s'. Instance "
                       "must be in network '%s' of the instance group.",
                       i, ref, gnet);
        bad = 1;
      }
    }
    free(inet);
    if (bad) {
      free(in);
      free(gnet);
      json_object_put(out);
      return NULL;
    }
    json_object_array_add(out, json_object_new_string(in));
    free(in);
  }
  free(gnet);
  return out;
}

static int groups_members(sim *s, sim_req *req, sim_resp *resp, int add)
{
  char *name, scope[100];
  json_object *g = group_lookup(s, req, resp, &name), *names, *p;
  int result;

  if (g == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp,
                     add ? "InstanceGroupsAddInstancesRequest"
                         : "InstanceGroupsRemoveInstancesRequest",
                     sim_body(req)) < 0) {
    free(name);
    return SIM_DONE;
  }
  names = member_refs(s, resp, g, name,
                      json_object_object_get(sim_body(req), "instances"), add);
  if (names == NULL) {
    free(name);
    return SIM_DONE;
  }
  p = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string(name));
  json_object_object_add(p, "instances", names);
  json_object_object_add(p, "add", json_object_new_boolean(add));
  snprintf(scope, sizeof(scope), "zones/%s", sim_param(req, "zone"));
  result =
      sim_cvm_op(s, req, resp, scope, add ? "addInstances" : "removeInstances",
                 name, g, SIM_DUR_QUICK, p);
  free(name);
  return result;
}

static int groups_add(sim *s, sim_req *req, sim_resp *resp)
{
  return groups_members(s, req, resp, 1);
}

static int groups_remove(sim *s, sim_req *req, sim_resp *resp)
{
  return groups_members(s, req, resp, 0);
}

static void groups_members_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *g = sim_store_get(s, sim_cvm_str(payload, "name"));
  json_object *names = json_object_object_get(payload, "instances");
  int add = json_object_get_boolean(json_object_object_get(payload, "add"));
  json_object *m, *keep;

  if (g == NULL || sim_op_failed(op))
    return;
  m = members_of(g);
  keep = json_object_new_array();
  for (size_t i = 0; i < sim_cvm_len(m); i++) {
    json_object *e = json_object_array_get_idx(m, i);
    int listed = 0;

    for (size_t j = 0; j < sim_cvm_len(names); j++)
      listed |=
          strcmp(json_object_get_string(e),
                 json_object_get_string(json_object_array_get_idx(names, j))) ==
          0;
    if (!listed)
      json_object_array_add(keep, json_object_get(e));
  }
  for (size_t j = 0; add && j < sim_cvm_len(names); j++) {
    const char *in =
        json_object_get_string(json_object_array_get_idx(names, j));
    json_object *inst = sim_store_get(s, in);

    /* Deleted meanwhile: nothing to add. */
    if (inst == NULL)
      continue;
    json_object_array_add(keep, json_object_new_string(in));
    if (!json_object_object_get_ex(g, "network", NULL)) {
      json_object *nic = json_object_array_get_idx(
          json_object_object_get(inst, "networkInterfaces"), 0);

      if (sim_cvm_str(nic, "network"))
        json_object_object_add(
            g, "network", json_object_new_string(sim_cvm_str(nic, "network")));
      if (sim_cvm_str(nic, "subnetwork"))
        json_object_object_add(
            g, "subnetwork",
            json_object_new_string(sim_cvm_str(nic, "subnetwork")));
    }
  }
  json_object_object_add(sim_cvm_private(g), "members", keep);
  json_object_object_add(g, "size",
                         json_object_new_int((int)sim_cvm_len(keep)));
  json_object_object_add(g, "fingerprint", sim_cvm_fingerprint(s));
}

static int groups_list_instances(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *g = group_lookup(s, req, resp, &name), *m, *items, *out;
  const char *state;
  int running_only;
  char id[24];

  if (g == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp, "InstanceGroupsListInstancesRequest",
                     sim_body(req)) < 0) {
    free(name);
    return SIM_DONE;
  }
  state = sim_cvm_str(sim_body(req), "instanceState");
  running_only = state && strcmp(state, "RUNNING") == 0;
  m = members_of(g);
  items = json_object_new_array();
  for (size_t i = 0; i < sim_cvm_len(m); i++) {
    json_object *inst = sim_store_get(
        s, json_object_get_string(json_object_array_get_idx(m, i)));
    json_object *e;
    const char *st;

    if (inst == NULL)
      continue;
    st = sim_cvm_instance_status(s, inst);
    if (running_only && strcmp(st, "RUNNING") != 0)
      continue;
    e = json_object_new_object();
    json_object_object_add(
        e, "instance",
        json_object_get(json_object_object_get(inst, "selfLink")));
    json_object_object_add(e, "status", json_object_new_string(st));
    if (json_object_object_get_ex(g, "namedPorts", NULL))
      json_object_object_add(
          e, "namedPorts",
          json_object_get(json_object_object_get(g, "namedPorts")));
    json_object_array_add(items, e);
  }
  out = json_object_new_object();
  json_object_object_add(
      out, "kind",
      json_object_new_string("compute#instanceGroupsListInstances"));
  json_object_object_add(out, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(out, "items", items);
  json_object_object_add(
      out, "selfLink",
      sim_link_json(SIM_API_COMPUTE, "%s/listInstances", name));
  free(name);
  return sim_resp_json(resp, 200, out);
}

static int groups_set_named_ports(sim *s, sim_req *req, sim_resp *resp)
{
  char *name, scope[100];
  json_object *g = group_lookup(s, req, resp, &name), *body = sim_body(req);
  json_object *p;
  int result;

  if (g == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp, "InstanceGroupsSetNamedPortsRequest", body) < 0 ||
      check_named_ports(resp, json_object_object_get(body, "namedPorts")) < 0 ||
      (sim_cvm_str(body, "fingerprint") &&
       sim_cvm_check_fingerprint(resp, sim_cvm_str(g, "fingerprint"),
                                 sim_cvm_str(body, "fingerprint"),
                                 "Supplied fingerprint does not match current "
                                 "fingerprint.") < 0)) {
    free(name);
    return SIM_DONE;
  }
  p = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string(name));
  json_object_object_add(
      p, "namedPorts",
      json_object_object_get_ex(body, "namedPorts", NULL)
          ? json_object_get(json_object_object_get(body, "namedPorts"))
          : json_object_new_array());
  snprintf(scope, sizeof(scope), "zones/%s", sim_param(req, "zone"));
  result = sim_cvm_op(s, req, resp, scope, "setNamedPorts", name, g,
                      SIM_DUR_QUICK, p);
  free(name);
  return result;
}

static void groups_set_named_ports_apply(sim *s, sim_op *op,
                                         json_object *payload)
{
  json_object *g = sim_store_get(s, sim_cvm_str(payload, "name"));

  if (g == NULL || sim_op_failed(op))
    return;
  json_object_object_add(
      g, "namedPorts",
      json_object_get(json_object_object_get(payload, "namedPorts")));
  json_object_object_add(g, "fingerprint", sim_cvm_fingerprint(s));
}

/* --- the boot model ----------------------------------------------------- */

struct cidr {
  uint32_t net, mask;
};

static int parse_cidr(const char *s, struct cidr *out)
{
  unsigned a, b, c, d;
  int bits = 32, n = 0;

  if (s == NULL || sscanf(s, "%u.%u.%u.%u%n", &a, &b, &c, &d, &n) != 4 ||
      a > 255 || b > 255 || c > 255 || d > 255)
    return -1;
  if (s[n] == '/') {
    char *end;

    bits = (int)strtol(s + n + 1, &end, 10);
    if (*end || bits < 0 || bits > 32)
      return -1;
  } else if (s[n] != '\0') {
    return -1;
  }
  out->mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
  out->net = ((a << 24) | (b << 16) | (c << 8) | d) & out->mask;
  return 0;
}

/* 1 when outer contains inner entirely. */
static int cidr_contains(const struct cidr *outer, const struct cidr *inner)
{
  return (outer->mask & inner->mask) == outer->mask &&
         (inner->net & outer->mask) == outer->net;
}

static int cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
  uint32_t m = a->mask & b->mask;

  return (a->net & m) == (b->net & m);
}

/* 1 when a rule's allowed[]/denied[] entries cover tcp on port. */
static int rule_covers_port(json_object *entries, int port)
{
  for (size_t i = 0; i < sim_cvm_len(entries); i++) {
    json_object *e = json_object_array_get_idx(entries, i);
    const char *proto = sim_cvm_str(e, "IPProtocol");
    json_object *ports = json_object_object_get(e, "ports");

    if (proto == NULL || (strcmp(proto, "tcp") != 0 &&
                          strcmp(proto, "all") != 0 && strcmp(proto, "6") != 0))
      continue;
    if (sim_cvm_len(ports) == 0)
      return 1;
    for (size_t j = 0; j < sim_cvm_len(ports); j++) {
      const char *p =
          json_object_get_string(json_object_array_get_idx(ports, j));
      int lo = 0, hi = 0;

      if (sscanf(p, "%d-%d", &lo, &hi) == 2) {
        if (port >= lo && port <= hi)
          return 1;
      } else if (atoi(p) == port) {
        return 1;
      }
    }
  }
  return 0;
}

/* 1 when the rule applies to the instance (target tags / SAs / all). */
static int rule_targets(json_object *rule, json_object *inst)
{
  json_object *tt = json_object_object_get(rule, "targetTags");
  json_object *ts = json_object_object_get(rule, "targetServiceAccounts");
  json_object *tags =
      json_object_object_get(json_object_object_get(inst, "tags"), "items");
  json_object *sas = json_object_object_get(inst, "serviceAccounts");

  if (sim_cvm_len(tt) == 0 && sim_cvm_len(ts) == 0)
    return 1;
  for (size_t i = 0; i < sim_cvm_len(tt); i++)
    for (size_t j = 0; j < sim_cvm_len(tags); j++)
      if (strcmp(json_object_get_string(json_object_array_get_idx(tt, i)),
                 json_object_get_string(json_object_array_get_idx(tags, j))) ==
          0)
        return 1;
  for (size_t i = 0; i < sim_cvm_len(ts); i++)
    for (size_t j = 0; j < sim_cvm_len(sas); j++) {
      const char *email =
          sim_cvm_str(json_object_array_get_idx(sas, j), "email");

      if (email &&
          strcmp(json_object_get_string(json_object_array_get_idx(ts, i)),
                 email) == 0)
        return 1;
    }
  return 0;
}

/*
 * How a rule's sources meet a probe range: 2 contains it, 1 overlaps it,
 * 0 neither. A rule with no source at all admits 0.0.0.0/0, as Google
 * defaults sourceRanges; one with only source tags or service accounts
 * never sees health-check probes.
 */
static int rule_sources(json_object *rule, const struct cidr *probe)
{
  json_object *sr = json_object_object_get(rule, "sourceRanges");
  int best = 0;

  if (sim_cvm_len(sr) == 0)
    return sim_cvm_len(json_object_object_get(rule, "sourceTags")) ||
                   sim_cvm_len(
                       json_object_object_get(rule, "sourceServiceAccounts"))
               ? 0
               : 2;
  for (size_t i = 0; i < sim_cvm_len(sr); i++) {
    struct cidr c;

    if (parse_cidr(json_object_get_string(json_object_array_get_idx(sr, i)),
                   &c) < 0)
      continue;
    if (cidr_contains(&c, probe))
      return 2;
    if (cidr_overlaps(&c, probe))
      best = 1;
  }
  return best;
}

struct fw_ctx {
  sim *s;
  json_object *inst;
  const char *network; /* canonical */
  struct cidr probe;
  int port;
  long best_prio; /* lowest priority number seen; -1 none */
  int best_allow;
};

static int fw_cb(void *data, const char *name, const char *kind,
                 json_object *rule)
{
  struct fw_ctx *c = data;
  const char *dir = sim_cvm_str(rule, "direction");
  char *net;
  long prio;
  int allow, src, same;
  json_object *v;

  (void)name;
  (void)kind;
  if ((dir && strcmp(dir, "INGRESS") != 0) ||
      json_object_get_boolean(json_object_object_get(rule, "disabled")))
    return 0;
  net = sim_ref_name(c->s, sim_cvm_str(rule, "network"));
  same = net && strcmp(net, c->network) == 0;
  free(net);
  if (!same || !rule_targets(rule, c->inst))
    return 0;
  allow = json_object_object_get_ex(rule, "allowed", NULL);
  if (!rule_covers_port(
          json_object_object_get(rule, allow ? "allowed" : "denied"), c->port))
    return 0;
  /* An allow must admit the whole probe range; a deny that touches it
   * already drops some probes. */
  src = rule_sources(rule, &c->probe);
  if ((allow && src < 2) || (!allow && src < 1))
    return 0;
  prio = json_object_object_get_ex(rule, "priority", &v)
             ? (long)json_object_get_int64(v)
             : 1000;
  if (c->best_prio < 0 || prio < c->best_prio ||
      (prio == c->best_prio && !allow)) {
    c->best_prio = prio;
    c->best_allow = allow;
  }
  return 0;
}

/* Google's health-check source ranges. */
static const char *const probe_ranges[] = {"35.191.0.0/16", "130.211.0.0/22"};

#define FW_KIND "compute#firewall"

/* Firewall rules by target, so that a health check weighs the rules that
 * can reach its instance rather than every rule of the project: "t:TAG"
 * per target tag, "a:EMAIL" per target service account, "*" for a rule
 * that targets every instance. */
static void fw_keys(sim *s, json_object *rule,
                    void (*emit)(void *ctx, const char *key), void *ctx)
{
  json_object *tt = json_object_object_get(rule, "targetTags");
  json_object *ts = json_object_object_get(rule, "targetServiceAccounts");
  char key[600];

  (void)s;
  if (sim_cvm_len(tt) == 0 && sim_cvm_len(ts) == 0)
    emit(ctx, "*");
  for (size_t i = 0; i < sim_cvm_len(tt); i++) {
    snprintf(key, sizeof(key), "t:%s",
             json_object_get_string(json_object_array_get_idx(tt, i)));
    emit(ctx, key);
  }
  for (size_t i = 0; i < sim_cvm_len(ts); i++) {
    snprintf(key, sizeof(key), "a:%s",
             json_object_get_string(json_object_array_get_idx(ts, i)));
    emit(ctx, key);
  }
}

/* fw_cb over the rules under prefix filed under key. A rule met twice
 * (two of the instance's tags) weighs the same twice: the verdict keeps
 * the lowest priority, a deny winning a tie, in any order. */
static void fw_weigh(sim *s, const char *prefix, const char *key,
                     struct fw_ctx *c)
{
  size_t n;
  const char **v = sim_store_lookup_sorted(s, FW_KIND, key, prefix, &n);

  for (size_t i = 0; v && i < n; i++)
    fw_cb(c, v[i], FW_KIND, sim_store_get(s, v[i]));
  free(v);
}

/* 1 when the firewall admits every probe range on tcp:port; else 0 with
 * the first range refused in *range. */
static int firewall_admits(sim *s, json_object *inst, int port,
                           const char **range)
{
  char prefix[300], key[600];
  char *net = NULL;
  json_object *nic = json_object_array_get_idx(
      json_object_object_get(inst, "networkInterfaces"), 0);
  json_object *tags =
      json_object_object_get(json_object_object_get(inst, "tags"), "items");
  json_object *sas = json_object_object_get(inst, "serviceAccounts");
  int ok = 1;

  if (sim_cvm_str(nic, "network"))
    net = sim_ref_name(s, sim_cvm_str(nic, "network"));
  snprintf(prefix, sizeof(prefix), "projects/%s/global/firewalls/",
           sim_project(s));
  for (size_t i = 0; ok && i < 2; i++) {
    struct fw_ctx c;

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.inst = inst;
    c.network = net ? net : "";
    c.port = port;
    c.best_prio = -1;
    parse_cidr(probe_ranges[i], &c.probe);
    fw_weigh(s, prefix, "*", &c);
    for (size_t j = 0; j < sim_cvm_len(tags); j++) {
      snprintf(key, sizeof(key), "t:%s",
               json_object_get_string(json_object_array_get_idx(tags, j)));
      fw_weigh(s, prefix, key, &c);
    }
    for (size_t j = 0; j < sim_cvm_len(sas); j++) {
      const char *email =
          sim_cvm_str(json_object_array_get_idx(sas, j), "email");

      if (email) {
        snprintf(key, sizeof(key), "a:%s", email);
        fw_weigh(s, prefix, key, &c);
      }
    }
    if (c.best_prio < 0 || !c.best_allow) {
      ok = 0;
      *range = probe_ranges[i];
    }
  }
  free(net);
  return ok;
}

const char *sim_cvm_metadata(json_object *inst, const char *key)
{
  json_object *items =
      json_object_object_get(json_object_object_get(inst, "metadata"), "items");

  for (size_t i = 0; i < sim_cvm_len(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *k = sim_cvm_str(it, "key");

    if (k && strcmp(k, key) == 0)
      return sim_cvm_str(it, "value");
  }
  return NULL;
}

uint64_t sim_cvm_priv_u64(json_object *obj, const char *key)
{
  json_object *v =
      json_object_object_get(json_object_object_get(obj, "_sim"), key);

  return v ? (uint64_t)json_object_get_int64(v) : 0;
}

/* 1 when a fault forces instances booted from the image of its boot disk
 * unhealthy (POST /_sim/faults {"unhealthyImage"}). */
static int boot_image_faulty(sim *s, json_object *inst)
{
  json_object *disks = json_object_object_get(inst, "disks");

  for (size_t i = 0; i < sim_cvm_len(disks); i++) {
    json_object *d = json_object_array_get_idx(disks, i), *b, *disk;
    const char *src = sim_cvm_str(d, "source"), *img;
    char *dn;

    if (!json_object_object_get_ex(d, "boot", &b) ||
        !json_object_get_boolean(b) || !src || !(dn = sim_ref_name(s, src)))
      continue;
    disk = sim_store_get(s, dn);
    free(dn);
    img = sim_cvm_str(disk, "sourceImage");
    return img && sim_fault_unhealthy_image(s, img);
  }
  return 0;
}

/*
 * The boot model (see the top of this file). Returns 1 when HEALTHY;
 * otherwise 0 with the first failed condition in reason.
 */
static int instance_healthy(sim *s, const char *name, json_object *inst,
                            int port, char *reason, size_t n)
{
  const char *status = sim_cvm_instance_status(s, inst);
  uint64_t now = sim_now_ms(s), since = sim_cvm_priv_u64(inst, "startMs");
  uint64_t boot = sim_cvm_priv_u64(inst, "bootMs");
  const char *script = sim_cvm_metadata(inst, "startup-script");
  const char *db = sim_cvm_metadata(inst, HEALTH_DB_KEY);
  const char *range = NULL;

  if (strcmp(status, "RUNNING") != 0) {
    snprintf(reason, n, "instance is %s, not RUNNING", status);
    return 0;
  }
  if (now < since + boot) {
    snprintf(reason, n,
             "booting: running for %llu ms of its %llu ms boot delay",
             (unsigned long long)(now - since), (unsigned long long)boot);
    return 0;
  }
  if (script == NULL || script[0] == '\0') {
    snprintf(reason, n, "no startup-script in the instance metadata");
    return 0;
  }
  if (db && db[0]) {
    char dbname[300];
    json_object *sql;
    const char *state;

    snprintf(dbname, sizeof(dbname), "projects/%s/instances/%s", sim_project(s),
             db);
    sql = sim_store_get(s, dbname);
    state = sim_cvm_str(sql, "state");
    if (sql == NULL) {
      snprintf(reason, n, "database '%s' (metadata %s) does not exist", db,
               HEALTH_DB_KEY);
      return 0;
    }
    if (state == NULL || strcmp(state, "RUNNABLE") != 0) {
      snprintf(reason, n, "database '%s' is %s, not RUNNABLE", db,
               state ? state : "in no state");
      return 0;
    }
  }
  if (!firewall_admits(s, inst, port, &range)) {
    snprintf(reason, n,
             "no INGRESS firewall rule admits tcp:%d from %s to the instance",
             port, range);
    return 0;
  }
  if (sim_fault_unhealthy(s, name)) {
    snprintf(reason, n, "forced unhealthy by a fault");
    return 0;
  }
  if (boot_image_faulty(s, inst)) {
    snprintf(reason, n, "forced unhealthy by a fault on its boot image");
    return 0;
  }
  if (sim_zone_down(s, sim_cvm_str(inst, "zone"))) {
    snprintf(reason, n, "its region is down (a regionDown fault)");
    return 0;
  }
  snprintf(reason, n, "healthy");
  return 1;
}

/* The port of a named port of the group, or 0. */
static int named_port(json_object *g, const char *pname)
{
  json_object *ports = json_object_object_get(g, "namedPorts");

  for (size_t i = 0; pname && i < sim_cvm_len(ports); i++) {
    json_object *p = json_object_array_get_idx(ports, i);

    if (sim_cvm_str(p, "name") && strcmp(sim_cvm_str(p, "name"), pname) == 0)
      return json_object_get_int(json_object_object_get(p, "port"));
  }
  return 0;
}

/*
 * The serving port (the backend service's portName in the group's named
 * ports, 80 by default) and the port the health check probes (its own
 * port, or the serving port).
 */
static void health_ports(sim *s, json_object *bs, json_object *g, int *serving,
                         int *probe)
{
  static const char *const hc_keys[] = {"httpHealthCheck",  "httpsHealthCheck",
                                        "http2HealthCheck", "tcpHealthCheck",
                                        "sslHealthCheck",   "grpcHealthCheck"};
  const char *pname = sim_cvm_str(bs, "portName");
  json_object *hcs = json_object_object_get(bs, "healthChecks");
  char *hcn = NULL;
  json_object *hc;

  *serving = named_port(g, pname ? pname : "http");
  if (*serving == 0)
    *serving = 80;
  *probe = *serving;
  if (sim_cvm_len(hcs) > 0)
    hcn = sim_ref_name(
        s, json_object_get_string(json_object_array_get_idx(hcs, 0)));
  hc = hcn ? sim_store_get(s, hcn) : NULL;
  free(hcn);
  for (size_t i = 0; hc && i < sizeof(hc_keys) / sizeof(*hc_keys); i++) {
    json_object *sub = json_object_object_get(hc, hc_keys[i]), *v;
    const char *spec = sim_cvm_str(sub, "portSpecification");

    if (sub == NULL)
      continue;
    if (spec && strcmp(spec, "USE_SERVING_PORT") == 0)
      break;
    if (spec && strcmp(spec, "USE_NAMED_PORT") == 0) {
      int p = named_port(g, sim_cvm_str(sub, "portName"));

      if (p)
        *probe = p;
      break;
    }
    if (json_object_object_get_ex(sub, "port", &v))
      *probe = json_object_get_int(v);
    else
      *probe = strcmp(hc_keys[i], "httpsHealthCheck") == 0 ? 443 : 80;
    break;
  }
}

static int backend_has_group(sim *s, json_object *bs, const char *group)
{
  struct bs_user u;

  u.s = s;
  u.group = group;
  u.user = NULL;
  bs_user_cb(&u, "", "", bs);
  if (u.user == NULL)
    return 0;
  free(u.user);
  return 1;
}

json_object *sim_cvm_group_health(sim *s, json_object *bs, json_object *g,
                                  json_object *names)
{
  json_object *arr = json_object_new_array(), *m;
  char reason[300];
  int serving, probe;

  health_ports(s, bs, g, &serving, &probe);
  m = json_object_object_get(json_object_object_get(g, "_sim"), "members");
  for (size_t i = 0; i < sim_cvm_len(m); i++) {
    const char *in = json_object_get_string(json_object_array_get_idx(m, i));
    json_object *inst = sim_store_get(s, in), *e, *nic;

    if (inst == NULL)
      continue;
    nic = json_object_array_get_idx(
        json_object_object_get(inst, "networkInterfaces"), 0);
    e = json_object_new_object();
    json_object_object_add(
        e, "instance",
        json_object_get(json_object_object_get(inst, "selfLink")));
    if (sim_cvm_str(nic, "networkIP"))
      json_object_object_add(
          e, "ipAddress",
          json_object_new_string(sim_cvm_str(nic, "networkIP")));
    json_object_object_add(e, "port", json_object_new_int(serving));
    json_object_object_add(
        e, "healthState",
        json_object_new_string(
            instance_healthy(s, in, inst, probe, reason, sizeof(reason))
                ? "HEALTHY"
                : "UNHEALTHY"));
    json_object_array_add(arr, e);
    if (names)
      json_object_array_add(names, json_object_new_string(in));
  }
  return arr;
}

static int backend_get_health(sim *s, sim_req *req, sim_resp *resp)
{
  char *bsn, *gn = NULL;
  json_object *bs, *g, *out, *arr;
  json_object *body = sim_body(req);
  int result = SIM_DONE;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  bsn = sim_cvm_name("projects/%s/global/backendServices/%s", sim_project(s),
                     sim_param(req, "backendService"));
  bs = sim_store_get(s, bsn);
  if (bs == NULL) {
    result = sim_cvm_not_found(resp, bsn);
    goto out;
  }
  if (sim_cvm_schema(resp, "ResourceGroupReference", body) < 0)
    goto out;
  if (sim_cvm_str(body, "group") == NULL) {
    sim_err_legacy(resp, 400, "required",
                   "Required field 'resource.group' not specified");
    goto out;
  }
  gn = sim_ref_name(s, sim_cvm_str(body, "group"));
  g = gn ? sim_store_get(s, gn) : NULL;
  if (g == NULL) {
    sim_cvm_not_found(resp, gn ? gn : "");
    goto out;
  }
  if (!backend_has_group(s, bs, gn)) {
    sim_err_legacy(resp, 400, "invalid",
                   "Invalid value for field 'resource.group': '%s'. The "
                   "instance group is not a backend of backend service "
                   "'%s'.",
                   sim_cvm_str(body, "group"), bsn);
    goto out;
  }
  arr = sim_cvm_group_health(s, bs, g, NULL);
  out = json_object_new_object();
  json_object_object_add(
      out, "kind", json_object_new_string("compute#backendServiceGroupHealth"));
  /* An empty group answers without healthStatus, as Google does. */
  if (sim_cvm_len(arr))
    json_object_object_add(out, "healthStatus", arr);
  else
    json_object_put(arr);
  result = sim_resp_json(resp, 200, out);
out:
  free(gn);
  free(bsn);
  return result;
}

/* --- admin: why is an instance (un)healthy ------------------------------ */

struct admin_ctx {
  sim *s;
  json_object *out;
};

struct port_ctx {
  sim *s;
  const char *inst;
  int probe;
  char *bs;
};

/* Finds a backend service whose group holds the instance. */
static int port_cb(void *data, const char *name, const char *kind,
                   json_object *bs)
{
  struct port_ctx *c = data;
  json_object *backends = json_object_object_get(bs, "backends");

  (void)kind;
  for (size_t i = 0; i < sim_cvm_len(backends); i++) {
    char *gn = sim_ref_name(
        c->s, sim_cvm_str(json_object_array_get_idx(backends, i), "group"));
    json_object *g = gn ? sim_store_get(c->s, gn) : NULL;
    int serving;

    free(gn);
    if (g && json_object_object_get(g, "_sim") && has_member(g, c->inst)) {
      health_ports(c->s, bs, g, &serving, &c->probe);
      c->bs = strdup(name);
      return 1;
    }
  }
  return 0;
}

static int admin_inst_cb(void *data, const char *name, const char *kind,
                         json_object *inst)
{
  struct admin_ctx *c = data;
  struct port_ctx pc;
  char prefix[300], reason[300];
  json_object *e, *p;
  int ok;

  if (strcmp(kind, "compute#instance") != 0)
    return 0;
  pc.s = c->s;
  pc.inst = name;
  pc.probe = 80;
  pc.bs = NULL;
  snprintf(prefix, sizeof(prefix), "projects/%s/global/backendServices/",
           sim_project(c->s));
  sim_store_each(c->s, prefix, port_cb, &pc);
  ok = instance_healthy(c->s, name, inst, pc.probe, reason, sizeof(reason));
  p = json_object_object_get(inst, "_sim");
  e = json_object_new_object();
  json_object_object_add(e, "instance", json_object_new_string(name));
  json_object_object_add(
      e, "status", json_object_new_string(sim_cvm_instance_status(c->s, inst)));
  json_object_object_add(e, "healthState",
                         json_object_new_string(ok ? "HEALTHY" : "UNHEALTHY"));
  json_object_object_add(e, "reason", json_object_new_string(reason));
  json_object_object_add(e, "port", json_object_new_int(pc.probe));
  if (pc.bs)
    json_object_object_add(e, "backendService", json_object_new_string(pc.bs));
  json_object_object_add(
      e, "resets",
      json_object_new_int64((int64_t)sim_cvm_priv_u64(inst, "resets")));
  if (sim_cvm_str(p, "lastResetTimestamp"))
    json_object_object_add(
        e, "lastResetTimestamp",
        json_object_new_string(sim_cvm_str(p, "lastResetTimestamp")));
  json_object_object_add(
      e, "bootDelayMs",
      json_object_new_int64((int64_t)sim_cvm_priv_u64(inst, "bootMs")));
  json_object_array_add(c->out, e);
  free(pc.bs);
  return 0;
}

/* GET /_sim/health/instances: every instance with its health, the reason,
 * its reset count and last reset (Instance has no field for those). */
static int admin_health_instances(sim *s, sim_req *req, sim_resp *resp)
{
  struct admin_ctx c;
  char prefix[300];
  json_object *o = json_object_new_object();

  (void)req;
  c.s = s;
  c.out = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(s));
  sim_store_each(s, prefix, admin_inst_cb, &c);
  json_object_object_add(o, "instances", c.out);
  return sim_resp_json(resp, 200, o);
}

/* --- table -------------------------------------------------------------- */

static const sim_route health_routes[] = {
    {"POST", CP "/zones/{zone}/instanceGroups", "compute.instanceGroups.insert",
     groups_insert, groups_insert_apply, 0, NULL},
    {"GET", CP "/zones/{zone}/instanceGroupManagers",
     "compute.instanceGroupManagers.list", managers_list, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}/instanceGroups", "compute.instanceGroups.list",
     groups_list, NULL, 0, NULL},
    {"GET", CP "/aggregated/instanceGroups",
     "compute.instanceGroups.aggregatedList", groups_aggregated, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}/instanceGroups/{instanceGroup}",
     "compute.instanceGroups.get", groups_get, NULL, 0, NULL},
    {"DELETE", CP "/zones/{zone}/instanceGroups/{instanceGroup}",
     "compute.instanceGroups.delete", groups_delete, groups_delete_apply, 0,
     NULL},
    {"POST", CP "/zones/{zone}/instanceGroups/{instanceGroup}/addInstances",
     "compute.instanceGroups.addInstances", groups_add, groups_members_apply, 0,
     NULL},
    {"POST", CP "/zones/{zone}/instanceGroups/{instanceGroup}/removeInstances",
     "compute.instanceGroups.removeInstances", groups_remove,
     groups_members_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/instanceGroups/{instanceGroup}/listInstances",
     "compute.instanceGroups.listInstances", groups_list_instances, NULL, 0,
     NULL},
    {"POST", CP "/zones/{zone}/instanceGroups/{instanceGroup}/setNamedPorts",
     "compute.instanceGroups.setNamedPorts", groups_set_named_ports,
     groups_set_named_ports_apply, 0, NULL},
    {"POST", CP "/global/backendServices/{backendService}/getHealth",
     "compute.backendServices.getHealth", backend_get_health, NULL, 0, NULL},
};

static const sim_route health_admin_routes[] = {
    {"GET", "/_sim/health/instances", "sim.health.instances",
     admin_health_instances, NULL, SIM_ROUTE_NOAUTH | SIM_ROUTE_LOOPBACK, NULL},
};

int sim_cvm_health_init(sim *s)
{
  if (sim_store_index(s, FW_KIND, fw_keys) < 0 ||
      sim_register(s, SIM_API_COMPUTE, health_routes,
                   sizeof(health_routes) / sizeof(*health_routes)) < 0)
    return -1;
  return sim_register(s, SIM_API_ADMIN, health_admin_routes, 1);
}
