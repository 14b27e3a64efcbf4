/*
 * tenants.c - the operations on tenants (edv/fleet.h): create, get, list,
 * update and scale, delete, recover, apply, resume, retry, events. Written once
 * for edvctl, edvd and embedders: each checks its input naming the field
 * ("field 'tier': ..."), journals what it changed, and drives the tenant
 * through the fleet's runs (fleet.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fleet/dayops.h"
#include "fleet/fleet.h"
#include "fleet/tenants.h"
#include "tenant/dnscheck.h"
#include "tenant/observe.h"

#define MOD "fleet"

void edv_fleet_act_as(edv_fleet *f, const char *who)
{
  snprintf(f->who, sizeof(f->who), "%s", who ? who : "");
}

/* The journal's actor of an operation started now: "edvd:alice". */
void edv__tenants_actor(edv_fleet *f, char *buf, size_t size)
{
  snprintf(buf, size, "%.60s%s%.60s", f->actor, f->who[0] ? ":" : "", f->who);
}

void edv__tenants_journal(edv_fleet *f, const char *actor, const char *tenant,
                          const char *event, const char *what, const char *note)
{
  edv__journal_rec j;

  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", actor);
  snprintf(j.event, sizeof(j.event), "%s", event);
  snprintf(j.api_call, sizeof(j.api_call), "%s", what ? what : "");
  snprintf(j.operation, sizeof(j.operation), "%s", note ? note : "");
  edv__fleet_journal(f, &j);
}

/* A tenant's stored spec. */
int edv__tenants_rec_spec(const edv__tenant_rec *rec, edv__tenant_spec *spec,
                          edv_error *err)
{
  json_object *cj = json_tokener_parse(rec->spec_json);
  int result;

  if (!cj)
    return edv_error_set(err, EDV_EINTERNAL,
                         "tenant '%s': stored spec unreadable", rec->id);
  result = edv__spec_from_json(cj, spec, err);
  json_object_put(cj);
  if (result)
    return edv_error_set(err, EDV_EINTERNAL,
                         "tenant '%s': stored spec unreadable", rec->id);
  return 0;
}

/* Writes the spec into the record and the store. */
static int rec_put_spec(edv_fleet *f, edv__tenant_rec *rec,
                        const edv__tenant_spec *spec, edv_error *err)
{
  json_object *js = edv__spec_to_json(spec);

  if (!js)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  snprintf(rec->tier, sizeof(rec->tier), "%s", spec->tier);
  snprintf(rec->spec_json, sizeof(rec->spec_json), "%s",
           json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN));
  json_object_put(js);
  return edv__store_tenant_put(f->store, rec, EDV_PUT_UPDATE, err);
}

static int platform_ready(edv_fleet *f)
{
  edv__tenant_rec p;

  return edv__store_tenant_get(f->store, EDV_PLATFORM_ID, &p, NULL) == 0 &&
         p.phase == EDV_PHASE_READY;
}

/* Answers now, or once the run ends (a waiter), as `flags` ask. A run
 * that cannot start now is left to the next reconcile (logged). */
int edv__tenants_drive(edv_fleet *f, const char *id, edv__direction dir,
                       unsigned flags, edv_fleet_cb cb, void *data,
                       edv_error *err)
{
  int result;

  if (flags & EDV_FLEET_ASYNC) {
    edv_error e;
    if (edv__fleet_drive_tenant(f, id, dir, NULL, NULL, &e) != 0 &&
        e.code != EDV_EBUSY)
      EDV_LOG_W(MOD, "tenant=%s: not driven now: %s", id, e.message);
    return edv__fleet_answer_tenant_later(f, id, cb, data, err);
  }
  result = edv__fleet_drive_tenant(f, id, dir, cb, data, err);
  return result;
}

/* The direction a tenant was going when it stopped or failed: the last
 * PROVISIONING/DEPROVISIONING phase in its journal. */
static int dir_one(void *data, const edv__journal_rec *r)
{
  edv__direction *d = data;

  if (strcmp(r->event, "phase") == 0) {
    if (strcmp(r->api_call, "DEPROVISIONING") == 0)
      *d = EDV_DIR_DOWN;
    else if (strcmp(r->api_call, "SUSPENDING") == 0)
      *d = EDV_DIR_SUSPEND;
    else if (strcmp(r->api_call, "PROVISIONING") == 0 ||
             strcmp(r->api_call, "UPDATING") == 0)
      *d = EDV_DIR_UP;
  }
  return 0;
}

static edv__direction direction_of(edv_fleet *f, const edv__tenant_rec *rec)
{
  edv__direction d = EDV_DIR_UP;

  if (rec->phase == EDV_PHASE_DEPROVISIONING)
    return EDV_DIR_DOWN;
  if (rec->phase == EDV_PHASE_SUSPENDING)
    return EDV_DIR_SUSPEND;
  if (rec->phase != EDV_PHASE_FAILED)
    return EDV_DIR_UP;
  edv__store_journal_list(f->store, rec->id, 0, 0, dir_one, &d, NULL);
  return d;
}

/* ---- create --------------------------------------------------------------*/

static const char *const spec_fields[] = {"id",   "slug",   "display_name",
                                          "tier", "region", NULL};

/* The fields of a spec document: known, of the right type, each valid;
 * with `partial`, the missing ones are allowed. */
static int check_fields(edv_fleet *f, json_object *body, int partial,
                        edv_error *err)
{
  if (!json_object_is_type(body, json_type_object))
    return edv_error_set(err, EDV_EINVAL, "the spec must be a JSON object");
  json_object_object_foreach(body, key, val)
  {
    int known = strcmp(key, "ops_ssh") == 0;
    for (size_t i = 0; spec_fields[i]; i++)
      if (strcmp(key, spec_fields[i]) == 0)
        known = 1;
    if (!known)
      return edv_error_set(err, EDV_EINVAL,
                           "field '%.64s' is not known (allowed: id, slug, "
                           "display_name, tier, region, ops_ssh)",
                           key);
    if (strcmp(key, "ops_ssh") == 0 &&
        !json_object_is_type(val, json_type_boolean))
      return edv_error_set(err, EDV_EINVAL,
                           "field 'ops_ssh' must be true or false");
  }
  for (size_t i = 0; spec_fields[i]; i++) {
    const char *k = spec_fields[i], *s;
    json_object *v;
    if (!json_object_object_get_ex(body, k, &v)) {
      if (partial)
        continue;
      return edv_error_set(err, EDV_EINVAL, "field '%s' is missing", k);
    }
    if (!json_object_is_type(v, json_type_string))
      return edv_error_set(err, EDV_EINVAL, "field '%s' must be a string", k);
    s = json_object_get_string(v);
    if (strcmp(k, "id") == 0 && edv__spec_check_id(s, err))
      return EDV_EINVAL;
    if (strcmp(k, "slug") == 0 && edv__spec_check_slug(s, err))
      return EDV_EINVAL;
    if (strcmp(k, "display_name") == 0 && edv__spec_check_display_name(s, err))
      return EDV_EINVAL;
    if (strcmp(k, "region") == 0 && edv__spec_check_region(s, err))
      return EDV_EINVAL;
    if (strcmp(k, "tier") == 0 && !edv__tiers_find(f->tiers, s))
      return edv_error_set(err, EDV_EINVAL,
                           "field 'tier': '%.64s' is not a tier", s);
  }
  return 0;
}

