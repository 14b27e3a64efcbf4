/*
 * api.c - the Management API: routing, one error shape, bearer-token
 * auth with roles, the audit log, and the service and infrastructure
 * routes. The tenant routes are in api_tenants.c.
 *
 * Order of checks for every request: route (404), method (405 with
 * Allow), path parameters (400: decoded, valid UTF-8, no NUL or control
 * character), token (401), role (403), then the handler, which validates its
 * query (api_query_only) and body (api_body_object: 415, 400 naming the field;
 * 413 comes from httpd before us).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/utf8.h"
#include "edv/log.h"
#include "server/api.h"

#define MOD "api"

/* ---- answers --------------------------------------------------------------*/

void api_time(int64_t ms, char *buf, size_t size)
{
  edv_time_format(ms, buf, size); /* the library's format: one for all */
}

int64_t api_wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api_ctx_free(api_ctx *c)
{
  free(c);
}

static void api_finish(api_ctx *c, unsigned status)
{
  uint64_t ns = uv_hrtime() - c->t0;

  edvd_metrics_request(c->d, c->route, c->method, status, ns);
  api_audit(c, status);
  edv_log(EDV_LOG_INFO, MOD, "%s %s %u %llums who=%s%s%s", c->method, c->path,
          status, (unsigned long long)(ns / 1000000u), c->who[0] ? c->who : "-",
          c->tenant[0] ? " tenant=" : "", c->tenant);
}

void api_respond(api_ctx *c, unsigned status, const char *ctype, char *body,
                 size_t len)
{
  edv_http_req *req = c->req;

  if (!req) {
    free(body);
    if (!c->busy)
      api_ctx_free(c);
    return;
  }
  c->req = NULL;
  edv__http_set_data(req, NULL);
  api_finish(c, status);
  edv__httpd_respond_owned(req, status, ctype, body, len);
  if (!c->busy)
    api_ctx_free(c);
}

