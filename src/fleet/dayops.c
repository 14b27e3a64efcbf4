/*
 * dayops.c - backups and restores of a tenant's Cloud SQL instance
 * (edv/fleet.h "Day 2"), and the day-2 state of a fleet (fleet/dayops.h).
 *
 * A job waits for its Cloud SQL operation on the loop (edv/ops.h) and
 * journals its end ("backup" / "restore", after "backup.start" /
 * "restore.start"). One job per tenant at a time; none while a run drives
 * the tenant and no run while one is on. A fleet closed while waiting
 * journals "backup.interrupted" (the operation goes on in Cloud SQL); the
 * first day-2 call for the tenant in the next fleet finds the started job
 * without an end in the journal and follows its operation again.
 *
 * An idempotency key is recorded in the store like the Management API's
 * keys for tenant creation (same key with other arguments: EDV_ECONFLICT);
 * a replay is answered from the journal's ".start" line of the first
 * request, so a backup is never taken twice for one key.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "edv/ops.h"
#include "fleet/dayops.h"
#include "tenant/spec.h"

#define MOD "fleet"

#define JOB_WAIT_MS       3600000u /* a backup or restore operation */
#define JOB_BACKUP_ID_MAX 19       /* int64 digits */
#define JOB_DESC_MAX      200
#define DAYOPS_CACHE_MAX  1024

#define SQLP "/sql/v1beta4/projects/%s/instances/%s"

/* ---- the state -----------------------------------------------------------*/

static void dayops_free(edv_fleet *f)
{
  edv__dayops *o = f->dayops;

  f->dayops = NULL;
  o->f = NULL;
  edv__dayops_unref(o);
}

edv__dayops *edv__dayops_of(edv_fleet *f)
{
  edv__dayops *o = f->dayops;

  if (o)
    return o;
  o = calloc(1, sizeof(*o));
  if (!o)
    return NULL;
  o->f = f;
  o->refs = 1; /* the fleet's, dropped at its end */
  f->dayops = o;
  f->dayops_free = dayops_free;
  return o;
}

void edv__dayops_ref(edv__dayops *o)
{
  o->refs++;
}

void edv__dayops_unref(edv__dayops *o)
{
  if (--o->refs > 0)
    return;
  json_object_put(o->recovered);
  json_object_put(o->cache);
  json_object_put(o->backups);
  edv__dayops_cap_free(o);
  free(o);
}

int edv__dayops_submit(edv_fleet *f, edv_api api, const char *method,
                       const char *path, json_object *body, const char *label,
                       edv_response_cb cb, void *data)
{
  edv_request rq;

  if (edv__dayops_closing(f))
    return EDV_EUNAVAIL;
  memset(&rq, 0, sizeof(rq));
  rq.api = api;
  rq.method = method;
  rq.path = path;
  rq.body = body;
  rq.label = label;
  rq.timeout_ms = EDV_DAYOPS_CALL_MS;
  return edv_call_submit(f->engine, &rq, cb, data, NULL);
}

int edv__dayops_closing(const edv_fleet *f)
{
  return f->closing || f->stopping;
}

/* ---- answers from the loop ----------------------------------------------*/

