/*
 * httpd.c - libmicrohttpd driven from a libuv loop (see httpd.h).
 *
 * MHD runs without a thread of its own, in epoll mode: we watch its epoll
 * fd with one uv_poll_t and its next timeout with one uv_timer_t, and
 * httpd_kick() is the only place that calls MHD_run (docs/HACKING.md,
 * "The event loop"; after MHD's src/examples/suspend_resume_epoll.c).
 *
 * Request life: MHD_OPTION_URI_LOG_CALLBACK allocates our request (it is
 * the first thing MHD tells us and gives the raw URI), the access handler
 * collects the body and calls the owner's handler once, a request without
 * an answer is suspended (with a deadline, since MHD never times out a
 * suspended connection), and MHD_OPTION_NOTIFY_COMPLETED frees it, telling
 * the owner first if it still holds the request.
 *
 * Connection life: MHD_OPTION_NOTIFY_CONNECTION gives each connection an
 * http_conn. MHD's own timeout restarts with every byte, so a client
 * trickling one header line every few seconds would hold its slot for
 * ever; instead every connection waiting for its request sits in one list,
 * oldest first, and one uv timer closes those whose request has not fully
 * arrived within request_timeout_ms (shutdown() of the socket: MHD reads
 * the end and closes it). The clock starts when the connection opens and
 * again when an answer has been sent, so it also bounds idle keep-alives.
 * Near max_connections a new connection closes the oldest waiting one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/log.h"
#include "httpd/httpd.h"

#define HTTPD_DEFAULT_MAX_BODY    ((size_t)4 << 20)
#define HTTPD_DEFAULT_DEADLINE_MS 300000u
#define HTTPD_DRAIN_MS            1000u
#define HTTPD_DEFAULT_REQUEST_MS  30000u
#define HTTPD_DEFAULT_MAX_CONNS   4096u
#define HTTPD_DEFAULT_MAX_URI     ((size_t)8 << 10)
#define HTTPD_DEFAULT_MAX_HEADER  ((size_t)16 << 10)
/* MHD's per-connection memory (request line, headers, read buffer): well
 * above our own limits, so they are the ones clients meet (and get JSON);
 * allocated per connection but touched only as far as it is used. */
#define HTTPD_MHD_MEMORY    ((size_t)64 << 10)
#define HTTPD_WARN_EVERY_MS 60000u

typedef enum {
  REQ_READING = 0,   /* headers or body still arriving */
  REQ_HANDLING = 1,  /* inside the owner's handler */
  REQ_SUSPENDED = 2, /* waiting for the owner's answer */
  REQ_ANSWERED = 3,  /* answer stored, waiting to be queued */
  REQ_QUEUED = 4,    /* handed to MHD; only completion is left */
} req_state;

struct hdr {
  struct hdr *next;
  char *name;
  char *value;
};

/* One client connection (its MHD socket context). */
typedef struct http_conn {
  struct http_conn *prev, *next; /* in httpd->wait_head, oldest first */
  uint64_t since; /* uv_now() when its current request's clock started */
  int fd;
  int waiting;     /* in the list: its request has not fully arrived */
  int closing;     /* we shut it down; MHD has not closed it yet */
  unsigned served; /* answers sent on it */
} http_conn;

struct edv_http_req {
  edv_httpd *httpd;
  http_conn *c; /* NULL when the connection is not tracked */
  struct MHD_Connection *conn;
  struct edv_http_req *prev, *next; /* in httpd->suspended */
  req_state state;
  char *method;
  char *raw_uri;  /* path?query as received */
  char *path_raw; /* raw_uri up to '?' */
  char *path;     /* decoded */
  char *query;    /* after '?', or "" */
  char *body;
  size_t body_len, body_cap;
  int too_large;
  int drop;        /* answer by resetting the connection */
  unsigned status; /* answer */
  char *resp_body;
  size_t resp_len;
  char *resp_ctype;
  struct hdr *hdrs;
  uint64_t deadline_ms; /* relative, applied at suspension */
  uint64_t due;         /* absolute uv_now() of the deadline */
  edv_httpd_end_cb end_cb;
  void *end_data;
  void *data;
  uv_poll_t watch; /* the client's socket while suspended (hang-ups) */
  int watching;    /* watch is active */
  int watch_busy;  /* watch is initialised and not yet closed */
  int completed;   /* MHD is done with it; free once watch is closed */
};

