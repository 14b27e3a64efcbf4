/*
 * dns.c - Cloud DNS v1: managedZones (create/get/list/delete),
 * resourceRecordSets (list/create/get/patch/delete) and changes
 * (create/get/list). A fresh project has a public zone for sim_domain()
 * with its SOA and NS rrsets.
 *
 * A change is validated as a whole and applied atomically in the handler,
 * so the next request sees it; its dns#change reads "pending" until its
 * operation is done (SIM_DUR_QUICK), as Google's does while the update
 * reaches the name servers. A failed operation (injected fault) rolls the
 * change back. Rules, with Google's texts (docs/google-cloud.md section 5):
 * - adding an rrset that exists: 409 alreadyExists;
 * - a deletion must match name, type, ttl and rrdatas (in any order):
 *   412 conditionNotMet, nothing applied; deleting a missing one: 404;
 * - CNAME beside another type at one name: 400
 *   cnameResourceRecordSetConflict (the text real clients log);
 * - at most 1000 additions and 1000 deletions per change, 100,000 bytes of
 *   rrdata, 100 rrdatas per rrset, 10,000 rrsets per zone: 403
 *   quotaExceeded.
 * Rrsets are stored as projects/P/managedZones/Z/rrsets/NAME/TYPE.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/billing.h"
#include "sim/dns.h"
#include "sim/modules.h"
#include "sim/schema_apis.h"
#include "sim/jsonutil.h"
#include "sim/sim.h"

#define DNS_MAX_CHANGE       1000
#define DNS_MAX_RRDATA_BYTES 100000
#define DNS_MAX_RRDATAS      100
#define DNS_MAX_RRSETS       10000
#define DNS_KIND_RRSET       "dns#resourceRecordSet"
#define DNS_KIND_ZONE        "dns#managedZone"

static const char *const dns_types[] = {
    "A",     "AAAA",     "ALIAS", "CAA",   "CNAME", "DNSKEY", "DS",
    "HTTPS", "IPSECKEY", "MX",    "NAPTR", "NS",    "PTR",    "SOA",
    "SPF",   "SRV",      "SSHFP", "SVCB",  "TLSA",  "TXT",    NULL,
};

static void zone_key(sim *s, char *buf, size_t n, const char *zone)
{
  snprintf(buf, n, "projects/%s/managedZones/%s", sim_project(s), zone);
}

static void rrset_key(char *buf, size_t n, const char *zkey, const char *name,
                      const char *type)
{
  /* Callers pass fields of validated rrsets; guard anyway, an empty key
   * simply matches nothing. */
  snprintf(buf, n, "%s/rrsets/%s/%s", zkey, name ? name : "", type ? type : "");
}

static json_object *zone_lookup(sim *s, sim_req *req, sim_resp *resp, char *key,
                                size_t n)
{
  json_object *z;

  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  zone_key(s, key, n, sim_param(req, "managedZone"));
  z = sim_store_get(s, key);
  if (z == NULL)
    sim_err_legacy(resp, 404, "notFound",
                   "The 'parameters.managedZone' resource named '%s' does "
                   "not exist.",
                   sim_param(req, "managedZone"));
  return z;
}

/* --- lookups for other modules ------------------------------------------ */

struct find_ctx {
  const char *name, *type;
  json_object *hit;
};

static int find_cb(void *data, const char *key, const char *kind,
                   json_object *obj)
{
  struct find_ctx *c = data;
  const char *n = js(obj, "name"), *t = js(obj, "type");
  size_t want = strlen(c->name);

  (void)key;
  if (strcmp(kind, DNS_KIND_RRSET) != 0 || n == NULL || t == NULL ||
      strcmp(t, c->type) != 0)
    return 0;
  /* The caller's name may lack the trailing dot. */
  if (c->name[want - 1] != '.' && strlen(n) == want + 1 &&
      strncasecmp(n, c->name, want) == 0)
    c->hit = obj;
  else if (strcasecmp(n, c->name) == 0)
    c->hit = obj;
  return c->hit != NULL;
}

/* The records' secondary index key: "TYPE name" with the name in lower
 * case (owner names compare without case). */
static void rr_index_key(char *buf, size_t n, const char *name, size_t len,
                         const char *type)
{
  size_t k = (size_t)snprintf(buf, n, "%s ", type);

  for (size_t i = 0; i < len && k + 1 < n; i++)
    buf[k++] = (char)tolower((unsigned char)name[i]);
  buf[k < n ? k : n - 1] = '\0';
}

