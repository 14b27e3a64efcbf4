/*
 * fleetenv.h - what a program needs around a fleet, shared by edvd (and
 * available to edvctl): the state directory, the store in it, the tiers
 * file, the embedded simulator and the fleet options the configuration
 * sets. Both programs must open the same state the same way, or
 * `edvctl tenant list` and edvd would disagree about the fleet.
 */
#ifndef EDV_PROG_FLEETENV_H
#define EDV_PROG_FLEETENV_H

#include <stddef.h>

#include <uv.h>

#include "edv/config.h"
#include "edv/error.h"
#include "edv/sim.h"
#include "store/store.h"
#include "tenant/machine.h"
#include "tenant/tiers.h"

/* The state directory: config state_dir, else $XDG_STATE_HOME/edv, else
 * $HOME/.local/state/edv. Returns 0, or EDV_EINVAL when it does not fit. */
int edv__env_state_dir(const edv_config *cfg, char *buf, size_t size,
                       edv_error *err);

/* mkdir -p, creating missing directories 0700. 0 or -1 (errno set). */
int edv__env_mkdirs(const char *path);

/*
 * Loads the tiers: config tiers_file, else ./tiers.json, else the first
 * readable of `fallbacks` (NULL-ended; the installed and source-tree
 * copies), else the last fallback (for its error message).
 */
int edv__env_load_tiers(const edv_config *cfg, const char *const *fallbacks,
                        edv__tiers **out, edv_error *err);

/* Opens (creating) DIR/edv.db. */
int edv__env_open_store(const char *dir, edv_store **out, edv_error *err);

/*
 * Starts the embedded simulator on `loop` with its cloud in
 * DIR/sim-cloud.json, writes DIR/sim-key.json (a key it trusts) and points
 * cfg at it (endpoint, key_file, project "edv-sim" unless set).
 */
edv_sim *edv__env_start_sim(uv_loop_t *loop, edv_config *cfg, const char *dir,
                            edv_error *err);

/* Fills the fleet options the configuration decides (domain, region,
 * supernet, subnet_prefix); the caller sets the rest. */
void edv__env_fleet_opts(const edv_config *cfg, edv__fleet_opts *o);

#endif /* EDV_PROG_FLEETENV_H */
