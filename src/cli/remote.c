/*
 * remote.c - edvctl's remote mode: `edvctl --server URL tenant ...` runs
 * the tenant commands through edvd's Management API (docs/api.md) instead
 * of the local state store, and prints what the local mode prints: the
 * API's documents are the library's (edv/fleet.h), printed as they are by
 * the same renderer (remote.h).
 *
 * Requests are blocking libcurl calls (one easy handle, kept alive): the
 * CLI has nothing else to do meanwhile. A wait (`create --wait`, `delete`,
 * `retry`, `resume ID`) polls the tenant's journal and record from a timer
 * on the loop, with backoff, and feeds the journal to the same progress
 * view as the local mode; Ctrl-C stops waiting (edvd goes on).
 *
 * The token comes from EDV_TOKEN or --token-file/EDV_TOKEN_FILE (a file
 * group or others may read is refused), never from argv, where ps would
 * show it; it is never printed or logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "cli/progress.h"
#include "cli/remote.h"

#define REMOTE_MAX_BODY  (32u << 20)
#define REMOTE_TOKEN_MAX 512

typedef struct remote {
  CURL *curl;
  char base[512];              /* the server's URL, no trailing '/' */
  char auth[REMOTE_TOKEN_MAX]; /* "Authorization: Bearer ..." (secret) */
  char cacert[512];            /* --cacert, or "" */
  long timeout_ms;
  long connect_ms;
  int async; /* --async: edvd accepted the work; do not wait for it */
} remote;

/* A growing response body. */
typedef struct rbuf {
  char *p;
  size_t len, cap;
  int too_big;
} rbuf;

int cli_remote_on(const cli_ctx *ctx)
{
  return ctx->server != NULL;
}

/* ---- the gate ------------------------------------------------------------*/

int cli_remote_gate(cli_ctx *ctx, const cli_cmd *cmd)
{
  static int (*const ok[])(cli_ctx *, const cli_args *) = {
      cli_cmd_tenant_create, cli_cmd_tenant_list,    cli_cmd_tenant_get,
      cli_cmd_tenant_state,  cli_cmd_tenant_history, cli_cmd_tenant_retry,
      cli_cmd_tenant_resume, cli_cmd_tenant_delete,  cli_cmd_tenant_scale,
      cli_cmd_tenant_apply,  cli_cmd_tenant_update,  cli_cmd_version,
      cli_cmd_help,          cli_cmd_tenant_recover, cli_cmd_tenant_undelete,
      cli_cmd_tenant_move,   cli_cmd_tenant_plan,
  };
  /* The day-2 verbs (cmd_day2.c). */
  static int (*const day2[])(cli_ctx *, const cli_args *) = {
      cli_cmd_tenant_backup,  cli_cmd_tenant_backups,  cli_cmd_tenant_restore,
      cli_cmd_tenant_metrics, cli_cmd_infra_status,    cli_cmd_infra_costs,
      cli_cmd_infra_capacity, cli_cmd_infra_incidents, cli_cmd_infra_reconcile,
      cli_cmd_release_create, cli_cmd_release_list,    cli_cmd_fleet_update,
  };

  if (!ctx->server)
    return CLI_EXIT_OK;
  if (ctx->use_sim)
    return cli_usage_error(ctx, "--sim and --server exclude each other");
  for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
    if (cmd->run == ok[i])
      return CLI_EXIT_OK;
  for (size_t i = 0; i < sizeof(day2) / sizeof(*day2); i++)
    if (cmd->run == day2[i])
      return CLI_EXIT_OK;
  return cli_usage_error(ctx, "not available with --server: the Management API "
                              "has no equivalent (run it on the edvd host, "
                              "without --server)");
}

/* ---- connection ------------------------------------------------------------
 */

static int remote_fail(cli_ctx *ctx, edv_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int remote_fail(cli_ctx *ctx, edv_code code, const char *fmt, ...)
{
  edv_error err;
  va_list ap;

  memset(&err, 0, sizeof(err));
  err.code = code;
  va_start(ap, fmt);
  vsnprintf(err.message, sizeof(err.message), fmt, ap);
  va_end(ap);
  return cli_fail(ctx, &err);
}

/* The token: a printable, space-free word. Trailing blanks and newlines
 * (a file written by `echo`) are dropped. Returns 0, or -1 when it is not
 * one. */
static int token_clean(char *t)
{
  size_t n = strlen(t);

  while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' ||
                   t[n - 1] == '\t'))
    t[--n] = '\0';
  if (n == 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (t[i] < 0x21 || t[i] > 0x7e)
      return -1;
  return 0;
}

/* Reads the token file into tok (size bytes). Returns CLI_EXIT_OK or an
 * exit code after printing; the token is never part of a message. */
static int token_from_file(cli_ctx *ctx, const char *path, char *tok,
                           size_t size)
{
  struct stat st;
  ssize_t n;
  size_t got = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return remote_fail(ctx, EDV_ECRED, "token file '%s': %s", path,
                       strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return remote_fail(ctx, EDV_ECRED, "token file '%s' is not a regular file",
                       path);
  }
  if (st.st_mode & 077) {
    close(fd);
    return remote_fail(ctx, EDV_ECRED,
                       "token file '%s' is readable by group or others "
                       "(mode %04o): refusing it; chmod 600 it",
                       path, (unsigned)(st.st_mode & 07777));
  }
  while (got + 1 < size && (n = read(fd, tok + got, size - 1 - got)) > 0)
    got += (size_t)n;
  close(fd);
  tok[got] = '\0';
  if (got + 1 >= size || token_clean(tok) != 0) {
    OPENSSL_cleanse(tok, size);
    return remote_fail(ctx, EDV_ECRED,
                       "token file '%s' does not hold one API token (one "
                       "line of printable characters, under %zu bytes)",
                       path, size - 1);
  }
  return CLI_EXIT_OK;
}

