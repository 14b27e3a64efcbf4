/*
 * route.c - route templates from the discovery documents, and matching.
 *
 * A template is split on '/' into literal segments and parameters: "{x}"
 * takes one segment, "{+x}" one or more (RFC 6570 reserved expansion, as
 * discovery paths use it), and a parameter may carry a literal suffix in
 * its segment ("{secretsId}:addVersion"). The best match is the one with
 * the most literal segments, so "/v1/projects/{p}/instances" beats
 * "/v1/{+parent}/instances" whatever the registration order; a literal
 * suffix ("{+name}:access") beats none, and a matching Host beats none.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sim/sim_int.h"

static void seg_free(sim_seg *g)
{
  free(g->lit);
  free(g->param);
  free(g->suffix);
}

static int seg_parse(sim_seg *g, const char *text, size_t len)
{
  const char *close;

  memset(g, 0, sizeof(*g));
  if (len == 0 || text[0] != '{') {
    g->lit = strndup(text, len);
    return g->lit ? 0 : -1;
  }
  close = memchr(text, '}', len);
  if (close == NULL)
    return -1;
  g->plus = text[1] == '+';
  g->param =
      strndup(text + 1 + g->plus, (size_t)(close - text) - 1 - (size_t)g->plus);
  g->suffix = strndup(close + 1, len - (size_t)(close - text) - 1);
  return g->param && g->suffix && *g->param ? 0 : -1;
}

int sim__route_add(sim *s, sim_api api, const sim_route *r)
{
  sim_rt rt;
  const char *p;
  size_t cap = 0;

  memset(&rt, 0, sizeof(rt));
  rt.r = r;
  rt.api = api;
  if (r->path == NULL || r->path[0] != '/' || r->handler == NULL)
    goto bad;
  for (p = r->path + 1;;) {
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);

    if (rt.n_segs == cap) {
      sim_seg *v = realloc(rt.segs, (cap = cap ? cap * 2 : 8) * sizeof(*v));

      if (v == NULL)
        goto bad;
      rt.segs = v;
    }
    if (seg_parse(&rt.segs[rt.n_segs], p, len) < 0) {
      seg_free(&rt.segs[rt.n_segs]);
      goto bad;
    }
    rt.literals += rt.segs[rt.n_segs].lit != NULL;
    rt.n_segs++;
    if (end == NULL)
      break;
    p = end + 1;
  }
  if (s->n_routes == s->cap_routes) {
    size_t ncap = s->cap_routes ? s->cap_routes * 2 : 64;
    sim_rt *v = realloc(s->routes, ncap * sizeof(*v));

    if (v == NULL)
      goto bad;
    s->routes = v;
    s->cap_routes = ncap;
  }
  s->routes[s->n_routes++] = rt;
  return 0;
bad:
  EDV_LOG_E("sim", "bad route template %s %s", r->verb ? r->verb : "?",
            r->path ? r->path : "(null)");
  for (size_t i = 0; i < rt.n_segs; i++)
    seg_free(&rt.segs[i]);
  free(rt.segs);
  return -1;
}

int sim_register(sim *s, sim_api api, const sim_route *routes, size_t n)
{
  int result = 0;

  for (size_t i = 0; i < n; i++)
    if (sim__route_add(s, api, &routes[i]) < 0)
      result = -1;
  return result;
}

void sim__routes_free(sim *s)
{
  for (size_t i = 0; i < s->n_routes; i++) {
    for (size_t j = 0; j < s->routes[i].n_segs; j++)
      seg_free(&s->routes[i].segs[j]);
    free(s->routes[i].segs);
  }
  free(s->routes);
  s->routes = NULL;
  s->n_routes = s->cap_routes = 0;
}

const sim_rt *sim__route_by_method(sim *s, const char *method_id)
{
  for (size_t i = 0; method_id && i < s->n_routes; i++)
    if (s->routes[i].r->method_id &&
        strcmp(s->routes[i].r->method_id, method_id) == 0)
      return &s->routes[i];
  return NULL;
}

static int cmp_id(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sim__route_bodiless(const sim_rt *rt)
{
  const char *id = rt->r->method_id;

  if (strcmp(rt->r->verb, "GET") == 0 || strcmp(rt->r->verb, "DELETE") == 0)
    return 1;
  return id && bsearch(&id, sim__bodiless_ids, sim__n_bodiless_ids,
                       sizeof(*sim__bodiless_ids), cmp_id) != NULL;
}

/* Path segments of a request, split on '/'. */
typedef struct {
  const char *p[64];
  size_t len[64];
  size_t n;
} segv;

