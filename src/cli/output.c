/*
 * output.c - YAML and value() output, --filter and --sort-by over a
 * command's JSON document (see output.h).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/output.h"

/* ---- items and fields ---------------------------------------------------*/

json_object *cli_out_items(json_object *doc)
{
  json_object *found = NULL;

  if (json_object_is_type(doc, json_type_array))
    return doc;
  if (!json_object_is_type(doc, json_type_object))
    return NULL;
  json_object_object_foreach(doc, k, v)
  {
    (void)k;
    if (json_object_is_type(v, json_type_array) &&
        (json_object_array_length(v) == 0 ||
         json_object_is_type(json_object_array_get_idx(v, 0),
                             json_type_object))) {
      if (found)
        return NULL; /* two lists: the document is one item */
      found = v;
    }
  }
  return found;
}

/* The values at a dotted path, into `out` (borrowed; an array on the way
 * is walked element by element). */
static void field_values(json_object *o, const char *path, json_object *out)
{
  const char *dot;
  char key[128];
  json_object *v;

  if (json_object_is_type(o, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(o); i++)
      field_values(json_object_array_get_idx(o, i), path, out);
    return;
  }
  if (!*path) {
    json_object_array_add(out, json_object_get(o));
    return;
  }
  if (!json_object_is_type(o, json_type_object))
    return;
  dot = strchr(path, '.');
  snprintf(key, sizeof(key), "%.*s",
           (int)(dot ? (size_t)(dot - path) : strlen(path)), path);
  if (!json_object_object_get_ex(o, key, &v))
    return;
  if (!v) {
    if (!dot)
      json_object_array_add(out, NULL);
    return;
  }
  field_values(v, dot ? dot + 1 : "", out);
}

/* One value at a path (the first), borrowed from `o`, or NULL. */
static json_object *field_one(json_object *o, const char *path)
{
  char key[128];
  const char *p = path;

  while (o && *p) {
    const char *dot = strchr(p, '.');
    snprintf(key, sizeof(key), "%.*s",
             (int)(dot ? (size_t)(dot - p) : strlen(p)), p);
    if (!json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &o))
      return NULL;
    p = dot ? dot + 1 : "";
  }
  return o;
}

/* ---- filters ------------------------------------------------------------*/

typedef enum {
  OP_EQ,
  OP_NE,
  OP_HAS,
  OP_RE,
  OP_NRE,
  OP_LT,
  OP_LE,
  OP_GT,
  OP_GE
} filter_op;

typedef struct term {
  int neg;
  char key[128];
  filter_op op;
  char value[256];
  regex_t re;
  int has_re;
  int or_next; /* ORed with the next term (one clause) */
} term;

struct cli_filter {
  term *t;
  size_t n;
};

static const struct {
  const char *s;
  filter_op op;
} ops[] = {
    {"!=", OP_NE}, {"!~", OP_NRE}, {"<=", OP_LE}, {">=", OP_GE}, {"=", OP_EQ},
    {":", OP_HAS}, {"~", OP_RE},   {"<", OP_LT},  {">", OP_GT},
};

