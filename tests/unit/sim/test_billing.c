/*
 * test_billing.c - Cloud Billing in the simulator, through HTTP: the
 * Catalog's services and SKUs (the E2 core and RAM rates give the machine
 * types' list prices, storage and SQL prices, paging, currencyCode), the
 * simulated billing account and the project's link to it, and the
 * refusals naming the parameter.
 */
#include <math.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

#define CP    "/compute/v1/projects/edv-sim"
#define ZA    CP "/zones/us-central1-a"
#define BQ    "/bigquery/v2/projects/edv-sim/queries"
#define TABLE "edv-sim.billing.gcp_billing_export_v1_000000_5EDV00_000000"
#define QUERY                                                                  \
  "SELECT (SELECT value FROM UNNEST(labels) WHERE key = 'edv-tenant') AS "     \
  "tenant,\\n  service.description AS service, sku.description AS sku, "       \
  "SUM(cost) AS cost, currency FROM `" TABLE "` WHERE invoice.month = @month " \
  "GROUP BY tenant, service, sku, currency ORDER BY tenant, service, sku"
#define HOUR_MS 3600000.0

#define SVC_COMPUTE "6F81-5844-456A"
#define SVC_SQL     "9662-B51E-5089"

/* The unit price (units + nanos) of the SKU described as desc in the
 * skus list of r, or -1 when it is absent. */
static double sku_price(json_object *list, const char *desc)
{
  json_object *skus = json_object_object_get(list, "skus");

  for (size_t i = 0; i < jlen(list, "skus"); i++) {
    json_object *k = json_object_array_get_idx(skus, i);
    const char *d = jget(k, "description");

    if (d && strcmp(d, desc) == 0) {
      const char *u = jget(k, "pricingInfo.0.pricingExpression.tieredRates.0."
                              "unitPrice.units");
      const char *n = jget(k, "pricingInfo.0.pricingExpression.tieredRates.0."
                              "unitPrice.nanos");

      assert_non_null(u);
      assert_non_null(n);
      return atof(u) + atof(n) / 1e9;
    }
  }
  return -1;
}

static void test_services(void **state)
{
  simfx *f = fx_start("fast");
  reply r, r2;

  (void)state;
  http(f, "GET", "/v1/services", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "services"), 5);
  assert_jeq(r.json, "services.0.name", "services/" SVC_COMPUTE);
  assert_jeq(r.json, "services.0.displayName", "Compute Engine");
  assert_jeq(r.json, "services.1.serviceId", SVC_SQL);
  assert_jeq(r.json, "nextPageToken", "");
  reply_free(&r);
  /* Paging: two, two, one, with the token the answer gave. */
  http(f, "GET", "/v1/services?pageSize=2", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "services"), 2);
  assert_jeq(r.json, "nextPageToken", "2");
  reply_free(&r);
  http(f, "GET", "/v1/services?pageSize=2&pageToken=4", NULL, &r2);
  expect_status(&r2, 200);
  assert_int_equal(jlen(r2.json, "services"), 1);
  assert_jeq(r2.json, "services.0.displayName", "Cloud Monitoring");
  assert_jeq(r2.json, "nextPageToken", "");
  reply_free(&r2);
  http(f, "GET", "/v1/services?pageSize=x", NULL, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "page_size"));
  reply_free(&r);
  http(f, "GET", "/v1/services?pageToken=99", NULL, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "page_token"));
  reply_free(&r);
  fx_free(f);
}

