/*
 * certmgr.c - Certificate Manager v1 under /v1/projects/{p}/locations/{l}:
 * dnsAuthorizations and certificates (Google-managed; their labels and
 * description patched), certificateMaps, certificateMapEntries (with
 * patch) and operations. Creates, patches and
 * deletes are google.longrunning operations (SIM_DUR_QUICK) whose metadata is
 * OperationMetadata and whose response is the resource; errors use the
 * new-style envelope (status + ErrorInfo).
 *
 * The managed certificate model, evaluated whenever a certificate is read
 * (no stored timers, so it survives restarts):
 * - PROVISIONING for a per-profile delay after createTime (fast 1 s, demo
 *   10 s, realistic 5 min of simulated time);
 * - then ACTIVE as soon as, for every domain, (a) the CNAME of its DNS
 *   authorization (_acme-challenge.<domain>. -> the authorization's data)
 *   exists in a simulated Cloud DNS zone and (b) the domain has an A
 *   record in a zone whose addresses include the IPAddress of a global
 *   forwarding rule (wildcard domains need only (a));
 * - while a condition is missing, authorizationAttemptInfo[] and
 *   provisioningIssue say which;
 * - FAILED when read 60 simulated minutes after createTime with a
 *   condition still missing. ACTIVE and FAILED are stored and final (after
 *   FAILED the user deletes and re-creates, as with Google).
 * The orchestrator's gcp client reads every google.longrunning operation
 * under /v1/projects/P/locations/L/operations/, so the operations routes
 * here serve the Service Networking ones too.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/dns.h"
#include "sim/modules.h"
#include "sim/schema_apis.h"
#include "sim/jsonutil.h"
#include "sim/listfilter.h"
#include "sim/sim.h"

#define CM_META                                                                \
  "type.googleapis.com/google.cloud.certificatemanager.v1."                    \
  "OperationMetadata"
#define CM_TYPE          "type.googleapis.com/google.cloud.certificatemanager.v1."
#define CM_FAIL_MS       (60ull * 60 * 1000)
#define CM_MAX_MAP_CERTS 4
/* Lists: Google documents no page size bound; the simulator's is
 * Cloud SQL's (and what edvd's drift pass asks for). */
#define CM_MAX_PAGE 1000

static const uint64_t cm_delay_ms[] = {1000, 10000, 300000};

static int valid_id(const char *id)
{
  size_t n = id ? strlen(id) : 0;

  if (n < 1 || n > 63)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]) &&
        id[i] != '-')
      return 0;
  return 1;
}

/* "projects/P/locations/L" of the request (project checked). */
static int parent_of(sim *s, sim_req *req, sim_resp *resp, char *buf, size_t n)
{
  if (sim_check_project(s, req, resp) < 0)
    return -1;
  snprintf(buf, n, "projects/%s/locations/%s", sim_project(s),
           sim_param(req, "locationsId"));
  return 0;
}

static int not_found(sim_resp *resp, const char *name)
{
  return sim_err_rpc(resp, 404, "NOT_FOUND", "Resource '%s' was not found",
                     name);
}

/* A reference a client sent ("projects/...", a URL, "//certificate..."):
 * the canonical name, malloc'd. */
static char *ref(sim *s, const char *r)
{
  return sim_ref_name(s, r ? r : "");
}

/* --- operations --------------------------------------------------------- */

static sim_op *start_lro(sim *s, sim_req *req, const char *verb,
                         const char *name, json_object *payload)
{
  sim_op_spec spec;

  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_LRO;
  spec.duration = SIM_DUR_QUICK;
  spec.scope = sim_param(req, "locationsId");
  spec.operation_type = verb;
  spec.target_name = name;
  spec.metadata_type = CM_META;
  spec.payload = payload;
  return sim_op_start(s, req, &spec);
}

static int respond(sim *s, sim_resp *resp, sim_op *op)
{
  return op ? sim_op_respond(s, resp, op) : sim_resp_json(resp, 503, NULL);
}

static int operations_get(sim *s, sim_req *req, sim_resp *resp)
{
  char parent[300], name[400];
  sim_op *op;

  if (parent_of(s, req, resp, parent, sizeof(parent)) < 0)
    return SIM_DONE;
  snprintf(name, sizeof(name), "%s/operations/%s", parent,
           sim_param(req, "operationsId"));
  op = sim_op_find(s, name);
  return op ? sim_op_respond(s, resp, op) : not_found(resp, name);
}

