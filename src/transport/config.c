/*
 * config.c - include/edv/config.h: validated key/value configuration.
 *
 * Every key the program knows is a row of cfg_keys[] with a type (hence a
 * validator), a default and a line of documentation; docs/config.md lists
 * the same rows. Rows whose name holds "<api>" stand for one key per API
 * name of edv_api_name() ("endpoint.<api>" -> "endpoint.compute", ...).
 *
 * Values are stored normalised (booleans as "true"/"false", endpoints
 * without a trailing slash) in an array sorted by key, so edv_config_get()
 * is a binary search and edv_config_foreach() walks in key order.
 *
 * Loading a file or the environment is all or nothing: lines are applied to
 * a scratch copy, which replaces the configuration only when every line
 * was accepted.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport/transport.h"
#include "common/file.h"

typedef enum {
  CFG_STR,     /* any non-empty text without control characters */
  CFG_PATH,    /* a file or directory name */
  CFG_INT,     /* decimal integer in [min, max] */
  CFG_NUM,     /* positive decimal number */
  CFG_BOOL,    /* true/false/yes/no/on/off/1/0 */
  CFG_URL,     /* http:// or https:// URL */
  CFG_CIDR,    /* IPv4 a.b.c.d/n with the host bits clear */
  CFG_PROJECT, /* a project id */
  CFG_DOMAIN,  /* a DNS name */
  CFG_REGION,  /* us-central1 */
  CFG_ZONE,    /* us-central1-a */
  CFG_ENUM,    /* one of `choices` */
  CFG_LISTEN,  /* [host]:port */
  CFG_IDENT,   /* [a-z0-9_-]+ */
  CFG_LABELS,  /* DNS labels separated by commas, or "none" */
  CFG_ORIGINS, /* web origins separated by commas, or "none" */
  CFG_EMAILS,  /* e-mail addresses separated by commas, or "none" */
  CFG_HOOKS,   /* https:// URLs separated by commas, or "none" */
} cfg_type;

typedef struct cfg_key {
  const char *name; /* may contain "<api>" */
  cfg_type type;
  long long min, max;  /* CFG_INT */
  const char *choices; /* CFG_ENUM: "a|b|c" */
  const char *def;     /* default value, or NULL */
} cfg_key;

