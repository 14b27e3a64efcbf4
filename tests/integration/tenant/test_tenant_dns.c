/*
 * test_tenant_dns.c - the tenant steps never change or delete a DNS record
 * they did not create, against the in-process simulator.
 *
 *   test-tenant-dns appears | replaced | cname
 *
 * appears: a record someone else made at a tenant's hostname after the
 * tenant was registered (between the API's check and the DNS step): the
 * step fails naming the record, FAILED, and the record keeps its value;
 * deleting the tenant (and another one) leaves it, and an operator's `www`
 * record, as they were, while the tenant's own record goes.
 *
 * replaced: a READY tenant's alias record replaced by someone (deleted and
 * made again with another address): deprovisioning deletes the tenant's
 * own record and leaves the replaced one in place, journalled. A record of
 * ours that was only changed is put back by the step (drift), as before.
 *
 * cname: a CNAME at the tenant's hostname: no A record is added beside it
 * (Cloud DNS would refuse the whole batch of the fleet's changes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tenant/spec.h"
#include "tharness.h"

#define ZONE "/dns/v1/projects/edv-sim/managedZones/edvirons-com"

/* Makes rrset (name, type) = value in the zone, as someone else would. */
static void make_rrset(th *h, const char *name, const char *type,
                       const char *value)
{
  char body[400];
  json_object *r;

  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"type\":\"%s\",\"ttl\":600,\"rrdatas\":[\"%s\"]}",
           name, type, value);
  r = th_api(h, EDV_API_DNS, "POST", ZONE "/rrsets", json_tokener_parse(body));
  assert_non_null(r);
  json_object_put(r);
}

/* The only value of rrset (name, type) in the simulator's state, or NULL
 * (copied into buf). */
static const char *rr_value(th *h, const char *name, const char *type,
                            char *buf, size_t size)
{
  char key[400];
  json_object *o, *d;

  snprintf(key, sizeof(key),
           "projects/edv-sim/managedZones/edvirons-com/rrsets/%s/%s", name,
           type);
  o = th_res(h, key);
  if (!o)
    return NULL;
  d = json_object_object_get(o, "rrdatas");
  assert_int_equal(json_object_array_length(d), 1);
  snprintf(buf, size, "%s",
           json_object_get_string(json_object_array_get_idx(d, 0)));
  json_object_put(o);
  return buf;
}

static void rr_is(th *h, const char *name, const char *type, const char *want)
{
  char buf[256];
  const char *v = rr_value(h, name, type, buf, sizeof(buf));

  if (!v || strcmp(v, want) != 0)
    fail_msg("%s %s holds %s, want %s", name, type, v ? v : "(nothing)", want);
}

static void drive(th *h, const char *id, edv__direction dir, int want_phase)
{
  edv_error err;

  assert_int_equal(th_drive(h, id, dir, &err), 0);
  assert_int_equal(th_wait(h, 60000), 0);
  if (th_phase(h, id) != want_phase)
    fail_msg("%s: phase %d, want %d; last error: %s", id, th_phase(h, id),
             want_phase, h->last_err);
}

static void lb_ip(th *h, char *buf, size_t size)
{
  json_object *a = th_res(h, "projects/edv-sim/global/addresses/edv-lb-ip");
  assert_non_null(a);
  snprintf(buf, size, "%s",
           json_object_get_string(json_object_object_get(a, "address")));
  json_object_put(a);
}

static void test_appears(void **state)
{
  th h;
  edv_error err;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  make_rrset(&h, "www.edvirons.com.", "A", "198.51.100.80");
  assert_int_equal(th_register(&h, "dns01", "basic", &err), 0);
  assert_int_equal(th_register(&h, "dns02", "basic", &err), 0);
  /* Registered (the API's live check passed); then someone makes the
   * alias's record before the DNS step runs. */
  make_rrset(&h, "dns01-s.edvirons.com.", "A", "198.51.100.7");
  drive(&h, "dns01", EDV_DIR_UP, EDV_PHASE_FAILED);
  if (!strstr(h.last_err, "dns01-s.edvirons.com.") ||
      !strstr(h.last_err, "198.51.100.7") ||
      !strstr(h.last_err, "did not create"))
    fail_msg("the failure does not name the record: %s", h.last_err);
  rr_is(&h, "dns01-s.edvirons.com.", "A", "198.51.100.7");
  drive(&h, "dns02", EDV_DIR_UP, EDV_PHASE_READY);

  /* Deleting both: the foreign records stay as they were, the tenants'
   * own records go. */
  drive(&h, "dns01", EDV_DIR_DOWN, EDV_PHASE_DELETED);
  drive(&h, "dns02", EDV_DIR_DOWN, EDV_PHASE_DELETED);
  rr_is(&h, "dns01-s.edvirons.com.", "A", "198.51.100.7");
  rr_is(&h, "www.edvirons.com.", "A", "198.51.100.80");
  {
    char buf[64];
    assert_null(rr_value(&h, "dns01.edvirons.com.", "A", buf, sizeof(buf)));
    assert_null(rr_value(&h, "dns02.edvirons.com.", "A", buf, sizeof(buf)));
    assert_null(rr_value(&h, "dns02-s.edvirons.com.", "A", buf, sizeof(buf)));
  }
  th_close(&h);
}

