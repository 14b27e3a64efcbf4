/*
 * steps_shared.c - a tenant's part in what tenants share beyond the
 * platform plan (docs/architecture.md, "Routers and NAT per region" and
 * "The tenant's project roles"):
 *
 *   region_nat     the Cloud Router "edv-router-<region>" with its Cloud
 *                  NAT "edv-nat" in the tenant's region: made by the first
 *                  tenant there (found by the next ones), deleted by the
 *                  last one to leave (deletion, purge or a move away). The
 *                  platform region's router is the platform plan's and is
 *                  never deleted by a tenant.
 *   project_roles  the tenant VM's service account in the project's IAM
 *                  policy with the roles its VM needs (the Ops Agent's log
 *                  and metric writers), through the single IAM policy
 *                  writer (tenant/shared.c); taken out again on the way
 *                  down, before the account is deleted.
 *
 * A router is the fleet's, not a tenant's: it carries the platform's
 * description marker, so `platform init` in that region would find it as
 * its own, and a router of that name without it is never touched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "tenant/kinds.h"
#include "tenant/machine.h"
#include "tenant/shared.h"
#include "tenant/spec.h"
#include "tenant/steps.h"

#define CPATH "/compute/v1/projects/%s"

/* ---- the router of a region ---------------------------------------------- */

void edv__router_name(const char *region, char *buf, size_t size)
{
  snprintf(buf, size, EDV_ROUTER_PREFIX "%s", region ? region : "");
}

json_object *edv__router_body(const char *project, const char *network,
                              const char *region)
{
  json_object *o = json_object_new_object(), *nats, *nat;
  char name[96], net[512];

  edv__router_name(region, name, sizeof(name));
  snprintf(net, sizeof(net), "projects/%s/global/networks/%s", project,
           network);
  json_object_object_add(o, "name", json_object_new_string(name));
  edv__kind_mark(&edv__platform_kinds[EDV_PKIND_ROUTER], o, EDV_MARKER_PLATFORM,
                 NULL);
  json_object_object_add(o, "network", json_object_new_string(net));
  nats = json_object_new_array();
  nat = json_object_new_object();
  /* VMs have no external IP; NAT gives them egress for packages. */
  json_object_object_add(nat, "name", json_object_new_string(EDV_NAT_NAME));
  json_object_object_add(nat, "natIpAllocateOption",
                         json_object_new_string("AUTO_ONLY"));
  json_object_object_add(
      nat, "sourceSubnetworkIpRangesToNat",
      json_object_new_string("ALL_SUBNETWORKS_ALL_IP_RANGES"));
  json_object_array_add(nats, nat);
  json_object_object_add(o, "nats", nats);
  return o;
}

static void router_path(edv__srun *sr, int collection, char *buf, size_t size)
{
  char name[96];
  int n;

  edv__router_name(edv__srun_region(sr), name, sizeof(name));
  n = snprintf(buf, size, CPATH "/regions/%s/routers", edv__srun_project(sr),
               edv__srun_region(sr));
  if (!collection && n > 0 && (size_t)n < size)
    snprintf(buf + n, size - (size_t)n, "/%s", name);
}

static int router_ours(json_object *res)
{
  const char *d = edv__jstr(res, "description");

  return d && strcmp(d, EDV_MARKER_PLATFORM) == 0;
}

static int router_has_nat(json_object *res)
{
  json_object *nats = edv__jget(res, "nats");

  for (size_t i = 0; i < edv__jarr_len(nats); i++) {
    const char *n = edv__jstr(json_object_array_get_idx(nats, i), "name");
    if (n && strcmp(n, EDV_NAT_NAME) == 0)
      return 1;
  }
  return 0;
}

typedef struct others {
  const char *self, *region;
  unsigned n;
} others;

