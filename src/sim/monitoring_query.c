/*
 * monitoring_query.c - Monitoring's filters, series selection and
 * aggregation (see monitoring_query.h).
 *
 * Filters: `metric.type`, `resource.type`, `metric.label[s].K`,
 * `resource.label[s].K`, `metadata.user_labels.K` (or ."K"),
 * `metadata.system_labels.K`; operators = != < <= > >=; values a quoted
 * string, a number, starts_with("..."), ends_with("..."), one_of("...",
 * ...); terms joined by AND. OR, NOT, parentheses, regular expressions and
 * anything else answer 400 naming the filter.
 *
 * Aligners: NONE, DELTA, RATE, NEXT_OLDER, MIN, MAX, MEAN, COUNT, SUM,
 * PERCENTILE_99/95/50/05 (distributions, from their buckets). Reducers:
 * NONE, MEAN, MIN, MAX, SUM, COUNT, PERCENTILE_99/95/50/05.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/jsonutil.h"
#include "sim/metrics_gen.h"
#include "sim/monitoring_query.h"
#include "sim/sim_int.h"

/* --- durations ---------------------------------------------------------- */

int64_t mq_duration_ms(const char *d)
{
  char *end;
  double v;

  if (d == NULL || !*d)
    return -1;
  v = strtod(d, &end);
  if (end == d || strcmp(end, "s") != 0 || v < 0 || v > 1e9)
    return -1;
  return (int64_t)llround(v * 1000);
}

/* --- filters ------------------------------------------------------------ */

enum {
  F_METRIC_TYPE,
  F_RESOURCE_TYPE,
  F_METRIC_LABEL,
  F_RESOURCE_LABEL,
  F_USER_LABEL,
  F_SYSTEM_LABEL
};
enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum { V_STR, V_NUM, V_STARTS, V_ENDS, V_ONE_OF };

#define MQ_MAX_TERMS  16
#define MQ_MAX_VALUES 16

typedef struct mq_term {
  int field, op, vkind;
  char key[128];
  char *vals[MQ_MAX_VALUES];
  size_t nv;
  double num;
} mq_term;

struct mq_filter {
  mq_term t[MQ_MAX_TERMS];
  size_t n;
  const char *type; /* the metric.type term's value */
};

static int fbad(char *msg, size_t n, const char *text, const char *why)
{
  snprintf(msg, n, "Field filter had an invalid value of \"%s\": %s", text,
           why);
  return -1;
}

static const char *skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n')
    p++;
  return p;
}

/* A quoted string at p (after the opening quote is *p), into out. */
static const char *quoted(const char *p, char *out, size_t n)
{
  size_t o = 0;

  if (*p != '"')
    return NULL;
  for (p++; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1])
      p++;
    if (o + 1 < n)
      out[o++] = *p;
  }
  out[o] = '\0';
  return *p == '"' ? p + 1 : NULL;
}

/* The selector at p ("metadata.user_labels.\"edv-tenant\"") into sel. */
static const char *selector(const char *p, char *sel, size_t n)
{
  size_t o = 0;
  char q[128];

  for (;;) {
    if (*p == '"') {
      if ((p = quoted(p, q, sizeof(q))) == NULL)
        return NULL;
      o += (size_t)snprintf(sel + o, o < n ? n - o : 0, "%s", q);
    } else if (isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
               *p == '-' || *p == '/') {
      if (o + 1 < n)
        sel[o++] = *p;
      p++;
    } else {
      break;
    }
    if (o >= n)
      return NULL;
  }
  sel[o < n ? o : n - 1] = '\0';
  return o ? p : NULL;
}

/* The field a selector names and its key (a pointer into sel; "" for the
 * types), or NULL. */
static const char *sel_split(const char *sel, int *field)
{
  static const struct {
    const char *prefix;
    int field;
  } map[] = {
      {"metric.labels.", F_METRIC_LABEL},
      {"metric.label.", F_METRIC_LABEL},
      {"resource.labels.", F_RESOURCE_LABEL},
      {"resource.label.", F_RESOURCE_LABEL},
      {"metadata.user_labels.", F_USER_LABEL},
      {"metadata.system_labels.", F_SYSTEM_LABEL},
  };

  if (strcmp(sel, "metric.type") == 0)
    return *field = F_METRIC_TYPE, "";
  if (strcmp(sel, "resource.type") == 0)
    return *field = F_RESOURCE_TYPE, "";
  for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
    size_t l = strlen(map[i].prefix);

    if (strncmp(sel, map[i].prefix, l) == 0 && sel[l])
      return *field = map[i].field, sel + l;
  }
  return NULL;
}

static int sel_field(const char *sel, int *field, char *key, size_t n)
{
  const char *k = sel_split(sel, field);

  if (k == NULL)
    return -1;
  snprintf(key, n, "%s", k);
  return 0;
}

static void term_free(mq_term *t)
{
  for (size_t i = 0; i < t->nv; i++)
    free(t->vals[i]);
  t->nv = 0;
}

void mq_filter_free(mq_filter *f)
{
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->n; i++)
    term_free(&f->t[i]);
  free(f);
}

/* The value of a term at p: a string, a number or a function. */
static const char *term_value(const char *p, mq_term *t, const char *text,
                              char *msg, size_t n)
{
  char buf[512];

  if (*p == '"') {
    if ((p = quoted(p, buf, sizeof(buf))) == NULL)
      return fbad(msg, n, text, "an unterminated string."), NULL;
    t->vkind = V_STR;
    t->vals[t->nv++] = strdup(buf);
    return p;
  }
  if (isdigit((unsigned char)*p) || *p == '-' || *p == '.') {
    char *end;

    t->num = strtod(p, &end);
    snprintf(buf, sizeof(buf), "%.*s", (int)(end - p), p);
    t->vkind = V_NUM;
    t->vals[t->nv++] = strdup(buf);
    return end;
  }
  if (strncmp(p, "starts_with(", 12) == 0 ||
      strncmp(p, "ends_with(", 10) == 0 || strncmp(p, "one_of(", 7) == 0) {
    t->vkind = p[0] == 's' ? V_STARTS : p[0] == 'e' ? V_ENDS : V_ONE_OF;
    p = strchr(p, '(') + 1;
    for (;;) {
      p = skip_ws(p);
      if (t->nv == MQ_MAX_VALUES || (p = quoted(p, buf, sizeof(buf))) == NULL)
        return fbad(msg, n, text, "a function takes quoted strings."), NULL;
      t->vals[t->nv++] = strdup(buf);
      p = skip_ws(p);
      if (*p == ')')
        break;
      if (*p != ',' || t->vkind != V_ONE_OF)
        return fbad(msg, n, text, "a malformed function call."), NULL;
      p++;
    }
    return p + 1;
  }
  fbad(msg, n, text,
       "the simulator supports quoted strings, numbers, starts_with(), "
       "ends_with() and one_of() as values.");
  return NULL;
}

