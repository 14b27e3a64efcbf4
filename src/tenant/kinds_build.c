/*
 * kinds_build.c - the create bodies of a tenant's resource kinds (their
 * rows' build, tenant/kinds.h), and the diffs of the kinds that compare
 * against what they build: the snapshot schedule, the instance group and
 * the DNS records.
 *
 * A build is pure: what it puts in a body comes from the diffs' context
 * (the tenant, its tier, the fleet's project and network, the facts its
 * steps recorded), so a test builds a tenant's bodies without a run.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gcp/gcp.h"
#include "tenant/kinds.h"
#include "tenant/steps.h"

static json_object *jstr(const char *s)
{
  return json_object_new_string(s ? s : "");
}

static json_object *jarr1(const char *s)
{
  json_object *a = json_object_new_array();

  json_object_array_add(a, jstr(s));
  return a;
}

static int str_is(const char *have, const char *want)
{
  return have && want && strcmp(have, want) == 0;
}

/* Marks o as ctx's tenant's, as kind k's row says: its description
 * marker and its labels (with its tier). */
static void mark(edv__kind_id k, const edv__kind_ctx *ctx, json_object *o)
{
  char desc[128];

  edv__tenant_description(ctx->tenant, desc, sizeof(desc));
  edv__kind_mark(&edv__kinds[k], o, desc,
                 ctx->tier ? edv__tenant_labels(ctx->tenant, ctx->tier->name)
                           : NULL);
}

/* NULL with err naming what kind k's build lacks. */
static json_object *lacks(edv__kind_id k, const char *what, edv_error *err)
{
  edv_error_set(err, EDV_EINVAL, "%s: cannot build its create body: no %s",
                edv__kinds[k].title, what);
  return NULL;
}

/* The tenant and the fleet's project and network every build needs. */
static int base_ok(edv__kind_id k, const edv__kind_ctx *ctx, edv_error *err)
{
  if (!ctx->tenant || !ctx->project || !ctx->network) {
    lacks(k,
          !ctx->tenant    ? "tenant"
          : !ctx->project ? "project"
                          : "network",
          err);
    return 0;
  }
  return 1;
}

static void network_link(const edv__kind_ctx *ctx, char *buf, size_t size)
{
  snprintf(buf, size, "projects/%s/global/networks/%s", ctx->project,
           ctx->network);
}

/* The hostname i of ctx (no root dot), or NULL. */
static const char *host_at(const edv__kind_ctx *ctx, unsigned i)
{
  for (unsigned h = 0; ctx->hosts && h <= EDV_HOST_ALIAS && ctx->hosts[h]; h++)
    if (h == i)
      return ctx->hosts[h];
  return NULL;
}

/* ---- the builds ------------------------------------------------------- */

json_object *edv__kind_build_subnet(const edv__kind_ctx *ctx, unsigned i,
                                    edv_error *err)
{
  json_object *o;
  char name[EDV_NAME_MAX], net[512];

  (void)i;
  if (!base_ok(EDV_KIND_SUBNET, ctx, err))
    return NULL;
  o = json_object_new_object();
  edv__name_subnet(ctx->tenant, name, sizeof(name));
  network_link(ctx, net, sizeof(net));
  json_object_object_add(o, "name", jstr(name));
  mark(EDV_KIND_SUBNET, ctx, o);
  json_object_object_add(o, "network", jstr(net));
  json_object_object_add(o, "region", jstr(ctx->region));
  json_object_object_add(o, "ipCidrRange", jstr(ctx->cidr));
  json_object_object_add(o, "privateIpGoogleAccess",
                         json_object_new_boolean(1));
  return o;
}

json_object *edv__kind_build_sa(const edv__kind_ctx *ctx, unsigned i,
                                edv_error *err)
{
  json_object *o, *acct;
  char id[EDV_NAME_MAX], dn[128];

  (void)i;
  if (!ctx->tenant)
    return lacks(EDV_KIND_SERVICE_ACCOUNT, "tenant", err);
  o = json_object_new_object();
  acct = json_object_new_object();
  edv__name_service_account_id(ctx->tenant, id, sizeof(id));
  snprintf(dn, sizeof(dn), "EdVirons tenant %s", ctx->tenant);
  json_object_object_add(o, "accountId", jstr(id));
  json_object_object_add(acct, "displayName", jstr(dn));
  mark(EDV_KIND_SERVICE_ACCOUNT, ctx, acct);
  json_object_object_add(o, "serviceAccount", acct);
  return o;
}

