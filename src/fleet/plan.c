/*
 * plan.c - the plan of a tenant (edv_tenant_plan, edv/fleet.h): what a
 * reconcile would do now, read-only. The machine runs the tenant's plan
 * without a write (edv__fleet_plan) and reports each call a run would make
 * (EDV_EV_PLAN) and what it saw (EDV_EV_INFO); fleet.c routes the events of
 * a planning tenant here (edv__plan_event), and the plan's end turns them
 * into the document `edvctl tenant plan --format json` prints:
 *
 *   {tenant, tier, phase, in_sync,
 *    changes: [{step, title, action, method, path}],
 *    drift: [{step, title, note, repaired}],
 *    not_checked: [{step, title, note}]}
 *
 * in plan order: a change is a call ("create", "update" or "delete", from
 * its method and path), drift a difference the plan saw ("repaired" when a
 * change of the same step puts it back, else it needs a manual change),
 * not_checked what a plan cannot observe (shared resources the run sets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"

struct edv__plan {
  struct edv__plan *next;
  edv_fleet *f;
  edv_fleet_cb cb;
  void *data;
  char id[EDV_STORE_ID_SZ];
  char tier[EDV_TIER_NAME_MAX + 1];
  edv_tenant_phase phase;
  json_object *items; /* [{step, title, call|note}] as they came */
};

static edv__plan *plan_find(edv_fleet *f, const char *id)
{
  for (edv__plan *p = f->plans; p; p = p->next)
    if (strcmp(p->id, id) == 0)
      return p;
  return NULL;
}

static void plan_unlink(edv__plan *p)
{
  for (edv__plan **pp = &p->f->plans; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      return;
    }
}

int edv__plan_event(edv_fleet *f, const edv__event *ev)
{
  edv__plan *p;
  json_object *o;

  if (!f->plans || !ev->tenant || !(p = plan_find(f, ev->tenant)))
    return 0;
  if ((ev->kind == EDV_EV_PLAN || ev->kind == EDV_EV_INFO) && ev->message) {
    o = json_object_new_object();
    json_object_object_add(o, "step",
                           json_object_new_string(ev->step ? ev->step : ""));
    json_object_object_add(o, "title",
                           json_object_new_string(ev->title ? ev->title : ""));
    json_object_object_add(o, ev->kind == EDV_EV_PLAN ? "call" : "note",
                           json_object_new_string(ev->message));
    json_object_array_add(p->items, o);
  }
  return 1;
}

/* "create", "update" or "delete": from the call's method and path. */
static const char *plan_action(const char *call)
{
  const char *path = strchr(call, ' '), *last;

  if (strncmp(call, "DELETE", 6) == 0)
    return "delete";
  last = path ? strrchr(path, '/') : NULL;
  if (strncmp(call, "POST", 4) == 0 && last && !strchr(last, ':') &&
      strncmp(last, "/set", 4) != 0 && strncmp(last, "/add", 4) != 0 &&
      strncmp(last, "/remove", 7) != 0 && strncmp(last, "/patch", 6) != 0)
    return "create";
  return "update";
}

static int step_index(const char *name)
{
  for (unsigned d = 0; name && d < edv__tenant_nsteps; d++)
    if (strcmp(edv__tenant_steps[d].name, name) == 0)
      return (int)d;
  return (int)edv__tenant_nsteps;
}

static const char *jstr(json_object *o, const char *key)
{
  return json_object_get_string(json_object_object_get(o, key));
}

/* json_object_array_sort: plan order of the items' "step". */
static int by_step(const void *a, const void *b)
{
  json_object *const *x = a, *const *y = b;

  return step_index(jstr(*x, "step")) - step_index(jstr(*y, "step"));
}

static json_object *item_new(json_object *it)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "step", json_object_new_string(jstr(it, "step")));
  json_object_object_add(o, "title", json_object_new_string(jstr(it, "title")));
  return o;
}

