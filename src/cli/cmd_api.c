/*
 * cmd_api.c - `edvctl api METHOD URL_OR_PATH`: one REST call through the
 * full transport, optionally waiting for the operation it returns.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "edv/ops.h"
#include "edv/url.h"

#define API_MAX_DATA (16u * 1024u * 1024u) /* --data @file limit */

/* The call's state. Static because a cancelled call may complete during
 * shutdown, after the handler returned; one command runs per process. */
static struct api_job {
  cli_ctx *ctx;
  edv_call *call;        /* the REST call in flight */
  edv_op_waiter *waiter; /* the operation wait in flight */
  int wait;              /* --wait */
  uint64_t timeout_ms;   /* --timeout, 0 = defaults */
  const char *path;      /* URL_OR_PATH */
  int failed;
  edv_error err;
  char last_status[32]; /* last progress shown */
  int last_progress;
} api_job;

/* ---- Argument validation
 * ---------------------------------------------------*/

static int api_method(cli_ctx *ctx, const char *arg, char *out, size_t size)
{
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH",
                                        "DELETE"};
  size_t i, n = strlen(arg);

  if (n >= size)
    n = size - 1;
  for (i = 0; i < n; i++)
    out[i] = (char)toupper((unsigned char)arg[i]);
  out[n] = '\0';
  for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    if (strcmp(out, methods[i]) == 0 && strlen(arg) == n)
      return CLI_EXIT_OK;
  }
  return cli_usage_error(ctx,
                         "METHOD '%s' is not one of: GET, POST, PUT, PATCH, "
                         "DELETE",
                         arg);
}

static int api_target(cli_ctx *ctx, const char *path, const char *api_name,
                      edv_api *api)
{
  int absolute =
      strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;

  if (!absolute && (path[0] != '/' || path[1] == '/'))
    return cli_usage_error(ctx,
                           "URL_OR_PATH '%s' must be a path starting with "
                           "'/' or an http(s):// URL",
                           path);
  if (absolute && !edv_url_path(path))
    return cli_usage_error(ctx, "URL_OR_PATH '%s' is not a valid URL", path);
  if (api_name) {
    *api = edv_api_from_name(api_name);
    if (*api == EDV_API__COUNT || *api == EDV_API_OTHER)
      return cli_usage_error(ctx,
                             "--api '%s' is not one of: compute, sqladmin, "
                             "dns, certificatemanager, monitoring, iam, "
                             "secretmanager, servicenetworking, oauth2",
                             api_name);
    return CLI_EXIT_OK;
  }
  *api = edv_api_from_url(path);
  if (*api == EDV_API_OTHER && !absolute)
    return cli_usage_error(ctx,
                           "cannot tell which API serves '%s'; pass --api "
                           "NAME",
                           path);
  return CLI_EXIT_OK;
}

static int api_timeout(cli_ctx *ctx, const char *arg, uint64_t *ms)
{
  char *end;
  unsigned long v;

  *ms = 0;
  if (!arg)
    return CLI_EXIT_OK;
  errno = 0;
  v = strtoul(arg, &end, 10);
  if (errno || *end || end == arg || arg[0] == '-' || v == 0 ||
      v > 7u * 24u * 3600u)
    return cli_usage_error(ctx,
                           "--timeout '%s' is not a number of seconds "
                           "between 1 and 604800",
                           arg);
  *ms = (uint64_t)v * 1000u;
  return CLI_EXIT_OK;
}

/* Reads @FILE or @- into a malloc'd string; NULL with errno on failure. */
static char *api_read_file(const char *name)
{
  FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
  char *buf, *p;
  size_t len = 0, cap = 4096, n;

  if (!f)
    return NULL;
  buf = malloc(cap);
  while (buf) {
    n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0 || len + 1 < cap)
      break;
    if (cap >= API_MAX_DATA) {
      errno = EFBIG;
      free(buf);
      buf = NULL;
      break;
    }
    cap *= 2;
    p = realloc(buf, cap);
    if (!p)
      free(buf);
    buf = p;
  }
  if (buf && ferror(f)) {
    errno = EIO;
    free(buf);
    buf = NULL;
  }
  if (f != stdin)
    fclose(f);
  if (buf)
    buf[len] = '\0';
  return buf;
}

/* Parses --data (JSON text, @FILE or @-) into *body. */
static int api_data(cli_ctx *ctx, const char *arg, json_object **body)
{
  json_tokener *tok;
  char *text = NULL;
  const char *src = arg;
  enum json_tokener_error jerr;
  size_t len, used;
  int result = CLI_EXIT_OK;

  *body = NULL;
  if (!arg)
    return CLI_EXIT_OK;
  if (arg[0] == '@') {
    text = api_read_file(arg + 1);
    if (!text)
      return cli_usage_error(ctx, "--data: cannot read '%s': %s", arg + 1,
                             strerror(errno));
    src = text;
  }
  len = strlen(src);
  tok = json_tokener_new();
  if (!tok) {
    free(text);
    return CLI_EXIT_OTHER;
  }
  /* -1: the terminating NUL ends a trailing number ("42"). */
  *body = json_tokener_parse_ex(tok, src, -1);
  jerr = json_tokener_get_error(tok);
  used = json_tokener_get_parse_end(tok);
  while (used < len && isspace((unsigned char)src[used]))
    used++;
  if (!*body || jerr != json_tokener_success || used < len) {
    json_object_put(*body);
    *body = NULL;
    result = cli_usage_error(
        ctx, "--data%s%s is not valid JSON: %s at offset %zu", text ? " " : "",
        text ? arg : "",
        jerr == json_tokener_continue  ? "unexpected end of input"
        : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                       : "trailing characters",
        used);
  } else if (!json_object_is_type(*body, json_type_object) &&
             !json_object_is_type(*body, json_type_array)) {
    json_object_put(*body);
    *body = NULL;
    result = cli_usage_error(ctx, "--data must be a JSON object or array");
  }
  json_tokener_free(tok);
  free(text);
  return result;
}

