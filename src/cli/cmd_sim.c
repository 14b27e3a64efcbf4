/*
 * cmd_sim.c - `edvctl sim start`: the Google Cloud simulator in the
 * foreground, on edvctl's own loop, until Ctrl-C (or SIGTERM).
 *
 * The same simulator `--sim` embeds; by default it keeps its cloud in the
 * state directory's sim-cloud.json, so `edvctl --sim ...` and a running
 * `edvctl sim start` see the same resources (one at a time: both write the
 * file).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#ifdef EDV_CLI_HAVE_SIM
#include "edv/sim.h"

typedef struct sim_run {
  cli_ctx *ctx;
  edv_sim *sim;
  uv_signal_t sigterm;
} sim_run;

static void sim_closed(void *data)
{
  sim_run *r = data;

  r->ctx->done = 1;
}

/* Ctrl-C or SIGTERM: save the cloud, answer what is pending, stop. */
static void sim_stop(void *data)
{
  sim_run *r = data;

  if (!r->sim)
    return;
  edv_sim_close(r->sim, sim_closed, r);
  r->sim = NULL;
}

static void sim_on_term(uv_signal_t *h, int signum)
{
  (void)signum;
  sim_stop(h->data);
}

/* Parses --port: 0..65535. */
static int sim_port(cli_ctx *ctx, const char *v, unsigned *port)
{
  char *end = NULL;
  unsigned long p;

  errno = 0;
  p = strtoul(v, &end, 10);
  if (errno || !end || *end || v[0] == '-' || p > 65535)
    return cli_usage_error(ctx, "--port '%s' is not a port number (0-65535)",
                           v);
  *port = (unsigned)p;
  return CLI_EXIT_OK;
}

static int sim_print_ready(cli_ctx *ctx, edv_sim *sim, const char *state,
                           const char *key, const char *project)
{
  if (ctx->format == CLI_FORMAT_JSON) {
    json_object *o = json_object_new_object();

    json_object_object_add(o, "url",
                           json_object_new_string(edv_sim_base_url(sim)));
    json_object_object_add(o, "port",
                           json_object_new_int((int)edv_sim_port(sim)));
    json_object_object_add(o, "project", json_object_new_string(project));
    json_object_object_add(o, "key_file", json_object_new_string(key));
    json_object_object_add(o, "state_file",
                           state ? json_object_new_string(state) : NULL);
    cli_print_json(ctx, o);
    json_object_put(o);
    return CLI_EXIT_OK;
  }
  fprintf(ctx->out, "listening on %s\n", edv_sim_base_url(sim));
  if (!ctx->quiet)
    fprintf(ctx->out,
            "cloud state: %s\n"
            "Point edvctl (or any client of libedv) at it with:\n"
            "  export EDV_ENDPOINT=%s EDV_KEY_FILE=%s EDV_PROJECT=%s\n"
            "Press Ctrl-C to save the state and stop.\n",
            state ? state : "(in memory)", edv_sim_base_url(sim), key, project);
  fflush(ctx->out);
  return CLI_EXIT_OK;
}

int cli_cmd_sim_start(cli_ctx *ctx, const cli_args *args)
{
  edv_sim_options opt;
  edv_error err;
  sim_run run;
  char state[600], key[600];
  const char *v, *dir;
  int result;

  memset(&opt, 0, sizeof(opt));
  memset(&run, 0, sizeof(run));
  run.ctx = ctx;
  if ((v = cli_arg(args, "port")) && (result = sim_port(ctx, v, &opt.port)))
    return result;
  opt.host = cli_arg(args, "host");
  opt.profile = cli_arg(args, "profile");
  if (opt.profile && strcmp(opt.profile, "fast") != 0 &&
      strcmp(opt.profile, "demo") != 0 && strcmp(opt.profile, "realistic") != 0)
    return cli_usage_error(ctx,
                           "--profile '%s' is not one of: fast, demo, "
                           "realistic",
                           opt.profile);
  if ((v = cli_arg(args, "time-scale"))) {
    char *end = NULL;
    opt.time_scale = strtod(v, &end);
    if (!end || *end || !(opt.time_scale > 0))
      return cli_usage_error(ctx, "--time-scale '%s' is not a positive number",
                             v);
  }
  opt.no_auth = cli_arg(args, "no-auth") != NULL;
  /* The configuration: for the project, the profile and the state dir. */
  if ((result = cli_config(ctx)))
    return result;
  if (!opt.profile)
    opt.profile = edv_config_get(ctx->cfg, "sim.profile");
  opt.project = edv_config_get(ctx->cfg, "project")
                    ? edv_config_get(ctx->cfg, "project")
                    : "edv-sim";
  dir = cli_state_dir(ctx);
  if ((v = cli_arg(args, "state"))) {
    snprintf(state, sizeof(state), "%s", v);
  } else {
    if (cli_mkdirs(dir) != 0) {
      fprintf(ctx->err, "%s: cannot create state directory '%s': %s\n",
              ctx->prog, dir, strerror(errno));
      return CLI_EXIT_OTHER;
    }
    snprintf(state, sizeof(state), "%s/sim-cloud.json", dir);
  }
  if ((v = cli_arg(args, "key-out"))) {
    snprintf(key, sizeof(key), "%s", v);
  } else {
    if (cli_mkdirs(dir) != 0) {
      fprintf(ctx->err, "%s: cannot create state directory '%s': %s\n",
              ctx->prog, dir, strerror(errno));
      return CLI_EXIT_OTHER;
    }
    snprintf(key, sizeof(key), "%s/sim-key.json", dir);
  }
  opt.state_file = state;
  run.sim = edv_sim_start(ctx->loop, &opt, &err);
  if (!run.sim)
    return cli_fail(ctx, &err);
  unlink(key); /* rewritten each start; the simulator keeps the RSA key */
  if (edv_sim_write_key(run.sim, key, &err) != 0) {
    ctx->done = 0;
    sim_stop(&run);
    while (!ctx->done)
      uv_run(ctx->loop, UV_RUN_ONCE);
    return cli_fail(ctx, &err);
  }
  sim_print_ready(ctx, run.sim, state, key, opt.project);
  uv_signal_init(ctx->loop, &run.sigterm);
  run.sigterm.data = &run;
  uv_signal_start(&run.sigterm, sim_on_term, SIGTERM);
  ctx->done = 0;
  ctx->on_interrupt = sim_stop;
  ctx->interrupt_data = &run;
  cli_loop_run(ctx);
  ctx->on_interrupt = NULL;
  uv_close((uv_handle_t *)&run.sigterm, NULL);
  uv_run(ctx->loop, UV_RUN_NOWAIT);
  if (!ctx->quiet && ctx->format != CLI_FORMAT_JSON)
    fprintf(ctx->err, "%s: simulator stopped; state saved in %s\n", ctx->prog,
            state);
  ctx->interrupted = 0; /* Ctrl-C is how a server is stopped: exit 0 */
  return CLI_EXIT_OK;
}
#else
int cli_cmd_sim_start(cli_ctx *ctx, const cli_args *args)
{
  (void)args;
  fprintf(ctx->err, "%s: the simulator is not built into this edvctl\n",
          ctx->prog);
  return CLI_EXIT_OTHER;
}
#endif