int edv__dayops_answer_later(edv_fleet *f, json_object *doc, edv_fleet_cb cb,
                             void *data, edv_error *err)
{
  int result;

  if (!doc)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

/* ---- the cache -----------------------------------------------------------*/

json_object *edv__dayops_cache_get(edv_fleet *f, const char *key)
{
  edv__dayops *o = edv__dayops_of(f);
  json_object *e, *exp, *v;

  if (!o || !o->cache || !json_object_object_get_ex(o->cache, key, &e) ||
      !json_object_object_get_ex(e, "exp", &exp) ||
      !json_object_object_get_ex(e, "v", &v))
    return NULL;
  if ((uint64_t)json_object_get_int64(exp) <= uv_now(f->loop)) {
    json_object_object_del(o->cache, key);
    return NULL;
  }
  return json_object_get(v);
}

static void cache_prune(edv__dayops *o, uint64_t now)
{
  json_object *keep = json_object_new_object();

  json_object_object_foreach(o->cache, k, e)
  {
    json_object *exp;
    if (json_object_object_get_ex(e, "exp", &exp) &&
        (uint64_t)json_object_get_int64(exp) > now)
      json_object_object_add(keep, k, json_object_get(e));
  }
  json_object_put(o->cache);
  o->cache = keep;
}

void edv__dayops_cache_put(edv_fleet *f, const char *key, json_object *v,
                           uint64_t ttl_ms)
{
  edv__dayops *o = edv__dayops_of(f);
  uint64_t now = uv_now(f->loop);
  json_object *e;

  if (!o)
    return;
  if (!o->cache)
    o->cache = json_object_new_object();
  if (json_object_object_length(o->cache) >= DAYOPS_CACHE_MAX)
    cache_prune(o, now);
  if (json_object_object_length(o->cache) >= DAYOPS_CACHE_MAX)
    return; /* every entry young: serve this one uncached */
  e = json_object_new_object();
  json_object_object_add(e, "exp",
                         json_object_new_int64((int64_t)(now + ttl_ms)));
  json_object_object_add(e, "v", json_object_get(v));
  json_object_object_add(o->cache, key, e);
}

/* ---- jobs: backups and restores in flight --------------------------------*/

typedef enum { JOB_BACKUP = 0, JOB_RESTORE = 1 } job_kind;

static const char *const job_names[] = {"backup", "restore"};

struct edv__job {
  struct edv__job *next;
  edv__dayops *o;
  job_kind kind;
  char tenant[EDV_STORE_ID_SZ];
  char instance[EDV_FQDN_MAX];
  char backup_id[JOB_BACKUP_ID_MAX + 1];
  char description[JOB_DESC_MAX + 1];
  char op_name[EDV_STORE_OP_SZ];
  char actor[EDV_STORE_SMALL_SZ];
  char status[24];
  char tag[17]; /* idempotency tag, or "" */
  int64_t started_ms;
  uint64_t t0;
  unsigned flags;
  edv_fleet_cb cb; /* the caller until answered */
  void *data;
  edv_op_waiter *waiter;
  int interrupted; /* the fleet closed: journalled, not an end */
  int recovered;   /* followed from the journal, started elsewhere */
};

typedef edv__job job;

static job *job_find(edv__dayops *o, const char *tenant)
{
  for (job *j = o ? o->jobs : NULL; j; j = j->next)
    if (strcmp(j->tenant, tenant) == 0)
      return j;
  return NULL;
}

int edv__dayops_busy(edv_fleet *f, const char *tenant)
{
  return job_find(f->dayops, tenant) != NULL || edv__pitr_holds(f, tenant);
}

static void journal(edv_fleet *f, const job *jb, const char *event,
                    const char *detail, int64_t duration_ms, const char *error)
{
  edv__journal_rec j;

  if (!f)
    return;
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", jb->tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", jb->actor);
  snprintf(j.event, sizeof(j.event), "%s", event);
  snprintf(j.api_call, sizeof(j.api_call), "%s", detail ? detail : "");
  snprintf(j.operation, sizeof(j.operation), "%s", jb->op_name);
  j.duration_ms = duration_ms;
  snprintf(j.error, sizeof(j.error), "%s", error ? error : "");
  edv__fleet_journal(f, &j);
}

static json_object *job_doc(const job *jb, const char *status, int replayed)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "tenant", json_object_new_string(jb->tenant));
  json_object_object_add(o, "kind",
                         json_object_new_string(job_names[jb->kind]));
  json_object_object_add(o, "instance", json_object_new_string(jb->instance));
  json_object_object_add(o, "backup_id", edv__view_str(jb->backup_id));
  json_object_object_add(o, "operation", edv__view_str(jb->op_name));
  json_object_object_add(o, "status", json_object_new_string(status));
  json_object_object_add(o, "started", edv__view_time_json(jb->started_ms));
  json_object_object_add(o, "replayed", json_object_new_boolean(replayed));
  return o;
}

/* Answers the job's caller (once): its document, or the error. */
static void job_answer(job *jb, const char *status, const edv_error *err)
{
  edv_fleet_cb cb = jb->cb;
  json_object *doc;
  edv_error e;

  jb->cb = NULL;
  if (!cb)
    return;
  if (err) {
    cb(jb->data, NULL, err);
    return;
  }
  doc = job_doc(jb, status, 0);
  if (!doc) {
    edv_error_set(&e, EDV_ENOMEM, "out of memory");
    cb(jb->data, NULL, &e);
    return;
  }
  cb(jb->data, doc, NULL);
  json_object_put(doc);
}

static void job_end(job *jb)
{
  edv__dayops *o = jb->o;

  for (job **p = &o->jobs; *p; p = &(*p)->next)
    if (*p == jb) {
      *p = jb->next;
      break;
    }
  free(jb);
  edv__dayops_unref(o);
}