/* ---- Running
 * ---------------------------------------------------------------*/

static void api_finish(struct api_job *job, const edv_error *err)
{
  if (err) {
    job->failed = 1;
    job->err = *err;
  }
  job->ctx->done = 1;
}

static void api_print(cli_ctx *ctx, const edv_response *res)
{
  if (res->json) {
    cli_print_json(ctx, res->json);
  } else if (res->raw && res->raw_len) {
    fwrite(res->raw, 1, res->raw_len, ctx->out);
    if (res->raw[res->raw_len - 1] != '\n')
      fputc('\n', ctx->out);
  }
}

static void api_on_progress(void *data, json_object *op)
{
  struct api_job *job = data;
  json_object *v;
  const char *status = NULL, *name = NULL;
  int progress = -1;

  if (json_object_object_get_ex(op, "status", &v))
    status = json_object_get_string(v);
  if (json_object_object_get_ex(op, "progress", &v))
    progress = json_object_get_int(v);
  if (json_object_object_get_ex(op, "name", &v) ||
      json_object_object_get_ex(op, "id", &v))
    name = json_object_get_string(v);
  if (!status)
    status = "RUNNING";
  if (strcmp(status, job->last_status) == 0 && progress == job->last_progress)
    return;
  snprintf(job->last_status, sizeof(job->last_status), "%s", status);
  job->last_progress = progress;
  if (progress >= 0)
    cli_progress(job->ctx, "operation %s: %s (%d%%)", name ? name : "?", status,
                 progress);
  else
    cli_progress(job->ctx, "operation %s: %s", name ? name : "?", status);
}

static void api_on_op_done(void *data, json_object *op, const edv_error *err)
{
  struct api_job *job = data;

  job->waiter = NULL;
  if (op && !(err && err->code == EDV_ECANCELED))
    cli_print_json(job->ctx, op);
  api_finish(job, err);
}

/* --wait: the scope a DNS change needs comes from the request path. */
static int api_start_wait(struct api_job *job, json_object *op)
{
  edv_op_wait_opts opts;
  edv_error err;
  char project[128], zone[128];
  const char *path = edv_url_path(job->path);

  memset(&opts, 0, sizeof(opts));
  opts.deadline_ms = job->timeout_ms;
  opts.progress_cb = api_on_progress;
  opts.project =
      edv_url_segment_after(path, "projects", project, sizeof(project));
  opts.managed_zone =
      edv_url_segment_after(path, "managedZones", zone, sizeof(zone));
  job->last_progress = -2;
  if (edv_op_wait(job->ctx->engine, op, &opts, api_on_op_done, job,
                  &job->waiter, &err) != 0) {
    api_finish(job, &err);
    return -1;
  }
  api_on_progress(job, op);
  return 0;
}

static void api_on_response(void *data, const edv_response *res)
{
  struct api_job *job = data;

  job->call = NULL;
  if (job->ctx->done) /* interrupted and shutting down */
    return;
  if (res->error) {
    api_finish(job, res->error);
    return;
  }
  if (job->wait && res->json && edv_op_detect(res->json) != EDV_OP_UNKNOWN) {
    api_start_wait(job, res->json);
    return;
  }
  api_print(job->ctx, res);
  api_finish(job, NULL);
}

static void api_on_interrupt(void *data)
{
  struct api_job *job = data;

  if (job->waiter)
    edv_op_cancel(job->waiter);
  else if (job->call)
    edv_call_cancel(job->call);
  else
    job->ctx->done = 1;
}

int cli_cmd_api(cli_ctx *ctx, const cli_args *args)
{
  edv_request req;
  edv_error err;
  json_object *body = NULL;
  char method[16];
  edv_api api = EDV_API_OTHER;
  int result;

  memset(&api_job, 0, sizeof(api_job));
  api_job.ctx = ctx;
  api_job.path = args->argv[1];
  api_job.wait = cli_arg(args, "wait") != NULL;
  result = api_method(ctx, args->argv[0], method, sizeof(method));
  if (result == CLI_EXIT_OK)
    result = api_target(ctx, args->argv[1], cli_arg(args, "api"), &api);
  if (result == CLI_EXIT_OK)
    result = api_timeout(ctx, cli_arg(args, "timeout"), &api_job.timeout_ms);
  if (result == CLI_EXIT_OK)
    result = api_data(ctx, cli_arg(args, "data"), &body);
  if (result == CLI_EXIT_OK)
    result = cli_engine(ctx);
  if (result != CLI_EXIT_OK) {
    json_object_put(body);
    return result;
  }
  memset(&req, 0, sizeof(req));
  req.api = api;
  req.method = method;
  req.path = args->argv[1];
  req.body = body;
  req.timeout_ms = api_job.timeout_ms;
  req.label = "edvctl api";
  ctx->on_interrupt = api_on_interrupt;
  ctx->interrupt_data = &api_job;
  result = edv_call_submit(ctx->engine, &req, api_on_response, &api_job,
                           &api_job.call);
  json_object_put(body); /* serialised at submit */
  if (result != 0) {
    edv_error_set(&err,
                  result > 0 && result < EDV_ERR__LAST ? (edv_code)result
                                                       : EDV_EINTERNAL,
                  "cannot submit %s %s", method, args->argv[1]);
    return cli_fail(ctx, &err);
  }
  cli_loop_run(ctx);
  ctx->on_interrupt = NULL;
  return api_job.failed ? cli_fail(ctx, &api_job.err) : CLI_EXIT_OK;
}