static void test_skus(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  double core, ram;

  (void)state;
  http(f, "GET", "/v1/services/" SVC_COMPUTE "/skus?currencyCode=USD", NULL,
       &r);
  expect_status(&r, 200);
  core = sku_price(r.json, "E2 Instance Core running in Americas");
  ram = sku_price(r.json, "E2 Instance Ram running in Americas");
  assert_true(core > 0 && ram > 0);
  /* The machine types' list prices, from the core and RAM rates. */
  assert_true(fabs(0.5 * core + 2 * ram - 0.0167529) < 1e-7);
  assert_true(fabs(core + 4 * ram - 0.0335057) < 1e-7);
  assert_true(fabs(2 * core + 8 * ram - 0.0670114) < 1e-7);
  assert_true(fabs(4 * core + 16 * ram - 0.1340228) < 1e-7);
  assert_true(fabs(sku_price(r.json, "Balanced PD Capacity") - 0.10) < 1e-9);
  assert_true(fabs(sku_price(r.json, "SSD backed PD Capacity") - 0.17) < 1e-9);
  assert_true(fabs(sku_price(r.json, "Storage PD Capacity") - 0.04) < 1e-9);
  assert_true(fabs(sku_price(r.json, "Storage PD Snapshot") - 0.05) < 1e-9);
  assert_true(fabs(sku_price(r.json, "External IP Charge on a Standard VM") -
                   0.005) < 1e-9);
  /* Every Compute SKU is offered in us-central1, in USD. */
  assert_jeq(r.json, "skus.0.serviceRegions.0", "us-central1");
  assert_jeq(r.json, "skus.0.category.serviceDisplayName", "Compute Engine");
  assert_jeq(r.json,
             "skus.2.pricingInfo.0.pricingExpression.tieredRates.0.unitPrice."
             "currencyCode",
             "USD");
  assert_jeq(r.json, "skus.2.pricingInfo.0.pricingExpression.usageUnit",
             "GiBy.mo");
  assert_int_equal(jlen(r.json, "skus"), 7);
  reply_free(&r);
  http(f, "GET", "/v1/services/" SVC_SQL "/skus", NULL, &r);
  expect_status(&r, 200);
  assert_true(fabs(sku_price(r.json, "Cloud SQL for PostgreSQL: Regional - "
                                     "vCPU") -
                   0.0826) < 1e-9);
  assert_true(fabs(sku_price(r.json, "Cloud SQL for PostgreSQL: Zonal - RAM") -
                   0.007) < 1e-9);
  assert_true(fabs(sku_price(r.json, "Cloud SQL for PostgreSQL: Backups") -
                   0.08) < 1e-9);
  reply_free(&r);
  /* Paging through the Compute SKUs: 3 + 3 + 1. */
  http(f, "GET", "/v1/services/" SVC_COMPUTE "/skus?pageSize=3&pageToken=6",
       NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "skus"), 1);
  assert_jeq(r.json, "nextPageToken", "");
  reply_free(&r);
  /* Refusals naming what is wrong. */
  http(f, "GET", "/v1/services/" SVC_COMPUTE "/skus?currencyCode=EUR", NULL,
       &r);
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "currencyCode"));
  reply_free(&r);
  http(f, "GET", "/v1/services/0000-0000-0000/skus", NULL, &r);
  expect_status(&r, 404);
  assert_jeq(r.json, "error.status", "NOT_FOUND");
  reply_free(&r);
  fx_free(f);
}

static void test_account(void **state)
{
  simfx *f = fx_start("fast");
  reply r;

  (void)state;
  http(f, "GET", "/v1/projects/edv-sim/billingInfo", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "billingAccountName",
             "billingAccounts/000000-5EDV00-000000");
  assert_jeq(r.json, "billingEnabled", "true");
  assert_jeq(r.json, "projectId", "edv-sim");
  reply_free(&r);
  http(f, "GET", "/v1/billingAccounts/000000-5EDV00-000000", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "open", "true");
  assert_jeq(r.json, "currencyCode", "USD");
  reply_free(&r);
  http(f, "GET", "/v1/billingAccounts/000000-AAAAAA-000000", NULL, &r);
  expect_status(&r, 403);
  assert_jeq(r.json, "error.status", "PERMISSION_DENIED");
  reply_free(&r);
  http(f, "GET", "/v1/projects/other/billingInfo", NULL, &r);
  expect_status(&r, 403);
  reply_free(&r);
  fx_free(f);
}

/* --- the ledger and the billing export ---------------------------------- */

