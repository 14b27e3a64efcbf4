/*
 * test_releases.c - releases (edv/fleet.h, "Releases") on the in-process
 * simulator, through the public fleet API, each checked against the
 * simulator's state:
 *   - a tenant created before any release runs the stock image ("none"
 *     recorded and reported by its VM);
 *   - a release naming an image that does not exist, a malformed version
 *     and a deprecated image are refused naming the field, with nothing
 *     recorded; a duplicate is EDV_EEXIST;
 *   - a release of a published image family records the family's image;
 *     a tenant created then boots that image (its disk's sourceImage), its
 *     VM carries label edv-release, and the tenant document shows the
 *     release recorded and the version the VM reports (guest attribute);
 *   - state export/import carry releases and each tenant's release (same
 *     bytes back), an unknown release is refused naming the field;
 *   - state rebuild recovers each tenant's release (and the release
 *     record) from the VMs' metadata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edv/fleet.h"
#include "pharness.h"

#define IMG "projects/edv-sim/global/images/"
#define CP  "/compute/v1/projects/edv-sim"

static ph H;
static edv_fleet *F;

static json_object *release_create(const char *spec, edv_error *err)
{
  json_object *s = json_tokener_parse(spec);
  ph_ans x = {0};
  int result;

  assert_non_null(s);
  result = edv_release_create(F, s, ph_on_ans, &x, err);
  json_object_put(s);
  if (result)
    return NULL;
  ph_wait(&H.loop, &x);
  if (!x.a)
    *err = x.err;
  return x.a;
}

static json_object *release_list(void)
{
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(edv_release_list(F, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  return x.a;
}

static size_t nreleases(void)
{
  json_object *l = release_list();
  size_t n = json_object_array_length(json_object_object_get(l, "releases"));

  json_object_put(l);
  return n;
}

/* A Compute call that starts a global operation, waited for. */
static void compute_op(const char *method, const char *path, const char *body)
{
  json_object *op = ph_api(&H, EDV_API_COMPUTE, method, path,
                           body ? json_tokener_parse(body) : NULL);
  char wait[400];

  assert_non_null(op);
  assert_non_null(ph_js(op, "name"));
  snprintf(wait, sizeof(wait), CP "/global/operations/%s/wait",
           ph_js(op, "name"));
  json_object_put(op);
  op = ph_api(&H, EDV_API_COMPUTE, "POST", wait, NULL);
  assert_non_null(op);
  assert_string_equal(ph_js(op, "status"), "DONE");
  assert_null(json_object_object_get(op, "error"));
  json_object_put(op);
}

static void publish(const char *name, const char *family)
{
  char body[400];

  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"family\":\"%s\",\"rawDisk\":{\"source\":"
           "\"https://storage.googleapis.com/edv-images/%s.tar.gz\"}}",
           name, family, name);
  compute_op("POST", CP "/global/images", body);
}

/* Creates tenant `id` (basic) and waits until it is READY. */
static void tenant_create(const char *id)
{
  char spec[300];
  json_object *s;
  ph_ans x = {0};
  edv_error err;

  snprintf(spec, sizeof(spec),
           "{\"id\":\"%s\",\"slug\":\"%s-s\",\"display_name\":\"School %s\","
           "\"tier\":\"basic\",\"region\":\"us-central1\"}",
           id, id, id);
  s = json_tokener_parse(spec);
  assert_int_equal(edv_tenant_create(F, s, 0, ph_on_ans, &x, &err), 0);
  json_object_put(s);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("create %s: %s", id, x.err.message);
  assert_string_equal(ph_js(x.a, "phase"), "READY");
  json_object_put(x.a);
}

