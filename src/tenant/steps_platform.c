/*
 * steps_platform.c - the platform plan: what every tenant shares, made once
 * per project by `edvctl platform init` (docs/architecture.md, "The
 * platform plan").
 *
 *   network ---- psa_range ---- psa_connection
 *           \--- router (+ Cloud NAT)
 *   lb_address -------------------------\
 *   url_map ------\                      forwarding_rule
 *   cert_map ------ https_proxy --------/
 *   health_check, dns_zone
 *   notification_channels ---- alert_policies (steps_alerts.c)
 *
 * Every resource is named deterministically ("edv-...") and marked as ours
 * (labels where the kind has them, the "edv-managed:platform" description
 * otherwise), so re-running init makes no mutating call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "tenant/ensure.h"
#include "tenant/machine.h"
#include "tenant/steps.h"
#include "tenant/subnet.h"

#define CPATH "/compute/v1/projects/%s"

/* ---- drift helpers --------------------------------------------------------
 */

static int same_str(const char *a, const char *b)
{
  return a && b && strcmp(a, b) == 0;
}

/* Marks o as the platform's, as its kind's row says (tenant/kinds.h). */
static void mark(edv__srun *sr, edv__platform_kind_id k, json_object *o)
{
  edv__kind_mark(&edv__platform_kinds[k], o, edv__srun_marker(sr),
                 edv__srun_labels(sr));
}

/* ---- network ------------------------------------------------------------ */

static json_object *network_build(edv__srun *sr)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "name",
                         json_object_new_string(edv__srun_network(sr)));
  mark(sr, EDV_PKIND_NETWORK, o);
  json_object_object_add(o, "autoCreateSubnetworks",
                         json_object_new_boolean(0));
  json_object *rc = json_object_new_object();
  json_object_object_add(rc, "routingMode", json_object_new_string("GLOBAL"));
  json_object_object_add(o, "routingConfig", rc);
  return o;
}

static void network_verify(edv__srun *sr, json_object *res)
{
  json_object *auto_sub = edv__jget(res, "autoCreateSubnetworks");

  if (auto_sub && json_object_get_boolean(auto_sub)) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "network '%s' is in auto subnet mode; tenants need a "
                   "custom-mode VPC",
                   edv__srun_network(sr));
    return;
  }
  edv__srun_set_fact(sr, "network_link", edv__jstr(res, "selfLink"));
  edv__step_done(sr, NULL);
}

static const edv__res network_res = {
    .build = network_build,
    .verify = network_verify,
    .row = &edv__platform_kinds[EDV_PKIND_NETWORK],
};

static void network_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &network_res, edv__srun_network(sr));
}

/* ---- private services access range -------------------------------------- */

static json_object *psa_build(edv__srun *sr)
{
  json_object *o = json_object_new_object();
  edv_cidr psa;
  char addr[32];
  char net[512];

  edv__cidr_parse(EDV_SUBNET_PSA_RANGE, &psa);
  snprintf(addr, sizeof(addr), "%u.%u.%u.%u", (psa.net >> 24) & 255,
           (psa.net >> 16) & 255, (psa.net >> 8) & 255, psa.net & 255);
  snprintf(net, sizeof(net), "projects/%s/global/networks/%s",
           edv__srun_project(sr), edv__srun_network(sr));
  json_object_object_add(o, "name", json_object_new_string(EDV_PSA_NAME));
  mark(sr, EDV_PKIND_PSA_RANGE, o);
  json_object_object_add(o, "purpose", json_object_new_string("VPC_PEERING"));
  json_object_object_add(o, "addressType", json_object_new_string("INTERNAL"));
  json_object_object_add(o, "address", json_object_new_string(addr));
  json_object_object_add(o, "prefixLength",
                         json_object_new_int((int)psa.prefix));
  json_object_object_add(o, "network", json_object_new_string(net));
  return o;
}

static const edv__res psa_res = {
    .build = psa_build,
    .row = &edv__platform_kinds[EDV_PKIND_PSA_RANGE],
};

static void psa_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &psa_res, EDV_PSA_NAME);
}

/* ---- private services access connection --------------------------------- */

static void psa_conn_up(edv__srun *sr);

