/*
 * cmd_token.c - `edvctl token create`: a bearer token for edvd's
 * Management API. The token is printed once, on stdout; the state
 * directory's token file keeps only its salted hash (prog/tokens.h), so
 * a lost token is replaced, never recovered. edvd picks new tokens up on
 * SIGHUP.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "prog/tokens.h"

int cli_cmd_token_create(cli_ctx *ctx, const cli_args *args)
{
  const char *role_s = cli_arg(args, "role");
  const char *name = cli_arg(args, "name");
  const char *dir;
  char path[600], token[EDV_TOKEN_MAX];
  edv_role role;
  edv_error err;
  int result;

  if (!role_s || !name)
    return cli_usage_error(ctx, "--role and --name are required");
  role = edv__role_parse(role_s);
  if (role == EDV_ROLE_NONE)
    return cli_usage_error(ctx,
                           "--role: '%s' is not viewer, operator or "
                           "admin",
                           role_s);
  result = cli_config(ctx);
  if (result)
    return result;
  dir = cli_state_dir(ctx);
  if (cli_mkdirs(dir) != 0) {
    fprintf(ctx->err, "%s: cannot create state directory '%s': %s\n", ctx->prog,
            dir, strerror(errno));
    return CLI_EXIT_OTHER;
  }
  snprintf(path, sizeof(path), "%s/%s", dir, EDV_TOKENS_FILE);
  if (edv__tokens_create(path, name, role, token, sizeof(token), &err)) {
    if (err.code == EDV_EINVAL)
      return cli_usage_error(ctx, "%s", err.message);
    return cli_fail(ctx, &err);
  }
  if (ctx->format == CLI_FORMAT_JSON) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "role",
                           json_object_new_string(edv__role_name(role)));
    json_object_object_add(o, "token", json_object_new_string(token));
    cli_print_json(ctx, o);
    json_object_put(o);
  } else {
    fprintf(ctx->out, "%s\n", token);
    if (!ctx->quiet)
      fprintf(ctx->err,
              "%s: token '%s' (%s) created; it is shown only now. Send "
              "SIGHUP to a running edvd to load it.\n",
              ctx->prog, name, edv__role_name(role));
  }
  OPENSSL_cleanse(token, sizeof(token));
  return CLI_EXIT_OK;
}
