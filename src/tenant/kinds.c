/*
 * kinds.c - the table of a tenant's resource kinds (tenant/kinds.h), their
 * names, ownership and the pure diffs of the kinds whose settings are
 * verified.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "tenant/kinds.h"
#include "tenant/vmswap.h"
#include "tenant/steps.h"
#include "tenant/subnet.h"

/* ---- names ---------------------------------------------------------------*/

/* A kind with one name, a function of the tenant id. */
#define NAME_BY_ID(fn, namer)                                                  \
  static int fn(const edv__kind_who *w, unsigned i, char *buf, size_t size)    \
  {                                                                            \
    return i ? EDV_ENOTFOUND : namer(w->id, buf, size);                        \
  }
NAME_BY_ID(name_subnet, edv__name_subnet)
NAME_BY_ID(name_secret, edv__name_secret)

/* The VM and its boot disk: the serving generation's (tenant/vmswap.h). */
static int name_vm(const edv__kind_who *w, unsigned i, char *buf, size_t size)
{
  return i ? EDV_ENOTFOUND
           : edv__vmgen_names(w->id, w->vm_generation, buf, size, NULL, 0);
}

static int name_disk(const edv__kind_who *w, unsigned i, char *buf, size_t size)
{
  return i ? EDV_ENOTFOUND
           : edv__vmgen_names(w->id, w->vm_generation, NULL, 0, buf, size);
}
NAME_BY_ID(name_ig, edv__name_instance_group)
NAME_BY_ID(name_bes, edv__name_backend_service)
NAME_BY_ID(name_cert, edv__name_certificate)

/* One firewall rule of the tenant. */
#define NAME_FW(fn, fwkind)                                                    \
  static int fn(const edv__kind_who *w, unsigned i, char *buf, size_t size)    \
  {                                                                            \
    return i ? EDV_ENOTFOUND : edv__name_firewall(w->id, fwkind, buf, size);   \
  }
NAME_FW(name_fw_allow_lb, EDV_FIREWALL_ALLOW_LB)
NAME_FW(name_fw_deny_ingress, EDV_FIREWALL_DENY_INGRESS)
NAME_FW(name_fw_ops_ssh, EDV_FIREWALL_OPS_SSH)
NAME_FW(name_fw_deny_db, EDV_FIREWALL_DENY_DB)
NAME_FW(name_fw_allow_db, EDV_FIREWALL_ALLOW_DB)

static int name_sa(const edv__kind_who *w, unsigned i, char *buf, size_t size)
{
  return i ? EDV_ENOTFOUND
           : edv__name_service_account_email(w->id, w->project, buf, size);
}

/* The member the project's IAM policy names the tenant's account by. */
static int name_sa_member(const edv__kind_who *w, unsigned i, char *buf,
                          size_t size)
{
  char email[256];
  int n;

  if (i)
    return EDV_ENOTFOUND;
  if (edv__name_service_account_email(w->id, w->project, email, sizeof(email)))
    return EDV_EINVAL;
  n = snprintf(buf, size, "serviceAccount:%s", email);
  return n < 0 || (size_t)n >= size ? EDV_EINVAL : 0;
}

static int name_policy(const edv__kind_who *w, unsigned i, char *buf,
                       size_t size)
{
  if (i)
    return EDV_ENOTFOUND;
  return w->tier ? edv__name_snapshot_policy(w->id, w->tier, buf, size)
                 : EDV_ENOTFOUND;
}

static int name_sql(const edv__kind_who *w, unsigned i, char *buf, size_t size)
{
  return i ? EDV_ENOTFOUND
           : edv__name_sql_instance(w->id, w->generation, buf, size);
}

static int name_fixed(const char *name, unsigned i, char *buf, size_t size)
{
  if (i)
    return EDV_ENOTFOUND;
  return (size_t)snprintf(buf, size, "%s", name) < size ? 0 : EDV_EINVAL;
}

static int name_db(const edv__kind_who *w, unsigned i, char *buf, size_t size)
{
  (void)w;
  return name_fixed(EDV_DB_NAME, i, buf, size);
}

static int name_user(const edv__kind_who *w, unsigned i, char *buf, size_t size)
{
  (void)w;
  return name_fixed(EDV_DB_USER, i, buf, size);
}

/* The tenant's entry in the shared URL map: its host rule is for its
 * primary hostname. */
static int name_hosts(const edv__kind_who *w, unsigned i, char *buf,
                      size_t size)
{
  edv__tenant_spec s;

  memset(&s, 0, sizeof(s));
  if (!w->slug || strlen(w->id) >= sizeof(s.id) ||
      strlen(w->slug) >= sizeof(s.slug))
    return EDV_EINVAL;
  memcpy(s.id, w->id, strlen(w->id) + 1);
  memcpy(s.slug, w->slug, strlen(w->slug) + 1);
  if (i == 0)
    return edv__name_dns_primary(&s, w->domain, buf, size);
  if (i == 1 && edv__spec_has_alias(&s))
    return edv__name_dns_alias(&s, w->domain, buf, size);
  return EDV_ENOTFOUND;
}

/* The per-host kinds: one per hostname (primary, then the alias). */
static int host_count(const edv__kind_who *w)
{
  return w->slug && *w->slug && strcmp(w->slug, w->id) != 0 ? 2 : 1;
}

static int name_auth(const edv__kind_who *w, unsigned i, char *buf, size_t size)
{
  return (int)i >= host_count(w)
             ? EDV_ENOTFOUND
             : edv__name_dns_authorization(w->id, (edv__host_kind)i, buf, size);
}

static int name_entry(const edv__kind_who *w, unsigned i, char *buf,
                      size_t size)
{
  return (int)i >= host_count(w)
             ? EDV_ENOTFOUND
             : edv__name_cert_map_entry(w->id, (edv__host_kind)i, buf, size);
}

/* ---- builds --------------------------------------------------------------*/

/* One firewall rule of the tenant (edv__kind_fw_rule). */
#define BUILD_FW(fn, fwkind)                                                   \
  static json_object *fn(const edv__kind_ctx *ctx, unsigned i, edv_error *err) \
  {                                                                            \
    (void)i;                                                                   \
    if (!ctx->tenant || !ctx->project || !ctx->network) {                      \
      edv_error_set(err, EDV_EINVAL,                                           \
                    "firewall rule: cannot build its create body: no tenant, " \
                    "project or network");                                     \
      return NULL;                                                             \
    }                                                                          \
    return edv__kind_fw_rule(ctx, fwkind);                                     \
  }
BUILD_FW(build_fw_allow_lb, EDV_FIREWALL_ALLOW_LB)
BUILD_FW(build_fw_deny_ingress, EDV_FIREWALL_DENY_INGRESS)
BUILD_FW(build_fw_ops_ssh, EDV_FIREWALL_OPS_SSH)
BUILD_FW(build_fw_deny_db, EDV_FIREWALL_DENY_DB)
BUILD_FW(build_fw_allow_db, EDV_FIREWALL_ALLOW_DB)

/* ---- the table -----------------------------------------------------------*/

#define CPT  EDV_KIND_CPT
#define SQLT EDV_KIND_SQLT
#define CMT  EDV_KIND_CMT

