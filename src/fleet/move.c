/*
 * move.c - a tenant's move to another region (edv_tenant_move): a planned
 * move through the old instance's final backup, or a failover from the
 * newest backup kept outside an old region that is down
 * (EDV_FLEET_LATEST_BACKUP). The tenant machine carries it out
 * (tenant/machine.c, "region move").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/dayops.h"
#include "fleet/fleet.h"
#include "fleet/tenants.h"

typedef struct move_op {
  edv_fleet *f;
  edv_fleet_cb cb;
  void *data;
  unsigned flags;
  char id[EDV_STORE_ID_SZ];
  char from[EDV_REGION_MAX + 1];
  char region[EDV_REGION_MAX + 1];
  char actor[EDV_STORE_SMALL_SZ];
  char sql[128]; /* the tenant's Cloud SQL instance now */
  unsigned generation;
  char cidr[EDV_CIDR_STRLEN + 1];
} move_op;

static void move_end(move_op *op, const edv_error *err)
{
  op->cb(op->data, NULL, err);
  free(op);
}

/* Records the move (a failover's with `failover`, its record's JSON),
 * journals it and drives the tenant (down out of the old region, up in
 * the new one). */
static void move_start(move_op *op, const char *failover, const char *what)
{
  edv_error err;

  if (edv__fleet_move(op->f->machine, op->id, op->region, failover, &err) ==
      0) {
    edv__tenants_journal(op->f, op->actor, op->id, "move", what, NULL);
    if (edv__tenants_drive(op->f, op->id, EDV_DIR_UP, op->flags, op->cb,
                           op->data, &err) == 0) {
      free(op);
      return;
    }
  }
  move_end(op, &err);
}

/* The newest SUCCESSFUL backup run of the old instance kept outside the
 * old region: the failover's data. */
static void move_on_runs(void *data, const edv_response *res)
{
  move_op *op = data;
  json_object *items = res->error ? NULL : edv__jget(res->json, "items");
  json_object *best = NULL, *fo;
  char name[EDV_STORE_RES_SZ], what[EDV_STORE_RES_SZ + 64];
  edv_error err;

  if (res->error) {
    edv_error_set(&err, EDV_EUNAVAIL,
                  "cannot list the backups of Cloud SQL instance '%s': %s",
                  op->sql, res->error->message);
    move_end(op, &err);
    return;
  }
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *r = json_object_array_get_idx(items, i);
    const char *st = edv__jstr(r, "status"), *loc = edv__jstr(r, "location");
    const char *t = edv__jstr(r, "startTime"), *id = edv__jstr(r, "id");

    if (!st || strcmp(st, "SUCCESSFUL") != 0 || !loc || !*loc ||
        strcmp(loc, op->from) == 0 || !t || !id || strchr(id, '/'))
      continue;
    if (!best || strcmp(t, edv__jstr(best, "startTime")) > 0)
      best = r;
  }
  if (!best) {
    edv_error_set(&err, EDV_EPRECONDITION,
                  "tenant '%s': Cloud SQL instance '%s' has no successful "
                  "backup kept outside %s: nothing to fail over from",
                  op->id, op->sql, op->from);
    move_end(op, &err);
    return;
  }
  snprintf(name, sizeof(name), "projects/%.100s/instances/%s/backupRuns/%.64s",
           edv__fleet_project(op->f->machine), op->sql, edv__jstr(best, "id"));
  fo = json_object_new_object();
  json_object_object_add(fo, "backup", json_object_new_string(name));
  json_object_object_add(fo, "from", json_object_new_string(op->from));
  json_object_object_add(fo, "generation",
                         json_object_new_int64((int64_t)op->generation));
  json_object_object_add(fo, "cidr", json_object_new_string(op->cidr));
  snprintf(what, sizeof(what), "%s -> %s from backup run %s (%s, %s)", op->from,
           op->region, edv__jstr(best, "id"), edv__jstr(best, "location"),
           edv__jstr(best, "startTime"));
  move_start(op, json_object_to_json_string_ext(fo, JSON_C_TO_STRING_PLAIN),
             what);
  json_object_put(fo);
}

/* The tenant's own region, asked: a plain move needs it up (its final
 * backup is taken there); a failover does not, and lists the backups. */
