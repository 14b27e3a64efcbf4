/*
 * cmd_tenant.c - `edvctl platform init`, `edvctl tenant ...`, `edvctl tiers
 * list`: the fleet commands, run directly through the library.
 *
 * Every command opens the same three things: the engine (cli_engine, with
 * the embedded simulator under --sim), the state store in the state
 * directory, and the tiers file. Long work shows progress: on a terminal a
 * live view of the tenant's steps, redrawn in place; otherwise one line per
 * transition; with --format json nothing but the final JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "store/store.h"
#include "tenant/machine.h"
#include "tenant/spec.h"
#include "tenant/tiers.h"

/* Where the tiers file is looked for, after the config and EDV_TIERS:
 * the installed copy, then the source tree's (for a build not installed),
 * both set by meson. */
#ifndef EDV_TIERS_INSTALLED
#define EDV_TIERS_INSTALLED "/usr/local/share/edv/tiers.json"
#endif
#ifndef EDV_TIERS_SOURCE
#define EDV_TIERS_SOURCE "tiers.json"
#endif

/* ---- opening the fleet ------------------------------------------------- */

typedef struct step_view {
  const char *name, *title;
  int state;          /* 0 pending, 1 running, 2 done, 3 failed, 4 retry */
  uint64_t start_ms;  /* loop time the step started */
  uint64_t took_ms;   /* when done */
  char note[96];      /* last info line */
} step_view;

typedef struct job {
  cli_ctx *ctx;
  edv_store *store;
  edv__tiers *tiers;
  edv__fleet *fleet;
  int live;                /* redraw a live view on a terminal */
  int lines;               /* lines drawn by the last redraw */
  step_view view[40];
  unsigned nview;
  const char *tenant;      /* the tenant shown in the live view */
  uv_timer_t tick;         /* redraws elapsed times once a second */
  int tick_on;
  int runs;                /* runs in flight */
  int failed;              /* runs that ended FAILED */
  edv_error err;           /* first error */
  edv_tenant_phase phase;  /* last run's final phase */
  json_object *plan;       /* edvctl tenant plan: the calls */
  int fleet_closed;
} job;

static int mkdirs(const char *path)
{
  char buf[512];
  size_t n = strlen(path);

  if (n == 0 || n >= sizeof(buf))
    return -1;
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return -1;
    buf[i] = i < n ? '/' : '\0';
  }
  return 0;
}

static const char *state_dir(cli_ctx *ctx)
{
  const char *env;

  if (edv_config_get(ctx->cfg, "state_dir"))
    return edv_config_get(ctx->cfg, "state_dir");
  if (ctx->state_dir)
    return ctx->state_dir;
  env = getenv("XDG_STATE_HOME");
  if (env && *env)
    snprintf(ctx->state_dir_buf, sizeof(ctx->state_dir_buf), "%s/edv", env);
  else
    snprintf(ctx->state_dir_buf, sizeof(ctx->state_dir_buf),
             "%s/.local/state/edv", getenv("HOME") ? getenv("HOME") : ".");
  return ctx->state_dir = ctx->state_dir_buf;
}

/* The tiers file: config tiers_file, else EDV_TIERS, else the installed or
 * source-tree copy, else ./tiers.json. */
static int load_tiers(cli_ctx *ctx, edv__tiers **out)
{
  const char *p = edv_config_get(ctx->cfg, "tiers_file");
  edv_error err;

  if (!p)
    p = getenv("EDV_TIERS");
  if (!p && access("tiers.json", R_OK) == 0)
    p = "tiers.json";
  if (!p && access(EDV_TIERS_INSTALLED, R_OK) == 0)
    p = EDV_TIERS_INSTALLED;
  if (!p)
    p = EDV_TIERS_SOURCE;
  if (edv__tiers_load_file(p, out, &err))
    return cli_fail(ctx, &err);
  return CLI_EXIT_OK;
}

static int open_store(cli_ctx *ctx, edv_store **out)
{
  char path[600];
  edv__store_opts o;
  edv_error err;
  const char *dir = state_dir(ctx);

  if (mkdirs(dir) != 0) {
    fprintf(ctx->err, "%s: cannot create state directory '%s': %s\n",
            ctx->prog, dir, strerror(errno));
    return CLI_EXIT_OTHER;
  }
  snprintf(path, sizeof(path), "%s/edv.db", dir);
  memset(&o, 0, sizeof(o));
  o.path = path;
  if (edv__store_open_sqlite(&o, out, &err))
    return cli_fail(ctx, &err);
  return CLI_EXIT_OK;
}

/* ---- progress ---------------------------------------------------------- */

static const char *state_word(int st)
{
  static const char *const w[] = {"pending", "running", "done", "FAILED",
                                  "retrying"};
  return w[st];
}

static void redraw(job *j)
{
  FILE *f = j->ctx->err;
  uint64_t now = uv_now(j->ctx->loop);

  if (!j->live)
    return;
  if (j->lines)
    fprintf(f, "\033[%dA", j->lines);
  j->lines = 0;
  for (unsigned i = 0; i < j->nview; i++) {
    step_view *v = &j->view[i];
    char el[32] = "";
    const char *mark = v->state == 2   ? "\033[32m✔\033[0m"
                       : v->state == 3 ? "\033[31m✘\033[0m"
                       : v->state == 1 || v->state == 4
                           ? "\033[33m…\033[0m"
                           : " ";
    if (v->state == 1 || v->state == 4)
      snprintf(el, sizeof(el), "%5.1fs", (double)(now - v->start_ms) / 1e3);
    else if (v->state == 2)
      snprintf(el, sizeof(el), "%5.1fs", (double)v->took_ms / 1e3);
    fprintf(f, "\033[2K %s %-32s %-8s %7s  %.60s\n", mark, v->title,
            state_word(v->state), el, v->state == 2 ? "" : v->note);
    j->lines++;
  }
  fflush(f);
}