/* The drift pass's list queries: label filters in each API's syntax
 * (URL-encoded), at each API's largest page. Firewall rules and
 * subnetworks take no labels: our name prefix. */
#define FW_QUERY "filter=name%20eq%20%22edv-.*%22&maxResults=500"
#define VM_QUERY                                                               \
  "filter=labels." EDV_LABEL_MANAGED "%20eq%20%22true%22&maxResults=500"
#define SQL_QUERY                                                              \
  "filter=settings.userLabels." EDV_LABEL_MANAGED "%3Atrue&maxResults=1000"
#define CM_QUERY                                                               \
  "filter=labels." EDV_LABEL_MANAGED "%3D%22true%22&pageSize=1000"

#define FW_ROW(kid, step_, namer, builder, view_)                              \
  [kid] = {                                                                    \
      .id = step_,                                                             \
      .title = "firewall rule",                                                \
      .step = step_,                                                           \
      .api = EDV_API_COMPUTE,                                                  \
      .path = CPT "/global/firewalls/{N}",                                     \
      .list = CPT "/global/firewalls",                                         \
      .list_query = FW_QUERY,                                                  \
      .list_label = "compute.firewalls.list",                                  \
      .remove = "compute.firewalls.delete",                                    \
      .create = CPT "/global/firewalls",                                       \
      .create_label = "compute.firewalls.insert",                              \
      .own = EDV_OWN_DESC,                                                     \
      .marks = EDV_MARK_DESC,                                                  \
      .view = view_,                                                           \
      .view_list = 1,                                                          \
      .name = namer,                                                           \
      .build = builder,                                                        \
      .diff = edv__kind_fw_diff,                                               \
      .compares = "priority, direction, ranges, targets, protocols and "       \
                  "ports, enabled",                                            \
  }