static void move_on_from(void *data, const edv_response *res)
{
  move_op *op = data;
  const char *status = res->error ? NULL : edv__jstr(res->json, "status");
  char path[EDV_STORE_RES_SZ + 128], what[2 * EDV_REGION_MAX + 8];
  edv_request rq;
  edv_error err;

  if (!(op->flags & EDV_FLEET_LATEST_BACKUP)) {
    if (!status || strcmp(status, "UP") != 0) {
      edv_error_set(&err, EDV_EPRECONDITION,
                    "tenant '%s': its region %s is %s%s: a move takes its "
                    "final backup there; `edvctl tenant move %s --region %s "
                    "--from-latest-backup` brings it up in %s from its newest "
                    "backup kept outside %s instead (what was written since "
                    "that backup is lost)",
                    op->id, op->from, status ? status : "unavailable: ",
                    status ? "" : res->error->message, op->id, op->region,
                    op->region, op->from);
      move_end(op, &err);
      return;
    }
    snprintf(what, sizeof(what), "%s -> %s", op->from, op->region);
    move_start(op, NULL, what);
    return;
  }
  snprintf(path, sizeof(path),
           "/sql/v1beta4/projects/%s/instances/%s/backupRuns?maxResults=100",
           edv__fleet_project(op->f->machine), op->sql);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_SQLADMIN;
  rq.method = "GET";
  rq.path = path;
  rq.label = "sql.backupRuns.list";
  rq.timeout_ms = 20000;
  if (edv_call_submit(op->f->engine, &rq, move_on_runs, op, NULL)) {
    edv_error_set(&err, EDV_EUNAVAIL, "cannot list the backups now");
    move_end(op, &err);
  }
}

/* The target region exists and is up: the tenant's own is asked next. */
static void move_on_region(void *data, const edv_response *res)
{
  move_op *op = data;
  const char *status = res->error ? NULL : edv__jstr(res->json, "status");
  edv_error err;

  if (res->error && res->error->code == EDV_ENOTFOUND)
    edv_error_set(&err, EDV_EINVAL,
                  "field 'region': '%s' is not a region of project '%s'",
                  op->region, edv__fleet_project(op->f->machine));
  else if (res->error)
    edv_error_set(&err, EDV_EUNAVAIL, "cannot check region '%s': %s",
                  op->region, res->error->message);
  else if (status && strcmp(status, "UP") != 0)
    edv_error_set(&err, EDV_EPRECONDITION, "field 'region': region '%s' is %s",
                  op->region, status);
  else if (edv__tenants_region_get(op->f, op->from, move_on_from, op) == 0)
    return;
  else
    edv_error_set(&err, EDV_EUNAVAIL, "cannot check region '%s' now", op->from);
  move_end(op, &err);
}

int edv_tenant_move(edv_fleet *f, const char *id, const char *region,
                    unsigned flags, edv_fleet_cb cb, void *data, edv_error *err)
{
  edv__tenant_rec rec;
  edv__tenant_spec spec;
  edv_cidr range;
  char left[EDV_REGION_MAX + 1];
  move_op *op;
  int result;

  if (!cb)
    return edv_error_set(err, EDV_EINVAL, "a callback is needed");
  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if ((result = edv__spec_check_region(region, err)) != 0 ||
      (result = edv__tenants_rec_spec(&rec, &spec, err)) != 0)
    return result;
  if (strcmp(spec.region, region) == 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'region': tenant '%s' is already in %s", rec.id,
                         region);
  if (rec.phase != EDV_PHASE_READY || edv__fleet_run_find(f, rec.id))
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' is %s%s: only a READY tenant can be "
                         "moved",
                         rec.id, edv__phase_name(rec.phase),
                         rec.phase == EDV_PHASE_READY ? " with a run in flight"
                                                      : "");
  if (edv__dayops_busy(f, rec.id))
    return edv_error_set(err, EDV_EBUSY,
                         "tenant '%s' has a backup or restore running; "
                         "move it once that ends",
                         rec.id);
  {
    edv__vmgen g;
    if (edv__vmgen_get(f->store, rec.id, &g, NULL) == 0 && g.pending)
      return edv_error_set(err, EDV_ECONFLICT,
                           "tenant '%s' is changing to release %s; move it "
                           "once that ends",
                           rec.id, g.to);
  }
  if (edv__fleet_retire_pending(f->machine, rec.id, left, sizeof(left)))
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s' still has resources in %s, left by its "
                         "failover, to retire once that region answers (the "
                         "reconcile pass does it); move it after that",
                         rec.id, left);
  if (!(op = calloc(1, sizeof(*op))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  op->f = f;
  op->cb = cb;
  op->data = data;
  op->flags = flags;
  snprintf(op->id, sizeof(op->id), "%s", rec.id);
  snprintf(op->from, sizeof(op->from), "%s", spec.region);
  snprintf(op->region, sizeof(op->region), "%s", region);
  op->generation = rec.generation;
  edv__name_sql_instance(rec.id, rec.generation, op->sql, sizeof(op->sql));
  if (edv__store_subnet_get(f->store, rec.id, &range, NULL) == 0)
    edv__cidr_format(&range, op->cidr, sizeof(op->cidr));
  edv__tenants_actor(f, op->actor, sizeof(op->actor));
  if (edv__tenants_region_get(f, region, move_on_region, op)) {
    free(op);
    return edv_error_set(err, EDV_EUNAVAIL, "cannot check the region now");
  }
  return 0;
}
