/*
 * keyfile.c - credentials JSON files: read, parse, validate, wipe.
 *
 * Accepts the two file types ADC knows that we support: "service_account"
 * (a key created in IAM) and "authorized_user" (gcloud auth
 * application-default login). Validation follows google-cloud-cpp:
 * client_email and private_key are required, private_key_id is optional,
 * token_uri defaults to Google's, and any of them present with a non-string
 * value is refused. The private key must load with OpenSSL as an RSA key,
 * so a damaged key fails here, with the file and field named, rather than
 * at the first token exchange.
 *
 * Secrets are copied out of the JSON and the parser's buffers are wiped
 * before they are freed; error messages name fields, never values.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/internal.h"
#include "common/log.h"

#define KF_MAX_SIZE (1u << 20) /* a key file is ~2.3 KB */

void edv__secret_free(char *s)
{
  if (!s)
    return;
  OPENSSL_cleanse(s, strlen(s));
  free(s);
}

void edv__creds_clear(edv__creds *c)
{
  if (!c)
    return;
  free(c->path);
  free(c->client_email);
  if (c->private_key) {
    OPENSSL_cleanse(c->private_key, c->private_key_len);
    free(c->private_key);
  }
  free(c->private_key_id);
  free(c->token_uri);
  free(c->project_id);
  free(c->client_id);
  edv__secret_free(c->client_secret);
  edv__secret_free(c->refresh_token);
  free(c->metadata_root);
  free(c->tried);
  memset(c, 0, sizeof(*c));
}

const char *edv_cred_kind_name(edv_cred_kind kind)
{
  switch (kind) {
  case EDV_CRED_SERVICE_ACCOUNT:
    return "service_account";
  case EDV_CRED_AUTHORIZED_USER:
    return "authorized_user";
  case EDV_CRED_METADATA:
    return "metadata";
  case EDV_CRED_ACCESS_TOKEN_FILE:
    return "access_token_file";
  default:
    return "none";
  }
}

/* Sets *err to ECRED "key file 'P': field `F` WHAT" with where "P: F". */
static int kf_field_error(edv_error *err, const char *path, const char *field,
                          const char *what)
{
  edv_error_set(err, EDV_ECRED, "key file '%s': field `%s` %s", path, field,
                what);
  if (err)
    snprintf(err->where, sizeof(err->where), "%s: %s", path, field);
  return EDV_ECRED;
}

