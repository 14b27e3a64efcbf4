/*
 * rebuild.c - the store rebuilt from the cloud alone (edv/fleet.h,
 * edv_fleet_state_rebuild; docs/operations.md, "Lost edv.db").
 *
 * Four read-only lists at once: the VMs with our labels (every zone), the
 * Cloud SQL instances with our user labels, the firewall rules named
 * "edv-*", and the tenant VPC. A tenant is a VM that carries edv-managed
 * and edv-tenant (tenant/kinds.c's owner rules); its tier is its Cloud SQL
 * instance's edv-tier label (a scale relabels the database, not the VM;
 * else the VM's), its region its zone's, its slug and display name the app.env
 * lines of its startup script (tenant/render.c), its release the VM's
 * metadata edv-release and edv-release-image (a release missing from the
 * store is recorded again from them). Then per tenant two GETs:
 * its subnetwork (the range, owner checked) and its password secret's
 * latest version (the identity sql_user records; never the value). Only
 * then is anything written, in one transaction.
 *
 * A tenant in its deletion grace (SUSPENDED) has its VM stopped and no
 * rule in the URL map (tenant/steps_tenant.c): the URL map is read too,
 * and such a tenant is recorded SUSPENDED, its grace counted afresh from
 * the rebuild (the cloud does not say when it began: never purged earlier
 * than asked). Any other tenant is recorded READY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet/fleet.h"
#include "tenant/kinds.h"
#include "tenant/shared.h"
#include "tenant/spec.h"
#include "tenant/steps.h"
#include "transport/transport.h"

typedef struct rb_tenant {
  char id[EDV_TENANT_ID_MAX + 1];
  char tier[EDV_TIER_NAME_MAX + 1];     /* the VM's edv-tier label */
  char sql_tier[EDV_TIER_NAME_MAX + 1]; /* its database's (follows a scale) */
  char region[EDV_REGION_MAX + 1];
  char slug[EDV_TENANT_SLUG_MAX + 1];
  char name[EDV_TENANT_NAME_BYTES + 1];
  int has_vm, ops_ssh;
  int vm_gen;    /* its VM's generation (tenant/vmswap.h): the newest seen */
  int stopped;   /* its VM is TERMINATED (or STOPPING) */
  int suspended; /* recorded SUSPENDED (rb_tenant_write) */
  uint32_t generation;
  char subnet[48];
  char pw_version[EDV_STORE_RES_SZ];
  char release[EDV_STORE_VERSION_SZ];   /* metadata edv-release, or "" */
  char release_image[EDV_STORE_RES_SZ]; /* metadata edv-release-image */
  char why[200];                        /* not recorded: why */
} rb_tenant;

typedef struct rb {
  edv_fleet *f;
  unsigned flags;
  edv_fleet_cb cb;
  void *data;
  rb_tenant *t;
  size_t n, cap;
  unsigned pending;
  int details; /* the per-tenant GETs were started */
  int stopped; /* the fleet closed: write nothing, answer ECANCELED */
  int failed, platform;
  json_object *urlmap; /* as read; NULL: none */
  edv_error err;
  char backup[640];
} rb;

/* One GET of the rebuild; `what` picks its handler. */
typedef struct rb_get {
  rb *r;
  size_t i;
  int what; /* RB_NETWORK, RB_URLMAP, RB_SUBNET, RB_SECRET */
} rb_get;

enum { RB_NETWORK, RB_URLMAP, RB_SUBNET, RB_SECRET };

static void rb_fail(rb *r, const edv_error *e)
{
  if (!r->failed && e)
    r->err = *e;
  r->failed = 1;
}

static rb_tenant *rb_find(rb *r, const char *id, int add)
{
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->t[i].id, id) == 0)
      return &r->t[i];
  if (!add)
    return NULL;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 32;
    rb_tenant *p = realloc(r->t, cap * sizeof(*p));
    if (!p)
      return NULL;
    r->t = p;
    r->cap = cap;
  }
  memset(&r->t[r->n], 0, sizeof(r->t[0]));
  snprintf(r->t[r->n].id, sizeof(r->t[0].id), "%s", id);
  return &r->t[r->n++];
}

