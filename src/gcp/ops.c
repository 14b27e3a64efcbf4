/*
 * ops.c - one waiter for the four shapes of long-running operation.
 *
 * A waiter is a small state machine on the engine's loop:
 *
 *   RUNNING --poll answered, not done--> RUNNING (timer or next /wait)
 *   RUNNING --done / failed / deadline / cancel--> CLOSING --> callback
 *
 * It owns two timers (the next poll and the overall deadline) and at most
 * one call in flight. Ending the wait always goes through uv_close() of
 * both timers, so the user's callback runs from a close callback: never
 * synchronously inside edv_op_wait() or edv_op_cancel(), and only after
 * the waiter holds no handle and no call any more.
 *
 * Compute's operations.wait "returns when the operation is DONE or
 * approaching the 2 minute deadline" and is best effort: it may come back
 * at once (docs/google-cloud.md section 3). A wait that returned quickly is
 * followed by a backoff delay instead of an immediate retry, so an early
 * returning server is not hammered.
 */
#include <stdlib.h>
#include <string.h>

#include "edv/ops.h"

#include "common/log.h"
#include "gcp/gcp.h"
#include "transport/transport.h"

#define OPS_MAGIC                   0x6f707377u /* "opsw" */
#define OPS_DEFAULT_DEADLINE_MS     (30u * 60u * 1000u)
#define OPS_DEFAULT_POLL_INITIAL_MS 1000u
#define OPS_DEFAULT_POLL_MAX_MS     10000u
#define OPS_DEFAULT_CALL_TIMEOUT_MS 150000u

enum { OPS_RUNNING = 0, OPS_FINISHING = 1, OPS_CLOSING = 2 };

struct edv_op_waiter {
  unsigned magic;            /* OPS_MAGIC while the handle is valid */
  int state;                 /* OPS_RUNNING, OPS_FINISHING, OPS_CLOSING */
  edv_engine *engine;        /* borrowed; must outlive the waiter */
  edv_op_kind kind;          /* shape of the operation */
  edv_api api;               /* API the polls go to */
  char *get_path;            /* GET path of the operation */
  char *wait_path;           /* Compute: POST .../wait path, else NULL */
  int use_wait;              /* 1 while Compute's wait method is used */
  json_object *op;           /* latest operation seen (owned reference) */
  uint64_t started;          /* uv_now() at the start */
  uint64_t deadline_ms;      /* the whole wait's budget */
  uint64_t poll_initial_ms;  /* first delay between GET polls */
  uint64_t poll_max_ms;      /* cap of the doubling delay */
  uint64_t call_timeout_ms;  /* cap of one call */
  uint64_t delay_ms;         /* next backoff delay */
  unsigned polls;            /* calls answered so far */
  edv_call *call;            /* call in flight, or NULL */
  uv_timer_t poll_timer;     /* fires the next poll */
  uv_timer_t deadline_timer; /* fires at the deadline */
  int closing_handles;       /* timers not yet closed */
  int failed;                /* 1 when `result` holds the outcome */
  edv_error result;          /* the error the callback gets */
  edv_op_progress_cb progress_cb;
  edv_op_done_cb cb;
  void *data;
  char label[64]; /* "compute.zoneOperations.wait" etc., for logs */
  char name[96];  /* operation name or id, for messages */
};

/* ---- Shapes ------------------------------------------------------------*/

const char *edv_op_kind_name(edv_op_kind kind)
{
  switch (kind) {
  case EDV_OP_COMPUTE:
    return "compute";
  case EDV_OP_SQL:
    return "sql";
  case EDV_OP_DNS:
    return "dns";
  case EDV_OP_LRO:
    return "lro";
  default:
    return "unknown";
  }
}

