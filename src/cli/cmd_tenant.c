/*
 * cmd_tenant.c - `edvctl platform init`, `edvctl tenant ...`, `edvctl tiers
 * list`: the fleet commands, run directly through the library.
 *
 * Every command opens the same three things: the engine (cli_engine, with
 * the embedded simulator under --sim), the state store in the state
 * directory, and the tiers file. Long work shows progress: on a terminal a
 * live view of the tenant's steps, redrawn in place; otherwise one line per
 * transition; with --format json nothing but the final JSON (progress.c).
 * `tenant plan` shows no progress: its events are collected into the plan.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/remote.h"
#include "common/log.h"
#include "prog/fleetenv.h"
#include "store/store.h"
#include "tenant/dnscheck.h"
#include "tenant/machine.h"
#include "tenant/observe.h"
#include "tenant/spec.h"
#include "tenant/tiers.h"

/* Where the tiers file is looked for, after the config's tiers_file and
 * ./tiers.json: the installed copy, then the source tree's (for a build
 * not installed), both set by meson. */
#ifndef EDV_TIERS_INSTALLED
#define EDV_TIERS_INSTALLED "/usr/local/share/edv/tiers.json"
#endif
#ifndef EDV_TIERS_SOURCE
#define EDV_TIERS_SOURCE "tiers.json"
#endif

/* ---- opening the fleet ------------------------------------------------- */

/* What a plan saw for one step: the calls it would make, the drift. */
typedef struct plan_item {
  char step[32];
  char kind[8]; /* "call" or "note" */
  char text[400];
} plan_item;

typedef struct job {
  cli_ctx *ctx;
  edv_store *store;
  edv__tiers *tiers;
  edv__fleet *fleet;
  cli_view view;          /* progress of the run(s) */
  int view_on;            /* view started */
  int runs;               /* runs in flight */
  int failed;             /* runs that ended FAILED */
  edv_error err;          /* first error */
  edv_tenant_phase phase; /* last run's final phase */
  json_object *plan;      /* edvctl tenant plan: what it saw */
  int fleet_closed;
} job;

/* The tiers file: config tiers_file (EDV_TIERS_FILE), else ./tiers.json,
 * else the installed copy, else the source tree's (the same lookup as
 * edvd's, prog/fleetenv.c). */
static int load_tiers(cli_ctx *ctx, edv__tiers **out)
{
  static const char *const fallbacks[] = {EDV_TIERS_INSTALLED, EDV_TIERS_SOURCE,
                                          NULL};
  edv_error err;
  int result;

  /* The config (file, EDV_TIERS_FILE) names the file: `tiers list` needs
   * no other setting, so it must load it here. */
  if ((result = cli_config(ctx)) != CLI_EXIT_OK)
    return result;
  if (edv__env_load_tiers(ctx->cfg, fallbacks, out, &err))
    return cli_fail(ctx, &err);
  return CLI_EXIT_OK;
}

edv__tiers *cli_tenant_tiers(cli_ctx *ctx)
{
  static const char *const fallbacks[] = {EDV_TIERS_INSTALLED, EDV_TIERS_SOURCE,
                                          NULL};
  edv__tiers *t = NULL;
  edv_error err;

  if (cli_config(ctx) || edv__env_load_tiers(ctx->cfg, fallbacks, &t, &err))
    return NULL;
  return t;
}

static int open_store(cli_ctx *ctx, edv_store **out)
{
  edv_error err;

  if (edv__env_open_store(cli_state_dir(ctx), out, &err))
    return cli_fail(ctx, &err);
  return CLI_EXIT_OK;
}

/* ---- progress ---------------------------------------------------------- */

/* A plan collects what it would do; it shows no progress. */
static void plan_event(job *j, const edv__event *ev)
{
  json_object *o;

  if ((ev->kind != EDV_EV_PLAN && ev->kind != EDV_EV_INFO) || !ev->message)
    return;
  o = json_object_new_object();
  json_object_object_add(o, "step",
                         json_object_new_string(ev->step ? ev->step : ""));
  json_object_object_add(o, "title",
                         json_object_new_string(ev->title ? ev->title : ""));
  json_object_object_add(
      o, "kind",
      json_object_new_string(ev->kind == EDV_EV_PLAN ? "call" : "note"));
  json_object_object_add(o, ev->kind == EDV_EV_PLAN ? "call" : "note",
                         json_object_new_string(ev->message));
  json_object_array_add(j->plan, o);
}

static void on_event(void *data, const edv__event *ev)
{
  job *j = data;

  if (j->plan) {
    plan_event(j, ev);
    return;
  }
  if (j->view_on)
    cli_view_event(&j->view, ev);
}

/* ---- job lifecycle ---------------------------------------------------------
 */

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
  /* domain, region, supernet, subnet_prefix, tenant.lease_ttl_s: the same
   * as edvd's (prog/fleetenv.c). */
  edv__env_fleet_opts(ctx->cfg, &o);
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
  return CLI_EXIT_OK;
}

