/*
 * sql.c - Cloud SQL Admin, served under both /v1/projects/{project}/... and
 * /sql/v1beta4/projects/{project}/...: instances (insert/get/list/patch/
 * delete/restart/restoreBackup/clone), databases, users, backupRuns and
 * operations; and the project's backups (list/get/delete).
 *
 * What the real service enforces and we do too:
 * - One operation at a time per instance: every mutation of an instance or
 *   of its databases, users and backups targets the instance, and a second
 *   one while the first runs gets 409 operationInProgress before any
 *   operation is created.
 * - PostgreSQL accepts only shared-core (db-f1-micro, db-g1-small) or
 *   custom tiers db-custom-N-M: N is 1 or even in 2..96, M a multiple of
 *   256, at least 3840 and between 0.9 and 6.5 GiB per vCPU (921.6 and
 *   6656 MB). db-custom-2-4096 (2 GiB per vCPU) passes this as written.
 * - A deleted instance's name is refused for 7 days of simulated time.
 * - settings.settingsVersion, when a patch sends it, must be the current
 *   one, else 412 staleData "Condition does not match." (seen from the real
 *   API); each patch increments it.
 * - Private IP needs a private services access connection on the network
 *   (servicenet.c) and takes the address from its reserved ranges.
 *
 * The instance is stored at insert with state PENDING_CREATE and becomes
 * RUNNABLE when its operation completes; restart and restoreBackup show
 * MAINTENANCE meanwhile, delete PENDING_DELETE. Passwords of users are
 * dropped on arrival: they reach neither the store, nor the operation
 * payload, nor a response.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/modules.h"
#include "sim/schema_apis.h"
#include "sim/servicenet.h"
#include "sim/jsonutil.h"
#include "sim/listfilter.h"
#include "sim/sim.h"

#define SQL_WEEK_MS (7ull * 24 * 3600 * 1000)

static const char sql_msg_inprogress[] =
    "Operation failed because another operation was already in progress. "
    "Try your request after the current operation is complete.";
static const char sql_msg_state[] =
    "The instance or operation is not in an appropriate state to handle "
    "the request.";
static const char sql_msg_pgtier[] =
    "Invalid request: Only custom or shared-core instance Billing Tier type "
    "allowed for PostgreSQL database.";

/* --- small helpers ------------------------------------------------------ */

static json_object *jo(json_object *o, const char *key)
{
  json_object *v;

  if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_object))
    return NULL;
  return v;
}

/* Objects merge key by key (PATCH semantics); anything else replaces. */
static void merge(json_object *dst, json_object *src)
{
  if (!json_object_is_type(src, json_type_object) ||
      !json_object_is_type(dst, json_type_object))
    return;
  json_object_object_foreach(src, k, v)
  {
    json_object *d = jo(dst, k);

    if (d && json_object_is_type(v, json_type_object))
      merge(d, v);
    else
      json_object_object_add(dst, k, copy(v));
  }
}

static void inst_key(sim *s, char *buf, size_t n, const char *inst)
{
  snprintf(buf, n, "projects/%s/instances/%s", sim_project(s), inst);
}

/* 1 (with resp filled) when the body has fields or types the request
 * schema does not: Google rejects those before anything else. */
static int bad_body(sim_resp *resp, const char *type, json_object *body)
{
  return sim_schema_check(resp, sim_schema_sql, type, body, "body") < 0;
}

static int no_instance(sim_resp *resp)
{
  return sim_err_legacy(resp, 404, "instanceDoesNotExist",
                        "The Cloud SQL instance does not exist.");
}

/*
 * The instance named by the {instance} parameter (borrowed), or NULL with
 * resp filled. key receives its canonical name.
 */
static json_object *inst_lookup(sim *s, sim_req *req, sim_resp *resp, char *key,
                                size_t n)
{
  json_object *inst;

  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  inst_key(s, key, n, sim_param(req, "instance"));
  inst = sim_store_get(s, key);
  if (inst == NULL)
    no_instance(resp);
  return inst;
}

/* 409 when an operation on the instance is still running. */
static int busy(sim *s, sim_resp *resp, const char *key)
{
  if (sim_op_pending(s, key) == NULL)
    return 0;
  sim_err_legacy(resp, 409, "operationInProgress", "%s", sql_msg_inprogress);
  return -1;
}

/* Busy, or not RUNNABLE: the common gate of every mutation but insert. */
static int gate(sim *s, sim_resp *resp, const char *key, json_object *inst)
{
  const char *state = js(inst, "state");

  if (busy(s, resp, key) < 0)
    return -1;
  if (state && strcmp(state, "RUNNABLE") != 0) {
    sim_err_legacy(resp, 409, "invalidState", "%s", sql_msg_state);
    return -1;
  }
  return 0;
}

static sim_op *start_op(sim *s, sim_req *req, const char *type, const char *key,
                        json_object *inst, sim_op_duration dur,
                        json_object *payload)
{
  sim_op_spec spec;

  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_SQL;
  spec.duration = dur;
  spec.operation_type = type;
  spec.target_name = key;
  spec.target_link = js(inst, "selfLink");
  spec.target_id = js(inst, "name");
  spec.payload = payload;
  return sim_op_start(s, req, &spec);
}

static int respond_op(sim *s, sim_resp *resp, sim_op *op)
{
  return op ? sim_op_respond(s, resp, op) : sim_resp_json(resp, 503, NULL);
}

static json_object *payload_name(const char *key)
{
  json_object *p = json_object_new_object();

  json_object_object_add(p, "name", json_object_new_string(key));
  return p;
}

/* --- validation --------------------------------------------------------- */

static int valid_instance_name(const sim *s, const char *name)
{
  size_t n = name ? strlen(name) : 0;

  if (n == 0 || !islower((unsigned char)name[0]) ||
      strlen(sim_project(s)) + 1 + n > 98 || name[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
        name[i] != '-')
      return 0;
  return 1;
}

/* db-custom-N-M as described at the top of the file. */
static int valid_custom_tier(const char *tier)
{
  unsigned long cpu, mb;
  char *end;

  if (strncmp(tier, "db-custom-", 10) != 0 || !isdigit((unsigned char)tier[10]))
    return 0;
  cpu = strtoul(tier + 10, &end, 10);
  if (*end != '-' || !isdigit((unsigned char)end[1]))
    return 0;
  mb = strtoul(end + 1, &end, 10);
  if (*end != '\0')
    return 0;
  if (!(cpu == 1 || (cpu >= 2 && cpu <= 96 && cpu % 2 == 0)))
    return 0;
  if (mb % 256 != 0 || mb < 3840)
    return 0;
  /* 0.9 GiB = 921.6 MB per vCPU, 6.5 GiB = 6656 MB per vCPU. */
  return mb * 10 >= cpu * 9216 && mb <= cpu * 6656;
}

static int check_tier(sim_resp *resp, const char *version, const char *tier)
{
  if (tier == NULL || *tier == '\0')
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: Tier is required."),
           -1;
  if (version && strncmp(version, "POSTGRES", 8) == 0) {
    if (strcmp(tier, "db-f1-micro") == 0 || strcmp(tier, "db-g1-small") == 0 ||
        valid_custom_tier(tier))
      return 0;
    return sim_err_legacy(resp, 400, "invalid", "%s", sql_msg_pgtier), -1;
  }
  if (strncmp(tier, "db-", 3) != 0)
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: Invalid Tier (%s) for (%s).", tier,
                          version ? version : "MYSQL_8_0"),
           -1;
  return 0;
}

static int valid_hhmm(const char *t)
{
  return t && strlen(t) == 5 && isdigit((unsigned char)t[0]) &&
         isdigit((unsigned char)t[1]) && t[2] == ':' &&
         isdigit((unsigned char)t[3]) && isdigit((unsigned char)t[4]) &&
         (t[0] - '0') * 10 + (t[1] - '0') < 24 &&
         (t[3] - '0') * 10 + (t[4] - '0') < 60;
}

