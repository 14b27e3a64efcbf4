/*
 * iampolicy.c - the IAM Policy shape of the simulated APIs (iampolicy.h).
 */
#include <stdio.h>
#include <string.h>

#include "sim/iampolicy.h"
#include "sim/jsonutil.h"

json_object *sim_policy_empty(void)
{
  json_object *p = json_object_new_object();

  json_object_object_add(p, "version", json_object_new_int(1));
  json_object_object_add(p, "etag", json_object_new_string("ACAB"));
  return p;
}

static int has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "roles/x", or on a project also "projects/P/roles/x" and
 * "organizations/O/roles/x" (custom roles). */
static int role_ok(const char *role, sim_policy_on on)
{
  const char *r;

  if (role == NULL)
    return 0;
  if (has_prefix(role, "roles/"))
    return role[6] != '\0' && strchr(role + 6, '/') == NULL;
  if (on != SIM_POLICY_PROJECT ||
      (!has_prefix(role, "projects/") && !has_prefix(role, "organizations/")))
    return 0;
  r = strstr(role, "/roles/");
  return r && r[7] != '\0' && strchr(r + 7, '/') == NULL;
}

/* Google's member forms: type:email (or domain) with a non-empty value.
 * allUsers and allAuthenticatedUsers are refused: projects never take
 * them and nothing of ours grants them. */
static int member_ok(const char *m)
{
  static const char *const types[] = {
      "user:", "serviceAccount:", "group:", "domain:"};

  if (m == NULL)
    return 0;
  for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
    if (has_prefix(m, types[i])) {
      const char *v = m + strlen(types[i]);
      return *v != '\0' && (i == 3 || strchr(v, '@') != NULL);
    }
  return 0;
}

int sim_policy_check(sim *s, sim_resp *resp, json_object *want,
                     json_object *cur, sim_policy_on on)
{
  json_object *bindings;
  const char *e;

  (void)s;
  if (want == NULL || !json_object_is_type(want, json_type_object)) {
    sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Field 'policy' is required.");
    return -1;
  }
  e = js(want, "etag");
  /* A stale etag is ABORTED (AIP-154): read, modify, write again. */
  if (e && strcmp(e, jsd(cur, "etag", "")) != 0) {
    sim_err_rpc(resp, 409, "ABORTED",
                "There were concurrent policy changes. Please retry the "
                "whole read-modify-write with exponential backoff.");
    return -1;
  }
  bindings = json_object_object_get(want, "bindings");
  for (size_t i = 0; i < alen(bindings); i++) {
    json_object *b = json_object_array_get_idx(bindings, i);
    json_object *members = json_object_object_get(b, "members");
    const char *role = js(b, "role");

    if (!role_ok(role, on) || alen(members) == 0) {
      sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                  "Policy binding %zu needs a role and members.", i);
      return -1;
    }
    for (size_t j = 0; j < alen(members); j++) {
      json_object *mo = json_object_array_get_idx(members, j);
      const char *m = json_object_is_type(mo, json_type_string)
                          ? json_object_get_string(mo)
                          : NULL;

      if (!member_ok(m)) {
        sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "Invalid member '%s'.",
                    m ? m : "");
        return -1;
      }
    }
  }
  return 0;
}

json_object *sim_policy_new(sim *s, json_object *want)
{
  json_object *p = json_object_new_object(), *bindings;
  char etag[40];

  bindings = json_object_object_get(want, "bindings");
  json_object_object_add(p, "version", json_object_new_int(1));
  if (alen(bindings))
    json_object_object_add(p, "bindings", copy(bindings));
  /* Policy.etag is `format: byte`: base64. */
  json_object_object_add(p, "etag",
                         json_object_new_string(sim_fingerprint(s, etag)));
  return p;
}
