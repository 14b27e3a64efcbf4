/*
 * transport.h - internals of the engine, shared between the files of
 * src/transport/ and their unit tests. Never installed.
 *
 * Files, one concept each:
 *   engine.c     the engine object: endpoints, stats, close
 *   call.c       one REST call: queue, token, send, retry, deliver
 *   http.c       the libcurl multi handle driven by the uv loop
 *   envelope.c   Google error envelopes and operation errors -> edv_error
 *   retry.c      what is retried, backoff with full jitter, Retry-After
 *   ratelimit.c  per-API token buckets, concurrency caps, AIMD
 *   page.c       nextPageToken and aggregatedList helpers
 *   config.c     include/edv/config.h (keys, files, environment)
 */
#ifndef EDV_TRANSPORT_INT_H
#define EDV_TRANSPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <uv.h>

#include "auth/auth.h"
#include "edv/config.h"
#include "edv/engine.h"
#include "edv/error.h"

#define edv__container_of(ptr, type, member)                                   \
  ((type *)((char *)(ptr)-offsetof(type, member)))

/* Milliseconds on the monotonic clock (uv_hrtime), for deadlines. */
uint64_t edv__now_ms(void);

/* Copies src into dst (size > 0) and always terminates. */
void edv__strlcpy(char *dst, const char *src, size_t size);

/* A copy of a configuration (NULL when out of memory). */
edv_config *edv__config_dup(const edv_config *cfg);

/* ---- envelope.c ---------------------------------------------------------*/

/*
 * Maps an HTTP status plus what the body says (legacy errors[0].reason,
 * ErrorInfo reason, google.rpc status name, message) to our code. Any string
 * may be NULL.
 */
edv_code edv__code_from_http(int http_status, const char *reason,
                             const char *info_reason, const char *status,
                             const char *message);

/* google.rpc.Code number -> our code; and its name ("NOT_FOUND"). */
edv_code edv__code_from_rpc(int rpc_code);
const char *edv__rpc_name(int rpc_code);

/*
 * Fills *out from a non-2xx response: the status, and whatever the body
 * holds (`json` parsed or NULL, `raw` the body or NULL): a Google envelope
 * in either style, an OAuth error, or a non-JSON page (an HTML 502).
 * `where` is left empty for the caller.
 */
void edv__error_from_http(int http_status, json_object *json, const char *raw,
                          size_t raw_len, edv_error *out);

/*
 * Fills *out from a long-running operation's error: `op_error` is the
 * operation's `error` member, or the whole operation (then `error` and
 * `httpErrorStatusCode` are read from it). Shapes: Compute
 * {errors:[{code,message}]} (+ httpErrorStatusCode), Cloud SQL
 * {kind:"sql#operationErrors",errors:[{code,message}]}, google.rpc.Status
 * {code:<rpc int>,message,details}. The code is specific where the error
 * says what happened (EINUSE, EQUOTA, EEXIST, ECANCELED, ...), else
 * EDV_EOPFAILED. Returns the code; EDV_OK when op_error holds no error.
 */
edv_code edv__error_from_operation(json_object *op_error, int http_status_hint,
                                   edv_error *out);

/* ---- retry.c -------------------------------------------------------------*/

/* A small seedable PRNG (splitmix64): jitter must be testable. */
typedef struct edv__prng {
  uint64_t state;
} edv__prng;

void edv__prng_seed(edv__prng *prng, uint64_t seed);
uint64_t edv__prng_next(edv__prng *prng);
/* Uniform in [0, bound] (inclusive). */
uint64_t edv__prng_upto(edv__prng *prng, uint64_t bound);

typedef struct edv__retry_policy {
  uint64_t initial_ms;   /* backoff base (retry.initial_ms, 1000) */
  uint64_t max_ms;       /* backoff cap (retry.max_ms, 32000) */
  unsigned max_attempts; /* sends per call, first included (retry.max_attempts,
                            8) */
} edv__retry_policy;

void edv__retry_policy_from_config(edv__retry_policy *pol,
                                   const edv_config *cfg);

/* 1 when the failure may go away on its own (same test as
 * edv_error_is_transient, the single source of truth). */
int edv__retry_error_retryable(const edv_error *err);

/* 1 when repeating this request is safe: GET/HEAD, EDV_REQ_IDEMPOTENT, or
 * a `requestId=` query parameter; never with EDV_REQ_NORETRY. */
int edv__retry_request_safe(const char *method, const char *url,
                            unsigned flags);

/* Full jitter: uniform in [0, min(max_ms, initial_ms * 2^retry)], where
 * `retry` counts the retries already made (0 before the first). */
