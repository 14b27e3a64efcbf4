/*
 * billing.h - the simulator's price table (billing.c), shared by the Cloud
 * Billing Catalog it serves and by anything that prices simulated usage.
 */
#ifndef EDV_SIM_BILLING_H
#define EDV_SIM_BILLING_H

#include <stdint.h>

#include <json-c/json.h>

#include "sim/sim.h"

/* The simulated billing account the project is linked to. */
#define SIM_BILLING_ACCOUNT "000000-5EDV00-000000"

/* One SKU of the price table. */
typedef struct sim_sku {
  const char *key;         /* ours: "e2-core", "pd-balanced", ... */
  int service;             /* index into the services table */
  const char *sku_id;      /* "XXXX-XXXX-XXXX" (the simulator's own ids) */
  const char *description; /* Google-style: "E2 Instance Core running ..." */
  const char *family;      /* category.resourceFamily */
  const char *group;       /* category.resourceGroup */
  const char *unit;        /* pricingExpression.usageUnit: "h", "GiBy.mo" */
  const char *unit_desc;   /* usageUnitDescription */
  double usd;              /* list price per usage unit, USD */
} sim_sku;

/* The SKU called key, or NULL. */
const sim_sku *sim_billing_sku(const char *key);

/* Google's service id of the SKU's service ("6F81-5844-456A"). */
const char *sim_billing_service_id(const sim_sku *sku);

/* The service's display name ("Compute Engine"). */
const char *sim_billing_service_name(const sim_sku *sku);

/* --- the usage ledger (billing_export.c) --- */

/*
 * Records what the resource called name uses now (SKU quantities and
 * labels, read from the store; a resource no longer there uses nothing),
 * from the simulated now on; a VM's note covers its disks. ops.c calls it
 * at every operation's end with the operation's target; call it yourself
 * after a change of a billed resource that no operation targets.
 * Unchanged usage adds nothing.
 */
void sim_billing_note(sim *s, const char *name);

/* One ledger row: a resource's use of a SKU over part of a period, in the
 * SKU's usage unit, and its cost in USD at the Catalog's price. */
typedef void (*sim_billing_row_fn)(void *data, const char *resource,
                                   json_object *labels, const sim_sku *sku,
                                   double amount, double cost);

/* Calls fn for each ledger row of [from_ms, to_ms), cut at the simulated
 * now. */
void sim_billing_usage(sim *s, uint64_t from_ms, uint64_t to_ms,
                       sim_billing_row_fn fn, void *data);

/* The UTC bounds of invoice month "YYYYMM"; 0, or -1 when malformed. */
int sim_billing_month(const char *yyyymm, uint64_t *from, uint64_t *to);

#endif /* EDV_SIM_BILLING_H */