static int operations_list(sim *s, sim_req *req, sim_resp *resp)
{
  char parent[300], prefix[400];
  json_object *o;

  if (parent_of(s, req, resp, parent, sizeof(parent)) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/operations/", parent);
  o = json_object_new_object();
  json_object_object_add(o, "operations", sim_op_list(s, prefix));
  return sim_resp_json(resp, 200, o);
}

/* --- generic create / get / list / delete ------------------------------- */

typedef struct cm_coll {
  const char *coll;     /* "certificates" */
  const char *field;    /* the body's name in messages: "certificate" */
  const char *id_param; /* "certificateId" */
  const char *kind;     /* store kind */
  const char *type;     /* response @type suffix */
  const char *path_id;  /* route parameter of the id */
} cm_coll;

static const cm_coll cm_auths = {
    "dnsAuthorizations",  "dns_authorization",
    "dnsAuthorizationId", "certificatemanager.dnsAuthorization",
    "DnsAuthorization",   "dnsAuthorizationsId"};
static const cm_coll cm_certs = {
    "certificates",  "certificate",
    "certificateId", "certificatemanager.certificate",
    "Certificate",   "certificatesId"};
static const cm_coll cm_maps = {
    "certificateMaps",  "certificate_map",
    "certificateMapId", "certificatemanager.certificateMap",
    "CertificateMap",   "certificateMapsId"};
static const cm_coll cm_entries = {
    "certificateMapEntries", "certificate_map_entry",
    "certificateMapEntryId", "certificatemanager.certificateMapEntry",
    "CertificateMapEntry",   "certificateMapEntriesId"};

/* The collection's parent: the location, or the map for entries. */
static int coll_parent(sim *s, sim_req *req, sim_resp *resp, const cm_coll *c,
                       char *buf, size_t n)
{
  char loc[300];

  if (parent_of(s, req, resp, loc, sizeof(loc)) < 0)
    return -1;
  if (c != &cm_entries) {
    snprintf(buf, n, "%s", loc);
    return 0;
  }
  snprintf(buf, n, "%s/certificateMaps/%s", loc,
           sim_param(req, "certificateMapsId"));
  if (sim_store_get(s, buf) == NULL)
    return not_found(resp, buf), -1;
  return 0;
}

/* parent/coll/id into buf; -1 when it does not fit (no such resource). */
static int res_name(sim_req *req, const cm_coll *c, const char *parent,
                    char *buf, size_t n)
{
  int len =
      snprintf(buf, n, "%s/%s/%s", parent, c->coll, sim_param(req, c->path_id));

  return len < 0 || (size_t)len >= n ? -1 : 0;
}

/*
 * The common part of every create: the id, the name, no duplicate; the
 * new resource (labels, description, times) for the caller to complete.
 */
static json_object *create_base(sim *s, sim_req *req, sim_resp *resp,
                                const cm_coll *c, char *name, size_t n)
{
  char parent[400], ts[32];
  const char *id = sim_query(req, c->id_param);
  json_object *body = sim_body(req), *o, *v;

  if (coll_parent(s, req, resp, c, parent, sizeof(parent)) < 0 ||
      sim_schema_check(resp, sim_schema_certmgr, c->type, body, c->field) < 0)
    return NULL;
  if (id == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Field '%s' is required.",
                       c->id_param),
           NULL;
  if (!valid_id(id))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid %s '%s': must match ^[a-z0-9-]{1,63}$.",
                       c->id_param, id),
           NULL;
  if ((size_t)snprintf(name, n, "%s/%s/%s", parent, c->coll, id) >= n)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Name too long."), NULL;
  if (sim_store_get(s, name) || sim_op_pending(s, name))
    return sim_err_rpc(resp, 409, "ALREADY_EXISTS",
                       "Resource '%s' already exists", name),
           NULL;
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(name));
  sim_now_str(s, ts);
  json_object_object_add(o, "createTime", json_object_new_string(ts));
  json_object_object_add(o, "updateTime", json_object_new_string(ts));
  if (json_object_object_get_ex(body, "labels", &v))
    json_object_object_add(o, "labels", copy(v));
  if (json_object_object_get_ex(body, "description", &v))
    json_object_object_add(o, "description", copy(v));
  return o;
}

static void create_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *kind = js(payload, "kind"), *type = js(payload, "type");
  json_object *res = json_object_object_get(payload, "resource");
  char t[200];

  if (sim_op_failed(op) || res == NULL)
    return;
  sim_store_put(s, js(res, "name"), kind, copy(res));
  snprintf(t, sizeof(t), CM_TYPE "%s", type);
  res = copy(res);
  json_object_object_del(res, "simCreateMs");
  sim_op_set_response(op, t, res);
}

static int start_create(sim *s, sim_req *req, sim_resp *resp, const cm_coll *c,
                        json_object *res)
{
  json_object *payload = json_object_new_object();
  char name[400];

  snprintf(name, sizeof(name), "%s", js(res, "name"));
  json_object_object_add(payload, "kind", json_object_new_string(c->kind));
  json_object_object_add(payload, "type", json_object_new_string(c->type));
  json_object_object_add(payload, "resource", res);
  return respond(s, resp, start_lro(s, req, "create", name, payload));
}

static json_object *lookup(sim *s, sim_req *req, sim_resp *resp,
                           const cm_coll *c, char *name, size_t n)
{
  char parent[400];
  json_object *o;

  if (coll_parent(s, req, resp, c, parent, sizeof(parent)) < 0)
    return NULL;
  o = res_name(req, c, parent, name, n) == 0 ? sim_store_get(s, name) : NULL;
  if (o == NULL)
    not_found(resp, name);
  return o;
}

static void delete_apply(sim *s, sim_op *op, json_object *payload)
{
  if (!sim_op_failed(op))
    sim_store_del(s, json_object_get_string(payload));
  sim_op_set_response(op, "type.googleapis.com/google.protobuf.Empty",
                      json_object_new_object());
}

struct use_ctx {
  sim *s;
  const char *kind;  /* kind of the referring resources */
  const char *field; /* their field (string or array of strings) */
  const char *target;
  char *user;
};

static int use_cb(void *data, const char *name, const char *kind,
                  json_object *obj)
{
  struct use_ctx *c = data;
  json_object *v = obj;
  char buf[100], *save = NULL;

  if (strcmp(kind, c->kind) != 0)
    return 0;
  snprintf(buf, sizeof(buf), "%s", c->field);
  for (char *t = strtok_r(buf, ".", &save); t && v;
       t = strtok_r(NULL, ".", &save))
    v = json_object_object_get(v, t);
  for (size_t i = 0;
       v && i < (json_object_is_type(v, json_type_array) ? alen(v) : 1); i++) {
    json_object *e = json_object_is_type(v, json_type_array)
                         ? json_object_array_get_idx(v, i)
                         : v;
    char *r = ref(c->s, json_object_get_string(e));
    int hit = r && strcmp(r, c->target) == 0;

    free(r);
    if (hit) {
      c->user = strdup(name);
      return 1;
    }
  }
  return 0;
}

