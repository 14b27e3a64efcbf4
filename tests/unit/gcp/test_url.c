/*
 * test_url.c - requestId format, percent-encoding, path and query building,
 * self-link parsing and API inference (src/gcp/url.c, request_id.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gcp/gcp.h"

static int is_hex(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_request_id_format(void **state)
{
  char id[EDV__REQUEST_ID_LEN + 1], prev[EDV__REQUEST_ID_LEN + 1];
  int i, k;

  (void)state;
  prev[0] = '\0';
  for (k = 0; k < 200; k++) {
    assert_int_equal(edv__request_id(id), 0);
    assert_int_equal(strlen(id), EDV__REQUEST_ID_LEN);
    for (i = 0; i < EDV__REQUEST_ID_LEN; i++) {
      if (i == 8 || i == 13 || i == 18 || i == 23)
        assert_int_equal(id[i], '-');
      else
        assert_true(is_hex(id[i]));
    }
    assert_int_equal(id[14], '4');           /* version 4 */
    assert_non_null(strchr("89ab", id[19])); /* RFC 4122 variant */
    assert_string_not_equal(id, "00000000-0000-0000-0000-000000000000");
    assert_string_not_equal(id, prev); /* random, not a counter */
    strcpy(prev, id);
  }
  assert_int_equal(edv__request_id(NULL), -1);
}

static void test_escape(void **state)
{
  char *s;

  (void)state;
  s = edv__url_escape("edv-t1_a.b~c");
  assert_string_equal(s, "edv-t1_a.b~c");
  free(s);
  s = edv__url_escape("a b/c?d#e&f=g%h+\xc3\xa9");
  assert_string_equal(s, "a%20b%2Fc%3Fd%23e%26f%3Dg%25h%2B%C3%A9");
  free(s);
  s = edv__url_escape("");
  assert_string_equal(s, "");
  free(s);
  assert_null(edv__url_escape(NULL));
}

static void test_pathf(void **state)
{
  char *s;

  (void)state;
  s = edv__url_pathf("/compute/v1/projects/%s/zones/%s/instances/%s", "p-1",
                     "us-central1-a", "vm/../x");
  assert_string_equal(s, "/compute/v1/projects/p-1/zones/us-central1-a/"
                         "instances/vm%2F..%2Fx");
  free(s);
  s = edv__url_pathf("/v1/%S:cancel?x=100%%", "projects/p/operations/o");
  assert_string_equal(s, "/v1/projects/p/operations/o:cancel?x=100%");
  free(s);
  s = edv__url_pathf("/no/args");
  assert_string_equal(s, "/no/args");
  free(s);
  /* NULL arguments and unsupported conversions are refused. */
  assert_null(edv__url_pathf("/a/%s/b", NULL));
  assert_null(edv__url_pathf("/a/%d", 3));
  assert_null(edv__url_pathf("/a/%"));
}

static void test_append_query(void **state)
{
  char *url;

  (void)state;
  url = strdup("/compute/v1/projects/p/global/networks");
  url = edv__url_append_query(url, "requestId", "1234");
  assert_string_equal(url, "/compute/v1/projects/p/global/networks"
                           "?requestId=1234");
  url = edv__url_append_query(url, "filter", "name eq \"edv-.*\"");
  assert_string_equal(url, "/compute/v1/projects/p/global/networks"
                           "?requestId=1234&filter=name%20eq%20%22edv-.%2A%22");
  url = edv__url_append_query(url, "pageToken", "a+b/c=");
  assert_non_null(strstr(url, "&pageToken=a%2Bb%2Fc%3D"));
  /* A NULL value appends nothing. */
  url = edv__url_append_query(url, "x", NULL);
  assert_null(strstr(url, "&x"));
  free(url);
  assert_null(edv__url_append_query(NULL, "k", "v"));
}