/* After connections.create: list again; DONE once the connection shows. */
static void psa_conn_created(edv__srun *sr, json_object *op,
                             const edv_error *err)
{
  (void)op;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  *edv__srun_stage(sr) = 1;
  psa_conn_up(sr);
}

static int has_range(json_object *conn)
{
  json_object *ranges = edv__jget(conn, "reservedPeeringRanges");

  for (size_t i = 0; ranges && i < json_object_array_length(ranges); i++) {
    json_object *r = json_object_array_get_idx(ranges, i);
    if (json_object_is_type(r, json_type_string) &&
        strcmp(json_object_get_string(r), EDV_PSA_NAME) == 0)
      return 1;
  }
  return 0;
}

static void psa_conn_listed(edv__srun *sr, json_object *res,
                            const edv_error *err)
{
  const edv__kind *row = &edv__platform_kinds[EDV_PKIND_PSA_CONNECTION];
  json_object *list, *body, *ranges;
  char net[512];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  list = edv__jget(res, "connections");
  for (size_t i = 0; list && i < json_object_array_length(list); i++)
    if (has_range(json_object_array_get_idx(list, i))) {
      edv__step_done(sr, NULL);
      return;
    }
  if (*edv__srun_stage(sr) == 1) {
    edv__step_fail(sr, EDV_ENOTREADY,
                   "the private services access connection is not listed "
                   "after its creation");
    return;
  }
  snprintf(net, sizeof(net), "projects/%s/global/networks/%s",
           edv__srun_project(sr), edv__srun_network(sr));
  body = json_object_new_object();
  json_object_object_add(body, "network", json_object_new_string(net));
  ranges = json_object_new_array();
  json_object_array_add(ranges, json_object_new_string(EDV_PSA_NAME));
  json_object_object_add(body, "reservedPeeringRanges", ranges);
  edv__step_info(sr, 0, "connecting private services access");
  edv__step_act(sr, row->api, "POST", row->create, body, row->create_label,
                psa_conn_created);
}

static void psa_conn_up(edv__srun *sr)
{
  char net[512], path[768];
  char *enc;

  snprintf(net, sizeof(net), "projects/%s/global/networks/%s",
           edv__srun_project(sr), edv__srun_network(sr));
  enc = edv__url_escape(net);
  snprintf(path, sizeof(path), "%s?network=%s",
           edv__platform_kinds[EDV_PKIND_PSA_CONNECTION].path, enc ? enc : net);
  free(enc);
  edv__step_get(sr, EDV_API_SERVICENETWORKING, path, psa_conn_listed);
}

/* ---- router + NAT ------------------------------------------------------- */

static json_object *router_build(edv__srun *sr)
{
  return edv__router_body(edv__srun_project(sr), edv__srun_network(sr),
                          edv__srun_region(sr));
}

static const edv__res router_res = {
    .build = router_build,
    .row = &edv__platform_kinds[EDV_PKIND_ROUTER],
};

static void router_up(edv__srun *sr)
{
  char name[96];

  edv__router_name(edv__srun_region(sr), name, sizeof(name));
  edv__step_ensure_res(sr, &router_res, name);
}

/* ---- the load balancer's address ----------------------------------------- */

static json_object *lbip_build(edv__srun *sr)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "name", json_object_new_string(EDV_LB_IP_NAME));
  mark(sr, EDV_PKIND_LB_ADDRESS, o);
  json_object_object_add(o, "addressType", json_object_new_string("EXTERNAL"));
  json_object_object_add(o, "ipVersion", json_object_new_string("IPV4"));
  return o;
}

static void lbip_verify(edv__srun *sr, json_object *res)
{
  if (!edv__jstr(res, "address")) {
    edv__step_fail(sr, EDV_EPROTO, "global address '%s' has no address",
                   EDV_LB_IP_NAME);
    return;
  }
  edv__srun_set_fact(sr, "lb_ip", edv__jstr(res, "address"));
  edv__step_done(sr, NULL);
}

static const edv__res lbip_res = {
    .build = lbip_build,
    .verify = lbip_verify,
    .row = &edv__platform_kinds[EDV_PKIND_LB_ADDRESS],
};

static void lbip_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &lbip_res, EDV_LB_IP_NAME);
}

/* ---- shared health check --------------------------------------------------
 */

