/*
 * store.c - the backend-independent entry points of the store.
 *
 * Each public function checks its arguments and the magic field, then calls
 * the backend through its table (the curl pattern: thin entry points,
 * static implementations).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static const char *const store_phases[EDV_PHASE__COUNT] = {
    "PENDING", "PROVISIONING", "READY",      "UPDATING",  "DEPROVISIONING",
    "DELETED", "FAILED",       "SUSPENDING", "SUSPENDED",
};

static const char *const store_step_states[EDV_STEP__COUNT] = {
    "PENDING", "INTENT", "WAITING", "DONE", "FAILED",
};

const char *edv__phase_name(edv_tenant_phase phase)
{
  return (unsigned)phase < EDV_PHASE__COUNT ? store_phases[phase] : NULL;
}

int edv__phase_parse(const char *name)
{
  int i;

  for (i = 0; name && i < EDV_PHASE__COUNT; i++)
    if (strcmp(store_phases[i], name) == 0)
      return i;
  return -1;
}

const char *edv__step_state_name(edv_step_state state)
{
  return (unsigned)state < EDV_STEP__COUNT ? store_step_states[state] : NULL;
}

int edv__step_state_parse(const char *name)
{
  int i;

  for (i = 0; name && i < EDV_STEP__COUNT; i++)
    if (strcmp(store_step_states[i], name) == 0)
      return i;
  return -1;
}

int64_t edv__store_wall_clock(void *data)
{
  struct timespec ts;

  (void)data;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The guard of every entry point. */
#define STORE_CHECK(st, err)                                                   \
  do {                                                                         \
    if (!(st) || (st)->magic != EDV_STORE_MAGIC)                               \
      return edv_error_set((err), EDV_EINVAL, "store is not open");            \
  } while (0)

#define STORE_ARG(cond, err, what)                                             \
  do {                                                                         \
    if (!(cond))                                                               \
      return edv_error_set((err), EDV_EINVAL, "store: %s", (what));            \
  } while (0)

int64_t edv__store_now(edv_store *st)
{
  return st->clock(st->clock_data);
}

const char *edv__store_backend(const edv_store *st)
{
  return st && st->magic == EDV_STORE_MAGIC ? st->ops->name : NULL;
}

void edv__store_close(edv_store *st)
{
  if (!st || st->magic != EDV_STORE_MAGIC)
    return;
  st->magic = 0;
  st->ops->close(st);
}

int edv__store_schema_version(edv_store *st, int *version, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(version, err, "no version output");
  return st->ops->schema_version(st, version, err);
}

int edv__store_begin(edv_store *st, edv_error *err)
{
  STORE_CHECK(st, err);
  return st->ops->begin(st, err);
}

int edv__store_commit(edv_store *st, edv_error *err)
{
  STORE_CHECK(st, err);
  return st->ops->commit(st, err);
}

int edv__store_rollback(edv_store *st, edv_error *err)
{
  STORE_CHECK(st, err);
  return st->ops->rollback(st, err);
}

int edv__store_tenant_put(edv_store *st, const edv__tenant_rec *rec,
                          edv__put_mode mode, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(rec && rec->id[0] && rec->slug[0] && rec->tier[0], err,
            "tenant record needs id, slug and tier");
  STORE_ARG(edv__phase_name(rec->phase), err, "bad tenant phase");
  STORE_ARG(mode <= EDV_PUT_UPDATE, err, "bad put mode");
  return st->ops->tenant_put(st, rec, mode, err);
}

int edv__store_tenant_get(edv_store *st, const char *id, edv__tenant_rec *out,
                          edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(id && out, err, "tenant get needs an id and an output");
  return st->ops->tenant_get(st, id, out, err);
}

int edv__store_tenant_list(edv_store *st, const edv__tenant_filter *filter,
                           edv__tenant_fn fn, void *data, char *next_after,
                           size_t next_size, edv_error *err)
{
  static const edv__tenant_filter all = {NULL, -1, NULL, 0};
  char after[EDV_STORE_ID_SZ];
  edv__tenant_filter f;

  STORE_CHECK(st, err);
  STORE_ARG(fn, err, "tenant list needs a callback");
  STORE_ARG(!next_after || next_size >= EDV_STORE_ID_SZ, err,
            "tenant list: next_after buffer too small");
  if (!filter)
    filter = &all;
  STORE_ARG(filter->phase >= -1 && filter->phase < EDV_PHASE__COUNT, err,
            "tenant list: bad phase filter");
  /* The caller may pass the same buffer as filter->after and next_after
   * (the natural paging loop): copy the cursor before clearing the output. */
  f = *filter;
  snprintf(after, sizeof(after), "%s", f.after ? f.after : "");
  f.after = after;
  if (next_after)
    next_after[0] = '\0';
  return st->ops->tenant_list(st, &f, fn, data, next_after, next_size, err);
}