static void on_tick(uv_timer_t *t)
{
  redraw(t->data);
}

/* Keeps the start of a message as the step's note (truncation intended). */
static void note_set(step_view *v, const char *s)
{
  size_t n = strlen(s);

  if (n >= sizeof(v->note))
    n = sizeof(v->note) - 1;
  memcpy(v->note, s, n);
  v->note[n] = '\0';
}

static step_view *view_of(job *j, const char *step)
{
  for (unsigned i = 0; step && i < j->nview; i++)
    if (strcmp(j->view[i].name, step) == 0)
      return &j->view[i];
  return NULL;
}

static void view_init(job *j, const edv__step_def *defs, unsigned n)
{
  j->nview = n < 40 ? n : 40;
  for (unsigned i = 0; i < j->nview; i++) {
    memset(&j->view[i], 0, sizeof(j->view[i]));
    j->view[i].name = defs[i].name;
    j->view[i].title = defs[i].title;
  }
}

static void on_event(void *data, const edv__event *ev)
{
  job *j = data;
  cli_ctx *ctx = j->ctx;
  step_view *v = (j->tenant && strcmp(ev->tenant, j->tenant) == 0)
                     ? view_of(j, ev->step)
                     : NULL;
  char ebuf[700];

  if (ev->kind == EDV_EV_PLAN) {
    if (j->plan) {
      json_object *o = json_object_new_object();
      json_object_object_add(o, "step", json_object_new_string(ev->step));
      json_object_object_add(o, "call", json_object_new_string(ev->message));
      json_object_array_add(j->plan, o);
    }
    return;
  }
  if (v) {
    switch (ev->kind) {
    case EDV_EV_STEP_START:
      v->state = 1;
      v->start_ms = uv_now(ctx->loop) - ev->elapsed_ms;
      break;
    case EDV_EV_STEP_DONE:
      v->state = 2;
      v->took_ms = uv_now(ctx->loop) - v->start_ms;
      break;
    case EDV_EV_STEP_RETRY:
      v->state = 4;
      break;
    case EDV_EV_STEP_FAIL:
      v->state = 3;
      break;
    default:
      break;
    }
    if (ev->kind == EDV_EV_INFO && ev->message)
      note_set(v, ev->message);
    if ((ev->kind == EDV_EV_STEP_FAIL || ev->kind == EDV_EV_STEP_RETRY) &&
        ev->error)
      note_set(v, ev->error->message);
  }
  if (j->live && v) {
    redraw(j);
    return;
  }
  if (ctx->quiet || ctx->format == CLI_FORMAT_JSON)
    return;
  /* One line per transition, for logs and pipes. */
  switch (ev->kind) {
  case EDV_EV_PHASE:
    cli_progress(ctx, "%s: phase %s", ev->tenant, ev->message);
    break;
  case EDV_EV_STEP_START:
    cli_progress(ctx, "%s: %s: started%s", ev->tenant, ev->step,
                 ev->message ? " (retry)" : "");
    break;
  case EDV_EV_STEP_DONE:
    cli_progress(ctx, "%s: %s: done (%.1fs)", ev->tenant, ev->step,
                 (double)ev->elapsed_ms / 1e3);
    break;
  case EDV_EV_STEP_RETRY:
    cli_progress(ctx, "%s: %s: %s: %s", ev->tenant, ev->step, ev->message,
                 ev->error ? edv_error_format(ev->error, ebuf, sizeof(ebuf))
                           : "");
    break;
  case EDV_EV_STEP_FAIL:
    cli_progress(ctx, "%s: %s: FAILED: %s", ev->tenant, ev->step,
                 ev->error ? edv_error_format(ev->error, ebuf, sizeof(ebuf))
                           : "");
    break;
  case EDV_EV_INFO:
    if (ctx->verbose)
      cli_progress(ctx, "%s: %s: %s", ev->tenant, ev->step ? ev->step : "",
                   ev->message);
    break;
  default:
    break;
  }
}

/* ---- job lifecycle --------------------------------------------------------- */

static int job_open(cli_ctx *ctx, job *j, int need_fleet)
{
  int result;
  edv__fleet_opts o;
  edv_error err;

  memset(j, 0, sizeof(*j));
  j->ctx = ctx;
  result = cli_engine(ctx);
  if (result)
    return result;
  result = load_tiers(ctx, &j->tiers);
  if (result)
    return result;
  result = open_store(ctx, &j->store);
  if (result)
    return result;
  if (!need_fleet)
    return CLI_EXIT_OK;
  memset(&o, 0, sizeof(o));
  o.engine = ctx->engine;
  o.store = j->store;
  o.tiers = j->tiers;
  o.domain = edv_config_get(ctx->cfg, "domain");
  o.region = edv_config_get(ctx->cfg, "region");
  o.supernet = edv_config_get(ctx->cfg, "supernet");
  o.subnet_prefix = (unsigned)edv_config_get_int(ctx->cfg, "subnet_prefix",
                                                 0);
  o.actor = "edvctl";
  if (ctx->use_sim) {
    /* The simulator's clock is quick; poll it often. */
    o.poll_ms = 250;
    o.retry_base_ms = 250;
  }
  o.on_event = on_event;
  o.event_data = j;
  if (edv__fleet_new(ctx->loop, &o, &j->fleet, &err))
    return cli_fail(ctx, &err);
  j->live = isatty(fileno(ctx->err)) && !ctx->quiet &&
            ctx->format != CLI_FORMAT_JSON;
  return CLI_EXIT_OK;
}

