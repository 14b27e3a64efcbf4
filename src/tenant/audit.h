/*
 * audit.h - tenant isolation you can prove: a reachability check over the
 * network as Google Cloud holds it.
 *
 * edv__audit() is a pure function of what three read-only list calls
 * return (compute firewalls.list, instances.aggregatedList flattened, sql
 * instances.list). It evaluates Compute firewall semantics for every
 * tenant VM as a target and every possible source:
 *
 *   - the rules of the VM's network only, INGRESS (the default direction)
 *     for what reaches the VM, EGRESS for what leaves a VM; disabled rules
 *     are ignored;
 *   - a rule applies to a target by targetTags (any tag of the instance),
 *     targetServiceAccounts (the instance's service account), or to every
 *     instance of the network when it names neither;
 *   - a source matches by sourceRanges (its primary internal IP for a VM,
 *     any address otherwise), sourceTags or sourceServiceAccounts (VMs of
 *     the same network only); several source kinds are OR-ed;
 *   - protocols ("all", names or numbers) and ports ("22", "8000-8080");
 *   - the rule with the lowest priority number decides; at equal priority
 *     a deny wins; nothing matching: the implied deny-ingress and
 *     allow-egress rules (priority 65535).
 *
 * Address space, protocols and ports are cut into elementary intervals at
 * every boundary a rule mentions, so one probe per interval is exact:
 * nothing a rule admits is missed.
 *
 * What may reach a tenant VM: Google's load-balancer and health-check
 * ranges (EDV_HC_RANGE_1/2) on tcp:80, and, for a tenant whose operations
 * SSH is on, IAP's range (EDV_IAP_RANGE) on tcp:22 through that tenant's
 * own rule. Everything else admitted is a finding:
 *
 *   cross-tenant  tenant A's VM reaches tenant B's VM (egress from A and
 *                 ingress to B both allow it)
 *   exposed       another source reaches a tenant VM (an address range,
 *                 or a VM that is not a tenant's)
 *   db-reachable  tenant A's VM can open tcp:5432 to tenant B's Cloud SQL
 *                 private IP (Cloud SQL private IPs sit in the peered
 *                 producer network: only egress rules of the VPC stand in
 *                 the way)
 *   db-public     a tenant database has a public IP
 *   db-tls        a tenant database accepts unencrypted connections
 *                 (settings.ipConfiguration.sslMode is not ENCRYPTED_ONLY
 *                 or TRUSTED_CLIENT_CERTIFICATE_REQUIRED)
 *
 * The answer (a new JSON object, NULL when out of memory):
 *
 *   {"tenants":  [{"id", "vm", "ip", "database", "db_ip", "ops_ssh"}],
 *    "findings": [{"kind", "tenant", "from_tenant"?, "rule", "source",
 *                  "ports", "detail"}],
 *    "checked":  {"firewalls", "vms", "databases"}}
 *
 * `rule` is the firewall rule that decided ("implied allow egress" when
 * no rule stopped it; "-" for a database setting). Findings are unique per
 * kind, rule, tenants and source.
 */
#ifndef EDV_TENANT_AUDIT_H
#define EDV_TENANT_AUDIT_H

#include <stdint.h>

#include <json-c/json.h>

#include "edv/engine.h"

/* The observed state: JSON arrays (NULL is empty), borrowed. */
typedef struct edv__audit_in {
  json_object *firewalls;     /* compute#firewall items */
  json_object *instances;     /* compute#instance items, every zone */
  json_object *sql_instances; /* sql#instance items */
} edv__audit_in;

json_object *edv__audit(const edv__audit_in *in);

/* `report` is edv__audit()'s answer, a new reference for the callee (NULL
 * when err is set). */
typedef void (*edv__audit_cb)(void *data, json_object *report,
                              const edv_error *err);

/*
 * Observes `project` with three read-only list calls at once, every page
 * followed (compute firewalls.list, instances.aggregatedList, sql
 * instances.list) and runs edv__audit() over them. The callback runs
 * exactly once, from the loop, once every call ended (the first error
 * wins). Returns 0, or -1 when out of memory (no callback).
 */
int edv__audit_run(edv_engine *engine, const char *project, uint64_t timeout_ms,
                   edv__audit_cb cb, void *data);

#endif /* EDV_TENANT_AUDIT_H */
