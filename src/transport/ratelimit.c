/*
 * ratelimit.c - per-API token buckets, concurrency caps and AIMD.
 *
 * Every call of the engine, whichever tenant it serves, takes a token from
 * its API's bucket and a slot under its API's concurrency cap before each
 * attempt, so the fleet as a whole stays under the project's quotas instead
 * of discovering them through 429s. Waiters queue FIFO per bucket and are
 * granted by edv__rl_pump(), which the engine runs whenever a slot frees up
 * and from one uv timer armed for the next token; nothing polls.
 *
 * Two bucket shapes:
 *   - EDV__RL_MINUTE (Compute): Google refills Compute's rate quotas in
 *     full at the next synchronized minute (docs/google-cloud.md section 8), so
 *     the bucket holds `rate` tokens per wall-clock minute.
 *   - EDV__RL_SMOOTH (the others): a classic bucket refilled continuously
 *     at rate/60000 per ms, holding at most 3 s worth (Cloud SQL enforces
 *     its per-minute quota per second, so long bursts get 429s anyway).
 *
 * AIMD: a 429 or 403 rateLimitExceeded halves the effective rate (at most
 * once per second, since the calls in flight tend to fail together), not
 * below a tenth of the configured rate; every 10 s without a cut the rate
 * grows back by a tenth of the configured rate. A smooth bucket also drops
 * its saved burst; a minute bucket keeps what the halved rate leaves of
 * the current minute.
 *
 * The clock is injected (wall-clock ms), and nothing here touches the uv
 * loop, so the unit tests drive it deterministically.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "transport/transport.h"

#define RL_CUT_DEBOUNCE_MS 1000
#define RL_GROW_EVERY_MS   10000
#define RL_SMOOTH_BURST_S  3.0
#define RL_EPSILON         1e-6

uint64_t edv__clock_real(void *data)
{
  struct timespec ts;

  (void)data;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double rl_burst(const edv__bucket *b)
{
  double burst = b->rate * RL_SMOOTH_BURST_S / 60.0;

  return burst < 1.0 ? 1.0 : burst;
}

void edv__bucket_init(edv__bucket *b, edv__rl_mode mode, double per_minute,
                      uint64_t now)
{
  memset(b, 0, sizeof(*b));
  b->mode = mode;
  b->limit = per_minute > 0 ? per_minute : 0;
  b->rate = b->limit;
  b->floor = b->limit / 10.0 < 1.0 ? 1.0 : b->limit / 10.0;
  b->last_grow = now;
  if (mode == EDV__RL_MINUTE) {
    b->stamp = now / 60000;
    b->tokens = b->rate;
  } else {
    b->stamp = now;
    b->tokens = rl_burst(b);
  }
}

/* Additive increase: one step per RL_GROW_EVERY_MS since the last change. */
static void rl_grow(edv__bucket *b, uint64_t now)
{
  while (b->rate < b->limit && now >= b->last_grow + RL_GROW_EVERY_MS) {
    b->rate += b->limit / 10.0;
    if (b->rate > b->limit)
      b->rate = b->limit;
    b->last_grow += RL_GROW_EVERY_MS;
  }
  if (b->rate >= b->limit)
    b->last_grow = now;
}

static void rl_refill(edv__bucket *b, uint64_t now)
{
  if (b->mode == EDV__RL_MINUTE) {
    if (now / 60000 != b->stamp) {
      b->stamp = now / 60000;
      b->tokens = floor(b->rate);
    }
    return;
  }
  if (now > b->stamp) {
    b->tokens += (double)(now - b->stamp) * b->rate / 60000.0;
    if (b->tokens > rl_burst(b))
      b->tokens = rl_burst(b);
  }
  b->stamp = now;
}

uint64_t edv__bucket_take(edv__bucket *b, uint64_t now)
{
  double wait;

  if (b->limit <= 0)
    return 0;
  rl_grow(b, now);
  rl_refill(b, now);
  /* The epsilon absorbs rounding in the refill arithmetic. */
  if (b->tokens >= 1.0 - RL_EPSILON) {
    b->tokens = b->tokens > 1.0 ? b->tokens - 1.0 : 0.0;
    return 0;
  }
  if (b->mode == EDV__RL_MINUTE)
    return (b->stamp + 1) * 60000 - now;
  wait = ceil((1.0 - b->tokens) * 60000.0 / b->rate - RL_EPSILON);
  return wait < 1.0 ? 1 : (uint64_t)wait;
}

void edv__bucket_cut(edv__bucket *b, uint64_t now)
{
  double old;

  if (b->limit <= 0)
    return;
  if (b->last_cut && now < b->last_cut + RL_CUT_DEBOUNCE_MS)
    return;
  old = b->rate;
  b->last_cut = now;
  b->last_grow = now;
  b->rate = b->rate / 2.0 < b->floor ? b->floor : b->rate / 2.0;
  if (b->mode == EDV__RL_MINUTE) {
    /* What is left of this minute under the new rate: the calls already
     * made count against it, so after a real overload (most of the window
     * spent) we wait for the next minute, as Google's quota does. */
    rl_refill(b, now);
    b->tokens -= old - b->rate;
    if (b->tokens < 0)
      b->tokens = 0;
  } else {
    b->tokens = 0;
  }
}

/* Defaults: docs/google-cloud.md section 8 where Google documents a figure,
 * otherwise a conservative guess (see docs/config.md). */