static void test_path_and_segments(void **state)
{
  char buf[64];
  const char *self =
      "https://www.googleapis.com/compute/v1/projects/p1/zones/"
      "europe-west1-b/operations/operation-1728938708258-62475e98b4d71";

  (void)state;
  assert_string_equal(edv__url_path(self),
                      "/compute/v1/projects/p1/zones/europe-west1-b/"
                      "operations/operation-1728938708258-62475e98b4d71");
  assert_string_equal(edv__url_path("http://127.0.0.1:8080/sql/v1beta4/x?y"),
                      "/sql/v1beta4/x?y");
  assert_string_equal(edv__url_path("http://127.0.0.1:8080"), "/");
  assert_string_equal(edv__url_path("/a/b"), "/a/b");
  assert_null(edv__url_path("a/b"));
  assert_null(edv__url_path("//host/a"));
  assert_null(edv__url_path(NULL));

  assert_string_equal(edv__url_last_segment(self, buf, sizeof(buf)),
                      "operation-1728938708258-62475e98b4d71");
  assert_string_equal(edv__url_last_segment("a/b/c/?q=1", buf, sizeof(buf)),
                      "c");
  assert_string_equal(edv__url_last_segment("plain", buf, sizeof(buf)),
                      "plain");
  assert_null(edv__url_last_segment("a/b/", buf, 1)); /* does not fit */
  assert_null(edv__url_last_segment("", buf, sizeof(buf)));

  assert_string_equal(
      edv__url_segment_after(self, "projects", buf, sizeof(buf)), "p1");
  assert_string_equal(edv__url_segment_after(self, "zones", buf, sizeof(buf)),
                      "europe-west1-b");
  assert_null(edv__url_segment_after(self, "regions", buf, sizeof(buf)));
  assert_null(edv__url_segment_after("a/zones", "zones", buf, sizeof(buf)));
  assert_null(edv__url_segment_after("a?zones/x", "zones", buf, sizeof(buf)));

  assert_string_equal(edv__zone_from_url("https://www.googleapis.com/compute/"
                                         "v1/projects/p/zones/us-east1-c",
                                         buf, sizeof(buf)),
                      "us-east1-c");
  assert_string_equal(edv__zone_from_url("us-east1-c", buf, sizeof(buf)),
                      "us-east1-c");
  assert_string_equal(
      edv__region_from_url("projects/p/regions/us-east1", buf, sizeof(buf)),
      "us-east1");
}

static void test_api_inference(void **state)
{
  (void)state;
  assert_int_equal(edv__api_from_url("/compute/v1/projects/p/global/networks"),
                   EDV_API_COMPUTE);
  assert_int_equal(edv__api_from_url("/sql/v1beta4/projects/p/instances"),
                   EDV_API_SQLADMIN);
  assert_int_equal(edv__api_from_url("/dns/v1/projects/p/managedZones"),
                   EDV_API_DNS);
  assert_int_equal(edv__api_from_url("/v3/projects/p/alertPolicies"),
                   EDV_API_MONITORING);
  assert_int_equal(
      edv__api_from_url("/v1/projects/p/locations/global/certificates"),
      EDV_API_CERTIFICATEMANAGER);
  assert_int_equal(edv__api_from_url("/v1/projects/p/secrets/s"),
                   EDV_API_SECRETMANAGER);
  assert_int_equal(edv__api_from_url("/v1/projects/p/serviceAccounts"),
                   EDV_API_IAM);
  assert_int_equal(edv__api_from_url("/v1/projects/p/instances/db"),
                   EDV_API_SQLADMIN);
  assert_int_equal(edv__api_from_url("/v1/projects/p/operations/o"),
                   EDV_API_SQLADMIN);
  assert_int_equal(edv__api_from_url("/v1/services/servicenetworking."
                                     "googleapis.com/connections"),
                   EDV_API_SERVICENETWORKING);
  assert_int_equal(edv__api_from_url("/v1/operations/pssn.p24-1"),
                   EDV_API_SERVICENETWORKING);
  assert_int_equal(edv__api_from_url("https://dns.googleapis.com/dns/v1/x"),
                   EDV_API_DNS);
  assert_int_equal(edv__api_from_url("https://sqladmin.googleapis.com/v1/"
                                     "projects/p/instances"),
                   EDV_API_SQLADMIN);
  assert_int_equal(edv__api_from_url("https://www.googleapis.com/compute/v1/"
                                     "projects/p"),
                   EDV_API_COMPUTE);
  assert_int_equal(edv__api_from_url("http://127.0.0.1:9/dns/v1/projects/p"),
                   EDV_API_DNS);
  /* Prefixes match whole segments only. */
  assert_int_equal(edv__api_from_url("/computer/v1"), EDV_API_OTHER);
  assert_int_equal(edv__api_from_url("/v1/projects/p/other"), EDV_API_OTHER);
  assert_int_equal(edv__api_from_url("/nothing"), EDV_API_OTHER);
  assert_int_equal(edv__api_from_url(NULL), EDV_API_OTHER);

  assert_int_equal(edv__api_from_name("certificatemanager"),
                   EDV_API_CERTIFICATEMANAGER);
  assert_int_equal(edv__api_from_name("sqladmin"), EDV_API_SQLADMIN);
  assert_int_equal(edv__api_from_name("bogus"), EDV_API__COUNT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_id_format),
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_pathf),
      cmocka_unit_test(test_append_query),
      cmocka_unit_test(test_path_and_segments),
      cmocka_unit_test(test_api_inference),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
