/*
 * store.h - the durable state store: interface and records.
 *
 * The store holds what must survive a crash: tenants (spec, phase, SQL name
 * generation, last error), every step's state (intent, requestId,
 * operation), an append-only journal per tenant, subnet allocations,
 * per-tenant leases (one driver per tenant across processes) and the
 * Management API's idempotency keys. It never holds a secret: no DB
 * password, key or token is ever passed to it.
 *
 * It is an interface (a table of operations, like a VFS) so that a
 * PostgreSQL backend for several edvd replicas can sit beside the SQLite one
 * (store/sqlite.c). Callers use the edv__store_* functions below, never the
 * table.
 *
 * Threading and blocking. All calls are synchronous and run on the loop
 * thread. That is the accepted trade-off of an embedded store: every
 * statement is short (primary-key or indexed lookups on small rows), WAL
 * mode lets readers proceed during a write, and commits are grouped per
 * loop turn (store/batch.h) so a turn pays for one fsync, not one per
 * step. A write that meets another process's write lock (edvctl and edvd
 * sharing one file) waits at most busy_timeout_ms (default
 * EDV_STORE_BUSY_TIMEOUT_MS, 50 ms: long enough for another process's
 * short transaction to end, short enough not to stall the loop) and then
 * fails with EDV_EBUSY; the group commit retries such a write from a
 * timer with backoff instead of waiting (store/batch.h). Opening waits up
 * to 5 s: it happens before the loop runs.
 *
 * Transactions. edv__store_begin() opens a write transaction (BEGIN
 * IMMEDIATE in SQLite, so the write lock is taken up front and a
 * read-then-write sequence can neither deadlock nor see a stale snapshot).
 * Transactions nest: an inner begin/commit is a savepoint, an inner rollback
 * undoes only the inner part. Every mutating call outside a transaction is
 * its own transaction.
 *
 * Time. Timestamps are integer milliseconds since the Unix epoch, from the
 * clock given at open (wall clock by default; tests inject their own).
 * Leases compare times written by different processes, so they need the
 * wall clock.
 *
 * Errors: EDV_EINVAL (bad argument), EDV_ENOTFOUND, EDV_EEXIST,
 * EDV_ECONFLICT (a uniqueness rule would break), EDV_EBUSY (lease held by
 * someone else, or database locked past the timeout), EDV_EIO (storage
 * failure), EDV_ECONFIG (file of another application or a newer schema),
 * EDV_ENOMEM. Messages name the tenant and what failed.
 */
#ifndef EDV_STORE_H
#define EDV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cidr.h"
#include "edv/error.h"

/* Sizes of the fixed text fields of records (bytes, including the NUL). */
#define EDV_STORE_ID_SZ      32   /* tenant ids (<= 26 chars) */
#define EDV_STORE_SLUG_SZ    64   /* slugs (<= 63 chars) */
#define EDV_STORE_TIER_SZ    32   /* tier names */
#define EDV_STORE_STEP_SZ    48   /* step names ("sql_instance") */
#define EDV_STORE_REQID_SZ   40   /* a UUID requestId */
#define EDV_STORE_HOLDER_SZ  128  /* lease holder ("edvd@host:pid") */
#define EDV_STORE_KIND_SZ    32   /* operation kinds ("compute.zone") */
#define EDV_STORE_OP_SZ      512  /* operation names / self links */
#define EDV_STORE_RES_SZ     512  /* resource names / self links */
#define EDV_STORE_ERR_SZ     1024 /* error texts (formatted edv_error) */
#define EDV_STORE_SMALL_SZ   128  /* actor, event, api call */
#define EDV_STORE_IDEMKEY_SZ 256  /* Idempotency-Key header values */
#define EDV_STORE_HASH_SZ    96   /* request hash (hex SHA-256 + room) */
#define EDV_STORE_SPEC_SZ    4096 /* a tenant spec as JSON */
#define EDV_STORE_VERSION_SZ 48   /* a release's version ("1.4.0-rc.1") */
#define EDV_STORE_INCID_SZ   128  /* a Monitoring incident_id */
#define EDV_STORE_LABELS_SZ  4096 /* an incident's labels as JSON */