typedef struct create_op {
  edv_fleet *f;
  edv__tenant_spec spec;
  unsigned flags;
  edv_fleet_cb cb;
  void *data;
  char actor[EDV_STORE_SMALL_SZ];
} create_op;

static void create_fail(create_op *op, const edv_error *err)
{
  op->cb(op->data, NULL, err);
  free(op);
}

/* After the region and the hostnames: record, drive, answer. */
static void create_commit(create_op *op)
{
  edv_fleet *f = op->f;
  edv__tenant_rec rec;
  edv_error err;
  int drive;

  if (f->closing || f->stopping) {
    edv_error_set(&err, EDV_ECANCELED, "the fleet is closing");
    create_fail(op, &err);
    return;
  }
  if (edv__store_tenant_get(f->store, op->spec.id, &rec, NULL) == 0 &&
      rec.phase == EDV_PHASE_DEPROVISIONING) {
    edv_error_set(&err, EDV_ECONFLICT,
                  "field 'id': tenant '%s' is being deprovisioned; create it "
                  "again once it is DELETED",
                  op->spec.id);
    create_fail(op, &err);
    return;
  }
  if (edv__fleet_register(f->machine, &op->spec, &err)) {
    /* Named by its field, as every refusal of a spec: an id taken with
     * another spec, a slug another tenant has. */
    if (!strstr(err.message, "field '") &&
        (err.code == EDV_EEXIST || err.code == EDV_ECONFLICT)) {
      edv_error named;
      edv_error_set(&named, err.code, "field '%s': %s",
                    err.code == EDV_EEXIST ? "id" : "slug", err.message);
      err = named;
    }
    create_fail(op, &err);
    return;
  }
  if (edv__store_tenant_get(f->store, op->spec.id, &rec, &err)) {
    create_fail(op, &err);
    return;
  }
  /* An identical spec of a READY tenant: nothing to do. A tenant waiting
   * for the platform is driven by the reconcile that follows it. */
  drive = rec.phase != EDV_PHASE_READY &&
          (platform_ready(f) || !(op->flags & EDV_FLEET_ASYNC));
  if (!drive) {
    if (rec.phase != EDV_PHASE_READY)
      EDV_LOG_I(MOD, "tenant=%s recorded; waits for the platform", rec.id);
    edv__fleet_answer_tenant(f, rec.id, op->cb, op->data);
  } else if (edv__tenants_drive(f, rec.id, EDV_DIR_UP, op->flags, op->cb,
                                op->data, &err)) {
    create_fail(op, &err);
    return;
  }
  free(op);
}

static void create_on_hosts(void *data, const edv_error *err)
{
  create_op *op = data;
  edv_error e;

  if (err && err->code == EDV_ENOTOWNED) {
    create_fail(op, err);
    return;
  }
  if (err) {
    edv_error_set(&e, err->code == EDV_EINVAL ? EDV_EINVAL : EDV_EUNAVAIL,
                  "cannot check the tenant's DNS names: %s", err->message);
    create_fail(op, &e);
    return;
  }
  create_commit(op);
}

static void create_hosts(create_op *op)
{
  edv_error err;

  if (edv__fleet_check_hosts(op->f->machine, &op->spec, create_on_hosts, op,
                             &err))
    create_fail(op, &err);
}

/* Asks the Compute API for `region` of the project (regions.get): `cb`
 * sees ENOTFOUND for a region the project cannot use. Non-zero when the
 * call cannot be made. */
int edv__tenants_region_get(edv_fleet *f, const char *region,
                            edv_response_cb cb, void *data)
{
  char path[300];
  edv_request rq;

  snprintf(path, sizeof(path), "/compute/v1/projects/%s/regions/%s",
           edv__fleet_project(f->machine), region);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_COMPUTE;
  rq.method = "GET";
  rq.path = path;
  rq.label = "compute.regions.get";
  rq.timeout_ms = 20000;
  return edv_call_submit(f->engine, &rq, cb, data, NULL) ? -1 : 0;
}

static int region_known(edv_fleet *f, const char *region)
{
  for (unsigned i = 0; i < f->nregions; i++)
    if (strcmp(f->regions[i], region) == 0)
      return 1;
  return 0;
}

static void create_on_region(void *data, const edv_response *res)
{
  create_op *op = data;
  edv_fleet *f = op->f;
  edv_error err;

  if (res->error && res->error->code == EDV_ENOTFOUND) {
    edv_error_set(&err, EDV_EINVAL,
                  "field 'region': '%s' is not a region of project '%s'",
                  op->spec.region, edv__fleet_project(f->machine));
    create_fail(op, &err);
    return;
  }
  if (res->error) {
    edv_error_set(&err, EDV_EUNAVAIL, "cannot check region '%s': %s",
                  op->spec.region, res->error->message);
    create_fail(op, &err);
    return;
  }
  if (f->nregions < sizeof(f->regions) / sizeof(f->regions[0]))
    snprintf(f->regions[f->nregions++], sizeof(f->regions[0]), "%s",
             op->spec.region);
  create_hosts(op);
}

static void timer_free(uv_handle_t *h)
{
  free(h);
}

/* Deferred to the loop: the callback never runs inside the call. */
static void create_later(uv_timer_t *t)
{
  create_op *op = t->data;

  uv_close((uv_handle_t *)t, timer_free);
  create_hosts(op);
}