static void rr_keys(sim *s, json_object *obj,
                    void (*emit)(void *ctx, const char *key), void *ctx)
{
  const char *n = js(obj, "name"), *t = js(obj, "type");
  char key[1100];

  (void)s;
  if (n == NULL || t == NULL)
    return;
  rr_index_key(key, sizeof(key), n, strlen(n), t);
  emit(ctx, key);
}

json_object *sim_dns_lookup(sim *s, const char *fqdn, const char *type)
{
  struct find_ctx c;
  char prefix[300], key[1100];
  size_t want;
  const char *best = NULL;
  json_object *hit = NULL;

  if (fqdn == NULL || *fqdn == '\0' || type == NULL)
    return NULL;
  c.name = fqdn;
  c.type = type;
  snprintf(prefix, sizeof(prefix), "projects/%s/managedZones/", sim_project(s));
  want = strlen(fqdn);
  /* The records named fqdn, and fqdn. when the caller left the dot off;
   * of those, the first in store order, as a walk of every zone finds. */
  for (int dot = 0; dot < 2; dot++) {
    size_t n;
    const char **v;

    if (dot && fqdn[want - 1] == '.')
      break;
    rr_index_key(key, sizeof(key), fqdn, want, type);
    if (dot && strlen(key) + 1 < sizeof(key))
      strcat(key, ".");
    v = sim_store_lookup_sorted(s, DNS_KIND_RRSET, key, prefix, &n);
    for (size_t i = 0; v && i < n && !(best && strcmp(v[i], best) >= 0); i++) {
      c.hit = NULL;
      if (find_cb(&c, v[i], DNS_KIND_RRSET, sim_store_get(s, v[i]))) {
        best = v[i];
        hit = c.hit;
      }
    }
    free(v);
  }
  return hit;
}

/* --- rrset validation --------------------------------------------------- */

static int known_type(const char *t)
{
  for (size_t i = 0; t && dns_types[i]; i++)
    if (strcmp(dns_types[i], t) == 0)
      return 1;
  return 0;
}

/* name is the zone's dnsName or below it. */
static int in_zone(const char *name, const char *dns_name)
{
  size_t n = strlen(name), d = strlen(dns_name);

  if (n == 0 || name[n - 1] != '.')
    return 0;
  if (strcasecmp(name, dns_name) == 0)
    return 1;
  return n > d + 1 && name[n - d - 1] == '.' &&
         strcasecmp(name + n - d, dns_name) == 0;
}

static size_t rrdata_bytes(json_object *rr)
{
  json_object *d = json_object_object_get(rr, "rrdatas");
  size_t total = 0;

  for (size_t i = 0; i < alen(d); i++)
    total += strlen(json_object_get_string(json_object_array_get_idx(d, i)));
  return total;
}

/*
 * Checks one rrset of a change (or of rrsets.create: where is "entity.
 * rrset") and normalises it into a stored object. Returns NULL with resp
 * filled.
 */
static json_object *check_rrset(sim_resp *resp, json_object *rr,
                                const char *where, const char *dns_name)
{
  const char *name = js(rr, "name"), *type = js(rr, "type");
  json_object *datas = json_object_object_get(rr, "rrdatas"), *out, *v;
  size_t n = alen(datas);

  if (name == NULL || !in_zone(name, dns_name))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for '%s.name': '%s'", where,
                          name ? name : ""),
           NULL;
  if (!known_type(type))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for '%s.type': '%s'", where,
                          type ? type : ""),
           NULL;
  if (!json_object_is_type(datas, json_type_array) || n == 0)
    return sim_err_legacy(resp, 400, "required",
                          "Required field '%s.rrdata' not specified", where),
           NULL;
  if (n > DNS_MAX_RRDATAS)
    return sim_err_legacy(resp, 403, "quotaExceeded",
                          "The change would exceed quota for resource "
                          "records per rrset."),
           NULL;
  if (strcmp(type, "CNAME") == 0 && n != 1)
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for '%s.rrdata': a CNAME has "
                          "exactly one record",
                          where),
           NULL;
  for (size_t i = 0; i < n; i++) {
    const char *d = json_object_get_string(json_object_array_get_idx(datas, i));
    struct in_addr a;
    struct in6_addr a6;

    if ((strcmp(type, "A") == 0 && inet_pton(AF_INET, d, &a) != 1) ||
        (strcmp(type, "AAAA") == 0 && inet_pton(AF_INET6, d, &a6) != 1))
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid value for '%s.rrdata[%zu]': '%s'", where,
                            i, d),
             NULL;
  }
  out = json_object_new_object();
  json_object_object_add(out, "kind", json_object_new_string(DNS_KIND_RRSET));
  json_object_object_add(out, "name", json_object_new_string(name));
  json_object_object_add(out, "type", json_object_new_string(type));
  json_object_object_add(
      out, "ttl",
      json_object_new_int(json_object_object_get_ex(rr, "ttl", &v)
                              ? json_object_get_int(v)
                              : 300));
  json_object_object_add(out, "rrdatas", copy(datas));
  if (json_object_object_get_ex(rr, "routingPolicy", &v))
    json_object_object_add(out, "routingPolicy", copy(v));
  return out;
}