/* The first resource of kind whose field refers to target, malloc'd. */
static char *used_by(sim *s, const char *prefix, const char *kind,
                     const char *field, const char *target)
{
  struct use_ctx c;

  c.s = s;
  c.kind = kind;
  c.field = field;
  c.target = target;
  c.user = NULL;
  sim_store_each(s, prefix, use_cb, &c);
  return c.user;
}

static int generic_delete(sim *s, sim_req *req, sim_resp *resp,
                          const cm_coll *c, const char *kind, const char *field)
{
  char name[400], prefix[300], *user = NULL;

  if (lookup(s, req, resp, c, name, sizeof(name)) == NULL)
    return SIM_DONE;
  if (sim_op_pending(s, name))
    return sim_err_rpc(resp, 409, "ABORTED",
                       "Resource '%s' has an operation in progress.", name);
  snprintf(prefix, sizeof(prefix), "projects/%s/", sim_project(s));
  if (kind)
    user = used_by(s, prefix, kind, field, name);
  if (user) {
    sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                "Resource '%s' is still in use by '%s'.", name, user);
    free(user);
    return SIM_DONE;
  }
  return respond(
      s, resp, start_lro(s, req, "delete", name, json_object_new_string(name)));
}

/* --- dnsAuthorizations -------------------------------------------------- */

static int valid_domain(const char *d)
{
  size_t n = d ? strlen(d) : 0;

  if (n == 0 || n > 253 || d[n - 1] == '.' || strchr(d, '.') == NULL)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.' &&
        !(i == 0 && d[i] == '*' && d[1] == '.'))
      return 0;
  return 1;
}

static int auths_create(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400], uuid[40], buf[400];
  const char *domain = js(sim_body(req), "domain"), *type;
  json_object *res, *rr;

  res = create_base(s, req, resp, &cm_auths, name, sizeof(name));
  if (res == NULL)
    return SIM_DONE;
  if (!valid_domain(domain) || domain[0] == '*') {
    json_object_put(res);
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Invalid domain '%s'.",
                       domain ? domain : "");
  }
  type = js(sim_body(req), "type");
  json_object_object_add(res, "domain", json_object_new_string(domain));
  json_object_object_add(res, "type",
                         json_object_new_string(type ? type : "FIXED_RECORD"));
  rr = json_object_new_object();
  snprintf(buf, sizeof(buf), "_acme-challenge.%s.", domain);
  json_object_object_add(rr, "name", json_object_new_string(buf));
  json_object_object_add(rr, "type", json_object_new_string("CNAME"));
  snprintf(buf, sizeof(buf), "%s.%u.authorize.certificatemanager.goog.",
           sim_new_uuid(s, uuid), (unsigned)sim_rand_range(s, 1, 20));
  json_object_object_add(rr, "data", json_object_new_string(buf));
  json_object_object_add(res, "dnsResourceRecord", rr);
  return start_create(s, req, resp, &cm_auths, res);
}

static int auths_get(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *o = lookup(s, req, resp, &cm_auths, name, sizeof(name));

  return o ? sim_resp_json(resp, 200, json_object_get(o)) : SIM_DONE;
}

static int auths_delete(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_delete(s, req, resp, &cm_auths, cm_certs.kind,
                        "managed.dnsAuthorizations");
}

/* --- certificates ------------------------------------------------------- */

struct fr_ctx {
  const char *ip;
  int hit;
};

static int fr_cb(void *data, const char *name, const char *kind,
                 json_object *obj)
{
  struct fr_ctx *c = data;
  const char *ip = js(obj, "IPAddress");

  (void)name;
  (void)kind;
  if (ip && strcmp(ip, c->ip) == 0)
    c->hit = 1;
  return c->hit;
}

/* The domain's A record holds the address of a global forwarding rule. */
static int resolves_to_lb(sim *s, const char *domain)
{
  json_object *a = sim_dns_lookup(s, domain, "A");
  json_object *datas = json_object_object_get(a, "rrdatas");
  char prefix[300];

  snprintf(prefix, sizeof(prefix), "projects/%s/global/forwardingRules/",
           sim_project(s));
  for (size_t i = 0; i < alen(datas); i++) {
    struct fr_ctx c;

    c.ip = json_object_get_string(json_object_array_get_idx(datas, i));
    c.hit = 0;
    sim_store_each(s, prefix, fr_cb, &c);
    if (c.hit)
      return 1;
  }
  return 0;
}

/* The authorization (listed on the certificate) covering domain. */
static json_object *auth_for(sim *s, json_object *managed, const char *domain)
{
  json_object *auths = json_object_object_get(managed, "dnsAuthorizations");
  const char *bare = strncmp(domain, "*.", 2) == 0 ? domain + 2 : domain;

  for (size_t i = 0; i < alen(auths); i++) {
    char *name =
        ref(s, json_object_get_string(json_object_array_get_idx(auths, i)));
    json_object *a = name ? sim_store_get(s, name) : NULL;

    free(name);
    if (a && strcasecmp(jsd(a, "domain", ""), bare) == 0)
      return a;
  }
  return NULL;
}

