/*
 * test_tiers.c - tiers.json: the real file matches the seed, every bad
 * field is refused by name, Cloud SQL tier rules, cost estimates.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tenant/tiers.h"

#define assert_contains(hay, needle)                                           \
  do {                                                                         \
    if (!strstr((hay), (needle)))                                              \
      fail_msg("'%s' does not contain '%s'", (hay), (needle));                 \
  } while (0)

#define assert_near(a, b)                                                      \
  do {                                                                         \
    double a_ = (a), b_ = (b);                                                 \
    if (fabs(a_ - b_) > 1e-6)                                                  \
      fail_msg("%s = %.9f, expected %.9f", #a, a_, b_);                        \
  } while (0)

/* tiers.json of the source tree, found through EDV_SOURCE_ROOT. */
static char *tiers_path(void)
{
  const char *root = getenv("EDV_SOURCE_ROOT");
  char *p;

  if (!root)
    root = ".";
  p = malloc(strlen(root) + sizeof("/tiers.json"));
  assert_non_null(p);
  sprintf(p, "%s/tiers.json", root);
  return p;
}

static edv__tiers *load_real(void)
{
  edv__tiers *t = NULL;
  edv_error err;
  char *path = tiers_path();
  int rc = edv__tiers_load_file(path, &t, &err);

  if (rc)
    fail_msg("load %s: %s", path, err.message);
  free(path);
  return t;
}

static void test_real_file_matches_seed(void **state)
{
  edv__tiers *t = load_real();
  const edv__tier *b, *s, *p, *e;

  (void)state;
  assert_int_equal(t->schema_version, 1);
  assert_int_equal(t->ntiers, 4);
  b = edv__tiers_find(t, "basic");
  s = edv__tiers_find(t, "standard");
  p = edv__tiers_find(t, "premium");
  e = edv__tiers_find(t, "enterprise");
  assert_non_null(b);
  assert_non_null(s);
  assert_non_null(p);
  assert_non_null(e);
  assert_null(edv__tiers_find(t, "gold"));

  /* Basic: e2-small (1 vCPU, 2GB), 20GB SSD, db-f1-micro, 50, daily 30 */
  assert_string_equal(b->machine_type, "e2-small");
  assert_int_equal(b->vcpu, 1);
  assert_near(b->memory_gb, 2);
  assert_int_equal(b->disk_gb, 20);
  assert_string_equal(b->disk_type, "pd-ssd");
  assert_string_equal(b->sql.tier, "db-f1-micro");
  assert_true(b->sql.shared_core);
  assert_false(b->sql.regional);
  assert_int_equal(b->max_users, 50);
  assert_string_equal(b->backup_frequency, "daily");
  assert_int_equal(b->retention_days, 30);
  assert_int_equal(b->sql.retained_backups, 30);
  assert_int_equal(b->snapshot_retention_days, 30);
  /* No backup.final_backup_days: the 30-day minimum. */
  assert_int_equal(b->final_backup_days, 30);

  /* Standard: e2-medium (1 vCPU, 4GB), 50GB, db-g1-small, 200, daily 30 */
  assert_string_equal(s->machine_type, "e2-medium");
  assert_int_equal(s->vcpu, 1);
  assert_near(s->memory_gb, 4);
  assert_int_equal(s->disk_gb, 50);
  assert_string_equal(s->sql.tier, "db-g1-small");
  assert_false(s->sql.regional);
  assert_int_equal(s->max_users, 200);
  assert_int_equal(s->retention_days, 30);

  /* Premium: e2-standard-2 (2, 8GB), 100GB, db-custom-2-4096, 500, daily 90,
   * advanced analytics */
  assert_string_equal(p->machine_type, "e2-standard-2");
  assert_int_equal(p->vcpu, 2);
  assert_near(p->memory_gb, 8);
  assert_int_equal(p->disk_gb, 100);
  assert_string_equal(p->sql.tier, "db-custom-2-4096");
  assert_int_equal(p->sql.custom_vcpu, 2);
  assert_int_equal(p->sql.custom_memory_mb, 4096);
  assert_false(p->sql.regional);
  assert_int_equal(p->max_users, 500);
  assert_int_equal(p->retention_days, 90);
  assert_int_equal(p->sql.retained_backups, 90);
  assert_true(edv__tier_has_feature(p, "advanced_analytics"));
  assert_false(edv__tier_has_feature(p, "api_access"));

  /* Enterprise: e2-standard-4 (4, 16GB), 200GB, db-custom-4-8192 regional
   * HA, 2000, daily 365, all features + API access */
  assert_string_equal(e->machine_type, "e2-standard-4");
  assert_int_equal(e->vcpu, 4);
  assert_near(e->memory_gb, 16);
  assert_int_equal(e->disk_gb, 200);
  assert_string_equal(e->sql.tier, "db-custom-4-8192");
  assert_true(e->sql.regional);
  assert_int_equal(e->max_users, 2000);
  assert_int_equal(e->retention_days, 365);
  assert_int_equal(e->sql.retained_backups, 365);
  assert_int_equal(e->snapshot_retention_days, 365);
  assert_int_equal(e->final_backup_days, 365);
  assert_int_equal(p->final_backup_days, 90);
  assert_int_equal(e->nfeatures, t->nfeatures);
  assert_true(edv__tier_has_feature(e, "api_access"));
  assert_true(edv__tier_has_app(e, "api"));
  assert_int_equal(e->napps, t->napps);
  assert_false(edv__tier_has_feature(b, "advanced_analytics"));

  /* Derived Cloud SQL settings hold on every tier. */
  for (size_t i = 0; i < t->ntiers; i++) {
    const edv__tier *x = &t->tiers[i];

    assert_true(x->sql.pitr);
    assert_in_range(x->sql.transaction_log_retention_days, 1, 7);
    assert_int_equal(x->sql.retained_backups, x->retention_days);
    assert_true(x->sql.retained_backups <= 365);
    assert_string_equal(x->sql.edition, "ENTERPRISE");
    assert_string_equal(x->disk_type, "pd-ssd");
  }
  /* Prices carry their dates. */
  assert_true(t->prices.nsources >= 3);
  assert_string_equal(t->prices.sources[0].ref, "PRICE-CE");
  assert_string_equal(t->prices.sources[0].date, "2026-07-30");
  assert_near(t->cost.hours_per_month, 730);
  edv__tiers_free(t);
}