uint64_t edv__retry_backoff(const edv__retry_policy *pol, edv__prng *prng,
                            unsigned retry);

/* Retry-After as milliseconds (delta-seconds or an HTTP date, relative to
 * now_s); -1 when absent or unparsable. */
int64_t edv__retry_after_ms(const char *value, time_t now_s);

typedef enum {
  EDV__RETRY_NO = 0,       /* final: report the error */
  EDV__RETRY_AFTER = 1,    /* retry after *delay_ms */
  EDV__RETRY_DEADLINE = 2, /* would retry, but not before the deadline */
} edv__retry_verdict;

/*
 * Decides what to do after a failed attempt. `attempts` is how many were
 * sent so far; `retry_after` the response's header or NULL; times are
 * edv__now_ms() values.
 */
edv__retry_verdict edv__retry_plan(const edv__retry_policy *pol,
                                   edv__prng *prng, const edv_error *err,
                                   const char *method, const char *url,
                                   unsigned flags, unsigned attempts,
                                   const char *retry_after, uint64_t now_ms,
                                   uint64_t deadline_ms, uint64_t *delay_ms);

/* ---- ratelimit.c ---------------------------------------------------------*/

/* Wall-clock milliseconds since the epoch; injectable for tests. */
typedef uint64_t (*edv__clock_fn)(void *data);
uint64_t edv__clock_real(void *data);

typedef enum {
  EDV__RL_SMOOTH = 0, /* continuous refill, burst of 10 s worth */
  EDV__RL_MINUTE = 1, /* full refill at every whole minute (Compute) */
} edv__rl_mode;

typedef struct edv__bucket {
  edv__rl_mode mode;
  double limit;       /* configured requests per minute; 0 = unlimited */
  double rate;        /* effective rate after AIMD, <= limit */
  double floor;       /* the rate never drops below this */
  double tokens;      /* tokens available now */
  uint64_t stamp;     /* last refill (ms), or the current minute index */
  uint64_t last_cut;  /* when the rate was last halved */
  uint64_t last_grow; /* when the rate last grew (or was cut) */
} edv__bucket;

void edv__bucket_init(edv__bucket *b, edv__rl_mode mode, double per_minute,
                      uint64_t now);
/* Takes a token: returns 0, or how many ms until one may be available. */
uint64_t edv__bucket_take(edv__bucket *b, uint64_t now);
/* A 429/403-rate answer: halve the rate (once per second at most). */
void edv__bucket_cut(edv__bucket *b, uint64_t now);

/* A call waiting for a token and a concurrency slot. */
typedef struct edv__rl_waiter {
  struct edv__rl_waiter *next;
  void (*granted)(struct edv__rl_waiter *w); /* runs from edv__rl_pump */
  int group;                                 /* EDV__RL_GROUP_* index */
  int queued;                                /* on a queue right now */
} edv__rl_waiter;

/* Bucket groups: one per API, plus Compute's separate write bucket. */
#define EDV__RL_GROUP_COMPUTE_WRITE EDV_API__COUNT
#define EDV__RL_NGROUPS             (EDV_API__COUNT + 1)

typedef struct edv__rl_group {
  edv__bucket bucket;
  edv_api api;                 /* whose concurrency cap applies */
  edv__rl_waiter *head, *tail; /* FIFO of waiters */
} edv__rl_group;

typedef struct edv__limiter {
  edv__rl_group groups[EDV__RL_NGROUPS];
  unsigned in_flight[EDV_API__COUNT]; /* slots held */
  unsigned cap[EDV_API__COUNT];       /* concurrency cap; 0 = none */
  edv__clock_fn clock;
  void *clock_data;
  int pumping, again; /* re-entrancy guard of edv__rl_pump */
} edv__limiter;

/* Sets the limits from the config (ratelimit.* keys) and defaults. */
void edv__rl_init(edv__limiter *rl, const edv_config *cfg, edv__clock_fn clock,
                  void *clock_data);
/* The group of a request: Compute non-GETs go to the write bucket. */
int edv__rl_group_of(edv_api api, const char *method);
/* Queues w (w->group and w->granted set by the caller); call pump after. */
void edv__rl_enqueue(edv__limiter *rl, edv__rl_waiter *w);
/* Takes w off its queue; returns 1 when it was queued. */
int edv__rl_remove(edv__limiter *rl, edv__rl_waiter *w);
/* Gives back the concurrency slot a granted waiter held. */
void edv__rl_release(edv__limiter *rl, edv_api api);
void edv__rl_penalize(edv__limiter *rl, int group);
/*
 * Grants, in FIFO order per group, every waiter that has a token and a
 * slot. Returns the ms until a waiter might get a token, or UINT64_MAX
 * when nothing waits on time (nothing queued, or only on slots).
 */
