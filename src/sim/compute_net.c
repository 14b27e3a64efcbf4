/*
 * compute_net.c - Compute Engine v1 networking collections: subnetworks
 * (with expandIpCidrRange), firewalls, routers (Cloud NAT), addresses and
 * globalAddresses; plus the generic machinery every collection of this
 * file and of compute_lb.c shares (the route table, insert/get/list/
 * delete/patch/update/setLabels, operations, in-use checks) and the
 * compute_int.h lookups.
 *
 * A collection is a sim_net_coll: its names, quota, flags and a validate
 * function. The handlers here do what is the same for all of them:
 * schema check of the body against the discovery document, name rules,
 * 409/404, fingerprints (412), quotas, the operation, and at DONE the
 * change itself. A resource appears when its insert operation is DONE,
 * like networks in compute.c; what could race between two operations
 * (a subnet range, an allocated address) is checked again at DONE, and the
 * operation ends in error when it lost.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/compute_int.h"
#include "sim/compute_net.h"
#include "sim/modules.h"
#include "sim/schema.h"
#include "sim/jsonutil.h"
#include "sim/sim.h"

#define CP "/compute/v1/projects/{project}"
#define CR CP "/regions/{region}"
#define CG CP "/global"

/* json_object_array_length() asserts on anything but an array; a client
 * may send null or an object where an array belongs (the schema check
 * catches most, not a null). */

/* --- small helpers ------------------------------------------------------ */

int sim_net_invalid(sim_resp *resp, const char *field, const char *value,
                    const char *fmt, ...)
{
  char why[600];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  sim_err_legacy(resp, 400, "invalid",
                 "Invalid value for field 'resource.%s': '%s'. %s", field,
                 value ? value : "", why);
  return -1;
}

int sim_net_required(sim_resp *resp, const char *field)
{
  sim_err_legacy(resp, 400, "required",
                 "Required field 'resource.%s' not specified", field);
  return -1;
}