void api_send(api_ctx *c, unsigned status, json_object *body)
{
  const char *s = json_object_to_json_string_ext(
      body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *copy = strdup(s);

  json_object_put(body);
  if (!copy) {
    api_respond(c, 500, "text/plain", NULL, 0);
    return;
  }
  api_respond(c, status, "application/json", copy, strlen(copy));
}

static const char *status_for(unsigned http)
{
  switch (http) {
  case 400:
    return "INVALID_ARGUMENT";
  case 401:
    return "UNAUTHENTICATED";
  case 403:
    return "PERMISSION_DENIED";
  case 404:
    return "NOT_FOUND";
  case 405:
    return "METHOD_NOT_ALLOWED";
  case 408:
    return "REQUEST_TIMEOUT";
  case 409:
    return "ABORTED";
  case 412:
    return "FAILED_PRECONDITION";
  case 413:
    return "PAYLOAD_TOO_LARGE";
  case 414:
    return "URI_TOO_LONG";
  case 415:
    return "UNSUPPORTED_MEDIA_TYPE";
  case 431:
    return "HEADERS_TOO_LARGE";
  case 501:
    return "UNIMPLEMENTED";
  case 503:
    return "UNAVAILABLE";
  case 504:
    return "DEADLINE_EXCEEDED";
  default:
    return http >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

static json_object *error_doc(unsigned http, const char *status_name,
                              const char *field, const char *msg)
{
  json_object *o = json_object_new_object(), *e = json_object_new_object();

  json_object_object_add(e, "code", json_object_new_int((int)http));
  json_object_object_add(
      e, "status",
      json_object_new_string(status_name ? status_name : status_for(http)));
  json_object_object_add(e, "message", json_object_new_string(msg));
  if (field)
    json_object_object_add(e, "field", json_object_new_string(field));
  json_object_object_add(o, "error", e);
  return o;
}

/* Replaces every byte of msg that is not part of valid UTF-8 with '?'
 * (a "%.64s" or the buffer's end can cut a character): answers are always
 * valid UTF-8. */
static void utf8_repair(char *msg)
{
  size_t n = strlen(msg), i = 0, len;
  uint32_t cp;

  while (i < n) {
    len = edv__utf8_next((const unsigned char *)msg + i, n - i, &cp);
    if (len == 0) {
      msg[i] = '?';
      len = 1;
    }
    i += len;
  }
}

void api_error(api_ctx *c, unsigned http, const char *status_name,
               const char *field, const char *fmt, ...)
{
  char msg[800], fb[200];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  utf8_repair(msg);
  if (field) {
    snprintf(fb, sizeof(fb), "%s", field);
    utf8_repair(fb);
    field = fb;
  }
  api_send(c, http, error_doc(http, status_name, field, msg));
}

const char *api_field_of(const char *message, char *buf, size_t size)
{
  const char *p = strstr(message, "field '"), *q;

  if (!p)
    return NULL;
  p += 7;
  q = strchr(p, '\'');
  if (!q || (size_t)(q - p) >= size)
    return NULL;
  memcpy(buf, p, (size_t)(q - p));
  buf[q - p] = '\0';
  return buf;
}

void api_error_edv(api_ctx *c, const edv_error *e, const char *field)
{
  unsigned http;
  const char *st = NULL;

  switch (e->code) {
  case EDV_EINVAL:
    http = 400;
    break;
  case EDV_ENOTFOUND:
    http = 404;
    break;
  case EDV_EEXIST:
  case EDV_ENOTOWNED:
    http = 409;
    st = "ALREADY_EXISTS";
    break;
  case EDV_ECONFLICT:
  case EDV_EBUSY:
    http = 409;
    st = "ABORTED";
    break;
  case EDV_EPRECONDITION:
    http = 409;
    st = "FAILED_PRECONDITION";
    break;
  case EDV_EUNAVAIL:
  case EDV_ECONN:
  case EDV_ERATELIMIT:
  case EDV_ETIMEDOUT:
  case EDV_ECRED:
  case EDV_EUNAUTH:
    http = 503;
    break;
  default:
    http = 500;
    break;
  }
  api_error(c, http, st, field, "%s", e->message);
}

/* httpd's own answers (408, 413, 414, 431, 503 while closing, 504) in our
 * error shape. */
char *edvd_api_error_body(void *data, unsigned status, const char *text,
                          const char **ctype, size_t *len)
{
  char msg[200];
  json_object *o;
  char *s;

  (void)data;
  snprintf(msg, sizeof(msg), "%s", text);
  msg[strcspn(msg, "\n")] = '\0';
  if (status == 413)
    snprintf(msg, sizeof(msg), "request body larger than %u bytes",
             EDVD_MAX_BODY);
  o = error_doc(status, NULL, NULL, msg);
  s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  *ctype = "application/json";
  *len = s ? strlen(s) : 0;
  return s;
}

/* ---- request helpers ------------------------------------------------------*/

/* The one check of text from the URL (path and query parameters):
 * percent-decodes raw[0..n) into out (n + 1 bytes at least); -1 with the
 * problem in why when the result holds a NUL, invalid UTF-8 or a control
 * character. */
static int api_decode(const char *raw, size_t n, int plus_is_space, char *out,
                      char *why, size_t why_size)
{
  size_t i, len, l;
  uint32_t cp;

  /* One pass of decoding: only "%00" gives a NUL (a '%' is never one of
   * the two digits of an escape before it). */
  for (i = 0; i + 2 < n; i++)
    if (raw[i] == '%' && raw[i + 1] == '0' && raw[i + 2] == '0') {
      snprintf(why, why_size, "contains a NUL byte (%%00)");
      return -1;
    }
  memcpy(out, raw, n);
  out[n] = '\0';
  edv__http_unescape(out, plus_is_space);
  len = strlen(out);
  for (i = 0; i < len; i += l) {
    l = edv__utf8_next((const unsigned char *)out + i, len - i, &cp);
    if (l == 0) {
      snprintf(why, why_size,
               "is not valid UTF-8 once percent-decoded (byte %zu)", i);
      return -1;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      snprintf(why, why_size, "contains the control character U+%04X",
               (unsigned)cp);
      return -1;
    }
  }
  return 0;
}

/* Copies `in` to out (size bytes), percent-encoding every byte outside
 * printable ASCII: what a client sent is never echoed raw. */
static void api_printable(char *out, size_t size, const char *in)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;

  if (size == 0)
    return;
  for (; *in && o + 4 <= size; in++) {
    unsigned char ch = (unsigned char)*in;
    if (ch > 0x20 && ch < 0x7f) {
      out[o++] = (char)ch;
    } else {
      out[o++] = '%';
      out[o++] = hex[ch >> 4];
      out[o++] = hex[ch & 15];
    }
  }
  out[o] = '\0';
}

/* Duplicate keys: json-c keeps the last one silently, so the body's text
 * (valid JSON by then) is walked once more with a set of keys per object.
 * Keys are decoded by json-c's tokener, so "a" and "\u0061" are one key,
 * as they are to json-c. */
typedef struct dup_scan {
  const char *s;
  size_t n, i;
  json_tokener *tok;
  char path[256]; /* key path of the value walked ("a.b[2].c") */
} dup_scan;

static void dup_ws(dup_scan *d)
{
  while (d->i < d->n && isspace((unsigned char)d->s[d->i]))
    d->i++;
}

static void dup_skip_string(dup_scan *d)
{
  d->i++;
  while (d->i < d->n && d->s[d->i] != '"')
    d->i += d->s[d->i] == '\\' ? 2 : 1;
  d->i++;
}

/* 1 when the value at d->i holds a duplicate key (its path in d->path). */
static int dup_value(dup_scan *d)
{
  size_t at = strlen(d->path);
  char open;

  dup_ws(d);
  if (d->i >= d->n)
    return 0;
  open = d->s[d->i];
  if (open == '"') {
    dup_skip_string(d);
  } else if (open != '{' && open != '[') {
    while (d->i < d->n && !strchr(",]} \t\r\n", d->s[d->i]))
      d->i++;
  } else {
    json_object *keys = open == '{' ? json_object_new_object() : NULL;
    unsigned idx = 0;
    int dup = 0;

    d->i++;
    while (!dup) {
      dup_ws(d);
      if (d->i >= d->n || d->s[d->i] == '}' || d->s[d->i] == ']')
        break;
      if (d->s[d->i] == ',') {
        d->i++;
        continue;
      }
      if (keys) {
        size_t k0 = d->i;
        json_object *k;
        const char *key;

        dup_skip_string(d);
        json_tokener_reset(d->tok);
        k = json_tokener_parse_ex(d->tok, d->s + k0, (int)(d->i - k0));
        key = k ? json_object_get_string(k) : "";
        snprintf(d->path + at, sizeof(d->path) - at, "%s%s", at ? "." : "",
                 key);
        dup = json_object_object_get_ex(keys, key, NULL);
        if (!dup)
          json_object_object_add(keys, key, NULL);
        json_object_put(k);
        dup_ws(d);
        d->i++; /* ':' */
      } else {
        snprintf(d->path + at, sizeof(d->path) - at, "[%u]", idx++);
      }
      if (!dup)
        dup = dup_value(d);
    }
    json_object_put(keys);
    if (dup)
      return 1;
    d->i++;
  }
  d->path[at] = '\0';
  return 0;
}

/* 1 when a Content-Type names application/json (parameters aside). */
static int is_json_type(const char *ct)
{
  while (*ct == ' ' || *ct == '\t')
    ct++;
  return strcspn(ct, "; \t") == 16 &&
         strncasecmp(ct, "application/json", 16) == 0;
}

json_object *api_body_object(api_ctx *c)
{
  size_t len;
  const char *body = edv__http_body(c->req, &len);
  const char *ct = edv__http_header(c->req, "Content-Type");
  json_tokener *tok;
  json_object *o;
  size_t end;
  dup_scan ds;

  if (len == 0) {
    api_error(c, 400, NULL, "body", "a JSON object body is required");
    return NULL;
  }
  if (!ct) {
    api_error(c, 415, NULL, "Content-Type",
              "Content-Type is missing: the body must be application/json");
    return NULL;
  }
  if (!is_json_type(ct)) {
    char raw[64], type[200];

    while (*ct == ' ' || *ct == '\t')
      ct++;
    snprintf(raw, sizeof(raw), "%.*s", (int)strcspn(ct, ";"), ct);
    api_printable(type, sizeof(type), raw);
    api_error(c, 415, NULL, "Content-Type",
              "Content-Type '%s' is not supported: the body must be "
              "application/json",
              type);
    return NULL;
  }
  if (strlen(body) != len) {
    api_error(c, 400, NULL, "body", "the body contains a NUL byte");
    return NULL;
  }
  tok = json_tokener_new_ex(16);
  if (!tok) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return NULL;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  o = json_tokener_parse_ex(tok, body, (int)len);
  end = tok->char_offset;
  if (!o || json_tokener_get_error(tok) != json_tokener_success) {
    api_error(c, 400, NULL, "body", "malformed JSON: %s",
              json_tokener_error_desc(json_tokener_get_error(tok)));
    json_tokener_free(tok);
    json_object_put(o);
    return NULL;
  }
  while (end < len && isspace((unsigned char)body[end]))
    end++;
  if (end != len) {
    json_tokener_free(tok);
    json_object_put(o);
    api_error(c, 400, NULL, "body", "malformed JSON: text after the value");
    return NULL;
  }
  if (!json_object_is_type(o, json_type_object)) {
    json_tokener_free(tok);
    json_object_put(o);
    api_error(c, 400, NULL, "body", "the body must be a JSON object");
    return NULL;
  }
  memset(&ds, 0, sizeof(ds));
  ds.s = body;
  ds.n = len;
  ds.tok = tok;
  if (dup_value(&ds)) {
    json_tokener_free(tok);
    json_object_put(o);
    api_error(c, 400, NULL, ds.path,
              "duplicate key '%s' in the JSON body: give each key once",
              ds.path);
    return NULL;
  }
  json_tokener_free(tok);
  return o;
}

int api_query_only(api_ctx *c, const char *const *allowed)
{
  const char *q = edv__http_query_raw(c->req);
  size_t qlen = q ? strlen(q) : 0;
  char *name = qlen ? malloc(2 * (qlen + 1)) : NULL, *value, why[96];
  unsigned seen = 0;
  int rc = 0;

  if (qlen && !name) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return -1;
  }
  value = name ? name + qlen + 1 : NULL;
  while (qlen && *q && rc == 0) {
    size_t n = strcspn(q, "&"), k = strcspn(q, "=&"), i = 0;

    rc = -1;
    if (k == 0)
      rc = 0;
    else if (api_decode(q, k, 1, name, why, sizeof(why)))
      api_error(c, 400, NULL, "query", "a query parameter's name %s", why);
    else {
      while (allowed[i] && strcmp(name, allowed[i]) != 0)
        i++;
      if (!allowed[i])
        api_error(c, 400, NULL, name, "query parameter '%s' is not known",
                  name);
      else if (seen & (1u << i))
        api_error(c, 400, NULL, name,
                  "query parameter '%s' is repeated: give it once", name);
      else if (k < n &&
               api_decode(q + k + 1, n - k - 1, 1, value, why, sizeof(why)))
        api_error(c, 400, NULL, name, "query parameter '%s' %s", name, why);
      else
        rc = 0;
      seen |= 1u << (i & 31);
    }
    q += n;
    if (*q == '&')
      q++;
  }
  free(name);
  return rc;
}

/* ---- service routes -------------------------------------------------------*/

static void h_healthz(api_ctx *c, const char *id)
{
  json_object *o = json_object_new_object();

  (void)id;
  json_object_object_add(o, "status", json_object_new_string("ok"));
  api_send(c, 200, o);
}

static void readyz_answer(api_ctx *c, const char *cred, const char *why)
{
  json_object *o = json_object_new_object(), *ch = json_object_new_object();
  int ok = strcmp(cred, "ok") == 0 && !c->d->stopping;

  json_object_object_add(ch, "store", json_object_new_string("ok"));
  json_object_object_add(ch, "credentials", json_object_new_string(cred));
  json_object_object_add(o, "status",
                         json_object_new_string(ok ? "ready" : "not_ready"));
  json_object_object_add(o, "checks", ch);
  if (why)
    json_object_object_add(o, "message", json_object_new_string(why));
  api_send(c, ok ? 200 : 503, o);
}

/* A suspended request's end (answered by httpd itself: deadline, client
 * gone) only forgets it; the pending callback, which always comes, then
 * frees the context through api_resume(). */
static void suspended_end(void *data, edv_http_req *req, edv_httpd_end why)
{
  api_ctx *c = data;

  (void)req;
  (void)why;
  c->req = NULL;
}

void api_suspend(api_ctx *c, uint64_t deadline_ms)
{
  c->busy = 1;
  edv__http_on_end(c->req, deadline_ms, suspended_end, c);
}

int api_resume(api_ctx *c)
{
  c->busy = 0;
  if (!c->req) {
    api_ctx_free(c);
    return 0;
  }
  return 1;
}

void api_error_lib(api_ctx *c, const edv_error *err)
{
  char fb[72];

  api_error_edv(c, err, api_field_of(err->message, fb, sizeof(fb)));
}

static void lib_answer(api_ctx *c, unsigned status, json_object *o,
                       const edv_error *err)
{
  if (!api_resume(c))
    return;
  if (!o)
    api_error_lib(c, err);
  else
    api_send(c, status, json_object_get(o));
}

void api_lib_200(void *data, json_object *o, const edv_error *err)
{
  lib_answer(data, 200, o, err);
}

void api_lib_201(void *data, json_object *o, const edv_error *err)
{
  lib_answer(data, 201, o, err);
}

void api_lib_wait(api_ctx *c, int result, const edv_error *err,
                  uint64_t deadline_ms)
{
  if (result)
    api_error_lib(c, err);
  else
    api_suspend(c, deadline_ms);
}

static void readyz_token(void *data, const char *token, const edv_error *err)
{
  api_ctx *c = data;

  (void)token; /* never kept, never logged */
  if (!api_resume(c))
    return;
  if (err && err->code)
    readyz_answer(c, "failed", err->message);
  else
    readyz_answer(c, "ok", NULL);
}

static void h_readyz(api_ctx *c, const char *id)
{
  edvd *d = c->d;
  edv_error err;

  (void)id;
  if (d->stopping || !d->ef) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("not_ready"));
    json_object_object_add(o, "message",
                           json_object_new_string("shutting down"));
    api_send(c, 503, o);
    return;
  }
  if (edv_fleet_check(d->ef, &err)) {
    json_object *o = json_object_new_object(), *ch = json_object_new_object();
    json_object_object_add(ch, "store", json_object_new_string("failed"));
    json_object_object_add(o, "status", json_object_new_string("not_ready"));
    json_object_object_add(o, "checks", ch);
    json_object_object_add(o, "message", json_object_new_string(err.message));
    api_send(c, 503, o);
    return;
  }
  if (edv_engine_access_token(d->engine, readyz_token, c) != 0) {
    readyz_answer(c, "failed", "cannot ask for a token");
    return;
  }
  api_suspend(c, 15000);
}

