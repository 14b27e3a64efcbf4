/*
 * dashboard.c - GET /dashboard/ and its files (server/dashboard.h).
 *
 * The path is compared with the embedded names as sent, never decoded
 * and never turned into a file name: "/dashboard/" is index.html,
 * "/dashboard/NAME" the file called exactly NAME, anything else 404. The
 * files need no token (they hold no data); every answer carries a
 * Content-Security-Policy that allows scripts, styles and connections to
 * this origin only and no inline script, nosniff, no framing, and
 * Cache-Control no-cache with an ETag (If-None-Match: 304).
 */
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/dashboard.h"

#define DASH_PREFIX "/dashboard"

static const char dash_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const edvd_asset *edvd_dashboard_find(const char *name)
{
  for (const edvd_asset *a = edvd_dashboard_assets; a->name; a++)
    if (strcmp(a->name, name) == 0)
      return a;
  return NULL;
}

/* An If-None-Match list holding `etag` (or `*`). */
static int etag_matches(const char *inm, const char *etag)
{
  size_t n = strlen(etag);

  for (const char *p = inm; p && *p;) {
    p += strspn(p, " ,");
    if (strncmp(p, "W/", 2) == 0)
      p += 2;
    if (*p == '*' || (strncmp(p, etag, n) == 0 && strchr(" ,", p[n])))
      return 1;
    p += strcspn(p, ",");
  }
  return 0;
}

static void dash_headers(edv_http_req *req)
{
  edv__http_add_header(req, "Content-Security-Policy", dash_csp);
  edv__http_add_header(req, "X-Content-Type-Options", "nosniff");
  edv__http_add_header(req, "X-Frame-Options", "DENY");
  edv__http_add_header(req, "Referrer-Policy", "no-referrer");
  edv__http_add_header(req, "Cache-Control", "no-cache");
}

int api_dashboard(api_ctx *c, const char *raw)
{
  const edvd_asset *a = NULL;
  const char *inm;
  char *body;

  if (strncmp(raw, DASH_PREFIX, strlen(DASH_PREFIX)) != 0 ||
      (raw[strlen(DASH_PREFIX)] != '\0' && raw[strlen(DASH_PREFIX)] != '/'))
    return 0;
  c->route = DASH_PREFIX "/";
  raw += strlen(DASH_PREFIX);
  if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
    edv__http_add_header(c->req, "Allow", "GET, HEAD");
    api_error(c, 405, NULL, NULL,
              "%s is not allowed on %s (allowed: GET, HEAD)", c->method,
              c->path);
    return 1;
  }
  if (*raw == '\0') { /* relative names in the page need the slash */
    edv__http_add_header(c->req, "Location", DASH_PREFIX "/");
    api_respond(c, 301, NULL, NULL, 0);
    return 1;
  }
  a = edvd_dashboard_find(raw[1] ? raw + 1 : "index.html");
  if (!a) {
    api_error(c, 404, NULL, NULL, "no dashboard file %s", c->path);
    return 1;
  }
  dash_headers(c->req);
  edv__http_add_header(c->req, "ETag", a->etag);
  inm = edv__http_header(c->req, "If-None-Match");
  if (inm && etag_matches(inm, a->etag)) {
    api_respond(c, 304, NULL, NULL, 0);
    return 1;
  }
  body = malloc(a->len ? a->len : 1);
  if (!body) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return 1;
  }
  memcpy(body, a->data, a->len);
  api_respond(c, 200, a->ctype, body, a->len);
  return 1;
}
