/*
 * spec.h - the tenant spec, its validation, and the deterministic names,
 * labels and ownership markers of a tenant's resources.
 *
 * A spec is what the operator asks for: `{id, slug, display_name, tier,
 * region}` (the seed's `provision-tenant.sh school001 greenwood-high
 * "Greenwood High School" premium us-central1`). Everything else about a
 * tenant is derived from it, so every step can find its own resources
 * again after a crash: the names below are pure functions of the id.
 *
 * Tenant id rules. The id is embedded in many resource names, and the
 * tightest rule wins:
 *
 *   name                  rule                                  id limit
 *   IAM account edv-<id>  6..30 chars, [a-z]([-a-z0-9]*[a-z0-9]) 2..26
 *   Compute edv-<id>-deny-db-egress 1..63, [a-z](?:[-a-z0-9]{0,61}[a-z0-9])
 *                                                                 <= 44
 *   SQL edv-<id>-db-<gen> with "project:" <= 98 (project <= 30)
 *                         gen up to 10 digits                     <= 49
 *   Cert Manager edv-<id>-dnsauth-alias ^[a-z0-9-]{1,63}$        <= 45
 *   DNS label <id>        <= 63                                   <= 63
 *   label value <id>      0..63, [a-z0-9_-]                       <= 63
 *
 * so an id is 2..26 characters (EDV_TENANT_ID_MIN/MAX), starts with a
 * lowercase letter (Compute, IAM), ends with a letter or digit, and is made
 * of lowercase letters, digits and single hyphens (no "--", which DNS
 * reserves for IDNA's "xn--" and which makes names ambiguous).
 *
 * The slug is a DNS label (1..63, [a-z0-9-], no leading, trailing or double
 * hyphen); `<slug>.<domain>` is the tenant's friendly hostname beside
 * `<id>.<domain>`. The display name is UTF-8, 1..100 code points, with no
 * control characters, no bidirectional overrides and no leading or
 * trailing space. The tier must be one of the loaded tiers. The region is
 * checked here for its form only ("us-central1"); whether the project can
 * use it is asked of the Compute API later, through the region hook.
 */
#ifndef EDV_TENANT_SPEC_H
#define EDV_TENANT_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/utf8.h" /* edv__utf8_next */
#include "edv/error.h"
#include "tenant/tiers.h"

#define EDV_TENANT_ID_MIN     2
#define EDV_TENANT_ID_MAX     26
#define EDV_TENANT_SLUG_MAX   63
#define EDV_TENANT_NAME_MAX   100 /* display name, code points */
#define EDV_TENANT_NAME_BYTES 400 /* 100 code points of at most 4 bytes */
#define EDV_REGION_MAX        40
#define EDV_DOMAIN_MAX        200 /* leaves room for "<slug>." in 253 */

/* Longest resource name we make (Compute/Cert Manager ids: 63) and the
 * longest DNS name or email (253 + trailing dot). */
#define EDV_NAME_MAX 64
#define EDV_FQDN_MAX 256

/* Label keys and the description marker of label-less kinds. */
#define EDV_LABEL_MANAGED "edv-managed"
#define EDV_LABEL_TENANT  "edv-tenant"
#define EDV_LABEL_TIER    "edv-tier"
#define EDV_MARKER_PREFIX "edv-managed:tenant="
/* The description marker of the platform's resources (the tenant VPC). */
#define EDV_MARKER_PLATFORM "edv-managed:platform"
/* The VM's metadata keys that follow its tier (tenant/render.c, kinds.c). */
#define EDV_META_TIER      "edv-tier"
#define EDV_META_MAX_USERS "edv-max-users"

typedef struct edv__tenant_spec {
  char id[EDV_TENANT_ID_MAX + 1];               /* "school001" */
  char slug[EDV_TENANT_SLUG_MAX + 1];           /* "greenwood-high" */
  char display_name[EDV_TENANT_NAME_BYTES + 1]; /* "Greenwood High School" */
  char tier[EDV_TIER_NAME_MAX + 1];             /* "premium" */
  char region[EDV_REGION_MAX + 1];              /* "us-central1" */
  int ops_ssh; /* operations SSH through IAP (optional, default off) */
} edv__tenant_spec;