/* ---- bad fields --------------------------------------------------------- */

/* The real file as JSON, with one field of one tier (or of the root, when
 * tier is NULL) replaced by `value` (NULL: removed). Dotted paths reach into
 * objects. Returns the loader's result and its message. */
static int load_mutated(const char *tier, const char *path, json_object *value,
                        edv_error *err)
{
  char *file = tiers_path(), key[64], *dot;
  json_object *root = json_object_from_file(file), *obj, *tiers;
  edv__tiers *t = NULL;
  size_t i;
  int rc;

  free(file);
  assert_non_null(root);
  obj = root;
  if (tier) {
    assert_true(json_object_object_get_ex(root, "tiers", &tiers));
    obj = NULL;
    for (i = 0; i < json_object_array_length(tiers); i++) {
      json_object *x = json_object_array_get_idx(tiers, i), *n;

      if (json_object_object_get_ex(x, "name", &n) &&
          strcmp(json_object_get_string(n), tier) == 0)
        obj = x;
    }
    assert_non_null(obj);
  }
  snprintf(key, sizeof(key), "%s", path);
  while ((dot = strchr(key, '.'))) {
    *dot = '\0';
    assert_true(json_object_object_get_ex(obj, key, &obj));
    memmove(key, dot + 1, strlen(dot + 1) + 1);
  }
  if (value)
    json_object_object_add(obj, key, value);
  else
    json_object_object_del(obj, key);
  rc = edv__tiers_load_string(json_object_to_json_string(root), "tiers.json",
                              &t, err);
  json_object_put(root);
  edv__tiers_free(t);
  return rc;
}

static void expect_bad(const char *tier, const char *path, json_object *value,
                       const char *message)
{
  edv_error err;
  int rc = load_mutated(tier, path, value, &err);

  if (rc != EDV_ECONFIG)
    fail_msg("%s.%s: expected ECONFIG, got %d", tier ? tier : "", path, rc);
  assert_contains(err.message, message);
}

