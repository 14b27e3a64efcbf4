/*
 * dayops_backups.c - backup health (edv_fleet_backup_check, edv/fleet.h):
 * per READY tenant, the time of its Cloud SQL instance's last SUCCESSFUL
 * backup run (backupRuns.list, newest first), and whether it is stale: no
 * successful backup in backup.stale_after_s (default EDV_BACKUP_STALE_S,
 * 26 hours; a tenant younger than that without one is not stale yet).
 *
 * The last check's results stay on the fleet (o->backups: tenant -> {last
 * ms or null, stale}); the tenant document ("backup"), the fleet status
 * ("backups") and edvd's /metrics read them. A tenant that turns stale
 * raises the alert: an ALERT error log line and a journal line
 * "backup.stale"; "backup.fresh" when it has a recent backup again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "fleet/dayops.h"
#include "tenant/spec.h"

#define MOD "fleet"

#define SQLP "/sql/v1beta4/projects/%s/instances/%s"

int64_t edv__backup_stale_s(edv_fleet *f)
{
  return f->cfg ? edv_config_get_int(f->cfg, "backup.stale_after_s",
                                     EDV_BACKUP_STALE_S)
                : EDV_BACKUP_STALE_S;
}

int edv__backup_stale(int64_t last_ms, int64_t created_ms, int64_t now_ms,
                      int64_t stale_s)
{
  int64_t since = last_ms >= 0 ? last_ms : created_ms;

  return now_ms - since > stale_s * 1000;
}

typedef struct check {
  edv__dayops *o;
  edv_fleet_cb cb;
  void *data;
  unsigned pending;
  json_object *ids; /* tenant -> created ms, of those asked */
} check;

typedef struct one {
  check *c;
  char tenant[EDV_STORE_ID_SZ];
  int64_t created_ms;
} one;

static int ready_one(void *data, const edv__tenant_rec *rec)
{
  json_object_object_add(data, rec->id, json_object_new_int64(rec->created_ms));
  return 0;
}

/* The newest endTime of a SUCCESSFUL run, or -1. */
static int64_t last_success(json_object *list)
{
  json_object *items = edv__jget(list, "items");
  int64_t best = -1;

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *r = json_object_array_get_idx(items, i);
    const char *st = edv__jstr(r, "status");
    int64_t t = edv__rfc3339_ms(edv__jstr(r, "endTime"));

    if (st && strcmp(st, "SUCCESSFUL") == 0 && t > best)
      best = t;
  }
  return best;
}

static void alert(edv_fleet *f, const char *tenant, const char *event,
                  const char *detail)
{
  edv__journal_rec j;

  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", tenant);
  snprintf(j.actor, sizeof(j.actor), "%s", f->actor);
  snprintf(j.event, sizeof(j.event), "%s", event);
  snprintf(j.api_call, sizeof(j.api_call), "%s", detail);
  edv__fleet_journal(f, &j);
}

/* Records one tenant's result; alerts on a change to stale. */
static void record(edv_fleet *f, edv__dayops *o, const char *tenant,
                   int64_t last, int64_t created)
{
  int64_t now = edv__store_wall_clock(NULL);
  int64_t limit = edv__backup_stale_s(f);
  int stale = edv__backup_stale(last, created, now, limit), was = 0;
  json_object *prev, *e = json_object_new_object();
  char detail[160];

  if (json_object_object_get_ex(o->backups, tenant, &prev))
    was = json_object_get_boolean(json_object_object_get(prev, "stale"));
  json_object_object_add(e, "last",
                         last >= 0 ? json_object_new_int64(last) : NULL);
  json_object_object_add(e, "stale", json_object_new_boolean(stale));
  json_object_object_add(o->backups, tenant, e);
  if (stale == was)
    return;
  if (last >= 0)
    snprintf(detail, sizeof(detail), "last successful backup %lld s ago",
             (long long)((now - last) / 1000));
  else
    snprintf(detail, sizeof(detail), "no successful backup");
  if (stale)
    EDV_LOG_E(MOD, "ALERT tenant=%s backup stale: %s (limit %lld s)", tenant,
              detail, (long long)limit);
  alert(f, tenant, stale ? "backup.stale" : "backup.fresh", detail);
}

/* {last_successful, age_s, stale} of one entry of o->backups. */
static json_object *entry_view(json_object *e, int64_t now)
{
  json_object *o = json_object_new_object(), *last;
  int64_t ms;

  last = json_object_object_get(e, "last");
  ms = last ? json_object_get_int64(last) : -1;
  json_object_object_add(o, "last_successful",
                         ms >= 0 ? edv__view_time_json(ms) : NULL);
  json_object_object_add(
      o, "age_s",
      ms >= 0 ? json_object_new_int64(now > ms ? (now - ms) / 1000 : 0) : NULL);
  json_object_object_add(o, "stale",
                         json_object_new_boolean(json_object_get_boolean(
                             json_object_object_get(e, "stale"))));
  return o;
}

