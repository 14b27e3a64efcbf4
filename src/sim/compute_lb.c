/*
 * compute_lb.c - Compute Engine v1 load-balancing collections: healthChecks,
 * backendServices, urlMaps, targetHttpsProxies (with setCertificateMap and
 * setUrlMap) and globalForwardingRules (with setTarget). The generic
 * handlers and the route table live in compute_net.c; this file says what
 * each collection validates and defaults, and what changes elsewhere when
 * one is created or deleted (a forwarding rule marks its static address
 * IN_USE).
 *
 * backendServices.getHealth belongs to the instances module, which needs
 * instances; it reads backend services and health checks through
 * compute_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/compute_int.h"
#include "sim/compute_net.h"
#include "sim/schema.h"
#include "sim/jsonutil.h"
#include "sim/sim.h"

/* URL map size limits (docs/google-cloud.md section 6): 1 MB for the
 * current load balancers, 64 KB for the classic Application Load Balancer
 * (scheme EXTERNAL). Measured as the stored JSON, not Google's "quota
 * units", which are not documented precisely enough to copy. */
#define URLMAP_MAX_BYTES         (1024 * 1024)
#define URLMAP_MAX_BYTES_CLASSIC (64 * 1024)

static json_object *copy_of(json_object *o)
{
  json_object *copy = NULL;

  if (json_object_deep_copy(o, &copy, NULL) != 0)
    return NULL;
  return copy;
}

static json_object *lookup_ref(sim *s, const char *ref, const char *seg)
{
  char *canon = ref ? sim_ref_name(s, ref) : NULL, want[200];
  json_object *obj = NULL;

  snprintf(want, sizeof(want), "/global/%s/", seg);
  if (canon && strstr(canon, want))
    obj = sim_store_get(s, canon);
  free(canon);
  return obj;
}

/* json_object_array_length() asserts on anything but an array; a client
 * may send null or an object where an array belongs (the schema check
 * catches most, not a null). */

/* --- healthChecks ------------------------------------------------------- */

/* The type-specific block: HTTP -> httpHealthCheck, and so on. */
static const struct {
  const char *type, *block;
  long port;
} hc_blocks[] = {
    {"HTTP", "httpHealthCheck", 80},    {"HTTPS", "httpsHealthCheck", 443},
    {"HTTP2", "http2HealthCheck", 443}, {"TCP", "tcpHealthCheck", 80},
    {"SSL", "sslHealthCheck", 443},     {"GRPC", "grpcHealthCheck", 0},
};

static int hc_validate(sim *s, sim_resp *resp, json_object *res,
                       json_object *old, const char *region)
{
  static const char *const types[] = {"TCP",   "SSL",  "HTTP", "HTTPS",
                                      "HTTP2", "GRPC", NULL};
  static const char *const specs[] = {"USE_FIXED_PORT", "USE_NAMED_PORT",
                                      "USE_SERVING_PORT", NULL};
  static const char *const proxy[] = {"NONE", "PROXY_V1", NULL};
  const char *type = sim_net_str(res, "type");
  long interval, timeout;
  char buf[32];

  (void)s;
  (void)old;
  (void)region;
  if (type == NULL)
    return sim_net_required(resp, "type");
  if (sim_net_enum(resp, res, "type", "type", types, NULL) < 0 ||
      sim_net_int(resp, res, "checkIntervalSec", "checkIntervalSec", 1, 300, 5,
                  &interval) < 0 ||
      sim_net_int(resp, res, "timeoutSec", "timeoutSec", 1, 300, 5, &timeout) <
          0 ||
      sim_net_int(resp, res, "healthyThreshold", "healthyThreshold", 1, 10, 2,
                  NULL) < 0 ||
      sim_net_int(resp, res, "unhealthyThreshold", "unhealthyThreshold", 1, 10,
                  2, NULL) < 0)
    return -1;
  if (timeout > interval) {
    snprintf(buf, sizeof(buf), "%ld", timeout);
    return sim_net_invalid(resp, "timeoutSec", buf,
                           "timeoutSec must be less than or equal to "
                           "checkIntervalSec (%ld).",
                           interval);
  }
  for (size_t i = 0; i < sizeof(hc_blocks) / sizeof(*hc_blocks); i++) {
    json_object *b;
    char at[64];
    const char *spec, *path;

    if (strcmp(hc_blocks[i].type, type) != 0)
      continue;
    if (!json_object_object_get_ex(res, hc_blocks[i].block, &b) ||
        !json_object_is_type(b, json_type_object)) {
      b = json_object_new_object();
      json_object_object_add(res, hc_blocks[i].block, b);
    }
    snprintf(at, sizeof(at), "%s.portSpecification", hc_blocks[i].block);
    if (sim_net_enum(resp, b, "portSpecification", at, specs,
                     "USE_FIXED_PORT") < 0)
      return -1;
    spec = sim_net_str(b, "portSpecification");
    snprintf(at, sizeof(at), "%s.port", hc_blocks[i].block);
    if (strcmp(spec, "USE_FIXED_PORT") == 0 && hc_blocks[i].port &&
        sim_net_int(resp, b, "port", at, 1, 65535, hc_blocks[i].port, NULL) < 0)
      return -1;
    if (strncmp(type, "HTTP", 4) == 0) {
      snprintf(at, sizeof(at), "%s.requestPath", hc_blocks[i].block);
      path = sim_net_str(b, "requestPath");
      if (path == NULL)
        json_object_object_add(b, "requestPath", json_object_new_string("/"));
      else if (path[0] != '/')
        return sim_net_invalid(resp, at, path, "Must start with '/'.");
    }
    if (strcmp(type, "GRPC") != 0) {
      snprintf(at, sizeof(at), "%s.proxyHeader", hc_blocks[i].block);
      if (sim_net_enum(resp, b, "proxyHeader", at, proxy, "NONE") < 0)
        return -1;
    }
  }
  return 0;
}

