/*
 * filter.c - Compute list filters (the `filter` parameter of every Compute
 * list and aggregatedList), as compute.v1's description of it says:
 *
 * - regular expressions: `FIELD eq LITERAL` / `FIELD ne LITERAL`, one
 *   un-parenthesized term (the literal is the rest of the filter, unquoted,
 *   'single' or "double" quoted) or several parenthesized ones, ANDed
 *   (`(name eq edv-.*) (zone ne .*-b)`). The literal is an RE2 expression
 *   that must match the whole field; numbers and booleans compare as their
 *   JSON text ("10", "true"). RE2 syntax POSIX ERE lacks is translated:
 *   \d \w \s (and their negations), (?i) at the start, (?: and (?P<name>
 *   groups, non-greedy repeats (the same full match), escapes inside
 *   brackets. What cannot be translated (\b, \pL, \Q) is refused;
 * - AIP-160: `FIELD OP VALUE` with `=`, `!=`, `<`, `>`, `<=`, `>=` or `:`
 *   (`:*` is presence), VALUE a bare word or a quoted string (`*` in it a
 *   wildcard), numbers compared as numbers, terms bare or parenthesized,
 *   joined by spaces or AND, OR binding tighter (AIP-160);
 * - the two syntaxes cannot be mixed, and a filter that does not parse
 *   (or a regular expression that does not compile) is Compute's 400
 *   "Invalid list filter expression", checked by the core before the list
 *   handler runs (sim__filter_check).
 *
 * Nested fields are dotted paths (`labels.edv-tenant`,
 * `scheduling.automaticRestart`); a repeated field matches when one
 * element does.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/listfilter.h"
#include "sim/sim_int.h"

#define F_MAX_TERMS 32
#define F_MAX_TEXT  1024

typedef struct fterm {
  char *field, *value;
  char op[3];  /* "eq", "ne", "=", "!=", "<", ">", "<=", ">=", ":" */
  int or_prev; /* joined to the previous term by OR */
} fterm;

typedef struct fexpr {
  char text[F_MAX_TEXT];
  fterm t[F_MAX_TERMS];
  int n;
  int legacy; /* eq/ne terms */
} fexpr;

static int is_legacy_op(const char *op)
{
  return strcmp(op, "eq") == 0 || strcmp(op, "ne") == 0;
}

static char *skip_space(char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n')
    p++;
  return p;
}

/* A quoted string at *pp (its quote char first); the quotes are dropped,
 * a backslash keeps the next character (for the quote itself). */
static char *take_quoted(char **pp)
{
  char q = **pp, *start = *pp + 1, *r = start, *w = start;

  for (; *r && *r != q; r++) {
    if (*r == '\\' && r[1] == q)
      r++;
    *w++ = *r;
  }
  if (*r != q)
    return NULL;
  *pp = r + 1;
  *w = '\0';
  return start;
}

/* The operator at *pp (consumed), or NULL. */
static const char *take_op(char **pp)
{
  static const char *const ops[] = {"!=", "<=", ">=", "=", "<", ">", ":"};
  char *p = *pp;

  if ((strncmp(p, "eq", 2) == 0 || strncmp(p, "ne", 2) == 0) &&
      (p[2] == ' ' || p[2] == '\t')) {
    *pp = p + 2;
    return p[0] == 'e' ? "eq" : "ne";
  }
  for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
    if (strncmp(p, ops[i], strlen(ops[i])) == 0) {
      *pp = p + strlen(ops[i]);
      return ops[i];
    }
  return NULL;
}

static void trim_end(char *s)
{
  size_t n = strlen(s);

  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
    s[--n] = '\0';
}

