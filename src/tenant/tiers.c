/*
 * tiers.c - load and validate tiers.json; monthly cost estimates.
 *
 * The validator walks the JSON with a small context that knows the file
 * label and the current tier, so that every message reads
 * "<file>: tier '<name>': field '<path>' <problem>". Validation stops at the
 * first error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tenant/tiers.h"

/* Validation context: where we are, for messages. */
typedef struct tiers_ctx {
  const char *label; /* "tiers.json" */
  const char *tier;  /* current tier name, or NULL at the top level */
  edv_error *err;
} tiers_ctx;

/* Fails with "<label>: [tier 'T': ]field 'F' <problem>". */
static int tiers_fail(tiers_ctx *c, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int tiers_fail(tiers_ctx *c, const char *field, const char *fmt, ...)
{
  char what[256];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (c->tier)
    edv_error_set(c->err, EDV_ECONFIG, "%s: tier '%s': field '%s' %s", c->label,
                  c->tier, field, what);
  else
    edv_error_set(c->err, EDV_ECONFIG, "%s: field '%s' %s", c->label, field,
                  what);
  if (c->err)
    snprintf(c->err->where, sizeof(c->err->where), "%s", c->label);
  return EDV_ECONFIG;
}

/* Joins "prefix.key" (or just key) into buf for messages. */
static const char *tiers_path(char *buf, size_t size, const char *prefix,
                              const char *key)
{
  if (prefix && *prefix)
    snprintf(buf, size, "%s.%s", prefix, key);
  else
    snprintf(buf, size, "%s", key);
  return buf;
}

/* Refuses keys of `obj` not in the NULL-terminated `allowed` list. */
static int tiers_check_keys(tiers_ctx *c, json_object *obj, const char *prefix,
                            const char *const *allowed)
{
  char path[128];
  size_t i;

  json_object_object_foreach(obj, key, val)
  {
    (void)val;
    for (i = 0; allowed[i]; i++)
      if (strcmp(key, allowed[i]) == 0)
        break;
    if (!allowed[i] && strcmp(key, "comment") != 0 && strcmp(key, "notes") != 0)
      return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                        "is not a known field");
  }
  return 0;
}

static int tiers_object(tiers_ctx *c, json_object *parent, const char *prefix,
                        const char *key, json_object **out)
{
  char path[128];

  if (!json_object_object_get_ex(parent, key, out) ||
      !json_object_is_type(*out, json_type_object))
    return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                      "must be an object");
  return 0;
}

static int tiers_int(tiers_ctx *c, json_object *obj, const char *prefix,
                     const char *key, long min, long max, int *out)
{
  json_object *v;
  char path[128];
  int64_t n;

  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_int))
    goto bad;
  n = json_object_get_int64(v);
  if (n < min || n > max)
    goto bad;
  *out = (int)n;
  return 0;
bad:
  return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                    "must be an integer %ld..%ld", min, max);
}

static int tiers_num(tiers_ctx *c, json_object *obj, const char *prefix,
                     const char *key, double min, double max, double *out)
{
  json_object *v;
  char path[128];
  double d;

  if (!json_object_object_get_ex(obj, key, &v) ||
      !(json_object_is_type(v, json_type_int) ||
        json_object_is_type(v, json_type_double)))
    goto bad;
  d = json_object_get_double(v);
  if (!(d >= min && d <= max))
    goto bad;
  *out = d;
  return 0;
bad:
  return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                    "must be a number %g..%g", min, max);
}

static int tiers_bool(tiers_ctx *c, json_object *obj, const char *prefix,
                      const char *key, int *out)
{
  json_object *v;
  char path[128];

  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_boolean))
    return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                      "must be true or false");
  *out = json_object_get_boolean(v);
  return 0;
}

/* A non-empty string that fits buf. */
static int tiers_str(tiers_ctx *c, json_object *obj, const char *prefix,
                     const char *key, char *buf, size_t size)
{
  json_object *v;
  char path[128];
  const char *s;

  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                      "must be a string");
  s = json_object_get_string(v);
  if (!*s || strlen(s) >= size)
    return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                      "must be a string of 1..%zu bytes", size - 1);
  memcpy(buf, s, strlen(s) + 1);
  return 0;
}

/* One of a NULL-terminated list of values. */
static int tiers_enum(tiers_ctx *c, json_object *obj, const char *prefix,
                      const char *key, const char *const *values, char *buf,
                      size_t size)
{
  char path[128], list[128] = "";
  size_t i, n = 0;

  if (tiers_str(c, obj, prefix, key, buf, size) == 0)
    for (i = 0; values[i]; i++)
      if (strcmp(buf, values[i]) == 0)
        return 0;
  for (i = 0; values[i]; i++)
    n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0,
                          "%s%s", i ? ", " : "", values[i]);
  return tiers_fail(c, tiers_path(path, sizeof(path), prefix, key),
                    "must be one of %s", list);
}