struct edv_httpd {
  uv_loop_t *loop;
  struct MHD_Daemon *daemon;
  uv_poll_t poll;
  uv_timer_t timer;    /* MHD's own timeouts */
  uv_timer_t deadline; /* earliest deadline of a suspended request; also
                          the drain timer while closing */
  edv_httpd_handler handler;
  void *data;
  void (*log)(void *data, edv_log_level level, const char *line);
  char *(*error_body)(void *data, unsigned status, const char *text,
                      const char **ctype, size_t *len);
  size_t max_body;
  uint64_t deadline_ms;
  uint64_t request_ms;
  size_t max_uri, max_header;
  unsigned max_conns, room; /* past `room` open connections, make room */
  http_conn *wait_head, *wait_tail;
  size_t n_conns;                /* connections MHD holds */
  size_t n_open;                 /* connections not shut down by us */
  uv_timer_t recv_timer;         /* the oldest waiting connection's deadline */
  size_t n_timed_out, n_evicted; /* since the last warning */
  uint64_t warned_at;
  unsigned port;
  int tls;                 /* HTTPS only */
  edv_http_req *suspended; /* doubly linked list */
  size_t n_suspended;
  size_t live; /* requests allocated and not yet completed */
  int in_run;  /* inside MHD_run: do not re-enter */
  int rekick;  /* a kick was asked for during MHD_run */
  int closing;
  int pending_closes;
  uint64_t drain_until;
  void (*close_cb)(void *data);
  void *close_data;
};

static void httpd_kick(edv_httpd *h);
static void httpd_arm_deadline(edv_httpd *h);
static void httpd_drain_check(edv_httpd *h);
static void httpd_recv_timer_cb(uv_timer_t *t);

/* --- small helpers ------------------------------------------------------ */