static job *job_alloc(edv_fleet *f, const char *actor, job_kind kind,
                      const char *tenant, const char *instance, const char *tag)
{
  edv__dayops *o = edv__dayops_of(f);
  job *jb = o ? calloc(1, sizeof(*jb)) : NULL;

  if (!jb)
    return NULL;
  jb->o = o;
  jb->kind = kind;
  snprintf(jb->tenant, sizeof(jb->tenant), "%s", tenant);
  snprintf(jb->instance, sizeof(jb->instance), "%s", instance);
  snprintf(jb->actor, sizeof(jb->actor), "%s", actor);
  snprintf(jb->tag, sizeof(jb->tag), "%s", tag);
  jb->started_ms = edv__store_wall_clock(NULL);
  jb->t0 = uv_hrtime();
  jb->next = o->jobs;
  o->jobs = jb;
  edv__dayops_ref(o);
  return jb;
}

json_object *edv__dayops_job_view(edv_fleet *f, const char *tenant)
{
  job *jb = job_find(f->dayops, tenant);
  json_object *o;

  if (!jb)
    return NULL;
  o = json_object_new_object();
  json_object_object_add(o, "kind",
                         json_object_new_string(job_names[jb->kind]));
  json_object_object_add(o, "backup_id", edv__view_str(jb->backup_id));
  json_object_object_add(o, "operation", edv__view_str(jb->op_name));
  json_object_object_add(o, "started", edv__view_time_json(jb->started_ms));
  return o;
}

static void journal_interrupted(edv_fleet *f, job *jb, const char *when)
{
  char detail[EDV_STORE_SMALL_SZ], msg[EDV_STORE_ERR_SZ];

  snprintf(detail, sizeof(detail), "backup_id=%s",
           jb->backup_id[0] ? jb->backup_id : "-");
  snprintf(msg, sizeof(msg),
           "%.40s stopped while %s; the operation goes on in Cloud SQL and is "
           "followed again after a restart",
           f->actor, when);
  journal(f, jb,
          jb->kind == JOB_BACKUP ? "backup.interrupted" : "restore.interrupted",
          detail, (int64_t)((uv_hrtime() - jb->t0) / 1000000u), msg);
}

void edv__dayops_stop(edv_fleet *f)
{
  edv__dayops *o = f->dayops;
  edv_error e;

  edv__pitr_stop(f);
  edv_error_set(&e, EDV_ECANCELED,
                "the fleet closed while waiting; the operation goes on in "
                "Cloud SQL and is followed again by the next process");
  for (job *jb = o ? o->jobs : NULL; jb; jb = jb->next) {
    if (!jb->waiter || jb->interrupted)
      continue;
    /* Journalled now, while the store takes writes: not an end. A job
     * another process started (and may still follow) is left alone. */
    jb->interrupted = 1;
    if (!jb->recovered)
      journal_interrupted(f, jb, "waiting");
    edv_op_cancel(jb->waiter);
    job_answer(jb, NULL, &e);
  }
}

static void job_on_done(void *data, json_object *op, const edv_error *err)
{
  job *jb = data;
  edv_fleet *f = jb->o->f;
  char detail[EDV_STORE_SMALL_SZ], msg[EDV_STORE_ERR_SZ] = "";
  int64_t ms = (int64_t)((uv_hrtime() - jb->t0) / 1000000u);
  edv_error e;

  (void)op;
  jb->waiter = NULL;
  if (jb->interrupted || !f) {
    job_end(jb);
    return;
  }
  if (err && err->code == EDV_ECANCELED)
    snprintf(msg, sizeof(msg), "the wait was cancelled");
  else if (err)
    snprintf(msg, sizeof(msg), "%s", err->message);
  snprintf(detail, sizeof(detail), "backup_id=%s result=%s",
           jb->backup_id[0] ? jb->backup_id : "-",
           !err                         ? "DONE"
           : err->code == EDV_ECANCELED ? "UNKNOWN"
                                        : "FAILED");
  journal(f, jb, job_names[jb->kind], detail, ms, msg[0] ? msg : NULL);
  if (err) {
    EDV_LOG_W(MOD, "tenant=%s %s %s: %s", jb->tenant, job_names[jb->kind],
              jb->backup_id, msg);
    edv_error_set(&e,
                  err->code == EDV_ECANCELED ? EDV_ECANCELED : EDV_EOPFAILED,
                  "%s %s of tenant '%s': %s", job_names[jb->kind],
                  jb->backup_id, jb->tenant, msg);
    job_answer(jb, NULL, &e);
  } else {
    EDV_LOG_I(MOD, "tenant=%s %s %s done in %lld ms", jb->tenant,
              job_names[jb->kind], jb->backup_id, (long long)ms);
    job_answer(jb, "DONE", NULL);
  }
  job_end(jb);
}

static int job_wait(edv_fleet *f, job *jb, json_object *op, edv_error *err)
{
  edv_op_wait_opts wo;

  memset(&wo, 0, sizeof(wo));
  wo.deadline_ms = JOB_WAIT_MS;
  wo.poll_initial_ms = edv__fleet_op_poll_ms(f->machine);
  if (op)
    return edv_op_wait(f->engine, op, &wo, job_on_done, jb, &jb->waiter, err);
  return edv_op_wait_name(f->engine, EDV_OP_SQL, jb->op_name, NULL, &wo,
                          job_on_done, jb, &jb->waiter, err);
}