/* The DB password secret: its value is the db_secret step's (a version,
 * generated there, never kept). */
json_object *edv__kind_build_secret(const edv__kind_ctx *ctx, unsigned i,
                                    edv_error *err)
{
  json_object *o, *rep;

  (void)i;
  if (!ctx->tenant)
    return lacks(EDV_KIND_SECRET, "tenant", err);
  o = json_object_new_object();
  rep = json_object_new_object();
  json_object_object_add(rep, "automatic", json_object_new_object());
  json_object_object_add(o, "replication", rep);
  mark(EDV_KIND_SECRET, ctx, o);
  return o;
}

json_object *edv__kind_build_sql(const edv__kind_ctx *ctx, unsigned i,
                                 edv_error *err)
{
  const edv__tier *t = ctx->tier;
  json_object *o, *st;
  char name[EDV_NAME_MAX], gb[16];

  (void)i;
  if (!base_ok(EDV_KIND_SQL_INSTANCE, ctx, err))
    return NULL;
  if (!t)
    return lacks(EDV_KIND_SQL_INSTANCE, "tier", err);
  o = json_object_new_object();
  st = json_object_new_object();
  edv__name_sql_instance(ctx->tenant, ctx->generation, name, sizeof(name));
  json_object_object_add(o, "name", jstr(name));
  json_object_object_add(o, "databaseVersion", jstr(t->sql.database_version));
  json_object_object_add(o, "region", jstr(ctx->region));
  json_object_object_add(st, "tier", jstr(t->sql.tier));
  json_object_object_add(st, "edition", jstr(t->sql.edition));
  json_object_object_add(st, "availabilityType",
                         jstr(t->sql.regional ? "REGIONAL" : "ZONAL"));
  snprintf(gb, sizeof(gb), "%d", t->sql.data_disk_gb);
  json_object_object_add(st, "dataDiskSizeGb", jstr(gb));
  json_object_object_add(st, "dataDiskType", jstr(t->sql.data_disk_type));
  json_object_object_add(st, "storageAutoResize", json_object_new_boolean(1));
  json_object_object_add(st, "activationPolicy", jstr("ALWAYS"));
  json_object_object_add(st, "backupConfiguration",
                         edv__sql_backup_config(t, ctx->backup_location));
  /* Only the tenant delete path lifts it (the sql_instance step's down). */
  json_object_object_add(st, "deletionProtectionEnabled",
                         json_object_new_boolean(1));
  json_object_object_add(st, "ipConfiguration",
                         edv__sql_ip_config(ctx->project, ctx->network));
  json_object_object_add(o, "settings", st);
  mark(EDV_KIND_SQL_INSTANCE, ctx, o);
  return o;
}

json_object *edv__kind_build_db(const edv__kind_ctx *ctx, unsigned i,
                                edv_error *err)
{
  json_object *o = json_object_new_object();

  (void)ctx;
  (void)i;
  (void)err;
  json_object_object_add(o, "name", jstr(EDV_DB_NAME));
  json_object_object_add(o, "charset", jstr("UTF8"));
  return o;
}

json_object *edv__kind_build_user(const edv__kind_ctx *ctx, unsigned i,
                                  edv_error *err)
{
  json_object *o;

  (void)i;
  if (!ctx->password)
    return lacks(EDV_KIND_SQL_USER, "password", err);
  o = json_object_new_object();
  json_object_object_add(o, "name", jstr(EDV_DB_USER));
  json_object_object_add(o, "password", jstr(ctx->password));
  return o;
}

