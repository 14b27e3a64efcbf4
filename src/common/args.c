/*
 * args.c - the command-line parser shared by the three programs (see
 * args.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/args.h"

int edv__opt_find(const edv__opt *opts, const char *name, size_t len,
                  int is_short)
{
  for (int i = 0; opts && opts[i].name; i++) {
    if (is_short ? opts[i].short_name && opts[i].short_name == name[0]
                 : strlen(opts[i].name) == len &&
                       strncmp(opts[i].name, name, len) == 0)
      return i;
  }
  return -1;
}

/* The optimal-string-alignment distance between a and b, or SIZE_MAX past
 * 63 bytes. */
static size_t distance(const char *a, size_t la, const char *b)
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

void edv__args_near(const char *word, size_t len, const char *cand,
                    const char **best, size_t *best_d)
{
  size_t d = distance(word, len, cand);
  size_t most = len / 3 ? len / 3 : 1;

  if (len >= 2 && strncmp(cand, word, len) == 0)
    d = 1; /* a prefix: as near as one typo */
  if (d <= most && d < *best_d) {
    *best = cand;
    *best_d = d;
  }
}

int edv__args_fail(edv__args *p, const char *fmt, ...)
{
  char msg[300];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (!p->error)
    return edv__args_usage(stderr, p->prog ? p->prog : "?", msg);
  return p->error(p, msg);
}

/* Looks `name` up in the tables: *t and the index, or -1. */
static int find(const edv__args *p, const char *name, size_t len, int is_short,
                unsigned *t)
{
  for (unsigned k = 0; k < EDV_ARGS_TABLES; k++) {
    int i = edv__opt_find(p->tables[k], name, len, is_short);
    if (i >= 0) {
      *t = k;
      return i;
    }
  }
  return -1;
}

static int unknown(edv__args *p, const char *flag, const char *name, size_t len,
                   int is_short)
{
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  char hint[96] = "";

  for (unsigned k = 0; !is_short && k < EDV_ARGS_TABLES; k++)
    for (int i = 0; p->tables[k] && p->tables[k][i].name; i++)
      edv__args_near(name, len, p->tables[k][i].name, &best, &best_d);
  if (best)
    snprintf(hint, sizeof(hint), "; did you mean '--%s'?", best);
  return edv__args_fail(p, "unknown flag '%s'%s", flag, hint);
}

/* One flag with its value (NULL: none given with it; taken from the next
 * word when the flag needs one). */
static int set(edv__args *p, int argc, char **argv, const char *flag,
               unsigned t, int i, const char *value)
{
  const edv__opt *o = &p->tables[t][i];

  if (!o->arg && value)
    return edv__args_fail(p, "flag %s takes no value", flag);
  if (o->arg && !value) {
    if (p->i + 1 >= argc)
      return edv__args_fail(p, "flag %s needs a value (%s)", flag, o->arg);
    value = argv[++p->i];
  }
  if (o->arg && !*value)
    return edv__args_fail(p, "flag %s needs a non-empty value (%s)", flag,
                          o->arg);
  return p->flag(p, t, i, value);
}

static int long_flag(edv__args *p, int argc, char **argv, const char *arg)
{
  const char *name = arg + 2, *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  char flag[72];
  unsigned t = 0;
  int i;

  snprintf(flag, sizeof(flag), "--%.*s", (int)(len < 64 ? len : 64), name);
  i = find(p, name, len, 0, &t);
  if (i < 0)
    return unknown(p, flag, name, len, 0);
  return set(p, argc, argv, flag, t, i, eq ? eq + 1 : NULL);
}

/* "-q", "-vv", "-d JSON", "-dJSON". */
static int short_flags(edv__args *p, int argc, char **argv, const char *arg)
{
  char flag[3] = {'-', 0, 0};
  int result;

  for (const char *c = arg + 1; *c; c++) {
    unsigned t = 0;
    int i = find(p, c, 1, 1, &t);

    flag[1] = *c;
    if (i < 0)
      return unknown(p, flag, c, 1, 1);
    if (p->tables[t][i].arg)
      /* Takes a value: the rest of the word, or the next word. */
      return set(p, argc, argv, flag, t, i, c[1] ? c + 1 : NULL);
    if ((result = set(p, argc, argv, flag, t, i, NULL)) != 0)
      return result;
  }
  return 0;
}

int edv__args_parse(edv__args *p, int argc, char **argv)
{
  int only_words = 0, result = 0;

  for (p->i = 1; p->i < argc && result == 0; p->i++) {
    const char *a = argv[p->i];

    if (!only_words && strcmp(a, "--") == 0)
      only_words = 1;
    else if (!only_words && a[0] == '-' && a[1] == '-')
      result = long_flag(p, argc, argv, a);
    else if (!only_words && a[0] == '-' && a[1])
      result = short_flags(p, argc, argv, a);
    else
      result = p->word ? p->word(p, a)
                       : edv__args_fail(p, "unexpected argument '%.200s'", a);
  }
  return result;
}

int edv__args_usage(FILE *f, const char *prog, const char *msg)
{
  fprintf(f, "%s: %s\nRun '%s --help' for usage.\n", prog, msg, prog);
  return 2;
}
