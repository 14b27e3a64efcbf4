/*
 * shared.c - the URL map, DNS and project IAM policy single writers (see
 * shared.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "edv/engine.h"
#include "edv/ops.h"
#include "gcp/gcp.h"
#include "tenant/kinds.h"
#include "tenant/machine.h"
#include "tenant/shared.h"
#include "tenant/steps.h"

#define MOD           "shared"
#define MAX_HOSTS     4
#define MAX_RRDATAS   8
#define MAX_CONFLICTS 12
#define MAX_OWNED     4
/* Cloud DNS refuses a change with more than 1,000 additions (or
 * deletions): 403 quotaExceeded "The change would exceed quota for
 * additions per change", a permanent error that failed every tenant of
 * the batch (1,000 tenants queue ~4,000 rrsets at once). Each queued change
 * makes at most one addition and one deletion, so a batch of 500 stays
 * well inside the limit; the rest waits for the next write. */
#define DNS_MAX_BATCH 500

typedef struct change {
  struct change *next;
  int is_dns;
  char tenant[40];
  char *hosts[MAX_HOSTS + 1];
  char *backend;
  char zone[80];
  char name[300];
  char type[12];
  int ttl;
  int remove;
  char *rrdatas[MAX_RRDATAS + 1];
  json_object *current;       /* DNS: the rrset as read, or NULL */
  json_object *blocker;       /* DNS: a rrset at the name our type cannot sit
                                 beside (a CNAME; for a CNAME, any other) */
  char *owned[MAX_OWNED + 1]; /* DNS: values that prove a rrset ours */
  int created;                /* DNS: we created the rrset (see shared.h) */
  edv_error refused;          /* DNS: not ours: refused, nothing written */
  char member[300];           /* IAM: "serviceAccount:EMAIL" */
  char *roles[EDV_IAM_MAX_ROLES + 1]; /* IAM: its roles, NULL-ended */
  edv__shared_cb cb;
  void *data;
} change;

typedef struct writer {
  edv__shared *sh;
  int is_dns;
  int is_iam;
  change *queue, **tail; /* waiting for the next write */
  change *batch;         /* in the current write */
  int busy;
  unsigned conflicts; /* in the current write */
  unsigned pending_reads;
  edv_error read_err;
} writer;

typedef struct claim {
  struct claim *next;
  char region[64];
  const void *owner;
} claim;

struct edv__shared {
  edv__fleet *fleet;
  claim *claims; /* regions held (edv__region_claim) */
  writer urlmap, dns, iam;
  unsigned inflight; /* calls and waits in flight */
  int closing;
  unsigned long urlmap_writes, dns_writes, iam_writes, conflicts;
};

static void writer_kick(writer *w);
static void iam_read(writer *w);

/* ---- bookkeeping ----------------------------------------------------- */

static void change_free(change *c)
{
  for (int i = 0; c->hosts[i]; i++)
    free(c->hosts[i]);
  for (int i = 0; c->rrdatas[i]; i++)
    free(c->rrdatas[i]);
  for (int i = 0; c->owned[i]; i++)
    free(c->owned[i]);
  for (int i = 0; c->roles[i]; i++)
    free(c->roles[i]);
  free(c->backend);
  json_object_put(c->current);
  json_object_put(c->blocker);
  free(c);
}

static void complete(change *list, const edv_error *err)
{
  while (list) {
    change *next = list->next;
    list->cb(list->data, list->refused.code ? &list->refused : err);
    change_free(list);
    list = next;
  }
}

static void maybe_free(edv__shared *sh)
{
  if (sh->closing && sh->inflight == 0) {
    while (sh->claims) {
      claim *next = sh->claims->next;
      free(sh->claims);
      sh->claims = next;
    }
    free(sh);
  }
}

edv__shared *edv__shared_new(edv__fleet *f)
{
  edv__shared *sh = calloc(1, sizeof(*sh));

  if (!sh)
    return NULL;
  sh->fleet = f;
  sh->urlmap.sh = sh;
  sh->urlmap.tail = &sh->urlmap.queue;
  sh->dns.sh = sh;
  sh->dns.is_dns = 1;
  sh->dns.tail = &sh->dns.queue;
  sh->iam.sh = sh;
  sh->iam.is_iam = 1;
  sh->iam.tail = &sh->iam.queue;
  return sh;
}

