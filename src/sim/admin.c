/*
 * admin.c - the /_sim/ inspection and control API for tests and demos.
 *
 * No bearer token, loopback clients only. Everything here answers at once.
 *
 *   GET    /_sim/health
 *   GET    /_sim/state?kind=K&label=k=v&prefix=P   resources (Secret
 *          Manager payloads masked unless &secrets=show)
 *   GET    /_sim/requests                          request log + counts
 *   POST   /_sim/reset                             fresh project
 *   POST   /_sim/clock/advance {"seconds":N}       move the clock
 *   GET    /_sim/clock
 *   GET    /_sim/faults                            active faults, and
 *          the history of the metric faults (usage.c)
 *   POST   /_sim/faults {...}                      add one (see limits.c)
 *   DELETE /_sim/faults[?id=N]                     remove one or all
 *   GET    /_sim/limits  POST /_sim/limits {"api","readsPerMinute",...}
 *   POST   /_sim/quotas {"metric","region","limit"}
 *   POST   /_sim/keys {"kid","client_email","public_key"}  trust a key
 *   GET    /_sim/usage  POST /_sim/usage {...}     the usage model (usage.c)
 *   GET    /_sim/sql/instances/{instance}/dataVersion  (sql.c: a Cloud SQL
 *          instance's data version)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

static int admin_health(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o = json_object_new_object();
  char ts[32];

  json_object_object_add(o, "status", json_object_new_string("ok"));
  json_object_object_add(o, "project", json_object_new_string(s->project));
  json_object_object_add(o, "time", json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(o, "resources",
                         json_object_new_int64((int64_t)s->res.n));
  json_object_object_add(o, "operations",
                         json_object_new_int64((int64_t)s->ops.n));
  return sim_resp_json(resp, 200, o);
}

struct state_ctx {
  const char *kind, *label;
  int show_secrets; /* ?secrets=show: payloads in clear */
  json_object *items;
};

/* A Secret Manager payload as /_sim/state shows it by default: that it
 * exists and its size, never its bytes (they are a tenant's DB password). */
static json_object *masked_payload(json_object *obj)
{
  json_object *m = json_object_new_object(), *d;

  json_object_object_add(m, "masked", json_object_new_boolean(1));
  if (json_object_object_get_ex(obj, "data", &d))
    json_object_object_add(
        m, "dataLength",
        json_object_new_int((int)strlen(json_object_get_string(d))));
  return m;
}

static int state_cb(void *data, const char *name, const char *kind,
                    json_object *obj)
{
  struct state_ctx *c = data;
  json_object *o;

  if (c->kind && strcmp(c->kind, kind) != 0)
    return 0;
  if (c->label && !sim_labels_match(obj, c->label))
    return 0;
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(name));
  json_object_object_add(o, "kind", json_object_new_string(kind));
  if (!c->show_secrets && strcmp(kind, "secretmanager.secretPayload") == 0)
    json_object_object_add(o, "resource", masked_payload(obj));
  else
    json_object_object_add(o, "resource", json_object_get(obj));
  json_object_array_add(c->items, o);
  return 0;
}

