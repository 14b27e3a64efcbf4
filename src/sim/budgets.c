/*
 * budgets.c - Cloud Billing Budgets v1 (billingbudgets.googleapis.com):
 * billingAccounts.budgets create/get/list/patch/delete on the simulated
 * billing account, and the threshold notifications a budget's spend fires.
 *
 * Spend: the usage ledger's rows (billing_export.c) of the current
 * calendar month (UTC) whose labels match the budget's budgetFilter.labels
 * (all of them without a filter), at the Catalog's prices. Notifications
 * are evaluated when budgets or GET /_sim/budget-notifications are read
 * or written: a CURRENT_SPEND threshold crossed this month and not yet
 * notified is recorded once, at the instant the spend crossed it (found
 * from the ledger, so the record does not depend on when it is read), to
 * the budget's monitoringNotificationChannels and pubsubTopic. Budgets are
 * stored at "billingAccounts/A/budgets/ID" (kind billingbudgets.budget);
 * what each budget has fired, at "billingAccounts/A/budgetFired/ID";
 * the notifications at "billingAccounts/A/budgetNotifications".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/billing.h"
#include "sim/jsonutil.h"
#include "sim/modules.h"
#include "sim/schema_apis.h"
#include "sim/sim.h"

#define BUDGET_KIND "billingbudgets.budget"
#define FIRED_KIND  "sim.budgetFired"
#define NOTES_KIND  "sim.budgetNotifications"
#define ACCOUNT     "billingAccounts/" SIM_BILLING_ACCOUNT

static int bad(sim_resp *resp, const char *field, const char *why)
{
  return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "%s: %s", field, why);
}

/* --- validation -------------------------------------------------------- */

static int check_amount(sim_resp *resp, json_object *amount)
{
  json_object *m = json_object_object_get(amount, "specifiedAmount");
  const char *cur = js(m, "currencyCode");
  json_object *units = json_object_object_get(m, "units");
  char *end;

  if (m == NULL)
    return bad(resp, "amount.specifiedAmount",
               "required (lastPeriodAmount is not simulated)"),
           -1;
  if (cur && *cur && strcmp(cur, "USD") != 0)
    return bad(resp, "amount.specifiedAmount.currencyCode",
               "must be the billing account's currency, USD"),
           -1;
  if (units == NULL ||
      (strtoll(json_object_get_string(units), &end, 10) < 0 || *end) ||
      json_object_get_int(json_object_object_get(m, "nanos")) < 0)
    return bad(resp, "amount.specifiedAmount.units",
               "a non-negative whole number of USD"),
           -1;
  return 0;
}

static int check_filter(sim_resp *resp, json_object *f)
{
  static const char *const not_sim[] = {"projects",    "resourceAncestors",
                                        "services",    "subaccounts",
                                        "creditTypes", "customPeriod"};
  json_object *labels = json_object_object_get(f, "labels");
  const char *period = js(f, "calendarPeriod");
  char field[64];

  for (size_t i = 0; i < sizeof(not_sim) / sizeof(*not_sim); i++)
    if (json_object_object_get(f, not_sim[i])) {
      snprintf(field, sizeof(field), "budgetFilter.%s", not_sim[i]);
      return bad(resp, field, "not simulated (filter by labels)"), -1;
    }
  if (period && strcmp(period, "MONTH") != 0 &&
      strcmp(period, "CALENDAR_PERIOD_UNSPECIFIED") != 0)
    return bad(resp, "budgetFilter.calendarPeriod", "only MONTH is simulated"),
           -1;
  if (labels == NULL)
    return 0;
  if (json_object_object_length(labels) > 1)
    return bad(resp, "budgetFilter.labels", "at most one label key"), -1;
  json_object_object_foreach(labels, k, v)
  {
    (void)k;
    if (alen(v) != 1 ||
        !json_object_is_type(json_object_array_get_idx(v, 0), json_type_string))
      return bad(resp, "budgetFilter.labels",
                 "each key takes exactly one string value"),
             -1;
  }
  return 0;
}

