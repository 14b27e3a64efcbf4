/*
 * steps_tenant.c - the tenant plan: one isolated stack per school.
 *
 *   preflight (first, both directions: region, zone, platform facts)
 *   subnet, firewall, service_account -> db_secret, project_roles
 *   region_nat (the region's Cloud Router + NAT, shared by its tenants)
 *   sql_instance -> sql_database -> sql_user (needs db_secret)
 *   sql_instance -> firewall_db_allow (egress to its own database only)
 *   vm (subnet, firewall, project_roles, sql_user, region_nat)
 *     -> snapshot_policy, instance_group -> backend_service -> url_map_rule
 *   dns_records, dns_authorization -> certificate (needs dns_records)
 *     -> cert_map_entry
 *   health (url_map_rule, cert_map_entry) -> registration
 *
 * The SQL instance and the certificate are the slow ones; they start as
 * soon as their inputs exist, so a tenant is ready after its critical path.
 * Deprovisioning walks the same graph backwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "gcp/gcp.h"
#include "tenant/ensure.h"
#include "tenant/kinds.h"
#include "tenant/machine.h"
#include "tenant/render.h"
#include "tenant/shared.h"
#include "tenant/steps.h"
#include "tenant/subnet.h"

#define CP   "/compute/v1/projects/%s"
#define SQLP "/sql/v1beta4/projects/%s"
#define CMP  "/v1/projects/%s/locations/global"
/* The same prefixes as edv__res path templates (tenant/ensure.h). */
#define CPT  "/compute/v1/projects/{P}"
#define SQLT "/sql/v1beta4/projects/{P}"
#define CMT  "/v1/projects/{P}/locations/global"

/* Names of this tenant's resources, computed once per call site. */
typedef struct names {
  char subnet[EDV_NAME_MAX];
  char sa_id[EDV_NAME_MAX], sa_email[256], secret[EDV_NAME_MAX];
  char sql[EDV_NAME_MAX], vm[EDV_NAME_MAX], disk[EDV_NAME_MAX];
  char policy[EDV_NAME_MAX], ig[EDV_NAME_MAX], bes[EDV_NAME_MAX];
  char policy_prefix[EDV_NAME_MAX]; /* every snapshot schedule of ours */
  char cert[EDV_NAME_MAX], auth[2][EDV_NAME_MAX], entry[2][EDV_NAME_MAX];
  char host[2][EDV_FQDN_MAX]; /* "x.edvirons.com" (no trailing dot) */
  char fqdn[2][EDV_FQDN_MAX]; /* "x.edvirons.com." */
  int nhosts;
  char tag[EDV_NAME_MAX]; /* network tag of the tenant VM */
} names;

static void names_of(edv__srun *sr, names *n)
{
  const edv__tenant_spec *s = edv__srun_spec(sr);
  const char *id = s->id;

  memset(n, 0, sizeof(*n));
  edv__name_subnet(id, n->subnet, sizeof(n->subnet));
  edv__name_service_account_id(id, n->sa_id, sizeof(n->sa_id));
  edv__name_service_account_email(id, edv__srun_project(sr), n->sa_email,
                                  sizeof(n->sa_email));
  edv__name_secret(id, n->secret, sizeof(n->secret));
  edv__name_sql_instance(id, edv__srun_generation(sr), n->sql, sizeof(n->sql));
  edv__name_vm(id, n->vm, sizeof(n->vm));
  edv__name_disk(id, n->disk, sizeof(n->disk));
  edv__name_snapshot_policy(id, edv__srun_tier(sr), n->policy,
                            sizeof(n->policy));
  edv__name_snapshot_policy_prefix(id, n->policy_prefix,
                                   sizeof(n->policy_prefix));
  edv__name_instance_group(id, n->ig, sizeof(n->ig));
  edv__name_backend_service(id, n->bes, sizeof(n->bes));
  edv__name_certificate(id, n->cert, sizeof(n->cert));
  n->nhosts = edv__spec_has_alias(s) ? 2 : 1;
  for (int h = 0; h < n->nhosts; h++) {
    edv__name_dns_authorization(id, (edv__host_kind)h, n->auth[h],
                                sizeof(n->auth[h]));
    edv__name_cert_map_entry(id, (edv__host_kind)h, n->entry[h],
                             sizeof(n->entry[h]));
  }
  edv__name_dns_primary(s, edv__srun_domain(sr), n->fqdn[0],
                        sizeof(n->fqdn[0]));
  if (n->nhosts > 1)
    edv__name_dns_alias(s, edv__srun_domain(sr), n->fqdn[1],
                        sizeof(n->fqdn[1]));
  for (int h = 0; h < n->nhosts; h++) {
    snprintf(n->host[h], sizeof(n->host[h]), "%s", n->fqdn[h]);
    n->host[h][strlen(n->host[h]) - 1] = '\0';
  }
  snprintf(n->tag, sizeof(n->tag), "edv-%s", id);
}

/* The up (or down) action of a step that ensures one resource: its
 * descriptor (ensure.h) and the field of `names` naming it. */
#define RES_UP(fn, res, field)                                                 \
  static void fn(edv__srun *sr)                                                \
  {                                                                            \
    names n;                                                                   \
    names_of(sr, &n);                                                          \
    edv__step_ensure_res(sr, &(res), n.field);                                 \
  }
#define RES_DOWN(fn, res, field)                                               \
  static void fn(edv__srun *sr)                                                \
  {                                                                            \
    names n;                                                                   \
    names_of(sr, &n);                                                          \
    edv__step_ensure_res_absent(sr, &(res), n.field);                          \
  }

static json_object *jstr(const char *s)
{
  return json_object_new_string(s ? s : "");
}

static json_object *jarr1(const char *s)
{
  json_object *a = json_object_new_array();
  json_object_array_add(a, jstr(s));
  return a;
}

/* Marks o as the tenant's, as kind k's row says (tenant/kinds.h). */
static void mark(edv__srun *sr, edv__kind_id k, json_object *o)
{
  edv__kind_mark(&edv__kinds[k], o, edv__srun_marker(sr), edv__srun_labels(sr));
}

/* ==== preflight ========================================================= */

static void pre_lbip(edv__srun *sr, json_object *res, const edv_error *err)
{
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res || !edv__jstr(res, "address")) {
    edv__step_fail(sr, EDV_ENOTFOUND,
                   "the platform is not initialised in project '%s' (no "
                   "global address '%s'); run `edvctl platform init` first",
                   edv__srun_project(sr), EDV_LB_IP_NAME);
    return;
  }
  edv__srun_set_fact(sr, "lb_ip", edv__jstr(res, "address"));
  /* The zone lookup ends the step (it records dns_zone). */
  edv__dns_zone_lookup(sr);
}

static void pre_zone(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *zones;
  char best[96] = "", path[512];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res) {
    edv__step_fail(sr, EDV_EINVAL, "region '%s' does not exist in project '%s'",
                   edv__srun_region(sr), edv__srun_project(sr));
    return;
  }
  if (edv__jstr(res, "status") && strcmp(edv__jstr(res, "status"), "UP")) {
    edv__step_fail(sr, EDV_EUNAVAIL, "region '%s' is %s", edv__srun_region(sr),
                   edv__jstr(res, "status"));
    return;
  }
  /* The first zone in name order: deterministic, so every run (and the
   * deprovisioning) looks in the same zone. */
  zones = edv__jget(res, "zones");
  for (size_t i = 0; zones && i < json_object_array_length(zones); i++) {
    char z[96];
    edv__url_last_segment(
        json_object_get_string(json_object_array_get_idx(zones, i)), z,
        sizeof(z));
    if (!best[0] || strcmp(z, best) < 0)
      snprintf(best, sizeof(best), "%s", z);
  }
  if (!best[0]) {
    edv__step_fail(sr, EDV_EUNAVAIL, "region '%s' lists no zones",
                   edv__srun_region(sr));
    return;
  }
  edv__srun_set_fact(sr, "zone", best);
  snprintf(path, sizeof(path), CP "/global/addresses/%s", edv__srun_project(sr),
           EDV_LB_IP_NAME);
  edv__step_get(sr, EDV_API_COMPUTE, path, pre_lbip);
}

static void preflight_up(edv__srun *sr)
{
  char path[512];

  snprintf(path, sizeof(path), CP "/regions/%s", edv__srun_project(sr),
           edv__srun_region(sr));
  edv__step_get(sr, EDV_API_COMPUTE, path, pre_zone);
}

/* The diff's context for this step (tenant/kinds.h). */
static void kind_ctx(edv__srun *sr, edv__kind_ctx *ctx)
{
  memset(ctx, 0, sizeof(*ctx));
  ctx->tier = edv__srun_tier(sr);
  ctx->tenant = edv__srun_spec(sr)->id;
  ctx->project = edv__srun_project(sr);
  ctx->network = edv__srun_network(sr);
  ctx->zone = edv__srun_zone(sr);
  ctx->db_ip = edv__srun_fact(sr, "db_ip");
  ctx->cidr = edv__srun_fact(sr, "cidr");
  ctx->backend = edv__srun_fact(sr, "backend_link");
  ctx->backup_location = edv__srun_backup_location(
      sr, ctx->backup_location_buf, sizeof(ctx->backup_location_buf));
  ctx->display_name = edv__srun_spec(sr)->display_name;
}

/*
 * The tier label of a kind whose labels are set by a PATCH (the secret,
 * the DNS authorizations, the certificate: edv__kind_labels_diff) follows
 * a scale: its patch with updateMask=labels, then `again` (the step's
 * observe). 1 when a repair started (or the step ended), 0 when nothing
 * is to do.
 */
static int labels_repair(edv__srun *sr, edv__kind_id k, json_object *res,
                         const char *name, edv__srun_fn again)
{
  const edv__kind *row = &edv__kinds[k];
  edv__kind_ctx ctx;
  json_object *body;
  char path[600], what[256], key[64], label[96];
  size_t cl = strlen(row->create_label) - strlen(".create");

  kind_ctx(sr, &ctx);
  if (edv__kind_labels_diff(&ctx, res, &body, what, sizeof(what)) == 0 || !body)
    return 0;
  snprintf(key, sizeof(key), "%s_labels", row->id);
  snprintf(label, sizeof(label), "%.*s.patch", (int)cl, row->create_label);
  if (!edv__step_repair_allowed(sr, key, "its labels")) {
    json_object_put(body);
    return 1;
  }
  edv__step_info(sr, 1, "%s '%s': updating its labels in place: %s", row->title,
                 name, what);
  if (edv__res_path(sr, row->path, name, path, sizeof(path) - 32)) {
    json_object_put(body);
    edv__step_fail(sr, EDV_EINTERNAL, "%s '%s': path too long", row->title,
                   name);
    return 1;
  }
  strcat(path, "?updateMask=labels");
  edv__step_repair(sr, row->api, "PATCH", path, body, label, again);
  return 1;
}

/* ==== subnet ============================================================= */

static json_object *subnet_build(edv__srun *sr)
{
  names n;
  json_object *o = json_object_new_object();
  char net[512];

  names_of(sr, &n);
  snprintf(net, sizeof(net), "projects/%s/global/networks/%s",
           edv__srun_project(sr), edv__srun_network(sr));
  json_object_object_add(o, "name", jstr(n.subnet));
  mark(sr, EDV_KIND_SUBNET, o);
  json_object_object_add(o, "network", jstr(net));
  json_object_object_add(o, "region", jstr(edv__srun_region(sr)));
  json_object_object_add(o, "ipCidrRange", jstr(edv__srun_fact(sr, "cidr")));
  json_object_object_add(o, "privateIpGoogleAccess",
                         json_object_new_boolean(1));
  return o;
}

static void subnet_up(edv__srun *sr);

/* Its range cannot change in place (the step stops); private Google
 * access is put back. */
static void subnet_verify(edv__srun *sr, json_object *res)
{
  edv__kind_ctx ctx;
  json_object *body;
  char base[512], path[600], what[256];
  const char *name = edv__jstr(res, "name");

  kind_ctx(sr, &ctx);
  if (edv__kind_subnet_diff(&ctx, res, &body, what, sizeof(what)) == 0) {
    edv__srun_set_fact(sr, "subnet_link", edv__jstr(res, "selfLink"));
    edv__step_done(sr, NULL);
    return;
  }
  if (!body) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "subnetwork '%s' differs from the tenant's recorded "
                   "settings: %s",
                   name ? name : "", what);
    return;
  }
  if (!edv__step_repair_allowed(sr, "subnet", "the subnetwork")) {
    json_object_put(body);
    return;
  }
  edv__step_info(sr, 1, "drift: subnetwork '%s': %s; restoring it",
                 name ? name : "", what);
  if (edv__res_path(sr, edv__kinds[EDV_KIND_SUBNET].path, name, base,
                    sizeof(base)) ||
      (size_t)snprintf(path, sizeof(path), "%s/setPrivateIpGoogleAccess",
                       base) >= sizeof(path)) {
    json_object_put(body);
    edv__step_fail(sr, EDV_EINTERNAL, "subnetwork '%s': path too long",
                   name ? name : "");
    return;
  }
  edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                   "compute.subnetworks.setPrivateIpGoogleAccess", subnet_up);
}

static const edv__res subnet_res = {
    .row = &edv__kinds[EDV_KIND_SUBNET],
    .build = subnet_build,
    .verify = subnet_verify,
};

static void subnet_up(edv__srun *sr)
{
  names n;
  edv_cidr super, got, reserved[1 + 32];
  size_t nres;
  unsigned prefix;
  char cidr[EDV_CIDR_STRLEN + 1];
  edv_error err;
  const char *sn = edv__fleet_supernet(edv__srun_fleet(sr), &prefix);

  names_of(sr, &n);
  if (edv__cidr_parse(sn, &super) ||
      edv__cidr_parse(EDV_SUBNET_PSA_RANGE, &reserved[0])) {
    edv__step_fail(sr, EDV_ECONFIG, "supernet '%s' is not a CIDR range", sn);
    return;
  }
  if (edv__srun_planning(sr)) {
    /* A plan allocates nothing: show the recorded range, if any. */
    if (edv__store_subnet_get(edv__fleet_store(edv__srun_fleet(sr)),
                              edv__srun_spec(sr)->id, &got, NULL) == 0)
      edv__cidr_format(&got, cidr, sizeof(cidr));
    else
      snprintf(cidr, sizeof(cidr), "(new /%u)", prefix);
    edv__srun_set_fact(sr, "cidr", cidr);
    goto ensure;
  }
  /* The allocation is durable and unique (store constraint) before the
   * subnetwork exists, so two tenants can never race for a range. Old
   * subnets a failover left in a region to retire still hold theirs. */
  nres =
      1 + edv__fleet_retiring_ranges(edv__srun_fleet(sr), reserved + 1,
                                     sizeof(reserved) / sizeof(*reserved) - 1);
  if (edv__store_subnet_allocate(edv__fleet_store(edv__srun_fleet(sr)),
                                 edv__srun_spec(sr)->id, &super, prefix,
                                 reserved, nres, &got, &err)) {
    edv__step_done(sr, &err);
    return;
  }
  edv__cidr_format(&got, cidr, sizeof(cidr));
  edv__srun_set_fact(sr, "cidr", cidr);
ensure:
  edv__step_ensure_res(sr, &subnet_res, n.subnet);
}

RES_DOWN(subnet_down, subnet_res, subnet)

/* ==== firewall =========================================================== */

