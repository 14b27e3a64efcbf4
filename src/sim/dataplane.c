/*
 * dataplane.c - the simulated data plane: a request whose Host header is a
 * hostname of the simulated Cloud DNS is answered as Google's global
 * external Application Load Balancer would answer it.
 *
 *   Host -> A record (CNAMEs followed, at most 4) -> global forwarding
 *   rule with that IPAddress and the port -> target HTTP(S) proxy -> URL
 *   map (hostRules -> pathMatchers -> pathRules / defaultService /
 *   defaultUrlRedirect, else the map's defaultService /
 *   defaultUrlRedirect) -> backend service -> its instance groups ->
 *   their members, HEALTHY or UNHEALTHY in the boot model of
 *   compute_health.c (the one behind backendServices.getHealth, forced
 *   unhealthy by POST /_sim/faults {"unhealthy": NAME} included).
 *
 * Answers:
 * - a healthy member: GET/HEAD /health -> 200 with a small JSON body
 *   naming the instance (the simulated VM serves nothing else: other paths
 *   get its 404);
 * - no healthy member: 503 "no healthy upstream" (text/plain) for
 *   EXTERNAL_MANAGED (the global external Application Load Balancer:
 *   Google's troubleshooting page for external Application Load Balancers
 *   says the global and regional ones "generate meaningful HTTP response
 *   error codes such as 503 (Service Unavailable)" while the classic one
 *   "always uses HTTP response error code 502"; the body is the Envoy
 *   proxy's local reply for a cluster with no healthy host, which is what
 *   the EXTERNAL_MANAGED load balancer runs on); 502 with a short HTML
 *   body for the classic EXTERNAL scheme;
 * - a backendErrors fault on the backend service (POST /_sim/faults
 *   {"backendErrors": NAME, "rate": R}, usage.c): that share of the
 *   requests a healthy member would serve answer the app's 500 (a small
 *   JSON body), evenly spread;
 * - a URL-map redirect: its redirectResponseCode and a Location;
 * - a hostname that resolves to no forwarding rule, or a name under the
 *   simulated domain that does not resolve at all: the connection is
 *   dropped without an answer (SO_LINGER 0 reset), as a client of the
 *   real cloud would find nothing listening (or no address) there.
 *
 * Every answer for a backend service is counted per minute and response
 * code (usage.c), for the built-in request_count metric (metrics_gen.c).
 *
 * The simulator cannot terminate TLS for a tenant's hostname: a request
 * is taken to have come to port 443 (HTTPS) unless its Host header names
 * another port (":80").
 *
 * Not modelled: routeRules (only pathRules and default services), backend
 * buckets, certificates (a real HTTPS client would also need the
 * certificate map entry to be ACTIVE), balancing modes and capacity.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/compute_int.h"
#include "sim/compute_vm.h"
#include "sim/dns.h"
#include "sim/sim_int.h"

#define DP_MAX_CNAME 4

/* Host header -> lowercase name without port, and the port (443). */
static int split_host(const char *hdr, char *name, size_t n, int *port)
{
  const char *colon;
  size_t len;

  *port = 443;
  if (hdr == NULL || *hdr == '\0' || hdr[0] == '[')
    return -1;
  colon = strchr(hdr, ':');
  len = colon ? (size_t)(colon - hdr) : strlen(hdr);
  if (len == 0 || len >= n)
    return -1;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)hdr[i];

    if (!isalnum(c) && c != '-' && c != '.')
      return -1;
    name[i] = (char)tolower(c);
  }
  name[len] = '\0';
  if (name[len - 1] == '.')
    name[len - 1] = '\0';
  if (colon) {
    char *end;
    long p = strtol(colon + 1, &end, 10);

    if (*end || p <= 0 || p > 65535)
      return -1;
    *port = (int)p;
  }
  return 0;
}

/* 1 when name is a dotted-quad IPv4 literal. */
static int is_ip(const char *name)
{
  unsigned a, b, c, d;
  char extra;

  return sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4;
}

/* 1 when name is the simulated domain or below it. */
static int in_domain(sim *s, const char *name)
{
  const char *dom = sim_domain(s);
  size_t dl = strlen(dom), nl = strlen(name);

  if (dl && dom[dl - 1] == '.')
    dl--;
  if (nl == dl)
    return strncasecmp(name, dom, dl) == 0;
  return nl > dl + 1 && name[nl - dl - 1] == '.' &&
         strncasecmp(name + nl - dl, dom, dl) == 0;
}