static int bad(sim_resp *resp, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A 400 invalid; returns -1 for the validators' convenience. */
static int bad(sim_resp *resp, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  sim_err_legacy(resp, 400, "invalid", "%s", msg);
  return -1;
}

static int check_backup(sim_resp *resp, json_object *bc)
{
  json_object *v, *rs;

  if (bc == NULL)
    return 0;
  if (json_object_object_get_ex(bc, "location", &v)) {
    /* A region ("europe-west1") or a multi-region ("eu"). */
    const char *loc = json_object_get_string(v);
    size_t n = strlen(loc);

    for (size_t i = 0; i < n; i++)
      if (!islower((unsigned char)loc[i]) && !isdigit((unsigned char)loc[i]) &&
          loc[i] != '-')
        n = 0;
    if (n == 0 || n > 63)
      return bad(resp,
                 "Invalid request: backup configuration location (%s) is "
                 "invalid.",
                 loc);
  }
  if (json_object_object_get_ex(bc, "startTime", &v) &&
      !valid_hhmm(json_object_get_string(v)))
    return bad(resp,
               "Invalid request: backup configuration start time (%s) must "
               "be in the format HH:MM.",
               json_object_get_string(v));
  if (json_object_object_get_ex(bc, "transactionLogRetentionDays", &v)) {
    int d = json_object_get_int(v);

    if (d < 1 || d > 7)
      return bad(resp,
                 "Invalid request: transactionLogRetentionDays (%s) must be "
                 "between 1 and 7.",
                 json_object_get_string(v));
  }
  rs = jo(bc, "backupRetentionSettings");
  if (rs) {
    const char *unit = js(rs, "retentionUnit");

    if (unit && strcmp(unit, "COUNT") != 0)
      return bad(resp,
                 "Invalid value at 'body.settings.backup_configuration."
                 "backup_retention_settings.retention_unit', \"%s\"",
                 unit);
    if (json_object_object_get_ex(rs, "retainedBackups", &v) &&
        (json_object_get_int(v) < 1 || json_object_get_int(v) > 365))
      return bad(resp,
                 "Invalid request: retainedBackups (%s) must be between 1 "
                 "and 365.",
                 json_object_get_string(v));
  }
  return 0;
}

/* ipConfiguration.sslMode: one of the enum's values, and, for the legacy
 * requireSsl flag, one of the pairs the API documents as valid for
 * PostgreSQL and MySQL (requireSsl true only with client certificates). */
static int check_ssl(sim_resp *resp, json_object *ipc)
{
  static const char *const modes[] = {
      "SSL_MODE_UNSPECIFIED", "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
      "ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"};
  const char *mode = js(ipc, "sslMode");
  json_object *rs;
  size_t i;

  if (!mode)
    return 0;
  for (i = 0; i < sizeof(modes) / sizeof(*modes); i++)
    if (strcmp(mode, modes[i]) == 0)
      break;
  if (i == sizeof(modes) / sizeof(*modes))
    return bad(resp,
               "Invalid value at 'body.settings.ip_configuration.ssl_mode' "
               "(type.googleapis.com/google.cloud.sql.v1.IpConfiguration."
               "SslMode), \"%s\"",
               mode);
  if (json_object_object_get_ex(ipc, "requireSsl", &rs) &&
      json_object_get_boolean(rs) !=
          (strcmp(mode, "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") == 0) &&
      strcmp(mode, "SSL_MODE_UNSPECIFIED") != 0)
    return bad(resp, "Invalid request: sslMode %s and requireSsl %s conflict.",
               mode, json_object_get_boolean(rs) ? "true" : "false");
  return 0;
}

static char *network_of(sim *s, json_object *settings)
{
  const char *pn = js(jo(settings, "ipConfiguration"), "privateNetwork");

  return pn && *pn ? sim_ref_name(s, pn) : NULL;
}

/* Whole-settings checks shared by insert and patch (after merging). */
static int check_settings(sim *s, sim_resp *resp, const char *name,
                          const char *version, json_object *settings)
{
  const char *at = js(settings, "availabilityType");
  char *net;
  json_object *ranges;

  if (check_tier(resp, version, js(settings, "tier")) < 0)
    return -1;
  if (at && strcmp(at, "ZONAL") != 0 && strcmp(at, "REGIONAL") != 0)
    return bad(resp,
               "Invalid value at 'body.settings.availability_type' "
               "(type.googleapis.com/google.cloud.sql.v1."
               "SqlAvailabilityType), \"%s\"",
               at);
  if (check_backup(resp, jo(settings, "backupConfiguration")) < 0 ||
      check_ssl(resp, jo(settings, "ipConfiguration")) < 0)
    return -1;
  net = network_of(s, settings);
  if (net == NULL)
    return 0;
  ranges = sim_psa_ranges(s, net);
  if (sim_store_get(s, net) == NULL || ranges == NULL || alen(ranges) == 0) {
    /* The text gcloud and Terraform users report for a network without a
     * private services access connection. */
    sim_err_legacy(resp, 400, "invalid",
                   "Invalid request: Incorrect Service Networking config "
                   "for instance: %s:%s:SERVICE_NETWORKING_NOT_ENABLED.",
                   sim_project(s), name);
    json_object_put(ranges);
    free(net);
    return -1;
  }
  json_object_put(ranges);
  free(net);
  return 0;
}

/* --- addresses ---------------------------------------------------------- */

/* Every private address Cloud SQL instances hold, gathered in one pass
 * (an allocation then costs one walk of the instances, not one per
 * candidate address). */
struct ip_used {
  uint32_t *a;
  size_t n, cap;
};

static int ip_used_cb(void *data, const char *name, const char *kind,
                      json_object *obj)
{
  struct ip_used *u = data;
  json_object *ips = json_object_object_get(obj, "ipAddresses");

  (void)name;
  if (strcmp(kind, "sql#instance") != 0)
    return 0;
  for (size_t i = 0; i < alen(ips); i++) {
    struct in_addr a;
    if (inet_pton(AF_INET,
                  jsd(json_object_array_get_idx(ips, i), "ipAddress", ""),
                  &a) != 1)
      continue;
    if (u->n == u->cap) {
      size_t cap = u->cap ? u->cap * 2 : 64;
      uint32_t *p = realloc(u->a, cap * sizeof(*p));
      if (!p)
        return 1;
      u->a = p;
      u->cap = cap;
    }
    u->a[u->n++] = ntohl(a.s_addr);
  }
  return 0;
}

static int u32_cmp(const void *x, const void *y)
{
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

  return a < b ? -1 : a > b;
}

/* The first free address of the PSA ranges (skipping network, gateway
 * and the producer's reserved first addresses), or 0. */
static int alloc_private_ip(sim *s, const char *network, char *out, size_t n)
{
  json_object *ranges = sim_psa_ranges(s, network);
  char prefix[64];
  struct ip_used u = {NULL, 0, 0};
  int found = 0;

  snprintf(prefix, sizeof(prefix), "projects/%s/instances/", sim_project(s));
  sim_store_each(s, prefix, ip_used_cb, &u);
  if (u.n)
    qsort(u.a, u.n, sizeof(*u.a), u32_cmp);
  for (size_t i = 0; !found && i < alen(ranges); i++) {
    char cidr[64], *slash;
    struct in_addr a;
    unsigned bits;
    uint32_t base, size;

    snprintf(cidr, sizeof(cidr), "%s",
             json_object_get_string(json_object_array_get_idx(ranges, i)));
    slash = strchr(cidr, '/');
    if (slash == NULL)
      continue;
    *slash = '\0';
    bits = (unsigned)atoi(slash + 1);
    if (inet_pton(AF_INET, cidr, &a) != 1 || bits < 8 || bits > 29)
      continue;
    base = ntohl(a.s_addr);
    size = 1u << (32 - bits);
    for (uint32_t off = 3; !found && off < size - 1; off++) {
      uint32_t cand = base + off;
      struct in_addr c;

      if (u.n && bsearch(&cand, u.a, u.n, sizeof(*u.a), u32_cmp))
        continue;
      c.s_addr = htonl(cand);
      inet_ntop(AF_INET, &c, out, (socklen_t)n);
      found = 1;
    }
  }
  free(u.a);
  json_object_put(ranges);
  return found;
}

static json_object *ip_entry(const char *type, const char *ip)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "type", json_object_new_string(type));
  json_object_object_add(o, "ipAddress", json_object_new_string(ip));
  return o;
}

static const char *ip_of_type(json_object *ips, const char *type)
{
  for (size_t i = 0; i < alen(ips); i++) {
    json_object *e = json_object_array_get_idx(ips, i);

    if (strcmp(jsd(e, "type", ""), type) == 0)
      return js(e, "ipAddress");
  }
  return NULL;
}

/* Recomputes ipAddresses from settings, keeping addresses already held. */
static void assign_ips(sim *s, json_object *inst)
{
  json_object *settings = jo(inst, "settings");
  json_object *ipc = jo(settings, "ipConfiguration"), *v;
  json_object *old = json_object_object_get(inst, "ipAddresses");
  json_object *ips = json_object_new_array();
  int ipv4 = 1;
  char buf[64], *net;
  const char *have;

  if (json_object_object_get_ex(ipc, "ipv4Enabled", &v))
    ipv4 = json_object_get_boolean(v);
  if (ipv4) {
    have = ip_of_type(old, "PRIMARY");
    if (have == NULL) {
      snprintf(buf, sizeof(buf), "34.%u.%u.%u",
               (unsigned)sim_rand_range(s, 64, 127),
               (unsigned)sim_rand_range(s, 0, 255),
               (unsigned)sim_rand_range(s, 1, 254));
      have = buf;
    }
    json_object_array_add(ips, ip_entry("PRIMARY", have));
  }
  net = network_of(s, settings);
  if (net) {
    have = ip_of_type(old, "PRIVATE");
    if (have) {
      json_object_array_add(ips, ip_entry("PRIVATE", have));
    } else if (alloc_private_ip(s, net, buf, sizeof(buf))) {
      json_object_array_add(ips, ip_entry("PRIVATE", buf));
    }
    free(net);
  }
  json_object_object_add(inst, "ipAddresses", ips);
}

/* --- data version and the recovery window -------------------------------- */

/*
 * The data of an instance is modelled by one number, its data version, so
 * that a test can tell which moment a restore brought back: it goes up by
 * one per simulated second while the instance runs (activationPolicy not
 * NEVER), and is set by what replaces the data (creation: 0, a clone: the
 * source's version at the cloned moment, restoreBackup: the backup's).
 * Its history is kept beside the instance (deleted with it) as segments
 * {ms, version, running}: the version at time t is the last segment at or
 * before t, plus the whole seconds since it when running. A backup run
 * records the version it captured. Not part of the Cloud SQL API: tests
 * read it at GET /_sim/sql/instances/{instance}/dataVersion.
 */
#define SQL_DAY_MS (24ull * 3600 * 1000)

static void dv_key(sim *s, char *buf, size_t n, const char *inst)
{
  snprintf(buf, n, "projects/%s/instances/%s/dataVersion", sim_project(s),
           inst);
}

static int dv_running(json_object *inst)
{
  return strcmp(jsd(jo(inst, "settings"), "activationPolicy", "ALWAYS"),
                "NEVER") != 0;
}

/* The version of instance `name` at `ms`, or -1 (no history then). */
static int64_t dv_at(sim *s, const char *name, uint64_t ms)
{
  char key[400];
  json_object *segs, *best = NULL, *v;
  int64_t at;

  dv_key(s, key, sizeof(key), name);
  segs = json_object_object_get(sim_store_get(s, key), "segments");
  for (size_t i = 0; i < alen(segs); i++) {
    json_object *g = json_object_array_get_idx(segs, i);

    if ((uint64_t)json_object_get_int64(json_object_object_get(g, "ms")) <= ms)
      best = g;
  }
  if (best == NULL)
    return -1;
  at = json_object_get_int64(json_object_object_get(best, "ms"));
  v = json_object_object_get(best, "version");
  if (!json_object_get_boolean(json_object_object_get(best, "running")))
    return json_object_get_int64(v);
  return json_object_get_int64(v) + (int64_t)(ms / 1000 - (uint64_t)at / 1000);
}

/* A new segment now: `version` (-1: the current one), running or not. */
static void dv_set(sim *s, json_object *inst, int64_t version)
{
  const char *name = js(inst, "name");
  char key[400];
  json_object *doc, *segs, *g;
  uint64_t now = sim_now_ms(s);

  if (name == NULL)
    return;
  if (version < 0)
    version = dv_at(s, name, now);
  if (version < 0)
    version = 0;
  dv_key(s, key, sizeof(key), name);
  doc = sim_store_get(s, key);
  if (doc == NULL) {
    doc = json_object_new_object();
    json_object_object_add(doc, "segments", json_object_new_array());
    sim_store_put(s, key, "sql.dataVersion", doc);
  }
  segs = json_object_object_get(doc, "segments");
  g = json_object_new_object();
  json_object_object_add(g, "ms", json_object_new_int64((int64_t)now));
  json_object_object_add(g, "version", json_object_new_int64(version));
  json_object_object_add(g, "running",
                         json_object_new_boolean(dv_running(inst)));
  json_object_array_add(segs, g);
}

/* The version backup run `id` of instance `name` captured, or -1. */
static int64_t dv_backup(sim *s, const char *name, const char *id)
{
  char key[400];
  json_object *v;

  dv_key(s, key, sizeof(key), name);
  if (!json_object_object_get_ex(
          json_object_object_get(sim_store_get(s, key), "backups"), id, &v))
    return -1;
  return json_object_get_int64(v);
}

