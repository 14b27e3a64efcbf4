/*
 * ops.c - one operation engine for the four shapes the APIs use.
 *
 * An operation records when it was inserted, when it starts and when it
 * ends, all on the simulated clock, so its status is derived from the
 * clock: PENDING before start, RUNNING until end, DONE once its completion
 * ran. Completion runs from a simulated timer at `end`: it applies the
 * route's apply() (found by method id, so it survives a restart), wakes
 * operations.wait callers and marks the state dirty.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sim/billing.h"
#include "sim/sim_int.h"

#define SIM_WAIT_SIM_MS  120000u /* operations.wait: two simulated minutes */
#define SIM_WAIT_REAL_MS 120000u /* ... and never more than two real ones */

typedef struct sim_waiter {
  struct sim_waiter *next;
  sim_op *op;
  sim_defer *defer;
  sim_timer *timer;
} sim_waiter;

struct sim_op {
  char *name;       /* canonical */
  char *short_name; /* points into name */
  sim_op_shape shape;
  char *method_id;
  char *scope;
  char *op_type;
  char *target_name, *target_link, *target_id;
  char *metadata_type;
  char *user;
  char *client_op_id;
  char *id;
  uint64_t insert_ms, start_ms, end_ms;
  int done;
  int failed;
  int http_status;
  char *err_code, *err_msg;
  json_object *payload, *dns_change, *response;
  sim_timer *timer;
  sim_waiter *waiters;
  /* s->pending: the ops not done yet, so that sim_op_pending() walks the
   * few in flight rather than every operation ever made. */
  struct sim_op *pend_next, *pend_prev;
};

static void pending_add(sim *s, sim_op *op)
{
  op->pend_prev = NULL;
  op->pend_next = s->pending;
  if (s->pending)
    s->pending->pend_prev = op;
  s->pending = op;
}

static void pending_remove(sim *s, sim_op *op)
{
  if (op->pend_prev)
    op->pend_prev->pend_next = op->pend_next;
  else if (s->pending == op)
    s->pending = op->pend_next;
  if (op->pend_next)
    op->pend_next->pend_prev = op->pend_prev;
  op->pend_next = op->pend_prev = NULL;
}

static void op_free(sim_op *op)
{
  free(op->name);
  free(op->method_id);
  free(op->scope);
  free(op->op_type);
  free(op->target_name);
  free(op->target_link);
  free(op->target_id);
  free(op->metadata_type);
  free(op->user);
  free(op->client_op_id);
  free(op->id);
  free(op->err_code);
  free(op->err_msg);
  json_object_put(op->payload);
  json_object_put(op->dns_change);
  json_object_put(op->response);
  free(op);
}

static char *dup0(const char *s)
{
  return s ? strdup(s) : NULL;
}

void sim__ops_clear(sim *s)
{
  for (size_t i = 0; i < s->ops.n; i++) {
    sim_op *op = s->ops.v[i].p;

    /* Waiters hold deferred requests: answer them with what there is. */
    while (op->waiters) {
      sim_waiter *w = op->waiters;

      op->waiters = w->next;
      sim_timer_cancel(s, w->timer);
      sim_err(sim_defer_resp(w->defer), 404, "notFound",
              "The resource '%s' was not found", op->name);
      sim_defer_finish(w->defer);
      free(w);
    }
    sim_timer_cancel(s, op->timer);
    op_free(op);
  }
  s->ops.n = 0;
  s->pending = NULL;
}

/* --- durations ---------------------------------------------------------- */

/* {pending lo, pending hi, running lo, running hi} in simulated ms. */
static const uint64_t sim_durations[3][4][4] = {
    /* fast */
    {{0, 0, 0, 0}, {0, 10, 5, 40}, {0, 10, 5, 40}, {0, 10, 5, 40}},
    /* demo: a tenant's critical path lands around 20-40 s */
    {{0, 0, 0, 0},
     {200, 500, 1500, 3000},
     {500, 1000, 3000, 6000},
     {1000, 2000, 8000, 15000}},
    /* realistic: like the real cloud */
    {{0, 0, 0, 0},
     {1000, 3000, 8000, 25000},
     {2000, 5000, 30000, 80000},
     {5000, 15000, 240000, 540000}},
};

/* --- names -------------------------------------------------------------- */

