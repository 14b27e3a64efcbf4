/*
 * peek.c - what a program serving the fleet asks of it between operations,
 * at once and without a cloud call (edv/fleet.h, "Reconciler"): a quick
 * look at a tenant, its entity tag, whether a job holds it, idempotency
 * keys of creates, the store's health, a short-lived answer cache and the
 * phase names.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "fleet/dayops.h"
#include "fleet/fleet.h"
#include "tenant/spec.h"

/* The record of a tenant id (checked; a DELETED tenant too). */
static int peek_rec(edv_fleet *f, const char *id, edv__tenant_rec *rec,
                    edv_error *err)
{
  if (!id || edv__spec_check_id(id, NULL) != 0 ||
      edv__store_tenant_get(f->store, id, rec, NULL) != 0)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' not found",
                         id ? id : "");
  return 0;
}

json_object *edv_tenant_peek(edv_fleet *f, const char *id, edv_error *err)
{
  edv__tenant_rec rec;
  json_object *doc;

  if (peek_rec(f, id, &rec, err))
    return NULL;
  doc = edv__view_tenant(f, &rec, 0);
  if (!doc)
    edv_error_set(err, EDV_ENOMEM, "out of memory");
  return doc;
}

int edv_tenant_etag(edv_fleet *f, const char *id, char *buf, size_t size,
                    edv_error *err)
{
  edv__tenant_rec rec;
  unsigned char h[32];
  unsigned len = 0;
  char gen[64];
  EVP_MD_CTX *m;
  int result = peek_rec(f, id, &rec, err);

  if (result)
    return result;
  /* A digest of the spec, phase, generation and last change. */
  snprintf(gen, sizeof(gen), "|%d|%u|%lld", (int)rec.phase, rec.generation,
           (long long)rec.updated_ms);
  m = EVP_MD_CTX_new();
  if (!m)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  EVP_DigestInit_ex(m, EVP_sha256(), NULL);
  EVP_DigestUpdate(m, rec.spec_json, strlen(rec.spec_json));
  EVP_DigestUpdate(m, gen, strlen(gen));
  EVP_DigestFinal_ex(m, h, &len);
  EVP_MD_CTX_free(m);
  snprintf(buf, size, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", h[0], h[1], h[2],
           h[3], h[4], h[5], h[6], h[7]);
  return 0;
}

int edv_tenant_busy(edv_fleet *f, const char *id)
{
  return id && edv__dayops_busy(f, id);
}

/* Hex SHA-256 of what makes two creates the same request: the spec as the
 * library records it (canonical: key order does not matter). */
static int create_hash(json_object *spec, char *out)
{
  static const char hex[] = "0123456789abcdef";
  edv__tenant_spec ts;
  json_object *js;
  const char *s;
  unsigned char h[32];
  unsigned len = 0;
  EVP_MD_CTX *m;

  if (edv__spec_from_json(spec, &ts, NULL) != 0 ||
      !(js = edv__spec_to_json(&ts)))
    return -1;
  if (!(m = EVP_MD_CTX_new())) {
    json_object_put(js);
    return -1;
  }
  s = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN);
  EVP_DigestInit_ex(m, EVP_sha256(), NULL);
  EVP_DigestUpdate(m, "POST /api/tenants\n", 18);
  EVP_DigestUpdate(m, s, strlen(s));
  EVP_DigestFinal_ex(m, h, &len);
  EVP_MD_CTX_free(m);
  json_object_put(js);
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[h[i] >> 4];
    out[2 * i + 1] = hex[h[i] & 15];
  }
  out[64] = '\0';
  return 0;
}

int edv_tenant_create_key(edv_fleet *f, const char *key, json_object *spec,
                          edv_error *err)
{
  char hash[65], prev[EDV_STORE_ID_SZ] = "";
  json_object *id;
  int result;

  if (!key || create_hash(spec, hash) != 0 ||
      !json_object_object_get_ex(spec, "id", &id))
    return 0; /* the create refuses the spec, naming the field */
  result = edv__store_idem_check(
      f->store, key, hash, json_object_get_string(id), prev, sizeof(prev), err);
  if (result == EDV_ECONFLICT)
    return edv_error_set(err, EDV_ECONFLICT,
                         "Idempotency-Key '%.64s' was used with a different "
                         "request",
                         key);
  return result == EDV_EEXIST ? 0 : result;
}

int edv_fleet_check(edv_fleet *f, edv_error *err)
{
  int v;

  return edv__store_schema_version(f->store, &v, err);
}

json_object *edv_fleet_cache_get(edv_fleet *f, const char *key)
{
  return edv__dayops_cache_get(f, key);
}

void edv_fleet_cache_put(edv_fleet *f, const char *key, json_object *v,
                         uint64_t ttl_ms)
{
  edv__dayops_cache_put(f, key, v, ttl_ms);
}

const char *edv_phase_name(unsigned i)
{
  return i < EDV_PHASE__COUNT ? edv__phase_name((edv_tenant_phase)i) : NULL;
}

void edv_time_format(int64_t ms, char *buf, size_t size)
{
  edv__view_time(ms, buf, size);
}