const char *sim_net_str(json_object *obj, const char *field)
{
  json_object *v;

  if (obj == NULL || !json_object_object_get_ex(obj, field, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static int not_found(sim_resp *resp, const char *name)
{
  sim_err_legacy(resp, 404, "notFound", "The resource '%s' was not found",
                 name);
  return -1;
}

/* The collection segment of a canonical name: "networks" for
 * "projects/p/global/networks/n". */
static int name_in_seg(const char *canon, const char *seg)
{
  const char *last = strrchr(canon, '/');
  size_t n = strlen(seg);

  if (last == NULL || last - canon < (long)n + 1)
    return 0;
  return strncmp(last - n, seg, n) == 0 && last[-(long)n - 1] == '/';
}

char *sim_net_ref(sim *s, sim_resp *resp, json_object *obj, const char *field,
                  const char *at, const char *seg, int required, int *absent)
{
  const char *ref = sim_net_str(obj, field);
  char *canon;

  if (absent)
    *absent = 0;
  if (ref == NULL || *ref == '\0') {
    if (absent)
      *absent = 1;
    if (required)
      sim_net_required(resp, at);
    return NULL;
  }
  canon = sim_ref_name(s, ref);
  if (canon == NULL) {
    sim_resp_json(resp, 503, NULL);
    return NULL;
  }
  if (seg && !name_in_seg(canon, seg)) {
    sim_net_invalid(resp, at, ref, "The URL is malformed.");
    free(canon);
    return NULL;
  }
  if (sim_store_get(s, canon) == NULL) {
    not_found(resp, canon);
    free(canon);
    return NULL;
  }
  json_object_object_add(obj, field,
                         sim_link_json(SIM_API_COMPUTE, "%s", canon));
  return canon;
}

int sim_net_enum(sim_resp *resp, json_object *obj, const char *field,
                 const char *at, const char *const *values, const char *def)
{
  const char *v = sim_net_str(obj, field);

  if (v == NULL) {
    if (def)
      json_object_object_add(obj, field, json_object_new_string(def));
    return 0;
  }
  for (size_t i = 0; values[i]; i++)
    if (strcmp(values[i], v) == 0)
      return 0;
  return sim_net_invalid(resp, at, v,
                         "Value is not one of the allowed "
                         "values.");
}

int sim_net_int(sim_resp *resp, json_object *obj, const char *field,
                const char *at, long lo, long hi, long def, long *out)
{
  json_object *v;
  long n;

  if (!json_object_object_get_ex(obj, field, &v) ||
      json_object_is_type(v, json_type_null)) {
    json_object_object_add(obj, field, json_object_new_int64(def));
    if (out)
      *out = def;
    return 0;
  }
  n = (long)json_object_get_int64(v);
  if (n < lo || n > hi) {
    char buf[32];

    snprintf(buf, sizeof(buf), "%ld", n);
    return sim_net_invalid(resp, at, buf,
                           "Must be between %ld and %ld inclusive.", lo, hi);
  }
  /* Numbers sent as strings ("30") are stored as numbers. */
  json_object_object_add(obj, field, json_object_new_int64(n));
  if (out)
    *out = n;
  return 0;
}

int sim_net_ip(const char *text, uint32_t *ip)
{
  unsigned a, b, c, d;
  char tail;

  if (text == NULL ||
      sscanf(text, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) != 4 ||
      a > 255 || b > 255 || c > 255 || d > 255)
    return -1;
  /* sscanf accepts "+1" and " 1": insist on digits and dots only. */
  for (const char *p = text; *p; p++)
    if ((*p < '0' || *p > '9') && *p != '.')
      return -1;
  *ip = a << 24 | b << 16 | c << 8 | d;
  return 0;
}

int sim_net_cidr(const char *text, uint32_t *addr, int *prefix)
{
  char buf[40];
  char *slash, *end;
  long p;

  if (text == NULL || strlen(text) >= sizeof(buf))
    return -1;
  snprintf(buf, sizeof(buf), "%s", text);
  slash = strchr(buf, '/');
  if (slash == NULL || slash[1] == '\0')
    return -1;
  *slash = '\0';
  p = strtol(slash + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 32 || slash[1] < '0' || slash[1] > '9')
    return -1;
  if (sim_net_ip(buf, addr) < 0)
    return -1;
  *prefix = (int)p;
  return 0;
}

static uint32_t mask_of(int prefix)
{
  return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int sim_net_overlap(uint32_t a, int ap, uint32_t b, int bp)
{
  uint32_t m = mask_of(ap < bp ? ap : bp);

  return (a & m) == (b & m);
}

const char *sim_net_ip_str(uint32_t ip, char *buf)
{
  snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
           ip & 255);
  return buf;
}

/* A canonical name, or NULL for a reference that is absent. Malloc'd. */
static char *canon_of(sim *s, json_object *obj, const char *field)
{
  const char *ref = sim_net_str(obj, field);

  return ref && *ref ? sim_ref_name(s, ref) : NULL;
}

/* 1 when obj[field] refers to canonical name want. */
static int refers_to(sim *s, json_object *obj, const char *field,
                     const char *want)
{
  char *c = canon_of(s, obj, field);
  int hit = c && strcmp(c, want) == 0;

  free(c);
  return hit;
}

static json_object *copy_of(json_object *o)
{
  json_object *copy = NULL;

  if (json_object_deep_copy(o, &copy, NULL) != 0)
    return NULL;
  return copy;
}

/* Labels: at most 64; keys [a-z][a-z0-9_-]{0,62}, values [a-z0-9_-]{0,63}
 * (docs/google-cloud.md section 4; international letters are not simulated). */
static int check_labels(sim_resp *resp, json_object *labels)
{
  int n = 0;

  if (labels == NULL || json_object_is_type(labels, json_type_null))
    return 0;
  json_object_object_foreach(labels, k, v)
  {
    const char *val = json_object_get_string(v);
    size_t kl = strlen(k), vl = val ? strlen(val) : 0;
    int ok = kl >= 1 && kl <= 63 && k[0] >= 'a' && k[0] <= 'z' && vl <= 63 &&
             json_object_is_type(v, json_type_string);

    for (size_t i = 0; ok && i < kl; i++)
      ok = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
           k[i] == '_' || k[i] == '-';
    for (size_t i = 0; ok && i < vl; i++)
      ok = (val[i] >= 'a' && val[i] <= 'z') ||
           (val[i] >= '0' && val[i] <= '9') || val[i] == '_' || val[i] == '-';
    if (!ok || ++n > 64) {
      char field[128];

      snprintf(field, sizeof(field), "labels.%s", k);
      return sim_net_invalid(resp, field, val,
                             "Label keys and values must be lowercase "
                             "letters, digits, '_' or '-', at most 63 "
                             "characters, keys starting with a letter; at "
                             "most 64 labels.");
    }
  }
  return 0;
}

/* --- who refers to a resource ------------------------------------------- */

struct ref_ctx {
  sim *s;
  const char *target; /* canonical */
  char tail[300];     /* "/healthChecks/hc": cheap pre-filter */
  char *user;
};

/* Keys that point back at the resource without using it. */
static int backlink_key(const char *key)
{
  static const char *const keys[] = {
      "selfLink",    "selfLinkWithId", "users", "targetLink",
      "gclbTargets", "region",         "zone",  NULL,
  };

  for (size_t i = 0; keys[i]; i++)
    if (strcmp(keys[i], key) == 0)
      return 1;
  return 0;
}

static int ref_walk(struct ref_ctx *c, json_object *v)
{
  switch (json_object_get_type(v)) {
  case json_type_string: {
    const char *str = json_object_get_string(v);
    size_t n = strlen(str), t = strlen(c->tail);
    char *canon;
    int hit;

    if (n < t || strcmp(str + n - t, c->tail) != 0)
      return 0;
    canon = sim_ref_name(c->s, str);
    hit = canon && strcmp(canon, c->target) == 0;
    free(canon);
    return hit;
  }
  case json_type_array:
    for (size_t i = 0; i < alen(v); i++)
      if (ref_walk(c, json_object_array_get_idx(v, i)))
        return 1;
    return 0;
  case json_type_object: {
    json_object_object_foreach(v, key, val)
    {
      if (!backlink_key(key) && ref_walk(c, val))
        return 1;
    }
    return 0;
  }
  default:
    return 0;
  }
}

static int ref_cb(void *data, const char *name, const char *kind,
                  json_object *obj)
{
  struct ref_ctx *c = data;

  if (kind == NULL || strncmp(kind, "compute#", 8) != 0 ||
      strcmp(name, c->target) == 0)
    return 0;
  /* A network lists its subnetworks: a back-link, not a use. */
  if (strcmp(kind, "compute#network") == 0) {
    json_object_object_foreach(obj, key, val)
    {
      if (strcmp(key, "subnetworks") == 0 || backlink_key(key))
        continue;
      if (ref_walk(c, val)) {
        c->user = strdup(name);
        return 1;
      }
    }
    return 0;
  }
  if (ref_walk(c, obj)) {
    c->user = strdup(name);
    return 1;
  }
  return 0;
}

char *sim_compute_ref_user(sim *s, const char *target)
{
  struct ref_ctx c;
  char prefix[300];
  const char *last = strrchr(target, '/'), *prev = last;

  if (last == NULL)
    return NULL;
  /* The last two segments: "/healthChecks/hc". */
  while (prev > target && prev[-1] != '/')
    prev--;
  memset(&c, 0, sizeof(c));
  c.s = s;
  c.target = target;
  snprintf(c.tail, sizeof(c.tail), "/%s", prev);
  snprintf(prefix, sizeof(prefix), "projects/%s/", sim_project(s));
  sim_store_each(s, prefix, ref_cb, &c);
  return c.user;
}

char *sim_compute_network_user(sim *s, const char *network_name)
{
  char canon[300];

  snprintf(canon, sizeof(canon), "projects/%s/global/networks/%s",
           sim_project(s), network_name);
  return sim_compute_ref_user(s, canon);
}

/* --- the generic collection handlers ----------------------------------- */

static const sim_net_coll net_colls[];
static const size_t net_ncolls;

const sim_net_coll *sim_net_coll_find(const char *coll)
{
  for (size_t i = 0; i < net_ncolls; i++)
    if (strcmp(net_colls[i].coll, coll) == 0)
      return &net_colls[i];
  for (size_t i = 0; i < sim_net_lb_ncolls; i++)
    if (strcmp(sim_net_lb_colls[i].coll, coll) == 0)
      return &sim_net_lb_colls[i];
  return NULL;
}

/* "compute.subnetworks.insert" -> the subnetworks collection. */
static const sim_net_coll *req_coll(sim_req *req)
{
  const char *id = sim_req_method_id(req), *dot;
  char coll[64];

  if (id == NULL || strncmp(id, "compute.", 8) != 0)
    return NULL;
  id += 8;
  dot = strchr(id, '.');
  if (dot == NULL || (size_t)(dot - id) >= sizeof(coll))
    return NULL;
  memcpy(coll, id, (size_t)(dot - id));
  coll[dot - id] = '\0';
  return sim_net_coll_find(coll);
}

static void res_name(sim *s, const sim_net_coll *c, const char *region,
                     const char *name, char *buf, size_t n)
{
  if (c->flags & SIM_NET_REGIONAL)
    snprintf(buf, n, "projects/%s/regions/%s/%s/%s", sim_project(s), region,
             c->seg, name ? name : "");
  else
    snprintf(buf, n, "projects/%s/global/%s/%s", sim_project(s), c->seg,
             name ? name : "");
}

/* Project and region checks; *region is the region or NULL (global). */
static int check_scope(sim *s, sim_req *req, sim_resp *resp,
                       const sim_net_coll *c, const char **region)
{
  char name[300];

  *region = NULL;
  if (c == NULL) {
    sim_resp_json(resp, 500, NULL);
    return -1;
  }
  if (sim_check_project(s, req, resp) < 0)
    return -1;
  if (!(c->flags & SIM_NET_REGIONAL))
    return 0;
  *region = sim_param(req, "region");
  snprintf(name, sizeof(name), "projects/%s/regions/%s", sim_project(s),
           *region ? *region : "");
  if (*region == NULL || sim_store_get(s, name) == NULL)
    return not_found(resp, name);
  return 0;
}

json_object *sim_net_lookup(sim *s, sim_req *req, sim_resp *resp,
                            const sim_net_coll *c, const char *param,
                            char *full, size_t n, const char **region)
{
  json_object *obj;

  if (check_scope(s, req, resp, c, region) < 0)
    return NULL;
  res_name(s, c, *region, sim_param(req, param), full, n);
  obj = sim_store_get(s, full);
  if (obj == NULL)
    not_found(resp, full);
  return obj;
}

static const char *quota_metric(const sim_net_coll *c, json_object *res)
{
  return c->quota_fn ? c->quota_fn(res) : c->quota;
}

/* Starts a global or regional operation on full; payload taken. */
static int start_op(sim *s, sim_req *req, sim_resp *resp, const sim_net_coll *c,
                    const char *full, const char *region, json_object *target,
                    const char *op_type, json_object *payload)
{
  char scope[200];
  char *link;
  sim_op_spec spec;
  sim_op *op;

  if (region)
    snprintf(scope, sizeof(scope), "regions/%s", region);
  else
    snprintf(scope, sizeof(scope), "global");
  link = sim_link(SIM_API_COMPUTE, "%s", full);
  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_COMPUTE;
  spec.duration = SIM_DUR_QUICK;
  spec.scope = scope;
  spec.operation_type = op_type;
  spec.target_name = full;
  spec.target_link = link;
  spec.target_id = sim_net_str(target, "id");
  json_object_object_add(payload, "coll", json_object_new_string(c->coll));
  json_object_object_add(payload, "name", json_object_new_string(full));
  if (region)
    json_object_object_add(payload, "region", json_object_new_string(region));
  spec.payload = payload;
  op = sim_op_start(s, req, &spec);
  free(link);
  if (op == NULL)
    return sim_resp_json(resp, 503, NULL);
  return sim_op_respond(s, resp, op);
}

static int check_body(sim_resp *resp, const sim_net_coll *c, json_object *body,
                      const char *schema)
{
  return sim_schema_check(resp, sim_schema_compute, schema ? schema : c->schema,
                          body, "resource");
}

/* Output-only fields every collection carries. */
static void add_outputs(sim *s, const sim_net_coll *c, json_object *res,
                        const char *full, const char *region)
{
  char id[24], ts[32], fp[16];

  json_object_object_add(res, "kind", json_object_new_string(c->kind));
  json_object_object_add(res, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(res, "creationTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(res, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", full));
  if (region)
    json_object_object_add(res, "region",
                           sim_link_json(SIM_API_COMPUTE,
                                         "projects/%s/regions/%s",
                                         sim_project(s), region));
  if (c->flags & SIM_NET_FINGERPRINT)
    json_object_object_add(res, "fingerprint",
                           json_object_new_string(sim_fingerprint(s, fp)));
  if (c->flags & SIM_NET_LABELS) {
    if (!json_object_object_get_ex(res, "labels", NULL))
      json_object_object_add(res, "labels", json_object_new_object());
    json_object_object_add(res, "labelFingerprint",
                           json_object_new_string(sim_fingerprint(s, fp)));
  }
}

static int net_insert(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = req_coll(req);
  json_object *body = sim_body(req), *res, *payload;
  const char *region, *name, *metric;
  char full[400];

  if (check_scope(s, req, resp, c, &region) < 0 ||
      check_body(resp, c, body, NULL) < 0)
    return SIM_DONE;
  name = sim_net_str(body, "name");
  if (name == NULL)
    return sim_net_required(resp, "name"), SIM_DONE;
  if (!sim_valid_compute_name(name))
    return sim_net_invalid(resp, "name", name,
                           "Must be a match of regex "
                           "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"),
           SIM_DONE;
  res_name(s, c, region, name, full, sizeof(full));
  if (sim_store_get(s, full) || sim_op_pending(s, full))
    return sim_err_legacy(resp, 409, "alreadyExists",
                          "The resource '%s' already exists", full);
  if ((c->flags & SIM_NET_LABELS) &&
      check_labels(resp, json_object_object_get(body, "labels")) < 0)
    return SIM_DONE;
  res = copy_of(body);
  if (res == NULL)
    return sim_resp_json(resp, 503, NULL);
  add_outputs(s, c, res, full, region);
  if (c->validate && c->validate(s, resp, res, NULL, region) < 0) {
    json_object_put(res);
    return SIM_DONE;
  }
  metric = quota_metric(c, res);
  if (metric && sim_quota_take(s, resp, metric, region, 1) < 0) {
    json_object_put(res);
    return SIM_DONE;
  }
  payload = json_object_new_object();
  json_object_object_add(payload, "action", json_object_new_string("insert"));
  if (metric)
    json_object_object_add(payload, "quota", json_object_new_string(metric));
  json_object_object_add(payload, "resource", json_object_get(res));
  {
    int result =
        start_op(s, req, resp, c, full, region, res, "insert", payload);

    json_object_put(res);
    return result;
  }
}

static int net_get(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = req_coll(req);
  const char *region;
  char full[400];
  json_object *obj;

  obj = sim_net_lookup(s, req, resp, c, c ? c->param : "", full, sizeof(full),
                       &region);
  return obj ? sim_resp_json(resp, 200, json_object_get(obj)) : SIM_DONE;
}

static int net_list(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = req_coll(req);
  const char *region;
  char prefix[400];
  char *self;
  int result;

  if (check_scope(s, req, resp, c, &region) < 0)
    return SIM_DONE;
  res_name(s, c, region, NULL, prefix, sizeof(prefix));
  self = sim_link(SIM_API_COMPUTE, "%.*s", (int)(strlen(prefix) - 1), prefix);
  result = sim_resp_json(
      resp, 200, sim_list_page(s, req, prefix, c->kind, c->list_kind, self));
  free(self);
  return result;
}

/* aggregatedList: every scope's items, keyed "regions/R" or "global". */
struct agg_ctx {
  const char *kind, *key, *filter;
  json_object *items;
};

static int agg_cb(void *data, const char *name, const char *kind,
                  json_object *obj)
{
  struct agg_ctx *c = data;
  char scope[200];
  const char *p = strchr(name + strlen("projects/"), '/'), *end;
  json_object *bucket, *list;

  if (strcmp(kind, c->kind) != 0 || p == NULL ||
      !sim_filter_match(obj, c->filter))
    return 0;
  p++;
  /* "regions/R/subnetworks/S" -> "regions/R"; "global/x/y" -> "global" */
  if (strncmp(p, "global/", 7) == 0) {
    end = p + 6;
  } else {
    end = strchr(p, '/');
    end = end ? strchr(end + 1, '/') : NULL;
    if (end == NULL)
      return 0;
  }
  snprintf(scope, sizeof(scope), "%.*s", (int)(end - p), p);
  if (!json_object_object_get_ex(c->items, scope, &bucket)) {
    bucket = json_object_new_object();
    json_object_object_add(bucket, c->key, json_object_new_array());
    json_object_object_add(c->items, scope, bucket);
  }
  list = json_object_object_get(bucket, c->key);
  json_object_array_add(list, json_object_get(obj));
  return 0;
}

/*
 * Only scopes with items are listed (Google also lists empty ones, each
 * with a NO_RESULTS_ON_PAGE warning), and everything comes on one page.
 */
static int net_aggregated(sim *s, sim_req *req, sim_resp *resp)
{
  static const struct {
    const char *coll, *kind;
  } kinds[] = {
      {"subnetworks", "compute#subnetworkAggregatedList"},
      {"routers", "compute#routerAggregatedList"},
      {"addresses", "compute#addressAggregatedList"},
      {"healthChecks", "compute#healthChecksAggregatedList"},
      {"backendServices", "compute#backendServiceAggregatedList"},
      {"urlMaps", "compute#urlMapsAggregatedList"},
      {"targetHttpsProxies", "compute#targetHttpsProxyAggregatedList"},
      {"globalForwardingRules", "compute#forwardingRuleAggregatedList"},
  };
  /* forwardingRules.aggregatedList lists the global rules too (the
   * regional collection is not simulated). */
  const sim_net_coll *c =
      strcmp(sim_req_method_id(req), "compute.forwardingRules.aggregatedList")
          ? req_coll(req)
          : sim_net_coll_find("globalForwardingRules");
  struct agg_ctx ac;
  json_object *out;
  char prefix[200], id[24];
  const char *list_kind = NULL;

  if (c == NULL || sim_check_project(s, req, resp) < 0)
    return c ? SIM_DONE : sim_resp_json(resp, 500, NULL);
  for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
    if (strcmp(kinds[i].coll, c->coll) == 0)
      list_kind = kinds[i].kind;
  memset(&ac, 0, sizeof(ac));
  ac.kind = c->kind;
  ac.key = c->seg;
  ac.filter = sim_query(req, "filter");
  ac.items = json_object_new_object();
  snprintf(prefix, sizeof(prefix), "projects/%s/", sim_project(s));
  sim_store_each(s, prefix, agg_cb, &ac);
  out = json_object_new_object();
  json_object_object_add(out, "kind",
                         json_object_new_string(list_kind ? list_kind : ""));
  json_object_object_add(out, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(out, "items", ac.items);
  json_object_object_add(out, "selfLink",
                         sim_link_json(SIM_API_COMPUTE,
                                       "projects/%s/aggregated/%s",
                                       sim_project(s), c->seg));
  return sim_resp_json(resp, 200, out);
}

/* The first user of an address (its users[]), malloc'd, or NULL. */
static char *address_user(sim *s, json_object *obj)
{
  json_object *users = json_object_object_get(obj, "users");

  if (alen(users) == 0)
    return NULL;
  return sim_ref_name(
      s, json_object_get_string(json_object_array_get_idx(users, 0)));
}

static int net_delete(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = req_coll(req);
  const char *region;
  char full[400];
  char *user;
  json_object *obj, *payload;

  obj = sim_net_lookup(s, req, resp, c, c ? c->param : "", full, sizeof(full),
                       &region);
  if (obj == NULL)
    return SIM_DONE;
  if (sim_op_pending(s, full))
    return sim_err_legacy(resp, 400, "resourceNotReady",
                          "The resource '%s' is not ready", full);
  user = address_user(s, obj);
  if (user == NULL)
    user = sim_compute_ref_user(s, full);
  if (user) {
    sim_err_legacy(resp, 400, "resourceInUseByAnotherResource",
                   "The %s resource '%s' is already being used by '%s'",
                   c->noun, full, user);
    free(user);
    return SIM_DONE;
  }
  payload = json_object_new_object();
  json_object_object_add(payload, "action", json_object_new_string("delete"));
  return start_op(s, req, resp, c, full, region, obj, "delete", payload);
}

int sim_net_check_fingerprint(sim_resp *resp, json_object *body,
                              json_object *old, const char *field)
{
  /* Google's texts: labels have their own (seen from setLabels), the
   * rest say "Invalid fingerprint." (seen from urlMaps). */
  const char *text = strcmp(field, "labelFingerprint") == 0
                         ? "Labels fingerprint either invalid or resource "
                           "labels have changed"
                         : "Invalid fingerprint.";
  const char *want = sim_net_str(old, field), *got = sim_net_str(body, field);

  /* The discovery document: "An up-to-date fingerprint must be provided
   * ..., otherwise the request will fail with error 412 conditionNotMet."
   * An absent one is not up to date either. */
  if (want && (got == NULL || !sim_same_bytes(want, got))) {
    sim_err_legacy(resp, 412, "conditionNotMet", "%s", text);
    return -1;
  }
  return 0;
}

/* JSON merge patch (RFC 7396), as Compute's PATCH documents: objects
 * merge, null removes, anything else replaces. */
static void merge_patch(json_object *dst, json_object *patch)
{
  json_object_object_foreach(patch, k, v)
  {
    json_object *cur;

    if (v == NULL || json_object_is_type(v, json_type_null)) {
      json_object_object_del(dst, k);
    } else if (json_object_is_type(v, json_type_object) &&
               json_object_object_get_ex(dst, k, &cur) &&
               json_object_is_type(cur, json_type_object)) {
      merge_patch(cur, v);
    } else {
      json_object_object_add(dst, k, copy_of(v));
    }
  }
}

/* Patch/update may not change these; compared by canonical name for
 * references. */
static int check_immutable(sim *s, sim_resp *resp, const sim_net_coll *c,
                           json_object *res, json_object *old)
{
  static const char *const always[] = {"name", NULL};

  for (int pass = 0; pass < 2; pass++) {
    const char *const *f = pass == 0 ? always : c->immutable;

    for (size_t i = 0; f && f[i]; i++) {
      json_object *a = json_object_object_get(res, f[i]),
                  *b = json_object_object_get(old, f[i]);
      int same;

      if (json_object_is_type(a, json_type_string) &&
          json_object_is_type(b, json_type_string)) {
        char *ca = sim_ref_name(s, json_object_get_string(a)),
             *cb = sim_ref_name(s, json_object_get_string(b));

        same = ca && cb && strcmp(ca, cb) == 0;
        free(ca);
        free(cb);
      } else {
        same = json_object_equal(a, b);
      }
      if (!same)
        return sim_net_invalid(resp, f[i], a ? json_object_get_string(a) : "",
                               "Field cannot be modified.");
    }
  }
  return 0;
}

int sim_net_start_replace(sim *s, sim_req *req, sim_resp *resp,
                          const sim_net_coll *c, const char *full,
                          const char *region, json_object *res,
                          const char *op_type)
{
  json_object *payload;
  int result;

  /* One change at a time: Google answers an edit of a resource whose
   * previous edit is still running with resourceNotReady. */
  if (sim_op_pending(s, full)) {
    json_object_put(res);
    return sim_err_legacy(resp, 400, "resourceNotReady",
                          "The resource '%s' is not ready", full);
  }
  payload = json_object_new_object();
  json_object_object_add(payload, "action", json_object_new_string("replace"));
  json_object_object_add(payload, "resource", json_object_get(res));
  result = start_op(s, req, resp, c, full, region, res, op_type, payload);
  json_object_put(res);
  return result;
}

/* PATCH (merge) and PUT (replace) share everything but how res is made. */
static int net_modify(sim *s, sim_req *req, sim_resp *resp, int is_patch)
{
  static const char *const kept[] = {
      "kind",   "id",          "creationTimestamp", "selfLink",
      "region", "fingerprint", "labelFingerprint",  NULL,
  };
  const sim_net_coll *c = req_coll(req);
  json_object *body = sim_body(req), *old, *res;
  const char *region;
  char full[400];

  old = sim_net_lookup(s, req, resp, c, c ? c->param : "", full, sizeof(full),
                       &region);
  if (old == NULL || check_body(resp, c, body, NULL) < 0)
    return SIM_DONE;
  if (sim_op_pending(s, full))
    return sim_err_legacy(resp, 400, "resourceNotReady",
                          "The resource '%s' is not ready", full);
  if ((c->flags & SIM_NET_FINGERPRINT) &&
      sim_net_check_fingerprint(resp, body, old, "fingerprint") < 0)
    return SIM_DONE;
  if (is_patch) {
    res = copy_of(old);
    if (res && body)
      merge_patch(res, body);
  } else {
    res = body ? copy_of(body) : json_object_new_object();
    for (size_t i = 0; res && kept[i]; i++) {
      json_object *v = json_object_object_get(old, kept[i]);

      if (v)
        json_object_object_add(res, kept[i], copy_of(v));
      else
        json_object_object_del(res, kept[i]);
    }
  }
  if (res == NULL)
    return sim_resp_json(resp, 503, NULL);
  if (check_immutable(s, resp, c, res, old) < 0 ||
      ((c->flags & SIM_NET_LABELS) &&
       check_labels(resp, json_object_object_get(res, "labels")) < 0) ||
      (c->validate && c->validate(s, resp, res, old, region) < 0)) {
    json_object_put(res);
    return SIM_DONE;
  }
  return sim_net_start_replace(s, req, resp, c, full, region, res,
                               is_patch ? "patch" : "update");
}

static int net_patch(sim *s, sim_req *req, sim_resp *resp)
{
  return net_modify(s, req, resp, 1);
}

static int net_update(sim *s, sim_req *req, sim_resp *resp)
{
  return net_modify(s, req, resp, 0);
}

static int net_set_labels(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = req_coll(req);
  json_object *body = sim_body(req), *old, *res, *labels;
  const char *region;
  char full[400];

  old =
      sim_net_lookup(s, req, resp, c, "resource", full, sizeof(full), &region);
  if (old == NULL ||
      check_body(resp, c, body,
                 region ? "RegionSetLabelsRequest" : "GlobalSetLabelsRequest") <
          0 ||
      sim_net_check_fingerprint(resp, body, old, "labelFingerprint") < 0)
    return SIM_DONE;
  labels = json_object_object_get(body, "labels");
  if (check_labels(resp, labels) < 0)
    return SIM_DONE;
  res = copy_of(old);
  if (res == NULL)
    return sim_resp_json(resp, 503, NULL);
  json_object_object_add(res, "labels",
                         labels ? copy_of(labels) : json_object_new_object());
  return sim_net_start_replace(s, req, resp, c, full, region, res, "setLabels");
}

/*
 * The first Compute link in v (outside back-links, and outside
 * sslCertificates, a collection the simulator does not keep) whose
 * resource is gone: canonical name, malloc'd, or NULL. Validation checked
 * them when the request came; a delete may have completed since.
 */
static char *missing_ref(sim *s, json_object *v)
{
  static const char root[] = "https://www.googleapis.com/compute/v1/";

  switch (json_object_get_type(v)) {
  case json_type_string: {
    const char *str = json_object_get_string(v);
    char *canon;

    if (strncmp(str, root, sizeof(root) - 1) != 0)
      return NULL;
    canon = sim_ref_name(s, str);
    if (canon && sim_store_get(s, canon) == NULL)
      return canon;
    free(canon);
    return NULL;
  }
  case json_type_array:
    for (size_t i = 0; i < alen(v); i++) {
      char *m = missing_ref(s, json_object_array_get_idx(v, i));

      if (m)
        return m;
    }
    return NULL;
  case json_type_object: {
    json_object_object_foreach(v, key, val)
    {
      char *m;

      if (backlink_key(key) || strcmp(key, "sslCertificates") == 0)
        continue;
      m = missing_ref(s, val);
      if (m)
        return m;
    }
    return NULL;
  }
  default:
    return NULL;
  }
}

/* At DONE: 0 when every reference of res still resolves, else -1 with the
 * operation failed (404). */
static int refs_still_there(sim *s, sim_op *op, json_object *res)
{
  char *m = missing_ref(s, res);

  if (m == NULL)
    return 0;
  sim_op_fail(op, 404, "RESOURCE_NOT_FOUND", "The resource '%s' was not found",
              m);
  free(m);
  return -1;
}

/* At DONE: -1 with the operation failed when something started using the
 * resource after the delete was accepted. */
static int still_unused(sim *s, sim_op *op, const sim_net_coll *c,
                        const char *name, json_object *obj)
{
  char *user = address_user(s, obj);

  if (user == NULL)
    user = sim_compute_ref_user(s, name);
  if (user == NULL)
    return 0;
  sim_op_fail(op, 400, "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
              "The %s resource '%s' is already being used by '%s'", c->noun,
              name, user);
  free(user);
  return -1;
}

/* Completion of every operation the handlers above start. */
static void net_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *action = sim_net_str(payload, "action"),
             *name = sim_net_str(payload, "name"),
             *region = sim_net_str(payload, "region"),
             *metric = sim_net_str(payload, "quota");
  const sim_net_coll *c = sim_net_coll_find(
      sim_net_str(payload, "coll") ? sim_net_str(payload, "coll") : "");
  json_object *res = json_object_object_get(payload, "resource"), *obj;
  char fp[16];

  if (c == NULL || action == NULL || name == NULL)
    return;
  if (strcmp(action, "insert") == 0) {
    res = copy_of(res);
    if (sim_op_failed(op) || res == NULL || refs_still_there(s, op, res) < 0 ||
        (c->commit && c->commit(s, op, res) < 0)) {
      if (metric)
        sim_quota_give(s, metric, region, 1);
      json_object_put(res);
      return;
    }
    sim_store_put(s, name, c->kind, res);
    if (c->on_insert)
      c->on_insert(s, res);
  } else if (strcmp(action, "delete") == 0) {
    obj = sim_store_get(s, name);
    if (sim_op_failed(op) || obj == NULL ||
        still_unused(s, op, c, name, obj) < 0)
      return;
    obj = json_object_get(obj);
    metric = quota_metric(c, obj);
    sim_store_del(s, name);
    if (metric)
      sim_quota_give(s, metric, region, 1);
    if (c->on_delete)
      c->on_delete(s, obj);
    json_object_put(obj);
  } else if (strcmp(action, "replace") == 0) {
    obj = sim_store_get(s, name);
    if (sim_op_failed(op))
      return;
    if (obj == NULL) {
      sim_op_fail(op, 404, "RESOURCE_NOT_FOUND",
                  "The resource '%s' was not found", name);
      return;
    }
    if (refs_still_there(s, op, res) < 0)
      return;
    res = copy_of(res);
    if (res == NULL)
      return;
    if (c->flags & SIM_NET_FINGERPRINT)
      json_object_object_add(res, "fingerprint",
                             json_object_new_string(sim_fingerprint(s, fp)));
    if ((c->flags & SIM_NET_LABELS) &&
        !json_object_equal(json_object_object_get(res, "labels"),
                           json_object_object_get(obj, "labels")))
      json_object_object_add(res, "labelFingerprint",
                             json_object_new_string(sim_fingerprint(s, fp)));
    sim_store_put(s, name, c->kind, res);
  }
}

/* --- subnetworks -------------------------------------------------------- */

struct cidr_ctx {
  sim *s;
  const char *network; /* canonical */
  const char *self;    /* canonical name of the subnet itself, or NULL */
  uint32_t addr;
  int prefix;
  char *hit;       /* the conflicting subnet's name (malloc'd) */
  char *hit_where; /* its region, or "" for an allocated range */
};

static int cidr_conflict(struct cidr_ctx *c, const char *range)
{
  uint32_t a;
  int p;

  return sim_net_cidr(range, &a, &p) == 0 &&
         sim_net_overlap(a, p, c->addr, c->prefix);
}

/* Subnets of the network: primary and secondary ranges. */
static int subnet_cidr_cb(void *data, const char *name, const char *kind,
                          json_object *obj)
{
  struct cidr_ctx *c = data;
  json_object *sec;
  int hit;

  if (strcmp(kind, "compute#subnetwork") != 0 ||
      (c->self && strcmp(name, c->self) == 0) ||
      !refers_to(c->s, obj, "network", c->network))
    return 0;
  hit = cidr_conflict(c, sim_net_str(obj, "ipCidrRange"));
  sec = json_object_object_get(obj, "secondaryIpRanges");
  for (size_t i = 0; !hit && i < alen(sec); i++)
    hit = cidr_conflict(
        c, sim_net_str(json_object_array_get_idx(sec, i), "ipCidrRange"));
  if (hit) {
    const char *region = sim_net_str(obj, "region"), *slash;

    slash = region ? strrchr(region, '/') : NULL;
    c->hit = strdup(sim_net_str(obj, "name"));
    c->hit_where = strdup(slash ? slash + 1 : "");
  }
  return hit;
}

/* Ranges allocated to the network for private services access. */
static int peering_cidr_cb(void *data, const char *name, const char *kind,
                           json_object *obj)
{
  struct cidr_ctx *c = data;
  char range[40];
  json_object *pl;

  if (strcmp(kind, "compute#address") != 0 ||
      (c->self && strcmp(name, c->self) == 0) || !sim_net_str(obj, "address") ||
      !json_object_object_get_ex(obj, "prefixLength", &pl) ||
      !refers_to(c->s, obj, "network", c->network))
    return 0;
  snprintf(range, sizeof(range), "%s/%d", sim_net_str(obj, "address"),
           json_object_get_int(pl));
  if (!cidr_conflict(c, range))
    return 0;
  c->hit = strdup(sim_net_str(obj, "name"));
  c->hit_where = strdup("");
  return 1;
}

/*
 * The first subnet range (any region) or private-services range of
 * network that overlaps addr/prefix, skipping self. Returns 0 when free,
 * 1 with *who and *where (malloc'd; where "" for an allocated range).
 */
static int find_overlap(sim *s, const char *network, const char *self,
                        uint32_t addr, int prefix, char **who, char **where)
{
  struct cidr_ctx c;
  char p[300];

  memset(&c, 0, sizeof(c));
  c.s = s;
  c.network = network;
  c.self = self;
  c.addr = addr;
  c.prefix = prefix;
  snprintf(p, sizeof(p), "projects/%s/regions/", sim_project(s));
  sim_store_each(s, p, subnet_cidr_cb, &c);
  if (c.hit == NULL) {
    snprintf(p, sizeof(p), "projects/%s/global/addresses/", sim_project(s));
    sim_store_each(s, p, peering_cidr_cb, &c);
  }
  *who = c.hit;
  *where = c.hit_where;
  return c.hit != NULL;
}

/* Validates one range of a subnet; field names it in messages. */
static int subnet_range(sim *s, sim_resp *resp, json_object *net,
                        const char *network, const char *self,
                        const char *field, const char *range)
{
  uint32_t addr;
  int prefix;
  char *who = NULL, *where = NULL;

  if (range == NULL)
    return sim_net_required(resp, field);
  if (sim_net_cidr(range, &addr, &prefix) < 0)
    return sim_net_invalid(resp, field, range,
                           "Invalid IPCidrRange: %s is not a valid IPv4 "
                           "CIDR range.",
                           range);
  if (prefix < 8 || prefix > 29)
    return sim_net_invalid(resp, field, range,
                           "Invalid IPCidrRange: %s. The prefix length must "
                           "be between /8 and /29.",
                           range);
  if (addr & ~mask_of(prefix))
    return sim_net_invalid(resp, field, range,
                           "Invalid IPCidrRange: %s is not a network "
                           "address.",
                           range);
  if (json_object_get_boolean(
          json_object_object_get(net, "autoCreateSubnetworks")) &&
      sim_net_overlap(addr, prefix, 0x0a800000u, 9))
    return sim_net_invalid(resp, field, range,
                           "Invalid IPCidrRange: %s conflicts with the "
                           "10.128.0.0/9 range reserved for auto mode "
                           "subnetworks.",
                           range);
  if (find_overlap(s, network, self, addr, prefix, &who, &where)) {
    if (*where)
      sim_net_invalid(resp, field, range,
                      "Invalid IPCidrRange: %s conflicts with existing "
                      "subnetwork '%s' in region '%s'.",
                      range, who, where);
    else
      sim_net_invalid(resp, field, range,
                      "Invalid IPCidrRange: %s conflicts with allocated "
                      "range '%s' of the network.",
                      range, who);
    free(who);
    free(where);
    return -1;
  }
  return 0;
}

static int subnet_validate(sim *s, sim_resp *resp, json_object *res,
                           json_object *old, const char *region)
{
  static const char *const purposes[] = {
      "PRIVATE",
      "PRIVATE_RFC_1918",
      "REGIONAL_MANAGED_PROXY",
      "GLOBAL_MANAGED_PROXY",
      "PRIVATE_SERVICE_CONNECT",
      NULL,
  };
  static const char *const stacks[] = {"IPV4_ONLY", NULL};
  char *network, self[400], gw[16];
  json_object *sec;
  uint32_t addr;
  int prefix, result = -1;

  network =
      sim_net_ref(s, resp, res, "network", "network", "networks", 1, NULL);
  if (network == NULL)
    return -1;
  res_name(s, sim_net_coll_find("subnetworks"), region,
           sim_net_str(res, "name"), self, sizeof(self));
  if (subnet_range(s, resp, sim_store_get(s, network), network, self,
                   "ipCidrRange", sim_net_str(res, "ipCidrRange")) < 0)
    goto out;
  sec = json_object_object_get(res, "secondaryIpRanges");
  for (size_t i = 0; i < alen(sec); i++) {
    json_object *r = json_object_array_get_idx(sec, i);
    char field[64];

    snprintf(field, sizeof(field), "secondaryIpRanges[%zu].rangeName", i);
    if (sim_net_str(r, "rangeName") == NULL) {
      sim_net_required(resp, field);
      goto out;
    }
    if (!sim_valid_compute_name(sim_net_str(r, "rangeName"))) {
      sim_net_invalid(resp, field, sim_net_str(r, "rangeName"),
                      "Must be a match of regex "
                      "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
      goto out;
    }
    snprintf(field, sizeof(field), "secondaryIpRanges[%zu].ipCidrRange", i);
    if (subnet_range(s, resp, sim_store_get(s, network), network, self, field,
                     sim_net_str(r, "ipCidrRange")) < 0)
      goto out;
  }
  if (sim_net_enum(resp, res, "purpose", "purpose", purposes, "PRIVATE") < 0 ||
      sim_net_enum(resp, res, "stackType", "stackType", stacks, "IPV4_ONLY") <
          0)
    goto out;
  sim_net_cidr(sim_net_str(res, "ipCidrRange"), &addr, &prefix);
  json_object_object_add(res, "gatewayAddress",
                         json_object_new_string(sim_net_ip_str(addr + 1, gw)));
  if (!json_object_object_get_ex(res, "privateIpGoogleAccess", NULL))
    json_object_object_add(res, "privateIpGoogleAccess",
                           json_object_new_boolean(0));
  (void)old;
  result = 0;
out:
  free(network);
  return result;
}

/* At DONE: another insert may have taken the range since validation. */
static int subnet_commit(sim *s, sim_op *op, json_object *res)
{
  char *network = canon_of(s, res, "network"), *who = NULL, *where = NULL;
  const char *range = sim_net_str(res, "ipCidrRange");
  uint32_t addr;
  int prefix, hit = 0;

  if (network && sim_net_cidr(range, &addr, &prefix) == 0)
    hit = find_overlap(s, network, NULL, addr, prefix, &who, &where);
  if (hit)
    sim_op_fail(op, 400, "INVALID_USAGE",
                "Invalid value for field 'resource.ipCidrRange': '%s'. "
                "Invalid IPCidrRange: %s conflicts with existing "
                "subnetwork '%s' in region '%s'.",
                range, range, who, where);
  else if (network && sim_store_get(s, network) == NULL)
    sim_op_fail(op, 404, "RESOURCE_NOT_FOUND",
                "The resource '%s' was not found", network);
  hit = hit || (network && sim_store_get(s, network) == NULL);
  free(who);
  free(where);
  free(network);
  return hit ? -1 : 0;
}

/* Keeps the network's subnetworks[] (output only) current. */
static void subnet_link(sim *s, json_object *res, int add)
{
  char *network = canon_of(s, res, "network");
  json_object *net = network ? sim_store_get(s, network) : NULL, *list;
  const char *self = sim_net_str(res, "selfLink");

  free(network);
  if (net == NULL || self == NULL)
    return;
  if (!json_object_object_get_ex(net, "subnetworks", &list) ||
      !json_object_is_type(list, json_type_array)) {
    list = json_object_new_array();
    json_object_object_add(net, "subnetworks", list);
  }
  for (size_t i = 0; i < alen(list); i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)),
               self) == 0) {
      if (!add)
        json_object_array_del_idx(list, i, 1);
      return;
    }
  if (add)
    json_object_array_add(list, json_object_new_string(self));
}

static void subnet_inserted(sim *s, json_object *res)
{
  subnet_link(s, res, 1);
}

static void subnet_deleted(sim *s, json_object *res)
{
  subnet_link(s, res, 0);
}

static int subnet_expand(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = sim_net_coll_find("subnetworks");
  json_object *body = sim_body(req), *old, *res, *net;
  const char *region, *range, *cur;
  char full[400], *network;
  uint32_t a, b;
  int ap, bp, result;

  old = sim_net_lookup(s, req, resp, c, "subnetwork", full, sizeof(full),
                       &region);
  if (old == NULL ||
      check_body(resp, c, body, "SubnetworksExpandIpCidrRangeRequest") < 0)
    return SIM_DONE;
  range = sim_net_str(body, "ipCidrRange");
  cur = sim_net_str(old, "ipCidrRange");
  if (range == NULL)
    return sim_net_required(resp, "ipCidrRange"), SIM_DONE;
  if (sim_net_cidr(range, &a, &ap) < 0 || sim_net_cidr(cur, &b, &bp) < 0 ||
      ap >= bp || !sim_net_overlap(a, ap, b, bp))
    return sim_net_invalid(resp, "ipCidrRange", range,
                           "The new range must be a strict superset of the "
                           "current range %s.",
                           cur ? cur : ""),
           SIM_DONE;
  network = canon_of(s, old, "network");
  net = network ? sim_store_get(s, network) : NULL;
  if (net == NULL) {
    free(network);
    return not_found(resp, full), SIM_DONE;
  }
  result = subnet_range(s, resp, net, network, full, "ipCidrRange", range);
  free(network);
  if (result < 0)
    return SIM_DONE;
  res = copy_of(old);
  if (res == NULL)
    return sim_resp_json(resp, 503, NULL);
  json_object_object_add(res, "ipCidrRange", json_object_new_string(range));
  return sim_net_start_replace(s, req, resp, c, full, region, res,
                               "expandIpCidrRange");
}

/* setPrivateIpGoogleAccess (gcloud's subnets update
 * --enable-private-ip-google-access). */
static int subnet_set_pga(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = sim_net_coll_find("subnetworks");
  json_object *body = sim_body(req), *old, *res, *v;
  const char *region;
  char full[400];

  old = sim_net_lookup(s, req, resp, c, "subnetwork", full, sizeof(full),
                       &region);
  if (old == NULL ||
      check_body(resp, c, body, "SubnetworksSetPrivateIpGoogleAccessRequest") <
          0)
    return SIM_DONE;
  if (sim_op_pending(s, full))
    return sim_err_legacy(resp, 400, "resourceNotReady",
                          "The resource '%s' is not ready", full);
  if (!json_object_object_get_ex(body, "privateIpGoogleAccess", &v))
    return sim_net_required(resp, "privateIpGoogleAccess"), SIM_DONE;
  res = copy_of(old);
  if (res == NULL)
    return sim_resp_json(resp, 503, NULL);
  json_object_object_add(res, "privateIpGoogleAccess",
                         json_object_new_boolean(json_object_get_boolean(v)));
  return sim_net_start_replace(s, req, resp, c, full, region, res,
                               "setPrivateIpGoogleAccess");
}

/* --- firewalls ---------------------------------------------------------- */

/* "80", "8000-9000": 0 when valid. */
static int port_spec_ok(const char *p)
{
  char *end;
  long lo, hi;

  if (p == NULL || *p < '0' || *p > '9')
    return 0;
  lo = strtol(p, &end, 10);
  hi = lo;
  if (*end == '-') {
    if (end[1] < '0' || end[1] > '9')
      return 0;
    hi = strtol(end + 1, &end, 10);
  }
  return *end == '\0' && lo >= 0 && hi <= 65535 && lo <= hi;
}

static int firewall_rules(sim_resp *resp, json_object *res, const char *field)
{
  static const char *const protos[] = {
      "tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all", NULL,
  };
  json_object *rules = json_object_object_get(res, field);

  for (size_t i = 0; i < alen(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i), *ports;
    const char *proto = sim_net_str(r, "IPProtocol");
    char at[64];
    int ok = 0;

    snprintf(at, sizeof(at), "%s[%zu].IPProtocol", field, i);
    if (proto == NULL)
      return sim_net_required(resp, at);
    for (size_t k = 0; protos[k] && !ok; k++)
      ok = strcmp(protos[k], proto) == 0;
    if (!ok) {
      char *end;
      long n = strtol(proto, &end, 10);

      ok = *proto && *end == '\0' && n >= 0 && n <= 255;
    }
    if (!ok)
      return sim_net_invalid(resp, at, proto,
                             "Must be tcp, udp, icmp, esp, ah, sctp, ipip, "
                             "all or an IP protocol number.");
    ports = json_object_object_get(r, "ports");
    if (alen(ports) > 0 && strcmp(proto, "tcp") != 0 &&
        strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0 &&
        strcmp(proto, "all") != 0) {
      snprintf(at, sizeof(at), "%s[%zu].ports", field, i);
      return sim_net_invalid(resp, at, proto,
                             "Ports may only be specified for tcp, udp, "
                             "sctp or all.");
    }
    for (size_t k = 0; k < alen(ports); k++) {
      const char *p =
          json_object_get_string(json_object_array_get_idx(ports, k));

      if (!port_spec_ok(p)) {
        snprintf(at, sizeof(at), "%s[%zu].ports[%zu]", field, i, k);
        return sim_net_invalid(resp, at, p,
                               "Must be a port or a port range "
                               "(\"80\", \"8000-9000\") within 0-65535.");
      }
    }
  }
  return 0;
}

/* IPv4 ranges are checked; IPv6 ones (with ':') pass unexamined. */
static int firewall_ranges(sim_resp *resp, json_object *res, const char *field)
{
  json_object *list = json_object_object_get(res, field);

  for (size_t i = 0; i < alen(list); i++) {
    const char *r = json_object_get_string(json_object_array_get_idx(list, i));
    uint32_t a;
    int p;
    char at[64];

    if (r && strchr(r, ':'))
      continue;
    if (r && (sim_net_cidr(r, &a, &p) == 0 || sim_net_ip(r, &a) == 0))
      continue;
    snprintf(at, sizeof(at), "%s[%zu]", field, i);
    return sim_net_invalid(resp, at, r,
                           "Must be an IP address or a CIDR "
                           "range.");
  }
  return 0;
}

static int has_items(json_object *res, const char *field)
{
  return alen(json_object_object_get(res, field)) > 0;
}

static void default_range(json_object *res, const char *field)
{
  json_object *a = json_object_new_array();

  json_object_array_add(a, json_object_new_string("0.0.0.0/0"));
  json_object_object_add(res, field, a);
}

static int firewall_validate(sim *s, sim_resp *resp, json_object *res,
                             json_object *old, const char *region)
{
  static const char *const dirs[] = {"INGRESS", "EGRESS", NULL};
  char *network;
  int egress;

  /* Google puts a rule without a network on the "default" network. */
  if (sim_net_str(res, "network") == NULL)
    json_object_object_add(res, "network",
                           json_object_new_string("global/networks/"
                                                  "default"));
  network =
      sim_net_ref(s, resp, res, "network", "network", "networks", 1, NULL);
  if (network == NULL)
    return -1;
  free(network);
  if (sim_net_enum(resp, res, "direction", "direction", dirs, "INGRESS") < 0 ||
      sim_net_int(resp, res, "priority", "priority", 0, 65535, 1000, NULL) < 0)
    return -1;
  if (has_items(res, "allowed") == has_items(res, "denied"))
    return sim_net_invalid(resp, "allowed", "",
                           "Exactly one of 'allowed' or 'denied' must be "
                           "specified.");
  if (firewall_rules(resp, res, "allowed") < 0 ||
      firewall_rules(resp, res, "denied") < 0 ||
      firewall_ranges(resp, res, "sourceRanges") < 0 ||
      firewall_ranges(resp, res, "destinationRanges") < 0)
    return -1;
  if (has_items(res, "targetTags") && has_items(res, "targetServiceAccounts"))
    return sim_net_invalid(resp, "targetServiceAccounts", "",
                           "targetTags and targetServiceAccounts cannot be "
                           "used together.");
  if (has_items(res, "sourceTags") && has_items(res, "sourceServiceAccounts"))
    return sim_net_invalid(resp, "sourceServiceAccounts", "",
                           "sourceTags and sourceServiceAccounts cannot be "
                           "used together.");
  egress = strcmp(sim_net_str(res, "direction"), "EGRESS") == 0;
  if (egress &&
      (has_items(res, "sourceTags") || has_items(res, "sourceServiceAccounts")))
    return sim_net_invalid(resp, "sourceTags", "",
                           "Source tags and service accounts cannot be used "
                           "with EGRESS rules.");
  /* Without any source (destination for EGRESS) the rule applies to
   * everything, and Google shows that as 0.0.0.0/0. */
  if (!egress && !has_items(res, "sourceRanges") &&
      !has_items(res, "sourceTags") && !has_items(res, "sourceServiceAccounts"))
    default_range(res, "sourceRanges");
  if (egress && !has_items(res, "destinationRanges"))
    default_range(res, "destinationRanges");
  if (!json_object_object_get_ex(res, "disabled", NULL))
    json_object_object_add(res, "disabled", json_object_new_boolean(0));
  if (!json_object_object_get_ex(res, "logConfig", NULL)) {
    json_object *lc = json_object_new_object();

    json_object_object_add(lc, "enable", json_object_new_boolean(0));
    json_object_object_add(res, "logConfig", lc);
  }
  (void)old;
  (void)region;
  return 0;
}

/* --- routers ------------------------------------------------------------ */

static int router_nat(sim *s, sim_resp *resp, json_object *nat, size_t i,
                      const char *network, const char *region)
{
  static const char *const allocs[] = {"AUTO_ONLY", "MANUAL_ONLY", NULL};
  static const char *const ranges[] = {
      "ALL_SUBNETWORKS_ALL_IP_RANGES",
      "ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES",
      "LIST_OF_SUBNETWORKS",
      NULL,
  };
  char at[96];
  const char *name = sim_net_str(nat, "name"), *src;
  json_object *subs, *ips;

  snprintf(at, sizeof(at), "nats[%zu].name", i);
  if (name == NULL)
    return sim_net_required(resp, at);
  if (!sim_valid_compute_name(name))
    return sim_net_invalid(resp, at, name,
                           "Must be a match of regex "
                           "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  snprintf(at, sizeof(at), "nats[%zu].natIpAllocateOption", i);
  if (sim_net_str(nat, "natIpAllocateOption") == NULL)
    return sim_net_required(resp, at);
  if (sim_net_enum(resp, nat, "natIpAllocateOption", at, allocs, NULL) < 0)
    return -1;
  snprintf(at, sizeof(at), "nats[%zu].sourceSubnetworkIpRangesToNat", i);
  src = sim_net_str(nat, "sourceSubnetworkIpRangesToNat");
  if (src == NULL)
    return sim_net_required(resp, at);
  if (sim_net_enum(resp, nat, "sourceSubnetworkIpRangesToNat", at, ranges,
                   NULL) < 0)
    return -1;
  subs = json_object_object_get(nat, "subnetworks");
  if (strcmp(src, "LIST_OF_SUBNETWORKS") == 0 && alen(subs) == 0) {
    snprintf(at, sizeof(at), "nats[%zu].subnetworks", i);
    return sim_net_required(resp, at);
  }
  for (size_t k = 0; k < alen(subs); k++) {
    json_object *sub = json_object_array_get_idx(subs, k);
    char *canon, want[300];
    int ok;

    snprintf(at, sizeof(at), "nats[%zu].subnetworks[%zu].name", i, k);
    canon = sim_net_ref(s, resp, sub, "name", at, "subnetworks", 1, NULL);
    if (canon == NULL)
      return -1;
    snprintf(want, sizeof(want), "projects/%s/regions/%s/subnetworks/",
             sim_project(s), region);
    ok = strncmp(canon, want, strlen(want)) == 0 &&
         refers_to(s, sim_store_get(s, canon), "network", network);
    free(canon);
    if (!ok)
      return sim_net_invalid(resp, at, sim_net_str(sub, "name"),
                             "The subnetwork must be in the router's region "
                             "and network.");
  }
  ips = json_object_object_get(nat, "natIps");
  if (strcmp(sim_net_str(nat, "natIpAllocateOption"), "MANUAL_ONLY") == 0 &&
      alen(ips) == 0) {
    snprintf(at, sizeof(at), "nats[%zu].natIps", i);
    return sim_net_required(resp, at);
  }
  for (size_t k = 0; k < alen(ips); k++) {
    json_object *wrap = json_object_new_object();
    char *canon;

    snprintf(at, sizeof(at), "nats[%zu].natIps[%zu]", i, k);
    json_object_object_add(wrap, "ip",
                           json_object_get(json_object_array_get_idx(ips, k)));
    canon = sim_net_ref(s, resp, wrap, "ip", at, "addresses", 1, NULL);
    if (canon)
      json_object_array_put_idx(
          ips, k, json_object_get(json_object_object_get(wrap, "ip")));
    json_object_put(wrap);
    if (canon == NULL)
      return -1;
    free(canon);
  }
  return 0;
}

static int router_validate(sim *s, sim_resp *resp, json_object *res,
                           json_object *old, const char *region)
{
  json_object *nats = json_object_object_get(res, "nats");
  char *network;
  int result = 0;

  network =
      sim_net_ref(s, resp, res, "network", "network", "networks", 1, NULL);
  if (network == NULL)
    return -1;
  for (size_t i = 0; result == 0 && i < alen(nats); i++) {
    json_object *nat = json_object_array_get_idx(nats, i);

    result = router_nat(s, resp, nat, i, network, region);
    for (size_t k = 0; result == 0 && k < i; k++)
      if (strcmp(sim_net_str(json_object_array_get_idx(nats, k), "name"),
                 sim_net_str(nat, "name")) == 0) {
        char at[64];

        snprintf(at, sizeof(at), "nats[%zu].name", i);
        result = sim_net_invalid(resp, at, sim_net_str(nat, "name"),
                                 "Duplicate NAT name.");
      }
  }
  free(network);
  (void)old;
  return result;
}

/* --- addresses and globalAddresses -------------------------------------- */

/*
 * External addresses come from documentation ranges (RFC 5737), so a
 * simulated address can never be mistaken for a real one: 203.0.113.0/24
 * (TEST-NET-3) for global addresses and ephemeral forwarding-rule IPs,
 * 198.51.100.0/24 (TEST-NET-2) for regional ones. 254 each is plenty
 * under the default STATIC_ADDRESSES quota of 8.
 */
#define POOL_GLOBAL   0xcb007100u /* 203.0.113.0 */
#define POOL_REGIONAL 0xc6336400u /* 198.51.100.0 */

struct used_ctx {
  uint32_t base; /* a /24 */
  unsigned char used[256];
};

static void mark_used(struct used_ctx *u, const char *ip)
{
  uint32_t a;

  if (sim_net_ip(ip, &a) == 0 && (a & 0xffffff00u) == u->base)
    u->used[a & 255] = 1;
}

static int used_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct used_ctx *u = data;

  (void)name;
  if (strcmp(kind, "compute#address") == 0)
    mark_used(u, sim_net_str(obj, "address"));
  else if (strcmp(kind, "compute#forwardingRule") == 0)
    mark_used(u, sim_net_str(obj, "IPAddress"));
  return 0;
}

int sim_net_alloc_external(sim *s, int global, char *buf)
{
  struct used_ctx u;
  char prefix[200];

  memset(&u, 0, sizeof(u));
  u.base = global ? POOL_GLOBAL : POOL_REGIONAL;
  snprintf(prefix, sizeof(prefix), "projects/%s/", sim_project(s));
  sim_store_each(s, prefix, used_cb, &u);
  for (unsigned i = 1; i < 255; i++)
    if (!u.used[i]) {
      sim_net_ip_str(u.base | i, buf);
      return 0;
    }
  return -1;
}

/* Another address of the same scope holding ip (name malloc'd), or NULL. */
struct holder_ctx {
  const char *ip, *self;
  char *who;
};

static int holder_cb(void *data, const char *name, const char *kind,
                     json_object *obj)
{
  struct holder_ctx *h = data;
  const char *a = sim_net_str(obj, "address");

  if (strcmp(kind, "compute#address") != 0 || strcmp(name, h->self) == 0 ||
      a == NULL || strcmp(a, h->ip) != 0 ||
      sim_net_str(obj, "addressType") == NULL ||
      strcmp(sim_net_str(obj, "addressType"), "EXTERNAL") != 0)
    return 0;
  h->who = strdup(name);
  return 1;
}

static int address_validate(sim *s, sim_resp *resp, json_object *res,
                            json_object *old, const char *region)
{
  static const char *const types[] = {"EXTERNAL", "INTERNAL", NULL};
  static const char *const versions[] = {"IPV4", NULL};
  static const char *const tiers[] = {"PREMIUM", "STANDARD", NULL};
  static const char *const purposes[] = {
      "GCE_ENDPOINT",
      "DNS_RESOLVER",
      "VPC_PEERING",
      "NAT_AUTO",
      "IPSEC_INTERCONNECT",
      "SHARED_LOADBALANCER_VIP",
      "PRIVATE_SERVICE_CONNECT",
      "SERVERLESS",
      "IPV6_ONLY_LOAD_BALANCER",
      NULL,
  };
  const char *type, *purpose, *addr;
  uint32_t ip;

  if (sim_net_enum(resp, res, "addressType", "addressType", types, "EXTERNAL") <
          0 ||
      sim_net_enum(resp, res, "ipVersion", "ipVersion", versions,
                   region ? NULL : "IPV4") < 0 ||
      sim_net_enum(resp, res, "purpose", "purpose", purposes, NULL) < 0)
    return -1;
  type = sim_net_str(res, "addressType");
  purpose = sim_net_str(res, "purpose");
  addr = sim_net_str(res, "address");
  if (addr && sim_net_ip(addr, &ip) < 0)
    return sim_net_invalid(resp, "address", addr, "Must be an IPv4 address.");
  if (strcmp(type, "EXTERNAL") == 0) {
    if (sim_net_enum(resp, res, "networkTier", "networkTier", tiers,
                     "PREMIUM") < 0)
      return -1;
    if (sim_net_str(res, "network") || sim_net_str(res, "subnetwork"))
      return sim_net_invalid(resp, "network", sim_net_str(res, "network"),
                             "An external address cannot name a network "
                             "or subnetwork.");
    json_object_object_del(res, "purpose");
  } else if (region == NULL) {
    long len;
    char *network;

    /* Global internal: a range for private services access (or one PSC
     * endpoint address). */
    if (purpose == NULL || (strcmp(purpose, "VPC_PEERING") != 0 &&
                            strcmp(purpose, "PRIVATE_SERVICE_CONNECT") != 0))
      return sim_net_invalid(resp, "purpose", purpose ? purpose : "",
                             "A global internal address needs purpose "
                             "VPC_PEERING or PRIVATE_SERVICE_CONNECT.");
    network =
        sim_net_ref(s, resp, res, "network", "network", "networks", 1, NULL);
    if (network == NULL)
      return -1;
    if (strcmp(purpose, "PRIVATE_SERVICE_CONNECT") == 0) {
      free(network);
      return addr ? 0 : sim_net_required(resp, "address");
    }
    if (!json_object_object_get_ex(res, "prefixLength", NULL)) {
      free(network);
      return sim_net_required(resp, "prefixLength");
    }
    /* Private services access needs at least a /24. */
    if (sim_net_int(resp, res, "prefixLength", "prefixLength", 8, 24, 16,
                    &len) < 0) {
      free(network);
      return -1;
    }
    if (addr) {
      char *who = NULL, *where = NULL, self[400];
      int hit;

      res_name(s, sim_net_coll_find("globalAddresses"), NULL,
               sim_net_str(res, "name"), self, sizeof(self));
      if (ip & ~mask_of((int)len)) {
        free(network);
        return sim_net_invalid(resp, "address", addr,
                               "Must be the first address of a /%ld range.",
                               len);
      }
      hit = find_overlap(s, network, self, ip, (int)len, &who, &where);
      if (hit)
        sim_net_invalid(resp, "address", addr,
                        "The range %s/%ld overlaps '%s' of the network.", addr,
                        len, who);
      free(who);
      free(where);
      if (hit) {
        free(network);
        return -1;
      }
    }
    free(network);
  } else {
    char *sub = sim_net_ref(s, resp, res, "subnetwork", "subnetwork",
                            "subnetworks", 1, NULL);
    uint32_t base;
    int prefix;

    if (sub == NULL)
      return -1;
    if (addr &&
        sim_net_cidr(sim_net_str(sim_store_get(s, sub), "ipCidrRange"), &base,
                     &prefix) == 0 &&
        !sim_net_overlap(ip, 32, base, prefix)) {
      free(sub);
      return sim_net_invalid(resp, "address", addr,
                             "The address is not in the subnetwork's "
                             "range.");
    }
    free(sub);
    if (purpose == NULL)
      json_object_object_add(res, "purpose",
                             json_object_new_string("GCE_ENDPOINT"));
  }
  (void)old;
  return 0;
}

/* A free /len block for private services access in the RFC 1918 space,
 * avoiding the network's subnets and other allocated ranges. */
static int alloc_peering(sim *s, const char *network, const char *self, int len,
                         uint32_t *out)
{
  static const struct {
    uint32_t base;
    int prefix;
  } spaces[] = {{0x0a000000u, 8}, {0xac100000u, 12}, {0xc0a80000u, 16}};

  for (size_t i = 0; i < sizeof(spaces) / sizeof(*spaces); i++) {
    uint32_t step = 1u << (32 - len), end;

    if (len < spaces[i].prefix)
      continue;
    end = spaces[i].base + (uint32_t)(1ull << (32 - spaces[i].prefix));
    for (uint32_t a = spaces[i].base; a != end && a >= spaces[i].base;
         a += step) {
      char *who = NULL, *where = NULL;
      int hit = find_overlap(s, network, self, a, len, &who, &where);

      free(who);
      free(where);
      if (!hit) {
        *out = a;
        return 0;
      }
    }
  }
  return -1;
}

/* A free host of the subnet (after the gateway), skipping addresses. */
struct host_ctx {
  const char *subnet;
  sim *s;
  uint32_t base;
  int prefix;
  unsigned char *used; /* one per host of the range, up to a /16 */
  size_t n;
};

static int host_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct host_ctx *h = data;
  uint32_t a;

  (void)name;
  if (strcmp(kind, "compute#address") == 0 &&
      refers_to(h->s, obj, "subnetwork", h->subnet) &&
      sim_net_ip(sim_net_str(obj, "address"), &a) == 0 && a >= h->base &&
      a - h->base < h->n)
    h->used[a - h->base] = 1;
  return 0;
}

