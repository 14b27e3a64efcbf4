/*
 * vmswap.c - a tenant's release change by VM replacement (the
 * "vm_release" step) and the record of which VM generation serves
 * (tenant/vmswap.h).
 *
 * Why a new VM rather than the old one patched: the release is the boot
 * image, and a boot disk cannot change its image in place; recreating
 * the disk in place takes the tenant off the air. A second VM beside the
 * first, in the same instance group, serves as soon as the load balancer
 * calls it HEALTHY, and the old one drains out of the group after that:
 * no request meets a group without a healthy member.
 *
 * Each pass observes the instance group's members, then the one thing
 * the stage needs, and does at most one act before it observes again:
 *
 *   not decided: new VM absent -> insert; not a member -> addInstances;
 *     HEALTHY -> commit (one write: it serves, the release is the
 *     tenant's); not HEALTHY past the deadline -> roll back (written
 *     first, with the health state seen); else poll.
 *   committed: snapshot schedule on the new disk; old VM out of the
 *     group; old VM deleted; old disk deleted; record DONE.
 *   rolled back: new VM out of the group; deleted; its disk deleted;
 *     record DONE on the old generation; the step fails naming the
 *     release and the health state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "gcp/gcp.h"
#include "tenant/kinds.h"
#include "tenant/machine.h"
#include "tenant/spec.h"
#include "tenant/steps.h"
#include "tenant/vmswap.h"

#define CP "/compute/v1/projects/%s"

/* ---- the record ----------------------------------------------------------*/

static void cpy(char *dst, size_t size, const char *src)
{
  snprintf(dst, size, "%s", src ? src : "");
}

int edv__vmgen_get(edv_store *st, const char *id, edv__vmgen *g, edv_error *err)
{
  edv__step_rec r;
  json_object *o;
  int rc;

  memset(g, 0, sizeof(*g));
  rc = edv__store_step_get(st, id, EDV_VMGEN_STEP, &r, err);
  if (rc == EDV_ENOTFOUND) {
    if (err)
      edv_error_clear(err);
    return 0;
  }
  if (rc)
    return rc;
  if (!(o = json_tokener_parse(r.resource)))
    return 0;
  if (json_object_is_type(o, json_type_object)) {
    int64_t cur = edv__jint(o, "cur", 0), other = edv__jint(o, "other", 0);

    g->cur = cur > 0 && cur < 1000000 ? (unsigned)cur : 0;
    g->pending = r.state == EDV_STEP_PENDING;
    if (g->pending) {
      g->other = other > 0 && other < 1000000 ? (unsigned)other : 0;
      g->committed = edv__jint(o, "committed", 0) != 0;
      g->rollback = edv__jint(o, "rollback", 0) != 0;
      cpy(g->from, sizeof(g->from), edv__jstr(o, "from"));
      cpy(g->to, sizeof(g->to), edv__jstr(o, "to"));
      cpy(g->health, sizeof(g->health), edv__jstr(o, "health"));
      g->deadline_ms = edv__jint(o, "deadline", 0);
    }
  }
  json_object_put(o);
  return 0;
}