/* --- backendServices ---------------------------------------------------- */

static int bs_validate(sim *s, sim_resp *resp, json_object *res,
                       json_object *old, const char *region)
{
  static const char *const schemes[] = {
      "EXTERNAL",
      "EXTERNAL_MANAGED",
      "INTERNAL_SELF_MANAGED",
      "INTERNAL_MANAGED",
      NULL,
  };
  static const char *const protos[] = {"HTTP",        "HTTPS", "HTTP2", "TCP",
                                       "SSL",         "GRPC",  "H2C",   "UDP",
                                       "UNSPECIFIED", NULL};
  static const char *const modes[] = {"UTILIZATION", "RATE", "CONNECTION",
                                      "CUSTOM_METRICS", NULL};
  static const char *const affinity[] = {
      "NONE",
      "CLIENT_IP",
      "GENERATED_COOKIE",
      "HEADER_FIELD",
      "HTTP_COOKIE",
      "CLIENT_IP_PORT_PROTO",
      "CLIENT_IP_PROTO",
      "CLIENT_IP_NO_DESTINATION",
      "STRONG_COOKIE_AFFINITY",
      NULL,
  };
  json_object *hcs = json_object_object_get(res, "healthChecks"),
              *backends = json_object_object_get(res, "backends");

  (void)old;
  (void)region;
  if (sim_net_enum(resp, res, "loadBalancingScheme", "loadBalancingScheme",
                   schemes, "EXTERNAL") < 0 ||
      sim_net_enum(resp, res, "protocol", "protocol", protos, "HTTP") < 0 ||
      sim_net_enum(resp, res, "sessionAffinity", "sessionAffinity", affinity,
                   "NONE") < 0 ||
      sim_net_int(resp, res, "timeoutSec", "timeoutSec", 1, 2147483647, 30,
                  NULL) < 0)
    return -1;
  if (sim_net_str(res, "portName") == NULL)
    json_object_object_add(res, "portName", json_object_new_string("http"));
  if (alen(hcs) > 1)
    return sim_net_invalid(resp, "healthChecks", "",
                           "At most one health check may be given.");
  for (size_t i = 0; i < alen(hcs); i++) {
    json_object *wrap = json_object_new_object();
    char *canon;

    json_object_object_add(wrap, "hc",
                           json_object_get(json_object_array_get_idx(hcs, i)));
    canon = sim_net_ref(s, resp, wrap, "hc", "healthChecks", "healthChecks", 1,
                        NULL);
    if (canon)
      json_object_array_put_idx(
          hcs, i, json_object_get(json_object_object_get(wrap, "hc")));
    json_object_put(wrap);
    if (canon == NULL)
      return -1;
    free(canon);
  }
  for (size_t i = 0; i < alen(backends); i++) {
    json_object *b = json_object_array_get_idx(backends, i);
    char at[64], *group;

    snprintf(at, sizeof(at), "backends[%zu].group", i);
    /* Instance groups and NEGs are the instances module's: any existing
     * zonal or regional group will do. */
    group = sim_net_ref(s, resp, b, "group", at, NULL, 1, NULL);
    if (group == NULL)
      return -1;
    for (size_t k = 0; k < i; k++) {
      char *other = sim_ref_name(
          s, sim_net_str(json_object_array_get_idx(backends, k), "group"));
      int dup = other && strcmp(other, group) == 0;

      free(other);
      if (dup) {
        free(group);
        return sim_net_invalid(resp, at, sim_net_str(b, "group"),
                               "Duplicate backend group.");
      }
    }
    free(group);
    snprintf(at, sizeof(at), "backends[%zu].balancingMode", i);
    if (sim_net_enum(resp, b, "balancingMode", at, modes, "UTILIZATION") < 0)
      return -1;
    if (!json_object_object_get_ex(b, "capacityScaler", NULL))
      json_object_object_add(b, "capacityScaler", json_object_new_double(1.0));
  }
  if (alen(backends) > 0 && alen(hcs) == 0)
    return sim_net_invalid(resp, "healthChecks", "",
                           "A backend service with backends must have a "
                           "health check.");
  if (!json_object_object_get_ex(res, "connectionDraining", NULL)) {
    json_object *cd = json_object_new_object();

    json_object_object_add(cd, "drainingTimeoutSec", json_object_new_int(300));
    json_object_object_add(res, "connectionDraining", cd);
  }
  return 0;
}

