/*
 * cmd_fleet.c - `edvctl fleet update`: a release rolled out to the fleet in
 * waves (edv/fleet.h, "Fleet updates"; docs/cli.md).
 *
 *   fleet update --release V [--waves ..] [--soak D] [--max-parallel N]
 *                [--max-failures N] [--tier T[,T]]... [--async]
 *   fleet update status|pause|resume|abort|rollback [ID]
 *
 * Local mode: through the library on a fleet opened on the state store;
 * this process drives the update while it waits (Ctrl-C, or a kill, leaves
 * it RUNNING: `fleet update resume` carries it on). Remote mode
 * (--server): through the Management API; edvd drives it, edvctl polls.
 * Either way the waiting shows the update document as it changes (waves
 * and tenants) and prints it at the end; --format json prints the
 * document the API returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/remote.h"
#include "edv/fleet.h"

#define POLL_MS 300

/* One command per process: static, like cmd_day2.c's job. */
static struct upd_job {
  cli_ctx *ctx;
  edv_fleet *f;
  json_object *doc;
  edv_error err;
  int failed;
  int closed;
  int watch; /* wait until the update stops */
  uv_timer_t timer;
  int timer_on;
  char id[64];
  unsigned lines; /* lines of the live frame on screen */
} job;

static int stopped(json_object *doc)
{
  const char *s = edv__jstr(doc, "state");

  return !s || (strcmp(s, "RUNNING") != 0 && strcmp(s, "ROLLING_BACK") != 0);
}

/* ---- progress: waves and tenants ---------------------------------------*/

static int progress_on(const cli_ctx *ctx)
{
  return !ctx->quiet && ctx->format != CLI_FORMAT_JSON;
}

static int live(const cli_ctx *ctx)
{
  const char *term = getenv("TERM");

  return progress_on(ctx) && isatty(fileno(ctx->err)) && !ctx->verbose &&
         !(term && strcmp(term, "dumb") == 0);
}

static void counts_line(json_object *counts, char *buf, size_t size)
{
  static const char *const st[] = {"PENDING", "UPDATING", "SOAKING",
                                   "DONE",    "FAILED",   "ROLLED_BACK"};
  size_t off = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < 6 && off < size; i++) {
    int n = json_object_get_int(json_object_object_get(counts, st[i]));
    if (n)
      off += (size_t)snprintf(buf + off, size - off, "%s%s %d", off ? ", " : "",
                              st[i], n);
  }
}

/* The frame: the update's line, one line per wave, and the tenants of the
 * current wave that are not PENDING. Live: redrawn in place; else a line
 * when the status changes. */
static void progress(cli_ctx *ctx, json_object *doc)
{
  static char last[1100];
  json_object *waves = json_object_object_get(doc, "per_wave"),
              *ts = json_object_object_get(doc, "tenants");
  int cur = json_object_get_int(json_object_object_get(doc, "wave"));
  const char *status = edv__jstr(doc, "status");
  char buf[200];
  unsigned n = 0;

  if (!progress_on(ctx))
    return;
  if (!live(ctx)) {
    if (status && strcmp(status, last) != 0) {
      snprintf(last, sizeof(last), "%s", status);
      fprintf(ctx->err, "%s: %s\n", edv__jstr(doc, "id"), status);
    }
    return;
  }
  if (job.lines)
    fprintf(ctx->err, "\x1b[%uA\x1b[J", job.lines);
  fprintf(ctx->err, "Update %s to %s: %s\n", edv__jstr(doc, "id"),
          edv__jstr(doc, "release"), edv__jstr(doc, "state"));
  n++;
  for (size_t i = 0; i < json_object_array_length(waves); i++) {
    json_object *w = json_object_array_get_idx(waves, i);
    int wn = json_object_get_int(json_object_object_get(w, "wave"));

    counts_line(json_object_object_get(w, "counts"), buf, sizeof(buf));
    fprintf(ctx->err, " %s wave %d (%d tenants): %s\n", wn == cur ? ">" : " ",
            wn, json_object_get_int(json_object_object_get(w, "tenants")), buf);
    n++;
  }
  for (size_t i = 0; i < json_object_array_length(ts) && n < 30; i++) {
    json_object *t = json_object_array_get_idx(ts, i);
    const char *st = edv__jstr(t, "state");

    if (json_object_get_int(json_object_object_get(t, "wave")) != cur || !st ||
        strcmp(st, "PENDING") == 0)
      continue;
    fprintf(ctx->err, "     %-26s %-11s %s\n", edv__jstr(t, "id"), st,
            edv__jstr(t, "error") ? edv__jstr(t, "error") : "");
    n++;
  }
  if (status) {
    fprintf(ctx->err, " %s\n", status);
    n++;
  }
  fflush(ctx->err);
  job.lines = n;
}

