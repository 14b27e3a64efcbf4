/*
 * batch.c - Compute's batch endpoint (`POST /batch/compute/v1`, the
 * discovery document's batchPath), as gcloud uses it for several requests
 * at once (`compute images list` over the public image projects, instance
 * groups): a multipart/mixed body whose parts are `application/http`
 * requests ("GET /compute/v1/projects/... HTTP/1.1", headers, blank line,
 * body), answered in one multipart/mixed response with an application/http
 * part per request, in order, each carrying `Content-ID: <response-ID>` for
 * a request part's `Content-ID: <ID>`. Every part runs as its own request
 * (routing, rate limit, body and filter checks, handler, request log); a
 * part that is not a Compute method gets the 404 a lone request would. A
 * body that is not such a multipart (no boundary, a part without a request
 * line, a path that is not a path, more than 1000 parts) is 400 and no part
 * runs.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd/httpd.h"
#include "sim/modules.h"
#include "sim/sim_int.h"

#define BATCH_MAX_PARTS 1000 /* Google's limit per batch */

/* --- a part's query and headers ------------------------------------------ */

static const char *sub_keep(sim_sub *sub, char *v)
{
  if (v == NULL)
    return NULL;
  if (sub->n_cache == (int)(sizeof(sub->cache) / sizeof(*sub->cache))) {
    free(v);
    return NULL;
  }
  sub->cache[sub->n_cache++] = v;
  return v;
}

const char *sim__sub_query(sim_sub *sub, const char *name)
{
  size_t n = strlen(name);

  for (const char *p = sub->query; p && *p;) {
    const char *end = strchr(p, '&');
    size_t len = end ? (size_t)(end - p) : strlen(p);

    if (len > n && strncmp(p, name, n) == 0 && p[n] == '=')
      return sub_keep(sub,
                      edv__http_unescape(strndup(p + n + 1, len - n - 1), 1));
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

static void sub_free(sim_sub *sub)
{
  free(sub->path_raw);
  free(sub->path);
  free(sub->query);
  free(sub->headers);
  for (int i = 0; i < sub->n_cache; i++)
    free(sub->cache[i]);
  memset(sub, 0, sizeof(*sub));
}

/* --- parsing -------------------------------------------------------------- */

/* The end of the header block starting at p (the blank line), and where
 * what follows it starts; NULL when there is none before end. */
static const char *headers_end(const char *p, const char *end,
                               const char **next)
{
  for (const char *q = p; q < end; q++) {
    if (*q != '\n')
      continue;
    if (q + 1 < end && q[1] == '\n') {
      *next = q + 2;
      return q + 1;
    }
    if (q + 2 < end && q[1] == '\r' && q[2] == '\n') {
      *next = q + 3;
      return q + 1;
    }
  }
  return NULL;
}

/* A header's value in the block [p, end) (malloc'd), or NULL. */
static char *block_header(const char *p, const char *end, const char *name)
{
  size_t n = strlen(name);

  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);

    if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
      const char *v = p + n + 1;

      while (*v == ' ')
        v++;
      len -= (size_t)(v - p);
      while (len && (v[len - 1] == '\r' || v[len - 1] == ' '))
        len--;
      return strndup(v, len);
    }
    if (eol == NULL)
      break;
    p = eol + 1;
  }
  return NULL;
}

const char *sim__sub_header(sim_sub *sub, const char *name)
{
  return sub_keep(sub, block_header(sub->headers,
                                    sub->headers + strlen(sub->headers), name));
}

/* One part [p, end): its Content-ID (malloc'd, without < >, or NULL) and
 * the request in sub. -1 when it is not an application/http request. */