static const char *skip_space(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* The keyword `kw` as a whole word at p: its end, or NULL. */
static const char *keyword(const char *p, const char *kw)
{
  size_t n = strlen(kw);

  if (strncmp(p, kw, n) == 0 && (p[n] == ' ' || p[n] == '\t' || !p[n]))
    return p + n;
  return NULL;
}

static int parse_term(const char *p, term *t, const char **end, char *why,
                      size_t size)
{
  const char *q;
  size_t n, k;

  memset(t, 0, sizeof(*t));
  if ((q = keyword(p, "NOT")) != NULL) {
    t->neg = 1;
    p = skip_space(q);
  } else if (*p == '-') {
    t->neg = 1;
    p++;
  }
  for (n = 0; p[n] && !strchr("=!:~<> \t()\"", p[n]); n++)
    ;
  if (n == 0 || n >= sizeof(t->key)) {
    snprintf(why, size, "--filter: a field name is expected at '%.40s'", p);
    return -1;
  }
  memcpy(t->key, p, n);
  p += n;
  for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
    if (strncmp(p, ops[k].s, strlen(ops[k].s)) == 0)
      break;
  if (k == sizeof(ops) / sizeof(ops[0])) {
    snprintf(why, size,
             "--filter: '%s' needs an operator (=, !=, :, ~, !~, <, <=, >, "
             ">=) and a value",
             t->key);
    return -1;
  }
  t->op = ops[k].op;
  p += strlen(ops[k].s);
  if (*p == '"') {
    size_t o = 0;
    for (p++; *p && *p != '"'; p++) {
      if (*p == '\\' && p[1])
        p++;
      if (o + 1 < sizeof(t->value))
        t->value[o++] = *p;
    }
    if (*p != '"') {
      snprintf(why, size, "--filter: the value of '%s' has no closing quote",
               t->key);
      return -1;
    }
    p++;
    t->value[o] = '\0';
  } else {
    for (n = 0; p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != ')'; n++)
      ;
    if (n == 0 || n >= sizeof(t->value)) {
      snprintf(why, size, "--filter: '%s' has no value", t->key);
      return -1;
    }
    memcpy(t->value, p, n);
    p += n;
  }
  if (t->op == OP_RE || t->op == OP_NRE) {
    if (regcomp(&t->re, t->value, REG_EXTENDED | REG_NOSUB) != 0) {
      snprintf(why, size, "--filter: '%s' is not a regular expression",
               t->value);
      return -1;
    }
    t->has_re = 1;
  }
  *end = p;
  return 0;
}

void cli_filter_free(cli_filter *f)
{
  if (!f)
    return;
  for (size_t i = 0; i < f->n; i++)
    if (f->t[i].has_re)
      regfree(&f->t[i].re);
  free(f->t);
  free(f);
}

int cli_filter_new(const char *expr, cli_filter **out, char *why, size_t size)
{
  cli_filter *f = calloc(1, sizeof(*f));
  const char *p = expr;
  size_t cap = 0;

  *out = NULL;
  if (!f) {
    snprintf(why, size, "out of memory");
    return -1;
  }
  for (;;) {
    const char *q;
    p = skip_space(p);
    if (!*p)
      break;
    if ((q = keyword(p, "AND")) != NULL) {
      p = q;
      continue;
    }
    if (*p == '(' || *p == ')') {
      snprintf(why, size,
               "--filter: parentheses are not supported (terms are ANDed; "
               "OR binds two terms)");
      cli_filter_free(f);
      return -1;
    }
    if (f->n == cap) {
      term *nt = realloc(f->t, (cap = cap ? 2 * cap : 4) * sizeof(*nt));
      if (!nt) {
        cli_filter_free(f);
        snprintf(why, size, "out of memory");
        return -1;
      }
      f->t = nt;
    }
    if (parse_term(p, &f->t[f->n], &p, why, size) != 0) {
      cli_filter_free(f);
      return -1;
    }
    f->n++;
    p = skip_space(p);
    if ((q = keyword(p, "OR")) != NULL) {
      f->t[f->n - 1].or_next = 1;
      p = q;
      if (!*skip_space(p)) {
        snprintf(why, size, "--filter: OR needs a term after it");
        cli_filter_free(f);
        return -1;
      }
    }
  }
  *out = f;
  return 0;
}

/* A scalar as text for comparisons ("" for null). */
static const char *scalar_text(json_object *v)
{
  if (!v)
    return "";
  if (json_object_is_type(v, json_type_object) ||
      json_object_is_type(v, json_type_array))
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
  return json_object_get_string(v);
}

static int number_of(const char *s, double *out)
{
  char *end;

  if (!*s)
    return -1;
  *out = strtod(s, &end);
  return *end ? -1 : 0;
}

/* One value against one term (without its negation). */
static int value_match(const term *t, json_object *v)
{
  const char *s = scalar_text(v);
  double a, b;
  int c;

  switch (t->op) {
  case OP_EQ:
  case OP_NE: {
    int eq = fnmatch(t->value, s, FNM_CASEFOLD) == 0;
    return t->op == OP_EQ ? eq : !eq;
  }
  case OP_HAS:
    if (strcmp(t->value, "*") == 0)
      return v != NULL;
    if (json_object_is_type(v, json_type_object))
      return json_object_object_get_ex(v, t->value, NULL);
    return strcasestr(s, t->value) != NULL;
  case OP_RE:
  case OP_NRE: {
    int hit = regexec(&t->re, s, 0, NULL, 0) == 0;
    return t->op == OP_RE ? hit : !hit;
  }
  default:
    if (number_of(s, &a) == 0 && number_of(t->value, &b) == 0)
      c = a < b ? -1 : a > b;
    else
      c = strcmp(s, t->value);
    return t->op == OP_LT   ? c < 0
           : t->op == OP_LE ? c <= 0
           : t->op == OP_GT ? c > 0
                            : c >= 0;
  }
}

static int term_match(const term *t, json_object *item)
{
  json_object *vals = json_object_new_array();
  size_t n;
  int hit = 0;

  field_values(item, t->key, vals);
  n = json_object_array_length(vals);
  /* An array value: any element (":" on an array asks for an element). */
  for (size_t i = 0; i < n && !hit; i++) {
    json_object *v = json_object_array_get_idx(vals, i);
    if (json_object_is_type(v, json_type_array)) {
      for (size_t k = 0; k < json_object_array_length(v) && !hit; k++)
        hit = value_match(t, json_object_array_get_idx(v, k));
    } else {
      hit = value_match(t, v);
    }
  }
  /* A missing field: only the negative operators and NOT pass. */
  if (n == 0)
    hit = t->op == OP_NE || t->op == OP_NRE;
  json_object_put(vals);
  return t->neg ? !hit : hit;
}

int cli_filter_match(const cli_filter *f, json_object *item)
{
  size_t i = 0;

  while (i < f->n) {
    int clause = 0;
    /* One clause: terms joined by OR. */
    do {
      clause |= term_match(&f->t[i], item);
    } while (f->t[i++].or_next && i < f->n);
    if (!clause)
      return 0;
  }
  return 1;
}

/* ---- sorting ------------------------------------------------------------*/

static const char *sort_keys; /* qsort has no data pointer */

static int compare_values(json_object *a, json_object *b)
{
  double x, y;

  if (!a || !b)
    return (a != NULL) - (b != NULL); /* null first */
  if (number_of(scalar_text(a), &x) == 0 && number_of(scalar_text(b), &y) == 0)
    return x < y ? -1 : x > y;
  return strcmp(scalar_text(a), scalar_text(b));
}

static int by_keys(const void *pa, const void *pb)
{
  json_object *a = *(json_object *const *)pa, *b = *(json_object *const *)pb;
  const char *p = sort_keys;

  while (*p) {
    size_t n = strcspn(p, ",");
    char key[128];
    int desc = *p == '~', c;

    snprintf(key, sizeof(key), "%.*s", (int)(n - (size_t)desc), p + desc);
    c = compare_values(field_one(a, key), field_one(b, key));
    if (c)
      return desc ? -c : c;
    p += n;
    if (*p == ',')
      p++;
  }
  return 0;
}

int cli_out_shape(json_object *doc, const char *filter, const char *sort_by,
                  char *why, size_t size)
{
  json_object *items = cli_out_items(doc);
  cli_filter *f = NULL;

  if (filter && cli_filter_new(filter, &f, why, size) != 0)
    return -1;
  if (sort_by && (!*sort_by || strspn(sort_by, ",~") == strlen(sort_by))) {
    cli_filter_free(f);
    snprintf(why, size,
             "--sort-by: field names are expected ('tier,~created')");
    return -1;
  }
  if (!items) {
    cli_filter_free(f);
    return 0;
  }
  if (f) {
    json_object *kept = json_object_new_array();
    size_t n = json_object_array_length(items);
    for (size_t i = 0; i < n; i++) {
      json_object *it = json_object_array_get_idx(items, i);
      if (cli_filter_match(f, it))
        json_object_array_add(kept, json_object_get(it));
    }
    /* Replaced in place: the document keeps the same array object. */
    json_object_array_del_idx(items, 0, n);
    for (size_t i = 0; i < json_object_array_length(kept); i++)
      json_object_array_add(
          items, json_object_get(json_object_array_get_idx(kept, i)));
    json_object_put(kept);
    cli_filter_free(f);
  }
  if (sort_by) {
    sort_keys = sort_by;
    json_object_array_sort(items, by_keys);
    sort_keys = NULL;
  }
  return 0;
}

/* ---- YAML ---------------------------------------------------------------*/

/* 1 when YAML would not read `s` back as this plain string. */
static int needs_quotes(const char *s)
{
  static const char *const words[] = {"true", "false", "yes",  "no",
                                      "on",   "off",   "null", "~"};
  double d;

  if (!*s || isspace((unsigned char)s[0]) ||
      isspace((unsigned char)s[strlen(s) - 1]) ||
      strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
    return 1;
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strcasecmp(s, words[i]) == 0)
      return 1;
  if (number_of(s, &d) == 0)
    return 1;
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20 || (*p == ':' && (p[1] == ' ' || !p[1])) ||
        (*p == '#' && p > s && p[-1] == ' '))
      return 1;
  return 0;
}

