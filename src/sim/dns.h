/*
 * dns.h - what other modules may ask the Cloud DNS module (certmgr.c
 * checks ACME CNAMEs and A records through it).
 */
#ifndef EDV_SIM_DNS_H
#define EDV_SIM_DNS_H

#include "sim/sim.h"

/*
 * The rrset called fqdn ("www.edvirons.com.", trailing dot optional) of
 * type ("A", "CNAME") in any managed zone of the project, borrowed, or
 * NULL. The name is compared case-insensitively.
 */
json_object *sim_dns_lookup(sim *s, const char *fqdn, const char *type);

#endif /* EDV_SIM_DNS_H */