int edv_tenant_create(edv_fleet *f, json_object *spec, unsigned flags,
                      edv_fleet_cb cb, void *data, edv_error *err)
{
  create_op *op;
  int result;

  if (!spec || !cb)
    return edv_error_set(err, EDV_EINVAL, "a spec and a callback are needed");
  if (f->closing || f->stopping)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  if ((result = check_fields(f, spec, 0, err)) != 0)
    return result;
  op = calloc(1, sizeof(*op));
  if (!op)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (edv__spec_from_json(spec, &op->spec, err) ||
      edv__spec_validate(&op->spec, f->tiers, NULL, NULL,
                         edv__fleet_domain(f->machine), err)) {
    free(op);
    return EDV_EINVAL;
  }
  /* The reserved labels, offline (EINVAL naming the field). */
  if (edv__spec_check_reserved(&op->spec,
                               edv__fleet_reserved_labels(f->machine), err)) {
    free(op);
    return EDV_EINVAL;
  }
  op->f = f;
  op->flags = flags;
  op->cb = cb;
  op->data = data;
  edv__tenants_actor(f, op->actor, sizeof(op->actor));
  if (region_known(f, op->spec.region)) {
    uv_timer_t *t = malloc(sizeof(*t));
    if (!t) {
      free(op);
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
    }
    uv_timer_init(f->loop, t);
    t->data = op;
    uv_timer_start(t, create_later, 0, 0);
    return 0;
  }
  if (edv__tenants_region_get(f, op->spec.region, create_on_region, op)) {
    free(op);
    return edv_error_set(err, EDV_EUNAVAIL, "cannot check the region now");
  }
  return 0;
}

/* ---- get and list --------------------------------------------------------*/

typedef struct get_op {
  edv_fleet_cb cb;
  void *data;
  json_object *doc;
} get_op;

static void get_observed(void *data, json_object *observed)
{
  get_op *g = data;
  const char *v = edv__jstr(edv__jget(observed, "app"), "version");

  /* The version its VM reports running (tenant/observe.h). */
  json_object_object_add(g->doc, "release_observed",
                         v ? json_object_new_string(v) : NULL);
  json_object_object_add(g->doc, "observed", observed);
  g->cb(g->data, g->doc, NULL);
  json_object_put(g->doc);
  free(g);
}

