/*
 * kinds.h - every kind of resource a tenant owns, declared once
 * (tenant/kinds.c; docs/architecture.md, "Resource kinds").
 *
 * A row says which step owns the kind (and so what it needs: its order
 * both ways, edv__kind_needs), which API serves it, where one resource
 * lives, where it is created and where the whole fleet's are listed (path
 * templates, see below), how a tenant's resource of the kind is named, how
 * it carries its owner (labels, description marker, nothing) and which
 * marks its create body carries, the key under which the tenant
 * document's "resources" shows its name, the body it builds (a pure
 * build from the tenant's context), and a pure diff of the observed
 * resource against what the tenant's tier and spec want, with what it
 * compares. A row without a build or a diff says why (no_build, no_diff).
 *
 * The readers: the step runner (tenant/ensure.c: a tenant edv__res names
 * its row, whose build makes the create body), the tenant steps (their
 * verify and repair use the diff, and so does a plan), the URL map and
 * DNS writers (tenant/shared.c), the drift pass (the same diff over its
 * list pages; its list calls; the ownership, paths and delete labels of
 * orphans; its status's summary from `compares`), the tenant document
 * (fleet/view.c) and the tests. A new kind is one row here, its name
 * function, its build and its diff.
 *
 * Path templates: {P} the project, {R} the tenant's region, {Z} its zone,
 * {N} the resource's name and {M} the fleet's Cloud DNS managed zone
 * (a record set's {N} is "<name>/<type>").
 */
#ifndef EDV_TENANT_KINDS_H
#define EDV_TENANT_KINDS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "edv/engine.h"
#include "tenant/machine.h"
#include "tenant/spec.h"
#include "tenant/tiers.h"

/* The path prefixes of the templates. */
#define EDV_KIND_CPT  "/compute/v1/projects/{P}"
#define EDV_KIND_SQLT "/sql/v1beta4/projects/{P}"
#define EDV_KIND_CMT  "/v1/projects/{P}/locations/global"

typedef enum {
  EDV_KIND_SUBNET = 0,
  /* The firewall rules, in the order of edv__firewall_kind. */
  EDV_KIND_FW_ALLOW_LB,
  EDV_KIND_FW_DENY_INGRESS = EDV_KIND_FW_ALLOW_LB + EDV_FIREWALL_DENY_INGRESS,
  EDV_KIND_FW_OPS_SSH = EDV_KIND_FW_ALLOW_LB + EDV_FIREWALL_OPS_SSH,
  EDV_KIND_FW_ALLOW_DB = EDV_KIND_FW_ALLOW_LB + EDV_FIREWALL_ALLOW_DB,
  EDV_KIND_FW_DENY_DB = EDV_KIND_FW_ALLOW_LB + EDV_FIREWALL_DENY_DB,
  EDV_KIND_SERVICE_ACCOUNT,
  EDV_KIND_PROJECT_ROLES,
  EDV_KIND_SECRET,
  EDV_KIND_SQL_INSTANCE,
  EDV_KIND_SQL_DATABASE,
  EDV_KIND_SQL_USER,
  EDV_KIND_VM,
  EDV_KIND_DISK,
  EDV_KIND_SNAPSHOT_POLICY,
  EDV_KIND_INSTANCE_GROUP,
  EDV_KIND_BACKEND_SERVICE,
  EDV_KIND_URL_MAP_RULE,
  EDV_KIND_DNS_RECORD,
  EDV_KIND_DNS_AUTHORIZATION,
  EDV_KIND_CERTIFICATE,
  EDV_KIND_CERT_MAP_ENTRY,
  EDV_KIND__COUNT
} edv__kind_id;

/* Whom a kind's names are for: what a name may depend on. */
typedef struct edv__kind_who {
  const char *id;         /* tenant id */
  const char *slug;       /* its slug (the alias hostname when != id) */
  uint32_t generation;    /* its Cloud SQL name generation */
  const char *project;    /* the fleet's project */
  const char *domain;     /* the fleet's domain (DNS names) */
  const edv__tier *tier;  /* its tier (the snapshot schedule's name says
                             what it holds); NULL: that name is unknown */
  unsigned vm_generation; /* its serving VM's (tenant/vmswap.h); 0 first */
} edv__kind_who;

/* What a diff compares against and a build builds from (a step fills it
 * with edv__srun_kind_ctx, tenant/ensure.h; the drift pass with what its
 * lists and the store say). */
