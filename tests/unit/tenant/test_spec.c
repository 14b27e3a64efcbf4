/*
 * test_spec.c - tenant spec validation, resource names, labels, markers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tenant/spec.h"

#define assert_contains(hay, needle)                                           \
  do {                                                                         \
    if (!strstr((hay), (needle)))                                              \
      fail_msg("'%s' does not contain '%s'", (hay), (needle));                 \
  } while (0)

/* Compute: [a-z](?:[-a-z0-9]{0,61}[a-z0-9])? */
static int compute_name_ok(const char *s)
{
  size_t n = strlen(s);

  return n >= 1 && n <= 63 && s[0] >= 'a' && s[0] <= 'z' &&
         strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
         s[n - 1] != '-';
}

/* Certificate Manager: ^[a-z0-9-]{1,63}$ */
static int cm_id_ok(const char *s)
{
  size_t n = strlen(s);

  return n >= 1 && n <= 63 &&
         strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* IAM account id: 6..30, [a-z]([-a-z0-9]*[a-z0-9]) */
static int sa_id_ok(const char *s)
{
  size_t n = strlen(s);

  return n >= 6 && n <= 30 && compute_name_ok(s);
}

static void spec_fill(edv__tenant_spec *s, const char *id, const char *slug,
                      const char *name, const char *tier, const char *region)
{
  memset(s, 0, sizeof(*s));
  snprintf(s->id, sizeof(s->id), "%s", id);
  snprintf(s->slug, sizeof(s->slug), "%s", slug);
  snprintf(s->display_name, sizeof(s->display_name), "%s", name);
  snprintf(s->tier, sizeof(s->tier), "%s", tier);
  snprintf(s->region, sizeof(s->region), "%s", region);
}

static void test_ids(void **state)
{
  static const char *const good[] = {
      "school001", "ab", "a1", "greenwood-high", "abcdefghijklmnopqrstuvwxyz",
      NULL};
  static const char *const bad[] = {
      "",          "a",        "abcdefghijklmnopqrstuvwxyz1",
      "School001", "1school",  "school-",
      "-school",   "sch--ool", "sch_ool",
      "sch.ool",   "scho ol",  "schöol",
      NULL};
  edv_error err;
  size_t i;

  (void)state;
  for (i = 0; good[i]; i++)
    if (edv__spec_check_id(good[i], &err))
      fail_msg("id '%s' refused: %s", good[i], err.message);
  for (i = 0; bad[i]; i++) {
    if (edv__spec_check_id(bad[i], &err) != EDV_EINVAL)
      fail_msg("id '%s' accepted", bad[i]);
    assert_contains(err.message, "field 'id'");
  }
  edv__spec_check_id("1school", &err);
  assert_contains(err.message, "must start with a lowercase letter");
  edv__spec_check_id("abcdefghijklmnopqrstuvwxyz1", &err);
  assert_contains(err.message, "2..26");
  edv__spec_check_id("School001", &err);
  assert_contains(err.message, "must start with a lowercase letter");
  edv__spec_check_id("schOol", &err);
  assert_contains(err.message, "lowercase letters, digits and hyphens");
}

/* Every name made from the longest (and the shortest) id obeys its API's
 * rule: this is what fixes EDV_TENANT_ID_MAX at 26. */
/* The enterprise tier's snapshot schedule (tiers.json). */
static edv__tier t365 = {.name = "enterprise",
                         .snapshot_start_time = "04:00",
                         .snapshot_retention_days = 365,
                         .snapshot_on_delete = "APPLY_RETENTION_POLICY"};

static void test_longest_id_makes_valid_names(void **state)
{
  static const char *const ids[] = {"abcdefghijklmnopqrstuvwx-z", "ab", NULL};
  char buf[EDV_FQDN_MAX];
  edv__tenant_spec s;
  size_t i;

  (void)state;
  for (i = 0; ids[i]; i++) {
    const char *id = ids[i];

    assert_int_equal(edv__spec_check_id(id, NULL), 0);
    assert_int_equal(edv__name_subnet(id, buf, EDV_NAME_MAX), 0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(
        edv__name_firewall(id, EDV_FIREWALL_ALLOW_LB, buf, EDV_NAME_MAX), 0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(
        edv__name_firewall(id, EDV_FIREWALL_DENY_INGRESS, buf, EDV_NAME_MAX),
        0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(edv__name_vm(id, buf, EDV_NAME_MAX), 0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(edv__name_disk(id, buf, EDV_NAME_MAX), 0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(edv__name_snapshot_policy_prefix(id, buf, EDV_NAME_MAX),
                     0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(edv__name_snapshot_policy(id, &t365, buf, EDV_NAME_MAX),
                     0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(edv__name_instance_group(id, buf, EDV_NAME_MAX), 0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(edv__name_backend_service(id, buf, EDV_NAME_MAX), 0);
    assert_true(compute_name_ok(buf));
    assert_int_equal(edv__name_service_account_id(id, buf, EDV_NAME_MAX), 0);
    assert_true(sa_id_ok(buf));
    /* SQL: instance id starts with a letter; "project:instance" <= 98 with
     * the longest project id (30) and the largest generation. */
    assert_int_equal(edv__name_sql_instance(id, 4294967295u, buf, EDV_NAME_MAX),
                     0);
    assert_true(compute_name_ok(buf));
    assert_true(30 + 1 + strlen(buf) <= 98);
    assert_int_equal(edv__name_certificate(id, buf, EDV_NAME_MAX), 0);
    assert_true(cm_id_ok(buf));
    assert_int_equal(
        edv__name_dns_authorization(id, EDV_HOST_ALIAS, buf, EDV_NAME_MAX), 0);
    assert_true(cm_id_ok(buf));
    assert_int_equal(
        edv__name_cert_map_entry(id, EDV_HOST_ALIAS, buf, EDV_NAME_MAX), 0);
    assert_true(cm_id_ok(buf));
    assert_int_equal(edv__name_secret(id, buf, EDV_NAME_MAX), 0);
    assert_true(strlen(buf) <= 255);
    assert_true(edv__label_value_valid(id));
    spec_fill(&s, id, id, "x", "basic", "us-central1");
    assert_int_equal(
        edv__name_dns_primary(&s, "edvirons.com", buf, sizeof(buf)), 0);
    assert_true(strlen(buf) <= 254);
  }
  /* One character more and IAM's 30 is broken: the reason for 26. */
  assert_int_equal(
      edv__name_service_account_id("abcdefghijklmnopqrstuvwxyz1", buf, 64), 0);
  assert_false(sa_id_ok(buf));
}

static void test_display_names(void **state)
{
  static const char *const good[] = {
      "Greenwood High School",
      "\xc3\x89"
      "cole Sainte-Marie",           /* École */
      "\xe5\xad\xa6\xe6\xa0\xa1",    /* 学校 */
      "St. Mary's \xf0\x9f\x8e\x93", /* graduation cap, 4 bytes */
      "A",
      NULL};
  static const struct {
    const char *name;
    const char *why;
  } bad[] = {{"", "is empty"},
             {"\xff", "not valid UTF-8"},
             {"ab\xc0\xaf", "not valid UTF-8"},       /* overlong '/' */
             {"\xe0\x80\xaf", "not valid UTF-8"},     /* overlong, 3 bytes */
             {"\xed\xa0\x80", "not valid UTF-8"},     /* surrogate D800 */
             {"x\xe2\x82", "not valid UTF-8"},        /* truncated */
             {"\xf4\x90\x80\x80", "not valid UTF-8"}, /* > U+10FFFF */
             {"\x80", "not valid UTF-8"},             /* lone continuation */
             {"tab\there", "control character U+0009"},
             {"new\nline", "control character U+000A"},
             {"del\x7f", "control character U+007F"},
             {"c1\xc2\x85", "control character U+0085"}, /* NEL */
             {"rlo\xe2\x80\xae", "control character U+202E"},
             {" leading", "must not begin or end with a space"},
             {"trailing ", "must not begin or end with a space"},
             {"nbsp\xc2\xa0", "must not begin or end with a space"},
             {NULL, NULL}};
  char longname[512];
  edv_error err;
  size_t i;

  (void)state;
  for (i = 0; good[i]; i++)
    if (edv__spec_check_display_name(good[i], &err))
      fail_msg("name '%s' refused: %s", good[i], err.message);
  for (i = 0; bad[i].name; i++) {
    if (edv__spec_check_display_name(bad[i].name, &err) != EDV_EINVAL)
      fail_msg("name #%zu accepted", i);
    assert_contains(err.message, "field 'display_name'");
    assert_contains(err.message, bad[i].why);
  }
  /* 100 code points pass, 101 do not, whatever their byte length. */
  memset(longname, 'a', 100);
  longname[100] = '\0';
  assert_int_equal(edv__spec_check_display_name(longname, &err), 0);
  longname[100] = 'a';
  longname[101] = '\0';
  assert_int_equal(edv__spec_check_display_name(longname, &err), EDV_EINVAL);
  assert_contains(err.message, "longer than 100 characters");
  for (i = 0; i < 100; i++)
    memcpy(longname + 4 * i, "\xf0\x9f\x8e\x93", 4);
  longname[400] = '\0';
  assert_int_equal(edv__spec_check_display_name(longname, &err), 0);
}

static void test_slugs_and_regions(void **state)
{
  static const char *const good_regions[] = {
      "us-central1", "europe-west4",    "northamerica-northeast1",
      "me-central2", "asia-southeast1", NULL};
  static const char *const bad_regions[] = {"",
                                            "US-central1",
                                            "us-central",
                                            "uscentral1",
                                            "us-central0",
                                            "us-central01",
                                            "us_central1",
                                            "us-central1 ",
                                            NULL};
  edv_error err;
  size_t i;

  (void)state;
  assert_int_equal(edv__spec_check_slug("greenwood-high", &err), 0);
  assert_int_equal(edv__spec_check_slug("9th-street", &err), 0);
  assert_int_equal(edv__spec_check_slug("Greenwood", &err), EDV_EINVAL);
  assert_contains(err.message, "field 'slug'");
  assert_int_equal(edv__spec_check_slug("-x", &err), EDV_EINVAL);
  assert_int_equal(edv__spec_check_slug("", &err), EDV_EINVAL);
  assert_int_equal(edv__spec_check_slug(
                       "a234567890123456789012345678901234567890123456789012"
                       "345678901234",
                       &err),
                   EDV_EINVAL); /* 64 */
  for (i = 0; good_regions[i]; i++)
    if (edv__spec_check_region(good_regions[i], &err))
      fail_msg("region '%s' refused: %s", good_regions[i], err.message);
  for (i = 0; bad_regions[i]; i++) {
    if (edv__spec_check_region(bad_regions[i], &err) != EDV_EINVAL)
      fail_msg("region '%s' accepted", bad_regions[i]);
    assert_contains(err.message, "field 'region'");
  }
  assert_int_equal(edv__spec_check_region("us-central1-a", &err), EDV_EINVAL);
  assert_contains(err.message, "looks like a zone");

  assert_true(edv__dns_domain_valid("edvirons.com"));
  assert_true(edv__dns_domain_valid("edvirons.com."));
  assert_true(edv__dns_domain_valid("xn--bcher-kva.example"));
  assert_false(edv__dns_domain_valid("com"));
  assert_false(edv__dns_domain_valid("edvirons..com"));
  assert_false(edv__dns_domain_valid("-edvirons.com"));
  assert_false(edv__dns_domain_valid("EDVIRONS.com"));
}

static int region_calls;

static int fake_region_check(void *data, const char *region, edv_error *err)
{
  (void)data;
  region_calls++;
  if (strcmp(region, "us-central1") == 0)
    return 0;
  return edv_error_set(err, EDV_EINVAL,
                       "field 'region' '%s' is not available to the project",
                       region);
}

static edv__tiers *load_tiers(void)
{
  const char *root = getenv("EDV_SOURCE_ROOT");
  char path[4096];
  edv__tiers *t = NULL;

  snprintf(path, sizeof(path), "%s/tiers.json", root ? root : ".");
  assert_int_equal(edv__tiers_load_file(path, &t, NULL), 0);
  return t;
}

static void test_validate_whole_spec(void **state)
{
  edv__tiers *tiers = load_tiers();
  edv__tenant_spec s;
  edv_error err;

  (void)state;
  spec_fill(&s, "school001", "greenwood-high", "Greenwood High School",
            "premium", "us-central1");
  region_calls = 0;
  assert_int_equal(edv__spec_validate(&s, tiers, fake_region_check, NULL,
                                      "edvirons.com", &err),
                   0);
  assert_int_equal(region_calls, 1);

  snprintf(s.tier, sizeof(s.tier), "gold");
  assert_int_equal(edv__spec_validate(&s, tiers, NULL, NULL, NULL, &err),
                   EDV_EINVAL);
  assert_contains(err.message, "field 'tier' 'gold' is not a known tier");
  /* Without tiers only the form is checked. */
  assert_int_equal(edv__spec_validate(&s, NULL, NULL, NULL, NULL, &err), 0);

  spec_fill(&s, "school001", "greenwood-high", "Greenwood", "basic",
            "europe-west9");
  assert_int_equal(
      edv__spec_validate(&s, tiers, fake_region_check, NULL, NULL, &err),
      EDV_EINVAL);
  assert_contains(err.message, "not available to the project");

  /* A bad field is reported before the region hook is asked. */
  spec_fill(&s, "School001", "greenwood-high", "Greenwood", "basic",
            "us-central1");
  region_calls = 0;
  assert_int_equal(
      edv__spec_validate(&s, tiers, fake_region_check, NULL, NULL, &err),
      EDV_EINVAL);
  assert_int_equal(region_calls, 0);
  assert_contains(err.message, "field 'id'");

  spec_fill(&s, "school001", "greenwood-high", "G", "basic", "us-central1");
  assert_int_equal(
      edv__spec_validate(&s, tiers, NULL, NULL, "bad..domain", &err),
      EDV_ECONFIG);
  edv__tiers_free(tiers);
}

static void test_json_roundtrip(void **state)
{
  edv__tenant_spec s, back;
  json_object *o;
  edv_error err;

  (void)state;
  spec_fill(&s, "school001", "greenwood-high",
            "Greenwood \xe5\xad\xa6\xe6\xa0\xa1 \"High\"", "premium",
            "us-central1");
  o = edv__spec_to_json(&s);
  assert_non_null(o);
  assert_int_equal(edv__spec_from_json(o, &back, &err), 0);
  assert_true(edv__spec_equal(&s, &back));
  json_object_object_add(o, "colour", json_object_new_string("blue"));
  assert_int_equal(edv__spec_from_json(o, &back, &err), EDV_EINVAL);
  assert_contains(err.message, "field 'colour' is not known");
  json_object_object_del(o, "colour");
  json_object_object_add(o, "tier", json_object_new_int(3));
  assert_int_equal(edv__spec_from_json(o, &back, &err), EDV_EINVAL);
  assert_contains(err.message, "field 'tier' must be a string");
  json_object_object_del(o, "region");
  json_object_object_add(o, "tier", json_object_new_string("basic"));
  assert_int_equal(edv__spec_from_json(o, &back, &err), EDV_EINVAL);
  assert_contains(err.message, "field 'region' is missing");
  json_object_object_add(o, "region", json_object_new_string("us-central1"));
  json_object_object_add(o, "display_name",
                         json_object_new_string("bad \xff name"));
  assert_int_equal(edv__spec_from_json(o, &back, &err), EDV_EINVAL);
  assert_contains(err.message, "not valid UTF-8");
  json_object_put(o);
  assert_int_equal(edv__spec_from_json(NULL, &back, &err), EDV_EINVAL);
}

/* edv__spec_set: the one check of edvctl's arguments and the API's body;
 * a value too long for its field is refused, never cut. */
static void test_spec_set(void **state)
{
  edv__tenant_spec s;
  edv_error err;

  (void)state;
  assert_int_equal(edv__spec_set(&s, "school001", "greenwood-high", "G H S",
                                 "premium", "us-central1", &err),
                   0);
  assert_string_equal(s.id, "school001");
  assert_string_equal(s.region, "us-central1");
  assert_int_equal(edv__spec_set(&s, "abcdefghijklmnopqrstuvwxyz1", "gh", "G",
                                 "premium", "us-central1", &err),
                   EDV_EINVAL);
  assert_contains(err.message, "field 'id'");
  assert_string_equal(s.id, "");
  assert_int_equal(edv__spec_set(&s, "school001", "gh", "G",
                                 "a-tier-name-of-thirty-two-chars", /* 31 */
                                 "us-central1", &err),
                   0);
  assert_int_equal(edv__spec_set(&s, "school001", "gh", "G",
                                 "a-tier-name-of-thirty-two-chars2",
                                 "us-central1", &err),
                   EDV_EINVAL);
  assert_contains(err.message, "field 'tier'");
  assert_int_equal(
      edv__spec_set(&s, "school001", "gh", "G", "", "us-central1", &err),
      EDV_EINVAL);
  assert_contains(err.message, "field 'tier' is missing");
}

static void test_reserved_labels(void **state)
{
  edv__tenant_spec s;
  edv_error err;

  (void)state;
  spec_fill(&s, "school001", "www", "G", "premium", "us-central1");
  assert_int_equal(edv__spec_check_reserved(&s, NULL, &err), EDV_EINVAL);
  assert_contains(err.message, "field 'slug' 'www' is a reserved DNS label");
  assert_int_equal(edv__spec_check_reserved(&s, "none", &err), 0);
  assert_int_equal(edv__spec_check_reserved(&s, "ww,wwww,intranet", &err), 0);
  spec_fill(&s, "intranet", "greenwood", "G", "premium", "us-central1");
  assert_int_equal(edv__spec_check_reserved(&s, NULL, &err), 0);
  assert_int_equal(edv__spec_check_reserved(&s, "www,intranet", &err),
                   EDV_EINVAL);
  assert_contains(err.message, "field 'id' 'intranet'");
  spec_fill(&s, "billing", "billing", "G", "premium", "us-central1");
  assert_int_equal(edv__spec_check_reserved(&s, NULL, &err), EDV_EINVAL);
}

/* ops_ssh: optional, boolean, written only when on, part of equality. */
static void test_ops_ssh(void **state)
{
  edv__tenant_spec s, back;
  json_object *o;
  edv_error err;
  char name[EDV_NAME_MAX];

  (void)state;
  spec_fill(&s, "school001", "greenwood-high", "Greenwood", "premium",
            "us-central1");
  o = edv__spec_to_json(&s);
  assert_false(json_object_object_get_ex(o, "ops_ssh", NULL));
  json_object_put(o);
  s.ops_ssh = 1;
  o = edv__spec_to_json(&s);
  assert_true(json_object_get_boolean(json_object_object_get(o, "ops_ssh")));
  assert_int_equal(edv__spec_from_json(o, &back, &err), 0);
  assert_true(back.ops_ssh);
  assert_true(edv__spec_equal(&s, &back));
  back.ops_ssh = 0;
  assert_false(edv__spec_equal(&s, &back));
  json_object_object_add(o, "ops_ssh", json_object_new_string("yes"));
  assert_int_equal(edv__spec_from_json(o, &back, &err), EDV_EINVAL);
  assert_contains(err.message, "field 'ops_ssh' must be true or false");
  json_object_put(o);
  assert_int_equal(
      edv__name_firewall("school001", EDV_FIREWALL_OPS_SSH, name, sizeof(name)),
      0);
  assert_string_equal(name, "edv-school001-allow-iap-ssh");
  assert_int_equal(
      edv__name_firewall("school001", EDV_FIREWALL_DENY_DB, name, sizeof(name)),
      0);
  assert_string_equal(name, "edv-school001-deny-db-egress");
  assert_int_equal(
      edv__name_firewall("school001", EDV_FIREWALL__COUNT, name, sizeof(name)),
      EDV_EINVAL);
}

static void test_names_labels_markers(void **state)
{
  char buf[EDV_FQDN_MAX], id[EDV_TENANT_ID_MAX + 1];
  edv__tenant_spec s;
  json_object *labels, *v;

  (void)state;
  spec_fill(&s, "school001", "greenwood-high", "Greenwood High School",
            "premium", "us-central1");
#define NAME(call, want)                                                       \
  do {                                                                         \
    assert_int_equal(call, 0);                                                 \
    assert_string_equal(buf, want);                                            \
  } while (0)
  NAME(edv__name_subnet(s.id, buf, sizeof(buf)), "edv-school001");
  NAME(edv__name_firewall(s.id, EDV_FIREWALL_ALLOW_LB, buf, sizeof(buf)),
       "edv-school001-allow-lb");
  NAME(edv__name_firewall(s.id, EDV_FIREWALL_DENY_INGRESS, buf, sizeof(buf)),
       "edv-school001-deny-ingress");
  NAME(edv__name_service_account_id(s.id, buf, sizeof(buf)), "edv-school001");
  NAME(edv__name_service_account_email(s.id, "edv-prod", buf, sizeof(buf)),
       "edv-school001@edv-prod.iam.gserviceaccount.com");
  NAME(edv__name_secret(s.id, buf, sizeof(buf)), "edv-school001-db-password");
  NAME(edv__name_sql_instance(s.id, 0, buf, sizeof(buf)), "edv-school001-db-0");
  NAME(edv__name_sql_instance(s.id, 3, buf, sizeof(buf)), "edv-school001-db-3");
  NAME(edv__name_vm(s.id, buf, sizeof(buf)), "edv-school001-vm");
  NAME(edv__name_disk(s.id, buf, sizeof(buf)), "edv-school001-boot");
  NAME(edv__name_snapshot_policy_prefix(s.id, buf, sizeof(buf)),
       "edv-school001-snap");
  /* A schedule's name says what it holds: another tier's settings,
   * another name. */
  NAME(edv__name_snapshot_policy(s.id, &t365, buf, sizeof(buf)),
       "edv-school001-snap-365d-d6a81b04");
  t365.snapshot_retention_days = 30;
  NAME(edv__name_snapshot_policy(s.id, &t365, buf, sizeof(buf)),
       "edv-school001-snap-30d-3513c805");
  t365.snapshot_retention_days = 365;
  NAME(edv__name_instance_group(s.id, buf, sizeof(buf)), "edv-school001-ig");
  NAME(edv__name_backend_service(s.id, buf, sizeof(buf)), "edv-school001-be");
  NAME(edv__name_certificate(s.id, buf, sizeof(buf)), "edv-school001-cert");
  NAME(edv__name_dns_authorization(s.id, EDV_HOST_PRIMARY, buf, sizeof(buf)),
       "edv-school001-dnsauth");
  NAME(edv__name_dns_authorization(s.id, EDV_HOST_ALIAS, buf, sizeof(buf)),
       "edv-school001-dnsauth-alias");
  NAME(edv__name_cert_map_entry(s.id, EDV_HOST_PRIMARY, buf, sizeof(buf)),
       "edv-school001-entry");
  NAME(edv__name_cert_map_entry(s.id, EDV_HOST_ALIAS, buf, sizeof(buf)),
       "edv-school001-entry-alias");
  NAME(edv__name_dns_primary(&s, "edvirons.com", buf, sizeof(buf)),
       "school001.edvirons.com.");
  NAME(edv__name_dns_primary(&s, "edvirons.com.", buf, sizeof(buf)),
       "school001.edvirons.com.");
  NAME(edv__name_dns_alias(&s, "edvirons.com", buf, sizeof(buf)),
       "greenwood-high.edvirons.com.");
  NAME(edv__tenant_description(s.id, buf, sizeof(buf)),
       "edv-managed:tenant=school001");
#undef NAME
  assert_true(edv__spec_has_alias(&s));
  /* A buffer too small is an error, never a truncated name. */
  assert_int_equal(edv__name_vm(s.id, buf, 8), EDV_EINVAL);
  assert_string_equal(buf, "");

  labels = edv__tenant_labels(s.id, s.tier);
  assert_non_null(labels);
  assert_int_equal(json_object_object_length(labels), 3);
  assert_true(json_object_object_get_ex(labels, "edv-managed", &v));
  assert_string_equal(json_object_get_string(v), "true");
  assert_true(json_object_object_get_ex(labels, "edv-tenant", &v));
  assert_string_equal(json_object_get_string(v), "school001");
  assert_true(json_object_object_get_ex(labels, "edv-tier", &v));
  assert_string_equal(json_object_get_string(v), "premium");
  json_object_object_foreach(labels, key, val)
  {
    assert_true(edv__label_value_valid(key));
    assert_true(edv__label_value_valid(json_object_get_string(val)));
  }
  assert_int_equal(edv__labels_owner(labels, id, sizeof(id)), 1);
  assert_string_equal(id, "school001");
  json_object_object_add(labels, "edv-managed", json_object_new_string("no"));
  assert_int_equal(edv__labels_owner(labels, id, sizeof(id)), 0);
  json_object_put(labels);
  assert_int_equal(edv__labels_owner(NULL, id, sizeof(id)), 0);

  assert_int_equal(
      edv__description_owner("edv-managed:tenant=school001", id, sizeof(id)),
      1);
  assert_string_equal(id, "school001");
  assert_int_equal(
      edv__description_owner("edv-managed:tenant=school002 firewall for LB", id,
                             sizeof(id)),
      1);
  assert_string_equal(id, "school002");
  assert_int_equal(edv__description_owner("made by hand", id, sizeof(id)), 0);
  assert_int_equal(
      edv__description_owner("edv-managed:tenant=", id, sizeof(id)), 0);
  assert_int_equal(edv__description_owner(NULL, id, sizeof(id)), 0);
  assert_false(edv__label_value_valid("Premium"));
  assert_true(edv__label_value_valid(""));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ids),
      cmocka_unit_test(test_longest_id_makes_valid_names),
      cmocka_unit_test(test_display_names),
      cmocka_unit_test(test_slugs_and_regions),
      cmocka_unit_test(test_validate_whole_spec),
      cmocka_unit_test(test_json_roundtrip),
      cmocka_unit_test(test_spec_set),
      cmocka_unit_test(test_reserved_labels),
      cmocka_unit_test(test_ops_ssh),
      cmocka_unit_test(test_names_labels_markers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
