/*
 * batch.c - group commit of the writes queued during one loop turn.
 *
 * The queue is a FIFO. A flush detaches all of it and commits it in one
 * transaction; when the database is locked by another process the
 * transaction is rolled back, the detached list goes back to the front of
 * the queue (ahead of anything queued meanwhile) and a timer retries with
 * backoff, so the order in which items become durable is always the order
 * in which they were queued, and the loop never waits for the lock longer
 * than the store's busy timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/batch.h"

#define BATCH_RETRY_FIRST_MS    5
#define BATCH_RETRY_MAX_MS      500
#define BATCH_RETRY_DEADLINE_MS 30000

typedef struct batch_item {
  struct batch_item *next;
  edv__batch_apply_fn apply;
  edv__batch_done_fn done;
  void *data;
  int result;    /* of apply, then of the commit */
  edv_error err; /* detail when result != 0 */
} batch_item;

struct edv__store_batch {
  uv_check_t check; /* flushes at the end of each turn */
  uv_idle_t idle;   /* keeps poll from blocking while items wait */
  uv_timer_t retry; /* the next attempt after a locked database */
  edv_store *store;
  batch_item *head;  /* queued items, in order */
  batch_item **tail; /* where the next item goes */
  size_t npending;
  unsigned long commits;                  /* transactions committed */
  unsigned long busy_retries;             /* flushes rescheduled for a lock */
  uint64_t first_ms, max_ms, deadline_ms; /* busy retry policy */
  uint64_t delay_ms;                      /* the next retry's delay */
  uint64_t busy_since; /* uv_now() of the first locked attempt, 0: none */
  edv_error lock_err;  /* the last lock met (its `where` names the store) */
  int active;          /* check and idle started */
  int retrying;        /* the retry timer is armed */
  int closing;         /* close requested */
  int shut;            /* handles closing: refuse new items */
  int open_handles;    /* handles not yet closed */
  void (*close_cb)(void *data);
  void *close_data;
};

#define BATCH_FROM(ptr, field)                                                 \
  ((edv__store_batch *)((char *)(ptr)-offsetof(edv__store_batch, field)))

/* What batch_commit() did with the list. */
enum { BATCH_DONE = 0, BATCH_LOCKED = 1 };

static void batch_maybe_shut(edv__store_batch *b);

static void batch_check_cb(uv_check_t *handle)
{
  edv__store_batch_flush(BATCH_FROM(handle, check));
}

static void batch_idle_cb(uv_idle_t *handle)
{
  (void)handle; /* only there so the loop does not sleep in poll */
}

static void batch_retry_cb(uv_timer_t *handle)
{
  edv__store_batch *b = BATCH_FROM(handle, retry);

  b->retrying = 0;
  edv__store_batch_flush(b);
}

/* Starts the per-turn flush when items wait and no retry is armed. */
static void batch_arm(edv__store_batch *b)
{
  if (b->head && !b->retrying && !b->active) {
    uv_check_start(&b->check, batch_check_cb);
    uv_idle_start(&b->idle, batch_idle_cb);
    b->active = 1;
  }
}

static void batch_disarm(edv__store_batch *b)
{
  if (b->active) {
    uv_check_stop(&b->check);
    uv_idle_stop(&b->idle);
    b->active = 0;
  }
}

edv__store_batch *edv__store_batch_new(uv_loop_t *loop, edv_store *st)
{
  edv__store_batch *b;

  if (!loop || !st)
    return NULL;
  b = calloc(1, sizeof(*b));
  if (!b)
    return NULL;
  b->store = st;
  b->tail = &b->head;
  b->first_ms = BATCH_RETRY_FIRST_MS;
  b->max_ms = BATCH_RETRY_MAX_MS;
  b->deadline_ms = BATCH_RETRY_DEADLINE_MS;
  b->delay_ms = b->first_ms;
  uv_check_init(loop, &b->check);
  uv_idle_init(loop, &b->idle);
  uv_timer_init(loop, &b->retry);
  b->check.data = b;
  b->idle.data = b;
  b->retry.data = b;
  b->open_handles = 3;
  return b;
}

