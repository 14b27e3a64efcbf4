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

/* What edvctl is, its environment and its exit codes: the one text that
 * `edvctl --help` and the man page (cli_man) both print. */
static const char help_about[] =
    "Drives EdVirons tenant stacks on Google Cloud (or on the\n"
    "embedded simulator with --sim) through the Google Cloud REST APIs.\n";

static const char help_env[] =
    "EDV_CONFIG, EDV_PROJECT, EDV_ENDPOINT, EDV_KEY_FILE, EDV_STATE_DIR,\n"
    "EDV_SIM=1, EDV_FORMAT=json, EDV_QUIET=1, EDV_VERBOSE=N, and\n"
    "EDV_<KEY> for any configuration key (EDV_SIM_PROFILE,\n"
    "EDV_TIERS_FILE, EDV_DOMAIN, ...; docs/config.md).\n"
    "Flags override the environment, which overrides the config file.\n";

static const struct {
  int code;
  const char *text;
} help_exits[] = {
    {CLI_EXIT_OK, "success"},
    {CLI_EXIT_OTHER, "other error (I/O, out of memory)"},
    {CLI_EXIT_USAGE, "usage error: bad command, flag, argument or "
                     "configuration"},
    {CLI_EXIT_NOTFOUND, "not found"},
    {CLI_EXIT_CONFLICT, "conflict: already exists, in use, busy or changed "
                        "meanwhile"},
    {CLI_EXIT_API, "cloud API or long-running operation failed"},
    {CLI_EXIT_AUTH, "credentials, authentication or permission problem"},
    {CLI_EXIT_INTERRUPTED, "interrupted (SIGINT)"},
    {CLI_EXIT_FINDINGS, "the audit found something (infra audit)"},
};

/* Prints text with every line indented by `indent` spaces. */
static void help_indent(FILE *f, int indent, const char *text)
{
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    int len = nl ? (int)(nl - p) : (int)strlen(p);

    fprintf(f, "%*s%.*s\n", len ? indent : 0, "", len, p);
    p += len + (nl != NULL);
  }
}

static void help_program(FILE *f, const char *prog)
{
  fprintf(f, "Usage: %s [FLAGS] COMMAND [ARGS...]\n\n%s\nCommands:\n", prog,
          help_about);
  help_cmds(f, cli_commands);
  fprintf(f, "\nGlobal flags (before or after the command):\n");
  help_opts(f, cli_global_opts);
  fprintf(f, "\nEnvironment:\n");
  help_indent(f, 2, help_env);
  fprintf(f, "\nExit codes:\n");
  for (size_t i = 0; i < sizeof(help_exits) / sizeof(help_exits[0]); i++)
    fprintf(f, "  %d  %s\n", help_exits[i].code, help_exits[i].text);
  fprintf(f, "\nRun '%s help COMMAND' or '%s COMMAND --help' for more.\n", prog,
          prog);
}

/* ---- the man page ------------------------------------------------------ */

/* Prints text escaped for scdoc: its markup characters taken literally,
 * and a line that starts with '-' or '`' not read as a list or a block. */
static void man_text(FILE *f, const char *text, size_t len)
{
  for (size_t i = 0; i < len && text[i]; i++) {
    if (text[i] == '*' || text[i] == '_' || text[i] == '\\' ||
        ((text[i] == '-' || text[i] == '`') && (i == 0 || text[i - 1] == '\n')))
      fputc('\\', f);
    fputc(text[i], f);
  }
}

static void man_opts(FILE *f, const cli_opt *opts)
{
  for (int i = 0; opts && opts[i].name; i++) {
    fputc('*', f);
    if (opts[i].short_name)
      fprintf(f, "-%c*, *", opts[i].short_name);
    fputs("--", f);
    man_text(f, opts[i].name, strlen(opts[i].name));
    fputc('*', f);
    if (opts[i].arg) {
      fputc(' ', f);
      man_text(f, opts[i].arg, strlen(opts[i].arg));
    }
    fputs("\n\t", f);
    man_text(f, opts[i].help, strlen(opts[i].help));
    fputs("\n\n", f);
  }
}

/* A command's help: paragraphs as text, the lines under "Examples:" (and
 * any indented line) as a literal block. */
static void man_help(FILE *f, const char *help)
{
  int in_block = 0;

  for (const char *p = help; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    int code = len > 2 && p[0] == ' ' && p[1] == ' ';

    if (code != in_block)
      fputs("```\n", f);
    in_block = code;
    if (code)
      fprintf(f, "%.*s\n", (int)(len - 2), p + 2);
    else if (len > 0 || !in_block) {
      man_text(f, p, len);
      fputc('\n', f);
    }
    p += len + (nl != NULL);
  }
  if (in_block)
    fputs("```\n", f);
}

static void man_cmds(FILE *f, const char *path, const cli_cmd *table)
{
  char sub[160];

  for (const cli_cmd *c = table; c->name; c++) {
    snprintf(sub, sizeof(sub), "%s %s", path, c->name);
    if (c->subs) {
      man_cmds(f, sub, c->subs);
      continue;
    }
    fprintf(f, "## %s", sub);
    for (const char *u = c->usage; *u;) { /* on one line */
      size_t n = strcspn(u, "\n");

      fputc(' ', f);
      man_text(f, u, n);
      u += n;
      u += strspn(u, "\n ");
    }
    fputs("\n\n", f);
    man_help(f, c->help);
    if (c->opts && c->opts[0].name) {
      fputs("\nFlags:\n\n", f);
      man_opts(f, c->opts);
    }
    fputc('\n', f);
  }
}

void cli_man(FILE *f)
{
  fprintf(f,
          "edvctl(1) \"edvirons %s\"\n\n"
          "# NAME\n\nedvctl - the EdVirons tenant orchestrator's "
          "command line\n\n"
          "# SYNOPSIS\n\n*edvctl* [_FLAGS_] _COMMAND_ [_ARGS_...]\n\n"
          "# DESCRIPTION\n\n",
          EDV_VERSION);
  man_text(f, help_about, sizeof(help_about));
  fputs("\nGlobal flags may stand before or after the command words.\n\n"
        "# GLOBAL FLAGS\n\n",
        f);
  man_opts(f, cli_global_opts);
  fputs("# COMMANDS\n\n", f);
  man_cmds(f, "edvctl", cli_commands);
  fputs("# ENVIRONMENT\n\n", f);
  man_text(f, help_env, sizeof(help_env));
  fputs("\n# EXIT STATUS\n\n", f);
  for (size_t i = 0; i < sizeof(help_exits) / sizeof(help_exits[0]); i++) {
    fprintf(f, "*%d*\n\t", help_exits[i].code);
    man_text(f, help_exits[i].text, strlen(help_exits[i].text));
    fputs("\n\n", f);
  }
  fputs("# SEE ALSO\n\n*edvd*(8), *edv-gcpsim*(1)\n", f);
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
