/*
 * cmd_day2.c - the day-2 verbs: `edvctl tenant backup|backups|restore|
 * metrics`, `edvctl infra status|costs|capacity|incidents` and `edvctl
 * release create|list`.
 *
 * Local mode: through the library (edv/fleet.h "Day 2"), on an edv_fleet
 * opened on the state store; a backup or restore waits until Cloud SQL
 * is done (Ctrl-C stops waiting: the operation goes on, and the next
 * process follows it). Remote mode (--server): through the Management
 * API, which answers a backup or restore once started (edvd follows it).
 * Either way --format json prints the document the API returns, and the
 * table view is drawn from it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/remote.h"
#include "edv/fleet.h"

/* Static: a cancelled call may complete during shutdown, after the
 * handler returned; one command runs per process. */
static struct day2_job {
  cli_ctx *ctx;
  json_object *answer;
  edv_error err;
  int failed;
  int closed;
} day2_job;

static void on_answer(void *data, json_object *answer, const edv_error *err)
{
  struct day2_job *j = data;

  if (err) {
    j->err = *err;
    j->failed = 1;
  } else {
    j->answer = json_object_get(answer);
  }
  j->ctx->done = 1;
}

static void on_interrupt(void *data)
{
  /* Stop waiting: the job is journalled as interrupted, its operation
   * goes on in Cloud SQL, and the next process follows it. */
  edv_fleet_stop(data);
}

static void on_closed(void *data)
{
  ((struct day2_job *)data)->closed = 1;
}

/* ---- the verbs -----------------------------------------------------------*/

/* The library call of a verb (local mode), answering on_answer. */
typedef int (*day2_local)(edv_fleet *f, const cli_args *args, edv_error *err);

static int l_backup(edv_fleet *f, const cli_args *a, edv_error *err)
{
  return edv_tenant_backup(f, a->argv[0], cli_arg(a, "description"), NULL,
                           cli_arg(a, "async") ? EDV_FLEET_ASYNC : 0, on_answer,
                           &day2_job, err);
}

static int l_backups(edv_fleet *f, const cli_args *a, edv_error *err)
{
  return edv_tenant_backups(f, a->argv[0], on_answer, &day2_job, err);
}

static int l_restore(edv_fleet *f, const cli_args *a, edv_error *err)
{
  return edv_tenant_restore(f, a->argv[0], cli_arg(a, "backup"), NULL,
                            cli_arg(a, "async") ? EDV_FLEET_ASYNC : 0,
                            on_answer, &day2_job, err);
}

static int l_restore_time(edv_fleet *f, const cli_args *a, edv_error *err)
{
  return edv_tenant_restore_to_time(f, a->argv[0], cli_arg(a, "to-time"),
                                    cli_arg(a, "async") ? EDV_FLEET_ASYNC : 0,
                                    on_answer, &day2_job, err);
}

static int l_metrics(edv_fleet *f, const cli_args *a, edv_error *err)
{
  return edv_tenant_metrics(f, a->argv[0], cli_arg(a, "window"), on_answer,
                            &day2_job, err);
}

/* The backups checked: now the status, which shows them. */
static void on_backups_checked(void *data, json_object *doc,
                               const edv_error *err)
{
  edv_fleet *f = data;
  edv_error e;

  (void)doc;
  if (err)
    on_answer(&day2_job, NULL, err);
  else if (edv_fleet_status(f, on_answer, &day2_job, &e))
    on_answer(&day2_job, NULL, &e);
}

static int l_status(edv_fleet *f, const cli_args *a, edv_error *err)
{
  (void)a;
  return edv_fleet_backup_check(f, on_backups_checked, f, err);
}

static int l_costs(edv_fleet *f, const cli_args *a, edv_error *err)
{
  (void)a;
  return edv_fleet_costs(f, on_answer, &day2_job, err);
}

static int l_capacity(edv_fleet *f, const cli_args *a, edv_error *err)
{
  (void)a;
  return edv_fleet_capacity(f, on_answer, &day2_job, err);
}

