/*
 * state.c - the store itself: a JSON export of the fleet's records, the
 * import of one into an empty store, and snapshots of edv.db
 * (edv/fleet.h, "The store itself"; docs/operations.md, "Lost edv.db").
 *
 * The export holds every tenant record (the platform's pseudo-tenant
 * included) with its spec, phase, SQL name generation, times, subnet
 * allocation and step records (the step's `resource` is what a step
 * recorded: the password version identity of sql_user, the DNS claim),
 * and with EDV_STATE_JOURNAL the journal. Nothing in the store is a
 * secret (store/store.h); leases and Management API idempotency keys are
 * transient and left out. Times are integer milliseconds, so an import
 * followed by an export gives the same bytes. Version 2 adds the
 * releases (oldest first) and each tenant's release ("" none); an import
 * still reads version 1 (no release anywhere).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "fleet/fleet.h"
#include "tenant/spec.h"

#define STATE_FORMAT  "edv-state"
#define STATE_VERSION 2           /* 2: releases, and each tenant's release */
#define STATE_MAX     (64u << 20) /* largest file an import reads */

/* ---- export ----------------------------------------------------------- */

typedef struct xp {
  edv_store *st;
  json_object *arr;
  int failed;
} xp;

static json_object *jstr(const char *s)
{
  return json_object_new_string(s ? s : "");
}

static int xp_step(void *data, const edv__step_rec *r)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "step", jstr(r->step));
  json_object_object_add(o, "state", jstr(edv__step_state_name(r->state)));
  json_object_object_add(o, "attempt", json_object_new_int64(r->attempt));
  json_object_object_add(o, "request_id", jstr(r->request_id));
  json_object_object_add(o, "op_name", jstr(r->op_name));
  json_object_object_add(o, "op_kind", jstr(r->op_kind));
  json_object_object_add(o, "resource", jstr(r->resource));
  json_object_object_add(o, "error", jstr(r->error));
  json_object_object_add(o, "started_ms", json_object_new_int64(r->started_ms));
  json_object_object_add(o, "finished_ms",
                         json_object_new_int64(r->finished_ms));
  json_object_array_add(data, o);
  return 0;
}

static int xp_tenant(void *data, const edv__tenant_rec *r)
{
  xp *x = data;
  json_object *o = json_object_new_object(), *steps = json_object_new_array();
  json_object *spec = json_tokener_parse(r->spec_json);
  edv_cidr c;
  char buf[64];

  json_object_object_add(o, "id", jstr(r->id));
  json_object_object_add(o, "slug", jstr(r->slug));
  json_object_object_add(o, "tier", jstr(r->tier));
  json_object_object_add(o, "spec", spec ? spec : json_object_new_object());
  json_object_object_add(o, "phase", jstr(edv__phase_name(r->phase)));
  json_object_object_add(o, "generation", json_object_new_int64(r->generation));
  json_object_object_add(o, "last_error", jstr(r->last_error));
  json_object_object_add(o, "created_ms", json_object_new_int64(r->created_ms));
  json_object_object_add(o, "updated_ms", json_object_new_int64(r->updated_ms));
  json_object_object_add(o, "release", jstr(r->release));
  json_object_object_add(o, "subnet",
                         edv__store_subnet_get(x->st, r->id, &c, NULL) == 0
                             ? jstr(edv__cidr_format(&c, buf, sizeof(buf)))
                             : NULL);
  if (!spec || edv__store_step_list(x->st, r->id, xp_step, steps, NULL))
    x->failed = 1;
  json_object_object_add(o, "steps", steps);
  json_object_array_add(x->arr, o);
  return x->failed;
}

