/*
 * spec.c - tenant spec validation, resource names, labels and markers.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tenant/spec.h"

static int spec_lower(char c)
{
  return c >= 'a' && c <= 'z';
}

static int spec_digit(char c)
{
  return c >= '0' && c <= '9';
}

/*
 * [a-z0-9-] with no leading, trailing or double hyphen, `min..max` bytes;
 * `letter_first` additionally requires a letter first. Returns a short
 * description of the first problem, or NULL when valid.
 */
static const char *spec_label_problem(const char *s, size_t min, size_t max,
                                      int letter_first)
{
  size_t i, n = strlen(s);

  if (n < min || n > max)
    return "has the wrong length";
  if (letter_first && !spec_lower(s[0]))
    return "must start with a lowercase letter";
  for (i = 0; i < n; i++) {
    if (s[i] == '-') {
      if (i == 0 || i + 1 == n)
        return "must not start or end with a hyphen";
      if (s[i + 1] == '-')
        return "must not contain two hyphens in a row";
    } else if (!spec_lower(s[i]) && !spec_digit(s[i])) {
      return "may only contain lowercase letters, digits and hyphens";
    }
  }
  return NULL;
}

int edv__spec_check_id(const char *id, edv_error *err)
{
  const char *why;

  if (!id)
    return edv_error_set(err, EDV_EINVAL, "field 'id' is missing");
  why = spec_label_problem(id, EDV_TENANT_ID_MIN, EDV_TENANT_ID_MAX, 1);
  if (why)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'id' %s: a tenant id is %d..%d characters "
                         "[a-z][a-z0-9-]*[a-z0-9]",
                         why, EDV_TENANT_ID_MIN, EDV_TENANT_ID_MAX);
  return 0;
}

int edv__spec_check_slug(const char *slug, edv_error *err)
{
  const char *why;

  if (!slug)
    return edv_error_set(err, EDV_EINVAL, "field 'slug' is missing");
  why = spec_label_problem(slug, 1, EDV_TENANT_SLUG_MAX, 0);
  if (why)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'slug' %s: a slug is a DNS label of 1..%d "
                         "characters [a-z0-9-]",
                         why, EDV_TENANT_SLUG_MAX);
  return 0;
}

/* Control characters and format controls that reorder or hide text. */
static int spec_forbidden_cp(uint32_t c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
         c == 0xfeff;
}

/* Spaces that would make a name look padded. */
static int spec_space(uint32_t c)
{
  return c == ' ' || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200b) ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

int edv__spec_check_display_name(const char *name, edv_error *err)
{
  const unsigned char *s = (const unsigned char *)name;
  size_t n, i = 0, len, count = 0;
  uint32_t cp = 0, first = 0;

  if (!name)
    return edv_error_set(err, EDV_EINVAL, "field 'display_name' is missing");
  n = strlen(name);
  if (n == 0)
    return edv_error_set(err, EDV_EINVAL, "field 'display_name' is empty");
  while (i < n) {
    len = edv__utf8_next(s + i, n - i, &cp);
    if (len == 0)
      return edv_error_set(err, EDV_EINVAL,
                           "field 'display_name' is not valid UTF-8 (byte "
                           "%zu)",
                           i);
    if (spec_forbidden_cp(cp))
      return edv_error_set(err, EDV_EINVAL,
                           "field 'display_name' contains the control "
                           "character U+%04X (byte %zu)",
                           (unsigned)cp, i);
    if (i == 0)
      first = cp;
    i += len;
    if (++count > EDV_TENANT_NAME_MAX)
      return edv_error_set(err, EDV_EINVAL,
                           "field 'display_name' is longer than %d "
                           "characters",
                           EDV_TENANT_NAME_MAX);
  }
  if (spec_space(first) || spec_space(cp))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'display_name' must not begin or end with a "
                         "space");
  return 0;
}

/* "us-central1", "northamerica-northeast1", "europe-west4". */
int edv__spec_check_region(const char *region, edv_error *err)
{
  size_t i = 0, n, start;

  if (!region)
    return edv_error_set(err, EDV_EINVAL, "field 'region' is missing");
  n = strlen(region);
  if (n > EDV_REGION_MAX)
    goto bad;
  while (i < n && spec_lower(region[i]))
    i++;
  if (i == 0 || i == n || region[i] != '-')
    goto bad;
  start = ++i;
  while (i < n && spec_lower(region[i]))
    i++;
  if (i == start || i == n || !spec_digit(region[i]) || region[i] == '0')
    goto bad;
  while (i < n && spec_digit(region[i]))
    i++;
  if (i == n)
    return 0;
  if (region[i] == '-')
    return edv_error_set(err, EDV_EINVAL,
                         "field 'region' '%.*s' looks like a zone; give the "
                         "region (e.g. us-central1)",
                         (int)EDV_REGION_MAX, region);
bad:
  return edv_error_set(err, EDV_EINVAL,
                       "field 'region' must look like us-central1 "
                       "([a-z]+-[a-z]+<number>)");
}

