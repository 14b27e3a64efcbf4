/*
 * fuzz_api.c - the Management API of edvd (src/server/api*.c): requests
 * go over loopback HTTP to a real edvd started in this process (the
 * server, its routing, bearer-token check, query strings, JSON bodies, the
 * field-by-field validation and the error answers), with one tenant in
 * its store so the tenant routes reach past the 404. Its engine points at
 * a closed port: a request that gets past validation to Google fails
 * fast, nothing is ever created, so the inputs stay independent.
 *
 * Input: the first line is "METHOD TARGET" (TARGET = path?query), then
 * header lines up to an empty line, then the body. The harness adds
 * Host, Content-Length, Connection: close and, unless the input has an
 * Authorization header, an admin token, so the fuzzer starts past the
 * authentication (and may still send its own).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fleet/fleet.h"
#include "fuzz.h"
#include "server/edvd.h"
#include "store/store.h"

static uv_loop_t loop;
static edvd d;
static char dir[64], token[EDV_TOKEN_MAX];
static unsigned port;

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void cleanup(void)
{
  /* FUZZ_VERBOSE=1: how edvd answered, to see the harness gets past the
   * router and the authentication. */
  if (getenv("FUZZ_VERBOSE"))
    fprintf(stderr, "fuzz_api: answers 2xx %llu 3xx %llu 4xx %llu 5xx %llu\n",
            (unsigned long long)d.http_requests[2],
            (unsigned long long)d.http_requests[3],
            (unsigned long long)d.http_requests[4],
            (unsigned long long)d.http_requests[5]);
  if (dir[0])
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what, const edv_error *err)
{
  fprintf(stderr, "fuzz_api: %s: %s\n", what, err ? err->message : "failed");
  cleanup();
  abort();
}

/* One READY tenant, as a finished provisioning leaves it. */
static void seed_tenant(void)
{
  edv__tenant_rec rec;
  edv_error err;

  memset(&rec, 0, sizeof(rec));
  snprintf(rec.id, sizeof(rec.id), "greenwood");
  snprintf(rec.slug, sizeof(rec.slug), "greenwood-high");
  snprintf(rec.tier, sizeof(rec.tier), "premium");
  snprintf(rec.spec_json, sizeof(rec.spec_json),
           "{\"id\":\"greenwood\",\"slug\":\"greenwood-high\","
           "\"display_name\":\"Greenwood High School\",\"tier\":\"premium\","
           "\"region\":\"us-central1\"}");
  rec.phase = EDV_PHASE_READY;
  rec.generation = 1;
  if (edv__store_tenant_put(d.ef->store, &rec, EDV_PUT_UPSERT, &err))
    die("seed tenant", &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  static const char *const tiers[] = {FUZZ_TIERS_JSON, NULL};
  char path[128], conf[128];
  edvd_opts opts;
  edv_error err;
  FILE *f;

  (void)argc;
  (void)argv;
  snprintf(dir, sizeof(dir), "/tmp/edv-fuzz-api-XXXXXX");
  if (!mkdtemp(dir))
    die("mkdtemp", NULL);
  atexit(cleanup);
  snprintf(path, sizeof(path), "%s/%s", dir, EDV_TOKENS_FILE);
  if (edv__tokens_create(path, "fuzz", EDV_ROLE_ADMIN, token, sizeof(token),
                         &err))
    die("token", &err);
  snprintf(path, sizeof(path), "%s/access-token", dir);
  snprintf(conf, sizeof(conf), "%s/edv.conf", dir);
  if (!(f = fopen(path, "w")))
    die("access token file", NULL);
  fputs("ya29.fuzz\n", f);
  fclose(f);
  chmod(path, 0600);
  if (!(f = fopen(conf, "w")))
    die("config file", NULL);
  /* Port 9 (discard) is closed: calls fail at once, without retries. */
  fprintf(f,
          "project = edv-fuzz\ndomain = edvirons.com\n"
          "endpoint = http://127.0.0.1:9\naccess_token_file = %s\n"
          "retry.max_attempts = 1\nhttp.connect_timeout_ms = 1000\n"
          "server.reconcile_interval_s = 86400\n"
          "server.drift_interval_s = 0\nserver.health_interval_s = 0\n",
          path);
  fclose(f);
  memset(&opts, 0, sizeof(opts));
  opts.config_file = conf;
  opts.state_dir = dir;
  opts.listen = "127.0.0.1:0";
  opts.tiers_fallbacks = tiers;
  uv_loop_init(&loop);
  if (edvd_start(&d, &loop, &opts))
    die("edvd_start", NULL);
  fuzz_quiet_logs();
  port = edv__httpd_port(d.httpd);
  seed_tenant();
  return 0;
}

/* Copies s[0..n) without CR, LF and (when no_space) spaces. */
static size_t clean(char *out, const char *s, size_t n, int no_space)
{
  size_t k = 0;

  for (size_t i = 0; i < n; i++)
    if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0' &&
        !(no_space && s[i] == ' '))
      out[k++] = s[i];
  out[k] = '\0';
  return k;
}