static int xp_journal(void *data, const edv__journal_rec *r)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "seq", json_object_new_int64(r->seq));
  json_object_object_add(o, "tenant", jstr(r->tenant));
  json_object_object_add(o, "time_ms", json_object_new_int64(r->time_ms));
  json_object_object_add(o, "actor", jstr(r->actor));
  json_object_object_add(o, "event", jstr(r->event));
  json_object_object_add(o, "step", jstr(r->step));
  json_object_object_add(o, "api_call", jstr(r->api_call));
  json_object_object_add(o, "operation", jstr(r->operation));
  json_object_object_add(o, "duration_ms",
                         json_object_new_int64(r->duration_ms));
  json_object_object_add(o, "error", jstr(r->error));
  json_object_array_add(data, o);
  return 0;
}

static int xp_release(void *data, const edv__release_rec *r)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "version", jstr(r->version));
  json_object_object_add(o, "image", jstr(r->image));
  json_object_object_add(o, "image_family", jstr(r->family));
  json_object_object_add(o, "notes", jstr(r->notes));
  json_object_object_add(o, "created_ms", json_object_new_int64(r->created_ms));
  json_object_array_add(data, o);
  return 0;
}

/* Every tenant record, page by page, into x->arr. */
static int xp_tenants(xp *x, edv_error *err)
{
  edv__tenant_filter flt;
  char after[EDV_STORE_ID_SZ] = "";
  int result;

  do {
    memset(&flt, 0, sizeof(flt));
    flt.phase = -1;
    flt.after = after;
    flt.limit = 1000;
    result = edv__store_tenant_list(x->st, &flt, xp_tenant, x, after,
                                    sizeof(after), err);
    if (!result && x->failed)
      result = edv_error_set(err, EDV_EIO,
                             "state export: cannot read a "
                             "tenant's spec or steps");
  } while (!result && after[0]);
  return result;
}

int edv__state_export_doc(edv_store *st, unsigned flags, json_object **out,
                          edv_error *err)
{
  xp x = {st, json_object_new_array(), 0};
  json_object *doc = json_object_new_object(), *journal = NULL;
  int result;

  json_object_object_add(doc, "format", jstr(STATE_FORMAT));
  json_object_object_add(doc, "version", json_object_new_int(STATE_VERSION));
  json_object_object_add(doc, "releases", json_object_new_array());
  json_object_object_add(doc, "tenants", x.arr);
  if ((result = edv__store_begin(st, err)))
    goto out;
  result = edv__store_release_list(
      st, xp_release, json_object_object_get(doc, "releases"), err);
  if (!result)
    result = xp_tenants(&x, err);
  if (!result && (flags & EDV_STATE_JOURNAL)) {
    journal = json_object_new_array();
    json_object_object_add(doc, "journal", journal);
    result = edv__store_journal_list(st, NULL, 0, 0, xp_journal, journal, err);
  }
  edv__store_rollback(st, NULL);
out:
  if (result)
    json_object_put(doc);
  else
    *out = doc;
  return result;
}

int edv_fleet_state_export(edv_fleet *fleet, const char *path, unsigned flags,
                           edv_error *err)
{
  json_object *doc = NULL;
  int result;

  if (!fleet || !path || !*path)
    return edv_error_set(err, EDV_EINVAL, "state export: no file");
  if ((result = edv__state_export_doc(fleet->store, flags, &doc, err)))
    return result;
  result = edv__file_write_private(
      path,
      json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                              JSON_C_TO_STRING_NOSLASHESCAPE),
      err);
  json_object_put(doc);
  return result;
}

/* ---- import ------------------------------------------------------------ */

/* Where a field is: "tenants[3].steps[2]". */
typedef struct im_at {
  char at[96];
} im_at;

/* Refuses keys of `o` outside `keys` (NULL-ended), naming the first. */
static int im_keys(json_object *o, const char *at, const char *const *keys,
                   edv_error *err)
{
  if (!json_object_is_type(o, json_type_object))
    return edv_error_set(err, EDV_EINVAL, "%s: not an object", at);
  json_object_object_foreach(o, k, v)
  {
    size_t i = 0;
    (void)v;
    while (keys[i] && strcmp(keys[i], k) != 0)
      i++;
    if (!keys[i])
      return edv_error_set(err, EDV_EINVAL, "%s.%s: unknown field", at, k);
  }
  return 0;
}

