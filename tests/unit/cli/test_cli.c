/*
 * test_cli.c - runs the built edvctl binary (path in argv[1]) and checks
 * exit codes, stdout and stderr: bad command lines give exit 2 and a
 * message naming the problem; `api` and `auth print-access-token` work
 * against a scripted loopback server (tests/support/mockserver) with a
 * static access token; SIGINT during a call gives exit 7.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "mockserver.h"

static const char *edvctl; /* the binary under test */
static int have_sim;       /* it embeds the simulator (--sim works) */

typedef struct run_result {
  int status; /* exit code, or 128 + signal */
  char out[65536];
  char err[8192];
} run_result;

/* Reads a whole fd into buf (NUL-terminated, truncated to size). */
static void slurp(int fd, char *buf, size_t size)
{
  size_t len = 0;
  ssize_t n;
  char scratch[4096];

  while ((n = read(fd, scratch, sizeof(scratch))) > 0) {
    if (len + (size_t)n < size) {
      memcpy(buf + len, scratch, (size_t)n);
      len += (size_t)n;
    }
  }
  buf[len] = '\0';
}

/*
 * Runs edvctl with argv (NULL-ended, without the program name) and stdin
 * from /dev/null. With `interrupt` set, sends SIGINT once that server has
 * received a request (so edvctl is inside its loop, SIGINT watched).
 * stdout goes to a temp file and stderr through a pipe.
 */
static void run_argv(run_result *r, const char *const *args,
                     mock_server *interrupt)
{
  char *argv[32];
  int errp[2], i, wstatus;
  char outname[] = "edvctl-out-XXXXXX";
  int outfd = mkstemp(outname);
  pid_t pid;

  assert_true(outfd >= 0);
  unlink(outname);
  argv[0] = (char *)edvctl;
  for (i = 0; args[i]; i++)
    argv[i + 1] = (char *)args[i];
  argv[i + 1] = NULL;
  assert_int_equal(pipe(errp), 0);
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);

    dup2(devnull, 0);
    dup2(outfd, 1);
    dup2(errp[1], 2);
    close(errp[0]);
    /* No ambient credentials or config may leak into the test. */
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("EDV_CONFIG");
    unsetenv("EDV_ENDPOINT");
    unsetenv("EDV_PROJECT");
    unsetenv("EDV_KEY_FILE");
    setenv("CLOUDSDK_CONFIG", "/nonexistent-edv-test", 1);
    setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
    execv(edvctl, argv);
    _exit(127);
  }
  close(errp[1]);
  if (interrupt) {
    struct timespec ts = {0, 10 * 1000000L};
    int tries;

    for (tries = 0; tries < 3000 && mock_request_count(interrupt) == 0; tries++)
      nanosleep(&ts, NULL);
    kill(pid, SIGINT);
  }
  slurp(errp[0], r->err, sizeof(r->err));
  close(errp[0]);
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  r->status =
      WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  lseek(outfd, 0, SEEK_SET);
  slurp(outfd, r->out, sizeof(r->out));
  close(outfd);
}

#define RUN(r, ...)                                                            \
  do {                                                                         \
    const char *const args_[] = {__VA_ARGS__, NULL};                           \
    run_argv((r), args_, NULL);                                                \
  } while (0)

static void expect_usage(const char *needle, const char *const *args)
{
  static run_result r;

  run_argv(&r, args, NULL);
  if (r.status != 2 || !strstr(r.err, needle))
    print_error("exit %d, stderr: %s\n(wanted 2 and '%s')\n", r.status, r.err,
                needle);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, needle));
  assert_string_equal(r.out, ""); /* nothing on stdout */
}

#define USAGE(needle, ...)                                                     \
  do {                                                                         \
    const char *const args_[] = {__VA_ARGS__, NULL};                           \
    expect_usage((needle), args_);                                             \
  } while (0)