/* [a-z][a-z0-9_-]* of at most max bytes: tier, feature and app names. */
static int tiers_name_ok(const char *s, size_t max)
{
  size_t i, n = strlen(s);

  if (n == 0 || n > max || s[0] < 'a' || s[0] > 'z')
    return 0;
  for (i = 1; i < n; i++)
    if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
          s[i] == '_' || s[i] == '-'))
      return 0;
  return 1;
}

/* "HH:MM" in UTC; with `grid4`, HH must be a multiple of 4 and MM 00 (the
 * rule for daily snapshot schedules). */
static int tiers_hhmm_ok(const char *s, int grid4)
{
  int h, m;

  if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
      !isdigit((unsigned char)s[1]) || s[2] != ':' ||
      !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
    return 0;
  h = (s[0] - '0') * 10 + (s[1] - '0');
  m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59)
    return 0;
  return !grid4 || (h % 4 == 0 && m == 0);
}

int edv__machine_type_valid(const char *mt)
{
  size_t i, n;
  int parts = 0;

  if (!mt)
    return 0;
  n = strlen(mt);
  if (n == 0 || n > EDV_MACHINE_TYPE_MAX || !islower((unsigned char)mt[0]))
    return 0;
  for (i = 0; i < n; i++) {
    if (mt[i] == '-') {
      /* no empty part: not at the end, not twice in a row */
      if (i + 1 == n || mt[i + 1] == '-')
        return 0;
      parts++;
    } else if (!islower((unsigned char)mt[i]) &&
               !isdigit((unsigned char)mt[i])) {
      return 0;
    }
  }
  return parts >= 1;
}

/* Parses a decimal integer of at most 6 digits without leading zero;
 * advances *p. Returns -1 on error. */
static int tiers_small_int(const char **p)
{
  const char *s = *p;
  int v = 0, n = 0;

  if (!isdigit((unsigned char)*s) ||
      (*s == '0' && isdigit((unsigned char)s[1])))
    return -1;
  while (isdigit((unsigned char)*s)) {
    if (++n > 6)
      return -1;
    v = v * 10 + (*s++ - '0');
  }
  *p = s;
  return v;
}

int edv__sql_tier_parse(const char *tier, int *shared_core, int *vcpu,
                        int *memory_mb)
{
  const char *p;
  int cpu, mb;

  if (!tier)
    return 0;
  if (strcmp(tier, "db-f1-micro") == 0 || strcmp(tier, "db-g1-small") == 0) {
    cpu = mb = 0;
    goto ok;
  }
  if (strncmp(tier, "db-custom-", 10) != 0)
    return 0;
  p = tier + 10;
  cpu = tiers_small_int(&p);
  if (cpu < 0 || *p++ != '-')
    return 0;
  mb = tiers_small_int(&p);
  if (mb < 0 || *p != '\0')
    return 0;
  if (!(cpu == 1 || (cpu >= 2 && cpu <= 96 && cpu % 2 == 0)))
    return 0;
  if (mb % 256 != 0 || mb < 3840)
    return 0;
  /* 0.9..6.5 GB per vCPU, GB = 1024 MB, in integers: 10*mb within
   * [9*1024*cpu, 65*1024*cpu]. db-custom-2-4096: 40960 in
   * [18432, 133120]; db-custom-4-8192: 81920 in [36864, 266240]. */
  if ((long)mb * 10 < 9L * 1024 * cpu || (long)mb * 10 > 65L * 1024 * cpu)
    return 0;
ok:
  if (shared_core)
    *shared_core = cpu == 0;
  if (vcpu)
    *vcpu = cpu;
  if (memory_mb)
    *memory_mb = mb;
  return 1;
}

/* A JSON array of catalog names: unique, [a-z][a-z0-9_-]*, and (when a
 * catalog is given) each one in it. */
static int tiers_list(tiers_ctx *c, json_object *obj, const char *key,
                      size_t ncat, char (*cat)[EDV_TIER_ITEM_MAX + 1],
                      size_t *n, char (*out)[EDV_TIER_ITEM_MAX + 1])
{
  json_object *arr, *v;
  size_t i, j, len;
  const char *s;

  if (!json_object_object_get_ex(obj, key, &arr) ||
      !json_object_is_type(arr, json_type_array))
    return tiers_fail(c, key, "must be an array of names");
  len = json_object_array_length(arr);
  if (len > EDV_TIER_LIST_MAX)
    return tiers_fail(c, key, "has more than %d entries", EDV_TIER_LIST_MAX);
  for (i = 0; i < len; i++) {
    v = json_object_array_get_idx(arr, i);
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                 : "";
    if (!tiers_name_ok(s, EDV_TIER_ITEM_MAX))
      return tiers_fail(c, key, "entry %zu must be a name [a-z][a-z0-9_-]*", i);
    for (j = 0; j < i; j++)
      if (strcmp(out[j], s) == 0)
        return tiers_fail(c, key, "lists '%s' twice", s);
    if (cat) {
      for (j = 0; j < ncat; j++)
        if (strcmp(cat[j], s) == 0)
          break;
      if (j == ncat)
        return tiers_fail(c, key, "names '%s', which is not in the catalog", s);
    }
    snprintf(out[i], sizeof(out[i]), "%s", s);
  }
  *n = len;
  return 0;
}