/* A string field that fits `size` (NUL included); "" allowed when
 * `empty`. */
static int im_str(json_object *o, const char *at, const char *key, char *buf,
                  size_t size, int empty, edv_error *err)
{
  json_object *v;
  const char *s;

  if (!json_object_object_get_ex(o, key, &v))
    return edv_error_set(err, EDV_EINVAL, "%s.%s: missing", at, key);
  if (!json_object_is_type(v, json_type_string))
    return edv_error_set(err, EDV_EINVAL, "%s.%s: not a string", at, key);
  s = json_object_get_string(v);
  if (strlen(s) >= size || (!empty && !*s))
    return edv_error_set(err, EDV_EINVAL, "%s.%s: %s", at, key,
                         *s ? "too long" : "empty");
  memcpy(buf, s, strlen(s) + 1);
  return 0;
}

static int im_int(json_object *o, const char *at, const char *key, int64_t min,
                  int64_t max, int64_t *out, edv_error *err)
{
  json_object *v;

  if (!json_object_object_get_ex(o, key, &v))
    return edv_error_set(err, EDV_EINVAL, "%s.%s: missing", at, key);
  if (!json_object_is_type(v, json_type_int))
    return edv_error_set(err, EDV_EINVAL, "%s.%s: not an integer", at, key);
  *out = json_object_get_int64(v);
  if (*out < min || *out > max)
    return edv_error_set(err, EDV_EINVAL, "%s.%s: %lld is out of range", at,
                         key, (long long)*out);
  return 0;
}

/* The time every write of the import stamps (the store's clock, set to
 * each record's own time while it is written). */
static int64_t im_clock(void *data)
{
  return *(int64_t *)data;
}

typedef struct im {
  edv_store *st;
  const edv__tiers *tiers;
  const char *domain, *supernet;
  int64_t now;
} im;

static int im_step(im *m, json_object *o, const char *tenant, const char *at,
                   edv_error *err)
{
  static const char *const keys[] = {
      "step",     "state", "attempt",    "request_id",  "op_name", "op_kind",
      "resource", "error", "started_ms", "finished_ms", NULL};
  edv__step_rec r;
  char state[16];
  int64_t n;
  int result, s;

  memset(&r, 0, sizeof(r));
  memcpy(r.tenant, tenant, strlen(tenant) + 1);
  if ((result = im_keys(o, at, keys, err)) ||
      (result = im_str(o, at, "step", r.step, sizeof(r.step), 0, err)) ||
      (result = im_str(o, at, "state", state, sizeof(state), 0, err)))
    return result;
  if ((s = edv__step_state_parse(state)) < 0)
    return edv_error_set(err, EDV_EINVAL, "%s.state: '%s' is not a step state",
                         at, state);
  r.state = (edv_step_state)s;
  if ((result = im_int(o, at, "attempt", 0, 1000000, &n, err)))
    return result;
  r.attempt = (unsigned)n;
  if ((result = im_str(o, at, "request_id", r.request_id, sizeof(r.request_id),
                       1, err)) ||
      (result =
           im_str(o, at, "op_name", r.op_name, sizeof(r.op_name), 1, err)) ||
      (result =
           im_str(o, at, "op_kind", r.op_kind, sizeof(r.op_kind), 1, err)) ||
      (result =
           im_str(o, at, "resource", r.resource, sizeof(r.resource), 1, err)) ||
      (result = im_str(o, at, "error", r.error, sizeof(r.error), 1, err)) ||
      (result =
           im_int(o, at, "started_ms", 0, INT64_MAX, &r.started_ms, err)) ||
      (result =
           im_int(o, at, "finished_ms", 0, INT64_MAX, &r.finished_ms, err)))
    return result;
  return edv__store_step_put(m->st, &r, err);
}

/* The record's spec: the platform's is {}; a tenant's is checked field by
 * field (edv__spec_from_json), against the tiers and the domain, and must
 * agree with the record's id, slug and tier. */
