/*
 * stephist.c - the step-duration histogram of /metrics (see stephist.h).
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

typedef struct stephist_series {
  char step[STEPHIST_NAME_SZ];
  uint64_t buckets[EDV_STEPHIST_NBUCKETS]; /* not cumulative */
  uint64_t count;
  uint64_t sum_ms;
} stephist_series;

struct edv__stephist {
  stephist_series series[EDV_STEPHIST_MAXSTEPS];
  unsigned n;
  uint64_t dropped;
};

edv__stephist *edv__stephist_new(void)
{
  return calloc(1, sizeof(edv__stephist));
}

void edv__stephist_free(edv__stephist *h)
{
  free(h);
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
  stephist_series *s = NULL;
  unsigned i;

  if (!h)
    return;
  if (!step || !stephist_name_ok(step)) {
    h->dropped++;
    return;
  }
  for (i = 0; i < h->n; i++)
    if (strcmp(h->series[i].step, step) == 0) {
      s = &h->series[i];
      break;
    }
  if (!s) {
    if (h->n == EDV_STEPHIST_MAXSTEPS) {
      h->dropped++;
      return;
    }
    s = &h->series[h->n++];
    snprintf(s->step, sizeof(s->step), "%s", step);
  }
  s->count++;
  s->sum_ms += elapsed_ms;
  /* le is inclusive: a value equal to a bound belongs to that bucket. */
  for (i = 0; i < EDV_STEPHIST_NBUCKETS; i++)
    if ((double)elapsed_ms <= edv__stephist_bounds[i] * 1000.0) {
      s->buckets[i]++;
      break;
    }
}

uint64_t edv__stephist_dropped(const edv__stephist *h)
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

char *edv__stephist_render(const edv__stephist *h, size_t *len)
{
  stephist_buf b = {NULL, 0, 0, 0};

  sh_printf(&b, "# HELP edv_step_duration_seconds Duration of completed "
                "tenant steps (the attempt that completed).\n"
                "# TYPE edv_step_duration_seconds histogram\n");
  for (unsigned i = 0; h && i < h->n; i++) {
    const stephist_series *s = &h->series[i];
    uint64_t cum = 0;

    for (unsigned k = 0; k < EDV_STEPHIST_NBUCKETS; k++) {
      cum += s->buckets[k];
      sh_printf(&b,
                "edv_step_duration_seconds_bucket{step=\"%s\",le=\"%g\"} "
                "%llu\n",
                s->step, edv__stephist_bounds[k], (unsigned long long)cum);
    }
    sh_printf(&b,
              "edv_step_duration_seconds_bucket{step=\"%s\",le=\"+Inf\"} "
              "%llu\n"
              "edv_step_duration_seconds_sum{step=\"%s\"} %.3f\n"
              "edv_step_duration_seconds_count{step=\"%s\"} %llu\n",
              s->step, (unsigned long long)s->count, s->step,
              (double)s->sum_ms / 1000.0, s->step,
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