/*
 * A tenant's firewall rules (their definitions: tenant/kinds.c). Cloud
 * SQL private IPs sit in the peered producer network, where the VPC's
 * ingress rules do not apply: the egress pair is what keeps a tenant's VM
 * away from other tenants' databases (`edvctl infra audit` proves it).
 */

/* The desired rule of `kind` for this tenant (tenant/kinds.c). */
static json_object *fw_build(edv__srun *sr, edv__firewall_kind kind)
{
  edv__kind_ctx ctx;

  kind_ctx(sr, &ctx);
  return edv__kind_fw_rule(&ctx, kind);
}

#define FW_BUILD(fn, kind)                                                     \
  static json_object *fn(edv__srun *sr)                                        \
  {                                                                            \
    return fw_build(sr, kind);                                                 \
  }
FW_BUILD(fw_allow_build, EDV_FIREWALL_ALLOW_LB)
FW_BUILD(fw_deny_build, EDV_FIREWALL_DENY_INGRESS)
FW_BUILD(fw_ops_build, EDV_FIREWALL_OPS_SSH)
FW_BUILD(fw_db_allow_build, EDV_FIREWALL_ALLOW_DB)
FW_BUILD(fw_db_deny_build, EDV_FIREWALL_DENY_DB)

static void fw_patched(edv__srun *sr, json_object *op, const edv_error *err)
{
  (void)op;
  edv__step_done(sr, err);
}

/*
 * A tenant's firewall rules are its isolation: a rule that is ours but
 * whose sources, targets, protocols, priority or state changed is put back
 * with one PATCH (which a plan shows), never accepted as it is: the
 * firewall kinds' diff (tenant/kinds.c), the one the drift pass judges
 * with.
 */
static void fw_verify(edv__srun *sr, json_object *res)
{
  const char *name = edv__jstr(res, "name");
  json_object *patch;
  edv__kind_ctx ctx;
  char path[512], what[512];
  int n;

  kind_ctx(sr, &ctx);
  n = edv__kind_fw_diff(&ctx, res, &patch, what, sizeof(what));
  if (n < 0) {
    edv__step_fail(sr, EDV_EINTERNAL, "firewall rule '%s' is not one of ours",
                   name ? name : "?");
    return;
  }
  if (n == 0) {
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_info(sr, 1, "drift: firewall rule '%s': %s; restoring it", name,
                 what);
  snprintf(path, sizeof(path), CP "/global/firewalls/%s", edv__srun_project(sr),
           name);
  edv__step_act(sr, EDV_API_COMPUTE, "PATCH", path, patch,
                "compute.firewalls.patch", fw_patched);
}

#define FW_RES(kid, build_)                                                    \
  [kid - EDV_KIND_FW_ALLOW_LB] = {                                             \
      .row = &edv__kinds[kid],                                                 \
      .build = build_,                                                         \
      .verify = fw_verify,                                                     \
  }
/* Indexed by edv__firewall_kind (the table's rows are in its order). */
static const edv__res fw_res[EDV_FIREWALL__COUNT] = {
    FW_RES(EDV_KIND_FW_ALLOW_LB, fw_allow_build),
    FW_RES(EDV_KIND_FW_DENY_INGRESS, fw_deny_build),
    FW_RES(EDV_KIND_FW_OPS_SSH, fw_ops_build),
    FW_RES(EDV_KIND_FW_ALLOW_DB, fw_db_allow_build),
    FW_RES(EDV_KIND_FW_DENY_DB, fw_db_deny_build)};

static void fw_ensure(edv__srun *sr, edv__firewall_kind kind, int present)
{
  char name[EDV_NAME_MAX];

  edv__name_firewall(edv__srun_spec(sr)->id, kind, name, sizeof(name));
  if (present)
    edv__step_ensure_res(sr, &fw_res[kind], name);
  else
    edv__step_ensure_res_absent(sr, &fw_res[kind], name);
}

#define FW_STEP(up, down, kind)                                                \
  static void up(edv__srun *sr)                                                \
  {                                                                            \
    fw_ensure(sr, kind, 1);                                                    \
  }                                                                            \
  static void down(edv__srun *sr)                                              \
  {                                                                            \
    fw_ensure(sr, kind, 0);                                                    \
  }
FW_STEP(fw_allow_up, fw_allow_down, EDV_FIREWALL_ALLOW_LB)
FW_STEP(fw_deny_up, fw_deny_down, EDV_FIREWALL_DENY_INGRESS)
FW_STEP(fw_db_allow_up, fw_db_allow_down, EDV_FIREWALL_ALLOW_DB)
FW_STEP(fw_db_deny_up, fw_db_deny_down, EDV_FIREWALL_DENY_DB)

/* Operations SSH: the rule exists while the tenant's spec has ops_ssh;
 * turning it off removes it (ours only: the ownership check of the
 * deletion leaves anyone else's rule alone, and fails the step). */
static void fw_ops_up(edv__srun *sr)
{
  fw_ensure(sr, EDV_FIREWALL_OPS_SSH, edv__srun_spec(sr)->ops_ssh);
}

static void fw_ops_down(edv__srun *sr)
{
  fw_ensure(sr, EDV_FIREWALL_OPS_SSH, 0);
}

/* ==== service account ==================================================== */

static json_object *sa_build(edv__srun *sr)
{
  names n;
  json_object *o = json_object_new_object(), *acct = json_object_new_object();
  char dn[128];

  names_of(sr, &n);
  snprintf(dn, sizeof(dn), "EdVirons tenant %s", edv__srun_spec(sr)->id);
  json_object_object_add(o, "accountId", jstr(n.sa_id));
  json_object_object_add(acct, "displayName", jstr(dn));
  mark(sr, EDV_KIND_SERVICE_ACCOUNT, acct);
  json_object_object_add(o, "serviceAccount", acct);
  return o;
}

static void sa_verify(edv__srun *sr, json_object *res)
{
  edv__srun_set_fact(sr, "sa_email", edv__jstr(res, "email"));
  edv__step_done(sr, NULL);
}

static const edv__res sa_res = {
    .row = &edv__kinds[EDV_KIND_SERVICE_ACCOUNT],
    .build = sa_build,
    .verify = sa_verify,
};

RES_UP(sa_up, sa_res, sa_email)

RES_DOWN(sa_down, sa_res, sa_email)

/* ==== DB password secret ================================================= */

/*
 * The password is generated here, written to Secret Manager and never
 * kept: not in our store, not in a log, not in the VM's metadata. The
 * sql_user step reads it back from Secret Manager when it needs it.
 */
static json_object *secret_build(edv__srun *sr)
{
  json_object *o = json_object_new_object(), *rep = json_object_new_object();

  json_object_object_add(rep, "automatic", json_object_new_object());
  json_object_object_add(o, "replication", rep);
  mark(sr, EDV_KIND_SECRET, o);
  return o;
}

static void secret_policy_got(edv__srun *sr, json_object *pol,
                              const edv_error *err);

static void secret_policy(edv__srun *sr);

/* Stage bits of the db_secret step. */
#define SECRET_POLICY_SET    0x1 /* setIamPolicy done: confirm, never loop */
#define SECRET_VERSION_ADDED 0x2

static void secret_policy_set(edv__srun *sr, json_object *res,
                              const edv_error *err)
{
  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  /* Read the policy back: DONE only once the binding is there. */
  *edv__srun_stage(sr) |= SECRET_POLICY_SET;
  secret_policy(sr);
}

static void secret_policy_got(edv__srun *sr, json_object *pol,
                              const edv_error *err)
{
  names n;
  char member[300], path[512];
  json_object *bindings, *body, *policy, *b, *members;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  names_of(sr, &n);
  snprintf(member, sizeof(member), "serviceAccount:%s", n.sa_email);
  bindings = edv__jget(pol, "bindings");
  for (size_t i = 0; bindings && i < json_object_array_length(bindings); i++) {
    json_object *bi = json_object_array_get_idx(bindings, i);
    const char *role = edv__jstr(bi, "role");
    json_object *ms = edv__jget(bi, "members");
    if (!role || strcmp(role, "roles/secretmanager.secretAccessor"))
      continue;
    for (size_t k = 0; ms && k < json_object_array_length(ms); k++)
      if (strcmp(json_object_get_string(json_object_array_get_idx(ms, k)),
                 member) == 0) {
        edv__step_done(sr, NULL);
        return;
      }
  }
  if (*edv__srun_stage(sr) & SECRET_POLICY_SET) {
    edv__step_fail(sr, EDV_ENOTREADY,
                   "secret '%s': the accessor binding set a moment ago is "
                   "not in its IAM policy yet",
                   n.secret);
    return;
  }
  /* Only the tenant's own VM identity may read its password. */
  body = json_object_new_object();
  policy = json_object_new_object();
  bindings = json_object_new_array();
  b = json_object_new_object();
  json_object_object_add(b, "role", jstr("roles/secretmanager.secretAccessor"));
  members = jarr1(member);
  json_object_object_add(b, "members", members);
  json_object_array_add(bindings, b);
  json_object_object_add(policy, "bindings", bindings);
  if (edv__jstr(pol, "etag"))
    json_object_object_add(policy, "etag", jstr(edv__jstr(pol, "etag")));
  json_object_object_add(body, "policy", policy);
  snprintf(path, sizeof(path), "/v1/projects/%s/secrets/%s:setIamPolicy",
           edv__srun_project(sr), n.secret);
  edv__step_act(sr, EDV_API_SECRETMANAGER, "POST", path, body,
                "secretmanager.secrets.setIamPolicy", secret_policy_set);
}

static void secret_policy(edv__srun *sr)
{
  names n;
  char path[512];

  names_of(sr, &n);
  snprintf(path, sizeof(path), "/v1/projects/%s/secrets/%s:getIamPolicy",
           edv__srun_project(sr), n.secret);
  edv__step_get(sr, EDV_API_SECRETMANAGER, path, secret_policy_got);
}

static void secret_version_seen(edv__srun *sr, json_object *res,
                                const edv_error *err);

static void secret_version_added(edv__srun *sr, json_object *res,
                                 const edv_error *err)
{
  names n;
  char path[512];

  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  /* A new password: the sql_user step sets it on the existing user. Also
   * durable: the version differs from the one recorded by sql_user (see
   * users_listed), so a run that stops before sql_user resumes it. */
  edv__srun_set_fact(sr, "db_password_new", "1");
  *edv__srun_stage(sr) |= SECRET_VERSION_ADDED;
  /* Read the version back before going on. */
  names_of(sr, &n);
  snprintf(path, sizeof(path), "/v1/projects/%s/secrets/%s/versions/latest",
           edv__srun_project(sr), n.secret);
  edv__step_get(sr, EDV_API_SECRETMANAGER, path, secret_version_seen);
}

/* 32 characters of [A-Za-z0-9] from OpenSSL's CSPRNG (190 bits). */
static int make_password(char *out, size_t size)
{
  static const char set[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char rnd[64];
  size_t n = 0;

  while (n + 1 < size && n < 32) {
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
      return -1;
    for (size_t i = 0; i < sizeof(rnd) && n < 32 && n + 1 < size; i++)
      if (rnd[i] < 248) /* 248 = 4 * 62: no modulo bias */
        out[n++] = set[rnd[i] % 62];
  }
  out[n] = '\0';
  OPENSSL_cleanse(rnd, sizeof(rnd));
  return 0;
}

/* 1 when `name` is "projects/<project>/secrets/<secret>/versions/<digits>"
 * with a project of [a-z0-9-] (an id or a number): safe in a path. */
static int version_name_ok(const char *name, const char *secret)
{
  const char *p;
  size_t sl = strlen(secret);

  if (strncmp(name, "projects/", 9) != 0)
    return 0;
  for (p = name + 9; *p && *p != '/'; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
      return 0;
  if (p == name + 9 || strncmp(p, "/secrets/", 9) != 0 ||
      strncmp(p + 9, secret, sl) != 0 ||
      strncmp(p + 9 + sl, "/versions/", 10) != 0)
    return 0;
  p += 9 + sl + 10;
  if (!*p)
    return 0;
  for (; *p; p++)
    if (*p < '0' || *p > '9')
      return 0;
  return 1;
}

static void secret_version_seen(edv__srun *sr, json_object *res,
                                const edv_error *err)
{
  names n;
  char pw[40], b64[64], path[512];
  json_object *body, *payload;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (res && edv__jstr(res, "state") &&
      strcmp(edv__jstr(res, "state"), "ENABLED") == 0) {
    const char *vname = edv__jstr(res, "name"),
               *vtime = edv__jstr(res, "createTime");
    char ident[EDV_STORE_RES_SZ];

    /* Which version the password is: the sql_user step compares it with
     * the one it last set the user's password from (see users_listed).
     * Name and creation time: a secret deleted and made again numbers its
     * versions from 1 again. */
    names_of(sr, &n);
    if (!vname || !version_name_ok(vname, n.secret) || !vtime || !*vtime ||
        strchr(vtime, '@') ||
        (size_t)snprintf(ident, sizeof(ident), "%s@%s", vname, vtime) >=
            sizeof(ident)) {
      edv__step_fail(
          sr, EDV_EPROTO,
          "secret '%s' version: field '%s' is missing or invalid", n.secret,
          !vname || !version_name_ok(vname, n.secret) ? "name" : "createTime");
      return;
    }
    edv__srun_set_fact(sr, "db_secret_version", ident);
    secret_policy(sr);
    return;
  }
  names_of(sr, &n);
  if (*edv__srun_stage(sr) & SECRET_VERSION_ADDED) {
    edv__step_fail(sr, EDV_ENOTREADY,
                   "secret '%s': the version added a moment ago is not "
                   "ENABLED yet",
                   n.secret);
    return;
  }
  if (make_password(pw, sizeof(pw))) {
    edv__step_fail(sr, EDV_EINTERNAL, "no randomness for the DB password");
    return;
  }
  EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pw,
                  (int)strlen(pw));
  body = json_object_new_object();
  payload = json_object_new_object();
  json_object_object_add(payload, "data", jstr(b64));
  json_object_object_add(body, "payload", payload);
  OPENSSL_cleanse(pw, sizeof(pw));
  OPENSSL_cleanse(b64, sizeof(b64));
  snprintf(path, sizeof(path), "/v1/projects/%s/secrets/%s:addVersion",
           edv__srun_project(sr), n.secret);
  edv__step_act(sr, EDV_API_SECRETMANAGER, "POST", path, body,
                "secretmanager.secrets.addVersion", secret_version_added);
}

static void secret_up(edv__srun *sr);

static void secret_verify(edv__srun *sr, json_object *res)
{
  names n;
  char path[512];

  names_of(sr, &n);
  /* The facts first: a plan ends the step at a repair's call. */
  snprintf(path, sizeof(path), "/v1/projects/%s/secrets/%s",
           edv__srun_project(sr), n.secret);
  edv__srun_set_fact(sr, "secret", path + 4);
  if (labels_repair(sr, EDV_KIND_SECRET, res, n.secret, secret_up))
    return;
  snprintf(path, sizeof(path), "/v1/projects/%s/secrets/%s/versions/latest",
           edv__srun_project(sr), n.secret);
  edv__step_get(sr, EDV_API_SECRETMANAGER, path, secret_version_seen);
}

static const edv__res secret_res = {
    .row = &edv__kinds[EDV_KIND_SECRET],
    .build = secret_build,
    .verify = secret_verify,
};

RES_UP(secret_up, secret_res, secret)

RES_DOWN(secret_down, secret_res, secret)

/* ==== Cloud SQL instance ===================================================
 */

static json_object *sql_build(edv__srun *sr)
{
  names n;
  const edv__tier *t = edv__srun_tier(sr);
  json_object *o = json_object_new_object(), *st = json_object_new_object(),
              *ip;
  char loc[64];

  names_of(sr, &n);
  json_object_object_add(o, "name", jstr(n.sql));
  json_object_object_add(o, "databaseVersion", jstr(t->sql.database_version));
  json_object_object_add(o, "region", jstr(edv__srun_region(sr)));
  json_object_object_add(st, "tier", jstr(t->sql.tier));
  json_object_object_add(st, "edition", jstr(t->sql.edition));
  json_object_object_add(st, "availabilityType",
                         jstr(t->sql.regional ? "REGIONAL" : "ZONAL"));
  {
    char gb[16];
    snprintf(gb, sizeof(gb), "%d", t->sql.data_disk_gb);
    json_object_object_add(st, "dataDiskSizeGb", jstr(gb));
  }
  json_object_object_add(st, "dataDiskType", jstr(t->sql.data_disk_type));
  json_object_object_add(st, "storageAutoResize", json_object_new_boolean(1));
  json_object_object_add(st, "activationPolicy", jstr("ALWAYS"));
  json_object_object_add(st, "backupConfiguration",
                         edv__sql_backup_config(t, edv__srun_backup_location(
                                                       sr, loc, sizeof(loc))));
  /* Only the tenant delete path lifts it (sql_down). */
  json_object_object_add(st, "deletionProtectionEnabled",
                         json_object_new_boolean(1));
  ip = edv__sql_ip_config(edv__srun_project(sr), edv__srun_network(sr));
  json_object_object_add(st, "ipConfiguration", ip);
  json_object_object_add(o, "settings", st);
  mark(sr, EDV_KIND_SQL_INSTANCE, o);
  return o;
}

static int sql_ready(edv__srun *sr, json_object *res)
{
  const char *state = edv__jstr(res, "state");

  if (state && strcmp(state, "RUNNABLE") == 0)
    return 1;
  if (state &&
      (strcmp(state, "FAILED") == 0 || strcmp(state, "SUSPENDED") == 0)) {
    edv__step_fail(sr, EDV_EOPFAILED, "Cloud SQL instance '%s' is %s",
                   edv__jstr(res, "name"), state);
    return -1;
  }
  edv__step_info(sr, 0, "Cloud SQL instance %s", state ? state : "starting");
  return 0;
}

/* 1 when the JSON value is boolean true (or the string "true"). */
static int jtrue(json_object *v)
{
  return v && json_object_get_boolean(v);
}

static void sql_up(edv__srun *sr);

/* What the diff leaves alone but a person should know. */
static void sql_notes(edv__srun *sr, json_object *res)
{
  const edv__tier *t = edv__srun_tier(sr);
  json_object *st = edv__jget(res, "settings");
  const char *dtype = edv__jstr(st, "dataDiskType");
  int64_t disk = edv__jint(st, "dataDiskSizeGb", 0);

  if (disk > t->sql.data_disk_gb)
    edv__step_info(sr, 1,
                   "Cloud SQL storage is %lld GB, larger than the tier's %d "
                   "GB: kept (Cloud SQL storage cannot shrink)",
                   (long long)disk, t->sql.data_disk_gb);
  if (dtype && strcmp(dtype, t->sql.data_disk_type) != 0)
    edv__step_info(sr, 1,
                   "drift: Cloud SQL storage type is %s, the tier wants %s; "
                   "it cannot change in place (left as is)",
                   dtype, t->sql.data_disk_type);
}

static void sql_verify(edv__srun *sr, json_object *res)
{
  json_object *ips = edv__jget(res, "ipAddresses");
  json_object *body;
  edv__kind_ctx ctx;
  char what[512], path[512];

  kind_ctx(sr, &ctx);
  if (edv__kind_sql_diff(&ctx, res, &body, what, sizeof(what)) > 0) {
    const char *ver = edv__jstr(edv__jget(res, "settings"), "settingsVersion");

    if (!edv__step_repair_allowed(sr, "sql_settings",
                                  "the Cloud SQL settings")) {
      json_object_put(body);
      return;
    }
    sql_notes(sr, res);
    edv__step_info(sr, 1, "drift: Cloud SQL instance '%s': %s; patching it",
                   edv__jstr(res, "name"), what);
    /* settingsVersion: a concurrent change makes the patch 412, and the
     * repair observes again. */
    if (ver)
      json_object_object_add(edv__jget(body, "settings"), "settingsVersion",
                             jstr(ver));
    snprintf(path, sizeof(path), SQLP "/instances/%s", edv__srun_project(sr),
             edv__jstr(res, "name"));
    edv__step_repair(sr, EDV_API_SQLADMIN, "PATCH", path, body,
                     "sql.instances.patch", sql_up);
    return;
  }
  sql_notes(sr, res);
  for (size_t i = 0; ips && i < json_object_array_length(ips); i++) {
    json_object *ip = json_object_array_get_idx(ips, i);
    const char *type = edv__jstr(ip, "type");
    if (type && strcmp(type, "PRIVATE") == 0)
      edv__srun_set_fact(sr, "db_ip", edv__jstr(ip, "ipAddress"));
  }
  if (!edv__srun_fact(sr, "db_ip")) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "Cloud SQL instance '%s' has no private IP (is private "
                   "services access connected? run `edvctl platform init`)",
                   edv__jstr(res, "name"));
    return;
  }
  edv__srun_set_fact(sr, "sql_instance", edv__jstr(res, "name"));
  edv__step_done(sr, NULL);
}