static void make_vm(simfx *f, const char *name, const char *tenant, int gb)
{
  char b[2048];

  snprintf(b, sizeof(b),
           "{\"name\":\"%s\",\"machineType\":\"zones/us-central1-a/"
           "machineTypes/e2-medium\",\"labels\":{\"edv-tenant\":\"%s\"},"
           "\"disks\":[{\"boot\":true,\"autoDelete\":true,"
           "\"initializeParams\":{\"sourceImage\":\"projects/debian-cloud/"
           "global/images/family/debian-12\",\"diskSizeGb\":\"%d\","
           "\"diskType\":\"zones/us-central1-a/diskTypes/pd-balanced\"}}],"
           "\"networkInterfaces\":[{\"subnetwork\":\"regions/us-central1/"
           "subnetworks/edv-t1\"}]}",
           name, tenant, gb);
  call_done(f, "POST", ZA "/instances", b);
}

/* The simulated clock's ms. */
static double clock_ms(simfx *f)
{
  reply r;
  double ms;

  http(f, "GET", "/_sim/clock", NULL, &r);
  expect_status(&r, 200);
  ms = atof(jget(r.json, "ms"));
  reply_free(&r);
  return ms;
}

/* Runs the export query for month; the reply is the caller's. */
static void query(simfx *f, const char *month, const char *extra, reply *r)
{
  char b[2048];

  snprintf(b, sizeof(b),
           "{\"query\":\"%s\",\"useLegacySql\":false,\"parameterMode\":"
           "\"NAMED\",\"queryParameters\":[{\"name\":\"month\","
           "\"parameterType\":{\"type\":\"STRING\"},\"parameterValue\":"
           "{\"value\":\"%s\"}}]%s}",
           QUERY, month, extra ? extra : "");
  http(f, "POST", BQ, b, r);
}

/* The cost of (tenant, sku) in a query answer; 0 when no row. */
static double cost_of(json_object *ans, const char *tenant, const char *sku)
{
  json_object *rows = json_object_object_get(ans, "rows");
  double sum = 0;

  for (size_t i = 0; i < jlen(ans, "rows"); i++) {
    json_object *row = json_object_array_get_idx(rows, i);
    const char *t = jget(row, "f.0.v"), *k = jget(row, "f.2.v");

    if (t && strcmp(t, tenant) == 0 && (sku == NULL || strcmp(k, sku) == 0))
      sum += atof(jget(row, "f.3.v"));
  }
  return sum;
}

/* What tenant's VM and its disk cost in a query answer. */
static double vm_cost(json_object *ans, const char *tenant)
{
  return cost_of(ans, tenant, "E2 Instance Core running in Americas") +
         cost_of(ans, tenant, "E2 Instance Ram running in Americas") +
         cost_of(ans, tenant, "Balanced PD Capacity");
}

/* The ledger's entries by resource name, from the admin state (r holds
 * them). */
static json_object *ledger(simfx *f, reply *r)
{
  json_object *l;

  http(f, "GET", "/_sim/state?kind=sim.billingLedger", NULL, r);
  expect_status(r, 200);
  assert_int_equal(jlen(r->json, "resources"), 1);
  l = json_object_object_get(
      json_object_object_get(
          json_object_array_get_idx(
              json_object_object_get(r->json, "resources"), 0),
          "resource"),
      "resources");
  assert_non_null(l);
  return l;
}

/* The sum, over every ledger entry of the admin state, of each segment's
 * quantities x hours (cut at [m0, now)) x price: what the export's rows
 * must add up to for tenant. */
