/*
 * args.c - command-line parsing for edvctl, driven by the command table.
 *
 * Syntax, as in gcloud and kubectl: global flags anywhere, then the command
 * words ("auth print-access-token"), with the command's own flags and its
 * positional arguments in any order after them. The flags themselves are
 * read by common/args.h, the parser edvd and edv-gcpsim use too. Every
 * problem is reported on one line naming the flag or argument, and gives
 * CLI_EXIT_USAGE.
 */
#include <stdint.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"

int cli_set_format(cli_ctx *ctx, const char *value, const char *what)
{
  char why[300];

  if (strcmp(value, "table") == 0) {
    ctx->format = CLI_FORMAT_TABLE;
  } else if (strcmp(value, "json") == 0 || strcmp(value, "yaml") == 0) {
    ctx->format = CLI_FORMAT_JSON;
    ctx->output_spec = value;
  } else if (cli_out_value_check(value, why, sizeof(why)) == 0) {
    ctx->format = CLI_FORMAT_JSON;
    ctx->output_spec = value;
  } else {
    return cli_usage_error(ctx,
                           "%s '%s' is not one of: table, json, yaml, "
                           "value(FIELD,...)",
                           what, value);
  }
  return CLI_EXIT_OK;
}

int cli_apply_global(cli_ctx *ctx, const char *name, const char *value)
{
  if (strcmp(name, "config") == 0) {
    ctx->config_file = value;
  } else if (strcmp(name, "project") == 0) {
    ctx->project = value;
  } else if (strcmp(name, "endpoint") == 0) {
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
      return cli_usage_error(ctx,
                             "--endpoint '%s' must start with http:// or "
                             "https://",
                             value);
    ctx->endpoint = value;
  } else if (strcmp(name, "key-file") == 0) {
    ctx->key_file = value;
  } else if (strcmp(name, "format") == 0) {
    return cli_set_format(ctx, value, "--format");
  } else if (strcmp(name, "filter") == 0 || strcmp(name, "sort-by") == 0) {
    char why[300];
    int sort = name[0] == 's';
    /* Checked now, on an empty document: a mistake is a usage error before
     * anything runs. */
    json_object *probe = json_object_new_array();
    int bad = cli_out_shape(probe, sort ? NULL : value, sort ? value : NULL,
                            why, sizeof(why));
    json_object_put(probe);
    if (bad)
      return cli_usage_error(ctx, "%s", why);
    if (sort)
      ctx->sort_by = value;
    else
      ctx->filter = value;
  } else if (strcmp(name, "state-dir") == 0) {
    ctx->state_dir = value;
  } else if (strcmp(name, "server") == 0) {
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
      return cli_usage_error(ctx,
                             "--server '%s' must start with http:// or "
                             "https://",
                             value);
    ctx->server = value;
  } else if (strcmp(name, "token-file") == 0) {
    ctx->token_file = value;
  } else if (strcmp(name, "cacert") == 0) {
    ctx->cacert = value;
  } else if (strcmp(name, "sim") == 0) {
    ctx->use_sim = 1;
  } else if (strcmp(name, "quiet") == 0) {
    ctx->quiet = 1;
  } else if (strcmp(name, "verbose") == 0) {
    ctx->verbose++;
  } else if (strcmp(name, "help") == 0) {
    ctx->want_help = 1;
  } else if (strcmp(name, "version") == 0) {
    ctx->want_version = 1;
  }
  return CLI_EXIT_OK;
}

/* Parser state across argv. */
typedef struct args_state {
  cli_ctx *ctx;
  const cli_cmd *cmd; /* command or group named so far */
  cli_args *args;
  int npos;
} args_state;

/* A word while no leaf command is known yet: a command or subcommand. */
static int args_word(args_state *st, const char *word)
{
  const cli_cmd *table = st->cmd ? st->cmd->subs : cli_commands;
  const cli_cmd *c;
  const char *best = NULL;
  size_t n, best_d = SIZE_MAX;

  for (c = table; c->name; c++) {
    if (strcmp(c->name, word) == 0)
      break;
    edv__args_near(word, strlen(word), c->name, &best, &best_d);
  }
  if (!c->name) {
    /* The message's prefix already names the parent command. */
    if (best)
      return cli_usage_error(
          st->ctx, "unknown command '%s'; did you mean '%s'?", word, best);
    return cli_usage_error(st->ctx, "unknown command '%s'", word);
  }
  n = strlen(st->ctx->cmd_path);
  snprintf(st->ctx->cmd_path + n, sizeof(st->ctx->cmd_path) - n, " %s",
           c->name);
  st->cmd = c;
  return CLI_EXIT_OK;
}