void edv__store_batch_set_retry(edv__store_batch *b, uint64_t first_ms,
                                uint64_t max_ms, uint64_t deadline_ms)
{
  if (!b)
    return;
  if (first_ms)
    b->first_ms = first_ms;
  if (max_ms)
    b->max_ms = max_ms;
  if (deadline_ms)
    b->deadline_ms = deadline_ms;
  if (b->max_ms < b->first_ms)
    b->max_ms = b->first_ms;
  if (!b->busy_since)
    b->delay_ms = b->first_ms;
}

int edv__store_batch_add(edv__store_batch *b, edv__batch_apply_fn apply,
                         edv__batch_done_fn done, void *data)
{
  batch_item *it;

  if (!b || !apply || !done)
    return EDV_EINVAL;
  if (b->shut)
    return EDV_ECANCELED;
  it = calloc(1, sizeof(*it));
  if (!it)
    return EDV_ENOMEM;
  it->apply = apply;
  it->done = done;
  it->data = data;
  *b->tail = it;
  b->tail = &it->next;
  b->npending++;
  batch_arm(b);
  return 0;
}

/* A lock held by another connection (not, say, a lease held by another
 * holder, which an apply may also report as EDV_EBUSY). */
static int batch_locked(edv__store_batch *b, int rc, const edv_error *err)
{
  if (rc == EDV_EBUSY && strcmp(err->where, "sqlite") == 0) {
    b->lock_err = *err;
    return 1;
  }
  return 0;
}

/*
 * Runs every apply of `list` in one transaction, each in a savepoint, and
 * commits. BATCH_LOCKED: the database was locked; everything is rolled
 * back and no item's result means anything. BATCH_DONE: each item's
 * result and err say how it went.
 */
static int batch_commit(edv__store_batch *b, batch_item *list)
{
  edv_error err;
  batch_item *it;
  int rc;

  edv_error_clear(&err);
  for (it = list; it; it = it->next) {
    it->result = 0;
    edv_error_clear(&it->err);
  }
  rc = edv__store_begin(b->store, &err);
  if (batch_locked(b, rc, &err))
    return BATCH_LOCKED;
  if (rc) {
    for (it = list; it; it = it->next) {
      it->result = rc;
      it->err = err;
    }
    return BATCH_DONE;
  }
  for (it = list; it; it = it->next) {
    it->result = edv__store_begin(b->store, &it->err);
    if (it->result == 0) {
      it->result = it->apply(b->store, it->data, &it->err);
      if (it->result) {
        if (it->err.code == EDV_OK) /* apply forgot to fill it */
          edv_error_set(&it->err, (edv_code)it->result, "store batch item");
        edv__store_rollback(b->store, NULL);
      } else {
        it->result = edv__store_commit(b->store, &it->err);
      }
    }
    if (batch_locked(b, it->result, &it->err)) {
      edv__store_rollback(b->store, NULL);
      return BATCH_LOCKED;
    }
  }
  rc = edv__store_commit(b->store, &err);
  if (batch_locked(b, rc, &err))
    return BATCH_LOCKED; /* the commit rolled the transaction back */
  if (rc) {
    /* Nothing is durable: every item that had succeeded now fails. */
    for (it = list; it; it = it->next)
      if (it->result == 0) {
        it->result = rc;
        it->err = err;
      }
    return BATCH_DONE;
  }
  b->commits++;
  return BATCH_DONE;
}

/* Puts a detached list back at the front of the queue. */
static void batch_requeue(edv__store_batch *b, batch_item *list)
{
  batch_item *last = list;
  size_t n = 1;

  while (last->next) {
    last = last->next;
    n++;
  }
  last->next = b->head;
  if (!b->head)
    b->tail = &last->next;
  b->head = list;
  b->npending += n;
}

