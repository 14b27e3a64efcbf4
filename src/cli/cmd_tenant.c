/*
 * cmd_tenant.c - `edvctl platform init`, `edvctl tenant ...`, `edvctl tiers
 * list`: the fleet commands, run through the library's fleet (edv/fleet.h).
 *
 * Every command opens the engine (cli_engine, with the embedded simulator
 * under --sim) and the fleet on it (the state store in the state directory,
 * the tiers file), calls the edv_tenant_* operation and prints its answer:
 * with --format json the library's document as it is (the same as the
 * Management API's), else rendered by the functions of remote.h, which the
 * remote mode shares. Long work shows progress from the fleet's events: on
 * a terminal a live view of the tenant's steps, redrawn in place; otherwise
 * one line per transition; with --format json nothing (progress.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/remote.h"
#include "edv/fleet.h"
#include "edv/tiers.h"
#ifdef EDV_CLI_HAVE_SIM
#include "edv/sim.h"
#endif

/* Where the tiers file is looked for, after the config's tiers_file and
 * ./tiers.json: the installed copy, then the source tree's (for a build
 * not installed), both set by meson. */
#ifndef EDV_TIERS_INSTALLED
#define EDV_TIERS_INSTALLED "/usr/local/share/edv/tiers.json"
#endif
#ifndef EDV_TIERS_SOURCE
#define EDV_TIERS_SOURCE "tiers.json"
#endif

static const char *const tiers_fallbacks[] = {EDV_TIERS_INSTALLED,
                                              EDV_TIERS_SOURCE, NULL};

/* The tenant of the platform's events (edv_event, edv/fleet.h). */
#define PLATFORM "@platform"

#define JS(o, k) json_object_get_string(json_object_object_get((o), (k)))

/* ---- the fleet ----------------------------------------------------------*/

typedef struct job {
  cli_ctx *ctx;
  edv_fleet *fleet;    /* NULL once closed */
  cli_view view;       /* progress of the run(s) */
  int view_on;         /* view started */
  char view_id[64];    /* the tenant whose first event starts the view */
  char heading[160];   /* its heading */
  int view_platform;   /* the platform's steps */
  int view_any;        /* lines for any tenant (resume --all) */
  int ran;             /* the tenant's run sent events */
  json_object *answer; /* the last answer, or NULL */
  edv_error err;       /* the last answer's error */
  int closing, closed; /* edv_fleet_close called, done */
} job;

static void view_begin(job *j)
{
  if (j->view_on)
    return;
  cli_view_start(&j->view, j->ctx, j->view_any ? NULL : j->view_id, j->heading,
                 j->view_platform, !j->view_any);
  j->view_on = 1;
}

static void on_event(void *data, const edv_event *ev)
{
  job *j = data;

  if (!j->view_id[0] && !j->view_any)
    return;
  if (!j->view_any && strcmp(ev->tenant, j->view_id) != 0)
    return;
  /* Started by the run's first event: a refusal before it (a bad region,
   * a foreign DNS record) draws no frame. */
  j->ran = 1;
  view_begin(j);
  cli_view_event(&j->view, ev);
}

/* The progress view of `tenant`'s steps, drawn from its first event
 * (NULL: one line per transition of any tenant). */
static void watch(job *j, const char *tenant, int platform, const char *fmt,
                  ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void watch(job *j, const char *tenant, int platform, const char *fmt,
                  ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(j->heading, sizeof(j->heading), fmt, ap);
  va_end(ap);
  snprintf(j->view_id, sizeof(j->view_id), "%s", tenant ? tenant : "");
  j->view_any = tenant == NULL;
  j->view_platform = platform;
}

int cli_fleet_open(cli_ctx *ctx, edv_fleet **out)
{
  edv_fleet_options o;
  edv_error err;
  int result;

  if ((result = cli_engine(ctx)) != CLI_EXIT_OK ||
      (result = cli_config(ctx)) != CLI_EXIT_OK)
    return result;
  memset(&o, 0, sizeof(o));
  o.engine = ctx->engine;
  o.config = ctx->cfg;
  o.state_dir = cli_state_dir(ctx);
  o.actor = "edvctl";
  o.tiers_fallbacks = tiers_fallbacks;
  if (ctx->use_sim) {
    /* The simulator's clock is quick; poll it often. */
    o.poll_ms = 250;
    o.retry_base_ms = 250;
#ifdef EDV_CLI_HAVE_SIM
    /* Metric points and intervals on the simulator's clock. */
    o.cloud_clock = edv_sim_clock;
    o.cloud_clock_data = ctx->sim;
#endif
  }
  if (edv_fleet_open(&o, out, &err))
    return cli_fail(ctx, &err);
  return CLI_EXIT_OK;
}

static int job_open(cli_ctx *ctx, job *j)
{
  edv_error err;
  int result;

  memset(j, 0, sizeof(*j));
  j->ctx = ctx;
  if ((result = cli_fleet_open(ctx, &j->fleet)) != CLI_EXIT_OK)
    return result;
  if (!edv_fleet_subscribe(j->fleet, on_event, j)) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    return cli_fail(ctx, &err);
  }
  return CLI_EXIT_OK;
}

static void fleet_closed(void *data)
{
  job *j = data;

  j->closed = 1;
  j->fleet = NULL;
}

/* Stops every run at a durable point (their waiters get EDV_ECANCELED)
 * and closes the fleet. */
static void job_stop(job *j)
{
  if (!j->fleet || j->closing)
    return;
  j->closing = 1;
  edv_fleet_close(j->fleet, fleet_closed, j);
}

static void job_close(job *j)
{
  if (j->view_on) {
    cli_view_close(&j->view);
    j->view_on = 0;
  }
  job_stop(j);
  while (j->closing && !j->closed)
    uv_run(j->ctx->loop, UV_RUN_ONCE);
  json_object_put(j->answer);
  j->answer = NULL;
}

/* A job that failed to open, or ends with `result`. */
static int job_end(job *j, int result)
{
  job_close(j);
  return result;
}

static void on_answer(void *data, json_object *doc, const edv_error *err)
{
  job *j = data;

  json_object_put(j->answer);
  j->answer = json_object_get(doc);
  memset(&j->err, 0, sizeof(j->err));
  if (!doc)
    j->err = *err;
  j->ctx->done = 1;
}

static void on_interrupt(void *data)
{
  job *j = data;

  /* Stop at a durable point: every record stays consistent and `tenant
   * resume` continues from it. */
  if (j->view_on)
    cli_view_stopping(&j->view);
  job_stop(j);
}