/* The value of "KEY=" on a line of the startup script, shell-unquoted
 * ('...' with '\'' for a quote). 0, or -1 when absent or malformed. */
static int script_value(const char *script, const char *key, char *out,
                        size_t size)
{
  size_t kl = strlen(key), o = 0;
  const char *p = script;

  while (p && (strncmp(p, key, kl) != 0 || p[kl] != '='))
    p = (p = strchr(p, '\n')) ? p + 1 : NULL;
  if (!p)
    return -1;
  p += kl + 1;
  if (*p != '\'') {
    size_t n = strcspn(p, "\n");
    if (n >= size)
      return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
  }
  for (p++; *p && *p != '\n'; p++) {
    if (*p == '\'') {
      if (strncmp(p, "'\\''", 4) != 0)
        break;
      p += 3;
    }
    if (o + 1 >= size)
      return -1;
    out[o++] = *p;
  }
  if (*p != '\'')
    return -1;
  out[o] = '\0';
  return 0;
}

static const char *vm_meta(json_object *vm, const char *key)
{
  json_object *items = edv__jget(vm, "metadata.items");

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *k = edv__jstr(it, "key");
    if (k && strcmp(k, key) == 0)
      return edv__jstr(it, "value");
  }
  return NULL;
}

/* The release the VM runs, from its metadata (tenant/steps_tenant.c):
 * kept only when both keys are there and the version is one. */
static void vm_release(rb_tenant *t, json_object *vm)
{
  const char *v = vm_meta(vm, "edv-release");
  const char *img = vm_meta(vm, "edv-release-image");

  if (v && img && edv__release_version_ok(v)) {
    snprintf(t->release, sizeof(t->release), "%s", v);
    snprintf(t->release_image, sizeof(t->release_image), "%s", img);
  }
}

static int rb_vm(void *data, const char *scope, json_object *vm)
{
  rb *r = data;
  char id[EDV_TENANT_ID_MAX + 1];
  const char *zone = edv__jstr(vm, "zone"), *name = edv__jstr(vm, "name");
  const char *tier, *script = vm_meta(vm, "startup-script");
  const char *st = edv__jstr(vm, "status");
  rb_tenant *t;
  int gen;

  (void)scope;
  /* Any generation of its VM (tenant/vmswap.h); of two (a release change
   * cut short), the newest serves. */
  if (!edv__kind_owner(&edv__kinds[EDV_KIND_VM], vm, id, sizeof(id)) ||
      (gen = edv__vmgen_of_name(id, name)) < 0 || !(t = rb_find(r, id, 1)) ||
      (t->has_vm && gen < t->vm_gen))
    return 0;
  t->vm_gen = gen;
  tier = edv__jstr(edv__jget(vm, "labels"), EDV_LABEL_TIER);
  snprintf(t->tier, sizeof(t->tier), "%s", tier ? tier : "");
  t->stopped =
      st && (strcmp(st, "TERMINATED") == 0 || strcmp(st, "STOPPING") == 0);
  zone = zone && strrchr(zone, '/') ? strrchr(zone, '/') + 1 : zone;
  if (zone && strrchr(zone, '-'))
    snprintf(t->region, sizeof(t->region), "%.*s",
             (int)(strrchr(zone, '-') - zone), zone);
  if (!script ||
      script_value(script, "EDV_TENANT_SLUG", t->slug, sizeof(t->slug)) ||
      script_value(script, "EDV_TENANT_NAME", t->name, sizeof(t->name))) {
    snprintf(t->why, sizeof(t->why),
             "VM %s: no slug or display name in its startup script", name);
    return 0;
  }
  vm_release(t, vm);
  t->has_vm = 1;
  return 0;
}

static int rb_vm_page(void *data, json_object *page)
{
  return edv__aggregated_foreach(page, "instances", rb_vm, data);
}