static void dv_backup_set(sim *s, const char *name, const char *id,
                          int64_t version)
{
  char key[400];
  json_object *doc, *b;

  dv_key(s, key, sizeof(key), name);
  doc = sim_store_get(s, key);
  if (doc == NULL)
    return;
  b = json_object_object_get(doc, "backups");
  if (b == NULL) {
    b = json_object_new_object();
    json_object_object_add(doc, "backups", b);
  }
  json_object_object_add(b, id, json_object_new_int64(version));
}

/*
 * The point-in-time recovery window of an instance: from its creation or
 * transactionLogRetentionDays (default 7) ago, whichever is later, to now.
 * 0, or -1 with resp filled when point-in-time recovery is off.
 */
static int pitr_window(sim *s, sim_resp *resp, json_object *inst,
                       uint64_t *earliest, uint64_t *latest)
{
  json_object *bc = jo(jo(inst, "settings"), "backupConfiguration"), *v;
  int64_t days = 7, created = sim_time_parse(js(inst, "createTime"));
  uint64_t now = sim_now_ms(s);

  if (!json_object_object_get_ex(bc, "pointInTimeRecoveryEnabled", &v) ||
      !json_object_get_boolean(v))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: Point in time recovery is not "
                          "enabled for the instance %s.",
                          jsd(inst, "name", "")),
           -1;
  if (json_object_object_get_ex(bc, "transactionLogRetentionDays", &v) &&
      json_object_get_int(v) > 0)
    days = json_object_get_int(v);
  *latest = now;
  *earliest =
      now > (uint64_t)days * SQL_DAY_MS ? now - (uint64_t)days * SQL_DAY_MS : 0;
  if (created > 0 && (uint64_t)created > *earliest)
    *earliest = (uint64_t)created;
  return 0;
}

/* instances.getLatestRecoveryTime: the window above. */
static int instances_recovery_time(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], a[32], b[32];
  json_object *inst = inst_lookup(s, req, resp, key, sizeof(key)), *o;
  uint64_t earliest, latest;

  if (inst == NULL || pitr_window(s, resp, inst, &earliest, &latest) < 0)
    return SIM_DONE;
  o = json_object_new_object();
  json_object_object_add(o, "kind",
                         json_object_new_string("sql#getLatestRecoveryTime"));
  json_object_object_add(o, "earliestRecoveryTime",
                         json_object_new_string(sim_time_str(earliest, a)));
  json_object_object_add(o, "latestRecoveryTime",
                         json_object_new_string(sim_time_str(latest, b)));
  return sim_resp_json(resp, 200, o);
}

/*
 * The data version a clone of `inst` starts with: its version at
 * cloneContext.pointInTime when given (checked against the window: a 400
 * naming it otherwise), else now. -1 with resp filled on a refusal.
 */
static int64_t clone_version(sim *s, sim_resp *resp, json_object *inst,
                             json_object *ctx)
{
  const char *pit = js(ctx, "pointInTime");
  uint64_t earliest, latest;
  int64_t t;
  char a[32], b[32];

  if (pit == NULL)
    return dv_at(s, js(inst, "name"), sim_now_ms(s));
  if (pitr_window(s, resp, inst, &earliest, &latest) < 0)
    return -1;
  t = sim_time_parse(pit);
  if (t < 0)
    return bad(resp,
               "Invalid value at 'body.clone_context.point_in_time' "
               "(type.googleapis.com/google.protobuf.Timestamp), \"%s\"",
               pit);
  if ((uint64_t)t < earliest || (uint64_t)t > latest)
    return bad(resp,
               "Invalid request: The requested point in time %s is outside "
               "the instance's recovery window (%s to %s).",
               pit, sim_time_str(earliest, a), sim_time_str(latest, b));
  return dv_at(s, js(inst, "name"), (uint64_t)t);
}

/* GET /_sim/sql/instances/{instance}/dataVersion[?at=RFC3339] (admin):
 * {instance, dataVersion, time, ms, segments}; the version at `at` when
 * given. */
static int admin_data_version(sim *s, sim_req *req, sim_resp *resp)
{
  char key[400], ts[32];
  const char *name = sim_param(req, "instance"), *at = sim_query(req, "at");
  int64_t when = at ? sim_time_parse(at) : (int64_t)sim_now_ms(s), v;
  json_object *o;

  inst_key(s, key, sizeof(key), name);
  if (sim_store_get(s, key) == NULL)
    return no_instance(resp);
  if (when < 0)
    return sim_err_legacy(resp, 400, "invalid", "at: not an RFC 3339 time");
  v = dv_at(s, name, (uint64_t)when);
  o = json_object_new_object();
  json_object_object_add(o, "instance", json_object_new_string(name));
  json_object_object_add(o, "dataVersion",
                         v < 0 ? NULL : json_object_new_int64(v));
  json_object_object_add(
      o, "time", json_object_new_string(sim_time_str((uint64_t)when, ts)));
  json_object_object_add(o, "ms", json_object_new_int64(when));
  dv_key(s, key, sizeof(key), name);
  json_object_object_add(
      o, "segments",
      copy(json_object_object_get(sim_store_get(s, key), "segments")));
  return sim_resp_json(resp, 200, o);
}

/* --- instances ---------------------------------------------------------- */

static const char *const settings_defaults[][2] = {
    {"availabilityType", "ZONAL"},      {"pricingPlan", "PER_USE"},
    {"activationPolicy", "ALWAYS"},     {"dataDiskType", "PD_SSD"},
    {"replicationType", "SYNCHRONOUS"}, {"edition", "ENTERPRISE"},
};

static void fill_settings(json_object *settings)
{
  json_object *ipc, *bc;

  json_object_object_add(settings, "kind",
                         json_object_new_string("sql#settings"));
  for (size_t i = 0; i < sizeof(settings_defaults) / sizeof(*settings_defaults);
       i++)
    if (!json_object_object_get_ex(settings, settings_defaults[i][0], NULL))
      json_object_object_add(settings, settings_defaults[i][0],
                             json_object_new_string(settings_defaults[i][1]));
  if (!json_object_object_get_ex(settings, "dataDiskSizeGb", NULL))
    json_object_object_add(settings, "dataDiskSizeGb",
                           json_object_new_string("10"));
  if (!json_object_object_get_ex(settings, "storageAutoResize", NULL))
    json_object_object_add(settings, "storageAutoResize",
                           json_object_new_boolean(1));
  if (!json_object_object_get_ex(settings, "deletionProtectionEnabled", NULL))
    json_object_object_add(settings, "deletionProtectionEnabled",
                           json_object_new_boolean(0));
  ipc = jo(settings, "ipConfiguration");
  if (ipc == NULL) {
    ipc = json_object_new_object();
    json_object_object_add(settings, "ipConfiguration", ipc);
  }
  if (!json_object_object_get_ex(ipc, "ipv4Enabled", NULL))
    json_object_object_add(ipc, "ipv4Enabled", json_object_new_boolean(1));
  /* A new instance accepts unencrypted connections unless told. */
  if (!json_object_object_get_ex(ipc, "sslMode", NULL))
    json_object_object_add(
        ipc, "sslMode",
        json_object_new_string("ALLOW_UNENCRYPTED_AND_ENCRYPTED"));
  bc = jo(settings, "backupConfiguration");
  if (bc == NULL) {
    bc = json_object_new_object();
    json_object_object_add(bc, "enabled", json_object_new_boolean(0));
    json_object_object_add(settings, "backupConfiguration", bc);
  }
  json_object_object_add(bc, "kind",
                         json_object_new_string("sql#backupConfiguration"));
}

/* The instance as stored, built from an insert body (or a clone). */
static json_object *build_instance(sim *s, json_object *body, const char *name,
                                   const char *key)
{
  json_object *inst = copy(body), *settings;
  const char *region = js(body, "region");
  char ts[32], buf[300];

  if (inst == NULL)
    inst = json_object_new_object();
  /* Output only, and a root password never lands in the store. */
  json_object_object_del(inst, "rootPassword");
  json_object_object_del(inst, "state");
  json_object_object_del(inst, "ipAddresses");
  if (region == NULL)
    region = "us-central1";
  json_object_object_add(inst, "kind", json_object_new_string("sql#instance"));
  json_object_object_add(inst, "name", json_object_new_string(name));
  json_object_object_add(inst, "project",
                         json_object_new_string(sim_project(s)));
  json_object_object_add(inst, "region", json_object_new_string(region));
  if (!js(inst, "databaseVersion"))
    json_object_object_add(inst, "databaseVersion",
                           json_object_new_string("MYSQL_8_0"));
  snprintf(buf, sizeof(buf), "%s-a", region);
  if (!js(inst, "gceZone"))
    json_object_object_add(inst, "gceZone", json_object_new_string(buf));
  json_object_object_add(inst, "state",
                         json_object_new_string("PENDING_CREATE"));
  json_object_object_add(inst, "backendType",
                         json_object_new_string("SECOND_GEN"));
  json_object_object_add(inst, "instanceType",
                         json_object_new_string("CLOUD_SQL_INSTANCE"));
  snprintf(buf, sizeof(buf), "%s:%s:%s", sim_project(s), region, name);
  json_object_object_add(inst, "connectionName", json_object_new_string(buf));
  snprintf(buf, sizeof(buf),
           "p%llu-sim@gcp-sa-cloud-sql.iam.gserviceaccount.com",
           (unsigned long long)(sim_rand(s) % 1000000000000ull));
  json_object_object_add(inst, "serviceAccountEmailAddress",
                         json_object_new_string(buf));
  json_object_object_add(inst, "createTime",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(inst, "selfLink",
                         sim_link_json(SIM_API_SQL, "%s", key));
  json_object_object_add(inst, "ipAddresses", json_object_new_array());
  settings = jo(inst, "settings");
  if (settings == NULL) {
    settings = json_object_new_object();
    json_object_object_add(inst, "settings", settings);
  }
  fill_settings(settings);
  json_object_object_add(settings, "settingsVersion",
                         json_object_new_string("1"));
  snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)sim_rand(s));
  json_object_object_add(inst, "etag", json_object_new_string(buf));
  return inst;
}

/* 409 when the name exists, is being created, or was deleted within the
 * last week (simulated). An older tombstone is forgotten. */
static int name_taken(sim *s, sim_resp *resp, const char *name, const char *key)
{
  char tomb[300];
  json_object *t, *v;

  snprintf(tomb, sizeof(tomb), "projects/%s/deletedInstances/%s",
           sim_project(s), name);
  t = sim_store_get(s, tomb);
  if (t && json_object_object_get_ex(t, "deleteTimeMs", &v) &&
      sim_now_ms(s) - (uint64_t)json_object_get_int64(v) >= SQL_WEEK_MS) {
    sim_store_del(s, tomb);
    t = NULL;
  }
  if (t)
    return sim_err_legacy(resp, 409, "instanceAlreadyExists",
                          "The Cloud SQL instance already exists. When you "
                          "delete an instance, you can't reuse the name of "
                          "the deleted instance until one week from the "
                          "deletion date."),
           -1;
  if (sim_store_get(s, key) || sim_op_pending(s, key))
    return sim_err_legacy(resp, 409, "instanceAlreadyExists",
                          "The Cloud SQL instance already exists."),
           -1;
  return 0;
}

