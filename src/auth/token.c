/*
 * token.c - edv_auth: the access token cache, single-flight refresh and the
 * queue of callers waiting for a token (see auth.h for the contract).
 *
 * States of the cached token, with `left` = expiry - now:
 *   left > 300 s          FRESH: served as is.
 *   10 s < left <= 300 s  STALE: still served at once, and one background
 *                         refresh starts (google-cloud-cpp refreshes when
 *                         now + 300 s >= expiry; the 300 s also covers the
 *                         metadata server, which keeps tokens until about
 *                         4 minutes before they expire).
 *   left <= 10 s or none  NONE: callers wait for the refresh (10 s is
 *                         golang.org/x/oauth2's expiry delta: a token must
 *                         outlive the request that carries it).
 * Only one refresh is ever in flight; every caller waiting when it ends
 * gets its result. When a refresh fails while the old token is still
 * usable, the old token is served, a warning is logged, and the next
 * attempt waits out an exponential backoff (1 s doubling to 60 s).
 *
 * Callbacks never run inside edv__auth_token(): requests are queued and an
 * idle handle answers them on the next loop iteration (an idle handle, not
 * a 0 ms timer: libuv < 1.48 busy-loops timers due "now", libuv #4245).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "auth/internal.h"
#include "common/log.h"

typedef struct auth_waiter {
  edv_token_cb cb;
  void *data;
  struct auth_waiter *next;
} auth_waiter;

struct edv_auth {
  edv_engine *engine;
  uv_loop_t *loop;
  uv_idle_t idle; /* answers queued callers from the loop */
  /* configuration */
  char *access_token_file; /* config access_token_file */
  char *key_file;          /* config key_file */
  char *scope;             /* space-separated scopes for JWTs */
  char *scopes_csv;        /* comma-separated, metadata ?scopes=, or NULL */
  char *subject;           /* config auth.subject (JWT sub), or NULL */
  int self_signed;         /* config auth.self_signed_jwt */
  /* credentials */
  int resolved;     /* creds holds the ADC result */
  int md_confirmed; /* the metadata server gave a token once */
  edv__creds creds;
  char *md_project; /* project id from the metadata server */
  char describe[512];
  /* cache */
  char *token;          /* cached access token (SECRET), or NULL */
  uint64_t expiry_ms;   /* monotonic ms; UINT64_MAX: never */
  uint64_t next_try_ms; /* no background refresh before this */
  uint64_t backoff_ms;  /* current backoff after failed refreshes */
  edv__fetch *fetch;    /* the refresh in flight, or NULL */
  /* callers waiting for a token */
  auth_waiter *head;
  auth_waiter **tail;
  int closing; /* edv__auth_free() was called */
  /* clock (replaceable by tests) */
  uint64_t (*mono_ms)(void *);
  int64_t (*wall_s)(void *);
  void *clock_data;
};

static uint64_t auth_mono_default(void *data)
{
  (void)data;
  return uv_hrtime() / 1000000u;
}

static int64_t auth_wall_default(void *data)
{
  (void)data;
  return (int64_t)time(NULL);
}

void edv__auth_set_clock(edv_auth *auth, uint64_t (*mono_ms)(void *),
                         int64_t (*wall_s)(void *), void *data)
{
  auth->mono_ms = mono_ms ? mono_ms : auth_mono_default;
  auth->wall_s = wall_s ? wall_s : auth_wall_default;
  auth->clock_data = data;
}

edv__tok_state edv__token_state(int have_token, uint64_t expiry_ms,
                                uint64_t now_ms)
{
  uint64_t left;

  if (!have_token || expiry_ms <= now_ms)
    return EDV__TOK_NONE;
  left = expiry_ms - now_ms;
  if (left <= EDV__AUTH_HARD_MARGIN_MS)
    return EDV__TOK_NONE;
  if (left <= EDV__AUTH_REFRESH_MARGIN_MS)
    return EDV__TOK_STALE;
  return EDV__TOK_FRESH;
}

static edv__tok_state auth_state(const edv_auth *auth)
{
  return edv__token_state(auth->token != NULL, auth->expiry_ms,
                          auth->mono_ms(auth->clock_data));
}