typedef enum {
  EDV_PHASE_PENDING = 0,
  EDV_PHASE_PROVISIONING = 1,
  EDV_PHASE_READY = 2,
  EDV_PHASE_UPDATING = 3,
  EDV_PHASE_DEPROVISIONING = 4,
  EDV_PHASE_DELETED = 5,
  EDV_PHASE_FAILED = 6,
  EDV_PHASE_SUSPENDING = 7, /* deletion's grace: being stopped */
  EDV_PHASE_SUSPENDED = 8,  /* deletion's grace: stopped, purged later */
  EDV_PHASE__COUNT
} edv_tenant_phase;

/* "PENDING", ...; NULL outside the enum. */
const char *edv__phase_name(edv_tenant_phase phase);
/* The phase named `name`, or -1. */
int edv__phase_parse(const char *name);

typedef enum {
  EDV_STEP_PENDING = 0, /* not started */
  EDV_STEP_INTENT = 1,  /* intent committed: attempt + requestId, call may
                           be in flight (resume: observe, or re-issue with
                           the same requestId) */
  EDV_STEP_WAITING = 2, /* operation name committed: await it */
  EDV_STEP_DONE = 3,    /* verified */
  EDV_STEP_FAILED = 4,  /* non-retryable error, see error */
  EDV_STEP__COUNT
} edv_step_state;

const char *edv__step_state_name(edv_step_state state);
int edv__step_state_parse(const char *name);

/* A tenant row. spec_json is the caller's canonical JSON of the spec
 * (store/ never parses it); id, slug and tier are copies kept as columns
 * for uniqueness and filtering. */
typedef struct edv__tenant_rec {
  char id[EDV_STORE_ID_SZ];
  char slug[EDV_STORE_SLUG_SZ];
  char tier[EDV_STORE_TIER_SZ];
  char spec_json[EDV_STORE_SPEC_SZ]; /* canonical JSON of the spec */
  edv_tenant_phase phase;
  uint32_t generation;                /* SQL instance name generation */
  char last_error[EDV_STORE_ERR_SZ];  /* "" when none */
  int64_t created_ms;                 /* set by the store on first put */
  int64_t updated_ms;                 /* set by the store on every put */
  char release[EDV_STORE_VERSION_SZ]; /* the release it runs, "" none */
} edv__tenant_rec;

/* A release (what a tenant VM runs): an app version and the image that
 * holds it, resolved when the release was created (a family names the
 * image that was its newest then). Written once, never changed. */
typedef struct edv__release_rec {
  char version[EDV_STORE_VERSION_SZ];
  char image[EDV_STORE_RES_SZ];   /* "projects/P/global/images/I" */
  char family[EDV_STORE_SLUG_SZ]; /* the family it was given as, or "" */
  char notes[EDV_STORE_ERR_SZ];   /* free text, or "" */
  int64_t created_ms;             /* set by the store on put */
  int64_t seq;                    /* creation order, set by the store */
} edv__release_rec;

/* A fleet update: a release rolled out to the selected tenants in waves
 * (fleet/update.c). `waves` is the spec as given ("1,10%,100%"), `tiers`
 * the tier filter as a comma list ("" every tier), `state` one of
 * RUNNING, PAUSED, HALTED, ABORTED, DONE, ROLLING_BACK, ROLLED_BACK;
 * `wave` the wave being driven (0 first), `soak_until_ms` the end of its
 * soak (0: not soaking), `status` what people read about it. */
typedef struct edv__update_rec {
  char id[EDV_STORE_ID_SZ];
  char release[EDV_STORE_VERSION_SZ];
  char waves[EDV_STORE_SMALL_SZ];
  int64_t soak_ms;
  unsigned max_parallel, max_failures;
  char tiers[EDV_STORE_SMALL_SZ];
  char state[EDV_STORE_STEP_SZ];
  unsigned wave;
  int64_t soak_until_ms;
  char status[EDV_STORE_ERR_SZ];
  int64_t created_ms; /* set by the store on first put */
  int64_t updated_ms; /* set by the store on every put */
} edv__update_rec;

/* One tenant of an update: its wave, its state (PENDING, UPDATING,
 * SOAKING, DONE, FAILED, ROLLED_BACK), the release it ran before
 * (`from`, "" the stock image) and the one it goes to. */
