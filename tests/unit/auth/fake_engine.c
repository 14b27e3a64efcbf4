/*
 * fake_engine.c - scripted transport and config for the auth unit tests
 * (see fake_engine.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "fake_engine.h"

typedef struct fake_script_t {
  int status;
  char *body;
  char *headers;
  unsigned delay_ms;
  struct fake_script_t *next;
} fake_script_t;

struct edv_call {
  uv_timer_t timer;
  edv_response_cb cb;
  void *data;
  fake_script_t *script;
  edv_response res;
  edv_error err;
  json_object *json;
  int done;
};

static uv_loop_t *fake_loop;
static int fake_dummy;
static fake_req *reqs;
static size_t nreqs;
static fake_script_t *scripts, **scripts_tail = &scripts;
static int fail_next;
static size_t in_flight;

void fake_init(uv_loop_t *loop)
{
  fake_loop = loop;
}

edv_engine *fake_engine(void)
{
  return (edv_engine *)&fake_dummy;
}

static void script_free(fake_script_t *s)
{
  if (!s)
    return;
  free(s->body);
  free(s->headers);
  free(s);
}

void fake_reset(void)
{
  size_t i;

  for (i = 0; i < nreqs; i++) {
    free(reqs[i].url);
    free(reqs[i].form);
    free(reqs[i].headers);
  }
  free(reqs);
  reqs = NULL;
  nreqs = 0;
  while (scripts) {
    fake_script_t *n = scripts->next;
    script_free(scripts);
    scripts = n;
  }
  scripts_tail = &scripts;
  fail_next = 0;
  fake_set_oauth2_endpoint(NULL);
}

void fake_script(int status, const char *body, const char *headers,
                 unsigned delay_ms)
{
  fake_script_t *s = calloc(1, sizeof(*s));

  s->status = status;
  s->body = body ? strdup(body) : NULL;
  s->headers = headers ? strdup(headers) : NULL;
  s->delay_ms = delay_ms ? delay_ms : 1;
  *scripts_tail = s;
  scripts_tail = &s->next;
}

void fake_fail_next_submit(void)
{
  fail_next = 1;
}

size_t fake_count(void)
{
  return nreqs;
}

const fake_req *fake_get(size_t i)
{
  return i < nreqs ? &reqs[i] : NULL;
}

size_t fake_in_flight(void)
{
  return in_flight;
}

static char *fake_oauth2;

void fake_set_oauth2_endpoint(const char *url)
{
  free(fake_oauth2);
  fake_oauth2 = url ? strdup(url) : NULL;
}

const char *edv_engine_endpoint(const edv_engine *engine, edv_api api)
{
  (void)engine;
  return api == EDV_API_OAUTH2 ? fake_oauth2 : NULL;
}

uv_loop_t *edv_engine_loop(const edv_engine *engine)
{
  (void)engine;
  return fake_loop;
}

const char *edv_response_header(const edv_response *res, const char *name)
{
  const struct edv_call *c =
      (const struct edv_call *)((const char *)res -
                                offsetof(struct edv_call, res));
  static char value[256];
  const char *p = c->script ? c->script->headers : NULL;
  size_t n = strlen(name);

  while (p && *p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
      const char *v = p + n + 1;
      while (*v == ' ')
        v++;
      snprintf(value, sizeof(value), "%.*s", (int)(len - (size_t)(v - p)), v);
      return value;
    }
    p = eol ? eol + 1 : NULL;
  }
  return NULL;
}

static void call_closed(uv_handle_t *h)
{
  struct edv_call *c = h->data;

  script_free(c->script);
  if (c->json)
    json_object_put(c->json);
  free(c);
}

static void call_finish(struct edv_call *c, int canceled)
{
  fake_script_t *s = c->script;

  c->done = 1;
  in_flight--;
  memset(&c->res, 0, sizeof(c->res));
  if (canceled) {
    edv_error_set(&c->err, EDV_ECANCELED, "canceled");
    c->res.error = &c->err;
  } else if (!s || s->status == 0) {
    edv_error_set(&c->err, s ? EDV_ECONN : EDV_EUNAVAIL,
                  s ? "connection refused" : "no scripted reply");
    c->res.http_status = s ? 0 : 599;
    c->res.error = &c->err;
  } else {
    c->res.http_status = s->status;
    if (s->body) {
      c->json = json_tokener_parse(s->body);
      c->res.json = c->json;
      c->res.raw = s->body;
      c->res.raw_len = strlen(s->body);
    }
    if (s->status >= 300) {
      edv_code code = s->status == 400   ? EDV_EINVAL
                      : s->status == 401 ? EDV_EUNAUTH
                      : s->status == 403 ? EDV_EPERM
                      : s->status == 404 ? EDV_ENOTFOUND
                                         : EDV_EUNAVAIL;
      edv_error_set(&c->err, code, "HTTP %d", s->status);
      c->err.http_status = s->status;
      c->res.error = &c->err;
    }
  }
  c->res.attempts = 1;
  c->cb(c->data, &c->res);
  uv_close((uv_handle_t *)&c->timer, call_closed);
}

static void call_timer(uv_timer_t *t)
{
  call_finish(t->data, 0);
}

/* Replaces @ASSERTION@ in the script's body with the form's assertion. */
static void fake_echo(fake_script_t *s, const char *assertion)
{
  char *at = strstr(s->body, "@ASSERTION@");
  size_t alen = strcspn(assertion, "&");
  size_t n = strlen(s->body) + alen + 1;
  char *body = malloc(n);

  snprintf(body, n, "%.*s%.*s%s", (int)(at - s->body), s->body, (int)alen,
           assertion, at + strlen("@ASSERTION@"));
  free(s->body);
  s->body = body;
}