int edv_tenant_get(edv_fleet *f, const char *id, unsigned flags,
                   edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  json_object *doc;
  get_op *g;
  int result;

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  doc = edv__view_tenant(f, &rec, EDV_VIEW_STEPS | EDV_VIEW_RESOURCES);
  if (!(flags & EDV_FLEET_OBSERVE)) {
    json_object_object_add(doc, "observed", NULL);
    result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
    json_object_put(doc);
    return result;
  }
  g = calloc(1, sizeof(*g));
  if (!g) {
    json_object_put(doc);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  g->cb = cb;
  g->data = data;
  g->doc = doc;
  /* The live state: the VM, the database and the certificate, asked at once
   * with a short deadline (each item then says why it has no answer). */
  if (edv__observe(f->engine, f->store, &rec, 15000, get_observed, g) != 0) {
    json_object_put(doc);
    free(g);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  return 0;
}

typedef struct list_ctx {
  edv_fleet *f;
  json_object *arr;
  const char *region;
  unsigned want, got;
  int include_deleted;
  int more;
  char last[EDV_STORE_ID_SZ];
} list_ctx;

static int list_one(void *data, const edv__tenant_rec *rec)
{
  list_ctx *l = data;
  json_object *doc;

  if (rec->id[0] == '@')
    return 0;
  if (rec->phase == EDV_PHASE_DELETED && !l->include_deleted)
    return 0;
  if (l->got == l->want) {
    l->more = 1;
    return 1;
  }
  doc = edv__view_tenant(l->f, rec, 0);
  if (l->region &&
      strcmp(json_object_get_string(json_object_object_get(doc, "region")),
             l->region) != 0) {
    json_object_put(doc);
    return 0;
  }
  json_object_array_add(l->arr, doc);
  l->got++;
  snprintf(l->last, sizeof(l->last), "%s", rec->id);
  return 0;
}

/* The phase named `s` in any case, or -1. */
static int phase_of(const char *s)
{
  char up[32];
  size_t i;

  for (i = 0; s[i] && i + 1 < sizeof(up); i++)
    up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
  up[i] = '\0';
  return s[i] ? -1 : edv__phase_parse(up);
}

int edv_tenant_list(edv_fleet *f, const edv_tenant_query *q, edv_fleet_cb cb,
                    void *data, edv_error *err)
{
  edv__tenant_filter filt;
  list_ctx l;
  char next[EDV_STORE_ID_SZ] = "", after[EDV_STORE_ID_SZ] = "";
  json_object *doc;
  int result, phase = -1;

  if (q && q->state && (phase = phase_of(q->state)) < 0)
    return edv_error_set(err, EDV_EINVAL,
                         "state: '%.32s' is not a phase (PENDING, "
                         "PROVISIONING, READY, UPDATING, DEPROVISIONING, "
                         "DELETED, FAILED)",
                         q->state);
  if (q && q->tier && !edv__tiers_find(f->tiers, q->tier))
    return edv_error_set(err, EDV_EINVAL, "tier: '%.64s' is not a tier",
                         q->tier);
  if (q && q->limit > 1000)
    return edv_error_set(err, EDV_EINVAL, "limit: must be an integer 1..1000");
  if (q && q->page_token && *q->page_token &&
      edv__spec_check_id(q->page_token, NULL))
    return edv_error_set(err, EDV_EINVAL,
                         "page_token: not a token this server gave");
  memset(&l, 0, sizeof(l));
  l.f = f;
  l.arr = json_object_new_array();
  l.region = q && q->region && *q->region ? q->region : NULL;
  l.want = q && q->limit ? q->limit : 100;
  l.include_deleted = phase == EDV_PHASE_DELETED;
  snprintf(after, sizeof(after), "%s", q && q->page_token ? q->page_token : "");
  memset(&filt, 0, sizeof(filt));
  filt.tier = q ? q->tier : NULL;
  filt.phase = phase;
  filt.limit = 1000;
  /* Rows the list hides (the platform, deleted tenants, other regions) do
   * not count towards the page: read on until it is full or rows end. */
  do {
    filt.after = after;
    next[0] = '\0';
    if ((result = edv__store_tenant_list(f->store, &filt, list_one, &l, next,
                                         sizeof(next), err)) != 0) {
      json_object_put(l.arr);
      return result;
    }
    snprintf(after, sizeof(after), "%s", next);
  } while (!l.more && next[0]);
  doc = json_object_new_object();
  json_object_object_add(doc, "tenants", l.arr);
  json_object_object_add(doc, "next_page_token",
                         l.more ? json_object_new_string(l.last) : NULL);
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

/* ---- update and scale ----------------------------------------------------*/

/* A run keeps its own copy of the record and writes it back on every phase
 * change, which would undo an edit: wait for it to end. */
static int not_driven(edv_fleet *f, const char *id, edv_error *err)
{
  if (edv__fleet_run_find(f, id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being driven now; retry once its "
                         "run ends",
                         id);
  return 0;
}

/*
 * Scales a tenant to another tier: records the tier (tenant row, spec,
 * "scale" journal line) and drives the tenant up, so that its steps bring
 * the VM (stop, setMachineType, start), the boot disk (resize) and Cloud
 * SQL (tier, storage) to it. Disks never shrink on Google Cloud: a
 * downgrade keeps the larger boot disk and SQL storage, and the answer's
 * notes (and the journal) say so. Only a READY or FAILED tenant nobody
 * drives can scale. The answer: {tenant, from_tier, to_tier, notes}.
 */
/* EDV_EPRECONDITION for a tenant in its deletion's grace: nothing runs on
 * it but an undelete or the purge. */
static int refuse_suspended(const edv__tenant_rec *rec, edv_error *err)
{
  if (rec->phase != EDV_PHASE_SUSPENDING && rec->phase != EDV_PHASE_SUSPENDED)
    return 0;
  return edv_error_set(err, EDV_EPRECONDITION,
                       "tenant '%s' is %s (deleted, in its grace): undelete "
                       "it first (`tenant undelete %s`)",
                       rec->id, edv__phase_name(rec->phase), rec->id);
}

static int scale_rec(edv_fleet *f, edv__tenant_rec *rec, edv__tenant_spec *cur,
                     const char *tier, unsigned flags, edv_fleet_cb cb,
                     void *data, edv_error *err);

typedef struct scale_answer {
  edv_fleet_cb cb;
  void *data;
  char from[EDV_TIER_NAME_MAX + 1], to[EDV_TIER_NAME_MAX + 1];
  char notes[2][200];
  int nnotes;
} scale_answer;

static void scale_done(void *data, json_object *tenant, const edv_error *err)
{
  scale_answer *a = data;
  json_object *o, *notes;

  if (!tenant) {
    a->cb(a->data, NULL, err);
    free(a);
    return;
  }
  o = json_object_new_object();
  json_object_object_add(o, "tenant", json_object_get(tenant));
  json_object_object_add(o, "from_tier", json_object_new_string(a->from));
  json_object_object_add(o, "to_tier", json_object_new_string(a->to));
  notes = json_object_new_array();
  for (int i = 0; i < a->nnotes; i++)
    json_object_array_add(notes, json_object_new_string(a->notes[i]));
  json_object_object_add(o, "notes", notes);
  a->cb(a->data, o, NULL);
  json_object_put(o);
  free(a);
}

static int scale_rec(edv_fleet *f, edv__tenant_rec *rec, edv__tenant_spec *cur,
                     const char *tier, unsigned flags, edv_fleet_cb cb,
                     void *data, edv_error *err)
{
  const edv__tier *from = edv__tiers_find(f->tiers, cur->tier);
  const edv__tier *to = edv__tiers_find(f->tiers, tier);
  char actor[EDV_STORE_SMALL_SZ], note[420] = "";
  scale_answer *a;
  int result;

  if (!to)
    return edv_error_set(err, EDV_EINVAL, "field 'tier': '%.64s' is not a tier",
                         tier);
  if (strcmp(to->name, cur->tier) == 0)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "field 'tier': tenant '%s' is already on tier %s",
                         rec->id, cur->tier);
  if (rec->phase != EDV_PHASE_READY && rec->phase != EDV_PHASE_FAILED)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "field 'tier': tenant '%s' is %s; only a READY or "
                         "FAILED tenant can scale",
                         rec->id, edv__phase_name(rec->phase));
  if ((result = not_driven(f, rec->id, err)) != 0)
    return result;
  a = calloc(1, sizeof(*a));
  if (!a)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  a->cb = cb;
  a->data = data;
  if (from && to->disk_gb < from->disk_gb)
    snprintf(a->notes[a->nnotes++], sizeof(a->notes[0]),
             "the boot disk stays %d GB (tier %s has %d GB): a disk "
             "cannot shrink",
             from->disk_gb, to->name, to->disk_gb);
  if (from && to->sql.data_disk_gb < from->sql.data_disk_gb)
    snprintf(a->notes[a->nnotes++], sizeof(a->notes[0]),
             "Cloud SQL storage stays %d GB (tier %s has %d GB): it cannot "
             "shrink",
             from->sql.data_disk_gb, to->name, to->sql.data_disk_gb);
  snprintf(a->from, sizeof(a->from), "%s", cur->tier);
  snprintf(a->to, sizeof(a->to), "%s", to->name);
  snprintf(cur->tier, sizeof(cur->tier), "%s", to->name);
  if ((result = rec_put_spec(f, rec, cur, err)) != 0) {
    free(a);
    return result;
  }
  if (a->nnotes)
    snprintf(note, sizeof(note), "%s%s%s", a->notes[0],
             a->nnotes > 1 ? "; " : "", a->nnotes > 1 ? a->notes[1] : "");
  {
    char what[2 * EDV_TIER_NAME_MAX + 8];
    snprintf(what, sizeof(what), "%s -> %s", a->from, a->to);
    edv__tenants_actor(f, actor, sizeof(actor));
    edv__tenants_journal(f, actor, rec->id, "scale", what, note);
  }
  EDV_LOG_I(MOD, "tenant=%s: scaling %s -> %s", rec->id, a->from, a->to);
  result =
      edv__tenants_drive(f, rec->id, EDV_DIR_UP, flags, scale_done, a, err);
  if (result) {
    /* Recorded: the next reconcile (or whoever holds the lease) drives it;
     * the answer says so through the tenant's run (null). */
    EDV_LOG_W(MOD, "tenant=%s: not driven now: %s", rec->id, err->message);
    return edv__fleet_answer_tenant_later(f, rec->id, scale_done, a, err);
  }
  return 0;
}

int edv_tenant_scale(edv_fleet *f, const char *id, const char *tier,
                     unsigned flags, edv_fleet_cb cb, void *data,
                     edv_error *err)
{
  edv__tenant_rec rec;
  edv__tenant_spec cur;
  int result;

  if (!tier || !*tier)
    return edv_error_set(err, EDV_EINVAL, "field 'tier' is required");
  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0 ||
      (result = edv__tenants_rec_spec(&rec, &cur, err)) != 0)
    return result;
  if (strlen(tier) > EDV_TIER_NAME_MAX || !edv__tiers_find(f->tiers, tier))
    return edv_error_set(err, EDV_EINVAL, "field 'tier': '%.64s' is not a tier",
                         tier);
  return scale_rec(f, &rec, &cur, tier, flags, cb, data, err);
}

/* The fields a tenant keeps for life. */
static int immutable(const edv__tenant_spec *cur, const char *slug,
                     const char *region, edv_error *err)
{
  if (slug && strcmp(slug, cur->slug) != 0)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "field 'slug' cannot change (it names DNS records "
                         "and certificates); create a new tenant instead");
  if (region && strcmp(region, cur->region) != 0)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "field 'region' cannot change (a region move is a "
                         "migration)");
  return 0;
}