static const edv__price *tiers_price(const edv__price *table, size_t n,
                                     const char *name)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(table[i].name, name) == 0)
      return &table[i];
  return NULL;
}

/* Index of shared-core SQL tier `name` in the price table, or -1. */
static int tiers_shared_index(const edv__prices *p, const char *name)
{
  size_t i;

  for (i = 0; i < p->nshared; i++)
    if (strcmp(p->sql_shared_per_hour[i][0].name, name) == 0)
      return (int)i;
  return -1;
}

static int tiers_load_sql(tiers_ctx *c, json_object *t, edv__tier *tier,
                          const edv__prices *prices)
{
  static const char *const keys[] = {"tier",
                                     "edition",
                                     "database_version",
                                     "availability_type",
                                     "data_disk_gb",
                                     "data_disk_type",
                                     "backup_start_time",
                                     "point_in_time_recovery",
                                     "transaction_log_retention_days",
                                     "retained_backups",
                                     NULL};
  static const char *const editions[] = {"ENTERPRISE", NULL};
  static const char *const avail[] = {"ZONAL", "REGIONAL", NULL};
  static const char *const disks[] = {"PD_SSD", NULL};
  edv__tier_sql *q = &tier->sql;
  json_object *o;
  char av[16];
  int rc;

  if ((rc = tiers_object(c, t, NULL, "sql", &o)) ||
      (rc = tiers_check_keys(c, o, "sql", keys)) ||
      (rc = tiers_str(c, o, "sql", "tier", q->tier, sizeof(q->tier))))
    return rc;
  if (!edv__sql_tier_parse(q->tier, &q->shared_core, &q->custom_vcpu,
                           &q->custom_memory_mb))
    return tiers_fail(c, "sql.tier",
                      "'%s' is not a PostgreSQL tier (db-f1-micro, "
                      "db-g1-small, db-custom-<vCPU 1 or even 2..96>-<MB: "
                      "multiple of 256, >= 3840, 0.9..6.5 GB per vCPU>)",
                      q->tier);
  if (q->shared_core && tiers_shared_index(prices, q->tier) < 0)
    return tiers_fail(c, "sql.tier",
                      "'%s' has no price in prices.sql.shared_core_per_hour",
                      q->tier);
  if ((rc = tiers_enum(c, o, "sql", "edition", editions, q->edition,
                       sizeof(q->edition))) ||
      (rc = tiers_str(c, o, "sql", "database_version", q->database_version,
                      sizeof(q->database_version))))
    return rc;
  if (strncmp(q->database_version, "POSTGRES_", 9) != 0 ||
      strspn(q->database_version + 9, "0123456789") !=
          strlen(q->database_version + 9) ||
      !q->database_version[9])
    return tiers_fail(c, "sql.database_version", "must be POSTGRES_<major>");
  if ((rc = tiers_enum(c, o, "sql", "availability_type", avail, av,
                       sizeof(av))) ||
      (rc = tiers_int(c, o, "sql", "data_disk_gb", 10, 65536,
                      &q->data_disk_gb)) ||
      (rc = tiers_enum(c, o, "sql", "data_disk_type", disks, q->data_disk_type,
                       sizeof(q->data_disk_type))) ||
      (rc = tiers_str(c, o, "sql", "backup_start_time", q->backup_start_time,
                      sizeof(q->backup_start_time))))
    return rc;
  q->regional = strcmp(av, "REGIONAL") == 0;
  if (!tiers_hhmm_ok(q->backup_start_time, 0))
    return tiers_fail(c, "sql.backup_start_time", "must be \"HH:MM\" (UTC)");
  if ((rc = tiers_bool(c, o, "sql", "point_in_time_recovery", &q->pitr)) ||
      (rc = tiers_int(c, o, "sql", "transaction_log_retention_days", 1, 7,
                      &q->transaction_log_retention_days)) ||
      (rc = tiers_int(c, o, "sql", "retained_backups", 1,
                      EDV_TIER_RETENTION_MAX, &q->retained_backups)))
    return rc;
  /* Daily backups: keeping N days means keeping N backups. */
  if (q->retained_backups != tier->retention_days)
    return tiers_fail(c, "sql.retained_backups",
                      "must equal backup.retention_days (%d) for daily "
                      "backups",
                      tier->retention_days);
  return 0;
}