/*
 * The live region check: answers whether the project may use `region` (the
 * tenant machine implements it with the regions the Compute API lists).
 * Synchronous by design: the machine calls edv__spec_validate() again once
 * it holds the list. Returns 0 or an error naming the region.
 */
typedef int (*edv__region_check_fn)(void *data, const char *region,
                                    edv_error *err);

/* Each returns 0 or EDV_EINVAL with a message naming the field. */
int edv__spec_check_id(const char *id, edv_error *err);
int edv__spec_check_slug(const char *slug, edv_error *err);
int edv__spec_check_display_name(const char *name, edv_error *err);
int edv__spec_check_region(const char *region, edv_error *err);

/*
 * Hostname labels no tenant id or slug may take (`<label>.<domain>` is
 * usually the school network's own site, mail or service): the config key
 * dns.reserved_labels replaces the list ("none": no label reserved).
 */
#define EDV_DNS_RESERVED_DEFAULT                                               \
  "www,mail,api,admin,status,ftp,smtp,imap,pop,ns,ns1,ns2,mx,autodiscover,"    \
  "autoconfig,webmail,cdn,static,assets,dashboard,edvd,platform,app,portal,"   \
  "vpn,login,auth,sso,docs,blog,support,help,billing"

/* EDV_EINVAL naming the field when the spec's id or slug is one of
 * `reserved` (comma-separated labels; NULL: EDV_DNS_RESERVED_DEFAULT;
 * "none": none), else 0. */
int edv__spec_check_reserved(const edv__tenant_spec *spec, const char *reserved,
                             edv_error *err);

/* 1 when `domain` is a usable DNS domain ("edvirons.com", optional
 * trailing dot, at most EDV_DOMAIN_MAX bytes). */
int edv__dns_domain_valid(const char *domain);

/* 1 when `value` is a valid label value (0..63 of [a-z0-9_-]). */
int edv__label_value_valid(const char *value);

/*
 * Validates a whole spec: every field's form, the tier against `tiers`
 * (skipped when NULL), the region through `region_check` (skipped when
 * NULL), and the hostnames against `domain` (skipped when NULL). Returns 0,
 * EDV_EINVAL for a bad field, or what region_check returned.
 */
int edv__spec_validate(const edv__tenant_spec *spec, const edv__tiers *tiers,
                       edv__region_check_fn region_check, void *data,
                       const char *domain, edv_error *err);

/*
 * The one way a spec is made from what a caller gave (edvctl's arguments,
 * the Management API's body through edv__spec_from_json): every field's
 * form is checked on the value as given, so a value too long for its
 * field is refused naming the field, never truncated. Then copies the
 * fields into *out. Returns 0 or EDV_EINVAL naming the field. (The tier's
 * existence and the region's are checked later: edv__spec_validate.)
 */
int edv__spec_set(edv__tenant_spec *out, const char *id, const char *slug,
                  const char *display_name, const char *tier,
                  const char *region, edv_error *err);

/*
 * Reads a spec from a JSON object {"id","slug","display_name","tier",
 * "region"} (all strings, all required) and the optional boolean
 * "ops_ssh" (default false), no other fields, and validates the form of
 * each field (not the tier or the region's existence). Returns 0 or
 * EDV_EINVAL naming the field.
 */
int edv__spec_from_json(json_object *obj, edv__tenant_spec *out,
                        edv_error *err);

/* The spec as a new JSON object (caller puts it), or NULL on ENOMEM;
 * "ops_ssh" only when true (a spec without it reads back the same). */
json_object *edv__spec_to_json(const edv__tenant_spec *spec);

/* 1 when both specs are identical field by field. */
int edv__spec_equal(const edv__tenant_spec *a, const edv__tenant_spec *b);

/*
 * Resource names. Each writes a NUL-terminated name into buf and returns 0,
 * or EDV_EINVAL when buf is too small (EDV_NAME_MAX or EDV_FQDN_MAX always
 * suffices for a valid id).
 */