int edv_tenant_update(edv_fleet *f, const char *id, json_object *patch,
                      unsigned flags, edv_fleet_cb cb, void *data,
                      edv_error *err)
{
  edv__tenant_rec rec;
  edv__tenant_spec cur;
  json_object *v;
  const char *f_id = NULL, *f_tier = NULL, *f_slug = NULL, *f_region = NULL;
  const char *f_name = NULL;
  int result, changed = 0, ssh = -1;
  char actor[EDV_STORE_SMALL_SZ];

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0 ||
      (result = check_fields(f, patch, 1, err)) != 0 ||
      (result = edv__tenants_rec_spec(&rec, &cur, err)) != 0)
    return result;
#define FIELD(k, var)                                                          \
  if (json_object_object_get_ex(patch, k, &v))                                 \
  var = json_object_get_string(v)
  FIELD("id", f_id);
  FIELD("tier", f_tier);
  FIELD("slug", f_slug);
  FIELD("region", f_region);
  FIELD("display_name", f_name);
#undef FIELD
  if (json_object_object_get_ex(patch, "ops_ssh", &v))
    ssh = json_object_get_boolean(v);
  if (f_id && strcmp(f_id, rec.id) != 0)
    return edv_error_set(err, EDV_EINVAL, "field 'id' does not match the path");
  if (f_tier && strcmp(f_tier, cur.tier) != 0) {
    /* A tier change is scaling; nothing else may change with it (one
     * change at a time). */
    if ((f_slug && strcmp(f_slug, cur.slug) != 0) ||
        (f_region && strcmp(f_region, cur.region) != 0) ||
        (f_name && strcmp(f_name, cur.display_name) != 0) ||
        (ssh >= 0 && !ssh != !cur.ops_ssh))
      return edv_error_set(err, EDV_EINVAL,
                           "field 'tier': a tier change cannot come with "
                           "other changes; send them separately");
    return scale_rec(f, &rec, &cur, f_tier, flags, cb, data, err);
  }
  if ((result = immutable(&cur, f_slug, f_region, err)) != 0)
    return result;
  if (f_name && strcmp(f_name, cur.display_name) != 0) {
    snprintf(cur.display_name, sizeof(cur.display_name), "%s", f_name);
    changed = 1;
  }
  /* Operations SSH through IAP: the run adds or removes the rule. */
  if (ssh >= 0 && !ssh != !cur.ops_ssh) {
    cur.ops_ssh = ssh;
    changed |= 2;
  }
  if (!changed)
    return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
  if (rec.phase == EDV_PHASE_DELETED || rec.phase == EDV_PHASE_DEPROVISIONING)
    return edv_error_set(err, EDV_EPRECONDITION, "tenant '%s' is %s", rec.id,
                         edv__phase_name(rec.phase));
  if ((result = refuse_suspended(&rec, err)) != 0)
    return result;
  if ((result = not_driven(f, rec.id, err)) != 0 ||
      (result = rec_put_spec(f, &rec, &cur, err)) != 0)
    return result;
  {
    char what[64];
    snprintf(what, sizeof(what), "%s%s%s", changed & 1 ? "display_name" : "",
             changed == 3 ? ", " : "",
             changed & 2 ? (cur.ops_ssh ? "ops_ssh on" : "ops_ssh off") : "");
    edv__tenants_actor(f, actor, sizeof(actor));
    edv__tenants_journal(f, actor, rec.id, "updated", what, NULL);
  }
  /* The VM shows the name, the firewall follows ops_ssh: a READY tenant
   * converges again. */
  if (rec.phase != EDV_PHASE_READY)
    return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
  result = edv__tenants_drive(f, rec.id, EDV_DIR_UP, flags, cb, data, err);
  if (result) {
    EDV_LOG_W(MOD, "tenant=%s: not re-driven: %s", rec.id, err->message);
    return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
  }
  return 0;
}

/* ---- delete --------------------------------------------------------------*/

typedef struct delete_op {
  edv_fleet *f;
  edv_fleet_cb cb;
  void *data;
  unsigned flags;
  char id[EDV_STORE_ID_SZ];
} delete_op;

/* The DEPROVISIONING of a tenant that was going up is durable (or not). */
static void delete_recorded(void *data, const edv_error *err)
{
  delete_op *op = data;
  edv__fleet_run *r = edv__fleet_run_find(op->f, op->id);

  if (err) {
    op->cb(op->data, NULL, err);
  } else if ((op->flags & EDV_FLEET_ASYNC) || !r) {
    edv__fleet_answer_tenant(op->f, op->id, op->cb, op->data);
  } else {
    /* The run stops at a durable point, then goes down (then_down); the
     * caller waits for the way down. */
    edv_error e;
    if (edv__fleet_drive_tenant(op->f, op->id, EDV_DIR_DOWN, op->cb, op->data,
                                &e))
      op->cb(op->data, NULL, &e);
  }
  free(op);
}

