/*
 * vmswap.h - a tenant's release change by VM replacement, and which
 * generation of its VM serves.
 *
 * A tenant's VM and boot disk have a generation: 0 is "edv-ID-vm" and
 * "edv-ID-boot" (what provisioning makes), N > 0 is "edv-ID-vm-N" and
 * "edv-ID-boot-N" (made by the N-th release change). The tenant's
 * "vm_generation" record (a step record of no step, like the "move"
 * record) says which one serves and, while a release change is in
 * flight, which other one exists and how far the change has gone. No
 * record: generation 0. Every reader of the VM's name (the steps, drift,
 * plan, heal, state rebuild, the tenant document) takes it from here.
 *
 * A release change (edv__fleet_set_release) writes the record PENDING;
 * the "vm_release" step of the next run up then: creates the new
 * generation's VM from the new release's image with the labels and
 * metadata the serving VM has, adds it to the tenant's instance group,
 * waits (bounded: the record's deadline) until the backend service
 * reports it HEALTHY, then in one write makes it the serving generation
 * and the new release the tenant's (the commit point), attaches the
 * snapshot schedule to its disk, removes the old VM from the group and
 * deletes it. A new VM that is not HEALTHY by the deadline is removed
 * from the group and deleted (the decision written first), and the step
 * fails naming the release and the health state: the tenant stays on
 * its old VM and release. Each stage is observed before it acts, so a
 * run killed anywhere resumes to exactly one VM in the group.
 */
#ifndef EDV_TENANT_VMSWAP_H
#define EDV_TENANT_VMSWAP_H

#include <stdint.h>

#include "store/store.h"

/* The record (a step record of this name; never a step of the plan). */
#define EDV_VMGEN_STEP "vm_generation"

typedef struct edv__vmgen {
  unsigned cur;   /* the generation that serves */
  int pending;    /* a release change is in flight */
  int committed;  /* pending: the new VM was HEALTHY and serves (cur) */
  int rollback;   /* pending: the new VM was not HEALTHY in time */
  unsigned other; /* pending: the other generation (the new VM before the
                     commit, the old one after) */
  char from[EDV_STORE_VERSION_SZ]; /* pending: the release it leaves */
  char to[EDV_STORE_VERSION_SZ];   /* pending: the release it goes to */
  int64_t deadline_ms;             /* pending: HEALTHY by then (store clock) */
  char health[64];                 /* rollback: the health state seen last */
} edv__vmgen;

/* The tenant's record read (none: generation 0, nothing pending): 0, or
 * the store's error. A record that is not one of ours reads as none. */
int edv__vmgen_get(edv_store *st, const char *id, edv__vmgen *g,
                   edv_error *err);
/* The record of `g` for tenant `id` (DONE when nothing is pending). */
void edv__vmgen_record(const char *id, const edv__vmgen *g, int64_t now_ms,
                       edv__step_rec *r);
/* The names of generation `gen`'s VM and boot disk (either may be
 * NULL): 0, or EDV_EINVAL when a buffer is too small. */
int edv__vmgen_names(const char *id, unsigned gen, char *vm, size_t vsize,
                     char *disk, size_t dsize);
/* The serving VM's and disk's names, read from the store (any error
 * reads as generation 0). */
void edv__tenant_vm_names(edv_store *st, const char *id, char *vm, size_t vsize,
                          char *disk, size_t dsize);
/* The generation a VM name of tenant `id` has: 0 or N, or -1 when the
 * name is not one of the tenant's VMs. */
int edv__vmgen_of_name(const char *id, const char *name);

#endif /* EDV_TENANT_VMSWAP_H */
