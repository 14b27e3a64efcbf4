/*
 * edvd_harness.c - helpers for the edvd end-to-end tests: an edvd with
 * --sim on an ephemeral port and a fresh state directory, tokens made with
 * the built edvctl, an HTTP client, and validation of every JSON answer
 * against its response schema in docs/openapi.json.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "edvd_harness.h"
#include "tharness.h"
const char *edvd_bin, *edvctl_bin;
char dir[256];
char base[128], sim_base[128];
pid_t edvd_pid;
char tok_admin[128], tok_op[128], tok_view[128];
const char *eh_listen = "127.0.0.1:0";
json_object *openapi;

/* ---- processes ------------------------------------------------------------*/

void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs edvctl token create; returns the token printed on stdout. */
void make_token(const char *role, const char *name, char *out, size_t size)
{
  int p[2], st;
  pid_t pid;
  ssize_t n;

  assert_int_equal(pipe(p), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int dn = open("/dev/null", O_WRONLY);
    dup2(p[1], 1);
    dup2(dn, 2);
    close(p[0]);
    execl(edvctl_bin, edvctl_bin, "token", "create", "--role", role, "--name",
          name, "--state-dir", dir, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  n = read(p[0], out, size - 1);
  close(p[0]);
  assert_true(n > 0);
  out[n] = '\0';
  out[strcspn(out, "\n")] = '\0';
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Starts edvd and reads its first stdout line for the addresses. */
void start_edvd(void)
{
  int p[2];
  char line[1024], logf[320];
  size_t len = 0;
  json_object *o;

  assert_int_equal(pipe(p), 0);
  snprintf(logf, sizeof(logf), "%s/edvd.log", dir);
  fflush(NULL);
  edvd_pid = fork();
  assert_true(edvd_pid >= 0);
  if (edvd_pid == 0) {
    int lf = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(p[1], 1);
    dup2(lf, 2);
    close(p[0]);
    char conf[320];
    snprintf(conf, sizeof(conf), "%s/edvd.conf", dir);
    execl(edvd_bin, edvd_bin, "--sim", "--state-dir", dir, "--listen",
          eh_listen, "--config", conf, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  while (len + 1 < sizeof(line)) {
    ssize_t n = read(p[0], line + len, 1);
    if (n <= 0 || line[len] == '\n')
      break;
    len++;
  }
  line[len] = '\0';
  close(p[0]);
  o = json_tokener_parse(line);
  assert_non_null(o);
  snprintf(base, sizeof(base), "%s",
           json_object_get_string(json_object_object_get(o, "listen")));
  snprintf(sim_base, sizeof(sim_base), "%s",
           json_object_get_string(json_object_object_get(o, "sim")));
  json_object_put(o);
}

/* SIGTERMs edvd; returns its exit status and how long it took (ms). */
int stop_edvd(long *ms)
{
  int st = 0;
  struct timespec a, b;

  clock_gettime(CLOCK_MONOTONIC, &a);
  kill(edvd_pid, SIGTERM);
  assert_int_equal(waitpid(edvd_pid, &st, 0), edvd_pid);
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (ms)
    *ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  edvd_pid = 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- HTTP -----------------------------------------------------------------*/

static size_t on_body(char *p, size_t sz, size_t n, void *data)
{
  resp *r = data;
  size_t k = sz * n;

  if (r->len + k + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 65536;
    char *np;
    while (cap < r->len + k + 1)
      cap *= 2;
    np = realloc(r->body, cap);
    if (!np)
      return 0;
    r->body = np;
    r->cap = cap;
  }
  memcpy(r->body + r->len, p, k);
  r->len += k;
  r->body[r->len] = '\0';
  return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *data)
{
  resp *r = data;
  size_t k = sz * n;

  if (r->hlen + k < sizeof(r->headers)) {
    memcpy(r->headers + r->hlen, p, k);
    r->hlen += k;
    r->headers[r->hlen] = '\0';
  }
  return k;
}

resp *http(const char *method, const char *url_base, const char *path,
           const char *token, const char *body, const char *extra)
{
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  resp *r = calloc(1, sizeof(*r));
  char url[1024], auth[256];

  assert_non_null(r);
  snprintf(url, sizeof(url), "%s%s", url_base, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  /* The path as the test wrote it: no dot segment is removed. */
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  if (token) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
  }
  if (body) {
    /* A Content-Type in `extra` replaces this one ("Content-Type:" alone:
     * none at all). */
    if (!extra || strncasecmp(extra, "Content-Type:", 13) != 0)
      h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  /* `extra`: one header, or several separated by newlines. */
  for (const char *e = extra; e && *e;) {
    size_t n = strcspn(e, "\n");
    char one[512];
    snprintf(one, sizeof(one), "%.*s", (int)n, e);
    h = curl_slist_append(h, one);
    e += n;
    if (*e == '\n')
      e++;
  }
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (curl_easy_perform(c) != CURLE_OK)
    r->status = 0;
  else
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (!r->body)
    r->body = calloc(1, 1);
  r->json = json_tokener_parse(r->body);
  return r;
}

/* The value of response header `name` (copied), or "" when absent. */
const char *resp_header(const resp *r, const char *name, char *buf, size_t size)
{
  const char *p = r->headers;
  size_t n = strlen(name);

  buf[0] = '\0';
  while (p && *p) {
    if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
      const char *v = p + n + 1, *end;
      while (*v == ' ')
        v++;
      end = strpbrk(v, "\r\n");
      snprintf(buf, size, "%.*s", end ? (int)(end - v) : (int)strlen(v), v);
      return buf;
    }
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return buf;
}

void resp_free(resp *r)
{
  json_object_put(r->json);
  free(r->body);
  free(r);
}

const char *jstr(json_object *o, const char *path)
{
  char buf[256], *save = NULL, *k;
  json_object *v = o;

  snprintf(buf, sizeof(buf), "%s", path);
  for (k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
    v = json_object_object_get(v, k);
  return v ? json_object_get_string(v) : NULL;
}

/* ---- OpenAPI validation ---------------------------------------------------*/

static json_object *schema_ref(json_object *s)
{
  json_object *ref;
  int guard = 0;

  while (s && json_object_object_get_ex(s, "$ref", &ref) && guard++ < 8) {
    const char *r = json_object_get_string(ref);
    char name[128];
    assert_true(strncmp(r, "#/components/", 13) == 0);
    s = openapi;
    snprintf(name, sizeof(name), "%s", r + 2);
    for (char *save = NULL, *k = strtok_r(name, "/", &save); k;
         k = strtok_r(NULL, "/", &save))
      s = json_object_object_get(s, k);
  }
  return s;
}

int validate(json_object *schema, json_object *v, const char *where, char *why,
             size_t size)
{
  json_object *t, *x;
  const char *type;

  schema = schema_ref(schema);
  if (!schema) {
    snprintf(why, size, "%s: no schema", where);
    return -1;
  }
  if (v == NULL || json_object_is_type(v, json_type_null)) {
    if (json_object_object_get_ex(schema, "nullable", &x) &&
        json_object_get_boolean(x))
      return 0;
    snprintf(why, size, "%s: null where not nullable", where);
    return -1;
  }
  if (!json_object_object_get_ex(schema, "type", &t))
    return 0; /* {} or a schema we treat as any */
  type = json_object_get_string(t);
  if ((strcmp(type, "object") == 0 &&
       !json_object_is_type(v, json_type_object)) ||
      (strcmp(type, "array") == 0 &&
       !json_object_is_type(v, json_type_array)) ||
      (strcmp(type, "string") == 0 &&
       !json_object_is_type(v, json_type_string)) ||
      (strcmp(type, "integer") == 0 &&
       !json_object_is_type(v, json_type_int)) ||
      (strcmp(type, "number") == 0 && !json_object_is_type(v, json_type_int) &&
       !json_object_is_type(v, json_type_double)) ||
      (strcmp(type, "boolean") == 0 &&
       !json_object_is_type(v, json_type_boolean))) {
    snprintf(why, size, "%s: not %s: %.200s", where, type,
             json_object_to_json_string(v));
    return -1;
  }
  if (json_object_object_get_ex(schema, "enum", &x)) {
    int ok = 0;
    for (size_t i = 0; i < json_object_array_length(x); i++)
      if (strcmp(json_object_get_string(json_object_array_get_idx(x, i)),
                 json_object_get_string(v)) == 0)
        ok = 1;
    if (!ok) {
      snprintf(why, size, "%s: '%s' not in enum", where,
               json_object_get_string(v));
      return -1;
    }
  }
  if (strcmp(type, "array") == 0 &&
      json_object_object_get_ex(schema, "items", &x)) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      char w[300];
      snprintf(w, sizeof(w), "%s[%zu]", where, i);
      if (validate(x, json_object_array_get_idx(v, i), w, why, size))
        return -1;
    }
  }
  if (strcmp(type, "object") == 0) {
    json_object *props = json_object_object_get(schema, "properties");
    json_object *addl = json_object_object_get(schema, "additionalProperties");
    if (json_object_object_get_ex(schema, "required", &x)) {
      for (size_t i = 0; i < json_object_array_length(x); i++) {
        const char *k = json_object_get_string(json_object_array_get_idx(x, i));
        if (!json_object_object_get_ex(v, k, NULL)) {
          snprintf(why, size, "%s: required '%s' missing", where, k);
          return -1;
        }
      }
    }
    json_object_object_foreach(v, key, val)
    {
      json_object *ps = props ? json_object_object_get(props, key) : NULL;
      char w[300];
      snprintf(w, sizeof(w), "%s.%s", where, key);
      if (ps) {
        if (validate(ps, val, w, why, size))
          return -1;
      } else if (addl && json_object_is_type(addl, json_type_boolean)) {
        if (!json_object_get_boolean(addl)) {
          snprintf(why, size, "%s: property not in the schema", w);
          return -1;
        }
      } else if (addl) {
        if (validate(addl, val, w, why, size))
          return -1;
      }
    }
  }
  return 0;
}

/* Validates r against the document's response for (template, method). */
void check_schema(resp *r, const char *tmpl, const char *method)
{
  json_object *op, *rs, *ct, *schema;
  char code[8], why[600];
  char lower[8];

  for (size_t i = 0; i < sizeof(lower) - 1 && method[i]; i++) {
    lower[i] = (char)(method[i] | 0x20);
    lower[i + 1] = '\0';
  }
  op = json_object_object_get(
      json_object_object_get(json_object_object_get(openapi, "paths"), tmpl),
      lower);
  if (!op)
    fail_msg("openapi: no %s %s", method, tmpl);
  snprintf(code, sizeof(code), "%ld", r->status);
  rs = json_object_object_get(json_object_object_get(op, "responses"), code);
  if (!rs)
    fail_msg("openapi: %s %s has no %ld response (body %.300s)", method, tmpl,
             r->status, r->body);
  rs = schema_ref(rs);
  ct = json_object_object_get(rs, "content");
  if (!ct)
    return;
  schema = json_object_object_get(
      json_object_object_get(ct, "application/json"), "schema");
  if (!schema)
    return; /* not JSON (metrics) */
  if (!r->json)
    fail_msg("%s %s: %ld answer is not JSON: %.300s", method, tmpl, r->status,
             r->body);
  if (validate(schema, r->json, "$", why, sizeof(why)))
    fail_msg("%s %s %ld: %s", method, tmpl, r->status, why);
}

/* A call whose answer is checked against the document; *r for the caller. */
resp *call(const char *method, const char *path, const char *tmpl,
           const char *token, const char *body, const char *extra, long want)
{
  resp *r = http(method, base, path, token, body, extra);

  if (r->status != want)
    fail_msg("%s %s: status %ld, want %ld: %.500s", method, path, r->status,
             want, r->body);
  check_schema(r, tmpl, method);
  return r;
}

void expect_error_h(const char *method, const char *path, const char *tmpl,
                    const char *token, const char *body, const char *extra,
                    long want, const char *field)
{
  resp *r = call(method, path, tmpl, token, body, extra, want);
  const char *f = jstr(r->json, "error.field");

  assert_int_equal(json_object_get_int(json_object_object_get(
                       json_object_object_get(r->json, "error"), "code")),
                   want);
  if (field && (!f || strcmp(f, field) != 0))
    fail_msg("%s %s: field %s, want %s (%s)", method, path, f ? f : "(none)",
             field, r->body);
  resp_free(r);
}

void expect_error(const char *method, const char *path, const char *tmpl,
                  const char *token, const char *body, long want,
                  const char *field)
{
  expect_error_h(method, path, tmpl, token, body, NULL, want, field);
}

int eh_tenants_ready(const char *const *ids, size_t n, const char *name)
{
  char b[512], slug[64];
  size_t ready = 0;

  for (size_t i = 0; i < n; i++) {
    resp *r;
    snprintf(slug, sizeof(slug), "school-%s", ids[i]);
    r = http("POST", base, "/api/tenants", tok_op,
             spec(b, sizeof(b), ids[i], slug, name, "basic"), NULL);
    if (r->status != 202) {
      resp_free(r);
      return -1;
    }
    resp_free(r);
  }
  for (int t = 0; t < 900 && ready < n; t++) {
    ready = 0;
    for (size_t i = 0; i < n; i++)
      ready += strcmp(phase_of(ids[i]), "READY") == 0;
    if (ready < n)
      sleep_ms(100);
  }
  return ready == n ? 0 : -1;
}

const char *phase_of(const char *id)
{
  static char ph[32];
  char path[128];
  resp *r;

  snprintf(path, sizeof(path), "/api/tenants/%s", id);
  r = http("GET", base, path, tok_view, NULL, NULL);
  snprintf(ph, sizeof(ph), "%s",
           r->status == 200 && jstr(r->json, "phase") ? jstr(r->json, "phase")
                                                      : "?");
  resp_free(r);
  return ph;
}

void wait_phase(const char *id, const char *phase, int secs)
{
  for (int i = 0; i < secs * 10; i++) {
    if (strcmp(phase_of(id), phase) == 0)
      return;
    sleep_ms(100);
  }
  fail_msg("tenant %s is %s after %d s, want %s", id, phase_of(id), secs,
           phase);
}

char *spec(char *buf, size_t size, const char *id, const char *slug,
           const char *name, const char *tier)
{
  snprintf(buf, size,
           "{\"id\":\"%s\",\"slug\":\"%s\",\"display_name\":\"%s\","
           "\"tier\":\"%s\",\"region\":\"us-central1\"}",
           id, slug, name, tier);
  return buf;
}

/* ---- tests
 * ------------------------------------------------------------------*/

/* Runs `edvctl api METHOD PATH --wait` against the simulator. */
int sim_api_data(const char *method, const char *path, const char *data)
{
  int st;
  pid_t pid;
  char key[400];

  snprintf(key, sizeof(key), "%s/sim-key.json", dir);
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int dn = open("/dev/null", O_WRONLY);
    dup2(dn, 1);
    dup2(dn, 2);
    setenv("EDV_ENDPOINT", sim_base, 1);
    setenv("EDV_KEY_FILE", key, 1);
    setenv("EDV_PROJECT", "edv-sim", 1);
    if (data)
      execl(edvctl_bin, edvctl_bin, "api", method, path, "--data", data,
            "--wait", (char *)NULL);
    else
      execl(edvctl_bin, edvctl_bin, "api", method, path, "--wait",
            (char *)NULL);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int sim_api(const char *method, const char *path)
{
  return sim_api_data(method, path, NULL);
}

/* The simulator's canonical name of the resource ending in `suffix`. */
int sim_find(const char *suffix, char *out, size_t size)
{
  resp *r = http("GET", sim_base, "/_sim/state", NULL, NULL, NULL);
  json_object *items = json_object_object_get(r->json, "resources");
  int found = -1;

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    const char *n = json_object_get_string(
        json_object_object_get(json_object_array_get_idx(items, i), "name"));
    size_t ln = strlen(n), ls = strlen(suffix);
    if (ln >= ls && strcmp(n + ln - ls, suffix) == 0) {
      snprintf(out, size, "%s", n);
      found = 0;
    }
  }
  resp_free(r);
  return found;
}

json_object *sim_resource(const char *suffix)
{
  char name[400], path[500];
  resp *r;
  json_object *items, *found = NULL;

  if (sim_find(suffix, name, sizeof(name)))
    return NULL;
  snprintf(path, sizeof(path), "/_sim/state?prefix=%s", name);
  r = http("GET", sim_base, path, NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  items = json_object_object_get(r->json, "resources");
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (strcmp(jstr(it, "name"), name) == 0)
      found = json_object_get(json_object_object_get(it, "resource"));
  }
  resp_free(r);
  return found;
}

/* An A record made through the simulator's Cloud DNS API, as an operator
 * would (`zone`: the managed zone's canonical name). */
void sim_make_a(const char *zone, const char *name, const char *ip)
{
  char path[500], body[600];

  snprintf(path, sizeof(path), "/dns/v1/%s/rrsets", zone);
  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"type\":\"A\",\"ttl\":300,\"rrdatas\":[\"%s\"]}",
           name, ip);
  assert_int_equal(sim_api_data("POST", path, body), 0);
}

int sim_count(const char *method_id, const char *path_part)
{
  resp *r = http("GET", sim_base, "/_sim/requests", NULL, NULL, NULL);
  json_object *arr = json_object_object_get(r->json, "requests");
  int n = 0;

  for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *m = jstr(e, "methodId"), *p = jstr(e, "path");

    if (m && strcmp(m, method_id) == 0 &&
        (!path_part || (p && strstr(p, path_part))))
      n++;
  }
  resp_free(r);
  return n;
}

int footprint_ok(const char *id, const char *slug, char *why, size_t size)
{
  resp *r = http("GET", sim_base, "/_sim/state", NULL, NULL, NULL);
  json_object *fp = th_footprint(r->json, id, slug);
  int result = th_footprint_check(fp, 1, why, size);

  json_object_put(fp);
  resp_free(r);
  return result;
}

/* Makes the state directory, the config (the quick health probes plus
 * `conf_extra`), three tokens, and starts edvd; waits for the platform. */
int eh_setup(const char *conf_extra)
{
  char tmpl[] = "/tmp/edvd-test-XXXXXX", path[512];
  const char *root = getenv("EDV_SOURCE_ROOT");

  if (!mkdtemp(tmpl))
    return -1;
  snprintf(dir, sizeof(dir), "%s", tmpl);
  snprintf(path, sizeof(path), "%s/docs/openapi.json", root ? root : ".");
  openapi = json_object_from_file(path);
  if (!openapi)
    return -1;
  /* Quick health probes so the healer test takes seconds. */
  snprintf(path, sizeof(path), "%s/edvd.conf", dir);
  {
    FILE *f = fopen(path, "w");
    if (!f)
      return -1;
    fputs("# edvd under test\nserver.health_interval_s = 1\n"
          "server.heal_after = 2\nserver.heal_max_per_hour = 2\n",
          f);
    if (conf_extra)
      fputs(conf_extra, f);
    fclose(f);
  }
  make_token("admin", "adm", tok_admin, sizeof(tok_admin));
  make_token("operator", "op", tok_op, sizeof(tok_op));
  make_token("viewer", "view", tok_view, sizeof(tok_view));
  start_edvd();
  /* Wait for the platform (created on the first --sim start). */
  for (int i = 0; i < 600; i++) {
    resp *r =
        http("GET", base, "/api/infrastructure/status", tok_view, NULL, NULL);
    int ok = r->status == 200 && jstr(r->json, "platform") &&
             strcmp(jstr(r->json, "platform"), "READY") == 0;
    resp_free(r);
    if (ok)
      return 0;
    sleep_ms(100);
  }
  return -1;
}

int eh_teardown(void)
{
  long ms;

  if (edvd_pid > 0 && stop_edvd(&ms) != 0)
    return -1;
  json_object_put(openapi);
  if (!getenv("EDV_KEEP_TEST_DIR")) {
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      return -1;
  }
  return 0;
}

/* ---- edvctl as a command (remote mode tests) ---------------------------*/

#include <stdint.h>

/* Reads a whole file into a new string ("" when it cannot). */
char *eh_slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  char *s = NULL;
  size_t len = 0, cap = 0, n;
  char buf[4096];

  while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      s = realloc(s, cap);
      assert_non_null(s);
    }
    memcpy(s + len, buf, n);
    len += n;
  }
  if (f)
    fclose(f);
  if (!s)
    s = calloc(1, 1);
  else
    s[len] = '\0';
  return s;
}

int run_edvctl(const char *const *env, const char *const *args, char **out,
               char **err)
{
  char fo[320], fe[320];
  int st;
  pid_t pid;

  snprintf(fo, sizeof(fo), "%s/edvctl.out", dir);
  snprintf(fe, sizeof(fe), "%s/edvctl.err", dir);
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    const char *argv[48];
    int n = 0, o = open(fo, O_WRONLY | O_CREAT | O_TRUNC, 0600),
        e = open(fe, O_WRONLY | O_CREAT | O_TRUNC, 0600),
        in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    /* Only what the test gives: no EDV_* of the caller's shell. */
    unsetenv("EDV_SERVER");
    unsetenv("EDV_TOKEN");
    unsetenv("EDV_TOKEN_FILE");
    unsetenv("EDV_CACERT");
    for (size_t i = 0; env && env[i]; i++)
      putenv((char *)(uintptr_t)env[i]);
    argv[n++] = edvctl_bin;
    for (size_t i = 0; args[i] && n < 47; i++)
      argv[n++] = args[i];
    argv[n] = NULL;
    execv(edvctl_bin, (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (out)
    *out = eh_slurp(fo);
  if (err)
    *err = eh_slurp(fe);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *eh_conf;

static int eh_group_setup(void **state)
{
  (void)state;
  return eh_setup(eh_conf);
}

static int eh_group_teardown(void **state)
{
  (void)state;
  return eh_teardown();
}

int eh_main(int argc, char **argv, const char *group,
            const struct CMUnitTest *tests, size_t ntests,
            int (*setup)(void **state), const char *conf_extra)
{
  int result;

  if (argc < 3) {
    fprintf(stderr, "usage: %s EDVD EDVCTL\n", argv[0]);
    return 2;
  }
  edvd_bin = argv[1];
  edvctl_bin = argv[2];
  eh_conf = conf_extra;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  result = _cmocka_run_group_tests(
      group, tests, ntests, setup ? setup : eh_group_setup, eh_group_teardown);
  curl_global_cleanup();
  return result;
}

/* The VM's machine type and Cloud SQL's tier and storage, from the
 * simulator (a size of 0: not checked). */
void check_tenant_cloud(const char *id, const char *mt, const char *sqltier,
                        int boot_gb, int sql_gb)
{
  char suffix[128], want[96];
  json_object *o;

  snprintf(suffix, sizeof(suffix), "/instances/edv-%s-vm", id);
  o = sim_resource(suffix);
  assert_non_null(o);
  snprintf(want, sizeof(want), "/machineTypes/%s", mt);
  assert_non_null(strstr(jstr(o, "machineType"), want));
  assert_string_equal(jstr(o, "status"), "RUNNING");
  json_object_put(o);
  snprintf(suffix, sizeof(suffix), "/disks/edv-%s-boot", id);
  o = sim_resource(suffix);
  assert_non_null(o);
  if (boot_gb)
    assert_int_equal(atoi(jstr(o, "sizeGb")), boot_gb);
  json_object_put(o);
  snprintf(suffix, sizeof(suffix), "/instances/edv-%s-db-1", id);
  o = sim_resource(suffix);
  assert_non_null(o);
  assert_string_equal(jstr(o, "settings.tier"), sqltier);
  if (sql_gb)
    assert_int_equal(atoi(jstr(o, "settings.dataDiskSizeGb")), sql_gb);
  json_object_put(o);
}

/* ---- the alert intake
 * ------------------------------------------------------*/

static char intake_dir[] = "/tmp/edvd-intake-XXXXXX";
char eh_intake_file[320];

int eh_intake_setup(char *conf, size_t size)
{
  FILE *f;

  if (!mkdtemp(intake_dir))
    return -1;
  snprintf(eh_intake_file, sizeof(eh_intake_file), "%s/intake-password",
           intake_dir);
  f = fopen(eh_intake_file, "w");
  if (!f)
    return -1;
  fputs(EH_INTAKE_PASSWORD "\n", f);
  fclose(f);
  if (chmod(eh_intake_file, 0600) != 0)
    return -1;
  snprintf(conf, size, "alerts.intake_password_file = %s\n", eh_intake_file);
  return 0;
}

void eh_intake_cleanup(void)
{
  unlink(eh_intake_file);
  rmdir(intake_dir);
}

char *eh_notification(char *buf, size_t size, const char *id, const char *state,
                      const char *user, const char *metric, const char *backend)
{
  char ul[128] = "", ml[128] = "", ended[32] = "null";

  if (user)
    snprintf(ul, sizeof(ul), "\"edv-tenant\": \"%s\"", user);
  if (metric)
    snprintf(ml, sizeof(ml), "\"edv_tenant\": \"%s\"", metric);
  if (strcmp(state, "closed") == 0)
    snprintf(ended, sizeof(ended), "1765003600");
  snprintf(
      buf, size,
      "{\"version\": \"1.2\", \"incident\": {\"incident_id\": \"%s\","
      " \"scoping_project_id\": \"edv-test\", \"scoping_project_number\": 1,"
      " \"url\": \"https://console.cloud.google.com/monitoring/alerting/"
      "incidents/%s?project=edv-test\","
      " \"started_at\": 1765000000, \"ended_at\": %s, \"state\": \"%s\","
      " \"summary\": \"request_count for %s with value 0.500 is above the"
      " threshold of 0.050.\", \"apigee_url\": \"\","
      " \"observed_value\": \"0.500\", \"threshold_value\": \"0.05\","
      " \"resource\": {\"type\": \"https_lb_rule\", \"labels\":"
      " {\"project_id\": \"edv-test\"%s%s%s}},"
      " \"resource_type_display_name\": \"Application Load Balancer Rule\","
      " \"resource_id\": \"\", \"resource_display_name\": \"x\","
      " \"resource_name\": \"edv-test https_lb_rule x\","
      " \"metric\": {\"type\": \"loadbalancing.googleapis.com/https/"
      "request_count\", \"displayName\": \"Request count\", \"labels\":"
      " {%s}}, \"metadata\": {\"system_labels\": {}, \"user_labels\": {%s}},"
      " \"policy_name\": \"edv: application_errors\", \"policy_user_labels\":"
      " {\"edv-alert\": \"application_errors\", \"edv-managed\": \"true\"},"
      " \"condition_name\": \"edv: application_errors\", \"condition\":"
      " {\"name\": \"projects/edv-test/alertPolicies/1/conditions/2\","
      " \"displayName\": \"edv: application_errors\"}, \"documentation\":"
      " {\"content\": \"errors\", \"mime_type\": \"text/markdown\","
      " \"subject\": \"\"}, \"severity\": \"Error\"}}",
      id, id, ended, state, backend ? backend : "-",
      backend ? ", \"backend_target_name\": \"" : "", backend ? backend : "",
      backend ? "\"" : "", ml, ul);
  return buf;
}