/*
 * Waits for the answer of the operation that returned `result` (0, or an
 * edv_code with `err` filled): j->answer, or the exit code of its error
 * (in j->err, not printed).
 */
static int job_wait(job *j, int result, const edv_error *err)
{
  cli_ctx *ctx = j->ctx;

  json_object_put(j->answer);
  j->answer = NULL;
  if (result) {
    j->err = *err;
    return cli_exit_code(ctx, err);
  }
  ctx->done = 0;
  ctx->on_interrupt = on_interrupt;
  ctx->interrupt_data = j;
  cli_loop_run(ctx);
  ctx->on_interrupt = NULL;
  if (j->answer)
    return CLI_EXIT_OK;
  return cli_exit_code(ctx, &j->err);
}

/* job_wait, printing the error. */
static int job_do(job *j, int result, const edv_error *err)
{
  if ((result = job_wait(j, result, err)) != CLI_EXIT_OK)
    return cli_fail(j->ctx, &j->err);
  return CLI_EXIT_OK;
}

/*
 * The end of a long operation waited for with job_wait (`result` its
 * exit code): the view's last frame and, when interrupted, how to go on.
 * `what` names the work ("school001", "the platform"). Prints the error
 * and returns the exit code.
 */
static int run_end(job *j, int result, const char *what)
{
  cli_ctx *ctx = j->ctx;
  double secs =
      j->view_on ? (double)(uv_now(ctx->loop) - j->view.start_ms) / 1e3 : 0;
  json_object *t = j->answer && json_object_object_get(j->answer, "tenant")
                       ? json_object_object_get(j->answer, "tenant")
                       : j->answer;
  const char *phase = JS(t, "phase");

  if (ctx->interrupted) {
    if (j->view_on)
      cli_view_finish(&j->view, 1, "Interrupted after %.1fs.", secs);
    if (strcmp(what, "the platform") == 0)
      fprintf(ctx->err,
              "%s: interrupted; the platform's record is consistent: run "
              "`edvctl platform init` again to finish it\n",
              ctx->prog);
    else
      fprintf(ctx->err,
              "%s: interrupted; the record of %s is consistent: continue "
              "with `edvctl tenant resume %s`\n",
              ctx->prog, what, strchr(what, ' ') ? "--all" : what);
    return CLI_EXIT_INTERRUPTED;
  }
  if (j->view_on) {
    char who[96];
    snprintf(who, sizeof(who), "%s", what);
    if (strncmp(who, "the ", 4) == 0)
      who[0] = 'T'; /* "The platform ...": a sentence */
    if (result)
      cli_view_finish(&j->view, 0, "%s FAILED after %.1fs.", who, secs);
    else
      cli_view_finish(&j->view, 0, "%s is %s (%.1fs).", who,
                      phase ? phase : "READY", secs);
  }
  if (result)
    return cli_fail(ctx, &j->err);
  return CLI_EXIT_OK;
}

/* Reads the tenant document of `id` (with the live state when
 * `observe`) into j->answer. */
static int job_get(job *j, const char *id, int observe)
{
  edv_error err;

  return job_do(j,
                edv_tenant_get(j->fleet, id, observe ? EDV_FLEET_OBSERVE : 0,
                               on_answer, j, &err),
                &err);
}

/* The tenant's summary with the live state of its resources (JSON: the
 * document). */
static void print_summary(job *j, const char *id)
{
  if (!j->fleet || job_get(j, id, 1) != CLI_EXIT_OK)
    return;
  cli_tenant_print_summary(j->ctx, j->answer);
}

/* Prints `doc` (JSON), else the tenant's summary. */
static void print_result(job *j, json_object *doc, const char *id)
{
  if (j->ctx->format == CLI_FORMAT_JSON)
    cli_print_json(j->ctx, doc);
  else
    print_summary(j, id);
}

/* The tiers file, for the commands that need no fleet: config tiers_file
 * (EDV_TIERS_FILE), else ./tiers.json, else the installed copy, else the
 * source tree's (the fleet's lookup). */
static int load_tiers(cli_ctx *ctx, json_object **out)
{
  edv_error err;
  int result;

  if ((result = cli_config(ctx)) != CLI_EXIT_OK)
    return result;
  if (edv_tiers_load(ctx->cfg, tiers_fallbacks, out, &err))
    return cli_fail(ctx, &err);
  return CLI_EXIT_OK;
}

/* ---- rendering (shared with remote.c) -----------------------------------*/

json_object *cli_tenant_tiers(cli_ctx *ctx)
{
  json_object *t = NULL;
  edv_error err;

  /* Silent: without a tiers file the figures are left out. */
  if (cli_config(ctx) || edv_tiers_load(ctx->cfg, tiers_fallbacks, &t, &err))
    return NULL;
  return t;
}

/* The tier called `name` of a tiers document, or NULL. */
static json_object *tier_find(json_object *tiers, const char *name)
{
  json_object *list = json_object_object_get(tiers, "tiers");

  if (!name || !json_object_is_type(list, json_type_array))
    return NULL; /* no tiers file */
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *t = json_object_array_get_idx(list, i);
    if (JS(t, "name") && strcmp(JS(t, "name"), name) == 0)
      return t;
  }
  return NULL;
}

/* "2026-11-28T01:02:03.456Z" as milliseconds since the epoch; 0 for none. */
static int64_t time_ms(const char *s)
{
  struct tm tm;
  int y, mo, d, h, mi, se, ms = 0;

  if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &se,
                   &ms) < 6)
    return 0;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return (int64_t)timegm(&tm) * 1000 + ms;
}

/* One resource's line: its name from "resources", its live state from
 * "observed" (absent: not observed). */
static void print_resource(cli_ctx *ctx, json_object *o, const char *label,
                           const char *key, const char *name_key,
                           const char *what)
{
  json_object *seen =
      json_object_object_get(json_object_object_get(o, "observed"), key);
  const char *name = JS(json_object_object_get(o, "resources"), name_key);
  const char *ip = JS(seen, "private_ip");

  if (JS(seen, "name"))
    name = JS(seen, "name");
  fprintf(ctx->out, "%-12s %s: %s%s%s%s%s\n", label, name ? name : "-", what,
          *what ? "; " : "", seen ? JS(seen, "state") : "not observed",
          ip ? ", " : "", ip ? ip : "");
}

