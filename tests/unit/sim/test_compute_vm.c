/*
 * test_compute_vm.c - the Compute VM side of the simulator through HTTP:
 * machine types, images (getFromFamily), instances (PROVISIONING ->
 * RUNNING on the simulated clock, boot disk created and deleted with the
 * instance, CPUS quota, setMachineType only when TERMINATED, fingerprints,
 * reset counting), disks (resize, snapshots, resource policies), instance
 * groups, the instance boot model behind backendServices.getHealth, and
 * a restart from the state file in the middle of an operation.
 *
 * The realistic profile on a real-time clock: nothing finishes unless the
 * test advances the clock, so every intermediate state is observable.
 * Networks, subnetworks, firewalls, health checks, backend services and
 * Cloud SQL instances come from the other modules, through HTTP too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "apitest.h"

#define CP "/compute/v1/projects/edv-sim"
#define ZA CP "/zones/us-central1-a"

static void expect_error(reply *r, int status, const char *reason,
                         const char *message)
{
  expect_status(r, status);
  assert_jeq(r->json, "error.errors.0.reason", reason);
  if (message)
    assert_jeq(r->json, "error.message", message);
  reply_free(r);
}

/* A custom-mode network and a /28 subnetwork in us-central1. */
static void make_network(simfx *f)
{
  call_done(f, "POST", CP "/global/networks",
            "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}");
  call_done(f, "POST", CP "/regions/us-central1/subnetworks",
            "{\"name\":\"edv-t1\",\"network\":\"global/networks/edv-net\","
            "\"ipCidrRange\":\"10.10.0.0/28\"}");
}

/* An instance body: e2 type, debian-12 boot disk, no external IP. */
static char *vm_body(const char *name, const char *type, int disk_gb,
                     const char *extra)
{
  char *b = malloc(4096);

  snprintf(b, 4096,
           "{\"name\":\"%s\",\"machineType\":\"zones/us-central1-a/"
           "machineTypes/%s\",\"labels\":{\"edv-tenant\":\"t1\","
           "\"edv-managed\":\"true\"},\"disks\":[{\"boot\":true,"
           "\"autoDelete\":true,\"initializeParams\":{\"sourceImage\":"
           "\"projects/debian-cloud/global/images/family/debian-12\","
           "\"diskSizeGb\":\"%d\",\"diskType\":\"zones/us-central1-a/"
           "diskTypes/pd-balanced\"}}],\"networkInterfaces\":[{"
           "\"subnetwork\":\"regions/us-central1/subnetworks/edv-t1\"}],"
           "\"serviceAccounts\":[{\"email\":\"edv-t1@edv-sim.iam."
           "gserviceaccount.com\",\"scopes\":[\"https://www.googleapis.com/"
           "auth/cloud-platform\"]}]%s}",
           name, type, disk_gb, extra ? extra : "");
  return b;
}

static void insert_vm(simfx *f, const char *name, const char *type, int disk_gb,
                      const char *extra)
{
  char *b = vm_body(name, type, disk_gb, extra);

  call_done(f, "POST", ZA "/instances", b);
  free(b);
}

