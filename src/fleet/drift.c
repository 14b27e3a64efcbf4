/*
 * drift.c - the reconciler's drift detection and orphan handling
 * (docs/operations.md, "Drift and orphans").
 *
 * One pass costs a fixed handful of list calls for the whole fleet, never
 * one GET per resource. Each list is filtered by our label (or, for the
 * label-less kinds, by our name prefix / the fleet's zone), asks for the
 * largest page the API allows, and is followed through its pages:
 *
 *   instances      compute.instances.aggregatedList  labels.edv-managed
 *   firewalls      compute.firewalls.list            name "edv-.*"
 *   sql_instances  sql.instances.list                settings.userLabels
 *   certificates   certificatemanager certificates.list (global)  labels
 *   addresses      compute.globalAddresses.list      the LB address
 *   dns_zones      dns.managedZones.list             dnsName = the domain
 *   dns_records    dns.resourceRecordSets.list       the fleet's zone
 *   subnets        compute.subnetworks.aggregatedList name "edv-.*"
 *   cert_map_entries certificateMapEntries.list (the fleet's map)  labels
 *   url_map        compute.urlMaps.get               the fleet's URL map
 *
 * (dns_records starts when dns_zones has named the zone.) The pass then
 * judges every READY tenant nobody is driving against what its tier and
 * spec want: a missing VM, firewall rule, SQL instance, certificate, DNS
 * record, subnetwork or certificate map entry, a VM, SQL instance,
 * firewall rule, subnetwork, certificate map entry or URL map host rule
 * whose kind's diff (tenant/kinds.h: the one its step repairs with) finds
 * differences, a FAILED certificate, an A record that does not point at
 * the load balancer. A drifted tenant is driven
 * again, so the same steps that made the resources put them back (observe ->
 * diff -> act); each drifted item is journalled ("drift") once.
 *
 * A drift that the steps do not fix comes back on the next pass. The
 * tenant is then driven again only after 2, 4, 8 ... (at most 32) passes,
 * counted, not journalled again: an operator gets one journal entry per
 * drift, not one per pass. The tenant's entry goes when the drift does.
 *
 * Resources that carry our labels (or, for firewall rules, our name prefix
 * and description marker; for DNS records, a name under the fleet's domain
 * pointing at our load balancer or at a Certificate Manager authorization)
 * for a tenant the store does not know, or knows as DELETED since before
 * the pass began and nobody is deleting, are orphans: logged, listed in
 * /api/infrastructure/status, counted in /metrics, and deleted only when
 * server.delete_orphans is true (audit-logged and journalled under the
 * owning tenant id). A tenant record is written before its first
 * resource, so an unknown owner really is one.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "gcp/gcp.h"
#include "fleet/recon.h"
#include "tenant/kinds.h"
#include "tenant/shared.h"
#include "tenant/spec.h"
#include "tenant/steps.h"

#define MOD "reconciler"

/* Re-drive back-off for a drift that does not go away (passes). */
#define DRIFT_BACKOFF_FIRST 2u
#define DRIFT_BACKOFF_MAX   32u
/* Passes before an orphan whose deletion was asked is asked again. */
#define ORPHAN_RETRY_PASSES 5u
/* Drift items judged per tenant (more are summarised). */
#define DRIFT_ITEMS_MAX 12

/* The list kinds of a pass, in the order of edv__drift_kinds[]. */
enum {
  K_VM,
  K_FW,
  K_SQL,
  K_CERT,
  K_ADDR,
  K_ZONE,
  K_DNS,
  K_SUBNET,
  K_ENTRY,
  K_URLMAP,
  K__N,
};

const char *const edv__drift_kinds[EDV_DRIFT_KINDS] = {
    "instances",        "firewalls", "sql_instances", "certificates",
    "addresses",        "dns_zones", "dns_records",   "subnets",
    "cert_map_entries", "url_map",
};

const char *const edv__orphan_kinds[EDV_ORPHAN_KINDS] = {
    "instance",   "sql_instance", "certificate",    "firewall",
    "dns_record", "subnet",       "cert_map_entry",
};

/* The orphan kinds, in the order of edv__orphan_kinds[], and the tenant
 * kind (tenant/kinds.h) each is: its ownership, path and deletion. URL
 * map host rules carry no owner: never orphans. */
enum { O_INSTANCE, O_SQL, O_CERT, O_FW, O_DNS, O_SUBNET, O_ENTRY };
static const edv__kind_id orphan_kind[EDV_ORPHAN_KINDS] = {
    [O_INSTANCE] = EDV_KIND_VM,          [O_SQL] = EDV_KIND_SQL_INSTANCE,
    [O_CERT] = EDV_KIND_CERTIFICATE,     [O_FW] = EDV_KIND_FW_ALLOW_LB,
    [O_DNS] = EDV_KIND_DNS_RECORD,       [O_SUBNET] = EDV_KIND_SUBNET,
    [O_ENTRY] = EDV_KIND_CERT_MAP_ENTRY,
};

struct edv__drift {
  edv__recon *d;
  json_object *vms;          /* instance name -> instance */
  json_object *fws;          /* firewall name -> firewall */
  json_object *sqls;         /* SQL instance name -> instance */
  json_object *certs;        /* certificate id (last segment) -> certificate */
  json_object *rrsets;       /* "name TYPE" -> rrset */
  json_object *zones;        /* instance name -> zone */
  json_object *subnets;      /* subnetwork name -> subnetwork */
  json_object *entries;      /* certificate map entry id -> entry */
  json_object *urlmap;       /* the fleet's URL map (NULL until read) */
  char zone[128];            /* the fleet's managed zone ("" until listed) */
  char lb_ip[64];            /* the load balancer's address ("" when none) */
  char domain[EDV_FQDN_MAX]; /* "edvirons.com." */
  int pending;               /* list walks not yet done */
  int failed;                /* a walk failed: judge nothing this pass */
  unsigned calls[K__N];      /* pages fetched, per kind */
  int64_t t0_wall;           /* store clock when the pass began */
  uint64_t t0;
  json_object *prev_seen;  /* the last pass's orphans_seen (find_orphans) */
  unsigned orphan_deletes; /* deletions asked in this pass */
};

typedef struct walk {
  edv__drift *x;
  int kind;
} walk;

/* ---- list pages -----------------------------------------------------------*/

static const char *last_seg(const char *s)
{
  const char *p = s ? strrchr(s, '/') : NULL;

  return p ? p + 1 : (s ? s : "");
}

static void keep(json_object *map, json_object *item, const char *name)
{
  if (name && *name)
    json_object_object_add(map, name, json_object_get(item));
}

static void add_instance(edv__drift *x, json_object *inst)
{
  const char *n = edv__jstr(inst, "name"), *z = edv__jstr(inst, "zone");

  if (!n)
    return;
  keep(x->vms, inst, n);
  if (z)
    json_object_object_add(x->zones, n, json_object_new_string(last_seg(z)));
}

