/*
 * embed.c - libedv in an outside program: the simulator and an engine on
 * one libuv loop.
 *
 * What a developer embedding the library writes: it includes only the
 * public headers <edv/...>, and builds with pkg-config alone:
 *
 *   cc -o embed embed.c $(pkg-config --cflags --libs libedvsim libedv)
 *
 * It starts the local Google Cloud simulator (edv/sim.h, libedvsim) on its
 * loop, points an engine (edv/engine.h) at it the way edvctl --sim does
 * (endpoint, key_file, project), lists the zones, then creates a VPC
 * network and deletes it again, waiting for each operation (edv/ops.h) and
 * reading the simulator's own view of its resources (GET /_sim/state)
 * after each step. Prints one line per step and exits 0 when every step
 * did what it should (1 otherwise).
 */
#define _POSIX_C_SOURCE                                                        \
  200809L /* mkdtemp, and what uv.h needs under -std=c11 */

#include <edv/engine.h>
#include <edv/error.h>
#include <edv/ops.h>
#include <edv/sim.h>
#include <edv/version.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NETWORK "embed-net"

struct app {
  uv_loop_t loop;
  edv_sim *sim;
  edv_config *cfg;
  edv_engine *engine;
  const char *project;
  int step;   /* the next step of run() */
  int failed; /* 1 once a step went wrong */
};

static void run(struct app *app);

/* Ends the run: closes the engine, then the simulator (from the loop). */
static void engine_closed(void *data)
{
  struct app *app = data;

  edv_sim_close(app->sim, NULL, NULL);
}

static void finish(struct app *app, const char *why)
{
  if (why) {
    fprintf(stderr, "embed: %s\n", why);
    app->failed = 1;
  }
  edv_engine_close(app->engine, engine_closed, app);
}

static void fail(struct app *app, const char *what, const edv_error *err)
{
  char buf[800], line[900];

  snprintf(line, sizeof(line), "%s: %s", what,
           edv_error_format(err, buf, sizeof(buf)));
  finish(app, line);
}

/* ---- Step 1: list the zones (one REST call) ----------------------------- */

static void zones_listed(void *data, const edv_response *res)
{
  struct app *app = data;
  json_object *items;
  size_t i, n;

  if (res->error) {
    fail(app, "compute.zones.list", res->error);
    return;
  }
  if (!json_object_object_get_ex(res->json, "items", &items) ||
      (n = json_object_array_length(items)) == 0) {
    finish(app, "compute.zones.list: no zones");
    return;
  }
  printf("zones: %zu:", n);
  for (i = 0; i < n; i++) {
    json_object *zone = json_object_array_get_idx(items, i), *name;

    if (json_object_object_get_ex(zone, "name", &name))
      printf(" %s", json_object_get_string(name));
  }
  printf("\n");
  run(app);
}

/* ---- Steps 2 and 4: change a network and wait for the operation --------- */

static void op_done(void *data, json_object *op, const edv_error *err)
{
  struct app *app = data;

  if (err) {
    fail(app, "operation", err);
    return;
  }
  printf("operation %s: done\n",
         json_object_get_string(json_object_object_get(op, "name")));
  run(app);
}

static void op_started(void *data, const edv_response *res)
{
  struct app *app = data;
  edv_op_wait_opts opts;
  edv_error err;

  if (res->error) {
    fail(app, "compute.networks", res->error);
    return;
  }
  memset(&opts, 0, sizeof(opts));
  opts.poll_initial_ms = 100;
  if (edv_op_wait(app->engine, res->json, &opts, op_done, app, NULL, &err) != 0)
    fail(app, "edv_op_wait", &err);
}

/* ---- Steps 3 and 5: what the simulator holds ----------------------------- */

static int ends_with(const char *s, const char *tail)
{
  size_t n = strlen(s), t = strlen(tail);

  return n >= t && strcmp(s + n - t, tail) == 0;
}

static void state_read(void *data, const edv_response *res)
{
  struct app *app = data;
  int want = app->step == 3; /* after the insert (step 2): there; after the
                                delete (step 4): gone */
  json_object *items;
  size_t i, n = 0;

  if (res->error) {
    fail(app, "GET /_sim/state", res->error);
    return;
  }
  if (json_object_object_get_ex(res->json, "resources", &items))
    for (i = 0; i < json_object_array_length(items); i++) {
      json_object *r = json_object_array_get_idx(items, i), *name;

      if (json_object_object_get_ex(r, "name", &name) &&
          ends_with(json_object_get_string(name), "/" NETWORK))
        n++;
    }
  printf("simulator state: %zu network(s) named %s\n", n, NETWORK);
  if (n != (size_t)want) {
    finish(app, want ? "the network is not in the simulator's state"
                     : "the network is still in the simulator's state");
    return;
  }
  run(app);
}