static char *op_make_name(sim *s, const sim_op_spec *spec, uint64_t now)
{
  char buf[512], uuid[40];
  uint64_t r = sim_rand(s);

  switch (spec->shape) {
  case SIM_OP_COMPUTE:
    if (strcmp(spec->scope ? spec->scope : "global", "global") == 0)
      snprintf(buf, sizeof(buf), "projects/%s/global/operations/", s->project);
    else
      snprintf(buf, sizeof(buf), "projects/%s/%s/operations/", s->project,
               spec->scope);
    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
             "operation-%" PRIu64 "-%013" PRIx64 "-%08x-%08x", now,
             (uint64_t)(r & 0xfffffffffffffull),
             (unsigned)(sim_rand(s) & 0xffffffffu),
             (unsigned)(sim_rand(s) & 0xffffffffu));
    break;
  case SIM_OP_SQL:
    snprintf(buf, sizeof(buf), "projects/%s/operations/%s", s->project,
             sim_new_uuid(s, uuid));
    break;
  case SIM_OP_DNS: {
    char prefix[300];
    size_t n, plen;
    int found;

    snprintf(prefix, sizeof(prefix), "projects/%s/managedZones/%s/changes/",
             s->project, spec->scope ? spec->scope : "");
    plen = strlen(prefix);
    /* The names under prefix are one run of the sorted index. */
    n = 0;
    for (size_t i = sim__index_find(&s->ops, prefix, &found);
         i < s->ops.n && strncmp(s->ops.v[i].name, prefix, plen) == 0; i++)
      n++;
    snprintf(buf, sizeof(buf), "%s%zu", prefix, n + 1);
    break;
  }
  default:
    snprintf(buf, sizeof(buf),
             "projects/%s/locations/%s/operations/operation-%" PRIu64
             "-%013" PRIx64,
             s->project, spec->scope ? spec->scope : "global", now,
             (uint64_t)(r & 0xfffffffffffffull));
    break;
  }
  return strdup(buf);
}

static int op_index(sim *s, sim_op *op)
{
  int found;
  size_t pos = sim__index_find(&s->ops, op->name, &found);

  if (found)
    return -1;
  return sim__index_insert(&s->ops, pos, op->name, op);
}

sim_op *sim_op_find(sim *s, const char *name)
{
  int found;
  size_t pos = sim__index_find(&s->ops, name, &found);

  return found ? s->ops.v[pos].p : NULL;
}

const char *sim_op_name(const sim_op *op)
{
  return op->name;
}

const char *sim_op_short_name(const sim_op *op)
{
  return op->short_name;
}

int sim_op_done(const sim_op *op)
{
  return op->done;
}

int sim_op_failed(const sim_op *op)
{
  return op->failed;
}

sim_op *sim_op_pending(sim *s, const char *target_name)
{
  sim_op *hit = NULL;

  /* The first by name, as a walk of the index in name order finds it. */
  for (sim_op *op = s->pending; target_name && op; op = op->pend_next)
    if (op->target_name && strcmp(op->target_name, target_name) == 0 &&
        (hit == NULL || strcmp(op->name, hit->name) < 0))
      hit = op;
  return hit;
}

/* --- completion --------------------------------------------------------- */

static void op_wake(sim *s, sim_op *op)
{
  while (op->waiters) {
    sim_waiter *w = op->waiters;

    op->waiters = w->next;
    sim_timer_cancel(s, w->timer);
    sim_op_respond(s, sim_defer_resp(w->defer), op);
    sim_defer_finish(w->defer);
    free(w);
  }
}

static void op_complete(sim *s, void *data)
{
  sim_op *op = data;
  const sim_rt *rt = sim__route_by_method(s, op->method_id);
  const sim_fault *f = sim__fault_op(s, op->method_id, op->op_type);

  op->timer = NULL;
  if (f) {
    op->failed = 1;
    op->http_status = f->op_http ? f->op_http : 500;
    free(op->err_code);
    free(op->err_msg);
    op->err_code = strdup(f->op_code ? f->op_code : "INTERNAL_ERROR");
    op->err_msg =
        strdup(f->op_message ? f->op_message : "Injected operation failure.");
  }
  if (rt && rt->r->apply)
    rt->r->apply(s, op, op->payload);
  if (op->target_name) /* what it bills may have changed */
    sim_billing_note(s, op->target_name);
  op->done = 1;
  pending_remove(s, op);
  if (op->end_ms < op->start_ms)
    op->end_ms = op->start_ms;
  sim_dirty(s);
  op_wake(s, op);
}

static void op_schedule(sim *s, sim_op *op)
{
  op->timer = sim_timer_at(s, op->end_ms, op_complete, op);
}