void cli_tenant_print_summary(cli_ctx *ctx, json_object *o)
{
  json_object *v;
  char what[160] = "";

  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, o);
    return;
  }
  fprintf(ctx->out, "Tenant       %s: %s\n", JS(o, "id"),
          JS(o, "display_name"));
  fprintf(ctx->out, "Phase        %s\n", JS(o, "phase"));
  v = json_object_object_get(o, "final_backup");
  if (v)
    fprintf(ctx->out, "Final backup %s, kept until %s (tenant recover)\n",
            JS(v, "name"), JS(v, "expires") ? JS(v, "expires") : "unknown");
  v = json_object_object_get(o, "urls");
  fprintf(ctx->out, "URL          %s", JS(o, "url"));
  if (v && json_object_array_length(v) > 1)
    fprintf(ctx->out, " (also %s)",
            json_object_get_string(json_object_array_get_idx(v, 1)));
  fputc('\n', ctx->out);
  fprintf(ctx->out, "Tier         %s, region %s\n", JS(o, "tier"),
          JS(o, "region"));
  /* The tier's sizes from the document (null: a tier the fleet's tiers
   * file no longer has). */
  if (JS(o, "machine_type"))
    snprintf(what, sizeof(what), "%s, %d GB %s", JS(o, "machine_type"),
             json_object_get_int(json_object_object_get(o, "disk_gb")),
             JS(o, "disk_type"));
  print_resource(ctx, o, "VM", "vm", "vm", what);
  what[0] = '\0';
  if (JS(o, "sql_tier"))
    snprintf(what, sizeof(what), "PostgreSQL, %s%s", JS(o, "sql_tier"),
             json_object_get_boolean(json_object_object_get(o, "sql_ha"))
                 ? " regional HA"
                 : "");
  print_resource(ctx, o, "Database", "database", "sql_instance", what);
  print_resource(ctx, o, "Certificate", "certificate", "certificate", "");
  /* Recorded, and what the VM reports running (observed). */
  fprintf(ctx->out, "Release      %s; the VM reports %s\n",
          JS(o, "release") ? JS(o, "release") : "none",
          JS(o, "release_observed") ? JS(o, "release_observed")
                                    : "nothing (not observed)");
  if ((v = json_object_object_get(o, "max_users")))
    fprintf(ctx->out, "Licences     %d users\n", json_object_get_int(v));
  v = json_object_object_get(o, "app_access");
  if (v && json_object_array_length(v) > 0) {
    fprintf(ctx->out, "Apps         ");
    for (size_t i = 0; i < json_object_array_length(v); i++)
      fprintf(ctx->out, "%s%s", i ? ", " : "",
              json_object_get_string(json_object_array_get_idx(v, i)));
    fputc('\n', ctx->out);
  }
  v = json_object_object_get(o, "monthly_cost_estimate");
  if (v)
    fprintf(ctx->out, "Cost         ~$%.2f a month (list prices, %s)\n",
            json_object_get_double(json_object_object_get(v, "total")),
            JS(v, "currency"));
  fprintf(ctx->out, "Last error   %s\n",
          JS(o, "last_error") ? JS(o, "last_error") : "none");
  fflush(ctx->out); /* before any hint on stderr */
}

void cli_tenant_print_steps(cli_ctx *ctx, json_object *steps)
{
  static const cli_col cols[] = {
      {"STEP", "step"}, {"STATE", "state"}, {"ATTEMPTS", "attempt"},
      {"TOOK", "took"}, {"ERROR", "error"},
  };
  json_object *rows;

  if (json_object_array_length(steps) == 0)
    return;
  rows = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(steps); i++) {
    json_object *s = json_object_array_get_idx(steps, i), *row;
    int64_t t0 = time_ms(JS(s, "started")), t1 = time_ms(JS(s, "finished"));
    char took[32] = "-";

    if (t0 > 0 && t1 >= t0)
      snprintf(took, sizeof(took), "%.1fs", (double)(t1 - t0) / 1e3);
    row = json_object_new_object();
    json_object_object_add(row, "step",
                           json_object_new_string(JS(s, "title")
                                                      ? JS(s, "title")
                                                      : JS(s, "name")));
    json_object_object_add(row, "state",
                           json_object_get(json_object_object_get(s, "state")));
    json_object_object_add(
        row, "attempt", json_object_get(json_object_object_get(s, "attempt")));
    json_object_object_add(row, "took", json_object_new_string(took));
    json_object_object_add(row, "error",
                           json_object_get(json_object_object_get(s, "error")));
    json_object_array_add(rows, row);
  }
  fputc('\n', ctx->out);
  cli_out_table(ctx->out, rows, cols, sizeof(cols) / sizeof(*cols));
  json_object_put(rows);
}

void cli_tenant_print_list(cli_ctx *ctx, json_object *list)
{
  static const cli_col cols[] = {
      {"ID", "id"},         {"SLUG", "slug"},   {"TIER", "tier"},
      {"REGION", "region"}, {"PHASE", "phase"}, {"URL", "url"},
  };

  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, list);
  else
    cli_print_table(ctx, list, cols, sizeof(cols) / sizeof(*cols));
}

void cli_tenant_print_history(cli_ctx *ctx, json_object *doc)
{
  static const cli_col cols[] = {
      {"TIME", "time"}, {"ACTOR", "actor"},   {"EVENT", "event"},
      {"STEP", "step"}, {"DETAIL", "detail"},
  };
  json_object *arr = json_object_object_get(doc, "events"), *rows;

  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, doc);
    return;
  }
  rows = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i), *row;
    const char *t = JS(e, "time");
    int64_t dur =
        json_object_get_int64(json_object_object_get(e, "duration_ms"));
    char when[32], detail[1600];
    size_t n = 0;

    /* to the second: "2026-12-07T09:43:09Z" */
    snprintf(when, sizeof(when), "%.19sZ", t ? t : "?");
    detail[0] = '\0';
    if (JS(e, "detail"))
      n += (size_t)snprintf(detail, sizeof(detail), "%s", JS(e, "detail"));
    if (dur && n < sizeof(detail))
      n += (size_t)snprintf(detail + n, sizeof(detail) - n, "%s(%lld ms)",
                            n ? " " : "", (long long)dur);
    if (JS(e, "error") && n < sizeof(detail))
      snprintf(detail + n, sizeof(detail) - n, "%sERROR %s", n ? " " : "",
               JS(e, "error"));
    row = json_object_new_object();
    json_object_object_add(row, "time", json_object_new_string(when));
    json_object_object_add(row, "actor",
                           json_object_get(json_object_object_get(e, "actor")));
    json_object_object_add(row, "event",
                           json_object_get(json_object_object_get(e, "event")));
    json_object_object_add(row, "step",
                           json_object_get(json_object_object_get(e, "step")));
    json_object_object_add(row, "detail",
                           detail[0] ? json_object_new_string(detail) : NULL);
    json_object_array_add(rows, row);
  }
  cli_print_table(ctx, rows, cols, sizeof(cols) / sizeof(*cols));
  json_object_put(rows);
}