static int rb_sql_page(void *data, json_object *page)
{
  rb *r = data;
  json_object *items = edv__jget(page, "items");

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *name = edv__jstr(it, "name");
    char id[EDV_TENANT_ID_MAX + 1], want[EDV_NAME_MAX], prefix[EDV_NAME_MAX];
    rb_tenant *t;
    unsigned long g;

    if (!name ||
        !edv__kind_owner(&edv__kinds[EDV_KIND_SQL_INSTANCE], it, id,
                         sizeof(id)) ||
        !(t = rb_find(r, id, 1)))
      continue;
    snprintf(prefix, sizeof(prefix), "edv-%s-db-", id);
    if (strncmp(name, prefix, strlen(prefix)) != 0)
      continue;
    g = strtoul(name + strlen(prefix), NULL, 10);
    if (g && g <= UINT32_MAX &&
        edv__name_sql_instance(id, (unsigned)g, want, sizeof(want)) == 0 &&
        strcmp(want, name) == 0 && g > t->generation) {
      const char *tier =
          edv__jstr(edv__jget(it, "settings.userLabels"), EDV_LABEL_TIER);
      t->generation = (uint32_t)g;
      snprintf(t->sql_tier, sizeof(t->sql_tier), "%s", tier ? tier : "");
    }
  }
  return 0;
}

static int rb_fw_page(void *data, json_object *page)
{
  rb *r = data;
  json_object *items = edv__jget(page, "items");

  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *name = edv__jstr(it, "name");
    char id[EDV_TENANT_ID_MAX + 1], want[EDV_NAME_MAX];
    rb_tenant *t;

    if (name &&
        edv__kind_owner(&edv__kinds[EDV_KIND_FW_OPS_SSH], it, id, sizeof(id)) &&
        edv__name_firewall(id, EDV_FIREWALL_OPS_SSH, want, sizeof(want)) == 0 &&
        strcmp(want, name) == 0 && (t = rb_find(r, id, 1)))
      t->ops_ssh = 1;
  }
  return 0;
}

static void rb_step(rb *r);

static void rb_pages_done(void *data, const edv_error *err, unsigned pages)
{
  rb *r = data;

  (void)pages;
  if (err)
    rb_fail(r, err);
  rb_step(r);
}

static void rb_got(void *data, const edv_response *res)
{
  rb_get *g = data;
  rb *r = g->r;
  json_object *o = res->json;

  if (res->error && res->error->code != EDV_ENOTFOUND)
    rb_fail(r, res->error);
  else if (!res->error && g->what == RB_NETWORK) {
    const char *d = edv__jstr(o, "description");
    r->platform = d && strcmp(d, EDV_MARKER_PLATFORM) == 0;
  } else if (!res->error && g->what == RB_URLMAP) {
    r->urlmap = json_object_get(o);
  } else if (!res->error && g->what == RB_SUBNET) {
    rb_tenant *t = &r->t[g->i];
    char id[EDV_TENANT_ID_MAX + 1];
    const char *cidr = edv__jstr(o, "ipCidrRange");
    if (edv__kind_owner(&edv__kinds[EDV_KIND_SUBNET], o, id, sizeof(id)) &&
        strcmp(id, t->id) == 0 && cidr)
      snprintf(t->subnet, sizeof(t->subnet), "%s", cidr);
  } else if (!res->error && g->what == RB_SECRET) {
    const char *name = edv__jstr(o, "name"), *ct = edv__jstr(o, "createTime");
    const char *state = edv__jstr(o, "state");
    if (name && ct && state && strcmp(state, "ENABLED") == 0)
      snprintf(r->t[g->i].pw_version, sizeof(r->t[0].pw_version), "%s@%s", name,
               ct);
  }
  free(g);
  rb_step(r);
}

/* One GET; a failure to start it fails the rebuild. */
static void rb_get_one(rb *r, int what, size_t i, edv_api api, const char *path,
                       const char *label)
{
  edv_request req;
  rb_get *g = calloc(1, sizeof(*g));
  edv_error e;

  memset(&req, 0, sizeof(req));
  req.api = api;
  req.method = "GET";
  req.path = path;
  req.label = label;
  r->pending++;
  if (g) {
    g->r = r;
    g->i = i;
    g->what = what;
    if (edv_call_submit(r->f->engine, &req, rb_got, g, NULL) == 0)
      return;
    free(g);
  }
  r->pending--;
  edv_error_set(&e, EDV_ENOMEM, "rebuild: cannot start %s", label);
  rb_fail(r, &e);
}