/* ---- The sequence -------------------------------------------------------- */

static void run(struct app *app)
{
  char path[300], url[300];
  edv_request req;
  json_object *body = NULL;
  edv_response_cb cb;
  int rc;

  memset(&req, 0, sizeof(req));
  req.api = EDV_API_COMPUTE;
  switch (app->step++) {
  case 0:
    snprintf(path, sizeof(path), "/compute/v1/projects/%s/zones", app->project);
    req.method = "GET";
    req.label = "compute.zones.list";
    cb = zones_listed;
    break;
  case 1:
    snprintf(path, sizeof(path), "/compute/v1/projects/%s/global/networks",
             app->project);
    body = json_object_new_object();
    json_object_object_add(body, "name", json_object_new_string(NETWORK));
    json_object_object_add(body, "autoCreateSubnetworks",
                           json_object_new_boolean(0));
    req.method = "POST";
    req.body = body;
    req.label = "compute.networks.insert";
    cb = op_started;
    break;
  case 3:
    snprintf(path, sizeof(path),
             "/compute/v1/projects/%s/global/networks/" NETWORK, app->project);
    req.method = "DELETE";
    req.label = "compute.networks.delete";
    cb = op_started;
    break;
  case 2:
  case 4:
    /* The simulator's admin API (docs/simulator.md), an absolute URL. */
    snprintf(url, sizeof(url), "%s/_sim/state?kind=compute%%23network",
             edv_sim_base_url(app->sim));
    req.api = EDV_API_OTHER;
    req.method = "GET";
    req.flags = EDV_REQ_NOAUTH;
    req.label = "sim.state";
    req.path = url;
    cb = state_read;
    break;
  default:
    printf("embed: ok\n");
    finish(app, NULL);
    return;
  }
  if (!req.path)
    req.path = path;
  rc = edv_call_submit(app->engine, &req, cb, app, NULL);
  json_object_put(body); /* serialised at submit */
  if (rc != 0)
    finish(app, "edv_call_submit failed");
}

int main(void)
{
  struct app app;
  edv_sim_options opt;
  edv_error err;
  char dir[] = "/tmp/edv-embed-XXXXXX", key[64];
  int ok = 0;

  memset(&app, 0, sizeof(app));
  app.project = "edv-embed";
  if (uv_loop_init(&app.loop) != 0 || !mkdtemp(dir))
    return 1;
  snprintf(key, sizeof(key), "%s/key.json", dir);

  /* The simulator, in memory, on this loop. */
  memset(&opt, 0, sizeof(opt));
  opt.project = app.project;
  app.sim = edv_sim_start(&app.loop, &opt, &err);
  app.cfg = edv_config_new();
  if (!app.sim || !app.cfg)
    goto out;
  printf("embed: libedv %s, simulator at %s\n", edv_version(),
         edv_sim_base_url(app.sim));

  /* An engine pointed at it: its endpoint, a key it trusts, its project. */
  if (edv_sim_write_key(app.sim, key, &err) != 0 ||
      edv_config_set(app.cfg, "endpoint", edv_sim_base_url(app.sim), &err) !=
          0 ||
      edv_config_set(app.cfg, "key_file", key, &err) != 0 ||
      edv_config_set(app.cfg, "project", app.project, &err) != 0 ||
      !(app.engine = edv_engine_new(&app.loop, app.cfg, &err))) {
    edv_sim_close(app.sim, NULL, NULL);
    goto out;
  }
  run(&app);
  ok = 1;
out:
  if (!ok) {
    char buf[800];

    fprintf(stderr, "embed: %s\n", edv_error_format(&err, buf, sizeof(buf)));
    app.failed = 1;
  }
  uv_run(&app.loop, UV_RUN_DEFAULT); /* until the engine and sim are closed */
  edv_config_free(app.cfg);
  unlink(key);
  rmdir(dir);
  if (uv_loop_close(&app.loop) != 0)
    app.failed = 1;
  return app.failed ? 1 : 0;
}
