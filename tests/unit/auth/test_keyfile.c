/*
 * test_keyfile.c - credentials files: parsing, validation, errors that name
 * the file and field and never carry key material, permission warnings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "auth/internal.h"
#include "testutil.h"

#define EMAIL "sa@proj.iam.gserviceaccount.com"

static char *dir;

static int setup(void **state)
{
  (void)state;
  dir = tu_tmpdir();
  return dir ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  tu_rmrf(dir);
  free(dir);
  return 0;
}

/* The error names `field` and `path` and holds no key material. */
static void assert_field_error(const edv_error *err, const char *path,
                               const char *field)
{
  char buf[1024];

  edv_error_format(err, buf, sizeof(buf));
  assert_int_equal(err->code, EDV_ECRED);
  assert_non_null(strstr(err->message, path));
  assert_non_null(strstr(err->message, field));
  assert_null(strstr(buf, "PRIVATE KEY"));
  assert_null(strstr(buf, "MII"));
}

static void test_service_account_ok(void **state)
{
  char *json = tu_sa_json(tu_rsa_pem(), "kid-1", EMAIL, NULL, "proj");
  char *path = tu_write(dir, "sa.json", json, 0600);
  edv__creds c;
  edv_error err;

  (void)state;
  assert_int_equal(edv__keyfile_load(path, &c, &err), 0);
  assert_int_equal(c.kind, EDV_CRED_SERVICE_ACCOUNT);
  assert_string_equal(c.client_email, EMAIL);
  assert_string_equal(c.private_key_id, "kid-1");
  assert_string_equal(c.token_uri, "https://oauth2.googleapis.com/token");
  assert_string_equal(c.project_id, "proj");
  assert_string_equal(c.path, path);
  assert_string_equal(c.private_key, tu_rsa_pem());
  edv__creds_clear(&c);
  assert_null(c.private_key);
  free(json);
  free(path);
}

static void test_service_account_optional_fields(void **state)
{
  char *json =
      tu_sa_json(tu_rsa_pem(), NULL, EMAIL, "http://127.0.0.1:1/token", NULL);
  edv__creds c;
  edv_error err;

  (void)state;
  assert_int_equal(edv__keyfile_parse("mem.json", json, strlen(json), &c, &err),
                   0);
  assert_null(c.private_key_id);
  assert_null(c.project_id);
  assert_string_equal(c.token_uri, "http://127.0.0.1:1/token");
  edv__creds_clear(&c);
  free(json);
}

static void test_missing_required(void **state)
{
  const char *json = "{\"type\":\"service_account\",\"private_key\":\"x\"}";
  edv__creds c;
  edv_error err;

  (void)state;
  assert_int_equal(edv__keyfile_parse("k.json", json, strlen(json), &c, &err),
                   EDV_ECRED);
  assert_field_error(&err, "k.json", "client_email");
  assert_string_equal(err.where, "k.json: client_email");
  json = "{\"type\":\"service_account\",\"client_email\":\"a@b\"}";
  assert_int_equal(edv__keyfile_parse("k.json", json, strlen(json), &c, &err),
                   EDV_ECRED);
  assert_field_error(&err, "k.json", "private_key");
}

static void test_not_a_string(void **state)
{
  static const char *const fields[] = {"client_email", "private_key",
                                       "private_key_id", "token_uri"};
  size_t i;

  (void)state;
  for (i = 0; i < 4; i++) {
    char *base = tu_sa_json(tu_rsa_pem(), "k", EMAIL, NULL, NULL);
    json_object *o = json_tokener_parse(base);
    char *s;
    edv__creds c;
    edv_error err;

    json_object_object_add(o, fields[i], json_object_new_int(42));
    s = strdup(json_object_to_json_string(o));
    assert_int_equal(edv__keyfile_parse("k.json", s, strlen(s), &c, &err),
                     EDV_ECRED);
    assert_field_error(&err, "k.json", fields[i]);
    assert_non_null(strstr(err.message, "must be a string"));
    json_object_put(o);
    free(s);
    free(base);
  }
}

static void test_bad_pem(void **state)
{
  /* A truncated key body; the header is split so that no tracked file
   * looks like it holds a private key. */
  char *json = tu_sa_json("-----BEGIN "
                          "PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG"
                          "9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
                          "k", EMAIL, NULL, NULL);
  char *path = tu_write(dir, "bad.json", json, 0600);
  edv__creds c;
  edv_error err;

  (void)state;
  assert_int_equal(edv__keyfile_load(path, &c, &err), EDV_ECRED);
  assert_field_error(&err, path, "private_key");
  assert_null(strstr(err.message, "MIIEvQ"));
  free(json);
  free(path);
}

static void test_non_rsa_key(void **state)
{
  EVP_PKEY *ec = EVP_EC_gen("P-256");
  BIO *bio = BIO_new(BIO_s_mem());
  char *pem, *json, *p;
  long n;
  edv__creds c;
  edv_error err;

  (void)state;
  PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL);
  n = BIO_get_mem_data(bio, &p);
  pem = strndup(p, (size_t)n);
  json = tu_sa_json(pem, "k", EMAIL, NULL, NULL);
  assert_int_equal(edv__keyfile_parse("ec.json", json, strlen(json), &c, &err),
                   EDV_ECRED);
  assert_field_error(&err, "ec.json", "private_key");
  assert_non_null(strstr(err.message, "not an RSA"));
  free(json);
  free(pem);
  BIO_free(bio);
  EVP_PKEY_free(ec);
}

static void test_not_json(void **state)
{
  static const char *const bad[] = {"", "not json", "[1,2]",
                                    "{\"type\":", "{} trailing"};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    edv__creds c;
    edv_error err;
    assert_int_equal(
        edv__keyfile_parse("nj.json", bad[i], strlen(bad[i]), &c, &err),
        EDV_ECRED);
    assert_non_null(strstr(err.message, "nj.json"));
  }
}