/* Builds the request text from the input; returns its length. */
static size_t build(const uint8_t *data, size_t size, char *out, size_t cap)
{
  const char *p = (const char *)data, *end = p + size, *nl, *sp;
  char method[16], target[2048], hdrs[4096], line[1024];
  size_t hlen = 0, n;
  int auth = 0;

  nl = memchr(p, '\n', size);
  if (!nl)
    nl = end;
  sp = memchr(p, ' ', (size_t)(nl - p));
  if (!sp || sp - p >= (long)sizeof(method) || nl - sp > 2000)
    return 0;
  clean(method, p, (size_t)(sp - p), 1);
  clean(target, sp + 1, (size_t)(nl - sp - 1), 1);
  if (!method[0] || target[0] != '/')
    return 0;
  p = nl < end ? nl + 1 : end;
  hdrs[0] = '\0';
  /* Headers up to an empty line; each must be "Name: value". */
  while (p < end) {
    const char *ls = p, *colon;
    nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
      nl = end;
    n = (size_t)(nl - ls);
    p = nl < end ? nl + 1 : end;
    if (n && ls[n - 1] == '\r')
      n--;
    if (n == 0)
      break;
    if (n >= sizeof(line))
      continue;
    clean(line, ls, n, 0);
    colon = strchr(line, ':');
    if (!colon || colon == line || memchr(line, ' ', (size_t)(colon - line)))
      continue;
    if (!strncasecmp(line, "Content-Length:", 15) ||
        !strncasecmp(line, "Transfer-Encoding:", 18) ||
        !strncasecmp(line, "Connection:", 11) ||
        !strncasecmp(line, "Host:", 5) || !strncasecmp(line, "Expect:", 7))
      continue;
    if (!strncasecmp(line, "Authorization:", 14))
      auth = 1;
    if (hlen + strlen(line) + 3 >= sizeof(hdrs))
      break;
    hlen += (size_t)sprintf(hdrs + hlen, "%s\r\n", line);
  }
  n = (size_t)(end - p);
  if (n > 64 * 1024)
    return 0;
  hlen =
      (size_t)snprintf(out, cap,
                       "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Connection: close\r\nContent-Length: %zu\r\n"
                       "%s%s%s%s\r\n",
                       method, target, n, auth ? "" : "Authorization: Bearer ",
                       auth ? "" : token, auth ? "" : "\r\n", hdrs);
  if (hlen + n >= cap)
    return 0;
  memcpy(out + hlen, p, n);
  return hlen + n;
}

/* Sends req and runs the loop until edvd has answered and closed. */
static void exchange(const char *req, size_t len)
{
  struct sockaddr_in sa;
  size_t sent = 0;
  char buf[16384];
  int fd, done = 0;
  uint64_t start = uv_hrtime();

  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 ||
      (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS))
    abort();
  while (!done) {
    struct pollfd pf[2] = {{fd, POLLIN | (sent < len ? POLLOUT : 0), 0},
                           {uv_backend_fd(&loop), POLLIN, 0}};
    int t = uv_backend_timeout(&loop);
    uv_run(&loop, UV_RUN_NOWAIT);
    if (poll(pf, 2, t < 0 || t > 50 ? 50 : t) < 0 && errno != EINTR)
      abort();
    if (sent < len && (pf[0].revents & POLLOUT)) {
      ssize_t k = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
      if (k > 0)
        sent += (size_t)k;
      else if (k < 0 && errno != EAGAIN)
        done = 1; /* the server gave up on the request (413, ...) */
    }
    for (;;) {
      ssize_t k = recv(fd, buf, sizeof(buf), 0);
      if (k > 0)
        continue;
      if (k == 0 || errno != EAGAIN)
        done = 1;
      break;
    }
    if (uv_hrtime() - start > 20000000000ull) {
      fprintf(stderr, "fuzz_api: no answer in 20 s\n");
      abort(); /* a request edvd never answers */
    }
  }
  close(fd);
  uv_run(&loop, UV_RUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char req[80 * 1024];
  size_t len;

  if (size > 70 * 1024)
    return 0;
  len = build(data, size, req, sizeof(req));
  if (len)
    exchange(req, len);
  return 0;
}
