/*
 * call.c - one REST call, from edv_call_submit() to its callback.
 *
 * States of a call (each attempt goes round the first three):
 *
 *   QUEUED --slot+token--> AUTH --bearer--> HTTP --2xx/final--> delivered
 *     ^                     (skipped for NOAUTH)  |
 *     +---- BACKOFF <--------- transient ---------+
 *     +---- (401: invalidate the token, once) ----+
 *
 * The call's one uv timer serves every state: it is armed for the deadline
 * while the call waits in QUEUED, AUTH or HTTP, for the backoff delay in
 * BACKOFF, and for 0 ms in DELIVER, which defers a completion that would
 * otherwise run inside edv_call_submit() itself (libuv's contract: the
 * callback never runs from the registering call).
 *
 * Memory: the call is freed once its timer is closed AND the auth module
 * has answered any token request still out (that callback cannot be
 * withdrawn), so a call delivered early (cancel, deadline) lingers until
 * both happened. The engine counts such calls before it frees itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "transport/transport.h"

typedef enum {
  CALL_QUEUED,  /* waiting for a rate-limit token and a slot */
  CALL_AUTH,    /* waiting for a bearer token */
  CALL_HTTP,    /* transfer on the multi handle */
  CALL_BACKOFF, /* sleeping before the next attempt */
  CALL_DELIVER, /* result ready, delivery deferred to the loop */
  CALL_DONE,    /* delivered; waiting to be freed */
} call_state;

struct edv_call {
  uint32_t magic;
  struct edv_call *prev, *next; /* engine->calls, until delivered */
  edv_engine *engine;
  edv_api api;
  char method[8];
  char *url;
  char *body; /* request body or NULL */
  size_t body_len;
  const char *content_type;
  char **headers; /* the caller's extra headers, copied */
  unsigned flags;
  char where[160]; /* "GET compute.instances.get" */
  uint64_t start_ms, deadline_ms;
  edv_response_cb cb;
  void *data;
  edv__rl_waiter waiter;
  int holding_slot; /* a concurrency slot is ours */
  edv__xfer xfer;
  uv_timer_t timer;
  call_state state;
  unsigned attempts;
  int refreshed;    /* the one 401 resend was used */
  int auth_pending; /* edv__auth_token() has not called back yet */
  int timer_closed;
  int in_submit;  /* inside edv_call_submit(): defer delivery */
  char *token;    /* bearer of the current attempt; wiped before free */
  edv_error err;  /* the final error */
  edv_error last; /* the previous attempt's error */
  int have_last;
  edv_response res;
};

static void call_queue(edv_call *call);
/* The call's only timer: what it means depends on the state (see top). */
static void call_on_timer(uv_timer_t *timer);

/* The call's name without its method ("compute.instances.get"), the
 * `call=` field of its log lines. */
static const char *call_label(const edv_call *call)
{
  const char *sp = strchr(call->where, ' ');

  return sp ? sp + 1 : call->where;
}

/* Milliseconds left before the deadline (0 once it has passed). */
static uint64_t call_remaining(const edv_call *call)
{
  uint64_t now = edv__now_ms();

  return now >= call->deadline_ms ? 0 : call->deadline_ms - now;
}

/* The bearer token is a secret: zero it before the memory is reused. */
static void call_wipe_token(edv_call *call)
{
  if (call->token) {
    explicit_bzero(call->token, strlen(call->token));
    free(call->token);
    call->token = NULL;
  }
}

/* The header list holds "Authorization: Bearer ...": wipe before freeing. */
static void call_free_headers(edv_call *call)
{
  struct curl_slist *s;

  for (s = call->xfer.headers; s; s = s->next)
    explicit_bzero(s->data, strlen(s->data));
  curl_slist_free_all(call->xfer.headers);
  call->xfer.headers = NULL;
}

/* The request body may be a secret (a form with a JWT assertion, a client
 * secret or a refresh token; a JSON body with a key): wipe before freeing. */
