/*
 * batch.h - group commit: the intents of one loop turn in one transaction.
 *
 * docs/architecture.md, "The tenant machine": before a step makes a mutating
 * call, its intent (step, attempt, requestId) must be durable; with many
 * tenants stepping in the same loop turn, one transaction (one fsync) per
 * intent would make the store the bottleneck. A batch collects the writes
 * queued during a turn and commits them together at the end of that turn, then
 * tells each writer that its intent is durable; only then does the writer send
 * its call.
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
 * Order. Items become durable in the order they were queued: one flush
 * commits a prefix of the queue in one transaction, so an item is never
 * durable before an item queued ahead of it (a tenant's READY, queued
 * after its last step records, commits with them or after them, never
 * alone before them). A writer that must not proceed past a failed write
 * waits for its own `done`.
 *
 * A locked database (another process, e.g. edvctl beside edvd, holds the
 * write lock longer than the store's short busy timeout) never blocks the
 * loop: the whole transaction is rolled back and retried from a uv timer
 * with capped exponential backoff (5 ms doubling to 500 ms by default), the
 * queue kept in order, items queued meanwhile appended behind it. Only
 * when the database stays locked past the retry deadline (30 s by default)
 * does every waiting item fail with EDV_EBUSY. Any other failure of the
 * commit fails every item of the transaction with the commit's error.
 *
 * The batch must be the only writer that opens transactions on its store
 * from the loop: a flush inside someone else's open transaction would only
 * release a savepoint, and nothing would be durable when `done` runs.
 */
#ifndef EDV_STORE_BATCH_H
#define EDV_STORE_BATCH_H

#include <stdint.h>

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

/* Commits what is queued now (the check handle does this every turn);
 * a no-op while a busy retry is armed (its timer commits). */
void edv__store_batch_flush(edv__store_batch *b);

/*
 * Busy retry policy: first delay, cap of the doubling delay, and how long
 * a locked database is retried before the waiting items fail (all in ms;
 * 0 keeps the current value). Defaults 5, 500 and 30000.
 */
void edv__store_batch_set_retry(edv__store_batch *b, uint64_t first_ms,
                                uint64_t max_ms, uint64_t deadline_ms);

/* Items queued and not yet committed (including those waiting for a busy
 * retry). */
size_t edv__store_batch_pending(const edv__store_batch *b);

/* Transactions committed so far (for tests and metrics). */
unsigned long edv__store_batch_commits(const edv__store_batch *b);

/* Flushes that met a locked database and were scheduled again. */
unsigned long edv__store_batch_busy_retries(const edv__store_batch *b);

/*
 * Flushes what is queued (items queued by the last callbacks too; a busy
 * retry in progress goes on from its timer until it commits or reaches its
 * deadline), closes the handles and frees the batch once they are closed;
 * close_cb (may be NULL) then runs from the loop.
 */
void edv__store_batch_close(edv__store_batch *b, void (*close_cb)(void *data),
                            void *data);

#endif /* EDV_STORE_BATCH_H */
