/*
 * http.c - one libcurl multi handle driven by the libuv loop.
 *
 * The pattern of curl's docs/examples/multi-uv.c, with the corrections that
 * docs/HACKING.md ("The event loop") lists for libuv 1.44.2 and libcurl
 * 7.88.1:
 *   - curl's timeout 0 becomes 1 ms: calling back into curl from its timer
 *     callback fails with CURLM_RECURSIVE_API_CALL, and a 0 ms uv timer
 *     busy-loops on libuv < 1.48 (libuv #4245);
 *   - curl_multi_info_read() is drained after EVERY socket_action, not only
 *     while transfers are running, or the last DONE message is stranded;
 *   - a negative poll status (libuv 1.44 reports POLLERR as UV_EBADF and
 *     stops polling, libuv #3796) is passed on as CURL_CSELECT_ERR;
 *   - a socket context is freed only in its uv_close callback, and a new
 *     one is made on every IN/OUT after a REMOVE (curl drops socketp at
 *     REMOVE, curl #9799), so one fd never has two poll handles;
 *   - the socket callback also runs inside curl_multi_cleanup(), so the
 *     contexts outlive it: shutdown is remove easies, multi cleanup, close
 *     the timer, and the engine's owner keeps the loop running until every
 *     close callback has run.
 * Easy handles are never removed from inside curl's callbacks; completion
 * runs from the drain, where the multi handle is ours again.
 *
 * A new transfer would wait for curl's timer, which asks for 0 ms after
 * curl_multi_add_handle() and so waits the clamped 1 ms: one millisecond
 * of latency per call. Instead, adding a transfer starts an idle handle
 * that runs socket_action on the next loop turn. It cannot busy-loop (it
 * stops itself, and runs at most once per turn), and calling curl from it
 * is safe: we are not inside any curl callback there. Kicking curl right
 * inside edv__http_start() would be faster still, but could complete other
 * calls (and run their callbacks) inside edv_call_submit().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "transport/transport.h"

typedef struct http_sock {
  uv_poll_t poll;
  curl_socket_t fd;
  edv__http *h;
} http_sock;

/* Counts down the open handles; the owner hears when none is left. */
static void http_handle_closed(edv__http *h)
{
  if (--h->open == 0 && h->closing && h->closed)
    h->closed(h);
}

static void http_sock_closed(uv_handle_t *handle)
{
  http_sock *hs = edv__container_of(handle, http_sock, poll);
  edv__http *h = hs->h;

  free(hs);
  http_handle_closed(h);
}

/* Completes every finished transfer; see the file comment for why this
 * runs after each socket_action. */
static void http_drain(edv__http *h)
{
  CURLMsg *msg;
  int left;

  /* A completion callback may close the engine, and with it the multi
   * handle: stop reading then. */
  while (!h->closing && (msg = curl_multi_info_read(h->multi, &left))) {
    CURL *easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    edv__xfer *x = NULL;
    long connects = 0;

    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
      h->connects += (uint64_t)connects;
    curl_multi_remove_handle(h->multi, easy);
    if (x) {
      x->active = 0;
      x->done(x, result);
    }
  }
}

/* Every path into curl goes through here, and every one drains after. */
static void http_action(edv__http *h, curl_socket_t fd, int flags)
{
  int running = 0;
  CURLMcode mc = curl_multi_socket_action(h->multi, fd, flags, &running);

  /* The docs say an error here leaves every transfer uncertain. It only
   * happens on out-of-memory or misuse; transfers then end through their
   * own timeouts, reported by the drain. */
  if (mc != CURLM_OK)
    EDV_LOG_E("http", "curl_multi_socket_action: %s", curl_multi_strerror(mc));
  http_drain(h);
}

static void http_poll_cb(uv_poll_t *poll, int status, int events)
{
  http_sock *hs = edv__container_of(poll, http_sock, poll);
  int flags = 0;

  if (status < 0)
    flags = CURL_CSELECT_ERR;
  else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  /* hs may be closed (not freed) by the time socket_action returns. */
  http_action(hs->h, hs->fd, flags);
}

