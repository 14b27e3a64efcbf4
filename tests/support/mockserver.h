/*
 * mockserver.h - a scripted HTTP/1.1 loopback server for tests.
 *
 * In the spirit of curl's sws: the test queues canned replies, runs its
 * client, then reads back what the server received. The server runs
 * libmicrohttpd on its own threads (one per connection, so a reply delayed
 * on one connection never stalls another), bound to 127.0.0.1 on a free
 * port. Every function is thread-safe; the test thread and the server
 * threads share the state under one mutex.
 *
 * Matching: each request consumes the FIRST queued expectation whose method
 * and path prefix match it (NULL matches anything); an expectation with
 * `times` > 1 serves that many requests before it is used up. A request no
 * expectation matches gets the default reply (404 with a Google error
 * envelope unless mock_set_default() changed it).
 */
#ifndef EDV_TEST_MOCKSERVER_H
#define EDV_TEST_MOCKSERVER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mock_server mock_server;

/* Pass as `status` to close the connection without answering. */
#define MOCK_DROP (-1)

/* One canned reply. Strings are copied by mock_expect_reply(). */
typedef struct mock_reply {
  const char *method;       /* "GET", ... or NULL for any */
  const char *path_prefix;  /* matched against the path with its query, or
                               NULL for any */
  int status;               /* HTTP status, or MOCK_DROP */
  const char *body;         /* response body or NULL (empty) */
  const char *headers;      /* extra headers, "Name: value" lines separated
                               by '\n', or NULL */
  const char *content_type; /* NULL = "application/json" */
  unsigned delay_ms;        /* wait this long before answering/dropping */
  unsigned times;           /* serve this many requests; 0 means 1 */
} mock_reply;

/* One received request, as copied out by mock_request_get(). */
typedef struct mock_request {
  char method[16];
  char *path; /* path and raw query string ("/a/b?x=1") */
  char *body; /* request body, NUL-terminated ("" if none) */
  size_t body_len;
  char *headers;         /* every request header, "name: value\n" lines,
                            names lowercased */
  unsigned long conn_id; /* which connection carried it (1, 2, ...) */
} mock_request;

/* Starts a server on 127.0.0.1, a free port. NULL on failure. */
mock_server *mock_start(void);

/* Stops the server (waking delayed replies) and frees it. NULL ok. */
void mock_stop(mock_server *ms);

/* The port, and the base URL "http://127.0.0.1:PORT" (no slash). */
unsigned short mock_port(const mock_server *ms);
const char *mock_url(const mock_server *ms);

/* Queues a reply (see the matching rules above). */
void mock_expect(mock_server *ms, const char *method, const char *path_prefix,
                 int status, const char *body, const char *headers);
void mock_expect_reply(mock_server *ms, const mock_reply *reply);

/* Replaces the reply used when nothing queued matches. */
void mock_set_default(mock_server *ms, int status, const char *body,
                      const char *headers);

/* Drops queued expectations and the request log (not the default). */
void mock_reset(mock_server *ms);

/* Expectations not yet used up. */
size_t mock_pending(mock_server *ms);

/* Turns the request log on (the default) or off (for benchmarks). */
void mock_set_logging(mock_server *ms, int on);

/* Requests received so far (logged or not). */
size_t mock_request_count(mock_server *ms);

/* Connections accepted so far. */
unsigned long mock_connection_count(mock_server *ms);

/*
 * Copies request `i` (0 = first) into *out; release it with
 * mock_request_free(). Returns 0, or -1 when there is no such request.
 */
int mock_request_get(mock_server *ms, size_t i, mock_request *out);
void mock_request_free(mock_request *req);

/* Value of header `name` (case-insensitive) in a copied request, written
 * into buf; returns buf, or NULL when absent. */
const char *mock_request_header(const mock_request *req, const char *name,
                                char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* EDV_TEST_MOCKSERVER_H */