typedef enum {
  EDV_FIREWALL_ALLOW_LB = 0,     /* LB + health-check ranges -> tenant VM */
  EDV_FIREWALL_DENY_INGRESS = 1, /* everything else to the tenant VM */
  EDV_FIREWALL_OPS_SSH = 2,      /* IAP's range -> tcp:22 (ops_ssh on) */
  EDV_FIREWALL_ALLOW_DB = 3,     /* egress: tenant VM -> its own database */
  EDV_FIREWALL_DENY_DB = 4,      /* egress: tenant VM -> other databases */
  EDV_FIREWALL__COUNT
} edv__firewall_kind;

/* Which hostname a per-host resource is for. */
typedef enum {
  EDV_HOST_PRIMARY = 0, /* <id>.<domain> */
  EDV_HOST_ALIAS = 1,   /* <slug>.<domain> (only when slug != id) */
} edv__host_kind;

int edv__name_subnet(const char *id, char *buf, size_t size);
int edv__name_firewall(const char *id, edv__firewall_kind kind, char *buf,
                       size_t size);
int edv__name_service_account_id(const char *id, char *buf, size_t size);
int edv__name_service_account_email(const char *id, const char *project,
                                    char *buf, size_t size);
int edv__name_secret(const char *id, char *buf, size_t size);
int edv__name_sql_instance(const char *id, unsigned generation, char *buf,
                           size_t size);
int edv__name_vm(const char *id, char *buf, size_t size);
int edv__name_disk(const char *id, char *buf, size_t size);
/* The snapshot schedule of tier t: resource policies cannot change, so
 * its name says what it holds ("edv-ID-snap-30d-1a2b3c4d": the retention
 * and a hash of the tier's name, start time, retention and on-delete
 * rule); a tier change makes a new one and swaps it on the disk. The
 * prefix "edv-ID-snap" begins every one of the tenant's (and was the
 * whole name before). */
int edv__name_snapshot_policy(const char *id, const edv__tier *t, char *buf,
                              size_t size);
int edv__name_snapshot_policy_prefix(const char *id, char *buf, size_t size);
int edv__name_instance_group(const char *id, char *buf, size_t size);
int edv__name_backend_service(const char *id, char *buf, size_t size);
int edv__name_certificate(const char *id, char *buf, size_t size);
int edv__name_dns_authorization(const char *id, edv__host_kind host, char *buf,
                                size_t size);
int edv__name_cert_map_entry(const char *id, edv__host_kind host, char *buf,
                             size_t size);

/* "<id>.<domain>." / "<slug>.<domain>.": absolute DNS names (trailing dot,
 * whether or not `domain` has one). */
int edv__name_dns_primary(const edv__tenant_spec *spec, const char *domain,
                          char *buf, size_t size);
int edv__name_dns_alias(const edv__tenant_spec *spec, const char *domain,
                        char *buf, size_t size);

/* 1 when the tenant has a separate alias hostname (slug != id). */
int edv__spec_has_alias(const edv__tenant_spec *spec);

/*
 * {"edv-managed":"true","edv-tenant":<id>,"edv-tier":<tier>} as a new JSON
 * object (caller puts it), or NULL on ENOMEM.
 */
json_object *edv__tenant_labels(const char *id, const char *tier);

/*
 * The owner of a labelled resource: copies the edv-tenant label into id
 * (size >= EDV_TENANT_ID_MAX + 1) and returns 1 when `labels` carries
 * edv-managed=true and an edv-tenant label; 0 otherwise (someone else's).
 */
int edv__labels_owner(json_object *labels, char *id, size_t size);

/* "edv-managed:tenant=<id>": the marker put in `description`. */
int edv__tenant_description(const char *id, char *buf, size_t size);

/*
 * The owner of a label-less resource: returns 1 and copies the tenant id
 * when `description` starts with the marker (followed by the end or a
 * space); 0 otherwise.
 */
int edv__description_owner(const char *description, char *id, size_t size);

#endif /* EDV_TENANT_SPEC_H */
