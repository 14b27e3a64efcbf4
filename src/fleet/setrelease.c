/*
 * setrelease.c - a tenant's release change (edv_tenant_set_release): the
 * change recorded (tenant/vmswap.h), then the tenant driven up, whose
 * "vm_release" step replaces its VM with one of the new release without
 * downtime, or rolls back.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "fleet/dayops.h"
#include "fleet/fleet.h"
#include "fleet/tenants.h"

#define MOD "fleet"

/* release.health_timeout_s (default 10 minutes), in ms. */
static uint64_t health_timeout_ms(const edv_fleet *f)
{
  return (uint64_t)(f->cfg ? edv_config_get_int(f->cfg,
                                                "release.health_timeout_s", 600)
                           : 600) *
         1000u;
}

int edv_tenant_set_release(edv_fleet *f, const char *id, const char *version,
                           unsigned flags, edv_fleet_cb cb, void *data,
                           edv_error *err)
{
  edv__tenant_rec rec;
  edv__vmgen g;
  char actor[EDV_STORE_SMALL_SZ], what[2 * EDV_STORE_VERSION_SZ + 8];
  int result;

  if (!cb)
    return edv_error_set(err, EDV_EINVAL, "a callback is needed");
  if (!version || !*version)
    return edv_error_set(err, EDV_EINVAL, "field 'release' is required");
  if (strlen(version) >= EDV_STORE_VERSION_SZ)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'release': longer than %d characters",
                         EDV_STORE_VERSION_SZ - 1);
  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0 ||
      (result = edv__vmgen_get(f->store, rec.id, &g, err)) != 0)
    return result;
  if (edv__fleet_run_find(f, rec.id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' is being driven now; retry once its "
                         "run ends",
                         rec.id);
  if (edv__dayops_busy(f, rec.id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' has a backup or restore running; "
                         "change its release once that ends",
                         rec.id);
  if (edv__fleet_move_target(f->machine, rec.id, what, sizeof(what)) == 0)
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' is moving to %s; change its release "
                         "once it is there",
                         rec.id, what);
  /* The same change pending (a run cut short): it goes on. */
  if (!(g.pending && strcmp(g.to, version) == 0)) {
    if ((result = edv__fleet_set_release(f->machine, rec.id, version,
                                         health_timeout_ms(f), err)) != 0)
      return result;
    snprintf(what, sizeof(what), "%s -> %s",
             rec.release[0] ? rec.release : "none", version);
    edv__tenants_actor(f, actor, sizeof(actor));
    edv__tenants_journal(f, actor, rec.id, "release", what, NULL);
    EDV_LOG_I(MOD, "tenant=%s: release %s", rec.id, what);
  }
  return edv__tenants_drive(f, rec.id, EDV_DIR_UP, flags, cb, data, err);
}