static double ledger_sum(simfx *f, const char *tenant, double m0, double now)
{
  reply r;
  json_object *entries;
  double sum = 0;
  struct {
    const char *key;
    double usd, per_month;
  } price[] = {{"e2-core", 0.0218137, 0},
               {"e2-ram", 0.0029230, 0},
               {"pd-balanced", 0.10, 1},
               {"external-ip", 0.005, 0}};

  entries = ledger(f, &r);
  json_object_object_foreach(entries, name, e)
  {
    json_object *segs = json_object_object_get(e, "segments");
    size_t n = json_object_array_length(segs);

    (void)name;
    for (size_t j = 0; j < n; j++) {
      json_object *sg = json_object_array_get_idx(segs, j);
      const char *t = jget(sg, "labels.edv-tenant");
      double a = atof(jget(sg, "ms"));
      double b = j + 1 < n
                     ? atof(jget(json_object_array_get_idx(segs, j + 1), "ms"))
                     : now;

      if (t == NULL || strcmp(t, tenant) != 0)
        continue;
      a = a < m0 ? m0 : a;
      if (b <= a)
        continue;
      for (size_t k = 0; k < sizeof(price) / sizeof(*price); k++) {
        const char *q = jget(json_object_object_get(sg, "usage"), price[k].key);
        double h = (b - a) / HOUR_MS;

        if (q)
          sum += atof(q) * price[k].usd * (price[k].per_month ? h / 730.0 : h);
      }
    }
  }
  reply_free(&r);
  return sum;
}

/* Moves the clock to the first second of the next month plus an hour;
 * returns that month's first ms and writes its "YYYYMM". */
