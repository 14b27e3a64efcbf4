/*
 * api_ops.c - the day-2 routes of the Management API:
 *
 *   POST /api/tenants/{id}/backup    on-demand Cloud SQL backup (202)
 *   GET  /api/tenants/{id}/backups   the instance's backup runs
 *   POST /api/tenants/{id}/restore   restore one of them (202)
 *   GET  /api/tenants/{id}/metrics   recent health from Cloud Monitoring
 *   GET  /api/infrastructure/capacity  quotas and how many tenants fit
 *
 * Backups and restores are jobs: the Cloud SQL operation is waited for on
 * the loop (edv/ops.h) and its end is journalled ("backup" / "restore",
 * after a "backup.start" / "restore.start" event). One job per tenant at a
 * time (a second one is 409, as Cloud SQL itself allows one operation per
 * instance); the job in flight shows as "operation" in GET .../backups and
 * GET .../metrics. When edvd stops, waiting stops (the operation goes on
 * in Cloud SQL) and the journal says "backup.interrupted"; after a restart
 * the first request to one of the tenant's routes here finds the started
 * job without an end in the journal and follows its operation again.
 *
 * An Idempotency-Key on POST backup/restore is recorded in the store like
 * for POST /api/tenants (same key with another request: 409); a replay is
 * answered from the journal's ".start" event of the first request, so a
 * backup is never taken twice for one key.
 *
 * Capacity answers come from a snapshot at most 30 s old, refreshed at
 * most every 5 s and only when the fleet changed: one regions.get per
 * region, one urlMaps.get, the pages of sqladmin instances.list, and one
 * machineTypes.get per machine type ever (kept).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "edv/ops.h"
#include "gcp/gcp.h"
#include "server/api.h"
#include "server/viewcache.h"
#include "tenant/spec.h"
#include "tenant/steps.h"
#include "tenant/subnet.h"

#define MOD "api"

#define OPS_CALL_MS       20000u   /* one Cloud API call of a route */
#define OPS_DEADLINE_MS   50000u   /* a suspended request: two calls + margin */
#define OPS_WAIT_MS       3600000u /* a backup or restore operation */
#define OPS_BACKUP_ID_MAX 19       /* int64 digits */
#define OPS_DESC_MAX      200

#define SQLP "/sql/v1beta4/projects/%s/instances/%s"

/* ---- small helpers
 * -----------------------------------------------------------*/

static json_object *jstr_or_null(const char *s)
{
  return s && *s ? json_object_new_string(s) : NULL;
}

static const char *jget_str(json_object *o, const char *key)
{
  json_object *v;

  if (!o || !json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static int get_rec(api_ctx *c, const char *id, edv__tenant_rec *rec)
{
  if (edv__spec_check_id(id, NULL) != 0 ||
      edv__store_tenant_get(c->d->store, id, rec, NULL) != 0 ||
      rec->phase == EDV_PHASE_DELETED) {
    api_error(c, 404, NULL, NULL, "tenant '%s' not found", id);
    return -1;
  }
  return 0;
}

static void hex_sha256(const char *a, const char *b, const char *d, char *out)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char h[32];
  unsigned len = 0;
  EVP_MD_CTX *m = EVP_MD_CTX_new();

  EVP_DigestInit_ex(m, EVP_sha256(), NULL);
  EVP_DigestUpdate(m, a, strlen(a));
  EVP_DigestUpdate(m, "\n", 1);
  EVP_DigestUpdate(m, b, strlen(b));
  EVP_DigestUpdate(m, "\n", 1);
  EVP_DigestUpdate(m, d, strlen(d));
  EVP_DigestFinal_ex(m, h, &len);
  EVP_MD_CTX_free(m);
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[h[i] >> 4];
    out[2 * i + 1] = hex[h[i] & 15];
  }
  out[64] = '\0';
}

/* RFC 3339 (as Google writes it) to ms since the epoch, or -1. */
static int64_t parse_rfc3339(const char *t)
{
  struct tm tm;
  int y, mo, d, h, mi, sec, n = 0;
  int64_t ms = 0, scale = 100;
  const char *p;

  if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
                   &n) != 6)
    return -1;
  p = t + n;
  if (*p == '.')
    for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
      ms += (*p - '0') * scale;
  if (*p != 'Z')
    return -1;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return (int64_t)timegm(&tm) * 1000 + ms;
}

static int submit(edvd *d, edv_api api, const char *method, const char *path,
                  json_object *body, const char *label, edv_response_cb cb,
                  void *data)
{
  edv_request rq;

  memset(&rq, 0, sizeof(rq));
  rq.api = api;
  rq.method = method;
  rq.path = path;
  rq.body = body;
  rq.label = label;
  rq.timeout_ms = OPS_CALL_MS;
  return edv_call_submit(d->engine, &rq, cb, data, NULL);
}

static void journal(edvd *d, const char *tenant, const char *actor,
                    const char *event, const char *detail, const char *op,
                    int64_t duration_ms, const char *error)
{
  edv__journal_rec j;

  if (!d->store)
    return;
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", actor);
  snprintf(j.event, sizeof(j.event), "%s", event);
  snprintf(j.api_call, sizeof(j.api_call), "%s", detail ? detail : "");
  snprintf(j.operation, sizeof(j.operation), "%s", op ? op : "");
  j.duration_ms = duration_ms;
  snprintf(j.error, sizeof(j.error), "%s", error ? error : "");
  edvd_journal(d, &j);
}

/* ---- jobs: backups and restores in flight
 * ----------------------------------------------------------*/

typedef enum { JOB_BACKUP = 0, JOB_RESTORE = 1 } job_kind;

static const char *const job_names[] = {"backup", "restore"};

typedef struct ops_job {
  struct ops_job *next;
  edvd *d;
  job_kind kind;
  char tenant[EDV_STORE_ID_SZ];
  char instance[EDV_FQDN_MAX];
  char backup_id[OPS_BACKUP_ID_MAX + 1];
  char description[OPS_DESC_MAX + 1];
  char op_name[EDV_STORE_OP_SZ];
  char actor[EDV_STORE_SMALL_SZ];
  char tag[17]; /* idempotency tag, or "" */
  int64_t started_ms;
  uint64_t t0;
  api_ctx *c; /* the request until it is answered */
  edv_op_waiter *waiter;
  int cancelled;
  uv_check_t check; /* watches for the shutdown */
} ops_job;

static ops_job *ops_jobs;
static json_object *ops_recovered; /* tenants job_recover() looked at */

static ops_job *job_find(const char *tenant)
{
  for (ops_job *j = ops_jobs; j; j = j->next)
    if (strcmp(j->tenant, tenant) == 0)
      return j;
  return NULL;
}

static void job_recover(edvd *d, const edv__tenant_rec *rec);

void api_ops_recover(edvd *d, const char *tenant)
{
  edv__tenant_rec rec;

  if (edv__store_tenant_get(d->store, tenant, &rec, NULL) == 0)
    job_recover(d, &rec);
}

void api_ops_free(void)
{
  json_object_put(ops_recovered);
  ops_recovered = NULL;
}

int api_ops_job_running(const char *tenant, int restore_only)
{
  const ops_job *j = job_find(tenant);

  return j && (!restore_only || j->kind == JOB_RESTORE);
}

static void job_closed(uv_handle_t *h)
{
  free(h->data);
}

static void job_end(ops_job *job)
{
  for (ops_job **p = &ops_jobs; *p; p = &(*p)->next)
    if (*p == job) {
      *p = job->next;
      break;
    }
  uv_check_stop(&job->check);
  uv_close((uv_handle_t *)&job->check, job_closed);
}

/* Every loop turn: once edvd stops, stop waiting (the engine closes). */
static void job_on_check(uv_check_t *h)
{
  ops_job *job = h->data;

  if (job->d->stopping && job->waiter && !job->cancelled) {
    job->cancelled = 1;
    edv_op_cancel(job->waiter);
  }
}

static json_object *job_obj(const ops_job *job)
{
  json_object *o = json_object_new_object();
  char ts[40];

  json_object_object_add(o, "kind",
                         json_object_new_string(job_names[job->kind]));
  json_object_object_add(o, "backup_id", jstr_or_null(job->backup_id));
  json_object_object_add(o, "operation", jstr_or_null(job->op_name));
  api_time(job->started_ms, ts, sizeof(ts));
  json_object_object_add(o, "started", json_object_new_string(ts));
  return o;
}

static json_object *job_of(const char *tenant)
{
  ops_job *job = job_find(tenant);

  return job ? job_obj(job) : NULL;
}