void edv__vmgen_record(const char *id, const edv__vmgen *g, int64_t now_ms,
                       edv__step_rec *r)
{
  json_object *o = json_object_new_object();

  memset(r, 0, sizeof(*r));
  cpy(r->tenant, sizeof(r->tenant), id);
  cpy(r->step, sizeof(r->step), EDV_VMGEN_STEP);
  r->state = g->pending ? EDV_STEP_PENDING : EDV_STEP_DONE;
  r->started_ms = now_ms;
  if (!g->pending)
    r->finished_ms = now_ms;
  json_object_object_add(o, "cur", json_object_new_int64(g->cur));
  if (g->pending) {
    json_object_object_add(o, "other", json_object_new_int64(g->other));
    json_object_object_add(o, "from", json_object_new_string(g->from));
    json_object_object_add(o, "to", json_object_new_string(g->to));
    json_object_object_add(o, "deadline",
                           json_object_new_int64(g->deadline_ms));
    json_object_object_add(o, "committed", json_object_new_int(g->committed));
    json_object_object_add(o, "rollback", json_object_new_int(g->rollback));
    if (g->health[0])
      json_object_object_add(o, "health", json_object_new_string(g->health));
  }
  cpy(r->resource, sizeof(r->resource),
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
}

int edv__vmgen_names(const char *id, unsigned gen, char *vm, size_t vsize,
                     char *disk, size_t dsize)
{
  char base[EDV_NAME_MAX];
  int rc = 0;

  if (vm && (rc = edv__name_vm(id, vm, vsize)) == 0 && gen > 0) {
    cpy(base, sizeof(base), vm);
    if ((size_t)snprintf(vm, vsize, "%s-%u", base, gen) >= vsize)
      rc = EDV_EINVAL;
  }
  if (!rc && disk && (rc = edv__name_disk(id, disk, dsize)) == 0 && gen > 0) {
    cpy(base, sizeof(base), disk);
    if ((size_t)snprintf(disk, dsize, "%s-%u", base, gen) >= dsize)
      rc = EDV_EINVAL;
  }
  return rc;
}

void edv__tenant_vm_names(edv_store *st, const char *id, char *vm, size_t vsize,
                          char *disk, size_t dsize)
{
  edv__vmgen g;

  if (edv__vmgen_get(st, id, &g, NULL) != 0)
    g.cur = 0;
  edv__vmgen_names(id, g.cur, vm, vsize, disk, dsize);
}

int edv__vmgen_of_name(const char *id, const char *name)
{
  char base[EDV_NAME_MAX];
  size_t bl;
  char *end;
  unsigned long gen;

  if (!name || edv__name_vm(id, base, sizeof(base)))
    return -1;
  bl = strlen(base);
  if (strncmp(name, base, bl) != 0)
    return -1;
  if (name[bl] == '\0')
    return 0;
  if (name[bl] != '-' || name[bl + 1] < '1' || name[bl + 1] > '9')
    return -1;
  gen = strtoul(name + bl + 1, &end, 10);
  return *end == '\0' && gen < 1000000 ? (int)gen : -1;
}

/* ---- the step ------------------------------------------------------------*/

/* The generations of the change: the new VM and the old one. */
static unsigned gen_new(const edv__vmgen *g)
{
  return g->committed ? g->cur : g->other;
}

static unsigned gen_old(const edv__vmgen *g)
{
  return g->committed ? g->other : g->cur;
}

/* The run deletes the tenant (EDV_DIR_DOWN) in the middle of a change:
 * the VM that does not serve goes here, the serving one with the vm step. */
static int going_down(edv__srun *sr)
{
  return edv__srun_going_down(sr);
}

static void vm_names(edv__srun *sr, unsigned gen, char *vm, char *disk)
{
  edv__vmgen_names(edv__srun_spec(sr)->id, gen, vm, EDV_NAME_MAX, disk,
                   EDV_NAME_MAX);
}

static void vm_path(edv__srun *sr, const char *kind, const char *name,
                    char *buf, size_t size)
{
  snprintf(buf, size, CP "/zones/%s/%s/%s", edv__srun_project(sr),
           edv__srun_zone(sr), kind, name);
}

/* "projects/P/zones/Z/instances/NAME": a member reference. */
static void vm_ref(edv__srun *sr, const char *name, char *buf, size_t size)
{
  snprintf(buf, size, "projects/%s/zones/%s/instances/%s",
           edv__srun_project(sr), edv__srun_zone(sr), name);
}

static void group_path(edv__srun *sr, const char *verb, char *buf, size_t size)
{
  char ig[EDV_NAME_MAX];

  edv__name_instance_group(edv__srun_spec(sr)->id, ig, sizeof(ig));
  snprintf(buf, size, CP "/zones/%s/instanceGroups/%s%s%s",
           edv__srun_project(sr), edv__srun_zone(sr), ig, verb ? "/" : "",
           verb ? verb : "");
}

static void swap_go(edv__srun *sr);
static void swap_members(edv__srun *sr, json_object *res, const edv_error *err);

/* After an act: observe again from the start. */
static void swap_again(edv__srun *sr, json_object *res, const edv_error *err)
{
  (void)res;
  if (err)
    edv__step_done(sr, err);
  else if (going_down(sr))
    edv__vm_release_down(sr);
  else
    swap_go(sr);
}

/* addInstances or removeInstances of VM `name`. */
static void group_act(edv__srun *sr, const char *verb, const char *name)
{
  json_object *body = json_object_new_object(), *insts, *i1;
  char path[512], ref[512], label[64];

  insts = json_object_new_array();
  i1 = json_object_new_object();
  vm_ref(sr, name, ref, sizeof(ref));
  json_object_object_add(i1, "instance", json_object_new_string(ref));
  json_object_array_add(insts, i1);
  json_object_object_add(body, "instances", insts);
  group_path(sr, verb, path, sizeof(path));
  snprintf(label, sizeof(label), "compute.instanceGroups.%s", verb);
  edv__step_act(sr, EDV_API_COMPUTE, "POST", path, body, label, swap_again);
}

static void swap_go(edv__srun *sr)
{
  char path[512];

  group_path(sr, "listInstances", path, sizeof(path));
  edv__step_call(sr, EDV_API_COMPUTE, "POST", path, json_object_new_object(),
                 swap_members);
}

/* The stage's bits of the group's membership (stage scratch). */
#define IN_OLD 1
#define IN_NEW 2

static int64_t now_ms(edv__srun *sr)
{
  return edv__store_now(edv__fleet_store(edv__srun_fleet(sr)));
}

/* ---- rolling back (and going down): the other VM goes ------------------ */

static void rollback_failed(edv__srun *sr)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  char vm[EDV_NAME_MAX];

  vm_names(sr, g->cur, vm, NULL);
  edv__step_fail(
      sr, EDV_EOPFAILED,
      "release %s: the new VM did not become HEALTHY in time "
      "(health state: %s); rolled back: the tenant stays on "
      "release %s (VM '%s')",
      edv__srun_fact(sr, "swap_to") ? edv__srun_fact(sr, "swap_to") : "?",
      edv__srun_fact(sr, "swap_health") ? edv__srun_fact(sr, "swap_health")
                                        : "unknown",
      edv__srun_fact(sr, "swap_from") && edv__srun_fact(sr, "swap_from")[0]
          ? edv__srun_fact(sr, "swap_from")
          : "none",
      vm);
}