static int l_incidents(edv_fleet *f, const cli_args *a, edv_error *err)
{
  edv_incident_query q;

  memset(&q, 0, sizeof(q));
  q.state = cli_arg(a, "state");
  q.tenant = cli_arg(a, "tenant");
  return edv_incidents_list(f, &q, on_answer, &day2_job, err);
}

static int l_reconcile(edv_fleet *f, const cli_args *a, edv_error *err)
{
  return edv_fleet_reconcile(f, cli_arg(a, "async") ? EDV_FLEET_ASYNC : 0,
                             on_answer, &day2_job, err);
}

/* The release of `release create VERSION --image I | --image-family F
 * [--notes N]` (the library and the API check it). */
static json_object *release_spec(const cli_args *a)
{
  json_object *o = json_object_new_object();
  static const char *const flags[][2] = {
      {"image", "image"}, {"image-family", "image_family"}, {"notes", "notes"}};

  json_object_object_add(o, "version", json_object_new_string(a->argv[0]));
  for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
    if (cli_arg(a, flags[i][0]))
      json_object_object_add(o, flags[i][1],
                             json_object_new_string(cli_arg(a, flags[i][0])));
  return o;
}

static int l_release_create(edv_fleet *f, const cli_args *a, edv_error *err)
{
  json_object *spec = release_spec(a);
  int result = edv_release_create(f, spec, on_answer, &day2_job, err);

  json_object_put(spec);
  return result;
}

static int l_release_list(edv_fleet *f, const cli_args *a, edv_error *err)
{
  (void)a;
  return edv_release_list(f, on_answer, &day2_job, err);
}

/* Runs the verb on a local fleet; its answer into *out. */
static int run_local(cli_ctx *ctx, const cli_args *args, day2_local fn,
                     json_object **out)
{
  edv_fleet *f;
  edv_error err;
  int result = cli_fleet_open(ctx, &f);

  if (result)
    return result;
  memset(&day2_job, 0, sizeof(day2_job));
  day2_job.ctx = ctx;
  result = fn(f, args, &err);
  if (result == 0) {
    ctx->on_interrupt = on_interrupt;
    ctx->interrupt_data = f;
    cli_loop_run(ctx);
    ctx->on_interrupt = NULL;
  }
  edv_fleet_close(f, on_closed, &day2_job);
  while (!day2_job.closed)
    uv_run(ctx->loop, UV_RUN_ONCE);
  if (result)
    return err.code == EDV_EINVAL ? cli_usage_error(ctx, "%s", err.message)
                                  : cli_fail(ctx, &err);
  if (day2_job.failed)
    return day2_job.err.code == EDV_ECANCELED && ctx->interrupted
               ? CLI_EXIT_INTERRUPTED
               : cli_fail(ctx, &day2_job.err);
  if (!day2_job.answer)
    return CLI_EXIT_INTERRUPTED;
  *out = day2_job.answer;
  return CLI_EXIT_OK;
}