static int alloc_internal(sim *s, json_object *res, char *buf)
{
  struct host_ctx h;
  char *sub = canon_of(s, res, "subnetwork"), prefix[200];
  int result = -1;

  memset(&h, 0, sizeof(h));
  if (sub == NULL ||
      sim_net_cidr(sim_net_str(sim_store_get(s, sub), "ipCidrRange"), &h.base,
                   &h.prefix) < 0) {
    free(sub);
    return -1;
  }
  h.s = s;
  h.subnet = sub;
  h.n = h.prefix >= 16 ? (size_t)1 << (32 - h.prefix) : 65536;
  h.used = calloc(h.n, 1);
  if (h.used) {
    snprintf(prefix, sizeof(prefix), "projects/%s/regions/", sim_project(s));
    sim_store_each(s, prefix, host_cb, &h);
    /* .0 is the network, .1 the gateway; Google also keeps the last two. */
    for (size_t i = 2; i + 2 < h.n; i++)
      if (!h.used[i]) {
        sim_net_ip_str(h.base + (uint32_t)i, buf);
        result = 0;
        break;
      }
  }
  free(h.used);
  free(sub);
  return result;
}

/* At DONE: allocate (or re-check) the address; nothing else may race. */
static int address_commit(sim *s, sim_op *op, json_object *res)
{
  const char *type = sim_net_str(res, "addressType"),
             *purpose = sim_net_str(res, "purpose"),
             *addr = sim_net_str(res, "address"),
             *region = sim_net_str(res, "region");
  char buf[16], self[400];
  char *canon = sim_ref_name(s, sim_net_str(res, "selfLink"));

  snprintf(self, sizeof(self), "%s", canon ? canon : "");
  free(canon);
  json_object_object_add(res, "status", json_object_new_string("RESERVED"));
  if (type && strcmp(type, "EXTERNAL") == 0) {
    if (addr == NULL) {
      if (sim_net_alloc_external(s, region == NULL, buf) < 0) {
        sim_op_fail(op, 403, "IP_SPACE_EXHAUSTED",
                    "No external IP addresses are available.");
        return -1;
      }
      json_object_object_add(res, "address", json_object_new_string(buf));
    } else {
      struct holder_ctx h = {addr, self, NULL};
      char prefix[200];

      snprintf(prefix, sizeof(prefix), "projects/%s/", sim_project(s));
      sim_store_each(s, prefix, holder_cb, &h);
      if (h.who) {
        sim_op_fail(op, 400, "IP_IN_USE_BY_ANOTHER_RESOURCE",
                    "IP '%s' is already being used by another resource.", addr);
        free(h.who);
        return -1;
      }
    }
  } else if (region == NULL && purpose && strcmp(purpose, "VPC_PEERING") == 0) {
    char *network = canon_of(s, res, "network"), *who = NULL, *where = NULL;
    int len = json_object_get_int(json_object_object_get(res, "prefixLength"));
    uint32_t a;
    int bad;

    if (addr == NULL) {
      bad = network == NULL || alloc_peering(s, network, self, len, &a) < 0;
      if (!bad)
        json_object_object_add(res, "address",
                               json_object_new_string(sim_net_ip_str(a, buf)));
    } else {
      bad = network == NULL || sim_net_ip(addr, &a) < 0 ||
            find_overlap(s, network, self, a, len, &who, &where);
    }
    free(who);
    free(where);
    free(network);
    if (bad) {
      sim_op_fail(op, 400, "IP_SPACE_EXHAUSTED",
                  "No free /%d range is left in the network.", len);
      return -1;
    }
  } else if (region && addr == NULL) {
    if (alloc_internal(s, res, buf) < 0) {
      sim_op_fail(op, 400, "IP_SPACE_EXHAUSTED",
                  "The subnetwork has no free address.");
      return -1;
    }
    json_object_object_add(res, "address", json_object_new_string(buf));
  }
  return 0;
}

