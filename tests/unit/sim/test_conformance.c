/*
 * test_conformance.c - edv-gcpsim against the discovery documents.
 *
 *   routes    every route the simulator serves is a discovery method: same
 *             method id, verb and path template (the document's
 *             servicePath + flatPath or path; parameter names aside).
 *   responses a scenario through real HTTP (network, subnet, firewall,
 *             router, addresses, instance, disk, snapshot, LB chain, SQL
 *             instance/database/user, DNS change, DNS authorization,
 *             certificate, map entry, secret, alert policy, uptime check,
 *             ...; get/list of each; operations polled), each 2xx JSON body
 *             validated against the method's response schema: field names
 *             known, JSON types right, enum values valid, recursively
 *             through $ref. Every served route outside the exceptions
 *             below must be reached by the scenario (a violation if not).
 *   requests  unknown request fields get Google's 400, a few methods per
 *             API.
 *   docs      every method served has a row in docs/simulator.md's
 *             fidelity table.
 *
 * EDV_CONFORMANCE_LIST=1 prints the route table (verb, template, method id).
 *
 * The discovery documents are read at test time from
 * $EDV_SHARED_DIR/gcp-discovery (or $EDV_SHARED_DIR itself), else from
 * $EDV_SOURCE_ROOT/../shared/gcp-discovery, else from the subset committed
 * under tests/data/discovery/ (scripts/discovery-subset.py: the served
 * methods and the schemas they reach, Google's JSON unchanged), so the
 * checks run everywhere. With the full documents, `subset` checks the
 * committed subset holds every served method exactly as Google ships it.
 *
 * Routes with no discovery document in the repository are the only
 * exceptions (docs/simulator.md lists them too): Service Networking,
 * the OAuth token endpoint, the metadata server and the /_sim/ admin API.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "apitest.h"
#include "sim/sim_int.h"

#define CP  "/compute/v1/projects/edv-sim"
#define V1  "/v1/projects/edv-sim"
#define VB  "/sql/v1beta4/projects/edv-sim"
#define DZ  "/dns/v1/projects/edv-sim/managedZones"
#define CM  "/v1/projects/edv-sim/locations/global"
#define MON "/v3/projects/edv-sim"

/* ---------------------------------------------------------------------- */
/* Discovery documents                                                     */
/* ---------------------------------------------------------------------- */

enum {
  DOC_COMPUTE,
  DOC_SQL_V1,
  DOC_SQL_V1BETA4,
  DOC_DNS,
  DOC_CERTMGR,
  DOC_MONITORING,
  DOC_SECRETS,
  DOC_IAM,
  DOC_RESOURCEMANAGER,
  DOC_CLOUDBILLING,
  DOC_BIGQUERY,
  DOC_BUDGETS,
  DOC__COUNT
};

static const char *const doc_files[DOC__COUNT] = {
    "compute.v1.json",
    "sqladmin.v1.json",
    "sqladmin.v1beta4.json",
    "dns.v1.json",
    "certificatemanager.v1.json",
    "monitoring.v3.json",
    "secretmanager.v1.json",
    "iam.v1.json",
    "cloudresourcemanager.v1.json",
    "cloudbilling.v1.json",
    "bigquery.v2.json",
    "billingbudgets.v1.json",
};

typedef struct doc {
  json_object *root;
  json_object *methods; /* method id -> method (borrowed from root) */
  const char *service_path;
  json_object *schemas;
} doc;

static doc docs[DOC__COUNT];
static char disc_dir[1024];
static int have_docs;
static int using_subset; /* docs[] come from tests/data/discovery */

static int is_dir(const char *p)
{
  struct stat st;

  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void index_methods(json_object *methods_out, json_object *res)
{
  json_object *m, *sub;

  if (res == NULL)
    return;
  json_object_object_foreach(res, name, r)
  {
    (void)name;
    if (json_object_object_get_ex(r, "methods", &m)) {
      json_object_object_foreach(m, mname, meth)
      {
        json_object *id;

        (void)mname;
        if (json_object_object_get_ex(meth, "id", &id))
          json_object_object_add(methods_out, json_object_get_string(id),
                                 json_object_get(meth));
      }
    }
    if (json_object_object_get_ex(r, "resources", &sub))
      index_methods(methods_out, sub);
  }
}

static int docs_load_from(doc *into, const char *dir)
{
  char path[1200];

  for (int i = 0; i < DOC__COUNT; i++) {
    json_object *res, *sp;

    snprintf(path, sizeof(path), "%s/%s", dir, doc_files[i]);
    into[i].root = json_object_from_file(path);
    if (into[i].root == NULL)
      return -1;
    into[i].methods = json_object_new_object();
    if (json_object_object_get_ex(into[i].root, "resources", &res))
      index_methods(into[i].methods, res);
    into[i].service_path =
        json_object_object_get_ex(into[i].root, "servicePath", &sp)
            ? json_object_get_string(sp)
            : "";
    json_object_object_get_ex(into[i].root, "schemas", &into[i].schemas);
  }
  return 0;
}

static void docs_release(doc *d)
{
  for (int i = 0; i < DOC__COUNT; i++) {
    json_object_put(d[i].methods);
    json_object_put(d[i].root);
  }
  memset(d, 0, sizeof(doc) * DOC__COUNT);
}

static void subset_dir(char *out, size_t size)
{
  const char *root = getenv("EDV_SOURCE_ROOT");

  snprintf(out, size, "%s/tests/data/discovery", root && *root ? root : ".");
}

static int docs_load(void)
{
  const char *shared = getenv("EDV_SHARED_DIR");
  const char *root = getenv("EDV_SOURCE_ROOT");

  if (shared && *shared) {
    snprintf(disc_dir, sizeof(disc_dir), "%s/gcp-discovery", shared);
    if (!is_dir(disc_dir))
      snprintf(disc_dir, sizeof(disc_dir), "%s", shared);
  } else {
    snprintf(disc_dir, sizeof(disc_dir), "%s/../shared/gcp-discovery",
             root && *root ? root : ".");
  }
  if (docs_load_from(docs, disc_dir) == 0)
    return 0;
  docs_release(docs);
  subset_dir(disc_dir, sizeof(disc_dir));
  using_subset = 1;
  printf("# full discovery documents not found: using the subset in %s\n",
         disc_dir);
  return docs_load_from(docs, disc_dir);
}

static void docs_free(void)
{
  docs_release(docs);
}

static int group_setup(void **state)
{
  (void)state;
  have_docs = docs_load() == 0;
  if (!have_docs) {
    printf("# discovery documents not found in %s (set EDV_SHARED_DIR)\n",
           disc_dir);
    docs_free();
  }
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  docs_free();
  return 0;
}

/* Routes with no discovery document in the repository. Nothing else may
 * be excepted. */
static int route_excepted(const sim_rt *rt)
{
  return rt->api == SIM_API_SERVICENET || rt->api == SIM_API_OAUTH ||
         rt->api == SIM_API_METADATA || rt->api == SIM_API_ADMIN;
}

/* The discovery document of a route; -1 when the API has none. */
static int route_doc(const sim_rt *rt)
{
  switch (rt->api) {
  case SIM_API_COMPUTE:
    return DOC_COMPUTE;
  case SIM_API_SQL:
    return strncmp(rt->r->path, "/sql/v1beta4/", 13) == 0 ? DOC_SQL_V1BETA4
                                                          : DOC_SQL_V1;
  case SIM_API_DNS:
    return DOC_DNS;
  case SIM_API_CERTMGR:
    return DOC_CERTMGR;
  case SIM_API_MONITORING:
    return DOC_MONITORING;
  case SIM_API_SECRETS:
    return DOC_SECRETS;
  case SIM_API_IAM:
    return DOC_IAM;
  case SIM_API_RESOURCEMANAGER:
    return DOC_RESOURCEMANAGER;
  case SIM_API_BILLING:
    return DOC_CLOUDBILLING;
  case SIM_API_BIGQUERY:
    return DOC_BIGQUERY;
  case SIM_API_BUDGETS:
    return DOC_BUDGETS;
  default:
    return -1;
  }
}

/* "a/{x}/b/{+y}:v" -> "a/{}/b/{+}:v": templates compared without the
 * parameter names. */
static void norm_template(const char *in, char *out, size_t n)
{
  size_t o = 0;

  for (const char *p = in; *p && o + 4 < n; p++) {
    if (*p != '{') {
      out[o++] = *p;
      continue;
    }
    out[o++] = '{';
    if (p[1] == '+')
      out[o++] = '+';
    out[o++] = '}';
    p = strchr(p, '}');
    if (p == NULL)
      break;
  }
  out[o] = '\0';
}

static const char *jstr(json_object *o, const char *key)
{
  json_object *v;

  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                               : NULL;
}

/* ---------------------------------------------------------------------- */
/* Violations, collected and reported together                             */
/* ---------------------------------------------------------------------- */

static json_object *violations; /* message -> count */

static void violation(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void violation(const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  json_object *n;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (json_object_object_get_ex(violations, msg, &n))
    json_object_int_inc(n, 1);
  else
    json_object_object_add(violations, msg, json_object_new_int(1));
}

static void violations_check(const char *what)
{
  int count = json_object_object_length(violations);

  json_object_object_foreach(violations, msg, n)
  {
    printf("# %s violation: %s (x%d)\n", what, msg, json_object_get_int(n));
  }
  json_object_put(violations);
  violations = NULL;
  if (count)
    fail_msg("%d %s violation(s), listed above", count, what);
}

/* The route is the document's batch endpoint ("/" + batchPath). */
static int is_batch(const sim_rt *rt, int d)
{
  const char *bp = jstr(docs[d].root, "batchPath");

  return bp && rt->r->path[0] == '/' && strcmp(rt->r->path + 1, bp) == 0;
}

/* ---------------------------------------------------------------------- */
/* 1. Routes                                                               */
/* ---------------------------------------------------------------------- */

static void test_routes(void **state)
{
  simfx *f;
  sim *s;
  int checked = 0, excepted = 0;

  (void)state;
  if (!have_docs)
    skip();
  f = fx_start("fast");
  s = edv__sim_core(f->es);
  violations = json_object_new_object();
  /* The table is fixed once the simulator has started. */
  for (size_t i = 0; i < s->n_routes; i++) {
    const sim_rt *rt = &s->routes[i];
    const sim_route *r = rt->r;
    int d = route_doc(rt);
    json_object *m;
    char want[600], got[600], alt[600];
    const char *flat, *path;

    if (getenv("EDV_CONFORMANCE_LIST"))
      printf("# route %s %s %s\n", r->verb, r->path, r->method_id);
    if (route_excepted(rt)) {
      excepted++;
      continue;
    }
    checked++;
    if (d >= 0 && is_batch(rt, d)) { /* the document's batchPath */
      if (strcmp(r->verb, "POST") != 0)
        violation("%s %s: the batch endpoint is a POST", r->verb, r->path);
      continue;
    }
    if (d < 0) {
      violation("%s %s (%s): API %s has no discovery document", r->verb,
                r->path, r->method_id, sim_api_name(rt->api));
      continue;
    }
    if (r->method_id == NULL ||
        !json_object_object_get_ex(docs[d].methods, r->method_id, &m)) {
      violation("%s %s: method id %s is not in %s", r->verb, r->path,
                r->method_id ? r->method_id : "(none)", doc_files[d]);
      continue;
    }
    if (strcmp(r->verb, jstr(m, "httpMethod")) != 0)
      violation("%s %s (%s): discovery verb is %s", r->verb, r->path,
                r->method_id, jstr(m, "httpMethod"));
    flat = jstr(m, "flatPath");
    path = jstr(m, "path");
    norm_template(r->path, got, sizeof(got));
    snprintf(alt, sizeof(alt), "/%s%s", docs[d].service_path, path ? path : "");
    norm_template(alt, want, sizeof(want));
    if (strcmp(got, want) == 0)
      continue;
    if (flat) {
      snprintf(alt, sizeof(alt), "/%s%s", docs[d].service_path, flat);
      norm_template(alt, want, sizeof(want));
      if (strcmp(got, want) == 0)
        continue;
    }
    violation("%s %s (%s): discovery path is /%s%s%s%s", r->verb, r->path,
              r->method_id, docs[d].service_path, flat ? flat : path,
              flat ? " or " : "", flat ? path : "");
  }
  printf("# routes: %d checked against discovery, %d excepted (no document)\n",
         checked, excepted);
  assert_true(checked > 100);
  fx_free(f);
  violations_check("route");
}

/* ---------------------------------------------------------------------- */
/* 2. Response schemas                                                     */
/* ---------------------------------------------------------------------- */

static void validate(const doc *d, json_object *schema, json_object *v,
                     const char *method, const char *where, int depth);

static json_object *resolve(const doc *d, json_object *schema,
                            const char **name)
{
  const char *ref = jstr(schema, "$ref");
  json_object *s;

  if (ref == NULL)
    return schema;
  *name = ref;
  return json_object_object_get_ex(d->schemas, ref, &s) ? s : NULL;
}

/* `format: byte` is base64 as Google emits it (RFC 4648 section 4: the
 * standard alphabet, padded to a multiple of four); clients decode it. */
static int valid_base64(const char *p)
{
  size_t n = strlen(p), pad = 0;

  if (n % 4)
    return 0;
  while (pad < 2 && pad < n && p[n - 1 - pad] == '=')
    pad++;
  for (size_t i = 0; i < n - pad; i++)
    if (!isalnum((unsigned char)p[i]) && p[i] != '+' && p[i] != '/')
      return 0;
  return 1;
}

/* Fields Google added after the revision of a document we have: iam.v1.json
 * is the 2017 revision; ServiceAccount.description (the orchestrator's
 * ownership marker) and disabled came later. Nothing else is allowed. */
static int newer_field(const doc *d, const char *schema, const char *key)
{
  return d == &docs[DOC_IAM] && schema &&
         strcmp(schema, "ServiceAccount") == 0 &&
         (strcmp(key, "description") == 0 || strcmp(key, "disabled") == 0);
}

static void validate(const doc *d, json_object *schema, json_object *v,
                     const char *method, const char *where, int depth)
{
  const char *sname = NULL, *type;
  json_object *props, *addl, *items, *en;
  char sub[512];

  if (depth > 40)
    return;
  schema = resolve(d, schema, &sname);
  if (schema == NULL) {
    violation("%s: %s: schema %s not found", method, where, sname);
    return;
  }
  type = jstr(schema, "type");
  if (type == NULL || strcmp(type, "any") == 0)
    return;
  if (v == NULL) {
    violation("%s: %s: null (want %s)", method, where, type);
    return;
  }
  if (strcmp(type, "object") == 0) {
    if (!json_object_is_type(v, json_type_object)) {
      violation("%s: %s: want an object, got %s", method, where,
                json_type_to_name(json_object_get_type(v)));
      return;
    }
    json_object_object_get_ex(schema, "properties", &props);
    if (!json_object_object_get_ex(schema, "additionalProperties", &addl))
      addl = NULL;
    json_object_object_foreach(v, key, val)
    {
      json_object *ps = NULL;

      snprintf(sub, sizeof(sub), "%s.%s", where, key);
      if (props && json_object_object_get_ex(props, key, &ps))
        validate(d, ps, val, method, sub, depth + 1);
      else if (addl)
        validate(d, addl, val, method, sub, depth + 1);
      else if (!newer_field(d, sname, key))
        violation("%s: %s: unknown field (not in %s)", method, sub,
                  sname ? sname : "the schema");
    }
    return;
  }
  if (strcmp(type, "array") == 0) {
    if (!json_object_is_type(v, json_type_array)) {
      violation("%s: %s: want an array, got %s", method, where,
                json_type_to_name(json_object_get_type(v)));
      return;
    }
    if (!json_object_object_get_ex(schema, "items", &items))
      return;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      snprintf(sub, sizeof(sub), "%s[]", where);
      validate(d, items, json_object_array_get_idx(v, i), method, sub,
               depth + 1);
    }
    return;
  }
  if (strcmp(type, "string") == 0) {
    if (!json_object_is_type(v, json_type_string)) {
      violation("%s: %s: want a string (%s), got %s", method, where,
                jstr(schema, "format") ? jstr(schema, "format") : "string",
                json_type_to_name(json_object_get_type(v)));
      return;
    }
    if (json_object_object_get_ex(schema, "enum", &en)) {
      const char *s = json_object_get_string(v);
      size_t i, n = json_object_array_length(en);

      for (i = 0; i < n; i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(en, i)),
                   s) == 0)
          break;
      if (i == n)
        violation("%s: %s: '%s' is not one of the enum values", method, where,
                  s);
    }
    if (jstr(schema, "format") && strcmp(jstr(schema, "format"), "byte") == 0 &&
        !valid_base64(json_object_get_string(v)))
      violation("%s: %s: '%s' is not base64 (format: byte)", method, where,
                json_object_get_string(v));
    return;
  }
  if (strcmp(type, "integer") == 0) {
    if (!json_object_is_type(v, json_type_int))
      violation("%s: %s: want an integer, got %s", method, where,
                json_type_to_name(json_object_get_type(v)));
    return;
  }
  if (strcmp(type, "number") == 0) {
    if (!json_object_is_type(v, json_type_int) &&
        !json_object_is_type(v, json_type_double))
      violation("%s: %s: want a number, got %s", method, where,
                json_type_to_name(json_object_get_type(v)));
    return;
  }
  if (strcmp(type, "boolean") == 0) {
    if (!json_object_is_type(v, json_type_boolean))
      violation("%s: %s: want a boolean, got %s", method, where,
                json_type_to_name(json_object_get_type(v)));
    return;
  }
}