static const cfg_key cfg_keys[] = {
    {"project", CFG_PROJECT, 0, 0, NULL, NULL},
    {"domain", CFG_DOMAIN, 0, 0, NULL, "edvirons.com"},
    {"region", CFG_REGION, 0, 0, NULL, "us-central1"},
    {"zone", CFG_ZONE, 0, 0, NULL, NULL},
    {"release.image_project", CFG_PROJECT, 0, 0, NULL, NULL},
    {"endpoint", CFG_URL, 0, 0, NULL, NULL},
    {"endpoint.<api>", CFG_URL, 0, 0, NULL, NULL},
    {"key_file", CFG_PATH, 0, 0, NULL, NULL},
    {"access_token_file", CFG_PATH, 0, 0, NULL, NULL},
    {"auth.self_signed_jwt", CFG_BOOL, 0, 0, NULL, NULL},
    {"auth.scopes", CFG_STR, 0, 0, NULL, NULL},
    {"auth.subject", CFG_STR, 0, 0, NULL, NULL},
    {"http.timeout_ms", CFG_INT, 1, 86400000, NULL, "120000"},
    {"http.connect_timeout_ms", CFG_INT, 1, 600000, NULL, "10000"},
    {"http.max_response_bytes", CFG_INT, 1024, 1073741824, NULL, "33554432"},
    {"retry.initial_ms", CFG_INT, 1, 600000, NULL, "1000"},
    {"retry.max_ms", CFG_INT, 1, 3600000, NULL, "32000"},
    {"retry.max_attempts", CFG_INT, 1, 100, NULL, "8"},
    {"ratelimit.<api>.per_minute", CFG_INT, 0, 100000000, NULL, NULL},
    {"ratelimit.<api>.read.per_minute", CFG_INT, 0, 100000000, NULL, NULL},
    {"ratelimit.<api>.write.per_minute", CFG_INT, 0, 100000000, NULL, NULL},
    {"ratelimit.<api>.concurrency", CFG_INT, 0, 100000, NULL, NULL},
    {"supernet", CFG_CIDR, 0, 0, NULL, "10.64.0.0/10"},
    {"subnet_prefix", CFG_INT, 16, 29, NULL, "28"},
    {"log.level", CFG_ENUM, 0, 0, "error|warn|info|debug", "warn"},
    /* unset: JSON for edvd, text for edvctl */
    {"log.format", CFG_ENUM, 0, 0, "text|json", NULL},
    {"state_dir", CFG_PATH, 0, 0, NULL, NULL},
    {"tiers_file", CFG_PATH, 0, 0, NULL, NULL},
    {"sim.profile", CFG_IDENT, 0, 0, NULL, NULL},
    {"tenant.lease_ttl_s", CFG_INT, 5, 3600, NULL, NULL}, /* unset: 60 */
    /* unset: 7 days */
    {"tenant.delete_grace_s", CFG_INT, 0, 31536000, NULL, NULL},
    /* a release change: the new VM HEALTHY within this, or rolled back */
    {"release.health_timeout_s", CFG_INT, 1, 86400, NULL, "600"},
    /* unset: the built-in list (tenant/spec.h, docs/config.md) */
    {"dns.reserved_labels", CFG_LABELS, 0, 0, NULL, NULL},
    /* auto: the multi-region of the tenant region's continent; region: in
     * the tenant's region (no copy elsewhere); else a location name. */
    {"sql.backup_location", CFG_IDENT, 0, 0, NULL, "auto"},
    /* a tenant without a successful backup this long is stale */
    {"backup.stale_after_s", CFG_INT, 3600, 31536000, NULL, "93600"},
    /* where the fleet's alerts go (Monitoring notification channels) */
    {"alerts.email", CFG_EMAILS, 0, 0, NULL, "none"},
    {"alerts.webhook", CFG_HOOKS, 0, 0, NULL, "none"},
    /* Slack and PagerDuty channels; their secrets are read from 0600 files */
    {"alerts.slack_channel", CFG_STR, 0, 0, NULL, NULL},
    {"alerts.slack_token_file", CFG_PATH, 0, 0, NULL, NULL},
    {"alerts.pagerduty_key_file", CFG_PATH, 0, 0, NULL, NULL},
    /* edvd's own intake of Monitoring's notifications (webhook_basicauth) */
    {"alerts.intake_url", CFG_URL, 0, 0, NULL, NULL},
    {"alerts.intake_password_file", CFG_PATH, 0, 0, NULL, NULL},
    {"server.listen", CFG_LISTEN, 0, 0, NULL, NULL},
    {"server.reconcile_interval_s", CFG_INT, 0, 86400, NULL, "60"},
    {"server.health_interval_s", CFG_INT, 0, 86400, NULL, "30"},
    {"server.heal_after", CFG_INT, 1, 1000, NULL, "3"},
    {"server.heal_max_per_hour", CFG_INT, 0, 1000, NULL, "3"},
    {"server.drift_interval_s", CFG_INT, 0, 86400, NULL, "60"},
    {"server.delete_orphans", CFG_BOOL, 0, 0, NULL, "false"},
    {"server.orphan_grace_s", CFG_INT, 0, 604800, NULL, "3600"},
    {"server.probe_timeout_s", CFG_INT, 1, 300, NULL, "10"},
    {"server.probe_via", CFG_URL, 0, 0, NULL, NULL},
    {"server.tls_cert", CFG_PATH, 0, 0, NULL, NULL},
    {"server.tls_key", CFG_PATH, 0, 0, NULL, NULL},
    {"server.max_connections", CFG_INT, 16, 1000000, NULL, "4096"},
    {"server.max_connections_per_ip", CFG_INT, 0, 1000000, NULL, "64"},
    {"server.request_timeout_s", CFG_INT, 1, 3600, NULL, "30"},
    {"server.cors_origins", CFG_ORIGINS, 0, 0, NULL, "none"},
    /* edvd's store snapshots (docs/operations.md, "Lost edv.db") */
    {"state.snapshot_dir", CFG_PATH, 0, 0, NULL, NULL},
    {"state.snapshot_interval_s", CFG_INT, 0, 604800, NULL, "3600"},
    {"state.snapshot_keep", CFG_INT, 1, 10000, NULL, "24"},
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

typedef struct cfg_ent {
  char *key;
  char *value;
} cfg_ent;

struct edv_config {
  cfg_ent *ents; /* sorted by key */
  size_t n, cap;
};

/* ---- Key lookup --------------------------------------------------------*/

static int cfg_is_api(const char *s, size_t len)
{
  int api;

  for (api = 0; api < EDV_API__COUNT; api++) {
    const char *name = edv_api_name((edv_api)api);
    if (strlen(name) == len && strncmp(name, s, len) == 0)
      return 1;
  }
  return 0;
}

/* Matches a key against a row name, "<api>" standing for any API name. */
static int cfg_match(const char *pattern, const char *key)
{
  const char *hole = strstr(pattern, "<api>");
  size_t pre, post, klen = strlen(key);

  if (!hole)
    return strcmp(pattern, key) == 0;
  pre = (size_t)(hole - pattern);
  post = strlen(hole + 5);
  if (klen <= pre + post || strncmp(key, pattern, pre) != 0 ||
      strcmp(key + klen - post, hole + 5) != 0)
    return 0;
  return cfg_is_api(key + pre, klen - pre - post);
}

static const cfg_key *cfg_find_key(const char *key)
{
  size_t i;

  for (i = 0; i < CFG_NKEYS; i++)
    if (cfg_match(cfg_keys[i].name, key))
      return &cfg_keys[i];
  return NULL;
}

/* ---- Validators ---------------------------------------------------------
 * Each returns 0 and writes the normalised value to `norm`, or -1 with the
 * reason in `why`. */

static int cfg_printable(const char *v)
{
  for (; *v; v++)
    if ((unsigned char)*v < 0x20 || *v == 0x7f)
      return 0;
  return 1;
}

/* strtoll that insists on consuming the whole string. */
static int cfg_parse_ll(const char *v, long long *out)
{
  char *end;

  errno = 0;
  *out = strtoll(v, &end, 10);
  return errno == 0 && end != v && *end == '\0' ? 0 : -1;
}

static int cfg_check_int(const cfg_key *k, const char *v, char *why,
                         size_t wsize)
{
  long long n;

  if (cfg_parse_ll(v, &n) != 0) {
    snprintf(why, wsize, "'%s' is not an integer", v);
    return -1;
  }
  if (n < k->min || n > k->max) {
    snprintf(why, wsize, "%lld is out of range [%lld, %lld]", n, k->min,
             k->max);
    return -1;
  }
  return 0;
}

static int cfg_check_bool(const char *v, char *norm, size_t nsize)
{
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  size_t i;

  for (i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) {
      snprintf(norm, nsize, "true");
      return 0;
    }
    if (strcasecmp(v, no[i]) == 0) {
      snprintf(norm, nsize, "false");
      return 0;
    }
  }
  return -1;
}

