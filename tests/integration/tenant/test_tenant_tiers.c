/*
 * test_tenant_tiers.c - one tenant of each tier, provisioned concurrently
 * against the in-process simulator: every resource is checked in the
 * SIMULATOR's state (fields, labels, links), a re-run makes no mutating
 * call, deprovisioning leaves nothing, the subnet range is released and the
 * SQL name generation moves on. Bad specs create nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tenant/kinds.h"
#include "tenant/steps.h"
#include "tharness.h"

#define P "projects/edv-sim/"

static const char *const tiers[] = {"basic", "standard", "premium",
                                    "enterprise"};

static const char *S(json_object *o, const char *path)
{
  json_object *v = edv__jget(o, path);
  return v ? json_object_get_string(v) : NULL;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t a = s ? strlen(s) : 0, b = strlen(suffix);
  return s && a >= b && strcmp(s + a - b, suffix) == 0;
}

static json_object *must(th *h, const char *fmt, ...)
{
  char name[512];
  json_object *r;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(name, sizeof(name), fmt, ap);
  va_end(ap);
  r = th_res(h, name);
  if (!r)
    fail_msg("missing in the simulator: %s", name);
  return r;
}

static void check_labels(json_object *labels, const char *id, const char *tier,
                         const char *what)
{
  if (!labels || !S(labels, "edv-managed") ||
      strcmp(S(labels, "edv-managed"), "true") || !S(labels, "edv-tenant") ||
      strcmp(S(labels, "edv-tenant"), id) || !S(labels, "edv-tier") ||
      strcmp(S(labels, "edv-tier"), tier))
    fail_msg("%s of %s: labels %s", what, id,
             labels ? json_object_to_json_string(labels) : "(none)");
}

static int str_array_is(json_object *arr, const char *const *want)
{
  size_t n = 0;

  while (want[n])
    n++;
  if (!arr || json_object_array_length(arr) != n)
    return 0;
  for (size_t i = 0; i < n; i++) {
    const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
    int found = 0;
    for (size_t k = 0; k < n; k++)
      if (ends_with(v, want[k]))
        found = 1;
    if (!found)
      return 0;
  }
  return 1;
}

/* Every resource of one READY tenant, field by field. */
static void check_tenant(th *h, const char *id, const char *tn,
                         const char *lb_ip)
{
  const edv__tier *t = edv__tiers_find(h->tiers, tn);
  json_object *r, *v;
  char buf[768], sa[300], slug[160];
  edv_cidr cidr;
  char cidr_s[32];

  assert_non_null(t);
  snprintf(slug, sizeof(slug), "%s-s", id);
  snprintf(sa, sizeof(sa), "edv-%s@edv-sim.iam.gserviceaccount.com", id);

  /* VM: machine type, labels, no external IP, its service account, tag,
   * shielded VM, startup script. */
  r = must(h, P "zones/us-central1-a/instances/edv-%s-vm", id);
  snprintf(buf, sizeof(buf), "/machineTypes/%s", t->machine_type);
  if (!ends_with(S(r, "machineType"), buf))
    fail_msg("%s: machineType %s, want %s", id, S(r, "machineType"),
             t->machine_type);
  check_labels(json_object_object_get(r, "labels"), id, tn, "VM");
  v = json_object_array_get_idx(json_object_object_get(r, "networkInterfaces"),
                                0);
  assert_non_null(v);
  if (json_object_object_get(v, "accessConfigs") &&
      json_object_array_length(json_object_object_get(v, "accessConfigs")))
    fail_msg("%s: the VM has an external IP", id);
  if (!ends_with(S(v, "subnetwork"), buf + 0) &&
      !strstr(S(v, "subnetwork"), "subnetworks/edv-"))
    fail_msg("%s: VM subnetwork %s", id, S(v, "subnetwork"));
  v = json_object_array_get_idx(json_object_object_get(r, "serviceAccounts"),
                                0);
  if (!v || strcmp(S(v, "email"), sa))
    fail_msg("%s: VM service account %s", id, v ? S(v, "email") : "(none)");
  snprintf(buf, sizeof(buf), "edv-%s", id);
  {
    const char *tags[] = {buf, NULL};
    assert_true(str_array_is(edv__jget(r, "tags.items"), tags));
  }
  assert_true(json_object_get_boolean(
      edv__jget(r, "shieldedInstanceConfig.enableSecureBoot")));
  json_object_put(r);

  /* Boot disk: size, type, labels, the snapshot policy attached. */
  r = must(h, P "zones/us-central1-a/disks/edv-%s-boot", id);
  assert_int_equal(edv__jint(r, "sizeGb", -1), t->disk_gb);
  snprintf(buf, sizeof(buf), "/diskTypes/%s", t->disk_type);
  if (!ends_with(S(r, "type"), buf))
    fail_msg("%s: disk type %s, want %s", id, S(r, "type"), t->disk_type);
  check_labels(json_object_object_get(r, "labels"), id, tn, "disk");
  {
    char pol_name[EDV_NAME_MAX];
    const char *pol[] = {buf, NULL};

    assert_int_equal(
        edv__name_snapshot_policy(id, t, pol_name, sizeof(pol_name)), 0);
    snprintf(buf, sizeof(buf), "resourcePolicies/%s", pol_name);
    if (!str_array_is(json_object_object_get(r, "resourcePolicies"), pol))
      fail_msg("%s: disk policies %s", id,
               json_object_to_json_string(
                   json_object_object_get(r, "resourcePolicies")));
    json_object_put(r);
    r = must(h, P "regions/us-central1/resourcePolicies/%s", pol_name);
  }
  assert_int_equal(
      edv__jint(r, "snapshotSchedulePolicy.retentionPolicy.maxRetentionDays",
                -1),
      t->snapshot_retention_days);
  json_object_put(r);

  /* Cloud SQL: tier, HA, backups, PITR, retention, private IP, labels. */
  r = must(h, P "instances/edv-%s-db-1", id);
  assert_string_equal(S(r, "settings.tier"), t->sql.tier);
  assert_string_equal(S(r, "settings.availabilityType"),
                      t->sql.regional ? "REGIONAL" : "ZONAL");
  assert_true(json_object_get_boolean(
      edv__jget(r, "settings.backupConfiguration.enabled")));
  assert_int_equal(
      json_object_get_boolean(edv__jget(
          r, "settings.backupConfiguration.pointInTimeRecoveryEnabled")),
      t->sql.pitr);
  assert_int_equal(edv__jint(r,
                             "settings.backupConfiguration."
                             "backupRetentionSettings.retainedBackups",
                             -1),
                   t->sql.retained_backups);
  assert_int_equal(
      edv__jint(r, "settings.backupConfiguration.transactionLogRetentionDays",
                -1),
      t->sql.transaction_log_retention_days);
  assert_false(json_object_get_boolean(
      edv__jget(r, "settings.ipConfiguration.ipv4Enabled")));
  check_labels(edv__jget(r, "settings.userLabels"), id, tn, "SQL instance");
  assert_string_equal(S(r, "state"), "RUNNABLE");
  json_object_put(r);
  json_object_put(must(h, P "instances/edv-%s-db-1/databases/edvirons", id));
  json_object_put(must(h, P "instances/edv-%s-db-1/users/edvirons", id));

  /* Subnet: the range the store allocated. */
  r = must(h, P "regions/us-central1/subnetworks/edv-%s", id);
  assert_int_equal(edv__store_subnet_get(h->store, id, &cidr, NULL), 0);
  edv__cidr_format(&cidr, cidr_s, sizeof(cidr_s));
  assert_string_equal(S(r, "ipCidrRange"), cidr_s);
  json_object_put(r);

  /* Firewalls: LB + health-check ranges to this tenant's tag only; deny
   * the rest. */
  r = must(h, P "global/firewalls/edv-%s-allow-lb", id);
  {
    const char *tags[] = {buf, NULL},
               *src[] = {EDV_HC_RANGE_1, EDV_HC_RANGE_2, NULL};
    snprintf(buf, sizeof(buf), "edv-%s", id);
    assert_true(str_array_is(json_object_object_get(r, "targetTags"), tags));
    assert_true(str_array_is(json_object_object_get(r, "sourceRanges"), src));
  }
  json_object_put(r);
  r = must(h, P "global/firewalls/edv-%s-deny-ingress", id);
  {
    const char *tags[] = {buf, NULL}, *src[] = {"0.0.0.0/0", NULL};
    assert_true(str_array_is(json_object_object_get(r, "targetTags"), tags));
    assert_true(str_array_is(json_object_object_get(r, "sourceRanges"), src));
    assert_non_null(json_object_object_get(r, "denied"));
  }
  json_object_put(r);

  /* Secret: readable only by the tenant's service account. */
  json_object_put(must(h, P "secrets/edv-%s-db-password", id));
  r = must(h, P "secrets/edv-%s-db-password/iamPolicy", id);
  {
    json_object *b = json_object_object_get(r, "bindings");
    char member[400];
    snprintf(member, sizeof(member), "serviceAccount:%s", sa);
    if (!b || json_object_array_length(b) != 1 ||
        strcmp(S(json_object_array_get_idx(b, 0), "role"),
               "roles/secretmanager.secretAccessor") ||
        json_object_array_length(json_object_object_get(
            json_object_array_get_idx(b, 0), "members")) != 1 ||
        strcmp(json_object_get_string(json_object_array_get_idx(
                   json_object_object_get(json_object_array_get_idx(b, 0),
                                          "members"),
                   0)),
               member))
      fail_msg("%s: secret policy %s", id, json_object_to_json_string(r));
  }
  json_object_put(r);
  json_object_put(must(h, P "serviceAccounts/%s", sa));

  /* Instance group with the VM, backend service on the group. */
  snprintf(buf, sizeof(buf),
           "/compute/v1/" P "zones/us-central1-a/instanceGroups/edv-%s-ig/"
           "listInstances",
           id);
  r = th_api(h, EDV_API_COMPUTE, "POST", buf, json_object_new_object());
  assert_non_null(r);
  v = json_object_object_get(r, "items");
  if (!v || json_object_array_length(v) != 1 ||
      !ends_with(S(json_object_array_get_idx(v, 0), "instance"), "-vm"))
    fail_msg("%s: group members %s", id, json_object_to_json_string(r));
  json_object_put(r);
  r = must(h, P "global/backendServices/edv-%s-be", id);
  snprintf(buf, sizeof(buf), "instanceGroups/edv-%s-ig", id);
  if (!ends_with(
          S(json_object_array_get_idx(json_object_object_get(r, "backends"), 0),
            "group"),
          buf))
    fail_msg("%s: backend service %s", id, json_object_to_json_string(r));
  json_object_put(r);

  /* DNS A records to the LB address, for the id and the slug. */
  r = must(h, P "managedZones/edvirons-com/rrsets/%s.edvirons.com./A", id);
  {
    const char *ips[] = {lb_ip, NULL};
    assert_true(str_array_is(json_object_object_get(r, "rrdatas"), ips));
  }
  json_object_put(r);
  r = must(h, P "managedZones/edvirons-com/rrsets/%s.edvirons.com./A", slug);
  json_object_put(r);

  /* Certificate ACTIVE, map entries for both hostnames. */
  r = must(h, P "locations/global/certificates/edv-%s-cert", id);
  assert_string_equal(S(r, "managed.state"), "ACTIVE");
  check_labels(json_object_object_get(r, "labels"), id, tn, "certificate");
  json_object_put(r);
  r = must(h,
           P "locations/global/certificateMaps/edv-certmap/"
             "certificateMapEntries/edv-%s-entry",
           id);
  snprintf(buf, sizeof(buf), "%s.edvirons.com", id);
  assert_string_equal(S(r, "hostname"), buf);
  snprintf(buf, sizeof(buf), "certificates/edv-%s-cert", id);
  assert_true(ends_with(json_object_get_string(json_object_array_get_idx(
                            json_object_object_get(r, "certificates"), 0)),
                        buf));
  json_object_put(r);

  /* URL map: one host rule for both names -> this tenant's backend. */
  r = th_res(h, P "global/urlMaps/edv-urlmap");
  assert_int_equal(th_urlmap_rules(h, id, r), 101);
  {
    json_object *pms = json_object_object_get(r, "pathMatchers");
    char pm[160];
    snprintf(pm, sizeof(pm), "edv-%s", id);
    snprintf(buf, sizeof(buf), "backendServices/edv-%s-be", id);
    for (size_t i = 0; i < json_object_array_length(pms); i++) {
      json_object *m = json_object_array_get_idx(pms, i);
      if (strcmp(S(m, "name"), pm) == 0)
        assert_true(ends_with(S(m, "defaultService"), buf));
    }
  }
  json_object_put(r);
}

