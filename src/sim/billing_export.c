/*
 * billing_export.c - the usage ledger and the standard Cloud Billing export
 * to BigQuery, read through BigQuery v2's jobs.query and
 * jobs.getQueryResults.
 *
 * The ledger: every operation's end calls sim_billing_note(s, target)
 * (ops.c), and so do the few changes without an operation (DNS zones,
 * snapshots, whose operation targets the disk). The note reads the
 * resource as the store has it now and, when what it uses (SKU quantities)
 * or its labels changed, appends a segment {ms, labels, usage} to the
 * resource's entry in the ledger, one store entry "projects/P/billingLedger"
 * (kind sim.billingLedger, persisted with the state; one entry, so that it
 * is no tenant's resource in the admin state). A deleted resource's
 * last segment uses nothing. Spend over [from, to) is each segment's
 * quantities times its overlap in hours (GiBy.mo and mo: hours / 730) times
 * the Catalog's prices (billing.c).
 *
 * The export: one query shape is served (docs/simulator.md, "Cloud Billing
 * export"): per-tenant cost by service and SKU for an invoice month, the
 * tenant being the `edv-tenant` label. Anything else is 400 naming what is
 * not supported.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/billing.h"
#include "sim/jsonutil.h"
#include "sim/modules.h"
#include "sim/schema_apis.h"
#include "sim/sim.h"

#define LEDGER_KIND     "sim.billingLedger"
#define RESULT_KIND     "bigquery.queryResult"
#define EXPORT_TABLE    "gcp_billing_export_v1_000000_5EDV00_000000"
#define HOURS_PER_MONTH 730.0

/* --- what a resource uses ---------------------------------------------- */

/* The last path segment of a URL or name ("e2-medium" of ".../e2-medium"). */
static const char *last_seg(const char *p)
{
  const char *q = p ? strrchr(p, '/') : NULL;

  return q ? q + 1 : p;
}

/* Billed vCPUs and GB of an E2 machine type; 0 when not an E2 we price. */
static int e2_shape(const char *mt, double *cpu, double *gb)
{
  int n;
  char tail;

  if (mt == NULL)
    return 0;
  if (strcmp(mt, "e2-micro") == 0)
    return *cpu = 0.25, *gb = 1, 1;
  if (strcmp(mt, "e2-small") == 0)
    return *cpu = 0.5, *gb = 2, 1;
  if (strcmp(mt, "e2-medium") == 0)
    return *cpu = 1, *gb = 4, 1;
  if (sscanf(mt, "e2-standard-%d%c", &n, &tail) == 1 && n > 0)
    return *cpu = n, *gb = 4.0 * n, 1;
  return 0;
}

/* vCPUs and GB of a Cloud SQL tier "db-custom-N-MB"; 0 otherwise. */
static int sql_shape(const char *tier, double *cpu, double *gb)
{
  int n, mb;
  char tail;

  if (tier && sscanf(tier, "db-custom-%d-%d%c", &n, &mb, &tail) == 2 && n > 0 &&
      mb > 0) {
    *cpu = n;
    *gb = mb / 1024.0;
    return 1;
  }
  return 0;
}

static void use(json_object *u, const char *key, double q)
{
  if (q > 0)
    json_object_object_add(u, key, json_object_new_double(q));
}

/* The SKU quantities obj uses now (an empty object when none) and the
 * labels they are billed under. */
