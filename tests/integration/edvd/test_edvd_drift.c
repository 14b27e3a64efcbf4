/*
 * test_edvd_drift.c - edvd's drift detection and orphan handling, end to
 * end: the built edvd (argv[1]) with --sim, tokens from the built edvctl
 * (argv[2]). The timers are off (server.reconcile_interval_s,
 * server.drift_interval_s and server.health_interval_s = 0): every pass is
 * one POST /api/infrastructure/reconcile, and the test waits for it.
 *
 * - A deleted VM, firewall rule and DNS record, a changed machine type and
 *   changed Cloud SQL settings, firewall rule and A record (the steps' own
 *   diffs: tier, public IP, backup start time, source ranges, the A
 *   record's value) are put back by the next pass, and each drifted item
 *   is journalled.
 * - A subnetwork without private Google access, a tenant's host rule taken
 *   out of the URL map and a certificate map entry serving another
 *   certificate (changed through the simulator's API, as an outside client
 *   would) are put back by the next pass and journalled; a subnetwork, a
 *   host rule and a certificate map entry without our marks are left alone.
 * - A drift that comes back is driven again only after the back-off, and
 *   journalled once.
 * - Resources of ours for an unknown tenant are reported as orphans
 *   (status, metrics), left alone, then deleted once
 *   server.delete_orphans is set (SIGHUP); resources without our marks
 *   are never touched.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"

/* Tenants of this program: id, slug (an alias, so each has 4 records). */
static const char *const ids[] = {"dr01", "dr02", "dr03", "dr04"};
static const char *const slugs[] = {"riverside", "lakeside", "hilltop",
                                    "meadow"};
static const char *const tiers[] = {"basic", "premium", "basic", "standard"};

static json_object *reconciler(resp **r)
{
  *r = call("GET", "/api/infrastructure/status", "/api/infrastructure/status",
            tok_view, NULL, NULL, 200);
  return json_object_object_get((*r)->json, "reconciler");
}

static long rc_int(const char *key)
{
  resp *r;
  long v = json_object_get_int64(json_object_object_get(reconciler(&r), key));

  resp_free(r);
  return v;
}

/* One drift pass: POST reconcile, then wait until it has been judged. */
static void drift_pass(void)
{
  long before = rc_int("drift_passes");

  resp_free(call("POST", "/api/infrastructure/reconcile",
                 "/api/infrastructure/reconcile", tok_admin, NULL, NULL, 202));
  for (int i = 0; i < 300; i++) {
    if (rc_int("drift_passes") > before)
      return;
    sleep_ms(100);
  }
  fail_msg("no drift pass judged within 30 s");
}

/* Waits for no run in flight (the repairs a pass started). */
static void wait_idle(int secs)
{
  for (int i = 0; i < secs * 10; i++) {
    resp *r = call("GET", "/api/infrastructure/status",
                   "/api/infrastructure/status", tok_view, NULL, NULL, 200);
    int idle = json_object_get_int(
                   json_object_object_get(r->json, "runs_in_flight")) == 0;
    resp_free(r);
    if (idle)
      return;
    sleep_ms(100);
  }
  fail_msg("runs still in flight after %d s", secs);
}

