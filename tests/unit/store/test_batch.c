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
  const char *root =
      getenv("EDV_BUILD_ROOT") ? getenv("EDV_BUILD_ROOT") : getenv("TMPDIR");
  edv__store_opts o;
  edv__tenant_rec r;
  edv_error err;
  ctx *c = calloc(1, sizeof(*c));
  int i;

  (void)state;
  assert_non_null(c);
  snprintf(c->dir, sizeof(c->dir), "%s/batch-test-XXXXXX",
           root ? root : "/tmp");
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

/* ---- order and busy retry ------------------------------------------------
 *
 * A second connection holds the write lock while the batch has work: the
 * loop must keep turning (a 5 ms ticker measures its longest stall), the
 * writes must become durable in the order they were queued once the lock
 * is gone, and a phase write queued after step writes must never be
 * visible (to a third connection) before them.
 */

enum { NSTEPS = 6 };

typedef struct octx {
  char dir[4096], path[4200];
  uv_loop_t loop;
  uv_timer_t start, ticker, release;
  edv_store *st, *locker, *reader;
  edv__store_batch *batch;
  uint64_t hold_ms;     /* how long the locker holds the lock */
  uint64_t released_at; /* uv_now() when the locker committed */
  uint64_t last_tick, max_gap;
  unsigned ticks;
  int order[NSTEPS + 2]; /* done callbacks, in call order */
  int results[NSTEPS + 2];
  char errors[NSTEPS + 2][600];
  int ndone;
  int late_queued;      /* the item queued while the retry waited */
  int phase_early;      /* READY seen before every step record */
  int steps_at_phase;   /* step records visible when READY's done ran */
  uint64_t done_at_min; /* earliest done callback */
} octx;

typedef struct oitem {
  octx *c;
  int index; /* 0..NSTEPS-1 steps, NSTEPS the phase, NSTEPS+1 the late one */
} oitem;

static oitem oitems[NSTEPS + 2];

static int visible_steps(edv_store *reader)
{
  edv__step_rec s;
  char step[16];
  int n = 0;

  for (int i = 0; i < NSTEPS; i++) {
    snprintf(step, sizeof(step), "step%02d", i);
    n += edv__store_step_get(reader, "school001", step, &s, NULL) == 0 &&
         s.state == EDV_STEP_DONE;
  }
  return n;
}

static int visible_ready(edv_store *reader)
{
  edv__tenant_rec r;

  return edv__store_tenant_get(reader, "school001", &r, NULL) == 0 &&
         r.phase == EDV_PHASE_READY;
}

static int apply_done_step(edv_store *st, void *data, edv_error *err)
{
  oitem *it = data;
  edv__step_rec s;

  memset(&s, 0, sizeof(s));
  snprintf(s.tenant, sizeof(s.tenant), "school001");
  snprintf(s.step, sizeof(s.step), "step%02d", it->index);
  s.state = EDV_STEP_DONE;
  s.attempt = 1;
  return edv__store_step_put(st, &s, err);
}

static int apply_ready(edv_store *st, void *data, edv_error *err)
{
  edv__tenant_rec r;

  (void)data;
  if (edv__store_tenant_get(st, "school001", &r, err))
    return err->code;
  r.phase = EDV_PHASE_READY;
  return edv__store_tenant_put(st, &r, EDV_PUT_UPDATE, err);
}

static int apply_journal(edv_store *st, void *data, edv_error *err)
{
  edv__journal_rec j;

  (void)data;
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "school001");
  snprintf(j.event, sizeof(j.event), "late");
  return edv__store_journal_append(st, &j, NULL, err);
}

static void odone(void *data, int result, const edv_error *err)
{
  oitem *it = data;
  octx *c = it->c;
  uint64_t now = uv_now(&c->loop);

  if (!c->done_at_min || now < c->done_at_min)
    c->done_at_min = now;
  c->results[it->index] = result;
  if (result) {
    assert_non_null(err);
    snprintf(c->errors[it->index], sizeof(c->errors[0]), "%s", err->message);
  }
  if (it->index == NSTEPS)
    c->steps_at_phase = visible_steps(c->reader);
  c->order[c->ndone++] = it->index;
}