static void call_wipe_body(edv_call *call)
{
  if (call->body) {
    explicit_bzero(call->body, call->body_len);
    free(call->body);
    call->body = NULL;
  }
}

/* Frees everything; runs once the timer is closed and auth has answered. */
static void call_free(edv_call *call)
{
  edv_engine *engine = call->engine;
  size_t i;

  call_free_headers(call);
  edv__http_release(&engine->http, &call->xfer);
  call_wipe_token(call);
  for (i = 0; call->headers && call->headers[i]; i++)
    free(call->headers[i]);
  free(call->headers);
  free(call->url);
  call_wipe_body(call);
  call->magic = 0;
  free(call);
  edv__engine_call_freed(engine);
}

/* Two events must both have happened before the memory may go: see the
 * file comment. */
static void call_maybe_free(edv_call *call)
{
  if (call->state == CALL_DONE && call->timer_closed && !call->auth_pending)
    call_free(call);
}

static void call_timer_closed(uv_handle_t *handle)
{
  edv_call *call = edv__container_of(handle, edv_call, timer);

  call->timer_closed = 1;
  call_maybe_free(call);
}

/* Gives the concurrency slot back and lets a queued call have it. */
static void call_release_slot(edv_call *call)
{
  if (call->holding_slot) {
    call->holding_slot = 0;
    edv__rl_release(&call->engine->rl, call->api);
    edv__engine_pump(call->engine);
  }
}

/* Takes the call off the engine's live list (engine close walks that list). */
static void call_unlink(edv_call *call)
{
  edv_engine *engine = call->engine;

  if (call->prev)
    call->prev->next = call->next;
  else if (engine->calls == call)
    engine->calls = call->next;
  if (call->next)
    call->next->prev = call->prev;
  call->prev = call->next = NULL;
}

/* Runs the callback, then starts closing the call. */
static void call_deliver(edv_call *call)
{
  edv_api_stats *st = &call->engine->stats[call->api];
  json_object *json = call->res.json;

  call->state = CALL_DONE;
  call_unlink(call);
  st->calls++;
  if (call->res.error) {
    st->errors++;
    if ((unsigned)call->res.error->code < EDV_ERR__LAST)
      st->errors_by_code[call->res.error->code]++;
  }
  if (st->in_flight)
    st->in_flight--;
  call->res.elapsed_ms = edv__now_ms() - call->start_ms;
  EDV_LOG_D("call", "%s call=%s: %s, HTTP %d, %u attempt(s), %llu ms",
            call->method, call_label(call),
            call->res.error ? edv_err_name(call->res.error->code) : "OK",
            call->res.http_status, call->attempts,
            (unsigned long long)call->res.elapsed_ms);
  call->cb(call->data, &call->res);
  call->res.json = NULL;
  if (json)
    json_object_put(json);
  uv_close((uv_handle_t *)&call->timer, call_timer_closed);
}

/* Ends the call with `err` (NULL: success, response already filled). */
static void call_finish(edv_call *call, const edv_error *err)
{
  if (err) {
    call->err = *err;
    if (!call->err.where[0])
      edv__strlcpy(call->err.where, call->where, sizeof(call->err.where));
    call->res.error = &call->err;
    if (!call->res.http_status)
      call->res.http_status = err->http_status;
  } else {
    call->res.error = NULL;
  }
  call->res.attempts = call->attempts;
  uv_timer_stop(&call->timer);
  if (call->in_submit) {
    call->state = CALL_DELIVER;
    uv_timer_start(&call->timer, call_on_timer, 0, 0);
    return;
  }
  call_deliver(call);
}

/* call_finish() with a fresh error of our own. */
static void call_fail(edv_call *call, edv_code code, const char *msg)
{
  edv_error err;

  edv_error_set(&err, code, "%s", msg);
  call_finish(call, &err);
}

