/*
 * core.c - the simulator instance: clock, PRNG, timers, request dispatch,
 * responses and error envelopes, deferred answers, links, request log, and
 * the public edv_sim_* wrapper.
 *
 * A request goes: route match -> loopback check -> bearer check -> rate
 * limit -> injected faults (error, latency) -> JSON body -> requestId
 * dedupe -> handler -> (deferred) answer -> request log. Due simulated
 * timers run before every request so that what a client reads is never
 * behind the clock.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "edv/sim.h"
#include "sim/modules.h"
#include "sim/sim_int.h"

#define SIM_SAVE_DEBOUNCE_MS 200

static const sim_module sim_modules[] = {
    {"compute", sim_compute_init, sim_compute_seed},
    {"compute-net", sim_compute_net_init, NULL},
    {"sql", sim_sql_init, NULL},
    {"servicenetworking", sim_servicenet_init, NULL},
    {"dns", sim_dns_init, sim_dns_seed},
    {"certificatemanager", sim_certmgr_init, NULL},
    {"secretmanager", sim_secrets_init, NULL},
    {"iam", sim_iam_init, NULL},
    {"cloudresourcemanager", sim_resourcemanager_init, NULL},
    {"monitoring", sim_monitoring_init, NULL},
    {"alerting", sim_alerting_init, NULL},
    {"compute-vm", sim_compute_vm_init, sim_compute_vm_seed},
    {"compute-batch", sim_batch_init, NULL},
    {"cloudbilling", sim_billing_init, NULL},
    {"bigquery", sim_bigquery_init, sim_billing_seed},
    {"billingbudgets", sim_budgets_init, NULL},
};

/* --- APIs --------------------------------------------------------------- */

static const struct {
  const char *name, *host;
  int legacy;
} sim_apis[] = {
#define SIM__API_ROW(name, str, host, legacy) {str, host, legacy},
    SIM_API_MAP(SIM__API_ROW)
#undef SIM__API_ROW
};

const char *sim_api_name(sim_api api)
{
  return (unsigned)api < SIM_API__COUNT ? sim_apis[api].name : "none";
}

const char *sim_api_host(sim_api api)
{
  return (unsigned)api < SIM_API__COUNT ? sim_apis[api].host : "";
}

int sim_api_legacy(sim_api api)
{
  return (unsigned)api < SIM_API__COUNT ? sim_apis[api].legacy : 0;
}

sim_api sim_api_by_name(const char *name)
{
  for (int i = 0; name && i < SIM_API__COUNT; i++)
    if (strcmp(sim_apis[i].name, name) == 0)
      return (sim_api)i;
  return SIM_API_NONE;
}

/* --- accessors, clock, PRNG --------------------------------------------- */

uv_loop_t *sim_loop(const sim *s)
{
  return s->loop;
}

const char *sim_project(const sim *s)
{
  return s->project;
}

const char *sim_domain(const sim *s)
{
  return s->domain;
}

sim_profile sim_get_profile(const sim *s)
{
  return s->profile;
}

double sim_time_scale(const sim *s)
{
  return s->scale;
}

unsigned sim_port(const sim *s)
{
  return edv__httpd_port(s->httpd);
}

uint64_t sim_now_ms(const sim *s)
{
  double real_ms = (double)(uv_hrtime() - s->hr_base) / 1e6;

  return s->clock_base + (uint64_t)(real_ms * s->scale);
}

static uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

uint64_t sim_rand(sim *s)
{
  uint64_t *r = s->rng;
  uint64_t result = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;

  r[2] ^= r[0];
  r[3] ^= r[1];
  r[1] ^= r[2];
  r[0] ^= r[3];
  r[2] ^= t;
  r[3] = rotl(r[3], 45);
  return result;
}

static void sim_seed(sim *s, uint64_t seed)
{
  /* splitmix64 spreads one seed over the four words of xoshiro's state. */
  for (int i = 0; i < 4; i++) {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    s->rng[i] = z ^ (z >> 31);
  }
}

uint64_t sim_rand_range(sim *s, uint64_t lo, uint64_t hi)
{
  if (hi <= lo)
    return lo;
  return lo + sim_rand(s) % (hi - lo + 1);
}

double sim_rand01(sim *s)
{
  return (double)(sim_rand(s) >> 11) / 9007199254740992.0;
}

const char *sim_new_id(sim *s, char *buf)
{
  snprintf(buf, 24, "%" PRIu64,
           (uint64_t)(1000000000000000000ull +
                      sim_rand(s) % 8000000000000000000ull));
  return buf;
}

const char *sim_new_uuid(sim *s, char *buf)
{
  uint64_t a = sim_rand(s), b = sim_rand(s);

  snprintf(buf, 37, "%08x-%04x-4%03x-%04x-%012" PRIx64, (unsigned)(a >> 32),
           (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
           (unsigned)((b >> 48) & 0x3fff) | 0x8000,
           (uint64_t)(b & 0xffffffffffffull));
  return buf;
}

const char *sim_fingerprint(sim *s, char *buf)
{
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint64_t r = sim_rand(s);
  unsigned char in[9];
  size_t o = 0;

  for (int i = 0; i < 8; i++)
    in[i] = (unsigned char)(r >> (8 * i));
  in[8] = 0;
  /* Eight bytes: two full groups of three, then two bytes and one '='. */
  for (int i = 0; i < 9; i += 3) {
    unsigned v =
        (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | (unsigned)in[i + 2];

    buf[o++] = b64[(v >> 18) & 63];
    buf[o++] = b64[(v >> 12) & 63];
    buf[o++] = b64[(v >> 6) & 63];
    buf[o++] = i == 6 ? '=' : b64[v & 63];
  }
  buf[o] = '\0';
  return buf;
}

/* Fingerprints are base64 bytes ("format": "byte"): gcloud sends back
 * the URL-safe spelling of what it read ('-' for '+', '_' for '/'). */
int sim_same_bytes(const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return 0;
  for (; *a && *b; a++, b++) {
    char x = *a == '-' ? '+' : *a == '_' ? '/' : *a;
    char y = *b == '-' ? '+' : *b == '_' ? '/' : *b;

    if (x != y)
      return 0;
  }
  return *a == *b;
}

const char *sim_time_str(uint64_t ms, char *buf)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char tmp[96];
  size_t n;

  gmtime_r(&t, &tm);
  snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (int)(ms % 1000));
  n = strlen(tmp) < 31 ? strlen(tmp) : 31;
  memcpy(buf, tmp, n);
  buf[n] = '\0';
  return buf;
}

