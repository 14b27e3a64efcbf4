/*
 * edv/error.h - the one error type of libedv.
 *
 * Every failure the library reports, whether it came from a Google Cloud API
 * (HTTP error envelope or a failed long-running operation), from the
 * transport, from a key file or from our own validation, is an edv_error.
 * Callers branch on `code` (and, where they must, on `reason`), never on the
 * message text.
 *
 * Codes are generated from one X-macro so that the enum, edv_err_name() and
 * edv_strerror() cannot drift apart. Values are never renumbered.
 */
#ifndef EDV_ERROR_H
#define EDV_ERROR_H

#include "edv/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* XX(name, number, message) */
#define EDV_ERRNO_MAP(XX)                                                      \
  XX(OK, 0, "success")                                                         \
  XX(EINVAL, 1, "invalid argument")                                            \
  XX(ENOTFOUND, 2, "resource not found")                                       \
  XX(EEXIST, 3, "resource already exists")                                     \
  XX(EPRECONDITION, 4, "precondition failed")                                  \
  XX(EPERM, 5, "permission denied")                                            \
  XX(EUNAUTH, 6, "unauthenticated")                                            \
  XX(EQUOTA, 7, "quota exceeded")                                              \
  XX(ERATELIMIT, 8, "rate limit exceeded")                                     \
  XX(EUNAVAIL, 9, "service unavailable")                                       \
  XX(EINTERNAL, 10, "internal server error")                                   \
  XX(ETIMEDOUT, 11, "deadline exceeded")                                       \
  XX(ECONN, 12, "connection failed")                                           \
  XX(EINUSE, 13, "resource in use by another resource")                        \
  XX(ENOTREADY, 14, "resource not ready")                                      \
  XX(EOPINPROGRESS, 15, "another operation is in progress")                    \
  XX(EABORTED, 16, "aborted (concurrent modification)")                        \
  XX(ECANCELED, 17, "operation canceled")                                      \
  XX(ENOMEM, 18, "out of memory")                                              \
  XX(EIO, 19, "input/output error")                                            \
  XX(EPROTO, 20, "malformed response from the server")                         \
  XX(ECRED, 21, "credentials are missing or invalid")                          \
  XX(ECONFIG, 22, "invalid configuration")                                     \
  XX(EOPFAILED, 23, "long-running operation failed")                           \
  XX(ECONFLICT, 24, "conflict with the current state")                         \
  XX(ENOTOWNED, 25, "resource exists but is not managed by edv")               \
  XX(EBUSY, 26, "resource is busy (lease held by another driver)")             \
  XX(EHTTP, 27, "unexpected HTTP status")

typedef enum {
#define EDV__ERR_ENUM(name, num, msg) EDV_##name = num,
  EDV_ERRNO_MAP(EDV__ERR_ENUM)
#undef EDV__ERR_ENUM
      EDV_ERR__LAST /* never use: only marks the end of the list */
} edv_code;

/*
 * An error with its detail. Plain data: copy it freely. Strings are always
 * NUL-terminated and may be truncated. Nothing secret is ever stored here
 * (the transport strips tokens and keys before filling it).
 */
typedef struct edv_error {
  edv_code code;     /* what kind of failure: branch on this */
  int http_status;   /* HTTP status of the failing response, 0 if none */
  char status[40];   /* google.rpc.Code name ("NOT_FOUND"), or "" */
  char reason[64];   /* errors[0].reason or ErrorInfo.reason, or "" */
  char message[512]; /* human-readable detail, first sentence first */
  char where[160];   /* what failed: "POST compute.instances.insert", a
                        file name and field, ... or "" */
} edv_error;

/* "ENOTFOUND"; "UNKNOWN" for values outside the enum. */
EDV_EXPORT const char *edv_err_name(edv_code code);

/* "resource not found"; "unknown error" for values outside the enum. */
EDV_EXPORT const char *edv_strerror(edv_code code);

/* Clears *err to EDV_OK with empty strings. */
EDV_EXPORT void edv_error_clear(edv_error *err);

/*
 * Sets *err (when err is not NULL) to `code` with a printf-style message;
 * returns `code` so callers can write `return edv_error_set(...)`.
 */
EDV_EXPORT edv_code edv_error_set(edv_error *err, edv_code code,
                                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * Formats the error on one line into buf: "ENOTFOUND (404 notFound): The
 * resource '...' was not found [GET compute.instances.get]". Returns buf.
 */
EDV_EXPORT char *edv_error_format(const edv_error *err, char *buf,
                                  unsigned long size);

/*
 * Returns 1 when a call that failed with this error may be retried as is
 * (transient: unavailable, rate limited, connection failure, operation in
 * progress), 0 otherwise. Whether a particular request is safe to repeat is
 * a separate question the transport answers (idempotency, requestId).
 */
EDV_EXPORT int edv_error_is_transient(const edv_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EDV_ERROR_H */