static void fleet_closed(void *data)
{
  ((job *)data)->fleet_closed = 1;
}

static void job_close(job *j)
{
  if (j->view_on) {
    cli_view_close(&j->view);
    j->view_on = 0;
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
  if (err && err->code && !j->err.code)
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
  if (j->view_on)
    cli_view_stopping(&j->view);
  edv__fleet_stop(j->fleet, NULL);
}

/* Starts the progress view of one tenant (NULL: lines for any tenant). */
static void start_view(job *j, const char *tenant, const edv__step_def *defs,
                       unsigned n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static void start_view(job *j, const char *tenant, const edv__step_def *defs,
                       unsigned n, const char *fmt, ...)
{
  char heading[160];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(heading, sizeof(heading), fmt, ap);
  va_end(ap);
  cli_view_start(&j->view, j->ctx, tenant, heading, defs, n, tenant != NULL);
  j->view_on = 1;
}

/*
 * Runs the loop until every run ended, then draws the final frame: `what`
 * names the work ("school001", "the platform"). Returns the exit code.
 */
static int wait_runs(cli_ctx *ctx, job *j, const char *what)
{
  double secs;

  ctx->done = j->runs == 0;
  ctx->on_interrupt = on_interrupt;
  ctx->interrupt_data = j;
  cli_loop_run(ctx);
  ctx->on_interrupt = NULL;
  secs = j->view_on ? (double)(uv_now(ctx->loop) - j->view.start_ms) / 1e3 : 0;
  if (j->err.code == EDV_ECANCELED || ctx->interrupted) {
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
    if (who[0] >= 'a' && who[0] <= 'z' && strncmp(who, "the ", 4) == 0)
      who[0] = 'T'; /* "The platform ...": a sentence */
    if (j->err.code)
      cli_view_finish(&j->view, 0, "%s FAILED after %.1fs.", who, secs);
    else
      cli_view_finish(&j->view, 0, "%s is %s (%.1fs).", who,
                      edv__phase_name(j->phase), secs);
  }
  if (j->err.code)
    return cli_fail(ctx, &j->err);
  return CLI_EXIT_OK;
}

/* ---- output helpers ------------------------------------------------------ */

/* An amount of money as a JSON number with two decimals ("48.92", not
 * 48.918321999999996). */
static json_object *money(double v)
{
  char buf[32];

  snprintf(buf, sizeof(buf), "%.2f", v);
  return json_object_new_double_s(strtod(buf, NULL), buf);
}

json_object *cli_tenant_doc(const edv__tiers *tiers, const char *domain,
                            const char *id, json_object *spec,
                            const char *phase, int64_t generation,
                            const char *last_error, int64_t created_ms,
                            int64_t updated_ms)
{
  json_object *o = json_object_new_object();
  const edv__tier *t;
  edv__tier_cost cost;
  json_object *tier;

  json_object_object_add(o, "id", json_object_new_string(id));
  json_object_object_add(o, "spec", spec ? spec : json_object_new_object());
  json_object_object_add(o, "phase", json_object_new_string(phase));
  json_object_object_add(o, "generation", json_object_new_int((int)generation));
  {
    char url[400];
    json_object *urls = json_object_new_array(), *slug;
    snprintf(url, sizeof(url), "https://%s.%s", id, domain);
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_array_add(urls, json_object_new_string(url));
    if (spec && json_object_object_get_ex(spec, "slug", &slug) &&
        strcmp(json_object_get_string(slug), id) != 0) {
      snprintf(url, sizeof(url), "https://%s.%s", json_object_get_string(slug),
               domain);
      json_object_array_add(urls, json_object_new_string(url));
    }
    json_object_object_add(o, "urls", urls);
  }
  if (last_error && last_error[0])
    json_object_object_add(o, "last_error", json_object_new_string(last_error));
  json_object_object_add(o, "created_ms", json_object_new_int64(created_ms));
  json_object_object_add(o, "updated_ms", json_object_new_int64(updated_ms));
  t = tiers && spec && json_object_object_get_ex(spec, "tier", &tier)
          ? edv__tiers_find(tiers, json_object_get_string(tier))
          : NULL;
  if (t && edv__tier_cost_estimate(tiers, t, 0, &cost, NULL) == 0) {
    json_object *c = json_object_new_object();
    json_object_object_add(c, "currency", json_object_new_string("USD"));
    json_object_object_add(c, "vm", money(cost.vm));
    json_object_object_add(c, "disk", money(cost.disk));
    json_object_object_add(c, "sql", money(cost.sql));
    json_object_object_add(c, "sql_storage", money(cost.sql_storage));
    json_object_object_add(c, "backups",
                           money(cost.sql_backups + cost.snapshots));
    json_object_object_add(c, "shared", money(cost.lb_share + cost.dns_share));
    json_object_object_add(c, "total", money(cost.total));
    json_object_object_add(o, "monthly_cost_estimate", c);
    json_object_object_add(o, "max_users", json_object_new_int(t->max_users));
  }
  if (t) {
    json_object *apps = json_object_new_array();
    json_object *feats = json_object_new_array();
    for (size_t i = 0; i < t->napps; i++)
      json_object_array_add(apps, json_object_new_string(t->app_access[i]));
    for (size_t i = 0; i < t->nfeatures; i++)
      json_object_array_add(feats, json_object_new_string(t->features[i]));
    json_object_object_add(o, "app_access", apps);
    json_object_object_add(o, "features", feats);
  }
  return o;
}

static json_object *tenant_json(job *j, const edv__tenant_rec *rec)
{
  const char *d = edv_config_get(j->ctx->cfg, "domain");

  return cli_tenant_doc(j->tiers, d ? d : "edvirons.com", rec->id,
                        json_tokener_parse(rec->spec_json),
                        edv__phase_name(rec->phase), (int64_t)rec->generation,
                        rec->last_error, rec->created_ms, rec->updated_ms);
}

/* ---- live state of the tenant's main resources ------------------------ */

typedef struct obs_wait {
  cli_ctx *ctx;
  json_object *resources;
} obs_wait;

static void obs_done(void *data, json_object *resources)
{
  obs_wait *w = data;

  w->resources = resources;
  w->ctx->done = 1;
}

/* Adds "resources" (tenant/observe.h: the VM, the database and the
 * certificate, asked at once with a short deadline: `tenant get` must
 * answer even when the cloud does not, each item then says why). */
static void observe(job *j, const edv__tenant_rec *rec, json_object *t)
{
  obs_wait w = {j->ctx, NULL};

  j->ctx->done = 0;
  if (edv__observe(j->ctx->engine, j->store, rec, 15000, obs_done, &w) == 0)
    cli_loop_run(j->ctx);
  json_object_object_add(t, "resources",
                         w.resources ? w.resources : json_object_new_object());
}

/* The tenant's summary, from its document (cli_tenant_doc with
 * "resources"): JSON with --format json, else aligned lines. */
void cli_tenant_print_summary(cli_ctx *ctx, json_object *o,
                              const edv__tiers *tiers)
{
  json_object *spec = json_object_object_get(o, "spec"), *v;
  json_object *res = json_object_object_get(o, "resources");
  const char *tier =
      json_object_get_string(json_object_object_get(spec, "tier"));
  const edv__tier *t = tiers && tier ? edv__tiers_find(tiers, tier) : NULL;

#define JS(x, k) json_object_get_string(json_object_object_get((x), (k)))
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, o);
    return;
  }
  fprintf(ctx->out, "Tenant       %s: %s\n", JS(o, "id"),
          JS(spec, "display_name"));
  fprintf(ctx->out, "Phase        %s\n", JS(o, "phase"));
  v = json_object_object_get(o, "urls");
  fprintf(ctx->out, "URL          %s", JS(o, "url"));
  if (v && json_object_array_length(v) > 1)
    fprintf(ctx->out, " (also %s)",
            json_object_get_string(json_object_array_get_idx(v, 1)));
  fputc('\n', ctx->out);
  fprintf(ctx->out, "Tier         %s, region %s\n", tier, JS(spec, "region"));
  if (t) {
    json_object *vm = json_object_object_get(res, "vm");
    json_object *db = json_object_object_get(res, "database");
    json_object *cert = json_object_object_get(res, "certificate");
    const char *ip = JS(vm, "private_ip");
    fprintf(ctx->out, "VM           %s: %s, %d GB %s; %s%s%s\n", JS(vm, "name"),
            t->machine_type, t->disk_gb, t->disk_type, JS(vm, "state"),
            ip ? ", " : "", ip ? ip : "");
    ip = JS(db, "private_ip");
    fprintf(ctx->out, "Database     %s: PostgreSQL, %s%s; %s%s%s\n",
            JS(db, "name"), t->sql.tier, t->sql.regional ? " regional HA" : "",
            JS(db, "state"), ip ? ", " : "", ip ? ip : "");
    fprintf(ctx->out, "Certificate  %s: %s\n", JS(cert, "name"),
            JS(cert, "state"));
    fprintf(ctx->out, "Licences     %d users\n", t->max_users);
    fprintf(ctx->out, "Apps         ");
    for (size_t i = 0; i < t->napps; i++)
      fprintf(ctx->out, "%s%s", i ? ", " : "", t->app_access[i]);
    fputc('\n', ctx->out);
  }
  v = json_object_object_get(o, "monthly_cost_estimate");
  if (v)
    fprintf(ctx->out, "Cost         ~$%.2f a month (list prices, %s)\n",
            json_object_get_double(json_object_object_get(v, "total")),
            JS(v, "currency"));
  fprintf(ctx->out, "Last error   %s\n",
          JS(o, "last_error") ? JS(o, "last_error") : "none");
#undef JS
  fflush(ctx->out); /* before any hint on stderr */
}