/* 1 when the tenant was READY in this life (its last step, registration,
 * is DONE): a run going up now is an update, not its provisioning. */
static int was_ready(edv_fleet *f, const char *id)
{
  edv__step_rec sr;

  return edv__store_step_get(f->store, id, "registration", &sr, NULL) == 0 &&
         sr.state == EDV_STEP_DONE;
}

int edv_tenant_delete(edv_fleet *f, const char *id, unsigned flags,
                      edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  edv__fleet_run *r;
  int result;

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if (rec.phase == EDV_PHASE_DELETED)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' is already deleted",
                         rec.id);
  {
    char to[EDV_REGION_MAX + 1];
    if (edv__fleet_move_target(f->machine, rec.id, to, sizeof(to)) == 0)
      return edv_error_set(err, EDV_EBUSY,
                           "tenant '%s' is moving to %s; delete it once the "
                           "move ends (resume it with `edvctl tenant resume "
                           "%s`)",
                           rec.id, to, rec.id);
  }
  r = edv__fleet_run_find(f, rec.id);
  if (r && r->dir == EDV_DIR_SUSPEND && (flags & EDV_FLEET_NOW))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being suspended; delete it --now "
                         "once it is SUSPENDED",
                         rec.id);
  if (!(flags & EDV_FLEET_NOW) && rec.phase == EDV_PHASE_SUSPENDED)
    return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
  /* The grace: a tenant that has served (its data matters) is suspended
   * first, purged when the grace ends (the reconciler's pass). */
  if (!(flags & EDV_FLEET_NOW) &&
      ((!r &&
        (rec.phase == EDV_PHASE_READY || rec.phase == EDV_PHASE_SUSPENDING ||
         (rec.phase == EDV_PHASE_FAILED && was_ready(f, rec.id)))) ||
       (r && r->dir == EDV_DIR_SUSPEND)))
    return edv__tenants_drive(f, rec.id, EDV_DIR_SUSPEND, flags, cb, data, err);
  if (r && r->dir == EDV_DIR_UP && was_ready(f, rec.id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being updated (a scale, apply, "
                         "update or repair is in flight); delete it once "
                         "that run ends",
                         rec.id);
  if (r && r->dir == EDV_DIR_UP) {
    /* Provisioning: the delete is recorded (DEPROVISIONING) before it is
     * answered, so that a process that dies before the run stops goes
     * down after its restart; the run stops at a durable point, then the
     * tenant goes down. */
    delete_op *op = calloc(1, sizeof(*op));
    if (!op)
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
    op->f = f;
    op->cb = cb;
    op->data = data;
    op->flags = flags;
    snprintf(op->id, sizeof(op->id), "%s", rec.id);
    r->then_down = 1;
    if (edv__fleet_request_down(f->machine, rec.id, delete_recorded, op) == 0)
      return 0;
    free(op);
    /* Its final phase is being written: stop it, then go down. */
    edv__fleet_stop(f->machine, rec.id);
    if (flags & EDV_FLEET_ASYNC)
      return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
    return edv__fleet_drive_tenant(f, rec.id, EDV_DIR_DOWN, cb, data, err);
  }
  if (r && r->dir == EDV_DIR_DOWN && (flags & EDV_FLEET_ASYNC))
    return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
  if (flags & EDV_FLEET_ASYNC) {
    /* A delete that cannot start (another process holds the lease) is
     * refused, not left to a later pass: nothing is recorded yet. */
    if ((result = edv__fleet_drive_tenant(f, rec.id, EDV_DIR_DOWN, NULL, NULL,
                                          err)) != 0)
      return result;
    return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
  }
  return edv__fleet_drive_tenant(f, rec.id, EDV_DIR_DOWN, cb, data, err);
}

/* ---- undelete ------------------------------------------------------------*/

int edv_tenant_undelete(edv_fleet *f, const char *id, unsigned flags,
                        edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  edv__fleet_run *r;
  char actor[EDV_STORE_SMALL_SZ];
  int result;

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  r = edv__fleet_run_find(f, rec.id);
  if (r && r->dir == EDV_DIR_SUSPEND)
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being suspended; undelete it once "
                         "it is SUSPENDED",
                         rec.id);
  if (rec.phase != EDV_PHASE_SUSPENDED && rec.phase != EDV_PHASE_SUSPENDING &&
      !(rec.phase == EDV_PHASE_FAILED &&
        direction_of(f, &rec) == EDV_DIR_SUSPEND))
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' is %s: only a tenant in its deletion's "
                         "grace (SUSPENDED) can be undeleted",
                         rec.id, edv__phase_name(rec.phase));
  edv__tenants_actor(f, actor, sizeof(actor));
  edv__tenants_journal(f, actor, rec.id, "undeleted", NULL, NULL);
  /* Up again: every step observes, and what the suspension took away
   * (the VM's run, the host rule, the DNS records) comes back. */
  return edv__tenants_drive(f, rec.id, EDV_DIR_UP, flags, cb, data, err);
}

/* ---- recover -------------------------------------------------------------*/

typedef struct recover_op {
  edv_fleet *f;
  edv_fleet_cb cb;
  void *data;
  unsigned flags;
  char id[EDV_STORE_ID_SZ];
  char backup[EDV_STORE_RES_SZ];
  char actor[EDV_STORE_SMALL_SZ];
} recover_op;

/* The final backup exists: the tenant's new life is recorded (with the
 * restore to do, edv__fleet_recover), then driven up. */
static int recover_commit(recover_op *op, edv_error *err)
{
  char backup[EDV_STORE_RES_SZ];
  int result;

  if ((result = edv__fleet_recover(op->f->machine, op->id, backup,
                                   sizeof(backup), err)) != 0)
    return result;
  edv__tenants_journal(op->f, op->actor, op->id, "recover", backup, NULL);
  return edv__tenants_drive(op->f, op->id, EDV_DIR_UP, op->flags, op->cb,
                            op->data, err);
}

static void recover_checked(void *data, const edv_response *res)
{
  recover_op *op = data;
  edv_error err;

  if (res->error && res->error->code == EDV_ENOTFOUND)
    edv_error_set(&err, EDV_EPRECONDITION,
                  "tenant '%s': its final backup %s no longer exists "
                  "(expired or deleted): nothing to recover from",
                  op->id, op->backup);
  else if (res->error)
    edv_error_set(&err, EDV_EUNAVAIL, "cannot check final backup %s: %s",
                  op->backup, res->error->message);
  if (res->error || recover_commit(op, &err) != 0)
    op->cb(op->data, NULL, &err);
  free(op);
}

