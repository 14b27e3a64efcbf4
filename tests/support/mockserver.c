/*
 * mockserver.c - a scripted HTTP/1.1 loopback server for tests.
 *
 * libmicrohttpd runs with one thread per connection: a reply delayed on one
 * connection (deadline tests) must not stall the others, and a blocking wait
 * is the simplest way to delay a reply. The wait is on a condition variable
 * so that mock_stop() can cut it short: MHD_stop_daemon() joins the
 * connection threads and would otherwise sit out every pending delay.
 *
 * The raw URI with its query string is captured by MHD's URI log callback,
 * which runs before MHD parses (and percent-decodes) the URL; its return
 * value becomes the request context.
 */
#include "mockserver.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

typedef struct mock_exp {
  struct mock_exp *next;
  char *method;
  char *path_prefix;
  int status;
  char *body;
  char *headers;
  char *content_type;
  unsigned delay_ms;
  unsigned left; /* requests this expectation still serves */
} mock_exp;

typedef struct mock_log {
  mock_request req;
} mock_log;

struct mock_server {
  struct MHD_Daemon *daemon;
  unsigned short port;
  char url[64];
  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t wake;  /* broadcast by mock_stop() to cut delays short */
  int stopping;
  int logging;
  mock_exp *head, *tail; /* queued expectations, in order */
  mock_exp defl;         /* the default reply */
  mock_log *log;         /* received requests */
  size_t nlog, caplog;
  size_t nreq;         /* requests seen, logged or not */
  unsigned long nconn; /* connections accepted */
};

/* Per-request state, from the URI log callback to NOTIFY_COMPLETED. */
typedef struct mock_ctx {
  char *uri;
  char *body;
  size_t len, cap;
  int seen; /* the first (headers-only) call happened */
  int done; /* the reply was chosen (upload finished) */
} mock_ctx;

static char *mock_strdup(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void mock_exp_free(mock_exp *e)
{
  free(e->method);
  free(e->path_prefix);
  free(e->body);
  free(e->headers);
  free(e->content_type);
}

static void *mock_uri_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
  mock_ctx *ctx = calloc(1, sizeof(*ctx));

  (void)cls;
  (void)con;
  if (ctx)
    ctx->uri = strdup(uri ? uri : "");
  return ctx;
}

static void mock_completed_cb(void *cls, struct MHD_Connection *con,
                              void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
  mock_ctx *ctx = *req_cls;

  (void)cls;
  (void)con;
  (void)toe;
  if (ctx) {
    free(ctx->uri);
    free(ctx->body);
    free(ctx);
  }
  *req_cls = NULL;
}

/* Numbers connections so tests can check keep-alive reuse. */
static void mock_conn_cb(void *cls, struct MHD_Connection *con,
                         void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
  mock_server *ms = cls;

  (void)con;
  if (toe != MHD_CONNECTION_NOTIFY_STARTED)
    return;
  pthread_mutex_lock(&ms->lock);
  *socket_context = (void *)(uintptr_t)++ms->nconn;
  pthread_mutex_unlock(&ms->lock);
}

typedef struct mock_hdrbuf {
  char *s;
  size_t len, cap;
} mock_hdrbuf;

static enum MHD_Result mock_hdr_cb(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
  mock_hdrbuf *hb = cls;
  size_t need = strlen(key) + strlen(value ? value : "") + 4;
  char *p;

  (void)kind;
  if (hb->len + need >= hb->cap) {
    size_t cap = (hb->cap + need) * 2;
    p = realloc(hb->s, cap);
    if (!p)
      return MHD_NO;
    hb->s = p;
    hb->cap = cap;
  }
  p = hb->s + hb->len;
  for (const char *k = key; *k; k++)
    *p++ = (char)tolower((unsigned char)*k);
  hb->len = (size_t)(p - hb->s);
  hb->len += (size_t)sprintf(p, ": %s\n", value ? value : "");
  return MHD_YES;
}

