/*
 * main.c - edvctl: parse, configure, run one command, shut down cleanly.
 *
 * Everything runs on one libuv loop. A handler starts its work and calls
 * cli_loop_run(), which returns when the work sets ctx->done. Shutdown
 * closes the engine (cancelling anything still in flight), the embedded
 * simulator and the signal watcher, and checks that the loop closes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/remote.h"
#include "edv/log.h"

#ifdef EDV_CLI_HAVE_SIM
#include "edv/sim.h"
#include "prog/fleetenv.h"
#endif

int cli_usage_error(cli_ctx *ctx, const char *fmt, ...)
{
  va_list ap;
  char msg[1024];

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  edv__args_usage(ctx->err, ctx->cmd_path[0] ? ctx->cmd_path : ctx->prog, msg);
  return CLI_EXIT_USAGE;
}

int cli_exit_code(const cli_ctx *ctx, const edv_error *err)
{
  if (!err || err->code == EDV_OK)
    return CLI_EXIT_OK;
  if (ctx->interrupted && err->code == EDV_ECANCELED)
    return CLI_EXIT_INTERRUPTED;
  switch (err->code) {
  case EDV_EINVAL:
    /* Our own validation has no HTTP status; the API's 400 has one. */
    return err->http_status ? CLI_EXIT_API : CLI_EXIT_USAGE;
  case EDV_ECONFIG:
    return CLI_EXIT_USAGE;
  case EDV_ENOTFOUND:
    return CLI_EXIT_NOTFOUND;
  case EDV_EEXIST:
  case EDV_ECONFLICT:
  case EDV_EABORTED:
  case EDV_EINUSE:
  case EDV_EOPINPROGRESS:
  case EDV_ENOTOWNED:
  case EDV_EBUSY:
  case EDV_EPRECONDITION:
    return CLI_EXIT_CONFLICT;
  case EDV_EUNAUTH:
  case EDV_ECRED:
  case EDV_EPERM:
    return CLI_EXIT_AUTH;
  case EDV_ENOMEM:
  case EDV_EIO:
    return CLI_EXIT_OTHER;
  default:
    return CLI_EXIT_API;
  }
}

int cli_fail(cli_ctx *ctx, const edv_error *err)
{
  char buf[1024];

  if (ctx->interrupted && err->code == EDV_ECANCELED)
    fprintf(ctx->err, "%s: interrupted\n", ctx->prog);
  else
    fprintf(ctx->err, "%s: %s\n", ctx->prog,
            edv_error_format(err, buf, sizeof(buf)));
  return cli_exit_code(ctx, err);
}

void cli_print_json(cli_ctx *ctx, json_object *obj)
{
  const char *spec = ctx->output_spec ? ctx->output_spec : "json";
  char why[300];

  /* --filter and --sort-by were checked when read: this cannot fail. */
  if ((ctx->filter || ctx->sort_by) &&
      cli_out_shape(obj, ctx->filter, ctx->sort_by, why, sizeof(why)) != 0)
    fprintf(ctx->err, "%s: %s\n", ctx->prog, why);
  if (strcmp(spec, "yaml") == 0)
    cli_out_yaml(ctx->out, obj);
  else if (strncmp(spec, "value(", 6) == 0)
    cli_out_value(ctx->out, obj, spec);
  else
    fprintf(ctx->out, "%s\n",
            json_object_to_json_string_ext(
                obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                         JSON_C_TO_STRING_NOSLASHESCAPE));
  fflush(ctx->out);
}

void cli_print_table(cli_ctx *ctx, json_object *doc, const cli_col *cols,
                     size_t ncols)
{
  char why[300];

  if ((ctx->filter || ctx->sort_by) &&
      cli_out_shape(doc, ctx->filter, ctx->sort_by, why, sizeof(why)) != 0)
    fprintf(ctx->err, "%s: %s\n", ctx->prog, why);
  cli_out_table(ctx->out, doc, cols, ncols);
}