static int others_one(void *data, const edv__tenant_rec *rec)
{
  others *o = data;
  json_object *spec;
  const char *r;

  if (rec->phase == EDV_PHASE_DELETED ||
      rec->phase == EDV_PHASE_DEPROVISIONING || strcmp(rec->id, o->self) == 0 ||
      strcmp(rec->id, EDV_PLATFORM_ID) == 0)
    return 0;
  spec = json_tokener_parse(rec->spec_json);
  r = edv__jstr(spec, "region");
  if (r && strcmp(r, o->region) == 0)
    o->n++;
  json_object_put(spec);
  return 0;
}

/*
 * The tenants of the store, other than this one, that are (or will be) in
 * its region: any phase but DELETED and DEPROVISIONING (a FAILED or
 * SUSPENDED tenant still has, or will get again, a VM there; one going
 * down, deleted or moving away, does not need the router: its VM goes
 * before its region_nat step, and were it driven up again, its own
 * region_nat step would make the router again). So the last two tenants
 * of a region deleted at once do not keep the router for each other.
 * -1 when the store cannot say (then the router is kept).
 */
static int others_in_region(edv__srun *sr)
{
  edv_store *st = edv__fleet_store(edv__srun_fleet(sr));
  others o = {edv__srun_spec(sr)->id, edv__srun_region(sr), 0};
  edv__tenant_filter flt;
  char after[EDV_STORE_ID_SZ] = "", next[EDV_STORE_ID_SZ];

  memset(&flt, 0, sizeof(flt));
  flt.phase = -1;
  flt.limit = 1000;
  do {
    flt.after = after;
    if (edv__store_tenant_list(st, &flt, others_one, &o, next, sizeof(next),
                               NULL) != 0)
      return -1;
    snprintf(after, sizeof(after), "%s", next);
  } while (after[0]);
  return (int)o.n;
}

/* The region claim of a step that removes its region's router: released
 * when the step is over, or with the run (the step's context). */
typedef struct nat_claim {
  edv__fleet *fleet;
  char region[64];
} nat_claim;

static void nat_claim_free(void *p)
{
  nat_claim *c = p;

  edv__region_release(c->fleet, c->region, c);
  free(c);
}

static void nat_release(edv__srun *sr)
{
  edv__srun_set_ctx(sr, NULL, NULL);
}

/* Creates the region's router (then cb). */
static void nat_create(edv__srun *sr, edv__step_json_fn cb)
{
  char path[512];

  router_path(sr, 1, path, sizeof(path));
  edv__step_act(sr, EDV_API_COMPUTE, "POST", path,
                edv__router_body(edv__srun_project(sr), edv__srun_network(sr),
                                 edv__srun_region(sr)),
                "compute.routers.insert", cb);
}

/* ---- up ------------------------------------------------------------------ */

static void nat_created(edv__srun *sr, json_object *op, const edv_error *err)
{
  (void)op;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  edv__region_nat_up(sr); /* read it back: done once it is there */
}

static void nat_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  char path[512], name[96];

  edv__router_name(edv__srun_region(sr), name, sizeof(name));
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res) {
    edv__step_info(sr, 1,
                   "no Cloud Router in %s yet: creating '%s' with Cloud NAT "
                   "'%s' (the region's first tenant)",
                   edv__srun_region(sr), name, EDV_NAT_NAME);
    nat_create(sr, nat_created);
    return;
  }
  if (!router_ours(res)) {
    edv__step_fail(sr, EDV_ENOTOWNED,
                   "router '%s' in %s exists and EdVirons did not create it "
                   "(its description is not '%s'); refusing to use or change "
                   "it: rename or remove it",
                   name, edv__srun_region(sr), EDV_MARKER_PLATFORM);
    return;
  }
  if (!router_has_nat(res)) {
    json_object *body;
    if (!edv__step_repair_allowed(sr, "region_nat", name))
      return;
    edv__step_info(sr, 1, "drift: router '%s' has no Cloud NAT '%s'; adding it",
                   name, EDV_NAT_NAME);
    /* The router's other NATs stay; ours is added beside them. */
    body = edv__router_body(edv__srun_project(sr), edv__srun_network(sr),
                            edv__srun_region(sr));
    {
      json_object *want = edv__jget(body, "nats"),
                  *have = edv__jget(res, "nats");
      json_object *nats = json_object_new_array();
      for (size_t i = 0; i < edv__jarr_len(have); i++)
        json_object_array_add(
            nats, json_object_get(json_object_array_get_idx(have, i)));
      json_object_array_add(
          nats, json_object_get(json_object_array_get_idx(want, 0)));
      json_object_put(body);
      body = json_object_new_object();
      json_object_object_add(body, "nats", nats);
      if (edv__jstr(res, "fingerprint"))
        json_object_object_add(
            body, "fingerprint",
            json_object_new_string(edv__jstr(res, "fingerprint")));
    }
    router_path(sr, 0, path, sizeof(path));
    edv__step_repair(sr, EDV_API_COMPUTE, "PATCH", path, body,
                     "compute.routers.patch", edv__region_nat_up);
    return;
  }
  edv__srun_set_fact(sr, "router", name);
  edv__step_done(sr, NULL);
}

