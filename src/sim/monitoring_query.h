/*
 * monitoring_query.h - Cloud Monitoring's read side, shared by
 * timeSeries.list (monitoring.c) and the alert-policy evaluator
 * (alerting.c): the filter language, the series a filter selects over an
 * interval (the built-in metrics of metrics_gen.h, else the series written
 * with timeSeries.create), and aggregation (per-series aligner, then a
 * cross-series reducer over groupByFields).
 *
 * Everything refused answers Google's 400 text in `msg`.
 */
#ifndef EDV_SIM_MONITORING_QUERY_H
#define EDV_SIM_MONITORING_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sim/sim.h"

#define MQ_MAX_GROUP_BY 16

typedef struct mq_filter mq_filter;
typedef struct mq_set mq_set;

typedef struct mq_agg {
  int64_t period_ms; /* aggregation.alignmentPeriod; 0 when absent */
  int aligner;       /* 0: ALIGN_NONE */
  int reducer;       /* 0: REDUCE_NONE */
  size_t n_group_by;
  char group_by[MQ_MAX_GROUP_BY][160];
} mq_agg;

/* A google.protobuf.Duration ("60s", "1.5s") in ms, or -1. */
int64_t mq_duration_ms(const char *d);

/* A filter ("metric.type = \"...\" AND resource.label.x = \"y\""); NULL
 * with msg filled when it does not parse or names no single metric.type. */
mq_filter *mq_filter_parse(const char *text, char *msg, size_t n);
void mq_filter_free(mq_filter *f);
const char *mq_filter_type(const mq_filter *f);

/* An Aggregation object (an alert condition's `aggregations[i]`); `where`
 * names the field in messages. NULL a is no aggregation. 0 or -1. */
int mq_agg_json(json_object *a, const char *where, mq_agg *out, char *msg,
                size_t n);
/* The query parameters `prefix`.alignmentPeriod, .perSeriesAligner,
 * .crossSeriesReducer, .groupByFields (repeated) of a request. 0 or -1;
 * *given says whether any was present. */
int mq_agg_query(sim_req *req, const char *prefix, mq_agg *out, int *given,
                 char *msg, size_t n);

/* The series the filter selects with their points in (start_ms, end_ms]
 * (start_ms < 0: every stored point up to end_ms). */
mq_set *mq_fetch(sim *s, const mq_filter *f, int64_t start_ms, int64_t end_ms);
/* The aligned (then reduced) series: one point per alignment period ending
 * at end_ms, end_ms - period, ... after start_ms. NULL with msg filled when
 * Monitoring refuses the combination for these series. */
mq_set *mq_aggregate(const mq_set *raw, const mq_agg *agg, int64_t start_ms,
                     int64_t end_ms, char *msg, size_t n);
void mq_set_free(mq_set *set);

size_t mq_set_len(const mq_set *set);
/* Series [from, from + max) as timeSeries.list answers them (headers_only:
 * view=HEADERS, no points). */
json_object *mq_set_json(const mq_set *set, int headers_only, size_t from,
                         size_t max);
/* Series i's newest point as a number (a distribution: its mean); 0 when
 * it has none. */
int mq_series_value(const mq_set *set, size_t i, double *v);
/* Series i's labels: "metric", "resource" or "metadata" objects
 * (borrowed; NULL when absent). */
json_object *mq_series_part(const mq_set *set, size_t i, const char *part);
/* A key naming series i by its metric labels, resource type and labels
 * and user labels (its group, after groupByFields; not its metric type,
 * so a ratio's numerator and denominator match). */
void mq_series_key(const mq_set *set, size_t i, char *buf, size_t n);

#endif