json_object *edv__dayops_backup_view(edv_fleet *f, const char *tenant)
{
  edv__dayops *o = f->dayops;
  json_object *e;

  if (!o || !o->backups || !json_object_object_get_ex(o->backups, tenant, &e))
    return NULL;
  return entry_view(e, edv__store_wall_clock(NULL));
}

json_object *edv__dayops_backups_view(edv_fleet *f)
{
  json_object *o = json_object_new_object(), *arr = json_object_new_array();
  edv__dayops *d = f->dayops;
  json_object *all = d ? d->backups : NULL;
  int64_t now = edv__store_wall_clock(NULL);
  int stale = 0;

  if (all) {
    json_object_object_foreach(all, id, e)
    {
      json_object *v = entry_view(e, now);

      json_object_object_add(v, "tenant", json_object_new_string(id));
      stale += json_object_get_boolean(json_object_object_get(v, "stale"));
      json_object_array_add(arr, v);
    }
  }
  json_object_object_add(o, "checked", json_object_new_boolean(all != NULL));
  json_object_object_add(o, "stale_after_s",
                         json_object_new_int64(edv__backup_stale_s(f)));
  json_object_object_add(o, "stale", json_object_new_int(stale));
  json_object_object_add(o, "tenants", arr);
  return o;
}

static void check_end(check *c)
{
  edv_fleet *f = c->o->f;
  json_object *doc;
  edv_error e;

  if (--c->pending > 0)
    return;
  if (!f) {
    edv_error_set(&e, EDV_ECANCELED, "the fleet closed");
    c->cb(c->data, NULL, &e);
  } else {
    doc = edv__dayops_backups_view(f);
    c->cb(c->data, doc, NULL);
    json_object_put(doc);
  }
  json_object_put(c->ids);
  edv__dayops_unref(c->o);
  free(c);
}

static void on_runs(void *data, const edv_response *res)
{
  one *x = data;
  check *c = x->c;

  /* An error (the instance being replaced, the API down) leaves the
   * tenant's previous result. */
  if (c->o->f && !res->error)
    record(c->o->f, c->o, x->tenant, last_success(res->json), x->created_ms);
  else if (res->error && c->o->f)
    EDV_LOG_W(MOD, "tenant=%s: backups not checked: %s", x->tenant,
              res->error->message);
  free(x);
  check_end(c);
}

static void first_done(void *data, json_object *doc, const edv_error *err)
{
  (void)doc;
  (void)err;
  check_end(data);
}

int edv_fleet_backup_check(edv_fleet *f, edv_fleet_cb cb, void *data,
                           edv_error *err)
{
  edv__dayops *o = edv__dayops_of(f);
  edv__tenant_filter flt;
  check *c;
  int result;

  if (!o || !(c = calloc(1, sizeof(*c))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (!o->backups)
    o->backups = json_object_new_object();
  c->o = o;
  c->cb = cb;
  c->data = data;
  c->ids = json_object_new_object();
  c->pending = 1; /* this call's, dropped below */
  memset(&flt, 0, sizeof(flt));
  flt.phase = EDV_PHASE_READY;
  flt.limit = 1000;
  if ((result = edv__store_tenant_list(f->store, &flt, ready_one, c->ids, NULL,
                                       0, err)) != 0) {
    json_object_put(c->ids);
    free(c);
    return result;
  }
  edv__dayops_ref(o);
  json_object_object_foreach(c->ids, id, created)
  {
    edv__tenant_rec rec;
    one *x = calloc(1, sizeof(*x));
    char inst[EDV_FQDN_MAX], path[512];

    if (!x || edv__store_tenant_get(f->store, id, &rec, NULL) != 0 ||
        edv__name_sql_instance(id, rec.generation, inst, sizeof(inst))) {
      free(x);
      continue;
    }
    x->c = c;
    x->created_ms = json_object_get_int64(created);
    snprintf(x->tenant, sizeof(x->tenant), "%s", id);
    snprintf(path, sizeof(path), SQLP "/backupRuns",
             edv__fleet_project(f->machine), inst);
    c->pending++;
    if (edv__dayops_submit(f, EDV_API_SQLADMIN, "GET", path, NULL,
                           "sql.backupRuns.list", on_runs, x)) {
      c->pending--;
      free(x);
    }
  }
  /* This call's share ends from the loop: the answer never comes
   * before this returns, even with no tenant to ask. */
  return edv__dayops_answer_later(f, json_object_new_object(), first_done, c,
                                  err);
}