/* Sorts a list's tenants by id (qsort order of json_object_array_sort). */
static int by_id(const void *a, const void *b)
{
  json_object *const *x = a, *const *y = b;

  return strcmp(JS(*x, "id"), JS(*y, "id"));
}

void cli_tenant_list_sort(json_object *list)
{
  json_object_array_sort(json_object_object_get(list, "tenants"), by_id);
}

/* ---- platform init -------------------------------------------------------*/

int cli_cmd_platform_init(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv_error err;
  int result;

  (void)args;
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK)
    return job_end(&j, result);
  watch(&j, PLATFORM, 1, "Platform of project %s",
        edv_engine_project(ctx->engine));
  view_begin(&j);
  result = job_wait(
      &j, edv_fleet_platform_init(j.fleet, 0, on_answer, &j, &err), &err);
  result = run_end(&j, result, "the platform");
  if (result == CLI_EXIT_OK && ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, j.answer);
  else if (result == CLI_EXIT_OK)
    fprintf(ctx->out, "Platform ready.\n");
  return job_end(&j, result);
}

/* ---- tenant create -------------------------------------------------------*/

/* A spec error ("field 'slug' ...") with the argument and the value that
 * was given in front: "SLUG 'Green_Wood': field 'slug' ...". `given` holds
 * the five arguments (ID SLUG NAME TIER REGION) as the caller gave them. */
static int spec_error(cli_ctx *ctx, const char *const given[5], const char *msg)
{
  static const struct {
    const char *field, *arg;
    int i;
  } args[] = {
      {"field 'id'", "ID", 0},
      {"field 'slug'", "SLUG", 1},
      {"field 'display_name'", "NAME", 2},
      {"field 'tier'", "TIER", 3},
      {"field 'region'", "REGION", 4},
  };

  for (size_t i = 0; i < sizeof(args) / sizeof(*args); i++)
    if (strncmp(msg, args[i].field, strlen(args[i].field)) == 0)
      return cli_usage_error(ctx, "%s '%s': %s", args[i].arg, given[args[i].i],
                             msg);
  return cli_usage_error(ctx, "%s", msg);
}

/* The tier and the hostnames of a spec whose fields have the right form,
 * offline (edv_tenant_spec_check, edv/tiers.h). */
static int validate_spec(cli_ctx *ctx, json_object *spec,
                         const char *const given[5])
{
  json_object *tiers = NULL, *list;
  const char *tier = JS(spec, "tier");
  edv_error err;
  char known[256] = "";
  size_t off = 0;
  int result;

  if ((result = cli_config(ctx)) || (result = load_tiers(ctx, &tiers)))
    return result;
  if (!tier_find(tiers, tier)) {
    list = json_object_object_get(tiers, "tiers");
    for (size_t i = 0;
         i < json_object_array_length(list) && off < sizeof(known); i++)
      off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
                              i ? ", " : "",
                              JS(json_object_array_get_idx(list, i), "name"));
    json_object_put(tiers);
    return cli_usage_error(ctx, "TIER '%s' is not a known tier (known: %s)",
                           tier, known);
  }
  result = edv_tenant_spec_check(spec, tiers, ctx->cfg, &err);
  json_object_put(tiers);
  return result ? spec_error(ctx, given, err.message) : CLI_EXIT_OK;
}

/* The spec of `tenant create ID SLUG NAME TIER REGION [--ops-ssh]`. */
static json_object *spec_of(const cli_args *args)
{
  static const char *const keys[] = {"id", "slug", "display_name", "tier",
                                     "region"};
  json_object *spec = json_object_new_object();

  for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
    json_object_object_add(spec, keys[i],
                           json_object_new_string(args->argv[i]));
  if (cli_arg(args, "ops-ssh"))
    json_object_object_add(spec, "ops_ssh", json_object_new_boolean(1));
  return spec;
}

int cli_cmd_tenant_create(cli_ctx *ctx, const cli_args *args)
{
  job j;
  const char *const *given = (const char *const *)args->argv;
  edv_error err;
  json_object *body;
  int result, wait;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  /* The same checks as the library's: a value too long for its field is
   * refused, never cut to fit. */
  body = spec_of(args);
  if (edv_tenant_spec_check(body, NULL, NULL, &err)) {
    json_object_put(body);
    return spec_error(ctx, given, err.message);
  }
  if (cli_arg(args, "wait") &&
      (cli_arg(args, "no-wait") || cli_arg(args, "async"))) {
    json_object_put(body);
    return cli_usage_error(ctx, "--wait and --async exclude each other");
  }
  /* Waits by default, as every long operation (a script must not take a
   * recorded tenant for a provisioned one); --no-wait is --async's older
   * name. */
  wait = !cli_arg(args, "async") && !cli_arg(args, "no-wait");
  /* The fields, the tier and the hostnames are checked here, offline,
   * before the engine or the simulator starts; the region and the DNS
   * zone by the library before anything is recorded. */
  if ((result = validate_spec(ctx, body, given)) != CLI_EXIT_OK) {
    json_object_put(body);
    return result;
  }
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK) {
    json_object_put(body);
    return job_end(&j, result);
  }
  watch(&j, given[0], 0, "Provisioning %s (%s, %s, %s)", given[0], given[1],
        given[3], given[4]);
  result = job_wait(&j,
                    edv_tenant_create(j.fleet, body, wait ? 0 : EDV_FLEET_ASYNC,
                                      on_answer, &j, &err),
                    &err);
  json_object_put(body);
  if (result && !j.ran && !ctx->interrupted) {
    /* Refused before anything ran: the field it names, as given. */
    if (j.err.code == EDV_EINVAL)
      return job_end(
          &j, spec_error(ctx, (const char *const *)args->argv, j.err.message));
    return job_end(&j, cli_fail(ctx, &j.err));
  }
  if (!wait) {
    /* Started (or waiting for the platform): closing the fleet stops it
     * at a durable point, where resume or edvd goes on. */
    if (ctx->format == CLI_FORMAT_JSON)
      cli_print_json(ctx, j.answer);
    else
      fprintf(ctx->out,
              "Tenant %s recorded (%s). Follow it with `edvctl tenant get "
              "%s`; edvd (or `edvctl tenant resume %s`) provisions it.\n",
              given[0], JS(j.answer, "phase"), given[0], given[0]);
    return job_end(&j, CLI_EXIT_OK);
  }
  result = run_end(&j, result, given[0]);
  if (result != CLI_EXIT_INTERRUPTED) {
    print_summary(&j, given[0]);
    if (result && !ctx->quiet && ctx->format != CLI_FORMAT_JSON)
      fprintf(ctx->err,
              "%s: tenant %s is FAILED; fix the cause above, then run "
              "`edvctl tenant retry %s`\n",
              ctx->prog, given[0], given[0]);
  }
  return job_end(&j, result);
}

