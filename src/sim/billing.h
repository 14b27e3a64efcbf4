/*
 * billing.h - the simulator's price table (billing.c), shared by the Cloud
 * Billing Catalog it serves and by anything that prices simulated usage.
 */
#ifndef EDV_SIM_BILLING_H
#define EDV_SIM_BILLING_H

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

#endif /* EDV_SIM_BILLING_H */
