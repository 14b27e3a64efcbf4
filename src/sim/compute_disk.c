/*
 * compute_disk.c - Compute Engine v1: disks (get/list/aggregatedList/
 * resize/createSnapshot/addResourcePolicies/removeResourcePolicies/
 * setLabels/delete), global snapshots (get/list/delete/setLabels) and regional
 * resourcePolicies (insert/get/list/aggregatedList/delete, snapshot
 * schedules only).
 *
 * Disks are created by instances.insert (compute_vm.c); a disk's private
 * "_sim.quotaRegion" says where its SSD_TOTAL_GB / DISKS_TOTAL_GB quota was
 * taken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/billing.h"
#include "sim/compute_vm.h"
#include "sim/sim.h"

#define CP SIM_CVM_CP

static const char *disk_metric(json_object *d)
{
  const char *type = sim_cvm_str(d, "type");

  return type && strstr(type, "/pd-standard") ? "DISKS_TOTAL_GB"
                                              : "SSD_TOTAL_GB";
}

static const char *quota_region(json_object *obj)
{
  return sim_cvm_str(json_object_object_get(obj, "_sim"), "quotaRegion");
}

/* --- disks -------------------------------------------------------------- */

static char *disk_name(sim *s, sim_req *req)
{
  return sim_cvm_name("projects/%s/zones/%s/disks/%s", sim_project(s),
                      sim_param(req, "zone"), sim_param(req, "disk"));
}

/* The stored disk of the request, or NULL with 404 filled. */
static json_object *disk_lookup(sim *s, sim_req *req, sim_resp *resp,
                                char **name_out)
{
  char *name;
  json_object *d;

  *name_out = NULL;
  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  name = disk_name(s, req);
  d = sim_store_get(s, name);
  if (d == NULL) {
    sim_cvm_not_found(resp, name);
    free(name);
    return NULL;
  }
  *name_out = name;
  return d;
}

static int disk_op(sim *s, sim_req *req, sim_resp *resp, const char *type,
                   const char *name, json_object *d, json_object *payload)
{
  char scope[100];

  snprintf(scope, sizeof(scope), "zones/%s", sim_param(req, "zone"));
  if (payload == NULL)
    payload = json_object_new_object();
  json_object_object_add(payload, "name", json_object_new_string(name));
  return sim_cvm_op(s, req, resp, scope, type, name, d, SIM_DUR_QUICK, payload);
}

static int disks_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *d = disk_lookup(s, req, resp, &name);
  int result;

  if (d == NULL)
    return SIM_DONE;
  result = sim_resp_json(resp, 200, sim_cvm_render(s, d));
  free(name);
  return result;
}

static int disks_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  json_object *page;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (!sim_cvm_zone_exists(s, sim_param(req, "zone"))) {
    snprintf(prefix, sizeof(prefix), "projects/%s/zones/%s", sim_project(s),
             sim_param(req, "zone"));
    return sim_cvm_not_found(resp, prefix);
  }
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/%s/disks/",
           sim_project(s), sim_param(req, "zone"));
  self = sim_link(SIM_API_COMPUTE, "projects/%s/zones/%s/disks", sim_project(s),
                  sim_param(req, "zone"));
  page =
      sim_list_page(s, req, prefix, "compute#disk", "compute#diskList", self);
  free(self);
  sim_cvm_render_items(s, page);
  return sim_resp_json(resp, 200, page);
}

static int disks_aggregated(sim *s, sim_req *req, sim_resp *resp)
{
  return sim_cvm_aggregated(s, req, resp, 1, "disks", "compute#disk",
                            "compute#diskAggregatedList");
}