/* The deadline passed: ETIMEDOUT, carrying the last attempt's detail. */
static void call_finish_timeout(edv_call *call)
{
  edv_error err;
  char last[400];
  uint64_t budget = call->deadline_ms - call->start_ms;

  edv_error_clear(&err);
  err.code = EDV_ETIMEDOUT;
  if (call->have_last) {
    edv_error_format(&call->last, last, sizeof(last));
    snprintf(err.message, sizeof(err.message),
             "deadline of %llu ms exceeded after %u attempt(s); last: %s",
             (unsigned long long)budget, call->attempts, last);
    err.http_status = call->last.http_status;
    memcpy(err.status, call->last.status, sizeof(err.status));
    memcpy(err.reason, call->last.reason, sizeof(err.reason));
  } else {
    snprintf(err.message, sizeof(err.message),
             "deadline of %llu ms exceeded after %u attempt(s)",
             (unsigned long long)budget, call->attempts);
  }
  call->res.http_status = err.http_status;
  call_finish(call, &err);
}

/* Stops whatever the call is waiting on (token, slot, transfer, timer). */
static void call_stop_stage(edv_call *call)
{
  switch (call->state) {
  case CALL_QUEUED:
    edv__rl_remove(&call->engine->rl, &call->waiter);
    break;
  case CALL_HTTP:
    edv__http_stop(&call->engine->http, &call->xfer);
    break;
  default: /* AUTH: the token callback comes later and finds us done */
    break;
  }
  call_release_slot(call);
  uv_timer_stop(&call->timer);
}

static void call_on_timer(uv_timer_t *timer)
{
  edv_call *call = edv__container_of(timer, edv_call, timer);

  switch (call->state) {
  case CALL_BACKOFF:
    call_queue(call);
    break;
  case CALL_DELIVER:
    call_deliver(call);
    break;
  case CALL_QUEUED:
  case CALL_AUTH:
  case CALL_HTTP:
    call_stop_stage(call);
    call_finish_timeout(call);
    break;
  case CALL_DONE:
    break;
  }
}

/* ---- Building one attempt -------------------------------------------------*/

static int call_add_header(edv_call *call, const char *line)
{
  struct curl_slist *s = curl_slist_append(call->xfer.headers, line);

  if (!s)
    return -1;
  call->xfer.headers = s;
  return 0;
}

/* Rebuilt for every attempt, since the token may change after a 401. */
static int call_build_headers(edv_call *call)
{
  char line[64 + 4096];
  size_t i;
  int bad = 0;

  call_free_headers(call);
  bad |= call_add_header(call, "Accept: application/json");
  bad |= call_add_header(call, "Expect:"); /* no 100-continue round trip */
  if (call->content_type) {
    snprintf(line, sizeof(line), "Content-Type: %s", call->content_type);
    bad |= call_add_header(call, line);
  }
  if (call->token) {
    if (strlen(call->token) > 4000)
      return -1;
    snprintf(line, sizeof(line), "Authorization: Bearer %s", call->token);
    bad |= call_add_header(call, line);
    explicit_bzero(line, sizeof(line));
  }
  for (i = 0; call->headers && call->headers[i]; i++)
    bad |= call_add_header(call, call->headers[i]);
  return bad ? -1 : 0;
}

/* Maps the method onto libcurl options; the body is kept for retries. */
static void call_set_method(edv_call *call, CURL *easy)
{
  if (strcmp(call->method, "GET") == 0) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (strcmp(call->method, "HEAD") == 0) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    return;
  }
  if (strcmp(call->method, "POST") != 0)
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call->method);
  /* POST, PUT and PATCH always send a body (Google answers a bodiless POST
   * without Content-Length with 411); DELETE only when given one. */
  if (call->body || strcmp(call->method, "DELETE") != 0) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)call->body_len);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body ? call->body : "");
  }
}