/* One term at *pp; `paren` when inside ( ), whose ')' ends it. */
static int parse_term(fexpr *e, char **pp, int paren, fterm *t)
{
  char *p = skip_space(*pp), *field = p;
  const char *op;

  while (*p && !strchr(" \t=!<>:()\"'", *p))
    p++;
  if (p == field)
    return -1;
  t->field = field;
  {
    char *after = skip_space(p);

    op = take_op(&after); /* before the field's end is cut */
    *p = '\0';
    p = after;
  }
  if (op == NULL)
    return -1;
  snprintf(t->op, sizeof(t->op), "%s", op);
  p = skip_space(p);
  if (*p == '"' || *p == '\'') {
    t->value = take_quoted(&p);
    if (t->value == NULL)
      return -1;
  } else if (is_legacy_op(op)) {
    /* Unquoted: the rest of the expression (of the parentheses). */
    char *end = p + strlen(p);

    if (paren) { /* the ')' that closes ours, past the expression's own */
      int depth = 0;

      for (end = p; *end && (*end != ')' || depth > 0); end++)
        depth += *end == '(' ? 1 : *end == ')' ? -1 : 0;
      if (*end != ')')
        return -1;
    }
    t->value = p;
    p = end;
    if (*p == ')') {
      *p = '\0';
      p++;
      paren = 0;
    }
    trim_end(t->value);
  } else {
    t->value = p;
    while (*p && !strchr(" \t()", *p))
      p++;
    if (*p == ')' && paren) {
      *p++ = '\0';
      paren = 0;
    } else if (*p) {
      *p++ = '\0';
    }
  }
  if (*t->value == '\0' && !is_legacy_op(op))
    return -1;
  if (paren) {
    p = skip_space(p);
    if (*p != ')')
      return -1;
    p++;
  }
  (void)e;
  *pp = p;
  return 0;
}

static int starts_word(const char *p, const char *w)
{
  size_t n = strlen(w);

  return strncmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '(');
}

/* 0, or -1 when the filter is not one Compute takes. */
static int parse(fexpr *e, const char *filter)
{
  char *p = e->text;
  int or_next = 0, aip = 0;

  memset(e, 0, sizeof(*e));
  if (strlen(filter) >= sizeof(e->text))
    return -1;
  snprintf(e->text, sizeof(e->text), "%s", filter);
  for (;;) {
    int paren;
    fterm *t;

    p = skip_space(p);
    if (*p == '\0')
      break;
    if (starts_word(p, "AND")) {
      if (e->n == 0 || or_next)
        return -1;
      p += 3;
      continue;
    }
    if (starts_word(p, "OR")) {
      if (e->n == 0 || or_next)
        return -1;
      or_next = 1;
      p += 2;
      continue;
    }
    if (e->n == F_MAX_TERMS)
      return -1;
    t = &e->t[e->n];
    paren = *p == '(';
    if (paren)
      p++;
    if (parse_term(e, &p, paren, t) < 0)
      return -1;
    t->or_prev = or_next;
    or_next = 0;
    if (is_legacy_op(t->op)) {
      /* One bare term, or parenthesized ones: "name eq a b" is one. */
      if (!paren && e->n > 0)
        return -1;
      e->legacy = 1;
    } else {
      aip = 1;
    }
    e->n++;
    if (e->legacy && !paren && *skip_space(p))
      return -1;
  }
  if (or_next || (e->legacy && aip))
    return -1;
  for (int i = 0; e->legacy && i < e->n; i++)
    if (e->t[i].or_prev)
      return -1;
  return 0;
}

/* --- RE2 -> POSIX ERE ---------------------------------------------------- */

static int put(char *out, size_t n, size_t *o, const char *s)
{
  size_t k = strlen(s);

  if (*o + k >= n)
    return -1;
  memcpy(out + *o, s, k);
  *o += k;
  out[*o] = '\0';
  return 0;
}

