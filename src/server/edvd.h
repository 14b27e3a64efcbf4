/*
 * edvd.h - the reconciler service: one uv loop holding the Management API
 * server (server/httpd.h), the tenant fleet (tenant/machine.h), the engine
 * and, with --sim, the embedded simulator.
 *
 * edvd.c owns the life of the service (start, resume, signals, shutdown)
 * and the runs it drives; api.c answers the Management API on top of it.
 */
#ifndef EDV_SERVER_EDVD_H
#define EDV_SERVER_EDVD_H

#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "edv/config.h"
#include "edv/engine.h"
#include "edv/sim.h"
#include "server/httpd.h"
#include "server/tokens.h"
#include "store/store.h"
#include "tenant/machine.h"
#include "tenant/tiers.h"

/* Largest request body the API accepts (a spec is well under 2 KiB). */
#define EDVD_MAX_BODY (64u * 1024u)

/* Bounded shutdown: runs get this long to reach a durable point. */
#define EDVD_STOP_GRACE_MS 10000u

typedef struct edvd_opts {
  const char *config_file; /* --config, or NULL (EDV_CONFIG) */
  const char *listen;      /* --listen HOST:PORT, or NULL (server.listen) */
  const char *state_dir;   /* --state-dir, or NULL */
  const char *profile;     /* --profile (simulator latency), or NULL */
  int use_sim;             /* --sim */
  const char *const *tiers_fallbacks; /* installed / source tiers.json */
} edvd_opts;

/* A tenant this process is driving. */
typedef struct edvd_run {
  struct edvd_run *next;
  char id[EDV_STORE_ID_SZ];
  edv__direction dir;
  int then_down; /* stop asked by a DELETE: drive down once it ends */
} edvd_run;

typedef struct edvd_drift edvd_drift;
typedef struct edvd_heal edvd_heal;

typedef struct edvd {
  uv_loop_t *loop;
  edvd_opts opts;
  edv_config *cfg;
  char state_dir[512];
  char tokens_path[600];
  char audit_path[600];
  char listen_host[64];
  unsigned listen_port;
  edv_sim *sim;
  edv_engine *engine;
  edv_store *store;
  edv__tiers *tiers;
  edv__fleet *fleet;
  edv_httpd *httpd;
  edv__tokens *tokens;
  int audit_fd;
  edvd_run *runs;
  unsigned nruns;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t stop_timer; /* bounds the shutdown */
  uv_timer_t reconcile_timer;
  int stopping; /* SIGTERM/SIGINT seen */
  int exit_code;
  uint64_t started_ms; /* wall clock */
  /* The periodic pass (resume of interrupted tenants). */
  uint64_t reconcile_interval_ms;
  uint64_t passes;
  int64_t last_pass_ms; /* wall clock of the last pass start */
  uint64_t last_pass_dur_ms;
  unsigned last_pass_started; /* runs it started */
  /* Drift detection (drift.c). */
  edvd_drift *drift; /* the pass in flight, or NULL */
  uint64_t drift_passes, drift_repairs;
  unsigned drift_last_calls;
  uint64_t drift_last_ms;
  json_object *vm_zones; /* VM name -> zone, from the last drift pass */
  json_object *orphans;  /* VMs labelled for no live tenant (last pass) */
  /* Health probes and auto-healing (heal.c). */
  uv_timer_t health_timer;
  uint64_t health_interval_ms;
  unsigned heal_after;        /* consecutive unhealthy probes before reset */
  unsigned heal_max_per_hour; /* resets per tenant per hour, then alert */
  edvd_heal *heal;            /* per-tenant probe state */
  uint64_t heal_probes, heal_unhealthy, heal_resets, heal_degraded;
  /* Counters for /metrics. */
  uint64_t http_requests[6]; /* by status class 1xx..5xx (index 1..5) */
  uint64_t runs_started, runs_ready, runs_failed, runs_deleted;
  /* Regions the Compute API confirmed (they do not disappear). */
  char regions[16][48];
  unsigned nregions;
} edvd;

/* Starts everything; on failure logs and returns non-zero (exit code). */
int edvd_start(edvd *d, uv_loop_t *loop, const edvd_opts *opts);
/* Runs the loop until shut down; returns the exit code. */
int edvd_run_loop(edvd *d);

/* Drives `id` in `dir`, tracking the run. EDV_EBUSY when already driven
 * here in that direction (a no-op for callers). */
int edvd_drive(edvd *d, const char *id, edv__direction dir, edv_error *err);
/* The run of `id` in this process, or NULL. */
edvd_run *edvd_find_run(edvd *d, const char *id);
/* Stops the run of `id` and drives it down once stopped. */
void edvd_stop_then_down(edvd *d, edvd_run *r);
/* One pass: resume every tenant left PENDING / PROVISIONING /
 * DEPROVISIONING that nobody drives. Returns how many it started. */
unsigned edvd_reconcile_pass(edvd *d);
/* Starts a drift pass (drift.c) unless one is in flight: a fixed number
 * of label-filtered list calls for the whole fleet, then READY tenants
 * whose VM or firewall rules are missing or changed are driven again. */
int edvd_drift_pass(edvd *d);
/* Probes every READY tenant's VM health once (heal.c) and resets VMs
 * unhealthy for heal_after probes, within heal_max_per_hour. */
void edvd_heal_pass(edvd *d);
void edvd_heal_free(edvd *d);
/* Reloads the config file's reloadable keys and the token file. */
int edvd_reload(edvd *d, edv_error *err);

/* api.c: the request handler given to httpd, and an error body for the
 * answers httpd makes itself (413, 503, 504). */
void edvd_api_handle(void *data, edv_http_req *req);
char *edvd_api_error_body(void *data, unsigned status, const char *text,
                          const char **ctype, size_t *len);

/* The embedded OpenAPI document (generated from docs/openapi.json). */
extern const char edvd_openapi_json[];

#endif /* EDV_SERVER_EDVD_H */
