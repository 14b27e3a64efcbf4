/*
 * auth.c - the simulator's identity side: the OAuth2 JWT-bearer token
 * endpoint, bearer checks (our opaque tokens and self-signed JWTs), the
 * GCE metadata server, and the service-account key it trusts.
 *
 * Error texts follow docs/google-cloud.md section 1. Private keys, assertions
 * and tokens never reach a log line: we log emails and key ids only.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/log.h"
#include "sim/sim_int.h"

#define AUTH_TOKEN_LIFETIME_S 3600
#define AUTH_SKEW_S           300
#define AUTH_MAX_LIFETIME_S   3600
#define AUTH_TOKEN_PREFIX     "ya29.sim-"

static const char auth_timeframe[] =
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
    "reasonable timeframe. Check your iat and exp values in the JWT claim.";

/* --- keys --------------------------------------------------------------- */

static void key_free(sim_key *k)
{
  free(k->kid);
  free(k->email);
  free(k->public_pem);
  if (k->private_pem) {
    OPENSSL_cleanse(k->private_pem, strlen(k->private_pem));
    free(k->private_pem);
  }
  free(k->client_id);
  free(k);
}

static sim_key *key_by_kid(sim *s, const char *kid)
{
  for (sim_key *k = s->keys; kid && k; k = k->next)
    if (strcmp(k->kid, kid) == 0)
      return k;
  return NULL;
}

static int key_email_known(sim *s, const char *email)
{
  for (sim_key *k = s->keys; email && k; k = k->next)
    if (strcmp(k->email, email) == 0)
      return 1;
  return 0;
}

static char *bio_string(BIO *bio)
{
  char *data, *out;
  long n = BIO_get_mem_data(bio, &data);

  out = n > 0 ? malloc((size_t)n + 1) : NULL;
  if (out) {
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
  }
  return out;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* Makes the simulator's own key (RSA-2048) once; later calls reuse it. */
static sim_key *auth_own_key(sim *s)
{
  EVP_PKEY *pkey;
  BIO *priv, *pub;
  sim_key *k;
  unsigned char rnd[20];
  char email[300], cid[32];

  for (k = s->keys; k; k = k->next)
    if (k->private_pem)
      return k;
  pkey = EVP_RSA_gen(2048);
  if (pkey == NULL)
    return NULL;
  priv = BIO_new(BIO_s_mem());
  pub = BIO_new(BIO_s_mem());
  k = calloc(1, sizeof(*k));
  if (k && priv && pub &&
      PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
      PEM_write_bio_PUBKEY(pub, pkey) == 1 && RAND_bytes(rnd, 20) == 1) {
    k->private_pem = bio_string(priv);
    k->public_pem = bio_string(pub);
    k->kid = malloc(41);
    if (k->kid)
      hex(rnd, 20, k->kid);
    snprintf(email, sizeof(email), "edv-sim@%s.iam.gserviceaccount.com",
             s->project);
    k->email = strdup(email);
    snprintf(cid, sizeof(cid), "1%010llu%010llu",
             (unsigned long long)(sim_rand(s) % 10000000000ull),
             (unsigned long long)(sim_rand(s) % 10000000000ull));
    k->client_id = strdup(cid);
  }
  BIO_free(priv); /* BIO_free(NULL) is fine */
  BIO_free(pub);
  EVP_PKEY_free(pkey);
  if (k == NULL || !k->private_pem || !k->public_pem || !k->kid || !k->email ||
      !k->client_id) {
    if (k)
      key_free(k);
    return NULL;
  }
  k->next = s->keys;
  s->keys = k;
  EDV_LOG_I("sim", "made service-account key %s for %s", k->kid, k->email);
  sim_dirty(s);
  return k;
}

static void json_str(json_object *o, const char *k, const char *v)
{
  json_object_object_add(o, k, json_object_new_string(v));
}

int sim__write_key(sim *s, const char *path, edv_error *err)
{
  sim_key *k = auth_own_key(s);
  json_object *o;
  char buf[512];
  const char *text;
  int fd, result = 0;
  size_t len;

  if (k == NULL)
    return edv_error_set(err, EDV_EINTERNAL, "sim: cannot make an RSA key");
  o = json_object_new_object();
  json_str(o, "type", "service_account");
  json_str(o, "project_id", s->project);
  json_str(o, "private_key_id", k->kid);
  json_str(o, "private_key", k->private_pem);
  json_str(o, "client_email", k->email);
  json_str(o, "client_id", k->client_id);
  json_str(o, "auth_uri", "https://accounts.google.com/o/oauth2/auth");
  snprintf(buf, sizeof(buf), "http://%s:%u/token",
           strcmp(s->host, "0.0.0.0") == 0 ? "127.0.0.1" : s->host,
           sim_port(s));
  json_str(o, "token_uri", buf);
  json_str(o, "auth_provider_x509_cert_url",
           "https://www.googleapis.com/oauth2/v1/certs");
  snprintf(buf, sizeof(buf),
           "https://www.googleapis.com/robot/v1/metadata/x509/%s", k->email);
  json_str(o, "client_x509_cert_url", buf);
  json_str(o, "universe_domain", "googleapis.com");
  text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                               JSON_C_TO_STRING_NOSLASHESCAPE);
  len = strlen(text);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod(fd, 0600) < 0 || write(fd, text, len) != (ssize_t)len ||
      write(fd, "\n", 1) != 1) {
    result = edv_error_set(err, EDV_EIO, "sim: cannot write key file %s", path);
  }
  if (fd >= 0)
    close(fd);
  json_object_put(o);
  return result;
}