typedef struct edv__kind_ctx {
  const edv__tier *tier;    /* the tenant's tier */
  const char *tenant;       /* its id */
  const char *project;      /* the fleet's project */
  const char *network;      /* the tenants' VPC ("edv-tenants") */
  const char *zone;         /* the tenant's zone (NULL: from observed) */
  const char *db_ip;        /* its database's private IP (firewall_db_allow) */
  const char *cidr;         /* its subnet's recorded range (subnet) */
  const char *const *hosts; /* its hostnames, NULL-ended (URL map rule,
                               certificate map entries) */
  const char *backend;      /* its backend service link (URL map rule; NULL:
                               it must have no rule) */
  const char *backup_location;  /* its backups' location (NULL: not compared) */
  char backup_location_buf[64]; /* where backup_location may point */
  const char *display_name;     /* its display name, in the VM's startup script
                                   (NULL: not compared) */
  /* What the builds also need (and the DNS records' diff). */
  const char *region;   /* the tenant's region */
  uint32_t generation;  /* its Cloud SQL name generation */
  const char *lb_ip;    /* the load balancer's address: the A records'
                           value (NULL: not compared) */
  const char *password; /* the database user's password (sql_user's build
                           only: a secret, never kept or logged) */
  char host_buf[2][EDV_FQDN_MAX]; /* where hosts may point */
  const char *host_ptr[3];
} edv__kind_ctx;

/*
 * A build: the create body of the i-th resource of the kind (0 for most
 * kinds; per-host kinds: the host, edv__host_kind) that ctx's tenant
 * wants, with the marks its row declares (ctx->tier's labels, the
 * tenant's description marker). A new object, or NULL with err set (a
 * value the body needs is missing from ctx).
 */
typedef json_object *(*edv__kind_build_fn)(const edv__kind_ctx *ctx, unsigned i,
                                           edv_error *err);

/*
 * The i-th name of the kind for `w` (most kinds have one; per-host kinds
 * one per hostname): 0, EDV_ENOTFOUND when there is no i-th, EDV_EINVAL
 * when buf is too small.
 */
typedef int (*edv__kind_name_fn)(const edv__kind_who *w, unsigned i, char *buf,
                                 size_t size);

/*
 * A pure diff: the observed resource against what ctx wants. Returns the
 * number of differences (0: as wanted). With differences, *patch (when
 * patch is not NULL) is the body of the one call that puts them right (a
 * new object, the caller puts it), and text holds one note per difference
 * ("tier db-g1-small -> db-f1-micro"), separated by EDV_KIND_NOTE_SEP
 * (text may be NULL when size is 0).
 * What cannot change in place is not a difference.
 */
typedef int (*edv__kind_diff_fn)(const edv__kind_ctx *ctx,
                                 json_object *observed, json_object **patch,
                                 char *text, size_t size);
#define EDV_KIND_NOTE_SEP "; "

/* The owner's marks a kind's resources carry (edv__kind.marks). */
#define EDV_MARK_DESC   1u /* "description": the marker */
#define EDV_MARK_LABELS 2u /* the labels, at labels_at */

typedef struct edv__kind {
  const char *id;           /* "sql_instance": unique */
  const char *title;        /* "Cloud SQL instance": in messages */
  const char *step;         /* the step of edv__tenant_steps that owns it */
  edv_api api;              /* the API that serves it */
  const char *path;         /* one resource (template) */
  const char *create;       /* where a create POSTs (template), or NULL:
                               made by its step some other way */
  const char *create_label; /* the create's call: "compute.firewalls.insert" */
  const char *list;         /* the collection it is listed from (template) */
  const char *list_query;   /* the drift pass's query on `list` (filter to
                               ours, largest page), or NULL: not listed */
  const char *list_label;   /* "compute.instances.aggregatedList" */
  const char *remove;       /* "compute.instances.delete", or NULL */
  edv__own_mode own;        /* how it carries its owner */
  const char *labels_at;    /* where its labels are ("labels") */
  unsigned marks;           /* what its create body carries (EDV_MARK_*):
                               at least the mark `own` tests */
  const char *view;         /* key in the tenant document's "resources" */
  int view_list;            /* 1: the view key holds an array of such names */
  edv__kind_name_fn name;   /* its names */
  edv__kind_build_fn build; /* its create body (what `create` POSTs) */
  const char *no_build;     /* without build: why (who makes it) */
  edv__kind_diff_fn diff;   /* its settings against the tenant's */
  const char *no_diff;      /* without diff: why existence is all that
                               matters */
  const char *compares;     /* what its diff compares ("range, private
                               Google access"): the drift pass's summary */
} edv__kind;

