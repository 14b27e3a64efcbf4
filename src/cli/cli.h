/*
 * cli.h - internals of edvctl, shared between its files.
 *
 * edvctl is a table of commands (commands.c). A command is a leaf with a
 * handler, or a group of subcommands ("auth print-access-token"). Flags are
 * declared per command in the same table, next to the help text, so that
 * parsing, validation and --help cannot drift apart. Global flags may
 * appear before or after the command words, as with gcloud.
 *
 * Handlers run on one libuv loop: they start their work, call
 * cli_loop_run(), and turn the outcome into an exit code with cli_fail().
 */
#ifndef EDV_CLI_H
#define EDV_CLI_H

#include <stdio.h>

#include <json-c/json.h>
#include <uv.h>

#include "common/args.h"
#include "common/json.h"
#include "edv/config.h"
#include "edv/engine.h"
#include "edv/error.h"

/* Exit codes: documented in `edvctl --help` and docs/cli.md. */
enum {
  CLI_EXIT_OK = 0,          /* success */
  CLI_EXIT_OTHER = 1,       /* anything else (I/O, out of memory, bug) */
  CLI_EXIT_USAGE = 2,       /* bad command line or configuration */
  CLI_EXIT_NOTFOUND = 3,    /* the resource does not exist */
  CLI_EXIT_CONFLICT = 4,    /* already exists, in use, busy, stale */
  CLI_EXIT_API = 5,         /* the cloud API or an operation failed */
  CLI_EXIT_AUTH = 6,        /* credentials, authentication, permission */
  CLI_EXIT_INTERRUPTED = 7, /* SIGINT */
  /* `tenant plan --detailed-exitcode` (terraform's convention): changes */
  CLI_EXIT_PLAN_CHANGES = 2,
  CLI_EXIT_FINDINGS = 8, /* infra audit: findings */
};

/* Maximum number of flags one command declares (its own, not global). */
#define CLI_MAX_OPTS 16

/* One flag. */
/* A flag: {name, short_name, arg metavar or NULL, help} (common/args.h,
 * the parser the three programs share). */
typedef edv__opt cli_opt;

typedef struct cli_ctx cli_ctx;
typedef struct cli_args cli_args;

/* One command or group. Tables end with an entry whose name is NULL. */
typedef struct cli_cmd {
  const char *name;             /* "print-access-token" */
  const char *summary;          /* one line, for the parent's list */
  const char *usage;            /* "METHOD URL_OR_PATH [--data JSON|@FILE]" */
  const char *help;             /* paragraphs and examples, '\n'-separated */
  const cli_opt *opts;          /* own flags, NULL-name-ended, or NULL */
  int min_args;                 /* positional arguments required */
  int max_args;                 /* at most this many; -1 = any */
  const char *const *arg_names; /* names of positionals, for messages */
  int (*run)(cli_ctx *ctx, const cli_args *args); /* NULL for a group */
  const struct cli_cmd *subs; /* subcommands of a group, or NULL */
} cli_cmd;

/* What the parser found for the command being run. */
struct cli_args {
  int argc;                         /* positional arguments */
  char **argv;                      /* them (borrowed from main's argv) */
  const char *values[CLI_MAX_OPTS]; /* the command's flags, by index in
                                       cmd->opts: value, or "" for a
                                       switch that was given, or NULL */
  const cli_cmd *cmd;               /* the command */
  char joined[512];                 /* a repeated list flag's values
                                       ("T[,T]"), joined by commas */
};

/* Output formats (--format). CLI_FORMAT_JSON is every structured format:
 * the command prints its document with cli_print_json(), which renders it
 * as JSON, YAML or value(...) (output_spec), after --filter and --sort-by;
 * no progress is shown. */
enum { CLI_FORMAT_TABLE = 0, CLI_FORMAT_JSON = 1 };