static void test_bad_arguments(void **state)
{
  (void)state;
  USAGE("unknown command 'frobnicate'", "frobnicate");
  USAGE("unknown flag '--bogus'", "--bogus", "version");
  USAGE("edvctl api: unknown flag '--bogus'\n", "api", "GET", "/compute/v1",
        "--bogus");
  /* Typos: the nearest command or flag is suggested; nothing far is. */
  USAGE("edvctl: unknown command 'tenat'; did you mean 'tenant'?\n", "tenat");
  USAGE("edvctl tenant: unknown command 'lst'; did you mean 'list'?\n",
        "tenant", "lst");
  USAGE("edvctl tenant: unknown command 'destroy'\n", "tenant", "destroy");
  USAGE("edvctl: unknown flag '--formt'; did you mean '--format'?\n", "--formt",
        "json", "version");
  USAGE("edvctl api: unknown flag '--wiat'; did you mean '--wait'?\n", "api",
        "GET", "/compute/v1/x", "--wiat");
  USAGE("unknown flag '-z'", "-z");
  USAGE("missing argument METHOD", "api");
  USAGE("missing argument URL_OR_PATH", "api", "GET");
  USAGE("unexpected argument 'extra'", "api", "GET", "/compute/v1/x", "extra");
  USAGE("METHOD 'FETCH' is not one of", "api", "FETCH", "/compute/v1/x");
  USAGE("URL_OR_PATH 'compute/v1' must be a path", "api", "GET", "compute/v1");
  USAGE("cannot tell which API serves '/what/ever'", "api", "GET",
        "/what/ever");
  USAGE("--api 'nosuch' is not one of", "api", "GET", "/x", "--api", "nosuch");
  USAGE("--data is not valid JSON", "api", "POST", "/compute/v1/x", "--data",
        "{\"name\": ");
  USAGE("--data is not valid JSON", "api", "POST", "/compute/v1/x",
        "--data={\"a\":1} trailing");
  USAGE("--data: cannot read 'no-such-file.json'", "api", "POST",
        "/compute/v1/x", "-d", "@no-such-file.json");
  USAGE("--data must be a JSON object or array", "api", "POST", "/compute/v1/x",
        "--data", "42");
  USAGE("flag --data needs a value", "api", "POST", "/compute/v1/x", "--data");
  USAGE("flag --wait takes no value", "api", "GET", "/compute/v1/x",
        "--wait=yes");
  USAGE("--timeout 'soon' is not a number", "api", "GET", "/compute/v1/x",
        "--timeout", "soon");
  USAGE("--format 'xml' is not one of: table, json", "--format", "xml",
        "version");
  USAGE("--endpoint 'ftp://x' must start with http", "--endpoint", "ftp://x",
        "version");
  USAGE("missing command after 'edvctl auth'", "auth");
  USAGE("edvctl auth: unknown command 'login'\n", "auth", "login");
  USAGE("unknown command 'edvctl nothing'", "help", "nothing");
}

static void test_no_arguments(void **state)
{
  static run_result r;
  const char *const none[] = {NULL};

  (void)state;
  run_argv(&r, none, NULL);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "Usage: edvctl"));
}

/* The commit `edvctl version` names is the source tree's HEAD (when the
 * tree is a git checkout: a tarball's build says "unknown"). */
static void expect_build_commit(const char *out)
{
  const char *root = getenv("EDV_SOURCE_ROOT");
  char cmd[1024], head[64] = "";
  FILE *p;

  snprintf(cmd, sizeof(cmd),
           "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null",
           root ? root : ".");
  p = popen(cmd, "r");
  assert_non_null(p);
  if (!fgets(head, sizeof(head), p))
    head[0] = '\0';
  pclose(p);
  head[strcspn(head, "\n")] = '\0';
  if (!head[0]) {
    printf("# not a git checkout: the commit is not compared\n");
    assert_non_null(strstr(out, "\"commit\": \"unknown\""));
    return;
  }
  if (!strstr(out, head))
    print_error("HEAD %s is not in: %s\n", head, out);
  assert_non_null(strstr(out, head));
}

/* Reads a whole small file into buf ("" when missing). */
static const char *read_small(const char *path, char *buf, size_t size)
{
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, size - 1, f) : 0;

  if (f)
    fclose(f);
  buf[n] = '\0';
  return buf;
}

/* The row of `config list` that starts with key: its value and source
 * (columns sized to their content, separated by spaces). */