/* The 202 answer of a started (or replayed) job. */
static void job_answer(api_ctx *c, job_kind kind, const char *tenant,
                       const char *instance, const char *backup_id,
                       const char *op, const char *status, int64_t started_ms,
                       int replayed)
{
  json_object *o = json_object_new_object();
  char ts[40], loc[128];

  json_object_object_add(o, "tenant", json_object_new_string(tenant));
  json_object_object_add(o, "kind", json_object_new_string(job_names[kind]));
  json_object_object_add(o, "instance", json_object_new_string(instance));
  json_object_object_add(o, "backup_id", jstr_or_null(backup_id));
  json_object_object_add(o, "operation", jstr_or_null(op));
  json_object_object_add(o, "status", json_object_new_string(status));
  api_time(started_ms, ts, sizeof(ts));
  json_object_object_add(o, "started", json_object_new_string(ts));
  json_object_object_add(o, "replayed", json_object_new_boolean(replayed));
  snprintf(loc, sizeof(loc), "/api/tenants/%s/backups", tenant);
  edv__http_add_header(c->req, "Location", loc);
  api_send(c, 202, o);
}

static void job_on_done(void *data, json_object *op, const edv_error *err)
{
  ops_job *job = data;
  char detail[EDV_STORE_SMALL_SZ], msg[EDV_STORE_ERR_SZ] = "";
  int64_t ms = (int64_t)((uv_hrtime() - job->t0) / 1000000u);

  (void)op;
  job->waiter = NULL;
  if (err && err->code == EDV_ECANCELED && job->d->stopping) {
    /* Not an end: the next edvd follows the operation again. */
    snprintf(detail, sizeof(detail), "backup_id=%s",
             job->backup_id[0] ? job->backup_id : "-");
    journal(job->d, job->tenant, job->actor,
            job->kind == JOB_BACKUP ? "backup.interrupted"
                                    : "restore.interrupted",
            detail, job->op_name, ms,
            "edvd stopped while waiting; the operation goes on in Cloud "
            "SQL and is followed again after a restart");
    job_end(job);
    return;
  }
  if (err && err->code == EDV_ECANCELED)
    snprintf(msg, sizeof(msg), "the wait was cancelled");
  else if (err)
    snprintf(msg, sizeof(msg), "%s", err->message);
  snprintf(detail, sizeof(detail), "backup_id=%s result=%s",
           job->backup_id[0] ? job->backup_id : "-",
           !err                         ? "DONE"
           : err->code == EDV_ECANCELED ? "UNKNOWN"
                                        : "FAILED");
  journal(job->d, job->tenant, job->actor, job_names[job->kind], detail,
          job->op_name, ms, msg[0] ? msg : NULL);
  if (err)
    EDV_LOG_W(MOD, "tenant=%s %s %s: %s", job->tenant, job_names[job->kind],
              job->backup_id, msg);
  else
    EDV_LOG_I(MOD, "tenant=%s %s %s done in %lld ms", job->tenant,
              job_names[job->kind], job->backup_id, (long long)ms);
  job_end(job);
}

/* The mutating call answered: wait for its operation, answer 202. */
static void job_on_started(void *data, const edv_response *res)
{
  ops_job *job = data;
  api_ctx *c = job->c;
  edv_op_wait_opts wo;
  edv_error err;
  const char *name, *status;
  char detail[EDV_STORE_SMALL_SZ];

  job->c = NULL;
  if (res->error) {
    EDV_LOG_W(MOD, "tenant=%s %s: %s", job->tenant, job_names[job->kind],
              res->error->message);
    job_end(job);
    if (!api_resume(c))
      return;
    if (res->error->code == EDV_ECONFLICT || res->error->code == EDV_EBUSY ||
        res->http_status == 409)
      api_error(c, 409, "ABORTED", NULL,
                "Cloud SQL refused the %s of instance '%s' now (another "
                "operation runs on it?): %s",
                job_names[job->kind], job->instance, res->error->message);
    else
      api_error_edv(c, res->error, NULL);
    return;
  }
  name = jget_str(res->json, "name");
  status = jget_str(res->json, "status");
  if (job->kind == JOB_BACKUP) {
    json_object *bc;
    const char *bid = NULL;
    if (json_object_object_get_ex(res->json, "backupContext", &bc))
      bid = jget_str(bc, "backupId");
    snprintf(job->backup_id, sizeof(job->backup_id), "%s", bid ? bid : "");
  }
  snprintf(job->op_name, sizeof(job->op_name), "%s", name ? name : "");
  snprintf(detail, sizeof(detail), "backup_id=%s tag=%s",
           job->backup_id[0] ? job->backup_id : "-",
           job->tag[0] ? job->tag : "-");
  journal(job->d, job->tenant, job->actor,
          job->kind == JOB_BACKUP ? "backup.start" : "restore.start", detail,
          job->op_name, 0, NULL);
  if (job->d->stopping || !job->d->engine) {
    /* Not an end: the next edvd follows it (job_recover). */
    journal(job->d, job->tenant, job->actor,
            job->kind == JOB_BACKUP ? "backup.interrupted"
                                    : "restore.interrupted",
            detail, job->op_name, 0,
            "edvd stopped while starting; the operation goes on in Cloud "
            "SQL and is followed again after a restart");
    job_end(job);
    if (api_resume(c))
      api_error(c, 503, NULL, NULL, "edvd is stopping");
    return;
  }
  memset(&wo, 0, sizeof(wo));
  wo.deadline_ms = OPS_WAIT_MS;
  wo.poll_initial_ms = edv__fleet_op_poll_ms(job->d->fleet);
  if (edv_op_wait(job->d->engine, res->json, &wo, job_on_done, job,
                  &job->waiter, &err)) {
    /* Started but not followable: say so, in the journal too. */
    journal(job->d, job->tenant, job->actor, job_names[job->kind],
            "result=UNKNOWN", job->op_name, 0, err.message);
    job_end(job);
    if (api_resume(c))
      api_error(c, 502, "INTERNAL", NULL,
                "the %s started but its operation cannot be followed: %s",
                job_names[job->kind], err.message);
    return;
  }
  if (api_resume(c))
    job_answer(c, job->kind, job->tenant, job->instance, job->backup_id,
               job->op_name, status ? status : "PENDING", job->started_ms, 0);
}

static ops_job *job_alloc(edvd *d, const char *actor, job_kind kind,
                          const char *tenant, const char *instance,
                          const char *tag)
{
  ops_job *job = calloc(1, sizeof(*job));

  if (!job)
    return NULL;
  job->d = d;
  job->kind = kind;
  snprintf(job->tenant, sizeof(job->tenant), "%s", tenant);
  snprintf(job->instance, sizeof(job->instance), "%s", instance);
  snprintf(job->actor, sizeof(job->actor), "%s", actor);
  snprintf(job->tag, sizeof(job->tag), "%s", tag);
  job->started_ms = edv__store_wall_clock(NULL);
  job->t0 = uv_hrtime();
  uv_check_init(d->loop, &job->check);
  job->check.data = job;
  uv_check_start(&job->check, job_on_check);
  job->next = ops_jobs;
  ops_jobs = job;
  return job;
}

static ops_job *job_new(api_ctx *c, job_kind kind, const edv__tenant_rec *rec,
                        const char *instance, const char *tag)
{
  char actor[EDV_STORE_SMALL_SZ];

  snprintf(actor, sizeof(actor), "edvd:%.100s", c->who);
  return job_alloc(c->d, actor, kind, rec->id, instance, tag);
}

/* The last ".start" of the journal whose operation has no end event. */
typedef struct pend_ctx {
  int found;
  job_kind kind;
  char op[EDV_STORE_OP_SZ];
  char detail[EDV_STORE_SMALL_SZ];
  char actor[EDV_STORE_SMALL_SZ];
  int64_t time_ms;
} pend_ctx;

static int pend_one(void *data, const edv__journal_rec *r)
{
  pend_ctx *p = data;
  int kind;

  if (strcmp(r->event, "backup.start") == 0 ||
      strcmp(r->event, "restore.start") == 0) {
    if (!r->operation[0])
      return 0;
    p->found = 1;
    p->kind = r->event[0] == 'b' ? JOB_BACKUP : JOB_RESTORE;
    snprintf(p->op, sizeof(p->op), "%s", r->operation);
    snprintf(p->detail, sizeof(p->detail), "%s", r->api_call);
    snprintf(p->actor, sizeof(p->actor), "%s", r->actor);
    p->time_ms = r->time_ms;
    return 0;
  }
  kind = strcmp(r->event, "backup") == 0    ? JOB_BACKUP
         : strcmp(r->event, "restore") == 0 ? JOB_RESTORE
                                            : -1;
  if (kind >= 0 && p->found && strcmp(r->operation, p->op) == 0)
    p->found = 0;
  return 0;
}