static void test_catalog(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;

  (void)state;
  http(f, "GET",
       "/compute/v1/projects/debian-cloud/global/images/family/debian-12", NULL,
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#image");
  assert_jeq(r.json, "name", "debian-12-bookworm-v20261110");
  assert_jeq(r.json, "family", "debian-12");
  assert_jeq(r.json, "status", "READY");
  assert_jeq(r.json, "diskSizeGb", "10");
  assert_non_null(strstr(jget(r.json, "selfLink"),
                         "/compute/v1/projects/debian-cloud/global/images/"
                         "debian-12-bookworm-v20261110"));
  reply_free(&r);
  http(f, "GET",
       "/compute/v1/projects/debian-cloud/global/images/"
       "debian-11-bullseye-v20261110",
       NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "family", "debian-11");
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/debian-cloud/global/images", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "items"), 4);
  reply_free(&r);
  /* The other public image projects gcloud lists: the newest of a family
   * READY, the older one deprecated in its favour. */
  http(f, "GET",
       "/compute/v1/projects/ubuntu-os-cloud/global/images/family/"
       "ubuntu-2404-lts-amd64",
       NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "name", "ubuntu-2404-noble-amd64-v20261105");
  assert_jeq(r.json, "status", "READY");
  assert_null(jget(r.json, "deprecated"));
  reply_free(&r);
  http(f, "GET",
       "/compute/v1/projects/ubuntu-os-cloud/global/images/"
       "ubuntu-2404-noble-amd64-v20261002",
       NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "deprecated.state", "DEPRECATED");
  assert_non_null(strstr(jget(r.json, "deprecated.replacement"),
                         "/projects/ubuntu-os-cloud/global/images/"
                         "ubuntu-2404-noble-amd64-v20261105"));
  reply_free(&r);
  {
    static const char *const projects[] = {
        "cos-cloud",          "centos-cloud",      "rocky-linux-cloud",
        "windows-cloud",      "windows-sql-cloud", "rhel-cloud",
        "suse-cloud",         "opensuse-cloud",    "fedora-coreos-cloud",
        "ubuntu-os-pro-cloud"};

    for (size_t i = 0; i < sizeof(projects) / sizeof(*projects); i++) {
      httpf(f, "GET", NULL, &r, "/compute/v1/projects/%s/global/images",
            projects[i]);
      expect_status(&r, 200);
      assert_true(jlen(r.json, "items") >= 1);
      assert_jeq(r.json, "items.0.status", "READY");
      assert_non_null(jget(r.json, "items.0.family"));
      assert_non_null(strstr(jget(r.json, "items.0.selfLink"), projects[i]));
      reply_free(&r);
    }
  }
  http(f, "GET",
       "/compute/v1/projects/debian-cloud/global/images/family/debian-13", NULL,
       &r);
  expect_error(&r, 404, "notFound",
               "The resource 'projects/debian-cloud/global/images/family/"
               "debian-13' was not found");
  http(f, "GET", "/compute/v1/projects/someone-else/global/images", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* Machine types in every seeded zone. */
  http(f, "GET", ZA "/machineTypes/e2-medium", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#machineType");
  assert_jeq(r.json, "guestCpus", "2");
  assert_jeq(r.json, "memoryMb", "4096");
  assert_jeq(r.json, "zone", "us-central1-a");
  reply_free(&r);
  http(f, "GET", CP "/zones/africa-south1-c/machineTypes/n2-standard-4", NULL,
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "guestCpus", "4");
  reply_free(&r);
  http(f, "GET", ZA "/machineTypes/e2-huge", NULL, &r);
  expect_error(&r, 404, "notFound",
               "The resource 'projects/edv-sim/zones/us-central1-a/"
               "machineTypes/e2-huge' was not found");
  http(f, "GET", CP "/zones/mars-north1-a/machineTypes", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "GET", ZA "/machineTypes", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#machineTypeList");
  assert_int_equal(jlen(r.json, "items"), 9);
  reply_free(&r);
  http(f, "GET", CP "/aggregated/machineTypes", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#machineTypeAggregatedList");
  assert_int_equal(jlen(r.json, "items.zones/europe-west1-b.machineTypes"), 9);
  reply_free(&r);
  fx_free(f);
}

static void test_instance_lifecycle(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char *b, fp[64], op[512];

  (void)state;
  make_network(f);
  b = vm_body("edv-t1-vm", "e2-medium", 20,
              ",\"metadata\":{\"items\":[{\"key\":\"startup-script\","
              "\"value\":\"#!/bin/sh\\necho hi\"}]},\"tags\":{\"items\":"
              "[\"edv-web\"]},\"shieldedInstanceConfig\":{"
              "\"enableSecureBoot\":true}");
  http(f, "POST", ZA "/instances", b, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#operation");
  assert_jeq(r.json, "operationType", "insert");
  assert_jeq(r.json, "status", "PENDING");
  assert_non_null(strstr(jget(r.json, "zone"), "/zones/us-central1-a"));
  snprintf(op, sizeof(op), "%s", url_path(jget(r.json, "selfLink")));
  reply_free(&r);
  /* Visible at once, PROVISIONING; its boot disk exists already. */
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "PROVISIONING");
  assert_null(jget(r.json, "_sim"));
  reply_free(&r);
  http(f, "POST", ZA "/instances", b, &r);
  expect_error(&r, 409, "alreadyExists",
               "The resource 'projects/edv-sim/zones/us-central1-a/instances/"
               "edv-t1-vm' already exists");
  free(b);
  http(f, "GET", ZA "/disks/edv-t1-vm", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "sizeGb", "20");
  assert_jeq(r.json, "labels.edv-tenant", "t1");
  assert_non_null(strstr(jget(r.json, "type"), "/diskTypes/pd-balanced"));
  assert_non_null(strstr(jget(r.json, "users.0"), "/instances/edv-t1-vm"));
  reply_free(&r);
  /* The operation's end makes it RUNNING. */
  http(f, "GET", op, NULL, &r);
  op_done(f, &r);
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "RUNNING");
  assert_jeq(r.json, "labels.edv-tenant", "t1");
  assert_jeq(r.json, "networkInterfaces.0.networkIP", "10.10.0.2");
  assert_null(jget(r.json, "networkInterfaces.0.accessConfigs"));
  assert_non_null(strstr(jget(r.json, "machineType"),
                         "/zones/us-central1-a/machineTypes/e2-medium"));
  assert_non_null(strstr(jget(r.json, "disks.0.source"),
                         "/zones/us-central1-a/disks/edv-t1-vm"));
  assert_jeq(r.json, "disks.0.boot", "true");
  assert_jeq(r.json, "serviceAccounts.0.email",
             "edv-t1@edv-sim.iam.gserviceaccount.com");
  assert_jeq(r.json, "shieldedInstanceConfig.enableSecureBoot", "true");
  snprintf(fp, sizeof(fp), "%s", jget(r.json, "labelFingerprint"));
  reply_free(&r);
  /* aggregatedList: one scope with the instance, the rest warned empty. */
  http(f, "GET", CP "/aggregated/instances", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#instanceAggregatedList");
  assert_jeq(r.json, "items.zones/us-central1-a.instances.0.name", "edv-t1-vm");
  assert_jeq(r.json, "items.zones/us-central1-a.instances.0.status", "RUNNING");
  assert_jeq(r.json, "items.zones/us-east1-b.warning.code",
             "NO_RESULTS_ON_PAGE");
  reply_free(&r);
  http(f, "GET", ZA "/instances?filter=name%20eq%20%22edv-.*%22", NULL, &r);
  expect_status(&r, 200);
  assert_int_equal(jlen(r.json, "items"), 1);
  reply_free(&r);
  /* Errors before anything starts. */
  b = vm_body("edv-bad", "e2-medium", 20, ",\"colour\":\"blue\"");
  http(f, "POST", ZA "/instances", b, &r);
  expect_error(&r, 400, "invalid",
               "Invalid JSON payload received. Unknown name \"colour\" at "
               "'resource': Cannot find field.");
  free(b);
  b = vm_body("Bad_Name", "e2-medium", 20, NULL);
  http(f, "POST", ZA "/instances", b, &r);
  expect_status(&r, 400);
  reply_free(&r);
  free(b);
  b = vm_body("edv-bad", "e2-gigantic", 20, NULL);
  http(f, "POST", ZA "/instances", b, &r);
  expect_error(&r, 400, "invalid",
               "Invalid value for field 'resource.machineType': "
               "'zones/us-central1-a/machineTypes/e2-gigantic'. Machine type "
               "with name 'e2-gigantic' does not exist in zone "
               "'us-central1-a'.");
  free(b);
  b = vm_body("edv-bad", "e2-medium", 5, NULL);
  http(f, "POST", ZA "/instances", b, &r);
  expect_error(&r, 400, "invalid",
               "Invalid value for field "
               "'resource.disks[0].initializeParams.diskSizeGb': '5'. "
               "Requested disk size cannot be smaller than the image size "
               "(10 GB).");
  free(b);
  /* The subnetwork must be in the zone's region. */
  http(f, "POST", CP "/zones/us-east1-b/instances",
       "{\"name\":\"edv-far\",\"machineType\":\"zones/us-east1-b/"
       "machineTypes/e2-small\",\"disks\":[{\"boot\":true,"
       "\"initializeParams\":{\"sourceImage\":\"projects/debian-cloud/"
       "global/images/family/debian-12\"}}],\"networkInterfaces\":[{"
       "\"subnetwork\":\"regions/us-central1/subnetworks/edv-t1\"}]}",
       &r);
  expect_status(&r, 400);
  assert_non_null(strstr(jget(r.json, "error.message"),
                         "Subnetwork should belong to the same region"));
  reply_free(&r);
  http(f, "GET", ZA "/instances/nope", NULL, &r);
  expect_error(&r, 404, "notFound",
               "The resource 'projects/edv-sim/zones/us-central1-a/instances/"
               "nope' was not found");
  /* setMachineType needs TERMINATED. */
  http(f, "POST", ZA "/instances/edv-t1-vm/setMachineType",
       "{\"machineType\":\"zones/us-central1-a/machineTypes/e2-standard-2\"}",
       &r);
  expect_error(&r, 400, "invalid",
               "Instance 'edv-t1-vm' must be stopped before its machine type "
               "can be changed. Current status: RUNNING.");
  http(f, "POST", ZA "/instances/edv-t1-vm/stop", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "operationType", "stop");
  snprintf(op, sizeof(op), "%s", url_path(jget(r.json, "selfLink")));
  reply_free(&r);
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  assert_jeq(r.json, "status", "STOPPING");
  reply_free(&r);
  http(f, "GET", op, NULL, &r);
  op_done(f, &r);
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  assert_jeq(r.json, "status", "TERMINATED");
  assert_non_null(jget(r.json, "lastStopTimestamp"));
  reply_free(&r);
  call_done(f, "POST", ZA "/instances/edv-t1-vm/setMachineType",
            "{\"machineType\":\"https://www.googleapis.com/compute/v1/"
            "projects/edv-sim/zones/us-central1-a/machineTypes/"
            "e2-standard-2\"}");
  call_done(f, "PATCH", ZA "/instances/edv-t1-vm/updateShieldedInstanceConfig",
            "{\"enableVtpm\":true}");
  call_done(f, "POST", ZA "/instances/edv-t1-vm/start", NULL);
  http(f, "PATCH", ZA "/instances/edv-t1-vm/updateShieldedInstanceConfig",
       "{\"enableVtpm\":false}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  assert_jeq(r.json, "status", "RUNNING");
  assert_non_null(
      strstr(jget(r.json, "machineType"), "/machineTypes/e2-standard-2"));
  assert_jeq(r.json, "shieldedInstanceConfig.enableSecureBoot", "true");
  assert_jeq(r.json, "shieldedInstanceConfig.enableVtpm", "true");
  reply_free(&r);
  /* Fingerprints: a stale one is 412, the current one works once. */
  http(f, "POST", ZA "/instances/edv-t1-vm/setLabels",
       "{\"labels\":{\"edv-tenant\":\"t1\",\"edv-tier\":\"small\"},"
       "\"labelFingerprint\":\"c3RhbGU=\"}",
       &r);
  expect_error(&r, 412, "conditionNotMet",
               "Labels fingerprint either invalid or resource labels have "
               "changed");
  {
    char body[256];

    snprintf(body, sizeof(body),
             "{\"labels\":{\"edv-tenant\":\"t1\",\"edv-tier\":\"small\"},"
             "\"labelFingerprint\":\"%s\"}",
             fp);
    call_done(f, "POST", ZA "/instances/edv-t1-vm/setLabels", body);
    http(f, "POST", ZA "/instances/edv-t1-vm/setLabels", body, &r);
    expect_status(&r, 412);
    reply_free(&r);
  }
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  assert_jeq(r.json, "labels.edv-tier", "small");
  snprintf(fp, sizeof(fp), "%s", jget(r.json, "metadata.fingerprint"));
  reply_free(&r);
  http(f, "POST", ZA "/instances/edv-t1-vm/setMetadata",
       "{\"fingerprint\":\"c3RhbGU=\",\"items\":[]}", &r);
  expect_error(&r, 412, "conditionNotMet",
               "Supplied fingerprint does not match current metadata "
               "fingerprint.");
  {
    char body[256];

    snprintf(body, sizeof(body),
             "{\"fingerprint\":\"%s\",\"items\":[{\"key\":\"edv-tier\","
             "\"value\":\"small\"}]}",
             fp);
    call_done(f, "POST", ZA "/instances/edv-t1-vm/setMetadata", body);
  }
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  assert_jeq(r.json, "metadata.items.0.key", "edv-tier");
  reply_free(&r);
  /* reset keeps RUNNING and is counted. */
  call_done(f, "POST", ZA "/instances/edv-t1-vm/reset", NULL);
  call_done(f, "POST", ZA "/instances/edv-t1-vm/reset", NULL);
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  assert_jeq(r.json, "status", "RUNNING");
  reply_free(&r);
  http(f, "GET", "/_sim/health/instances", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "instances.0.resets", "2");
  assert_non_null(jget(r.json, "instances.0.lastResetTimestamp"));
  reply_free(&r);
  /* Delete takes the auto-delete boot disk with it. */
  http(f, "DELETE", ZA "/disks/edv-t1-vm", NULL, &r);
  expect_error(&r, 400, "resourceInUseByAnotherResource",
               "The disk resource 'projects/edv-sim/zones/us-central1-a/"
               "disks/edv-t1-vm' is already being used by 'projects/edv-sim/"
               "zones/us-central1-a/instances/edv-t1-vm'");
  call_done(f, "DELETE", ZA "/instances/edv-t1-vm", NULL);
  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "GET", ZA "/disks/edv-t1-vm", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

static void test_cpu_quota(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char *b;

  (void)state;
  make_network(f);
  insert_vm(f, "edv-big", "e2-standard-16", 10, NULL);
  insert_vm(f, "edv-mid", "e2-standard-8", 10, NULL);
  b = vm_body("edv-one-more", "e2-micro", 10, NULL);
  http(f, "POST", ZA "/instances", b, &r);
  expect_status(&r, 403);
  assert_jeq(r.json, "error.errors.0.reason", "quotaExceeded");
  assert_jeq(r.json, "error.errors.0.domain", "usageLimits");
  assert_jeq(r.json, "error.message",
             "Quota 'CPUS' exceeded. Limit: 24.0 in region us-central1.");
  reply_free(&r);
  /* Nothing was left behind by the refused insert. */
  http(f, "GET", ZA "/disks/edv-one-more", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* A stopped instance gives its CPUs back. */
  call_done(f, "POST", ZA "/instances/edv-mid/stop", NULL);
  call_done(f, "POST", ZA "/instances", b);
  http(f, "GET", CP "/regions/us-central1", NULL, &r);
  expect_status(&r, 200);
  assert_non_null(strstr(r.body, "\"metric\":\"CPUS\",\"limit\":24.0,"
                                 "\"usage\":18.0"));
  reply_free(&r);
  /* ... and cannot start again while the quota is taken. */
  http(f, "POST", ZA "/instances/edv-mid/start", NULL, &r);
  expect_status(&r, 403);
  reply_free(&r);
  free(b);
  /* An insert whose operation fails leaves nothing behind. */
  call_done(f, "DELETE", ZA "/instances/edv-mid", NULL);
  http(f, "POST", "/_sim/faults",
       "{\"failOperation\":\"compute.instances.insert\",\"count\":1,"
       "\"operationError\":{\"code\":\"ZONE_RESOURCE_POOL_EXHAUSTED\","
       "\"message\":\"no\",\"httpStatus\":503}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  b = vm_body("edv-unlucky", "e2-standard-4", 10, NULL);
  http(f, "POST", ZA "/instances", b, &r);
  free(b);
  expect_status(&r, 200);
  {
    char op[512];
    reply o;

    snprintf(op, sizeof(op), "%s", url_path(jget(r.json, "selfLink")));
    reply_free(&r);
    assert_int_equal(advance(f, 200), 200);
    http(f, "GET", op, NULL, &o);
    assert_jeq(o.json, "status", "DONE");
    assert_jeq(o.json, "error.errors.0.code", "ZONE_RESOURCE_POOL_EXHAUSTED");
    reply_free(&o);
  }
  http(f, "GET", ZA "/instances/edv-unlucky", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "GET", ZA "/disks/edv-unlucky", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "GET", CP "/regions/us-central1", NULL, &r);
  assert_non_null(strstr(r.body, "\"metric\":\"CPUS\",\"limit\":24.0,"
                                 "\"usage\":18.0"));
  assert_non_null(strstr(r.body, "\"metric\":\"INSTANCES\",\"limit\":100.0,"
                                 "\"usage\":2.0"));
  reply_free(&r);
  fx_free(f);
}

static void test_disks_and_policies(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;

  (void)state;
  make_network(f);
  insert_vm(f, "edv-t2-vm", "e2-small", 60, NULL);
  http(f, "POST", ZA "/disks/edv-t2-vm/resize", "{\"sizeGb\":\"50\"}", &r);
  expect_error(&r, 400, "invalid",
               "Invalid value for field 'sizeGb': '50'. New disk size '50' "
               "GiB must be larger than existing size '60' GiB.");
  call_done(f, "POST", ZA "/disks/edv-t2-vm/resize", "{\"sizeGb\":\"80\"}");
  http(f, "GET", ZA "/disks/edv-t2-vm", NULL, &r);
  assert_jeq(r.json, "sizeGb", "80");
  reply_free(&r);
  http(f, "GET", ZA "/disks", NULL, &r);
  assert_int_equal(jlen(r.json, "items"), 1);
  reply_free(&r);
  http(f, "GET", CP "/aggregated/disks", NULL, &r);
  assert_jeq(r.json, "items.zones/us-central1-a.disks.0.name", "edv-t2-vm");
  reply_free(&r);
  /* Snapshot schedules: daily start times on the 4-hour marks. */
  http(f, "POST", CP "/regions/us-central1/resourcePolicies",
       "{\"name\":\"edv-t2-snap\",\"snapshotSchedulePolicy\":{\"schedule\":{"
       "\"dailySchedule\":{\"daysInCycle\":1,\"startTime\":\"03:00\"}},"
       "\"retentionPolicy\":{\"maxRetentionDays\":7,\"onSourceDiskDelete\":"
       "\"KEEP_AUTO_SNAPSHOTS\"}}}",
       &r);
  expect_error(&r, 400, "invalid",
               "Invalid value for field "
               "'resource.snapshotSchedulePolicy.schedule.dailySchedule."
               "startTime': '03:00'. Start time of a daily schedule must be "
               "one of 00:00, 04:00, 08:00, 12:00, 16:00 or 20:00 UTC.");
  http(f, "POST", CP "/regions/us-central1/resourcePolicies",
       "{\"name\":\"edv-t2-snap\",\"snapshotSchedulePolicy\":{\"schedule\":{"
       "\"dailySchedule\":{\"daysInCycle\":1,\"startTime\":\"04:00\"}},"
       "\"retentionPolicy\":{\"maxRetentionDays\":0}}}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "POST", CP "/regions/us-central1/resourcePolicies",
       "{\"name\":\"edv-t2-snap\",\"snapshotSchedulePolicy\":{\"schedule\":{"
       "\"dailySchedule\":{\"daysInCycle\":1,\"startTime\":\"04:00\"}},"
       "\"retentionPolicy\":{\"maxRetentionDays\":7,\"onSourceDiskDelete\":"
       "\"SOMETIMES\"}}}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  call_done(f, "POST", CP "/regions/us-central1/resourcePolicies",
            "{\"name\":\"edv-t2-snap\",\"description\":\"edv-managed\","
            "\"snapshotSchedulePolicy\":{\"schedule\":{\"dailySchedule\":{"
            "\"daysInCycle\":1,\"startTime\":\"04:00\"}},\"retentionPolicy\""
            ":{\"maxRetentionDays\":7,\"onSourceDiskDelete\":"
            "\"KEEP_AUTO_SNAPSHOTS\"}}}");
  call_done(f, "POST", CP "/regions/europe-west1/resourcePolicies",
            "{\"name\":\"edv-eu-snap\",\"snapshotSchedulePolicy\":{"
            "\"schedule\":{\"hourlySchedule\":{\"hoursInCycle\":4,"
            "\"startTime\":\"01:00\"}}}}");
  http(f, "GET", CP "/regions/us-central1/resourcePolicies/edv-t2-snap", NULL,
       &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "READY");
  reply_free(&r);
  /* A policy of another region cannot be attached. */
  http(f, "POST", ZA "/disks/edv-t2-vm/addResourcePolicies",
       "{\"resourcePolicies\":[\"projects/edv-sim/regions/europe-west1/"
       "resourcePolicies/edv-eu-snap\"]}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "POST", ZA "/disks/edv-t2-vm/addResourcePolicies",
       "{\"resourcePolicies\":[\"regions/us-central1/resourcePolicies/"
       "missing\"]}",
       &r);
  expect_status(&r, 404);
  reply_free(&r);
  call_done(f, "POST", ZA "/disks/edv-t2-vm/addResourcePolicies",
            "{\"resourcePolicies\":[\"https://www.googleapis.com/compute/v1/"
            "projects/edv-sim/regions/us-central1/resourcePolicies/"
            "edv-t2-snap\"]}");
  http(f, "GET", ZA "/disks/edv-t2-vm", NULL, &r);
  assert_non_null(strstr(jget(r.json, "resourcePolicies.0"),
                         "/regions/us-central1/resourcePolicies/edv-t2-snap"));
  reply_free(&r);
  /* A disk takes one snapshot schedule: a second is refused until the
   * first is removed (a tier change swaps them that way). */
  call_done(f, "POST", CP "/regions/us-central1/resourcePolicies",
            "{\"name\":\"edv-t2-snap-2\",\"snapshotSchedulePolicy\":{"
            "\"schedule\":{\"dailySchedule\":{\"daysInCycle\":1,"
            "\"startTime\":\"04:00\"}},\"retentionPolicy\":{"
            "\"maxRetentionDays\":30}}}");
  http(f, "POST", ZA "/disks/edv-t2-vm/addResourcePolicies",
       "{\"resourcePolicies\":[\"regions/us-central1/resourcePolicies/"
       "edv-t2-snap-2\"]}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  http(f, "GET", ZA "/disks/edv-t2-vm", NULL, &r);
  assert_int_equal(jlen(r.json, "resourcePolicies"), 1);
  reply_free(&r);
  call_done(f, "DELETE",
            CP "/regions/us-central1/resourcePolicies/edv-t2-snap-2", NULL);
  /* Labels: setLabels with the current labelFingerprint only. */
  http(f, "POST", ZA "/disks/edv-t2-vm/setLabels",
       "{\"labels\":{\"edv-tier\":\"premium\"},\"labelFingerprint\":"
       "\"c3RhbGU=\"}",
       &r);
  expect_status(&r, 412);
  reply_free(&r);
  {
    char body[256], fp[64];
    http(f, "GET", ZA "/disks/edv-t2-vm", NULL, &r);
    snprintf(fp, sizeof(fp), "%s", jget(r.json, "labelFingerprint"));
    reply_free(&r);
    snprintf(body, sizeof(body),
             "{\"labels\":{\"edv-tier\":\"premium\"},"
             "\"labelFingerprint\":\"%s\"}",
             fp);
    call_done(f, "POST", ZA "/disks/edv-t2-vm/setLabels", body);
    http(f, "GET", ZA "/disks/edv-t2-vm", NULL, &r);
    assert_jeq(r.json, "labels.edv-tier", "premium");
    assert_string_not_equal(jget(r.json, "labelFingerprint"), fp);
    reply_free(&r);
  }
  http(f, "DELETE", CP "/regions/us-central1/resourcePolicies/edv-t2-snap",
       NULL, &r);
  expect_error(&r, 400, "resourceInUseByAnotherResource",
               "The resource_policy resource 'projects/edv-sim/regions/"
               "us-central1/resourcePolicies/edv-t2-snap' is already being "
               "used by 'projects/edv-sim/zones/us-central1-a/disks/"
               "edv-t2-vm'");
  call_done(f, "POST", ZA "/disks/edv-t2-vm/removeResourcePolicies",
            "{\"resourcePolicies\":[\"regions/us-central1/resourcePolicies/"
            "edv-t2-snap\"]}");
  call_done(f, "DELETE", CP "/regions/us-central1/resourcePolicies/edv-t2-snap",
            NULL);
  /* A snapshot is a global resource made by a zonal operation. */
  call_done(f, "POST", ZA "/disks/edv-t2-vm/createSnapshot",
            "{\"name\":\"edv-t2-snap-1\",\"labels\":{\"edv-tenant\":\"t2\"}}");
  http(f, "GET", CP "/global/snapshots/edv-t2-snap-1", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#snapshot");
  assert_jeq(r.json, "diskSizeGb", "80");
  assert_jeq(r.json, "labels.edv-tenant", "t2");
  assert_non_null(strstr(jget(r.json, "sourceDisk"), "/disks/edv-t2-vm"));
  reply_free(&r);
  http(f, "POST", ZA "/disks/edv-t2-vm/createSnapshot",
       "{\"name\":\"edv-t2-snap-1\"}", &r);
  expect_status(&r, 409);
  reply_free(&r);
  http(f, "GET", CP "/global/snapshots", NULL, &r);
  assert_int_equal(jlen(r.json, "items"), 1);
  reply_free(&r);
  call_done(f, "DELETE", CP "/global/snapshots/edv-t2-snap-1", NULL);
  http(f, "GET", CP "/global/snapshots/edv-t2-snap-1", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

static void test_instance_groups(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;

  (void)state;
  make_network(f);
  insert_vm(f, "edv-g1", "e2-micro", 10, NULL);
  call_done(f, "POST", ZA "/instanceGroups",
            "{\"name\":\"edv-t1-ig\",\"namedPorts\":[{\"name\":\"http\","
            "\"port\":80}],\"network\":\"global/networks/edv-net\"}");
  http(f, "POST", ZA "/instanceGroups/edv-t1-ig/addInstances",
       "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
       "nope\"}]}",
       &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "POST", ZA "/instanceGroups/edv-t1-ig/addInstances",
       "{\"instances\":[{\"instance\":\"zones/us-central1-b/instances/"
       "edv-g1\"}]}",
       &r);
  expect_status(&r, 400);
  reply_free(&r);
  call_done(f, "POST", ZA "/instanceGroups/edv-t1-ig/addInstances",
            "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
            "edv-g1\"}]}");
  http(f, "POST", ZA "/instanceGroups/edv-t1-ig/addInstances",
       "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
       "edv-g1\"}]}",
       &r);
  expect_error(&r, 400, "memberAlreadyExists",
               "Resource 'projects/edv-sim/zones/us-central1-a/instances/"
               "edv-g1' is already a member of 'projects/edv-sim/zones/"
               "us-central1-a/instanceGroups/edv-t1-ig'");
  http(f, "GET", ZA "/instanceGroups/edv-t1-ig", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "size", "1");
  assert_jeq(r.json, "namedPorts.0.port", "80");
  assert_null(jget(r.json, "_sim"));
  reply_free(&r);
  http(f, "POST", ZA "/instanceGroups/edv-t1-ig/listInstances",
       "{\"instanceState\":\"ALL\"}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#instanceGroupsListInstances");
  assert_int_equal(jlen(r.json, "items"), 1);
  assert_jeq(r.json, "items.0.status", "RUNNING");
  reply_free(&r);
  /* A deleted instance leaves its groups. */
  insert_vm(f, "edv-g2", "e2-micro", 10, NULL);
  call_done(f, "POST", ZA "/instanceGroups/edv-t1-ig/addInstances",
            "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
            "edv-g2\"}]}");
  call_done(f, "DELETE", ZA "/instances/edv-g2", NULL);
  http(f, "GET", ZA "/instanceGroups/edv-t1-ig", NULL, &r);
  assert_jeq(r.json, "size", "1");
  reply_free(&r);
  call_done(f, "POST", ZA "/instanceGroups/edv-t1-ig/setNamedPorts",
            "{\"namedPorts\":[{\"name\":\"http\",\"port\":8080}]}");
  call_done(f, "POST", ZA "/instanceGroups/edv-t1-ig/removeInstances",
            "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
            "edv-g1\"}]}");
  http(f, "GET", ZA "/instanceGroups/edv-t1-ig", NULL, &r);
  assert_jeq(r.json, "size", "0");
  assert_jeq(r.json, "namedPorts.0.port", "8080");
  reply_free(&r);
  http(f, "GET", CP "/aggregated/instanceGroups", NULL, &r);
  assert_jeq(r.json, "items.zones/us-central1-a.instanceGroups.0.name",
             "edv-t1-ig");
  reply_free(&r);
  call_done(f, "DELETE", ZA "/instanceGroups/edv-t1-ig", NULL);
  http(f, "GET", ZA "/instanceGroups/edv-t1-ig", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  fx_free(f);
}

/* getHealth of the group: the state of member `i`. */
static void expect_health(simfx *f, int i, const char *want, const char *reason)
{
  reply r;
  char path[64];

  http(f, "POST", CP "/global/backendServices/edv-t1-bs/getHealth",
       "{\"group\":\"zones/us-central1-a/instanceGroups/edv-t1-ig\"}", &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "kind", "compute#backendServiceGroupHealth");
  snprintf(path, sizeof(path), "healthStatus.%d.healthState", i);
  assert_jeq(r.json, path, want);
  reply_free(&r);
  if (reason == NULL)
    return;
  http(f, "GET", "/_sim/health/instances", NULL, &r);
  snprintf(path, sizeof(path), "instances.%d.reason", i);
  if (jget(r.json, path) == NULL || strstr(jget(r.json, path), reason) == NULL)
    fail_msg("want reason '%s' in %s", reason, r.body);
  reply_free(&r);
}

static void set_metadata(simfx *f, const char *items)
{
  reply r;
  char body[1024];

  http(f, "GET", ZA "/instances/edv-t1-vm", NULL, &r);
  snprintf(body, sizeof(body), "{\"fingerprint\":\"%s\",\"items\":%s}",
           jget(r.json, "metadata.fingerprint"), items);
  reply_free(&r);
  call_done(f, "POST", ZA "/instances/edv-t1-vm/setMetadata", body);
}

#define GOOD_MD                                                                \
  "[{\"key\":\"startup-script\",\"value\":\"#!/bin/sh\"},{\"key\":"            \
  "\"edv-db-instance\",\"value\":\"edv-t1-db-1\"}]"

static void test_boot_model(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;

  (void)state;
  make_network(f);
  call_done(f, "POST", CP "/global/firewalls",
            "{\"name\":\"edv-t1-allow-hc\",\"network\":\"global/networks/"
            "edv-net\",\"direction\":\"INGRESS\",\"priority\":1000,"
            "\"sourceRanges\":[\"35.191.0.0/16\",\"130.211.0.0/22\"],"
            "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"80\"]}],"
            "\"targetTags\":[\"edv-web\"]}");
  call_done(f, "POST", CP "/global/healthChecks",
            "{\"name\":\"edv-hc\",\"type\":\"HTTP\",\"httpHealthCheck\":{"
            "\"port\":80,\"requestPath\":\"/health\"}}");
  call_done(f, "POST", ZA "/instanceGroups",
            "{\"name\":\"edv-t1-ig\",\"namedPorts\":[{\"name\":\"http\","
            "\"port\":80}]}");
  call_done(f, "POST", CP "/global/backendServices",
            "{\"name\":\"edv-t1-bs\",\"protocol\":\"HTTP\",\"portName\":"
            "\"http\",\"loadBalancingScheme\":\"EXTERNAL_MANAGED\","
            "\"healthChecks\":[\"global/healthChecks/edv-hc\"],\"backends\":"
            "[{\"group\":\"zones/us-central1-a/instanceGroups/edv-t1-ig\"}]}");
  /* A member without the firewall's target tag. */
  insert_vm(f, "edv-t1-vm2", "e2-micro", 10,
            ",\"metadata\":{\"items\":" GOOD_MD "}");
  /* The database and the VM start together; the database takes longer
   * (realistic SQL: >= 245 s; the VM <= 85 s, boot <= 90 s, adding to
   * the group <= 28 s, each seen in 5 s steps). */
  http(f, "POST", "/v1/projects/edv-sim/instances",
       "{\"name\":\"edv-t1-db-1\",\"databaseVersion\":\"POSTGRES_15\","
       "\"region\":\"us-central1\",\"settings\":{\"tier\":"
       "\"db-custom-1-3840\"}}",
       &r);
  expect_status(&r, 200);
  reply_free(&r);
  insert_vm(f, "edv-t1-vm", "e2-medium", 10,
            ",\"metadata\":{\"items\":" GOOD_MD "},\"tags\":{\"items\":"
            "[\"edv-web\"]}");
  /* (a) just started: within its boot delay (>= 60 s). */
  http(f, "GET", "/_sim/health/instances", NULL, &r);
  assert_jeq(r.json, "instances.0.instance",
             "projects/edv-sim/zones/us-central1-a/instances/edv-t1-vm");
  assert_jeq(r.json, "instances.0.status", "RUNNING");
  assert_jeq(r.json, "instances.0.healthState", "UNHEALTHY");
  assert_non_null(strstr(jget(r.json, "instances.0.reason"), "booting"));
  reply_free(&r);
  call_done(f, "POST", ZA "/instanceGroups/edv-t1-ig/addInstances",
            "{\"instances\":[{\"instance\":\"zones/us-central1-a/instances/"
            "edv-t1-vm\"},{\"instance\":\"zones/us-central1-a/instances/"
            "edv-t1-vm2\"}]}");
  /* (c) booted, but the database is still PENDING_CREATE. */
  assert_int_equal(advance(f, 95), 200);
  expect_health(f, 0, "UNHEALTHY", "is PENDING_CREATE, not RUNNABLE");
  assert_int_equal(advance(f, 600), 200);
  http(f, "GET", "/v1/projects/edv-sim/instances/edv-t1-db-1", NULL, &r);
  assert_jeq(r.json, "state", "RUNNABLE");
  reply_free(&r);
  expect_health(f, 0, "HEALTHY", "healthy");
  /* (d) the untagged member is not targeted by the firewall rule. */
  expect_health(f, 1, "UNHEALTHY", "no INGRESS firewall rule admits tcp:80");
  http(f, "POST", CP "/global/backendServices/edv-t1-bs/getHealth",
       "{\"group\":\"zones/us-central1-a/instanceGroups/edv-t1-ig\"}", &r);
  assert_jeq(r.json, "healthStatus.0.ipAddress", "10.10.0.3");
  assert_jeq(r.json, "healthStatus.0.port", "80");
  assert_non_null(strstr(jget(r.json, "healthStatus.0.instance"),
                         "/zones/us-central1-a/instances/edv-t1-vm"));
  reply_free(&r);
  /* (d) a higher-priority deny from one probe range wins. */
  call_done(f, "POST", CP "/global/firewalls",
            "{\"name\":\"edv-deny\",\"network\":\"global/networks/edv-net\","
            "\"priority\":900,\"sourceRanges\":[\"130.211.0.0/22\"],"
            "\"denied\":[{\"IPProtocol\":\"tcp\"}]}");
  expect_health(f, 0, "UNHEALTHY", "from 130.211.0.0/22");
  call_done(f, "DELETE", CP "/global/firewalls/edv-deny", NULL);
  expect_health(f, 0, "HEALTHY", NULL);
  /* The rules are looked up by target: a rule retargeted away no longer
   * admits; one made for another tag admits once retargeted. */
  call_done(f, "POST", CP "/global/firewalls",
            "{\"name\":\"edv-t1-allow-hc2\",\"network\":\"global/networks/"
            "edv-net\",\"direction\":\"INGRESS\",\"priority\":1000,"
            "\"sourceRanges\":[\"35.191.0.0/16\",\"130.211.0.0/22\"],"
            "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"80\"]}],"
            "\"targetTags\":[\"edv-other\"]}");
  call_done(f, "PATCH", CP "/global/firewalls/edv-t1-allow-hc",
            "{\"targetTags\":[\"edv-other\"]}");
  expect_health(f, 0, "UNHEALTHY", "no INGRESS firewall rule admits tcp:80");
  call_done(f, "PATCH", CP "/global/firewalls/edv-t1-allow-hc2",
            "{\"targetTags\":[\"edv-other\",\"edv-web\"]}");
  expect_health(f, 0, "HEALTHY", NULL);
  call_done(f, "DELETE", CP "/global/firewalls/edv-t1-allow-hc2", NULL);
  expect_health(f, 0, "UNHEALTHY", "no INGRESS firewall rule admits tcp:80");
  call_done(f, "PATCH", CP "/global/firewalls/edv-t1-allow-hc",
            "{\"targetTags\":[\"edv-web\"]}");
  expect_health(f, 0, "HEALTHY", NULL);
  /* (e) a forced fault. */
  http(f, "POST", "/_sim/faults", "{\"unhealthy\":\"edv-t1-vm\"}", &r);
  expect_status(&r, 200);
  reply_free(&r);
  expect_health(f, 0, "UNHEALTHY", "forced unhealthy");
  http(f, "DELETE", "/_sim/faults", NULL, &r);
  reply_free(&r);
  expect_health(f, 0, "HEALTHY", NULL);
  /* (b) no startup script. */
  set_metadata(f, "[{\"key\":\"edv-db-instance\",\"value\":"
                  "\"edv-t1-db-1\"}]");
  expect_health(f, 0, "UNHEALTHY", "no startup-script");
  /* (c) a database that does not exist. */
  set_metadata(f, "[{\"key\":\"startup-script\",\"value\":\"x\"},{\"key\":"
                  "\"edv-db-instance\",\"value\":\"edv-t1-db-9\"}]");
  expect_health(f, 0, "UNHEALTHY",
                "'edv-t1-db-9' (metadata edv-db-instance) "
                "does not exist");
  set_metadata(f, GOOD_MD);
  expect_health(f, 0, "HEALTHY", NULL);
  /* (a) a reset boots again; a stopped instance is never healthy. */
  call_done(f, "POST", ZA "/instances/edv-t1-vm/reset", NULL);
  http(f, "GET", "/_sim/health/instances", NULL, &r);
  assert_jeq(r.json, "instances.0.resets", "1");
  reply_free(&r);
  assert_int_equal(advance(f, 95), 200);
  expect_health(f, 0, "HEALTHY", NULL);
  call_done(f, "POST", ZA "/instances/edv-t1-vm/stop", NULL);
  expect_health(f, 0, "UNHEALTHY", "TERMINATED");
  /* Errors: unknown service, a group that is not its backend. */
  http(f, "POST", CP "/global/backendServices/nope/getHealth",
       "{\"group\":\"zones/us-central1-a/instanceGroups/edv-t1-ig\"}", &r);
  expect_status(&r, 404);
  reply_free(&r);
  call_done(f, "POST", ZA "/instanceGroups", "{\"name\":\"edv-other-ig\"}");
  http(f, "POST", CP "/global/backendServices/edv-t1-bs/getHealth",
       "{\"group\":\"zones/us-central1-a/instanceGroups/edv-other-ig\"}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  /* A group in use by a backend service cannot be deleted. */
  http(f, "DELETE", ZA "/instanceGroups/edv-t1-ig", NULL, &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "resourceInUseByAnotherResource");
  reply_free(&r);
  fx_free(f);
}

/* Stops the simulator but keeps its state directory (apitest's fx_free
 * removes it). */
/* vm_body() booting `image` instead of the public debian-12 family. */
static char *vm_body_image(const char *name, const char *image,
                           const char *extra)
{
  const char *deb = "projects/debian-cloud/global/images/family/debian-12";
  char *b = vm_body(name, "e2-small", 10, extra), *nb = malloc(4200);
  const char *p = strstr(b, deb);

  snprintf(nb, 4200, "%.*s%s%s", (int)(p - b), b, image, p + strlen(deb));
  free(b);
  return nb;
}

#define GUEST_MD(extra)                                                        \
  ",\"metadata\":{\"items\":[{\"key\":\"startup-script\",\"value\":"           \
  "\"#!/bin/sh\"},{\"key\":\"edv-release\",\"value\":\"1.2.0\"}" extra "]}"
#define GUEST_ON ",{\"key\":\"enable-guest-attributes\",\"value\":\"TRUE\"}"
#define GUEST_Q  "/getGuestAttributes?queryPath=edvirons%2F"

/* The guest attribute a VM's startup script writes, derived from the boot
 * model: nothing while it boots or without enable-guest-attributes; then
 * the release of its metadata from an image of the project, "none" from
 * a public image. Project images: insert, family, OBSOLETE refused. */
static void test_guest_attributes(void **state)
{
  simfx *f = fx_start("realistic");
  char *b;
  reply r;

  (void)state;
  make_network(f);
  call_done(f, "POST", CP "/global/images",
            "{\"name\":\"tenant-1\",\"family\":\"tenant\",\"rawDisk\":{"
            "\"source\":\"https://storage.googleapis.com/b/t.tar.gz\"}}");
  http(f, "GET", CP "/global/images/family/tenant", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "name", "tenant-1");
  assert_jeq(r.json, "status", "READY");
  reply_free(&r);
  /* A tenant image VM, a stock one, and one without the switch. */
  b = vm_body_image("edv-t1-vm", "projects/edv-sim/global/images/family/tenant",
                    GUEST_MD(GUEST_ON));
  call_done(f, "POST", ZA "/instances", b);
  free(b);
  /* Booting (realistic: >= 60 s): nothing written yet. */
  http(f, "GET", ZA "/instances/edv-t1-vm" GUEST_Q, NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  insert_vm(f, "edv-t2-vm", "e2-small", 10, GUEST_MD(GUEST_ON));
  insert_vm(f, "edv-t3-vm", "e2-small", 10, GUEST_MD(""));
  assert_int_equal(advance(f, 95), 200);
  http(f, "GET", ZA "/instances/edv-t1-vm" GUEST_Q, NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "queryValue.items.0.namespace", "edvirons");
  assert_jeq(r.json, "queryValue.items.0.key", "app-version");
  assert_jeq(r.json, "queryValue.items.0.value", "1.2.0");
  reply_free(&r);
  http(f, "GET",
       ZA "/instances/edv-t1-vm/getGuestAttributes?variableKey=edvirons%2F"
          "app-version",
       NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "variableValue", "1.2.0");
  reply_free(&r);
  http(f, "GET",
       ZA "/instances/edv-t1-vm/getGuestAttributes?queryPath=other%2F", NULL,
       &r);
  expect_status(&r, 404);
  reply_free(&r);
  http(f, "GET", ZA "/instances/edv-t2-vm" GUEST_Q, NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "queryValue.items.0.value", "none");
  reply_free(&r);
  http(f, "GET", ZA "/instances/edv-t3-vm" GUEST_Q, NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  /* OBSOLETE: no new disk from it, and the family has no image left. */
  call_done(f, "POST", CP "/global/images/tenant-1/deprecate",
            "{\"state\":\"OBSOLETE\"}");
  http(f, "GET", CP "/global/images/family/tenant", NULL, &r);
  expect_status(&r, 404);
  reply_free(&r);
  b = vm_body_image("edv-t4-vm", "projects/edv-sim/global/images/tenant-1",
                    NULL);
  http(f, "POST", ZA "/instances", b, &r);
  expect_status(&r, 400);
  assert_non_null(strstr(r.body, "OBSOLETE"));
  reply_free(&r);
  free(b);
  fx_free(f);
}

static char *fx_stop_keep(simfx *f)
{
  char *dir = strdup(f->dir);

  uv_async_send(&f->stop);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  assert_int_equal(f->closed, 1);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
  return dir;
}

/* fx_start on an existing state directory. */
static simfx *fx_restart(const char *dir)
{
  simfx *f = calloc(1, sizeof(*f));
  edv_sim_options o;
  edv_error err;

  assert_non_null(f);
  snprintf(f->dir, sizeof(f->dir), "%s", dir);
  snprintf(f->state_path, sizeof(f->state_path), "%s/state.json", f->dir);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  memset(&o, 0, sizeof(o));
  o.profile = "realistic";
  o.time_scale = 1;
  o.state_file = f->state_path;
  o.seed = 8;
  f->es = edv_sim_start(&f->loop, &o, &err);
  if (f->es == NULL)
    fail_msg("edv_sim_start: %s", err.message);
  f->port = edv_sim_port(f->es);
  uv_async_init(&f->loop, &f->stop, fx_stop_cb);
  f->stop.data = f;
  assert_int_equal(pthread_create(&f->thread, NULL, fx_loop, f), 0);
  fx_login(f);
  return f;
}

/* The boot model and the life cycle live in the state file: a restart in
 * the middle of a stop finishes it, and a reset count survives. */
static void test_restart(void **state)
{
  simfx *f = fx_start("realistic");
  reply r;
  char *dir;

  (void)state;
  make_network(f);
  insert_vm(f, "edv-keep", "e2-small", 10, NULL);
  call_done(f, "POST", ZA "/instances/edv-keep/reset", NULL);
  http(f, "POST", ZA "/instances/edv-keep/stop", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  usleep(400 * 1000); /* past the state file's save debounce */
  dir = fx_stop_keep(f);
  f = fx_restart(dir);
  free(dir);
  http(f, "GET", ZA "/instances/edv-keep", NULL, &r);
  expect_status(&r, 200);
  assert_jeq(r.json, "status", "STOPPING");
  reply_free(&r);
  assert_int_equal(advance(f, 200), 200);
  http(f, "GET", ZA "/instances/edv-keep", NULL, &r);
  assert_jeq(r.json, "status", "TERMINATED");
  reply_free(&r);
  http(f, "GET", "/_sim/health/instances", NULL, &r);
  assert_jeq(r.json, "instances.0.resets", "1");
  assert_jeq(r.json, "instances.0.healthState", "UNHEALTHY");
  reply_free(&r);
  http(f, "GET",
       "/compute/v1/projects/debian-cloud/global/images/family/"
       "debian-12",
       NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  fx_free(f);
}

/* Compute's batch endpoint: parts answered in order as application/http
 * parts with Content-ID <response-ID>; each part its own request (a 404
 * part beside a 200 one, a POST with its body); a malformed part or a
 * body that is not multipart/mixed is 400 and runs nothing. */
static void test_batch(void **state)
{
  static const char ok_body[] =
      "--xyz\r\n"
      "Content-Type: application/http\r\n"
      "Content-Transfer-Encoding: binary\r\n"
      "Content-ID: <b29+1>\r\n"
      "\r\n"
      "GET /compute/v1/projects/debian-cloud/global/images?alt=json&"
      "filter=family%20eq%20debian-12 HTTP/1.1\r\n"
      "Content-Type: application/json\r\n"
      "\r\n"
      "\r\n"
      "--xyz\r\n"
      "Content-Type: application/http\n"
      "Content-ID: <b29+2>\n"
      "\n"
      "GET /compute/v1/projects/edv-sim/zones/us-central1-a/instanceGroups/"
      "nope HTTP/1.1\n"
      "\n"
      "\r\n"
      "--xyz\r\n"
      "Content-Type: application/http\r\n"
      "\r\n"
      "POST /compute/v1/projects/edv-sim/global/networks HTTP/1.1\r\n"
      "Content-Type: application/json\r\n"
      "\r\n"
      "{\"name\":\"bnet\",\"autoCreateSubnetworks\":false}\r\n"
      "--xyz--\r\n";
  simfx *f = fx_start("fast");
  reply r;
  const char *p1, *p2, *p3;

  (void)state;
  http_ct(f, "POST", "/batch/compute/v1", "multipart/mixed; boundary=\"xyz\"",
          ok_body, &r);
  expect_status(&r, 200);
  assert_non_null(strstr(r.ctype, "multipart/mixed; boundary="));
  p1 = strstr(r.body, "Content-ID: <response-b29+1>");
  p2 = strstr(r.body, "Content-ID: <response-b29+2>");
  p3 = strstr(r.body, "Content-ID: <response-3>");
  assert_non_null(p1);
  assert_non_null(p2);
  assert_non_null(p3);
  assert_true(p1 < p2 && p2 < p3);
  assert_non_null(strstr(p1, "HTTP/1.1 200 OK"));
  assert_true(strstr(p1, "HTTP/1.1 200 OK") < p2);
  /* The filter ran: only the debian-12 family. */
  assert_non_null(strstr(p1, "debian-12-bookworm-v20261110"));
  assert_true(strstr(p1, "debian-11-bullseye") == NULL ||
              strstr(p1, "debian-11-bullseye") > p2);
  assert_non_null(strstr(p2, "HTTP/1.1 404 Not Found"));
  assert_true(strstr(p2, "HTTP/1.1 404 Not Found") < p3);
  assert_non_null(strstr(p3, "HTTP/1.1 200 OK"));
  assert_non_null(strstr(p3, "\"operationType\":\"insert\""));
  reply_free(&r);
  /* The POST part made the network (at its operation's end). */
  assert_int_equal(advance(f, 600), 200);
  http(f, "GET", "/compute/v1/projects/edv-sim/global/networks/bnet", NULL, &r);
  expect_status(&r, 200);
  reply_free(&r);
  /* A part that is not an HTTP request: 400, and no part runs. */
  http_ct(f, "POST", "/batch/compute/v1", "multipart/mixed; boundary=xyz",
          "--xyz\r\nContent-Type: application/http\r\n\r\n"
          "POST /compute/v1/projects/edv-sim/global/networks HTTP/1.1\r\n\r\n"
          "{\"name\":\"bnet2\"}\r\n"
          "--xyz\r\nContent-Type: application/http\r\n\r\n"
          "this is not a request\r\n--xyz--\r\n",
          &r);
  expect_status(&r, 400);
  assert_jeq(r.json, "error.errors.0.reason", "badRequest");
  reply_free(&r);
  http(f, "GET", "/compute/v1/projects/edv-sim/global/networks/bnet2", NULL,
       &r);
  expect_status(&r, 404);
  reply_free(&r);
  http_ct(f, "POST", "/batch/compute/v1", "application/json", "{}", &r);
  expect_status(&r, 400);
  reply_free(&r);
  http_ct(f, "POST", "/batch/compute/v1", "multipart/mixed; boundary=xyz",
          "--xyz\r\nContent-Type: application/http\r\n\r\n"
          "GET /compute/v1/projects/edv-sim HTTP/1.1\r\n\r\n",
          &r); /* no closing delimiter */
  expect_status(&r, 400);
  reply_free(&r);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_catalog),
      cmocka_unit_test(test_instance_lifecycle),
      cmocka_unit_test(test_cpu_quota),
      cmocka_unit_test(test_disks_and_policies),
      cmocka_unit_test(test_instance_groups),
      cmocka_unit_test(test_boot_model),
      cmocka_unit_test(test_guest_attributes),
      cmocka_unit_test(test_restart),
      cmocka_unit_test(test_batch),
  };
  int result;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return result;
}