void cli_remote_close(cli_ctx *ctx)
{
  remote *r = ctx->remote;

  if (!r)
    return;
  if (r->curl)
    curl_easy_cleanup(r->curl);
  OPENSSL_cleanse(r, sizeof(*r));
  free(r);
  ctx->remote = NULL;
  curl_global_cleanup();
}

/* Opens the connection once: the server URL, the token, the CA file. */
/* 1 when an http:// URL's host is a loopback name or address. */
static int http_host_local(const char *url)
{
  const char *h = url + 7;
  size_t n;

  if (*h == '[') /* [::1]:port */
    return strncmp(h, "[::1]", 5) == 0;
  n = strcspn(h, ":/?#");
  return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
         (n >= 4 && strncmp(h, "127.", 4) == 0 &&
          strspn(h, "0123456789.") >= n);
}

static int remote_open(cli_ctx *ctx, remote **out)
{
  char tok[REMOTE_TOKEN_MAX - 32];
  const char *env = getenv("EDV_TOKEN");
  remote *r;
  size_t n;
  int result;

  if (ctx->remote) {
    *out = ctx->remote;
    return CLI_EXIT_OK;
  }
  if (strncmp(ctx->server, "http://", 7) != 0 &&
      strncmp(ctx->server, "https://", 8) != 0)
    return cli_usage_error(ctx,
                           "--server/EDV_SERVER '%s' must start with "
                           "http:// or https://",
                           ctx->server);
  n = strlen(ctx->server);
  while (n > 0 && ctx->server[n - 1] == '/')
    n--;
  if (n >= sizeof(r->base) - 1)
    return cli_usage_error(ctx, "--server/EDV_SERVER: too long");
  /* A bearer token in clear text only to this machine, unless asked. */
  if (strncmp(ctx->server, "http://", 7) == 0 &&
      !http_host_local(ctx->server) &&
      !(getenv("EDV_ALLOW_HTTP") && strcmp(getenv("EDV_ALLOW_HTTP"), "1") == 0))
    return cli_usage_error(ctx,
                           "--server/EDV_SERVER '%s': refusing to send the API "
                           "token over plain http to another host; use https "
                           "(edvd's server.tls_cert/server.tls_key) or set "
                           "EDV_ALLOW_HTTP=1",
                           ctx->server);
  if ((result = cli_config(ctx)))
    return result;
  if (ctx->cacert && strlen(ctx->cacert) >= sizeof(r->cacert))
    return cli_usage_error(ctx, "--cacert/EDV_CACERT: path too long");
  if (ctx->cacert && access(ctx->cacert, R_OK) != 0)
    return cli_usage_error(ctx, "--cacert/EDV_CACERT '%s': %s", ctx->cacert,
                           strerror(errno));
  if (ctx->token_file) {
    if ((result = token_from_file(ctx, ctx->token_file, tok, sizeof(tok))))
      return result;
  } else if (env && *env) {
    if (strlen(env) >= sizeof(tok))
      return remote_fail(ctx, EDV_ECRED, "EDV_TOKEN: longer than %zu bytes",
                         sizeof(tok) - 1);
    snprintf(tok, sizeof(tok), "%s", env);
    if (token_clean(tok) != 0) {
      OPENSSL_cleanse(tok, sizeof(tok));
      return remote_fail(ctx, EDV_ECRED,
                         "EDV_TOKEN: not an API token (printable characters, "
                         "no spaces)");
    }
  } else {
    return remote_fail(ctx, EDV_ECRED,
                       "no API token for --server %s: set EDV_TOKEN or give "
                       "--token-file FILE (a 0600 file; `edvctl token "
                       "create` on the edvd host makes one)",
                       ctx->server);
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
    OPENSSL_cleanse(tok, sizeof(tok));
    return remote_fail(ctx, EDV_ENOMEM, "cannot initialise libcurl");
  }
  r = calloc(1, sizeof(*r));
  if (!r || !(r->curl = curl_easy_init())) {
    free(r);
    curl_global_cleanup();
    OPENSSL_cleanse(tok, sizeof(tok));
    return remote_fail(ctx, EDV_ENOMEM, "out of memory");
  }
  memcpy(r->base, ctx->server, n);
  r->base[n] = '\0';
  snprintf(r->auth, sizeof(r->auth), "Authorization: Bearer %s", tok);
  snprintf(r->cacert, sizeof(r->cacert), "%s", ctx->cacert ? ctx->cacert : "");
  OPENSSL_cleanse(tok, sizeof(tok));
  r->timeout_ms = (long)edv_config_get_int(ctx->cfg, "http.timeout_ms", 120000);
  r->connect_ms =
      (long)edv_config_get_int(ctx->cfg, "http.connect_timeout_ms", 10000);
  ctx->remote = r;
  *out = r;
  return CLI_EXIT_OK;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
  rbuf *b = user;
  size_t n = size * nmemb;

  if (b->len + n + 1 > REMOTE_MAX_BODY) {
    b->too_big = 1;
    return 0;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *p;
    while (cap < b->len + n + 1)
      cap *= 2;
    p = realloc(b->p, cap);
    if (!p)
      return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
  return n;
}

/* The edv code for an answer of the API (docs/api.md, Errors). */
static edv_code code_of(long status, const char *rpc)
{
  switch (status) {
  case 400:
  case 413:
  case 415:
    return EDV_EINVAL;
  case 401:
    return EDV_EUNAUTH;
  case 403:
    return EDV_EPERM;
  case 404:
    return EDV_ENOTFOUND;
  case 409:
    if (strcmp(rpc, "ALREADY_EXISTS") == 0)
      return EDV_EEXIST;
    if (strcmp(rpc, "ABORTED") == 0)
      return EDV_EABORTED;
    if (strcmp(rpc, "FAILED_PRECONDITION") == 0)
      return EDV_EPRECONDITION;
    return EDV_ECONFLICT;
  case 429:
    return EDV_ERATELIMIT;
  case 503:
    return EDV_EUNAVAIL;
  case 504:
    return EDV_ETIMEDOUT;
  default:
    return status >= 500 ? EDV_EINTERNAL : EDV_EHTTP;
  }
}

/*
 * One request. `body` (may be NULL) is sent as JSON. On a 2xx answer sets
 * *out to the parsed JSON (the caller puts it) and returns 0. Else fills
 * *err (the API's error.message; the field is named in it) and returns -1;
 * err->http_status keeps the status (0: no answer).
 */
static int remote_call(remote *r, const char *method, const char *path,
                       json_object *body, json_object **out, edv_error *err)
{
  char url[1200], ebuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *h = NULL;
  rbuf b;
  long status = 0;
  CURLcode rc;
  const char *text =
      body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
           : NULL;

  *out = NULL;
  memset(err, 0, sizeof(*err));
  memset(&b, 0, sizeof(b));
  snprintf(url, sizeof(url), "%s%s", r->base, path);
  curl_easy_reset(r->curl);
  h = curl_slist_append(h, r->auth);
  h = curl_slist_append(h, "Accept: application/json");
  if (text)
    h = curl_slist_append(h, "Content-Type: application/json");
  curl_easy_setopt(r->curl, CURLOPT_URL, url);
  curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, r->timeout_ms);
  curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
  curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "edvctl/" EDV_VERSION);
  if (text) {
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
  }
  if (r->cacert[0])
    curl_easy_setopt(r->curl, CURLOPT_CAINFO, r->cacert);
  rc = curl_easy_perform(r->curl);
  curl_slist_free_all(h);
  if (rc != CURLE_OK) {
    free(b.p);
    edv_error_set(err,
                  rc == CURLE_OPERATION_TIMEDOUT ? EDV_ETIMEDOUT : EDV_ECONN,
                  "cannot reach edvd at %s: %s", r->base,
                  b.too_big ? "answer too large"
                  : ebuf[0] ? ebuf
                            : curl_easy_strerror(rc));
    return -1;
  }
  curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
  {
    json_object *j = b.len ? json_tokener_parse(b.p) : NULL;
    if (status >= 200 && status < 300 && j) {
      free(b.p);
      *out = j;
      return 0;
    }
    if (status >= 200 && status < 300) {
      edv_error_set(err, EDV_EPROTO, "%s %s: the answer is not JSON", method,
                    path);
    } else {
      json_object *e = j ? json_object_object_get(j, "error") : NULL;
      const char *msg = edv__jstr(e, "message");
      const char *rpc = edv__jstr(e, "status");
      edv_error_set(err, code_of(status, rpc ? rpc : ""), "%s",
                    msg ? msg : "edvd answered without an error message");
      if (!msg && status == 404)
        snprintf(err->message, sizeof(err->message),
                 "%s %.200s: not found (is %.200s an edvd?)", method, path,
                 r->base);
    }
    err->http_status = (int)status;
    json_object_put(j);
  }
  free(b.p);
  return -1;
}

