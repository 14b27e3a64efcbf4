/*
 * metadata.c - access tokens and the project id from the GCE metadata
 * server (the VM's attached service account).
 *
 *   GET {root}/computeMetadata/v1/instance/service-accounts/default/token
 *   GET {root}/computeMetadata/v1/project/project-id   (raw text body)
 *
 * Both carry `Metadata-Flavor: Google`, and an answer without that header
 * is refused: something that is not the metadata server (a captive portal,
 * a proxy) must not hand us tokens. The root comes from GCE_METADATA_HOST,
 * then the legacy GCE_METADATA_ROOT (both host[:port]), then GCE_METADATA_IP,
 * else metadata.google.internal, as google-auth-python does. The timeout is
 * short (3 s, python's default) because off GCE the probe must fail fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/internal.h"
#include "common/log.h"

#define MD_TIMEOUT_MS 3000u
#define MD_TOKEN_PATH                                                          \
  "/computeMetadata/v1/instance/service-accounts/default/token"
#define MD_PROJECT_PATH "/computeMetadata/v1/project/project-id"

static const char *const md_headers[] = {"Metadata-Flavor: Google", NULL};

char *edv__metadata_root(void)
{
  const char *host = getenv("GCE_METADATA_HOST");
  char *root;
  size_t n;

  if (!host || !host[0])
    host = getenv("GCE_METADATA_ROOT");
  if (!host || !host[0])
    host = getenv("GCE_METADATA_IP");
  if (!host || !host[0])
    host = "metadata.google.internal";
  if (strncmp(host, "http://", 7) == 0)
    host += 7;
  n = strlen(host) + sizeof("http://");
  root = malloc(n);
  if (!root)
    return NULL;
  snprintf(root, n, "http://%s", host);
  /* GCE_METADATA_ROOT was sometimes set with a trailing slash. */
  n = strlen(root);
  while (n > 7 && root[n - 1] == '/')
    root[--n] = '\0';
  return root;
}

typedef struct md_ctx {
  edv__fetch *f;
  char *url;
  int project; /* 1: the project-id call */
} md_ctx;

static int md_flavor_ok(const edv_response *res)
{
  const char *v = edv_response_header(res, "Metadata-Flavor");
  return v && strcasecmp(v, "Google") == 0;
}

static void md_project_done(md_ctx *x, const edv_response *res)
{
  edv__fetch *f = x->f;
  size_t n;

  f->pcall = NULL;
  if (res->error || !res->raw || !md_flavor_ok(res)) {
    /* The project id is a convenience: config `project` wins anyway. */
    EDV_LOG_D("auth", "metadata server gave no project id (HTTP %d)",
              res->http_status);
    return;
  }
  n = strcspn(res->raw, " \t\r\n");
  if (n == 0 || n > 100)
    return;
  free(f->project_id);
  f->project_id = strndup(res->raw, n);
}

static void md_token_done(md_ctx *x, const edv_response *res)
{
  edv__fetch *f = x->f;

  f->call = NULL;
  if (res->error) {
    f->failed = 1;
    f->err = *res->error;
  } else if (!md_flavor_ok(res)) {
    f->failed = 1;
    edv_error_set(&f->err, EDV_EPROTO,
                  "%s answered without the `Metadata-Flavor: Google` "
                  "header: not the metadata server",
                  x->url);
    f->err.http_status = res->http_status;
  } else if (edv__token_response_parse(res->json, "metadata server", f,
                                       &f->err) != 0) {
    f->failed = 1;
  }
  if (f->failed)
    snprintf(f->err.where, sizeof(f->err.where), "GET %s", x->url);
}

static void md_done(void *data, const edv_response *res)
{
  md_ctx *x = data;
  edv__fetch *f = x->f;

  if (x->project)
    md_project_done(x, res);
  else
    md_token_done(x, res);
  free(x->url);
  free(x);
  edv__fetch_call_done(f);
}

static int md_submit(edv_engine *engine, edv__fetch *f, const char *root,
                     const char *path, const char *query, int project,
                     edv_error *err)
{
  edv_request req = {0};
  md_ctx *x = calloc(1, sizeof(*x));
  size_t n;
  int result;

  if (!x)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  n = strlen(root) + strlen(path) + (query ? strlen(query) : 0) + 1;
  x->url = malloc(n);
  if (!x->url) {
    free(x);
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  }
  snprintf(x->url, n, "%s%s%s", root, path, query ? query : "");
  x->f = f;
  x->project = project;
  req.api = EDV_API_OAUTH2;
  req.method = "GET";
  req.path = x->url;
  req.headers = md_headers;
  req.flags = EDV_REQ_NOAUTH | (project ? EDV_REQ_RAWBODY : 0);
  req.timeout_ms = MD_TIMEOUT_MS;
  req.label = project ? "metadata.project-id" : "metadata.token";
  f->pending++;
  result =
      edv_call_submit(engine, &req, md_done, x, project ? &f->pcall : &f->call);
  if (result != 0) {
    f->pending--;
    free(x->url);
    free(x);
    return edv_error_set(err, EDV_EINTERNAL,
                         "cannot submit the metadata request (%d)", result);
  }
  return 0;
}

int edv__metadata_start(edv_engine *engine, const edv__creds *c,
                        const char *scopes_csv, int want_project, edv__fetch *f,
                        edv_error *err)
{
  const char *root =
      c->metadata_root ? c->metadata_root : "http://metadata.google.internal";
  char *query = NULL;
  int result;

  if (scopes_csv && scopes_csv[0]) {
    size_t n = strlen(scopes_csv) + sizeof("?scopes=");
    query = malloc(n);
    if (!query)
      return edv_error_set(err, EDV_ENOMEM, "out of memory");
    snprintf(query, n, "?scopes=%s", scopes_csv);
  }
  result = md_submit(engine, f, root, MD_TOKEN_PATH, query, 0, err);
  free(query);
  if (result == 0 && want_project &&
      md_submit(engine, f, root, MD_PROJECT_PATH, NULL, 1, NULL) != 0)
    EDV_LOG_D("auth", "cannot ask the metadata server for the project id");
  return result;
}