static int disks_resize(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *d = disk_lookup(s, req, resp, &name), *v, *p;
  long long cur, want;
  int result;

  if (d == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp, "DisksResizeRequest", sim_body(req)) < 0) {
    free(name);
    return SIM_DONE;
  }
  if (!json_object_object_get_ex(sim_body(req), "sizeGb", &v)) {
    free(name);
    return sim_err_legacy(resp, 400, "required",
                          "Required field 'sizeGb' not specified");
  }
  cur = atoll(sim_cvm_str(d, "sizeGb"));
  want = json_object_get_int64(v);
  /* Disks only grow (docs/google-cloud.md section 6); the text names both
   * sizes. */
  if (want <= cur) {
    free(name);
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for field 'sizeGb': '%lld'. New "
                          "disk size '%lld' GiB must be larger than existing "
                          "size '%lld' GiB.",
                          want, want, cur);
  }
  if (want > 65536) {
    free(name);
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for field 'sizeGb': '%lld'. Disk "
                          "size must be at most 65536 GB.",
                          want);
  }
  if (quota_region(d) &&
      sim_quota_take(s, resp, disk_metric(d), quota_region(d),
                     (double)(want - cur)) < 0) {
    free(name);
    return SIM_DONE;
  }
  p = json_object_new_object();
  json_object_object_add(p, "from", json_object_new_int64(cur));
  json_object_object_add(p, "to", json_object_new_int64(want));
  result = disk_op(s, req, resp, "resizeDisk", name, d, p);
  free(name);
  return result;
}

static void disks_resize_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *d = sim_store_get(s, sim_cvm_str(payload, "name"));
  long long from =
      json_object_get_int64(json_object_object_get(payload, "from"));
  long long to = json_object_get_int64(json_object_object_get(payload, "to"));
  char buf[32];

  if (d == NULL)
    return;
  if (sim_op_failed(op) || atoll(sim_cvm_str(d, "sizeGb")) != from) {
    if (quota_region(d))
      sim_quota_give(s, disk_metric(d), quota_region(d), (double)(to - from));
    if (!sim_op_failed(op))
      sim_op_fail(op, 412, "CONDITION_NOT_MET",
                  "The disk was resized concurrently.");
    return;
  }
  snprintf(buf, sizeof(buf), "%lld", to);
  json_object_object_add(d, "sizeGb", json_object_new_string(buf));
}

/* The disk's region, from its zone. */
static const char *disk_region(sim_req *req, char *buf, size_t n)
{
  return sim_cvm_zone_region(sim_param(req, "zone"), buf, n);
}

/* Resolves resourcePolicies[] of a request into canonical names (a new
 * array), checking each exists in region. NULL with 400/404 filled. */
static json_object *policy_names(sim *s, sim_resp *resp, json_object *refs,
                                 const char *region)
{
  json_object *out = json_object_new_array();
  char want[300];
  size_t n = sim_cvm_len(refs);

  if (n == 0) {
    json_object_put(out);
    sim_err_legacy(resp, 400, "required",
                   "Required field 'resourcePolicies' not specified");
    return NULL;
  }
  snprintf(want, sizeof(want), "projects/%s/regions/%s/resourcePolicies/",
           sim_project(s), region);
  for (size_t i = 0; i < n; i++) {
    const char *ref =
        json_object_get_string(json_object_array_get_idx(refs, i));
    char *rn = ref ? sim_ref_name(s, ref) : NULL;

    if (rn && strchr(ref, '/') == NULL) {
      /* A bare policy name is in the disk's region. */
      free(rn);
      rn = sim_cvm_name("%s%s", want, ref);
    }
    if (rn && strncmp(rn, want, strlen(want)) != 0 &&
        strstr(rn, "/resourcePolicies/")) {
      sim_err_legacy(resp, 400, "invalid",
                     "Invalid value for field 'resourcePolicies[%zu]': '%s'."
                     " Resource policy must be in the same region as the "
                     "disk.",
                     i, ref);
      free(rn);
      json_object_put(out);
      return NULL;
    }
    if (rn == NULL || sim_store_get(s, rn) == NULL) {
      sim_cvm_not_found(resp, rn ? rn : "");
      free(rn);
      json_object_put(out);
      return NULL;
    }
    json_object_array_add(out, json_object_new_string(rn));
    free(rn);
  }
  return out;
}

/* 1 when adding `names` (canonical) to disk d would leave it with more
 * than one snapshot schedule: Compute takes one policy per disk for
 * scheduling snapshots (disks.addResourcePolicies). */