static int im_spec(im *m, json_object *spec, edv__tenant_rec *r, const char *at,
                   edv_error *err)
{
  edv__tenant_spec s;
  json_object *canon;
  char where[128];
  edv_error e;
  int result;

  if (strcmp(r->id, EDV_PLATFORM_ID) == 0) {
    if (!json_object_is_type(spec, json_type_object) ||
        json_object_object_length(spec) != 0)
      return edv_error_set(err, EDV_EINVAL, "%s.spec: the platform's is {}",
                           at);
    memcpy(r->spec_json, "{}", 3);
    return 0;
  }
  snprintf(where, sizeof(where), "%s.spec", at);
  if ((result = edv__spec_from_json(spec, &s, &e)) ||
      (result = edv__spec_validate(&s, m->tiers, NULL, NULL, m->domain, &e)))
    return edv_error_set(err, (edv_code)result, "%s: %s", where, e.message);
  if (strcmp(s.id, r->id) || strcmp(s.slug, r->slug) || strcmp(s.tier, r->tier))
    return edv_error_set(err, EDV_EINVAL,
                         "%s: id, slug and tier must be the record's", where);
  if (!(canon = edv__spec_to_json(&s)))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  snprintf(r->spec_json, sizeof(r->spec_json), "%s",
           json_object_to_json_string_ext(canon, JSON_C_TO_STRING_PLAIN));
  json_object_put(canon);
  return 0;
}

/* A tenant's release (version 1 has none): "" or one of the releases. */
static int im_tenant_release(im *m, json_object *o, const char *at,
                             edv__tenant_rec *r, edv_error *err)
{
  edv__release_rec rel;
  int result;

  if (!json_object_object_get_ex(o, "release", NULL))
    return 0;
  if ((result =
           im_str(o, at, "release", r->release, sizeof(r->release), 1, err)))
    return result;
  if (r->release[0] &&
      edv__store_release_get(m->st, r->release, &rel, NULL) != 0)
    return edv_error_set(err, EDV_EINVAL,
                         "%s.release: '%s' is not one of the releases", at,
                         r->release);
  return 0;
}

/* A release: {version, image, image_family, notes, created_ms}. */
static int im_release(im *m, json_object *o, size_t i, edv_error *err)
{
  static const char *const keys[] = {"version", "image",      "image_family",
                                     "notes",   "created_ms", NULL};
  edv__release_rec r;
  char at[48];
  int result;

  snprintf(at, sizeof(at), "releases[%zu]", i);
  memset(&r, 0, sizeof(r));
  if ((result = im_keys(o, at, keys, err)) ||
      (result =
           im_str(o, at, "version", r.version, sizeof(r.version), 0, err)) ||
      (result = im_str(o, at, "image", r.image, sizeof(r.image), 0, err)) ||
      (result =
           im_str(o, at, "image_family", r.family, sizeof(r.family), 1, err)) ||
      (result = im_str(o, at, "notes", r.notes, sizeof(r.notes), 1, err)) ||
      (result = im_int(o, at, "created_ms", 1, INT64_MAX, &r.created_ms, err)))
    return result;
  if (!edv__release_version_ok(r.version))
    return edv_error_set(err, EDV_EINVAL, "%s.version: '%s' is not a version",
                         at, r.version);
  if (strncmp(r.image, "projects/", 9) != 0 ||
      !strstr(r.image, "/global/images/"))
    return edv_error_set(err, EDV_EINVAL,
                         "%s.image: '%s' is not projects/P/global/images/I", at,
                         r.image);
  return edv__store_release_put(m->st, &r, err);
}