/* The tenant's summary, with the live state of its resources. */
static void print_summary(job *j, const char *id)
{
  edv__tenant_rec rec;
  json_object *o;

  if (edv__store_tenant_get(j->store, id, &rec, NULL))
    return;
  o = tenant_json(j, &rec);
  observe(j, &rec, o);
  cli_tenant_print_summary(j->ctx, o, j->tiers);
  json_object_put(o);
}

/* ---- platform init ----------------------------------------------------------
 */

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
  start_view(&j, EDV_PLATFORM_ID, edv__platform_steps, edv__platform_nsteps,
             "Platform of project %s", edv_engine_project(ctx->engine));
  if (edv__fleet_drive(j.fleet, EDV_PLATFORM_ID, EDV_DIR_UP, on_run_done, &j,
                       &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  j.runs = 1;
  result = wait_runs(ctx, &j, "the platform");
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

/* ---- tenant create
 * ------------------------------------------------------------ */

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
    return cli_usage_error(ctx,
                           "REGION '%s' is not a region of project '%s' "
                           "(the Compute API does not know it)",
                           region, edv_engine_project(ctx->engine));
  }
  return CLI_EXIT_OK;
}

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

typedef struct hosts_check {
  cli_ctx *ctx;
  edv_error err;
} hosts_check;