static int tiers_load_snapshot(tiers_ctx *c, json_object *t, edv__tier *tier)
{
  static const char *const keys[] = {"start_time", "retention_days",
                                     "on_source_disk_delete", NULL};
  static const char *const ondel[] = {"KEEP_AUTO_SNAPSHOTS",
                                      "APPLY_RETENTION_POLICY", NULL};
  json_object *o;
  int rc;

  if ((rc = tiers_object(c, t, NULL, "snapshot", &o)) ||
      (rc = tiers_check_keys(c, o, "snapshot", keys)) ||
      (rc = tiers_str(c, o, "snapshot", "start_time", tier->snapshot_start_time,
                      sizeof(tier->snapshot_start_time))))
    return rc;
  if (!tiers_hhmm_ok(tier->snapshot_start_time, 1))
    return tiers_fail(c, "snapshot.start_time",
                      "must be 00:00, 04:00, 08:00, 12:00, 16:00 or 20:00 "
                      "(UTC)");
  if ((rc =
           tiers_int(c, o, "snapshot", "retention_days", 1,
                     EDV_TIER_RETENTION_MAX, &tier->snapshot_retention_days)) ||
      (rc = tiers_enum(c, o, "snapshot", "on_source_disk_delete", ondel,
                       tier->snapshot_on_delete,
                       sizeof(tier->snapshot_on_delete))))
    return rc;
  if (tier->snapshot_retention_days != tier->retention_days)
    return tiers_fail(c, "snapshot.retention_days",
                      "must equal backup.retention_days (%d)",
                      tier->retention_days);
  return 0;
}

static int tiers_load_vm(tiers_ctx *c, json_object *t, edv__tier *tier,
                         const edv__prices *prices)
{
  static const char *const dtypes[] = {"pd-ssd", "pd-balanced", "pd-standard",
                                       NULL};
  int rc;

  if ((rc = tiers_str(c, t, NULL, "machine_type", tier->machine_type,
                      sizeof(tier->machine_type))))
    return rc;
  if (!edv__machine_type_valid(tier->machine_type))
    return tiers_fail(c, "machine_type",
                      "'%s' is not a machine type ([a-z][a-z0-9]*-...)",
                      tier->machine_type);
  if (!tiers_price(prices->compute_per_hour, prices->ncompute,
                   tier->machine_type))
    return tiers_fail(c, "machine_type",
                      "'%s' has no price in prices.compute_per_hour",
                      tier->machine_type);
  if ((rc = tiers_int(c, t, NULL, "vcpu", 1, 416, &tier->vcpu)) ||
      (rc = tiers_num(c, t, NULL, "memory_gb", 0.5, 12288, &tier->memory_gb)) ||
      (rc = tiers_int(c, t, NULL, "disk_gb", 10, 65536, &tier->disk_gb)) ||
      (rc = tiers_enum(c, t, NULL, "disk_type", dtypes, tier->disk_type,
                       sizeof(tier->disk_type))))
    return rc;
  if (!tiers_price(prices->disk_per_gb_month, prices->ndisk, tier->disk_type))
    return tiers_fail(c, "disk_type",
                      "'%s' has no price in prices.disk_per_gb_month",
                      tier->disk_type);
  return 0;
}

/* backup.final_backup_days: how long a deleted tenant's final backup is
 * kept (optional; EDV_TIER_FINAL_BACKUP_MIN..EDV_TIER_RETENTION_MAX,
 * default the minimum). */
static int tiers_final_backup(tiers_ctx *c, json_object *b, edv__tier *tier)
{
  tier->final_backup_days = EDV_TIER_FINAL_BACKUP_MIN;
  if (!json_object_object_get_ex(b, "final_backup_days", NULL))
    return 0;
  return tiers_int(c, b, "backup", "final_backup_days",
                   EDV_TIER_FINAL_BACKUP_MIN, EDV_TIER_RETENTION_MAX,
                   &tier->final_backup_days);
}