void cli_progress(cli_ctx *ctx, const char *fmt, ...)
{
  va_list ap;

  if (ctx->quiet || ctx->format == CLI_FORMAT_JSON)
    return;
  va_start(ap, fmt);
  vfprintf(ctx->err, fmt, ap);
  va_end(ap);
  fputc('\n', ctx->err);
}

/* ---- State directory and the embedded simulator ------------------------*/

/* mkdir -p with mode 0700: the library's (edv_fleet_state_dir). */
int cli_mkdirs(const char *path)
{
  char made[512];

  return edv_fleet_state_dir(NULL, path, made, sizeof(made), NULL) ? -1 : 0;
}

const char *cli_state_dir(cli_ctx *ctx)
{
  const char *env;

  if (ctx->cfg && edv_config_get(ctx->cfg, "state_dir"))
    return ctx->state_dir = edv_config_get(ctx->cfg, "state_dir");
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

#ifdef EDV_CLI_HAVE_SIM
/*
 * Starts the simulator on our loop, its cloud persisted in the state
 * directory, writes a key it trusts, and points the configuration at it
 * (prog/fleetenv.c, as edvd --sim does).
 */
static int cli_sim_start(cli_ctx *ctx)
{
  edv_error err;

  edv_sim_log_set(edv_log_get_level(), 0); /* -v reaches it too */
  ctx->sim = edv__env_start_sim(ctx->loop, ctx->cfg, cli_state_dir(ctx), &err);
  return ctx->sim ? CLI_EXIT_OK : cli_fail(ctx, &err);
}

static void cli_sim_closed(void *data)
{
  *(int *)data = 1;
}

static void cli_sim_stop(cli_ctx *ctx)
{
  int closed = 0;

  if (!ctx->sim)
    return;
  edv_sim_close(ctx->sim, cli_sim_closed, &closed);
  ctx->sim = NULL;
  while (!closed)
    uv_run(ctx->loop, UV_RUN_ONCE);
}
#else
/* TODO(sim): wired automatically once src/sim builds (src/cli/meson.build
 * defines EDV_CLI_HAVE_SIM when sim_sources is not empty). */
static int cli_sim_start(cli_ctx *ctx)
{
  fprintf(ctx->err,
          "%s: --sim: the embedded simulator is not yet available in this "
          "build\n",
          ctx->prog);
  return CLI_EXIT_OTHER;
}

static void cli_sim_stop(cli_ctx *ctx)
{
  (void)ctx;
}
#endif

/* ---- Configuration and engine ---------------------------------------------*/

/* -q and -v win over the config's log.level. */
static void cli_log_level(const cli_ctx *ctx)
{
  const char *level = ctx->cfg ? edv_config_get(ctx->cfg, "log.level") : NULL;

  if (ctx->quiet || (ctx->format == CLI_FORMAT_JSON && !ctx->verbose))
    edv_log_set_level(EDV_LOG_ERROR); /* --format json: stderr stays quiet */
  else if (ctx->verbose >= 2)
    edv_log_set_level(EDV_LOG_DEBUG);
  else if (ctx->verbose == 1)
    edv_log_set_level(EDV_LOG_INFO);
  else if (level && strcmp(level, "error") == 0)
    edv_log_set_level(EDV_LOG_ERROR);
  else if (level && strcmp(level, "info") == 0)
    edv_log_set_level(EDV_LOG_INFO);
  else if (level && strcmp(level, "debug") == 0)
    edv_log_set_level(EDV_LOG_DEBUG);
}

const char *cli_config_path(cli_ctx *ctx)
{
  const char *env = getenv("EDV_CONFIG"), *home;

  if (ctx->config_file)
    return ctx->config_file;
  if (env && *env)
    return env;
  if (!ctx->config_buf[0]) {
    env = getenv("XDG_CONFIG_HOME");
    home = getenv("HOME");
    if (env && *env)
      snprintf(ctx->config_buf, sizeof(ctx->config_buf), "%s/edv/config", env);
    else
      snprintf(ctx->config_buf, sizeof(ctx->config_buf),
               "%s/.config/edv/config", home && *home ? home : ".");
  }
  return ctx->config_buf;
}

int cli_config(cli_ctx *ctx)
{
  edv_error err;
  const char *file = cli_config_path(ctx);

  if (ctx->cfg)
    return CLI_EXIT_OK;
  ctx->cfg = edv_config_new();
  if (!ctx->cfg) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    return cli_fail(ctx, &err);
  }
  /* The default file is optional; one that is named must exist. */
  if (file == ctx->config_buf && access(file, F_OK) != 0)
    file = NULL;
  if (file && edv_config_load_file(ctx->cfg, file, &err) != 0)
    return cli_fail(ctx, &err);
  if (edv_config_load_env(ctx->cfg, &err) != 0)
    return cli_fail(ctx, &err);
  if ((ctx->project &&
       edv_config_set(ctx->cfg, "project", ctx->project, &err) != 0) ||
      (ctx->endpoint &&
       edv_config_set(ctx->cfg, "endpoint", ctx->endpoint, &err) != 0) ||
      (ctx->key_file &&
       edv_config_set(ctx->cfg, "key_file", ctx->key_file, &err) != 0) ||
      (ctx->state_dir &&
       edv_config_set(ctx->cfg, "state_dir", ctx->state_dir, &err) != 0))
    return cli_fail(ctx, &err);
  cli_log_level(ctx);
  return CLI_EXIT_OK;
}

