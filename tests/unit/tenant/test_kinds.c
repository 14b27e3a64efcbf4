/*
 * test_kinds.c - the table of a tenant's resource kinds (tenant/kinds.h):
 * its invariants against the step table, the names, ownership and path
 * templates, the rows' builds, and the pure diffs of Cloud SQL and the VM
 * field by field (and of the other kinds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tenant/kinds.h"
#include "tenant/render.h"
#include "tenant/steps.h"
#include "tenant/vmswap.h"

static edv__tiers *tiers;

static int setup(void **state)
{
  const char *root = getenv("EDV_SOURCE_ROOT");
  char path[1024];
  edv_error err;

  (void)state;
  snprintf(path, sizeof(path), "%s/tiers.json", root ? root : ".");
  if (edv__tiers_load_file(path, &tiers, &err) != 0) {
    fprintf(stderr, "tiers: %s\n", err.message);
    return -1;
  }
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  edv__tiers_free(tiers);
  return 0;
}

/* Steps that manage no resource of their own (sql_restore puts a backup's
 * data into the sql_instance step's instance; region_nat the region's
 * router, a platform kind its tenants share; vm_release replaces the vm
 * step's VM). */
static int resourceless(const char *step)
{
  static const char *const none[] = {"preflight",    "health",
                                     "registration", "sql_restore",
                                     "region_nat",   "vm_release"};

  for (size_t i = 0; i < sizeof(none) / sizeof(*none); i++)
    if (strcmp(step, none[i]) == 0)
      return 1;
  return 0;
}

/* Every resource step has its kinds; every kind names a real step. */
static void test_steps(void **state)
{
  (void)state;
  for (unsigned s = 0; s < edv__tenant_nsteps; s++) {
    const char *step = edv__tenant_steps[s].name;
    int found = 0;
    for (unsigned k = 0; k < EDV_KIND__COUNT; k++)
      found += strcmp(edv__kinds[k].step, step) == 0;
    if (resourceless(step) ? found != 0 : found == 0)
      fail_msg("step %s has %d kind(s)", step, found);
  }
  for (unsigned k = 0; k < EDV_KIND__COUNT; k++) {
    const edv__kind *kd = &edv__kinds[k];
    int found = 0;
    assert_non_null(kd->id);
    assert_non_null(kd->title);
    assert_non_null(kd->name);
    for (unsigned s = 0; s < edv__tenant_nsteps; s++)
      found += strcmp(edv__tenant_steps[s].name, kd->step) == 0;
    if (found != 1)
      fail_msg("kind %s: step %s is not in the plan", kd->id, kd->step);
    assert_ptr_equal(edv__kind_find(kd->id), kd);
    if (kd->own == EDV_OWN_LABELS)
      assert_non_null(kd->labels_at);
    /* A kind the drift pass lists has a collection and a call label. */
    if (kd->list_query)
      assert_true(kd->list && kd->list_label);
    /* A kind its step creates by POST has the call's label. */
    assert_true(!kd->create == !kd->create_label);
  }
  assert_null(edv__kind_find("nope"));
}

/* The kinds' order (deletion: dependents first) from the step table: no
 * kind needs itself or one that needs it; the pairs that matter. */
static void test_needs(void **state)
{
  static const struct {
    edv__kind_id a, b;
  } needs[] = {
      {EDV_KIND_VM, EDV_KIND_SUBNET},
      {EDV_KIND_VM, EDV_KIND_SERVICE_ACCOUNT},
      {EDV_KIND_VM, EDV_KIND_SQL_INSTANCE}, /* through the user, the db */
      {EDV_KIND_FW_ALLOW_DB, EDV_KIND_SQL_INSTANCE},
      {EDV_KIND_SECRET, EDV_KIND_SERVICE_ACCOUNT},
      {EDV_KIND_VM, EDV_KIND_PROJECT_ROLES},
      {EDV_KIND_PROJECT_ROLES, EDV_KIND_SERVICE_ACCOUNT},
      {EDV_KIND_INSTANCE_GROUP, EDV_KIND_VM},
      {EDV_KIND_BACKEND_SERVICE, EDV_KIND_INSTANCE_GROUP},
      {EDV_KIND_URL_MAP_RULE, EDV_KIND_BACKEND_SERVICE},
      {EDV_KIND_URL_MAP_RULE, EDV_KIND_VM},
      {EDV_KIND_CERTIFICATE, EDV_KIND_DNS_AUTHORIZATION},
      {EDV_KIND_CERT_MAP_ENTRY, EDV_KIND_CERTIFICATE},
  };

  (void)state;
  for (unsigned a = 0; a < EDV_KIND__COUNT; a++)
    for (unsigned b = 0; b < EDV_KIND__COUNT; b++)
      if (edv__kind_needs(&edv__kinds[a], &edv__kinds[b]) &&
          edv__kind_needs(&edv__kinds[b], &edv__kinds[a]))
        fail_msg("%s and %s need each other", edv__kinds[a].id,
                 edv__kinds[b].id);
  for (size_t i = 0; i < sizeof(needs) / sizeof(*needs); i++) {
    assert_true(
        edv__kind_needs(&edv__kinds[needs[i].a], &edv__kinds[needs[i].b]));
    assert_false(
        edv__kind_needs(&edv__kinds[needs[i].b], &edv__kinds[needs[i].a]));
  }
  /* One step's kinds: made and deleted together. */
  assert_false(
      edv__kind_needs(&edv__kinds[EDV_KIND_VM], &edv__kinds[EDV_KIND_DISK]));
  assert_false(edv__kind_needs(&edv__kinds[EDV_KIND_SUBNET],
                               &edv__kinds[EDV_KIND_CERTIFICATE]));
}

/* What a step marks a body with (its row's marks) passes the row's
 * ownership test, for every kind that carries an owner. */
static void test_marks(void **state)
{
  char desc[128], id[EDV_TENANT_ID_MAX + 1];

  (void)state;
  edv__tenant_description("school001", desc, sizeof(desc));
  for (unsigned k = 0; k < EDV_KIND__COUNT; k++) {
    const edv__kind *kd = &edv__kinds[k];
    json_object *o = json_object_new_object();

    edv__kind_mark(kd, o, desc, edv__tenant_labels("school001", "basic"));
    if (kd->own == EDV_OWN_NONE) {
      assert_int_equal(kd->marks, 0);
      assert_int_equal(json_object_object_length(o), 0);
    } else if (edv__kind_owner(kd, o, id, sizeof(id)) != 1 ||
               strcmp(id, "school001") != 0) {
      fail_msg("kind %s: its marks %s fail its ownership test", kd->id,
               json_object_to_json_string(o));
    }
    json_object_put(o);
  }
}

/* The platform's kinds: one row per platform step, each naming its step;
 * what a platform step marks a body with (its row's marks, the platform's
 * marker and labels) passes the row's ownership test, as the platform
 * reads it (its description marker, an edv-managed=true label at
 * labels_at). */
