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
 *   GET    /api/tenants/{id}/plan     what a reconcile would do
 *   POST   /api/tenants/{id}/retry    run a FAILED tenant again (202)
 *   POST   /api/tenants/{id}/resume   carry on an interrupted run (202)
 *
 * Each handler parses the request, calls the fleet library (edv/fleet.h:
 * the checks, the records, the runs and the tenant document are all
 * there, shared with edvctl) and renders its answer. What is only HTTP
 * stays here: query parameters, Idempotency-Key, Location, status codes.
 * A request waits suspended while the library works; the loop goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edv/log.h"
#include "server/api.h"
#include "server/viewcache.h"

#define MOD "api"

/* The tenant of a route, as the store has it (edv_tenant_peek): answers
 * 404 and returns NULL when there is none (or the id is the platform's). */
static json_object *get_rec(api_ctx *c, const char *id)
{
  json_object *t = edv_tenant_peek(c->d->ef, id, NULL);

  if (!t)
    api_error(c, 404, NULL, NULL, "tenant '%s' not found", id);
  return t;
}

/* 1 (answered 404) when the route's tenant does not exist, else 0. */
static int no_tenant(api_ctx *c, const char *id)
{
  json_object *t = get_rec(c, id);

  json_object_put(t);
  return t == NULL;
}

/* ---- answers from the library
 * ------------------------------------------------------*/

/* The query or body field an error of the library names: "field 'tier':
 * ..." or "limit: ...". */
static const char *field_of(const edv_error *err, char *buf, size_t size)
{
  static const char *const query[] = {
      "tier:", "state:", "limit:", "page_token:", "after:", NULL};
  const char *f = api_field_of(err->message, buf, size);

  for (size_t i = 0; !f && query[i]; i++)
    if (strncmp(err->message, query[i], strlen(query[i])) == 0) {
      snprintf(buf, size, "%.*s", (int)strlen(query[i]) - 1, query[i]);
      f = buf;
    }
  return f;
}

static void answer_error(api_ctx *c, const edv_error *err)
{
  char fb[72];

  api_error_edv(c, err, field_of(err, fb, sizeof(fb)));
}

/* The tenant's ETag (edv_tenant_etag): so that a PUT or DELETE with
 * If-Match acts only on the tenant as its caller last saw it. 0, or -1
 * for no such tenant. */
static int tenant_etag(edvd *d, const char *id, char *out, size_t size)
{
  return id && edv_tenant_etag(d->ef, id, out, size, NULL) == 0 ? 0 : -1;
}

/* If-Match on a write: 412 (and -1) unless it names the tenant's ETag
 * now, or is "*". No header: 0. */
static int if_match(api_ctx *c, const char *id)
{
  const char *want = edv__http_header(c->req, "If-Match");
  char tag[40];

  if (!want || strcmp(want, "*") == 0)
    return 0;
  /* A list of tags may come ("a", "b"): any one of them. */
  if (tenant_etag(c->d, id, tag, sizeof(tag)) == 0 && strstr(want, tag))
    return 0;
  api_error(c, 412, "FAILED_PRECONDITION", "If-Match",
            "tenant '%s' changed since ETag %.64s (now %s): GET it again", id,
            want, tenant_etag(c->d, id, tag, sizeof(tag)) ? "gone" : tag);
  return -1;
}

/* ETag of the tenant an answer shows (the document, or its "tenant"). */
static void add_etag(api_ctx *c, json_object *doc)
{
  json_object *t = json_object_object_get(doc, "tenant"), *id;
  char tag[40];

  if (json_object_object_get_ex(t ? t : doc, "id", &id) &&
      json_object_object_get(t ? t : doc, "phase") &&
      tenant_etag(c->d, json_object_get_string(id), tag, sizeof(tag)) == 0)
    edv__http_add_header(c->req, "ETag", tag);
}

/* A request waiting for the library's answer: status and Location. */
typedef struct lib_wait {
  api_ctx *c;
  unsigned status;
  int location; /* add Location: /api/tenants/{id} of the answer */
} lib_wait;

static void lib_answer(void *data, json_object *doc, const edv_error *err)
{
  lib_wait *w = data;
  api_ctx *c = w->c;
  unsigned status = w->status;
  int location = w->location;

  free(w);
  if (!api_resume(c))
    return;
  if (!doc) {
    answer_error(c, err);
    return;
  }
  add_etag(c, doc);
  if (location) {
    json_object *t = json_object_object_get(doc, "tenant"), *id;
    char loc[128];
    if (!json_object_object_get_ex(t ? t : doc, "id", &id))
      id = NULL;
    snprintf(loc, sizeof(loc), "/api/tenants/%s", json_object_get_string(id));
    edv__http_add_header(c->req, "Location", loc);
  }
  api_send(c, status, json_object_get(doc));
}