/* Appends the request to the log; called with the lock held. */
static void mock_log_request(mock_server *ms, struct MHD_Connection *con,
                             const char *method, const mock_ctx *ctx)
{
  const union MHD_ConnectionInfo *ci;
  mock_hdrbuf hb = {0};
  mock_request *r;

  if (ms->nlog == ms->caplog) {
    size_t cap = ms->caplog ? ms->caplog * 2 : 16;
    mock_log *p = realloc(ms->log, cap * sizeof(*p));
    if (!p)
      return;
    ms->log = p;
    ms->caplog = cap;
  }
  r = &ms->log[ms->nlog++].req;
  memset(r, 0, sizeof(*r));
  snprintf(r->method, sizeof(r->method), "%s", method);
  r->path = strdup(ctx->uri ? ctx->uri : "");
  r->body = malloc(ctx->len + 1);
  if (r->body) {
    if (ctx->len)
      memcpy(r->body, ctx->body, ctx->len);
    r->body[ctx->len] = '\0';
    r->body_len = ctx->len;
  }
  MHD_get_connection_values(con, MHD_HEADER_KIND, mock_hdr_cb, &hb);
  r->headers = hb.s ? hb.s : strdup("");
  ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  r->conn_id = ci ? (unsigned long)(uintptr_t)ci->socket_context : 0;
}

static int mock_match(const mock_exp *e, const char *method, const char *uri)
{
  if (e->method && strcmp(e->method, method) != 0)
    return 0;
  if (e->path_prefix &&
      strncmp(uri, e->path_prefix, strlen(e->path_prefix)) != 0)
    return 0;
  return 1;
}

/*
 * Picks the reply for a request and copies it into *out (so the lock can be
 * dropped while we delay). Called with the lock held.
 */
static void mock_pick(mock_server *ms, const char *method, const char *uri,
                      mock_exp *out)
{
  mock_exp *e, *prev = NULL;

  for (e = ms->head; e; prev = e, e = e->next)
    if (mock_match(e, method, uri))
      break;
  if (!e)
    e = &ms->defl;
  *out = *e;
  out->body = mock_strdup(e->body);
  out->headers = mock_strdup(e->headers);
  out->content_type = mock_strdup(e->content_type);
  out->method = NULL;
  out->path_prefix = NULL;
  if (e == &ms->defl || --e->left > 0)
    return;
  if (prev)
    prev->next = e->next;
  else
    ms->head = e->next;
  if (ms->tail == e)
    ms->tail = prev;
  mock_exp_free(e);
  free(e);
}

/* Waits delay_ms unless the server is stopping. */
static void mock_delay(mock_server *ms, unsigned delay_ms)
{
  struct timespec ts;

  if (!delay_ms)
    return;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += delay_ms / 1000;
  ts.tv_nsec += (long)(delay_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&ms->lock);
  while (!ms->stopping &&
         pthread_cond_timedwait(&ms->wake, &ms->lock, &ts) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&ms->lock);
}

