/*
 * subnet.h - the tenant address plan (the CIDR helpers and the allocator
 * it uses are common/cidr.h).
 *
 * Every tenant gets one subnetwork `edv-<id>` in the tenant VPC, a /N block
 * (default /28: 16 addresses, of which Google reserves 4, leaving 12 for a
 * VM that needs one) carved out of a supernet. The allocator
 * (edv__cidr_alloc) is a pure function: given the supernet, the prefix and
 * the set of ranges already taken, it returns the lowest free aligned
 * block. The store calls it inside a write transaction and records the
 * result under a UNIQUE constraint, so two processes can never hand out
 * the same range (see store/store.h).
 *
 * Address plan of the tenant VPC (custom subnet mode), chosen so that no
 * two pieces can overlap:
 *
 *   10.64.0.0/16   tenant supernet: 4,096 tenant /28s (EDV_SUBNET_SUPERNET)
 *   10.96.0.0/16   private services access range for Cloud SQL private IP
 *                  (EDV_SUBNET_PSA_RANGE), allocated by platform init
 *
 * Both sit well away from 10.128.0.0/9, which auto-mode networks use, so a
 * peered default network cannot collide either. The supernet and prefix are
 * configurable; edv__subnet_plan_check() refuses a supernet that overlaps
 * the PSA range. Health-check and load-balancer source ranges
 * (35.191.0.0/16, 130.211.0.0/22) are public and never allocated.
 */
#ifndef EDV_TENANT_SUBNET_H
#define EDV_TENANT_SUBNET_H

#include "common/cidr.h"
#include "edv/error.h"

#define EDV_SUBNET_SUPERNET  "10.64.0.0/16"
#define EDV_SUBNET_PSA_RANGE "10.96.0.0/16"
#define EDV_SUBNET_PREFIX    28

/* Smallest/largest tenant prefix we accept: a /29 is the smallest subnet
 * Compute allows; a /20 per tenant would be absurdly large. */
#define EDV_SUBNET_PREFIX_MIN 20
#define EDV_SUBNET_PREFIX_MAX 29

/*
 * Checks an address plan: the supernet parses, the prefix is within
 * EDV_SUBNET_PREFIX_MIN..MAX and not shorter than the supernet's, and the
 * supernet does not overlap `reserved` (the PSA range; may be NULL).
 * Errors name the offending value.
 */
int edv__subnet_plan_check(const edv_cidr *supernet, unsigned prefix,
                           const edv_cidr *reserved, edv_error *err);

#endif /* EDV_TENANT_SUBNET_H */