/* ---- answering waiters ---------------------------------------------------
 * The queue is detached before the callbacks run: a callback may ask for
 * another token (queued for the next round), invalidate the token (we hand
 * out a copy) or free the auth (the detached waiters still get this
 * result; the struct itself lives until its close callback). */

static auth_waiter *auth_detach(edv_auth *auth)
{
  auth_waiter *list = auth->head;

  auth->head = NULL;
  auth->tail = &auth->head;
  return list;
}

static void auth_fail_all(edv_auth *auth, const edv_error *err)
{
  auth_waiter *w = auth_detach(auth), *next;
  edv_error copy = *err;

  for (; w; w = next) {
    next = w->next;
    w->cb(w->data, NULL, &copy);
    free(w);
  }
}

static void auth_deliver(edv_auth *auth)
{
  auth_waiter *w, *next;
  char *tok;

  if (!auth->head)
    return;
  tok = strdup(auth->token);
  if (!tok) {
    edv_error err;
    edv_error_set(&err, EDV_ENOMEM, "out of memory copying the token");
    auth_fail_all(auth, &err);
    return;
  }
  for (w = auth_detach(auth); w; w = next) {
    next = w->next;
    w->cb(w->data, tok, NULL);
    free(w);
  }
  edv__secret_free(tok);
}

/* ---- credentials -------------------------------------------------------*/

static int auth_resolve(edv_auth *auth, edv_error *err)
{
  edv__adc_opts o;
  int result;

  o.access_token_file = auth->access_token_file;
  o.key_file = auth->key_file;
  result = edv__adc_find(&o, &auth->creds, err);
  if (result)
    return result;
  auth->resolved = 1;
  edv__creds_describe(&auth->creds, auth->self_signed, auth->describe,
                      sizeof(auth->describe));
  EDV_LOG_I("auth", "credentials: %s", auth->describe);
  return 0;
}

static void auth_unresolve(edv_auth *auth)
{
  edv__creds_clear(&auth->creds);
  auth->resolved = 0;
  auth->md_confirmed = 0;
  edv__creds_describe(NULL, 0, auth->describe, sizeof(auth->describe));
}

/* Reads the static token file: trimmed, one line, no blanks. */
static int auth_read_token_file(edv_auth *auth, edv__fetch *f)
{
  char *buf;
  size_t len, i;
  int result;

  result = edv__secret_file_read(auth->creds.path, "access token file", &buf,
                                 &len, &f->err);
  if (result)
    return result;
  while (len && strchr(" \t\r\n", buf[len - 1]))
    buf[--len] = '\0';
  for (i = 0; i < len; i++)
    if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
      break;
  if (len == 0 || i < len) {
    edv__secret_free(buf);
    edv_error_set(&f->err, EDV_ECRED,
                  "access token file '%s' must hold one token on one line",
                  auth->creds.path);
    snprintf(f->err.where, sizeof(f->err.where), "%s", auth->creds.path);
    return EDV_ECRED;
  }
  f->token = buf;
  f->expires_in = 0; /* unknown: used until the server refuses it */
  return 0;
}

/* ---- refresh -----------------------------------------------------------*/

static void auth_fetch_free(edv__fetch *f)
{
  edv__secret_free(f->token);
  if (f->form)
    edv__secret_free(f->form);
  free(f->project_id);
  free(f);
}

static void auth_redact(const edv_auth *auth, edv__fetch *f)
{
  const char *secrets[5];
  size_t i;

  secrets[0] = auth->creds.client_secret;
  secrets[1] = auth->creds.refresh_token;
  secrets[2] = auth->creds.private_key;
  secrets[3] = auth->token;
  secrets[4] = f->token;
  for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
    edv__redact(f->err.message, secrets[i]);
    edv__redact(f->err.reason, secrets[i]);
  }
}

/* The metadata server was our last resort and did not answer as one:
 * nothing was found. Say everything we tried. */