/* The operator at p into *op; what follows it, or NULL. */
static const char *term_op(const char *p, int *op)
{
  static const struct {
    const char *text;
    int op;
  } ops[] = {{"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE},
             {"=", OP_EQ},  {"<", OP_LT},  {">", OP_GT}};

  if (strncmp(p, "=~", 2) == 0)
    return NULL; /* a regular expression */
  for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
    if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0) {
      *op = ops[i].op;
      return p + strlen(ops[i].text);
    }
  return NULL;
}

mq_filter *mq_filter_parse(const char *text, char *msg, size_t n)
{
  mq_filter *f = calloc(1, sizeof(*f));
  const char *p = text ? text : "";
  char sel[200];

  if (f == NULL)
    return snprintf(msg, n, "out of memory"), NULL;
  for (p = skip_ws(p); *p;) {
    mq_term *t;
    const char *q;

    if (f->n == MQ_MAX_TERMS) {
      fbad(msg, n, text, "too many terms.");
      goto fail;
    }
    t = &f->t[f->n];
    if ((q = selector(p, sel, sizeof(sel))) == NULL ||
        sel_field(sel, &t->field, t->key, sizeof(t->key)) < 0) {
      char why[300];

      snprintf(why, sizeof(why),
               "the simulator does not support the selector '%.*s' (OR, "
               "NOT, parentheses and other selectors are refused).",
               (int)strcspn(p, " =!<>:"), p);
      fbad(msg, n, text, why);
      goto fail;
    }
    f->n++;
    if ((p = term_op(skip_ws(q), &t->op)) == NULL) {
      fbad(msg, n, text,
           "the simulator supports the operators =, !=, <, <=, > and >=.");
      goto fail;
    }
    if ((p = term_value(skip_ws(p), t, text, msg, n)) == NULL)
      goto fail;
    if (t->op >= OP_LT && t->vkind != V_NUM) {
      fbad(msg, n, text, "<, <=, > and >= compare numbers.");
      goto fail;
    }
    if (t->field == F_METRIC_TYPE && t->op == OP_EQ && t->vkind == V_STR) {
      if (f->type && strcmp(f->type, t->vals[0]) != 0) {
        fbad(msg, n, text, "a filter names one metric type.");
        goto fail;
      }
      f->type = t->vals[0];
    }
    p = skip_ws(p);
    if (*p == '\0')
      break;
    if ((strncmp(p, "AND", 3) != 0 && strncmp(p, "and", 3) != 0) ||
        !isspace((unsigned char)p[3])) {
      fbad(msg, n, text,
           "the simulator joins terms with AND only (OR, NOT and "
           "parentheses are refused).");
      goto fail;
    }
    p = skip_ws(p + 3);
  }
  if (f->type == NULL) {
    fbad(msg, n, text,
         "A filter must specify one metric type (metric.type = \"...\").");
    goto fail;
  }
  return f;
fail:
  mq_filter_free(f);
  return NULL;
}

const char *mq_filter_type(const mq_filter *f)
{
  return f ? f->type : NULL;
}

/* The value of a field in a TimeSeries, or NULL. */
static const char *field_value(json_object *ts, int field, const char *key)
{
  json_object *o = NULL;

  switch (field) {
  case F_METRIC_TYPE:
    return js(json_object_object_get(ts, "metric"), "type");
  case F_RESOURCE_TYPE:
    return js(json_object_object_get(ts, "resource"), "type");
  case F_METRIC_LABEL:
    o = json_object_object_get(json_object_object_get(ts, "metric"), "labels");
    break;
  case F_RESOURCE_LABEL:
    o = json_object_object_get(json_object_object_get(ts, "resource"),
                               "labels");
    break;
  case F_USER_LABEL:
    o = json_object_object_get(json_object_object_get(ts, "metadata"),
                               "userLabels");
    break;
  case F_SYSTEM_LABEL:
    o = json_object_object_get(json_object_object_get(ts, "metadata"),
                               "systemLabels");
    break;
  }
  if (!json_object_object_get_ex(o, key, &o) || o == NULL)
    return NULL;
  return json_object_get_string(o);
}

static int term_match(const mq_term *t, const char *v)
{
  int hit = 0;

  if (v == NULL)
    return t->op == OP_NE;
  switch (t->vkind) {
  case V_NUM: {
    char *end;
    double d = strtod(v, &end);

    if (end == v || *end)
      return t->op == OP_NE ? strcmp(v, t->vals[0]) != 0
                            : t->op == OP_EQ && strcmp(v, t->vals[0]) == 0;
    switch (t->op) {
    case OP_EQ:
      return d == t->num;
    case OP_NE:
      return d != t->num;
    case OP_LT:
      return d < t->num;
    case OP_LE:
      return d <= t->num;
    case OP_GT:
      return d > t->num;
    default:
      return d >= t->num;
    }
  }
  case V_STR:
    hit = strcmp(v, t->vals[0]) == 0;
    break;
  case V_STARTS:
    hit = strncmp(v, t->vals[0], strlen(t->vals[0])) == 0;
    break;
  case V_ENDS: {
    size_t lv = strlen(v), lt = strlen(t->vals[0]);

    hit = lv >= lt && strcmp(v + lv - lt, t->vals[0]) == 0;
    break;
  }
  default:
    for (size_t i = 0; i < t->nv && !hit; i++)
      hit = strcmp(v, t->vals[i]) == 0;
  }
  return t->op == OP_NE ? !hit : hit;
}

static int filter_match(const mq_filter *f, json_object *ts)
{
  for (size_t i = 0; i < f->n; i++)
    if (!term_match(&f->t[i], field_value(ts, f->t[i].field, f->t[i].key)))
      return 0;
  return 1;
}