static void test_platform(void **state)
{
  char id[EDV_TENANT_ID_MAX + 1];

  (void)state;
  for (unsigned s = 0; s < edv__platform_nsteps; s++) {
    int found = 0;
    for (unsigned k = 0; k < EDV_PKIND__COUNT; k++)
      found +=
          strcmp(edv__platform_kinds[k].step, edv__platform_steps[s].name) == 0;
    if (found != 1)
      fail_msg("platform step %s has %d row(s)", edv__platform_steps[s].name,
               found);
  }
  assert_int_equal(edv__platform_nsteps, EDV_PKIND__COUNT);
  for (unsigned k = 0; k < EDV_PKIND__COUNT; k++) {
    const edv__kind *kd = &edv__platform_kinds[k];
    json_object *o = json_object_new_object(), *labels, *l;

    assert_non_null(kd->id);
    assert_non_null(kd->title);
    assert_non_null(kd->path);
    assert_true(!kd->create == !kd->create_label);
    assert_null(kd->name);
    labels = json_object_new_object();
    json_object_object_add(labels, EDV_LABEL_MANAGED,
                           json_object_new_string("true"));
    edv__kind_mark(kd, o, EDV_MARKER_PLATFORM, labels);
    switch (kd->own) {
    case EDV_OWN_DESC:
      /* The platform's marker, which no tenant's test takes for its own. */
      assert_true(kd->marks & EDV_MARK_DESC);
      if (!edv__jstr(o, "description") ||
          strcmp(edv__jstr(o, "description"), EDV_MARKER_PLATFORM) != 0 ||
          edv__description_owner(edv__jstr(o, "description"), id, sizeof(id)))
        fail_msg("platform kind %s: its marks %s fail its ownership test",
                 kd->id, json_object_to_json_string(o));
      break;
    case EDV_OWN_LABELS:
      assert_non_null(kd->labels_at);
      l = edv__jget(o, kd->labels_at);
      if (!edv__jstr(l, EDV_LABEL_MANAGED) ||
          strcmp(edv__jstr(l, EDV_LABEL_MANAGED), "true") != 0)
        fail_msg("platform kind %s: its marks %s fail its ownership test",
                 kd->id, json_object_to_json_string(o));
      break;
    default:
      assert_int_equal(kd->marks, 0);
      assert_int_equal(json_object_object_length(o), 0);
    }
    json_object_put(o);
  }
}

/* Ids unique; a view key names one kind, or several when it is a list. */
static void test_unique(void **state)
{
  (void)state;
  for (unsigned a = 0; a < EDV_KIND__COUNT; a++) {
    for (unsigned b = a + 1; b < EDV_KIND__COUNT; b++) {
      const edv__kind *x = &edv__kinds[a], *y = &edv__kinds[b];
      if (strcmp(x->id, y->id) == 0)
        fail_msg("kind id %s twice", x->id);
      if (x->view && y->view && strcmp(x->view, y->view) == 0 &&
          !(x->view_list && y->view_list))
        fail_msg("view key %s of %s and %s", x->view, x->id, y->id);
    }
  }
}

/* A tenant's names: resources listed from the same collection never
 * share a name, and a per-host kind has one per hostname. */
static void test_names(void **state)
{
  edv__kind_who w = {
      "school001", "greenwood-high", 1,
      "edv-prod",  "edvirons.com",   edv__tiers_find(tiers, "basic")};
  edv__kind_who one = {
      "school002", "school002",    3,
      "edv-prod",  "edvirons.com", edv__tiers_find(tiers, "basic")};
  char a[EDV_FQDN_MAX], b[EDV_FQDN_MAX], path[1024];

  (void)state;
  for (unsigned k = 0; k < EDV_KIND__COUNT; k++) {
    const edv__kind *x = &edv__kinds[k];
    assert_int_equal(x->name(&w, 0, a, sizeof(a)), 0);
    assert_int_equal(x->name(&w, 5, a, sizeof(a)), EDV_ENOTFOUND);
    assert_int_not_equal(x->name(&w, 0, a, 3), 0);
    if (x->path) {
      assert_int_equal(edv__kind_path(x->path, w.project, "us-central1",
                                      "us-central1-a", a, "edv-zone", path,
                                      sizeof(path)),
                       0);
      assert_null(strchr(path, '{'));
    }
    for (unsigned l = k + 1; l < EDV_KIND__COUNT; l++) {
      const edv__kind *y = &edv__kinds[l];
      if (!x->list || !y->list || strcmp(x->list, y->list) != 0)
        continue;
      assert_int_equal(y->name(&w, 0, b, sizeof(b)), 0);
      if (strcmp(a, b) == 0)
        fail_msg("%s and %s are both named %s", x->id, y->id, a);
    }
  }
  assert_int_equal(
      edv__kinds[EDV_KIND_SQL_INSTANCE].name(&one, 0, a, sizeof(a)), 0);
  assert_string_equal(a, "edv-school002-db-3");
  assert_int_equal(
      edv__kinds[EDV_KIND_CERT_MAP_ENTRY].name(&w, 1, a, sizeof(a)), 0);
  assert_int_equal(
      edv__kinds[EDV_KIND_CERT_MAP_ENTRY].name(&one, 1, a, sizeof(a)),
      EDV_ENOTFOUND);
  assert_int_equal(edv__kinds[EDV_KIND_DNS_RECORD].name(&w, 1, a, sizeof(a)),
                   0);
  assert_string_equal(a, "greenwood-high.edvirons.com.");
  assert_int_equal(
      edv__kinds[EDV_KIND_SERVICE_ACCOUNT].name(&w, 0, a, sizeof(a)), 0);
  assert_string_equal(a, "edv-school001@edv-prod.iam.gserviceaccount.com");
  /* A missing value or a short buffer is refused, never truncated. */
  assert_int_equal(edv__kind_path(edv__kinds[EDV_KIND_VM].path, "p", "r", NULL,
                                  "n", NULL, path, sizeof(path)),
                   -1);
  assert_int_equal(edv__kind_path(edv__kinds[EDV_KIND_VM].path, "p", "r", "z",
                                  "n", NULL, path, 10),
                   -1);
}

static void test_owner(void **state)
{
  json_object *labels = edv__tenant_labels("school001", "basic");
  json_object *vm = json_object_new_object(), *sql = json_object_new_object();
  json_object *fw = json_object_new_object(), *st = json_object_new_object();
  char id[EDV_TENANT_ID_MAX + 1];

  (void)state;
  json_object_object_add(vm, "labels", json_object_get(labels));
  json_object_object_add(st, "userLabels", labels);
  json_object_object_add(sql, "settings", st);
  json_object_object_add(fw, "description",
                         json_object_new_string("edv-managed:tenant=t9 x"));
  assert_int_equal(
      edv__kind_owner(&edv__kinds[EDV_KIND_VM], vm, id, sizeof(id)), 1);
  assert_string_equal(id, "school001");
  assert_int_equal(
      edv__kind_owner(&edv__kinds[EDV_KIND_SQL_INSTANCE], sql, id, sizeof(id)),
      1);
  /* Labels where the kind keeps none are not an owner. */
  assert_int_equal(
      edv__kind_owner(&edv__kinds[EDV_KIND_SQL_INSTANCE], vm, id, sizeof(id)),
      0);
  assert_int_equal(
      edv__kind_owner(&edv__kinds[EDV_KIND_FW_DENY_DB], fw, id, sizeof(id)), 1);
  assert_string_equal(id, "t9");
  assert_int_equal(
      edv__kind_owner(&edv__kinds[EDV_KIND_FW_DENY_DB], vm, id, sizeof(id)), 0);
  assert_int_equal(
      edv__kind_owner(&edv__kinds[EDV_KIND_URL_MAP_RULE], fw, id, sizeof(id)),
      0);
  json_object_put(vm);
  json_object_put(sql);
  json_object_put(fw);
}

/* ---- Cloud SQL ------------------------------------------------------------*/

static edv__kind_ctx ctx_of(const char *tier)
{
  edv__kind_ctx c = {edv__tiers_find(tiers, tier), "school001", "edv-prod",
                     "edv-tenants", "us-central1-a"};

  c.backup_location = "us";
  assert_non_null(c.tier);
  return c;
}