static int hex_val(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *edv__http_unescape(char *s, int plus_is_space)
{
  char *w = s;

  for (char *r = s; *r; r++) {
    if (r[0] == '%' && hex_val(r[1]) >= 0 && hex_val(r[2]) >= 0) {
      *w++ = (char)(hex_val(r[1]) * 16 + hex_val(r[2]));
      r += 2;
    } else {
      *w++ = plus_is_space && *r == '+' ? ' ' : *r;
    }
  }
  *w = '\0';
  return s;
}

static void req_free(edv_http_req *r)
{
  struct hdr *h, *next;

  for (h = r->hdrs; h; h = next) {
    next = h->next;
    free(h->name);
    free(h->value);
    free(h);
  }
  free(r->method);
  free(r->raw_uri);
  free(r->path_raw);
  free(r->path);
  free(r->body);
  free(r->resp_body);
  free(r->resp_ctype);
  free(r);
}

static void req_watch_closed(uv_handle_t *handle)
{
  edv_http_req *r = handle->data;

  r->watch_busy = 0;
  if (r->completed)
    req_free(r);
}

static void req_unwatch(edv_http_req *r)
{
  if (!r->watching)
    return;
  r->watching = 0;
  uv_close((uv_handle_t *)&r->watch, req_watch_closed);
}

static void susp_unlink(edv_httpd *h, edv_http_req *r)
{
  if (r->prev)
    r->prev->next = r->next;
  else
    h->suspended = r->next;
  if (r->next)
    r->next->prev = r->prev;
  r->prev = r->next = NULL;
  h->n_suspended--;
}

/* --- connections --------------------------------------------------------- */

static void conn_unwait(edv_httpd *h, http_conn *c)
{
  if (!c || !c->waiting)
    return;
  if (c->prev)
    c->prev->next = c->next;
  else
    h->wait_head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    h->wait_tail = c->prev;
  c->prev = c->next = NULL;
  c->waiting = 0;
}

/* Starts the clock of the connection's next request. The list stays in
 * `since` order, so the timer only ever looks at its head. */
static void conn_wait(edv_httpd *h, http_conn *c)
{
  if (c->closing || h->closing)
    return;
  conn_unwait(h, c);
  c->since = uv_now(h->loop);
  c->waiting = 1;
  c->prev = h->wait_tail;
  if (h->wait_tail)
    h->wait_tail->next = c;
  else
    h->wait_head = c;
  h->wait_tail = c;
  if (!uv_is_active((uv_handle_t *)&h->recv_timer))
    uv_timer_start(&h->recv_timer, httpd_recv_timer_cb, h->request_ms, 0);
}

static char *error_text(edv_httpd *h, unsigned status, const char *text,
                        const char **ctype, size_t *len);

/*
 * Closes a connection whose request did not arrive in time (or the oldest
 * one, to make room). Nothing has been written for a first request that is
 * still arriving, so over plain HTTP it gets a 408 first; an idle
 * keep-alive is closed silently (a 408 could cross the client's next
 * request). Unread input is discarded first so that the close sends a FIN
 * after the answer, not a reset that could destroy it. shutdown() makes
 * the socket readable at its end: MHD's next run closes it.
 */
static void conn_close(edv_httpd *h, http_conn *c)
{
  conn_unwait(h, c);
  if (c->closing)
    return;
  c->closing = 1;
  h->n_open--;
  if (c->fd < 0)
    return;
  if (!h->tls && c->served == 0) {
    char buf[4096], head[256];
    const char *ctype;
    size_t len;
    char *body;
    int n;

    for (int i = 0; i < 16; i++)
      if (recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
        break;
    snprintf(buf, sizeof(buf), "request not received within %g s\n",
             (double)h->request_ms / 1000.0);
    body = error_text(h, MHD_HTTP_REQUEST_TIMEOUT, buf, &ctype, &len);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                 ctype, body ? len : 0);
    /* Best effort: a client that cannot take 300 bytes gets the close. */
    if (send(c->fd, head, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n && body)
      (void)send(c->fd, body, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    free(body);
  }
  (void)shutdown(c->fd, SHUT_RDWR);
}

/* One log line of the server: to the owner's log when it gave one. */
static void hlog(edv_httpd *h, edv_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void hlog(edv_httpd *h, edv_log_level level, const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  if (h->log) {
    vsnprintf(buf, sizeof(buf), fmt, ap);
    h->log(h->data, level, buf);
  } else {
    edv__logv(level, "httpd", fmt, ap);
  }
  va_end(ap);
}

/* One warning a minute at most: slow clients are an attack or a broken
 * proxy, either way the operator should know, but not 4,000 times. */
static void conn_warn(edv_httpd *h)
{
  uint64_t now = uv_now(h->loop);

  if ((h->n_timed_out == 0 && h->n_evicted == 0) ||
      (h->warned_at && now - h->warned_at < HTTPD_WARN_EVERY_MS))
    return;
  hlog(h, EDV_LOG_WARN,
       "closed %zu connections whose request did not arrive within "
       "%g s and %zu more to make room (%u connections at most); slow "
       "or idle clients, or an attack",
       h->n_timed_out, (double)h->request_ms / 1000.0, h->n_evicted,
       h->max_conns);
  h->n_timed_out = h->n_evicted = 0;
  h->warned_at = now;
}

static void httpd_recv_timer_cb(uv_timer_t *t)
{
  edv_httpd *h = t->data;
  uint64_t now = uv_now(h->loop);
  int closed = 0;

  while (h->wait_head && h->wait_head->since + h->request_ms <= now) {
    /* An idle keep-alive ending is routine, not worth a warning. */
    h->n_timed_out += h->wait_head->served == 0;
    conn_close(h, h->wait_head);
    closed = 1;
  }
  if (h->wait_head)
    uv_timer_start(&h->recv_timer, httpd_recv_timer_cb,
                   h->wait_head->since + h->request_ms - now, 0);
  conn_warn(h);
  if (closed)
    httpd_kick(h);
}

static void httpd_conn_cb(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
  edv_httpd *h = cls;
  http_conn *c = *socket_context;
  const union MHD_ConnectionInfo *ci;

  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    /* At its limit MHD took the listen socket out of its epoll set and
     * only puts it back at the start of a run: run again, or a client
     * waiting in the backlog would wait for some other event. */
    if (h->n_conns-- >= h->max_conns)
      h->rekick = 1;
    if (c == NULL)
      return;
    conn_unwait(h, c);
    if (!c->closing)
      h->n_open--;
    free(c);
    *socket_context = NULL;
    return;
  }
  h->n_conns++;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return; /* untracked: only MHD's own timeout applies to it */
  ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  c->fd = ci ? ci->connect_fd : -1;
  *socket_context = c;
  h->n_open++;
  conn_wait(h, c);
  if (h->n_open > h->room && h->wait_head && h->wait_head != c) {
    conn_close(h, h->wait_head);
    h->n_evicted++;
    conn_warn(h);
  }
}

/* Ends a suspended request without the owner's answer. */
static void req_end(edv_http_req *r, edv_httpd_end why)
{
  edv_httpd_end_cb cb = r->end_cb;

  r->end_cb = NULL;
  if (cb)
    cb(r->end_data, r, why);
}

/* --- MHD callbacks ------------------------------------------------------ */

static void *httpd_uri_cb(void *cls, const char *uri,
                          struct MHD_Connection *conn)
{
  edv_httpd *h = cls;
  edv_http_req *r = calloc(1, sizeof(*r));
  const char *q;

  if (r == NULL)
    return NULL;
  r->httpd = h;
  r->conn = conn;
  {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    r->c = ci ? ci->socket_context : NULL;
  }
  r->deadline_ms = h->deadline_ms;
  r->raw_uri = strdup(uri);
  if (r->raw_uri == NULL) {
    free(r);
    return NULL;
  }
  q = strchr(uri, '?');
  r->path_raw = q ? strndup(uri, (size_t)(q - uri)) : strdup(uri);
  r->path = r->path_raw ? strdup(r->path_raw) : NULL;
  r->query = r->raw_uri + (q ? (size_t)(q - uri) + 1 : strlen(uri));
  if (r->path == NULL) {
    req_free(r);
    return NULL;
  }
  edv__http_unescape(r->path, 0); /* a path: '+' stays '+' */
  h->live++;
  return r;
}

static enum MHD_Result httpd_queue(edv_http_req *r)
{
  struct MHD_Response *resp;
  enum MHD_Result ret;

  if (r->drop) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct linger lg = {1, 0};

    /* SO_LINGER 0 makes the close that follows MHD_NO end in a reset
     * (MHD's shutdown may send a FIN first): the client gets no reply. */
    if (ci)
      (void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    r->state = REQ_QUEUED;
    return MHD_NO;
  }
  resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body,
                                         MHD_RESPMEM_MUST_FREE);
  if (resp == NULL)
    return MHD_NO;
  r->resp_body = NULL;
  if (r->resp_ctype)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->resp_ctype);
  for (struct hdr *x = r->hdrs; x; x = x->next)
    MHD_add_response_header(resp, x->name, x->value);
  ret = MHD_queue_response(r->conn, r->status, resp);
  MHD_destroy_response(resp);
  r->state = REQ_QUEUED;
  return ret;
}

/* The body of an answer the server makes itself: the owner's error_body,
 * else the text. *ctype is a static string. */
static char *error_text(edv_httpd *h, unsigned status, const char *text,
                        const char **ctype, size_t *len)
{
  char *body;

  if (h->error_body) {
    *ctype = NULL;
    *len = 0;
    body = h->error_body(h->data, status, text, ctype, len);
    if (body) {
      if (*ctype == NULL)
        *ctype = "application/octet-stream";
      return body;
    }
  }
  body = strdup(text);
  *len = body ? strlen(text) : 0;
  *ctype = "text/plain; charset=utf-8";
  return body;
}

static void set_answer(edv_http_req *r, unsigned status, const char *text)
{
  const char *ctype;

  free(r->resp_body);
  free(r->resp_ctype);
  r->status = status;
  r->resp_body = error_text(r->httpd, status, text, &ctype, &r->resp_len);
  r->resp_ctype = strdup(ctype);
  r->state = REQ_ANSWERED;
}

static int body_append(edv_http_req *r, const char *data, size_t len)
{
  size_t need = r->body_len + len + 1;

  if (need > r->httpd->max_body + 1) {
    r->too_large = 1;
    return 0;
  }
  if (need > r->body_cap) {
    size_t cap = r->body_cap ? r->body_cap * 2 : 1024;
    char *p;

    while (cap < need)
      cap *= 2;
    p = realloc(r->body, cap);
    if (p == NULL)
      return -1;
    r->body = p;
    r->body_cap = cap;
  }
  memcpy(r->body + r->body_len, data, len);
  r->body_len += len;
  r->body[r->body_len] = '\0';
  return 0;
}

static void httpd_resume(edv_httpd *h, edv_http_req *r);

/*
 * MHD does not watch a suspended connection, so a client that hangs up
 * would go unnoticed until the owner answers or the deadline passes. We
 * watch the socket for the peer's hang-up (EPOLLRDHUP) meanwhile, on our
 * own loop; MHD's epoll set no longer holds the fd while it is suspended.
 * Only UV_DISCONNECT is asked for, so a pipelined next request (readable
 * data) does not make the poll spin.
 */
static void httpd_watch_cb(uv_poll_t *p, int status, int events)
{
  edv_http_req *r = p->data;
  edv_httpd *h = r->httpd;

  if (status == 0 && !(events & UV_DISCONNECT))
    return;
  if (r->state != REQ_SUSPENDED)
    return;
  /* Dead from now on: an answer from the end callback is ignored, and
   * the resumed connection is closed without writing anything. */
  r->state = REQ_ANSWERED;
  r->drop = 1;
  req_end(r, EDV_HTTPD_GONE);
  httpd_resume(h, r);
  httpd_arm_deadline(h);
  httpd_kick(h);
}

static void httpd_watch(edv_httpd *h, edv_http_req *r)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

  if (ci == NULL || uv_poll_init(h->loop, &r->watch, ci->connect_fd) != 0)
    return; /* no watch: the deadline still ends the request */
  r->watch.data = r;
  r->watching = r->watch_busy = 1;
  if (uv_poll_start(&r->watch, UV_DISCONNECT, httpd_watch_cb) != 0)
    req_unwatch(r);
}