static const char *ops_str(json_object *obj, const char *key)
{
  json_object *v;

  if (!obj || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static int ops_has(json_object *obj, const char *key)
{
  return obj && json_object_object_get_ex(obj, key, NULL);
}

/* A google.longrunning name: "operations/x" or ".../operations/x". */
static int ops_is_lro_name(const char *name)
{
  return name && (strncmp(name, "operations/", 11) == 0 ||
                  (strstr(name, "/operations/") && strchr(name, ':') == NULL));
}

edv_op_kind edv_op_detect(json_object *op)
{
  const char *kind, *self, *path, *status;

  if (!op || !json_object_is_type(op, json_type_object))
    return EDV_OP_UNKNOWN;
  kind = ops_str(op, "kind");
  if (kind) {
    if (strcmp(kind, "compute#operation") == 0)
      return EDV_OP_COMPUTE;
    if (strcmp(kind, "sql#operation") == 0)
      return EDV_OP_SQL;
    if (strcmp(kind, "dns#change") == 0)
      return EDV_OP_DNS;
    return EDV_OP_UNKNOWN; /* some other resource */
  }
  self = ops_str(op, "selfLink");
  path = edv__url_path(self);
  if (path && strncmp(path, "/compute/", 9) == 0 &&
      strstr(path, "/operations/"))
    return EDV_OP_COMPUTE;
  if (path && strstr(path, "/operations/") &&
      (strncmp(path, "/sql/", 5) == 0 || strstr(self, "sqladmin.")))
    return EDV_OP_SQL;
  status = ops_str(op, "status");
  /* proto3 JSON omits `done: false`, so a running LRO is just a name. */
  if (ops_has(op, "done") || (!status && ops_is_lro_name(ops_str(op, "name"))))
    return EDV_OP_LRO;
  if (!status)
    return EDV_OP_UNKNOWN;
  if ((strcmp(status, "pending") == 0 || strcmp(status, "done") == 0) &&
      (ops_has(op, "additions") || ops_has(op, "deletions")))
    return EDV_OP_DNS;
  if (ops_has(op, "targetProject"))
    return EDV_OP_SQL;
  if (ops_has(op, "zone") || ops_has(op, "region") || ops_has(op, "targetLink"))
    return EDV_OP_COMPUTE;
  return EDV_OP_UNKNOWN;
}

int edv_op_is_done(edv_op_kind kind, json_object *op)
{
  const char *status;
  json_object *v;

  switch (kind) {
  case EDV_OP_COMPUTE:
  case EDV_OP_SQL:
    status = ops_str(op, "status");
    return status && strcmp(status, "DONE") == 0;
  case EDV_OP_DNS:
    status = ops_str(op, "status");
    return status && strcmp(status, "done") == 0;
  case EDV_OP_LRO:
    return op && json_object_object_get_ex(op, "done", &v) &&
           json_object_get_boolean(v);
  default:
    return 0;
  }
}

/* ---- Operation errors ----------------------------------------------------
 *
 * Compute and Cloud SQL report an operation's failure as error.errors[]
 * with an UPPER_SNAKE `code`, google.longrunning as a google.rpc.Status with
 * an integer rpc code. The mapping to edv_code lives with the rest of the
 * error parsing, in src/transport/envelope.c; here we add which operation
 * failed. */

int edv_op_error(edv_op_kind kind, json_object *op, edv_error *err)
{
  edv_error local;
  json_object *error;
  const char *name, *type;

  if (!err)
    err = &local;
  edv_error_clear(err);
  if (!op || !json_object_object_get_ex(op, "error", &error) ||
      !json_object_is_type(error, json_type_object))
    return 0; /* DNS changes never carry one */
  if (edv__error_from_operation(op, 0, err) == EDV_OK)
    return 0;
  name = ops_str(op, kind == EDV_OP_DNS ? "id" : "name");
  type = ops_str(op, "operationType");
  snprintf(err->where, sizeof(err->where), "%s operation %s%s%s%s",
           edv_op_kind_name(kind), name ? name : "?", type ? " (" : "",
           type ? type : "", type ? ")" : "");
  return err->code;
}

/* ---- Poll paths ----------------------------------------------------------*/

/* Compute: "us-central1-a" is a zone, "us-central1" a region. */
static int ops_looks_like_zone(const char *loc)
{
  const char *dash;

  if (strstr(loc, "/zones/"))
    return 1;
  if (strstr(loc, "/regions/"))
    return 0;
  dash = strrchr(loc, '-');
  return dash && dash[1] >= 'a' && dash[1] <= 'z' && dash[2] == '\0';
}

static const char *ops_project(edv_op_waiter *w, const edv_op_wait_opts *o,
                               const char *from_op)
{
  if (o && o->project && *o->project)
    return o->project;
  if (from_op && *from_op)
    return from_op;
  return edv_engine_project(w->engine);
}

static int ops_compute_path(edv_op_waiter *w, json_object *op,
                            const edv_op_wait_opts *o, edv_error *err)
{
  const char *self, *path, *name, *zone, *region, *project;
  char loc[64], proj[128];

  self = edv__url_path(ops_str(op, "selfLink"));
  name = ops_str(op, "name");
  zone = ops_str(op, "zone");
  region = ops_str(op, "region");
  if (self) {
    w->get_path = strdup(self);
  } else {
    if (!name)
      return edv_error_set(err, EDV_EINVAL,
                           "compute operation has neither selfLink nor name");
    project = edv__url_segment_after(zone     ? zone
                                     : region ? region
                                              : "",
                                     "projects", proj, sizeof(proj));
    project = ops_project(w, o, project);
    if (!project)
      return edv_error_set(err, EDV_EINVAL,
                           "compute operation %s: no project known", name);
    if (zone && !edv__zone_from_url(zone, loc, sizeof(loc)))
      return edv_error_set(err, EDV_EINVAL, "compute operation %s: bad zone",
                           name);
    if (!zone && region && !edv__region_from_url(region, loc, sizeof(loc)))
      return edv_error_set(err, EDV_EINVAL, "compute operation %s: bad region",
                           name);
    if (zone)
      path = "/compute/v1/projects/%s/zones/%s/operations/%s";
    else if (region)
      path = "/compute/v1/projects/%s/regions/%s/operations/%s";
    else
      path = "/compute/v1/projects/%s/global/operations/%s";
    if (zone || region)
      w->get_path = edv__url_pathf(path, project, loc, name);
    else
      w->get_path = edv__url_pathf(path, project, name);
  }
  if (!w->get_path)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  w->wait_path = malloc(strlen(w->get_path) + sizeof("/wait"));
  if (!w->wait_path)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  strcpy(w->wait_path, w->get_path);
  strcat(w->wait_path, "/wait");
  w->use_wait = !(o && o->no_compute_wait);
  snprintf(w->label, sizeof(w->label), "compute.%sOperations",
           strstr(w->get_path, "/zones/")     ? "zone"
           : strstr(w->get_path, "/regions/") ? "region"
                                              : "global");
  return 0;
}

static int ops_sql_path(edv_op_waiter *w, json_object *op,
                        const edv_op_wait_opts *o, edv_error *err)
{
  const char *self, *name, *project;

  self = edv__url_path(ops_str(op, "selfLink"));
  name = ops_str(op, "name");
  if (self) {
    w->get_path = strdup(self);
  } else {
    if (!name)
      return edv_error_set(err, EDV_EINVAL,
                           "sql operation has neither selfLink nor name");
    project = ops_project(w, o, ops_str(op, "targetProject"));
    if (!project)
      return edv_error_set(err, EDV_EINVAL,
                           "sql operation %s: no project known", name);
    w->get_path =
        edv__url_pathf("/sql/v1beta4/projects/%s/operations/%s", project, name);
  }
  snprintf(w->label, sizeof(w->label), "sqladmin.operations");
  return w->get_path ? 0 : edv_error_set(err, EDV_ENOMEM, "out of memory");
}

static int ops_dns_path(edv_op_waiter *w, json_object *op,
                        const edv_op_wait_opts *o, edv_error *err)
{
  const char *id, *project;

  id = ops_str(op, "id");
  if (!id)
    return edv_error_set(err, EDV_EINVAL, "dns change has no id");
  if (!o || !o->managed_zone || !*o->managed_zone)
    return edv_error_set(err, EDV_EINVAL,
                         "dns change %s: opts.managed_zone is required", id);
  project = ops_project(w, o, NULL);
  if (!project)
    return edv_error_set(err, EDV_EINVAL, "dns change %s: no project known",
                         id);
  w->get_path = edv__url_pathf("/dns/v1/projects/%s/managedZones/%s/changes/%s",
                               project, o->managed_zone, id);
  snprintf(w->label, sizeof(w->label), "dns.changes");
  return w->get_path ? 0 : edv_error_set(err, EDV_ENOMEM, "out of memory");
}

/* LRO names are paths of [A-Za-z0-9._~-] segments; refuse anything that
 * could step out of /v1/ or into a query. */
static int ops_lro_name_ok(const char *name)
{
  const char *p;

  if (!name || !*name || name[0] == '/' || strstr(name, ".."))
    return 0;
  for (p = name; *p; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || strchr("-._~/", *p)))
      return 0;
  }
  return 1;
}