/* Sets one attempt's options; the easy handle is kept across attempts. */
static int call_setup_easy(edv_call *call, uint64_t remaining)
{
  edv_engine *engine = call->engine;
  CURL *easy;
  long connect_ms = engine->connect_timeout_ms;

  if (!call->xfer.easy)
    call->xfer.easy = edv__http_easy(&engine->http);
  easy = call->xfer.easy;
  if (!easy || call_build_headers(call) != 0)
    return -1;
  if ((uint64_t)connect_ms > remaining)
    connect_ms = (long)remaining;
  curl_easy_setopt(easy, CURLOPT_URL, call->url);
  call_set_method(call, easy);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->xfer.headers);
  /* libcurl 7.88 silently resends a request once when a reused
   * connection dies before any response byte; for a request we must not
   * repeat, take a fresh connection so that cannot happen. */
  curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT,
                   edv__retry_request_safe(call->method, call->url,
                                           call->flags & ~EDV_REQ_NORETRY)
                       ? 0L
                       : 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)remaining);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  call->xfer.max_body = engine->max_body;
  return 0;
}

/* One attempt ended (from the curl drain): classify what came back. */
static void call_xfer_done(edv__xfer *x, CURLcode result);

/* Starts one attempt: the call holds a slot (and a token unless NOAUTH). */
static void call_send(edv_call *call)
{
  edv_api_stats *st = &call->engine->stats[call->api];
  uint64_t remaining = call_remaining(call);

  if (remaining == 0) {
    call_release_slot(call);
    call_finish_timeout(call);
    return;
  }
  if (call_setup_easy(call, remaining) != 0) {
    call_release_slot(call);
    call_fail(call, EDV_ENOMEM, "cannot set up the HTTP request");
    return;
  }
  call->xfer.done = call_xfer_done;
  call->state = CALL_HTTP;
  call->attempts++;
  st->attempts++;
  if (call->attempts > 1)
    st->retries++;
  if (edv__http_start(&call->engine->http, &call->xfer) != 0) {
    call_release_slot(call);
    call_fail(call, EDV_ECANCELED, "the engine is closing");
  }
}

/* ---- Token ---------------------------------------------------------------*/

static void call_on_token(void *data, const char *token, const edv_error *err)
{
  edv_call *call = data;

  call->auth_pending = 0;
  if (call->state != CALL_AUTH) { /* delivered meanwhile */
    call_maybe_free(call);
    return;
  }
  if (err || !token) {
    call_release_slot(call);
    if (err)
      call_finish(call, err);
    else
      call_fail(call, EDV_ECRED, "no access token");
    return;
  }
  call_wipe_token(call);
  call->token = strdup(token);
  if (!call->token) {
    call_release_slot(call);
    call_fail(call, EDV_ENOMEM, "out of memory");
    return;
  }
  call_send(call);
}

/* The limiter gave us a token and a slot: get a bearer token, then send. */
static void call_granted(edv__rl_waiter *w)
{
  edv_call *call = edv__container_of(w, edv_call, waiter);

  call->holding_slot = 1;
  if (call->flags & EDV_REQ_NOAUTH) {
    call_send(call);
    return;
  }
  call->state = CALL_AUTH;
  call->auth_pending = 1;
  if (!call->engine->auth ||
      edv__auth_token(call->engine->auth, call_on_token, call) != 0) {
    call->auth_pending = 0;
    call_release_slot(call);
    call_fail(call, EDV_ECRED, "credentials are not available");
  }
}

/* Waits for a rate-limit token and a slot (again, for a retry). */
static void call_queue(edv_call *call)
{
  edv_engine *engine = call->engine;
  uint64_t remaining = call_remaining(call);

  if (remaining == 0) {
    call_finish_timeout(call);
    return;
  }
  call->state = CALL_QUEUED;
  uv_timer_start(&call->timer, call_on_timer, remaining, 0);
  call->waiter.granted = call_granted;
  edv__rl_enqueue(&engine->rl, &call->waiter);
  edv__engine_pump(engine);
  if (call->state == CALL_QUEUED && call->waiter.queued)
    engine->stats[call->api].throttle_waits++;
}