/*
 * The create said 409 instanceAlreadyExists although the instance is not
 * there: Cloud SQL keeps a deleted instance's name for a week. That
 * happens when the generation did not move on with the deletion (a state
 * restored from backup, a crash between the deletion and its record, an
 * instance deleted by hand): take the next generation and go on under
 * the new name. Nothing of ours exists under the old name, so nothing is
 * left behind.
 */
static int sql_name_taken(edv__srun *sr, const edv_error *err)
{
  edv_error e;
  names n;

  if (strcmp(err->reason, "instanceAlreadyExists") != 0 ||
      edv__srun_planning(sr))
    return 0;
  names_of(sr, &n);
  if (edv__srun_next_generation(sr, &e)) {
    edv__step_done(sr, &e);
    return 1;
  }
  edv__step_info(sr, 1,
                 "Cloud SQL name %s is still reserved after a deletion; "
                 "moving to generation %u",
                 n.sql, (unsigned)edv__srun_generation(sr));
  sql_up(sr);
  return 1;
}

static const edv__res sql_res = {
    .row = &edv__kinds[EDV_KIND_SQL_INSTANCE],
    .build = sql_build,
    .verify = sql_verify,
    .ready = sql_ready,
    .name_taken = sql_name_taken,
};

RES_UP(sql_up, sql_res, sql)

#define FINAL_UNTIL " until "

void edv__final_backup_format(char *buf, size_t size, const char *name,
                              const char *expiry)
{
  snprintf(buf, size, "%s%s%s", name, expiry ? FINAL_UNTIL : "",
           expiry ? expiry : "");
}

int edv__final_backup_parse(const char *rec, char *name, size_t nsize,
                            char *expiry, size_t esize)
{
  const char *u = rec ? strstr(rec, FINAL_UNTIL) : NULL;
  size_t n = u ? (size_t)(u - rec) : (rec ? strlen(rec) : 0);

  if (!rec || strncmp(rec, "projects/", 9) != 0 || !strstr(rec, "/backups/") ||
      n >= nsize)
    return -1;
  memcpy(name, rec, n);
  name[n] = '\0';
  snprintf(expiry, esize, "%s", u ? u + strlen(FINAL_UNTIL) : "");
  return 0;
}

static void sql_down(edv__srun *sr);

static void sql_acted(edv__srun *sr, json_object *op, const edv_error *err)
{
  (void)op;
  if (err)
    edv__step_done(sr, err);
  else
    sql_down(sr);
}

/* The newest of the FINAL backups listed, or NULL. With `owner`: of the
 * instances whose settings (kept in the backup) carry that tenant's
 * labels; else of any instance named `inst`. */
static json_object *final_newest(json_object *list, const char *inst,
                                 const char *owner)
{
  json_object *items = edv__jget(list, "backups"), *best = NULL;
  const char *best_t = "";

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *b = json_object_array_get_idx(items, i);
    const char *type = edv__jstr(b, "type"), *t;
    char who[EDV_TENANT_ID_MAX + 1];

    if (!type || strcmp(type, "FINAL") != 0 || !edv__jstr(b, "name"))
      continue;
    if (owner ? !edv__labels_owner(
                    edv__jget(b, "instanceSettings.settings.userLabels"), who,
                    sizeof(who)) ||
                    strcmp(who, owner) != 0
              : !edv__jstr(b, "instance") ||
                    strcmp(edv__jstr(b, "instance"), inst) != 0)
      continue;
    t = edv__jstr(b, "instanceDeletionTime");
    if (t && strcmp(t, best_t) >= 0) {
      best = b;
      best_t = t;
    }
  }
  return best;
}

/* The instance is gone: its final backup is recorded in the step's record
 * (EDV_STEP_KEEP: it outlives the tenant, for `tenant recover`). None: the
 * instance went some other way (deleted by hand, never created). */
static void sql_final_listed(edv__srun *sr, json_object *res,
                             const edv_error *err)
{
  names n;
  json_object *b;
  char rec[EDV_STORE_RES_SZ];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  names_of(sr, &n);
  b = final_newest(res, n.sql, NULL);
  if (!b) {
    edv__step_info(sr, 1, "Cloud SQL instance '%s' left no final backup",
                   n.sql);
    edv__srun_set_recorded(sr, "");
    edv__step_done(sr, NULL);
    return;
  }
  edv__final_backup_format(rec, sizeof(rec), edv__jstr(b, "name"),
                           edv__jstr(b, "expiryTime"));
  edv__srun_set_recorded(sr, rec);
  edv__step_info(sr, 1, "final backup %s kept until %s", edv__jstr(b, "name"),
                 edv__jstr(b, "expiryTime") ? edv__jstr(b, "expiryTime")
                                            : "(unknown)");
  edv__step_done(sr, NULL);
}

static void sql_final_list(edv__srun *sr, const char *inst)
{
  char path[512];

  snprintf(path, sizeof(path), SQLP "/backups?filter=instance:%s%%20type:FINAL",
           edv__srun_project(sr), inst);
  edv__step_call(sr, EDV_API_SQLADMIN, "GET", path, NULL, sql_final_listed);
}

/*
 * Deletion protection is lifted here and nowhere else: one patch, then
 * the deletion with a final backup kept for the tier's final_backup_days
 * (Google keeps a FINAL backup after the instance is gone, until its
 * expiry), then its name recorded. Each stage observes again first, so a
 * resumed run goes on where it stopped. Someone else's instance is left to
 * the ownership check of the deletion.
 */
static void sql_down_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  names n;
  char owner[EDV_TENANT_ID_MAX + 1], path[640];
  const char *state = edv__jstr(res, "state");
  json_object *body, *st;
  int ours;

  names_of(sr, &n);
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res) {
    sql_final_list(sr, n.sql);
    return;
  }
  ours = edv__labels_owner(edv__jget(res, "settings.userLabels"), owner,
                           sizeof(owner)) &&
         strcmp(owner, edv__srun_spec(sr)->id) == 0;
  if (!ours) {
    edv__step_ensure_res_absent(sr, &sql_res, n.sql);
    return;
  }
  if (state && strcmp(state, "PENDING_DELETE") == 0) {
    edv__step_later(sr, edv__srun_poll_ms(sr), sql_down);
    return;
  }
  snprintf(path, sizeof(path), SQLP "/instances/%s", edv__srun_project(sr),
           n.sql);
  if (jtrue(edv__jget(res, "settings.deletionProtectionEnabled"))) {
    edv__step_info(sr, 1,
                   "lifting deletion protection of Cloud SQL "
                   "instance '%s' to delete it",
                   n.sql);
    body = json_object_new_object();
    st = json_object_new_object();
    json_object_object_add(st, "deletionProtectionEnabled",
                           json_object_new_boolean(0));
    json_object_object_add(body, "settings", st);
    edv__step_act(sr, EDV_API_SQLADMIN, "PATCH", path, body,
                  "sql.instances.patch", sql_acted);
    return;
  }
  edv__step_info(sr, 1,
                 "deleting Cloud SQL instance '%s' with a final backup kept "
                 "%d days",
                 n.sql, edv__srun_tier(sr)->final_backup_days);
  snprintf(path + strlen(path), sizeof(path) - strlen(path),
           "?enableFinalBackup=true&finalBackupTtlDays=%d&"
           "finalBackupDescription=EdVirons%%20tenant%%20%s",
           edv__srun_tier(sr)->final_backup_days, edv__srun_spec(sr)->id);
  edv__step_act(sr, EDV_API_SQLADMIN, "DELETE", path, NULL,
                "sql.instances.delete", sql_acted);
}

static void sql_down(edv__srun *sr)
{
  names n;
  char path[512];

  names_of(sr, &n);
  snprintf(path, sizeof(path), SQLP "/instances/%s", edv__srun_project(sr),
           n.sql);
  edv__step_get(sr, EDV_API_SQLADMIN, path, sql_down_seen);
}

/* ==== restore from a final backup (tenant recover) =========================
 *
 * `tenant recover` writes this step's record with the final backup's name
 * before driving the tenant up (edv__fleet_recover); a tenant created the
 * ordinary way has none and nothing is restored. Once the restore is done
 * the record says DONE with the backup's name, and later runs leave the
 * data alone.
 */

static void restore_up(edv__srun *sr);

static void restore_acted(edv__srun *sr, json_object *op, const edv_error *err)
{
  const char *from = edv__srun_fact(sr, "restore_from");

  (void)op;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  edv__step_info(sr, 1, "Cloud SQL data restored from %s",
                 from ? from : "the final backup");
  edv__srun_set_recorded(sr, from ? from : "");
  edv__step_done(sr, NULL);
}

static void restore_issue(edv__srun *sr, const char *backup)
{
  names n;
  char path[512];
  json_object *body = json_object_new_object();

  names_of(sr, &n);
  edv__srun_set_fact(sr, "restore_from", backup);
  json_object_object_add(body, "backup", jstr(backup));
  snprintf(path, sizeof(path), SQLP "/instances/%s/restoreBackup",
           edv__srun_project(sr), n.sql);
  edv__step_act(sr, EDV_API_SQLADMIN, "POST", path, body,
                "sql.instances.restoreBackup", restore_acted);
}

/* The recorded backup still exists: restore it. */
static void restore_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "final backup %s no longer exists (expired or deleted): "
                   "nothing to recover the data from",
                   edv__srun_recorded(sr));
    return;
  }
  restore_issue(sr, edv__jstr(res, "name"));
}

/* After a stop between the restore's intent and its operation, the name
 * is no longer in the record: the tenant's newest final backup (its labels
 * are in the backup's instance settings), unless a restore already ran. */
static void restore_list(edv__srun *sr, const char *token);

/* One page of the project's FINAL backups: the newest of this tenant's so
 * far is kept in the facts until the last page. */