/* Calls the library (`start` returns its result, with `w` as the callback's
 * data) and waits suspended for its answer, or answers its refusal now. */
#define LIB_CALL(c, st, loc, call)                                             \
  do {                                                                         \
    lib_wait *w = calloc(1, sizeof(*w));                                       \
    edv_error err;                                                             \
    if (!w) {                                                                  \
      api_error(c, 500, NULL, NULL, "out of memory");                          \
      break;                                                                   \
    }                                                                          \
    w->c = c;                                                                  \
    w->status = st;                                                            \
    w->location = loc;                                                         \
    edv_fleet_act_as(c->d->ef, c->who);                                        \
    if ((call) != 0) {                                                         \
      free(w);                                                                 \
      answer_error(c, &err);                                                   \
      break;                                                                   \
    }                                                                          \
    api_suspend(c, 60000);                                                     \
  } while (0)

/* A backup or restore holds the database: no run meanwhile (a repair or
 * scale would patch it mid-restore, a delete would fail half-way). */
static int job_free(api_ctx *c, const char *id)
{
  if (!edv_tenant_busy(c->d->ef, id))
    return 0;
  api_error(c, 409, "ABORTED", NULL,
            "tenant '%s' has a backup or restore running; retry once it "
            "ends (GET /api/tenants/%s/backups)",
            id, id);
  return -1;
}

/* ---- GET /api/tenants
 * --------------------------------------------------------*/

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
  const char *lim = edv__http_query(c->req, "limit");
  edv_tenant_query q;
  unsigned long limit = 100;

  (void)id;
  if (api_query_only(c, allowed))
    return;
  if (lim && (parse_uint(lim, 1000, &limit) || limit == 0)) {
    api_error(c, 400, NULL, "limit", "limit: must be an integer 1..1000");
    return;
  }
  memset(&q, 0, sizeof(q));
  q.tier = edv__http_query(c->req, "tier");
  q.state = edv__http_query(c->req, "state");
  q.page_token = edv__http_query(c->req, "page_token");
  q.limit = (unsigned)limit;
  LIB_CALL(c, 200, 0, edv_tenant_list(c->d->ef, &q, lib_answer, w, &err));
}

/* ---- POST /api/tenants
 * -----------------------------------------------------------*/

/* Idempotency-Key: a replay of the same request is answered by doing the
 * (idempotent) work again, so it gets the same answer; the key with a
 * different request is 409. Answers and returns -1 when refused. */
static int idem_check(api_ctx *c, const char *key, json_object *body)
{
  edv_error err;
  int result = edv_tenant_create_key(c->d->ef, key, body, &err);

  if (result == EDV_ECONFLICT)
    api_error(c, 409, "ABORTED", "Idempotency-Key", "%s", err.message);
  else if (result)
    api_error_edv(c, &err, NULL);
  return result ? -1 : 0;
}

void api_tenants_create(api_ctx *c, const char *id)
{
  const char *key = edv__http_header(c->req, "Idempotency-Key");
  json_object *body;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (key) {
    size_t n = strlen(key);
    int ok = n > 0 && n <= EDV_IDEMPOTENCY_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
      if (key[i] < 0x21 || key[i] > 0x7e)
        ok = 0;
    if (!ok) {
      api_error(c, 400, NULL, "Idempotency-Key",
                "Idempotency-Key: 1..%d printable ASCII characters",
                EDV_IDEMPOTENCY_KEY_MAX);
      return;
    }
  }
  body = api_body_object(c);
  if (!body)
    return;
  if (idem_check(c, key, body) == 0) {
    json_object *v;
    if (json_object_object_get_ex(body, "id", &v) &&
        json_object_is_type(v, json_type_string))
      snprintf(c->tenant, sizeof(c->tenant), "%.31s",
               json_object_get_string(v));
    LIB_CALL(c, 202, 1,
             edv_tenant_create(c->d->ef, body, EDV_FLEET_ASYNC, lib_answer, w,
                               &err));
  }
  json_object_put(body);
}

/* ---- GET /api/tenants/{id}
 * ---------------------------------------------------------*/