static void fleet_closed(void *data)
{
  ((job *)data)->fleet_closed = 1;
}

static void job_close(job *j)
{
  if (j->tick_on) {
    uv_timer_stop(&j->tick);
    uv_close((uv_handle_t *)&j->tick, NULL);
    j->tick_on = 0;
  }
  if (j->fleet) {
    edv__fleet_close(j->fleet, fleet_closed, j);
    while (!j->fleet_closed)
      uv_run(j->ctx->loop, UV_RUN_ONCE);
    j->fleet = NULL;
  }
  edv__store_close(j->store);
  j->store = NULL;
  edv__tiers_free(j->tiers);
  j->tiers = NULL;
  json_object_put(j->plan);
  j->plan = NULL;
}

static void on_run_done(void *data, const char *tenant, edv_tenant_phase phase,
                        const edv_error *err)
{
  job *j = data;

  (void)tenant;
  j->phase = phase;
  if (err && !j->err.code)
    j->err = *err;
  if (phase == EDV_PHASE_FAILED)
    j->failed++;
  if (--j->runs == 0)
    j->ctx->done = 1;
}

static void on_interrupt(void *data)
{
  job *j = data;

  /* Stop at a durable point: every record stays consistent and `tenant
   * resume` continues from it. */
  edv__fleet_stop(j->fleet, NULL);
}

static void start_live(job *j, const char *tenant, const edv__step_def *defs,
                       unsigned n)
{
  j->tenant = tenant;
  view_init(j, defs, n);
  if (!j->live)
    return;
  uv_timer_init(j->ctx->loop, &j->tick);
  j->tick.data = j;
  uv_timer_start(&j->tick, on_tick, 1000, 1000);
  j->tick_on = 1;
  redraw(j);
}

/* Runs the loop until every run ended; returns the exit code. */
static int wait_runs(cli_ctx *ctx, job *j)
{
  ctx->done = j->runs == 0;
  ctx->on_interrupt = on_interrupt;
  ctx->interrupt_data = j;
  cli_loop_run(ctx);
  ctx->on_interrupt = NULL;
  redraw(j);
  if (j->err.code == EDV_ECANCELED || ctx->interrupted) {
    fprintf(ctx->err, "%s: interrupted; the state is consistent, continue "
                      "with `edvctl tenant resume`\n",
            ctx->prog);
    return CLI_EXIT_INTERRUPTED;
  }
  if (j->err.code)
    return cli_fail(ctx, &j->err);
  return CLI_EXIT_OK;
}

/* ---- output helpers ------------------------------------------------------ */

static json_object *tenant_json(job *j, const edv__tenant_rec *rec)
{
  json_object *o = json_object_new_object(), *spec;
  char dom[256];
  const edv__tier *t;
  edv__tier_cost cost;
  const char *d = edv_config_get(j->ctx->cfg, "domain");

  snprintf(dom, sizeof(dom), "%s", d ? d : "edvirons.com");
  spec = json_tokener_parse(rec->spec_json);
  json_object_object_add(o, "id", json_object_new_string(rec->id));
  json_object_object_add(o, "spec", spec ? spec : json_object_new_object());
  json_object_object_add(o, "phase",
                         json_object_new_string(edv__phase_name(rec->phase)));
  json_object_object_add(o, "generation",
                         json_object_new_int((int)rec->generation));
  {
    char url[400];
    snprintf(url, sizeof(url), "https://%s.%s", rec->id, dom);
    json_object_object_add(o, "url", json_object_new_string(url));
  }
  if (rec->last_error[0])
    json_object_object_add(o, "last_error",
                           json_object_new_string(rec->last_error));
  json_object_object_add(o, "created_ms", json_object_new_int64(rec->created_ms));
  json_object_object_add(o, "updated_ms", json_object_new_int64(rec->updated_ms));
  t = edv__tiers_find(j->tiers, rec->tier);
  if (t && edv__tier_cost_estimate(j->tiers, t, 0, &cost, NULL) == 0) {
    json_object *c = json_object_new_object();
    json_object_object_add(c, "currency", json_object_new_string("USD"));
    json_object_object_add(c, "vm", json_object_new_double(cost.vm));
    json_object_object_add(c, "disk", json_object_new_double(cost.disk));
    json_object_object_add(c, "sql", json_object_new_double(cost.sql));
    json_object_object_add(c, "sql_storage",
                           json_object_new_double(cost.sql_storage));
    json_object_object_add(c, "backups",
                           json_object_new_double(cost.sql_backups +
                                                  cost.snapshots));
    json_object_object_add(c, "shared",
                           json_object_new_double(cost.lb_share +
                                                  cost.dns_share));
    json_object_object_add(c, "total", json_object_new_double(cost.total));
    json_object_object_add(o, "monthly_cost_estimate", c);
    json_object_object_add(o, "max_users", json_object_new_int(t->max_users));
  }
  return o;
}

