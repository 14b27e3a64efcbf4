/*
 * edv/ops.h - waiting for Google Cloud long-running operations.
 *
 * A mutating call returns an operation; the change is made only when the
 * operation is done, and a failure may surface only then. One waiter covers
 * the four shapes we meet:
 *
 *   EDV_OP_COMPUTE  kind "compute#operation" (zonal, regional or global):
 *                   POST .../operations/{op}/wait, repeated until DONE
 *                   (it may return early, even at once); GET polling with
 *                   backoff when the wait method is unavailable.
 *   EDV_OP_SQL      kind "sql#operation": GET polling until DONE.
 *   EDV_OP_DNS      kind "dns#change": GET .../changes/{id} until "done".
 *   EDV_OP_LRO      google.longrunning.Operation (Certificate Manager,
 *                   Service Networking): GET /v1/{name} until done: true.
 *
 * The poll URL comes from the operation's selfLink when it has one, with
 * the host replaced by the engine's endpoint for that API (so operations
 * from the simulator and from googleapis.com are handled alike), else from
 * its project/zone/region/name.
 *
 * A failed operation is reported as a typed edv_error: Compute's
 * error.errors[].code (RESOURCE_IN_USE_BY_ANOTHER_RESOURCE -> EDV_EINUSE,
 * QUOTA_EXCEEDED -> EDV_EQUOTA, ALREADY_EXISTS -> EDV_EEXIST, ...) with
 * httpErrorStatusCode, Cloud SQL's error.errors[] likewise, and
 * google.rpc.Status codes for google.longrunning (5 -> EDV_ENOTFOUND, 6 ->
 * EDV_EEXIST, ...). Anything unrecognised is EDV_EOPFAILED.
 *
 * Callback contract (as in libuv and edv/engine.h): when edv_op_wait()
 * returns non-zero the callback never runs; otherwise it runs exactly once,
 * from the loop, never from inside edv_op_wait() or edv_op_cancel().
 * Nothing here sleeps: delays are timers on the engine's loop.
 */
#ifndef EDV_OPS_H
#define EDV_OPS_H

#include "edv/export.h"

#include <stdint.h>

#include <json-c/json.h>

#include "edv/engine.h"
#include "edv/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shapes of long-running operation. Never renumbered. */
typedef enum {
  EDV_OP_UNKNOWN = 0, /* not an operation we recognise */
  EDV_OP_COMPUTE = 1, /* compute#operation */
  EDV_OP_SQL = 2,     /* sql#operation */
  EDV_OP_DNS = 3,     /* dns#change */
  EDV_OP_LRO = 4,     /* google.longrunning.Operation */
} edv_op_kind;

/* "compute", "sql", "dns", "lro", "unknown". */
EDV_EXPORT const char *edv_op_kind_name(edv_op_kind kind);

/*
 * The shape of `op`, from its `kind`, else from its fields (selfLink path,
 * zone/region, `done`, a name with "operations/"). EDV_OP_UNKNOWN for
 * anything else, including NULL and non-objects.
 */
EDV_EXPORT edv_op_kind edv_op_detect(json_object *op);

/* 1 when `op` (of shape `kind`) has finished, successfully or not. */
EDV_EXPORT int edv_op_is_done(edv_op_kind kind, json_object *op);

/*
 * The error a finished operation carries, as a typed edv_error. Returns 0
 * (and clears *err) when the operation holds no error, else the edv_code
 * it maps to. `where` in *err names the operation.
 */
EDV_EXPORT int edv_op_error(edv_op_kind kind, json_object *op, edv_error *err);

/* Called with edv_op_wait()'s `data` and the latest operation after every
 * poll that did not finish it: progress and status for a CLI or a journal.
 * Borrowed JSON. It may call edv_op_cancel(). */
typedef void (*edv_op_progress_cb)(void *data, json_object *op);