/* Runs the verb through the Management API; its answer into *out. */
static int run_remote(cli_ctx *ctx, const cli_args *args, json_object **out)
{
  const char *name = args->cmd->name, *v;
  const char *id = args->argc > 0 ? args->argv[0] : NULL;
  json_object *body = NULL;
  const char *query[3] = {NULL, NULL, NULL};
  char path[64];
  int result;

  if (args->cmd->run == cli_cmd_release_create ||
      args->cmd->run == cli_cmd_release_list) {
    body = args->cmd->run == cli_cmd_release_create ? release_spec(args) : NULL;
    result = cli_remote_request(ctx, body ? "POST" : "GET", NULL,
                                "/api/releases", query, body, out);
    json_object_put(body);
    return result;
  }
  if (args->cmd->run == cli_cmd_infra_incidents) {
    const char *iq[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t n = 0;

    if ((v = cli_arg(args, "state")) != NULL) {
      iq[n++] = "state";
      iq[n++] = v;
    }
    if ((v = cli_arg(args, "tenant")) != NULL) {
      iq[n++] = "tenant";
      iq[n++] = v;
    }
    return cli_remote_request(ctx, "GET", NULL, "/api/alerts/incidents", iq,
                              NULL, out);
  }
  if (strcmp(name, "backup") == 0) {
    body = json_object_new_object();
    if ((v = cli_arg(args, "description")) != NULL)
      json_object_object_add(body, "description", json_object_new_string(v));
  } else if (strcmp(name, "restore") == 0 && cli_arg(args, "to-time")) {
    body = json_object_new_object();
    json_object_object_add(body, "point_in_time",
                           json_object_new_string(cli_arg(args, "to-time")));
  } else if (strcmp(name, "restore") == 0) {
    body = json_object_new_object();
    json_object_object_add(body, "backup_id",
                           json_object_new_string(cli_arg(args, "backup")));
  } else if (strcmp(name, "metrics") == 0 && cli_arg(args, "window")) {
    query[0] = "window";
    query[1] = cli_arg(args, "window");
  }
  if (id)
    snprintf(path, sizeof(path), "/%s", name);
  else
    snprintf(path, sizeof(path), "/api/infrastructure/%s", name);
  result = cli_remote_request(
      ctx, body || strcmp(name, "reconcile") == 0 ? "POST" : "GET", id, path,
      query, body, out);
  json_object_put(body);
  return result;
}

/*
 * Through edvd, a backup or restore is a job edvd follows: unless --async,
 * edvctl waits as in the local mode, polling the tenant's backups (their
 * "operation" is the job in progress) until the job's operation is gone;
 * then the job's document says how it ended (a backup: its run's status;
 * a restore: DONE, or the run's status when edvd recorded a failure).
 */
static int remote_job_wait(cli_ctx *ctx, const cli_args *args, json_object *job)
{
  const char *id = args->argv[0];
  const char *op = edv__jstr(job, "operation");
  unsigned delay_ms = 200;

  if (!op || cli_arg(args, "async"))
    return CLI_EXIT_OK;
  for (;;) {
    json_object *list = NULL, *cur;
    const char *now;
    int result;

    if (ctx->interrupted)
      return CLI_EXIT_INTERRUPTED;
    result = cli_remote_request(ctx, "GET", id, "/backups", NULL, NULL, &list);
    if (result)
      return result;
    cur = json_object_object_get(list, "operation");
    now = cur ? edv__jstr(cur, "operation") : NULL;
    if (!cur || !now || strcmp(now, op) != 0) {
      /* Over: how it ended, from the backup run it made or used. */
      json_object *runs = json_object_object_get(list, "backups");
      const char *bid = edv__jstr(job, "backup_id"), *st = "DONE";
      for (size_t i = 0; bid && i < json_object_array_length(runs); i++) {
        json_object *b = json_object_array_get_idx(runs, i);
        if (edv__jstr(b, "id") && strcmp(edv__jstr(b, "id"), bid) == 0 &&
            strcmp(edv__jstr(job, "kind"), "backup") == 0)
          st = edv__jstr(b, "status") ? edv__jstr(b, "status") : st;
      }
      int failed = strcmp(st, "FAILED") == 0;
      json_object_object_add(job, "status", json_object_new_string(st));
      json_object_put(list); /* st pointed into it */
      return failed ? CLI_EXIT_API : CLI_EXIT_OK;
    }
    json_object_put(list);
    usleep(delay_ms * 1000u);
    if (delay_ms < 2000)
      delay_ms *= 2;
  }
}

/* ---- tables --------------------------------------------------------------*/

static const char *s_or(json_object *o, const char *key, const char *def)
{
  const char *s = edv__jstr(o, key);
  return s ? s : def;
}

static void print_job(cli_ctx *ctx, json_object *doc)
{
  if (strcmp(s_or(doc, "kind", ""), "point_in_time_restore") == 0) {
    fprintf(ctx->out, "Restore of tenant %s to %s: %s%s\n",
            s_or(doc, "tenant", "?"), s_or(doc, "point_in_time", "?"),
            s_or(doc, "status", "?"),
            json_object_get_boolean(edv__jget(doc, "resumed")) ? " (resumed)"
                                                               : "");
    fprintf(ctx->out, "  %-10s %s\n  %-10s %s\n  %-10s %s\n", "instance",
            s_or(doc, "instance", "-"), "replaces",
            s_or(doc, "from_instance", "-"), "started",
            s_or(doc, "started", "-"));
    return;
  }
  fprintf(ctx->out, "%s of tenant %s: %s%s\n",
          strcmp(s_or(doc, "kind", ""), "restore") == 0 ? "Restore" : "Backup",
          s_or(doc, "tenant", "?"), s_or(doc, "status", "?"),
          json_object_get_boolean(edv__jget(doc, "replayed")) ? " (replayed)"
                                                              : "");
  fprintf(ctx->out, "  %-10s %s\n  %-10s %s\n  %-10s %s\n  %-10s %s\n",
          "instance", s_or(doc, "instance", "-"), "backup id",
          s_or(doc, "backup_id", "-"), "operation", s_or(doc, "operation", "-"),
          "started", s_or(doc, "started", "-"));
}

/* "restore of backup 123 (operation op-1) in progress", or nothing. */
static void print_in_progress(cli_ctx *ctx, json_object *op)
{
  if (!op)
    return;
  fprintf(ctx->out, "In progress: %s of backup %s (operation %s, since %s)\n",
          s_or(op, "kind", "?"), s_or(op, "backup_id", "-"),
          s_or(op, "operation", "-"), s_or(op, "started", "-"));
}

static void print_backups(cli_ctx *ctx, json_object *doc)
{
  static const cli_col cols[] = {{"ID", "id"},
                                 {"TYPE", "type"},
                                 {"STATUS", "status"},
                                 {"ENDED", "ended"},
                                 {"DESCRIPTION", "description"},
                                 {"ERROR", "error"}};
  json_object *arr = edv__jget(doc, "backups");
  size_t n = json_object_array_length(arr);

  fprintf(ctx->out, "Backups of tenant %s (instance %s)%s\n",
          s_or(doc, "tenant", "?"), s_or(doc, "instance", "?"),
          n ? ":" : ": none");
  if (n)
    cli_print_table(ctx, arr, cols, sizeof(cols) / sizeof(cols[0]));
  if (json_object_get_boolean(edv__jget(doc, "more")))
    fprintf(ctx->out, "(older backups not shown)\n");
  print_in_progress(ctx, edv__jget(doc, "operation"));
}

/* One of the seed's metrics over the window: "now, mean, max", each times
 * `scale` with `unit`, or "no data". */
static void print_series(cli_ctx *ctx, const char *name, json_object *v,
                         double scale, const char *unit)
{
  json_object *cur = edv__jget(v, "current");

  if (!cur) {
    fprintf(ctx->out, "  %-12s no data in the window\n", name);
    return;
  }
  fprintf(ctx->out, "  %-12s now %.1f%s, mean %.1f%s, max %.1f%s\n", name,
          json_object_get_double(cur) * scale, unit,
          json_object_get_double(edv__jget(v, "mean")) * scale, unit,
          json_object_get_double(edv__jget(v, "max")) * scale, unit);
}

static void print_metrics(cli_ctx *ctx, json_object *doc)
{
  static const cli_col cols[] = {{"STEP", "name"},
                                 {"DURATION MS", "duration_ms"}};
  json_object *h = edv__jget(doc, "health"), *l = edv__jget(doc, "latency_ms");
  json_object *steps = edv__jget(doc, "steps");

  fprintf(ctx->out, "Tenant %s (%s), last %lld s:\n", s_or(doc, "tenant", "?"),
          s_or(doc, "phase", "?"), (long long)edv__jint(doc, "window_s", 0));
  if (edv__jget(h, "availability"))
    fprintf(ctx->out, "  availability %.1f%% of %lld probes (last %s: %s)\n",
            100.0 * json_object_get_double(edv__jget(h, "availability")),
            (long long)edv__jint(h, "points", 0), s_or(h, "last_probe", "-"),
            json_object_get_boolean(edv__jget(h, "last_up")) ? "up" : "down");
  else
    fprintf(ctx->out, "  availability no probe in the window\n");
  if (edv__jget(l, "p50"))
    fprintf(ctx->out, "  latency      p50 %.1f ms, p95 %.1f ms, last %.1f ms\n",
            json_object_get_double(edv__jget(l, "p50")),
            json_object_get_double(edv__jget(l, "p95")),
            json_object_get_double(edv__jget(l, "last")));
  print_series(ctx, "active users", edv__jget(doc, "active_users"), 1, "");
  print_series(ctx, "requests", edv__jget(doc, "requests_per_s"), 1, "/s");
  print_series(ctx, "errors (5xx)", edv__jget(doc, "error_ratio"), 100, "%");
  print_series(ctx, "response p50", edv__jget(doc, "response_ms.p50"), 1,
               " ms");
  print_series(ctx, "response p95", edv__jget(doc, "response_ms.p95"), 1,
               " ms");
  print_series(ctx, "VM CPU", edv__jget(doc, "utilization.vm_cpu"), 100, "%");
  print_series(ctx, "VM memory", edv__jget(doc, "utilization.vm_memory_pct"), 1,
               "%");
  print_series(ctx, "DB CPU", edv__jget(doc, "utilization.db_cpu"), 100, "%");
  print_series(ctx, "DB conns", edv__jget(doc, "utilization.db_connections"), 1,
               "");
  print_in_progress(ctx, edv__jget(doc, "operation"));
  if (json_object_array_length(steps))
    cli_print_table(ctx, steps, cols, sizeof(cols) / sizeof(cols[0]));
}

static void print_status(cli_ctx *ctx, json_object *doc)
{
  static const cli_col run_cols[] = {{"TENANT", "tenant"},
                                     {"DIRECTION", "direction"}};
  static const cli_col failed_cols[] = {
      {"FAILED", "id"}, {"TIER", "tier"}, {"ERROR", "error"}};
  json_object *runs = edv__jget(doc, "runs"),
              *failed = edv__jget(doc, "failed");

  fprintf(ctx->out, "Platform: %s\nTenants: %lld", s_or(doc, "platform", "?"),
          (long long)edv__jint(doc, "tenants.total", 0));
  json_object_object_foreach(edv__jget(doc, "tenants.by_phase"), phase, n)
  {
    if (json_object_get_int64(n) > 0)
      fprintf(ctx->out, ", %s %lld", phase,
              (long long)json_object_get_int64(n));
  }
  fprintf(ctx->out, "\nRuns in flight: %lld\n",
          (long long)edv__jint(doc, "runs_in_flight", 0));
  if (json_object_get_boolean(edv__jget(doc, "backups.checked"))) {
    json_object *bk = edv__jget(doc, "backups.tenants");

    fprintf(
        ctx->out, "Backups: %lld stale (none successful in %lld h)\n",
        (long long)edv__jint(edv__jget(doc, "backups"), "stale", 0),
        (long long)edv__jint(edv__jget(doc, "backups"), "stale_after_s", 0) /
            3600);
    for (size_t i = 0; bk && i < json_object_array_length(bk); i++) {
      json_object *t = json_object_array_get_idx(bk, i);
      if (json_object_get_boolean(edv__jget(t, "stale")))
        fprintf(ctx->out, "  STALE %s: last successful backup %s\n",
                s_or(t, "tenant", "?"), s_or(t, "last_successful", "never"));
    }
  }
  if (json_object_array_length(runs))
    cli_print_table(ctx, runs, run_cols, 2);
  if (json_object_array_length(failed))
    cli_print_table(ctx, failed, failed_cols, 3);
}

static void print_reconcile(cli_ctx *ctx, json_object *doc)
{
  const char *platform = edv__jstr(doc, "platform");

  if (platform && strcmp(platform, "READY") != 0)
    fprintf(ctx->out,
            "Platform: %s: no tenant resumed (run `edvctl platform init`)\n",
            platform);
  fprintf(ctx->out, "Resumed: %lld tenant(s)\nRuns in flight: %lld\n",
          (long long)edv__jint(doc, "resumed", 0),
          (long long)edv__jint(doc, "runs_in_flight", 0));
}

static void print_costs(cli_ctx *ctx, json_object *doc)
{
  static const cli_col cols[] = {{"TIER", "tier"},
                                 {"TENANTS", "tenants"},
                                 {"PER TENANT", "per_tenant.total"},
                                 {"MONTHLY", "monthly_total"}};

  cli_print_table(ctx, edv__jget(doc, "tiers"), cols, 4);
  fprintf(ctx->out, "Total: %.2f %s per month for %lld tenants (%s)\n",
          json_object_get_double(edv__jget(doc, "monthly_total")),
          s_or(doc, "currency", "USD"), (long long)edv__jint(doc, "tenants", 0),
          s_or(doc, "basis", ""));
}

static void print_region(cli_ctx *ctx, json_object *rg)
{
  static const cli_col cols[] = {
      {"TIER", "tier"}, {"MORE THAT FIT", "fits"}, {"BOUND BY", "binding"}};

  fprintf(ctx->out, "Region %s%s%s\n", s_or(rg, "region", "?"),
          edv__jstr(rg, "error") ? ": " : "", s_or(rg, "error", ""));
  if (json_object_array_length(edv__jget(rg, "tenants_that_fit")))
    cli_print_table(ctx, edv__jget(rg, "tenants_that_fit"), cols, 3);
}

static void print_capacity(cli_ctx *ctx, json_object *doc)
{
  json_object *regions = edv__jget(doc, "regions");

  fprintf(ctx->out, "As of %s (%lld s ago)\n", s_or(doc, "as_of", "?"),
          (long long)edv__jint(doc, "age_s", 0));
  for (size_t i = 0; i < json_object_array_length(regions); i++)
    print_region(ctx, json_object_array_get_idx(regions, i));
  fprintf(ctx->out, "Subnets: %lld of %lld used in %s (/%lld)\n",
          (long long)edv__jint(doc, "subnets.used", 0),
          (long long)edv__jint(doc, "subnets.total", 0),
          s_or(edv__jget(doc, "subnets"), "supernet", "?"),
          (long long)edv__jint(doc, "subnets.prefix", 0));
  if (edv__jget(doc, "url_map"))
    fprintf(ctx->out, "URL map: %lld host rules\n",
            (long long)edv__jint(doc, "url_map.host_rules", 0));
  if (edv__jget(doc, "sql"))
    fprintf(ctx->out, "Cloud SQL: %lld of %lld instances\n",
            (long long)edv__jint(doc, "sql.instances", 0),
            (long long)edv__jint(doc, "sql.limit", 0));
}

static void print_release(cli_ctx *ctx, json_object *doc)
{
  fprintf(ctx->out, "Release %s: image %s%s%s%s\n", s_or(doc, "version", "?"),
          s_or(doc, "image", "?"),
          edv__jstr(doc, "image_family") ? " (family " : "",
          s_or(doc, "image_family", ""),
          edv__jstr(doc, "image_family") ? ")" : "");
  if (json_object_get_boolean(edv__jget(doc, "current")))
    fprintf(ctx->out, "It is the current release: new tenants run it.\n");
}

static void print_releases(cli_ctx *ctx, json_object *doc)
{
  static const cli_col cols[] = {{"VERSION", "version"},
                                 {"IMAGE", "image"},
                                 {"FAMILY", "image_family"},
                                 {"CREATED", "created"},
                                 {"CURRENT", "current"}};

  cli_print_table(ctx, edv__jget(doc, "releases"), cols, 5);
  fprintf(ctx->out, "Current release: %s\n", s_or(doc, "current", "none"));
}

static void print_incidents(cli_ctx *ctx, json_object *doc)
{
  static const cli_col cols[] = {{"TENANT", "tenant"},     {"ALERT", "alert"},
                                 {"SEVERITY", "severity"}, {"STATE", "state"},
                                 {"SINCE", "started"},     {"ENDED", "ended"},
                                 {"SUMMARY", "summary"}};
  json_object *by = edv__jget(doc, "open.by_alert");

  cli_print_table(ctx, edv__jget(doc, "incidents"), cols,
                  sizeof(cols) / sizeof(cols[0]));
  fprintf(ctx->out, "Open: %lld\n", (long long)edv__jint(doc, "open.total", 0));
  for (size_t i = 0; i < json_object_array_length(by); i++) {
    json_object *x = json_object_array_get_idx(by, i);
    fprintf(ctx->out, "  %-24s %-10s %lld\n", s_or(x, "alert", "-"),
            s_or(x, "severity", "-"), (long long)edv__jint(x, "count", 0));
  }
  if (edv__jstr(doc, "next_page_token"))
    fprintf(ctx->out, "More incidents: see GET /api/alerts/incidents "
                      "with page_token.\n");
}

/* ---- entry ---------------------------------------------------------------*/

static int day2_run(cli_ctx *ctx, const cli_args *args, day2_local fn,
                    void (*print)(cli_ctx *, json_object *))
{
  json_object *doc = NULL;
  int result;

  if (cli_remote_on(ctx)) {
    result = run_remote(ctx, args, &doc);
    if (result == CLI_EXIT_OK && doc && edv__jstr(doc, "kind"))
      result = remote_job_wait(ctx, args, doc);
  } else {
    result = run_local(ctx, args, fn, &doc);
  }
  if (result && result != CLI_EXIT_API) {
    json_object_put(doc);
    return result;
  }
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, doc);
  else
    print(ctx, doc);
  json_object_put(doc);
  return result;
}

