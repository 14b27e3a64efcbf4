/*
 * schema_apis.h - the generated request-schema tables of the non-Compute
 * API modules (see schema.h for sim_schema_check(); regenerate with
 * tools/gen_schema_apis.py).
 */
#ifndef EDV_SIM_SCHEMA_APIS_H
#define EDV_SIM_SCHEMA_APIS_H

#include "sim/schema.h"

extern const sim_schema_type sim_schema_sql[];
extern const sim_schema_type sim_schema_dns[];
extern const sim_schema_type sim_schema_certmgr[];
extern const sim_schema_type sim_schema_monitoring[];
extern const sim_schema_type sim_schema_secrets[];
extern const sim_schema_type sim_schema_resourcemanager[];
extern const sim_schema_type sim_schema_bigquery[];
extern const sim_schema_type sim_schema_budgets[];

#endif /* EDV_SIM_SCHEMA_APIS_H */