/* --- urlMaps ------------------------------------------------------------ */

/*
 * A service reference of a URL map: must name an existing backend service
 * (or backend bucket). A dangling one is a 400 `invalid` naming the field
 * (the choice for URL maps), unlike the 404 of other references.
 */
static int urlmap_service(sim *s, sim_resp *resp, json_object *obj,
                          const char *field, const char *at)
{
  const char *ref = sim_net_str(obj, field);
  char *canon;
  int ok;

  if (ref == NULL)
    return 0;
  canon = sim_ref_name(s, ref);
  ok = canon &&
       (strstr(canon, "/global/backendServices/") ||
        strstr(canon, "/global/backendBuckets/")) &&
       sim_store_get(s, canon);
  if (!ok) {
    sim_net_invalid(resp, at, ref, "The resource '%s' was not found.",
                    canon ? canon : ref);
    free(canon);
    return -1;
  }
  json_object_object_add(obj, field,
                         sim_link_json(SIM_API_COMPUTE, "%s", canon));
  free(canon);
  return 0;
}

static int has_default(json_object *o)
{
  return sim_net_str(o, "defaultService") ||
         json_object_object_get_ex(o, "defaultUrlRedirect", NULL) ||
         json_object_object_get_ex(o, "defaultRouteAction", NULL);
}

static int urlmap_matchers(sim *s, sim_resp *resp, json_object *res)
{
  json_object *pms = json_object_object_get(res, "pathMatchers");
  char at[96];

  for (size_t i = 0; i < alen(pms); i++) {
    json_object *pm = json_object_array_get_idx(pms, i), *rules;
    const char *name = sim_net_str(pm, "name");

    snprintf(at, sizeof(at), "pathMatchers[%zu].name", i);
    if (name == NULL)
      return sim_net_required(resp, at);
    for (size_t k = 0; k < i; k++)
      if (strcmp(sim_net_str(json_object_array_get_idx(pms, k), "name"),
                 name) == 0)
        return sim_net_invalid(resp, at, name, "Duplicate path matcher.");
    snprintf(at, sizeof(at), "pathMatchers[%zu].defaultService", i);
    if (urlmap_service(s, resp, pm, "defaultService", at) < 0)
      return -1;
    rules = json_object_object_get(pm, "pathRules");
    for (size_t k = 0; k < alen(rules); k++) {
      snprintf(at, sizeof(at), "pathMatchers[%zu].pathRules[%zu].service", i,
               k);
      if (urlmap_service(s, resp, json_object_array_get_idx(rules, k),
                         "service", at) < 0)
        return -1;
    }
    rules = json_object_object_get(pm, "routeRules");
    for (size_t k = 0; k < alen(rules); k++) {
      snprintf(at, sizeof(at), "pathMatchers[%zu].routeRules[%zu].service", i,
               k);
      if (urlmap_service(s, resp, json_object_array_get_idx(rules, k),
                         "service", at) < 0)
        return -1;
    }
  }
  return 0;
}

