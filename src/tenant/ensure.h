/*
 * ensure.h - a step's resource as data: where it lives, how it is made,
 * checked and removed (tenant/ensure.c).
 *
 * Most steps manage one resource through edv__step_ensure(). Their
 * paths, messages and labels differ only in a few names, so each is
 * described once by an edv__res (a tenant's resource by its row of the
 * kinds table): paths are templates in which {P} is the project, {R} the
 * step's region, {Z} its zone and {N} the resource's name (given per
 * call: a tenant's names depend on its id).
 */
#ifndef EDV_TENANT_ENSURE_H
#define EDV_TENANT_ENSURE_H

#include <stddef.h>

#include "tenant/kinds.h"
#include "tenant/machine.h"

typedef struct edv__res {
  edv_api api;
  const char *kind;       /* "subnetwork": messages say "subnetwork 'x'" */
  const char *path;       /* the resource's path (template) */
  const char *collection; /* where a create POSTs (template) */
  const char *create;     /* "compute.subnetworks.insert" */
  const char *remove;     /* "compute.subnetworks.delete", or NULL */
  edv__own_mode own;
  json_object *(*build)(edv__srun *sr);            /* NULL: the row's build */
  void (*verify)(edv__srun *sr, json_object *res); /* NULL: done */
  int (*ready)(edv__srun *sr, json_object *res);   /* optional */
  int (*name_taken)(edv__srun *sr, const edv_error *err); /* optional */
  /* A tenant kind: its row of the kinds table (tenant/kinds.h) gives the
   * API, the kind's title, the path, the create path and label, the
   * delete label, the ownership mode and the create body (its build, with
   * edv__srun_kind_ctx), and api, kind, path, collection, create, remove,
   * own and build stay unset. */
  const edv__kind *row;
} edv__res;

/* Expands a path template for this step; 0, or -1 when it does not fit. */
int edv__res_path(edv__srun *sr, const char *tmpl, const char *name, char *out,
                  size_t size);

/* edv__step_ensure() of resource `r` named `name`. */
void edv__step_ensure_res(edv__srun *sr, const edv__res *r, const char *name);
/* The same for the i-th resource of a per-host kind (its row's build
 * makes host i's body). */
void edv__step_ensure_res_at(edv__srun *sr, const edv__res *r, const char *name,
                             unsigned i);

/*
 * What the kinds' diffs and builds of this step's tenant compare against
 * and build from (tenant/kinds.h): its tier, id, hostnames (without the
 * root dot), region, zone and generation, the fleet's project and
 * network, and the facts recorded so far (cidr, db_ip, backend_link,
 * lb_ip). ctx->hosts points into ctx itself: not to be copied.
 */
void edv__srun_kind_ctx(edv__srun *sr, edv__kind_ctx *ctx);

/* edv__step_ensure_absent() of resource `r` named `name`. */
void edv__step_ensure_res_absent(edv__srun *sr, const edv__res *r,
                                 const char *name);

#endif /* EDV_TENANT_ENSURE_H */
