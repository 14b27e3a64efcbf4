/*
 * fleetenv.c - the embedded simulator beside a program's fleet
 * (fleetenv.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "edv/fleet.h"
#include "prog/fleetenv.h"

edv_sim *edv__env_start_sim(uv_loop_t *loop, edv_config *cfg, const char *dir,
                            edv_error *err)
{
  edv_sim_options opt;
  edv_sim *sim;
  char made[512], state[600], key[600];

  if (edv_fleet_state_dir(NULL, dir, made, sizeof(made), err) != 0)
    return NULL;
  snprintf(state, sizeof(state), "%s/sim-cloud.json", dir);
  snprintf(key, sizeof(key), "%s/sim-key.json", dir);
  memset(&opt, 0, sizeof(opt));
  opt.state_file = state;
  opt.project = edv_config_get(cfg, "project");
  opt.profile = edv_config_get(cfg, "sim.profile");
  sim = edv_sim_start(loop, &opt, err);
  if (!sim)
    return NULL;
  unlink(key); /* rewritten each run: the simulator keeps the RSA key */
  if (edv_sim_write_key(sim, key, err) != 0 ||
      edv_config_set(cfg, "endpoint", edv_sim_base_url(sim), err) != 0 ||
      edv_config_set(cfg, "key_file", key, err) != 0 ||
      (!edv_config_get(cfg, "project") &&
       edv_config_set(cfg, "project", "edv-sim", err) != 0)) {
    edv_sim_close(sim, NULL, NULL);
    return NULL;
  }
  return sim;
}