static int ops_lro_path(edv_op_waiter *w, json_object *op,
                        const edv_op_wait_opts *o, edv_error *err)
{
  const char *name;

  name = ops_str(op, "name");
  if (!ops_lro_name_ok(name))
    return edv_error_set(err, EDV_EINVAL,
                         "operation name '%s' is not a valid resource name",
                         name ? name : "");
  if (o && o->lro_api != EDV_API_COMPUTE)
    w->api = o->lro_api;
  else if (strncmp(name, "operations/", 11) == 0)
    w->api = EDV_API_SERVICENETWORKING;
  else
    w->api = EDV_API_CERTIFICATEMANAGER;
  w->get_path = edv__url_pathf("/v1/%S", name);
  snprintf(w->label, sizeof(w->label), "%s.operations",
           w->api == EDV_API_SERVICENETWORKING ? "servicenetworking"
                                               : "certificatemanager");
  return w->get_path ? 0 : edv_error_set(err, EDV_ENOMEM, "out of memory");
}

static int ops_build_paths(edv_op_waiter *w, json_object *op,
                           const edv_op_wait_opts *o, edv_error *err)
{
  const char *name;

  name = ops_str(op, w->kind == EDV_OP_DNS ? "id" : "name");
  edv__strlcpy(w->name, name ? name : "?", sizeof(w->name));
  switch (w->kind) {
  case EDV_OP_COMPUTE:
    w->api = EDV_API_COMPUTE;
    return ops_compute_path(w, op, o, err);
  case EDV_OP_SQL:
    w->api = EDV_API_SQLADMIN;
    return ops_sql_path(w, op, o, err);
  case EDV_OP_DNS:
    w->api = EDV_API_DNS;
    return ops_dns_path(w, op, o, err);
  case EDV_OP_LRO:
    return ops_lro_path(w, op, o, err);
  default:
    return edv_error_set(err, EDV_EINVAL, "not a long-running operation");
  }
}