static json_object *usage_of(json_object *obj, json_object **labels)
{
  json_object *u = json_object_new_object(), *settings;
  const char *kind = js(obj, "kind");
  double cpu, gb;

  *labels = NULL;
  if (obj == NULL || kind == NULL)
    return u;
  if (strcmp(kind, "compute#instance") == 0) {
    const char *st = jsd(obj, "status", "RUNNING");

    *labels = json_object_object_get(obj, "labels");
    if (strcmp(st, "TERMINATED") != 0 && strcmp(st, "STOPPED") != 0 &&
        strcmp(st, "SUSPENDED") != 0 &&
        e2_shape(last_seg(js(obj, "machineType")), &cpu, &gb)) {
      use(u, "e2-core", cpu);
      use(u, "e2-ram", gb);
    }
  } else if (strcmp(kind, "compute#disk") == 0) {
    const char *type = last_seg(js(obj, "type"));
    const char *size = js(obj, "sizeGb");

    *labels = json_object_object_get(obj, "labels");
    if (type && size && sim_billing_sku(type))
      use(u, type, atof(size));
  } else if (strcmp(kind, "compute#snapshot") == 0) {
    const char *size = js(obj, "storageBytes");

    *labels = json_object_object_get(obj, "labels");
    if (size)
      use(u, "snapshot", atof(size) / 1073741824.0);
  } else if (strcmp(kind, "compute#address") == 0) {
    *labels = json_object_object_get(obj, "labels");
    if (strcmp(jsd(obj, "addressType", "EXTERNAL"), "EXTERNAL") == 0)
      use(u, "external-ip", 1);
  } else if (strcmp(kind, "compute#forwardingRule") == 0) {
    *labels = json_object_object_get(obj, "labels");
    use(u, "forwarding-rule", 1);
  } else if (strcmp(kind, "dns#managedZone") == 0) {
    *labels = json_object_object_get(obj, "labels");
    use(u, "dns-zone", 1);
  } else if (strcmp(kind, "sql#instance") == 0) {
    int ha, on;

    settings = json_object_object_get(obj, "settings");
    *labels = json_object_object_get(settings, "userLabels");
    ha = strcmp(jsd(settings, "availabilityType", "ZONAL"), "REGIONAL") == 0;
    on = strcmp(jsd(settings, "activationPolicy", "ALWAYS"), "NEVER") != 0;
    if (on && sql_shape(js(settings, "tier"), &cpu, &gb)) {
      use(u, ha ? "sql-cpu-ha" : "sql-cpu", cpu);
      use(u, ha ? "sql-ram-ha" : "sql-ram", gb);
    }
    /* int64: a string as Google answers, or a number as clients send. */
    use(u, ha ? "sql-storage-ha" : "sql-storage",
        json_object_object_get(settings, "dataDiskSizeGb")
            ? json_object_get_double(
                  json_object_object_get(settings, "dataDiskSizeGb"))
            : 10);
  }
  return u;
}

/* --- the ledger -------------------------------------------------------- */

/* The ledger's entries by resource name (created when create is set and
 * there is none; else NULL). One store entry for the whole ledger, so it
 * does not read as a resource of any tenant. */
static json_object *ledger(sim *s, int create)
{
  json_object *l;
  char key[300];

  snprintf(key, sizeof(key), "projects/%s/billingLedger", sim_project(s));
  l = sim_store_get(s, key);
  if (l == NULL && create) {
    l = json_object_new_object();
    json_object_object_add(l, "resources", json_object_new_object());
    sim_store_put(s, key, LEDGER_KIND, l);
  }
  return l ? json_object_object_get(l, "resources") : NULL;
}

void sim_billing_seed(sim *s)
{
  ledger(s, 1);
}

static int same_json(json_object *a, json_object *b)
{
  return json_object_equal(a, b);
}

/* Notes one resource; its ledger entry, or NULL when it has none. */
static json_object *note_one(sim *s, const char *name)
{
  json_object *labels, *usage, *entry, *segs, *last, *seg, *lab, *entries;
  size_t n;
  uint64_t now = sim_now_ms(s);

  usage = usage_of(sim_store_get(s, name), &labels);
  lab = json_object_is_type(labels, json_type_object)
            ? copy(labels)
            : json_object_new_object();
  entries = ledger(s, 1);
  entry = json_object_object_get(entries, name);
  segs = entry ? json_object_object_get(entry, "segments") : NULL;
  n = alen(segs);
  last = n ? json_object_array_get_idx(segs, n - 1) : NULL;
  /* Labels matter only while something is used. */
  if (last ? same_json(json_object_object_get(last, "usage"), usage) &&
                 (json_object_object_length(usage) == 0 ||
                  same_json(json_object_object_get(last, "labels"), lab))
           : json_object_object_length(usage) == 0) {
    json_object_put(usage);
    json_object_put(lab);
    return entry; /* nothing billed changed */
  }
  seg = json_object_new_object();
  json_object_object_add(seg, "ms", json_object_new_int64((int64_t)now));
  json_object_object_add(seg, "labels", lab);
  json_object_object_add(seg, "usage", usage);
  if (entry == NULL) {
    entry = json_object_new_object();
    json_object_object_add(entry, "resource", json_object_new_string(name));
    segs = json_object_new_array();
    json_object_object_add(entry, "segments", segs);
    json_object_object_add(entries, name, entry);
  }
  /* A change at the same instant replaces the segment it would close. */
  if (last && (uint64_t)json_object_get_int64(
                  json_object_object_get(last, "ms")) == now)
    json_object_array_del_idx(segs, n - 1, 1);
  json_object_array_add(segs, seg);
  sim_dirty(s);
  return entry;
}