static void restore_found(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *b;
  const char *next, *best_t = edv__srun_fact(sr, "restore_best_time");

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  b = final_newest(res, NULL, edv__srun_spec(sr)->id);
  if (b && edv__jstr(b, "instanceDeletionTime") &&
      (!best_t || strcmp(edv__jstr(b, "instanceDeletionTime"), best_t) >= 0)) {
    edv__srun_set_fact(sr, "restore_best", edv__jstr(b, "name"));
    edv__srun_set_fact(sr, "restore_best_time",
                       edv__jstr(b, "instanceDeletionTime"));
  }
  next = edv__jstr(res, "nextPageToken");
  if (next && *next) {
    restore_list(sr, next);
    return;
  }
  if (!edv__srun_fact(sr, "restore_best")) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "tenant '%s' has no final backup left to recover from",
                   edv__srun_spec(sr)->id);
    return;
  }
  restore_issue(sr, edv__srun_fact(sr, "restore_best"));
}

/* The project's FINAL backups (Google filters by type, instance, time and
 * location, not by labels), from page `token` (NULL: the first). */
static void restore_list(edv__srun *sr, const char *token)
{
  char base[512], *path;

  snprintf(base, sizeof(base), SQLP "/backups?filter=type:FINAL",
           edv__srun_project(sr));
  path = edv__url_append_query(strdup(base), "pageToken", token);
  if (!path) {
    edv__step_fail(sr, EDV_ENOMEM, "out of memory");
    return;
  }
  edv__step_call(sr, EDV_API_SQLADMIN, "GET", path, NULL, restore_found);
  free(path);
}

static void restore_ops(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *items = edv__jget(res, "items");

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *op = json_object_array_get_idx(items, i);
    const char *type = edv__jstr(op, "operationType");
    const char *status = edv__jstr(op, "status");

    if (!type || strcmp(type, "RESTORE_VOLUME") != 0)
      continue;
    if (!status || strcmp(status, "DONE") != 0) {
      edv__step_later(sr, edv__srun_poll_ms(sr), restore_up);
      return;
    }
    if (!edv__jget(op, "error")) {
      restore_acted(sr, op, NULL);
      return;
    }
  }
  restore_list(sr, NULL);
}

/* A failover's backup run (projects/P/instances/I/backupRuns/ID, I the
 * instance of the region left behind): still listed and SUCCESSFUL, it is
 * restored onto the new instance. */
static void restore_run_seen(edv__srun *sr, json_object *res,
                             const edv_error *err)
{
  const char *from = edv__srun_recorded(sr), *at, *slash;
  char inst[128], path[512];
  json_object *body, *ctx;
  names n;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  at = strstr(from, "/instances/");
  slash = at ? strstr(at, "/backupRuns/") : NULL;
  if (!res || !slash || (size_t)(slash - at - 11) >= sizeof(inst)) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "backup run %s no longer exists: nothing to restore the "
                   "data from",
                   from);
    return;
  }
  if (!edv__jstr(res, "status") ||
      strcmp(edv__jstr(res, "status"), "SUCCESSFUL") != 0) {
    edv__step_fail(sr, EDV_EPRECONDITION, "backup run %s is %s, not SUCCESSFUL",
                   from, edv__jstr(res, "status"));
    return;
  }
  snprintf(inst, sizeof(inst), "%.*s", (int)(slash - at - 11), at + 11);
  names_of(sr, &n);
  edv__srun_set_fact(sr, "restore_from", from);
  ctx = json_object_new_object();
  json_object_object_add(ctx, "kind", jstr("sql#restoreBackupContext"));
  json_object_object_add(ctx, "backupRunId", jstr(slash + 12));
  json_object_object_add(ctx, "instanceId", jstr(inst));
  json_object_object_add(ctx, "project", jstr(edv__srun_project(sr)));
  body = json_object_new_object();
  json_object_object_add(body, "restoreBackupContext", ctx);
  snprintf(path, sizeof(path), SQLP "/instances/%s/restoreBackup",
           edv__srun_project(sr), n.sql);
  edv__step_act(sr, EDV_API_SQLADMIN, "POST", path, body,
                "sql.instances.restoreBackup", restore_acted);
}

static void restore_up(edv__srun *sr)
{
  const char *from = edv__srun_recorded(sr);
  names n;
  char path[640];

  if (edv__srun_recorded_done(sr) || !from || !*from) {
    edv__step_done(sr, NULL);
    return;
  }
  if (strncmp(from, "projects/", 9) == 0 && strstr(from, "/backupRuns/")) {
    snprintf(path, sizeof(path), "/sql/v1beta4/%s", from);
    edv__step_get(sr, EDV_API_SQLADMIN, path, restore_run_seen);
    return;
  }
  if (strncmp(from, "projects/", 9) == 0) {
    snprintf(path, sizeof(path), SQLP "/backups/%s", edv__srun_project(sr),
             strrchr(from, '/') + 1);
    edv__step_get(sr, EDV_API_SQLADMIN, path, restore_seen);
    return;
  }
  names_of(sr, &n);
  snprintf(path, sizeof(path), SQLP "/operations?instance=%s",
           edv__srun_project(sr), n.sql);
  edv__step_call(sr, EDV_API_SQLADMIN, "GET", path, NULL, restore_ops);
}

/* ==== database and user ====================================================
 */

static json_object *db_build(edv__srun *sr)
{
  json_object *o = json_object_new_object();

  (void)sr;
  json_object_object_add(o, "name", jstr(EDV_DB_NAME));
  json_object_object_add(o, "charset", jstr("UTF8"));
  return o;
}

/* {N} is the instance here: the database's own name is fixed. */
static const edv__res sqldb_res = {
    .row = &edv__kinds[EDV_KIND_SQL_DATABASE],
    .build = db_build,
};

RES_UP(sqldb_up, sqldb_res, sql)

/* Stages of the sql_user step. */
#define USER_OBSERVE 0 /* list the users, decide */
#define USER_CONFIRM 1 /* after insert/update: list again, then DONE */

static void sqluser_up(edv__srun *sr);

/*
 * Which secret version the user's password was last set from is durable:
 * the sql_user step's record keeps its identity ("<version name>@<create
 * time>", never the value) in its `resource`, written with the DONE record
 * after the users.insert/update operation completed. A run that stopped
 * between db_secret's addVersion and the update (a crash, a failure, a
 * stop) finds the latest version differs from the recorded one and sets
 * the password then.
 */
static void user_written(edv__srun *sr, json_object *res, const edv_error *err)
{
  const char *sent = edv__srun_fact(sr, "db_user_version_sent");

  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  /* The operation completed: the user has that version's value. (The act
   * put "METHOD path" in the record; this replaces it before DONE.) */
  edv__srun_set_recorded(sr, sent ? sent : "");
  *edv__srun_stage(sr) = USER_CONFIRM;
  sqluser_up(sr);
}

/*
 * The password comes from Secret Manager and goes only into the request
 * body (never a log, the journal or our store): users.insert for a new
 * user, users.update for an existing one when the secret has a new value.
 */
static void user_secret_read(edv__srun *sr, json_object *res,
                             const edv_error *err)
{
  names n;
  const char *b64;
  unsigned char pw[128];
  int len, exists = edv__srun_fact(sr, "db_user_exists") != NULL;
  const char *want = edv__srun_fact(sr, "db_secret_version"), *vname;
  json_object *body;
  char path[512];

  if (err || !res) {
    if (!err)
      edv__step_fail(sr, EDV_ENOTFOUND,
                     "the DB password secret has no "
                     "version");
    else
      edv__step_done(sr, err);
    return;
  }
  /* The version read must be the one db_secret verified (when known):
   * its identity is what gets recorded once the write completes. */
  vname = edv__jstr(res, "name");
  if (want && (!vname || strncmp(want, vname, strlen(vname)) != 0 ||
               want[strlen(vname)] != '@')) {
    edv__step_fail(sr, EDV_EPROTO,
                   "secret version access: field 'name' is not the version "
                   "asked for");
    return;
  }
  edv__srun_set_fact(sr, "db_user_version_sent", want);
  b64 = edv__jstr(edv__jget(res, "payload"), "data");
  if (!b64 || strlen(b64) > 160) {
    edv__step_fail(sr, EDV_EPROTO, "secret payload is missing or too long");
    return;
  }
  len = EVP_DecodeBlock(pw, (const unsigned char *)b64, (int)strlen(b64));
  if (len < 0) {
    edv__step_fail(sr, EDV_EPROTO, "secret payload is not base64");
    return;
  }
  /* EVP_DecodeBlock counts the padding's zero bytes. */
  while (len > 0 && pw[len - 1] == '\0')
    len--;
  pw[len] = '\0';
  names_of(sr, &n);
  body = json_object_new_object();
  json_object_object_add(body, "name", jstr(EDV_DB_USER));
  json_object_object_add(body, "password", jstr((const char *)pw));
  OPENSSL_cleanse(pw, sizeof(pw));
  if (exists) {
    edv__step_info(sr, 1,
                   "database user '%s': setting the password from the new "
                   "secret version %s",
                   EDV_DB_USER, vname ? vname : "(latest)");
    snprintf(path, sizeof(path), SQLP "/instances/%s/users?name=%s",
             edv__srun_project(sr), n.sql, EDV_DB_USER);
    edv__step_act(sr, EDV_API_SQLADMIN, "PUT", path, body, "sql.users.update",
                  user_written);
    return;
  }
  /* The new user gets the secret's current value: if this insert lands
   * with its answer lost, the retry finds the user with that value. */
  edv__srun_set_fact(sr, "db_password_new", NULL);
  snprintf(path, sizeof(path), SQLP "/instances/%s/users",
           edv__srun_project(sr), n.sql);
  edv__step_act(sr, EDV_API_SQLADMIN, "POST", path, body, "sql.users.insert",
                user_written);
}

static void users_listed(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *items;
  names n;
  char path[512];
  const char *want;
  size_t vlen;
  int found = 0;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  items = edv__jget(res, "items");
  for (size_t i = 0; items && i < json_object_array_length(items) && !found;
       i++) {
    const char *u = edv__jstr(json_object_array_get_idx(items, i), "name");
    found = u && strcmp(u, EDV_DB_USER) == 0;
  }
  if (*edv__srun_stage(sr) == USER_CONFIRM) {
    if (!found) {
      edv__step_fail(sr, EDV_ENOTREADY,
                     "database user '%s' is not listed after its write",
                     EDV_DB_USER);
      return;
    }
    /* The new password is in: later steps of this run need not set it
     * again. */
    edv__srun_set_fact(sr, "db_password_new", NULL);
    edv__step_done(sr, NULL);
    return;
  }
  /* An existing user keeps its password while it was set from the
   * secret's latest enabled version (recorded, see user_written). A new
   * version (db_secret added one: a secret deleted and made again, its
   * latest version disabled; in this run or in one that stopped before
   * this step) must reach the user, or the VM cannot log in. Without a
   * verified version (a plan of a tenant whose secret is missing) there is
   * nothing to compare. */
  want = edv__srun_fact(sr, "db_secret_version");
  if (found && !edv__srun_fact(sr, "db_password_new") &&
      (!want || strcmp(edv__srun_recorded(sr), want) == 0)) {
    edv__step_done(sr, NULL);
    return;
  }
  edv__srun_set_fact(sr, "db_user_exists", found ? "1" : NULL);
  names_of(sr, &n);
  /* The version db_secret verified, by name: what is recorded after the
   * write is then exactly what was sent. */
  if (want &&
      (vlen = strcspn(want, "@")) + sizeof(":access") + 4 < sizeof(path))
    snprintf(path, sizeof(path), "/v1/%.*s:access", (int)vlen, want);
  else
    snprintf(path, sizeof(path),
             "/v1/projects/%s/secrets/%s/versions/latest:access",
             edv__srun_project(sr), n.secret);
  edv__step_get(sr, EDV_API_SECRETMANAGER, path, user_secret_read);
}

static void sqluser_up(edv__srun *sr)
{
  names n;
  char path[512];

  names_of(sr, &n);
  snprintf(path, sizeof(path), SQLP "/instances/%s/users",
           edv__srun_project(sr), n.sql);
  edv__step_get(sr, EDV_API_SQLADMIN, path, users_listed);
}

/* ==== VM ===================================================================
 */

static void meta_add(json_object *items, const char *k, const char *v)
{
  json_object *o = json_object_new_object();
  json_object_object_add(o, "key", jstr(k));
  json_object_object_add(o, "value", jstr(v));
  json_object_array_add(items, o);
}

/* The boot image without a release: stock Debian 12, no app. */
#define VM_STOCK_IMAGE "projects/debian-cloud/global/images/family/debian-12"

/* The release the VM runs (rel->version "" for none), or -1 with the step
 * failed. */
static int vm_release_of(edv__srun *sr, edv__release_rec *rel)
{
  edv_error err;
  int result = edv__srun_release(sr, rel, &err);

  if (result == EDV_ENOTFOUND)
    memset(rel, 0, sizeof(*rel));
  else if (result) {
    edv__step_done(sr, &err);
    return -1;
  }
  return 0;
}

/* Its label edv-release (a label value holds no '.': "1_4_0") and its
 * metadata: edv-release and edv-release-image (the exact version and its
 * image, what a state rebuild reads back) and
 * enable-guest-attributes (the startup script reports the app version it
 * started as a guest attribute). */
static void vm_release_mark(json_object *vm, json_object *items,
                            const edv__release_rec *rel)
{
  char label[EDV_STORE_VERSION_SZ];
  json_object *labels = json_object_object_get(vm, "labels");

  snprintf(label, sizeof(label), "%s", rel->version[0] ? rel->version : "none");
  for (char *p = label; *p; p++)
    if (*p == '.')
      *p = '_';
  if (labels)
    json_object_object_add(labels, "edv-release", jstr(label));
  meta_add(items, "edv-release", rel->version[0] ? rel->version : "none");
  if (rel->image[0])
    meta_add(items, "edv-release-image", rel->image);
  meta_add(items, "enable-guest-attributes", "TRUE");
}