static void auth_md_not_found(edv_auth *auth, edv__fetch *f)
{
  char detail[256];
  edv_error e = f->err;

  edv_error_format(&e, detail, sizeof(detail));
  edv_error_set(&f->err, EDV_ECRED,
                "no Google credentials found; tried %s, metadata server %s "
                "(%s)",
                auth->creds.tried ? auth->creds.tried : "",
                auth->creds.metadata_root, detail);
  snprintf(f->err.where, sizeof(f->err.where),
           "Application Default Credentials");
}

static void auth_fetch_failed(edv_auth *auth, edv__fetch *f, uint64_t now)
{
  char msg[600];

  auth_redact(auth, f);
  if (auth->creds.kind == EDV_CRED_METADATA && !auth->md_confirmed &&
      f->err.code != EDV_ECANCELED) {
    auth_md_not_found(auth, f);
    auth_unresolve(auth);
  }
  edv_error_format(&f->err, msg, sizeof(msg));
  if (auth->token && auth_state(auth) != EDV__TOK_NONE) {
    auth->backoff_ms =
        auth->backoff_ms ? auth->backoff_ms * 2 : EDV__AUTH_BACKOFF_MIN_MS;
    if (auth->backoff_ms > EDV__AUTH_BACKOFF_MAX_MS)
      auth->backoff_ms = EDV__AUTH_BACKOFF_MAX_MS;
    auth->next_try_ms = now + auth->backoff_ms;
    EDV_LOG_W("auth",
              "token refresh failed: %s; still using the current token "
              "(valid %llu s more), next try in %llu ms",
              msg, (unsigned long long)((auth->expiry_ms - now) / 1000),
              (unsigned long long)auth->backoff_ms);
    auth_deliver(auth);
    return;
  }
  if (f->err.code != EDV_ECANCELED) /* engine closing: not news */
    EDV_LOG_W("auth", "cannot get an access token: %s", msg);
  auth_fail_all(auth, &f->err);
}

static void auth_fetch_finish(edv_auth *auth, edv__fetch *f)
{
  uint64_t now = auth->mono_ms(auth->clock_data);

  if (f->failed || !f->token) {
    if (!f->failed)
      edv_error_set(&f->err, EDV_EINTERNAL, "token fetch gave no token");
    auth_fetch_failed(auth, f, now);
    return;
  }
  edv__secret_free(auth->token);
  auth->token = f->token;
  f->token = NULL;
  auth->expiry_ms =
      f->expires_in > 0 ? now + (uint64_t)f->expires_in * 1000u : UINT64_MAX;
  auth->backoff_ms = 0;
  auth->next_try_ms = 0;
  if (auth->creds.kind == EDV_CRED_METADATA) {
    auth->md_confirmed = 1;
    if (f->project_id) {
      free(auth->md_project);
      auth->md_project = f->project_id;
      f->project_id = NULL;
    }
  }
  EDV_LOG_D("auth", "new access token, expires in %lld s",
            (long long)f->expires_in);
  auth_deliver(auth);
}

void edv__fetch_call_done(edv__fetch *f)
{
  edv_auth *auth;

  if (--f->pending > 0)
    return;
  auth = f->auth;
  if (auth) {
    auth->fetch = NULL;
    auth_fetch_finish(auth, f);
  }
  auth_fetch_free(f);
}

/* Starts the one refresh. It may finish before this returns (static token,
 * self-signed JWT, a request that cannot be submitted). */
static void auth_refresh_start(edv_auth *auth)
{
  edv__fetch *f = calloc(1, sizeof(*f));
  edv__creds *c = &auth->creds;
  int result = 0;

  if (!f) {
    edv_error err;
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    auth_fail_all(auth, &err);
    return;
  }
  f->auth = auth;
  f->pending = 1; /* held until the calls below are submitted */
  auth->fetch = f;
  switch (c->kind) {
  case EDV_CRED_ACCESS_TOKEN_FILE:
    result = auth_read_token_file(auth, f);
    break;
  case EDV_CRED_SERVICE_ACCOUNT:
    if (auth->self_signed) {
      f->token = edv__jwt_self_signed(c, auth->scope,
                                      auth->wall_s(auth->clock_data), &f->err);
      f->expires_in = EDV__JWT_LIFETIME_S;
      result = f->token ? 0 : f->err.code;
      break;
    }
    /* fall through */
  case EDV_CRED_AUTHORIZED_USER:
    result = edv__exchange_start(auth->engine, c, auth->scope, auth->subject,
                                 auth->wall_s(auth->clock_data), f, &f->err);
    break;
  case EDV_CRED_METADATA:
    result = edv__metadata_start(auth->engine, c, auth->scopes_csv,
                                 auth->md_project == NULL, f, &f->err);
    break;
  default:
    result = edv_error_set(&f->err, EDV_ECRED, "no credentials");
    break;
  }
  if (result)
    f->failed = 1;
  edv__fetch_call_done(f);
}

