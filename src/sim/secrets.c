/*
 * secrets.c - Secret Manager v1 (project-level secrets): secrets create/
 * get/list/delete, addVersion, versions get/list/access ("latest" alias)
 * and getIamPolicy/setIamPolicy. Everything is synchronous, as in Google's
 * API.
 *
 * Payloads are secrets. They are kept only as the base64 the client sent,
 * in entries of their own kind (secretmanager.secretPayload, key
 * ".../versions/N/payload") so that the state file (0600) keeps them
 * across restarts while no API response but versions.access shows them.
 * The request log records paths only, never bodies. /_sim/state masks
 * payload entries unless asked with secrets=show (admin.c).
 *
 * Names use the project id where Google shows the project number
 * ("projects/123/secrets/s"): sim.h does not expose the number.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/iampolicy.h"
#include "sim/modules.h"
#include "sim/schema_apis.h"
#include "sim/jsonutil.h"
#include "sim/sim.h"

#define SM_KIND_SECRET  "secretmanager.secret"
#define SM_KIND_VERSION "secretmanager.secretVersion"
#define SM_KIND_PAYLOAD "secretmanager.secretPayload"
#define SM_MAX_PAYLOAD  65536

static int valid_secret_id(const char *id)
{
  size_t n = id ? strlen(id) : 0;

  if (n < 1 || n > 255)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
      return 0;
  return 1;
}

/* Decoded length of standard base64, or -1 when it is not base64. */
static long b64_len(const char *b)
{
  size_t n = strlen(b), pad = 0;

  if (n % 4 != 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)b[i];

    if (c == '=') {
      if (i < n - 2)
        return -1;
      pad++;
    } else if (!isalnum(c) && c != '+' && c != '/') {
      return -1;
    }
  }
  return (long)(n / 4 * 3 - pad);
}

static json_object *secret_lookup(sim *s, sim_req *req, sim_resp *resp,
                                  char *key, size_t n)
{
  json_object *sec;

  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  snprintf(key, n, "projects/%s/secrets/%s", sim_project(s),
           sim_param(req, "secretsId"));
  sec = sim_store_get(s, key);
  if (sec == NULL)
    sim_err_rpc(resp, 404, "NOT_FOUND",
                "Secret [%s] not found or has no "
                "versions.",
                key);
  return sec;
}

static void new_etag(sim *s, json_object *o)
{
  char buf[40];

  snprintf(buf, sizeof(buf), "\"%014llx\"",
           (unsigned long long)(sim_rand(s) & 0xffffffffffffffull));
  json_object_object_add(o, "etag", json_object_new_string(buf));
}

/* --- secrets ------------------------------------------------------------ */

static int secrets_create(sim *s, sim_req *req, sim_resp *resp)
{
  const char *id = sim_query(req, "secretId");
  json_object *body = sim_body(req), *sec, *v, *rep;
  char key[400], ts[32];

  if (sim_check_project(s, req, resp) < 0 ||
      sim_schema_check(resp, sim_schema_secrets, "Secret", body, "secret") < 0)
    return SIM_DONE;
  if (!valid_secret_id(id))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "The provided Secret ID [%s] does not match the "
                       "expected format [[a-zA-Z_0-9]+]",
                       id ? id : "");
  snprintf(key, sizeof(key), "projects/%s/secrets/%s", sim_project(s), id);
  if (sim_store_get(s, key))
    return sim_err_rpc(resp, 409, "ALREADY_EXISTS",
                       "Secret [%s] already exists.", key);
  rep = json_object_object_get(body, "replication");
  if (rep == NULL || (!json_object_object_get_ex(rep, "automatic", NULL) &&
                      !json_object_object_get_ex(rep, "userManaged", NULL)))
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Secret.replication must be specified.");
  sec = json_object_new_object();
  json_object_object_add(sec, "name", json_object_new_string(key));
  json_object_object_add(sec, "replication", copy(rep));
  json_object_object_add(sec, "createTime",
                         json_object_new_string(sim_now_str(s, ts)));
  if (json_object_object_get_ex(body, "labels", &v))
    json_object_object_add(sec, "labels", copy(v));
  if (json_object_object_get_ex(body, "annotations", &v))
    json_object_object_add(sec, "annotations", copy(v));
  new_etag(s, sec);
  sim_store_put(s, key, SM_KIND_SECRET, json_object_get(sec));
  return sim_resp_json(resp, 200, sec);
}

static int secrets_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400];
  json_object *sec = secret_lookup(s, req, resp, key, sizeof(key));

  return sec ? sim_resp_json(resp, 200, json_object_get(sec)) : SIM_DONE;
}

struct each_ctx {
  const char *kind;
  size_t depth;
  json_object *items;
};

static size_t slashes(const char *p)
{
  size_t n = 0;

  for (; *p; p++)
    n += *p == '/';
  return n;
}

static int each_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct each_ctx *c = data;

  if (strcmp(kind, c->kind) == 0 && slashes(name) == c->depth)
    json_object_array_add(c->items, json_object_get(obj));
  return 0;
}

