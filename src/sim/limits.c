/*
 * limits.c - quotas, per-minute rate limits and injected faults.
 *
 * Rate limits follow Compute's documented behaviour: a per-minute bucket
 * that refills at the next whole minute (of the simulated clock), with
 * reads and writes counted apart. Google's quota layer sends no
 * Retry-After, so neither do we. Limits are 0 (unlimited) until a test sets
 * them through POST /_sim/limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

/* --- quotas ------------------------------------------------------------- */

static const char *region_key(const char *region)
{
  return region && *region ? region : "global";
}

static sim_quota *quota_find(sim *s, const char *metric, const char *region)
{
  region = region_key(region);
  for (sim_quota *q = s->quotas; q; q = q->next)
    if (strcmp(q->metric, metric) == 0 && strcmp(q->region, region) == 0)
      return q;
  return NULL;
}

void sim_quota_define(sim *s, const char *metric, const char *region,
                      double limit)
{
  sim_quota *q = quota_find(s, metric, region), **pp;

  if (q) {
    q->limit = limit;
    return;
  }
  q = calloc(1, sizeof(*q));
  if (q == NULL)
    return;
  q->metric = strdup(metric);
  q->region = strdup(region_key(region));
  q->limit = limit;
  if (!q->metric || !q->region) {
    free(q->metric);
    free(q->region);
    free(q);
    return;
  }
  /* Keep definition order: regions.get lists quotas in that order. */
  for (pp = &s->quotas; *pp; pp = &(*pp)->next)
    ;
  *pp = q;
}

int sim_quota_take(sim *s, sim_resp *resp, const char *metric,
                   const char *region, double amount)
{
  sim_quota *q = quota_find(s, metric, region);

  if (q == NULL)
    return 0;
  if (q->usage + amount > q->limit) {
    if (strcmp(q->region, "global") == 0)
      sim_err_legacy(resp, 403, "quotaExceeded",
                     "Quota '%s' exceeded. Limit: %.1f globally.", metric,
                     q->limit);
    else
      sim_err_legacy(resp, 403, "quotaExceeded",
                     "Quota '%s' exceeded. Limit: %.1f in region %s.", metric,
                     q->limit, q->region);
    return -1;
  }
  q->usage += amount;
  sim_dirty(s);
  return 0;
}

void sim_quota_give(sim *s, const char *metric, const char *region,
                    double amount)
{
  sim_quota *q = quota_find(s, metric, region);

  if (q == NULL)
    return;
  q->usage = q->usage > amount ? q->usage - amount : 0;
  sim_dirty(s);
}

json_object *sim_quota_json(sim *s, const char *region)
{
  json_object *arr = json_object_new_array();

  region = region_key(region);
  for (sim_quota *q = s->quotas; q; q = q->next) {
    json_object *o;

    if (strcmp(q->region, region) != 0)
      continue;
    o = json_object_new_object();
    json_object_object_add(o, "metric", json_object_new_string(q->metric));
    json_object_object_add(o, "limit", json_object_new_double(q->limit));
    json_object_object_add(o, "usage", json_object_new_double(q->usage));
    json_object_array_add(arr, o);
  }
  return arr;
}

json_object *sim__quotas_save(sim *s)
{
  json_object *arr = json_object_new_array();

  for (sim_quota *q = s->quotas; q; q = q->next) {
    json_object *o = json_object_new_object();

    json_object_object_add(o, "metric", json_object_new_string(q->metric));
    json_object_object_add(o, "region", json_object_new_string(q->region));
    json_object_object_add(o, "limit", json_object_new_double(q->limit));
    json_object_object_add(o, "usage", json_object_new_double(q->usage));
    json_object_array_add(arr, o);
  }
  return arr;
}

void sim__quotas_load(sim *s, json_object *arr)
{
  size_t n = arr ? json_object_array_length(arr) : 0;

  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    const char *m = json_object_get_string(json_object_object_get(o, "metric"));
    const char *r = json_object_get_string(json_object_object_get(o, "region"));
    sim_quota *q;

    if (m == NULL)
      continue;
    sim_quota_define(
        s, m, r, json_object_get_double(json_object_object_get(o, "limit")));
    q = quota_find(s, m, r);
    if (q)
      q->usage = json_object_get_double(json_object_object_get(o, "usage"));
  }
}

