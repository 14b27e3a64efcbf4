/*
 * test_audit.c - the isolation audit over crafted firewalls, VMs and Cloud
 * SQL instances: what the tenant plan makes passes; every way a rule can
 * open a tenant VM or database to someone else is flagged, naming the rule
 * and the tenants; priorities, deny-over-allow, disabled rules, other
 * networks, tags, service accounts, ports and egress are honoured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tenant/audit.h"
#include "tenant/machine.h"
#include "tenant/spec.h"
#include "tenant/steps.h"

#define NET                                                                    \
  "https://www.googleapis.com/compute/v1/projects/p/global/networks/edv-net"
#define NET_REL "projects/p/global/networks/edv-net"

typedef struct world {
  json_object *fw, *vms, *dbs;
} world;

static void w_open(world *w)
{
  w->fw = json_object_new_array();
  w->vms = json_object_new_array();
  w->dbs = json_object_new_array();
}

static void w_close(world *w)
{
  json_object_put(w->fw);
  json_object_put(w->vms);
  json_object_put(w->dbs);
}

static json_object *parse(const char *fmt, ...)
{
  char buf[4096];
  va_list ap;
  json_object *o;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  o = json_tokener_parse(buf);
  if (!o)
    fail_msg("bad JSON: %s", buf);
  return o;
}

/* The rules the tenant plan makes for tenant `id`: LB ranges to tcp:80,
 * deny the rest (as steps_tenant.c builds them), and optionally the
 * operations SSH rule. */
static void tenant_rules(world *w, const char *id, int ops)
{
  json_object_array_add(
      w->fw, parse("{\"name\":\"edv-%s-allow-lb\",\"network\":\"%s\","
                   "\"description\":\"edv-managed:tenant=%s\","
                   "\"direction\":\"INGRESS\",\"priority\":1000,"
                   "\"targetTags\":[\"edv-%s\"],\"allowed\":[{\"IPProtocol\":"
                   "\"tcp\",\"ports\":[\"80\"]}],\"sourceRanges\":[\"%s\","
                   "\"%s\"]}",
                   id, NET, id, id, EDV_HC_RANGE_1, EDV_HC_RANGE_2));
  json_object_array_add(
      w->fw, parse("{\"name\":\"edv-%s-deny-ingress\",\"network\":\"%s\","
                   "\"description\":\"edv-managed:tenant=%s\","
                   "\"direction\":\"INGRESS\",\"priority\":65000,"
                   "\"targetTags\":[\"edv-%s\"],\"denied\":[{\"IPProtocol\":"
                   "\"all\"}],\"sourceRanges\":[\"0.0.0.0/0\"]}",
                   id, NET, id, id));
  if (ops)
    json_object_array_add(
        w->fw,
        parse("{\"name\":\"edv-%s-allow-iap-ssh\",\"network\":\"%s\","
              "\"description\":\"edv-managed:tenant=%s\",\"priority\":1000,"
              "\"targetTags\":[\"edv-%s\"],\"allowed\":[{\"IPProtocol\":"
              "\"tcp\",\"ports\":[\"22\"]}],\"sourceRanges\":[\"%s\"]}",
              id, NET, id, id, EDV_IAP_RANGE));
}

static void tenant_vm(world *w, const char *id, const char *ip)
{
  json_object_array_add(
      w->vms,
      parse("{\"name\":\"edv-%s-vm\",\"labels\":{\"edv-managed\":\"true\","
            "\"edv-tenant\":\"%s\"},\"tags\":{\"items\":[\"edv-%s\"]},"
            "\"serviceAccounts\":[{\"email\":\"edv-%s@p.iam."
            "gserviceaccount.com\"}],\"networkInterfaces\":[{\"network\":"
            "\"%s\",\"networkIP\":\"%s\"}]}",
            id, id, id, id, NET, ip));
}

