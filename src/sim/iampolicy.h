/*
 * iampolicy.h - the IAM Policy shape every simulated API shares
 * (Secret Manager's secrets, Resource Manager's projects): the etag check
 * of setIamPolicy, the bindings' validation and the stored policy.
 */
#ifndef EDV_SIM_IAMPOLICY_H
#define EDV_SIM_IAMPOLICY_H

#include <json-c/json.h>

#include "sim/sim.h"

/* Rules of the resource the policy is set on. */
typedef enum {
  SIM_POLICY_SECRET = 0,  /* a secret: predefined roles ("roles/x") */
  SIM_POLICY_PROJECT = 1, /* a project: custom roles too
                             ("projects/P/roles/x") */
} sim_policy_on;

/* A policy nobody has set: version 1, no bindings, etag "ACAB" (new
 * object). */
json_object *sim_policy_empty(void);

/*
 * Checks setIamPolicy's `want` (SetIamPolicyRequest.policy) against the
 * current policy `cur`: a stale etag is 409 ABORTED (AIP-154), a binding
 * without a well-formed role or members is 400 INVALID_ARGUMENT naming it.
 * 0, or -1 with resp filled.
 */
int sim_policy_check(sim *s, sim_resp *resp, json_object *want,
                     json_object *cur, sim_policy_on on);

/* The policy to store after a good setIamPolicy: want's bindings, version
 * 1 and a new etag (new object). */
json_object *sim_policy_new(sim *s, json_object *want);

#endif /* EDV_SIM_IAMPOLICY_H */