/* The error of a refused mutating call, as the caller sees it. */
static void job_refused(job *jb, const edv_response *res, edv_error *e)
{
  if (res->error->code == EDV_ECONFLICT || res->error->code == EDV_EBUSY ||
      res->http_status == 409)
    edv_error_set(e, EDV_ECONFLICT,
                  "Cloud SQL refused the %s of instance '%s' now (another "
                  "operation runs on it?): %s",
                  job_names[jb->kind], jb->instance, res->error->message);
  else
    *e = *res->error;
}

/* The mutating call answered: journal the start, wait for the operation. */
static void job_on_started(void *data, const edv_response *res)
{
  job *jb = data;
  edv_fleet *f = jb->o->f;
  const char *name, *status;
  char detail[EDV_STORE_SMALL_SZ];
  edv_error e;

  if (res->error || !f) {
    if (res->error)
      EDV_LOG_W(MOD, "tenant=%s %s: %s", jb->tenant, job_names[jb->kind],
                res->error->message);
    if (res->error && f)
      job_refused(jb, res, &e);
    else
      edv_error_set(&e, EDV_ECANCELED, "the fleet closed");
    job_answer(jb, NULL, &e);
    job_end(jb);
    return;
  }
  name = edv__jstr(res->json, "name");
  status = edv__jstr(res->json, "status");
  if (jb->kind == JOB_BACKUP) {
    json_object *bc;
    const char *bid = NULL;
    if (json_object_object_get_ex(res->json, "backupContext", &bc))
      bid = edv__jstr(bc, "backupId");
    snprintf(jb->backup_id, sizeof(jb->backup_id), "%s", bid ? bid : "");
  }
  snprintf(jb->op_name, sizeof(jb->op_name), "%s", name ? name : "");
  snprintf(jb->status, sizeof(jb->status), "%s", status ? status : "PENDING");
  snprintf(detail, sizeof(detail), "backup_id=%s tag=%s",
           jb->backup_id[0] ? jb->backup_id : "-", jb->tag[0] ? jb->tag : "-");
  journal(f, jb, jb->kind == JOB_BACKUP ? "backup.start" : "restore.start",
          detail, 0, NULL);
  if (edv__dayops_closing(f)) {
    /* Not an end: the next process follows it (edv__dayops_recover). */
    journal_interrupted(f, jb, "starting");
    edv_error_set(&e, EDV_EUNAVAIL, "the fleet is closing");
    job_answer(jb, NULL, &e);
    job_end(jb);
    return;
  }
  if (job_wait(f, jb, res->json, &e)) {
    /* Started but not followable: say so, in the journal too. */
    journal(f, jb, job_names[jb->kind], "result=UNKNOWN", 0, e.message);
    edv_error_set(&e, EDV_EPROTO,
                  "the %s started but its operation cannot be followed: %s",
                  job_names[jb->kind], e.message);
    job_answer(jb, NULL, &e);
    job_end(jb);
    return;
  }
  if (jb->flags & EDV_FLEET_ASYNC)
    job_answer(jb, jb->status, NULL);
}

/* ---- recovery after a restart --------------------------------------------*/

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

/* "backup_id=123 tag=..." -> "123" (or "" for "-"). */
static void detail_backup_id(const char *detail, char *out, size_t size)
{
  const char *b = strstr(detail, "backup_id=");

  out[0] = '\0';
  if (b && b[10] != '-')
    snprintf(out, size, "%.*s", (int)strcspn(b + 10, " "), b + 10);
}

static void job_recover(edv_fleet *f, const edv__tenant_rec *rec)
{
  edv__dayops *o = edv__dayops_of(f);
  pend_ctx p;
  job *jb;
  edv_error err;
  char inst[EDV_FQDN_MAX];
  const char *t;

  if (!o || edv__dayops_closing(f) || job_find(o, rec->id))
    return;
  /* Once per tenant and fleet: the journal walk is not free. */
  if (!o->recovered)
    o->recovered = json_object_new_object();
  if (json_object_object_get_ex(o->recovered, rec->id, NULL))
    return;
  json_object_object_add(o->recovered, rec->id, NULL);
  memset(&p, 0, sizeof(p));
  if (edv__store_journal_list(f->store, rec->id, 0, 1000000u, pend_one, &p,
                              NULL) ||
      !p.found ||
      edv__name_sql_instance(rec->id, rec->generation, inst, sizeof(inst)))
    return;
  t = strstr(p.detail, " tag=");
  jb = job_alloc(f, p.actor, p.kind, rec->id, inst,
                 t && t[5] != '-' ? t + 5 : "");
  if (!jb)
    return;
  detail_backup_id(p.detail, jb->backup_id, sizeof(jb->backup_id));
  snprintf(jb->op_name, sizeof(jb->op_name), "%s", p.op);
  jb->started_ms = p.time_ms;
  jb->recovered = 1;
  EDV_LOG_I(MOD, "tenant=%s: following %s operation %s again", rec->id,
            job_names[p.kind], p.op);
  if (job_wait(f, jb, NULL, &err)) {
    journal(f, jb, job_names[p.kind], "result=UNKNOWN", 0, err.message);
    job_end(jb);
  }
}