/* GET ?observe=true: the live state, kept EDVD_VIEW_TTL_MS in the view
 * cache (server/viewcache.h) so that pollers do not multiply the calls. */
typedef struct get_wait {
  api_ctx *c;
  json_object *seen; /* the cached live state, or NULL */
  int observe;
} get_wait;

static void get_answer(void *data, json_object *doc, const edv_error *err)
{
  get_wait *g = data;
  api_ctx *c = g->c;
  json_object *seen = g->seen;
  int observe = g->observe;

  free(g);
  if (!api_resume(c)) {
    json_object_put(seen);
    return;
  }
  if (!doc) {
    json_object_put(seen);
    answer_error(c, err);
    return;
  }
  doc = json_object_get(doc);
  if (seen) {
    /* The cached live state, and the version its app reports (as the
     * library's own get derives it: observed.app.version). */
    json_object *v =
        json_object_object_get(json_object_object_get(seen, "app"), "version");
    json_object_object_add(doc, "release_observed", json_object_get(v));
    json_object_object_add(doc, "observed", seen);
  } else if (observe) {
    char key[EDV_TENANT_ID_MAX + 24];
    snprintf(key, sizeof(key), "observe/%s",
             json_object_get_string(json_object_object_get(doc, "id")));
    /* The cache takes its own reference. */
    edvd_view_put(c->d, key, json_object_object_get(doc, "observed"),
                  EDVD_VIEW_TTL_MS);
  } else {
    /* Without ?observe=true the document has no live state at all. */
    json_object_object_del(doc, "observed");
  }
  add_etag(c, doc);
  api_send(c, 200, doc);
}

void api_tenant_get(api_ctx *c, const char *id)
{
  const char *ob;
  get_wait *g;
  edv_error err;
  unsigned flags = 0;

  if (api_query_only(c, (const char *const[]){"observe", NULL}) ||
      no_tenant(c, id))
    return;
  ob = edv__http_query(c->req, "observe");
  if (ob && strcmp(ob, "true") != 0 && strcmp(ob, "false") != 0) {
    api_error(c, 400, NULL, "observe",
              "query parameter 'observe' must be true or false");
    return;
  }
  g = calloc(1, sizeof(*g));
  if (!g) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  g->c = c;
  if (ob && strcmp(ob, "true") == 0) {
    char key[EDV_TENANT_ID_MAX + 24];
    snprintf(key, sizeof(key), "observe/%s", id);
    g->seen = edvd_view_get(c->d, key);
    g->observe = 1;
    if (!g->seen)
      flags = EDV_FLEET_OBSERVE;
  }
  if (edv_tenant_get(c->d->ef, id, flags, get_answer, g, &err)) {
    json_object_put(g->seen);
    free(g);
    answer_error(c, &err);
    return;
  }
  api_suspend(c, 20000);
}

/* ---- POST /api/tenants/{id}/scale
 * ---------------------------------------------------*/

void api_tenant_scale(api_ctx *c, const char *id)
{
  json_object *body, *v;

  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id))
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
  if (job_free(c, id) == 0)
    LIB_CALL(c, 202, 1,
             edv_tenant_scale(c->d->ef, id, json_object_get_string(v),
                              EDV_FLEET_ASYNC, lib_answer, w, &err));
  json_object_put(body);
}

/* ---- PUT /api/tenants/{id}
 * ----------------------------------------------------------*/

void api_tenant_put(api_ctx *c, const char *id)
{
  json_object *body, *v, *rec;
  char tier[64];
  int scaling;

  if (api_query_only(c, (const char *const[]){NULL}) || !(rec = get_rec(c, id)))
    return;
  snprintf(tier, sizeof(tier), "%s",
           json_object_get_string(json_object_object_get(rec, "tier")));
  json_object_put(rec);
  body = api_body_object(c);
  if (!body)
    return;
  /* A new tier is scaling: 202 with the scale answer, as POST .../scale. */
  if (if_match(c, id)) {
    json_object_put(body);
    return;
  }
  scaling = json_object_object_get_ex(body, "tier", &v) &&
            json_object_is_type(v, json_type_string) &&
            strcmp(json_object_get_string(v), tier) != 0;
  if (job_free(c, id) == 0)
    LIB_CALL(c, scaling ? 202 : 200, scaling,
             edv_tenant_update(c->d->ef, id, body, EDV_FLEET_ASYNC, lib_answer,
                               w, &err));
  json_object_put(body);
}