/* Which route serves verb + path: the core's rules (literal segments win,
 * then literal suffixes; each {+x} counts a little against). */
static int seg_match(const sim_rt *rt, size_t ti, const char **p,
                     const size_t *len, size_t pi, size_t n)
{
  const sim_seg *g;

  if (ti == rt->n_segs)
    return pi == n;
  if (pi == n)
    return 0;
  g = &rt->segs[ti];
  if (g->lit)
    return strlen(g->lit) == len[pi] && memcmp(g->lit, p[pi], len[pi]) == 0 &&
           seg_match(rt, ti + 1, p, len, pi + 1, n);
  if (!g->plus) {
    size_t sl = strlen(g->suffix);

    if (len[pi] <= sl ||
        (sl && memcmp(p[pi] + len[pi] - sl, g->suffix, sl) != 0))
      return 0;
    return seg_match(rt, ti + 1, p, len, pi + 1, n);
  }
  for (size_t end = n; end > pi; end--) {
    size_t sl = strlen(g->suffix);

    if (sl && (len[end - 1] <= sl ||
               memcmp(p[end - 1] + len[end - 1] - sl, g->suffix, sl) != 0))
      continue;
    if (seg_match(rt, ti + 1, p, len, end, n))
      return 1;
  }
  return 0;
}

static const sim_rt *find_route(sim *s, const char *verb, const char *path)
{
  const char *p[64];
  size_t len[64], n = 0, qlen = strcspn(path, "?");
  const sim_rt *best = NULL;
  int best_score = -1;

  for (const char *q = path + 1; n < 64;) {
    const char *end = memchr(q, '/', (size_t)(path + qlen - q));

    p[n] = q;
    len[n] = end ? (size_t)(end - q) : (size_t)(path + qlen - q);
    n++;
    if (end == NULL)
      break;
    q = end + 1;
  }
  for (size_t i = 0; i < s->n_routes; i++) {
    const sim_rt *rt = &s->routes[i];
    int score;

    if (strcmp(rt->r->verb, verb) != 0 || !seg_match(rt, 0, p, len, 0, n))
      continue;
    score = rt->literals * 100;
    for (size_t j = 0; j < rt->n_segs; j++) {
      if (rt->segs[j].suffix && *rt->segs[j].suffix)
        score += 10;
      if (rt->segs[j].plus)
        score -= 1;
    }
    if (score > best_score) {
      best = rt;
      best_score = score;
    }
  }
  return best;
}

static json_object *exercised; /* "VERB template" -> calls */

/* A served route's key in `exercised`: one method id can have two routes
 * (Cloud SQL's /v1 and /sql/v1beta4), each must be reached. */
static void route_key(const sim_rt *rt, char *buf, size_t n)
{
  snprintf(buf, n, "%s %s", rt->r->verb, rt->r->path);
}

/* Validates one answer against its method's response schema. */
static void check_response(simfx *f, const char *verb, const char *path,
                           reply *r)
{
  const sim_rt *rt = find_route(edv__sim_core(f->es), verb, path);
  json_object *m, *resp, *n;
  char key[600];
  int d;

  if (rt == NULL) {
    violation("%s %s: answered %ld but no route matches", verb, path,
              r->status);
    return;
  }
  route_key(rt, key, sizeof(key));
  if (json_object_object_get_ex(exercised, key, &n))
    json_object_int_inc(n, 1);
  else
    json_object_object_add(exercised, key, json_object_new_int(1));
  if (route_excepted(rt) || r->status < 200 || r->status > 299)
    return;
  d = route_doc(rt);
  if (d < 0 ||
      !json_object_object_get_ex(docs[d].methods, rt->r->method_id, &m))
    return; /* test_routes reports it */
  if (!json_object_object_get_ex(m, "response", &resp)) {
    if (r->len && r->json && json_object_object_length(r->json))
      violation("%s: %s %s answered a body; the method has no response",
                rt->r->method_id, verb, path);
    return;
  }
  if (r->json == NULL) {
    violation("%s: %s %s: 2xx body is not JSON", rt->r->method_id, verb, path);
    return;
  }
  validate(&docs[d], resp, r->json, rt->r->method_id, jstr(resp, "$ref"), 0);
}

/* One call, validated; wants a 2xx and returns the reply (free it). */
static void okr(simfx *f, const char *verb, const char *path, const char *body,
                reply *r)
{
  http(f, verb, path, body, r);
  if (r->status < 200 || r->status > 299)
    fail_msg("%s %s: want 2xx, got %ld: %s", verb, path, r->status,
             r->body ? r->body : "(no body)");
  check_response(f, verb, path, r);
}

static void ok(simfx *f, const char *verb, const char *path, const char *body)
{
  reply r;

  okr(f, verb, path, body, &r);
  reply_free(&r);
}