static json_object *vm_build(edv__srun *sr)
{
  edv__release_rec rel;
  names n;
  const edv__tier *t = edv__srun_tier(sr);
  const char *zone = edv__srun_zone(sr);
  json_object *o = json_object_new_object(), *disks, *disk, *ip, *nics, *nic,
              *sas, *sa, *meta, *items, *tags, *shield;
  char buf[512], users[16];
  char *script;
  edv__render_in in;

  names_of(sr, &n);
  if (vm_release_of(sr, &rel) < 0) {
    json_object_put(o);
    return NULL;
  }
  memset(&in, 0, sizeof(in));
  in.release = rel.version[0] ? rel.version : NULL;
  in.spec = edv__srun_spec(sr);
  in.tier = t;
  in.project = edv__srun_project(sr);
  in.domain = edv__srun_domain(sr);
  in.db_host = edv__srun_fact(sr, "db_ip");
  in.db_instance = n.sql;
  in.secret = edv__srun_fact(sr, "secret");
  script = edv__render_startup(&in);
  if (!script) {
    json_object_put(o);
    edv__step_fail(sr, EDV_ENOMEM, "cannot render the startup script");
    return NULL;
  }
  json_object_object_add(o, "name", jstr(n.vm));
  mark(sr, EDV_KIND_VM, o);
  snprintf(buf, sizeof(buf), "zones/%s/machineTypes/%s", zone, t->machine_type);
  json_object_object_add(o, "machineType", jstr(buf));
  tags = json_object_new_object();
  json_object_object_add(tags, "items", jarr1(n.tag));
  json_object_object_add(o, "tags", tags);
  disks = json_object_new_array();
  disk = json_object_new_object();
  json_object_object_add(disk, "boot", json_object_new_boolean(1));
  json_object_object_add(disk, "autoDelete", json_object_new_boolean(1));
  json_object_object_add(disk, "deviceName", jstr(n.disk));
  ip = json_object_new_object();
  json_object_object_add(ip, "diskName", jstr(n.disk));
  json_object_object_add(ip, "sourceImage",
                         jstr(rel.image[0] ? rel.image : VM_STOCK_IMAGE));
  snprintf(buf, sizeof(buf), "%d", t->disk_gb);
  json_object_object_add(ip, "diskSizeGb", jstr(buf));
  snprintf(buf, sizeof(buf), "zones/%s/diskTypes/%s", zone, t->disk_type);
  json_object_object_add(ip, "diskType", jstr(buf));
  mark(sr, EDV_KIND_DISK, ip);
  json_object_object_add(disk, "initializeParams", ip);
  json_object_array_add(disks, disk);
  json_object_object_add(o, "disks", disks);
  nics = json_object_new_array();
  nic = json_object_new_object();
  /* No accessConfigs: no external IP. Egress goes through Cloud NAT. */
  snprintf(buf, sizeof(buf), "projects/%s/regions/%s/subnetworks/%s",
           edv__srun_project(sr), edv__srun_region(sr), n.subnet);
  json_object_object_add(nic, "subnetwork", jstr(buf));
  json_object_array_add(nics, nic);
  json_object_object_add(o, "networkInterfaces", nics);
  sas = json_object_new_array();
  sa = json_object_new_object();
  json_object_object_add(sa, "email", jstr(n.sa_email));
  json_object_object_add(sa, "scopes",
                         jarr1("https://www.googleapis.com/auth/"
                               "cloud-platform"));
  json_object_array_add(sas, sa);
  json_object_object_add(o, "serviceAccounts", sas);
  shield = json_object_new_object();
  json_object_object_add(shield, "enableSecureBoot",
                         json_object_new_boolean(1));
  json_object_object_add(shield, "enableVtpm", json_object_new_boolean(1));
  json_object_object_add(shield, "enableIntegrityMonitoring",
                         json_object_new_boolean(1));
  json_object_object_add(o, "shieldedInstanceConfig", shield);
  meta = json_object_new_object();
  items = json_object_new_array();
  meta_add(items, "startup-script", script);
  free(script);
  meta_add(items, "edv-tenant", edv__srun_spec(sr)->id);
  meta_add(items, EDV_META_TIER, t->name);
  snprintf(users, sizeof(users), "%d", t->max_users);
  meta_add(items, EDV_META_MAX_USERS, users);
  meta_add(items, "edv-hostname", n.host[0]);
  meta_add(items, "edv-db-instance", n.sql);
  meta_add(items, "edv-db-host", edv__srun_fact(sr, "db_ip"));
  meta_add(items, "edv-db-name", EDV_DB_NAME);
  meta_add(items, "edv-db-user", EDV_DB_USER);
  meta_add(items, "edv-db-secret", edv__srun_fact(sr, "secret"));
  meta_add(items, "enable-oslogin", "TRUE");
  vm_release_mark(o, items, &rel);
  json_object_object_add(meta, "items", items);
  json_object_object_add(o, "metadata", meta);
  return o;
}

static int vm_ready(edv__srun *sr, json_object *res)
{
  const char *st = edv__jstr(res, "status");

  /* TERMINATED goes on to verify, which starts it (after changing its
   * machine type when that is also wrong). */
  if (st && (strcmp(st, "RUNNING") == 0 || strcmp(st, "TERMINATED") == 0))
    return 1;
  if (st && strcmp(st, "SUSPENDED") == 0) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "VM '%s' is SUSPENDED; resume it or delete it to "
                   "re-create",
                   edv__jstr(res, "name"));
    return -1;
  }
  edv__step_info(sr, 0, "VM %s", st ? st : "starting");
  return 0;
}

static void vm_up(edv__srun *sr);

/* The resource path of one of the VM's verbs ("stop", "setMachineType"). */
static void vm_verb_path(edv__srun *sr, const char *verb, char *buf,
                         size_t size)
{
  names n;

  names_of(sr, &n);
  snprintf(buf, size, CP "/zones/%s/instances/%s/%s", edv__srun_project(sr),
           edv__srun_zone(sr), n.vm, verb);
}

static void vm_disk_seen(edv__srun *sr, json_object *disk, const edv_error *err)
{
  const edv__tier *t = edv__srun_tier(sr);
  int64_t have;
  json_object *body;
  edv__kind_ctx ctx;
  char path[512], gb[24], what[256];
  names n;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!disk) {
    edv__step_fail(sr, EDV_ENOTFOUND, "the VM's boot disk is missing");
    return;
  }
  names_of(sr, &n);
  have = edv__jint(disk, "sizeGb", 0);
  if (have > 0 && have < t->disk_gb) {
    if (!edv__step_repair_allowed(sr, "boot_disk", "the boot disk's size"))
      return;
    edv__step_info(sr, 1,
                   "scale: boot disk '%s' is %lld GB, the tier wants %d GB; "
                   "growing it",
                   n.disk, (long long)have, t->disk_gb);
    body = json_object_new_object();
    snprintf(gb, sizeof(gb), "%d", t->disk_gb);
    json_object_object_add(body, "sizeGb", jstr(gb));
    snprintf(path, sizeof(path), CP "/zones/%s/disks/%s/resize",
             edv__srun_project(sr), edv__srun_zone(sr), n.disk);
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                     "compute.disks.resize", vm_up);
    return;
  }
  if (have > t->disk_gb)
    /* Google Cloud cannot shrink a persistent disk: a downgrade keeps
     * the larger disk (and its cost) and says so. */
    edv__step_info(sr, 1,
                   "boot disk '%s' is %lld GB, larger than the tier's %d GB: "
                   "kept (a disk cannot shrink)",
                   n.disk, (long long)have, t->disk_gb);
  kind_ctx(sr, &ctx);
  if (edv__kind_disk_diff(&ctx, disk, &body, what, sizeof(what)) > 0 && body) {
    if (!edv__step_repair_allowed(sr, "disk_labels",
                                  "the boot disk's labels")) {
      json_object_put(body);
      return;
    }
    edv__step_info(sr, 1, "boot disk '%s': updating its labels in place: %s",
                   n.disk, what);
    snprintf(path, sizeof(path), CP "/zones/%s/disks/%s/setLabels",
             edv__srun_project(sr), edv__srun_zone(sr), n.disk);
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                     "compute.disks.setLabels", vm_up);
    return;
  }
  edv__step_done(sr, NULL);
}

/* The value of metadata item `key` of an observed VM, or NULL. */
static const char *vm_meta(json_object *vm, const char *key)
{
  json_object *items = edv__jget(vm, "metadata.items");

  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *k = edv__jstr(it, "key");

    if (k && strcmp(k, key) == 0)
      return edv__jstr(it, "value");
  }
  return NULL;
}

/*
 * The app finds its database in the VM's metadata (edv-db-instance,
 * edv-db-host, and the startup script's DB_HOST) and its release there
 * (edv-release, edv-release-image): after the tenant moved to another
 * Cloud SQL instance (a point-in-time restore clones one) or to another
 * release (a fleet update records it) they are set again (setMetadata with the
 * fingerprint: the whole metadata as vm_build makes it), then the VM is reset
 * so that the startup script writes the app's configuration again. The step's
 * record says which came last, so a crash between the two still resets. 1 when
 * a repair was started (or the step failed), 0 when nothing is to do.
 */
static int vm_db_repair(edv__srun *sr, json_object *res)
{
  const char *db = edv__srun_fact(sr, "sql_instance");
  const char *ip = edv__srun_fact(sr, "db_ip");
  const char *rec = edv__srun_recorded(sr);
  json_object *want, *body;
  char path[512];
  names n;

  edv__release_rec rel;
  const char *have_rel = vm_meta(res, "edv-release");
  int rel_differs;

  names_of(sr, &n);
  if (!db || !ip)
    return 0;
  /* The release recorded for the tenant (a fleet update changes it) is
   * what its metadata says too: the app reads it at its start. */
  if (edv__srun_release(sr, &rel, NULL) != 0)
    memset(&rel, 0, sizeof(rel));
  rel_differs =
      have_rel && strcmp(have_rel, rel.version[0] ? rel.version : "none") != 0;
  if (rel_differs ||
      strcmp(vm_meta(res, "edv-db-instance") ? vm_meta(res, "edv-db-instance")
                                             : "",
             db) != 0 ||
      strcmp(vm_meta(res, "edv-db-host") ? vm_meta(res, "edv-db-host") : "",
             ip) != 0) {
    if (!edv__step_repair_allowed(sr, "vm_metadata", "the VM's metadata"))
      return 1;
    want = vm_build(sr);
    if (!want)
      return 1;
    body = json_object_get(json_object_object_get(want, "metadata"));
    json_object_put(want);
    json_object_object_add(
        body, "fingerprint",
        jstr(edv__jstr(edv__jget(res, "metadata"), "fingerprint")
                 ? edv__jstr(edv__jget(res, "metadata"), "fingerprint")
                 : ""));
    if (rel_differs)
      edv__step_info(sr, 1,
                     "VM '%s' runs release %s; setting its metadata to %s",
                     n.vm, have_rel, rel.version[0] ? rel.version : "none");
    else
      edv__step_info(
          sr, 1, "VM '%s' points at database %s; setting its metadata to %s",
          n.vm,
          vm_meta(res, "edv-db-instance") ? vm_meta(res, "edv-db-instance")
                                          : "(none)",
          db);
    vm_verb_path(sr, "setMetadata", path, sizeof(path));
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                     "compute.instances.setMetadata", vm_up);
    return 1;
  }
  if (rec && strstr(rec, "/setMetadata") && !edv__srun_recorded_done(sr)) {
    if (!edv__step_repair_allowed(sr, "vm_reset", "the VM's restart"))
      return 1;
    edv__step_info(sr, 1, "VM '%s': resetting it to use database %s", n.vm, db);
    vm_verb_path(sr, "reset", path, sizeof(path));
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, NULL,
                     "compute.instances.reset", vm_up);
    return 1;
  }
  return 0;
}

/*
 * The VM runs with the tier's machine type, else it is repaired in parts,
 * each its own durable act followed by a new observation (so a crash
 * between any two resumes where the VM is): RUNNING with the wrong type ->
 * instances.stop; TERMINATED with the wrong type -> setMachineType;
 * TERMINATED with the right type -> instances.start. Then the boot disk
 * grows to the tier's size if it is smaller.
 */
static void vm_verify(edv__srun *sr, json_object *res)
{
  const char *st = edv__jstr(res, "status");
  json_object *body;
  edv__kind_ctx ctx;
  char what[256], path[512];
  names n;

  names_of(sr, &n);
  edv__srun_set_fact(sr, "vm_link", edv__jstr(res, "selfLink"));
  kind_ctx(sr, &ctx);
  if (edv__kind_vm_diff(&ctx, res, &body, what, sizeof(what)) > 0 && body &&
      !edv__jget(body, "machineType")) {
    /* Only its metadata or its labels: in place, the VM keeps running
     * (the app re-reads its environment: tenant/render.c's watcher). */
    int labels = edv__jget(body, "labels") != NULL;

    if (!edv__step_repair_allowed(sr, labels ? "vm_labels" : "vm_metadata",
                                  labels ? "the VM's labels"
                                         : "the VM's metadata")) {
      json_object_put(body);
      return;
    }
    edv__step_info(sr, 1, "VM '%s': updating its %s in place: %s", n.vm,
                   labels ? "labels" : "metadata", what);
    vm_verb_path(sr, labels ? "setLabels" : "setMetadata", path, sizeof(path));
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                     labels ? "compute.instances.setLabels"
                            : "compute.instances.setMetadata",
                     vm_up);
    return;
  }
  if (body) {
    if (!edv__step_repair_allowed(sr, "vm_type", "the VM's machine type")) {
      json_object_put(body);
      return;
    }
    if (st && strcmp(st, "TERMINATED") == 0) {
      edv__step_info(sr, 1, "drift: VM '%s': %s; setting the machine type",
                     n.vm, what);
      vm_verb_path(sr, "setMachineType", path, sizeof(path));
      edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, body,
                       "compute.instances.setMachineType", vm_up);
      return;
    }
    json_object_put(body);
    edv__step_info(sr, 1,
                   "drift: VM '%s': %s; stopping it to change the machine "
                   "type",
                   n.vm, what);
    vm_verb_path(sr, "stop", path, sizeof(path));
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, NULL,
                     "compute.instances.stop", vm_up);
    return;
  }
  if (st && strcmp(st, "TERMINATED") == 0) {
    if (!edv__step_repair_allowed(sr, "vm_start", "the VM's running state"))
      return;
    edv__step_info(sr, 1, "drift: VM '%s' is TERMINATED; starting it", n.vm);
    vm_verb_path(sr, "start", path, sizeof(path));
    edv__step_repair(sr, EDV_API_COMPUTE, "POST", path, NULL,
                     "compute.instances.start", vm_up);
    return;
  }
  if (vm_db_repair(sr, res))
    return;
  snprintf(path, sizeof(path), CP "/zones/%s/disks/%s", edv__srun_project(sr),
           edv__srun_zone(sr), n.disk);
  edv__step_get(sr, EDV_API_COMPUTE, path, vm_disk_seen);
}

static const edv__res vm_res = {
    .row = &edv__kinds[EDV_KIND_VM],
    .build = vm_build,
    .verify = vm_verify,
    .ready = vm_ready,
};

RES_UP(vm_up, vm_res, vm)

RES_DOWN(vm_down, vm_res, vm)

/* Suspension (deletion's grace): the VM stopped, its disks kept. */
static void vm_stop(edv__srun *sr);

static void vm_stop_sent(edv__srun *sr, json_object *op, const edv_error *err)
{
  (void)op;
  if (err)
    edv__step_done(sr, err);
  else
    vm_stop(sr); /* observe: done once TERMINATED */
}

static void vm_stop_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  const char *st = res ? edv__jstr(res, "status") : NULL;
  char path[512];

  if (err || !res || (st && strcmp(st, "TERMINATED") == 0)) {
    edv__step_done(sr, err);
    return;
  }
  if (edv__step_owned_labels(sr, res, "VM"))
    return;
  if (st && (strcmp(st, "STOPPING") == 0 || strcmp(st, "PROVISIONING") == 0 ||
             strcmp(st, "STAGING") == 0)) {
    edv__step_later(sr, edv__srun_poll_ms(sr), vm_stop);
    return;
  }
  vm_verb_path(sr, "stop", path, sizeof(path));
  edv__step_act(sr, EDV_API_COMPUTE, "POST", path, NULL,
                "compute.instances.stop", vm_stop_sent);
}

static void vm_stop(edv__srun *sr)
{
  names n;
  char path[512];

  names_of(sr, &n);
  snprintf(path, sizeof(path), CP "/zones/%s/instances/%s",
           edv__srun_project(sr), edv__srun_zone(sr), n.vm);
  edv__step_get(sr, EDV_API_COMPUTE, path, vm_stop_seen);
}

static void vm_leave(edv__srun *sr)
{
  if (edv__srun_suspending(sr))
    vm_stop(sr);
  else
    vm_down(sr);
}

