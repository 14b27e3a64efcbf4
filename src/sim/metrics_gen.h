/*
 * metrics_gen.h - the built-in metrics the simulator derives from what it
 * simulates: the load balancer's requests and latencies per backend
 * service, Cloud SQL's up/connections/CPU, the VMs' CPU and memory (the
 * Ops Agent's), and the app's active users. Their values at any time come
 * from the resources, the usage model (POST /_sim/usage) and the history
 * of the faults that drive them; nothing is stored per point.
 */
#ifndef EDV_SIM_METRICS_GEN_H
#define EDV_SIM_METRICS_GEN_H

#include <stdint.h>

#include <json-c/json.h>

#include "sim/sim.h"

/*
 * Appends to `out` (a JSON array) one Monitoring TimeSeries per simulated
 * series of metric type `type` with points in (start_ms, end_ms]: raw
 * points, one per `step_ms` (the metric's sampling period, 60 s, when 0),
 * newest first, as timeSeries.list returns them without aggregation
 * ({"interval": {"startTime", "endTime"}, "value": {...}}; a DELTA point's
 * startTime is its endTime less the step). Each series carries `metric`
 * {type, labels}, `resource` {type, labels}, `metricKind`, `valueType`
 * and, for resources with user labels, `metadata` {userLabels}.
 *
 * Returns 1 when `type` is one the simulator generates (even if no series
 * has a point in the range), 0 when not: the caller then looks in the
 * series written with timeSeries.create.
 */
int sim__metrics_generate(sim *s, const char *type, int64_t start_ms,
                          int64_t end_ms, int64_t step_ms, json_object *out);

#endif
