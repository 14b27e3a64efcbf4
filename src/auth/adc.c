/*
 * adc.c - Application Default Credentials: which credentials to use.
 *
 * Google's order (google-auth-python's default(), google-cloud-cpp's
 * GoogleDefaultCredentials), with our static-token escape hatch first:
 *   0. config access_token_file   (must exist)
 *   1. config key_file            (must exist)
 *   2. $GOOGLE_APPLICATION_CREDENTIALS (must exist when set)
 *   3. gcloud's ADC file:
 * $CLOUDSDK_CONFIG/application_default_credentials.json, else
 * $HOME/.config/gcloud/application_default_credentials.json (skipped when
 * missing)
 *   4. the GCE metadata server: only probed by the first token fetch, so
 *      this step just records what 0-3 looked at for the error message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/internal.h"
#include "common/log.h"

#define ADC_FILE "application_default_credentials.json"

static int adc_load(const char *path, const char *origin, edv__creds *out,
                    edv_error *err)
{
  int result = edv__keyfile_load(path, out, err);

  if (result == 0) {
    out->origin = origin;
    return 0;
  }
  /* Say where the file name came from: it is often the surprise. */
  if (err) {
    char msg[sizeof(err->message)];
    if (snprintf(msg, sizeof(msg), "%s (from %s)", err->message, origin) > 0)
      memcpy(err->message, msg, sizeof(msg));
  }
  return result;
}

/* gcloud's ADC file name into buf; 0 when no directory is known. */
static int adc_gcloud_path(char *buf, size_t size)
{
  const char *dir = getenv("CLOUDSDK_CONFIG");
  const char *home;

  if (dir && dir[0])
    return snprintf(buf, size, "%s/%s", dir, ADC_FILE) < (int)size;
  home = getenv("HOME");
  if (!home || !home[0])
    return 0;
  return snprintf(buf, size, "%s/.config/gcloud/%s", home, ADC_FILE) <
         (int)size;
}

int edv__adc_find(const edv__adc_opts *o, edv__creds *out, edv_error *err)
{
  char gpath[4096], tried[1024];
  const char *env;
  struct stat st;
  int have_gpath;

  memset(out, 0, sizeof(*out));
  if (o && o->access_token_file && o->access_token_file[0]) {
    /* Read now only to fail early; token.c reads it at every refresh. */
    char *tok = NULL;
    int result = edv__secret_file_read(o->access_token_file,
                                       "access token file", &tok, NULL, err);
    edv__secret_free(tok);
    if (result)
      return result;
    out->kind = EDV_CRED_ACCESS_TOKEN_FILE;
    out->origin = "config access_token_file";
    out->path = strdup(o->access_token_file);
    return out->path ? 0 : edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  if (o && o->key_file && o->key_file[0])
    return adc_load(o->key_file, "config key_file", out, err);
  env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
  if (env && env[0])
    return adc_load(env, "GOOGLE_APPLICATION_CREDENTIALS", out, err);
  have_gpath = adc_gcloud_path(gpath, sizeof(gpath));
  if (have_gpath && stat(gpath, &st) == 0)
    return adc_load(gpath, "gcloud ADC file", out, err);

  if (snprintf(
          tried, sizeof(tried),
          "config key_file (unset), GOOGLE_APPLICATION_CREDENTIALS (unset), "
          "gcloud ADC file %s (%s)",
          have_gpath ? gpath : "(no CLOUDSDK_CONFIG or HOME)",
          have_gpath ? "not found" : "skipped") < 0)
    tried[0] = '\0';
  out->kind = EDV_CRED_METADATA;
  out->origin = "ADC fallback";
  out->metadata_root = edv__metadata_root();
  out->tried = strdup(tried);
  if (!out->metadata_root || !out->tried) {
    edv__creds_clear(out);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  return 0;
}

void edv__creds_describe(const edv__creds *c, int self_signed, char *buf,
                         size_t size)
{
  switch (c ? c->kind : EDV_CRED_NONE) {
  case EDV_CRED_SERVICE_ACCOUNT:
    snprintf(buf, size, "service_account %s, key file %s (%s)%s",
             c->client_email, c->path, c->origin,
             self_signed ? ", self-signed JWT" : "");
    break;
  case EDV_CRED_AUTHORIZED_USER:
    snprintf(buf, size, "authorized_user (client %s), key file %s (%s)",
             c->client_id, c->path, c->origin);
    break;
  case EDV_CRED_ACCESS_TOKEN_FILE:
    snprintf(buf, size, "access token file %s (%s)", c->path, c->origin);
    break;
  case EDV_CRED_METADATA:
    snprintf(buf, size, "metadata server %s", c->metadata_root);
    break;
  default:
    snprintf(buf, size,
             "no credentials resolved yet (Application Default "
             "Credentials)");
    break;
  }
}

edv_cred_kind edv_auth_locate(const edv_config *cfg, char *buf,
                              unsigned long size, edv_error *err)
{
  edv__adc_opts o = {0};
  edv__creds c;
  edv_cred_kind kind;
  const char *ss = NULL;

  edv_error_clear(err);
  if (cfg) {
    o.access_token_file = edv_config_get(cfg, "access_token_file");
    o.key_file = edv_config_get(cfg, "key_file");
    ss = edv_config_get(cfg, "auth.self_signed_jwt");
  }
  if (edv__adc_find(&o, &c, err) != 0) {
    if (buf && size)
      snprintf(buf, size, "none");
    return EDV_CRED_NONE;
  }
  kind = c.kind;
  if (buf && size) {
    edv__creds_describe(&c,
                        ss &&
                            (strcmp(ss, "true") == 0 || strcmp(ss, "1") == 0 ||
                             strcmp(ss, "yes") == 0 || strcmp(ss, "on") == 0),
                        buf, size);
    if (kind == EDV_CRED_METADATA) {
      size_t n = strlen(buf);
      snprintf(buf + n, size - n, " (not probed)");
    }
  }
  edv__creds_clear(&c);
  return kind;
}
