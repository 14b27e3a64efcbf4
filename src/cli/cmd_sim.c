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
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* The APIs gcloud reaches through CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>,
 * each with the path its discovery document's servicePath gives. */
static const struct {
  const char *name, *path;
} sim_gcloud_apis[] = {
    {"COMPUTE", "compute/v1/"},
    {"SQL", ""},
    {"DNS", "dns/v1/"},
    {"CERTIFICATEMANAGER", ""},
    {"MONITORING", ""},
    {"SECRETMANAGER", ""},
    {"IAM", ""},
    {"SERVICENETWORKING", ""},
    {"CLOUDRESOURCEMANAGER", ""},
};

/* The lines that point edvctl and gcloud at the simulator at url. */
static void sim_print_env(FILE *f, const char *url, const char *key,
                          const char *token, const char *project)
{
  fprintf(f, "export EDV_ENDPOINT=%s EDV_KEY_FILE=%s EDV_PROJECT=%s\n", url,
          key, project);
  fprintf(f, "export CLOUDSDK_CORE_PROJECT=%s\n", project);
  fprintf(f, "export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=%s\n", token);
  for (size_t i = 0; i < sizeof(sim_gcloud_apis) / sizeof(sim_gcloud_apis[0]);
       i++)
    fprintf(f, "export CLOUDSDK_API_ENDPOINT_OVERRIDES_%s=%s/%s\n",
            sim_gcloud_apis[i].name, url, sim_gcloud_apis[i].path);
}

/* STATE_DIR/sim-token: the access token `sim start` keeps fresh. */
static void sim_token_path(cli_ctx *ctx, char *buf, size_t size)
{
  snprintf(buf, size, "%s/sim-token", cli_state_dir(ctx));
}

/* STATE_DIR/sim-env.json: where the running simulator is, for `sim env`
 * and the other sim verbs (0600: it names the key file). */
static void sim_write_env(cli_ctx *ctx, const char *url, const char *key,
                          const char *project, const char *state)
{
  char path[600], token[600];
  json_object *o = json_object_new_object();
  FILE *f;
  int fd;

  snprintf(path, sizeof(path), "%s/sim-env.json", cli_state_dir(ctx));
  json_object_object_add(o, "url", json_object_new_string(url));
  json_object_object_add(o, "key_file", json_object_new_string(key));
  sim_token_path(ctx, token, sizeof(token));
  json_object_object_add(o, "token_file", json_object_new_string(token));
  json_object_object_add(o, "project", json_object_new_string(project));
  json_object_object_add(o, "state_file",
                         state ? json_object_new_string(state) : NULL);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (f) {
    fprintf(f, "%s\n", json_object_to_json_string(o));
    fclose(f);
  } else {
    if (fd >= 0)
      close(fd);
    fprintf(ctx->err, "%s: cannot write %s: %s\n", ctx->prog, path,
            strerror(errno));
  }
  json_object_put(o);
}

#ifdef EDV_CLI_HAVE_SIM
#include "edv/sim.h"

typedef struct sim_run {
  cli_ctx *ctx;
  edv_sim *sim;
  uv_signal_t sigterm;
  uv_timer_t token_timer; /* renews STATE_DIR/sim-token */
  char token_path[600];
} sim_run;

/* Renewal period of STATE_DIR/sim-token: the simulator's tokens live an
 * hour (as Google's), and the engine's cache refreshes them before. */
#define SIM_TOKEN_RENEW_MS (20 * 60 * 1000)

/* Writes the access token to STATE_DIR/sim-token (0600, replaced
 * atomically): gcloud reads it through CLOUDSDK_AUTH_ACCESS_TOKEN_FILE. */
static void sim_on_token(void *data, const char *token, const edv_error *err)
{
  sim_run *r = data;
  char tmp[620];
  int fd, ok;

  if (err || !token || !r->sim)
    return; /* stopping, or no token: the old file stays until it expires */
  snprintf(tmp, sizeof(tmp), "%s.tmp", r->token_path);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
       write(fd, token, strlen(token)) == (ssize_t)strlen(token) &&
       write(fd, "\n", 1) == 1;
  if (fd >= 0)
    close(fd);
  if (!ok || rename(tmp, r->token_path) != 0) {
    unlink(tmp);
    fprintf(r->ctx->err, "%s: cannot write %s: %s\n", r->ctx->prog,
            r->token_path, strerror(errno));
  }
}

