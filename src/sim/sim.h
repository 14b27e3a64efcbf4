/*
 * sim.h - the simulator's internal API: what an API module builds on.
 *
 * The core (core.c, route.c, store.c, ops.c, limits.c, auth.c, admin.c,
 * persist.c) owns the HTTP server, authentication, routing, the resource
 * store, operations, quotas, rate limits, faults, the request log and the
 * state file. An API module (compute.c, sql.c, dns.c, ...) is a table of
 * routes plus handlers; see src/sim/README.md for a walk-through.
 *
 * Everything runs on one uv loop; no function here blocks (the state file
 * is written synchronously, but it is small and the write is debounced).
 *
 * Ownership rules, once for the whole header:
 * - json_object pointers returned by getters are borrowed: valid until the
 *   next mutation of the same entry. Take a json_object_get() to keep one.
 * - Functions documented "takes ownership" consume the caller's reference
 *   even when they fail.
 * - Strings returned by request accessors live as long as the request.
 */
#ifndef EDV_SIM_SIM_H
#define EDV_SIM_SIM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <uv.h>

#include "edv/error.h"

typedef struct sim sim;
typedef struct sim_req sim_req;
typedef struct sim_resp sim_resp;
typedef struct sim_op sim_op;
typedef struct sim_defer sim_defer;
typedef struct sim_timer sim_timer;

/* ---------------------------------------------------------------------- */
/* APIs: each has its own error envelope style, rate limits and faults.    */
/* ---------------------------------------------------------------------- */

#define SIM_API_MAP(XX)                                                        \
  XX(NONE, "none", "", 0)                                                      \
  XX(COMPUTE, "compute", "compute.googleapis.com", 1)                          \
  XX(SQL, "sql", "sqladmin.googleapis.com", 1)                                 \
  XX(DNS, "dns", "dns.googleapis.com", 1)                                      \
  XX(CERTMGR, "certificatemanager", "certificatemanager.googleapis.com", 0)    \
  XX(MONITORING, "monitoring", "monitoring.googleapis.com", 0)                 \
  XX(IAM, "iam", "iam.googleapis.com", 0)                                      \
  XX(SECRETS, "secretmanager", "secretmanager.googleapis.com", 0)              \
  XX(SERVICENET, "servicenetworking", "servicenetworking.googleapis.com", 0)   \
  XX(RESOURCEMANAGER, "cloudresourcemanager",                                  \
     "cloudresourcemanager.googleapis.com", 0)                                 \
  XX(OAUTH, "oauth2", "oauth2.googleapis.com", 0)                              \
  XX(METADATA, "metadata", "metadata.google.internal", 0)                      \
  XX(ADMIN, "sim", "", 0)                                                      \
  XX(BILLING, "cloudbilling", "cloudbilling.googleapis.com", 0)                \
  XX(BIGQUERY, "bigquery", "bigquery.googleapis.com", 1)                       \
  XX(BUDGETS, "billingbudgets", "billingbudgets.googleapis.com", 0)

typedef enum {
#define SIM__API_ENUM(name, str, host, legacy) SIM_API_##name,
  SIM_API_MAP(SIM__API_ENUM)
#undef SIM__API_ENUM
      SIM_API__COUNT
} sim_api;

/* "compute", ...; the names the admin API and the request log use. */
const char *sim_api_name(sim_api api);
/* "compute.googleapis.com": ErrorInfo.domain and the Host to match. */
const char *sim_api_host(sim_api api);
/* 1 when the API answers errors in the legacy envelope (errors[]). */
int sim_api_legacy(sim_api api);
/* By name; SIM_API_NONE when unknown. */
sim_api sim_api_by_name(const char *name);

/* ---------------------------------------------------------------------- */
/* The instance.                                                           */
/* ---------------------------------------------------------------------- */