typedef struct edv__update_tenant_rec {
  char update_id[EDV_STORE_ID_SZ];
  char tenant[EDV_STORE_ID_SZ];
  unsigned wave;
  char state[EDV_STORE_STEP_SZ];
  char from[EDV_STORE_VERSION_SZ];
  char to[EDV_STORE_VERSION_SZ];
  char error[EDV_STORE_ERR_SZ];
  int64_t started_ms, finished_ms;
} edv__update_tenant_rec;

/* A Monitoring incident, from edvd's intake of its webhook notifications
 * (fleet/incidents.c). `tenant` "" is a fleet-level one; `state` "open"
 * or "closed"; `ended_ms` 0 while open; `labels_json` {"resource": {},
 * "metric": {}, "user": {}} as the notification gave them. */
typedef struct edv__incident_rec {
  char id[EDV_STORE_INCID_SZ];
  char tenant[EDV_STORE_ID_SZ];
  char policy[EDV_STORE_RES_SZ];
  char alert[EDV_STORE_SMALL_SZ];
  char severity[EDV_STORE_STEP_SZ];
  char state[EDV_STORE_STEP_SZ];
  int64_t started_ms, ended_ms;
  char summary[EDV_STORE_ERR_SZ];
  char observed[EDV_STORE_SMALL_SZ];
  char threshold[EDV_STORE_SMALL_SZ];
  char url[EDV_STORE_RES_SZ];
  char metric_type[EDV_STORE_SLUG_SZ * 4];
  char resource_type[EDV_STORE_SLUG_SZ];
  char labels_json[EDV_STORE_LABELS_SZ];
  int64_t received_ms; /* set by the store on every put */
} edv__incident_rec;

/* Incident list filter: state "open", "closed" or NULL (both); tenant
 * NULL any, "" the fleet-level ones. Keyset pagination, newest first by
 * (started_ms, id): rows before (after_ms, after_id) when after_id is
 * set; at most limit (0: 100; max 1000). */
typedef struct edv__incident_filter {
  const char *state;
  const char *tenant;
  int64_t after_ms;
  const char *after_id;
  unsigned limit;
} edv__incident_filter;

/* How edv__store_tenant_put treats an existing row. */
typedef enum {
  EDV_PUT_UPSERT = 0, /* insert or replace the fields (created_ms kept) */
  EDV_PUT_CREATE = 1, /* EDV_EEXIST when the id exists */
  EDV_PUT_UPDATE = 2, /* EDV_ENOTFOUND when the id does not exist */
} edv__put_mode;

/* List filter; empty tier / phase -1 match everything. Keyset pagination:
 * rows with id > after (ordered by id), at most limit (0: 100; max 1000). */
typedef struct edv__tenant_filter {
  const char *tier;  /* NULL or "" for any */
  int phase;         /* edv_tenant_phase, or -1 for any */
  const char *after; /* NULL or "" to start at the beginning */
  unsigned limit;
} edv__tenant_filter;

typedef struct edv__step_rec {
  char tenant[EDV_STORE_ID_SZ];
  char step[EDV_STORE_STEP_SZ];
  edv_step_state state;
  unsigned attempt;                    /* 1 on the first try */
  char request_id[EDV_STORE_REQID_SZ]; /* "" when the call takes none */
  char op_name[EDV_STORE_OP_SZ];       /* operation to await, or "" */
  char op_kind[EDV_STORE_KIND_SZ];     /* "compute.zone", "sql", "dns", "lro" */
  char resource[EDV_STORE_RES_SZ];     /* resource the step manages */
  char error[EDV_STORE_ERR_SZ];        /* last error, or "" */
  int64_t started_ms;                  /* 0 when not started */
  int64_t finished_ms;                 /* 0 when not finished */
} edv__step_rec;

typedef struct edv__journal_rec {
  int64_t seq; /* assigned by the store, increasing */
  char tenant[EDV_STORE_ID_SZ];
  int64_t time_ms;                   /* 0 on append: the store's clock */
  char actor[EDV_STORE_SMALL_SZ];    /* "edvctl:alice", "edvd", "reconciler" */
  char event[EDV_STORE_SMALL_SZ];    /* "phase", "step.start", "api.call" */
  char step[EDV_STORE_STEP_SZ];      /* or "" */
  char api_call[EDV_STORE_SMALL_SZ]; /* "POST compute.instances.insert" */
  char operation[EDV_STORE_OP_SZ];   /* or "" */
  int64_t duration_ms;               /* or 0 */
  char error[EDV_STORE_ERR_SZ];      /* or "" */
} edv__journal_rec;

