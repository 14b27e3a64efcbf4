/*
 * engine.c - the engine object: endpoints, statistics, tokens, close.
 *
 * An engine owns a copy of the configuration, the auth state, the curl
 * driver (http.c), the rate limiter with its wake-up timer, and the list of
 * live calls (call.c). Closing is deferred in the libuv way: cancel the
 * calls (their callbacks run), free the auth state, shut the curl driver
 * down, close the timer, and free the engine only when every handle and
 * every call has gone; then the owner's close_cb runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "transport/transport.h"

static const struct {
  const char *name;
  const char *root;
} engine_apis[EDV_API__COUNT] = {
    [EDV_API_COMPUTE] = {"compute", "https://compute.googleapis.com"},
    [EDV_API_SQLADMIN] = {"sqladmin", "https://sqladmin.googleapis.com"},
    [EDV_API_DNS] = {"dns", "https://dns.googleapis.com"},
    [EDV_API_CERTIFICATEMANAGER] =
        {"certificatemanager", "https://certificatemanager.googleapis.com"},
    [EDV_API_MONITORING] = {"monitoring", "https://monitoring.googleapis.com"},
    [EDV_API_IAM] = {"iam", "https://iam.googleapis.com"},
    [EDV_API_SECRETMANAGER] = {"secretmanager",
                               "https://secretmanager.googleapis.com"},
    [EDV_API_SERVICENETWORKING] = {"servicenetworking",
                                   "https://servicenetworking.googleapis.com"},
    [EDV_API_OAUTH2] = {"oauth2", "https://oauth2.googleapis.com"},
    [EDV_API_OTHER] = {"other", ""},
    [EDV_API_CLOUDRESOURCEMANAGER] =
        {"cloudresourcemanager", "https://cloudresourcemanager.googleapis.com"},
};

static uv_once_t engine_once = UV_ONCE_INIT;

/* curl_global_init is not thread-safe: run it once per process. */
static void engine_global_init(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

uint64_t edv__now_ms(void)
{
  return uv_hrtime() / 1000000u;
}

void edv__strlcpy(char *dst, const char *src, size_t size)
{
  if (!size)
    return;
  snprintf(dst, size, "%s", src ? src : "");
}

const char *edv_api_name(edv_api api)
{
  if ((unsigned)api >= EDV_API__COUNT)
    return "unknown";
  return engine_apis[api].name;
}

/* endpoint.<api>, else endpoint (except for OTHER), else Google's root. */
static int engine_set_endpoints(edv_engine *engine)
{
  char key[64];
  const char *v, *all = edv_config_get(engine->cfg, "endpoint");
  size_t n;
  int api;

  for (api = 0; api < EDV_API__COUNT; api++) {
    snprintf(key, sizeof(key), "endpoint.%s", engine_apis[api].name);
    v = edv_config_get(engine->cfg, key);
    if (!v)
      v = api == EDV_API_OTHER || !all ? engine_apis[api].root : all;
    engine->endpoint[api] = strdup(v);
    if (!engine->endpoint[api])
      return -1;
    n = strlen(v);
    while (n > 0 && engine->endpoint[api][n - 1] == '/')
      engine->endpoint[api][--n] = '\0';
  }
  return 0;
}

/* Frees the memory only; the handles are closed by then. */
static void engine_free(edv_engine *engine)
{
  int api;

  for (api = 0; api < EDV_API__COUNT; api++)
    free(engine->endpoint[api]);
  edv_config_free(engine->cfg);
  engine->magic = 0;
  free(engine);
}

/* Caches the numbers every call needs, and seeds the jitter PRNG. */
static void engine_configure(edv_engine *engine)
{
  const edv_config *cfg = engine->cfg;

  engine->timeout_ms =
      (uint64_t)edv_config_get_int(cfg, "http.timeout_ms", 120000);
  engine->connect_timeout_ms =
      (long)edv_config_get_int(cfg, "http.connect_timeout_ms", 10000);
  engine->max_body =
      (size_t)edv_config_get_int(cfg, "http.max_response_bytes", 32u << 20);
  edv__retry_policy_from_config(&engine->retry, cfg);
  edv__prng_seed(&engine->prng, uv_hrtime() ^ ((uint64_t)getpid() << 32) ^
                                    (uint64_t)(uintptr_t)engine);
}

static void engine_rl_timer_cb(uv_timer_t *timer)
{
  edv__engine_pump(edv__container_of(timer, edv_engine, rl_timer));
}

edv_engine *edv_engine_new(uv_loop_t *loop, const edv_config *cfg,
                           edv_error *err)
{
  edv_engine *engine;

  edv_error_clear(err);
  if (!loop || !cfg) {
    edv_error_set(err, EDV_EINVAL, "engine: loop and config are required");
    return NULL;
  }
  uv_once(&engine_once, engine_global_init);
  engine = calloc(1, sizeof(*engine));
  if (!engine || !(engine->cfg = edv__config_dup(cfg)) ||
      engine_set_endpoints(engine) != 0) {
    if (engine)
      engine_free(engine);
    edv_error_set(err, EDV_ENOMEM, "out of memory");
    return NULL;
  }
  engine->magic = EDV__ENGINE_MAGIC;
  engine->loop = loop;
  engine_configure(engine);
  /* Auth first: it only reads the configuration (and may init a handle of
   * its own, which edv__auth_free closes), so a failure here leaves no
   * handle of ours to close. */
  engine->auth = edv__auth_new(engine, engine->cfg, err);
  if (!engine->auth) {
    engine_free(engine);
    return NULL;
  }
  if (edv__http_init(&engine->http, loop, err) != 0) {
    edv__auth_free(engine->auth);
    engine_free(engine);
    return NULL;
  }
  edv__rl_init(&engine->rl, engine->cfg, edv__clock_real, NULL);
  uv_timer_init(loop, &engine->rl_timer);
  engine->open = 2; /* rl_timer + the http driver */
  return engine;
}

/* The last of: both handles closed, every call freed. */
static void engine_maybe_free(edv_engine *engine)
{
  void (*cb)(void *data) = engine->close_cb;
  void *data = engine->close_data;

  if (!engine->closing || engine->open || engine->live)
    return;
  engine_free(engine);
  if (cb)
    cb(data);
}

void edv__engine_call_freed(edv_engine *engine)
{
  if (engine->live)
    engine->live--;
  engine_maybe_free(engine);
}

static void engine_rl_timer_closed(uv_handle_t *handle)
{
  edv_engine *engine = edv__container_of(handle, edv_engine, rl_timer);

  engine->open--;
  engine_maybe_free(engine);
}

static void engine_http_closed(edv__http *h)
{
  edv_engine *engine = edv__container_of(h, edv_engine, http);

  engine->open--;
  engine_maybe_free(engine);
}

/* Deferred, in the libuv way: see the file comment for the order. */
void edv_engine_close(edv_engine *engine, void (*close_cb)(void *data),
                      void *data)
{
  if (!engine || engine->magic != EDV__ENGINE_MAGIC || engine->closing)
    return;
  engine->closing = 1;
  engine->close_cb = close_cb;
  engine->close_data = data;
  /* Calls first: the auth module's own token calls are among them, and
   * their callbacks need the auth state still alive. */
  edv__call_cancel_all(engine);
  edv__auth_free(engine->auth);
  engine->auth = NULL;
  edv__call_cancel_all(engine);
  uv_timer_stop(&engine->rl_timer);
  uv_close((uv_handle_t *)&engine->rl_timer, engine_rl_timer_closed);
  edv__http_close(&engine->http, engine_http_closed);
}

/* Grants what the limiter can grant, then arms its timer for the rest. */
void edv__engine_pump(edv_engine *engine)
{
  uint64_t wait;

  if (engine->rl.pumping) {
    engine->rl.again = 1;
    return;
  }
  wait = edv__rl_pump(&engine->rl);
  if (engine->closing)
    return;
  if (wait == UINT64_MAX)
    uv_timer_stop(&engine->rl_timer);
  else
    uv_timer_start(&engine->rl_timer, engine_rl_timer_cb, wait ? wait : 1, 0);
}

uv_loop_t *edv_engine_loop(const edv_engine *engine)
{
  return engine ? engine->loop : NULL;
}

/* The config wins; the credentials' project_id is known only once
 * they have been resolved. */
const char *edv_engine_project(const edv_engine *engine)
{
  const char *p;

  if (!engine)
    return NULL;
  p = edv_config_get(engine->cfg, "project");
  if (!p && engine->auth)
    p = edv__auth_project(engine->auth);
  return p;
}

const char *edv_engine_endpoint(const edv_engine *engine, edv_api api)
{
  if (!engine || (unsigned)api >= EDV_API__COUNT)
    return NULL;
  return engine->endpoint[api];
}

int edv_engine_access_token(edv_engine *engine, edv_token_cb cb, void *data)
{
  if (!engine || engine->magic != EDV__ENGINE_MAGIC || !cb)
    return EDV_EINVAL;
  if (engine->closing || !engine->auth)
    return EDV_ECANCELED;
  return edv__auth_token(engine->auth, cb, data);
}

void edv_engine_stats(const edv_engine *engine, edv_api api, edv_api_stats *out)
{
  if (!out)
    return;
  memset(out, 0, sizeof(*out));
  if (engine && (unsigned)api < EDV_API__COUNT)
    *out = engine->stats[api];
}