/* --- aggregation parameters --------------------------------------------- */

enum {
  AL_NONE,
  AL_DELTA,
  AL_RATE,
  AL_NEXT_OLDER,
  AL_MIN,
  AL_MAX,
  AL_MEAN,
  AL_COUNT,
  AL_SUM,
  AL_P99,
  AL_P95,
  AL_P50,
  AL_P05
};
static const char *const aligners[] = {
    "ALIGN_NONE",          "ALIGN_DELTA",
    "ALIGN_RATE",          "ALIGN_NEXT_OLDER",
    "ALIGN_MIN",           "ALIGN_MAX",
    "ALIGN_MEAN",          "ALIGN_COUNT",
    "ALIGN_SUM",           "ALIGN_PERCENTILE_99",
    "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50",
    "ALIGN_PERCENTILE_05", NULL};
enum {
  RD_NONE,
  RD_MEAN,
  RD_MIN,
  RD_MAX,
  RD_SUM,
  RD_COUNT,
  RD_P99,
  RD_P95,
  RD_P50,
  RD_P05
};
static const char *const reducers[] = {"REDUCE_NONE",
                                       "REDUCE_MEAN",
                                       "REDUCE_MIN",
                                       "REDUCE_MAX",
                                       "REDUCE_SUM",
                                       "REDUCE_COUNT",
                                       "REDUCE_PERCENTILE_99",
                                       "REDUCE_PERCENTILE_95",
                                       "REDUCE_PERCENTILE_50",
                                       "REDUCE_PERCENTILE_05",
                                       NULL};
static const double pcts[] = {0.99, 0.95, 0.50, 0.05};

static int enum_index(const char *v, const char *const *list)
{
  for (int i = 0; list[i]; i++)
    if (strcmp(list[i], v) == 0)
      return i;
  return -1;
}

/* Whether g is a group-by field; a quoted key ("metric.label.\"k\"") is
 * written unquoted in place. */
static int group_field_ok(char *g)
{
  int field;
  char key[160], norm[160];
  const char *end = selector(g, norm, sizeof(norm));

  if (end == NULL || *end)
    return 0;
  memcpy(g, norm, sizeof(norm));
  return strcmp(g, "resource.type") == 0 ||
         (sel_field(g, &field, key, sizeof(key)) == 0 &&
          field != F_METRIC_TYPE && field != F_RESOURCE_TYPE);
}

/* Fills out from the four fields' text (NULL: absent). */
static int agg_set(const char *where, const char *period, const char *aligner,
                   const char *reducer, mq_agg *out, char *msg, size_t n)
{
  int al = aligner ? enum_index(aligner, aligners) : AL_NONE;
  int rd = reducer ? enum_index(reducer, reducers) : RD_NONE;

  if (al < 0) {
    snprintf(msg, n,
             "Field %s.perSeriesAligner had an invalid value of \"%s\": the "
             "simulator supports %s",
             where, aligner,
             "ALIGN_NONE, ALIGN_DELTA, ALIGN_RATE, ALIGN_NEXT_OLDER, "
             "ALIGN_MIN, ALIGN_MAX, ALIGN_MEAN, ALIGN_COUNT, ALIGN_SUM and "
             "ALIGN_PERCENTILE_99/95/50/05.");
    return -1;
  }
  if (rd < 0) {
    snprintf(msg, n,
             "Field %s.crossSeriesReducer had an invalid value of \"%s\": "
             "the simulator supports REDUCE_NONE, REDUCE_MEAN, REDUCE_MIN, "
             "REDUCE_MAX, REDUCE_SUM, REDUCE_COUNT and "
             "REDUCE_PERCENTILE_99/95/50/05.",
             where, reducer);
    return -1;
  }
  out->aligner = al;
  out->reducer = rd;
  out->period_ms = 0;
  if (period) {
    out->period_ms = mq_duration_ms(period);
    if (out->period_ms < 0) {
      snprintf(msg, n,
               "Field %s.alignmentPeriod had an invalid value of \"%s\": a "
               "duration in seconds (\"60s\").",
               where, period);
      return -1;
    }
  }
  if (al != AL_NONE && out->period_ms == 0) {
    snprintf(msg, n,
             "Field %s.alignmentPeriod is required when a per-series aligner "
             "(%s) is given.",
             where, aligners[al]);
    return -1;
  }
  if (al != AL_NONE &&
      (out->period_ms < 60000 || out->period_ms > 104LL * 7 * 86400000)) {
    snprintf(msg, n,
             "Field %s.alignmentPeriod had an invalid value of \"%s\": The "
             "alignment period must be at least 60 seconds and at most 104 "
             "weeks.",
             where, period);
    return -1;
  }
  if (rd != RD_NONE && al == AL_NONE) {
    snprintf(msg, n,
             "Field %s.crossSeriesReducer had an invalid value of \"%s\": A "
             "cross-series reducer requires a per-series aligner other than "
             "ALIGN_NONE.",
             where, reducers[rd]);
    return -1;
  }
  for (size_t i = 0; i < out->n_group_by; i++)
    if (!group_field_ok(out->group_by[i])) {
      snprintf(msg, n,
               "Field %s.groupByFields had an invalid value of \"%s\": a "
               "group-by field is resource.type, metric.label.K, "
               "resource.label.K or metadata.user_labels.K.",
               where, out->group_by[i]);
      return -1;
    }
  return 0;
}

int mq_agg_json(json_object *a, const char *where, mq_agg *out, char *msg,
                size_t n)
{
  json_object *g = json_object_object_get(a, "groupByFields");

  memset(out, 0, sizeof(*out));
  if (alen(g) > MQ_MAX_GROUP_BY) {
    snprintf(msg, n, "Field %s.groupByFields: at most %d fields.", where,
             MQ_MAX_GROUP_BY);
    return -1;
  }
  for (size_t i = 0; i < alen(g); i++) {
    const char *v = json_object_get_string(json_object_array_get_idx(g, i));

    snprintf(out->group_by[out->n_group_by++], sizeof(out->group_by[0]), "%s",
             v ? v : "");
  }
  return agg_set(where, js(a, "alignmentPeriod"), js(a, "perSeriesAligner"),
                 js(a, "crossSeriesReducer"), out, msg, n);
}