void edv__shared_free(edv__shared *sh)
{
  edv_error err;

  if (!sh)
    return;
  edv_error_set(&err, EDV_ECANCELED, "shutting down");
  sh->closing = 1;
  complete(sh->urlmap.queue, &err);
  complete(sh->dns.queue, &err);
  complete(sh->iam.queue, &err);
  sh->urlmap.queue = sh->dns.queue = sh->iam.queue = NULL;
  maybe_free(sh);
}

void edv__shared_stats(const edv__shared *sh, unsigned long *u,
                       unsigned long *d, unsigned long *c)
{
  if (u)
    *u = sh ? sh->urlmap_writes : 0;
  if (d)
    *d = sh ? sh->dns_writes : 0;
  if (c)
    *c = sh ? sh->conflicts : 0;
}

unsigned long edv__shared_iam_writes(const edv__shared *sh)
{
  return sh ? sh->iam_writes : 0;
}

static void enqueue(writer *w, change *c)
{
  c->next = NULL;
  *w->tail = c;
  w->tail = &c->next;
  writer_kick(w);
}

/* Ends the current write: callbacks, then the next write if queued. */
static void writer_end(writer *w, const edv_error *err)
{
  change *b = w->batch;

  w->batch = NULL;
  w->busy = 0;
  w->conflicts = 0;
  complete(b, err);
  if (!w->sh->closing)
    writer_kick(w);
}

/* A call of the writer: counts in-flight work so the writer outlives it. */
static int submit(writer *w, const char *method, const char *path,
                  json_object *body, edv_api api, edv_response_cb cb,
                  void *data)
{
  edv_request req;
  int result;

  memset(&req, 0, sizeof(req));
  req.api = api;
  req.method = method;
  req.path = path;
  req.body = body;
  /* getIamPolicy changes nothing and setIamPolicy carries the etag read
   * (a repeat after a lost reply is refused, and read again): both POSTs
   * are safe to send again. */
  req.flags =
      strcmp(method, "POST") == 0 && !w->is_iam ? 0 : EDV_REQ_IDEMPOTENT;
  req.label = w->is_dns   ? "dns writer"
              : w->is_iam ? "iam policy writer"
                          : "urlmap writer";
  w->sh->inflight++;
  result =
      edv_call_submit(edv__fleet_engine(w->sh->fleet), &req, cb, data, NULL);
  if (result)
    w->sh->inflight--;
  return result;
}

/* ---- URL map ---------------------------------------------------------- */

static void urlmap_read(writer *w);

static void on_urlmap_op(void *data, json_object *op, const edv_error *err)
{
  writer *w = data;

  (void)op;
  w->sh->inflight--;
  if (w->sh->closing) {
    writer_end(w, err);
    maybe_free(w->sh);
    return;
  }
  writer_end(w, err);
}

static void on_urlmap_put(void *data, const edv_response *res)
{
  writer *w = data;
  edv__shared *sh = w->sh;
  edv_op_wait_opts o;
  edv_error err;

  sh->inflight--;
  if (res->error && res->error->code == EDV_EPRECONDITION &&
      w->conflicts < MAX_CONFLICTS && !sh->closing) {
    /* Someone wrote the map between our read and our write. */
    w->conflicts++;
    sh->conflicts++;
    urlmap_read(w);
    return;
  }
  if (res->error) {
    writer_end(w, res->error);
    maybe_free(sh);
    return;
  }
  sh->urlmap_writes++;
  sh->inflight++;
  memset(&o, 0, sizeof(o));
  o.poll_initial_ms = edv__fleet_op_poll_ms(sh->fleet);
  if (edv_op_wait(edv__fleet_engine(sh->fleet), res->json, &o, on_urlmap_op, w,
                  NULL, &err)) {
    sh->inflight--;
    writer_end(w, edv_op_detect(res->json) == EDV_OP_UNKNOWN ? NULL : &err);
  }
}