static int str_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Same ttl and the same rrdatas in any order. */
static int rrset_equal(json_object *want, json_object *have)
{
  json_object *a = json_object_object_get(want, "rrdatas"),
              *b = json_object_object_get(have, "rrdatas"), *t;
  size_t n = alen(a);
  const char **x, **y;
  int same;

  if (!json_object_object_get_ex(want, "ttl", &t) ||
      json_object_get_int(t) !=
          json_object_get_int(json_object_object_get(have, "ttl")) ||
      n != alen(b))
    return 0;
  x = calloc(n + 1, sizeof(*x));
  y = calloc(n + 1, sizeof(*y));
  same = x && y;
  for (size_t i = 0; same && i < n; i++) {
    x[i] = json_object_get_string(json_object_array_get_idx(a, i));
    y[i] = json_object_get_string(json_object_array_get_idx(b, i));
  }
  if (same) {
    qsort(x, n, sizeof(*x), str_cmp);
    qsort(y, n, sizeof(*y), str_cmp);
    for (size_t i = 0; same && i < n; i++)
      same = strcmp(x[i], y[i]) == 0;
  }
  free(x);
  free(y);
  return same;
}

/* --- changes ------------------------------------------------------------ */

/* The zone as the change will leave it: store, minus deletions, plus
 * additions (normalised). */
typedef struct dns_view {
  sim *s;
  const char *zkey;
  json_object *dels; /* keys deleted -> true */
  json_object *adds; /* key -> rrset */
} dns_view;

static int view_has(dns_view *v, const char *key)
{
  if (json_object_object_get_ex(v->adds, key, NULL))
    return 1;
  if (json_object_object_get_ex(v->dels, key, NULL))
    return 0;
  return sim_store_get(v->s, key) != NULL;
}

struct types_ctx {
  dns_view *v;
  const char *skip_type;
  const char *other; /* first other type found */
  int cname_only;    /* look for a CNAME only */
};

static int types_cb(void *data, const char *key, const char *kind,
                    json_object *obj)
{
  struct types_ctx *c = data;
  const char *t = js(obj, "type");

  if (strcmp(kind, DNS_KIND_RRSET) != 0 || t == NULL ||
      json_object_object_get_ex(c->v->dels, key, NULL) ||
      strcmp(t, c->skip_type) == 0 ||
      (c->cname_only && strcmp(t, "CNAME") != 0))
    return 0;
  c->other = t;
  return 1;
}

/* Another type than `type` at `name` in the view (or a CNAME, when
 * cname_only), or NULL. */
static const char *view_other_type(dns_view *v, const char *name,
                                   const char *type, int cname_only)
{
  char prefix[600];
  struct types_ctx c;

  snprintf(prefix, sizeof(prefix), "%s/rrsets/%s/", v->zkey, name);
  c.v = v;
  c.skip_type = type;
  c.other = NULL;
  c.cname_only = cname_only;
  sim_store_each(v->s, prefix, types_cb, &c);
  if (c.other)
    return c.other;
  json_object_object_foreach(v->adds, k, rr)
  {
    const char *t = js(rr, "type");

    if (strncmp(k, prefix, strlen(prefix)) == 0 && strcmp(t, type) != 0 &&
        (!cname_only || strcmp(t, "CNAME") == 0))
      return t;
  }
  return NULL;
}

static int cname_conflict(sim_resp *resp, const char *name, const char *type,
                          const char *other)
{
  return sim_err_legacy(
      resp, 400, "cnameResourceRecordSetConflict",
      "The resource record set 'entity.change.additions[%s][%s]' is invalid "
      "because the DNS name '%s' has a resource record set of the type '%s'. "
      "A DNS name may have either one CNAME resource record set or resource "
      "record sets of other types, but not both.",
      name, type, name, other);
}

/*
 * Validates the change against the zone; on success returns the
 * normalised {additions, deletions} (deletions as stored), else NULL with
 * resp filled. Nothing is changed here.
 */