json_object *edv__kind_build_policy(const edv__kind_ctx *ctx, unsigned i,
                                    edv_error *err)
{
  const edv__tier *t = ctx->tier;
  json_object *o, *ssp, *sched, *daily, *ret, *props;
  char name[EDV_NAME_MAX];

  (void)i;
  if (!ctx->tenant || !t)
    return lacks(EDV_KIND_SNAPSHOT_POLICY, t ? "tenant" : "tier", err);
  o = json_object_new_object();
  ssp = json_object_new_object();
  sched = json_object_new_object();
  daily = json_object_new_object();
  ret = json_object_new_object();
  props = json_object_new_object();
  edv__name_snapshot_policy(ctx->tenant, t, name, sizeof(name));
  json_object_object_add(o, "name", jstr(name));
  mark(EDV_KIND_SNAPSHOT_POLICY, ctx, o);
  json_object_object_add(o, "region", jstr(ctx->region));
  json_object_object_add(daily, "daysInCycle", json_object_new_int(1));
  json_object_object_add(daily, "startTime", jstr(t->snapshot_start_time));
  json_object_object_add(sched, "dailySchedule", daily);
  json_object_object_add(ssp, "schedule", sched);
  json_object_object_add(ret, "maxRetentionDays",
                         json_object_new_int(t->snapshot_retention_days));
  json_object_object_add(ret, "onSourceDiskDelete",
                         jstr(t->snapshot_on_delete));
  json_object_object_add(ssp, "retentionPolicy", ret);
  json_object_object_add(props, "labels",
                         edv__tenant_labels(ctx->tenant, t->name));
  json_object_object_add(props, "storageLocations", jarr1(ctx->region));
  json_object_object_add(ssp, "snapshotProperties", props);
  json_object_object_add(o, "snapshotSchedulePolicy", ssp);
  return o;
}

/* The named ports of the tenant's instance group: the app's, "http". */
static json_object *ig_ports(void)
{
  json_object *ports = json_object_new_array(), *p = json_object_new_object();

  json_object_object_add(p, "name", jstr("http"));
  json_object_object_add(p, "port", json_object_new_int(EDV_APP_PORT));
  json_object_array_add(ports, p);
  return ports;
}

json_object *edv__kind_build_ig(const edv__kind_ctx *ctx, unsigned i,
                                edv_error *err)
{
  json_object *o;
  char name[EDV_NAME_MAX], net[512];

  (void)i;
  if (!base_ok(EDV_KIND_INSTANCE_GROUP, ctx, err))
    return NULL;
  o = json_object_new_object();
  edv__name_instance_group(ctx->tenant, name, sizeof(name));
  network_link(ctx, net, sizeof(net));
  json_object_object_add(o, "name", jstr(name));
  mark(EDV_KIND_INSTANCE_GROUP, ctx, o);
  json_object_object_add(o, "network", jstr(net));
  json_object_object_add(o, "namedPorts", ig_ports());
  return o;
}

json_object *edv__kind_build_bes(const edv__kind_ctx *ctx, unsigned i,
                                 edv_error *err)
{
  (void)i;
  if (!ctx->tenant || !ctx->project)
    return lacks(EDV_KIND_BACKEND_SERVICE, ctx->tenant ? "project" : "tenant",
                 err);
  return edv__kind_bes_want(ctx);
}

json_object *edv__kind_build_auth(const edv__kind_ctx *ctx, unsigned i,
                                  edv_error *err)
{
  const char *host = host_at(ctx, i);
  json_object *o;

  if (!ctx->tenant || !host)
    return lacks(EDV_KIND_DNS_AUTHORIZATION, host ? "tenant" : "hostname", err);
  o = json_object_new_object();
  json_object_object_add(o, "domain", jstr(host));
  mark(EDV_KIND_DNS_AUTHORIZATION, ctx, o);
  return o;
}

/* One certificate for all the tenant's hostnames, each proven by its DNS
 * authorization. */