/* ---- The waiter ----------------------------------------------------------*/

static void ops_poll(edv_op_waiter *w);

static void ops_free(edv_op_waiter *w)
{
  json_object_put(w->op);
  free(w->get_path);
  free(w->wait_path);
  free(w);
}

static void ops_on_close(uv_handle_t *handle)
{
  edv_op_waiter *w = handle->data;

  if (--w->closing_handles > 0)
    return;
  w->magic = 0;
  w->cb(w->data, w->op, w->failed ? &w->result : NULL);
  ops_free(w);
}

static void ops_close(edv_op_waiter *w)
{
  w->state = OPS_CLOSING;
  w->closing_handles = 2;
  uv_close((uv_handle_t *)&w->poll_timer, ops_on_close);
  uv_close((uv_handle_t *)&w->deadline_timer, ops_on_close);
}

/*
 * Ends the wait with `err` (NULL: success). A call in flight is cancelled
 * first; its callback, synchronous or not, then does the closing.
 */
static void ops_finish(edv_op_waiter *w, const edv_error *err)
{
  edv_call *call;

  if (w->state != OPS_RUNNING)
    return;
  w->state = OPS_FINISHING;
  if (err) {
    w->result = *err;
    w->failed = 1;
  }
  if (w->call) {
    call = w->call;
    edv_call_cancel(call); /* ops_on_response() closes */
    return;
  }
  ops_close(w);
}

