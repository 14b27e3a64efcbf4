/*
 * sim_int.h - the core's own structures, shared by the core's files only.
 * API modules use sim.h and never include this.
 */
#ifndef EDV_SIM_SIM_INT_H
#define EDV_SIM_SIM_INT_H

#include "httpd/httpd.h"
#include "sim/sim.h"

#define SIM_LOG_SIZE 4096 /* request log ring */

/* A name-ordered index of pointers (binary search, memmove on insert):
 * plenty for the tens of thousands of resources a 1,000-tenant run makes. */
typedef struct sim_slot {
  const char *name; /* owned by the object p points to */
  void *p;
} sim_slot;

typedef struct sim_index {
  sim_slot *v;
  size_t n, cap;
} sim_index;

/* Returns the position of name, or where it would go (*found = 0). */
size_t sim__index_find(const sim_index *ix, const char *name, int *found);
int sim__index_insert(sim_index *ix, size_t pos, const char *name, void *p);
void sim__index_remove(sim_index *ix, size_t pos);

typedef struct sim_entry {
  char *name;
  char *kind;
  json_object *obj;
} sim_entry;

/* A parsed route template segment. */
typedef struct sim_seg {
  char *lit;    /* literal segment, or NULL for a parameter */
  char *param;  /* parameter name */
  char *suffix; /* literal after the parameter in the same segment ("") */
  int plus;     /* {+x}: one or more segments */
} sim_seg;

typedef struct sim_rt {
  const sim_route *r;
  sim_api api;
  sim_seg *segs;
  size_t n_segs;
  int literals; /* specificity: number of literal segments */
} sim_rt;

#define SIM_MAX_PARAMS 8

struct sim_defer {
  sim_req *req;
  sim_defer_cb cb;
  void *data;
  int active;
};

struct sim_resp {
  int status;
  json_object *json; /* JSON answer, or NULL */
  char *text;        /* non-JSON answer */
  char *ctype;
  char *hdr_name[4], *hdr_value[4];
  int n_hdr;
};

/* A request inside a Compute batch (batch.c): what req->http gives a
 * top-level request. */
typedef struct sim_sub {
  char verb[8];
  char *path_raw; /* as sent, without the query */
  char *path;     /* decoded */
  char *query;    /* raw, without the '?' ("" for none) */
  char *headers;  /* the part's request headers, "Name: value" lines */
  const char *body;
  size_t body_len;
  char *cache[16]; /* decoded query and header values handed out */
  int n_cache;
} sim_sub;

struct sim_req {
  sim *s;
  edv_http_req *http; /* NULL for a part of a batch (sub) */
  struct sim_sub *sub;
  const sim_rt *rt;
  char *pname[SIM_MAX_PARAMS], *pval[SIM_MAX_PARAMS];
  int n_params;
  json_object *body;
  char *principal;
  char *base_url;
  sim_resp resp;
  struct sim_defer defer;
  uv_timer_t delay; /* injected latency */
  int delay_active; /* delay initialised: close before freeing */
  int drop;         /* fault: answer by dropping the connection */
  int finished;
  int hold; /* a handler or end callback is on the stack */
};

struct sim_timer {
  struct sim_timer *next;
  uint64_t due;
  sim_timer_cb cb;
  void *data;
};

typedef struct sim_logent {
  uint64_t at_ms; /* simulated */
  char verb[8];
  char path[200];
  int status;
  sim_api api;
  char method_id[128]; /* the longest (certificateMapEntries.*) is ~100 */
  char principal[96];
  int dropped;
} sim_logent;

typedef struct sim_quota {
  struct sim_quota *next;
  char *metric;
  char *region; /* "global" for project-wide */
  double limit, usage;
} sim_quota;

typedef struct sim_fault {
  struct sim_fault *next;
  int id;
  sim_api api;       /* SIM_API_NONE: any */
  char *method;      /* method id, or NULL for any */
  double error_rate; /* 0..1 */
  int code;          /* HTTP status of the injected error */
  char *reason;      /* legacy reason / rpc status; NULL: from code */
  char *message;
  uint64_t latency_ms;
  double latency_rate; /* share of requests delayed (spikes); 1: all */
  double drop_rate;    /* drop the connection after applying */
  long count;          /* times left to fire (-1: unlimited) */
  char *fail_op;       /* method id or operationType whose operations fail */
  char *op_code;       /* operation error code */
  char *op_message;
  int op_http;
  char *unhealthy;       /* instance forced unhealthy */
  char *unhealthy_image; /* instances booted from this image: unhealthy */
  char *region_down;     /* region out of service (outage.c) */
  /* metric faults (usage.c): backendErrors, sqlDown, vmLoad, appDown */
  int mkind;       /* SIM_MF_*, 0 for none */
  char *mtarget;   /* the backend service, Cloud SQL instance or VM */
  double mrate;    /* backendErrors: share of requests answering 500 */
  double mcpu;     /* vmLoad: CPU utilization held (0..1), < 0: not held */
  double mmem;     /* vmLoad: memory used percent held, < 0: not held */
  uint64_t dp_seq; /* backendErrors: data-plane requests seen */
} sim_fault;