static int instances_insert(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *inst;
  const char *name = js(body, "name");
  char key[300];
  sim_op *op;

  if (sim_check_project(s, req, resp) < 0 ||
      bad_body(resp, "DatabaseInstance", body))
    return SIM_DONE;
  if (name == NULL)
    return sim_err_legacy(resp, 400, "required", "Missing parameter: name.");
  if (!valid_instance_name(s, name))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: instance name (%s) is invalid.",
                          name);
  inst_key(s, key, sizeof(key), name);
  if (name_taken(s, resp, name, key) < 0)
    return SIM_DONE;
  inst = build_instance(s, body, name, key);
  if (check_settings(s, resp, name, js(inst, "databaseVersion"),
                     jo(inst, "settings")) < 0 ||
      sim_quota_take(s, resp, "SQL_INSTANCES", NULL, 1) < 0) {
    json_object_put(inst);
    return SIM_DONE;
  }
  sim_store_put(s, key, "sql#instance", json_object_get(inst));
  op = start_op(s, req, "CREATE", key, inst, SIM_DUR_SLOW, payload_name(key));
  json_object_put(inst);
  return respond_op(s, resp, op);
}

static void put_child(sim *s, const char *inst_name, const char *coll,
                      const char *kind, json_object *obj)
{
  char key[400];

  snprintf(key, sizeof(key), "projects/%s/instances/%s/%s/%s", sim_project(s),
           inst_name, coll, js(obj, "name"));
  sim_store_put(s, key, kind, obj);
}

static json_object *database_obj(sim *s, const char *inst, const char *name,
                                 const char *charset, const char *collation)
{
  json_object *d = json_object_new_object();

  json_object_object_add(d, "kind", json_object_new_string("sql#database"));
  json_object_object_add(d, "name", json_object_new_string(name));
  json_object_object_add(d, "instance", json_object_new_string(inst));
  json_object_object_add(d, "project", json_object_new_string(sim_project(s)));
  json_object_object_add(d, "charset", json_object_new_string(charset));
  json_object_object_add(d, "collation", json_object_new_string(collation));
  json_object_object_add(d, "selfLink",
                         sim_link_json(SIM_API_SQL,
                                       "projects/%s/instances/%s/databases/%s",
                                       sim_project(s), inst, name));
  return d;
}

static json_object *user_obj(sim *s, const char *inst, const char *name,
                             const char *host, const char *type)
{
  json_object *u = json_object_new_object();

  json_object_object_add(u, "kind", json_object_new_string("sql#user"));
  json_object_object_add(u, "name", json_object_new_string(name));
  json_object_object_add(u, "instance", json_object_new_string(inst));
  json_object_object_add(u, "project", json_object_new_string(sim_project(s)));
  if (host)
    json_object_object_add(u, "host", json_object_new_string(host));
  if (type)
    json_object_object_add(u, "type", json_object_new_string(type));
  return u;
}

struct children_ctx {
  json_object *items;
};

static int children_cb(void *data, const char *name, const char *kind,
                       json_object *obj)
{
  struct children_ctx *c = data;

  (void)name;
  if (strcmp(kind, "sql#database") == 0 || strcmp(kind, "sql#user") == 0)
    json_object_array_add(c->items, copy(obj));
  return 0;
}

/* A clone has the source's databases and users (Cloud SQL copies the
 * whole instance). */
static void clone_children(sim *s, const char *src, const char *dest)
{
  struct children_ctx c;
  char prefix[320];

  c.items = json_object_new_array();
  snprintf(prefix, sizeof(prefix), "projects/%s/instances/%s/", sim_project(s),
           src);
  sim_store_each(s, prefix, children_cb, &c);
  for (size_t i = 0; i < alen(c.items); i++) {
    json_object *o = json_object_get(json_object_array_get_idx(c.items, i));
    int db = strcmp(jsd(o, "kind", ""), "sql#database") == 0;

    json_object_object_add(o, "instance", json_object_new_string(dest));
    if (db)
      json_object_object_add(
          o, "selfLink",
          sim_link_json(SIM_API_SQL, "projects/%s/instances/%s/databases/%s",
                        sim_project(s), dest, jsd(o, "name", "")));
    put_child(s, dest, db ? "databases" : "users",
              db ? "sql#database" : "sql#user", o);
  }
  json_object_put(c.items);
}

/* Completion of insert and clone: RUNNABLE with addresses and the engine's
 * built-in database and user; a failed creation leaves nothing behind. */
static void instances_insert_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *key = js(payload, "name");
  json_object *inst = sim_store_get(s, key), *v;
  const char *name, *version;

  if (inst == NULL)
    return;
  if (sim_op_failed(op)) {
    sim_store_del(s, key);
    sim_quota_give(s, "SQL_INSTANCES", NULL, 1);
    return;
  }
  json_object_object_add(inst, "state", json_object_new_string("RUNNABLE"));
  assign_ips(s, inst);
  name = js(inst, "name");
  /* A clone: the source's data as of the cloned moment. */
  dv_set(s, inst,
         json_object_object_get_ex(payload, "dataVersion", &v)
             ? json_object_get_int64(v)
             : 0);
  if (js(payload, "source")) {
    clone_children(s, js(payload, "source"), name);
    return;
  }
  version = jsd(inst, "databaseVersion", "");
  if (strncmp(version, "POSTGRES", 8) == 0) {
    put_child(s, name, "databases", "sql#database",
              database_obj(s, name, "postgres", "UTF8", "en_US.UTF8"));
    put_child(s, name, "users", "sql#user",
              user_obj(s, name, "postgres", NULL, "BUILT_IN"));
  } else if (strncmp(version, "MYSQL", 5) == 0) {
    put_child(s, name, "users", "sql#user",
              user_obj(s, name, "root", "%", "BUILT_IN"));
  }
}

static int instances_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *inst = inst_lookup(s, req, resp, key, sizeof(key));

  return inst ? sim_resp_json(resp, 200, json_object_get(inst)) : SIM_DONE;
}

struct list_ctx {
  const char *kind;
  json_object *items;
};

static int list_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct list_ctx *c = data;

  (void)name;
  if (strcmp(kind, c->kind) == 0)
    json_object_array_add(c->items, json_object_get(obj));
  return 0;
}

static json_object *list_of(sim *s, const char *prefix, const char *kind,
                            const char *list_kind)
{
  struct list_ctx c;
  json_object *o = json_object_new_object();

  c.kind = kind;
  c.items = json_object_new_array();
  sim_store_each(s, prefix, list_cb, &c);
  json_object_object_add(o, "kind", json_object_new_string(list_kind));
  json_object_object_add(o, "items", c.items);
  return o;
}

/* One page of a list (instances.list, Backups.ListBackups). */
struct page_ctx {
  const char *kind;   /* the resources listed */
  const char *filter; /* listfilter.h: `field:value ...`, or NULL */
  const char *token;  /* the first name of this page, or NULL */
  long long max, n;
  json_object *items;
  char next[300]; /* the first name of the next page, or "" */
};

static int page_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct page_ctx *c = data;

  if (strcmp(kind, c->kind) != 0 || (c->token && strcmp(name, c->token) < 0) ||
      sim_lf_match(obj, c->filter, NULL, 0) != 1)
    return 0;
  if (c->n == c->max) {
    snprintf(c->next, sizeof(c->next), "%s", name);
    return 1;
  }
  json_object_array_add(c->items, json_object_get(obj));
  c->n++;
  return 0;
}

/*
 * The page of the resources of `kind` under `prefix` a list asks for:
 * `filter` (`field:value`, fields nested as in the JSON such as
 * `settings.userLabels.k:v`, several space-separated or with AND / OR;
 * listfilter.h), the page size in query parameter `size` (unspecified or
 * 0: `def`, above `cap`: `cap`, at most `limit`, else 400) and `pageToken`
 * (the previous page's nextPageToken: the first resource of the next
 * page; anything else is refused). 0 with c->items (new) and c->next
 * filled, or -1 with resp filled.
 */
static int list_page(sim *s, sim_req *req, sim_resp *resp, const char *prefix,
                     const char *kind, const char *size, long long def,
                     long long cap, long long limit, struct page_ctx *c)
{
  const char *max = sim_query(req, size);
  char why[160], *end = NULL;

  memset(c, 0, sizeof(*c));
  c->kind = kind;
  c->filter = sim_query(req, "filter");
  c->token = sim_query(req, "pageToken");
  c->max = max && *max ? strtoll(max, &end, 10) : 0;
  if (max && *max && (*end || c->max < 0 || c->max > limit)) {
    sim_err_legacy(resp, 400, "invalid", "Invalid value for %s: %s", size, max);
    return -1;
  }
  if (c->max == 0)
    c->max = def;
  if (c->max > cap)
    c->max = cap;
  if (c->filter && sim_lf_match(NULL, c->filter, why, sizeof(why)) < 0) {
    sim_err_legacy(resp, 400, "invalid",
                   "Invalid request: Invalid filter '%s': %s.", c->filter, why);
    return -1;
  }
  if (c->token && *c->token &&
      (strncmp(c->token, prefix, strlen(prefix)) != 0 ||
       strchr(c->token + strlen(prefix), '/'))) {
    sim_err_legacy(resp, 400, "invalid",
                   "Invalid request: page token '%s' is not valid.", c->token);
    return -1;
  }
  if (c->token && !*c->token)
    c->token = NULL;
  c->items = json_object_new_array();
  sim_store_each(s, prefix, page_cb, c);
  return 0;
}

/* instances.list as the discovery document describes it: `maxResults` (a
 * uint32; unspecified or 0: 500, above 1000: 1000). */
static int instances_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  struct page_ctx c;
  json_object *o;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/instances/", sim_project(s));
  if (list_page(s, req, resp, prefix, "sql#instance", "maxResults", 500, 1000,
                4294967295LL, &c) < 0)
    return SIM_DONE;
  o = json_object_new_object();
  json_object_object_add(o, "kind",
                         json_object_new_string("sql#instancesList"));
  json_object_object_add(o, "items", c.items);
  if (c.next[0])
    json_object_object_add(o, "nextPageToken", json_object_new_string(c.next));
  return sim_resp_json(resp, 200, o);
}