int64_t sim_time_parse(const char *t)
{
  return edv__rfc3339_ms(t);
}

const char *sim_now_str(const sim *s, char *buf)
{
  return sim_time_str(sim_now_ms(s), buf);
}

/* --- persistence trigger ------------------------------------------------ */

static void sim_save_cb(uv_timer_t *t)
{
  sim *s = t->data;

  if (s->dirty) {
    uint64_t t0 = uv_hrtime();

    s->dirty = 0;
    sim__save(s);
    s->save_ms = (uv_hrtime() - t0) / 1000000u;
  }
}

void sim_dirty(sim *s)
{
  /* A save writes the whole state: at a fleet's size it takes a while,
   * so the next one waits ten times as long (saving stays within about a
   * tenth of the loop), and never less than the debounce. */
  uint64_t wait = s->save_ms * 10 > SIM_SAVE_DEBOUNCE_MS ? s->save_ms * 10
                                                         : SIM_SAVE_DEBOUNCE_MS;

  s->dirty = 1;
  if (s->state_file && !s->closing &&
      !uv_is_active((uv_handle_t *)&s->save_timer))
    uv_timer_start(&s->save_timer, sim_save_cb, wait, 0);
}

/* --- simulated timers --------------------------------------------------- */

static void sim_timer_arm(sim *s);

static void sim_timer_fire(uv_timer_t *t)
{
  sim__run_due(t->data);
}

/* Runs every timer that is due on the simulated clock, in due order. */
void sim__run_due(sim *s)
{
  if (s->in_timers)
    return; /* a timer callback reading the clock must not recurse */
  s->in_timers = 1;
  while (s->timers && s->timers->due <= sim_now_ms(s)) {
    sim_timer *t = s->timers;

    s->timers = t->next;
    t->cb(s, t->data);
    free(t);
  }
  s->in_timers = 0;
  sim_timer_arm(s);
}

static void sim_timer_arm(sim *s)
{
  uint64_t now, real;

  if (s->closing || s->timers == NULL) {
    uv_timer_stop(&s->timer);
    return;
  }
  now = sim_now_ms(s);
  real = s->timers->due > now
             ? (uint64_t)ceil((double)(s->timers->due - now) / s->scale)
             : 1;
  uv_timer_start(&s->timer, sim_timer_fire, real ? real : 1, 0);
}

sim_timer *sim_timer_at(sim *s, uint64_t due_ms, sim_timer_cb cb, void *data)
{
  sim_timer *t = calloc(1, sizeof(*t)), **pp;

  if (t == NULL)
    return NULL;
  t->due = due_ms;
  t->cb = cb;
  t->data = data;
  for (pp = &s->timers; *pp && (*pp)->due <= due_ms; pp = &(*pp)->next)
    ;
  t->next = *pp;
  *pp = t;
  if (!s->in_timers)
    sim_timer_arm(s);
  return t;
}

void sim_timer_cancel(sim *s, sim_timer *t)
{
  for (sim_timer **pp = &s->timers; t && *pp; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      free(t);
      break;
    }
  }
}

/* --- responses and errors ----------------------------------------------- */

static void resp_reset(sim_resp *r)
{
  json_object_put(r->json);
  r->json = NULL;
  free(r->text);
  r->text = NULL;
  free(r->ctype);
  r->ctype = NULL;
}

int sim_resp_json(sim_resp *r, int status, json_object *body)
{
  resp_reset(r);
  r->status = status;
  r->json = body ? body : json_object_new_object();
  return SIM_DONE;
}

int sim_resp_text(sim_resp *r, int status, const char *content_type,
                  const char *text)
{
  resp_reset(r);
  r->status = status;
  r->text = strdup(text ? text : "");
  r->ctype = content_type ? strdup(content_type) : NULL;
  return SIM_DONE;
}

void sim_resp_header(sim_resp *r, const char *name, const char *value)
{
  if (r->n_hdr >= 4)
    return;
  r->hdr_name[r->n_hdr] = strdup(name);
  r->hdr_value[r->n_hdr] = strdup(value);
  r->n_hdr++;
}