static void page_items(json_object *page, const char *key, json_object *map,
                       int by_last_segment)
{
  json_object *items = edv__jget(page, key);

  if (!items || !json_object_is_type(items, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *n = edv__jstr(it, "name");
    keep(map, it, by_last_segment ? last_seg(n) : n);
  }
}

/* The items of an aggregatedList page, {"zones/z": {key: [...]}, ...}
 * (or a plain array), each given to add (instances) or kept in map. */
static void aggregated(edv__drift *x, json_object *page, const char *key,
                       json_object *map)
{
  json_object *items = edv__jget(page, "items");

  if (items && json_object_is_type(items, json_type_object)) {
    json_object_object_foreach(items, scope, val)
    {
      json_object *arr = edv__jget(val, key);
      (void)scope;
      for (size_t i = 0; i < edv__jarr_len(arr); i++) {
        json_object *it = json_object_array_get_idx(arr, i);
        if (map)
          keep(map, it, edv__jstr(it, "name"));
        else
          add_instance(x, it);
      }
    }
  } else if (map) {
    page_items(page, "items", map, 0);
  } else {
    for (size_t i = 0; i < edv__jarr_len(items); i++)
      add_instance(x, json_object_array_get_idx(items, i));
  }
}

static int on_page(void *data, json_object *page)
{
  walk *w = data;
  edv__drift *x = w->x;
  json_object *items;

  x->calls[w->kind]++;
  switch (w->kind) {
  case K_VM:
    aggregated(x, page, "instances", NULL);
    break;
  case K_SUBNET:
    aggregated(x, page, "subnetworks", x->subnets);
    break;
  case K_ENTRY:
    page_items(page, "certificateMapEntries", x->entries, 1);
    break;
  case K_URLMAP:
    json_object_put(x->urlmap);
    x->urlmap = json_object_get(page);
    break;
  case K_FW:
    page_items(page, "items", x->fws, 0);
    break;
  case K_SQL:
    page_items(page, "items", x->sqls, 0);
    break;
  case K_CERT:
    page_items(page, "certificates", x->certs, 1);
    break;
  case K_ADDR:
    items = edv__jget(page, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
      json_object *a = json_object_array_get_idx(items, i);
      const char *n = edv__jstr(a, "name"), *ip = edv__jstr(a, "address");
      if (n && ip && strcmp(n, EDV_LB_IP_NAME) == 0)
        snprintf(x->lb_ip, sizeof(x->lb_ip), "%s", ip);
    }
    break;
  case K_ZONE:
    items = edv__jget(page, "managedZones");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
      json_object *z = json_object_array_get_idx(items, i);
      const char *dn = edv__jstr(z, "dnsName"), *n = edv__jstr(z, "name");
      if (dn && n && strcasecmp(dn, x->domain) == 0)
        snprintf(x->zone, sizeof(x->zone), "%s", n);
    }
    break;
  case K_DNS:
    items = edv__jget(page, "rrsets");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
      json_object *rr = json_object_array_get_idx(items, i);
      const char *n = edv__jstr(rr, "name"), *t = edv__jstr(rr, "type");
      char key[EDV_FQDN_MAX + 16];
      if (!n || !t)
        continue;
      snprintf(key, sizeof(key), "%s %s", n, t);
      for (char *p = key; *p && *p != ' '; p++)
        if (*p >= 'A' && *p <= 'Z')
          *p = (char)(*p - 'A' + 'a');
      keep(x->rrsets, rr, key);
    }
    break;
  default:
    break;
  }
  return 0;
}

static void drift_judge(edv__drift *x);
static void drift_free(edv__drift *x);
static int start_walk(edv__drift *x, int kind);

static void on_walk_done(void *data, const edv_error *err, unsigned pages)
{
  walk *w = data;
  edv__drift *x = w->x;
  int kind = w->kind;

  (void)pages;
  free(w);
  if (err && err->code) {
    if (err->code != EDV_ECANCELED)
      EDV_LOG_W(MOD, "drift pass: %s list failed: %s", edv__drift_kinds[kind],
                err->message);
    x->failed = 1;
  } else if (kind == K_ZONE && !x->failed && !x->d->stopping) {
    if (!x->zone[0]) {
      EDV_LOG_W(MOD, "drift pass: no Cloud DNS managed zone for '%s'",
                x->domain);
      x->failed = 1;
    } else if (start_walk(x, K_DNS) == 0) {
      x->pending++;
    } else {
      x->failed = 1;
    }
  }
  if (--x->pending > 0)
    return;
  if (!x->failed && !x->d->stopping)
    drift_judge(x);
  drift_free(x);
}

/* The tenant kind (tenant/kinds.h) each list walks, or -1 for the
 * platform's (the load balancer's address, the fleet's managed zone). The
 * firewall rules of every kind come in one list. */
static const int walk_kind[K__N] = {
    [K_VM] = EDV_KIND_VM,
    [K_FW] = EDV_KIND_FW_ALLOW_LB,
    [K_SQL] = EDV_KIND_SQL_INSTANCE,
    [K_CERT] = EDV_KIND_CERTIFICATE,
    [K_ADDR] = -1,
    [K_ZONE] = -1,
    [K_DNS] = EDV_KIND_DNS_RECORD,
    [K_SUBNET] = EDV_KIND_SUBNET,
    [K_ENTRY] = EDV_KIND_CERT_MAP_ENTRY,
    [K_URLMAP] = -1,
};

void edv__drift_detection(char *buf, size_t size)
{
  size_t off = 0;

  buf[0] = '\0';
  for (int kind = 0; kind < K__N && off < size; kind++) {
    /* The URL map is read for its host rules: they are in its diff. */
    int kid = kind == K_URLMAP ? EDV_KIND_URL_MAP_RULE : walk_kind[kind];
    const edv__kind *k;

    if (kid < 0)
      continue;
    k = &edv__kinds[kid];
    off += (size_t)snprintf(
        buf + off, size - off, "%s%s (%s%s%s)", off ? ", " : "", k->title,
        kind == K_URLMAP ? "" : "existence, ", kind == K_CERT ? "FAILED, " : "",
        k->compares ? k->compares : "");
  }
}

/* The path of one list call: the kind's collection and drift query, or
 * the platform's. 0, or -1 (too long, or no zone yet). */