/* An error of the API as the local mode would print it: a 400 is a usage
 * error (exit 2) naming the field, the rest "edvctl: CODE: message". */
static int remote_error(cli_ctx *ctx, const edv_error *e)
{
  edv_error x = *e;

  if (x.http_status == 400 || x.http_status == 413 || x.http_status == 415)
    return cli_usage_error(ctx, "%s", x.message);
  x.http_status = 0;
  return cli_fail(ctx, &x);
}

/* ---- the API's JSON -------------------------------------------------------*/

static const char *js(json_object *o, const char *k)
{
  json_object *v;

  return o && json_object_object_get_ex(o, k, &v) &&
                 json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* An error text the local mode wrote with edv_error_format ("ECONN (503
 * x): message") back into an edv_error that formats the same. */
static void err_parse(const char *text, edv_error *e)
{
  const char *p = text;

  memset(e, 0, sizeof(*e));
  e->code = EDV_EOPFAILED;
  for (int c = 1; c <= EDV_EHTTP; c++) {
    const char *n = edv_err_name((edv_code)c);
    size_t len = strlen(n);
    if (strncmp(text, n, len) == 0 && (text[len] == ':' || text[len] == ' ')) {
      e->code = (edv_code)c;
      p = text + len;
      break;
    }
  }
  if (p != text && strncmp(p, " (", 2) == 0) {
    const char *close = strchr(p, ')');
    char *end;
    long st = strtol(p + 2, &end, 10);
    if (close) {
      if (end > p + 2)
        e->http_status = (int)st;
      else
        end = (char *)(uintptr_t)(p + 2);
      if (*end == ' ')
        end++;
      if (close > end)
        snprintf(e->reason, sizeof(e->reason), "%.*s", (int)(close - end), end);
      p = close + 1;
    }
  }
  if (p != text && strncmp(p, ": ", 2) == 0)
    p += 2;
  else
    p = text;
  snprintf(e->message, sizeof(e->message), "%s", p);
}

/* ---- requests ------------------------------------------------------------*/

/* "/api/tenants/ID" with ID escaped, plus `tail`. */
static void tenant_path(remote *r, const char *id, const char *tail, char *out,
                        size_t size)
{
  char *esc = curl_easy_escape(r->curl, id, 0);

  snprintf(out, size, "/api/tenants/%s%s", esc ? esc : "", tail);
  curl_free(esc);
}

/* observe: ask edvd for the live state of the VM, database, certificate
 * and app version too (four GETs on its side), as the local mode shows. */
static int get_tenant(cli_ctx *ctx, remote *r, const char *id, int observe,
                      json_object **out)
{
  char path[300];
  edv_error err;

  tenant_path(r, id, observe ? "?observe=true" : "", path, sizeof(path));
  if (remote_call(r, "GET", path, NULL, out, &err))
    return remote_error(ctx, &err);
  return CLI_EXIT_OK;
}

/* Every journal entry after `after`: the pages of GET .../events as one
 * document (*out, new); *last gets the last seq. 0 or -1 with *err. */
static int get_events(remote *r, const char *id, int64_t after,
                      json_object **out, int64_t *last, edv_error *err)
{
  char path[400], tail[96];
  json_object *o, *next, *doc = NULL;

  for (;;) {
    json_object *evs;
    snprintf(tail, sizeof(tail), "/events?limit=1000&after=%lld",
             (long long)after);
    tenant_path(r, id, tail, path, sizeof(path));
    if (remote_call(r, "GET", path, NULL, &o, err)) {
      json_object_put(doc);
      return -1;
    }
    evs = json_object_object_get(o, "events");
    for (size_t i = 0; evs && i < json_object_array_length(evs); i++) {
      int64_t seq = json_object_get_int64(
          json_object_object_get(json_object_array_get_idx(evs, i), "seq"));
      if (seq > after)
        after = seq;
    }
    if (!doc)
      doc = json_object_get(o);
    else
      cli_tenant_events_append(doc, o);
    next = json_object_object_get(o, "next_after");
    if (!next || json_object_get_int64(next) <= 0) {
      json_object_put(o);
      break;
    }
    after = json_object_get_int64(next);
    json_object_put(o);
  }
  if (last)
    *last = after;
  *out = doc;
  return 0;
}

/* ---- list ----------------------------------------------------------------*/

static int list_into(cli_ctx *ctx, remote *r, const char *tier,
                     const char *state, json_object *list)
{
  char token[128] = "", path[600];
  size_t off;
  edv_error err;
  json_object *o;

  do {
    char *e;
    off = (size_t)snprintf(path, sizeof(path), "/api/tenants?limit=1000");
    if (tier && (e = curl_easy_escape(r->curl, tier, 0))) {
      off += (size_t)snprintf(path + off, sizeof(path) - off, "&tier=%s", e);
      curl_free(e);
    }
    if (state && off < sizeof(path) &&
        (e = curl_easy_escape(r->curl, state, 0))) {
      off += (size_t)snprintf(path + off, sizeof(path) - off, "&state=%s", e);
      curl_free(e);
    }
    if (token[0] && off < sizeof(path) &&
        (e = curl_easy_escape(r->curl, token, 0))) {
      snprintf(path + off, sizeof(path) - off, "&page_token=%s", e);
      curl_free(e);
    }
    if (remote_call(r, "GET", path, NULL, &o, &err))
      return remote_error(ctx, &err);
    {
      json_object *ts = json_object_object_get(o, "tenants");
      for (size_t i = 0; ts && i < json_object_array_length(ts); i++)
        json_object_array_add(
            json_object_object_get(list, "tenants"),
            json_object_get(json_object_array_get_idx(ts, i)));
    }
    snprintf(token, sizeof(token), "%s",
             js(o, "next_page_token") ? js(o, "next_page_token") : "");
    json_object_put(o);
  } while (token[0]);
  return CLI_EXIT_OK;
}

static int do_list(cli_ctx *ctx, remote *r, const cli_args *args)
{
  const char *st = cli_arg(args, "state");
  json_object *list = cli_tenant_list_new();
  int result = list_into(ctx, r, cli_arg(args, "tier"), st, list);

  /* --all: the API lists DELETED tenants only when asked for them. */
  if (result == CLI_EXIT_OK && cli_arg(args, "all") && !st) {
    result = list_into(ctx, r, cli_arg(args, "tier"), "DELETED", list);
    cli_tenant_list_sort(list);
  }
  if (result == CLI_EXIT_OK)
    cli_tenant_print_list(ctx, list);
  json_object_put(list);
  return result;
}

/* ---- get / state / history ---------------------------------------------*/

static int do_show(cli_ctx *ctx, remote *r, const char *id, int whole)
{
  json_object *t;
  int result = get_tenant(ctx, r, id, !whole, &t);

  if (result)
    return result;
  if (whole || ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, t);
  } else {
    cli_tenant_print_summary(ctx, t);
    cli_tenant_print_steps(ctx, json_object_object_get(t, "steps"));
  }
  json_object_put(t);
  return CLI_EXIT_OK;
}