static void sim_token_tick(uv_timer_t *t)
{
  sim_run *r = t->data;

  if (r->ctx->engine)
    (void)edv_engine_access_token(r->ctx->engine, sim_on_token, r);
}

/* An engine of edvctl's own, pointed at the simulator with its key, asks
 * it for tokens like any client. */
static int sim_token_start(sim_run *r, const char *key)
{
  cli_ctx *ctx = r->ctx;
  edv_error err;

  sim_token_path(ctx, r->token_path, sizeof(r->token_path));
  if (edv_config_set(ctx->cfg, "endpoint", edv_sim_base_url(r->sim), &err) ||
      edv_config_set(ctx->cfg, "key_file", key, &err))
    return cli_fail(ctx, &err);
  if (cli_engine(ctx) != CLI_EXIT_OK)
    return CLI_EXIT_OTHER;
  uv_timer_init(ctx->loop, &r->token_timer);
  r->token_timer.data = r;
  uv_timer_start(&r->token_timer, sim_token_tick, 0, SIM_TOKEN_RENEW_MS);
  return CLI_EXIT_OK;
}

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
  uv_timer_stop(&r->token_timer);
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
  char token[600];

  sim_token_path(ctx, token, sizeof(token));
  sim_write_env(ctx, edv_sim_base_url(sim), key, project, state);
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
  if (!ctx->quiet) {
    fprintf(ctx->out,
            "cloud state: %s\n"
            "Point edvctl, any client of libedv, and gcloud at it with\n"
            "(`edvctl sim env` prints them again):\n",
            state ? state : "(in memory)");
    sim_print_env(ctx->out, edv_sim_base_url(sim), key, token, project);
    fprintf(ctx->out, "Press Ctrl-C to save the state and stop.\n");
  }
  fflush(ctx->out);
  return CLI_EXIT_OK;
}

/* The simulator's options from the flags and the configuration. */
static int sim_options(cli_ctx *ctx, const cli_args *args, edv_sim_options *opt)
{
  const char *v;
  int result;

  if ((v = cli_arg(args, "port")) && (result = sim_port(ctx, v, &opt->port)))
    return result;
  opt->host = cli_arg(args, "host");
  opt->profile = cli_arg(args, "profile");
  if (opt->profile && strcmp(opt->profile, "fast") != 0 &&
      strcmp(opt->profile, "demo") != 0 &&
      strcmp(opt->profile, "realistic") != 0)
    return cli_usage_error(ctx,
                           "--profile '%s' is not one of: fast, demo, "
                           "realistic",
                           opt->profile);
  if ((v = cli_arg(args, "time-scale"))) {
    char *end = NULL;
    opt->time_scale = strtod(v, &end);
    if (!end || *end || !(opt->time_scale > 0))
      return cli_usage_error(ctx, "--time-scale '%s' is not a positive number",
                             v);
  }
  opt->no_auth = cli_arg(args, "no-auth") != NULL;
  /* The configuration: for the project, the profile and the state dir. */
  if ((result = cli_config(ctx)))
    return result;
  if (!opt->profile)
    opt->profile = edv_config_get(ctx->cfg, "sim.profile");
  opt->project = edv_config_get(ctx->cfg, "project")
                     ? edv_config_get(ctx->cfg, "project")
                     : "edv-sim";
  return CLI_EXIT_OK;
}

/* The file of flag `flag`, else `name` in the state directory (made). */
static int sim_file(cli_ctx *ctx, const cli_args *args, const char *flag,
                    const char *name, char *out, size_t size)
{
  const char *v = cli_arg(args, flag), *dir = cli_state_dir(ctx);

  if (v) {
    snprintf(out, size, "%s", v);
    return CLI_EXIT_OK;
  }
  if (cli_mkdirs(dir) != 0) {
    fprintf(ctx->err, "%s: cannot create state directory '%s': %s\n", ctx->prog,
            dir, strerror(errno));
    return CLI_EXIT_OTHER;
  }
  snprintf(out, size, "%s/%s", dir, name);
  return CLI_EXIT_OK;
}