/* The record's fields, into *r (times into created/updated). */
static int im_record(im *m, json_object *o, const char *at, edv__tenant_rec *r,
                     edv_error *err)
{
  static const char *const keys[] = {
      "id",         "slug",       "tier",       "spec",       "phase",
      "generation", "last_error", "created_ms", "updated_ms", "subnet",
      "steps",      "release",    NULL};
  char phase[24];
  int64_t n;
  int result, p;

  memset(r, 0, sizeof(*r));
  if ((result = im_keys(o, at, keys, err)) ||
      (result = im_str(o, at, "id", r->id, sizeof(r->id), 0, err)) ||
      (strcmp(r->id, EDV_PLATFORM_ID) &&
       (result = edv__spec_check_id(r->id, NULL)) &&
       (result = edv_error_set(err, EDV_EINVAL,
                               "%s.id: '%s' is not a tenant "
                               "id",
                               at, r->id))) ||
      (result = im_str(o, at, "slug", r->slug, sizeof(r->slug), 0, err)) ||
      (result = im_str(o, at, "tier", r->tier, sizeof(r->tier), 0, err)) ||
      (result = im_str(o, at, "phase", phase, sizeof(phase), 0, err)))
    return result;
  if ((p = edv__phase_parse(phase)) < 0)
    return edv_error_set(err, EDV_EINVAL, "%s.phase: '%s' is not a phase", at,
                         phase);
  r->phase = (edv_tenant_phase)p;
  if ((result = im_int(o, at, "generation", 0, UINT32_MAX, &n, err)))
    return result;
  r->generation = (uint32_t)n;
  if ((result = im_str(o, at, "last_error", r->last_error,
                       sizeof(r->last_error), 1, err)) ||
      (result =
           im_int(o, at, "created_ms", 0, INT64_MAX, &r->created_ms, err)) ||
      (result = im_int(o, at, "updated_ms", r->created_ms, INT64_MAX,
                       &r->updated_ms, err)) ||
      (result = im_tenant_release(m, o, at, r, err)))
    return result;
  return im_spec(m, json_object_object_get(o, "spec"), r, at, err);
}

static int im_subnet(im *m, json_object *o, const edv__tenant_rec *r,
                     const char *at, edv_error *err)
{
  json_object *v = json_object_object_get(o, "subnet");
  edv_cidr c, got, super;
  const char *sn = m->supernet;

  if (!v)
    return 0;
  if (!json_object_is_type(v, json_type_string) ||
      edv__cidr_parse(json_object_get_string(v), &c) != 0)
    return edv_error_set(err, EDV_EINVAL, "%s.subnet: not a CIDR range", at);
  if (edv__cidr_parse(sn, &super) != 0 || !edv__cidr_contains(&super, &c))
    return edv_error_set(err, EDV_EINVAL,
                         "%s.subnet: %s is outside the supernet %s", at,
                         json_object_get_string(v), sn);
  /* The allocator picks the lowest free range of its supernet: given the
   * range itself, it records exactly that one (or refuses a taken one). */
  return edv__store_subnet_allocate(m->st, r->id, &c, c.prefix, NULL, 0, &got,
                                    err);
}

static int im_tenant(im *m, json_object *o, size_t i, edv_error *err)
{
  edv__tenant_rec r;
  json_object *steps;
  char at[48], sat[96];
  int result;

  snprintf(at, sizeof(at), "tenants[%zu]", i);
  if ((result = im_record(m, o, at, &r, err)))
    return result;
  m->now = r.created_ms;
  if ((result = edv__store_tenant_put(m->st, &r, EDV_PUT_CREATE, err)))
    return result;
  if (r.updated_ms != r.created_ms) {
    m->now = r.updated_ms;
    if ((result = edv__store_tenant_put(m->st, &r, EDV_PUT_UPDATE, err)))
      return result;
  }
  m->now = r.created_ms;
  if ((result = im_subnet(m, o, &r, at, err)))
    return result;
  steps = json_object_object_get(o, "steps");
  if (!json_object_is_type(steps, json_type_array))
    return edv_error_set(err, EDV_EINVAL, "%s.steps: not an array", at);
  for (size_t k = 0; k < json_object_array_length(steps); k++) {
    snprintf(sat, sizeof(sat), "%s.steps[%zu]", at, k);
    if ((result =
             im_step(m, json_object_array_get_idx(steps, k), r.id, sat, err)))
      return result;
  }
  return 0;
}

