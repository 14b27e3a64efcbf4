/*
 * edv/engine.h - the event-driven Google Cloud REST engine.
 *
 * One edv_engine lives on one libuv loop and owns everything a call needs:
 * the libcurl multi handle driven by the loop, the credentials and their
 * token cache, the per-API rate limiters, the retry policy and the endpoint
 * map. Every function here must be called from the loop's thread; none of
 * them blocks.
 *
 * Callback contract (as in libuv): when a function that takes a callback
 * returns non-zero, the callback will never run; when it returns 0, the
 * callback runs exactly once, always from the loop (never from inside the
 * call that registered it).
 */
#ifndef EDV_ENGINE_H
#define EDV_ENGINE_H

#include "edv/export.h"

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <uv.h>

#include "edv/config.h"
#include "edv/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Google Cloud APIs we call. Each has a default root, an optional
 * endpoint override, and its own rate-limit group(s). Never renumbered. */
typedef enum {
  EDV_API_COMPUTE = 0,  /* https://compute.googleapis.com */
  EDV_API_SQLADMIN = 1, /* https://sqladmin.googleapis.com */
  EDV_API_DNS = 2,      /* https://dns.googleapis.com */
  EDV_API_CERTIFICATEMANAGER =
      3,                         /* https://certificatemanager.googleapis.com */
  EDV_API_MONITORING = 4,        /* https://monitoring.googleapis.com */
  EDV_API_IAM = 5,               /* https://iam.googleapis.com */
  EDV_API_SECRETMANAGER = 6,     /* https://secretmanager.googleapis.com */
  EDV_API_SERVICENETWORKING = 7, /* https://servicenetworking.googleapis.com */
  EDV_API_OAUTH2 = 8,            /* token endpoints (never rate limited) */
  EDV_API_OTHER = 9,             /* absolute URLs outside the list */
  EDV_API_CLOUDRESOURCEMANAGER =
      10, /* https://cloudresourcemanager.googleapis.com */
  EDV_API__COUNT
} edv_api;

/* "compute", "sqladmin", ...: the name used in config keys and metrics. */
EDV_EXPORT const char *edv_api_name(edv_api api);

typedef struct edv_engine edv_engine;

/*
 * Creates an engine on `loop` from `cfg` (copied; the caller may free it).
 * Credentials are resolved lazily, on the first call that needs a token, in
 * Application Default Credentials order (see edv/auth.h). Returns NULL and
 * fills *err on a configuration error.
 */
EDV_EXPORT edv_engine *edv_engine_new(uv_loop_t *loop, const edv_config *cfg,
                                      edv_error *err);

/*
 * Cancels every call in flight (their callbacks run with EDV_ECANCELED),
 * closes the engine's handles and frees it once they are closed; close_cb
 * (may be NULL) runs after that, from the loop. The loop must keep running
 * until then. edv_engine_close(NULL, ...) does nothing.
 */
EDV_EXPORT void edv_engine_close(edv_engine *engine,
                                 void (*close_cb)(void *data), void *data);

/* The loop the engine runs on. */
EDV_EXPORT uv_loop_t *edv_engine_loop(const edv_engine *engine);

/* The project id: config `project`, else the credentials' project_id. */
EDV_EXPORT const char *edv_engine_project(const edv_engine *engine);

/*
 * The base URL requests of `api` go to, without a trailing slash: the
 * per-API override `endpoint.<api>`, else `endpoint`, else Google's root.
 */
EDV_EXPORT const char *edv_engine_endpoint(const edv_engine *engine,
                                           edv_api api);

/* ---- One REST call ---------------------------------------------------- */

/* Request flags. */
#define EDV_REQ_NOAUTH     0x01u /* send no Authorization header */
#define EDV_REQ_IDEMPOTENT 0x02u /* safe to repeat even though not a GET */
#define EDV_REQ_NORETRY    0x04u /* never retry, whatever the error */
#define EDV_REQ_RAWBODY    0x08u /* response body is not JSON; keep raw */