static int parse_part(const char *p, const char *end, sim_sub *sub, char **cid)
{
  const char *body, *hend, *rq, *eol, *sp1, *sp2, *q;
  char *id;

  memset(sub, 0, sizeof(*sub));
  *cid = NULL;
  if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
    p += 2;
  else if (p < end && p[0] == '\n')
    p++;
  /* The part's own headers, then the request. */
  hend = headers_end(p, end, &rq);
  if (hend == NULL)
    return -1;
  id = block_header(p, hend, "Content-ID");
  if (id) {
    size_t n = strlen(id);

    *cid = id;
    if (n > 256)
      return -1;
    if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
      memmove(id, id + 1, n - 2);
      id[n - 2] = '\0';
    }
  }
  eol = memchr(rq, '\n', (size_t)(end - rq));
  if (eol == NULL)
    return -1;
  sp1 = memchr(rq, ' ', (size_t)(eol - rq));
  sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (sp1 == NULL || sp1 - rq >= (long)sizeof(sub->verb) || sp1 == rq ||
      sp1[1] != '/' || (sp2 && strncmp(sp2 + 1, "HTTP/", 5) != 0))
    return -1;
  for (const char *v = rq; v < sp1; v++)
    if (!isupper((unsigned char)*v))
      return -1;
  memcpy(sub->verb, rq, (size_t)(sp1 - rq));
  if (sp2 == NULL)
    sp2 = eol[-1] == '\r' ? eol - 1 : eol;
  q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
  sub->path_raw = strndup(sp1 + 1, (size_t)((q ? q : sp2) - sp1 - 1));
  sub->query = q ? strndup(q + 1, (size_t)(sp2 - q - 1)) : strdup("");
  sub->path =
      sub->path_raw ? edv__http_unescape(strdup(sub->path_raw), 0) : NULL;
  /* The request's headers and body. */
  hend = headers_end(eol, end, &body);
  if (hend == NULL) { /* no headers, no blank line: no body */
    hend = end;
    body = end;
  }
  sub->headers =
      strndup(eol + 1, (size_t)(hend - eol - 1 > 0 ? hend - eol - 1 : 0));
  sub->body = body;
  sub->body_len = (size_t)(end - body);
  while (sub->body_len &&
         (body[sub->body_len - 1] == '\n' || body[sub->body_len - 1] == '\r'))
    sub->body_len--;
  return sub->path && sub->query && sub->headers ? 0 : -1;
}

/* The boundary of a multipart/mixed Content-Type into out, or -1. */
static int boundary_of(const char *ctype, char *out, size_t n)
{
  const char *b;
  size_t len;

  if (ctype == NULL || strncasecmp(ctype, "multipart/mixed", 15) != 0 ||
      (b = strstr(ctype, "boundary=")) == NULL)
    return -1;
  b += 9;
  if (*b == '"') {
    const char *e = strchr(b + 1, '"');

    if (e == NULL)
      return -1;
    len = (size_t)(e - b - 1);
    b++;
  } else {
    len = strcspn(b, "; \t");
  }
  if (len == 0 || len + 1 > n)
    return -1;
  memcpy(out, b, len);
  out[len] = '\0';
  return 0;
}

/* --- the answer ----------------------------------------------------------- */

static const char *reason(int status)
{
  switch (status) {
  case 200:
    return "OK";
  case 204:
    return "No Content";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 409:
    return "Conflict";
  case 412:
    return "Precondition Failed";
  case 429:
    return "Too Many Requests";
  case 503:
    return "Service Unavailable";
  default:
    return status < 500 ? "Error" : "Internal Server Error";
  }
}

typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static int put(buf *b, const char *s, size_t n)
{
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *q = realloc(b->p, cap);

    if (q == NULL)
      return -1;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
  return 0;
}