/* The operations' end notes their target (ops.c): a VM's disks are noted
 * with it, those it has now and those it had (remembered in its entry, for
 * when it is gone with them). */
void sim_billing_note(sim *s, const char *name)
{
  json_object *obj = sim_store_get(s, name), *entry, *had, *now;
  json_object *disks = json_object_object_get(obj, "disks");
  int vm = strcmp(jsd(obj, "kind", ""), "compute#instance") == 0;

  entry = note_one(s, name);
  had = json_object_object_get(entry, "disks");
  if (!vm && had == NULL)
    return;
  now = json_object_new_array();
  for (size_t i = 0; vm && i < alen(disks); i++) {
    char *d =
        sim_ref_name(s, js(json_object_array_get_idx(disks, i), "source"));

    if (d)
      json_object_array_add(now, json_object_new_string(d));
    free(d);
  }
  for (size_t i = 0; i < alen(had); i++)
    note_one(s, json_object_get_string(json_object_array_get_idx(had, i)));
  for (size_t i = 0; i < alen(now); i++)
    note_one(s, json_object_get_string(json_object_array_get_idx(now, i)));
  if (vm && entry == NULL && alen(now)) { /* an unpriced VM's disks */
    entry = json_object_new_object();
    json_object_object_add(entry, "resource", json_object_new_string(name));
    json_object_object_add(entry, "segments", json_object_new_array());
    json_object_object_add(ledger(s, 1), name, entry);
  }
  if (entry && vm)
    json_object_object_add(entry, "disks", now);
  else
    json_object_put(now);
}

typedef struct usage_ctx {
  uint64_t from, to;
  sim_billing_row_fn fn;
  void *data;
} usage_ctx;

static void usage_entry(usage_ctx *c, json_object *entry)
{
  json_object *segs = json_object_object_get(entry, "segments");
  size_t n = alen(segs);

  for (size_t i = 0; i < n; i++) {
    json_object *seg = json_object_array_get_idx(segs, i);
    uint64_t a =
        (uint64_t)json_object_get_int64(json_object_object_get(seg, "ms"));
    uint64_t b = i + 1 < n
                     ? (uint64_t)json_object_get_int64(json_object_object_get(
                           json_object_array_get_idx(segs, i + 1), "ms"))
                     : c->to;
    double hours;

    if (a < c->from)
      a = c->from;
    if (b > c->to)
      b = c->to;
    if (b <= a)
      continue;
    hours = (double)(b - a) / 3600000.0;
    json_object_object_foreach(json_object_object_get(seg, "usage"), key, q)
    {
      const sim_sku *k = sim_billing_sku(key);
      double amount;

      if (k == NULL)
        continue;
      amount = json_object_get_double(q) *
               (strcmp(k->unit, "GiBy.mo") == 0 || strcmp(k->unit, "mo") == 0
                    ? hours / HOURS_PER_MONTH
                    : hours);
      c->fn(c->data, js(entry, "resource"),
            json_object_object_get(seg, "labels"), k, amount, amount * k->usd);
    }
  }
}

void sim_billing_usage(sim *s, uint64_t from_ms, uint64_t to_ms,
                       sim_billing_row_fn fn, void *data)
{
  usage_ctx c = {from_ms, to_ms, fn, data};
  json_object *entries = ledger(s, 0);

  if (to_ms > sim_now_ms(s))
    c.to = sim_now_ms(s);
  if (entries == NULL)
    return;
  json_object_object_foreach(entries, name, entry)
  {
    (void)name;
    usage_entry(&c, entry);
  }
}

/* --- the invoice month ------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  int64_t era;
  unsigned yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

int sim_billing_month(const char *yyyymm, uint64_t *from, uint64_t *to)
{
  int y, m;

  if (yyyymm == NULL || strlen(yyyymm) != 6)
    return -1;
  for (int i = 0; i < 6; i++)
    if (!isdigit((unsigned char)yyyymm[i]))
      return -1;
  y = atoi(yyyymm) / 100;
  m = atoi(yyyymm) % 100;
  if (y < 1970 || m < 1 || m > 12)
    return -1;
  *from = (uint64_t)days_from_civil(y, (unsigned)m, 1) * 86400000ULL;
  *to = (uint64_t)days_from_civil(m == 12 ? y + 1 : y,
                                  m == 12 ? 1u : (unsigned)m + 1, 1) *
        86400000ULL;
  return 0;
}

/* --- BigQuery: the one query ------------------------------------------- */