/* The first IPv4 address name resolves to (CNAMEs followed), or NULL. */
static const char *resolve(sim *s, const char *name, char *buf, size_t n)
{
  char cur[300];

  snprintf(cur, sizeof(cur), "%s.", name);
  for (int hop = 0; hop <= DP_MAX_CNAME; hop++) {
    json_object *rr = sim_dns_lookup(s, cur, "A"), *d;

    if (rr) {
      d = json_object_array_get_idx(json_object_object_get(rr, "rrdatas"), 0);
      if (d == NULL)
        return NULL;
      snprintf(buf, n, "%s", json_object_get_string(d));
      return buf;
    }
    rr = sim_dns_lookup(s, cur, "CNAME");
    d = rr ? json_object_array_get_idx(json_object_object_get(rr, "rrdatas"), 0)
           : NULL;
    if (d == NULL)
      return NULL;
    snprintf(cur, sizeof(cur), "%s", json_object_get_string(d));
  }
  return NULL;
}

int sim__dataplane_host(sim *s, const char *host)
{
  char name[256], ip[64];
  int port;

  if (split_host(host, name, sizeof(name), &port) < 0 || is_ip(name) ||
      strcmp(name, "localhost") == 0)
    return 0;
  /* Google's API hosts are the simulator's own (routes match on them). */
  for (int a = 1; a < SIM_API__COUNT; a++) {
    const char *h = sim_api_host((sim_api)a);

    if (*h && strcasecmp(name, h) == 0)
      return 0;
  }
  if (strstr(name, "googleapis.com") || strstr(name, ".google.internal"))
    return 0;
  return in_domain(s, name) || resolve(s, name, ip, sizeof(ip)) != NULL;
}

/* 1 when port is within a forwarding rule's portRange ("443-443", "80"). */
static int port_in(const char *range, int port)
{
  int lo, hi;

  if (range == NULL)
    return port == 80 || port == 443;
  if (sscanf(range, "%d-%d", &lo, &hi) == 2)
    return port >= lo && port <= hi;
  return sscanf(range, "%d", &lo) == 1 && lo == port;
}

/* The forwarding rule serving ip:port (canonical name), or NULL. */
static char *find_rule(sim *s, const char *ip, int port)
{
  json_object *rules = sim_compute_forwarding_ips(s);
  char *out = NULL;

  for (size_t i = 0; i < json_object_array_length(rules) && !out; i++) {
    json_object *r = json_object_array_get_idx(rules, i), *v;
    const char *rip = json_object_object_get_ex(r, "IPAddress", &v)
                          ? json_object_get_string(v)
                          : NULL;
    const char *range = json_object_object_get_ex(r, "portRange", &v)
                            ? json_object_get_string(v)
                            : NULL;

    if (rip && strcmp(rip, ip) == 0 && port_in(range, port) &&
        json_object_object_get_ex(r, "name", &v))
      out = strdup(json_object_get_string(v));
  }
  json_object_put(rules);
  return out;
}