/* The request is complete: hand it to the owner, suspend if unanswered. */
static enum MHD_Result httpd_dispatch(edv_httpd *h, edv_http_req *r)
{
  conn_unwait(h, r->c); /* it arrived in time */
  if (r->too_large)
    set_answer(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
  else if (h->closing)
    set_answer(r, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down\n");
  if (r->state == REQ_ANSWERED)
    return httpd_queue(r);
  if (r->body == NULL && body_append(r, "", 0) < 0)
    return MHD_NO;
  r->state = REQ_HANDLING;
  h->handler(h->data, r);
  if (r->state == REQ_ANSWERED)
    return httpd_queue(r);
  r->state = REQ_SUSPENDED;
  r->due = uv_now(h->loop) + r->deadline_ms;
  r->next = h->suspended;
  if (r->next)
    r->next->prev = r;
  h->suspended = r;
  h->n_suspended++;
  MHD_suspend_connection(r->conn);
  httpd_watch(h, r);
  httpd_arm_deadline(h);
  return MHD_YES;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
                                    const char *name, const char *value)
{
  size_t *n = cls;

  (void)kind;
  *n += strlen(name) + (value ? strlen(value) : 0) + 4; /* ": ", CRLF */
  return MHD_YES;
}

/*
 * The limits checked once the headers are in, before any body: the
 * request target, the request line plus headers, an announced body. An
 * answer now (JSON through error_body) ends the request; MHD discards the
 * body and closes the connection.
 */
static enum MHD_Result httpd_check_limits(edv_httpd *h, edv_http_req *r,
                                          const char *version)
{
  const char *cl =
      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
  size_t head = strlen(r->method) + strlen(r->raw_uri) + strlen(version) + 4;
  char text[120];
  unsigned status = 0;

  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &head);
  if (strlen(r->raw_uri) > h->max_uri) {
    status = MHD_HTTP_URI_TOO_LONG;
    snprintf(text, sizeof(text), "request URI longer than %zu bytes\n",
             h->max_uri);
  } else if (head > h->max_header) {
    status = MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
    snprintf(text, sizeof(text),
             "request line and headers larger than %zu bytes\n", h->max_header);
  } else if (cl && strtoull(cl, NULL, 10) > h->max_body) {
    /* Refused before it is sent (the client may wait for "100
     * Continue"). */
    status = MHD_HTTP_CONTENT_TOO_LARGE;
    snprintf(text, sizeof(text), "request body too large\n");
  }
  if (status == 0)
    return MHD_YES;
  conn_unwait(h, r->c); /* answered: no more waiting for the rest */
  r->too_large = 1;
  set_answer(r, status, text);
  return httpd_queue(r);
}

static enum MHD_Result httpd_access_cb(void *cls, struct MHD_Connection *conn,
                                       const char *url, const char *method,
                                       const char *version,
                                       const char *upload_data,
                                       size_t *upload_data_size, void **req_cls)
{
  edv_httpd *h = cls;
  edv_http_req *r = *req_cls;

  if (r == NULL)
    return MHD_NO; /* the URI callback ran out of memory */
  if (r->method == NULL) {
    r->method = strdup(method);
    if (r->method == NULL)
      return MHD_NO;
    return httpd_check_limits(h, r, version);
  }
  if (*upload_data_size > 0) {
    if (r->state == REQ_READING && !r->too_large &&
        body_append(r, upload_data, *upload_data_size) < 0)
      return MHD_NO;
    *upload_data_size = 0;
    return MHD_YES;
  }
  switch (r->state) {
  case REQ_READING:
    return httpd_dispatch(h, r);
  case REQ_ANSWERED:
    return httpd_queue(r); /* resumed after the owner answered */
  case REQ_QUEUED:
    return MHD_YES;
  default:
    /* Resumed without an answer: only happens if the owner's end
     * callback did not answer; answer for it. */
    set_answer(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no answer\n");
    return httpd_queue(r);
  }
}

static void httpd_completed_cb(void *cls, struct MHD_Connection *conn,
                               void **req_cls,
                               enum MHD_RequestTerminationCode toe)
{
  edv_httpd *h = cls;
  edv_http_req *r = *req_cls;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  http_conn *c = ci ? ci->socket_context : NULL;

  if (c && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
    c->served++;
    conn_wait(h, c); /* the next request's clock, idle time included */
  }
  if (r == NULL)
    return;
  *req_cls = NULL;
  if (r->state == REQ_SUSPENDED) {
    /* MHD only completes a suspended connection when the daemon stops,
     * which we never allow; keep the list sane anyway. */
    susp_unlink(h, r);
  }
  if (r->state == REQ_HANDLING || r->state == REQ_SUSPENDED) {
    r->state = REQ_QUEUED; /* dead: an answer from the callback is ignored */
    req_end(r, EDV_HTTPD_GONE);
  }
  req_unwatch(r);
  r->completed = 1;
  if (!r->watch_busy)
    req_free(r);
  h->live--;
  if (h->closing)
    httpd_drain_check(h);
}

/*
 * MHD's own messages ("Application reported internal error, closing
 * connection." after a drop, send failures to clients that left) are
 * expected in a server that drops connections on purpose: debug level.
 */
static void httpd_log(void *cls, const char *fmt, va_list ap)
{
  edv_httpd *h = cls;
  char buf[512];
  size_t n;

  vsnprintf(buf, sizeof(buf), fmt, ap);
  n = strlen(buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    buf[--n] = '\0';
  hlog(h, EDV_LOG_DEBUG, "%s", buf);
}

/* --- the driver --------------------------------------------------------- */

static void httpd_timer_cb(uv_timer_t *t)
{
  httpd_kick(t->data);
}

static void httpd_poll_cb(uv_poll_t *p, int status, int events)
{
  httpd_kick(p->data);
}

/*
 * The only caller of MHD_run. A kick requested while MHD_run is on the
 * stack (an owner answering from inside another request's handler) is
 * replayed after it returns, because MHD must never be re-entered.
 */
static void httpd_kick(edv_httpd *h)
{
  MHD_UNSIGNED_LONG_LONG timeout;

  if (h->daemon == NULL)
    return;
  if (h->in_run) {
    h->rekick = 1;
    return;
  }
  do {
    h->rekick = 0;
    h->in_run = 1;
    MHD_run(h->daemon);
    h->in_run = 0;
  } while (h->rekick);
  if (MHD_get_timeout(h->daemon, &timeout) == MHD_YES) {
    /* A 0 ms uv timer busy-loops on libuv < 1.48 (libuv #4245). */
    uv_timer_start(&h->timer, httpd_timer_cb, timeout ? timeout : 1, 0);
  } else {
    uv_timer_stop(&h->timer);
  }
}

/* Stops our watch before MHD takes the socket back (and may close it). */
static void httpd_resume(edv_httpd *h, edv_http_req *r)
{
  susp_unlink(h, r);
  req_unwatch(r);
  MHD_resume_connection(r->conn);
}

static void httpd_deadline_cb(uv_timer_t *t)
{
  edv_httpd *h = t->data;
  uint64_t now = uv_now(h->loop);
  edv_http_req *r, *next;

  if (h->closing) {
    httpd_drain_check(h);
    return;
  }
  for (r = h->suspended; r; r = next) {
    next = r->next;
    if (r->due > now)
      continue;
    /* The owner may answer from the callback; if so, respond() resumed
     * the connection already. */
    req_end(r, EDV_HTTPD_DEADLINE);
    if (r->state == REQ_SUSPENDED) {
      set_answer(r, MHD_HTTP_GATEWAY_TIMEOUT, "deadline exceeded\n");
      httpd_resume(h, r);
    }
    next = h->suspended; /* the list may have changed: rescan */
  }
  httpd_arm_deadline(h);
  httpd_kick(h);
}

static void httpd_arm_deadline(edv_httpd *h)
{
  uint64_t now = uv_now(h->loop), first = UINT64_MAX;

  for (edv_http_req *r = h->suspended; r; r = r->next)
    if (r->due < first)
      first = r->due;
  if (first == UINT64_MAX)
    uv_timer_stop(&h->deadline);
  else
    uv_timer_start(&h->deadline, httpd_deadline_cb,
                   first > now ? first - now : 1, 0);
}

/* --- public ------------------------------------------------------------- */

edv_httpd *edv__httpd_start(uv_loop_t *loop, const edv_httpd_options *opt,
                            edv_error *err)
{
  struct sockaddr_in sa;
  const union MHD_DaemonInfo *info;
  edv_httpd *h;
  int fd;
  struct MHD_OptionItem tls_opts[] = {
      {MHD_OPTION_HTTPS_MEM_KEY, 0, NULL},
      {MHD_OPTION_HTTPS_MEM_CERT, 0, NULL},
      {MHD_OPTION_END, 0, NULL},
  };

  if (loop == NULL || opt == NULL || opt->handler == NULL) {
    edv_error_set(err, EDV_EINVAL, "httpd: loop, options and handler needed");
    return NULL;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)opt->port);
  if (inet_pton(AF_INET, opt->host ? opt->host : "127.0.0.1", &sa.sin_addr) !=
      1) {
    edv_error_set(err, EDV_EINVAL, "httpd: bad IPv4 address '%s'", opt->host);
    return NULL;
  }
  if (!opt->tls_cert_pem != !opt->tls_key_pem) {
    edv_error_set(err, EDV_EINVAL,
                  "httpd: TLS needs both a certificate and a key");
    return NULL;
  }
  if (opt->tls_cert_pem &&
      MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    edv_error_set(err, EDV_ECONFIG,
                  "httpd: this libmicrohttpd was built without TLS: HTTPS "
                  "cannot be served");
    return NULL;
  }
  h = calloc(1, sizeof(*h));
  if (h == NULL) {
    edv_error_set(err, EDV_ENOMEM, "httpd: out of memory");
    return NULL;
  }
  h->tls = opt->tls_cert_pem != NULL;
  tls_opts[0].ptr_value = (void *)(uintptr_t)opt->tls_key_pem;
  tls_opts[1].ptr_value = (void *)(uintptr_t)opt->tls_cert_pem;
  if (!h->tls)
    tls_opts[0].option = MHD_OPTION_END;
  h->loop = loop;
  h->handler = opt->handler;
  h->data = opt->data;
  h->error_body = opt->error_body;
  h->log = opt->log;
  h->max_body = opt->max_body ? opt->max_body : HTTPD_DEFAULT_MAX_BODY;
  h->deadline_ms =
      opt->deadline_ms ? opt->deadline_ms : HTTPD_DEFAULT_DEADLINE_MS;
  h->request_ms = opt->request_timeout_ms ? opt->request_timeout_ms
                                          : HTTPD_DEFAULT_REQUEST_MS;
  h->max_uri = opt->max_uri ? opt->max_uri : HTTPD_DEFAULT_MAX_URI;
  h->max_header = opt->max_header ? opt->max_header : HTTPD_DEFAULT_MAX_HEADER;
  if (h->max_header > HTTPD_MHD_MEMORY / 2)
    h->max_header = HTTPD_MHD_MEMORY / 2;
  h->max_conns =
      opt->max_connections ? opt->max_connections : HTTPD_DEFAULT_MAX_CONNS;
  /* MHD refuses past max_conns (the client waits in the listen backlog);
   * we start making room a little before, while closes are in flight. */
  h->room = h->max_conns - (h->max_conns / 16 ? h->max_conns / 16 : 1);
  h->daemon = MHD_start_daemon(
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
          (h->tls ? MHD_USE_TLS : 0),
      0, NULL, NULL, httpd_access_cb, h, MHD_OPTION_ARRAY, tls_opts,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_URI_LOG_CALLBACK,
      httpd_uri_cb, h, MHD_OPTION_NOTIFY_COMPLETED, httpd_completed_cb, h,
      MHD_OPTION_NOTIFY_CONNECTION, httpd_conn_cb, h,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_LIMIT,
      h->max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, opt->max_per_ip,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTPD_MHD_MEMORY,
      MHD_OPTION_EXTERNAL_LOGGER, httpd_log, h, MHD_OPTION_END);
  if (h->daemon == NULL) {
    edv_error_set(err, EDV_EIO, "httpd: cannot listen on %s:%u%s",
                  opt->host ? opt->host : "127.0.0.1", opt->port,
                  h->tls ? " (or the TLS certificate and key were refused: "
                           "see the log line above)"
                         : "");
    free(h);
    return NULL;
  }
  info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
  fd = info ? info->epoll_fd : -1;
  info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : 0;
  if (fd < 0 || uv_poll_init(loop, &h->poll, fd) != 0) {
    edv_error_set(err, EDV_EIO, "httpd: cannot watch the epoll fd");
    MHD_stop_daemon(h->daemon);
    free(h);
    return NULL;
  }
  uv_timer_init(loop, &h->timer);
  uv_timer_init(loop, &h->deadline);
  uv_timer_init(loop, &h->recv_timer);
  h->poll.data = h->timer.data = h->deadline.data = h->recv_timer.data = h;
  uv_poll_start(&h->poll, UV_READABLE, httpd_poll_cb);
  httpd_kick(h);
  return h;
}

unsigned edv__httpd_port(const edv_httpd *httpd)
{
  return httpd ? httpd->port : 0;
}

int edv__httpd_tls(const edv_httpd *httpd)
{
  return httpd ? httpd->tls : 0;
}

size_t edv__httpd_suspended(const edv_httpd *httpd)
{
  return httpd ? httpd->n_suspended : 0;
}

static void httpd_handle_closed(uv_handle_t *handle)
{
  edv_httpd *h = handle->data;

  if (--h->pending_closes > 0)
    return;
  /* The poll handle is gone, so MHD may now close its epoll fd. */
  MHD_stop_daemon(h->daemon);
  h->daemon = NULL;
  if (h->close_cb)
    h->close_cb(h->close_data);
  free(h);
}

/* Closing: once every request is answered (or the drain time is up),
 * close our handles; MHD_stop_daemon then drops idle keep-alives. */
static void httpd_drain_check(edv_httpd *h)
{
  if (h->pending_closes)
    return;
  if (h->live > 0 && uv_now(h->loop) < h->drain_until)
    return;
  uv_timer_stop(&h->timer);
  uv_timer_stop(&h->deadline);
  uv_timer_stop(&h->recv_timer);
  uv_poll_stop(&h->poll);
  h->pending_closes = 4;
  uv_close((uv_handle_t *)&h->poll, httpd_handle_closed);
  uv_close((uv_handle_t *)&h->timer, httpd_handle_closed);
  uv_close((uv_handle_t *)&h->deadline, httpd_handle_closed);
  uv_close((uv_handle_t *)&h->recv_timer, httpd_handle_closed);
}

void edv__httpd_close(edv_httpd *h, void (*close_cb)(void *data), void *data)
{
  MHD_socket ls;

  if (h == NULL || h->closing)
    return;
  h->closing = 1;
  h->close_cb = close_cb;
  h->close_data = data;
  h->drain_until = uv_now(h->loop) + HTTPD_DRAIN_MS;
  ls = MHD_quiesce_daemon(h->daemon);
  if (ls != MHD_INVALID_SOCKET)
    close(ls); /* quiesce hands the listen socket back to us */
  while (h->suspended) {
    edv_http_req *r = h->suspended;

    req_end(r, EDV_HTTPD_SHUTDOWN);
    if (r->state == REQ_SUSPENDED) {
      set_answer(r, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down\n");
      httpd_resume(h, r);
    }
  }
  /* The deadline timer doubles as the drain clock from now on. */
  uv_timer_start(&h->deadline, httpd_deadline_cb, HTTPD_DRAIN_MS, 0);
  httpd_kick(h);
  httpd_drain_check(h);
}

/* --- request accessors -------------------------------------------------- */

const char *edv__http_method(const edv_http_req *r)
{
  return r->method;
}

const char *edv__http_path_raw(const edv_http_req *r)
{
  return r->path_raw;
}

const char *edv__http_path(const edv_http_req *r)
{
  return r->path;
}

const char *edv__http_query_raw(const edv_http_req *r)
{
  return r->query;
}

const char *edv__http_query(const edv_http_req *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *edv__http_header(const edv_http_req *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *edv__http_body(const edv_http_req *r, size_t *len)
{
  if (len)
    *len = r->body_len;
  return r->body ? r->body : "";
}

int edv__http_peer_is_loopback(const edv_http_req *r)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr *sa = ci ? ci->client_addr : NULL;

  if (sa == NULL)
    return 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return 0;
}

const char *edv__http_peer_addr(const edv_http_req *r, char *buf, size_t size)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr *sa = ci ? ci->client_addr : NULL;
  const void *a = NULL;

  if (sa && sa->sa_family == AF_INET)
    a = &((const struct sockaddr_in *)sa)->sin_addr;
  else if (sa && sa->sa_family == AF_INET6)
    a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
  if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)size))
    snprintf(buf, size, "unknown");
  return buf;
}