void edv__region_nat_up(edv__srun *sr)
{
  char path[512];

  /* Another tenant of this fleet is deleting the region's router: wait
   * until it is gone (or put back), then look. */
  if (!edv__srun_planning(sr) &&
      edv__region_held(edv__srun_fleet(sr), edv__srun_region(sr), NULL)) {
    edv__step_info(sr, 0,
                   "the Cloud Router of %s is being removed by the region's "
                   "last tenant: waiting",
                   edv__srun_region(sr));
    edv__step_later(sr, edv__srun_poll_ms(sr), edv__region_nat_up);
    return;
  }
  router_path(sr, 0, path, sizeof(path));
  edv__step_get(sr, EDV_API_COMPUTE, path, nat_seen);
}

/* ---- down ---------------------------------------------------------------- */

static void nat_recreated(edv__srun *sr, json_object *op, const edv_error *err)
{
  (void)op;
  nat_release(sr);
  edv__step_done(sr, err);
}

static void nat_deleted(edv__srun *sr, json_object *op, const edv_error *err)
{
  (void)op;
  if (err) {
    nat_release(sr);
    edv__step_done(sr, err);
    return;
  }
  /* A tenant of the region recorded while the router was being deleted
   * (by another process: in this one it waits on the claim) found it
   * still there: put it back for it. */
  if (others_in_region(sr) != 0) {
    edv__step_info(sr, 1,
                   "a tenant arrived in %s while its Cloud Router was being "
                   "deleted: creating it again",
                   edv__srun_region(sr));
    nat_create(sr, nat_recreated);
    return;
  }
  nat_release(sr);
  edv__step_done(sr, NULL);
}

static void nat_down_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  char path[512], name[96];

  edv__router_name(edv__srun_region(sr), name, sizeof(name));
  if (err || !res) {
    nat_release(sr);
    edv__step_done(sr, err);
    return;
  }
  if (!router_ours(res)) {
    nat_release(sr);
    edv__step_info(sr, 1, "router '%s' in %s is not EdVirons': left in place",
                   name, edv__srun_region(sr));
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_info(sr, 1,
                 "the last tenant of %s is leaving: deleting its Cloud Router "
                 "'%s' and Cloud NAT",
                 edv__srun_region(sr), name);
  router_path(sr, 0, path, sizeof(path));
  edv__step_act(sr, EDV_API_COMPUTE, "DELETE", path, NULL,
                "compute.routers.delete", nat_deleted);
}