static int check_rules(sim_resp *resp, json_object *rules)
{
  if (rules && !json_object_is_type(rules, json_type_array))
    return bad(resp, "thresholdRules", "must be an array"), -1;
  for (size_t i = 0; i < alen(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    json_object *p = json_object_object_get(r, "thresholdPercent");
    const char *basis = js(r, "spendBasis");

    if (p == NULL || json_object_get_double(p) <= 0)
      return bad(resp, "thresholdRules.thresholdPercent",
                 "required, above 0 (1.0 is 100%)"),
             -1;
    if (basis && strcmp(basis, "CURRENT_SPEND") != 0 &&
        strcmp(basis, "BASIS_UNSPECIFIED") != 0)
      return bad(resp, "thresholdRules.spendBasis",
                 "only CURRENT_SPEND is simulated"),
             -1;
  }
  return 0;
}

static int check_notify(sim *s, sim_resp *resp, json_object *n)
{
  json_object *ch = json_object_object_get(n, "monitoringNotificationChannels");
  const char *topic = js(n, "pubsubTopic");
  char prefix[300];
  int p_end = 0;

  if (alen(ch) > 5)
    return bad(resp, "notificationsRule.monitoringNotificationChannels",
               "at most 5 channels"),
           -1;
  snprintf(prefix, sizeof(prefix), "projects/%s/notificationChannels/",
           sim_project(s));
  for (size_t i = 0; i < alen(ch); i++) {
    const char *c = json_object_get_string(json_object_array_get_idx(ch, i));

    if (c == NULL || strncmp(c, prefix, strlen(prefix)) != 0 ||
        sim_store_get(s, c) == NULL)
      return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                         "notificationsRule.monitoringNotificationChannels: "
                         "'%s' is not a notification channel of the project",
                         c ? c : ""),
             -1;
  }
  if (topic &&
      (sscanf(topic, "projects/%*[^/]/topics/%n", &p_end) != 0 || p_end == 0 ||
       topic[p_end] == '\0' || strchr(topic + p_end, '/')))
    return bad(resp, "notificationsRule.pubsubTopic",
               "must be projects/{project}/topics/{topic}"),
           -1;
  return 0;
}

/* Every field the simulator checks, of a whole budget. */
static int check_budget(sim *s, sim_resp *resp, json_object *b)
{
  const char *dn = js(b, "displayName");

  if (dn && strlen(dn) > 60)
    return bad(resp, "displayName", "at most 60 characters"), -1;
  if (check_amount(resp, json_object_object_get(b, "amount")) < 0 ||
      check_filter(resp, json_object_object_get(b, "budgetFilter")) < 0 ||
      check_rules(resp, json_object_object_get(b, "thresholdRules")) < 0 ||
      check_notify(s, resp, json_object_object_get(b, "notificationsRule")) < 0)
    return -1;
  return 0;
}

/* --- spend and notifications ------------------------------------------- */

typedef struct spend_ctx {
  const char *key, *value; /* the label filter, or NULL */
  double cost;
} spend_ctx;

static void spend_row(void *data, const char *resource, json_object *labels,
                      const sim_sku *sku, double amount, double cost)
{
  spend_ctx *c = data;
  const char *v = c->key ? js(labels, c->key) : NULL;

  (void)resource, (void)sku, (void)amount;
  if (c->key == NULL || (v && strcmp(v, c->value) == 0))
    c->cost += cost;
}

static double budget_spend(sim *s, json_object *b, uint64_t from, uint64_t to)
{
  json_object *labels = json_object_object_get(
      json_object_object_get(b, "budgetFilter"), "labels");
  spend_ctx c = {NULL, NULL, 0};

  json_object_object_foreach(labels, k, v)
  {
    c.key = k;
    c.value = json_object_get_string(json_object_array_get_idx(v, 0));
  }
  sim_billing_usage(s, from, to, spend_row, &c);
  return c.cost;
}

static double money(json_object *m)
{
  return atof(jsd(m, "units", "0")) +
         json_object_get_int(json_object_object_get(m, "nanos")) / 1e9;
}

/* The current calendar month (UTC) of the simulated clock. */
static void this_month(sim *s, uint64_t *from, uint64_t *to, char *yyyymm)
{
  char now[40];

  sim_now_str(s, now);
  snprintf(yyyymm, 8, "%.4s%.2s", now, now + 5);
  sim_billing_month(yyyymm, from, to);
}