/* Only http(s), with a host; stores the URL without trailing slashes. */
static int cfg_check_url(const char *v, char *norm, size_t nsize)
{
  const char *host;
  size_t n;

  if (strncmp(v, "http://", 7) == 0)
    host = v + 7;
  else if (strncmp(v, "https://", 8) == 0)
    host = v + 8;
  else
    return -1;
  if (!*host || *host == '/' || strpbrk(v, " \t\"<>\\"))
    return -1;
  n = strlen(v);
  while (n > 0 && v[n - 1] == '/')
    n--;
  snprintf(norm, nsize, "%.*s", (int)n, v);
  return 0;
}

/* Host bits must be clear: "10.64.0.1/10" is almost surely a typo. */
static int cfg_check_cidr(const char *v)
{
  unsigned a, b, c, d, len;
  char tail;
  unsigned long addr, mask;

  if (sscanf(v, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &len, &tail) != 5 ||
      a > 255 || b > 255 || c > 255 || d > 255 || len < 8 || len > 30)
    return -1;
  addr = ((unsigned long)a << 24) | (b << 16) | (c << 8) | d;
  mask = (0xffffffffUL << (32 - len)) & 0xffffffffUL;
  return (addr & ~mask & 0xffffffffUL) ? -1 : 0;
}

/* Lowercase letters, digits and hyphens; letter first; no hyphen last. */
static int cfg_label(const char *s, size_t len, int digit_first)
{
  size_t i;

  if (len == 0 || len > 63 || s[len - 1] == '-')
    return 0;
  if (!(islower((unsigned char)s[0]) ||
        (digit_first && isdigit((unsigned char)s[0]))))
    return 0;
  for (i = 0; i < len; i++)
    if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
        s[i] != '-')
      return 0;
  return 1;
}

/* Dot-separated labels, at least two, no trailing dot. */
static int cfg_check_domain(const char *v)
{
  const char *p = v, *dot;
  size_t n = strlen(v);

  if (n == 0 || n > 253 || v[n - 1] == '.')
    return -1;
  while ((dot = strchr(p, '.')) != NULL) {
    if (!cfg_label(p, (size_t)(dot - p), 1))
      return -1;
    p = dot + 1;
  }
  return cfg_label(p, strlen(p), 1) && p != v ? 0 : -1;
}

/* us-central1, europe-west4, northamerica-northeast1. */
static int cfg_check_region(const char *v)
{
  size_t n = strlen(v);

  if (!cfg_label(v, n, 0) || !strchr(v, '-') ||
      !isdigit((unsigned char)v[n - 1]))
    return -1;
  return 0;
}

/* A region followed by "-" and one letter. */
static int cfg_check_zone(const char *v)
{
  const char *dash = strrchr(v, '-');
  char region[64];

  if (!dash || dash - v >= (long)sizeof(region) || strlen(dash) != 2 ||
      !islower((unsigned char)dash[1]))
    return -1;
  snprintf(region, sizeof(region), "%.*s", (int)(dash - v), v);
  return cfg_check_region(region);
}