/* What is missing for domain, or NULL when it is ready. */
static const char *domain_issue(sim *s, json_object *managed,
                                const char *domain)
{
  json_object *auth = auth_for(s, managed, domain), *cname, *rr;
  const char *want;

  if (auth == NULL)
    return "No DNS authorization of the certificate covers this domain.";
  rr = json_object_object_get(auth, "dnsResourceRecord");
  cname = sim_dns_lookup(s, js(rr, "name"), "CNAME");
  want = js(rr, "data");
  if (cname == NULL || want == NULL ||
      strcasecmp(json_object_get_string(json_object_array_get_idx(
                     json_object_object_get(cname, "rrdatas"), 0)),
                 want) != 0)
    return "The CNAME record of the DNS authorization is missing or does "
           "not match.";
  if (strncmp(domain, "*.", 2) != 0 && !resolves_to_lb(s, domain))
    return "The domain does not resolve to the IP address of a load "
           "balancer.";
  return NULL;
}

static void set_state(json_object *managed, const char *state)
{
  json_object_object_add(managed, "state", json_object_new_string(state));
}

/* Brings a managed certificate's state up to the clock (see the top). */
static void cert_refresh(sim *s, json_object *cert)
{
  json_object *managed = json_object_object_get(cert, "managed");
  json_object *domains = json_object_object_get(managed, "domains");
  json_object *attempts = json_object_new_array(), *issue = NULL, *v;
  const char *state = js(managed, "state");
  uint64_t now = sim_now_ms(s), created = 0;
  int ready = 1, early, failed;
  char ts[32];

  if (managed == NULL || state == NULL || strcmp(state, "PROVISIONING") != 0) {
    json_object_put(attempts);
    return;
  }
  if (json_object_object_get_ex(cert, "simCreateMs", &v))
    created = (uint64_t)json_object_get_int64(v);
  early = now < created + cm_delay_ms[sim_get_profile(s)];
  failed = now >= created + CM_FAIL_MS;
  for (size_t i = 0; i < alen(domains); i++) {
    const char *d =
        json_object_get_string(json_object_array_get_idx(domains, i));
    const char *why = early ? NULL : domain_issue(s, managed, d);
    json_object *a = json_object_new_object();

    json_object_object_add(a, "domain", json_object_new_string(d));
    if (early || why) {
      ready = 0;
      json_object_object_add(
          a, "state",
          json_object_new_string(failed && why ? "FAILED" : "AUTHORIZING"));
      if (why) {
        if (failed)
          json_object_object_add(a, "failureReason",
                                 json_object_new_string("CONFIG"));
        json_object_object_add(a, "details", json_object_new_string(why));
        if (issue == NULL) {
          issue = json_object_new_object();
          json_object_object_add(issue, "reason",
                                 json_object_new_string("AUTHORIZATION_ISSUE"));
          json_object_object_add(issue, "details", json_object_new_string(why));
        }
      }
    } else {
      json_object_object_add(a, "state", json_object_new_string("AUTHORIZED"));
    }
    json_object_array_add(attempts, a);
  }
  json_object_object_add(managed, "authorizationAttemptInfo", attempts);
  if (issue)
    json_object_object_add(managed, "provisioningIssue", issue);
  else
    json_object_object_del(managed, "provisioningIssue");
  if (ready) {
    set_state(managed, "ACTIVE");
    json_object_object_add(
        cert, "pemCertificate",
        json_object_new_string("-----BEGIN CERTIFICATE-----\nU0lNVUxBVEVE\n"
                               "-----END CERTIFICATE-----\n"));
    json_object_object_add(
        cert, "expireTime",
        json_object_new_string(sim_time_str(now + 90ull * 86400000, ts)));
    sim_dirty(s);
  } else if (failed && !early) {
    set_state(managed, "FAILED");
    sim_dirty(s);
  }
}

/* What a client sees: the stored certificate without our own fields. */
static json_object *cert_public(json_object *cert)
{
  json_object *c = copy(cert);

  json_object_object_del(c, "simCreateMs");
  return c;
}

static int certs_create(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *body = sim_body(req), *res, *managed, *domains, *auths, *m;

  res = create_base(s, req, resp, &cm_certs, name, sizeof(name));
  if (res == NULL)
    return SIM_DONE;
  managed = json_object_object_get(body, "managed");
  domains = json_object_object_get(managed, "domains");
  auths = json_object_object_get(managed, "dnsAuthorizations");
  if (managed == NULL || alen(domains) == 0 || alen(domains) > 100) {
    json_object_put(res);
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "A managed certificate needs 1 to 100 "
                       "managed.domains (self-managed certificates are not "
                       "simulated).");
  }
  for (size_t i = 0; i < alen(domains); i++) {
    const char *d =
        json_object_get_string(json_object_array_get_idx(domains, i));

    if (!valid_domain(d)) {
      json_object_put(res);
      return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Invalid domain '%s'.",
                         d ? d : "");
    }
  }
  for (size_t i = 0; i < alen(auths); i++) {
    char *a =
        ref(s, json_object_get_string(json_object_array_get_idx(auths, i)));
    int ok = a && sim_store_get(s, a) != NULL;

    if (!ok) {
      json_object_put(res);
      sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                  "DnsAuthorization '%s' not found.", a ? a : "");
      free(a);
      return SIM_DONE;
    }
    free(a);
  }
  m = json_object_new_object();
  json_object_object_add(m, "domains", copy(domains));
  if (auths)
    json_object_object_add(m, "dnsAuthorizations", copy(auths));
  set_state(m, "PROVISIONING");
  json_object_object_add(res, "managed", m);
  json_object_object_add(res, "sanDnsnames", copy(domains));
  json_object_object_add(res, "scope",
                         json_object_new_string(jsd(body, "scope", "DEFAULT")));
  json_object_object_add(res, "simCreateMs",
                         json_object_new_int64((int64_t)sim_now_ms(s)));
  return start_create(s, req, resp, &cm_certs, res);
}