void sim__quotas_reset_usage(sim *s)
{
  for (sim_quota *q = s->quotas; q; q = q->next)
    q->usage = 0;
}

void sim__quotas_free(sim *s)
{
  while (s->quotas) {
    sim_quota *q = s->quotas;

    s->quotas = q->next;
    free(q->metric);
    free(q->region);
    free(q);
  }
}

/* --- rate limits -------------------------------------------------------- */

int sim__rate_check(sim *s, sim_req *req)
{
  sim_api api = sim_req_api(req);
  sim_ratelimit *rl = &s->rate[api];
  uint64_t minute = sim_now_ms(s) / 60000;
  int write = (req->rt->r->flags & SIM_ROUTE_WRITE) ||
              strcmp(sim_req_verb(req), "GET") != 0;
  long *count = write ? &rl->writes : &rl->reads;
  long limit = write ? rl->write_limit : rl->read_limit;

  if (api == SIM_API_ADMIN)
    return 0;
  if (rl->minute != minute) {
    rl->minute = minute;
    rl->reads = rl->writes = 0;
  }
  if (limit <= 0 || *count < limit) {
    (*count)++;
    return 0;
  }
  if (api == SIM_API_COMPUTE) {
    sim_err_legacy(&req->resp, 403, "rateLimitExceeded",
                   "Quota exceeded for quota metric '%s' and limit '%s per "
                   "minute' of service 'compute.googleapis.com' for consumer "
                   "'project_number:%llu'.",
                   write ? "Queries" : "Read requests",
                   write ? "Queries" : "Read requests",
                   (unsigned long long)s->project_number);
  } else {
    sim_err_rpc_reason(
        &req->resp, 429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED",
        "Quota exceeded for quota metric 'Queries' and limit "
        "'Queries per minute per user' of service '%s' for "
        "consumer 'project_number:%llu'.",
        sim_api_host(api), (unsigned long long)s->project_number);
  }
  return -1;
}

json_object *sim__limits_json(sim *s)
{
  json_object *o = json_object_new_object();

  for (int i = 1; i < SIM_API__COUNT; i++) {
    json_object *l = json_object_new_object();

    json_object_object_add(l, "readsPerMinute",
                           json_object_new_int64(s->rate[i].read_limit));
    json_object_object_add(l, "writesPerMinute",
                           json_object_new_int64(s->rate[i].write_limit));
    json_object_object_add(o, sim_api_name((sim_api)i), l);
  }
  return o;
}

/* {"api":"compute","readsPerMinute":N,"writesPerMinute":M} */
int sim__limits_set(sim *s, json_object *spec)
{
  json_object *v;
  sim_api api = sim_api_by_name(
      json_object_get_string(json_object_object_get(spec, "api")));

  if (api == SIM_API_NONE)
    return -1;
  if (json_object_object_get_ex(spec, "readsPerMinute", &v))
    s->rate[api].read_limit = (long)json_object_get_int64(v);
  if (json_object_object_get_ex(spec, "writesPerMinute", &v))
    s->rate[api].write_limit = (long)json_object_get_int64(v);
  return 0;
}

/* --- faults ------------------------------------------------------------- */

static void fault_free(sim_fault *f)
{
  free(f->method);
  free(f->reason);
  free(f->message);
  free(f->fail_op);
  free(f->op_code);
  free(f->op_message);
  free(f->unhealthy);
  free(f->unhealthy_image);
  free(f->region_down);
  free(f->mtarget);
  free(f);
}

void sim__faults_clear(sim *s)
{
  while (s->faults) {
    sim_fault *f = s->faults;

    s->faults = f->next;
    sim__mfault_ended(s, f);
    fault_free(f);
  }
}

void sim__faults_remove(sim *s, int id)
{
  for (sim_fault **pp = &s->faults; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id) {
      sim_fault *f = *pp;

      *pp = f->next;
      sim__mfault_ended(s, f);
      fault_free(f);
      return;
    }
  }
}

static int fault_applies(const sim_fault *f, sim_req *req)
{
  if (f->count == 0)
    return 0;
  if (f->api != SIM_API_NONE && f->api != sim_req_api(req))
    return 0;
  return f->method == NULL || strcmp(f->method, sim_req_method_id(req)) == 0;
}