static json_object *hc_build(edv__srun *sr)
{
  json_object *o = json_object_new_object(), *http;

  json_object_object_add(o, "name", json_object_new_string(EDV_HC_NAME));
  mark(sr, EDV_PKIND_HEALTH_CHECK, o);
  json_object_object_add(o, "type", json_object_new_string("HTTP"));
  /* The seed's health check: /health every 30 s, 10 s timeout. */
  json_object_object_add(o, "checkIntervalSec", json_object_new_int(30));
  json_object_object_add(o, "timeoutSec", json_object_new_int(10));
  json_object_object_add(o, "healthyThreshold", json_object_new_int(2));
  json_object_object_add(o, "unhealthyThreshold", json_object_new_int(3));
  http = json_object_new_object();
  json_object_object_add(http, "port", json_object_new_int(80));
  json_object_object_add(http, "requestPath",
                         json_object_new_string("/health"));
  json_object_object_add(o, "httpHealthCheck", http);
  return o;
}

static void hc_up(edv__srun *sr);

/* The tenants' backends are judged by this check: its probe (port, path)
 * and timings are put back with one healthChecks.patch when changed. */
static void hc_verify(edv__srun *sr, json_object *res)
{
  json_object *want = hc_build(sr), *body;
  json_object *h = edv__jget(res, "httpHealthCheck");
  json_object *wh = edv__jget(want, "httpHealthCheck");
  static const char *const ints[] = {"checkIntervalSec", "timeoutSec",
                                     "healthyThreshold", "unhealthyThreshold",
                                     NULL};
  int ok = same_str(edv__jstr(res, "type"), "HTTP") &&
           edv__jint(h, "port", -1) == edv__jint(wh, "port", 0) &&
           same_str(edv__jstr(h, "requestPath"), edv__jstr(wh, "requestPath"));
  char path[512];

  for (int i = 0; ok && ints[i]; i++)
    ok = edv__jint(res, ints[i], -1) == edv__jint(want, ints[i], 0);
  if (ok) {
    json_object_put(want);
    edv__step_done(sr, NULL);
    return;
  }
  if (!edv__step_repair_allowed(sr, "health_check", "the health check")) {
    json_object_put(want);
    return;
  }
  edv__step_info(sr, 1,
                 "drift: health check '%s' differs (probe or timings); "
                 "restoring it",
                 EDV_HC_NAME);
  body = json_object_new_object();
  json_object_object_add(body, "type", json_object_new_string("HTTP"));
  for (int i = 0; ints[i]; i++)
    json_object_object_add(body, ints[i],
                           json_object_get(edv__jget(want, ints[i])));
  json_object_object_add(body, "httpHealthCheck", json_object_get(wh));
  json_object_put(want);
  snprintf(path, sizeof(path), CPATH "/global/healthChecks/%s",
           edv__srun_project(sr), EDV_HC_NAME);
  edv__step_repair(sr, EDV_API_COMPUTE, "PATCH", path, body,
                   "compute.healthChecks.patch", hc_up);
}

static const edv__res hc_res = {
    .build = hc_build,
    .verify = hc_verify,
    .row = &edv__platform_kinds[EDV_PKIND_HEALTH_CHECK],
};

static void hc_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &hc_res, EDV_HC_NAME);
}

/* ---- URL map ------------------------------------------------------------ */

static json_object *urlmap_build(edv__srun *sr)
{
  json_object *o = json_object_new_object(), *redir;
  char host[256];

  snprintf(host, sizeof(host), "www.%s", edv__srun_domain(sr));
  json_object_object_add(o, "name", json_object_new_string(EDV_URLMAP_NAME));
  mark(sr, EDV_PKIND_URL_MAP, o);
  /* Unknown hosts go to the public site; tenants get host rules. */
  redir = json_object_new_object();
  json_object_object_add(redir, "hostRedirect", json_object_new_string(host));
  json_object_object_add(redir, "redirectResponseCode",
                         json_object_new_string("FOUND"));
  json_object_object_add(redir, "stripQuery", json_object_new_boolean(0));
  json_object_object_add(o, "defaultUrlRedirect", redir);
  return o;
}

static void urlmap_up(edv__srun *sr);

/* The map's default (unknown hosts go to the public site) is the
 * platform's; the tenants' host rules belong to the single writer and are
 * not touched here. A changed default is put back with one urlMaps.patch
 * carrying the fingerprint read (the writer racing us answers 412 and we
 * read again). */
