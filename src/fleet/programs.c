/*
 * programs.c - what a program needs beside an open fleet (edv/fleet.h,
 * "For programs"; edv/tiers.h): the tiers document and the offline checks
 * of a spec, a read-only look at the state directory's store, the
 * isolation audit, and the platform's phase.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "edv/tiers.h"
#include "fleet/fleet.h"
#include "tenant/audit.h"
#include "tenant/spec.h"

#define MOD "fleet"

/* ---- tiers and specs ------------------------------------------------- */

static json_object *tier_doc(const edv__tiers *tiers, const edv__tier *t)
{
  json_object *o = json_object_new_object();
  edv__tier_cost c;

  json_object_object_add(o, "name", json_object_new_string(t->name));
  json_object_object_add(o, "machine_type",
                         json_object_new_string(t->machine_type));
  json_object_object_add(o, "disk_gb", json_object_new_int(t->disk_gb));
  json_object_object_add(o, "disk_type", json_object_new_string(t->disk_type));
  json_object_object_add(o, "sql_tier", json_object_new_string(t->sql.tier));
  json_object_object_add(o, "sql_ha", json_object_new_boolean(t->sql.regional));
  json_object_object_add(o, "max_users", json_object_new_int(t->max_users));
  json_object_object_add(o, "backup",
                         json_object_new_string(t->backup_frequency));
  json_object_object_add(o, "retention_days",
                         json_object_new_int(t->retention_days));
  if (edv__tier_cost_estimate(tiers, t, 0, &c, NULL) == 0)
    json_object_object_add(o, "monthly_cost_usd", edv__view_money(c.total));
  return o;
}

int edv_tiers_load(const edv_config *cfg, const char *const *fallbacks,
                   json_object **out, edv_error *err)
{
  edv__tiers *tiers = NULL;
  json_object *arr;
  int rc;

  *out = NULL;
  if ((rc = edv__env_load_tiers(cfg, fallbacks, &tiers, err)) != 0)
    return rc;
  *out = json_object_new_object();
  arr = json_object_new_array();
  json_object_object_add(*out, "currency",
                         json_object_new_string(tiers->prices.currency));
  for (size_t i = 0; i < tiers->ntiers; i++)
    json_object_array_add(arr, tier_doc(tiers, &tiers->tiers[i]));
  json_object_object_add(*out, "tiers", arr);
  edv__tiers_free(tiers);
  return 0;
}

int edv_tenant_spec_check(json_object *spec, json_object *tiers,
                          const edv_config *cfg, edv_error *err)
{
  edv__tenant_spec s;
  json_object *list = json_object_object_get(tiers, "tiers");
  const char *domain = cfg ? edv_config_get(cfg, "domain") : NULL;
  int rc, known = !tiers;

  if ((rc = edv__spec_from_json(spec, &s, err)) != 0)
    return rc;
  for (size_t i = 0; !known && json_object_is_type(list, json_type_array) &&
                     i < json_object_array_length(list);
       i++) {
    const char *name = edv__jstr(json_object_array_get_idx(list, i), "name");
    known = name && strcmp(name, s.tier) == 0;
  }
  if (!known)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'tier' '%s' is not a known tier", s.tier);
  if ((rc = edv__spec_validate(&s, NULL, NULL, NULL, domain, err)) != 0)
    return rc;
  if (cfg && (rc = edv__spec_check_reserved(
                  &s, edv_config_get(cfg, "dns.reserved_labels"), err)) != 0)
    return rc;
  return 0;
}

/* ---- the state directory's tenants ---------------------------------- */

static int state_one(void *data, const edv__tenant_rec *rec)
{
  json_object *spec = json_tokener_parse(rec->spec_json), *o;

  if (rec->id[0] == '@') { /* the platform's pseudo-tenant */
    json_object_put(spec);
    return 0;
  }
  o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(rec->id));
  json_object_object_add(o, "region", edv__view_str(edv__jstr(spec, "region")));
  json_object_object_add(o, "phase",
                         json_object_new_string(edv__phase_name(rec->phase)));
  json_object_array_add(data, o);
  json_object_put(spec);
  return 0;
}

int edv_state_tenants(const char *dir, json_object **out, edv_error *err)
{
  edv__tenant_filter f = {NULL, -1, NULL, 1000};
  char path[600], next[EDV_STORE_ID_SZ] = "";
  edv_store *st = NULL;
  int rc = 0;

  *out = json_object_new_array();
  if (snprintf(path, sizeof(path), "%s/edv.db", dir) >= (int)sizeof(path))
    return edv_error_set(err, EDV_EINVAL, "state_dir: path too long");
  if (access(path, R_OK) != 0)
    return 0; /* no store: no tenant */
  if ((rc = edv__env_open_store(dir, &st, err)) != 0)
    return rc;
  do {
    f.after = next;
    rc = edv__store_tenant_list(st, &f, state_one, *out, next, sizeof(next),
                                err);
  } while (rc == 0 && next[0]);
  edv__store_close(st);
  return rc;
}

/* ---- the audit --------------------------------------------------------- */

typedef struct audit_call {
  edv_fleet_cb cb;
  void *data;
} audit_call;

static void on_audit(void *data, json_object *report, const edv_error *err)
{
  audit_call a = *(audit_call *)data;

  free(data);
  a.cb(a.data, err ? NULL : report, err);
  json_object_put(report);
}

int edv_network_audit(edv_engine *engine, edv_fleet_cb cb, void *data,
                      edv_error *err)
{
  audit_call *a = malloc(sizeof(*a));

  if (!a)
    return edv_error_set(err, EDV_ENOMEM, "audit: out of memory");
  a->cb = cb;
  a->data = data;
  if (edv__audit_run(engine, edv_engine_project(engine), 0, on_audit, a)) {
    free(a);
    return edv_error_set(err, EDV_ENOMEM, "audit: out of memory");
  }
  return 0;
}

/* ---- the platform ---------------------------------------------------- */

const char *edv__fleet_platform_phase(edv_fleet *f)
{
  edv__tenant_rec rec;

  return edv__store_tenant_get(f->store, EDV_PLATFORM_ID, &rec, NULL) == 0
             ? edv__phase_name(rec.phase)
             : "MISSING";
}