/* Project ids are 6-30 characters today, but tests and the simulator use
 * short ones, and old projects carry a "domain:" prefix. */
static int cfg_check_project(const char *v)
{
  size_t i, n = strlen(v);

  if (n == 0 || n > 100 || !isalnum((unsigned char)v[0]))
    return -1;
  for (i = 0; i < n; i++)
    if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) &&
        !strchr("-.:", v[i]))
      return -1;
  return 0;
}

static int cfg_check_enum(const char *choices, const char *v)
{
  size_t n = strlen(v);
  const char *p = choices;

  while (p) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && strncmp(p, v, n) == 0)
      return 0;
    p = bar ? bar + 1 : NULL;
  }
  return -1;
}

/* "8443", ":8443" or "127.0.0.1:8443"; the host part is not resolved. */
static int cfg_check_listen(const char *v)
{
  const char *colon = strrchr(v, ':');
  long long port;

  if (cfg_parse_ll(colon ? colon + 1 : v, &port) != 0 || port < 1 ||
      port > 65535)
    return -1;
  return strpbrk(v, " \t/") ? -1 : 0;
}

static int cfg_check_ident(const char *v)
{
  if (!*v)
    return -1;
  for (; *v; v++)
    if (!isalnum((unsigned char)*v) && *v != '-' && *v != '_')
      return -1;
  return 0;
}

/* "www, mail,api" -> "www,mail,api": each a DNS label ([a-z0-9-], 1..63,
 * no hyphen first or last); "none" for no label at all. */
static int cfg_check_labels(const char *v, char *norm, size_t nsize)
{
  size_t off = 0;
  const char *p = v;

  if (strcmp(v, "none") == 0)
    return 0;
  while (*p) {
    size_t n;
    while (*p == ' ' || *p == '\t')
      p++;
    n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
    if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-' ||
        off + n + 2 > nsize)
      return -1;
    off += (size_t)snprintf(norm + off, nsize - off, "%s%.*s", off ? "," : "",
                            (int)n, p);
    p += n;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == ',' && p[1])
      p++;
    else if (*p)
      return -1;
  }
  return 0;
}

/* "none", or origins ("https://ops.example.org", "http://localhost:8080")
 * separated by commas: a scheme, a host, an optional port; no path, no
 * wildcard (a browser page of any origin must not drive the API). */
static int cfg_check_origins(const char *v)
{
  if (strcmp(v, "none") == 0)
    return 0;
  while (*v) {
    size_t n = strcspn(v, ","), h;
    const char *host;
    if (strncmp(v, "http://", 7) == 0)
      host = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
      host = v + 8;
    else
      return -1;
    h = n - (size_t)(host - v);
    if (h == 0 || h > 253)
      return -1;
    for (size_t i = 0; i < h; i++)
      if (!isalnum((unsigned char)host[i]) && !strchr(".-:[]", host[i]))
        return -1;
    v += n;
    if (*v == ',' && v[1])
      v++;
    else if (*v)
      return -1;
  }
  return 0;
}

/* One e-mail address: local@domain, the local part of letters, digits
 * and ._%+- (what Monitoring's email channel takes without quoting). */
static int cfg_check_email(const char *v, size_t n)
{
  const char *at = memchr(v, '@', n);
  char dom[254];

  if (!at || at == v || (size_t)(at - v) > 64 ||
      n - (size_t)(at - v) - 1 >= sizeof(dom))
    return -1;
  for (const char *p = v; p < at; p++)
    if (!isalnum((unsigned char)*p) && !strchr("._%+-", *p))
      return -1;
  snprintf(dom, sizeof(dom), "%.*s", (int)(n - (size_t)(at - v) - 1), at + 1);
  return cfg_check_domain(dom);
}

/* One webhook: an https:// URL without spaces, quotes or commas. */
static int cfg_check_hook(const char *v, size_t n)
{
  char url[1024], norm[1024];

  if (n >= sizeof(url) || strncmp(v, "https://", 8) != 0)
    return -1;
  snprintf(url, sizeof(url), "%.*s", (int)n, v);
  return cfg_check_url(url, norm, sizeof(norm));
}

/* "none", or items separated by commas (spaces around them dropped), each
 * passing `one`; normalised to "a,b". */
static int cfg_check_list(const char *v, int (*one)(const char *, size_t),
                          char *norm, size_t nsize)
{
  size_t off = 0;

  if (strcmp(v, "none") == 0)
    return 0;
  while (*v) {
    size_t n;
    while (*v == ' ' || *v == '\t')
      v++;
    n = strcspn(v, ", \t");
    if (n == 0 || one(v, n) || off + n + 2 > nsize)
      return -1;
    off += (size_t)snprintf(norm + off, nsize - off, "%s%.*s", off ? "," : "",
                            (int)n, v);
    v += n;
    while (*v == ' ' || *v == '\t')
      v++;
    if (*v == ',' && v[1])
      v++;
    else if (*v)
      return -1;
  }
  return 0;
}