typedef enum {
  SIM_PROFILE_FAST = 0,     /* operations finish within ~50 ms */
  SIM_PROFILE_DEMO = 1,     /* seconds: progress is visible, a tenant ~30 s */
  SIM_PROFILE_REALISTIC = 2 /* minutes, like the real cloud */
} sim_profile;

/* Options of the core; the public edv_sim_options maps onto these. */
typedef struct sim_options {
  const char *host;       /* bind address, "127.0.0.1" when NULL */
  unsigned port;          /* 0 picks a free port */
  const char *state_file; /* NULL: state lives in memory only */
  sim_profile profile;
  double time_scale;   /* > 0; 1 when 0 */
  const char *project; /* "edv-sim" when NULL */
  const char *domain;  /* "edvirons.com." when NULL */
  uint64_t seed;       /* PRNG seed; 0 picks one from the clock */
  int no_auth;         /* 1: accept requests without a bearer token */
} sim_options;

/* Core startup and shutdown (used by the public wrapper in core.c). */
sim *sim_new(uv_loop_t *loop, const sim_options *opt, edv_error *err);
void sim_close(sim *s, void (*cb)(void *data), void *data);

uv_loop_t *sim_loop(const sim *s);
const char *sim_project(const sim *s);
const char *sim_domain(const sim *s); /* always with the trailing dot */
sim_profile sim_get_profile(const sim *s);
double sim_time_scale(const sim *s);
unsigned sim_port(const sim *s);

/*
 * The simulated clock in ms since the Unix epoch: real monotonic time
 * multiplied by the time scale, plus whatever POST /_sim/clock/advance
 * added. It starts at the real wall clock on the first start and continues
 * from the saved value after a restart. Use it for every timestamp the
 * cloud reports and every delay the cloud imposes.
 */
uint64_t sim_now_ms(const sim *s);

/* Seeded PRNG (xoshiro256**): deterministic for a given seed. */
uint64_t sim_rand(sim *s);
/* Uniform in [lo, hi] (inclusive); lo when hi <= lo. */
uint64_t sim_rand_range(sim *s, uint64_t lo, uint64_t hi);
/* Uniform in [0, 1). */
double sim_rand01(sim *s);

/* A fresh 19-digit numeric resource id, as Compute uses ("7351...").
 * Returned as a decimal string into buf (at least 24 bytes). */
const char *sim_new_id(sim *s, char *buf);
/* A random RFC 4122 v4 UUID into buf (at least 37 bytes). */
const char *sim_new_uuid(sim *s, char *buf);
/* A new fingerprint or etag (`format: byte`): standard base64 of 8 random
 * bytes, padded ("wJOj1Kx3C9A="), into buf (at least 16 bytes). */
const char *sim_fingerprint(sim *s, char *buf);
/* Whether two base64 spellings (NULL: no) are the same bytes: clients send
 * back the URL-safe spelling ('-', '_') of what they read (gcloud). */
int sim_same_bytes(const char *a, const char *b);
/* RFC 3339 with milliseconds, UTC ("2026-11-27T21:32:22.123Z"), into buf
 * (at least 32 bytes). */
const char *sim_time_str(uint64_t ms, char *buf);
/* RFC 3339 ("2026-11-27T21:32:22.123Z", or with an offset "+03:00") to
 * ms since the epoch, or -1 (common/rfc3339.h). */
int64_t sim_time_parse(const char *t);
/* sim_time_str(sim_now_ms(s)). */
const char *sim_now_str(const sim *s, char *buf);

/* Marks the state changed: the state file is saved shortly after (the
 * core already does this after every non-GET request and every operation
 * transition; call it from your own timers). */
void sim_dirty(sim *s);

/*
 * A timer on the simulated clock: cb runs once when sim_now_ms() reaches
 * due_ms, either because real time passed (due/scale) or because the clock
 * was advanced. Timers are not persisted: derive time-dependent state from
 * stored timestamps where you can, and treat a timer as a nudge. Returns
 * NULL only on allocation failure.
 */