int mq_agg_query(sim_req *req, const char *prefix, mq_agg *out, int *given,
                 char *msg, size_t n)
{
  char name[4][96], want[96];
  const char *raw = req->sub ? req->sub->query : edv__http_query_raw(req->http);
  const char *v[3];
  static const char *const fields[] = {"alignmentPeriod", "perSeriesAligner",
                                       "crossSeriesReducer"};

  memset(out, 0, sizeof(*out));
  *given = 0;
  for (int i = 0; i < 3; i++) {
    snprintf(name[i], sizeof(name[i]), "%s.%s", prefix, fields[i]);
    v[i] = sim_query(req, name[i]);
    *given |= v[i] != NULL;
  }
  /* groupByFields repeats: read them from the raw query. */
  snprintf(want, sizeof(want), "%s.groupByFields=", prefix);
  for (const char *p = raw ? raw : ""; *p;) {
    size_t len = strcspn(p, "&");

    if (len > strlen(want) && strncmp(p, want, strlen(want)) == 0) {
      char val[160];

      snprintf(val, sizeof(val), "%.*s", (int)(len - strlen(want)),
               p + strlen(want));
      edv__http_unescape(val, 1);
      if (out->n_group_by == MQ_MAX_GROUP_BY) {
        snprintf(msg, n, "Field %s.groupByFields: at most %d fields.", prefix,
                 MQ_MAX_GROUP_BY);
        return -1;
      }
      memcpy(out->group_by[out->n_group_by++], val, sizeof(val));
      *given = 1;
    }
    p += len + (p[len] == '&');
  }
  return agg_set(prefix, v[0], v[1], v[2], out, msg, n);
}

/* --- series ------------------------------------------------------------- */

enum { K_GAUGE, K_DELTA, K_CUMULATIVE };
enum { VT_INT64, VT_DOUBLE, VT_BOOL, VT_STRING, VT_DIST };
static const char *const kind_names[] = {"GAUGE", "DELTA", "CUMULATIVE"};
static const char *const vt_names[] = {"INT64", "DOUBLE", "BOOL", "STRING",
                                       "DISTRIBUTION"};

typedef struct mq_dist {
  double count, mean;
  double *b; /* bucket counts */
  size_t nb;
} mq_dist;

typedef struct mq_point {
  int64_t start, end;
  double v;
  mq_dist d;
  json_object *raw; /* the point as read (raw sets), borrowed */
} mq_point;

typedef struct mq_series {
  json_object *src;     /* the TimeSeries read (raw) or built (aligned) */
  json_object *buckets; /* bucketOptions of its distributions, borrowed */
  int kind, vt;
  int in_vt;   /* reduced: the aligned value type reduced */
  mq_point *p; /* newest first */
  size_t n;
} mq_series;

struct mq_set {
  mq_series *v;
  size_t n, cap;
  int raw;
};

static mq_series *set_add(mq_set *set)
{
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 16;
    mq_series *v = realloc(set->v, cap * sizeof(*v));

    if (v == NULL)
      return NULL;
    set->v = v;
    set->cap = cap;
  }
  memset(&set->v[set->n], 0, sizeof(set->v[0]));
  return &set->v[set->n++];
}

void mq_set_free(mq_set *set)
{
  if (set == NULL)
    return;
  for (size_t i = 0; i < set->n; i++) {
    for (size_t j = 0; j < set->v[i].n; j++)
      free(set->v[i].p[j].d.b);
    free(set->v[i].p);
    json_object_put(set->v[i].src);
  }
  free(set->v);
  free(set);
}

size_t mq_set_len(const mq_set *set)
{
  return set ? set->n : 0;
}

static int name_index(const char *v, const char *const *names, size_t n,
                      int dflt)
{
  for (size_t i = 0; v && i < n; i++)
    if (strcmp(v, names[i]) == 0)
      return (int)i;
  return dflt;
}

static double jnum(json_object *o)
{
  return o ? json_object_get_double(o) : 0;
}

/* A point's value into pt; the series' value type decides. */
static void read_value(mq_series *s, json_object *value, mq_point *pt)
{
  json_object *v, *d;

  if (json_object_object_get_ex(value, "distributionValue", &d)) {
    json_object *bc = json_object_object_get(d, "bucketCounts");

    pt->d.count = jnum(json_object_object_get(d, "count"));
    pt->d.mean = jnum(json_object_object_get(d, "mean"));
    pt->d.nb = alen(bc);
    pt->d.b = pt->d.nb ? calloc(pt->d.nb, sizeof(double)) : NULL;
    if (pt->d.b == NULL)
      pt->d.nb = 0;
    for (size_t i = 0; i < pt->d.nb; i++)
      pt->d.b[i] = jnum(json_object_array_get_idx(bc, i));
    if (s->buckets == NULL)
      s->buckets = json_object_object_get(d, "bucketOptions");
    pt->v = pt->d.mean;
  } else if (json_object_object_get_ex(value, "boolValue", &v)) {
    pt->v = json_object_get_boolean(v);
  } else if (json_object_object_get_ex(value, "int64Value", &v) ||
             json_object_object_get_ex(value, "doubleValue", &v)) {
    pt->v = json_object_get_double(v);
  }
}

/* Adds a TimeSeries with its points in (start, end] to the set. */
static int add_raw(mq_set *set, json_object *ts, int64_t start, int64_t end)
{
  json_object *pts = json_object_object_get(ts, "points");
  mq_series *s;
  size_t n = alen(pts);

  if ((s = set_add(set)) == NULL)
    return -1;
  s->src = json_object_get(ts);
  s->kind = name_index(js(ts, "metricKind"), kind_names, 3, K_GAUGE);
  s->vt = name_index(js(ts, "valueType"), vt_names, 5, VT_DOUBLE);
  s->p = n ? calloc(n, sizeof(*s->p)) : NULL;
  for (size_t i = 0; i < n && s->p; i++) {
    json_object *pt = json_object_array_get_idx(pts, i);
    json_object *iv = json_object_object_get(pt, "interval");
    int64_t e = sim_time_parse(js(iv, "endTime"));
    int64_t b = js(iv, "startTime") ? sim_time_parse(js(iv, "startTime")) : e;
    mq_point *p;

    if (start >= 0 && e >= 0 && e <= start)
      break; /* newest first: the rest is older still */
    if (e < 0 || e > end)
      continue;
    p = &s->p[s->n++];
    p->start = b < 0 ? e : b;
    p->end = e;
    p->raw = pt;
    read_value(s, json_object_object_get(pt, "value"), p);
  }
  if (s->n == 0) {
    /* Nothing in the interval: Monitoring lists no such series. */
    free(s->p);
    json_object_put(s->src);
    set->n--;
  }
  return 0;
}