/* CURLMOPT_SOCKETFUNCTION: one poll handle per socket (docs/HACKING.md). */
static int http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp)
{
  edv__http *h = userp;
  http_sock *hs = socketp;
  int events = 0, result;

  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (hs) {
      curl_multi_assign(h->multi, fd, NULL);
      uv_close((uv_handle_t *)&hs->poll, http_sock_closed);
    }
    return 0;
  }
  if (!hs) {
    hs = calloc(1, sizeof(*hs));
    if (!hs)
      return -1;
    hs->fd = fd;
    hs->h = h;
    result = uv_poll_init_socket(h->loop, &hs->poll, fd);
    if (result != 0) { /* UV_EEXIST: someone else polls this fd */
      EDV_LOG_E("http", "uv_poll_init_socket(%d): %s", (int)fd,
                uv_strerror(result));
      free(hs);
      return -1;
    }
    h->open++;
    curl_multi_assign(h->multi, fd, hs);
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  result = uv_poll_start(&hs->poll, events, http_poll_cb);
  if (result != 0) {
    /* Only a bad fd gets here; -1 makes curl fail the transfer on it. */
    EDV_LOG_E("http", "uv_poll_start(%d): %s", (int)fd, uv_strerror(result));
    return -1;
  }
  return 0;
}

static void http_on_kick(uv_idle_t *idle)
{
  edv__http *h = edv__container_of(idle, edv__http, kick);

  uv_idle_stop(idle);
  http_action(h, CURL_SOCKET_TIMEOUT, 0);
}

static void http_on_timeout(uv_timer_t *timer)
{
  edv__http *h = edv__container_of(timer, edv__http, timer);

  http_action(h, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 becomes 1 ms (see top). */
static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
  edv__http *h = userp;

  (void)multi;
  if (h->closing)
    return 0;
  if (timeout_ms < 0)
    uv_timer_stop(&h->timer);
  else
    uv_timer_start(&h->timer, http_on_timeout,
                   timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
  return 0;
}

int edv__http_init(edv__http *h, uv_loop_t *loop, edv_error *err)
{
  memset(h, 0, sizeof(*h));
  h->loop = loop;
  h->multi = curl_multi_init();
  if (!h->multi)
    return edv_error_set(err, EDV_ENOMEM, "curl_multi_init failed");
  uv_timer_init(loop, &h->timer);
  uv_idle_init(loop, &h->kick);
  h->open = 2;
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
  curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  /* The default cache (4 x the transfers added at that moment) shrinks
   * whenever few calls are in flight and closes the connections a burst
   * just opened; keep enough for the per-API concurrency caps. */
  curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 256L);
  return EDV_OK;
}

/* Accumulates the body; past max_body, fails the transfer (EPROTO). */
static size_t http_write_cb(char *ptr, size_t size, size_t n, void *data)
{
  edv__xfer *x = data;
  size_t len = size * n, cap;
  char *p;

  if (x->len + len > x->max_body) {
    x->too_big = 1;
    return 0; /* CURLE_WRITE_ERROR */
  }
  if (x->len + len + 1 > x->cap) {
    cap = x->cap ? x->cap : 4096;
    while (cap < x->len + len + 1)
      cap *= 2;
    /* Not realloc: a token response must not be left behind, unwiped,
     * in the block realloc would free. */
    p = malloc(cap);
    if (!p)
      return 0;
    if (x->body) {
      memcpy(p, x->body, x->len);
      explicit_bzero(x->body, x->len);
      free(x->body);
    }
    x->body = p;
    x->cap = cap;
  }
  memcpy(x->body + x->len, ptr, len);
  x->len += len;
  x->body[x->len] = '\0';
  return len;
}

static int http_hdr_append(edv__xfer *x, const char *s, size_t n)
{
  size_t cap;
  char *p;

  if (x->hlen + n + 1 > x->hcap) {
    cap = x->hcap ? x->hcap * 2 : 1024;
    while (cap < x->hlen + n + 1)
      cap *= 2;
    p = realloc(x->hdrs, cap);
    if (!p)
      return -1;
    x->hdrs = p;
    x->hcap = cap;
  }
  memcpy(x->hdrs + x->hlen, s, n);
  x->hdrs[x->hlen + n] = '\0';
  x->hlen += n + 1;
  return 0;
}

/*
 * Keeps "Name: value" lines as "name\0value\0" pairs. A status line starts
 * a new response (after a 100 Continue or a redirect), so only the final
 * response's headers remain.
 */
static size_t http_header_cb(char *buf, size_t size, size_t n, void *data)
{
  edv__xfer *x = data;
  size_t len = size * n;
  const char *colon, *v, *end = buf + len;

  if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
    x->hlen = 0;
    return len;
  }
  colon = memchr(buf, ':', len);
  if (!colon)
    return len;
  while (end > colon + 1 && (end[-1] == '\r' || end[-1] == '\n' ||
                             end[-1] == ' ' || end[-1] == '\t'))
    end--;
  for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
    ;
  if (http_hdr_append(x, buf, (size_t)(colon - buf)) != 0 ||
      http_hdr_append(x, v, (size_t)(end - v)) != 0)
    return 0;
  return len;
}