/* ---- local mode ----------------------------------------------------------*/

static void on_final(void *data, json_object *doc, const edv_error *err);

static void on_polled(void *data, json_object *doc, const edv_error *err)
{
  (void)data;
  if (err || stopped(doc)) {
    on_final(data, doc, err);
    return;
  }
  progress(job.ctx, doc);
}

static void on_tick(uv_timer_t *t)
{
  edv_error err;

  (void)t;
  if (edv_fleet_update_get(job.f, job.id, on_polled, &job, &err))
    on_final(&job, NULL, &err);
}

static void on_final(void *data, json_object *doc, const edv_error *err)
{
  (void)data;
  if (job.ctx->done)
    return;
  if (job.timer_on) {
    uv_timer_stop(&job.timer);
    uv_close((uv_handle_t *)&job.timer, NULL);
    job.timer_on = 0;
  }
  if (err) {
    job.err = *err;
    job.failed = 1;
  } else {
    job.doc = json_object_get(doc);
  }
  job.ctx->done = 1;
}

/* The first answer: the update started (or acted on); watch it unless it
 * stopped already or --async. */
static void on_first(void *data, json_object *doc, const edv_error *err)
{
  if (err || !job.watch || stopped(doc)) {
    on_final(data, doc, err);
    return;
  }
  snprintf(job.id, sizeof(job.id), "%s", edv__jstr(doc, "id"));
  progress(job.ctx, doc);
  uv_timer_init(job.ctx->loop, &job.timer);
  uv_timer_start(&job.timer, on_tick, POLL_MS, POLL_MS);
  job.timer_on = 1;
}

static void on_interrupt(void *data)
{
  edv_error e;

  (void)data;
  edv_error_set(&e, EDV_ECANCELED,
                "stopped waiting; the update is left as it is: `edvctl "
                "fleet update resume %s` carries it on",
                job.id[0] ? job.id : "ID");
  on_final(&job, NULL, &e);
}

static void on_closed(void *data)
{
  (void)data;
  job.closed = 1;
}

/* The update's spec from the flags ({release, waves, soak_s, max_parallel,
 * max_failures, tiers}); NULL after a usage error (printed). */
static json_object *spec_of(cli_ctx *ctx, const cli_args *a)
{
  json_object *o = json_object_new_object();
  static const char *const nums[][2] = {{"max-parallel", "max_parallel"},
                                        {"max-failures", "max_failures"}};
  const char *v;

  json_object_object_add(o, "release",
                         json_object_new_string(cli_arg(a, "release")));
  if ((v = cli_arg(a, "waves")))
    json_object_object_add(o, "waves", json_object_new_string(v));
  if ((v = cli_arg(a, "soak"))) {
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (!errno && end != v && n >= 0 && strcmp(end, "m") == 0)
      n *= 60;
    else if (!errno && end != v && n >= 0 && strcmp(end, "h") == 0)
      n *= 3600;
    else if (errno || end == v || n < 0 || (*end && strcmp(end, "s") != 0))
      n = -1;
    if (n < 0 || n > 86400) {
      json_object_put(o);
      cli_usage_error(ctx,
                      "--soak '%s' is not a duration such as 30s, 5m or 1h "
                      "(at most 24h)",
                      v);
      return NULL;
    }
    json_object_object_add(o, "soak_s", json_object_new_int64(n));
  }
  for (size_t i = 0; i < 2; i++)
    if ((v = cli_arg(a, nums[i][0]))) {
      char *end;
      long n;

      errno = 0;
      n = strtol(v, &end, 10);
      if (errno || end == v || *end || n < 0 || n > 100000) {
        json_object_put(o);
        cli_usage_error(ctx, "--%s '%s' is not a number", nums[i][0], v);
        return NULL;
      }
      json_object_object_add(o, nums[i][1], json_object_new_int64(n));
    }
  if ((v = cli_arg(a, "tier"))) {
    json_object *tiers = json_object_new_array();
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", v);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
      json_object_array_add(tiers, json_object_new_string(t));
    json_object_object_add(o, "tiers", tiers);
  }
  return o;
}