static int second_schedule(sim *s, json_object *d, json_object *names)
{
  json_object *cur = json_object_object_get(d, "resourcePolicies");
  size_t n = sim_cvm_len(names);

  for (size_t i = 0; i < sim_cvm_len(cur); i++) {
    char *cn = sim_ref_name(
        s, json_object_get_string(json_object_array_get_idx(cur, i)));
    int listed = 0;

    for (size_t j = 0; cn && j < sim_cvm_len(names); j++)
      listed |= strcmp(cn, json_object_get_string(
                               json_object_array_get_idx(names, j))) == 0;
    if (cn && !listed &&
        json_object_object_get_ex(sim_store_get(s, cn),
                                  "snapshotSchedulePolicy", NULL))
      n++;
    free(cn);
  }
  return n > 1;
}

static int disks_policies(sim *s, sim_req *req, sim_resp *resp, int add)
{
  char *name, region[64];
  json_object *d = disk_lookup(s, req, resp, &name), *names, *p;
  int result;

  if (d == NULL)
    return SIM_DONE;
  if (sim_cvm_schema(resp,
                     add ? "DisksAddResourcePoliciesRequest"
                         : "DisksRemoveResourcePoliciesRequest",
                     sim_body(req)) < 0) {
    free(name);
    return SIM_DONE;
  }
  names = policy_names(
      s, resp, json_object_object_get(sim_body(req), "resourcePolicies"),
      disk_region(req, region, sizeof(region)));
  if (names == NULL) {
    free(name);
    return SIM_DONE;
  }
  if (add && second_schedule(s, d, names)) {
    json_object_put(names);
    free(name);
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for field 'resourcePolicies': disk "
                          "'%s' can have only one snapshot schedule "
                          "attached; remove the one it has first",
                          sim_cvm_str(d, "name"));
  }
  p = json_object_new_object();
  json_object_object_add(p, "policies", names);
  json_object_object_add(p, "add", json_object_new_boolean(add));
  result = disk_op(s, req, resp,
                   add ? "addResourcePolicies" : "removeResourcePolicies", name,
                   d, p);
  free(name);
  return result;
}

static int disks_add_policies(sim *s, sim_req *req, sim_resp *resp)
{
  return disks_policies(s, req, resp, 1);
}

static int disks_remove_policies(sim *s, sim_req *req, sim_resp *resp)
{
  return disks_policies(s, req, resp, 0);
}

static void disks_policies_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *d = sim_store_get(s, sim_cvm_str(payload, "name"));
  json_object *names = json_object_object_get(payload, "policies");
  int add = json_object_get_boolean(json_object_object_get(payload, "add"));
  json_object *cur, *out = json_object_new_array();

  if (d == NULL || sim_op_failed(op)) {
    json_object_put(out);
    return;
  }
  cur = json_object_object_get(d, "resourcePolicies");
  for (size_t i = 0; i < sim_cvm_len(cur); i++) {
    json_object *e = json_object_array_get_idx(cur, i);
    char *cn = sim_ref_name(s, json_object_get_string(e));
    int listed = 0;

    for (size_t j = 0; cn && j < sim_cvm_len(names); j++)
      listed |= strcmp(cn, json_object_get_string(
                               json_object_array_get_idx(names, j))) == 0;
    free(cn);
    /* Adding one already attached keeps a single entry. */
    if (!listed)
      json_object_array_add(out, json_object_get(e));
  }
  for (size_t j = 0; add && j < sim_cvm_len(names); j++)
    json_object_array_add(
        out, sim_link_json(
                 SIM_API_COMPUTE, "%s",
                 json_object_get_string(json_object_array_get_idx(names, j))));
  if (sim_cvm_len(out))
    json_object_object_add(d, "resourcePolicies", out);
  else {
    json_object_put(out);
    json_object_object_del(d, "resourcePolicies");
  }
}

static int disks_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char *name, *user;
  json_object *d = disk_lookup(s, req, resp, &name), *users;
  int result;

  if (d == NULL)
    return SIM_DONE;
  users = json_object_object_get(d, "users");
  if (sim_cvm_len(users) > 0) {
    user = sim_ref_name(
        s, json_object_get_string(json_object_array_get_idx(users, 0)));
    result = sim_err_legacy(resp, 400, "resourceInUseByAnotherResource",
                            "The disk resource '%s' is already being used by "
                            "'%s'",
                            name, user ? user : "");
    free(user);
  } else
    result = disk_op(s, req, resp, "delete", name, d, NULL);
  free(name);
  return result;
}