static void test_bad_fields_named(void **state)
{
  edv_error err;

  (void)state;
  /* The exact message of the brief. */
  expect_bad("premium", "disk_gb", json_object_new_int(5),
             "tiers.json: tier 'premium': field 'disk_gb' must be an integer "
             "10..65536");
  expect_bad("premium", "disk_gb", json_object_new_string("100"),
             "tier 'premium': field 'disk_gb' must be an integer");
  expect_bad("premium", "disk_gb", json_object_new_double(100.5),
             "field 'disk_gb' must be an integer");
  expect_bad("basic", "disk_gb", NULL, "tier 'basic': field 'disk_gb'");
  expect_bad("basic", "machine_type", json_object_new_string("E2-small"),
             "tier 'basic': field 'machine_type' 'E2-small' is not a machine");
  expect_bad("basic", "machine_type", json_object_new_string("e2-"),
             "field 'machine_type'");
  expect_bad("basic", "machine_type", json_object_new_string("e2-huge"),
             "field 'machine_type' 'e2-huge' has no price");
  expect_bad("standard", "sql.tier", json_object_new_string("db-custom-3-4096"),
             "tier 'standard': field 'sql.tier' 'db-custom-3-4096' is not a "
             "PostgreSQL tier");
  expect_bad("standard", "sql.tier", json_object_new_string("db-n1-standard-1"),
             "field 'sql.tier'");
  expect_bad("enterprise", "backup.retention_days", json_object_new_int(400),
             "tier 'enterprise': field 'backup.retention_days' must be an "
             "integer 1..365");
  expect_bad("enterprise", "sql.retained_backups", json_object_new_int(300),
             "field 'sql.retained_backups' must equal backup.retention_days "
             "(365)");
  expect_bad("enterprise", "sql.retained_backups", json_object_new_int(366),
             "field 'sql.retained_backups' must be an integer 1..365");
  expect_bad("basic", "sql.transaction_log_retention_days",
             json_object_new_int(8),
             "field 'sql.transaction_log_retention_days' must be an integer "
             "1..7");
  expect_bad("basic", "sql.availability_type", json_object_new_string("HA"),
             "field 'sql.availability_type' must be one of ZONAL, REGIONAL");
  expect_bad("basic", "sql.point_in_time_recovery", NULL,
             "field 'sql.point_in_time_recovery' must be true or false");
  expect_bad("basic", "sql.backup_start_time", json_object_new_string("3:00"),
             "field 'sql.backup_start_time'");
  expect_bad("basic", "sql.data_disk_gb", json_object_new_int(9),
             "field 'sql.data_disk_gb' must be an integer 10..65536");
  expect_bad("basic", "sql.edition", json_object_new_string("ENTERPRISE_PLUS"),
             "field 'sql.edition'");
  expect_bad("basic", "sql.database_version", json_object_new_string("MYSQL_8"),
             "field 'sql.database_version' must be POSTGRES_<major>");
  expect_bad("basic", "snapshot.start_time", json_object_new_string("03:00"),
             "field 'snapshot.start_time' must be 00:00, 04:00");
  expect_bad("basic", "snapshot.retention_days", json_object_new_int(31),
             "field 'snapshot.retention_days' must equal "
             "backup.retention_days (30)");
  expect_bad("basic", "snapshot.on_source_disk_delete",
             json_object_new_string("DELETE"),
             "field 'snapshot.on_source_disk_delete'");
  expect_bad("basic", "backup.final_backup_days", json_object_new_int(29),
             "field 'backup.final_backup_days' must be an integer 30..365");
  expect_bad("basic", "backup.final_backup_days", json_object_new_int(366),
             "field 'backup.final_backup_days' must be an integer 30..365");
  expect_bad("basic", "backup.frequency", json_object_new_string("hourly"),
             "field 'backup.frequency' must be one of daily");
  expect_bad("basic", "max_users", json_object_new_int(0),
             "field 'max_users' must be an integer");
  expect_bad("basic", "disk_type", json_object_new_string("pd-extreme"),
             "field 'disk_type' must be one of");
  expect_bad("basic", "disk_gib", json_object_new_int(20),
             "tier 'basic': field 'disk_gib' is not a known field");
  expect_bad("premium", "features", json_object_new_string("all"),
             "tier 'premium': field 'features' must be an array");
  {
    json_object *a = json_object_new_array();

    json_object_array_add(a, json_object_new_string("core"));
    json_object_array_add(a, json_object_new_string("teleport"));
    expect_bad("premium", "features", a,
               "field 'features' names 'teleport', which is not in the "
               "catalog");
  }
  {
    json_object *a = json_object_new_array();

    json_object_array_add(a, json_object_new_string("api"));
    json_object_array_add(a, json_object_new_string("api"));
    expect_bad("enterprise", "app_access", a,
               "field 'app_access' lists 'api' twice");
  }
  expect_bad("standard", "name", json_object_new_string("basic"),
             "field 'tiers[].name' 'basic' is defined twice");
  expect_bad("standard", "name", json_object_new_string("Gold"),
             "field 'tiers[].name' must be a name");
  /* Root and prices. */
  expect_bad(NULL, "schema_version", json_object_new_int(2),
             "tiers.json: field 'schema_version' is 2; this build reads "
             "version 1");
  expect_bad(NULL, "prices.compute_per_hour.e2-small",
             json_object_new_double(-1),
             "field 'prices.compute_per_hour.e2-small' must be a number");
  expect_bad(NULL, "prices.sql.vcpu_per_hour.REGIONAL", NULL,
             "field 'prices.sql.vcpu_per_hour.REGIONAL' must be a number");
  expect_bad(NULL, "prices.sources", json_object_new_array(),
             "field 'prices.sources' must be an array");
  {
    json_object *a = json_object_new_array(), *src = json_object_new_object();

    json_object_object_add(src, "ref", json_object_new_string("PRICE-X"));
    json_object_object_add(src, "date", json_object_new_string("last year"));
    json_object_array_add(a, src);
    expect_bad(NULL, "prices.sources", a,
               "field 'prices.sources[].date' must be YYYY, YYYY-MM");
  }
  expect_bad(NULL, "cost_model.fleet_size", json_object_new_int(0),
             "field 'cost_model.fleet_size' must be an integer 1..1000000");
  expect_bad(NULL, "tiers", json_object_new_array(),
             "field 'tiers' must be an array of 1..16 tiers");
  expect_bad(NULL, "colour", json_object_new_string("blue"),
             "field 'colour' is not a known field");
  /* Not JSON at all; wrong paths. */
  assert_int_equal(edv__tiers_load_string("{\"tiers\": [", "tiers.json",
                                          &(edv__tiers *){NULL}, &err),
                   EDV_ECONFIG);
  assert_contains(err.message, "tiers.json: not valid JSON");
  assert_int_equal(edv__tiers_load_file("no-such-dir/tiers.json",
                                        &(edv__tiers *){NULL}, &err),
                   EDV_EIO);
  assert_contains(err.message, "tiers.json: cannot open");
}