static void rb_list(rb *r, const edv__kind *k)
{
  const char *project = edv_engine_project(r->f->engine);
  char path[600], tmpl[400];
  edv_request req;
  edv_page_cb fn = k == &edv__kinds[EDV_KIND_VM]             ? rb_vm_page
                   : k == &edv__kinds[EDV_KIND_SQL_INSTANCE] ? rb_sql_page
                                                             : rb_fw_page;
  edv_error e;

  snprintf(tmpl, sizeof(tmpl), "%s?%s", k->list, k->list_query);
  memset(&req, 0, sizeof(req));
  req.api = k->api;
  req.method = "GET";
  req.path = path;
  req.label = k->list_label;
  r->pending++;
  if (edv__kind_path(tmpl, project, NULL, NULL, NULL, NULL, path,
                     sizeof(path)) == 0 &&
      edv_call_pages(r->f->engine, &req, fn, rb_pages_done, r) == 0)
    return;
  r->pending--;
  edv_error_set(&e, EDV_ENOMEM, "rebuild: cannot start %s", k->list_label);
  rb_fail(r, &e);
}

/* The per-tenant GETs, once the lists are in. */
static void rb_details(rb *r)
{
  const char *project = edv_engine_project(r->f->engine);
  char name[EDV_NAME_MAX], path[600];

  for (size_t i = 0; i < r->n; i++) {
    rb_tenant *t = &r->t[i];
    if (!t->has_vm)
      continue;
    edv__name_subnet(t->id, name, sizeof(name));
    snprintf(path, sizeof(path),
             "/compute/v1/projects/%s/regions/%s/subnetworks/%s", project,
             t->region, name);
    rb_get_one(r, RB_SUBNET, i, EDV_API_COMPUTE, path,
               "compute.subnetworks.get");
    edv__name_secret(t->id, name, sizeof(name));
    snprintf(path, sizeof(path), "/v1/projects/%s/secrets/%s/versions/latest",
             project, name);
    rb_get_one(r, RB_SECRET, i, EDV_API_SECRETMANAGER, path,
               "secretmanager.secrets.versions.get");
  }
}

static int rb_steps_done(rb *r, const char *id, const edv__step_def *defs,
                         unsigned n, const char *pw_version, edv_error *err)
{
  edv__step_rec s;
  int64_t now = edv__store_now(r->f->store);
  int result = 0;

  for (unsigned i = 0; !result && i < n; i++) {
    memset(&s, 0, sizeof(s));
    snprintf(s.tenant, sizeof(s.tenant), "%s", id);
    snprintf(s.step, sizeof(s.step), "%s", defs[i].name);
    s.state = EDV_STEP_DONE;
    s.attempt = 1;
    /* sql_user records which secret version the password was set from
     * (tenant/steps_tenant.c): the latest, as far as the cloud says. */
    if (pw_version && strcmp(defs[i].name, "sql_user") == 0)
      snprintf(s.resource, sizeof(s.resource), "%s", pw_version);
    s.started_ms = s.finished_ms = now;
    result = edv__store_step_put(r->f->store, &s, err);
  }
  return result;
}

/* The tenant's release, recorded again when the store lacks it. */
static int rb_release(rb *r, const rb_tenant *t, edv_error *err)
{
  edv__release_rec rel;

  if (!t->release[0] ||
      edv__store_release_get(r->f->store, t->release, &rel, NULL) == 0)
    return 0;
  memset(&rel, 0, sizeof(rel));
  snprintf(rel.version, sizeof(rel.version), "%s", t->release);
  snprintf(rel.image, sizeof(rel.image), "%s", t->release_image);
  snprintf(rel.notes, sizeof(rel.notes),
           "recorded again by state rebuild from tenant %s's VM", t->id);
  return edv__store_release_put(r->f->store, &rel, err);
}