static int im_journal_line(im *m, json_object *o, size_t i, int64_t *last,
                           edv_error *err)
{
  static const char *const keys[] = {
      "seq",      "tenant",    "time_ms",     "actor", "event", "step",
      "api_call", "operation", "duration_ms", "error", NULL};
  edv__journal_rec j;
  char at[48];
  int64_t seq;
  int result;

  snprintf(at, sizeof(at), "journal[%zu]", i);
  memset(&j, 0, sizeof(j));
  if ((result = im_keys(o, at, keys, err)) ||
      (result = im_int(o, at, "seq", *last + 1, INT64_MAX, &seq, err)) ||
      (result = im_str(o, at, "tenant", j.tenant, sizeof(j.tenant), 0, err)) ||
      (result = im_int(o, at, "time_ms", 1, INT64_MAX, &j.time_ms, err)) ||
      (result = im_str(o, at, "actor", j.actor, sizeof(j.actor), 1, err)) ||
      (result = im_str(o, at, "event", j.event, sizeof(j.event), 0, err)) ||
      (result = im_str(o, at, "step", j.step, sizeof(j.step), 1, err)) ||
      (result =
           im_str(o, at, "api_call", j.api_call, sizeof(j.api_call), 1, err)) ||
      (result = im_str(o, at, "operation", j.operation, sizeof(j.operation), 1,
                       err)) ||
      (result =
           im_int(o, at, "duration_ms", 0, INT64_MAX, &j.duration_ms, err)) ||
      (result = im_str(o, at, "error", j.error, sizeof(j.error), 1, err)))
    return result;
  *last = seq;
  return edv__store_journal_append(m->st, &j, NULL, err);
}

static int count_one(void *data, const edv__journal_rec *r)
{
  (void)r;
  ++*(unsigned *)data;
  return 1;
}

static int count_tenant(void *data, const edv__tenant_rec *r)
{
  (void)r;
  ++*(unsigned *)data;
  return 1;
}

int edv__state_empty(edv_fleet *f, int journal_too, edv_error *err)
{
  edv__tenant_filter flt;
  unsigned n = 0, j = 0;
  int result;

  memset(&flt, 0, sizeof(flt));
  flt.phase = -1;
  flt.limit = 1;
  if ((result = edv__store_tenant_list(f->store, &flt, count_tenant, &n, NULL,
                                       0, err)) ||
      (journal_too && (result = edv__store_journal_list(f->store, NULL, 0, 1,
                                                        count_one, &j, err))))
    return result;
  if (n || j)
    return edv_error_set(err, EDV_ECONFLICT,
                         "the store %s/edv.db is not empty (it holds %s): "
                         "use an empty state directory",
                         f->state_dir, n ? "tenant records" : "a journal");
  return 0;
}

/* The document's records, into the store (inside the caller's
 * transaction). */
static int im_doc(im *m, json_object *doc, unsigned *ntenants, edv_error *err)
{
  static const char *const keys[] = {"format",  "version",  "tenants",
                                     "journal", "releases", NULL};
  json_object *tenants, *journal, *releases;
  int64_t version, last = 0;
  char fmt[32];
  int result;

  if ((result = im_keys(doc, "state", keys, err)) ||
      (result = im_str(doc, "state", "format", fmt, sizeof(fmt), 0, err)))
    return result;
  if (strcmp(fmt, STATE_FORMAT) != 0)
    return edv_error_set(err, EDV_EINVAL, "format: '%s' is not '%s'", fmt,
                         STATE_FORMAT);
  if ((result =
           im_int(doc, "state", "version", 1, STATE_VERSION, &version, err)))
    return result;
  releases = json_object_object_get(doc, "releases");
  if (releases && !json_object_is_type(releases, json_type_array))
    return edv_error_set(err, EDV_EINVAL, "releases: not an array");
  for (size_t i = 0; releases && i < json_object_array_length(releases); i++)
    if ((result =
             im_release(m, json_object_array_get_idx(releases, i), i, err)))
      return result;
  tenants = json_object_object_get(doc, "tenants");
  if (!json_object_is_type(tenants, json_type_array))
    return edv_error_set(err, EDV_EINVAL, "tenants: not an array");
  for (size_t i = 0; i < json_object_array_length(tenants); i++)
    if ((result = im_tenant(m, json_object_array_get_idx(tenants, i), i, err)))
      return result;
  *ntenants = (unsigned)json_object_array_length(tenants);
  if (!json_object_object_get_ex(doc, "journal", &journal))
    return 0;
  if (!json_object_is_type(journal, json_type_array))
    return edv_error_set(err, EDV_EINVAL, "journal: not an array");
  for (size_t i = 0; i < json_object_array_length(journal); i++)
    if ((result = im_journal_line(m, json_object_array_get_idx(journal, i), i,
                                  &last, err)))
      return result;
  return 0;
}