static int cfg_check_num(const char *v)
{
  char *end;
  double d;

  errno = 0;
  d = strtod(v, &end);
  return errno == 0 && end != v && *end == '\0' && d > 0 ? 0 : -1;
}

/* What a type expects, for error messages. */
static const char *cfg_expect(const cfg_key *k)
{
  static const char *const what[] = {
      [CFG_STR] = "a non-empty string",
      [CFG_PATH] = "a file name",
      [CFG_INT] = "an integer",
      [CFG_NUM] = "a positive number",
      [CFG_BOOL] = "true or false",
      [CFG_URL] = "an http:// or https:// URL",
      [CFG_CIDR] = "an IPv4 CIDR range a.b.c.d/n (n 8-30, host bits 0)",
      [CFG_PROJECT] = "a project id",
      [CFG_DOMAIN] = "a DNS domain such as example.com",
      [CFG_REGION] = "a region such as us-central1",
      [CFG_ZONE] = "a zone such as us-central1-a",
      [CFG_ENUM] = "one of",
      [CFG_LISTEN] = "[host:]port",
      [CFG_IDENT] = "letters, digits, '-' or '_'",
      [CFG_LABELS] = "DNS labels ([a-z0-9-]) separated by commas, or none",
      [CFG_ORIGINS] = "origins (https://host[:port]) separated by commas, "
                      "or none",
      [CFG_EMAILS] = "e-mail addresses separated by commas, or none",
      [CFG_HOOKS] = "https:// URLs separated by commas, or none",
  };
  return what[k->type];
}

/* Checks `v` against the row's type; fills norm or why. */
static int cfg_validate(const cfg_key *k, const char *v, char *norm,
                        size_t nsize, char *why, size_t wsize)
{
  int bad = 0;

  snprintf(norm, nsize, "%s", v);
  if (!*v || !cfg_printable(v)) {
    snprintf(why, wsize, "expected %s", cfg_expect(k));
    return -1;
  }
  switch (k->type) {
  case CFG_STR:
  case CFG_PATH:
    break;
  case CFG_INT:
    return cfg_check_int(k, v, why, wsize);
  case CFG_NUM:
    bad = cfg_check_num(v);
    break;
  case CFG_BOOL:
    bad = cfg_check_bool(v, norm, nsize);
    break;
  case CFG_URL:
    bad = cfg_check_url(v, norm, nsize);
    break;
  case CFG_CIDR:
    bad = cfg_check_cidr(v);
    break;
  case CFG_PROJECT:
    bad = cfg_check_project(v);
    break;
  case CFG_DOMAIN:
    bad = cfg_check_domain(v);
    break;
  case CFG_REGION:
    bad = cfg_check_region(v);
    break;
  case CFG_ZONE:
    bad = cfg_check_zone(v);
    break;
  case CFG_ENUM:
    bad = cfg_check_enum(k->choices, v);
    break;
  case CFG_LISTEN:
    bad = cfg_check_listen(v);
    break;
  case CFG_IDENT:
    bad = cfg_check_ident(v);
    break;
  case CFG_LABELS:
    bad = cfg_check_labels(v, norm, nsize);
    break;
  case CFG_ORIGINS:
    bad = cfg_check_origins(v);
    break;
  case CFG_EMAILS:
    bad = cfg_check_list(v, cfg_check_email, norm, nsize);
    break;
  case CFG_HOOKS:
    bad = cfg_check_list(v, cfg_check_hook, norm, nsize);
    break;
  }
  if (bad) {
    snprintf(why, wsize, "'%s' is not %s%s%s", v, cfg_expect(k),
             k->type == CFG_ENUM ? " " : "",
             k->type == CFG_ENUM ? k->choices : "");
    return -1;
  }
  return 0;
}

/* ---- Storage -------------------------------------------------------------*/