static int walk_path(edv__drift *x, int kind, edv_request *rq, char *path,
                     size_t size)
{
  const char *project = edv__fleet_project(x->d->fleet);
  char *esc;
  int rc;

  if (walk_kind[kind] >= 0) {
    const edv__kind *k = &edv__kinds[walk_kind[kind]];
    size_t n;
    esc = edv__url_escape(x->zone);
    rc = !esc || edv__kind_path(k->list, project, NULL, NULL, NULL,
                                x->zone[0] ? esc : NULL, path, size);
    free(esc);
    n = strlen(path);
    if (rc ||
        (size_t)snprintf(path + n, size - n, "?%s", k->list_query) >= size - n)
      return -1;
    rq->api = k->api;
    rq->label = k->list_label;
    return 0;
  }
  if (kind == K_URLMAP) {
    /* One GET: the map is one resource, its host rules inside. */
    if (edv__kind_path(edv__kinds[EDV_KIND_URL_MAP_RULE].path, project, NULL,
                       NULL, NULL, NULL, path, size))
      return -1;
    rq->label = "compute.urlMaps.get";
    return 0;
  }
  if (kind == K_ADDR) {
    snprintf(path, size,
             "/compute/v1/projects/%s/global/addresses?filter=name%%20eq%%20"
             "%%22%s%%22&maxResults=500",
             project, EDV_LB_IP_NAME);
    rq->label = "compute.globalAddresses.list";
    return 0;
  }
  esc = edv__url_escape(x->domain);
  if (!esc)
    return -1;
  snprintf(path, size,
           "/dns/v1/projects/%s/managedZones?dnsName=%s&maxResults=1000",
           project, esc);
  free(esc);
  rq->api = EDV_API_DNS;
  rq->label = "dns.managedZones.list";
  return 0;
}

/* The list call of one kind (maxResults / pageSize at the API maximum). */
static int start_walk(edv__drift *x, int kind)
{
  char path[600];
  edv_request rq;
  walk *w;

  memset(&rq, 0, sizeof(rq));
  rq.method = "GET";
  rq.api = EDV_API_COMPUTE;
  path[0] = '\0';
  if (walk_path(x, kind, &rq, path, sizeof(path)))
    return -1;
  rq.path = path;
  w = calloc(1, sizeof(*w));
  if (!w)
    return -1;
  w->x = x;
  w->kind = kind;
  if (edv_call_pages(x->d->engine, &rq, on_page, on_walk_done, w) != 0) {
    free(w);
    return -1;
  }
  return 0;
}

/* ---- the fleet as the store knows it --------------------------------------*/

typedef struct tinfo {
  char id[EDV_STORE_ID_SZ];
  char slug[EDV_STORE_SLUG_SZ];
  char tier[EDV_STORE_TIER_SZ];
  edv_tenant_phase phase;
  uint32_t generation;
  int64_t updated_ms;
} tinfo;

typedef struct tlist {
  tinfo *v;
  size_t n, cap;
  int oom;
} tlist;

static int tlist_one(void *data, const edv__tenant_rec *rec)
{
  tlist *l = data;
  tinfo *t;

  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    tinfo *p = realloc(l->v, cap * sizeof(*p));
    if (!p) {
      l->oom = 1;
      return 1;
    }
    l->v = p;
    l->cap = cap;
  }
  t = &l->v[l->n++];
  snprintf(t->id, sizeof(t->id), "%s", rec->id);
  snprintf(t->slug, sizeof(t->slug), "%s", rec->slug);
  snprintf(t->tier, sizeof(t->tier), "%s", rec->tier);
  t->phase = rec->phase;
  t->generation = rec->generation;
  t->updated_ms = rec->updated_ms;
  return 0;
}

/* Every tenant (the platform too), collected before anything is driven:
 * the store must not be called from inside its own list callback. */
static int tlist_load(edv__recon *d, tlist *l)
{
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ] = "";
  edv_error err;

  memset(l, 0, sizeof(*l));
  memset(&f, 0, sizeof(f));
  f.phase = -1;
  f.limit = 1000;
  do {
    f.after = next;
    if (edv__store_tenant_list(d->store, &f, tlist_one, l, next, sizeof(next),
                               &err)) {
      EDV_LOG_E(MOD, "drift pass: cannot list tenants: %s", err.message);
      return -1;
    }
    if (l->oom)
      return -1;
  } while (next[0]);
  return 0;
}

/* ---- judging one tenant ---------------------------------------------------*/

typedef struct items {
  char v[DRIFT_ITEMS_MAX][EDV_STORE_SMALL_SZ];
  unsigned n, more;
} items;