int edv__state_import_doc(edv_store *st, const edv__tiers *tiers,
                          const char *domain, const char *supernet,
                          json_object *doc, unsigned *ntenants, edv_error *err)
{
  int64_t (*clock)(void *) = st->clock;
  void *clock_data = st->clock_data;
  im m = {st, tiers, domain, supernet, 0};
  unsigned n = 0;
  int result;

  if ((result = edv__store_begin(st, err)))
    return result;
  st->clock = im_clock;
  st->clock_data = &m.now;
  result = im_doc(&m, doc, &n, err);
  st->clock = clock;
  st->clock_data = clock_data;
  if (result) {
    edv__store_rollback(st, NULL);
    return result;
  }
  if ((result = edv__store_commit(st, err)))
    return result;
  if (ntenants)
    *ntenants = n;
  return 0;
}

int edv_fleet_state_import(edv_fleet *fleet, const char *path,
                           unsigned *ntenants, edv_error *err)
{
  json_object *doc;
  int result;

  if (!fleet || !path || !*path)
    return edv_error_set(err, EDV_EINVAL, "state import: no file");
  if ((result = edv__state_empty(fleet, 1, err)) ||
      (result = edv__state_read_json(path, &doc, err)))
    return result;
  result = edv__state_import_doc(
      fleet->store, fleet->tiers, edv__fleet_domain(fleet->machine),
      edv__fleet_supernet(fleet->machine, NULL), doc, ntenants, err);
  json_object_put(doc);
  return result;
}