/* A bracket expression starting at in ('['): translated into out. */
static int bracket(const char **inp, char *out, size_t n, size_t *o)
{
  const char *in = *inp + 1;
  char body[256] = "";
  size_t b = 0;
  int neg = 0, dash = 0, rbr = 0;

  if (*in == '^') {
    neg = 1;
    in++;
  }
  if (*in == ']') {
    rbr = 1;
    in++;
  }
  for (; *in && *in != ']'; in++) {
    const char *add = NULL;
    char one[2] = {0, 0};

    if (*in == '\\') {
      in++;
      switch (*in) {
      case 'd':
        add = "0-9";
        break;
      case 'w':
        add = "0-9A-Za-z_";
        break;
      case 's':
        add = "[:space:]";
        break;
      case '-':
        dash = 1;
        continue;
      case ']':
        rbr = 1;
        continue;
      case '\0':
        return -1;
      default:
        if (isalnum((unsigned char)*in))
          return -1; /* \D, \pL, ... inside brackets */
        one[0] = *in;
        add = one;
      }
    } else if (*in == '[' && in[1] == ':') {
      const char *end = strstr(in, ":]");

      if (end == NULL || end - in > 12)
        return -1;
      if (b + (size_t)(end + 2 - in) >= sizeof(body))
        return -1;
      memcpy(body + b, in, (size_t)(end + 2 - in));
      b += (size_t)(end + 2 - in);
      body[b] = '\0';
      in = end + 1;
      continue;
    } else {
      one[0] = *in;
      add = one;
    }
    if (b + strlen(add) >= sizeof(body))
      return -1;
    memcpy(body + b, add, strlen(add) + 1);
    b += strlen(add);
  }
  if (*in != ']')
    return -1;
  *inp = in; /* at ']' */
  if (put(out, n, o, neg ? "[^" : "[") < 0 || (rbr && put(out, n, o, "]")) ||
      put(out, n, o, body) < 0 || (dash && put(out, n, o, "-")) ||
      put(out, n, o, "]") < 0)
    return -1;
  return 0;
}

/* 0 and the ERE, or -1 when the expression uses RE2 syntax we cannot
 * express. *icase is set by a leading (?i). */
static int re2_to_ere(const char *in, char *out, size_t n, int *icase)
{
  size_t o = 0;

  *icase = 0;
  out[0] = '\0';
  if (strncmp(in, "(?i)", 4) == 0) {
    *icase = 1;
    in += 4;
  }
  for (; *in; in++) {
    const char *add = NULL;
    char one[3] = {0, 0, 0};

    if (*in == '[') {
      if (bracket(&in, out, n, &o) < 0)
        return -1;
      continue;
    }
    if (*in == '(' && in[1] == '?') {
      if (in[2] == ':') {
        in += 2;
      } else if (in[2] == 'P' && in[3] == '<') {
        const char *end = strchr(in, '>');

        if (end == NULL)
          return -1;
        in = end;
      } else {
        return -1; /* flags mid-expression, look-arounds */
      }
      add = "(";
    } else if ((*in == '*' || *in == '+' || *in == '?' || *in == '}') &&
               in[1] == '?') {
      /* Non-greedy: a full match does not care. */
      one[0] = *in;
      add = one;
      in++;
    } else if (*in == '\\') {
      in++;
      switch (*in) {
      case 'd':
        add = "[0-9]";
        break;
      case 'D':
        add = "[^0-9]";
        break;
      case 'w':
        add = "[0-9A-Za-z_]";
        break;
      case 'W':
        add = "[^0-9A-Za-z_]";
        break;
      case 's':
        add = "[[:space:]]";
        break;
      case 'S':
        add = "[^[:space:]]";
        break;
      case '\0':
        return -1;
      default:
        if (isalnum((unsigned char)*in))
          return -1; /* \b, \pL, \Q, \A, \z, ... */
        one[0] = '\\';
        one[1] = *in;
        add = one;
      }
    } else {
      one[0] = *in;
      add = one;
    }
    if (put(out, n, &o, add) < 0)
      return -1;
  }
  return 0;
}

/*
 * Compiled patterns, reused: a list call matches one pattern against
 * every entry under its prefix, and compiling per entry would dominate
 * drift-detection lists. The simulator is single-threaded, so a small
 * static round-robin cache is enough.
 */
#define FILTER_CACHE 8

