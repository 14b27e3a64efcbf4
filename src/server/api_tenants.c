/*
 * api_tenants.c - the tenant routes of the Management API:
 *
 *   GET    /api/tenants               list (tier, state, limit, page_token)
 *   POST   /api/tenants               create (202 + Location; idempotent)
 *   GET    /api/tenants/{id}          spec, phase, steps, resources, error
 *   PUT    /api/tenants/{id}          display name, or the tier (scaling)
 *   POST   /api/tenants/{id}/scale    scale to another tier (202)
 *   DELETE /api/tenants/{id}          deprovision (202)
 *   GET    /api/tenants/{id}/events   the journal (after, limit)
 *
 * Creating validates everything before anything is recorded: the body's
 * fields one by one (so a 400 names its field), the tier, the hostnames,
 * then the region through the Compute API (asynchronously: the request
 * waits suspended while the loop goes on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "server/api.h"
#include "server/viewcache.h"
#include "tenant/dnscheck.h"
#include "tenant/observe.h"
#include "tenant/spec.h"

#define MOD "api"

/* ---- representation
 * ---------------------------------------------------------*/

static json_object *jstr_or_null(const char *s)
{
  return s && *s ? json_object_new_string(s) : NULL;
}

static json_object *tenant_obj(edvd *d, const edv__tenant_rec *rec)
{
  json_object *o = json_object_new_object();
  json_object *spec = json_tokener_parse(rec->spec_json);
  edvd_run *r = edvd_find_run(d, rec->id);
  const char *domain = edv__fleet_domain(d->fleet);
  const edv__tier *t = edv__tiers_find(d->tiers, rec->tier);
  edv__tier_cost cost;
  char ts[40], url[400];
  json_object *v;

  json_object_object_add(o, "id", json_object_new_string(rec->id));
  json_object_object_add(o, "slug", json_object_new_string(rec->slug));
  json_object_object_add(
      o, "display_name",
      json_object_new_string(
          spec && json_object_object_get_ex(spec, "display_name", &v)
              ? json_object_get_string(v)
              : ""));
  json_object_object_add(o, "tier", json_object_new_string(rec->tier));
  json_object_object_add(
      o, "region",
      json_object_new_string(
          spec && json_object_object_get_ex(spec, "region", &v)
              ? json_object_get_string(v)
              : ""));
  json_object_object_add(
      o, "ops_ssh",
      json_object_new_boolean(spec &&
                              json_object_object_get_ex(spec, "ops_ssh", &v) &&
                              json_object_get_boolean(v)));
  json_object_put(spec);
  json_object_object_add(o, "phase",
                         json_object_new_string(edv__phase_name(rec->phase)));
  json_object_object_add(o, "generation",
                         json_object_new_int64((int64_t)rec->generation));
  snprintf(url, sizeof(url), "https://%s.%s", rec->id, domain);
  json_object_object_add(o, "url", json_object_new_string(url));
  json_object_object_add(o, "last_error", jstr_or_null(rec->last_error));
  api_time(rec->created_ms, ts, sizeof(ts));
  json_object_object_add(o, "created", json_object_new_string(ts));
  api_time(rec->updated_ms, ts, sizeof(ts));
  json_object_object_add(o, "updated", json_object_new_string(ts));
  if (r) {
    json_object *x = json_object_new_object();
    json_object_object_add(
        x, "direction",
        json_object_new_string(r->dir == EDV_DIR_UP ? "up" : "down"));
    json_object_object_add(o, "run", x);
  } else {
    json_object_object_add(o, "run", NULL);
  }
  if (t && edv__tier_cost_estimate(d->tiers, t, 0, &cost, NULL) == 0)
    json_object_object_add(o, "monthly_cost_estimate_usd",
                           json_object_new_double(cost.total));
  return o;
}

static int step_one(void *data, const edv__step_rec *r)
{
  json_object *arr = data, *o = json_object_new_object();
  char ts[40];

  json_object_object_add(o, "name", json_object_new_string(r->step));
  json_object_object_add(
      o, "state", json_object_new_string(edv__step_state_name(r->state)));
  json_object_object_add(o, "attempt", json_object_new_int((int)r->attempt));
  json_object_object_add(o, "request_id", jstr_or_null(r->request_id));
  json_object_object_add(o, "operation", jstr_or_null(r->op_name));
  json_object_object_add(o, "resource", jstr_or_null(r->resource));
  json_object_object_add(o, "error", jstr_or_null(r->error));
  if (r->started_ms) {
    api_time(r->started_ms, ts, sizeof(ts));
    json_object_object_add(o, "started", json_object_new_string(ts));
  } else {
    json_object_object_add(o, "started", NULL);
  }
  if (r->finished_ms) {
    api_time(r->finished_ms, ts, sizeof(ts));
    json_object_object_add(o, "finished", json_object_new_string(ts));
  } else {
    json_object_object_add(o, "finished", NULL);
  }
  json_object_array_add(arr, o);
  return 0;
}