int cli_cmd_tenant_backup(cli_ctx *ctx, const cli_args *args)
{
  cli_progress(ctx, "Backing up the database of tenant %s", args->argv[0]);
  return day2_run(ctx, args, l_backup, print_job);
}

int cli_cmd_tenant_backups(cli_ctx *ctx, const cli_args *args)
{
  return day2_run(ctx, args, l_backups, print_backups);
}

int cli_cmd_tenant_restore(cli_ctx *ctx, const cli_args *args)
{
  if (cli_arg(args, "to-time")) {
    if (cli_arg(args, "backup"))
      return cli_usage_error(ctx, "--backup and --to-time exclude each other");
    cli_progress(ctx, "Restoring the database of tenant %s to %s",
                 args->argv[0], cli_arg(args, "to-time"));
    return day2_run(ctx, args, l_restore_time, print_job);
  }
  if (!cli_arg(args, "backup"))
    return cli_usage_error(ctx,
                           "--backup B or --to-time T is required (see "
                           "`edvctl tenant backups %s`)",
                           args->argv[0]);
  cli_progress(ctx, "Restoring the database of tenant %s from backup %s",
               args->argv[0], cli_arg(args, "backup"));
  return day2_run(ctx, args, l_restore, print_job);
}

int cli_cmd_tenant_metrics(cli_ctx *ctx, const cli_args *args)
{
  return day2_run(ctx, args, l_metrics, print_metrics);
}