/* After a restart: follows again the operation of a backup or restore
 * the journal says was started and never ended (edvd stopped meanwhile),
 * so its end is journalled and a second one is refused until then. */
static void job_recover(edvd *d, const edv__tenant_rec *rec)
{
  pend_ctx p;
  ops_job *job;
  edv_op_wait_opts wo;
  edv_error err;
  char inst[EDV_FQDN_MAX];
  const char *b, *t;

  if (d->stopping || !d->engine || job_find(rec->id))
    return;
  /* Once per tenant and process: the journal walk is not free. */
  if (!ops_recovered)
    ops_recovered = json_object_new_object();
  if (json_object_object_get_ex(ops_recovered, rec->id, NULL))
    return;
  json_object_object_add(ops_recovered, rec->id, NULL);
  memset(&p, 0, sizeof(p));
  if (edv__store_journal_list(d->store, rec->id, 0, 1000000u, pend_one, &p,
                              NULL) ||
      !p.found ||
      edv__name_sql_instance(rec->id, rec->generation, inst, sizeof(inst)))
    return;
  t = strstr(p.detail, " tag=");
  job = job_alloc(d, p.actor, p.kind, rec->id, inst,
                  t && t[5] != '-' ? t + 5 : "");
  if (!job)
    return;
  b = strstr(p.detail, "backup_id=");
  if (b && b[10] != '-')
    snprintf(job->backup_id, sizeof(job->backup_id), "%.*s",
             (int)strcspn(b + 10, " "), b + 10);
  snprintf(job->op_name, sizeof(job->op_name), "%s", p.op);
  job->started_ms = p.time_ms;
  memset(&wo, 0, sizeof(wo));
  wo.deadline_ms = OPS_WAIT_MS;
  wo.poll_initial_ms = edv__fleet_op_poll_ms(d->fleet);
  EDV_LOG_I(MOD, "tenant=%s: following %s operation %s again", rec->id,
            job_names[p.kind], p.op);
  if (edv_op_wait_name(d->engine, EDV_OP_SQL, p.op, NULL, &wo, job_on_done, job,
                       &job->waiter, &err)) {
    journal(d, rec->id, job->actor, job_names[p.kind], "result=UNKNOWN", p.op,
            0, err.message);
    job_end(job);
  }
}

/* ---- idempotency
 * -------------------------------------------------------------*/

typedef struct replay_ctx {
  const char *event, *tag;
  int found;
  char backup_id[OPS_BACKUP_ID_MAX + 1];
  char op[EDV_STORE_OP_SZ];
  int64_t time_ms;
} replay_ctx;

static int replay_one(void *data, const edv__journal_rec *r)
{
  replay_ctx *x = data;
  const char *t = strstr(r->api_call, " tag=");
  const char *b = strstr(r->api_call, "backup_id=");

  if (strcmp(r->event, x->event) != 0 || !t || strcmp(t + 5, x->tag) != 0)
    return 0;
  x->found = 1;
  x->time_ms = r->time_ms;
  snprintf(x->op, sizeof(x->op), "%s", r->operation);
  x->backup_id[0] = '\0';
  if (b && b[10] != '-')
    snprintf(x->backup_id, sizeof(x->backup_id), "%.*s",
             (int)strcspn(b + 10, " "), b + 10);
  return 0;
}

/*
 * Reads the Idempotency-Key header and records it with the request's
 * hash. Returns 0 to go on (tag filled, "" without a key), 1 when the
 * request was answered with the replay of a started job, -1 when it was
 * answered with an error.
 */
static int idem(api_ctx *c, job_kind kind, const edv__tenant_rec *rec,
                const char *canon, const char *instance, char *tag)
{
  const char *key = edv__http_header(c->req, "Idempotency-Key");
  char what[160], hash[65], full[65], prev[EDV_STORE_ID_SZ] = "";
  edv_error err;
  int result;
  replay_ctx x;

  tag[0] = '\0';
  if (!key)
    return 0;
  {
    size_t n = strlen(key);
    int ok = n > 0 && n < EDV_STORE_IDEMKEY_SZ;
    for (size_t i = 0; ok && i < n; i++)
      if (key[i] < 0x21 || key[i] > 0x7e)
        ok = 0;
    if (!ok) {
      api_error(c, 400, NULL, "Idempotency-Key",
                "Idempotency-Key: 1..%d printable ASCII characters",
                EDV_STORE_IDEMKEY_SZ - 1);
      return -1;
    }
  }
  snprintf(c->idem_key, sizeof(c->idem_key), "%s", key);
  snprintf(what, sizeof(what), "POST /api/tenants/%s/%s", rec->id,
           job_names[kind]);
  hex_sha256(what, canon, "", hash);
  hex_sha256(key, hash, "tag", full);
  snprintf(tag, 17, "%.16s", full);
  result = edv__store_idem_check(c->d->store, key, hash, rec->id, prev,
                                 sizeof(prev), &err);
  if (result == EDV_ECONFLICT) {
    api_error(c, 409, "ABORTED", "Idempotency-Key",
              "Idempotency-Key '%.64s' was used with a different request", key);
    return -1;
  }
  if (result && result != EDV_EEXIST) {
    api_error_edv(c, &err, NULL);
    return -1;
  }
  if (result != EDV_EEXIST)
    return 0;
  /* A replay: the first request's job, if it got as far as starting. */
  memset(&x, 0, sizeof(x));
  x.event = kind == JOB_BACKUP ? "backup.start" : "restore.start";
  x.tag = tag;
  if (edv__store_journal_list(c->d->store, rec->id, 0, 1000000u, replay_one, &x,
                              &err)) {
    api_error_edv(c, &err, NULL);
    return -1;
  }
  if (!x.found) {
    ops_job *j = job_find(rec->id);
    if (j && strcmp(j->tag, tag) == 0) {
      api_error(c, 409, "ABORTED", "Idempotency-Key",
                "the first request with Idempotency-Key '%.64s' is still "
                "being started; retry in a moment",
                key);
      return -1;
    }
    return 0; /* it failed before starting anything: do it now */
  }
  {
    ops_job *j = job_find(rec->id);
    int running = j && j->op_name[0] && strcmp(j->op_name, x.op) == 0;
    job_answer(c, kind, rec->id, instance, x.backup_id, x.op,
               running ? "RUNNING" : "DONE", x.time_ms, 1);
  }
  return 1;
}

/* ---- POST backup / restore: common checks
 * --------------------------------------------------------*/

/* Checks the tenant may start a job now; answers and returns -1 if not. */
static int job_gate(api_ctx *c, const edv__tenant_rec *rec, job_kind kind)
{
  ops_job *j;

  if (rec->phase != EDV_PHASE_READY) {
    api_error(c, 409, "FAILED_PRECONDITION", NULL,
              "tenant '%s' is %s; a %s needs a READY tenant", rec->id,
              edv__phase_name(rec->phase), job_names[kind]);
    return -1;
  }
  if (edvd_find_run(c->d, rec->id)) {
    api_error(c, 409, "ABORTED", NULL,
              "tenant '%s' is being driven now; retry once its run ends",
              rec->id);
    return -1;
  }
  j = job_find(rec->id);
  if (j) {
    api_error(c, 409, "ABORTED", NULL,
              "tenant '%s' has a %s in progress (operation %s); retry once "
              "it ends",
              rec->id, job_names[j->kind], j->op_name[0] ? j->op_name : "-");
    return -1;
  }
  return 0;
}

/* Parses an optional JSON body: NULL and 0 when there is none. */
static int optional_body(api_ctx *c, json_object **out)
{
  size_t len;

  *out = NULL;
  edv__http_body(c->req, &len);
  if (len == 0)
    return 0;
  *out = api_body_object(c);
  return *out ? 0 : -1;
}

static int only_fields(api_ctx *c, json_object *body, const char *allowed,
                       const char *list)
{
  json_object_object_foreach(body, key, val)
  {
    (void)val;
    if (strcmp(key, allowed) != 0) {
      api_error(c, 400, NULL, key, "field '%.64s' is not known (allowed: %s)",
                key, list);
      return -1;
    }
  }
  return 0;
}

/* ---- POST /api/tenants/{id}/backup
 * -------------------------------------------------------*/