static json_object *collect(sim *s, const char *prefix, const char *kind)
{
  struct each_ctx c;

  c.kind = kind;
  c.depth = slashes(prefix);
  c.items = json_object_new_array();
  sim_store_each(s, prefix, each_cb, &c);
  return c.items;
}

static int secrets_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  json_object *o, *items;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/secrets/", sim_project(s));
  items = collect(s, prefix, SM_KIND_SECRET);
  o = json_object_new_object();
  json_object_object_add(o, "totalSize", json_object_new_int((int)alen(items)));
  json_object_object_add(o, "secrets", items);
  return sim_resp_json(resp, 200, o);
}

struct names_ctx {
  json_object *names;
};

static int names_cb(void *data, const char *name, const char *kind,
                    json_object *obj)
{
  (void)kind;
  (void)obj;
  json_object_array_add(((struct names_ctx *)data)->names,
                        json_object_new_string(name));
  return 0;
}

static int secrets_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400], prefix[420];
  struct names_ctx c;

  if (secret_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/", key);
  c.names = json_object_new_array();
  sim_store_each(s, prefix, names_cb, &c);
  for (size_t i = 0; i < alen(c.names); i++)
    sim_store_del(
        s, json_object_get_string(json_object_array_get_idx(c.names, i)));
  json_object_put(c.names);
  sim_store_del(s, key);
  return sim_resp_json(resp, 200, json_object_new_object());
}

/* --- versions ----------------------------------------------------------- */

static int secrets_add_version(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400], vkey[450], pkey[480], prefix[420], ts[32];
  json_object *sec = secret_lookup(s, req, resp, key, sizeof(key));
  json_object *payload = json_object_object_get(sim_body(req), "payload");
  const char *data = js(payload, "data");
  json_object *ver, *p, *rs, *v;
  long len;

  if (sec == NULL ||
      sim_schema_check(resp, sim_schema_secrets, "AddSecretVersionRequest",
                       sim_body(req), "body") < 0)
    return SIM_DONE;
  if (data == NULL || (len = b64_len(data)) < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Invalid value at 'payload.data' (TYPE_BYTES), Base64 "
                       "decoding failed.");
  if (len > SM_MAX_PAYLOAD)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "Secret Payload cannot exceed 65536 bytes.");
  snprintf(prefix, sizeof(prefix), "%s/versions/", key);
  snprintf(vkey, sizeof(vkey), "%s%zu", prefix,
           sim_store_count(s, prefix, SM_KIND_VERSION) + 1);
  ver = json_object_new_object();
  json_object_object_add(ver, "name", json_object_new_string(vkey));
  json_object_object_add(ver, "createTime",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(ver, "state", json_object_new_string("ENABLED"));
  rs = json_object_new_object();
  json_object_object_add(rs, "automatic", json_object_new_object());
  json_object_object_add(ver, "replicationStatus", rs);
  json_object_object_add(ver, "clientSpecifiedPayloadChecksum",
                         json_object_new_boolean(json_object_object_get_ex(
                             payload, "dataCrc32c", NULL)));
  new_etag(s, ver);
  p = json_object_new_object();
  json_object_object_add(p, "data", json_object_new_string(data));
  if (json_object_object_get_ex(payload, "dataCrc32c", &v))
    json_object_object_add(p, "dataCrc32c", copy(v));
  snprintf(pkey, sizeof(pkey), "%s/payload", vkey);
  sim_store_put(s, pkey, SM_KIND_PAYLOAD, p);
  sim_store_put(s, vkey, SM_KIND_VERSION, json_object_get(ver));
  return sim_resp_json(resp, 200, ver);
}

struct latest_ctx {
  json_object *best;
  long best_n;
};

static int latest_cb(void *data, const char *name, const char *kind,
                     json_object *obj)
{
  struct latest_ctx *c = data;
  const char *slash = strrchr(name, '/');
  long n = slash ? strtol(slash + 1, NULL, 10) : 0;

  if (strcmp(kind, SM_KIND_VERSION) == 0 &&
      strcmp(jsd(obj, "state", ""), "ENABLED") == 0 && n > c->best_n) {
    c->best = obj;
    c->best_n = n;
  }
  return 0;
}

