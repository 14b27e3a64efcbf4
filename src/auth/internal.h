/*
 * internal.h - shared between the files of src/auth/ (never outside it).
 *
 *   keyfile.c   credentials JSON files: read, parse, validate, wipe
 *   jwt.c       RS256 JWTs: the JWT-bearer assertion and self-signed JWTs
 *   exchange.c  OAuth token endpoint calls and token response validation
 *   metadata.c  the GCE metadata server: token and project id
 *   adc.c       Application Default Credentials: which source to use
 *   token.c     edv_auth: the token cache, single-flight refresh, waiters
 *
 * Secret strings (private key, client secret, refresh token, assertions,
 * access tokens) are heap strings freed with edv__secret_free(), which wipes
 * them first.
 */
#ifndef EDV_AUTH_INTERNAL_H
#define EDV_AUTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "edv/auth.h"
#include "edv/engine.h"
#include "edv/error.h"

#define EDV__AUTH_TOKEN_URI "https://oauth2.googleapis.com/token"
#define EDV__AUTH_SCOPE     "https://www.googleapis.com/auth/cloud-platform"
#define EDV__JWT_LIFETIME_S 3600 /* maximum Google accepts (1 h) */

/* Credentials as resolved by ADC. Secrets are marked. */
typedef struct edv__creds {
  edv_cred_kind kind;
  char *path;         /* file they came from, or NULL */
  const char *origin; /* how the file was found: "config key_file",
                         "GOOGLE_APPLICATION_CREDENTIALS", ... (static) */
  char *client_email; /* service_account */
  char *private_key;  /* service_account PEM (SECRET) */
  size_t private_key_len;
  char *private_key_id; /* service_account, optional (JWT kid) */
  char *token_uri;      /* service_account, authorized_user */
  char *project_id;     /* optional */
  char *client_id;      /* authorized_user */
  char *client_secret;  /* authorized_user (SECRET) */
  char *refresh_token;  /* authorized_user (SECRET) */
  char *metadata_root;  /* metadata: "http://host" (no slash) */
  char *tried;          /* metadata: what ADC steps 0-3 looked at */
} edv__creds;

/* ---- keyfile.c ---------------------------------------------------------*/

/* Wipes (OPENSSL_cleanse) and frees a NUL-terminated secret. NULL ok. */
void edv__secret_free(char *s);

/* Wipes and frees every string of *c and zeroes it. */
void edv__creds_clear(edv__creds *c);

/*
 * Reads a whole small file that may hold secrets into a NUL-terminated
 * heap buffer (free with edv__secret_free). Logs a warning when the file is
 * readable by group or others. `what` names the file in errors ("key
 * file"). EDV_EIO or EDV_ECRED (missing) on failure.
 */
int edv__secret_file_read(const char *path, const char *what, char **out,
                          size_t *len, edv_error *err);

/* Parses credentials JSON `text` (from `path`, used in messages). */
int edv__keyfile_parse(const char *path, const char *text, size_t len,
                       edv__creds *out, edv_error *err);

/* edv__secret_file_read() + edv__keyfile_parse(). */
int edv__keyfile_load(const char *path, edv__creds *out, edv_error *err);

/* ---- jwt.c -------------------------------------------------------------*/

typedef struct edv__jwt_claims {
  const char *iss;   /* required */
  const char *sub;   /* or NULL */
  const char *scope; /* or NULL */
  const char *aud;   /* or NULL */
  int64_t iat;       /* seconds since the epoch */
  int64_t lifetime;  /* exp = iat + lifetime */
} edv__jwt_claims;

/* Signs an RS256 JWT with c->private_key, kid = c->private_key_id. Returns
 * a secret heap string or NULL with *err set (never naming the key). */
char *edv__jwt_sign(const edv__creds *c, const edv__jwt_claims *claims,
                    edv_error *err);

/* The JWT-bearer assertion: iss=client_email, scope, aud=token_uri, iat,
 * exp=iat+3600, sub when `sub` is not NULL. */
char *edv__jwt_assertion(const edv__creds *c, const char *scope,
                         const char *sub, int64_t now, edv_error *err);