static int urlmap_has_matcher(json_object *res, const char *name)
{
  json_object *pms = json_object_object_get(res, "pathMatchers");

  for (size_t i = 0; name && i < alen(pms); i++)
    if (strcmp(sim_net_str(json_object_array_get_idx(pms, i), "name"), name) ==
        0)
      return 1;
  return 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A host may appear in one host rule only: sort them all and look at
 * neighbours (URL maps reach thousands of hosts). */
static int urlmap_dup_host(sim_resp *resp, json_object *rules)
{
  size_t n = 0, k = 0;
  const char **all;
  int result = 0;

  for (size_t i = 0; i < alen(rules); i++)
    n += alen(
        json_object_object_get(json_object_array_get_idx(rules, i), "hosts"));
  if (n < 2)
    return 0;
  all = malloc(n * sizeof(*all));
  if (all == NULL)
    return sim_resp_json(resp, 503, NULL), -1;
  for (size_t i = 0; i < alen(rules); i++) {
    json_object *hosts =
        json_object_object_get(json_object_array_get_idx(rules, i), "hosts");

    for (size_t h = 0; h < alen(hosts); h++) {
      const char *host =
          json_object_get_string(json_object_array_get_idx(hosts, h));

      all[k++] = host ? host : "";
    }
  }
  qsort(all, n, sizeof(*all), cmp_str);
  for (size_t i = 1; i < n && result == 0; i++)
    if (strcmp(all[i - 1], all[i]) == 0)
      result = sim_net_invalid(resp, "hostRules", all[i],
                               "The host '%s' is given in more than one host "
                               "rule.",
                               all[i]);
  free(all);
  return result;
}

static int urlmap_hosts(sim_resp *resp, json_object *res)
{
  json_object *rules = json_object_object_get(res, "hostRules");
  char at[96];

  for (size_t i = 0; i < alen(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    const char *pm = sim_net_str(r, "pathMatcher");

    snprintf(at, sizeof(at), "hostRules[%zu].pathMatcher", i);
    if (pm == NULL)
      return sim_net_required(resp, at);
    if (!urlmap_has_matcher(res, pm))
      return sim_net_invalid(resp, at, pm,
                             "The path matcher '%s' does not exist in this "
                             "URL map.",
                             pm);
    snprintf(at, sizeof(at), "hostRules[%zu].hosts", i);
    if (alen(json_object_object_get(r, "hosts")) == 0)
      return sim_net_required(resp, at);
  }
  return urlmap_dup_host(resp, rules);
}

static int urlmap_validate(sim *s, sim_resp *resp, json_object *res,
                           json_object *old, const char *region)
{
  json_object *bs;
  size_t size, limit = URLMAP_MAX_BYTES;
  const char *scheme;

  (void)old;
  (void)region;
  if (!has_default(res))
    return sim_net_required(resp, "defaultService");
  if (urlmap_service(s, resp, res, "defaultService", "defaultService") < 0)
    return -1;
  /* The size first: it is cheap, and a map over the limit is refused
   * whatever else is wrong with it. The classic load balancer (scheme
   * EXTERNAL) has the smaller limit. */
  bs = lookup_ref(s, sim_net_str(res, "defaultService"), "backendServices");
  scheme = sim_net_str(bs, "loadBalancingScheme");
  if (scheme && strcmp(scheme, "EXTERNAL") == 0)
    limit = URLMAP_MAX_BYTES_CLASSIC;
  size = strlen(json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
  if (size > limit)
    return sim_net_invalid(resp, "hostRules", "",
                           "The URL map is %zu bytes; the limit for its "
                           "load balancer is %zu bytes.",
                           size, limit);
  return urlmap_matchers(s, resp, res) < 0 || urlmap_hosts(resp, res) < 0 ? -1
                                                                          : 0;
}

/* --- targetHttpsProxies ------------------------------------------------- */

#define CM_PREFIX "//certificatemanager.googleapis.com/"

/*
 * certificateMap names a global map that must exist. Google documents
 * "//certificatemanager.googleapis.com/projects/P/locations/L/
 * certificateMaps/M"; gcloud sends the REST URL
 * ("https://certificatemanager.googleapis.com/v1/projects/..."), and a
 * client whose endpoint points at the simulator sends ours. All are
 * accepted and stored in the documented form.
 */
static int proxy_cert_map(sim *s, sim_resp *resp, json_object *res)
{
  const char *map = sim_net_str(res, "certificateMap"), *rel;
  char project[100], loc[100], name[100], tail, canon[400];
  int ok;

  if (map == NULL || *map == '\0') {
    json_object_object_del(res, "certificateMap");
    return 0;
  }
  rel = strstr(map, "projects/");
  ok = rel &&
       (rel == map ||
        (rel[-1] == '/' && (strncmp(map, CM_PREFIX, strlen(CM_PREFIX)) == 0 ||
                            strncmp(map, "https://", 8) == 0 ||
                            strncmp(map, "http://", 7) == 0)));
  if (!ok ||
      sscanf(rel,
             "projects/%99[^/]/locations/%99[^/]/certificateMaps/%99[^/]%c",
             project, loc, name, &tail) != 3)
    return sim_net_invalid(resp, "certificateMap", map,
                           "Must be of the form '//certificatemanager."
                           "googleapis.com/projects/{project}/locations/"
                           "{location}/certificateMaps/{certificateMap}'.");
  if (strcmp(loc, "global") != 0)
    return sim_net_invalid(resp, "certificateMap", map,
                           "A global target HTTPS proxy takes a global "
                           "certificate map.");
  snprintf(canon, sizeof(canon), "projects/%s/locations/%s/certificateMaps/%s",
           project, loc, name);
  if (strcmp(project, sim_project(s)) != 0 || sim_store_get(s, canon) == NULL) {
    sim_err_legacy(resp, 404, "notFound", "The resource '%s' was not found",
                   canon);
    return -1;
  }
  {
    char full[500];

    snprintf(full, sizeof(full), CM_PREFIX "%s", canon);
    json_object_object_add(res, "certificateMap", json_object_new_string(full));
  }
  return 0;
}

static int proxy_validate(sim *s, sim_resp *resp, json_object *res,
                          json_object *old, const char *region)
{
  static const char *const quic[] = {"NONE", "ENABLE", "DISABLE", NULL};
  json_object *certs = json_object_object_get(res, "sslCertificates");
  size_t n = alen(certs);
  char *urlmap;

  (void)old;
  (void)region;
  urlmap = sim_net_ref(s, resp, res, "urlMap", "urlMap", "urlMaps", 1, NULL);
  if (urlmap == NULL)
    return -1;
  free(urlmap);
  if (proxy_cert_map(s, resp, res) < 0 ||
      sim_net_enum(resp, res, "quicOverride", "quicOverride", quic, "NONE") < 0)
    return -1;
  /* With a certificate map, sslCertificates are ignored (and unchecked);
   * without one, 1 to 15 are required (docs/google-cloud.md section 6). The
   * sslCertificates collection is not simulated, so the references are
   * kept as given. */
  if (sim_net_str(res, "certificateMap") == NULL) {
    if (n == 0)
      return sim_net_invalid(resp, "sslCertificates", "",
                             "At least one SSL certificate must be specified "
                             "for a target HTTPS proxy without a certificate "
                             "map.");
    if (n > 15)
      return sim_net_invalid(resp, "sslCertificates", "",
                             "At most 15 SSL certificates may be "
                             "specified.");
  }
  for (size_t i = 0; i < n; i++) {
    char *canon = sim_ref_name(
        s, json_object_get_string(json_object_array_get_idx(certs, i)));

    if (canon)
      json_object_array_put_idx(certs, i,
                                sim_link_json(SIM_API_COMPUTE, "%s", canon));
    free(canon);
  }
  return 0;
}

/* setCertificateMap and setUrlMap: one field of the proxy changes. */
static int proxy_set(sim *s, sim_req *req, sim_resp *resp, const char *schema,
                     const char *field, const char *op_type)
{
  const sim_net_coll *c = sim_net_coll_find("targetHttpsProxies");
  json_object *body = sim_body(req), *old, *res, *v;
  const char *region;
  char full[400];

  old = sim_net_lookup(s, req, resp, c, "targetHttpsProxy", full, sizeof(full),
                       &region);
  if (old == NULL)
    return SIM_DONE;
  if (sim_schema_check(resp, sim_schema_compute, schema, body, "resource") < 0)
    return SIM_DONE;
  res = copy_of(old);
  if (res == NULL)
    return sim_resp_json(resp, 503, NULL);
  v = json_object_object_get(body, field);
  if (v)
    json_object_object_add(res, field, json_object_get(v));
  else
    json_object_object_del(res, field);
  if (proxy_validate(s, resp, res, old, region) < 0) {
    json_object_put(res);
    return SIM_DONE;
  }
  return sim_net_start_replace(s, req, resp, c, full, region, res, op_type);
}

int sim_net_set_certificate_map(sim *s, sim_req *req, sim_resp *resp)
{
  return proxy_set(s, req, resp, "TargetHttpsProxiesSetCertificateMapRequest",
                   "certificateMap", "setCertificateMap");
}

int sim_net_set_url_map(sim *s, sim_req *req, sim_resp *resp)
{
  return proxy_set(s, req, resp, "UrlMapReference", "urlMap", "setUrlMap");
}

/* --- globalForwardingRules ---------------------------------------------- */

/* "443" -> "443-443"; NULL when not a port or range. */
static int port_range(const char *in, char *out, size_t n)
{
  char *end;
  long lo, hi;

  if (in == NULL || *in < '0' || *in > '9')
    return -1;
  lo = strtol(in, &end, 10);
  hi = lo;
  if (*end == '-') {
    if (end[1] < '0' || end[1] > '9')
      return -1;
    hi = strtol(end + 1, &end, 10);
  }
  if (*end != '\0' || lo < 1 || hi > 65535 || lo > hi)
    return -1;
  snprintf(out, n, "%ld-%ld", lo, hi);
  return 0;
}

struct fr_ctx {
  const char *ip, *range, *proto, *self;
  char *who;
  json_object *address; /* fr_address_cb: the global address holding ip */
};

/* Another forwarding rule on the same IP, protocol and overlapping ports. */
static int fr_clash_cb(void *data, const char *name, const char *kind,
                       json_object *obj)
{
  struct fr_ctx *c = data;
  const char *ip = sim_net_str(obj, "IPAddress"),
             *range = sim_net_str(obj, "portRange"),
             *proto = sim_net_str(obj, "IPProtocol");
  long a0, a1, b0, b1;

  if (strcmp(kind, "compute#forwardingRule") != 0 ||
      strcmp(name, c->self) == 0 || ip == NULL || strcmp(ip, c->ip) != 0 ||
      (proto && c->proto && strcmp(proto, c->proto) != 0) || range == NULL ||
      c->range == NULL || sscanf(range, "%ld-%ld", &a0, &a1) != 2 ||
      sscanf(c->range, "%ld-%ld", &b0, &b1) != 2 || a1 < b0 || b1 < a0)
    return 0;
  c->who = strdup(name);
  return 1;
}

static int fr_address_cb(void *data, const char *name, const char *kind,
                         json_object *obj)
{
  struct fr_ctx *c = data;
  const char *a = sim_net_str(obj, "address"),
             *type = sim_net_str(obj, "addressType");

  (void)name;
  if (strcmp(kind, "compute#address") != 0 || a == NULL ||
      strcmp(a, c->ip) != 0 || (type && strcmp(type, "EXTERNAL") != 0))
    return 0;
  c->address = obj;
  return 1;
}

/* The global external address holding ip (borrowed), or NULL. */
static json_object *global_address_of(sim *s, const char *ip)
{
  struct fr_ctx c;
  char prefix[200];

  memset(&c, 0, sizeof(c));
  c.ip = ip;
  snprintf(prefix, sizeof(prefix), "projects/%s/global/addresses/",
           sim_project(s));
  sim_store_each(s, prefix, fr_address_cb, &c);
  return c.address;
}

/*
 * A global forwarding rule and the backend service behind its target proxy
 * (the URL map's default service) must use the same load balancing scheme:
 * EXTERNAL (classic) and EXTERNAL_MANAGED are different load balancers.
 */
static int fr_scheme(sim *s, sim_resp *resp, json_object *res,
                     const char *target)
{
  json_object *proxy = sim_store_get(s, target), *map, *bs;
  const char *want = sim_net_str(res, "loadBalancingScheme"), *have;

  if (strstr(target, "/global/targetHttpsProxies/") == NULL || proxy == NULL)
    return 0;
  map = lookup_ref(s, sim_net_str(proxy, "urlMap"), "urlMaps");
  bs = lookup_ref(s, sim_net_str(map, "defaultService"), "backendServices");
  have = sim_net_str(bs, "loadBalancingScheme");
  if (have == NULL || want == NULL || strcmp(have, want) == 0)
    return 0;
  return sim_net_invalid(resp, "loadBalancingScheme", want,
                         "The backend service behind the target proxy uses "
                         "load balancing scheme %s.",
                         have);
}

static int fr_validate(sim *s, sim_resp *resp, json_object *res,
                       json_object *old, const char *region)
{
  static const char *const schemes[] = {"EXTERNAL", "EXTERNAL_MANAGED",
                                        "INTERNAL_SELF_MANAGED", NULL};
  static const char *const protos[] = {"TCP",  "UDP",  "ESP",        "AH",
                                       "SCTP", "ICMP", "L3_DEFAULT", NULL};
  static const char *const tiers[] = {"PREMIUM", NULL};
  static const char *const versions[] = {"IPV4", NULL};
  const char *ip = sim_net_str(res, "IPAddress"),
             *pr = sim_net_str(res, "portRange");
  char range[48], *target;
  uint32_t a;

  (void)old;
  (void)region;
  if (sim_net_enum(resp, res, "loadBalancingScheme", "loadBalancingScheme",
                   schemes, "EXTERNAL") < 0 ||
      sim_net_enum(resp, res, "IPProtocol", "IPProtocol", protos, "TCP") < 0 ||
      sim_net_enum(resp, res, "networkTier", "networkTier", tiers, "PREMIUM") <
          0 ||
      sim_net_enum(resp, res, "ipVersion", "ipVersion", versions, NULL) < 0)
    return -1;
  if (pr) {
    if (port_range(pr, range, sizeof(range)) < 0)
      return sim_net_invalid(resp, "portRange", pr,
                             "Must be a port or a port range such as "
                             "\"443-443\".");
    json_object_object_add(res, "portRange", json_object_new_string(range));
  }
  target = sim_net_ref(s, resp, res, "target", "target", NULL, 1, NULL);
  if (target == NULL)
    return -1;
  free(target);
  /* IPAddress: a reserved global address by reference or by value; absent,
   * an ephemeral one is allocated when the operation completes. Google
   * shows the literal address either way. */
  if (ip && strchr(ip, '/')) {
    json_object *addr;
    char *canon = sim_net_ref(s, resp, res, "IPAddress", "IPAddress",
                              "addresses", 1, NULL);

    if (canon == NULL)
      return -1;
    addr = sim_store_get(s, canon);
    free(canon);
    if (strstr(sim_net_str(res, "IPAddress"), "/global/addresses/") == NULL ||
        !sim_net_str(addr, "addressType") ||
        strcmp(sim_net_str(addr, "addressType"), "EXTERNAL") != 0)
      return sim_net_invalid(resp, "IPAddress", ip,
                             "A global forwarding rule needs a global "
                             "external address.");
    json_object_object_add(
        res, "IPAddress", json_object_new_string(sim_net_str(addr, "address")));
  } else if (ip) {
    if (sim_net_ip(ip, &a) < 0)
      return sim_net_invalid(resp, "IPAddress", ip,
                             "Must be an IPv4 address or an address "
                             "resource.");
    if (global_address_of(s, ip) == NULL)
      return sim_net_invalid(resp, "IPAddress", ip,
                             "The IP address is not reserved in this "
                             "project.");
  }
  ip = sim_net_str(res, "IPAddress");
  if (ip) {
    struct fr_ctx c;
    char prefix[200], *self = sim_ref_name(s, sim_net_str(res, "selfLink"));

    memset(&c, 0, sizeof(c));
    c.ip = ip;
    c.range = sim_net_str(res, "portRange");
    c.proto = sim_net_str(res, "IPProtocol");
    c.self = self ? self : "";
    snprintf(prefix, sizeof(prefix), "projects/%s/global/forwardingRules/",
             sim_project(s));
    sim_store_each(s, prefix, fr_clash_cb, &c);
    free(self);
    if (c.who) {
      sim_net_invalid(resp, "IPAddress", ip,
                      "The IP address and port range are already used by "
                      "'%s'.",
                      c.who);
      free(c.who);
      return -1;
    }
  }
  target = sim_ref_name(s, sim_net_str(res, "target"));
  if (target == NULL)
    return sim_resp_json(resp, 503, NULL), -1;
  if (fr_scheme(s, resp, res, target) < 0) {
    free(target);
    return -1;
  }
  free(target);
  return 0;
}

static int fr_commit(sim *s, sim_op *op, json_object *res)
{
  char buf[16];

  if (sim_net_str(res, "IPAddress"))
    return 0;
  if (sim_net_alloc_external(s, 1, buf) < 0) {
    sim_op_fail(op, 403, "IP_SPACE_EXHAUSTED",
                "No external IP addresses are available.");
    return -1;
  }
  json_object_object_add(res, "IPAddress", json_object_new_string(buf));
  return 0;
}

/* A static address used by a forwarding rule is IN_USE and lists it. */
static void fr_link(sim *s, json_object *res, int add)
{
  json_object *addr = global_address_of(s, sim_net_str(res, "IPAddress")),
              *users;
  const char *self = sim_net_str(res, "selfLink");

  if (addr == NULL || self == NULL)
    return;
  if (!json_object_object_get_ex(addr, "users", &users)) {
    users = json_object_new_array();
    json_object_object_add(addr, "users", users);
  }
  for (size_t i = 0; i < alen(users); i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(users, i)),
               self) == 0) {
      if (!add)
        json_object_array_del_idx(users, i, 1);
      break;
    }
  if (add)
    json_object_array_add(users, json_object_new_string(self));
  if (alen(users) == 0)
    json_object_object_del(addr, "users");
  json_object_object_add(
      addr, "status",
      json_object_new_string(json_object_object_get_ex(addr, "users", NULL)
                                 ? "IN_USE"
                                 : "RESERVED"));
}

static void fr_inserted(sim *s, json_object *res)
{
  fr_link(s, res, 1);
}

static void fr_deleted(sim *s, json_object *res)
{
  fr_link(s, res, 0);
}

/*
 * globalForwardingRules.setTarget {target}: "The new target should be of
 * the same type as the old target." A global forwarding rule points at a
 * global target proxy; the target must exist, be of the rule's current
 * proxy type, and (a target HTTPS proxy) sit in front of a backend
 * service of the rule's load balancing scheme. Address, protocol and
 * ports stay as they are.
 */
static const char *const fr_target_colls[] = {
    "targetHttpProxies", "targetHttpsProxies", "targetSslProxies",
    "targetTcpProxies",  "targetGrpcProxies",  NULL,
};

/* The global target proxy collection of a canonical name, or NULL. */
static const char *fr_target_coll(const char *canon)
{
  char p[100], coll[100], n[100], tail;

  if (canon == NULL ||
      sscanf(canon, "projects/%99[^/]/global/%99[^/]/%99[^/]%c", p, coll, n,
             &tail) != 3)
    return NULL;
  for (size_t i = 0; fr_target_colls[i]; i++)
    if (strcmp(coll, fr_target_colls[i]) == 0)
      return fr_target_colls[i];
  return NULL;
}

int sim_net_set_target(sim *s, sim_req *req, sim_resp *resp)
{
  const sim_net_coll *c = sim_net_coll_find("globalForwardingRules");
  json_object *body = sim_body(req), *old, *res;
  const char *region, *want = sim_net_str(body, "target"), *kind, *had;
  char full[400], *canon, *prev;

  old = sim_net_lookup(s, req, resp, c, "forwardingRule", full, sizeof(full),
                       &region);
  if (old == NULL || sim_schema_check(resp, sim_schema_compute,
                                      "TargetReference", body, "resource") < 0)
    return SIM_DONE;
  if (want == NULL || *want == '\0')
    return sim_net_required(resp, "target");
  canon = sim_ref_name(s, want);
  kind = fr_target_coll(canon);
  prev = sim_ref_name(s, sim_net_str(old, "target"));
  had = fr_target_coll(prev);
  free(canon);
  free(prev);
  if (kind == NULL)
    return sim_net_invalid(resp, "target", want,
                           "A global forwarding rule must point to a global "
                           "target proxy.");
  if (had && strcmp(had, kind) != 0)
    return sim_net_invalid(resp, "target", want,
                           "The new target must be of the same type as the "
                           "current one (%s).",
                           had);
  res = copy_of(old);
  if (res == NULL)
    return sim_resp_json(resp, 503, NULL);
  json_object_object_add(res, "target", json_object_new_string(want));
  canon = sim_net_ref(s, resp, res, "target", "target", kind, 1, NULL);
  if (canon == NULL || fr_scheme(s, resp, res, canon) < 0) {
    free(canon);
    json_object_put(res);
    return SIM_DONE;
  }
  free(canon);
  return sim_net_start_replace(s, req, resp, c, full, region, res, "setTarget");
}

/* --- the collections ---------------------------------------------------- */

const sim_net_coll sim_net_lb_colls[] = {
    {"healthChecks", "healthChecks", "healthCheck", "health_check",
     "compute#healthCheck", "compute#healthCheckList", "HealthCheck",
     "HEALTH_CHECKS", 0, NULL, hc_validate, NULL, NULL, NULL, NULL},
    {"backendServices", "backendServices", "backendService", "backend_service",
     "compute#backendService", "compute#backendServiceList", "BackendService",
     "BACKEND_SERVICES", SIM_NET_FINGERPRINT, NULL, bs_validate, NULL, NULL,
     NULL, NULL},
    {"urlMaps", "urlMaps", "urlMap", "url_map", "compute#urlMap",
     "compute#urlMapList", "UrlMap", "URL_MAPS", SIM_NET_FINGERPRINT, NULL,
     urlmap_validate, NULL, NULL, NULL, NULL},
    {"targetHttpsProxies", "targetHttpsProxies", "targetHttpsProxy",
     "target_https_proxy", "compute#targetHttpsProxy",
     "compute#targetHttpsProxyList", "TargetHttpsProxy", "TARGET_HTTPS_PROXIES",
     SIM_NET_FINGERPRINT, NULL, proxy_validate, NULL, NULL, NULL, NULL},
    {"globalForwardingRules", "forwardingRules", "forwardingRule",
     "forwarding_rule", "compute#forwardingRule", "compute#forwardingRuleList",
     "ForwardingRule", "FORWARDING_RULES", SIM_NET_FINGERPRINT | SIM_NET_LABELS,
     NULL, fr_validate, fr_commit, fr_inserted, fr_deleted, NULL},
};
const size_t sim_net_lb_ncolls =
    sizeof(sim_net_lb_colls) / sizeof(*sim_net_lb_colls);

/* --- compute_int.h ------------------------------------------------------ */

json_object *sim_compute_backend_service(sim *s, const char *ref)
{
  return lookup_ref(s, ref, "backendServices");
}

json_object *sim_compute_health_check(sim *s, const char *ref)
{
  return lookup_ref(s, ref, "healthChecks");
}

struct fwd_ctx {
  sim *s;
  json_object *out;
  const char *ip;
  int hit;
};

static int fwd_cb(void *data, const char *name, const char *kind,
                  json_object *obj)
{
  struct fwd_ctx *c = data;
  const char *ip = sim_net_str(obj, "IPAddress");
  json_object *row, *proxy;
  char *target;

  if (strcmp(kind, "compute#forwardingRule") != 0 || ip == NULL)
    return 0;
  if (c->ip) {
    c->hit = strcmp(ip, c->ip) == 0;
    return c->hit;
  }
  row = json_object_new_object();
  json_object_object_add(row, "name", json_object_new_string(name));
  json_object_object_add(row, "IPAddress", json_object_new_string(ip));
  if (sim_net_str(obj, "portRange"))
    json_object_object_add(
        row, "portRange",
        json_object_new_string(sim_net_str(obj, "portRange")));
  target = sim_net_str(obj, "target")
               ? sim_ref_name(c->s, sim_net_str(obj, "target"))
               : NULL;
  if (target) {
    const char *map;

    json_object_object_add(row, "target", json_object_new_string(target));
    proxy = sim_store_get(c->s, target);
    map = sim_net_str(proxy, "certificateMap");
    if (map && strncmp(map, CM_PREFIX, strlen(CM_PREFIX)) == 0)
      json_object_object_add(row, "certificateMap",
                             json_object_new_string(map + strlen(CM_PREFIX)));
    free(target);
  }
  json_object_array_add(c->out, row);
  return 0;
}

json_object *sim_compute_forwarding_ips(sim *s)
{
  struct fwd_ctx c;
  char prefix[200];

  memset(&c, 0, sizeof(c));
  c.s = s;
  c.out = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/global/forwardingRules/",
           sim_project(s));
  sim_store_each(s, prefix, fwd_cb, &c);
  return c.out;
}

int sim_compute_ip_forwarded(sim *s, const char *ip)
{
  struct fwd_ctx c;
  char prefix[200];

  if (ip == NULL)
    return 0;
  memset(&c, 0, sizeof(c));
  c.s = s;
  c.ip = ip;
  snprintf(prefix, sizeof(prefix), "projects/%s/global/forwardingRules/",
           sim_project(s));
  sim_store_each(s, prefix, fwd_cb, &c);
  return c.hit;
}
