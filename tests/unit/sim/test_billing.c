/*
 * test_billing.c - Cloud Billing in the simulator, through HTTP: the
 * Catalog's services and SKUs (the E2 core and RAM rates give the machine
 * types' list prices, storage and SQL prices, paging, currencyCode), the
 * simulated billing account and the project's link to it, and the
 * refusals naming the parameter.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

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

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_services),
      cmocka_unit_test(test_skus),
      cmocka_unit_test(test_account),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