/* How many journal entries of `id` contain `needle`. */
static int events_with(const char *id, const char *needle)
{
  char path[200];
  resp *r;
  json_object *ev;
  int n = 0;

  snprintf(path, sizeof(path), "/api/tenants/%s/events?limit=1000", id);
  r = call("GET", path, "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  ev = json_object_object_get(r->json, "events");
  for (size_t i = 0; ev && i < json_object_array_length(ev); i++)
    if (strstr(json_object_to_json_string(json_object_array_get_idx(ev, i)),
               needle))
      n++;
  resp_free(r);
  return n;
}

/* How many journal entries of `id` are `event`. */
static int events_of(const char *id, const char *event)
{
  char path[200];
  resp *r;
  json_object *ev;
  int n = 0;

  snprintf(path, sizeof(path), "/api/tenants/%s/events?limit=1000", id);
  r = call("GET", path, "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
  ev = json_object_object_get(r->json, "events");
  for (size_t i = 0; ev && i < json_object_array_length(ev); i++) {
    const char *e = jstr(json_object_array_get_idx(ev, i), "event");
    if (e && strcmp(e, event) == 0)
      n++;
  }
  resp_free(r);
  return n;
}

/* The simulator's resources of one kind (borrowed from *r). */
static json_object *sim_kind(resp **r, const char *kind)
{
  char path[200];

  snprintf(path, sizeof(path), "/_sim/state?kind=%s", kind);
  *r = http("GET", sim_base, path, NULL, NULL, NULL);
  assert_int_equal((*r)->status, 200);
  return json_object_object_get((*r)->json, "resources");
}

/* The resource (its "resource" object, a new reference) whose store name
 * contains `needle`, of `kind`; NULL when none. */
static json_object *sim_res(const char *kind, const char *needle, char *name,
                            size_t size)
{
  resp *r;
  json_object *items = sim_kind(&r, kind), *found = NULL;

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *n = jstr(it, "name");
    if (n && strstr(n, needle)) {
      found = json_object_get(json_object_object_get(it, "resource"));
      if (name)
        snprintf(name, size, "%s", n);
      break;
    }
  }
  resp_free(r);
  return found;
}

static const char *machine_type(const char *vm, char *buf, size_t size)
{
  json_object *o = sim_res("compute%23instance", vm, NULL, 0);
  const char *mt = o ? jstr(o, "machineType") : NULL;

  snprintf(buf, size, "%s",
           mt ? (strrchr(mt, '/') ? strrchr(mt, '/') + 1 : mt) : "?");
  json_object_put(o);
  return buf;
}

/* The time the backups of tenant id's Cloud SQL instance start. */
static const char *sql_start_time(const char *id)
{
  static char buf[32];
  char needle[64];
  json_object *o;
  const char *v;

  snprintf(needle, sizeof(needle), "/instances/edv-%s-db", id);
  o = sim_res("sql%23instance", needle, NULL, 0);
  v = o ? jstr(o, "settings.backupConfiguration.startTime") : NULL;
  snprintf(buf, sizeof(buf), "%s", v ? v : "?");
  json_object_put(o);
  return buf;
}

/* 1 when dr04's load balancer rule admits Google's ranges only. */
static int dr04_fw_ok(void)
{
  json_object *o =
      sim_res("compute%23firewall", "/firewalls/edv-dr04-allow-lb", NULL, 0);
  json_object *src = o ? json_object_object_get(o, "sourceRanges") : NULL;
  int ok = src && json_object_array_length(src) == 2 &&
           !strstr(json_object_to_json_string(src), "0.0.0.0/0");

  json_object_put(o);
  return ok;
}

/* 1 when dr03's A record points at the load balancer's address. */
static int dr03_a_ok(void)
{
  json_object *a =
      sim_res("compute%23address", "/addresses/edv-lb-ip", NULL, 0);
  json_object *rr =
      sim_res("dns%23resourceRecordSet", "/rrsets/dr03.", NULL, 0);
  json_object *rd = rr ? json_object_object_get(rr, "rrdatas") : NULL;
  int ok = a && rd && json_object_array_length(rd) == 1 &&
           strcmp(json_object_get_string(json_object_array_get_idx(rd, 0)),
                  jstr(a, "address")) == 0;

  json_object_put(a);
  json_object_put(rr);
  return ok;
}

static int all_ready(char *why, size_t size)
{
  char mt[64];

  for (size_t i = 0; i < 3; i++) {
    if (strcmp(phase_of(ids[i]), "READY") != 0) {
      snprintf(why, size, "%s is %s", ids[i], phase_of(ids[i]));
      return 0;
    }
    if (footprint_ok(ids[i], slugs[i], why, size) != 0)
      return 0;
  }
  if (strcmp(machine_type("edv-dr03-vm", mt, sizeof(mt)), "e2-small") != 0) {
    snprintf(why, size, "edv-dr03-vm is %s, want e2-small", mt);
    return 0;
  }
  {
    json_object *o =
        sim_res("sql%23instance", "/instances/edv-dr01-db", NULL, 0);
    const char *t = o ? jstr(o, "settings.tier") : NULL;
    const char *ip4 =
        o ? jstr(o, "settings.ipConfiguration.ipv4Enabled") : NULL;
    int bad = !t || strcmp(t, "db-f1-micro") != 0 ||
              (ip4 && strcmp(ip4, "false") != 0);
    if (bad)
      snprintf(why, size, "edv-dr01-db: tier %s, ipv4Enabled %s", t ? t : "?",
               ip4 ? ip4 : "(unset)");
    json_object_put(o);
    if (bad)
      return 0;
  }
  if (!dr03_a_ok()) {
    snprintf(why, size, "dr03's A record does not point at the LB");
    return 0;
  }
  return 1;
}

static void wait_all_ready(int secs)
{
  char why[1024] = "";

  for (int i = 0; i < secs * 10; i++) {
    if (all_ready(why, sizeof(why)))
      return;
    sleep_ms(100);
  }
  fail_msg("fleet not restored after %d s: %s", secs, why);
}

static void test_create(void **state)
{
  char body[400];

  (void)state;
  for (size_t i = 0; i < 4; i++)
    resp_free(call(
        "POST", "/api/tenants", "/api/tenants", tok_op,
        spec(body, sizeof(body), ids[i], slugs[i], "Drift School", tiers[i]),
        NULL, 202));
  for (size_t i = 0; i < 4; i++)
    wait_phase(ids[i], "READY", 120);
  wait_idle(30);
  wait_all_ready(10);
}

/* A clean fleet: a pass finds nothing, and costs one page per kind. */
static void test_clean_pass(void **state)
{
  resp *r;
  json_object *rc, *by;

  (void)state;
  drift_pass();
  rc = reconciler(&r);
  assert_int_equal(
      json_object_array_length(json_object_object_get(rc, "drift_unresolved")),
      0);
  assert_int_equal(
      json_object_array_length(json_object_object_get(rc, "orphans")), 0);
  /* What the pass judges, from the kinds' rows: each kind's title and
   * what its diff compares (the VM's display name among them). */
  {
    const char *dd =
        json_object_get_string(json_object_object_get(rc, "drift_detection"));
    assert_non_null(dd);
    assert_non_null(strstr(dd, "VM (existence, machine type, running, "
                               "display name"));
    assert_non_null(strstr(dd, "DNS records (existence, A at the load "
                               "balancer, challenge CNAME)"));
  }
  by = json_object_object_get(rc, "drift_last_calls_by_kind");
  assert_int_equal(json_object_object_length(by), 10);
  json_object_object_foreach(by, kind, n)
  {
    if (json_object_get_int(n) != 1)
      fail_msg("kind %s: %d page(s), want 1", kind, json_object_get_int(n));
  }
  assert_int_equal(
      json_object_get_int(json_object_object_get(rc, "drift_last_calls")), 10);
  resp_free(r);
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(events_of(ids[i], "drift"), 0);
}

/* Delete a VM, a firewall rule and a DNS record, change a machine type:
 * the next pass restores them all and journals each item. */
static void test_drift_repair(void **state)
{
  char name[600], path[700], why[1024];
  json_object *o;
  int ok = 0;

  (void)state;
  /* dr01: its VM. */
  assert_int_equal(sim_find("/instances/edv-dr01-vm", name, sizeof(name)), 0);
  snprintf(path, sizeof(path), "/compute/v1/%s", name);
  assert_int_equal(sim_api("DELETE", path), 0);
  /* dr01: its Cloud SQL instance's tier and public IP. */
  o = sim_res("sql%23instance", "/instances/edv-dr01-db", name, sizeof(name));
  assert_non_null(o);
  json_object_put(o);
  snprintf(path, sizeof(path), "/sql/v1beta4/%s", name);
  assert_int_equal(sim_api_data("PATCH", path,
                                "{\"settings\":{\"tier\":\"db-g1-small\","
                                "\"ipConfiguration\":{\"ipv4Enabled\":true}}}"),
                   0);
  /* dr02: one firewall rule and its alias's A record. */
  o = sim_res("compute%23firewall", "/firewalls/edv-dr02-", name, sizeof(name));
  assert_non_null(o);
  json_object_put(o);
  snprintf(path, sizeof(path), "/compute/v1/%s", name);
  assert_int_equal(sim_api("DELETE", path), 0);
  o = sim_res("dns%23resourceRecordSet", "/rrsets/lakeside.", name,
              sizeof(name));
  assert_non_null(o);
  json_object_put(o);
  assert_non_null(strstr(name, "/A"));
  snprintf(path, sizeof(path), "/dns/v1/%s", name);
  assert_int_equal(sim_api("DELETE", path), 0);
  assert_null(sim_res("dns%23resourceRecordSet", "/rrsets/lakeside.", NULL, 0));
  /* dr01: its alias's challenge CNAME; dr03: its A record elsewhere. */
  o = sim_res("dns%23resourceRecordSet", "/rrsets/_acme-challenge.riverside.",
              name, sizeof(name));
  assert_non_null(o);
  json_object_put(o);
  snprintf(path, sizeof(path), "/dns/v1/%s", name);
  assert_int_equal(sim_api("DELETE", path), 0);
  o = sim_res("dns%23resourceRecordSet", "/rrsets/dr03.", name, sizeof(name));
  assert_non_null(o);
  json_object_put(o);
  assert_non_null(strstr(name, "/A"));
  snprintf(path, sizeof(path), "/dns/v1/%s", name);
  assert_int_equal(
      sim_api_data("PATCH", path, "{\"rrdatas\":[\"203.0.113.7\"]}"), 0);
  assert_false(dr03_a_ok());
  /* dr04: the time its backups start (nothing else: the rest of its
   * backup configuration is sent back as it is). */
  o = sim_res("sql%23instance", "/instances/edv-dr04-db", name, sizeof(name));
  assert_non_null(o);
  {
    json_object *bk = json_object_object_get(
        json_object_object_get(o, "settings"), "backupConfiguration");
    char body[1200];
    assert_non_null(bk);
    json_object_object_add(bk, "startTime", json_object_new_string("23:00"));
    snprintf(body, sizeof(body), "{\"settings\":{\"backupConfiguration\":%s}}",
             json_object_to_json_string(bk));
    snprintf(path, sizeof(path), "/sql/v1beta4/%s", name);
    assert_int_equal(sim_api_data("PATCH", path, body), 0);
  }
  json_object_put(o);
  assert_string_equal(sql_start_time("dr04"), "23:00");
  /* dr04: its load balancer rule widened to the world. */
  assert_int_equal(sim_api_data("PATCH",
                                "/compute/v1/projects/edv-sim/global/firewalls/"
                                "edv-dr04-allow-lb",
                                "{\"sourceRanges\":[\"0.0.0.0/0\"]}"),
                   0);
  assert_false(dr04_fw_ok());
  /* dr03: stop, another machine type, start. */
  assert_int_equal(sim_find("/instances/edv-dr03-vm", name, sizeof(name)), 0);
  snprintf(path, sizeof(path), "/compute/v1/%s/stop", name);
  assert_int_equal(sim_api("POST", path), 0);
  {
    char mt[300], body[400];
    const char *z = strstr(name, "/zones/");
    assert_non_null(z);
    snprintf(mt, sizeof(mt), "%.*s", (int)(strstr(z, "/instances/") - z - 1),
             z + 1);
    snprintf(body, sizeof(body), "{\"machineType\":\"%s/machineTypes/%s\"}", mt,
             "e2-medium");
    snprintf(path, sizeof(path), "/compute/v1/%s/setMachineType", name);
    assert_int_equal(sim_api_data("POST", path, body), 0);
  }
  snprintf(path, sizeof(path), "/compute/v1/%s/start", name);
  assert_int_equal(sim_api("POST", path), 0);
  assert_false(all_ready(why, sizeof(why)));

  drift_pass();
  for (int i = 0; i < 900 && !ok; i++) {
    ok = all_ready(why, sizeof(why));
    if (!ok)
      sleep_ms(100);
  }
  if (!ok)
    fail_msg("drift not repaired: %s", why);
  wait_idle(60);
  /* dr04's only drift: its backups start at another time. The pass sees
   * it (it judges with the step's own diff) and the step puts it back. */
  for (int i = 0; i < 300 && strcmp(sql_start_time("dr04"), "23:00") == 0; i++)
    sleep_ms(100);
  assert_string_not_equal(sql_start_time("dr04"), "23:00");
  for (int i = 0; i < 300 && !dr04_fw_ok(); i++)
    sleep_ms(100);
  assert_true(dr04_fw_ok());
  assert_int_equal(
      events_with("dr04", "firewall rule edv-dr04-allow-lb: ranges differ"), 1);
  if (events_with("dr04", "Cloud SQL instance edv-dr04-db-1: backup start "
                          "time 23:00 -> ") != 1) {
    resp *e = call("GET", "/api/tenants/dr04/events?limit=1000",
                   "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
    const char *d = strstr(e->body, "\"event\":\"drift\"");
    fail_msg("dr04's backup drift is not journalled once: %.600s",
             d ? d : "none");
  }
  assert_int_equal(events_with("dr01", "missing instance edv-dr01-vm"), 1);
  assert_int_equal(events_with("dr02", "missing firewall edv-dr02-"), 1);
  assert_int_equal(events_with("dr01", "Cloud SQL instance edv-dr01-db-1: tier "
                                       "db-g1-small -> db-f1-micro"),
                   1);
  assert_int_equal(events_with("dr01", "edv-dr01-db-1: public IP enabled -> "
                                       "private only"),
                   1);
  assert_int_equal(
      events_with("dr01",
                  "missing DNS record CNAME _acme-challenge.riverside."),
      1);
  /* Judged by the DNS records' diff, the comparison the DNS writer makes
   * (tenant/kinds.h): the value it holds and the one it should. */
  assert_int_equal(
      events_with("dr03", "DNS records dr03.edvirons.com.: A 203.0.113.7 -> "),
      1);
  assert_int_equal(events_with("dr02", "missing DNS record A lakeside."), 1);
  if (events_with("dr03", "VM edv-dr03-vm: machine type e2-medium -> "
                          "e2-small") != 1) {
    resp *e = call("GET", "/api/tenants/dr03/events?limit=1000",
                   "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
    fail_msg("dr03's machine type drift is not journalled once: %.3000s",
             e->body);
  }
  assert_true(rc_int("drift_repairs") >= 3);
  /* The next pass finds the fleet as it should be. */
  drift_pass();
  {
    resp *r;
    json_object *rc = reconciler(&r);
    assert_int_equal(json_object_array_length(
                         json_object_object_get(rc, "drift_unresolved")),
                     0);
    resp_free(r);
  }
  /* One entry per drifted item, none from the clean pass. */
  assert_int_equal(events_of("dr03", "drift"), 2);
  assert_int_equal(events_of("dr01", "drift"), 4);
}

/* A drift seen again on the next pass is not driven again at once: the
 * tenant waits out its back-off (2 passes) and is journalled once. */
static void test_backoff(void **state)
{
  char name[600], path[700], why[1024];
  resp *r;
  json_object *rc, *un;
  long repairs;

  (void)state;
  assert_int_equal(
      sim_find("/firewalls/edv-dr01-allow-lb", name, sizeof(name)) == 0 ||
          sim_find("/firewalls/edv-dr01-deny-ingress", name, sizeof(name)) == 0,
      1);
  snprintf(path, sizeof(path), "/compute/v1/%s", name);
  assert_int_equal(sim_api("DELETE", path), 0);
  drift_pass(); /* pass n: journalled, driven */
  wait_all_ready(60);
  wait_idle(60);
  assert_int_equal(events_with("dr01", "missing firewall"), 1);
  repairs = rc_int("drift_repairs");
  /* The same drift again before any pass saw it fixed. */
  assert_int_equal(sim_api("DELETE", path), 0);
  drift_pass(); /* pass n+1: within the back-off: left alone */
  sleep_ms(1500);
  assert_int_equal(rc_int("drift_repairs"), repairs);
  assert_int_equal(footprint_ok("dr01", "riverside", why, sizeof(why)) == 0, 0);
  rc = reconciler(&r);
  un = json_object_object_get(rc, "drift_unresolved");
  assert_int_equal(json_object_array_length(un), 1);
  assert_string_equal(jstr(json_object_array_get_idx(un, 0), "tenant"), "dr01");
  assert_int_equal(json_object_get_int(json_object_object_get(
                       json_object_array_get_idx(un, 0), "skipped_passes")),
                   1);
  resp_free(r);
  drift_pass(); /* pass n+2: the back-off is over: driven, not journalled */
  wait_all_ready(60);
  wait_idle(60);
  assert_int_equal(rc_int("drift_repairs"), repairs + 1);
  assert_int_equal(events_with("dr01", "missing firewall"), 1);
  drift_pass(); /* resolved: the entry goes */
  rc = reconciler(&r);
  assert_int_equal(
      json_object_array_length(json_object_object_get(rc, "drift_unresolved")),
      0);
  resp_free(r);
}

/* 1 when the URL map has a host rule to path matcher `pm`. */
static int urlmap_has_rule(const char *pm)
{
  json_object *m = sim_resource("/urlMaps/edv-urlmap");
  json_object *rules = m ? json_object_object_get(m, "hostRules") : NULL;
  int found = 0;

  for (size_t i = 0; rules && i < json_object_array_length(rules); i++) {
    const char *p = jstr(json_object_array_get_idx(rules, i), "pathMatcher");
    found |= p && strcmp(p, pm) == 0;
  }
  json_object_put(m);
  return found;
}

/* The certificate the entry whose name ends in `suffix` serves ("" when
 * none or several). */
static const char *entry_cert(const char *suffix)
{
  static char buf[300];
  json_object *e = sim_resource(suffix);
  json_object *c = e ? json_object_object_get(e, "certificates") : NULL;

  snprintf(buf, sizeof(buf), "%s",
           c && json_object_array_length(c) == 1
               ? json_object_get_string(json_object_array_get_idx(c, 0))
               : "");
  json_object_put(e);
  return buf;
}

/* 1 when the subnetwork whose name ends in `suffix` has private Google
 * access on. */
static int subnet_private_access(const char *suffix)
{
  json_object *o = sim_resource(suffix);
  int on = o && json_object_get_boolean(
                    json_object_object_get(o, "privateIpGoogleAccess"));

  json_object_put(o);
  return on;
}

static int edge_repaired(void)
{
  return subnet_private_access("/subnetworks/edv-dr02") &&
         urlmap_has_rule("edv-dr03") &&
         strstr(entry_cert("/certificateMapEntries/edv-dr01-entry"),
                "/certificates/edv-dr01-cert") != NULL;
}

/* Subnetwork, URL map host rule and certificate map entry: changed behind
 * the orchestrator's back, put back by the next pass; foreign ones (no
 * marks of ours) are left as they are. */
static void test_edge_drift(void **state)
{
  char name[600], path[700], body[4000], net[400];
  json_object *m, *rules, *pms, *o;
  const char *be = NULL;

  (void)state;
  /* dr02: private Google access off. */
  assert_int_equal(sim_find("/subnetworks/edv-dr02", name, sizeof(name)), 0);
  snprintf(path, sizeof(path), "/compute/v1/%s/setPrivateIpGoogleAccess", name);
  assert_int_equal(
      sim_api_data("POST", path, "{\"privateIpGoogleAccess\":false}"), 0);
  assert_false(subnet_private_access("/subnetworks/edv-dr02"));
  /* dr01: its entry serves dr02's certificate. */
  assert_int_equal(
      sim_find("/certificateMapEntries/edv-dr01-entry", name, sizeof(name)), 0);
  snprintf(path, sizeof(path), "/v1/%s?updateMask=certificates", name);
  assert_int_equal(
      sim_api_data("PATCH", path,
                   "{\"certificates\":[\"projects/edv-sim/locations/global/"
                   "certificates/edv-dr02-cert\"]}"),
      0);
  assert_non_null(strstr(entry_cert("/certificateMapEntries/edv-dr01-entry"),
                         "edv-dr02-cert"));
  /* dr03: its host rule out of the URL map; a foreign host rule in. */
  m = sim_resource("/urlMaps/edv-urlmap");
  assert_non_null(m);
  rules = json_object_new_array();
  o = json_object_object_get(m, "hostRules");
  for (size_t i = 0; o && i < json_object_array_length(o); i++) {
    json_object *r = json_object_array_get_idx(o, i);
    if (strcmp(jstr(r, "pathMatcher"), "edv-dr03") != 0)
      json_object_array_add(rules, json_object_get(r));
  }
  pms = json_object_object_get(m, "pathMatchers");
  for (size_t i = 0; pms && i < json_object_array_length(pms); i++)
    if (strcmp(jstr(json_object_array_get_idx(pms, i), "name"), "edv-dr01") ==
        0)
      be = jstr(json_object_array_get_idx(pms, i), "defaultService");
  assert_non_null(be);
  o = json_object_new_object();
  json_object_object_add(o, "hosts", json_object_new_array());
  json_object_array_add(json_object_object_get(o, "hosts"),
                        json_object_new_string("foreign.example.org"));
  json_object_object_add(o, "pathMatcher", json_object_new_string("foreign"));
  json_object_array_add(rules, o);
  o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string("foreign"));
  json_object_object_add(o, "defaultService", json_object_new_string(be));
  json_object_array_add(pms, o);
  json_object_object_add(m, "hostRules", rules);
  assert_true(strlen(json_object_to_json_string(m)) < sizeof(body));
  snprintf(body, sizeof(body), "%s", json_object_to_json_string(m));
  json_object_put(m);
  assert_int_equal(
      sim_api_data("PUT",
                   "/compute/v1/projects/edv-sim/global/urlMaps/edv-urlmap",
                   body),
      0);
  assert_false(urlmap_has_rule("edv-dr03"));
  assert_true(urlmap_has_rule("foreign"));
  /* Foreign: a subnetwork with our prefix and no marker, an entry with
   * someone else's labels. */
  o = sim_res("compute%23network", "/networks/", net, sizeof(net));
  assert_non_null(o);
  json_object_put(o);
  snprintf(body, sizeof(body),
           "{\"name\":\"edv-foreign-sub\",\"network\":\"%s\","
           "\"description\":\"made by hand\",\"ipCidrRange\":"
           "\"192.168.250.0/24\",\"privateIpGoogleAccess\":false}",
           strstr(net, "projects/"));
  assert_int_equal(
      sim_api_data("POST",
                   "/compute/v1/projects/edv-sim/regions/us-central1/"
                   "subnetworks",
                   body),
      0);
  assert_int_equal(
      sim_api_data("POST",
                   "/v1/projects/edv-sim/locations/global/certificateMaps/"
                   "edv-certmap/certificateMapEntries?certificateMapEntryId="
                   "foreign-entry",
                   "{\"labels\":{\"edv-tenant\":\"ghost\"},\"hostname\":"
                   "\"foreign.example.org\",\"certificates\":[\"projects/"
                   "edv-sim/locations/global/certificates/edv-dr02-cert\"]}"),
      0);
  assert_false(edge_repaired());

  drift_pass();
  for (int i = 0; i < 600 && !edge_repaired(); i++)
    sleep_ms(100);
  if (!edge_repaired()) {
    resp *e = call("GET", "/api/tenants/dr02/events?limit=1000",
                   "/api/tenants/{id}/events", tok_view, NULL, NULL, 200);
    fail_msg("not repaired: subnet %d, host rule %d, entry %s; dr02: %.3000s",
             subnet_private_access("/subnetworks/edv-dr02"),
             urlmap_has_rule("edv-dr03"),
             entry_cert("/certificateMapEntries/edv-dr01-entry"),
             e->body + (strlen(e->body) > 3000 ? strlen(e->body) - 3000 : 0));
  }
  assert_true(subnet_private_access("/subnetworks/edv-dr02"));
  assert_true(urlmap_has_rule("edv-dr03"));
  assert_non_null(strstr(entry_cert("/certificateMapEntries/edv-dr01-entry"),
                         "/certificates/edv-dr01-cert"));
  wait_idle(60);
  assert_int_equal(
      events_with("dr02",
                  "subnetwork edv-dr02: private Google access off -> on"),
      1);
  assert_int_equal(
      events_with("dr03",
                  "host rule dr03.edvirons.com: no host rule for edv-dr03"),
      1);
  assert_int_equal(
      events_with("dr01", "certificate map entry edv-dr01-entry: certificates "
                          "differ"),
      1);
  /* The foreign ones as they were. */
  assert_true(urlmap_has_rule("foreign"));
  assert_false(subnet_private_access("/subnetworks/edv-foreign-sub"));
  assert_non_null(strstr(entry_cert("/certificateMapEntries/foreign-entry"),
                         "edv-dr02-cert"));
  /* Clean again, and nothing of these reported as an orphan. */
  drift_pass();
  {
    resp *r;
    json_object *rc = reconciler(&r);
    assert_int_equal(json_object_array_length(
                         json_object_object_get(rc, "drift_unresolved")),
                     0);
    assert_int_equal(
        json_object_array_length(json_object_object_get(rc, "orphans")), 0);
    resp_free(r);
  }
}

static int orphan_listed(json_object *orphans, const char *kind,
                         const char *name, const char *tenant)
{
  for (size_t i = 0; orphans && i < json_object_array_length(orphans); i++) {
    json_object *o = json_object_array_get_idx(orphans, i);
    if (strcmp(jstr(o, "kind"), kind) == 0 &&
        strcmp(jstr(o, "name"), name) == 0 &&
        strcmp(jstr(o, "tenant"), tenant) == 0)
      return 1;
  }
  return 0;
}

static int file_contains(const char *path, const char *needle)
{
  FILE *f = fopen(path, "r");
  char line[4096];
  int found = 0;

  if (!f)
    return 0;
  while (!found && fgets(line, sizeof(line), f))
    found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}

/* Appends a line to edvd's config and SIGHUPs it; waits for the reload
 * (seen as delete_orphans = want_delete in the status). */
static void conf_add(const char *line, int want_delete)
{
  char conf[320];
  FILE *f;

  snprintf(conf, sizeof(conf), "%s/edvd.conf", dir);
  f = fopen(conf, "a");
  assert_non_null(f);
  fputs(line, f);
  fclose(f);
  kill(edvd_pid, SIGHUP);
  sleep_ms(300);
  for (int i = 0; i < 100; i++) {
    resp *s;
    int on = json_object_get_boolean(
        json_object_object_get(reconciler(&s), "delete_orphans"));
    resp_free(s);
    if (on == want_delete)
      break;
    sleep_ms(100);
  }
}

/* Makes a firewall rule (marker for `tenant`, or none) in the network. */
static void make_rule(const char *net, const char *name, const char *tenant)
{
  char body[1200], desc[100];

  if (tenant)
    snprintf(desc, sizeof(desc), "edv-managed:tenant=%s", tenant);
  else
    snprintf(desc, sizeof(desc), "made by hand");
  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"network\":\"%s\",\"description\":\"%s\","
           "\"direction\":\"INGRESS\",\"priority\":1000,\"sourceRanges\":"
           "[\"35.191.0.0/16\"],\"allowed\":[{\"IPProtocol\":\"tcp\","
           "\"ports\":[\"80\"]}]}",
           name, strstr(net, "projects/"), desc);
  assert_int_equal(sim_api_data("POST",
                                "/compute/v1/projects/edv-sim/global/firewalls",
                                body),
                   0);
}

static void make_cert(const char *id, const char *labels)
{
  char path[300], body[600];

  snprintf(path, sizeof(path),
           "/v1/projects/edv-sim/locations/global/certificates?certificateId="
           "%s",
           id);
  snprintf(body, sizeof(body),
           "{\"labels\":%s,\"managed\":{\"domains\":[\"%s.example.org\"]}}",
           labels, id);
  assert_int_equal(sim_api_data("POST", path, body), 0);
}

/* Resources of ours for tenants that are not live: reported. Only those of
 * a tenant the store knows as DELETED are deleted, with
 * server.delete_orphans, after server.orphan_grace_s; those of a tenant it
 * does not know (a store restored from an older backup would not know
 * live tenants) and anything without our marks are never touched. */
static void test_orphans(void **state)
{
  char net[400], zone[400], path[700], audit[320], dns_dr04[300];
  char dns_ghost[300], lbip[64];
  json_object *o, *orphans;
  resp *r;

  (void)state;
  o = sim_res("compute%23network", "/networks/", net, sizeof(net));
  assert_non_null(o);
  json_object_put(o);
  o = sim_res("compute%23address", "/addresses/edv-lb-ip", NULL, 0);
  assert_non_null(o);
  assert_non_null(jstr(o, "address"));
  snprintf(lbip, sizeof(lbip), "%s", jstr(o, "address"));
  json_object_put(o);
  /* dr04: DELETED, nobody deleting it. */
  resp_free(call("DELETE", "/api/tenants/dr04?now=true", "/api/tenants/{id}",
                 tok_op, NULL, NULL, 202));
  wait_phase("dr04", "DELETED", 120);
  wait_idle(30);
  /* Ours for dr04: a firewall rule (prefix + marker), a certificate
   * (labels), the A record of dr04.<domain> at our load balancer. */
  make_rule(net, "edv-dr04-extra", "dr04");
  make_cert("edv-dr04-cert", "{\"edv-managed\":\"true\",\"edv-tenant\":"
                             "\"dr04\"}");
  /* A subnetwork (prefix + marker) and a certificate map entry (labels). */
  {
    char body[1000];
    snprintf(body, sizeof(body),
             "{\"name\":\"edv-dr04-extra\",\"network\":\"%s\","
             "\"description\":\"edv-managed:tenant=dr04\",\"ipCidrRange\":"
             "\"192.168.251.0/24\"}",
             strstr(net, "projects/"));
    assert_int_equal(sim_api_data("POST",
                                  "/compute/v1/projects/edv-sim/regions/"
                                  "us-central1/subnetworks",
                                  body),
                     0);
    assert_int_equal(
        sim_api_data("POST",
                     "/v1/projects/edv-sim/locations/global/certificateMaps/"
                     "edv-certmap/certificateMapEntries?certificateMapEntryId="
                     "edv-dr04-extra",
                     "{\"labels\":{\"edv-managed\":\"true\",\"edv-tenant\":"
                     "\"dr04\"},\"hostname\":\"dr04x.example.org\","
                     "\"certificates\":[\"projects/edv-sim/locations/global/"
                     "certificates/edv-dr01-cert\"]}"),
        0);
  }
  /* Ours for "ghost", a tenant the store never knew. */
  make_rule(net, "edv-ghost-allow-lb", "ghost");
  make_cert("edv-ghost-cert", "{\"edv-managed\":\"true\",\"edv-tenant\":"
                              "\"ghost\"}");
  /* Not ours: our prefix without the marker; someone else's labels. */
  make_rule(net, "edv-foreign-rule", NULL);
  make_cert("other-cert", "{\"edv-tenant\":\"ghost\"}");
  o = sim_res("dns%23managedZone", "/managedZones/", zone, sizeof(zone));
  assert_non_null(o);
  snprintf(dns_dr04, sizeof(dns_dr04), "dr04.%s", jstr(o, "dnsName"));
  snprintf(dns_ghost, sizeof(dns_ghost), "ghost.%s", jstr(o, "dnsName"));
  json_object_put(o);
  sim_make_a(zone, dns_dr04, lbip);
  sim_make_a(zone, dns_ghost, lbip); /* an operator's record at the LB */

  drift_pass();
  orphans = json_object_object_get(reconciler(&r), "orphans");
  if (json_object_array_length(orphans) != 7)
    fail_msg("orphans: %s", json_object_to_json_string(orphans));
  assert_true(orphan_listed(orphans, "subnet", "edv-dr04-extra", "dr04"));
  assert_true(
      orphan_listed(orphans, "cert_map_entry", "edv-dr04-extra", "dr04"));
  assert_true(orphan_listed(orphans, "certificate", "edv-dr04-cert", "dr04"));
  assert_true(orphan_listed(orphans, "firewall", "edv-dr04-extra", "dr04"));
  assert_true(orphan_listed(orphans, "dns_record", dns_dr04, "dr04"));
  assert_true(
      orphan_listed(orphans, "firewall", "edv-ghost-allow-lb", "ghost"));
  assert_true(orphan_listed(orphans, "certificate", "edv-ghost-cert", "ghost"));
  resp_free(r);
  r = call("GET", "/metrics", "/metrics", tok_view, NULL, NULL, 200);
  assert_non_null(strstr(r->body, "edv_orphans{kind=\"firewall\"} 2\n"));
  assert_non_null(strstr(r->body, "edv_orphans{kind=\"certificate\"} 2\n"));
  assert_non_null(strstr(r->body, "edv_orphans{kind=\"dns_record\"} 1\n"));
  assert_non_null(strstr(r->body, "edv_orphans{kind=\"instance\"} 0\n"));
  assert_non_null(strstr(r->body, "edv_orphans{kind=\"subnet\"} 1\n"));
  assert_non_null(strstr(r->body, "edv_orphans{kind=\"cert_map_entry\"} 1\n"));
  resp_free(r);

  /* server.delete_orphans = true: still nothing within the grace period
   * (server.orphan_grace_s, an hour by default). */
  conf_add("server.delete_orphans = true\n", 1);
  drift_pass();
  sleep_ms(1000);
  assert_int_equal(sim_find("/certificates/edv-dr04-cert", path, sizeof(path)),
                   0);
  assert_int_equal(rc_int("orphans_deleted"), 0);

  /* No grace: dr04's go; ghost's, the operator's and foreign ones stay. */
  conf_add("server.orphan_grace_s = 0\n", 1);
  drift_pass();
  for (int i = 0; i < 300; i++) {
    if (sim_find("/firewalls/edv-dr04-extra", path, sizeof(path)) != 0 &&
        sim_find("/certificates/edv-dr04-cert", path, sizeof(path)) != 0 &&
        sim_find("/subnetworks/edv-dr04-extra", path, sizeof(path)) != 0 &&
        sim_find("/certificateMapEntries/edv-dr04-extra", path, sizeof(path)) !=
            0 &&
        !sim_res("dns%23resourceRecordSet", "/rrsets/dr04.", NULL, 0))
      break;
    /* The reload of the grace cannot be seen in the status: a pass that
     * ran before it deleted nothing, so pass again now and then. */
    if (i % 20 == 19)
      drift_pass();
    sleep_ms(100);
  }
  assert_int_not_equal(
      sim_find("/firewalls/edv-dr04-extra", path, sizeof(path)), 0);
  assert_int_not_equal(
      sim_find("/certificates/edv-dr04-cert", path, sizeof(path)), 0);
  assert_null(sim_res("dns%23resourceRecordSet", "/rrsets/dr04.", NULL, 0));
  assert_int_not_equal(
      sim_find("/subnetworks/edv-dr04-extra", path, sizeof(path)), 0);
  assert_int_not_equal(
      sim_find("/certificateMapEntries/edv-dr04-extra", path, sizeof(path)), 0);
  assert_int_equal(sim_find("/subnetworks/edv-foreign-sub", path, sizeof(path)),
                   0);
  assert_int_equal(
      sim_find("/certificateMapEntries/foreign-entry", path, sizeof(path)), 0);
  assert_int_equal(
      sim_find("/firewalls/edv-ghost-allow-lb", path, sizeof(path)), 0);
  assert_int_equal(sim_find("/certificates/edv-ghost-cert", path, sizeof(path)),
                   0);
  o = sim_res("dns%23resourceRecordSet", "/rrsets/ghost.", NULL, 0);
  assert_non_null(o);
  json_object_put(o);
  assert_int_equal(sim_find("/firewalls/edv-foreign-rule", path, sizeof(path)),
                   0);
  assert_int_equal(sim_find("/certificates/other-cert", path, sizeof(path)), 0);
  wait_all_ready(10);
  /* Audit-logged and journalled under the owner's id. */
  snprintf(audit, sizeof(audit), "%s/audit.log", dir);
  assert_true(file_contains(audit, "global/firewalls/edv-dr04-extra"));
  assert_true(file_contains(audit, "\"who\":\"reconciler\""));
  for (int i = 0; i < 100 && rc_int("orphans_deleted") < 5; i++)
    sleep_ms(100);
  assert_int_equal(events_of("dr04", "orphan.delete"), 5);
  assert_true(events_with("dr04", "compute.subnetworks.delete"));
  assert_true(events_with("dr04", "certificatemanager.certificates.delete"));
  drift_pass();
  orphans = json_object_object_get(reconciler(&r), "orphans");
  if (json_object_array_length(orphans) != 2 ||
      json_object_get_int(json_object_object_get(
          json_object_object_get(r->json, "reconciler"), "orphans_deleted")) !=
          5)
    fail_msg("orphans after their deletion: %.2000s",
             json_object_to_json_string(
                 json_object_object_get(r->json, "reconciler")));
  resp_free(r);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create),       cmocka_unit_test(test_clean_pass),
      cmocka_unit_test(test_drift_repair), cmocka_unit_test(test_backoff),
      cmocka_unit_test(test_edge_drift),   cmocka_unit_test(test_orphans),
  };

  return EH_MAIN("edvd-drift", tests, NULL,
                 "server.reconcile_interval_s = 0\n"
                 "server.drift_interval_s = 0\n"
                 "server.health_interval_s = 0\n");
}