struct fetch_ctx {
  const mq_filter *f;
  json_object *found;
};

static int fetch_cb(void *data, const char *name, const char *kind,
                    json_object *obj)
{
  struct fetch_ctx *c = data;

  (void)name;
  if (strcmp(kind, "monitoring.timeSeries") == 0 && filter_match(c->f, obj))
    json_object_array_add(c->found, json_object_get(obj));
  return 0;
}

mq_set *mq_fetch(sim *s, const mq_filter *f, int64_t start_ms, int64_t end_ms)
{
  mq_set *set = calloc(1, sizeof(*set));
  json_object *all = json_object_new_array();
  int64_t gen_start = start_ms >= 0 ? start_ms : end_ms - 60000;

  if (set == NULL || all == NULL) {
    free(set);
    json_object_put(all);
    return NULL;
  }
  set->raw = 1;
  if (sim__metrics_generate(s, f->type, gen_start, end_ms, 0, all)) {
    for (size_t i = 0; i < alen(all); i++) {
      json_object *ts = json_object_array_get_idx(all, i);

      if (filter_match(f, ts))
        add_raw(set, ts, gen_start, end_ms);
    }
  } else {
    struct fetch_ctx c = {f, all};
    char prefix[300];

    snprintf(prefix, sizeof(prefix), "projects/%s/timeSeries/", sim_project(s));
    sim_store_each(s, prefix, fetch_cb, &c);
    for (size_t i = 0; i < alen(all); i++)
      add_raw(set, json_object_array_get_idx(all, i), start_ms, end_ms);
  }
  json_object_put(all);
  return set;
}

/* --- distributions ------------------------------------------------------ */

/* Bucket i's bounds under the options (exponential, linear or explicit). */
static void bucket_bounds(json_object *opts, size_t i, double *lo, double *hi)
{
  json_object *o;

  *lo = 0;
  *hi = 0;
  if (json_object_object_get_ex(opts, "exponentialBuckets", &o)) {
    double nf = jnum(json_object_object_get(o, "numFiniteBuckets"));
    double g = jnum(json_object_object_get(o, "growthFactor"));
    double sc = jnum(json_object_object_get(o, "scale"));

    *lo = i == 0 ? 0 : sc * pow(g, (double)i - 1);
    *hi = (double)i > nf ? *lo : sc * pow(g, (double)i);
  } else if (json_object_object_get_ex(opts, "linearBuckets", &o)) {
    double nf = jnum(json_object_object_get(o, "numFiniteBuckets"));
    double w = jnum(json_object_object_get(o, "width"));
    double off = jnum(json_object_object_get(o, "offset"));

    *lo = i == 0 ? off : off + w * ((double)i - 1);
    *hi = (double)i > nf ? *lo : off + w * (double)i;
  } else if (json_object_object_get_ex(opts, "explicitBuckets", &o)) {
    json_object *b = json_object_object_get(o, "bounds");
    size_t nb = alen(b);

    *lo = i == 0 || nb == 0
              ? 0
              : jnum(json_object_array_get_idx(b, i - 1 < nb ? i - 1 : nb - 1));
    *hi = i < nb ? jnum(json_object_array_get_idx(b, i)) : *lo;
  }
}

/* The p-th quantile of a distribution, interpolated inside its bucket. */
static double dist_percentile(const mq_dist *d, json_object *opts, double p)
{
  double want = p * d->count, seen = 0;

  if (d->count <= 0)
    return 0;
  for (size_t i = 0; i < d->nb; i++) {
    if (d->b[i] > 0 && seen + d->b[i] >= want) {
      double lo, hi;

      bucket_bounds(opts, i, &lo, &hi);
      return lo + (hi - lo) * ((want - seen) / d->b[i]);
    }
    seen += d->b[i];
  }
  return d->mean;
}

/* acc += d (counts and means). */
static int dist_add(mq_dist *acc, const mq_dist *d)
{
  double total = acc->count + d->count;

  if (d->nb > acc->nb) {
    double *b = realloc(acc->b, d->nb * sizeof(double));

    if (b == NULL)
      return -1;
    for (size_t i = acc->nb; i < d->nb; i++)
      b[i] = 0;
    acc->b = b;
    acc->nb = d->nb;
  }
  for (size_t i = 0; i < d->nb; i++)
    acc->b[i] += d->b[i];
  acc->mean =
      total > 0 ? (acc->mean * acc->count + d->mean * d->count) / total : 0;
  acc->count = total;
  return 0;
}

/* --- aligning ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

/* The p-th percentile of n values (sorted in place), interpolated. */
static double percentile(double *v, size_t n, double p)
{
  double r;
  size_t i;

  qsort(v, n, sizeof(*v), cmp_double);
  r = p * (double)(n - 1);
  i = (size_t)r;
  return i + 1 < n ? v[i] + (v[i + 1] - v[i]) * (r - (double)i) : v[i];
}

/* The aligner's output kind and value type for a series, or -1. */
static int aligned_type(int al, int kind, int vt, int *okind, int *ovt)
{
  int numeric = vt == VT_INT64 || vt == VT_DOUBLE;

  *okind = K_GAUGE;
  *ovt = vt;
  switch (al) {
  case AL_NONE:
  case AL_NEXT_OLDER:
    *okind = kind;
    return 0;
  case AL_COUNT:
    *ovt = VT_INT64;
    return 0;
  case AL_MIN:
  case AL_MAX:
    return numeric ? 0 : -1;
  case AL_MEAN:
    *ovt = VT_DOUBLE;
    return numeric || vt == VT_DIST || vt == VT_BOOL ? 0 : -1;
  case AL_SUM:
    *okind = kind == K_GAUGE ? K_GAUGE : K_DELTA;
    return numeric || vt == VT_DIST ? 0 : -1;
  case AL_DELTA:
    *okind = K_DELTA;
    return kind != K_GAUGE && (numeric || vt == VT_DIST) ? 0 : -1;
  case AL_RATE:
    *ovt = VT_DOUBLE;
    return kind != K_GAUGE && numeric ? 0 : -1;
  default: /* percentiles */
    *ovt = VT_DOUBLE;
    return vt == VT_DIST ? 0 : -1;
  }
}