static void disks_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *name = sim_cvm_str(payload, "name");
  json_object *d = sim_store_get(s, name);

  if (d == NULL || sim_op_failed(op))
    return;
  if (sim_cvm_len(json_object_object_get(d, "users")) > 0) {
    sim_op_fail(op, 400, "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
                "The disk resource '%s' is already being used by another "
                "resource",
                name);
    return;
  }
  if (quota_region(d))
    sim_quota_give(s, disk_metric(d), quota_region(d),
                   atof(sim_cvm_str(d, "sizeGb")));
  sim_store_del(s, name);
}

/* --- snapshots ---------------------------------------------------------- */

static int disks_create_snapshot(sim *s, sim_req *req, sim_resp *resp)
{
  char *name, *snap_name = NULL, id[24], ts[32];
  json_object *d = disk_lookup(s, req, resp, &name), *body = sim_body(req);
  json_object *snap = NULL, *p, *loc;
  const char *sname;
  int result = SIM_DONE;

  if (d == NULL)
    return SIM_DONE;
  if (sim_cvm_check_name(resp, body, &sname) < 0 ||
      sim_cvm_schema(resp, "Snapshot", body) < 0)
    goto out;
  snap_name =
      sim_cvm_name("projects/%s/global/snapshots/%s", sim_project(s), sname);
  if (sim_store_get(s, snap_name) || sim_op_pending(s, snap_name)) {
    sim_err_legacy(resp, 409, "alreadyExists",
                   "The resource '%s' already exists", snap_name);
    goto out;
  }
  if (sim_quota_take(s, resp, "SNAPSHOTS", NULL, 1) < 0)
    goto out;
  json_object_deep_copy(body, &snap, NULL);
  json_object_object_add(snap, "kind",
                         json_object_new_string("compute#snapshot"));
  json_object_object_add(snap, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(snap, "creationTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(snap, "status", json_object_new_string("READY"));
  json_object_object_add(snap, "sourceDisk",
                         sim_link_json(SIM_API_COMPUTE, "%s", name));
  json_object_object_add(snap, "sourceDiskId",
                         json_object_get(json_object_object_get(d, "id")));
  json_object_object_add(snap, "diskSizeGb",
                         json_object_get(json_object_object_get(d, "sizeGb")));
  json_object_object_add(snap, "storageBytes",
                         json_object_new_string("1073741824"));
  json_object_object_add(snap, "storageBytesStatus",
                         json_object_new_string("UP_TO_DATE"));
  json_object_object_add(snap, "snapshotType",
                         json_object_new_string("STANDARD"));
  if (!json_object_object_get_ex(snap, "storageLocations", NULL)) {
    loc = json_object_new_array();
    json_object_array_add(loc, json_object_new_string("us"));
    json_object_object_add(snap, "storageLocations", loc);
  }
  if (json_object_object_get_ex(d, "licenses", NULL))
    json_object_object_add(
        snap, "licenses",
        json_object_get(json_object_object_get(d, "licenses")));
  json_object_object_add(snap, "labelFingerprint", sim_cvm_fingerprint(s));
  json_object_object_add(snap, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", snap_name));
  p = json_object_new_object();
  json_object_object_add(p, "snapshotName", json_object_new_string(snap_name));
  json_object_object_add(p, "snapshot", snap);
  /* Google's createSnapshot operation is zonal and targets the disk. */
  result = disk_op(s, req, resp, "createSnapshot", name, d, p);
out:
  free(snap_name);
  free(name);
  return result;
}

static void disks_create_snapshot_apply(sim *s, sim_op *op,
                                        json_object *payload)
{
  if (sim_op_failed(op)) {
    sim_quota_give(s, "SNAPSHOTS", NULL, 1);
    return;
  }
  sim_store_put(s, sim_cvm_str(payload, "snapshotName"), "compute#snapshot",
                json_object_get(json_object_object_get(payload, "snapshot")));
  /* The operation's target is the disk: the snapshot is noted here. */
  sim_billing_note(s, sim_cvm_str(payload, "snapshotName"));
}

static char *snapshot_name(sim *s, const char *snap)
{
  return sim_cvm_name("projects/%s/global/snapshots/%s", sim_project(s), snap);
}

static int snapshots_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *o;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = snapshot_name(s, sim_param(req, "snapshot"));
  o = sim_store_get(s, name);
  result = o ? sim_resp_json(resp, 200, sim_cvm_render(s, o))
             : sim_cvm_not_found(resp, name);
  free(name);
  return result;
}

static int snapshots_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  json_object *page;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/global/snapshots/",
           sim_project(s));
  self =
      sim_link(SIM_API_COMPUTE, "projects/%s/global/snapshots", sim_project(s));
  page = sim_list_page(s, req, prefix, "compute#snapshot",
                       "compute#snapshotList", self);
  free(self);
  sim_cvm_render_items(s, page);
  return sim_resp_json(resp, 200, page);
}

