/*
 * metrics_gen.c - the simulator's built-in metrics (metrics_gen.h).
 *
 * NOT WRITTEN YET: no metric type is generated; every query falls back to
 * the series written with timeSeries.create.
 */
#include "sim/metrics_gen.h"

int sim__metrics_generate(sim *s, const char *type, int64_t start_ms,
                          int64_t end_ms, int64_t step_ms, json_object *out)
{
  (void)s;
  (void)type;
  (void)start_ms;
  (void)end_ms;
  (void)step_ms;
  (void)out;
  return 0;
}