static int tiers_load_tier(tiers_ctx *c, json_object *t, edv__tiers *all,
                           edv__tier *tier)
{
  static const char *const keys[] = {
      "name",     "display_name", "machine_type", "vcpu",   "memory_gb",
      "disk_gb",  "disk_type",    "max_users",    "backup", "sql",
      "snapshot", "features",     "app_access",   NULL};
  static const char *const freqs[] = {"daily", NULL};
  json_object *v, *b;
  int rc;

  if (!json_object_is_type(t, json_type_object))
    return tiers_fail(c, "tiers", "entries must be objects");
  if (!json_object_object_get_ex(t, "name", &v) ||
      !json_object_is_type(v, json_type_string) ||
      !tiers_name_ok(json_object_get_string(v), EDV_TIER_NAME_MAX))
    return tiers_fail(c, "tiers[].name",
                      "must be a name [a-z][a-z0-9_-]* of at most %d bytes",
                      EDV_TIER_NAME_MAX);
  snprintf(tier->name, sizeof(tier->name), "%s", json_object_get_string(v));
  if (edv__tiers_find(all, tier->name))
    return tiers_fail(c, "tiers[].name", "'%s' is defined twice", tier->name);
  c->tier = tier->name;
  if ((rc = tiers_check_keys(c, t, NULL, keys)) ||
      (rc = tiers_str(c, t, NULL, "display_name", tier->display_name,
                      sizeof(tier->display_name))) ||
      (rc = tiers_load_vm(c, t, tier, &all->prices)) ||
      (rc =
           tiers_int(c, t, NULL, "max_users", 1, 10000000, &tier->max_users)) ||
      (rc = tiers_object(c, t, NULL, "backup", &b)) ||
      (rc = tiers_check_keys(
           c, b, "backup",
           (const char *const[]){"frequency", "retention_days",
                                 "final_backup_days", NULL})) ||
      (rc = tiers_enum(c, b, "backup", "frequency", freqs,
                       tier->backup_frequency,
                       sizeof(tier->backup_frequency))) ||
      (rc = tiers_int(c, b, "backup", "retention_days", 1,
                      EDV_TIER_RETENTION_MAX, &tier->retention_days)) ||
      (rc = tiers_final_backup(c, b, tier)) ||
      (rc = tiers_load_sql(c, t, tier, &all->prices)) ||
      (rc = tiers_load_snapshot(c, t, tier)) ||
      (rc = tiers_list(c, t, "features", all->nfeatures, all->features,
                       &tier->nfeatures, tier->features)) ||
      (rc = tiers_list(c, t, "app_access", all->napps, all->apps, &tier->napps,
                       tier->app_access)))
    return rc;
  c->tier = NULL;
  return 0;
}

/* An object of "name": number >= 0 into a price table. */
static int tiers_price_table(tiers_ctx *c, json_object *obj, const char *prefix,
                             const char *key, edv__price *table, size_t *n)
{
  json_object *o;
  char path[128];
  int rc;

  if ((rc = tiers_object(c, obj, prefix, key, &o)))
    return rc;
  tiers_path(path, sizeof(path), prefix, key);
  *n = 0;
  json_object_object_foreach(o, name, val)
  {
    (void)val;
    if (*n == EDV_TIER_PRICES_MAX || strlen(name) > EDV_MACHINE_TYPE_MAX)
      return tiers_fail(c, path, "has too many or too long entries");
    snprintf(table[*n].name, sizeof(table[*n].name), "%s", name);
    if ((rc = tiers_num(c, o, path, name, 0, 1e6, &table[*n].value)))
      return rc;
    (*n)++;
  }
  return 0;
}

/* {"ZONAL": x, "REGIONAL": y} into v[0], v[1]. */
static int tiers_avail_pair(tiers_ctx *c, json_object *obj, const char *prefix,
                            const char *key, double *v)
{
  static const char *const keys[] = {"ZONAL", "REGIONAL", NULL};
  json_object *o;
  char path[128];
  int rc;

  tiers_path(path, sizeof(path), prefix, key);
  if ((rc = tiers_object(c, obj, prefix, key, &o)) ||
      (rc = tiers_check_keys(c, o, path, keys)) ||
      (rc = tiers_num(c, o, path, "ZONAL", 0, 1e6, &v[0])) ||
      (rc = tiers_num(c, o, path, "REGIONAL", 0, 1e6, &v[1])))
    return rc;
  return 0;
}

static int tiers_load_sql_prices(tiers_ctx *c, json_object *po, edv__prices *p)
{
  static const char *const keys[] = {
      "vcpu_per_hour",        "memory_gb_per_hour",
      "shared_core_per_hour", "storage_ssd_per_gb_month",
      "backup_per_gb_month",  NULL};
  json_object *o, *sc;
  char path[128];
  int rc;

  if ((rc = tiers_object(c, po, "prices", "sql", &o)) ||
      (rc = tiers_check_keys(c, o, "prices.sql", keys)) ||
      (rc = tiers_avail_pair(c, o, "prices.sql", "vcpu_per_hour",
                             p->sql_vcpu_per_hour)) ||
      (rc = tiers_avail_pair(c, o, "prices.sql", "memory_gb_per_hour",
                             p->sql_memory_gb_per_hour)) ||
      (rc = tiers_avail_pair(c, o, "prices.sql", "storage_ssd_per_gb_month",
                             p->sql_storage_per_gb_month)) ||
      (rc = tiers_num(c, o, "prices.sql", "backup_per_gb_month", 0, 1e6,
                      &p->sql_backup_per_gb_month)) ||
      (rc = tiers_object(c, o, "prices.sql", "shared_core_per_hour", &sc)))
    return rc;
  p->nshared = 0;
  json_object_object_foreach(sc, name, val)
  {
    double pair[2];

    (void)val;
    tiers_path(path, sizeof(path), "prices.sql.shared_core_per_hour", name);
    if (p->nshared == EDV_TIER_PRICES_MAX ||
        !edv__sql_tier_parse(name, NULL, NULL, NULL))
      return tiers_fail(c, path, "must name a Cloud SQL tier");
    if ((rc = tiers_avail_pair(c, sc, "prices.sql.shared_core_per_hour", name,
                               pair)))
      return rc;
    snprintf(p->sql_shared_per_hour[p->nshared][0].name,
             sizeof(p->sql_shared_per_hour[0][0].name), "%s", name);
    p->sql_shared_per_hour[p->nshared][0].value = pair[0];
    p->sql_shared_per_hour[p->nshared][1] =
        p->sql_shared_per_hour[p->nshared][0];
    p->sql_shared_per_hour[p->nshared][1].value = pair[1];
    p->nshared++;
  }
  return 0;
}