static void check_footprint(th *h, const char *id, int ready)
{
  json_object *st = th_state_all(h), *fp;
  char slug[64], why[2048];

  snprintf(slug, sizeof(slug), "%s-s", id);
  fp = th_footprint(st, id, slug);
  if (th_footprint_check(fp, ready, why, sizeof(why)))
    fail_msg("%s: %s", id, why);
  json_object_put(fp);
  json_object_put(st);
}

/*
 * The deletion order, against the simulator's request log: for every pair
 * of kinds where a needs b (the kinds table's order, tenant/kinds.h),
 * every DELETE of the tenant's a comes before any DELETE of its b. Every
 * kind deleted by name was seen deleted (operations SSH is off).
 */
static void check_delete_order(th *h, const char *id, const char *tier)
{
  json_object *log = th_admin(h, "GET", "/_sim/requests", NULL);
  json_object *reqs = json_object_object_get(log, "requests");
  edv__kind_who w = {
      id, id, 1, "edv-sim", "edvirons.com", edv__tiers_find(h->tiers, tier)};
  long first[EDV_KIND__COUNT], last[EDV_KIND__COUNT];

  assert_non_null(reqs);
  for (unsigned k = 0; k < EDV_KIND__COUNT; k++) {
    const edv__kind *kd = &edv__kinds[k];
    const char *seg = kd->path ? strrchr(kd->path, '/') : NULL;
    char name[256], tail[400];

    first[k] = last[k] = -1;
    /* "instances/{N}": the collection and the name. */
    while (seg && seg > kd->path && seg[-1] != '/')
      seg--;
    if (!kd->remove || !seg || kd->name(&w, 0, name, sizeof(name)))
      continue;
    snprintf(tail, sizeof(tail), "%.*s%s", (int)(strchr(seg, '/') - seg + 1),
             seg, name);
    for (size_t i = 0; i < json_object_array_length(reqs); i++) {
      json_object *e = json_object_array_get_idx(reqs, i);
      const char *m = S(e, "method"), *path = S(e, "path"),
                 *st = S(e, "status");
      if (m && strcmp(m, "DELETE") == 0 && st && st[0] == '2' &&
          ends_with(path, tail)) {
        if (first[k] < 0)
          first[k] = (long)i;
        last[k] = (long)i;
      }
    }
    if (first[k] < 0 && k != EDV_KIND_FW_OPS_SSH)
      fail_msg("%s: no DELETE of its %s (%s)", id, kd->id, tail);
  }
  for (unsigned a = 0; a < EDV_KIND__COUNT; a++)
    for (unsigned b = 0; b < EDV_KIND__COUNT; b++)
      if (first[a] >= 0 && first[b] >= 0 &&
          edv__kind_needs(&edv__kinds[a], &edv__kinds[b]) && last[a] > first[b])
        fail_msg("%s: its %s was deleted (request %ld) before its %s was "
                 "(request %ld)",
                 id, edv__kinds[b].id, first[b], edv__kinds[a].id, last[a]);
  json_object_put(log);
}

