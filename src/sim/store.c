/*
 * store.c - the resource store: JSON objects by canonical name, in name
 * order, plus label selectors and list pages (filters: filter.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

/* --- the index ---------------------------------------------------------- */

size_t sim__index_find(const sim_index *ix, const char *name, int *found)
{
  size_t lo = 0, hi = ix->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(ix->v[mid].name, name);

    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

int sim__index_insert(sim_index *ix, size_t pos, const char *name, void *p)
{
  if (ix->n == ix->cap) {
    size_t cap = ix->cap ? ix->cap * 2 : 256;
    sim_slot *v = realloc(ix->v, cap * sizeof(*v));

    if (v == NULL)
      return -1;
    ix->v = v;
    ix->cap = cap;
  }
  memmove(&ix->v[pos + 1], &ix->v[pos], (ix->n - pos) * sizeof(*ix->v));
  ix->v[pos].name = name;
  ix->v[pos].p = p;
  ix->n++;
  return 0;
}

void sim__index_remove(sim_index *ix, size_t pos)
{
  memmove(&ix->v[pos], &ix->v[pos + 1], (ix->n - pos - 1) * sizeof(*ix->v));
  ix->n--;
}

/* --- secondary indexes -------------------------------------------------- */

struct sim_xindex {
  struct sim_xindex *next;
  char *kind;
  sim_store_keys_fn keys;
  json_object *by_key;  /* key -> {name: null} */
  json_object *by_name; /* name -> [key, ...]: what to undo on a change */
};

static struct sim_xindex *xindex_of(sim *s, const char *kind)
{
  for (struct sim_xindex *x = s->xindexes; kind && x; x = x->next)
    if (strcmp(x->kind, kind) == 0)
      return x;
  return NULL;
}

int sim_store_index(sim *s, const char *kind, sim_store_keys_fn keys)
{
  struct sim_xindex *x = xindex_of(s, kind);

  if (x) {
    x->keys = keys;
    return 0;
  }
  x = calloc(1, sizeof(*x));
  if (x == NULL || (x->kind = strdup(kind)) == NULL) {
    free(x);
    return -1;
  }
  x->keys = keys;
  x->by_key = json_object_new_object();
  x->by_name = json_object_new_object();
  x->next = s->xindexes;
  s->xindexes = x;
  return 0;
}

struct xindex_emit {
  struct sim_xindex *x;
  const char *name;
  json_object *keys;
};

static void xindex_emit(void *ctx, const char *key)
{
  struct xindex_emit *e = ctx;
  json_object *names;

  if (!json_object_object_get_ex(e->x->by_key, key, &names)) {
    names = json_object_new_object();
    json_object_object_add(e->x->by_key, key, names);
  }
  json_object_object_add(names, e->name, NULL);
  json_object_array_add(e->keys, json_object_new_string(key));
}

/* Drops name's keys. */
static void xindex_unlink(struct sim_xindex *x, const char *name)
{
  json_object *keys, *names;

  if (!json_object_object_get_ex(x->by_name, name, &keys))
    return;
  for (size_t i = 0; i < json_object_array_length(keys); i++) {
    const char *k = json_object_get_string(json_object_array_get_idx(keys, i));

    if (json_object_object_get_ex(x->by_key, k, &names)) {
      json_object_object_del(names, name);
      if (json_object_object_length(names) == 0)
        json_object_object_del(x->by_key, k);
    }
  }
  json_object_object_del(x->by_name, name);
}

/* The entry `name` of `kind` is now obj (NULL: gone). */
static void xindex_update(sim *s, const char *kind, const char *name,
                          json_object *obj)
{
  struct sim_xindex *x = xindex_of(s, kind);
  struct xindex_emit e;

  if (x == NULL)
    return;
  xindex_unlink(x, name);
  if (obj == NULL)
    return;
  e.x = x;
  e.name = name;
  e.keys = json_object_new_array();
  x->keys(s, obj, xindex_emit, &e);
  json_object_object_add(x->by_name, name, e.keys);
}

static json_object *sim_store_lookup(sim *s, const char *kind, const char *key)
{
  struct sim_xindex *x = xindex_of(s, kind);
  json_object *names;

  return x && json_object_object_get_ex(x->by_key, key, &names) ? names : NULL;
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **sim_store_lookup_sorted(sim *s, const char *kind, const char *key,
                                     const char *prefix, size_t *n)
{
  json_object *names = sim_store_lookup(s, kind, key);
  size_t cap = names ? (size_t)json_object_object_length(names) : 0;
  size_t plen = prefix ? strlen(prefix) : 0;
  const char **v = cap ? calloc(cap, sizeof(*v)) : NULL;

  *n = 0;
  if (v == NULL)
    return NULL;
  json_object_object_foreach(names, name, unused)
  {
    (void)unused;
    if (*n < cap && strncmp(name, prefix ? prefix : "", plen) == 0)
      v[(*n)++] = name;
  }
  qsort(v, *n, sizeof(*v), name_cmp);
  return v;
}

void sim__store_index_free(sim *s)
{
  while (s->xindexes) {
    struct sim_xindex *x = s->xindexes;

    s->xindexes = x->next;
    json_object_put(x->by_key);
    json_object_put(x->by_name);
    free(x->kind);
    free(x);
  }
}

/* --- the store ---------------------------------------------------------- */

static void entry_free(sim_entry *e)
{
  free(e->name);
  free(e->kind);
  json_object_put(e->obj);
  free(e);
}

json_object *sim_store_get(sim *s, const char *name)
{
  int found;
  size_t pos = sim__index_find(&s->res, name, &found);

  return found ? ((sim_entry *)s->res.v[pos].p)->obj : NULL;
}

const char *sim_store_kind(sim *s, const char *name)
{
  int found;
  size_t pos = sim__index_find(&s->res, name, &found);

  return found ? ((sim_entry *)s->res.v[pos].p)->kind : NULL;
}

int sim_store_put(sim *s, const char *name, const char *kind, json_object *obj)
{
  int found;
  size_t pos = sim__index_find(&s->res, name, &found);
  sim_entry *e;

  if (found) {
    e = s->res.v[pos].p;
    if (e->obj != obj) {
      json_object_put(e->obj);
      e->obj = obj;
    }
    if (kind && strcmp(kind, e->kind) != 0) {
      char *k = strdup(kind);

      if (k) {
        xindex_update(s, e->kind, e->name, NULL);
        free(e->kind);
        e->kind = k;
      }
    }
    xindex_update(s, e->kind, e->name, e->obj);
    return 0;
  }
  e = calloc(1, sizeof(*e));
  if (e == NULL) {
    json_object_put(obj);
    return -1;
  }
  e->name = strdup(name);
  e->kind = strdup(kind ? kind : "");
  e->obj = obj;
  if (!e->name || !e->kind || sim__index_insert(&s->res, pos, e->name, e) < 0) {
    entry_free(e);
    return -1;
  }
  xindex_update(s, e->kind, e->name, e->obj);
  return 0;
}

int sim_store_del(sim *s, const char *name)
{
  int found;
  size_t pos = sim__index_find(&s->res, name, &found);

  if (!found)
    return -1;
  xindex_update(s, ((sim_entry *)s->res.v[pos].p)->kind, name, NULL);
  entry_free(s->res.v[pos].p);
  sim__index_remove(&s->res, pos);
  return 0;
}

int sim_name_under(const char *name, const char *prefix)
{
  while (*prefix) {
    const char *seg_end = strchr(prefix, '/');

    if (prefix[0] == '-' && (prefix[1] == '/' || prefix[1] == '\0')) {
      const char *n_end = strchr(name, '/');

      if (*name == '\0' || n_end == name)
        return 0;
      name = n_end ? n_end : name + strlen(name);
      prefix++;
    } else {
      size_t len = seg_end ? (size_t)(seg_end - prefix) : strlen(prefix);

      if (strncmp(name, prefix, len) != 0)
        return 0;
      name += len;
      prefix += len;
    }
    if (*prefix == '/') {
      if (*name != '/')
        return 0;
      name++;
      prefix++;
    }
  }
  return 1;
}

/* The literal part of a prefix, before its first "-" segment; wild is set
 * when there is one. */
size_t sim__literal_prefix(const char *prefix, int *wild)
{
  for (const char *p = prefix; (p = strstr(p, "-")) != NULL; p++)
    if ((p == prefix || p[-1] == '/') && (p[1] == '/' || p[1] == '\0')) {
      *wild = 1;
      return (size_t)(p - prefix);
    }
  *wild = 0;
  return strlen(prefix);
}

void sim_store_each(sim *s, const char *prefix, sim_store_cb cb, void *data)
{
  int found, wild = 0;
  size_t plen = prefix ? sim__literal_prefix(prefix, &wild) : 0;
  char lit[512];
  size_t pos;

  snprintf(lit, sizeof(lit), "%.*s", (int)plen, prefix ? prefix : "");
  pos = plen ? sim__index_find(&s->res, lit, &found) : 0;
  for (; pos < s->res.n; pos++) {
    sim_entry *e = s->res.v[pos].p;

    if (plen && strncmp(e->name, lit, plen) != 0)
      break;
    if (wild && !sim_name_under(e->name, prefix))
      continue;
    if (cb(data, e->name, e->kind, e->obj))
      break;
  }
}

size_t sim_store_count(sim *s, const char *prefix, const char *kind)
{
  int found;
  size_t plen = prefix ? strlen(prefix) : 0, n = 0;
  size_t pos = plen ? sim__index_find(&s->res, prefix, &found) : 0;

  for (; pos < s->res.n; pos++) {
    sim_entry *e = s->res.v[pos].p;

    if (plen && strncmp(e->name, prefix, plen) != 0)
      break;
    n += kind == NULL || strcmp(e->kind, kind) == 0;
  }
  return n;
}

void sim__store_clear(sim *s)
{
  for (size_t i = 0; i < s->res.n; i++)
    entry_free(s->res.v[i].p);
  s->res.n = 0;
  for (struct sim_xindex *x = s->xindexes; x; x = x->next) {
    json_object_put(x->by_key);
    json_object_put(x->by_name);
    x->by_key = json_object_new_object();
    x->by_name = json_object_new_object();
  }
}

/* --- labels and filters ------------------------------------------------- */

static int labels_has(json_object *labels, const char *key, const char *val)
{
  json_object *v;

  if (labels == NULL || !json_object_object_get_ex(labels, key, &v))
    return 0;
  return val == NULL || strcmp(json_object_get_string(v), val) == 0;
}

int sim_labels_match(json_object *obj, const char *selector)
{
  char key[128];
  const char *eq = strchr(selector, '=');
  json_object *settings = NULL;
  int result;

  snprintf(key, sizeof(key), "%.*s",
           (int)(eq ? (size_t)(eq - selector) : strlen(selector)), selector);
  json_object_object_get_ex(obj, "settings", &settings);
  result = labels_has(json_object_object_get(obj, "labels"), key,
                      eq ? eq + 1 : NULL) ||
           labels_has(json_object_object_get(settings, "userLabels"), key,
                      eq ? eq + 1 : NULL);
  return result;
}

/* --- list pages --------------------------------------------------------- */

struct page_ctx {
  const char *kind, *filter, *token;
  long max;
  json_object *items;
  const char *next;
  long n;
};

static int page_cb(void *data, const char *name, const char *kind,
                   json_object *obj)
{
  struct page_ctx *c = data;

  if (c->kind && strcmp(kind, c->kind) != 0)
    return 0;
  if (c->token && strcmp(name, c->token) < 0)
    return 0;
  if (!sim_filter_match(obj, c->filter))
    return 0;
  if (c->n == c->max) {
    c->next = name;
    return 1;
  }
  json_object_array_add(c->items, json_object_get(obj));
  c->n++;
  return 0;
}

json_object *sim_list_page(sim *s, sim_req *req, const char *prefix,
                           const char *kind, const char *list_kind,
                           const char *self_link)
{
  struct page_ctx c;
  const char *max = sim_query(req, "maxResults");
  json_object *out = json_object_new_object();
  char id[300];

  memset(&c, 0, sizeof(c));
  c.kind = kind;
  c.filter = sim_query(req, "filter");
  c.token = sim_query(req, "pageToken");
  c.max = max ? strtol(max, NULL, 10) : 500;
  if (c.max <= 0 || c.max > 500)
    c.max = 500;
  c.items = json_object_new_array();
  sim_store_each(s, prefix, page_cb, &c);
  json_object_object_add(out, "kind", json_object_new_string(list_kind));
  /* Compute lists name the collection as their id. */
  snprintf(id, sizeof(id), "%.*s",
           (int)(strlen(prefix) && prefix[strlen(prefix) - 1] == '/'
                     ? strlen(prefix) - 1
                     : strlen(prefix)),
           prefix);
  json_object_object_add(out, "id", json_object_new_string(id));
  json_object_object_add(out, "items", c.items);
  if (self_link)
    json_object_object_add(out, "selfLink", json_object_new_string(self_link));
  /* The page token is the first name of the next page: stable while
   * entries come and go, which is all a simulator needs. */
  if (c.next)
    json_object_object_add(out, "nextPageToken",
                           json_object_new_string(c.next));
  return out;
}
