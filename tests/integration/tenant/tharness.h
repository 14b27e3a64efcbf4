/*
 * tharness.h - a tenant fleet on one uv loop against edv-gcpsim, for the
 * tenant machine's integration tests and benchmark.
 *
 * th_open() starts the simulator in-process on the harness's own loop (fast
 * profile) unless an external endpoint is given, then the engine, a SQLite
 * store in a fresh temporary directory, the tiers of the source tree and a
 * fleet with test-sized timings. Everything else is synchronous for the
 * test: th_drive_all() runs the loop until every run ended; th_admin() asks
 * the simulator's /_sim/ API and returns the parsed answer.
 *
 * The request tap counts what the simulator answered, by status, straight
 * from its request log ring (read on every loop turn, so nothing is lost
 * when more than the ring's 4,096 entries go by); it works only with the
 * in-process simulator.
 *
 * Debugging knobs (environment): TH_VERBOSE=1 prints step retries and
 * failures, TH_TRACE=1 every step's completion with its duration, TH_READS=1
 * a histogram of the simulator's requests by method at close, TH_KEEP=1
 * keeps the temporary directory (store, keys), TH_SEED=N repeats a random
 * crash run.
 */
#ifndef EDV_TESTS_THARNESS_H
#define EDV_TESTS_THARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <uv.h>

#include "edv/engine.h"
#include "edv/sim.h"
#include "store/store.h"
#include "tenant/machine.h"
#include "tenant/tiers.h"

typedef struct th_opts {
  const char *endpoint;  /* external simulator; NULL: start one in-process */
  const char *key_file;  /* with endpoint: a key the simulator trusts */
  const char *dir;       /* state directory; NULL: a new temporary one */
  const char *profile;   /* in-process simulator profile; NULL: "fast" */
  unsigned max_attempts; /* fleet: 0 = 12 */
  uint64_t lease_ttl_ms; /* fleet: 0 = the machine's default */
  uint64_t poll_ms;      /* fleet: 0 = 50 */
  int quiet_tap;         /* 1: no tap (external simulator) */
} th_opts;

typedef struct th_counts {
  unsigned long total;     /* API requests (admin and token excluded) */
  unsigned long mutations; /* non-GET requests that change something */
  unsigned long polls;     /* operation reads and waits */
  unsigned long reads;     /* other GETs and read-like POSTs */
  unsigned long st409, st412, st429, st403, st5xx, st404, other4xx;
  unsigned long dropped; /* answers dropped after apply (fault) */
} th_counts;

struct sim_logent;
/* Counts one entry of the simulator's request log into c by kind and
 * status (the tap's rule); 0 when it is not an API call (admin, token,
 * metadata). For a tap of one's own on another loop. */
int th_count_request(th_counts *c, const struct sim_logent *e);

typedef struct th {
  uv_loop_t loop;
  edv_sim *sim;
  edv_engine *engine;
  edv_store *store;
  edv__tiers *tiers;
  edv__fleet *fleet;
  char dir[256];
  char key[320];
  char base[128]; /* the simulator's base URL */
  int own_dir;    /* we made dir: remove it at close */
  uv_check_t tap;
  int tap_on;
  size_t tap_cursor;
  th_counts counts;
  unsigned runs;                    /* runs in flight */
  unsigned ended[EDV_PHASE__COUNT]; /* runs that ended, by final phase */
  char last_err[1024];              /* the last run error, formatted */
  unsigned long events_retry;       /* step retries seen */
  /* Optional event hook (crash tests kill themselves on one). */
  edv__event_fn hook;
  void *hook_data;
} th;

/* 0 on success; the test fails loudly otherwise (cmocka asserts). */
void th_open(th *h, const th_opts *o);
/* Closes the fleet, engine, simulator and store; removes the temporary
 * directory when th_open made it; asserts the loop closes clean. */
void th_close(th *h);

/* Fills a valid spec: slug "<id>-s", display name, tier, region. */
void th_spec(edv__tenant_spec *s, const char *id, const char *tier,
             const char *region);