int edv__dns_domain_valid(const char *domain)
{
  char label[64];
  const char *p, *dot;
  size_t n, len;
  int labels = 0;

  if (!domain)
    return 0;
  n = strlen(domain);
  if (n && domain[n - 1] == '.')
    n--;
  if (n == 0 || n > EDV_DOMAIN_MAX)
    return 0;
  for (p = domain; p < domain + n; p = dot + 1) {
    dot = memchr(p, '.', (size_t)(domain + n - p));
    if (!dot)
      dot = domain + n;
    len = (size_t)(dot - p);
    if (len == 0 || len > 63)
      return 0;
    memcpy(label, p, len);
    label[len] = '\0';
    /* hyphens allowed anywhere inside ("xn--" IDNA labels included) */
    if (label[0] == '-' || label[len - 1] == '-' ||
        strspn(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
      return 0;
    labels++;
  }
  return labels >= 2;
}

/* 1 when `label` is one of the comma-separated `list`. */
static int spec_in_list(const char *list, const char *label)
{
  size_t n = strlen(label);

  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && strncmp(p, label, n) == 0)
      return 1;
    p += len;
    if (*p == ',')
      p++;
  }
  return 0;
}

int edv__spec_check_reserved(const edv__tenant_spec *spec, const char *reserved,
                             edv_error *err)
{
  const char *const field[2] = {"id", "slug"};
  const char *const label[2] = {spec->id, spec->slug};

  if (!reserved)
    reserved = EDV_DNS_RESERVED_DEFAULT;
  if (strcmp(reserved, "none") == 0)
    return 0;
  for (int i = 0; i < 2; i++)
    if (spec_in_list(reserved, label[i]))
      return edv_error_set(err, EDV_EINVAL,
                           "field '%s' '%s' is a reserved DNS label (its "
                           "hostname is kept for the school's own services; "
                           "dns.reserved_labels): pick another",
                           field[i], label[i]);
  return 0;
}

int edv__label_value_valid(const char *value)
{
  size_t n;

  if (!value)
    return 0;
  n = strlen(value);
  return n <= 63 &&
         strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int edv__spec_validate(const edv__tenant_spec *spec, const edv__tiers *tiers,
                       edv__region_check_fn region_check, void *data,
                       const char *domain, edv_error *err)
{
  int rc;

  if (!spec)
    return edv_error_set(err, EDV_EINVAL, "tenant spec is missing");
  if ((rc = edv__spec_check_id(spec->id, err)) ||
      (rc = edv__spec_check_slug(spec->slug, err)) ||
      (rc = edv__spec_check_display_name(spec->display_name, err)) ||
      (rc = edv__spec_check_region(spec->region, err)))
    return rc;
  if (!spec->tier[0])
    return edv_error_set(err, EDV_EINVAL, "field 'tier' is missing");
  if (tiers && !edv__tiers_find(tiers, spec->tier))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'tier' '%.*s' is not a known tier",
                         (int)EDV_TIER_NAME_MAX, spec->tier);
  if (domain && !edv__dns_domain_valid(domain))
    return edv_error_set(err, EDV_ECONFIG,
                         "domain '%.*s' is not a valid DNS domain", 200,
                         domain);
  if (region_check && (rc = region_check(data, spec->region, err)))
    return rc;
  return 0;
}

int edv__spec_set(edv__tenant_spec *out, const char *id, const char *slug,
                  const char *display_name, const char *tier,
                  const char *region, edv_error *err)
{
  int rc;

  if (!out)
    return edv_error_set(err, EDV_EINVAL, "tenant spec: no output");
  memset(out, 0, sizeof(*out));
  /* Every field is checked as given, before anything is copied: a value
   * too long for its field is refused, never cut to fit. */
  if ((rc = edv__spec_check_id(id, err)) ||
      (rc = edv__spec_check_slug(slug, err)) ||
      (rc = edv__spec_check_display_name(display_name, err)) ||
      (rc = edv__spec_check_region(region, err)))
    return rc;
  if (!tier || !tier[0])
    return edv_error_set(err, EDV_EINVAL, "field 'tier' is missing");
  if (strlen(tier) > EDV_TIER_NAME_MAX)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'tier' is longer than %d characters",
                         EDV_TIER_NAME_MAX);
  memcpy(out->id, id, strlen(id) + 1);
  memcpy(out->slug, slug, strlen(slug) + 1);
  memcpy(out->display_name, display_name, strlen(display_name) + 1);
  memcpy(out->tier, tier, strlen(tier) + 1);
  memcpy(out->region, region, strlen(region) + 1);
  return 0;
}