/*
 * Trusts another service account's public key (tests bring their own key
 * files). Replaces a key with the same kid. Returns 0, or -1 when the PEM
 * is not a public key.
 */
int sim__auth_trust(sim *s, const char *kid, const char *email,
                    const char *public_pem)
{
  BIO *bio = BIO_new_mem_buf(public_pem, -1);
  EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
  sim_key *k;

  BIO_free(bio);
  if (pkey == NULL)
    return -1;
  EVP_PKEY_free(pkey);
  for (sim_key **pp = &s->keys; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->kid, kid) == 0) {
      k = *pp;
      *pp = k->next;
      key_free(k);
      break;
    }
  }
  k = calloc(1, sizeof(*k));
  if (k == NULL)
    return -1;
  k->kid = strdup(kid);
  k->email = strdup(email);
  k->public_pem = strdup(public_pem);
  k->client_id = strdup("");
  if (!k->kid || !k->email || !k->public_pem || !k->client_id) {
    key_free(k);
    return -1;
  }
  k->next = s->keys;
  s->keys = k;
  EDV_LOG_I("sim", "trusting key %s for %s", kid, email);
  sim_dirty(s);
  return 0;
}

/* --- JWT checks --------------------------------------------------------- */

/* Decodes the JWT header (base64url JSON) without verifying anything. */
static json_object *jwt_header_json(const char *jwt)
{
  const char *dot = strchr(jwt, '.');
  size_t n = dot ? (size_t)(dot - jwt) : 0;
  char *b64;
  unsigned char *raw;
  json_object *o = NULL;
  int len;

  if (n == 0 || n > 2048)
    return NULL;
  b64 = malloc(n + 4);
  raw = malloc(n + 4);
  if (b64 && raw) {
    for (size_t i = 0; i < n; i++)
      b64[i] = jwt[i] == '-' ? '+' : jwt[i] == '_' ? '/' : jwt[i];
    while (n % 4)
      b64[n++] = '=';
    b64[n] = '\0';
    len = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n);
    if (len > 0) {
      raw[len] = '\0';
      o = json_tokener_parse((char *)raw);
    }
  }
  free(b64);
  free(raw);
  return o;
}

typedef struct jwt_check {
  const char *error;       /* OAuth error code, NULL when valid */
  const char *description; /* error_description */
  char desc_buf[256];
  sim_key *key;
} jwt_check;

/*
 * Verifies an RS256 JWT against the trusted key named by its kid, and its
 * iss/iat/exp. aud is left to the caller (token endpoint and self-signed
 * bearer differ). On success *out holds the decoded JWT.
 */
static void jwt_verify_common(sim *s, const char *token, jwt_t **out,
                              jwt_check *c)
{
  json_object *hdr = jwt_header_json(token);
  const char *kid = json_object_get_string(json_object_object_get(hdr, "kid"));
  const char *alg = json_object_get_string(json_object_object_get(hdr, "alg"));
  jwt_t *jwt = NULL;
  const char *iss;
  long iat, exp, now = (long)time(NULL);

  *out = NULL;
  c->error = "invalid_grant";
  c->description = "Invalid JWT Signature.";
  c->key = key_by_kid(s, kid);
  if (hdr == NULL || alg == NULL || strcmp(alg, "RS256") != 0 || c->key == NULL)
    goto out;
  if (jwt_decode(&jwt, token, (const unsigned char *)c->key->public_pem,
                 (int)strlen(c->key->public_pem)) != 0 ||
      jwt == NULL)
    goto out;
  iss = jwt_get_grant(jwt, "iss");
  if (iss == NULL || strcmp(iss, c->key->email) != 0) {
    /* Google looks the key up by account and key id: another account's
     * key id is just an unknown key. */
    if (iss && !key_email_known(s, iss))
      c->description = "Invalid grant: account not found";
    goto out;
  }
  iat = jwt_get_grant_int(jwt, "iat");
  exp = jwt_get_grant_int(jwt, "exp");
  if (iat <= 0 || exp <= iat || exp - iat > AUTH_MAX_LIFETIME_S ||
      iat > now + AUTH_SKEW_S || exp < now - AUTH_SKEW_S) {
    c->description = auth_timeframe;
    goto out;
  }
  c->error = NULL;
  c->description = NULL;
  *out = jwt;
  jwt = NULL;
out:
  jwt_free(jwt);
  json_object_put(hdr);
}