struct cli_ctx {
  const char *prog;        /* "edvctl" */
  char cmd_path[64];       /* "edvctl auth print-access-token" */
  uv_loop_t *loop;         /* the one loop */
  edv_config *cfg;         /* file, then env, then flags */
  edv_engine *engine;      /* created by cli_engine(), or NULL */
  void *sim;               /* the embedded simulator (edv_sim), or NULL */
  int format;              /* CLI_FORMAT_* */
  const char *output_spec; /* "json", "yaml" or "value(F,...)" */
  const char *filter;      /* --filter EXPR (cli/output.h), or NULL */
  const char *sort_by;     /* --sort-by FIELD[,~FIELD], or NULL */
  int quiet;               /* -q: no progress, only results and errors */
  int verbose;             /* -v count */
  int use_sim;             /* --sim */
  const char *config_file; /* --config */
  char config_buf[512];    /* storage for the default config file's name */
  const char *project;     /* --project */
  const char *endpoint;    /* --endpoint */
  const char *key_file;    /* --key-file */
  int want_help;           /* --help / -h */
  int want_version;        /* --version */
  const char *state_dir;   /* --state-dir, EDV_STATE_DIR or default */
  char state_dir_buf[512]; /* storage for the default */
  int done;                /* the handler's work has finished */
  int interrupted;         /* SIGINT seen */
  uv_signal_t sigint;      /* SIGINT watcher while the loop runs */
  int sigint_active;       /* sigint is initialised */
  void (*on_interrupt)(void *data); /* cancels the work in flight */
  void *interrupt_data;
  int cursor_hidden; /* the live view hid the cursor */
  FILE *out;         /* stdout */
  FILE *err;         /* stderr */
  /* Remote mode (remote.c): --server/EDV_SERVER, --token-file/
   * EDV_TOKEN_FILE (else EDV_TOKEN), --cacert/EDV_CACERT. */
  const char *server;
  const char *token_file;
  const char *cacert;
  void *remote; /* the open connection (remote.c), or NULL */
};

/* ---- commands.c ----------------------------------------------------------*/

/* The top-level command table. */
extern const cli_cmd cli_commands[];
/* Flags every command accepts. */
extern const cli_opt cli_global_opts[];

/* ---- args.c --------------------------------------------------------------*/

/*
 * Parses argv: global flags (into ctx and the config) anywhere, the command
 * words, then the command's own flags and positionals. On success sets
 * *cmdp (NULL when only global flags like --version were given) and fills
 * *args. Returns CLI_EXIT_OK, or an exit code after printing the problem
 * (CLI_EXIT_USAGE, or CLI_EXIT_OK with *cmdp NULL when --help/--version was
 * answered).
 */
int cli_parse(cli_ctx *ctx, int argc, char **argv, const cli_cmd **cmdp,
              cli_args *args);

/* Value of the command's flag `name`; NULL when not given. A switch
 * that was given has the value "". */
const char *cli_arg(const cli_args *args, const char *name);

/* ---- help.c --------------------------------------------------------------*/

/* Prints help for `cmd` (NULL: the whole program) to f. `path` is
 * "edvctl auth" etc. */
void cli_help(FILE *f, const char *path, const cli_cmd *cmd);

/* Prints the man page edvctl(1) in scdoc's markup, from the same table and
 * texts as --help (`edvctl __man`, run at build time). */
void cli_man(FILE *f);

/* Finds a command by words ("auth", "print-access-token"); NULL if none.
 * *used receives how many words named it. */
const cli_cmd *cli_find(const cli_cmd *table, int argc, char **argv, int *used);

/* ---- main.c --------------------------------------------------------------*/

/* "edvctl api: <message>" and a hint to --help on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(cli_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The exit code for an error (see the enum above). */
int cli_exit_code(const cli_ctx *ctx, const edv_error *err);

/* The document's items as a table of `cols` (cli/output.h), after
 * --filter and --sort-by: the one way a list prints in table format. */
struct cli_col;
void cli_print_table(cli_ctx *ctx, json_object *doc, const struct cli_col *cols,
                     size_t ncols);

/* --format VALUE (or EDV_FORMAT, named by `what`): table, json, yaml or
 * value(FIELD,...). CLI_EXIT_OK or a usage error. */
int cli_set_format(cli_ctx *ctx, const char *value, const char *what);

/* Prints "edvctl: <edv_error_format>" on stderr; returns cli_exit_code. */
int cli_fail(cli_ctx *ctx, const edv_error *err);

/* Loads the configuration once: the file (--config or EDV_CONFIG), then
 * the EDV_* environment, then the flags. Returns CLI_EXIT_OK or an exit
 * code after printing. */
int cli_config(cli_ctx *ctx);

/* The config file edvctl reads and `config set` writes: --config, else
 * EDV_CONFIG, else $XDG_CONFIG_HOME/edv/config (~/.config/edv/config). */
const char *cli_config_path(cli_ctx *ctx);

/* Creates the engine (and the embedded simulator with --sim) from the
 * configuration. Returns CLI_EXIT_OK or an exit code after printing. */
int cli_engine(cli_ctx *ctx);