static json_object *check_change(sim *s, sim_resp *resp, const char *zkey,
                                 json_object *zone, json_object *body)
{
  json_object *adds = json_object_object_get(body, "additions");
  json_object *dels = json_object_object_get(body, "deletions");
  size_t na = alen(adds), nd = alen(dels);
  const char *dns_name = js(zone, "dnsName");
  json_object *out_adds = json_object_new_array(),
              *out_dels = json_object_new_array(), *out;
  dns_view v;
  size_t bytes = 0;
  char key[700], where[64];

  v.s = s;
  v.zkey = zkey;
  v.dels = json_object_new_object();
  v.adds = json_object_new_object();
  if (na > DNS_MAX_CHANGE) {
    sim_err_legacy(resp, 403, "quotaExceeded",
                   "The change would exceed quota for additions per change.");
    goto fail;
  }
  if (nd > DNS_MAX_CHANGE) {
    sim_err_legacy(resp, 403, "quotaExceeded",
                   "The change would exceed quota for deletions per change.");
    goto fail;
  }
  if (na + nd == 0) {
    sim_err_legacy(resp, 400, "required",
                   "The 'entity.change' resource must have at least one "
                   "addition or deletion.");
    goto fail;
  }
  for (size_t i = 0; i < nd; i++) {
    json_object *d = json_object_array_get_idx(dels, i), *have;
    const char *name = js(d, "name"), *type = js(d, "type");

    rrset_key(key, sizeof(key), zkey, name ? name : "", type ? type : "");
    have = sim_store_get(s, key);
    if (have == NULL || json_object_object_get_ex(v.dels, key, NULL)) {
      sim_err_legacy(resp, 404, "notFound",
                     "The 'entity.change.deletions[%zu]' resource named "
                     "'%s (%s)' does not exist.",
                     i, name ? name : "", type ? type : "");
      goto fail;
    }
    if (!rrset_equal(d, have)) {
      sim_err_legacy(resp, 412, "conditionNotMet",
                     "Precondition not met for 'entity.change.deletions[%zu]'",
                     i);
      goto fail;
    }
    json_object_object_add(v.dels, key, json_object_new_boolean(1));
    json_object_array_add(out_dels, json_object_get(have));
  }
  for (size_t i = 0; i < na; i++) {
    json_object *rr;
    const char *name, *type, *other;

    snprintf(where, sizeof(where), "entity.change.additions[%zu]", i);
    rr = check_rrset(resp, json_object_array_get_idx(adds, i), where, dns_name);
    if (rr == NULL)
      goto fail;
    name = js(rr, "name");
    type = js(rr, "type");
    rrset_key(key, sizeof(key), zkey, name, type);
    if (view_has(&v, key)) {
      sim_err_legacy(resp, 409, "alreadyExists",
                     "The resource 'entity.rrset' named '%s (%s)' already "
                     "exists",
                     name, type);
      json_object_put(rr);
      goto fail;
    }
    other = view_other_type(&v, name, type, strcmp(type, "CNAME") != 0);
    if (other) {
      cname_conflict(resp, name, type, other);
      json_object_put(rr);
      goto fail;
    }
    bytes += rrdata_bytes(rr);
    json_object_object_add(v.adds, key, json_object_get(rr));
    json_object_array_add(out_adds, rr);
  }
  if (bytes > DNS_MAX_RRDATA_BYTES) {
    sim_err_legacy(resp, 403, "quotaExceeded",
                   "The change would exceed quota for rrdata bytes per "
                   "change.");
    goto fail;
  }
  {
    char prefix[600];

    snprintf(prefix, sizeof(prefix), "%s/rrsets/", zkey);
    if (sim_store_count(s, prefix, DNS_KIND_RRSET) + na - nd > DNS_MAX_RRSETS) {
      sim_err_legacy(resp, 403, "quotaExceeded",
                     "The change would exceed quota for rrsets per managed "
                     "zone.");
      goto fail;
    }
  }
  json_object_put(v.dels);
  json_object_put(v.adds);
  out = json_object_new_object();
  json_object_object_add(out, "additions", out_adds);
  json_object_object_add(out, "deletions", out_dels);
  return out;
fail:
  json_object_put(v.dels);
  json_object_put(v.adds);
  json_object_put(out_adds);
  json_object_put(out_dels);
  return NULL;
}

static void put_rrset(sim *s, const char *zkey, json_object *rr)
{
  char key[700];

  rrset_key(key, sizeof(key), zkey, js(rr, "name"), js(rr, "type"));
  sim_store_put(s, key, DNS_KIND_RRSET, copy(rr));
}

static void del_rrset(sim *s, const char *zkey, json_object *rr)
{
  char key[700];

  rrset_key(key, sizeof(key), zkey, js(rr, "name"), js(rr, "type"));
  sim_store_del(s, key);
}