static void expect_row(const char *out, const char *key, const char *value,
                       const char *source)
{
  char line[256], k[128], v[128], src[64];
  const char *p = strstr(out, key);

  assert_non_null(p);
  snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
  /* key holds a trailing space, so that "region" does not find "regions" */
  if (sscanf(line, "%127s %127s %63s", k, v, src) != 3 ||
      strncmp(k, key, strlen(key) - 1) != 0 || strcmp(v, value) != 0 ||
      strcmp(src, source) != 0)
    print_error("row '%s', wanted '%s' '%s' '%s'\n", line, key, value, source);
  assert_string_equal(v, value);
  assert_string_equal(src, source);
}

/* edvctl config: the default file under $XDG_CONFIG_HOME, validated edits
 * that keep comments, and list's sources. */
static void test_config(void **state)
{
  static run_result r;
  char dir[] = "/tmp/edvctl-config-XXXXXX", path[1024], buf[1024];
  const char *old = getenv("XDG_CONFIG_HOME");
  char saved[512];
  struct stat st;

  (void)state;
  snprintf(saved, sizeof(saved), "%s", old ? old : "");
  assert_non_null(mkdtemp(dir));
  setenv("XDG_CONFIG_HOME", dir, 1);
  snprintf(path, sizeof(path), "%s/edv/config", dir);

  RUN(&r, "config", "set", "project", "my-proj");
  assert_int_equal(r.status, 0);
  assert_string_equal(read_small(path, buf, sizeof(buf)),
                      "project = \"my-proj\"\n");
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  RUN(&r, "config", "get", "project");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "my-proj\n");

  /* Other lines and comments stay; the key's old lines go. */
  {
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs("# mine\nregion = us-east1 # east\nproject = old\n", f);
    fclose(f);
  }
  RUN(&r, "config", "set", "project", "new-proj");
  assert_int_equal(r.status, 0);
  assert_string_equal(read_small(path, buf, sizeof(buf)),
                      "# mine\nregion = us-east1 # east\n"
                      "project = \"new-proj\"\n");

  /* A bad key or value changes nothing and names the key. */
  USAGE("unknown key 'bogus'", "config", "set", "bogus", "1");
  USAGE("key 'http.timeout_ms'", "config", "set", "http.timeout_ms", "soon");
  USAGE("KEY: unknown key 'nope'", "config", "get", "nope");
  assert_string_equal(read_small(path, buf, sizeof(buf)),
                      "# mine\nregion = us-east1 # east\n"
                      "project = \"new-proj\"\n");

  /* Where each value comes from. */
  RUN(&r, "--endpoint", "http://127.0.0.1:9", "config", "list");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, path));
  expect_row(r.out, "region ", "us-east1", "file");
  expect_row(r.out, "project ", "new-proj", "file");
  expect_row(r.out, "endpoint ", "http://127.0.0.1:9", "flag");
  expect_row(r.out, "domain ", "edvirons.com", "default");
  RUN(&r, "--endpoint", "http://127.0.0.1:9", "--format", "json", "config",
      "list");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "\"source\": \"flag\""));
  assert_non_null(strstr(r.out, "\"source\": \"file\""));
  assert_non_null(strstr(r.out, "\"source\": \"default\""));

  RUN(&r, "config", "unset", "region");
  assert_int_equal(r.status, 0);
  assert_string_equal(read_small(path, buf, sizeof(buf)),
                      "# mine\nproject = \"new-proj\"\n");
  RUN(&r, "config", "get", "zone");
  assert_int_equal(r.status, 3);
  assert_non_null(strstr(r.err, "zone is not set"));

  /* The examples the repository ships load as they are. */
  snprintf(path, sizeof(path), "%s/examples/edv.conf",
           getenv("EDV_SOURCE_ROOT"));
  RUN(&r, "--config", path, "config", "get", "domain");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "schools.example.org\n");
  snprintf(path, sizeof(path), "%s/examples/tiers-custom.json",
           getenv("EDV_SOURCE_ROOT"));
  setenv("EDV_TIERS_FILE", path, 1);
  RUN(&r, "tiers", "list");
  unsetenv("EDV_TIERS_FILE");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "\npilot "));
  assert_non_null(strstr(r.out, "\ndistrict "));
  assert_null(strstr(r.out, "\nbasic "));

  snprintf(buf, sizeof(buf), "rm -rf '%s'", dir);
  assert_int_equal(system(buf), 0);
  setenv("XDG_CONFIG_HOME", saved, 1);
}

