/*
 * schema.h - request bodies checked against the discovery schemas.
 *
 * Google rejects a body with a field its schema does not have ("Invalid
 * JSON payload received. Unknown name \"x\" at 'resource': Cannot find
 * field.") or a value of the wrong JSON type. The simulator does not read
 * discovery documents at run time: tools/gen_schema.py turns the schemas a
 * module accepts into a checked-in table (schema_compute.c for Compute),
 * and sim_schema_check() walks a body against it, nested objects, arrays
 * and maps included.
 *
 * To use it from another module: generate a table for your API's request
 * types (see the script's usage line), declare it below, and call
 * sim_schema_check(resp, sim_schema_<api>, "Type", body, "resource").
 */
#ifndef EDV_SIM_SCHEMA_H
#define EDV_SIM_SCHEMA_H

#include "sim/sim.h"

typedef struct sim_schema_prop {
  const char *name; /* JSON name, sorted by strcmp within a type */
  char type;        /* o object, a array, m map, s string, i integer,
                       n number, b boolean, x anything */
  const char *ref;  /* schema of the object, array items or map values */
} sim_schema_prop;

typedef struct sim_schema_type {
  const char *name;             /* discovery schema id, sorted by strcmp */
  const sim_schema_prop *props; /* ends with a NULL name */
} sim_schema_type;

/* Compute v1: every schema reachable from the request types that the
 * compute_net.c collections accept (ends with a NULL name). */
extern const sim_schema_type sim_schema_compute[];

/* The schema called name in table, or NULL. */
const sim_schema_type *sim_schema_find(const sim_schema_type *table,
                                       const char *name);

/*
 * Checks body (NULL passes) against schema `type` of `table`. Returns 0,
 * or fills resp with Google's 400 (sim_err: legacy reason "invalid", or
 * INVALID_ARGUMENT) naming the first offending field and returns -1.
 * `where` names the body in messages, "resource" for Compute. An unknown
 * type passes: the check is a fidelity aid, never a reason to refuse.
 */
int sim_schema_check(sim_resp *resp, const sim_schema_type *table,
                     const char *type, json_object *body, const char *where);

#endif /* EDV_SIM_SCHEMA_H */
