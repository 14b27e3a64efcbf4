/*
 * tenants.h - what the operations on tenants (tenants.c) share with the
 * region move (move.c).
 */
#ifndef EDV_FLEET_TENANTS_H
#define EDV_FLEET_TENANTS_H

#include "fleet/fleet.h"

/* The journal's actor of an operation started now: "edvd:alice". */
void edv__tenants_actor(edv_fleet *f, char *buf, size_t size);
/* A journal line of an operation (`note` may be NULL). */
void edv__tenants_journal(edv_fleet *f, const char *actor, const char *tenant,
                          const char *event, const char *what,
                          const char *note);
/* The tenant record's spec. */
int edv__tenants_rec_spec(const edv__tenant_rec *rec, edv__tenant_spec *spec,
                          edv_error *err);
/* Drives the tenant and answers now, or once the run ends (a waiter), as
 * `flags` ask. */
int edv__tenants_drive(edv_fleet *f, const char *id, edv__direction dir,
                       unsigned flags, edv_fleet_cb cb, void *data,
                       edv_error *err);
/* Asks the Compute API for `region` of the project (regions.get): `cb`
 * sees ENOTFOUND for a region the project cannot use. Non-zero when the
 * call cannot be made. */
int edv__tenants_region_get(edv_fleet *f, const char *region,
                            edv_response_cb cb, void *data);

#endif /* EDV_FLEET_TENANTS_H */