void edv__dayops_recover(edv_fleet *f, const char *tenant)
{
  edv__tenant_rec rec;

  if (edv__store_tenant_get(f->store, tenant, &rec, NULL) == 0)
    job_recover(f, &rec);
}

int edv__dayops_tenant(edv_fleet *f, const char *id, edv__tenant_rec *rec,
                       edv_error *err)
{
  if (!id || edv__spec_check_id(id, NULL) != 0 ||
      edv__store_tenant_get(f->store, id, rec, NULL) != 0 ||
      rec->phase == EDV_PHASE_DELETED)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' not found",
                         id ? id : "");
  job_recover(f, rec);
  return 0;
}

/* ---- idempotency ---------------------------------------------------------*/

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

typedef struct replay_ctx {
  const char *event, *tag;
  int found;
  char backup_id[JOB_BACKUP_ID_MAX + 1];
  char op[EDV_STORE_OP_SZ];
  int64_t time_ms;
} replay_ctx;

static int replay_one(void *data, const edv__journal_rec *r)
{
  replay_ctx *x = data;
  const char *t = strstr(r->api_call, " tag=");

  if (strcmp(r->event, x->event) != 0 || !t || strcmp(t + 5, x->tag) != 0)
    return 0;
  x->found = 1;
  x->time_ms = r->time_ms;
  snprintf(x->op, sizeof(x->op), "%s", r->operation);
  detail_backup_id(r->api_call, x->backup_id, sizeof(x->backup_id));
  return 0;
}

static int idem_key_check(const char *key, edv_error *err)
{
  size_t n = strlen(key);
  int ok = n > 0 && n < EDV_STORE_IDEMKEY_SZ;

  for (size_t i = 0; ok && i < n; i++)
    if (key[i] < 0x21 || key[i] > 0x7e)
      ok = 0;
  if (!ok)
    return edv_error_set(err, EDV_EINVAL,
                         "Idempotency-Key: 1..%d printable ASCII characters",
                         EDV_STORE_IDEMKEY_SZ - 1);
  return 0;
}

/*
 * Records the idempotency key with the request's hash (tag filled, ""
 * without a key). Returns 0 to go on, 1 when the request is a replay of a
 * started job (*replay filled: a new document), or an edv_code.
 */
static int idem(edv_fleet *f, const char *key, job_kind kind,
                const edv__tenant_rec *rec, const char *canon,
                const char *instance, char *tag, json_object **replay,
                edv_error *err)
{
  char what[160], hash[65], full[65], prev[EDV_STORE_ID_SZ] = "";
  int result;
  replay_ctx x;
  job *jb, shown;

  tag[0] = '\0';
  if (!key)
    return 0;
  if ((result = idem_key_check(key, err)) != 0)
    return result;
  snprintf(what, sizeof(what), "POST /api/tenants/%s/%s", rec->id,
           job_names[kind]);
  hex_sha256(what, canon, "", hash);
  hex_sha256(key, hash, "tag", full);
  snprintf(tag, 17, "%.16s", full);
  result = edv__store_idem_check(f->store, key, hash, rec->id, prev,
                                 sizeof(prev), err);
  if (result == EDV_ECONFLICT)
    return edv_error_set(
        err, EDV_ECONFLICT,
        "Idempotency-Key '%.64s' was used with a different request", key);
  if (result != EDV_EEXIST)
    return result;
  /* A replay: the first request's job, if it got as far as starting. */
  memset(&x, 0, sizeof(x));
  x.event = kind == JOB_BACKUP ? "backup.start" : "restore.start";
  x.tag = tag;
  if ((result = edv__store_journal_list(f->store, rec->id, 0, 1000000u,
                                        replay_one, &x, err)) != 0)
    return result;
  jb = job_find(f->dayops, rec->id);
  if (!x.found) {
    if (jb && strcmp(jb->tag, tag) == 0)
      return edv_error_set(
          err, EDV_ECONFLICT,
          "Idempotency-Key: the first request with Idempotency-Key '%.64s' "
          "is still being started; retry in a moment",
          key);
    return 0; /* it failed before starting anything: do it now */
  }
  memset(&shown, 0, sizeof(shown));
  shown.kind = kind;
  snprintf(shown.tenant, sizeof(shown.tenant), "%s", rec->id);
  snprintf(shown.instance, sizeof(shown.instance), "%s", instance);
  snprintf(shown.backup_id, sizeof(shown.backup_id), "%s", x.backup_id);
  snprintf(shown.op_name, sizeof(shown.op_name), "%s", x.op);
  shown.started_ms = x.time_ms;
  *replay =
      job_doc(&shown,
              jb && jb->op_name[0] && strcmp(jb->op_name, x.op) == 0 ? "RUNNING"
                                                                     : "DONE",
              1);
  return 1;
}

