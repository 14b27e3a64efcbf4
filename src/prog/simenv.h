/*
 * simenv.h - the embedded simulator beside a program's fleet (edvctl
 * --sim, edvd --sim), on the public API only (edv/sim.h, edv/config.h).
 */
#ifndef EDV_PROG_SIMENV_H
#define EDV_PROG_SIMENV_H

#include <uv.h>

#include "edv/config.h"
#include "edv/error.h"
#include "edv/sim.h"

/*
 * Starts the embedded simulator on `loop` with its cloud in
 * DIR/sim-cloud.json (DIR created when missing), writes DIR/sim-key.json
 * (a key it trusts) and points cfg at it (endpoint, key_file, project
 * "edv-sim" unless set).
 */
edv_sim *edv__env_start_sim(uv_loop_t *loop, edv_config *cfg, const char *dir,
                            edv_error *err);

#endif /* EDV_PROG_SIMENV_H */
