/*
 * fleet/recon.h - the reconciler of a fleet (edv/fleet.h, "Reconciler"):
 * the pass that resumes interrupted tenants (recon.c), drift detection and
 * orphans (drift.c), health probes and auto-healing (heal.c). Its state
 * hangs on the fleet (edv_fleet.recon), made on first use.
 *
 * Passes call the cloud; their callbacks may come after the fleet closed
 * (the engine outlives it). The fleet's close detaches the reconciler
 * (fleet NULL, stopping set); every call in flight holds a reference
 * (edv__recon_hold/_release) and the last one frees it.
 */
#ifndef EDV_FLEET_RECON_H
#define EDV_FLEET_RECON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "fleet/fleet.h"

/* The list kinds of a drift pass and the kinds of orphans (drift.c). */
#define EDV_DRIFT_KINDS  10
#define EDV_ORPHAN_KINDS 7
extern const char *const edv__drift_kinds[EDV_DRIFT_KINDS];
extern const char *const edv__orphan_kinds[EDV_ORPHAN_KINDS];

/* What a drift pass judges, from the kinds' rows (tenant/kinds.h): each
 * kind it lists or reads by its title, with what it checks (existence,
 * then what the kind's diff compares), into buf (drift.c). */
void edv__drift_detection(char *buf, size_t size);

typedef struct edv__drift edv__drift;
typedef struct edv__heal edv__heal;

typedef struct edv__recon {
  edv_fleet *f; /* NULL once the fleet closed */
  /* The fleet's, while it is open (NULL after). */
  edv_engine *engine;
  edv_store *store;
  edv__tiers *tiers;
  edv__fleet *fleet;
  int stopping;  /* the fleet stops or closed: start nothing */
  unsigned refs; /* calls in flight (edv__recon_hold) */
  /* The settings (edv_reconciler_options). */
  int delete_orphans;
  uint64_t orphan_grace_ms;
  unsigned heal_after;
  unsigned heal_max_per_hour;
  uint64_t probe_timeout_ms;
  char probe_via[256];
  void (*audit)(void *data, json_object *line);
  void *audit_data;
  uint64_t reconcile_interval_ms, drift_interval_ms, health_interval_ms;
  /* The resume pass (recon.c). */
  uint64_t passes;
  int64_t last_pass_ms; /* wall clock of the last pass start */
  uint64_t last_pass_dur_ms;
  unsigned last_pass_started; /* runs it started */
  uint64_t runs_started;      /* every run the reconciler started */
  /* Drift detection (drift.c). */
  edv__drift *drift; /* the pass in flight, or NULL */
  uint64_t drift_passes, drift_repairs;
  unsigned drift_last_calls;
  uint64_t drift_last_ms;
  json_object *vm_zones; /* VM name -> zone, from the last drift pass */
  json_object *orphans;  /* [{kind, name, tenant}] of the last pass */
  unsigned drift_calls_by_kind[EDV_DRIFT_KINDS]; /* last pass's pages */
  unsigned orphan_counts[EDV_ORPHAN_KINDS];      /* last pass's orphans */
  unsigned drift_last_drifted; /* tenants drifted in the last pass */
  uint64_t orphans_deleted;    /* deletions that succeeded */
  json_object *drift_state;    /* tenant -> back-off of an unresolved drift */
  json_object *orphans_asked;  /* "kind/name" -> pass its deletion was asked */
  json_object *orphans_seen;   /* "kind/name" -> wall ms first seen */
  /* Health probes and auto-healing (heal.c). */
  edv__heal *heal; /* probe queue, per-tenant state, figures */
  uint64_t heal_probes, heal_unhealthy, heal_resets, heal_degraded;
} edv__recon;

/* The fleet's reconciler, made on first use (defaults set); NULL on
 * ENOMEM or once the fleet is closing. */
edv__recon *edv__recon_get(edv_fleet *f);

/* The fleet stops (no new pass) or closes (detached: freed by the last
 * call in flight). */
void edv__recon_stop(edv_fleet *f);
void edv__recon_detach(edv_fleet *f);

/* A call in flight holds the reconciler; its callback releases it (last
 * thing it does: the reconciler may be freed). */
void edv__recon_hold(edv__recon *d);
void edv__recon_release(edv__recon *d);

/* Drives `id` in `dir` for the reconciler (counted, logged), `cb` (or
 * NULL) told of the run's end; EDV_EBUSY when this fleet already drives
 * it. */
int edv__recon_drive(edv__recon *d, const char *id, edv__direction dir,
                     edv_fleet_cb cb, void *data, edv_error *err);
/* Appends a journal line of the reconciler's `actor` ("reconciler",
 * "healer"); nothing once the fleet closed. */
void edv__recon_journal(edv__recon *d, const char *actor, const char *tenant,
                        const char *event, const char *what, const char *error);
/* 1 while this fleet drives `id`. */
int edv__recon_driven(edv__recon *d, const char *id);

/* Appends printf output to a growing buffer; 0 or -1 (ENOMEM). */
int edv__recon_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* drift.c: the drift pass (edv_fleet_drift_pass). */
int edv__drift_pass(edv__recon *d);
/* heal.c: a probe round (edv_fleet_heal_pass), the state's end, and the
 * figures (added to `rc`; Prometheus text, malloc'd, NULL on ENOMEM). */
void edv__heal_pass(edv__recon *d);
void edv__heal_free(edv__recon *d);
json_object *edv__heal_status(edv__recon *d, json_object *rc);
char *edv__heal_prometheus(edv__recon *d);

#endif /* EDV_FLEET_RECON_H */