/* --- tokens ------------------------------------------------------------- */

static void token_prune(sim *s)
{
  uint64_t now = (uint64_t)time(NULL);

  for (sim_token **pp = &s->tokens; *pp;) {
    sim_token *t = *pp;

    if (t->exp_s < now) {
      *pp = t->next;
      OPENSSL_cleanse(t->token, strlen(t->token));
      free(t->token);
      free(t->email);
      free(t);
    } else {
      pp = &t->next;
    }
  }
}

static const char *token_issue(sim *s, const char *email)
{
  unsigned char rnd[24];
  char buf[80];
  sim_token *t;

  token_prune(s);
  if (RAND_bytes(rnd, sizeof(rnd)) != 1)
    return NULL;
  memcpy(buf, AUTH_TOKEN_PREFIX, sizeof(AUTH_TOKEN_PREFIX));
  hex(rnd, sizeof(rnd), buf + strlen(buf));
  t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->token = strdup(buf);
  t->email = strdup(email);
  t->exp_s = (uint64_t)time(NULL) + AUTH_TOKEN_LIFETIME_S;
  if (!t->token || !t->email) {
    free(t->token);
    free(t->email);
    free(t);
    return NULL;
  }
  t->next = s->tokens;
  s->tokens = t;
  sim_dirty(s);
  return t->token;
}

static json_object *token_json(const char *token, int expires_in)
{
  json_object *o = json_object_new_object();

  json_str(o, "access_token", token);
  json_object_object_add(o, "expires_in", json_object_new_int(expires_in));
  json_str(o, "token_type", "Bearer");
  return o;
}

/* Self-signed JWT as a bearer: aud https://SERVICE/ or a scope. */
static int auth_self_signed(sim *s, sim_req *req, const char *token)
{
  jwt_t *jwt;
  jwt_check c;
  const char *aud, *scope;
  int ok;

  jwt_verify_common(s, token, &jwt, &c);
  if (jwt == NULL)
    return -1;
  aud = jwt_get_grant(jwt, "aud");
  scope = jwt_get_grant(jwt, "scope");
  ok = (long)time(NULL) <= jwt_get_grant_int(jwt, "exp") &&
       ((aud && strncmp(aud, "https://", 8) == 0 &&
         strstr(aud, ".googleapis.com/") != NULL) ||
        (aud == NULL && scope != NULL));
  if (ok)
    req->principal = strdup(c.key->email);
  jwt_free(jwt);
  return ok ? 0 : -1;
}

int sim__auth_check(sim *s, sim_req *req)
{
  const char *h = sim_header(req, "Authorization");
  const char *token;
  uint64_t now = (uint64_t)time(NULL);

  if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
    return -1;
  token = h + 7;
  while (*token == ' ')
    token++;
  for (sim_token *t = s->tokens; t; t = t->next) {
    if (strcmp(t->token, token) == 0) {
      if (t->exp_s < now)
        return -1;
      req->principal = strdup(t->email);
      return 0;
    }
  }
  if (strchr(token, '.') && strchr(strchr(token, '.') + 1, '.'))
    return auth_self_signed(s, req, token);
  return -1;
}

/* --- form bodies -------------------------------------------------------- */

/* A field of an application/x-www-form-urlencoded body (malloc'd). */
static char *form_get(const char *body, size_t len, const char *key)
{
  size_t klen = strlen(key);
  const char *p = body, *end = body + len;

  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *fe = amp ? amp : end;

    if ((size_t)(fe - p) > klen && strncmp(p, key, klen) == 0 &&
        p[klen] == '=') {
      const char *v = p + klen + 1;
      char *out = strndup(v, (size_t)(fe - v));

      return out ? edv__http_unescape(out, 1) : NULL;
    }
    p = fe + 1;
  }
  return NULL;
}

/* --- handlers ----------------------------------------------------------- */

