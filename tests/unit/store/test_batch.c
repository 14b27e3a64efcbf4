/*
 * test_batch.c - group commit: the intents queued in one loop turn are
 * committed in one transaction before any of their callbacks runs.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "store/batch.h"

enum { NITEMS = 20 };

typedef struct item {
  struct ctx *ctx;
  int index;
  char tenant[32];
  int done_calls;
  int result;
  int durable_seen; /* the step was visible to another connection in done */
} item;

typedef struct ctx {
  char dir[4096];
  char path[4200];
  uv_loop_t loop;
  uv_timer_t timer;
  edv_store *st;
  edv_store *reader; /* a second connection: sees only committed data */
  edv__store_batch *batch;
  item items[NITEMS + 1];
  int adds_done_sync; /* done ran inside add: must stay 0 */
  int followup_done;
  int closed;
} ctx;

static int apply_step(edv_store *st, void *data, edv_error *err)
{
  item *it = data;
  edv__step_rec s;

  memset(&s, 0, sizeof(s));
  snprintf(s.tenant, sizeof(s.tenant), "%s", it->tenant);
  snprintf(s.step, sizeof(s.step), "step%02d", it->index);
  s.state = EDV_STEP_INTENT;
  s.attempt = 1;
  snprintf(s.request_id, sizeof(s.request_id), "req-%d", it->index);
  return edv__store_step_put(st, &s, err);
}

static void done_step(void *data, int result, const edv_error *err)
{
  item *it = data;
  edv__step_rec s;
  char step[16];

  it->done_calls++;
  it->result = result;
  if (result) {
    assert_non_null(err);
    return;
  }
  /* Durable before the call goes out: another connection sees it. */
  snprintf(step, sizeof(step), "step%02d", it->index);
  it->durable_seen =
      edv__store_step_get(it->ctx->reader, it->tenant, step, &s, NULL) == 0;
}

static void followup_done(void *data, int result, const edv_error *err)
{
  ctx *c = data;

  (void)err;
  assert_int_equal(result, 0);
  c->followup_done++;
}

static int apply_nothing(edv_store *st, void *data, edv_error *err)
{
  (void)st;
  (void)data;
  (void)err;
  return 0;
}

/* Queues a follow-up from inside a done callback: next turn's batch. */
static void done_and_queue(void *data, int result, const edv_error *err)
{
  item *it = data;

  done_step(data, result, err);
  assert_int_equal(edv__store_batch_add(it->ctx->batch, apply_nothing,
                                        followup_done, it->ctx),
                   0);
}

static void on_timer(uv_timer_t *t)
{
  ctx *c = t->data;
  int i;

  for (i = 0; i <= NITEMS; i++) {
    item *it = &c->items[i];

    it->ctx = c;
    it->index = i;
    /* The last item names a tenant that does not exist: it alone fails. */
    snprintf(it->tenant, sizeof(it->tenant), "%s",
             i == NITEMS ? "nobody" : "school001");
    assert_int_equal(edv__store_batch_add(c->batch, apply_step,
                                          i == 0 ? done_and_queue : done_step,
                                          it),
                     0);
    if (it->done_calls)
      c->adds_done_sync++;
  }
  assert_int_equal(edv__store_batch_pending(c->batch), NITEMS + 1);
  /* Nothing is committed yet within this turn. */
  assert_int_equal(edv__store_batch_commits(c->batch), 0);
}

static void on_closed(void *data)
{
  ((ctx *)data)->closed = 1;
}

static void rm_dir(const char *dir)
{
  struct dirent *de;
  char p[4400];
  DIR *d = opendir(dir);

  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    unlink(p);
  }
  if (d)
    closedir(d);
  rmdir(dir);
}

static void test_group_commit(void **state)
{
  const char *root = getenv("EDV_BUILD_ROOT");
  edv__store_opts o;
  edv__tenant_rec r;
  edv_error err;
  ctx *c = calloc(1, sizeof(*c));
  int i;

  (void)state;
  assert_non_null(c);
  snprintf(c->dir, sizeof(c->dir), "%s/batch-test-XXXXXX", root ? root : ".");
  assert_non_null(mkdtemp(c->dir));
  snprintf(c->path, sizeof(c->path), "%s/edv.db", c->dir);
  memset(&o, 0, sizeof(o));
  o.path = c->path;
  o.synchronous_normal = 1;
  assert_int_equal(edv__store_open_sqlite(&o, &c->st, &err), 0);
  assert_int_equal(edv__store_open_sqlite(&o, &c->reader, &err), 0);
  memset(&r, 0, sizeof(r));
  snprintf(r.id, sizeof(r.id), "school001");
  snprintf(r.slug, sizeof(r.slug), "greenwood-high");
  snprintf(r.tier, sizeof(r.tier), "basic");
  snprintf(r.spec_json, sizeof(r.spec_json), "{}");
  assert_int_equal(edv__store_tenant_put(c->st, &r, EDV_PUT_CREATE, &err), 0);

  assert_int_equal(uv_loop_init(&c->loop), 0);
  c->batch = edv__store_batch_new(&c->loop, c->st);
  assert_non_null(c->batch);
  assert_int_equal(edv__store_batch_add(c->batch, NULL, done_step, NULL),
                   EDV_EINVAL);
  uv_timer_init(&c->loop, &c->timer);
  c->timer.data = c;
  uv_timer_start(&c->timer, on_timer, 1, 0);
  assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);

  assert_int_equal(c->adds_done_sync, 0);
  for (i = 0; i < NITEMS; i++) {
    assert_int_equal(c->items[i].done_calls, 1);
    assert_int_equal(c->items[i].result, 0);
    assert_true(c->items[i].durable_seen);
  }
  /* The bad item failed alone, with its own error. */
  assert_int_equal(c->items[NITEMS].done_calls, 1);
  assert_int_equal(c->items[NITEMS].result, EDV_ENOTFOUND);
  /* Twenty intents, one transaction; the follow-up queued from a done
   * callback went into a second one. */
  assert_int_equal(c->followup_done, 1);
  assert_int_equal(edv__store_batch_commits(c->batch), 2);
  assert_int_equal(edv__store_batch_pending(c->batch), 0);

  /* Closing flushes what is queued, then frees from the loop. */
  assert_int_equal(
      edv__store_batch_add(c->batch, apply_nothing, followup_done, c), 0);
  edv__store_batch_close(c->batch, on_closed, c);
  assert_int_equal(c->followup_done, 2);
  assert_int_equal(c->closed, 0);
  uv_close((uv_handle_t *)&c->timer, NULL);
  assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(c->closed, 1);
  assert_int_equal(uv_loop_close(&c->loop), 0);

  edv__store_close(c->reader);
  edv__store_close(c->st);
  rm_dir(c->dir);
  free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group_commit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
