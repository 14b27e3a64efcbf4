/*
 * servicenet.h - what other modules may ask the Service Networking module:
 * the private services access (PSA) ranges peered into a network, so that
 * Cloud SQL can give an instance with settings.ipConfiguration.
 * privateNetwork an address from them, as the real service producer does.
 */
#ifndef EDV_SIM_SERVICENET_H
#define EDV_SIM_SERVICENET_H

#include "sim/sim.h"

/*
 * The reserved ranges of the servicenetworking.googleapis.com connection
 * of `network` (canonical "projects/P/global/networks/N") as a new array
 * of CIDR strings ("10.20.0.0/16"), or NULL when the network has no
 * connection. A range whose globalAddress has disappeared is skipped.
 */
json_object *sim_psa_ranges(sim *s, const char *network);

/* The store key of a network's connection ("projects/P/services/
 * servicenetworking.googleapis.com/connections/N"), malloc'd. */
char *sim_psa_key(sim *s, const char *network);

#endif /* EDV_SIM_SERVICENET_H */