int edv_tenant_recover(edv_fleet *f, const char *id, unsigned flags,
                       edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  recover_op *op;
  char exp[64], path[EDV_STORE_RES_SZ + 64];
  int64_t until;
  edv_request rq;
  int result;

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if (rec.phase != EDV_PHASE_DELETED)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' is %s: only a DELETED tenant can be "
                         "recovered",
                         rec.id, edv__phase_name(rec.phase));
  if (!(op = calloc(1, sizeof(*op))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (edv__fleet_final_backup(f, rec.id, op->backup, sizeof(op->backup), exp,
                              sizeof(exp)) != 0) {
    free(op);
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' has no final backup on record: "
                         "nothing to recover from",
                         rec.id);
  }
  until = edv__view_time_parse(exp);
  if (until >= 0 && until <= edv__store_now(f->store)) {
    edv_error_set(err, EDV_EPRECONDITION,
                  "tenant '%s': its final backup %s expired at %s: nothing "
                  "to recover from",
                  rec.id, op->backup, exp);
    free(op);
    return EDV_EPRECONDITION;
  }
  op->f = f;
  op->cb = cb;
  op->data = data;
  op->flags = flags;
  snprintf(op->id, sizeof(op->id), "%s", rec.id);
  edv__tenants_actor(f, op->actor, sizeof(op->actor));
  /* Google deletes an expired backup itself: ask it. */
  snprintf(path, sizeof(path), "/sql/v1beta4/projects/%s/backups/%s",
           edv__fleet_project(f->machine), strrchr(op->backup, '/') + 1);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_SQLADMIN;
  rq.method = "GET";
  rq.path = path;
  rq.label = "sql.backups.getBackup";
  rq.timeout_ms = 20000;
  if (edv_call_submit(f->engine, &rq, recover_checked, op, NULL)) {
    free(op);
    return edv_error_set(err, EDV_EUNAVAIL,
                         "cannot check the final backup now");
  }
  return 0;
}

/* ---- apply, resume, retry ------------------------------------------------*/

int edv_tenant_apply(edv_fleet *f, const char *id, unsigned flags,
                     edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  int result;

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if (rec.phase == EDV_PHASE_DELETED)
    return edv_error_set(err, EDV_ENOTFOUND,
                         "tenant '%s' is deleted: there is nothing to apply",
                         rec.id);
  if (rec.phase == EDV_PHASE_FAILED)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' is FAILED; retry it (`tenant retry`)",
                         rec.id);
  if ((result = refuse_suspended(&rec, err)) != 0)
    return result;
  return edv__tenants_drive(f, rec.id, direction_of(f, &rec), flags, cb, data,
                            err);
}

int edv_tenant_retry(edv_fleet *f, const char *id, unsigned flags,
                     edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  int result;

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if (rec.phase != EDV_PHASE_FAILED)
    return edv_error_set(err, EDV_EPRECONDITION,
                         "tenant '%s' is %s, not FAILED; use `tenant resume` "
                         "to continue an interrupted run",
                         rec.id, edv__phase_name(rec.phase));
  return edv__tenants_drive(f, rec.id, direction_of(f, &rec), flags, cb, data,
                            err);
}

/* Resuming every tenant: answered once each has ended (or at once with
 * ASYNC) with {"tenants": [documents]}. */
typedef struct resume_all {
  edv_fleet *f;
  edv_fleet_cb cb;
  void *data;
  json_object *docs;
  unsigned pending;
  edv_error err;
  int failed;
} resume_all;

static void resume_all_end(resume_all *ra)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "tenants", ra->docs);
  ra->cb(ra->data, o, NULL);
  json_object_put(o);
  free(ra);
}

static void resume_one_done(void *data, json_object *doc, const edv_error *err)
{
  resume_all *ra = data;

  if (doc)
    json_object_array_add(ra->docs, json_object_get(doc));
  else if (!ra->failed) {
    ra->failed = 1;
    ra->err = *err;
  }
  if (--ra->pending == 0)
    resume_all_end(ra);
}

/* The tenants a resume of all takes: collected first, driven after (the
 * store is not called from inside its own list). */
typedef struct resume_scan {
  edv_fleet *f;
  edv__tenant_rec *recs;
  size_t n, cap;
  int oom;
} resume_scan;

static int resume_pick(void *data, const edv__tenant_rec *rec)
{
  resume_scan *s = data;

  if (rec->id[0] == '@' || rec->phase == EDV_PHASE_READY ||
      rec->phase == EDV_PHASE_DELETED || rec->phase == EDV_PHASE_FAILED ||
      rec->phase == EDV_PHASE_SUSPENDED || edv__fleet_run_find(s->f, rec->id))
    return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    edv__tenant_rec *r = realloc(s->recs, cap * sizeof(*r));
    if (!r) {
      s->oom = 1;
      return 1;
    }
    s->recs = r;
    s->cap = cap;
  }
  s->recs[s->n++] = *rec;
  return 0;
}

static void resume_start(edv_fleet *f, resume_scan *s, unsigned flags,
                         resume_all *ra)
{
  for (size_t i = 0; i < s->n; i++) {
    const edv__tenant_rec *rec = &s->recs[i];
    edv_error e;

    ra->pending++;
    if (edv__fleet_drive_tenant(
            f, rec->id, direction_of(f, rec),
            (flags & EDV_FLEET_ASYNC) ? NULL : resume_one_done, ra, &e) != 0) {
      EDV_LOG_W(MOD, "tenant=%s: not resumed: %s", rec->id, e.message);
      ra->pending--;
    } else if (flags & EDV_FLEET_ASYNC) {
      ra->pending--;
      json_object_array_add(ra->docs, edv__view_tenant(f, rec, 0));
    }
  }
}

