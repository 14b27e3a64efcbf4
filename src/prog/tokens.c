/*
 * tokens.c - bearer tokens of the Management API (see tokens.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/file.h"
#include "prog/tokens.h"

#define TOK_ID_LEN   8  /* hex digits */
#define TOK_SALT_LEN 16 /* bytes */
#define TOK_HASH_LEN 32 /* SHA-256 */

typedef struct tok_ent {
  char id[TOK_ID_LEN + 1];
  char name[EDV_TOKEN_NAME_MAX + 1];
  edv_role role;
  unsigned char salt[TOK_SALT_LEN];
  unsigned char hash[TOK_HASH_LEN];
  long long created_ms;
} tok_ent;

struct edv__tokens {
  tok_ent *ents;
  size_t n;
};

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

const char *edv__role_name(edv_role role)
{
  return role >= EDV_ROLE_NONE && role <= EDV_ROLE_ADMIN ? role_names[role]
                                                         : "none";
}

edv_role edv__role_parse(const char *name)
{
  for (int i = EDV_ROLE_VIEWER; i <= EDV_ROLE_ADMIN; i++)
    if (name && strcmp(name, role_names[i]) == 0)
      return (edv_role)i;
  return EDV_ROLE_NONE;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";

  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[in[i] >> 4];
    out[2 * i + 1] = hex[in[i] & 15];
  }
  out[2 * n] = '\0';
}

static int from_hex(const char *s, unsigned char *out, size_t n)
{
  if (!s || strlen(s) != 2 * n)
    return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    for (int k = 0; k < 2; k++) {
      char c = s[2 * i + (size_t)k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (unsigned)(c - 'a' + 10);
      else
        return -1;
    }
    out[i] = (unsigned char)v;
  }
  return 0;
}

static int name_valid(const char *s)
{
  size_t n = s ? strlen(s) : 0;

  if (n == 0 || n > EDV_TOKEN_NAME_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
          c == '-'))
      return 0;
  }
  return 1;
}

static void token_hash(const unsigned char *salt, const char *token,
                       unsigned char *out)
{
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  unsigned len = 0;

  memset(out, 0, TOK_HASH_LEN);
  if (!c)
    return;
  if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
      EVP_DigestUpdate(c, salt, TOK_SALT_LEN) == 1 &&
      EVP_DigestUpdate(c, token, strlen(token)) == 1)
    EVP_DigestFinal_ex(c, out, &len);
  EVP_MD_CTX_free(c);
}

void edv__tokens_free(edv__tokens *t)
{
  if (!t)
    return;
  OPENSSL_cleanse(t->ents, t->n * sizeof(*t->ents));
  free(t->ents);
  free(t);
}

size_t edv__tokens_count(const edv__tokens *t)
{
  return t ? t->n : 0;
}

static int parse_ent(json_object *o, tok_ent *e)
{
  json_object *v;
  const char *s;

  memset(e, 0, sizeof(*e));
  if (!json_object_is_type(o, json_type_object))
    return -1;
  s = json_object_object_get_ex(o, "id", &v) ? json_object_get_string(v) : "";
  if (strlen(s) != TOK_ID_LEN)
    return -1;
  memcpy(e->id, s, TOK_ID_LEN + 1);
  s = json_object_object_get_ex(o, "name", &v) ? json_object_get_string(v)
                                               : NULL;
  if (!name_valid(s))
    return -1;
  snprintf(e->name, sizeof(e->name), "%s", s);
  e->role = edv__role_parse(json_object_object_get_ex(o, "role", &v)
                                ? json_object_get_string(v)
                                : NULL);
  if (e->role == EDV_ROLE_NONE)
    return -1;
  if (!json_object_object_get_ex(o, "salt", &v) ||
      from_hex(json_object_get_string(v), e->salt, TOK_SALT_LEN) ||
      !json_object_object_get_ex(o, "sha256", &v) ||
      from_hex(json_object_get_string(v), e->hash, TOK_HASH_LEN))
    return -1;
  if (json_object_object_get_ex(o, "created_ms", &v))
    e->created_ms = json_object_get_int64(v);
  return 0;
}

int edv__tokens_load(const char *path, edv__tokens **out, edv_error *err)
{
  edv__tokens *t;
  json_object *doc, *arr;
  struct stat st;
  int fd;

  *out = NULL;
  t = calloc(1, sizeof(*t));
  if (!t)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    *out = t;
    return 0;
  }
  if (fd < 0) {
    free(t);
    return edv_error_set(err, EDV_EIO, "%s: %s", path, strerror(errno));
  }
  if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    close(fd);
    free(t);
    return edv_error_set(err, EDV_ECONFIG,
                         "%s: must be mode 0600 (it holds token hashes)", path);
  }
  close(fd);
  doc = json_object_from_file(path);
  if (!doc || !json_object_object_get_ex(doc, "tokens", &arr) ||
      !json_object_is_type(arr, json_type_array)) {
    json_object_put(doc);
    free(t);
    return edv_error_set(err, EDV_ECONFIG, "%s: not a token file", path);
  }
  t->n = json_object_array_length(arr);
  t->ents = calloc(t->n ? t->n : 1, sizeof(*t->ents));
  if (!t->ents) {
    json_object_put(doc);
    free(t);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < t->n; i++) {
    if (parse_ent(json_object_array_get_idx(arr, i), &t->ents[i])) {
      json_object_put(doc);
      edv__tokens_free(t);
      return edv_error_set(err, EDV_ECONFIG, "%s: entry %zu is malformed", path,
                           i);
    }
  }
  json_object_put(doc);
  *out = t;
  return 0;
}

