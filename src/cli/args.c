/*
 * args.c - command-line parsing for edvctl, driven by the command table.
 *
 * Syntax, as in gcloud and kubectl: global flags anywhere, then the command
 * words ("auth print-access-token"), with the command's own flags and its
 * positional arguments in any order after them. "--name=value" and
 * "--name value" both work; short switches combine ("-qv", "-vv"); "--"
 * ends the flags. Every problem is reported on one line naming the flag or
 * argument, and gives CLI_EXIT_USAGE.
 */
#include <stdint.h>
#include <string.h>

#include "cli/cli.h"

/* The index of flag `name` (long, or short when len is 1 and is_short) in
 * a NULL-name-ended table, or -1. */
static int args_lookup(const cli_opt *opts, const char *name, size_t len,
                       int is_short)
{
  int i;

  for (i = 0; opts && opts[i].name; i++) {
    if (is_short ? opts[i].short_name == name[0]
                 : strlen(opts[i].name) == len &&
                       strncmp(opts[i].name, name, len) == 0)
      return i;
  }
  return -1;
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
    if (strcmp(value, "table") == 0)
      ctx->format = CLI_FORMAT_TABLE;
    else if (strcmp(value, "json") == 0)
      ctx->format = CLI_FORMAT_JSON;
    else
      return cli_usage_error(ctx, "--format '%s' is not one of: table, json",
                             value);
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
  int argc;
  char **argv;
  int i;              /* current index */
  const cli_cmd *cmd; /* command or group named so far */
  cli_args *args;
} args_state;

/* Records one flag (global or the command's) with its value. */
static int args_set(args_state *st, const char *flag, const cli_opt *opts,
                    int idx, int global, const char *value)
{
  if (!opts[idx].arg && value)
    return cli_usage_error(st->ctx, "flag %s takes no value", flag);
  if (opts[idx].arg && !value) {
    if (st->i + 1 >= st->argc)
      return cli_usage_error(st->ctx, "flag %s needs a value (%s)", flag,
                             opts[idx].arg);
    value = st->argv[++st->i];
  }
  if (opts[idx].arg && !*value)
    return cli_usage_error(st->ctx, "flag %s needs a non-empty value (%s)",
                           flag, opts[idx].arg);
  if (global)
    return cli_apply_global(st->ctx, opts[idx].name, value);
  st->args->values[idx] = value ? value : "";
  return CLI_EXIT_OK;
}

/* The optimal-string-alignment distance between a and b (edits, with a
 * swap of two neighbours counting as one), or SIZE_MAX past 63 bytes. */
static size_t args_distance(const char *a, size_t la, const char *b)
{
  size_t lb = strlen(b), d[64][64];

  if (la >= 64 || lb >= 64)
    return SIZE_MAX;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      size_t v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

      if (d[i - 1][j] + 1 < v)
        v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  }
  return d[la][lb];
}

/* Keeps in *best the candidate nearest to the mistyped word (len bytes):
 * a word it starts, or one within a third of its length in edits (at
 * least one); the first of equals wins. */
static void args_near(const char *word, size_t len, const char *cand,
                      const char **best, size_t *best_d)
{
  size_t d = args_distance(word, len, cand);
  size_t most = len / 3 ? len / 3 : 1;

  if (len >= 2 && strncmp(cand, word, len) == 0)
    d = 1; /* a prefix of the command: as near as one typo */
  if (d <= most && d < *best_d) {
    *best = cand;
    *best_d = d;
  }
}

/* The ", did you mean '--NAME'?" hint for an unknown long flag, or "". */
static const char *args_flag_hint(const cli_opt *own, const char *name,
                                  size_t len, char *buf, size_t size)
{
  const cli_opt *tables[] = {cli_global_opts, own};
  const char *best = NULL;
  size_t best_d = SIZE_MAX;

  for (size_t t = 0; t < 2; t++) {
    for (int i = 0; tables[t] && tables[t][i].name; i++)
      args_near(name, len, tables[t][i].name, &best, &best_d);
  }
  if (!best)
    return "";
  snprintf(buf, size, "; did you mean '--%s'?", best);
  return buf;
}

