/*
 * test_page.c - pageToken query building and aggregatedList walking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/transport.h"

static void check_url(const char *path, const char *value, const char *want)
{
  char *got = edv__url_with_param(path, "pageToken", value);

  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_query_building(void **state)
{
  (void)state;
  check_url("/compute/v1/projects/p/global/networks", "abc",
            "/compute/v1/projects/p/global/networks?pageToken=abc");
  check_url("/a?maxResults=10", "abc", "/a?maxResults=10&pageToken=abc");
  check_url("/a?filter=name%20eq%20x&maxResults=2", "t",
            "/a?filter=name%20eq%20x&maxResults=2&pageToken=t");
  check_url("/a?", "t", "/a?pageToken=t");
  check_url("/a?x=1&", "t", "/a?x=1&pageToken=t");
  /* Opaque tokens are percent-encoded. */
  check_url("/a", "Cg+x/y==", "/a?pageToken=Cg%2Bx%2Fy%3D%3D");
  check_url("/a", "a b&c", "/a?pageToken=a%20b%26c");
  check_url("/a", "-_.~", "/a?pageToken=-_.~");
  check_url("https://h/x?y=1", "z", "https://h/x?y=1&pageToken=z");
}

typedef struct seen {
  char names[16][32];
  char scopes[16][40];
  int n;
  int stop_at;
} seen;

static int collect(void *data, const char *scope, json_object *item)
{
  seen *s = data;
  json_object *name;

  json_object_object_get_ex(item, "name", &name);
  snprintf(s->names[s->n], sizeof(s->names[0]), "%s",
           json_object_get_string(name));
  snprintf(s->scopes[s->n], sizeof(s->scopes[0]), "%s", scope);
  s->n++;
  return s->n == s->stop_at ? 7 : 0;
}

static const char agg_page[] =
    "{\"kind\":\"compute#instanceAggregatedList\",\"items\":{"
    "\"zones/us-central1-a\":{\"instances\":[{\"name\":\"edv-1-vm\"},"
    "{\"name\":\"edv-2-vm\"}]},"
    "\"zones/us-central1-b\":{\"warning\":{\"code\":\"NO_RESULTS_ON_PAGE\","
    "\"message\":\"There are no results for scope 'zones/us-central1-b' on "
    "this page.\",\"data\":[{\"key\":\"scope\",\"value\":"
    "\"zones/us-central1-b\"}]}},"
    "\"zones/europe-west4-a\":{\"instances\":[{\"name\":\"edv-3-vm\"}]}},"
    "\"nextPageToken\":\"n\"}";

static void test_aggregated_foreach(void **state)
{
  json_object *page = json_tokener_parse(agg_page);
  seen s = {.stop_at = -1};

  (void)state;
  assert_int_equal(edv__aggregated_foreach(page, "instances", collect, &s), 0);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.names[0], "edv-1-vm");
  assert_string_equal(s.scopes[0], "zones/us-central1-a");
  assert_string_equal(s.names[2], "edv-3-vm");
  assert_string_equal(s.scopes[2], "zones/europe-west4-a");
  /* A non-zero return stops the walk and is passed back. */
  memset(&s, 0, sizeof(s));
  s.stop_at = 2;
  assert_int_equal(edv__aggregated_foreach(page, "instances", collect, &s), 7);
  assert_int_equal(s.n, 2);
  /* Other kinds, or pages without items, yield nothing. */
  memset(&s, 0, sizeof(s));
  assert_int_equal(edv__aggregated_foreach(page, "disks", collect, &s), 0);
  assert_int_equal(s.n, 0);
  assert_int_equal(edv__aggregated_foreach(NULL, "disks", collect, &s), 0);
  json_object_put(page);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query_building),
      cmocka_unit_test(test_aggregated_foreach),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