void api_tenant_backup(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  edv__tenant_rec rec;
  json_object *body = NULL, *v, *rb;
  char inst[EDV_FQDN_MAX], desc[OPS_DESC_MAX + 1] = "", tag[17], path[400];
  ops_job *job;
  int r;

  if (api_query_only(c, (const char *const[]){NULL}) || get_rec(c, id, &rec))
    return;
  job_recover(d, &rec);
  if (optional_body(c, &body))
    return;
  if (body) {
    if (only_fields(c, body, "description", "description")) {
      json_object_put(body);
      return;
    }
    if (json_object_object_get_ex(body, "description", &v)) {
      const char *s = json_object_get_string(v);
      int ok =
          json_object_is_type(v, json_type_string) && strlen(s) <= OPS_DESC_MAX;
      for (const char *p = s; ok && *p; p++)
        if ((unsigned char)*p < 0x20)
          ok = 0;
      if (!ok) {
        json_object_put(body);
        api_error(c, 400, NULL, "description",
                  "field 'description' must be a string of at most %d "
                  "characters without control characters",
                  OPS_DESC_MAX);
        return;
      }
      snprintf(desc, sizeof(desc), "%s", s);
    }
    json_object_put(body);
  }
  if (edv__name_sql_instance(rec.id, rec.generation, inst, sizeof(inst))) {
    api_error(c, 500, NULL, NULL, "tenant '%s': no instance name", rec.id);
    return;
  }
  r = idem(c, JOB_BACKUP, &rec, desc, inst, tag);
  if (r)
    return;
  if (job_gate(c, &rec, JOB_BACKUP))
    return;
  if (!desc[0])
    snprintf(desc, sizeof(desc), "edvd on-demand backup by %s", c->who);
  job = job_new(c, JOB_BACKUP, &rec, inst, tag);
  if (!job) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  snprintf(job->description, sizeof(job->description), "%s", desc);
  snprintf(path, sizeof(path), SQLP "/backupRuns", edv__fleet_project(d->fleet),
           inst);
  rb = json_object_new_object();
  json_object_object_add(rb, "kind", json_object_new_string("sql#backupRun"));
  json_object_object_add(rb, "description", json_object_new_string(desc));
  job->c = c;
  /* Not retried: a lost answer would otherwise take a second backup. */
  if (submit(d, EDV_API_SQLADMIN, "POST", path, rb, "sql.backupRuns.insert",
             job_on_started, job)) {
    json_object_put(rb);
    job->c = NULL;
    job_end(job);
    api_error(c, 503, NULL, NULL, "cannot call Cloud SQL now");
    return;
  }
  json_object_put(rb);
  api_suspend(c, OPS_DEADLINE_MS);
}

/* ---- POST /api/tenants/{id}/restore
 * ------------------------------------------------------*/

static void restore_on_run(void *data, const edv_response *res)
{
  ops_job *job = data;
  api_ctx *c = job->c;
  const char *st;
  json_object *b, *ctx;
  char path[400];

  if (res->error) {
    job->c = NULL;
    job_end(job);
    if (!api_resume(c))
      return;
    if (res->error->code == EDV_ENOTFOUND)
      api_error(c, 404, NULL, "backup_id",
                "field 'backup_id': '%s' is not a backup of tenant '%s' "
                "(instance '%s'); see GET /api/tenants/%s/backups",
                job->backup_id, job->tenant, job->instance, job->tenant);
    else
      api_error_edv(c, res->error, NULL);
    return;
  }
  st = jget_str(res->json, "status");
  if (!st || strcmp(st, "SUCCESSFUL") != 0) {
    job->c = NULL;
    job_end(job);
    if (api_resume(c))
      api_error(c, 409, "FAILED_PRECONDITION", "backup_id",
                "field 'backup_id': backup '%s' is %s; only a SUCCESSFUL "
                "backup can be restored",
                job->backup_id, st ? st : "of unknown status");
    return;
  }
  if (job->d->stopping || !job->d->engine || !c->req) {
    /* Stopping, or the client is gone (its deadline passed): a restore
     * is destructive, never started for a request already answered. */
    job->c = NULL;
    job_end(job);
    if (api_resume(c))
      api_error(c, 503, NULL, NULL, "edvd is stopping; nothing was restored");
    return;
  }
  b = json_object_new_object();
  ctx = json_object_new_object();
  json_object_object_add(ctx, "kind",
                         json_object_new_string("sql#restoreBackupContext"));
  json_object_object_add(ctx, "backupRunId",
                         json_object_new_string(job->backup_id));
  json_object_object_add(ctx, "instanceId",
                         json_object_new_string(job->instance));
  json_object_object_add(
      ctx, "project",
      json_object_new_string(edv__fleet_project(job->d->fleet)));
  json_object_object_add(b, "restoreBackupContext", ctx);
  snprintf(path, sizeof(path), SQLP "/restoreBackup",
           edv__fleet_project(job->d->fleet), job->instance);
  if (submit(job->d, EDV_API_SQLADMIN, "POST", path, b,
             "sql.instances.restoreBackup", job_on_started, job)) {
    json_object_put(b);
    job->c = NULL;
    job_end(job);
    if (api_resume(c))
      api_error(c, 503, NULL, NULL, "cannot call Cloud SQL now");
    return;
  }
  json_object_put(b);
}

void api_tenant_restore(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  edv__tenant_rec rec;
  json_object *body, *v;
  char inst[EDV_FQDN_MAX], bid[OPS_BACKUP_ID_MAX + 1], tag[17], path[400];
  ops_job *job;
  const char *s;
  size_t n;
  int r;

  if (api_query_only(c, (const char *const[]){NULL}) || get_rec(c, id, &rec))
    return;
  job_recover(d, &rec);
  body = api_body_object(c);
  if (!body)
    return;
  if (only_fields(c, body, "backup_id", "backup_id")) {
    json_object_put(body);
    return;
  }
  if (!json_object_object_get_ex(body, "backup_id", &v)) {
    json_object_put(body);
    api_error(c, 400, NULL, "backup_id", "field 'backup_id' is missing");
    return;
  }
  s = json_object_get_string(v);
  n = json_object_is_type(v, json_type_string) ? strlen(s) : 0;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      n = 0;
  if (n == 0 || n > OPS_BACKUP_ID_MAX) {
    json_object_put(body);
    api_error(c, 400, NULL, "backup_id",
              "field 'backup_id' must be a backup run id: a string of 1..%d "
              "digits (see GET /api/tenants/%s/backups)",
              OPS_BACKUP_ID_MAX, rec.id);
    return;
  }
  snprintf(bid, sizeof(bid), "%s", s);
  json_object_put(body);
  if (edv__name_sql_instance(rec.id, rec.generation, inst, sizeof(inst))) {
    api_error(c, 500, NULL, NULL, "tenant '%s': no instance name", rec.id);
    return;
  }
  r = idem(c, JOB_RESTORE, &rec, bid, inst, tag);
  if (r)
    return;
  if (job_gate(c, &rec, JOB_RESTORE))
    return;
  job = job_new(c, JOB_RESTORE, &rec, inst, tag);
  if (!job) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  snprintf(job->backup_id, sizeof(job->backup_id), "%s", bid);
  /* Tenant isolation: the run must be one of this tenant's instance. */
  snprintf(path, sizeof(path), SQLP "/backupRuns/%s",
           edv__fleet_project(d->fleet), inst, bid);
  job->c = c;
  if (submit(d, EDV_API_SQLADMIN, "GET", path, NULL, "sql.backupRuns.get",
             restore_on_run, job)) {
    job->c = NULL;
    job_end(job);
    api_error(c, 503, NULL, NULL, "cannot call Cloud SQL now");
    return;
  }
  api_suspend(c, OPS_DEADLINE_MS);
}

/* ---- GET /api/tenants/{id}/backups
 * -------------------------------------------------------*/

typedef struct backups_ctx {
  api_ctx *c;
  char tenant[EDV_STORE_ID_SZ];
  char instance[EDV_FQDN_MAX];
} backups_ctx;

static json_object *time_or_null(json_object *run, const char *key)
{
  return jstr_or_null(jget_str(run, key));
}