typedef struct edv__lease_rec {
  char tenant[EDV_STORE_ID_SZ];
  char holder[EDV_STORE_HOLDER_SZ];
  int64_t expires_ms;
} edv__lease_rec;

/* Called once per row by the list functions; the record is valid only
 * during the call. Return non-zero to stop early. Do not call the store
 * from inside. */
typedef int (*edv__tenant_fn)(void *data, const edv__tenant_rec *rec);
typedef int (*edv__step_fn)(void *data, const edv__step_rec *rec);
typedef int (*edv__journal_fn)(void *data, const edv__journal_rec *rec);
typedef int (*edv__release_fn)(void *data, const edv__release_rec *rec);
typedef int (*edv__update_fn)(void *data, const edv__update_rec *rec);
typedef int (*edv__update_tenant_fn)(void *data,
                                     const edv__update_tenant_rec *rec);
typedef int (*edv__tenant_count_fn)(void *data, const char *tier,
                                    edv_tenant_phase phase, uint64_t count);
typedef int (*edv__incident_fn)(void *data, const edv__incident_rec *rec);
typedef int (*edv__incident_count_fn)(void *data, const char *alert,
                                      const char *severity, uint64_t count);

typedef struct edv_store edv_store;

/*
 * The backend table. Every operation gets the store and an optional error;
 * all return 0 or an edv_code. A backend embeds `edv_store` and recovers
 * itself with container_of.
 */
typedef struct edv__store_ops {
  const char *name; /* "sqlite" */
  void (*close)(edv_store *st);
  int (*begin)(edv_store *st, edv_error *err);
  int (*commit)(edv_store *st, edv_error *err);
  int (*rollback)(edv_store *st, edv_error *err);
  int (*schema_version)(edv_store *st, int *version, edv_error *err);

  int (*tenant_put)(edv_store *st, const edv__tenant_rec *rec,
                    edv__put_mode mode, edv_error *err);
  int (*tenant_get)(edv_store *st, const char *id, edv__tenant_rec *out,
                    edv_error *err);
  int (*tenant_list)(edv_store *st, const edv__tenant_filter *filter,
                     edv__tenant_fn fn, void *data, char *next_after,
                     size_t next_size, edv_error *err);
  int (*tenant_delete)(edv_store *st, const char *id, edv_error *err);
  int (*tenant_next_generation)(edv_store *st, const char *id,
                                uint32_t *generation, edv_error *err);
  int (*tenant_counts)(edv_store *st, edv__tenant_count_fn fn, void *data,
                       edv_error *err);

  int (*step_put)(edv_store *st, const edv__step_rec *rec, edv_error *err);
  int (*step_get)(edv_store *st, const char *tenant, const char *step,
                  edv__step_rec *out, edv_error *err);
  int (*step_list)(edv_store *st, const char *tenant, edv__step_fn fn,
                   void *data, edv_error *err);
  int (*step_delete_all)(edv_store *st, const char *tenant, edv_error *err);

  int (*journal_append)(edv_store *st, const edv__journal_rec *rec,
                        int64_t *seq, edv_error *err);
  int (*journal_list)(edv_store *st, const char *tenant, int64_t after_seq,
                      unsigned limit, edv__journal_fn fn, void *data,
                      edv_error *err);

  int (*subnet_allocate)(edv_store *st, const char *tenant,
                         const edv_cidr *supernet, unsigned prefix,
                         const edv_cidr *reserved, size_t nreserved,
                         edv_cidr *out, edv_error *err);
  int (*subnet_get)(edv_store *st, const char *tenant, edv_cidr *out,
                    edv_error *err);
  int (*subnet_release)(edv_store *st, const char *tenant, edv_error *err);
  int (*subnet_count)(edv_store *st, size_t *count, edv_error *err);

  int (*lease_acquire)(edv_store *st, const char *tenant, const char *holder,
                       int64_t ttl_ms, edv__lease_rec *current, edv_error *err);
  int (*lease_renew)(edv_store *st, const char *tenant, const char *holder,
                     int64_t ttl_ms, edv_error *err);
  int (*lease_release)(edv_store *st, const char *tenant, const char *holder,
                       edv_error *err);
  int (*lease_get)(edv_store *st, const char *tenant, edv__lease_rec *out,
                   edv_error *err);

  int (*idem_check)(edv_store *st, const char *key, const char *hash,
                    const char *tenant, char *tenant_out, size_t tenant_size,
                    edv_error *err);
  int (*idem_prune)(edv_store *st, int64_t older_than_ms, edv_error *err);

  int (*release_put)(edv_store *st, const edv__release_rec *rec,
                     edv_error *err);
  int (*release_get)(edv_store *st, const char *version, edv__release_rec *out,
                     edv_error *err);
  int (*release_list)(edv_store *st, edv__release_fn fn, void *data,
                      edv_error *err);

  int (*update_put)(edv_store *st, const edv__update_rec *rec, edv_error *err);
  int (*update_get)(edv_store *st, const char *id, edv__update_rec *out,
                    edv_error *err);
  int (*update_list)(edv_store *st, edv__update_fn fn, void *data,
                     edv_error *err);
  int (*update_tenant_put)(edv_store *st, const edv__update_tenant_rec *rec,
                           edv_error *err);
  int (*update_tenants)(edv_store *st, const char *id, edv__update_tenant_fn fn,
                        void *data, edv_error *err);

  int (*incident_put)(edv_store *st, const edv__incident_rec *rec,
                      edv_error *err);
  int (*incident_get)(edv_store *st, const char *id, edv__incident_rec *out,
                      edv_error *err);
  int (*incident_list)(edv_store *st, const edv__incident_filter *filter,
                       edv__incident_fn fn, void *data, int *more,
                       edv_error *err);
  int (*incident_open_counts)(edv_store *st, edv__incident_count_fn fn,
                              void *data, edv_error *err);
  int (*incident_prune)(edv_store *st, int64_t closed_before_ms,
                        unsigned max_rows, edv_error *err);
} edv__store_ops;