int edv_call_submit(edv_engine *engine, const edv_request *req,
                    edv_response_cb cb, void *data, edv_call **callp)
{
  struct edv_call *c;
  fake_req *r;
  size_t hl = 1, i;

  (void)engine;
  if (fail_next) {
    fail_next = 0;
    return EDV_EINVAL;
  }
  reqs = realloc(reqs, (nreqs + 1) * sizeof(*reqs));
  r = &reqs[nreqs++];
  memset(r, 0, sizeof(*r));
  snprintf(r->method, sizeof(r->method), "%s", req->method);
  r->url = strdup(req->path);
  r->form = req->form ? strdup(req->form) : NULL;
  r->flags = req->flags;
  r->timeout_ms = req->timeout_ms;
  r->api = req->api;
  for (i = 0; req->headers && req->headers[i]; i++)
    hl += strlen(req->headers[i]) + 1;
  r->headers = calloc(1, hl);
  for (i = 0; req->headers && req->headers[i]; i++) {
    strcat(r->headers, req->headers[i]);
    strcat(r->headers, "\n");
  }

  c = calloc(1, sizeof(*c));
  c->cb = cb;
  if (scripts && scripts->body && req->form &&
      strstr(scripts->body, "@ASSERTION@") && strstr(req->form, "assertion="))
    fake_echo(scripts, strstr(req->form, "assertion=") + 10);
  c->data = data;
  c->script = scripts;
  if (scripts) {
    scripts = scripts->next;
    if (!scripts)
      scripts_tail = &scripts;
    c->script->next = NULL;
  }
  uv_timer_init(fake_loop, &c->timer);
  c->timer.data = c;
  uv_timer_start(&c->timer, call_timer, c->script ? c->script->delay_ms : 1, 0);
  in_flight++;
  if (callp)
    *callp = c;
  return 0;
}

void edv_call_cancel(edv_call *call)
{
  if (!call || call->done)
    return;
  uv_timer_stop(&call->timer);
  call_finish(call, 1);
}

/* ---- config ------------------------------------------------------------*/

#define FAKE_CFG_MAX 16

struct edv_config {
  char *key[FAKE_CFG_MAX];
  char *value[FAKE_CFG_MAX];
  int n;
};

edv_config *fake_config(void)
{
  return edv_config_new();
}

edv_config *edv_config_new(void)
{
  return calloc(1, sizeof(edv_config));
}

void edv_config_free(edv_config *cfg)
{
  int i;

  if (!cfg)
    return;
  for (i = 0; i < cfg->n; i++) {
    free(cfg->key[i]);
    free(cfg->value[i]);
  }
  free(cfg);
}

int edv_config_set(edv_config *cfg, const char *key, const char *value,
                   edv_error *err)
{
  int i;

  for (i = 0; i < cfg->n; i++) {
    if (strcmp(cfg->key[i], key) == 0) {
      free(cfg->value[i]);
      cfg->value[i] = strdup(value);
      return 0;
    }
  }
  if (cfg->n == FAKE_CFG_MAX)
    return edv_error_set(err, EDV_ECONFIG, "full");
  cfg->key[cfg->n] = strdup(key);
  cfg->value[cfg->n] = strdup(value);
  cfg->n++;
  return 0;
}

const char *edv_config_get(const edv_config *cfg, const char *key)
{
  int i;

  for (i = 0; cfg && i < cfg->n; i++)
    if (strcmp(cfg->key[i], key) == 0)
      return cfg->value[i];
  return NULL;
}