static void print_summary(job *j, const char *id)
{
  cli_ctx *ctx = j->ctx;
  edv__tenant_rec rec;
  json_object *o;
  const edv__tier *t;

  if (edv__store_tenant_get(j->store, id, &rec, NULL))
    return;
  o = tenant_json(j, &rec);
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, o);
    json_object_put(o);
    return;
  }
  t = edv__tiers_find(j->tiers, rec.tier);
  fprintf(ctx->out, "Tenant     %s (%s)\n", rec.id, rec.slug);
  fprintf(ctx->out, "Phase      %s\n", edv__phase_name(rec.phase));
  fprintf(ctx->out, "URL        %s\n",
          json_object_get_string(json_object_object_get(o, "url")));
  if (t) {
    char vm[64], db[64], cert[64];
    edv__name_vm(rec.id, vm, sizeof(vm));
    edv__name_sql_instance(rec.id, rec.generation, db, sizeof(db));
    edv__name_certificate(rec.id, cert, sizeof(cert));
    fprintf(ctx->out, "VM         %s (%s, %d GB %s)\n", vm, t->machine_type,
            t->disk_gb, t->disk_type);
    fprintf(ctx->out, "Database   %s (%s%s, PostgreSQL)\n", db, t->sql.tier,
            t->sql.regional ? ", regional HA" : "");
    fprintf(ctx->out, "TLS        %s (%s)\n", cert,
            rec.phase == EDV_PHASE_READY ? "ACTIVE" : "not yet active");
    fprintf(ctx->out, "Licences   %d users\n", t->max_users);
  }
  {
    json_object *c = json_object_object_get(o, "monthly_cost_estimate");
    if (c)
      fprintf(ctx->out, "Cost       ~$%.2f / month (list prices)\n",
              json_object_get_double(json_object_object_get(c, "total")));
  }
  if (rec.last_error[0])
    fprintf(ctx->out, "Error      %s\n", rec.last_error);
  json_object_put(o);
}

/* ---- platform init ---------------------------------------------------------- */

int cli_cmd_platform_init(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv_error err;
  int result;

  (void)args;
  result = job_open(ctx, &j, 1);
  if (result) {
    job_close(&j);
    return result;
  }
  start_live(&j, EDV_PLATFORM_ID, edv__platform_steps, edv__platform_nsteps);
  if (edv__fleet_drive(j.fleet, EDV_PLATFORM_ID, EDV_DIR_UP, on_run_done, &j,
                       &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  j.runs = 1;
  result = wait_runs(ctx, &j);
  if (result == CLI_EXIT_OK && ctx->format == CLI_FORMAT_JSON) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "platform", json_object_new_string("READY"));
    cli_print_json(ctx, o);
    json_object_put(o);
  } else if (result == CLI_EXIT_OK) {
    fprintf(ctx->out, "Platform ready.\n");
  }
  job_close(&j);
  return result;
}

/* ---- tenant create ------------------------------------------------------------ */

typedef struct region_check {
  job *j;
  int done;
  edv_error err;
  int exists;
} region_check;

static void on_region(void *data, const edv_response *res)
{
  region_check *rc = data;

  rc->done = 1;
  if (res->error && res->error->code == EDV_ENOTFOUND)
    rc->exists = 0;
  else if (res->error)
    rc->err = *res->error;
  else
    rc->exists = 1;
  rc->j->ctx->done = 1;
}

/* The region must be one the API reports: asked before anything is
 * recorded or created. */
static int check_region(job *j, const char *region)
{
  cli_ctx *ctx = j->ctx;
  edv_request req;
  region_check rc;
  char path[300];
  edv_error err;

  memset(&rc, 0, sizeof(rc));
  rc.j = j;
  snprintf(path, sizeof(path), "/compute/v1/projects/%s/regions/%s",
           edv_engine_project(ctx->engine), region);
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_COMPUTE;
  req.method = "GET";
  req.path = path;
  req.label = "compute.regions.get";
  ctx->done = 0;
  if (edv_call_submit(ctx->engine, &req, on_region, &rc, NULL)) {
    edv_error_set(&err, EDV_ENOMEM, "cannot check the region");
    return cli_fail(ctx, &err);
  }
  cli_loop_run(ctx);
  if (rc.err.code)
    return cli_fail(ctx, &rc.err);
  if (!rc.exists) {
    edv_error_set(&err, EDV_EINVAL,
                  "region: '%s' is not a region of project '%s'", region,
                  edv_engine_project(ctx->engine));
    return cli_fail(ctx, &err);
  }
  return CLI_EXIT_OK;
}

