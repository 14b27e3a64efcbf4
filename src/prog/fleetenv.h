/*
 * fleetenv.h - the embedded simulator beside a program's fleet (edvctl
 * --sim, edvd --sim). The state directory, store and tiers a fleet is
 * opened from are the library's (edv/fleet.h). Public headers only: edvprog
 * is linked into programs that use the shared libedv.
 */
#ifndef EDV_PROG_FLEETENV_H
#define EDV_PROG_FLEETENV_H

#include <stddef.h>

#include <uv.h>

#include "edv/config.h"
#include "edv/error.h"
#include "edv/sim.h"
#include "edv/fleet.h"

/*
 * Starts the embedded simulator on `loop` with its cloud in
 * DIR/sim-cloud.json, writes DIR/sim-key.json (a key it trusts) and points
 * cfg at it (endpoint, key_file, project "edv-sim" unless set).
 */
edv_sim *edv__env_start_sim(uv_loop_t *loop, edv_config *cfg, const char *dir,
                            edv_error *err);

#endif /* EDV_PROG_FLEETENV_H */
