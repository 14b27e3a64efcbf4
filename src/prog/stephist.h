/*
 * stephist.h - the step-duration histogram of /metrics.
 *
 * edvd observes the duration of every completed tenant step (the attempt
 * that completed, from the fleet's step-done event) and /metrics renders
 * it as the Prometheus histogram edv_step_duration_seconds{step="..."}
 * with cumulative _bucket{le="..."} series, _sum and _count. The buckets
 * (0.1 s to 20 min) cover the simulator's fast profile as well as real
 * Cloud SQL instances and certificates.
 */
#ifndef EDV_PROG_STEPHIST_H
#define EDV_PROG_STEPHIST_H

#include <stddef.h>
#include <stdint.h>

#define EDV_STEPHIST_NBUCKETS 11 /* finite buckets; +Inf is _count */
#define EDV_STEPHIST_MAXSTEPS 64 /* distinct step names kept */

/* The finite upper bounds, in seconds, ascending. */
extern const double edv__stephist_bounds[EDV_STEPHIST_NBUCKETS];

typedef struct edv__stephist edv__stephist;

/* NULL on ENOMEM. */
edv__stephist *edv__stephist_new(void);
void edv__stephist_free(edv__stephist *h);

/* Records one duration of `step` (a step name: [a-z0-9_]). Names beyond
 * EDV_STEPHIST_MAXSTEPS distinct ones, empty or too long are dropped and
 * counted (edv__stephist_dropped). */
void edv__stephist_observe(edv__stephist *h, const char *step,
                           uint64_t elapsed_ms);
uint64_t edv__stephist_dropped(const edv__stephist *h);

/* The histogram in the Prometheus text format (HELP and TYPE lines
 * included, steps in first-seen order), NUL-terminated, malloc'ed; *len
 * (may be NULL) gets its length. NULL on ENOMEM. */
char *edv__stephist_render(const edv__stephist *h, size_t *len);

#endif /* EDV_PROG_STEPHIST_H */