static const char *address_quota(json_object *res)
{
  const char *type = sim_net_str(res, "addressType");

  if (type == NULL || strcmp(type, "EXTERNAL") == 0)
    return "STATIC_ADDRESSES";
  return sim_net_str(res, "region") ? "INTERNAL_ADDRESSES"
                                    : "GLOBAL_INTERNAL_ADDRESSES";
}

/* --- the table ---------------------------------------------------------- */

static const char *const subnet_fixed[] = {"network", "region", "ipCidrRange",
                                           NULL};
static const char *const network_fixed[] = {"network", NULL};
static const char *const router_fixed[] = {"network", "region", NULL};

static const sim_net_coll net_colls[] = {
    {"subnetworks", "subnetworks", "subnetwork", "subnetwork",
     "compute#subnetwork", "compute#subnetworkList", "Subnetwork",
     "SUBNETWORKS", SIM_NET_REGIONAL | SIM_NET_FINGERPRINT, subnet_fixed,
     subnet_validate, subnet_commit, subnet_inserted, subnet_deleted, NULL},
    {"firewalls", "firewalls", "firewall", "firewall", "compute#firewall",
     "compute#firewallList", "Firewall", "FIREWALLS", 0, network_fixed,
     firewall_validate, NULL, NULL, NULL, NULL},
    {"routers", "routers", "router", "router", "compute#router",
     "compute#routerList", "Router", "ROUTERS", SIM_NET_REGIONAL, router_fixed,
     router_validate, NULL, NULL, NULL, NULL},
    {"addresses", "addresses", "address", "address", "compute#address",
     "compute#addressList", "Address", NULL, SIM_NET_REGIONAL | SIM_NET_LABELS,
     NULL, address_validate, address_commit, NULL, NULL, address_quota},
    {"globalAddresses", "addresses", "address", "address", "compute#address",
     "compute#addressList", "Address", NULL, SIM_NET_LABELS, NULL,
     address_validate, address_commit, NULL, NULL, address_quota},
};
static const size_t net_ncolls = sizeof(net_colls) / sizeof(*net_colls);

