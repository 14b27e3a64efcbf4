/*
 * test_jwt.c - RS256 assertions and self-signed JWTs, verified with OpenSSL
 * against the public half of a key generated here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/internal.h"
#include "testutil.h"

#define EMAIL "sa@proj.iam.gserviceaccount.com"
#define NOW   1700000000

static void load(edv__creds *c, const char *kid, const char *token_uri)
{
  char *json = tu_sa_json(tu_rsa_pem(), kid, EMAIL, token_uri, "p");
  edv_error err;

  assert_int_equal(edv__keyfile_parse("t.json", json, strlen(json), c, &err),
                   0);
  free(json);
}

static const char *get_s(json_object *o, const char *k)
{
  json_object *v;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t get_i(json_object *o, const char *k)
{
  json_object *v;
  assert_true(json_object_object_get_ex(o, k, &v));
  assert_true(json_object_is_type(v, json_type_int));
  return json_object_get_int64(v);
}

static void test_assertion(void **state)
{
  edv__creds c;
  edv_error err;
  json_object *h, *cl;
  char *jwt;

  (void)state;
  load(&c, "kid-123", NULL);
  jwt = edv__jwt_assertion(&c, NULL, NULL, NOW, &err);
  assert_non_null(jwt);
  assert_int_equal(tu_jwt_verify(jwt, tu_rsa_key(), &h, &cl), 0);
  assert_string_equal(get_s(h, "alg"), "RS256");
  assert_string_equal(get_s(h, "typ"), "JWT");
  assert_string_equal(get_s(h, "kid"), "kid-123");
  assert_string_equal(get_s(cl, "iss"), EMAIL);
  assert_string_equal(get_s(cl, "scope"),
                      "https://www.googleapis.com/auth/cloud-platform");
  assert_string_equal(get_s(cl, "aud"), "https://oauth2.googleapis.com/token");
  assert_int_equal(get_i(cl, "iat"), NOW);
  assert_int_equal(get_i(cl, "exp"), NOW + 3600);
  assert_null(get_s(cl, "sub"));
  json_object_put(h);
  json_object_put(cl);
  /* A tampered token does not verify. */
  jwt[strlen(jwt) - 3] = jwt[strlen(jwt) - 3] == 'A' ? 'B' : 'A';
  assert_int_equal(tu_jwt_verify(jwt, tu_rsa_key(), &h, &cl), -1);
  json_object_put(h);
  json_object_put(cl);
  edv__secret_free(jwt);
  edv__creds_clear(&c);
}

static void test_assertion_options(void **state)
{
  edv__creds c;
  edv_error err;
  json_object *h, *cl;
  char *jwt;

  (void)state;
  load(&c, NULL, "http://127.0.0.1:9/token");
  jwt = edv__jwt_assertion(&c, "a b", "user@example.org", NOW, &err);
  assert_non_null(jwt);
  assert_int_equal(tu_jwt_verify(jwt, tu_rsa_key(), &h, &cl), 0);
  assert_null(get_s(h, "kid")); /* no private_key_id: no kid */
  assert_string_equal(get_s(cl, "aud"), "http://127.0.0.1:9/token");
  assert_string_equal(get_s(cl, "scope"), "a b");
  assert_string_equal(get_s(cl, "sub"), "user@example.org");
  json_object_put(h);
  json_object_put(cl);
  edv__secret_free(jwt);
  edv__creds_clear(&c);
}

static void test_self_signed(void **state)
{
  edv__creds c;
  edv_error err;
  json_object *h, *cl;
  char *jwt;

  (void)state;
  load(&c, "kid-9", NULL);
  jwt = edv__jwt_self_signed(&c, NULL, NOW, &err);
  assert_non_null(jwt);
  assert_int_equal(tu_jwt_verify(jwt, tu_rsa_key(), &h, &cl), 0);
  assert_string_equal(get_s(h, "kid"), "kid-9");
  assert_string_equal(get_s(cl, "iss"), EMAIL);
  assert_string_equal(get_s(cl, "sub"), EMAIL);
  assert_string_equal(get_s(cl, "scope"),
                      "https://www.googleapis.com/auth/cloud-platform");
  assert_null(get_s(cl, "aud")); /* scope or aud, never both */
  assert_int_equal(get_i(cl, "exp") - get_i(cl, "iat"), 3600);
  json_object_put(h);
  json_object_put(cl);
  edv__secret_free(jwt);
  edv__creds_clear(&c);
}

static void test_sign_errors(void **state)
{
  edv__creds c;
  edv_error err;
  char *jwt;

  (void)state;
  memset(&c, 0, sizeof(c));
  c.kind = EDV_CRED_AUTHORIZED_USER;
  assert_null(edv__jwt_assertion(&c, NULL, NULL, NOW, &err));
  assert_int_equal(err.code, EDV_EINVAL);
  /* A key libjwt cannot sign with: ECRED, nothing of the key in it. */
  load(&c, "k", NULL);
  memcpy(c.private_key + 40, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 40);
  c.private_key_len = 200; /* truncated PEM */
  jwt = edv__jwt_assertion(&c, NULL, NULL, NOW, &err);
  assert_null(jwt);
  assert_int_equal(err.code, EDV_ECRED);
  assert_non_null(strstr(err.where, "private_key"));
  assert_null(strstr(err.message, "AAAAAAAA"));
  edv__creds_clear(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_assertion),
      cmocka_unit_test(test_assertion_options),
      cmocka_unit_test(test_self_signed),
      cmocka_unit_test(test_sign_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
