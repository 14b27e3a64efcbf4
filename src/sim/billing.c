/*
 * billing.c - Cloud Billing v1 (cloudbilling.googleapis.com): the Catalog
 * (services.list, services.skus.list) with a price table for the SKUs a
 * tenant uses, the one simulated billing account (billingAccounts.get)
 * and the project's link to it (projects.getBillingInfo). All read-only
 * and synchronous, as in Google's API.
 *
 * The price table is list prices in USD; one SKU serves every region of
 * the seeded geography (serviceRegions lists them), where Google has one
 * SKU per region. E2 is priced by vCPU-hour and GB-hour as Google does:
 * the core and RAM rates below give exactly the machine-type prices
 * e2-small $0.0167529/h (0.5 vCPU, 2 GB billed), e2-medium $0.0335057/h
 * (1 vCPU, 4 GB), e2-standard-2 $0.0670114/h, e2-standard-4 $0.1340228/h
 * (to 1e-7). SKU ids are the simulator's own; the service ids are
 * Google's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/billing.h"
#include "sim/jsonutil.h"
#include "sim/modules.h"
#include "sim/sim.h"

/* The services the fleet uses, with Google's service ids. */
static const struct {
  const char *id, *name;
} billing_services[] = {
    {"6F81-5844-456A", "Compute Engine"},   {"9662-B51E-5089", "Cloud SQL"},
    {"E505-1604-58F8", "Networking"},       {"FA26-5236-A704", "Cloud DNS"},
    {"58CD-E7C3-72CA", "Cloud Monitoring"},
};

enum { SVC_COMPUTE, SVC_SQL, SVC_NETWORK, SVC_DNS, SVC_MONITORING };

#define N_SERVICES (sizeof(billing_services) / sizeof(*billing_services))

/* The seeded geography (compute.c's regions). */
static const char *const billing_regions[] = {
    "us-central1",  "us-east1",        "us-west1",      "europe-west1",
    "europe-west2", "asia-southeast1", "africa-south1",
};

#define GIB_MO      "GiBy.mo"
#define GIB_MO_DESC "gibibyte month"

static const sim_sku billing_skus[] = {
    {"e2-core", SVC_COMPUTE, "CF4E-A0C7-E3BF",
     "E2 Instance Core running in Americas", "Compute", "CPU", "h", "hour",
     0.0218137},
    {"e2-ram", SVC_COMPUTE, "F449-33EC-A5EF",
     "E2 Instance Ram running in Americas", "Compute", "RAM", "GiBy.h",
     "gibibyte hour", 0.0029230},
    {"pd-balanced", SVC_COMPUTE, "4C5D-4E6E-5B0A", "Balanced PD Capacity",
     "Storage", "SSD", GIB_MO, GIB_MO_DESC, 0.10},
    {"pd-ssd", SVC_COMPUTE, "B188-61DD-52E4", "SSD backed PD Capacity",
     "Storage", "SSD", GIB_MO, GIB_MO_DESC, 0.17},
    {"pd-standard", SVC_COMPUTE, "D973-5D65-BAB2", "Storage PD Capacity",
     "Storage", "PDStandard", GIB_MO, GIB_MO_DESC, 0.04},
    {"snapshot", SVC_COMPUTE, "8E74-4F0B-1E5C", "Storage PD Snapshot",
     "Storage", "PDSnapshot", GIB_MO, GIB_MO_DESC, 0.05},
    {"external-ip", SVC_COMPUTE, "3C1E-9B8D-2F6A",
     "External IP Charge on a Standard VM", "Network", "IpAddress", "h", "hour",
     0.005},
    {"sql-cpu", SVC_SQL, "9B2A-5F1C-7D3E",
     "Cloud SQL for PostgreSQL: Zonal - vCPU", "ApplicationServices", "SQL",
     "h", "hour", 0.0413},
    {"sql-cpu-ha", SVC_SQL, "9B2A-5F1C-7D3F",
     "Cloud SQL for PostgreSQL: Regional - vCPU", "ApplicationServices", "SQL",
     "h", "hour", 0.0826},
    {"sql-ram", SVC_SQL, "6A4C-8E2B-1D90",
     "Cloud SQL for PostgreSQL: Zonal - RAM", "ApplicationServices", "SQL",
     "GiBy.h", "gibibyte hour", 0.007},
    {"sql-ram-ha", SVC_SQL, "6A4C-8E2B-1D91",
     "Cloud SQL for PostgreSQL: Regional - RAM", "ApplicationServices", "SQL",
     "GiBy.h", "gibibyte hour", 0.014},
    {"sql-storage", SVC_SQL, "2F7B-3C9A-4E10",
     "Cloud SQL for PostgreSQL: Zonal - Standard storage",
     "ApplicationServices", "SQL", GIB_MO, GIB_MO_DESC, 0.17},
    {"sql-storage-ha", SVC_SQL, "2F7B-3C9A-4E11",
     "Cloud SQL for PostgreSQL: Regional - Standard storage",
     "ApplicationServices", "SQL", GIB_MO, GIB_MO_DESC, 0.34},
    {"sql-backup", SVC_SQL, "7D1E-6B4F-8A22",
     "Cloud SQL for PostgreSQL: Backups", "ApplicationServices", "SQL", GIB_MO,
     GIB_MO_DESC, 0.08},
    {"forwarding-rule", SVC_NETWORK, "5E3D-0C2B-9F71",
     "Network Load Balancing: Forwarding Rule Minimum Service Charge",
     "Network", "LoadBalancing", "h", "hour", 0.01},
    {"dns-zone", SVC_DNS, "1A6F-4D8E-C033", "ManagedZone", "Network", "DNS",
     "mo", "month", 0.20},
};