#define EDV_STORE_MAGIC 0x45445653u /* "EDVS" */

/* The common head of every backend. */
struct edv_store {
  unsigned magic;               /* EDV_STORE_MAGIC while open */
  const edv__store_ops *ops;    /* the backend */
  int64_t (*clock)(void *data); /* milliseconds since the epoch */
  void *clock_data;
};

/* The default busy timeout of a write on the loop (ms). */
#define EDV_STORE_BUSY_TIMEOUT_MS 50

/* Options of edv__store_open_sqlite(); zero-initialise, then set. */
typedef struct edv__store_opts {
  const char *path;             /* database file; ":memory:" for tests */
  unsigned busy_timeout_ms;     /* 0: EDV_STORE_BUSY_TIMEOUT_MS */
  int synchronous_normal;       /* 1: PRAGMA synchronous=NORMAL (survives a
                                   process crash, may lose the last commits
                                   on power loss); 0: FULL (default) */
  int64_t (*clock)(void *data); /* NULL: wall clock */
  void *clock_data;
} edv__store_opts;

/*
 * Opens (creating it 0600 when missing) and migrates a SQLite store. The
 * file is refused when it belongs to another application (application_id)
 * or carries a newer schema than this build knows. On success *out is an
 * open store; close it with edv__store_close().
 */
int edv__store_open_sqlite(const edv__store_opts *opts, edv_store **out,
                           edv_error *err);

/* Closes and frees; NULL is a no-op. An open transaction is rolled back. */
void edv__store_close(edv_store *st);

/* Wall clock in ms since the epoch (the default clock). */
int64_t edv__store_wall_clock(void *data);

/* The store's current time. */
int64_t edv__store_now(edv_store *st);

/* The backend's name ("sqlite"). */
const char *edv__store_backend(const edv_store *st);

/* The schema version the store is at (after open: the latest). */
int edv__store_schema_version(edv_store *st, int *version, edv_error *err);

/* Write transactions; see the header comment. Nest as savepoints. */
int edv__store_begin(edv_store *st, edv_error *err);
int edv__store_commit(edv_store *st, edv_error *err);
int edv__store_rollback(edv_store *st, edv_error *err);

/*
 * Tenants. put stores rec (created_ms/updated_ms from the store's clock;
 * those fields of rec are ignored). It refuses with EDV_ECONFLICT a slug
 * used by another tenant, and an id or slug equal to another tenant's id
 * or slug (both become hostnames under one domain).
 */
