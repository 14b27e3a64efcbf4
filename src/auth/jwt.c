/*
 * jwt.c - RS256 JWTs signed with a service account's key (libjwt).
 *
 * Two uses (docs/google-cloud.md section 1):
 *   - the OAuth JWT-bearer assertion posted to token_uri: iss=client_email,
 *     scope, aud=token_uri, iat, exp=iat+3600, optional sub;
 *   - a self-signed JWT sent directly as the bearer token (no exchange):
 *     iss=sub=client_email, scope, iat, exp=iat+3600. It carries scope and
 *     never aud: Google accepts one or the other, never both.
 * The header is {"alg":"RS256","typ":"JWT","kid":private_key_id}; libjwt
 * adds alg and typ itself. libjwt keeps its own copy of the PEM and scrubs
 * it in jwt_free().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/crypto.h>

#include "auth/internal.h"

static int jwt_fail(edv_error *err, const edv__creds *c, const char *what,
                    int e)
{
  edv_error_set(err, e == ENOMEM ? EDV_ENOMEM : EDV_ECRED,
                "cannot sign a JWT for %s: %s failed (%s)",
                c->client_email ? c->client_email : "the service account", what,
                e ? strerror(e) : "invalid private key");
  if (err && c->path)
    snprintf(err->where, sizeof(err->where), "%s: private_key", c->path);
  return err ? (int)err->code : EDV_ECRED;
}

char *edv__jwt_sign(const edv__creds *c, const edv__jwt_claims *claims,
                    edv_error *err)
{
  jwt_t *jwt = NULL;
  char *enc = NULL, *out = NULL;
  int e;

  if (!c || c->kind != EDV_CRED_SERVICE_ACCOUNT || !c->private_key || !claims ||
      !claims->iss) {
    edv_error_set(err, EDV_EINVAL,
                  "JWT signing needs service_account "
                  "credentials");
    return NULL;
  }
  if ((e = jwt_new(&jwt)) != 0) {
    jwt_fail(err, c, "jwt_new", e);
    return NULL;
  }
  if ((e = jwt_set_alg(jwt, JWT_ALG_RS256,
                       (const unsigned char *)c->private_key,
                       (int)c->private_key_len)) != 0) {
    jwt_fail(err, c, "jwt_set_alg", e);
    goto out;
  }
  if ((c->private_key_id &&
       (e = jwt_add_header(jwt, "kid", c->private_key_id)) != 0) ||
      (e = jwt_add_grant(jwt, "iss", claims->iss)) != 0 ||
      (claims->sub && (e = jwt_add_grant(jwt, "sub", claims->sub)) != 0) ||
      (claims->scope &&
       (e = jwt_add_grant(jwt, "scope", claims->scope)) != 0) ||
      (claims->aud && (e = jwt_add_grant(jwt, "aud", claims->aud)) != 0) ||
      (e = jwt_add_grant_int(jwt, "iat", (long)claims->iat)) != 0 ||
      (e = jwt_add_grant_int(jwt, "exp",
                             (long)(claims->iat + claims->lifetime))) != 0) {
    jwt_fail(err, c, "adding a claim", e);
    goto out;
  }
  /* jwt_encode_str() returns NULL when the key does not sign (a key that
   * is not RSA, say); errno tells why when libjwt set it. */
  errno = 0;
  enc = jwt_encode_str(jwt);
  if (!enc) {
    jwt_fail(err, c, "RS256 signing", errno == ENOMEM ? ENOMEM : 0);
    goto out;
  }
  /* Re-home the string on our heap so it is wiped by edv__secret_free. */
  out = strdup(enc);
  OPENSSL_cleanse(enc, strlen(enc));
  free(enc);
  if (!out)
    edv_error_set(err, EDV_ENOMEM, "out of memory");
out:
  jwt_free(jwt);
  return out;
}

char *edv__jwt_assertion(const edv__creds *c, const char *scope,
                         const char *sub, int64_t now, edv_error *err)
{
  edv__jwt_claims claims = {0};

  claims.iss = c ? c->client_email : NULL;
  claims.sub = sub && sub[0] ? sub : NULL;
  claims.scope = scope && scope[0] ? scope : EDV__AUTH_SCOPE;
  claims.aud = c && c->token_uri ? c->token_uri : EDV__AUTH_TOKEN_URI;
  claims.iat = now;
  claims.lifetime = EDV__JWT_LIFETIME_S;
  return edv__jwt_sign(c, &claims, err);
}

char *edv__jwt_self_signed(const edv__creds *c, const char *scope, int64_t now,
                           edv_error *err)
{
  edv__jwt_claims claims = {0};

  claims.iss = c ? c->client_email : NULL;
  claims.sub = claims.iss;
  claims.scope = scope && scope[0] ? scope : EDV__AUTH_SCOPE;
  claims.iat = now;
  claims.lifetime = EDV__JWT_LIFETIME_S;
  return edv__jwt_sign(c, &claims, err);
}