/* Deletions first, so a change may replace an rrset (delete + add). */
static void apply_change(sim *s, const char *zkey, json_object *change,
                         int undo)
{
  json_object *adds = json_object_object_get(change, "additions");
  json_object *dels = json_object_object_get(change, "deletions");

  if (undo) {
    for (size_t i = 0; i < alen(adds); i++)
      del_rrset(s, zkey, json_object_array_get_idx(adds, i));
    for (size_t i = 0; i < alen(dels); i++)
      put_rrset(s, zkey, json_object_array_get_idx(dels, i));
    return;
  }
  for (size_t i = 0; i < alen(dels); i++)
    del_rrset(s, zkey, json_object_array_get_idx(dels, i));
  for (size_t i = 0; i < alen(adds); i++)
    put_rrset(s, zkey, json_object_array_get_idx(adds, i));
}

static int changes_create(sim *s, sim_req *req, sim_resp *resp)
{
  char zkey[300];
  json_object *zone = zone_lookup(s, req, resp, zkey, sizeof(zkey));
  json_object *change, *payload;
  sim_op_spec spec;
  sim_op *op;

  if (zone == NULL || sim_schema_check(resp, sim_schema_dns, "Change",
                                       sim_body(req), "change") < 0)
    return SIM_DONE;
  change = check_change(s, resp, zkey, zone, sim_body(req));
  if (change == NULL)
    return SIM_DONE;
  apply_change(s, zkey, change, 0);
  payload = json_object_new_object();
  json_object_object_add(payload, "zone", json_object_new_string(zkey));
  json_object_object_add(payload, "change", json_object_get(change));
  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_DNS;
  spec.duration = SIM_DUR_QUICK;
  spec.scope = sim_param(req, "managedZone");
  spec.operation_type = "change";
  spec.target_name = zkey;
  spec.payload = payload;
  spec.dns_change = change;
  op = sim_op_start(s, req, &spec);
  return op ? sim_op_respond(s, resp, op) : sim_resp_json(resp, 503, NULL);
}

static void changes_create_apply(sim *s, sim_op *op, json_object *payload)
{
  /* Applied in the handler; an injected failure takes it back. */
  if (sim_op_failed(op))
    apply_change(s, js(payload, "zone"),
                 json_object_object_get(payload, "change"), 1);
}

static int changes_get(sim *s, sim_req *req, sim_resp *resp)
{
  char zkey[300], name[400];
  sim_op *op;

  if (zone_lookup(s, req, resp, zkey, sizeof(zkey)) == NULL)
    return SIM_DONE;
  snprintf(name, sizeof(name), "%s/changes/%s", zkey,
           sim_param(req, "changeId"));
  op = sim_op_find(s, name);
  if (op == NULL)
    return sim_err_legacy(resp, 404, "notFound",
                          "The 'parameters.changeId' resource named '%s' "
                          "does not exist.",
                          sim_param(req, "changeId"));
  return sim_op_respond(s, resp, op);
}

static int changes_list(sim *s, sim_req *req, sim_resp *resp)
{
  char zkey[300], prefix[400];
  json_object *o;

  if (zone_lookup(s, req, resp, zkey, sizeof(zkey)) == NULL)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/changes/", zkey);
  o = json_object_new_object();
  json_object_object_add(o, "kind",
                         json_object_new_string("dns#changesListResponse"));
  json_object_object_add(o, "changes", sim_op_list(s, prefix));
  return sim_resp_json(resp, 200, o);
}

/* --- resourceRecordSets ------------------------------------------------- */

struct rr_list_ctx {
  const char *name, *type;
  json_object *items;
};

static int rr_list_cb(void *data, const char *key, const char *kind,
                      json_object *obj)
{
  struct rr_list_ctx *c = data;

  (void)key;
  if (strcmp(kind, DNS_KIND_RRSET) != 0)
    return 0;
  if (c->name && strcasecmp(js(obj, "name"), c->name) != 0)
    return 0;
  if (c->type && strcmp(js(obj, "type"), c->type) != 0)
    return 0;
  json_object_array_add(c->items, json_object_get(obj));
  return 0;
}