static json_object *tenant_get(const char *id, unsigned flags)
{
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(edv_tenant_get(F, id, flags, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  assert_non_null(x.a);
  return x.a;
}

/* What the simulator has of tenant `id`'s VM and boot disk. */
static void assert_vm_runs(const char *id, const char *label,
                           const char *image_suffix)
{
  char name[200];
  json_object *vm, *disk;
  const char *src;

  snprintf(name, sizeof(name),
           "projects/edv-sim/zones/us-central1-a/instances/edv-%s-vm", id);
  vm = ph_res(&H, name);
  assert_non_null(vm);
  assert_string_equal(
      ph_js(json_object_object_get(vm, "labels"), "edv-release"), label);
  json_object_put(vm);
  snprintf(name, sizeof(name),
           "projects/edv-sim/zones/us-central1-a/disks/edv-%s-boot", id);
  disk = ph_res(&H, name);
  assert_non_null(disk);
  src = ph_js(disk, "sourceImage");
  assert_non_null(src);
  if (strlen(src) < strlen(image_suffix) ||
      strcmp(src + strlen(src) - strlen(image_suffix), image_suffix) != 0)
    fail_msg("%s boots %s, not ...%s", id, src, image_suffix);
  json_object_put(disk);
}

static int setup(void **state)
{
  (void)state;
  ph_open(&H);
  F = ph_fleet_open(&H, NULL, NULL, "release-test");
  ph_platform(&H, F);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ph_fleet_close(&H, F);
  ph_close(&H);
  return 0;
}

/* Before any release: the stock image, "none" recorded and reported. */
static void test_no_release(void **state)
{
  json_object *t;

  (void)state;
  assert_int_equal(nreleases(), 0);
  tenant_create("rel00");
  assert_vm_runs("rel00", "none",
                 "debian-cloud/global/images/"
                 "debian-12-bookworm-v20261110");
  t = tenant_get("rel00", EDV_FLEET_OBSERVE);
  assert_string_equal(ph_js(t, "release"), "none");
  assert_string_equal(ph_js(t, "release_observed"), "none");
  json_object_put(t);
}

static void test_create_refusals(void **state)
{
  json_object *r;
  edv_error err;

  (void)state;
  /* No such family (nothing published yet). */
  memset(&err, 0, sizeof(err));
  r = release_create("{\"version\":\"1.0.0\",\"image_family\":\"edv-tenant\"}",
                     &err);
  assert_null(r);
  assert_int_equal(err.code, EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'image_family'"));
  assert_non_null(strstr(err.message, "edv-tenant"));
  publish("edv-tenant-1", "edv-tenant");
  /* A malformed version, refused before any call. */
  r = release_create("{\"version\":\"1.0\",\"image_family\":\"edv-tenant\"}",
                     &err);
  assert_null(r);
  assert_int_equal(err.code, EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'version'"));
  /* Neither image nor family. */
  r = release_create("{\"version\":\"1.0.0\"}", &err);
  assert_null(r);
  assert_non_null(strstr(err.message, "field 'image'"));
  /* A deprecated image. */
  publish("edv-tenant-old", "edv-tenant-old");
  compute_op("POST", CP "/global/images/edv-tenant-old/deprecate",
             "{\"state\":\"DEPRECATED\"}");
  r = release_create("{\"version\":\"0.9.0\",\"image\":\"edv-tenant-old\"}",
                     &err);
  assert_null(r);
  assert_int_equal(err.code, EDV_EINVAL);
  assert_non_null(strstr(err.message, "field 'image'"));
  assert_non_null(strstr(err.message, "DEPRECATED"));
  /* Nothing of any of them was recorded. */
  assert_int_equal(nreleases(), 0);
}

static void test_release_and_tenant(void **state)
{
  json_object *r, *t, *l;
  edv_error err;

  (void)state;
  r = release_create("{\"version\":\"1.0.0\",\"image_family\":\"edv-tenant\","
                     "\"notes\":\"first\"}",
                     &err);
  if (!r)
    fail_msg("release: %s", err.message);
  assert_string_equal(ph_js(r, "image"), IMG "edv-tenant-1");
  assert_string_equal(ph_js(r, "image_family"), "edv-tenant");
  assert_true(json_object_get_boolean(json_object_object_get(r, "current")));
  json_object_put(r);
  /* A duplicate: EEXIST naming the field, still one release. */
  r = release_create("{\"version\":\"1.0.0\",\"image\":\"edv-tenant-1\"}",
                     &err);
  assert_null(r);
  assert_int_equal(err.code, EDV_EEXIST);
  assert_non_null(strstr(err.message, "field 'version'"));
  assert_int_equal(nreleases(), 1);
  l = release_list();
  assert_string_equal(ph_js(l, "current"), "1.0.0");
  json_object_put(l);
  /* A new tenant runs the current release: the VM boots its image. */
  tenant_create("rel01");
  assert_vm_runs("rel01", "1_0_0", "/" IMG "edv-tenant-1");
  t = tenant_get("rel01", 0);
  assert_string_equal(ph_js(t, "release"), "1.0.0");
  assert_null(json_object_object_get(t, "release_observed"));
  json_object_put(t);
  t = tenant_get("rel01", EDV_FLEET_OBSERVE);
  assert_string_equal(ph_js(t, "release_observed"), "1.0.0");
  assert_string_equal(ph_js(json_object_object_get(
                                json_object_object_get(t, "observed"), "app"),
                            "version"),
                      "1.0.0");
  json_object_put(t);
  /* The older tenant keeps what it runs. */
  t = tenant_get("rel00", 0);
  assert_string_equal(ph_js(t, "release"), "none");
  json_object_put(t);
}

static char *slurp(const char *path)
{
  FILE *fp = fopen(path, "r");
  char *buf;
  long n;

  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  rewind(fp);
  buf = calloc(1, (size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  return buf;
}

static void test_export_import(void **state)
{
  char a[400], b[400], dir[300], bad[400];
  char *ta, *tb;
  json_object *doc, *tenants;
  edv_fleet *f;
  edv_error err;

  (void)state;
  snprintf(a, sizeof(a), "%s/a.json", H.dir);
  assert_int_equal(edv_fleet_state_export(F, a, 0, &err), 0);
  ta = slurp(a);
  doc = json_tokener_parse(ta);
  assert_int_equal(
      json_object_array_length(json_object_object_get(doc, "releases")), 1);
  snprintf(dir, sizeof(dir), "%s/imported", H.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  f = ph_fleet_open(&H, dir, NULL, "release-test");
  if (edv_fleet_state_import(f, a, NULL, &err))
    fail_msg("import: %s", err.message);
  snprintf(b, sizeof(b), "%s/b.json", H.dir);
  assert_int_equal(edv_fleet_state_export(f, b, 0, &err), 0);
  tb = slurp(b);
  assert_string_equal(ta, tb);
  ph_fleet_close(&H, f);
  /* A tenant naming a release the file does not hold. */
  tenants = json_object_object_get(doc, "tenants");
  for (size_t i = 0; i < json_object_array_length(tenants); i++) {
    json_object *t = json_object_array_get_idx(tenants, i);
    if (strcmp(ph_js(t, "id"), "rel01") == 0)
      json_object_object_add(t, "release", json_object_new_string("9.9.9"));
  }
  snprintf(bad, sizeof(bad), "%s/bad.json", H.dir);
  assert_int_equal(json_object_to_file(bad, doc), 0);
  snprintf(dir, sizeof(dir), "%s/bad", H.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  f = ph_fleet_open(&H, dir, NULL, "release-test");
  assert_int_equal(edv_fleet_state_import(f, bad, NULL, &err), EDV_EINVAL);
  assert_non_null(strstr(err.message, "].release"));
  assert_non_null(strstr(err.message, "9.9.9"));
  ph_fleet_close(&H, f);
  json_object_put(doc);
  free(ta);
  free(tb);
}

/* From the cloud alone: each tenant's release, and the release record. */
static void test_rebuild(void **state)
{
  char dir[300];
  json_object *t, *l, *r0;
  edv_fleet *f, *keep = F;
  ph_ans x = {0};
  edv_error err;

  (void)state;
  snprintf(dir, sizeof(dir), "%s/rebuilt", H.dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  f = ph_fleet_open(&H, dir, NULL, "release-test");
  assert_int_equal(edv_fleet_state_rebuild(f, 0, ph_on_ans, &x, &err), 0);
  ph_wait(&H.loop, &x);
  if (!x.a)
    fail_msg("rebuild: %s", x.err.message);
  json_object_put(x.a);
  F = f;
  t = tenant_get("rel01", 0);
  assert_string_equal(ph_js(t, "release"), "1.0.0");
  json_object_put(t);
  t = tenant_get("rel00", 0);
  assert_string_equal(ph_js(t, "release"), "none");
  json_object_put(t);
  l = release_list();
  r0 = json_object_array_get_idx(json_object_object_get(l, "releases"), 0);
  assert_string_equal(ph_js(r0, "version"), "1.0.0");
  assert_string_equal(ph_js(r0, "image"), IMG "edv-tenant-1");
  json_object_put(l);
  F = keep;
  ph_fleet_close(&H, f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_release),
      cmocka_unit_test(test_create_refusals),
      cmocka_unit_test(test_release_and_tenant),
      cmocka_unit_test(test_export_import),
      cmocka_unit_test(test_rebuild),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