extern const edv__kind edv__kinds[EDV_KIND__COUNT];

/*
 * The platform's kinds (what every tenant shares, made once per project by
 * the platform plan, edv__platform_steps): the same rows, one per platform
 * step, read by those steps (their create path and call, their marks).
 * Named by constants (EDV_*_NAME, tenant/steps.h), not by a tenant: their
 * name, list and view are unset. Steps that call an API without a create
 * of their own (the private services access connection, the DNS zone
 * check, the alert policies) have a row without create and marks.
 */
typedef enum {
  EDV_PKIND_NETWORK = 0,
  EDV_PKIND_PSA_RANGE,
  EDV_PKIND_PSA_CONNECTION,
  EDV_PKIND_ROUTER,
  EDV_PKIND_LB_ADDRESS,
  EDV_PKIND_HEALTH_CHECK,
  EDV_PKIND_URL_MAP,
  EDV_PKIND_CERT_MAP,
  EDV_PKIND_HTTPS_PROXY,
  EDV_PKIND_FORWARDING_RULE,
  EDV_PKIND_DNS_ZONE,
  EDV_PKIND_NOTIFICATION_CHANNELS,
  EDV_PKIND_ALERT_POLICIES,
  EDV_PKIND__COUNT
} edv__platform_kind_id;

extern const edv__kind edv__platform_kinds[EDV_PKIND__COUNT];

/* The row of kind `id` ("vm"), or NULL. */
const edv__kind *edv__kind_find(const char *id);

/*
 * The owner of a resource of kind k, from its labels or description
 * marker: 1 with the tenant id copied into id (size >= EDV_TENANT_ID_MAX
 * + 1), or 0 (not ours, or a kind that carries no owner).
 */
int edv__kind_owner(const edv__kind *k, json_object *res, char *id,
                    size_t size);

/*
 * 1 when kind a's resources need kind b's: a's step depends on b's,
 * directly or through other steps (the step table's deps). The order of
 * both directions: b is made before a and, when the tenant is deleted,
 * a's resources are gone before b's are deleted (machine.c reverses the
 * same deps, edv__step_needs).
 */
int edv__kind_needs(const edv__kind *a, const edv__kind *b);

/*
 * Puts on res (a create body or a wanted resource) the marks its kind's
 * row declares: `marker` as "description" (EDV_MARK_DESC) and `labels`
 * at labels_at (EDV_MARK_LABELS; a dotted path, its objects made when
 * missing). Takes `labels` (put when not used); a NULL marker or labels
 * is left out.
 */
void edv__kind_mark(const edv__kind *k, json_object *res, const char *marker,
                    json_object *labels);

/* Expands a path template (see above) into out. 0, or -1 when it does
 * not fit or a placeholder it holds has no value (NULL). */
int edv__kind_path(const char *tmpl, const char *project, const char *region,
                   const char *zone, const char *name, const char *mzone,
                   char *out, size_t size);

/* Appends one note to a diff's text (EDV_KIND_NOTE_SEP between notes). */
void edv__kind_note(char *text, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The diffs (also reachable through their rows). */
int edv__kind_sql_diff(const edv__kind_ctx *ctx, json_object *observed,
                       json_object **patch, char *text, size_t size);
/* The VM's diff: the tier's machine type (the patch is the body of
 * instances.setMachineType), stopped, then its metadata: ctx->display_name
 * and the tier's lines in its startup script's app environment, the
 * edv-tier and edv-max-users items (once the machine type is right, the
 * patch is the body of instances.setMetadata: the observed items and
 * fingerprint, those lines and items replaced), then its edv-tier label
 * (the patch is the body of instances.setLabels, with labelFingerprint). */
int edv__kind_vm_diff(const edv__kind_ctx *ctx, json_object *observed,
                      json_object **patch, char *text, size_t size);
/* The boot disk's diff: its edv-tier label (the patch is the body of
 * disks.setLabels, with labelFingerprint). Its size is the vm step's (a
 * disk only grows). */
int edv__kind_disk_diff(const edv__kind_ctx *ctx, json_object *observed,
                        json_object **patch, char *text, size_t size);

/* The firewall rules' diff: which rule is read from the observed name
 * (-1 when it is none of the tenant's). Its patch is the whole rule, with
 * what it must not have cleared. */
int edv__kind_fw_diff(const edv__kind_ctx *ctx, json_object *observed,
                      json_object **patch, char *text, size_t size);
/* The desired firewall rule `kind` of the tenant (new object). */
json_object *edv__kind_fw_rule(const edv__kind_ctx *ctx,
                               edv__firewall_kind kind);

/* The backend service's diff (health check, backends, protocol, port
 * name, timeout; the patch carries the observed fingerprint), and the
 * service the tenant wants (new object; ctx->zone required). */
int edv__kind_bes_diff(const edv__kind_ctx *ctx, json_object *observed,
                       json_object **patch, char *text, size_t size);
json_object *edv__kind_bes_want(const edv__kind_ctx *ctx);

/* The subnet's diff: its range (cannot change in place: a difference
 * without a patch) and private Google access (the patch is the body of
 * subnetworks.setPrivateIpGoogleAccess). */
int edv__kind_subnet_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size);