/* A start that failed half-way: close the simulator, then report. */
static int sim_abort(sim_run *run, int result)
{
  run->ctx->done = 0;
  sim_stop(run);
  while (!run->ctx->done)
    uv_run(run->ctx->loop, UV_RUN_ONCE);
  return result;
}

int cli_cmd_sim_start(cli_ctx *ctx, const cli_args *args)
{
  edv_sim_options opt;
  edv_error err;
  sim_run run;
  char state[600], key[600];
  int result;

  memset(&opt, 0, sizeof(opt));
  memset(&run, 0, sizeof(run));
  run.ctx = ctx;
  if ((result = sim_options(ctx, args, &opt)) ||
      (result = sim_file(ctx, args, "state", "sim-cloud.json", state,
                         sizeof(state))) ||
      (result =
           sim_file(ctx, args, "key-out", "sim-key.json", key, sizeof(key))))
    return result;
  opt.state_file = state;
  run.sim = edv_sim_start(ctx->loop, &opt, &err);
  if (!run.sim)
    return cli_fail(ctx, &err);
  unlink(key); /* rewritten each start; the simulator keeps the RSA key */
  if (edv_sim_write_key(run.sim, key, &err) != 0)
    return sim_abort(&run, cli_fail(ctx, &err));
  if ((result = sim_token_start(&run, key)) != CLI_EXIT_OK)
    return sim_abort(&run, result);
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
  uv_close((uv_handle_t *)&run.token_timer, NULL);
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

/* ---- the verbs on a running simulator ----------------------------------
 * They find it through STATE_DIR/sim-env.json (written by `sim start`) and
 * call its /_sim/ admin routes (docs/simulator.md) through the engine. */

typedef struct sim_env {
  json_object *doc; /* the parsed sim-env.json */
  const char *url, *key_file, *token_file, *project;
} sim_env;

static int sim_env_load(cli_ctx *ctx, sim_env *env)
{
  char path[600];
  json_object *v;

  memset(env, 0, sizeof(*env));
  if (cli_config(ctx) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  snprintf(path, sizeof(path), "%s/sim-env.json", cli_state_dir(ctx));
  env->doc = json_object_from_file(path);
  if (!env->doc || !json_object_object_get_ex(env->doc, "url", &v)) {
    json_object_put(env->doc);
    env->doc = NULL;
    fprintf(ctx->err,
            "%s: no simulator was started from %s (run `edvctl sim start` "
            "with the same state directory)\n",
            ctx->cmd_path, cli_state_dir(ctx));
    return CLI_EXIT_NOTFOUND;
  }
  env->url = json_object_get_string(v);
  env->key_file =
      json_object_get_string(json_object_object_get(env->doc, "key_file"));
  env->token_file =
      json_object_get_string(json_object_object_get(env->doc, "token_file"));
  env->project =
      json_object_get_string(json_object_object_get(env->doc, "project"));
  return CLI_EXIT_OK;
}

typedef struct sim_job {
  cli_ctx *ctx;
  edv_error err;
  int failed;
} sim_job;

static void sim_on_response(void *data, const edv_response *res)
{
  sim_job *job = data;

  if (res->error) {
    job->err = *res->error;
    job->failed = 1;
  } else if (res->json) {
    cli_print_json(job->ctx, res->json);
  }
  job->ctx->done = 1;
}

/* One call of the admin API; its JSON answer is printed. */
static int sim_admin(cli_ctx *ctx, const char *method, const char *route,
                     json_object *body)
{
  sim_env env;
  sim_job job = {ctx, {0}, 0};
  edv_request req;
  char url[1024];
  int result;

  if ((result = sim_env_load(ctx, &env)) != CLI_EXIT_OK ||
      (result = cli_engine(ctx)) != CLI_EXIT_OK) {
    json_object_put(env.doc);
    return result;
  }
  snprintf(url, sizeof(url), "%s%s", env.url, route);
  json_object_put(env.doc);
  memset(&req, 0, sizeof(req));
  req.api = EDV_API_OTHER;
  req.method = method;
  req.path = url;
  req.body = body;
  req.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY;
  req.label = "edvctl sim";
  ctx->done = 0;
  if (edv_call_submit(ctx->engine, &req, sim_on_response, &job, NULL) != 0) {
    edv_error_set(&job.err, EDV_EINTERNAL, "cannot send %s %s", method, url);
    return cli_fail(ctx, &job.err);
  }
  cli_loop_run(ctx);
  return job.failed ? cli_fail(ctx, &job.err) : CLI_EXIT_OK;
}

int cli_cmd_sim_env(cli_ctx *ctx, const cli_args *args)
{
  sim_env env;
  int result;

  (void)args;
  if ((result = sim_env_load(ctx, &env)) != CLI_EXIT_OK)
    return result;
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, env.doc);
  else
    sim_print_env(ctx->out, env.url, env.key_file, env.token_file, env.project);
  json_object_put(env.doc);
  return CLI_EXIT_OK;
}

int cli_cmd_sim_reset(cli_ctx *ctx, const cli_args *args)
{
  (void)args;
  return sim_admin(ctx, "POST", "/_sim/reset", NULL);
}

int cli_cmd_sim_state(cli_ctx *ctx, const cli_args *args)
{
  const char *kind = cli_arg(args, "kind");
  char route[256];
  size_t n;

  n = (size_t)snprintf(route, sizeof(route), "/_sim/state%s",
                       kind ? "?kind=" : "");
  for (const char *p = kind; p && *p && n + 4 < sizeof(route); p++) {
    if (*p == '#') { /* compute#instance */
      n += (size_t)snprintf(route + n, sizeof(route) - n, "%%23");
    } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
               (*p >= '0' && *p <= '9') || *p == '.' || *p == '_') {
      route[n++] = *p;
      route[n] = '\0';
    } else {
      return cli_usage_error(ctx,
                             "--kind '%s' is not a kind such as "
                             "compute#instance",
                             kind);
    }
  }
  return sim_admin(ctx, "GET", route, NULL);
}