static int rrsets_list(sim *s, sim_req *req, sim_resp *resp)
{
  char zkey[300], prefix[400], tok[32];
  struct rr_list_ctx c;
  json_object *o, *page;
  const char *mr = sim_query(req, "maxResults"),
             *pt = sim_query(req, "pageToken");
  size_t start = pt ? strtoul(pt, NULL, 10) : 0, max, n;

  if (zone_lookup(s, req, resp, zkey, sizeof(zkey)) == NULL)
    return SIM_DONE;
  c.name = sim_query(req, "name");
  c.type = sim_query(req, "type");
  if (c.type && c.name == NULL)
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for 'parameters.type': '%s'. The "
                          "name parameter is required with type.",
                          c.type);
  c.items = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "%s/rrsets/", zkey);
  sim_store_each(s, prefix, rr_list_cb, &c);
  n = alen(c.items);
  max = mr ? strtoul(mr, NULL, 10) : 0;
  if (max == 0 || max > 1000)
    max = 1000;
  page = json_object_new_array();
  for (size_t i = start; i < n && i < start + max; i++)
    json_object_array_add(
        page, json_object_get(json_object_array_get_idx(c.items, i)));
  o = json_object_new_object();
  json_object_object_add(
      o, "kind", json_object_new_string("dns#resourceRecordSetsListResponse"));
  json_object_object_add(o, "rrsets", page);
  if (start + max < n) {
    snprintf(tok, sizeof(tok), "%zu", start + max);
    json_object_object_add(o, "nextPageToken", json_object_new_string(tok));
  }
  json_object_put(c.items);
  return sim_resp_json(resp, 200, o);
}

static int rrsets_create(sim *s, sim_req *req, sim_resp *resp)
{
  char zkey[300];
  json_object *zone = zone_lookup(s, req, resp, zkey, sizeof(zkey));
  json_object *body, *change, *rr;

  if (zone == NULL ||
      sim_schema_check(resp, sim_schema_dns, "ResourceRecordSet", sim_body(req),
                       "resource_record_set") < 0)
    return SIM_DONE;
  /* The same rules as a change with one addition. */
  body = json_object_new_object();
  change = json_object_new_array();
  json_object_array_add(change, sim_body(req) ? json_object_get(sim_body(req))
                                              : json_object_new_object());
  json_object_object_add(body, "additions", change);
  change = check_change(s, resp, zkey, zone, body);
  json_object_put(body);
  if (change == NULL)
    return SIM_DONE;
  apply_change(s, zkey, change, 0);
  rr = json_object_get(json_object_array_get_idx(
      json_object_object_get(change, "additions"), 0));
  json_object_put(change);
  return sim_resp_json(resp, 200, rr);
}

static json_object *rrset_lookup(sim *s, sim_req *req, sim_resp *resp,
                                 char *key, size_t n)
{
  char zkey[300];
  json_object *rr;

  if (zone_lookup(s, req, resp, zkey, sizeof(zkey)) == NULL)
    return NULL;
  rrset_key(key, n, zkey, sim_param(req, "name"), sim_param(req, "type"));
  rr = sim_store_get(s, key);
  if (rr == NULL)
    sim_err_legacy(resp, 404, "notFound",
                   "The 'parameters.name' resource named '%s (%s)' does not "
                   "exist.",
                   sim_param(req, "name"), sim_param(req, "type"));
  return rr;
}

static int rrsets_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[700];
  json_object *rr = rrset_lookup(s, req, resp, key, sizeof(key));

  return rr ? sim_resp_json(resp, 200, json_object_get(rr)) : SIM_DONE;
}

static int rrsets_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[700];
  json_object *rr = rrset_lookup(s, req, resp, key, sizeof(key));

  if (rr == NULL)
    return SIM_DONE;
  if (strcmp(js(rr, "type"), "SOA") == 0)
    return sim_err_legacy(resp, 400, "invalid",
                          "The SOA record of a zone cannot be deleted.");
  sim_store_del(s, key);
  return sim_resp_json(resp, 200, json_object_new_object());
}

static int rrsets_patch(sim *s, sim_req *req, sim_resp *resp)
{
  char key[700], zkey[300];
  json_object *rr = rrset_lookup(s, req, resp, key, sizeof(key));
  json_object *want, *body = sim_body(req), *v, *checked, *zone;

  if (rr == NULL || sim_schema_check(resp, sim_schema_dns, "ResourceRecordSet",
                                     body, "resource_record_set") < 0)
    return SIM_DONE;
  want = copy(rr);
  if (json_object_object_get_ex(body, "ttl", &v))
    json_object_object_add(want, "ttl", copy(v));
  if (json_object_object_get_ex(body, "rrdatas", &v))
    json_object_object_add(want, "rrdatas", copy(v));
  zone_key(s, zkey, sizeof(zkey), sim_param(req, "managedZone"));
  zone = sim_store_get(s, zkey);
  checked = check_rrset(resp, want, "entity.rrset", js(zone, "dnsName"));
  json_object_put(want);
  if (checked == NULL)
    return SIM_DONE;
  sim_store_put(s, key, DNS_KIND_RRSET, json_object_get(checked));
  return sim_resp_json(resp, 200, checked);
}

/* --- managedZones ------------------------------------------------------- */

