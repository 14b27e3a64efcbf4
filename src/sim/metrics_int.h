/*
 * metrics_int.h - what the two files of the built-in metrics share:
 * metrics_model.c (the index a query builds and the model) and
 * metrics_gen.c (the series of each metric type). See metrics_gen.h.
 */
#ifndef EDV_SIM_METRICS_INT_H
#define EDV_SIM_METRICS_INT_H

#include <stdint.h>

#include <json-c/json.h>

#include "sim/sim_int.h"

#define MG_STEP       60000
#define MG_MIN_STEP   1000
#define MG_MAX_POINTS 100000 /* per series: older points are not generated */
#define MG_MAX_HIST   32     /* faults of one target per query */
#define MG_NAME       128
#define MG_MAX_CODES  16

#define LB_PREFIX   "loadbalancing.googleapis.com/https/"
#define T_REQUESTS  LB_PREFIX "request_count"
#define T_BACKEND_L LB_PREFIX "backend_latencies"
#define T_TOTAL_L   LB_PREFIX "total_latencies"
#define T_CPU       "compute.googleapis.com/instance/cpu/utilization"
#define T_MEMORY    "agent.googleapis.com/memory/percent_used"
#define T_SQL_UP    "cloudsql.googleapis.com/database/up"
#define T_SQL_CONN  "cloudsql.googleapis.com/database/network/connections"
#define T_SQL_CPU   "cloudsql.googleapis.com/database/cpu/utilization"
#define T_USERS     "custom.googleapis.com/edvirons/active_users"

typedef struct mg_member {
  char *vm;            /* canonical */
  size_t bs;           /* index of its backend service */
  size_t group;        /* index of its group */
  int healthy;         /* now, in the boot model */
  uint64_t healthy_ms; /* since when (its boot finished) */
} mg_member;

typedef struct mg_group {
  char name[MG_NAME], zone[MG_NAME];
  size_t m0, nm; /* members */
} mg_group;

typedef struct mg_bs {
  char canon[2 * MG_NAME], name[MG_NAME];
  int classic; /* EXTERNAL: 502 for no healthy member */
  size_t g0, ng;
  char fr[MG_NAME], proxy[MG_NAME], map[MG_NAME];
  int https;          /* fr's proxy is a target HTTPS proxy */
  int64_t created_ms; /* no modelled traffic before (0: unknown) */
} mg_bs;

typedef struct mg_ctx {
  sim *s;
  int64_t start, end, step;
  mg_bs *bs;
  size_t nbs, capbs;
  mg_group *g;
  size_t ng, capg;
  mg_member *m;
  size_t nm, capm;
  json_object *vm_ix;     /* VM canonical name -> member index */
  json_object *tenant_ix; /* edv-tenant -> backend service index */
  json_object *out;
  const char *type;
} mg_ctx;

/* metrics_model.c: the index of a query and the model. */
const char *mg_base(const char *name);               /* a name's last segment */
const char *mg_str(json_object *o, const char *key); /* a string, or NULL */
/* In [0, 1): a hash of the series key and the time. */
double mg_jitter(const char *key, int64_t t);
/* The metric fault of kind on target active at t (the latest), or NULL. */
const sim_mhist *mg_fault_at(sim *s, int kind, const char *target, int64_t t);
/* The index of the backend services, freed by mg_index_free(): with
 * their forwarding rules, proxies and URL maps (MG_IX_FRONTENDS), with
 * their members' health (MG_IX_HEALTH; else every member is unhealthy). */
#define MG_IX_FRONTENDS 1
#define MG_IX_HEALTH    2
void mg_index_build(mg_ctx *c, int flags);
void mg_index_free(mg_ctx *c);
int mg_member_healthy_at(const mg_member *m, int64_t t);
/* Healthy members at t of group gi, or of the whole backend service bi
 * when gi is (size_t)-1. */
size_t mg_healthy_at(mg_ctx *c, size_t bi, size_t gi, int64_t t);
/* A VM's CPU at t (vmLoad, else the model); m NULL for a VM of no
 * backend service. */
double mg_vm_cpu(mg_ctx *c, const char *vm, const mg_member *m, int64_t t);
/* Backend latency (ms) of group gi at t. */
double mg_group_latency(mg_ctx *c, size_t gi, int64_t t);
/* Requests of group gi of backend service bi answering code in the point
 * ending at t. */
long mg_group_count(mg_ctx *c, size_t bi, size_t gi, int code, int64_t t);

#endif /* EDV_SIM_METRICS_INT_H */