/*
 * Called once when the wait ends. `op` is the latest operation seen
 * (borrowed: json_object_get() to keep it); it is the finished operation
 * unless err says the wait itself failed. `err` is NULL when the
 * operation succeeded; otherwise it is the operation's own error, or
 * EDV_ETIMEDOUT (deadline passed), EDV_ECANCELED (edv_op_cancel() or the
 * engine closing), or the transport's error for a poll that failed for
 * good (e.g. ENOTFOUND when the operation is gone).
 */
typedef void (*edv_op_done_cb)(void *data, json_object *op,
                               const edv_error *err);

/* Options; a zeroed struct (or NULL) means all defaults. */
typedef struct edv_op_wait_opts {
  uint64_t deadline_ms;           /* give up after this long; 0 = 30 minutes */
  uint64_t poll_initial_ms;       /* first GET poll delay; 0 = 1000 */
  uint64_t poll_max_ms;           /* delays double up to this; 0 = 10000 */
  uint64_t call_timeout_ms;       /* deadline of one poll or wait call, capped
                                     by what is left of deadline_ms; 0 = 150000
                                     (Compute's wait holds up to ~2 min) */
  int no_compute_wait;            /* 1: poll Compute with GET, never /wait */
  const char *project;            /* project when the operation does not name
                                     one; NULL = the engine's project */
  const char *managed_zone;       /* DNS: the managed zone of the change (a
                                     dns#change names neither zone nor project);
                                     required for EDV_OP_DNS */
  edv_api lro_api;                /* google.longrunning: the API serving the
                                     operation. EDV_API_COMPUTE (0, the zero
                                     value) means infer from the name:
                                     "operations/..." -> servicenetworking,
                                     "projects/.../locations/..." ->
                                     certificatemanager */
  edv_op_progress_cb progress_cb; /* optional */
} edv_op_wait_opts;

typedef struct edv_op_waiter edv_op_waiter;

/*
 * Waits for `op`, the operation JSON a mutating call returned (borrowed;
 * the waiter keeps its own reference). An operation that is already done
 * completes on the next loop turn without a request. `*waiterp` (may be
 * NULL) receives a handle valid until the callback runs, for
 * edv_op_cancel(). Returns 0, or an edv_code (and fills *err, may be NULL)
 * when `op` is not a recognisable operation or lacks what its poll URL
 * needs (EDV_EINVAL), or when out of memory.
 *
 * Cancel (or let finish) every waiter before edv_engine_close().
 */
EDV_EXPORT int edv_op_wait(edv_engine *engine, json_object *op,
                           const edv_op_wait_opts *opts, edv_op_done_cb cb,
                           void *data, edv_op_waiter **waiterp, edv_error *err);

/*
 * Waits for an operation known only by name, e.g. one recorded before a
 * crash. `name` is the operation's selfLink, or its name, in which case
 * the rest comes from opts and these arguments: Compute uses `location`
 * as the zone ("europe-west1-b", or a zone URL), a region ("europe-west1",
 * or a region URL) or NULL for a global operation; SQL and LRO ignore
 * `location` (an LRO name is the full "projects/.../operations/x"); DNS
 * takes the change id as name and opts->managed_zone. Same contract as
 * edv_op_wait().
 */
EDV_EXPORT int edv_op_wait_name(edv_engine *engine, edv_op_kind kind,
                                const char *name, const char *location,
                                const edv_op_wait_opts *opts, edv_op_done_cb cb,
                                void *data, edv_op_waiter **waiterp,
                                edv_error *err);

/*
 * Stops waiting: the callback runs later, from the loop, with
 * EDV_ECANCELED (unless the wait had already ended and its callback is
 * queued, in which case it runs with that result). The operation itself
 * keeps running in the cloud. NULL does nothing.
 */
EDV_EXPORT void edv_op_cancel(edv_op_waiter *waiter);

#ifdef __cplusplus
}
#endif
#endif /* EDV_OPS_H */