/* An instance as the step creates it for tier `t`. */
static json_object *sql_as_wanted(const edv__kind_ctx *c)
{
  json_object *o = json_object_new_object(), *st = json_object_new_object();
  char gb[16];

  snprintf(gb, sizeof(gb), "%d", c->tier->sql.data_disk_gb);
  json_object_object_add(st, "tier", json_object_new_string(c->tier->sql.tier));
  json_object_object_add(
      st, "availabilityType",
      json_object_new_string(c->tier->sql.regional ? "REGIONAL" : "ZONAL"));
  json_object_object_add(st, "dataDiskSizeGb", json_object_new_string(gb));
  json_object_object_add(st, "userLabels",
                         edv__tenant_labels(c->tenant, c->tier->name));
  json_object_object_add(st, "backupConfiguration",
                         edv__sql_backup_config(c->tier, c->backup_location));
  json_object_object_add(st, "ipConfiguration",
                         edv__sql_ip_config(c->project, c->network));
  json_object_object_add(st, "deletionProtectionEnabled",
                         json_object_new_boolean(1));
  json_object_object_add(o, "settings", st);
  return o;
}

/* Sets a settings field (dotted path below settings) to a JSON value. */
static void set_field(json_object *o, const char *path, const char *json)
{
  char buf[256], *dot, *p = buf;
  json_object *at = json_object_object_get(o, "settings");

  snprintf(buf, sizeof(buf), "%s", path);
  while ((dot = strchr(p, '.'))) {
    *dot = '\0';
    at = json_object_object_get(at, p);
    assert_non_null(at);
    p = dot + 1;
  }
  json_object_object_add(at, p, json_tokener_parse(json));
}

static void test_sql_equal(void **state)
{
  edv__kind_ctx c = ctx_of("premium");
  json_object *o = sql_as_wanted(&c), *patch = (json_object *)1;
  char text[512];

  (void)state;
  assert_int_equal(edv__kind_sql_diff(&c, o, &patch, text, sizeof(text)), 0);
  assert_null(patch);
  assert_string_equal(text, "");
  /* A larger disk and another storage type are no differences. */
  set_field(o, "dataDiskSizeGb", "\"500\"");
  set_field(o, "dataDiskType", "\"PD_HDD\"");
  assert_int_equal(edv__kind_sql_diff(&c, o, NULL, text, sizeof(text)), 0);
  json_object_put(o);
}

/* Each field the step puts right is a difference with its patch. */
static void test_sql_fields(void **state)
{
  static const struct {
    const char *path, *value, *note, *patched;
  } cases[] = {
      {"tier", "\"db-custom-9-1\"", "tier db-custom-9-1 -> ", "tier"},
      {"ipConfiguration.ipv4Enabled", "true", "public IP enabled",
       "ipConfiguration"},
      {"ipConfiguration.sslMode", "\"ALLOW_UNENCRYPTED_AND_ENCRYPTED\"",
       "sslMode ALLOW_UNENCRYPTED_AND_ENCRYPTED -> ENCRYPTED_ONLY",
       "ipConfiguration"},
      {"ipConfiguration.privateNetwork",
       "\"projects/edv-prod/global/networks/other\"", "private network ",
       "ipConfiguration"},
      {"deletionProtectionEnabled", "false", "deletion protection off -> on",
       "deletionProtectionEnabled"},
      {"availabilityType", "\"SOMEWHERE\"", "availability SOMEWHERE -> ",
       "availabilityType"},
      {"dataDiskSizeGb", "\"1\"", "storage 1 GB -> ", "dataDiskSizeGb"},
      {"backupConfiguration.enabled", "false", "backups disabled -> enabled",
       "backupConfiguration"},
      {"backupConfiguration.startTime", "\"23:00\"",
       "backup start time 23:00 -> ", "backupConfiguration"},
      {"backupConfiguration.transactionLogRetentionDays", "1",
       "transaction log retention 1 -> ", "backupConfiguration"},
      {"backupConfiguration.backupRetentionSettings.retainedBackups", "99",
       "retained backups 99 -> ", "backupConfiguration"},
      {"backupConfiguration.pointInTimeRecoveryEnabled", "false",
       "point-in-time recovery off -> on", "backupConfiguration"},
      {"backupConfiguration.location", "\"us-central1\"",
       "backup location us-central1 -> us", "backupConfiguration"},
  };
  edv__kind_ctx c = ctx_of("premium");

  (void)state;
  assert_true(c.tier->sql.pitr); /* the last case needs it */
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    json_object *o = sql_as_wanted(&c), *patch = NULL;
    char text[512];
    set_field(o, cases[i].path, cases[i].value);
    if (edv__kind_sql_diff(&c, o, &patch, text, sizeof(text)) != 1)
      fail_msg("%s: %s", cases[i].path, text);
    if (!strstr(text, cases[i].note))
      fail_msg("%s: '%s' lacks '%s'", cases[i].path, text, cases[i].note);
    assert_non_null(patch);
    assert_non_null(json_object_object_get(
        json_object_object_get(patch, "settings"), cases[i].patched));
    /* The patch applied gives what the tier wants. */
    json_object_object_foreach(json_object_object_get(patch, "settings"), k, v)
    {
      json_object_object_add(json_object_object_get(o, "settings"), k,
                             json_object_get(v));
    }
    assert_int_equal(edv__kind_sql_diff(&c, o, NULL, text, sizeof(text)), 0);
    json_object_put(patch);
    json_object_put(o);
  }
}

/* sql.backup_location: auto takes the multi-region of the region's
 * continent (outside the region), region keeps the default, anything
 * else is taken as written. */
static void test_sql_backup_location(void **state)
{
  char buf[64];

  (void)state;
  assert_string_equal(
      edv__sql_backup_location("auto", "europe-west4", buf, sizeof(buf)), "eu");
  assert_string_equal(
      edv__sql_backup_location(NULL, "us-central1", buf, sizeof(buf)), "us");
  assert_string_equal(edv__sql_backup_location("auto", "australia-southeast1",
                                               buf, sizeof(buf)),
                      "asia");
  assert_null(edv__sql_backup_location("region", "us-east1", buf, sizeof(buf)));
  assert_null(
      edv__sql_backup_location("auto", "mars-north1", buf, sizeof(buf)));
  assert_string_equal(edv__sql_backup_location("europe-west1", "europe-west4",
                                               buf, sizeof(buf)),
                      "europe-west1");
}

/* A scaled tenant: the tier's settings and its label in one patch; the
 * notes are separated so that the drift pass can list them one by one. */
static void test_sql_scaled(void **state)
{
  edv__kind_ctx basic = ctx_of("basic"), premium = ctx_of("premium");
  json_object *o = sql_as_wanted(&basic), *patch = NULL, *st;
  char text[512];
  int n = edv__kind_sql_diff(&premium, o, &patch, text, sizeof(text));

  (void)state;
  assert_true(n >= 2);
  assert_non_null(strstr(text, EDV_KIND_NOTE_SEP));
  st = json_object_object_get(patch, "settings");
  assert_string_equal(
      json_object_get_string(json_object_object_get(
          json_object_object_get(st, "userLabels"), EDV_LABEL_TIER)),
      "premium");
  /* A short text buffer is cut, never overrun. */
  assert_int_equal(edv__kind_sql_diff(&premium, o, NULL, text, 8), n);
  assert_true(strlen(text) < 8);
  json_object_put(patch);
  json_object_put(o);
}

/* ---- VM ---------------------------------------------------------------*/

static void test_vm(void **state)
{
  edv__kind_ctx c = ctx_of("basic");
  json_object *o = json_object_new_object(), *patch = NULL;
  char text[256], mt[256];

  (void)state;
  snprintf(mt, sizeof(mt),
           "https://www.googleapis.com/compute/v1/projects/p/zones/"
           "us-central1-a/machineTypes/%s",
           c.tier->machine_type);
  json_object_object_add(o, "machineType", json_object_new_string(mt));
  json_object_object_add(o, "status", json_object_new_string("RUNNING"));
  json_object_object_add(o, "labels",
                         edv__tenant_labels("school001", c.tier->name));
  assert_int_equal(edv__kind_vm_diff(&c, o, &patch, text, sizeof(text)), 0);
  assert_null(patch);
  json_object_object_add(
      o, "machineType",
      json_object_new_string("zones/us-central1-a/machineTypes/n2-huge"));
  assert_int_equal(edv__kind_vm_diff(&c, o, &patch, text, sizeof(text)), 1);
  snprintf(mt, sizeof(mt), "machine type n2-huge -> %s", c.tier->machine_type);
  assert_string_equal(text, mt);
  snprintf(mt, sizeof(mt), "zones/us-central1-a/machineTypes/%s",
           c.tier->machine_type);
  assert_string_equal(
      json_object_get_string(json_object_object_get(patch, "machineType")), mt);
  json_object_put(patch);
  json_object_object_add(o, "status", json_object_new_string("TERMINATED"));
  assert_int_equal(edv__kind_vm_diff(&c, o, NULL, text, sizeof(text)), 2);
  assert_non_null(strstr(text, "stopped (TERMINATED)"));
  json_object_put(o);
}