static int rb_put(rb *r, const char *id, const char *slug, const char *tier,
                  const char *spec_json, uint32_t gen, const char *release,
                  edv_tenant_phase phase, edv_error *err)
{
  edv__tenant_rec rec;

  memset(&rec, 0, sizeof(rec));
  snprintf(rec.release, sizeof(rec.release), "%s", release);
  snprintf(rec.id, sizeof(rec.id), "%s", id);
  snprintf(rec.slug, sizeof(rec.slug), "%s", slug);
  snprintf(rec.tier, sizeof(rec.tier), "%s", tier);
  snprintf(rec.spec_json, sizeof(rec.spec_json), "%s", spec_json);
  rec.phase = phase;
  rec.generation = gen;
  return edv__store_tenant_put(r->f->store, &rec, EDV_PUT_CREATE, err);
}

/* One tenant's records; -1 (with t->why) when it is not recorded. */
static int rb_tenant_write(rb *r, rb_tenant *t, edv_error *err)
{
  edv__tenant_spec spec;
  edv_cidr c, got;
  edv_error e;
  json_object *js;
  edv__journal_rec j;
  int result;

  if (!t->has_vm || !t->subnet[0] || !t->generation) {
    if (!t->why[0])
      snprintf(t->why, sizeof(t->why), "%s",
               !t->has_vm      ? "no VM labelled for it"
               : !t->subnet[0] ? "no subnetwork of its own"
                               : "no Cloud SQL instance labelled for it");
    return -1;
  }
  memset(&e, 0, sizeof(e));
  /* A scale relabels the database, not the VM (docs/status.md). */
  if (t->sql_tier[0])
    memcpy(t->tier, t->sql_tier, sizeof(t->tier));
  if (edv__spec_set(&spec, t->id, t->slug, t->name, t->tier, t->region, &e) ||
      edv__spec_validate(&spec, edv__fleet_tiers(r->f->machine), NULL, NULL,
                         edv__fleet_domain(r->f->machine), &e) ||
      edv__cidr_parse(t->subnet, &c)) {
    snprintf(t->why, sizeof(t->why), "%.190s",
             e.code ? e.message : "subnetwork range unreadable");
    return -1;
  }
  spec.ops_ssh = t->ops_ssh;
  if (!(js = edv__spec_to_json(&spec)))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  /* Stopped and out of the URL map: in its deletion grace. */
  t->suspended = t->stopped && r->urlmap &&
                 edv__urlmap_rule_ok(r->urlmap, t->id, NULL, NULL);
  result = rb_release(r, t, err);
  if (!result)
    result = rb_put(r, t->id, t->slug, t->tier,
                    json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN),
                    t->generation, t->release,
                    t->suspended ? EDV_PHASE_SUSPENDED : EDV_PHASE_READY, err);
  json_object_put(js);
  if (result ||
      (result = edv__store_subnet_allocate(r->f->store, t->id, &c, c.prefix,
                                           NULL, 0, &got, err)) ||
      (result = rb_steps_done(r, t->id, edv__tenant_steps, edv__tenant_nsteps,
                              t->pw_version, err)))
    return result;
  if (t->vm_gen > 0) {
    edv__vmgen g;
    edv__step_rec s;

    memset(&g, 0, sizeof(g));
    g.cur = (unsigned)t->vm_gen;
    edv__vmgen_record(t->id, &g, edv__store_now(r->f->store), &s);
    if ((result = edv__store_step_put(r->f->store, &s, err)))
      return result;
  }
  memset(&j, 0, sizeof(j));
  snprintf(j.tenant, sizeof(j.tenant), "%s", t->id);
  snprintf(j.actor, sizeof(j.actor), "%s", r->f->actor);
  snprintf(j.event, sizeof(j.event), "rebuilt");
  snprintf(j.api_call, sizeof(j.api_call), "state rebuild");
  return edv__store_journal_append(r->f->store, &j, NULL, err);
}

typedef struct rb_ids {
  char (*id)[EDV_STORE_ID_SZ];
  size_t n, cap;
} rb_ids;

static int rb_collect(void *data, const edv__tenant_rec *rec)
{
  rb_ids *ids = data;

  if (ids->n == ids->cap) {
    size_t cap = ids->cap ? ids->cap * 2 : 64;
    void *p = realloc(ids->id, cap * sizeof(*ids->id));
    if (!p)
      return 1;
    ids->id = p;
    ids->cap = cap;
  }
  memcpy(ids->id[ids->n++], rec->id, sizeof(rec->id));
  return 0;
}