/* ==== snapshot schedule =====================================================
 */

static json_object *policy_build(edv__srun *sr)
{
  names n;
  const edv__tier *t = edv__srun_tier(sr);
  json_object *o = json_object_new_object(), *ssp = json_object_new_object(),
              *sched = json_object_new_object(),
              *daily = json_object_new_object(),
              *ret = json_object_new_object(),
              *props = json_object_new_object();

  names_of(sr, &n);
  json_object_object_add(o, "name", jstr(n.policy));
  mark(sr, EDV_KIND_SNAPSHOT_POLICY, o);
  json_object_object_add(o, "region", jstr(edv__srun_region(sr)));
  json_object_object_add(daily, "daysInCycle", json_object_new_int(1));
  json_object_object_add(daily, "startTime", jstr(t->snapshot_start_time));
  json_object_object_add(sched, "dailySchedule", daily);
  json_object_object_add(ssp, "schedule", sched);
  json_object_object_add(ret, "maxRetentionDays",
                         json_object_new_int(t->snapshot_retention_days));
  json_object_object_add(ret, "onSourceDiskDelete",
                         jstr(t->snapshot_on_delete));
  json_object_object_add(ssp, "retentionPolicy", ret);
  json_object_object_add(props, "labels", edv__srun_labels(sr));
  json_object_object_add(props, "storageLocations",
                         jarr1(edv__srun_region(sr)));
  json_object_object_add(ssp, "snapshotProperties", props);
  json_object_object_add(o, "snapshotSchedulePolicy", ssp);
  return o;
}

/*
 * The schedule's retention, start and snapshot labels are the tier's, and
 * a resource policy cannot be changed: each tier's schedule has its own
 * name (edv__name_snapshot_policy), so a scale makes the new one
 * (edv__step_ensure_res), and this swaps it on the disk and deletes the
 * old. A disk takes one snapshot schedule, so the swap is: remove the old
 * from the disk, add the new, delete the old. Each call is its own act
 * followed by a new observation of the disk (or the region's list), so a
 * crash between any two resumes where the cloud is, and the end is the
 * same whatever the start: the tier's schedule, alone on the disk, and no
 * other schedule of ours in the region.
 */

static void policy_verify(edv__srun *sr, json_object *res);

/* 1 when `link` names a snapshot schedule of this tenant (our prefix;
 * what carries it on the tenant's own disk is ours) other than `want`. */
static int policy_stale(const names *n, const char *link, const char *want)
{
  char last[96];
  size_t pl = strlen(n->policy_prefix);

  edv__url_last_segment(link ? link : "", last, sizeof(last));
  return strncmp(last, n->policy_prefix, pl) == 0 &&
         (last[pl] == '\0' || last[pl] == '-') &&
         (!want || strcmp(last, want) != 0);
}

/* "projects/P/regions/R/resourcePolicies/NAME" (a disk's reference). */
static void policy_ref(edv__srun *sr, const char *name, char *buf, size_t size)
{
  snprintf(buf, size, "projects/%s/regions/%s/resourcePolicies/%s",
           edv__srun_project(sr), edv__srun_region(sr), name);
}

/* disks.addResourcePolicies or removeResourcePolicies of `refs` (an array,
 * consumed) on the tenant's disk, then `then` (an observation). */
static void policy_disk_act(edv__srun *sr, const char *verb, json_object *refs,
                            edv__step_json_fn then)
{
  names n;
  json_object *body = json_object_new_object();
  char path[512], label[64];

  names_of(sr, &n);
  json_object_object_add(body, "resourcePolicies", refs);
  snprintf(path, sizeof(path), CP "/zones/%s/disks/%s/%s",
           edv__srun_project(sr), edv__srun_zone(sr), n.disk, verb);
  snprintf(label, sizeof(label), "compute.disks.%s", verb);
  edv__step_act(sr, EDV_API_COMPUTE, "POST", path, body, label, then);
}

/* The region's schedules of ours, filtered by our prefix. */
static void policy_list(edv__srun *sr, edv__step_json_fn then)
{
  names n;
  char path[700];

  names_of(sr, &n);
  snprintf(path, sizeof(path),
           CP "/regions/%s/resourcePolicies?filter=name%%20eq%%20%%22%s.*%%22"
              "&maxResults=500",
           edv__srun_project(sr), edv__srun_region(sr), n.policy_prefix);
  edv__step_get(sr, EDV_API_COMPUTE, path, then);
}

/* The first listed schedule of ours (by name and description marker) that
 * is not `want`, or NULL. */
static const char *policy_next_stale(edv__srun *sr, json_object *list,
                                     const char *want)
{
  json_object *items = edv__jget(list, "items");
  char owner[EDV_TENANT_ID_MAX + 1];
  names n;

  names_of(sr, &n);
  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *name = edv__jstr(it, "name");

    if (policy_stale(&n, name, want) &&
        edv__kind_owner(&edv__kinds[EDV_KIND_SNAPSHOT_POLICY], it, owner,
                        sizeof(owner)) &&
        strcmp(owner, edv__srun_spec(sr)->id) == 0)
      return name;
  }
  return NULL;
}

/* DELETE one of our schedules by name, then `then` (an observation). */
static void policy_delete_named(edv__srun *sr, const char *name,
                                edv__step_json_fn then)
{
  char path[512];

  snprintf(path, sizeof(path), CP "/regions/%s/resourcePolicies/%s",
           edv__srun_project(sr), edv__srun_region(sr), name);
  edv__step_act(sr, EDV_API_COMPUTE, "DELETE", path, NULL,
                "compute.resourcePolicies.delete", then);
}

static void policy_up_listed(edv__srun *sr, json_object *list,
                             const edv_error *err);

static void policy_up_list(edv__srun *sr, json_object *res,
                           const edv_error *err)
{
  (void)res;
  if (err)
    edv__step_done(sr, err);
  else
    policy_list(sr, policy_up_listed);
}

/* The tier's schedule is on the disk: the old ones go, one by one. */
static void policy_up_listed(edv__srun *sr, json_object *list,
                             const edv_error *err)
{
  names n;
  const char *old;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  names_of(sr, &n);
  if (!(old = policy_next_stale(sr, list, n.policy))) {
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_info(sr, 1,
                 "snapshot schedule '%s' is no longer the tier's: "
                 "deleting it",
                 old);
  policy_delete_named(sr, old, policy_up_list);
}

static void policy_again(edv__srun *sr, json_object *res, const edv_error *err)
{
  (void)res;
  if (err)
    edv__step_done(sr, err);
  else
    policy_verify(sr, NULL);
}

static void policy_disk_seen(edv__srun *sr, json_object *disk,
                             const edv_error *err)
{
  names n;
  json_object *pols, *stale = NULL;
  char ref[512];
  int attached = 0;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!disk) {
    edv__step_fail(sr, EDV_ENOTFOUND, "the VM's boot disk is missing");
    return;
  }
  names_of(sr, &n);
  pols = edv__jget(disk, "resourcePolicies");
  for (size_t i = 0; i < edv__jarr_len(pols); i++) {
    const char *link =
        json_object_get_string(json_object_array_get_idx(pols, i));
    char last[96];

    edv__url_last_segment(link ? link : "", last, sizeof(last));
    attached |= strcmp(last, n.policy) == 0;
    if (policy_stale(&n, link, n.policy)) {
      if (!stale)
        stale = json_object_new_array();
      json_object_array_add(stale, json_object_new_string(link));
    }
  }
  if (stale) {
    /* First off the disk: it takes one snapshot schedule. */
    edv__step_info(sr, 1,
                   "scale: boot disk '%s': swapping its snapshot "
                   "schedule for '%s'",
                   n.disk, n.policy);
    policy_disk_act(sr, "removeResourcePolicies", stale, policy_again);
    return;
  }
  if (!attached) {
    policy_ref(sr, n.policy, ref, sizeof(ref));
    policy_disk_act(sr, "addResourcePolicies", jarr1(ref), policy_again);
    return;
  }
  policy_list(sr, policy_up_listed);
}

static void policy_verify(edv__srun *sr, json_object *res)
{
  names n;
  char path[512];

  (void)res;
  names_of(sr, &n);
  snprintf(path, sizeof(path), CP "/zones/%s/disks/%s", edv__srun_project(sr),
           edv__srun_zone(sr), n.disk);
  edv__step_get(sr, EDV_API_COMPUTE, path, policy_disk_seen);
}

static const edv__res policy_res = {
    .row = &edv__kinds[EDV_KIND_SNAPSHOT_POLICY],
    .build = policy_build,
    .verify = policy_verify,
};

RES_UP(policy_up, policy_res, policy)

static void policy_down(edv__srun *sr);

static void policy_down_again(edv__srun *sr, json_object *res,
                              const edv_error *err)
{
  (void)res;
  if (err)
    edv__step_done(sr, err);
  else
    policy_down(sr);
}

/* Every schedule of ours in the region goes (the tier's and any a crash
 * left mid-swap). */
static void policy_down_listed(edv__srun *sr, json_object *list,
                               const edv_error *err)
{
  const char *name;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!(name = policy_next_stale(sr, list, NULL))) {
    edv__step_done(sr, NULL);
    return;
  }
  policy_delete_named(sr, name, policy_down_again);
}

/* A policy attached to a disk cannot be deleted: detach ours first (the
 * disk itself goes with the VM, which this step runs before). */
static void policy_down_disk(edv__srun *sr, json_object *disk,
                             const edv_error *err)
{
  names n;
  json_object *pols, *ours = NULL;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  names_of(sr, &n);
  pols = edv__jget(disk, "resourcePolicies");
  for (size_t i = 0; i < edv__jarr_len(pols); i++) {
    const char *link =
        json_object_get_string(json_object_array_get_idx(pols, i));
    if (policy_stale(&n, link, NULL)) {
      if (!ours)
        ours = json_object_new_array();
      json_object_array_add(ours, json_object_new_string(link));
    }
  }
  if (ours)
    policy_disk_act(sr, "removeResourcePolicies", ours, policy_down_again);
  else
    policy_list(sr, policy_down_listed);
}

static void policy_down(edv__srun *sr)
{
  names n;
  char path[512];

  names_of(sr, &n);
  snprintf(path, sizeof(path), CP "/zones/%s/disks/%s", edv__srun_project(sr),
           edv__srun_zone(sr), n.disk);
  edv__step_get(sr, EDV_API_COMPUTE, path, policy_down_disk);
}

/* ==== instance group =========================================================
 */

static json_object *ig_build(edv__srun *sr)
{
  names n;
  json_object *o = json_object_new_object(), *ports, *p;
  char net[512];

  names_of(sr, &n);
  snprintf(net, sizeof(net), "projects/%s/global/networks/%s",
           edv__srun_project(sr), edv__srun_network(sr));
  json_object_object_add(o, "name", jstr(n.ig));
  mark(sr, EDV_KIND_INSTANCE_GROUP, o);
  json_object_object_add(o, "network", jstr(net));
  ports = json_object_new_array();
  p = json_object_new_object();
  json_object_object_add(p, "name", jstr("http"));
  json_object_object_add(p, "port", json_object_new_int(80));
  json_object_array_add(ports, p);
  json_object_object_add(o, "namedPorts", ports);
  return o;
}

static void ig_verify(edv__srun *sr, json_object *res);
static void ig_list(edv__srun *sr);

/* After addInstances: list the members again; DONE once the VM is one. */
static void ig_added(edv__srun *sr, json_object *res, const edv_error *err)
{
  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  *edv__srun_stage(sr) = 1;
  ig_list(sr);
}

static void ig_members(edv__srun *sr, json_object *res, const edv_error *err)
{
  names n;
  json_object *items, *body, *insts, *i1;
  char path[512];
  const char *vm = edv__srun_fact(sr, "vm_link");

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  names_of(sr, &n);
  items = edv__jget(res, "items");
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    char last[96];
    edv__url_last_segment(
        edv__jstr(json_object_array_get_idx(items, i), "instance"), last,
        sizeof(last));
    if (strcmp(last, n.vm) == 0) {
      edv__step_done(sr, NULL);
      return;
    }
  }
  if (*edv__srun_stage(sr) == 1) {
    edv__step_fail(sr, EDV_ENOTREADY,
                   "VM '%s' is not a member of instance group '%s' after "
                   "addInstances",
                   n.vm, n.ig);
    return;
  }
  body = json_object_new_object();
  insts = json_object_new_array();
  i1 = json_object_new_object();
  snprintf(path, sizeof(path), "projects/%s/zones/%s/instances/%s",
           edv__srun_project(sr), edv__srun_zone(sr), n.vm);
  json_object_object_add(i1, "instance", jstr(vm ? vm : path));
  json_object_array_add(insts, i1);
  json_object_object_add(body, "instances", insts);
  snprintf(path, sizeof(path), CP "/zones/%s/instanceGroups/%s/addInstances",
           edv__srun_project(sr), edv__srun_zone(sr), n.ig);
  edv__step_act(sr, EDV_API_COMPUTE, "POST", path, body,
                "compute.instanceGroups.addInstances", ig_added);
}

static void ig_verify(edv__srun *sr, json_object *res)
{
  edv__srun_set_fact(sr, "ig_link", edv__jstr(res, "selfLink"));
  ig_list(sr);
}

static void ig_list(edv__srun *sr)
{
  names n;
  char path[512];

  names_of(sr, &n);
  snprintf(path, sizeof(path), CP "/zones/%s/instanceGroups/%s/listInstances",
           edv__srun_project(sr), edv__srun_zone(sr), n.ig);
  edv__step_call(sr, EDV_API_COMPUTE, "POST", path, json_object_new_object(),
                 ig_members);
}

static const edv__res ig_res = {
    .row = &edv__kinds[EDV_KIND_INSTANCE_GROUP],
    .build = ig_build,
    .verify = ig_verify,
};

RES_UP(ig_up, ig_res, ig)

RES_DOWN(ig_down, ig_res, ig)

/* ==== backend service ========================================================
 */

static json_object *bes_build(edv__srun *sr)
{
  edv__kind_ctx ctx;

  kind_ctx(sr, &ctx);
  return edv__kind_bes_want(&ctx);
}

static void bes_up(edv__srun *sr);

/*
 * The backend service routes the tenant's traffic: a changed health check,
 * backend, protocol, port name or timeout is put back with one PATCH
 * carrying the fingerprint read (a race answers 412 and is observed
 * again): the kind's diff (tenant/kinds.c).
 */
static void bes_verify(edv__srun *sr, json_object *res)
{
  json_object *body;
  edv__kind_ctx ctx;
  char path[512], what[256];

  kind_ctx(sr, &ctx);
  if (edv__kind_bes_diff(&ctx, res, &body, what, sizeof(what)) == 0) {
    edv__srun_set_fact(sr, "backend_link", edv__jstr(res, "selfLink"));
    edv__step_done(sr, NULL);
    return;
  }
  if (!edv__step_repair_allowed(sr, "backend_service", "the backend service")) {
    json_object_put(body);
    return;
  }
  edv__step_info(sr, 1, "drift: backend service '%s': %s; restoring it",
                 edv__jstr(res, "name"), what);
  snprintf(path, sizeof(path), CP "/global/backendServices/%s",
           edv__srun_project(sr), edv__jstr(res, "name"));
  edv__step_repair(sr, EDV_API_COMPUTE, "PATCH", path, body,
                   "compute.backendServices.patch", bes_up);
}