static void ops_finish_done(edv_op_waiter *w)
{
  edv_error err;

  if (edv_op_error(w->kind, w->op, &err) != 0) {
    EDV_LOG_I("ops", "%s operation %s failed: %s", edv_op_kind_name(w->kind),
              w->name, edv_err_name(err.code));
    ops_finish(w, &err);
  } else {
    EDV_LOG_D("ops", "%s operation %s done after %u polls",
              edv_op_kind_name(w->kind), w->name, w->polls);
    ops_finish(w, NULL);
  }
}

static uint64_t ops_elapsed(edv_op_waiter *w)
{
  return uv_now(edv_engine_loop(w->engine)) - w->started;
}

static void ops_on_poll_timer(uv_timer_t *timer)
{
  edv_op_waiter *w = timer->data;

  if (w->state == OPS_RUNNING)
    ops_poll(w);
}

/* Schedules the next poll after the current backoff delay, then doubles
 * the delay up to its cap. */
static void ops_schedule(edv_op_waiter *w)
{
  uint64_t delay = w->delay_ms ? w->delay_ms : 1;

  uv_timer_start(&w->poll_timer, ops_on_poll_timer, delay, 0);
  w->delay_ms =
      w->delay_ms * 2 > w->poll_max_ms ? w->poll_max_ms : w->delay_ms * 2;
}

static void ops_on_deadline(uv_timer_t *timer)
{
  edv_op_waiter *w = timer->data;
  edv_error err;
  const char *status = ops_str(w->op, "status");

  edv_error_set(&err, EDV_ETIMEDOUT,
                "%s operation %s not done after %llu s%s%s",
                edv_op_kind_name(w->kind), w->name,
                (unsigned long long)(w->deadline_ms / 1000),
                status ? "; last status " : "", status ? status : "");
  snprintf(err.where, sizeof(err.where), "wait %s", w->label);
  ops_finish(w, &err);
}

/* Does this failed poll mean "the wait method is not offered here"? */
static int ops_wait_unavailable(const edv_response *res)
{
  return res->http_status == 404 || res->http_status == 405 ||
         res->http_status == 501;
}

static void ops_on_error(edv_op_waiter *w, const edv_response *res)
{
  const edv_error *e = res->error;

  if (e->code == EDV_ECANCELED) { /* the engine is closing */
    ops_finish(w, e);
    return;
  }
  if (w->use_wait && ops_wait_unavailable(res)) {
    EDV_LOG_I("ops", "%s.wait unavailable (HTTP %d): polling with GET",
              w->label, res->http_status);
    w->use_wait = 0;
    ops_poll(w);
    return;
  }
  if (edv_error_is_transient(e) || e->code == EDV_ETIMEDOUT) {
    EDV_LOG_D("ops", "%s: poll of %s failed (%s), trying again", w->label,
              w->name, edv_err_name(e->code));
    ops_schedule(w); /* the deadline timer bounds this */
    return;
  }
  ops_finish(w, e);
}

