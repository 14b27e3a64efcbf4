/*
 * edvd.h - the reconciler service: one uv loop holding the Management API
 * server (httpd/httpd.h), the fleet (edv/fleet.h), the engine and, with
 * --sim, the embedded simulator. edvd uses libedv's public API only
 * (include/edv/) and the programs' support (httpd/, prog/, common/args.h).
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
#include "edv/fleet.h"
#include "edv/sim.h"
#include "httpd/httpd.h"
#include "prog/stephist.h"
#include "prog/tokens.h"

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

typedef struct edvd {
  uv_loop_t *loop;
  edvd_opts opts;
  edv_config *cfg;
  char state_dir[512];
  char tokens_path[600];
  char audit_path[600];
  char listen_host[64];
  char cors[1024];       /* server.cors_origins ("none": CORS off) */
  char *intake_password; /* alerts.intake_password_file's, NULL: none */
  unsigned listen_port;
  edv_sim *sim;
  edv_engine *engine;
  edv_fleet *ef; /* the fleet (edv/fleet.h) */
  edv_httpd *httpd;
  edv__tokens *tokens;
  int audit_fd;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t stop_timer; /* bounds the shutdown */
  uv_timer_t reconcile_timer;
  int stopping; /* SIGTERM/SIGINT seen */
  int exit_code;
  uint64_t started_ms; /* wall clock */
  /* The passes of the fleet's reconciler (edv/fleet.h), on timers. */
  uint64_t reconcile_interval_ms; /* server.reconcile_interval_s */
  uint64_t drift_interval_ms;     /* server.drift_interval_s */
  uint64_t health_interval_ms;    /* server.health_interval_s */
  uv_timer_t drift_timer;
  uint64_t last_backup_check; /* uv_now of the last backup check, 0: none */
  uv_timer_t health_timer;
  uv_timer_t watchdog_timer; /* notify.c: systemd's WATCHDOG=1 */
  uv_timer_t snapshot_timer; /* snapshot.c: state.snapshot_* */
  int snapshot_busy;         /* a snapshot is being written */
  /* Counters for /metrics. */
  uint64_t http_requests[6]; /* by status class 1xx..5xx (index 1..5) */
  uint64_t runs_ready, runs_failed, runs_deleted;
  edv__stephist *step_hist; /* step durations (fleet events) */
  edv__hist *req_hist;      /* API answer durations by route */
} edvd;

/* Starts everything; on failure logs and returns non-zero (exit code). */
int edvd_start(edvd *d, uv_loop_t *loop, const edvd_opts *opts);
/* Runs the loop until shut down; returns the exit code. */
int edvd_run_loop(edvd *d);

/* Starts a resume pass and a drift pass now (edv_fleet_reconcile). */
void edvd_reconcile_pass(edvd *d);
/* Reloads the config file's reloadable keys and the token file. */
int edvd_reload(edvd *d, edv_error *err);
/* metrics.c: the histograms (-1 on ENOMEM), freed by _close. */
int edvd_metrics_open(edvd *d);
void edvd_metrics_close(edvd *d);
/* One answer of the API: its route template (NULL: no route matched),
 * the request's method, the status sent and the time it took. */
void edvd_metrics_request(edvd *d, const char *route, const char *method,
                          unsigned status, uint64_t elapsed_ns);
/* A label value of the text format into out, with \, " and newline
 * escaped. */
void edvd_metrics_label(char *out, size_t size, const char *in);
/* edv_build_info and the process_* families, in the text format, into
 * buf; the length written, or -1 when it does not fit. */
int edvd_metrics_process(char *buf, size_t size);
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