static int do_history(cli_ctx *ctx, remote *r, const char *id)
{
  json_object *t, *doc;
  edv_error err;
  int result = get_tenant(ctx, r, id, 0, &t);

  if (result)
    return result;
  json_object_put(t);
  if (get_events(r, id, 0, &doc, NULL, &err))
    return remote_error(ctx, &err);
  cli_tenant_print_history(ctx, doc);
  json_object_put(doc);
  return CLI_EXIT_OK;
}

/* ---- waiting for a run of edvd -------------------------------------------*/

typedef struct rwait {
  cli_ctx *ctx;
  remote *r;
  const char *id;
  int up;                           /* provisioning (else deleting) */
  cli_view view;                    /* the same view as the local mode */
  uv_timer_t timer;                 /* the next poll */
  int timer_closed;                 /* its close callback ran */
  uint64_t delay_ms;                /* backoff */
  int64_t after;                    /* last journal seq seen */
  char running[CLI_VIEW_MAX_STEPS]; /* steps shown as started */
  char phase[24];                   /* the tenant's phase */
  char last_error[1024];            /* its last error */
  int ended;                        /* the run ended */
  int failures;                     /* connection failures in a row */
  edv_error err;                    /* a request failed for good */
} rwait;

/* The index of step `name` in the tenant's plan, or -1. */
static int step_index(const char *name)
{
  const char *n;

  for (unsigned d = 0; name && edv_fleet_step(0, d, &n, NULL) == 0; d++)
    if (strcmp(n, name) == 0)
      return (int)d;
  return -1;
}