static void ops_on_response(void *data, const edv_response *res)
{
  edv_op_waiter *w = data;
  edv_error err;

  w->call = NULL;
  if (w->state == OPS_FINISHING) { /* cancelled or past the deadline */
    ops_close(w);
    return;
  }
  w->polls++;
  if (res->error) {
    ops_on_error(w, res);
    return;
  }
  if (!res->json || !json_object_is_type(res->json, json_type_object)) {
    edv_error_set(&err, EDV_EPROTO, "%s: answer is not a JSON object",
                  w->label);
    ops_finish(w, &err);
    return;
  }
  json_object_put(w->op);
  w->op = json_object_get(res->json);
  if (edv_op_is_done(w->kind, w->op)) {
    ops_finish_done(w);
    return;
  }
  if (w->progress_cb)
    w->progress_cb(w->data, w->op);
  if (w->state != OPS_RUNNING) /* progress_cb cancelled us */
    return;
  if (w->use_wait && res->elapsed_ms >= w->poll_initial_ms) {
    w->delay_ms = w->poll_initial_ms; /* a real wait: ask again at once */
    ops_poll(w);
  } else {
    ops_schedule(w);
  }
}

static void ops_poll(edv_op_waiter *w)
{
  edv_request req;
  edv_error err;
  char label[80];
  uint64_t left, elapsed;
  int result;

  elapsed = ops_elapsed(w);
  left = elapsed < w->deadline_ms ? w->deadline_ms - elapsed : 1;
  memset(&req, 0, sizeof(req));
  req.api = w->api;
  req.method = w->use_wait ? "POST" : "GET";
  req.path = w->use_wait ? w->wait_path : w->get_path;
  req.flags = EDV_REQ_IDEMPOTENT; /* wait and get change nothing */
  req.timeout_ms = left < w->call_timeout_ms ? left : w->call_timeout_ms;
  snprintf(label, sizeof(label), "%s.%s", w->label,
           w->use_wait ? "wait" : "get");
  req.label = label;
  result = edv_call_submit(w->engine, &req, ops_on_response, w, &w->call);
  if (result != 0) {
    w->call = NULL;
    edv_error_set(&err,
                  result > 0 && result < EDV_ERR__LAST ? (edv_code)result
                                                       : EDV_EINTERNAL,
                  "%s: could not submit the poll", label);
    ops_finish(w, &err);
  }
}

static void ops_opts(edv_op_waiter *w, const edv_op_wait_opts *o)
{
  w->deadline_ms =
      o && o->deadline_ms ? o->deadline_ms : OPS_DEFAULT_DEADLINE_MS;
  w->poll_initial_ms = o && o->poll_initial_ms ? o->poll_initial_ms
                                               : OPS_DEFAULT_POLL_INITIAL_MS;
  w->poll_max_ms =
      o && o->poll_max_ms ? o->poll_max_ms : OPS_DEFAULT_POLL_MAX_MS;
  if (w->poll_max_ms < w->poll_initial_ms)
    w->poll_max_ms = w->poll_initial_ms;
  w->call_timeout_ms = o && o->call_timeout_ms ? o->call_timeout_ms
                                               : OPS_DEFAULT_CALL_TIMEOUT_MS;
  w->delay_ms = w->poll_initial_ms;
  w->progress_cb = o ? o->progress_cb : NULL;
}