uint64_t edv__rl_pump(edv__limiter *rl);

/* ---- http.c --------------------------------------------------------------*/

typedef struct edv__http edv__http;

/* One HTTP exchange on the multi handle, embedded in a call. */
typedef struct edv__xfer {
  CURL *easy;                 /* set up by the caller between get/start */
  struct curl_slist *headers; /* request headers (freed by the caller) */
  char *body;                 /* response body, NUL-terminated */
  size_t len, cap;
  char *hdrs; /* response headers: "name\0value\0" pairs */
  size_t hlen, hcap;
  size_t max_body; /* larger bodies fail the transfer */
  int too_big;     /* set when max_body was exceeded */
  int active;      /* added to the multi handle */
  char errbuf[CURL_ERROR_SIZE];
  void (*done)(struct edv__xfer *x, CURLcode result);
} edv__xfer;

struct edv__http {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer; /* curl's single timeout */
  uv_idle_t kick;   /* starts new transfers on the next loop turn */
  unsigned open;    /* timer, kick and poll handles not yet closed */
  int closing;
  void (*closed)(struct edv__http *h); /* when open reaches 0 */
  CURL *pool[16];                      /* reset easy handles for reuse */
  unsigned npool;
  uint64_t connects; /* new connections made (CURLINFO_NUM_CONNECTS) */
};

int edv__http_init(edv__http *h, uv_loop_t *loop, edv_error *err);
/* An easy handle with the engine-wide options set (pooled). */
CURL *edv__http_easy(edv__http *h);
/* Adds x->easy to the multi handle; x->done runs from the loop later. */
int edv__http_start(edv__http *h, edv__xfer *x);
/* Removes an active transfer without running x->done. */
void edv__http_stop(edv__http *h, edv__xfer *x);
/* Returns x's easy handle to the pool and frees x's buffers. */
void edv__http_release(edv__http *h, edv__xfer *x);
/* Looks up a captured response header; NULL if absent. */
const char *edv__xfer_header(const edv__xfer *x, const char *name);
/* Removes everything and closes the handles; `closed` runs after. */
void edv__http_close(edv__http *h, void (*closed)(edv__http *h));

/* ---- engine.c / call.c ---------------------------------------------------*/

#define EDV__ENGINE_MAGIC 0x45444745u /* "EDGE" */
#define EDV__CALL_MAGIC   0x4543414cu /* "ECAL" */

struct edv_engine {
  uint32_t magic;
  uv_loop_t *loop;
  edv_config *cfg;
  edv_auth *auth;
  char *endpoint[EDV_API__COUNT]; /* base URLs, no trailing slash */
  edv__http http;
  edv__limiter rl;
  uv_timer_t rl_timer; /* wakes the limiter's queues */
  edv__retry_policy retry;
  edv__prng prng;
  uint64_t timeout_ms;     /* http.timeout_ms */
  long connect_timeout_ms; /* http.connect_timeout_ms */
  size_t max_body;         /* http.max_response_bytes */
  edv_api_stats stats[EDV_API__COUNT];
  struct edv_call *calls; /* live calls (not yet delivered) */
  unsigned live;          /* calls not yet freed */
  unsigned open;          /* engine handles not yet closed */
  int closing;
  void (*close_cb)(void *data);
  void *close_data;
};

/* Runs the limiter and re-arms its timer. */
void edv__engine_pump(edv_engine *engine);
/* A call was freed: the engine may finish closing. */
void edv__engine_call_freed(edv_engine *engine);
/* Cancels every live call (engine close). */
void edv__call_cancel_all(edv_engine *engine);

/* ---- page.c --------------------------------------------------------------*/

/*
 * Returns a malloc'd copy of `path` with `name=value` appended (value
 * percent-encoded), using '?' or '&' as the path requires. NULL when out of
 * memory.
 */
char *edv__url_with_param(const char *path, const char *name,
                          const char *value);

/*
 * Walks an aggregatedList page: `items` maps a scope ("zones/us-central1-a")
 * to {<kind_key>: [...]} or {warning: ...}. Calls cb for every element of
 * every scope's list; a non-zero return stops and is returned.
 */
int edv__aggregated_foreach(json_object *page, const char *kind_key,
                            int (*cb)(void *data, const char *scope,
                                      json_object *item),
                            void *data);

#endif /* EDV_TRANSPORT_INT_H */