/* One journal entry as the fleet's progress events. */
static void feed(rwait *w, json_object *e)
{
  const char *ev = js(e, "event"), *step = js(e, "step");
  uint64_t dur =
      (uint64_t)json_object_get_int64(json_object_object_get(e, "duration_ms"));
  edv_event x;
  edv_error err;
  int i;

  memset(&x, 0, sizeof(x));
  x.tenant = w->id;
  if (!ev)
    return;
  if (strcmp(ev, "phase") == 0 && js(e, "detail")) {
    x.kind = EDV_EVENT_PHASE;
    x.phase = js(e, "detail");
    cli_view_event(&w->view, &x);
    return;
  }
  if ((i = step_index(step)) < 0 || i >= CLI_VIEW_MAX_STEPS)
    return;
  edv_fleet_step(0, (unsigned)i, &x.step, &x.title);
  if (!w->running[i]) {
    int ends = strcmp(ev, "step.done") == 0 ||
               strcmp(ev, "step.deleted") == 0 ||
               strcmp(ev, "step.failed") == 0;
    x.kind = EDV_EVENT_STEP_START;
    x.elapsed_ms = ends ? dur : 0;
    cli_view_event(&w->view, &x);
    w->running[i] = 1;
  }
  x.elapsed_ms = dur;
  if (strcmp(ev, "step.done") == 0 || strcmp(ev, "step.deleted") == 0) {
    x.kind = EDV_EVENT_STEP_DONE;
    w->running[i] = 0;
  } else if (strcmp(ev, "step.retry") == 0 || strcmp(ev, "step.failed") == 0) {
    err_parse(js(e, "error") ? js(e, "error") : "failed", &err);
    x.error = &err;
    x.kind = strcmp(ev, "step.retry") == 0 ? EDV_EVENT_STEP_RETRY
                                           : EDV_EVENT_STEP_FAIL;
    x.message = x.kind == EDV_EVENT_STEP_RETRY ? "retrying" : NULL;
    if (x.kind == EDV_EVENT_STEP_FAIL)
      w->running[i] = 0;
  } else {
    return; /* api.call, operation, resume: the step is running */
  }
  cli_view_event(&w->view, &x);
}

/* One poll: the new journal entries, then the record. Returns 1 when
 * something changed. */
static int poll_once(rwait *w, edv_error *err)
{
  char path[400], tail[96];
  json_object *o, *evs, *t;
  int changed = 0;

  for (;;) {
    snprintf(tail, sizeof(tail), "/events?limit=1000&after=%lld",
             (long long)w->after);
    tenant_path(w->r, w->id, tail, path, sizeof(path));
    if (remote_call(w->r, "GET", path, NULL, &o, err))
      return -1;
    evs = json_object_object_get(o, "events");
    for (size_t i = 0; evs && i < json_object_array_length(evs); i++) {
      json_object *e = json_object_array_get_idx(evs, i);
      int64_t seq = json_object_get_int64(json_object_object_get(e, "seq"));
      if (seq <= w->after)
        continue;
      w->after = seq;
      feed(w, e);
      changed = 1;
    }
    if (!json_object_object_get(o, "next_after")) {
      json_object_put(o);
      break;
    }
    json_object_put(o);
  }
  tenant_path(w->r, w->id, "", path, sizeof(path));
  if (remote_call(w->r, "GET", path, NULL, &t, err))
    return -1;
  snprintf(w->phase, sizeof(w->phase), "%s",
           js(t, "phase") ? js(t, "phase") : "");
  snprintf(w->last_error, sizeof(w->last_error), "%s",
           js(t, "last_error") ? js(t, "last_error") : "");
  /* The run ended: edvd drives it no more, and the phase is final for
   * the direction. */
  if (!json_object_object_get(t, "run") &&
      (strcmp(w->phase, "FAILED") == 0 ||
       strcmp(w->phase, w->up ? "READY" : "DELETED") == 0 ||
       (!w->up && strcmp(w->phase, "SUSPENDED") == 0)))
    w->ended = 1;
  json_object_put(t);
  return changed;
}

static void wait_tick(uv_timer_t *t)
{
  rwait *w = t->data;
  edv_error err;
  int changed = poll_once(w, &err);

  if (changed < 0) {
    /* edvd restarting or a network hiccup: a few tries, then give up. */
    if (err.http_status != 0 || ++w->failures > 5) {
      w->err = err;
      w->ctx->done = 1;
      return;
    }
  } else {
    w->failures = 0;
  }
  if (w->ended) {
    w->ctx->done = 1;
    return;
  }
  w->delay_ms = changed > 0 ? 200 : w->delay_ms * 3 / 2;
  if (w->delay_ms > 2000)
    w->delay_ms = 2000;
  uv_timer_start(&w->timer, wait_tick, w->delay_ms, 0);
}

static void wait_interrupt(void *data)
{
  rwait *w = data;

  uv_timer_stop(&w->timer);
  w->ctx->done = 1;
}

static void wait_timer_closed(uv_handle_t *h)
{
  ((rwait *)h->data)->timer_closed = 1;
}

/* Starts watching tenant `id`: its journal from now on (call before the
 * request that starts the run). Returns CLI_EXIT_OK or an exit code. */
static int wait_begin(cli_ctx *ctx, remote *r, rwait *w, const char *id, int up,
                      int exists)
{
  edv_error err;
  json_object *doc;

  memset(w, 0, sizeof(*w));
  w->ctx = ctx;
  w->r = r;
  w->id = id;
  w->up = up;
  if (exists) {
    if (get_events(r, id, 0, &doc, &w->after, &err))
      return remote_error(ctx, &err);
    json_object_put(doc);
  }
  return CLI_EXIT_OK;
}

/* Polls until the run ends (or Ctrl-C), drawing the view started with
 * `heading`. Returns the exit code, like the local mode's wait. */
