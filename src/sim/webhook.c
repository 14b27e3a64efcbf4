/*
 * webhook.c - one asynchronous HTTP/1.1 POST on libuv (see webhook.h).
 *
 * getaddrinfo (thread pool) -> uv_tcp_connect -> one uv_write of the whole
 * request -> read until the status line -> close. A 5 s timer bounds it
 * all. The request buffer (it may hold an Authorization header) is wiped
 * before it is freed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/webhook.h"

#define WEBHOOK_TIMEOUT_MS 5000

struct sim_webhook {
  uv_loop_t *loop;
  uv_getaddrinfo_t gai;
  uv_connect_t conn;
  uv_write_t wr;
  uv_tcp_t tcp;
  uv_timer_t timer;
  int gai_active, tcp_init, open_handles, done;
  char host[256], port[8];
  char *req;
  size_t req_len;
  char line[128]; /* the answer's first bytes */
  size_t line_len;
  char scratch[512];
  sim_webhook_cb cb;
  void *data;
};

static void wh_maybe_free(sim_webhook *w)
{
  if (!w->done || w->open_handles || w->gai_active)
    return;
  if (w->req) {
    memset(w->req, 0, w->req_len);
    free(w->req);
  }
  free(w);
}

static void wh_closed(uv_handle_t *h)
{
  sim_webhook *w = h->data;

  w->open_handles--;
  wh_maybe_free(w);
}

/* Ends the POST: the callback (once), then the handles. */
static void wh_finish(sim_webhook *w, int status, const char *error)
{
  sim_webhook_cb cb = w->cb;

  if (w->done)
    return;
  w->done = 1;
  w->cb = NULL;
  if (cb)
    cb(w->data, status, error);
  if (w->gai_active)
    uv_cancel((uv_req_t *)&w->gai);
  uv_timer_stop(&w->timer);
  uv_close((uv_handle_t *)&w->timer, wh_closed);
  if (w->tcp_init)
    uv_close((uv_handle_t *)&w->tcp, wh_closed);
}

static void wh_timeout(uv_timer_t *t)
{
  wh_finish(t->data, 0, "no answer within 5 s");
}

static void wh_error(sim_webhook *w, const char *what, int rc)
{
  char msg[200];

  snprintf(msg, sizeof(msg), "%s: %s", what, uv_strerror(rc));
  wh_finish(w, 0, msg);
}

static void wh_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  sim_webhook *w = h->data;

  (void)hint;
  *buf = uv_buf_init(w->scratch, sizeof(w->scratch));
}

/* The status of "HTTP/1.x NNN ...", or 0. */
static int status_of(const char *line)
{
  if (strncmp(line, "HTTP/1.", 7) != 0 || !line[7] || line[8] != ' ' ||
      !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
      !isdigit((unsigned char)line[11]))
    return 0;
  return atoi(line + 9);
}

static void wh_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  sim_webhook *w = st->data;
  size_t room = sizeof(w->line) - 1 - w->line_len;

  if (w->done)
    return;
  if (n < 0) {
    if (n == UV_EOF && status_of(w->line))
      wh_finish(w, status_of(w->line), NULL);
    else if (n == UV_EOF)
      wh_finish(w, 0, "the webhook closed the connection without an answer");
    else
      wh_error(w, "read", (int)n);
    return;
  }
  if ((size_t)n < room)
    room = (size_t)n;
  memcpy(w->line + w->line_len, buf->base, room);
  w->line_len += room;
  w->line[w->line_len] = '\0';
  if (strchr(w->line, '\n') || w->line_len == sizeof(w->line) - 1) {
    int status = status_of(w->line);

    if (status)
      wh_finish(w, status, NULL);
    else
      wh_finish(w, 0, "the webhook's answer is not HTTP/1.x");
  }
}

static void wh_written(uv_write_t *wr, int status)
{
  sim_webhook *w = wr->data;

  if (w->done)
    return;
  if (status < 0)
    wh_error(w, "write", status);
}

static void wh_connected(uv_connect_t *c, int status)
{
  sim_webhook *w = c->data;
  uv_buf_t b;
  int rc;

  if (w->done)
    return;
  if (status < 0) {
    wh_error(w, "connect", status);
    return;
  }
  b = uv_buf_init(w->req, (unsigned)w->req_len);
  w->wr.data = w;
  if ((rc = uv_write(&w->wr, (uv_stream_t *)&w->tcp, &b, 1, wh_written)) < 0 ||
      (rc = uv_read_start((uv_stream_t *)&w->tcp, wh_alloc, wh_read)) < 0)
    wh_error(w, "write", rc);
}

static void wh_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
  sim_webhook *w = g->data;
  int rc;

  w->gai_active = 0;
  if (w->done) {
    uv_freeaddrinfo(ai);
    wh_maybe_free(w);
    return;
  }
  if (status < 0 || ai == NULL) {
    uv_freeaddrinfo(ai);
    wh_error(w, "resolve", status < 0 ? status : UV_EAI_NONAME);
    return;
  }
  uv_tcp_init(w->loop, &w->tcp);
  w->tcp.data = w;
  w->tcp_init = 1;
  w->open_handles++;
  w->conn.data = w;
  rc = uv_tcp_connect(&w->conn, &w->tcp, ai->ai_addr, wh_connected);
  uv_freeaddrinfo(ai);
  if (rc < 0)
    wh_error(w, "connect", rc);
}

