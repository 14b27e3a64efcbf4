/*
 * main.c - the edv-gcpsim program: the simulator on its own loop.
 *
 *   edv-gcpsim [--port N] [--host 127.0.0.1] [--state FILE]
 *              [--profile fast|demo|realistic] [--time-scale X]
 *              [--key-out FILE] [--project ID] [--domain D] [--seed N]
 *              [--no-auth]
 *
 * Prints "listening on http://HOST:PORT" once it accepts connections.
 * SIGINT and SIGTERM save the state and exit 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "edv/sim.h"

static edv_sim *main_sim;
static uv_signal_t main_sigint, main_sigterm;

static void usage(FILE *f)
{
  fputs("usage: edv-gcpsim [--port N] [--host ADDR] [--state FILE]\n"
        "                  [--profile fast|demo|realistic] [--time-scale X]\n"
        "                  [--key-out FILE] [--project ID] [--domain D]\n"
        "                  [--seed N] [--no-auth]\n",
        f);
}

static void main_closed(void *data)
{
  (void)data;
  uv_close((uv_handle_t *)&main_sigint, NULL);
  uv_close((uv_handle_t *)&main_sigterm, NULL);
}

static void main_signal(uv_signal_t *sig, int signum)
{
  (void)signum;
  uv_signal_stop(&main_sigint);
  uv_signal_stop(&main_sigterm);
  edv_sim_close(main_sim, main_closed, NULL);
  main_sim = NULL;
}

/*
 * Every operations.wait in flight holds a connection: raise the soft
 * descriptor limit to the hard one so a 1,000-tenant run fits.
 */
static void raise_fd_limit(void)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int parse_args(int argc, char **argv, edv_sim_options *o,
                      const char **key_out)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;

    if (strcmp(a, "--no-auth") == 0) {
      o->no_auth = 1;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    }
    if (v == NULL) {
      fprintf(stderr, "edv-gcpsim: %s needs a value\n", a);
      return -1;
    }
    i++;
    if (strcmp(a, "--port") == 0) {
      unsigned long p = strtoul(v, &end, 10);

      if (*end || p > 65535)
        goto bad;
      o->port = (unsigned)p;
    } else if (strcmp(a, "--host") == 0) {
      o->host = v;
    } else if (strcmp(a, "--state") == 0) {
      o->state_file = v;
    } else if (strcmp(a, "--profile") == 0) {
      o->profile = v;
    } else if (strcmp(a, "--time-scale") == 0) {
      o->time_scale = strtod(v, &end);
      if (*end || o->time_scale <= 0)
        goto bad;
    } else if (strcmp(a, "--key-out") == 0) {
      *key_out = v;
    } else if (strcmp(a, "--project") == 0) {
      o->project = v;
    } else if (strcmp(a, "--domain") == 0) {
      o->domain = v;
    } else if (strcmp(a, "--seed") == 0) {
      o->seed = strtoull(v, &end, 10);
      if (*end)
        goto bad;
    } else {
      fprintf(stderr, "edv-gcpsim: unknown option %s\n", a);
      usage(stderr);
      return -1;
    }
    continue;
  bad:
    fprintf(stderr, "edv-gcpsim: bad value for %s: %s\n", a, v);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  edv_sim_options opt;
  const char *key_out = NULL;
  edv_error err;
  uv_loop_t *loop = uv_default_loop();

  memset(&opt, 0, sizeof(opt));
  if (parse_args(argc, argv, &opt, &key_out) < 0)
    return 2;
  raise_fd_limit();
  main_sim = edv_sim_start(loop, &opt, &err);
  if (main_sim == NULL) {
    fprintf(stderr, "edv-gcpsim: %s\n", err.message);
    uv_run(loop, UV_RUN_DEFAULT); /* lets the failed start free itself */
    return 1;
  }
  if (key_out && edv_sim_write_key(main_sim, key_out, &err) != 0) {
    fprintf(stderr, "edv-gcpsim: %s\n", err.message);
    edv_sim_close(main_sim, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
  }
  uv_signal_init(loop, &main_sigint);
  uv_signal_init(loop, &main_sigterm);
  uv_signal_start(&main_sigint, main_signal, SIGINT);
  uv_signal_start(&main_sigterm, main_signal, SIGTERM);
  printf("listening on %s\n", edv_sim_base_url(main_sim));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop) == 0 ? 0 : 1;
}
