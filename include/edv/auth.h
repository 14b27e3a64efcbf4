/*
 * edv/auth.h - credentials: key file checks and where credentials come from.
 *
 * An engine (edv/engine.h) finds its credentials by itself, lazily, in
 * Google's Application Default Credentials (ADC) order:
 *
 *   0. config `access_token_file`: a file holding a ready access token (like
 *      gcloud's --access-token-file; for tests and CI). Never refreshed; it
 *      is read again after the server refuses it.
 *   1. config `key_file`: a credentials JSON file.
 *   2. the file named by the environment variable
 *      GOOGLE_APPLICATION_CREDENTIALS.
 *   3. gcloud's ADC file: $CLOUDSDK_CONFIG/application_default_credentials.json
 *      when CLOUDSDK_CONFIG is set, else
 *      $HOME/.config/gcloud/application_default_credentials.json.
 *   4. the GCE metadata server (the VM's own service account), host
 *      overridable with GCE_METADATA_HOST (legacy GCE_METADATA_ROOT) or
 *      GCE_METADATA_IP.
 *
 * A file named in steps 0-2 must exist; a missing gcloud file (step 3) is
 * skipped. Credentials files of type "service_account" and
 * "authorized_user" are accepted; "external_account" (workload identity
 * federation) is refused as unsupported.
 *
 * Other configuration keys: `auth.scopes` (space- or comma-separated OAuth
 * scopes, default https://www.googleapis.com/auth/cloud-platform),
 * `auth.self_signed_jwt` (true: a service account signs its own JWT and
 * sends it as the bearer token, no token exchange), `auth.subject` (the
 * `sub` claim of the JWT-bearer assertion, for domain-wide delegation).
 *
 * Access tokens themselves come from edv_engine_access_token().
 *
 * Nothing in this header ever returns key material: private keys, client
 * secrets, refresh tokens and access tokens never reach an edv_error, a log
 * line or an edv_keyfile_info.
 */
#ifndef EDV_AUTH_H
#define EDV_AUTH_H

#include "edv/export.h"

#include "edv/config.h"
#include "edv/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds of credentials. Never renumbered. */
typedef enum {
  EDV_CRED_NONE = 0,              /* nothing found (yet) */
  EDV_CRED_SERVICE_ACCOUNT = 1,   /* "service_account" key file */
  EDV_CRED_AUTHORIZED_USER = 2,   /* "authorized_user" (gcloud user ADC) */
  EDV_CRED_METADATA = 3,          /* GCE metadata server */
  EDV_CRED_ACCESS_TOKEN_FILE = 4, /* static token from a file */
} edv_cred_kind;

/* "service_account", "authorized_user", "metadata", "access_token_file",
 * "none". */
EDV_EXPORT const char *edv_cred_kind_name(edv_cred_kind kind);

/* What a credentials file holds, without its secrets. Strings are
 * NUL-terminated, "" when absent, and may be truncated. */
typedef struct edv_keyfile_info {
  edv_cred_kind kind;      /* SERVICE_ACCOUNT or AUTHORIZED_USER */
  char client_email[256];  /* service_account: the account */
  char client_id[128];     /* authorized_user: the OAuth client */
  char project_id[128];    /* service_account: project_id, or "" */
  char private_key_id[64]; /* service_account: the key's id (JWT kid) */
  char token_uri[256];     /* where tokens are requested */
} edv_keyfile_info;

/*
 * Validates a credentials JSON file the way the engine loads it: readable,
 * JSON, a supported `type`, the required string fields, and (for a service
 * account) a private key that OpenSSL loads as an RSA key. Returns 0, or
 * fills *err (EDV_ECRED; EDV_EIO when unreadable) naming the file and the
 * field and returns its code. A file readable by group or others is
 * accepted with a warning in the log. Synchronous; reads one small file.
 */
EDV_EXPORT int edv_keyfile_check(const char *path, edv_error *err);

/* Like edv_keyfile_check(), and fills *info (may be NULL) on success. */
EDV_EXPORT int edv_keyfile_inspect(const char *path, edv_keyfile_info *info,
                                   edv_error *err);

/*
 * Says which credentials an engine created from `cfg` would use, without
 * contacting any server: runs ADC steps 0-3 (reading and validating the
 * file it finds) and writes a one-line, non-secret description into buf,
 * e.g. "service_account sa@p.iam.gserviceaccount.com, key file
 * /k.json (GOOGLE_APPLICATION_CREDENTIALS)" or "metadata server
 * http://metadata.google.internal (not probed)". Returns the kind, or
 * EDV_CRED_NONE with *err filled when a named file is missing or invalid.
 * `cfg` may be NULL (environment only).
 */
EDV_EXPORT edv_cred_kind edv_auth_locate(const edv_config *cfg, char *buf,
                                         unsigned long size, edv_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EDV_AUTH_H */