static double next_month(simfx *f, char *month, size_t size)
{
  double now = clock_ms(f), m0;
  time_t t = (time_t)(now / 1000);
  struct tm tm;

  gmtime_r(&t, &tm);
  tm.tm_mday = 1, tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mon++;
  m0 = (double)timegm(&tm) * 1000.0;
  assert_int_equal(advance(f, (m0 - now) / 1000.0 + 3600), 200);
  t = (time_t)(m0 / 1000);
  gmtime_r(&t, &tm);
  snprintf(month, size, "%04d%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  return m0;
}

static void test_export(void **state)
{
  simfx *f = fx_start("fast");
  reply r, a1, a2;
  double now, m0, d, core1, core2, disk1, disk2;
  char month[32];

  (void)state;
  m0 = next_month(f, month, sizeof(month));

  call_done(f, "POST", CP "/global/networks",
            "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  call_done(f, "POST", CP "/regions/us-central1/subnetworks",
            "{\"name\":\"edv-t1\",\"network\":\"global/networks/edv-net\","
            "\"ipCidrRange\":\"10.10.0.0/28\"}");
  make_vm(f, "edv-t1-vm", "t1", 20);
  make_vm(f, "edv-t2-vm", "t2", 20);
  call_done(f, "POST", CP "/regions/us-central1/addresses",
            "{\"name\":\"edv-t1-ip\",\"labels\":{\"edv-tenant\":\"t1\"}}");
  /* Ten days; then t1's VM stops and t2's disk doubles; ten more days. */
  assert_int_equal(advance(f, 10 * 86400), 200);
  call_done(f, "POST", ZA "/instances/edv-t1-vm/stop", NULL);
  call_done(f, "POST", ZA "/disks/edv-t2-vm/resize", "{\"sizeGb\":\"40\"}");
  assert_int_equal(advance(f, 10 * 86400), 200);

  query(f, month, NULL, &a1);
  expect_status(&a1, 200);
  assert_jeq(a1.json, "kind", "bigquery#queryResponse");
  assert_jeq(a1.json, "jobComplete", "true");
  assert_jeq(a1.json, "schema.fields.3.name", "cost");
  assert_jeq(a1.json, "schema.fields.3.type", "FLOAT");
  assert_jeq(a1.json, "rows.0.f.4.v", "USD");
  /* The seeded DNS zone, unlabelled (a null tenant, first); t1 x (core,
   * RAM, pd-balanced, its address); t2 x (core, RAM, pd-balanced). */
  assert_jeq(a1.json, "totalRows", "8");
  assert_null(jget(a1.json, "rows.0.f.0.v"));
  assert_jeq(a1.json, "rows.0.f.2.v", "ManagedZone");
  /* The address: 20 days at $0.005/h, whatever the VM does. */
  assert_true(
      fabs(cost_of(a1.json, "t1", "External IP Charge on a Standard VM") -
           20 * 24 * 0.005) < 0.01);
  core1 = cost_of(a1.json, "t1", "E2 Instance Core running in Americas");
  core2 = cost_of(a1.json, "t2", "E2 Instance Core running in Americas");
  disk1 = cost_of(a1.json, "t1", "Balanced PD Capacity");
  disk2 = cost_of(a1.json, "t2", "Balanced PD Capacity");
  /* Stopped half the time: half the compute (to the operations' seconds). */
  assert_true(core2 > 0);
  assert_true(fabs(core1 / core2 - 0.5) < 0.001);
  /* 20 GB, then 40 GB half the time: 1.5 times the storage. */
  assert_true(fabs(disk2 / disk1 - 1.5) < 0.001);
  /* 20 days of 1 vCPU at the list price, to the operations' seconds. */
  assert_true(fabs(core2 - 20 * 24 * 0.0218137) < 0.01);
  /* Each tenant's rows add up to the ledger's, at the Catalog's prices. */
  now = clock_ms(f);
  d = cost_of(a1.json, "t1", NULL) - ledger_sum(f, "t1", m0, now);
  assert_true(fabs(d) < 1e-6);
  d = cost_of(a1.json, "t2", NULL) - ledger_sum(f, "t2", m0, now);
  assert_true(fabs(d) < 1e-6);

  /* Deleted: t1's VM costs nothing more (its disk goes with it; its
   * address stays and goes on); t2 goes on. */
  call_done(f, "DELETE", ZA "/instances/edv-t1-vm", NULL);
  query(f, month, NULL, &r);
  core1 = vm_cost(r.json, "t1");
  d = cost_of(r.json, "t1", NULL);
  reply_free(&r);
  assert_int_equal(advance(f, 2 * 86400), 200);
  query(f, month, NULL, &a2);
  expect_status(&a2, 200);
  assert_true(fabs(vm_cost(a2.json, "t1") - core1) < 1e-9);
  assert_true(cost_of(a2.json, "t1", NULL) > d);
  assert_true(cost_of(a2.json, "t2", NULL) > cost_of(a1.json, "t2", NULL));
  {
    /* Its ledger: running, stopped (nothing), then deleted at the stop's
     * usage already nothing: two segments, the last using nothing. */
    json_object *segs = json_object_object_get(
        json_object_object_get(ledger(f, &r),
                               "projects/edv-sim/zones/us-central1-a/"
                               "instances/edv-t1-vm"),
        "segments");

    assert_int_equal(json_object_array_length(segs), 2);
    assert_int_equal(json_object_object_length(json_object_object_get(
                         json_object_array_get_idx(segs, 1), "usage")),
                     0);
    reply_free(&r);
  }
  /* Pages: maxResults 4 of 8, the rest through getQueryResults. */
  reply_free(&a2);
  query(f, month, ",\"maxResults\":4", &a2);
  expect_status(&a2, 200);
  assert_int_equal(jlen(a2.json, "rows"), 4);
  assert_jeq(a2.json, "pageToken", "4");
  {
    char path[300];

    snprintf(path, sizeof(path), BQ "/%s?pageToken=4",
             jget(a2.json, "jobReference.jobId"));
    http(f, "GET", path, NULL, &r);
    expect_status(&r, 200);
    assert_jeq(r.json, "kind", "bigquery#getQueryResultsResponse");
    assert_int_equal(jlen(r.json, "rows"), 4);
    assert_jeq(r.json, "totalRows", "8");
    assert_null(jget(r.json, "pageToken"));
    reply_free(&r);
  }
  /* A month before anything ran: no rows. */
  query(f, "197001", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "totalRows", "0");
  reply_free(&r);
  reply_free(&a1);
  reply_free(&a2);
  fx_free(f);
}

/* A Cloud SQL instance: Regional vCPU and RAM while it runs, storage
 * throughout; stopped (activationPolicy NEVER) half the time. */
static void test_export_sql(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char month[32];
  double cpu, ram, disk;

  (void)state;
  next_month(f, month, sizeof(month));
  http(f, "POST", "/v1/projects/edv-sim/instances",
       "{\"name\":\"pg1\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"us-central1\",\"settings\":{\"tier\":"
       "\"db-custom-2-4096\",\"availabilityType\":\"REGIONAL\","
       "\"dataDiskSizeGb\":\"50\",\"userLabels\":{\"edv-tenant\":"
       "\"t3\"}}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  assert_int_equal(advance(f, 60), 200);
  assert_int_equal(advance(f, 10 * 86400 - 60), 200);
  http(f, "PATCH", "/v1/projects/edv-sim/instances/pg1",
       "{\"settings\":{\"activationPolicy\":\"NEVER\"}}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  assert_int_equal(advance(f, 60), 200);
  assert_int_equal(advance(f, 10 * 86400 - 60), 200);
  query(f, month, NULL, &r);
  expect_status(&r, 200);
  cpu = cost_of(r.json, "t3", "Cloud SQL for PostgreSQL: Regional - vCPU");
  ram = cost_of(r.json, "t3", "Cloud SQL for PostgreSQL: Regional - RAM");
  disk = cost_of(r.json, "t3",
                 "Cloud SQL for PostgreSQL: Regional - Standard storage");
  /* 240 h of 2 vCPU and 4 GB; 480 h of 50 GB (to the operations' time). */
  assert_true(fabs(cpu - 240 * 2 * 0.0826) < 0.01);
  assert_true(fabs(ram - 240 * 4 * 0.014) < 0.01);
  assert_true(fabs(disk - 480.0 / 730 * 50 * 0.34) < 0.01);
  assert_true(cost_of(r.json, "t3", "Cloud SQL for PostgreSQL: Zonal - vCPU") ==
              0);
  reply_free(&r);
  fx_free(f);
}

/* Anything but the documented query is refused, naming what is wrong. */
static void test_export_refusals(void **state)
{
  simfx *f = fx_start("fast");
  reply r;
  char b[2048];

  (void)state;
  query(f, "2026-12", NULL, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "parameterValue.value"));
  reply_free(&r);
  query(f, "202612", ",\"useLegacySql\":true", &r);
  /* a repeated key: json-c keeps the last, true */
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "useLegacySql"));
  reply_free(&r);
  http(f, "POST", BQ,
       "{\"query\":\"SELECT 1\",\"useLegacySql\":false,\"parameterMode\":"
       "\"NAMED\"}",
       &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "invalidQuery");
  assert_non_null(strstr(r.body, "query: not supported"));
  reply_free(&r);
  snprintf(b, sizeof(b),
           "{\"query\":\"%s\",\"useLegacySql\":false,\"parameterMode\":"
           "\"POSITIONAL\"}",
           QUERY);
  http(f, "POST", BQ, b, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "parameterMode"));
  reply_free(&r);
  http(f, "POST", BQ, "{\"query\":\"x\",\"bogusField\":1}", &r);
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "bogusField"));
  reply_free(&r);
  http(f, "GET", BQ "/job_nope", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

/* --- Billing Budgets ------------------------------------------------------ */

#define BB "/v1/billingAccounts/000000-5EDV00-000000/budgets"

/* Notifications fired so far. */
static size_t fired(simfx *f, reply *r)
{
  http(f, "GET", "/_sim/budget-notifications", NULL, r);
  expect_status(r, 200);
  return jlen(r->json, "notifications");
}

static void test_budgets(void **state)
{
  simfx *f = fx_start("fast");
  reply r, n;
  char month[32], chan[200], body[1024], name[300], path[400], etag[64];

  (void)state;
  next_month(f, month, sizeof(month));
  http(f, "POST", "/v3/projects/edv-sim/notificationChannels",
       "{\"type\":\"email\",\"displayName\":\"ops\",\"labels\":{"
       "\"email_address\":\"ops@edvirons.com\"}}",
       &r);
  expect_status(&r, 200);
  snprintf(chan, sizeof(chan), "%s", jget(r.json, "name"));
  reply_free(&r);
  /* t1's budget: $10 a month, 50% and 100%. */
  snprintf(body, sizeof(body),
           "{\"displayName\":\"edv-t1\",\"budgetFilter\":{\"labels\":{"
           "\"edv-tenant\":[\"t1\"]},\"calendarPeriod\":\"MONTH\"},"
           "\"amount\":{\"specifiedAmount\":{\"currencyCode\":\"USD\","
           "\"units\":\"10\"}},\"thresholdRules\":[{\"thresholdPercent\":"
           "0.5},{\"thresholdPercent\":1.0}],\"notificationsRule\":{"
           "\"monitoringNotificationChannels\":[\"%s\"],\"pubsubTopic\":"
           "\"projects/edv-sim/topics/budgets\"}}",
           chan);
  http(f, "POST", BB, body, &r);
  expect_status(&r, 200);
  snprintf(name, sizeof(name), "%s", jget(r.json, "name"));
  assert_non_null(
      strstr(name, "billingAccounts/000000-5EDV00-000000/budgets/"));
  assert_jeq(r.json, "budgetFilter.labels.edv-tenant.0", "t1");
  snprintf(etag, sizeof(etag), "%s", jget(r.json, "etag"));
  reply_free(&r);
  snprintf(path, sizeof(path), "/v1/%s", name);
  http(f, "GET", path, NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "amount.specifiedAmount.units", "10");
  reply_free(&r);
  http(f, "GET", BB, NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "budgets"), 1);
  reply_free(&r);

  /* A t1 VM (e2-medium, 20 GB pd-balanced: ~$0.036/h) and a t2 VM. */
  call_done(f, "POST", CP "/global/networks",
            "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  call_done(f, "POST", CP "/regions/us-central1/subnetworks",
            "{\"name\":\"edv-t1\",\"network\":\"global/networks/edv-net\","
            "\"ipCidrRange\":\"10.10.0.0/28\"}");
  make_vm(f, "edv-t1-vm", "t1", 20);
  make_vm(f, "edv-t2-vm", "t2", 20);
  /* 100 hours: ~$3.6, under 50% of $10: nothing. */
  assert_int_equal(advance(f, 100 * 3600), 200);
  assert_int_equal(fired(f, &n), 0);
  reply_free(&n);
  /* 200 hours: ~$7.2, over 50% only: one notification, once. */
  assert_int_equal(advance(f, 100 * 3600), 200);
  assert_int_equal(fired(f, &n), 1);
  assert_jeq(n.json, "notifications.0.budget", name);
  assert_jeq(n.json, "notifications.0.alertThresholdExceeded", "0.5");
  assert_jeq(n.json, "notifications.0.monitoringNotificationChannels.0", chan);
  assert_jeq(n.json, "notifications.0.pubsubTopic",
             "projects/edv-sim/topics/budgets");
  /* Fired when the spend crossed $5, not when it was read. */
  {
    double cost = atof(jget(n.json, "notifications.0.costAmount"));

    assert_true(cost >= 5.0 && cost < 5.001);
  }
  reply_free(&n);
  assert_int_equal(fired(f, &n), 1);
  reply_free(&n);
  /* Stopped: t1's spend stays under 100% however long; t2's does not count. */
  call_done(f, "POST", ZA "/instances/edv-t1-vm/stop", NULL);
  assert_int_equal(advance(f, 300 * 3600), 200);
  assert_int_equal(fired(f, &n), 1);
  reply_free(&n);
  /* Raised threshold through patch: 0.5 and 0.7, the etag checked. */
  http(f, "PATCH", path, "{\"etag\":\"0000\",\"displayName\":\"x\"}", &r);
  expect_status(&r, 409);
  reply_free(&r);
  snprintf(body, sizeof(body),
           "{\"etag\":\"%s\",\"thresholdRules\":[{\"thresholdPercent\":"
           "0.5},{\"thresholdPercent\":0.7}]}",
           etag);
  snprintf(path + strlen(path), sizeof(path) - strlen(path),
           "?updateMask=thresholdRules");
  http(f, "PATCH", path, body, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "thresholdRules.1.thresholdPercent", "0.7");
  assert_jeq(r.json, "displayName", "edv-t1");
  reply_free(&r);
  assert_int_equal(fired(f, &n), 2);
  assert_true(
      fabs(atof(jget(n.json, "notifications.1.alertThresholdExceeded")) - 0.7) <
      1e-9);
  reply_free(&n);
  /* Deleted: gone from the list. */
  *strchr(path, '?') = '\0';
  http(f, "DELETE", path, NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  http(f, "GET", path, NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "GET", BB, NULL, &r);
  assert_int_equal(jlen(r.json, "budgets"), 0);
  reply_free(&r);
  fx_free(f);
}

/* Refusals name the field. */
static void test_budget_refusals(void **state)
{
  simfx *f = fx_start("fast");
  static const struct {
    const char *body, *field;
  } cases[] = {
      {"{\"thresholdRules\":[]}", "amount.specifiedAmount"},
      {"{\"amount\":{\"specifiedAmount\":{\"currencyCode\":\"EUR\","
       "\"units\":\"5\"}}}",
       "amount.specifiedAmount.currencyCode"},
      {"{\"amount\":{\"specifiedAmount\":{\"units\":\"5\"}},"
       "\"budgetFilter\":{\"labels\":{\"edv-tenant\":[\"a\",\"b\"]}}}",
       "budgetFilter.labels"},
      {"{\"amount\":{\"specifiedAmount\":{\"units\":\"5\"}},"
       "\"budgetFilter\":{\"services\":[\"services/x\"]}}",
       "budgetFilter.services"},
      {"{\"amount\":{\"specifiedAmount\":{\"units\":\"5\"}},"
       "\"thresholdRules\":[{\"thresholdPercent\":0}]}",
       "thresholdRules.thresholdPercent"},
      {"{\"amount\":{\"specifiedAmount\":{\"units\":\"5\"}},"
       "\"thresholdRules\":[{\"thresholdPercent\":0.5,\"spendBasis\":"
       "\"FORECASTED_SPEND\"}]}",
       "thresholdRules.spendBasis"},
      {"{\"amount\":{\"specifiedAmount\":{\"units\":\"5\"}},"
       "\"notificationsRule\":{\"monitoringNotificationChannels\":["
       "\"projects/edv-sim/notificationChannels/404\"]}}",
       "notificationsRule.monitoringNotificationChannels"},
      {"{\"amount\":{\"specifiedAmount\":{\"units\":\"5\"}},"
       "\"notificationsRule\":{\"pubsubTopic\":\"budgets\"}}",
       "notificationsRule.pubsubTopic"},
      {"{\"bogusField\":1}", "bogusField"},
  };
  reply r;

  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    http(f, "POST", BB, cases[i].body, &r);
    if (r.status != 400 || strstr(r.body, cases[i].field) == NULL)
      fail_msg("%s: want 400 naming %s, got %ld %s", cases[i].body,
               cases[i].field, r.status, r.body);
    reply_free(&r);
  }
  http(f, "GET", BB, NULL, &r);
  assert_int_equal(jlen(r.json, "budgets"), 0);
  reply_free(&r);
  http(f, "GET", "/v1/billingAccounts/000000-AAAAAA-000000/budgets", NULL, &r);
  expect_status(&r, 403);
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_services),   cmocka_unit_test(test_skus),
      cmocka_unit_test(test_account),    cmocka_unit_test(test_export),
      cmocka_unit_test(test_export_sql), cmocka_unit_test(test_export_refusals),
      cmocka_unit_test(test_budgets),    cmocka_unit_test(test_budget_refusals),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
