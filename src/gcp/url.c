/*
 * url.c - URL building and parsing for Google Cloud REST paths.
 *
 * Resource names in Google's APIs are mostly [a-z0-9-], but ids and filter
 * values are user input, and an unescaped '/', '?' or '#' in one of them
 * would silently address a different resource. So every segment and query
 * value we build goes through edv__url_escape().
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "edv/url.h"
#include "gcp/gcp.h"

/* A growable string; on any allocation failure `s` becomes NULL for good. */
typedef struct url_buf {
  char *s;    /* the string, NUL-terminated, or NULL after a failure */
  size_t len; /* bytes used, without the NUL */
  size_t cap; /* bytes allocated */
} url_buf;

static void url_buf_add(url_buf *b, const char *p, size_t n)
{
  char *s;
  size_t cap;

  if (!b->s)
    return;
  if (b->len + n + 1 > b->cap) {
    cap = b->cap * 2;
    while (cap < b->len + n + 1)
      cap *= 2;
    s = realloc(b->s, cap);
    if (!s) {
      free(b->s);
      b->s = NULL;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static int url_unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

static void url_buf_add_escaped(url_buf *b, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  char enc[3];
  const unsigned char *p;
  const char *run;

  run = s;
  for (p = (const unsigned char *)s; *p; p++) {
    if (url_unreserved(*p))
      continue;
    url_buf_add(b, run, (size_t)((const char *)p - run));
    enc[0] = '%';
    enc[1] = hex[*p >> 4];
    enc[2] = hex[*p & 15];
    url_buf_add(b, enc, 3);
    run = (const char *)p + 1;
  }
  url_buf_add(b, run, strlen(run));
}

static int url_buf_init(url_buf *b, size_t cap)
{
  b->cap = cap < 16 ? 16 : cap;
  b->len = 0;
  b->s = malloc(b->cap);
  if (b->s)
    b->s[0] = '\0';
  return b->s ? 0 : -1;
}

char *edv__url_escape(const char *s)
{
  url_buf b;

  if (!s || url_buf_init(&b, strlen(s) + 1) != 0)
    return NULL;
  url_buf_add_escaped(&b, s);
  return b.s;
}

char *edv__url_pathf(const char *fmt, ...)
{
  url_buf b;
  va_list ap;
  const char *p, *run, *arg;
  int bad = 0;

  if (!fmt || url_buf_init(&b, strlen(fmt) + 64) != 0)
    return NULL;
  va_start(ap, fmt);
  run = fmt;
  for (p = fmt; !bad && *p; p++) {
    if (*p != '%')
      continue;
    url_buf_add(&b, run, (size_t)(p - run));
    p++;
    arg = NULL;
    if (*p == 's' || *p == 'S')
      arg = va_arg(ap, const char *);
    if (*p == '%')
      url_buf_add(&b, "%", 1);
    else if (*p == 's' && arg)
      url_buf_add_escaped(&b, arg);
    else if (*p == 'S' && arg)
      url_buf_add(&b, arg, strlen(arg));
    else
      bad = 1; /* NULL argument or a conversion we do not support */
    run = p + 1;
  }
  va_end(ap);
  if (bad) {
    free(b.s);
    return NULL;
  }
  url_buf_add(&b, run, strlen(run));
  return b.s;
}

char *edv__url_append_query(char *url, const char *key, const char *value)
{
  url_buf b;

  if (!url || !key || !value)
    return url;
  b.s = url;
  b.len = strlen(url);
  b.cap = b.len + 1;
  url_buf_add(&b, strchr(url, '?') ? "&" : "?", 1);
  url_buf_add_escaped(&b, key);
  url_buf_add(&b, "=", 1);
  url_buf_add_escaped(&b, value);
  return b.s; /* NULL, with url freed, when out of memory */
}

const char *edv__url_path(const char *url)
{
  const char *p;

  if (!url)
    return NULL;
  if (url[0] == '/')
    return url[1] == '/' ? NULL : url; /* "//host" is not a path */
  p = strstr(url, "://");
  if (!p || p == url)
    return NULL;
  p += 3;
  p += strcspn(p, "/?#");
  if (*p == '/')
    return p;
  return *p == '\0' ? "/" : NULL;
}

/* Copies [p, p + n) into buf when it fits and is not empty. */
static char *url_copy(const char *p, size_t n, char *buf, size_t size)
{
  if (n == 0 || !buf || n >= size)
    return NULL;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return buf;
}

char *edv__url_last_segment(const char *url, char *buf, size_t size)
{
  size_t end;
  const char *start;

  if (!url)
    return NULL;
  end = strcspn(url, "?#");
  while (end > 0 && url[end - 1] == '/')
    end--;
  start = url + end;
  while (start > url && start[-1] != '/')
    start--;
  return url_copy(start, (size_t)(url + end - start), buf, size);
}

char *edv__url_segment_after(const char *url, const char *key, char *buf,
                             size_t size)
{
  const char *p, *end;
  size_t klen, n;

  if (!url || !key)
    return NULL;
  klen = strlen(key);
  end = url + strcspn(url, "?#");
  for (p = url; p < end; p += n + 1) {
    n = strcspn(p, "/?#");
    if (n == klen && memcmp(p, key, klen) == 0 && p[n] == '/')
      return url_copy(p + n + 1, strcspn(p + n + 1, "/?#"), buf, size);
  }
  return NULL;
}

char *edv__zone_from_url(const char *zone_url, char *buf, size_t size)
{
  if (zone_url && strchr(zone_url, '/'))
    return edv__url_segment_after(zone_url, "zones", buf, size);
  return edv__url_last_segment(zone_url, buf, size);
}

char *edv__region_from_url(const char *region_url, char *buf, size_t size)
{
  if (region_url && strchr(region_url, '/'))
    return edv__url_segment_after(region_url, "regions", buf, size);
  return edv__url_last_segment(region_url, buf, size);
}

/* The names of edv_api, as edv_api_name() spells them. Kept here so the
 * helpers do not depend on the transport being linked. */
static const char *const url_api_names[EDV_API__COUNT] = {
    "compute",
    "sqladmin",
    "dns",
    "certificatemanager",
    "monitoring",
    "iam",
    "secretmanager",
    "servicenetworking",
    "oauth2",
    "other",
    "cloudresourcemanager",
};

edv_api edv__api_from_name(const char *name)
{
  int i;

  if (!name)
    return EDV_API__COUNT;
  for (i = 0; i < EDV_API__COUNT; i++) {
    if (strcmp(name, url_api_names[i]) == 0)
      return (edv_api)i;
  }
  return EDV_API__COUNT;
}

/* "compute" from "compute.googleapis.com[:443]/...", else EDV_API__COUNT. */
static edv_api url_api_from_host(const char *url)
{
  const char *host, *dot;
  char name[32];
  size_t n;

  host = strstr(url, "://");
  if (!host)
    return EDV_API__COUNT;
  host += 3;
  n = strcspn(host, "/:?#");
  dot = memchr(host, '.', n);
  if (!dot || (size_t)(host + n - dot) != strlen(".googleapis.com") ||
      strncmp(dot, ".googleapis.com", strlen(".googleapis.com")) != 0)
    return EDV_API__COUNT;
  if ((size_t)(dot - host) >= sizeof(name))
    return EDV_API__COUNT;
  memcpy(name, host, (size_t)(dot - host));
  name[dot - host] = '\0';
  if (strcmp(name, "www") == 0) /* legacy www.googleapis.com/compute/v1 */
    return EDV_API__COUNT;
  return edv__api_from_name(name);
}

/* Does `p` start with `prefix` followed by '/', '?' or the end? */
static int url_has_prefix(const char *p, const char *prefix)
{
  size_t n = strlen(prefix);

  return strncmp(p, prefix, n) == 0 &&
         (p[n] == '\0' || p[n] == '/' || p[n] == '?');
}

/* /v1/projects/{p}/<collection>...: the API from the collection. */
static edv_api url_api_from_v1_project(const char *p)
{
  static const struct {
    const char *collection;
    edv_api api;
  } map[] = {
      {"locations", EDV_API_CERTIFICATEMANAGER},
      {"secrets", EDV_API_SECRETMANAGER},
      {"serviceAccounts", EDV_API_IAM},
      {"instances", EDV_API_SQLADMIN},
      {"operations", EDV_API_SQLADMIN},
      {"flags", EDV_API_SQLADMIN},
      {"tiers", EDV_API_SQLADMIN},
  };
  size_t i;

  p += strcspn(p, "/?"); /* skip the project id */
  if (*p != '/')
    return EDV_API_OTHER;
  p++;
  for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (url_has_prefix(p, map[i].collection))
      return map[i].api;
  }
  return EDV_API_OTHER;
}

edv_api edv__api_from_url(const char *path_or_url)
{
  const char *p;
  edv_api api;

  if (!path_or_url)
    return EDV_API_OTHER;
  api = url_api_from_host(path_or_url);
  if (api != EDV_API__COUNT)
    return api;
  p = edv__url_path(path_or_url);
  if (!p)
    return EDV_API_OTHER;
  if (url_has_prefix(p, "/compute"))
    return EDV_API_COMPUTE;
  if (url_has_prefix(p, "/sql"))
    return EDV_API_SQLADMIN;
  if (url_has_prefix(p, "/dns"))
    return EDV_API_DNS;
  if (url_has_prefix(p, "/v3"))
    return EDV_API_MONITORING;
  if (url_has_prefix(p, "/token") || url_has_prefix(p, "/oauth2"))
    return EDV_API_OAUTH2;
  if (url_has_prefix(p, "/v1/services") || url_has_prefix(p, "/v1/operations"))
    return EDV_API_SERVICENETWORKING;
  if (strncmp(p, "/v1/projects/", strlen("/v1/projects/")) == 0) {
    /* Resource Manager's custom methods on the project itself:
     * /v1/projects/{p}:getIamPolicy, :setIamPolicy. */
    const char *id = p + strlen("/v1/projects/");
    size_t n = strcspn(id, "/?");
    const char *colon = memchr(id, ':', n);
    if (colon)
      return EDV_API_CLOUDRESOURCEMANAGER;
    return url_api_from_v1_project(id);
  }
  return EDV_API_OTHER;
}

/* ---- the public names (edv/url.h) ---------------------------------------*/

edv_api edv_api_from_name(const char *name)
{
  return edv__api_from_name(name);
}

edv_api edv_api_from_url(const char *path_or_url)
{
  return edv__api_from_url(path_or_url);
}

const char *edv_url_path(const char *url)
{
  return edv__url_path(url);
}

char *edv_url_segment_after(const char *url, const char *key, char *buf,
                            size_t size)
{
  return edv__url_segment_after(url, key, buf, size);
}