static void on_tick(uv_timer_t *t)
{
  octx *c = t->data;
  uint64_t now = uv_now(&c->loop);

  if (c->last_tick && now - c->last_tick > c->max_gap)
    c->max_gap = now - c->last_tick;
  c->last_tick = now;
  c->ticks++;
  /* The invariant, checked by another connection all along. */
  if (visible_ready(c->reader) && visible_steps(c->reader) < NSTEPS)
    c->phase_early = 1;
  /* While the retry waits: a late item goes behind the waiting ones. */
  if (!c->late_queued && edv__store_batch_busy_retries(c->batch) > 0) {
    oitems[NSTEPS + 1].c = c;
    oitems[NSTEPS + 1].index = NSTEPS + 1;
    assert_int_equal(edv__store_batch_add(c->batch, apply_journal, odone,
                                          &oitems[NSTEPS + 1]),
                     0);
    c->late_queued = 1;
  }
  if (c->ndone == NSTEPS + 2 || (c->released_at && now - c->released_at > 5000))
    uv_timer_stop(t);
}

static void on_release(uv_timer_t *t)
{
  octx *c = t->data;
  edv_error err;

  assert_int_equal(edv__store_commit(c->locker, &err), 0);
  c->released_at = uv_now(&c->loop);
}

static void on_start(uv_timer_t *t)
{
  octx *c = t->data;
  edv__journal_rec j;
  edv_error err;

  /* Another process takes the write lock and keeps it for a while. */
  assert_int_equal(edv__store_begin(c->locker, &err), 0);
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "school001");
  snprintf(j.event, sizeof(j.event), "edvctl");
  assert_int_equal(edv__store_journal_append(c->locker, &j, NULL, &err), 0);
  for (int i = 0; i <= NSTEPS; i++) {
    oitems[i].c = c;
    oitems[i].index = i;
    assert_int_equal(edv__store_batch_add(
                         c->batch, i < NSTEPS ? apply_done_step : apply_ready,
                         odone, &oitems[i]),
                     0);
  }
  uv_timer_start(&c->release, on_release, c->hold_ms, 0);
  uv_timer_start(&c->ticker, on_tick, 5, 5);
}

static void octx_open(octx *c, uint64_t hold_ms)
{
  const char *root =
      getenv("EDV_BUILD_ROOT") ? getenv("EDV_BUILD_ROOT") : getenv("TMPDIR");
  edv__store_opts o;
  edv__tenant_rec r;
  edv_error err;

  memset(c, 0, sizeof(*c));
  c->hold_ms = hold_ms;
  snprintf(c->dir, sizeof(c->dir), "%s/batch-test-XXXXXX",
           root ? root : "/tmp");
  assert_non_null(mkdtemp(c->dir));
  snprintf(c->path, sizeof(c->path), "%s/edv.db", c->dir);
  memset(&o, 0, sizeof(o));
  o.path = c->path;
  o.synchronous_normal = 1;
  o.busy_timeout_ms = 10;
  assert_int_equal(edv__store_open_sqlite(&o, &c->st, &err), 0);
  assert_int_equal(edv__store_open_sqlite(&o, &c->locker, &err), 0);
  assert_int_equal(edv__store_open_sqlite(&o, &c->reader, &err), 0);
  memset(&r, 0, sizeof(r));
  snprintf(r.id, sizeof(r.id), "school001");
  snprintf(r.slug, sizeof(r.slug), "greenwood-high");
  snprintf(r.tier, sizeof(r.tier), "basic");
  snprintf(r.spec_json, sizeof(r.spec_json), "{}");
  r.phase = EDV_PHASE_PROVISIONING;
  assert_int_equal(edv__store_tenant_put(c->st, &r, EDV_PUT_CREATE, &err), 0);
  assert_int_equal(uv_loop_init(&c->loop), 0);
  c->batch = edv__store_batch_new(&c->loop, c->st);
  assert_non_null(c->batch);
  uv_timer_init(&c->loop, &c->start);
  uv_timer_init(&c->loop, &c->ticker);
  uv_timer_init(&c->loop, &c->release);
  c->start.data = c->ticker.data = c->release.data = c;
}