int edv__state_read_json(const char *path, json_object **out, edv_error *err)
{
  FILE *fp = fopen(path, "re");
  char *buf;
  size_t n;
  json_tokener *tok;
  enum json_tokener_error je;

  if (!fp)
    return edv_error_set(err, EDV_EIO, "cannot open %s: %s", path,
                         strerror(errno));
  buf = malloc(STATE_MAX + 1);
  if (!buf) {
    fclose(fp);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  n = fread(buf, 1, STATE_MAX + 1, fp);
  fclose(fp);
  if (n > STATE_MAX) {
    free(buf);
    return edv_error_set(err, EDV_EINVAL, "%s: larger than %u MiB", path,
                         STATE_MAX >> 20);
  }
  tok = json_tokener_new();
  *out = tok ? json_tokener_parse_ex(tok, buf, (int)n) : NULL;
  je = tok ? json_tokener_get_error(tok) : json_tokener_error_parse_eof;
  if (*out && tok && json_tokener_get_parse_end(tok) != n &&
      strspn(buf + json_tokener_get_parse_end(tok), " \t\r\n") !=
          n - json_tokener_get_parse_end(tok))
    je = json_tokener_error_parse_unexpected;
  json_tokener_free(tok);
  free(buf);
  if (!*out || je != json_tokener_success) {
    json_object_put(*out);
    *out = NULL;
    return edv_error_set(err, EDV_EINVAL, "%s: not a JSON document (%s)", path,
                         json_tokener_error_desc(je));
  }
  return 0;
}

/* ---- snapshots ---------------------------------------------------------- */

/* A snapshot in a work thread: it owns copies of its paths, so the fleet
 * may close meanwhile (the loop runs the after-callback anyway). */
typedef struct snap {
  uv_work_t req;
  char src[600];
  char dst[1024];
  edv_error err;
  int result;
  edv_fleet_done_cb cb;
  void *data;
} snap;

static void snap_work(uv_work_t *req)
{
  snap *s = req->data;

  s->result = edv__store_snapshot_file(s->src, s->dst, &s->err);
}

static void snap_after(uv_work_t *req, int status)
{
  snap *s = req->data;

  if (status == UV_ECANCELED && !s->result)
    s->result = edv_error_set(&s->err, EDV_ECANCELED, "snapshot: cancelled");
  if (s->cb)
    s->cb(s->data, s->result ? &s->err : NULL);
  free(s);
}

int edv_fleet_snapshot(edv_fleet *f, const char *path, edv_fleet_done_cb cb,
                       void *data, edv_error *err)
{
  snap *s;

  if (!f || !path || !*path)
    return edv_error_set(err, EDV_EINVAL, "snapshot: no file");
  if (!(s = calloc(1, sizeof(*s))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (snprintf(s->src, sizeof(s->src), "%s/edv.db", f->state_dir) >=
          (int)sizeof(s->src) ||
      snprintf(s->dst, sizeof(s->dst), "%s", path) >= (int)sizeof(s->dst)) {
    free(s);
    return edv_error_set(err, EDV_EINVAL, "snapshot: path too long");
  }
  s->cb = cb;
  s->data = data;
  s->req.data = s;
  if (uv_queue_work(f->loop, &s->req, snap_work, snap_after) != 0) {
    free(s);
    return edv_error_set(err, EDV_EIO, "snapshot: cannot start a work thread");
  }
  return 0;
}

/* Snapshot names sort by time: "edv-YYYYMMDDTHHMMSSZ.db". */
static int snap_name(const char *name)
{
  size_t n = strlen(name);

  return n == strlen("edv-20261207T120000Z.db") &&
         strncmp(name, "edv-", 4) == 0 && strcmp(name + n - 4, "Z.db") == 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int edv_fleet_snapshot_name(const char *dir, int64_t time_ms, char *buf,
                            size_t size)
{
  time_t t = (time_t)(time_ms / 1000);
  struct tm tm;
  char stamp[32];

  if (!gmtime_r(&t, &tm) ||
      !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
    return EDV_EINVAL;
  return snprintf(buf, size, "%s/edv-%s.db", dir, stamp) < (int)size
             ? 0
             : EDV_EINVAL;
}

int edv_fleet_snapshot_prune(const char *dir, unsigned keep, edv_error *err)
{
  uv_fs_t req;
  uv_dirent_t ent;
  char **names = NULL, path[1024];
  size_t n = 0, cap = 0;
  int result = 0;

  if (uv_fs_scandir(NULL, &req, dir, 0, NULL) < 0) {
    uv_fs_req_cleanup(&req);
    return edv_error_set(err, EDV_EIO, "snapshot: cannot list %s", dir);
  }
  while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
    if (ent.type != UV_DIRENT_FILE || !snap_name(ent.name))
      continue;
    if (n == cap) {
      char **p = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*p));
      if (!p) {
        result = edv_error_set(err, EDV_ENOMEM, "out of memory");
        break;
      }
      names = p;
    }
    if (!(names[n] = strdup(ent.name))) {
      result = edv_error_set(err, EDV_ENOMEM, "out of memory");
      break;
    }
    n++;
  }
  uv_fs_req_cleanup(&req);
  qsort(names, n, sizeof(*names), cmp_str);
  for (size_t i = 0; !result && n > keep && i < n - keep; i++)
    if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) <
            (int)sizeof(path) &&
        unlink(path) != 0 && errno != ENOENT)
      result = edv_error_set(err, EDV_EIO, "snapshot: cannot remove %s: %s",
                             path, strerror(errno));
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return result;
}