#define N_SKUS (sizeof(billing_skus) / sizeof(*billing_skus))

const sim_sku *sim_billing_sku(const char *key)
{
  for (size_t i = 0; i < N_SKUS; i++)
    if (strcmp(billing_skus[i].key, key) == 0)
      return &billing_skus[i];
  return NULL;
}

const char *sim_billing_service_id(const sim_sku *sku)
{
  return billing_services[sku->service].id;
}

const char *sim_billing_service_name(const sim_sku *sku)
{
  return billing_services[sku->service].name;
}

/* --- paging ------------------------------------------------------------ */

/* pageSize and pageToken (our token is the decimal offset). 0, or -1 with
 * the 400 filled naming the parameter. */
static int billing_page(sim_req *req, sim_resp *resp, size_t total,
                        size_t *from, size_t *size)
{
  const char *ps = sim_query(req, "pageSize"),
             *pt = sim_query(req, "pageToken");
  char *end;
  long v;

  *from = 0;
  *size = 5000; /* Google's maximum page of SKUs */
  if (ps && *ps) {
    v = strtol(ps, &end, 10);
    if (*end || v < 0) {
      sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                  "Invalid value at 'page_size' (TYPE_INT32), \"%s\"", ps);
      return -1;
    }
    if (v > 0 && v < 5000)
      *size = (size_t)v;
  }
  if (pt && *pt) {
    v = strtol(pt, &end, 10);
    if (*end || v <= 0 || (size_t)v > total) {
      sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Invalid page_token: \"%s\"",
                  pt);
      return -1;
    }
    *from = (size_t)v;
  }
  return 0;
}

static void billing_next(json_object *o, size_t next, size_t total)
{
  char buf[32];

  snprintf(buf, sizeof(buf), "%zu", next);
  json_object_object_add(o, "nextPageToken",
                         json_object_new_string(next < total ? buf : ""));
}

/* --- services.list ----------------------------------------------------- */

static int billing_services_list(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o, *arr;
  size_t from, size, i;
  char name[64];

  (void)s;
  if (billing_page(req, resp, N_SERVICES, &from, &size) < 0)
    return SIM_DONE;
  o = json_object_new_object();
  arr = json_object_new_array();
  for (i = from; i < N_SERVICES && i < from + size; i++) {
    json_object *svc = json_object_new_object();

    snprintf(name, sizeof(name), "services/%s", billing_services[i].id);
    json_object_object_add(svc, "name", json_object_new_string(name));
    json_object_object_add(svc, "serviceId",
                           json_object_new_string(billing_services[i].id));
    json_object_object_add(svc, "displayName",
                           json_object_new_string(billing_services[i].name));
    json_object_object_add(svc, "businessEntityName",
                           json_object_new_string("businessEntities/GCP"));
    json_object_array_add(arr, svc);
  }
  json_object_object_add(o, "services", arr);
  billing_next(o, i, N_SERVICES);
  return sim_resp_json(resp, 200, o);
}