/* String field `key` of obj in *out; a value that is absent, not a string
 * or holds a NUL is refused naming the field. */
static int spec_json_str(json_object *obj, const char *key, const char **out,
                         edv_error *err)
{
  json_object *v;
  const char *s;

  if (!json_object_object_get_ex(obj, key, &v))
    return edv_error_set(err, EDV_EINVAL, "field '%s' is missing", key);
  if (!json_object_is_type(v, json_type_string))
    return edv_error_set(err, EDV_EINVAL, "field '%s' must be a string", key);
  s = json_object_get_string(v);
  if ((size_t)json_object_get_string_len(v) != strlen(s))
    return edv_error_set(err, EDV_EINVAL, "field '%s' contains a NUL", key);
  *out = s;
  return 0;
}

int edv__spec_from_json(json_object *obj, edv__tenant_spec *out, edv_error *err)
{
  static const char *const keys[] = {
      "id", "slug", "display_name", "tier", "region", "ops_ssh", NULL};
  const char *v[5];
  json_object *ops;
  size_t i;
  int rc;

  if (!out)
    return edv_error_set(err, EDV_EINVAL, "tenant spec: no output");
  memset(out, 0, sizeof(*out));
  if (!obj || !json_object_is_type(obj, json_type_object))
    return edv_error_set(err, EDV_EINVAL, "tenant spec must be an object");
  json_object_object_foreach(obj, key, val)
  {
    (void)val;
    for (i = 0; keys[i] && strcmp(keys[i], key) != 0; i++)
      ;
    if (!keys[i])
      return edv_error_set(err, EDV_EINVAL, "field '%.64s' is not known", key);
  }
  for (i = 0; i < 5; i++)
    if ((rc = spec_json_str(obj, keys[i], &v[i], err)))
      return rc;
  if ((rc = edv__spec_set(out, v[0], v[1], v[2], v[3], v[4], err)))
    return rc;
  if (json_object_object_get_ex(obj, "ops_ssh", &ops)) {
    if (!json_object_is_type(ops, json_type_boolean))
      return edv_error_set(err, EDV_EINVAL,
                           "field 'ops_ssh' must be true or false");
    out->ops_ssh = json_object_get_boolean(ops);
  }
  return 0;
}

json_object *edv__spec_to_json(const edv__tenant_spec *spec)
{
  json_object *o = json_object_new_object();

  if (!o)
    return NULL;
  if (json_object_object_add(o, "id", json_object_new_string(spec->id)) ||
      json_object_object_add(o, "slug", json_object_new_string(spec->slug)) ||
      json_object_object_add(o, "display_name",
                             json_object_new_string(spec->display_name)) ||
      json_object_object_add(o, "tier", json_object_new_string(spec->tier)) ||
      json_object_object_add(o, "region",
                             json_object_new_string(spec->region)) ||
      (spec->ops_ssh &&
       json_object_object_add(o, "ops_ssh", json_object_new_boolean(1)))) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

int edv__spec_equal(const edv__tenant_spec *a, const edv__tenant_spec *b)
{
  return strcmp(a->id, b->id) == 0 && strcmp(a->slug, b->slug) == 0 &&
         strcmp(a->display_name, b->display_name) == 0 &&
         strcmp(a->tier, b->tier) == 0 && strcmp(a->region, b->region) == 0 &&
         !a->ops_ssh == !b->ops_ssh;
}

/* printf into buf; EDV_EINVAL when it does not fit. */
static int spec_name(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int spec_name(char *buf, size_t size, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (!buf || size == 0)
    return EDV_EINVAL;
  va_start(ap, fmt);
  n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= size) {
    buf[0] = '\0';
    return EDV_EINVAL;
  }
  return 0;
}

int edv__name_subnet(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s", id);
}

int edv__name_firewall(const char *id, edv__firewall_kind kind, char *buf,
                       size_t size)
{
  static const char *const suffix[] = {"allow-lb", "deny-ingress",
                                       "allow-iap-ssh", "allow-db-egress",
                                       "deny-db-egress"};

  if ((unsigned)kind >= sizeof(suffix) / sizeof(*suffix))
    return EDV_EINVAL;
  return spec_name(buf, size, "edv-%s-%s", id, suffix[kind]);
}

int edv__name_service_account_id(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s", id);
}

int edv__name_service_account_email(const char *id, const char *project,
                                    char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s@%s.iam.gserviceaccount.com", id, project);
}

int edv__name_secret(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s-db-password", id);
}

int edv__name_sql_instance(const char *id, unsigned generation, char *buf,
                           size_t size)
{
  return spec_name(buf, size, "edv-%s-db-%u", id, generation);
}

int edv__name_vm(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s-vm", id);
}

int edv__name_disk(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s-boot", id);
}

int edv__name_snapshot_policy_prefix(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s-snap", id);
}

/* FNV-1a (32 bits) of the settings a snapshot schedule is made with. */
static uint32_t policy_hash(const edv__tier *t)
{
  char key[160];
  uint32_t h = 2166136261u;

  snprintf(key, sizeof(key), "%s|%s|%d|%s", t->name, t->snapshot_start_time,
           t->snapshot_retention_days, t->snapshot_on_delete);
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h;
}

int edv__name_snapshot_policy(const char *id, const edv__tier *t, char *buf,
                              size_t size)
{
  if (!t)
    return EDV_EINVAL;
  return spec_name(buf, size, "edv-%s-snap-%dd-%08x", id,
                   t->snapshot_retention_days, (unsigned)policy_hash(t));
}

int edv__name_instance_group(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s-ig", id);
}

int edv__name_backend_service(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s-be", id);
}

int edv__name_certificate(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, "edv-%s-cert", id);
}

