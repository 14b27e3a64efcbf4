/*
 * resourcemanager.c - Cloud Resource Manager v1: the project's IAM policy
 * (projects.getIamPolicy, projects.setIamPolicy). Both are POSTs on the
 * project itself ("/v1/projects/{resource}:getIamPolicy"), synchronous,
 * as in Google's API. The policy is stored at "projects/P/iamPolicy"
 * (kind cloudresourcemanager.policy); a project nobody set one on has an
 * empty version-1 policy. setIamPolicy replaces the whole policy: with an
 * etag, only when it is the current one (409 ABORTED otherwise, as
 * Google answers a concurrent change); without one, blindly.
 */
#include <stdio.h>
#include <string.h>

#include "sim/iampolicy.h"
#include "sim/jsonutil.h"
#include "sim/modules.h"
#include "sim/schema_apis.h"
#include "sim/sim.h"

#define RM_KIND "cloudresourcemanager.policy"

/* The {resource} is our project id; else Google's 403 (the caller may not
 * see whether another project exists). */
static int rm_project(sim *s, sim_req *req, sim_resp *resp, char *key,
                      size_t size)
{
  const char *p = sim_param(req, "resource");

  if (p == NULL || strcmp(p, sim_project(s)) != 0) {
    sim_err_rpc(resp, 403, "PERMISSION_DENIED",
                "The caller does not have permission");
    return -1;
  }
  snprintf(key, size, "projects/%s/iamPolicy", sim_project(s));
  return 0;
}

static json_object *rm_policy(sim *s, const char *key)
{
  json_object *p = sim_store_get(s, key);

  return p ? copy(p) : sim_policy_empty();
}

static int rm_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];

  if (rm_project(s, req, resp, key, sizeof(key)) < 0 ||
      sim_schema_check(resp, sim_schema_resourcemanager, "GetIamPolicyRequest",
                       sim_body(req), "body") < 0)
    return SIM_DONE;
  return sim_resp_json(resp, 200, rm_policy(s, key));
}

static int rm_set(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *want = json_object_object_get(sim_body(req), "policy");
  json_object *cur, *p;
  int bad;

  if (rm_project(s, req, resp, key, sizeof(key)) < 0 ||
      sim_schema_check(resp, sim_schema_resourcemanager, "SetIamPolicyRequest",
                       sim_body(req), "body") < 0)
    return SIM_DONE;
  cur = rm_policy(s, key);
  bad = sim_policy_check(s, resp, want, cur, SIM_POLICY_PROJECT);
  json_object_put(cur);
  if (bad)
    return SIM_DONE;
  p = sim_policy_new(s, want);
  sim_store_put(s, key, RM_KIND, copy(p));
  return sim_resp_json(resp, 200, p);
}

static const sim_route rm_routes[] = {
    {"POST", "/v1/projects/{resource}:getIamPolicy",
     "cloudresourcemanager.projects.getIamPolicy", rm_get, NULL, 0, NULL},
    {"POST", "/v1/projects/{resource}:setIamPolicy",
     "cloudresourcemanager.projects.setIamPolicy", rm_set, NULL, 0, NULL},
};

int sim_resourcemanager_init(sim *s)
{
  return sim_register(s, SIM_API_RESOURCEMANAGER, rm_routes,
                      sizeof(rm_routes) / sizeof(*rm_routes));
}