static int snapshots_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *o, *p;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = snapshot_name(s, sim_param(req, "snapshot"));
  o = sim_store_get(s, name);
  if (o == NULL) {
    result = sim_cvm_not_found(resp, name);
  } else {
    p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    result =
        sim_cvm_op(s, req, resp, "global", "delete", name, o, SIM_DUR_QUICK, p);
  }
  free(name);
  return result;
}

static void snapshots_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  if (sim_op_failed(op))
    return;
  if (sim_store_del(s, sim_cvm_str(payload, "name")) == 0)
    sim_quota_give(s, "SNAPSHOTS", NULL, 1);
}

/*
 * setLabels of a stored resource `o` named `name` (a snapshot, a disk):
 * the request's schema, the current labelFingerprint (412 otherwise), then
 * an operation in `scope` whose apply replaces the labels and makes a new
 * fingerprint.
 */
static int labels_set(sim *s, sim_req *req, sim_resp *resp, char *name,
                      const char *schema, const char *scope)
{
  json_object *o = sim_store_get(s, name), *p, *body = sim_body(req);
  int result;

  if (o == NULL)
    result = sim_cvm_not_found(resp, name);
  else if (sim_cvm_schema(resp, schema, body) < 0 ||
           sim_cvm_check_fingerprint(resp, sim_cvm_str(o, "labelFingerprint"),
                                     sim_cvm_str(body, "labelFingerprint"),
                                     "Labels fingerprint either invalid or "
                                     "resource labels have changed") < 0)
    result = SIM_DONE;
  else {
    p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    json_object_object_add(
        p, "labels",
        json_object_object_get_ex(body, "labels", NULL)
            ? json_object_get(json_object_object_get(body, "labels"))
            : json_object_new_object());
    result = sim_cvm_op(s, req, resp, scope, "setLabels", name, o,
                        SIM_DUR_INSTANT, p);
  }
  free(name);
  return result;
}

static int snapshots_set_labels(sim *s, sim_req *req, sim_resp *resp)
{
  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  return labels_set(s, req, resp, snapshot_name(s, sim_param(req, "resource")),
                    "GlobalSetLabelsRequest", "global");
}

static int disks_set_labels(sim *s, sim_req *req, sim_resp *resp)
{
  char scope[100];

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(scope, sizeof(scope), "zones/%s", sim_param(req, "zone"));
  return labels_set(s, req, resp,
                    sim_cvm_name("projects/%s/zones/%s/disks/%s",
                                 sim_project(s), sim_param(req, "zone"),
                                 sim_param(req, "resource")),
                    "ZoneSetLabelsRequest", scope);
}

static void set_labels_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *o = sim_store_get(s, sim_cvm_str(payload, "name"));

  if (o == NULL || sim_op_failed(op))
    return;
  json_object_object_add(
      o, "labels", json_object_get(json_object_object_get(payload, "labels")));
  json_object_object_add(o, "labelFingerprint", sim_cvm_fingerprint(s));
}

/* --- resource policies -------------------------------------------------- */

static int bad_field(sim_resp *resp, const char *field, const char *value,
                     const char *why)
{
  sim_err_legacy(resp, 400, "invalid", "Invalid value for field '%s': '%s'. %s",
                 field, value ? value : "", why);
  return -1;
}