/* Fields a patch may not touch (identity and output only). */
static const char *const instance_fixed[] = {
    "name",           "project",    "region",      "databaseVersion",
    "kind",           "selfLink",   "state",       "ipAddresses",
    "connectionName", "createTime", "backendType", "serviceAccountEmailAddress",
    "instanceType",   "etag",       "gceZone",     NULL,
};

static int instances_patch(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *inst;
  json_object *body = sim_body(req), *want, *settings, *v, *payload;
  const char *old_net, *new_net;

  if (bad_body(resp, "DatabaseInstance", sim_body(req)))
    return SIM_DONE;
  inst = inst_lookup(s, req, resp, key, sizeof(key));
  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  settings = jo(body, "settings");
  if (settings && json_object_object_get_ex(settings, "settingsVersion", &v) &&
      json_object_get_int64(v) != json_object_get_int64(json_object_object_get(
                                      jo(inst, "settings"), "settingsVersion")))
    return sim_err_legacy(resp, 412, "staleData", "Condition does not match.");
  for (size_t i = 0; body && instance_fixed[i]; i++) {
    const char *have = js(inst, instance_fixed[i]), *got;

    if (!json_object_object_get_ex(body, instance_fixed[i], &v))
      continue;
    got = json_object_get_string(v);
    if (have == NULL || got == NULL || strcmp(have, got) != 0)
      return sim_err_legacy(resp, 400, "invalid",
                            "Invalid request: %s cannot be changed.",
                            instance_fixed[i]);
  }
  /* Validate the instance as it will be. */
  want = copy(inst);
  if (body)
    merge(want, body);
  old_net = js(jo(jo(inst, "settings"), "ipConfiguration"), "privateNetwork");
  new_net = js(jo(jo(want, "settings"), "ipConfiguration"), "privateNetwork");
  if (old_net && *old_net && (new_net == NULL || *new_net == '\0')) {
    json_object_put(want);
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: Private network cannot be "
                          "removed once set.");
  }
  if (check_settings(s, resp, js(inst, "name"), js(inst, "databaseVersion"),
                     jo(want, "settings")) < 0) {
    json_object_put(want);
    return SIM_DONE;
  }
  json_object_put(want);
  payload = payload_name(key);
  json_object_object_add(payload, "patch",
                         body ? json_object_get(body)
                              : json_object_new_object());
  return respond_op(
      s, resp, start_op(s, req, "UPDATE", key, inst, SIM_DUR_MEDIUM, payload));
}

static void instances_patch_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *inst = sim_store_get(s, js(payload, "name")), *settings;
  json_object *patch = copy(jo(payload, "patch"));
  int64_t ver;
  int was_running;
  char buf[32];

  if (inst == NULL || sim_op_failed(op)) {
    json_object_put(patch);
    return;
  }
  settings = jo(inst, "settings");
  ver = json_object_get_int64(
      json_object_object_get(settings, "settingsVersion"));
  json_object_object_del(jo(patch, "settings"), "settingsVersion");
  was_running = dv_running(inst);
  merge(inst, patch);
  json_object_put(patch);
  settings = jo(inst, "settings");
  fill_settings(settings);
  snprintf(buf, sizeof(buf), "%lld", (long long)ver + 1);
  json_object_object_add(settings, "settingsVersion",
                         json_object_new_string(buf));
  snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)sim_rand(s));
  json_object_object_add(inst, "etag", json_object_new_string(buf));
  assign_ips(s, inst);
  if (dv_running(inst) != was_running)
    dv_set(s, inst, -1); /* stopped or started: the version holds or goes on */
}

struct names_ctx {
  sim *s;
  json_object *names;
};

/* --- project backups: final backups that outlive their instance -------- */

/* Google's bounds of finalBackupTtlDays, and its default retention. */
#define SQL_FINAL_TTL_MIN     1
#define SQL_FINAL_TTL_MAX     365
#define SQL_FINAL_TTL_DEFAULT 30
#define SQL_DAY_MS            (24ull * 3600 * 1000)

/*
 * instances.delete's final-backup parameters into payload.finalBackup
 * ({expiryTime, ttlDays?, description?}): enableFinalBackup, then one of
 * finalBackupTtlDays (1..365) or finalBackupExpiryTime (in the future);
 * neither: 30 days. -1 with resp filled on a bad value.
 */
static int final_backup_params(sim *s, sim_req *req, sim_resp *resp,
                               json_object *payload)
{
  const char *on = sim_query(req, "enableFinalBackup");
  const char *ttl = sim_query(req, "finalBackupTtlDays");
  const char *exp = sim_query(req, "finalBackupExpiryTime");
  const char *desc = sim_query(req, "finalBackupDescription");
  json_object *fb;
  char *end = NULL, ts[32];
  long long days = SQL_FINAL_TTL_DEFAULT;
  int64_t when;

  if (on && strcmp(on, "true") != 0 && strcmp(on, "false") != 0) {
    sim_err_legacy(resp, 400, "invalid",
                   "Invalid value for enableFinalBackup: %s", on);
    return -1;
  }
  if (on == NULL || strcmp(on, "true") != 0) {
    if ((ttl && *ttl) || (exp && *exp)) {
      sim_err_legacy(resp, 400, "invalid",
                     "Invalid request: final backup settings need "
                     "enableFinalBackup=true.");
      return -1;
    }
    return 0;
  }
  if (ttl && *ttl && exp && *exp) {
    sim_err_legacy(resp, 400, "invalid",
                   "Invalid request: only one of finalBackupTtlDays and "
                   "finalBackupExpiryTime can be set.");
    return -1;
  }
  fb = json_object_new_object();
  if (exp && *exp) {
    when = sim_time_parse(exp);
    if (when < 0 || (uint64_t)when <= sim_now_ms(s)) {
      json_object_put(fb);
      sim_err_legacy(resp, 400, "invalid",
                     "Invalid request: finalBackupExpiryTime (%s) must be a "
                     "time in the future.",
                     exp);
      return -1;
    }
  } else {
    if (ttl && *ttl)
      days = strtoll(ttl, &end, 10);
    if ((ttl && *ttl && *end) || days < SQL_FINAL_TTL_MIN ||
        days > SQL_FINAL_TTL_MAX) {
      json_object_put(fb);
      sim_err_legacy(resp, 400, "invalid",
                     "Invalid request: finalBackupTtlDays (%s) must be "
                     "between %d and %d.",
                     ttl, SQL_FINAL_TTL_MIN, SQL_FINAL_TTL_MAX);
      return -1;
    }
    when = (int64_t)(sim_now_ms(s) + (uint64_t)days * SQL_DAY_MS);
    snprintf(ts, sizeof(ts), "%lld", days);
    json_object_object_add(fb, "ttlDays", json_object_new_string(ts));
  }
  json_object_object_add(
      fb, "expiryTime",
      json_object_new_string(sim_time_str((uint64_t)when, ts)));
  if (desc && *desc)
    json_object_object_add(fb, "description", json_object_new_string(desc));
  json_object_object_add(payload, "finalBackup", fb);
  return 0;
}

/* The data version a project backup holds (its instance's when it was
 * taken), kept beside it under projects/P/simBackupVersions/ID, kind
 * "sql.backupVersion" (the Backup resource has no such field); -1: none
 * recorded. */
static void backup_version_key(sim *s, char *buf, size_t n, const char *bkey)
{
  const char *id = strrchr(bkey, '/');

  snprintf(buf, n, "projects/%s/simBackupVersions/%s", sim_project(s),
           id ? id + 1 : bkey);
}

/* Removes project backup `bkey` and its version record. */
static void backup_del(sim *s, const char *bkey)
{
  char key[400];

  backup_version_key(s, key, sizeof(key), bkey);
  if (sim_store_get(s, key))
    sim_store_del(s, key);
  sim_store_del(s, bkey);
}

static int64_t backup_version(sim *s, const char *bkey)
{
  char key[400];
  json_object *v;

  backup_version_key(s, key, sizeof(key), bkey);
  if (!json_object_object_get_ex(sim_store_get(s, key), "dataVersion", &v))
    return -1;
  return json_object_get_int64(v);
}

/* The FINAL backup of `inst` being deleted (fb from final_backup_params;
 * NULL: none), stored under projects/P/backups/ID, holding data version
 * `version` (-1: unknown). */
static void final_backup_make(sim *s, json_object *inst, json_object *fb,
                              int64_t version)
{
  char id[24], key[300], ts[32], vkey[400];
  json_object *b, *iv;

  if (fb == NULL)
    return;
  sim_new_id(s, id);
  snprintf(key, sizeof(key), "projects/%s/backups/%s", sim_project(s), id);
  sim_now_str(s, ts);
  b = copy(fb);
  json_object_object_add(b, "kind", json_object_new_string("sql#backup"));
  json_object_object_add(b, "name", json_object_new_string(key));
  json_object_object_add(b, "selfLink", sim_link_json(SIM_API_SQL, "%s", key));
  json_object_object_add(b, "instance",
                         json_object_new_string(jsd(inst, "name", "")));
  json_object_object_add(b, "type", json_object_new_string("FINAL"));
  json_object_object_add(b, "backupKind", json_object_new_string("SNAPSHOT"));
  json_object_object_add(b, "state", json_object_new_string("SUCCESSFUL"));
  json_object_object_add(b, "location",
                         json_object_new_string(jsd(inst, "region", "us")));
  json_object_object_add(
      b, "databaseVersion",
      json_object_new_string(jsd(inst, "databaseVersion", "")));
  json_object_object_add(b, "instanceDeletionTime", json_object_new_string(ts));
  iv = json_object_new_object();
  json_object_object_add(iv, "startTime", json_object_new_string(ts));
  json_object_object_add(iv, "endTime", json_object_new_string(ts));
  json_object_object_add(b, "backupInterval", iv);
  json_object_object_add(b, "instanceSettings", copy(inst));
  sim_store_put(s, key, "sql#backup", b);
  if (version >= 0) {
    json_object *v = json_object_new_object();

    json_object_object_add(v, "backup", json_object_new_string(key));
    json_object_object_add(v, "dataVersion", json_object_new_int64(version));
    backup_version_key(s, vkey, sizeof(vkey), key);
    sim_store_put(s, vkey, "sql.backupVersion", v);
  }
}

/* 1 when the backup's expiryTime has passed on the simulated clock. */
static int backup_expired(const sim *s, json_object *b)
{
  int64_t t = sim_time_parse(js(b, "expiryTime"));

  return t >= 0 && (uint64_t)t <= sim_now_ms(s);
}

static int expired_cb(void *data, const char *name, const char *kind,
                      json_object *obj)
{
  struct names_ctx *c = data;

  if (strcmp(kind, "sql#backup") == 0 && backup_expired(c->s, obj))
    json_object_array_add(c->names, json_object_new_string(name));
  return 0;
}