static void yaml_scalar(FILE *f, json_object *v)
{
  if (!v) {
    fputs("null", f);
  } else if (json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    if (needs_quotes(s))
      /* A JSON string is a valid YAML double-quoted scalar. */
      fputs(json_object_to_json_string_ext(
                v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
            f);
    else
      fputs(s, f);
  } else {
    fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), f);
  }
}

static int is_container(json_object *v, size_t *n)
{
  if (json_object_is_type(v, json_type_object)) {
    *n = (size_t)json_object_object_length(v);
    return 1;
  }
  if (json_object_is_type(v, json_type_array)) {
    *n = json_object_array_length(v);
    return 1;
  }
  return 0;
}

static void yaml_node(FILE *f, json_object *v, int indent, int inline_first);

/* "key: value" lines of an object; the first line already indented when
 * `inline_first` (after "- "). */
static void yaml_object(FILE *f, json_object *o, int indent, int inline_first)
{
  int first = 1;

  json_object_object_foreach(o, k, v)
  {
    size_t n;
    json_object *ks = json_object_new_string(k);

    if (!(first && inline_first))
      fprintf(f, "%*s", indent, "");
    first = 0;
    yaml_scalar(f, ks);
    json_object_put(ks);
    fputc(':', f);
    if (v && is_container(v, &n) && n > 0) {
      fputc('\n', f);
      yaml_node(f, v,
                json_object_is_type(v, json_type_array) ? indent : indent + 2,
                0);
    } else {
      fputc(' ', f);
      if (v && is_container(v, &n))
        fputs(json_object_is_type(v, json_type_array) ? "[]" : "{}", f);
      else
        yaml_scalar(f, v);
      fputc('\n', f);
    }
  }
}