static void test_help_and_version(void **state)
{
  static run_result r;

  (void)state;
  RUN(&r, "--help");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "Exit codes:"));
  assert_non_null(strstr(r.out, "7  interrupted"));
  assert_non_null(strstr(r.out, "api"));
  RUN(&r, "api", "--help");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "Usage: edvctl api METHOD URL_OR_PATH"));
  assert_non_null(strstr(r.out, "Examples:"));
  assert_non_null(strstr(r.out, "--data JSON|@FILE"));
  RUN(&r, "help", "auth", "print-access-token");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "Usage: edvctl auth print-access-token"));
  RUN(&r, "auth", "--help");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "print-access-token"));
  RUN(&r, "version");
  assert_int_equal(r.status, 0);
  assert_true(strncmp(r.out, "edvctl ", 7) == 0);
  RUN(&r, "--version");
  assert_int_equal(r.status, 0);
  assert_true(strncmp(r.out, "edvctl ", 7) == 0);
  RUN(&r, "version", "--format=json");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "\"edvctl\""));
  assert_non_null(strstr(r.out, "\"build_date\""));
  expect_build_commit(r.out);
}

/* ---- Against the mock server ---------------------------------------------*/

typedef struct mock_env {
  mock_server *ms;
  char config[64];
  char token[64];
} mock_env;

static int mock_setup(void **state)
{
  mock_env *e = calloc(1, sizeof(*e));
  FILE *f;
  int fd;

  e->ms = mock_start();
  assert_non_null(e->ms);
  strcpy(e->token, "edvctl-token-XXXXXX");
  fd = mkstemp(e->token);
  assert_true(fd >= 0);
  f = fdopen(fd, "w");
  fputs("tok-cli-123\n", f);
  fclose(f);
  strcpy(e->config, "edvctl-conf-XXXXXX");
  fd = mkstemp(e->config);
  assert_true(fd >= 0);
  f = fdopen(fd, "w");
  fprintf(f,
          "# written by test_cli\n"
          "endpoint = %s\n"
          "access_token_file = %s\n"
          "project = p\n"
          "retry.initial_ms = 5\n"
          "retry.max_ms = 20\n",
          mock_url(e->ms), e->token);
  fclose(f);
  *state = e;
  return 0;
}

static int mock_teardown(void **state)
{
  mock_env *e = *state;

  mock_stop(e->ms);
  unlink(e->config);
  unlink(e->token);
  free(e);
  return 0;
}

static void test_api_get(void **state)
{
  mock_env *e = *state;
  static run_result r;
  json_object *obj, *v;
  mock_request req;
  char auth[64];

  mock_expect(e->ms, "GET", "/compute/v1/projects/p/global/networks", 200,
              "{\"kind\":\"compute#networkList\",\"items\":[{\"name\":"
              "\"edv-net\"}]}",
              NULL);
  RUN(&r, "--config", e->config, "api", "get",
      "/compute/v1/projects/p/global/networks");
  if (r.status != 0)
    print_error("stderr: %s\n", r.err);
  assert_int_equal(r.status, 0);
  obj = json_tokener_parse(r.out);
  assert_non_null(obj);
  assert_true(json_object_object_get_ex(obj, "kind", &v));
  assert_string_equal(json_object_get_string(v), "compute#networkList");
  json_object_put(obj);
  assert_non_null(strchr(r.out, '\n'));      /* pretty-printed */
  assert_null(strstr(r.err, "tok-cli-123")); /* never in logs */
  assert_int_equal(mock_request_get(e->ms, 0, &req), 0);
  assert_string_equal(req.method, "GET");
  assert_string_equal(req.path, "/compute/v1/projects/p/global/networks");
  assert_non_null(
      mock_request_header(&req, "authorization", auth, sizeof(auth)));
  assert_string_equal(auth, "Bearer tok-cli-123");
  mock_request_free(&req);
}

static void test_api_post_data(void **state)
{
  mock_env *e = *state;
  static run_result r;
  mock_request req;
  json_object *body, *v;

  mock_expect(e->ms, "POST", "/dns/v1/projects/p/managedZones", 200,
              "{\"name\":\"z\"}", NULL);
  RUN(&r, "--config", e->config, "-q", "api", "POST",
      "/dns/v1/projects/p/managedZones", "--data",
      "{\"name\":\"z\",\"dnsName\":\"edvirons.com.\"}");
  assert_int_equal(r.status, 0);
  assert_int_equal(mock_request_get(e->ms, 0, &req), 0);
  body = json_tokener_parse(req.body);
  assert_non_null(body);
  assert_true(json_object_object_get_ex(body, "dnsName", &v));
  assert_string_equal(json_object_get_string(v), "edvirons.com.");
  json_object_put(body);
  mock_request_free(&req);
}