static void swap_over(edv__srun *sr)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  char vm[EDV_NAME_MAX];

  vm_names(sr, g->cur, vm, NULL);
  edv__step_info(sr, 1, "release %s serves from VM '%s' alone",
                 edv__srun_fact(sr, "swap_to"), vm);
  edv__step_done(sr, NULL);
}

/* The VM that does not serve and its disk are gone: the change is over
 * (recorded DONE on the serving generation); a rollback fails the step.
 * Going down: done. */
static void drop_over(edv__srun *sr)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  edv__vmgen done;

  if (going_down(sr) || !g->pending) {
    edv__step_done(sr, NULL);
    return;
  }
  memset(&done, 0, sizeof(done));
  done.cur = g->cur;
  edv__srun_set_fact(sr, "swap_to", g->to);
  edv__srun_set_fact(sr, "swap_from", g->from);
  edv__srun_set_fact(sr, "swap_health", g->health[0] ? g->health : NULL);
  edv__srun_vmgen_save(sr, &done, NULL,
                       g->committed ? swap_over : rollback_failed);
}

static void drop_disk_seen(edv__srun *sr, json_object *res,
                           const edv_error *err)
{
  char path[512];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res) {
    drop_over(sr);
    return;
  }
  if (edv__step_owned_labels(sr, res, "boot disk"))
    return;
  vm_path(sr, "disks", edv__jstr(res, "name"), path, sizeof(path));
  edv__step_act(sr, EDV_API_COMPUTE, "DELETE", path, NULL,
                "compute.disks.delete", swap_again);
}