/* The database stayed locked past the deadline: every item fails (with
 * the lock's `where`, so callers can tell it from a lease held). */
static void batch_fail_locked(edv__store_batch *b, batch_item *list,
                              uint64_t waited_ms)
{
  for (batch_item *it = list; it; it = it->next) {
    edv_error_set(&it->err, EDV_EBUSY,
                  "store: the database stayed locked by another process "
                  "for %llu ms; nothing of this write was saved",
                  (unsigned long long)waited_ms);
    snprintf(it->err.where, sizeof(it->err.where), "%s", b->lock_err.where);
    it->result = EDV_EBUSY;
  }
}

void edv__store_batch_flush(edv__store_batch *b)
{
  batch_item *list, *it, *next;
  uv_loop_t *loop;
  uint64_t now;

  if (!b || b->retrying)
    return; /* a busy retry is armed: its timer flushes */
  if (!b->head) {
    batch_disarm(b);
    batch_maybe_shut(b);
    return;
  }
  loop = b->check.loop;
  /* Detach first: done callbacks may queue items for the next turn. */
  list = b->head;
  b->head = NULL;
  b->tail = &b->head;
  b->npending = 0;
  if (batch_commit(b, list) == BATCH_LOCKED) {
    uv_update_time(loop);
    now = uv_now(loop);
    if (!b->busy_since)
      b->busy_since = now ? now : 1;
    if (now - b->busy_since < b->deadline_ms) {
      /* Retry later, in order, without blocking the loop. */
      batch_requeue(b, list);
      batch_disarm(b);
      b->retrying = 1;
      b->busy_retries++;
      uv_timer_start(&b->retry, batch_retry_cb, b->delay_ms, 0);
      b->delay_ms = b->delay_ms * 2 < b->max_ms ? b->delay_ms * 2 : b->max_ms;
      return;
    }
    batch_fail_locked(b, list, now - b->busy_since);
  }
  b->busy_since = 0;
  b->delay_ms = b->first_ms;
  for (it = list; it; it = next) {
    next = it->next;
    it->done(it->data, it->result, it->result ? &it->err : NULL);
    free(it);
  }
  if (b->head)
    batch_arm(b);
  else
    batch_disarm(b);
  batch_maybe_shut(b);
}

size_t edv__store_batch_pending(const edv__store_batch *b)
{
  return b ? b->npending : 0;
}

unsigned long edv__store_batch_commits(const edv__store_batch *b)
{
  return b ? b->commits : 0;
}

unsigned long edv__store_batch_busy_retries(const edv__store_batch *b)
{
  return b ? b->busy_retries : 0;
}

static void batch_closed(uv_handle_t *handle)
{
  edv__store_batch *b = handle->data;

  if (--b->open_handles == 0) {
    if (b->close_cb)
      b->close_cb(b->close_data);
    free(b);
  }
}

/* Closes the handles once closing was asked and nothing is left. */
static void batch_maybe_shut(edv__store_batch *b)
{
  if (!b->closing || b->shut || b->head || b->retrying)
    return;
  b->shut = 1;
  batch_disarm(b);
  uv_close((uv_handle_t *)&b->check, batch_closed);
  uv_close((uv_handle_t *)&b->idle, batch_closed);
  uv_close((uv_handle_t *)&b->retry, batch_closed);
}

void edv__store_batch_close(edv__store_batch *b, void (*close_cb)(void *data),
                            void *data)
{
  if (!b || b->closing)
    return;
  b->closing = 1;
  b->close_cb = close_cb;
  b->close_data = data;
  /* Items queued by the final flush's callbacks are flushed too; a lock
   * leaves the rest to the retry timer. */
  while (b->head && !b->retrying)
    edv__store_batch_flush(b);
  batch_maybe_shut(b);
}