static int oauth_error(sim_resp *resp, const char *error, const char *desc)
{
  json_object *o = json_object_new_object();

  json_str(o, "error", error);
  json_str(o, "error_description", desc);
  return sim_resp_json(resp, 400, o);
}

static int aud_ok(sim *s, sim_req *req, const char *aud)
{
  char buf[320];

  if (aud == NULL)
    return 0;
  if (strcmp(aud, "https://oauth2.googleapis.com/token") == 0 ||
      strcmp(aud, "https://www.googleapis.com/oauth2/v4/token") == 0)
    return 1;
  snprintf(buf, sizeof(buf), "%s/token", sim_base_url(req));
  if (strcmp(aud, buf) == 0)
    return 1;
  snprintf(buf, sizeof(buf), "http://127.0.0.1:%u/token", sim_port(s));
  if (strcmp(aud, buf) == 0)
    return 1;
  snprintf(buf, sizeof(buf), "http://localhost:%u/token", sim_port(s));
  return strcmp(aud, buf) == 0;
}

/* POST /token: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer. */
static int auth_token(sim *s, sim_req *req, sim_resp *resp)
{
  size_t len;
  const char *body = sim_body_raw(req, &len);
  char *grant = form_get(body, len, "grant_type");
  char *assertion = form_get(body, len, "assertion");
  jwt_t *jwt = NULL;
  jwt_check c;
  const char *token;
  int result;

  if (grant == NULL) {
    result = oauth_error(resp, "invalid_request",
                         "Missing required parameter: grant_type");
  } else if (strcmp(grant, "urn:ietf:params:oauth:grant-type:jwt-bearer") !=
             0) {
    char msg[200];

    snprintf(msg, sizeof(msg), "Invalid grant_type: %.100s", grant);
    result = oauth_error(resp, "unsupported_grant_type", msg);
  } else if (assertion == NULL) {
    result = oauth_error(resp, "invalid_request",
                         "Missing required parameter: assertion");
  } else {
    jwt_verify_common(s, assertion, &jwt, &c);
    if (jwt == NULL) {
      result = oauth_error(resp, c.error, c.description);
    } else if (!aud_ok(s, req, jwt_get_grant(jwt, "aud"))) {
      /* Google does not publish the real text; this is a
       * plausible one (the code, invalid_grant, is what clients use). */
      result = oauth_error(resp, "invalid_grant",
                           "Invalid JWT: Failed audience check.");
    } else if ((token = token_issue(s, c.key->email)) == NULL) {
      result = sim_resp_json(resp, 500, NULL);
    } else {
      result = sim_resp_json(resp, 200,
                             token_json(token, AUTH_TOKEN_LIFETIME_S - 1));
      req->principal = strdup(c.key->email);
    }
  }
  jwt_free(jwt);
  free(grant);
  if (assertion) {
    OPENSSL_cleanse(assertion, strlen(assertion));
    free(assertion);
  }
  sim_resp_header(resp, "Cache-Control", "no-store");
  return result;
}

static const char *default_email(sim *s, char *buf, size_t n)
{
  snprintf(buf, n, "edv-sim@%s.iam.gserviceaccount.com", s->project);
  return buf;
}

/* The metadata server answers only requests that say Metadata-Flavor. */
static int md_check(sim_req *req, sim_resp *resp)
{
  const char *f = sim_header(req, "Metadata-Flavor");

  sim_resp_header(resp, "Metadata-Flavor", "Google");
  if (f && strcmp(f, "Google") == 0)
    return 0;
  sim_resp_text(resp, 403, "text/plain; charset=utf-8",
                "Missing required header \"Metadata-Flavor\": \"Google\"\n");
  return -1;
}

static int md_token(sim *s, sim_req *req, sim_resp *resp)
{
  char email[300];
  const char *token;

  if (md_check(req, resp) < 0)
    return SIM_DONE;
  token = token_issue(s, default_email(s, email, sizeof(email)));
  if (token == NULL)
    return sim_resp_json(resp, 500, NULL);
  req->principal = strdup(email);
  return sim_resp_json(resp, 200, token_json(token, AUTH_TOKEN_LIFETIME_S - 1));
}

static int md_project_id(sim *s, sim_req *req, sim_resp *resp)
{
  if (md_check(req, resp) < 0)
    return SIM_DONE;
  return sim_resp_text(resp, 200, "application/text", s->project);
}

static int md_project_number(sim *s, sim_req *req, sim_resp *resp)
{
  char buf[32];

  if (md_check(req, resp) < 0)
    return SIM_DONE;
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->project_number);
  return sim_resp_text(resp, 200, "application/text", buf);
}