/* The display name in the VM's startup script: a patch of its metadata
 * (setMetadata) that replaces that line only, once the machine type is
 * right; not compared when the context has none (the drift pass). */
static void test_vm_name(void **state)
{
  edv__kind_ctx c = ctx_of("basic");
  json_object *o, *patch = NULL, *items;
  char text[256], json[1024];
  const char *script;

  (void)state;
  snprintf(json, sizeof(json),
           "{\"machineType\":\"zones/z/machineTypes/%s\",\"status\":"
           "\"RUNNING\",\"labels\":{\"edv-tier\":\"basic\"},"
           "\"metadata\":{\"fingerprint\":\"fp1\",\"items\":["
           "{\"key\":\"edv-tenant\",\"value\":\"t1\"},{\"key\":"
           "\"startup-script\",\"value\":\"#!/bin/sh\\nA=1\\n"
           "EDV_TENANT_NAME='Old School'\\nB=2\\n\"},"
           "{\"key\":\"edv-tier\",\"value\":\"basic\"},"
           "{\"key\":\"edv-max-users\",\"value\":\"%d\"}]}}",
           c.tier->machine_type, c.tier->max_users);
  o = json_tokener_parse(json);
  assert_non_null(o);
  assert_int_equal(edv__kind_vm_diff(&c, o, &patch, text, sizeof(text)), 0);
  c.display_name = "Old School";
  assert_int_equal(edv__kind_vm_diff(&c, o, &patch, text, sizeof(text)), 0);
  assert_null(patch);
  c.display_name = "New's School";
  assert_int_equal(edv__kind_vm_diff(&c, o, &patch, text, sizeof(text)), 1);
  assert_string_equal(text, "display name in the startup script differs");
  assert_non_null(patch);
  assert_string_equal(
      json_object_get_string(json_object_object_get(patch, "fingerprint")),
      "fp1");
  items = json_object_object_get(patch, "items");
  assert_int_equal(json_object_array_length(items), 4);
  script = json_object_get_string(
      json_object_object_get(json_object_array_get_idx(items, 1), "value"));
  assert_string_equal(script, "#!/bin/sh\nA=1\nEDV_TENANT_NAME='New'\\''s "
                              "School'\nB=2\n");
  json_object_put(patch);
  /* The machine type first: its patch is setMachineType's. */
  json_object_object_add(
      o, "machineType",
      json_object_new_string("zones/us-central1-a/machineTypes/n2-huge"));
  assert_int_equal(edv__kind_vm_diff(&c, o, &patch, text, sizeof(text)), 2);
  assert_non_null(json_object_object_get(patch, "machineType"));
  assert_null(json_object_object_get(patch, "items"));
  json_object_put(patch);
  json_object_put(o);
}

/*
 * A scaled tenant's VM: its metadata says the old tier (the startup
 * script's app environment, edv-tier, edv-max-users) and so does its
 * label. The metadata comes first (one setMetadata that replaces those
 * lines and items only), then the label (setLabels with the observed
 * labelFingerprint, the other labels kept); the drift pass's view (no
 * display name, no patch) counts the same differences.
 */
static void test_vm_tier(void **state)
{
  edv__kind_ctx basic = ctx_of("basic"), premium = ctx_of("premium");
  char *env = edv__render_tier_env(basic.tier), *want;
  json_object *o = json_object_new_object(), *md = json_object_new_object();
  json_object *items = json_object_new_array(), *it, *patch = NULL, *l;
  char text[512], mt[128], users[16], script[1024];
  int n;

  (void)state;
  assert_non_null(env);
  snprintf(mt, sizeof(mt), "zones/z/machineTypes/%s", basic.tier->machine_type);
  json_object_object_add(o, "machineType", json_object_new_string(mt));
  json_object_object_add(o, "status", json_object_new_string("RUNNING"));
  l = edv__tenant_labels("school001", "basic");
  json_object_object_add(l, "other", json_object_new_string("kept"));
  json_object_object_add(o, "labels", l);
  json_object_object_add(o, "labelFingerprint", json_object_new_string("lf"));
  snprintf(script, sizeof(script), "#!/bin/bash\nEDV_TENANT_ID=x\n%sPORT=1\n",
           env);
  snprintf(users, sizeof(users), "%d", basic.tier->max_users);
  {
    const char *kv[][2] = {{"startup-script", script},
                           {"edv-tier", "basic"},
                           {"edv-max-users", users},
                           {"edv-db-host", "10.0.0.2"}};
    for (size_t i = 0; i < 4; i++) {
      it = json_object_new_object();
      json_object_object_add(it, "key", json_object_new_string(kv[i][0]));
      json_object_object_add(it, "value", json_object_new_string(kv[i][1]));
      json_object_array_add(items, it);
    }
  }
  json_object_object_add(md, "items", items);
  json_object_object_add(md, "fingerprint", json_object_new_string("fp"));
  json_object_object_add(o, "metadata", md);
  assert_int_equal(edv__kind_vm_diff(&basic, o, &patch, text, sizeof(text)), 0);
  assert_null(patch);

  /* app environment, edv-tier, edv-max-users, the label (the machine
   * type as premium's, for this). */
  snprintf(mt, sizeof(mt), "zones/z/machineTypes/%s",
           premium.tier->machine_type);
  json_object_object_add(o, "machineType", json_object_new_string(mt));
  n = edv__kind_vm_diff(&premium, o, &patch, text, sizeof(text));
  assert_int_equal(n, 4);
  assert_int_equal(edv__kind_vm_diff(&premium, o, NULL, text, sizeof(text)), n);
  assert_non_null(strstr(text, "metadata edv-max-users"));
  assert_non_null(strstr(text, "label edv-tier basic -> premium"));
  assert_non_null(patch);
  assert_string_equal(edv__jstr(patch, "fingerprint"), "fp");
  items = json_object_object_get(patch, "items");
  assert_int_equal(json_object_array_length(items), 4);
  want = edv__render_tier_env(premium.tier);
  snprintf(script, sizeof(script), "#!/bin/bash\nEDV_TENANT_ID=x\n%sPORT=1\n",
           want);
  free(want);
  assert_string_equal(edv__jstr(json_object_array_get_idx(items, 0), "value"),
                      script);
  assert_string_equal(edv__jstr(json_object_array_get_idx(items, 1), "value"),
                      "premium");
  snprintf(users, sizeof(users), "%d", premium.tier->max_users);
  assert_string_equal(edv__jstr(json_object_array_get_idx(items, 2), "value"),
                      users);
  assert_string_equal(edv__jstr(json_object_array_get_idx(items, 3), "value"),
                      "10.0.0.2");
  assert_null(json_object_object_get(patch, "labels"));

  /* Once the metadata is put right: the label's patch. */
  json_object_object_add(o, "metadata", json_object_get(patch));
  json_object_put(patch);
  patch = NULL;
  assert_int_equal(edv__kind_vm_diff(&premium, o, &patch, text, sizeof(text)),
                   1);
  assert_string_equal(edv__jstr(patch, "labelFingerprint"), "lf");
  assert_string_equal(
      json_object_get_string(edv__jget(patch, "labels.edv-tier")), "premium");
  assert_string_equal(json_object_get_string(edv__jget(patch, "labels.other")),
                      "kept");
  assert_string_equal(
      json_object_get_string(edv__jget(patch, "labels.edv-tenant")),
      "school001");
  assert_null(json_object_object_get(patch, "items"));
  json_object_put(patch);

  /* The boot disk's label: the same patch, disks.setLabels's. */
  patch = NULL;
  assert_int_equal(edv__kind_disk_diff(&premium, o, &patch, text, sizeof(text)),
                   1);
  assert_string_equal(
      json_object_get_string(edv__jget(patch, "labels.edv-tier")), "premium");
  json_object_put(patch);
  assert_int_equal(edv__kind_disk_diff(&basic, o, NULL, text, sizeof(text)), 0);
  free(env);
  json_object_put(o);
}

