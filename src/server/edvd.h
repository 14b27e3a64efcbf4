/*
 * edvd.h - the reconciler service: one uv loop holding the Management API
 * server (httpd/httpd.h), the tenant fleet (tenant/machine.h), the engine
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
#include "httpd/httpd.h"
#include "prog/stephist.h"
#include "prog/tokens.h"
#include "store/store.h"
#include "fleet/fleet.h"
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

/* A tenant this process is driving (the fleet keeps the runs). */
typedef edv__fleet_run edvd_run;

typedef struct edvd_drift edvd_drift;

/* The list kinds of a drift pass and the kinds of orphans (drift.c). */
#define EDVD_DRIFT_KINDS  7
#define EDVD_ORPHAN_KINDS 5
extern const char *const edvd_drift_kinds[EDVD_DRIFT_KINDS];
extern const char *const edvd_orphan_kinds[EDVD_ORPHAN_KINDS];
typedef struct edvd_heal edvd_heal;

typedef struct edvd {
  uv_loop_t *loop;
  edvd_opts opts;
  edv_config *cfg;
  char state_dir[512];
  char tokens_path[600];
  char audit_path[600];
  char listen_host[64];
  char cors[1024]; /* server.cors_origins ("none": CORS off) */
  unsigned listen_port;
  edv_sim *sim;
  edv_engine *engine;
  edv_fleet *ef;     /* the fleet (fleet/fleet.h); the three below are its */
  edv_store *store;  /* ef->store */
  edv__tiers *tiers; /* ef->tiers */
  edv__fleet *fleet; /* ef->machine */
  edv_httpd *httpd;
  edv__tokens *tokens;
  int audit_fd;
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
  json_object *vm_zones;      /* VM name -> zone, from the last drift pass */
  json_object *orphans;       /* [{kind, name, tenant}] of the last pass */
  uint64_t drift_interval_ms; /* server.drift_interval_s */
  uv_timer_t drift_timer;     /* runs edvd_drift_pass */
  int delete_orphans;         /* server.delete_orphans */
  unsigned drift_calls_by_kind[EDVD_DRIFT_KINDS]; /* last pass's pages */
  unsigned orphan_counts[EDVD_ORPHAN_KINDS];      /* last pass's orphans */
  unsigned drift_last_drifted; /* tenants drifted in the last pass */
  uint64_t orphans_deleted;    /* deletions that succeeded */
  json_object *drift_state;    /* tenant -> back-off of an unresolved drift */
  json_object *orphans_asked;  /* "kind/name" -> pass its deletion was asked */
  json_object *orphans_seen;   /* "kind/name" -> wall ms first seen */
  uint64_t orphan_grace_ms;    /* server.orphan_grace_s */
  /* Health probes and auto-healing (heal.c). */
  uv_timer_t health_timer;
  uv_timer_t watchdog_timer; /* notify.c: systemd's WATCHDOG=1 */
  uv_timer_t snapshot_timer; /* snapshot.c: state.snapshot_* */
  int snapshot_busy;         /* a snapshot is being written */
  uint64_t health_interval_ms;
  unsigned heal_after;        /* consecutive unhealthy probes before reset */
  unsigned heal_max_per_hour; /* resets per tenant per hour, then alert */
  edvd_heal *heal;            /* probe queue, per-tenant state, figures */
  uint64_t heal_probes, heal_unhealthy, heal_resets, heal_degraded;
  uint64_t probe_timeout_ms; /* server.probe_timeout_s */
  char probe_via[256];       /* server.probe_via (--sim: the simulator) */
  /* Counters for /metrics. */
  uint64_t http_requests[6]; /* by status class 1xx..5xx (index 1..5) */
  uint64_t runs_started, runs_ready, runs_failed, runs_deleted;
  edv__stephist *step_hist; /* step durations (fleet events), lazily */
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
/* Queues a journal entry on the fleet's group commit (durable at the end
 * of this loop turn, in order with the runs' records; a locked store is
 * retried from a timer); without a fleet, appends it at once. A write that
 * fails for good is logged as an error; -1 when it could not be queued
 * nor written. */
int edvd_journal(edvd *d, const edv__journal_rec *j);
/* Stops the run of `id` and drives it down once stopped. */
void edvd_stop_then_down(edvd *d, edvd_run *r);
/* One pass: resume every tenant left PENDING / PROVISIONING /
 * DEPROVISIONING that nobody drives. Returns how many it started. */
unsigned edvd_reconcile_pass(edvd *d);
/* Starts a drift pass (drift.c) unless one is in flight or the platform
 * is not READY: a fixed number of filtered list calls for the whole fleet
 * (EDVD_DRIFT_KINDS, each one page up to the API's page size), then READY
 * tenants whose resources are missing or changed are driven again (with a
 * per-tenant back-off when that does not fix them), and orphans are
 * reported (deleted with server.delete_orphans). */
int edvd_drift_pass(edvd *d);
/* Starts a probe round (heal.c): GET /health of every READY tenant through
 * its hostname, results written as custom metrics once the round ends;
 * VMs unhealthy for heal_after probes are reset, within heal_max_per_hour. */
void edvd_heal_pass(edvd *d);
void edvd_heal_free(edvd *d);
/* Probe figures for /metrics (Prometheus text, malloc'd; NULL on ENOMEM)
 * and for /api/infrastructure/status (added to `rc`, which is returned). */
char *edvd_heal_prometheus(edvd *d);
json_object *edvd_heal_status(edvd *d, json_object *rc);
/* Reloads the config file's reloadable keys and the token file. */
int edvd_reload(edvd *d, edv_error *err);
/* notify.c: systemd's notifications ("READY=1", "STOPPING=1", ...; nothing
 * outside systemd) and the watchdog timer, armed when the unit asks for
 * one (closed with edvd's other handles). */
void edvd_notify(edvd *d, const char *state);
void edvd_notify_start(edvd *d);
/* snapshot.c: the store snapshot timer (state.snapshot_*; closed with
 * edvd's other handles). */
void edvd_snapshot_start(edvd *d);

/* api.c: the request handler given to httpd, and an error body for the
 * answers httpd makes itself (413, 503, 504). */
void edvd_api_handle(void *data, edv_http_req *req);
char *edvd_api_error_body(void *data, unsigned status, const char *text,
                          const char **ctype, size_t *len);

/* api_audit.c: appends the object as one line to the audit log. */
void edvd_audit_line(edvd *d, json_object *o);

/* The embedded OpenAPI document (generated from docs/openapi.json). */
extern const char edvd_openapi_json[];

#endif /* EDV_SERVER_EDVD_H */