/* The faults that drive the built-in metrics (usage.c). */
enum {
  SIM_MF_BACKEND_ERRORS = 1,
  SIM_MF_SQL_DOWN = 2,
  SIM_MF_VM_LOAD = 3,
  SIM_MF_APP_DOWN = 4,
};

/* When a metric fault was active on the simulated clock (usage.c). */
typedef struct sim_mhist {
  int id; /* the fault's */
  int kind;
  char target[128];
  double rate, cpu, mem;
  uint64_t from_ms, to_ms; /* to_ms 0: still active */
} sim_mhist;

#define SIM_MHIST_MAX 256

typedef struct sim_key {
  struct sim_key *next;
  char *kid;
  char *email;
  char *public_pem;
  char *private_pem; /* only for keys we generated; never logged */
  char *client_id;
} sim_key;

typedef struct sim_token {
  struct sim_token *next;
  char *token; /* never logged */
  char *email;
  uint64_t exp_s; /* real wall clock */
} sim_token;

typedef struct sim_ratelimit {
  uint64_t minute; /* simulated minute the counters belong to */
  long reads, writes;
  long read_limit, write_limit; /* per minute; 0 unlimited */
} sim_ratelimit;

struct sim {
  uv_loop_t *loop;
  edv_httpd *httpd;
  char *host, *project, *domain, *state_file;
  sim_profile profile;
  double scale;
  int no_auth;
  uint64_t project_number;
  /* clock: sim time = clock_base + (hrtime - hr_base) * scale */
  uint64_t clock_base;
  uint64_t hr_base;
  uint64_t rng[4];
  sim_rt *routes;
  size_t n_routes, cap_routes;
  sim_index res;       /* sim_entry */
  sim_index ops;       /* sim_op */
  json_object *reqids; /* "project/requestId" -> operation name */
  sim_timer *timers;   /* sorted by due */
  uv_timer_t timer;
  int in_timers;
  sim_logent *log;
  size_t log_next, log_count;
  sim_quota *quotas;
  sim_fault *faults;
  int next_fault_id;
  sim_ratelimit rate[SIM_API__COUNT];
  sim_key *keys;
  sim_token *tokens;
  uv_timer_t save_timer;
  int dirty;
  int closing;
  int pending_closes;
  void (*close_cb)(void *data);
  void *close_data;

  /* ops not done yet, linked (ops.c) */
  struct sim_op *pending;
  /* secondary indexes (store.c) */
  struct sim_xindex *xindexes;
  /* how long the last save of the state file took (core.c) */
  uint64_t save_ms;
  /* the alert-policy evaluator (alerting.c) */
  struct sim_alerting *alerting;

  /* the usage model, the metric faults' history and the data plane's
   * request counts (usage.c) */
  json_object *usage; /* backend service name or "*" -> spec */
  sim_mhist *mhist;   /* ring of SIM_MHIST_MAX, oldest first from mhist_at */
  size_t mhist_n, mhist_at;
  sim_index dpcount; /* backend service name -> struct sim_dpring */
};

/* core.c */
struct edv_sim;
/* The core behind the public handle (for tests). */
sim *edv__sim_core(struct edv_sim *es);
void sim__run_due(sim *s);
void sim__finish(sim_req *req);
void sim__req_free(sim_req *req);
/* Runs a batch part (req->sub set, req->s and base_url filled): route,
 * checks, handler; the answer is left in req->resp. */
void sim__sub_run(sim_req *req);
/* batch.c: a batch part's query parameter and header (NULL if absent) */
const char *sim__sub_query(sim_sub *sub, const char *name);
const char *sim__sub_header(sim_sub *sub, const char *name);
void sim__reset(sim *s);
void sim__log_json(sim *s, json_object *out);
char *sim__render(sim_req *req, json_object *obj, size_t *len);

/* alerting.c: frees the evaluator's state (sim_alerting_init made it)
 * and cancels the webhooks in flight. */
void sim__alerting_free(sim *s);

/* route.c */
int sim__route_add(sim *s, sim_api api, const sim_route *r);
const sim_rt *sim__route_match(sim *s, const char *verb, const char *path,
                               const char *host, sim_req *req, int *path_known);
const sim_rt *sim__route_by_method(sim *s, const char *method_id);
/* Whether the route's method takes no request body (every GET and DELETE;
 * the POST/PUT/PATCH methods in bodiless.c, generated from discovery). */
int sim__route_bodiless(const sim_rt *rt);
extern const char *const sim__bodiless_ids[];
extern const size_t sim__n_bodiless_ids;
void sim__routes_free(sim *s);