/* The query the client sends, whitespace collapsed to single spaces; %s is
 * the table, `PROJECT.DATASET.gcp_billing_export_v1_<account>`. */
static const char query_head[] =
    "SELECT (SELECT value FROM UNNEST(labels) WHERE key = 'edv-tenant') AS "
    "tenant, service.description AS service, sku.description AS sku, "
    "SUM(cost) AS cost, currency FROM `";
static const char query_tail[] =
    "` WHERE invoice.month = @month GROUP BY tenant, service, sku, currency "
    "ORDER BY tenant, service, sku";

static char *collapse(const char *q)
{
  char *out = malloc(strlen(q) + 1), *o = out;

  if (out == NULL)
    return NULL;
  for (const char *p = q; *p; p++) {
    if (isspace((unsigned char)*p)) {
      if (o > out && o[-1] != ' ')
        *o++ = ' ';
    } else
      *o++ = *p;
  }
  if (o > out && o[-1] == ' ')
    o--;
  *o = '\0';
  return out;
}

static int bq_bad(sim_resp *resp, const char *msg)
{
  return sim_err(resp, 400, "invalidQuery", "%s", msg);
}

/* Checks the query text and its table; 0, or -1 with the answer filled. */
static int bq_check_query(sim *s, sim_resp *resp, const char *query)
{
  char *q = collapse(query ? query : "");
  size_t hl = strlen(query_head), tl = strlen(query_tail), n;
  char table[300], want[300];
  int rc = 0;

  if (q == NULL)
    return sim_err(resp, 500, "internalError", "out of memory"), -1;
  n = strlen(q);
  if (n < hl + tl + 1 || strncmp(q, query_head, hl) != 0 ||
      strcmp(q + n - tl, query_tail) != 0 || n - hl - tl >= sizeof(table)) {
    bq_bad(resp, "query: not supported by the simulator (it serves only the "
                 "billing export query of docs/simulator.md)");
    free(q);
    return -1;
  }
  memcpy(table, q + hl, n - hl - tl);
  table[n - hl - tl] = '\0';
  free(q);
  {
    const char *dot1 = strchr(table, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;

    snprintf(want, sizeof(want), "%s.", sim_project(s));
    if (dot2 == NULL || strncmp(table, want, strlen(want)) != 0 ||
        strcmp(dot2 + 1, EXPORT_TABLE) != 0 || dot2 == dot1 + 1)
      rc = -1;
    for (const char *p = dot1 ? dot1 + 1 : table; rc == 0 && p < dot2; p++)
      if (!isalnum((unsigned char)*p) && *p != '_')
        rc = -1;
  }
  if (rc < 0)
    sim_err(resp, 404, "notFound",
            "Not found: Table %s was not found in location US", table);
  return rc;
}

/* The @month parameter ("YYYYMM"); 0, or -1 with the answer filled. */
static int bq_month(sim_resp *resp, json_object *body, uint64_t *from,
                    uint64_t *to)
{
  json_object *params = json_object_object_get(body, "queryParameters");
  json_object *p =
      alen(params) == 1 ? json_object_array_get_idx(params, 0) : NULL;
  const char *mode = js(body, "parameterMode");

  if (mode == NULL || strcmp(mode, "NAMED") != 0)
    return bq_bad(resp, "parameterMode: must be NAMED"), -1;
  if (p == NULL || js(p, "name") == NULL || strcmp(js(p, "name"), "month"))
    return bq_bad(resp, "queryParameters: exactly one, named month, is "
                        "supported"),
           -1;
  if (strcmp(jsd(json_object_object_get(p, "parameterType"), "type", ""),
             "STRING") != 0)
    return bq_bad(resp, "queryParameters[0].parameterType.type: must be "
                        "STRING"),
           -1;
  if (sim_billing_month(
          js(json_object_object_get(p, "parameterValue"), "value"), from, to) <
      0)
    return bq_bad(resp,
                  "queryParameters[0].parameterValue.value: an invoice month "
                  "YYYYMM"),
           -1;
  return 0;
}

typedef struct agg_ctx {
  json_object *sums; /* "tenant\x1fservice\x1fsku" -> double */
} agg_ctx;

static void agg_row(void *data, const char *resource, json_object *labels,
                    const sim_sku *sku, double amount, double cost)
{
  agg_ctx *c = data;
  const char *tenant = js(labels, "edv-tenant");
  json_object *v;
  char key[400];

  (void)resource;
  (void)amount;
  /* \x01 sorts the rows without the label (NULL) first, as BigQuery does. */
  snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", tenant ? tenant : "\x01",
           sim_billing_service_name(sku), sku->description);
  if (json_object_object_get_ex(c->sums, key, &v))
    json_object_set_double(v, json_object_get_double(v) + cost);
  else
    json_object_object_add(c->sums, key, json_object_new_double(cost));
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_object *cell(const char *v)
{
  json_object *c = json_object_new_object();

  json_object_object_add(c, "v", v ? json_object_new_string(v) : NULL);
  return c;
}

/* The rows of the month: tenant, service, sku, cost, currency. */
static json_object *bq_rows(sim *s, uint64_t from, uint64_t to)
{
  agg_ctx c = {json_object_new_object()};
  json_object *rows = json_object_new_array();
  const char **keys;
  size_t n = 0, i = 0;

  sim_billing_usage(s, from, to, agg_row, &c);
  keys = calloc((size_t)json_object_object_length(c.sums) + 1, sizeof(*keys));
  if (keys) {
    json_object_object_foreach(c.sums, k, v)
    {
      (void)v;
      keys[n++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
  }
  for (i = 0; i < n; i++) {
    char buf[400], cost[64], *svc, *sku;
    json_object *row = json_object_new_object(), *f = json_object_new_array();

    snprintf(buf, sizeof(buf), "%s", keys[i]);
    svc = strchr(buf, '\x1f');
    *svc++ = '\0';
    sku = strchr(svc, '\x1f');
    *sku++ = '\0';
    snprintf(cost, sizeof(cost), "%.12g",
             json_object_get_double(json_object_object_get(c.sums, keys[i])));
    json_object_array_add(f, cell(strcmp(buf, "\x01") ? buf : NULL));
    json_object_array_add(f, cell(svc));
    json_object_array_add(f, cell(sku));
    json_object_array_add(f, cell(cost));
    json_object_array_add(f, cell("USD"));
    json_object_object_add(row, "f", f);
    json_object_array_add(rows, row);
  }
  free(keys);
  json_object_put(c.sums);
  return rows;
}

static json_object *bq_schema(void)
{
  static const char *const names[] = {"tenant", "service", "sku", "cost",
                                      "currency"};
  json_object *schema = json_object_new_object(), *fields;

  fields = json_object_new_array();
  for (size_t i = 0; i < 5; i++) {
    json_object *fl = json_object_new_object();

    json_object_object_add(fl, "name", json_object_new_string(names[i]));
    json_object_object_add(fl, "type",
                           json_object_new_string(i == 3 ? "FLOAT" : "STRING"));
    json_object_object_add(fl, "mode", json_object_new_string("NULLABLE"));
    json_object_array_add(fields, fl);
  }
  json_object_object_add(schema, "fields", fields);
  return schema;
}

/* A page of the stored result `res` into `o`: rows from `start`, at most
 * `max` (0: all), with a pageToken when more remain. */
static void bq_page(json_object *o, json_object *res, size_t start, size_t max)
{
  json_object *rows = json_object_object_get(res, "rows"), *page;
  size_t total = alen(rows), end;
  char buf[32];

  end = max && start + max < total ? start + max : total;
  page = json_object_new_array();
  for (size_t i = start; i < end; i++)
    json_object_array_add(page,
                          json_object_get(json_object_array_get_idx(rows, i)));
  json_object_object_add(o, "schema", bq_schema());
  json_object_object_add(
      o, "jobReference",
      json_object_get(json_object_object_get(res, "jobReference")));
  snprintf(buf, sizeof(buf), "%zu", total);
  json_object_object_add(o, "totalRows", json_object_new_string(buf));
  json_object_object_add(o, "rows", page);
  if (end < total) {
    snprintf(buf, sizeof(buf), "%zu", end);
    json_object_object_add(o, "pageToken", json_object_new_string(buf));
  }
  json_object_object_add(o, "totalBytesProcessed", json_object_new_string("0"));
  json_object_object_add(o, "jobComplete", json_object_new_boolean(1));
  json_object_object_add(o, "cacheHit", json_object_new_boolean(0));
}

/* maxResults: a non-negative integer (query string or body); 0, or -1. */
static int bq_uint(sim_resp *resp, const char *field, const char *v,
                   size_t *out)
{
  char *end;
  long long n;

  if (v == NULL || *v == '\0')
    return 0;
  n = strtoll(v, &end, 10);
  if (*end || n < 0)
    return sim_err(resp, 400, "invalid", "Invalid value for %s: %s", field, v),
           -1;
  *out = (size_t)n;
  return 0;
}

static int bq_query(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *v, *res, *ref, *o;
  uint64_t from, to;
  size_t max = 0;
  char id[40], jobid[64], key[300];

  if (sim_check_project(s, req, resp) < 0 ||
      sim_schema_check(resp, sim_schema_bigquery, "QueryRequest", body,
                       "body") < 0)
    return SIM_DONE;
  if (body == NULL || js(body, "query") == NULL)
    return sim_err(resp, 400, "invalid",
                   "Required parameter is missing: query");
  if (!json_object_object_get_ex(body, "useLegacySql", &v) ||
      json_object_get_boolean(v))
    return bq_bad(resp, "useLegacySql: must be false (the export query is "
                        "GoogleSQL)");
  if (json_object_object_get_ex(body, "dryRun", &v) &&
      json_object_get_boolean(v))
    return bq_bad(resp, "dryRun: not supported by the simulator");
  if (bq_check_query(s, resp, js(body, "query")) < 0 ||
      bq_month(resp, body, &from, &to) < 0)
    return SIM_DONE;
  if (json_object_object_get_ex(body, "maxResults", &v) &&
      bq_uint(resp, "maxResults", json_object_get_string(v), &max) < 0)
    return SIM_DONE;
  snprintf(jobid, sizeof(jobid), "job_%s", sim_new_uuid(s, id));
  for (char *p = jobid; *p; p++)
    if (*p == '-')
      *p = '_';
  ref = json_object_new_object();
  json_object_object_add(ref, "projectId",
                         json_object_new_string(sim_project(s)));
  json_object_object_add(ref, "jobId", json_object_new_string(jobid));
  json_object_object_add(ref, "location", json_object_new_string("US"));
  res = json_object_new_object();
  json_object_object_add(res, "jobReference", ref);
  json_object_object_add(res, "rows", bq_rows(s, from, to));
  snprintf(key, sizeof(key), "projects/%s/queries/%s", sim_project(s), jobid);
  sim_store_put(s, key, RESULT_KIND, res);
  o = json_object_new_object();
  json_object_object_add(o, "kind",
                         json_object_new_string("bigquery#queryResponse"));
  bq_page(o, res, 0, max);
  return sim_resp_json(resp, 200, o);
}

static int bq_results(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *res, *o;
  size_t start = 0, max = 0;
  char key[300];

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(key, sizeof(key), "projects/%s/queries/%s", sim_project(s),
           sim_param(req, "queriesId"));
  res = sim_store_get(s, key);
  if (res == NULL || strcmp(sim_store_kind(s, key), RESULT_KIND) != 0)
    return sim_err(resp, 404, "notFound", "Not found: Job %s:%s",
                   sim_project(s), sim_param(req, "queriesId"));
  if (bq_uint(resp, "maxResults", sim_query(req, "maxResults"), &max) < 0 ||
      bq_uint(resp, "startIndex", sim_query(req, "startIndex"), &start) < 0 ||
      bq_uint(resp, "pageToken", sim_query(req, "pageToken"), &start) < 0)
    return SIM_DONE;
  if (start > alen(json_object_object_get(res, "rows")))
    return sim_err(resp, 400, "invalid", "Invalid value for startIndex: %zu",
                   start);
  o = json_object_new_object();
  json_object_object_add(
      o, "kind", json_object_new_string("bigquery#getQueryResultsResponse"));
  json_object_object_add(o, "etag", json_object_new_string(key));
  bq_page(o, res, start, max);
  return sim_resp_json(resp, 200, o);
}

static const sim_route bq_routes[] = {
    {"POST", "/bigquery/v2/projects/{projectsId}/queries",
     "bigquery.jobs.query", bq_query, NULL, 0, NULL},
    {"GET", "/bigquery/v2/projects/{projectsId}/queries/{queriesId}",
     "bigquery.jobs.getQueryResults", bq_results, NULL, 0, NULL},
};

int sim_bigquery_init(sim *s)
{
  return sim_register(s, SIM_API_BIGQUERY, bq_routes,
                      sizeof(bq_routes) / sizeof(*bq_routes));
}
