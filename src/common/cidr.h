/*
 * cidr.h - IPv4 CIDR ranges and the lowest-free-block allocator.
 *
 * Used by the tenant address plan (tenant/subnet.h) and by the store, which
 * runs the allocator inside a write transaction and records the result
 * under a UNIQUE constraint (store/store.h). Pure functions: no state.
 */
#ifndef EDV_COMMON_CIDR_H
#define EDV_COMMON_CIDR_H

#include <stddef.h>
#include <stdint.h>

#include "edv/error.h"

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
 * Allocates the lowest free /prefix block of `supernet` that overlaps none
 * of the `ntaken` ranges in `taken` (any prefixes, in any order, inside or
 * outside the supernet; reserved ranges are simply passed as taken).
 * Pure: no state, no allocation beyond a sorted copy of `taken`.
 * Returns 0 and fills *out; EDV_EQUOTA when the supernet is exhausted;
 * EDV_EINVAL for a bad prefix; EDV_ENOMEM.
 */
int edv__cidr_alloc(const edv_cidr *supernet, unsigned prefix,
                    const edv_cidr *taken, size_t ntaken, edv_cidr *out,
                    edv_error *err);

#endif /* EDV_COMMON_CIDR_H */
