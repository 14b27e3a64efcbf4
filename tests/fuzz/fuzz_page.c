/*
 * fuzz_page.c - list pages (src/transport/page.c): a page handed to
 * edv_call_pages()'s walk, its nextPageToken turned into the next page's
 * URL, and aggregatedList pages walked scope by scope. Compiled with
 * page.c itself to reach its static page callback; the next page's
 * request goes to edv_call_submit() without an engine, which refuses it,
 * so the walk ends with an error as it would on a failed submit.
 *
 * Input: the first line is the list's path, the rest a page body.
 */
#include "fuzz.h"
#include "transport/page.c"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  return 0;
}

static int on_page(void *data, json_object *page)
{
  (void)page;
  ++*(unsigned *)data;
  return 0;
}

static void on_done(void *data, const edv_error *err, unsigned pages)
{
  (void)data;
  (void)err;
  (void)pages;
}

static int on_item(void *data, const char *scope, json_object *item)
{
  (void)scope;
  (void)json_object_get_type(item);
  return ++*(unsigned *)data >= 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const kinds[] = {"instances", "disks", "addresses",
                                      "forwardingRules"};
  edv_response res;
  page_walk *w;
  unsigned seen = 0;
  char *s, *body, *url;
  size_t body_len, i;

  if (size > 64 * 1024)
    return 0;
  s = fuzz_str(data, size);
  body = fuzz_split(s, size, &body_len);
  memset(&res, 0, sizeof(res));
  res.http_status = 200;
  res.raw = body;
  res.raw_len = body_len;
  res.json = fuzz_json(body, body_len);

  w = calloc(1, sizeof(*w));
  w->path = strdup(s);
  w->page_cb = on_page;
  w->done_cb = on_done;
  w->data = &seen;
  page_on_response(w, &res); /* frees w */

  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    (void)edv__aggregated_foreach(res.json, kinds[i], on_item, &seen);
  /* The next page's URL with the token as Google gave it. */
  url = edv__url_with_param(s, "pageToken", body);
  free(url);
  json_object_put(res.json);
  free(s);
  return 0;
}