int cli_engine(cli_ctx *ctx)
{
  edv_error err;
  int result;

  if (ctx->engine)
    return CLI_EXIT_OK;
  result = cli_config(ctx);
  if (result == CLI_EXIT_OK && ctx->use_sim)
    result = cli_sim_start(ctx);
  if (result != CLI_EXIT_OK)
    return result;
  ctx->engine = edv_engine_new(ctx->loop, ctx->cfg, &err);
  if (!ctx->engine)
    return cli_fail(ctx, &err);
  return CLI_EXIT_OK;
}

/* ---- Loop, signals, shutdown ----------------------------------------------*/

static void cli_on_sigint(uv_signal_t *handle, int signum)
{
  cli_ctx *ctx = handle->data;

  (void)signum;
  if (ctx->interrupted) { /* second Ctrl-C: stop waiting for the cleanup */
    cli_term_restore(ctx);
    exit(CLI_EXIT_INTERRUPTED);
  }
  ctx->interrupted = 1;
  if (ctx->on_interrupt)
    ctx->on_interrupt(ctx->interrupt_data);
  else
    ctx->done = 1;
}

void cli_loop_run(cli_ctx *ctx)
{
  if (!ctx->sigint_active) {
    uv_signal_init(ctx->loop, &ctx->sigint);
    ctx->sigint.data = ctx;
    ctx->sigint_active = 1;
  }
  uv_signal_start(&ctx->sigint, cli_on_sigint, SIGINT);
  while (!ctx->done)
    uv_run(ctx->loop, UV_RUN_ONCE);
  uv_signal_stop(&ctx->sigint);
}

static void cli_engine_closed(void *data)
{
  *(int *)data = 1;
}

static void cli_shutdown(cli_ctx *ctx)
{
  int closed = 0;

  if (ctx->engine) {
    edv_engine_close(ctx->engine, cli_engine_closed, &closed);
    ctx->engine = NULL;
    while (!closed)
      uv_run(ctx->loop, UV_RUN_ONCE);
  }
  cli_sim_stop(ctx);
  if (ctx->sigint_active)
    uv_close((uv_handle_t *)&ctx->sigint, NULL);
  uv_run(ctx->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(ctx->loop) != 0 && !ctx->quiet)
    fprintf(ctx->err, "%s: warning: handles still open at exit\n", ctx->prog);
  edv_config_free(ctx->cfg);
  ctx->cfg = NULL;
}

void cli_term_cursor(cli_ctx *ctx, int visible)
{
  if (visible == !ctx->cursor_hidden)
    return;
  fputs(visible ? "\033[?25h" : "\033[?25l", ctx->err);
  fflush(ctx->err);
  ctx->cursor_hidden = !visible;
}