static void tenant_db(world *w, const char *id, const char *ip, const char *ssl)
{
  json_object_array_add(
      w->dbs,
      parse("{\"name\":\"edv-%s-db-1\",\"settings\":{\"userLabels\":{"
            "\"edv-managed\":\"true\",\"edv-tenant\":\"%s\"},"
            "\"ipConfiguration\":{\"ipv4Enabled\":false,\"privateNetwork\":"
            "\"%s\"%s%s%s}},\"ipAddresses\":[{\"type\":\"PRIVATE\","
            "\"ipAddress\":\"%s\"}]}",
            id, id, NET_REL, ssl ? ",\"sslMode\":\"" : "", ssl ? ssl : "",
            ssl ? "\"" : "", ip));
}

/* The egress rules that keep a tenant VM to its own database. */
static void tenant_db_egress(world *w, const char *id, const char *dbip)
{
  json_object_array_add(
      w->fw, parse("{\"name\":\"edv-%s-allow-db\",\"network\":\"%s\","
                   "\"direction\":\"EGRESS\",\"priority\":1000,"
                   "\"targetTags\":[\"edv-%s\"],\"allowed\":[{\"IPProtocol\":"
                   "\"tcp\",\"ports\":[\"5432\"]}],\"destinationRanges\":["
                   "\"%s/32\"]}",
                   id, NET, id, dbip));
  json_object_array_add(
      w->fw, parse("{\"name\":\"edv-%s-deny-db\",\"network\":\"%s\","
                   "\"direction\":\"EGRESS\",\"priority\":65000,"
                   "\"targetTags\":[\"edv-%s\"],\"denied\":[{\"IPProtocol\":"
                   "\"all\"}],\"destinationRanges\":[\"10.96.0.0/16\"]}",
                   id, NET, id));
}

/* Two tenants a and b as the plan makes them, without databases. */
static void two_tenants(world *w)
{
  w_open(w);
  tenant_rules(w, "a", 0);
  tenant_rules(w, "b", 0);
  tenant_vm(w, "a", "10.64.0.2");
  tenant_vm(w, "b", "10.64.0.18");
}

static json_object *run(world *w)
{
  edv__audit_in in = {w->fw, w->vms, w->dbs};
  json_object *r = edv__audit(&in);

  assert_non_null(r);
  return r;
}

/* Number of findings of `kind` for `tenant` (from `from`, NULL: any)
 * decided by `rule` (NULL: any). */
static int count(json_object *r, const char *kind, const char *tenant,
                 const char *from, const char *rule)
{
  json_object *f = edv__jget(r, "findings");
  int n = 0;

  for (size_t i = 0; i < json_object_array_length(f); i++) {
    json_object *x = json_object_array_get_idx(f, i);
    const char *xf = edv__jstr(x, "from_tenant");
    if (strcmp(edv__jstr(x, "kind"), kind) == 0 &&
        strcmp(edv__jstr(x, "tenant"), tenant) == 0 &&
        (!from || (xf && strcmp(xf, from) == 0)) &&
        (!rule || strcmp(edv__jstr(x, "rule"), rule) == 0))
      n++;
  }
  return n;
}

static size_t nfindings(json_object *r)
{
  return json_object_array_length(edv__jget(r, "findings"));
}

static void add(world *w, const char *fmt, const char *extra)
{
  json_object_array_add(w->fw, parse(fmt, NET, extra ? extra : ""));
}

static void test_plan_passes(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  r = run(&w);
  if (nfindings(r))
    fail_msg("%s", json_object_to_json_string(r));
  assert_int_equal(edv__jint(r, "checked.firewalls", -1), 4);
  assert_int_equal(edv__jint(r, "checked.vms", -1), 2);
  json_object_put(r);
  w_close(&w);
}

static void test_no_rules_implied_deny(void **state)
{
  world w;
  json_object *r;

  (void)state;
  w_open(&w);
  tenant_vm(&w, "a", "10.64.0.2");
  tenant_vm(&w, "b", "10.64.0.18");
  r = run(&w);
  assert_int_equal(nfindings(r), 0);
  json_object_put(r);
  w_close(&w);
}