int cli_cmd_sim_faults_list(cli_ctx *ctx, const cli_args *args)
{
  (void)args;
  return sim_admin(ctx, "GET", "/_sim/faults", NULL);
}

int cli_cmd_sim_faults_add(cli_ctx *ctx, const cli_args *args)
{
  json_object *spec = json_tokener_parse(args->argv[0]);
  int result;

  if (!spec || !json_object_is_type(spec, json_type_object)) {
    json_object_put(spec);
    return cli_usage_error(ctx, "FAULT is not a JSON object (docs/simulator.md "
                                "lists its fields)");
  }
  result = sim_admin(ctx, "POST", "/_sim/faults", spec);
  json_object_put(spec);
  return result;
}

int cli_cmd_sim_faults_clear(cli_ctx *ctx, const cli_args *args)
{
  char route[64], *end = NULL;
  long id = 0;

  if (args->argc > 0) {
    id = strtol(args->argv[0], &end, 10);
    if (!end || *end || id <= 0)
      return cli_usage_error(ctx, "ID '%s' is not a fault id", args->argv[0]);
  }
  if (id)
    snprintf(route, sizeof(route), "/_sim/faults?id=%ld", id);
  else
    snprintf(route, sizeof(route), "/_sim/faults");
  return sim_admin(ctx, "DELETE", route, NULL);
}

/* "90", "90s", "15m", "2h", "1d": seconds, or -1. */
static long long sim_duration(const char *v)
{
  char *end = NULL;
  long long n;

  errno = 0;
  n = strtoll(v, &end, 10);
  if (errno || end == v || n < 0)
    return -1;
  if (!*end || strcmp(end, "s") == 0)
    return n;
  if (strcmp(end, "m") == 0)
    return n * 60;
  if (strcmp(end, "h") == 0)
    return n * 3600;
  if (strcmp(end, "d") == 0)
    return n * 86400;
  return -1;
}

int cli_cmd_sim_clock_advance(cli_ctx *ctx, const cli_args *args)
{
  long long secs = sim_duration(args->argv[0]);
  json_object *body;
  int result;

  if (secs < 0 || secs > 10LL * 365 * 86400)
    return cli_usage_error(ctx,
                           "DURATION '%s' is not a duration such as 90s, "
                           "15m, 2h or 1d",
                           args->argv[0]);
  body = json_object_new_object();
  json_object_object_add(body, "seconds", json_object_new_int64(secs));
  result = sim_admin(ctx, "POST", "/_sim/clock/advance", body);
  json_object_put(body);
  return result;
}
