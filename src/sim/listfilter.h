/*
 * listfilter.h - the list `filter` of the APIs that take an AIP-160
 * style expression: Certificate Manager (`labels.k="v" AND ...`) and
 * Cloud SQL's instances.list (`settings.userLabels.k:v state:RUNNABLE`).
 * Static inline, like jsonutil.h, so each module keeps it without a copy.
 *
 * The subset served: restrictions `FIELD OP VALUE` with OP `=`, `!=` or
 * `:`; FIELD a dotted path through objects and maps (`labels.k`,
 * `settings.userLabels.k`); VALUE a bare word or a "quoted" string
 * (backslash escapes), `*` in it a wildcard; restrictions joined by
 * spaces or AND (conjunction), OR binding tighter than AND as AIP-160
 * says (`a b OR c` is `a AND (b OR c)`). A repeated field matches when one
 * element does; `:` on a map asks for a key (`labels:k`); `FIELD:*` asks
 * for presence. Parentheses, NOT, `-` and the ordering operators are not
 * served: the filter is refused (400) rather than misread.
 */
#ifndef EDV_SIM_LISTFILTER_H
#define EDV_SIM_LISTFILTER_H

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define SIM_LF_MAX 1024 /* longest filter taken */

typedef struct sim_lf {
  const char *p;
  char why[160]; /* the syntax error, when the result is -1 */
} sim_lf;

static inline void sim_lf_space(sim_lf *f)
{
  while (*f->p == ' ' || *f->p == '\t')
    f->p++;
}

static inline int sim_lf_wordch(char c)
{
  return c && !strchr(" \t=!:<>()\"", c);
}

/* The next bare word (at most n-1 characters), or 0 when there is none. */
static inline size_t sim_lf_word(sim_lf *f, char *out, size_t n)
{
  size_t k = 0;

  sim_lf_space(f);
  while (sim_lf_wordch(f->p[k]))
    k++;
  if (k == 0 || k >= n)
    return 0;
  memcpy(out, f->p, k);
  out[k] = '\0';
  return k;
}

/* 1 when the next word is keyword kw (consumed). */
static inline int sim_lf_keyword(sim_lf *f, const char *kw)
{
  char w[8];
  size_t k = sim_lf_word(f, w, sizeof(w));

  if (k && strcmp(w, kw) == 0) {
    f->p += k;
    return 1;
  }
  return 0;
}

/* The value obj holds at a dotted path (NULL when absent). */
static inline json_object *sim_lf_field(json_object *obj, const char *path)
{
  char buf[256], *save = NULL, *tok;

  snprintf(buf, sizeof(buf), "%s", path);
  for (tok = strtok_r(buf, ".", &save); tok && obj;
       tok = strtok_r(NULL, ".", &save))
    if (!json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, tok, &obj))
      return NULL;
  return obj;
}

static inline int sim_lf_eq(json_object *v, const char *want)
{
  const char *have;

  if (v == NULL || json_object_is_type(v, json_type_object) ||
      json_object_is_type(v, json_type_array))
    return 0;
  have = json_object_get_string(v);
  if (strchr(want, '*'))
    return fnmatch(want, have, 0) == 0;
  return strcmp(have, want) == 0;
}

/* One restriction against obj (NULL: syntax only). -1 on a syntax error. */
static inline int sim_lf_restriction(sim_lf *f, json_object *obj)
{
  char field[256], value[512], op[3] = "";
  json_object *v;
  size_t k;
  int hit = 0;

  sim_lf_space(f);
  if (*f->p == '(' || *f->p == '-' || sim_lf_keyword(f, "NOT")) {
    snprintf(f->why, sizeof(f->why),
             "parentheses and negation are not supported");
    return -1;
  }
  k = sim_lf_word(f, field, sizeof(field));
  if (k == 0) {
    snprintf(f->why, sizeof(f->why), "a field name is expected at '%.40s'",
             f->p);
    return -1;
  }
  f->p += k;
  sim_lf_space(f);
  if (f->p[0] == '!' && f->p[1] == '=')
    snprintf(op, sizeof(op), "!=");
  else if (f->p[0] == '=' || f->p[0] == ':')
    snprintf(op, sizeof(op), "%c", f->p[0]);
  if (!op[0]) {
    snprintf(f->why, sizeof(f->why),
             "'%.60s' must be followed by =, != or : and a value", field);
    return -1;
  }
  f->p += strlen(op);
  sim_lf_space(f);
  if (*f->p == '"') {
    size_t n = 0;

    for (f->p++; *f->p && *f->p != '"'; f->p++) {
      if (*f->p == '\\' && f->p[1])
        f->p++;
      if (n + 1 >= sizeof(value))
        break;
      value[n++] = *f->p;
    }
    if (*f->p != '"') {
      snprintf(f->why, sizeof(f->why), "unterminated string after '%.60s'",
               field);
      return -1;
    }
    f->p++;
    value[n] = '\0';
  } else if ((k = sim_lf_word(f, value, sizeof(value))) != 0) {
    f->p += k;
  } else {
    snprintf(f->why, sizeof(f->why), "a value is expected after '%.60s%s'",
             field, op);
    return -1;
  }
  if (obj == NULL)
    return 0;
  v = sim_lf_field(obj, field);
  if (op[0] == ':' && strcmp(value, "*") == 0) {
    hit = v != NULL;
  } else if (v && json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v) && !hit; i++)
      hit = sim_lf_eq(json_object_array_get_idx(v, i), value);
  } else if (v && json_object_is_type(v, json_type_object)) {
    hit = op[0] == ':' && json_object_object_get_ex(v, value, NULL);
  } else {
    hit = sim_lf_eq(v, value);
  }
  return strcmp(op, "!=") == 0 ? !hit : hit;
}

/*
 * 1 when obj matches filter (always for NULL or ""), 0 when not, -1 when
 * the filter is not one the subset above reads (why says where). With obj
 * NULL only the syntax is checked (0 or -1).
 */
static inline int sim_lf_match(json_object *obj, const char *filter, char *why,
                               size_t why_size)
{
  sim_lf f;
  int all = 1, first = 1;

  if (filter == NULL)
    return 1;
  memset(&f, 0, sizeof(f));
  f.p = filter;
  if (strlen(filter) > SIM_LF_MAX) {
    snprintf(why, why_size, "the filter is longer than %d characters",
             SIM_LF_MAX);
    return -1;
  }
  for (;;) {
    int any;

    sim_lf_space(&f);
    if (*f.p == '\0')
      break;
    /* Between two restrictions: a space or AND. */
    if (!first)
      (void)sim_lf_keyword(&f, "AND");
    first = 0;
    if ((any = sim_lf_restriction(&f, obj)) < 0)
      goto bad;
    while (sim_lf_keyword(&f, "OR")) {
      int r = sim_lf_restriction(&f, obj);

      if (r < 0)
        goto bad;
      any = any || r;
    }
    all = all && any;
  }
  return obj ? all : 0;
bad:
  snprintf(why, why_size, "%s", f.why);
  return -1;
}

#endif