sim_op *sim_op_start(sim *s, sim_req *req, const sim_op_spec *spec)
{
  sim_op *op = calloc(1, sizeof(*op));
  uint64_t now = sim_now_ms(s);
  const uint64_t *d;
  const char *rid = req ? sim_query(req, "requestId") : NULL;
  char id[24];

  if (op == NULL)
    goto fail;
  d = sim_durations[s->profile][spec->duration];
  op->shape = spec->shape;
  op->name = op_make_name(s, spec, now);
  op->method_id = dup0(req ? sim_req_method_id(req) : NULL);
  op->scope = dup0(spec->scope);
  op->op_type = dup0(spec->operation_type);
  op->target_name = dup0(spec->target_name);
  op->target_link = dup0(spec->target_link);
  op->target_id = dup0(spec->target_id);
  op->metadata_type = dup0(spec->metadata_type);
  op->user = strdup(req ? sim_principal(req) : "system");
  op->client_op_id = dup0(rid);
  op->id = strdup(sim_new_id(s, id));
  op->payload = spec->payload;
  op->dns_change = spec->dns_change;
  op->insert_ms = now;
  op->start_ms = now + sim_rand_range(s, d[0], d[1]);
  op->end_ms = op->start_ms + sim_rand_range(s, d[2], d[3]);
  if (!op->name || !op->user || !op->id || op_index(s, op) < 0) {
    op_free(op);
    return NULL;
  }
  op->short_name = strrchr(op->name, '/') + 1;
  pending_add(s, op);
  if (rid && req) {
    char key[300];

    snprintf(key, sizeof(key), "%s/%s", s->project, rid);
    json_object_object_add(s->reqids, key, json_object_new_string(op->name));
  }
  op_schedule(s, op);
  sim_dirty(s);
  return op;
fail:
  json_object_put(spec->payload);
  json_object_put(spec->dns_change);
  return NULL;
}

void sim_op_fail(sim_op *op, int http_status, const char *code, const char *fmt,
                 ...)
{
  char msg[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  op->failed = 1;
  op->http_status = http_status;
  free(op->err_code);
  free(op->err_msg);
  op->err_code = strdup(code);
  op->err_msg = strdup(msg);
}

void sim_op_set_response(sim_op *op, const char *type, json_object *resource)
{
  json_object_put(op->response);
  op->response = resource;
  if (resource && type)
    json_object_object_add(resource, "@type", json_object_new_string(type));
}

void sim_op_set_target_id(sim_op *op, const char *id)
{
  free(op->target_id);
  op->target_id = dup0(id);
}

/* --- rendering ---------------------------------------------------------- */

static void add_str(json_object *o, const char *k, const char *v)
{
  if (v)
    json_object_object_add(o, k, json_object_new_string(v));
}

static void add_time(json_object *o, const char *k, uint64_t ms)
{
  char ts[32];

  json_object_object_add(o, k, json_object_new_string(sim_time_str(ms, ts)));
}

static const char *http_reason(int code)
{
  switch (code) {
  case 400:
    return "BAD REQUEST";
  case 403:
    return "FORBIDDEN";
  case 404:
    return "NOT FOUND";
  case 409:
    return "CONFLICT";
  case 412:
    return "PRECONDITION FAILED";
  case 429:
    return "TOO MANY REQUESTS";
  case 503:
    return "SERVICE UNAVAILABLE";
  default:
    return code >= 500 ? "INTERNAL SERVER ERROR" : "BAD REQUEST";
  }
}

static json_object *render_compute(sim *s, sim_op *op, const char *status,
                                   uint64_t now)
{
  json_object *o = json_object_new_object();
  int progress = 0;

  json_object_object_add(o, "kind",
                         json_object_new_string("compute#operation"));
  add_str(o, "id", op->id);
  add_str(o, "name", op->short_name);
  if (op->scope && strncmp(op->scope, "zones/", 6) == 0)
    json_object_object_add(o, "zone",
                           sim_link_json(SIM_API_COMPUTE, "projects/%s/%s",
                                         s->project, op->scope));
  else if (op->scope && strncmp(op->scope, "regions/", 8) == 0)
    json_object_object_add(o, "region",
                           sim_link_json(SIM_API_COMPUTE, "projects/%s/%s",
                                         s->project, op->scope));
  add_str(o, "operationType", op->op_type);
  add_str(o, "targetLink", op->target_link);
  add_str(o, "targetId", op->target_id);
  add_str(o, "status", status);
  if (op->done)
    progress = 100;
  else if (now >= op->start_ms && op->end_ms > op->start_ms)
    progress = (int)(100 * (now - op->start_ms) / (op->end_ms - op->start_ms));
  json_object_object_add(o, "progress",
                         json_object_new_int(progress > 100 ? 100 : progress));
  add_time(o, "insertTime", op->insert_ms);
  if (now >= op->start_ms || op->done)
    add_time(o, "startTime", op->start_ms);
  if (op->done)
    add_time(o, "endTime", op->end_ms);
  add_str(o, "user", op->user);
  add_str(o, "clientOperationId", op->client_op_id);
  json_object_object_add(o, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", op->name));
  /* No selfLinkWithId: this revision's Operation schema has none. */
  if (op->done && op->failed) {
    json_object *err = json_object_new_object(),
                *errs = json_object_new_array(),
                *one = json_object_new_object();

    add_str(one, "code", op->err_code);
    add_str(one, "message", op->err_msg);
    json_object_array_add(errs, one);
    json_object_object_add(err, "errors", errs);
    json_object_object_add(o, "error", err);
    json_object_object_add(o, "httpErrorStatusCode",
                           json_object_new_int(op->http_status));
    add_str(o, "httpErrorMessage", http_reason(op->http_status));
  }
  return o;
}

static json_object *render_sql(sim *s, sim_op *op, const char *status,
                               uint64_t now)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "kind", json_object_new_string("sql#operation"));
  add_str(o, "name", op->short_name);
  json_object_object_add(o, "selfLink",
                         sim_link_json(SIM_API_SQL, "%s", op->name));
  add_str(o, "status", status);
  add_str(o, "operationType", op->op_type);
  add_str(o, "targetLink", op->target_link);
  add_str(o, "targetId", op->target_id);
  add_str(o, "targetProject", s->project);
  add_time(o, "insertTime", op->insert_ms);
  if (now >= op->start_ms || op->done)
    add_time(o, "startTime", op->start_ms);
  if (op->done)
    add_time(o, "endTime", op->end_ms);
  add_str(o, "user", op->user);
  if (op->done && op->failed) {
    json_object *err = json_object_new_object(),
                *errs = json_object_new_array(),
                *one = json_object_new_object();

    add_str(one, "kind", "sql#operationError");
    add_str(one, "code", op->err_code);
    add_str(one, "message", op->err_msg);
    json_object_array_add(errs, one);
    add_str(err, "kind", "sql#operationErrors");
    json_object_object_add(err, "errors", errs);
    json_object_object_add(o, "error", err);
  }
  return o;
}