static const char *legacy_reason(int code)
{
  switch (code) {
  case 400:
    return "badRequest";
  case 403:
    return "forbidden";
  case 404:
    return "notFound";
  case 409:
    return "conflict";
  case 429:
    return "rateLimitExceeded";
  default:
    return "backendError";
  }
}

/*
 * Before the handler: an injected error answers now (returns -1), added
 * latency is returned in *latency_ms, and drop-after-apply marks the
 * request so its answer is replaced by a connection reset.
 */
int sim__fault_pre(sim *s, sim_req *req, uint64_t *latency_ms)
{
  if (sim_req_api(req) == SIM_API_ADMIN)
    return 0;
  for (sim_fault *f = s->faults; f; f = f->next) {
    if (!fault_applies(f, req))
      continue;
    if (f->latency_ms > *latency_ms &&
        (f->latency_rate >= 1 || sim_rand01(s) < f->latency_rate))
      *latency_ms = f->latency_ms;
    if (f->error_rate > 0 && sim_rand01(s) < f->error_rate) {
      const char *msg =
          f->message ? f->message : "The service is currently unavailable.";

      if (f->count > 0)
        f->count--;
      if (sim_api_legacy(sim_req_api(req)))
        sim_err_legacy(&req->resp, f->code,
                       f->reason ? f->reason : legacy_reason(f->code), "%s",
                       msg);
      else
        sim_err_rpc(&req->resp, f->code,
                    f->reason ? f->reason : sim_status_for_code(f->code), "%s",
                    msg);
      return -1;
    }
    if (f->drop_rate > 0 && sim_rand01(s) < f->drop_rate) {
      if (f->count > 0)
        f->count--;
      req->drop = 1;
    }
  }
  return 0;
}

const sim_fault *sim__fault_op(sim *s, const char *method_id,
                               const char *operation_type)
{
  for (sim_fault *f = s->faults; f; f = f->next) {
    if (f->fail_op == NULL || f->count == 0)
      continue;
    if ((method_id && strcmp(f->fail_op, method_id) == 0) ||
        (operation_type && strcmp(f->fail_op, operation_type) == 0) ||
        strcmp(f->fail_op, "*") == 0) {
      if (f->count > 0)
        f->count--;
      return f;
    }
  }
  return NULL;
}

int sim_fault_unhealthy(sim *s, const char *instance)
{
  const char *base = strrchr(instance, '/');

  base = base ? base + 1 : instance;
  for (sim_fault *f = s->faults; f; f = f->next)
    if (f->unhealthy && (strcmp(f->unhealthy, instance) == 0 ||
                         strcmp(f->unhealthy, base) == 0))
      return 1;
  return 0;
}

int sim_fault_unhealthy_image(sim *s, const char *image)
{
  const char *base = strrchr(image, '/');

  base = base ? base + 1 : image;
  for (sim_fault *f = s->faults; f; f = f->next)
    if (f->unhealthy_image && (strcmp(f->unhealthy_image, image) == 0 ||
                               strcmp(f->unhealthy_image, base) == 0))
      return 1;
  return 0;
}

static char *opt_str(json_object *o, const char *k)
{
  json_object *v;

  return json_object_object_get_ex(o, k, &v) &&
                 json_object_is_type(v, json_type_string)
             ? strdup(json_object_get_string(v))
             : NULL;
}

/*
 * {"api","method","errorRate","code","reason","message","latencyMs",
 *  "latencyRate","dropAfterApply","count","failOperation","operationError":{"code",
 *  "message","httpStatus"},"unhealthy","unhealthyImage","regionDown"}, or a
 * metric fault of usage.c ("backendErrors" + "rate", "sqlDown", "vmLoad" +
 * "cpu"/"memory", "appDown").
 * Returns the new fault's
 * id.
 */