static int certs_get(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *o = lookup(s, req, resp, &cm_certs, name, sizeof(name));

  if (o == NULL)
    return SIM_DONE;
  cert_refresh(s, o);
  return sim_resp_json(resp, 200, cert_public(o));
}

static int certs_delete(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_delete(s, req, resp, &cm_certs, cm_entries.kind,
                        "certificates");
}

/*
 * patch of a certificate or a DNS authorization: only labels and
 * description are mutable (updateMask names which); a long-running
 * operation whose apply (labels_patch_apply) sets them.
 */
static int labels_patch(sim *s, sim_req *req, sim_resp *resp, const cm_coll *c)
{
  char name[400];
  json_object *o = lookup(s, req, resp, c, name, sizeof(name));
  json_object *body = sim_body(req), *payload;
  const char *mask = sim_query(req, "updateMask");

  if (o == NULL ||
      sim_schema_check(resp, sim_schema_certmgr, c->type, body, c->field) < 0)
    return SIM_DONE;
  if (mask == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field 'update_mask' is required.");
  payload = json_object_new_object();
  json_object_object_add(payload, "name", json_object_new_string(name));
  json_object_object_add(payload, "mask", json_object_new_string(mask));
  json_object_object_add(
      payload, "body", body ? json_object_get(body) : json_object_new_object());
  return respond(s, resp, start_lro(s, req, "update", name, payload));
}

/* The labels and description of a patch's payload onto `o`: 0, or -1
 * when `o` is gone or the operation failed. */
static int labels_patch_apply(sim *s, sim_op *op, json_object *o,
                              json_object *payload)
{
  json_object *body = json_object_object_get(payload, "body"), *v;
  const char *mask = js(payload, "mask");
  char ts[32];

  if (o == NULL || sim_op_failed(op))
    return -1;
  if (strstr(mask, "labels")) {
    if (json_object_object_get_ex(body, "labels", &v))
      json_object_object_add(o, "labels", copy(v));
    else
      json_object_object_del(o, "labels");
  }
  if (strstr(mask, "description") &&
      json_object_object_get_ex(body, "description", &v))
    json_object_object_add(o, "description", copy(v));
  json_object_object_add(o, "updateTime",
                         json_object_new_string(sim_now_str(s, ts)));
  return 0;
}

static int certs_patch(sim *s, sim_req *req, sim_resp *resp)
{
  return labels_patch(s, req, resp, &cm_certs);
}

static void certs_patch_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *cert = sim_store_get(s, js(payload, "name"));

  if (labels_patch_apply(s, op, cert, payload) == 0)
    sim_op_set_response(op, CM_TYPE "Certificate", cert_public(cert));
}

static int auths_patch(sim *s, sim_req *req, sim_resp *resp)
{
  return labels_patch(s, req, resp, &cm_auths);
}

static void auths_patch_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *auth = sim_store_get(s, js(payload, "name"));

  if (labels_patch_apply(s, op, auth, payload) == 0)
    sim_op_set_response(op, CM_TYPE "DnsAuthorization", copy(auth));
}

/* --- certificateMaps ---------------------------------------------------- */

struct gclb_ctx {
  sim *s;
  const char *map;
  json_object *targets;
};

struct ipc_ctx {
  sim *s;
  const char *proxy;
  json_object *ips;
};

static int ipc_cb(void *data, const char *name, const char *kind,
                  json_object *obj)
{
  struct ipc_ctx *c = data;
  char *t = ref(c->s, js(obj, "target"));
  json_object *ip, *ports;

  (void)name;
  (void)kind;
  if (t && strcmp(t, c->proxy) == 0 && js(obj, "IPAddress")) {
    ip = json_object_new_object();
    ports = json_object_new_array();
    json_object_object_add(ip, "ipAddress",
                           json_object_new_string(js(obj, "IPAddress")));
    json_object_array_add(ports, json_object_new_int(443));
    json_object_object_add(ip, "ports", ports);
    json_object_array_add(c->ips, ip);
  }
  free(t);
  return 0;
}

static int gclb_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct gclb_ctx *c = data;
  char *m = ref(c->s, js(obj, "certificateMap")), prefix[300], buf[500];
  struct ipc_ctx ic;
  json_object *t;

  (void)kind;
  if (m == NULL || strcmp(m, c->map) != 0) {
    free(m);
    return 0;
  }
  free(m);
  ic.s = c->s;
  ic.proxy = name;
  ic.ips = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/global/forwardingRules/",
           sim_project(c->s));
  sim_store_each(c->s, prefix, ipc_cb, &ic);
  if (alen(ic.ips) == 0) {
    json_object_put(ic.ips);
    return 0;
  }
  t = json_object_new_object();
  snprintf(buf, sizeof(buf), "//compute.googleapis.com/%s", name);
  json_object_object_add(t, "targetHttpsProxy", json_object_new_string(buf));
  json_object_object_add(t, "ipConfigs", ic.ips);
  json_object_array_add(c->targets, t);
  return 0;
}

/* A map with its gclbTargets: proxies using it that a forwarding rule
 * serves. */
static json_object *map_public(sim *s, json_object *map)
{
  json_object *m = copy(map);
  struct gclb_ctx c;
  char prefix[300];

  c.s = s;
  c.map = js(map, "name");
  c.targets = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/global/targetHttpsProxies/",
           sim_project(s));
  sim_store_each(s, prefix, gclb_cb, &c);
  if (alen(c.targets))
    json_object_object_add(m, "gclbTargets", c.targets);
  else
    json_object_put(c.targets);
  return m;
}

static int maps_create(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *res = create_base(s, req, resp, &cm_maps, name, sizeof(name));

  return res ? start_create(s, req, resp, &cm_maps, res) : SIM_DONE;
}

