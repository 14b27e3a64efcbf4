/*
 * heal.c - health probes and auto-healing of tenant VMs.
 *
 * Every server.health_interval_s (default 30) each READY tenant that
 * nobody drives is probed through its load balancer's view:
 * backendServices.getHealth for the tenant's backend and instance group
 * (the group's zone comes from the drift pass's aggregatedList, so a probe
 * costs one call). A VM unhealthy for server.heal_after consecutive
 * probes (default 3) is reset (instances.reset), at most
 * server.heal_max_per_hour times (default 3) in any hour; past that the
 * tenant is reported degraded (an error log line and a journal entry: the
 * alert) and left alone until it is healthy again. Every reset is
 * journalled.
 *
 * Not done: results are not yet written as a custom metric
 * (timeSeries.create); they show in /metrics and /api/infrastructure/status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/edvd.h"
#include "tenant/spec.h"

#define MOD             "heal"
#define HEAL_MAX_RESETS 16 /* remembered resets per tenant */

struct edvd_heal {
  struct edvd_heal *next;
  char id[EDV_STORE_ID_SZ];
  unsigned bad;                    /* consecutive unhealthy probes */
  int64_t resets[HEAL_MAX_RESETS]; /* wall-clock ms of recent resets */
  unsigned nresets;
  int degraded; /* alerted; no more resets until healthy */
  int probing;  /* a probe is in flight */
};

typedef struct probe {
  edvd *d;
  char id[EDV_STORE_ID_SZ];
  char zone[64];
} probe;

static edvd_heal *heal_get(edvd *d, const char *id)
{
  edvd_heal *h;

  for (h = d->heal; h; h = h->next)
    if (strcmp(h->id, id) == 0)
      return h;
  h = calloc(1, sizeof(*h));
  if (!h)
    return NULL;
  snprintf(h->id, sizeof(h->id), "%s", id);
  h->next = d->heal;
  d->heal = h;
  return h;
}

void edvd_heal_free(edvd *d)
{
  while (d->heal) {
    edvd_heal *h = d->heal;
    d->heal = h->next;
    free(h);
  }
}

static void heal_journal(edvd *d, const char *id, const char *event,
                         const char *detail)
{
  edv__journal_rec j;

  if (!d->store)
    return;
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", id);
  snprintf(j.actor, sizeof(j.actor), "healer");
  snprintf(j.event, sizeof(j.event), "%s", event);
  snprintf(j.api_call, sizeof(j.api_call), "%.*s", (int)sizeof(j.api_call) - 1,
           detail);
  edv__store_journal_append(d->store, &j, NULL, NULL);
}

static void on_reset(void *data, const edv_response *res)
{
  probe *p = data;

  if (res->error && res->error->code != EDV_ECANCELED)
    EDV_LOG_E(MOD, "tenant=%s: reset failed: %s", p->id, res->error->message);
  free(p);
}

/* Resets the VM unless the hourly budget is spent (then: degraded). */
static void heal_act(edvd *d, edvd_heal *h, const char *zone)
{
  int64_t now = edv__store_now(d->store);
  unsigned recent = 0;
  char vm[EDV_NAME_MAX], path[400];
  edv_request rq;
  probe *p;

  for (unsigned i = 0; i < h->nresets && i < HEAL_MAX_RESETS; i++)
    if (now - h->resets[i] < 3600000)
      recent++;
  if (recent >= d->heal_max_per_hour) {
    if (!h->degraded) {
      h->degraded = 1;
      d->heal_degraded++;
      EDV_LOG_E(MOD,
                "ALERT tenant=%s degraded: VM still unhealthy after %u "
                "reset(s) in the last hour; not resetting again",
                h->id, recent);
      heal_journal(d, h->id, "heal.degraded",
                   "unhealthy after the hourly reset budget");
    }
    return;
  }
  if (edv__name_vm(h->id, vm, sizeof(vm)))
    return;
  p = calloc(1, sizeof(*p));
  if (!p)
    return;
  p->d = d;
  snprintf(p->id, sizeof(p->id), "%s", h->id);
  snprintf(path, sizeof(path),
           "/compute/v1/projects/%s/zones/%s/instances/%s/reset",
           edv__fleet_project(d->fleet), zone, vm);
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_COMPUTE;
  rq.method = "POST";
  rq.path = path;
  rq.label = "compute.instances.reset";
  if (edv_call_submit(d->engine, &rq, on_reset, p, NULL)) {
    free(p);
    return;
  }
  h->resets[h->nresets++ % HEAL_MAX_RESETS] = now;
  h->bad = 0;
  d->heal_resets++;
  EDV_LOG_W(MOD, "tenant=%s: VM %s unhealthy %u times in a row: reset", h->id,
            vm, d->heal_after);
  heal_journal(d, h->id, "heal.reset", vm);
}