/* "HH:00" (hourly/weekly) or one of the 4-hour marks (daily). */
static int check_start_time(sim_resp *resp, json_object *cycle,
                            const char *field, int daily)
{
  const char *t = sim_cvm_str(cycle, "startTime");
  int hh;

  if (t == NULL)
    return sim_err_legacy(resp, 400, "required",
                          "Required field '%s' not specified", field),
           -1;
  if (strlen(t) != 5 || t[2] != ':' || t[3] != '0' || t[4] != '0' ||
      t[0] < '0' || t[0] > '2' || t[1] < '0' || t[1] > '9' ||
      (hh = (t[0] - '0') * 10 + (t[1] - '0')) > 23)
    return bad_field(resp, field, t,
                     "Start time must be in the format 'HH:00' in UTC.");
  if (daily && hh % 4 != 0)
    return bad_field(resp, field, t,
                     "Start time of a daily schedule must be one of 00:00, "
                     "04:00, 08:00, 12:00, 16:00 or 20:00 UTC.");
  return 0;
}

static int check_snapshot_policy(sim_resp *resp, json_object *pol)
{
  const char *F = "resource.snapshotSchedulePolicy";
  json_object *sched, *ret, *c, *v;
  int kinds = 0;
  char field[200];

  sched = json_object_object_get(pol, "schedule");
  snprintf(field, sizeof(field), "%s.schedule", F);
  if (sched == NULL)
    return sim_err_legacy(resp, 400, "required",
                          "Required field '%s' not specified", field),
           -1;
  if ((c = json_object_object_get(sched, "dailySchedule")) != NULL) {
    kinds++;
    snprintf(field, sizeof(field), "%s.schedule.dailySchedule.daysInCycle", F);
    if (json_object_object_get_ex(c, "daysInCycle", &v) &&
        json_object_get_int(v) != 1)
      return bad_field(resp, field, json_object_get_string(v),
                       "Days in cycle must be 1 for a daily schedule.");
    snprintf(field, sizeof(field), "%s.schedule.dailySchedule.startTime", F);
    if (check_start_time(resp, c, field, 1) < 0)
      return -1;
  }
  if ((c = json_object_object_get(sched, "hourlySchedule")) != NULL) {
    kinds++;
    snprintf(field, sizeof(field), "%s.schedule.hourlySchedule.startTime", F);
    if (check_start_time(resp, c, field, 0) < 0)
      return -1;
  }
  if ((c = json_object_object_get(sched, "weeklySchedule")) != NULL) {
    json_object *days = json_object_object_get(c, "dayOfWeeks");

    kinds++;
    for (size_t i = 0; i < sim_cvm_len(days); i++) {
      snprintf(field, sizeof(field),
               "%s.schedule.weeklySchedule.dayOfWeeks[%zu].startTime", F, i);
      if (check_start_time(resp, json_object_array_get_idx(days, i), field, 0) <
          0)
        return -1;
    }
  }
  if (kinds != 1) {
    snprintf(field, sizeof(field), "%s.schedule", F);
    return bad_field(resp, field, "",
                     "Exactly one of dailySchedule, hourlySchedule or "
                     "weeklySchedule must be set.");
  }
  ret = json_object_object_get(pol, "retentionPolicy");
  if (ret) {
    snprintf(field, sizeof(field), "%s.retentionPolicy", F);
    snprintf(field, sizeof(field), "%s.retentionPolicy.maxRetentionDays", F);
    if (!json_object_object_get_ex(ret, "maxRetentionDays", &v))
      return sim_err_legacy(resp, 400, "required",
                            "Required field '%s' not specified", field),
             -1;
    if (json_object_get_int(v) < 1)
      return bad_field(resp, field, json_object_get_string(v),
                       "Max retention days must be at least 1.");
    if (json_object_object_get_ex(ret, "onSourceDiskDelete", &v) &&
        strcmp(json_object_get_string(v), "KEEP_AUTO_SNAPSHOTS") != 0 &&
        strcmp(json_object_get_string(v), "APPLY_RETENTION_POLICY") != 0) {
      snprintf(field, sizeof(field), "%s.retentionPolicy.onSourceDiskDelete",
               F);
      return bad_field(resp, field, json_object_get_string(v),
                       "Must be one of KEEP_AUTO_SNAPSHOTS or "
                       "APPLY_RETENTION_POLICY.");
    }
  }
  return 0;
}