json_object *edv__kind_build_cert(const edv__kind_ctx *ctx, unsigned i,
                                  edv_error *err)
{
  json_object *o, *m, *domains, *auths;

  (void)i;
  if (!ctx->tenant || !ctx->project || !host_at(ctx, 0))
    return lacks(EDV_KIND_CERTIFICATE, !host_at(ctx, 0) ? "hostname" : "tenant",
                 err);
  o = json_object_new_object();
  m = json_object_new_object();
  domains = json_object_new_array();
  auths = json_object_new_array();
  for (unsigned h = 0; host_at(ctx, h); h++) {
    char auth[EDV_NAME_MAX], name[512];
    json_object_array_add(domains, jstr(host_at(ctx, h)));
    edv__name_dns_authorization(ctx->tenant, (edv__host_kind)h, auth,
                                sizeof(auth));
    snprintf(name, sizeof(name),
             "projects/%s/locations/global/dnsAuthorizations/%s", ctx->project,
             auth);
    json_object_array_add(auths, jstr(name));
  }
  json_object_object_add(m, "domains", domains);
  json_object_object_add(m, "dnsAuthorizations", auths);
  json_object_object_add(o, "managed", m);
  mark(EDV_KIND_CERTIFICATE, ctx, o);
  return o;
}

json_object *edv__kind_build_entry(const edv__kind_ctx *ctx, unsigned i,
                                   edv_error *err)
{
  json_object *o;

  if (!ctx->tenant || !ctx->project || !host_at(ctx, i))
    return lacks(EDV_KIND_CERT_MAP_ENTRY,
                 host_at(ctx, i) ? "tenant" : "hostname", err);
  o = edv__kind_entry_want(ctx, i);
  mark(EDV_KIND_CERT_MAP_ENTRY, ctx, o);
  return o;
}

/* ---- snapshot schedule ---------------------------------------------------*/

int edv__kind_policy_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size)
{
  const edv__tier *t = ctx->tier;
  json_object *ssp = edv__jget(observed, "snapshotSchedulePolicy");
  json_object *daily = edv__jget(edv__jget(ssp, "schedule"), "dailySchedule");
  json_object *ret = edv__jget(ssp, "retentionPolicy");
  json_object *locs =
      edv__jget(edv__jget(ssp, "snapshotProperties"), "storageLocations");
  const char *start = edv__jstr(daily, "startTime");
  const char *ondel = edv__jstr(ret, "onSourceDiskDelete");
  const char *loc = json_object_get_string(json_object_array_get_idx(locs, 0));
  int64_t days = edv__jint(ret, "maxRetentionDays", -1);
  int n = 0;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL; /* a resource policy cannot change in place */
  if (!t)
    return 0;
  if (!daily || edv__jint(daily, "daysInCycle", -1) != 1 ||
      !str_is(start, t->snapshot_start_time)) {
    edv__kind_note(text, size, "schedule %.10s -> daily at %s",
                   start ? start : "(none)", t->snapshot_start_time);
    n++;
  }
  if (days != t->snapshot_retention_days) {
    edv__kind_note(text, size, "retention %lld -> %d days", (long long)days,
                   t->snapshot_retention_days);
    n++;
  }
  if (!str_is(ondel, t->snapshot_on_delete)) {
    edv__kind_note(text, size, "on source disk delete %.30s -> %s",
                   ondel ? ondel : "(none)", t->snapshot_on_delete);
    n++;
  }
  if (ctx->region && (edv__jarr_len(locs) != 1 || !str_is(loc, ctx->region))) {
    edv__kind_note(text, size, "storage location %.30s -> %s",
                   loc ? loc : "(none)", ctx->region);
    n++;
  }
  return n;
}

/* ---- instance group
 * --------------------------------------------------------*/

int edv__kind_ig_diff(const edv__kind_ctx *ctx, json_object *observed,
                      json_object **patch, char *text, size_t size)
{
  json_object *ports = edv__jget(observed, "namedPorts");
  json_object *p = json_object_array_get_idx(ports, 0);

  (void)ctx;
  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  if (edv__jarr_len(ports) == 1 && str_is(edv__jstr(p, "name"), "http") &&
      edv__jint(p, "port", -1) == EDV_APP_PORT)
    return 0;
  edv__kind_note(text, size, "named ports differ (want http:%d)", EDV_APP_PORT);
  if (patch) {
    *patch = json_object_new_object();
    json_object_object_add(*patch, "namedPorts", ig_ports());
    if (edv__jstr(observed, "fingerprint"))
      json_object_object_add(*patch, "fingerprint",
                             jstr(edv__jstr(observed, "fingerprint")));
  }
  return 1;
}