/* ---- tenant list / get / state / history ---------------------------------*/

/* One query of the list, every page, into `all`'s "tenants". An invalid
 * filter is a usage error naming the flag. */
static int list_pages(job *j, const char *tier, const char *state,
                      json_object *all)
{
  edv_tenant_query q;
  char token[256] = "";
  edv_error err;
  int result;

  memset(&q, 0, sizeof(q));
  q.tier = tier;
  q.state = state;
  q.limit = 1000;
  do {
    json_object *ts;
    q.page_token = token[0] ? token : NULL;
    result = edv_tenant_list(j->fleet, &q, on_answer, j, &err);
    if (result == EDV_EINVAL) /* "state: 'x' is not a phase" */
      return cli_usage_error(j->ctx, "--%s", err.message);
    if ((result = job_do(j, result, &err)) != CLI_EXIT_OK)
      return result;
    ts = json_object_object_get(j->answer, "tenants");
    for (size_t i = 0; i < json_object_array_length(ts); i++)
      json_object_array_add(json_object_object_get(all, "tenants"),
                            json_object_get(json_object_array_get_idx(ts, i)));
    snprintf(token, sizeof(token), "%s",
             JS(j->answer, "next_page_token") ? JS(j->answer, "next_page_token")
                                              : "");
  } while (token[0]);
  return CLI_EXIT_OK;
}

json_object *cli_tenant_list_new(void)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "tenants", json_object_new_array());
  json_object_object_add(o, "next_page_token", NULL);
  return o;
}

int cli_cmd_tenant_list(cli_ctx *ctx, const cli_args *args)
{
  job j;
  json_object *all;
  const char *st = cli_arg(args, "state");
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK)
    return job_end(&j, result);
  all = cli_tenant_list_new();
  result = list_pages(&j, cli_arg(args, "tier"), st, all);
  /* --all: DELETED tenants are listed only when asked for. */
  if (result == CLI_EXIT_OK && cli_arg(args, "all") && !st) {
    result = list_pages(&j, cli_arg(args, "tier"), "DELETED", all);
    cli_tenant_list_sort(all);
  }
  if (result == CLI_EXIT_OK)
    cli_tenant_print_list(ctx, all);
  json_object_put(all);
  return job_end(&j, result);
}

static int tenant_show(cli_ctx *ctx, const cli_args *args, int whole)
{
  job j;
  int result;

  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK ||
      (result = job_get(&j, args->argv[0], !whole)) != CLI_EXIT_OK)
    return job_end(&j, result);
  if (whole) {
    /* The record as stored, as GET /api/tenants/ID: no live state. */
    json_object_object_del(j.answer, "observed");
    cli_print_json(ctx, j.answer);
  } else if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, j.answer);
  } else {
    cli_tenant_print_summary(ctx, j.answer);
    cli_tenant_print_steps(ctx, json_object_object_get(j.answer, "steps"));
  }
  return job_end(&j, CLI_EXIT_OK);
}

int cli_cmd_tenant_get(cli_ctx *ctx, const cli_args *args)
{
  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  return tenant_show(ctx, args, 0);
}

int cli_cmd_tenant_state(cli_ctx *ctx, const cli_args *args)
{
  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  return tenant_show(ctx, args, 1);
}

int cli_cmd_tenant_history(cli_ctx *ctx, const cli_args *args)
{
  job j;
  json_object *doc = NULL, *next;
  int64_t after = 0;
  edv_error err;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK)
    return job_end(&j, result);
  /* Every page into one document, as one answer would hold them. */
  do {
    result = job_do(&j,
                    edv_tenant_events(j.fleet, args->argv[0], after, 1000,
                                      on_answer, &j, &err),
                    &err);
    if (result)
      break;
    if (!doc)
      doc = json_object_get(j.answer);
    else
      cli_tenant_events_append(doc, j.answer);
    next = json_object_object_get(j.answer, "next_after");
    after = next ? json_object_get_int64(next) : 0;
  } while (after > 0);
  if (result == CLI_EXIT_OK)
    cli_tenant_print_history(ctx, doc);
  json_object_put(doc);
  return job_end(&j, result);
}

void cli_tenant_events_append(json_object *doc, json_object *page)
{
  json_object *to = json_object_object_get(doc, "events");
  json_object *from = json_object_object_get(page, "events");

  for (size_t i = 0; i < json_object_array_length(from); i++)
    json_object_array_add(to,
                          json_object_get(json_object_array_get_idx(from, i)));
  json_object_object_add(doc, "next_page_token", NULL);
  json_object_object_add(doc, "next_after", NULL);
}

/* ---- plan ----------------------------------------------------------------*/

/* The plan document (edv_tenant_plan) as terraform prints one. */
static void plan_print(cli_ctx *ctx, json_object *doc)
{
  json_object *changes = json_object_object_get(doc, "changes");
  json_object *drift = json_object_object_get(doc, "drift");
  json_object *unchecked = json_object_object_get(doc, "not_checked");
  size_t nc = json_object_array_length(changes);
  size_t nd = json_object_array_length(drift);
  int counts[4] = {0, 0, 0, 0}; /* create, update, delete, manual drift */

  if (nc == 0 && nd == 0) {
    fprintf(ctx->out,
            "No changes. Tenant %s (%s) matches its spec: a reconcile would "
            "make no call.\n",
            JS(doc, "tenant"), JS(doc, "phase"));
  } else {
    fprintf(ctx->out,
            "Tenant %s (%s, %s): a reconcile would make %zu "
            "call(s).\n\n",
            JS(doc, "tenant"), JS(doc, "tier"), JS(doc, "phase"), nc);
    for (size_t i = 0; i < nc; i++) {
      json_object *c = json_object_array_get_idx(changes, i);
      const char *act = JS(c, "action");
      int k = strcmp(act, "create") == 0   ? 0
              : strcmp(act, "delete") == 0 ? 2
                                           : 1;
      counts[k]++;
      fprintf(ctx->out, "  %c %s (%s)\n      %s %s\n", "+~-"[k], JS(c, "title"),
              JS(c, "step"), JS(c, "method"), JS(c, "path"));
    }
    for (size_t i = 0; i < nd; i++) {
      json_object *d = json_object_array_get_idx(drift, i);
      int fixed =
          json_object_get_boolean(json_object_object_get(d, "repaired"));
      const char *note = JS(d, "note");
      counts[3] += !fixed;
      fprintf(ctx->out, "  %s %s (%s)\n      %s%s\n", fixed ? "~" : "!",
              JS(d, "title"), JS(d, "step"),
              strncmp(note, "drift: ", 7) == 0 ? note + 7 : note,
              fixed ? " (the change above repairs it)" : "");
    }
    fprintf(ctx->out, "\nPlan: %d to create, %d to change, %d to delete%s.\n",
            counts[0], counts[1], counts[2],
            counts[3] ? "; drift marked ! needs a manual change" : "");
  }
  if (json_object_array_length(unchecked) > 0) {
    fprintf(ctx->out, "Not observed by a plan (shared resources, set by the "
                      "run itself):");
    for (size_t i = 0; i < json_object_array_length(unchecked); i++)
      fprintf(ctx->out, "%s %s", i ? "," : "",
              JS(json_object_array_get_idx(unchecked, i), "title"));
    fputs(".\n", ctx->out);
  }
}