/* ---- starting a job ------------------------------------------------------*/

/* Checks the tenant may start a job now. */
static int job_gate(edv_fleet *f, const edv__tenant_rec *rec, job_kind kind,
                    edv_error *err)
{
  job *jb;

  if (edv__dayops_closing(f))
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  if (rec->phase != EDV_PHASE_READY)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' is %s; a %s needs a READY tenant",
                         rec->id, edv__phase_name(rec->phase), job_names[kind]);
  if (edv__fleet_run_find(f, rec->id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being driven now; retry once its run "
                         "ends",
                         rec->id);
  if (edv__pitr_active(f, rec->id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being restored to a point in time; "
                         "retry once it ends",
                         rec->id);
  jb = job_find(f->dayops, rec->id);
  if (jb)
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' has a %s in progress (operation %s); "
                         "retry once it ends",
                         rec->id, job_names[jb->kind],
                         jb->op_name[0] ? jb->op_name : "-");
  return 0;
}

typedef struct job_start {
  edv_fleet *f;
  job_kind kind;
  const char *id;
  const char *canon; /* the argument; what the idempotency hash covers */
  int (*check)(const char *canon, const char *tenant, edv_error *err);
  const char *key; /* the idempotency key, or NULL */
  unsigned flags;
  edv_fleet_cb cb;
  void *data;
} job_start;

/*
 * The common start of a backup or restore: the tenant, the key, the gate,
 * the job. Returns 0 with *out set (the job, answered later) or with
 * *out NULL (answered now, a replay); or an edv_code.
 */
static int job_begin(const job_start *s, job **out, edv_error *err)
{
  edv__tenant_rec rec;
  char inst[EDV_FQDN_MAX], tag[17], actor[EDV_STORE_SMALL_SZ];
  json_object *replay = NULL;
  int result;

  *out = NULL;
  if ((result = edv__dayops_tenant(s->f, s->id, &rec, err)) != 0 ||
      (result = s->check(s->canon, rec.id, err)) != 0)
    return result;
  if (edv__name_sql_instance(rec.id, rec.generation, inst, sizeof(inst)))
    return edv_error_set(err, EDV_EINTERNAL, "tenant '%s': no instance name",
                         rec.id);
  result = idem(s->f, s->key, s->kind, &rec, s->canon, inst, tag, &replay, err);
  if (result == 1)
    return edv__dayops_answer_later(s->f, replay, s->cb, s->data, err);
  if (result || (result = job_gate(s->f, &rec, s->kind, err)) != 0)
    return result;
  /* As the tenant operations journal: "edvd:alice". */
  snprintf(actor, sizeof(actor), "%.60s%s%.60s", s->f->actor,
           s->f->who[0] ? ":" : "", s->f->who);
  *out = job_alloc(s->f, actor, s->kind, rec.id, inst, tag);
  if (!*out)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  (*out)->flags = s->flags;
  (*out)->cb = s->cb;
  (*out)->data = s->data;
  return 0;
}

/* ---- backup --------------------------------------------------------------*/

static int check_description(const char *s, const char *tenant, edv_error *err)
{
  int ok = strlen(s) <= JOB_DESC_MAX;

  (void)tenant;
  for (const char *p = s; ok && *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      ok = 0;
  if (!ok)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'description' must be a string of at most %d "
                         "characters without control characters",
                         JOB_DESC_MAX);
  return 0;
}