const edv__kind edv__kinds[EDV_KIND__COUNT] = {
    [EDV_KIND_SUBNET] =
        {
            .id = "subnet",
            .title = "subnetwork",
            .step = "subnet",
            .api = EDV_API_COMPUTE,
            .path = CPT "/regions/{R}/subnetworks/{N}",
            .list = CPT "/aggregated/subnetworks",
            .list_query = FW_QUERY,
            .list_label = "compute.subnetworks.aggregatedList",
            .remove = "compute.subnetworks.delete",
            .create = CPT "/regions/{R}/subnetworks",
            .create_label = "compute.subnetworks.insert",
            .own = EDV_OWN_DESC,
            .marks = EDV_MARK_DESC,
            .view = "subnetwork",
            .name = name_subnet,
            .build = edv__kind_build_subnet,
            .diff = edv__kind_subnet_diff,
            .compares = "range, private Google access",
        },
    /* The rules the tenant document shows are the ingress pair. */
    FW_ROW(EDV_KIND_FW_ALLOW_LB, "firewall_allow", name_fw_allow_lb,
           build_fw_allow_lb, "firewalls"),
    FW_ROW(EDV_KIND_FW_DENY_INGRESS, "firewall_deny", name_fw_deny_ingress,
           build_fw_deny_ingress, "firewalls"),
    FW_ROW(EDV_KIND_FW_OPS_SSH, "firewall_ops", name_fw_ops_ssh,
           build_fw_ops_ssh, NULL),
    FW_ROW(EDV_KIND_FW_DENY_DB, "firewall_db_deny", name_fw_deny_db,
           build_fw_deny_db, NULL),
    FW_ROW(EDV_KIND_FW_ALLOW_DB, "firewall_db_allow", name_fw_allow_db,
           build_fw_allow_db, NULL),
    [EDV_KIND_SERVICE_ACCOUNT] =
        {
            .id = "service_account",
            .title = "service account",
            .step = "service_account",
            .api = EDV_API_IAM,
            .path = "/v1/projects/{P}/serviceAccounts/{N}",
            .list = "/v1/projects/{P}/serviceAccounts",
            .remove = "iam.projects.serviceAccounts.delete",
            .create = "/v1/projects/{P}/serviceAccounts",
            .create_label = "iam.projects.serviceAccounts.create",
            .own = EDV_OWN_DESC,
            .marks = EDV_MARK_DESC,
            .view = "service_account",
            .name = name_sa,
            .build = edv__kind_build_sa,
            .no_diff = "its display name is for people only; what matters "
                       "of it is its owner's marker (the ownership test "
                       "reads it) and its roles (project_roles' diff)",
        },
    [EDV_KIND_SECRET] =
        {
            .id = "secret",
            .title = "secret",
            .step = "db_secret",
            .api = EDV_API_SECRETMANAGER,
            .path = "/v1/projects/{P}/secrets/{N}",
            .list = "/v1/projects/{P}/secrets",
            .remove = "secretmanager.secrets.delete",
            .create = "/v1/projects/{P}/secrets?secretId={N}",
            .create_label = "secretmanager.secrets.create",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_LABELS,
            .labels_at = "labels",
            .view = "secret",
            .name = name_secret,
            .build = edv__kind_build_secret,
            .diff = edv__kind_labels_diff,
            .compares = "tier label",
        },
    [EDV_KIND_SQL_INSTANCE] =
        {
            .id = "sql_instance",
            .title = "Cloud SQL instance",
            .step = "sql_instance",
            .api = EDV_API_SQLADMIN,
            .path = SQLT "/instances/{N}",
            .list = SQLT "/instances",
            .list_query = SQL_QUERY,
            .list_label = "sql.instances.list",
            .remove = "sql.instances.delete",
            .create = SQLT "/instances",
            .create_label = "sql.instances.insert",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_LABELS,
            .labels_at = "settings.userLabels",
            .view = "sql_instance",
            .name = name_sql,
            .build = edv__kind_build_sql,
            .diff = edv__kind_sql_diff,
            .compares = "tier, access, availability, storage, backups, tier "
                        "label",
        },
    /* Inside the tenant's own instance ({N} is the instance, which
     * messages name after the title). */
    [EDV_KIND_SQL_DATABASE] =
        {
            .id = "sql_database",
            .title = "database '" EDV_DB_NAME "' in instance",
            .step = "sql_database",
            .api = EDV_API_SQLADMIN,
            .path = SQLT "/instances/{N}/databases/" EDV_DB_NAME,
            .list = SQLT "/instances/{N}/databases",
            .create = SQLT "/instances/{N}/databases",
            .create_label = "sql.databases.insert",
            .own = EDV_OWN_NONE,
            .name = name_db,
            .build = edv__kind_build_db,
            .no_diff = "its name and character set are its identity (set "
                       "at create, not changed in place): existence is "
                       "what its step checks",
        },
    [EDV_KIND_SQL_USER] =
        {
            .id = "sql_user",
            .title = "database user",
            .step = "sql_user",
            .api = EDV_API_SQLADMIN,
            .path = NULL, /* users are listed, never read one by one */
            .list = SQLT "/instances/{N}/users",
            .own = EDV_OWN_NONE,
            .name = name_user,
            .build = edv__kind_build_user,
            .no_diff = "its one setting is its password, which Cloud SQL "
                       "never shows: the step sets it again from each new "
                       "secret version (the version is recorded)",
        },
    [EDV_KIND_VM] =
        {
            .id = "vm",
            .title = "VM",
            .compares = "machine type, running, display name, tier metadata, "
                        "tier label",
            .step = "vm",
            .api = EDV_API_COMPUTE,
            .path = CPT "/zones/{Z}/instances/{N}",
            .list = CPT "/aggregated/instances",
            .list_query = VM_QUERY,
            .list_label = "compute.instances.aggregatedList",
            .remove = "compute.instances.delete",
            .create = CPT "/zones/{Z}/instances",
            .create_label = "compute.instances.insert",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_DESC | EDV_MARK_LABELS,
            .labels_at = "labels",
            .view = "vm",
            .name = name_vm,
            .diff = edv__kind_vm_diff,
            .no_build = "built by its step (edv__vm_body, tenant/"
                        "steps_tenant.c): the body needs the tenant's "
                        "release, its database's address and secret and the "
                        "startup script rendered from the spec, which the "
                        "run has and a row's context does not",
        },
    /* The VM's boot disk: made with it, deleted with it (autoDelete). */
    [EDV_KIND_DISK] =
        {
            .id = "disk",
            .title = "boot disk",
            .compares = "tier label",
            .step = "vm",
            .api = EDV_API_COMPUTE,
            .path = CPT "/zones/{Z}/disks/{N}",
            .list = CPT "/aggregated/disks",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_LABELS,
            .labels_at = "labels",
            .view = "disk",
            .name = name_disk,
            .diff = edv__kind_disk_diff,
            .no_build = "made inside the VM's body (its boot disk's "
                        "initializeParams)",
        },
    [EDV_KIND_SNAPSHOT_POLICY] =
        {
            .id = "snapshot_policy",
            .title = "snapshot schedule",
            .step = "snapshot_policy",
            .api = EDV_API_COMPUTE,
            .path = CPT "/regions/{R}/resourcePolicies/{N}",
            .list = CPT "/regions/{R}/resourcePolicies",
            .remove = "compute.resourcePolicies.delete",
            .create = CPT "/regions/{R}/resourcePolicies",
            .create_label = "compute.resourcePolicies.insert",
            .own = EDV_OWN_DESC,
            .marks = EDV_MARK_DESC,
            .view = "snapshot_policy",
            .name = name_policy,
            .build = edv__kind_build_policy,
            .diff = edv__kind_policy_diff,
            .compares = "schedule, retention, on-delete rule, storage location",
        },
    [EDV_KIND_INSTANCE_GROUP] =
        {
            .id = "instance_group",
            .title = "instance group",
            .step = "instance_group",
            .api = EDV_API_COMPUTE,
            .path = CPT "/zones/{Z}/instanceGroups/{N}",
            .list = CPT "/zones/{Z}/instanceGroups",
            .remove = "compute.instanceGroups.delete",
            .create = CPT "/zones/{Z}/instanceGroups",
            .create_label = "compute.instanceGroups.insert",
            .own = EDV_OWN_DESC,
            .marks = EDV_MARK_DESC,
            .view = "instance_group",
            .name = name_ig,
            .build = edv__kind_build_ig,
            .diff = edv__kind_ig_diff,
            .compares = "named ports",
        },
    [EDV_KIND_BACKEND_SERVICE] =
        {
            .id = "backend_service",
            .title = "backend service",
            .step = "backend_service",
            .api = EDV_API_COMPUTE,
            .path = CPT "/global/backendServices/{N}",
            .list = CPT "/global/backendServices",
            .remove = "compute.backendServices.delete",
            .create = CPT "/global/backendServices",
            .create_label = "compute.backendServices.insert",
            .own = EDV_OWN_DESC,
            .marks = EDV_MARK_DESC,
            .view = "backend_service",
            .name = name_bes,
            .build = edv__kind_build_bes,
            .diff = edv__kind_bes_diff,
            .compares = "protocol, port name, timeout, health check, backends",
        },
    /* The tenant's host rule in the platform's URL map (named by its
     * hostnames: the map itself is shared). */
    /* The tenant's account in the project's IAM policy: its roles, held
     * by the policy all tenants share (written by the IAM policy writer,
     * tenant/shared.c). */
    [EDV_KIND_PROJECT_ROLES] =
        {
            .id = "project_roles",
            .title = "project IAM roles",
            .step = "project_roles",
            .api = EDV_API_CLOUDRESOURCEMANAGER,
            .path = "/v1/projects/{P}:getIamPolicy",
            .own = EDV_OWN_NONE,
            .name = name_sa_member,
            .no_build = "a member of the project's IAM policy, put there by "
                        "the IAM policy writer (tenant/shared.c)",
            .diff = edv__kind_roles_diff,
            .compares = "roles",
        },
    [EDV_KIND_URL_MAP_RULE] =
        {
            .id = "url_map_rule",
            .title = "URL map host rule",
            .step = "url_map_rule",
            .api = EDV_API_COMPUTE,
            .path = CPT "/global/urlMaps/" EDV_URLMAP_NAME,
            .own = EDV_OWN_NONE,
            .name = name_hosts,
            .no_build = "an entry of the shared URL map, put there by the "
                        "URL map writer (edv__kind_urlmap_put)",
            .diff = edv__kind_urlmap_diff,
            .compares = "hosts, backend service",
        },
    /* A and _acme-challenge CNAME records in the fleet's zone, named by
     * the tenant's hostnames; label-less (the drift pass owns them by
     * name and value). */
    [EDV_KIND_DNS_RECORD] =
        {
            .id = "dns_records",
            .title = "DNS records",
            .step = "dns_records",
            .api = EDV_API_DNS,
            .path = "/dns/v1/projects/{P}/managedZones/{M}/rrsets/{N}",
            .list = "/dns/v1/projects/{P}/managedZones/{M}/rrsets",
            .list_query = "maxResults=1000",
            .list_label = "dns.resourceRecordSets.list",
            .own = EDV_OWN_NONE,
            .name = name_hosts,
            .no_build = "record sets of the fleet's zone, written by the DNS "
                        "writer (edv__kind_rrset_want)",
            .diff = edv__kind_dns_diff,
            .compares = "A at the load balancer, challenge CNAME",
        },
    [EDV_KIND_DNS_AUTHORIZATION] =
        {
            .id = "dns_authorization",
            .title = "DNS authorization",
            .step = "dns_authorization",
            .api = EDV_API_CERTIFICATEMANAGER,
            .path = CMT "/dnsAuthorizations/{N}",
            .list = CMT "/dnsAuthorizations",
            .remove = "certificatemanager.dnsAuthorizations.delete",
            .create = CMT "/dnsAuthorizations?dnsAuthorizationId={N}",
            .create_label = "certificatemanager.dnsAuthorizations.create",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_DESC | EDV_MARK_LABELS,
            .labels_at = "labels",
            .name = name_auth,
            .build = edv__kind_build_auth,
            .diff = edv__kind_labels_diff,
            .compares = "tier label",
        },
    [EDV_KIND_CERTIFICATE] =
        {
            .id = "certificate",
            .title = "certificate",
            .step = "certificate",
            .api = EDV_API_CERTIFICATEMANAGER,
            .path = CMT "/certificates/{N}",
            .list = CMT "/certificates",
            .list_query = CM_QUERY,
            .list_label = "certificatemanager.certificates.list",
            .remove = "certificatemanager.certificates.delete",
            .create = CMT "/certificates?certificateId={N}",
            .create_label = "certificatemanager.certificates.create",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_DESC | EDV_MARK_LABELS,
            .labels_at = "labels",
            .view = "certificate",
            .name = name_cert,
            .build = edv__kind_build_cert,
            .diff = edv__kind_labels_diff,
            .compares = "tier label",
        },
    [EDV_KIND_CERT_MAP_ENTRY] =
        {
            .id = "cert_map_entry",
            .title = "certificate map entry",
            .step = "cert_map_entry",
            .api = EDV_API_CERTIFICATEMANAGER,
            .path = CMT "/certificateMaps/" EDV_CERTMAP_NAME
                        "/certificateMapEntries/{N}",
            .list = CMT "/certificateMaps/" EDV_CERTMAP_NAME
                        "/certificateMapEntries",
            .list_query = CM_QUERY,
            .list_label = "certificatemanager.certificateMapEntries.list",
            .remove = "certificatemanager.certificateMapEntries.delete",
            .create = CMT "/certificateMaps/" EDV_CERTMAP_NAME
                          "/certificateMapEntries?certificateMapEntryId={N}",
            .create_label = "certificatemanager.certificateMapEntries.create",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_DESC | EDV_MARK_LABELS,
            .labels_at = "labels",
            .name = name_entry,
            .build = edv__kind_build_entry,
            .diff = edv__kind_entry_diff,
            .compares = "hostname, certificates, tier label",
        },
};