static void urlmap_verify(edv__srun *sr, json_object *res)
{
  json_object *want = urlmap_build(sr), *body;
  json_object *r = edv__jget(res, "defaultUrlRedirect");
  json_object *wr = edv__jget(want, "defaultUrlRedirect");
  json_object *strip = edv__jget(r, "stripQuery");
  char path[512];

  if (!edv__jget(res, "defaultService") &&
      same_str(edv__jstr(r, "hostRedirect"), edv__jstr(wr, "hostRedirect")) &&
      same_str(edv__jstr(r, "redirectResponseCode"),
               edv__jstr(wr, "redirectResponseCode")) &&
      !(strip && json_object_get_boolean(strip))) {
    json_object_put(want);
    edv__step_done(sr, NULL);
    return;
  }
  if (!edv__step_repair_allowed(sr, "url_map", "the URL map's default")) {
    json_object_put(want);
    return;
  }
  edv__step_info(sr, 1,
                 "drift: URL map '%s' has another default; restoring the "
                 "redirect to %s",
                 EDV_URLMAP_NAME, edv__jstr(wr, "hostRedirect"));
  body = json_object_new_object();
  json_object_object_add(body, "defaultUrlRedirect", json_object_get(wr));
  if (edv__jget(res, "defaultService"))
    json_object_object_add(body, "defaultService", NULL); /* removes it */
  if (edv__jstr(res, "fingerprint"))
    json_object_object_add(
        body, "fingerprint",
        json_object_new_string(edv__jstr(res, "fingerprint")));
  json_object_put(want);
  snprintf(path, sizeof(path), CPATH "/global/urlMaps/%s",
           edv__srun_project(sr), EDV_URLMAP_NAME);
  edv__step_repair(sr, EDV_API_COMPUTE, "PATCH", path, body,
                   "compute.urlMaps.patch", urlmap_up);
}

static const edv__res urlmap_res = {
    .build = urlmap_build,
    .verify = urlmap_verify,
    .row = &edv__platform_kinds[EDV_PKIND_URL_MAP],
};

static void urlmap_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &urlmap_res, EDV_URLMAP_NAME);
}

/* ---- certificate map ---------------------------------------------------- */

static json_object *certmap_build(edv__srun *sr)
{
  json_object *o = json_object_new_object();

  mark(sr, EDV_PKIND_CERT_MAP, o);
  return o;
}

static const edv__res certmap_res = {
    .build = certmap_build,
    .row = &edv__platform_kinds[EDV_PKIND_CERT_MAP],
};

static void certmap_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &certmap_res, EDV_CERTMAP_NAME);
}

/* ---- target HTTPS proxy ------------------------------------------------- */

static json_object *proxy_build(edv__srun *sr)
{
  json_object *o = json_object_new_object();
  char um[512], cm[512];

  snprintf(um, sizeof(um), "projects/%s/global/urlMaps/%s",
           edv__srun_project(sr), EDV_URLMAP_NAME);
  snprintf(cm, sizeof(cm),
           "//certificatemanager.googleapis.com/projects/%s/locations/"
           "global/certificateMaps/%s",
           edv__srun_project(sr), EDV_CERTMAP_NAME);
  json_object_object_add(o, "name", json_object_new_string(EDV_PROXY_NAME));
  mark(sr, EDV_PKIND_HTTPS_PROXY, o);
  json_object_object_add(o, "urlMap", json_object_new_string(um));
  json_object_object_add(o, "certificateMap", json_object_new_string(cm));
  return o;
}

static void proxy_up(edv__srun *sr);

/* The proxy points at our URL map and certificate map; either one changed
 * is put back with its own verb (setUrlMap, setCertificateMap). */
