/*
 * embed.c - libedv in an outside program: the simulator, an engine and a
 * fleet on one libuv loop.
 *
 * What a developer embedding the library writes: it includes only the
 * public headers <edv/...>, and builds with pkg-config alone:
 *
 *   cc -o embed embed.c $(pkg-config --cflags --libs libedvsim libedv)
 *
 * It starts the local Google Cloud simulator (edv/sim.h, libedvsim) on its
 * loop, points an engine (edv/engine.h) at it the way edvctl --sim does
 * (endpoint, key_file, project) and opens a fleet (edv/fleet.h) in a fresh
 * state directory. It initialises the platform, creates one school's
 * tenant and waits until it is READY, printing its events, then deletes it
 * at once (EDV_FLEET_NOW: no grace) and waits until it is DELETED. Before,
 * between and after, it reads the simulator's own view of the tenant's
 * resources (GET /_sim/state?label=edv-tenant=ID, docs/simulator.md). Prints
 * one line per finding and exits 0 when each was what it should be (1
 * otherwise).
 *
 * The rest of the configuration comes from the environment as for edvctl
 * (EDV_TIERS_FILE, ...; docs/config.md); the tiers file is ./tiers.json
 * when nothing names one.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, and what uv.h needs (-std=c11) */

#include <edv/engine.h>
#include <edv/error.h>
#include <edv/fleet.h>
#include <edv/sim.h>
#include <edv/version.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TENANT "embed01"

/* The steps, in order. */
enum {
  STATE_BEFORE,  /* the simulator holds nothing of the tenant */
  PLATFORM,      /* edv_fleet_platform_init: what every tenant shares */
  CREATE,        /* edv_tenant_create: answers once READY */
  STATE_CREATED, /* the simulator holds the tenant's resources */
  DELETE,        /* edv_tenant_delete --now: answers once DELETED */
  STATE_DELETED, /* the simulator holds nothing of the tenant again */
};

struct app {
  uv_loop_t loop;
  edv_sim *sim;
  edv_config *cfg;
  edv_engine *engine;
  edv_fleet *fleet;
  const char *project;
  char dir[64];   /* the simulator's key and the fleet's state */
  int step;       /* the step under way (-1 before the first) */
  int failed;     /* 1 once a step went wrong */
  char phase[32]; /* the tenant's phase, as its last event said */
};

static void run(struct app *app);

/* ---- The end: fleet, engine, simulator, each closed from the loop ------- */

static void engine_closed(void *data)
{
  struct app *app = data;

  edv_sim_close(app->sim, NULL, NULL);
}

static void fleet_closed(void *data)
{
  struct app *app = data;

  edv_engine_close(app->engine, engine_closed, app);
}

static void finish(struct app *app, const char *why)
{
  if (why) {
    fprintf(stderr, "embed: %s\n", why);
    app->failed = 1;
  }
  if (app->fleet)
    edv_fleet_close(app->fleet, fleet_closed, app);
  else if (app->engine)
    edv_engine_close(app->engine, engine_closed, app);
  else
    edv_sim_close(app->sim, NULL, NULL);
}

static void fail(struct app *app, const char *what, const edv_error *err)
{
  char buf[800], line[900];

  snprintf(line, sizeof(line), "%s: %s", what,
           edv_error_format(err, buf, sizeof(buf)));
  finish(app, line);
}

/* ---- What the tenant does, as it happens --------------------------------- */

static void on_event(void *data, const edv_event *ev)
{
  struct app *app = data;

  if (ev->kind == EDV_EVENT_STEP_START || ev->kind == EDV_EVENT_CALL ||
      ev->kind == EDV_EVENT_INFO)
    return; /* the rest: phases, steps done, retries, failures, ends */
  printf("event %s %s%s%s (%s)%s%s\n", ev->tenant,
         edv_event_kind_name(ev->kind), ev->step ? " " : "",
         ev->step ? ev->step : "", ev->phase ? ev->phase : "-",
         ev->message ? ": " : "", ev->message ? ev->message : "");
  if (ev->kind == EDV_EVENT_PHASE && ev->phase &&
      strcmp(ev->tenant, TENANT) == 0)
    snprintf(app->phase, sizeof(app->phase), "%s", ev->phase);
}

/* ---- Platform, create, delete: each answers once it got there ------------ */

static void answered(void *data, json_object *answer, const edv_error *err)
{
  struct app *app = data;
  const char *what = app->step == PLATFORM ? "platform"
                     : app->step == CREATE ? "tenant " TENANT " created"
                                           : "tenant " TENANT " deleted";
  const char *want = app->step == DELETE ? "DELETED" : "READY";
  json_object *phase;
  const char *got;

  if (err) {
    fail(app, what, err);
    return;
  }
  got = json_object_object_get_ex(answer, "phase", &phase)
            ? json_object_get_string(phase)
            : "(none)";
  printf("%s: %s\n", what, got);
  if (strcmp(got, want) != 0) {
    finish(app, "not in the phase it should be");
    return;
  }
  if (app->step != PLATFORM && strcmp(app->phase, want) != 0) {
    finish(app, "the tenant's events did not say so");
    return;
  }
  run(app);
}

/* ---- What the simulator holds (its admin API) ---------------------------- */

