/*
 * exchange.c - OAuth token endpoint calls and token response validation.
 *
 * Two grants, both POSTed as application/x-www-form-urlencoded through the
 * engine's own transport (EDV_API_OAUTH2, no Authorization header):
 *   - service_account: grant_type=urn:ietf:params:oauth:grant-type:
 *     jwt-bearer&assertion=<RS256 JWT> (RFC 7523);
 *   - authorized_user: grant_type=refresh_token&client_id&client_secret&
 *     refresh_token (RFC 6749 section 6).
 * A token exchange is safe to repeat, so the call is flagged idempotent and
 * the transport retries 408/429/5xx and connection failures within the
 * deadline, as google-auth-python does.
 *
 * The form body is a secret (assertion, client secret, refresh token): it
 * is kept alive until the callback and wiped then. Error messages carry the
 * OAuth `error` and `error_description`, redacted against our secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "auth/internal.h"
#include "common/log.h"

#define EX_TIMEOUT_MS 30000u /* whole exchange, retries included */

void edv__redact(char *msg, const char *secret)
{
  size_t n;
  char *p;

  if (!msg || !secret || (n = strlen(secret)) < 8)
    return;
  while ((p = strstr(msg, secret)) != NULL) {
    static const char mark[] = "[REDACTED]";
    size_t tail = strlen(p + n);
    size_t m = sizeof(mark) - 1 < n ? sizeof(mark) - 1 : n;
    memcpy(p, mark, m);
    memmove(p + m, p + n, tail + 1);
  }
}

/* ---- form bodies -------------------------------------------------------*/

typedef struct ex_buf {
  char *s;
  size_t len, cap;
  int oom;
} ex_buf;

static void ex_put(ex_buf *b, const char *s, size_t n)
{
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 512) + n;
    char *s2 = malloc(cap);
    if (!s2) {
      b->oom = 1;
      return;
    }
    /* Grow by copy, wiping the old buffer: it may hold secrets. */
    if (b->s) {
      memcpy(s2, b->s, b->len);
      OPENSSL_cleanse(b->s, b->cap);
      free(b->s);
    }
    b->s = s2;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

/* Appends "&key=value" with value percent-encoded (RFC 3986 unreserved
 * characters kept). */