int edv__store_tenant_delete(edv_store *st, const char *id, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(id, err, "tenant delete needs an id");
  return st->ops->tenant_delete(st, id, err);
}

int edv__store_tenant_next_generation(edv_store *st, const char *id,
                                      uint32_t *generation, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(id && generation, err, "next generation needs an id");
  return st->ops->tenant_next_generation(st, id, generation, err);
}

int edv__store_tenant_counts(edv_store *st, edv__tenant_count_fn fn, void *data,
                             edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(fn, err, "tenant counts needs a callback");
  return st->ops->tenant_counts(st, fn, data, err);
}

int edv__store_step_put(edv_store *st, const edv__step_rec *rec, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(rec && rec->tenant[0] && rec->step[0], err,
            "step record needs tenant and step");
  STORE_ARG(edv__step_state_name(rec->state), err, "bad step state");
  return st->ops->step_put(st, rec, err);
}

int edv__store_step_get(edv_store *st, const char *tenant, const char *step,
                        edv__step_rec *out, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && step && out, err, "step get needs tenant and step");
  return st->ops->step_get(st, tenant, step, out, err);
}

int edv__store_step_list(edv_store *st, const char *tenant, edv__step_fn fn,
                         void *data, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && fn, err, "step list needs tenant and callback");
  return st->ops->step_list(st, tenant, fn, data, err);
}

int edv__store_step_delete_all(edv_store *st, const char *tenant,
                               edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant, err, "step delete needs a tenant");
  return st->ops->step_delete_all(st, tenant, err);
}

int edv__store_journal_append(edv_store *st, const edv__journal_rec *rec,
                              int64_t *seq, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(rec && rec->tenant[0] && rec->event[0], err,
            "journal entry needs tenant and event");
  return st->ops->journal_append(st, rec, seq, err);
}

int edv__store_journal_list(edv_store *st, const char *tenant,
                            int64_t after_seq, unsigned limit,
                            edv__journal_fn fn, void *data, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(fn, err, "journal list needs a callback");
  return st->ops->journal_list(st, tenant, after_seq, limit, fn, data, err);
}

int edv__store_subnet_allocate(edv_store *st, const char *tenant,
                               const edv_cidr *supernet, unsigned prefix,
                               const edv_cidr *reserved, size_t nreserved,
                               edv_cidr *out, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && tenant[0] && supernet && out, err,
            "subnet allocate needs tenant, supernet and output");
  STORE_ARG(!nreserved || reserved, err, "subnet allocate: reserved list");
  STORE_ARG(prefix >= supernet->prefix && prefix <= 32, err,
            "subnet allocate: prefix outside the supernet");
  return st->ops->subnet_allocate(st, tenant, supernet, prefix, reserved,
                                  nreserved, out, err);
}

int edv__store_subnet_get(edv_store *st, const char *tenant, edv_cidr *out,
                          edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && out, err, "subnet get needs tenant and output");
  return st->ops->subnet_get(st, tenant, out, err);
}

int edv__store_subnet_release(edv_store *st, const char *tenant, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant, err, "subnet release needs a tenant");
  return st->ops->subnet_release(st, tenant, err);
}

int edv__store_subnet_count(edv_store *st, size_t *count, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(count, err, "subnet count needs an output");
  return st->ops->subnet_count(st, count, err);
}

int edv__store_lease_acquire(edv_store *st, const char *tenant,
                             const char *holder, int64_t ttl_ms,
                             edv__lease_rec *current, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && tenant[0] && holder && holder[0] && ttl_ms > 0, err,
            "lease acquire needs tenant, holder and a positive ttl");
  STORE_ARG(strlen(holder) < EDV_STORE_HOLDER_SZ, err,
            "lease holder name too long");
  return st->ops->lease_acquire(st, tenant, holder, ttl_ms, current, err);
}

int edv__store_lease_renew(edv_store *st, const char *tenant,
                           const char *holder, int64_t ttl_ms, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && holder && ttl_ms > 0, err,
            "lease renew needs tenant, holder and a positive ttl");
  return st->ops->lease_renew(st, tenant, holder, ttl_ms, err);
}

int edv__store_lease_release(edv_store *st, const char *tenant,
                             const char *holder, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && holder, err, "lease release needs tenant and holder");
  return st->ops->lease_release(st, tenant, holder, err);
}

