/*
 * testutil.h - helpers for the auth tests: RSA keys and key files in a
 * temporary directory, JWT signature checks with OpenSSL, log capture.
 */
#ifndef EDV_TEST_AUTH_UTIL_H
#define EDV_TEST_AUTH_UTIL_H

#include <json-c/json.h>
#include <openssl/evp.h>

/* One 2048-bit RSA key per process (generating one takes a while). */
EVP_PKEY *tu_rsa_key(void);
/* Its private key as PKCS#8 PEM, like Google's key files (static). */
const char *tu_rsa_pem(void);

/* A fresh temporary directory (heap string); tu_rmrf() removes it. */
char *tu_tmpdir(void);
void tu_rmrf(const char *dir);

/* Writes dir/name with `mode`; returns the path (heap string). */
char *tu_write(const char *dir, const char *name, const char *content,
               int mode);

/* A service_account key file JSON (heap string). kid, token_uri and
 * project may be NULL (field left out). */
char *tu_sa_json(const char *pem, const char *kid, const char *email,
                 const char *token_uri, const char *project);

/*
 * Splits a compact JWT, checks its RS256 signature against `key` with
 * EVP_DigestVerify, and returns the parsed header and claims (put them).
 * Returns 0 when the signature verifies, -1 otherwise.
 */
int tu_jwt_verify(const char *jwt, EVP_PKEY *key, json_object **header,
                  json_object **claims);

/* URL-decodes a form field `name` out of a body (heap string or NULL). */
char *tu_form_get(const char *form, const char *name);

/* Captures every log line (any level) until tu_log_stop(). */
void tu_log_start(void);
void tu_log_stop(void);
/* All lines captured so far, '\n'-separated. */
const char *tu_log_text(void);

#endif /* EDV_TEST_AUTH_UTIL_H */