int sim__faults_add(sim *s, json_object *spec, char *err, size_t errlen)
{
  sim_fault *f = calloc(1, sizeof(*f)), **pp;
  json_object *v, *oe;
  const char *api;

  if (f == NULL)
    return -1;
  api = json_object_get_string(json_object_object_get(spec, "api"));
  f->api = sim_api_by_name(api);
  if (api && f->api == SIM_API_NONE && strcmp(api, "*") != 0) {
    snprintf(err, errlen, "unknown api '%s'", api);
    fault_free(f);
    return -1;
  }
  f->method = opt_str(spec, "method");
  f->error_rate =
      json_object_get_double(json_object_object_get(spec, "errorRate"));
  f->code = json_object_object_get_ex(spec, "code", &v) ? json_object_get_int(v)
                                                        : 503;
  f->reason = opt_str(spec, "reason");
  f->message = opt_str(spec, "message");
  f->latency_ms = (uint64_t)json_object_get_int64(
      json_object_object_get(spec, "latencyMs"));
  f->latency_rate = json_object_object_get_ex(spec, "latencyRate", &v)
                        ? json_object_get_double(v)
                        : 1.0;
  f->drop_rate =
      json_object_get_double(json_object_object_get(spec, "dropAfterApply"));
  f->count = json_object_object_get_ex(spec, "count", &v)
                 ? (long)json_object_get_int64(v)
                 : -1;
  f->fail_op = opt_str(spec, "failOperation");
  if (json_object_object_get_ex(spec, "operationError", &oe)) {
    f->op_code = opt_str(oe, "code");
    f->op_message = opt_str(oe, "message");
    f->op_http = json_object_get_int(json_object_object_get(oe, "httpStatus"));
  }
  f->unhealthy = opt_str(spec, "unhealthy");
  f->unhealthy_image = opt_str(spec, "unhealthyImage");
  if (f->unhealthy_image &&
      (!*f->unhealthy_image || !sim_valid_compute_name(f->unhealthy_image))) {
    snprintf(err, errlen, "unhealthyImage must name an image");
    fault_free(f);
    return -1;
  }
  f->region_down = opt_str(spec, "regionDown");
  if (f->region_down && (!*f->region_down || strchr(f->region_down, '/'))) {
    snprintf(err, errlen, "regionDown must name a region");
    fault_free(f);
    return -1;
  }
  if (f->code < 400 || f->code > 599) {
    snprintf(err, errlen, "code must be an HTTP error status");
    fault_free(f);
    return -1;
  }
  if (sim__mfault_parse(f, spec, err, errlen) < 0) {
    fault_free(f);
    return -1;
  }
  f->id = ++s->next_fault_id;
  for (pp = &s->faults; *pp; pp = &(*pp)->next)
    ;
  *pp = f;
  sim__mfault_began(s, f);
  return f->id;
}

json_object *sim__faults_json(sim *s)
{
  json_object *arr = json_object_new_array();

  for (sim_fault *f = s->faults; f; f = f->next) {
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_int(f->id));
    json_object_object_add(o, "api",
                           json_object_new_string(f->api == SIM_API_NONE
                                                      ? "*"
                                                      : sim_api_name(f->api)));
    if (f->method)
      json_object_object_add(o, "method", json_object_new_string(f->method));
    json_object_object_add(o, "errorRate",
                           json_object_new_double(f->error_rate));
    json_object_object_add(o, "code", json_object_new_int(f->code));
    json_object_object_add(o, "latencyMs",
                           json_object_new_int64((int64_t)f->latency_ms));
    json_object_object_add(o, "latencyRate",
                           json_object_new_double(f->latency_rate));
    json_object_object_add(o, "dropAfterApply",
                           json_object_new_double(f->drop_rate));
    json_object_object_add(o, "count", json_object_new_int64(f->count));
    if (f->fail_op)
      json_object_object_add(o, "failOperation",
                             json_object_new_string(f->fail_op));
    if (f->unhealthy)
      json_object_object_add(o, "unhealthy",
                             json_object_new_string(f->unhealthy));
    if (f->unhealthy_image)
      json_object_object_add(o, "unhealthyImage",
                             json_object_new_string(f->unhealthy_image));
    if (f->region_down)
      json_object_object_add(o, "regionDown",
                             json_object_new_string(f->region_down));
    if (f->mkind)
      sim__mfault_fields(o, f->mkind, f->mtarget, f->mrate, f->mcpu, f->mmem);
    json_object_array_add(arr, o);
  }
  return arr;
}
