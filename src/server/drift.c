/*
 * drift.c - the reconciler's drift detection (DESIGN.md section 6).
 *
 * One pass costs a fixed handful of calls for the whole fleet, never one
 * GET per resource: one instances.aggregatedList filtered by our label and
 * one firewalls.list filtered by our name prefix (firewalls take no
 * labels), each followed through its pages. The pass then compares what it
 * saw with every READY tenant nobody is driving: a missing VM, a missing
 * firewall rule or a VM of another machine type than the tier's is drift,
 * and the tenant is driven again, so the same steps that made the
 * resources put them back (observe -> diff -> act). Each repair is
 * journalled ("drift") before the run starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/edvd.h"
#include "tenant/spec.h"

#define MOD "reconciler"

struct edvd_drift {
  edvd *d;
  json_object *vms;    /* instance name -> machine type (last URL segment) */
  json_object *fws;    /* firewall name -> true */
  json_object *zones;  /* instance name -> zone */
  json_object *owners; /* instance name -> its edv-tenant label */
  int pending;         /* list walks not yet done */
  int failed;          /* a walk failed: judge nothing this pass */
  unsigned calls;      /* pages fetched */
  uint64_t t0;
};

static void drift_add_instance(edvd_drift *x, json_object *inst)
{
  json_object *n, *mt;
  const char *m;

  if (!json_object_object_get_ex(inst, "name", &n))
    return;
  m = json_object_object_get_ex(inst, "machineType", &mt)
          ? json_object_get_string(mt)
          : "";
  if (strrchr(m, '/'))
    m = strrchr(m, '/') + 1;
  json_object_object_add(x->vms, json_object_get_string(n),
                         json_object_new_string(m));
  if (json_object_object_get_ex(inst, "labels", &mt) &&
      json_object_object_get_ex(mt, EDV_LABEL_TENANT, &mt))
    json_object_object_add(x->owners, json_object_get_string(n),
                           json_object_new_string(json_object_get_string(mt)));
  if (json_object_object_get_ex(inst, "zone", &mt)) {
    const char *z = json_object_get_string(mt);
    json_object_object_add(
        x->zones, json_object_get_string(n),
        json_object_new_string(strrchr(z, '/') ? strrchr(z, '/') + 1 : z));
  }
}

/* aggregatedList: items = {"zones/z": {"instances": [...]}, ...}. */
static int on_vm_page(void *data, json_object *page)
{
  edvd_drift *x = data;
  json_object *items;

  x->calls++;
  if (!json_object_object_get_ex(page, "items", &items))
    return 0;
  if (json_object_is_type(items, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(items); i++)
      drift_add_instance(x, json_object_array_get_idx(items, i));
    return 0;
  }
  json_object_object_foreach(items, scope, val)
  {
    json_object *arr;
    (void)scope;
    if (!json_object_object_get_ex(val, "instances", &arr))
      continue;
    for (size_t i = 0; i < json_object_array_length(arr); i++)
      drift_add_instance(x, json_object_array_get_idx(arr, i));
  }
  return 0;
}

static int on_fw_page(void *data, json_object *page)
{
  edvd_drift *x = data;
  json_object *items, *n;

  x->calls++;
  if (!json_object_object_get_ex(page, "items", &items))
    return 0;
  for (size_t i = 0; i < json_object_array_length(items); i++)
    if (json_object_object_get_ex(json_object_array_get_idx(items, i), "name",
                                  &n))
      json_object_object_add(x->fws, json_object_get_string(n),
                             json_object_new_boolean(1));
  return 0;
}

typedef struct ready_list {
  char ids[512][EDV_STORE_ID_SZ];
  char tiers[512][EDV_STORE_TIER_SZ];
  unsigned n;
} ready_list;

static int ready_one(void *data, const edv__tenant_rec *rec)
{
  ready_list *l = data;

  if (rec->id[0] == '@' || l->n >= 512)
    return 0;
  snprintf(l->ids[l->n], sizeof(l->ids[0]), "%s", rec->id);
  snprintf(l->tiers[l->n], sizeof(l->tiers[0]), "%s", rec->tier);
  l->n++;
  return 0;
}

static void drift_journal(edvd *d, const char *id, const char *what)
{
  edv__journal_rec j;

  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", id);
  snprintf(j.actor, sizeof(j.actor), "reconciler");
  snprintf(j.event, sizeof(j.event), "drift");
  snprintf(j.api_call, sizeof(j.api_call), "%.*s", (int)sizeof(j.api_call) - 1,
           what);
  edv__store_journal_append(d->store, &j, NULL, NULL);
}

static void drift_orphans(edvd_drift *x);