/* The names of the tenant's resources: pure functions of its id. */
static json_object *resources_obj(edvd *d, const edv__tenant_rec *rec)
{
  json_object *o = json_object_new_object(), *fw = json_object_new_array();
  char n[EDV_FQDN_MAX];
  edv_cidr cidr;
  char cb[EDV_CIDR_STRLEN + 1];

#define ADD(key, fn)                                                           \
  do {                                                                         \
    if (fn == 0)                                                               \
      json_object_object_add(o, key, json_object_new_string(n));               \
  } while (0)
  ADD("subnetwork", edv__name_subnet(rec->id, n, sizeof(n)));
  if (edv__store_subnet_get(d->store, rec->id, &cidr, NULL) == 0)
    json_object_object_add(
        o, "subnet_range",
        json_object_new_string(edv__cidr_format(&cidr, cb, sizeof(cb))));
  if (edv__name_firewall(rec->id, EDV_FIREWALL_ALLOW_LB, n, sizeof(n)) == 0)
    json_object_array_add(fw, json_object_new_string(n));
  if (edv__name_firewall(rec->id, EDV_FIREWALL_DENY_INGRESS, n, sizeof(n)) == 0)
    json_object_array_add(fw, json_object_new_string(n));
  json_object_object_add(o, "firewalls", fw);
  ADD("vm", edv__name_vm(rec->id, n, sizeof(n)));
  ADD("disk", edv__name_disk(rec->id, n, sizeof(n)));
  ADD("sql_instance",
      edv__name_sql_instance(rec->id, rec->generation, n, sizeof(n)));
  ADD("service_account",
      edv__name_service_account_email(rec->id, edv__fleet_project(d->fleet), n,
                                      sizeof(n)));
  ADD("secret", edv__name_secret(rec->id, n, sizeof(n)));
  ADD("instance_group", edv__name_instance_group(rec->id, n, sizeof(n)));
  ADD("backend_service", edv__name_backend_service(rec->id, n, sizeof(n)));
  ADD("certificate", edv__name_certificate(rec->id, n, sizeof(n)));
  ADD("snapshot_policy", edv__name_snapshot_policy(rec->id, n, sizeof(n)));
#undef ADD
  return o;
}

/* Reads a tenant for a route: answers 404 and returns -1 when there is
 * none (or the id is the platform's). */
static int get_rec(api_ctx *c, const char *id, edv__tenant_rec *rec)
{
  edv_error err;

  if (edv__spec_check_id(id, NULL) != 0 ||
      edv__store_tenant_get(c->d->store, id, rec, &err) != 0) {
    api_error(c, 404, NULL, NULL, "tenant '%s' not found", id);
    return -1;
  }
  return 0;
}

/* ---- GET /api/tenants
 * --------------------------------------------------------*/

typedef struct list_ctx {
  json_object *arr;
  edvd *d;
  unsigned want, got;
  int include_deleted;
  int more;
  char last[EDV_STORE_ID_SZ];
} list_ctx;

static int list_one(void *data, const edv__tenant_rec *rec)
{
  list_ctx *l = data;

  if (rec->id[0] == '@')
    return 0;
  if (rec->phase == EDV_PHASE_DELETED && !l->include_deleted)
    return 0;
  if (l->got == l->want) {
    l->more = 1;
    return 1;
  }
  json_object_array_add(l->arr, tenant_obj(l->d, rec));
  l->got++;
  snprintf(l->last, sizeof(l->last), "%s", rec->id);
  return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
  char *end;
  unsigned long v;

  if (!s || !*s || *s == '-' || *s == '+')
    return -1;
  v = strtoul(s, &end, 10);
  if (*end || v > max)
    return -1;
  *out = v;
  return 0;
}

void api_tenants_list(api_ctx *c, const char *id)
{
  static const char *const allowed[] = {"tier", "state", "limit", "page_token",
                                        NULL};
  edvd *d = c->d;
  const char *tier = edv__http_query(c->req, "tier");
  const char *state = edv__http_query(c->req, "state");
  const char *lim = edv__http_query(c->req, "limit");
  const char *tok = edv__http_query(c->req, "page_token");
  edv__tenant_filter f;
  list_ctx l;
  unsigned long limit = 100;
  char next[EDV_STORE_ID_SZ] = "", after[EDV_STORE_ID_SZ] = "";
  edv_error err;
  json_object *o;
  int phase = -1;

  (void)id;
  if (api_query_only(c, allowed))
    return;
  if (tier && !edv__tiers_find(d->tiers, tier)) {
    api_error(c, 400, NULL, "tier", "tier: '%.64s' is not a tier", tier);
    return;
  }
  if (state) {
    char up[32];
    size_t i;
    for (i = 0; state[i] && i + 1 < sizeof(up); i++)
      up[i] =
          (char)(state[i] >= 'a' && state[i] <= 'z' ? state[i] - 32 : state[i]);
    up[i] = '\0';
    phase = state[i] ? -1 : edv__phase_parse(up);
    if (phase < 0) {
      api_error(c, 400, NULL, "state",
                "state: '%.32s' is not a phase (PENDING, PROVISIONING, "
                "READY, UPDATING, DEPROVISIONING, DELETED, FAILED)",
                state);
      return;
    }
  }
  if (lim && (parse_uint(lim, 1000, &limit) || limit == 0)) {
    api_error(c, 400, NULL, "limit", "limit: must be an integer 1..1000");
    return;
  }
  if (tok && *tok && edv__spec_check_id(tok, NULL) != 0) {
    api_error(c, 400, NULL, "page_token",
              "page_token: not a token this "
              "server gave");
    return;
  }
  snprintf(after, sizeof(after), "%s", tok ? tok : "");
  memset(&l, 0, sizeof(l));
  l.arr = json_object_new_array();
  l.d = d;
  l.want = (unsigned)limit;
  l.include_deleted = phase == EDV_PHASE_DELETED;
  memset(&f, 0, sizeof(f));
  f.tier = tier;
  f.phase = phase;
  f.limit = 1000;
  /* Rows the API hides (the platform, deleted tenants) do not count
   * towards the page: keep reading until it is full or the rows end. */
  do {
    f.after = after;
    next[0] = '\0';
    if (edv__store_tenant_list(d->store, &f, list_one, &l, next, sizeof(next),
                               &err)) {
      json_object_put(l.arr);
      api_error_edv(c, &err, NULL);
      return;
    }
    snprintf(after, sizeof(after), "%s", next);
  } while (!l.more && next[0]);
  o = json_object_new_object();
  json_object_object_add(o, "tenants", l.arr);
  json_object_object_add(o, "next_page_token",
                         l.more ? json_object_new_string(l.last) : NULL);
  api_send(c, 200, o);
}