int edv__store_tenant_put(edv_store *st, const edv__tenant_rec *rec,
                          edv__put_mode mode, edv_error *err);
int edv__store_tenant_get(edv_store *st, const char *id, edv__tenant_rec *out,
                          edv_error *err);
/*
 * Calls fn for each matching tenant in id order. When more rows follow the
 * page, copies the last id into next_after (else sets it to ""); pass it as
 * filter.after for the next page. next_after may be NULL.
 */
int edv__store_tenant_list(edv_store *st, const edv__tenant_filter *filter,
                           edv__tenant_fn fn, void *data, char *next_after,
                           size_t next_size, edv_error *err);
/* Deletes the tenant with its steps, subnet allocation and lease; the
 * journal is kept (history outlives the tenant). */
int edv__store_tenant_delete(edv_store *st, const char *id, edv_error *err);
/* Increments the tenant's SQL name generation and returns the new value
 * (Cloud SQL names cannot be reused for a week after deletion). */
int edv__store_tenant_next_generation(edv_store *st, const char *id,
                                      uint32_t *generation, edv_error *err);

/* Calls fn once per (tier, phase) pair that has tenants, with their number,
 * ordered by tier then phase: the "tenants by phase and tier" of
 * /api/infrastructure/status in one indexed query. */
int edv__store_tenant_counts(edv_store *st, edv__tenant_count_fn fn, void *data,
                             edv_error *err);

/* Steps, keyed by (tenant, step); the tenant must exist. put is an upsert
 * of every field. list is in first-insertion order. */
int edv__store_step_put(edv_store *st, const edv__step_rec *rec,
                        edv_error *err);
int edv__store_step_get(edv_store *st, const char *tenant, const char *step,
                        edv__step_rec *out, edv_error *err);
int edv__store_step_list(edv_store *st, const char *tenant, edv__step_fn fn,
                         void *data, edv_error *err);
int edv__store_step_delete_all(edv_store *st, const char *tenant,
                               edv_error *err);

/* Journal: append-only (the schema refuses UPDATE and DELETE). time_ms 0
 * means now; *seq (may be NULL) gets the entry's sequence number. list
 * returns entries with seq > after_seq in order, at most limit (0: all);
 * tenant NULL: every tenant's entries (a state export). */
int edv__store_journal_append(edv_store *st, const edv__journal_rec *rec,
                              int64_t *seq, edv_error *err);
int edv__store_journal_list(edv_store *st, const char *tenant,
                            int64_t after_seq, unsigned limit,
                            edv__journal_fn fn, void *data, edv_error *err);

/*
 * Subnets. allocate returns the tenant's existing range when it has one;
 * otherwise, in one write transaction, reads every taken range, picks the
 * lowest free /prefix of supernet that overlaps neither them nor
 * `reserved` (edv__cidr_alloc) and records it. The UNIQUE constraints on
 * the range and on the tenant make this safe across processes. EDV_EQUOTA
 * when the supernet is full.
 */
int edv__store_subnet_allocate(edv_store *st, const char *tenant,
                               const edv_cidr *supernet, unsigned prefix,
                               const edv_cidr *reserved, size_t nreserved,
                               edv_cidr *out, edv_error *err);
int edv__store_subnet_get(edv_store *st, const char *tenant, edv_cidr *out,
                          edv_error *err);
int edv__store_subnet_release(edv_store *st, const char *tenant,
                              edv_error *err);
int edv__store_subnet_count(edv_store *st, size_t *count, edv_error *err);

/*
 * Leases: one driver per tenant. acquire succeeds when there is no lease,
 * when it has expired, or when `holder` already holds it (then it is
 * extended), atomically in one statement; otherwise EDV_EBUSY and
 * *current (may be NULL) gets the lease in force. renew extends a lease
 * `holder` holds (EDV_EBUSY when someone else took it, EDV_ENOTFOUND when
 * there is none). release drops it when `holder` holds it.
 */
int edv__store_lease_acquire(edv_store *st, const char *tenant,
                             const char *holder, int64_t ttl_ms,
                             edv__lease_rec *current, edv_error *err);
int edv__store_lease_renew(edv_store *st, const char *tenant,
                           const char *holder, int64_t ttl_ms, edv_error *err);
int edv__store_lease_release(edv_store *st, const char *tenant,
                             const char *holder, edv_error *err);