static json_object *notes_list(sim *s)
{
  json_object *n = sim_store_get(s, ACCOUNT "/budgetNotifications");

  if (n == NULL) {
    n = json_object_new_object();
    json_object_object_add(n, "notifications", json_object_new_array());
    sim_store_put(s, ACCOUNT "/budgetNotifications", NOTES_KIND, n);
  }
  return json_object_object_get(n, "notifications");
}

/* Fires what budget b has crossed this month and not yet notified. */
static void budget_eval(sim *s, const char *name, json_object *b)
{
  uint64_t from, to, now = sim_now_ms(s);
  double amount = money(json_object_object_get(
      json_object_object_get(b, "amount"), "specifiedAmount"));
  json_object *rules = json_object_object_get(b, "thresholdRules"), *fired;
  double spend;
  char month[8], fkey[300];

  this_month(s, &from, &to, month);
  spend = budget_spend(s, b, from, now);
  snprintf(fkey, sizeof(fkey), ACCOUNT "/budgetFired/%s",
           strrchr(name, '/') + 1);
  fired = sim_store_get(s, fkey);
  if (fired == NULL || strcmp(jsd(fired, "month", ""), month) != 0) {
    fired = json_object_new_object();
    json_object_object_add(fired, "month", json_object_new_string(month));
    json_object_object_add(fired, "thresholds", json_object_new_array());
    sim_store_put(s, fkey, FIRED_KIND, fired);
  }
  for (size_t i = 0; i < alen(rules); i++) {
    double pct = json_object_get_double(json_object_object_get(
        json_object_array_get_idx(rules, i), "thresholdPercent"));
    json_object *done = json_object_object_get(fired, "thresholds"), *n;
    uint64_t lo = from, hi = now;
    int seen = 0;
    char ts[40];

    for (size_t j = 0; j < alen(done); j++)
      if (json_object_get_double(json_object_array_get_idx(done, j)) == pct)
        seen = 1;
    if (seen || amount <= 0 || spend < pct * amount)
      continue;
    /* The instant the spend crossed it: the first ms where it is reached. */
    while (hi - lo > 1) {
      uint64_t mid = lo + (hi - lo) / 2;

      if (budget_spend(s, b, from, mid) >= pct * amount)
        hi = mid;
      else
        lo = mid;
    }
    json_object_array_add(done, json_object_new_double(pct));
    n = json_object_new_object();
    json_object_object_add(n, "budget", json_object_new_string(name));
    json_object_object_add(n, "budgetDisplayName",
                           json_object_new_string(jsd(b, "displayName", "")));
    json_object_object_add(n, "alertThresholdExceeded",
                           json_object_new_double(pct));
    json_object_object_add(
        n, "costAmount", json_object_new_double(budget_spend(s, b, from, hi)));
    json_object_object_add(n, "budgetAmount", json_object_new_double(amount));
    json_object_object_add(n, "budgetAmountType",
                           json_object_new_string("SPECIFIED_AMOUNT"));
    json_object_object_add(n, "currencyCode", json_object_new_string("USD"));
    json_object_object_add(n, "costIntervalStart",
                           json_object_new_string(sim_time_str(from, ts)));
    json_object_object_add(n, "time",
                           json_object_new_string(sim_time_str(hi, ts)));
    json_object_object_add(n, "monitoringNotificationChannels",
                           copy(json_object_object_get(
                               json_object_object_get(b, "notificationsRule"),
                               "monitoringNotificationChannels")));
    if (js(json_object_object_get(b, "notificationsRule"), "pubsubTopic"))
      json_object_object_add(
          n, "pubsubTopic",
          json_object_new_string(js(
              json_object_object_get(b, "notificationsRule"), "pubsubTopic")));
    json_object_array_add(notes_list(s), n);
    sim_dirty(s);
  }
}

static int eval_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  json_object *list = data;

  if (strcmp(kind, BUDGET_KIND) == 0)
    json_object_array_add(list, json_object_new_string(name));
  (void)obj;
  return 0;
}

/* Evaluates every budget (names collected first: evaluating puts). */
static void budgets_eval(sim *s)
{
  json_object *names = json_object_new_array();

  sim_store_each(s, ACCOUNT "/budgets/", eval_cb, names);
  for (size_t i = 0; i < alen(names); i++) {
    const char *n = json_object_get_string(json_object_array_get_idx(names, i));
    json_object *b = sim_store_get(s, n);

    if (b)
      budget_eval(s, n, b);
  }
  json_object_put(names);
}

