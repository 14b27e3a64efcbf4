/*
 * servicenet.c - Service Networking v1, just private services access:
 * services.connections create and list. There is no discovery document
 * for this API in the repo; paths and shapes follow Google's public REST
 * reference (POST/GET /v1/services/{service}/connections).
 *
 * A connection peers the producer's network into the consumer's through
 * globalAddresses of purpose VPC_PEERING (written by the Compute module as
 * projects/P/global/addresses/A). We keep it under
 * projects/P/services/<service>/connections/<network name> and answer
 * sim_psa_ranges() from it so Cloud SQL can hand out private addresses.
 *
 * Operations are google.longrunning ones under
 * projects/P/locations/global/operations/ (readable through the generic
 * LRO route of certmgr.c); the real service names them operations/pssn.*.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/modules.h"
#include "sim/servicenet.h"
#include "sim/jsonutil.h"
#include "sim/sim.h"

#define SN_SERVICE "servicenetworking.googleapis.com"

static const char *last_seg(const char *name)
{
  const char *p = strrchr(name, '/');

  return p ? p + 1 : name;
}

char *sim_psa_key(sim *s, const char *network)
{
  char buf[400];

  snprintf(buf, sizeof(buf),
           "projects/%s/services/" SN_SERVICE "/connections/%s", sim_project(s),
           last_seg(network));
  return strdup(buf);
}

json_object *sim_psa_ranges(sim *s, const char *network)
{
  char *key = sim_psa_key(s, network), addr[400];
  json_object *conn = key ? sim_store_get(s, key) : NULL, *names, *out;

  free(key);
  if (conn == NULL)
    return NULL;
  names = json_object_object_get(conn, "reservedPeeringRanges");
  out = json_object_new_array();
  for (size_t i = 0; i < alen(names); i++) {
    const char *n = json_object_get_string(json_object_array_get_idx(names, i));
    json_object *a, *pl;
    char cidr[80];

    snprintf(addr, sizeof(addr), "projects/%s/global/addresses/%s",
             sim_project(s), n);
    a = sim_store_get(s, addr);
    if (a == NULL || js(a, "address") == NULL ||
        !json_object_object_get_ex(a, "prefixLength", &pl))
      continue;
    snprintf(cidr, sizeof(cidr), "%s/%d", js(a, "address"),
             json_object_get_int(pl));
    json_object_array_add(out, json_object_new_string(cidr));
  }
  return out;
}

/*
 * "projects/{NUMBER_OR_ID}/global/networks/N" (any URL form) to our
 * canonical "projects/<id>/global/networks/N"; NULL when it is not a
 * network of this project.
 */
static char *canonical_network(sim *s, const char *ref)
{
  char *name = sim_ref_name(s, ref), *out = NULL, buf[400];
  const char *p, *slash;
  int numeric = 1;

  if (name == NULL || strncmp(name, "projects/", 9) != 0)
    goto done;
  p = name + 9;
  slash = strchr(p, '/');
  if (slash == NULL || strncmp(slash, "/global/networks/", 17) != 0 ||
      slash[17] == '\0' || strchr(slash + 17, '/'))
    goto done;
  for (const char *q = p; q < slash; q++)
    numeric &= isdigit((unsigned char)*q) != 0;
  if (!numeric && ((size_t)(slash - p) != strlen(sim_project(s)) ||
                   strncmp(p, sim_project(s), (size_t)(slash - p)) != 0))
    goto done;
  snprintf(buf, sizeof(buf), "projects/%s/global/networks/%s", sim_project(s),
           slash + 17);
  out = strdup(buf);
done:
  free(name);
  return out;
}

static int check_service(sim_req *req, sim_resp *resp)
{
  if (strcmp(sim_param(req, "service"), SN_SERVICE) == 0)
    return 0;
  sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
              "Service 'services/%s' is not a private service access "
              "producer.",
              sim_param(req, "service"));
  return -1;
}

