/*
 * cmd_auth.c - `edvctl auth ...`.
 *
 * print-access-token is the one place where edvctl prints a token: on
 * stdout, alone, so that `$(edvctl auth print-access-token)` works. It never
 * reaches a log line or an error message.
 */
#include <string.h>

#include "cli/cli.h"

/* The token request outlives the handler's frame when SIGINT ends the
 * wait early (the engine cancels it during shutdown), so its state is
 * static: one command runs per process. */
static struct auth_job {
  cli_ctx *ctx;
  int finished; /* the callback ran */
  int failed;
  edv_error err;
} auth_job;

static void auth_on_token(void *data, const char *token, const edv_error *err)
{
  struct auth_job *job = data;

  job->finished = 1;
  if (job->ctx->done) /* interrupted: we are shutting down */
    return;
  if (err || !token) {
    job->failed = 1;
    if (err)
      job->err = *err;
    else
      edv_error_set(&job->err, EDV_ECRED, "no access token");
  } else {
    fprintf(job->ctx->out, "%s\n", token);
    fflush(job->ctx->out);
  }
  job->ctx->done = 1;
}

int cli_cmd_auth_token(cli_ctx *ctx, const cli_args *args)
{
  edv_error err;
  int result;

  (void)args;
  result = cli_engine(ctx);
  if (result != CLI_EXIT_OK)
    return result;
  memset(&auth_job, 0, sizeof(auth_job));
  auth_job.ctx = ctx;
  result = edv_engine_access_token(ctx->engine, auth_on_token, &auth_job);
  if (result != 0) {
    edv_error_set(&err, EDV_EINTERNAL, "cannot request an access token");
    return cli_fail(ctx, &err);
  }
  /* No cancel call exists for a token request: on SIGINT we just stop
   * waiting, and closing the engine cancels it. */
  cli_loop_run(ctx);
  if (ctx->interrupted)
    return CLI_EXIT_INTERRUPTED;
  return auth_job.failed ? cli_fail(ctx, &auth_job.err) : CLI_EXIT_OK;
}
