/*
 * page.c - following nextPageToken, and walking aggregatedList pages.
 *
 * edv_call_pages() is a small loop over edv_call_submit(): each page's
 * request is the caller's path plus `pageToken=<token>` (percent-encoded:
 * tokens are opaque and may hold '+', '/' or '='). Every page is built from
 * the original path, so tokens never pile up in the query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/transport.h"

char *edv__url_with_param(const char *path, const char *name, const char *value)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t plen = strlen(path), nlen = strlen(name), vlen = strlen(value);
  char *out = malloc(plen + nlen + 3 * vlen + 3);
  char *p;
  const char *v;
  char sep;

  if (!out)
    return NULL;
  if (!strchr(path, '?'))
    sep = '?';
  else
    sep = plen && (path[plen - 1] == '?' || path[plen - 1] == '&') ? 0 : '&';
  memcpy(out, path, plen);
  p = out + plen;
  if (sep)
    *p++ = sep;
  memcpy(p, name, nlen);
  p += nlen;
  *p++ = '=';
  for (v = value; *v; v++) {
    unsigned char c = (unsigned char)*v;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      *p++ = (char)c;
    } else {
      *p++ = '%';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 15];
    }
  }
  *p = '\0';
  return out;
}

int edv__aggregated_foreach(json_object *page, const char *kind_key,
                            int (*cb)(void *data, const char *scope,
                                      json_object *item),
                            void *data)
{
  json_object *items, *list;
  size_t i, n;
  int result;

  if (!page || !json_object_object_get_ex(page, "items", &items) ||
      !json_object_is_type(items, json_type_object))
    return 0;
  json_object_object_foreach(items, scope, scoped)
  {
    /* Scopes with nothing to show carry only a NO_RESULTS_ON_PAGE
     * warning; scopes that failed carry another warning, and the caller
     * sees those in the page's own `unreachables`/`warning` fields. */
    if (!json_object_object_get_ex(scoped, kind_key, &list) ||
        !json_object_is_type(list, json_type_array))
      continue;
    n = json_object_array_length(list);
    for (i = 0; i < n; i++) {
      result = cb(data, scope, json_object_array_get_idx(list, i));
      if (result)
        return result;
    }
  }
  return 0;
}

/* State of one edv_call_pages() walk. */
typedef struct page_walk {
  edv_engine *engine;
  edv_request req; /* the caller's request; strings below are copies */
  char *path;      /* the original path */
  char *label;
  char **headers; /* NULL-ended copy */
  edv_page_cb page_cb;
  edv_pages_done_cb done_cb;
  void *data;
  unsigned pages;
} page_walk;

static void page_free(page_walk *w)
{
  size_t i;

  for (i = 0; w->headers && w->headers[i]; i++)
    free(w->headers[i]);
  free(w->headers);
  free(w->path);
  free(w->label);
  if (w->req.body)
    json_object_put(w->req.body);
  free(w);
}

static void page_done(page_walk *w, const edv_error *err)
{
  w->done_cb(w->data, err, w->pages);
  page_free(w);
}

/* Requests the first page (token NULL) or the page after `token`. */
static int page_submit(page_walk *w, const char *token);

/* One page arrived: hand it over, then ask for the next if any. */
static void page_on_response(void *data, const edv_response *res)
{
  page_walk *w = data;
  json_object *next;
  const char *token = NULL;
  edv_error err;
  int result;

  if (res->error) {
    page_done(w, res->error);
    return;
  }
  w->pages++;
  if (res->json && json_object_object_get_ex(res->json, "nextPageToken", &next))
    token = json_object_get_string(next);
  if (w->page_cb(w->data, res->json) != 0 || !token || !token[0]) {
    page_done(w, NULL);
    return;
  }
  result = page_submit(w, token);
  if (result != 0) {
    edv_error_set(&err, (edv_code)result, "cannot request page %u",
                  w->pages + 1);
    page_done(w, &err);
  }
}

static int page_submit(page_walk *w, const char *token)
{
  char *path = token ? edv__url_with_param(w->path, "pageToken", token)
                     : strdup(w->path);
  int result;

  if (!path)
    return EDV_ENOMEM;
  w->req.path = path;
  result = edv_call_submit(w->engine, &w->req, page_on_response, w, NULL);
  w->req.path = NULL;
  free(path); /* edv_call_submit copied the URL */
  return result;
}

static int page_copy_headers(page_walk *w, const char *const *headers)
{
  size_t n = 0, i;

  while (headers && headers[n])
    n++;
  if (!n)
    return 0;
  w->headers = calloc(n + 1, sizeof(char *));
  if (!w->headers)
    return -1;
  for (i = 0; i < n; i++)
    if (!(w->headers[i] = strdup(headers[i])))
      return -1;
  w->req.headers = (const char *const *)w->headers;
  return 0;
}

int edv_call_pages(edv_engine *engine, const edv_request *req,
                   edv_page_cb page_cb, edv_pages_done_cb done_cb, void *data)
{
  page_walk *w;
  int result;

  if (!engine || !req || !req->path || !page_cb || !done_cb)
    return EDV_EINVAL;
  w = calloc(1, sizeof(*w));
  if (!w)
    return EDV_ENOMEM;
  w->engine = engine;
  w->req = *req;
  w->req.flags &= ~EDV_REQ_RAWBODY; /* pages are JSON by definition */
  w->req.headers = NULL;
  w->page_cb = page_cb;
  w->done_cb = done_cb;
  w->data = data;
  w->path = strdup(req->path);
  w->label = req->label ? strdup(req->label) : NULL;
  w->req.label = w->label;
  if (req->body)
    json_object_get(req->body);
  if (!w->path || (req->label && !w->label) ||
      page_copy_headers(w, req->headers) != 0) {
    page_free(w);
    return EDV_ENOMEM;
  }
  result = page_submit(w, NULL);
  if (result != 0)
    page_free(w);
  return result;
}