/* The plan document, printed; CLI_EXIT_PLAN_CHANGES with
 * --detailed-exitcode when there is something to do (terraform plan
 * -detailed-exitcode). */
static int plan_show(cli_ctx *ctx, const cli_args *args, json_object *doc)
{
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, doc);
  else
    plan_print(ctx, doc);
  if (cli_arg(args, "detailed-exitcode") &&
      !json_object_get_boolean(json_object_object_get(doc, "in_sync")))
    return CLI_EXIT_PLAN_CHANGES;
  return CLI_EXIT_OK;
}

int cli_cmd_tenant_plan(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv_error err;
  int result;

  if (cli_remote_on(ctx)) {
    /* GET /api/tenants/ID/plan: the same document. */
    json_object *doc = NULL;
    result = cli_remote_request(ctx, "GET", args->argv[0], "/plan", NULL, NULL,
                                &doc);
    if (result == CLI_EXIT_OK)
      result = plan_show(ctx, args, doc);
    json_object_put(doc);
    return result;
  }
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK)
    return job_end(&j, result);
  /* A plan prints its result, not progress: no view. */
  result = job_do(
      &j, edv_tenant_plan(j.fleet, args->argv[0], on_answer, &j, &err), &err);
  if (result == CLI_EXIT_OK)
    result = plan_show(ctx, args, j.answer);
  return job_end(&j, result);
}

/* ---- the long operations --------------------------------------------------*/

/* Reads tenant `id` and sets the view's heading: "VERB ID (SLUG, TIER)
 * [what]". j->answer holds the tenant document. */
static int long_begin(job *j, const char *id, const char *verb,
                      const char *what)
{
  int result = job_get(j, id, 0);

  if (result == CLI_EXIT_OK)
    watch(j, JS(j->answer, "id"), 0, "%s %s (%s, %s)%s%s", verb,
          JS(j->answer, "id"), JS(j->answer, "slug"), JS(j->answer, "tier"),
          what ? ": " : "", what ? what : "");
  return result;
}

/*
 * Waits for the long operation on `id` that returned `result` and ends
 * its view; prints its error. An operation refused before it ran prints
 * no view.
 */
static int long_wait(job *j, const char *id, int result, const edv_error *err)
{
  result = job_wait(j, result, err);
  if (result && !j->ran && !j->ctx->interrupted)
    return cli_fail(j->ctx, &j->err);
  return run_end(j, result, id);
}

/* The summary after a long operation (not after an interruption): JSON
 * prints `doc`, the operation's answer. */
static int long_end(job *j, const char *id, int result)
{
  json_object *doc = json_object_get(j->answer);

  if (result != CLI_EXIT_INTERRUPTED && (doc || !j->ran))
    print_result(j, doc, id);
  else if (result != CLI_EXIT_INTERRUPTED)
    print_summary(j, id); /* FAILED: its last error */
  json_object_put(doc);
  return job_end(j, result);
}

/* --async: EDV_FLEET_ASYNC, else 0 (waiting, as every long operation does
 * by default). */
static unsigned async_flag(const cli_args *args)
{
  return cli_arg(args, "async") ? EDV_FLEET_ASYNC : 0;
}

/* The end of an operation started with --async: the answer (JSON), or one
 * line saying where it stands and how to follow it. edvctl's fleet closes
 * after this, which leaves the run at a durable point; edvd or `tenant
 * resume` carries it on. */
static int async_end(job *j, const char *id, const char *what, int result)
{
  cli_ctx *ctx = j->ctx;

  if (result != CLI_EXIT_OK) {
    if (!j->ran && !ctx->interrupted)
      result = cli_fail(ctx, &j->err);
    return job_end(j, result);
  }
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, j->answer);
  } else {
    json_object *t = json_object_object_get(j->answer, "tenant");
    fprintf(ctx->out,
            "Tenant %s: %s recorded (%s). Follow it with `edvctl tenant get "
            "%s`; edvd (or `edvctl tenant resume %s`) carries it on.\n",
            id, what, JS(t ? t : j->answer, "phase"), id, id);
  }
  return job_end(j, CLI_EXIT_OK);
}

int cli_cmd_tenant_retry(cli_ctx *ctx, const cli_args *args)
{
  const char *id = args->argv[0];
  job j;
  edv_error err;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK ||
      (result = long_begin(&j, id, "Retrying", NULL)) != CLI_EXIT_OK)
    return job_end(&j, result);
  result = edv_tenant_retry(j.fleet, id, async_flag(args), on_answer, &j, &err);
  if (async_flag(args))
    return async_end(&j, id, "the retry", job_wait(&j, result, &err));
  result = long_wait(&j, id, result, &err);
  if (result && !j.ran)
    return job_end(&j, result);
  return long_end(&j, id, result);
}

/* A long verb on one tenant (apply, recover): its progress, its end. */
static int long_verb(cli_ctx *ctx, const cli_args *args,
                     int (*fn)(edv_fleet *, const char *, unsigned,
                               edv_fleet_cb, void *, edv_error *),
                     const char *doing, const char *what,
                     const char *async_what)
{
  const char *id = args->argv[0];
  job j;
  edv_error err;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK ||
      (result = long_begin(&j, id, doing, what)) != CLI_EXIT_OK)
    return job_end(&j, result);
  result = fn(j.fleet, id, async_flag(args), on_answer, &j, &err);
  if (async_flag(args))
    return async_end(&j, id, async_what, job_wait(&j, result, &err));
  result = long_wait(&j, id, result, &err);
  if (result && !j.ran)
    return job_end(&j, result);
  return long_end(&j, id, result);
}