static void backups_on_list(void *data, const edv_response *res)
{
  backups_ctx *b = data;
  api_ctx *c = b->c;
  json_object *o, *arr, *items;

  if (!api_resume(c)) {
    free(b);
    return;
  }
  if (res->error) {
    if (res->error->code == EDV_ENOTFOUND)
      api_error(c, 404, NULL, NULL,
                "tenant '%s' has no Cloud SQL instance '%s' now", b->tenant,
                b->instance);
    else
      api_error_edv(c, res->error, NULL);
    free(b);
    return;
  }
  arr = json_object_new_array();
  if (json_object_object_get_ex(res->json, "items", &items) &&
      json_object_is_type(items, json_type_array))
    for (size_t i = 0; i < json_object_array_length(items); i++) {
      json_object *run = json_object_array_get_idx(items, i), *x, *e;
      const char *emsg = NULL;
      if (!jget_str(run, "id"))
        continue;
      if (json_object_object_get_ex(run, "error", &e))
        emsg = jget_str(e, "message") ? jget_str(e, "message")
                                      : jget_str(e, "code");
      x = json_object_new_object();
      json_object_object_add(x, "id",
                             json_object_new_string(jget_str(run, "id")));
      json_object_object_add(x, "status",
                             jstr_or_null(jget_str(run, "status")));
      json_object_object_add(x, "type", jstr_or_null(jget_str(run, "type")));
      json_object_object_add(x, "description",
                             jstr_or_null(jget_str(run, "description")));
      json_object_object_add(x, "enqueued", time_or_null(run, "enqueuedTime"));
      json_object_object_add(x, "started", time_or_null(run, "startTime"));
      json_object_object_add(x, "ended", time_or_null(run, "endTime"));
      json_object_object_add(x, "error", jstr_or_null(emsg));
      json_object_array_add(arr, x);
    }
  o = json_object_new_object();
  json_object_object_add(o, "tenant", json_object_new_string(b->tenant));
  json_object_object_add(o, "instance", json_object_new_string(b->instance));
  json_object_object_add(o, "backups", arr);
  json_object_object_add(
      o, "more",
      json_object_new_boolean(jget_str(res->json, "nextPageToken") != NULL));
  json_object_object_add(o, "operation", job_of(b->tenant));
  free(b);
  api_send(c, 200, o);
}

void api_tenant_backups(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  edv__tenant_rec rec;
  backups_ctx *b;
  char path[400];

  if (api_query_only(c, (const char *const[]){NULL}) || get_rec(c, id, &rec))
    return;
  job_recover(d, &rec);
  b = calloc(1, sizeof(*b));
  if (!b) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  b->c = c;
  snprintf(b->tenant, sizeof(b->tenant), "%s", rec.id);
  if (edv__name_sql_instance(rec.id, rec.generation, b->instance,
                             sizeof(b->instance))) {
    free(b);
    api_error(c, 500, NULL, NULL, "tenant '%s': no instance name", rec.id);
    return;
  }
  /* Newest first; one page of 100 is plenty to choose a restore from. */
  snprintf(path, sizeof(path), SQLP "/backupRuns?maxResults=100",
           edv__fleet_project(d->fleet), b->instance);
  if (submit(d, EDV_API_SQLADMIN, "GET", path, NULL, "sql.backupRuns.list",
             backups_on_list, b)) {
    free(b);
    api_error(c, 503, NULL, NULL, "cannot call Cloud SQL now");
    return;
  }
  api_suspend(c, OPS_DEADLINE_MS);
}

/* ---- GET /api/tenants/{id}/metrics
 * -------------------------------------------------------*/

#define METRIC_UP          "custom.googleapis.com/edvirons/tenant_up"
#define METRIC_LATENCY     "custom.googleapis.com/edvirons/probe_latency_ms"
#define METRICS_MAX_POINTS 20000

typedef struct metrics_ctx {
  api_ctx *c;
  char tenant[EDV_STORE_ID_SZ];
  char phase[24];
  int64_t window_s;
  unsigned pending;
  edv_error err;
  int failed;
  /* tenant_up */
  size_t up_n, up_sum;
  int64_t last_ms;
  int last_up;
  /* probe_latency_ms */
  double *lat;
  size_t lat_n;
  int64_t lat_last_ms;
  double lat_last;
  json_object *steps;
} metrics_ctx;

static int point_value(json_object *pt, double *out)
{
  json_object *v, *x;

  if (!json_object_object_get_ex(pt, "value", &v))
    return -1;
  if (json_object_object_get_ex(v, "doubleValue", &x) ||
      json_object_object_get_ex(v, "int64Value", &x)) {
    /* int64Value comes as a string (JSON has no 64-bit integers). */
    if (json_object_is_type(x, json_type_string)) {
      char *end;
      const char *s = json_object_get_string(x);
      *out = strtod(s, &end);
      return *end || end == s ? -1 : 0;
    }
    if (json_object_is_type(x, json_type_double) ||
        json_object_is_type(x, json_type_int)) {
      *out = json_object_get_double(x);
      return 0;
    }
    return -1;
  }
  if (json_object_object_get_ex(v, "boolValue", &x)) {
    *out = json_object_get_boolean(x) ? 1 : 0;
    return 0;
  }
  return -1;
}

/* Every point of every series in a timeSeries.list answer. */
static void each_point(metrics_ctx *m, json_object *page, int latency)
{
  json_object *series;

  if (!json_object_object_get_ex(page, "timeSeries", &series) ||
      !json_object_is_type(series, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length(series); i++) {
    json_object *pts, *ts = json_object_array_get_idx(series, i);
    if (!json_object_object_get_ex(ts, "points", &pts) ||
        !json_object_is_type(pts, json_type_array))
      continue;
    for (size_t k = 0; k < json_object_array_length(pts); k++) {
      json_object *pt = json_object_array_get_idx(pts, k), *iv;
      double val;
      int64_t t = -1;
      if (point_value(pt, &val))
        continue;
      if (json_object_object_get_ex(pt, "interval", &iv))
        t = parse_rfc3339(jget_str(iv, "endTime"));
      if (!latency) {
        m->up_n++;
        m->up_sum += val > 0.5;
        if (t > m->last_ms) {
          m->last_ms = t;
          m->last_up = val > 0.5;
        }
      } else if (m->lat_n < METRICS_MAX_POINTS && isfinite(val)) {
        if (!m->lat) {
          m->lat = malloc(METRICS_MAX_POINTS * sizeof(double));
          if (!m->lat)
            return;
        }
        m->lat[m->lat_n++] = val;
        if (t > m->lat_last_ms) {
          m->lat_last_ms = t;
          m->lat_last = val;
        }
      }
    }
  }
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n-1]. */
static double percentile(const double *v, size_t n, double p)
{
  size_t rank = (size_t)ceil(p / 100.0 * (double)n);

  if (rank < 1)
    rank = 1;
  return v[rank - 1];
}

static void metrics_answer(metrics_ctx *m)
{
  api_ctx *c = m->c;
  json_object *o, *up, *lat;
  char ts[40];

  o = json_object_new_object();
  json_object_object_add(o, "tenant", json_object_new_string(m->tenant));
  json_object_object_add(o, "phase", json_object_new_string(m->phase));
  json_object_object_add(o, "window_s", json_object_new_int64(m->window_s));
  up = json_object_new_object();
  json_object_object_add(up, "points", json_object_new_int64((int64_t)m->up_n));
  json_object_object_add(
      up, "availability",
      m->up_n ? json_object_new_double((double)m->up_sum / (double)m->up_n)
              : NULL);
  if (m->up_n && m->last_ms >= 0) {
    api_time(m->last_ms, ts, sizeof(ts));
    json_object_object_add(up, "last_probe", json_object_new_string(ts));
    json_object_object_add(up, "last_up", json_object_new_boolean(m->last_up));
  } else {
    json_object_object_add(up, "last_probe", NULL);
    json_object_object_add(up, "last_up", NULL);
  }
  json_object_object_add(o, "health", up);
  lat = json_object_new_object();
  json_object_object_add(lat, "points",
                         json_object_new_int64((int64_t)m->lat_n));
  if (m->lat_n) {
    qsort(m->lat, m->lat_n, sizeof(double), cmp_double);
    json_object_object_add(
        lat, "p50", json_object_new_double(percentile(m->lat, m->lat_n, 50)));
    json_object_object_add(
        lat, "p95", json_object_new_double(percentile(m->lat, m->lat_n, 95)));
    json_object_object_add(lat, "last", json_object_new_double(m->lat_last));
  } else {
    json_object_object_add(lat, "p50", NULL);
    json_object_object_add(lat, "p95", NULL);
    json_object_object_add(lat, "last", NULL);
  }
  json_object_object_add(o, "latency_ms", lat);
  {
    /* The Monitoring part, for viewcache.h's TTL. */
    json_object *cached = json_object_new_object();
    char key[EDV_STORE_ID_SZ + 40];

    json_object_object_add(cached, "health", json_object_get(up));
    json_object_object_add(cached, "latency_ms", json_object_get(lat));
    snprintf(key, sizeof(key), "metrics/%s/%lld", m->tenant,
             (long long)m->window_s);
    edvd_view_put(c->d, key, cached, EDVD_VIEW_TTL_MS);
    json_object_put(cached);
  }
  json_object_object_add(o, "operation", job_of(m->tenant));
  json_object_object_add(o, "steps", m->steps);
  m->steps = NULL;
  free(m->lat);
  free(m);
  api_send(c, 200, o);
}

static void metrics_free(metrics_ctx *m)
{
  json_object_put(m->steps);
  free(m->lat);
  free(m);
}

static void metrics_on_series(metrics_ctx *m, const edv_response *res,
                              int latency)
{
  if (res->error && !m->failed) {
    m->failed = 1;
    m->err = *res->error;
  } else if (!res->error) {
    each_point(m, res->json, latency);
  }
  if (--m->pending > 0)
    return;
  if (!api_resume(m->c)) {
    metrics_free(m);
    return;
  }
  if (m->failed) {
    api_ctx *c = m->c;
    edv_error e = m->err;
    metrics_free(m);
    api_error(c, 503, NULL, NULL, "Cloud Monitoring: %s", e.message);
    return;
  }
  metrics_answer(m);
}

static void metrics_on_up(void *data, const edv_response *res)
{
  metrics_on_series(data, res, 0);
}

static void metrics_on_latency(void *data, const edv_response *res)
{
  metrics_on_series(data, res, 1);
}

static int step_dur(void *data, const edv__step_rec *r)
{
  json_object *arr = data, *o;

  if (!r->started_ms || !r->finished_ms || r->finished_ms < r->started_ms)
    return 0;
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(r->step));
  json_object_object_add(o, "duration_ms",
                         json_object_new_int64(r->finished_ms - r->started_ms));
  json_object_array_add(arr, o);
  return 0;
}