static int md_email(sim *s, sim_req *req, sim_resp *resp)
{
  char email[300];

  if (md_check(req, resp) < 0)
    return SIM_DONE;
  return sim_resp_text(resp, 200, "application/text",
                       default_email(s, email, sizeof(email)));
}

static const sim_route oauth_routes[] = {
    {"POST", "/token", "oauth2.token", auth_token, NULL,
     SIM_ROUTE_NOAUTH | SIM_ROUTE_RAW_BODY, NULL},
};

static const sim_route md_routes[] = {
    {"GET", "/computeMetadata/v1/instance/service-accounts/default/token",
     "metadata.token", md_token, NULL, SIM_ROUTE_NOAUTH, NULL},
    {"GET", "/computeMetadata/v1/instance/service-accounts/default/email",
     "metadata.email", md_email, NULL, SIM_ROUTE_NOAUTH, NULL},
    {"GET", "/computeMetadata/v1/project/project-id", "metadata.projectId",
     md_project_id, NULL, SIM_ROUTE_NOAUTH, NULL},
    {"GET", "/computeMetadata/v1/project/numeric-project-id",
     "metadata.numericProjectId", md_project_number, NULL, SIM_ROUTE_NOAUTH,
     NULL},
};

int sim__auth_init(sim *s)
{
  if (sim_register(s, SIM_API_OAUTH, oauth_routes,
                   sizeof(oauth_routes) / sizeof(*oauth_routes)) < 0)
    return -1;
  return sim_register(s, SIM_API_METADATA, md_routes,
                      sizeof(md_routes) / sizeof(*md_routes));
}

void sim__auth_free(sim *s)
{
  while (s->keys) {
    sim_key *k = s->keys;

    s->keys = k->next;
    key_free(k);
  }
  while (s->tokens) {
    sim_token *t = s->tokens;

    s->tokens = t->next;
    OPENSSL_cleanse(t->token, strlen(t->token));
    free(t->token);
    free(t->email);
    free(t);
  }
}

/* --- persistence -------------------------------------------------------- */

json_object *sim__auth_save(sim *s)
{
  json_object *o = json_object_new_object(), *keys = json_object_new_array(),
              *tokens = json_object_new_array();

  for (sim_key *k = s->keys; k; k = k->next) {
    json_object *j = json_object_new_object();

    json_str(j, "kid", k->kid);
    json_str(j, "email", k->email);
    json_str(j, "publicKey", k->public_pem);
    if (k->private_pem)
      json_str(j, "privateKey", k->private_pem);
    json_str(j, "clientId", k->client_id ? k->client_id : "");
    json_object_array_add(keys, j);
  }
  for (sim_token *t = s->tokens; t; t = t->next) {
    json_object *j = json_object_new_object();

    json_str(j, "token", t->token);
    json_str(j, "email", t->email);
    json_object_object_add(j, "exp", json_object_new_int64((int64_t)t->exp_s));
    json_object_array_add(tokens, j);
  }
  json_object_object_add(o, "keys", keys);
  json_object_object_add(o, "tokens", tokens);
  return o;
}

static char *jstr(json_object *o, const char *k)
{
  const char *v = json_object_get_string(json_object_object_get(o, k));

  return v ? strdup(v) : NULL;
}

void sim__auth_load(sim *s, json_object *o)
{
  json_object *keys = json_object_object_get(o, "keys");
  json_object *tokens = json_object_object_get(o, "tokens");
  size_t n = keys ? json_object_array_length(keys) : 0;

  for (size_t i = 0; i < n; i++) {
    json_object *j = json_object_array_get_idx(keys, i);
    sim_key *k = calloc(1, sizeof(*k));

    if (k == NULL)
      return;
    k->kid = jstr(j, "kid");
    k->email = jstr(j, "email");
    k->public_pem = jstr(j, "publicKey");
    k->private_pem = jstr(j, "privateKey");
    k->client_id = jstr(j, "clientId");
    if (!k->kid || !k->email || !k->public_pem) {
      key_free(k);
      continue;
    }
    k->next = s->keys;
    s->keys = k;
  }
  n = tokens ? json_object_array_length(tokens) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *j = json_object_array_get_idx(tokens, i);
    sim_token *t = calloc(1, sizeof(*t));

    if (t == NULL)
      return;
    t->token = jstr(j, "token");
    t->email = jstr(j, "email");
    t->exp_s =
        (uint64_t)json_object_get_int64(json_object_object_get(j, "exp"));
    if (!t->token || !t->email) {
      free(t->token);
      free(t->email);
      free(t);
      continue;
    }
    t->next = s->tokens;
    s->tokens = t;
  }
  token_prune(s);
}