typedef struct {
  int n;
  const char *name[SIM_MAX_PARAMS];
  const char *val[SIM_MAX_PARAMS];
  size_t len[SIM_MAX_PARAMS];
} capv;

static int ends_with(const char *p, size_t len, const char *suf)
{
  size_t sl = strlen(suf);

  return len > sl && memcmp(p + len - sl, suf, sl) == 0;
}

/* Matches template segments [ti..] against path segments [pi..]. */
static int match_from(const sim_rt *rt, size_t ti, const segv *sv, size_t pi,
                      capv *cv)
{
  const sim_seg *g;

  if (ti == rt->n_segs)
    return pi == sv->n;
  if (pi == sv->n)
    return 0;
  g = &rt->segs[ti];
  if (g->lit) {
    if (strlen(g->lit) != sv->len[pi] ||
        memcmp(g->lit, sv->p[pi], sv->len[pi]) != 0)
      return 0;
    return match_from(rt, ti + 1, sv, pi + 1, cv);
  }
  if (cv->n >= SIM_MAX_PARAMS)
    return 0;
  if (!g->plus) {
    size_t sl = strlen(g->suffix);

    if (*g->suffix ? !ends_with(sv->p[pi], sv->len[pi], g->suffix)
                   : sv->len[pi] == 0)
      return 0;
    cv->name[cv->n] = g->param;
    cv->val[cv->n] = sv->p[pi];
    cv->len[cv->n] = sv->len[pi] - sl;
    cv->n++;
    if (match_from(rt, ti + 1, sv, pi + 1, cv))
      return 1;
    cv->n--;
    return 0;
  }
  /* {+x}: try the longest span first, down to one segment. */
  for (size_t end = sv->n; end > pi; end--) {
    const char *last = sv->p[end - 1];
    size_t last_len = sv->len[end - 1];

    if (*g->suffix && !ends_with(last, last_len, g->suffix))
      continue;
    cv->name[cv->n] = g->param;
    cv->val[cv->n] = sv->p[pi];
    cv->len[cv->n] = (size_t)(last + last_len - sv->p[pi]) - strlen(g->suffix);
    cv->n++;
    if (match_from(rt, ti + 1, sv, end, cv))
      return 1;
    cv->n--;
  }
  return 0;
}

static char *decode(const char *p, size_t len)
{
  char *out = strndup(p, len);

  return out ? edv__http_unescape(out, 0) : NULL;
}

/*
 * Finds the route for verb + path. Matching runs on the raw path (so an
 * encoded "%2F" inside a parameter stays inside it); parameters are
 * decoded afterwards. *path_known tells a 404 from a wrong verb.
 */
const sim_rt *sim__route_match(sim *s, const char *verb, const char *path,
                               const char *host, sim_req *req, int *path_known)
{
  const char *raw =
      req->sub ? req->sub->path_raw : edv__http_path_raw(req->http);
  segv sv;
  capv best_cv, cv;
  const sim_rt *best = NULL;
  int best_score = -1;

  (void)path;
  memset(&sv, 0, sizeof(sv));
  for (const char *p = raw + (raw[0] == '/');;) {
    const char *end = strchr(p, '/');

    if (sv.n == 64)
      return NULL;
    sv.p[sv.n] = p;
    sv.len[sv.n] = end ? (size_t)(end - p) : strlen(p);
    sv.n++;
    if (end == NULL)
      break;
    p = end + 1;
  }
  *path_known = 0;
  for (size_t i = 0; i < s->n_routes; i++) {
    const sim_rt *rt = &s->routes[i];
    int score;

    memset(&cv, 0, sizeof(cv));
    if (!match_from(rt, 0, &sv, 0, &cv))
      continue;
    if (rt->r->host &&
        (host == NULL || strncmp(host, rt->r->host, strlen(rt->r->host)) != 0))
      continue;
    *path_known = 1;
    if (strcmp(rt->r->verb, verb) != 0)
      continue;
    /* Specificity: literal segments, then literal suffixes (":verb"),
     * then a Host match; each {+x} counts a little against. */
    score = rt->literals * 16 + (rt->r->host ? 2 : 0);
    for (size_t j = 0; j < rt->n_segs; j++)
      score += (rt->segs[j].suffix && *rt->segs[j].suffix ? 4 : 0) -
               rt->segs[j].plus;
    if (score > best_score) {
      best = rt;
      best_score = score;
      best_cv = cv;
    }
  }
  if (best == NULL)
    return NULL;
  for (int i = 0; i < best_cv.n; i++) {
    req->pname[i] = strdup(best_cv.name[i]);
    req->pval[i] = decode(best_cv.val[i], best_cv.len[i]);
    req->n_params = i + 1;
  }
  return best;
}