typedef void (*sim_timer_cb)(sim *s, void *data);
sim_timer *sim_timer_at(sim *s, uint64_t due_ms, sim_timer_cb cb, void *data);
/* Cancels a timer that has not run yet. NULL is a no-op. */
void sim_timer_cancel(sim *s, sim_timer *t);

/* ---------------------------------------------------------------------- */
/* Routes.                                                                 */
/* ---------------------------------------------------------------------- */

/* A handler's return value. */
#define SIM_DONE  0 /* the response is filled in */
#define SIM_DEFER 1 /* answered later through a sim_defer */

typedef int (*sim_handler)(sim *s, sim_req *req, sim_resp *resp);

/* Operation completion: see sim_op_start(). */
typedef void (*sim_apply_fn)(sim *s, sim_op *op, json_object *payload);

enum {
  SIM_ROUTE_NOAUTH = 1u << 0,   /* no bearer token needed */
  SIM_ROUTE_LOOPBACK = 1u << 1, /* only from 127.0.0.1 / ::1 */
  SIM_ROUTE_RAW_BODY = 1u << 2, /* do not parse the body as JSON */
  SIM_ROUTE_WRITE = 1u << 3,    /* counts as a write for rate limits (set
                                   automatically for non-GET verbs) */
};

typedef struct sim_route {
  const char *verb; /* "GET", "POST", "PATCH", "PUT", "DELETE" */
  /*
   * Path template as in the discovery document, with the API's base path:
   * "/compute/v1/projects/{project}/global/networks/{network}". "{x}"
   * matches one segment, "{+x}" one or more (reserved expansion). A
   * segment may end with a literal suffix after the parameter, as in
   * "/v1/projects/{projectsId}/secrets/{secretsId}:addVersion". Prefer the
   * discovery `flatPath` where there is one. When two templates match, the
   * one with more literal segments wins.
   */
  const char *path;
  const char *method_id; /* discovery id: "compute.networks.insert" */
  sim_handler handler;
  sim_apply_fn apply; /* completion of operations this route starts, or
                         NULL; looked up by method_id after a restart */
  unsigned flags;     /* SIM_ROUTE_* */
  const char *host;   /* only when the Host header starts with this
                         (for colliding /v1/ paths), or NULL */
} sim_route;

/*
 * Registers n routes of `api` (the table must outlive the sim: use a static
 * const array). Call from your module's init function, which sim_new()
 * calls (see the module list in core.c). Returns 0, or -1 on a malformed
 * template (logged).
 */
int sim_register(sim *s, sim_api api, const sim_route *routes, size_t n);

/* ---------------------------------------------------------------------- */
/* The request (valid until the response is sent).                         */
/* ---------------------------------------------------------------------- */

const char *sim_req_verb(const sim_req *req);
const char *sim_req_path(const sim_req *req);      /* decoded */
const char *sim_req_method_id(const sim_req *req); /* route's method_id */
sim_api sim_req_api(const sim_req *req);
/* A path parameter by the template's name ("project", "+name"'s "name"),
 * percent-decoded, or NULL. */
const char *sim_param(const sim_req *req, const char *name);
/* A decoded query argument or NULL. */
const char *sim_query(const sim_req *req, const char *name);
/* A request header (case-insensitive) or NULL. */
const char *sim_header(const sim_req *req, const char *name);
/* The parsed JSON body (an object), or NULL when the body was empty. */
json_object *sim_body(const sim_req *req);
/* The raw body (NUL-terminated) and its length. */
const char *sim_body_raw(const sim_req *req, size_t *len);
/* Who is calling: the service account's email, or "anonymous". */
const char *sim_principal(const sim_req *req);
/* "http://127.0.0.1:PORT": scheme plus the request's Host header. */
const char *sim_base_url(const sim_req *req);

/* ---------------------------------------------------------------------- */
/* The response.                                                           */
/* ---------------------------------------------------------------------- */