typedef struct jfind {
  const char *needle;
  int found;
} jfind;

static int journal_one(void *data, const edv__journal_rec *rec)
{
  jfind *j = data;

  /* An info line's text is in api_call. */
  if (strstr(rec->api_call, j->needle))
    j->found = 1;
  return 0;
}

static int journal_has(th *h, const char *id, const char *needle)
{
  jfind j = {needle, 0};

  assert_int_equal(
      edv__store_journal_list(h->store, id, 0, 100000, journal_one, &j, NULL),
      0);
  return j.found;
}

static void test_replaced(void **state)
{
  th h;
  edv_error err;
  char ip[64];
  json_object *r;

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  lb_ip(&h, ip, sizeof(ip));
  assert_int_equal(th_register(&h, "dns03", "basic", &err), 0);
  drive(&h, "dns03", EDV_DIR_UP, EDV_PHASE_READY);
  rr_is(&h, "dns03-s.edvirons.com.", "A", ip);

  /* Ours, changed: the step puts it back (drift repair). */
  r = th_api(&h, EDV_API_DNS, "PATCH", ZONE "/rrsets/dns03.edvirons.com./A",
             json_tokener_parse("{\"rrdatas\":[\"203.0.113.9\"]}"));
  assert_non_null(r);
  json_object_put(r);
  drive(&h, "dns03", EDV_DIR_UP, EDV_PHASE_READY);
  rr_is(&h, "dns03.edvirons.com.", "A", ip);

  /* The alias replaced by someone: deleted, made again elsewhere. */
  r = th_api(&h, EDV_API_DNS, "DELETE", ZONE "/rrsets/dns03-s.edvirons.com./A",
             NULL);
  json_object_put(r);
  make_rrset(&h, "dns03-s.edvirons.com.", "A", "198.51.100.33");
  drive(&h, "dns03", EDV_DIR_DOWN, EDV_PHASE_DELETED);
  rr_is(&h, "dns03-s.edvirons.com.", "A", "198.51.100.33");
  {
    char buf[64];
    assert_null(rr_value(&h, "dns03.edvirons.com.", "A", buf, sizeof(buf)));
  }
  assert_true(journal_has(&h, "dns03", "left in place"));
  th_close(&h);
}

static void test_cname(void **state)
{
  th h;
  edv_error err;
  char buf[64];

  (void)state;
  th_open(&h, NULL);
  th_platform(&h);
  assert_int_equal(th_register(&h, "dns04", "basic", &err), 0);
  make_rrset(&h, "dns04.edvirons.com.", "CNAME", "elsewhere.example.org.");
  drive(&h, "dns04", EDV_DIR_UP, EDV_PHASE_FAILED);
  if (!strstr(h.last_err, "dns04.edvirons.com.") ||
      !strstr(h.last_err, "CNAME") || !strstr(h.last_err, "did not create"))
    fail_msg("the failure does not name the CNAME: %s", h.last_err);
  rr_is(&h, "dns04.edvirons.com.", "CNAME", "elsewhere.example.org.");
  assert_null(rr_value(&h, "dns04.edvirons.com.", "A", buf, sizeof(buf)));
  drive(&h, "dns04", EDV_DIR_DOWN, EDV_PHASE_DELETED);
  rr_is(&h, "dns04.edvirons.com.", "CNAME", "elsewhere.example.org.");
  th_close(&h);
}

int main(int argc, char **argv)
{
  const char *which = argc > 1 ? argv[1] : "all";
  struct CMUnitTest all[] = {
      cmocka_unit_test(test_appears),
      cmocka_unit_test(test_replaced),
      cmocka_unit_test(test_cname),
  };
  struct CMUnitTest pick[1];
  const char *names[] = {"appears", "replaced", "cname"};

  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(which, names[i]) == 0) {
      pick[0] = all[i];
      return cmocka_run_group_tests(pick, NULL, NULL);
    }
  return cmocka_run_group_tests(all, NULL, NULL);
}