static void drop_vm_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  char path[512], vm[EDV_NAME_MAX], disk[EDV_NAME_MAX];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  /* The VM that does not serve: the new one rolled back, the old one
   * after the commit, either going down. */
  vm_names(sr, edv__srun_vmgen(sr)->other, vm, disk);
  if (!res) {
    vm_path(sr, "disks", disk, path, sizeof(path));
    edv__step_get(sr, EDV_API_COMPUTE, path, drop_disk_seen);
    return;
  }
  if (edv__step_owned_labels(sr, res, "VM"))
    return;
  edv__step_info(sr, 1, "deleting VM '%s'", vm);
  vm_path(sr, "instances", vm, path, sizeof(path));
  edv__step_act(sr, EDV_API_COMPUTE, "DELETE", path, NULL,
                "compute.instances.delete", swap_again);
}

/* The VM that does not serve (generation `other`) leaves the group, then
 * goes with its disk. */
static void drop(edv__srun *sr, int member)
{
  char vm[EDV_NAME_MAX], path[512];

  vm_names(sr, edv__srun_vmgen(sr)->other, vm, NULL);
  if (member) {
    edv__step_info(sr, 1, "draining VM '%s' out of the instance group", vm);
    group_act(sr, "removeInstances", vm);
    return;
  }
  vm_path(sr, "instances", vm, path, sizeof(path));
  edv__step_get(sr, EDV_API_COMPUTE, path, drop_vm_seen);
}

/* ---- committed: the old VM goes ----------------------------------------- */

static void committed_disk_seen(edv__srun *sr, json_object *disk,
                                const edv_error *err)
{
  json_object *pols, *body, *refs;
  char policy[EDV_NAME_MAX], ref[512], path[512], last[96];
  int attached = 0;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!disk) {
    edv__step_fail(sr, EDV_ENOTFOUND, "the new VM's boot disk is missing");
    return;
  }
  edv__name_snapshot_policy(edv__srun_spec(sr)->id, edv__srun_tier(sr), policy,
                            sizeof(policy));
  pols = edv__jget(disk, "resourcePolicies");
  for (size_t i = 0; i < edv__jarr_len(pols); i++) {
    const char *l = json_object_get_string(json_object_array_get_idx(pols, i));

    edv__url_last_segment(l ? l : "", last, sizeof(last));
    attached |= strcmp(last, policy) == 0;
  }
  if (!attached) {
    edv__step_info(sr, 1, "boot disk '%s': attaching snapshot schedule '%s'",
                   edv__jstr(disk, "name"), policy);
    snprintf(ref, sizeof(ref), "projects/%s/regions/%s/resourcePolicies/%s",
             edv__srun_project(sr), edv__srun_region(sr), policy);
    body = json_object_new_object();
    refs = json_object_new_array();
    json_object_array_add(refs, json_object_new_string(ref));
    json_object_object_add(body, "resourcePolicies", refs);
    snprintf(path, sizeof(path), CP "/zones/%s/disks/%s/addResourcePolicies",
             edv__srun_project(sr), edv__srun_zone(sr),
             edv__jstr(disk, "name"));
    edv__step_act(sr, EDV_API_COMPUTE, "POST", path, body,
                  "compute.disks.addResourcePolicies", swap_again);
    return;
  }
  drop(sr, (*edv__srun_stage(sr) & IN_OLD) != 0);
}

/* ---- before the decision: the new VM made, added, awaited ------------ */

/* Decides the rollback (durable first: a resumed run goes on with it). */
static void decide_rollback(edv__srun *sr, const char *health)
{
  edv__vmgen g = *edv__srun_vmgen(sr);

  g.rollback = 1;
  cpy(g.health, sizeof(g.health), health);
  edv__step_info(sr, 1,
                 "release %s: the new VM is not HEALTHY after the deadline "
                 "(%s); rolling back to release %s",
                 g.to, health, g.from[0] ? g.from : "none");
  edv__srun_vmgen_save(sr, &g, NULL, swap_go);
}

static void commit_done(edv__srun *sr)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  char vm[EDV_NAME_MAX];

  vm_names(sr, g->cur, vm, NULL);
  edv__step_info(sr, 1, "VM '%s' is HEALTHY: release %s serves", vm, g->to);
  swap_go(sr);
}