/* YYYY, YYYY-MM or YYYY-MM-DD; "undated" where the source gives no date
 * (a date is never invented). */
static int tiers_date_ok(const char *d)
{
  static const char *const shapes[] = {"dddd", "dddd-dd", "dddd-dd-dd", NULL};
  size_t i, j;

  if (strcmp(d, "undated") == 0)
    return 1;
  for (i = 0; shapes[i]; i++) {
    if (strlen(d) != strlen(shapes[i]))
      continue;
    for (j = 0; shapes[i][j]; j++)
      if (shapes[i][j] == 'd' ? !isdigit((unsigned char)d[j]) : d[j] != '-')
        break;
    if (!shapes[i][j])
      return 1;
  }
  return 0;
}

static int tiers_load_sources(tiers_ctx *c, json_object *po, edv__prices *p)
{
  static const char *const keys[] = {"ref", "date", "covers", "what", NULL};
  json_object *arr, *s;
  size_t i, n;
  int rc;

  if (!json_object_object_get_ex(po, "sources", &arr) ||
      !json_object_is_type(arr, json_type_array) ||
      (n = json_object_array_length(arr)) == 0 || n > 8)
    return tiers_fail(c, "prices.sources",
                      "must be an array of 1..8 dated sources");
  for (i = 0; i < n; i++) {
    s = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(s, json_type_object))
      return tiers_fail(c, "prices.sources", "entries must be objects");
    if ((rc = tiers_check_keys(c, s, "prices.sources[]", keys)) ||
        (rc = tiers_str(c, s, "prices.sources[]", "ref", p->sources[i].ref,
                        sizeof(p->sources[i].ref))) ||
        (rc = tiers_str(c, s, "prices.sources[]", "date", p->sources[i].date,
                        sizeof(p->sources[i].date))))
      return rc;
    if (!tiers_date_ok(p->sources[i].date))
      return tiers_fail(c, "prices.sources[].date",
                        "must be YYYY, YYYY-MM, YYYY-MM-DD or \"undated\"");
  }
  p->nsources = n;
  return 0;
}

static int tiers_load_prices(tiers_ctx *c, json_object *root, edv__prices *p)
{
  static const char *const keys[] = {"currency",
                                     "region",
                                     "sources",
                                     "compute_per_hour",
                                     "disk_per_gb_month",
                                     "snapshot_per_gb_month",
                                     "sql",
                                     "forwarding_rule_per_hour",
                                     "dns_zone_per_month",
                                     NULL};
  json_object *po;
  int rc;

  if ((rc = tiers_object(c, root, NULL, "prices", &po)) ||
      (rc = tiers_check_keys(c, po, "prices", keys)) ||
      (rc = tiers_str(c, po, "prices", "currency", p->currency,
                      sizeof(p->currency))) ||
      (rc = tiers_str(c, po, "prices", "region", p->region,
                      sizeof(p->region))) ||
      (rc = tiers_load_sources(c, po, p)) ||
      (rc = tiers_price_table(c, po, "prices", "compute_per_hour",
                              p->compute_per_hour, &p->ncompute)) ||
      (rc = tiers_price_table(c, po, "prices", "disk_per_gb_month",
                              p->disk_per_gb_month, &p->ndisk)) ||
      (rc = tiers_num(c, po, "prices", "snapshot_per_gb_month", 0, 1e6,
                      &p->snapshot_per_gb_month)) ||
      (rc = tiers_load_sql_prices(c, po, p)) ||
      (rc = tiers_num(c, po, "prices", "forwarding_rule_per_hour", 0, 1e6,
                      &p->forwarding_rule_per_hour)) ||
      (rc = tiers_num(c, po, "prices", "dns_zone_per_month", 0, 1e6,
                      &p->dns_zone_per_month)))
    return rc;
  return 0;
}