int edv_tenant_resume(edv_fleet *f, const char *id, unsigned flags,
                      edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  edv__tenant_filter filt;
  char next[EDV_STORE_ID_SZ] = "";
  resume_scan s;
  resume_all *ra;
  int result;

  if (id) {
    if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
      return result;
    if (rec.phase == EDV_PHASE_READY || rec.phase == EDV_PHASE_DELETED ||
        rec.phase == EDV_PHASE_SUSPENDED)
      return edv__fleet_answer_tenant_later(f, rec.id, cb, data, err);
    if (rec.phase == EDV_PHASE_FAILED)
      return edv_error_set(err, EDV_EPRECONDITION,
                           "tenant '%s' is FAILED; use `tenant retry`", rec.id);
    return edv__tenants_drive(f, rec.id, direction_of(f, &rec), flags, cb, data,
                              err);
  }
  memset(&s, 0, sizeof(s));
  s.f = f;
  memset(&filt, 0, sizeof(filt));
  filt.phase = -1;
  filt.limit = 1000;
  do {
    filt.after = next;
    result = edv__store_tenant_list(f->store, &filt, resume_pick, &s, next,
                                    sizeof(next), err);
  } while (result == 0 && !s.oom && next[0]);
  if (result || s.oom) {
    free(s.recs);
    if (!result)
      result = edv_error_set(err, EDV_ENOMEM, "out of memory");
    return result;
  }
  ra = calloc(1, sizeof(*ra));
  if (!ra) {
    free(s.recs);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  ra->f = f;
  ra->cb = cb;
  ra->data = data;
  ra->docs = json_object_new_array();
  ra->pending = 1; /* this call's own, released below */
  resume_start(f, &s, flags, ra);
  free(s.recs);
  /* Answered from the loop, after every run it waits for. */
  if (--ra->pending == 0) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "tenants", ra->docs);
    result = edv__fleet_answer_later(f, cb, data, o, NULL, err);
    json_object_put(o);
    free(ra);
    return result;
  }
  return 0;
}

/* ---- events --------------------------------------------------------------*/

typedef struct events_ctx {
  json_object *arr;
  unsigned want, got;
  int64_t last;
  int more;
} events_ctx;

static int event_one(void *data, const edv__journal_rec *r)
{
  events_ctx *e = data;
  json_object *o;

  if (e->got == e->want) {
    e->more = 1;
    return 1;
  }
  o = json_object_new_object();
  json_object_object_add(o, "seq", json_object_new_int64(r->seq));
  json_object_object_add(o, "time", edv__view_time_json(r->time_ms));
  json_object_object_add(o, "actor", json_object_new_string(r->actor));
  json_object_object_add(o, "event", json_object_new_string(r->event));
  json_object_object_add(o, "step",
                         r->step[0] ? json_object_new_string(r->step) : NULL);
  json_object_object_add(
      o, "detail", r->api_call[0] ? json_object_new_string(r->api_call) : NULL);
  json_object_object_add(o, "operation",
                         r->operation[0] ? json_object_new_string(r->operation)
                                         : NULL);
  json_object_object_add(o, "duration_ms",
                         json_object_new_int64(r->duration_ms));
  json_object_object_add(o, "error",
                         r->error[0] ? json_object_new_string(r->error) : NULL);
  json_object_array_add(e->arr, o);
  e->got++;
  e->last = r->seq;
  return 0;
}

int edv_tenant_events(edv_fleet *f, const char *id, int64_t after,
                      unsigned limit, edv_fleet_cb cb, void *data,
                      edv_error *err)
{
  edv__tenant_rec rec;
  events_ctx e;
  json_object *doc;
  int result;

  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if (limit > 1000)
    return edv_error_set(err, EDV_EINVAL, "limit: must be an integer 1..1000");
  memset(&e, 0, sizeof(e));
  e.arr = json_object_new_array();
  e.want = limit ? limit : 100;
  e.last = after;
  if (after < 0)
    return edv_error_set(err, EDV_EINVAL, "after: must be a sequence number");
  result = edv__store_journal_list(f->store, rec.id, after, e.want + 1,
                                   event_one, &e, err);
  if (result) {
    json_object_put(e.arr);
    return result;
  }
  doc = json_object_new_object();
  json_object_object_add(doc, "tenant", json_object_new_string(rec.id));
  json_object_object_add(doc, "events", e.arr);
  /* One pagination style: next_page_token, as every list (next_after,
   * the same sequence number as a number, is its older name). */
  if (e.more) {
    char tok[32];
    snprintf(tok, sizeof(tok), "%lld", (long long)e.last);
    json_object_object_add(doc, "next_page_token", json_object_new_string(tok));
  } else {
    json_object_object_add(doc, "next_page_token", NULL);
  }
  json_object_object_add(doc, "next_after",
                         e.more ? json_object_new_int64(e.last) : NULL);
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}

/* ---- the platform --------------------------------------------------------*/

typedef struct platform_wait {
  edv_fleet *f;
  edv_fleet_cb cb;
  void *data;
} platform_wait;

static void platform_answer(void *data, json_object *doc, const edv_error *err)
{
  platform_wait *w = data;
  json_object *o;

  if (!doc) {
    w->cb(w->data, NULL, err);
    free(w);
    return;
  }
  o = json_object_new_object();
  json_object_object_add(
      o, "project", json_object_new_string(edv__fleet_project(w->f->machine)));
  json_object_object_add(o, "phase",
                         json_object_get(json_object_object_get(doc, "phase")));
  json_object_object_add(
      o, "last_error",
      json_object_get(json_object_object_get(doc, "last_error")));
  json_object_object_add(o, "steps",
                         json_object_get(json_object_object_get(doc, "steps")));
  w->cb(w->data, o, NULL);
  json_object_put(o);
  free(w);
}

int edv_fleet_platform_init(edv_fleet *f, unsigned flags, edv_fleet_cb cb,
                            void *data, edv_error *err)
{
  platform_wait *w = calloc(1, sizeof(*w));
  int result;

  if (!w)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  w->f = f;
  w->cb = cb;
  w->data = data;
  if (flags & EDV_FLEET_ASYNC) {
    edv_error e;
    if (edv__fleet_drive_tenant(f, EDV_PLATFORM_ID, EDV_DIR_UP, NULL, NULL,
                                &e) != 0 &&
        e.code != EDV_EBUSY) {
      free(w);
      *err = e;
      return e.code;
    }
    return edv__fleet_answer_tenant_later(f, EDV_PLATFORM_ID, platform_answer,
                                          w, err);
  }
  result = edv__fleet_drive_tenant(f, EDV_PLATFORM_ID, EDV_DIR_UP,
                                   platform_answer, w, err);
  if (result)
    free(w);
  return result;
}