static regex_t *filter_regex(const char *value)
{
  static struct {
    char pat[600];
    regex_t re;
    int used;
  } cache[FILTER_CACHE];
  static unsigned next;
  char ere[560], anchored[600];
  unsigned slot;
  int icase;

  if (re2_to_ere(value, ere, sizeof(ere), &icase) < 0)
    return NULL;
  snprintf(anchored, sizeof(anchored), "%c^(%s)$", icase ? 'i' : 'c', ere);
  for (unsigned i = 0; i < FILTER_CACHE; i++)
    if (cache[i].used && strcmp(cache[i].pat, anchored) == 0)
      return &cache[i].re;
  slot = next++ % FILTER_CACHE;
  if (cache[slot].used)
    regfree(&cache[slot].re);
  cache[slot].used = 0;
  if (regcomp(&cache[slot].re, anchored + 1,
              REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0)) != 0)
    return NULL;
  memcpy(cache[slot].pat, anchored, sizeof(anchored));
  cache[slot].used = 1;
  return &cache[slot].re;
}

/* --- evaluation ---------------------------------------------------------- */

static int number(const char *s, double *out)
{
  char *end = NULL;

  if (s == NULL || *s == '\0')
    return 0;
  *out = strtod(s, &end);
  return *end == '\0';
}

/* One scalar against an AIP-160 restriction. */
static int aip_scalar(json_object *v, const char *op, const char *want)
{
  const char *have = json_object_get_string(v);
  double a, b;
  int c;

  if (strcmp(op, "=") == 0 || strcmp(op, ":") == 0 || strcmp(op, "!=") == 0)
    return sim_lf_eq(v, want); /* `*` a wildcard */
  if (json_object_is_type(v, json_type_object) ||
      json_object_is_type(v, json_type_array))
    return 0;
  if (number(have, &a) && number(want, &b))
    c = a < b ? -1 : a > b;
  else
    c = strcmp(have, want);
  if (strcmp(op, "<") == 0)
    return c < 0;
  if (strcmp(op, ">") == 0)
    return c > 0;
  if (strcmp(op, "<=") == 0)
    return c <= 0;
  return c >= 0;
}

static int term_hit(json_object *obj, const fterm *t)
{
  json_object *v = sim_lf_field(obj, t->field);
  int neg = strcmp(t->op, "ne") == 0 || strcmp(t->op, "!=") == 0, hit = 0;

  if (strcmp(t->op, ":") == 0 && strcmp(t->value, "*") == 0)
    return v != NULL;
  if (v && is_legacy_op(t->op)) {
    regex_t *re = filter_regex(t->value);

    hit = re && !json_object_is_type(v, json_type_object) &&
          !json_object_is_type(v, json_type_array) &&
          regexec(re, json_object_get_string(v), 0, NULL, 0) == 0;
  } else if (v && json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; !hit && i < json_object_array_length(v); i++)
      hit = aip_scalar(json_object_array_get_idx(v, i), neg ? "=" : t->op,
                       t->value);
  } else if (v && json_object_is_type(v, json_type_object) &&
             strcmp(t->op, ":") == 0) {
    hit = json_object_object_get_ex(v, t->value, NULL);
  } else if (v) {
    hit = aip_scalar(v, neg ? "=" : t->op, t->value);
  }
  return neg ? !hit : hit;
}

int sim__filter_check(const char *filter)
{
  fexpr e;

  if (filter == NULL || *filter == '\0')
    return 0;
  if (parse(&e, filter) < 0)
    return -1;
  for (int i = 0; i < e.n; i++)
    if (is_legacy_op(e.t[i].op) && filter_regex(e.t[i].value) == NULL)
      return -1;
  return 0;
}

int sim_filter_match(json_object *obj, const char *filter)
{
  fexpr e;
  int clause = 1; /* the current OR group */

  if (filter == NULL || *filter == '\0')
    return 1;
  if (parse(&e, filter) < 0)
    return 0;
  for (int i = 0; i < e.n; i++) {
    int hit = term_hit(obj, &e.t[i]);

    if (e.t[i].or_prev) {
      clause = clause || hit;
      continue;
    }
    if (i > 0 && !clause)
      return 0;
    clause = hit;
  }
  return clause;
}