int edv_op_wait(edv_engine *engine, json_object *op,
                const edv_op_wait_opts *opts, edv_op_done_cb cb, void *data,
                edv_op_waiter **waiterp, edv_error *err)
{
  edv_op_waiter *w;
  uv_loop_t *loop;
  int result;

  if (waiterp)
    *waiterp = NULL;
  if (!engine || !cb)
    return edv_error_set(err, EDV_EINVAL,
                         "edv_op_wait: engine and callback "
                         "are required");
  w = calloc(1, sizeof(*w));
  if (!w)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  w->engine = engine;
  w->kind = edv_op_detect(op);
  w->cb = cb;
  w->data = data;
  ops_opts(w, opts);
  if (w->kind == EDV_OP_UNKNOWN)
    result = edv_error_set(err, EDV_EINVAL, "not a long-running operation");
  else if (edv_op_is_done(w->kind, op))
    result = 0; /* nothing to poll: no path needed */
  else
    result = ops_build_paths(w, op, opts, err);
  if (result != 0) {
    ops_free(w);
    return result;
  }
  if (!w->name[0]) {
    const char *name = ops_str(op, w->kind == EDV_OP_DNS ? "id" : "name");
    edv__strlcpy(w->name, name ? name : "?", sizeof(w->name));
  }
  w->op = json_object_get(op);
  loop = edv_engine_loop(engine);
  w->started = uv_now(loop);
  uv_timer_init(loop, &w->poll_timer);
  uv_timer_init(loop, &w->deadline_timer);
  w->poll_timer.data = w;
  w->deadline_timer.data = w;
  w->magic = OPS_MAGIC;
  if (waiterp)
    *waiterp = w;
  if (edv_op_is_done(w->kind, op)) {
    ops_finish_done(w); /* the callback still runs from the loop */
    return 0;
  }
  uv_timer_start(&w->deadline_timer, ops_on_deadline, w->deadline_ms, 0);
  EDV_LOG_D("ops", "waiting for %s operation %s (%s)",
            edv_op_kind_name(w->kind), w->name, w->get_path);
  if (w->use_wait)
    ops_poll(w);
  else
    ops_schedule(w);
  return 0;
}

/* A minimal operation of shape `kind` from a name and location. */
static json_object *ops_stub(edv_op_kind kind, const char *name,
                             const char *location)
{
  json_object *op = json_object_new_object();
  static const char *const kinds[] = {NULL, "compute#operation",
                                      "sql#operation", "dns#change", NULL};
  int is_url = strstr(name, "://") != NULL || name[0] == '/';

  if (!op)
    return NULL;
  if (kinds[kind])
    json_object_object_add(op, "kind", json_object_new_string(kinds[kind]));
  if (kind == EDV_OP_DNS) {
    json_object_object_add(op, "id", json_object_new_string(name));
    json_object_object_add(op, "status", json_object_new_string("pending"));
    return op;
  }
  if (kind == EDV_OP_LRO) {
    if (is_url && edv__url_path(name) &&
        strncmp(edv__url_path(name), "/v1/", 4) == 0)
      name = edv__url_path(name) + 4;
    json_object_object_add(op, "name", json_object_new_string(name));
    return op;
  }
  json_object_object_add(op, "status", json_object_new_string("PENDING"));
  if (is_url) {
    char last[96];

    json_object_object_add(op, "selfLink", json_object_new_string(name));
    if (edv__url_last_segment(name, last, sizeof(last)))
      json_object_object_add(op, "name", json_object_new_string(last));
    return op;
  }
  json_object_object_add(op, "name", json_object_new_string(name));
  if (kind == EDV_OP_COMPUTE && location && *location)
    json_object_object_add(op,
                           ops_looks_like_zone(location) ? "zone" : "region",
                           json_object_new_string(location));
  return op;
}

int edv_op_wait_name(edv_engine *engine, edv_op_kind kind, const char *name,
                     const char *location, const edv_op_wait_opts *opts,
                     edv_op_done_cb cb, void *data, edv_op_waiter **waiterp,
                     edv_error *err)
{
  json_object *op;
  int result;

  if (waiterp)
    *waiterp = NULL;
  if (!name || !*name || kind <= EDV_OP_UNKNOWN || kind > EDV_OP_LRO)
    return edv_error_set(err, EDV_EINVAL,
                         "edv_op_wait_name: a kind and a name are required");
  op = ops_stub(kind, name, location);
  if (!op)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  result = edv_op_wait(engine, op, opts, cb, data, waiterp, err);
  json_object_put(op);
  return result;
}

void edv_op_cancel(edv_op_waiter *w)
{
  edv_error err;

  if (!w || w->magic != OPS_MAGIC || w->state != OPS_RUNNING)
    return;
  edv_error_set(&err, EDV_ECANCELED, "wait for %s operation %s cancelled",
                edv_op_kind_name(w->kind), w->name);
  ops_finish(w, &err);
}
