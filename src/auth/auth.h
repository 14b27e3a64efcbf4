/*
 * auth.h - internal boundary between the transport and the credentials.
 *
 * The transport asks for a bearer token before each attempt and reports a
 * token the server refused (HTTP 401). The auth module resolves credentials
 * lazily in Application Default Credentials order, exchanges them for access
 * tokens through the engine's own transport (EDV_API_OAUTH2 calls with
 * EDV_REQ_NOAUTH), caches the token, refreshes it early with a single
 * refresh in flight shared by every waiter, and keeps the old token when a
 * refresh fails before it expires.
 *
 * Nothing here ever logs or copies a private key, an assertion or a token
 * into an edv_error.
 */
#ifndef EDV_AUTH_INT_H
#define EDV_AUTH_INT_H

#include "edv/config.h"
#include "edv/engine.h"
#include "edv/error.h"

typedef struct edv_auth edv_auth;

/*
 * Creates the auth state for `engine`. Reads only the configuration here
 * (key_file, access_token, auth.* keys); files, environment and the
 * metadata server are consulted on the first edv__auth_token(). Returns NULL
 * and fills *err when the configuration is unusable.
 */
edv_auth *edv__auth_new(edv_engine *engine, const edv_config *cfg,
                        edv_error *err);

/* Cancels waiters (callbacks run with EDV_ECANCELED) and frees. NULL ok. */
void edv__auth_free(edv_auth *auth);

/*
 * Gets a valid access token. The callback runs exactly once, from the loop
 * (never synchronously inside this call), with the token (valid only during
 * the callback) or an error. Returns non-zero only on invalid arguments, in
 * which case the callback never runs.
 */
int edv__auth_token(edv_auth *auth, edv_token_cb cb, void *data);

/*
 * The server answered 401 to a request that carried `token`: if it is
 * still the cached token, drop it so the next edv__auth_token() refreshes.
 */
void edv__auth_invalidate(edv_auth *auth, const char *token);

/* project_id from the resolved credentials (key file), or NULL. */
const char *edv__auth_project(const edv_auth *auth);

/* "service_account key file F", "metadata server", ...: what the
 * credentials are, for `edvctl auth` output and errors. Never secret. */
const char *edv__auth_describe(const edv_auth *auth);

#endif /* EDV_AUTH_INT_H */
