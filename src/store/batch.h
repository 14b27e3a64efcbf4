/*
 * batch.h - group commit: the intents of one loop turn in one transaction.
 *
 * DESIGN.md section 5: before a step makes a mutating call, its intent
 * (step, attempt, requestId) must be durable; with many tenants stepping in
 * the same loop turn, one transaction (one fsync) per intent would make the
 * store the bottleneck. A batch collects the writes queued during a turn
 * and commits them together at the end of that turn, then tells each
 * writer that its intent is durable; only then does the writer send its
 * call.
 *
 * How the tenant engine uses it:
 *
 *   1. A step about to act calls edv__store_batch_add() with an `apply`
 *      function that writes its intent (edv__store_step_put(), a journal
 *      entry, ...) and a `done` callback that sends the HTTP call.
 *   2. At the end of the loop turn (a uv_check_t; a uv_idle_t keeps the
 *      loop from blocking in poll while writes are pending) the batch
 *      opens one write transaction, runs every `apply` inside its own
 *      savepoint (a failing apply is undone alone), and commits.
 *   3. Each `done` then runs with 0 (durable: go) or the error of its apply
 *      or of the commit (nothing of it is durable: do not send the call).
 *
 * Callback contract (libuv's): when edv__store_batch_add() returns non-zero
 * neither function ever runs; otherwise `apply` runs at most once and
 * `done` exactly once, from the loop, never inside edv__store_batch_add().
 * Writes added from inside a `done` go into the next turn's batch.
 *
 * The batch must be the only writer that opens transactions on its store
 * from the loop: a flush inside someone else's open transaction would only
 * release a savepoint, and nothing would be durable when `done` runs.
 */
#ifndef EDV_STORE_BATCH_H
#define EDV_STORE_BATCH_H

#include <uv.h>

#include "edv/error.h"
#include "store/store.h"

typedef struct edv__store_batch edv__store_batch;

/* Writes one item's rows; runs inside the batch's transaction. */
typedef int (*edv__batch_apply_fn)(edv_store *st, void *data, edv_error *err);
/* result 0: committed. Otherwise err says why (never NULL then). */
typedef void (*edv__batch_done_fn)(void *data, int result,
                                   const edv_error *err);

/* A batch on `loop` writing to `st` (which must outlive it). NULL on
 * ENOMEM or a bad argument. */
edv__store_batch *edv__store_batch_new(uv_loop_t *loop, edv_store *st);

/* Queues one item; see the contract above. EDV_EINVAL, EDV_ENOMEM, or
 * EDV_ECANCELED once the batch is closing. */
int edv__store_batch_add(edv__store_batch *b, edv__batch_apply_fn apply,
                         edv__batch_done_fn done, void *data);

/* Commits what is queued now (the check handle does this every turn). */
void edv__store_batch_flush(edv__store_batch *b);

/* Items queued and not yet committed. */
size_t edv__store_batch_pending(const edv__store_batch *b);

/* Transactions committed so far (for tests and metrics). */
unsigned long edv__store_batch_commits(const edv__store_batch *b);

/*
 * Flushes what is queued, closes the handles and frees the batch once they
 * are closed; close_cb (may be NULL) then runs from the loop.
 */
void edv__store_batch_close(edv__store_batch *b, void (*close_cb)(void *data),
                            void *data);

#endif /* EDV_STORE_BATCH_H */