static void proxy_verify(edv__srun *sr, json_object *res)
{
  json_object *want = proxy_build(sr), *body = json_object_new_object();
  char path[512];

  if (!edv__same_link(edv__jstr(res, "urlMap"), edv__jstr(want, "urlMap"))) {
    if (!edv__step_repair_allowed(sr, "https_proxy", "the target HTTPS proxy"))
      goto out;
    edv__step_info(sr, 1,
                   "drift: target HTTPS proxy '%s' points at another URL "
                   "map; restoring it",
                   EDV_PROXY_NAME);
    json_object_object_add(body, "urlMap",
                           json_object_get(edv__jget(want, "urlMap")));
    /* setUrlMap's discovery path has no /global. */
    snprintf(path, sizeof(path), CPATH "/targetHttpsProxies/%s/setUrlMap",
             edv__srun_project(sr), EDV_PROXY_NAME);
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                     "compute.targetHttpsProxies.setUrlMap", proxy_up);
    json_object_put(want);
    return;
  }
  if (!edv__same_link(edv__jstr(res, "certificateMap"),
                      edv__jstr(want, "certificateMap"))) {
    if (!edv__step_repair_allowed(sr, "https_proxy", "the target HTTPS proxy"))
      goto out;
    edv__step_info(sr, 1,
                   "drift: target HTTPS proxy '%s' serves another "
                   "certificate map; restoring it",
                   EDV_PROXY_NAME);
    json_object_object_add(body, "certificateMap",
                           json_object_get(edv__jget(want, "certificateMap")));
    snprintf(path, sizeof(path),
             CPATH "/global/targetHttpsProxies/%s/setCertificateMap",
             edv__srun_project(sr), EDV_PROXY_NAME);
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                     "compute.targetHttpsProxies.setCertificateMap", proxy_up);
    json_object_put(want);
    return;
  }
  edv__step_done(sr, NULL);
out:
  json_object_put(body);
  json_object_put(want);
}

static const edv__res proxy_res = {
    .build = proxy_build,
    .verify = proxy_verify,
    .row = &edv__platform_kinds[EDV_PKIND_HTTPS_PROXY],
};

static void proxy_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &proxy_res, EDV_PROXY_NAME);
}

/* ---- global forwarding rule ---------------------------------------------- */

static json_object *fr_build(edv__srun *sr)
{
  json_object *o = json_object_new_object();
  char ip[512], target[512];

  snprintf(ip, sizeof(ip), "projects/%s/global/addresses/%s",
           edv__srun_project(sr), EDV_LB_IP_NAME);
  snprintf(target, sizeof(target), "projects/%s/global/targetHttpsProxies/%s",
           edv__srun_project(sr), EDV_PROXY_NAME);
  json_object_object_add(o, "name", json_object_new_string(EDV_FR_NAME));
  mark(sr, EDV_PKIND_FORWARDING_RULE, o);
  json_object_object_add(o, "IPAddress", json_object_new_string(ip));
  json_object_object_add(o, "IPProtocol", json_object_new_string("TCP"));
  json_object_object_add(o, "portRange", json_object_new_string("443-443"));
  json_object_object_add(o, "target", json_object_new_string(target));
  json_object_object_add(o, "loadBalancingScheme",
                         json_object_new_string("EXTERNAL_MANAGED"));
  return o;
}

static void fr_up(edv__srun *sr);

/* The forwarding rule sends 443 on our address to our proxy. Another
 * target is put back with setTarget; the address, protocol and port range
 * cannot change on a forwarding rule, so a rule that differs there fails
 * the step, naming the field (delete it and init makes it again). */
static void fr_verify(edv__srun *sr, json_object *res)
{
  json_object *want = fr_build(sr), *body;
  const char *ip = edv__jstr(res, "IPAddress");
  const char *lb = edv__srun_fact(sr, "lb_ip");
  char path[512];

  if (!(same_str(ip, lb) || edv__same_link(ip, edv__jstr(want, "IPAddress"))) ||
      !same_str(edv__jstr(res, "portRange"), "443-443") ||
      !same_str(edv__jstr(res, "IPProtocol"), "TCP")) {
    json_object_put(want);
    edv__step_fail(
        sr, EDV_EPRECONDITION,
        "global forwarding rule '%s' has another address, "
        "protocol or port range (%s %s %s); these cannot change: "
        "delete it and run `edvctl platform init`",
        EDV_FR_NAME, ip ? ip : "-",
        edv__jstr(res, "IPProtocol") ? edv__jstr(res, "IPProtocol") : "-",
        edv__jstr(res, "portRange") ? edv__jstr(res, "portRange") : "-");
    return;
  }
  if (edv__same_link(edv__jstr(res, "target"), edv__jstr(want, "target"))) {
    json_object_put(want);
    edv__step_done(sr, NULL);
    return;
  }
  if (!edv__step_repair_allowed(sr, "forwarding_rule", "the forwarding rule")) {
    json_object_put(want);
    return;
  }
  edv__step_info(sr, 1,
                 "drift: global forwarding rule '%s' targets another proxy; "
                 "restoring it",
                 EDV_FR_NAME);
  body = json_object_new_object();
  json_object_object_add(body, "target",
                         json_object_get(edv__jget(want, "target")));
  json_object_put(want);
  snprintf(path, sizeof(path), CPATH "/global/forwardingRules/%s/setTarget",
           edv__srun_project(sr), EDV_FR_NAME);
  edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                   "compute.globalForwardingRules.setTarget", fr_up);
}