int cli_cmd_tenant_create(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_spec spec;
  edv_error err;
  int result, wait;
  const char *const fields[] = {"id", "slug", "display name", "tier",
                                "region"};

  memset(&spec, 0, sizeof(spec));
  for (int i = 0; i < 5; i++) {
    size_t max = i == 2 ? sizeof(spec.display_name) : 64;
    if (strlen(args->argv[i]) >= max)
      return cli_usage_error(ctx, "%s: too long", fields[i]);
  }
  snprintf(spec.id, sizeof(spec.id), "%s", args->argv[0]);
  snprintf(spec.slug, sizeof(spec.slug), "%s", args->argv[1]);
  snprintf(spec.display_name, sizeof(spec.display_name), "%s", args->argv[2]);
  snprintf(spec.tier, sizeof(spec.tier), "%s", args->argv[3]);
  snprintf(spec.region, sizeof(spec.region), "%s", args->argv[4]);
  if (cli_arg(args, "wait") && cli_arg(args, "no-wait"))
    return cli_usage_error(ctx, "--wait and --no-wait exclude each other");
  wait = cli_arg(args, "wait")      ? 1
         : cli_arg(args, "no-wait") ? 0
                                    : isatty(fileno(stdout));
  result = job_open(ctx, &j, 1);
  if (result) {
    job_close(&j);
    return result;
  }
  /* Everything that can be checked is checked before anything is
   * recorded: the fields, the tier, the hostnames, then the region. */
  result = edv__spec_validate(&spec, j.tiers, NULL, NULL,
                              edv_config_get(ctx->cfg, "domain"), &err);
  if (result) {
    job_close(&j);
    fprintf(ctx->err, "%s: %s\n", ctx->prog, err.message);
    return CLI_EXIT_USAGE;
  }
  result = check_region(&j, spec.region);
  if (result) {
    job_close(&j);
    return result == CLI_EXIT_API ? result : CLI_EXIT_USAGE;
  }
  if (edv__fleet_register(j.fleet, &spec, &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  if (!wait) {
    if (ctx->format == CLI_FORMAT_JSON)
      print_summary(&j, spec.id);
    else
      fprintf(ctx->out,
              "Tenant %s recorded (PENDING). `edvctl tenant resume %s` (or "
              "edvd) provisions it.\n",
              spec.id, spec.id);
    job_close(&j);
    return CLI_EXIT_OK;
  }
  start_live(&j, spec.id, edv__tenant_steps, edv__tenant_nsteps);
  if (edv__fleet_drive(j.fleet, spec.id, EDV_DIR_UP, on_run_done, &j, &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  j.runs = 1;
  result = wait_runs(ctx, &j);
  if (result != CLI_EXIT_INTERRUPTED)
    print_summary(&j, spec.id);
  job_close(&j);
  return result;
}

/* ---- tenant list / get / history / state ------------------------------------ */

typedef struct list_ctx {
  job *j;
  json_object *arr;
  const char *tier;
  int phase;
  int all;
} list_ctx;

static int list_one(void *data, const edv__tenant_rec *rec)
{
  list_ctx *lc = data;

  if (rec->id[0] == '@')
    return 0; /* the platform record */
  if (!lc->all && lc->phase < 0 && rec->phase == EDV_PHASE_DELETED)
    return 0;
  json_object_array_add(lc->arr, tenant_json(lc->j, rec));
  return 0;
}

int cli_cmd_tenant_list(cli_ctx *ctx, const cli_args *args)
{
  job j;
  list_ctx lc;
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ] = "";
  edv_error err;
  int result;
  const char *st = cli_arg(args, "state");

  memset(&lc, 0, sizeof(lc));
  lc.phase = -1;
  if (st) {
    char up[32];
    size_t i;
    for (i = 0; st[i] && i + 1 < sizeof(up); i++)
      up[i] = (char)(st[i] >= 'a' && st[i] <= 'z' ? st[i] - 32 : st[i]);
    up[i] = '\0';
    lc.phase = edv__phase_parse(up);
    if (lc.phase < 0)
      return cli_usage_error(ctx, "--state: '%s' is not a phase (PENDING, "
                                  "PROVISIONING, READY, UPDATING, "
                                  "DEPROVISIONING, DELETED, FAILED)",
                             st);
  }
  result = job_open(ctx, &j, 0);
  if (result) {
    job_close(&j);
    return result;
  }
  if (cli_arg(args, "tier") && !edv__tiers_find(j.tiers, cli_arg(args, "tier"))) {
    job_close(&j);
    return cli_usage_error(ctx, "--tier: unknown tier '%s'",
                           cli_arg(args, "tier"));
  }
  lc.j = &j;
  lc.arr = json_object_new_array();
  lc.all = cli_arg(args, "all") != NULL;
  memset(&f, 0, sizeof(f));
  f.tier = cli_arg(args, "tier");
  f.phase = lc.phase;
  f.limit = 1000;
  do {
    f.after = next;
    if (edv__store_tenant_list(j.store, &f, list_one, &lc, next, sizeof(next),
                               &err)) {
      json_object_put(lc.arr);
      job_close(&j);
      return cli_fail(ctx, &err);
    }
  } while (next[0]);
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, lc.arr);
  } else {
    fprintf(ctx->out, "%-16s %-22s %-11s %-14s %-15s %s\n", "ID", "SLUG",
            "TIER", "REGION", "PHASE", "URL");
    for (size_t i = 0; i < json_object_array_length(lc.arr); i++) {
      json_object *o = json_object_array_get_idx(lc.arr, i);
      json_object *sp = json_object_object_get(o, "spec");
      fprintf(ctx->out, "%-16s %-22s %-11s %-14s %-15s %s\n",
              json_object_get_string(json_object_object_get(o, "id")),
              json_object_get_string(json_object_object_get(sp, "slug")),
              json_object_get_string(json_object_object_get(sp, "tier")),
              json_object_get_string(json_object_object_get(sp, "region")),
              json_object_get_string(json_object_object_get(o, "phase")),
              json_object_get_string(json_object_object_get(o, "url")));
    }
  }
  json_object_put(lc.arr);
  job_close(&j);
  return CLI_EXIT_OK;
}

static int steps_one(void *data, const edv__step_rec *r)
{
  json_object *arr = data, *o = json_object_new_object();

  json_object_object_add(o, "step", json_object_new_string(r->step));
  json_object_object_add(o, "state",
                         json_object_new_string(edv__step_state_name(r->state)));
  json_object_object_add(o, "attempt", json_object_new_int((int)r->attempt));
  if (r->request_id[0])
    json_object_object_add(o, "request_id",
                           json_object_new_string(r->request_id));
  if (r->op_name[0])
    json_object_object_add(o, "operation", json_object_new_string(r->op_name));
  if (r->resource[0])
    json_object_object_add(o, "last_call", json_object_new_string(r->resource));
  if (r->error[0])
    json_object_object_add(o, "error", json_object_new_string(r->error));
  json_object_object_add(o, "started_ms", json_object_new_int64(r->started_ms));
  json_object_object_add(o, "finished_ms",
                         json_object_new_int64(r->finished_ms));
  json_object_array_add(arr, o);
  return 0;
}

static int get_tenant(cli_ctx *ctx, job *j, const char *id,
                      edv__tenant_rec *rec)
{
  edv_error err;

  if (edv__store_tenant_get(j->store, id, rec, &err) || id[0] == '@') {
    edv_error_set(&err, EDV_ENOTFOUND, "tenant '%s' not found", id);
    return cli_fail(ctx, &err);
  }
  return CLI_EXIT_OK;
}

static int tenant_show(cli_ctx *ctx, const cli_args *args, int whole)
{
  job j;
  edv__tenant_rec rec;
  json_object *o, *steps;
  int result = job_open(ctx, &j, 0);

  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  o = tenant_json(&j, &rec);
  steps = json_object_new_array();
  edv__store_step_list(j.store, rec.id, steps_one, steps, NULL);
  json_object_object_add(o, "steps", steps);
  if (whole) {
    edv_cidr c;
    edv__lease_rec l;
    char buf[EDV_CIDR_STRLEN + 1];
    if (edv__store_subnet_get(j.store, rec.id, &c, NULL) == 0)
      json_object_object_add(o, "subnet",
                             json_object_new_string(
                                 edv__cidr_format(&c, buf, sizeof(buf))));
    if (edv__store_lease_get(j.store, rec.id, &l, NULL) == 0) {
      json_object *lo = json_object_new_object();
      json_object_object_add(lo, "holder", json_object_new_string(l.holder));
      json_object_object_add(lo, "expires_ms",
                             json_object_new_int64(l.expires_ms));
      json_object_object_add(o, "lease", lo);
    }
  }
  if (whole || ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, o);
  } else {
    print_summary(&j, rec.id);
    fprintf(ctx->out, "\n%-20s %-8s %-8s %s\n", "STEP", "STATE", "ATTEMPT",
            "ERROR");
    for (size_t i = 0; i < json_object_array_length(steps); i++) {
      json_object *s = json_object_array_get_idx(steps, i);
      json_object *e = json_object_object_get(s, "error");
      fprintf(ctx->out, "%-20s %-8s %-8d %s\n",
              json_object_get_string(json_object_object_get(s, "step")),
              json_object_get_string(json_object_object_get(s, "state")),
              json_object_get_int(json_object_object_get(s, "attempt")),
              e ? json_object_get_string(e) : "");
    }
  }
  json_object_put(o);
  job_close(&j);
  return CLI_EXIT_OK;
}

