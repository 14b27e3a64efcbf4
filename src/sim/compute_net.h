/*
 * compute_net.h - shared by compute_net.c and compute_lb.c only: the
 * collection descriptor that drives the generic insert/get/list/delete/
 * patch/update/setLabels handlers, plus the validation helpers both files
 * use. Other modules use compute_int.h.
 */
#ifndef EDV_SIM_COMPUTE_NET_H
#define EDV_SIM_COMPUTE_NET_H

#include <stdint.h>

#include "sim/sim.h"

enum {
  SIM_NET_REGIONAL = 1u << 0,    /* lives under regions/{region} */
  SIM_NET_FINGERPRINT = 1u << 1, /* `fingerprint`, checked on patch/update */
  SIM_NET_LABELS = 1u << 2,      /* `labels` + `labelFingerprint` */
};

/*
 * Validates and completes a resource before its operation starts: res is
 * the new resource (body plus output fields, or the merged result of a
 * patch/update), old the stored one (NULL on insert). Fills in defaults,
 * rewrites references to full links. Returns 0, or -1 with resp filled.
 */
typedef int (*sim_net_validate_fn)(sim *s, sim_resp *resp, json_object *res,
                                   json_object *old, const char *region);
/*
 * Runs in the insert operation's apply, just before the resource is
 * stored: allocates what must not race (addresses) and re-checks what
 * another operation may have taken meanwhile. Returns 0, or -1 after
 * sim_op_fail() (the resource is then not stored).
 */
typedef int (*sim_net_commit_fn)(sim *s, sim_op *op, json_object *res);
/* Runs after a resource was stored (insert) or deleted. */
typedef void (*sim_net_hook_fn)(sim *s, json_object *res);
/* The quota metric a resource counts against (NULL: none). */
typedef const char *(*sim_net_quota_fn)(json_object *res);

typedef struct sim_net_coll {
  const char *coll;      /* discovery resource: "globalAddresses" */
  const char *seg;       /* URL segment: "addresses" */
  const char *param;     /* path parameter naming one: "address" */
  const char *noun;      /* in-use messages: "The address resource ..." */
  const char *kind;      /* "compute#address" */
  const char *list_kind; /* "compute#addressList" */
  const char *schema;    /* request schema: "Address" */
  const char *quota;     /* metric, or NULL (see quota_fn) */
  unsigned flags;        /* SIM_NET_* */
  const char *const *immutable; /* fields patch/update may not change */
  sim_net_validate_fn validate;
  sim_net_commit_fn commit;
  sim_net_hook_fn on_insert;
  sim_net_hook_fn on_delete;
  sim_net_quota_fn quota_fn;
} sim_net_coll;

/* A collection by discovery resource name ("urlMaps"), or NULL. */
const sim_net_coll *sim_net_coll_find(const char *coll);

/*
 * For handlers of custom verbs: the stored resource the request names
 * (borrowed; full gets its canonical name, *region the region or NULL),
 * or NULL with resp filled (404).
 */
json_object *sim_net_lookup(sim *s, sim_req *req, sim_resp *resp,
                            const sim_net_coll *c, const char *param,
                            char *full, size_t n, const char **region);
/*
 * Starts an operation that replaces the stored resource `full` with res
 * (takes ownership) when it completes, bumping its fingerprint; answers
 * with the operation. op_type: "patch", "setUrlMap", ...
 */
int sim_net_start_replace(sim *s, sim_req *req, sim_resp *resp,
                          const sim_net_coll *c, const char *full,
                          const char *region, json_object *res,
                          const char *op_type);
/* 412 conditionNotMet unless body[field] equals old[field]. */
int sim_net_check_fingerprint(sim_resp *resp, json_object *body,
                              json_object *old, const char *field);

/* Custom verbs served by compute_lb.c. */
int sim_net_set_certificate_map(sim *s, sim_req *req, sim_resp *resp);
int sim_net_set_url_map(sim *s, sim_req *req, sim_resp *resp);
int sim_net_set_target(sim *s, sim_req *req, sim_resp *resp);
/* Allocates a free address of 203.0.113.0/24 (global) or 198.51.100.0/24
 * (regional) into buf (>= 16); -1 when all 254 are taken. */
int sim_net_alloc_external(sim *s, int global, char *buf);

/* compute_lb.c's collections (health checks to forwarding rules). */
extern const sim_net_coll sim_net_lb_colls[];
extern const size_t sim_net_lb_ncolls;

/* --- helpers (compute_net.c) ------------------------------------------- */

/* 400 invalid: "Invalid value for field 'resource.F': 'V'. <why>". */
int sim_net_invalid(sim_resp *resp, const char *field, const char *value,
                    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* 400 required: "Required field 'resource.F' not specified". */
int sim_net_required(sim_resp *resp, const char *field);
/* The string field, or NULL when absent, null or not a string. */
const char *sim_net_str(json_object *obj, const char *field);
/*
 * Resolves the reference in obj[field] (where `at` names it in messages),
 * checks that it names an existing resource of collection seg ("networks",
 * "healthChecks"; NULL: any), rewrites it to Google's full link and
 * returns the canonical name (malloc'd). NULL with resp filled: 404
 * notFound for a missing resource, 400 for a reference to another
 * collection. required: absent is an error too (else NULL, resp untouched:
 * check *absent).
 */
char *sim_net_ref(sim *s, sim_resp *resp, json_object *obj, const char *field,
                  const char *at, const char *seg, int required, int *absent);
/* Checks obj[field] against values (NULL-terminated); sets def when
 * absent (def NULL: leaves it absent). */
int sim_net_enum(sim_resp *resp, json_object *obj, const char *field,
                 const char *at, const char *const *values, const char *def);
/* Checks an integer in [lo, hi]; sets def when absent. *out gets it. */
int sim_net_int(sim_resp *resp, json_object *obj, const char *field,
                const char *at, long lo, long hi, long def, long *out);

/* IPv4 CIDR: 0 and the parts, or -1 when not a.b.c.d/p. */
int sim_net_cidr(const char *text, uint32_t *addr, int *prefix);
/* 1 when the two ranges overlap. */
int sim_net_overlap(uint32_t a, int ap, uint32_t b, int bp);
/* "a.b.c.d" into buf (>= 16). */
const char *sim_net_ip_str(uint32_t ip, char *buf);
/* 0 and the address, or -1. */
int sim_net_ip(const char *text, uint32_t *ip);

#endif /* EDV_SIM_COMPUTE_NET_H */
