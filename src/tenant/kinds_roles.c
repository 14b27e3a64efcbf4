/*
 * kinds_roles.c - the project roles kind (tenant/kinds.h,
 * EDV_KIND_PROJECT_ROLES): the roles a tenant VM's service account holds
 * in the project's IAM policy, their diff, and the one way the policy is
 * changed for a member (tenant/shared.c's IAM policy writer uses it).
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "tenant/kinds.h"
#include "tenant/spec.h"

const char *const edv__kind_project_roles[] = {
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    NULL,
};

/* The binding of `role` in `bindings` without a condition (a conditional
 * binding of the same role is someone else's grant), or NULL. */
static json_object *iam_binding(json_object *bindings, const char *role)
{
  for (size_t i = 0; i < edv__jarr_len(bindings); i++) {
    json_object *b = json_object_array_get_idx(bindings, i);
    const char *r = edv__jstr(b, "role");
    if (r && strcmp(r, role) == 0 && !edv__jget(b, "condition"))
      return b;
  }
  return NULL;
}

/* The index of `member` in binding b's members, or -1. */
static int iam_member_at(json_object *b, const char *member)
{
  json_object *ms = edv__jget(b, "members");

  for (size_t i = 0; i < edv__jarr_len(ms); i++) {
    const char *m = json_object_get_string(json_object_array_get_idx(ms, i));
    if (m && strcmp(m, member) == 0)
      return (int)i;
  }
  return -1;
}

int edv__kind_roles_held(json_object *policy, const char *member,
                         const char *const *roles, int remove)
{
  json_object *bindings = edv__jget(policy, "bindings");

  for (int i = 0; roles && roles[i]; i++) {
    json_object *b = iam_binding(bindings, roles[i]);
    int has = b && iam_member_at(b, member) >= 0;
    if (has == remove)
      return 0;
  }
  return 1;
}

int edv__kind_roles_put(json_object *policy, const char *member,
                        const char *const *roles, int remove)
{
  json_object *bindings = edv__jget(policy, "bindings");
  int changed = 0;

  if (!json_object_is_type(bindings, json_type_array)) {
    if (remove)
      return 0;
    bindings = json_object_new_array();
    json_object_object_add(policy, "bindings", bindings);
  }
  for (int i = 0; roles && roles[i]; i++) {
    json_object *b = iam_binding(bindings, roles[i]), *ms;
    int at = b ? iam_member_at(b, member) : -1;
    if (remove && at >= 0) {
      ms = edv__jget(b, "members");
      json_object_array_del_idx(ms, (size_t)at, 1);
      if (json_object_array_length(ms) == 0)
        for (size_t k = 0; k < json_object_array_length(bindings); k++)
          if (json_object_array_get_idx(bindings, k) == b) {
            json_object_array_del_idx(bindings, k, 1);
            break;
          }
      changed++;
    } else if (!remove && at < 0) {
      if (!b) {
        b = json_object_new_object();
        json_object_object_add(b, "role", json_object_new_string(roles[i]));
        json_object_object_add(b, "members", json_object_new_array());
        json_object_array_add(bindings, b);
      }
      ms = edv__jget(b, "members");
      if (!json_object_is_type(ms, json_type_array)) {
        ms = json_object_new_array();
        json_object_object_add(b, "members", ms);
      }
      json_object_array_add(ms, json_object_new_string(member));
      changed++;
    }
  }
  return changed;
}

int edv__kind_roles_diff(const edv__kind_ctx *ctx, json_object *observed,
                         json_object **patch, char *text, size_t size)
{
  char email[256], member[300];
  int n = 0;

  if (patch)
    *patch = NULL;
  if (edv__name_service_account_email(ctx->tenant, ctx->project, email,
                                      sizeof(email)) != 0)
    return 0;
  snprintf(member, sizeof(member), "serviceAccount:%s", email);
  for (int i = 0; edv__kind_project_roles[i]; i++) {
    const char *one[2] = {edv__kind_project_roles[i], NULL};
    if (!edv__kind_roles_held(observed, member, one, 0)) {
      edv__kind_note(text, size, "%s lacks %s", email, one[0]);
      n++;
    }
  }
  if (n && patch && json_object_deep_copy(observed, patch, NULL) == 0 && *patch)
    edv__kind_roles_put(*patch, member, edv__kind_project_roles, 0);
  return n;
}