static void h_openapi(api_ctx *c, const char *id)
{
  char *s = strdup(edvd_openapi_json);

  (void)id;
  if (!s) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  api_respond(c, 200, "application/json", s, strlen(s));
}

/* The pass's answer (edv_fleet_reconcile), 202: its runs go on. */
static void reconcile_answer(void *data, json_object *o, const edv_error *err)
{
  api_ctx *c = data;

  if (!api_resume(c))
    return;
  if (!o) {
    api_error_edv(c, err, NULL);
    return;
  }
  api_send(c, 202, json_object_get(o));
}

static void h_reconcile(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (edv_fleet_reconcile(c->d->ef, EDV_FLEET_ASYNC | EDV_PASS_DRIFT,
                          reconcile_answer, c, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  api_suspend(c, 15000);
}

/* ---- status, costs, metrics
 * ------------------------------------------------*/

/* The fleet's status (edv_fleet_status) and edvd's sections after it. */
static void status_answer(void *data, json_object *o, const edv_error *err)
{
  api_ctx *c = data;
  edvd *d = c->d;
  char ts[40];

  if (!api_resume(c))
    return;
  if (!o) {
    api_error_edv(c, err, NULL);
    return;
  }
  o = json_object_get(o);
  json_object_object_add(o, "reconciler", edv_fleet_reconciler_status(d->ef));
  api_time((int64_t)d->started_ms, ts, sizeof(ts));
  json_object_object_add(o, "started", json_object_new_string(ts));
  json_object_object_add(o, "version", json_object_new_string(EDV_VERSION));
  api_send(c, 200, o);
}

static void h_status(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (edv_fleet_status(c->d->ef, status_answer, c, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  api_suspend(c, 15000);
}

/* An answer of the library sent as it is (200). */
static void doc_answer(void *data, json_object *o, const edv_error *err)
{
  api_ctx *c = data;

  if (!api_resume(c))
    return;
  if (!o)
    api_error_edv(c, err, NULL);
  else
    api_send(c, 200, json_object_get(o));
}

static void h_costs(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (edv_fleet_costs(c->d->ef, doc_answer, c, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  api_suspend(c, 15000);
}

/* Appends printf output to a growing buffer. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  for (;;) {
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return;
    if (b->p && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    {
      size_t cap = b->cap ? b->cap * 2 : 4096;
      char *np;
      while (cap < b->len + (size_t)n + 1)
        cap *= 2;
      np = realloc(b->p, cap);
      if (!np)
        return;
      b->p = np;
      b->cap = cap;
    }
  }
}

/* Backup health from the status's "backups" (edv_fleet_backup_check):
 * the age of each checked tenant's last successful backup and how many
 * are stale. */
static void metrics_backups(sbuf *b, json_object *bk)
{
  json_object *arr = json_object_object_get(bk, "tenants"), *v;

  sb_printf(b, "# HELP edv_tenant_backup_age_seconds Age of the tenant's "
               "last successful backup (last check; -1: none).\n"
               "# TYPE edv_tenant_backup_age_seconds gauge\n");
  for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
    json_object *t = json_object_array_get_idx(arr, i);
    sb_printf(b, "edv_tenant_backup_age_seconds{tenant=\"%s\"} %lld\n",
              json_object_get_string(json_object_object_get(t, "tenant")),
              json_object_object_get_ex(t, "age_s", &v) && v
                  ? (long long)json_object_get_int64(v)
                  : -1LL);
  }
  sb_printf(
      b,
      "# HELP edv_tenants_backup_stale Tenants without a successful "
      "backup in backup.stale_after_s (last check).\n"
      "# TYPE edv_tenants_backup_stale gauge\n"
      "edv_tenants_backup_stale %lld\n",
      (long long)json_object_get_int64(json_object_object_get(bk, "stale")));
}

/* The open incidents of Monitoring's alerts (the status's
 * "incidents_open"), by alert and severity. */
static void metrics_incidents(sbuf *b, json_object *open)
{
  json_object *arr = json_object_object_get(open, "by_alert");

  sb_printf(b, "# HELP edv_incidents_open Open incidents of the alert "
               "policies, by alert and severity (edvd's intake).\n"
               "# TYPE edv_incidents_open gauge\n");
  for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
    json_object *x = json_object_array_get_idx(arr, i);
    const char *a = json_object_get_string(json_object_object_get(x, "alert"));
    const char *s =
        json_object_get_string(json_object_object_get(x, "severity"));
    char alert[256], sev[64];

    /* Label values in the text format: \\, \" and \n escaped. */
    edvd_metrics_label(alert, sizeof(alert), a ? a : "");
    edvd_metrics_label(sev, sizeof(sev), s ? s : "");
    sb_printf(
        b, "edv_incidents_open{alert=\"%s\",severity=\"%s\"} %lld\n", alert,
        sev,
        (long long)json_object_get_int64(json_object_object_get(x, "count")));
  }
}

/* The engine's figures, by API. */
static void metrics_api(sbuf *b, edvd *d)
{
  static const struct {
    const char *name, *help;
    size_t off;
  } ctrs[] = {
      {"edv_api_calls_total", "API calls completed",
       offsetof(edv_api_stats, calls)},
      {"edv_api_attempts_total", "HTTP requests sent, retries included",
       offsetof(edv_api_stats, attempts)},
      {"edv_api_errors_total", "API calls that ended in an error",
       offsetof(edv_api_stats, errors)},
      {"edv_api_retries_total", "attempts beyond the first",
       offsetof(edv_api_stats, retries)},
      {"edv_api_rate_limited_total", "rate-limit answers received",
       offsetof(edv_api_stats, rate_limited)},
      {"edv_api_throttle_waits_total", "waits for a local rate-limit token",
       offsetof(edv_api_stats, throttle_waits)},
  };

  for (size_t i = 0; i < sizeof(ctrs) / sizeof(ctrs[0]); i++) {
    sb_printf(b, "# HELP %s %s.\n# TYPE %s counter\n", ctrs[i].name,
              ctrs[i].help, ctrs[i].name);
    for (int a = 0; a < EDV_API__COUNT; a++) {
      edv_api_stats s;
      uint64_t v;
      edv_engine_stats(d->engine, (edv_api)a, &s);
      memcpy(&v, (const char *)&s + ctrs[i].off, sizeof(v));
      sb_printf(b, "%s{api=\"%s\"} %llu\n", ctrs[i].name,
                edv_api_name((edv_api)a), (unsigned long long)v);
    }
  }
  sb_printf(b, "# HELP edv_api_call_errors_total API calls that ended in "
               "an error, by error code.\n"
               "# TYPE edv_api_call_errors_total counter\n");
  for (int a = 0; a < EDV_API__COUNT; a++) {
    edv_api_stats s;
    edv_engine_stats(d->engine, (edv_api)a, &s);
    for (int e = 1; e < EDV_ERR__LAST; e++)
      if (s.errors_by_code[e])
        sb_printf(b,
                  "edv_api_call_errors_total{api=\"%s\",code=\"%s\"} "
                  "%llu\n",
                  edv_api_name((edv_api)a), edv_err_name((edv_code)e),
                  (unsigned long long)s.errors_by_code[e]);
  }
  sb_printf(b, "# HELP edv_api_in_flight API calls in flight.\n"
               "# TYPE edv_api_in_flight gauge\n");
  for (int a = 0; a < EDV_API__COUNT; a++) {
    edv_api_stats s;
    edv_engine_stats(d->engine, (edv_api)a, &s);
    sb_printf(b, "edv_api_in_flight{api=\"%s\"} %llu\n",
              edv_api_name((edv_api)a), (unsigned long long)s.in_flight);
  }
}

/* edvd's own figures (runs, requests, step durations) and the fleet
 * reconciler's. */
static void metrics_edvd(sbuf *b, edvd *d)
{
  sb_printf(b,
            "# HELP edv_runs_in_flight Tenant runs this edvd is driving.\n"
            "# TYPE edv_runs_in_flight gauge\nedv_runs_in_flight %u\n"
            "# HELP edv_runs_total Tenant runs by outcome.\n"
            "# TYPE edv_runs_total counter\n"
            "edv_runs_total{outcome=\"started\"} %llu\n"
            "edv_runs_total{outcome=\"ready\"} %llu\n"
            "edv_runs_total{outcome=\"failed\"} %llu\n"
            "edv_runs_total{outcome=\"deleted\"} %llu\n"
            "# HELP edv_http_requests_total API requests answered, by "
            "status class.\n"
            "# TYPE edv_http_requests_total counter\n",
            edv_fleet_runs(d->ef),
            (unsigned long long)edv_fleet_reconciler_runs(d->ef),
            (unsigned long long)d->runs_ready,
            (unsigned long long)d->runs_failed,
            (unsigned long long)d->runs_deleted);
  for (int i = 1; i <= 5; i++)
    sb_printf(b, "edv_http_requests_total{class=\"%dxx\"} %llu\n", i,
              (unsigned long long)d->http_requests[i]);
  {
    /* Step durations, from the fleet's step-done events; the API's. */
    char *h = edv__stephist_render(d->step_hist, NULL);
    char *rh = edv__hist_render(d->req_hist, NULL);
    char proc[2048];

    if (!h || !rh || edvd_metrics_process(proc, sizeof(proc)) < 0) {
      free(b->p);
      b->p = NULL;
    } else
      sb_printf(b, "%s%s%s", h, rh, proc);
    free(h);
    free(rh);
  }
  {
    /* The reconciler's passes, drift, orphans, store and probes. */
    char *rm = edv_fleet_reconciler_metrics(d->ef);

    if (!rm) {
      free(b->p);
      b->p = NULL;
    } else
      sb_printf(b, "%s", rm);
    free(rm);
  }
}

/* The fleet's status came: the tenants by phase, then the rest. */
static void metrics_answer(void *data, json_object *st, const edv_error *err)
{
  api_ctx *c = data;
  json_object *by_phase = NULL, *v;
  sbuf b = {NULL, 0, 0};
  const char *name;

  if (!api_resume(c))
    return;
  if (!st) {
    api_error_edv(c, err, NULL);
    return;
  }
  if (json_object_object_get_ex(st, "tenants", &v))
    json_object_object_get_ex(v, "by_phase", &by_phase);
  sb_printf(&b, "# HELP edv_tenants Tenants by phase.\n"
                "# TYPE edv_tenants gauge\n");
  for (unsigned p = 0; (name = edv_phase_name(p)) != NULL; p++)
    sb_printf(&b, "edv_tenants{phase=\"%s\"} %lld\n", name,
              json_object_object_get_ex(by_phase, name, &v)
                  ? (long long)json_object_get_int64(v)
                  : 0LL);
  metrics_backups(&b, json_object_object_get(st, "backups"));
  metrics_incidents(&b, json_object_object_get(st, "incidents_open"));
  metrics_api(&b, c->d);
  metrics_edvd(&b, c->d);
  if (!b.p) {
    api_error(c, 500, NULL, NULL, "out of memory");
    return;
  }
  api_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
}

static void h_metrics(api_ctx *c, const char *id)
{
  edv_error err;

  (void)id;
  if (api_query_only(c, (const char *const[]){NULL}))
    return;
  if (edv_fleet_status(c->d->ef, metrics_answer, c, &err)) {
    api_error_edv(c, &err, NULL);
    return;
  }
  api_suspend(c, 15000);
}

/* ---- routing
 * ----------------------------------------------------------------*/

typedef void (*api_fn)(api_ctx *c, const char *id);

typedef struct api_route {
  const char *method;
  const char *pattern; /* "{id}" matches one segment */
  edv_role role;       /* EDV_ROLE_NONE: no token needed */
  api_fn fn;
} api_route;

static const api_route api_routes[] = {
    {"GET", "/healthz", EDV_ROLE_NONE, h_healthz},
    {"GET", "/readyz", EDV_ROLE_NONE, h_readyz},
    {"GET", "/metrics", EDV_ROLE_VIEWER, h_metrics},
    {"GET", "/api/openapi.json", EDV_ROLE_NONE, h_openapi},
    {"GET", "/api/tenants", EDV_ROLE_VIEWER, api_tenants_list},
    {"POST", "/api/tenants", EDV_ROLE_OPERATOR, api_tenants_create},
    {"GET", "/api/tenants/{id}", EDV_ROLE_VIEWER, api_tenant_get},
    {"PUT", "/api/tenants/{id}", EDV_ROLE_OPERATOR, api_tenant_put},
    {"DELETE", "/api/tenants/{id}", EDV_ROLE_OPERATOR, api_tenant_delete},
    {"GET", "/api/tenants/{id}/events", EDV_ROLE_VIEWER, api_tenant_events},
    {"POST", "/api/tenants/{id}/scale", EDV_ROLE_OPERATOR, api_tenant_scale},
    {"POST", "/api/tenants/{id}/apply", EDV_ROLE_OPERATOR, api_tenant_apply},
    {"POST", "/api/tenants/{id}/retry", EDV_ROLE_OPERATOR, api_tenant_retry},
    {"POST", "/api/tenants/{id}/resume", EDV_ROLE_OPERATOR, api_tenant_resume},
    {"GET", "/api/tenants/{id}/plan", EDV_ROLE_VIEWER, api_tenant_plan},
    {"POST", "/api/tenants/{id}/recover", EDV_ROLE_OPERATOR,
     api_tenant_recover},
    {"POST", "/api/tenants/{id}/undelete", EDV_ROLE_OPERATOR,
     api_tenant_undelete},
    {"POST", "/api/tenants/{id}/move", EDV_ROLE_OPERATOR, api_tenant_move},
    {"POST", "/api/tenants/{id}/release", EDV_ROLE_OPERATOR,
     api_tenant_release},
    {"POST", "/api/tenants/{id}/backup", EDV_ROLE_OPERATOR, api_tenant_backup},
    {"GET", "/api/tenants/{id}/backups", EDV_ROLE_VIEWER, api_tenant_backups},
    {"POST", "/api/tenants/{id}/restore", EDV_ROLE_OPERATOR,
     api_tenant_restore},
    {"GET", "/api/tenants/{id}/metrics", EDV_ROLE_VIEWER, api_tenant_metrics},
    {"GET", "/api/infrastructure/status", EDV_ROLE_VIEWER, h_status},
    {"GET", "/api/infrastructure/costs", EDV_ROLE_VIEWER, h_costs},
    {"GET", "/api/infrastructure/capacity", EDV_ROLE_VIEWER,
     api_infra_capacity},
    {"POST", "/api/infrastructure/reconcile", EDV_ROLE_ADMIN, h_reconcile},
    /* Basic auth of its own (api_alerts.c), no bearer token. */
    {"POST", "/api/alerts/notifications", EDV_ROLE_NONE, api_alerts_notify},
    {"GET", "/api/alerts/incidents", EDV_ROLE_VIEWER, api_incidents_list},
    {"GET", "/api/releases", EDV_ROLE_VIEWER, api_releases_list},
    {"POST", "/api/releases", EDV_ROLE_OPERATOR, api_releases_create},
    {"GET", "/api/fleet/updates", EDV_ROLE_VIEWER, api_updates_list},
    {"POST", "/api/fleet/updates", EDV_ROLE_OPERATOR, api_updates_create},
    {"GET", "/api/fleet/updates/{id}", EDV_ROLE_VIEWER, api_update_get},
    {"POST", "/api/fleet/updates/{id}:pause", EDV_ROLE_OPERATOR,
     api_update_act},
    {"POST", "/api/fleet/updates/{id}:resume", EDV_ROLE_OPERATOR,
     api_update_act},
    {"POST", "/api/fleet/updates/{id}:abort", EDV_ROLE_OPERATOR,
     api_update_act},
    {"POST", "/api/fleet/updates/{id}:rollback", EDV_ROLE_OPERATOR,
     api_update_act},
};

#define API_NROUTES (sizeof(api_routes) / sizeof(api_routes[0]))
#define API_ID_MAX  128 /* a path parameter's raw bytes, NUL included */

/* Matches a raw path against a pattern; the {id} segment, still
 * percent-encoded, goes to *seg and *seg_len. */
static int route_match(const char *pattern, const char *path, const char **seg,
                       size_t *seg_len)
{
  const char *p = pattern, *s = path;

  while (*p && *s) {
    if (strncmp(p, "{id}", 4) == 0) {
      /* "{id}:verb" (a custom method, AIP-136): the id ends at ':'. */
      size_t n = strcspn(s, p[4] == ':' ? "/:" : "/");
      if (n == 0 || n >= API_ID_MAX)
        return 0;
      *seg = s;
      *seg_len = n;
      p += 4;
      s += n;
      continue;
    }
    if (*p != *s)
      return 0;
    p++;
    s++;
  }
  return *p == '\0' && *s == '\0';
}

/* Who the bearer token names, when there is a valid one (the audit line
 * says who whatever the answer): 1 valid, 0 none given, -1 not valid. */
static int api_identify(api_ctx *c)
{
  const char *h = edv__http_header(c->req, "Authorization");
  const char *name = NULL, *tid = NULL;
  edv_role role;

  if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7])
    return 0;
  h += 7;
  while (*h == ' ')
    h++;
  role = edv__tokens_verify(c->d->tokens, h, &name, &tid);
  if (role == EDV_ROLE_NONE)
    return -1;
  snprintf(c->who, sizeof(c->who), "%s", name);
  snprintf(c->token_id, sizeof(c->token_id), "%s", tid);
  c->role = role;
  return 1;
}

/* Authenticates (`ident` from api_identify); answers 401/403 and returns
 * -1 when refused. */
static int api_auth(api_ctx *c, edv_role need, int ident)
{
  if (need == EDV_ROLE_NONE)
    return 0;
  if (ident == 0) {
    edv__http_add_header(c->req, "WWW-Authenticate", "Bearer realm=\"edvd\"");
    api_error(c, 401, NULL, NULL,
              "a bearer token is required (Authorization: Bearer TOKEN; "
              "create one with `edvctl token create`)");
    return -1;
  }
  if (ident < 0) {
    edv__http_add_header(c->req, "WWW-Authenticate",
                         "Bearer realm=\"edvd\", error=\"invalid_token\"");
    api_error(c, 401, NULL, NULL, "the bearer token is not valid");
    return -1;
  }
  if (c->role < need) {
    api_error(c, 403, NULL, NULL, "token '%s' has role %s; %s %s needs role %s",
              c->who, edv__role_name(c->role), c->method, c->path,
              edv__role_name(need));
    return -1;
  }
  return 0;
}

/* CORS (off unless server.cors_origins names origins): 1 when `origin`
 * is one of them, exactly. */
static int cors_allowed(const edvd *d, const char *origin)
{
  const char *p = d->cors;
  size_t n = origin ? strlen(origin) : 0;

  if (!n || !*p || strcmp(p, "none") == 0)
    return 0;
  while (*p) {
    size_t k = strcspn(p, ",");
    if (k == n && strncmp(p, origin, n) == 0)
      return 1;
    p += k;
    if (*p == ',')
      p++;
  }
  return 0;
}

/* A browser's preflight (OPTIONS with Access-Control-Request-Method) from
 * an allowed origin: 204 naming what the path allows. */
static int cors_preflight(api_ctx *c, const char *origin, const char *allow)
{
  if (strcmp(c->method, "OPTIONS") != 0 || !origin ||
      !edv__http_header(c->req, "Access-Control-Request-Method") ||
      !cors_allowed(c->d, origin))
    return 0;
  edv__http_add_header(c->req, "Access-Control-Allow-Methods", allow);
  edv__http_add_header(c->req, "Access-Control-Allow-Headers",
                       "Authorization, Content-Type, Idempotency-Key, "
                       "If-Match");
  edv__http_add_header(c->req, "Access-Control-Max-Age", "600");
  c->audit = 0;
  api_respond(c, 204, NULL, NULL, 0);
  return 1;
}

void edvd_api_handle(void *data, edv_http_req *req)
{
  edvd *d = data;
  api_ctx *c = calloc(1, sizeof(*c));
  const char *raw = edv__http_path_raw(req);
  const char *method = edv__http_method(req);
  const char *origin = edv__http_header(req, "Origin");
  char id[API_ID_MAX] = "", allow[64] = "", why[96], alias[1024];
  const api_route *hit = NULL;
  const char *seg = NULL;
  size_t seg_len = 0;
  int path_known = 0, ident;

  if (!c) {
    edv__httpd_respond(req, 500, "text/plain", "out of memory\n", 14);
    return;
  }
  c->d = d;
  c->req = req;
  c->t0 = uv_hrtime();
  snprintf(c->method, sizeof(c->method), "%s", method);
  api_printable(c->path, sizeof(c->path), raw);
  edv__http_peer_addr(req, c->source, sizeof(c->source));
  edv__http_set_data(req, c);
  /* Every call that is not a read is audited, refused ones included. */
  c->audit = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
  ident = api_identify(c);
  /* /api/v1/... is the versioned path; /api/... stays its alias. */
  if (strncmp(raw, "/api/v1/", 8) == 0 &&
      snprintf(alias, sizeof(alias), "/api/%s", raw + 8) < (int)sizeof(alias))
    raw = alias;
  if (cors_allowed(d, origin)) {
    edv__http_add_header(req, "Access-Control-Allow-Origin", origin);
    edv__http_add_header(req, "Vary", "Origin");
    edv__http_add_header(req, "Access-Control-Expose-Headers",
                         "ETag, Location, Retry-After");
  }
  for (size_t i = 0; i < API_NROUTES; i++) {
    const char *s = NULL;
    size_t n = 0;
    if (!route_match(api_routes[i].pattern, raw, &s, &n))
      continue;
    path_known = 1;
    if (!strstr(allow, api_routes[i].method) &&
        strlen(allow) + strlen(api_routes[i].method) + 3 < sizeof(allow)) {
      if (allow[0])
        strcat(allow, ", ");
      strcat(allow, api_routes[i].method);
    }
    if (strcmp(api_routes[i].method, method) == 0) {
      hit = &api_routes[i];
      seg = s;
      seg_len = n;
    }
  }
  if (!path_known) { /* the dashboard's files (dashboard.c), or 404 */
    if (!api_dashboard(c, raw))
      api_error(c, 404, NULL, NULL, "no route %s", c->path);
    return;
  }
  if (!hit && cors_preflight(c, origin, allow))
    return;
  if (!hit) {
    edv__http_add_header(req, "Allow", allow);
    api_error(c, 405, NULL, NULL, "%s is not allowed on %s (allowed: %s)",
              c->method, c->path, allow);
    return;
  }
  c->route = hit->pattern;
  /* Path parameters: the one check of every route's, after decoding. */
  if (seg && api_decode(seg, seg_len, 0, id, why, sizeof(why))) {
    api_error(c, 400, NULL, "id", "path parameter 'id' %s", why);
    return;
  }
  if (strncmp(hit->pattern, "/api/tenants/{id}", 17) == 0 &&
      strlen(id) < sizeof(c->tenant))
    memcpy(c->tenant, id, strlen(id) + 1);
  if (api_auth(c, hit->role, ident))
    return;
  hit->fn(c, id);
}
