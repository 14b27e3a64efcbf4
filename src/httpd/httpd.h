/*
 * httpd.h - a small HTTP/1.1 server on a libuv loop (libmicrohttpd inside).
 *
 * Generic: it knows nothing of the simulator or of edvd. One handler gets
 * every request once its whole body has arrived. The handler answers either
 * at once (edv__httpd_respond() before it returns) or later, from any loop
 * callback: a request the handler did not answer is suspended until the
 * owner responds, the request's deadline passes, the client goes away, or
 * the server closes.
 *
 * libmicrohttpd runs in "external select" epoll mode: its epoll fd is
 * watched by one uv_poll_t and its timeouts by one uv_timer_t, and a single
 * kick() (MHD_run, then MHD_get_timeout) is the only way MHD advances
 * (docs/HACKING.md, "The event loop"). Everything runs on the loop's thread.
 */
#ifndef EDV_HTTPD_HTTPD_H
#define EDV_HTTPD_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "edv/error.h"
#include "edv/log.h"

typedef struct edv_httpd edv_httpd;
typedef struct edv_http_req edv_http_req;

/* Why an unanswered request ends without its owner's answer. */
typedef enum {
  EDV_HTTPD_DEADLINE = 1, /* its deadline passed: the owner may still answer
                             from the callback, else the server sends 504 */
  EDV_HTTPD_GONE = 2,     /* the client went away: the request is dead */
  EDV_HTTPD_SHUTDOWN = 3, /* the server is closing: it answers 503 */
} edv_httpd_end;

/*
 * Called for every complete request. Answer with edv__httpd_respond() (now
 * or later) or edv__httpd_drop(). Returning without an answer suspends the
 * request; then the owner must either answer later or register an end
 * callback to learn when it must stop holding the pointer.
 */
typedef void (*edv_httpd_handler)(void *data, edv_http_req *req);

/*
 * Called once for a suspended request that ends without an answer. For
 * EDV_HTTPD_DEADLINE the callback may answer; for the other reasons the
 * request pointer is dead as soon as the callback returns and any answer is
 * ignored.
 */
typedef void (*edv_httpd_end_cb)(void *data, edv_http_req *req,
                                 edv_httpd_end why);

typedef struct edv_httpd_options {
  const char *host;            /* bind address, "127.0.0.1" when NULL */
  unsigned port;               /* 0 picks a free port (see edv__httpd_port) */
  size_t max_body;             /* larger bodies get 413; 0 means 4 MiB */
  uint64_t deadline_ms;        /* default deadline of a suspended request;
                                  0 means 5 minutes */
  unsigned max_connections;    /* 0 means 4096 (each suspended request,
                                  such as an operations.wait, holds one).
                                  Near the limit, each new connection closes
                                  the oldest one still sending its request
                                  (or idle between requests), so new clients
                                  always get a slot */
  unsigned max_per_ip;         /* connections per client address; 0: no limit */
  uint64_t request_timeout_ms; /* a request's line, headers and body must
                                  all arrive within this of the connection's
                                  start (or of the previous answer on a
                                  keep-alive connection), however steadily
                                  bytes trickle in; past it the connection is
                                  closed (a first request gets 408 over plain
                                  HTTP). 0 means 30 s */
  size_t max_uri;              /* longer request targets get 414; 0: 8 KiB */
  size_t max_header;           /* a larger request line plus headers gets 431;
                                  0: 16 KiB (beyond about 64 KiB
                                  libmicrohttpd answers 431 itself, as HTML) */
  edv_httpd_handler handler;   /* required */
  void *data;                  /* passed to handler */
  /* Optional: the body of the answers the server makes itself (408, 413,
   * 414, 431, 503 while closing, 504 past a deadline, 500): returns a
   * malloc'd body,
   * sets *len and *ctype (a static string); NULL keeps the plain text.
   * Called with `data`, on the loop, never while a handler runs. */
  char *(*error_body)(void *data, unsigned status, const char *text,
                      const char **ctype, size_t *len);
  /* Optional: serve HTTPS only. Both PEM texts (NUL-terminated) or
   * neither; libmicrohttpd (GnuTLS) copies them while starting, so the
   * caller may wipe the key as soon as edv__httpd_start returns. Start
   * fails with EDV_ECONFIG when this libmicrohttpd has no TLS. */
  const char *tls_cert_pem;
  const char *tls_key_pem;
  /* Optional: where the server's own log lines go (module "httpd"), with
   * `data`; NULL: the logger linked beside it (common/log.h). A program
   * on libedv.so passes edv_log's, so that its settings apply. */
  void (*log)(void *data, edv_log_level level, const char *line);
} edv_httpd_options;