/* The plan's document from what it saw. New object. */
static json_object *plan_doc(const edv__plan *p)
{
  json_object *doc = json_object_new_object();
  json_object *changes = json_object_new_array();
  json_object *drift = json_object_new_array();
  json_object *unchecked = json_object_new_array();

  for (size_t i = 0; i < json_object_array_length(p->items); i++) {
    json_object *it = json_object_array_get_idx(p->items, i), *o, *arr;
    const char *call = jstr(it, "call"), *note = jstr(it, "note");

    if (call) {
      const char *sp = strchr(call, ' ');
      o = item_new(it);
      json_object_object_add(o, "action",
                             json_object_new_string(plan_action(call)));
      json_object_object_add(
          o, "method",
          json_object_new_string_len(call, sp ? (int)(sp - call)
                                              : (int)strlen(call)));
      json_object_object_add(o, "path",
                             json_object_new_string(sp ? sp + 1 : ""));
      json_object_array_add(changes, o);
      continue;
    }
    arr = strncmp(note, "drift:", 6) == 0          ? drift
          : strncmp(note, "would ensure", 12) == 0 ? unchecked
                                                   : NULL;
    if (!arr)
      continue; /* observations ("VM RUNNING"), not differences */
    o = item_new(it);
    json_object_object_add(o, "note", json_object_new_string(note));
    json_object_array_add(arr, o);
  }
  /* Drift whose step makes a call is put back by the reconcile (the call
   * is the repair); the rest needs a manual change. */
  for (size_t i = 0; i < json_object_array_length(drift); i++) {
    json_object *d = json_object_array_get_idx(drift, i);
    int fixed = 0;
    for (size_t k = 0; k < json_object_array_length(changes) && !fixed; k++)
      fixed = strcmp(jstr(json_object_array_get_idx(changes, k), "step"),
                     jstr(d, "step")) == 0;
    json_object_object_add(d, "repaired", json_object_new_boolean(fixed));
  }
  json_object_array_sort(changes, by_step);
  json_object_array_sort(drift, by_step);
  json_object_array_sort(unchecked, by_step);
  json_object_object_add(doc, "tenant", json_object_new_string(p->id));
  json_object_object_add(doc, "tier", json_object_new_string(p->tier));
  json_object_object_add(doc, "phase",
                         json_object_new_string(edv__phase_name(p->phase)));
  json_object_object_add(
      doc, "in_sync",
      json_object_new_boolean(json_object_array_length(changes) == 0 &&
                              json_object_array_length(drift) == 0));
  json_object_object_add(doc, "changes", changes);
  json_object_object_add(doc, "drift", drift);
  json_object_object_add(doc, "not_checked", unchecked);
  return doc;
}

static void plan_done(void *data, const char *tenant, edv_tenant_phase phase,
                      const edv_error *err)
{
  edv__plan *p = data;
  json_object *doc;

  (void)tenant;
  (void)phase;
  plan_unlink(p);
  if (err && err->code) {
    p->cb(p->data, NULL, err);
  } else {
    doc = plan_doc(p);
    p->cb(p->data, doc, NULL);
    json_object_put(doc);
  }
  json_object_put(p->items);
  free(p);
}

int edv_tenant_plan(edv_fleet *f, const char *id, edv_fleet_cb cb, void *data,
                    edv_error *err)
{
  edv__tenant_rec rec;
  edv__plan *p;
  int result;

  if (!cb)
    return edv_error_set(err, EDV_EINVAL, "a callback is needed");
  if (f->closing || f->stopping)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  if ((result = edv__fleet_tenant_rec(f, id, &rec, err)) != 0)
    return result;
  if (rec.phase == EDV_PHASE_DELETED)
    return edv_error_set(err, EDV_ENOTFOUND,
                         "tenant '%s' is deleted: there is nothing to plan",
                         rec.id);
  if (plan_find(f, rec.id) || edv__fleet_run_find(f, rec.id))
    return edv_error_set(err, EDV_EBUSY, "tenant '%s' is being %s here", rec.id,
                         plan_find(f, rec.id) ? "planned" : "driven");
  p = calloc(1, sizeof(*p));
  if (!p)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  p->f = f;
  p->cb = cb;
  p->data = data;
  snprintf(p->id, sizeof(p->id), "%s", rec.id);
  snprintf(p->tier, sizeof(p->tier), "%s", rec.tier);
  p->phase = rec.phase;
  p->items = json_object_new_array();
  /* Listed first: the machine's events may come from inside the call. */
  p->next = f->plans;
  f->plans = p;
  if ((result = edv__fleet_plan(f->machine, rec.id, plan_done, p, err)) != 0) {
    plan_unlink(p);
    json_object_put(p->items);
    free(p);
  }
  return result;
}