static void test_api_errors(void **state)
{
  mock_env *e = *state;
  static run_result r;

  mock_expect(e->ms, "GET", "/compute/v1/projects/p/global/networks/x", 404,
              "{\"error\":{\"code\":404,\"message\":\"The resource "
              "'projects/p/global/networks/x' was not found\",\"errors\":[{"
              "\"message\":\"The resource 'projects/p/global/networks/x' was "
              "not found\",\"domain\":\"global\",\"reason\":\"notFound\"}]}}",
              NULL);
  RUN(&r, "--config", e->config, "api", "GET",
      "/compute/v1/projects/p/global/networks/x");
  assert_int_equal(r.status, 3);
  assert_non_null(strstr(r.err, "ENOTFOUND"));
  assert_non_null(strstr(r.err, "was not found"));
  assert_string_equal(r.out, "");

  mock_expect(e->ms, "POST", "/compute/v1/projects/p/global/networks", 409,
              "{\"error\":{\"code\":409,\"message\":\"The resource "
              "'projects/p/global/networks/n' already exists\",\"errors\":[{"
              "\"reason\":\"alreadyExists\",\"domain\":\"global\"}]}}",
              NULL);
  RUN(&r, "--config", e->config, "api", "POST",
      "/compute/v1/projects/p/global/networks", "--data", "{\"name\":\"n\"}");
  assert_int_equal(r.status, 4);
  assert_non_null(strstr(r.err, "EEXIST"));

  mock_expect(e->ms, "GET", "/compute/v1/projects/p/global/firewalls", 403,
              "{\"error\":{\"code\":403,\"message\":\"Required "
              "'compute.firewalls.list' permission\",\"errors\":[{\"reason\":"
              "\"forbidden\",\"domain\":\"global\"}]}}",
              NULL);
  RUN(&r, "--config", e->config, "api", "GET",
      "/compute/v1/projects/p/global/firewalls");
  assert_int_equal(r.status, 6);
}

#define OPPATH "/compute/v1/projects/p/global/operations/op-5"
#define OP(status, extra)                                                      \
  "{\"kind\":\"compute#operation\",\"name\":\"op-5\",\"status\":\"" status     \
  "\",\"selfLink\":\"https://www.googleapis.com" OPPATH "\"" extra "}"

static void test_api_wait(void **state)
{
  mock_env *e = *state;
  static run_result r;
  json_object *obj, *v;

  mock_expect(e->ms, "POST", "/compute/v1/projects/p/global/networks", 200,
              OP("PENDING", ""), NULL);
  mock_expect(e->ms, "POST", OPPATH "/wait", 200, OP("RUNNING", ""), NULL);
  mock_expect(e->ms, "POST", OPPATH "/wait", 200, OP("DONE", ""), NULL);
  RUN(&r, "--config", e->config, "api", "POST",
      "/compute/v1/projects/p/global/networks", "--data", "{\"name\":\"n\"}",
      "--wait");
  if (r.status != 0)
    print_error("stderr: %s\n", r.err);
  assert_int_equal(r.status, 0);
  obj = json_tokener_parse(r.out);
  assert_non_null(obj);
  assert_true(json_object_object_get_ex(obj, "status", &v));
  assert_string_equal(json_object_get_string(v), "DONE");
  json_object_put(obj);
  assert_non_null(strstr(r.err, "op-5")); /* progress on stderr */

  /* A failed operation: the in-use error gives exit 4. */
  mock_reset(e->ms);
  mock_expect(e->ms, "DELETE", "/compute/v1/projects/p/global/networks/n", 200,
              OP("RUNNING", ""), NULL);
  mock_expect(e->ms, "POST", OPPATH "/wait", 200,
              OP("DONE", ",\"error\":{\"errors\":[{\"code\":"
                         "\"RESOURCE_IN_USE_BY_ANOTHER_RESOURCE\",\"message\":"
                         "\"in use by firewall f\"}]},"
                         "\"httpErrorStatusCode\":400"),
              NULL);
  RUN(&r, "--config", e->config, "api", "DELETE",
      "/compute/v1/projects/p/global/networks/n", "--wait", "-q");
  assert_int_equal(r.status, 4);
  assert_non_null(strstr(r.err, "EINUSE"));
  assert_non_null(strstr(r.err, "in use by firewall f"));
}