/* ---- DELETE /api/tenants/{id}
 * -------------------------------------------------------*/

/* 202 once the delete is durable: a tenant being provisioned is recorded
 * DEPROVISIONING first, so that an edvd that dies before its run stops
 * goes down after its restart. A READY tenant is suspended for its grace
 * (?now=true: purged at once). */
void api_tenant_delete(api_ctx *c, const char *id)
{
  const char *now;
  unsigned flags = EDV_FLEET_ASYNC;

  if (api_query_only(c, (const char *const[]){"now", NULL}) ||
      no_tenant(c, id) || if_match(c, id))
    return;
  now = edv__http_query(c->req, "now");
  if (now && strcmp(now, "true") != 0 && strcmp(now, "false") != 0) {
    api_error(c, 400, NULL, "now",
              "query parameter 'now' must be true or false");
    return;
  }
  if (now && strcmp(now, "true") == 0)
    flags |= EDV_FLEET_NOW;
  if (job_free(c, id) == 0)
    LIB_CALL(c, 202, 1,
             edv_tenant_delete(c->d->ef, id, flags, lib_answer, w, &err));
}

/* ---- POST /api/tenants/{id}/undelete
 * ---------------------------------------------*/

/* Brings a tenant in its deletion's grace back (edv_tenant_undelete): 202
 * with the tenant document once its run started; 412 for other phases. */
void api_tenant_undelete(api_ctx *c, const char *id)
{
  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id))
    return;
  LIB_CALL(
      c, 202, 1,
      edv_tenant_undelete(c->d->ef, id, EDV_FLEET_ASYNC, lib_answer, w, &err));
}

/* ---- GET /api/tenants/{id}/events
 * -------------------------------------------------*/

void api_tenant_events(api_ctx *c, const char *id)
{
  static const char *const allowed[] = {"page_token", "after", "limit", NULL};
  const char *a = edv__http_query(c->req, "after");
  const char *tok = edv__http_query(c->req, "page_token");
  const char *lim = edv__http_query(c->req, "limit");
  unsigned long after = 0, limit = 100;

  if (api_query_only(c, allowed) || no_tenant(c, id))
    return;
  /* page_token (next_page_token of the last page), as every list; `after`
   * (a sequence number) is the older name of the same thing. */
  if (a && tok) {
    api_error(c, 400, NULL, "page_token",
              "page_token and after are the same thing: give one");
    return;
  }
  if (tok && *tok && parse_uint(tok, (unsigned long)INT64_MAX, &after)) {
    api_error(c, 400, NULL, "page_token",
              "page_token: not a token this server gave");
    return;
  }
  if (a && parse_uint(a, (unsigned long)INT64_MAX, &after)) {
    api_error(c, 400, NULL, "after", "after: must be a sequence number");
    return;
  }
  if (lim && (parse_uint(lim, 1000, &limit) || limit == 0)) {
    api_error(c, 400, NULL, "limit", "limit: must be an integer 1..1000");
    return;
  }
  LIB_CALL(c, 200, 0,
           edv_tenant_events(c->d->ef, id, (int64_t)after, (unsigned)limit,
                             lib_answer, w, &err));
}

/* ---- POST /api/tenants/{id}/apply
 * ------------------------------------------------*/

/* Carries out the tenant's plan (edv_tenant_apply): 202 with the tenant
 * document once its run started; the journal and GET say how it ends. */
void api_tenant_apply(api_ctx *c, const char *id)
{

  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id))
    return;
  if (job_free(c, id) == 0)
    LIB_CALL(
        c, 202, 1,
        edv_tenant_apply(c->d->ef, id, EDV_FLEET_ASYNC, lib_answer, w, &err));
}

/* ---- POST /api/tenants/{id}/retry, /resume
 * --------------------------------------*/

/* Runs a FAILED tenant again in the direction it failed
 * (edv_tenant_retry): 202 with the tenant document once its run started;
 * 409 for a tenant in another phase. */
void api_tenant_retry(api_ctx *c, const char *id)
{
  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id))
    return;
  if (job_free(c, id) == 0)
    LIB_CALL(
        c, 202, 1,
        edv_tenant_retry(c->d->ef, id, EDV_FLEET_ASYNC, lib_answer, w, &err));
}

/* Carries on an interrupted run in the direction it was going
 * (edv_tenant_resume): 202 with the tenant document once its run started
 * (a READY, SUSPENDED or DELETED tenant has none: its document, run null);
 * 409 for a FAILED one. */
