/*
 * dnscheck.h - may a new tenant have its hostnames? Asked before it is
 * recorded (edvd's POST /api/tenants, edvctl tenant create).
 *
 * A tenant's id and slug become `<label>.<domain>` in the fleet's Cloud
 * DNS zone. Neither may be a reserved label (dns.reserved_labels), and
 * none of the names the tenant's steps would write (`<label>.<domain>.`
 * and `_acme-challenge.<label>.<domain>.`) may already hold a record: one
 * there now was not made by us for this tenant (an operator's www or mail,
 * or a record left in place when an earlier tenant was deleted). The DNS
 * step checks again when it writes (tenant/shared.h): a record made after
 * this check is never overwritten either.
 */
#ifndef EDV_TENANT_DNSCHECK_H
#define EDV_TENANT_DNSCHECK_H

#include "tenant/machine.h"
#include "tenant/shared.h"
#include "tenant/spec.h"

/*
 * A reserved id or slug returns EDV_EINVAL naming the field (cb is not
 * run). Otherwise looks up the fleet's zone (managedZones.list by
 * dnsName) and each name (resourceRecordSets.list by name) and calls cb
 * from the loop: NULL when free (or the tenant is already recorded and not
 * DELETED: its hostnames are its own; or there is no zone yet: the
 * platform's dns_zone step will say so), EDV_ENOTOWNED naming the field,
 * the record and what it holds, or the lookup's error.
 */
int edv__fleet_check_hosts(edv__fleet *f, const edv__tenant_spec *spec,
                           edv__shared_cb cb, void *data, edv_error *err);

#endif /* EDV_TENANT_DNSCHECK_H */