/* Index of key, or of where it would go (*found = 0). */
static size_t cfg_index(const edv_config *cfg, const char *key, int *found)
{
  size_t lo = 0, hi = cfg->n;

  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(cfg->ents[mid].key, key);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

/* Inserts or replaces, keeping the array sorted. */
static int cfg_store(edv_config *cfg, const char *key, const char *value)
{
  int found;
  size_t i = cfg_index(cfg, key, &found);
  char *v = strdup(value);

  if (!v)
    return -1;
  if (found) {
    free(cfg->ents[i].value);
    cfg->ents[i].value = v;
    return 0;
  }
  if (cfg->n == cfg->cap) {
    size_t cap = cfg->cap ? cfg->cap * 2 : 32;
    cfg_ent *p = realloc(cfg->ents, cap * sizeof(*p));
    if (!p) {
      free(v);
      return -1;
    }
    cfg->ents = p;
    cfg->cap = cap;
  }
  memmove(&cfg->ents[i + 1], &cfg->ents[i], (cfg->n - i) * sizeof(cfg_ent));
  cfg->ents[i].key = strdup(key);
  cfg->ents[i].value = v;
  cfg->n++;
  if (!cfg->ents[i].key) {
    cfg->n--;
    memmove(&cfg->ents[i], &cfg->ents[i + 1], (cfg->n - i) * sizeof(cfg_ent));
    free(v);
    return -1;
  }
  return 0;
}

static void cfg_clear(edv_config *cfg)
{
  size_t i;

  for (i = 0; i < cfg->n; i++) {
    free(cfg->ents[i].key);
    free(cfg->ents[i].value);
  }
  free(cfg->ents);
  cfg->ents = NULL;
  cfg->n = cfg->cap = 0;
}

/* Starts from the defaults of cfg_keys[]. */
edv_config *edv_config_new(void)
{
  edv_config *cfg = calloc(1, sizeof(*cfg));
  size_t i;

  if (!cfg)
    return NULL;
  for (i = 0; i < CFG_NKEYS; i++) {
    if (cfg_keys[i].def &&
        cfg_store(cfg, cfg_keys[i].name, cfg_keys[i].def) != 0) {
      edv_config_free(cfg);
      return NULL;
    }
  }
  return cfg;
}

void edv_config_free(edv_config *cfg)
{
  if (!cfg)
    return;
  cfg_clear(cfg);
  free(cfg);
}

edv_config *edv__config_dup(const edv_config *src)
{
  edv_config *cfg = calloc(1, sizeof(*cfg));
  size_t i;

  if (!cfg)
    return NULL;
  for (i = 0; src && i < src->n; i++) {
    if (cfg_store(cfg, src->ents[i].key, src->ents[i].value) != 0) {
      edv_config_free(cfg);
      return NULL;
    }
  }
  return cfg;
}

/* The single entry point that validates: files and the environment use it. */
int edv_config_key_valid(const char *key)
{
  return key && cfg_find_key(key) != NULL;
}

static int cfg_unknown_key(edv_error *err, const char *key)
{
  edv_error_set(err, EDV_ECONFIG, "unknown key '%s'", key);
  if (err)
    edv__strlcpy(err->where, key, sizeof(err->where));
  return EDV_ECONFIG;
}

int edv_config_set(edv_config *cfg, const char *key, const char *value,
                   edv_error *err)
{
  const cfg_key *k;
  char norm[1024], why[256];

  if (!cfg || !key || !value)
    return edv_error_set(err, EDV_EINVAL, "config: NULL argument");
  k = cfg_find_key(key);
  if (!k)
    return cfg_unknown_key(err, key);
  if (strlen(value) >= sizeof(norm) ||
      cfg_validate(k, value, norm, sizeof(norm), why, sizeof(why)) != 0) {
    if (strlen(value) >= sizeof(norm))
      snprintf(why, sizeof(why), "value too long");
    edv_error_set(err, EDV_ECONFIG, "key '%s': %s", key, why);
    if (err)
      edv__strlcpy(err->where, key, sizeof(err->where));
    return EDV_ECONFIG;
  }
  if (cfg_store(cfg, key, norm) != 0)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  return EDV_OK;
}

int edv_config_read_secret(const edv_config *cfg, const char *key, char *buf,
                           size_t size, edv_error *err)
{
  const char *path = edv_config_get(cfg, key);

  if (size)
    buf[0] = '\0';
  if (!path || !*path)
    return 1;
  return edv__file_read_secret(key, path, buf, size, err);
}

const char *edv_config_get(const edv_config *cfg, const char *key)
{
  int found;
  size_t i;

  if (!cfg || !key)
    return NULL;
  i = cfg_index(cfg, key, &found);
  return found ? cfg->ents[i].value : NULL;
}

long long edv_config_get_int(const edv_config *cfg, const char *key,
                             long long def)
{
  const char *v = edv_config_get(cfg, key);
  long long n;

  if (!v || cfg_parse_ll(v, &n) != 0)
    return def;
  return n;
}

void edv_config_foreach(const edv_config *cfg,
                        void (*fn)(void *data, const char *key,
                                   const char *value),
                        void *data)
{
  size_t i;

  if (!cfg || !fn)
    return;
  for (i = 0; i < cfg->n; i++)
    fn(data, cfg->ents[i].key, cfg->ents[i].value);
}

/* Replaces dst's entries by scratch's (after a successful load). */
static void cfg_adopt(edv_config *dst, edv_config *scratch)
{
  cfg_clear(dst);
  *dst = *scratch;
  free(scratch);
}

/* ---- Files ---------------------------------------------------------------*/

static char *cfg_trim(char *s)
{
  char *end;

  while (isspace((unsigned char)*s))
    s++;
  end = s + strlen(s);
  while (end > s && isspace((unsigned char)end[-1]))
    *--end = '\0';
  return s;
}

/*
 * Splits one line into key and value. Returns 1 for a key/value, 0 for a
 * blank or comment line, -1 for a syntax error (why filled).
 */
static int cfg_parse_line(char *line, char **key, char **value, char *why,
                          size_t wsize)
{
  char *eq, *v;
  size_t n;

  line = cfg_trim(line);
  if (!*line || *line == '#')
    return 0;
  eq = strchr(line, '=');
  if (!eq) {
    snprintf(why, wsize, "expected 'key = value'");
    return -1;
  }
  *eq = '\0';
  *key = cfg_trim(line);
  v = cfg_trim(eq + 1);
  n = strlen(v);
  if (n && v[0] == '"') {
    if (n < 2 || v[n - 1] != '"') {
      snprintf(why, wsize, "unterminated quoted value");
      return -1;
    }
    v[n - 1] = '\0';
    v++;
  } else {
    /* An unquoted value ends at a comment. */
    char *hash = strstr(v, " #");
    if (hash) {
      *hash = '\0';
      v = cfg_trim(v);
    }
  }
  if (!**key) {
    snprintf(why, wsize, "missing key before '='");
    return -1;
  }
  *value = v;
  return 1;
}

/* File errors name file:line in both the message and `where`. */
static int cfg_file_error(edv_error *err, const char *path, unsigned line,
                          const char *msg)
{
  edv_error_set(err, EDV_ECONFIG, "%s:%u: %s", path, line, msg);
  if (err)
    snprintf(err->where, sizeof(err->where), "%s:%u", path, line);
  return EDV_ECONFIG;
}

/* Applies every line of f to scratch; stops at the first error. */
static int cfg_load_lines(edv_config *scratch, FILE *f, const char *path,
                          edv_error *err)
{
  char buf[4096], why[256];
  char *key, *value;
  unsigned lineno = 0;
  edv_error e;
  int kind;

  while (fgets(buf, sizeof(buf), f)) {
    lineno++;
    if (!strchr(buf, '\n') && !feof(f))
      return cfg_file_error(err, path, lineno, "line too long");
    kind = cfg_parse_line(buf, &key, &value, why, sizeof(why));
    if (kind < 0)
      return cfg_file_error(err, path, lineno, why);
    if (kind == 0)
      continue;
    if (edv_config_set(scratch, key, value, &e) != 0)
      return cfg_file_error(err, path, lineno, e.message);
  }
  if (ferror(f))
    return cfg_file_error(err, path, lineno, "read error");
  return EDV_OK;
}

/* All or nothing: lines go to a scratch copy that replaces cfg at the end. */
int edv_config_load_file(edv_config *cfg, const char *path, edv_error *err)
{
  edv_config *scratch;
  FILE *f;
  int result;

  if (!cfg || !path)
    return edv_error_set(err, EDV_EINVAL, "config: NULL argument");
  f = fopen(path, "r");
  if (!f) {
    edv_error_set(err, EDV_ECONFIG, "%s: %s", path, strerror(errno));
    if (err)
      edv__strlcpy(err->where, path, sizeof(err->where));
    return EDV_ECONFIG;
  }
  scratch = edv__config_dup(cfg);
  if (!scratch) {
    fclose(f);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  result = cfg_load_lines(scratch, f, path, err);
  fclose(f);
  if (result != EDV_OK) {
    edv_config_free(scratch);
    return result;
  }
  cfg_adopt(cfg, scratch);
  return EDV_OK;
}

/* ---- Editing a file
 * --------------------------------------------------------*/

/* 1 when the line sets `key` (a copy is parsed: the line is kept as is). */
static int cfg_line_sets(const char *line, const char *key)
{
  char buf[4096], why[64], *k, *v;

  snprintf(buf, sizeof(buf), "%s", line);
  return cfg_parse_line(buf, &k, &v, why, sizeof(why)) == 1 &&
         strcmp(k, key) == 0;
}

/* Copies `path` to f without the lines that set `key`, then appends
 * "key = value" (quoted) when value is not NULL. A missing file is empty. */
static int cfg_rewrite(FILE *f, const char *path, const char *key,
                       const char *value, edv_error *err)
{
  char line[4096];
  FILE *in = fopen(path, "r");

  if (!in && errno != ENOENT) {
    edv_error_set(err, EDV_EIO, "%s: %s", path, strerror(errno));
    return EDV_EIO;
  }
  while (in && fgets(line, sizeof(line), in)) {
    if (!cfg_line_sets(line, key))
      fputs(line, f);
    if (!strchr(line, '\n') && !feof(in))
      break; /* too long: edv_config_load_file below refuses the result */
  }
  if (in)
    fclose(in);
  if (value)
    fprintf(f, "%s = \"%s\"\n", key, value);
  return EDV_OK;
}

int edv_config_file_set(const char *path, const char *key, const char *value,
                        edv_error *err)
{
  char tmp[4096];
  edv_config *check;
  struct stat st;
  FILE *f;
  int fd, result;

  if (!path || !key)
    return edv_error_set(err, EDV_EINVAL, "config: NULL argument");
  if (!cfg_find_key(key)) /* also for an unset */
    return cfg_unknown_key(err, key);
  check = edv_config_new();
  if (!check)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (value && (strchr(value, '"') || strchr(value, '\n'))) {
    edv_config_free(check);
    edv_error_set(err, EDV_ECONFIG,
                  "%s: a value in a config file cannot "
                  "hold '\"' or a newline",
                  key);
    return EDV_ECONFIG;
  }
  result = value ? edv_config_set(check, key, value, err) : EDV_OK;
  if (result != EDV_OK) {
    edv_config_free(check);
    return result;
  }
  if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp) ||
      (fd = mkstemp(tmp)) < 0) {
    edv_config_free(check);
    edv_error_set(err, EDV_EIO, "%s: cannot create a temporary file: %s", path,
                  strerror(errno));
    return EDV_EIO;
  }
  /* Keep the file's mode; a new one is 0600 (mkstemp's). */
  if (stat(path, &st) == 0)
    (void)fchmod(fd, st.st_mode & 07777);
  f = fdopen(fd, "w");
  result = f ? cfg_rewrite(f, path, key, value, err) : EDV_EIO;
  if (f && (fflush(f) != 0 || fsync(fd) != 0) && result == EDV_OK)
    result = edv_error_set(err, EDV_EIO, "%s: %s", tmp, strerror(errno));
  if (f)
    fclose(f);
  else
    close(fd);
  /* What is written must load: otherwise the old file stays. */
  if (result == EDV_OK)
    result = edv_config_load_file(check, tmp, err);
  if (result == EDV_OK && rename(tmp, path) != 0)
    result = edv_error_set(err, EDV_EIO, "%s: %s", path, strerror(errno));
  if (result != EDV_OK)
    unlink(tmp);
  edv_config_free(check);
  return result;
}

