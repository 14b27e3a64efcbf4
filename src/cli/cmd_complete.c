/*
 * cmd_complete.c - `edvctl completion bash|zsh|fish` and the hidden
 * `edvctl __complete WORD...` the completion scripts call.
 *
 * The scripts are thin: they hand the words typed so far to
 * `edvctl __complete`, which walks the same command table the parser uses
 * (commands.c) and prints one candidate a line: subcommands, flags, and the
 * values a position takes (tenant ids from the state, tiers from tiers.json,
 * regions the state's tenants use and the configured one, phases, and a
 * flag's listed choices such as table|json). A first line "@files" asks the
 * shell for file names instead. Nothing is created or written: a missing
 * state directory or store simply offers no ids.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "edv/fleet.h"

/* What the words before the current one reached. */
typedef struct walk {
  cli_ctx *ctx;
  const cli_cmd *cmd;   /* deepest command matched; NULL: the top level */
  int npos;             /* positionals given to a leaf so far */
  const cli_opt *value; /* a flag whose value is the current word */
  int lost;             /* an unknown word: offer nothing */
} walk;

/* A global flag typed before the cursor (--state-dir, --config, --sim)
 * counts for the candidates, as it will for the command. */
static void walk_global(walk *w, const cli_opt *o, const char *value)
{
  for (int i = 0; cli_global_opts[i].name; i++) {
    if (&cli_global_opts[i] == o)
      (void)cli_apply_global(w->ctx, o->name, value);
  }
}

static const cli_opt *opt_find(const cli_opt *opts, const char *name,
                               size_t len, char short_name)
{
  for (int i = 0; opts && opts[i].name; i++) {
    if (short_name ? opts[i].short_name == short_name
                   : strlen(opts[i].name) == len &&
                         strncmp(opts[i].name, name, len) == 0)
      return &opts[i];
  }
  return NULL;
}

/* The flags a word may name at this point: global ones and the leaf's. */
static const cli_opt *walk_opt(const walk *w, const char *name, size_t len,
                               char short_name)
{
  const cli_opt *o = opt_find(cli_global_opts, name, len, short_name);

  if (!o && w->cmd && !w->cmd->subs)
    o = opt_find(w->cmd->opts, name, len, short_name);
  return o;
}

static void walk_flag(walk *w, const char *word)
{
  const cli_opt *o;

  if (word[1] == '-') {
    const char *eq = strchr(word + 2, '=');
    size_t len = eq ? (size_t)(eq - word - 2) : strlen(word + 2);

    o = walk_opt(w, word + 2, len, 0);
    if (!o)
      w->lost = 1;
    else if (o->arg && !eq)
      w->value = o;
    else
      walk_global(w, o, eq ? eq + 1 : NULL);
    return;
  }
  for (const char *p = word + 1; *p; p++) {
    o = walk_opt(w, NULL, 0, *p);
    if (!o) {
      w->lost = 1;
      return;
    }
    if (o->arg) {
      if (!p[1])
        w->value = o; /* -d VALUE: the value is the next word */
      else
        walk_global(w, o, p + 1);
      return;
    }
    walk_global(w, o, NULL);
  }
}

static void walk_word(walk *w, const char *word)
{
  const cli_cmd *c;

  if (w->value) {
    walk_global(w, w->value, word);
    w->value = NULL;
    return;
  }
  if (word[0] == '-' && word[1]) {
    walk_flag(w, word);
    return;
  }
  if (w->cmd && !w->cmd->subs) {
    w->npos++;
    return;
  }
  for (c = w->cmd ? w->cmd->subs : cli_commands; c->name; c++) {
    if (strcmp(c->name, word) == 0) {
      w->cmd = c;
      return;
    }
  }
  w->lost = 1;
}

/* Prints prefix+word when it starts with what is typed. */
static void offer(cli_ctx *ctx, const char *cur, const char *prefix,
                  const char *word)
{
  char full[256];

  snprintf(full, sizeof(full), "%s%s", prefix, word);
  if (strncmp(full, cur, strlen(cur)) == 0)
    fprintf(ctx->out, "%s\n", full);
}

static void offer_flags(cli_ctx *ctx, const walk *w, const char *cur)
{
  const cli_opt *tables[] = {cli_global_opts,
                             w->cmd && !w->cmd->subs ? w->cmd->opts : NULL};

  for (size_t t = 0; t < 2; t++) {
    for (int i = 0; tables[t] && tables[t][i].name; i++)
      offer(ctx, cur, "--", tables[t][i].name);
  }
}

/* ---- the scripts ------------------------------------------------------- */

static const char bash_script[] =
    "# bash completion for edvctl (edvctl completion bash)\n"
    "_edvctl() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} out\n"
    "  out=$(\"${COMP_WORDS[0]}\" __complete "
    "\"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null)\n"
    "  if [ \"${out%%$'\\n'*}\" = @files ]; then\n"
    "    mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
    "  elif [ -n \"$out\" ]; then\n"
    "    mapfile -t COMPREPLY <<<\"$out\"\n"
    "  else\n"
    "    COMPREPLY=()\n"
    "  fi\n"
    "}\n"
    "complete -o default -F _edvctl edvctl\n";

static const char zsh_script[] =
    "#compdef edvctl\n"
    "# zsh completion for edvctl (edvctl completion zsh)\n"
    "_edvctl() {\n"
    "  local -a out\n"
    "  out=(${(f)\"$(${words[1]} __complete ${words[2,CURRENT]} "
    "2>/dev/null)\"})\n"
    "  if [[ ${out[1]} == @files ]]; then\n"
    "    _files\n"
    "  else\n"
    "    compadd -- $out\n"
    "  fi\n"
    "}\n"
    "if [[ $funcstack[1] == _edvctl ]]; then\n"
    "  _edvctl \"$@\"\n"
    "else\n"
    "  compdef _edvctl edvctl\n"
    "fi\n";