const edv__kind *edv__kind_find(const char *id)
{
  for (unsigned k = 0; id && k < EDV_KIND__COUNT; k++)
    if (strcmp(edv__kinds[k].id, id) == 0)
      return &edv__kinds[k];
  return NULL;
}

int edv__kind_owner(const edv__kind *k, json_object *res, char *id, size_t size)
{
  const char *desc;

  switch (k->own) {
  case EDV_OWN_LABELS:
    return edv__labels_owner(edv__jget(res, k->labels_at), id, size);
  case EDV_OWN_DESC:
    desc = edv__jstr(res, "description");
    return desc && edv__description_owner(desc, id, size);
  default:
    return 0;
  }
}

/* 1 when step `from` needs step `to`, directly or through others; depth
 * bounds a walk the table's invariants (tenant/kinds test) keep acyclic. */
static int step_reaches(const char *from, const char *to, unsigned depth)
{
  const edv__step_def *d = NULL;

  for (unsigned i = 0; i < edv__tenant_nsteps && !d; i++)
    if (strcmp(edv__tenant_steps[i].name, from) == 0)
      d = &edv__tenant_steps[i];
  if (!d || depth > edv__tenant_nsteps)
    return 0;
  if (edv__step_needs(d, to))
    return 1;
  for (unsigned i = 0; i < EDV_STEP_MAX_DEPS && d->deps[i]; i++)
    if (step_reaches(d->deps[i], to, depth + 1))
      return 1;
  return 0;
}

int edv__kind_needs(const edv__kind *a, const edv__kind *b)
{
  return step_reaches(a->step, b->step, 0);
}

void edv__kind_mark(const edv__kind *k, json_object *res, const char *marker,
                    json_object *labels)
{
  const char *at = k->labels_at, *dot;
  json_object *o = res, *sub;
  char seg[64];

  if ((k->marks & EDV_MARK_DESC) && marker)
    json_object_object_add(res, "description", json_object_new_string(marker));
  if (!(k->marks & EDV_MARK_LABELS) || !labels || !at) {
    json_object_put(labels);
    return;
  }
  while ((dot = strchr(at, '.')) && (size_t)(dot - at) < sizeof(seg)) {
    memcpy(seg, at, (size_t)(dot - at));
    seg[dot - at] = '\0';
    if (!json_object_object_get_ex(o, seg, &sub)) {
      sub = json_object_new_object();
      json_object_object_add(o, seg, sub);
    }
    o = sub;
    at = dot + 1;
  }
  json_object_object_add(o, at, labels);
}

int edv__kind_path(const char *tmpl, const char *project, const char *region,
                   const char *zone, const char *name, const char *mzone,
                   char *out, size_t size)
{
  size_t n = 0;

  for (const char *t = tmpl; *t; t++) {
    const char *v = NULL;
    int ph = t[0] == '{' && t[1] && t[2] == '}' && strchr("PRZNM", t[1]);

    if (ph) {
      v = t[1] == 'P'   ? project
          : t[1] == 'R' ? region
          : t[1] == 'Z' ? zone
          : t[1] == 'N' ? name
                        : mzone;
      if (!v)
        return -1;
      if (n + strlen(v) >= size)
        return -1;
      memcpy(out + n, v, strlen(v));
      n += strlen(v);
      t += 2;
      continue;
    }
    if (n + 1 >= size)
      return -1;
    out[n++] = *t;
  }
  out[n] = '\0';
  return 0;
}

void edv__kind_note(char *text, size_t size, const char *fmt, ...)
{
  size_t off = size ? strnlen(text, size) : 0; /* size 0: text may be NULL */
  va_list ap;

  if (off && off < size)
    off += (size_t)snprintf(text + off, size - off, "%s", EDV_KIND_NOTE_SEP);
  if (off >= size)
    return;
  va_start(ap, fmt);
  vsnprintf(text + off, size - off, fmt, ap);
  va_end(ap);
}

/* ---- Cloud SQL -----------------------------------------------------------*/

/* The continents' multi-regions Cloud SQL keeps backups in, by the
 * prefix of a region's name. */
static const char *const backup_multi[][2] = {
    {"us-", "us"},     {"northamerica-", "us"}, {"southamerica-", "us"},
    {"europe-", "eu"}, {"me-", "eu"},           {"africa-", "eu"},
    {"asia-", "asia"}, {"australia-", "asia"},
};

const char *edv__sql_backup_location(const char *setting, const char *region,
                                     char *buf, size_t size)
{
  if (!setting || strcmp(setting, "auto") == 0) {
    for (size_t i = 0;
         region && i < sizeof(backup_multi) / sizeof(*backup_multi); i++)
      if (strncmp(region, backup_multi[i][0], strlen(backup_multi[i][0])) ==
          0) {
        snprintf(buf, size, "%s", backup_multi[i][1]);
        return buf;
      }
    return NULL;
  }
  if (strcmp(setting, "region") == 0)
    return NULL;
  snprintf(buf, size, "%s", setting);
  return buf;
}

json_object *edv__sql_backup_config(const edv__tier *t, const char *location)
{
  json_object *bk = json_object_new_object(), *ret = json_object_new_object();

  if (location)
    json_object_object_add(bk, "location", json_object_new_string(location));

  json_object_object_add(bk, "enabled", json_object_new_boolean(1));
  json_object_object_add(bk, "startTime",
                         json_object_new_string(t->sql.backup_start_time));
  json_object_object_add(bk, "pointInTimeRecoveryEnabled",
                         json_object_new_boolean(t->sql.pitr));
  json_object_object_add(
      bk, "transactionLogRetentionDays",
      json_object_new_int(t->sql.transaction_log_retention_days));
  json_object_object_add(ret, "retainedBackups",
                         json_object_new_int(t->sql.retained_backups));
  json_object_object_add(ret, "retentionUnit", json_object_new_string("COUNT"));
  json_object_object_add(bk, "backupRetentionSettings", ret);
  return bk;
}

