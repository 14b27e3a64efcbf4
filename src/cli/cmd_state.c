/*
 * cmd_state.c - `edvctl state export|import|rebuild`: the store itself
 * (edv/fleet.h, "The store itself"; docs/operations.md, "Lost edv.db").
 * Local only: they work on the state directory's edv.db.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "edv/fleet.h"

/* Static: one command runs per process (a rebuild's calls may complete
 * during shutdown, after the handler returned). */
static struct state_job {
  cli_ctx *ctx;
  json_object *answer;
  edv_error err;
  int failed, closed;
} state_job;

static void on_answer(void *data, json_object *answer, const edv_error *err)
{
  struct state_job *j = data;

  if (err) {
    j->err = *err;
    j->failed = 1;
  } else {
    j->answer = json_object_get(answer);
  }
  j->ctx->done = 1;
}

static void on_closed(void *data)
{
  ((struct state_job *)data)->closed = 1;
}

static int state_close(cli_ctx *ctx, edv_fleet *f)
{
  edv_fleet_close(f, on_closed, &state_job);
  while (!state_job.closed)
    uv_run(ctx->loop, UV_RUN_ONCE);
  return CLI_EXIT_OK;
}

static int state_open(cli_ctx *ctx, edv_fleet **f)
{
  memset(&state_job, 0, sizeof(state_job));
  state_job.ctx = ctx;
  return cli_fleet_open(ctx, f);
}

int cli_cmd_state_export(cli_ctx *ctx, const cli_args *args)
{
  edv_fleet *f;
  edv_error err;
  int result = state_open(ctx, &f);

  if (result)
    return result;
  result = edv_fleet_state_export(
      f, args->argv[0], cli_arg(args, "journal") ? EDV_STATE_JOURNAL : 0, &err);
  state_close(ctx, f);
  if (result)
    return cli_fail(ctx, &err);
  cli_progress(ctx, "Exported the state to %s", args->argv[0]);
  return CLI_EXIT_OK;
}

int cli_cmd_state_import(cli_ctx *ctx, const cli_args *args)
{
  edv_fleet *f;
  edv_error err;
  unsigned n = 0;
  int result = state_open(ctx, &f);

  if (result)
    return result;
  result = edv_fleet_state_import(f, args->argv[0], &n, &err);
  state_close(ctx, f);
  if (result)
    return cli_fail(ctx, &err);
  cli_progress(ctx, "Imported %u record%s from %s", n, n == 1 ? "" : "s",
               args->argv[0]);
  return CLI_EXIT_OK;
}

static void print_rebuild(cli_ctx *ctx, json_object *a)
{
  json_object *t = json_object_object_get(a, "tenants");
  json_object *s = json_object_object_get(a, "skipped");
  json_object *b = json_object_object_get(a, "backup");

  if (b)
    fprintf(ctx->out, "The old store was copied to %s.\n",
            json_object_get_string(b));
  fprintf(ctx->out, "Platform: %s.\n",
          json_object_get_string(json_object_object_get(a, "platform")));
  for (size_t i = 0; i < json_object_array_length(t); i++) {
    json_object *o = json_object_array_get_idx(t, i);
    fprintf(ctx->out, "  %-26s %-12s %-16s %s\n",
            json_object_get_string(json_object_object_get(o, "id")),
            json_object_get_string(json_object_object_get(o, "tier")),
            json_object_get_string(json_object_object_get(o, "region")),
            json_object_get_string(json_object_object_get(o, "subnet")));
  }
  fprintf(ctx->out, "Rebuilt %zu tenant%s.\n", json_object_array_length(t),
          json_object_array_length(t) == 1 ? "" : "s");
  for (size_t i = 0; i < json_object_array_length(s); i++) {
    json_object *o = json_object_array_get_idx(s, i);
    fprintf(ctx->out, "Not recorded: %s: %s\n",
            json_object_get_string(json_object_object_get(o, "id")),
            json_object_get_string(json_object_object_get(o, "reason")));
  }
}

int cli_cmd_state_rebuild(cli_ctx *ctx, const cli_args *args)
{
  edv_fleet *f;
  edv_error err;
  int result = state_open(ctx, &f);

  if (result)
    return result;
  cli_progress(ctx, "Rebuilding the store from project %s",
               edv_engine_project(ctx->engine));
  result =
      edv_fleet_state_rebuild(f, cli_arg(args, "force") ? EDV_STATE_FORCE : 0,
                              on_answer, &state_job, &err);
  if (result == 0)
    cli_loop_run(ctx);
  state_close(ctx, f);
  if (result)
    return cli_fail(ctx, &err);
  if (state_job.failed)
    return cli_fail(ctx, &state_job.err);
  if (!state_job.answer)
    return CLI_EXIT_INTERRUPTED;
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, state_job.answer);
  else
    print_rebuild(ctx, state_job.answer);
  json_object_put(state_job.answer);
  return CLI_EXIT_OK;
}

static const cli_opt export_opts[] = {
    {"journal", 0, NULL, "include the journal (every tenant's history)"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt rebuild_opts[] = {
    {"force", 0, NULL,
     "rebuild over a store that holds records, after copying it to "
     "edv.db.bak-TIME.db"},
    {NULL, 0, NULL, NULL},
};

static const char *const file_arg[] = {"FILE", NULL};

const cli_cmd cli_state_cmds[] = {
    {"export", "write the store's records to a JSON file", "FILE [--journal]",
     "Writes every record of the state store (tenant specs, phases, SQL name\n"
     "generations, subnet allocations, step records; the journal with\n"
     "--journal) to FILE as one JSON document, read in one transaction,\n"
     "created 0600. The store holds no secret.\n"
     "\nExamples:\n  edvctl state export fleet.json\n"
     "  edvctl state export fleet.json --journal\n",
     export_opts, 1, 1, file_arg, cli_cmd_state_export, NULL},
    {"import", "load an export into an empty store", "FILE",
     "Loads an export into the state directory's store, which must be\n"
     "empty. Every field is checked (an error names it) and nothing is\n"
     "written unless all of it is valid.\n"
     "\nExamples:\n  edvctl --state-dir /var/lib/edv state import fleet.json\n",
     NULL, 1, 1, file_arg, cli_cmd_state_import, NULL},
    {"rebuild", "rebuild the store from the cloud alone", "[--force]",
     "Finds every tenant by the labels and description markers EdVirons\n"
     "puts on its resources and records it READY: spec, tier, region,\n"
     "subnet range and SQL name generation read back from the cloud.\n"
     "Nothing in the cloud changes. Refuses a store that holds records\n"
     "unless --force. Then run `tenant plan ID`: it should show no change.\n"
     "\nExamples:\n  edvctl state rebuild\n  edvctl --sim state rebuild\n",
     rebuild_opts, 0, 0, NULL, cli_cmd_state_rebuild, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};
