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

/* Looks up the managed zone for the fleet's domain and records it in the
 * facts as "dns_zone" (a step function: ends the step). */
void edv__dns_zone_lookup(edv__srun *sr);

#endif /* EDV_TENANT_STEPS_H */