int edv_tenant_backup(edv_fleet *f, const char *id, const char *description,
                      const char *idempotency_key, unsigned flags,
                      edv_fleet_cb cb, void *data, edv_error *err)
{
  job_start s = {f,
                 JOB_BACKUP,
                 id,
                 description ? description : "",
                 check_description,
                 idempotency_key,
                 flags,
                 cb,
                 data};
  job *jb;
  json_object *rb;
  char path[400];
  int result;

  if ((result = job_begin(&s, &jb, err)) != 0 || !jb)
    return result;
  if (s.canon[0])
    snprintf(jb->description, sizeof(jb->description), "%s", s.canon);
  else if (f->who[0])
    snprintf(jb->description, sizeof(jb->description),
             "%.40s on-demand backup by %.60s", f->actor, f->who);
  else
    snprintf(jb->description, sizeof(jb->description), "%.40s on-demand backup",
             f->actor);
  snprintf(path, sizeof(path), SQLP "/backupRuns",
           edv__fleet_project(f->machine), jb->instance);
  rb = json_object_new_object();
  json_object_object_add(rb, "kind", json_object_new_string("sql#backupRun"));
  json_object_object_add(rb, "description",
                         json_object_new_string(jb->description));
  /* Not retried: a lost answer would otherwise take a second backup. */
  result = edv__dayops_submit(f, EDV_API_SQLADMIN, "POST", path, rb,
                              "sql.backupRuns.insert", job_on_started, jb);
  json_object_put(rb);
  if (result) {
    jb->cb = NULL;
    job_end(jb);
    return edv_error_set(err, EDV_EUNAVAIL, "cannot call Cloud SQL now");
  }
  return 0;
}

/* ---- restore -------------------------------------------------------------*/

static int check_backup_id(const char *s, const char *tenant, edv_error *err)
{
  size_t n = strlen(s);

  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      n = 0;
  if (n == 0 || n > JOB_BACKUP_ID_MAX)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'backup_id' must be a backup run id: a string "
                         "of 1..%d digits (see the backups of tenant '%s')",
                         JOB_BACKUP_ID_MAX, tenant);
  return 0;
}

/* The backup run is this instance's and SUCCESSFUL: start the restore. */
static void restore_on_run(void *data, const edv_response *res)
{
  job *jb = data;
  edv_fleet *f = jb->o->f;
  const char *st = res->error ? NULL : edv__jstr(res->json, "status");
  json_object *b, *ctx;
  char path[400];
  edv_error e;

  if (!f || edv__dayops_closing(f))
    /* A restore is destructive: never started while closing. */
    edv_error_set(&e, EDV_EUNAVAIL,
                  "the fleet is closing; nothing was "
                  "restored");
  else if (res->error && res->error->code == EDV_ENOTFOUND)
    edv_error_set(&e, EDV_ENOTFOUND,
                  "field 'backup_id': '%s' is not a backup of tenant '%s' "
                  "(instance '%s'); see its backups",
                  jb->backup_id, jb->tenant, jb->instance);
  else if (res->error)
    e = *res->error;
  else if (!st || strcmp(st, "SUCCESSFUL") != 0)
    edv_error_set(&e, EDV_EPRECONDITION,
                  "field 'backup_id': backup '%s' is %s; only a SUCCESSFUL "
                  "backup can be restored",
                  jb->backup_id, st ? st : "of unknown status");
  else
    e.code = EDV_OK;
  if (e.code != EDV_OK) {
    job_answer(jb, NULL, &e);
    job_end(jb);
    return;
  }
  b = json_object_new_object();
  ctx = json_object_new_object();
  json_object_object_add(ctx, "kind",
                         json_object_new_string("sql#restoreBackupContext"));
  json_object_object_add(ctx, "backupRunId",
                         json_object_new_string(jb->backup_id));
  json_object_object_add(ctx, "instanceId",
                         json_object_new_string(jb->instance));
  json_object_object_add(
      ctx, "project", json_object_new_string(edv__fleet_project(f->machine)));
  json_object_object_add(b, "restoreBackupContext", ctx);
  snprintf(path, sizeof(path), SQLP "/restoreBackup",
           edv__fleet_project(f->machine), jb->instance);
  if (edv__dayops_submit(f, EDV_API_SQLADMIN, "POST", path, b,
                         "sql.instances.restoreBackup", job_on_started, jb)) {
    edv_error_set(&e, EDV_EUNAVAIL, "cannot call Cloud SQL now");
    job_answer(jb, NULL, &e);
    job_end(jb);
  }
  json_object_put(b);
}

int edv_tenant_restore(edv_fleet *f, const char *id, const char *backup_id,
                       const char *idempotency_key, unsigned flags,
                       edv_fleet_cb cb, void *data, edv_error *err)
{
  job_start s = {f,
                 JOB_RESTORE,
                 id,
                 backup_id ? backup_id : "",
                 check_backup_id,
                 idempotency_key,
                 flags,
                 cb,
                 data};
  job *jb;
  char path[400];
  int result;

  if ((result = job_begin(&s, &jb, err)) != 0 || !jb)
    return result;
  snprintf(jb->backup_id, sizeof(jb->backup_id), "%s", backup_id);
  /* Tenant isolation: the run must be one of this tenant's instance. */
  snprintf(path, sizeof(path), SQLP "/backupRuns/%s",
           edv__fleet_project(f->machine), jb->instance, backup_id);
  if (edv__dayops_submit(f, EDV_API_SQLADMIN, "GET", path, NULL,
                         "sql.backupRuns.get", restore_on_run, jb)) {
    jb->cb = NULL;
    job_end(jb);
    return edv_error_set(err, EDV_EUNAVAIL, "cannot call Cloud SQL now");
  }
  return 0;
}