static void okf(simfx *f, const char *verb, const char *body, const char *fmt,
                ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void okf(simfx *f, const char *verb, const char *body, const char *fmt,
                ...)
{
  char path[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(path, sizeof(path), fmt, ap);
  va_end(ap);
  ok(f, verb, path, body);
}

/* The path of a selfLink the simulator rewrote to its own base URL. */
static const char *link_path(simfx *f, const char *link, char *buf, size_t n)
{
  char base[64];

  snprintf(base, sizeof(base), "http://127.0.0.1:%u", f->port);
  if (link == NULL)
    fail_msg("no selfLink");
  snprintf(buf, n, "%s",
           strncmp(link, base, strlen(base)) == 0 ? link + strlen(base) : link);
  return buf;
}

/* A Compute call that starts an operation: waits for it (operations.wait)
 * and reads it again (operations.get). */
static void cop(simfx *f, const char *verb, const char *path, const char *body)
{
  reply r;
  char op[512], wait[600];

  okr(f, verb, path, body, &r);
  link_path(f, jget(r.json, "selfLink"), op, sizeof(op));
  reply_free(&r);
  snprintf(wait, sizeof(wait), "%s/wait", op);
  okr(f, "POST", wait, NULL, &r);
  if (strcmp(jget(r.json, "status"), "DONE") != 0 ||
      jget(r.json, "error.errors.0.code"))
    fail_msg("%s %s: operation did not succeed: %s", verb, path, r.body);
  reply_free(&r);
  ok(f, "GET", op, NULL);
}

/* A Cloud SQL call that starts an operation: moves the clock on and reads
 * the operation until DONE. */
static void sqlop(simfx *f, const char *base, const char *verb,
                  const char *path, const char *body)
{
  reply r;
  char name[128];

  okr(f, verb, path, body, &r);
  snprintf(name, sizeof(name), "%s", jget(r.json, "name"));
  reply_free(&r);
  for (int i = 0; i < 50; i++) {
    char p[300];

    assert_int_equal(advance(f, 600), 200);
    snprintf(p, sizeof(p), "%s/operations/%s", base, name);
    okr(f, "GET", p, NULL, &r);
    if (strcmp(jget(r.json, "status"), "DONE") == 0) {
      if (jget(r.json, "error"))
        fail_msg("%s %s failed: %s", verb, path, r.body);
      reply_free(&r);
      return;
    }
    reply_free(&r);
  }
  fail_msg("%s %s: operation never finished", verb, path);
}

/* A long-running operation (Certificate Manager): polled until done. */
static void lro(simfx *f, const char *verb, const char *path, const char *body)
{
  reply r;
  char p[400];

  okr(f, verb, path, body, &r);
  snprintf(p, sizeof(p), "/v1/%s", jget(r.json, "name"));
  reply_free(&r);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(advance(f, 600), 200);
    okr(f, "GET", p, NULL, &r);
    if (jget(r.json, "done") && strcmp(jget(r.json, "done"), "true") == 0) {
      if (jget(r.json, "error"))
        fail_msg("%s %s failed: %s", verb, path, r.body);
      reply_free(&r);
      return;
    }
    reply_free(&r);
  }
  fail_msg("%s %s: operation never finished", verb, path);
}

/* Compute's batch endpoint, as gcloud calls it: each part's JSON is
 * validated as its own method's answer. */
static void batch(simfx *f, const char *const *paths, size_t n)
{
  char body[4096] = "", bnd[128];
  const char *b, *p;
  reply r;
  size_t parts = 0;

  for (size_t i = 0; i < n; i++)
    snprintf(body + strlen(body), sizeof(body) - strlen(body),
             "--b0\r\nContent-Type: application/http\r\nContent-ID: "
             "<c+%zu>\r\n\r\nGET %s HTTP/1.1\r\n\r\n\r\n",
             i + 1, paths[i]);
  strcat(body, "--b0--\r\n");
  http_ct(f, "POST", "/batch/compute/v1", "multipart/mixed; boundary=b0", body,
          &r);
  if (r.status != 200 || (b = strstr(r.ctype, "boundary=")) == NULL)
    fail_msg("batch: want 200 multipart/mixed, got %ld %s %s", r.status,
             r.ctype, r.body ? r.body : "");
  check_response(f, "POST", "/batch/compute/v1", &r); /* reached */
  snprintf(bnd, sizeof(bnd), "--%s", b + 9);
  for (p = strstr(r.body, bnd); p; p = strstr(p + 1, bnd)) {
    const char *http1 = strstr(p, "HTTP/1.1 "), *json, *end;
    char cid[64];
    reply part;

    if (strncmp(p + strlen(bnd), "--", 2) == 0)
      break;
    snprintf(cid, sizeof(cid), "Content-ID: <response-c+%zu>", parts + 1);
    json = http1 ? strstr(http1, "\r\n\r\n") : NULL;
    end = json ? strstr(json, bnd) : NULL;
    if (parts >= n || !json || !end || strstr(p, cid) == NULL ||
        strstr(p, cid) > http1)
      fail_msg("batch: part %zu malformed: %s", parts + 1, p);
    memset(&part, 0, sizeof(part));
    part.status = strtol(http1 + 9, NULL, 10);
    part.body = strndup(json + 4, (size_t)(end - json - 4));
    part.len = strlen(part.body);
    part.json = json_tokener_parse(part.body);
    if (part.status != 200)
      fail_msg("batch: GET %s: want 200, got %ld", paths[parts], part.status);
    check_response(f, "GET", paths[parts], &part);
    reply_free(&part);
    parts++;
  }
  if (parts != n)
    fail_msg("batch: want %zu parts, got %zu: %s", n, parts, r.body);
  reply_free(&r);
}

static void scenario_compute(simfx *f)
{
  reply r;
  char p[600];

  ok(f, "GET", CP, NULL);
  ok(f, "GET", CP "/regions", NULL);
  ok(f, "GET", CP "/regions/us-central1", NULL);
  ok(f, "GET", CP "/zones", NULL);
  ok(f, "GET", CP "/zones/us-central1-a", NULL);
  ok(f, "GET", CP "/zones/us-central1-a/machineTypes", NULL);
  ok(f, "GET", CP "/zones/us-central1-a/machineTypes/e2-medium", NULL);
  ok(f, "GET", CP "/aggregated/machineTypes?maxResults=5", NULL);
  ok(f, "GET", "/compute/v1/projects/debian-cloud/global/images", NULL);
  okr(f, "GET",
      "/compute/v1/projects/debian-cloud/global/images/family/debian-12", NULL,
      &r);
  okf(f, "GET", NULL, "/compute/v1/projects/debian-cloud/global/images/%s",
      jget(r.json, "name"));
  reply_free(&r);
  ok(f, "GET",
     "/compute/v1/projects/debian-cloud/zones/us-central1-a/"
     "imageFamilyViews/debian-12",
     NULL);
  /* The public image projects gcloud lists, each with READY images. */
  {
    static const char *const fam[][2] = {
        {"ubuntu-os-cloud", "ubuntu-2404-lts-amd64"},
        {"cos-cloud", "cos-stable"},
        {"centos-cloud", "centos-stream-9"},
        {"rocky-linux-cloud", "rocky-linux-9-optimized-gcp"},
        {"windows-cloud", "windows-2022"},
        {"rhel-cloud", "rhel-9"},
        {"suse-cloud", "sles-15-x86-64"},
    };

    for (size_t i = 0; i < sizeof(fam) / sizeof(*fam); i++) {
      okf(f, "GET", NULL, "/compute/v1/projects/%s/global/images", fam[i][0]);
      okf(f, "GET", NULL, "/compute/v1/projects/%s/global/images/family/%s",
          fam[i][0], fam[i][1]);
    }
  }

  /* Network side. */
  cop(f, "POST", CP "/global/networks",
      "{\"name\":\"net1\",\"autoCreateSubnetworks\":false,"
      "\"routingConfig\":{\"routingMode\":\"REGIONAL\"}}");
  ok(f, "GET", CP "/global/networks/net1", NULL);
  ok(f, "GET", CP "/global/networks", NULL);
  /* Legacy regex filters (gcloud's --filter name~X) and AIP-160 ones. */
  okr(f, "GET", CP "/global/networks?filter=name%20eq%20%22.*et%5Cd%22", NULL,
      &r);
  if (jlen(r.json, "items") != 1)
    fail_msg("networks?filter=name eq \".*et\\d\": want net1, got %s", r.body);
  reply_free(&r);
  ok(f, "GET", CP "/aggregated/subnetworks?filter=name%20ne%20x.*", NULL);
  cop(f, "PATCH", CP "/global/networks/net1",
      "{\"routingConfig\":{\"routingMode\":\"GLOBAL\"}}");
  cop(f, "POST", CP "/regions/us-central1/subnetworks",
      "{\"name\":\"sub1\",\"network\":\"projects/edv-sim/global/networks/"
      "net1\",\"ipCidrRange\":\"10.10.0.0/24\",\"privateIpGoogleAccess\":"
      "true,\"logConfig\":{\"enable\":true}}");
  ok(f, "GET", CP "/regions/us-central1/subnetworks/sub1", NULL);
  ok(f, "GET", CP "/regions/us-central1/subnetworks", NULL);
  ok(f, "GET", CP "/aggregated/subnetworks", NULL);
  cop(f, "POST",
      CP "/regions/us-central1/subnetworks/sub1/setPrivateIpGoogleAccess",
      "{\"privateIpGoogleAccess\":false}");
  cop(f, "POST", CP "/regions/us-central1/subnetworks/sub1/expandIpCidrRange",
      "{\"ipCidrRange\":\"10.10.0.0/23\"}");
  cop(f, "POST", CP "/global/firewalls",
      "{\"name\":\"fw1\",\"network\":\"projects/edv-sim/global/networks/"
      "net1\",\"direction\":\"INGRESS\",\"sourceRanges\":[\"130.211.0.0/22\","
      "\"35.191.0.0/16\"],\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":["
      "\"80\",\"443\"]}],\"targetTags\":[\"web\"]}");
  ok(f, "GET", CP "/global/firewalls/fw1", NULL);
  ok(f, "GET", CP "/global/firewalls", NULL);
  cop(f, "PATCH", CP "/global/firewalls/fw1", "{\"priority\":900}");
  cop(f, "POST", CP "/regions/us-central1/routers",
      "{\"name\":\"rt1\",\"network\":\"projects/edv-sim/global/networks/"
      "net1\",\"nats\":[{\"name\":\"nat1\",\"natIpAllocateOption\":"
      "\"AUTO_ONLY\",\"sourceSubnetworkIpRangesToNat\":"
      "\"ALL_SUBNETWORKS_ALL_IP_RANGES\"}]}");
  ok(f, "GET", CP "/regions/us-central1/routers/rt1", NULL);
  ok(f, "GET", CP "/regions/us-central1/routers", NULL);
  ok(f, "GET", CP "/aggregated/routers", NULL);
  cop(f, "POST", CP "/regions/us-central1/addresses", "{\"name\":\"ip1\"}");
  ok(f, "GET", CP "/regions/us-central1/addresses/ip1", NULL);
  ok(f, "GET", CP "/regions/us-central1/addresses", NULL);
  ok(f, "GET", CP "/aggregated/addresses", NULL);
  okr(f, "GET", CP "/regions/us-central1/addresses/ip1", NULL, &r);
  snprintf(p, sizeof(p),
           "{\"labels\":{\"edv-tenant\":\"t1\"},\"labelFingerprint\":"
           "\"%s\"}",
           jget(r.json, "labelFingerprint"));
  reply_free(&r);
  cop(f, "POST", CP "/regions/us-central1/addresses/ip1/setLabels", p);
  cop(f, "POST", CP "/global/addresses",
      "{\"name\":\"psa\",\"purpose\":\"VPC_PEERING\",\"addressType\":"
      "\"INTERNAL\",\"prefixLength\":16,\"network\":\"projects/edv-sim/global/"
      "networks/net1\"}");
  cop(f, "POST", CP "/global/addresses", "{\"name\":\"lb-ip\"}");
  ok(f, "GET", CP "/global/addresses/lb-ip", NULL);
  ok(f, "GET", CP "/global/addresses", NULL);

  /* VM side. */
  cop(f, "POST", CP "/regions/us-central1/resourcePolicies",
      "{\"name\":\"daily\",\"snapshotSchedulePolicy\":{\"schedule\":{"
      "\"dailySchedule\":{\"daysInCycle\":1,\"startTime\":\"04:00\"}},"
      "\"retentionPolicy\":{\"maxRetentionDays\":7}}}");
  ok(f, "GET", CP "/regions/us-central1/resourcePolicies/daily", NULL);
  ok(f, "GET", CP "/regions/us-central1/resourcePolicies", NULL);
  ok(f, "GET", CP "/aggregated/resourcePolicies", NULL);
  cop(f, "POST", CP "/zones/us-central1-a/instances",
      "{\"name\":\"vm1\",\"machineType\":\"zones/us-central1-a/machineTypes/"
      "e2-medium\",\"tags\":{\"items\":[\"web\"]},\"labels\":{\"edv-tenant\":"
      "\"t1\"},\"disks\":[{\"boot\":true,\"autoDelete\":true,"
      "\"initializeParams\":{\"sourceImage\":\"projects/debian-cloud/global/"
      "images/family/debian-12\",\"diskSizeGb\":\"10\"}}],"
      "\"networkInterfaces\":[{\"network\":\"global/networks/net1\","
      "\"subnetwork\":\"regions/us-central1/subnetworks/sub1\"}],"
      "\"metadata\":{\"items\":[{\"key\":\"startup-script\",\"value\":"
      "\"#!/bin/sh\\necho hi\"}]},\"serviceAccounts\":[{\"email\":\"default\","
      "\"scopes\":[\"https://www.googleapis.com/auth/cloud-platform\"]}]}");
  okr(f, "GET", CP "/zones/us-central1-a/instances/vm1", NULL, &r);
  snprintf(p, sizeof(p),
           "{\"items\":[{\"key\":\"startup-script\",\"value\":\"x\"}],"
           "\"fingerprint\":\"%s\"}",
           jget(r.json, "metadata.fingerprint"));
  reply_free(&r);
  ok(f, "GET", CP "/zones/us-central1-a/instances", NULL);
  ok(f, "GET", CP "/aggregated/instances", NULL);
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/setMetadata", p);
  okr(f, "GET", CP "/zones/us-central1-a/instances/vm1", NULL, &r);
  snprintf(p, sizeof(p),
           "{\"labels\":{\"edv-tenant\":\"t1\",\"role\":\"web\"},"
           "\"labelFingerprint\":\"%s\"}",
           jget(r.json, "labelFingerprint"));
  reply_free(&r);
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/setLabels", p);
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/reset", NULL);
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/stop", NULL);
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/setMachineType",
      "{\"machineType\":\"zones/us-central1-a/machineTypes/e2-standard-2\"}");
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/setServiceAccount",
      "{\"email\":\"default\",\"scopes\":[\"https://www.googleapis.com/"
      "auth/cloud-platform\"]}");
  cop(f, "PATCH",
      CP "/zones/us-central1-a/instances/vm1/updateShieldedInstanceConfig",
      "{\"enableSecureBoot\":true}");
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/start", NULL);
  ok(f, "GET", CP "/zones/us-central1-a/disks/vm1", NULL);
  ok(f, "GET", CP "/zones/us-central1-a/disks", NULL);
  ok(f, "GET", CP "/aggregated/disks", NULL);
  cop(f, "POST", CP "/zones/us-central1-a/disks/vm1/resize",
      "{\"sizeGb\":\"20\"}");
  cop(f, "POST", CP "/zones/us-central1-a/disks/vm1/addResourcePolicies",
      "{\"resourcePolicies\":[\"projects/edv-sim/regions/us-central1/"
      "resourcePolicies/daily\"]}");
  cop(f, "POST", CP "/zones/us-central1-a/disks/vm1/createSnapshot",
      "{\"name\":\"snap1\"}");
  ok(f, "GET", CP "/global/snapshots/snap1", NULL);
  ok(f, "GET", CP "/global/snapshots", NULL);
  cop(f, "POST", CP "/zones/us-central1-a/instanceGroups",
      "{\"name\":\"ig1\",\"network\":\"projects/edv-sim/global/networks/"
      "net1\",\"namedPorts\":[{\"name\":\"http\",\"port\":80}]}");
  cop(f, "POST", CP "/zones/us-central1-a/instanceGroups/ig1/addInstances",
      "{\"instances\":[{\"instance\":\"projects/edv-sim/zones/us-central1-a/"
      "instances/vm1\"}]}");
  ok(f, "GET", CP "/zones/us-central1-a/instanceGroups/ig1", NULL);
  ok(f, "GET", CP "/zones/us-central1-a/instanceGroups", NULL);
  ok(f, "GET", CP "/aggregated/instanceGroups", NULL);
  ok(f, "GET", CP "/zones/us-central1-a/instanceGroupManagers", NULL);
  ok(f, "POST", CP "/zones/us-central1-a/instanceGroups/ig1/listInstances",
     "{}");
  {
    /* What gcloud batches: image lists, instance group describe. */
    static const char *const paths[] = {
        "/compute/v1/projects/debian-cloud/global/images?alt=json",
        "/compute/v1/projects/cos-cloud/global/images?alt=json",
        CP "/zones/us-central1-a/instanceGroups/ig1?alt=json",
    };

    batch(f, paths, 3);
  }

  /* Load balancer. */
  cop(f, "POST", CP "/global/healthChecks",
      "{\"name\":\"hc1\",\"type\":\"HTTP\",\"httpHealthCheck\":{\"port\":80,"
      "\"requestPath\":\"/healthz\"}}");
  ok(f, "GET", CP "/global/healthChecks/hc1", NULL);
  ok(f, "GET", CP "/global/healthChecks", NULL);
  cop(f, "POST", CP "/global/backendServices",
      "{\"name\":\"bs1\",\"protocol\":\"HTTP\",\"portName\":\"http\","
      "\"loadBalancingScheme\":\"EXTERNAL_MANAGED\",\"healthChecks\":["
      "\"projects/edv-sim/global/healthChecks/hc1\"],\"backends\":[{"
      "\"group\":\"projects/edv-sim/zones/us-central1-a/instanceGroups/"
      "ig1\"}]}");
  ok(f, "GET", CP "/global/backendServices/bs1", NULL);
  ok(f, "GET", CP "/global/backendServices", NULL);
  ok(f, "POST", CP "/global/backendServices/bs1/getHealth",
     "{\"group\":\"projects/edv-sim/zones/us-central1-a/instanceGroups/"
     "ig1\"}");
  cop(f, "POST", CP "/global/urlMaps",
      "{\"name\":\"um1\",\"defaultService\":\"projects/edv-sim/global/"
      "backendServices/bs1\"}");
  okr(f, "GET", CP "/global/urlMaps/um1", NULL, &r);
  snprintf(p, sizeof(p),
           "{\"fingerprint\":\"%s\",\"hostRules\":[{\"hosts\":["
           "\"t1.edvirons.com\"],\"pathMatcher\":\"pm\"}],\"pathMatchers\":[{"
           "\"name\":\"pm\",\"defaultService\":\"projects/edv-sim/global/"
           "backendServices/bs1\"}]}",
           jget(r.json, "fingerprint"));
  reply_free(&r);
  cop(f, "PATCH", CP "/global/urlMaps/um1", p);
  ok(f, "GET", CP "/global/urlMaps", NULL);
  cop(f, "POST", CP "/global/targetHttpsProxies",
      "{\"name\":\"px1\",\"urlMap\":\"projects/edv-sim/global/urlMaps/um1\","
      "\"certificateMap\":\"//certificatemanager.googleapis.com/projects/"
      "edv-sim/locations/global/certificateMaps/m1\"}");
  ok(f, "GET", CP "/global/targetHttpsProxies/px1", NULL);
  ok(f, "GET", CP "/global/targetHttpsProxies", NULL);
  cop(f, "POST", CP "/global/forwardingRules",
      "{\"name\":\"fr1\",\"IPAddress\":\"projects/edv-sim/global/addresses/"
      "lb-ip\",\"target\":\"projects/edv-sim/global/targetHttpsProxies/px1\","
      "\"portRange\":\"443\",\"loadBalancingScheme\":\"EXTERNAL_MANAGED\"}");
  ok(f, "GET", CP "/global/forwardingRules/fr1", NULL);
  ok(f, "GET", CP "/global/forwardingRules", NULL);
  ok(f, "GET", CP "/aggregated/forwardingRules", NULL);
  /* The rule moved to a second proxy of the same URL map and back. */
  cop(f, "POST", CP "/global/targetHttpsProxies",
      "{\"name\":\"px2\",\"urlMap\":\"projects/edv-sim/global/urlMaps/um1\","
      "\"certificateMap\":\"//certificatemanager.googleapis.com/projects/"
      "edv-sim/locations/global/certificateMaps/m1\"}");
  cop(f, "POST", CP "/global/forwardingRules/fr1/setTarget",
      "{\"target\":\"projects/edv-sim/global/targetHttpsProxies/px2\"}");
  cop(f, "POST", CP "/global/forwardingRules/fr1/setTarget",
      "{\"target\":\"projects/edv-sim/global/targetHttpsProxies/px1\"}");
  cop(f, "DELETE", CP "/global/targetHttpsProxies/px2", NULL);

  /* Operations, listed. */
  ok(f, "GET", CP "/global/operations", NULL);
  ok(f, "GET", CP "/regions/us-central1/operations", NULL);
  ok(f, "GET", CP "/zones/us-central1-a/operations", NULL);
}