/* Both walks are done: compare and repair. */
static void drift_judge(edvd_drift *x)
{
  edvd *d = x->d;
  ready_list *l = calloc(1, sizeof(*l));
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ] = "";
  unsigned repaired = 0;
  edv_error err;

  if (!l)
    return;
  /* The health probes need each VM's zone: this pass has them all. */
  json_object_put(d->vm_zones);
  d->vm_zones = json_object_get(x->zones);
  memset(&f, 0, sizeof(f));
  f.phase = EDV_PHASE_READY;
  f.limit = 512;
  do {
    f.after = next;
    l->n = 0;
    if (edv__store_tenant_list(d->store, &f, ready_one, l, next, sizeof(next),
                               &err))
      break;
    for (unsigned i = 0; i < l->n; i++) {
      const char *id = l->ids[i];
      const edv__tier *t = edv__tiers_find(d->tiers, l->tiers[i]);
      char vm[EDV_NAME_MAX], fa[EDV_NAME_MAX], fd[EDV_NAME_MAX];
      char what[256] = "";
      json_object *mt;

      if (edvd_find_run(d, id) || edv__name_vm(id, vm, sizeof(vm)) ||
          edv__name_firewall(id, EDV_FIREWALL_ALLOW_LB, fa, sizeof(fa)) ||
          edv__name_firewall(id, EDV_FIREWALL_DENY_INGRESS, fd, sizeof(fd)))
        continue;
      if (!json_object_object_get_ex(x->vms, vm, &mt))
        snprintf(what, sizeof(what), "missing instance %s", vm);
      else if (t && strcmp(json_object_get_string(mt), t->machine_type) != 0)
        snprintf(what, sizeof(what), "instance %s is %.40s, tier wants %.30s",
                 vm, json_object_get_string(mt), t->machine_type);
      else if (!json_object_object_get_ex(x->fws, fa, NULL))
        snprintf(what, sizeof(what), "missing firewall %s", fa);
      else if (!json_object_object_get_ex(x->fws, fd, NULL))
        snprintf(what, sizeof(what), "missing firewall %s", fd);
      if (!what[0])
        continue;
      EDV_LOG_W(MOD, "drift: tenant=%s %s: driving it again", id, what);
      drift_journal(d, id, what);
      if (edvd_drive(d, id, EDV_DIR_UP, &err) == 0)
        repaired++;
      else
        EDV_LOG_W(MOD, "drift: tenant=%s: %s", id, err.message);
    }
  } while (next[0]);
  free(l);
  d->drift_repairs += repaired;
  d->drift_last_calls = x->calls;
  d->drift_last_ms = (uv_hrtime() - x->t0) / 1000000u;
  d->drift_passes++;
  drift_orphans(x);
  EDV_LOG_I(MOD, "drift pass: %u list page(s), %u repair(s), %llu ms", x->calls,
            repaired, (unsigned long long)d->drift_last_ms);
}

/* VMs carrying our labels for a tenant the store does not know (or knows
 * as DELETED and nobody is deleting): reported, never deleted here. */
static void drift_orphans(edvd_drift *x)
{
  edvd *d = x->d;
  json_object *arr = json_object_new_array();

  json_object_object_foreach(x->owners, vm, owner)
  {
    edv__tenant_rec rec;
    const char *id = json_object_get_string(owner);
    if (edvd_find_run(d, id))
      continue;
    if (edv__store_tenant_get(d->store, id, &rec, NULL) == 0 &&
        rec.phase != EDV_PHASE_DELETED)
      continue;
    EDV_LOG_W(MOD,
              "orphan: instance %s is labelled for tenant '%s', which "
              "is not a live tenant; left alone",
              vm, id);
    json_object_array_add(arr, json_object_new_string(vm));
  }
  json_object_put(d->orphans);
  d->orphans = arr;
}

static void drift_free(edvd_drift *x)
{
  json_object_put(x->vms);
  json_object_put(x->fws);
  json_object_put(x->zones);
  json_object_put(x->owners);
  if (x->d->drift == x)
    x->d->drift = NULL;
  free(x);
}

static void on_walk_done(void *data, const edv_error *err, unsigned pages)
{
  edvd_drift *x = data;

  (void)pages;
  if (err && err->code) {
    if (err->code != EDV_ECANCELED)
      EDV_LOG_W(MOD, "drift pass: list failed: %s", err->message);
    x->failed = 1;
  }
  if (--x->pending > 0)
    return;
  if (!x->failed && !x->d->stopping)
    drift_judge(x);
  drift_free(x);
}

int edvd_drift_pass(edvd *d)
{
  edvd_drift *x;
  edv_request rq;
  char vm_path[400], fw_path[400];
  const char *project = edv__fleet_project(d->fleet);

  if (d->drift || d->stopping)
    return 0; /* one at a time */
  x = calloc(1, sizeof(*x));
  if (!x)
    return -1;
  x->d = d;
  x->vms = json_object_new_object();
  x->fws = json_object_new_object();
  x->zones = json_object_new_object();
  x->owners = json_object_new_object();
  x->t0 = uv_hrtime();
  /* Compute filter syntax: field eq "value" (RE2 for strings). */
  snprintf(vm_path, sizeof(vm_path),
           "/compute/v1/projects/%s/aggregated/instances?filter=labels.%s"
           "%%20eq%%20%%22true%%22&maxResults=500",
           project, EDV_LABEL_MANAGED);
  snprintf(fw_path, sizeof(fw_path),
           "/compute/v1/projects/%s/global/firewalls?filter=name%%20eq%%20"
           "%%22edv-.*%%22&maxResults=500",
           project);
  d->drift = x;
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_COMPUTE;
  rq.method = "GET";
  rq.path = vm_path;
  rq.label = "compute.instances.aggregatedList";
  x->pending = 1;
  if (edv_call_pages(d->engine, &rq, on_vm_page, on_walk_done, x) != 0) {
    drift_free(x);
    return -1;
  }
  rq.path = fw_path;
  rq.label = "compute.firewalls.list";
  x->pending++;
  if (edv_call_pages(d->engine, &rq, on_fw_page, on_walk_done, x) != 0) {
    x->failed = 1;
    x->pending--; /* the first walk's end frees x */
  }
  return 0;
}