/* ---- POST /api/tenants
 * -----------------------------------------------------------*/

static const char *const spec_fields[] = {"id",   "slug",   "display_name",
                                          "tier", "region", NULL};

/* Validates the body field by field, so that a 400 names its field.
 * `partial`: fields may be missing (PUT). Answers and returns -1. */
static int check_fields(api_ctx *c, json_object *body, int partial)
{
  edvd *d = c->d;
  edv_error err;

  json_object_object_foreach(body, key, val)
  {
    int known = 0;
    for (size_t i = 0; spec_fields[i]; i++)
      if (strcmp(key, spec_fields[i]) == 0)
        known = 1;
    if (strcmp(key, "ops_ssh") == 0) {
      if (!json_object_is_type(val, json_type_boolean)) {
        api_error(c, 400, NULL, key, "field 'ops_ssh' must be true or false");
        return -1;
      }
      known = 1;
    }
    if (!known) {
      api_error(c, 400, NULL, key,
                "field '%.64s' is not known (allowed: "
                "id, slug, display_name, tier, region, ops_ssh)",
                key);
      return -1;
    }
  }
  for (size_t i = 0; spec_fields[i]; i++) {
    const char *k = spec_fields[i], *s;
    json_object *v;
    int result = 0;
    if (!json_object_object_get_ex(body, k, &v)) {
      if (partial)
        continue;
      api_error(c, 400, NULL, k, "field '%s' is missing", k);
      return -1;
    }
    if (!json_object_is_type(v, json_type_string)) {
      api_error(c, 400, NULL, k, "field '%s' must be a string", k);
      return -1;
    }
    s = json_object_get_string(v);
    if (strcmp(k, "id") == 0)
      result = edv__spec_check_id(s, &err);
    else if (strcmp(k, "slug") == 0)
      result = edv__spec_check_slug(s, &err);
    else if (strcmp(k, "display_name") == 0)
      result = edv__spec_check_display_name(s, &err);
    else if (strcmp(k, "region") == 0)
      result = edv__spec_check_region(s, &err);
    else if (!edv__tiers_find(d->tiers, s))
      result = edv_error_set(&err, EDV_EINVAL,
                             "field 'tier': '%.64s' is not a tier", s);
    if (result) {
      api_error(c, 400, NULL, k, "%s", err.message);
      return -1;
    }
  }
  return 0;
}

/* Hex SHA-256 of what makes two creates the same request. */
static void request_hash(const edv__tenant_spec *spec, char *out)
{
  json_object *js = edv__spec_to_json(spec);
  const char *s =
      js ? json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN) : "";
  unsigned char h[32];
  unsigned len = 0;
  static const char hex[] = "0123456789abcdef";

  {
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_DigestInit_ex(m, EVP_sha256(), NULL);
    EVP_DigestUpdate(m, "POST /api/tenants\n", 18);
    EVP_DigestUpdate(m, s, strlen(s));
    EVP_DigestFinal_ex(m, h, &len);
    EVP_MD_CTX_free(m);
  }
  json_object_put(js);
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[h[i] >> 4];
    out[2 * i + 1] = hex[h[i] & 15];
  }
  out[64] = '\0';
}