/* --- the API ----------------------------------------------------------- */

static int account_ok(sim_req *req, sim_resp *resp)
{
  if (strcmp(sim_param(req, "billingAccountsId"), SIM_BILLING_ACCOUNT) == 0)
    return 0;
  sim_err_rpc(resp, 403, "PERMISSION_DENIED",
              "The caller does not have permission");
  return -1;
}

static void new_etag(sim *s, json_object *b)
{
  char buf[32];

  snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)sim_rand(s));
  json_object_object_add(b, "etag", json_object_new_string(buf));
}

static int budgets_create(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *b;
  char id[40], name[300];

  if (account_ok(req, resp) < 0 ||
      sim_schema_check(resp, sim_schema_budgets,
                       "GoogleCloudBillingBudgetsV1Budget", body, "budget") < 0)
    return SIM_DONE;
  if (body == NULL)
    return bad(resp, "budget", "required");
  if (check_budget(s, resp, body) < 0)
    return SIM_DONE;
  budgets_eval(s);
  b = copy(body);
  snprintf(name, sizeof(name), ACCOUNT "/budgets/%s", sim_new_uuid(s, id));
  json_object_object_add(b, "name", json_object_new_string(name));
  json_object_object_del(b, "ownershipScope");
  new_etag(s, b);
  sim_store_put(s, name, BUDGET_KIND, copy(b));
  budget_eval(s, name, sim_store_get(s, name));
  return sim_resp_json(resp, 200, b);
}

static int budget_name(sim_req *req, sim_resp *resp, char *name, size_t n)
{
  if (account_ok(req, resp) < 0)
    return -1;
  snprintf(name, n, ACCOUNT "/budgets/%s", sim_param(req, "budgetsId"));
  return 0;
}

static int budget_missing(sim_resp *resp, const char *name)
{
  return sim_err_rpc(resp, 404, "NOT_FOUND", "Budget %s not found.", name);
}

static int budgets_get(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *b;
  char name[300];

  if (budget_name(req, resp, name, sizeof(name)) < 0)
    return SIM_DONE;
  budgets_eval(s);
  b = sim_store_get(s, name);
  if (b == NULL)
    return budget_missing(resp, name);
  return sim_resp_json(resp, 200, copy(b));
}

static int list_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  (void)name;
  if (strcmp(kind, BUDGET_KIND) == 0)
    json_object_array_add(data, copy(obj));
  return 0;
}

static int budgets_list(sim *s, sim_req *req, sim_resp *resp)
{
  const char *ps = sim_query(req, "pageSize"),
             *pt = sim_query(req, "pageToken");
  json_object *all, *page, *o;
  long size = 100, from = 0;
  char *end, buf[32];
  size_t n;

  if (account_ok(req, resp) < 0)
    return SIM_DONE;
  if (ps && *ps && ((size = strtol(ps, &end, 10)) < 0 || *end))
    return bad(resp, "pageSize", "a non-negative integer");
  if (size == 0 || size > 100)
    size = 100;
  budgets_eval(s);
  all = json_object_new_array();
  sim_store_each(s, ACCOUNT "/budgets/", list_cb, all);
  n = alen(all);
  if (pt && *pt &&
      ((from = strtol(pt, &end, 10)) <= 0 || *end || (size_t)from > n)) {
    json_object_put(all);
    return bad(resp, "pageToken", "not a token this API gave");
  }
  page = json_object_new_array();
  for (size_t i = (size_t)from; i < n && i < (size_t)(from + size); i++)
    json_object_array_add(page,
                          json_object_get(json_object_array_get_idx(all, i)));
  o = json_object_new_object();
  json_object_object_add(o, "budgets", page);
  if ((size_t)(from + size) < n) {
    snprintf(buf, sizeof(buf), "%ld", from + size);
    json_object_object_add(o, "nextPageToken", json_object_new_string(buf));
  }
  json_object_put(all);
  return sim_resp_json(resp, 200, o);
}