static const sim_route net_routes[] = {
    /* aggregatedList: every region (and global) at once */
    {"GET", CP "/aggregated/subnetworks", "compute.subnetworks.aggregatedList",
     net_aggregated, NULL, 0, NULL},
    {"GET", CP "/aggregated/routers", "compute.routers.aggregatedList",
     net_aggregated, NULL, 0, NULL},
    {"GET", CP "/aggregated/addresses", "compute.addresses.aggregatedList",
     net_aggregated, NULL, 0, NULL},
    {"GET", CP "/aggregated/healthChecks",
     "compute.healthChecks.aggregatedList", net_aggregated, NULL, 0, NULL},
    {"GET", CP "/aggregated/backendServices",
     "compute.backendServices.aggregatedList", net_aggregated, NULL, 0, NULL},
    {"GET", CP "/aggregated/urlMaps", "compute.urlMaps.aggregatedList",
     net_aggregated, NULL, 0, NULL},
    {"GET", CP "/aggregated/targetHttpsProxies",
     "compute.targetHttpsProxies.aggregatedList", net_aggregated, NULL, 0,
     NULL},
    {"GET", CP "/aggregated/forwardingRules",
     "compute.forwardingRules.aggregatedList", net_aggregated, NULL, 0, NULL},
    /* subnetworks */
    {"POST", CR "/subnetworks", "compute.subnetworks.insert", net_insert,
     net_apply, 0, NULL},
    {"GET", CR "/subnetworks", "compute.subnetworks.list", net_list, NULL, 0,
     NULL},
    {"GET", CR "/subnetworks/{subnetwork}", "compute.subnetworks.get", net_get,
     NULL, 0, NULL},
    {"DELETE", CR "/subnetworks/{subnetwork}", "compute.subnetworks.delete",
     net_delete, net_apply, 0, NULL},
    {"PATCH", CR "/subnetworks/{subnetwork}", "compute.subnetworks.patch",
     net_patch, net_apply, 0, NULL},
    {"POST", CR "/subnetworks/{subnetwork}/expandIpCidrRange",
     "compute.subnetworks.expandIpCidrRange", subnet_expand, net_apply, 0,
     NULL},
    {"POST", CR "/subnetworks/{subnetwork}/setPrivateIpGoogleAccess",
     "compute.subnetworks.setPrivateIpGoogleAccess", subnet_set_pga, net_apply,
     0, NULL},
    /* firewalls */
    {"POST", CG "/firewalls", "compute.firewalls.insert", net_insert, net_apply,
     0, NULL},
    {"GET", CG "/firewalls", "compute.firewalls.list", net_list, NULL, 0, NULL},
    {"GET", CG "/firewalls/{firewall}", "compute.firewalls.get", net_get, NULL,
     0, NULL},
    {"DELETE", CG "/firewalls/{firewall}", "compute.firewalls.delete",
     net_delete, net_apply, 0, NULL},
    {"PATCH", CG "/firewalls/{firewall}", "compute.firewalls.patch", net_patch,
     net_apply, 0, NULL},
    {"PUT", CG "/firewalls/{firewall}", "compute.firewalls.update", net_update,
     net_apply, 0, NULL},
    /* routers */
    {"POST", CR "/routers", "compute.routers.insert", net_insert, net_apply, 0,
     NULL},
    {"GET", CR "/routers", "compute.routers.list", net_list, NULL, 0, NULL},
    {"GET", CR "/routers/{router}", "compute.routers.get", net_get, NULL, 0,
     NULL},
    {"DELETE", CR "/routers/{router}", "compute.routers.delete", net_delete,
     net_apply, 0, NULL},
    {"PATCH", CR "/routers/{router}", "compute.routers.patch", net_patch,
     net_apply, 0, NULL},
    {"PUT", CR "/routers/{router}", "compute.routers.update", net_update,
     net_apply, 0, NULL},
    /* addresses */
    {"POST", CR "/addresses", "compute.addresses.insert", net_insert, net_apply,
     0, NULL},
    {"GET", CR "/addresses", "compute.addresses.list", net_list, NULL, 0, NULL},
    {"GET", CR "/addresses/{address}", "compute.addresses.get", net_get, NULL,
     0, NULL},
    {"DELETE", CR "/addresses/{address}", "compute.addresses.delete",
     net_delete, net_apply, 0, NULL},
    {"POST", CR "/addresses/{resource}/setLabels",
     "compute.addresses.setLabels", net_set_labels, net_apply, 0, NULL},
    /* globalAddresses */
    {"POST", CG "/addresses", "compute.globalAddresses.insert", net_insert,
     net_apply, 0, NULL},
    {"GET", CG "/addresses", "compute.globalAddresses.list", net_list, NULL, 0,
     NULL},
    {"GET", CG "/addresses/{address}", "compute.globalAddresses.get", net_get,
     NULL, 0, NULL},
    {"DELETE", CG "/addresses/{address}", "compute.globalAddresses.delete",
     net_delete, net_apply, 0, NULL},
    {"POST", CG "/addresses/{resource}/setLabels",
     "compute.globalAddresses.setLabels", net_set_labels, net_apply, 0, NULL},
    /* healthChecks */
    {"POST", CG "/healthChecks", "compute.healthChecks.insert", net_insert,
     net_apply, 0, NULL},
    {"GET", CG "/healthChecks", "compute.healthChecks.list", net_list, NULL, 0,
     NULL},
    {"GET", CG "/healthChecks/{healthCheck}", "compute.healthChecks.get",
     net_get, NULL, 0, NULL},
    {"DELETE", CG "/healthChecks/{healthCheck}", "compute.healthChecks.delete",
     net_delete, net_apply, 0, NULL},
    {"PATCH", CG "/healthChecks/{healthCheck}", "compute.healthChecks.patch",
     net_patch, net_apply, 0, NULL},
    {"PUT", CG "/healthChecks/{healthCheck}", "compute.healthChecks.update",
     net_update, net_apply, 0, NULL},
    /* backendServices (getHealth is the instances module's) */
    {"POST", CG "/backendServices", "compute.backendServices.insert",
     net_insert, net_apply, 0, NULL},
    {"GET", CG "/backendServices", "compute.backendServices.list", net_list,
     NULL, 0, NULL},
    {"GET", CG "/backendServices/{backendService}",
     "compute.backendServices.get", net_get, NULL, 0, NULL},
    {"DELETE", CG "/backendServices/{backendService}",
     "compute.backendServices.delete", net_delete, net_apply, 0, NULL},
    {"PATCH", CG "/backendServices/{backendService}",
     "compute.backendServices.patch", net_patch, net_apply, 0, NULL},
    {"PUT", CG "/backendServices/{backendService}",
     "compute.backendServices.update", net_update, net_apply, 0, NULL},
    /* urlMaps */
    {"POST", CG "/urlMaps", "compute.urlMaps.insert", net_insert, net_apply, 0,
     NULL},
    {"GET", CG "/urlMaps", "compute.urlMaps.list", net_list, NULL, 0, NULL},
    {"GET", CG "/urlMaps/{urlMap}", "compute.urlMaps.get", net_get, NULL, 0,
     NULL},
    {"DELETE", CG "/urlMaps/{urlMap}", "compute.urlMaps.delete", net_delete,
     net_apply, 0, NULL},
    {"PATCH", CG "/urlMaps/{urlMap}", "compute.urlMaps.patch", net_patch,
     net_apply, 0, NULL},
    {"PUT", CG "/urlMaps/{urlMap}", "compute.urlMaps.update", net_update,
     net_apply, 0, NULL},
    /* targetHttpsProxies; setUrlMap's discovery path has no /global. */
    {"POST", CG "/targetHttpsProxies", "compute.targetHttpsProxies.insert",
     net_insert, net_apply, 0, NULL},
    {"GET", CG "/targetHttpsProxies", "compute.targetHttpsProxies.list",
     net_list, NULL, 0, NULL},
    {"GET", CG "/targetHttpsProxies/{targetHttpsProxy}",
     "compute.targetHttpsProxies.get", net_get, NULL, 0, NULL},
    {"DELETE", CG "/targetHttpsProxies/{targetHttpsProxy}",
     "compute.targetHttpsProxies.delete", net_delete, net_apply, 0, NULL},
    {"PATCH", CG "/targetHttpsProxies/{targetHttpsProxy}",
     "compute.targetHttpsProxies.patch", net_patch, net_apply, 0, NULL},
    {"POST", CG "/targetHttpsProxies/{targetHttpsProxy}/setCertificateMap",
     "compute.targetHttpsProxies.setCertificateMap",
     sim_net_set_certificate_map, net_apply, 0, NULL},
    {"POST", CP "/targetHttpsProxies/{targetHttpsProxy}/setUrlMap",
     "compute.targetHttpsProxies.setUrlMap", sim_net_set_url_map, net_apply, 0,
     NULL},
    /* globalForwardingRules */
    {"POST", CG "/forwardingRules", "compute.globalForwardingRules.insert",
     net_insert, net_apply, 0, NULL},
    {"GET", CG "/forwardingRules", "compute.globalForwardingRules.list",
     net_list, NULL, 0, NULL},
    {"GET", CG "/forwardingRules/{forwardingRule}",
     "compute.globalForwardingRules.get", net_get, NULL, 0, NULL},
    {"DELETE", CG "/forwardingRules/{forwardingRule}",
     "compute.globalForwardingRules.delete", net_delete, net_apply, 0, NULL},
    {"POST", CG "/forwardingRules/{resource}/setLabels",
     "compute.globalForwardingRules.setLabels", net_set_labels, net_apply, 0,
     NULL},
    {"POST", CG "/forwardingRules/{forwardingRule}/setTarget",
     "compute.globalForwardingRules.setTarget", sim_net_set_target, net_apply,
     0, NULL},
};

int sim_compute_net_init(sim *s)
{
  return sim_register(s, SIM_API_COMPUTE, net_routes,
                      sizeof(net_routes) / sizeof(*net_routes));
}