/* --- services.skus.list ------------------------------------------------ */

/* The base unit of a usage unit, and how many of them one usage unit is
 * (a month is 730 hours, as Google's GiBy.mo conversion uses). */
static void billing_base(const char *unit, const char **base, const char **desc,
                         double *factor)
{
  const double gib = 1073741824.0, month_s = 730.0 * 3600.0;

  if (strcmp(unit, "h") == 0) {
    *base = "s", *desc = "second", *factor = 3600.0;
  } else if (strcmp(unit, "GiBy.h") == 0) {
    *base = "By.s", *desc = "byte second", *factor = gib * 3600.0;
  } else if (strcmp(unit, GIB_MO) == 0) {
    *base = "By.s", *desc = "byte second", *factor = gib * month_s;
  } else {
    *base = "mo", *desc = "month", *factor = 1.0;
  }
}

static json_object *billing_money(double usd)
{
  json_object *m = json_object_new_object();
  long long nanos = (long long)(usd * 1e9 + 0.5);
  char units[32];

  snprintf(units, sizeof(units), "%lld", nanos / 1000000000LL);
  json_object_object_add(m, "currencyCode", json_object_new_string("USD"));
  json_object_object_add(m, "units", json_object_new_string(units));
  json_object_object_add(m, "nanos",
                         json_object_new_int((int)(nanos % 1000000000LL)));
  return m;
}

static json_object *billing_sku_json(const sim_sku *k, const char *now)
{
  json_object *o = json_object_new_object(), *cat = json_object_new_object();
  json_object *regions = json_object_new_array(), *geo;
  json_object *pi = json_object_new_object(), *pe = json_object_new_object();
  json_object *tier = json_object_new_object(), *tiers, *pis;
  const char *base, *base_desc;
  double factor;
  char name[96];
  int global = k->service == SVC_DNS || k->service == SVC_MONITORING;

  snprintf(name, sizeof(name), "services/%s/skus/%s",
           billing_services[k->service].id, k->sku_id);
  json_object_object_add(o, "name", json_object_new_string(name));
  json_object_object_add(o, "skuId", json_object_new_string(k->sku_id));
  json_object_object_add(o, "description",
                         json_object_new_string(k->description));
  json_object_object_add(
      cat, "serviceDisplayName",
      json_object_new_string(billing_services[k->service].name));
  json_object_object_add(cat, "resourceFamily",
                         json_object_new_string(k->family));
  json_object_object_add(cat, "resourceGroup",
                         json_object_new_string(k->group));
  json_object_object_add(cat, "usageType", json_object_new_string("OnDemand"));
  json_object_object_add(o, "category", cat);
  if (global)
    json_object_array_add(regions, json_object_new_string("global"));
  else
    for (size_t i = 0; i < sizeof(billing_regions) / sizeof(*billing_regions);
         i++)
      json_object_array_add(regions,
                            json_object_new_string(billing_regions[i]));
  geo = json_object_new_object();
  json_object_object_add(
      geo, "type",
      json_object_new_string(global ? "GLOBAL" : "MULTI_REGIONAL"));
  json_object_object_add(geo, "regions",
                         global ? json_object_new_array() : copy(regions));
  json_object_object_add(o, "serviceRegions", regions);
  json_object_object_add(o, "geoTaxonomy", geo);
  billing_base(k->unit, &base, &base_desc, &factor);
  json_object_object_add(pe, "usageUnit", json_object_new_string(k->unit));
  json_object_object_add(pe, "usageUnitDescription",
                         json_object_new_string(k->unit_desc));
  json_object_object_add(pe, "baseUnit", json_object_new_string(base));
  json_object_object_add(pe, "baseUnitDescription",
                         json_object_new_string(base_desc));
  json_object_object_add(pe, "baseUnitConversionFactor",
                         json_object_new_double(factor));
  json_object_object_add(pe, "displayQuantity", json_object_new_double(1));
  json_object_object_add(tier, "startUsageAmount", json_object_new_double(0));
  json_object_object_add(tier, "unitPrice", billing_money(k->usd));
  tiers = json_object_new_array();
  json_object_array_add(tiers, tier);
  json_object_object_add(pe, "tieredRates", tiers);
  json_object_object_add(pi, "summary", json_object_new_string(""));
  json_object_object_add(pi, "pricingExpression", pe);
  json_object_object_add(pi, "currencyConversionRate",
                         json_object_new_double(1));
  json_object_object_add(pi, "effectiveTime", json_object_new_string(now));
  pis = json_object_new_array();
  json_object_array_add(pis, pi);
  json_object_object_add(o, "pricingInfo", pis);
  json_object_object_add(o, "serviceProviderName",
                         json_object_new_string("Google"));
  return o;
}