/*
 * Private IP only: the database is reachable from the VPC, never from the
 * internet. TLS on every connection: sslMode ENCRYPTED_ONLY, without
 * client certificates (requireSsl stays unset: with ENCRYPTED_ONLY the API
 * wants it false or cleared). The app connects with sslmode=require.
 */
json_object *edv__sql_ip_config(const char *project, const char *network)
{
  json_object *ip = json_object_new_object();
  char net[512];

  snprintf(net, sizeof(net), "projects/%s/global/networks/%s", project,
           network);
  json_object_object_add(ip, "ipv4Enabled", json_object_new_boolean(0));
  json_object_object_add(ip, "privateNetwork", json_object_new_string(net));
  json_object_object_add(ip, "sslMode",
                         json_object_new_string(EDV_SQL_SSL_MODE));
  return ip;
}

static int jtrue(json_object *v)
{
  return v && json_object_get_boolean(v);
}

static int str_is(const char *have, const char *want)
{
  return have && want && strcmp(have, want) == 0;
}

/* Who may reach the database and how: private IP only on our network,
 * TLS only, deletion protection on. */
static int sql_access_diff(const edv__kind_ctx *ctx, json_object *st,
                           json_object *fix, char *text, size_t size)
{
  json_object *ipc = edv__jget(st, "ipConfiguration");
  const char *ssl = edv__jstr(ipc, "sslMode");
  char net[512];
  int n = 0;

  snprintf(net, sizeof(net), "projects/%s/global/networks/%s", ctx->project,
           ctx->network);
  if (jtrue(edv__jget(ipc, "ipv4Enabled"))) {
    edv__kind_note(text, size, "public IP enabled -> private only");
    n++;
  }
  if (!edv__same_link(edv__jstr(ipc, "privateNetwork"), net)) {
    edv__kind_note(text, size, "private network %.80s -> %.80s",
                   edv__jstr(ipc, "privateNetwork")
                       ? edv__jstr(ipc, "privateNetwork")
                       : "(none)",
                   net);
    n++;
  }
  if (!str_is(ssl, EDV_SQL_SSL_MODE)) {
    edv__kind_note(text, size, "sslMode %.40s -> " EDV_SQL_SSL_MODE,
                   ssl ? ssl : "(none)");
    n++;
  }
  if (n)
    json_object_object_add(fix, "ipConfiguration",
                           edv__sql_ip_config(ctx->project, ctx->network));
  if (!jtrue(edv__jget(st, "deletionProtectionEnabled"))) {
    edv__kind_note(text, size, "deletion protection off -> on");
    json_object_object_add(fix, "deletionProtectionEnabled",
                           json_object_new_boolean(1));
    n++;
  }
  return n;
}

/* The backups the tier wants: one note, the whole configuration patched. */
static int sql_backup_diff(const edv__tier *t, const char *location,
                           json_object *bk, json_object *fix, char *text,
                           size_t size)
{
  const char *start = edv__jstr(bk, "startTime");
  int64_t kept = edv__jint(edv__jget(bk, "backupRetentionSettings"),
                           "retainedBackups", -1);
  int64_t logs = edv__jint(bk, "transactionLogRetentionDays", -1);

  if (!jtrue(edv__jget(bk, "enabled")))
    edv__kind_note(text, size, "backups disabled -> enabled");
  else if (!str_is(start, t->sql.backup_start_time))
    edv__kind_note(text, size, "backup start time %.10s -> %s",
                   start ? start : "(none)", t->sql.backup_start_time);
  else if (jtrue(edv__jget(bk, "pointInTimeRecoveryEnabled")) != !!t->sql.pitr)
    edv__kind_note(text, size, "point-in-time recovery %s -> %s",
                   t->sql.pitr ? "off" : "on", t->sql.pitr ? "on" : "off");
  else if (logs != t->sql.transaction_log_retention_days)
    edv__kind_note(text, size, "transaction log retention %lld -> %d days",
                   (long long)logs, t->sql.transaction_log_retention_days);
  else if (kept != t->sql.retained_backups)
    edv__kind_note(text, size, "retained backups %lld -> %d", (long long)kept,
                   t->sql.retained_backups);
  else if (location && !str_is(edv__jstr(bk, "location"), location))
    edv__kind_note(text, size, "backup location %.40s -> %s",
                   edv__jstr(bk, "location") ? edv__jstr(bk, "location")
                                             : "(the region)",
                   location);
  else
    return 0;
  json_object_object_add(fix, "backupConfiguration",
                         edv__sql_backup_config(t, location));
  return 1;
}

/*
 * What Cloud SQL holds against what the tier asks for. Each differing
 * field the API can change goes into one instances.patch. The data disk
 * only grows (a larger one is not a difference: Cloud SQL cannot shrink
 * storage); edition and dataDiskType cannot change in place and are not
 * differences either (the step reports them).
 */
int edv__kind_sql_diff(const edv__kind_ctx *ctx, json_object *observed,
                       json_object **patch, char *text, size_t size)
{
  const edv__tier *t = ctx->tier;
  json_object *st = edv__jget(observed, "settings");
  json_object *fix = json_object_new_object(), *body;
  const char *tier = edv__jstr(st, "tier");
  const char *avail = edv__jstr(st, "availabilityType");
  const char *want_avail = t->sql.regional ? "REGIONAL" : "ZONAL";
  int64_t disk = edv__jint(st, "dataDiskSizeGb", 0);
  char gb[16];
  int n = 0;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  if (!str_is(tier, t->sql.tier)) {
    edv__kind_note(text, size, "tier %.30s -> %s", tier ? tier : "(none)",
                   t->sql.tier);
    json_object_object_add(fix, "tier", json_object_new_string(t->sql.tier));
    n++;
  }
  n += sql_access_diff(ctx, st, fix, text, size);
  if (!str_is(avail, want_avail)) {
    edv__kind_note(text, size, "availability %.20s -> %s",
                   avail ? avail : "(none)", want_avail);
    json_object_object_add(fix, "availabilityType",
                           json_object_new_string(want_avail));
    n++;
  }
  if (disk < t->sql.data_disk_gb) {
    edv__kind_note(text, size, "storage %lld GB -> %d GB", (long long)disk,
                   t->sql.data_disk_gb);
    snprintf(gb, sizeof(gb), "%d", t->sql.data_disk_gb);
    json_object_object_add(fix, "dataDiskSizeGb", json_object_new_string(gb));
    n++;
  }
  n += sql_backup_diff(t, ctx->backup_location,
                       edv__jget(st, "backupConfiguration"), fix, text, size);
  if (edv__kind_tier_label_diff(ctx, edv__jget(st, "userLabels"), text, size)) {
    /* The tier label follows a scaled tenant (in the same patch). */
    json_object_object_add(fix, "userLabels",
                           edv__tenant_labels(ctx->tenant, t->name));
    n++;
  }
  if (n == 0 || !patch) {
    json_object_put(fix);
    return n;
  }
  body = json_object_new_object();
  json_object_object_add(body, "settings", fix);
  *patch = body;
  return n;
}