static const char fish_script[] =
    "# fish completion for edvctl (edvctl completion fish)\n"
    "function __edvctl_complete\n"
    "    set -l words (commandline -opc) (commandline -ct)\n"
    "    set -l out ($words[1] __complete $words[2..-1] 2>/dev/null)\n"
    "    if test \"$out[1]\" = @files\n"
    "        __fish_complete_path (commandline -ct)\n"
    "    else\n"
    "        printf '%s\\n' $out\n"
    "    end\n"
    "end\n"
    "complete -c edvctl -f -a '(__edvctl_complete)'\n";

static const struct {
  const char *name;
  const char *script;
} shells[] = {
    {"bash", bash_script},
    {"zsh", zsh_script},
    {"fish", fish_script},
};

/* ---- values ------------------------------------------------------------ */

/* Tenant ids from the state store, if there is one (edv_state_tenants);
 * or the regions its tenants use, after the configured region. */
static void offer_tenants(cli_ctx *ctx, const char *cur, int regions)
{
  json_object *arr = NULL, *seen;
  edv_error err;

  if (cli_config(ctx))
    return;
  seen = json_object_new_object();
  if (regions && edv_config_get(ctx->cfg, "region")) {
    const char *r = edv_config_get(ctx->cfg, "region"); /* first */
    json_object_object_add(seen, r, NULL);
    offer(ctx, cur, "", r);
  }
  if (edv_state_tenants(cli_state_dir(ctx), &arr, &err) == 0) {
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
      json_object *t = json_object_array_get_idx(arr, i);
      const char *v = edv__jstr(t, regions ? "region" : "id");

      if (!v || json_object_object_get_ex(seen, v, NULL))
        continue;
      if (regions)
        json_object_object_add(seen, v, NULL);
      offer(ctx, cur, "", v);
    }
  }
  json_object_put(arr);
  json_object_put(seen);
}

static void offer_tiers(cli_ctx *ctx, const char *cur)
{
  json_object *t = cli_tenant_tiers(ctx);
  json_object *list = json_object_object_get(t, "tiers");

  for (size_t i = 0; json_object_is_type(list, json_type_array) &&
                     i < json_object_array_length(list);
       i++)
    offer(ctx, cur, "", edv__jstr(json_object_array_get_idx(list, i), "name"));
  json_object_put(t);
}

/* A metavar of choices ("table|json|yaml|value(F,...)") lists those of
 * its values that are plain lowercase words. */
static int offer_choices(cli_ctx *ctx, const char *cur, const char *metavar)
{
  char buf[128], *save = NULL;
  int offered = 0;

  if (!strchr(metavar, '|'))
    return 0;
  snprintf(buf, sizeof(buf), "%s", metavar);
  for (char *v = strtok_r(buf, "|", &save); v; v = strtok_r(NULL, "|", &save)) {
    const char *p = v;
    while ((*p >= 'a' && *p <= 'z') || *p == '-')
      p++;
    if (*p || p == v)
      continue; /* a pattern such as value(F,...), not a word */
    offer(ctx, cur, "", v);
    offered = 1;
  }
  return offered;
}

/* Values for a positional argument or a flag, by its name or metavar. */
static void offer_values(cli_ctx *ctx, const char *cur, const char *kind,
                         int positional)
{
  if (offer_choices(ctx, cur, kind))
    return;
  if (strstr(kind, "FILE") || strstr(kind, "DIR")) {
    fprintf(ctx->out, "@files\n");
  } else if (strcmp(kind, "ID") == 0 && positional) {
    offer_tenants(ctx, cur, 0);
  } else if (strcmp(kind, "TIER") == 0) {
    offer_tiers(ctx, cur);
  } else if (strcmp(kind, "REGION") == 0) {
    offer_tenants(ctx, cur, 1);
  } else if (strcmp(kind, "SHELL") == 0) {
    for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
      offer(ctx, cur, "", shells[i].name);
  } else if (strcmp(kind, "PHASE") == 0) {
    for (unsigned p = 0; edv_phase_name(p); p++)
      offer(ctx, cur, "", edv_phase_name(p));
  }
}

int cli_complete(cli_ctx *ctx, int argc, char **argv)
{
  walk w;
  const char *cur;
  const cli_cmd *c;

  memset(&w, 0, sizeof(w));
  w.ctx = ctx;
  if (argc == 0)
    return CLI_EXIT_OK;
  for (int i = 0; i + 1 < argc && !w.lost; i++)
    walk_word(&w, argv[i]);
  if (w.lost)
    return CLI_EXIT_OK;
  cur = argv[argc - 1];
  if (w.value) {
    offer_values(ctx, cur, w.value->arg, 0);
  } else if (cur[0] == '-') {
    offer_flags(ctx, &w, cur);
  } else if (!w.cmd || w.cmd->subs) {
    for (c = w.cmd ? w.cmd->subs : cli_commands; c->name; c++) {
      if (c->summary) /* hidden commands have none */
        offer(ctx, cur, "", c->name);
    }
  } else if (w.cmd->arg_names &&
             (w.cmd->max_args < 0 || w.npos < w.cmd->max_args)) {
    offer_values(ctx, cur, w.cmd->arg_names[w.npos], 1);
  }
  return CLI_EXIT_OK;
}

int cli_cmd_completion(cli_ctx *ctx, const cli_args *args)
{
  for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
    if (strcmp(shells[i].name, args->argv[0]) == 0) {
      fputs(shells[i].script, ctx->out);
      return CLI_EXIT_OK;
    }
  }
  return cli_usage_error(ctx, "SHELL '%s' is not one of: bash, zsh, fish",
                         args->argv[0]);
}