static void on_hosts(void *data, const edv_error *err)
{
  hosts_check *hc = data;

  if (err)
    hc->err = *err;
  hc->ctx->done = 1;
}

/* The hostnames: no reserved label, and no record someone else made at
 * them (tenant/dnscheck.h), asked before anything is recorded. */
static int check_hosts(job *j, const edv__tenant_spec *spec)
{
  cli_ctx *ctx = j->ctx;
  hosts_check hc;
  edv_error err;
  const char *const given[5] = {spec->id, spec->slug, spec->display_name,
                                spec->tier, spec->region};

  memset(&hc, 0, sizeof(hc));
  hc.ctx = ctx;
  ctx->done = 0;
  if (edv__fleet_check_hosts(j->fleet, spec, on_hosts, &hc, &err))
    return err.code == EDV_EINVAL ? spec_error(ctx, given, err.message)
                                  : cli_fail(ctx, &err);
  cli_loop_run(ctx);
  if (hc.err.code)
    return cli_fail(ctx, &hc.err);
  return CLI_EXIT_OK;
}

/* The spec's fields, the tier and the hostnames, offline. */
static int validate_spec(cli_ctx *ctx, const edv__tenant_spec *spec)
{
  edv__tiers *tiers = NULL;
  edv_error err;
  char known[256] = "";
  size_t off = 0;
  int result;

  if ((result = cli_config(ctx)) || (result = load_tiers(ctx, &tiers)))
    return result;
  if (!edv__tiers_find(tiers, spec->tier)) {
    for (size_t i = 0; i < tiers->ntiers && off < sizeof(known); i++)
      off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
                              i ? ", " : "", tiers->tiers[i].name);
    edv__tiers_free(tiers);
    return cli_usage_error(ctx, "TIER '%s' is not a known tier (known: %s)",
                           spec->tier, known);
  }
  result = edv__spec_validate(spec, tiers, NULL, NULL,
                              edv_config_get(ctx->cfg, "domain"), &err);
  edv__tiers_free(tiers);
  if (result)
    return spec_error(ctx,
                      (const char *const[]){spec->id, spec->slug,
                                            spec->display_name, spec->tier,
                                            spec->region},
                      err.message);
  return CLI_EXIT_OK;
}