static int wait_run(rwait *w, const char *heading)
{
  cli_ctx *ctx = w->ctx;
  double secs;
  int result = CLI_EXIT_OK;

  cli_view_start(&w->view, ctx, w->id, heading, 0, 1);
  uv_timer_init(ctx->loop, &w->timer);
  w->timer.data = w;
  w->delay_ms = 200;
  uv_timer_start(&w->timer, wait_tick, 0, 0);
  ctx->done = 0;
  ctx->on_interrupt = wait_interrupt;
  ctx->interrupt_data = w;
  cli_loop_run(ctx);
  ctx->on_interrupt = NULL;
  uv_timer_stop(&w->timer);
  secs = (double)(uv_now(ctx->loop) - w->view.start_ms) / 1e3;
  if (ctx->interrupted) {
    cli_view_finish(&w->view, 1, "Stopped waiting after %.1fs.", secs);
    fprintf(ctx->err,
            "%s: interrupted; edvd goes on with %s: `edvctl --server %s "
            "tenant get %s` shows it\n",
            ctx->prog, w->id, w->r->base, w->id);
    result = CLI_EXIT_INTERRUPTED;
  } else if (w->err.code) {
    cli_view_finish(&w->view, 0, "%s: lost track after %.1fs.", w->id, secs);
    result = remote_error(ctx, &w->err);
  } else if (strcmp(w->phase, "FAILED") == 0) {
    edv_error e;
    cli_view_finish(&w->view, 0, "%s FAILED after %.1fs.", w->id, secs);
    err_parse(w->last_error[0] ? w->last_error : "the run failed", &e);
    result = cli_fail(ctx, &e);
  } else {
    cli_view_finish(&w->view, 0, "%s is %s (%.1fs).", w->id, w->phase, secs);
  }
  cli_view_close(&w->view);
  uv_close((uv_handle_t *)&w->timer, wait_timer_closed);
  while (!w->timer_closed)
    uv_run(ctx->loop, UV_RUN_ONCE);
  return result;
}

/* After a run, as the local mode: JSON the tenant document, else its
 * summary with the live state. */
static void summary(cli_ctx *ctx, remote *r, const char *id)
{
  json_object *t;

  if (get_tenant(ctx, r, id, ctx->format != CLI_FORMAT_JSON, &t))
    return;
  cli_tenant_print_summary(ctx, t);
  json_object_put(t);
}

/* ---- create / retry / resume / delete ------------------------------------*/

/* A create's 400 with the argument that was given in front, as the local
 * mode says it: "SLUG 'Green_Wood': field 'slug' ...". */
static int create_error(cli_ctx *ctx, const cli_args *args, const edv_error *e)
{
  static const char *const fields[] = {"field 'id'", "field 'slug'",
                                       "field 'display_name'", "field 'tier'",
                                       "field 'region'"};
  static const char *const names[] = {"ID", "SLUG", "NAME", "TIER", "REGION"};

  if (e->http_status == 400)
    for (int i = 0; i < 5; i++)
      if (strncmp(e->message, fields[i], strlen(fields[i])) == 0)
        return cli_usage_error(ctx, "%s '%s': %s", names[i], args->argv[i],
                               e->message);
  return remote_error(ctx, e);
}

/* POST /api/tenants with the spec of the command line. */
static int post_spec(cli_ctx *ctx, remote *r, const cli_args *args)
{
  static const char *const keys[] = {"id", "slug", "display_name", "tier",
                                     "region"};
  json_object *body = json_object_new_object(), *out;
  edv_error err;
  int bad;

  for (int i = 0; i < 5; i++)
    json_object_object_add(body, keys[i],
                           json_object_new_string(args->argv[i]));
  if (cli_arg(args, "ops-ssh"))
    json_object_object_add(body, "ops_ssh", json_object_new_boolean(1));
  bad = remote_call(r, "POST", "/api/tenants", body, &out, &err);
  json_object_put(body);
  if (bad)
    return create_error(ctx, args, &err);
  json_object_put(out);
  return CLI_EXIT_OK;
}

/* --async: the work is accepted; says how to follow it (or prints the
 * tenant document with --format json). */
static int async_done(cli_ctx *ctx, remote *r, const char *id, const char *what)
{
  json_object *t;
  int result = get_tenant(ctx, r, id, 0, &t);

  if (result)
    return result;
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, t);
  else
    fprintf(ctx->out,
            "Tenant %s: %s accepted (%s); edvd carries it on. Follow it with "
            "`edvctl --server %s tenant get %s`.\n",
            id, what, js(t, "phase") ? js(t, "phase") : "?", r->base, id);
  json_object_put(t);
  return CLI_EXIT_OK;
}

static int do_create(cli_ctx *ctx, remote *r, const cli_args *args)
{
  rwait w;
  char heading[160];
  int result, wait;

  if (cli_arg(args, "wait") &&
      (cli_arg(args, "no-wait") || cli_arg(args, "async")))
    return cli_usage_error(ctx, "--wait and --async exclude each other");
  /* Waits by default; --no-wait is --async's older name. */
  wait = !r->async && !cli_arg(args, "no-wait");
  /* The journal from now on: a tenant created again (FAILED, retried)
   * has entries already. */
  {
    json_object *t = NULL;
    char path[300];
    edv_error err;
    tenant_path(r, args->argv[0], "", path, sizeof(path));
    int exists = remote_call(r, "GET", path, NULL, &t, &err) == 0;
    json_object_put(t);
    if (!exists && err.http_status != 404)
      return remote_error(ctx, &err);
    if (wait && (result = wait_begin(ctx, r, &w, args->argv[0], 1, exists)))
      return result;
  }
  if ((result = post_spec(ctx, r, args)))
    return result;
  if (!wait)
    return async_done(ctx, r, args->argv[0], "the creation");
  snprintf(heading, sizeof(heading), "Provisioning %s (%s, %s, %s)",
           args->argv[0], args->argv[1], args->argv[3], args->argv[4]);
  result = wait_run(&w, heading);
  if (result != CLI_EXIT_INTERRUPTED)
    summary(ctx, r, args->argv[0]);
  if (strcmp(w.phase, "FAILED") == 0 && !ctx->quiet &&
      ctx->format != CLI_FORMAT_JSON)
    fprintf(ctx->err,
            "%s: tenant %s is FAILED; fix the cause above, then run `edvctl "
            "tenant retry %s`\n",
            ctx->prog, args->argv[0], args->argv[0]);
  return result;
}