static void test_sql_tier_rules(void **state)
{
  static const char *const good[] = {"db-f1-micro",       "db-g1-small",
                                     "db-custom-1-3840",  "db-custom-1-6656",
                                     "db-custom-2-4096",  "db-custom-4-8192",
                                     "db-custom-2-13312", "db-custom-96-624640",
                                     "db-custom-4-3840",  NULL};
  static const char *const bad[] = {"db-custom-0-3840",   "db-custom-3-4096",
                                    "db-custom-98-98304", "db-custom-2-3584",
                                    "db-custom-1-3584",   "db-custom-1-6912",
                                    "db-custom-2-4000",   "db-custom-2-13568",
                                    "db-custom-4-3968x",  "db-custom-02-4096",
                                    "db-custom-2-4096x",  "db-custom-2",
                                    "db-custom--2-4096",  "db-n1-standard-1",
                                    "db-f1-small",        "",
                                    "db-custom-2-4096-1", NULL};
  int shared, cpu, mb;
  size_t i;

  (void)state;
  for (i = 0; good[i]; i++)
    if (!edv__sql_tier_parse(good[i], &shared, &cpu, &mb))
      fail_msg("%s should be valid", good[i]);
  for (i = 0; bad[i]; i++)
    if (edv__sql_tier_parse(bad[i], NULL, NULL, NULL))
      fail_msg("%s should be refused", bad[i]);
  assert_true(edv__sql_tier_parse("db-custom-2-4096", &shared, &cpu, &mb));
  assert_false(shared);
  assert_int_equal(cpu, 2);
  assert_int_equal(mb, 4096);
  assert_true(edv__sql_tier_parse("db-g1-small", &shared, &cpu, &mb));
  assert_true(shared);
  assert_int_equal(cpu, 0);
  assert_false(edv__sql_tier_parse(NULL, NULL, NULL, NULL));

  assert_true(edv__machine_type_valid("e2-small"));
  assert_true(edv__machine_type_valid("n2d-highmem-8"));
  assert_true(edv__machine_type_valid("e2-custom-2-4096"));
  assert_false(edv__machine_type_valid("e2"));
  assert_false(edv__machine_type_valid("e2--small"));
  assert_false(edv__machine_type_valid("2e-small"));
  assert_false(edv__machine_type_valid("e2-Small"));
  assert_false(edv__machine_type_valid(""));
}

