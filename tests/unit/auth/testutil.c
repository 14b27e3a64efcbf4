/*
 * testutil.c - see testutil.h.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/log.h"
#include "testutil.h"

static EVP_PKEY *tu_key;
static char *tu_pem;

EVP_PKEY *tu_rsa_key(void)
{
  if (!tu_key)
    tu_key = EVP_RSA_gen(2048);
  return tu_key;
}

const char *tu_rsa_pem(void)
{
  BIO *bio;
  char *p;
  long n;

  if (tu_pem)
    return tu_pem;
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, tu_rsa_key(), NULL, NULL, 0, NULL, NULL);
  n = BIO_get_mem_data(bio, &p);
  tu_pem = strndup(p, (size_t)n);
  BIO_free(bio);
  return tu_pem;
}

char *tu_tmpdir(void)
{
  const char *base = getenv("TMPDIR");
  char buf[512];

  snprintf(buf, sizeof(buf), "%s/edv-auth-XXXXXX",
           base && base[0] ? base : "/tmp");
  return strdup(mkdtemp(buf));
}

static int tu_rm(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void tu_rmrf(const char *dir)
{
  if (dir)
    nftw(dir, tu_rm, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_write(const char *dir, const char *name, const char *content, int mode)
{
  char path[1024];
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "w");
  if (!f)
    return NULL;
  fputs(content, f);
  fclose(f);
  chmod(path, (mode_t)mode);
  return strdup(path);
}

char *tu_sa_json(const char *pem, const char *kid, const char *email,
                 const char *token_uri, const char *project)
{
  json_object *o = json_object_new_object();
  char *s;

  json_object_object_add(o, "type", json_object_new_string("service_account"));
  if (project)
    json_object_object_add(o, "project_id", json_object_new_string(project));
  if (kid)
    json_object_object_add(o, "private_key_id", json_object_new_string(kid));
  json_object_object_add(o, "private_key", json_object_new_string(pem));
  json_object_object_add(o, "client_email", json_object_new_string(email));
  json_object_object_add(o, "client_id", json_object_new_string("1234"));
  if (token_uri)
    json_object_object_add(o, "token_uri", json_object_new_string(token_uri));
  s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
  json_object_put(o);
  return s;
}

/* base64url without padding -> bytes (heap), length in *len. */
static unsigned char *tu_b64url(const char *s, size_t n, size_t *len)
{
  char *t = malloc(n + 4);
  unsigned char *out = malloc(n + 4);
  size_t i, m = n;
  int r;

  for (i = 0; i < n; i++)
    t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
  while (m % 4)
    t[m++] = '=';
  r = EVP_DecodeBlock(out, (const unsigned char *)t, (int)m);
  free(t);
  if (r < 0) {
    free(out);
    return NULL;
  }
  /* EVP_DecodeBlock counts padding bytes as output: remove them. */
  *len = (size_t)r - (m - n);
  return out;
}

int tu_jwt_verify(const char *jwt, EVP_PKEY *key, json_object **header,
                  json_object **claims)
{
  const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  unsigned char *h, *c, *sig;
  size_t hl, cl, sl;
  EVP_MD_CTX *md;
  int ok;

  *header = *claims = NULL;
  if (!d1 || !d2 || strchr(d2 + 1, '.'))
    return -1;
  h = tu_b64url(jwt, (size_t)(d1 - jwt), &hl);
  c = tu_b64url(d1 + 1, (size_t)(d2 - d1 - 1), &cl);
  sig = tu_b64url(d2 + 1, strlen(d2 + 1), &sl);
  if (h && c && sig) {
    char *hs = strndup((const char *)h, hl);
    char *cs = strndup((const char *)c, cl);
    *header = json_tokener_parse(hs);
    *claims = json_tokener_parse(cs);
    free(hs);
    free(cs);
  }
  md = EVP_MD_CTX_new();
  ok = sig && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
       EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt,
                        (size_t)(d2 - jwt)) == 1;
  EVP_MD_CTX_free(md);
  free(h);
  free(c);
  free(sig);
  return ok ? 0 : -1;
}

char *tu_form_get(const char *form, const char *name)
{
  size_t n = strlen(name);
  const char *p = form;

  while (p && *p) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
      char *out = malloc(len), *o = out;
      const char *v = p + n + 1, *end = p + len;
      while (v < end) {
        if (*v == '%' && v + 2 < end + 1) {
          char hex[3] = {v[1], v[2], 0};
          *o++ = (char)strtol(hex, NULL, 16);
          v += 3;
        } else {
          *o++ = *v == '+' ? ' ' : *v;
          v++;
        }
      }
      *o = '\0';
      return out;
    }
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}

static char *tu_log;
static size_t tu_log_len;

static void tu_sink(void *data, edv_log_level level, const char *line)
{
  size_t n = strlen(line);

  (void)data;
  (void)level;
  tu_log = realloc(tu_log, tu_log_len + n + 2);
  memcpy(tu_log + tu_log_len, line, n);
  tu_log_len += n;
  tu_log[tu_log_len++] = '\n';
  tu_log[tu_log_len] = '\0';
}

void tu_log_start(void)
{
  free(tu_log);
  tu_log = NULL;
  tu_log_len = 0;
  edv__log_set_level(EDV_LOG_DEBUG);
  edv__log_set_sink(tu_sink, NULL);
}

void tu_log_stop(void)
{
  edv__log_set_sink(NULL, NULL);
  edv__log_set_level(EDV_LOG_WARN);
}

const char *tu_log_text(void)
{
  return tu_log ? tu_log : "";
}