/* ---- Completion of one attempt --------------------------------------------*/

static void call_transport_error(edv_call *call, CURLcode result, edv_error *e)
{
  edv_code code;
  const char *detail =
      call->xfer.errbuf[0] ? call->xfer.errbuf : curl_easy_strerror(result);

  switch (result) {
  case CURLE_WRITE_ERROR:
    code = call->xfer.too_big ? EDV_EPROTO : EDV_ENOMEM;
    break;
  case CURLE_OPERATION_TIMEDOUT:
    /* The attempt's timeout is the call's remaining time, so only a
     * connect timeout ends an attempt early. */
    code = call_remaining(call) <= 5 ? EDV_ETIMEDOUT : EDV_ECONN;
    break;
  case CURLE_OUT_OF_MEMORY:
    code = EDV_ENOMEM;
    break;
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    code = EDV_EINVAL;
    break;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
    code = EDV_EPROTO; /* will not heal by itself */
    break;
  default: /* refused, reset, dropped, DNS, TLS handshake, HTTP/2 ... */
    code = EDV_ECONN;
    break;
  }
  edv_error_set(e, code, "%s", detail);
  if (call->xfer.too_big)
    snprintf(e->message, sizeof(e->message),
             "response body larger than %zu bytes", call->xfer.max_body);
}

/* A 2xx: parse the body unless the caller wants it raw. */
static int call_parse_success(edv_call *call, edv_error *e)
{
  json_tokener *tok;
  json_object *json;

  if ((call->flags & EDV_REQ_RAWBODY) || call->xfer.len == 0)
    return 0;
  tok = json_tokener_new();
  if (!tok)
    return edv_error_set(e, EDV_ENOMEM, "out of memory");
  json = json_tokener_parse_ex(tok, call->xfer.body, (int)call->xfer.len);
  if (!json || json_tokener_get_parse_end(tok) < call->xfer.len) {
    json_object_put(json);
    json_tokener_free(tok);
    edv_error_set(e, EDV_EPROTO, "response body is not valid JSON");
    e->http_status = call->res.http_status;
    return EDV_EPROTO;
  }
  json_tokener_free(tok);
  call->res.json = json;
  return 0;
}

/* Points the response at this attempt's status and raw body. */
static void call_fill_response(edv_call *call, long status)
{
  if (call->res.json) {
    json_object_put(call->res.json);
    call->res.json = NULL;
  }
  call->res.http_status = (int)status;
  call->res.raw = call->xfer.len ? call->xfer.body : NULL;
  call->res.raw_len = call->xfer.len;
}

/* A non-2xx: build the typed error from the envelope. */
static void call_http_error(edv_call *call, edv_error *e)
{
  json_object *json = NULL;

  if (call->xfer.len)
    json = json_tokener_parse(call->xfer.body);
  edv__error_from_http(call->res.http_status, json, call->xfer.body,
                       call->xfer.len, e);
  /* Keep the parsed envelope for the callback (res.json). */
  call->res.json = json;
}