static void yaml_node(FILE *f, json_object *v, int indent, int inline_first)
{
  size_t n;

  if (v && json_object_is_type(v, json_type_object) &&
      json_object_object_length(v) > 0) {
    yaml_object(f, v, indent, inline_first);
  } else if (v && json_object_is_type(v, json_type_array) &&
             json_object_array_length(v) > 0) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *e = json_object_array_get_idx(v, i);
      if (!(i == 0 && inline_first))
        fprintf(f, "%*s", indent, "");
      fputs("- ", f);
      if (e && is_container(e, &n) && n > 0)
        yaml_node(f, e, indent + 2, 1);
      else {
        if (e && is_container(e, &n))
          fputs(json_object_is_type(e, json_type_array) ? "[]" : "{}", f);
        else
          yaml_scalar(f, e);
        fputc('\n', f);
      }
    }
  } else {
    if (!inline_first)
      fprintf(f, "%*s", indent, "");
    if (v && is_container(v, &n))
      fputs(json_object_is_type(v, json_type_array) ? "[]" : "{}", f);
    else
      yaml_scalar(f, v);
    fputc('\n', f);
  }
}

void cli_out_yaml(FILE *f, json_object *doc)
{
  yaml_node(f, doc, 0, 0);
  fflush(f);
}

/* ---- value(...) ---------------------------------------------------------*/

int cli_out_value_check(const char *spec, char *why, size_t size)
{
  size_t n = strlen(spec);

  if (strncmp(spec, "value(", 6) != 0 || n < 8 || spec[n - 1] != ')' ||
      strstr(spec, ",,") || spec[6] == ',' || spec[n - 2] == ',') {
    snprintf(why, size,
             "--format '%s' is not one of: table, json, yaml, "
             "value(FIELD,...)",
             spec);
    return -1;
  }
  for (const char *p = spec + 6; p < spec + n - 1; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_.,-", *p)) {
      snprintf(why, size, "--format %s: '%c' cannot be in a field name", spec,
               *p);
      return -1;
    }
  return 0;
}