/* Drops every tenant record (steps, subnets and leases go with them; the
 * journal stays), inside the caller's transaction. */
static int rb_clear(edv_store *st, edv_error *err)
{
  edv__tenant_filter flt;
  rb_ids ids = {NULL, 0, 0};
  char after[EDV_STORE_ID_SZ] = "";
  int result;

  do {
    memset(&flt, 0, sizeof(flt));
    flt.phase = -1;
    flt.after = after;
    flt.limit = 1000;
    result = edv__store_tenant_list(st, &flt, rb_collect, &ids, after,
                                    sizeof(after), err);
  } while (!result && after[0]);
  for (size_t i = 0; !result && i < ids.n; i++)
    result = edv__store_tenant_delete(st, ids.id[i], err);
  free(ids.id);
  return result;
}

/* Every record, in one transaction (with --force, the old records'
 * removal too: a rebuild killed half-way leaves the store as it was);
 * the answer. */
static int rb_write(rb *r, json_object *ans, edv_error *err)
{
  json_object *done = json_object_new_array(),
              *skipped = json_object_new_array();
  int result;

  json_object_object_add(ans, "tenants", done);
  json_object_object_add(ans, "skipped", skipped);
  json_object_object_add(
      ans, "platform",
      json_object_new_string(r->platform ? "READY" : "MISSING"));
  json_object_object_add(ans, "backup", edv__view_str(r->backup));
  if ((result = edv__store_begin(r->f->store, err)))
    return result;
  if (r->backup[0] && (result = rb_clear(r->f->store, err)))
    goto fail;
  if (r->platform &&
      ((result = rb_put(r, EDV_PLATFORM_ID, EDV_PLATFORM_ID, "platform", "{}",
                        1, "", EDV_PHASE_READY, err)) ||
       (result = rb_steps_done(r, EDV_PLATFORM_ID, edv__platform_steps,
                               edv__platform_nsteps, NULL, err))))
    goto fail;
  for (size_t i = 0; i < r->n; i++) {
    rb_tenant *t = &r->t[i];
    json_object *o = json_object_new_object();
    result = rb_tenant_write(r, t, err);
    if (result > 0)
      goto fail;
    json_object_object_add(o, "id", json_object_new_string(t->id));
    if (result < 0) {
      json_object_object_add(o, "reason", json_object_new_string(t->why));
      json_object_array_add(skipped, o);
      continue;
    }
    json_object_object_add(
        o, "phase",
        json_object_new_string(t->suspended ? "SUSPENDED" : "READY"));
    json_object_object_add(o, "tier", json_object_new_string(t->tier));
    json_object_object_add(o, "region", json_object_new_string(t->region));
    json_object_object_add(o, "subnet", json_object_new_string(t->subnet));
    json_object_object_add(o, "generation",
                           json_object_new_int64(t->generation));
    json_object_array_add(done, o);
  }
  return edv__store_commit(r->f->store, err);
fail:
  edv__store_rollback(r->f->store, NULL);
  return result;
}

static void rb_end(rb *r)
{
  json_object *ans = json_object_new_object();
  edv_error e;

  if (r->stopped) {
    edv_error_set(&e, EDV_ECANCELED, "state rebuild: the fleet closed");
    rb_fail(r, &e);
  } else {
    r->f->rebuild = NULL;
  }
  if (!r->failed && rb_write(r, ans, &e))
    rb_fail(r, &e);
  r->cb(r->data, r->failed ? NULL : ans, r->failed ? &r->err : NULL);
  json_object_put(ans);
  json_object_put(r->urlmap);
  free(r->t);
  free(r);
}

static int rb_cmp(const void *a, const void *b)
{
  return strcmp(((const rb_tenant *)a)->id, ((const rb_tenant *)b)->id);
}