/* A field of a resource, read through the API (validated too). */
static const char *field(simfx *f, const char *path, const char *name,
                         char *buf, size_t n)
{
  reply r;

  okr(f, "GET", path, NULL, &r);
  snprintf(buf, n, "%s", jget(r.json, name) ? jget(r.json, name) : "");
  reply_free(&r);
  return buf;
}

/* The rest of the Compute methods: updates, label setters, tear-down. */
static void scenario_compute_more(simfx *f)
{
  char b[1200], v[128];

  ok(f, "GET", CP "/aggregated/healthChecks", NULL);
  ok(f, "GET", CP "/aggregated/backendServices", NULL);
  ok(f, "GET", CP "/aggregated/urlMaps", NULL);
  ok(f, "GET", CP "/aggregated/targetHttpsProxies", NULL);
  snprintf(b, sizeof(b),
           "{\"fingerprint\":\"%s\",\"logConfig\":{\"enable\":false}}",
           field(f, CP "/regions/us-central1/subnetworks/sub1", "fingerprint",
                 v, sizeof(v)));
  cop(f, "PATCH", CP "/regions/us-central1/subnetworks/sub1", b);
  cop(f, "PUT", CP "/global/firewalls/fw1",
      "{\"name\":\"fw1\",\"network\":\"projects/edv-sim/global/networks/"
      "net1\",\"direction\":\"INGRESS\",\"sourceRanges\":["
      "\"130.211.0.0/22\",\"35.191.0.0/16\"],\"allowed\":[{\"IPProtocol\":"
      "\"tcp\",\"ports\":[\"80\"]}],\"targetTags\":[\"web\"]}");
  cop(f, "PATCH", CP "/regions/us-central1/routers/rt1",
      "{\"nats\":[{\"name\":\"nat1\",\"natIpAllocateOption\":"
      "\"AUTO_ONLY\",\"sourceSubnetworkIpRangesToNat\":"
      "\"ALL_SUBNETWORKS_ALL_IP_RANGES\",\"minPortsPerVm\":128}]}");
  cop(f, "PUT", CP "/regions/us-central1/routers/rt1",
      "{\"name\":\"rt1\",\"network\":\"projects/edv-sim/global/networks/"
      "net1\",\"nats\":[{\"name\":\"nat1\",\"natIpAllocateOption\":"
      "\"AUTO_ONLY\",\"sourceSubnetworkIpRangesToNat\":"
      "\"ALL_SUBNETWORKS_ALL_IP_RANGES\"}]}");
  snprintf(
      b, sizeof(b),
      "{\"labels\":{\"edv-tenant\":\"t1\"},\"labelFingerprint\":"
      "\"%s\"}",
      field(f, CP "/global/addresses/lb-ip", "labelFingerprint", v, sizeof(v)));
  cop(f, "POST", CP "/global/addresses/lb-ip/setLabels", b);
  snprintf(b, sizeof(b),
           "{\"labels\":{\"edv-tenant\":\"t1\"},\"labelFingerprint\":"
           "\"%s\"}",
           field(f, CP "/global/forwardingRules/fr1", "labelFingerprint", v,
                 sizeof(v)));
  cop(f, "POST", CP "/global/forwardingRules/fr1/setLabels", b);
  snprintf(
      b, sizeof(b),
      "{\"labels\":{\"edv-tenant\":\"t1\"},\"labelFingerprint\":"
      "\"%s\"}",
      field(f, CP "/global/snapshots/snap1", "labelFingerprint", v, sizeof(v)));
  cop(f, "POST", CP "/global/snapshots/snap1/setLabels", b);
  snprintf(b, sizeof(b),
           "{\"labels\":{\"edv-tenant\":\"t1\"},\"labelFingerprint\":"
           "\"%s\"}",
           field(f, CP "/zones/us-central1-a/disks/vm1", "labelFingerprint", v,
                 sizeof(v)));
  cop(f, "POST", CP "/zones/us-central1-a/disks/vm1/setLabels", b);
  cop(f, "PATCH", CP "/global/healthChecks/hc1", "{\"checkIntervalSec\":10}");
  cop(f, "PUT", CP "/global/healthChecks/hc1",
      "{\"name\":\"hc1\",\"type\":\"HTTP\",\"httpHealthCheck\":{"
      "\"port\":80,\"requestPath\":\"/healthz\"}}");
  snprintf(
      b, sizeof(b), "{\"timeoutSec\":60,\"fingerprint\":\"%s\"}",
      field(f, CP "/global/backendServices/bs1", "fingerprint", v, sizeof(v)));
  cop(f, "PATCH", CP "/global/backendServices/bs1", b);
  snprintf(
      b, sizeof(b),
      "{\"name\":\"bs1\",\"protocol\":\"HTTP\",\"portName\":\"http\","
      "\"loadBalancingScheme\":\"EXTERNAL_MANAGED\",\"healthChecks\":["
      "\"projects/edv-sim/global/healthChecks/hc1\"],\"backends\":[{"
      "\"group\":\"projects/edv-sim/zones/us-central1-a/instanceGroups/"
      "ig1\"}],\"fingerprint\":\"%s\"}",
      field(f, CP "/global/backendServices/bs1", "fingerprint", v, sizeof(v)));
  cop(f, "PUT", CP "/global/backendServices/bs1", b);
  snprintf(b, sizeof(b),
           "{\"name\":\"um1\",\"defaultService\":\"projects/edv-sim/global/"
           "backendServices/bs1\",\"fingerprint\":\"%s\"}",
           field(f, CP "/global/urlMaps/um1", "fingerprint", v, sizeof(v)));
  cop(f, "PUT", CP "/global/urlMaps/um1", b);
  cop(f, "POST", CP "/targetHttpsProxies/px1/setUrlMap",
      "{\"urlMap\":\"projects/edv-sim/global/urlMaps/um1\"}");
  snprintf(b, sizeof(b), "{\"description\":\"t1\",\"fingerprint\":\"%s\"}",
           field(f, CP "/global/targetHttpsProxies/px1", "fingerprint", v,
                 sizeof(v)));
  cop(f, "PATCH", CP "/global/targetHttpsProxies/px1", b);
  cop(f, "POST", CP "/zones/us-central1-a/instanceGroups/ig1/setNamedPorts",
      "{\"namedPorts\":[{\"name\":\"http\",\"port\":8080}]}");
  cop(f, "POST", CP "/zones/us-central1-a/instanceGroups/ig1/removeInstances",
      "{\"instances\":[{\"instance\":\"projects/edv-sim/zones/us-central1-a/"
      "instances/vm1\"}]}");
  cop(f, "POST", CP "/zones/us-central1-a/disks/vm1/removeResourcePolicies",
      "{\"resourcePolicies\":[\"projects/edv-sim/regions/us-central1/"
      "resourcePolicies/daily\"]}");
}