/* One aligned point of series s over (lo, hi]; 0 when it has none. */
static int align_point(const mq_series *s, int al, int64_t lo, int64_t hi,
                       int64_t period, mq_point *out)
{
  size_t first = s->n, count = 0;
  double sum = 0, mn = INFINITY, mx = -INFINITY;

  memset(out, 0, sizeof(*out));
  out->end = hi;
  out->start = al == AL_DELTA || al == AL_SUM ? lo : hi;
  for (size_t i = 0; i < s->n; i++) {
    const mq_point *p = &s->p[i];

    if (p->end > hi || p->end <= lo)
      continue;
    if (first == s->n)
      first = i; /* the newest in the period */
    count++;
    sum += p->v;
    mn = p->v < mn ? p->v : mn;
    mx = p->v > mx ? p->v : mx;
    if (s->vt == VT_DIST && al != AL_NEXT_OLDER && al != AL_COUNT &&
        dist_add(&out->d, &p->d) < 0)
      return 0;
  }
  if (count == 0)
    return 0;
  switch (al) {
  case AL_NEXT_OLDER:
    out->v = s->p[first].v;
    if (s->vt == VT_DIST)
      dist_add(&out->d, &s->p[first].d);
    break;
  case AL_COUNT:
    out->v = (double)count;
    break;
  case AL_MIN:
    out->v = mn;
    break;
  case AL_MAX:
    out->v = mx;
    break;
  case AL_MEAN:
    out->v = s->vt == VT_DIST ? out->d.mean : sum / (double)count;
    break;
  case AL_SUM:
  case AL_DELTA:
  case AL_RATE:
    if (s->kind == K_CUMULATIVE) {
      /* The newest less the last value before the period (or the oldest
       * in it). */
      double base = s->p[first + count - 1].v;

      for (size_t i = first + count; i < s->n; i++)
        if (s->p[i].end <= lo) {
          base = s->p[i].v;
          break;
        }
      sum = s->p[first].v - base;
    }
    out->v = s->vt == VT_DIST ? out->d.count : sum;
    if (al == AL_RATE)
      out->v = sum / ((double)period / 1000.0);
    break;
  default:
    out->v = dist_percentile(&out->d, s->buckets, pcts[al - AL_P99]);
  }
  return 1;
}

/* --- reducing ----------------------------------------------------------- */

/* The value of a group-by field in a series, or "". */
static const char *group_value(json_object *ts, const char *g)
{
  int field;
  const char *key = sel_split(g, &field);
  const char *v = key ? field_value(ts, field, key) : NULL;

  return v ? v : "";
}
/* A new TimeSeries object carrying the group's labels only. */
static json_object *group_series(json_object *ts, const mq_agg *agg)
{
  json_object *o = json_object_new_object(), *m = json_object_new_object();
  json_object *r = json_object_new_object(), *ml = json_object_new_object();
  json_object *rl = json_object_new_object(), *ul = json_object_new_object();
  json_object *md;

  json_object_object_add(
      m, "type",
      json_object_new_string(field_value(ts, F_METRIC_TYPE, NULL)
                                 ? field_value(ts, F_METRIC_TYPE, NULL)
                                 : ""));
  json_object_object_add(
      r, "type",
      json_object_new_string(field_value(ts, F_RESOURCE_TYPE, NULL)
                                 ? field_value(ts, F_RESOURCE_TYPE, NULL)
                                 : ""));
  for (size_t i = 0; i < agg->n_group_by; i++) {
    int field;
    const char *key = sel_split(agg->group_by[i], &field);

    if (key == NULL || field == F_METRIC_TYPE || field == F_RESOURCE_TYPE)
      continue; /* the types are kept anyway */
    json_object_object_add(
        field == F_METRIC_LABEL     ? ml
        : field == F_RESOURCE_LABEL ? rl
                                    : ul,
        key, json_object_new_string(group_value(ts, agg->group_by[i])));
  }
  json_object_object_add(m, "labels", ml);
  json_object_object_add(r, "labels", rl);
  json_object_object_add(o, "metric", m);
  json_object_object_add(o, "resource", r);
  if (json_object_object_length(ul)) {
    md = json_object_new_object();
    json_object_object_add(md, "userLabels", ul);
    json_object_object_add(o, "metadata", md);
  } else {
    json_object_put(ul);
  }
  return o;
}

static void group_key(json_object *ts, const mq_agg *agg, char *buf, size_t n)
{
  size_t o = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < agg->n_group_by && o < n; i++)
    o += (size_t)snprintf(buf + o, n - o, "%s\x1f",
                          group_value(ts, agg->group_by[i]));
}

/* The reducer over one group's points at one time, into out. */
static void reduce_points(int rd, int vt, mq_point **pts, size_t n,
                          json_object *opts, mq_point *out)
{
  double *vals = malloc(n * sizeof(double));
  double sum = 0, mn = INFINITY, mx = -INFINITY;

  for (size_t i = 0; i < n; i++) {
    if (vals)
      vals[i] = pts[i]->v;
    sum += pts[i]->v;
    mn = pts[i]->v < mn ? pts[i]->v : mn;
    mx = pts[i]->v > mx ? pts[i]->v : mx;
    if (vt == VT_DIST && rd != RD_COUNT)
      dist_add(&out->d, &pts[i]->d);
  }
  switch (rd) {
  case RD_COUNT:
    out->v = (double)n;
    break;
  case RD_MIN:
    out->v = mn;
    break;
  case RD_MAX:
    out->v = mx;
    break;
  case RD_SUM:
    out->v = vt == VT_DIST ? out->d.count : sum;
    break;
  case RD_MEAN:
    out->v = vt == VT_DIST ? out->d.mean : sum / (double)n;
    break;
  default:
    out->v = vt == VT_DIST ? dist_percentile(&out->d, opts, pcts[rd - RD_P99])
             : vals        ? percentile(vals, n, pcts[rd - RD_P99])
                           : 0;
  }
  free(vals);
}