static const struct {
  double per_minute;
  edv__rl_mode mode;
  unsigned concurrency;
} rl_defaults[EDV_API__COUNT] = {
    [EDV_API_COMPUTE] = {1500, EDV__RL_MINUTE, 64},
    [EDV_API_SQLADMIN] = {180, EDV__RL_SMOOTH, 16},
    [EDV_API_DNS] = {600, EDV__RL_SMOOTH, 32},
    [EDV_API_CERTIFICATEMANAGER] = {300, EDV__RL_SMOOTH, 32},
    [EDV_API_MONITORING] = {600, EDV__RL_SMOOTH, 32},
    [EDV_API_IAM] = {600, EDV__RL_SMOOTH, 32},
    [EDV_API_SECRETMANAGER] = {600, EDV__RL_SMOOTH, 32},
    [EDV_API_SERVICENETWORKING] = {300, EDV__RL_SMOOTH, 16},
    [EDV_API_OAUTH2] = {0, EDV__RL_SMOOTH, 0},
    [EDV_API_OTHER] = {0, EDV__RL_SMOOTH, 64},
    [EDV_API_CLOUDRESOURCEMANAGER] = {300, EDV__RL_SMOOTH, 8},
};

static long long rl_key(const edv_config *cfg, const char *api,
                        const char *what, long long def)
{
  char key[96];

  snprintf(key, sizeof(key), "ratelimit.%s.%s", api, what);
  return edv_config_get_int(cfg, key, def);
}

void edv__rl_init(edv__limiter *rl, const edv_config *cfg, edv__clock_fn clock,
                  void *clock_data)
{
  uint64_t now;
  int api;

  memset(rl, 0, sizeof(*rl));
  rl->clock = clock ? clock : edv__clock_real;
  rl->clock_data = clock_data;
  now = rl->clock(rl->clock_data);
  for (api = 0; api < EDV_API__COUNT; api++) {
    const char *name = edv_api_name((edv_api)api);
    long long pm =
        rl_key(cfg, name, "per_minute", (long long)rl_defaults[api].per_minute);
    if (api == EDV_API_COMPUTE)
      pm = rl_key(cfg, name, "read.per_minute", pm);
    edv__bucket_init(&rl->groups[api].bucket, rl_defaults[api].mode, (double)pm,
                     now);
    rl->groups[api].api = (edv_api)api;
    rl->cap[api] = (unsigned)rl_key(cfg, name, "concurrency",
                                    rl_defaults[api].concurrency);
  }
  edv__bucket_init(&rl->groups[EDV__RL_GROUP_COMPUTE_WRITE].bucket,
                   EDV__RL_MINUTE,
                   (double)rl_key(cfg, "compute", "write.per_minute",
                                  rl_key(cfg, "compute", "per_minute", 1500)),
                   now);
  rl->groups[EDV__RL_GROUP_COMPUTE_WRITE].api = EDV_API_COMPUTE;
}

int edv__rl_group_of(edv_api api, const char *method)
{
  if ((unsigned)api >= EDV_API__COUNT)
    return EDV_API_OTHER;
  if (api == EDV_API_COMPUTE && method && strcmp(method, "GET") != 0)
    return EDV__RL_GROUP_COMPUTE_WRITE;
  return (int)api;
}

void edv__rl_enqueue(edv__limiter *rl, edv__rl_waiter *w)
{
  edv__rl_group *g = &rl->groups[w->group];

  w->next = NULL;
  w->queued = 1;
  if (g->tail)
    g->tail->next = w;
  else
    g->head = w;
  g->tail = w;
}

int edv__rl_remove(edv__limiter *rl, edv__rl_waiter *w)
{
  edv__rl_group *g = &rl->groups[w->group];
  edv__rl_waiter *p, *prev = NULL;

  if (!w->queued)
    return 0;
  for (p = g->head; p && p != w; prev = p, p = p->next)
    ;
  if (!p)
    return 0;
  if (prev)
    prev->next = w->next;
  else
    g->head = w->next;
  if (g->tail == w)
    g->tail = prev;
  w->next = NULL;
  w->queued = 0;
  return 1;
}

void edv__rl_release(edv__limiter *rl, edv_api api)
{
  if ((unsigned)api < EDV_API__COUNT && rl->in_flight[api] > 0)
    rl->in_flight[api]--;
}

void edv__rl_penalize(edv__limiter *rl, int group)
{
  if (group >= 0 && group < EDV__RL_NGROUPS)
    edv__bucket_cut(&rl->groups[group].bucket, rl->clock(rl->clock_data));
}

/* Grants what one group can grant now; returns the wait for the rest. */
static uint64_t rl_pump_group(edv__limiter *rl, edv__rl_group *g, uint64_t now)
{
  edv__rl_waiter *w;
  uint64_t wait;

  while ((w = g->head) != NULL) {
    if (rl->cap[g->api] && rl->in_flight[g->api] >= rl->cap[g->api])
      return UINT64_MAX; /* woken by edv__rl_release + pump instead */
    wait = edv__bucket_take(&g->bucket, now);
    if (wait)
      return wait;
    g->head = w->next;
    if (!g->head)
      g->tail = NULL;
    w->next = NULL;
    w->queued = 0;
    rl->in_flight[g->api]++;
    w->granted(w);
  }
  return UINT64_MAX;
}

uint64_t edv__rl_pump(edv__limiter *rl)
{
  uint64_t best, wait;
  int i;

  /* A grant callback may release or queue and pump again; the outer loop
   * then simply makes another pass. */
  if (rl->pumping) {
    rl->again = 1;
    return UINT64_MAX;
  }
  rl->pumping = 1;
  do {
    rl->again = 0;
    best = UINT64_MAX;
    for (i = 0; i < EDV__RL_NGROUPS; i++) {
      wait = rl_pump_group(rl, &rl->groups[i], rl->clock(rl->clock_data));
      if (wait < best)
        best = wait;
    }
  } while (rl->again);
  rl->pumping = 0;
  return best;
}