/* The project's own images (a tenant image published, deprecated,
 * deleted) and the guest attribute a booted VM's startup script writes. */
static void scenario_images(simfx *f)
{
  char b[600], v[128];

  cop(f, "POST", CP "/global/images",
      "{\"name\":\"tenant-1\",\"family\":\"tenant\",\"rawDisk\":{"
      "\"source\":\"https://storage.googleapis.com/b/tenant-1.tar.gz\"},"
      "\"labels\":{\"edv-app\":\"1-0-0\"}}");
  ok(f, "GET", CP "/global/images/tenant-1", NULL);
  ok(f, "GET", CP "/global/images/family/tenant", NULL);
  cop(f, "POST", CP "/global/images/tenant-1/deprecate",
      "{\"state\":\"DEPRECATED\"}");
  cop(f, "DELETE", CP "/global/images/tenant-1", NULL);
  snprintf(b, sizeof(b),
           "{\"items\":[{\"key\":\"startup-script\",\"value\":\"x\"},"
           "{\"key\":\"enable-guest-attributes\",\"value\":\"TRUE\"}],"
           "\"fingerprint\":\"%s\"}",
           field(f, CP "/zones/us-central1-a/instances/vm1",
                 "metadata.fingerprint", v, sizeof(v)));
  cop(f, "POST", CP "/zones/us-central1-a/instances/vm1/setMetadata", b);
  assert_int_equal(advance(f, 600), 200);
  ok(f, "GET",
     CP "/zones/us-central1-a/instances/vm1/getGuestAttributes"
        "?queryPath=edvirons%2F",
     NULL);
}

/* Tear-down of what the Compute scenario made (after the tail). */
static void scenario_compute_down(simfx *f)
{
  reply r;
  char op[512];

  cop(f, "POST", CP "/zones/us-central1-a/instances",
      "{\"name\":\"vm2\",\"machineType\":\"zones/us-central1-a/"
      "machineTypes/e2-small\",\"disks\":[{\"boot\":true,\"autoDelete\":"
      "false,\"initializeParams\":{\"sourceImage\":\"projects/debian-cloud/"
      "global/images/family/debian-12\"}}],\"networkInterfaces\":[{"
      "\"network\":\"global/networks/net1\",\"subnetwork\":\"regions/"
      "us-central1/subnetworks/sub1\"}]}");
  cop(f, "DELETE", CP "/zones/us-central1-a/instances/vm2", NULL);
  okr(f, "DELETE", CP "/zones/us-central1-a/disks/vm2", NULL, &r);
  link_path(f, jget(r.json, "selfLink"), op, sizeof(op));
  reply_free(&r);
  ok(f, "DELETE", op, NULL);
  cop(f, "DELETE", CP "/global/targetHttpsProxies/px1", NULL);
  cop(f, "DELETE", CP "/global/urlMaps/um1", NULL);
  cop(f, "DELETE", CP "/global/backendServices/bs1", NULL);
  cop(f, "DELETE", CP "/global/healthChecks/hc1", NULL);
  cop(f, "DELETE", CP "/zones/us-central1-a/instanceGroups/ig1", NULL);
  cop(f, "DELETE", CP "/regions/us-central1/resourcePolicies/daily", NULL);
  cop(f, "DELETE", CP "/global/addresses/lb-ip", NULL);
  cop(f, "DELETE", CP "/global/addresses/psa", NULL);
  cop(f, "DELETE", CP "/regions/us-central1/addresses/ip1", NULL);
  cop(f, "DELETE", CP "/regions/us-central1/subnetworks/sub1", NULL);
  okr(f, "DELETE", CP "/global/networks/net1", NULL, &r);
  link_path(f, jget(r.json, "selfLink"), op, sizeof(op));
  reply_free(&r);
  ok(f, "DELETE", op, NULL);
  okr(f, "POST", CP "/regions/us-central1/addresses", "{\"name\":\"ip2\"}", &r);
  link_path(f, jget(r.json, "selfLink"), op, sizeof(op));
  reply_free(&r);
  ok(f, "DELETE", op, NULL);
}

/* The certificate map used by the LB (after Certificate Manager made it),
 * and tear-down of part of the Compute chain. */
static void scenario_compute_tail(simfx *f)
{
  cop(f, "POST", CP "/global/targetHttpsProxies/px1/setCertificateMap",
      "{\"certificateMap\":\"//certificatemanager.googleapis.com/projects/"
      "edv-sim/locations/global/certificateMaps/m1\"}");
  cop(f, "DELETE", CP "/global/forwardingRules/fr1", NULL);
  cop(f, "DELETE", CP "/zones/us-central1-a/instances/vm1", NULL);
  cop(f, "DELETE", CP "/global/snapshots/snap1", NULL);
  cop(f, "DELETE", CP "/global/firewalls/fw1", NULL);
  cop(f, "DELETE", CP "/regions/us-central1/routers/rt1", NULL);
}

