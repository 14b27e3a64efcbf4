/*
 * pharness.h - a fleet through the public API only (include/edv/), on one
 * uv loop against the in-process edv-gcpsim, for the integration tests
 * that drive the library the way an embedder does.
 *
 * ph_open() makes a temporary state directory, starts the simulator (fast
 * profile), writes its key and opens an engine with the test's settings
 * (quick retries, client-side limits out of the way). ph_fleet_open() opens
 * an edv_fleet on that directory; answers are waited for with ph_ans and
 * ph_wait(). ph_admin() and ph_api() ask the simulator's /_sim/ API and the
 * cloud APIs synchronously, for the tests' checks.
 *
 * Only public headers here: tharness.h (the internal harness) builds on
 * ph_engine_config() and ph_call() instead of repeating them.
 */
#ifndef EDV_TESTS_PHARNESS_H
#define EDV_TESTS_PHARNESS_H

#include <json-c/json.h>
#include <uv.h>

#include "edv/config.h"
#include "edv/engine.h"
#include "edv/fleet.h"
#include "edv/sim.h"

typedef struct ph {
  uv_loop_t loop;
  edv_sim *sim;
  edv_engine *engine;
  edv_config *cfg; /* the fleets' configuration: tiers of the source tree */
  char dir[256];
  char key[320];
  char base[128]; /* the simulator's base URL */
} ph;

/* An answer of the library, waited for on the loop. */
typedef struct ph_ans {
  int done;
  json_object *a; /* a reference of ours (put it), or NULL */
  edv_error err;
} ph_ans;

void ph_open(ph *p);
/* Closes the engine and simulator, asserts the loop closes clean and
 * removes the directory (TH_KEEP=1 keeps it). */
void ph_close(ph *p);

/* The simulator on `loop` (profile NULL: "fast"; seed 42), its base URL in
 * `base` and a key it trusts written in `dir`, named in `key`. */
edv_sim *ph_sim_start(uv_loop_t *loop, const char *profile, const char *dir,
                      char base[128], char key[320]);

/* The engine's configuration the harnesses use against `base` with `key`
 * (caller frees). */
edv_config *ph_engine_config(const char *base, const char *key);

/* A fleet on `dir` (NULL: p->dir) with `cfg` (NULL: p->cfg); the test
 * fails if it does not open. */
edv_fleet *ph_fleet_open(ph *p, const char *dir, edv_config *cfg,
                         const char *actor);
void ph_fleet_close(ph *p, edv_fleet *f);
/* The same on any engine and loop (the internal harness's too). */
edv_fleet *ph_fleet_at(edv_engine *engine, const char *dir, edv_config *cfg,
                       const char *actor);
void ph_fleet_end(uv_loop_t *loop, edv_fleet *f);

/* edv_fleet_cb and edv_fleet_close's callback for a ph_ans. */
void ph_on_ans(void *data, json_object *a, const edv_error *err);
void ph_on_closed(void *data);
/* Runs `loop` until x is answered. */
void ph_wait(uv_loop_t *loop, ph_ans *x);
/* The platform of f, driven to READY (asserted). */
void ph_platform(ph *p, edv_fleet *f);

/* A string member of o, or NULL. */
const char *ph_js(json_object *o, const char *k);

/* One synchronous call through `engine` on `loop`: api EDV_API_OTHER sends
 * `path` (a whole URL) without credentials; others are the cloud APIs.
 * Puts `body`; returns the parsed answer (caller puts) or NULL. */
json_object *ph_call(uv_loop_t *loop, edv_engine *engine, edv_api api,
                     const char *method, const char *path, json_object *body);
/* The simulator's /_sim/ API (GET when body is NULL, else POST). */
json_object *ph_admin(ph *p, const char *method, const char *path,
                      json_object *body);
/* A cloud API call (as the fleet would send it). */
json_object *ph_api(ph *p, edv_api api, const char *method, const char *path,
                    json_object *body);
/* The simulator's resource named exactly `name` (caller puts), or NULL. */
json_object *ph_res(ph *p, const char *name);
/* The resource named exactly `name` in a /_sim/state answer (a new
 * reference), or NULL; puts `state`. */
json_object *ph_find(json_object *state, const char *name);
/* Requests that changed something (not GET, not the simulator's own API,
 * tokens or metadata) in the simulator's request log so far; the test
 * fails if the log's ring has wrapped (the count would be short). */
unsigned long ph_mutations(ph *p);
/* 1 when a simulator method id only reads (waits, health, policies read,
 * gets and lists sent as POST): the rule of both harnesses' counts. */
int ph_read_like(const char *method_id);
/* A loopback TCP port nobody listens on now (for a program whose address
 * must be known before it starts), or -1. */
int ph_free_port(void);

#endif /* EDV_TESTS_PHARNESS_H */