static int billing_skus_list(sim *s, sim_req *req, sim_resp *resp)
{
  const char *svc = sim_param(req, "servicesId");
  const char *cur = sim_query(req, "currencyCode");
  const sim_sku *mine[N_SKUS];
  size_t n = 0, from, size, i;
  int known = -1;
  json_object *o, *arr;
  char now[40];

  for (i = 0; i < N_SERVICES; i++)
    if (strcmp(billing_services[i].id, svc) == 0)
      known = (int)i;
  if (known < 0)
    return sim_err_rpc(resp, 404, "NOT_FOUND", "Service %s not found.", svc);
  if (cur && *cur && strcmp(cur, "USD") != 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "currencyCode: the simulator prices in USD only, not "
                       "\"%s\"",
                       cur);
  for (i = 0; i < N_SKUS; i++)
    if (billing_skus[i].service == known)
      mine[n++] = &billing_skus[i];
  if (billing_page(req, resp, n, &from, &size) < 0)
    return SIM_DONE;
  sim_now_str(s, now);
  o = json_object_new_object();
  arr = json_object_new_array();
  for (i = from; i < n && i < from + size; i++)
    json_object_array_add(arr, billing_sku_json(mine[i], now));
  json_object_object_add(o, "skus", arr);
  billing_next(o, i, n);
  return sim_resp_json(resp, 200, o);
}

/* --- billingAccounts.get, projects.getBillingInfo ---------------------- */

static int billing_account_get(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o;

  (void)s;
  if (strcmp(sim_param(req, "billingAccountsId"), SIM_BILLING_ACCOUNT) != 0)
    return sim_err_rpc(resp, 403, "PERMISSION_DENIED",
                       "The caller does not have permission");
  o = json_object_new_object();
  json_object_object_add(
      o, "name",
      json_object_new_string("billingAccounts/" SIM_BILLING_ACCOUNT));
  json_object_object_add(o, "open", json_object_new_boolean(1));
  json_object_object_add(o, "displayName",
                         json_object_new_string("EdVirons (simulated)"));
  json_object_object_add(o, "masterBillingAccount", json_object_new_string(""));
  json_object_object_add(o, "currencyCode", json_object_new_string("USD"));
  return sim_resp_json(resp, 200, o);
}

static int billing_info_get(sim *s, sim_req *req, sim_resp *resp)
{
  const char *p = sim_param(req, "projectsId");
  json_object *o;
  char name[300];

  if (strcmp(p, sim_project(s)) != 0)
    return sim_err_rpc(resp, 403, "PERMISSION_DENIED",
                       "The caller does not have permission");
  snprintf(name, sizeof(name), "projects/%s/billingInfo", p);
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(name));
  json_object_object_add(o, "projectId", json_object_new_string(p));
  json_object_object_add(
      o, "billingAccountName",
      json_object_new_string("billingAccounts/" SIM_BILLING_ACCOUNT));
  json_object_object_add(o, "billingEnabled", json_object_new_boolean(1));
  return sim_resp_json(resp, 200, o);
}

static const sim_route billing_routes[] = {
    {"GET", "/v1/services", "cloudbilling.services.list", billing_services_list,
     NULL, 0, NULL},
    {"GET", "/v1/services/{servicesId}/skus", "cloudbilling.services.skus.list",
     billing_skus_list, NULL, 0, NULL},
    {"GET", "/v1/billingAccounts/{billingAccountsId}",
     "cloudbilling.billingAccounts.get", billing_account_get, NULL, 0, NULL},
    {"GET", "/v1/projects/{projectsId}/billingInfo",
     "cloudbilling.projects.getBillingInfo", billing_info_get, NULL, 0, NULL},
};

int sim_billing_init(sim *s)
{
  return sim_register(s, SIM_API_BILLING, billing_routes,
                      sizeof(billing_routes) / sizeof(*billing_routes));
}