const char *sim_status_for_code(int code)
{
  switch (code) {
  case 400:
    return "INVALID_ARGUMENT";
  case 401:
    return "UNAUTHENTICATED";
  case 403:
    return "PERMISSION_DENIED";
  case 404:
    return "NOT_FOUND";
  case 409:
    return "ALREADY_EXISTS";
  case 412:
    return "FAILED_PRECONDITION";
  case 429:
    return "RESOURCE_EXHAUSTED";
  case 499:
    return "CANCELLED";
  case 501:
    return "UNIMPLEMENTED";
  case 503:
    return "UNAVAILABLE";
  case 504:
    return "DEADLINE_EXCEEDED";
  default:
    return code >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

static json_object *err_legacy_json(int code, const char *reason,
                                    const char *msg, const char *status)
{
  json_object *e = json_object_new_object(), *errs = json_object_new_array(),
              *one = json_object_new_object(), *top = json_object_new_object();
  int usage = strcmp(reason, "quotaExceeded") == 0 ||
              strcmp(reason, "rateLimitExceeded") == 0 ||
              strcmp(reason, "userRateLimitExceeded") == 0;

  json_object_object_add(one, "message", json_object_new_string(msg));
  json_object_object_add(
      one, "domain", json_object_new_string(usage ? "usageLimits" : "global"));
  json_object_object_add(one, "reason", json_object_new_string(reason));
  json_object_array_add(errs, one);
  json_object_object_add(e, "code", json_object_new_int(code));
  json_object_object_add(e, "message", json_object_new_string(msg));
  json_object_object_add(e, "errors", errs);
  if (status)
    json_object_object_add(e, "status", json_object_new_string(status));
  json_object_object_add(top, "error", e);
  return top;
}

static json_object *err_rpc_json(int code, const char *status,
                                 const char *reason, const char *domain,
                                 const char *msg)
{
  json_object *e = json_object_new_object(), *det = json_object_new_array(),
              *info = json_object_new_object(), *top = json_object_new_object();

  json_object_object_add(
      info, "@type",
      json_object_new_string("type.googleapis.com/google.rpc.ErrorInfo"));
  json_object_object_add(info, "reason", json_object_new_string(reason));
  json_object_object_add(info, "domain", json_object_new_string(domain));
  json_object_object_add(info, "metadata", json_object_new_object());
  json_object_array_add(det, info);
  json_object_object_add(e, "code", json_object_new_int(code));
  json_object_object_add(e, "message", json_object_new_string(msg));
  json_object_object_add(e, "status", json_object_new_string(status));
  json_object_object_add(e, "details", det);
  json_object_object_add(top, "error", e);
  return top;
}

static sim_api resp_api(sim_resp *r)
{
  sim_req *req = (sim_req *)((char *)r - offsetof(sim_req, resp));

  return req->rt ? req->rt->api : SIM_API_NONE;
}

int sim_err_legacy(sim_resp *resp, int code, const char *reason,
                   const char *fmt, ...)
{
  char msg[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return sim_resp_json(resp, code, err_legacy_json(code, reason, msg, NULL));
}

static int err_rpc_v(sim_resp *resp, int code, const char *status,
                     const char *reason, const char *fmt, va_list ap)
{
  char msg[1024];
  const char *domain = sim_api_host(resp_api(resp));

  vsnprintf(msg, sizeof(msg), fmt, ap);
  return sim_resp_json(resp, code,
                       err_rpc_json(code, status, reason,
                                    *domain ? domain : "googleapis.com", msg));
}

int sim_err_rpc(sim_resp *resp, int code, const char *status, const char *fmt,
                ...)
{
  va_list ap;
  int result;

  va_start(ap, fmt);
  result = err_rpc_v(resp, code, status, status, fmt, ap);
  va_end(ap);
  return result;
}

int sim_err_rpc_reason(sim_resp *resp, int code, const char *status,
                       const char *reason, const char *fmt, ...)
{
  va_list ap;
  int result;

  va_start(ap, fmt);
  result = err_rpc_v(resp, code, status, reason, fmt, ap);
  va_end(ap);
  return result;
}

int sim_err(sim_resp *resp, int code, const char *reason, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  const char *status = sim_status_for_code(code);

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (sim_api_legacy(resp_api(resp)))
    return sim_err_legacy(resp, code, reason, "%s", msg);
  return sim_err_rpc(resp, code, status, "%s", msg);
}

/* The 401 every API answers to a missing or bad bearer token. */
static int sim_err_unauth(sim_resp *resp, int missing)
{
  const char *msg =
      missing ? "Request is missing required authentication credential. "
                "Expected OAuth 2 access token, login cookie or other valid "
                "authentication credential. See https://developers.google."
                "com/identity/sign-in/web/devconsole-project."
              : "Request had invalid authentication credentials. Expected "
                "OAuth 2 access token, login cookie or other valid "
                "authentication credential. See https://developers.google."
                "com/identity/sign-in/web/devconsole-project.";
  json_object *o = err_legacy_json(401, missing ? "required" : "authError", msg,
                                   "UNAUTHENTICATED");
  json_object *one = json_object_array_get_idx(
      json_object_object_get(json_object_object_get(o, "error"), "errors"), 0);

  json_object_object_add(one, "message",
                         json_object_new_string(missing
                                                    ? "Login Required."
                                                    : "Invalid Credentials"));
  json_object_object_add(one, "location",
                         json_object_new_string("Authorization"));
  json_object_object_add(one, "locationType", json_object_new_string("header"));
  sim_resp_header(resp, "WWW-Authenticate",
                  "Bearer realm=\"https://accounts."
                  "google.com/\"");
  return sim_resp_json(resp, 401, o);
}

/* --- the request -------------------------------------------------------- */

const char *sim_req_verb(const sim_req *req)
{
  return req->sub ? req->sub->verb : edv__http_method(req->http);
}

const char *sim_req_path(const sim_req *req)
{
  return req->sub ? req->sub->path : edv__http_path(req->http);
}

const char *sim_req_method_id(const sim_req *req)
{
  return req->rt ? req->rt->r->method_id : "";
}

sim_api sim_req_api(const sim_req *req)
{
  return req->rt ? req->rt->api : SIM_API_NONE;
}

const char *sim_param(const sim_req *req, const char *name)
{
  for (int i = 0; i < req->n_params; i++)
    if (strcmp(req->pname[i], name) == 0)
      return req->pval[i];
  return NULL;
}

const char *sim_query(const sim_req *req, const char *name)
{
  return req->sub ? sim__sub_query(req->sub, name)
                  : edv__http_query(req->http, name);
}

const char *sim_header(const sim_req *req, const char *name)
{
  return req->sub ? sim__sub_header(req->sub, name)
                  : edv__http_header(req->http, name);
}

json_object *sim_body(const sim_req *req)
{
  return req->body;
}

const char *sim_body_raw(const sim_req *req, size_t *len)
{
  if (req->sub) {
    *len = req->sub->body_len;
    return req->sub->body;
  }
  return edv__http_body(req->http, len);
}

const char *sim_principal(const sim_req *req)
{
  return req->principal ? req->principal : "anonymous";
}

const char *sim_base_url(const sim_req *req)
{
  return req->base_url;
}

int sim_check_project(sim *s, sim_req *req, sim_resp *resp)
{
  const char *p = sim_param(req, "project");

  if (p == NULL)
    p = sim_param(req, "projectsId");
  if (p == NULL || strcmp(p, s->project) == 0)
    return 0;
  sim_err(resp, 404, "notFound", "The resource 'projects/%s' was not found", p);
  return -1;
}

int sim_valid_compute_name(const char *name)
{
  size_t n = name ? strlen(name) : 0;

  if (n < 1 || n > 63 || !islower((unsigned char)name[0]))
    return 0;
  for (size_t i = 1; i < n; i++) {
    unsigned char c = (unsigned char)name[i];

    if (!(islower(c) || isdigit(c) || c == '-'))
      return 0;
  }
  return name[n - 1] != '-';
}

/* --- links -------------------------------------------------------------- */

/* Google's roots that stored links use; the path after the host stays. */
static const char *const sim_roots[] = {
    "https://www.googleapis.com/compute/",
    "https://compute.googleapis.com/compute/",
    "https://sqladmin.googleapis.com/v1/",
    "https://sqladmin.googleapis.com/sql/",
    "https://dns.googleapis.com/dns/",
    "https://www.googleapis.com/dns/",
};

static char *link_v(sim_api api, const char *fmt, va_list ap)
{
  const char *root = api == SIM_API_SQL ? "https://sqladmin.googleapis.com/v1/"
                     : api == SIM_API_DNS ? "https://dns.googleapis.com/dns/v1/"
                                          : "https://www.googleapis.com/"
                                            "compute/v1/";
  char rest[1024], *out;
  size_t n;

  vsnprintf(rest, sizeof(rest), fmt, ap);
  n = strlen(root) + strlen(rest) + 1;
  out = malloc(n);
  if (out)
    snprintf(out, n, "%s%s", root, rest);
  return out;
}

char *sim_link(sim_api api, const char *fmt, ...)
{
  va_list ap;
  char *out;

  va_start(ap, fmt);
  out = link_v(api, fmt, ap);
  va_end(ap);
  return out;
}

json_object *sim_link_json(sim_api api, const char *fmt, ...)
{
  va_list ap;
  char *out;
  json_object *o;

  va_start(ap, fmt);
  out = link_v(api, fmt, ap);
  va_end(ap);
  o = json_object_new_string(out ? out : "");
  free(out);
  return o;
}

char *sim_ref_name(const sim *s, const char *ref)
{
  const char *p = ref, *proj;
  char *out;
  size_t n;

  if (ref == NULL)
    return NULL;
  /* Drop scheme and host ("https://x/", "//x/"), then an API root. */
  if (strstr(p, "://"))
    p = strstr(p, "://") + 3;
  else if (p[0] == '/' && p[1] == '/')
    p += 2;
  else
    goto root;
  p = strchr(p, '/');
  if (p == NULL)
    return strdup("");
  p++;
root:
  while (*p == '/')
    p++;
  proj = strstr(p, "projects/");
  if (proj && (proj == p || proj[-1] == '/'))
    return strdup(proj);
  n = strlen(p) + strlen(s->project) + 11;
  out = malloc(n);
  if (out)
    snprintf(out, n, "projects/%s/%s", s->project, p);
  return out;
}

/*
 * Serialises a response body, rewriting Google's API roots in it to the
 * request's base URL (see sim_link()). Returns a malloc'd string.
 */
char *sim__render(sim_req *req, json_object *obj, size_t *len)
{
  const char *src = json_object_to_json_string_ext(
      obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  size_t blen = strlen(req->base_url), cap = strlen(src) + 1, n = 0;
  char *out = malloc(cap);

  for (const char *p = src; out && *p;) {
    size_t take = 1, add;
    const char *emit = p;

    for (size_t i = 0; *p == 'h' && i < sizeof(sim_roots) / sizeof(*sim_roots);
         i++) {
      size_t rl = strlen(sim_roots[i]);

      if (strncmp(p, sim_roots[i], rl) == 0) {
        emit = NULL;
        /* Skip "https://host/", keep the path. */
        take = (size_t)(strchr(sim_roots[i] + 8, '/') + 1 - sim_roots[i]);
        break;
      }
    }
    add = emit ? 1 : blen + 1;
    if (n + add + 1 > cap) {
      char *q;

      cap = (n + add + 1) * 2;
      q = realloc(out, cap);
      if (q == NULL) {
        free(out);
        return NULL;
      }
      out = q;
    }
    if (emit) {
      out[n++] = *p;
    } else {
      memcpy(out + n, req->base_url, blen);
      n += blen;
      out[n++] = '/';
    }
    p += take;
  }
  if (out)
    out[n] = '\0';
  *len = n;
  return out;
}

/* --- request log -------------------------------------------------------- */

static void sim_log_add(sim *s, sim_req *req, int status)
{
  sim_logent *e = &s->log[s->log_next];

  memset(e, 0, sizeof(*e));
  e->at_ms = sim_now_ms(s);
  snprintf(e->verb, sizeof(e->verb), "%s", sim_req_verb(req));
  snprintf(e->path, sizeof(e->path), "%s", sim_req_path(req));
  e->status = status;
  e->api = sim_req_api(req);
  snprintf(e->method_id, sizeof(e->method_id), "%s", sim_req_method_id(req));
  snprintf(e->principal, sizeof(e->principal), "%s", sim_principal(req));
  e->dropped = req->drop;
  s->log_next = (s->log_next + 1) % SIM_LOG_SIZE;
  if (s->log_count < SIM_LOG_SIZE)
    s->log_count++;
}

void sim__log_json(sim *s, json_object *out)
{
  json_object *arr = json_object_new_array(),
              *counts = json_object_new_object();
  size_t first = (s->log_next + SIM_LOG_SIZE - s->log_count) % SIM_LOG_SIZE;
  char ts[32], code[8];

  for (size_t i = 0; i < s->log_count; i++) {
    sim_logent *e = &s->log[(first + i) % SIM_LOG_SIZE];
    json_object *o = json_object_new_object(), *c;

    json_object_object_add(o, "time",
                           json_object_new_string(sim_time_str(e->at_ms, ts)));
    json_object_object_add(o, "method", json_object_new_string(e->verb));
    json_object_object_add(o, "path", json_object_new_string(e->path));
    json_object_object_add(o, "status", json_object_new_int(e->status));
    json_object_object_add(o, "api",
                           json_object_new_string(sim_api_name(e->api)));
    json_object_object_add(o, "methodId", json_object_new_string(e->method_id));
    json_object_object_add(o, "principal",
                           json_object_new_string(e->principal));
    if (e->dropped)
      json_object_object_add(o, "dropped", json_object_new_boolean(1));
    json_object_array_add(arr, o);
    snprintf(code, sizeof(code), "%d", e->status);
    c = json_object_object_get(counts, code);
    json_object_object_add(
        counts, code, json_object_new_int(c ? json_object_get_int(c) + 1 : 1));
  }
  json_object_object_add(out, "requests", arr);
  json_object_object_add(out, "countsByStatus", counts);
  json_object_object_add(out, "total", json_object_new_int((int)s->log_count));
}

/* --- dispatch ----------------------------------------------------------- */

void sim__req_free(sim_req *req)
{
  for (int i = 0; i < req->n_params; i++) {
    free(req->pname[i]);
    free(req->pval[i]);
  }
  resp_reset(&req->resp);
  for (int i = 0; i < req->resp.n_hdr; i++) {
    free(req->resp.hdr_name[i]);
    free(req->resp.hdr_value[i]);
  }
  json_object_put(req->body);
  free(req->principal);
  free(req->base_url);
  free(req);
}

static void sim_req_closed(uv_handle_t *h)
{
  sim__req_free(h->data);
}

/* Frees the request once its latency timer (if any) is closed. */
static void sim_req_release(sim_req *req)
{
  if (req->delay_active) {
    req->delay_active = 0;
    uv_close((uv_handle_t *)&req->delay, sim_req_closed);
  } else {
    sim__req_free(req);
  }
}

/* Sends the filled response (or drops the connection) and logs it. */
void sim__finish(sim_req *req)
{
  sim *s = req->s;
  sim_resp *r = &req->resp;
  const char *verb = edv__http_method(req->http);

  if (req->finished)
    return;
  req->finished = 1;
  req->defer.active = 0;
  if (r->status == 0)
    sim_resp_json(r, 500,
                  err_rpc_json(500, "INTERNAL", "INTERNAL", "googleapis.com",
                               "no response"));
  sim_log_add(s, req, req->drop ? 0 : r->status);
  if (strcmp(verb, "GET") != 0 && strcmp(verb, "HEAD") != 0)
    sim_dirty(s);
  if (req->drop) {
    edv__httpd_drop(req->http);
  } else {
    for (int i = 0; i < r->n_hdr; i++)
      edv__http_add_header(req->http, r->hdr_name[i], r->hdr_value[i]);
    if (r->json) {
      size_t len = 0;
      char *body = sim__render(req, r->json, &len);

      if (body)
        edv__httpd_respond_owned(req->http, (unsigned)r->status,
                                 "application/json; charset=UTF-8", body, len);
      else
        edv__httpd_drop(req->http);
    } else {
      edv__httpd_respond(req->http, (unsigned)r->status,
                         r->ctype ? r->ctype : "text/plain; charset=utf-8",
                         r->text ? r->text : "", r->text ? strlen(r->text) : 0);
    }
  }
  /* A handler or end callback on the stack releases it when it returns. */
  if (req->hold == 0)
    sim_req_release(req);
}

/* The httpd ends a request we still hold (deadline, client gone, close). */
static void sim_http_end(void *data, edv_http_req *http, edv_httpd_end why)
{
  sim_req *req = data;

  req->hold++;
  if (req->defer.active && req->defer.cb) {
    sim_defer_cb cb = req->defer.cb;

    req->defer.cb = NULL;
    cb(req->s, &req->defer,
       why == EDV_HTTPD_DEADLINE ? SIM_DEFER_DEADLINE : SIM_DEFER_GONE,
       req->defer.data);
  }
  req->hold--;
  if (!req->finished) {
    req->finished = 1;
    req->defer.active = 0;
    sim_log_add(req->s, req, why == EDV_HTTPD_DEADLINE ? 504 : 0);
  }
  if (req->delay_active)
    uv_timer_stop(&req->delay);
  sim_req_release(req);
}

static void sim_call_handler(sim_req *req)
{
  sim *s = req->s;
  int result;

  if (sim__op_dedupe(s, req)) {
    sim__finish(req);
    return;
  }
  req->hold++;
  result = req->rt->r->handler(s, req, &req->resp);
  req->hold--;
  if (req->finished) {
    sim_req_release(req); /* answered from inside the handler */
    return;
  }
  if (result == SIM_DEFER && req->defer.active)
    return;
  sim__finish(req);
}

static void sim_delay_done(uv_timer_t *t)
{
  sim_req *req = t->data;

  sim__run_due(req->s);
  sim_call_handler(req);
}

static int sim_parse_body(sim_req *req)
{
  size_t len;
  const char *raw = sim_body_raw(req, &len);
  json_tokener *tok;
  enum json_tokener_error jerr;
  const char *p = raw;

  while (p < raw + len && isspace((unsigned char)*p))
    p++;
  if (p == raw + len || (req->rt->r->flags & SIM_ROUTE_RAW_BODY))
    return 0;
  /* A method without a request body takes `""` as no body, as Google's
   * front end does (some official clients send it); `{}` parses below. */
  if (sim__route_bodiless(req->rt) && raw + len - p >= 2 && p[0] == '"' &&
      p[1] == '"') {
    const char *q = p + 2;

    while (q < raw + len && isspace((unsigned char)*q))
      q++;
    if (q == raw + len)
      return 0;
  }
  tok = json_tokener_new();
  req->body = json_tokener_parse_ex(tok, raw, (int)len);
  jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (req->body && jerr == json_tokener_success &&
      json_object_is_type(req->body, json_type_object))
    return 0;
  json_object_put(req->body);
  req->body = NULL;
  if (sim_api_legacy(req->rt->api))
    sim_resp_json(&req->resp, 400,
                  err_legacy_json(400, "parseError",
                                  "Invalid JSON payload received. Unexpected "
                                  "token.",
                                  "INVALID_ARGUMENT"));
  else
    sim_err_rpc(&req->resp, 400, "INVALID_ARGUMENT",
                "Invalid JSON payload received. Unexpected token.");
  return -1;
}

/* A Compute list `filter` that does not parse: Compute's 400, before the
 * handler (which would list nothing). */
static int sim_check_filter(sim_req *req)
{
  const char *filter = sim_query(req, "filter");

  if (req->rt->api != SIM_API_COMPUTE || filter == NULL ||
      sim__filter_check(filter) == 0)
    return 0;
  sim_err(&req->resp, 400, "invalid",
          "Invalid value for field 'filter': '%s'. Invalid list filter "
          "expression.",
          filter);
  return -1;
}

static void sim_no_route(sim_req *req, int path_known)
{
  sim_resp_json(&req->resp, 404,
                err_rpc_json(404, "NOT_FOUND", "NOT_FOUND", "googleapis.com",
                             path_known ? "Method not allowed on this path."
                                        : "The requested URL was not found "
                                          "on this server."));
}

void sim__sub_run(sim_req *req)
{
  sim *s = req->s;
  int path_known = 0;

  req->rt = sim__route_match(s, req->sub->verb, req->sub->path,
                             sim_header(req, "Host"), req, &path_known);
  /* Every part goes to the batch's API, and not to the batch itself. */
  if (req->rt == NULL || req->rt->api != SIM_API_COMPUTE ||
      (req->rt->r->flags & SIM_ROUTE_RAW_BODY)) {
    req->rt = NULL;
    sim_no_route(req, path_known);
  } else if (sim__rate_check(s, req) == 0 && sim_parse_body(req) == 0 &&
             sim__fault_region(s, req) == 0 && sim_check_filter(req) == 0 &&
             !sim__op_dedupe(s, req)) {
    (void)req->rt->r->handler(s, req, &req->resp);
  }
  if (req->resp.status == 0)
    sim_resp_json(&req->resp, 500,
                  err_rpc_json(500, "INTERNAL", "INTERNAL", "googleapis.com",
                               "no response"));
  sim_log_add(s, req, req->resp.status);
  if (strcmp(req->sub->verb, "GET") != 0)
    sim_dirty(s);
}

static char *sim_make_base(sim *s, edv_http_req *http)
{
  const char *host = edv__http_header(http, "Host");
  char buf[300];

  if (host && *host && strlen(host) < 256 && !strpbrk(host, "/\"\\ "))
    snprintf(buf, sizeof(buf), "http://%s", host);
  else
    snprintf(buf, sizeof(buf), "http://%s:%u", s->host, sim_port(s));
  return strdup(buf);
}

static void sim_http_handler(void *data, edv_http_req *http)
{
  sim *s = data;
  sim_req *req = calloc(1, sizeof(*req));
  int path_known = 0;
  uint64_t latency = 0;

  if (req == NULL) {
    edv__httpd_respond(http, 503, NULL, "out of memory\n", 14);
    return;
  }
  req->s = s;
  req->http = http;
  req->defer.req = req;
  req->base_url = sim_make_base(s, http);
  edv__http_set_data(http, req);
  edv__http_on_end(http, 0, sim_http_end, req);
  sim__run_due(s);
  if (sim__dataplane_host(s, edv__http_header(http, "Host"))) {
    sim__dataplane(s, req); /* a tenant's hostname: the load balancer */
    sim__finish(req);
    return;
  }
  req->rt = sim__route_match(s, edv__http_method(http), edv__http_path(http),
                             edv__http_header(http, "Host"), req, &path_known);
  if (req->rt == NULL) {
    sim_no_route(req, path_known);
    sim__finish(req);
    return;
  }
  if ((req->rt->r->flags & SIM_ROUTE_LOOPBACK) &&
      !edv__http_peer_is_loopback(http)) {
    sim_err_rpc(&req->resp, 403, "PERMISSION_DENIED",
                "The admin API is served to loopback clients only.");
  } else if (!(req->rt->r->flags & SIM_ROUTE_NOAUTH) && !s->no_auth &&
             sim__auth_check(s, req) != 0) {
    sim_err_unauth(&req->resp, sim_header(req, "Authorization") == NULL);
  } else if (sim__rate_check(s, req) == 0 &&
             sim__fault_pre(s, req, &latency) == 0 &&
             sim_parse_body(req) == 0 && sim__fault_region(s, req) == 0 &&
             sim_check_filter(req) == 0) {
    if (latency == 0) {
      sim_call_handler(req);
      return;
    }
    /* Injected latency: hold the request on a real-time timer. */
    uv_timer_init(s->loop, &req->delay);
    req->delay.data = req;
    req->delay_active = 1;
    uv_timer_start(&req->delay, sim_delay_done, latency, 0);
    return;
  }
  sim__finish(req);
}

/* --- deferred answers --------------------------------------------------- */

sim_defer *sim_defer_begin(sim_req *req, sim_resp *resp, uint64_t deadline_ms,
                           sim_defer_cb on_end, void *data)
{
  req->defer.active = 1;
  req->defer.cb = on_end;
  req->defer.data = data;
  edv__http_on_end(req->http, deadline_ms, sim_http_end, req);
  return &req->defer;
}

sim_resp *sim_defer_resp(sim_defer *d)
{
  return &d->req->resp;
}

void sim_defer_finish(sim_defer *d)
{
  if (d->active)
    sim__finish(d->req);
}

/* --- life --------------------------------------------------------------- */

static sim_profile parse_profile(const char *p, int *ok)
{
  *ok = 1;
  if (p == NULL || strcmp(p, "fast") == 0)
    return SIM_PROFILE_FAST;
  if (strcmp(p, "demo") == 0)
    return SIM_PROFILE_DEMO;
  if (strcmp(p, "realistic") == 0)
    return SIM_PROFILE_REALISTIC;
  *ok = 0;
  return SIM_PROFILE_FAST;
}

static char *with_dot(const char *d)
{
  size_t n = strlen(d);
  char *out = malloc(n + 2);

  if (out)
    snprintf(out, n + 2, "%s%s", d, n && d[n - 1] == '.' ? "" : ".");
  return out;
}

static void sim_handle_closed(uv_handle_t *h);

/* Runs every module's seed: a fresh project or a reset. */
static void sim_seed_modules(sim *s)
{
  for (size_t i = 0; i < sizeof(sim_modules) / sizeof(*sim_modules); i++)
    if (sim_modules[i].seed)
      sim_modules[i].seed(s);
}

void sim__reset(sim *s)
{
  sim__store_clear(s);
  sim__ops_clear(s);
  json_object_put(s->reqids);
  s->reqids = json_object_new_object();
  sim__faults_clear(s);
  sim__usage_clear(s);
  sim__quotas_reset_usage(s);
  s->log_count = s->log_next = 0;
  sim_seed_modules(s);
  sim_dirty(s);
}

static void sim_free(sim *s)
{
  while (s->timers) {
    sim_timer *t = s->timers;

    s->timers = t->next;
    free(t);
  }
  sim__alerting_free(s);
  sim__store_clear(s);
  sim__store_index_free(s);
  sim__ops_clear(s);
  free(s->res.v);
  free(s->ops.v);
  json_object_put(s->reqids);
  sim__routes_free(s);
  sim__faults_clear(s);
  sim__usage_clear(s);
  sim__quotas_free(s);
  sim__auth_free(s);
  free(s->log);
  free(s->host);
  free(s->project);
  free(s->domain);
  free(s->state_file);
  free(s);
}

sim *sim_new(uv_loop_t *loop, const sim_options *opt, edv_error *err)
{
  sim *s;
  edv_httpd_options hopt;

  s = calloc(1, sizeof(*s));
  if (s == NULL) {
    edv_error_set(err, EDV_ENOMEM, "sim: out of memory");
    return NULL;
  }
  s->loop = loop;
  s->profile = opt->profile;
  s->scale = opt->time_scale > 0 ? opt->time_scale : 1.0;
  s->no_auth = opt->no_auth;
  s->host = strdup(opt->host ? opt->host : "127.0.0.1");
  s->project = strdup(opt->project ? opt->project : "edv-sim");
  s->domain = with_dot(opt->domain ? opt->domain : "edvirons.com.");
  s->state_file = opt->state_file ? strdup(opt->state_file) : NULL;
  s->log = calloc(SIM_LOG_SIZE, sizeof(*s->log));
  s->reqids = json_object_new_object();
  s->hr_base = uv_hrtime();
  s->clock_base = (uint64_t)time(NULL) * 1000;
  sim_seed(s, opt->seed ? opt->seed : uv_hrtime() ^ (uint64_t)time(NULL));
  s->project_number = sim_rand_range(s, 100000000000ull, 999999999999ull);
  uv_timer_init(loop, &s->timer);
  uv_timer_init(loop, &s->save_timer);
  s->timer.data = s->save_timer.data = s;
  if (!s->host || !s->project || !s->domain || !s->log) {
    edv_error_set(err, EDV_ENOMEM, "sim: out of memory");
    goto fail;
  }
  if (sim__admin_init(s) != 0 || sim__auth_init(s) != 0)
    goto fail_init;
  for (size_t i = 0; i < sizeof(sim_modules) / sizeof(*sim_modules); i++)
    if (sim_modules[i].init(s) != 0)
      goto fail_init;
  if (s->state_file && sim__load(s, err) < 0)
    goto fail;
  if (s->res.n == 0)
    sim_seed_modules(s);
  memset(&hopt, 0, sizeof(hopt));
  hopt.host = s->host;
  hopt.port = opt->port;
  hopt.handler = sim_http_handler;
  hopt.data = s;
  s->httpd = edv__httpd_start(loop, &hopt, err);
  if (s->httpd == NULL)
    goto fail;
  return s;
fail_init:
  edv_error_set(err, EDV_EINTERNAL, "sim: a module failed to initialise");
fail:
  /* Our two timers are initialised: close them; the memory goes in their
   * close callback, on the caller's next loop run. */
  s->closing = 1;
  s->pending_closes = 2;
  uv_close((uv_handle_t *)&s->timer, sim_handle_closed);
  uv_close((uv_handle_t *)&s->save_timer, sim_handle_closed);
  return NULL;
}

static void sim_handle_closed(uv_handle_t *h)
{
  sim *s = h->data;
  void (*cb)(void *) = s->close_cb;
  void *data = s->close_data;

  if (--s->pending_closes > 0)
    return;
  sim_free(s);
  if (cb)
    cb(data);
}

static void sim_httpd_closed(void *data)
{
  sim *s = data;

  s->httpd = NULL;
  uv_timer_stop(&s->timer);
  uv_timer_stop(&s->save_timer);
  if (s->state_file && s->dirty)
    sim__save(s);
  s->pending_closes = 2;
  uv_close((uv_handle_t *)&s->timer, sim_handle_closed);
  uv_close((uv_handle_t *)&s->save_timer, sim_handle_closed);
}

void sim_close(sim *s, void (*cb)(void *data), void *data)
{
  if (s == NULL || s->closing)
    return;
  s->closing = 1;
  s->close_cb = cb;
  s->close_data = data;
  if (s->state_file)
    s->dirty = 1; /* always write the final clock */
  edv__httpd_close(s->httpd, sim_httpd_closed, s);
}

/* --- public wrapper ----------------------------------------------------- */

struct edv_sim {
  sim *s;
  char base[64];
  void (*cb)(void *data);
  void *data;
};

edv_sim *edv_sim_start(uv_loop_t *loop, const edv_sim_options *opt,
                       edv_error *err)
{
  sim_options so;
  edv_sim *es;
  int ok;

  if (loop == NULL || opt == NULL) {
    edv_error_set(err, EDV_EINVAL, "sim: loop and options are required");
    return NULL;
  }
  memset(&so, 0, sizeof(so));
  so.host = opt->host;
  so.port = opt->port;
  so.state_file = opt->state_file;
  so.profile = parse_profile(opt->profile, &ok);
  if (!ok) {
    edv_error_set(err, EDV_EINVAL,
                  "sim: profile must be fast, demo or realistic, not '%s'",
                  opt->profile);
    return NULL;
  }
  if (opt->time_scale < 0) {
    edv_error_set(err, EDV_EINVAL, "sim: time_scale must be positive");
    return NULL;
  }
  so.time_scale = opt->time_scale;
  so.project = opt->project;
  so.domain = opt->domain;
  so.seed = opt->seed;
  so.no_auth = opt->no_auth;
  es = calloc(1, sizeof(*es));
  if (es == NULL) {
    edv_error_set(err, EDV_ENOMEM, "sim: out of memory");
    return NULL;
  }
  es->s = sim_new(loop, &so, err);
  if (es->s == NULL) {
    free(es);
    return NULL;
  }
  snprintf(es->base, sizeof(es->base), "http://%s:%u", es->s->host,
           sim_port(es->s));
  return es;
}

sim *edv__sim_core(edv_sim *es)
{
  return es ? es->s : NULL;
}

unsigned edv_sim_port(const edv_sim *es)
{
  return es ? sim_port(es->s) : 0;
}

const char *edv_sim_base_url(const edv_sim *es)
{
  return es ? es->base : "";
}

int64_t edv_sim_clock(void *data)
{
  const edv_sim *es = data;

  return (int64_t)sim_now_ms(es->s);
}

int edv_sim_write_key(edv_sim *es, const char *path, edv_error *err)
{
  if (es == NULL || path == NULL)
    return edv_error_set(err, EDV_EINVAL, "sim: sim and path are required");
  return sim__write_key(es->s, path, err);
}

static void edv_sim_closed(void *data)
{
  edv_sim *es = data;

  if (es->cb)
    es->cb(es->data);
  free(es);
}

void edv_sim_close(edv_sim *es, void (*cb)(void *data), void *data)
{
  if (es == NULL)
    return;
  es->cb = cb;
  es->data = data;
  sim_close(es->s, edv_sim_closed, es);
}

void edv_sim_log_set(edv_log_level level, int json)
{
  edv__log_set_level(level);
  edv__log_set_json(json);
}