static void octx_close(octx *c)
{
  edv__store_batch_close(c->batch, NULL, NULL);
  uv_close((uv_handle_t *)&c->start, NULL);
  uv_close((uv_handle_t *)&c->ticker, NULL);
  uv_close((uv_handle_t *)&c->release, NULL);
  assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&c->loop), 0);
  edv__store_close(c->reader);
  edv__store_close(c->locker);
  edv__store_close(c->st);
  rm_dir(c->dir);
}

static void test_busy_retry_in_order(void **state)
{
  octx *c = calloc(1, sizeof(*c));

  (void)state;
  assert_non_null(c);
  octx_open(c, 300);
  uv_timer_start(&c->start, on_start, 1, 0);
  assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);

  /* Everything committed, and only after the lock was released. */
  assert_int_equal(c->ndone, NSTEPS + 2);
  for (int i = 0; i < NSTEPS + 2; i++)
    assert_int_equal(c->results[i], 0);
  assert_true(c->released_at > 0);
  assert_true(c->done_at_min >= c->released_at);
  assert_true(edv__store_batch_busy_retries(c->batch) >= 2);
  /* In queue order: the steps, then the phase, then the late item. */
  for (int i = 0; i < NSTEPS + 2; i++)
    assert_int_equal(c->order[i], i);
  assert_int_equal(c->steps_at_phase, NSTEPS);
  assert_false(c->phase_early);
  assert_true(visible_ready(c->reader));
  /* The loop kept turning while the lock was held (300 ms): each attempt
   * waits at most the 10 ms busy timeout. */
  assert_true(c->ticks >= 10);
  if (c->max_gap >= 150)
    fail_msg("the loop stalled for %llu ms", (unsigned long long)c->max_gap);
  octx_close(c);
  free(c);
}

/* The lock outlives the retry deadline: every waiting item fails with
 * EDV_EBUSY (the caller learns that nothing was saved), nothing is
 * visible, and the batch works again afterwards. */
static void test_busy_deadline(void **state)
{
  octx *c = calloc(1, sizeof(*c));

  (void)state;
  assert_non_null(c);
  octx_open(c, 600);
  edv__store_batch_set_retry(c->batch, 5, 40, 200);
  uv_timer_start(&c->start, on_start, 1, 0);
  assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(c->ndone, NSTEPS + 2);
  for (int i = 0; i < NSTEPS + 2; i++) {
    assert_int_equal(c->results[i], EDV_EBUSY);
    assert_non_null(strstr(c->errors[i], "locked"));
  }
  assert_true(c->done_at_min < c->released_at);
  assert_int_equal(visible_steps(c->reader), 0);
  assert_false(visible_ready(c->reader));
  if (c->max_gap >= 150)
    fail_msg("the loop stalled for %llu ms", (unsigned long long)c->max_gap);

  /* The lock is gone: the same writes now go through. */
  c->ndone = 0;
  for (int i = 0; i <= NSTEPS; i++)
    assert_int_equal(edv__store_batch_add(
                         c->batch, i < NSTEPS ? apply_done_step : apply_ready,
                         odone, &oitems[i]),
                     0);
  assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(c->ndone, NSTEPS + 1);
  for (int i = 0; i <= NSTEPS; i++)
    assert_int_equal(c->results[i], 0);
  assert_int_equal(c->steps_at_phase, NSTEPS);
  octx_close(c);
  free(c);
}

/* ---- a failing commit ----------------------------------------------------
 *
 * A store whose COMMIT fails (what a full disk or an I/O error does): a
 * thin backend that forwards to the SQLite one and fails the outermost
 * commit on request. Every item of that transaction must learn it, and
 * nothing of it may be visible.
 */