static void on_health(void *data, const edv_response *res)
{
  probe *p = data;
  edvd *d = p->d;
  edvd_heal *h = d->stopping ? NULL : heal_get(d, p->id);
  json_object *hs;
  int healthy = 0, known = 0; /* known: the group has members */

  if (h)
    h->probing = 0;
  if (!h || res->error) {
    if (res->error && res->error->code != EDV_ECANCELED)
      EDV_LOG_D(MOD, "tenant=%s: probe failed: %s", p->id, res->error->message);
    free(p);
    return;
  }
  d->heal_probes++;
  if (json_object_object_get_ex(res->json, "healthStatus", &hs) &&
      json_object_array_length(hs) > 0) {
    known = 1;
    healthy = 1;
    for (size_t i = 0; i < json_object_array_length(hs); i++) {
      json_object *st;
      if (!json_object_object_get_ex(json_object_array_get_idx(hs, i),
                                     "healthState", &st) ||
          strcmp(json_object_get_string(st), "HEALTHY") != 0)
        healthy = 0;
    }
  }
  if (healthy) {
    if (h->degraded)
      EDV_LOG_I(MOD, "tenant=%s: healthy again", h->id);
    h->bad = 0;
    h->degraded = 0;
  } else if (known) {
    d->heal_unhealthy++;
    if (++h->bad >= d->heal_after)
      heal_act(d, h, p->zone);
  }
  free(p);
}

typedef struct heal_list {
  char ids[512][EDV_STORE_ID_SZ];
  unsigned n;
} heal_list;

static int heal_one(void *data, const edv__tenant_rec *rec)
{
  heal_list *l = data;

  if (rec->id[0] != '@' && l->n < 512)
    snprintf(l->ids[l->n++], sizeof(l->ids[0]), "%s", rec->id);
  return 0;
}

void edvd_heal_pass(edvd *d)
{
  heal_list *l;
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ] = "";
  const char *project = edv__fleet_project(d->fleet);

  if (d->stopping || !d->vm_zones)
    return;
  l = calloc(1, sizeof(*l));
  if (!l)
    return;
  memset(&f, 0, sizeof(f));
  f.phase = EDV_PHASE_READY;
  f.limit = 512;
  do {
    f.after = next;
    l->n = 0;
    if (edv__store_tenant_list(d->store, &f, heal_one, l, next, sizeof(next),
                               NULL))
      break;
    for (unsigned i = 0; i < l->n; i++) {
      char vm[EDV_NAME_MAX], bs[EDV_NAME_MAX], ig[EDV_NAME_MAX];
      char path[400];
      json_object *z, *body, *url;
      edvd_heal *h;
      edv_request rq;
      probe *p;

      if (edvd_find_run(d, l->ids[i]) ||
          edv__name_vm(l->ids[i], vm, sizeof(vm)) ||
          edv__name_backend_service(l->ids[i], bs, sizeof(bs)) ||
          edv__name_instance_group(l->ids[i], ig, sizeof(ig)) ||
          !json_object_object_get_ex(d->vm_zones, vm, &z))
        continue;
      h = heal_get(d, l->ids[i]);
      if (!h || h->probing)
        continue;
      p = calloc(1, sizeof(*p));
      if (!p)
        continue;
      p->d = d;
      snprintf(p->id, sizeof(p->id), "%s", l->ids[i]);
      snprintf(p->zone, sizeof(p->zone), "%s", json_object_get_string(z));
      snprintf(path, sizeof(path),
               "/compute/v1/projects/%s/global/backendServices/%s/getHealth",
               project, bs);
      body = json_object_new_object();
      {
        char g[400];
        snprintf(g, sizeof(g), "projects/%s/zones/%s/instanceGroups/%s",
                 project, p->zone, ig);
        url = json_object_new_string(g);
      }
      json_object_object_add(body, "group", url);
      memset(&rq, 0, sizeof(rq));
      rq.api = EDV_API_COMPUTE;
      rq.method = "POST";
      rq.path = path;
      rq.body = body;
      rq.flags = EDV_REQ_IDEMPOTENT; /* a read, despite the verb */
      rq.label = "compute.backendServices.getHealth";
      if (edv_call_submit(d->engine, &rq, on_health, p, NULL) == 0)
        h->probing = 1;
      else
        free(p);
      json_object_put(body);
    }
  } while (next[0]);
  free(l);
}