int edv__secret_file_read(const char *path, const char *what, char **out,
                          size_t *len, edv_error *err)
{
  struct stat st;
  char *buf;
  size_t got = 0;
  int fd, result;

  *out = NULL;
  /* O_NONBLOCK: a FIFO named as a key file must not hang the loop. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    result = edv_error_set(err, errno == ENOENT ? EDV_ECRED : EDV_EIO,
                           "%s '%s' cannot be opened: %s", what, path,
                           strerror(errno));
    goto fail;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size > KF_MAX_SIZE) {
    close(fd);
    result = edv_error_set(err, EDV_ECRED,
                           "%s '%s' is not a regular file of at most %u "
                           "bytes",
                           what, path, KF_MAX_SIZE);
    goto fail;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    EDV_LOG_W("auth",
              "%s '%s' is accessible by group or others (mode %03o); "
              "it holds secrets: chmod 600 it",
              what, path, (unsigned)(st.st_mode & 0777));
  buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    close(fd);
    return edv_error_set(err, EDV_ENOMEM, "out of memory reading %s", what);
  }
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (got < (size_t)st.st_size) {
    OPENSSL_cleanse(buf, got);
    free(buf);
    result = edv_error_set(err, EDV_EIO, "%s '%s' could not be read whole",
                           what, path);
    goto fail;
  }
  buf[got] = '\0';
  *out = buf;
  if (len)
    *len = got;
  return 0;
fail:
  if (err)
    snprintf(err->where, sizeof(err->where), "%s", path);
  return result;
}

/* Wipes every string value of a flat JSON object before it is freed:
 * json-c frees without clearing. */
static void kf_wipe_json(json_object *obj)
{
  if (!json_object_is_type(obj, json_type_object))
    return;
  json_object_object_foreach(obj, key, val)
  {
    (void)key;
    if (json_object_is_type(val, json_type_string)) {
      char *s = (char *)json_object_get_string(val);
      OPENSSL_cleanse(s, (size_t)json_object_get_string_len(val));
    }
  }
}

/*
 * Gets string field `name`: 0 and *out (NULL when absent and optional),
 * or an error when present but not a string, or absent but required.
 */
static int kf_string(json_object *obj, const char *path, const char *name,
                     int required, char **out, edv_error *err)
{
  json_object *v;

  *out = NULL;
  if (!json_object_object_get_ex(obj, name, &v) || !v)
    return required ? kf_field_error(err, path, name, "is missing") : 0;
  if (!json_object_is_type(v, json_type_string))
    return kf_field_error(err, path, name, "must be a string");
  if (required && json_object_get_string_len(v) == 0)
    return kf_field_error(err, path, name, "is empty");
  *out = strdup(json_object_get_string(v));
  if (!*out)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  return 0;
}

static int kf_no_password(char *buf, int size, int rwflag, void *u)
{
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return 0; /* encrypted keys are refused, never prompted for */
}

/* The PEM must be an RSA private key OpenSSL can load. */
static int kf_check_pem(const char *path, const char *pem, size_t len,
                        edv_error *err)
{
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  EVP_PKEY *pkey = NULL;
  int ok = 0;

  if (bio)
    pkey = PEM_read_bio_PrivateKey(bio, NULL, kf_no_password, NULL);
  if (pkey)
    ok = EVP_PKEY_is_a(pkey, "RSA");
  EVP_PKEY_free(pkey);
  BIO_free(bio);
  ERR_clear_error();
  if (ok)
    return 0;
  return kf_field_error(err, path, "private_key",
                        pkey ? "is not an RSA private key"
                             : "is not a PEM private key OpenSSL can load "
                               "(damaged, truncated or encrypted)");
}

static int kf_service_account(json_object *obj, const char *path, edv__creds *c,
                              edv_error *err)
{
  int result;

  c->kind = EDV_CRED_SERVICE_ACCOUNT;
  if ((result =
           kf_string(obj, path, "client_email", 1, &c->client_email, err)) ||
      (result = kf_string(obj, path, "private_key", 1, &c->private_key, err)) ||
      (result = kf_string(obj, path, "private_key_id", 0, &c->private_key_id,
                          err)) ||
      (result = kf_string(obj, path, "token_uri", 0, &c->token_uri, err)) ||
      (result = kf_string(obj, path, "project_id", 0, &c->project_id, err)))
    return result;
  c->private_key_len = strlen(c->private_key);
  if (c->private_key_id && !c->private_key_id[0]) {
    free(c->private_key_id);
    c->private_key_id = NULL;
  }
  if (!c->token_uri || !c->token_uri[0]) {
    free(c->token_uri);
    c->token_uri = strdup(EDV__AUTH_TOKEN_URI);
    if (!c->token_uri)
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  return kf_check_pem(path, c->private_key, c->private_key_len, err);
}

static int kf_authorized_user(json_object *obj, const char *path, edv__creds *c,
                              edv_error *err)
{
  int result;

  c->kind = EDV_CRED_AUTHORIZED_USER;
  if ((result = kf_string(obj, path, "client_id", 1, &c->client_id, err)) ||
      (result =
           kf_string(obj, path, "client_secret", 1, &c->client_secret, err)) ||
      (result =
           kf_string(obj, path, "refresh_token", 1, &c->refresh_token, err)) ||
      (result = kf_string(obj, path, "token_uri", 0, &c->token_uri, err)))
    return result;
  /* quota_project_id only bills quota; it is not the project we manage.
   * gcloud's file carries no token_uri; google-auth-python honours one when
   * present, else Google's endpoint. */
  if (!c->token_uri || !c->token_uri[0]) {
    free(c->token_uri);
    c->token_uri = strdup(EDV__AUTH_TOKEN_URI);
    if (!c->token_uri)
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  return 0;
}

static json_object *kf_parse_json(const char *text, size_t len)
{
  json_tokener *tok = json_tokener_new();
  json_object *obj;

  if (!tok)
    return NULL;
  obj = json_tokener_parse_ex(tok, text, (int)len);
  if (obj) {
    /* Anything but whitespace after the value: not one JSON document. */
    size_t end = json_tokener_get_parse_end(tok);
    while (end < len && text[end] && strchr(" \t\r\n", text[end]))
      end++;
    if (end < len) {
      kf_wipe_json(obj);
      json_object_put(obj);
      obj = NULL;
    }
  }
  /* The tokener's scratch buffer held the last strings parsed. The field
   * is deprecated for reading, but wiping it is the only way to clear it. */
  if (tok->pb && tok->pb->buf)
    OPENSSL_cleanse(tok->pb->buf, (size_t)tok->pb->size);
  json_tokener_free(tok);
  return obj;
}

int edv__keyfile_parse(const char *path, const char *text, size_t len,
                       edv__creds *out, edv_error *err)
{
  json_object *obj, *type;
  const char *t;
  int result;

  memset(out, 0, sizeof(*out));
  obj = kf_parse_json(text, len);
  if (!obj || !json_object_is_type(obj, json_type_object)) {
    if (obj) {
      kf_wipe_json(obj);
      json_object_put(obj);
    }
    edv_error_set(err, EDV_ECRED, "key file '%s' is not a JSON object", path);
    if (err)
      snprintf(err->where, sizeof(err->where), "%s", path);
    return EDV_ECRED;
  }
  if (!json_object_object_get_ex(obj, "type", &type) ||
      !json_object_is_type(type, json_type_string)) {
    result = kf_field_error(err, path, "type", "is missing or not a string");
    goto out;
  }
  t = json_object_get_string(type);
  if (strcmp(t, "service_account") == 0)
    result = kf_service_account(obj, path, out, err);
  else if (strcmp(t, "authorized_user") == 0)
    result = kf_authorized_user(obj, path, out, err);
  else if (strcmp(t, "external_account") == 0)
    result = kf_field_error(err, path, "type",
                            "\"external_account\" (workload identity "
                            "federation) is not supported; use a "
                            "service_account key or the metadata server");
  else
    result = kf_field_error(err, path, "type",
                            "names an unsupported credentials type (want "
                            "service_account or authorized_user)");
  if (result == 0) {
    out->path = strdup(path);
    if (!out->path)
      result = edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
out:
  kf_wipe_json(obj);
  json_object_put(obj);
  if (result)
    edv__creds_clear(out);
  return result;
}

int edv__keyfile_load(const char *path, edv__creds *out, edv_error *err)
{
  char *text;
  size_t len;
  int result;

  memset(out, 0, sizeof(*out));
  result = edv__secret_file_read(path, "key file", &text, &len, err);
  if (result)
    return result;
  result = edv__keyfile_parse(path, text, len, out, err);
  OPENSSL_cleanse(text, len);
  free(text);
  return result;
}

static void kf_copy(char *dst, size_t size, const char *src)
{
  snprintf(dst, size, "%s", src ? src : "");
}

int edv_keyfile_inspect(const char *path, edv_keyfile_info *info,
                        edv_error *err)
{
  edv__creds c;
  int result;

  edv_error_clear(err);
  if (!path || !path[0])
    return edv_error_set(err, EDV_EINVAL, "no key file given");
  result = edv__keyfile_load(path, &c, err);
  if (result)
    return result;
  if (info) {
    memset(info, 0, sizeof(*info));
    info->kind = c.kind;
    kf_copy(info->client_email, sizeof(info->client_email), c.client_email);
    kf_copy(info->client_id, sizeof(info->client_id), c.client_id);
    kf_copy(info->project_id, sizeof(info->project_id), c.project_id);
    kf_copy(info->private_key_id, sizeof(info->private_key_id),
            c.private_key_id);
    kf_copy(info->token_uri, sizeof(info->token_uri), c.token_uri);
  }
  edv__creds_clear(&c);
  return 0;
}

int edv_keyfile_check(const char *path, edv_error *err)
{
  return edv_keyfile_inspect(path, NULL, err);
}