static int policies_insert(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *pol = NULL, *p;
  const char *region = sim_param(req, "region"), *pname;
  char *full = NULL, id[24], ts[32], scope[100];
  int result = SIM_DONE;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (!sim_cvm_region_exists(s, region)) {
    full = sim_cvm_name("projects/%s/regions/%s", sim_project(s), region);
    result = sim_cvm_not_found(resp, full);
    goto out;
  }
  if (sim_cvm_check_name(resp, body, &pname) < 0 ||
      sim_cvm_schema(resp, "ResourcePolicy", body) < 0)
    goto out;
  full = sim_cvm_name("projects/%s/regions/%s/resourcePolicies/%s",
                      sim_project(s), region, pname);
  if (sim_store_get(s, full) || sim_op_pending(s, full)) {
    sim_err_legacy(resp, 409, "alreadyExists",
                   "The resource '%s' already exists", full);
    goto out;
  }
  /* Only snapshot schedules are modelled; the tenant uses nothing else. */
  if (!json_object_object_get_ex(body, "snapshotSchedulePolicy", NULL)) {
    bad_field(resp, "resource", "",
              "A snapshot schedule policy is required (other resource "
              "policy types are not simulated).");
    goto out;
  }
  if (check_snapshot_policy(
          resp, json_object_object_get(body, "snapshotSchedulePolicy")) < 0)
    goto out;
  json_object_deep_copy(body, &pol, NULL);
  json_object_object_add(pol, "kind",
                         json_object_new_string("compute#resourcePolicy"));
  json_object_object_add(pol, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(pol, "creationTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(pol, "region",
                         sim_link_json(SIM_API_COMPUTE,
                                       "projects/%s/regions/%s", sim_project(s),
                                       region));
  json_object_object_add(pol, "status", json_object_new_string("READY"));
  json_object_object_add(pol, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", full));
  p = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string(full));
  json_object_object_add(p, "policy", json_object_get(pol));
  snprintf(scope, sizeof(scope), "regions/%s", region);
  result =
      sim_cvm_op(s, req, resp, scope, "insert", full, pol, SIM_DUR_QUICK, p);
out:
  json_object_put(pol);
  free(full);
  return result;
}

static void policies_insert_apply(sim *s, sim_op *op, json_object *payload)
{
  if (sim_op_failed(op))
    return;
  sim_store_put(s, sim_cvm_str(payload, "name"), "compute#resourcePolicy",
                json_object_get(json_object_object_get(payload, "policy")));
}

static char *policy_name(sim *s, sim_req *req)
{
  return sim_cvm_name("projects/%s/regions/%s/resourcePolicies/%s",
                      sim_project(s), sim_param(req, "region"),
                      sim_param(req, "resourcePolicy"));
}

static int policies_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *o;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = policy_name(s, req);
  o = sim_store_get(s, name);
  result = o ? sim_resp_json(resp, 200, sim_cvm_render(s, o))
             : sim_cvm_not_found(resp, name);
  free(name);
  return result;
}

static int policies_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  json_object *page;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/regions/%s/resourcePolicies/",
           sim_project(s), sim_param(req, "region"));
  self = sim_link(SIM_API_COMPUTE, "projects/%s/regions/%s/resourcePolicies",
                  sim_project(s), sim_param(req, "region"));
  page = sim_list_page(s, req, prefix, "compute#resourcePolicy",
                       "compute#resourcePolicyList", self);
  free(self);
  sim_cvm_render_items(s, page);
  return sim_resp_json(resp, 200, page);
}

static int policies_aggregated(sim *s, sim_req *req, sim_resp *resp)
{
  return sim_cvm_aggregated(s, req, resp, 0, "resourcePolicies",
                            "compute#resourcePolicy",
                            "compute#resourcePolicyAggregatedList");
}

struct policy_user {
  sim *s;
  const char *policy;
  char *user;
};

static int policy_user_cb(void *data, const char *name, const char *kind,
                          json_object *obj)
{
  struct policy_user *c = data;
  json_object *rps = json_object_object_get(obj, "resourcePolicies");

  if (strcmp(kind, "compute#disk") != 0)
    return 0;
  for (size_t i = 0; i < sim_cvm_len(rps); i++) {
    char *rn = sim_ref_name(
        c->s, json_object_get_string(json_object_array_get_idx(rps, i)));
    int hit = rn && strcmp(rn, c->policy) == 0;

    free(rn);
    if (hit) {
      c->user = strdup(name);
      return 1;
    }
  }
  return 0;
}