static int do_delete(cli_ctx *ctx, remote *r, const cli_args *args)
{
  const char *id = args->argv[0];
  json_object *t, *out;
  rwait w;
  edv_error err;
  char heading[200], path[300];
  int result = get_tenant(ctx, r, id, 0, &t);

  if (result)
    return result;
  if (js(t, "phase") && strcmp(js(t, "phase"), "DELETED") == 0) {
    json_object_put(t);
    edv_error_set(&err, EDV_ENOTFOUND, "tenant '%s' is already deleted", id);
    return cli_fail(ctx, &err);
  }
  if (!cli_arg(args, "yes") &&
      (result = cli_tenant_confirm_delete(ctx, id, js(t, "slug")))) {
    json_object_put(t);
    return result;
  }
  if (!r->async && (result = wait_begin(ctx, r, &w, id, 0, 1))) {
    json_object_put(t);
    return result;
  }
  tenant_path(r, id, cli_arg(args, "now") ? "?now=true" : "", path,
              sizeof(path));
  if (remote_call(r, "DELETE", path, NULL, &out, &err)) {
    json_object_put(t);
    return remote_error(ctx, &err);
  }
  json_object_put(out);
  if (r->async) {
    json_object_put(t);
    return async_done(ctx, r, id, "the deletion");
  }
  snprintf(heading, sizeof(heading), "Deleting %s (%s, %s)", id, js(t, "slug"),
           js(t, "tier"));
  json_object_put(t);
  result = wait_run(&w, heading);
  if (result == CLI_EXIT_OK && ctx->format == CLI_FORMAT_JSON)
    summary(ctx, r, id);
  else if (result == CLI_EXIT_OK && !cli_arg(args, "now") &&
           get_tenant(ctx, r, id, 0, &t) == CLI_EXIT_OK) {
    if (js(t, "phase") && strcmp(js(t, "phase"), "SUSPENDED") == 0)
      fprintf(ctx->out,
              "Tenant %s suspended; purged after %s (tenant undelete %s "
              "brings it back).\n",
              id, js(t, "purge_after"), id);
    else
      fprintf(ctx->out, "Tenant %s deleted.\n", id);
    json_object_put(t);
  } else if (result == CLI_EXIT_OK)
    fprintf(ctx->out, "Tenant %s deleted.\n", id);
  return result;
}

/* ---- scale / apply -------------------------------------------------------*/

/* Whether the run an answer started drives the tenant up (to READY), as
 * the library chose it: its document's run.direction, else its phase. */
static int run_up(json_object *answer)
{
  json_object *t = json_object_object_get(answer, "tenant");
  const char *dir, *phase;

  t = t ? t : answer;
  dir = js(json_object_object_get(t, "run"), "direction");
  phase = js(t, "phase") ? js(t, "phase") : "";
  if (dir)
    return strcmp(dir, "down") != 0 && strcmp(dir, "suspend") != 0;
  return strcmp(phase, "DEPROVISIONING") != 0 &&
         strcmp(phase, "DELETED") != 0 && strcmp(phase, "SUSPENDED") != 0;
}

/* METHOD /api/tenants/ID[/VERB] with `body` (may be NULL), then waits
 * for the run it started; *answer gets the request's document. */
static int call_and_wait(cli_ctx *ctx, remote *r, const char *method,
                         const char *id, const char *verb, json_object *body,
                         const char *heading, json_object **answer)
{
  char path[300], tail[32];
  rwait w;
  edv_error err;
  int result;

  *answer = NULL;
  if (!r->async && (result = wait_begin(ctx, r, &w, id, 1, 1)))
    return result;
  snprintf(tail, sizeof(tail), "%s%s", verb ? "/" : "", verb ? verb : "");
  tenant_path(r, id, tail, path, sizeof(path));
  if (remote_call(r, method, path, body, answer, &err))
    return remote_error(ctx, &err);
  if (r->async)
    return CLI_EXIT_OK; /* the caller says how to follow it */
  w.up = run_up(*answer);
  return wait_run(&w, heading);
}

static int do_scale(cli_ctx *ctx, remote *r, const cli_args *args)
{
  const char *id = args->argv[0], *tier = args->argv[1];
  json_object *t, *body, *answer;
  char heading[200];
  int result = get_tenant(ctx, r, id, 0, &t);

  if (result)
    return result;
  snprintf(heading, sizeof(heading), "Scaling %s (%s, %s): %s", id,
           js(t, "slug"), js(t, "tier"), tier);
  json_object_put(t);
  body = json_object_new_object();
  json_object_object_add(body, "tier", json_object_new_string(tier));
  result = call_and_wait(ctx, r, "POST", id, "scale", body, heading, &answer);
  json_object_put(body);
  if (r->async) {
    json_object_put(answer);
    return result ? result : async_done(ctx, r, id, "the scaling");
  }
  if (result == CLI_EXIT_OK && ctx->format == CLI_FORMAT_JSON) {
    /* The library's answer, with the tenant as the run left it. */
    if (get_tenant(ctx, r, id, 0, &t) == CLI_EXIT_OK) {
      json_object_object_add(answer, "tenant", t);
      cli_print_json(ctx, answer);
    }
  } else if (result != CLI_EXIT_INTERRUPTED && answer) {
    cli_tenant_print_notes(ctx, answer);
    summary(ctx, r, id);
  }
  json_object_put(answer);
  return result;
}

/* apply, retry, resume, recover, undelete and move: POST
 * /api/tenants/ID/VERB (with `body`, or none), then the run's progress; the
 * library chooses the run's direction, and refuses a phase it does not
 * take. */
static int do_post(cli_ctx *ctx, remote *r, const char *id, const char *verb,
                   json_object *body, const char *doing, const char *what,
                   const char *async_what)
{
  json_object *t, *answer;
  char heading[200];
  int result = get_tenant(ctx, r, id, 0, &t);

  if (result)
    return result;
  snprintf(heading, sizeof(heading), "%s %s (%s, %s)%s%s", doing, id,
           js(t, "slug"), js(t, "tier"), what ? ": " : "", what ? what : "");
  json_object_put(t);
  result = call_and_wait(ctx, r, "POST", id, verb, body, heading, &answer);
  json_object_put(answer);
  if (r->async)
    return result ? result : async_done(ctx, r, id, async_what);
  if (result != CLI_EXIT_INTERRUPTED)
    summary(ctx, r, id);
  return result;
}

/* resume ID: as the local mode, a tenant with no run to carry on says so
 * (the library would answer with its document). */