static void on_urlmap_get(void *data, const edv_response *res)
{
  writer *w = data;
  edv__shared *sh = w->sh;
  json_object *map;
  int changed = 0;
  char path[512], rid[EDV__REQUEST_ID_LEN + 1];
  char *url;

  sh->inflight--;
  if (res->error || sh->closing) {
    edv_error e;
    writer_end(w, res->error
                      ? res->error
                      : (edv_error_set(&e, EDV_ECANCELED, "closing"), &e));
    maybe_free(sh);
    return;
  }
  map = json_object_get(res->json);
  for (change *c = w->batch; c; c = c->next) {
    const char *const *hosts = (const char *const *)c->hosts;
    const char *be = c->remove ? NULL : c->backend;
    if (!edv__urlmap_rule_ok(map, c->tenant, hosts, be)) {
      edv__kind_urlmap_put(map, c->tenant, hosts, be);
      changed = 1;
    }
  }
  if (!changed) {
    json_object_put(map);
    writer_end(w, NULL);
    return;
  }
  snprintf(path, sizeof(path), "/compute/v1/projects/%s/global/urlMaps/%s",
           edv__fleet_project(sh->fleet), EDV_URLMAP_NAME);
  edv__request_id(rid);
  url = edv__url_append_query(strdup(path), "requestId", rid);
  if (!url || submit(w, "PUT", url, map, EDV_API_COMPUTE, on_urlmap_put, w)) {
    edv_error e;
    edv_error_set(&e, EDV_ENOMEM, "cannot submit the URL map update");
    writer_end(w, &e);
  }
  free(url);
  json_object_put(map);
}

static void urlmap_read(writer *w)
{
  char path[512];

  snprintf(path, sizeof(path), "/compute/v1/projects/%s/global/urlMaps/%s",
           edv__fleet_project(w->sh->fleet), EDV_URLMAP_NAME);
  if (submit(w, "GET", path, NULL, EDV_API_COMPUTE, on_urlmap_get, w)) {
    edv_error e;
    edv_error_set(&e, EDV_ENOMEM, "cannot read the URL map");
    writer_end(w, &e);
  }
}

int edv__urlmap_rule_ok(json_object *map, const char *tenant,
                        const char *const *hosts, const char *backend)
{
  edv__kind_ctx k;

  memset(&k, 0, sizeof(k));
  k.tenant = tenant;
  k.hosts = backend ? hosts : NULL;
  k.backend = backend;
  return edv__kind_urlmap_diff(&k, map, NULL, NULL, 0) == 0;
}

int edv__urlmap_set(edv__fleet *f, const char *tenant, const char *const *hosts,
                    const char *backend, edv__shared_cb cb, void *data)
{
  edv__shared *sh = edv__fleet_shared(f);
  change *c;

  if (!sh || !tenant || !cb || (backend && (!hosts || !hosts[0])))
    return EDV_EINVAL;
  c = calloc(1, sizeof(*c));
  if (!c)
    return EDV_ENOMEM;
  snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
  for (int i = 0; backend && hosts[i] && i < MAX_HOSTS; i++)
    c->hosts[i] = strdup(hosts[i]);
  c->backend = backend ? strdup(backend) : NULL;
  c->remove = backend == NULL;
  c->cb = cb;
  c->data = data;
  enqueue(&sh->urlmap, c);
  return 0;
}

/* ---- DNS ---------------------------------------------------------------- */

static void dns_read(writer *w);

/* 1 when rrset `rr` (as read) is what change c wants: the DNS records'
 * rrset diff (tenant/kinds.h), the one the drift pass judges with. */
static int rrset_matches(json_object *rr, const change *c)
{
  if (c->remove)
    return rr == NULL;
  return rr && edv__kind_rrset_diff(rr, c->type, c->ttl,
                                    (const char *const *)c->rrdatas, NULL, NULL,
                                    0) == 0;
}

/* 1 when rrset `rr` is ours: it holds exactly one value, and that value
 * is one the caller proved it wrote. */