/* Google deletes a backup at its expiry: so does every backups call. */
static void backups_sweep(sim *s)
{
  struct names_ctx c;
  char prefix[300];

  snprintf(prefix, sizeof(prefix), "projects/%s/backups/", sim_project(s));
  c.s = s;
  c.names = json_object_new_array();
  sim_store_each(s, prefix, expired_cb, &c);
  for (size_t i = 0; i < alen(c.names); i++)
    backup_del(s,
               json_object_get_string(json_object_array_get_idx(c.names, i)));
  if (alen(c.names))
    sim_dirty(s);
  json_object_put(c.names);
}

/* The backup {backup} names (borrowed; swept first), or NULL with resp
 * filled (404). key receives its canonical name. */
static json_object *backup_lookup(sim *s, sim_req *req, sim_resp *resp,
                                  const char *id, char *key, size_t n)
{
  json_object *b;

  if (sim_check_project(s, req, resp) < 0)
    return NULL;
  backups_sweep(s);
  snprintf(key, n, "projects/%s/backups/%s", sim_project(s), id ? id : "");
  b = sim_store_get(s, key);
  if (b == NULL || id == NULL || strchr(id, '/'))
    sim_err_legacy(resp, 404, "notFound", "The backup %s does not exist.", key);
  return b == NULL || id == NULL || strchr(id, '/') ? NULL : b;
}

/*
 * The simulator's own record of where an instance's data came from (the
 * last restore onto it): projects/P/simRestores/INSTANCE {instance,
 * source, time}, kind "sql.simRestore", read by tests through
 * /_sim/state. Not served by the API. `source` NULL drops it.
 */
static void restore_record(sim *s, const char *inst, const char *source)
{
  char key[300], ts[32];
  json_object *r;

  snprintf(key, sizeof(key), "projects/%s/simRestores/%s", sim_project(s),
           inst);
  if (source == NULL) {
    if (sim_store_get(s, key))
      sim_store_del(s, key);
    return;
  }
  r = json_object_new_object();
  json_object_object_add(r, "instance", json_object_new_string(inst));
  json_object_object_add(r, "source", json_object_new_string(source));
  json_object_object_add(r, "time", json_object_new_string(sim_now_str(s, ts)));
  sim_store_put(s, key, "sql.simRestore", r);
}

static int start_maintenance(sim *s, sim_req *req, sim_resp *resp,
                             const char *key, json_object *inst,
                             const char *type, const char *from,
                             int64_t data_version);

/* restoreBackup with `backup` (projects/P/backups/ID): a project backup,
 * unexpired, of the same database version, onto this instance. */
static int restore_from_backup(sim *s, sim_req *req, sim_resp *resp,
                               const char *key, json_object *inst,
                               json_object *ctx)
{
  const char *name = js(sim_body(req), "backup");
  char prefix[300], bkey[300];
  size_t pl;
  json_object *b;

  if (ctx || js(sim_body(req), "backupdrBackup"))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: Only one of "
                          "restore_backup_context, backup, backupdr_backup "
                          "can be passed to the input.");
  snprintf(prefix, sizeof(prefix), "projects/%s/backups/", sim_project(s));
  pl = strlen(prefix);
  b = backup_lookup(s, req, resp,
                    strncmp(name, prefix, pl) == 0 ? name + pl : NULL, bkey,
                    sizeof(bkey));
  if (b == NULL)
    return SIM_DONE;
  if (strcmp(jsd(b, "databaseVersion", ""), jsd(inst, "databaseVersion", "")))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: the backup's database version "
                          "(%s) differs from the instance's (%s).",
                          jsd(b, "databaseVersion", ""),
                          jsd(inst, "databaseVersion", ""));
  return start_maintenance(s, req, resp, key, inst, "RESTORE_VOLUME", bkey,
                           backup_version(s, bkey));
}

static int backups_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *b =
      backup_lookup(s, req, resp, sim_param(req, "backup"), key, sizeof(key));

  return b ? sim_resp_json(resp, 200, json_object_get(b)) : SIM_DONE;
}

/* Backups.ListBackups: `filter` (`instance:abc type:FINAL`), `pageSize`
 * (an int32; 0 or none: 500, at most 2000), `pageToken`. */
static int backups_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  struct page_ctx c;
  json_object *o;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  backups_sweep(s);
  snprintf(prefix, sizeof(prefix), "projects/%s/backups/", sim_project(s));
  if (list_page(s, req, resp, prefix, "sql#backup", "pageSize", 500, 2000,
                2147483647LL, &c) < 0)
    return SIM_DONE;
  o = json_object_new_object();
  json_object_object_add(o, "backups", c.items);
  if (c.next[0])
    json_object_object_add(o, "nextPageToken", json_object_new_string(c.next));
  return sim_resp_json(resp, 200, o);
}

static int backups_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *b =
      backup_lookup(s, req, resp, sim_param(req, "backup"), key, sizeof(key));
  sim_op_spec spec;

  if (b == NULL || busy(s, resp, key) < 0)
    return SIM_DONE;
  memset(&spec, 0, sizeof(spec));
  spec.shape = SIM_OP_SQL;
  spec.duration = SIM_DUR_QUICK;
  spec.operation_type = "DELETE_BACKUP";
  spec.target_name = key;
  spec.target_link = js(b, "selfLink");
  spec.target_id = js(b, "instance");
  spec.payload = payload_name(key);
  return respond_op(s, resp, sim_op_start(s, req, &spec));
}

static void backups_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  if (!sim_op_failed(op) && sim_store_get(s, js(payload, "name")))
    backup_del(s, js(payload, "name"));
}

static int instances_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *inst = inst_lookup(s, req, resp, key, sizeof(key)), *v;
  json_object *payload;
  sim_op *op;

  if (inst == NULL || busy(s, resp, key) < 0)
    return SIM_DONE;
  if (json_object_object_get_ex(jo(inst, "settings"),
                                "deletionProtectionEnabled", &v) &&
      json_object_get_boolean(v))
    return sim_err_legacy(resp, 400, "invalid",
                          "The instance is protected. Please disable the "
                          "deletion protection and try again. To disable "
                          "deletion protection, update the instance settings "
                          "with deletionProtectionEnabled set to false.");
  payload = payload_name(key);
  if (final_backup_params(s, req, resp, payload) < 0) {
    json_object_put(payload);
    return SIM_DONE;
  }
  op = start_op(s, req, "DELETE", key, inst, SIM_DUR_MEDIUM, payload);
  if (op)
    json_object_object_add(inst, "state",
                           json_object_new_string("PENDING_DELETE"));
  return respond_op(s, resp, op);
}

static int names_cb(void *data, const char *name, const char *kind,
                    json_object *obj)
{
  struct names_ctx *c = data;

  (void)kind;
  (void)obj;
  json_object_array_add(c->names, json_object_new_string(name));
  return 0;
}

static void instances_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  const char *key = js(payload, "name");
  json_object *inst = sim_store_get(s, key), *tomb;
  struct names_ctx c;
  char prefix[320], tname[300];
  const char *name;
  int64_t version;

  if (inst == NULL)
    return;
  if (sim_op_failed(op)) {
    json_object_object_add(inst, "state", json_object_new_string("RUNNABLE"));
    return;
  }
  name = js(inst, "name");
  /* Its data as it is now, before its records go: the final backup's. */
  version = dv_at(s, name, sim_now_ms(s));
  snprintf(tname, sizeof(tname), "projects/%s/deletedInstances/%s",
           sim_project(s), name);
  tomb = json_object_new_object();
  json_object_object_add(tomb, "name", json_object_new_string(name));
  json_object_object_add(tomb, "deleteTimeMs",
                         json_object_new_int64((int64_t)sim_now_ms(s)));
  snprintf(prefix, sizeof(prefix), "%s/", key);
  c.names = json_object_new_array();
  sim_store_each(s, prefix, names_cb, &c);
  for (size_t i = 0; i < alen(c.names); i++)
    sim_store_del(
        s, json_object_get_string(json_object_array_get_idx(c.names, i)));
  json_object_put(c.names);
  final_backup_make(s, inst, jo(payload, "finalBackup"), version);
  restore_record(s, name, NULL);
  sim_store_del(s, key);
  sim_store_put(s, tname, "sql.deletedInstance", tomb);
  sim_quota_give(s, "SQL_INSTANCES", NULL, 1);
}

/* restart and restoreBackup: MAINTENANCE until the operation is done. */
static int start_maintenance(sim *s, sim_req *req, sim_resp *resp,
                             const char *key, json_object *inst,
                             const char *type, const char *from,
                             int64_t data_version)
{
  json_object *payload = payload_name(key);
  sim_op *op;

  /* restoreBackup: the data becomes the backup's at the end. */
  if (data_version >= 0)
    json_object_object_add(payload, "dataVersion",
                           json_object_new_int64(data_version));

  if (from)
    json_object_object_add(payload, "from", json_object_new_string(from));
  op = start_op(s, req, type, key, inst, SIM_DUR_MEDIUM, payload);
  if (op)
    json_object_object_add(inst, "state",
                           json_object_new_string("MAINTENANCE"));
  return respond_op(s, resp, op);
}

static int instances_restart(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300];
  json_object *inst = inst_lookup(s, req, resp, key, sizeof(key));

  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  return start_maintenance(s, req, resp, key, inst, "RESTART", NULL, -1);
}

static void maintenance_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *inst = sim_store_get(s, js(payload, "name")), *v;

  if (inst == NULL)
    return;
  json_object_object_add(inst, "state", json_object_new_string("RUNNABLE"));
  if (!sim_op_failed(op) &&
      json_object_object_get_ex(payload, "dataVersion", &v))
    dv_set(s, inst, json_object_get_int64(v));
}

/* restoreBackup's completion: RUNNABLE again, and the restore recorded. */
static void restore_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *inst = sim_store_get(s, js(payload, "name"));

  maintenance_apply(s, op, payload);
  if (inst && !sim_op_failed(op) && js(payload, "from"))
    restore_record(s, js(inst, "name"), js(payload, "from"));
}

/* A backup run stored in a region that is down (outage.c). */
static int run_unavailable(sim_resp *resp)
{
  return sim_err_legacy(resp, 503, "backendError",
                        "The service is currently unavailable.");
}