/* After a failed attempt: feed AIMD, then retry, give up, or time out. */
static void call_retry_or_finish(edv_call *call, edv_error *e)
{
  edv_engine *engine = call->engine;
  uint64_t delay = 0;
  edv__retry_verdict v;

  edv__strlcpy(e->where, call->where, sizeof(e->where));
  if (e->code == EDV_ERATELIMIT) {
    engine->stats[call->api].rate_limited++;
    edv__rl_penalize(&engine->rl, call->waiter.group);
  }
  if (e->code == EDV_ETIMEDOUT) {
    call_finish_timeout(call);
    return;
  }
  v = edv__retry_plan(&engine->retry, &engine->prng, e, call->method, call->url,
                      call->flags, call->attempts,
                      edv__xfer_header(&call->xfer, "Retry-After"),
                      edv__now_ms(), call->deadline_ms, &delay);
  if (v == EDV__RETRY_NO) {
    call_finish(call, e);
    return;
  }
  call->last = *e;
  call->have_last = 1;
  if (v == EDV__RETRY_DEADLINE) {
    call_finish_timeout(call);
    return;
  }
  EDV_LOG_I("call", "%s call=%s: %s (HTTP %d), retry %u in %llu ms",
            call->method, call_label(call), edv_err_name(e->code),
            e->http_status, call->attempts, (unsigned long long)delay);
  call->state = CALL_BACKOFF;
  uv_timer_start(&call->timer, call_on_timer, delay, 0);
}

/* 401 on a call that carried a token: drop it and resend, once. */
static int call_try_refresh(edv_call *call, const edv_error *e)
{
  if (e->http_status != 401 || (call->flags & EDV_REQ_NOAUTH) ||
      call->refreshed || !call->token || !call->engine->auth)
    return 0;
  call->refreshed = 1;
  call->last = *e;
  call->have_last = 1;
  edv__auth_invalidate(call->engine->auth, call->token);
  call_wipe_token(call);
  call_queue(call);
  return 1;
}

static void call_xfer_done(edv__xfer *x, CURLcode result)
{
  edv_call *call = edv__container_of(x, edv_call, xfer);
  long status = 0;
  edv_error e;

  call_release_slot(call);
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  call_fill_response(call, result == CURLE_OK ? status : 0);
  if (result != CURLE_OK) {
    call_transport_error(call, result, &e);
  } else if (status >= 200 && status < 300) {
    if (call_parse_success(call, &e) == 0) {
      call_finish(call, NULL);
      return;
    }
  } else {
    call_http_error(call, &e);
    if (call_try_refresh(call, &e))
      return;
  }
  call_retry_or_finish(call, &e);
}

/* ---- Submit and cancel
 * -----------------------------------------------------*/

static int call_method_ok(const char *m)
{
  static const char *const ok[] = {"GET",   "POST",   "PUT",
                                   "PATCH", "DELETE", "HEAD"};
  size_t i;

  for (i = 0; m && i < sizeof(ok) / sizeof(ok[0]); i++)
    if (strcmp(m, ok[i]) == 0)
      return 1;
  return 0;
}

/* An absolute URL is used as is; a path is resolved against the API's
 * endpoint. */
static char *call_make_url(edv_engine *engine, const edv_request *req)
{
  const char *base;
  char *url;
  size_t n;

  if (strncmp(req->path, "https://", 8) == 0 ||
      strncmp(req->path, "http://", 7) == 0)
    return strdup(req->path);
  base = edv_engine_endpoint(engine, req->api);
  if (!base || !*base || req->path[0] != '/')
    return NULL;
  n = strlen(base) + strlen(req->path) + 1;
  url = malloc(n);
  if (url)
    snprintf(url, n, "%s%s", base, req->path);
  return url;
}

