/*
 * iam.c - IAM v1 service accounts: create, get, list, delete. There is no
 * discovery document for IAM in the repo; paths and shapes follow Google's
 * public REST reference (projects.serviceAccounts). The {project} segment
 * may be "-" (any project) in get and delete, and an account may be named
 * by its email or its uniqueId, as Google allows.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/modules.h"
#include "sim/jsonutil.h"
#include "sim/sim.h"

#define IAM_KIND "iam.serviceAccount"

/* The {projectsId} is ours or "-"; else Google's 404. */
static int check_project(sim *s, sim_req *req, sim_resp *resp, int dash_ok)
{
  const char *p = sim_param(req, "projectsId");

  if (dash_ok && strcmp(p, "-") == 0)
    return 0;
  return sim_check_project(s, req, resp);
}

/* accountId: 6-30 characters, [a-z]([-a-z0-9]*[a-z0-9]). */
static int valid_account_id(const char *id)
{
  size_t n = id ? strlen(id) : 0;

  if (n < 6 || n > 30 || !islower((unsigned char)id[0]) || id[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]) &&
        id[i] != '-')
      return 0;
  return 1;
}

struct uid_ctx {
  const char *uid;
  json_object *hit;
};

static int uid_cb(void *data, const char *name, const char *kind,
                  json_object *obj)
{
  struct uid_ctx *c = data;

  (void)name;
  if (strcmp(kind, IAM_KIND) == 0 &&
      strcmp(js(obj, "uniqueId") ? js(obj, "uniqueId") : "", c->uid) == 0)
    c->hit = obj;
  return c->hit != NULL;
}

static json_object *account_lookup(sim *s, sim_req *req, sim_resp *resp)
{
  const char *id = sim_param(req, "serviceAccountsId");
  char key[400];
  json_object *sa;

  if (check_project(s, req, resp, 1) < 0)
    return NULL;
  if (strchr(id, '@')) {
    snprintf(key, sizeof(key), "projects/%s/serviceAccounts/%s", sim_project(s),
             id);
    sa = sim_store_get(s, key);
  } else {
    struct uid_ctx c = {id, NULL};

    snprintf(key, sizeof(key), "projects/%s/serviceAccounts/", sim_project(s));
    sim_store_each(s, key, uid_cb, &c);
    sa = c.hit;
  }
  if (sa == NULL)
    sim_err_rpc(resp, 404, "NOT_FOUND", "Unknown service account");
  return sa;
}

static int sa_create(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *in, *sa;
  const char *id = js(body, "accountId"), *v;
  char email[200], key[400], uid[32], etag[24];

  if (check_project(s, req, resp, 0) < 0)
    return SIM_DONE;
  if (!valid_account_id(id))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid account ID '%s'. It must be 6 to 30 "
                       "characters: a lowercase letter, then lowercase "
                       "letters, digits or hyphens, not ending in a hyphen.",
                       id ? id : "");
  snprintf(email, sizeof(email), "%s@%s.iam.gserviceaccount.com", id,
           sim_project(s));
  snprintf(key, sizeof(key), "projects/%s/serviceAccounts/%s", sim_project(s),
           email);
  if (sim_store_get(s, key))
    return sim_err_rpc(resp, 409, "ALREADY_EXISTS",
                       "Service account %s already exists within project "
                       "projects/%s.",
                       id, sim_project(s));
  in = json_object_object_get(body, "serviceAccount");
  sa = json_object_new_object();
  json_object_object_add(sa, "name", json_object_new_string(key));
  json_object_object_add(sa, "projectId",
                         json_object_new_string(sim_project(s)));
  /* uniqueId is 21 digits, starting with 1. */
  snprintf(uid, sizeof(uid), "10%019llu",
           (unsigned long long)(sim_rand(s) % 10000000000000000000ull));
  json_object_object_add(sa, "uniqueId", json_object_new_string(uid));
  json_object_object_add(sa, "email", json_object_new_string(email));
  if ((v = js(in, "displayName")) != NULL)
    json_object_object_add(sa, "displayName", json_object_new_string(v));
  if ((v = js(in, "description")) != NULL)
    json_object_object_add(sa, "description", json_object_new_string(v));
  /* etag is `format: byte`: base64, which clients decode. */
  json_object_object_add(sa, "etag",
                         json_object_new_string(sim_fingerprint(s, etag)));
  json_object_object_add(sa, "oauth2ClientId", json_object_new_string(uid));
  sim_store_put(s, key, IAM_KIND, json_object_get(sa));
  return sim_resp_json(resp, 200, sa);
}

static int sa_get(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *sa = account_lookup(s, req, resp);

  return sa ? sim_resp_json(resp, 200, json_object_get(sa)) : SIM_DONE;
}

static int sa_delete(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *sa = account_lookup(s, req, resp);
  char key[400];

  if (sa == NULL)
    return SIM_DONE;
  snprintf(key, sizeof(key), "%s", js(sa, "name"));
  sim_store_del(s, key);
  return sim_resp_json(resp, 200, json_object_new_object());
}

struct list_ctx {
  json_object *items;
};

static int list_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  (void)name;
  if (strcmp(kind, IAM_KIND) == 0)
    json_object_array_add(((struct list_ctx *)data)->items,
                          json_object_get(obj));
  return 0;
}

static int sa_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  struct list_ctx c;
  json_object *o;

  if (check_project(s, req, resp, 0) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/serviceAccounts/",
           sim_project(s));
  c.items = json_object_new_array();
  sim_store_each(s, prefix, list_cb, &c);
  o = json_object_new_object();
  json_object_object_add(o, "accounts", c.items);
  return sim_resp_json(resp, 200, o);
}

#define IP "/v1/projects/{projectsId}/serviceAccounts"

static const sim_route iam_routes[] = {
    {"POST", IP, "iam.projects.serviceAccounts.create", sa_create, NULL, 0,
     NULL},
    {"GET", IP, "iam.projects.serviceAccounts.list", sa_list, NULL, 0, NULL},
    {"GET", IP "/{serviceAccountsId}", "iam.projects.serviceAccounts.get",
     sa_get, NULL, 0, NULL},
    {"DELETE", IP "/{serviceAccountsId}", "iam.projects.serviceAccounts.delete",
     sa_delete, NULL, 0, NULL},
};

int sim_iam_init(sim *s)
{
  return sim_register(s, SIM_API_IAM, iam_routes,
                      sizeof(iam_routes) / sizeof(*iam_routes));
}