static void item(items *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void item(items *it, const char *fmt, ...)
{
  va_list ap;

  if (it->n >= DRIFT_ITEMS_MAX) {
    it->more++;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(it->v[it->n++], sizeof(it->v[0]), fmt, ap);
  va_end(ap);
}

/*
 * Settings the tier decides, where the listing carries them: the kind's
 * own diff (tenant/kinds.h), the one its step repairs with, so that what
 * the pass reports is what the step puts right. One item per difference.
 */
static void judge_with(edv__kind_id kind, const edv__kind_ctx *c,
                       json_object *res, const char *name, items *it)
{
  const edv__kind *k = &edv__kinds[kind];
  char text[1024];
  const char *p = text, *e;

  /* The VM's and the database's settings are the tier's. */
  if (!k->diff || (!c->tier && (k->diff == edv__kind_vm_diff ||
                                k->diff == edv__kind_sql_diff)))
    return;
  if (k->diff(c, res, NULL, text, sizeof(text)) <= 0)
    return;
  for (; *p; p = e ? e + strlen(EDV_KIND_NOTE_SEP) : p + strlen(p)) {
    e = strstr(p, EDV_KIND_NOTE_SEP);
    item(it, "%s %s: %.*s", k->title, name, e ? (int)(e - p) : (int)strlen(p),
         p);
  }
}

/* What the diffs of tenant ti compare against (hosts, cidr and backend
 * are the caller's). */
static void ctx_of(edv__drift *x, const tinfo *ti, const edv__tier *t,
                   edv__kind_ctx *c)
{
  memset(c, 0, sizeof(*c));
  c->tier = t;
  c->tenant = ti->id;
  c->project = edv__fleet_project(x->d->fleet);
  c->network = edv__fleet_network(x->d->fleet);
}

static void judge_kind(edv__drift *x, edv__kind_id kind, const tinfo *ti,
                       const edv__tier *t, json_object *res, const char *name,
                       const char *db_ip, items *it)
{
  edv__kind_ctx c;

  ctx_of(x, ti, t, &c);
  c.db_ip = db_ip;
  judge_with(kind, &c, res, name, it);
}

static json_object *rrset(edv__drift *x, const char *name, const char *type)
{
  char key[EDV_FQDN_MAX + 48];
  json_object *rr;

  snprintf(key, sizeof(key), "%s %s", name, type);
  for (char *p = key; *p && *p != ' '; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return json_object_object_get_ex(x->rrsets, key, &rr) ? rr : NULL;
}

/*
 * The tenant's DNS records: for each hostname its A record and its
 * challenge CNAME there, each as the DNS records' diff wants it (the A
 * record holds the load balancer's address alone, with the records' TTL:
 * the comparison the DNS writer makes before it writes).
 */
static void judge_dns(edv__drift *x, const tinfo *ti, items *it)
{
  edv__kind_who w = {ti->id, ti->slug, ti->generation, NULL, x->domain};
  const edv__kind *k = &edv__kinds[EDV_KIND_DNS_RECORD];
  char host[2][EDV_FQDN_MAX], acme[EDV_FQDN_MAX + 20];
  const char *hosts[3] = {NULL, NULL, NULL};
  edv__kind_ctx c;
  unsigned nhosts = 0;

  ctx_of(x, ti, NULL, &c);
  c.lb_ip = x->lb_ip[0] ? x->lb_ip : NULL;
  while (nhosts < 2 &&
         k->name(&w, nhosts, host[nhosts], sizeof(host[nhosts])) == 0) {
    hosts[nhosts] = host[nhosts];
    nhosts++;
  }
  c.hosts = hosts;
  for (unsigned h = 0; h < nhosts; h++) {
    json_object *a = rrset(x, host[h], "A"), *cname;
    snprintf(acme, sizeof(acme), "_acme-challenge.%.*s", EDV_FQDN_MAX - 1,
             host[h]);
    cname = rrset(x, acme, "CNAME");
    if (!a)
      item(it, "missing DNS record A %.80s", host[h]);
    else
      judge_with(EDV_KIND_DNS_RECORD, &c, a, host[h], it);
    if (!cname)
      item(it, "missing DNS record CNAME %.90s", acme);
    else
      judge_with(EDV_KIND_DNS_RECORD, &c, cname, acme, it);
  }
}

/* The private IP of a listed Cloud SQL instance, or NULL. */
static const char *sql_private_ip(json_object *inst)
{
  json_object *ips = edv__jget(inst, "ipAddresses");

  for (size_t i = 0; i < edv__jarr_len(ips); i++) {
    json_object *ip = json_object_array_get_idx(ips, i);
    const char *type = edv__jstr(ip, "type");
    if (type && strcmp(type, "PRIVATE") == 0)
      return edv__jstr(ip, "ipAddress");
  }
  return NULL;
}

/* The tenant's firewall rules: each there (operations SSH is optional)
 * and as its kind's diff wants it (the egress rule to its own database
 * once the database's address is known). */
static void judge_firewalls(edv__drift *x, const tinfo *ti, const char *db_ip,
                            items *it)
{
  edv__kind_who w = {ti->id, ti->slug, ti->generation, NULL, NULL};
  char fw[EDV_NAME_MAX];
  json_object *o;

  for (unsigned k = 0; k < EDV_KIND__COUNT; k++) {
    if (edv__kinds[k].diff != edv__kind_fw_diff ||
        edv__kinds[k].name(&w, 0, fw, sizeof(fw)))
      continue;
    if (!json_object_object_get_ex(x->fws, fw, &o)) {
      if (k != EDV_KIND_FW_OPS_SSH)
        item(it, "missing firewall %s", fw);
    } else if (k != EDV_KIND_FW_ALLOW_DB || db_ip) {
      judge_kind(x, (edv__kind_id)k, ti, NULL, o, fw, db_ip, it);
    }
  }
}

/*
 * The tenant's subnetwork (its recorded range, private Google access),
 * its certificate map entries (one per hostname, serving its certificate)
 * and its host rule in the URL map (its hostnames, to its backend
 * service): each with its kind's diff.
 */
static void judge_edge(edv__drift *x, const tinfo *ti, const edv__tier *t,
                       items *it)
{
  edv__kind_who w = {ti->id, ti->slug, ti->generation,
                     edv__fleet_project(x->d->fleet),
                     edv__fleet_domain(x->d->fleet)};
  char host[2][EDV_FQDN_MAX], name[EDV_NAME_MAX], cidr[EDV_CIDR_STRLEN + 1];
  char bes[EDV_NAME_MAX], link[512];
  const char *hosts[3] = {NULL, NULL, NULL};
  edv__kind_ctx c;
  edv_cidr got;
  json_object *o;

  ctx_of(x, ti, t, &c); /* the tier: the entries' tier label */
  for (unsigned h = 0; h < 2; h++) {
    size_t n;
    if (edv__kinds[EDV_KIND_URL_MAP_RULE].name(&w, h, host[h], sizeof(host[h])))
      break;
    /* The URL map and the entries name hosts without the root dot. */
    n = strlen(host[h]);
    if (n && host[h][n - 1] == '.')
      host[h][n - 1] = '\0';
    hosts[h] = host[h];
  }
  if (!hosts[0])
    return;
  c.hosts = hosts;
  if (edv__kinds[EDV_KIND_SUBNET].name(&w, 0, name, sizeof(name)) == 0) {
    if (!json_object_object_get_ex(x->subnets, name, &o)) {
      item(it, "missing subnetwork %s", name);
    } else if (edv__store_subnet_get(x->d->store, ti->id, &got, NULL) == 0) {
      edv__cidr_format(&got, cidr, sizeof(cidr));
      c.cidr = cidr;
      judge_with(EDV_KIND_SUBNET, &c, o, name, it);
    }
  }
  for (unsigned h = 0;
       edv__kinds[EDV_KIND_CERT_MAP_ENTRY].name(&w, h, name, sizeof(name)) == 0;
       h++) {
    if (!json_object_object_get_ex(x->entries, name, &o))
      item(it, "missing certificate map entry %s", name);
    else
      judge_with(EDV_KIND_CERT_MAP_ENTRY, &c, o, name, it);
  }
  if (edv__name_backend_service(ti->id, bes, sizeof(bes)) == 0 &&
      (size_t)snprintf(link, sizeof(link),
                       "projects/%s/global/backendServices/%s", c.project,
                       bes) < sizeof(link)) {
    c.backend = link;
    judge_with(EDV_KIND_URL_MAP_RULE, &c, x->urlmap, hosts[0], it);
  }
}

static void judge_tenant(edv__drift *x, const tinfo *ti, items *it)
{
  const edv__tier *t = edv__tiers_find(x->d->tiers, ti->tier);
  char vm[EDV_NAME_MAX], sql[EDV_NAME_MAX], cert[EDV_NAME_MAX];
  json_object *o, *db = NULL;

  edv__tenant_vm_names(x->d->store, ti->id, vm, sizeof(vm), NULL, 0);
  if (edv__name_sql_instance(ti->id, ti->generation, sql, sizeof(sql)) ||
      edv__name_certificate(ti->id, cert, sizeof(cert)))
    return;
  if (!json_object_object_get_ex(x->vms, vm, &o))
    item(it, "missing instance %s", vm);
  else
    judge_kind(x, EDV_KIND_VM, ti, t, o, vm, NULL, it);
  if (!json_object_object_get_ex(x->sqls, sql, &db))
    item(it, "missing SQL instance %s", sql);
  else
    judge_kind(x, EDV_KIND_SQL_INSTANCE, ti, t, db, sql, NULL, it);
  judge_firewalls(x, ti, db ? sql_private_ip(db) : NULL, it);
  if (!json_object_object_get_ex(x->certs, cert, &o)) {
    item(it, "missing certificate %s", cert);
  } else {
    const char *st = edv__jstr(edv__jget(o, "managed"), "state");
    if (st && strcmp(st, "FAILED") == 0)
      item(it, "certificate %s is FAILED", cert);
    judge_kind(x, EDV_KIND_CERTIFICATE, ti, t, o, cert, NULL, it);
  }
  judge_dns(x, ti, it);
  judge_edge(x, ti, t, it);
}

/* ---- journal and audit ----------------------------------------------------*/

static void journal(edv__recon *d, const char *tenant, const char *event,
                    const char *what, const char *error)
{
  edv__recon_journal(d, "reconciler", tenant, event, what, error);
}

/* One JSON line for the embedder's audit log (edv_reconciler_options), in
 * the shape of edvd's own lines. */
static void audit(edv__recon *d, const char *method, const char *path,
                  const char *tenant, const char *result)
{
  json_object *o;
  char ts[40];
  time_t now = time(NULL);
  struct tm tm;

  if (!d->audit)
    return;
  gmtime_r(&now, &tm);
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
  o = json_object_new_object();
  json_object_object_add(o, "time", json_object_new_string(ts));
  json_object_object_add(o, "who", json_object_new_string("reconciler"));
  json_object_object_add(o, "role", json_object_new_string("system"));
  json_object_object_add(o, "method", json_object_new_string(method));
  json_object_object_add(o, "path", json_object_new_string(path));
  json_object_object_add(o, "tenant", json_object_new_string(tenant));
  json_object_object_add(o, "result", json_object_new_string(result));
  d->audit(d->audit_data, o);
  json_object_put(o);
}

/* ---- repairs with back-off ------------------------------------------------*/

/* Joins the items into one key (the same drift = the same key). */
static void items_key(const items *it, char *buf, size_t size)
{
  size_t len = 0;

  buf[0] = '\0';
  for (unsigned i = 0; i < it->n && len + 1 < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "; " : "",
                            it->v[i]);
  if (it->more && len + 1 < size)
    snprintf(buf + len, size - len, "; and %u more", it->more);
}

static int64_t jget_i(json_object *o, const char *k)
{
  json_object *v;

  return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void jset_i(json_object *o, const char *k, int64_t v)
{
  json_object_object_add(o, k, json_object_new_int64(v));
}

/* Drives a drifted tenant again, unless the same drift was driven
 * recently (back-off). Returns 1 when a run started. */
static int repair(edv__drift *x, const tinfo *ti, const items *it)
{
  edv__recon *d = x->d;
  char key[1024];
  json_object *e = NULL;
  int64_t pass = (int64_t)d->drift_passes;
  edv_error err;

  items_key(it, key, sizeof(key));
  if (json_object_object_get_ex(d->drift_state, ti->id, &e) &&
      strcmp(edv__jstr(e, "drift") ? edv__jstr(e, "drift") : "", key) == 0) {
    int64_t gap = jget_i(e, "gap");
    if (pass < jget_i(e, "next")) {
      jset_i(e, "skipped", jget_i(e, "skipped") + 1);
      return 0;
    }
    gap = gap * 2 > DRIFT_BACKOFF_MAX ? DRIFT_BACKOFF_MAX : gap * 2;
    jset_i(e, "gap", gap);
    jset_i(e, "next", pass + gap);
    jset_i(e, "repairs", jget_i(e, "repairs") + 1);
    EDV_LOG_W(MOD,
              "drift: tenant=%s still drifted after %lld repair(s) (%s); "
              "driving it again, next try in %lld pass(es) at the earliest",
              ti->id, (long long)jget_i(e, "repairs") - 1, key, (long long)gap);
  } else {
    char ts[40];
    time_t now = time(NULL);
    struct tm tm;

    e = json_object_new_object();
    json_object_object_add(e, "drift", json_object_new_string(key));
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_object_add(e, "since", json_object_new_string(ts));
    jset_i(e, "gap", DRIFT_BACKOFF_FIRST);
    jset_i(e, "next", pass + DRIFT_BACKOFF_FIRST);
    jset_i(e, "repairs", 1);
    jset_i(e, "skipped", 0);
    json_object_object_add(d->drift_state, ti->id, e);
    for (unsigned i = 0; i < it->n; i++) {
      EDV_LOG_W(MOD, "drift: tenant=%s %s", ti->id, it->v[i]);
      journal(d, ti->id, "drift", it->v[i], NULL);
    }
    if (it->more) {
      char more[64];
      snprintf(more, sizeof(more), "and %u more drifted item(s)", it->more);
      journal(d, ti->id, "drift", more, NULL);
    }
  }
  if (edv__recon_drive(d, ti->id, EDV_DIR_UP, NULL, NULL, &err) == 0)
    return 1;
  if (err.code != EDV_EBUSY)
    EDV_LOG_W(MOD, "drift: tenant=%s: %s", ti->id, err.message);
  return 0;
}

/* ---- orphans --------------------------------------------------------------*/

typedef struct orphan_ctx {
  edv__recon *d;
  char tenant[EDV_STORE_ID_SZ];
  char what[EDV_STORE_SMALL_SZ];
} orphan_ctx;

static void orphan_deleted(orphan_ctx *c, const edv_error *err)
{
  edv__recon *d = c->d;

  if (d->stopping) {
    /* Shutting down: the store may be closing; the next pass asks again. */
    free(c);
    edv__recon_release(d);
    return;
  }
  if (err && err->code) {
    if (err->code != EDV_ECANCELED)
      EDV_LOG_W(MOD, "orphan: %s (tenant '%s') failed: %s", c->what, c->tenant,
                err->message);
    journal(c->d, c->tenant, "orphan.delete", c->what, err->message);
  } else {
    EDV_LOG_I(MOD, "orphan: %s (tenant '%s') done", c->what, c->tenant);
    journal(c->d, c->tenant, "orphan.delete", c->what, NULL);
    c->d->orphans_deleted++;
  }
  free(c);
  edv__recon_release(d);
}

static void on_orphan_call(void *data, const edv_response *res)
{
  /* Already gone is what we wanted. */
  if (res->error && res->http_status == 404) {
    orphan_deleted(data, NULL);
    return;
  }
  orphan_deleted(data, res->error);
}

static void on_orphan_dns(void *data, const edv_error *err)
{
  orphan_deleted(data, err);
}

/* The DELETE of one orphan: its kind's path (tenant/kinds.h), with a
 * requestId where the API takes one (Compute); a record set through the
 * fleet's DNS writer. Sets rq's api and label; path "" when it cannot be
 * made (no zone known for an instance, no record type). */
static int orphan_path(edv__drift *x, int kind, const char *name,
                       json_object *res, edv_request *rq, char *path,
                       size_t size)
{
  const edv__kind *k = &edv__kinds[orphan_kind[kind]];
  const char *type = edv__jstr(res, "type"), *zone = NULL, *region = NULL;
  char rr[EDV_FQDN_MAX + 16], rid[EDV__REQUEST_ID_LEN + 1];
  json_object *z;
  size_t n;

  path[0] = '\0';
  rq->api = k->api;
  rq->label = k->remove;
  if (kind == O_INSTANCE && json_object_object_get_ex(x->zones, name, &z))
    zone = json_object_get_string(z);
  if (kind == O_SUBNET && edv__jstr(res, "region"))
    region = last_seg(edv__jstr(res, "region"));
  if (kind == O_DNS) {
    if (!type)
      return -1;
    snprintf(rr, sizeof(rr), "%s/%s", name, type);
    name = rr;
  }
  if (edv__kind_path(k->path, edv__fleet_project(x->d->fleet), region, zone,
                     name, x->zone, path, size))
    goto fail;
  n = strlen(path);
  if (k->api == EDV_API_COMPUTE &&
      (edv__request_id(rid) ||
       (size_t)snprintf(path + n, size - n, "?requestId=%s", rid) >= size - n))
    goto fail;
  return 0;
fail:
  path[0] = '\0';
  return -1;
}

/* Asks for the deletion of one orphan (DELETE with requestId where the API
 * takes one). Only for resources that carry our marks: the caller found
 * the owner in our labels / description marker / our DNS records. */
static int orphan_delete(edv__drift *x, int kind, const char *name,
                         const char *tenant, json_object *res)
{
  edv__recon *d = x->d;
  orphan_ctx *c;
  edv_request rq;
  char path[700], key[EDV_FQDN_MAX + 40];
  int64_t pass = (int64_t)d->drift_passes;
  json_object *asked;

  snprintf(key, sizeof(key), "%s/%s", edv__orphan_kinds[kind], name);
  if (json_object_object_get_ex(d->orphans_asked, key, &asked) &&
      pass < json_object_get_int64(asked) + (int64_t)ORPHAN_RETRY_PASSES)
    return -1; /* asked recently: the deletion may still be running */
  c = calloc(1, sizeof(*c));
  if (!c)
    return -1;
  c->d = d;
  edv__recon_hold(d);
  snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
  memset(&rq, 0, sizeof(rq));
  rq.method = "DELETE";
  if (orphan_path(x, kind, name, res, &rq, path, sizeof(path)) == 0 &&
      kind == O_DNS)
    snprintf(c->what, sizeof(c->what), "DELETE dns %.70s %.8s", name,
             edv__jstr(res, "type"));
  else
    snprintf(c->what, sizeof(c->what), "DELETE %.40s %.70s",
             rq.label ? rq.label : "?", name);
  if (!path[0]) {
    EDV_LOG_W(MOD, "orphan: cannot delete %s %s", edv__orphan_kinds[kind],
              name);
    free(c);
    edv__recon_release(d);
    return -1;
  }
  json_object_object_add(d->orphans_asked, key, json_object_new_int64(pass));
  EDV_LOG_W(MOD,
            "orphan: deleting %s %s of unknown tenant '%s' "
            "(server.delete_orphans)",
            edv__orphan_kinds[kind], name, tenant);
  audit(d, "DELETE", path, tenant, "requested");
  journal(d, tenant, "orphan.delete.start", c->what, NULL);
  if (kind == O_DNS) {
    /* Only while it still holds the value that made it ours (the judge
     * saw exactly one, our load balancer's or an authorization's). */
    json_object *rd = edv__jget(res, "rrdatas");
    const char *owned[2] = {
        rd ? json_object_get_string(json_object_array_get_idx(rd, 0)) : NULL,
        NULL};
    edv__dns_own own = {owned, 0};
    if (edv__dns_set(d->fleet, x->zone, name, edv__jstr(res, "type"), 300, NULL,
                     &own, on_orphan_dns, c)) {
      edv_error e;
      edv_error_set(&e, EDV_ENOMEM, "cannot queue the DNS change");
      orphan_deleted(c, &e);
    }
    return 0;
  }
  rq.path = path;
  if (edv_call_submit(d->engine, &rq, on_orphan_call, c, NULL) != 0) {
    edv_error e;
    edv_error_set(&e, EDV_ENOMEM, "cannot submit the deletion");
    orphan_deleted(c, &e);
  }
  return 0;
}

/* 1 when `id` names a tenant whose resources may exist: known to the store
 * and not DELETED, or DELETED after the pass began (its lists may predate
 * the deletion), or being driven here. */
static int tenant_live(edv__drift *x, const tlist *l, json_object *known,
                       const char *id)
{
  json_object *v;
  const tinfo *t;
  int64_t i;

  if (edv__recon_driven(x->d, id))
    return 1;
  if (!json_object_object_get_ex(known, id, &v))
    return 0;
  i = json_object_get_int64(v);
  if (i < 0 || (size_t)i >= l->n)
    return 0;
  t = &l->v[i];
  return t->phase != EDV_PHASE_DELETED || t->updated_ms >= x->t0_wall;
}

/* At most this many orphan deletions are asked per pass. */
#define ORPHAN_MAX_DELETES 10

/*
 * One orphan: reported always; deleted only when every rule holds
 * (server.delete_orphans is a blunt switch, so the rules are narrow):
 *   - its tenant is one the store knows as DELETED: a tenant the store does
 *     not know at all may be a live tenant of a store restored from an
 *     older backup, so its resources are only reported;
 *   - it is not a Cloud SQL instance: deleting one deletes its backups, so
 *     those are left for a person to decide;
 *   - it has been an orphan for server.orphan_grace_s (default an hour)
 *     of consecutive passes;
 *   - fewer than ORPHAN_MAX_DELETES deletions were asked in this pass.
 */
static void orphan(edv__drift *x, json_object *arr, unsigned *counts, int kind,
                   const char *name, const char *tenant, json_object *res,
                   int tenant_deleted)
{
  edv__recon *d = x->d;
  json_object *o = json_object_new_object(), *first;
  char key[EDV_FQDN_MAX + 40];
  int64_t now = edv__store_now(d->store), since;
  const char *why = NULL;

  snprintf(key, sizeof(key), "%s/%s", edv__orphan_kinds[kind], name);
  if (json_object_object_get_ex(x->prev_seen, key, &first))
    since = json_object_get_int64(first);
  else
    since = now;
  json_object_object_add(d->orphans_seen, key, json_object_new_int64(since));
  if (!d->delete_orphans)
    why = "left alone (server.delete_orphans=false)";
  else if (!tenant_deleted)
    why = "left alone: the store does not know this tenant (only a DELETED "
          "tenant's resources are deleted)";
  else if (kind == O_SQL)
    why = "left alone: Cloud SQL instances (and their backups) are never "
          "deleted automatically";
  else if ((uint64_t)(now - since) < d->orphan_grace_ms)
    why = "left alone until it has been an orphan for "
          "server.orphan_grace_s";
  else if (x->orphan_deletes >= ORPHAN_MAX_DELETES)
    why = "left for the next pass (deletions per pass are capped)";
  EDV_LOG_W(MOD,
            "orphan: %s %s is ours for tenant '%s', which is not a live "
            "tenant; %s",
            edv__orphan_kinds[kind], name, tenant, why ? why : "deleting it");
  json_object_object_add(o, "kind",
                         json_object_new_string(edv__orphan_kinds[kind]));
  json_object_object_add(o, "name", json_object_new_string(name));
  json_object_object_add(o, "tenant", json_object_new_string(tenant));
  json_object_array_add(arr, o);
  counts[kind]++;
  if (!why && orphan_delete(x, kind, name, tenant, res) == 0)
    x->orphan_deletes++;
}

/* The single host label of "<label>.<domain>", or 0. */
static int host_label(const char *name, const char *domain, char *out,
                      size_t size)
{
  size_t ln = strlen(name), ld = strlen(domain);

  if (ln <= ld + 1 || strcasecmp(name + ln - ld, domain) != 0 ||
      name[ln - ld - 1] != '.')
    return 0;
  if (memchr(name, '.', ln - ld - 1) || ln - ld - 1 >= size)
    return 0;
  memcpy(out, name, ln - ld - 1);
  out[ln - ld - 1] = '\0';
  for (char *p = out; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return 1;
}

/* 1 when the store knows `id` as a DELETED tenant. */
static int tenant_deleted(const tlist *l, json_object *known, const char *id)
{
  json_object *v;
  int64_t i;

  if (!json_object_object_get_ex(known, id, &v))
    return 0;
  i = json_object_get_int64(v);
  return i >= 0 && (size_t)i < l->n && l->v[i].phase == EDV_PHASE_DELETED;
}

/* `gone`: the ids and slugs of DELETED tenants (label -> tenant id). */
/* The tenant label of a record set that looks like ours (an A record at
 * our load balancer, or an _acme-challenge CNAME to a Certificate Manager
 * authorization, under the fleet's domain): 1 with `label` set, else 0. */
static int dns_label(edv__drift *x, json_object *rr, char *label, size_t size)
{
  const char *n = edv__jstr(rr, "name"), *t = edv__jstr(rr, "type");
  json_object *rd = edv__jget(rr, "rrdatas");
  const char *r0 =
      rd && json_object_array_length(rd) == 1
          ? json_object_get_string(json_object_array_get_idx(rd, 0))
          : NULL;
  const char *suffix = ".authorize.certificatemanager.goog.";

  if (!n || !t || !r0)
    return 0;
  if (strcmp(t, "A") == 0)
    return x->lb_ip[0] && strcmp(r0, x->lb_ip) == 0 &&
           host_label(n, x->domain, label, size);
  if (strcmp(t, "CNAME") == 0)
    return strncasecmp(n, "_acme-challenge.", 16) == 0 &&
           strlen(r0) > strlen(suffix) &&
           strcasecmp(r0 + strlen(r0) - strlen(suffix), suffix) == 0 &&
           host_label(n + 16, x->domain, label, size);
  return 0;
}

static void find_orphans(edv__drift *x, const tlist *l, json_object *known,
                         json_object *hosts, json_object *gone)
{
  edv__recon *d = x->d;
  json_object *arr = json_object_new_array(), *owner_of;
  unsigned counts[EDV_ORPHAN_KINDS] = {0};
  char owner[EDV_STORE_ID_SZ];

  /* Orphans not seen again drop out of the bookkeeping. */
  x->prev_seen = d->orphans_seen;
  d->orphans_seen = json_object_new_object();
  struct {
    json_object *map;
    int kind;
  } listed[] = {{x->vms, O_INSTANCE},   {x->sqls, O_SQL},
                {x->certs, O_CERT},     {x->fws, O_FW},
                {x->subnets, O_SUBNET}, {x->entries, O_ENTRY}};

  /* Our labels, or for firewall rules our name prefix and description
   * marker: each kind's ownership test. */
  for (size_t k = 0; k < sizeof(listed) / sizeof(*listed); k++) {
    const edv__kind *kd = &edv__kinds[orphan_kind[listed[k].kind]];
    json_object_object_foreach(listed[k].map, name, res)
    {
      if (((listed[k].kind == O_FW || listed[k].kind == O_SUBNET) &&
           strncmp(name, "edv-", 4) != 0) ||
          !edv__kind_owner(kd, res, owner, sizeof(owner)) ||
          tenant_live(x, l, known, owner))
        continue;
      orphan(x, arr, counts, listed[k].kind, name, owner, res,
             tenant_deleted(l, known, owner));
    }
  }
  /* DNS records carry no labels: <label>.<domain> A -> our load balancer
   * and its _acme-challenge CNAME -> a Certificate Manager authorization
   * are ours only when the label is a DELETED tenant's id or slug (and no
   * live tenant's). Any other record, an operator's www at the load
   * balancer say, is not ours to report. */
  json_object_object_foreach(x->rrsets, key, rr)
  {
    const char *n = edv__jstr(rr, "name");
    char label[EDV_STORE_SLUG_SZ];

    (void)key;
    if (!dns_label(x, rr, label, sizeof(label)) ||
        json_object_object_get_ex(hosts, label, NULL) ||
        !json_object_object_get_ex(gone, label, &owner_of))
      continue;
    orphan(x, arr, counts, O_DNS, n, json_object_get_string(owner_of), rr, 1);
  }
  /* Deletions asked for what is no longer an orphan are forgotten. */
  {
    json_object *asked = json_object_new_object();
    json_object_object_foreach(d->orphans_asked, k, v)
    {
      if (json_object_object_get_ex(d->orphans_seen, k, NULL))
        json_object_object_add(asked, k, json_object_get(v));
    }
    json_object_put(d->orphans_asked);
    d->orphans_asked = asked;
  }
  json_object_put(x->prev_seen);
  x->prev_seen = NULL;
  json_object_put(d->orphans);
  d->orphans = arr;
  memcpy(d->orphan_counts, counts, sizeof(counts));
}

/* ---- the judgement --------------------------------------------------------*/

/* Every walk is done: compare, repair, report. */
/* Drift that went away (repaired, or the tenant left READY): the tenants
 * not in `seen` leave the back-off state. */
static void forget_resolved(edv__recon *d, json_object *seen)
{
  json_object *resolved = json_object_new_array();

  json_object_object_foreach(d->drift_state, id, e)
  {
    if (json_object_object_get_ex(seen, id, NULL))
      continue;
    if (jget_i(e, "repairs") > 1 || jget_i(e, "skipped") > 0)
      EDV_LOG_I(MOD, "drift: tenant=%s resolved after %lld repair(s)", id,
                (long long)jget_i(e, "repairs"));
    json_object_array_add(resolved, json_object_new_string(id));
  }
  for (size_t i = 0; i < json_object_array_length(resolved); i++)
    json_object_object_del(
        d->drift_state,
        json_object_get_string(json_object_array_get_idx(resolved, i)));
  json_object_put(resolved);
}

/* A failover left the tenant's old region pieces to retire: it is judged
 * once they are gone. */
static int retire_waits(edv__recon *d, const char *id)
{
  char region[EDV_REGION_MAX + 1];

  return edv__fleet_retire_pending(d->f->machine, id, region, sizeof(region));
}

static void drift_judge(edv__drift *x)
{
  edv__recon *d = x->d;
  tlist l;
  json_object *known, *hosts, *seen, *gone;
  unsigned repaired = 0, drifted = 0, calls = 0;

  if (tlist_load(d, &l)) {
    free(l.v);
    return;
  }
  /* The health probes need each VM's zone: this pass has them all. */
  json_object_put(d->vm_zones);
  d->vm_zones = json_object_get(x->zones);
  d->drift_passes++;
  known = json_object_new_object();
  hosts = json_object_new_object();
  seen = json_object_new_object();
  gone = json_object_new_object();
  for (size_t i = 0; i < l.n; i++) {
    const tinfo *t = &l.v[i];
    json_object_object_add(known, t->id, json_object_new_int64((int64_t)i));
    if (t->id[0] == '@')
      continue;
    if (!tenant_live(x, &l, known, t->id)) {
      json_object_object_add(gone, t->id, json_object_new_string(t->id));
      json_object_object_add(gone, t->slug, json_object_new_string(t->id));
      continue;
    }
    json_object_object_add(hosts, t->id, NULL);
    json_object_object_add(hosts, t->slug, NULL);
  }
  for (size_t i = 0; i < l.n; i++) {
    const tinfo *t = &l.v[i];
    items it;

    if (t->id[0] == '@' || t->phase != EDV_PHASE_READY)
      continue;
    /* READY since the lists were fetched: they may predate its resources
     * (the next pass judges it). */
    if (t->updated_ms >= x->t0_wall) {
      json_object_object_add(seen, t->id, NULL);
      continue;
    }
    if (edv__recon_driven(d, t->id)) {
      json_object_object_add(seen, t->id, NULL); /* keep its back-off */
      continue;
    }
    if (retire_waits(d, t->id)) /* its old pieces bear the same names */
      continue;
    memset(&it, 0, sizeof(it));
    judge_tenant(x, t, &it);
    if (!it.n)
      continue;
    drifted++;
    json_object_object_add(seen, t->id, NULL);
    repaired += (unsigned)repair(x, t, &it);
  }
  forget_resolved(d, seen);
  find_orphans(x, &l, known, hosts, gone);
  json_object_put(gone);
  json_object_put(known);
  json_object_put(hosts);
  json_object_put(seen);
  free(l.v);
  for (int k = 0; k < K__N; k++) {
    d->drift_calls_by_kind[k] = x->calls[k];
    calls += x->calls[k];
  }
  d->drift_repairs += repaired;
  d->drift_last_calls = calls;
  d->drift_last_ms = (uv_hrtime() - x->t0) / 1000000u;
  d->drift_last_drifted = drifted;
  EDV_LOG_I(MOD,
            "drift pass: %u list page(s), %u drifted tenant(s), %u "
            "repair(s), %zu orphan(s), %llu ms",
            calls, drifted, repaired, json_object_array_length(d->orphans),
            (unsigned long long)d->drift_last_ms);
}

static void drift_free(edv__drift *x)
{
  json_object_put(x->vms);
  json_object_put(x->fws);
  json_object_put(x->sqls);
  json_object_put(x->certs);
  json_object_put(x->rrsets);
  json_object_put(x->zones);
  json_object_put(x->subnets);
  json_object_put(x->entries);
  json_object_put(x->urlmap);
  if (x->d->drift == x)
    x->d->drift = NULL;
  edv__recon_release(x->d);
  free(x);
}

int edv__drift_pass(edv__recon *d)
{
  edv__drift *x;
  edv__tenant_rec prec;
  const char *domain = edv__fleet_domain(d->fleet);
  static const int first[] = {K_VM,   K_FW,     K_SQL,   K_CERT,  K_ADDR,
                              K_ZONE, K_SUBNET, K_ENTRY, K_URLMAP};

  if (d->drift || d->stopping)
    return 0; /* one at a time */
  /* Nothing to compare before the platform exists. */
  if (edv__store_tenant_get(d->store, EDV_PLATFORM_ID, &prec, NULL) != 0 ||
      prec.phase != EDV_PHASE_READY)
    return 0;
  if (!d->drift_state)
    d->drift_state = json_object_new_object();
  if (!d->orphans_asked)
    d->orphans_asked = json_object_new_object();
  if (!d->orphans_seen)
    d->orphans_seen = json_object_new_object();
  x = calloc(1, sizeof(*x));
  if (!x)
    return -1;
  x->d = d;
  edv__recon_hold(d);
  x->vms = json_object_new_object();
  x->fws = json_object_new_object();
  x->sqls = json_object_new_object();
  x->certs = json_object_new_object();
  x->rrsets = json_object_new_object();
  x->zones = json_object_new_object();
  x->subnets = json_object_new_object();
  x->entries = json_object_new_object();
  snprintf(x->domain, sizeof(x->domain), "%s%s", domain ? domain : "",
           domain && *domain && domain[strlen(domain) - 1] == '.' ? "" : ".");
  x->t0 = uv_hrtime();
  x->t0_wall = edv__store_now(d->store);
  d->drift = x;
  /* pending holds one extra reference while the walks start, so that a
   * walk ending at once does not free x under us. */
  x->pending = 1;
  for (size_t i = 0; i < sizeof(first) / sizeof(*first); i++) {
    if (start_walk(x, first[i]) == 0)
      x->pending++;
    else
      x->failed = 1;
  }
  if (--x->pending == 0) {
    if (!x->failed && !d->stopping)
      drift_judge(x);
    drift_free(x);
  }
  return 0;
}
