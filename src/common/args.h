/*
 * args.h - the one command-line parser of edvctl, edvd and edv-gcpsim.
 *
 * The syntax is gcloud's and kubectl's: "--name=value" and "--name value"
 * both work, short switches combine ("-qv"), a short flag's value may be
 * glued ("-dJSON"), "--" ends the flags. Every problem is one message
 * naming the flag ("unknown flag '--lisen'; did you mean '--listen'?"),
 * which the program prints its own way (prefixed with its name and
 * followed by "Run 'PROG --help' for usage.", exit code 2).
 */
#ifndef EDV_COMMON_ARGS_H
#define EDV_COMMON_ARGS_H

#include <stddef.h>
#include <stdio.h>

typedef struct edv__opt {
  const char *name; /* long name without dashes: "data" */
  char short_name;  /* 'q', or 0 */
  const char *arg;  /* metavar ("JSON|@FILE"), or NULL for a switch */
  const char *help; /* one line */
} edv__opt;

#define EDV_ARGS_TABLES 2

typedef struct edv__args edv__args;

struct edv__args {
  /* Where flags are looked up, in order (NULL-name-ended tables; a NULL
   * table is skipped). The word callback may change them (edvctl adds the
   * command's own flags once it knows the command). */
  const edv__opt *tables[EDV_ARGS_TABLES];
  /* A flag of tables[t] at index i, with its value (NULL for a switch).
   * Returns 0, or non-zero to stop (returned by edv__args_parse). */
  int (*flag)(edv__args *p, unsigned t, int i, const char *value);
  /* A word that is not a flag (everything after "--" too). NULL: a
   * program that takes none ("unexpected argument 'X'"). */
  int (*word)(edv__args *p, const char *word);
  /* A problem: `msg` names it. Returns what edv__args_parse returns
   * (non-zero). */
  int (*error)(edv__args *p, const char *msg);
  /* NULL error: edv__args_usage(stderr, prog, msg). */
  const char *prog;
  void *data;
  /* For the callbacks: the index of the word or flag being parsed. */
  int i;
};

/* Reports a problem through p->error (or the default): its result. For
 * the callbacks too (a flag's bad value). */
int edv__args_fail(edv__args *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Walks argv[1..argc-1]. 0, or the first non-zero a callback returned. */
int edv__args_parse(edv__args *p, int argc, char **argv);

/* The index of flag `name` (len bytes; a short name when is_short) in a
 * NULL-name-ended table, or -1. */
int edv__opt_find(const edv__opt *opts, const char *name, size_t len,
                  int is_short);

/*
 * Keeps in *best the candidate nearest to the mistyped word (len bytes): a
 * word it starts, or one within a third of its length in edits (at least
 * one; a swap of neighbours is one edit); the first of equals wins. Start
 * with *best NULL and *best_d SIZE_MAX.
 */
void edv__args_near(const char *word, size_t len, const char *cand,
                    const char **best, size_t *best_d);

/* Prints "PROG: MSG" and "Run 'PROG --help' for usage." to f; returns 2,
 * the usage exit code of the three programs. */
int edv__args_usage(FILE *f, const char *prog, const char *msg);

#endif /* EDV_COMMON_ARGS_H */