/* ---- firewall rules --------------------------------------------------------
 *
 * A tenant's firewall rules, all targeting its VM's network tag:
 *
 *   allow-lb        INGRESS 1000  Google's LB ranges -> tcp:80
 *   deny-ingress    INGRESS 65000 everything else in (above the implied)
 *   allow-iap-ssh   INGRESS 1000  IAP's range -> tcp:22, only with ops_ssh
 *   allow-db-egress EGRESS  1000  out to its own Cloud SQL IP, tcp:5432
 *   deny-db-egress  EGRESS  65000 out to the rest of the private services
 *                                 access range: other tenants' databases
 */
typedef struct fw_def {
  int egress, deny, priority;
  const char *proto, *port; /* port NULL: every port */
} fw_def;

static const fw_def fw_defs[EDV_FIREWALL__COUNT] = {
    [EDV_FIREWALL_ALLOW_LB] = {0, 0, 1000, "tcp", "80"},
    [EDV_FIREWALL_DENY_INGRESS] = {0, 1, 65000, "all", NULL},
    [EDV_FIREWALL_OPS_SSH] = {0, 0, 1000, "tcp", "22"},
    [EDV_FIREWALL_ALLOW_DB] = {1, 0, 1000, "tcp", "5432"},
    [EDV_FIREWALL_DENY_DB] = {1, 1, 65000, "all", NULL},
};

static json_object *jarr1(const char *s)
{
  json_object *a = json_object_new_array();

  json_object_array_add(a, json_object_new_string(s ? s : ""));
  return a;
}

/* The source (ingress) or destination (egress) ranges of rule `kind`. */
static json_object *fw_ranges(const edv__kind_ctx *ctx, edv__firewall_kind kind)
{
  json_object *a = json_object_new_array();
  char ip[64];

  switch (kind) {
  case EDV_FIREWALL_ALLOW_LB:
    /* Only Google's front ends and health checkers reach the VM. */
    json_object_array_add(a, json_object_new_string(EDV_HC_RANGE_1));
    json_object_array_add(a, json_object_new_string(EDV_HC_RANGE_2));
    break;
  case EDV_FIREWALL_DENY_INGRESS:
    json_object_array_add(a, json_object_new_string("0.0.0.0/0"));
    break;
  case EDV_FIREWALL_OPS_SSH:
    json_object_array_add(a, json_object_new_string(EDV_IAP_RANGE));
    break;
  case EDV_FIREWALL_ALLOW_DB:
    snprintf(ip, sizeof(ip), "%s/32", ctx->db_ip ? ctx->db_ip : "");
    json_object_array_add(a, json_object_new_string(ip));
    break;
  default:
    json_object_array_add(a, json_object_new_string(EDV_SUBNET_PSA_RANGE));
    break;
  }
  return a;
}

json_object *edv__kind_fw_rule(const edv__kind_ctx *ctx,
                               edv__firewall_kind kind)
{
  const fw_def *d = &fw_defs[kind];
  json_object *o = json_object_new_object(), *rules, *r;
  char net[512], name[EDV_NAME_MAX], tag[EDV_NAME_MAX], desc[128];

  edv__name_firewall(ctx->tenant, kind, name, sizeof(name));
  edv__tenant_description(ctx->tenant, desc, sizeof(desc));
  snprintf(tag, sizeof(tag), "edv-%s", ctx->tenant);
  snprintf(net, sizeof(net), "projects/%s/global/networks/%s", ctx->project,
           ctx->network);
  json_object_object_add(o, "name", json_object_new_string(name));
  edv__kind_mark(&edv__kinds[EDV_KIND_FW_ALLOW_LB + kind], o, desc, NULL);
  json_object_object_add(o, "network", json_object_new_string(net));
  json_object_object_add(
      o, "direction", json_object_new_string(d->egress ? "EGRESS" : "INGRESS"));
  json_object_object_add(o, "targetTags", jarr1(tag));
  json_object_object_add(o, "priority", json_object_new_int(d->priority));
  rules = json_object_new_array();
  r = json_object_new_object();
  json_object_object_add(r, "IPProtocol", json_object_new_string(d->proto));
  if (d->port)
    json_object_object_add(r, "ports", jarr1(d->port));
  json_object_array_add(rules, r);
  json_object_object_add(o, d->deny ? "denied" : "allowed", rules);
  json_object_object_add(o, d->egress ? "destinationRanges" : "sourceRanges",
                         fw_ranges(ctx, kind));
  return o;
}

/* 1 when string arrays a and b hold the same strings, in any order. */
static int same_strings(json_object *a, json_object *b)
{
  size_t na = edv__jarr_len(a), nb = edv__jarr_len(b);

  if (na != nb)
    return 0;
  for (size_t i = 0; i < na; i++) {
    const char *x = json_object_get_string(json_object_array_get_idx(a, i));
    int found = 0;
    for (size_t k = 0; k < nb && !found; k++) {
      const char *y = json_object_get_string(json_object_array_get_idx(b, k));
      found = x && y && strcmp(x, y) == 0;
    }
    if (!found)
      return 0;
  }
  return 1;
}

/* 1 when the rule's allowed/denied entries match the wanted ones
 * (protocol and ports, in any order). */
static int same_rules(json_object *have, json_object *want)
{
  size_t n = edv__jarr_len(want);

  if (edv__jarr_len(have) != n)
    return 0;
  for (size_t i = 0; i < n; i++) {
    json_object *w = json_object_array_get_idx(want, i);
    const char *wp = edv__jstr(w, "IPProtocol");
    int found = 0;
    for (size_t k = 0; k < n && !found; k++) {
      json_object *h = json_object_array_get_idx(have, k);
      const char *hp = edv__jstr(h, "IPProtocol");
      found = hp && wp && strcmp(hp, wp) == 0 &&
              same_strings(edv__jget(h, "ports"), edv__jget(w, "ports"));
    }
    if (!found)
      return 0;
  }
  return 1;
}

