/*
 * api_alerts.c - the alert intake and the incidents (edv/fleet.h, "Alert
 * incidents"; docs/api.md):
 *
 *   POST /api/alerts/notifications  Cloud Monitoring's webhook_basicauth
 *                                   channel: HTTP Basic auth, user
 *                                   edv-alerts and the password of
 *                                   alerts.intake_password_file (read at
 *                                   start); no bearer token. 404 when no
 *                                   password file is configured.
 *   GET  /api/alerts/incidents      the incidents (viewer role)
 *
 * The password is compared in constant time (SHA-256 of both, then
 * CRYPTO_memcmp) and never logged; the audit line names the user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "server/api.h"

#define ALERTS_USER  "edv-alerts"
#define ALERTS_REALM "Basic realm=\"edvd-alerts\", charset=\"UTF-8\""
#define ALERTS_B64   1024 /* the credentials' base64, at most */

/* SHA-256 of s[0..n) into md; 0 on failure. */
static int alerts_sha256(const void *s, size_t n, unsigned char *md)
{
  unsigned len = 0;

  return EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

/* 1 when `h` is "Basic base64(edv-alerts:PASSWORD)" with edvd's password. */
static int alerts_basic_ok(const edvd *d, const char *h)
{
  unsigned char raw[ALERTS_B64], want[32], got[32];
  size_t n, pad = 0;
  int len, ok = 0;
  char *colon;

  if (!h || strncasecmp(h, "Basic ", 6) != 0)
    return 0;
  h += 6;
  while (*h == ' ')
    h++;
  n = strlen(h);
  while (n && h[n - 1] == ' ')
    n--;
  if (n == 0 || n % 4 || n >= ALERTS_B64)
    return 0;
  pad = (h[n - 1] == '=') + (h[n - 2] == '=');
  len = EVP_DecodeBlock(raw, (const unsigned char *)h, (int)n);
  if (len < 0 || (size_t)len < pad)
    return 0;
  len -= (int)pad;
  raw[len] = '\0';
  colon = memchr(raw, ':', (size_t)len);
  if (colon && (size_t)(colon - (char *)raw) == strlen(ALERTS_USER) &&
      memcmp(raw, ALERTS_USER, strlen(ALERTS_USER)) == 0 &&
      alerts_sha256(colon + 1, (size_t)len - (size_t)(colon + 1 - (char *)raw),
                    got) &&
      alerts_sha256(d->intake_password, strlen(d->intake_password), want))
    ok = CRYPTO_memcmp(got, want, sizeof(want)) == 0;
  OPENSSL_cleanse(raw, sizeof(raw));
  OPENSSL_cleanse(got, sizeof(got));
  return ok;
}

void api_alerts_notify(api_ctx *c, const char *id)
{
  const char *h = edv__http_header(c->req, "Authorization");
  json_object *body;
  edv_error err;
  int result;

  (void)id;
  if (!c->d->intake_password) {
    api_error(c, 404, NULL, NULL,
              "the alert intake is disabled: set "
              "alerts.intake_password_file to enable it");
    return;
  }
  /* This route takes Basic auth alone: whatever a bearer token said, the
   * caller is who the credentials name. */
  c->who[0] = c->token_id[0] = '\0';
  c->role = EDV_ROLE_NONE;
  if (!alerts_basic_ok(c->d, h)) {
    edv__http_add_header(c->req, "WWW-Authenticate", ALERTS_REALM);
    api_error(c, 401, NULL, NULL,
              h && strncasecmp(h, "Bearer ", 7) == 0
                  ? "a bearer token is not accepted here: the alert intake "
                    "takes HTTP Basic auth (user " ALERTS_USER ")"
                  : "HTTP Basic auth with user " ALERTS_USER
                    " and the intake's password is required");
    return;
  }
  snprintf(c->who, sizeof(c->who), "%s", ALERTS_USER);
  c->basic = 1;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (!(body = api_body_object(c)))
    return;
  result = edv_alert_notification(c->d->ef, body, api_lib_200, c, &err);
  json_object_put(body);
  if (result == EDV_EBUSY) {
    /* The store is locked (an edvctl writing): Monitoring retries a 5xx,
     * never a 409. */
    edv__http_add_header(c->req, "Retry-After", "1");
    api_error(c, 503, NULL, NULL, "%s", err.message);
    return;
  }
  api_lib_wait(c, result, &err, 15000);
}

void api_incidents_list(api_ctx *c, const char *id)
{
  static const char *const allowed[] = {"state", "tenant", "page_token",
                                        "limit", NULL};
  const char *lim = edv__http_query(c->req, "limit");
  edv_incident_query q;
  edv_error err;
  char *end = NULL;
  long n = 0;

  (void)id;
  if (api_query_only(c, allowed))
    return;
  if (lim && ((n = strtol(lim, &end, 10)) < 1 || n > 1000 || *end)) {
    api_error(c, 400, NULL, "limit", "query parameter 'limit' must be 1..1000");
    return;
  }
  memset(&q, 0, sizeof(q));
  q.state = edv__http_query(c->req, "state");
  q.tenant = edv__http_query(c->req, "tenant");
  q.page_token = edv__http_query(c->req, "page_token");
  q.limit = (unsigned)n;
  api_lib_wait(c, edv_incidents_list(c->d->ef, &q, api_lib_200, c, &err), &err,
               15000);
}