/* Finds a flag in the global table, then in the command's. */
static int args_flag(args_state *st, const char *flag, const char *name,
                     size_t len, int is_short, const char *value)
{
  const cli_opt *own = st->cmd && !st->cmd->subs ? st->cmd->opts : NULL;
  char hint[96];
  int idx;

  idx = args_lookup(cli_global_opts, name, len, is_short);
  if (idx >= 0)
    return args_set(st, flag, cli_global_opts, idx, 1, value);
  idx = args_lookup(own, name, len, is_short);
  if (idx >= 0 && idx < CLI_MAX_OPTS)
    return args_set(st, flag, own, idx, 0, value);
  /* The message's prefix already names the command. */
  return cli_usage_error(
      st->ctx, "unknown flag '%s'%s", flag,
      is_short ? "" : args_flag_hint(own, name, len, hint, sizeof(hint)));
}

static int args_long(args_state *st, const char *arg)
{
  const char *name = arg + 2, *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  char flag[64];

  snprintf(flag, sizeof(flag), "--%.*s", (int)len, name);
  return args_flag(st, flag, name, len, 0, eq ? eq + 1 : NULL);
}

/* "-q", "-vv", "-d JSON", "-dJSON". */
static int args_short(args_state *st, const char *arg)
{
  const cli_opt *own = st->cmd && !st->cmd->subs ? st->cmd->opts : NULL;
  const char *p;
  char flag[3] = {'-', 0, 0};
  int gidx, oidx, takes_arg, result;

  for (p = arg + 1; *p; p++) {
    flag[1] = *p;
    gidx = args_lookup(cli_global_opts, p, 1, 1);
    oidx = gidx < 0 ? args_lookup(own, p, 1, 1) : -1;
    takes_arg = gidx >= 0   ? cli_global_opts[gidx].arg != NULL
                : oidx >= 0 ? own[oidx].arg != NULL
                            : 0;
    if (takes_arg && p[1])
      return args_flag(st, flag, p, 1, 1, p + 1); /* -dVALUE */
    result = args_flag(st, flag, p, 1, 1, NULL);
    if (result != CLI_EXIT_OK || takes_arg)
      return result; /* an error, or the value was the next word */
  }
  return CLI_EXIT_OK;
}

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
    args_near(word, strlen(word), c->name, &best, &best_d);
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

int cli_parse(cli_ctx *ctx, int argc, char **argv, const cli_cmd **cmdp,
              cli_args *args)
{
  args_state st;
  int npos = 0, only_pos = 0, result = CLI_EXIT_OK;
  char *a;

  memset(args, 0, sizeof(*args));
  memset(&st, 0, sizeof(st));
  st.ctx = ctx;
  st.argc = argc;
  st.argv = argv;
  st.args = args;
  args->argv = argv + 1;
  *cmdp = NULL;
  snprintf(ctx->cmd_path, sizeof(ctx->cmd_path), "%s", ctx->prog);
  for (st.i = 1; st.i < argc && result == CLI_EXIT_OK; st.i++) {
    a = argv[st.i];
    if (!only_pos && strcmp(a, "--") == 0)
      only_pos = 1;
    else if (!only_pos && a[0] == '-' && a[1] == '-')
      result = args_long(&st, a);
    else if (!only_pos && a[0] == '-' && a[1])
      result = args_short(&st, a);
    else if (!st.cmd || st.cmd->subs)
      result = args_word(&st, a);
    else
      args->argv[npos++] = a; /* compacts in place: npos <= i - 1 */
  }
  if (result != CLI_EXIT_OK)
    return result;
  args->argc = npos;
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
  result = args_arity(&st, npos);
  if (result == CLI_EXIT_OK)
    *cmdp = st.cmd;
  return result;
}

const char *cli_arg(const cli_args *args, const char *name)
{
  int idx;

  if (!args->cmd)
    return NULL;
  idx = args_lookup(args->cmd->opts, name, strlen(name), 0);
  return idx >= 0 && idx < CLI_MAX_OPTS ? args->values[idx] : NULL;
}