static int instances_restore(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], run[400];
  json_object *inst;
  json_object *ctx = jo(sim_body(req), "restoreBackupContext"), *v;
  const char *src;

  if (bad_body(resp, "InstancesRestoreBackupRequest", sim_body(req)))
    return SIM_DONE;
  inst = inst_lookup(s, req, resp, key, sizeof(key));
  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  if (js(sim_body(req), "backup"))
    return restore_from_backup(s, req, resp, key, inst, ctx);
  if (ctx == NULL || !json_object_object_get_ex(ctx, "backupRunId", &v))
    return sim_err_legacy(resp, 400, "required",
                          "Missing parameter: restoreBackupContext."
                          "backupRunId.");
  src = jsd(ctx, "instanceId", sim_param(req, "instance"));
  snprintf(run, sizeof(run), "projects/%s/instances/%s/backupRuns/%s",
           sim_project(s), src, json_object_get_string(v));
  if (sim_store_get(s, run) == NULL)
    return sim_err_legacy(resp, 404, "backupRunDoesNotExist",
                          "The backup run does not exist.");
  if (sim_region_down(s, js(sim_store_get(s, run), "location")))
    return run_unavailable(resp);
  return start_maintenance(s, req, resp, key, inst, "RESTORE_VOLUME", run,
                           dv_backup(s, src, json_object_get_string(v)));
}

static int instances_clone(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], dkey[300];
  json_object *inst;
  json_object *ctx = jo(sim_body(req), "cloneContext"), *body, *dest, *payload;
  const char *dname = js(ctx, "destinationInstanceName");
  int64_t version;
  sim_op *op;

  if (bad_body(resp, "InstancesCloneRequest", sim_body(req)))
    return SIM_DONE;
  inst = inst_lookup(s, req, resp, key, sizeof(key));
  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  if (dname == NULL)
    return sim_err_legacy(resp, 400, "required",
                          "Missing parameter: cloneContext."
                          "destinationInstanceName.");
  if (!valid_instance_name(s, dname))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: instance name (%s) is invalid.",
                          dname);
  inst_key(s, dkey, sizeof(dkey), dname);
  if (name_taken(s, resp, dname, dkey) < 0 ||
      (version = clone_version(s, resp, inst, ctx)) < 0 ||
      sim_quota_take(s, resp, "SQL_INSTANCES", NULL, 1) < 0)
    return SIM_DONE;
  body = json_object_new_object();
  json_object_object_add(body, "region",
                         json_object_new_string(js(inst, "region")));
  json_object_object_add(body, "databaseVersion",
                         json_object_new_string(js(inst, "databaseVersion")));
  json_object_object_add(body, "settings", copy(jo(inst, "settings")));
  json_object_object_del(jo(body, "settings"), "settingsVersion");
  dest = build_instance(s, body, dname, dkey);
  json_object_put(body);
  sim_store_put(s, dkey, "sql#instance", dest);
  /* The source is the target (it is the one held busy); apply finishes
   * the destination. */
  payload = payload_name(dkey);
  json_object_object_add(payload, "dataVersion",
                         json_object_new_int64(version));
  json_object_object_add(payload, "source",
                         json_object_new_string(js(inst, "name")));
  op = start_op(s, req, "CLONE", key, inst, SIM_DUR_SLOW, payload);
  return respond_op(s, resp, op);
}

/* --- databases ---------------------------------------------------------- */

static void child_key(sim *s, char *buf, size_t n, sim_req *req,
                      const char *coll, const char *name)
{
  snprintf(buf, n, "projects/%s/instances/%s/%s/%s", sim_project(s),
           sim_param(req, "instance"), coll, name);
}

static int databases_insert(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], dkey[400];
  json_object *inst;
  json_object *body = sim_body(req), *payload;
  const char *name = js(body, "name"), *pg;

  if (bad_body(resp, "Database", sim_body(req)))
    return SIM_DONE;
  inst = inst_lookup(s, req, resp, key, sizeof(key));
  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  if (name == NULL || *name == '\0')
    return sim_err_legacy(resp, 400, "required", "Missing parameter: name.");
  child_key(s, dkey, sizeof(dkey), req, "databases", name);
  if (sim_store_get(s, dkey))
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid request: failed to create database %s. "
                          "Detail: database \"%s\" already exists.",
                          name, name);
  pg = strncmp(jsd(inst, "databaseVersion", ""), "POSTGRES", 8) == 0 ? "1"
                                                                     : NULL;
  payload = json_object_new_object();
  json_object_object_add(payload, "key", json_object_new_string(dkey));
  json_object_object_add(
      payload, "database",
      database_obj(
          s, sim_param(req, "instance"), name,
          jsd(body, "charset", (pg ? "UTF8" : "utf8mb4")),
          jsd(body, "collation", (pg ? "en_US.UTF8" : "utf8mb4_0900_ai_ci"))));
  return respond_op(
      s, resp,
      start_op(s, req, "CREATE_DATABASE", key, inst, SIM_DUR_QUICK, payload));
}

static void child_put_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *obj = jo(payload, "database");
  const char *kind = "sql#database";

  if (obj == NULL) {
    obj = jo(payload, "user");
    kind = "sql#user";
  }
  if (obj == NULL || sim_op_failed(op))
    return;
  sim_store_put(s, js(payload, "key"), kind, copy(obj));
}

static void child_del_apply(sim *s, sim_op *op, json_object *payload)
{
  if (!sim_op_failed(op))
    sim_store_del(s, js(payload, "key"));
}

static int databases_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], dkey[400];
  json_object *d;

  if (inst_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return SIM_DONE;
  child_key(s, dkey, sizeof(dkey), req, "databases",
            sim_param(req, "database"));
  d = sim_store_get(s, dkey);
  if (d == NULL)
    return sim_err_legacy(resp, 404, "notFound",
                          "Not Found: database %s does not exist.",
                          sim_param(req, "database"));
  return sim_resp_json(resp, 200, json_object_get(d));
}

static int databases_list(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], prefix[320];

  if (inst_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/databases/", key);
  return sim_resp_json(resp, 200,
                       list_of(s, prefix, "sql#database", "sql#databasesList"));
}

static int databases_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], dkey[400];
  json_object *inst = inst_lookup(s, req, resp, key, sizeof(key)), *payload;

  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  child_key(s, dkey, sizeof(dkey), req, "databases",
            sim_param(req, "database"));
  if (sim_store_get(s, dkey) == NULL)
    return sim_err_legacy(resp, 404, "notFound",
                          "Not Found: database %s does not exist.",
                          sim_param(req, "database"));
  payload = json_object_new_object();
  json_object_object_add(payload, "key", json_object_new_string(dkey));
  return respond_op(
      s, resp,
      start_op(s, req, "DELETE_DATABASE", key, inst, SIM_DUR_QUICK, payload));
}

/* --- users -------------------------------------------------------------- */

static int users_insert(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], ukey[400];
  json_object *inst;
  json_object *body = sim_body(req), *payload;
  const char *name = js(body, "name");

  if (bad_body(resp, "User", sim_body(req)))
    return SIM_DONE;
  inst = inst_lookup(s, req, resp, key, sizeof(key));
  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  if (name == NULL || *name == '\0')
    return sim_err_legacy(resp, 400, "required", "Missing parameter: name.");
  child_key(s, ukey, sizeof(ukey), req, "users", name);
  if (sim_store_get(s, ukey))
    return sim_err_legacy(resp, 409, "alreadyExists",
                          "The user %s already exists.", name);
  /* Only the public fields travel on: the password stops here. */
  payload = json_object_new_object();
  json_object_object_add(payload, "key", json_object_new_string(ukey));
  json_object_object_add(payload, "user",
                         user_obj(s, sim_param(req, "instance"), name,
                                  js(body, "host"),
                                  jsd(body, "type", "BUILT_IN")));
  return respond_op(
      s, resp,
      start_op(s, req, "CREATE_USER", key, inst, SIM_DUR_QUICK, payload));
}

static int users_list(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], prefix[320];

  if (inst_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/users/", key);
  return sim_resp_json(resp, 200,
                       list_of(s, prefix, "sql#user", "sql#usersList"));
}

static int users_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], ukey[400];
  json_object *inst = inst_lookup(s, req, resp, key, sizeof(key)), *payload;
  const char *name = sim_query(req, "name");

  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  if (name == NULL)
    return sim_err_legacy(resp, 400, "required", "Missing parameter: name.");
  child_key(s, ukey, sizeof(ukey), req, "users", name);
  if (sim_store_get(s, ukey) == NULL)
    return sim_err_legacy(resp, 404, "notFound",
                          "Not Found: user %s does not exist.", name);
  payload = json_object_new_object();
  json_object_object_add(payload, "key", json_object_new_string(ukey));
  return respond_op(
      s, resp,
      start_op(s, req, "DELETE_USER", key, inst, SIM_DUR_QUICK, payload));
}

/*
 * users.update (PUT .../users?name=N[&host=H]): the user is named by the
 * query, not the body (Google: name, host, instance and project "can be
 * omitted for update because [they are] already specified on the URL").
 * The password is the usual payload and, as on insert, stops here: the
 * stored user keeps only its public fields, of which passwordPolicy is
 * the one an update may set. A host, when given, must be the stored
 * user's (MySQL accounts are name@host; PostgreSQL users have none).
 */
static int users_update(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], ukey[400];
  json_object *inst, *user, *upd, *payload, *v;
  const char *name = sim_query(req, "name"), *host = sim_query(req, "host");

  if (bad_body(resp, "User", sim_body(req)))
    return SIM_DONE;
  inst = inst_lookup(s, req, resp, key, sizeof(key));
  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  /* The message Google's client libraries report without ?name=. */
  if (name == NULL || *name == '\0')
    return sim_err_legacy(resp, 400, "required", "Missing parameter: user.");
  child_key(s, ukey, sizeof(ukey), req, "users", name);
  user = sim_store_get(s, ukey);
  if (user == NULL || (host && *host && js(user, "host") &&
                       strcmp(host, js(user, "host")) != 0))
    return sim_err_legacy(resp, 404, "notFound",
                          "Not Found: user %s does not exist.", name);
  upd = copy(user);
  if (json_object_object_get_ex(sim_body(req), "passwordPolicy", &v))
    json_object_object_add(upd, "passwordPolicy", copy(v));
  payload = json_object_new_object();
  json_object_object_add(payload, "key", json_object_new_string(ukey));
  json_object_object_add(payload, "user", upd);
  return respond_op(
      s, resp,
      start_op(s, req, "UPDATE_USER", key, inst, SIM_DUR_QUICK, payload));
}

/* --- backupRuns --------------------------------------------------------- */

