/*
 * modules.h - the API modules the core starts, in order.
 *
 * To add a module: write src/sim/<api>.c with an init function (registers
 * routes and quota defaults; runs on every start) and, if a fresh project
 * needs resources of yours, a seed function (runs on a fresh state and
 * after POST /_sim/reset, never after loading a state file). Declare both
 * here and add one line to the table in core.c.
 */
#ifndef EDV_SIM_MODULES_H
#define EDV_SIM_MODULES_H

#include "sim/sim.h"

typedef struct sim_module {
  const char *name;
  int (*init)(sim *s);  /* 0 or -1 */
  void (*seed)(sim *s); /* may be NULL */
} sim_module;

int sim_compute_init(sim *s);
void sim_compute_seed(sim *s);
int sim_compute_net_init(sim *s); /* compute_net.c + compute_lb.c */
int sim_sql_init(sim *s);
int sim_servicenet_init(sim *s);
int sim_dns_init(sim *s);
void sim_dns_seed(sim *s);
int sim_certmgr_init(sim *s);
int sim_secrets_init(sim *s);
int sim_iam_init(sim *s);
int sim_resourcemanager_init(sim *s);
int sim_monitoring_init(sim *s);
int sim_alerting_init(sim *s); /* alerting.c: the alert-policy evaluator */
/* compute_vm.c + compute_disk.c + compute_health.c */
int sim_batch_init(sim *s); /* batch.c: Compute's batch endpoint */
int sim_compute_vm_init(sim *s);
void sim_compute_vm_seed(sim *s);

int sim_billing_init(sim *s);  /* billing.c: Cloud Billing, the Catalog */
int sim_bigquery_init(sim *s); /* billing_export.c: the billing export */
void sim_billing_seed(sim *s); /* billing_export.c: the empty ledger */
int sim_budgets_init(sim *s);  /* budgets.c: Billing Budgets */

#endif /* EDV_SIM_MODULES_H */