void edv__region_nat_down(edv__srun *sr)
{
  edv__fleet *f = edv__srun_fleet(sr);
  const char *region = edv__srun_region(sr);
  nat_claim *c;
  char path[512];
  int n, result;

  if (edv__srun_planning(sr) || strcmp(region, edv__fleet_region(f)) == 0) {
    /* The platform region's router is the platform plan's. */
    edv__step_done(sr, NULL);
    return;
  }
  c = edv__srun_ctx(sr);
  if (!c) {
    if (!(c = calloc(1, sizeof(*c)))) {
      edv__step_fail(sr, EDV_ENOMEM, "out of memory");
      return;
    }
    c->fleet = f;
    snprintf(c->region, sizeof(c->region), "%s", region);
    result = edv__region_claim(f, region, c);
    if (result == EDV_EBUSY) {
      free(c);
      /* Another tenant of the region is removing it: wait for it. */
      edv__step_later(sr, edv__srun_poll_ms(sr), edv__region_nat_down);
      return;
    }
    if (result) {
      free(c);
      edv__step_fail(sr, (edv_code)result, "cannot claim region %s", region);
      return;
    }
    edv__srun_set_ctx(sr, c, nat_claim_free);
  }
  n = others_in_region(sr);
  if (n != 0) {
    nat_release(sr);
    if (n > 0)
      edv__step_info(sr, 0,
                     "the Cloud Router of %s stays: %d other tenant(s) there",
                     region, n);
    edv__step_done(sr, NULL);
    return;
  }
  router_path(sr, 0, path, sizeof(path));
  edv__step_get(sr, EDV_API_COMPUTE, path, nat_down_seen);
}

/* ---- project roles ------------------------------------------------------- */

static void roles_member(edv__srun *sr, char *buf, size_t size)
{
  char email[256];

  edv__name_service_account_email(edv__srun_spec(sr)->id, edv__srun_project(sr),
                                  email, sizeof(email));
  snprintf(buf, size, "serviceAccount:%s", email);
}

/* The writer calls back with a plain (data, err): carry the step. */
static void roles_written(void *data, const edv_error *err)
{
  edv__step_done((edv__srun *)data, err);
}

static void roles_seen(edv__srun *sr, json_object *policy, const edv_error *err)
{
  char member[300], path[512], what[512];
  edv__kind_ctx ctx;
  int result;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  memset(&ctx, 0, sizeof(ctx));
  ctx.tenant = edv__srun_spec(sr)->id;
  ctx.project = edv__srun_project(sr);
  what[0] = '\0';
  if (edv__kind_roles_diff(&ctx, policy, NULL, what, sizeof(what)) == 0) {
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_info(sr, 1, "the project's IAM policy: %s; adding the role(s)",
                 what);
  if (edv__srun_planning(sr)) {
    /* The writer's call, reported (a plan makes none). */
    snprintf(path, sizeof(path), "/v1/projects/%s:setIamPolicy",
             edv__srun_project(sr));
    edv__step_act(sr, EDV_API_CLOUDRESOURCEMANAGER, "POST", path, NULL,
                  "cloudresourcemanager.projects.setIamPolicy", NULL);
    return;
  }
  /* The single writer reads the policy again and adds the account (the
   * diff's patch would race other tenants' changes). */
  roles_member(sr, member, sizeof(member));
  result = edv__iam_project_set(edv__srun_fleet(sr), member,
                                edv__kind_project_roles, 0, roles_written, sr);
  if (result)
    edv__step_fail(sr, (edv_code)result, "cannot queue the IAM policy change");
}

/*
 * Like the URL map rule: the step reads the policy itself first (one
 * call when nothing is missing; a missing grant is journalled and shown
 * by a plan), then the single writer reads it again and writes.
 */
void edv__project_roles_up(edv__srun *sr)
{
  char path[512];

  snprintf(path, sizeof(path), "/v1/projects/%s:getIamPolicy",
           edv__srun_project(sr));
  edv__step_call(sr, EDV_API_CLOUDRESOURCEMANAGER, "POST", path,
                 json_object_new_object(), roles_seen);
}

void edv__project_roles_down(edv__srun *sr)
{
  char member[300];
  int result;

  if (edv__srun_planning(sr)) {
    edv__step_done(sr, NULL);
    return;
  }
  roles_member(sr, member, sizeof(member));
  result = edv__iam_project_set(edv__srun_fleet(sr), member,
                                edv__kind_project_roles, 1, roles_written, sr);
  if (result)
    edv__step_fail(sr, (edv_code)result, "cannot queue the IAM policy change");
}