int cli_cmd_tenant_apply(cli_ctx *ctx, const cli_args *args)
{
  return long_verb(ctx, args, edv_tenant_apply, "Applying", "the plan",
                   "the reconcile");
}

int cli_cmd_tenant_recover(cli_ctx *ctx, const cli_args *args)
{
  return long_verb(ctx, args, edv_tenant_recover, "Recovering",
                   "from its final backup", "the recovery");
}

int cli_cmd_tenant_undelete(cli_ctx *ctx, const cli_args *args)
{
  return long_verb(ctx, args, edv_tenant_undelete, "Undeleting",
                   "from its deletion's grace", "the undelete");
}

/* long_verb's verbs take the tenant only: the region of the move being
 * started rides here (one command per process). */
static const char *move_region;

static unsigned move_flags;

static int move_fn(edv_fleet *fleet, const char *id, unsigned flags,
                   edv_fleet_cb cb, void *data, edv_error *err)
{
  return edv_tenant_move(fleet, id, move_region, flags | move_flags, cb, data,
                         err);
}

int cli_cmd_tenant_move(cli_ctx *ctx, const cli_args *args)
{
  char what[80];

  move_flags =
      cli_arg(args, "from-latest-backup") ? EDV_FLEET_LATEST_BACKUP : 0;
  move_region = cli_arg(args, "region");
  if (!move_region)
    return cli_usage_error(ctx, "tenant move: --region REGION is required");
  snprintf(what, sizeof(what), "to region %.40s", move_region);
  return long_verb(ctx, args, move_fn, "Moving", what, "the move");
}

void cli_tenant_print_notes(cli_ctx *ctx, json_object *answer)
{
  json_object *notes = json_object_object_get(answer, "notes");

  for (size_t i = 0; !ctx->quiet && i < json_object_array_length(notes); i++)
    fprintf(ctx->err, "%s: note: %s\n", ctx->prog,
            json_object_get_string(json_object_array_get_idx(notes, i)));
}

int cli_cmd_tenant_scale(cli_ctx *ctx, const cli_args *args)
{
  const char *id = args->argv[0], *tier = args->argv[1];
  job j;
  edv_error err;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK ||
      (result = long_begin(&j, id, "Scaling", tier)) != CLI_EXIT_OK)
    return job_end(&j, result);
  result = edv_tenant_scale(j.fleet, id, tier, async_flag(args), on_answer, &j,
                            &err);
  if (async_flag(args))
    return async_end(&j, id, "the scaling", job_wait(&j, result, &err));
  result = long_wait(&j, id, result, &err);
  if (result && !j.ran)
    return job_end(&j, result);
  if (result == CLI_EXIT_OK && ctx->format != CLI_FORMAT_JSON)
    cli_tenant_print_notes(ctx, j.answer);
  return long_end(&j, id, result);
}

/* The change of `tenant update` as the API's body ({display_name,
 * ops_ssh}) and its words for the heading ("display name 'X', operations
 * SSH on"); NULL after a usage error. */
json_object *cli_tenant_update_patch(cli_ctx *ctx, const cli_args *args,
                                     char *what, size_t size)
{
  const char *name = cli_arg(args, "display-name");
  const char *ops = cli_arg(args, "ops-ssh");
  json_object *patch;

  if (!ops && !name) {
    cli_usage_error(ctx, "nothing to change (--display-name NAME, --ops-ssh "
                         "on|off, --release VERSION)");
    return NULL;
  }
  if (ops && strcmp(ops, "on") != 0 && strcmp(ops, "off") != 0) {
    cli_usage_error(ctx, "--ops-ssh: '%s' is not on or off", ops);
    return NULL;
  }
  patch = json_object_new_object();
  if (name)
    json_object_object_add(patch, "display_name", json_object_new_string(name));
  if (ops)
    json_object_object_add(patch, "ops_ssh",
                           json_object_new_boolean(strcmp(ops, "on") == 0));
  snprintf(what, size, "%s%s%s%s%s%s", name ? "display name '" : "",
           name ? name : "", name ? "'" : "", name && ops ? ", " : "",
           ops ? "operations SSH " : "", ops ? ops : "");
  return patch;
}

/* tenant update ID --release VERSION: the release change, alone. */
static int update_release(cli_ctx *ctx, const cli_args *args)
{
  const char *id = args->argv[0], *version = cli_arg(args, "release");
  job j;
  edv_error err;
  int result;

  if (cli_arg(args, "display-name") || cli_arg(args, "ops-ssh"))
    return cli_usage_error(ctx, "--release: one change at a time (no "
                                "--display-name or --ops-ssh with it)");
  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK ||
      (result = long_begin(&j, id, "Updating", NULL)) != CLI_EXIT_OK)
    return job_end(&j, result);
  snprintf(j.heading + strlen(j.heading), sizeof(j.heading) - strlen(j.heading),
           ": to release %.48s", version);
  result = edv_tenant_set_release(j.fleet, id, version, 0, on_answer, &j, &err);
  if (result == EDV_EINVAL) /* a bad field, named: as a 400 with --server */
    return job_end(&j, cli_usage_error(ctx, "%s", err.message));
  result = long_wait(&j, id, result, &err);
  if (result && !j.ran)
    return job_end(&j, result);
  return long_end(&j, id, result);
}

int cli_cmd_tenant_update(cli_ctx *ctx, const cli_args *args)
{
  const char *id = args->argv[0];
  job j;
  edv_error err;
  json_object *patch;
  char what[200];
  int result;

  if (cli_arg(args, "release"))
    return update_release(ctx, args);
  if (!(patch = cli_tenant_update_patch(ctx, args, what, sizeof(what))))
    return CLI_EXIT_USAGE;
  if (cli_remote_on(ctx)) {
    json_object_put(patch);
    return cli_remote_tenant(ctx, args);
  }
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK ||
      (result = long_begin(&j, id, "Updating", NULL)) != CLI_EXIT_OK) {
    json_object_put(patch);
    return job_end(&j, result);
  }
  snprintf(j.heading + strlen(j.heading), sizeof(j.heading) - strlen(j.heading),
           ": %s", what);
  result = edv_tenant_update(j.fleet, id, patch, 0, on_answer, &j, &err);
  json_object_put(patch);
  if (result == EDV_EINVAL) /* a bad field, named: as a 400 with --server */
    return job_end(&j, cli_usage_error(ctx, "%s", err.message));
  result = long_wait(&j, id, result, &err);
  if (result && !j.ran)
    return job_end(&j, result);
  return long_end(&j, id, result);
}