int edv__store_lease_get(edv_store *st, const char *tenant, edv__lease_rec *out,
                         edv_error *err);

/*
 * Idempotency keys of the Management API. check records (key, hash,
 * tenant) and returns 0 when the key is new; EDV_EEXIST when it was seen
 * with the same request hash (a replay: tenant_out gets the tenant it
 * created); EDV_ECONFLICT when it was seen with a different request.
 * prune drops keys created before older_than_ms.
 */
int edv__store_idem_check(edv_store *st, const char *key, const char *hash,
                          const char *tenant, char *tenant_out,
                          size_t tenant_size, edv_error *err);
int edv__store_idem_prune(edv_store *st, int64_t older_than_ms, edv_error *err);

/*
 * Releases (store/sqlite_releases.c). put records a new one (created_ms
 * and seq from the store; with created_ms set, as an import does, that
 * time is kept): EDV_EEXIST when its version exists. get: EDV_ENOTFOUND
 * for none. list calls fn in creation order (oldest first). current: the
 * newest (EDV_ENOTFOUND when there is none): what new tenants run.
 */
int edv__store_release_put(edv_store *st, const edv__release_rec *rec,
                           edv_error *err);
int edv__store_release_get(edv_store *st, const char *version,
                           edv__release_rec *out, edv_error *err);
int edv__store_release_list(edv_store *st, edv__release_fn fn, void *data,
                            edv_error *err);
int edv__store_release_current(edv_store *st, edv__release_rec *out,
                               edv_error *err);

/*
 * Fleet updates (store/sqlite_updates.c). update_put inserts or replaces
 * an update by id (created_ms kept, updated_ms the store's clock);
 * update_get: EDV_ENOTFOUND for none; update_list: oldest first.
 * update_tenant_put inserts or replaces one tenant row of an update (the
 * update must exist); update_tenants lists them by wave, then tenant id.
 */
int edv__store_update_put(edv_store *st, const edv__update_rec *rec,
                          edv_error *err);
int edv__store_update_get(edv_store *st, const char *id, edv__update_rec *out,
                          edv_error *err);
int edv__store_update_list(edv_store *st, edv__update_fn fn, void *data,
                           edv_error *err);
int edv__store_update_tenant_put(edv_store *st,
                                 const edv__update_tenant_rec *rec,
                                 edv_error *err);
int edv__store_update_tenants(edv_store *st, const char *id,
                              edv__update_tenant_fn fn, void *data,
                              edv_error *err);

/*
 * Incidents (store/sqlite_incidents.c), keyed by id. put inserts or
 * updates every field (received_ms the store's clock), except that a
 * closed incident stays closed: an "open" put on it changes nothing
 * (a retried or late open notification). get: EDV_ENOTFOUND for none.
 * list calls fn newest first (started_ms, then id, descending) and sets
 * *more (may be NULL) when rows follow the page. open_counts calls fn
 * once per (alert, severity) with open incidents. prune deletes the
 * closed incidents received (closed, as far as edvd knows) before
 * closed_before_ms, then the oldest closed ones past max_rows rows in all
 * (open ones are never pruned). Receipt, not the incident's own times:
 * those are Monitoring's clock (a simulator's may be anywhere).
 */
int edv__store_incident_put(edv_store *st, const edv__incident_rec *rec,
                            edv_error *err);
int edv__store_incident_get(edv_store *st, const char *id,
                            edv__incident_rec *out, edv_error *err);
int edv__store_incident_list(edv_store *st, const edv__incident_filter *filter,
                             edv__incident_fn fn, void *data, int *more,
                             edv_error *err);
int edv__store_incident_open_counts(edv_store *st, edv__incident_count_fn fn,
                                    void *data, edv_error *err);
int edv__store_incident_prune(edv_store *st, int64_t closed_before_ms,
                              unsigned max_rows, edv_error *err);

/*
 * Copies the SQLite store at `src` into a new file `dst` (replaced
 * atomically, 0600) with SQLite's online backup API, on connections of its
 * own: a consistent image of one moment while the store's own connection
 * goes on writing. Blocks while it copies (store/snapshot.c): call it from
 * a work thread, never from the loop. 0, EDV_EBUSY, EDV_EIO or EDV_EINVAL.
 */
int edv__store_snapshot_file(const char *src, const char *dst, edv_error *err);

#endif /* EDV_STORE_H */