static void test_print_access_token(void **state)
{
  mock_env *e = *state;
  static run_result r;

  RUN(&r, "--config", e->config, "auth", "print-access-token");
  if (r.status != 0)
    print_error("stderr: %s\n", r.err);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "tok-cli-123\n");
  assert_int_equal(mock_request_count(e->ms), 0);
}

static void test_sigint(void **state)
{
  mock_env *e = *state;
  static run_result r;
  mock_reply reply;
  const char *args[] = {
      "--config", e->config, "api", "GET", "/compute/v1/projects/p/zones",
      NULL};

  memset(&reply, 0, sizeof(reply));
  reply.method = "GET";
  reply.path_prefix = "/compute/v1/projects/p/zones";
  reply.status = 200;
  reply.body = "{}";
  reply.delay_ms = 20000; /* longer than the test may take */
  mock_expect_reply(e->ms, &reply);
  run_argv(&r, args, e->ms);
  assert_int_equal(r.status, 7);
  assert_non_null(strstr(r.err, "interrupted"));
}

static void test_bad_key_file(void **state)
{
  static run_result r;

  (void)state;
  RUN(&r, "--endpoint", "http://127.0.0.1:9", "auth", "print-access-token",
      "--key-file", "no-such-key.json");
  assert_int_equal(r.status, 6);
  assert_non_null(strstr(r.err, "no-such-key.json"));
  assert_string_equal(r.out, "");
}

/* --sim: the embedded simulator on edvctl's own loop, state on disk. */
static void test_sim(void **state)
{
  static run_result r;
  char dir[] = "edvctl-state-XXXXXX", path[64];
  json_object *obj, *v;

  (void)state;
  if (!have_sim)
    skip();
  assert_non_null(mkdtemp(dir));
  RUN(&r, "--sim", "--state-dir", dir, "-q", "api", "POST",
      "/compute/v1/projects/edv-sim/global/networks", "--data",
      "{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}", "--wait");
  if (r.status != 0)
    print_error("stderr: %s\n", r.err);
  assert_int_equal(r.status, 0);
  /* The cloud persisted: the network is there on the next run. */
  RUN(&r, "--sim", "--state-dir", dir, "api", "GET",
      "/compute/v1/projects/edv-sim/global/networks/edv-net");
  assert_int_equal(r.status, 0);
  obj = json_tokener_parse(r.out);
  assert_non_null(obj);
  assert_true(json_object_object_get_ex(obj, "name", &v));
  assert_string_equal(json_object_get_string(v), "edv-net");
  json_object_put(obj);
  RUN(&r, "--sim", "--state-dir", dir, "auth", "print-access-token");
  assert_int_equal(r.status, 0);
  assert_true(strlen(r.out) > 10);
  snprintf(path, sizeof(path), "%s/sim-cloud.json", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/sim-key.json", dir);
  unlink(path);
  assert_int_equal(rmdir(dir), 0);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_no_arguments),
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_config),
      cmocka_unit_test_setup_teardown(test_api_get, mock_setup, mock_teardown),
      cmocka_unit_test_setup_teardown(test_api_post_data, mock_setup,
                                      mock_teardown),
      cmocka_unit_test_setup_teardown(test_api_errors, mock_setup,
                                      mock_teardown),
      cmocka_unit_test_setup_teardown(test_api_wait, mock_setup, mock_teardown),
      cmocka_unit_test_setup_teardown(test_print_access_token, mock_setup,
                                      mock_teardown),
      cmocka_unit_test_setup_teardown(test_sigint, mock_setup, mock_teardown),
      cmocka_unit_test(test_bad_key_file),
      cmocka_unit_test(test_sim),
  };

  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH_TO_EDVCTL\n", argv[0]);
    return 2;
  }
  edvctl = argv[1];
  /* argv[2] "sim": edvctl was built with the embedded simulator. */
  have_sim = argc > 2 && strcmp(argv[2], "sim") == 0;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