/* Each reserved range must be a VPC_PEERING globalAddress of network. */
static int check_ranges(sim *s, sim_resp *resp, json_object *ranges,
                        const char *network)
{
  size_t n = alen(ranges);

  if (!json_object_is_type(ranges, json_type_array) || n == 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "At least one reserved peering range must be "
                       "specified."),
           -1;
  for (size_t i = 0; i < n; i++) {
    const char *r =
        json_object_get_string(json_object_array_get_idx(ranges, i));
    char key[400], *anet;
    json_object *a;
    const char *purpose, *net;
    int same;

    snprintf(key, sizeof(key), "projects/%s/global/addresses/%s",
             sim_project(s), r ? r : "");
    a = sim_store_get(s, key);
    if (a == NULL)
      return sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                         "Allocated IP range '%s' not found in network.", r),
             -1;
    purpose = js(a, "purpose");
    if (purpose == NULL || strcmp(purpose, "VPC_PEERING") != 0)
      return sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                         "Allocated IP range '%s' must have purpose "
                         "VPC_PEERING.",
                         r),
             -1;
    net = js(a, "network");
    if (net == NULL)
      continue;
    anet = canonical_network(s, net);
    same = anet && strcmp(anet, network) == 0;
    free(anet);
    if (!same)
      return sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                         "Allocated IP range '%s' belongs to a different "
                         "network.",
                         r),
             -1;
  }
  return 0;
}

static int connections_create(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *ranges, *conn, *old;
  const char *ref = js(body, "network");
  char *network, *key;
  sim_op_spec spec;
  sim_op *op;

  if (check_service(req, resp) < 0)
    return SIM_DONE;
  if (ref == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Network must be specified.");
  network = canonical_network(s, ref);
  if (network == NULL || sim_store_get(s, network) == NULL) {
    sim_err_rpc(resp, 400, "FAILED_PRECONDITION", "Network '%s' not found.",
                ref);
    free(network);
    return SIM_DONE;
  }
  ranges = json_object_object_get(body, "reservedPeeringRanges");
  if (check_ranges(s, resp, ranges, network) < 0) {
    free(network);
    return SIM_DONE;
  }
  key = sim_psa_key(s, network);
  old = sim_store_get(s, key);
  if (old &&
      !json_object_equal(json_object_object_get(old, "reservedPeeringRanges"),
                         ranges)) {
    sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                "Cannot modify allocated ranges in CreateConnection. Please "
                "use UpdateConnection.");
    free(key);
    free(network);
    return SIM_DONE;
  }
  conn = json_object_new_object();
  json_object_object_add(conn, "network", json_object_new_string(ref));
  json_object_object_add(conn, "reservedPeeringRanges",
                         json_object_get(ranges));
  json_object_object_add(conn, "peering",
                         json_object_new_string("servicenetworking-"
                                                "googleapis-com"));
  json_object_object_add(conn, "service",
                         json_object_new_string("services/" SN_SERVICE));
  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_LRO;
  spec.duration = SIM_DUR_QUICK;
  spec.scope = "global";
  spec.operation_type = "create";
  spec.target_name = key;
  spec.payload = conn;
  op = sim_op_start(s, req, &spec);
  free(key);
  free(network);
  return op ? sim_op_respond(s, resp, op) : sim_resp_json(resp, 503, NULL);
}

static void connections_create_apply(sim *s, sim_op *op, json_object *conn)
{
  char *network, *key;

  if (sim_op_failed(op))
    return;
  network = canonical_network(s, js(conn, "network"));
  key = network ? sim_psa_key(s, network) : NULL;
  if (key)
    sim_store_put(s, key, "servicenetworking.connection",
                  json_object_get(conn));
  sim_op_set_response(op,
                      "type.googleapis.com/google.cloud.servicenetworking.v1."
                      "Connection",
                      json_object_get(conn));
  free(key);
  free(network);
}

static int connections_list(sim *s, sim_req *req, sim_resp *resp)
{
  const char *ref = sim_query(req, "network");
  char *network, *key;
  json_object *o, *arr, *conn;

  if (check_service(req, resp) < 0)
    return SIM_DONE;
  if (ref == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Network must be specified.");
  network = canonical_network(s, ref);
  if (network == NULL) {
    sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Invalid network '%s'.", ref);
    return SIM_DONE;
  }
  key = sim_psa_key(s, network);
  conn = key ? sim_store_get(s, key) : NULL;
  arr = json_object_new_array();
  if (conn)
    json_object_array_add(arr, json_object_get(conn));
  o = json_object_new_object();
  json_object_object_add(o, "connections", arr);
  free(key);
  free(network);
  return sim_resp_json(resp, 200, o);
}

static const sim_route servicenet_routes[] = {
    {"POST", "/v1/services/{service}/connections",
     "servicenetworking.services.connections.create", connections_create,
     connections_create_apply, 0, NULL},
    {"GET", "/v1/services/{service}/connections",
     "servicenetworking.services.connections.list", connections_list, NULL, 0,
     NULL},
};

int sim_servicenet_init(sim *s)
{
  return sim_register(s, SIM_API_SERVICENET, servicenet_routes,
                      sizeof(servicenet_routes) / sizeof(*servicenet_routes));
}