static void state_read(void *data, const edv_response *res)
{
  struct app *app = data;
  int want = app->step == STATE_CREATED; /* else none */
  json_object *items;
  size_t n = 0;

  if (res->error) {
    fail(app, "GET /_sim/state", res->error);
    return;
  }
  if (json_object_object_get_ex(res->json, "resources", &items))
    n = json_object_array_length(items);
  printf("simulator state: %zu resource(s) labelled edv-tenant=%s\n", n,
         TENANT);
  if ((n > 0) != want) {
    finish(app, want ? "the tenant's resources are not in the simulator"
                     : "the simulator holds resources of the tenant");
    return;
  }
  run(app);
}

static int read_state(struct app *app, edv_error *err)
{
  char url[300];
  edv_request req;

  snprintf(url, sizeof(url), "%s/_sim/state?label=edv-tenant=" TENANT,
           edv_sim_base_url(app->sim));
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_OTHER; /* an absolute URL */
  req.method = "GET";
  req.path = url;
  req.flags = EDV_REQ_NOAUTH;
  req.label = "sim.state";
  if (edv_call_submit(app->engine, &req, state_read, app, NULL) != 0)
    return edv_error_set(err, EDV_EINVAL, "sim.state: not submitted");
  return 0;
}

/* ---- The sequence ---------------------------------------------------------
 */

static void run(struct app *app)
{
  json_object *spec;
  edv_error err;
  int rc;

  switch (++app->step) {
  case STATE_BEFORE:
  case STATE_CREATED:
  case STATE_DELETED:
    rc = read_state(app, &err);
    break;
  case PLATFORM:
    rc = edv_fleet_platform_init(app->fleet, 0, answered, app, &err);
    break;
  case CREATE:
    spec = json_object_new_object();
    json_object_object_add(spec, "id", json_object_new_string(TENANT));
    json_object_object_add(spec, "slug", json_object_new_string("embedded"));
    json_object_object_add(spec, "display_name",
                           json_object_new_string("Embedded School"));
    json_object_object_add(spec, "tier", json_object_new_string("basic"));
    json_object_object_add(spec, "region",
                           json_object_new_string("europe-west1"));
    rc = edv_tenant_create(app->fleet, spec, 0, answered, app, &err);
    json_object_put(spec);
    break;
  case DELETE:
    rc = edv_tenant_delete(app->fleet, TENANT, EDV_FLEET_NOW, answered, app,
                           &err);
    break;
  default:
    printf("embed: ok\n");
    finish(app, NULL);
    return;
  }
  if (rc != 0)
    fail(app, "refused", &err);
}

/* ---- The simulator, an engine on it, a fleet ----------------------------- */

static int start(struct app *app, edv_error *err)
{
  edv_sim_options opt;
  edv_fleet_options fo;
  char key[96], state[96];

  snprintf(key, sizeof(key), "%s/key.json", app->dir);
  snprintf(state, sizeof(state), "%s/state", app->dir);

  /* The simulator, in memory, on this loop. */
  memset(&opt, 0, sizeof(opt));
  opt.project = app->project;
  if (!(app->sim = edv_sim_start(&app->loop, &opt, err)))
    return -1;
  printf("embed: libedv %s, simulator at %s\n", edv_version(),
         edv_sim_base_url(app->sim));

  /* An engine pointed at it: its endpoint, a key it trusts, its project;
   * the rest from EDV_* in the environment. */
  if (!(app->cfg = edv_config_new()))
    return edv_error_set(err, EDV_ENOMEM, "edv_config_new");
  if (edv_config_load_env(app->cfg, err) != 0 ||
      edv_sim_write_key(app->sim, key, err) != 0 ||
      edv_config_set(app->cfg, "endpoint", edv_sim_base_url(app->sim), err) !=
          0 ||
      edv_config_set(app->cfg, "key_file", key, err) != 0 ||
      edv_config_set(app->cfg, "project", app->project, err) != 0 ||
      !(app->engine = edv_engine_new(&app->loop, app->cfg, err)))
    return -1;

  /* The fleet, its store in a directory of its own. */
  memset(&fo, 0, sizeof(fo));
  fo.engine = app->engine;
  fo.config = app->cfg;
  fo.state_dir = state;
  fo.actor = "embed";
  fo.poll_ms = 250; /* the simulator's clock is quick: poll it often */
  fo.retry_base_ms = 250;
  if (edv_fleet_open(&fo, &app->fleet, err) != 0)
    return -1;
  if (!edv_fleet_subscribe(app->fleet, on_event, app))
    return edv_error_set(err, EDV_ENOMEM, "edv_fleet_subscribe");
  return 0;
}

/* Removes one file of the run's directory (nftw, depth first). */
static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int main(void)
{
  struct app app;
  edv_error err;

  memset(&app, 0, sizeof(app));
  app.project = "edv-embed";
  app.step = -1;
  snprintf(app.dir, sizeof(app.dir), "/tmp/edv-embed-XXXXXX");
  if (uv_loop_init(&app.loop) != 0 || !mkdtemp(app.dir))
    return 1;
  if (start(&app, &err) == 0) {
    run(&app);
  } else {
    char buf[800];

    fprintf(stderr, "embed: %s\n", edv_error_format(&err, buf, sizeof(buf)));
    app.failed = 1;
    finish(&app, NULL);
  }
  uv_run(&app.loop, UV_RUN_DEFAULT); /* until everything is closed */
  edv_config_free(app.cfg);
  if (nftw(app.dir, remove_one, 8, FTW_DEPTH | FTW_PHYS) != 0)
    app.failed = 1;
  if (uv_loop_close(&app.loop) != 0)
    app.failed = 1;
  return app.failed ? 1 : 0;
}