static int run_local(cli_ctx *ctx, const char *action, const char *id,
                     json_object *spec, int watch, json_object **out)
{
  edv_error err;
  int result = cli_fleet_open(ctx, &job.f);

  if (result)
    return result;
  job.ctx = ctx;
  job.watch = watch;
  if (spec)
    result = edv_fleet_update_start(job.f, spec, EDV_FLEET_ASYNC, on_first,
                                    &job, &err);
  else if (strcmp(action, "status") == 0)
    result = edv_fleet_update_get(job.f, id, on_final, &job, &err);
  else
    result = edv_fleet_update_act(job.f, id, action, EDV_FLEET_ASYNC, on_first,
                                  &job, &err);
  if (result == 0) {
    ctx->on_interrupt = on_interrupt;
    cli_loop_run(ctx);
    ctx->on_interrupt = NULL;
  }
  edv_fleet_close(job.f, on_closed, &job);
  while (!job.closed)
    uv_run(ctx->loop, UV_RUN_ONCE);
  if (result)
    return err.code == EDV_EINVAL ? cli_usage_error(ctx, "%s", err.message)
                                  : cli_fail(ctx, &err);
  if (job.failed)
    return job.err.code == EDV_ECANCELED && ctx->interrupted
               ? (cli_fail(ctx, &job.err), CLI_EXIT_INTERRUPTED)
               : cli_fail(ctx, &job.err);
  *out = job.doc;
  return CLI_EXIT_OK;
}

/* ---- remote mode -------------------------------------------------------*/

static int run_remote(cli_ctx *ctx, const char *action, const char *id,
                      json_object *spec, int watch, json_object **out)
{
  char path[160];
  int result;

  if (spec)
    result = cli_remote_request(ctx, "POST", NULL, "/api/fleet/updates", NULL,
                                spec, out);
  else if (strcmp(action, "status") == 0 || !id) {
    /* The newest when no ID: the list's last. */
    json_object *list = NULL, *arr;
    size_t n;

    if (id) {
      snprintf(path, sizeof(path), "/api/fleet/updates/%s", id);
      return cli_remote_request(ctx, "GET", NULL, path, NULL, NULL, out);
    }
    if ((result = cli_remote_request(ctx, "GET", NULL, "/api/fleet/updates",
                                     NULL, NULL, &list)))
      return result;
    arr = json_object_object_get(list, "updates");
    n = json_object_array_length(arr);
    if (n == 0) {
      edv_error e;
      json_object_put(list);
      edv_error_set(&e, EDV_ENOTFOUND, "there is no fleet update");
      return cli_fail(ctx, &e);
    }
    snprintf(job.id, sizeof(job.id), "%s",
             edv__jstr(json_object_array_get_idx(arr, n - 1), "id"));
    json_object_put(list);
    return run_remote(ctx, action, job.id, NULL, watch, out);
  } else {
    snprintf(path, sizeof(path), "/api/fleet/updates/%s:%s", id, action);
    result = cli_remote_request(ctx, "POST", NULL, path, NULL, NULL, out);
  }
  if (result || !watch)
    return result;
  snprintf(job.id, sizeof(job.id), "%s", edv__jstr(*out, "id"));
  snprintf(path, sizeof(path), "/api/fleet/updates/%s", job.id);
  while (!stopped(*out)) {
    progress(ctx, *out);
    if (ctx->interrupted)
      return CLI_EXIT_INTERRUPTED;
    usleep(POLL_MS * 1000u);
    json_object_put(*out);
    *out = NULL;
    if ((result = cli_remote_request(ctx, "GET", NULL, path, NULL, NULL, out)))
      return result;
  }
  return CLI_EXIT_OK;
}