int cli_cmd_infra_status(cli_ctx *ctx, const cli_args *args)
{
  return day2_run(ctx, args, l_status, print_status);
}

int cli_cmd_infra_costs(cli_ctx *ctx, const cli_args *args)
{
  return day2_run(ctx, args, l_costs, print_costs);
}

int cli_cmd_infra_capacity(cli_ctx *ctx, const cli_args *args)
{
  return day2_run(ctx, args, l_capacity, print_capacity);
}

int cli_cmd_infra_incidents(cli_ctx *ctx, const cli_args *args)
{
  const char *st = cli_arg(args, "state");

  if (st && strcmp(st, "open") && strcmp(st, "closed") && strcmp(st, "all"))
    return cli_usage_error(ctx, "--state: '%s' is not open, closed or all", st);
  return day2_run(ctx, args, l_incidents, print_incidents);
}

int cli_cmd_infra_reconcile(cli_ctx *ctx, const cli_args *args)
{
  cli_progress(ctx, "Reconciling the fleet: resuming interrupted tenants");
  return day2_run(ctx, args, l_reconcile, print_reconcile);
}

int cli_cmd_release_create(cli_ctx *ctx, const cli_args *args)
{
  if (!cli_arg(args, "image") == !cli_arg(args, "image-family"))
    return cli_usage_error(ctx, "give exactly one of --image and "
                                "--image-family");
  cli_progress(ctx, "Checking the image of release %s", args->argv[0]);
  return day2_run(ctx, args, l_release_create, print_release);
}

int cli_cmd_release_list(cli_ctx *ctx, const cli_args *args)
{
  return day2_run(ctx, args, l_release_list, print_releases);
}
