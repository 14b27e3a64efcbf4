/*
 * shared.h - single writers for the resources every tenant shares.
 *
 * The platform's URL map, the domain's DNS zone and the project's IAM
 * policy are written by many tenants. Letting each tenant read-modify-write
 * them would turn a fleet rollout into a storm of 412 (stale fingerprint) and
 * 409 (concurrent change) errors. Instead each shared resource has ONE writer
 * per fleet: tenants queue their change; the writer takes everything queued,
 * reads the resource once, applies all of it, writes once (fingerprint-checked
 * for the URL map, one atomic changes.create for DNS, etag-checked for the
 * IAM policy), and on a conflict
 * reads again and retries. Changes queued while a write is in flight go
 * into the next write.
 *
 * Callbacks run exactly once, from the loop, unless the submit function
 * returns non-zero.
 */
#ifndef EDV_TENANT_SHARED_H
#define EDV_TENANT_SHARED_H

#include <json-c/json.h>

#include "edv/error.h"

typedef struct edv__fleet edv__fleet;
typedef struct edv__shared edv__shared;

typedef void (*edv__shared_cb)(void *data, const edv_error *err);

edv__shared *edv__shared_new(edv__fleet *f);
/* Fails every queued change with ECANCELED; frees once nothing is in
 * flight. NULL does nothing. */
void edv__shared_free(edv__shared *sh);

/*
 * URL map: gives tenant `tenant` a host rule for `hosts` (NULL-terminated,
 * at most 4) to path matcher "edv-<tenant>" whose default service is
 * `backend` (a backend service URL); backend NULL removes the tenant's
 * rule and matcher.
 */
/* 1 when the URL map `map` (as read) already holds exactly the rule
 * edv__urlmap_set would write for `tenant` (hosts, path matcher and its
 * default service); with backend NULL, when it holds no rule for it. */
int edv__urlmap_rule_ok(json_object *map, const char *tenant,
                        const char *const *hosts, const char *backend);

int edv__urlmap_set(edv__fleet *f, const char *tenant, const char *const *hosts,
                    const char *backend, edv__shared_cb cb, void *data);

/*
 * DNS. Cloud DNS record sets carry no labels, so the caller proves what is
 * its own: `rrdatas` lists the values (NULL-ended, at most 4) it wrote at
 * this name (recorded in our store before the write), and `created` says
 * the store records that it created this rrset. A rrset read in the zone
 * is ours when it holds exactly one value and that value is in `rrdatas`.
 */
typedef struct edv__dns_own {
  const char *const *rrdatas;
  int created;
} edv__dns_own;

/*
 * Makes rrset (name, type) in managed zone `zone` hold exactly `rrdatas`
 * (NULL-terminated, at most 8) with `ttl`; rrdatas NULL removes the rrset.
 * Nothing is written when the zone already holds exactly that.
 *
 * The writer never touches what is not ours. Decided on the zone as read
 * in the same write (and read again after a conflict):
 * - set: a missing rrset is added (Cloud DNS refuses the addition if one
 *   appeared since: read again); a present one is changed only when ours
 *   or `created`; one of our type beside a CNAME (or our CNAME beside
 *   anything) is never added;
 * - remove: only a rrset that is ours is deleted (the deletion names its
 *   exact values, so Cloud DNS refuses it if they changed since); one
 *   someone changed or replaced is left in place.
 * A change refused this way writes nothing and calls back with
 * EDV_ENOTOWNED naming the record and what it holds; the other changes of
 * the batch go on. `own` NULL proves nothing.
 */
int edv__dns_set(edv__fleet *f, const char *zone, const char *name,
                 const char *type, int ttl, const char *const *rrdatas,
                 const edv__dns_own *own, edv__shared_cb cb, void *data);

/*
 * The project's IAM policy (Resource Manager projects.getIamPolicy and
 * setIamPolicy): gives `member` ("serviceAccount:EMAIL") each role of
 * `roles` (NULL-ended, at most EDV_IAM_MAX_ROLES), or, with `remove`,
 * takes it out of them. Nothing else of the policy is touched: other
 * members of those roles, other roles, conditions and audit configs are
 * written back as read; a binding left without members by a removal is
 * dropped (Google refuses empty ones). The write carries the etag read;
 * a 409 ABORTED or 412 (someone changed the policy since) reads again.
 */
#define EDV_IAM_MAX_ROLES 4
int edv__iam_project_set(edv__fleet *f, const char *member,
                         const char *const *roles, int remove,
                         edv__shared_cb cb, void *data);

/*
 * Region claims, for the routers tenants of a region share
 * (tenant/steps_shared.c): a tenant removing its region's router holds
 * the region until the router is gone (or put back); a tenant ensuring
 * the router waits while another holds it. In this process only (see
 * docs/architecture.md, "Routers and NAT per region", for two).
 * edv__region_claim: 0 when `owner` now holds `region` (or already did),
 * EDV_EBUSY when another owner does, EDV_ENOMEM.
 */
int edv__region_claim(edv__fleet *f, const char *region, const void *owner);
/* Lets go of owner's claim (nothing when it holds none). */
void edv__region_release(edv__fleet *f, const char *region, const void *owner);
/* 1 when an owner other than `owner` holds `region`. */
int edv__region_held(edv__fleet *f, const char *region, const void *owner);

/* Writes made and conflicts retried, for tests and metrics. */
void edv__shared_stats(const edv__shared *sh, unsigned long *urlmap_writes,
                       unsigned long *dns_writes, unsigned long *conflicts);
/* IAM policy writes made (setIamPolicy calls that succeeded). */
unsigned long edv__shared_iam_writes(const edv__shared *sh);

#endif /* EDV_TENANT_SHARED_H */