/* ---- the list of backups -------------------------------------------------*/

typedef struct backups_ctx {
  edv__dayops *o;
  edv_fleet_cb cb;
  void *data;
  char tenant[EDV_STORE_ID_SZ];
  char instance[EDV_FQDN_MAX];
} backups_ctx;

static json_object *backup_run_view(json_object *run)
{
  json_object *x = json_object_new_object(), *e;
  const char *emsg = NULL;

  if (json_object_object_get_ex(run, "error", &e))
    emsg = edv__jstr(e, "message") ? edv__jstr(e, "message")
                                   : edv__jstr(e, "code");
#define RUN_STR(key, from)                                                     \
  json_object_object_add(x, key, edv__view_str(edv__jstr(run, from)))
  RUN_STR("id", "id");
  RUN_STR("status", "status");
  RUN_STR("type", "type");
  RUN_STR("description", "description");
  RUN_STR("enqueued", "enqueuedTime");
  RUN_STR("started", "startTime");
  RUN_STR("ended", "endTime");
#undef RUN_STR
  json_object_object_add(x, "error", edv__view_str(emsg));
  return x;
}

static void backups_on_list(void *data, const edv_response *res)
{
  backups_ctx *b = data;
  edv_fleet *f = b->o->f;
  json_object *o, *arr, *items;
  edv_error e;

  if (!f || res->error) {
    if (!f)
      edv_error_set(&e, EDV_ECANCELED, "the fleet closed");
    else if (res->error->code == EDV_ENOTFOUND)
      edv_error_set(&e, EDV_ENOTFOUND,
                    "tenant '%s' has no Cloud SQL instance '%s' now", b->tenant,
                    b->instance);
    else
      e = *res->error;
    b->cb(b->data, NULL, &e);
    edv__dayops_unref(b->o);
    free(b);
    return;
  }
  arr = json_object_new_array();
  if (json_object_object_get_ex(res->json, "items", &items) &&
      json_object_is_type(items, json_type_array))
    for (size_t i = 0; i < json_object_array_length(items); i++) {
      json_object *run = json_object_array_get_idx(items, i);
      if (edv__jstr(run, "id"))
        json_object_array_add(arr, backup_run_view(run));
    }
  o = json_object_new_object();
  json_object_object_add(o, "tenant", json_object_new_string(b->tenant));
  json_object_object_add(o, "instance", json_object_new_string(b->instance));
  json_object_object_add(o, "backups", arr);
  json_object_object_add(
      o, "more",
      json_object_new_boolean(edv__jstr(res->json, "nextPageToken") != NULL));
  json_object_object_add(o, "operation", edv__dayops_job_view(f, b->tenant));
  b->cb(b->data, o, NULL);
  json_object_put(o);
  edv__dayops_unref(b->o);
  free(b);
}

int edv_tenant_backups(edv_fleet *f, const char *id, edv_fleet_cb cb,
                       void *data, edv_error *err)
{
  edv__tenant_rec rec;
  backups_ctx *b;
  char path[400];
  int result;

  if ((result = edv__dayops_tenant(f, id, &rec, err)) != 0)
    return result;
  b = calloc(1, sizeof(*b));
  if (!b || !(b->o = edv__dayops_of(f))) {
    free(b);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  b->cb = cb;
  b->data = data;
  snprintf(b->tenant, sizeof(b->tenant), "%s", rec.id);
  if (edv__name_sql_instance(rec.id, rec.generation, b->instance,
                             sizeof(b->instance))) {
    free(b);
    return edv_error_set(err, EDV_EINTERNAL, "tenant '%s': no instance name",
                         rec.id);
  }
  /* Newest first; one page of 100 is plenty to choose a restore from. */
  snprintf(path, sizeof(path), SQLP "/backupRuns?maxResults=100",
           edv__fleet_project(f->machine), b->instance);
  if (edv__dayops_submit(f, EDV_API_SQLADMIN, "GET", path, NULL,
                         "sql.backupRuns.list", backups_on_list, b)) {
    free(b);
    return edv_error_set(err, EDV_EUNAVAIL, "cannot call Cloud SQL now");
  }
  edv__dayops_ref(b->o);
  return 0;
}
