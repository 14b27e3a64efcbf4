/*
 * edv/tiers.h - the subscription tiers (tiers.json, docs/config.md) and the
 * offline checks of a tenant's spec, without a fleet: what a program shows
 * and refuses before it starts an engine or opens the state.
 */
#ifndef EDV_TIERS_H
#define EDV_TIERS_H

#include <json-c/json.h>

#include "edv/config.h"
#include "edv/error.h"
#include "edv/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Loads the tiers file a fleet opened with `cfg` and `fallbacks` would
 * load (edv_fleet_options: config tiers_file, else ./tiers.json, else the
 * first readable fallback) and answers in *out (a new object) the tiers
 * document: {"currency", "tiers": [{name, machine_type, disk_gb,
 * disk_type, sql_tier, sql_ha, max_users, backup, retention_days,
 * monthly_cost_usd}]} in the file's order (the monthly
 * list-price estimate of one tenant, rounded to cents; absent when a price
 * is missing). An error names the file, the tier and the field.
 */
EDV_EXPORT int edv_tiers_load(const edv_config *cfg,
                              const char *const *fallbacks, json_object **out,
                              edv_error *err);

/*
 * Checks a spec as edv_tenant_create() would before calling the cloud:
 * the form of each field of {id, slug, display_name, tier, region[,
 * ops_ssh]} (no other key); with `tiers` (edv_tiers_load's document), the
 * tier is one of them; with `cfg`, the hostnames against its domain and
 * dns.reserved_labels. 0, or EDV_EINVAL with a message naming the field
 * ("field 'slug' ...").
 */
EDV_EXPORT int edv_tenant_spec_check(json_object *spec, json_object *tiers,
                                     const edv_config *cfg, edv_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EDV_TIERS_H */