int cli_cmd_tenant_get(cli_ctx *ctx, const cli_args *args)
{
  return tenant_show(ctx, args, 0);
}

int cli_cmd_tenant_state(cli_ctx *ctx, const cli_args *args)
{
  return tenant_show(ctx, args, 1);
}

static int journal_one(void *data, const edv__journal_rec *r)
{
  json_object *arr = data, *o = json_object_new_object();

  json_object_object_add(o, "seq", json_object_new_int64(r->seq));
  json_object_object_add(o, "time_ms", json_object_new_int64(r->time_ms));
  json_object_object_add(o, "actor", json_object_new_string(r->actor));
  json_object_object_add(o, "event", json_object_new_string(r->event));
  if (r->step[0])
    json_object_object_add(o, "step", json_object_new_string(r->step));
  if (r->api_call[0])
    json_object_object_add(o, "detail", json_object_new_string(r->api_call));
  if (r->operation[0])
    json_object_object_add(o, "operation",
                           json_object_new_string(r->operation));
  if (r->duration_ms)
    json_object_object_add(o, "duration_ms",
                           json_object_new_int64(r->duration_ms));
  if (r->error[0])
    json_object_object_add(o, "error", json_object_new_string(r->error));
  json_object_array_add(arr, o);
  return 0;
}

int cli_cmd_tenant_history(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  json_object *arr;
  int result = job_open(ctx, &j, 0);

  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  arr = json_object_new_array();
  edv__store_journal_list(j.store, rec.id, 0, 0, journal_one, arr, NULL);
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, arr);
  } else {
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
      json_object *e = json_object_array_get_idx(arr, i), *v;
      time_t t = (time_t)(json_object_get_int64(
                              json_object_object_get(e, "time_ms")) /
                          1000);
      struct tm tm;
      char ts[32];
      gmtime_r(&t, &tm);
      strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
      fprintf(ctx->out, "%s %-8s %-12s %-18s", ts,
              json_object_get_string(json_object_object_get(e, "actor")),
              json_object_get_string(json_object_object_get(e, "event")),
              (v = json_object_object_get(e, "step"))
                  ? json_object_get_string(v)
                  : "-");
      if ((v = json_object_object_get(e, "detail")))
        fprintf(ctx->out, " %s", json_object_get_string(v));
      if ((v = json_object_object_get(e, "duration_ms")))
        fprintf(ctx->out, " (%lld ms)", (long long)json_object_get_int64(v));
      if ((v = json_object_object_get(e, "error")))
        fprintf(ctx->out, " ERROR %s", json_object_get_string(v));
      fputc('\n', ctx->out);
    }
  }
  json_object_put(arr);
  job_close(&j);
  return CLI_EXIT_OK;
}