/*
 * Starts listening. Returns NULL and fills *err (EDV_EIO with the reason)
 * when the address cannot be bound.
 */
edv_httpd *edv__httpd_start(uv_loop_t *loop, const edv_httpd_options *opt,
                            edv_error *err);

/* The bound port (useful with port 0). */
unsigned edv__httpd_port(const edv_httpd *httpd);

/* 1 when the server speaks HTTPS (tls_cert_pem/tls_key_pem were given). */
int edv__httpd_tls(const edv_httpd *httpd);

/*
 * Stops accepting, ends every suspended request (EDV_HTTPD_SHUTDOWN, 503),
 * lets answers in flight drain for up to a second, closes the handles and
 * stops the daemon. close_cb runs once from the loop after all memory is
 * freed. Calling it twice is a no-op for the second call.
 */
void edv__httpd_close(edv_httpd *httpd, void (*close_cb)(void *data),
                      void *data);

/* Number of requests currently suspended (for tests and stats). */
size_t edv__httpd_suspended(const edv_httpd *httpd);

/*
 * Percent-decodes s in place and returns it; '+' becomes a space only when
 * plus_is_space (form bodies), never in paths.
 */
char *edv__http_unescape(char *s, int plus_is_space);

/* --- the request ------------------------------------------------------- */

const char *edv__http_method(const edv_http_req *req);
/* The path as sent, still percent-encoded, without the query. */
const char *edv__http_path_raw(const edv_http_req *req);
/* The path percent-decoded ("%2F" becomes "/"). */
const char *edv__http_path(const edv_http_req *req);
/* The query string as sent (without '?'), "" when there is none. */
const char *edv__http_query_raw(const edv_http_req *req);
/* A decoded query argument by name (first occurrence), or NULL. */
const char *edv__http_query(const edv_http_req *req, const char *name);
/* A request header by name (case-insensitive), or NULL. */
const char *edv__http_header(const edv_http_req *req, const char *name);
/* The body (NUL-terminated for convenience) and its length. */
const char *edv__http_body(const edv_http_req *req, size_t *len);
/* 1 when the peer is a loopback address (127/8 or ::1). */
int edv__http_peer_is_loopback(const edv_http_req *req);
/* The peer's address as text ("127.0.0.1", "::1") in buf, "unknown" when
 * there is none; returns buf (46 bytes hold any address). */
const char *edv__http_peer_addr(const edv_http_req *req, char *buf,
                                size_t size);

/* Owner's pointer, free for the handler to use. */
void edv__http_set_data(edv_http_req *req, void *data);
void *edv__http_get_data(const edv_http_req *req);

/*
 * Sets the deadline (from now) of this request if it ends up suspended and
 * the callback told when it ends unanswered. Call from the handler.
 */
void edv__http_on_end(edv_http_req *req, uint64_t deadline_ms,
                      edv_httpd_end_cb cb, void *data);

/* Adds a response header; call before edv__httpd_respond(). */
int edv__http_add_header(edv_http_req *req, const char *name,
                         const char *value);

/*
 * Answers the request: copies body (len bytes; content_type may be NULL).
 * After this the request pointer must not be used again. Safe to call from
 * the handler or from any loop callback later.
 */
void edv__httpd_respond(edv_http_req *req, unsigned status,
                        const char *content_type, const char *body, size_t len);

/* Same, taking ownership of a malloc'd body (freed with free()). */
void edv__httpd_respond_owned(edv_http_req *req, unsigned status,
                              const char *content_type, char *body, size_t len);

/*
 * Closes the connection without any answer: the handler returns MHD_NO,
 * MHD shuts the socket down and closes it, and SO_LINGER 0 turns that
 * close into a reset, so no byte of a response is ever sent. A client sees
 * a connection failure with no status (curl: CURLE_GOT_NOTHING "Empty
 * reply from server", or CURLE_RECV_ERROR when the reset wins the race),
 * never an HTTP answer. Same pointer rule as edv__httpd_respond().
 */
void edv__httpd_drop(edv_http_req *req);

#endif /* EDV_HTTPD_HTTPD_H */