/* Copies what the request borrows: the call outlives the caller's struct. */
static int call_copy_request(edv_call *call, const edv_request *req)
{
  const char *body = NULL;
  size_t n = 0, i, qlen;

  if (req->form) {
    body = req->form;
    call->content_type = "application/x-www-form-urlencoded";
  } else if (req->body) {
    body = json_object_to_json_string_ext(
        req->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    call->content_type = "application/json";
  }
  if (body) {
    call->body = strdup(body);
    call->body_len = strlen(body);
    if (!call->body)
      return -1;
  }
  while (req->headers && req->headers[n])
    n++;
  if (n) {
    call->headers = calloc(n + 1, sizeof(char *));
    if (!call->headers)
      return -1;
    for (i = 0; i < n; i++)
      if (!(call->headers[i] = strdup(req->headers[i])))
        return -1;
  }
  qlen = strcspn(req->path, "?");
  snprintf(call->where, sizeof(call->where), "%s %.*s", req->method,
           req->label ? (int)strlen(req->label) : (int)qlen,
           req->label ? req->label : req->path);
  return 0;
}

/* Allocates a call with its copies; *result says why on failure. */
static edv_call *call_new(edv_engine *engine, const edv_request *req,
                          int *result)
{
  edv_call *call = calloc(1, sizeof(*call));

  *result = EDV_ENOMEM;
  if (!call)
    return NULL;
  call->engine = engine;
  call->api = req->api;
  snprintf(call->method, sizeof(call->method), "%s", req->method);
  call->flags = req->flags;
  call->url = call_make_url(engine, req);
  if (!call->url) {
    *result = EDV_EINVAL;
  } else if (call_copy_request(call, req) == 0) {
    *result = EDV_OK;
    return call;
  }
  for (size_t i = 0; call->headers && call->headers[i]; i++)
    free(call->headers[i]);
  free(call->headers);
  call_wipe_body(call);
  free(call->url);
  free(call);
  return NULL;
}

/* Validates, copies and queues; the callback runs later from the loop. */
int edv_call_submit(edv_engine *engine, const edv_request *req,
                    edv_response_cb cb, void *data, edv_call **callp)
{
  edv_call *call;
  uint64_t timeout;
  int result;

  if (callp)
    *callp = NULL;
  if (!engine || engine->magic != EDV__ENGINE_MAGIC || !req || !cb ||
      !req->path || !call_method_ok(req->method) ||
      (unsigned)req->api >= EDV_API__COUNT)
    return EDV_EINVAL;
  if (engine->closing)
    return EDV_ECANCELED;
  call = call_new(engine, req, &result);
  if (!call)
    return result;
  call->magic = EDV__CALL_MAGIC;
  call->cb = cb;
  call->data = data;
  call->waiter.group = edv__rl_group_of(req->api, req->method);
  timeout = req->timeout_ms ? req->timeout_ms : engine->timeout_ms;
  call->start_ms = edv__now_ms();
  call->deadline_ms = call->start_ms + timeout;
  uv_timer_init(engine->loop, &call->timer);
  call->next = engine->calls;
  if (engine->calls)
    engine->calls->prev = call;
  engine->calls = call;
  engine->live++;
  engine->stats[call->api].in_flight++;
  if (callp)
    *callp = call;
  call->in_submit = 1;
  call_queue(call);
  call->in_submit = 0;
  return EDV_OK;
}

/* Synchronous: the callback has run when this returns (see engine.h). */
void edv_call_cancel(edv_call *call)
{
  edv_error err;

  if (!call || call->magic != EDV__CALL_MAGIC)
    return;
  if (call->state == CALL_DONE || call->state == CALL_DELIVER)
    return;
  call_stop_stage(call);
  edv_error_set(&err, EDV_ECANCELED, "call canceled");
  call->res.http_status = 0;
  call_finish(call, &err);
}

/* Engine close: every live call ends now, pending deliveries included. */
void edv__call_cancel_all(edv_engine *engine)
{
  edv_call *call;

  /* Each delivery unlinks the call, so this ends. */
  while ((call = engine->calls) != NULL) {
    if (call->state == CALL_DELIVER) {
      uv_timer_stop(&call->timer);
      call_deliver(call);
    } else {
      edv_call_cancel(call);
    }
  }
}

/* A response is always embedded in its call, which holds the headers. */
const char *edv_response_header(const edv_response *res, const char *name)
{
  const edv_call *call;

  if (!res || !name)
    return NULL;
  call = edv__container_of(res, edv_call, res);
  if (call->magic != EDV__CALL_MAGIC)
    return NULL;
  return edv__xfer_header(&call->xfer, name);
}
