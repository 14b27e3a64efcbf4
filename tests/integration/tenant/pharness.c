/*
 * pharness.c - see pharness.h. Public headers only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "pharness.h"

static void cfg_set(edv_config *cfg, const char *k, const char *v)
{
  edv_error err;

  if (edv_config_set(cfg, k, v, &err) != 0)
    fail_msg("config %s=%s: %s", k, v, err.message);
}

edv_config *ph_engine_config(const char *base, const char *key)
{
  edv_config *cfg = edv_config_new();

  assert_non_null(cfg);
  cfg_set(cfg, "endpoint", base);
  cfg_set(cfg, "key_file", key);
  cfg_set(cfg, "project", "edv-sim");
  cfg_set(cfg, "retry.initial_ms", "20");
  cfg_set(cfg, "retry.max_ms", "400");
  cfg_set(cfg, "retry.max_attempts", "10");
  /* The simulator is local and quick: our own client-side limits would
   * only measure themselves (the defaults model a real project's quotas). */
  for (int api = 0; api < EDV_API_OAUTH2; api++) {
    char k[96];
    snprintf(k, sizeof(k), "ratelimit.%s.per_minute", edv_api_name(api));
    cfg_set(cfg, k, "6000000");
    snprintf(k, sizeof(k), "ratelimit.%s.concurrency", edv_api_name(api));
    cfg_set(cfg, k, "512");
  }
  cfg_set(cfg, "ratelimit.compute.write.per_minute", "6000000");
  return cfg;
}

edv_sim *ph_sim_start(uv_loop_t *loop, const char *profile, const char *dir,
                      char base[128], char key[320])
{
  edv_sim_options so;
  edv_sim *sim;
  edv_error err;

  memset(&so, 0, sizeof(so));
  so.profile = profile ? profile : "fast";
  so.seed = 42;
  sim = edv_sim_start(loop, &so, &err);
  if (!sim)
    fail_msg("edv_sim_start: %s", err.message);
  snprintf(base, 128, "%s", edv_sim_base_url(sim));
  snprintf(key, 320, "%s/sim-key.json", dir);
  assert_int_equal(edv_sim_write_key(sim, key, &err), 0);
  return sim;
}