/* "90s", "15m", "1h", "24h" -> seconds (60 s .. 24 h), or -1. */
static int64_t parse_window(const char *s)
{
  char *end;
  long long v;
  int64_t mul;

  if (!s || !isdigit((unsigned char)*s))
    return -1;
  v = strtoll(s, &end, 10);
  if (strcmp(end, "s") == 0)
    mul = 1;
  else if (strcmp(end, "m") == 0)
    mul = 60;
  else if (strcmp(end, "h") == 0)
    mul = 3600;
  else
    return -1;
  if (v <= 0 || v > 86400)
    return -1;
  v *= mul;
  return v >= 60 && v <= 86400 ? (int64_t)v : -1;
}

static char *series_path(edvd *d, const char *metric, const char *tenant,
                         int64_t start_ms, int64_t end_ms)
{
  char filter[400], t0[40], t1[40], *url;

  snprintf(filter, sizeof(filter),
           "metric.type = \"%s\" AND metric.labels.tenant = \"%s\"", metric,
           tenant);
  api_time(start_ms, t0, sizeof(t0));
  api_time(end_ms, t1, sizeof(t1));
  url = edv__url_pathf("/v3/projects/%s/timeSeries",
                       edv__fleet_project(d->fleet));
  url = edv__url_append_query(url, "filter", filter);
  url = edv__url_append_query(url, "interval.startTime", t0);
  url = edv__url_append_query(url, "interval.endTime", t1);
  return edv__url_append_query(url, "pageSize", "100000");
}

