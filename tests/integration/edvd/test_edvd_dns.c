/*
 * test_edvd_dns.c - POST /api/tenants never gives a tenant a hostname
 * that holds someone else's DNS record, nor a reserved one.
 *
 * The simulator's zone gets an operator's `www` A record and a record at
 * the name of a would-be tenant id. Creating tenants with that slug or id
 * is 409 naming the field and the record, nothing is recorded, and the
 * records keep their values through the refused creates and through the
 * creation and deletion of other tenants. A reserved label (here from the
 * config file: dns.reserved_labels replaces the built-in list) is 400
 * naming the field; a label of the built-in list that the config no longer
 * reserves is accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "edvd_harness.h"

#define ZONE "projects/edv-sim/managedZones/edvirons-com"

/* The rrset (name, A) in the simulator's state must hold exactly `ip`. */
static void expect_a(const char *name, const char *ip)
{
  char path[400];
  resp *r;
  json_object *items, *rd = NULL;

  snprintf(path, sizeof(path), "/_sim/state?prefix=" ZONE "/rrsets/%s/A", name);
  r = http("GET", sim_base, path, NULL, NULL, NULL);
  items = json_object_object_get(r->json, "resources");
  if (items && json_object_array_length(items) == 1)
    rd = json_object_object_get(
        json_object_object_get(json_object_array_get_idx(items, 0), "resource"),
        "rrdatas");
  if (!rd || json_object_array_length(rd) != 1 ||
      strcmp(json_object_get_string(json_object_array_get_idx(rd, 0)), ip) != 0)
    fail_msg("%s A is not [%s]: %.1000s", name, ip, r->body);
  resp_free(r);
}

/* A create refused with `status`, naming `field`, its message holding
 * every one of `needles` (NULL-ended); nothing recorded. */
static void refused(const char *id, const char *slug, long status,
                    const char *field, const char *const *needles)
{
  char b[512], path[128];
  resp *r;
  const char *msg;

  r = call("POST", "/api/tenants", "/api/tenants", tok_op,
           spec(b, sizeof(b), id, slug, "A School", "basic"), NULL, status);
  assert_string_equal(jstr(r->json, "error.field"), field);
  msg = jstr(r->json, "error.message");
  for (int i = 0; needles[i]; i++)
    if (!msg || !strstr(msg, needles[i]))
      fail_msg("message without '%s': %s", needles[i], r->body);
  resp_free(r);
  snprintf(path, sizeof(path), "/api/tenants/%s", id);
  resp_free(call("GET", path, "/api/tenants/{id}", tok_view, NULL, NULL, 404));
}

static void test_dns_names(void **state)
{
  char b[512];

  (void)state;
  sim_make_a(ZONE, "www.edvirons.com.", "198.51.100.80");
  sim_make_a(ZONE, "dnsb1.edvirons.com.", "198.51.100.81");

  /* Taken names: 409, the field and the record named. */
  refused("dnsa1", "www", 409, "slug",
          (const char *const[]){"www.edvirons.com.", "198.51.100.80",
                                "did not create", NULL});
  refused("dnsb1", "dnsb1-alias", 409, "id",
          (const char *const[]){"dnsb1.edvirons.com.", "198.51.100.81", NULL});
  /* Reserved by the config file (which replaced the built-in list). */
  refused("dnsc1", "intranet", 400, "slug",
          (const char *const[]){"'intranet'", "reserved", NULL});
  refused("extranet", "dnsc2", 400, "id",
          (const char *const[]){"'extranet'", "reserved", NULL});

  /* "mail" is in the built-in list, not in this config's: accepted. Two
   * tenants made and deleted beside the foreign records. */
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "dnsok1", "mail", "Mail School", "basic"),
                 NULL, 202));
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "dnsok2", "dnsok2", "Two", "basic"), NULL,
                 202));
  wait_phase("dnsok1", "READY", 120);
  wait_phase("dnsok2", "READY", 120);
  /* The same spec again: its own records do not make it refused. */
  resp_free(call("POST", "/api/tenants", "/api/tenants", tok_op,
                 spec(b, sizeof(b), "dnsok1", "mail", "Mail School", "basic"),
                 NULL, 202));
  resp_free(call("DELETE", "/api/tenants/dnsok1?now=true", "/api/tenants/{id}",
                 tok_op, NULL, NULL, 202));
  resp_free(call("DELETE", "/api/tenants/dnsok2?now=true", "/api/tenants/{id}",
                 tok_op, NULL, NULL, 202));
  wait_phase("dnsok1", "DELETED", 120);
  wait_phase("dnsok2", "DELETED", 120);
  expect_a("www.edvirons.com.", "198.51.100.80");
  expect_a("dnsb1.edvirons.com.", "198.51.100.81");
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dns_names),
  };

  return EH_MAIN("edvd-dns", tests, NULL,
                 "dns.reserved_labels = www2, intranet,extranet\n");
}
