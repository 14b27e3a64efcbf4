/*
 * stephist.h - the histograms of /metrics.
 *
 * edv__hist is one Prometheus histogram family: a name, fixed bucket
 * bounds and a bounded number of series, each keyed by its label pairs.
 * It renders in the text format with cumulative _bucket{le="..."} series
 * (le inclusive), +Inf, _sum and _count.
 *
 * edvd observes the duration of every completed tenant step (the attempt
 * that completed, from the fleet's step-done event) in
 * edv_step_duration_seconds{step="..."} (edv__stephist: buckets 0.1 s to
 * 20 min, for the simulator's fast profile as well as real Cloud SQL
 * instances and certificates), and the duration of every Management API
 * answer in edv_http_request_duration_seconds (src/server/api.c).
 */
#ifndef EDV_PROG_STEPHIST_H
#define EDV_PROG_STEPHIST_H

#include <stddef.h>
#include <stdint.h>

#define EDV_HIST_MAXBOUNDS    16  /* finite buckets of one family */
#define EDV_HIST_LABELS_SZ    160 /* a series' label pairs, NUL included */
#define EDV_STEPHIST_NBUCKETS 11  /* finite buckets; +Inf is _count */
#define EDV_STEPHIST_MAXSTEPS 64  /* distinct step names kept */

typedef struct edv__hist edv__hist;

/* A family `name` with its HELP text (both static strings, not copied),
 * `nbounds` (1..EDV_HIST_MAXBOUNDS) finite upper bounds in seconds,
 * ascending, and at most `max_series` series. NULL on ENOMEM or bad
 * bounds. */
edv__hist *edv__hist_new(const char *name, const char *help,
                         const double *bounds, unsigned nbounds,
                         unsigned max_series);
void edv__hist_free(edv__hist *h);

/* Records one duration in the series of `labels`, the label pairs as
 * written in the exposition (`route="/healthz",method="GET"`; "" for
 * none), which the caller has made safe (no quote, backslash or newline
 * in a value). A new series beyond max_series, or labels too long, are
 * dropped and counted (edv__hist_dropped). */
void edv__hist_observe(edv__hist *h, const char *labels, uint64_t elapsed_us);
uint64_t edv__hist_dropped(const edv__hist *h);

/* The family in the Prometheus text format (HELP and TYPE lines included,
 * series in first-seen order), NUL-terminated, malloc'ed; *len (may be
 * NULL) gets its length. NULL on ENOMEM. */
char *edv__hist_render(const edv__hist *h, size_t *len);

/* edv_step_duration_seconds: a histogram whose one label is `step`. */
typedef edv__hist edv__stephist;

/* The finite upper bounds, in seconds, ascending. */
extern const double edv__stephist_bounds[EDV_STEPHIST_NBUCKETS];

/* NULL on ENOMEM. */
edv__stephist *edv__stephist_new(void);
void edv__stephist_free(edv__stephist *h);

/* Records one duration of `step` (a step name: [a-z0-9_]). Names beyond
 * EDV_STEPHIST_MAXSTEPS distinct ones, empty or too long are dropped and
 * counted (edv__stephist_dropped). */
void edv__stephist_observe(edv__stephist *h, const char *step,
                           uint64_t elapsed_ms);
uint64_t edv__stephist_dropped(const edv__stephist *h);

/* edv__hist_render of the step histogram. */
char *edv__stephist_render(const edv__stephist *h, size_t *len);

#endif /* EDV_PROG_STEPHIST_H */