static const edv__res bes_res = {
    .row = &edv__kinds[EDV_KIND_BACKEND_SERVICE],
    .build = bes_build,
    .verify = bes_verify,
};

RES_UP(bes_up, bes_res, bes)

RES_DOWN(bes_down, bes_res, bes)

/* ==== shared writers: URL map and DNS ========================================
 */

/* The writers call back with a plain (data, err): carry the step. */
static void shared_done(void *data, const edv_error *err)
{
  edv__step_done((edv__srun *)data, err);
}

/* The tenant's hosts, for the URL map writer. */
static void urlmap_hosts(const names *n, const char **hosts)
{
  for (int h = 0; h < 3; h++)
    hosts[h] = h < n->nhosts ? n->host[h] : NULL;
}

static void urlmap_seen(edv__srun *sr, json_object *map, const edv_error *err)
{
  names n;
  const char *hosts[3];
  const char *be = edv__srun_fact(sr, "backend_link");
  char path[512], what[256];
  edv__kind_ctx ctx;
  int result;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  names_of(sr, &n);
  urlmap_hosts(&n, hosts);
  kind_ctx(sr, &ctx);
  ctx.hosts = hosts;
  if (!map) {
    edv__step_fail(sr, EDV_ENOTFOUND,
                   "the platform's URL map '%s' is missing; run `edvctl "
                   "platform init`",
                   EDV_URLMAP_NAME);
    return;
  }
  if (!be && !edv__srun_planning(sr)) {
    /* NULL would ask the writer to remove the rule. */
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "no backend service link recorded for the URL map rule");
    return;
  }
  if (be && edv__kind_urlmap_diff(&ctx, map, NULL, what, sizeof(what)) == 0) {
    edv__step_done(sr, NULL);
    return;
  }
  /* The single writer reads the map again and puts the rule in (the
   * diff's patch would race other tenants' rules). */
  edv__step_info(sr, 1,
                 "drift: the URL map's host rule or path matcher for %s is "
                 "missing or differs (%s); restoring it",
                 n.host[0], be ? what : "no backend service yet");
  if (edv__srun_planning(sr)) {
    /* The writer's call, reported (a plan makes none). */
    snprintf(path, sizeof(path), CP "/global/urlMaps/%s", edv__srun_project(sr),
             EDV_URLMAP_NAME);
    edv__step_act(sr, EDV_API_COMPUTE, "PUT", path, NULL,
                  "compute.urlMaps.update", NULL);
    return;
  }
  result = edv__urlmap_set(edv__srun_fleet(sr), edv__srun_spec(sr)->id, hosts,
                           be, shared_done, sr);
  if (result)
    edv__step_fail(sr, (edv_code)result, "cannot queue the URL map change");
}

/*
 * The host rule and path matcher are the tenant's entry in the shared URL
 * map. The step reads the map itself first, so that a missing or changed
 * rule is journalled (and shown by a plan) before the single writer puts
 * it back; a map that already holds the rule costs one GET.
 */
static void urlmap_up(edv__srun *sr)
{
  char path[512];

  snprintf(path, sizeof(path), CP "/global/urlMaps/%s", edv__srun_project(sr),
           EDV_URLMAP_NAME);
  edv__step_get(sr, EDV_API_COMPUTE, path, urlmap_seen);
}

/* A plan of the way down (a suspended tenant's): the writer's removal is
 * reported when the map still holds the rule; nothing is written. */
static void urlmap_down_seen(edv__srun *sr, json_object *map,
                             const edv_error *err)
{
  char path[512];

  if (err && err->code != EDV_ENOTFOUND) {
    edv__step_done(sr, err);
    return;
  }
  if (!map || edv__urlmap_rule_ok(map, edv__srun_spec(sr)->id, NULL, NULL)) {
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_info(sr, 0,
                 "drift: the URL map still routes %s to its backend; "
                 "removing its host rule",
                 edv__srun_spec(sr)->id);
  snprintf(path, sizeof(path), CP "/global/urlMaps/%s", edv__srun_project(sr),
           EDV_URLMAP_NAME);
  edv__step_act(sr, EDV_API_COMPUTE, "PUT", path, NULL,
                "compute.urlMaps.update", NULL);
}

static void urlmap_down(edv__srun *sr)
{
  char path[512];
  int result;

  if (edv__srun_planning(sr)) {
    snprintf(path, sizeof(path), CP "/global/urlMaps/%s", edv__srun_project(sr),
             EDV_URLMAP_NAME);
    edv__step_get(sr, EDV_API_COMPUTE, path, urlmap_down_seen);
    return;
  }
  result = edv__urlmap_set(edv__srun_fleet(sr), edv__srun_spec(sr)->id, NULL,
                           NULL, shared_done, sr);
  if (result)
    edv__step_fail(sr, (edv_code)result, "cannot queue the URL map change");
}

/*
 * The A records. Cloud DNS record sets carry no labels, so what proves a
 * record ours is in our store: the dns_records step's record keeps
 * "dns-a created=<hosts> ips=<ip>[,<ip>...]", the values it writes
 * (recorded, durably, BEFORE a write: a crash after the write still knows
 * them) and which hosts' rrsets it created. A record at a tenant hostname
 * that the step did not create is never changed (the step fails naming
 * it, FAILED: someone else's www or mail); one it created is put back if
 * changed (drift); deprovisioning deletes only a record that still holds
 * a value we wrote (one someone changed or replaced is left in place and
 * journalled). A DONE record of a version before these claims was written
 * with the load balancer's address by that version: that is the claim.
 */
#define DNS_CLAIM  "dns-a"
#define DNS_MAXIPS 4

typedef struct dns_claim {
  unsigned created; /* bit h: we created host h's rrset */
  unsigned nips;
  char ips[DNS_MAXIPS][64];
} dns_claim;

static void claim_read(edv__srun *sr, unsigned nhosts, dns_claim *c)
{
  const char *r = edv__srun_recorded(sr), *p;
  const char *ip = edv__srun_fact(sr, "lb_ip");
  char buf[EDV_STORE_RES_SZ], *tok, *save = NULL;

  memset(c, 0, sizeof(*c));
  if (strncmp(r, DNS_CLAIM " ", strlen(DNS_CLAIM) + 1) != 0) {
    if (edv__srun_recorded_done(sr) && ip) {
      c->created = (1u << nhosts) - 1;
      snprintf(c->ips[c->nips++], sizeof(c->ips[0]), "%s", ip);
    }
    return;
  }
  if ((p = strstr(r, " created=")) != NULL)
    c->created = (unsigned)strtoul(p + 9, NULL, 10);
  if ((p = strstr(r, " ips=")) == NULL)
    return;
  snprintf(buf, sizeof(buf), "%s", p + 5);
  buf[strcspn(buf, " ")] = '\0';
  for (tok = strtok_r(buf, ",", &save); tok && c->nips < DNS_MAXIPS;
       tok = strtok_r(NULL, ",", &save))
    snprintf(c->ips[c->nips++], sizeof(c->ips[0]), "%s", tok);
}

static void claim_write(edv__srun *sr, const dns_claim *c)
{
  char buf[EDV_STORE_RES_SZ];
  size_t off;

  off = (size_t)snprintf(buf, sizeof(buf),
                         DNS_CLAIM " created=%u ips=", c->created);
  for (unsigned i = 0; i < c->nips && off < sizeof(buf); i++)
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
                            c->ips[i]);
  edv__srun_set_recorded(sr, buf);
}

/* The hosts' changes in flight (one per host, +1 guard). */
typedef struct dns_multi {
  edv__srun *sr;
  unsigned left;
  int remove;
  unsigned created; /* hosts whose rrset now holds our value */
  edv_error err;
} dns_multi;

typedef struct dns_host {
  dns_multi *m;
  int h;
} dns_host;

static void dns_multi_end(dns_multi *m)
{
  edv__srun *sr = m->sr;
  edv_error e = m->err;
  dns_claim c;
  names n;

  if (--m->left > 0)
    return;
  if (!m->remove) {
    names_of(sr, &n);
    claim_read(sr, (unsigned)n.nhosts, &c);
    c.created |= m->created;
    if (!e.code) {
      /* Every host holds the address now: that alone proves them ours. */
      c.nips = 1;
      snprintf(c.ips[0], sizeof(c.ips[0]), "%s", edv__srun_fact(sr, "lb_ip"));
    }
    claim_write(sr, &c);
  }
  free(m);
  edv__step_done(sr, e.code ? &e : NULL);
}

static void dns_host_done(void *data, const edv_error *err)
{
  dns_host *hc = data;
  dns_multi *m = hc->m;

  if (err && err->code == EDV_ENOTOWNED && m->remove) {
    /* Not ours (changed or replaced by someone): never deleted. */
    edv__step_info(m->sr, 1, "%s", err->message);
    err = NULL;
  }
  if (err && !m->err.code)
    m->err = *err;
  if (!err)
    m->created |= 1u << hc->h;
  free(hc);
  dns_multi_end(m);
}

/* Sets (or removes) one A rrset per host, as the claim allows. */
static void dns_hosts_write(edv__srun *sr, int remove)
{
  names n;
  dns_multi *m = calloc(1, sizeof(*m));
  const char *ip = edv__srun_fact(sr, "lb_ip");
  const char *zone = edv__srun_fact(sr, "dns_zone");
  const char *owned[DNS_MAXIPS + 1] = {NULL};
  dns_claim c;

  if (!m) {
    edv__step_fail(sr, EDV_ENOMEM, "out of memory");
    return;
  }
  names_of(sr, &n);
  claim_read(sr, (unsigned)n.nhosts, &c);
  for (unsigned i = 0; i < c.nips; i++)
    owned[i] = c.ips[i];
  m->sr = sr;
  m->remove = remove;
  m->left = (unsigned)n.nhosts + 1; /* +1 guard */
  for (int h = 0; h < n.nhosts; h++) {
    const char *rr[2] = {ip, NULL};
    edv__dns_own own = {owned, !remove && (c.created & (1u << h))};
    dns_host *hc = calloc(1, sizeof(*hc));
    if (!hc || edv__dns_set(edv__srun_fleet(sr), zone, n.fqdn[h], "A", 300,
                            remove ? NULL : rr, &own, dns_host_done, hc)) {
      free(hc);
      if (!m->err.code)
        edv_error_set(&m->err, EDV_ENOMEM, "cannot queue the DNS change");
      m->left--;
      continue;
    }
    hc->m = m;
    hc->h = h;
  }
  dns_multi_end(m);
}

static void dns_up_write(edv__srun *sr)
{
  dns_hosts_write(sr, 0);
}

static void dns_up(edv__srun *sr)
{
  names n;
  const char *ip = edv__srun_fact(sr, "lb_ip");
  dns_claim c;
  unsigned i;

  if (!ip || !edv__srun_fact(sr, "dns_zone")) {
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "DNS: no zone or load balancer IP recorded");
    return;
  }
  names_of(sr, &n);
  if (edv__srun_planning(sr)) {
    edv__step_info(sr, 0, "would ensure the A record(s) for %s", n.fqdn[0]);
    edv__step_done(sr, NULL);
    return;
  }
  claim_read(sr, (unsigned)n.nhosts, &c);
  for (i = 0; i < c.nips && strcmp(c.ips[i], ip) != 0; i++)
    ;
  if (i < c.nips) {
    dns_up_write(sr);
    return;
  }
  /* A value not recorded yet: recorded (durably) before it is written. */
  memmove(c.ips[1], c.ips[0],
          sizeof(c.ips[0]) * (c.nips < DNS_MAXIPS ? c.nips : DNS_MAXIPS - 1));
  snprintf(c.ips[0], sizeof(c.ips[0]), "%s", ip);
  if (c.nips < DNS_MAXIPS)
    c.nips++;
  claim_write(sr, &c);
  edv__step_record(sr, dns_up_write);
}

static void dns_down(edv__srun *sr)
{
  if (!edv__srun_fact(sr, "dns_zone")) {
    edv__step_fail(sr, EDV_EPRECONDITION, "DNS: no zone recorded");
    return;
  }
  if (edv__srun_planning(sr)) {
    edv__step_done(sr, NULL);
    return;
  }
  dns_hosts_write(sr, 1);
}

/* ==== DNS authorizations (+ their CNAMEs) ===================================
 */

static void auth_next(edv__srun *sr);

static json_object *auth_build(edv__srun *sr)
{
  names n;
  json_object *o = json_object_new_object();
  int h = *edv__srun_stage(sr);

  names_of(sr, &n);
  json_object_object_add(o, "domain", jstr(n.host[h]));
  mark(sr, EDV_KIND_DNS_AUTHORIZATION, o);
  return o;
}

static void auth_cname_done(void *data, const edv_error *err)
{
  edv__srun *sr = data;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  (*edv__srun_stage(sr))++;
  auth_next(sr);
}

static void auth_verify(edv__srun *sr, json_object *res)
{
  json_object *rec = edv__jget(res, "dnsResourceRecord");
  const char *name = edv__jstr(rec, "name"), *type = edv__jstr(rec, "type"),
             *data = edv__jstr(rec, "data");
  const char *rr[2] = {data, NULL};
  char key[64];
  int h = *edv__srun_stage(sr);

  if (!name || !type || !data) {
    /* Certificate Manager fills the record in shortly after create. */
    edv__step_later(sr, edv__srun_poll_ms(sr), auth_next);
    return;
  }
  snprintf(key, sizeof(key), "auth%d", h);
  edv__srun_set_fact(sr, key, edv__jstr(res, "name"));
  {
    names n;
    names_of(sr, &n);
    if (labels_repair(sr, EDV_KIND_DNS_AUTHORIZATION, res, n.auth[h],
                      auth_next))
      return;
  }
  if (edv__srun_planning(sr)) {
    auth_cname_done(sr, NULL);
    return;
  }
  /* The value is our own authorization's (labelled ours): a CNAME that
   * holds it is ours; one that holds anything else is not. */
  if (edv__dns_set(edv__srun_fleet(sr), edv__srun_fact(sr, "dns_zone"), name,
                   type, 300, rr, &(edv__dns_own){rr, 0}, auth_cname_done, sr))
    edv__step_fail(sr, EDV_ENOMEM, "cannot queue the DNS change");
}

static const edv__res auth_res = {
    .row = &edv__kinds[EDV_KIND_DNS_AUTHORIZATION],
    .build = auth_build,
    .verify = auth_verify,
};