static json_object *render_dns(sim_op *op)
{
  json_object *o = json_object_new_object();

  if (op->dns_change) {
    json_object_object_foreach(op->dns_change, k, v)
        json_object_object_add(o, k, json_object_get(v));
  }
  json_object_object_add(o, "kind", json_object_new_string("dns#change"));
  add_str(o, "id", op->short_name);
  add_time(o, "startTime", op->insert_ms);
  add_str(o, "status", op->done ? "done" : "pending");
  json_object_object_add(o, "isServing", json_object_new_boolean(op->done));
  return o;
}

/* google.rpc.Code number for an HTTP status (operation errors). */
static int rpc_code(int http)
{
  switch (http) {
  case 400:
    return 3;
  case 401:
    return 16;
  case 403:
    return 7;
  case 404:
    return 5;
  case 409:
    return 6;
  case 412:
    return 9;
  case 429:
    return 8;
  case 499:
    return 1;
  case 503:
    return 14;
  case 504:
    return 4;
  default:
    return 13;
  }
}

static json_object *render_lro(sim_op *op)
{
  json_object *o = json_object_new_object(), *md = json_object_new_object();

  add_str(o, "name", op->name);
  add_str(md, "@type", op->metadata_type);
  add_time(md, "createTime", op->insert_ms);
  if (op->done)
    add_time(md, "endTime", op->end_ms);
  add_str(md, "target", op->target_name);
  add_str(md, "verb", op->op_type);
  json_object_object_add(md, "requestedCancellation",
                         json_object_new_boolean(0));
  add_str(md, "apiVersion", "v1");
  json_object_object_add(o, "metadata", md);
  json_object_object_add(o, "done", json_object_new_boolean(op->done));
  if (op->done && op->failed) {
    json_object *err = json_object_new_object();

    json_object_object_add(err, "code",
                           json_object_new_int(rpc_code(op->http_status)));
    add_str(err, "message", op->err_msg);
    json_object_object_add(o, "error", err);
  } else if (op->done) {
    json_object_object_add(o, "response",
                           op->response ? json_object_get(op->response)
                                        : json_object_new_object());
  }
  return o;
}