/* The URL map rule's diff: `observed` is the shared URL map; the tenant's
 * host rule (its hosts, in order) and path matcher "edv-<tenant>" (its
 * default service) against ctx (backend NULL: it must have neither). The
 * patch is the whole map with the tenant's entry put right (the body of
 * urlMaps.update, with the fingerprint read). */
int edv__kind_urlmap_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size);
/* Puts the tenant's host rule and path matcher into `map` in place, in
 * place of its old ones (backend NULL: takes them out). */
void edv__kind_urlmap_put(json_object *map, const char *tenant,
                          const char *const *hosts, const char *backend);

/* A certificate map entry's diff: which entry (host) is read from the
 * observed name (-1 when it is none of the tenant's). Its hostname cannot
 * change in place (a difference without a patch); its certificates and
 * its edv-tier label (when ctx has a tier) are put right by the patch
 * (the body of certificateMapEntries.patch, with an updateMask of the
 * patch's fields). */
int edv__kind_entry_diff(const edv__kind_ctx *ctx, json_object *observed,
                         json_object **patch, char *text, size_t size);
/* The entry the tenant wants for its host h (hostname, certificates;
 * new object). */
json_object *edv__kind_entry_want(const edv__kind_ctx *ctx, unsigned h);

/* The roles a tenant VM's service account holds in the project
 * (NULL-ended): the Ops Agent's log and metric writers. */
extern const char *const edv__kind_project_roles[];

/* The project roles' diff: `observed` is the project's IAM policy; the
 * tenant's account ("serviceAccount:EMAIL") in each role of
 * edv__kind_project_roles (an unconditional binding). The patch is the
 * whole policy with the account added (the body of setIamPolicy's
 * `policy`, with the etag read). */
int edv__kind_roles_diff(const edv__kind_ctx *ctx, json_object *observed,
                         json_object **patch, char *text, size_t size);
/* 1 when `policy` holds `member` in every role of `roles` (NULL-ended;
 * remove: in none of them), in bindings without a condition. */
int edv__kind_roles_held(json_object *policy, const char *member,
                         const char *const *roles, int remove);
/* Puts `member` into (remove: takes it out of) each role of `roles` in
 * `policy`, in place, touching no other member, role or conditional
 * binding; a binding left without members is dropped (Google refuses
 * empty ones). Returns the number of bindings changed. */
int edv__kind_roles_put(json_object *policy, const char *member,
                        const char *const *roles, int remove);

/* The edv-tier label of `labels` (a resource's labels, Cloud SQL's
 * userLabels) against ctx's tier: 1 with a note when it differs, 0 when
 * the same or ctx has no tier (tenant/kinds_vm.c). */
int edv__kind_tier_label_diff(const edv__kind_ctx *ctx, json_object *labels,
                              char *text, size_t size);

/* `labels` with the edv-tier label made ctx's tier (new object). */
json_object *edv__kind_labels_fixed(const edv__kind_ctx *ctx,
                                    json_object *labels);
/* The diff of a kind whose labels are set by a PATCH (the certificate,
 * the DNS authorizations, the DB password secret): its edv-tier label
 * (the patch is the body of its patch with updateMask=labels). */
int edv__kind_labels_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size);

/* The builds of the kinds' rows (tenant/kinds_build.c; the firewall
 * rules': edv__kind_fw_rule). */