static int budgets_patch(sim *s, sim_req *req, sim_resp *resp)
{
  static const char *const fields[] = {"displayName", "budgetFilter", "amount",
                                       "thresholdRules", "notificationsRule"};
  json_object *body = sim_body(req), *cur, *b;
  const char *mask = sim_query(req, "updateMask");
  char name[300], m[512], *save = NULL;

  if (budget_name(req, resp, name, sizeof(name)) < 0 ||
      sim_schema_check(resp, sim_schema_budgets,
                       "GoogleCloudBillingBudgetsV1Budget", body, "budget") < 0)
    return SIM_DONE;
  cur = sim_store_get(s, name);
  if (cur == NULL)
    return budget_missing(resp, name);
  if (js(body, "etag") && strcmp(js(body, "etag"), jsd(cur, "etag", "")) != 0)
    return sim_err_rpc(resp, 409, "ABORTED",
                       "etag: the budget was changed since it was read");
  budgets_eval(s);
  b = copy(cur);
  if (mask && *mask) {
    snprintf(m, sizeof(m), "%s", mask);
    for (char *f = strtok_r(m, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
      size_t i, k = strcspn(f, ".");

      f[k] = '\0'; /* "budgetFilter.labels": the whole budgetFilter */
      for (i = 0; i < sizeof(fields) / sizeof(*fields); i++)
        if (strcmp(f, fields[i]) == 0)
          break;
      if (i == sizeof(fields) / sizeof(*fields)) {
        json_object_put(b);
        return bad(resp, "updateMask", "names a field that cannot be updated");
      }
      if (json_object_object_get(body, f))
        json_object_object_add(b, f, copy(json_object_object_get(body, f)));
      else
        json_object_object_del(b, f);
    }
  } else {
    for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
      if (json_object_object_get(body, fields[i]))
        json_object_object_add(b, fields[i],
                               copy(json_object_object_get(body, fields[i])));
  }
  if (check_budget(s, resp, b) < 0) {
    json_object_put(b);
    return SIM_DONE;
  }
  new_etag(s, b);
  sim_store_put(s, name, BUDGET_KIND, copy(b));
  budget_eval(s, name, sim_store_get(s, name));
  return sim_resp_json(resp, 200, b);
}

static int budgets_delete(sim *s, sim_req *req, sim_resp *resp)
{
  char name[300], fkey[300];

  if (budget_name(req, resp, name, sizeof(name)) < 0)
    return SIM_DONE;
  if (sim_store_get(s, name) == NULL)
    return budget_missing(resp, name);
  budgets_eval(s);
  sim_store_del(s, name);
  snprintf(fkey, sizeof(fkey), ACCOUNT "/budgetFired/%s",
           sim_param(req, "budgetsId"));
  sim_store_del(s, fkey);
  return sim_resp_json(resp, 200, json_object_new_object());
}

/* GET /_sim/budget-notifications (admin): every notification fired. */
static int admin_notifications(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o = json_object_new_object();

  (void)req;
  budgets_eval(s);
  json_object_object_add(o, "notifications", copy(notes_list(s)));
  return sim_resp_json(resp, 200, o);
}

#define BB "/v1/billingAccounts/{billingAccountsId}/budgets"

static const sim_route budget_routes[] = {
    {"POST", BB, "billingbudgets.billingAccounts.budgets.create",
     budgets_create, NULL, 0, NULL},
    {"GET", BB, "billingbudgets.billingAccounts.budgets.list", budgets_list,
     NULL, 0, NULL},
    {"GET", BB "/{budgetsId}", "billingbudgets.billingAccounts.budgets.get",
     budgets_get, NULL, 0, NULL},
    {"PATCH", BB "/{budgetsId}", "billingbudgets.billingAccounts.budgets.patch",
     budgets_patch, NULL, 0, NULL},
    {"DELETE", BB "/{budgetsId}",
     "billingbudgets.billingAccounts.budgets.delete", budgets_delete, NULL, 0,
     NULL},
};

static const sim_route budget_admin_routes[] = {
    {"GET", "/_sim/budget-notifications", "sim.budgetNotifications",
     admin_notifications, NULL, SIM_ROUTE_NOAUTH | SIM_ROUTE_LOOPBACK, NULL},
};

int sim_budgets_init(sim *s)
{
  if (sim_register(s, SIM_API_BUDGETS, budget_routes,
                   sizeof(budget_routes) / sizeof(*budget_routes)) < 0)
    return -1;
  return sim_register(s, SIM_API_ADMIN, budget_admin_routes,
                      sizeof(budget_admin_routes) /
                          sizeof(*budget_admin_routes));
}