static void health_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  json_object *st;
  const char *state = NULL;
  char vm[EDV_NAME_MAX], last[96];
  edv__vmgen c;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  vm_names(sr, gen_new(g), vm, NULL);
  st = edv__jget(res, "healthStatus");
  for (size_t i = 0; i < edv__jarr_len(st); i++) {
    json_object *h = json_object_array_get_idx(st, i);

    edv__url_last_segment(edv__jstr(h, "instance") ? edv__jstr(h, "instance")
                                                   : "",
                          last, sizeof(last));
    if (strcmp(last, vm) == 0)
      state = edv__jstr(h, "healthState");
  }
  if (state && strcmp(state, "HEALTHY") == 0) {
    c = *g;
    c.committed = 1;
    c.cur = gen_new(g);
    c.other = gen_old(g);
    edv__srun_vmgen_save(sr, &c, g->to, commit_done);
    return;
  }
  if (now_ms(sr) > g->deadline_ms) {
    decide_rollback(sr, state ? state : "not reported");
    return;
  }
  edv__step_info(sr, 0, "waiting for VM '%s' to become HEALTHY (%s)", vm,
                 state ? state : "not reported yet");
  edv__step_later(sr, edv__srun_poll_ms(sr), swap_go);
}

static void health_ask(edv__srun *sr)
{
  json_object *body = json_object_new_object();
  char path[512], group[512], bes[EDV_NAME_MAX];

  group_path(sr, NULL, group, sizeof(group));
  /* getHealth takes the group's resource name, not the API path. */
  json_object_object_add(
      body, "group", json_object_new_string(group + strlen("/compute/v1/")));
  edv__name_backend_service(edv__srun_spec(sr)->id, bes, sizeof(bes));
  snprintf(path, sizeof(path), CP "/global/backendServices/%s/getHealth",
           edv__srun_project(sr), bes);
  edv__step_call(sr, EDV_API_COMPUTE, "POST", path, body, health_seen);
}

/* Every label and metadata item of the serving VM that the new body does
 * not set itself goes with it. */
static void carry_over(json_object *body, json_object *old)
{
  json_object *ol = edv__jget(old, "labels"), *nl = edv__jget(body, "labels");
  json_object *oi = edv__jget(old, "metadata.items");
  json_object *ni = edv__jget(body, "metadata.items");

  if (json_object_is_type(ol, json_type_object) && nl) {
    json_object_object_foreach(ol, k, v)
    {
      if (!json_object_object_get_ex(nl, k, NULL))
        json_object_object_add(nl, k, json_object_get(v));
    }
  }
  for (size_t i = 0; ni && i < edv__jarr_len(oi); i++) {
    json_object *it = json_object_array_get_idx(oi, i);
    const char *k = edv__jstr(it, "key");
    int have = 0;

    for (size_t j = 0; k && j < edv__jarr_len(ni) && !have; j++) {
      const char *nk = edv__jstr(json_object_array_get_idx(ni, j), "key");
      have = nk && strcmp(nk, k) == 0;
    }
    if (k && !have)
      json_object_array_add(ni, json_object_get(it));
  }
}

static void old_seen(edv__srun *sr, json_object *old, const edv_error *err)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  edv__fleet *f = edv__srun_fleet(sr);
  edv__release_rec rel;
  json_object *body;
  edv_error e;
  char path[512], vm[EDV_NAME_MAX];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!old) {
    edv__step_fail(sr, EDV_ENOTFOUND,
                   "the serving VM is missing: a release change needs it; "
                   "`edvctl tenant heal` recreates it");
    return;
  }
  if (edv__store_release_get(edv__fleet_store(f), g->to, &rel, &e)) {
    edv__step_done(sr, &e);
    return;
  }
  if (!(body = edv__vm_body(sr, gen_new(g), &rel)))
    return;
  carry_over(body, old);
  vm_names(sr, gen_new(g), vm, NULL);
  edv__step_info(sr, 1, "release %s: creating VM '%s' from image %s", g->to, vm,
                 rel.image[0] ? rel.image : "(stock)");
  snprintf(path, sizeof(path), CP "/zones/%s/instances", edv__srun_project(sr),
           edv__srun_zone(sr));
  edv__step_act(sr, EDV_API_COMPUTE, "POST", path, body,
                "compute.instances.insert", swap_again);
}