static int maps_get(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *o = lookup(s, req, resp, &cm_maps, name, sizeof(name));

  return o ? sim_resp_json(resp, 200, map_public(s, o)) : SIM_DONE;
}

static int maps_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400], prefix[450];

  if (lookup(s, req, resp, &cm_maps, name, sizeof(name)) == NULL)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/certificateMapEntries/", name);
  if (sim_store_count(s, prefix, cm_entries.kind) > 0)
    return sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                       "Resource '%s' still has certificate map entries.",
                       name);
  return generic_delete(s, req, resp, &cm_maps, "compute#targetHttpsProxy",
                        "certificateMap");
}

/* --- certificateMapEntries ---------------------------------------------- */

/* ACTIVE when every certificate is ACTIVE, else PENDING. */
static json_object *entry_public(sim *s, json_object *entry)
{
  json_object *e = copy(entry);
  json_object *certs = json_object_object_get(entry, "certificates");
  int active = alen(certs) > 0;

  for (size_t i = 0; i < alen(certs); i++) {
    char *n =
        ref(s, json_object_get_string(json_object_array_get_idx(certs, i)));
    json_object *c = n ? sim_store_get(s, n) : NULL;

    free(n);
    if (c)
      cert_refresh(s, c);
    if (c == NULL ||
        strcmp(jsd(json_object_object_get(c, "managed"), "state", ""),
               "ACTIVE") != 0)
      active = 0;
  }
  json_object_object_add(e, "state",
                         json_object_new_string(active ? "ACTIVE" : "PENDING"));
  return e;
}

static int entries_create(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *body = sim_body(req), *res, *certs;
  const char *host = js(body, "hostname"), *matcher = js(body, "matcher");

  res = create_base(s, req, resp, &cm_entries, name, sizeof(name));
  if (res == NULL)
    return SIM_DONE;
  certs = json_object_object_get(body, "certificates");
  if ((host == NULL) == (matcher == NULL) ||
      (matcher && strcmp(matcher, "PRIMARY") != 0) ||
      (host && !valid_domain(host))) {
    json_object_put(res);
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Exactly one of hostname or matcher (PRIMARY) must be "
                       "set.");
  }
  if (alen(certs) > CM_MAX_MAP_CERTS) {
    json_object_put(res);
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "A certificate map entry takes at most %d "
                       "certificates.",
                       CM_MAX_MAP_CERTS);
  }
  for (size_t i = 0; i < alen(certs); i++) {
    char *c =
        ref(s, json_object_get_string(json_object_array_get_idx(certs, i)));
    int ok = c && sim_store_get(s, c) != NULL;

    if (!ok) {
      json_object_put(res);
      sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Certificate '%s' not found.",
                  c ? c : "");
      free(c);
      return SIM_DONE;
    }
    free(c);
  }
  if (host)
    json_object_object_add(res, "hostname", json_object_new_string(host));
  else
    json_object_object_add(res, "matcher", json_object_new_string(matcher));
  json_object_object_add(res, "certificates",
                         certs ? copy(certs) : json_object_new_array());
  return start_create(s, req, resp, &cm_entries, res);
}

static int entries_get(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *o = lookup(s, req, resp, &cm_entries, name, sizeof(name));

  return o ? sim_resp_json(resp, 200, entry_public(s, o)) : SIM_DONE;
}

static int entries_delete(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_delete(s, req, resp, &cm_entries, NULL, NULL);
}

/*
 * certificateMapEntries.patch: updateMask may name certificates, labels
 * and description. Any other path (hostname and matcher are the entry's
 * identity) is refused as Google refuses it: 400 "Validation failed" with
 * a google.rpc.BadRequest violation on updateMask listing the paths.
 * The referenced certificates must exist, at most CM_MAX_MAP_CERTS.
 */
static const char *const entry_mutable[] = {"certificates", "labels",
                                            "description", NULL};

static int mask_rejected(sim_resp *resp, const char *paths)
{
  json_object *top = json_object_new_object(), *e = json_object_new_object(),
              *det = json_object_new_array(), *br = json_object_new_object(),
              *fvs = json_object_new_array(), *fv = json_object_new_object();
  char desc[600];

  snprintf(desc, sizeof(desc), "paths not permitted to be updated: %s", paths);
  json_object_object_add(fv, "field", json_object_new_string("updateMask"));
  json_object_object_add(fv, "description", json_object_new_string(desc));
  json_object_array_add(fvs, fv);
  json_object_object_add(
      br, "@type",
      json_object_new_string("type.googleapis.com/google.rpc.BadRequest"));
  json_object_object_add(br, "fieldViolations", fvs);
  json_object_array_add(det, br);
  json_object_object_add(e, "code", json_object_new_int(400));
  json_object_object_add(e, "message",
                         json_object_new_string("Validation failed"));
  json_object_object_add(e, "status",
                         json_object_new_string("INVALID_ARGUMENT"));
  json_object_object_add(e, "details", det);
  json_object_object_add(top, "error", e);
  return sim_resp_json(resp, 400, top);
}

/* 0 when every path of mask is mutable; else -1 with resp filled. Paths
 * are comma-separated, camelCase or snake_case (the same here). */
static int entry_mask_check(sim_resp *resp, const char *mask)
{
  char buf[512], bad[512] = "", *save = NULL;
  int any = 0;

  if ((size_t)snprintf(buf, sizeof(buf), "%s", mask) >= sizeof(buf))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field 'update_mask' is too long."),
           -1;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    size_t i, n;
    int ok = 0;

    while (*t == ' ')
      t++;
    n = strlen(t);
    while (n > 0 && t[n - 1] == ' ')
      t[--n] = '\0';
    if (n == 0)
      continue;
    any = 1;
    for (i = 0; entry_mutable[i]; i++)
      ok |= strcmp(t, entry_mutable[i]) == 0;
    if (!ok && strlen(bad) + n + 2 < sizeof(bad)) {
      if (*bad)
        strcat(bad, ",");
      strcat(bad, t);
    }
  }
  if (*bad)
    return mask_rejected(resp, bad), -1;
  if (!any)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field 'update_mask' is required."),
           -1;
  return 0;
}