static int args_arity(args_state *st, int npos)
{
  const cli_cmd *c = st->cmd;

  if (npos < c->min_args) {
    if (c->arg_names)
      return cli_usage_error(st->ctx, "missing argument %s",
                             c->arg_names[npos]);
    return cli_usage_error(st->ctx, "missing argument");
  }
  if (c->max_args >= 0 && npos > c->max_args)
    return cli_usage_error(st->ctx, "unexpected argument '%s'",
                           st->args->argv[c->max_args]);
  return CLI_EXIT_OK;
}

/* A flag: the global table's (0) applies at once, a command's (1) is
 * kept for cli_arg(). */
static int on_flag(edv__args *p, unsigned t, int i, const char *value)
{
  args_state *st = p->data;

  if (t == 0)
    return cli_apply_global(st->ctx, p->tables[0][i].name, value);
  if (i >= CLI_MAX_OPTS)
    return cli_usage_error(st->ctx, "flag --%s: too many flags",
                           p->tables[1][i].name);
  /* A list flag (its metavar "T[,T]") may be given again: the values are
   * joined by commas, as the library takes them; any other flag given
   * twice keeps its last value. */
  if (value && st->args->values[i] && p->tables[1][i].arg &&
      strstr(p->tables[1][i].arg, "[,")) {
    cli_args *a = st->args;
    char both[sizeof(a->joined)];
    int n = snprintf(both, sizeof(both), "%s,%s", a->values[i], value);

    if (n < 0 || (size_t)n >= sizeof(both))
      return cli_usage_error(st->ctx, "flag --%s: too many values",
                             p->tables[1][i].name);
    memcpy(a->joined, both, (size_t)n + 1);
    a->values[i] = a->joined;
    return CLI_EXIT_OK;
  }
  st->args->values[i] = value ? value : "";
  return CLI_EXIT_OK;
}

/* A word: a command word until a leaf command is known, then an
 * argument (compacted in place: npos <= i - 1). */
static int on_word(edv__args *p, const char *word)
{
  args_state *st = p->data;
  int result;

  if (st->cmd && !st->cmd->subs) {
    st->args->argv[st->npos++] = (char *)word;
    return CLI_EXIT_OK;
  }
  result = args_word(st, word);
  p->tables[1] = st->cmd && !st->cmd->subs ? st->cmd->opts : NULL;
  return result;
}

static int on_error(edv__args *p, const char *msg)
{
  /* The message's prefix already names the command. */
  return cli_usage_error(((args_state *)p->data)->ctx, "%s", msg);
}

int cli_parse(cli_ctx *ctx, int argc, char **argv, const cli_cmd **cmdp,
              cli_args *args)
{
  args_state st;
  edv__args p;
  int result;

  memset(args, 0, sizeof(*args));
  memset(&st, 0, sizeof(st));
  memset(&p, 0, sizeof(p));
  st.ctx = ctx;
  st.args = args;
  args->argv = argv + 1;
  *cmdp = NULL;
  snprintf(ctx->cmd_path, sizeof(ctx->cmd_path), "%s", ctx->prog);
  p.tables[0] = cli_global_opts;
  p.flag = on_flag;
  p.word = on_word;
  p.error = on_error;
  p.data = &st;
  result = edv__args_parse(&p, argc, argv);
  if (result != CLI_EXIT_OK)
    return result;
  args->argc = st.npos;
  args->cmd = st.cmd;
  if (ctx->want_help) {
    cli_help(ctx->out, ctx->cmd_path, st.cmd);
    return CLI_EXIT_OK;
  }
  if (!st.cmd) {
    if (ctx->want_version)
      return cli_cmd_version(ctx, args);
    cli_help(ctx->err, ctx->prog, NULL);
    return CLI_EXIT_USAGE;
  }
  if (st.cmd->subs)
    return cli_usage_error(ctx, "missing command after '%s'", ctx->cmd_path);
  result = args_arity(&st, st.npos);
  if (result == CLI_EXIT_OK)
    *cmdp = st.cmd;
  return result;
}

const char *cli_arg(const cli_args *args, const char *name)
{
  int idx;

  if (!args->cmd)
    return NULL;
  idx = edv__opt_find(args->cmd->opts, name, strlen(name), 0);
  return idx >= 0 && idx < CLI_MAX_OPTS ? args->values[idx] : NULL;
}