/* ---- firewall rules -------------------------------------------------*/

static void test_fw(void **state)
{
  edv__kind_ctx c = ctx_of("basic");
  json_object *o, *patch = NULL, *p2;
  char text[512];

  (void)state;
  c.db_ip = "10.96.0.5";
  for (int k = 0; k < EDV_FIREWALL__COUNT; k++) {
    o = edv__kind_fw_rule(&c, (edv__firewall_kind)k);
    assert_int_equal(edv__kind_fw_diff(&c, o, &patch, text, sizeof(text)), 0);
    assert_null(patch);
    json_object_put(o);
  }
  o = edv__kind_fw_rule(&c, EDV_FIREWALL_ALLOW_DB);
  assert_non_null(strstr(json_object_to_json_string(o), "10.96.0.5\\/32"));
  json_object_put(o);
  /* Widened, disabled, another source tag: three notes, one patch. */
  o = edv__kind_fw_rule(&c, EDV_FIREWALL_ALLOW_LB);
  json_object_object_add(o, "sourceRanges",
                         json_tokener_parse("[\"0.0.0.0/0\"]"));
  json_object_object_add(o, "disabled", json_object_new_boolean(1));
  json_object_object_add(o, "sourceTags", json_tokener_parse("[\"edv-x\"]"));
  assert_int_equal(edv__kind_fw_diff(&c, o, &patch, text, sizeof(text)), 3);
  assert_non_null(strstr(text, "ranges differ"));
  assert_non_null(strstr(text, "disabled -> enabled"));
  assert_non_null(strstr(text, "source tags"));
  assert_int_equal(
      json_object_array_length(json_object_object_get(patch, "sourceTags")), 0);
  json_object_object_foreach(patch, k, v)
  {
    json_object_object_add(o, k, json_object_get(v));
  }
  assert_int_equal(edv__kind_fw_diff(&c, o, NULL, text, sizeof(text)), 0);
  json_object_put(patch);
  /* An allow rule that also denies, another priority. */
  json_object_object_add(o, "denied",
                         json_tokener_parse("[{\"IPProtocol\":\"udp\"}]"));
  json_object_object_add(o, "priority", json_object_new_int(10));
  assert_int_equal(edv__kind_fw_diff(&c, o, NULL, text, sizeof(text)), 2);
  assert_non_null(strstr(text, "priority 10 -> 1000"));
  /* Another tenant's rule is none of this one's. */
  c.tenant = "school002";
  assert_int_equal(edv__kind_fw_diff(&c, o, &p2, text, sizeof(text)), -1);
  assert_null(p2);
  json_object_put(o);
}

/* ---- backend service ------------------------------------------------*/

static void test_bes(void **state)
{
  edv__kind_ctx c = ctx_of("basic");
  json_object *o = edv__kind_bes_want(&c), *patch = NULL;
  char text[256];

  (void)state;
  json_object_object_add(o, "fingerprint", json_object_new_string("fp1"));
  assert_int_equal(edv__kind_bes_diff(&c, o, &patch, text, sizeof(text)), 0);
  assert_null(patch);
  json_object_object_add(o, "timeoutSec", json_object_new_int(5));
  json_object_object_add(o, "healthChecks",
                         json_tokener_parse("[\"projects/p/global/"
                                            "healthChecks/other\"]"));
  assert_int_equal(edv__kind_bes_diff(&c, o, &patch, text, sizeof(text)), 2);
  assert_non_null(strstr(text, "timeout 5s -> 30s"));
  assert_non_null(strstr(text, "health check differs"));
  assert_string_equal(
      json_object_get_string(json_object_object_get(patch, "fingerprint")),
      "fp1");
  json_object_object_foreach(patch, k, v)
  {
    json_object_object_add(o, k, json_object_get(v));
  }
  assert_int_equal(edv__kind_bes_diff(&c, o, NULL, text, sizeof(text)), 0);
  json_object_put(patch);
  json_object_put(o);
}

/* ---- subnet ---------------------------------------------------------*/

static void test_subnet(void **state)
{
  edv__kind_ctx c = ctx_of("basic");
  json_object *o = json_tokener_parse("{\"name\":\"edv-school001\","
                                      "\"ipCidrRange\":\"10.20.0.0/24\","
                                      "\"privateIpGoogleAccess\":true}");
  json_object *patch = NULL;
  char text[256];

  (void)state;
  c.cidr = "10.20.0.0/24";
  assert_int_equal(edv__kind_subnet_diff(&c, o, &patch, text, sizeof(text)), 0);
  assert_null(patch);
  assert_string_equal(text, "");
  /* Private Google access off: one note, the setPrivateIpGoogleAccess
   * body; applied, no difference is left. */
  json_object_object_add(o, "privateIpGoogleAccess",
                         json_object_new_boolean(0));
  assert_int_equal(edv__kind_subnet_diff(&c, o, &patch, text, sizeof(text)), 1);
  assert_string_equal(text, "private Google access off -> on");
  assert_string_equal(json_object_to_json_string_ext(patch, 0),
                      "{\"privateIpGoogleAccess\":true}");
  json_object_object_foreach(patch, k, v)
  {
    json_object_object_add(o, k, json_object_get(v));
  }
  json_object_put(patch);
  assert_int_equal(edv__kind_subnet_diff(&c, o, NULL, text, sizeof(text)), 0);
  /* Another range cannot change in place: noted, no patch, even with
   * what could be patched beside it. */
  c.cidr = "10.20.1.0/24";
  json_object_object_del(o, "privateIpGoogleAccess");
  assert_int_equal(edv__kind_subnet_diff(&c, o, &patch, text, sizeof(text)), 2);
  assert_null(patch);
  assert_string_equal(text, "range 10.20.0.0/24 -> 10.20.1.0/24 (cannot "
                            "change in place); private Google access off "
                            "-> on");
  json_object_put(o);
}

/* ---- URL map rule ---------------------------------------------------*/

#define BE                                                                     \
  "https://compute.googleapis.com/compute/v1/projects/edv-prod/"               \
  "global/backendServices/edv-school001-bes"

/* The tenant's account in the project's IAM policy: added beside what
 * others hold (a foreign member of the same role, another role, a
 * conditional binding of the role), taken out leaving them as they were. */