static int backupruns_insert(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], bkey[400], id[24], ts[32];
  json_object *inst;
  json_object *run, *payload, *oj, *bc;
  const char *desc;
  sim_op *op;

  if (bad_body(resp, "BackupRun", sim_body(req)))
    return SIM_DONE;
  inst = inst_lookup(s, req, resp, key, sizeof(key));
  if (inst == NULL || gate(s, resp, key, inst) < 0)
    return SIM_DONE;
  /* Backup run ids are millisecond-ish numbers; a fresh id is as good. */
  sim_new_id(s, id);
  id[13] = '\0';
  child_key(s, bkey, sizeof(bkey), req, "backupRuns", id);
  run = json_object_new_object();
  json_object_object_add(run, "kind", json_object_new_string("sql#backupRun"));
  json_object_object_add(run, "id", json_object_new_string(id));
  json_object_object_add(run, "instance",
                         json_object_new_string(sim_param(req, "instance")));
  json_object_object_add(run, "status", json_object_new_string("RUNNING"));
  json_object_object_add(run, "type", json_object_new_string("ON_DEMAND"));
  json_object_object_add(run, "backupKind", json_object_new_string("SNAPSHOT"));
  json_object_object_add(run, "enqueuedTime",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(run, "startTime", json_object_new_string(ts));
  /* backupConfiguration.location when set (backups kept elsewhere). */
  json_object_object_add(run, "location",
                         json_object_new_string(jsd(
                             jo(jo(inst, "settings"), "backupConfiguration"),
                             "location", jsd(inst, "region", "us"))));
  json_object_object_add(
      run, "databaseVersion",
      json_object_new_string(jsd(inst, "databaseVersion", "")));
  desc = js(sim_body(req), "description");
  if (desc)
    json_object_object_add(run, "description", json_object_new_string(desc));
  json_object_object_add(run, "selfLink",
                         sim_link_json(SIM_API_SQL, "%s", bkey));
  sim_store_put(s, bkey, "sql#backupRun", run);
  payload = json_object_new_object();
  json_object_object_add(payload, "key", json_object_new_string(bkey));
  op = start_op(s, req, "BACKUP_VOLUME", key, inst, SIM_DUR_MEDIUM, payload);
  if (op == NULL)
    return respond_op(s, resp, op);
  /* The operation names its backup (Operation.backupContext), so the
   * caller can follow the run. Only the insert answer carries it here. */
  oj = sim_op_json(s, op);
  bc = json_object_new_object();
  json_object_object_add(bc, "kind",
                         json_object_new_string("sql#backupContext"));
  json_object_object_add(bc, "backupId", json_object_new_string(id));
  json_object_object_add(oj, "backupContext", bc);
  return sim_resp_json(resp, 200, oj);
}

static void backupruns_insert_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *run = sim_store_get(s, js(payload, "key"));
  char ts[32];

  if (run == NULL)
    return;
  json_object_object_add(
      run, "status",
      json_object_new_string(sim_op_failed(op) ? "FAILED" : "SUCCESSFUL"));
  json_object_object_add(run, "endTime",
                         json_object_new_string(sim_now_str(s, ts)));
  /* What it captured: the data as of its start. */
  if (!sim_op_failed(op))
    dv_backup_set(s, jsd(run, "instance", ""), jsd(run, "id", ""),
                  dv_at(s, jsd(run, "instance", ""),
                        (uint64_t)sim_time_parse(js(run, "startTime"))));
}

static int backupruns_get(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], bkey[400];
  json_object *run;

  if (inst_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return SIM_DONE;
  child_key(s, bkey, sizeof(bkey), req, "backupRuns", sim_param(req, "id"));
  run = sim_store_get(s, bkey);
  if (run == NULL)
    return sim_err_legacy(resp, 404, "backupRunDoesNotExist",
                          "The backup run does not exist.");
  if (sim_region_down(s, js(run, "location")))
    return run_unavailable(resp);
  return sim_resp_json(resp, 200, json_object_get(run));
}

/* Newest enqueuedTime first (RFC 3339 strings of one format sort as
 * text), as Google lists backup runs. */
static int backuprun_newer(const void *a, const void *b)
{
  const char *x = js(*(json_object *const *)a, "enqueuedTime");
  const char *y = js(*(json_object *const *)b, "enqueuedTime");
  int c = strcmp(y ? y : "", x ? x : "");

  if (c == 0)
    c = strcmp(jsd(*(json_object *const *)b, "id", ""),
               jsd(*(json_object *const *)a, "id", ""));
  return c;
}

static int backupruns_list(sim *s, sim_req *req, sim_resp *resp)
{
  char key[300], prefix[320];
  json_object *o, *items;

  if (inst_lookup(s, req, resp, key, sizeof(key)) == NULL)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "%s/backupRuns/", key);
  o = list_of(s, prefix, "sql#backupRun", "sql#backupRunsList");
  items = json_object_object_get(o, "items");
  /* Runs stored in a region that is down cannot be listed (outage.c). */
  for (size_t i = alen(items); i > 0; i--)
    if (sim_region_down(
            s, js(json_object_array_get_idx(items, i - 1), "location")))
      json_object_array_del_idx(items, i - 1, 1);
  json_object_array_sort(items, backuprun_newer);
  return sim_resp_json(resp, 200, o);
}

/* --- operations --------------------------------------------------------- */

static int operations_get(sim *s, sim_req *req, sim_resp *resp)
{
  char name[300];
  sim_op *op;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(name, sizeof(name), "projects/%s/operations/%s", sim_project(s),
           sim_param(req, "operation"));
  op = sim_op_find(s, name);
  if (op == NULL)
    return sim_err_legacy(resp, 404, "operationDoesNotExist",
                          "The Cloud SQL operation does not exist.");
  return sim_op_respond(s, resp, op);
}

/* json_object_array_sort() order: insertTime descending (RFC 3339 in UTC
 * with fixed width sorts as text). */
static int newest_first(const void *a, const void *b)
{
  json_object *const *x = a, *const *y = b;

  return strcmp(jsd(*y, "insertTime", ""), jsd(*x, "insertTime", ""));
}

static int operations_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  const char *inst = sim_query(req, "instance");
  json_object *all, *items, *o;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/operations/", sim_project(s));
  all = sim_op_list(s, prefix);
  items = json_object_new_array();
  for (size_t i = 0; i < alen(all); i++) {
    json_object *op = json_object_array_get_idx(all, i);

    if (inst == NULL || strcmp(jsd(op, "targetId", ""), inst) == 0)
      json_object_array_add(items, json_object_get(op));
  }
  json_object_put(all);
  /* Newest first, as the real list is (names are UUIDs: no order). */
  json_object_array_sort(items, newest_first);
  o = json_object_new_object();
  json_object_object_add(o, "kind",
                         json_object_new_string("sql#operationsList"));
  json_object_object_add(o, "items", items);
  return sim_resp_json(resp, 200, o);
}

/* --- table -------------------------------------------------------------- */

#define V1 "/v1/projects/{project}"
#define VB "/sql/v1beta4/projects/{project}"
#define BOTH(verb, path, id, h, apply)                                         \
  {verb, V1 path, id, h, apply, 0, NULL},                                      \
  {                                                                            \
    verb, VB path, id, h, apply, 0, NULL                                       \
  }

static const sim_route sql_routes[] = {
    BOTH("POST", "/instances", "sql.instances.insert", instances_insert,
         instances_insert_apply),
    BOTH("GET", "/instances", "sql.instances.list", instances_list, NULL),
    BOTH("GET", "/instances/{instance}", "sql.instances.get", instances_get,
         NULL),
    BOTH("PATCH", "/instances/{instance}", "sql.instances.patch",
         instances_patch, instances_patch_apply),
    BOTH("DELETE", "/instances/{instance}", "sql.instances.delete",
         instances_delete, instances_delete_apply),
    BOTH("POST", "/instances/{instance}/restart", "sql.instances.restart",
         instances_restart, maintenance_apply),
    BOTH("POST", "/instances/{instance}/restoreBackup",
         "sql.instances.restoreBackup", instances_restore, restore_apply),
    BOTH("POST", "/instances/{instance}/clone", "sql.instances.clone",
         instances_clone, instances_insert_apply),
    BOTH("GET", "/instances/{instance}/getLatestRecoveryTime",
         "sql.projects.instances.getLatestRecoveryTime",
         instances_recovery_time, NULL),
    BOTH("POST", "/instances/{instance}/databases", "sql.databases.insert",
         databases_insert, child_put_apply),
    BOTH("GET", "/instances/{instance}/databases", "sql.databases.list",
         databases_list, NULL),
    BOTH("GET", "/instances/{instance}/databases/{database}",
         "sql.databases.get", databases_get, NULL),
    BOTH("DELETE", "/instances/{instance}/databases/{database}",
         "sql.databases.delete", databases_delete, child_del_apply),
    BOTH("POST", "/instances/{instance}/users", "sql.users.insert",
         users_insert, child_put_apply),
    BOTH("GET", "/instances/{instance}/users", "sql.users.list", users_list,
         NULL),
    BOTH("DELETE", "/instances/{instance}/users", "sql.users.delete",
         users_delete, child_del_apply),
    BOTH("PUT", "/instances/{instance}/users", "sql.users.update", users_update,
         child_put_apply),
    BOTH("POST", "/instances/{instance}/backupRuns", "sql.backupRuns.insert",
         backupruns_insert, backupruns_insert_apply),
    BOTH("GET", "/instances/{instance}/backupRuns", "sql.backupRuns.list",
         backupruns_list, NULL),
    BOTH("GET", "/instances/{instance}/backupRuns/{id}", "sql.backupRuns.get",
         backupruns_get, NULL),
    /* Project backups: v1 and v1beta4 name their methods differently. */
    {"GET", V1 "/backups", "sql.Backups.ListBackups", backups_list, NULL, 0,
     NULL},
    {"GET", V1 "/backups/{backup}", "sql.Backups.GetBackup", backups_get, NULL,
     0, NULL},
    {"DELETE", V1 "/backups/{backup}", "sql.Backups.DeleteBackup",
     backups_delete, backups_delete_apply, 0, NULL},
    {"GET", VB "/backups", "sql.backups.listBackups", backups_list, NULL, 0,
     NULL},
    {"GET", VB "/backups/{backup}", "sql.backups.getBackup", backups_get, NULL,
     0, NULL},
    {"DELETE", VB "/backups/{backup}", "sql.backups.deleteBackup",
     backups_delete, backups_delete_apply, 0, NULL},
    BOTH("GET", "/operations/{operation}", "sql.operations.get", operations_get,
         NULL),
    BOTH("GET", "/operations", "sql.operations.list", operations_list, NULL),
};

/* The admin (test) interface of this module: see admin.c. */
static const sim_route sql_admin_routes[] = {
    {"GET", "/_sim/sql/instances/{instance}/dataVersion", "sim.sql.dataVersion",
     admin_data_version, NULL, SIM_ROUTE_NOAUTH | SIM_ROUTE_LOOPBACK, NULL},
};

int sim_sql_init(sim *s)
{
  sim_quota_define(s, "SQL_INSTANCES", NULL, 1000);
  if (sim_register(s, SIM_API_ADMIN, sql_admin_routes,
                   sizeof(sql_admin_routes) / sizeof(*sql_admin_routes)) < 0)
    return -1;
  return sim_register(s, SIM_API_SQL, sql_routes,
                      sizeof(sql_routes) / sizeof(*sql_routes));
}