static int reduced_type(int rd, int vt, int *ovt)
{
  int numeric = vt == VT_INT64 || vt == VT_DOUBLE;

  *ovt = vt;
  switch (rd) {
  case RD_COUNT:
    *ovt = VT_INT64;
    return 0;
  case RD_MIN:
  case RD_MAX:
    return numeric ? 0 : -1;
  case RD_SUM:
    return numeric || vt == VT_DIST ? 0 : -1;
  default:
    *ovt = VT_DOUBLE;
    return numeric || vt == VT_DIST ? 0 : -1;
  }
}

static void free_point(mq_point *p)
{
  free(p->d.b);
  p->d.b = NULL;
}

/* Appends an aligned point to a series being built. */
static int push_point(mq_series *s, size_t cap, const mq_point *p)
{
  if (s->n == cap)
    return -1;
  s->p[s->n++] = *p;
  return 0;
}

/* Monitoring checks the aligner and reducer against the metrics' kind and
 * value type; -1 with msg filled when it refuses. */
static int check_types(const mq_set *raw, const mq_agg *agg, char *msg,
                       size_t n)
{
  for (size_t i = 0; i < raw->n; i++) {
    int ok, ovt;

    if (aligned_type(agg->aligner, raw->v[i].kind, raw->v[i].vt, &ok, &ovt) <
        0) {
      snprintf(msg, n,
               "Field aggregation.perSeriesAligner had an invalid value of "
               "\"%s\": The aligner cannot be applied to metrics with kind "
               "%s and value type %s.",
               aligners[agg->aligner], kind_names[raw->v[i].kind],
               vt_names[raw->v[i].vt]);
      return -1;
    }
    if (reduced_type(agg->reducer, ovt, &ovt) < 0) {
      snprintf(msg, n,
               "Field aggregation.crossSeriesReducer had an invalid value of "
               "\"%s\": The reducer cannot be applied to metrics with kind "
               "%s and value type %s.",
               reducers[agg->reducer], kind_names[ok], vt_names[ovt]);
      return -1;
    }
  }
  return 0;
}

/* Drops series without points from the end of out's list, in place. */
static void drop_empty(mq_set *out)
{
  size_t w = 0;

  for (size_t g = 0; g < out->n; g++) {
    if (out->v[g].n == 0) {
      free(out->v[g].p);
      json_object_put(out->v[g].src);
      continue;
    }
    out->v[w++] = out->v[g];
  }
  out->n = w;
}

/* No reducer: each series aligned on its own. */
static void align_each(const mq_set *raw, const mq_agg *agg, int64_t end_ms,
                       size_t steps, mq_set *out)
{
  int64_t per = agg->period_ms;

  for (size_t i = 0; i < raw->n; i++) {
    const mq_series *rs = &raw->v[i];
    mq_series *s = set_add(out);

    if (s == NULL)
      break;
    s->src = json_object_get(rs->src);
    s->buckets = rs->buckets;
    aligned_type(agg->aligner, rs->kind, rs->vt, &s->kind, &s->vt);
    s->p = calloc(steps, sizeof(*s->p));
    for (size_t k = 0; k < steps && s->p; k++) {
      mq_point p;
      int64_t hi = end_ms - (int64_t)k * per;

      if (align_point(rs, agg->aligner, hi - per, hi, per, &p))
        push_point(s, steps, &p);
    }
  }
  drop_empty(out);
}

/* The output series of each raw series' group (gof[i]), created on first
 * sight; the number of groups. */
static size_t make_groups(const mq_set *raw, const mq_agg *agg, size_t steps,
                          mq_set *out, size_t *gof)
{
  char key[2048];
  json_object *groups = json_object_new_object(), *idx;
  size_t ng = 0;

  for (size_t i = 0; i < raw->n; i++) {
    group_key(raw->v[i].src, agg, key, sizeof(key));
    if (!json_object_object_get_ex(groups, key, &idx)) {
      mq_series *s = set_add(out);
      int ok, ovt;

      if (s == NULL)
        break;
      s->src = group_series(raw->v[i].src, agg);
      s->buckets = raw->v[i].buckets;
      aligned_type(agg->aligner, raw->v[i].kind, raw->v[i].vt, &ok, &ovt);
      s->kind = ok;
      s->in_vt = ovt;
      reduced_type(agg->reducer, ovt, &s->vt);
      s->p = calloc(steps, sizeof(*s->p));
      idx = json_object_new_int64((int64_t)ng++);
      json_object_object_add(groups, key, idx);
    }
    gof[i] = (size_t)json_object_get_int64(idx);
  }
  json_object_put(groups);
  return ng;
}

/* A reducer: the series grouped, then at each time each group's aligned
 * points reduced (one pass over the series per time). */
static void reduce_groups(const mq_set *raw, const mq_agg *agg, int64_t end_ms,
                          size_t steps, mq_set *out)
{
  int64_t per = agg->period_ms;
  size_t n = raw->n, ng, *gof = calloc(n + 1, sizeof(size_t));
  size_t *order = calloc(n + 1, sizeof(size_t));
  size_t *gstart = NULL, *fill = NULL;
  mq_point *al = calloc(n + 1, sizeof(mq_point));
  mq_point **pts = calloc(n + 1, sizeof(mq_point *));

  if (!gof || !order || !al || !pts)
    goto done;
  ng = make_groups(raw, agg, steps, out, gof);
  /* The series in group order (counting sort). */
  if ((gstart = calloc(ng + 2, sizeof(size_t))) == NULL)
    goto done;
  for (size_t i = 0; i < n; i++)
    gstart[gof[i] + 1]++;
  for (size_t g = 0; g < ng; g++)
    gstart[g + 1] += gstart[g];
  if ((fill = calloc(ng + 1, sizeof(size_t))) == NULL)
    goto done;
  for (size_t i = 0; i < n; i++)
    order[gstart[gof[i]] + fill[gof[i]]++] = i;
  for (size_t k = 0; k < steps; k++) {
    int64_t hi = end_ms - (int64_t)k * per;

    for (size_t g = 0; g < ng; g++) {
      size_t np = 0;
      mq_point p;

      for (size_t j = gstart[g]; j < gstart[g + 1]; j++) {
        size_t i = order[j];

        if (align_point(&raw->v[i], agg->aligner, hi - per, hi, per, &al[i]))
          pts[np++] = &al[i];
      }
      if (np && out->v[g].p) {
        memset(&p, 0, sizeof(p));
        p.end = hi;
        p.start = out->v[g].kind == K_DELTA ? hi - per : hi;
        reduce_points(agg->reducer, out->v[g].in_vt, pts, np, out->v[g].buckets,
                      &p);
        push_point(&out->v[g], steps, &p);
      }
      for (size_t j = 0; j < np; j++)
        free_point(pts[j]);
    }
  }
  drop_empty(out);
done:
  free(fill);
  free(gof);
  free(order);
  free(gstart);
  free(al);
  free(pts);
}