/* A self-signed access JWT: iss=sub=client_email, scope, iat,
 * exp=iat+3600, no aud. */
char *edv__jwt_self_signed(const edv__creds *c, const char *scope, int64_t now,
                           edv_error *err);

/* ---- exchange.c / metadata.c -------------------------------------------*/

/* A token fetch in flight: outlives the edv_auth that started it when the
 * auth is freed first (auth is then NULL). */
typedef struct edv__fetch {
  edv_auth *auth;     /* NULL once orphaned */
  edv_call *call;     /* token call, until its callback */
  edv_call *pcall;    /* metadata project-id call, until its callback */
  unsigned pending;   /* callbacks still to come (+1 while starting) */
  char *form;         /* request body (SECRET), kept until the callback */
  char *token;        /* result (SECRET) */
  int64_t expires_in; /* seconds */
  char *project_id;   /* metadata: fetched project id */
  int failed;         /* err holds the failure */
  edv_error err;
} edv__fetch;

/* Validates a token endpoint / metadata answer: access_token (string),
 * expires_in (int or numeric string, > 0), token_type Bearer. On success
 * sets f->token and f->expires_in; else EDV_EPROTO naming the field. */
int edv__token_response_parse(json_object *json, const char *from,
                              edv__fetch *f, edv_error *err);

/* Starts the JWT-bearer (service_account) or refresh_token
 * (authorized_user) exchange. 0, or an error (f untouched otherwise). */
int edv__exchange_start(edv_engine *engine, const edv__creds *c,
                        const char *scope, const char *sub, int64_t now,
                        edv__fetch *f, edv_error *err);

/* Starts the metadata token fetch (and project id when `want_project`). */
int edv__metadata_start(edv_engine *engine, const edv__creds *c,
                        const char *scopes_csv, int want_project, edv__fetch *f,
                        edv_error *err);

/* "http://host" from GCE_METADATA_HOST / GCE_METADATA_ROOT /
 * GCE_METADATA_IP, default metadata.google.internal. Heap string. */
char *edv__metadata_root(void);

/* Redacts `secret` (when longer than 8 bytes) inside msg in place. */
void edv__redact(char *msg, const char *secret);

/* Called by exchange.c / metadata.c when one of f's calls completed;
 * finishes the fetch when none is left. */
void edv__fetch_call_done(edv__fetch *f);

/* ---- adc.c -------------------------------------------------------------*/

typedef struct edv__adc_opts {
  const char *access_token_file; /* config access_token_file, or NULL */
  const char *key_file;          /* config key_file, or NULL */
} edv__adc_opts;

/*
 * Runs ADC steps 0-3 and fills *out. When no file is found, *out is the
 * metadata server (kind EDV_CRED_METADATA, not probed) with out->tried
 * listing what was looked at. Errors: a named file missing or invalid.
 */
int edv__adc_find(const edv__adc_opts *o, edv__creds *out, edv_error *err);

/* One-line non-secret description of *c into buf. */
void edv__creds_describe(const edv__creds *c, int self_signed, char *buf,
                         size_t size);

/* ---- token.c (test seams) ----------------------------------------------*/

/* Token cache decision. */
typedef enum {
  EDV__TOK_NONE = 0,  /* no token, or it expires within the hard margin */
  EDV__TOK_STALE = 1, /* usable, but within the refresh margin */
  EDV__TOK_FRESH = 2, /* usable, no refresh needed */
} edv__tok_state;

#define EDV__AUTH_REFRESH_MARGIN_MS 300000u /* 300 s: google-cloud-cpp */
#define EDV__AUTH_HARD_MARGIN_MS    10000u  /* 10 s: golang oauth2 */
#define EDV__AUTH_BACKOFF_MIN_MS    1000u
#define EDV__AUTH_BACKOFF_MAX_MS    60000u

edv__tok_state edv__token_state(int have_token, uint64_t expiry_ms,
                                uint64_t now_ms);

/* Replaces the clock (tests): mono_ms for expiry, wall_s for JWT iat. */
void edv__auth_set_clock(edv_auth *auth, uint64_t (*mono_ms)(void *),
                         int64_t (*wall_s)(void *), void *data);

#endif /* EDV_AUTH_INTERNAL_H */