static void mock_add_headers(struct MHD_Response *resp, const char *headers)
{
  char *copy, *line, *save = NULL;

  if (!headers)
    return;
  copy = strdup(headers);
  for (line = strtok_r(copy, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *colon = strchr(line, ':');
    char *val;
    if (!colon)
      continue;
    *colon = '\0';
    for (val = colon + 1; *val == ' '; val++)
      ;
    MHD_add_response_header(resp, line, val);
  }
  free(copy);
}

static enum MHD_Result mock_answer(struct MHD_Connection *con,
                                   const mock_exp *r)
{
  struct MHD_Response *resp;
  enum MHD_Result ret;
  size_t len = r->body ? strlen(r->body) : 0;

  resp = MHD_create_response_from_buffer(len, r->body ? r->body : (char *)"",
                                         MHD_RESPMEM_MUST_COPY);
  if (!resp)
    return MHD_NO;
  MHD_add_response_header(resp, "Content-Type",
                          r->content_type ? r->content_type
                                          : "application/json");
  mock_add_headers(resp, r->headers);
  ret = MHD_queue_response(con, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static int mock_append_body(mock_ctx *ctx, const char *data, size_t n)
{
  if (ctx->len + n + 1 > ctx->cap) {
    size_t cap = (ctx->len + n + 1) * 2;
    char *p = realloc(ctx->body, cap);
    if (!p)
      return -1;
    ctx->body = p;
    ctx->cap = cap;
  }
  memcpy(ctx->body + ctx->len, data, n);
  ctx->len += n;
  return 0;
}

static enum MHD_Result mock_handler(void *cls, struct MHD_Connection *con,
                                    const char *url, const char *method,
                                    const char *version,
                                    const char *upload_data,
                                    size_t *upload_data_size, void **req_cls)
{
  mock_server *ms = cls;
  mock_ctx *ctx = *req_cls;
  mock_exp r;
  enum MHD_Result ret;

  (void)url;
  (void)version;
  if (!ctx)
    return MHD_NO;
  if (*upload_data_size) {
    if (mock_append_body(ctx, upload_data, *upload_data_size) != 0)
      return MHD_NO;
    *upload_data_size = 0;
    return MHD_YES;
  }
  /* MHD calls once when the headers are in, before any body: answer only
   * on the final call, once the whole body has been received. */
  if (!ctx->seen) {
    ctx->seen = 1;
    return MHD_YES;
  }
  if (!ctx->done) {
    ctx->done = 1;
    pthread_mutex_lock(&ms->lock);
    ms->nreq++;
    if (ms->logging)
      mock_log_request(ms, con, method, ctx);
    mock_pick(ms, method, ctx->uri, &r);
    pthread_mutex_unlock(&ms->lock);
    mock_delay(ms, r.delay_ms);
    ret = r.status == MOCK_DROP ? MHD_NO : mock_answer(con, &r);
    mock_exp_free(&r);
    return ret;
  }
  return MHD_YES;
}

static void mock_set_exp(mock_exp *e, const mock_reply *r)
{
  memset(e, 0, sizeof(*e));
  e->method = mock_strdup(r->method);
  e->path_prefix = mock_strdup(r->path_prefix);
  e->status = r->status;
  e->body = mock_strdup(r->body);
  e->headers = mock_strdup(r->headers);
  e->content_type = mock_strdup(r->content_type);
  e->delay_ms = r->delay_ms;
  e->left = r->times ? r->times : 1;
}

mock_server *mock_start(void)
{
  mock_server *ms = calloc(1, sizeof(*ms));
  struct sockaddr_in sa;
  const union MHD_DaemonInfo *di;
  mock_reply d = {.status = 404,
                  .body = "{\"error\":{\"code\":404,\"message\":"
                          "\"mockserver: no expectation matched\","
                          "\"status\":\"NOT_FOUND\"}}"};

  if (!ms)
    return NULL;
  pthread_mutex_init(&ms->lock, NULL);
  pthread_cond_init(&ms->wake, NULL);
  ms->logging = 1;
  mock_set_exp(&ms->defl, &d);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ms->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_AUTO,
      0, NULL, NULL, mock_handler, ms, MHD_OPTION_SOCK_ADDR, &sa,
      MHD_OPTION_URI_LOG_CALLBACK, mock_uri_cb, ms, MHD_OPTION_NOTIFY_COMPLETED,
      mock_completed_cb, ms, MHD_OPTION_NOTIFY_CONNECTION, mock_conn_cb, ms,
      MHD_OPTION_END);
  di = ms->daemon ? MHD_get_daemon_info(ms->daemon, MHD_DAEMON_INFO_BIND_PORT)
                  : NULL;
  if (!di) {
    mock_stop(ms);
    return NULL;
  }
  ms->port = di->port;
  snprintf(ms->url, sizeof(ms->url), "http://127.0.0.1:%u", ms->port);
  return ms;
}

void mock_reset(mock_server *ms)
{
  mock_exp *e, *next;

  pthread_mutex_lock(&ms->lock);
  for (e = ms->head; e; e = next) {
    next = e->next;
    mock_exp_free(e);
    free(e);
  }
  ms->head = ms->tail = NULL;
  for (size_t i = 0; i < ms->nlog; i++) {
    free(ms->log[i].req.path);
    free(ms->log[i].req.body);
    free(ms->log[i].req.headers);
  }
  ms->nlog = 0;
  ms->nreq = 0;
  pthread_mutex_unlock(&ms->lock);
}

void mock_stop(mock_server *ms)
{
  if (!ms)
    return;
  pthread_mutex_lock(&ms->lock);
  ms->stopping = 1;
  pthread_cond_broadcast(&ms->wake);
  pthread_mutex_unlock(&ms->lock);
  if (ms->daemon)
    MHD_stop_daemon(ms->daemon);
  mock_reset(ms);
  mock_exp_free(&ms->defl);
  free(ms->log);
  pthread_cond_destroy(&ms->wake);
  pthread_mutex_destroy(&ms->lock);
  free(ms);
}

unsigned short mock_port(const mock_server *ms)
{
  return ms->port;
}

const char *mock_url(const mock_server *ms)
{
  return ms->url;
}

void mock_expect_reply(mock_server *ms, const mock_reply *reply)
{
  mock_exp *e = malloc(sizeof(*e));

  if (!e)
    return;
  mock_set_exp(e, reply);
  pthread_mutex_lock(&ms->lock);
  if (ms->tail)
    ms->tail->next = e;
  else
    ms->head = e;
  ms->tail = e;
  pthread_mutex_unlock(&ms->lock);
}

void mock_expect(mock_server *ms, const char *method, const char *path_prefix,
                 int status, const char *body, const char *headers)
{
  mock_reply r = {.method = method,
                  .path_prefix = path_prefix,
                  .status = status,
                  .body = body,
                  .headers = headers};

  mock_expect_reply(ms, &r);
}

void mock_set_default(mock_server *ms, int status, const char *body,
                      const char *headers)
{
  mock_reply r = {.status = status, .body = body, .headers = headers};
  mock_exp e;

  mock_set_exp(&e, &r);
  pthread_mutex_lock(&ms->lock);
  mock_exp_free(&ms->defl);
  ms->defl = e;
  pthread_mutex_unlock(&ms->lock);
}

size_t mock_pending(mock_server *ms)
{
  size_t n = 0;

  pthread_mutex_lock(&ms->lock);
  for (mock_exp *e = ms->head; e; e = e->next)
    n++;
  pthread_mutex_unlock(&ms->lock);
  return n;
}

void mock_set_logging(mock_server *ms, int on)
{
  pthread_mutex_lock(&ms->lock);
  ms->logging = on;
  pthread_mutex_unlock(&ms->lock);
}

size_t mock_request_count(mock_server *ms)
{
  size_t n;

  pthread_mutex_lock(&ms->lock);
  n = ms->nreq;
  pthread_mutex_unlock(&ms->lock);
  return n;
}

unsigned long mock_connection_count(mock_server *ms)
{
  unsigned long n;

  pthread_mutex_lock(&ms->lock);
  n = ms->nconn;
  pthread_mutex_unlock(&ms->lock);
  return n;
}

int mock_request_get(mock_server *ms, size_t i, mock_request *out)
{
  int result = -1;

  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&ms->lock);
  if (i < ms->nlog) {
    const mock_request *r = &ms->log[i].req;
    *out = *r;
    out->path = mock_strdup(r->path);
    out->headers = mock_strdup(r->headers);
    out->body = malloc(r->body_len + 1);
    if (out->body) {
      memcpy(out->body, r->body, r->body_len + 1);
    }
    result = 0;
  }
  pthread_mutex_unlock(&ms->lock);
  return result;
}

void mock_request_free(mock_request *req)
{
  if (!req)
    return;
  free(req->path);
  free(req->body);
  free(req->headers);
  memset(req, 0, sizeof(*req));
}

const char *mock_request_header(const mock_request *req, const char *name,
                                char *buf, size_t size)
{
  size_t n = strlen(name);
  const char *p = req->headers;

  while (p && *p) {
    const char *eol = strchr(p, '\n');
    if (!eol)
      eol = p + strlen(p);
    if ((size_t)(eol - p) > n + 1 && strncasecmp(p, name, n) == 0 &&
        p[n] == ':') {
      const char *v = p + n + 1;
      while (*v == ' ')
        v++;
      snprintf(buf, size, "%.*s", (int)(eol - v), v);
      return buf;
    }
    p = *eol ? eol + 1 : eol;
  }
  return NULL;
}