/*
 * Runs the loop until the handler's work sets ctx->done, with SIGINT
 * watched: the first SIGINT sets ctx->interrupted and calls
 * ctx->on_interrupt (which must cancel the work so its callback runs); a
 * second one exits at once with CLI_EXIT_INTERRUPTED.
 */
void cli_loop_run(cli_ctx *ctx);

/* The state directory: config state_dir (--state-dir, EDV_STATE_DIR or
 * the file), else $XDG_STATE_HOME/edv, else $HOME/.local/state/edv. */
const char *cli_state_dir(cli_ctx *ctx);

/* mkdir -p with mode 0700 for the directories we create. */
int cli_mkdirs(const char *path);

/* Hides or shows the terminal's cursor on stderr (the live view); the
 * state is remembered so that every exit path can show it again. */
void cli_term_cursor(cli_ctx *ctx, int visible);
/* Shows the cursor if it was hidden (any exit, a second Ctrl-C). */
void cli_term_restore(cli_ctx *ctx);

/* Prints JSON to stdout, pretty, one document. */
void cli_print_json(cli_ctx *ctx, json_object *obj);

/* Progress line on stderr unless -q (and never in --format json). */
void cli_progress(cli_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- handlers ------------------------------------------------------------*/

int cli_cmd_api(cli_ctx *ctx, const cli_args *args);
int cli_cmd_auth_token(cli_ctx *ctx, const cli_args *args);
int cli_cmd_version(cli_ctx *ctx, const cli_args *args);
int cli_cmd_help(cli_ctx *ctx, const cli_args *args);
int cli_cmd_platform_init(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_create(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_list(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_get(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_state(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_history(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_plan(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_retry(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_resume(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_delete(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_update(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_scale(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_apply(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_recover(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_undelete(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_move(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tiers_list(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_start(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_env(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_reset(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_state(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_faults_list(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_faults_add(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_faults_clear(cli_ctx *ctx, const cli_args *args);
int cli_cmd_sim_clock_advance(cli_ctx *ctx, const cli_args *args);
int cli_cmd_token_create(cli_ctx *ctx, const cli_args *args);
int cli_cmd_completion(cli_ctx *ctx, const cli_args *args);
int cli_cmd_config_get(cli_ctx *ctx, const cli_args *args);
int cli_cmd_config_set(cli_ctx *ctx, const cli_args *args);
int cli_cmd_config_unset(cli_ctx *ctx, const cli_args *args);
int cli_cmd_config_list(cli_ctx *ctx, const cli_args *args);

/* Applies global flag `name` (cli_global_opts) with its value (NULL for a
 * switch) to ctx; a bad value is a usage error. */
int cli_apply_global(cli_ctx *ctx, const char *name, const char *value);

/* `edvctl __complete WORD...` (the completion scripts' call, parsed by
 * itself since its words are another command line): prints the candidates
 * for the last word. */
int cli_complete(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_infra_audit(cli_ctx *ctx, const cli_args *args);
/* cmd_tenant.c: opens the fleet on the state store (the engine and the
 * config first), as every local tenant and day-2 verb does. CLI_EXIT_OK
 * or an exit code after printing. */
struct edv_fleet;
int cli_fleet_open(cli_ctx *ctx, struct edv_fleet **out);
/* cmd_day2.c: the day-2 verbs, local and remote */
int cli_cmd_tenant_backup(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_backups(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_restore(cli_ctx *ctx, const cli_args *args);
int cli_cmd_tenant_metrics(cli_ctx *ctx, const cli_args *args);
int cli_cmd_infra_status(cli_ctx *ctx, const cli_args *args);
int cli_cmd_infra_costs(cli_ctx *ctx, const cli_args *args);
int cli_cmd_release_create(cli_ctx *ctx, const cli_args *args);
int cli_cmd_release_list(cli_ctx *ctx, const cli_args *args);
/* cmd_fleet.c */
int cli_cmd_fleet_update(cli_ctx *ctx, const cli_args *args);
int cli_cmd_infra_capacity(cli_ctx *ctx, const cli_args *args);
int cli_cmd_infra_incidents(cli_ctx *ctx, const cli_args *args);
int cli_cmd_infra_reconcile(cli_ctx *ctx, const cli_args *args);
/* cmd_state.c: the store itself (export, import, rebuild) */
extern const cli_cmd cli_state_cmds[];
int cli_cmd_state_export(cli_ctx *ctx, const cli_args *args);
int cli_cmd_state_import(cli_ctx *ctx, const cli_args *args);
int cli_cmd_state_rebuild(cli_ctx *ctx, const cli_args *args);

#endif /* EDV_CLI_H */