static void test_roles(void **state)
{
  static const char *const foreign =
      "{\"version\":1,\"etag\":\"BwE=\",\"bindings\":["
      "{\"role\":\"roles/owner\",\"members\":[\"user:o@example.com\"]},"
      "{\"role\":\"roles/logging.logWriter\",\"members\":"
      "[\"group:ops@example.com\"]},"
      "{\"role\":\"roles/monitoring.metricWriter\",\"members\":"
      "[\"serviceAccount:edv-school001@edv-prod.iam.gserviceaccount.com\"],"
      "\"condition\":{\"title\":\"t\",\"expression\":\"true\"}}]}";
  const char *member =
      "serviceAccount:edv-school001@edv-prod.iam.gserviceaccount.com";
  edv__kind_ctx c = ctx_of("basic");
  json_object *pol = json_tokener_parse(foreign), *patch = NULL, *orig;
  char text[512];

  (void)state;
  orig = json_tokener_parse(foreign);
  assert_int_equal(edv__kind_roles_diff(&c, pol, &patch, text, sizeof(text)),
                   2);
  assert_non_null(strstr(text, "lacks roles/logging.logWriter"));
  assert_non_null(strstr(text, "lacks roles/monitoring.metricWriter"));
  assert_non_null(patch);
  /* The patch holds the account in both roles and keeps the etag. */
  assert_int_equal(edv__kind_roles_diff(&c, patch, NULL, NULL, 0), 0);
  assert_string_equal(
      json_object_get_string(json_object_object_get(patch, "etag")), "BwE=");
  json_object_put(patch);
  /* Put twice changes once; the foreign member stays beside ours. */
  assert_int_equal(edv__kind_roles_put(pol, member, edv__kind_project_roles, 0),
                   2);
  assert_int_equal(edv__kind_roles_put(pol, member, edv__kind_project_roles, 0),
                   0);
  assert_true(edv__kind_roles_held(pol, member, edv__kind_project_roles, 0));
  assert_int_equal(
      json_object_array_length(json_object_object_get(pol, "bindings")), 4);
  /* Taken out: exactly the policy as it was (the binding it made alone is
   * dropped, the conditional one of the same role kept). */
  assert_int_equal(edv__kind_roles_put(pol, member, edv__kind_project_roles, 1),
                   2);
  assert_true(edv__kind_roles_held(pol, member, edv__kind_project_roles, 1));
  assert_true(json_object_equal(pol, orig));
  json_object_put(pol);
  json_object_put(orig);
}

static void test_urlmap(void **state)
{
  static const char *const hosts[] = {"school001.edvirons.com",
                                      "greenhill.edvirons.com", NULL};
  edv__kind_ctx c = ctx_of("basic");
  json_object *map = json_tokener_parse(
      "{\"name\":\"edv-urlmap\",\"fingerprint\":\"fp9\","
      "\"hostRules\":[{\"hosts\":[\"x.edvirons.com\"],"
      "\"pathMatcher\":\"edv-school002\"}],"
      "\"pathMatchers\":[{\"name\":\"edv-school002\","
      "\"defaultService\":\"projects/edv-prod/global/backendServices/b2\"}]}");
  json_object *patch = NULL, *fixed;
  char text[256];

  (void)state;
  c.hosts = hosts;
  c.backend = BE;
  /* The tenant's entry missing: two notes; the patch is the whole map
   * with it added and the other tenant's kept. */
  assert_int_equal(edv__kind_urlmap_diff(&c, map, &patch, text, sizeof(text)),
                   2);
  /* Counted without text (the URL map writer's test). */
  assert_int_equal(edv__kind_urlmap_diff(&c, map, NULL, NULL, 0), 2);
  assert_string_equal(text, "no host rule for edv-school001; no path matcher "
                            "edv-school001");
  assert_non_null(patch);
  assert_string_equal(
      json_object_get_string(json_object_object_get(patch, "fingerprint")),
      "fp9");
  assert_int_equal(
      json_object_array_length(json_object_object_get(patch, "hostRules")), 2);
  assert_int_equal(edv__kind_urlmap_diff(&c, patch, NULL, text, sizeof(text)),
                   0);
  assert_string_equal(text, "");
  /* The observed map itself is not changed by the diff. */
  assert_int_equal(
      json_object_array_length(json_object_object_get(map, "hostRules")), 1);
  /* Its rule with the alias dropped, its matcher at another service (the
   * same link in another form is no difference). */
  fixed = patch;
  edv__kind_urlmap_put(fixed, "school001",
                       (const char *const[]){hosts[0], NULL},
                       "projects/edv-prod/global/backendServices/other");
  assert_int_equal(edv__kind_urlmap_diff(&c, fixed, &patch, text, sizeof(text)),
                   2);
  assert_string_equal(text, "host rule edv-school001: hosts differ; path "
                            "matcher edv-school001: default service differs");
  json_object_put(fixed);
  edv__kind_urlmap_put(patch, "school001", hosts,
                       "projects/edv-prod/global/backendServices/"
                       "edv-school001-bes");
  assert_int_equal(edv__kind_urlmap_diff(&c, patch, NULL, text, sizeof(text)),
                   0);
  /* Deleted (no backend): its entry is a difference, the patch takes it
   * out and leaves the other tenant's. */
  c.backend = NULL;
  c.hosts = NULL;
  fixed = patch;
  assert_int_equal(edv__kind_urlmap_diff(&c, fixed, &patch, text, sizeof(text)),
                   1);
  assert_string_equal(text, "host rule or path matcher edv-school001 present");
  assert_int_equal(
      json_object_array_length(json_object_object_get(patch, "pathMatchers")),
      1);
  assert_int_equal(edv__kind_urlmap_diff(&c, patch, NULL, text, sizeof(text)),
                   0);
  assert_int_equal(edv__kind_urlmap_diff(&c, map, NULL, text, sizeof(text)), 0);
  json_object_put(fixed);
  json_object_put(patch);
  json_object_put(map);
}

/* ---- certificate map entries ----------------------------------------*/

static void test_entry(void **state)
{
  static const char *const hosts[] = {"school001.edvirons.com",
                                      "greenhill.edvirons.com", NULL};
  edv__kind_ctx c = ctx_of("basic");
  json_object *o, *patch = NULL;
  char text[256], name[EDV_NAME_MAX], full[300];

  (void)state;
  c.hosts = hosts;
  /* Each host's entry as wanted, named as the API names it. */
  for (unsigned h = 0; h < 2; h++) {
    o = edv__kind_entry_want(&c, h);
    edv__name_cert_map_entry("school001", (edv__host_kind)h, name,
                             sizeof(name));
    snprintf(full, sizeof(full),
             "projects/edv-prod/locations/global/certificateMaps/"
             "edv-certmap/certificateMapEntries/%s",
             name);
    json_object_object_add(o, "name", json_object_new_string(full));
    json_object_object_add(o, "labels",
                           edv__tenant_labels("school001", "basic"));
    assert_string_equal(
        json_object_get_string(json_object_object_get(o, "hostname")),
        hosts[h]);
    assert_int_equal(edv__kind_entry_diff(&c, o, &patch, text, sizeof(text)),
                     0);
    assert_null(patch);
    if (h == 1)
      break;
    json_object_put(o);
  }
  /* The alias's entry at another certificate: one note, the patch is
   * the certificates list alone. */
  json_object_object_add(o, "certificates",
                         json_tokener_parse("[\"projects/edv-prod/locations/"
                                            "global/certificates/other\"]"));
  assert_int_equal(edv__kind_entry_diff(&c, o, &patch, text, sizeof(text)), 1);
  assert_string_equal(text, "certificates differ");
  assert_non_null(patch);
  assert_int_equal(json_object_object_length(patch), 1);
  json_object_object_foreach(patch, k, v)
  {
    json_object_object_add(o, k, json_object_get(v));
  }
  json_object_put(patch);
  assert_int_equal(edv__kind_entry_diff(&c, o, NULL, text, sizeof(text)), 0);
  /* A scaled tenant's entry: its tier label, the patch's labels alone
   * (and the drift pass, without a tier, does not judge it). */
  {
    edv__kind_ctx p = ctx_of("premium");
    p.hosts = hosts;
    assert_int_equal(edv__kind_entry_diff(&p, o, &patch, text, sizeof(text)),
                     1);
    assert_string_equal(text, "label edv-tier basic -> premium");
    assert_int_equal(json_object_object_length(patch), 1);
    assert_string_equal(
        json_object_get_string(edv__jget(patch, "labels.edv-tier")), "premium");
    assert_string_equal(
        json_object_get_string(edv__jget(patch, "labels.edv-tenant")),
        "school001");
    json_object_put(patch);
    assert_int_equal(edv__kind_labels_diff(&p, o, &patch, text, sizeof(text)),
                     1);
    assert_non_null(edv__jget(patch, "labels"));
    json_object_put(patch);
    p.tier = NULL;
    assert_int_equal(edv__kind_entry_diff(&p, o, NULL, text, sizeof(text)), 0);
  }
  /* Another hostname cannot change in place: no patch. */
  json_object_object_add(o, "hostname",
                         json_object_new_string("evil.example.org"));
  assert_int_equal(edv__kind_entry_diff(&c, o, &patch, text, sizeof(text)), 1);
  assert_null(patch);
  assert_string_equal(text, "hostname evil.example.org -> "
                            "greenhill.edvirons.com (cannot change in place)");
  /* Without an alias the second entry is none of the tenant's; nor is
   * another tenant's. */
  c.hosts = (const char *const[]){hosts[0], NULL};
  assert_int_equal(edv__kind_entry_diff(&c, o, &patch, text, sizeof(text)), -1);
  assert_null(patch);
  c.hosts = hosts;
  c.tenant = "school002";
  assert_int_equal(edv__kind_entry_diff(&c, o, NULL, text, sizeof(text)), -1);
  json_object_put(o);
}