int edv__name_dns_authorization(const char *id, edv__host_kind host, char *buf,
                                size_t size)
{
  return spec_name(buf, size, "edv-%s-dnsauth%s", id,
                   host == EDV_HOST_ALIAS ? "-alias" : "");
}

int edv__name_cert_map_entry(const char *id, edv__host_kind host, char *buf,
                             size_t size)
{
  return spec_name(buf, size, "edv-%s-entry%s", id,
                   host == EDV_HOST_ALIAS ? "-alias" : "");
}

/* "<label>.<domain>." with exactly one trailing dot. */
static int spec_fqdn(const char *label, const char *domain, char *buf,
                     size_t size)
{
  size_t n;

  if (!domain)
    return EDV_EINVAL;
  n = strlen(domain);
  if (n && domain[n - 1] == '.')
    n--;
  if (n > 253)
    return EDV_EINVAL;
  return spec_name(buf, size, "%s.%.*s.", label, (int)n, domain);
}

int edv__name_dns_primary(const edv__tenant_spec *spec, const char *domain,
                          char *buf, size_t size)
{
  return spec_fqdn(spec->id, domain, buf, size);
}

int edv__name_dns_alias(const edv__tenant_spec *spec, const char *domain,
                        char *buf, size_t size)
{
  return spec_fqdn(spec->slug, domain, buf, size);
}

int edv__spec_has_alias(const edv__tenant_spec *spec)
{
  return strcmp(spec->id, spec->slug) != 0;
}

json_object *edv__tenant_labels(const char *id, const char *tier)
{
  json_object *o = json_object_new_object();

  if (!o)
    return NULL;
  if (json_object_object_add(o, EDV_LABEL_MANAGED,
                             json_object_new_string("true")) ||
      json_object_object_add(o, EDV_LABEL_TENANT, json_object_new_string(id)) ||
      json_object_object_add(o, EDV_LABEL_TIER, json_object_new_string(tier))) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

int edv__labels_owner(json_object *labels, char *id, size_t size)
{
  json_object *m, *t;

  if (!labels || !json_object_is_type(labels, json_type_object) ||
      !json_object_object_get_ex(labels, EDV_LABEL_MANAGED, &m) ||
      !json_object_object_get_ex(labels, EDV_LABEL_TENANT, &t) ||
      !json_object_is_type(m, json_type_string) ||
      !json_object_is_type(t, json_type_string) ||
      strcmp(json_object_get_string(m), "true") != 0)
    return 0;
  if (id && spec_name(id, size, "%s", json_object_get_string(t)))
    return 0;
  return 1;
}

int edv__tenant_description(const char *id, char *buf, size_t size)
{
  return spec_name(buf, size, EDV_MARKER_PREFIX "%s", id);
}

int edv__description_owner(const char *description, char *id, size_t size)
{
  size_t plen = strlen(EDV_MARKER_PREFIX), n;
  const char *p;

  if (!description || strncmp(description, EDV_MARKER_PREFIX, plen) != 0)
    return 0;
  p = description + plen;
  n = strcspn(p, " ");
  if (n == 0 || n > EDV_TENANT_ID_MAX)
    return 0;
  if (id && spec_name(id, size, "%.*s", (int)n, p))
    return 0;
  return 1;
}
