/*
 * cmd_meta.c - `edvctl version` and `edvctl help`.
 */
#include <string.h>

#include "cli/cli.h"
#include "edv/version.h"

int cli_cmd_version(cli_ctx *ctx, const cli_args *args)
{
  json_object *obj;

  (void)args;
  if (ctx->format == CLI_FORMAT_JSON) {
    obj = json_object_new_object();
    json_object_object_add(obj, "edvctl", json_object_new_string(EDV_VERSION));
    json_object_object_add(obj, "libedv",
                           json_object_new_string(edv_version()));
    json_object_object_add(obj, "commit",
                           json_object_new_string(edv_build_commit()));
    json_object_object_add(obj, "build_date",
                           json_object_new_string(edv_build_date()));
    cli_print_json(ctx, obj);
    json_object_put(obj);
  } else {
    fprintf(ctx->out, "edvctl %s (libedv %s, commit %s, built %s)\n",
            EDV_VERSION, edv_version(), edv_build_commit(), edv_build_date());
  }
  return CLI_EXIT_OK;
}

int cli_cmd_help(cli_ctx *ctx, const cli_args *args)
{
  const cli_cmd *cmd;
  char path[128];
  int used, i;
  size_t n;

  if (args->argc == 0) {
    cli_help(ctx->out, ctx->prog, NULL);
    return CLI_EXIT_OK;
  }
  cmd = cli_find(cli_commands, args->argc, args->argv, &used);
  n = (size_t)snprintf(path, sizeof(path), "%s", ctx->prog);
  for (i = 0; i < args->argc && n < sizeof(path); i++)
    n += (size_t)snprintf(path + n, sizeof(path) - n, " %s", args->argv[i]);
  if (!cmd || used < args->argc)
    return cli_usage_error(ctx, "unknown command '%s'", path);
  cli_help(ctx->out, path, cmd);
  return CLI_EXIT_OK;
}