edv_role edv__tokens_verify(const edv__tokens *t, const char *token,
                            const char **name, const char **id)
{
  unsigned char h[TOK_HASH_LEN];
  size_t n = token ? strlen(token) : 0;

  if (!t || n < 4 + TOK_ID_LEN + 2 || n >= EDV_TOKEN_MAX ||
      strncmp(token, "edv_", 4) != 0 || token[4 + TOK_ID_LEN] != '_')
    return EDV_ROLE_NONE;
  for (size_t i = 0; i < t->n; i++) {
    const tok_ent *e = &t->ents[i];
    if (memcmp(e->id, token + 4, TOK_ID_LEN) != 0)
      continue;
    token_hash(e->salt, token, h);
    if (CRYPTO_memcmp(h, e->hash, TOK_HASH_LEN) != 0)
      return EDV_ROLE_NONE;
    if (name)
      *name = e->name;
    if (id)
      *id = e->id;
    return e->role;
  }
  return EDV_ROLE_NONE;
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;

  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8) | in[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[o++] = tab[(acc >> bits) & 63];
    }
  }
  if (bits > 0)
    out[o++] = tab[(acc << (6 - bits)) & 63];
  out[o] = '\0';
}

/* Writes doc to path atomically, 0600. */
static int write_file(const char *path, json_object *doc, edv_error *err)
{
  return edv__file_write_private(
      path, json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY), err);
}

int edv__tokens_create(const char *path, const char *name, edv_role role,
                       char *out, size_t size, edv_error *err)
{
  edv__tokens *t = NULL;
  unsigned char idb[TOK_ID_LEN / 2], secret[32], salt[TOK_SALT_LEN];
  unsigned char hash[TOK_HASH_LEN];
  char id[TOK_ID_LEN + 1], sec[48], token[EDV_TOKEN_MAX];
  char salt_hex[2 * TOK_SALT_LEN + 1], hash_hex[2 * TOK_HASH_LEN + 1];
  json_object *doc, *arr, *o;
  struct timespec ts;
  int result;

  if (!name_valid(name))
    return edv_error_set(err, EDV_EINVAL,
                         "name: '%.80s' must be 1..64 of A-Z a-z 0-9 . _ @ -",
                         name ? name : "");
  if (role < EDV_ROLE_VIEWER || role > EDV_ROLE_ADMIN)
    return edv_error_set(err, EDV_EINVAL,
                         "role: must be viewer, operator or admin");
  result = edv__tokens_load(path, &t, err);
  if (result)
    return result;
  for (size_t i = 0; i < t->n; i++) {
    if (strcmp(t->ents[i].name, name) == 0) {
      edv__tokens_free(t);
      return edv_error_set(err, EDV_EEXIST,
                           "name: a token named '%s' exists already", name);
    }
  }
  /* A fresh id that no entry uses. */
  do {
    if (RAND_bytes(idb, sizeof(idb)) != 1) {
      edv__tokens_free(t);
      return edv_error_set(err, EDV_EIO, "no random bytes");
    }
    to_hex(idb, sizeof(idb), id);
    result = 0;
    for (size_t i = 0; i < t->n; i++)
      if (strcmp(t->ents[i].id, id) == 0)
        result = 1;
  } while (result);
  if (RAND_bytes(secret, sizeof(secret)) != 1 ||
      RAND_bytes(salt, sizeof(salt)) != 1) {
    edv__tokens_free(t);
    return edv_error_set(err, EDV_EIO, "no random bytes");
  }
  b64url(secret, sizeof(secret), sec);
  snprintf(token, sizeof(token), "edv_%s_%s", id, sec);
  token_hash(salt, token, hash);
  to_hex(salt, sizeof(salt), salt_hex);
  to_hex(hash, sizeof(hash), hash_hex);

  doc = json_object_new_object();
  arr = json_object_new_array();
  for (size_t i = 0; i < t->n; i++) {
    const tok_ent *e = &t->ents[i];
    char sh[2 * TOK_SALT_LEN + 1], hh[2 * TOK_HASH_LEN + 1];
    o = json_object_new_object();
    to_hex(e->salt, sizeof(e->salt), sh);
    to_hex(e->hash, sizeof(e->hash), hh);
    json_object_object_add(o, "id", json_object_new_string(e->id));
    json_object_object_add(o, "name", json_object_new_string(e->name));
    json_object_object_add(o, "role",
                           json_object_new_string(edv__role_name(e->role)));
    json_object_object_add(o, "salt", json_object_new_string(sh));
    json_object_object_add(o, "sha256", json_object_new_string(hh));
    json_object_object_add(o, "created_ms",
                           json_object_new_int64(e->created_ms));
    json_object_array_add(arr, o);
  }
  clock_gettime(CLOCK_REALTIME, &ts);
  o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(id));
  json_object_object_add(o, "name", json_object_new_string(name));
  json_object_object_add(o, "role",
                         json_object_new_string(edv__role_name(role)));
  json_object_object_add(o, "salt", json_object_new_string(salt_hex));
  json_object_object_add(o, "sha256", json_object_new_string(hash_hex));
  json_object_object_add(
      o, "created_ms",
      json_object_new_int64((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
  json_object_array_add(arr, o);
  json_object_object_add(doc, "version", json_object_new_int(1));
  json_object_object_add(doc, "tokens", arr);
  edv__tokens_free(t);
  result = write_file(path, doc, err);
  json_object_put(doc);
  if (result == 0) {
    if (strlen(token) >= size)
      result = edv_error_set(err, EDV_EINVAL, "token buffer too small");
    else
      memcpy(out, token, strlen(token) + 1);
  }
  OPENSSL_cleanse(token, sizeof(token));
  OPENSSL_cleanse(secret, sizeof(secret));
  return result;
}