const char *edv__xfer_header(const edv__xfer *x, const char *name)
{
  size_t off = 0, nlen;

  while (x->hdrs && off < x->hlen) {
    const char *k = x->hdrs + off;
    const char *v = k + strlen(k) + 1;
    if (strcasecmp(k, name) == 0)
      return v;
    nlen = strlen(v);
    off = (size_t)(v - x->hdrs) + nlen + 1;
  }
  return NULL;
}

CURL *edv__http_easy(edv__http *h)
{
  CURL *easy = h->npool ? h->pool[--h->npool] : curl_easy_init();

  if (!easy)
    return NULL;
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "edvirons/" EDV_VERSION);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  return easy;
}

/* Resets the buffers and hands the transfer to curl, kicked next turn. */
int edv__http_start(edv__http *h, edv__xfer *x)
{
  CURLMcode mc;

  if (h->closing)
    return EDV_ECANCELED;
  if (x->body) /* a retry: the last answer may have held a token */
    explicit_bzero(x->body, x->len);
  x->len = 0;
  x->hlen = 0;
  x->too_big = 0;
  x->errbuf[0] = '\0';
  curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, http_write_cb);
  curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, http_header_cb);
  curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
  mc = curl_multi_add_handle(h->multi, x->easy);
  if (mc != CURLM_OK)
    return EDV_EINTERNAL;
  x->active = 1;
  uv_idle_start(&h->kick, http_on_kick);
  return EDV_OK;
}

void edv__http_stop(edv__http *h, edv__xfer *x)
{
  if (x->active) {
    curl_multi_remove_handle(h->multi, x->easy);
    x->active = 0;
  }
}

void edv__http_release(edv__http *h, edv__xfer *x)
{
  edv__http_stop(h, x);
  if (x->easy) {
    if (!h->closing && h->npool < sizeof(h->pool) / sizeof(h->pool[0])) {
      curl_easy_reset(x->easy);
      h->pool[h->npool++] = x->easy;
    } else {
      curl_easy_cleanup(x->easy);
    }
    x->easy = NULL;
  }
  curl_slist_free_all(x->headers);
  x->headers = NULL;
  /* The response may hold tokens (the OAuth 2.0 token endpoint's). */
  if (x->body)
    explicit_bzero(x->body, x->len);
  free(x->body);
  free(x->hdrs);
  x->body = x->hdrs = NULL;
  x->len = x->cap = x->hlen = x->hcap = 0;
}

static void http_timer_closed(uv_handle_t *handle)
{
  http_handle_closed(edv__container_of(handle, edv__http, timer));
}

static void http_kick_closed(uv_handle_t *handle)
{
  http_handle_closed(edv__container_of(handle, edv__http, kick));
}

/* Shutdown order (docs/HACKING.md): easies out, multi cleanup, close timers. */
void edv__http_close(edv__http *h, void (*closed)(edv__http *h))
{
  unsigned i;

  h->closing = 1;
  h->closed = closed;
  for (i = 0; i < h->npool; i++)
    curl_easy_cleanup(h->pool[i]);
  h->npool = 0;
  /* Every easy handle was removed by the calls' cancellation; cleanup
   * closes the cached connections, firing CURL_POLL_REMOVE for each. */
  curl_multi_cleanup(h->multi);
  h->multi = NULL;
  uv_timer_stop(&h->timer);
  uv_close((uv_handle_t *)&h->timer, http_timer_closed);
  uv_idle_stop(&h->kick);
  uv_close((uv_handle_t *)&h->kick, http_kick_closed);
}