static void test_each_tier(void **state)
{
  th h;
  edv_error err;
  char ids[4][24];
  json_object *ip, *lbl;
  unsigned long muts;
  uint32_t gen;
  edv__tenant_rec rec;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  for (int i = 0; i < 4; i++) {
    snprintf(ids[i], sizeof(ids[i]), "t-%s", tiers[i]);
    assert_int_equal(th_register(&h, ids[i], tiers[i], &err), 0);
    assert_int_equal(th_drive(&h, ids[i], EDV_DIR_UP, &err), 0);
  }
  assert_int_equal(th_wait(&h, 90000), 0);
  if (h.ended[EDV_PHASE_READY] != 4)
    fail_msg("READY %u of 4; last error: %s", h.ended[EDV_PHASE_READY],
             h.last_err);
  ip = th_res(&h, P "global/addresses/edv-lb-ip");
  assert_non_null(ip);
  for (int i = 0; i < 4; i++) {
    check_tenant(&h, ids[i], tiers[i], S(ip, "address"));
    check_footprint(&h, ids[i], 1);
  }
  json_object_put(ip);

  /* Re-running a READY tenant observes only: no mutating call. */
  muts = h.counts.mutations;
  assert_int_equal(th_drive(&h, ids[2], EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 30000), 0);
  assert_int_equal(th_phase(&h, ids[2]), EDV_PHASE_READY);
  assert_int_equal(h.counts.mutations, muts);

  /* Deprovision all four at once. */
  for (int i = 0; i < 4; i++)
    assert_int_equal(th_drive(&h, ids[i], EDV_DIR_DOWN, &err), 0);
  assert_int_equal(th_wait(&h, 90000), 0);
  for (int i = 0; i < 4; i++) {
    char q[160];
    edv_cidr c;
    json_object *items;
    assert_int_equal(th_phase(&h, ids[i]), EDV_PHASE_DELETED);
    check_footprint(&h, ids[i], 0);
    check_delete_order(&h, ids[i], tiers[i]);
    snprintf(q, sizeof(q), "/_sim/state?label=edv-tenant=%s", ids[i]);
    lbl = th_admin(&h, "GET", q, NULL);
    items = json_object_object_get(lbl, "resources");
    if (json_object_array_length(items))
      fail_msg("%s: labelled leftovers %s", ids[i],
               json_object_to_json_string(items));
    json_object_put(lbl);
    assert_int_equal(th_urlmap_rules(&h, ids[i], NULL), 0);
    assert_int_equal(edv__store_subnet_get(h.store, ids[i], &c, NULL),
                     EDV_ENOTFOUND);
    assert_int_equal(edv__store_tenant_get(h.store, ids[i], &rec, NULL), 0);
    assert_int_equal(rec.generation, 2);
  }
  /* Deleting a deleted tenant is refused. */
  assert_int_equal(th_drive(&h, ids[0], EDV_DIR_DOWN, &err), EDV_ENOTFOUND);

  /* A generation that did not move on (state restored from a backup):
   * Cloud SQL refuses the reserved name with 409; the step moves to the
   * next generation by itself. */
  assert_int_equal(edv__store_tenant_get(h.store, ids[0], &rec, NULL), 0);
  rec.generation = 1;
  assert_int_equal(edv__store_tenant_put(h.store, &rec, EDV_PUT_UPDATE, &err),
                   0);
  assert_int_equal(th_register(&h, ids[0], "basic", &err), 0);
  assert_int_equal(th_drive(&h, ids[0], EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  if (th_phase(&h, ids[0]) != EDV_PHASE_READY)
    fail_msg("reserved SQL name: %s", h.last_err);
  json_object_put(must(&h, P "instances/edv-%s-db-2", ids[0]));
  check_footprint(&h, ids[0], 1);
  assert_int_equal(th_drive(&h, ids[0], EDV_DIR_DOWN, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  check_footprint(&h, ids[0], 0);

  /* A new life for the same id: the next SQL generation. */
  assert_int_equal(th_register(&h, ids[1], "standard", &err), 0);
  assert_int_equal(th_drive(&h, ids[1], EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  assert_int_equal(th_phase(&h, ids[1]), EDV_PHASE_READY);
  json_object_put(must(&h, P "instances/edv-%s-db-2", ids[1]));
  assert_null(th_res(&h, P "instances/edv-t-standard-db-1"));
  check_footprint(&h, ids[1], 1);
  assert_int_equal(th_drive(&h, ids[1], EDV_DIR_DOWN, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  check_footprint(&h, ids[1], 0);
  assert_int_equal(
      edv__store_tenant_next_generation(h.store, ids[1], &gen, NULL), 0);
  assert_int_equal(gen, 4);
  fprintf(stderr,
          "# requests %lu (mutations %lu, polls %lu, reads %lu), "
          "409 %lu, 412 %lu\n",
          h.counts.total, h.counts.mutations, h.counts.polls, h.counts.reads,
          h.counts.st409, h.counts.st412);
  th_close(&h);
}

/* Bad specs: refused with an error naming the problem; nothing recorded,
 * nothing created (the simulator saw no mutating call). */
static void test_bad_specs(void **state)
{
  th h;
  edv_error err;
  edv__tenant_spec s;
  unsigned long muts;
  edv__tenant_rec rec;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  muts = h.counts.mutations;

  th_spec(&s, "Bad_Id", "basic", NULL);
  assert_int_equal(edv__fleet_register(h.fleet, &s, &err), EDV_EINVAL);
  assert_non_null(strstr(err.message, "id"));
  assert_int_not_equal(edv__store_tenant_get(h.store, "Bad_Id", &rec, NULL), 0);

  th_spec(&s, "school9", "platinum", NULL);
  assert_int_equal(edv__fleet_register(h.fleet, &s, &err), EDV_EINVAL);
  assert_non_null(strstr(err.message, "platinum"));
  assert_int_not_equal(edv__store_tenant_get(h.store, "school9", &rec, NULL),
                       0);

  th_spec(&s, "school9", "basic", NULL);
  assert_int_equal(edv__fleet_register(h.fleet, &s, &err), 0);
  /* Same spec again: idempotent. A different one: refused. */
  assert_int_equal(edv__fleet_register(h.fleet, &s, &err), 0);
  th_spec(&s, "school9", "premium", NULL);
  assert_int_equal(edv__fleet_register(h.fleet, &s, &err), EDV_EEXIST);
  assert_non_null(strstr(err.message, "school9"));

  /* A region of the right form the project does not have: the run fails
   * at preflight, before any mutating call. */
  th_spec(&s, "school10", "basic", "mars-north1");
  assert_int_equal(edv__fleet_register(h.fleet, &s, &err), 0);
  assert_int_equal(th_drive(&h, "school10", EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 30000), 0);
  assert_int_equal(th_phase(&h, "school10"), EDV_PHASE_FAILED);
  assert_non_null(strstr(h.last_err, "mars-north1"));
  assert_int_equal(h.counts.mutations, muts);
  th_close(&h);
}

/* One driver per tenant: a live holder (another host, or a live process
 * of this host) keeps the tenant; a dead process of this host, or an
 * expired lease, is taken over at once. */
static void test_leases(void **state)
{
  th h;
  edv_error err;
  char host[200] = "", holder[300];
  edv__lease_rec cur;
  pid_t dead;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  gethostname(host, sizeof(host) - 1);
  assert_int_equal(th_register(&h, "lease1", "basic", &err), 0);

  /* Another host's driver, alive as far as we can tell: refused. */
  assert_int_equal(edv__store_lease_acquire(h.store, "lease1",
                                            "edv@elsewhere.example:4242",
                                            600000, &cur, &err),
                   0);
  assert_int_equal(th_drive(&h, "lease1", EDV_DIR_UP, &err), EDV_EBUSY);
  assert_non_null(strstr(err.message, "elsewhere.example:4242"));
  assert_int_equal(edv__store_lease_release(h.store, "lease1",
                                            "edv@elsewhere.example:4242", &err),
                   0);

  /* A live process of this host (our parent): refused. */
  snprintf(holder, sizeof(holder), "edv@%s:%ld", host, (long)getppid());
  assert_int_equal(
      edv__store_lease_acquire(h.store, "lease1", holder, 600000, &cur, &err),
      0);
  assert_int_equal(th_drive(&h, "lease1", EDV_DIR_UP, &err), EDV_EBUSY);
  assert_int_equal(edv__store_lease_release(h.store, "lease1", holder, &err),
                   0);

  /* A process of this host that is gone (a reaped child): taken over. */
  dead = fork();
  assert_true(dead >= 0);
  if (dead == 0)
    _exit(0);
  assert_int_equal(waitpid(dead, NULL, 0), dead);
  snprintf(holder, sizeof(holder), "edv@%s:%ld", host, (long)dead);
  assert_int_equal(
      edv__store_lease_acquire(h.store, "lease1", holder, 600000, &cur, &err),
      0);
  assert_int_equal(th_drive(&h, "lease1", EDV_DIR_UP, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  assert_int_equal(th_phase(&h, "lease1"), EDV_PHASE_READY);

  /* Another host's lease that expired: taken over too. */
  assert_int_equal(edv__store_lease_acquire(h.store, "lease1",
                                            "edv@elsewhere.example:4242", 1,
                                            &cur, &err),
                   0);
  usleep(20000);
  assert_int_equal(th_drive(&h, "lease1", EDV_DIR_DOWN, &err), 0);
  assert_int_equal(th_wait(&h, 60000), 0);
  assert_int_equal(th_phase(&h, "lease1"), EDV_PHASE_DELETED);
  /* The run released its lease when it ended. */
  assert_int_equal(edv__store_lease_get(h.store, "lease1", &cur, &err),
                   EDV_ENOTFOUND);
  th_close(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_tier),
      cmocka_unit_test(test_bad_specs),
      cmocka_unit_test(test_leases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