void api_tenant_metrics(api_ctx *c, const char *id)
{
  static const char *const allowed[] = {"window", NULL};
  edvd *d = c->d;
  edv__tenant_rec rec;
  const char *w = edv__http_query(c->req, "window");
  int64_t window_s = 3600, now;
  metrics_ctx *m;
  char *p1, *p2;
  int r1, r2;

  if (api_query_only(c, allowed) || get_rec(c, id, &rec))
    return;
  job_recover(d, &rec);
  if (w && (window_s = parse_window(w)) < 0) {
    api_error(c, 400, NULL, "window",
              "window: '%.32s' is not a duration of 60s..24h (e.g. 90s, "
              "15m, 1h)",
              w);
    return;
  }
  {
    char key[EDV_STORE_ID_SZ + 40];
    json_object *hit, *o, *steps;

    snprintf(key, sizeof(key), "metrics/%s/%lld", rec.id, (long long)window_s);
    if ((hit = edvd_view_get(d, key)) != NULL) {
      o = json_object_new_object();
      json_object_object_add(o, "tenant", json_object_new_string(rec.id));
      json_object_object_add(
          o, "phase", json_object_new_string(edv__phase_name(rec.phase)));
      json_object_object_add(o, "window_s", json_object_new_int64(window_s));
      json_object_object_add(
          o, "health", json_object_get(json_object_object_get(hit, "health")));
      json_object_object_add(
          o, "latency_ms",
          json_object_get(json_object_object_get(hit, "latency_ms")));
      json_object_object_add(o, "operation", job_of(rec.id));
      steps = json_object_new_array();
      edv__store_step_list(d->store, rec.id, step_dur, steps, NULL);
      json_object_object_add(o, "steps", steps);
      json_object_put(hit);
      api_send(c, 200, o);
      return;
    }
  }
  m = calloc(1, sizeof(*m));
  if (!m) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  m->c = c;
  m->window_s = window_s;
  m->last_ms = m->lat_last_ms = -1;
  snprintf(m->tenant, sizeof(m->tenant), "%s", rec.id);
  snprintf(m->phase, sizeof(m->phase), "%s", edv__phase_name(rec.phase));
  m->steps = json_object_new_array();
  edv__store_step_list(d->store, rec.id, step_dur, m->steps, NULL);
  now = edv__store_wall_clock(NULL);
  p1 = series_path(d, METRIC_UP, rec.id, now - window_s * 1000, now);
  p2 = series_path(d, METRIC_LATENCY, rec.id, now - window_s * 1000, now);
  if (!p1 || !p2) {
    free(p1);
    free(p2);
    metrics_free(m);
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  /* Both calls or none: the second is submitted only if the first was. */
  m->pending = 2;
  r1 = submit(d, EDV_API_MONITORING, "GET", p1, NULL,
              "monitoring.timeSeries.list", metrics_on_up, m);
  r2 = r1 ? 1
          : submit(d, EDV_API_MONITORING, "GET", p2, NULL,
                   "monitoring.timeSeries.list", metrics_on_latency, m);
  free(p1);
  free(p2);
  if (r1) {
    metrics_free(m);
    api_error(c, 503, NULL, NULL, "cannot call Cloud Monitoring now");
    return;
  }
  if (r2) {
    /* The first call's callback ends the request, with this error. */
    m->pending = 1;
    m->failed = 1;
    edv_error_set(&m->err, EDV_EUNAVAIL, "cannot call Cloud Monitoring now");
  }
  api_suspend(c, OPS_DEADLINE_MS);
}

/* ---- GET /api/infrastructure/capacity
 * ----------------------------------------------------*/

#define CAP_TTL_MS    30000 /* an answer is at most this old */
#define CAP_MIN_MS    5000  /* refreshes at least this far apart */
#define CAP_REGIONS   8
#define CAP_QUOTAS    48
#define CAP_TYPES     16
#define CAP_WAITERS   64
#define CAP_SQL_LIMIT 1000 /* Cloud SQL instances per project (default) */

typedef struct cap_quota {
  char metric[48];
  double limit, usage;
} cap_quota;

typedef struct cap_region {
  char name[48];
  char zone[64]; /* the first zone, for machineTypes.get */
  int ok;
  char error[200];
  size_t nquotas;
  cap_quota quotas[CAP_QUOTAS];
} cap_region;

typedef struct cap_type {
  char name[EDV_MACHINE_TYPE_MAX + 1];
  int vcpus;
} cap_type;

typedef struct cap_snapshot {
  int valid;
  int64_t at_ms;      /* wall clock of the refresh */
  uint64_t fleet_sig; /* the fleet it saw (live tenants, generations) */
  size_t nregions;
  cap_region regions[CAP_REGIONS];
  int urlmap_ok;
  unsigned host_rules, path_matchers;
  int sql_ok;
  unsigned sql_instances;
  size_t subnets_used;
} cap_snapshot;

typedef struct cap_state {
  cap_snapshot snap, next;
  int refreshing;
  int64_t last_refresh_ms;
  unsigned pending;
  api_ctx *waiters[CAP_WAITERS];
  size_t nwaiters;
  cap_type types[CAP_TYPES]; /* machine types seen: kept for good */
  size_t ntypes;
  edvd *d;
} cap_state;

static cap_state cap;

static const cap_type *cap_type_find(const char *name)
{
  for (size_t i = 0; i < cap.ntypes; i++)
    if (strcmp(cap.types[i].name, name) == 0)
      return &cap.types[i];
  return NULL;
}

typedef struct fleet_scan {
  edvd *d;
  uint64_t sig;
  char regions[CAP_REGIONS][48];
  size_t nregions;
} fleet_scan;

static void scan_add_region(fleet_scan *f, const char *r)
{
  if (!r || !*r)
    return;
  for (size_t i = 0; i < f->nregions; i++)
    if (strcmp(f->regions[i], r) == 0)
      return;
  if (f->nregions < CAP_REGIONS)
    snprintf(f->regions[f->nregions++], sizeof(f->regions[0]), "%s", r);
}

static int scan_one(void *data, const edv__tenant_rec *rec)
{
  fleet_scan *f = data;
  json_object *spec, *v;

  if (rec->id[0] == '@' || rec->phase == EDV_PHASE_DELETED)
    return 0;
  for (const char *p = rec->id; *p; p++)
    f->sig = (f->sig ^ (unsigned char)*p) * 1099511628211ull;
  f->sig = (f->sig ^ (uint64_t)rec->phase) * 1099511628211ull;
  spec = json_tokener_parse(rec->spec_json);
  if (spec && json_object_object_get_ex(spec, "region", &v))
    scan_add_region(f, json_object_get_string(v));
  json_object_put(spec);
  return 0;
}

static int fleet_scan_all(edvd *d, fleet_scan *f, edv_error *err)
{
  edv__tenant_filter flt;
  char next[EDV_STORE_ID_SZ] = "", after[EDV_STORE_ID_SZ] = "";
  const char *r = edv_config_get(d->cfg, "region");

  memset(f, 0, sizeof(*f));
  f->d = d;
  f->sig = 1469598103934665603ull;
  scan_add_region(f, r && *r ? r : "us-central1");
  memset(&flt, 0, sizeof(flt));
  flt.phase = -1;
  flt.limit = 1000;
  do {
    flt.after = after;
    next[0] = '\0';
    if (edv__store_tenant_list(d->store, &flt, scan_one, f, next, sizeof(next),
                               err))
      return -1;
    snprintf(after, sizeof(after), "%s", next);
  } while (next[0]);
  return 0;
}

static void cap_render(api_ctx *c, int fresh);

static void cap_finish(void)
{
  size_t n = cap.nwaiters;
  api_ctx *w[CAP_WAITERS];

  cap.snap = cap.next;
  cap.snap.valid = 1;
  cap.refreshing = 0;
  memcpy(w, cap.waiters, n * sizeof(*w));
  cap.nwaiters = 0;
  for (size_t i = 0; i < n; i++)
    if (api_resume(w[i]))
      cap_render(w[i], 1);
}

static void cap_on_type(void *data, const edv_response *res)
{
  cap_type *t = data;
  json_object *v;

  t->vcpus = 0;
  if (!res->error && json_object_object_get_ex(res->json, "guestCpus", &v) &&
      json_object_get_int(v) > 0)
    t->vcpus = json_object_get_int(v);
  if (--cap.pending == 0)
    cap_finish();
}

/* Second stage: the vCPUs of machine types not seen yet. */
static void cap_stage_types(void)
{
  edvd *d = cap.d;
  const char *zone = NULL;

  for (size_t i = 0; i < cap.next.nregions && !zone; i++)
    if (cap.next.regions[i].ok && cap.next.regions[i].zone[0])
      zone = cap.next.regions[i].zone;
  if (d->stopping || !d->engine)
    zone = NULL;   /* the engine closes: answer with what we have */
  cap.pending = 1; /* held while submitting */
  for (size_t i = 0; zone && i < d->tiers->ntiers; i++) {
    const char *mt = d->tiers->tiers[i].machine_type;
    cap_type *t = (cap_type *)cap_type_find(mt);
    char path[300];
    /* Known (> 0) or asked in this refresh (-1); 0: failed, ask again. */
    if (t && t->vcpus != 0)
      continue;
    if (!t && cap.ntypes == CAP_TYPES)
      continue;
    if (!t) {
      t = &cap.types[cap.ntypes++];
      snprintf(t->name, sizeof(t->name), "%s", mt);
    }
    t->vcpus = -1;
    snprintf(path, sizeof(path),
             "/compute/v1/projects/%s/zones/%s/machineTypes/%s",
             edv__fleet_project(d->fleet), zone, mt);
    cap.pending++;
    if (submit(d, EDV_API_COMPUTE, "GET", path, NULL,
               "compute.machineTypes.get", cap_on_type, t)) {
      cap.pending--;
      t->vcpus = 0;
    }
  }
  if (--cap.pending == 0)
    cap_finish();
}

static void cap_stage_done(void)
{
  if (--cap.pending == 0)
    cap_stage_types();
}

static void cap_on_region(void *data, const edv_response *res)
{
  cap_region *r = data;
  json_object *q, *zones;

  if (res->error) {
    snprintf(r->error, sizeof(r->error), "%.190s", res->error->message);
  } else {
    r->ok = 1;
    if (json_object_object_get_ex(res->json, "quotas", &q) &&
        json_object_is_type(q, json_type_array))
      for (size_t i = 0;
           i < json_object_array_length(q) && r->nquotas < CAP_QUOTAS; i++) {
        json_object *x = json_object_array_get_idx(q, i), *v;
        cap_quota *cq = &r->quotas[r->nquotas];
        const char *m = jget_str(x, "metric");
        if (!m)
          continue;
        snprintf(cq->metric, sizeof(cq->metric), "%s", m);
        cq->limit = json_object_object_get_ex(x, "limit", &v)
                        ? json_object_get_double(v)
                        : 0;
        cq->usage = json_object_object_get_ex(x, "usage", &v)
                        ? json_object_get_double(v)
                        : 0;
        r->nquotas++;
      }
    /* The first zone in name order, as the tenant steps choose. */
    if (json_object_object_get_ex(res->json, "zones", &zones) &&
        json_object_is_type(zones, json_type_array))
      for (size_t i = 0; i < json_object_array_length(zones); i++) {
        char z[64];
        if (!edv__zone_from_url(
                json_object_get_string(json_object_array_get_idx(zones, i)), z,
                sizeof(z)))
          continue;
        if (!r->zone[0] || strcmp(z, r->zone) < 0)
          snprintf(r->zone, sizeof(r->zone), "%s", z);
      }
  }
  cap_stage_done();
}

static void cap_on_urlmap(void *data, const edv_response *res)
{
  json_object *v;

  (void)data;
  if (!res->error) {
    cap.next.urlmap_ok = 1;
    cap.next.host_rules =
        json_object_object_get_ex(res->json, "hostRules", &v) &&
                json_object_is_type(v, json_type_array)
            ? (unsigned)json_object_array_length(v)
            : 0;
    cap.next.path_matchers =
        json_object_object_get_ex(res->json, "pathMatchers", &v) &&
                json_object_is_type(v, json_type_array)
            ? (unsigned)json_object_array_length(v)
            : 0;
  }
  cap_stage_done();
}

static int cap_on_sql_page(void *data, json_object *page)
{
  json_object *v;

  (void)data;
  if (json_object_object_get_ex(page, "items", &v) &&
      json_object_is_type(v, json_type_array))
    cap.next.sql_instances += (unsigned)json_object_array_length(v);
  return 0;
}

static void cap_on_sql_done(void *data, const edv_error *err, unsigned pages)
{
  (void)data;
  (void)pages;
  cap.next.sql_ok = !err;
  cap_stage_done();
}

/* First stage, all at once: regions, the URL map, the SQL instances. */
static int cap_refresh(edvd *d, const fleet_scan *f, edv_error *err)
{
  const char *proj = edv__fleet_project(d->fleet);
  char path[400];
  edv_request rq;

  memset(&cap.next, 0, sizeof(cap.next));
  cap.d = d;
  cap.refreshing = 1;
  cap.last_refresh_ms = edv__store_wall_clock(NULL);
  cap.next.at_ms = cap.last_refresh_ms;
  cap.next.fleet_sig = f->sig;
  if (edv__store_subnet_count(d->store, &cap.next.subnets_used, err)) {
    cap.refreshing = 0;
    return -1;
  }
  cap.pending = 1; /* held while submitting */
  for (size_t i = 0; i < f->nregions; i++) {
    cap_region *r = &cap.next.regions[cap.next.nregions++];
    snprintf(r->name, sizeof(r->name), "%s", f->regions[i]);
    snprintf(path, sizeof(path), "/compute/v1/projects/%s/regions/%s", proj,
             r->name);
    cap.pending++;
    if (submit(d, EDV_API_COMPUTE, "GET", path, NULL, "compute.regions.get",
               cap_on_region, r)) {
      cap.pending--;
      snprintf(r->error, sizeof(r->error), "cannot call Compute now");
    }
  }
  snprintf(path, sizeof(path), "/compute/v1/projects/%s/global/urlMaps/%s",
           proj, EDV_URLMAP_NAME);
  cap.pending++;
  if (submit(d, EDV_API_COMPUTE, "GET", path, NULL, "compute.urlMaps.get",
             cap_on_urlmap, NULL))
    cap.pending--;
  snprintf(path, sizeof(path),
           "/sql/v1beta4/projects/%s/instances?maxResults=500", proj);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_SQLADMIN;
  rq.method = "GET";
  rq.path = path;
  rq.label = "sql.instances.list";
  rq.timeout_ms = OPS_CALL_MS;
  cap.pending++;
  if (edv_call_pages(d->engine, &rq, cap_on_sql_page, cap_on_sql_done, NULL))
    cap.pending--;
  cap_stage_done();
  return 0;
}

static const char *disk_metric(const edv__tier *t)
{
  return strcmp(t->disk_type, "pd-standard") == 0 ? "DISKS_TOTAL_GB"
                                                  : "SSD_TOTAL_GB";
}

static const cap_quota *quota_of(const cap_region *r, const char *metric)
{
  for (size_t i = 0; i < r->nquotas; i++)
    if (strcmp(r->quotas[i].metric, metric) == 0)
      return &r->quotas[i];
  return NULL;
}

static void cap_render(api_ctx *c, int fresh)
{
  edvd *d = c->d;
  const cap_snapshot *s = &cap.snap;
  json_object *o, *regions, *tiers, *sub, *um, *sql;
  char ts[40], cb[EDV_CIDR_STRLEN + 1];
  const char *supernet;
  unsigned prefix = EDV_SUBNET_PREFIX;
  edv_cidr sn;
  uint64_t total = 0, free_subnets = 0;
  int64_t sql_free = 0;
  int64_t now = edv__store_wall_clock(NULL);

  supernet = edv__fleet_supernet(d->fleet, &prefix);
  if (supernet && edv__cidr_parse(supernet, &sn) == 0 && prefix >= sn.prefix &&
      prefix - sn.prefix < 32)
    total = (uint64_t)1 << (prefix - sn.prefix);
  free_subnets = total > s->subnets_used ? total - s->subnets_used : 0;
  if (s->sql_ok)
    sql_free = CAP_SQL_LIMIT > (int64_t)s->sql_instances
                   ? CAP_SQL_LIMIT - (int64_t)s->sql_instances
                   : 0;
  o = json_object_new_object();
  api_time(s->at_ms, ts, sizeof(ts));
  json_object_object_add(o, "as_of", json_object_new_string(ts));
  json_object_object_add(o, "age_s",
                         json_object_new_int64((now - s->at_ms) / 1000));
  json_object_object_add(o, "fresh", json_object_new_boolean(fresh));
  json_object_object_add(o, "max_age_s",
                         json_object_new_int(CAP_TTL_MS / 1000));
  /* What one tenant of each tier takes. */
  tiers = json_object_new_array();
  for (size_t i = 0; i < d->tiers->ntiers; i++) {
    const edv__tier *t = &d->tiers->tiers[i];
    const cap_type *mt = cap_type_find(t->machine_type);
    json_object *x = json_object_new_object();
    json_object_object_add(x, "tier", json_object_new_string(t->name));
    json_object_object_add(x, "machine_type",
                           json_object_new_string(t->machine_type));
    json_object_object_add(x, "vcpus",
                           mt && mt->vcpus > 0 ? json_object_new_int(mt->vcpus)
                                               : NULL);
    json_object_object_add(x, "instances", json_object_new_int(1));
    json_object_object_add(x, "disk_gb", json_object_new_int(t->disk_gb));
    json_object_object_add(x, "disk_quota",
                           json_object_new_string(disk_metric(t)));
    json_object_object_add(x, "in_use_addresses", json_object_new_int(0));
    json_object_object_add(x, "subnets", json_object_new_int(1));
    json_object_object_add(x, "sql_instances", json_object_new_int(1));
    json_object_array_add(tiers, x);
  }
  json_object_object_add(o, "per_tenant", tiers);
  regions = json_object_new_array();
  for (size_t r = 0; r < s->nregions; r++) {
    const cap_region *rg = &s->regions[r];
    json_object *x = json_object_new_object(), *qs, *fits;
    json_object_object_add(x, "region", json_object_new_string(rg->name));
    json_object_object_add(x, "error", jstr_or_null(rg->ok ? NULL : rg->error));
    qs = json_object_new_array();
    for (size_t i = 0; i < rg->nquotas; i++) {
      json_object *q = json_object_new_object();
      json_object_object_add(q, "metric",
                             json_object_new_string(rg->quotas[i].metric));
      json_object_object_add(q, "limit",
                             json_object_new_double(rg->quotas[i].limit));
      json_object_object_add(q, "usage",
                             json_object_new_double(rg->quotas[i].usage));
      json_object_array_add(qs, q);
    }
    json_object_object_add(x, "quotas", qs);
    fits = json_object_new_array();
    for (size_t i = 0; rg->ok && i < d->tiers->ntiers; i++) {
      const edv__tier *t = &d->tiers->tiers[i];
      const cap_type *mt = cap_type_find(t->machine_type);
      struct {
        const char *metric;
        double need;
      } needs[] = {
          {"CPUS", mt ? mt->vcpus : 0},
          {"INSTANCES", 1},
          {disk_metric(t), t->disk_gb},
          {"SUBNETWORKS", 1},
      };
      int64_t best = (int64_t)free_subnets;
      const char *binding = "SUBNET_POOL";
      json_object *f = json_object_new_object();
      if (!mt || mt->vcpus <= 0) {
        /* Unknown vCPUs: no honest figure. */
        json_object_object_add(f, "tier", json_object_new_string(t->name));
        json_object_object_add(f, "fits", NULL);
        json_object_object_add(f, "binding", NULL);
        json_object_array_add(fits, f);
        continue;
      }
      for (size_t k = 0; k < sizeof(needs) / sizeof(needs[0]); k++) {
        const cap_quota *q = quota_of(rg, needs[k].metric);
        int64_t n;
        if (!q || needs[k].need <= 0)
          continue;
        n = q->limit > q->usage
                ? (int64_t)floor((q->limit - q->usage) / needs[k].need)
                : 0;
        if (n < best) {
          best = n;
          binding = needs[k].metric;
        }
      }
      if (s->sql_ok && sql_free < best) {
        best = sql_free;
        binding = "SQL_INSTANCES";
      }
      json_object_object_add(f, "tier", json_object_new_string(t->name));
      json_object_object_add(f, "fits", json_object_new_int64(best));
      json_object_object_add(f, "binding", json_object_new_string(binding));
      json_object_array_add(fits, f);
    }
    json_object_object_add(x, "tenants_that_fit", fits);
    json_object_array_add(regions, x);
  }
  json_object_object_add(o, "regions", regions);
  sub = json_object_new_object();
  json_object_object_add(
      sub, "supernet",
      json_object_new_string(total ? edv__cidr_format(&sn, cb, sizeof(cb))
                                   : ""));
  json_object_object_add(sub, "prefix", json_object_new_int((int)prefix));
  json_object_object_add(sub, "total", json_object_new_int64((int64_t)total));
  json_object_object_add(sub, "used",
                         json_object_new_int64((int64_t)s->subnets_used));
  json_object_object_add(sub, "free",
                         json_object_new_int64((int64_t)free_subnets));
  json_object_object_add(o, "subnets", sub);
  if (s->urlmap_ok) {
    um = json_object_new_object();
    json_object_object_add(um, "name", json_object_new_string(EDV_URLMAP_NAME));
    json_object_object_add(um, "host_rules",
                           json_object_new_int((int)s->host_rules));
    json_object_object_add(um, "path_matchers",
                           json_object_new_int((int)s->path_matchers));
    json_object_object_add(o, "url_map", um);
  } else {
    json_object_object_add(o, "url_map", NULL);
  }
  if (s->sql_ok) {
    sql = json_object_new_object();
    json_object_object_add(sql, "instances",
                           json_object_new_int((int)s->sql_instances));
    json_object_object_add(sql, "limit", json_object_new_int(CAP_SQL_LIMIT));
    json_object_object_add(o, "sql", sql);
  } else {
    json_object_object_add(o, "sql", NULL);
  }
  api_send(c, 200, o);
}

void api_infra_capacity(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  fleet_scan f;
  edv_error err;
  int64_t now = edv__store_wall_clock(NULL);

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (fleet_scan_all(d, &f, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  if (!cap.refreshing) {
    int stale = !cap.snap.valid || now - cap.snap.at_ms >= CAP_TTL_MS ||
                cap.snap.fleet_sig != f.sig;
    if (!stale || now - cap.last_refresh_ms < CAP_MIN_MS) {
      cap_render(c, 0);
      return;
    }
  }
  if (cap.nwaiters == CAP_WAITERS) {
    if (cap.snap.valid) {
      cap_render(c, 0);
      return;
    }
    api_error(c, 503, NULL, NULL, "too many capacity requests; retry");
    return;
  }
  cap.waiters[cap.nwaiters++] = c;
  api_suspend(c, OPS_DEADLINE_MS);
  if (!cap.refreshing && cap_refresh(d, &f, &err)) {
    cap.nwaiters--;
    c->busy = 0;
    api_error_edv(c, &err, NULL);
  }
}
