/*
 * help.c - `--help` and `edvctl help`, rendered from the command table.
 */
#include <string.h>

#include "cli/cli.h"

#define HELP_WIDTH 79 /* columns */
#define HELP_COL   28 /* where flag descriptions start */

/* Prints text word-wrapped to HELP_WIDTH, continuation lines indented to
 * HELP_COL; the first line starts at column `col`. */
static void help_wrap(FILE *f, int col, const char *text)
{
  const char *p = text, *word;
  int len;

  while (*p) {
    word = p;
    while (*p && *p != ' ')
      p++;
    len = (int)(p - word);
    if (col > HELP_COL && col + 1 + len > HELP_WIDTH) {
      fprintf(f, "\n%*s", HELP_COL, "");
      col = HELP_COL;
    } else if (col > HELP_COL) {
      fputc(' ', f);
      col++;
    }
    fprintf(f, "%.*s", len, word);
    col += len;
    while (*p == ' ')
      p++;
  }
  fputc('\n', f);
}

static void help_opts(FILE *f, const cli_opt *opts)
{
  char left[48];
  int i;

  for (i = 0; opts && opts[i].name; i++) {
    if (opts[i].short_name)
      snprintf(left, sizeof(left), "-%c, --%s%s%s", opts[i].short_name,
               opts[i].name, opts[i].arg ? " " : "",
               opts[i].arg ? opts[i].arg : "");
    else
      snprintf(left, sizeof(left), "    --%s%s%s", opts[i].name,
               opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
    if ((int)strlen(left) + 4 > HELP_COL)
      fprintf(f, "  %s\n%*s", left, HELP_COL, "");
    else
      fprintf(f, "  %-*s", HELP_COL - 2, left);
    help_wrap(f, HELP_COL, opts[i].help);
  }
}

static void help_cmds(FILE *f, const cli_cmd *table)
{
  const cli_cmd *c;

  for (c = table; c->name; c++)
    fprintf(f, "  %-20s  %s\n", c->name, c->summary);
}

static void help_program(FILE *f, const char *prog)
{
  fprintf(f,
          "Usage: %s [FLAGS] COMMAND [ARGS...]\n"
          "\n"
          "Drives EdVirons tenant stacks on Google Cloud (or on the\n"
          "embedded simulator with --sim) through the Google Cloud REST "
          "APIs.\n"
          "\n"
          "Commands:\n",
          prog);
  help_cmds(f, cli_commands);
  fprintf(f, "\nGlobal flags (before or after the command):\n");
  help_opts(f, cli_global_opts);
  fprintf(f,
          "\n"
          "Environment:\n"
          "  EDV_CONFIG, EDV_PROJECT, EDV_ENDPOINT, EDV_KEY_FILE, "
          "EDV_STATE_DIR,\n"
          "  EDV_SIM=1, EDV_FORMAT=json, EDV_QUIET=1, EDV_VERBOSE=N, and\n"
          "  EDV_<KEY> for any configuration key (EDV_SIM_PROFILE,\n"
          "  EDV_TIERS_FILE, EDV_DOMAIN, ...; docs/config.md).\n"
          "  Flags override the environment, which overrides the config "
          "file.\n"
          "\n"
          "Exit codes:\n"
          "  0  success\n"
          "  1  other error (I/O, out of memory)\n"
          "  2  usage error: bad command, flag, argument or configuration\n"
          "  3  not found\n"
          "  4  conflict: already exists, in use, busy or changed "
          "meanwhile\n"
          "  5  cloud API or long-running operation failed\n"
          "  6  credentials, authentication or permission problem\n"
          "  7  interrupted (SIGINT)\n"
          "  8  the audit found something (infra audit)\n"
          "\n"
          "Run '%s help COMMAND' or '%s COMMAND --help' for more.\n",
          prog, prog);
}

void cli_help(FILE *f, const char *path, const cli_cmd *cmd)
{
  if (!cmd) {
    help_program(f, path);
    return;
  }
  fprintf(f, "Usage: %s %s\n\n%s", path, cmd->usage, cmd->help);
  if (cmd->subs) {
    fprintf(f, "\nCommands:\n");
    help_cmds(f, cmd->subs);
  }
  if (cmd->opts && cmd->opts[0].name) {
    fprintf(f, "\nFlags:\n");
    help_opts(f, cmd->opts);
  }
  fprintf(f, "\nGlobal flags and exit codes: see 'edvctl --help'.\n");
}

const cli_cmd *cli_find(const cli_cmd *table, int argc, char **argv, int *used)
{
  const cli_cmd *c, *found = NULL;
  int i;

  *used = 0;
  for (i = 0; i < argc && table; i++) {
    for (c = table; c->name; c++) {
      if (strcmp(c->name, argv[i]) == 0)
        break;
    }
    if (!c->name)
      return i == 0 ? NULL : found;
    found = c;
    *used = i + 1;
    table = c->subs;
  }
  return found;
}