json_object *edv__kind_build_subnet(const edv__kind_ctx *ctx, unsigned i,
                                    edv_error *err);
json_object *edv__kind_build_sa(const edv__kind_ctx *ctx, unsigned i,
                                edv_error *err);
json_object *edv__kind_build_secret(const edv__kind_ctx *ctx, unsigned i,
                                    edv_error *err);
json_object *edv__kind_build_sql(const edv__kind_ctx *ctx, unsigned i,
                                 edv_error *err);
json_object *edv__kind_build_db(const edv__kind_ctx *ctx, unsigned i,
                                edv_error *err);
/* users.insert's and users.update's body: ctx->password required. */
json_object *edv__kind_build_user(const edv__kind_ctx *ctx, unsigned i,
                                  edv_error *err);
json_object *edv__kind_build_policy(const edv__kind_ctx *ctx, unsigned i,
                                    edv_error *err);
json_object *edv__kind_build_ig(const edv__kind_ctx *ctx, unsigned i,
                                edv_error *err);
json_object *edv__kind_build_bes(const edv__kind_ctx *ctx, unsigned i,
                                 edv_error *err);
json_object *edv__kind_build_auth(const edv__kind_ctx *ctx, unsigned i,
                                  edv_error *err);
json_object *edv__kind_build_cert(const edv__kind_ctx *ctx, unsigned i,
                                  edv_error *err);
json_object *edv__kind_build_entry(const edv__kind_ctx *ctx, unsigned i,
                                   edv_error *err);

/* The snapshot schedule's diff: its schedule (start, every day),
 * retention, on-delete rule, storage location and snapshot labels
 * against the tier's. A resource policy cannot change in place (each
 * tier's schedule has its own name, and a scale makes the new one):
 * differences without a patch. */
int edv__kind_policy_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size);
/* The instance group's diff: its named ports (the patch is the body of
 * instanceGroups.setNamedPorts, with the fingerprint read). Its member,
 * the VM, is listed by another call (listInstances): its step's. */
int edv__kind_ig_diff(const edv__kind_ctx *ctx, json_object *observed,
                      json_object **patch, char *text, size_t size);

/* The TTL of the tenants' DNS records. */
#define EDV_DNS_TTL 300
/*
 * One DNS record set against what is wanted at its name: `type`, `ttl`
 * and exactly `rrdatas` (NULL-ended, in order). The patch is the wanted
 * rrset (the addition of a Cloud DNS change whose deletion is the
 * observed one). The DNS writer (tenant/shared.c) decides with it.
 */
int edv__kind_rrset_diff(json_object *observed, const char *type, int ttl,
                         const char *const *rrdatas, json_object **patch,
                         char *text, size_t size);
/* The rrset (name, type, ttl, rrdatas) as created (new object). */
json_object *edv__kind_rrset_want(const char *name, const char *type, int ttl,
                                  const char *const *rrdatas);
/*
 * The DNS records' diff: `observed` is one rrset of the fleet's zone,
 * which of the tenant's is read from its name and type (-1: none). The A
 * record of a hostname of ctx->hosts holds ctx->lb_ip alone (NULL: its
 * value is not compared), with EDV_DNS_TTL; the _acme-challenge CNAME of
 * one is the tenant's by its name (its value is its DNS authorization's,
 * which the step writes and compares with edv__kind_rrset_diff). The
 * step writes through the DNS writer, which compares with the same
 * rrset diff; the drift pass judges with this one.
 */
int edv__kind_dns_diff(const edv__kind_ctx *ctx, json_object *observed,
                       json_object **patch, char *text, size_t size);

/* settings.backupConfiguration and settings.ipConfiguration as the tier
 * wants them (Cloud SQL create and repair), backups kept in `location`
 * (NULL: the instance's region); new objects. */
json_object *edv__sql_backup_config(const edv__tier *t, const char *location);
/* The location of a tenant's backups for the sql.backup_location setting
 * (NULL or "auto": the multi-region of the region's continent, "us",
 * "eu" or "asia"; "region": none; else the setting itself) in `region`:
 * buf, or NULL for the instance's own region. */
const char *edv__sql_backup_location(const char *setting, const char *region,
                                     char *buf, size_t size);
json_object *edv__sql_ip_config(const char *project, const char *network);

#endif /* EDV_TENANT_KINDS_H */