static int tiers_load_cost_model(tiers_ctx *c, json_object *root,
                                 edv__cost_model *m)
{
  static const char *const keys[] = {"hours_per_month",
                                     "fleet_size",
                                     "shared_forwarding_rules",
                                     "shared_dns_zones",
                                     "disk_used_fraction",
                                     "daily_change_fraction",
                                     NULL};
  json_object *o;
  int rc;

  if ((rc = tiers_object(c, root, NULL, "cost_model", &o)) ||
      (rc = tiers_check_keys(c, o, "cost_model", keys)) ||
      (rc = tiers_num(c, o, "cost_model", "hours_per_month", 1, 744,
                      &m->hours_per_month)) ||
      (rc = tiers_int(c, o, "cost_model", "fleet_size", 1, 1000000,
                      &m->fleet_size)) ||
      (rc = tiers_int(c, o, "cost_model", "shared_forwarding_rules", 0, 100,
                      &m->shared_forwarding_rules)) ||
      (rc = tiers_int(c, o, "cost_model", "shared_dns_zones", 0, 100,
                      &m->shared_dns_zones)) ||
      (rc = tiers_num(c, o, "cost_model", "disk_used_fraction", 0, 1,
                      &m->disk_used_fraction)) ||
      (rc = tiers_num(c, o, "cost_model", "daily_change_fraction", 0, 1,
                      &m->daily_change_fraction)))
    return rc;
  return 0;
}

static int tiers_load_root(tiers_ctx *c, json_object *root, edv__tiers *t)
{
  static const char *const keys[] = {"schema_version", "source", "features",
                                     "apps",           "tiers",  "prices",
                                     "cost_model",     NULL};
  json_object *arr;
  size_t i, n;
  int rc;

  if (!json_object_is_type(root, json_type_object))
    return tiers_fail(c, "(root)", "must be an object");
  if ((rc = tiers_check_keys(c, root, NULL, keys)) ||
      (rc = tiers_int(c, root, NULL, "schema_version", 1, 1000000,
                      &t->schema_version)))
    return rc;
  if (t->schema_version != EDV_TIERS_SCHEMA_VERSION)
    return tiers_fail(c, "schema_version", "is %d; this build reads version %d",
                      t->schema_version, EDV_TIERS_SCHEMA_VERSION);
  if ((rc = tiers_list(c, root, "features", 0, NULL, &t->nfeatures,
                       t->features)) ||
      (rc = tiers_list(c, root, "apps", 0, NULL, &t->napps, t->apps)) ||
      (rc = tiers_load_prices(c, root, &t->prices)) ||
      (rc = tiers_load_cost_model(c, root, &t->cost)))
    return rc;
  if (!json_object_object_get_ex(root, "tiers", &arr) ||
      !json_object_is_type(arr, json_type_array) ||
      (n = json_object_array_length(arr)) == 0 || n > EDV_TIERS_MAX)
    return tiers_fail(c, "tiers", "must be an array of 1..%d tiers",
                      EDV_TIERS_MAX);
  for (i = 0; i < n; i++) {
    if ((rc = tiers_load_tier(c, json_object_array_get_idx(arr, i), t,
                              &t->tiers[i])))
      return rc;
    t->ntiers = i + 1;
  }
  return 0;
}

/* The last path component, so messages say "tiers.json" and not where the
 * file happens to live. */
static const char *tiers_basename(const char *path)
{
  const char *slash = strrchr(path, '/');

  return slash ? slash + 1 : path;
}