static void value_line(FILE *f, json_object *item, const char *fields)
{
  const char *p = fields;
  int first = 1;

  while (*p && *p != ')') {
    size_t n = strcspn(p, ",)");
    char key[128];
    json_object *vals = json_object_new_array();

    snprintf(key, sizeof(key), "%.*s", (int)n, p);
    field_values(item, key, vals);
    if (!first)
      fputc('\t', f);
    first = 0;
    for (size_t i = 0; i < json_object_array_length(vals); i++) {
      json_object *v = json_object_array_get_idx(vals, i);
      if (json_object_is_type(v, json_type_array)) {
        for (size_t k = 0; k < json_object_array_length(v); k++)
          fprintf(f, "%s%s", k ? ";" : "",
                  scalar_text(json_object_array_get_idx(v, k)));
      } else {
        fprintf(f, "%s%s", i ? ";" : "", scalar_text(v));
      }
    }
    json_object_put(vals);
    p += n;
    if (*p == ',')
      p++;
  }
  fputc('\n', f);
}

void cli_out_value(FILE *f, json_object *doc, const char *spec)
{
  json_object *items = cli_out_items(doc);
  const char *fields = spec + 6;

  if (!items) {
    value_line(f, doc, fields);
  } else {
    for (size_t i = 0; i < json_object_array_length(items); i++)
      value_line(f, json_object_array_get_idx(items, i), fields);
  }
  fflush(f);
}

/* ---- tables -------------------------------------------------------------*/

/* A cell's text into buf. */
static const char *cell(json_object *item, const char *field, char *buf,
                        size_t size)
{
  json_object *vals = json_object_new_array();
  size_t off = 0;

  buf[0] = '\0';
  field_values(item, field, vals);
  for (size_t i = 0; i < json_object_array_length(vals); i++) {
    json_object *v = json_object_array_get_idx(vals, i);
    size_t n = json_object_is_type(v, json_type_array)
                   ? json_object_array_length(v)
                   : 1;
    for (size_t k = 0; k < n && off + 1 < size; k++) {
      json_object *e = json_object_is_type(v, json_type_array)
                           ? json_object_array_get_idx(v, k)
                           : v;
      int w = snprintf(buf + off, size - off, "%s%s", off ? "," : "",
                       e ? scalar_text(e) : "-");
      off = w < 0 || (size_t)w >= size - off ? size - 1 : off + (size_t)w;
    }
  }
  json_object_put(vals);
  if (!buf[0])
    snprintf(buf, size, "-");
  return buf;
}

/* Display width of UTF-8 text (code points; wide glyphs are rare here). */
static size_t text_width(const char *s)
{
  size_t w = 0;

  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

void cli_out_table(FILE *f, json_object *doc, const cli_col *cols, size_t ncols)
{
  json_object *items = cli_out_items(doc);
  size_t n = items ? json_object_array_length(items) : 1;
  size_t width[32] = {0};
  char buf[512];

  if (ncols > 32)
    ncols = 32;
  for (size_t c = 0; c < ncols; c++)
    width[c] = text_width(cols[c].header);
  for (size_t i = 0; i < n; i++) {
    json_object *it = items ? json_object_array_get_idx(items, i) : doc;
    for (size_t c = 0; c < ncols; c++) {
      size_t w = text_width(cell(it, cols[c].field, buf, sizeof(buf)));
      if (w > width[c])
        width[c] = w;
    }
  }
  for (size_t i = 0; i <= n; i++) {
    json_object *it = i == 0  ? NULL
                      : items ? json_object_array_get_idx(items, i - 1)
                              : doc;
    for (size_t c = 0; c < ncols; c++) {
      const char *t =
          i == 0 ? cols[c].header : cell(it, cols[c].field, buf, sizeof(buf));
      fputs(t, f);
      if (c + 1 < ncols)
        fprintf(f, "%*s", (int)(width[c] - text_width(t) + 2), "");
    }
    fputc('\n', f);
  }
  fflush(f);
}