static void auth_next(edv__srun *sr)
{
  names n;
  int h = *edv__srun_stage(sr);

  names_of(sr, &n);
  if (h >= n.nhosts) {
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_ensure_res(sr, &auth_res, n.auth[h]);
}

static void auth_up(edv__srun *sr)
{
  auth_next(sr);
}

/* Deprovisioning, per host: remove the challenge CNAME (it points at the
 * authorization), then delete the authorization. The stage is the host. */
static void auth_down_next(edv__srun *sr);

static void auth_down_deleted(edv__srun *sr, json_object *res,
                              const edv_error *err)
{
  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  (*edv__srun_stage(sr))++;
  auth_down_next(sr);
}

static void auth_down_delete(edv__srun *sr)
{
  names n;
  char path[512];

  names_of(sr, &n);
  snprintf(path, sizeof(path), CMP "/dnsAuthorizations/%s",
           edv__srun_project(sr), n.auth[*edv__srun_stage(sr)]);
  edv__step_act(sr, EDV_API_CERTIFICATEMANAGER, "DELETE", path, NULL,
                "certificatemanager.dnsAuthorizations.delete",
                auth_down_deleted);
}

static void auth_down_cname(void *data, const edv_error *err)
{
  edv__srun *sr = data;

  if (err && err->code == EDV_ENOTOWNED) {
    /* Not ours (changed or replaced by someone): never deleted. */
    edv__step_info(sr, 1, "%s", err->message);
    err = NULL;
  }
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  auth_down_delete(sr);
}

static void auth_down_seen(edv__srun *sr, json_object *res,
                           const edv_error *err)
{
  const char *nm, *data;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res) {
    (*edv__srun_stage(sr))++;
    auth_down_next(sr);
    return;
  }
  if (edv__step_owned_labels(sr, res, "DNS authorization") < 0)
    return;
  nm = edv__jstr(edv__jget(res, "dnsResourceRecord"), "name");
  data = edv__jstr(edv__jget(res, "dnsResourceRecord"), "data");
  if (!nm || !data || !edv__srun_fact(sr, "dns_zone")) {
    auth_down_delete(sr);
    return;
  }
  if (edv__dns_set(edv__srun_fleet(sr), edv__srun_fact(sr, "dns_zone"), nm,
                   "CNAME", 300, NULL,
                   &(edv__dns_own){(const char *const[]){data, NULL}, 0},
                   auth_down_cname, sr))
    edv__step_fail(sr, EDV_ENOMEM, "cannot queue the DNS change");
}

static void auth_down_next(edv__srun *sr)
{
  names n;
  char get[512];
  int h = *edv__srun_stage(sr);

  names_of(sr, &n);
  if (h >= n.nhosts) {
    edv__step_done(sr, NULL);
    return;
  }
  snprintf(get, sizeof(get), CMP "/dnsAuthorizations/%s", edv__srun_project(sr),
           n.auth[h]);
  edv__step_get(sr, EDV_API_CERTIFICATEMANAGER, get, auth_down_seen);
}

static void auth_down(edv__srun *sr)
{
  auth_down_next(sr);
}

/* ==== certificate ============================================================
 */

static json_object *cert_build(edv__srun *sr)
{
  names n;
  json_object *o = json_object_new_object(), *m = json_object_new_object(),
              *domains = json_object_new_array(),
              *auths = json_object_new_array();

  names_of(sr, &n);
  for (int h = 0; h < n.nhosts; h++) {
    char name[512];
    json_object_array_add(domains, jstr(n.host[h]));
    snprintf(name, sizeof(name),
             "projects/%s/locations/global/dnsAuthorizations/%s",
             edv__srun_project(sr), n.auth[h]);
    json_object_array_add(auths, jstr(name));
  }
  json_object_object_add(m, "domains", domains);
  json_object_object_add(m, "dnsAuthorizations", auths);
  json_object_object_add(o, "managed", m);
  mark(sr, EDV_KIND_CERTIFICATE, o);
  return o;
}

static int cert_ready(edv__srun *sr, json_object *res)
{
  const char *st = edv__jstr(edv__jget(res, "managed"), "state");

  if (st && strcmp(st, "ACTIVE") == 0)
    return 1;
  if (st && strcmp(st, "FAILED") == 0) {
    const char *why =
        edv__jstr(edv__jget(res, "managed.provisioningIssue"), "details");
    edv__step_fail(sr, EDV_EOPFAILED,
                   "certificate '%s' FAILED: %s (delete it and retry)",
                   edv__jstr(res, "name"), why ? why : "no details");
    return -1;
  }
  edv__step_info(sr, 0, "certificate %s", st ? st : "PROVISIONING");
  return 0;
}

static void cert_up(edv__srun *sr);

static void cert_verify(edv__srun *sr, json_object *res)
{
  names n;

  names_of(sr, &n);
  edv__srun_set_fact(sr, "cert_name", edv__jstr(res, "name"));
  if (labels_repair(sr, EDV_KIND_CERTIFICATE, res, n.cert, cert_up))
    return;
  edv__step_done(sr, NULL);
}

static const edv__res cert_res = {
    .row = &edv__kinds[EDV_KIND_CERTIFICATE],
    .build = cert_build,
    .verify = cert_verify,
    .ready = cert_ready,
};

RES_UP(cert_up, cert_res, cert)

RES_DOWN(cert_down, cert_res, cert)

/* ==== certificate map entries ================================================
 */

static void entry_next(edv__srun *sr);

/* The diff's context of the entries: the tenant's hostnames in hosts. */
static void entry_ctx(edv__srun *sr, names *n, const char **hosts,
                      edv__kind_ctx *ctx)
{
  names_of(sr, n);
  urlmap_hosts(n, hosts);
  kind_ctx(sr, ctx);
  ctx->hosts = hosts;
}

static json_object *entry_build(edv__srun *sr)
{
  names n;
  const char *hosts[3];
  edv__kind_ctx ctx;
  json_object *o;

  entry_ctx(sr, &n, hosts, &ctx);
  o = edv__kind_entry_want(&ctx, (unsigned)*edv__srun_stage(sr));
  mark(sr, EDV_KIND_CERT_MAP_ENTRY, o);
  return o;
}

static void entry_verified(edv__srun *sr, json_object *res);
/* The path of the h-th entry (its row's template). */
static void entry_path(edv__srun *sr, int h, char *get, size_t gs)
{
  names n;

  names_of(sr, &n);
  if (edv__res_path(sr, edv__kinds[EDV_KIND_CERT_MAP_ENTRY].path, n.entry[h],
                    get, gs))
    get[0] = '\0';
}

static const edv__res entry_res = {
    .row = &edv__kinds[EDV_KIND_CERT_MAP_ENTRY],
    .build = entry_build,
    .verify = entry_verified,
};

static void entry_next(edv__srun *sr)
{
  names n;
  int h = *edv__srun_stage(sr);

  names_of(sr, &n);
  if (h >= n.nhosts) {
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_ensure_res(sr, &entry_res, n.entry[h]);
}

static void entry_up(edv__srun *sr)
{
  entry_next(sr);
}

/*
 * An entry serves one hostname with the tenant's certificate: another
 * certificate is put back with one certificateMapEntries.patch
 * (updateMask=certificates). The step's stage (the host) is kept, so
 * observing again looks at the same entry.
 */
static void entry_verified(edv__srun *sr, json_object *res)
{
  names n;
  const char *hosts[3];
  edv__kind_ctx ctx;
  json_object *body;
  char get[512], path[600], key[64], what[256];
  int h = *edv__srun_stage(sr), d;

  entry_ctx(sr, &n, hosts, &ctx);
  d = edv__kind_entry_diff(&ctx, res, &body, what, sizeof(what));
  if (d == 0) {
    (*edv__srun_stage(sr))++;
    entry_next(sr);
    return;
  }
  if (!body) {
    /* The hostname is the entry's identity (gcloud cannot update it):
     * nothing is taken over or guessed. */
    edv__step_fail(sr, EDV_EPRECONDITION,
                   "certificate map entry '%s': %s; delete it and it is "
                   "re-created",
                   n.entry[h], d < 0 ? "not the tenant's" : what);
    return;
  }
  snprintf(key, sizeof(key), "cert_map_entry%d", h);
  if (!edv__step_repair_allowed(sr, key, "the certificate map entry")) {
    json_object_put(body);
    return;
  }
  edv__step_info(sr, 1, "drift: certificate map entry '%s': %s; restoring it",
                 n.entry[h], what);
  entry_path(sr, h, get, sizeof(get));
  /* The mask: the fields the patch carries (certificates, labels). */
  snprintf(path, sizeof(path), "%s?updateMask=%s%s%s", get,
           edv__jget(body, "certificates") ? "certificates" : "",
           edv__jget(body, "certificates") && edv__jget(body, "labels") ? ","
                                                                        : "",
           edv__jget(body, "labels") ? "labels" : "");
  edv__step_repair(sr, EDV_API_CERTIFICATEMANAGER, "PATCH", path, body,
                   "certificatemanager.certificateMapEntries.patch",
                   entry_next);
}

static void entry_down_next(edv__srun *sr, json_object *res,
                            const edv_error *err);

static void entry_down_go(edv__srun *sr)
{
  names n;
  char get[512];
  int h = *edv__srun_stage(sr);

  names_of(sr, &n);
  if (h >= n.nhosts) {
    edv__step_done(sr, NULL);
    return;
  }
  entry_path(sr, h, get, sizeof(get));
  edv__step_get(sr, EDV_API_CERTIFICATEMANAGER, get, entry_down_next);
}

static void entry_deleted(edv__srun *sr, json_object *res, const edv_error *err)
{
  (void)res;
  if (err) {
    edv__step_done(sr, err);
    return;
  }
  (*edv__srun_stage(sr))++;
  entry_down_go(sr);
}

static void entry_down_next(edv__srun *sr, json_object *res,
                            const edv_error *err)
{
  char get[512];

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  if (!res) {
    (*edv__srun_stage(sr))++;
    entry_down_go(sr);
    return;
  }
  if (edv__step_owned_labels(sr, res, "certificate map entry") < 0)
    return;
  entry_path(sr, *edv__srun_stage(sr), get, sizeof(get));
  edv__step_act(sr, EDV_API_CERTIFICATEMANAGER, "DELETE", get, NULL,
                "certificatemanager.certificateMapEntries.delete",
                entry_deleted);
}

static void entry_down(edv__srun *sr)
{
  entry_down_go(sr);
}

/* ==== health
 * =================================================================== */

static void health_poll(edv__srun *sr);

static void health_seen(edv__srun *sr, json_object *res, const edv_error *err)
{
  json_object *st;
  unsigned healthy = 0, total = 0;

  if (err) {
    edv__step_done(sr, err);
    return;
  }
  st = edv__jget(res, "healthStatus");
  for (size_t i = 0; st && i < json_object_array_length(st); i++) {
    const char *h = edv__jstr(json_object_array_get_idx(st, i), "healthState");
    total++;
    if (h && strcmp(h, "HEALTHY") == 0)
      healthy++;
  }
  if (total > 0 && healthy == total) {
    edv__step_info(sr, 1, "backend HEALTHY");
    edv__step_done(sr, NULL);
    return;
  }
  edv__step_info(sr, 0, "waiting for the backend to become HEALTHY (%u/%u)",
                 healthy, total);
  edv__step_later(sr, edv__srun_poll_ms(sr), health_poll);
}

static void health_poll(edv__srun *sr)
{
  names n;
  char path[512], group[512];
  json_object *body;

  if (edv__srun_planning(sr)) {
    edv__step_done(sr, NULL);
    return;
  }
  body = json_object_new_object();
  names_of(sr, &n);
  snprintf(group, sizeof(group), "projects/%s/zones/%s/instanceGroups/%s",
           edv__srun_project(sr), edv__srun_zone(sr), n.ig);
  json_object_object_add(body, "group",
                         jstr(edv__srun_fact(sr, "ig_link")
                                  ? edv__srun_fact(sr, "ig_link")
                                  : group));
  snprintf(path, sizeof(path), CP "/global/backendServices/%s/getHealth",
           edv__srun_project(sr), n.bes);
  edv__step_call(sr, EDV_API_COMPUTE, "POST", path, body, health_seen);
}

/* ==== registration
 * ============================================================= */

static void registration_up(edv__srun *sr)
{
  const edv__tier *t = edv__srun_tier(sr);
  char apps[512] = "";
  size_t off = 0;

  for (size_t i = 0; i < t->napps && off < sizeof(apps); i++)
    off += (size_t)snprintf(apps + off, sizeof(apps) - off, "%s%s",
                            i ? "," : "", t->app_access[i]);
  /* The tier's licences and app access, recorded in the journal (the
   * tenant's history) and shown by `tenant get`. */
  edv__step_info(sr, 1, "registered: tier %s, %d licences, apps %s", t->name,
                 t->max_users, apps);
  edv__step_done(sr, NULL);
}

/* ==== the plan
 * ================================================================= */

const edv__step_def edv__tenant_steps[] = {
    {"preflight",
     "Region, zone and platform checks",
     {NULL},
     preflight_up,
     NULL,
     EDV_STEP_FIRST},
    {"subnet", "Subnet", {NULL}, subnet_up, subnet_down, 0},
    {"firewall_allow",
     "Firewall: load balancer to VM",
     {NULL},
     fw_allow_up,
     fw_allow_down,
     0},
    {"firewall_deny",
     "Firewall: deny other ingress",
     {NULL},
     fw_deny_up,
     fw_deny_down,
     0},
    {"firewall_ops",
     "Firewall: operations SSH through IAP",
     {NULL},
     fw_ops_up,
     fw_ops_down,
     0},
    {"firewall_db_deny",
     "Firewall: no egress to other databases",
     {NULL},
     fw_db_deny_up,
     fw_db_deny_down,
     0},
    {"firewall_db_allow",
     "Firewall: egress to its own database",
     {"sql_instance"},
     fw_db_allow_up,
     fw_db_allow_down,
     0},
    {"service_account", "Service account", {NULL}, sa_up, sa_down, 0},
    {"project_roles",
     "Service account's project roles",
     {"service_account"},
     edv__project_roles_up,
     edv__project_roles_down,
     0},
    {"region_nat",
     "Cloud Router + NAT of the region",
     {NULL},
     edv__region_nat_up,
     edv__region_nat_down,
     0},
    {"db_secret",
     "DB password secret",
     {"service_account"},
     secret_up,
     secret_down,
     0},
    {"sql_instance",
     "Cloud SQL instance",
     {NULL},
     sql_up,
     sql_down,
     EDV_STEP_KEEP},
    {"sql_restore",
     "Data from the final backup",
     {"sql_instance"},
     restore_up,
     NULL,
     0},
    {"sql_database", "Database", {"sql_restore"}, sqldb_up, NULL, 0},
    {"sql_user",
     "Database user",
     {"sql_database", "db_secret"},
     sqluser_up,
     NULL,
     0},
    {"vm",
     "VM",
     {"subnet", "firewall_allow", "firewall_deny", "project_roles", "sql_user",
      "firewall_db_deny", "firewall_db_allow", "region_nat"},
     vm_up,
     vm_leave,
     EDV_STEP_SUSPEND},
    {"snapshot_policy", "Snapshot schedule", {"vm"}, policy_up, policy_down, 0},
    {"instance_group", "Instance group", {"vm"}, ig_up, ig_down, 0},
    {"backend_service",
     "Backend service",
     {"instance_group"},
     bes_up,
     bes_down,
     0},
    {"url_map_rule",
     "URL map host rule",
     {"backend_service"},
     urlmap_up,
     urlmap_down,
     EDV_STEP_SUSPEND},
    {"dns_records", "DNS records", {NULL}, dns_up, dns_down, EDV_STEP_SUSPEND},
    {"dns_authorization", "DNS authorization", {NULL}, auth_up, auth_down, 0},
    {"certificate",
     "TLS certificate",
     {"dns_authorization", "dns_records"},
     cert_up,
     cert_down,
     0},
    {"cert_map_entry",
     "Certificate map entry",
     {"certificate"},
     entry_up,
     entry_down,
     0},
    {"health",
     "Backend health",
     {"url_map_rule", "cert_map_entry"},
     health_poll,
     NULL,
     0},
    {"registration", "Registration", {"health"}, registration_up, NULL, 0},
};
const unsigned edv__tenant_nsteps =
    sizeof(edv__tenant_steps) / sizeof(*edv__tenant_steps);