static void new_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  const char *st = res ? edv__jstr(res, "status") : NULL;
  char path[512], vm[EDV_NAME_MAX];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (res && edv__step_owned_labels(sr, res, "VM"))
    return;
  if (now_ms(sr) > g->deadline_ms &&
      (!res || !(*edv__srun_stage(sr) & IN_NEW))) {
    decide_rollback(sr, res ? (st ? st : "no status") : "never created");
    return;
  }
  if (!res) {
    vm_names(sr, g->cur, vm, NULL);
    vm_path(sr, "instances", vm, path, sizeof(path));
    edv__step_get(sr, EDV_API_COMPUTE, path, old_seen);
    return;
  }
  vm_names(sr, gen_new(g), vm, NULL);
  if (!(*edv__srun_stage(sr) & IN_NEW)) {
    edv__step_info(sr, 1, "adding VM '%s' to the instance group", vm);
    group_act(sr, "addInstances", vm);
    return;
  }
  health_ask(sr);
}

/* ---- the pass ------------------------------------------------------------*/

static void swap_members(edv__srun *sr, json_object *res, const edv_error *err)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  json_object *items;
  char vold[EDV_NAME_MAX], vnew[EDV_NAME_MAX], last[96], path[512];
  int bits = 0;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  vm_names(sr, gen_old(g), vold, NULL);
  vm_names(sr, gen_new(g), vnew, NULL);
  items = edv__jget(res, "items");
  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    const char *inst =
        edv__jstr(json_object_array_get_idx(items, i), "instance");

    edv__url_last_segment(inst ? inst : "", last, sizeof(last));
    bits |= strcmp(last, vold) == 0 ? IN_OLD : 0;
    bits |= strcmp(last, vnew) == 0 ? IN_NEW : 0;
  }
  *edv__srun_stage(sr) = bits;
  if (g->rollback) {
    drop(sr, (bits & IN_NEW) != 0);
    return;
  }
  if (g->committed) {
    if (!(bits & IN_NEW)) {
      group_act(sr, "addInstances", vnew);
      return;
    }
    vm_names(sr, g->cur, NULL, vold);
    vm_path(sr, "disks", vold, path, sizeof(path));
    edv__step_get(sr, EDV_API_COMPUTE, path, committed_disk_seen);
    return;
  }
  vm_path(sr, "instances", vnew, path, sizeof(path));
  edv__step_get(sr, EDV_API_COMPUTE, path, new_seen);
}

void edv__vm_release_up(edv__srun *sr)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  char vold[EDV_NAME_MAX], vnew[EDV_NAME_MAX];

  if (!g->pending) {
    edv__step_done(sr, NULL);
    return;
  }
  vm_names(sr, gen_old(g), vold, NULL);
  vm_names(sr, gen_new(g), vnew, NULL);
  if (edv__srun_planning(sr)) {
    edv__step_info(sr, 1,
                   "release change %s -> %s in flight: VM '%s' replaces "
                   "VM '%s'",
                   g->from[0] ? g->from : "none", g->to, vnew, vold);
    edv__step_done(sr, NULL);
    return;
  }
  swap_go(sr);
}

/* Going down mid-change: the VM that does not serve leaves the group and
 * goes (the vm step deletes the serving one). */
static void down_members(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *items;
  char vm[EDV_NAME_MAX], last[96];
  int member = 0;

  if (err && err->code != EDV_ENOTFOUND) {
    edv__step_done(sr, err);
    return;
  }
  vm_names(sr, edv__srun_vmgen(sr)->other, vm, NULL);
  items = err ? NULL : edv__jget(res, "items");
  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    const char *inst =
        edv__jstr(json_object_array_get_idx(items, i), "instance");

    edv__url_last_segment(inst ? inst : "", last, sizeof(last));
    member |= strcmp(last, vm) == 0;
  }
  drop(sr, member);
}

void edv__vm_release_down(edv__srun *sr)
{
  const edv__vmgen *g = edv__srun_vmgen(sr);
  char path[512];

  if (!g->pending || edv__srun_planning(sr)) {
    edv__step_done(sr, NULL);
    return;
  }
  group_path(sr, "listInstances", path, sizeof(path));
  edv__step_call(sr, EDV_API_COMPUTE, "POST", path, json_object_new_object(),
                 down_members);
}