mq_set *mq_aggregate(const mq_set *raw, const mq_agg *agg, int64_t start_ms,
                     int64_t end_ms, char *msg, size_t n)
{
  mq_set *out;
  int64_t per = agg->period_ms;
  size_t steps;

  if (agg->aligner == AL_NONE || check_types(raw, agg, msg, n) < 0)
    return NULL; /* ALIGN_NONE: the caller lists the raw set */
  if ((out = calloc(1, sizeof(*out))) == NULL)
    return NULL;
  if (start_ms < 0 || start_ms >= end_ms)
    start_ms = end_ms - per;
  steps = (size_t)((end_ms - start_ms + per - 1) / per);
  if (steps > 100000)
    steps = 100000;
  if (agg->reducer == RD_NONE)
    align_each(raw, agg, end_ms, steps, out);
  else
    reduce_groups(raw, agg, end_ms, steps, out);
  return out;
}

/* --- answers ------------------------------------------------------------ */

static json_object *value_json(const mq_series *s, const mq_point *p)
{
  json_object *v = json_object_new_object();
  char buf[40];

  switch (s->vt) {
  case VT_INT64:
    snprintf(buf, sizeof(buf), "%lld", (long long)llround(p->v));
    json_object_object_add(v, "int64Value", json_object_new_string(buf));
    break;
  case VT_BOOL:
    json_object_object_add(v, "boolValue", json_object_new_boolean(p->v != 0));
    break;
  case VT_DIST: {
    json_object *d = json_object_new_object(), *bc = json_object_new_array();

    snprintf(buf, sizeof(buf), "%lld", (long long)llround(p->d.count));
    json_object_object_add(d, "count", json_object_new_string(buf));
    json_object_object_add(d, "mean", json_object_new_double(p->d.mean));
    if (s->buckets)
      json_object_object_add(d, "bucketOptions", copy(s->buckets));
    for (size_t i = 0; i < p->d.nb; i++) {
      snprintf(buf, sizeof(buf), "%lld", (long long)llround(p->d.b[i]));
      json_object_array_add(bc, json_object_new_string(buf));
    }
    json_object_object_add(d, "bucketCounts", bc);
    json_object_object_add(v, "distributionValue", d);
    break;
  }
  default:
    json_object_object_add(v, "doubleValue", json_object_new_double(p->v));
  }
  return v;
}

json_object *mq_set_json(const mq_set *set, int headers_only, size_t from,
                         size_t max)
{
  json_object *arr = json_object_new_array();

  for (size_t i = from; set && i < set->n && i - from < max; i++) {
    const mq_series *s = &set->v[i];
    json_object *o = json_object_new_object(), *pts = json_object_new_array();
    char t0[32], t1[32];

    json_object_object_foreach(s->src, k, v)
    {
      if (strcmp(k, "points") != 0 && strcmp(k, "metricKind") != 0 &&
          strcmp(k, "valueType") != 0)
        json_object_object_add(o, k, json_object_get(v));
    }
    json_object_object_add(o, "metricKind",
                           json_object_new_string(kind_names[s->kind]));
    json_object_object_add(o, "valueType",
                           json_object_new_string(vt_names[s->vt]));
    for (size_t j = 0; !headers_only && j < s->n; j++) {
      json_object *pt, *iv;

      if (s->p[j].raw) {
        json_object_array_add(pts, json_object_get(s->p[j].raw));
        continue;
      }
      pt = json_object_new_object();
      iv = json_object_new_object();
      json_object_object_add(
          iv, "startTime",
          json_object_new_string(sim_time_str((uint64_t)s->p[j].start, t0)));
      json_object_object_add(
          iv, "endTime",
          json_object_new_string(sim_time_str((uint64_t)s->p[j].end, t1)));
      json_object_object_add(pt, "interval", iv);
      json_object_object_add(pt, "value", value_json(s, &s->p[j]));
      json_object_array_add(pts, pt);
    }
    if (headers_only)
      json_object_put(pts);
    else
      json_object_object_add(o, "points", pts);
    json_object_array_add(arr, o);
  }
  return arr;
}

int mq_series_value(const mq_set *set, size_t i, double *v)
{
  if (set == NULL || i >= set->n || set->v[i].n == 0)
    return 0;
  *v = set->v[i].p[0].v;
  return 1;
}

json_object *mq_series_part(const mq_set *set, size_t i, const char *part)
{
  return set && i < set->n ? json_object_object_get(set->v[i].src, part) : NULL;
}

void mq_series_key(const mq_set *set, size_t i, char *buf, size_t n)
{
  json_object *ts = set->v[i].src;
  const char *parts[] = {"metric", "resource", "metadata"};
  size_t o = 0;

  buf[0] = '\0';
  for (size_t k = 0; k < 3 && o < n; k++) {
    json_object *p = json_object_object_get(ts, parts[k]);
    json_object *l =
        json_object_object_get(p, k == 2 ? "userLabels" : "labels");

    o += (size_t)snprintf(buf + o, n - o, "%s{",
                          k == 1 && js(p, "type") ? js(p, "type") : "");
    if (json_object_is_type(l, json_type_object)) {
      json_object_object_foreach(l, lk, lv)
      {
        if (o < n)
          o += (size_t)snprintf(buf + o, n - o, "%s=%s\x1f", lk,
                                lv ? json_object_get_string(lv) : "");
      }
    }
    if (o < n)
      o += (size_t)snprintf(buf + o, n - o, "}");
  }
}