json_object *sim_op_json(sim *s, sim_op *op)
{
  uint64_t now = sim_now_ms(s);
  const char *status = op->done              ? "DONE"
                       : now >= op->start_ms ? "RUNNING"
                                             : "PENDING";

  switch (op->shape) {
  case SIM_OP_COMPUTE:
    return render_compute(s, op, status, now);
  case SIM_OP_SQL:
    return render_sql(s, op, status, now);
  case SIM_OP_DNS:
    return render_dns(op);
  default:
    return render_lro(op);
  }
}

int sim_op_respond(sim *s, sim_resp *resp, sim_op *op)
{
  return sim_resp_json(resp, 200, sim_op_json(s, op));
}

json_object *sim_op_list(sim *s, const char *prefix)
{
  json_object *arr = json_object_new_array();
  int found, wild;
  size_t plen = sim__literal_prefix(prefix, &wild);
  char lit[512];
  size_t pos;

  snprintf(lit, sizeof(lit), "%.*s", (int)plen, prefix);
  pos = sim__index_find(&s->ops, lit, &found);
  for (; pos < s->ops.n; pos++) {
    if (strncmp(s->ops.v[pos].name, lit, plen) != 0)
      break;
    if (!wild || sim_name_under(s->ops.v[pos].name, prefix))
      json_object_array_add(arr, sim_op_json(s, s->ops.v[pos].p));
  }
  return arr;
}

/* --- requestId ---------------------------------------------------------- */

/*
 * A repeated requestId gets the operation the first request started,
 * without reaching the handler (Compute: "the server will know to ignore
 * the request if it has already been completed"). Returns 1 when it
 * answered.
 */
int sim__op_dedupe(sim *s, sim_req *req)
{
  const char *rid = sim_query(req, "requestId");
  char key[300];
  json_object *name;
  sim_op *op;

  if (rid == NULL)
    return 0;
  if (strcmp(rid, "00000000-0000-0000-0000-000000000000") == 0) {
    sim_err(&req->resp, 400, "invalid",
            "Invalid value for field 'requestId': '%s'. The all-zero UUID is "
            "not supported.",
            rid);
    return 1;
  }
  snprintf(key, sizeof(key), "%s/%s", s->project, rid);
  if (!json_object_object_get_ex(s->reqids, key, &name))
    return 0;
  op = sim_op_find(s, json_object_get_string(name));
  if (op == NULL)
    return 0;
  sim_op_respond(s, &req->resp, op);
  return 1;
}

/* --- wait --------------------------------------------------------------- */

static void waiter_unlink(sim_op *op, sim_waiter *w)
{
  for (sim_waiter **pp = &op->waiters; *pp; pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      return;
    }
  }
}

/* Two simulated minutes passed: answer with the operation as it is. */
static void wait_sim_deadline(sim *s, void *data)
{
  sim_waiter *w = data;

  w->timer = NULL;
  waiter_unlink(w->op, w);
  sim_op_respond(s, sim_defer_resp(w->defer), w->op);
  sim_defer_finish(w->defer);
  free(w);
}

static void wait_end(sim *s, sim_defer *d, int why, void *data)
{
  sim_waiter *w = data;

  waiter_unlink(w->op, w);
  sim_timer_cancel(s, w->timer);
  if (why == SIM_DEFER_DEADLINE) {
    sim_op_respond(s, sim_defer_resp(d), w->op);
    sim_defer_finish(d);
  }
  free(w);
}

int sim_op_wait(sim *s, sim_req *req, sim_resp *resp, sim_op *op)
{
  sim_waiter *w;
  uint64_t real = (uint64_t)((double)SIM_WAIT_SIM_MS / s->scale);

  /* A batch part cannot be held: it answers at once, as a wait that
   * returned early (clients poll again until DONE). */
  if (op->done || req->sub)
    return sim_op_respond(s, resp, op);
  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return sim_op_respond(s, resp, op);
  if (real > SIM_WAIT_REAL_MS)
    real = SIM_WAIT_REAL_MS;
  w->op = op;
  /* The real-time deadline is a backstop; the simulated one normally
   * fires first (it also fires when the clock is advanced). */
  w->defer = sim_defer_begin(req, resp, real + 1000, wait_end, w);
  w->timer =
      sim_timer_at(s, sim_now_ms(s) + SIM_WAIT_SIM_MS, wait_sim_deadline, w);
  w->next = op->waiters;
  op->waiters = w;
  return SIM_DEFER;
}