int edv__store_lease_get(edv_store *st, const char *tenant, edv__lease_rec *out,
                         edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(tenant && out, err, "lease get needs tenant and output");
  return st->ops->lease_get(st, tenant, out, err);
}

int edv__store_idem_check(edv_store *st, const char *key, const char *hash,
                          const char *tenant, char *tenant_out,
                          size_t tenant_size, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(key && key[0] && hash && hash[0] && tenant, err,
            "idempotency check needs key, hash and tenant");
  STORE_ARG(strlen(key) < EDV_STORE_IDEMKEY_SZ, err,
            "idempotency key too long");
  return st->ops->idem_check(st, key, hash, tenant, tenant_out, tenant_size,
                             err);
}

int edv__store_idem_prune(edv_store *st, int64_t older_than_ms, edv_error *err)
{
  STORE_CHECK(st, err);
  return st->ops->idem_prune(st, older_than_ms, err);
}

int edv__store_release_put(edv_store *st, const edv__release_rec *rec,
                           edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(rec && rec->version[0] && rec->image[0], err,
            "release put needs a version and an image");
  return st->ops->release_put(st, rec, err);
}

int edv__store_release_get(edv_store *st, const char *version,
                           edv__release_rec *out, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(version && out, err, "release get needs version and output");
  return st->ops->release_get(st, version, out, err);
}

int edv__store_release_list(edv_store *st, edv__release_fn fn, void *data,
                            edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(fn, err, "release list needs a callback");
  return st->ops->release_list(st, fn, data, err);
}

static int store_release_last(void *data, const edv__release_rec *rec)
{
  *(edv__release_rec *)data = *rec;
  return 0;
}

int edv__store_release_current(edv_store *st, edv__release_rec *out,
                               edv_error *err)
{
  int rc;

  STORE_ARG(out, err, "release current needs an output");
  out->version[0] = '\0';
  if ((rc = edv__store_release_list(st, store_release_last, out, err)))
    return rc;
  if (!out->version[0])
    return edv_error_set(err, EDV_ENOTFOUND, "no release is defined");
  return 0;
}

int edv__store_update_put(edv_store *st, const edv__update_rec *rec,
                          edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(rec && rec->id[0] && rec->state[0], err,
            "update put needs an id and a state");
  return st->ops->update_put(st, rec, err);
}

int edv__store_update_get(edv_store *st, const char *id, edv__update_rec *out,
                          edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(id && out, err, "update get needs an id and an output");
  return st->ops->update_get(st, id, out, err);
}

int edv__store_update_list(edv_store *st, edv__update_fn fn, void *data,
                           edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(fn, err, "update list needs a callback");
  return st->ops->update_list(st, fn, data, err);
}

int edv__store_update_tenant_put(edv_store *st,
                                 const edv__update_tenant_rec *rec,
                                 edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(rec && rec->update_id[0] && rec->tenant[0] && rec->state[0], err,
            "update tenant put needs an update, a tenant and a state");
  return st->ops->update_tenant_put(st, rec, err);
}

int edv__store_update_tenants(edv_store *st, const char *id,
                              edv__update_tenant_fn fn, void *data,
                              edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(id && fn, err, "update tenants needs an id and a callback");
  return st->ops->update_tenants(st, id, fn, data, err);
}

int edv__store_incident_put(edv_store *st, const edv__incident_rec *rec,
                            edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(rec && rec->id[0] && rec->state[0], err,
            "incident put needs an id and a state");
  return st->ops->incident_put(st, rec, err);
}

int edv__store_incident_get(edv_store *st, const char *id,
                            edv__incident_rec *out, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(id && out, err, "incident get needs an id and an output");
  return st->ops->incident_get(st, id, out, err);
}

int edv__store_incident_list(edv_store *st, const edv__incident_filter *filter,
                             edv__incident_fn fn, void *data, int *more,
                             edv_error *err)
{
  edv__incident_filter all = {NULL, NULL, 0, NULL, 0};

  STORE_CHECK(st, err);
  STORE_ARG(fn, err, "incident list needs a callback");
  if (more)
    *more = 0;
  return st->ops->incident_list(st, filter ? filter : &all, fn, data, more,
                                err);
}

int edv__store_incident_open_counts(edv_store *st, edv__incident_count_fn fn,
                                    void *data, edv_error *err)
{
  STORE_CHECK(st, err);
  STORE_ARG(fn, err, "incident counts needs a callback");
  return st->ops->incident_open_counts(st, fn, data, err);
}

int edv__store_incident_prune(edv_store *st, int64_t closed_before_ms,
                              unsigned max_rows, edv_error *err)
{
  STORE_CHECK(st, err);
  return st->ops->incident_prune(st, closed_before_ms, max_rows, err);
}
