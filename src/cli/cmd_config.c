/*
 * cmd_config.c - `edvctl config get|set|unset|list`, as gcloud has.
 *
 * Reading shows the effective configuration (file, then EDV_* environment,
 * then flags) and, for list, where each value comes from; writing edits
 * the config file edvctl reads (cli_config_path) through
 * edv_config_file_set(), which validates the key and value and replaces
 * the file atomically.
 */
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/output.h"

int cli_cmd_config_get(cli_ctx *ctx, const cli_args *args)
{
  const char *key = args->argv[0], *v;
  int result;

  if (!edv_config_key_valid(key))
    return cli_usage_error(ctx, "KEY: unknown key '%s' (docs/config.md)", key);
  if ((result = cli_config(ctx)) != CLI_EXIT_OK)
    return result;
  v = edv_config_get(ctx->cfg, key);
  if (!v) {
    fprintf(ctx->err, "%s: %s is not set\n", ctx->cmd_path, key);
    return CLI_EXIT_NOTFOUND;
  }
  if (ctx->format == CLI_FORMAT_JSON) {
    json_object *o = json_object_new_object();

    json_object_object_add(o, key, json_object_new_string(v));
    cli_print_json(ctx, o);
    json_object_put(o);
  } else {
    fprintf(ctx->out, "%s\n", v);
  }
  return CLI_EXIT_OK;
}

/* Creates the default file's directory (0700) when it is missing. */
static int config_dir(cli_ctx *ctx, const char *path)
{
  char dir[1024];

  snprintf(dir, sizeof(dir), "%s", path);
  if (access(dirname(dir), F_OK) == 0)
    return CLI_EXIT_OK;
  snprintf(dir, sizeof(dir), "%s", path);
  return cli_mkdirs(dirname(dir));
}

static int config_write(cli_ctx *ctx, const char *key, const char *value)
{
  const char *path = cli_config_path(ctx);
  edv_error err;

  if (config_dir(ctx, path)) {
    fprintf(ctx->err, "%s: cannot create the directory of %s\n", ctx->cmd_path,
            path);
    return CLI_EXIT_OTHER;
  }
  if (edv_config_file_set(path, key, value, &err) != 0)
    return cli_fail(ctx, &err);
  if (!ctx->quiet && ctx->format != CLI_FORMAT_JSON)
    fprintf(ctx->err, "%s %s in %s\n", value ? "Set" : "Unset", key, path);
  return CLI_EXIT_OK;
}

int cli_cmd_config_set(cli_ctx *ctx, const cli_args *args)
{
  return config_write(ctx, args->argv[0], args->argv[1]);
}

int cli_cmd_config_unset(cli_ctx *ctx, const cli_args *args)
{
  return config_write(ctx, args->argv[0], NULL);
}

/* ---- list ---------------------------------------------------------------
 * Each value's source is found by loading the layers one by one: defaults,
 * + the file, + the environment; what differs from the layer below came
 * from that layer, and what the last layer lacks came from a flag. */

typedef struct layers {
  edv_config *with_file, *with_env, *defaults;
  cli_ctx *ctx;
  json_object *json; /* --format json: {key: {value, source}} */
  json_object *rows; /* table: [{key, value, source}] */
} layers;

static const char *config_source(const layers *l, const char *key,
                                 const char *value)
{
  const char *env = edv_config_get(l->with_env, key);
  const char *file = edv_config_get(l->with_file, key);
  const char *def = edv_config_get(l->defaults, key);

  if (!env || strcmp(env, value) != 0)
    return "flag";
  if (!file || strcmp(file, env) != 0)
    return "environment";
  if (!def || strcmp(def, file) != 0)
    return "file";
  return "default";
}

static void config_row(void *data, const char *key, const char *value)
{
  layers *l = data;
  const char *source = config_source(l, key, value);

  if (l->json) {
    json_object *o = json_object_new_object();

    json_object_object_add(o, "value", json_object_new_string(value));
    json_object_object_add(o, "source", json_object_new_string(source));
    json_object_object_add(l->json, key, o);
  } else {
    json_object *o = json_object_new_object();

    json_object_object_add(o, "key", json_object_new_string(key));
    json_object_object_add(o, "value", json_object_new_string(value));
    json_object_object_add(o, "source", json_object_new_string(source));
    json_object_array_add(l->rows, o);
  }
}

static void config_copy_one(void *data, const char *key, const char *value)
{
  edv_config **copy = data;

  if (*copy && edv_config_set(*copy, key, value, NULL) != 0) {
    edv_config_free(*copy);
    *copy = NULL;
  }
}

/* A new configuration with the keys of `cfg`, or NULL when out of memory. */
static edv_config *config_copy(const edv_config *cfg)
{
  edv_config *copy = edv_config_new();

  edv_config_foreach(cfg, config_copy_one, &copy);
  return copy;
}

int cli_cmd_config_list(cli_ctx *ctx, const cli_args *args)
{
  const char *path = cli_config_path(ctx);
  layers l = {NULL, NULL, NULL, ctx, NULL, NULL};
  static const cli_col cols[] = {
      {"KEY", "key"}, {"VALUE", "value"}, {"SOURCE", "source"}};
  edv_error err;
  int result = CLI_EXIT_OK;

  (void)args;
  if ((result = cli_config(ctx)) != CLI_EXIT_OK)
    return result;
  l.defaults = edv_config_new();
  l.with_file = edv_config_new();
  if (!l.defaults || !l.with_file) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    result = cli_fail(ctx, &err);
    goto done;
  }
  if (access(path, F_OK) == 0 &&
      edv_config_load_file(l.with_file, path, &err) != 0) {
    result = cli_fail(ctx, &err);
    goto done;
  }
  /* The file read once: the next layer starts as a copy of it. */
  l.with_env = config_copy(l.with_file);
  if (!l.with_env) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    result = cli_fail(ctx, &err);
    goto done;
  }
  if (edv_config_load_env(l.with_env, &err) != 0) {
    result = cli_fail(ctx, &err);
    goto done;
  }
  if (ctx->format == CLI_FORMAT_JSON) {
    l.json = json_object_new_object();
  } else {
    fprintf(ctx->out, "# %s%s\n", path,
            access(path, F_OK) == 0 ? "" : " (absent)");
    l.rows = json_object_new_array();
  }
  edv_config_foreach(ctx->cfg, config_row, &l);
  if (l.rows) {
    cli_print_table(ctx, l.rows, cols, 3);
    json_object_put(l.rows);
  }
  if (l.json) {
    json_object *o = json_object_new_object();

    json_object_object_add(o, "file", json_object_new_string(path));
    json_object_object_add(o, "keys", l.json);
    cli_print_json(ctx, o);
    json_object_put(o);
  }
done:
  edv_config_free(l.defaults);
  edv_config_free(l.with_file);
  edv_config_free(l.with_env);
  return result;
}