static int admin_state(sim *s, sim_req *req, sim_resp *resp)
{
  const char *sec = sim_query(req, "secrets");
  struct state_ctx c;
  json_object *o;
  char ts[32];

  if (sec && strcmp(sec, "show") != 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "secrets: must be 'show' (payloads are masked "
                       "without it)");
  o = json_object_new_object();
  c.kind = sim_query(req, "kind");
  c.label = sim_query(req, "label");
  c.show_secrets = sec != NULL;
  c.items = json_object_new_array();
  sim_store_each(s, sim_query(req, "prefix"), state_cb, &c);
  json_object_object_add(o, "project", json_object_new_string(s->project));
  json_object_object_add(o, "time", json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(o, "resources", c.items);
  if (c.kind == NULL && c.label == NULL)
    json_object_object_add(o, "operations", sim_op_list(s, ""));
  return sim_resp_json(resp, 200, o);
}

static int admin_requests(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o = json_object_new_object();

  sim__log_json(s, o);
  return sim_resp_json(resp, 200, o);
}

static int admin_reset(sim *s, sim_req *req, sim_resp *resp)
{
  sim__reset(s);
  return admin_health(s, req, resp);
}

static int admin_clock(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o = json_object_new_object();
  char ts[32];

  json_object_object_add(o, "time", json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(o, "ms",
                         json_object_new_int64((int64_t)sim_now_ms(s)));
  json_object_object_add(o, "scale", json_object_new_double(s->scale));
  return sim_resp_json(resp, 200, o);
}

static int admin_advance(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *v;
  double secs;

  if (!json_object_object_get_ex(sim_body(req), "seconds", &v) ||
      (secs = json_object_get_double(v)) < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Body must be {\"seconds\": N} with N >= 0.");
  s->clock_base += (uint64_t)(secs * 1000.0);
  /* Everything now due happens before we answer: operations finish,
   * waiters wake. */
  sim__run_due(s);
  sim_dirty(s);
  return admin_clock(s, req, resp);
}

static int admin_faults_get(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "faults", sim__faults_json(s));
  json_object_object_add(o, "history", sim__mfault_history_json(s));
  return sim_resp_json(resp, 200, o);
}

static int admin_faults_add(sim *s, sim_req *req, sim_resp *resp)
{
  char err[200] = "";
  int id;
  json_object *o;

  if (sim_body(req) == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "A fault body is "
                       "required.");
  id = sim__faults_add(s, sim_body(req), err, sizeof(err));
  if (id < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "%s", err);
  o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_int(id));
  return sim_resp_json(resp, 200, o);
}

static int admin_faults_del(sim *s, sim_req *req, sim_resp *resp)
{
  const char *id = sim_query(req, "id");

  if (id == NULL) {
    sim__faults_clear(s);
  } else {
    sim__faults_remove(s, (int)strtol(id, NULL, 10));
  }
  return admin_faults_get(s, req, resp);
}

static int admin_limits_get(sim *s, sim_req *req, sim_resp *resp)
{
  return sim_resp_json(resp, 200, sim__limits_json(s));
}

static int admin_limits_set(sim *s, sim_req *req, sim_resp *resp)
{
  if (sim_body(req) == NULL || sim__limits_set(s, sim_body(req)) < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Body must name a known \"api\".");
  return admin_limits_get(s, req, resp);
}

static int admin_quotas(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *b = sim_body(req), *v;
  const char *metric =
      json_object_get_string(json_object_object_get(b, "metric"));
  const char *region =
      json_object_get_string(json_object_object_get(b, "region"));
  json_object *o;

  if (metric == NULL || !json_object_object_get_ex(b, "limit", &v))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Body must be {\"metric\", \"region\", \"limit\"}.");
  sim_quota_define(s, metric, region, json_object_get_double(v));
  o = json_object_new_object();
  json_object_object_add(o, "quotas", sim_quota_json(s, region));
  return sim_resp_json(resp, 200, o);
}

static int admin_keys(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *b = sim_body(req);
  const char *kid = json_object_get_string(json_object_object_get(b, "kid"));
  const char *email =
      json_object_get_string(json_object_object_get(b, "client_email"));
  const char *pem =
      json_object_get_string(json_object_object_get(b, "public_key"));

  if (kid == NULL || email == NULL || pem == NULL ||
      sim__auth_trust(s, kid, email, pem) < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Body must be {\"kid\", \"client_email\", "
                       "\"public_key\": PEM public key}.");
  return sim_resp_json(resp, 200, NULL);
}

#define ADMIN_FLAGS (SIM_ROUTE_NOAUTH | SIM_ROUTE_LOOPBACK)

static const sim_route admin_routes[] = {
    {"GET", "/_sim/health", "sim.health", admin_health, NULL, ADMIN_FLAGS,
     NULL},
    {"GET", "/_sim/state", "sim.state", admin_state, NULL, ADMIN_FLAGS, NULL},
    {"GET", "/_sim/requests", "sim.requests", admin_requests, NULL, ADMIN_FLAGS,
     NULL},
    {"POST", "/_sim/reset", "sim.reset", admin_reset, NULL, ADMIN_FLAGS, NULL},
    {"GET", "/_sim/clock", "sim.clock", admin_clock, NULL, ADMIN_FLAGS, NULL},
    {"POST", "/_sim/clock/advance", "sim.clock.advance", admin_advance, NULL,
     ADMIN_FLAGS, NULL},
    {"GET", "/_sim/faults", "sim.faults.list", admin_faults_get, NULL,
     ADMIN_FLAGS, NULL},
    {"POST", "/_sim/faults", "sim.faults.add", admin_faults_add, NULL,
     ADMIN_FLAGS, NULL},
    {"DELETE", "/_sim/faults", "sim.faults.delete", admin_faults_del, NULL,
     ADMIN_FLAGS, NULL},
    {"GET", "/_sim/limits", "sim.limits.get", admin_limits_get, NULL,
     ADMIN_FLAGS, NULL},
    {"POST", "/_sim/limits", "sim.limits.set", admin_limits_set, NULL,
     ADMIN_FLAGS, NULL},
    {"POST", "/_sim/quotas", "sim.quotas.set", admin_quotas, NULL, ADMIN_FLAGS,
     NULL},
    {"POST", "/_sim/keys", "sim.keys.trust", admin_keys, NULL, ADMIN_FLAGS,
     NULL},
};

int sim__admin_init(sim *s)
{
  if (sim__usage_init(s) != 0)
    return -1;
  return sim_register(s, SIM_API_ADMIN, admin_routes,
                      sizeof(admin_routes) / sizeof(*admin_routes));
}