/* resume --all: every interrupted tenant, lines for each. */
static int resume_all(cli_ctx *ctx, job *j)
{
  edv_error err;
  json_object *ts;
  size_t failed = 0;
  int result;

  watch(j, NULL, 0, "resume");
  result = job_wait(j, edv_tenant_resume(j->fleet, NULL, 0, on_answer, j, &err),
                    &err);
  result = run_end(j, result, "the tenants resumed");
  if (result)
    return result;
  ts = json_object_object_get(j->answer, "tenants");
  for (size_t i = 0; i < json_object_array_length(ts); i++) {
    json_object *t = json_object_array_get_idx(ts, i);
    if (JS(t, "phase") && strcmp(JS(t, "phase"), "FAILED") == 0) {
      failed++;
      fprintf(ctx->err, "%s: tenant %s FAILED: %s\n", ctx->prog, JS(t, "id"),
              JS(t, "last_error") ? JS(t, "last_error") : "?");
    }
  }
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, j->answer);
  else
    fprintf(ctx->out, "Resumed %zu tenant(s)%s.\n",
            json_object_array_length(ts), failed ? ", some FAILED" : "");
  return failed ? CLI_EXIT_API : CLI_EXIT_OK;
}

int cli_tenant_nothing_to_resume(cli_ctx *ctx, json_object *doc)
{
  const char *phase = JS(doc, "phase") ? JS(doc, "phase") : "";

  if (strcmp(phase, "READY") != 0 && strcmp(phase, "DELETED") != 0 &&
      strcmp(phase, "SUSPENDED") != 0)
    return 0;
  fprintf(ctx->out, "Tenant %s is %s: nothing to resume.\n", JS(doc, "id"),
          phase);
  return 1;
}

int cli_cmd_tenant_resume(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv_error err;
  const char *id = args->argc == 1 ? args->argv[0] : NULL;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if (!id && !cli_arg(args, "all"))
    return cli_usage_error(ctx, "give a tenant ID or --all");
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK)
    return job_end(&j, result);
  if (!id)
    return job_end(&j, resume_all(ctx, &j));
  if ((result = long_begin(&j, id, "Resuming", NULL)) != CLI_EXIT_OK)
    return job_end(&j, result);
  if (cli_tenant_nothing_to_resume(ctx, j.answer))
    return job_end(&j, CLI_EXIT_OK);
  result =
      edv_tenant_resume(j.fleet, id, async_flag(args), on_answer, &j, &err);
  if (async_flag(args))
    return async_end(&j, id, "the resume", job_wait(&j, result, &err));
  result = long_wait(&j, id, result, &err);
  if (result && !j.ran)
    return job_end(&j, result);
  return long_end(&j, id, result);
}

int cli_tenant_confirm_delete(cli_ctx *ctx, const char *id, const char *slug)
{
  char answer[16] = "";

  if (!isatty(fileno(stdin)))
    return cli_usage_error(ctx,
                           "refusing to delete tenant '%s' without --yes "
                           "(stdin is not a terminal)",
                           id);
  fprintf(ctx->err,
          "Delete tenant %s (%s) and ALL its resources, database included? "
          "Type the id to confirm: ",
          id, slug);
  fflush(ctx->err);
  if (!fgets(answer, sizeof(answer), stdin) ||
      strncmp(answer, id, strlen(id)) != 0) {
    fprintf(ctx->err, "%s: not confirmed; nothing deleted\n", ctx->prog);
    return CLI_EXIT_USAGE;
  }
  return CLI_EXIT_OK;
}

int cli_cmd_tenant_delete(cli_ctx *ctx, const cli_args *args)
{
  const char *id = args->argv[0];
  job j;
  edv_error err;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  if ((result = job_open(ctx, &j)) != CLI_EXIT_OK ||
      (result = long_begin(&j, id, "Deleting", NULL)) != CLI_EXIT_OK)
    return job_end(&j, result);
  if (strcmp(JS(j.answer, "phase"), "DELETED") == 0) {
    edv_error_set(&err, EDV_ENOTFOUND, "tenant '%s' is already deleted", id);
    return job_end(&j, cli_fail(ctx, &err));
  }
  if (!cli_arg(args, "yes") &&
      (result = cli_tenant_confirm_delete(ctx, id, JS(j.answer, "slug"))) !=
          CLI_EXIT_OK)
    return job_end(&j, result);
  result = edv_tenant_delete(j.fleet, id,
                             async_flag(args) |
                                 (cli_arg(args, "now") ? EDV_FLEET_NOW : 0),
                             on_answer, &j, &err);
  if (async_flag(args))
    return async_end(&j, id, "the deletion", job_wait(&j, result, &err));
  result = long_wait(&j, id, result, &err);
  if (result == CLI_EXIT_OK && ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, j.answer);
  else if (result == CLI_EXIT_OK &&
           strcmp(JS(j.answer, "phase"), "SUSPENDED") == 0)
    fprintf(ctx->out,
            "Tenant %s suspended; purged after %s (tenant undelete %s brings "
            "it back).\n",
            id, JS(j.answer, "purge_after"), id);
  else if (result == CLI_EXIT_OK)
    fprintf(ctx->out, "Tenant %s deleted.\n", id);
  return job_end(&j, result);
}

/* ---- tiers list
 * ---------------------------------------------------------------- */

int cli_cmd_tiers_list(cli_ctx *ctx, const cli_args *args)
{
  json_object *tiers = NULL, *arr;
  int result;

  (void)args;
  if ((result = load_tiers(ctx, &tiers)))
    return result;
  arr = json_object_object_get(tiers, "tiers");
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, arr);
  } else {
    static const cli_col cols[] = {
        {"TIER", "name"},
        {"MACHINE", "machine_type"},
        {"DISK GB", "disk_gb"},
        {"DATABASE", "sql_tier"},
        {"HA", "sql_ha"},
        {"USERS", "max_users"},
        {"BACKUP", "backup"},
        {"KEEP DAYS", "retention_days"},
        {"USD/MONTH", "monthly_cost_usd"},
    };
    cli_print_table(ctx, arr, cols, sizeof(cols) / sizeof(*cols));
  }
  json_object_put(tiers);
  return CLI_EXIT_OK;
}