void edv__http_set_data(edv_http_req *r, void *data)
{
  r->data = data;
}

void *edv__http_get_data(const edv_http_req *r)
{
  return r->data;
}

void edv__http_on_end(edv_http_req *r, uint64_t deadline_ms,
                      edv_httpd_end_cb cb, void *data)
{
  if (deadline_ms)
    r->deadline_ms = deadline_ms;
  r->end_cb = cb;
  r->end_data = data;
  if (r->state == REQ_SUSPENDED) {
    r->due = uv_now(r->httpd->loop) + r->deadline_ms;
    httpd_arm_deadline(r->httpd);
  }
}

int edv__http_add_header(edv_http_req *r, const char *name, const char *value)
{
  struct hdr *x = calloc(1, sizeof(*x));

  if (x == NULL)
    return -1;
  x->name = strdup(name);
  x->value = strdup(value);
  if (x->name == NULL || x->value == NULL) {
    free(x->name);
    free(x->value);
    free(x);
    return -1;
  }
  x->next = r->hdrs;
  r->hdrs = x;
  return 0;
}

/* Stores the answer; a suspended request is resumed and MHD kicked. */
static void httpd_answer(edv_http_req *r)
{
  edv_httpd *h = r->httpd;
  req_state was = r->state;

  r->state = REQ_ANSWERED;
  r->end_cb = NULL;
  if (was == REQ_SUSPENDED) {
    httpd_resume(h, r);
    httpd_arm_deadline(h);
    httpd_kick(h);
  }
}

void edv__httpd_respond_owned(edv_http_req *r, unsigned status,
                              const char *content_type, char *body, size_t len)
{
  if (r->state != REQ_HANDLING && r->state != REQ_SUSPENDED) {
    free(body); /* answered twice, or after the end: ignore */
    return;
  }
  free(r->resp_body);
  free(r->resp_ctype);
  r->status = status;
  r->resp_body = body;
  r->resp_len = body ? len : 0;
  r->resp_ctype = content_type ? strdup(content_type) : NULL;
  httpd_answer(r);
}

void edv__httpd_respond(edv_http_req *r, unsigned status,
                        const char *content_type, const char *body, size_t len)
{
  char *copy = malloc(len + 1);

  if (copy == NULL) {
    edv__httpd_drop(r);
    return;
  }
  if (len)
    memcpy(copy, body, len);
  copy[len] = '\0';
  edv__httpd_respond_owned(r, status, content_type, copy, len);
}

void edv__httpd_drop(edv_http_req *r)
{
  if (r->state != REQ_HANDLING && r->state != REQ_SUSPENDED)
    return;
  r->drop = 1;
  httpd_answer(r);
}
