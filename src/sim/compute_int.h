/*
 * compute_int.h - what the Compute networking and load-balancing
 * collections (compute_net.c, compute_lb.c) offer other simulator modules:
 * the instances module (backendServices.getHealth, instance groups in use),
 * Certificate Manager (does a hostname's IP reach a forwarding rule) and
 * networks.delete (is a network still used).
 *
 * Names are canonical ("projects/P/global/backendServices/B"); references
 * may be anything sim_ref_name() accepts. Returned json_object pointers are
 * borrowed (see sim.h) unless said otherwise.
 */
#ifndef EDV_SIM_COMPUTE_INT_H
#define EDV_SIM_COMPUTE_INT_H

#include "sim/sim.h"

/*
 * The canonical name of a Compute resource that refers to `target`
 * (canonical name) anywhere in its JSON (backends[].group, healthChecks[],
 * urlMap, target, network, networkInterfaces[].subnetwork, ...), or NULL.
 * Back-links (selfLink, a network's subnetworks[], an address's users[])
 * do not count. Malloc'd. Deletes of in-use resources use this; so can
 * instanceGroups.delete.
 */
char *sim_compute_ref_user(sim *s, const char *target);

/*
 * The first resource using network `network_name` (plain name), as
 * networks.delete needs for "The network resource '...' is already being
 * used by '...'"; NULL when unused. Malloc'd.
 */
char *sim_compute_network_user(sim *s, const char *network_name);

/* A global backend service by reference, or NULL. Its backends[].group
 * and healthChecks[] hold full links (sim_ref_name() them). */
json_object *sim_compute_backend_service(sim *s, const char *ref);
/* A global health check by reference, or NULL (defaults filled in:
 * checkIntervalSec, timeoutSec, healthyThreshold, unhealthyThreshold,
 * type and its httpHealthCheck{port,requestPath}). */
json_object *sim_compute_health_check(sim *s, const char *ref);

/*
 * Every global forwarding rule, as a new array of
 * {"name": canonical, "IPAddress": "203.0.113.5", "portRange": "443-443",
 *  "target": canonical proxy, "certificateMap": "projects/P/locations/
 *  global/certificateMaps/M" (only when the target proxy has one)}.
 */
json_object *sim_compute_forwarding_ips(sim *s);
/* 1 when a global forwarding rule serves ip (a literal IPv4 address). */
int sim_compute_ip_forwarded(sim *s, const char *ip);

#endif /* EDV_SIM_COMPUTE_INT_H */