/* Splits "http://host[:port][/path]"; 0 or -1. */
static int parse_url(const char *url, char *host, size_t hn, char *port,
                     size_t pn, const char **path)
{
  const char *h, *end, *colon;

  if (strncmp(url, "http://", 7) != 0)
    return -1;
  h = url + 7;
  end = h + strcspn(h, "/?#");
  *path = *end == '/' ? end : "/";
  if (*h == '[') {
    const char *rb = memchr(h, ']', (size_t)(end - h));

    if (rb == NULL || (size_t)(rb - h - 1) >= hn)
      return -1;
    snprintf(host, hn, "%.*s", (int)(rb - h - 1), h + 1);
    colon = rb[1] == ':' ? rb + 1 : NULL;
  } else {
    colon = memchr(h, ':', (size_t)(end - h));
    if ((size_t)((colon ? colon : end) - h) >= hn)
      return -1;
    snprintf(host, hn, "%.*s", (int)((colon ? colon : end) - h), h);
  }
  if (!*host)
    return -1;
  if (colon) {
    size_t l = (size_t)(end - colon - 1);

    if (l == 0 || l >= pn || strspn(colon + 1, "0123456789") < l)
      return -1;
    snprintf(port, pn, "%.*s", (int)l, colon + 1);
  } else {
    snprintf(port, pn, "80");
  }
  return 0;
}

sim_webhook *sim_webhook_post(uv_loop_t *loop, const char *url,
                              const char *authorization, const char *body,
                              sim_webhook_cb cb, void *data, char *err,
                              size_t errn)
{
  sim_webhook *w = calloc(1, sizeof(*w));
  const char *path;
  struct addrinfo hints;
  size_t blen = strlen(body), cap;
  int rc;

  if (w == NULL) {
    snprintf(err, errn, "out of memory");
    return NULL;
  }
  if (parse_url(url, w->host, sizeof(w->host), w->port, sizeof(w->port),
                &path) < 0) {
    snprintf(err, errn, "the url is not http://host[:port][/path]");
    free(w);
    return NULL;
  }
  cap = strlen(path) + strlen(w->host) + blen +
        (authorization ? strlen(authorization) : 0) + 300;
  if ((w->req = malloc(cap)) == NULL) {
    free(w);
    snprintf(err, errn, "out of memory");
    return NULL;
  }
  w->req_len = (size_t)snprintf(
      w->req, cap,
      "POST %s HTTP/1.1\r\nHost: %s%s%s%s:%s\r\nUser-Agent: edv-gcpsim\r\n"
      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
      "%s%s%sConnection: close\r\n\r\n%s",
      path, strchr(w->host, ':') ? "[" : "", w->host,
      strchr(w->host, ':') ? "]" : "", "", w->port, blen,
      authorization ? "Authorization: " : "",
      authorization ? authorization : "", authorization ? "\r\n" : "", body);
  w->loop = loop;
  w->cb = cb;
  w->data = data;
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  w->open_handles = 1;
  uv_timer_start(&w->timer, wh_timeout, WEBHOOK_TIMEOUT_MS, 0);
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  w->gai.data = w;
  w->gai_active = 1;
  rc = uv_getaddrinfo(loop, &w->gai, wh_resolved, w->host, w->port, &hints);
  if (rc < 0) {
    w->gai_active = 0;
    /* Answer on the next loop turn, like every other outcome. */
    w->cb = NULL;
    w->done = 1;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, wh_closed);
    snprintf(err, errn, "resolve: %s", uv_strerror(rc));
    return NULL;
  }
  return w;
}

void sim_webhook_cancel(sim_webhook *w)
{
  if (w == NULL)
    return;
  w->cb = NULL;
  wh_finish(w, 0, NULL);
}

void sim_webhook_basic(const char *user, const char *password, char *out,
                       size_t n)
{
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char in[512];
  size_t len = (size_t)snprintf(in, sizeof(in), "%s:%s", user ? user : "",
                                password ? password : "");
  size_t o = (size_t)snprintf(out, n, "Basic ");

  if (len >= sizeof(in))
    len = sizeof(in) - 1;
  for (size_t i = 0; i < len && o + 5 < n; i += 3) {
    unsigned v = (unsigned)(unsigned char)in[i] << 16;

    v |= i + 1 < len ? (unsigned)(unsigned char)in[i + 1] << 8 : 0;
    v |= i + 2 < len ? (unsigned)(unsigned char)in[i + 2] : 0;
    out[o++] = b64[(v >> 18) & 63];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? b64[v & 63] : '=';
  }
  out[o < n ? o : n - 1] = '\0';
  memset(in, 0, sizeof(in));
}