int edv__tiers_load_string(const char *json, const char *label,
                           edv__tiers **out, edv_error *err)
{
  json_tokener *tok;
  json_object *root;
  enum json_tokener_error jerr;
  tiers_ctx c = {label ? label : "tiers", NULL, err};
  edv__tiers *t;
  int rc;

  if (!out)
    return edv_error_set(err, EDV_EINVAL, "tiers: no output");
  *out = NULL;
  if (!json)
    return edv_error_set(err, EDV_EINVAL, "tiers: no input");
  tok = json_tokener_new();
  if (!tok)
    return edv_error_set(err, EDV_ENOMEM, "%s", c.label);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  root = json_tokener_parse_ex(tok, json, (int)strlen(json) + 1);
  jerr = json_tokener_get_error(tok);
  if (!root || jerr != json_tokener_success) {
    rc = edv_error_set(err, EDV_ECONFIG, "%s: not valid JSON near byte %zu: %s",
                       c.label, json_tokener_get_parse_end(tok),
                       json_tokener_error_desc(jerr));
    json_object_put(root);
    json_tokener_free(tok);
    return rc;
  }
  json_tokener_free(tok);
  t = calloc(1, sizeof(*t));
  if (!t) {
    json_object_put(root);
    return edv_error_set(err, EDV_ENOMEM, "%s", c.label);
  }
  rc = tiers_load_root(&c, root, t);
  json_object_put(root);
  if (rc) {
    free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int edv__tiers_load_file(const char *path, edv__tiers **out, edv_error *err)
{
  FILE *f;
  char *buf = NULL;
  long size;
  int rc;

  if (!path || !out)
    return edv_error_set(err, EDV_EINVAL, "tiers: no file");
  *out = NULL;
  f = fopen(path, "rb");
  if (!f)
    return edv_error_set(err, EDV_EIO, "%s: cannot open: %s",
                         tiers_basename(path), strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
      size > 4 * 1024 * 1024 || fseek(f, 0, SEEK_SET) != 0)
    goto ioerr;
  buf = malloc((size_t)size + 1);
  if (!buf) {
    fclose(f);
    return edv_error_set(err, EDV_ENOMEM, "%s", tiers_basename(path));
  }
  if (fread(buf, 1, (size_t)size, f) != (size_t)size)
    goto ioerr;
  buf[size] = '\0';
  fclose(f);
  if (strlen(buf) != (size_t)size) {
    free(buf);
    return edv_error_set(err, EDV_ECONFIG, "%s: contains a NUL byte",
                         tiers_basename(path));
  }
  rc = edv__tiers_load_string(buf, tiers_basename(path), out, err);
  free(buf);
  return rc;
ioerr:
  free(buf);
  fclose(f);
  return edv_error_set(err, EDV_EIO, "%s: cannot read (or larger than 4 MB)",
                       tiers_basename(path));
}

void edv__tiers_free(edv__tiers *tiers)
{
  free(tiers);
}

const edv__tier *edv__tiers_find(const edv__tiers *tiers, const char *name)
{
  size_t i;

  if (!tiers || !name)
    return NULL;
  for (i = 0; i < tiers->ntiers; i++)
    if (strcmp(tiers->tiers[i].name, name) == 0)
      return &tiers->tiers[i];
  return NULL;
}

int edv__tier_has_feature(const edv__tier *tier, const char *feature)
{
  size_t i;

  for (i = 0; tier && feature && i < tier->nfeatures; i++)
    if (strcmp(tier->features[i], feature) == 0)
      return 1;
  return 0;
}

int edv__tier_has_app(const edv__tier *tier, const char *app)
{
  size_t i;

  for (i = 0; tier && app && i < tier->napps; i++)
    if (strcmp(tier->app_access[i], app) == 0)
      return 1;
  return 0;
}

int edv__tier_cost_estimate(const edv__tiers *tiers, const edv__tier *tier,
                            int fleet_size, edv__tier_cost *out, edv_error *err)
{
  const edv__prices *p;
  const edv__cost_model *m;
  const edv__price *vm, *disk;
  int ha, shared;
  double h, gb;

  if (!tiers || !tier || !out || fleet_size < 0)
    return edv_error_set(err, EDV_EINVAL, "cost estimate: bad arguments");
  p = &tiers->prices;
  m = &tiers->cost;
  ha = tier->sql.regional ? 1 : 0;
  h = m->hours_per_month;
  if (fleet_size == 0)
    fleet_size = m->fleet_size;
  vm = tiers_price(p->compute_per_hour, p->ncompute, tier->machine_type);
  disk = tiers_price(p->disk_per_gb_month, p->ndisk, tier->disk_type);
  shared = tiers_shared_index(p, tier->sql.tier);
  if (!vm || !disk || (tier->sql.shared_core && shared < 0))
    return edv_error_set(err, EDV_ENOTFOUND,
                         "cost estimate: tier '%s': a price is missing",
                         tier->name);
  memset(out, 0, sizeof(*out));
  out->vm = vm->value * h;
  out->disk = tier->disk_gb * disk->value;
  if (tier->sql.shared_core)
    out->sql = p->sql_shared_per_hour[shared][ha].value * h;
  else
    out->sql =
        (tier->sql.custom_vcpu * p->sql_vcpu_per_hour[ha] +
         tier->sql.custom_memory_mb / 1024.0 * p->sql_memory_gb_per_hour[ha]) *
        h;
  out->sql_storage = tier->sql.data_disk_gb * p->sql_storage_per_gb_month[ha];
  gb = tier->sql.data_disk_gb *
       (m->disk_used_fraction +
        m->daily_change_fraction * tier->sql.retained_backups);
  out->sql_backups = gb * p->sql_backup_per_gb_month;
  gb = tier->disk_gb *
       (m->disk_used_fraction +
        m->daily_change_fraction * tier->snapshot_retention_days);
  out->snapshots = gb * p->snapshot_per_gb_month;
  out->lb_share =
      p->forwarding_rule_per_hour * h * m->shared_forwarding_rules / fleet_size;
  out->dns_share = p->dns_zone_per_month * m->shared_dns_zones / fleet_size;
  out->total = out->vm + out->disk + out->sql + out->sql_storage +
               out->sql_backups + out->snapshots + out->lb_share +
               out->dns_share;
  return 0;
}