static void scenario_sql(simfx *f, const char *base, const char *inst)
{
  char p[300], body[600];

  snprintf(p, sizeof(p), "%s/instances", base);
  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"databaseVersion\":\"POSTGRES_15\","
           "\"region\":\"us-central1\",\"settings\":{\"tier\":"
           "\"db-custom-2-4096\",\"availabilityType\":\"ZONAL\","
           "\"userLabels\":{\"edv-tenant\":\"t1\"},\"backupConfiguration\":{"
           "\"enabled\":true,\"startTime\":\"02:00\","
           "\"pointInTimeRecoveryEnabled\":true,\"location\":\"us\"}},"
           "\"rootPassword\":\"root-secret-1\"}",
           inst);
  sqlop(f, base, "POST", p, body);
  ok(f, "GET", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s", base, inst);
  ok(f, "GET", p, NULL);
  sqlop(f, base, "PATCH", p,
        "{\"settings\":{\"userLabels\":{\"edv-tenant\":\"t1\",\"x\":\"y\"}}}");
  snprintf(p, sizeof(p), "%s/instances/%s/databases", base, inst);
  sqlop(f, base, "POST", p, "{\"name\":\"edv\"}");
  ok(f, "GET", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s/databases/edv", base, inst);
  ok(f, "GET", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s/users", base, inst);
  sqlop(f, base, "POST", p, "{\"name\":\"edv\",\"password\":\"s3cret-pw\"}");
  ok(f, "GET", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s/users?name=edv", base, inst);
  sqlop(f, base, "PUT", p, "{\"name\":\"edv\",\"password\":\"n3w-pw\"}");
  snprintf(p, sizeof(p), "%s/instances/%s/backupRuns", base, inst);
  sqlop(f, base, "POST", p, "{}");
  {
    reply r;
    char id[64];

    okr(f, "GET", p, NULL, &r);
    snprintf(id, sizeof(id), "%s", jget(r.json, "items.0.id"));
    reply_free(&r);
    snprintf(p, sizeof(p), "%s/instances/%s/backupRuns/%s", base, inst, id);
    ok(f, "GET", p, NULL);
    snprintf(p, sizeof(p), "%s/instances/%s/restoreBackup", base, inst);
    snprintf(body, sizeof(body),
             "{\"restoreBackupContext\":{\"backupRunId\":\"%s\","
             "\"instanceId\":\"%s\"}}",
             id, inst);
    sqlop(f, base, "POST", p, body);
  }
  snprintf(p, sizeof(p), "%s/instances/%s/getLatestRecoveryTime", base, inst);
  ok(f, "GET", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s/restart", base, inst);
  sqlop(f, base, "POST", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s/clone", base, inst);
  snprintf(body, sizeof(body),
           "{\"cloneContext\":{\"destinationInstanceName\":\"%s-c\"}}", inst);
  sqlop(f, base, "POST", p, body);
  snprintf(p, sizeof(p), "%s/operations?instance=%s", base, inst);
  ok(f, "GET", p, NULL);
  /* The clone goes with a final backup: the project's Backups, and a
   * restore from one. */
  snprintf(p, sizeof(p), "%s/instances/%s-c?enableFinalBackup=true", base,
           inst);
  sqlop(f, base, "DELETE", p, NULL);
  {
    reply r;
    char name[200];

    snprintf(p, sizeof(p), "%s/backups?filter=instance:%s-c", base, inst);
    okr(f, "GET", p, NULL, &r);
    snprintf(name, sizeof(name), "%s", jget(r.json, "backups.0.name"));
    reply_free(&r);
    snprintf(p, sizeof(p), "%s/backups/%s", base, strrchr(name, '/') + 1);
    ok(f, "GET", p, NULL);
    snprintf(p, sizeof(p), "%s/instances/%s/restoreBackup", base, inst);
    snprintf(body, sizeof(body), "{\"backup\":\"%s\"}", name);
    sqlop(f, base, "POST", p, body);
    snprintf(p, sizeof(p), "%s/backups/%s", base, strrchr(name, '/') + 1);
    sqlop(f, base, "DELETE", p, NULL);
  }
  snprintf(p, sizeof(p), "%s/instances/%s/databases/edv", base, inst);
  sqlop(f, base, "DELETE", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s/users?name=edv", base, inst);
  sqlop(f, base, "DELETE", p, NULL);
  snprintf(p, sizeof(p), "%s/instances/%s", base, inst);
  sqlop(f, base, "DELETE", p, NULL);
}

static void scenario_dns(simfx *f)
{
  reply r;
  char p[300];

  ok(f, "GET", DZ, NULL);
  ok(f, "GET", DZ "/edvirons-com", NULL);
  ok(f, "GET", DZ "/edvirons-com/rrsets", NULL);
  okr(f, "POST", DZ "/edvirons-com/changes",
      "{\"additions\":[{\"name\":\"www.edvirons.com.\",\"type\":\"A\","
      "\"ttl\":300,\"rrdatas\":[\"203.0.113.7\"]}]}",
      &r);
  snprintf(p, sizeof(p), DZ "/edvirons-com/changes/%s", jget(r.json, "id"));
  reply_free(&r);
  assert_int_equal(advance(f, 600), 200);
  ok(f, "GET", p, NULL);
  ok(f, "GET", DZ "/edvirons-com/changes", NULL);
  ok(f, "GET", DZ "/edvirons-com/rrsets/www.edvirons.com./A", NULL);
  ok(f, "POST", DZ "/edvirons-com/rrsets",
     "{\"name\":\"api.edvirons.com.\",\"type\":\"CNAME\",\"ttl\":300,"
     "\"rrdatas\":[\"www.edvirons.com.\"]}");
  ok(f, "PATCH", DZ "/edvirons-com/rrsets/api.edvirons.com./CNAME",
     "{\"name\":\"api.edvirons.com.\",\"type\":\"CNAME\",\"ttl\":600,"
     "\"rrdatas\":[\"www.edvirons.com.\"]}");
  ok(f, "DELETE", DZ "/edvirons-com/rrsets/api.edvirons.com./CNAME", NULL);
  ok(f, "POST", DZ,
     "{\"name\":\"school-org\",\"dnsName\":\"school.org.\",\"description\":"
     "\"x\",\"visibility\":\"public\"}");
  ok(f, "DELETE", DZ "/school-org", NULL);
}

static void scenario_certmgr(simfx *f)
{
  reply r;
  char body[600];

  lro(f, "POST", CM "/dnsAuthorizations?dnsAuthorizationId=da1",
      "{\"domain\":\"t1.edvirons.com\",\"labels\":{\"edv-tenant\":\"t1\"}}");
  okr(f, "GET", CM "/dnsAuthorizations/da1", NULL, &r);
  snprintf(body, sizeof(body),
           "{\"additions\":[{\"name\":\"%s\",\"type\":\"CNAME\",\"ttl\":300,"
           "\"rrdatas\":[\"%s\"]}]}",
           jget(r.json, "dnsResourceRecord.name"),
           jget(r.json, "dnsResourceRecord.data"));
  reply_free(&r);
  ok(f, "POST", DZ "/edvirons-com/changes", body);
  ok(f, "GET", CM "/dnsAuthorizations", NULL);
  lro(f, "PATCH", CM "/dnsAuthorizations/da1?updateMask=labels",
      "{\"labels\":{\"edv-tenant\":\"t1\",\"edv-tier\":\"basic\"}}");
  lro(f, "POST", CM "/certificates?certificateId=c1",
      "{\"managed\":{\"domains\":[\"t1.edvirons.com\"],\"dnsAuthorizations\":"
      "[\"projects/edv-sim/locations/global/dnsAuthorizations/da1\"]}}");
  ok(f, "GET", CM "/certificates/c1", NULL);
  ok(f, "GET", CM "/certificates", NULL);
  lro(f, "PATCH", CM "/certificates/c1?updateMask=labels",
      "{\"labels\":{\"edv-tenant\":\"t1\"}}");
  lro(f, "POST", CM "/certificateMaps?certificateMapId=m1", "{}");
  ok(f, "GET", CM "/certificateMaps/m1", NULL);
  ok(f, "GET", CM "/certificateMaps", NULL);
  lro(f, "POST",
      CM "/certificateMaps/m1/certificateMapEntries?certificateMapEntryId=e1",
      "{\"hostname\":\"t1.edvirons.com\",\"certificates\":[\"projects/"
      "edv-sim/locations/global/certificates/c1\"]}");
  ok(f, "GET", CM "/certificateMaps/m1/certificateMapEntries/e1", NULL);
  ok(f, "GET", CM "/certificateMaps/m1/certificateMapEntries", NULL);
  lro(f, "PATCH",
      CM "/certificateMaps/m1/certificateMapEntries/e1?updateMask=certificates",
      "{\"certificates\":[\"projects/edv-sim/locations/global/certificates/"
      "c1\"]}");
  ok(f, "GET", CM "/operations", NULL);
}

static void scenario_certmgr_tail(simfx *f)
{
  /* The certificate is ACTIVE now that the forwarding rule has the IP. */
  ok(f, "GET", CM "/certificates/c1", NULL);
  /* locations/-: every location's, in the list's own schema. */
  lro(f, "POST",
      "/v1/projects/edv-sim/locations/us-central1/certificates"
      "?certificateId=c2",
      "{\"managed\":{\"domains\":[\"t2.edvirons.com\"]}}");
  {
    reply r;

    okr(f, "GET", "/v1/projects/edv-sim/locations/-/certificates", NULL, &r);
    if (jlen(r.json, "certificates") != 2)
      fail_msg("locations/-/certificates: want 2, got %s", r.body);
    reply_free(&r);
  }
  ok(f, "GET", "/v1/projects/edv-sim/locations/-/certificateMaps", NULL);
  ok(f, "GET", "/v1/projects/edv-sim/locations/-/dnsAuthorizations", NULL);
  ok(f, "GET", "/v1/projects/edv-sim/locations/-/operations", NULL);
  lro(f, "DELETE", "/v1/projects/edv-sim/locations/us-central1/certificates/c2",
      NULL);
  lro(f, "DELETE", CM "/certificateMaps/m1/certificateMapEntries/e1", NULL);
  lro(f, "DELETE", CM "/certificates/c1", NULL);
  lro(f, "DELETE", CM "/dnsAuthorizations/da1", NULL);
}

static void scenario_secrets(simfx *f)
{
  reply r;
  char body[400];

  ok(f, "POST", V1 "/secrets?secretId=db",
     "{\"replication\":{\"automatic\":{}},\"labels\":{\"edv-tenant\":"
     "\"t1\"}}");
  ok(f, "GET", V1 "/secrets/db", NULL);
  ok(f, "PATCH", V1 "/secrets/db?updateMask=labels",
     "{\"labels\":{\"edv-tier\":\"basic\"}}");
  ok(f, "GET", V1 "/secrets", NULL);
  ok(f, "POST", V1 "/secrets/db:addVersion",
     "{\"payload\":{\"data\":\"ZGItcGFzcw==\"}}");
  ok(f, "GET", V1 "/secrets/db/versions", NULL);
  ok(f, "GET", V1 "/secrets/db/versions/1", NULL);
  ok(f, "GET", V1 "/secrets/db/versions/latest:access", NULL);
  okr(f, "GET", V1 "/secrets/db:getIamPolicy", NULL, &r);
  snprintf(body, sizeof(body),
           "{\"policy\":{\"bindings\":[{\"role\":\"roles/secretmanager."
           "secretAccessor\",\"members\":[\"serviceAccount:vm@edv-sim.iam."
           "gserviceaccount.com\"]}],\"etag\":\"%s\"}}",
           jget(r.json, "etag") ? jget(r.json, "etag") : "");
  reply_free(&r);
  ok(f, "POST", V1 "/secrets/db:setIamPolicy", body);
  ok(f, "DELETE", V1 "/secrets/db", NULL);
}

static void scenario_monitoring(simfx *f)
{
  reply r;
  char p[300], chan[400], body[800];

  okr(f, "POST", MON "/notificationChannels",
      "{\"type\":\"email\",\"displayName\":\"ops\",\"labels\":{"
      "\"email_address\":\"ops@edvirons.com\"}}",
      &r);
  snprintf(p, sizeof(p), "/v3/%s", jget(r.json, "name"));
  snprintf(body, sizeof(body),
           "{\"displayName\":\"t1 down\",\"combiner\":\"OR\","
           "\"notificationChannels\":[\"%s\"],\"conditions\":[{"
           "\"displayName\":\"uptime\",\"conditionThreshold\":{\"filter\":"
           "\"metric.type=\\\"monitoring.googleapis.com/uptime_check/"
           "check_passed\\\" AND resource.type=\\\"uptime_url\\\"\","
           "\"comparison\":\"COMPARISON_GT\",\"thresholdValue\":1,"
           "\"duration\":\"300s\",\"aggregations\":[{\"alignmentPeriod\":"
           "\"1200s\",\"perSeriesAligner\":\"ALIGN_NEXT_OLDER\"}]}}]}",
           jget(r.json, "name"));
  reply_free(&r);
  ok(f, "GET", p, NULL);
  ok(f, "GET", MON "/notificationChannels", NULL);
  snprintf(chan, sizeof(chan), "%s?updateMask=labels,userLabels", p);
  ok(f, "PATCH", chan,
     "{\"labels\":{\"email_address\":\"oncall@edvirons.com\"},"
     "\"userLabels\":{\"edv-managed\":\"true\"}}");
  snprintf(chan, sizeof(chan), "%s", p);
  okr(f, "POST", MON "/alertPolicies", body, &r);
  snprintf(p, sizeof(p), "/v3/%s", jget(r.json, "name"));
  reply_free(&r);
  ok(f, "GET", p, NULL);
  ok(f, "GET", MON "/alertPolicies", NULL);
  strcat(p, "?updateMask=displayName");
  ok(f, "PATCH", p, "{\"displayName\":\"t1 is down\"}");
  *strchr(p, '?') = '\0';
  ok(f, "DELETE", p, NULL);
  okr(f, "POST", MON "/uptimeCheckConfigs",
      "{\"displayName\":\"t1\",\"monitoredResource\":{\"type\":"
      "\"uptime_url\",\"labels\":{\"project_id\":\"edv-sim\",\"host\":"
      "\"t1.edvirons.com\"}},\"httpCheck\":{\"path\":\"/healthz\","
      "\"port\":443,\"useSsl\":true},\"period\":\"60s\",\"timeout\":\"10s\"}",
      &r);
  snprintf(p, sizeof(p), "/v3/%s", jget(r.json, "name"));
  reply_free(&r);
  ok(f, "GET", p, NULL);
  ok(f, "GET", MON "/uptimeCheckConfigs", NULL);
  ok(f, "DELETE", p, NULL);
  /* A point at the simulated now. */
  ok(f, "POST", MON "/metricDescriptors",
     "{\"type\":\"custom.googleapis.com/edv/tenants\",\"metricKind\":"
     "\"GAUGE\",\"valueType\":\"INT64\",\"labels\":[{\"key\":\"tier\","
     "\"valueType\":\"STRING\"}]}");
  http(f, "GET", "/_sim/clock", NULL, &r);
  snprintf(p, sizeof(p), "%s", jget(r.json, "time"));
  reply_free(&r);
  snprintf(body, sizeof(body),
           "{\"timeSeries\":[{\"metric\":{\"type\":\"custom.googleapis.com/"
           "edv/tenants\",\"labels\":{\"tier\":\"small\"}},\"resource\":{"
           "\"type\":\"global\",\"labels\":{\"project_id\":\"edv-sim\"}},"
           "\"points\":[{\"interval\":{\"endTime\":\"%s\"},\"value\":{"
           "\"int64Value\":\"3\"}}]}]}",
           p);
  ok(f, "POST", MON "/timeSeries", body);
  ok(f, "DELETE", chan, NULL);
  ok(f, "GET",
     MON "/timeSeries?filter=metric.type%3D%22custom.googleapis.com%2Fedv%2F"
         "tenants%22&interval.startTime=2025-01-01T00:00:00Z"
         "&interval.endTime=2030-01-01T00:00:00Z",
     NULL);
}

static void scenario_iam(simfx *f)
{
  reply r;
  char p[300];

  ok(f, "POST", V1 "/serviceAccounts",
     "{\"accountId\":\"edv-t1\",\"serviceAccount\":{\"displayName\":"
     "\"t1\",\"description\":\"edv-owned\"}}");
  ok(f, "GET", V1 "/serviceAccounts", NULL);
  okr(f, "GET", V1 "/serviceAccounts/edv-t1@edv-sim.iam.gserviceaccount.com",
      NULL, &r);
  snprintf(p, sizeof(p), "/v1/projects/-/serviceAccounts/%s",
           jget(r.json, "uniqueId"));
  reply_free(&r);
  ok(f, "GET", p, NULL);
  ok(f, "DELETE", p, NULL);
}

/* The project's IAM policy: read, then a read-modify-write. */
static void scenario_resourcemanager(simfx *f)
{
  reply r;
  char body[400];

  okr(f, "POST", "/v1/projects/edv-sim:getIamPolicy", "{}", &r);
  snprintf(body, sizeof(body),
           "{\"policy\":{\"bindings\":[{\"role\":\"roles/logging."
           "logWriter\",\"members\":[\"serviceAccount:vm@edv-sim.iam."
           "gserviceaccount.com\"]}],\"etag\":\"%s\"}}",
           jget(r.json, "etag") ? jget(r.json, "etag") : "");
  reply_free(&r);
  ok(f, "POST", "/v1/projects/edv-sim:setIamPolicy", body);
}

static void scenario_billing(simfx *f)
{
  reply r;

  ok(f, "GET", "/v1/services?pageSize=2", NULL);
  ok(f, "GET", "/v1/services/6F81-5844-456A/skus?currencyCode=USD", NULL);
  ok(f, "GET", "/v1/billingAccounts/000000-5EDV00-000000", NULL);
  ok(f, "GET", V1 "/billingInfo", NULL);
  /* The billing export's one query, then its result's pages. */
  okr(f, "POST", "/bigquery/v2/projects/edv-sim/queries",
      "{\"query\":\"SELECT (SELECT value FROM UNNEST(labels) WHERE key = "
      "'edv-tenant') AS tenant, service.description AS service, "
      "sku.description AS sku, SUM(cost) AS cost, currency FROM "
      "`edv-sim.billing.gcp_billing_export_v1_000000_5EDV00_000000` WHERE "
      "invoice.month = @month GROUP BY tenant, service, sku, currency ORDER "
      "BY tenant, service, sku\",\"useLegacySql\":false,"
      "\"parameterMode\":\"NAMED\",\"maxResults\":1,"
      "\"queryParameters\":[{\"name\":\"month\",\"parameterType\":"
      "{\"type\":\"STRING\"},\"parameterValue\":{\"value\":"
      "\"197001\"}}]}",
      &r);
  assert_non_null(jget(r.json, "jobReference.jobId"));
  okf(f, "GET", NULL, "/bigquery/v2/projects/edv-sim/queries/%s",
      jget(r.json, "jobReference.jobId"));
  reply_free(&r);
  /* A budget's life. */
  okr(f, "POST", "/v1/billingAccounts/000000-5EDV00-000000/budgets",
      "{\"displayName\":\"edv-t1\",\"budgetFilter\":{\"labels\":{"
      "\"edv-tenant\":[\"t1\"]}},\"amount\":{\"specifiedAmount\":{"
      "\"currencyCode\":\"USD\",\"units\":\"10\"}},\"thresholdRules\":["
      "{\"thresholdPercent\":0.5}]}",
      &r);
  assert_non_null(jget(r.json, "name"));
  okf(f, "GET", NULL, "/v1/%s", jget(r.json, "name"));
  ok(f, "GET", "/v1/billingAccounts/000000-5EDV00-000000/budgets", NULL);
  okf(f, "PATCH", "{\"displayName\":\"edv-t1b\"}",
      "/v1/%s?updateMask=displayName", jget(r.json, "name"));
  okf(f, "DELETE", NULL, "/v1/%s", jget(r.json, "name"));
  reply_free(&r);
}

static void test_responses(void **state)
{
  simfx *f;
  sim *s;
  int served = 0, hit = 0;

  (void)state;
  if (!have_docs)
    skip();
  f = fx_start("fast");
  violations = json_object_new_object();
  exercised = json_object_new_object();
  scenario_dns(f);
  scenario_certmgr(f);
  scenario_compute(f);
  scenario_compute_more(f);
  scenario_images(f);
  scenario_compute_tail(f);
  scenario_certmgr_tail(f);
  scenario_compute_down(f);
  lro(f, "DELETE", CM "/certificateMaps/m1", NULL);
  scenario_sql(f, V1, "pg1");
  scenario_sql(f, VB, "pg2");
  scenario_secrets(f);
  scenario_monitoring(f);
  scenario_iam(f);
  scenario_resourcemanager(f);
  scenario_billing(f);
  /* Coverage: which served methods the scenario reached. */
  s = edv__sim_core(f->es);
  for (size_t i = 0; i < s->n_routes; i++) {
    const sim_rt *rt = &s->routes[i];

    char key[600];

    if (route_excepted(rt))
      continue;
    served++;
    route_key(rt, key, sizeof(key));
    if (json_object_object_get_ex(exercised, key, NULL))
      hit++;
    else
      violation("not exercised by the scenario: %s %s (%s)", rt->r->verb,
                rt->r->path, rt->r->method_id);
  }
  printf("# responses: %d of %d served routes exercised\n", hit, served);
  json_object_put(exercised);
  exercised = NULL;
  fx_free(f);
  violations_check("response schema");
}

/* ---------------------------------------------------------------------- */
/* 3. Request schemas: unknown fields get Google's 400                    */
/* ---------------------------------------------------------------------- */

static void unknown_field(simfx *f, const char *verb, const char *path,
                          const char *body, int rpc)
{
  reply r;

  http(f, verb, path, body, &r);
  if (r.status != 400 || r.body == NULL ||
      strstr(r.body, "Unknown name \\\"bogusField\\\"") == NULL ||
      (rpc && (jget(r.json, "error.status") == NULL ||
               strcmp(jget(r.json, "error.status"), "INVALID_ARGUMENT"))) ||
      (!rpc && jget(r.json, "error.errors.0.reason") == NULL))
    violation("%s %s with an unknown field: want 400 \"Unknown name "
              "\\\"bogusField\\\"\" in the %s envelope, got %ld %s",
              verb, path, rpc ? "status" : "legacy", r.status,
              r.body ? r.body : "");
  reply_free(&r);
}

static void test_requests(void **state)
{
  simfx *f;

  (void)state;
  if (!have_docs)
    skip();
  f = fx_start("fast");
  violations = json_object_new_object();
  unknown_field(f, "POST", CP "/global/networks",
                "{\"name\":\"n\",\"bogusField\":1}", 0);
  unknown_field(f, "POST", CP "/global/firewalls",
                "{\"name\":\"f\",\"network\":\"global/networks/default\","
                "\"allowed\":[{\"IPProtocol\":\"tcp\",\"bogusField\":1}]}",
                0);
  unknown_field(f, "POST", CP "/zones/us-central1-a/instances",
                "{\"name\":\"i\",\"networkInterfaces\":[{\"bogusField\":"
                "\"x\"}]}",
                0);
  unknown_field(f, "POST", V1 "/instances",
                "{\"name\":\"pg\",\"settings\":{\"tier\":\"db-f1-micro\","
                "\"bogusField\":true}}",
                0);
  unknown_field(f, "POST", VB "/instances/nope/databases",
                "{\"name\":\"d\",\"bogusField\":1}", 0);
  unknown_field(f, "POST", DZ "/edvirons-com/changes",
                "{\"additions\":[{\"name\":\"a.edvirons.com.\",\"type\":"
                "\"A\",\"ttl\":300,\"rrdatas\":[\"1.2.3.4\"],\"bogusField\":"
                "1}]}",
                0);
  unknown_field(f, "POST", CM "/certificates?certificateId=c9",
                "{\"managed\":{\"domains\":[\"a.edvirons.com\"],"
                "\"bogusField\":1}}",
                1);
  unknown_field(f, "POST", CM "/dnsAuthorizations?dnsAuthorizationId=d9",
                "{\"domain\":\"a.edvirons.com\",\"bogusField\":1}", 1);
  unknown_field(f, "POST", V1 "/secrets?secretId=s9",
                "{\"replication\":{\"automatic\":{}},\"bogusField\":1}", 1);
  unknown_field(f, "POST", MON "/alertPolicies",
                "{\"displayName\":\"x\",\"combiner\":\"OR\",\"bogusField\":1}",
                1);
  unknown_field(f, "POST", MON "/uptimeCheckConfigs",
                "{\"displayName\":\"x\",\"httpCheck\":{\"bogusField\":1}}", 1);
  /* A Compute filter that does not parse: 400 invalid, not an empty list. */
  {
    static const char *const bad[] = {
        CP "/global/networks?filter=name%20eq%20(",
        CP "/zones/us-central1-a/instances?filter=name%20eq%20%5Cbx",
        CP "/global/firewalls?filter=(name%20eq%20a)%20(network%20%3D%20b)",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
      reply r;

      http(f, "GET", bad[i], NULL, &r);
      if (r.status != 400 || jget(r.json, "error.errors.0.reason") == NULL ||
          strcmp(jget(r.json, "error.errors.0.reason"), "invalid") != 0)
        violation("GET %s: want 400 invalid (list filter), got %ld %s", bad[i],
                  r.status, r.body ? r.body : "");
      reply_free(&r);
    }
  }
  fx_free(f);
  violations_check("request schema");
}

/* ---------------------------------------------------------------------- */
/* 3b. Methods without a request body                                     */
/* ---------------------------------------------------------------------- */

/* One call with a body the method does not take: never Google's 400. */
static void bodiless_ok(simfx *f, const char *verb, const char *path,
                        const char *body)
{
  reply r;

  http(f, verb, path, body, &r);
  if (r.status == 400)
    violation("%s %s with the body '%s': the method takes no body, want no "
              "400, got %s",
              verb, path, body, r.body ? r.body : "");
  reply_free(&r);
}

/* The simulator knows which methods are bodiless (bodiless.c, generated)
 * as discovery does, for every served route; those take `""` and `{}` as
 * no body, a method with a body still refuses `""`. */
static void test_bodiless(void **state)
{
  simfx *f;
  sim *s;
  reply r;
  int n = 0;

  (void)state;
  if (!have_docs)
    skip();
  f = fx_start("fast");
  s = edv__sim_core(f->es);
  violations = json_object_new_object();
  for (size_t i = 0; i < s->n_routes; i++) {
    const sim_rt *rt = &s->routes[i];
    int d = route_doc(rt), want;
    json_object *m;

    if (route_excepted(rt) || d < 0 ||
        !json_object_object_get_ex(docs[d].methods, rt->r->method_id, &m))
      continue; /* test_routes reports it */
    want = !json_object_object_get_ex(m, "request", NULL);
    n++;
    if (sim__route_bodiless(rt) != want)
      violation("%s %s (%s): the simulator says %s, discovery says %s "
                "(regenerate src/sim/bodiless.c: src/sim/tools/"
                "gen_bodiless.py)",
                rt->r->verb, rt->r->path, rt->r->method_id,
                want ? "it takes a body" : "bodiless",
                want ? "bodiless" : "it takes a body");
  }
  printf("# bodiless: %d served methods compared with discovery\n", n);
  bodiless_ok(f, "GET", CP "/global/networks", "\"\"");
  bodiless_ok(f, "GET", CP "/zones/us-central1-a", "{}");
  bodiless_ok(f, "GET", V1 "/secrets", " \"\" ");
  bodiless_ok(f, "DELETE", DZ "/edvirons-com/rrsets/none.edvirons.com./A",
              "\"\"");
  bodiless_ok(f, "POST", CP "/zones/us-central1-a/instances/none/start",
              "\"\"");
  bodiless_ok(f, "POST", CP "/zones/us-central1-a/instances/none/stop", "{}");
  bodiless_ok(f, "POST", V1 "/instances/none/restart", "\"\"");
  bodiless_ok(f, "POST", VB "/instances/none/restart", "{}");
  http(f, "POST", CP "/global/networks", "\"\"", &r);
  if (r.status != 400 || jget(r.json, "error.errors.0.reason") == NULL ||
      strcmp(jget(r.json, "error.errors.0.reason"), "parseError") != 0)
    violation("POST networks.insert with the body '\"\"': want 400 "
              "parseError, got %ld %s",
              r.status, r.body ? r.body : "");
  reply_free(&r);
  http(f, "POST", V1 "/secrets?secretId=x", "\"\"", &r);
  if (r.status != 400)
    violation("POST secrets.create with the body '\"\"': want 400, got %ld",
              r.status);
  reply_free(&r);
  assert_true(n > 100);
  fx_free(f);
  violations_check("bodiless");
}

/* ---------------------------------------------------------------------- */
/* 4. docs/simulator.md: a fidelity-table row for every method served      */
/* ---------------------------------------------------------------------- */

/* Adds the method ids a row's first cell names: "a.b.get / list / c.d",
 * groups separated by ", "; a bare word replaces the last component of
 * the group's first id, "x.y" is under the first id's API. */
static void row_ids(json_object *out, char *cell)
{
  char *gsave = NULL;

  for (char *c = cell; *c; c++)
    if (*c == '`')
      memmove(c, c + 1, strlen(c));
  for (char *g = strtok_r(cell, ",", &gsave); g;
       g = strtok_r(NULL, ",", &gsave)) {
    char first[200] = "", id[300], *psave = NULL;

    for (char *p = strtok_r(g, "/", &psave); p;
         p = strtok_r(NULL, "/", &psave)) {
      size_t api_len, base_len;

      while (*p == ' ')
        p++;
      for (size_t n = strlen(p); n && p[n - 1] == ' '; n--)
        p[n - 1] = '\0';
      if (*p == '\0')
        continue;
      if (first[0] == '\0') {
        snprintf(first, sizeof(first), "%s", p);
        json_object_object_add(out, first, NULL);
        continue;
      }
      api_len = strcspn(first, ".");
      base_len = (size_t)(strrchr(first, '.') - first);
      if (strncmp(p, first, api_len + 1) == 0)
        snprintf(id, sizeof(id), "%s", p);
      else if (strchr(p, '.'))
        snprintf(id, sizeof(id), "%.*s.%s", (int)api_len, first, p);
      else
        snprintf(id, sizeof(id), "%.*s.%s", (int)base_len, first, p);
      json_object_object_add(out, id, NULL);
    }
  }
}

static int row_covers(json_object *rows, const char *id)
{
  json_object_object_foreach(rows, pat, v)
  {
    size_t n = strlen(pat);

    (void)v;
    if (strcmp(pat, id) == 0 || (n > 2 && strcmp(pat + n - 2, ".*") == 0 &&
                                 strncmp(pat, id, n - 1) == 0))
      return 1;
  }
  return 0;
}

static void test_fidelity_table(void **state)
{
  const char *root = getenv("EDV_SOURCE_ROOT");
  char path[1200], line[4096];
  FILE *fp;
  json_object *rows, *admin;
  int in_table = 0, in_admin = 0, missing = 0;
  simfx *f;
  sim *s;

  (void)state;
  snprintf(path, sizeof(path), "%s/docs/simulator.md",
           root && *root ? root : ".");
  fp = fopen(path, "r");
  if (fp == NULL) {
    printf("# %s not found (set EDV_SOURCE_ROOT): skipped\n", path);
    skip();
  }
  rows = json_object_new_object();
  admin = json_object_new_object();
  while (fgets(line, sizeof(line), fp)) {
    if (strncmp(line, "## ", 3) == 0) {
      in_table = strncmp(line, "## Fidelity table", 17) == 0;
      in_admin = strncmp(line, "## Admin API", 12) == 0;
    } else if (in_admin && strncmp(line, "| `", 3) == 0 &&
               strchr(line + 3, '`')) {
      *strchr(line + 3, '`') = '\0'; /* "| `GET /_sim/x` | ..." */
      json_object_object_add(admin, line + 3, NULL);
    } else if (in_table && strncmp(line, "| ", 2) == 0 &&
               strncmp(line, "| method id", 11) != 0) {
      char *end = strchr(line + 2, '|');

      if (end) {
        *end = '\0';
        row_ids(rows, line + 2);
      }
    }
  }
  fclose(fp);
  f = fx_start("fast");
  s = edv__sim_core(f->es);
  for (size_t i = 0; i < s->n_routes; i++) {
    const sim_route *r = s->routes[i].r;
    sim_api api = s->routes[i].api;

    if (api == SIM_API_ADMIN) {
      char key[256];

      snprintf(key, sizeof(key), "%s %s", r->verb, r->path);
      if (!json_object_object_get_ex(admin, key, NULL)) {
        printf("# no row in docs/simulator.md's Admin API for %s\n", key);
        missing++;
      }
      continue;
    }
    if (api == SIM_API_OAUTH || api == SIM_API_METADATA ||
        row_covers(rows, r->method_id))
      continue;
    printf("# no fidelity-table row in docs/simulator.md for %s (%s %s)\n",
           r->method_id, r->verb, r->path);
    missing++;
  }
  fx_free(f);
  json_object_put(rows);
  json_object_put(admin);
  if (missing)
    fail_msg("%d served route(s) without their row in docs/simulator.md",
             missing);
}

/* The committed subset holds every served method as the full documents
 * do (regenerate with scripts/discovery-subset.py when this fails). */
static void test_subset(void **state)
{
  doc sub[DOC__COUNT];
  char dir[1200];
  simfx *f;
  sim *s;
  int stale = 0;

  (void)state;
  memset(sub, 0, sizeof(sub));
  if (using_subset) {
    printf("# the full documents are absent: the subset cannot be compared\n");
    skip();
  }
  subset_dir(dir, sizeof(dir));
  if (docs_load_from(sub, dir) != 0) {
    docs_release(sub);
    fail_msg("cannot read the discovery subset in %s", dir);
  }
  f = fx_start("fast");
  s = edv__sim_core(f->es);
  for (size_t i = 0; i < s->n_routes; i++) {
    const sim_rt *rt = &s->routes[i];
    int d = route_doc(rt);
    json_object *full, *mine;

    if (d < 0 || route_excepted(rt))
      continue;
    if (!json_object_object_get_ex(docs[d].methods, rt->r->method_id, &full))
      continue; /* test_routes reports it */
    if (!json_object_object_get_ex(sub[d].methods, rt->r->method_id, &mine) ||
        !json_object_equal(full, mine)) {
      printf("# tests/data/discovery/%s: %s missing or different\n",
             doc_files[d], rt->r->method_id);
      stale++;
    }
  }
  fx_free(f);
  docs_release(sub);
  if (stale)
    fail_msg("%d method(s) stale in tests/data/discovery: run "
             "scripts/discovery-subset.py (see its header)",
             stale);
}

int main(void)
{
  const struct CMUnitTest all[] = {
      cmocka_unit_test(test_subset),    cmocka_unit_test(test_routes),
      cmocka_unit_test(test_responses), cmocka_unit_test(test_requests),
      cmocka_unit_test(test_bodiless),  cmocka_unit_test(test_fidelity_table),
  };
  const struct CMUnitTest lone[] = {
      cmocka_unit_test(test_routes),         cmocka_unit_test(test_responses),
      cmocka_unit_test(test_requests),       cmocka_unit_test(test_bodiless),
      cmocka_unit_test(test_fidelity_table),
  };

  curl_global_init(CURL_GLOBAL_DEFAULT);
  /* The documents are loaded before the group runs, so that a lone clone
   * (no full documents beside it) leaves test_subset out instead of
   * reporting it skipped: meson counts TAP's "not ok # SKIP" as a failure. */
  (void)group_setup(NULL);
  if (using_subset) {
    printf("# test_subset not run: the full documents are absent, so the "
           "committed subset has nothing to be compared with\n");
    return cmocka_run_group_tests_name("tests", lone, NULL, group_teardown);
  }
  return cmocka_run_group_tests_name("tests", all, NULL, group_teardown);
}