/* --- persistence -------------------------------------------------------- */

static void put_s(json_object *o, const char *k, const char *v)
{
  if (v)
    json_object_object_add(o, k, json_object_new_string(v));
}

static char *get_s(json_object *o, const char *k)
{
  json_object *v;

  if (!json_object_object_get_ex(o, k, &v) ||
      json_object_is_type(v, json_type_null))
    return NULL;
  return strdup(json_object_get_string(v));
}

static uint64_t get_u64(json_object *o, const char *k)
{
  json_object *v;

  return json_object_object_get_ex(o, k, &v)
             ? (uint64_t)json_object_get_int64(v)
             : 0;
}

json_object *sim__ops_save(sim *s)
{
  json_object *arr = json_object_new_array();

  for (size_t i = 0; i < s->ops.n; i++) {
    sim_op *op = s->ops.v[i].p;
    json_object *o = json_object_new_object();

    put_s(o, "name", op->name);
    json_object_object_add(o, "shape", json_object_new_int(op->shape));
    put_s(o, "methodId", op->method_id);
    put_s(o, "scope", op->scope);
    put_s(o, "operationType", op->op_type);
    put_s(o, "targetName", op->target_name);
    put_s(o, "targetLink", op->target_link);
    put_s(o, "targetId", op->target_id);
    put_s(o, "metadataType", op->metadata_type);
    put_s(o, "user", op->user);
    put_s(o, "clientOperationId", op->client_op_id);
    put_s(o, "id", op->id);
    json_object_object_add(o, "insertMs",
                           json_object_new_int64((int64_t)op->insert_ms));
    json_object_object_add(o, "startMs",
                           json_object_new_int64((int64_t)op->start_ms));
    json_object_object_add(o, "endMs",
                           json_object_new_int64((int64_t)op->end_ms));
    json_object_object_add(o, "done", json_object_new_boolean(op->done));
    json_object_object_add(o, "failed", json_object_new_boolean(op->failed));
    json_object_object_add(o, "httpStatus",
                           json_object_new_int(op->http_status));
    put_s(o, "errCode", op->err_code);
    put_s(o, "errMessage", op->err_msg);
    if (op->payload)
      json_object_object_add(o, "payload", json_object_get(op->payload));
    if (op->dns_change)
      json_object_object_add(o, "dnsChange", json_object_get(op->dns_change));
    if (op->response)
      json_object_object_add(o, "response", json_object_get(op->response));
    json_object_array_add(arr, o);
  }
  return arr;
}

int sim__ops_load(sim *s, json_object *arr)
{
  size_t n = arr ? json_object_array_length(arr) : 0;

  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(arr, i), *v;
    sim_op *op = calloc(1, sizeof(*op));

    if (op == NULL)
      return -1;
    op->name = get_s(o, "name");
    op->shape = (sim_op_shape)get_u64(o, "shape");
    op->method_id = get_s(o, "methodId");
    op->scope = get_s(o, "scope");
    op->op_type = get_s(o, "operationType");
    op->target_name = get_s(o, "targetName");
    op->target_link = get_s(o, "targetLink");
    op->target_id = get_s(o, "targetId");
    op->metadata_type = get_s(o, "metadataType");
    op->user = get_s(o, "user");
    op->client_op_id = get_s(o, "clientOperationId");
    op->id = get_s(o, "id");
    op->insert_ms = get_u64(o, "insertMs");
    op->start_ms = get_u64(o, "startMs");
    op->end_ms = get_u64(o, "endMs");
    op->done = (int)get_u64(o, "done");
    op->failed = (int)get_u64(o, "failed");
    op->http_status = (int)get_u64(o, "httpStatus");
    op->err_code = get_s(o, "errCode");
    op->err_msg = get_s(o, "errMessage");
    if (json_object_object_get_ex(o, "payload", &v))
      op->payload = json_object_get(v);
    if (json_object_object_get_ex(o, "dnsChange", &v))
      op->dns_change = json_object_get(v);
    if (json_object_object_get_ex(o, "response", &v))
      op->response = json_object_get(v);
    if (op->name == NULL || strchr(op->name, '/') == NULL ||
        op_index(s, op) < 0) {
      op_free(op);
      continue;
    }
    op->short_name = strrchr(op->name, '/') + 1;
    if (!op->done) {
      pending_add(s, op);
      op_schedule(s, op);
    }
  }
  return 0;
}
