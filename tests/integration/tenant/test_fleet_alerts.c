/*
 * test_fleet_alerts.c - where the fleet's alerts go (alerts.email,
 * alerts.webhook; docs/operations.md, "Alerts"), on the in-process
 * simulator through the public fleet API:
 *   - the platform makes one notification channel per configured target,
 *     labelled ours, and every one of the five alert policies names
 *     exactly those, with a severity and documentation saying what to do;
 *   - a channel someone else made is never touched;
 *   - with the configuration changed (a target dropped, another added),
 *     the next platform run patches every policy to the new set and
 *     deletes the channels no longer configured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edv/fleet.h"
#include "pharness.h"

static ph H;

/* The platform, run by a public fleet whose configuration sends alerts to
 * `emails` and `hooks`. */
static void platform_with(const char *emails, const char *hooks)
{
  edv_config *cfg = edv_config_new();
  edv_fleet *f;
  edv_error err;
  char tf[600];
  const char *src = getenv("EDV_SOURCE_ROOT");

  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  assert_int_equal(edv_config_set(cfg, "tiers_file", tf, &err), 0);
  assert_int_equal(edv_config_set(cfg, "alerts.email", emails, &err), 0);
  assert_int_equal(edv_config_set(cfg, "alerts.webhook", hooks, &err), 0);
  f = ph_fleet_open(&H, NULL, cfg, "alerts-test");
  ph_platform(&H, f);
  ph_fleet_close(&H, f);
  edv_config_free(cfg);
}

static json_object *list(const char *coll)
{
  char path[200];

  snprintf(path, sizeof(path), "/v3/projects/edv-sim/%s?pageSize=1000", coll);
  return ph_api(&H, EDV_API_MONITORING, "GET", path, NULL);
}

static int ours(json_object *o)
{
  json_object *l = json_object_object_get(o, "userLabels"), *m;

  return l && json_object_object_get_ex(l, "edv-managed", &m) &&
         strcmp(json_object_get_string(m), "true") == 0;
}

/* Our channels' addresses, sorted, joined by spaces; their names in
 * `names` (same order is not needed: a set). */
static void our_channels(char *addrs, size_t size, json_object *names)
{
  json_object *l = list("notificationChannels");
  json_object *arr = json_object_object_get(l, "notificationChannels");
  char *v[16];
  size_t n = 0, off = 0;

  for (size_t i = 0; i < json_object_array_length(arr) && n < 16; i++) {
    json_object *c = json_object_array_get_idx(arr, i), *lab;
    const char *t = json_object_get_string(json_object_object_get(c, "type"));
    if (!ours(c))
      continue;
    lab = json_object_object_get(c, "labels");
    v[n++] = strdup(json_object_get_string(json_object_object_get(
        lab, strcmp(t, "email") == 0 ? "email_address" : "url")));
    json_object_array_add(names,
                          json_object_get(json_object_object_get(c, "name")));
  }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
      char *t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  addrs[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    off +=
        (size_t)snprintf(addrs + off, size - off, "%s%s", i ? " " : "", v[i]);
    free(v[i]);
  }
  json_object_put(l);
}

/* Every policy of ours names exactly `names`, has a severity and says what
 * to do; 5 of them. */
static void assert_policies(json_object *names)
{
  json_object *l = list("alertPolicies");
  json_object *arr = json_object_object_get(l, "alertPolicies");
  unsigned mine = 0;

  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *p = json_object_array_get_idx(arr, i);
    json_object *ch = json_object_object_get(p, "notificationChannels");
    const char *sev =
        json_object_get_string(json_object_object_get(p, "severity"));
    const char *doc = json_object_get_string(json_object_object_get(
        json_object_object_get(p, "documentation"), "content"));
    if (!ours(p))
      continue;
    mine++;
    assert_non_null(sev);
    assert_true(strcmp(sev, "CRITICAL") == 0 || strcmp(sev, "ERROR") == 0 ||
                strcmp(sev, "WARNING") == 0);
    assert_non_null(doc);
    assert_true(strlen(doc) > 60);
    if (json_object_array_length(ch) != json_object_array_length(names))
      fail_msg("policy %s names %s, want %s",
               json_object_get_string(json_object_object_get(p, "displayName")),
               json_object_to_json_string(ch),
               json_object_to_json_string(names));
    for (size_t k = 0; k < json_object_array_length(ch); k++) {
      int found = 0;
      for (size_t m = 0; m < json_object_array_length(names); m++)
        found |=
            strcmp(json_object_get_string(json_object_array_get_idx(ch, k)),
                   json_object_get_string(
                       json_object_array_get_idx(names, m))) == 0;
      assert_true(found);
    }
  }
  assert_int_equal(mine, 5);
  json_object_put(l);
}

static void test_channels(void **state)
{
  json_object *body = json_object_new_object(), *lab = json_object_new_object();
  json_object *names, *foreign, *l;
  char addrs[1024], foreign_name[200];

  (void)state;
  /* Someone else's channel: never touched. */
  json_object_object_add(body, "type", json_object_new_string("email"));
  json_object_object_add(lab, "email_address",
                         json_object_new_string("ceo@school.example"));
  json_object_object_add(body, "labels", lab);
  foreign = ph_api(&H, EDV_API_MONITORING, "POST",
                   "/v3/projects/edv-sim/notificationChannels", body);
  assert_non_null(foreign);
  snprintf(foreign_name, sizeof(foreign_name), "%s",
           json_object_get_string(json_object_object_get(foreign, "name")));
  json_object_put(foreign);

  platform_with("ops@school.example,oncall@school.example",
                "https://hooks.example/edv");
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(
      addrs,
      "https://hooks.example/edv oncall@school.example ops@school.example");
  assert_policies(names);
  json_object_put(names);

  /* Run again unchanged: nothing written. */
  {
    unsigned long before = ph_mutations(&H);
    assert_true(before > 0); /* the count sees the platform's writes */
    platform_with("ops@school.example,oncall@school.example",
                  "https://hooks.example/edv");
    assert_int_equal(ph_mutations(&H), before);
  }

  /* One address dropped, the webhook dropped, another address added. */
  platform_with("ops@school.example,dean@school.example", "none");
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(addrs, "dean@school.example ops@school.example");
  assert_policies(names);
  json_object_put(names);

  /* The foreign channel is still there, unchanged. */
  {
    char path[260];
    snprintf(path, sizeof(path), "/v3/%s", foreign_name);
    l = ph_api(&H, EDV_API_MONITORING, "GET", path, NULL);
    assert_non_null(l);
    assert_string_equal(
        json_object_get_string(json_object_object_get(
            json_object_object_get(l, "labels"), "email_address")),
        "ceo@school.example");
    json_object_put(l);
  }

  /* No target at all: policies name none, our channels are gone. */
  platform_with("none", "none");
  names = json_object_new_array();
  our_channels(addrs, sizeof(addrs), names);
  assert_string_equal(addrs, "");
  assert_policies(names);
  json_object_put(names);
}

static int setup(void **state)
{
  (void)state;
  ph_open(&H);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ph_close(&H);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_channels),
  };

  return cmocka_run_group_tests_name("fleet-alerts", tests, setup, teardown);
}