static void test_open_world(void **state)
{
  world w;
  json_object *r, *f;

  (void)state;
  two_tenants(&w);
  add(&w,
      "{\"name\":\"ssh-anywhere\",\"network\":\"%s\",\"priority\":1000,"
      "\"targetTags\":[\"edv-a\"],\"allowed\":[{\"IPProtocol\":\"tcp\","
      "\"ports\":[\"22\"]}],\"sourceRanges\":[\"0.0.0.0/0\"]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "exposed", "a", NULL, "ssh-anywhere"), 1);
  assert_int_equal(count(r, "exposed", "b", NULL, NULL), 0);
  /* 0.0.0.0/0 holds tenant b's VM too. */
  assert_int_equal(count(r, "cross-tenant", "a", "b", "ssh-anywhere"), 1);
  assert_int_equal(nfindings(r), 2);
  f = json_object_array_get_idx(edv__jget(r, "findings"), 0);
  assert_string_equal(edv__jstr(f, "kind"), "exposed");
  assert_string_equal(edv__jstr(f, "source"), "0.0.0.0/0");
  assert_string_equal(edv__jstr(f, "ports"), "tcp:22");
  assert_non_null(strstr(edv__jstr(f, "detail"), "ssh-anywhere"));
  json_object_put(r);
  w_close(&w);
}

static void test_tag_to_other_tenant(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  add(&w,
      "{\"name\":\"a-to-b\",\"network\":\"%s\",\"priority\":900,"
      "\"sourceTags\":[\"edv-a\"],\"targetTags\":[\"edv-b\"],\"allowed\":["
      "{\"IPProtocol\":\"tcp\",\"ports\":[\"8000-9000\"]}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "cross-tenant", "b", "a", "a-to-b"), 1);
  assert_int_equal(count(r, "cross-tenant", "a", NULL, NULL), 0);
  assert_int_equal(nfindings(r), 1);
  json_object_put(r);
  w_close(&w);
}

static void test_service_accounts(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  add(&w,
      "{\"name\":\"sa-b-to-a\",\"network\":\"%s\",\"priority\":10,"
      "\"sourceServiceAccounts\":[\"edv-b@p.iam.gserviceaccount.com\"],"
      "\"targetServiceAccounts\":[\"edv-a@p.iam.gserviceaccount.com\"],"
      "\"allowed\":[{\"IPProtocol\":\"udp\"}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "cross-tenant", "a", "b", "sa-b-to-a"), 1);
  assert_int_equal(nfindings(r), 1);
  json_object_put(r);
  w_close(&w);
}

/* The subnet range of another tenant admitted by address. */
static void test_range_of_other_tenant(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  add(&w,
      "{\"name\":\"internal\",\"network\":\"%s\",\"priority\":1000,"
      "\"sourceRanges\":[\"10.64.0.0/16\"],\"allowed\":[{\"IPProtocol\":"
      "\"all\"}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "cross-tenant", "a", "b", "internal"), 1);
  assert_int_equal(count(r, "cross-tenant", "b", "a", "internal"), 1);
  assert_int_equal(count(r, "exposed", "a", NULL, "internal"), 1);
  json_object_put(r);
  w_close(&w);
}

static void test_priority_and_deny(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  /* Shadowed by a deny with a lower priority number. */
  add(&w,
      "{\"name\":\"open\",\"network\":\"%s\",\"priority\":900,"
      "\"targetTags\":[\"edv-b\"],\"sourceRanges\":[\"0.0.0.0/0\"],"
      "\"allowed\":[{\"IPProtocol\":\"all\"}]%s}",
      NULL);
  add(&w,
      "{\"name\":\"shut\",\"network\":\"%s\",\"priority\":100,"
      "\"targetTags\":[\"edv-b\"],\"sourceRanges\":[\"0.0.0.0/0\"],"
      "\"denied\":[{\"IPProtocol\":\"all\"}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(nfindings(r), 0);
  json_object_put(r);
  /* At equal priority the deny wins. */
  json_object_object_add(json_object_array_get_idx(w.fw, 5), "priority",
                         json_object_new_int(900));
  r = run(&w);
  assert_int_equal(nfindings(r), 0);
  json_object_put(r);
  /* A deny below the allow does not stop it. */
  json_object_object_add(json_object_array_get_idx(w.fw, 5), "priority",
                         json_object_new_int(901));
  r = run(&w);
  assert_int_equal(count(r, "exposed", "b", NULL, "open"), 1);
  assert_int_equal(count(r, "cross-tenant", "b", "a", "open"), 1);
  json_object_put(r);
  w_close(&w);
}

static void test_disabled_and_other_network(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  add(&w,
      "{\"name\":\"off\",\"network\":\"%s\",\"priority\":10,\"disabled\":"
      "true,\"sourceRanges\":[\"0.0.0.0/0\"],\"allowed\":[{\"IPProtocol\":"
      "\"all\"}]%s}",
      NULL);
  json_object_array_add(
      w.fw, parse("{\"name\":\"elsewhere\",\"network\":\"projects/p/global/"
                  "networks/default\",\"priority\":10,\"sourceRanges\":["
                  "\"0.0.0.0/0\"],\"allowed\":[{\"IPProtocol\":\"all\"}]}"));
  r = run(&w);
  assert_int_equal(nfindings(r), 0);
  json_object_put(r);
  /* Enabled, the first one opens both. */
  json_object_object_add(json_object_array_get_idx(w.fw, 4), "disabled",
                         json_object_new_boolean(0));
  r = run(&w);
  assert_int_equal(count(r, "exposed", "a", NULL, "off"), 1);
  assert_int_equal(count(r, "exposed", "b", NULL, "off"), 1);
  json_object_put(r);
  w_close(&w);
}

/* Google's ranges may reach tcp:80 only. */
static void test_lb_ranges_ports(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  add(&w,
      "{\"name\":\"hc-wide\",\"network\":\"%s\",\"priority\":1000,"
      "\"targetTags\":[\"edv-a\"],\"sourceRanges\":[\"130.211.0.0/22\"],"
      "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"80\",\"443\"]}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "exposed", "a", NULL, "hc-wide"), 1);
  assert_int_equal(nfindings(r), 1);
  json_object_put(r);
  w_close(&w);
}

/* The tenant's own IAP rule is the operations path; the same opening
 * under another name is not. */
static void test_ops_ssh(void **state)
{
  world w;
  json_object *r, *t;

  (void)state;
  w_open(&w);
  tenant_rules(&w, "a", 1);
  tenant_rules(&w, "b", 0);
  tenant_vm(&w, "a", "10.64.0.2");
  tenant_vm(&w, "b", "10.64.0.18");
  r = run(&w);
  assert_int_equal(nfindings(r), 0);
  t = json_object_array_get_idx(edv__jget(r, "tenants"), 0);
  assert_string_equal(edv__jstr(t, "id"), "a");
  assert_true(json_object_get_boolean(edv__jget(t, "ops_ssh")));
  t = json_object_array_get_idx(edv__jget(r, "tenants"), 1);
  assert_false(json_object_get_boolean(edv__jget(t, "ops_ssh")));
  json_object_put(r);
  add(&w,
      "{\"name\":\"iap-b\",\"network\":\"%s\",\"priority\":1000,"
      "\"targetTags\":[\"edv-b\"],\"sourceRanges\":[\"35.235.240.0/20\"],"
      "\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"22\"]}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "exposed", "b", NULL, "iap-b"), 1);
  assert_int_equal(nfindings(r), 1);
  json_object_put(r);
  w_close(&w);
}

/* An egress deny on the source stops what the target's ingress admits. */
static void test_egress_blocks(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  add(&w,
      "{\"name\":\"a-to-b\",\"network\":\"%s\",\"priority\":900,"
      "\"sourceTags\":[\"edv-a\"],\"targetTags\":[\"edv-b\"],\"allowed\":["
      "{\"IPProtocol\":\"tcp\"}]%s}",
      NULL);
  add(&w,
      "{\"name\":\"a-out\",\"network\":\"%s\",\"direction\":\"EGRESS\","
      "\"priority\":900,\"targetTags\":[\"edv-a\"],\"destinationRanges\":["
      "\"10.64.0.0/16\"],\"denied\":[{\"IPProtocol\":\"tcp\"}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "cross-tenant", "b", NULL, NULL), 0);
  json_object_put(r);
  w_close(&w);
}

static void test_databases(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  tenant_db(&w, "a", "10.96.0.3", "ENCRYPTED_ONLY");
  tenant_db(&w, "b", "10.96.0.5", "ENCRYPTED_ONLY");
  /* No egress rule: each VM reaches the other's database. */
  r = run(&w);
  assert_int_equal(count(r, "db-reachable", "a", "b", "implied allow egress"),
                   1);
  assert_int_equal(count(r, "db-reachable", "b", "a", "implied allow egress"),
                   1);
  assert_int_equal(nfindings(r), 2);
  json_object_put(r);
  /* The egress rules keep each to its own. */
  tenant_db_egress(&w, "a", "10.96.0.3");
  tenant_db_egress(&w, "b", "10.96.0.5");
  r = run(&w);
  if (nfindings(r))
    fail_msg("%s", json_object_to_json_string(r));
  json_object_put(r);
  /* A wider allow of a's opens b's database to a. */
  add(&w,
      "{\"name\":\"a-db-wide\",\"network\":\"%s\",\"direction\":\"EGRESS\","
      "\"priority\":999,\"targetTags\":[\"edv-a\"],\"destinationRanges\":["
      "\"10.96.0.0/16\"],\"allowed\":[{\"IPProtocol\":\"tcp\"}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "db-reachable", "b", "a", "a-db-wide"), 1);
  assert_int_equal(nfindings(r), 1);
  json_object_put(r);
  w_close(&w);
}

static void test_database_settings(void **state)
{
  world w;
  json_object *r;

  (void)state;
  w_open(&w);
  tenant_db(&w, "a", "10.96.0.3", NULL);
  tenant_db(&w, "b", "10.96.0.5", "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
  tenant_db(&w, "c", "10.96.0.7", "ENCRYPTED_ONLY");
  json_object_object_add(edv__jget(json_object_array_get_idx(w.dbs, 2),
                                   "settings.ipConfiguration"),
                         "ipv4Enabled", json_object_new_boolean(1));
  r = run(&w);
  assert_int_equal(count(r, "db-tls", "a", NULL, NULL), 1);
  assert_int_equal(count(r, "db-tls", "b", NULL, NULL), 1);
  assert_int_equal(count(r, "db-tls", "c", NULL, NULL), 0);
  assert_int_equal(count(r, "db-public", "c", NULL, NULL), 1);
  assert_int_equal(nfindings(r), 3);
  json_object_put(r);
  w_close(&w);
}

/* A VM that is no tenant's, admitted to a tenant VM. */
static void test_foreign_vm(void **state)
{
  world w;
  json_object *r;

  (void)state;
  two_tenants(&w);
  json_object_array_add(
      w.vms, parse("{\"name\":\"bastion\",\"tags\":{\"items\":[\"ops\"]},"
                   "\"networkInterfaces\":[{\"network\":\"%s\","
                   "\"networkIP\":\"10.200.0.9\"}]}",
                   NET));
  add(&w,
      "{\"name\":\"from-ops\",\"network\":\"%s\",\"priority\":1000,"
      "\"sourceTags\":[\"ops\"],\"allowed\":[{\"IPProtocol\":\"tcp\","
      "\"ports\":[\"22\"]}]%s}",
      NULL);
  r = run(&w);
  assert_int_equal(count(r, "exposed", "a", NULL, "from-ops"), 1);
  assert_int_equal(count(r, "exposed", "b", NULL, "from-ops"), 1);
  assert_int_equal(nfindings(r), 2);
  json_object_put(r);
  w_close(&w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_passes),
      cmocka_unit_test(test_no_rules_implied_deny),
      cmocka_unit_test(test_open_world),
      cmocka_unit_test(test_tag_to_other_tenant),
      cmocka_unit_test(test_service_accounts),
      cmocka_unit_test(test_range_of_other_tenant),
      cmocka_unit_test(test_priority_and_deny),
      cmocka_unit_test(test_disabled_and_other_network),
      cmocka_unit_test(test_lb_ranges_ports),
      cmocka_unit_test(test_ops_ssh),
      cmocka_unit_test(test_egress_blocks),
      cmocka_unit_test(test_databases),
      cmocka_unit_test(test_database_settings),
      cmocka_unit_test(test_foreign_vm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