/* Notes what differs between the observed rule and the wanted one. */
static int fw_compare(json_object *res, json_object *want, int deny, char *text,
                      size_t size)
{
  const char *dir = edv__jstr(res, "direction");
  const char *rules = deny ? "denied" : "allowed";
  int n = 0;

#define FW_CHECK(ok, ...)                                                      \
  do {                                                                         \
    if (!(ok)) {                                                               \
      edv__kind_note(text, size, __VA_ARGS__);                                 \
      n++;                                                                     \
    }                                                                          \
  } while (0)
  FW_CHECK(edv__jint(res, "priority", 1000) ==
               edv__jint(want, "priority", 1000),
           "priority %lld -> %lld", (long long)edv__jint(res, "priority", 1000),
           (long long)edv__jint(want, "priority", 1000));
  FW_CHECK(strcmp(dir ? dir : "INGRESS", edv__jstr(want, "direction")) == 0,
           "direction %.10s -> %s", dir ? dir : "INGRESS",
           edv__jstr(want, "direction"));
  FW_CHECK(!json_object_get_boolean(edv__jget(res, "disabled")),
           "disabled -> enabled");
  FW_CHECK(same_strings(edv__jget(res, "sourceRanges"),
                        edv__jget(want, "sourceRanges")) &&
               same_strings(edv__jget(res, "destinationRanges"),
                            edv__jget(want, "destinationRanges")),
           "ranges differ");
  FW_CHECK(same_strings(edv__jget(res, "targetTags"),
                        edv__jget(want, "targetTags")) &&
               edv__jarr_len(edv__jget(res, "targetServiceAccounts")) == 0,
           "targets differ");
  FW_CHECK(edv__jarr_len(edv__jget(res, "sourceTags")) == 0 &&
               edv__jarr_len(edv__jget(res, "sourceServiceAccounts")) == 0,
           "source tags or service accounts added");
  FW_CHECK(same_rules(edv__jget(res, rules), edv__jget(want, rules)) &&
               edv__jarr_len(edv__jget(res, deny ? "allowed" : "denied")) == 0,
           "protocols or ports differ");
#undef FW_CHECK
  return n;
}

int edv__kind_fw_diff(const edv__kind_ctx *ctx, json_object *observed,
                      json_object **patch, char *text, size_t size)
{
  const char *name = edv__jstr(observed, "name");
  char want_name[EDV_NAME_MAX];
  json_object *want;
  int kind, n;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  for (kind = 0; kind < EDV_FIREWALL__COUNT; kind++) {
    edv__name_firewall(ctx->tenant, (edv__firewall_kind)kind, want_name,
                       sizeof(want_name));
    if (name && strcmp(name, want_name) == 0)
      break;
  }
  if (kind == EDV_FIREWALL__COUNT)
    return -1;
  want = edv__kind_fw_rule(ctx, (edv__firewall_kind)kind);
  n = fw_compare(observed, want, fw_defs[kind].deny, text, size);
  if (n == 0 || !patch) {
    json_object_put(want);
    return n;
  }
  json_object_object_add(want, "disabled", json_object_new_boolean(0));
  /* What the rule must not have is cleared in the same patch. */
  json_object_object_add(want, fw_defs[kind].deny ? "allowed" : "denied",
                         json_object_new_array());
  json_object_object_add(
      want, fw_defs[kind].egress ? "sourceRanges" : "destinationRanges",
      json_object_new_array());
  json_object_object_add(want, "sourceTags", json_object_new_array());
  json_object_object_add(want, "sourceServiceAccounts",
                         json_object_new_array());
  json_object_object_add(want, "targetServiceAccounts",
                         json_object_new_array());
  *patch = want;
  return n;
}

/* ---- backend service -------------------------------------------------------
 *
 * The tenant's backend service routes its traffic: HTTP to the "http"
 * port of its instance group, the platform's health check, a 30 s timeout.
 */
json_object *edv__kind_bes_want(const edv__kind_ctx *ctx)
{
  json_object *o = json_object_new_object(), *backends, *b;
  char buf[512], name[EDV_NAME_MAX], ig[EDV_NAME_MAX], desc[128];

  edv__name_backend_service(ctx->tenant, name, sizeof(name));
  edv__name_instance_group(ctx->tenant, ig, sizeof(ig));
  edv__tenant_description(ctx->tenant, desc, sizeof(desc));
  json_object_object_add(o, "name", json_object_new_string(name));
  edv__kind_mark(&edv__kinds[EDV_KIND_BACKEND_SERVICE], o, desc, NULL);
  json_object_object_add(o, "protocol", json_object_new_string("HTTP"));
  json_object_object_add(o, "portName", json_object_new_string("http"));
  json_object_object_add(o, "loadBalancingScheme",
                         json_object_new_string("EXTERNAL_MANAGED"));
  json_object_object_add(o, "timeoutSec", json_object_new_int(30));
  snprintf(buf, sizeof(buf), "projects/%s/global/healthChecks/%s", ctx->project,
           EDV_HC_NAME);
  json_object_object_add(o, "healthChecks", jarr1(buf));
  backends = json_object_new_array();
  b = json_object_new_object();
  snprintf(buf, sizeof(buf), "projects/%s/zones/%s/instanceGroups/%s",
           ctx->project, ctx->zone ? ctx->zone : "", ig);
  json_object_object_add(b, "group", json_object_new_string(buf));
  json_object_object_add(b, "balancingMode",
                         json_object_new_string("UTILIZATION"));
  json_object_object_add(b, "capacityScaler", json_object_new_double(1.0));
  json_object_array_add(backends, b);
  json_object_object_add(o, "backends", backends);
  return o;
}

/* The first string of array `key` of o, or NULL. */
static const char *first_of(json_object *o, const char *key)
{
  return json_object_get_string(
      json_object_array_get_idx(edv__jget(o, key), 0));
}

int edv__kind_bes_diff(const edv__kind_ctx *ctx, json_object *observed,
                       json_object **patch, char *text, size_t size)
{
  static const char *const keep[] = {"protocol",     "portName", "timeoutSec",
                                     "healthChecks", "backends", NULL};
  json_object *want = edv__kind_bes_want(ctx), *bes, *wb;
  int n = 0;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  bes = edv__jget(observed, "backends");
  wb = json_object_array_get_idx(edv__jget(want, "backends"), 0);
  if (!str_is(edv__jstr(observed, "protocol"), "HTTP") ||
      !str_is(edv__jstr(observed, "portName"), "http")) {
    edv__kind_note(text, size, "protocol or port name differs");
    n++;
  }
  if (edv__jint(observed, "timeoutSec", 30) != 30) {
    edv__kind_note(text, size, "timeout %llds -> 30s",
                   (long long)edv__jint(observed, "timeoutSec", 30));
    n++;
  }
  if (edv__jarr_len(edv__jget(observed, "healthChecks")) != 1 ||
      !edv__same_link(first_of(observed, "healthChecks"),
                      first_of(want, "healthChecks"))) {
    edv__kind_note(text, size, "health check differs");
    n++;
  }
  if (edv__jarr_len(bes) != 1 ||
      !edv__same_link(edv__jstr(json_object_array_get_idx(bes, 0), "group"),
                      edv__jstr(wb, "group"))) {
    edv__kind_note(text, size, "backends differ");
    n++;
  }
  if (n && patch) {
    /* The fields we set, with the fingerprint read (a race: 412). */
    *patch = json_object_new_object();
    for (int i = 0; keep[i]; i++)
      json_object_object_add(*patch, keep[i],
                             json_object_get(edv__jget(want, keep[i])));
    if (edv__jstr(observed, "fingerprint"))
      json_object_object_add(
          *patch, "fingerprint",
          json_object_new_string(edv__jstr(observed, "fingerprint")));
  }
  json_object_put(want);
  return n;
}

/* ---- subnet ----------------------------------------------------------------
 *
 * The tenant's subnet has the range the store allocated it and private
 * Google access on (its VM has no external address).
 */