static int rrset_ours(json_object *rr, const change *c)
{
  json_object *datas = edv__jget(rr, "rrdatas");
  const char *v;

  if (!datas || json_object_array_length(datas) != 1)
    return 0;
  v = json_object_get_string(json_object_array_get_idx(datas, 0));
  for (int i = 0; v && c->owned[i]; i++)
    if (strcmp(v, c->owned[i]) == 0)
      return 1;
  return 0;
}

/* The first values of rrset `rr`, for a message. */
static void rrset_values(json_object *rr, char *buf, size_t size)
{
  json_object *datas = edv__jget(rr, "rrdatas");
  size_t off = 0, n = datas ? json_object_array_length(datas) : 0;

  buf[0] = '\0';
  for (size_t i = 0; i < n && i < 3 && off < size; i++)
    off += (size_t)snprintf(
        buf + off, size - off, "%s%.80s", i ? ", " : "",
        json_object_get_string(json_object_array_get_idx(datas, i)));
  if (n > 3 && off < size)
    snprintf(buf + off, size - off, ", ...");
}

/*
 * Whether change c may be written over what was read: sets c->refused
 * (EDV_ENOTOWNED, naming the record) when it would touch a rrset the
 * caller cannot prove ours, or add one beside a record it may not sit
 * with. Nothing is then written for c.
 */
static void dns_judge(change *c)
{
  char vals[300];
  json_object *rr = c->current;

  edv_error_clear(&c->refused);
  if (c->remove) {
    if (!rr || rrset_ours(rr, c))
      return;
    rrset_values(rr, vals, sizeof(vals));
    edv_error_set(&c->refused, EDV_ENOTOWNED,
                  "left in place, not deleted: DNS record %s %s holds %s, "
                  "which EdVirons did not write",
                  c->type, c->name, vals);
    return;
  }
  if (!rr && c->blocker) {
    rrset_values(c->blocker, vals, sizeof(vals));
    edv_error_set(&c->refused, EDV_ENOTOWNED,
                  "DNS name %s already holds a record (%s %s) that "
                  "EdVirons did not create; refusing to add our %s record "
                  "beside it",
                  c->name, edv__jstr(c->blocker, "type"), vals, c->type);
    return;
  }
  if (!rr || c->created || rrset_ours(rr, c))
    return;
  rrset_values(rr, vals, sizeof(vals));
  edv_error_set(&c->refused, EDV_ENOTOWNED,
                "DNS record %s %s already exists (it holds %s) and EdVirons "
                "did not create it; refusing to change it",
                c->type, c->name, vals);
}

static void on_dns_change_done(void *data, json_object *op,
                               const edv_error *err)
{
  writer *w = data;

  (void)op;
  w->sh->inflight--;
  writer_end(w, err);
  maybe_free(w->sh);
}

static void on_dns_change(void *data, const edv_response *res)
{
  writer *w = data;
  edv__shared *sh = w->sh;
  edv_op_wait_opts o;
  edv_error err;

  sh->inflight--;
  if (res->error &&
      (res->error->code == EDV_EPRECONDITION ||
       res->error->code == EDV_EEXIST || res->error->code == EDV_ENOTFOUND ||
       res->error->code == EDV_ECONFLICT) &&
      w->conflicts < MAX_CONFLICTS && !sh->closing) {
    /* The zone changed under us (or a reply was lost after the change was
     * applied): read again and recompute. */
    w->conflicts++;
    sh->conflicts++;
    dns_read(w);
    return;
  }
  if (res->error) {
    writer_end(w, res->error);
    maybe_free(sh);
    return;
  }
  sh->dns_writes++;
  memset(&o, 0, sizeof(o));
  o.poll_initial_ms = edv__fleet_op_poll_ms(sh->fleet);
  o.managed_zone = w->batch ? w->batch->zone : NULL;
  o.project = edv__fleet_project(sh->fleet);
  sh->inflight++;
  if (edv_op_wait(edv__fleet_engine(sh->fleet), res->json, &o,
                  on_dns_change_done, w, NULL, &err)) {
    sh->inflight--;
    writer_end(w, NULL); /* a change without status: applied */
  }
}

