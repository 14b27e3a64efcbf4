/*
 * snapshot.c - edvd's periodic store snapshots: every
 * state.snapshot_interval_s, edv_fleet_snapshot() into state.snapshot_dir
 * (a work thread copies edv.db with SQLite's online backup API; the loop
 * goes on), then the oldest beyond state.snapshot_keep are removed
 * (docs/config.md; docs/operations.md, "Lost edv.db"). Off unless
 * state.snapshot_dir is set.
 */
#include <string.h>

#include "edv/log.h"
#include "server/api.h"
#include "server/edvd.h"

#define MOD "edvd"

static void on_snapshot(void *data, const edv_error *err)
{
  edvd *d = data;
  char buf[512];
  const char *dir = edv_config_get(d->cfg, "state.snapshot_dir");
  edv_error e;

  d->snapshot_busy = 0;
  if (err)
    edv_log(EDV_LOG_WARN, MOD, "store snapshot failed: %s",
            edv_error_format(err, buf, sizeof(buf)));
  else if (dir &&
           edv_fleet_snapshot_prune(
               dir,
               (unsigned)edv_config_get_int(d->cfg, "state.snapshot_keep", 24),
               &e))
    edv_log(EDV_LOG_WARN, MOD, "store snapshots: %s",
            edv_error_format(&e, buf, sizeof(buf)));
}

static void on_snapshot_timer(uv_timer_t *t)
{
  edvd *d = t->data;
  const char *dir = edv_config_get(d->cfg, "state.snapshot_dir");
  char made[512], path[1024], buf[512];
  edv_error err;

  if (d->snapshot_busy || d->stopping || !dir || !d->ef)
    return;
  if (edv_fleet_state_dir(NULL, dir, made, sizeof(made), NULL) != 0 ||
      edv_fleet_snapshot_name(dir, api_wall_ms(), path, sizeof(path)) != 0) {
    edv_log(EDV_LOG_WARN, MOD,
            "store snapshot: cannot use state.snapshot_dir '%s'", dir);
    return;
  }
  if (edv_fleet_snapshot(d->ef, path, on_snapshot, d, &err) == 0)
    d->snapshot_busy = 1;
  else
    edv_log(EDV_LOG_WARN, MOD, "store snapshot: %s",
            edv_error_format(&err, buf, sizeof(buf)));
}

void edvd_snapshot_start(edvd *d)
{
  uint64_t every =
      (uint64_t)edv_config_get_int(d->cfg, "state.snapshot_interval_s", 3600) *
      1000u;

  uv_timer_init(d->loop, &d->snapshot_timer);
  d->snapshot_timer.data = d;
  if (edv_config_get(d->cfg, "state.snapshot_dir") && every)
    uv_timer_start(&d->snapshot_timer, on_snapshot_timer, every, every);
}
