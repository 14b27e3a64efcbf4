/*
 * stephist.c - the histograms of /metrics (see stephist.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prog/stephist.h"

#define STEPHIST_NAME_SZ 48

const double edv__stephist_bounds[EDV_STEPHIST_NBUCKETS] = {
    0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200,
};

typedef struct hist_series {
  char labels[EDV_HIST_LABELS_SZ];
  uint64_t buckets[EDV_HIST_MAXBOUNDS]; /* not cumulative */
  uint64_t count;
  uint64_t sum_us;
} hist_series;

struct edv__hist {
  const char *name, *help;
  double bounds[EDV_HIST_MAXBOUNDS];
  unsigned nbounds, max, n;
  uint64_t dropped;
  hist_series series[]; /* max of them */
};

edv__hist *edv__hist_new(const char *name, const char *help,
                         const double *bounds, unsigned nbounds,
                         unsigned max_series)
{
  edv__hist *h;

  if (nbounds == 0 || nbounds > EDV_HIST_MAXBOUNDS || max_series == 0)
    return NULL;
  for (unsigned i = 1; i < nbounds; i++)
    if (!(bounds[i] > bounds[i - 1]))
      return NULL;
  h = calloc(1, sizeof(*h) + (size_t)max_series * sizeof(hist_series));
  if (!h)
    return NULL;
  h->name = name;
  h->help = help;
  memcpy(h->bounds, bounds, nbounds * sizeof(*bounds));
  h->nbounds = nbounds;
  h->max = max_series;
  return h;
}

void edv__hist_free(edv__hist *h)
{
  free(h);
}

void edv__hist_observe(edv__hist *h, const char *labels, uint64_t elapsed_us)
{
  hist_series *s = NULL;
  unsigned i;

  if (!h)
    return;
  if (!labels || strlen(labels) >= EDV_HIST_LABELS_SZ) {
    h->dropped++;
    return;
  }
  for (i = 0; i < h->n; i++)
    if (strcmp(h->series[i].labels, labels) == 0) {
      s = &h->series[i];
      break;
    }
  if (!s) {
    if (h->n == h->max) {
      h->dropped++;
      return;
    }
    s = &h->series[h->n++];
    snprintf(s->labels, sizeof(s->labels), "%s", labels);
  }
  s->count++;
  s->sum_us += elapsed_us;
  /* le is inclusive: a value equal to a bound belongs to that bucket. */
  for (i = 0; i < h->nbounds; i++)
    if ((double)elapsed_us <= h->bounds[i] * 1e6) {
      s->buckets[i]++;
      break;
    }
}

uint64_t edv__hist_dropped(const edv__hist *h)
{
  return h ? h->dropped : 0;
}

typedef struct stephist_buf {
  char *p;
  size_t len, cap;
  int failed;
} stephist_buf;

static void sh_printf(stephist_buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (b->failed)
    return;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt,
                  ap);
    va_end(ap);
    if (n < 0) {
      b->failed = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    {
      size_t cap = b->cap ? b->cap * 2 : 4096;
      char *np;
      while (cap < b->len + (size_t)n + 1)
        cap *= 2;
      np = realloc(b->p, cap);
      if (!np) {
        b->failed = 1;
        return;
      }
      b->p = np;
      b->cap = cap;
    }
  }
}

char *edv__hist_render(const edv__hist *h, size_t *len)
{
  stephist_buf b = {NULL, 0, 0, 0};

  if (!h)
    return NULL;
  sh_printf(&b, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help,
            h->name);
  for (unsigned i = 0; i < h->n; i++) {
    const hist_series *s = &h->series[i];
    const char *sep = s->labels[0] ? "," : "";
    uint64_t cum = 0;

    for (unsigned k = 0; k < h->nbounds; k++) {
      cum += s->buckets[k];
      sh_printf(&b, "%s_bucket{%s%sle=\"%g\"} %llu\n", h->name, s->labels, sep,
                h->bounds[k], (unsigned long long)cum);
    }
    sh_printf(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", h->name, s->labels, sep,
              (unsigned long long)s->count);
    sh_printf(&b,
              s->labels[0] ? "%s_sum{%s} %.6f\n%s_count{%s} %llu\n"
                           : "%s_sum%s %.6f\n%s_count%s %llu\n",
              h->name, s->labels, (double)s->sum_us / 1e6, h->name, s->labels,
              (unsigned long long)s->count);
  }
  if (b.failed) {
    free(b.p);
    return NULL;
  }
  if (len)
    *len = b.len;
  return b.p;
}

edv__stephist *edv__stephist_new(void)
{
  return edv__hist_new("edv_step_duration_seconds",
                       "Duration of completed tenant steps (the attempt that "
                       "completed).",
                       edv__stephist_bounds, EDV_STEPHIST_NBUCKETS,
                       EDV_STEPHIST_MAXSTEPS);
}

void edv__stephist_free(edv__stephist *h)
{
  edv__hist_free(h);
}

/* A label value needs no escaping when it is a plain step name. */
static int stephist_name_ok(const char *s)
{
  size_t n = 0;

  for (; s[n]; n++)
    if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
          s[n] == '_' || s[n] == '-' || s[n] == '.'))
      return 0;
  return n > 0 && n < STEPHIST_NAME_SZ;
}

void edv__stephist_observe(edv__stephist *h, const char *step,
                           uint64_t elapsed_ms)
{
  char labels[STEPHIST_NAME_SZ + 8];

  if (!h)
    return;
  if (!step || !stephist_name_ok(step)) {
    h->dropped++;
    return;
  }
  snprintf(labels, sizeof(labels), "step=\"%s\"", step);
  edv__hist_observe(h, labels, elapsed_ms * 1000u);
}

uint64_t edv__stephist_dropped(const edv__stephist *h)
{
  return edv__hist_dropped(h);
}

char *edv__stephist_render(const edv__stephist *h, size_t *len)
{
  return edv__hist_render(h, len);
}