static const edv__res fr_res = {
    .build = fr_build,
    .verify = fr_verify,
    .row = &edv__platform_kinds[EDV_PKIND_FORWARDING_RULE],
};

static void fr_up(edv__srun *sr)
{
  edv__step_ensure_res(sr, &fr_res, EDV_FR_NAME);
}

/* ---- DNS zone check ------------------------------------------------------ */

static void zone_listed(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *zones;
  char want[300];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  snprintf(want, sizeof(want), "%s.", edv__srun_domain(sr));
  zones = edv__jget(res, "managedZones");
  for (size_t i = 0; zones && i < json_object_array_length(zones); i++) {
    json_object *z = json_object_array_get_idx(zones, i);
    const char *dn = edv__jstr(z, "dnsName");
    if (dn && strcmp(dn, want) == 0) {
      edv__srun_set_fact(sr, "dns_zone", edv__jstr(z, "name"));
      edv__step_done(sr, NULL);
      return;
    }
  }
  edv__step_fail(sr, EDV_ENOTFOUND,
                 "no Cloud DNS managed zone for '%s' in project '%s'; "
                 "create it (gcloud dns managed-zones create) and delegate "
                 "the domain to it",
                 want, edv__srun_project(sr));
}

void edv__dns_zone_lookup(edv__srun *sr)
{
  const edv__kind *row = &edv__platform_kinds[EDV_PKIND_DNS_ZONE];
  char base[256], path[768], want[300];
  char *enc;

  snprintf(want, sizeof(want), "%s.", edv__srun_domain(sr));
  enc = edv__url_escape(want);
  if (edv__res_path(sr, row->path, NULL, base, sizeof(base)) != 0) {
    free(enc);
    edv__step_fail(sr, EDV_EINVAL, "the managed zones' path is too long");
    return;
  }
  snprintf(path, sizeof(path), "%s?dnsName=%s", base, enc ? enc : want);
  free(enc);
  edv__step_get(sr, row->api, path, zone_listed);
}

/* ---- the plan --------------------------------------------------------------
 */

const edv__step_def edv__platform_steps[] = {
    {"network", "Tenant VPC network", {NULL}, network_up, NULL},
    {"psa_range", "Private services access range", {"network"}, psa_up, NULL},
    {"psa_connection",
     "Private services access connection",
     {"psa_range"},
     psa_conn_up,
     NULL},
    {"router", "Cloud Router + NAT", {"network"}, router_up, NULL},
    {"lb_address", "Load balancer IP", {NULL}, lbip_up, NULL},
    {"health_check", "Shared health check", {NULL}, hc_up, NULL},
    {"url_map", "URL map", {NULL}, urlmap_up, NULL},
    {"cert_map", "Certificate map", {NULL}, certmap_up, NULL},
    {"https_proxy",
     "Target HTTPS proxy",
     {"url_map", "cert_map"},
     proxy_up,
     NULL},
    {"forwarding_rule",
     "Global forwarding rule",
     {"https_proxy", "lb_address"},
     fr_up,
     NULL},
    {"dns_zone", "DNS zone check", {NULL}, edv__dns_zone_lookup, NULL},
    {"notification_channels",
     "Alert notification channels",
     {NULL},
     edv__alert_channels_up,
     NULL},
    {"alert_policies",
     "Fleet alert policies",
     {"notification_channels"},
     edv__alert_policies_up,
     NULL},
};
const unsigned edv__platform_nsteps =
    sizeof(edv__platform_steps) / sizeof(*edv__platform_steps);