/* Status plus a JSON body (takes ownership of body; NULL sends "{}"). */
int sim_resp_json(sim_resp *resp, int status, json_object *body);
/* Status plus a body of any type (copied). */
int sim_resp_text(sim_resp *resp, int status, const char *content_type,
                  const char *text);
/* Adds a response header (copied). */
void sim_resp_header(sim_resp *resp, const char *name, const char *value);

/*
 * Google error envelopes. All return SIM_DONE so a handler can write
 * `return sim_err_legacy(resp, 404, "notFound", "The resource '%s' was not
 * found", name);`.
 *
 * Legacy (Compute, SQL Admin, DNS):
 *   {"error":{"code":404,"message":M,"errors":[{"message":M,
 *    "domain":"global","reason":"notFound"}]}}
 * domain is "usageLimits" for quotaExceeded, rateLimitExceeded and
 * userRateLimitExceeded, "global" otherwise.
 *
 * New style (everything else):
 *   {"error":{"code":404,"message":M,"status":"NOT_FOUND","details":[{
 *    "@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":R,
 *    "domain":"<api host>","metadata":{}}]}}
 * sim_err_rpc() uses the status as the ErrorInfo reason; sim_err_rpc_reason
 * names it.
 *
 * sim_err() picks the envelope from the route's API: `reason` is the
 * legacy reason and the status name is derived from the HTTP code.
 */