static int policies_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char *name, prefix[300];
  json_object *o, *p;
  struct policy_user u;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = policy_name(s, req);
  o = sim_store_get(s, name);
  if (o == NULL) {
    result = sim_cvm_not_found(resp, name);
    free(name);
    return result;
  }
  u.s = s;
  u.policy = name;
  u.user = NULL;
  snprintf(prefix, sizeof(prefix), "projects/%s/zones/", sim_project(s));
  sim_store_each(s, prefix, policy_user_cb, &u);
  if (u.user) {
    result = sim_err_legacy(resp, 400, "resourceInUseByAnotherResource",
                            "The resource_policy resource '%s' is already "
                            "being used by '%s'",
                            name, u.user);
    free(u.user);
  } else {
    char scope[100];

    p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    snprintf(scope, sizeof(scope), "regions/%s", sim_param(req, "region"));
    result =
        sim_cvm_op(s, req, resp, scope, "delete", name, o, SIM_DUR_QUICK, p);
  }
  free(name);
  return result;
}

static void policies_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  if (!sim_op_failed(op))
    sim_store_del(s, sim_cvm_str(payload, "name"));
}

/* --- table -------------------------------------------------------------- */

static const sim_route disk_routes[] = {
    {"GET", CP "/zones/{zone}/disks", "compute.disks.list", disks_list, NULL, 0,
     NULL},
    {"GET", CP "/aggregated/disks", "compute.disks.aggregatedList",
     disks_aggregated, NULL, 0, NULL},
    {"GET", CP "/zones/{zone}/disks/{disk}", "compute.disks.get", disks_get,
     NULL, 0, NULL},
    {"DELETE", CP "/zones/{zone}/disks/{disk}", "compute.disks.delete",
     disks_delete, disks_delete_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/disks/{disk}/resize", "compute.disks.resize",
     disks_resize, disks_resize_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/disks/{disk}/createSnapshot",
     "compute.disks.createSnapshot", disks_create_snapshot,
     disks_create_snapshot_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/disks/{disk}/addResourcePolicies",
     "compute.disks.addResourcePolicies", disks_add_policies,
     disks_policies_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/disks/{disk}/removeResourcePolicies",
     "compute.disks.removeResourcePolicies", disks_remove_policies,
     disks_policies_apply, 0, NULL},
    {"POST", CP "/zones/{zone}/disks/{resource}/setLabels",
     "compute.disks.setLabels", disks_set_labels, set_labels_apply, 0, NULL},
    {"GET", CP "/global/snapshots", "compute.snapshots.list", snapshots_list,
     NULL, 0, NULL},
    {"GET", CP "/global/snapshots/{snapshot}", "compute.snapshots.get",
     snapshots_get, NULL, 0, NULL},
    {"DELETE", CP "/global/snapshots/{snapshot}", "compute.snapshots.delete",
     snapshots_delete, snapshots_delete_apply, 0, NULL},
    {"POST", CP "/global/snapshots/{resource}/setLabels",
     "compute.snapshots.setLabels", snapshots_set_labels, set_labels_apply, 0,
     NULL},
    {"POST", CP "/regions/{region}/resourcePolicies",
     "compute.resourcePolicies.insert", policies_insert, policies_insert_apply,
     0, NULL},
    {"GET", CP "/regions/{region}/resourcePolicies",
     "compute.resourcePolicies.list", policies_list, NULL, 0, NULL},
    {"GET", CP "/aggregated/resourcePolicies",
     "compute.resourcePolicies.aggregatedList", policies_aggregated, NULL, 0,
     NULL},
    {"GET", CP "/regions/{region}/resourcePolicies/{resourcePolicy}",
     "compute.resourcePolicies.get", policies_get, NULL, 0, NULL},
    {"DELETE", CP "/regions/{region}/resourcePolicies/{resourcePolicy}",
     "compute.resourcePolicies.delete", policies_delete, policies_delete_apply,
     0, NULL},
};

int sim_cvm_disk_init(sim *s)
{
  return sim_register(s, SIM_API_COMPUTE, disk_routes,
                      sizeof(disk_routes) / sizeof(*disk_routes));
}