void ph_open(ph *p)
{
  edv_config *cfg;
  edv_error err;
  const char *tmp = getenv("TMPDIR"), *src = getenv("EDV_SOURCE_ROOT");
  char tf[600];

  memset(p, 0, sizeof(*p));
  assert_int_equal(uv_loop_init(&p->loop), 0);
  snprintf(p->dir, sizeof(p->dir), "%s/edv-ph-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(p->dir));
  p->sim = ph_sim_start(&p->loop, NULL, p->dir, p->base, p->key);
  cfg = ph_engine_config(p->base, p->key);
  p->engine = edv_engine_new(&p->loop, cfg, &err);
  edv_config_free(cfg);
  if (!p->engine)
    fail_msg("engine: %s", err.message);
  p->cfg = edv_config_new();
  snprintf(tf, sizeof(tf), "%s/tiers.json", src ? src : ".");
  cfg_set(p->cfg, "tiers_file", tf);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void ph_on_closed(void *data)
{
  ((ph_ans *)data)->done = 1;
}

void ph_close(ph *p)
{
  ph_ans x = {0};

  edv_engine_close(p->engine, ph_on_closed, &x);
  ph_wait(&p->loop, &x);
  x.done = 0;
  edv_sim_close(p->sim, ph_on_closed, &x);
  ph_wait(&p->loop, &x);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&p->loop), 0);
  edv_config_free(p->cfg);
  if (!getenv("TH_KEEP"))
    nftw(p->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

edv_fleet *ph_fleet_at(edv_engine *engine, const char *dir, edv_config *cfg,
                       const char *actor)
{
  edv_fleet_options fo;
  edv_fleet *f = NULL;
  edv_error err;

  memset(&fo, 0, sizeof(fo));
  fo.engine = engine;
  fo.config = cfg;
  fo.state_dir = dir;
  fo.actor = actor;
  fo.poll_ms = 50;
  fo.retry_base_ms = 50;
  if (edv_fleet_open(&fo, &f, &err))
    fail_msg("fleet on %s: %s", dir, err.message);
  return f;
}

void ph_fleet_end(uv_loop_t *loop, edv_fleet *f)
{
  ph_ans x = {0};

  edv_fleet_close(f, ph_on_closed, &x);
  ph_wait(loop, &x);
}

edv_fleet *ph_fleet_open(ph *p, const char *dir, edv_config *cfg,
                         const char *actor)
{
  return ph_fleet_at(p->engine, dir ? dir : p->dir, cfg ? cfg : p->cfg, actor);
}

void ph_fleet_close(ph *p, edv_fleet *f)
{
  ph_fleet_end(&p->loop, f);
}

void ph_on_ans(void *data, json_object *a, const edv_error *err)
{
  ph_ans *x = data;

  x->done = 1;
  x->a = a ? json_object_get(a) : NULL;
  if (err)
    x->err = *err;
}

void ph_wait(uv_loop_t *loop, ph_ans *x)
{
  while (!x->done)
    uv_run(loop, UV_RUN_ONCE);
}

void ph_platform(ph *p, edv_fleet *f)
{
  ph_ans x = {0};
  edv_error err;

  assert_int_equal(edv_fleet_platform_init(f, 0, ph_on_ans, &x, &err), 0);
  ph_wait(&p->loop, &x);
  if (!x.a)
    fail_msg("platform: %s", x.err.message);
  assert_string_equal(ph_js(x.a, "phase"), "READY");
  json_object_put(x.a);
}

const char *ph_js(json_object *o, const char *k)
{
  json_object *v;

  return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

typedef struct call {
  int done;
  json_object *json;
} call;

static void on_call(void *data, const edv_response *res)
{
  call *c = data;

  c->done = 1;
  if (!res->error && res->json)
    c->json = json_object_get(res->json);
  else if (res->error)
    fprintf(stderr, "# call failed: %s\n", res->error->message);
}

json_object *ph_call(uv_loop_t *loop, edv_engine *engine, edv_api api,
                     const char *method, const char *path, json_object *body)
{
  edv_request req;
  call c = {0, NULL};

  memset(&req, 0, sizeof(req));
  req.api = api;
  req.method = method ? method : body ? "POST" : "GET";
  req.path = path;
  req.body = body;
  if (api == EDV_API_OTHER) {
    req.flags = EDV_REQ_NOAUTH | EDV_REQ_NORETRY;
    req.label = "sim admin";
  } else {
    req.flags = EDV_REQ_IDEMPOTENT;
    req.label = "test check";
  }
  assert_int_equal(edv_call_submit(engine, &req, on_call, &c, NULL), 0);
  while (!c.done)
    uv_run(loop, UV_RUN_ONCE);
  json_object_put(body);
  return c.json;
}

json_object *ph_admin(ph *p, const char *method, const char *path,
                      json_object *body)
{
  char url[1024];

  snprintf(url, sizeof(url), "%s%s", p->base, path);
  return ph_call(&p->loop, p->engine, EDV_API_OTHER, method, url, body);
}

json_object *ph_api(ph *p, edv_api api, const char *method, const char *path,
                    json_object *body)
{
  return ph_call(&p->loop, p->engine, api, method, path, body);
}

json_object *ph_find(json_object *state, const char *name)
{
  json_object *items =
      state ? json_object_object_get(state, "resources") : NULL;
  json_object *found = NULL;

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *n = json_object_get_string(json_object_object_get(it, "name"));
    if (n && strcmp(n, name) == 0)
      found = json_object_get(json_object_object_get(it, "resource"));
  }
  json_object_put(state);
  return found;
}

json_object *ph_res(ph *p, const char *name)
{
  char path[700];

  snprintf(path, sizeof(path), "/_sim/state?prefix=%s", name);
  return ph_find(ph_admin(p, "GET", path, NULL), name);
}

int ph_read_like(const char *method_id)
{
  static const char *const suffixes[] = {
      ".getHealth", ".listInstances", ".wait",  ".getIamPolicy",
      ".get",       ".list",          ".access"};
  size_t n = strlen(method_id);

  for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
    size_t k = strlen(suffixes[i]);
    if (n >= k && strcmp(method_id + n - k, suffixes[i]) == 0)
      return 1;
  }
  return 0;
}

unsigned long ph_mutations(ph *p)
{
  json_object *log = ph_admin(p, "GET", "/_sim/requests", NULL);
  json_object *reqs = json_object_object_get(log, "requests");
  unsigned long n = 0;

  assert_non_null(reqs);
  /* The log is a ring: a total at its size may have lost entries. */
  assert_true(json_object_get_int(json_object_object_get(log, "total")) < 4096);
  for (size_t i = 0; i < json_object_array_length(reqs); i++) {
    json_object *r = json_object_array_get_idx(reqs, i);
    const char *api = ph_js(r, "api"), *m = ph_js(r, "method");
    const char *id = ph_js(r, "methodId");
    if (!api || !m || !id || strcmp(m, "GET") == 0 || strcmp(api, "sim") == 0 ||
        strcmp(api, "oauth2") == 0 || strcmp(api, "metadata") == 0 ||
        ph_read_like(id))
      continue;
    n++;
  }
  json_object_put(log);
  return n;
}

int ph_free_port(void)
{
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

  if (fd < 0)
    return -1;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}