int sim_err_legacy(sim_resp *resp, int code, const char *reason,
                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int sim_err_rpc(sim_resp *resp, int code, const char *status, const char *fmt,
                ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int sim_err_rpc_reason(sim_resp *resp, int code, const char *status,
                       const char *reason, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
int sim_err(sim_resp *resp, int code, const char *reason, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* "NOT_FOUND" for 404, "ALREADY_EXISTS" for 409, ... */
const char *sim_status_for_code(int code);

/*
 * Answering later. sim_defer_begin() returns a handle; the handler then
 * returns SIM_DEFER. Later, fill sim_defer_resp(d) with sim_resp_json()
 * or an error and call sim_defer_finish(d). `on_end` runs if the request
 * ends first: with SIM_DEFER_DEADLINE the callback should answer (fill and
 * finish; otherwise the core sends 504); with SIM_DEFER_GONE the client is
 * gone and d must be forgotten (do not finish it). deadline_ms is real
 * milliseconds from now (0: 5 minutes).
 */
#define SIM_DEFER_DEADLINE 1
#define SIM_DEFER_GONE     2
typedef void (*sim_defer_cb)(sim *s, sim_defer *d, int why, void *data);
sim_defer *sim_defer_begin(sim_req *req, sim_resp *resp, uint64_t deadline_ms,
                           sim_defer_cb on_end, void *data);
sim_resp *sim_defer_resp(sim_defer *d);
void sim_defer_finish(sim_defer *d);

/* ---------------------------------------------------------------------- */
/* Links and names.                                                        */
/* ---------------------------------------------------------------------- */

/*
 * Stored resources carry Google's own URLs ("https://www.googleapis.com/
 * compute/v1/projects/p/global/networks/n", "https://sqladmin.googleapis.
 * com/v1/projects/..."), so the state file does not depend on our port.
 * Every JSON response rewrites those API roots to the request's base URL,
 * so a client that follows a selfLink comes back to the simulator.
 *
 * sim_link() formats "https://www.googleapis.com/compute/v1/" + the rest
 * for Compute, "https://sqladmin.googleapis.com/v1/" for SQL and
 * "https://dns.googleapis.com/dns/v1/" for DNS. Returns a malloc'd string.
 */
char *sim_link(sim_api api, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Same, as a json string object (ready for json_object_object_add). */
json_object *sim_link_json(sim_api api, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * Reduces a reference a client sent (full URL with any host, "//host/...",
 * or partial "projects/p/global/networks/n", or "global/networks/n") to
 * the canonical name "projects/p/global/networks/n" (project filled in
 * from the sim when missing). Returns a malloc'd string.
 */
char *sim_ref_name(const sim *s, const char *ref);

/*
 * For handlers of routes with a {project} (or {projectsId}) parameter:
 * returns 0 when it names the simulated project, else fills resp with the
 * API's 404 ("The resource 'projects/X' was not found") and returns -1.
 */
int sim_check_project(sim *s, sim_req *req, sim_resp *resp);

/* 1 when name is a valid Compute name: [a-z](?:[-a-z0-9]{0,61}[a-z0-9])? */
int sim_valid_compute_name(const char *name);

/* ---------------------------------------------------------------------- */
/* The resource store.                                                     */
/* ---------------------------------------------------------------------- */

/*
 * JSON objects keyed by canonical name ("projects/p/global/networks/n"),
 * kept in name order. `kind` groups resources for the admin API's ?kind=
 * filter: use the resource's own "kind" ("compute#network") where it has
 * one, else "<api>.<collection>" ("secretmanager.secret").
 */
/* Borrowed, or NULL. */
json_object *sim_store_get(sim *s, const char *name);
/* The kind the entry was put with, or NULL. */
const char *sim_store_kind(sim *s, const char *name);
/* Inserts or replaces; takes ownership of obj. Returns 0 or -1 (ENOMEM). */
int sim_store_put(sim *s, const char *name, const char *kind, json_object *obj);
/* Returns 0, or -1 when there was no such entry. */
int sim_store_del(sim *s, const char *name);
/*
 * Calls cb for each entry whose name starts with prefix (every entry for
 * "" or NULL; see sim_name_under for "-" segments) in name order; stops
 * when cb returns non-zero. cb may not put or delete entries; collect
 * names and act afterwards.
 */
typedef int (*sim_store_cb)(void *data, const char *name, const char *kind,
                            json_object *obj);
void sim_store_each(sim *s, const char *prefix, sim_store_cb cb, void *data);
/* Whether name starts with prefix, where a whole "-" segment of prefix
 * matches any one segment (Google's wildcard: "projects/P/locations/-/
 * certificates/" lists every location's). */
int sim_name_under(const char *name, const char *prefix);
/* Number of entries under prefix with kind (NULL: any kind). */
size_t sim_store_count(sim *s, const char *prefix, const char *kind);

/*
 * Secondary indexes: a module that looks resources of one kind up by
 * something other than their name (DNS records by owner name and type,
 * firewall rules by target) registers, from its init function, a function
 * that gives an entry's keys (emit(ctx, key) once per key; none is fine);
 * the store keeps key -> names current on every put and delete, so a
 * lookup costs the entries that share the key rather than a walk of the
 * whole kind. Lookups still check what they find (an object changed in
 * place without a put keeps its old keys until the next put).
 */
typedef void (*sim_store_keys_fn)(sim *s, json_object *obj,
                                  void (*emit)(void *ctx, const char *key),
                                  void *ctx);
/* At most one function per kind; 0 or -1 (ENOMEM). */
int sim_store_index(sim *s, const char *kind, sim_store_keys_fn keys);
/* The names of `kind` entries with `key` under prefix, in name order (the
 * order of a walk of the store): a new array (free it; the names are
 * borrowed, valid until the store changes) of *n names, or NULL when there
 * are none. */
const char **sim_store_lookup_sorted(sim *s, const char *kind, const char *key,
                                     const char *prefix, size_t *n);

/*
 * 1 when obj carries label key=value (or just the key when "key" alone).
 * Looks at "labels" and at "settings.userLabels" (Cloud SQL). selector is
 * "k=v" or "k".
 */
int sim_labels_match(json_object *obj, const char *selector);

/*
 * Compute list filters (filter.c): the regular-expression syntax
 * (`name eq "edv-.*"`, `(a eq x) (b ne y)`) or AIP-160 (`name = x`,
 * `labels.k = v`, `cpus > 2`, OR, AND), not mixed. Returns 1 when obj
 * matches (always for NULL/empty), 0 otherwise; the core has already
 * answered 400 to a filter that does not parse.
 */
int sim_filter_match(json_object *obj, const char *filter);

/*
 * Renders a Compute-style list page of the entries under prefix with kind,
 * honouring ?filter=, ?maxResults= and ?pageToken= from req:
 * {"kind":list_kind,"id":...,"items":[...],"selfLink":..,"nextPageToken"}.
 * self_link is the collection URL (sim_link form). Returns a new object.
 */
json_object *sim_list_page(sim *s, sim_req *req, const char *prefix,
                           const char *kind, const char *list_kind,
                           const char *self_link);

/* ---------------------------------------------------------------------- */
/* Operations.                                                             */
/* ---------------------------------------------------------------------- */

typedef enum {
  SIM_OP_COMPUTE = 0, /* compute#operation, zonal/regional/global */
  SIM_OP_SQL = 1,     /* sql#operation */
  SIM_OP_DNS = 2,     /* dns#change */
  SIM_OP_LRO = 3,     /* google.longrunning.Operation */
} sim_op_shape;

/* How long an operation takes, chosen per profile (then / time scale). */
typedef enum {
  SIM_DUR_INSTANT = 0, /* done on the first read: DNS changes, small edits */
  SIM_DUR_QUICK = 1,   /* networks, firewalls: realistic ~10-30 s */
  SIM_DUR_MEDIUM = 2,  /* instances, disks: realistic ~30-90 s */
  SIM_DUR_SLOW = 3,    /* SQL instances, certificates: realistic minutes */
} sim_op_duration;

typedef struct sim_op_spec {
  sim_op_shape shape;
  sim_op_duration duration;
  /*
   * Where the operation lives. Compute: "global", "regions/us-central1" or
   * "zones/us-central1-a". SQL: ignored. DNS: the managed zone name.
   * LRO: the location ("global", "us-central1").
   */
  const char *scope;
  const char *operation_type; /* Compute "insert"; SQL "CREATE"; LRO verb
                                 "create" */
  const char *target_name;    /* canonical name of the target resource */
  const char *target_link;    /* Compute/SQL targetLink (sim_link form) */
  const char *target_id;      /* Compute targetId / SQL targetId, or NULL */
  const char *metadata_type;  /* LRO metadata @type, e.g. "type.googleapis.
                                 com/google.cloud.certificatemanager.v1.
                                 OperationMetadata" */
  json_object *payload;       /* what apply() needs (takes ownership) */
  json_object *dns_change;    /* DNS: the change ({additions,deletions});
                                 takes ownership */
} sim_op_spec;

/*
 * Starts an operation for the request being handled and records the
 * request's requestId (if any) so a repeat returns the same operation
 * without reaching the handler again. The operation goes PENDING ->
 * RUNNING -> DONE on the simulated clock; at DONE the route's apply()
 * runs with the payload, unless a fault failed the operation first (then
 * apply still runs, and sim_op_failed(op) tells it to roll back whatever
 * the handler reserved). Returns the operation (borrowed) or NULL on
 * ENOMEM.
 */
sim_op *sim_op_start(sim *s, sim_req *req, const sim_op_spec *spec);

/* Fills resp with the operation's current JSON (200). Returns SIM_DONE. */
int sim_op_respond(sim *s, sim_resp *resp, sim_op *op);

/*
 * Operation read by canonical name:
 * "projects/p/global/operations/operation-..." (Compute global),
 * "projects/p/regions/r/operations/..", "projects/p/zones/z/operations/..",
 * "projects/p/operations/<uuid>" (SQL),
 * "projects/p/managedZones/z/changes/<id>" (DNS),
 * "projects/p/locations/l/operations/operation-..." (LRO).
 */
sim_op *sim_op_find(sim *s, const char *name);
const char *sim_op_name(const sim_op *op);       /* canonical name */
const char *sim_op_short_name(const sim_op *op); /* last segment */
/* The operation's public JSON (new object). */
json_object *sim_op_json(sim *s, sim_op *op);
int sim_op_done(const sim_op *op);
/* An unfinished operation whose target is target_name (canonical), or
 * NULL: lets an insert refuse a name whose creation is still running. */
sim_op *sim_op_pending(sim *s, const char *target_name);

/*
 * Inside apply(): make the operation end in error. For Compute, code is
 * the operation error code ("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE") and
 * http_status goes to httpErrorStatusCode; SQL and LRO use code likewise.
 */
void sim_op_fail(sim_op *op, int http_status, const char *code, const char *fmt,
                 ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int sim_op_failed(const sim_op *op);
/* LRO: the resource returned in `response` (takes ownership; the core
 * adds "@type" if type is not NULL). */
void sim_op_set_response(sim_op *op, const char *type, json_object *resource);
/* Compute: targetId once known (e.g. set by apply). */
void sim_op_set_target_id(sim_op *op, const char *id);

/*
 * operations.wait: answers now when the operation is DONE, otherwise
 * defers until DONE or two simulated minutes (bounded by two real
 * minutes), then answers with the operation as it is. Returns SIM_DONE or
 * SIM_DEFER: return it from the handler.
 */
int sim_op_wait(sim *s, sim_req *req, sim_resp *resp, sim_op *op);

/*
 * Lists operations whose canonical name starts with prefix (for
 * globalOperations.list and friends; "-" segments as in sim_name_under):
 * returns a new JSON array.
 */
json_object *sim_op_list(sim *s, const char *prefix);

/* ---------------------------------------------------------------------- */
/* Quotas, rate limits, faults.                                            */
/* ---------------------------------------------------------------------- */

/*
 * Named counters with limits, per region (region NULL or "global" for a
 * project-wide quota). Defining again updates the limit and keeps the
 * usage. Modules define defaults in their init; tests change them via
 * POST /_sim/quotas.
 */
void sim_quota_define(sim *s, const char *metric, const char *region,
                      double limit);
/*
 * Takes amount of the quota; on excess fills resp with Google's error
 * (403 quotaExceeded, domain usageLimits, "Quota 'NETWORKS' exceeded.
 * Limit: 5.0 globally." / "... Limit: 24.0 in region us-central1.") and
 * returns -1 without taking anything. An undefined metric is unlimited.
 * APIs whose quota error reads differently just answer again over it
 * (any later sim_resp_* / sim_err* call replaces the response).
 */
int sim_quota_take(sim *s, sim_resp *resp, const char *metric,
                   const char *region, double amount);
/* Gives back what sim_quota_take took (clamped at 0). */
void sim_quota_give(sim *s, const char *metric, const char *region,
                    double amount);
/* Region.quotas[]: new array of {metric,limit,usage} for the region
 * ("global" for the project's quotas). */
json_object *sim_quota_json(sim *s, const char *region);

/* 1 when the admin API forced this instance (canonical name or plain
 * name) unhealthy. For the Compute backend-health model. */
int sim_fault_unhealthy(sim *s, const char *instance);
/* 1 when the admin API forced instances booted from this image (its
 * selfLink, canonical name or plain name) unhealthy
 * (POST /_sim/faults {"unhealthyImage": NAME}): a release whose VMs never
 * become healthy. */
int sim_fault_unhealthy_image(sim *s, const char *image);

/* Region outage (POST /_sim/faults {"regionDown": R}, outage.c): 1 when
 * region R (a region name) is down, or the region of a zone name
 * ("R-b") or of a zone or region URL is. */
int sim_region_down(sim *s, const char *region);
int sim_zone_down(sim *s, const char *zone);

#endif /* EDV_SIM_SIM_H */