/* The version named by {versionsId} ("latest": the newest ENABLED). */
static json_object *version_lookup(sim *s, sim_req *req, sim_resp *resp,
                                   char *vkey, size_t n)
{
  char key[400], prefix[420];
  const char *v = sim_param(req, "versionsId");
  json_object *ver;

  if (secret_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return NULL;
  if (strcmp(v, "latest") == 0) {
    struct latest_ctx c = {NULL, 0};

    snprintf(prefix, sizeof(prefix), "%s/versions/", key);
    sim_store_each(s, prefix, latest_cb, &c);
    if (c.best == NULL) {
      snprintf(vkey, n, "%s/versions/latest", key);
      sim_err_rpc(resp, 404, "NOT_FOUND", "Secret Version [%s] not found.",
                  vkey);
      return NULL;
    }
    snprintf(vkey, n, "%s", js(c.best, "name"));
    return c.best;
  }
  snprintf(vkey, n, "%s/versions/%s", key, v);
  ver = sim_store_get(s, vkey);
  if (ver == NULL)
    sim_err_rpc(resp, 404, "NOT_FOUND", "Secret Version [%s] not found.", vkey);
  return ver;
}

static int versions_get(sim *s, sim_req *req, sim_resp *resp)
{
  char vkey[450];
  json_object *ver = version_lookup(s, req, resp, vkey, sizeof(vkey));

  return ver ? sim_resp_json(resp, 200, json_object_get(ver)) : SIM_DONE;
}

static int versions_list(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400], prefix[420];
  json_object *o, *items;

  if (secret_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/versions/", key);
  items = collect(s, prefix, SM_KIND_VERSION);
  o = json_object_new_object();
  json_object_object_add(o, "totalSize", json_object_new_int((int)alen(items)));
  json_object_object_add(o, "versions", items);
  return sim_resp_json(resp, 200, o);
}

static int versions_access(sim *s, sim_req *req, sim_resp *resp)
{
  char vkey[450], pkey[480];
  json_object *ver = version_lookup(s, req, resp, vkey, sizeof(vkey));
  json_object *p, *o;

  if (ver == NULL)
    return SIM_DONE;
  if (strcmp(jsd(ver, "state", ""), "ENABLED") != 0)
    return sim_err_rpc(resp, 400, "FAILED_PRECONDITION",
                       "Secret Version [%s] is in %s state.", vkey,
                       js(ver, "state"));
  snprintf(pkey, sizeof(pkey), "%s/payload", vkey);
  p = sim_store_get(s, pkey);
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(vkey));
  json_object_object_add(o, "payload", p ? copy(p) : json_object_new_object());
  return sim_resp_json(resp, 200, o);
}

/* --- IAM policy --------------------------------------------------------- */

/* The policy lives beside the secret (".../iamPolicy"), not in it, so
 * secrets.get shows only Secret fields. */
static json_object *policy_of(sim *s, const char *key)
{
  char pkey[450];
  json_object *p;

  snprintf(pkey, sizeof(pkey), "%s/iamPolicy", key);
  p = sim_store_get(s, pkey);
  return p ? copy(p) : sim_policy_empty();
}

static int get_iam_policy(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400];
  json_object *sec = secret_lookup(s, req, resp, key, sizeof(key));

  return sec ? sim_resp_json(resp, 200, policy_of(s, key)) : SIM_DONE;
}

static int set_iam_policy(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400], pkey[450];
  json_object *sec = secret_lookup(s, req, resp, key, sizeof(key));
  json_object *want = json_object_object_get(sim_body(req), "policy");
  json_object *cur, *p;
  int bad;

  if (sec == NULL ||
      sim_schema_check(resp, sim_schema_secrets, "SetIamPolicyRequest",
                       sim_body(req), "body") < 0)
    return SIM_DONE;
  cur = policy_of(s, key);
  bad = sim_policy_check(s, resp, want, cur, SIM_POLICY_SECRET);
  json_object_put(cur);
  if (bad)
    return SIM_DONE;
  p = sim_policy_new(s, want);
  snprintf(pkey, sizeof(pkey), "%s/iamPolicy", key);
  sim_store_put(s, pkey, "secretmanager.iamPolicy", copy(p));
  return sim_resp_json(resp, 200, p);
}

/* --- table -------------------------------------------------------------- */

#define SP    "/v1/projects/{projectsId}/secrets"
#define SM_ID "secretmanager.projects.secrets."

/* Suffix routes first: a plain {secretsId} would also match "s:access". */
static const sim_route secrets_routes[] = {
    {"POST", SP "/{secretsId}:addVersion", SM_ID "addVersion",
     secrets_add_version, NULL, 0, NULL},
    {"GET", SP "/{secretsId}:getIamPolicy", SM_ID "getIamPolicy",
     get_iam_policy, NULL, 0, NULL},
    {"POST", SP "/{secretsId}:setIamPolicy", SM_ID "setIamPolicy",
     set_iam_policy, NULL, 0, NULL},
    {"GET", SP "/{secretsId}/versions/{versionsId}:access",
     SM_ID "versions.access", versions_access, NULL, 0, NULL},
    {"POST", SP, SM_ID "create", secrets_create, NULL, 0, NULL},
    {"GET", SP, SM_ID "list", secrets_list, NULL, 0, NULL},
    {"GET", SP "/{secretsId}", SM_ID "get", secrets_get, NULL, 0, NULL},
    {"DELETE", SP "/{secretsId}", SM_ID "delete", secrets_delete, NULL, 0,
     NULL},
    {"GET", SP "/{secretsId}/versions", SM_ID "versions.list", versions_list,
     NULL, 0, NULL},
    {"GET", SP "/{secretsId}/versions/{versionsId}", SM_ID "versions.get",
     versions_get, NULL, 0, NULL},
};

int sim_secrets_init(sim *s)
{
  return sim_register(s, SIM_API_SECRETS, secrets_routes,
                      sizeof(secrets_routes) / sizeof(*secrets_routes));
}