typedef struct fstore {
  edv_store base;
  edv_store *real;
  int depth;
  int fail_commits; /* outermost commits still to fail */
} fstore;

#define FS(st) ((fstore *)(st))

static void fs_close(edv_store *st)
{
  (void)st;
}

static int fs_begin(edv_store *st, edv_error *err)
{
  int rc = edv__store_begin(FS(st)->real, err);

  if (rc == 0)
    FS(st)->depth++;
  return rc;
}

static int fs_commit(edv_store *st, edv_error *err)
{
  fstore *f = FS(st);

  if (f->depth == 1 && f->fail_commits > 0) {
    f->fail_commits--;
    f->depth = 0;
    edv__store_rollback(f->real, NULL);
    return edv_error_set(err, EDV_EIO, "store: commit: disk I/O error");
  }
  f->depth--;
  return edv__store_commit(f->real, err);
}

static int fs_rollback(edv_store *st, edv_error *err)
{
  FS(st)->depth--;
  return edv__store_rollback(FS(st)->real, err);
}

static int fs_step_put(edv_store *st, const edv__step_rec *rec, edv_error *err)
{
  return edv__store_step_put(FS(st)->real, rec, err);
}

static int fs_tenant_get(edv_store *st, const char *id, edv__tenant_rec *out,
                         edv_error *err)
{
  return edv__store_tenant_get(FS(st)->real, id, out, err);
}

static int fs_tenant_put(edv_store *st, const edv__tenant_rec *rec,
                         edv__put_mode mode, edv_error *err)
{
  return edv__store_tenant_put(FS(st)->real, rec, mode, err);
}

static const edv__store_ops fs_ops = {
    .name = "failing",
    .close = fs_close,
    .begin = fs_begin,
    .commit = fs_commit,
    .rollback = fs_rollback,
    .tenant_put = fs_tenant_put,
    .tenant_get = fs_tenant_get,
    .step_put = fs_step_put,
};

static void test_commit_failure(void **state)
{
  octx *c = calloc(1, sizeof(*c));
  fstore fs;

  (void)state;
  assert_non_null(c);
  octx_open(c, 0);
  memset(&fs, 0, sizeof(fs));
  fs.base.magic = EDV_STORE_MAGIC;
  fs.base.ops = &fs_ops;
  fs.base.clock = edv__store_wall_clock;
  fs.real = c->st;
  fs.fail_commits = 1;
  edv__store_batch_close(c->batch, NULL, NULL);
  assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
  c->batch = edv__store_batch_new(&c->loop, &fs.base);
  assert_non_null(c->batch);

  for (int round = 0; round < 2; round++) {
    c->ndone = 0;
    for (int i = 0; i <= NSTEPS; i++) {
      oitems[i].c = c;
      oitems[i].index = i;
      assert_int_equal(edv__store_batch_add(
                           c->batch, i < NSTEPS ? apply_done_step : apply_ready,
                           odone, &oitems[i]),
                       0);
    }
    assert_int_equal(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(c->ndone, NSTEPS + 1);
    for (int i = 0; i <= NSTEPS; i++) {
      if (round == 0) {
        /* The failed commit reaches every caller with its error. */
        assert_int_equal(c->results[i], EDV_EIO);
        assert_non_null(strstr(c->errors[i], "disk I/O error"));
      } else {
        assert_int_equal(c->results[i], 0);
      }
    }
    if (round == 0) {
      assert_int_equal(visible_steps(c->reader), 0);
      assert_false(visible_ready(c->reader));
    } else {
      assert_int_equal(c->steps_at_phase, NSTEPS);
      assert_true(visible_ready(c->reader));
    }
  }
  assert_int_equal(edv__store_batch_commits(c->batch), 1);
  octx_close(c);
  free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group_commit),
      cmocka_unit_test(test_busy_retry_in_order),
      cmocka_unit_test(test_busy_deadline),
      cmocka_unit_test(test_commit_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