/* After the region is known good: key, record, drive, answer. */
static void create_commit(api_ctx *c)
{
  edvd *d = c->d;
  edv_error err;
  edv__tenant_rec rec;
  char hash[65], loc[128];

  if (c->idem_key[0]) {
    char prev[EDV_STORE_ID_SZ] = "";
    request_hash(&c->spec, hash);
    int result = edv__store_idem_check(d->store, c->idem_key, hash, c->spec.id,
                                       prev, sizeof(prev), &err);
    if (result == EDV_ECONFLICT) {
      api_error(c, 409, "ABORTED", "Idempotency-Key",
                "Idempotency-Key '%.64s' was used with a different request",
                c->idem_key);
      return;
    }
    /* EEXIST: a replay of the same request. It is answered by doing the
     * (idempotent) work again, so it gets the same answer. */
    if (result && result != EDV_EEXIST) {
      api_error_edv(c, &err, NULL);
      return;
    }
  }
  if (edv__store_tenant_get(d->store, c->spec.id, &rec, NULL) == 0 &&
      rec.phase == EDV_PHASE_DEPROVISIONING) {
    api_error(c, 409, "FAILED_PRECONDITION", "id",
              "tenant '%s' is being deprovisioned; create it again once it "
              "is DELETED",
              c->spec.id);
    return;
  }
  if (edv__fleet_register(d->fleet, &c->spec, &err)) {
    char fb[32];
    const char *field = api_field_of(err.message, fb, sizeof(fb));
    if (err.code == EDV_EEXIST)
      field = "id";
    else if (err.code == EDV_ECONFLICT && !field)
      field = "slug";
    api_error_edv(c, &err, field);
    return;
  }
  if (edv__store_tenant_get(d->store, c->spec.id, &rec, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  if (rec.phase != EDV_PHASE_READY && !edvd_find_run(d, rec.id)) {
    edv__tenant_rec prec;
    if (edv__store_tenant_get(d->store, EDV_PLATFORM_ID, &prec, NULL) != 0 ||
        prec.phase != EDV_PHASE_READY) {
      EDV_LOG_I(MOD, "tenant=%s recorded; waits for the platform", rec.id);
    } else if (edvd_drive(d, rec.id, EDV_DIR_UP, &err)) {
      /* Recorded: the next pass (or whoever holds the lease) drives it. */
      EDV_LOG_W(MOD, "tenant=%s: not started now: %s", rec.id, err.message);
    }
    edv__store_tenant_get(d->store, rec.id, &rec, NULL);
  }
  snprintf(loc, sizeof(loc), "/api/tenants/%s", rec.id);
  edv__http_add_header(c->req, "Location", loc);
  api_send(c, 202, tenant_obj(d, &rec));
}

/* The hostname check's answer (tenant/dnscheck.h): a name that holds
 * someone else's record is 409 naming the field and the record. */
static void on_hosts(void *data, const edv_error *err)
{
  api_ctx *c = data;
  char fb[32];

  if (!api_resume(c))
    return;
  if (err && err->code == EDV_ENOTOWNED) {
    api_error(c, 409, "ALREADY_EXISTS",
              api_field_of(err->message, fb, sizeof(fb)), "%s", err->message);
    return;
  }
  if (err) {
    api_error(c, 503, NULL, NULL, "cannot check the tenant's DNS names: %s",
              err->message);
    return;
  }
  create_commit(c);
}

/* After the region is known good: the hostnames, then create_commit. */
static void create_hosts(api_ctx *c)
{
  edv_error err;
  char fb[32];

  if (edv__fleet_check_hosts(c->d->fleet, &c->spec, on_hosts, c, &err)) {
    api_error(c, err.code == EDV_EINVAL ? 400 : 503, NULL,
              api_field_of(err.message, fb, sizeof(fb)), "%s", err.message);
    return;
  }
  api_suspend(c, 30000); /* the callback never runs before this */
}

static int region_known(edvd *d, const char *region)
{
  for (unsigned i = 0; i < d->nregions; i++)
    if (strcmp(d->regions[i], region) == 0)
      return 1;
  return 0;
}

static void on_region(void *data, const edv_response *res)
{
  api_ctx *c = data;
  edvd *d = c->d;

  c->call = NULL;
  if (!c->req) { /* the client went away, or we are closing */
    api_ctx_free(c);
    return;
  }
  if (res->error && res->error->code == EDV_ENOTFOUND) {
    api_error(c, 400, NULL, "region",
              "field 'region': '%s' is not a region of project '%s'",
              c->spec.region, edv__fleet_project(d->fleet));
    return;
  }
  if (res->error) {
    api_error(c, 503, NULL, NULL, "cannot check region '%s': %s",
              c->spec.region, res->error->message);
    return;
  }
  if (d->nregions < sizeof(d->regions) / sizeof(d->regions[0]))
    snprintf(d->regions[d->nregions++], sizeof(d->regions[0]), "%s",
             c->spec.region);
  create_hosts(c);
}

static void create_end(void *data, edv_http_req *req, edv_httpd_end why)
{
  api_ctx *c = data;

  (void)req;
  (void)why;
  c->req = NULL;
  if (c->call)
    edv_call_cancel(c->call); /* on_region runs now and frees c */
}

void api_tenants_create(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  json_object *body;
  edv_error err;
  const char *key = edv__http_header(c->req, "Idempotency-Key");
  edv_request rq;
  char path[300];

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (key) {
    size_t n = strlen(key);
    int ok = n > 0 && n < EDV_STORE_IDEMKEY_SZ;
    for (size_t i = 0; ok && i < n; i++)
      if (key[i] < 0x21 || key[i] > 0x7e)
        ok = 0;
    if (!ok) {
      api_error(c, 400, NULL, "Idempotency-Key",
                "Idempotency-Key: 1..%d printable ASCII characters",
                EDV_STORE_IDEMKEY_SZ - 1);
      return;
    }
    snprintf(c->idem_key, sizeof(c->idem_key), "%s", key);
  }
  body = api_body_object(c);
  if (!body)
    return;
  if (check_fields(c, body, 0)) {
    json_object_put(body);
    return;
  }
  if (edv__spec_from_json(body, &c->spec, &err) ||
      edv__spec_validate(&c->spec, d->tiers, NULL, NULL,
                         edv__fleet_domain(d->fleet), &err)) {
    char fb[32];
    json_object_put(body);
    api_error(c, 400, NULL, api_field_of(err.message, fb, sizeof(fb)), "%s",
              err.message);
    return;
  }
  json_object_put(body);
  snprintf(c->tenant, sizeof(c->tenant), "%s", c->spec.id);
  if (region_known(d, c->spec.region)) {
    create_hosts(c);
    return;
  }
  snprintf(path, sizeof(path), "/compute/v1/projects/%s/regions/%s",
           edv__fleet_project(d->fleet), c->spec.region);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_COMPUTE;
  rq.method = "GET";
  rq.path = path;
  rq.label = "compute.regions.get";
  rq.timeout_ms = 20000;
  if (edv_call_submit(d->engine, &rq, on_region, c, &c->call)) {
    api_error(c, 503, NULL, NULL, "cannot check the region now");
    return;
  }
  edv__http_on_end(c->req, 30000, create_end, c);
}

/* ---- GET /api/tenants/{id}
 * ---------------------------------------------------------*/

/* GET ?observe=true: the answer waits for tenant/observe.h's three GETs.
 * The request may go away meanwhile (client gone, deadline); the observe
 * callback always comes and frees what is left. */
typedef struct get_observe {
  api_ctx *c;
  json_object *o;
} get_observe;

static void get_observed(void *data, json_object *resources)
{
  get_observe *g = data;
  api_ctx *c = g->c;
  char key[EDV_STORE_ID_SZ + 16];

  snprintf(key, sizeof(key), "observe/%s",
           json_object_get_string(json_object_object_get(g->o, "id")));
  edvd_view_put(c->d, key, resources, EDVD_VIEW_TTL_MS);
  json_object_object_add(g->o, "observed", resources);
  if (api_resume(c))
    api_send(c, 200, g->o);
  else
    json_object_put(g->o);
  free(g);
}

void api_tenant_get(api_ctx *c, const char *id)
{
  edv__tenant_rec rec;
  json_object *o, *steps;
  const char *ob;
  get_observe *g;

  if (api_query_only(c, (const char *const[]){"observe", NULL}) ||
      get_rec(c, id, &rec))
    return;
  ob = edv__http_query(c->req, "observe");
  if (ob && strcmp(ob, "true") != 0 && strcmp(ob, "false") != 0) {
    api_error(c, 400, NULL, "observe",
              "query parameter 'observe' must be true or false");
    return;
  }
  o = tenant_obj(c->d, &rec);
  steps = json_object_new_array();
  edv__store_step_list(c->d->store, rec.id, step_one, steps, NULL);
  json_object_object_add(o, "steps", steps);
  json_object_object_add(o, "resources", resources_obj(c->d, &rec));
  if (!ob || strcmp(ob, "true") != 0) {
    api_send(c, 200, o);
    return;
  }
  {
    char key[EDV_STORE_ID_SZ + 16];
    json_object *seen;

    snprintf(key, sizeof(key), "observe/%s", rec.id);
    if ((seen = edvd_view_get(c->d, key)) != NULL) {
      json_object_object_add(o, "observed", seen);
      api_send(c, 200, o);
      return;
    }
  }
  g = calloc(1, sizeof(*g));
  if (!g) {
    json_object_put(o);
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  g->c = c;
  g->o = o;
  if (edv__observe(c->d->engine, c->d->store, &rec, 15000, get_observed, g)) {
    free(g);
    json_object_put(o);
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  api_suspend(c, 20000); /* the callback never runs before this */
}

/* ---- scaling
 * ----------------------------------------------------------------*/

/*
 * Scales a tenant to another tier (PUT with a new tier, POST .../scale):
 * records the tier (tenant row, spec, "scale" journal line; the call is in
 * the audit log like every write) and drives the tenant up, so its steps
 * bring the VM (stop, setMachineType, start), the boot disk (resize) and
 * Cloud SQL (tier, storage: instances.patch) to the new tier. Disks never
 * shrink on Google Cloud: a downgrade keeps the larger boot disk and SQL
 * storage, and the answer's notes (and the journal) say so. Only a READY or
 * FAILED tenant nobody is driving can scale.
 */
static void tenant_scale(api_ctx *c, edv__tenant_rec *rec,
                         edv__tenant_spec *cur, const char *tier)
{
  edvd *d = c->d;
  const edv__tier *from = edv__tiers_find(d->tiers, cur->tier);
  const edv__tier *to = edv__tiers_find(d->tiers, tier);
  json_object *js, *o, *notes;
  edv__journal_rec j;
  edv_error err;
  char loc[128], note[2][200], old[EDV_TIER_NAME_MAX + 1];
  int nnotes = 0;

  if (!to) {
    api_error(c, 400, NULL, "tier", "field 'tier': '%.64s' is not a tier",
              tier);
    return;
  }
  if (rec->phase != EDV_PHASE_READY && rec->phase != EDV_PHASE_FAILED) {
    api_error(c, 409, "FAILED_PRECONDITION", "tier",
              "tenant '%s' is %s; only a READY or FAILED tenant can scale",
              rec->id, edv__phase_name(rec->phase));
    return;
  }
  /* A run keeps its own copy of the record (and of the tier): wait for it
   * to end. */
  if (edvd_find_run(d, rec->id)) {
    api_error(c, 409, "ABORTED", NULL,
              "tenant '%s' is being driven now; retry once its run ends",
              rec->id);
    return;
  }
  if (from && to->disk_gb < from->disk_gb)
    snprintf(note[nnotes++], sizeof(note[0]),
             "the boot disk stays %d GB (tier %s has %d GB): a disk "
             "cannot shrink",
             from->disk_gb, to->name, to->disk_gb);
  if (from && to->sql.data_disk_gb < from->sql.data_disk_gb)
    snprintf(note[nnotes++], sizeof(note[0]),
             "Cloud SQL storage stays %d GB (tier %s has %d GB): it cannot "
             "shrink",
             from->sql.data_disk_gb, to->name, to->sql.data_disk_gb);
  snprintf(old, sizeof(old), "%s", cur->tier);
  snprintf(cur->tier, sizeof(cur->tier), "%s", to->name);
  snprintf(rec->tier, sizeof(rec->tier), "%s", to->name);
  js = edv__spec_to_json(cur);
  if (!js) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  snprintf(rec->spec_json, sizeof(rec->spec_json), "%s",
           json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
  json_object_put(js);
  if (edv__store_tenant_put(d->store, rec, EDV_PUT_UPDATE, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", rec->id);
  snprintf(j.actor, sizeof(j.actor), "edvd:%s", c->who);
  snprintf(j.event, sizeof(j.event), "scale");
  snprintf(j.api_call, sizeof(j.api_call), "%s -> %s", old, to->name);
  if (nnotes)
    snprintf(j.operation, sizeof(j.operation), "%s%s%s", note[0],
             nnotes > 1 ? "; " : "", nnotes > 1 ? note[1] : "");
  edvd_journal(d, &j);
  EDV_LOG_I(MOD, "tenant=%s: scaling %s -> %s", rec->id, old, to->name);
  if (edvd_drive(d, rec->id, EDV_DIR_UP, &err))
    /* Recorded: the next pass (or whoever holds the lease) drives it. */
    EDV_LOG_W(MOD, "tenant=%s: not driven now: %s", rec->id, err.message);
  edv__store_tenant_get(d->store, rec->id, rec, NULL);
  snprintf(loc, sizeof(loc), "/api/tenants/%s", rec->id);
  edv__http_add_header(c->req, "Location", loc);
  o = json_object_new_object();
  json_object_object_add(o, "tenant", tenant_obj(d, rec));
  json_object_object_add(o, "from_tier", json_object_new_string(old));
  json_object_object_add(o, "to_tier", json_object_new_string(to->name));
  notes = json_object_new_array();
  for (int i = 0; i < nnotes; i++)
    json_object_array_add(notes, json_object_new_string(note[i]));
  json_object_object_add(o, "notes", notes);
  api_send(c, 202, o);
}

/* ---- POST /api/tenants/{id}/scale
 * ---------------------------------------------------*/

void api_tenant_scale(api_ctx *c, const char *id)
{
  edv__tenant_rec rec;
  edv__tenant_spec cur;
  json_object *body, *cj, *v;
  edv_error err;
  char tier[EDV_TIER_NAME_MAX + 1];

  if (api_query_only(c, (const char *const[]){NULL}) || get_rec(c, id, &rec))
    return;
  body = api_body_object(c);
  if (!body)
    return;
  json_object_object_foreach(body, key, val)
  {
    (void)val;
    if (strcmp(key, "tier") != 0) {
      char f[72];
      snprintf(f, sizeof(f), "%.64s", key);
      json_object_put(body);
      api_error(c, 400, NULL, f, "field '%s' is not known (known: tier)", f);
      return;
    }
  }
  if (!json_object_object_get_ex(body, "tier", &v) ||
      !json_object_is_type(v, json_type_string)) {
    json_object_put(body);
    api_error(c, 400, NULL, "tier", "field 'tier' is required (a string)");
    return;
  }
  snprintf(tier, sizeof(tier), "%.*s", (int)sizeof(tier) - 1,
           json_object_get_string(v));
  if (strlen(json_object_get_string(v)) >= sizeof(tier) ||
      !edv__tiers_find(c->d->tiers, tier)) {
    api_error(c, 400, NULL, "tier", "field 'tier': '%.64s' is not a tier",
              json_object_get_string(v));
    json_object_put(body);
    return;
  }
  json_object_put(body);
  cj = json_tokener_parse(rec.spec_json);
  if (!cj || edv__spec_from_json(cj, &cur, &err)) {
    json_object_put(cj);
    api_error(c, 500, NULL, NULL, "tenant '%s': stored spec unreadable", id);
    return;
  }
  json_object_put(cj);
  if (strcmp(tier, cur.tier) == 0) {
    api_error(c, 409, "FAILED_PRECONDITION", "tier",
              "field 'tier': tenant '%s' is already on tier %s", rec.id,
              cur.tier);
    return;
  }
  tenant_scale(c, &rec, &cur, tier);
}

/* ---- PUT /api/tenants/{id}
 * ----------------------------------------------------------*/

void api_tenant_put(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  edv__tenant_rec rec;
  edv__tenant_spec cur;
  json_object *body, *cj, *v;
  edv_error err;
  int changed = 0;

  if (api_query_only(c, (const char *const[]){NULL}) || get_rec(c, id, &rec))
    return;
  body = api_body_object(c);
  if (!body)
    return;
  if (check_fields(c, body, 1)) {
    json_object_put(body);
    return;
  }
  cj = json_tokener_parse(rec.spec_json);
  if (!cj || edv__spec_from_json(cj, &cur, &err)) {
    json_object_put(cj);
    json_object_put(body);
    api_error(c, 500, NULL, NULL, "tenant '%s': stored spec unreadable", id);
    return;
  }
  json_object_put(cj);
  {
    const char *f_id = NULL, *f_tier = NULL, *f_slug = NULL, *f_region = NULL;
    const char *f_name = NULL;
    if (json_object_object_get_ex(body, "id", &v))
      f_id = json_object_get_string(v);
    if (json_object_object_get_ex(body, "tier", &v))
      f_tier = json_object_get_string(v);
    if (json_object_object_get_ex(body, "slug", &v))
      f_slug = json_object_get_string(v);
    if (json_object_object_get_ex(body, "region", &v))
      f_region = json_object_get_string(v);
    if (json_object_object_get_ex(body, "display_name", &v))
      f_name = json_object_get_string(v);
    if (f_id && strcmp(f_id, rec.id) != 0) {
      json_object_put(body);
      api_error(c, 400, NULL, "id", "field 'id' does not match the path");
      return;
    }
    if (f_tier && strcmp(f_tier, cur.tier) != 0) {
      /* A tier change is tenant scaling; the other fields must be
       * unchanged (one change at a time). */
      char tier[EDV_TIER_NAME_MAX + 1];
      if ((f_slug && strcmp(f_slug, cur.slug) != 0) ||
          (f_region && strcmp(f_region, cur.region) != 0) ||
          (f_name && strcmp(f_name, cur.display_name) != 0) ||
          (json_object_object_get_ex(body, "ops_ssh", &v) &&
           !json_object_get_boolean(v) != !cur.ops_ssh)) {
        json_object_put(body);
        api_error(c, 400, NULL, "tier",
                  "field 'tier': a tier change cannot come with other "
                  "changes; send them separately");
        return;
      }
      snprintf(tier, sizeof(tier), "%s", f_tier);
      json_object_put(body);
      tenant_scale(c, &rec, &cur, tier);
      return;
    }
    if (f_slug && strcmp(f_slug, cur.slug) != 0) {
      json_object_put(body);
      api_error(c, 409, "FAILED_PRECONDITION", "slug",
                "field 'slug' cannot change (it names DNS records and "
                "certificates); create a new tenant instead");
      return;
    }
    if (f_region && strcmp(f_region, cur.region) != 0) {
      json_object_put(body);
      api_error(c, 409, "FAILED_PRECONDITION", "region",
                "field 'region' cannot change (a region move is a "
                "migration)");
      return;
    }
    if (f_name && strcmp(f_name, cur.display_name) != 0) {
      snprintf(cur.display_name, sizeof(cur.display_name), "%s", f_name);
      changed = 1;
    }
    /* Operations SSH through IAP: the run adds or removes the rule. */
    if (json_object_object_get_ex(body, "ops_ssh", &v) &&
        !json_object_get_boolean(v) != !cur.ops_ssh) {
      cur.ops_ssh = json_object_get_boolean(v);
      changed |= 2;
    }
  }
  json_object_put(body);
  if (changed) {
    json_object *js;
    edv__journal_rec j;
    if (rec.phase == EDV_PHASE_DELETED ||
        rec.phase == EDV_PHASE_DEPROVISIONING) {
      api_error(c, 409, "FAILED_PRECONDITION", NULL, "tenant '%s' is %s",
                rec.id, edv__phase_name(rec.phase));
      return;
    }
    /* A run keeps its own copy of the record and writes it back on every
     * phase change, which would undo the edit: wait for it to end. */
    if (edvd_find_run(d, rec.id)) {
      api_error(c, 409, "ABORTED", NULL,
                "tenant '%s' is being driven now; retry once its run ends",
                rec.id);
      return;
    }
    js = edv__spec_to_json(&cur);
    snprintf(rec.spec_json, sizeof(rec.spec_json), "%s",
             json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
    json_object_put(js);
    if (edv__store_tenant_put(d->store, &rec, EDV_PUT_UPDATE, &err)) {
      api_error_edv(c, &err, NULL);
      return;
    }
    memset(&j, 0, sizeof(j));
    snprintf(j.tenant, sizeof(j.tenant), "%s", rec.id);
    snprintf(j.actor, sizeof(j.actor), "edvd:%s", c->who);
    snprintf(j.event, sizeof(j.event), "updated");
    snprintf(j.api_call, sizeof(j.api_call), "%s%s%s",
             changed & 1 ? "display_name" : "", changed == 3 ? ", " : "",
             changed & 2 ? (cur.ops_ssh ? "ops_ssh on" : "ops_ssh off") : "");
    edvd_journal(d, &j);
    /* The VM's page shows the name: a READY tenant converges again. */
    if (rec.phase == EDV_PHASE_READY && edvd_drive(d, rec.id, EDV_DIR_UP, &err))
      EDV_LOG_W(MOD, "tenant=%s: not re-driven: %s", rec.id, err.message);
    edv__store_tenant_get(d->store, rec.id, &rec, NULL);
  }
  api_send(c, 200, tenant_obj(d, &rec));
}

/* ---- DELETE /api/tenants/{id}
 * -------------------------------------------------------*/

/* 202 with the tenant as the store has it now. */
static void delete_accepted(api_ctx *c, const char *id)
{
  edv__tenant_rec rec;
  char loc[128];

  if (edv__store_tenant_get(c->d->store, id, &rec, NULL)) {
    api_error(c, 503, NULL, NULL, "tenant '%s': the store cannot be read", id);
    return;
  }
  snprintf(loc, sizeof(loc), "/api/tenants/%s", rec.id);
  edv__http_add_header(c->req, "Location", loc);
  api_send(c, 202, tenant_obj(c->d, &rec));
}

typedef struct delete_wait {
  api_ctx *c;
  char id[EDV_STORE_ID_SZ];
} delete_wait;

/* The DEPROVISIONING of a tenant that was going up is durable (or not). */
static void delete_recorded(void *data, const edv_error *err)
{
  delete_wait *w = data;
  api_ctx *c = w->c;

  if (api_resume(c)) {
    if (err)
      api_error_edv(c, err, NULL);
    else
      delete_accepted(c, w->id);
  }
  free(w);
}

void api_tenant_delete(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  edv__tenant_rec rec;
  edv_error err;
  edvd_run *r;
  delete_wait *w;

  if (api_query_only(c, (const char *const[]){NULL}) || get_rec(c, id, &rec))
    return;
  if (rec.phase == EDV_PHASE_DELETED) {
    api_error(c, 404, NULL, NULL, "tenant '%s' is already deleted", id);
    return;
  }
  r = edvd_find_run(d, rec.id);
  if (r && r->dir == EDV_DIR_UP) {
    /* Provisioning: the delete is recorded (DEPROVISIONING) before it is
     * acknowledged, so that an edvd that dies before the run stops goes
     * down after its restart; the run stops at a durable point, then the
     * tenant goes down. */
    r->then_down = 1;
    w = calloc(1, sizeof(*w));
    if (w) {
      w->c = c;
      snprintf(w->id, sizeof(w->id), "%s", rec.id);
      /* Suspended first: the answer may come from inside the call. */
      api_suspend(c, 15000);
      if (edv__fleet_request_down(d->fleet, rec.id, delete_recorded, w) == 0)
        return;
      api_resume(c); /* still there: nothing answered it */
      free(w);
    }
    /* Its final phase is being written: stop it, then go down. */
    edvd_stop_then_down(d, r);
  } else if (!r && edvd_drive(d, rec.id, EDV_DIR_DOWN, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  delete_accepted(c, rec.id);
}

/* ---- GET /api/tenants/{id}/events
 * -------------------------------------------------*/

typedef struct ev_ctx {
  json_object *arr;
  unsigned want, got;
  int more;
  int64_t last;
} ev_ctx;

static int event_one(void *data, const edv__journal_rec *r)
{
  ev_ctx *e = data;
  json_object *o;
  char ts[40];

  if (e->got == e->want) {
    e->more = 1;
    return 1;
  }
  o = json_object_new_object();
  json_object_object_add(o, "seq", json_object_new_int64(r->seq));
  api_time(r->time_ms, ts, sizeof(ts));
  json_object_object_add(o, "time", json_object_new_string(ts));
  json_object_object_add(o, "actor", json_object_new_string(r->actor));
  json_object_object_add(o, "event", json_object_new_string(r->event));
  json_object_object_add(o, "step", jstr_or_null(r->step));
  json_object_object_add(o, "detail", jstr_or_null(r->api_call));
  json_object_object_add(o, "operation", jstr_or_null(r->operation));
  json_object_object_add(o, "duration_ms",
                         json_object_new_int64(r->duration_ms));
  json_object_object_add(o, "error", jstr_or_null(r->error));
  json_object_array_add(e->arr, o);
  e->got++;
  e->last = r->seq;
  return 0;
}

void api_tenant_events(api_ctx *c, const char *id)
{
  static const char *const allowed[] = {"after", "limit", NULL};
  edv__tenant_rec rec;
  const char *a = edv__http_query(c->req, "after");
  const char *lim = edv__http_query(c->req, "limit");
  unsigned long after = 0, limit = 100;
  ev_ctx e;
  edv_error err;
  json_object *o;

  if (api_query_only(c, allowed) || get_rec(c, id, &rec))
    return;
  if (a && parse_uint(a, (unsigned long)INT64_MAX, &after)) {
    api_error(c, 400, NULL, "after", "after: must be a sequence number");
    return;
  }
  if (lim && (parse_uint(lim, 1000, &limit) || limit == 0)) {
    api_error(c, 400, NULL, "limit", "limit: must be an integer 1..1000");
    return;
  }
  memset(&e, 0, sizeof(e));
  e.arr = json_object_new_array();
  e.want = (unsigned)limit;
  if (edv__store_journal_list(c->d->store, rec.id, (int64_t)after,
                              (unsigned)limit + 1, event_one, &e, &err)) {
    json_object_put(e.arr);
    api_error_edv(c, &err, NULL);
    return;
  }
  o = json_object_new_object();
  json_object_object_add(o, "tenant", json_object_new_string(rec.id));
  json_object_object_add(o, "events", e.arr);
  json_object_object_add(o, "next_after",
                         e.more ? json_object_new_int64(e.last) : NULL);
  api_send(c, 200, o);
}

/* ---- POST /api/tenants/{id}/apply
 * ------------------------------------------------*/

/* The library's answer: 202 with the tenant document, or its error. */
static void apply_answer(void *data, json_object *doc, const edv_error *err)
{
  api_ctx *c = data;

  if (!api_resume(c))
    return;
  if (!doc) {
    api_error_edv(c, err, NULL);
    return;
  }
  api_send(c, 202, json_object_get(doc));
}

/* Carries out the tenant's plan (edv_tenant_apply): its run starts and the
 * answer comes once it is under way; the journal and GET say how it ends. */
void api_tenant_apply(api_ctx *c, const char *id)
{
  edv__tenant_rec rec;
  edv_error err;

  if (api_query_only(c, (const char *const[]){NULL}) || get_rec(c, id, &rec))
    return;
  /* A backup or restore holds the database: no run meanwhile. */
  if (api_ops_job_running(rec.id, 0)) {
    api_error(c, 409, "ABORTED", NULL,
              "tenant '%s' has a backup or restore running; retry once it "
              "ends (GET /api/tenants/%s/backups)",
              rec.id, rec.id);
    return;
  }
  edv_fleet_act_as(c->d->ef, c->who);
  if (edv_tenant_apply(c->d->ef, rec.id, EDV_FLEET_ASYNC, apply_answer, c,
                       &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  api_suspend(c, 60000); /* the callback never runs before this */
}