void api_tenant_resume(api_ctx *c, const char *id)
{
  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id))
    return;
  if (job_free(c, id) == 0)
    LIB_CALL(
        c, 202, 1,
        edv_tenant_resume(c->d->ef, id, EDV_FLEET_ASYNC, lib_answer, w, &err));
}

/* ---- GET /api/tenants/{id}/plan
 * --------------------------------------------------*/

/* What a reconcile would do now (edv_tenant_plan), read-only: the plan
 * document. */
void api_tenant_plan(api_ctx *c, const char *id)
{
  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id))
    return;
  LIB_CALL(c, 200, 0, edv_tenant_plan(c->d->ef, id, lib_answer, w, &err));
}

/* ---- POST /api/tenants/{id}/recover
 * ----------------------------------------------*/

/* Recreates a DELETED tenant from its final backup (edv_tenant_recover):
 * 202 with the tenant document once its run started; 412 naming why when
 * there is nothing to recover from. */
void api_tenant_recover(api_ctx *c, const char *id)
{
  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id))
    return;
  LIB_CALL(
      c, 202, 1,
      edv_tenant_recover(c->d->ef, id, EDV_FLEET_ASYNC, lib_answer, w, &err));
}

/* ---- POST /api/tenants/{id}/release
 * ----------------------------------------------*/

/* Changes a READY tenant's release by replacing its VM
 * (edv_tenant_set_release), body {"release": VERSION}: 202 with the
 * tenant document once its run started; 400 naming the field, 409 for a
 * tenant not READY or with another change pending. */
void api_tenant_release(api_ctx *c, const char *id)
{
  json_object *body, *v;
  const char *version = NULL;

  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id) ||
      !(body = api_body_object(c)))
    return;
  json_object_object_foreach(body, key, val)
  {
    (void)val;
    if (strcmp(key, "release") != 0) {
      api_error(c, 400, NULL, key, "field '%.64s' is not known here", key);
      json_object_put(body);
      return;
    }
  }
  if (json_object_object_get_ex(body, "release", &v) &&
      json_object_is_type(v, json_type_string))
    version = json_object_get_string(v);
  if (!version) {
    api_error(c, 400, NULL, "release",
              "field 'release' is missing or not a string");
    json_object_put(body);
    return;
  }
  if (job_free(c, id) == 0)
    LIB_CALL(c, 202, 1,
             edv_tenant_set_release(c->d->ef, id, version, EDV_FLEET_ASYNC,
                                    lib_answer, w, &err));
  json_object_put(body);
}

/* ---- POST /api/tenants/{id}/move
 * -------------------------------------------------*/

/* Moves a READY tenant to another region (edv_tenant_move), body
 * {"region": R, "from_latest_backup": bool}: 202 with the tenant document
 * once its run started; 400 naming the field, 409 for a tenant not READY
 * or an old region that is down (without from_latest_backup). */
void api_tenant_move(api_ctx *c, const char *id)
{
  json_object *body, *v;
  const char *region = NULL;
  unsigned flags = EDV_FLEET_ASYNC;

  if (api_query_only(c, (const char *const[]){NULL}) || no_tenant(c, id) ||
      !(body = api_body_object(c)))
    return;
  json_object_object_foreach(body, key, val)
  {
    (void)val;
    if (strcmp(key, "region") != 0 && strcmp(key, "from_latest_backup") != 0) {
      api_error(c, 400, NULL, key, "field '%.64s' is not known here", key);
      json_object_put(body);
      return;
    }
  }
  if (json_object_object_get_ex(body, "region", &v) &&
      json_object_is_type(v, json_type_string))
    region = json_object_get_string(v);
  if (!region) {
    api_error(c, 400, NULL, "region",
              "field 'region' is missing or not a string");
    json_object_put(body);
    return;
  }
  if (json_object_object_get_ex(body, "from_latest_backup", &v)) {
    if (!json_object_is_type(v, json_type_boolean)) {
      api_error(c, 400, NULL, "from_latest_backup",
                "field 'from_latest_backup' must be a boolean");
      json_object_put(body);
      return;
    }
    if (json_object_get_boolean(v))
      flags |= EDV_FLEET_LATEST_BACKUP;
  }
  if (job_free(c, id) == 0)
    LIB_CALL(c, 202, 1,
             edv_tenant_move(c->d->ef, id, region, flags, lib_answer, w, &err));
  json_object_put(body);
}