static void test_types(void **state)
{
  const char *ext = "{\"type\":\"external_account\",\"audience\":\"x\"}";
  const char *other = "{\"type\":\"impersonated_service_account\"}";
  const char *none = "{\"client_email\":\"a@b\"}";
  edv__creds c;
  edv_error err;

  (void)state;
  assert_int_equal(edv__keyfile_parse("e.json", ext, strlen(ext), &c, &err),
                   EDV_ECRED);
  assert_non_null(strstr(err.message, "external_account"));
  assert_non_null(strstr(err.message, "not supported"));
  assert_int_equal(edv__keyfile_parse("o.json", other, strlen(other), &c, &err),
                   EDV_ECRED);
  assert_non_null(strstr(err.message, "unsupported"));
  assert_int_equal(edv__keyfile_parse("n.json", none, strlen(none), &c, &err),
                   EDV_ECRED);
  assert_field_error(&err, "n.json", "type");
}

static void test_authorized_user(void **state)
{
  const char *ok = "{\"type\":\"authorized_user\",\"client_id\":\"cid\","
                   "\"client_secret\":\"csecret-123456\","
                   "\"refresh_token\":\"1//rtoken-abcdef\","
                   "\"quota_project_id\":\"qp\"}";
  const char *bad = "{\"type\":\"authorized_user\",\"client_id\":\"cid\","
                    "\"client_secret\":\"csecret-123456\"}";
  edv__creds c;
  edv_error err;
  char buf[1024];

  (void)state;
  assert_int_equal(edv__keyfile_parse("u.json", ok, strlen(ok), &c, &err), 0);
  assert_int_equal(c.kind, EDV_CRED_AUTHORIZED_USER);
  assert_string_equal(c.client_id, "cid");
  assert_string_equal(c.client_secret, "csecret-123456");
  assert_string_equal(c.refresh_token, "1//rtoken-abcdef");
  assert_string_equal(c.token_uri, "https://oauth2.googleapis.com/token");
  assert_null(c.project_id);
  edv__creds_clear(&c);
  assert_int_equal(edv__keyfile_parse("u.json", bad, strlen(bad), &c, &err),
                   EDV_ECRED);
  assert_field_error(&err, "u.json", "refresh_token");
  edv_error_format(&err, buf, sizeof(buf));
  assert_null(strstr(buf, "csecret"));
}

static void test_permissions_warning(void **state)
{
  char *json = tu_sa_json(tu_rsa_pem(), "k", EMAIL, NULL, NULL);
  char *open_path = tu_write(dir, "open.json", json, 0644);
  char *tight_path = tu_write(dir, "tight.json", json, 0600);
  edv_error err;

  (void)state;
  tu_log_start();
  assert_int_equal(edv_keyfile_check(tight_path, &err), 0);
  assert_null(strstr(tu_log_text(), "chmod"));
  assert_int_equal(edv_keyfile_check(open_path, &err), 0);
  assert_non_null(strstr(tu_log_text(), "warn"));
  assert_non_null(strstr(tu_log_text(), "open.json"));
  assert_non_null(strstr(tu_log_text(), "chmod 600"));
  assert_null(strstr(tu_log_text(), "PRIVATE KEY"));
  tu_log_stop();
  free(json);
  free(open_path);
  free(tight_path);
}

static void test_missing_file(void **state)
{
  edv_error err;
  char path[600];

  (void)state;
  snprintf(path, sizeof(path), "%s/nope.json", dir);
  assert_int_equal(edv_keyfile_check(path, &err), EDV_ECRED);
  assert_non_null(strstr(err.message, "nope.json"));
  assert_int_equal(edv_keyfile_check(dir, &err), EDV_ECRED); /* a dir */
  snprintf(path, sizeof(path), "%s/fifo.json", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(edv_keyfile_check(path, &err), EDV_ECRED); /* no hang */
  assert_int_equal(edv_keyfile_check(NULL, &err), EDV_EINVAL);
}

static void test_inspect(void **state)
{
  char *json = tu_sa_json(tu_rsa_pem(), "kid-9", EMAIL, NULL, "p1");
  char *path = tu_write(dir, "i.json", json, 0600);
  edv_keyfile_info info;
  edv_error err;

  (void)state;
  assert_int_equal(edv_keyfile_inspect(path, &info, &err), 0);
  assert_int_equal(info.kind, EDV_CRED_SERVICE_ACCOUNT);
  assert_string_equal(info.client_email, EMAIL);
  assert_string_equal(info.private_key_id, "kid-9");
  assert_string_equal(info.project_id, "p1");
  assert_string_equal(info.token_uri, "https://oauth2.googleapis.com/token");
  assert_string_equal(edv_cred_kind_name(info.kind), "service_account");
  free(json);
  free(path);
}

static void test_redact(void **state)
{
  char msg[128] = "echo: SECRETVALUE123 and SECRETVALUE123!";

  (void)state;
  edv__redact(msg, "SECRETVALUE123");
  assert_null(strstr(msg, "SECRETVALUE123"));
  assert_non_null(strstr(msg, "[REDACTED]"));
  edv__redact(msg, "short"); /* too short to matter: untouched */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_service_account_ok),
      cmocka_unit_test(test_service_account_optional_fields),
      cmocka_unit_test(test_missing_required),
      cmocka_unit_test(test_not_a_string),
      cmocka_unit_test(test_bad_pem),
      cmocka_unit_test(test_non_rsa_key),
      cmocka_unit_test(test_not_json),
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_authorized_user),
      cmocka_unit_test(test_permissions_warning),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_inspect),
      cmocka_unit_test(test_redact),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