static int do_resume(cli_ctx *ctx, remote *r, const char *id)
{
  json_object *t;
  int result = get_tenant(ctx, r, id, 0, &t), nothing;

  if (result)
    return result;
  nothing = cli_tenant_nothing_to_resume(ctx, t);
  json_object_put(t);
  if (nothing)
    return CLI_EXIT_OK;
  return do_post(ctx, r, id, "resume", NULL, "Resuming", NULL, "the resume");
}

/* update --ops-ssh on|off (checked by the caller): PUT {"ops_ssh"}. */
static int do_update(cli_ctx *ctx, remote *r, const cli_args *args)
{
  const char *id = args->argv[0];
  json_object *t, *body, *answer;
  char heading[400], what[200];
  int result = get_tenant(ctx, r, id, 0, &t);

  if (result)
    return result;
  if (!(body = cli_tenant_update_patch(ctx, args, what, sizeof(what)))) {
    json_object_put(t);
    return CLI_EXIT_USAGE;
  }
  snprintf(heading, sizeof(heading), "Updating %s (%s, %s): %s", id,
           js(t, "slug"), js(t, "tier"), what);
  json_object_put(t);
  result = call_and_wait(ctx, r, "PUT", id, NULL, body, heading, &answer);
  json_object_put(body);
  json_object_put(answer);
  if (result != CLI_EXIT_INTERRUPTED)
    summary(ctx, r, id);
  return result;
}

/* ---- entry -------------------------------------------------------------*/

int cli_remote_tenant(cli_ctx *ctx, const cli_args *args)
{
  const char *name = args->cmd->name;
  remote *r;
  int result = remote_open(ctx, &r);

  if (result)
    return result;
  if (strcmp(name, "resume") == 0 && args->argc == 0)
    return cli_usage_error(
        ctx, cli_arg(args, "all")
                 ? "--all: not available with --server: edvd resumes "
                   "interrupted tenants itself on every reconcile pass "
                   "(`edvctl infra reconcile` runs one now)"
                 : "give a tenant ID or --all");
  r->async = cli_arg(args, "async") != NULL;
  if (strcmp(name, "list") == 0)
    result = do_list(ctx, r, args);
  else if (strcmp(name, "get") == 0)
    result = do_show(ctx, r, args->argv[0], 0);
  else if (strcmp(name, "state") == 0)
    result = do_show(ctx, r, args->argv[0], 1);
  else if (strcmp(name, "history") == 0)
    result = do_history(ctx, r, args->argv[0]);
  else if (strcmp(name, "create") == 0)
    result = do_create(ctx, r, args);
  else if (strcmp(name, "retry") == 0)
    result = do_post(ctx, r, args->argv[0], "retry", NULL, "Retrying", NULL,
                     "the retry");
  else if (strcmp(name, "resume") == 0)
    result = do_resume(ctx, r, args->argv[0]);
  else if (strcmp(name, "delete") == 0)
    result = do_delete(ctx, r, args);
  else if (strcmp(name, "scale") == 0)
    result = do_scale(ctx, r, args);
  else if (strcmp(name, "apply") == 0)
    result = do_post(ctx, r, args->argv[0], "apply", NULL, "Applying",
                     "the plan", "the reconcile");
  else if (strcmp(name, "recover") == 0)
    result = do_post(ctx, r, args->argv[0], "recover", NULL, "Recovering",
                     "from its final backup", "the recovery");
  else if (strcmp(name, "undelete") == 0)
    result = do_post(ctx, r, args->argv[0], "undelete", NULL, "Undeleting",
                     "from its deletion's grace", "the undelete");
  else if (strcmp(name, "move") == 0) {
    json_object *body = json_object_new_object();
    char what[80];
    snprintf(what, sizeof(what), "to region %.40s", cli_arg(args, "region"));
    json_object_object_add(body, "region",
                           json_object_new_string(cli_arg(args, "region")));
    if (cli_arg(args, "from-latest-backup"))
      json_object_object_add(body, "from_latest_backup",
                             json_object_new_boolean(1));
    result = do_post(ctx, r, args->argv[0], "move", body, "Moving", what,
                     "the move");
    json_object_put(body);
  } else if (strcmp(name, "update") == 0 && cli_arg(args, "release")) {
    json_object *body = json_object_new_object();
    char what[80];
    if (cli_arg(args, "display-name") || cli_arg(args, "ops-ssh")) {
      json_object_put(body);
      return cli_usage_error(ctx, "--release: one change at a time (no "
                                  "--display-name or --ops-ssh with it)");
    }
    snprintf(what, sizeof(what), "to release %.48s", cli_arg(args, "release"));
    json_object_object_add(body, "release",
                           json_object_new_string(cli_arg(args, "release")));
    result = do_post(ctx, r, args->argv[0], "release", body, "Updating", what,
                     "the release change");
    json_object_put(body);
  } else if (strcmp(name, "update") == 0)
    result = do_update(ctx, r, args);
  else
    result = cli_usage_error(ctx, "not available with --server");
  return result;
}

/* ---- the day-2 verbs (cmd_day2.c) ----------------------------------------*/

int cli_remote_request(cli_ctx *ctx, const char *method, const char *id,
                       const char *path, const char *const *query,
                       json_object *body, json_object **out)
{
  remote *r;
  char full[600];
  edv_error err;
  size_t n;
  int result = remote_open(ctx, &r);

  if (result)
    return result;
  if (id)
    tenant_path(r, id, path, full, sizeof(full));
  else
    snprintf(full, sizeof(full), "%s", path);
  for (size_t i = 0; query && query[i]; i += 2) {
    char *esc = curl_easy_escape(r->curl, query[i + 1], 0);
    n = strlen(full);
    snprintf(full + n, sizeof(full) - n, "%c%s=%s", i ? '&' : '?', query[i],
             esc ? esc : "");
    curl_free(esc);
  }
  if (remote_call(r, method, full, body, out, &err))
    return remote_error(ctx, &err);
  return CLI_EXIT_OK;
}