/* ---- dispatch ------------------------------------------------------------*/

static void auth_dispatch(edv_auth *auth)
{
  edv__tok_state st;
  edv_error err;

  if (!auth->head || auth->closing)
    return;
  if (!auth->resolved && !auth->fetch && auth_resolve(auth, &err) != 0) {
    auth_fail_all(auth, &err);
    return;
  }
  st = auth_state(auth);
  if (st != EDV__TOK_FRESH && !auth->fetch &&
      (st == EDV__TOK_NONE ||
       auth->mono_ms(auth->clock_data) >= auth->next_try_ms))
    auth_refresh_start(auth);
  if (auth->closing)
    return;
  /* Serve what is usable now; the rest waits for the refresh in flight. */
  if (auth->head && auth_state(auth) != EDV__TOK_NONE)
    auth_deliver(auth);
}

static void auth_idle_cb(uv_idle_t *idle)
{
  edv_auth *auth = idle->data;

  uv_idle_stop(idle);
  auth_dispatch(auth);
}

int edv__auth_token(edv_auth *auth, edv_token_cb cb, void *data)
{
  auth_waiter *w;

  if (!auth || !cb)
    return EDV_EINVAL;
  if (auth->closing)
    return EDV_ECANCELED;
  w = malloc(sizeof(*w));
  if (!w)
    return EDV_ENOMEM;
  w->cb = cb;
  w->data = data;
  w->next = NULL;
  *auth->tail = w;
  auth->tail = &w->next;
  uv_idle_start(&auth->idle, auth_idle_cb);
  return 0;
}

void edv__auth_invalidate(edv_auth *auth, const char *token)
{
  if (!auth || !token || !auth->token || strcmp(auth->token, token) != 0)
    return;
  edv__secret_free(auth->token);
  auth->token = NULL;
  auth->expiry_ms = 0;
  auth->next_try_ms = 0;
  auth->backoff_ms = 0;
  EDV_LOG_D("auth", "access token refused by the server; dropped");
}

const char *edv__auth_project(const edv_auth *auth)
{
  if (!auth)
    return NULL;
  if (auth->creds.project_id && auth->creds.project_id[0])
    return auth->creds.project_id;
  return auth->md_project;
}

const char *edv__auth_describe(const edv_auth *auth)
{
  return auth ? auth->describe : "no credentials";
}

/* ---- configuration, lifetime -------------------------------------------*/

static int auth_strdup_opt(const char *v, char **out)
{
  *out = NULL;
  if (!v || !v[0])
    return 0;
  *out = strdup(v);
  return *out ? 0 : -1;
}