/* 1 when the comma-separated mask names path. */
static int mask_has(const char *mask, const char *path)
{
  size_t n = strlen(path);

  for (const char *p = mask; (p = strstr(p, path)) != NULL; p += n) {
    const char *end = p + n;

    if ((p == mask || p[-1] == ',' || p[-1] == ' ') &&
        (*end == '\0' || *end == ',' || *end == ' '))
      return 1;
  }
  return 0;
}

static int entries_patch(sim *s, sim_req *req, sim_resp *resp)
{
  char name[400];
  json_object *o = lookup(s, req, resp, &cm_entries, name, sizeof(name));
  json_object *body = sim_body(req), *payload, *certs = NULL;
  const char *mask = sim_query(req, "updateMask");

  if (o == NULL ||
      sim_schema_check(resp, sim_schema_certmgr, "CertificateMapEntry", body,
                       cm_entries.field) < 0)
    return SIM_DONE;
  if (mask == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Field 'update_mask' is required.");
  if (entry_mask_check(resp, mask) < 0)
    return SIM_DONE;
  if (sim_op_pending(s, name))
    return sim_err_rpc(resp, 409, "ABORTED",
                       "Resource '%s' has an operation in progress.", name);
  if (mask_has(mask, "certificates")) {
    certs = json_object_object_get(body, "certificates");
    if (alen(certs) > CM_MAX_MAP_CERTS)
      return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                         "A certificate map entry takes at most %d "
                         "certificates.",
                         CM_MAX_MAP_CERTS);
    for (size_t i = 0; i < alen(certs); i++) {
      char *c =
          ref(s, json_object_get_string(json_object_array_get_idx(certs, i)));
      json_object *cert = c ? sim_store_get(s, c) : NULL;

      if (cert == NULL) {
        sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                    "Certificate '%s' not found.", c ? c : "");
        free(c);
        return SIM_DONE;
      }
      free(c);
    }
  }
  payload = json_object_new_object();
  json_object_object_add(payload, "name", json_object_new_string(name));
  json_object_object_add(payload, "mask", json_object_new_string(mask));
  json_object_object_add(
      payload, "body", body ? json_object_get(body) : json_object_new_object());
  return respond(s, resp, start_lro(s, req, "update", name, payload));
}

static void entries_patch_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *entry = sim_store_get(s, js(payload, "name"));
  json_object *body = json_object_object_get(payload, "body"), *v;
  const char *mask = jsd(payload, "mask", "");
  char ts[32];

  if (entry == NULL || sim_op_failed(op))
    return;
  /* A path in the mask with no value in the body clears the field. */
  for (size_t i = 0; entry_mutable[i]; i++) {
    const char *f = entry_mutable[i];

    if (!mask_has(mask, f))
      continue;
    if (json_object_object_get_ex(body, f, &v) && v != NULL)
      json_object_object_add(entry, f, copy(v));
    else if (strcmp(f, "certificates") == 0)
      json_object_object_add(entry, f, json_object_new_array());
    else
      json_object_object_del(entry, f);
  }
  json_object_object_add(entry, "updateTime",
                         json_object_new_string(sim_now_str(s, ts)));
  sim_op_set_response(op, CM_TYPE "CertificateMapEntry",
                      entry_public(s, entry));
}

/* --- lists -------------------------------------------------------------- */

struct list_ctx {
  sim *s;
  const cm_coll *c;
  size_t depth; /* slashes in a direct child's name */
  json_object *items;
  const char *filter; /* AIP-160 subset (listfilter.h), or NULL */
  const char *token;  /* the first name of this page, or NULL */
  long max, n;        /* page size, items on the page */
  char next[450];     /* the first name of the next page, or "" */
};

static size_t slashes(const char *p)
{
  size_t n = 0;

  for (; *p; p++)
    n += *p == '/';
  return n;
}

static int list_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct list_ctx *l = data;
  json_object *o;

  if (strcmp(kind, l->c->kind) != 0 || slashes(name) != l->depth)
    return 0;
  if (l->token && strcmp(name, l->token) < 0)
    return 0;
  if (l->c == &cm_certs) {
    cert_refresh(l->s, obj);
    o = cert_public(obj);
  } else if (l->c == &cm_maps) {
    o = map_public(l->s, obj);
  } else if (l->c == &cm_entries) {
    o = entry_public(l->s, obj);
  } else {
    o = json_object_get(obj);
  }
  /* The filter reads the resource as the API shows it. */
  if (sim_lf_match(o, l->filter, NULL, 0) != 1) {
    json_object_put(o);
    return 0;
  }
  if (l->n == l->max) {
    json_object_put(o);
    snprintf(l->next, sizeof(l->next), "%s", name);
    return 1;
  }
  json_object_array_add(l->items, o);
  l->n++;
  return 0;
}

/*
 * Every list: `filter` (the AIP-160 subset of listfilter.h, on the
 * resource as the API shows it), `pageSize` (unspecified, 0 or above
 * CM_MAX_PAGE: CM_MAX_PAGE; negative: 400) and `pageToken` (the
 * nextPageToken of the previous page: the first name of the next one,
 * stable while entries come and go; anything else: 400).
 */