static json_object *make_zone(sim *s, const char *name, const char *dns_name,
                              const char *description)
{
  json_object *z = json_object_new_object(), *ns = json_object_new_array();
  char id[24], ts[32], buf[64];
  unsigned shard = (unsigned)sim_rand_range(s, 1, 4);

  json_object_object_add(z, "kind", json_object_new_string(DNS_KIND_ZONE));
  json_object_object_add(z, "name", json_object_new_string(name));
  json_object_object_add(z, "dnsName", json_object_new_string(dns_name));
  json_object_object_add(
      z, "description", json_object_new_string(description ? description : ""));
  json_object_object_add(z, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(z, "creationTime",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(z, "visibility", json_object_new_string("public"));
  for (int i = 1; i <= 4; i++) {
    snprintf(buf, sizeof(buf), "ns-cloud-%c%d.googledomains.com.",
             'a' + (int)shard - 1, i);
    json_object_array_add(ns, json_object_new_string(buf));
  }
  json_object_object_add(z, "nameServers", ns);
  return z;
}

static json_object *rrset_obj(const char *name, const char *type, int ttl,
                              json_object *datas)
{
  json_object *rr = json_object_new_object();

  json_object_object_add(rr, "kind", json_object_new_string(DNS_KIND_RRSET));
  json_object_object_add(rr, "name", json_object_new_string(name));
  json_object_object_add(rr, "type", json_object_new_string(type));
  json_object_object_add(rr, "ttl", json_object_new_int(ttl));
  json_object_object_add(rr, "rrdatas", datas);
  return rr;
}

/* Stores the zone with its SOA and NS rrsets. */
static void put_zone(sim *s, const char *key, json_object *z)
{
  json_object *ns = json_object_object_get(z, "nameServers");
  json_object *soa = json_object_new_array();
  char buf[300];

  snprintf(buf, sizeof(buf),
           "%s cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300",
           json_object_get_string(json_object_array_get_idx(ns, 0)));
  json_object_array_add(soa, json_object_new_string(buf));
  soa = rrset_obj(js(z, "dnsName"), "SOA", 21600, soa);
  put_rrset(s, key, soa);
  json_object_put(soa);
  ns = rrset_obj(js(z, "dnsName"), "NS", 21600, copy(ns));
  put_rrset(s, key, ns);
  json_object_put(ns);
  sim_store_put(s, key, DNS_KIND_ZONE, z);
  sim_billing_note(s, key);
}

static int valid_zone_name(const char *n)
{
  size_t len = n ? strlen(n) : 0;

  if (len < 1 || len > 63 || !islower((unsigned char)n[0]) || n[len - 1] == '-')
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!islower((unsigned char)n[i]) && !isdigit((unsigned char)n[i]) &&
        n[i] != '-')
      return 0;
  return 1;
}

static int zones_create(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *z;
  const char *name = js(body, "name"), *dns_name = js(body, "dnsName");
  char key[300];

  if (sim_check_project(s, req, resp) < 0 ||
      sim_schema_check(resp, sim_schema_dns, "ManagedZone", body,
                       "managed_zone") < 0)
    return SIM_DONE;
  if (!valid_zone_name(name))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for 'entity.managedZone.name': '%s'",
                          name ? name : "");
  if (dns_name == NULL || dns_name[0] == '\0' ||
      dns_name[strlen(dns_name) - 1] != '.')
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for 'entity.managedZone.dnsName': "
                          "'%s'",
                          dns_name ? dns_name : "");
  zone_key(s, key, sizeof(key), name);
  if (sim_store_get(s, key))
    return sim_err_legacy(resp, 409, "alreadyExists",
                          "The resource 'entity.managedZone' named '%s' "
                          "already exists",
                          name);
  z = make_zone(s, name, dns_name, js(body, "description"));
  if (json_object_object_get_ex(body, "labels", NULL))
    json_object_object_add(z, "labels",
                           copy(json_object_object_get(body, "labels")));
  put_zone(s, key, json_object_get(z));
  return sim_resp_json(resp, 200, z);
}

static int zones_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *z = zone_lookup(s, req, resp, key, sizeof(key));

  return z ? sim_resp_json(resp, 200, json_object_get(z)) : SIM_DONE;
}

struct zone_list_ctx {
  const char *dns_name;
  json_object *items;
};

static int zone_list_cb(void *data, const char *key, const char *kind,
                        json_object *obj)
{
  struct zone_list_ctx *c = data;

  (void)key;
  if (strcmp(kind, DNS_KIND_ZONE) == 0 &&
      (c->dns_name == NULL || strcasecmp(js(obj, "dnsName"), c->dns_name) == 0))
    json_object_array_add(c->items, json_object_get(obj));
  return 0;
}