/* ---- builds and the newer diffs -------------------------------------*/

/* The context of the tenant "school001" (alias "greenwood-high") as a
 * step gives it to the builds: its hostnames in ctx itself. */
static void build_ctx(edv__kind_ctx *c, const char *tier)
{
  *c = ctx_of(tier);
  c->region = "us-central1";
  c->cidr = "10.20.0.0/24";
  c->lb_ip = "34.1.2.3";
  c->generation = 1;
  snprintf(c->host_buf[0], sizeof(c->host_buf[0]), "school001.edvirons.com");
  snprintf(c->host_buf[1], sizeof(c->host_buf[1]),
           "greenwood-high.edvirons.com");
  c->host_ptr[0] = c->host_buf[0];
  c->host_ptr[1] = c->host_buf[1];
  c->host_ptr[2] = NULL;
  c->hosts = c->host_ptr;
}

/* Every row says how its resource is made and what drifts: a build or
 * why not, a diff or why existence is all that matters (not both), and
 * with a diff what it compares. Each build makes, for every one of the
 * tenant's names, a body that its row's ownership test takes for the
 * tenant's, named as the row names it. */
static void test_rows_complete(void **state)
{
  edv__kind_ctx c;
  edv__kind_who w = {
      "school001", "greenwood-high", 1,
      "edv-prod",  "edvirons.com",   edv__tiers_find(tiers, "basic")};
  char id[EDV_TENANT_ID_MAX + 1], name[EDV_FQDN_MAX];
  edv_error err;

  (void)state;
  build_ctx(&c, "basic");
  c.password = "not-a-real-password";
  for (unsigned k = 0; k < EDV_KIND__COUNT; k++) {
    const edv__kind *kd = &edv__kinds[k];

    if (!kd->diff == !kd->no_diff)
      fail_msg("kind %s: a diff or why not (no_diff), one of them", kd->id);
    if (kd->diff && !kd->compares)
      fail_msg("kind %s: its diff compares what?", kd->id);
    if (!kd->build == !kd->no_build)
      fail_msg("kind %s: a build or why not (no_build), one of them", kd->id);
    /* Only the VM is created without its row's build (no_build says why:
     * its body needs what the run has). */
    if (kd->create && !kd->build && k != EDV_KIND_VM)
      fail_msg("kind %s: created at %s without a build", kd->id, kd->create);
    for (unsigned i = 0; kd->build && kd->name(&w, i, name, sizeof(name)) == 0;
         i++) {
      json_object *o = kd->build(&c, i, &err);
      const char *n = edv__jstr(o, "name");

      if (!o)
        fail_msg("kind %s: build %u: %s", kd->id, i, err.message);
      if (kd->own != EDV_OWN_NONE) {
        /* The service account's marks are on its "serviceAccount". */
        json_object *m =
            k == EDV_KIND_SERVICE_ACCOUNT ? edv__jget(o, "serviceAccount") : o;
        if (edv__kind_owner(kd, m, id, sizeof(id)) != 1 ||
            strcmp(id, "school001") != 0)
          fail_msg("kind %s: its body %s fails its ownership test", kd->id,
                   json_object_to_json_string(o));
      }
      if (n && k != EDV_KIND_SQL_DATABASE && strcmp(n, name) != 0)
        fail_msg("kind %s: body named %s, its name is %s", kd->id, n, name);
      json_object_put(o);
    }
  }
}

/* What a build needs and lacks is an error naming it, not a body. */
static void test_build_errors(void **state)
{
  edv__kind_ctx c;
  edv_error err;
  json_object *o;

  (void)state;
  build_ctx(&c, "basic");
  /* The database user: its password (never in a body without one). */
  assert_null(edv__kinds[EDV_KIND_SQL_USER].build(&c, 0, &err));
  assert_non_null(strstr(err.message, "password"));
  c.password = "pw";
  o = edv__kinds[EDV_KIND_SQL_USER].build(&c, 0, &err);
  assert_string_equal(json_object_to_json_string_ext(o, 0),
                      "{\"name\":\"" EDV_DB_USER "\",\"password\":\"pw\"}");
  json_object_put(o);
  /* A host the tenant does not have. */
  c.host_ptr[1] = NULL;
  assert_null(edv__kinds[EDV_KIND_DNS_AUTHORIZATION].build(&c, 1, &err));
  assert_non_null(strstr(err.message, "hostname"));
  assert_null(edv__kinds[EDV_KIND_CERT_MAP_ENTRY].build(&c, 1, &err));
  /* One host: one domain and one authorization in the certificate. */
  o = edv__kinds[EDV_KIND_CERTIFICATE].build(&c, 0, &err);
  assert_int_equal(edv__jarr_len(edv__jget(o, "managed.domains")), 1);
  assert_int_equal(edv__jarr_len(edv__jget(o, "managed.dnsAuthorizations")), 1);
  json_object_put(o);
  /* The tier: the SQL instance and the snapshot schedule are its. */
  c.tier = NULL;
  assert_null(edv__kinds[EDV_KIND_SQL_INSTANCE].build(&c, 0, &err));
  assert_non_null(strstr(err.message, "tier"));
  assert_null(edv__kinds[EDV_KIND_SNAPSHOT_POLICY].build(&c, 0, &err));
}

/* The snapshot schedule: as built, no difference; its retention, start
 * and location noted, never patched (a policy cannot change in place). */
static void test_policy(void **state)
{
  edv__kind_ctx c;
  edv_error err;
  json_object *o, *patch = NULL;
  char text[512], want[128];

  (void)state;
  build_ctx(&c, "basic");
  o = edv__kinds[EDV_KIND_SNAPSHOT_POLICY].build(&c, 0, &err);
  assert_non_null(o);
  assert_int_equal(edv__kinds[EDV_KIND_SNAPSHOT_POLICY].diff(
                       &c, o, &patch, text, sizeof(text)),
                   0);
  assert_null(patch);
  assert_string_equal(text, "");
  json_object_object_add(
      edv__jget(o, "snapshotSchedulePolicy.retentionPolicy"),
      "maxRetentionDays",
      json_object_new_int(c.tier->snapshot_retention_days + 3));
  json_object_object_add(
      edv__jget(o, "snapshotSchedulePolicy.schedule.dailySchedule"),
      "startTime", json_object_new_string("23:00"));
  assert_int_equal(edv__kind_policy_diff(&c, o, &patch, text, sizeof(text)), 2);
  assert_null(patch);
  snprintf(want, sizeof(want),
           "schedule 23:00 -> daily at %s; retention %d -> %d days",
           c.tier->snapshot_start_time, c.tier->snapshot_retention_days + 3,
           c.tier->snapshot_retention_days);
  assert_string_equal(text, want);
  /* Another tier's schedule is not this tier's. */
  build_ctx(&c, "premium");
  assert_true(edv__kind_policy_diff(&c, o, NULL, text, sizeof(text)) > 0);
  json_object_put(o);
}