static void ex_field(ex_buf *b, const char *key, const char *value)
{
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *v = (const unsigned char *)value;

  if (b->len)
    ex_put(b, "&", 1);
  ex_put(b, key, strlen(key));
  ex_put(b, "=", 1);
  for (; *v; v++) {
    char enc[3];
    if ((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
        (*v >= '0' && *v <= '9') || strchr("-._~", *v)) {
      ex_put(b, (const char *)v, 1);
      continue;
    }
    enc[0] = '%';
    enc[1] = hex[*v >> 4];
    enc[2] = hex[*v & 15];
    ex_put(b, enc, 3);
  }
}

static char *ex_finish(ex_buf *b)
{
  if (b->oom) {
    if (b->s) {
      OPENSSL_cleanse(b->s, b->cap);
      free(b->s);
    }
    return NULL;
  }
  return b->s;
}

/* ---- token responses ---------------------------------------------------*/

static int ex_bad(edv_error *err, const char *from, const char *field,
                  const char *what)
{
  edv_error_set(err, EDV_EPROTO, "token response from %s: field `%s` %s", from,
                field, what);
  if (err)
    snprintf(err->where, sizeof(err->where), "%s: %s", from, field);
  return EDV_EPROTO;
}

static int ex_token_chars_ok(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
      return 0;
  return 1;
}

int edv__token_response_parse(json_object *json, const char *from,
                              edv__fetch *f, edv_error *err)
{
  json_object *tok, *exp, *type;
  int64_t secs = 0;

  if (!json || !json_object_is_type(json, json_type_object))
    return ex_bad(err, from, "access_token", "missing (not a JSON object)");
  if (!json_object_object_get_ex(json, "access_token", &tok) ||
      !json_object_is_type(tok, json_type_string) ||
      json_object_get_string_len(tok) == 0)
    return ex_bad(err, from, "access_token", "is missing or not a string");
  if (!json_object_object_get_ex(json, "expires_in", &exp))
    return ex_bad(err, from, "expires_in", "is missing");
  if (json_object_is_type(exp, json_type_int)) {
    secs = json_object_get_int64(exp);
  } else if (json_object_is_type(exp, json_type_string)) {
    /* google-auth-python accepts a numeric string too. */
    const char *s = json_object_get_string(exp);
    char *end;
    long long v = strtoll(s, &end, 10);
    secs = (end != s && *end == '\0') ? v : 0;
  } else {
    return ex_bad(err, from, "expires_in", "is not a number");
  }
  if (secs <= 0)
    return ex_bad(err, from, "expires_in", "is not a positive number");
  if (!json_object_object_get_ex(json, "token_type", &type) ||
      !json_object_is_type(type, json_type_string) ||
      strcasecmp(json_object_get_string(type), "Bearer") != 0)
    return ex_bad(err, from, "token_type", "is missing or not \"Bearer\"");
  /* The token goes into an HTTP header: printable ASCII only, so a
   * hostile answer cannot smuggle in a header or a line break. */
  if (!ex_token_chars_ok(json_object_get_string(tok)))
    return ex_bad(err, from, "access_token", "holds invalid characters");
  edv__secret_free(f->token);
  f->token = strdup(json_object_get_string(tok));
  if (!f->token)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  f->expires_in = secs;
  return 0;
}

/* ---- the exchange call -------------------------------------------------*/

/* Redacts every value of the form body (the assertion, the client secret,
 * the refresh token) from msg: a server that echoes them must not get them
 * into an error. */
static void ex_redact_form(char *msg, const char *form)
{
  const char *p = form;

  while (p && *p) {
    const char *eq = strchr(p, '='), *amp = strchr(p, '&');
    const char *end = amp ? amp : p + strlen(p);
    if (eq && eq < end) {
      size_t n = (size_t)(end - eq - 1);
      char *v = strndup(eq + 1, n);
      if (v) {
        edv__redact(msg, v);
        OPENSSL_cleanse(v, n);
        free(v);
      }
    }
    p = amp ? amp + 1 : NULL;
  }
}

/* OAuth error body {"error":"invalid_grant","error_description":"..."}. */
static int ex_oauth_error(const edv_response *res, const char *uri,
                          edv__fetch *f)
{
  json_object *e = NULL, *d = NULL;
  const char *code;
  char *desc = NULL;
  edv_code result;

  if (!res->json || !json_object_object_get_ex(res->json, "error", &e) ||
      !json_object_is_type(e, json_type_string))
    return 0;
  code = json_object_get_string(e);
  if (json_object_object_get_ex(res->json, "error_description", &d) &&
      json_object_is_type(d, json_type_string))
    desc = strdup(json_object_get_string(d));
  /* Redact before truncating, so no prefix of a secret survives. */
  if (desc && f->form)
    ex_redact_form(desc, f->form);
  /* Refused credentials are ECRED; a 408, 429 or 5xx that outlived the
   * transport's retries keeps its transient code. */
  result = EDV_ECRED;
  if (res->error && (res->http_status >= 500 || res->http_status == 408 ||
                     res->http_status == 429))
    result = res->error->code;
  edv_error_set(&f->err, result,
                "token endpoint %s refused the request: %.64s%s%.300s", uri,
                code, desc && desc[0] ? ": " : "", desc ? desc : "");
  free(desc);
  f->err.http_status = res->http_status;
  snprintf(f->err.reason, sizeof(f->err.reason), "%s", code);
  return 1;
}

typedef struct ex_ctx {
  edv__fetch *f;
  char *uri;
} ex_ctx;

static void ex_done(void *data, const edv_response *res)
{
  ex_ctx *x = data;
  edv__fetch *f = x->f;

  f->call = NULL;
  if (!res->error) {
    if (edv__token_response_parse(res->json, x->uri, f, &f->err) != 0)
      f->failed = 1;
  } else {
    f->failed = 1;
    if (!ex_oauth_error(res, x->uri, f)) {
      f->err = *res->error;
      if (res->error->code == EDV_EUNAUTH || res->error->code == EDV_EPERM ||
          (res->http_status == 400 && res->error->code != EDV_EPROTO))
        f->err.code = EDV_ECRED;
    }
    snprintf(f->err.where, sizeof(f->err.where), "POST %s", x->uri);
  }
  if (f->failed && f->form) {
    ex_redact_form(f->err.message, f->form);
    ex_redact_form(f->err.reason, f->form);
  }
  if (f->form) {
    OPENSSL_cleanse(f->form, strlen(f->form));
    free(f->form);
    f->form = NULL;
  }
  free(x->uri);
  free(x);
  edv__fetch_call_done(f);
}

/*
 * The token endpoint: the credentials' token_uri, except that Google's
 * default one follows the engine's oauth2 endpoint when the configuration
 * moved it (endpoint.oauth2, or endpoint), so that the simulator can stand
 * in for Google with real key files, whose token_uri is always Google's.
 */
static char *ex_token_uri(edv_engine *engine, const edv__creds *c)
{
  const char *uri = c->token_uri ? c->token_uri : EDV__AUTH_TOKEN_URI;
  const char *ep = NULL;
  char *out;
  size_t n;

  if (strcmp(uri, EDV__AUTH_TOKEN_URI) == 0)
    ep = edv_engine_endpoint(engine, EDV_API_OAUTH2);
  if (!ep || strcmp(ep, "https://oauth2.googleapis.com") == 0)
    return strdup(uri);
  n = strlen(ep) + sizeof("/token");
  out = malloc(n);
  if (out)
    snprintf(out, n, "%s/token", ep);
  return out;
}

static char *ex_form(const edv__creds *c, const char *uri, const char *scope,
                     const char *sub, int64_t now, edv_error *err)
{
  ex_buf b = {0};

  if (c->kind == EDV_CRED_AUTHORIZED_USER) {
    ex_field(&b, "grant_type", "refresh_token");
    ex_field(&b, "client_id", c->client_id);
    ex_field(&b, "client_secret", c->client_secret);
    ex_field(&b, "refresh_token", c->refresh_token);
  } else {
    edv__creds to = *c; /* shallow: aud is the endpoint we post to */
    char *jwt;
    to.token_uri = (char *)uri;
    jwt = edv__jwt_assertion(&to, scope, sub, now, err);
    if (!jwt)
      return NULL;
    /* Pre-encoded: ':' becomes %3A. */
    ex_put(&b,
           "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3A"
           "jwt-bearer",
           strlen("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3A"
                  "jwt-bearer"));
    ex_field(&b, "assertion", jwt);
    edv__secret_free(jwt);
  }
  if (b.oom)
    edv_error_set(err, EDV_ENOMEM, "out of memory");
  return ex_finish(&b);
}

int edv__exchange_start(edv_engine *engine, const edv__creds *c,
                        const char *scope, const char *sub, int64_t now,
                        edv__fetch *f, edv_error *err)
{
  edv_request req = {0};
  ex_ctx *x;
  int result;

  x = calloc(1, sizeof(*x));
  if (!x || !(x->uri = ex_token_uri(engine, c))) {
    free(x);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  x->f = f;
  f->form = ex_form(c, x->uri, scope, sub, now, err);
  if (!f->form) {
    free(x->uri);
    free(x);
    return err ? (int)err->code : EDV_ECRED;
  }
  req.api = EDV_API_OAUTH2;
  req.method = "POST";
  req.path = x->uri;
  req.form = f->form;
  req.flags = EDV_REQ_NOAUTH | EDV_REQ_IDEMPOTENT;
  req.timeout_ms = EX_TIMEOUT_MS;
  req.label = "oauth2.token";
  f->pending++;
  result = edv_call_submit(engine, &req, ex_done, x, &f->call);
  if (result != 0) {
    f->pending--;
    f->call = NULL;
    OPENSSL_cleanse(f->form, strlen(f->form));
    free(f->form);
    f->form = NULL;
    free(x->uri);
    free(x);
    return edv_error_set(err, EDV_EINTERNAL,
                         "cannot submit the token request (%d)", result);
  }
  return 0;
}
