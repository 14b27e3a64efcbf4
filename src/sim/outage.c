/*
 * outage.c - a region out of service (POST /_sim/faults {"regionDown": R}).
 *
 * While the fault is there, every call on a resource of region R answers
 * 503 as Google's front ends do for a service they cannot reach
 * (`backendError` on the legacy APIs, UNAVAILABLE on the others): Compute
 * paths under regions/R or a zone of R (their operations included), Cloud
 * SQL calls on an instance whose region is R (and on its operations), an
 * instance created in R. What stays served: the region and zone
 * resources themselves (status DOWN), global resources, and backups kept
 * elsewhere: an instance's backup runs are listed and read (sql.c) but
 * for those whose location is R. The data plane sees the region's VMs
 * unhealthy (compute_health.c). Removing the fault brings the region back
 * as it was: nothing in the store is changed by it.
 */
#include <stdio.h>
#include <string.h>

#include "sim/sim_int.h"

int sim_region_down(sim *s, const char *region)
{
  const char *base;

  if (region == NULL)
    return 0;
  base = strrchr(region, '/');
  base = base ? base + 1 : region;
  for (sim_fault *f = s->faults; f; f = f->next)
    if (f->region_down && strcmp(f->region_down, base) == 0)
      return 1;
  return 0;
}

int sim_zone_down(sim *s, const char *zone)
{
  const char *base, *dash;
  char region[128];

  if (zone == NULL)
    return 0;
  base = strrchr(zone, '/');
  base = base ? base + 1 : zone;
  dash = strrchr(base, '-');
  if (dash == NULL || (size_t)(dash - base) >= sizeof(region))
    return 0;
  snprintf(region, sizeof(region), "%.*s", (int)(dash - base), base);
  return sim_region_down(s, region);
}

/* The region of Cloud SQL instance `name`, or NULL. */
static const char *sql_region(sim *s, const char *name)
{
  char key[300];
  json_object *inst, *v;

  if (name == NULL)
    return NULL;
  snprintf(key, sizeof(key), "projects/%s/instances/%s", sim_project(s), name);
  inst = sim_store_get(s, key);
  return json_object_object_get_ex(inst, "region", &v)
             ? json_object_get_string(v)
             : NULL;
}

/* 1 when the Cloud SQL operation `id` is on an instance of a region that
 * is down. */
static int sql_op_down(sim *s, const char *id)
{
  char name[300];
  sim_op *op;
  json_object *o, *v;
  int down = 0;

  if (id == NULL)
    return 0;
  snprintf(name, sizeof(name), "projects/%s/operations/%s", sim_project(s), id);
  if ((op = sim_op_find(s, name)) == NULL)
    return 0;
  o = sim_op_json(s, op);
  if (json_object_object_get_ex(o, "targetId", &v))
    down = sim_region_down(s, sql_region(s, json_object_get_string(v)));
  json_object_put(o);
  return down;
}

static int compute_down(sim *s, sim_req *req, const char *method)
{
  /* The region and zone resources answer, with status DOWN. */
  if (strcmp(method, "compute.regions.get") == 0 ||
      strcmp(method, "compute.regions.list") == 0 ||
      strcmp(method, "compute.zones.get") == 0 ||
      strcmp(method, "compute.zones.list") == 0)
    return 0;
  return sim_region_down(s, sim_param(req, "region")) ||
         sim_zone_down(s, sim_param(req, "zone"));
}

static int sql_down(sim *s, sim_req *req, const char *method)
{
  json_object *v;

  /* Backup runs kept elsewhere stay readable (sql.c filters the rest). */
  if (strcmp(method, "sql.backupRuns.list") == 0 ||
      strcmp(method, "sql.backupRuns.get") == 0)
    return 0;
  if (strcmp(method, "sql.operations.get") == 0)
    return sql_op_down(s, sim_param(req, "operation"));
  if (strcmp(method, "sql.operations.list") == 0)
    return sim_region_down(s, sql_region(s, sim_query(req, "instance")));
  if (strcmp(method, "sql.instances.insert") == 0)
    return json_object_object_get_ex(sim_body(req), "region", &v) &&
           sim_region_down(s, json_object_get_string(v));
  return sim_region_down(s, sql_region(s, sim_param(req, "instance")));
}

int sim__fault_region(sim *s, sim_req *req)
{
  const char *method = sim_req_method_id(req);
  sim_api api = sim_req_api(req);
  int down = 0;
  int any = 0;

  for (sim_fault *f = s->faults; f && !any; f = f->next)
    any = f->region_down != NULL;
  if (!any || method == NULL)
    return 0;
  if (api == SIM_API_COMPUTE)
    down = compute_down(s, req, method);
  else if (api == SIM_API_SQL)
    down = sql_down(s, req, method);
  if (!down)
    return 0;
  if (sim_api_legacy(api))
    sim_err_legacy(&req->resp, 503, "backendError", "%s",
                   "The service is currently unavailable.");
  else
    sim_err_rpc(&req->resp, 503, "UNAVAILABLE", "%s",
                "The service is currently unavailable.");
  return -1;
}
