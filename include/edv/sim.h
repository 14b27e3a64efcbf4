/*
 * edv/sim.h - embed edv-gcpsim, the local Google Cloud simulator, on your
 * own libuv loop (edvctl --sim does this).
 *
 * The simulator serves the Compute, Cloud SQL, DNS, Certificate Manager,
 * Monitoring, IAM and Secret Manager REST APIs, an OAuth2 token endpoint
 * and a metadata server on one loopback port. See docs/simulator.md.
 *
 * This header belongs to the simulator library, libedvsim (libedvsim.a,
 * `pkg-config libedvsim`), not to libedv: link both, libedvsim first.
 */
#ifndef EDV_SIM_H
#define EDV_SIM_H

#include "edv/export.h"

#include <uv.h>

#include "edv/error.h"
#include "edv/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edv_sim edv_sim;

typedef struct edv_sim_options {
  const char *host;        /* bind address; "127.0.0.1" when NULL */
  unsigned port;           /* 0 picks a free port */
  const char *state_file;  /* persist here (0600); NULL keeps it in memory */
  const char *profile;     /* "fast" (default), "demo" or "realistic" */
  double time_scale;       /* simulated seconds per real second; 0 means 1 */
  const char *project;     /* simulated project id; "edv-sim" when NULL */
  const char *domain;      /* DNS domain; "edvirons.com." when NULL */
  unsigned long long seed; /* PRNG seed; 0 picks one */
  int no_auth;             /* 1: accept API calls without a bearer token */
} edv_sim_options;

/*
 * Starts the simulator on `loop` (it is listening when this returns).
 * Returns NULL and fills *err on failure (bad options, port in use,
 * unreadable state file); what it had made is then freed by the next run
 * of the loop (handles must be closed through the loop), so run it before
 * uv_loop_close().
 */
EDV_EXPORT edv_sim *edv_sim_start(uv_loop_t *loop, const edv_sim_options *opt,
                                  edv_error *err);

/* The port it listens on. */
EDV_EXPORT unsigned edv_sim_port(const edv_sim *sim);

/* "http://127.0.0.1:PORT" (valid while the simulator lives). */
EDV_EXPORT const char *edv_sim_base_url(const edv_sim *sim);

/* The simulated clock (ms since the epoch) of the edv_sim `sim`: the
 * signature of edv_fleet_options.cloud_clock. */
EDV_EXPORT int64_t edv_sim_clock(void *sim);

/*
 * Writes a service-account key JSON (mode 0600) whose token_uri points at
 * this simulator, which trusts it. The RSA key is made once per state and
 * reused. Returns 0, or non-zero with *err filled.
 */
EDV_EXPORT int edv_sim_write_key(edv_sim *sim, const char *path,
                                 edv_error *err);

/*
 * Saves the state, answers pending requests with 503, closes every handle;
 * cb runs once from the loop when all memory is freed. NULL sim is a
 * no-op (cb is not called).
 */
EDV_EXPORT void edv_sim_close(edv_sim *sim, void (*cb)(void *data), void *data);

/*
 * The simulator library keeps a logger of its own, which libedv's
 * settings (edv/log.h) do not reach: sets its threshold and format (0:
 * text lines, 1: JSON lines) from now on. Default: EDV_LOG_WARN, text.
 */
EDV_EXPORT void edv_sim_log_set(edv_log_level level, int json);

#ifdef __cplusplus
}
#endif
#endif /* EDV_SIM_H */