static const char *jstr(json_object *o, const char *key)
{
  json_object *v;

  return json_object_object_get_ex(o, key, &v) &&
                 json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* 1 when a hostRules[].hosts pattern matches name ("*", "*.x", exact). */
static int host_match(const char *pat, const char *name)
{
  size_t pl = strlen(pat), nl = strlen(name);

  if (strcmp(pat, "*") == 0)
    return 1;
  if (pl > 2 && pat[0] == '*' && pat[1] == '.')
    return nl > pl - 1 && strcasecmp(name + nl - (pl - 1), pat + 1) == 0;
  return strcasecmp(pat, name) == 0;
}

/* 1 when a pathRules[].paths entry matches path: exactly, or as a prefix
 * when the entry ends in a slash and an asterisk. */
static int path_match(const char *pat, const char *path)
{
  size_t pl = strlen(pat);

  if (pl >= 2 && pat[pl - 1] == '*' && pat[pl - 2] == '/')
    return strncmp(path, pat, pl - 1) == 0 ||
           (strncmp(path, pat, pl - 2) == 0 && path[pl - 2] == '\0');
  return strcmp(pat, path) == 0;
}

typedef struct dp_route {
  const char *service;   /* backend service reference, or NULL */
  json_object *redirect; /* a HttpRedirectAction, or NULL */
} dp_route;

/* URL map -> the service or redirect for host + path. */
static void route_map(json_object *map, const char *host, const char *path,
                      dp_route *out)
{
  json_object *rules = json_object_object_get(map, "hostRules");
  json_object *pms = json_object_object_get(map, "pathMatchers");
  const char *pm_name = NULL;
  json_object *pm = NULL;

  out->service = jstr(map, "defaultService");
  out->redirect = json_object_object_get(map, "defaultUrlRedirect");
  for (size_t i = 0; rules && i < json_object_array_length(rules) && !pm_name;
       i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    json_object *hosts = json_object_object_get(r, "hosts");

    for (size_t j = 0; hosts && j < json_object_array_length(hosts); j++)
      if (host_match(
              json_object_get_string(json_object_array_get_idx(hosts, j)),
              host)) {
        pm_name = jstr(r, "pathMatcher");
        break;
      }
  }
  for (size_t i = 0; pm_name && pms && i < json_object_array_length(pms); i++) {
    json_object *m = json_object_array_get_idx(pms, i);

    if (jstr(m, "name") && strcmp(jstr(m, "name"), pm_name) == 0)
      pm = m;
  }
  if (pm == NULL)
    return;
  out->service = jstr(pm, "defaultService");
  out->redirect = json_object_object_get(pm, "defaultUrlRedirect");
  {
    json_object *prs = json_object_object_get(pm, "pathRules");

    for (size_t i = 0; prs && i < json_object_array_length(prs); i++) {
      json_object *pr = json_object_array_get_idx(prs, i);
      json_object *paths = json_object_object_get(pr, "paths");

      for (size_t j = 0; paths && j < json_object_array_length(paths); j++)
        if (path_match(
                json_object_get_string(json_object_array_get_idx(paths, j)),
                path)) {
          out->service = jstr(pr, "service");
          out->redirect = json_object_object_get(pr, "urlRedirect");
          return;
        }
    }
  }
}

static int redirect_code(const char *c)
{
  if (c == NULL || strcmp(c, "MOVED_PERMANENTLY_DEFAULT") == 0)
    return 301;
  if (strcmp(c, "FOUND") == 0)
    return 302;
  if (strcmp(c, "SEE_OTHER") == 0)
    return 303;
  if (strcmp(c, "TEMPORARY_REDIRECT") == 0)
    return 307;
  if (strcmp(c, "PERMANENT_REDIRECT") == 0)
    return 308;
  return 301;
}

static void answer_redirect(sim_req *req, sim_resp *resp, json_object *rd,
                            const char *host, const char *path, int port)
{
  char loc[1200];
  const char *h = jstr(rd, "hostRedirect"), *p = jstr(rd, "pathRedirect");
  const char *q = edv__http_query_raw(req->http);
  json_object *v;
  int https =
      port == 443 || (json_object_object_get_ex(rd, "httpsRedirect", &v) &&
                      json_object_get_boolean(v));
  int strip = json_object_object_get_ex(rd, "stripQuery", &v) &&
              json_object_get_boolean(v);

  snprintf(loc, sizeof(loc), "%s://%s%s%s%s", https ? "https" : "http",
           h ? h : host, p ? p : path, q && *q && !strip ? "?" : "",
           q && *q && !strip ? q : "");
  sim_resp_text(resp, redirect_code(jstr(rd, "redirectResponseCode")),
                "text/html; charset=UTF-8", "");
  sim_resp_header(resp, "Location", loc);
}

/* A healthy member of the backend service's groups (canonical name into
 * inst), or 0 when none is. */
static int pick_backend(sim *s, json_object *bs, char *inst, size_t n)
{
  json_object *backends = json_object_object_get(bs, "backends");

  for (size_t i = 0; backends && i < json_object_array_length(backends); i++) {
    char *gn =
        sim_ref_name(s, jstr(json_object_array_get_idx(backends, i), "group"));
    json_object *g = gn ? sim_store_get(s, gn) : NULL, *hs, *names;

    free(gn);
    if (g == NULL)
      continue;
    names = json_object_new_array();
    hs = sim_cvm_group_health(s, bs, g, names);
    for (size_t j = 0; j < json_object_array_length(hs); j++) {
      const char *st = jstr(json_object_array_get_idx(hs, j), "healthState");

      if (st && strcmp(st, "HEALTHY") == 0) {
        snprintf(inst, n, "%s",
                 json_object_get_string(json_object_array_get_idx(names, j)));
        json_object_put(hs);
        json_object_put(names);
        return 1;
      }
    }
    json_object_put(hs);
    json_object_put(names);
  }
  return 0;
}

static void answer_backend(sim *s, sim_req *req, sim_resp *resp,
                           const char *host, const char *path, const char *bsn,
                           const char *inst)
{
  const char *verb = sim_req_verb(req);
  const char *slash = strrchr(inst, '/');
  json_object *o;
  char ts[32];

  if (strcmp(path, "/health") != 0 ||
      (strcmp(verb, "GET") != 0 && strcmp(verb, "HEAD") != 0)) {
    sim_resp_text(resp, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  o = json_object_new_object();
  json_object_object_add(o, "status", json_object_new_string("ok"));
  json_object_object_add(o, "host", json_object_new_string(host));
  json_object_object_add(o, "instance",
                         json_object_new_string(slash ? slash + 1 : inst));
  json_object_object_add(o, "backendService", json_object_new_string(bsn));
  json_object_object_add(o, "time", json_object_new_string(sim_now_str(s, ts)));
  sim_resp_json(resp, 200, o);
}

int sim__dataplane(sim *s, sim_req *req)
{
  sim_resp *resp = &req->resp;
  char name[256], ip[64], path[512], inst[400];
  const char *raw = sim_req_path(req), *scheme;
  char *rule_name = NULL, *proxy_name = NULL, *map_name = NULL, *bs_name = NULL;
  json_object *rule, *proxy, *map, *bs;
  dp_route route;
  int port;

  if (split_host(sim_header(req, "Host"), name, sizeof(name), &port) < 0)
    return -1;
  snprintf(path, sizeof(path), "%s", raw && *raw ? raw : "/");
  path[strcspn(path, "?")] = '\0';
  if (resolve(s, name, ip, sizeof(ip)) == NULL ||
      (rule_name = find_rule(s, ip, port)) == NULL) {
    req->drop = 1; /* nothing listens there: the client sees a reset */
    return 0;
  }
  rule = sim_store_get(s, rule_name);
  scheme = jstr(rule, "loadBalancingScheme");
  proxy_name =
      jstr(rule, "target") ? sim_ref_name(s, jstr(rule, "target")) : NULL;
  proxy = proxy_name ? sim_store_get(s, proxy_name) : NULL;
  map_name =
      jstr(proxy, "urlMap") ? sim_ref_name(s, jstr(proxy, "urlMap")) : NULL;
  map = map_name ? sim_store_get(s, map_name) : NULL;
  if (map == NULL) {
    req->drop = 1; /* a rule without a working proxy serves nothing */
    goto out;
  }
  route_map(map, name, path, &route);
  if (route.service == NULL && route.redirect) {
    answer_redirect(req, resp, route.redirect, name, path, port);
    goto out;
  }
  bs_name = route.service ? sim_ref_name(s, route.service) : NULL;
  bs = bs_name ? sim_compute_backend_service(s, bs_name) : NULL;
  if (bs && pick_backend(s, bs, inst, sizeof(inst))) {
    if (sim__dp_backend_error(s, bs_name))
      sim_resp_text(resp, 500, "application/json",
                    "{\"status\":\"error\",\"error\":\"internal server "
                    "error\"}\n");
    else
      answer_backend(s, req, resp, name, path, bs_name, inst);
  } else if (scheme && strcmp(scheme, "EXTERNAL") == 0) {
    sim_resp_text(resp, 502, "text/html; charset=UTF-8",
                  "<html><head><title>502 Server Error</title></head><body>"
                  "<h1>Error: Server Error</h1><h2>The server encountered a "
                  "temporary error and could not complete your request."
                  "<p>Please try again in 30 seconds.</h2></body></html>\n");
  } else {
    sim_resp_text(resp, 503, "text/plain", "no healthy upstream");
  }
  if (bs)
    sim__dp_count(s, bs_name, resp->status);
out:
  free(rule_name);
  free(proxy_name);
  free(map_name);
  free(bs_name);
  return 0;
}