/* auth.scopes: space- or comma-separated into "a b" and "a,b". */
static int auth_scopes(edv_auth *auth, const char *v, edv_error *err)
{
  size_t n = v ? strlen(v) : 0, i, o = 0;

  if (!v || strspn(v, " ,\t") == n) {
    auth->scope = strdup(EDV__AUTH_SCOPE);
    return auth->scope ? 0 : edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  auth->scope = malloc(n + 1);
  auth->scopes_csv = malloc(n + 1);
  if (!auth->scope || !auth->scopes_csv)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  for (i = 0; i < n;) {
    size_t len;
    i += strspn(v + i, " ,\t");
    len = strcspn(v + i, " ,\t");
    if (!len)
      break;
    if (o) {
      auth->scope[o] = ' ';
      auth->scopes_csv[o] = ',';
      o++;
    }
    memcpy(auth->scope + o, v + i, len);
    memcpy(auth->scopes_csv + o, v + i, len);
    o += len;
    i += len;
  }
  auth->scope[o] = auth->scopes_csv[o] = '\0';
  return 0;
}

static int auth_bool(const char *v, int *out)
{
  static const char *const yes[] = {"true", "1", "yes", "on"};
  static const char *const no[] = {"false", "0", "no", "off"};
  size_t i;

  *out = 0;
  if (!v || !v[0])
    return 0;
  for (i = 0; i < 4; i++) {
    if (strcmp(v, yes[i]) == 0)
      return (*out = 1), 0;
    if (strcmp(v, no[i]) == 0)
      return 0;
  }
  return -1;
}

static int auth_configure(edv_auth *auth, const edv_config *cfg, edv_error *err)
{
  const char *v;

  if (auth_strdup_opt(cfg ? edv_config_get(cfg, "access_token_file") : NULL,
                      &auth->access_token_file) ||
      auth_strdup_opt(cfg ? edv_config_get(cfg, "key_file") : NULL,
                      &auth->key_file) ||
      auth_strdup_opt(cfg ? edv_config_get(cfg, "auth.subject") : NULL,
                      &auth->subject))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (auth_scopes(auth, cfg ? edv_config_get(cfg, "auth.scopes") : NULL, err))
    return EDV_ENOMEM;
  v = cfg ? edv_config_get(cfg, "auth.self_signed_jwt") : NULL;
  if (auth_bool(v, &auth->self_signed) != 0) {
    edv_error_set(err, EDV_ECONFIG,
                  "auth.self_signed_jwt must be true or false, not \"%.40s\"",
                  v);
    if (err)
      snprintf(err->where, sizeof(err->where), "auth.self_signed_jwt");
    return EDV_ECONFIG;
  }
  return 0;
}

static void auth_free_fields(edv_auth *auth)
{
  edv__creds_clear(&auth->creds);
  edv__secret_free(auth->token);
  auth->token = NULL;
  free(auth->access_token_file);
  free(auth->key_file);
  free(auth->scope);
  free(auth->scopes_csv);
  free(auth->subject);
  free(auth->md_project);
  auth->access_token_file = auth->key_file = auth->scope = NULL;
  auth->scopes_csv = auth->subject = auth->md_project = NULL;
}

edv_auth *edv__auth_new(edv_engine *engine, const edv_config *cfg,
                        edv_error *err)
{
  edv_auth *auth;
  uv_loop_t *loop = engine ? edv_engine_loop(engine) : NULL;

  edv_error_clear(err);
  if (!loop) {
    edv_error_set(err, EDV_EINVAL, "auth needs an engine with a loop");
    return NULL;
  }
  auth = calloc(1, sizeof(*auth));
  if (!auth) {
    edv_error_set(err, EDV_ENOMEM, "out of memory");
    return NULL;
  }
  auth->engine = engine;
  auth->loop = loop;
  auth->tail = &auth->head;
  edv__auth_set_clock(auth, NULL, NULL, NULL);
  edv__creds_describe(NULL, 0, auth->describe, sizeof(auth->describe));
  if (auth_configure(auth, cfg, err) != 0) {
    auth_free_fields(auth);
    free(auth);
    return NULL;
  }
  uv_idle_init(loop, &auth->idle);
  auth->idle.data = auth;
  return auth;
}

static void auth_closed(uv_handle_t *handle)
{
  free(handle->data);
}

void edv__auth_free(edv_auth *auth)
{
  edv_error err;

  if (!auth || auth->closing)
    return;
  auth->closing = 1;
  if (auth->fetch) {
    edv__fetch *f = auth->fetch;
    auth->fetch = NULL;
    f->auth = NULL;
    f->pending++; /* keep f alive across synchronous cancel callbacks */
    if (f->call)
      edv_call_cancel(f->call);
    if (f->pcall)
      edv_call_cancel(f->pcall);
    edv__fetch_call_done(f);
  }
  edv_error_set(&err, EDV_ECANCELED, "credentials closed");
  auth_fail_all(auth, &err);
  auth_free_fields(auth);
  uv_idle_stop(&auth->idle);
  uv_close((uv_handle_t *)&auth->idle, auth_closed);
}