/* ---- Environment ---------------------------------------------------------*/

/* "http.timeout_ms" -> "EDV_HTTP_TIMEOUT_MS". */
static void cfg_env_name(const char *key, char *out, size_t size)
{
  size_t n = (size_t)snprintf(out, size, "EDV_");
  for (; *key && n + 1 < size; key++)
    out[n++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
  out[n] = '\0';
}

/* Applies EDV_<KEY> for one concrete key to scratch. */
static int cfg_env_one(edv_config *scratch, const char *key, edv_error *err)
{
  char name[128];
  const char *v;
  edv_error e;

  cfg_env_name(key, name, sizeof(name));
  v = getenv(name);
  if (!v || !*v)
    return EDV_OK;
  if (edv_config_set(scratch, key, v, &e) != 0) {
    edv_error_set(err, EDV_ECONFIG, "environment %s: %s", name, e.message);
    if (err)
      edv__strlcpy(err->where, name, sizeof(err->where));
    return EDV_ECONFIG;
  }
  return EDV_OK;
}

/* Visits every concrete key: rows with "<api>" once per API name. */
static int cfg_each_key(int (*fn)(edv_config *c, const char *key,
                                  edv_error *err),
                        edv_config *c, edv_error *err)
{
  char key[128];
  size_t i;
  int api, result;

  for (i = 0; i < CFG_NKEYS; i++) {
    const char *hole = strstr(cfg_keys[i].name, "<api>");
    if (!hole) {
      if ((result = fn(c, cfg_keys[i].name, err)) != 0)
        return result;
      continue;
    }
    for (api = 0; api < EDV_API__COUNT; api++) {
      snprintf(key, sizeof(key), "%.*s%s%s", (int)(hole - cfg_keys[i].name),
               cfg_keys[i].name, edv_api_name((edv_api)api), hole + 5);
      if ((result = fn(c, key, err)) != 0)
        return result;
    }
  }
  return EDV_OK;
}

/* All or nothing, like a file: EDV_<KEY> for every known key. */
int edv_config_load_env(edv_config *cfg, edv_error *err)
{
  edv_config *scratch;
  int result;

  if (!cfg)
    return edv_error_set(err, EDV_EINVAL, "config: NULL argument");
  scratch = edv__config_dup(cfg);
  if (!scratch)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  result = cfg_each_key(cfg_env_one, scratch, err);
  if (result != EDV_OK) {
    edv_config_free(scratch);
    return result;
  }
  cfg_adopt(cfg, scratch);
  return EDV_OK;
}