static int zones_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  struct zone_list_ctx c;
  json_object *o;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/managedZones/", sim_project(s));
  c.dns_name = sim_query(req, "dnsName");
  c.items = json_object_new_array();
  sim_store_each(s, prefix, zone_list_cb, &c);
  o = json_object_new_object();
  json_object_object_add(
      o, "kind", json_object_new_string("dns#managedZonesListResponse"));
  json_object_object_add(o, "managedZones", c.items);
  return sim_resp_json(resp, 200, o);
}

struct zone_del_ctx {
  const char *apex;
  int busy;
  json_object *keys;
};

static int zone_del_cb(void *data, const char *key, const char *kind,
                       json_object *obj)
{
  struct zone_del_ctx *c = data;
  const char *t = js(obj, "type");

  if (strcmp(kind, DNS_KIND_RRSET) == 0 &&
      !(strcasecmp(js(obj, "name"), c->apex) == 0 &&
        (strcmp(t, "SOA") == 0 || strcmp(t, "NS") == 0)))
    c->busy = 1;
  json_object_array_add(c->keys, json_object_new_string(key));
  return 0;
}

static int zones_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], prefix[320];
  json_object *z = zone_lookup(s, req, resp, key, sizeof(key));
  struct zone_del_ctx c;

  if (z == NULL)
    return SIM_DONE;
  c.apex = js(z, "dnsName");
  c.busy = 0;
  c.keys = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "%s/rrsets/", key);
  sim_store_each(s, prefix, zone_del_cb, &c);
  if (c.busy) {
    json_object_put(c.keys);
    return sim_err_legacy(resp, 400, "containerNotEmpty",
                          "The resource named '%s' cannot be deleted because "
                          "it is not empty",
                          sim_param(req, "managedZone"));
  }
  for (size_t i = 0; i < alen(c.keys); i++)
    sim_store_del(s,
                  json_object_get_string(json_object_array_get_idx(c.keys, i)));
  json_object_put(c.keys);
  sim_store_del(s, key);
  sim_billing_note(s, key);
  return sim_resp_text(resp, 204, "application/json", "");
}

/* --- table, seed -------------------------------------------------------- */

#define DP "/dns/v1/projects/{project}/managedZones"

static const sim_route dns_routes[] = {
    {"POST", DP, "dns.managedZones.create", zones_create, NULL, 0, NULL},
    {"GET", DP, "dns.managedZones.list", zones_list, NULL, 0, NULL},
    {"GET", DP "/{managedZone}", "dns.managedZones.get", zones_get, NULL, 0,
     NULL},
    {"DELETE", DP "/{managedZone}", "dns.managedZones.delete", zones_delete,
     NULL, 0, NULL},
    {"POST", DP "/{managedZone}/changes", "dns.changes.create", changes_create,
     changes_create_apply, 0, NULL},
    {"GET", DP "/{managedZone}/changes", "dns.changes.list", changes_list, NULL,
     0, NULL},
    {"GET", DP "/{managedZone}/changes/{changeId}", "dns.changes.get",
     changes_get, NULL, 0, NULL},
    {"GET", DP "/{managedZone}/rrsets", "dns.resourceRecordSets.list",
     rrsets_list, NULL, 0, NULL},
    {"POST", DP "/{managedZone}/rrsets", "dns.resourceRecordSets.create",
     rrsets_create, NULL, 0, NULL},
    {"GET", DP "/{managedZone}/rrsets/{name}/{type}",
     "dns.resourceRecordSets.get", rrsets_get, NULL, 0, NULL},
    {"PATCH", DP "/{managedZone}/rrsets/{name}/{type}",
     "dns.resourceRecordSets.patch", rrsets_patch, NULL, 0, NULL},
    {"DELETE", DP "/{managedZone}/rrsets/{name}/{type}",
     "dns.resourceRecordSets.delete", rrsets_delete, NULL, 0, NULL},
};

int sim_dns_init(sim *s)
{
  if (sim_store_index(s, DNS_KIND_RRSET, rr_keys) < 0)
    return -1;
  return sim_register(s, SIM_API_DNS, dns_routes,
                      sizeof(dns_routes) / sizeof(*dns_routes));
}

/* The zone for sim_domain(): "edvirons.com." is managed zone
 * "edvirons-com". */
void sim_dns_seed(sim *s)
{
  const char *domain = sim_domain(s);
  char name[64], key[300];
  size_t n = 0;

  for (const char *p = domain; *p && n < sizeof(name) - 1; p++) {
    if (*p == '.' && p[1] == '\0')
      break;
    name[n++] = *p == '.' ? '-' : (char)tolower((unsigned char)*p);
  }
  name[n] = '\0';
  zone_key(s, key, sizeof(key), name);
  put_zone(s, key, make_zone(s, name, domain, "edv-gcpsim seeded zone"));
}