static void dns_write(writer *w)
{
  edv__shared *sh = w->sh;
  json_object *body, *adds, *dels;
  char path[512];
  int any = 0;

  body = json_object_new_object();
  adds = json_object_new_array();
  dels = json_object_new_array();
  for (change *c = w->batch; c; c = c->next) {
    /* Two changes of one batch for the same rrset: the later wins. */
    int shadowed = 0;
    for (change *d = c->next; d; d = d->next)
      if (strcmp(d->name, c->name) == 0 && strcmp(d->type, c->type) == 0)
        shadowed = 1;
    if (shadowed) {
      edv_error_clear(&c->refused);
      continue;
    }
    dns_judge(c);
    if (c->refused.code || rrset_matches(c->current, c))
      continue;
    if (c->current)
      json_object_array_add(dels, json_object_get(c->current));
    if (!c->remove)
      json_object_array_add(
          adds, edv__kind_rrset_want(c->name, c->type, c->ttl,
                                     (const char *const *)c->rrdatas));
    any = 1;
  }
  if (!any) {
    json_object_put(body);
    json_object_put(adds);
    json_object_put(dels);
    writer_end(w, NULL);
    return;
  }
  json_object_object_add(body, "additions", adds);
  json_object_object_add(body, "deletions", dels);
  snprintf(path, sizeof(path), "/dns/v1/projects/%s/managedZones/%s/changes",
           edv__fleet_project(sh->fleet), w->batch->zone);
  if (submit(w, "POST", path, body, EDV_API_DNS, on_dns_change, w)) {
    edv_error e;
    edv_error_set(&e, EDV_ENOMEM, "cannot submit the DNS change");
    writer_end(w, &e);
  }
  json_object_put(body);
}

typedef struct dns_read_ctx {
  writer *w;
  change *c;
} dns_read_ctx;

static void on_dns_read(void *data, const edv_response *res)
{
  dns_read_ctx *rc = data;
  writer *w = rc->w;
  json_object *sets;

  w->sh->inflight--;
  if (res->error && !w->read_err.code)
    w->read_err = *res->error;
  if (!res->error) {
    change *c = rc->c;
    int cname = strcmp(c->type, "CNAME") == 0;
    sets = edv__jget(res->json, "rrsets");
    json_object_put(c->current);
    json_object_put(c->blocker);
    c->current = c->blocker = NULL;
    for (size_t i = 0; sets && i < json_object_array_length(sets); i++) {
      json_object *rr = json_object_array_get_idx(sets, i);
      const char *n = edv__jstr(rr, "name"), *t = edv__jstr(rr, "type");
      if (!n || !t || strcasecmp(n, c->name) != 0)
        continue;
      if (strcmp(t, c->type) == 0)
        c->current = json_object_get(rr);
      else if (!c->blocker && (cname || strcmp(t, "CNAME") == 0))
        c->blocker = json_object_get(rr);
    }
  }
  free(rc);
  if (--w->pending_reads > 0)
    return;
  if (w->read_err.code || w->sh->closing) {
    edv_error e = w->read_err;
    if (!e.code)
      edv_error_set(&e, EDV_ECANCELED, "closing");
    writer_end(w, &e);
    maybe_free(w->sh);
    return;
  }
  dns_write(w);
}

static void dns_read(writer *w)
{
  change *c;

  edv_error_clear(&w->read_err);
  w->pending_reads = 1; /* guard while submitting */
  for (c = w->batch; c; c = c->next) {
    char path[900];
    char *n = edv__url_escape(c->name);
    dns_read_ctx *rc = calloc(1, sizeof(*rc));
    if (!rc || !n) {
      free(rc);
      free(n);
      edv_error_set(&w->read_err, EDV_ENOMEM, "out of memory");
      break;
    }
    rc->w = w;
    rc->c = c;
    /* Every type at the name: a CNAME there forbids our A (and any
     * record our CNAME), whoever made it. */
    snprintf(path, sizeof(path),
             "/dns/v1/projects/%s/managedZones/%s/rrsets?name=%s",
             edv__fleet_project(w->sh->fleet), c->zone, n);
    free(n);
    w->pending_reads++;
    if (submit(w, "GET", path, NULL, EDV_API_DNS, on_dns_read, rc)) {
      w->pending_reads--;
      free(rc);
      edv_error_set(&w->read_err, EDV_ENOMEM, "cannot read the zone");
      break;
    }
  }
  /* Drop the guard; if every read already finished, go on. */
  if (--w->pending_reads == 0) {
    if (w->read_err.code) {
      edv_error e = w->read_err;
      writer_end(w, &e);
    } else
      dns_write(w);
  }
}