void cli_term_restore(cli_ctx *ctx)
{
  cli_term_cursor(ctx, 1);
}

/* 1 / 0 for a boolean word, -1 for anything else. */
static int cli_bool(const char *v)
{
  static const char *const yes[] = {"1", "true", "yes", "on"};
  static const char *const no[] = {"0", "false", "no", "off"};

  for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
    if (strcasecmp(v, yes[i]) == 0)
      return 1;
    if (strcasecmp(v, no[i]) == 0)
      return 0;
  }
  return -1;
}

/*
 * The environment equivalents of the switches that are not configuration
 * keys: EDV_SIM (--sim), EDV_FORMAT (--format), EDV_QUIET (-q),
 * EDV_VERBOSE (-v, a count). Flags given on the command line win.
 */
static int cli_env(cli_ctx *ctx)
{
  const char *v;
  int b;

  if ((v = getenv("EDV_SIM")) && *v) {
    if ((b = cli_bool(v)) < 0)
      return cli_usage_error(ctx,
                             "EDV_SIM '%s' is not one of: 1, 0, true, "
                             "false, yes, no",
                             v);
    ctx->use_sim = b;
  }
  if ((v = getenv("EDV_FORMAT")) && *v) {
    if (cli_set_format(ctx, v, "EDV_FORMAT") != CLI_EXIT_OK)
      return CLI_EXIT_USAGE;
  }
  if ((v = getenv("EDV_QUIET")) && *v) {
    if ((b = cli_bool(v)) < 0)
      return cli_usage_error(ctx,
                             "EDV_QUIET '%s' is not one of: 1, 0, true, "
                             "false, yes, no",
                             v);
    ctx->quiet = b;
  }
  if ((v = getenv("EDV_VERBOSE")) && *v) {
    if (v[0] < '0' || v[0] > '3' || v[1])
      return cli_usage_error(ctx, "EDV_VERBOSE '%s' is not one of: 0, 1, 2, 3",
                             v);
    ctx->verbose = v[0] - '0';
  }
  /* Remote mode (remote.c checks them): --server, --token-file, --cacert.
   * EDV_TOKEN itself is read only when a request is made. */
  if ((v = getenv("EDV_SERVER")) && *v)
    ctx->server = v;
  if ((v = getenv("EDV_TOKEN_FILE")) && *v)
    ctx->token_file = v;
  if ((v = getenv("EDV_CACERT")) && *v)
    ctx->cacert = v;
  return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
  cli_ctx ctx;
  cli_args args;
  const cli_cmd *cmd = NULL;
  uv_loop_t loop;
  int result;

  memset(&ctx, 0, sizeof(ctx));
  ctx.prog = "edvctl";
  ctx.out = stdout;
  ctx.err = stderr;
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "edvctl: cannot create the event loop\n");
    return CLI_EXIT_OTHER;
  }
  ctx.loop = &loop;
  result = cli_env(&ctx);
  if (result == CLI_EXIT_OK && argc >= 2 && strcmp(argv[1], "__complete") == 0)
    result = cli_complete(&ctx, argc - 2, argv + 2);
  else if (result == CLI_EXIT_OK && argc == 2 && strcmp(argv[1], "__man") == 0)
    cli_man(ctx.out);
  else if (result == CLI_EXIT_OK)
    result = cli_parse(&ctx, argc, argv, &cmd, &args);
  if (result == CLI_EXIT_OK && cmd) {
    cli_log_level(&ctx);
    result = cli_remote_gate(&ctx, cmd);
    if (result == CLI_EXIT_OK)
      result = cmd->run(&ctx, &args);
  }
  cli_term_restore(&ctx);
  cli_remote_close(&ctx);
  cli_shutdown(&ctx);
  if (ctx.interrupted && result != CLI_EXIT_OK)
    result = CLI_EXIT_INTERRUPTED;
  if (fflush(stdout) != 0 && result == CLI_EXIT_OK)
    result = CLI_EXIT_OTHER; /* e.g. a full disk behind a redirect */
  return result;
}