typedef struct edv_request {
  edv_api api;                /* endpoint and rate-limit group */
  const char *method;         /* "GET", "POST", "PUT", "PATCH", "DELETE" */
  const char *path;           /* "/compute/v1/projects/p/global/networks?x=y"
                                 (resolved against the API's endpoint) or an
                                 absolute http(s) URL */
  json_object *body;          /* JSON body (borrowed, serialised at submit), or
                                 NULL */
  const char *form;           /* application/x-www-form-urlencoded body instead
                                 of JSON, or NULL */
  const char *const *headers; /* extra "Name: value" headers, NULL-ended */
  unsigned flags;             /* EDV_REQ_* */
  uint64_t timeout_ms;        /* deadline for the whole call, retries
                                 included; 0 = config http.timeout_ms */
  const char *label;          /* short name for logs and errors, e.g.
                                 "compute.instances.insert"; may be NULL */
} edv_request;

typedef struct edv_response {
  int http_status;        /* final HTTP status, 0 if none was received */
  json_object *json;      /* parsed body, or NULL; borrowed: valid only
                             during the callback (json_object_get to keep) */
  const char *raw;        /* raw body (NUL-terminated), or NULL */
  size_t raw_len;         /* its length */
  const edv_error *error; /* NULL on success (2xx), else the typed error */
  unsigned attempts;      /* how many times the request was sent */
  uint64_t elapsed_ms;    /* from submit to completion */
} edv_response;

/* Looks up a response header (case-insensitive); NULL if absent. */
EDV_EXPORT const char *edv_response_header(const edv_response *res,
                                           const char *name);

typedef void (*edv_response_cb)(void *data, const edv_response *res);

typedef struct edv_call edv_call;

/*
 * Submits one call. It waits for a rate-limit token and a concurrency slot,
 * attaches a bearer token (unless EDV_REQ_NOAUTH), sends, and retries
 * transient failures with exponential backoff and full jitter within the
 * deadline. GET is always retried when transient; other methods only when
 * flagged EDV_REQ_IDEMPOTENT or when the URL carries `requestId=`. A 401 is
 * answered by one token refresh and one resend.
 *
 * `*callp` (may be NULL) receives a handle valid until the callback runs,
 * for edv_call_cancel().
 */
EDV_EXPORT int edv_call_submit(edv_engine *engine, const edv_request *req,
                               edv_response_cb cb, void *data,
                               edv_call **callp);

/*
 * Cancels a pending call; its callback runs with EDV_ECANCELED before
 * edv_call_cancel() returns (so the caller may free what the callback
 * uses right after). A call whose result is already being delivered is
 * left alone. Never pass a handle whose callback has run.
 */
EDV_EXPORT void edv_call_cancel(edv_call *call);

/* ---- Pagination ---------------------------------------------------------
 *
 * Follows nextPageToken. For every page, page_cb gets the parsed page;
 * returning non-zero from page_cb stops. done_cb runs once at the end with
 * the first error, or NULL. `path` may already carry a query string. */
typedef int (*edv_page_cb)(void *data, json_object *page);
typedef void (*edv_pages_done_cb)(void *data, const edv_error *err,
                                  unsigned pages);
EDV_EXPORT int edv_call_pages(edv_engine *engine, const edv_request *req,
                              edv_page_cb page_cb, edv_pages_done_cb done_cb,
                              void *data);

/* ---- Access tokens -----------------------------------------------------*/

typedef void (*edv_token_cb)(void *data, const char *token,
                             const edv_error *err);

/*
 * Gets a valid access token (cached, or refreshed with single flight).
 * The token string is valid only during the callback. Never log it.
 */
EDV_EXPORT int edv_engine_access_token(edv_engine *engine, edv_token_cb cb,
                                       void *data);

/* ---- Statistics ----------------------------------------------------------
 * Counters per API, for metrics and benchmarks. */
typedef struct edv_api_stats {
  uint64_t calls;          /* calls completed */
  uint64_t attempts;       /* HTTP requests sent (retries included) */
  uint64_t errors;         /* calls that completed with an error */
  uint64_t retries;        /* attempts beyond the first */
  uint64_t rate_limited;   /* 429 / 403 rateLimitExceeded received */
  uint64_t throttle_waits; /* times a call waited for a local token */
  uint64_t in_flight;      /* calls currently in flight */
  /* errors by the edv_code they ended with (index: the code) */
  uint64_t errors_by_code[EDV_ERR__LAST];
} edv_api_stats;

EDV_EXPORT void edv_engine_stats(const edv_engine *engine, edv_api api,
                                 edv_api_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* EDV_ENGINE_H */