static int generic_list(sim *s, sim_req *req, sim_resp *resp, const cm_coll *c)
{
  char parent[400], prefix[450], why[160];
  const char *size = sim_query(req, "pageSize");
  struct list_ctx l;
  json_object *o;
  char *end = NULL;

  if (coll_parent(s, req, resp, c, parent, sizeof(parent)) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/%s/", parent, c->coll);
  memset(&l, 0, sizeof(l));
  l.s = s;
  l.c = c;
  l.depth = slashes(prefix);
  l.filter = sim_query(req, "filter");
  l.token = sim_query(req, "pageToken");
  l.max = size && *size ? strtol(size, &end, 10) : 0;
  if (size && *size && (*end || l.max < 0))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid value for field 'page_size': '%s'. Must be a "
                       "non-negative integer.",
                       size);
  if (l.max == 0 || l.max > CM_MAX_PAGE)
    l.max = CM_MAX_PAGE;
  if (l.filter && sim_lf_match(NULL, l.filter, why, sizeof(why)) < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid filter '%s': %s.", l.filter, why);
  if (l.token && *l.token &&
      (!sim_name_under(l.token, prefix) || slashes(l.token) != l.depth))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid value for field 'page_token': '%s'.", l.token);
  if (l.token && !*l.token)
    l.token = NULL;
  l.items = json_object_new_array();
  sim_store_each(s, prefix, list_cb, &l);
  o = json_object_new_object();
  json_object_object_add(o, c->coll, l.items);
  if (l.next[0])
    json_object_object_add(o, "nextPageToken", json_object_new_string(l.next));
  return sim_resp_json(resp, 200, o);
}

static int auths_list(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_list(s, req, resp, &cm_auths);
}

static int certs_list(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_list(s, req, resp, &cm_certs);
}

static int maps_list(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_list(s, req, resp, &cm_maps);
}

static int entries_list(sim *s, sim_req *req, sim_resp *resp)
{
  return generic_list(s, req, resp, &cm_entries);
}

/* --- table -------------------------------------------------------------- */

#define CL    "/v1/projects/{projectsId}/locations/{locationsId}"
#define CM_ID "certificatemanager.projects.locations."
#define MAP   CL "/certificateMaps/{certificateMapsId}"

static const sim_route certmgr_routes[] = {
    {"POST", CL "/dnsAuthorizations", CM_ID "dnsAuthorizations.create",
     auths_create, create_apply, 0, NULL},
    {"GET", CL "/dnsAuthorizations", CM_ID "dnsAuthorizations.list", auths_list,
     NULL, 0, NULL},
    {"GET", CL "/dnsAuthorizations/{dnsAuthorizationsId}",
     CM_ID "dnsAuthorizations.get", auths_get, NULL, 0, NULL},
    {"PATCH", CL "/dnsAuthorizations/{dnsAuthorizationsId}",
     CM_ID "dnsAuthorizations.patch", auths_patch, auths_patch_apply, 0, NULL},
    {"DELETE", CL "/dnsAuthorizations/{dnsAuthorizationsId}",
     CM_ID "dnsAuthorizations.delete", auths_delete, delete_apply, 0, NULL},
    {"POST", CL "/certificates", CM_ID "certificates.create", certs_create,
     create_apply, 0, NULL},
    {"GET", CL "/certificates", CM_ID "certificates.list", certs_list, NULL, 0,
     NULL},
    {"GET", CL "/certificates/{certificatesId}", CM_ID "certificates.get",
     certs_get, NULL, 0, NULL},
    {"PATCH", CL "/certificates/{certificatesId}", CM_ID "certificates.patch",
     certs_patch, certs_patch_apply, 0, NULL},
    {"DELETE", CL "/certificates/{certificatesId}", CM_ID "certificates.delete",
     certs_delete, delete_apply, 0, NULL},
    {"POST", CL "/certificateMaps", CM_ID "certificateMaps.create", maps_create,
     create_apply, 0, NULL},
    {"GET", CL "/certificateMaps", CM_ID "certificateMaps.list", maps_list,
     NULL, 0, NULL},
    {"GET", MAP, CM_ID "certificateMaps.get", maps_get, NULL, 0, NULL},
    {"DELETE", MAP, CM_ID "certificateMaps.delete", maps_delete, delete_apply,
     0, NULL},
    {"POST", MAP "/certificateMapEntries",
     CM_ID "certificateMaps.certificateMapEntries.create", entries_create,
     create_apply, 0, NULL},
    {"GET", MAP "/certificateMapEntries",
     CM_ID "certificateMaps.certificateMapEntries.list", entries_list, NULL, 0,
     NULL},
    {"GET", MAP "/certificateMapEntries/{certificateMapEntriesId}",
     CM_ID "certificateMaps.certificateMapEntries.get", entries_get, NULL, 0,
     NULL},
    {"DELETE", MAP "/certificateMapEntries/{certificateMapEntriesId}",
     CM_ID "certificateMaps.certificateMapEntries.delete", entries_delete,
     delete_apply, 0, NULL},
    {"PATCH", MAP "/certificateMapEntries/{certificateMapEntriesId}",
     CM_ID "certificateMaps.certificateMapEntries.patch", entries_patch,
     entries_patch_apply, 0, NULL},
    {"GET", CL "/operations", CM_ID "operations.list", operations_list, NULL, 0,
     NULL},
    {"GET", CL "/operations/{operationsId}", CM_ID "operations.get",
     operations_get, NULL, 0, NULL},
};

int sim_certmgr_init(sim *s)
{
  return sim_register(s, SIM_API_CERTMGR, certmgr_routes,
                      sizeof(certmgr_routes) / sizeof(*certmgr_routes));
}