/* filter.c: -1 when a Compute list filter does not parse */
int sim__filter_check(const char *filter);

/* store.c */
void sim__store_clear(sim *s);
/* Frees the secondary indexes and their registrations. */
void sim__store_index_free(sim *s);
/* The length of prefix's literal part, before its first "-" segment
 * (sim_name_under); *wild says whether there is one. */
size_t sim__literal_prefix(const char *prefix, int *wild);

/* ops.c */
void sim__ops_clear(sim *s);
json_object *sim__ops_save(sim *s);
int sim__ops_load(sim *s, json_object *arr);
int sim__op_dedupe(sim *s, sim_req *req);

/* limits.c */
int sim__rate_check(sim *s, sim_req *req);
int sim__fault_pre(sim *s, sim_req *req, uint64_t *latency_ms);
const sim_fault *sim__fault_op(sim *s, const char *method_id,
                               const char *operation_type);
int sim__faults_add(sim *s, json_object *spec, char *err, size_t errlen);
void sim__faults_clear(sim *s);
void sim__faults_remove(sim *s, int id);
json_object *sim__faults_json(sim *s);
/* outage.c: a call on a resource of a region that a regionDown fault
 * names answers 503 now (returns -1, response set); else 0. */
int sim__fault_region(sim *s, sim_req *req);
json_object *sim__quotas_save(sim *s);
void sim__quotas_load(sim *s, json_object *arr);
void sim__quotas_reset_usage(sim *s);
void sim__quotas_free(sim *s);
json_object *sim__limits_json(sim *s);
int sim__limits_set(sim *s, json_object *spec);

/* auth.c */
int sim__auth_init(sim *s);
int sim__auth_check(sim *s, sim_req *req);
void sim__auth_free(sim *s);
json_object *sim__auth_save(sim *s);
void sim__auth_load(sim *s, json_object *o);
int sim__write_key(sim *s, const char *path, edv_error *err);
int sim__auth_trust(sim *s, const char *kid, const char *email,
                    const char *public_pem);

/* admin.c */
int sim__admin_init(sim *s);

/* dataplane.c: 1 when a Host header names a hostname of the simulated DNS
 * (then the request is for a load balancer, not for an API), and the
 * answer to such a request (filled into req->resp, or req->drop). */
int sim__dataplane_host(sim *s, const char *host);
int sim__dataplane(sim *s, sim_req *req);

/* usage.c: the usage model, the metric faults and the data plane's
 * request counts behind the built-in metrics (metrics_gen.c). */
typedef struct sim_usage {
  double users; /* at the time asked */
  double rpm;   /* requests per user and minute */
} sim_usage;
int sim__usage_init(sim *s);
/* Clears the usage model, the history and the counts (reset, free). */
void sim__usage_clear(sim *s);
json_object *sim__usage_save(sim *s);
void sim__usage_load(sim *s, json_object *o);
/* The users of backend service bs (plain or canonical name) at t_ms. */
sim_usage sim__usage_at(sim *s, const char *bs, uint64_t t_ms);
/* Parses a metric fault's fields of spec into f (0, or -1 with err). */
int sim__mfault_parse(sim_fault *f, json_object *spec, char *err,
                      size_t errlen);
/* A metric fault added / removed now: its history. */
void sim__mfault_began(sim *s, const sim_fault *f);
void sim__mfault_ended(sim *s, const sim_fault *f);
json_object *sim__mfault_history_json(sim *s);
/* A metric fault's key, target and values into o (GET /_sim/faults). */
void sim__mfault_fields(json_object *o, int kind, const char *target,
                        double rate, double cpu, double mem);
/* The metric faults of `kind` on target (plain name; a canonical name's
 * last segment is compared) that were active at some time in
 * (from_ms, to_ms]: up to max pointers into the history, their number
 * returned. */
size_t sim__mfault_find(sim *s, int kind, const char *target, uint64_t from_ms,
                        uint64_t to_ms, const sim_mhist **out, size_t max);
/* The data plane: 1 when this request to backend service bs (canonical)
 * answers 500 under a backendErrors fault; and the count of an answer. */
int sim__dp_backend_error(sim *s, const char *bs);
void sim__dp_count(sim *s, const char *bs, int code);
/* The data plane's answers for bs with code in the minutes that begin in
 * [from_ms, to_ms). */
long sim__dp_counted(sim *s, const char *bs, int code, uint64_t from_ms,
                     uint64_t to_ms);
/* The distinct codes counted for bs since from_ms, into codes (max n). */
size_t sim__dp_codes(sim *s, const char *bs, uint64_t from_ms, int *codes,
                     size_t n);

/* persist.c */
int sim__load(sim *s, edv_error *err);
int sim__save(sim *s);

#endif /* EDV_SIM_SIM_INT_H */