int edv__dns_set(edv__fleet *f, const char *zone, const char *name,
                 const char *type, int ttl, const char *const *rrdatas,
                 const edv__dns_own *own, edv__shared_cb cb, void *data)
{
  edv__shared *sh = edv__fleet_shared(f);
  change *c;

  if (!sh || !zone || !name || !type || !cb)
    return EDV_EINVAL;
  c = calloc(1, sizeof(*c));
  if (!c)
    return EDV_ENOMEM;
  c->is_dns = 1;
  snprintf(c->zone, sizeof(c->zone), "%s", zone);
  snprintf(c->name, sizeof(c->name), "%s", name);
  snprintf(c->type, sizeof(c->type), "%s", type);
  c->ttl = ttl > 0 ? ttl : EDV_DNS_TTL;
  c->remove = rrdatas == NULL;
  for (int i = 0; rrdatas && rrdatas[i] && i < MAX_RRDATAS; i++)
    c->rrdatas[i] = strdup(rrdatas[i]);
  for (int i = 0; own && own->rrdatas && own->rrdatas[i] && i < MAX_OWNED; i++)
    c->owned[i] = strdup(own->rrdatas[i]);
  c->created = own ? own->created : 0;
  c->cb = cb;
  c->data = data;
  enqueue(&sh->dns, c);
  return 0;
}

/* ---- project IAM policy ------------------------------------------------- */

static void on_iam_set(void *data, const edv_response *res)
{
  writer *w = data;
  edv__shared *sh = w->sh;

  sh->inflight--;
  if (res->error &&
      (res->error->code == EDV_EABORTED ||
       res->error->code == EDV_EPRECONDITION) &&
      w->conflicts < MAX_CONFLICTS && !sh->closing) {
    /* Someone changed the policy between our read and our write. */
    w->conflicts++;
    sh->conflicts++;
    iam_read(w);
    return;
  }
  if (!res->error)
    sh->iam_writes++;
  writer_end(w, res->error);
  maybe_free(sh);
}

static void iam_path(writer *w, const char *verb, char *path, size_t size)
{
  snprintf(path, size, "/v1/projects/%s:%s", edv__fleet_project(w->sh->fleet),
           verb);
}

static void on_iam_get(void *data, const edv_response *res)
{
  writer *w = data;
  edv__shared *sh = w->sh;
  json_object *policy = NULL, *body;
  int changed = 0;
  char path[512];

  sh->inflight--;
  if (res->error || sh->closing) {
    edv_error e;
    writer_end(w, res->error
                      ? res->error
                      : (edv_error_set(&e, EDV_ECANCELED, "closing"), &e));
    maybe_free(sh);
    return;
  }
  if (!json_object_is_type(res->json, json_type_object)) {
    edv_error e;
    edv_error_set(&e, EDV_EPROTO, "the project's IAM policy is not an object");
    writer_end(w, &e);
    return;
  }
  /* The policy as read, etag included: setIamPolicy takes it whole. */
  if (json_object_deep_copy(res->json, &policy, NULL) != 0) {
    edv_error e;
    edv_error_set(&e, EDV_ENOMEM, "cannot copy the project's IAM policy");
    writer_end(w, &e);
    return;
  }
  for (change *c = w->batch; c; c = c->next)
    changed += edv__kind_roles_put(policy, c->member,
                                   (const char *const *)c->roles, c->remove);
  if (!changed) {
    json_object_put(policy);
    writer_end(w, NULL);
    return;
  }
  body = json_object_new_object();
  json_object_object_add(body, "policy", policy);
  iam_path(w, "setIamPolicy", path, sizeof(path));
  if (submit(w, "POST", path, body, EDV_API_CLOUDRESOURCEMANAGER, on_iam_set,
             w)) {
    edv_error e;
    edv_error_set(&e, EDV_ENOMEM, "cannot submit the IAM policy update");
    writer_end(w, &e);
  }
  json_object_put(body);
}