/* A call ended: the next stage once none is left. */
static void rb_step(rb *r)
{
  if (--r->pending)
    return;
  if (r->failed || r->stopped) {
    rb_end(r);
    return;
  }
  if (r->details) {
    rb_end(r);
    return;
  }
  r->details = 1;
  qsort(r->t, r->n, sizeof(*r->t), rb_cmp);
  r->pending++; /* a guard while the GETs start */
  rb_details(r);
  rb_step(r);
}

/* The lists and the VPC: 0, or an error when none could start. */
static int rb_start(rb *r, edv_error *err)
{
  char path[600];

  r->pending++; /* the guard */
  rb_list(r, &edv__kinds[EDV_KIND_VM]);
  rb_list(r, &edv__kinds[EDV_KIND_SQL_INSTANCE]);
  rb_list(r, &edv__kinds[EDV_KIND_FW_OPS_SSH]);
  snprintf(path, sizeof(path), "/compute/v1/projects/%s/global/networks/%s",
           edv_engine_project(r->f->engine), edv__fleet_network(r->f->machine));
  rb_get_one(r, RB_NETWORK, 0, EDV_API_COMPUTE, path, "compute.networks.get");
  snprintf(path, sizeof(path), "/compute/v1/projects/%s/global/urlMaps/%s",
           edv_engine_project(r->f->engine), EDV_URLMAP_NAME);
  rb_get_one(r, RB_URLMAP, 0, EDV_API_COMPUTE, path, "compute.urlMaps.get");
  if (r->pending == 1) {
    *err = r->err;
    return err->code ? err->code : EDV_ENOMEM;
  }
  rb_step(r); /* drops the guard: calls are in flight */
  return 0;
}

static void rb_backed_up(void *data, const edv_error *err)
{
  rb *r = data;
  edv_error e;

  if (err)
    rb_fail(r, err);
  else if (!r->stopped && rb_start(r, &e))
    rb_fail(r, &e);
  else if (!r->stopped)
    return; /* the lists are on their way */
  r->pending = 1;
  rb_step(r); /* the end: the error, or ECANCELED */
}

/* "STATE_DIR/edv.db.bak-YYYYMMDDTHHMMSS.mmmZ.db", which must not exist
 * yet (a backup is never replaced). */
static int rb_backup_name(edv_fleet *f, char *buf, size_t size, edv_error *err)
{
  int64_t ms = edv__store_now(f->store);
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char stamp[32];

  if (!gmtime_r(&t, &tm) ||
      !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) ||
      snprintf(buf, size, "%s/edv.db.bak-%s.%03dZ.db", f->state_dir, stamp,
               (int)(ms % 1000)) >= (int)size)
    return edv_error_set(err, EDV_EINVAL, "state rebuild: state_dir too long");
  if (access(buf, F_OK) == 0)
    return edv_error_set(err, EDV_EEXIST, "state rebuild: %s exists", buf);
  return 0;
}

int edv_fleet_state_rebuild(edv_fleet *fleet, unsigned flags, edv_fleet_cb cb,
                            void *data, edv_error *err)
{
  edv_error e;
  rb *r;
  int result, empty;

  if (!fleet || !cb)
    return edv_error_set(err, EDV_EINVAL,
                         "state rebuild: no fleet or callback");
  empty = edv__state_empty(fleet, 0, &e) == 0;
  if (!empty && !(flags & EDV_STATE_FORCE))
    return edv_error_set(err, EDV_ECONFLICT,
                         "%s; or --force, which first copies it to "
                         "edv.db.bak-TIME.db",
                         e.message);
  if (!(r = calloc(1, sizeof(*r))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  r->f = fleet;
  r->flags = flags;
  r->cb = cb;
  r->data = data;
  if (empty)
    result = rb_start(r, err);
  else if ((result =
                rb_backup_name(fleet, r->backup, sizeof(r->backup), err)) == 0)
    result = edv_fleet_snapshot(fleet, r->backup, rb_backed_up, r, err);
  if (result) {
    free(r->t);
    free(r);
  } else {
    fleet->rebuild = r;
  }
  return result;
}

void edv__state_rebuild_stop(edv_fleet *f)
{
  rb *r = f->rebuild;

  if (r) {
    r->stopped = 1;
    f->rebuild = NULL;
  }
}
