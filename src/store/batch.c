/*
 * batch.c - group commit of the writes queued during one loop turn.
 */
#include <stdlib.h>

#include "store/batch.h"

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
  edv_store *store;
  batch_item *head;  /* queued items, in order */
  batch_item **tail; /* where the next item goes */
  size_t npending;
  unsigned long commits; /* transactions committed */
  int active;            /* check and idle started */
  int closing;           /* close requested: refuse new items */
  int open_handles;      /* handles not yet closed */
  void (*close_cb)(void *data);
  void *close_data;
};

#define BATCH_FROM(ptr, field)                                                 \
  ((edv__store_batch *)((char *)(ptr)-offsetof(edv__store_batch, field)))

static void batch_check_cb(uv_check_t *handle)
{
  edv__store_batch_flush(BATCH_FROM(handle, check));
}

static void batch_idle_cb(uv_idle_t *handle)
{
  (void)handle; /* only there so the loop does not sleep in poll */
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
  uv_check_init(loop, &b->check);
  uv_idle_init(loop, &b->idle);
  b->open_handles = 2;
  return b;
}

int edv__store_batch_add(edv__store_batch *b, edv__batch_apply_fn apply,
                         edv__batch_done_fn done, void *data)
{
  batch_item *it;

  if (!b || !apply || !done)
    return EDV_EINVAL;
  if (b->closing)
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
  if (!b->active) {
    uv_check_start(&b->check, batch_check_cb);
    uv_idle_start(&b->idle, batch_idle_cb);
    b->active = 1;
  }
  return 0;
}

/* Runs every apply of `list` in one transaction, each in a savepoint. */
static void batch_commit(edv__store_batch *b, batch_item *list)
{
  edv_error err;
  batch_item *it;
  int rc;

  rc = edv__store_begin(b->store, &err);
  for (it = list; it; it = it->next) {
    if (rc) {
      it->result = rc;
      it->err = err;
      continue;
    }
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
  }
  if (rc)
    return;
  rc = edv__store_commit(b->store, &err);
  if (rc) {
    /* Nothing is durable: every item that had succeeded now fails. */
    for (it = list; it; it = it->next)
      if (it->result == 0) {
        it->result = rc;
        it->err = err;
      }
    return;
  }
  b->commits++;
}

void edv__store_batch_flush(edv__store_batch *b)
{
  batch_item *list, *it, *next;

  if (!b || !b->head) {
    if (b && b->active) {
      uv_check_stop(&b->check);
      uv_idle_stop(&b->idle);
      b->active = 0;
    }
    return;
  }
  /* Detach first: done callbacks may queue items for the next turn. */
  list = b->head;
  b->head = NULL;
  b->tail = &b->head;
  b->npending = 0;
  batch_commit(b, list);
  for (it = list; it; it = next) {
    next = it->next;
    it->done(it->data, it->result, it->result ? &it->err : NULL);
    free(it);
  }
  if (!b->head && b->active) {
    uv_check_stop(&b->check);
    uv_idle_stop(&b->idle);
    b->active = 0;
  }
}

size_t edv__store_batch_pending(const edv__store_batch *b)
{
  return b ? b->npending : 0;
}

unsigned long edv__store_batch_commits(const edv__store_batch *b)
{
  return b ? b->commits : 0;
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

void edv__store_batch_close(edv__store_batch *b, void (*close_cb)(void *data),
                            void *data)
{
  if (!b || b->closing)
    return;
  /* Items queued by the final flush's callbacks are flushed too. */
  while (b->head)
    edv__store_batch_flush(b);
  b->closing = 1;
  b->close_cb = close_cb;
  b->close_data = data;
  b->check.data = b;
  b->idle.data = b;
  uv_close((uv_handle_t *)&b->check, batch_closed);
  uv_close((uv_handle_t *)&b->idle, batch_closed);
}
