/*
 * steps.h - names shared by the platform and tenant plans.
 */
#ifndef EDV_TENANT_STEPS_H
#define EDV_TENANT_STEPS_H

#include "tenant/machine.h"

/* Platform resources (one each per project). */
#define EDV_PSA_NAME     "edv-psa-range"
#define EDV_LB_IP_NAME   "edv-lb-ip"
#define EDV_HC_NAME      "edv-hc-http"
#define EDV_URLMAP_NAME  "edv-urlmap"
#define EDV_CERTMAP_NAME "edv-certmap"
#define EDV_PROXY_NAME   "edv-https-proxy"
#define EDV_FR_NAME      "edv-https-fr"

/* Google's health-check and proxy source ranges (the only ones our
 * firewall admits to a tenant VM). */
#define EDV_HC_RANGE_1 "35.191.0.0/16"
#define EDV_HC_RANGE_2 "130.211.0.0/22"

/* Identity-Aware Proxy's TCP forwarding range: the only source of the
 * operations SSH rule (tcp:22), when a tenant has ops_ssh on. */
#define EDV_IAP_RANGE "35.235.240.0/20"

/* The app's port behind the load balancer, and PostgreSQL's. */
#define EDV_APP_PORT 80
#define EDV_DB_PORT  5432

/* Cloud SQL's settings.ipConfiguration.sslMode for tenant databases. */
#define EDV_SQL_SSL_MODE "ENCRYPTED_ONLY"

/* The application's database and user inside the tenant's instance. */
#define EDV_DB_NAME "edvirons"
#define EDV_DB_USER "edvirons"

/* The Cloud Router of each region with tenants ("edv-router-<region>",
 * the platform region's made by the platform plan, the others by their
 * first tenant) and its Cloud NAT. */
#define EDV_ROUTER_PREFIX "edv-router-"
#define EDV_NAT_NAME      "edv-nat"

/* The router's name in `region`. */
void edv__router_name(const char *region, char *buf, size_t size);
/* The router of `region` with its NAT, marked as the platform's (the
 * create body; new object). */
json_object *edv__router_body(const char *project, const char *network,
                              const char *region);

/* The tenant steps of steps_shared.c: the region's router and NAT, and
 * the service account's project roles (up and down). */
void edv__region_nat_up(edv__srun *sr);
void edv__region_nat_down(edv__srun *sr);
void edv__project_roles_up(edv__srun *sr);
void edv__project_roles_down(edv__srun *sr);

/* The body of instances.insert of the tenant's VM of generation `gen`
 * (tenant/vmswap.h) booting `release` (NULL: none, the stock image);
 * NULL with the step failed. */
json_object *edv__vm_body(edv__srun *sr, unsigned gen,
                          const edv__release_rec *release);
/* The release change step (tenant/vmswap.c). */
void edv__vm_release_up(edv__srun *sr);
void edv__vm_release_down(edv__srun *sr);

/* The user name of edvd's intake channel (webhook_basicauth; the password
 * is alerts.intake_password_file's). */
#define EDV_ALERT_INTAKE_USER "edv-alerts"
/* The platform's notification channels and alert policies
 * (tenant/steps_alerts.c). */
void edv__alert_channels_up(edv__srun *sr);
void edv__alert_policies_up(edv__srun *sr);

/* Looks up the managed zone for the fleet's domain and records it in the
 * facts as "dns_zone" (a step function: ends the step). */
void edv__dns_zone_lookup(edv__srun *sr);

#endif /* EDV_TENANT_STEPS_H */