int cli_cmd_tenant_create(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_spec spec;
  edv_error err;
  int result, wait;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  /* The same checks as the Management API's (edv__spec_set): a value too
   * long for its field is refused, never cut to fit. */
  if (edv__spec_set(&spec, args->argv[0], args->argv[1], args->argv[2],
                    args->argv[3], args->argv[4], &err))
    return spec_error(ctx, (const char *const *)args->argv, err.message);
  spec.ops_ssh = cli_arg(args, "ops-ssh") != NULL;
  if (cli_arg(args, "wait") && cli_arg(args, "no-wait"))
    return cli_usage_error(ctx, "--wait and --no-wait exclude each other");
  wait = cli_arg(args, "wait")      ? 1
         : cli_arg(args, "no-wait") ? 0
                                    : isatty(fileno(stdout));
  /* Everything that can be checked is checked before anything is
   * recorded or started: the fields, the tier, the hostnames (here, with
   * no engine, store or simulator), then the region (the API). */
  result = validate_spec(ctx, &spec);
  if (result)
    return result;
  result = job_open(ctx, &j, 1);
  if (result) {
    job_close(&j);
    return result;
  }
  result = check_region(&j, spec.region);
  if (!result)
    result = check_hosts(&j, &spec);
  if (result) {
    job_close(&j);
    return result;
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
  start_view(&j, spec.id, edv__tenant_steps, edv__tenant_nsteps,
             "Provisioning %s (%s, %s, %s)", spec.id, spec.slug, spec.tier,
             spec.region);
  if (edv__fleet_drive(j.fleet, spec.id, EDV_DIR_UP, on_run_done, &j, &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  j.runs = 1;
  result = wait_runs(ctx, &j, spec.id);
  if (result != CLI_EXIT_INTERRUPTED)
    print_summary(&j, spec.id);
  if (j.failed && !ctx->quiet && ctx->format != CLI_FORMAT_JSON)
    fprintf(ctx->err,
            "%s: tenant %s is FAILED; fix the cause above, then run `edvctl "
            "tenant retry %s`\n",
            ctx->prog, spec.id, spec.id);
  job_close(&j);
  return result;
}

/* ---- tenant list / get / history / state ------------------------------------
 */

typedef struct list_ctx {
  job *j;
  json_object *arr;
  const char *tier;
  int phase;
  int all;
} list_ctx;

void cli_tenant_print_list(cli_ctx *ctx, json_object *arr)
{
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, arr);
    return;
  }
  fprintf(ctx->out, "%-16s %-22s %-11s %-14s %-15s %s\n", "ID", "SLUG", "TIER",
          "REGION", "PHASE", "URL");
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *o = json_object_array_get_idx(arr, i);
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

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
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
      return cli_usage_error(ctx,
                             "--state: '%s' is not a phase (PENDING, "
                             "PROVISIONING, READY, UPDATING, "
                             "DEPROVISIONING, DELETED, FAILED)",
                             st);
  }
  result = job_open(ctx, &j, 0);
  if (result) {
    job_close(&j);
    return result;
  }
  if (cli_arg(args, "tier") &&
      !edv__tiers_find(j.tiers, cli_arg(args, "tier"))) {
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
  cli_tenant_print_list(ctx, lc.arr);
  json_object_put(lc.arr);
  job_close(&j);
  return CLI_EXIT_OK;
}

static int steps_one(void *data, const edv__step_rec *r)
{
  json_object *arr = data, *o = json_object_new_object();

  json_object_object_add(o, "step", json_object_new_string(r->step));
  json_object_object_add(
      o, "state", json_object_new_string(edv__step_state_name(r->state)));
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

/* The step records in plan order (the store's order is arbitrary). */
static json_object *steps_ordered(job *j, const char *id)
{
  json_object *all = json_object_new_array(), *out = json_object_new_array();

  edv__store_step_list(j->store, id, steps_one, all, NULL);
  for (unsigned d = 0; d < edv__tenant_nsteps; d++) {
    for (size_t i = 0; i < json_object_array_length(all); i++) {
      json_object *s = json_object_array_get_idx(all, i);
      if (strcmp(json_object_get_string(json_object_object_get(s, "step")),
                 edv__tenant_steps[d].name) == 0) {
        json_object_object_add(
            s, "title", json_object_new_string(edv__tenant_steps[d].title));
        json_object_array_add(out, json_object_get(s));
      }
    }
  }
  json_object_put(all);
  return out;
}

void cli_tenant_print_steps(cli_ctx *ctx, json_object *steps)
{
  if (json_object_array_length(steps) == 0)
    return;
  fprintf(ctx->out, "\n%-34s %-8s %8s %8s  %s\n", "STEP", "STATE", "ATTEMPTS",
          "TOOK", "ERROR");
  for (size_t i = 0; i < json_object_array_length(steps); i++) {
    json_object *s = json_object_array_get_idx(steps, i);
    json_object *e = json_object_object_get(s, "error");
    int64_t t0 = json_object_get_int64(json_object_object_get(s, "started_ms"));
    int64_t t1 =
        json_object_get_int64(json_object_object_get(s, "finished_ms"));
    char took[32] = "-";

    if (t0 > 0 && t1 >= t0)
      snprintf(took, sizeof(took), "%.1fs", (double)(t1 - t0) / 1e3);
    fprintf(ctx->out, "%-34s %-8s %8d %8s  %s\n",
            json_object_get_string(json_object_object_get(s, "title")),
            json_object_get_string(json_object_object_get(s, "state")),
            json_object_get_int(json_object_object_get(s, "attempt")), took,
            e ? json_object_get_string(e) : "");
  }
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
  steps = steps_ordered(&j, rec.id);
  if (!whole && ctx->format != CLI_FORMAT_JSON) {
    print_summary(&j, rec.id);
    cli_tenant_print_steps(ctx, steps);
    json_object_put(steps);
    job_close(&j);
    return CLI_EXIT_OK;
  }
  o = tenant_json(&j, &rec);
  if (!whole) {
    observe(&j, &rec, o);
  }
  json_object_object_add(o, "steps", steps);
  if (whole) {
    edv_cidr c;
    edv__lease_rec l;
    char buf[EDV_CIDR_STRLEN + 1];
    if (edv__store_subnet_get(j.store, rec.id, &c, NULL) == 0)
      json_object_object_add(
          o, "subnet",
          json_object_new_string(edv__cidr_format(&c, buf, sizeof(buf))));
    if (edv__store_lease_get(j.store, rec.id, &l, NULL) == 0) {
      json_object *lo = json_object_new_object();
      json_object_object_add(lo, "holder", json_object_new_string(l.holder));
      json_object_object_add(lo, "expires_ms",
                             json_object_new_int64(l.expires_ms));
      json_object_object_add(o, "lease", lo);
    }
  }
  cli_print_json(ctx, o);
  json_object_put(o);
  job_close(&j);
  return CLI_EXIT_OK;
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

void cli_tenant_print_history(cli_ctx *ctx, json_object *arr)
{
  if (ctx->format == CLI_FORMAT_JSON) {
    cli_print_json(ctx, arr);
  } else {
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
      json_object *e = json_object_array_get_idx(arr, i), *v;
      time_t t =
          (time_t)(json_object_get_int64(json_object_object_get(e, "time_ms")) /
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
}

int cli_cmd_tenant_history(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  json_object *arr;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  result = job_open(ctx, &j, 0);
  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  arr = json_object_new_array();
  edv__store_journal_list(j.store, rec.id, 0, 0, journal_one, arr, NULL);
  cli_tenant_print_history(ctx, arr);
  json_object_put(arr);
  job_close(&j);
  return CLI_EXIT_OK;
}

/* ---- plan
 * ----------------------------------------------------------------------- */

/* "+" create, "~" change, "-" delete: from the call's method and path. */
static const char *plan_action(const char *call, const char **word)
{
  const char *path = strchr(call, ' '), *last;

  if (strncmp(call, "DELETE", 6) == 0) {
    *word = "delete";
    return "-";
  }
  last = path ? strrchr(path, '/') : NULL;
  if (strncmp(call, "POST", 4) == 0 && last && !strchr(last, ':') &&
      strncmp(last, "/set", 4) != 0 && strncmp(last, "/add", 4) != 0 &&
      strncmp(last, "/remove", 7) != 0 && strncmp(last, "/patch", 6) != 0) {
    *word = "create";
    return "+";
  }
  *word = "update";
  return "~";
}

static int step_index(const char *name)
{
  for (unsigned d = 0; name && d < edv__tenant_nsteps; d++)
    if (strcmp(edv__tenant_steps[d].name, name) == 0)
      return (int)d;
  return (int)edv__tenant_nsteps;
}

/* json_object_array_sort: plan order of the items' "step". */
static int by_step(const void *a, const void *b)
{
  json_object *const *x = a, *const *y = b;

  return step_index(
             json_object_get_string(json_object_object_get(*x, "step"))) -
         step_index(json_object_get_string(json_object_object_get(*y, "step")));
}

/* The plan as a document: calls and drift per step, and what a plan does
 * not check. Returns a new object. */
static json_object *plan_doc(const edv__tenant_rec *rec, json_object *items,
                             int counts[4])
{
  json_object *doc = json_object_new_object();
  json_object *changes = json_object_new_array();
  json_object *drift = json_object_new_array();
  json_object *unchecked = json_object_new_array();

  counts[0] = counts[1] = counts[2] = counts[3] = 0;
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i), *o;
    const char *kind =
        json_object_get_string(json_object_object_get(it, "kind"));
    const char *step =
        json_object_get_string(json_object_object_get(it, "step"));
    const char *title =
        json_object_get_string(json_object_object_get(it, "title"));

    if (strcmp(kind, "call") == 0) {
      const char *call =
          json_object_get_string(json_object_object_get(it, "call"));
      const char *word, *sym = plan_action(call, &word);
      const char *sp = strchr(call, ' ');
      o = json_object_new_object();
      json_object_object_add(o, "step", json_object_new_string(step));
      json_object_object_add(o, "title", json_object_new_string(title));
      json_object_object_add(o, "action", json_object_new_string(word));
      json_object_object_add(
          o, "method",
          json_object_new_string_len(call, sp ? (int)(sp - call)
                                              : (int)strlen(call)));
      json_object_object_add(o, "path",
                             json_object_new_string(sp ? sp + 1 : ""));
      json_object_array_add(changes, o);
      counts[sym[0] == '+' ? 0 : sym[0] == '~' ? 1 : 2]++;
    } else {
      const char *note =
          json_object_get_string(json_object_object_get(it, "note"));
      json_object *arr = strncmp(note, "drift:", 6) == 0          ? drift
                         : strncmp(note, "would ensure", 12) == 0 ? unchecked
                                                                  : NULL;
      if (!arr)
        continue; /* observations ("VM RUNNING"), not differences */
      o = json_object_new_object();
      json_object_object_add(o, "step", json_object_new_string(step));
      json_object_object_add(o, "title", json_object_new_string(title));
      json_object_object_add(o, "note", json_object_new_string(note));
      json_object_array_add(arr, o);
    }
  }
  /* Drift whose step makes a call is put back by the reconcile (the call
   * is the repair); the rest needs a manual change. */
  for (size_t i = 0; i < json_object_array_length(drift); i++) {
    json_object *d = json_object_array_get_idx(drift, i);
    const char *ds = json_object_get_string(json_object_object_get(d, "step"));
    int fixed = 0;
    for (size_t k = 0; k < json_object_array_length(changes) && !fixed; k++)
      fixed = strcmp(json_object_get_string(json_object_object_get(
                         json_object_array_get_idx(changes, k), "step")),
                     ds) == 0;
    json_object_object_add(d, "repaired", json_object_new_boolean(fixed));
    if (!fixed)
      counts[3]++;
  }
  json_object_array_sort(changes, by_step);
  json_object_array_sort(drift, by_step);
  json_object_array_sort(unchecked, by_step);
  json_object_object_add(doc, "tenant", json_object_new_string(rec->id));
  json_object_object_add(doc, "phase",
                         json_object_new_string(edv__phase_name(rec->phase)));
  json_object_object_add(
      doc, "in_sync",
      json_object_new_boolean(json_object_array_length(changes) == 0 &&
                              json_object_array_length(drift) == 0));
  json_object_object_add(doc, "changes", changes);
  json_object_object_add(doc, "drift", drift);
  json_object_object_add(doc, "not_checked", unchecked);
  return doc;
}

static void plan_print(cli_ctx *ctx, const edv__tenant_rec *rec,
                       json_object *doc, const int counts[4])
{
  json_object *changes = json_object_object_get(doc, "changes");
  json_object *drift = json_object_object_get(doc, "drift");
  json_object *unchecked = json_object_object_get(doc, "not_checked");
  size_t nc = json_object_array_length(changes);
  size_t nd = json_object_array_length(drift);

#define JS(o, k) json_object_get_string(json_object_object_get((o), (k)))
  if (nc == 0 && nd == 0) {
    fprintf(ctx->out,
            "No changes. Tenant %s (%s) matches its spec: a reconcile would "
            "make no call.\n",
            rec->id, edv__phase_name(rec->phase));
  } else {
    fprintf(ctx->out,
            "Tenant %s (%s, %s): a reconcile would make %zu "
            "call(s).\n\n",
            rec->id, rec->tier, edv__phase_name(rec->phase), nc);
    for (size_t i = 0; i < nc; i++) {
      json_object *c = json_object_array_get_idx(changes, i);
      const char *act = JS(c, "action");
      const char *sym = strcmp(act, "create") == 0   ? "+"
                        : strcmp(act, "delete") == 0 ? "-"
                                                     : "~";
      fprintf(ctx->out, "  %s %s (%s)\n      %s %s\n", sym, JS(c, "title"),
              JS(c, "step"), JS(c, "method"), JS(c, "path"));
    }
    for (size_t i = 0; i < nd; i++) {
      json_object *d = json_object_array_get_idx(drift, i);
      int fixed =
          json_object_get_boolean(json_object_object_get(d, "repaired"));
      fprintf(ctx->out, "  %s %s (%s)\n      %s%s\n", fixed ? "~" : "!",
              JS(d, "title"), JS(d, "step"), JS(d, "note") + 7,
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
#undef JS
}

int cli_cmd_tenant_plan(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  edv_error err;
  json_object *doc;
  int counts[4];
  int result = job_open(ctx, &j, 1);

  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  if (rec.phase == EDV_PHASE_DELETED) {
    job_close(&j);
    edv_error_set(&err, EDV_ENOTFOUND,
                  "tenant '%s' is deleted: there is nothing to plan", rec.id);
    return cli_fail(ctx, &err);
  }
  /* A plan prints its result, not progress: no view is started, and
   * on_event only collects. */
  j.plan = json_object_new_array();
  if (edv__fleet_plan(j.fleet, rec.id, on_run_done, &j, &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  j.runs = 1;
  result = wait_runs(ctx, &j, rec.id);
  if (result == CLI_EXIT_OK) {
    doc = plan_doc(&rec, j.plan, counts);
    if (ctx->format == CLI_FORMAT_JSON)
      cli_print_json(ctx, doc);
    else
      plan_print(ctx, &rec, doc, counts);
    /* terraform plan -detailed-exitcode: 2 when there is something to do */
    if (cli_arg(args, "detailed-exitcode") &&
        !json_object_get_boolean(json_object_object_get(doc, "in_sync")))
      result = CLI_EXIT_PLAN_CHANGES;
    json_object_put(doc);
  }
  job_close(&j);
  return result;
}

/* ---- retry / resume / delete ----------------------------------------------
 */

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
  edv__direction dir;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  result = job_open(ctx, &j, 1);
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
  dir = direction_of(&j, &rec);
  start_view(&j, rec.id, edv__tenant_steps, edv__tenant_nsteps,
             "%s %s (%s, %s): retry",
             dir == EDV_DIR_UP ? "Provisioning" : "Deleting", rec.id, rec.slug,
             rec.tier);
  result = drive_one(&j, &rec, dir);
  if (result == CLI_EXIT_OK) {
    result = wait_runs(ctx, &j, rec.id);
    print_summary(&j, rec.id);
  }
  job_close(&j);
  return result;
}

int cli_cmd_tenant_update(cli_ctx *ctx, const cli_args *args)
{
  job j;
  edv__tenant_rec rec;
  edv_error err;
  const char *ops = cli_arg(args, "ops-ssh");
  int result, on;

  if (cli_remote_on(ctx))
    return cli_usage_error(ctx, "not available with --server: use PUT "
                                "/api/tenants/ID {\"ops_ssh\": true}");
  if (!ops)
    return cli_usage_error(ctx, "nothing to change (--ops-ssh on|off)");
  if (strcmp(ops, "on") != 0 && strcmp(ops, "off") != 0)
    return cli_usage_error(ctx, "--ops-ssh: '%s' is not on or off", ops);
  on = strcmp(ops, "on") == 0;
  result = job_open(ctx, &j, 1);
  if (result || (result = get_tenant(ctx, &j, args->argv[0], &rec))) {
    job_close(&j);
    return result;
  }
  if (edv__fleet_set_ops_ssh(j.fleet, rec.id, on, &err)) {
    job_close(&j);
    return cli_fail(ctx, &err);
  }
  start_view(&j, rec.id, edv__tenant_steps, edv__tenant_nsteps,
             "Updating %s (%s, %s): operations SSH %s", rec.id, rec.slug,
             rec.tier, ops);
  result = drive_one(&j, &rec, EDV_DIR_UP);
  if (result == CLI_EXIT_OK) {
    result = wait_runs(ctx, &j, rec.id);
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
  edv__direction dir;
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  result = job_open(ctx, &j, 1);
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
    dir = direction_of(&j, &rec);
    start_view(&j, rec.id, edv__tenant_steps, edv__tenant_nsteps,
               "%s %s (%s, %s): resume",
               dir == EDV_DIR_UP ? "Provisioning" : "Deleting", rec.id,
               rec.slug, rec.tier);
    result = drive_one(&j, &rec, dir);
  } else if (cli_arg(args, "all")) {
    edv__tenant_filter f;
    char next[EDV_STORE_ID_SZ] = "";
    start_view(&j, NULL, edv__tenant_steps, edv__tenant_nsteps, "resume");
    memset(&f, 0, sizeof(f));
    f.phase = -1;
    f.limit = 1000;
    do {
      f.after = next;
      edv__store_tenant_list(j.store, &f, resume_one, &rc, next, sizeof(next),
                             NULL);
    } while (next[0]);
    result = rc.result;
    if (ctx->format == CLI_FORMAT_JSON) {
      json_object *o = json_object_new_object();
      json_object_object_add(o, "resumed", json_object_new_int((int)rc.count));
      cli_print_json(ctx, o);
      json_object_put(o);
    } else if (!ctx->quiet)
      fprintf(ctx->err, "%s: resuming %u tenant(s)\n", ctx->prog, rc.count);
  } else {
    job_close(&j);
    return cli_usage_error(ctx, "give a tenant ID or --all");
  }
  if (j.runs) {
    int r = wait_runs(ctx, &j,
                      args->argc == 1 ? args->argv[0] : "the tenants resumed");
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
  int result;

  if (cli_remote_on(ctx))
    return cli_remote_tenant(ctx, args);
  result = job_open(ctx, &j, 1);
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
      return cli_usage_error(ctx,
                             "refusing to delete tenant '%s' without "
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
  start_view(&j, rec.id, edv__tenant_steps, edv__tenant_nsteps,
             "Deleting %s (%s, %s)", rec.id, rec.slug, rec.tier);
  result = drive_one(&j, &rec, EDV_DIR_DOWN);
  if (result == CLI_EXIT_OK)
    result = wait_runs(ctx, &j, rec.id);
  if (result == CLI_EXIT_OK && ctx->format == CLI_FORMAT_JSON)
    print_summary(&j, rec.id);
  else if (result == CLI_EXIT_OK)
    fprintf(ctx->out, "Tenant %s deleted.\n", rec.id);
  job_close(&j);
  return result;
}

/* ---- tiers list
 * ---------------------------------------------------------------- */

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
    json_object_object_add(o, "sql_ha",
                           json_object_new_boolean(t->sql.regional));
    json_object_object_add(o, "max_users", json_object_new_int(t->max_users));
    json_object_object_add(o, "backup",
                           json_object_new_string(t->backup_frequency));
    json_object_object_add(o, "retention_days",
                           json_object_new_int(t->retention_days));
    if (edv__tier_cost_estimate(tiers, t, 0, &c, NULL) == 0)
      json_object_object_add(o, "monthly_cost_usd", money(c.total));
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