/* ---- DNS records
 * -----------------------------------------------------------*/

json_object *edv__kind_rrset_want(const char *name, const char *type, int ttl,
                                  const char *const *rrdatas)
{
  json_object *o = json_object_new_object(), *d = json_object_new_array();

  json_object_object_add(o, "name", jstr(name));
  json_object_object_add(o, "type", jstr(type));
  json_object_object_add(o, "ttl", json_object_new_int(ttl));
  for (int i = 0; rrdatas && rrdatas[i]; i++)
    json_object_array_add(d, jstr(rrdatas[i]));
  json_object_object_add(o, "rrdatas", d);
  json_object_object_add(o, "kind", jstr("dns#resourceRecordSet"));
  return o;
}

/* The values of string array a (or the list), joined, for a note. */
static void values(json_object *a, const char *const *list, char *buf,
                   size_t size)
{
  size_t off = 0, n = list ? 0 : edv__jarr_len(a);

  buf[0] = '\0';
  while (list && list[n])
    n++;
  for (size_t i = 0; i < n && off < size; i++)
    off += (size_t)snprintf(
        buf + off, size - off, "%s%.80s", i ? "," : "",
        list ? list[i]
             : json_object_get_string(json_object_array_get_idx(a, i)));
  if (!n)
    snprintf(buf, size, "(none)");
}

int edv__kind_rrset_diff(json_object *observed, const char *type, int ttl,
                         const char *const *rrdatas, json_object **patch,
                         char *text, size_t size)
{
  json_object *datas = edv__jget(observed, "rrdatas");
  size_t n = 0;
  int diff = 0, same;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  while (rrdatas && rrdatas[n])
    n++;
  if (edv__jint(observed, "ttl", -1) != ttl) {
    edv__kind_note(text, size, "ttl %lld -> %d",
                   (long long)edv__jint(observed, "ttl", -1), ttl);
    diff++;
  }
  same = edv__jarr_len(datas) == n;
  for (size_t i = 0; same && i < n; i++)
    same = str_is(json_object_get_string(json_object_array_get_idx(datas, i)),
                  rrdatas[i]);
  if (!same) {
    char have[200], want[200];
    values(datas, NULL, have, sizeof(have));
    values(NULL, rrdatas, want, sizeof(want));
    edv__kind_note(text, size, "%s %s -> %s", type, have, want);
    diff++;
  }
  if (diff && patch)
    *patch =
        edv__kind_rrset_want(edv__jstr(observed, "name"), type, ttl, rrdatas);
  return diff;
}

/* 1 when DNS name `name` (with or without the root dot) is `host`
 * (likewise), DNS names being case-insensitive. */
static int same_name(const char *name, const char *prefix, const char *host)
{
  size_t pl = strlen(prefix), nl, hl;

  if (!name || !host || strncasecmp(name, prefix, pl) != 0)
    return 0;
  name += pl;
  nl = strlen(name);
  hl = strlen(host);
  if (nl && name[nl - 1] == '.')
    nl--;
  if (hl && host[hl - 1] == '.')
    hl--;
  return nl == hl && strncasecmp(name, host, nl) == 0;
}

int edv__kind_dns_diff(const edv__kind_ctx *ctx, json_object *observed,
                       json_object **patch, char *text, size_t size)
{
  const char *name = edv__jstr(observed, "name");
  const char *type = edv__jstr(observed, "type");
  const char *rr[2] = {ctx->lb_ip, NULL};
  int a = str_is(type, "A"), cname = str_is(type, "CNAME");

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  for (unsigned h = 0; host_at(ctx, h); h++) {
    if (a && same_name(name, "", host_at(ctx, h)))
      return ctx->lb_ip ? edv__kind_rrset_diff(observed, "A", EDV_DNS_TTL, rr,
                                               patch, text, size)
                        : 0;
    if (cname && same_name(name, "_acme-challenge.", host_at(ctx, h)))
      return 0;
  }
  return -1;
}