static void iam_read(writer *w)
{
  char path[512];
  json_object *body = json_object_new_object();

  iam_path(w, "getIamPolicy", path, sizeof(path));
  if (submit(w, "POST", path, body, EDV_API_CLOUDRESOURCEMANAGER, on_iam_get,
             w)) {
    edv_error e;
    edv_error_set(&e, EDV_ENOMEM, "cannot read the project's IAM policy");
    writer_end(w, &e);
  }
  json_object_put(body);
}

int edv__iam_project_set(edv__fleet *f, const char *member,
                         const char *const *roles, int remove,
                         edv__shared_cb cb, void *data)
{
  edv__shared *sh = edv__fleet_shared(f);
  change *c;

  if (!sh || !member || !roles || !roles[0] || !cb)
    return EDV_EINVAL;
  c = calloc(1, sizeof(*c));
  if (!c)
    return EDV_ENOMEM;
  snprintf(c->member, sizeof(c->member), "%s", member);
  for (int i = 0; roles[i] && i < EDV_IAM_MAX_ROLES; i++)
    if (!(c->roles[i] = strdup(roles[i]))) {
      change_free(c);
      return EDV_ENOMEM;
    }
  c->remove = remove != 0;
  c->cb = cb;
  c->data = data;
  enqueue(&sh->iam, c);
  return 0;
}

/* ---- region claims ------------------------------------------------------ */

static claim *claim_find(edv__shared *sh, const char *region)
{
  for (claim *c = sh ? sh->claims : NULL; c; c = c->next)
    if (strcmp(c->region, region) == 0)
      return c;
  return NULL;
}

int edv__region_claim(edv__fleet *f, const char *region, const void *owner)
{
  edv__shared *sh = edv__fleet_shared(f);
  claim *c;

  if (!sh || !region || !owner)
    return EDV_EINVAL;
  if ((c = claim_find(sh, region)) != NULL)
    return c->owner == owner ? 0 : EDV_EBUSY;
  if (!(c = calloc(1, sizeof(*c))))
    return EDV_ENOMEM;
  snprintf(c->region, sizeof(c->region), "%s", region);
  c->owner = owner;
  c->next = sh->claims;
  sh->claims = c;
  return 0;
}

void edv__region_release(edv__fleet *f, const char *region, const void *owner)
{
  edv__shared *sh = edv__fleet_shared(f);

  for (claim **pp = sh ? &sh->claims : NULL; pp && *pp; pp = &(*pp)->next)
    if (strcmp((*pp)->region, region) == 0 && (*pp)->owner == owner) {
      claim *c = *pp;
      *pp = c->next;
      free(c);
      return;
    }
}

int edv__region_held(edv__fleet *f, const char *region, const void *owner)
{
  claim *c = claim_find(edv__fleet_shared(f), region);

  return c && c->owner != owner;
}

/* ---- scheduling ------------------------------------------------------------
 */

static void writer_kick(writer *w)
{
  change *c, **pp;

  if (w->busy || !w->queue || w->sh->closing)
    return;
  w->busy = 1;
  w->conflicts = 0;
  if (!w->is_dns) {
    w->batch = w->queue;
    w->queue = NULL;
    w->tail = &w->queue;
    if (w->is_iam)
      iam_read(w);
    else
      urlmap_read(w);
    return;
  }
  /* One DNS change is atomic within one zone: take the queued changes of
   * the first change's zone, leave the others for the next write. */
  w->batch = NULL;
  {
    change **bt = &w->batch;
    const char *zone = w->queue->zone;
    char zbuf[80];
    unsigned taken = 0;
    snprintf(zbuf, sizeof(zbuf), "%s", zone);
    pp = &w->queue;
    while ((c = *pp)) {
      if (strcmp(c->zone, zbuf) == 0 && taken < DNS_MAX_BATCH) {
        *pp = c->next;
        c->next = NULL;
        *bt = c;
        bt = &c->next;
        taken++;
      } else
        pp = &c->next;
    }
    w->tail = pp;
  }
  dns_read(w);
}