/* The instance group: its named ports put back by setNamedPorts's body,
 * with the fingerprint read. */
static void test_ig(void **state)
{
  edv__kind_ctx c;
  edv_error err;
  json_object *o, *patch = NULL;
  char text[256];

  (void)state;
  build_ctx(&c, "basic");
  o = edv__kinds[EDV_KIND_INSTANCE_GROUP].build(&c, 0, &err);
  assert_non_null(o);
  json_object_object_add(o, "fingerprint", json_object_new_string("fp9"));
  assert_int_equal(edv__kind_ig_diff(&c, o, &patch, text, sizeof(text)), 0);
  assert_null(patch);
  json_object_object_add(
      o, "namedPorts",
      json_tokener_parse("[{\"name\":\"http\",\"port\":8080}]"));
  assert_int_equal(edv__kind_ig_diff(&c, o, &patch, text, sizeof(text)), 1);
  assert_string_equal(text, "named ports differ (want http:80)");
  assert_string_equal(json_object_to_json_string_ext(patch, 0),
                      "{\"namedPorts\":[{\"name\":\"http\",\"port\":80}],"
                      "\"fingerprint\":\"fp9\"}");
  json_object_object_add(o, "namedPorts",
                         json_object_get(edv__jget(patch, "namedPorts")));
  json_object_put(patch);
  assert_int_equal(edv__kind_ig_diff(&c, o, NULL, text, sizeof(text)), 0);
  json_object_put(o);
}

/* The DNS records: the A record of each hostname holds the load
 * balancer's address alone (the value, the TTL), its challenge CNAME is
 * the tenant's by name; anything else is none of the tenant's. */
static void test_dns(void **state)
{
  edv__kind_ctx c;
  const char *lb[] = {"34.1.2.3", NULL};
  json_object *a, *patch = NULL, *o;
  char text[256];

  (void)state;
  build_ctx(&c, "basic");
  a = edv__kind_rrset_want("Greenwood-High.edvirons.com.", "A", EDV_DNS_TTL,
                           lb);
  assert_int_equal(edv__kind_dns_diff(&c, a, &patch, text, sizeof(text)), 0);
  assert_null(patch);
  /* Changed from outside: the value and the TTL. */
  json_object_object_add(a, "rrdatas",
                         json_tokener_parse("[\"203.0.113.7\",\"34.1.2.3\"]"));
  json_object_object_add(a, "ttl", json_object_new_int(60));
  assert_int_equal(edv__kind_dns_diff(&c, a, &patch, text, sizeof(text)), 2);
  assert_string_equal(text,
                      "ttl 60 -> 300; A 203.0.113.7,34.1.2.3 -> 34.1.2.3");
  o = edv__kind_rrset_want("Greenwood-High.edvirons.com.", "A", EDV_DNS_TTL,
                           lb);
  assert_string_equal(json_object_to_json_string_ext(patch, 0),
                      json_object_to_json_string_ext(o, 0));
  json_object_put(o);
  json_object_put(patch);
  /* The writer's own comparison is the same diff. */
  assert_int_equal(edv__kind_rrset_diff(a, "A", EDV_DNS_TTL, lb, NULL, NULL, 0),
                   2);
  /* The load balancer's address unknown: not compared. */
  c.lb_ip = NULL;
  assert_int_equal(edv__kind_dns_diff(&c, a, NULL, text, sizeof(text)), 0);
  json_object_put(a);
  /* The challenge CNAME: the tenant's by its name. */
  o = json_tokener_parse(
      "{\"name\":\"_acme-challenge.school001.edvirons.com.\","
      "\"type\":\"CNAME\",\"ttl\":300,\"rrdatas\":"
      "[\"x.authorize.certificatemanager.goog.\"]}");
  assert_int_equal(edv__kind_dns_diff(&c, o, NULL, text, sizeof(text)), 0);
  json_object_put(o);
  /* Not the tenant's: another name, another type at its name. */
  o = json_tokener_parse("{\"name\":\"school002.edvirons.com.\",\"type\":"
                         "\"A\",\"ttl\":300,\"rrdatas\":[\"34.1.2.3\"]}");
  assert_int_equal(edv__kind_dns_diff(&c, o, NULL, text, sizeof(text)), -1);
  json_object_put(o);
  o = json_tokener_parse("{\"name\":\"school001.edvirons.com.\",\"type\":"
                         "\"MX\",\"ttl\":300,\"rrdatas\":[\"10 mail.\"]}");
  assert_int_equal(edv__kind_dns_diff(&c, o, NULL, text, sizeof(text)), -1);
  json_object_put(o);
}

/* The VM's generations (tenant/vmswap.h): names, and names read back. */
static void test_vm_generation(void **state)
{
  char vm[EDV_NAME_MAX], disk[EDV_NAME_MAX];
  edv__kind_who w = {"t1", "t1-s", 1, "p", "edvirons.com", NULL, 2};

  (void)state;
  assert_int_equal(
      edv__vmgen_names("t1", 0, vm, sizeof(vm), disk, sizeof(disk)), 0);
  assert_string_equal(vm, "edv-t1-vm");
  assert_string_equal(disk, "edv-t1-boot");
  assert_int_equal(
      edv__vmgen_names("t1", 3, vm, sizeof(vm), disk, sizeof(disk)), 0);
  assert_string_equal(vm, "edv-t1-vm-3");
  assert_string_equal(disk, "edv-t1-boot-3");
  assert_int_equal(edv__vmgen_names("t1", 3, vm, 10, NULL, 0), EDV_EINVAL);
  /* The kinds follow the serving generation. */
  assert_int_equal(edv__kinds[EDV_KIND_VM].name(&w, 0, vm, sizeof(vm)), 0);
  assert_string_equal(vm, "edv-t1-vm-2");
  assert_int_equal(edv__kinds[EDV_KIND_DISK].name(&w, 0, disk, sizeof(disk)),
                   0);
  assert_string_equal(disk, "edv-t1-boot-2");
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vm"), 0);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vm-3"), 3);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vm-12"), 12);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vm-0"), -1);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vm-03"), -1);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vm-3x"), -1);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vmx"), -1);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-vm-"), -1);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t2-vm"), -1);
  assert_int_equal(edv__vmgen_of_name("t1", "edv-t1-boot-1"), -1);
  assert_int_equal(edv__vmgen_of_name("t1", NULL), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_steps),
      cmocka_unit_test(test_needs),
      cmocka_unit_test(test_marks),
      cmocka_unit_test(test_unique),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_owner),
      cmocka_unit_test(test_sql_equal),
      cmocka_unit_test(test_sql_fields),
      cmocka_unit_test(test_sql_scaled),
      cmocka_unit_test(test_vm),
      cmocka_unit_test(test_vm_name),
      cmocka_unit_test(test_vm_tier),
      cmocka_unit_test(test_fw),
      cmocka_unit_test(test_bes),
      cmocka_unit_test(test_subnet),
      cmocka_unit_test(test_roles),
      cmocka_unit_test(test_urlmap),
      cmocka_unit_test(test_entry),
      cmocka_unit_test(test_sql_backup_location),
      cmocka_unit_test(test_platform),
      cmocka_unit_test(test_rows_complete),
      cmocka_unit_test(test_build_errors),
      cmocka_unit_test(test_policy),
      cmocka_unit_test(test_ig),
      cmocka_unit_test(test_dns),
      cmocka_unit_test(test_vm_generation),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
