/*
 * subnet.h - IPv4 CIDR helpers and the tenant subnet allocator.
 *
 * Every tenant gets one subnetwork `edv-<id>` in the tenant VPC, a /N block
 * (default /28: 16 addresses, of which Google reserves 4, leaving 12 for a
 * VM that needs one) carved out of a supernet. The allocator is a pure
 * function: given the supernet, the prefix and the set of ranges already
 * taken, it returns the lowest free aligned block. The store calls it inside
 * a write transaction and records the result under a UNIQUE constraint, so
 * two processes can never hand out the same range (see store/store.h).
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

#include <stddef.h>
#include <stdint.h>

#include "edv/error.h"

#define EDV_SUBNET_SUPERNET  "10.64.0.0/16"
#define EDV_SUBNET_PSA_RANGE "10.96.0.0/16"
#define EDV_SUBNET_PREFIX    28

/* Smallest/largest tenant prefix we accept: a /29 is the smallest subnet
 * Compute allows; a /20 per tenant would be absurdly large. */
#define EDV_SUBNET_PREFIX_MIN 20
#define EDV_SUBNET_PREFIX_MAX 29

/* "255.255.255.255/32" plus NUL. */
#define EDV_CIDR_STRLEN 19

/* An IPv4 network: `net` in host byte order with all host bits zero. */
typedef struct edv_cidr {
  uint32_t net;    /* first address, host byte order */
  unsigned prefix; /* 0..32 */
} edv_cidr;

/*
 * Parses "a.b.c.d/n" strictly: four decimal octets without leading zeros,
 * a prefix 0..32, and no host bits set ("10.0.0.1/28" is refused, since a
 * silently rounded range is how overlaps slip in). Returns 0 or EDV_EINVAL.
 */
int edv__cidr_parse(const char *text, edv_cidr *out);

/* Formats into buf (at least EDV_CIDR_STRLEN bytes). Returns buf. */
char *edv__cidr_format(const edv_cidr *cidr, char *buf, size_t size);

/* First and last address of the range. */
uint32_t edv__cidr_first(const edv_cidr *cidr);
uint32_t edv__cidr_last(const edv_cidr *cidr);

/* 1 when the two ranges share at least one address. */
int edv__cidr_overlaps(const edv_cidr *a, const edv_cidr *b);

/* 1 when `inner` lies entirely within `outer`. */
int edv__cidr_contains(const edv_cidr *outer, const edv_cidr *inner);

/*
 * Checks an address plan: the supernet parses, the prefix is within
 * EDV_SUBNET_PREFIX_MIN..MAX and not shorter than the supernet's, and the
 * supernet does not overlap `reserved` (the PSA range; may be NULL).
 * Errors name the offending value.
 */
int edv__subnet_plan_check(const edv_cidr *supernet, unsigned prefix,
                           const edv_cidr *reserved, edv_error *err);

/*
 * Allocates the lowest free /prefix block of `supernet` that overlaps none
 * of the `ntaken` ranges in `taken` (any prefixes, in any order, inside or
 * outside the supernet; reserved ranges are simply passed as taken).
 * Pure: no state, no allocation beyond a sorted copy of `taken`.
 * Returns 0 and fills *out; EDV_EQUOTA when the supernet is exhausted;
 * EDV_EINVAL for a bad prefix; EDV_ENOMEM.
 */
int edv__subnet_alloc(const edv_cidr *supernet, unsigned prefix,
                      const edv_cidr *taken, size_t ntaken, edv_cidr *out,
                      edv_error *err);

#endif /* EDV_TENANT_SUBNET_H */