/* One part of the answer: the inner request run, its response rendered. */
static int answer_part(sim_req *outer, sim_sub *sub, const char *cid, int k,
                       const char *bnd, buf *out)
{
  sim_req *in = calloc(1, sizeof(*in));
  char num[16], head[1200], *json = NULL;
  size_t len = 0;
  int rc;

  if (in == NULL)
    return -1;
  in->s = outer->s;
  in->sub = sub;
  in->base_url = strdup(outer->base_url);
  in->principal = outer->principal ? strdup(outer->principal) : NULL;
  sim__sub_run(in);
  snprintf(num, sizeof(num), "%d", k + 1);
  if (in->resp.json)
    json = sim__render(in, in->resp.json, &len);
  snprintf(head, sizeof(head),
           "--%s\r\nContent-Type: application/http\r\nContent-ID: "
           "<response-%s>\r\n\r\nHTTP/1.1 %d %s\r\nContent-Type: %s\r\n\r\n",
           bnd, cid ? cid : num, in->resp.status, reason(in->resp.status),
           in->resp.json    ? "application/json; charset=UTF-8"
           : in->resp.ctype ? in->resp.ctype
                            : "text/plain; charset=utf-8");
  rc = put(out, head, strlen(head));
  if (json)
    rc |= put(out, json, len);
  else if (in->resp.text)
    rc |= put(out, in->resp.text, strlen(in->resp.text));
  rc |= put(out, "\r\n", 2);
  free(json);
  sim__req_free(in);
  return rc ? -1 : 0;
}

static int batch_err(sim_resp *resp, const char *why)
{
  return sim_err_legacy(resp, 400, "badRequest",
                        "Failed to parse batch request, error: %s. Received "
                        "batch body: (multipart/mixed)",
                        why);
}

static int batch_post(sim *s, sim_req *req, sim_resp *resp)
{
  char bnd[200], delim[210], obnd[64], ctype[120];
  const char *body, *p, *end;
  size_t len;
  sim_sub *subs;
  char **cids;
  int n = 0, bad = 0;
  buf out = {0};

  if (boundary_of(sim_header(req, "Content-Type"), bnd, sizeof(bnd)) < 0)
    return batch_err(resp, "the Content-Type is not multipart/mixed with a "
                           "boundary");
  body = sim_body_raw(req, &len);
  end = body + len;
  snprintf(delim, sizeof(delim), "--%s", bnd);
  subs = calloc(BATCH_MAX_PARTS, sizeof(*subs));
  cids = calloc(BATCH_MAX_PARTS, sizeof(*cids));
  if (subs == NULL || cids == NULL) {
    free(subs);
    free(cids);
    return sim_resp_json(resp, 503, NULL);
  }
  /* Every part parsed before any runs: a malformed one fails them all. */
  p = body ? strstr(body, delim) : NULL;
  while (p && !bad) {
    const char *start = p + strlen(delim), *next;

    if (strncmp(start, "--", 2) == 0)
      break; /* the closing delimiter */
    next = strstr(start, delim);
    if (next == NULL || next > end || n == BATCH_MAX_PARTS) {
      bad = 1;
      break;
    }
    if (parse_part(start, next, &subs[n], &cids[n]) < 0)
      bad = 1;
    n++; /* freed below either way */
    p = next;
  }
  if (p == NULL || n == 0)
    bad = 1;
  snprintf(obnd, sizeof(obnd), "batch_%016llx",
           (unsigned long long)sim_rand(s));
  for (int k = 0; k < n && !bad; k++)
    if (answer_part(req, &subs[k], cids[k], k, obnd, &out) < 0)
      bad = 2;
  if (!bad && (put(&out, "--", 2) < 0 || put(&out, obnd, strlen(obnd)) < 0 ||
               put(&out, "--\r\n", 4) < 0))
    bad = 2;
  for (int k = 0; k < n; k++) {
    sub_free(&subs[k]);
    free(cids[k]);
  }
  free(subs);
  free(cids);
  if (bad) {
    free(out.p);
    return bad == 2 ? sim_resp_json(resp, 503, NULL)
                    : batch_err(resp, "a part is not an application/http "
                                      "request (or the closing delimiter "
                                      "is missing)");
  }
  snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=%s", obnd);
  sim_resp_text(resp, 200, ctype, out.p);
  free(out.p);
  return SIM_DONE;
}

static const sim_route batch_routes[] = {
    {"POST", "/batch/compute/v1", "compute.batch", batch_post, NULL,
     SIM_ROUTE_RAW_BODY, NULL},
};

int sim_batch_init(sim *s)
{
  return sim_register(s, SIM_API_COMPUTE, batch_routes,
                      sizeof(batch_routes) / sizeof(*batch_routes));
}