/* Registers a tenant; returns the edv_code (err filled). */
int th_register(th *h, const char *id, const char *tier, edv_error *err);

/* Starts driving `id` in `dir`; returns the edv_code. */
int th_drive(th *h, const char *id, edv__direction dir, edv_error *err);
/* Runs the loop until every run has ended (or `timeout_ms` real time
 * passed: then returns -1). */
int th_wait(th *h, uint64_t timeout_ms);

/* The platform, driven to READY (asserted). */
void th_platform(th *h);

/* The tenant's phase in the store, or -1. */
int th_phase(th *h, const char *id);

/* Synchronous /_sim/ call (GET when body is NULL, else POST); returns the
 * parsed JSON (caller puts) or NULL on error. DELETE with method. */
json_object *th_admin(th *h, const char *method, const char *path,
                      json_object *body);
/* Resources whose canonical name contains `needle` (every kind). */
json_object *th_state_all(th *h);

/* Raises the simulator's quotas (CPUs, disks, instances, ...) for n
 * tenants. */
void th_raise_quotas(th *h, unsigned n);

/* Wall clock ms (monotonic). */
uint64_t th_now_ms(void);

/* A synchronous authenticated API call (for checks such as
 * instanceGroups.listInstances); returns the parsed JSON or NULL. */
json_object *th_api(th *h, edv_api api, const char *method, const char *path,
                    json_object *body);
/* The simulator's resource named exactly `name` (a new reference), or
 * NULL. */
json_object *th_res(th *h, const char *name);
/* How many resources' canonical names contain `needle`; with `names`
 * (may be NULL), appends them. */
unsigned th_count_names(json_object *state, const char *needle,
                        json_object *names);

/*
 * A tenant's footprint in a /_sim/state dump: {kind: count} of every
 * resource whose name belongs to tenant `id` (a path segment "edv-<id>",
 * "edv-<id>-...", "edv-<id>@...", or a DNS name of <id> or <slug> under
 * the domain). New object.
 */
json_object *th_footprint(json_object *state, const char *id, const char *slug);
/* 1 when a canonical resource name belongs to tenant `id` (as above). */
int th_name_is_tenant(const char *name, const char *id, const char *slug);
/* How many resources of `kind` a READY tenant has (0: none). */
int th_footprint_want(const char *kind);
/* Compares a footprint with what a READY tenant has (ready = 1; `alias`:
 * the tenant has a slug hostname) or with nothing (ready = 0). Returns 0,
 * or -1 with `why` saying what differs. */
int th_footprint_check(json_object *fp, int ready, char *why, size_t size);
/* Host rules and path matchers of tenant `id` in the URL map, or -1 when
 * there is no URL map. */
int th_urlmap_rules(th *h, const char *id, json_object *map);

/* ---- An edv-gcpsim child process -------------------------------------
 *
 * For tests that kill -9 the process driving the fleet: the cloud must
 * outlive it. $EDV_BUILD_ROOT/edv-gcpsim with its state file and key in
 * `dir`, fast profile, seed 7. */
typedef struct th_simproc {
  pid_t pid; /* -1 when not running */
  char url[128];
  char key[320];
} th_simproc;

void th_simproc_start(th_simproc *p, const char *dir);
void th_simproc_stop(th_simproc *p);
/* th_open options against it, `dir` as the state directory. */
void th_simproc_opts(const th_simproc *p, const char *dir, th_opts *o);
/* Runs edvctl ($EDV_BUILD_ROOT/src/cli/edvctl) against the simulator
 * child with state directory DIR/cli; kills it after kill_ms (0: never)
 * with `sig`. Returns its exit code, or -SIG when a signal ended it; its
 * stdout and stderr land in `out` and `errout` (either may be NULL). */
int th_edvctl(const th_simproc *sp, const char *dir, unsigned kill_ms, int sig,
              char *out, size_t outsize, char *errout, size_t errsize,
              const char *const *args);
/* Removes a directory tree (unless TH_KEEP is set). */
void th_rmtree(const char *dir);

#endif /* EDV_TESTS_THARNESS_H */