int edv__kind_subnet_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size)
{
  const char *have = edv__jstr(observed, "ipCidrRange");
  int n = 0, fixed = 1;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  if (!str_is(have, ctx->cidr)) {
    edv__kind_note(text, size, "range %.43s -> %.43s (cannot change in place)",
                   have ? have : "(none)", ctx->cidr ? ctx->cidr : "(none)");
    n++;
    fixed = 0;
  }
  if (!json_object_get_boolean(edv__jget(observed, "privateIpGoogleAccess"))) {
    edv__kind_note(text, size, "private Google access off -> on");
    n++;
  }
  if (n && fixed && patch) {
    *patch = json_object_new_object();
    json_object_object_add(*patch, "privateIpGoogleAccess",
                           json_object_new_boolean(1));
  }
  return n;
}

/* ---- URL map rule ----------------------------------------------------------
 *
 * The tenant's entry in the shared URL map: a host rule for its hostnames
 * to path matcher "edv-<tenant>", whose default service is its backend
 * service.
 */
static json_object *find_named(json_object *arr, const char *key,
                               const char *val)
{
  for (size_t i = 0; i < edv__jarr_len(arr); i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    if (str_is(edv__jstr(o, key), val))
      return o;
  }
  return NULL;
}

/* A new array without the entries whose `key` equals `val`. */
static json_object *without(json_object *arr, const char *key, const char *val)
{
  json_object *out = json_object_new_array();

  for (size_t i = 0; i < edv__jarr_len(arr); i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    if (!str_is(edv__jstr(o, key), val))
      json_object_array_add(out, json_object_get(o));
  }
  return out;
}

/* 1 when string array a holds exactly the NULL-ended list, in order. */
static int same_list(json_object *a, const char *const *list)
{
  size_t n = 0;

  while (list && list[n])
    n++;
  if (edv__jarr_len(a) != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!str_is(json_object_get_string(json_object_array_get_idx(a, i)),
                list[i]))
      return 0;
  return 1;
}

void edv__kind_urlmap_put(json_object *map, const char *tenant,
                          const char *const *hosts, const char *backend)
{
  char pm[64];
  json_object *rules, *pms;

  snprintf(pm, sizeof(pm), "edv-%s", tenant);
  rules = without(edv__jget(map, "hostRules"), "pathMatcher", pm);
  pms = without(edv__jget(map, "pathMatchers"), "name", pm);
  if (backend) {
    json_object *rule = json_object_new_object(), *h = json_object_new_array();
    json_object *m = json_object_new_object();
    for (int i = 0; hosts && hosts[i]; i++)
      json_object_array_add(h, json_object_new_string(hosts[i]));
    json_object_object_add(rule, "hosts", h);
    json_object_object_add(rule, "pathMatcher", json_object_new_string(pm));
    json_object_array_add(rules, rule);
    json_object_object_add(m, "name", json_object_new_string(pm));
    json_object_object_add(m, "defaultService",
                           json_object_new_string(backend));
    json_object_array_add(pms, m);
  }
  json_object_object_add(map, "hostRules", rules);
  json_object_object_add(map, "pathMatchers", pms);
}

int edv__kind_urlmap_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size)
{
  char pm[64];
  json_object *rule, *m;
  const char *svc;
  int n = 0;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  snprintf(pm, sizeof(pm), "edv-%s", ctx->tenant);
  rule = find_named(edv__jget(observed, "hostRules"), "pathMatcher", pm);
  m = find_named(edv__jget(observed, "pathMatchers"), "name", pm);
  svc = edv__jstr(m, "defaultService");
  if (!ctx->backend) {
    if (rule || m) {
      edv__kind_note(text, size, "host rule or path matcher %s present", pm);
      n++;
    }
  } else {
    if (!rule) {
      edv__kind_note(text, size, "no host rule for %s", pm);
      n++;
    } else if (!same_list(edv__jget(rule, "hosts"), ctx->hosts)) {
      edv__kind_note(text, size, "host rule %s: hosts differ", pm);
      n++;
    }
    if (!m) {
      edv__kind_note(text, size, "no path matcher %s", pm);
      n++;
    } else if (!edv__same_link(svc, ctx->backend)) {
      edv__kind_note(text, size, "path matcher %s: default service differs",
                     pm);
      n++;
    }
  }
  /* A map that cannot be copied (out of memory) gives no patch. */
  if (n && patch && json_object_is_type(observed, json_type_object) &&
      json_object_deep_copy(observed, patch, NULL) == 0)
    edv__kind_urlmap_put(*patch, ctx->tenant, ctx->hosts, ctx->backend);
  return n;
}

/* ---- certificate map entries -------------------------------------------- */

json_object *edv__kind_entry_want(const edv__kind_ctx *ctx, unsigned h)
{
  json_object *o = json_object_new_object();
  char cert[EDV_NAME_MAX], link[512];

  edv__name_certificate(ctx->tenant, cert, sizeof(cert));
  snprintf(link, sizeof(link), "projects/%s/locations/global/certificates/%s",
           ctx->project, cert);
  json_object_object_add(o, "hostname", json_object_new_string(ctx->hosts[h]));
  json_object_object_add(o, "certificates", jarr1(link));
  return o;
}

int edv__kind_entry_diff(const edv__kind_ctx *ctx, json_object *observed,
                         json_object **patch, char *text, size_t size)
{
  const char *name = edv__jstr(observed, "name");
  const char *host = edv__jstr(observed, "hostname");
  char have[EDV_NAME_MAX], want_name[EDV_NAME_MAX];
  json_object *want, *certs = edv__jget(observed, "certificates");
  unsigned h;
  int n = 0, fixed = 1;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  edv__url_last_segment(name ? name : "", have, sizeof(have));
  /* At most two hosts: the primary and the alias (edv__host_kind). */
  for (h = 0; ctx->hosts && h <= EDV_HOST_ALIAS && ctx->hosts[h]; h++)
    if (edv__name_cert_map_entry(ctx->tenant, (edv__host_kind)h, want_name,
                                 sizeof(want_name)) == 0 &&
        strcmp(have, want_name) == 0)
      break;
  if (!ctx->hosts || h > EDV_HOST_ALIAS || !ctx->hosts[h])
    return -1;
  want = edv__kind_entry_want(ctx, h);
  if (!str_is(host, ctx->hosts[h])) {
    /* The hostname is the entry's identity. */
    edv__kind_note(text, size,
                   "hostname %.80s -> %.80s (cannot change in place)",
                   host ? host : "(none)", ctx->hosts[h]);
    n++;
    fixed = 0;
  }
  if (edv__jarr_len(certs) != 1 ||
      !edv__same_link(first_of(observed, "certificates"),
                      first_of(want, "certificates"))) {
    edv__kind_note(text, size, "certificates differ");
    n++;
  }
  if (n && fixed && patch) {
    *patch = json_object_new_object();
    json_object_object_add(*patch, "certificates",
                           json_object_get(edv__jget(want, "certificates")));
  }
  if (edv__kind_tier_label_diff(ctx, edv__jget(observed, "labels"), text,
                                size)) {
    n++;
    if (fixed && patch) {
      if (!*patch)
        *patch = json_object_new_object();
      json_object_object_add(
          *patch, "labels",
          edv__kind_labels_fixed(ctx, edv__jget(observed, "labels")));
    }
  }
  json_object_put(want);
  return n;
}