/* ---- plan ----------------------------------------------------------------------- */

int cli_cmd_tenant_plan(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  edv_error err;
  int result = job_open(ctx, &j, 1);

  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  j.live = 0; /* a plan prints its result, not progress */
  j.plan = json_object_new_array();
  if (edv__fleet_plan(j.fleet, rec.id, on_run_done, &j, &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  j.runs = 1;
  result = wait_runs(ctx, &j);
  if (result == CLI_EXIT_OK) {
    size_t n = json_object_array_length(j.plan);
    if (ctx->format == CLI_FORMAT_JSON) {
      cli_print_json(ctx, j.plan);
    } else if (n == 0) {
      fprintf(ctx->out, "No changes: tenant %s matches its spec.\n", rec.id);
    } else {
      fprintf(ctx->out, "Tenant %s: %zu change(s) a reconcile would make:\n",
              rec.id, n);
      for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(j.plan, i);
        fprintf(ctx->out, "  + [%s] %s\n",
                json_object_get_string(json_object_object_get(p, "step")),
                json_object_get_string(json_object_object_get(p, "call")));
      }
    }
  }
  job_close(&j);
  return result;
}

/* ---- retry / resume / delete ---------------------------------------------- */

/* The direction a tenant was going when it stopped or failed: the last
 * PROVISIONING/DEPROVISIONING phase in its journal. */
typedef struct dir_find {
  edv__direction dir;
} dir_find;

static int dir_one(void *data, const edv__journal_rec *r)
{
  dir_find *d = data;

  if (strcmp(r->event, "phase") == 0) {
    if (strcmp(r->api_call, "DEPROVISIONING") == 0)
      d->dir = EDV_DIR_DOWN;
    else if (strcmp(r->api_call, "PROVISIONING") == 0 ||
             strcmp(r->api_call, "UPDATING") == 0)
      d->dir = EDV_DIR_UP;
  }
  return 0;
}

static edv__direction direction_of(job *j, const edv__tenant_rec *rec)
{
  dir_find d = {EDV_DIR_UP};

  if (rec->phase == EDV_PHASE_DEPROVISIONING)
    return EDV_DIR_DOWN;
  if (rec->phase != EDV_PHASE_FAILED)
    return EDV_DIR_UP;
  edv__store_journal_list(j->store, rec->id, 0, 0, dir_one, &d, NULL);
  return d.dir;
}

static int drive_one(job *j, const edv__tenant_rec *rec, edv__direction dir)
{
  edv_error err;

  if (edv__fleet_drive(j->fleet, rec->id, dir, on_run_done, j, &err))
    return cli_fail(j->ctx, &err);
  j->runs++;
  return CLI_EXIT_OK;
}

int cli_cmd_tenant_retry(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  edv_error err;
  int result = job_open(ctx, &j, 1);

  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  if (rec.phase != EDV_PHASE_FAILED) {
    job_close(&j);
    edv_error_set(&err, EDV_ECONFLICT,
                  "tenant '%s' is %s, not FAILED; use `tenant resume` to "
                  "continue an interrupted run",
                  rec.id, edv__phase_name(rec.phase));
    return cli_fail(ctx, &err);
  }
  start_live(&j, rec.id, edv__tenant_steps, edv__tenant_nsteps);
  result = drive_one(&j, &rec, direction_of(&j, &rec));
  if (result == CLI_EXIT_OK) {
    result = wait_runs(ctx, &j);
    print_summary(&j, rec.id);
  }
  job_close(&j);
  return result;
}

typedef struct resume_ctx {
  job *j;
  int result;
  unsigned count;
} resume_ctx;

static int resume_one(void *data, const edv__tenant_rec *rec)
{
  resume_ctx *rc = data;
  edv__tenant_rec copy = *rec;

  if (rec->id[0] == '@' || rec->phase == EDV_PHASE_READY ||
      rec->phase == EDV_PHASE_DELETED || rec->phase == EDV_PHASE_FAILED)
    return 0;
  if (drive_one(rc->j, &copy, direction_of(rc->j, &copy)) == CLI_EXIT_OK)
    rc->count++;
  else
    rc->result = CLI_EXIT_CONFLICT;
  return 0;
}

int cli_cmd_tenant_resume(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  resume_ctx rc;
  int result = job_open(ctx, &j, 1);

  if (result) {
    job_close(&j);
    return result;
  }
  memset(&rc, 0, sizeof(rc));
  rc.j = &j;
  if (args->argc == 1) {
    if ((result = get_tenant(ctx, &j, args->argv[0], &rec))) {
      job_close(&j);
      return result;
    }
    if (rec.phase == EDV_PHASE_READY || rec.phase == EDV_PHASE_DELETED) {
      fprintf(ctx->out, "Tenant %s is %s: nothing to resume.\n", rec.id,
              edv__phase_name(rec.phase));
      job_close(&j);
      return CLI_EXIT_OK;
    }
    start_live(&j, rec.id, edv__tenant_steps, edv__tenant_nsteps);
    result = drive_one(&j, &rec, direction_of(&j, &rec));
  } else if (cli_arg(args, "all")) {
    edv__tenant_filter f;
    char next[EDV_STORE_ID_SZ] = "";
    j.live = 0;
    memset(&f, 0, sizeof(f));
    f.phase = -1;
    f.limit = 1000;
    do {
      f.after = next;
      edv__store_tenant_list(j.store, &f, resume_one, &rc, next, sizeof(next),
                             NULL);
    } while (next[0]);
    result = rc.result;
    if (!ctx->quiet && ctx->format != CLI_FORMAT_JSON)
      fprintf(ctx->err, "%s: resuming %u tenant(s)\n", ctx->prog, rc.count);
  } else {
    job_close(&j);
    return cli_usage_error(ctx, "give a tenant ID or --all");
  }
  if (j.runs) {
    int r = wait_runs(ctx, &j);
    if (r != CLI_EXIT_OK)
      result = r;
  }
  if (args->argc == 1)
    print_summary(&j, args->argv[0]);
  job_close(&j);
  return result;
}

int cli_cmd_tenant_delete(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  edv_error err;
  int result = job_open(ctx, &j, 1);

  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  if (rec.phase == EDV_PHASE_DELETED) {
    job_close(&j);
    edv_error_set(&err, EDV_ENOTFOUND, "tenant '%s' is already deleted",
                  rec.id);
    return cli_fail(ctx, &err);
  }
  if (!cli_arg(args, "yes")) {
    char answer[16] = "";
    if (!isatty(fileno(stdin))) {
      job_close(&j);
      return cli_usage_error(ctx, "refusing to delete tenant '%s' without "
                                  "--yes (stdin is not a terminal)",
                             rec.id);
    }
    fprintf(ctx->err,
            "Delete tenant %s (%s) and ALL its resources, database "
            "included? Type the id to confirm: ",
            rec.id, rec.slug);
    fflush(ctx->err);
    if (!fgets(answer, sizeof(answer), stdin) ||
        strncmp(answer, rec.id, strlen(rec.id)) != 0) {
      job_close(&j);
      fprintf(ctx->err, "%s: not confirmed; nothing deleted\n", ctx->prog);
      return CLI_EXIT_USAGE;
    }
  }
  start_live(&j, rec.id, edv__tenant_steps, edv__tenant_nsteps);
  result = drive_one(&j, &rec, EDV_DIR_DOWN);
  if (result == CLI_EXIT_OK)
    result = wait_runs(ctx, &j);
  if (result == CLI_EXIT_OK && ctx->format == CLI_FORMAT_JSON)
    print_summary(&j, rec.id);
  else if (result == CLI_EXIT_OK)
    fprintf(ctx->out, "Tenant %s deleted.\n", rec.id);
  job_close(&j);
  return result;
}

/* ---- tiers list ---------------------------------------------------------------- */

int cli_cmd_tiers_list(cli_ctx *ctx, const cli_args *args)
{
  edv__tiers *tiers = NULL;
  json_object *arr;
  int result;

  (void)args;
  if ((result = load_tiers(ctx, &tiers)))
    return result;
  arr = json_object_new_array();
  for (size_t i = 0; i < tiers->ntiers; i++) {
    const edv__tier *t = &tiers->tiers[i];
    edv__tier_cost c;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(t->name));
    json_object_object_add(o, "machine_type",
                           json_object_new_string(t->machine_type));
    json_object_object_add(o, "disk_gb", json_object_new_int(t->disk_gb));
    json_object_object_add(o, "sql_tier", json_object_new_string(t->sql.tier));
    json_object_object_add(o, "sql_ha", json_object_new_boolean(t->sql.regional));
    json_object_object_add(o, "max_users", json_object_new_int(t->max_users));
    json_object_object_add(o, "backup",
                           json_object_new_string(t->backup_frequency));
    json_object_object_add(o, "retention_days",
                           json_object_new_int(t->retention_days));
    if (edv__tier_cost_estimate(tiers, t, 0, &c, NULL) == 0)
      json_object_object_add(o, "monthly_cost_usd",
                             json_object_new_double(c.total));
    json_object_array_add(arr, o);
  }
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, arr);
  } else {
    fprintf(ctx->out, "%-11s %-14s %6s  %-17s %-3s %6s  %-7s %5s %10s\n",
            "TIER", "MACHINE", "DISK", "DATABASE", "HA", "USERS", "BACKUP",
            "KEEP", "USD/MONTH");
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
      json_object *o = json_object_array_get_idx(arr, i);
#define S(k) json_object_get_string(json_object_object_get(o, k))
#define I(k) json_object_get_int(json_object_object_get(o, k))
      fprintf(ctx->out, "%-11s %-14s %4dGB  %-17s %-3s %6d  %-7s %4dd %10.2f\n",
              S("name"), S("machine_type"), I("disk_gb"), S("sql_tier"),
              json_object_get_boolean(json_object_object_get(o, "sql_ha"))
                  ? "yes"
                  : "no",
              I("max_users"), S("backup"), I("retention_days"),
              json_object_get_double(
                  json_object_object_get(o, "monthly_cost_usd")));
#undef S
#undef I
    }
  }
  json_object_put(arr);
  edv__tiers_free(tiers);
  return CLI_EXIT_OK;
}