/* ---- the table -----------------------------------------------------------*/

static void print_update(cli_ctx *ctx, json_object *doc)
{
  static const cli_col cols[] = {{"TENANT", "id"},   {"WAVE", "wave"},
                                 {"STATE", "state"}, {"FROM", "from"},
                                 {"TO", "to"},       {"ERROR", "error"}};
  char buf[200];

  counts_line(json_object_object_get(doc, "counts"), buf, sizeof(buf));
  fprintf(ctx->out, "Update %s: release %s, %s (wave %d of %d; %s)\n",
          edv__jstr(doc, "id"), edv__jstr(doc, "release"),
          edv__jstr(doc, "state"),
          json_object_get_int(json_object_object_get(doc, "wave")),
          json_object_get_int(json_object_object_get(doc, "waves_total")), buf);
  if (edv__jstr(doc, "status"))
    fprintf(ctx->out, "%s\n", edv__jstr(doc, "status"));
  cli_print_table(ctx, json_object_object_get(doc, "tenants"), cols, 6);
}

int cli_cmd_fleet_update(cli_ctx *ctx, const cli_args *args)
{
  static const char *const actions[] = {"status", "pause",    "resume",
                                        "abort",  "rollback", NULL};
  const char *action = args->argc > 0 ? args->argv[0] : NULL;
  const char *id = args->argc > 1 ? args->argv[1] : NULL;
  json_object *spec = NULL, *doc = NULL;
  int result, watch, known = 0;
  const char *state;

  memset(&job, 0, sizeof(job));
  for (size_t i = 0; action && actions[i]; i++)
    known |= strcmp(action, actions[i]) == 0;
  if (action && !known)
    return cli_usage_error(ctx,
                           "ACTION '%s' is not one of status, pause, resume, "
                           "abort, rollback",
                           action);
  if (!action && !cli_arg(args, "release"))
    return cli_usage_error(ctx, "--release VERSION is required to start an "
                                "update (or give an ACTION)");
  if (action && (cli_arg(args, "release") || cli_arg(args, "waves") ||
                 cli_arg(args, "soak") || cli_arg(args, "max-parallel") ||
                 cli_arg(args, "max-failures") || cli_arg(args, "tier")))
    return cli_usage_error(ctx, "--release, --waves, --soak, --max-parallel, "
                                "--max-failures and --tier start an update: "
                                "not with an ACTION");
  if (!action && !(spec = spec_of(ctx, args)))
    return CLI_EXIT_USAGE;
  watch =
      !cli_arg(args, "async") && (!action || strcmp(action, "resume") == 0 ||
                                  strcmp(action, "rollback") == 0);
  if (!action)
    cli_progress(ctx, "Updating the fleet to release %s",
                 cli_arg(args, "release"));
  result =
      cli_remote_on(ctx)
          ? run_remote(ctx, action ? action : "start", id, spec, watch, &doc)
          : run_local(ctx, action ? action : "start", id, spec, watch, &doc);
  json_object_put(spec);
  if (result) {
    json_object_put(doc);
    return result;
  }
  if (live(ctx) && job.lines)
    fprintf(ctx->err, "\x1b[%uA\x1b[J", job.lines);
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, doc);
  else
    print_update(ctx, doc);
  /* A wait that ended HALTED: the update needs a person. */
  state = edv__jstr(doc, "state");
  result = watch && state && strcmp(state, "HALTED") == 0 ? CLI_EXIT_API
                                                          : CLI_EXIT_OK;
  json_object_put(doc);
  return result;
}