/*
 * Hand-computed (730 h/month, fleet of 100, snapshot/backup GB =
 * disk * (0.5 + 0.01 * retention days)):
 *   basic:    VM 0.0167529*730 = 12.229617; disk 20*0.17 = 3.4;
 *             SQL 0.0105*730 = 7.665; SQL storage 10*0.17 = 1.7;
 *             SQL backups 10*0.8*0.08 = 0.64; snapshots 20*0.8*0.05 = 0.8;
 *             LB 0.025*730/100 = 0.1825; DNS 0.20/100 = 0.002
 *   premium:  SQL (2*0.0413 + 4*0.007)*730 = 80.738 (google-cloud.md 9: $80.74)
 *   enterprise: SQL HA (4*0.0826 + 8*0.014)*730 = 322.952 ($322.95),
 *             storage 100*0.34 = 34
 */
static void test_cost_estimates(void **state)
{
  edv__tiers *t = load_real();
  edv__tier_cost c;
  edv_error err;

  (void)state;
  assert_int_equal(
      edv__tier_cost_estimate(t, edv__tiers_find(t, "basic"), 0, &c, &err), 0);
  assert_near(c.vm, 12.229617);
  assert_near(c.disk, 3.4);
  assert_near(c.sql, 7.665);
  assert_near(c.sql_storage, 1.7);
  assert_near(c.sql_backups, 0.64);
  assert_near(c.snapshots, 0.8);
  assert_near(c.lb_share, 0.1825);
  assert_near(c.dns_share, 0.002);
  assert_near(c.total, 26.619117);

  assert_int_equal(
      edv__tier_cost_estimate(t, edv__tiers_find(t, "standard"), 0, &c, &err),
      0);
  assert_near(c.vm, 24.459161);
  assert_near(c.disk, 8.5);
  assert_near(c.sql, 25.55);
  assert_near(c.sql_storage, 3.4);
  assert_near(c.sql_backups, 1.28);
  assert_near(c.snapshots, 2.0);
  assert_near(c.total, 65.373661);

  assert_int_equal(
      edv__tier_cost_estimate(t, edv__tiers_find(t, "premium"), 0, &c, &err),
      0);
  assert_near(c.vm, 48.918322);
  assert_near(c.disk, 17.0);
  assert_near(c.sql, 80.738);
  assert_near(c.sql_storage, 8.5);
  assert_near(c.sql_backups, 5.6);
  assert_near(c.snapshots, 7.0);
  assert_near(c.total, 167.940822);

  assert_int_equal(
      edv__tier_cost_estimate(t, edv__tiers_find(t, "enterprise"), 0, &c, &err),
      0);
  assert_near(c.vm, 97.836644);
  assert_near(c.disk, 34.0);
  assert_near(c.sql, 322.952);
  assert_near(c.sql_storage, 34.0);
  assert_near(c.sql_backups, 33.2);
  assert_near(c.snapshots, 41.5);
  assert_near(c.total, 563.673144);

  /* A fleet of one carries the whole forwarding rule and zone. */
  assert_int_equal(
      edv__tier_cost_estimate(t, edv__tiers_find(t, "enterprise"), 1, &c, &err),
      0);
  assert_near(c.lb_share, 18.25);
  assert_near(c.dns_share, 0.2);
  assert_near(c.total, 581.938644);

  assert_int_equal(edv__tier_cost_estimate(t, NULL, 0, &c, &err), EDV_EINVAL);
  edv__tiers_free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_real_file_matches_seed),
      cmocka_unit_test(test_bad_fields_named),
      cmocka_unit_test(test_sql_tier_rules),
      cmocka_unit_test(test_cost_estimates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
