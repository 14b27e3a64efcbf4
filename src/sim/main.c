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

#include "common/args.h"
#include "edv/sim.h"
#include "edv/version.h"

static edv_sim *main_sim;
static uv_signal_t main_sigint, main_sigterm;

static void usage(FILE *f)
{
  fputs("usage: edv-gcpsim [--port N] [--host ADDR] [--state FILE]\n"
        "                  [--profile fast|demo|realistic] [--time-scale X]\n"
        "                  [--key-out FILE] [--project ID] [--domain D]\n"
        "                  [--seed N] [--no-auth] [--version]\n",
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

static const edv__opt sim_opts_table[] = {
    {"port", 0, "N", "the port (0: a free one)"},
    {"host", 0, "ADDR", "the address to listen on"},
    {"state", 0, "FILE", "keep the cloud in FILE"},
    {"profile", 0, "NAME", "latency profile: fast, demo, realistic"},
    {"time-scale", 0, "X", "simulated seconds per real second"},
    {"key-out", 0, "FILE", "write a service-account key it trusts"},
    {"project", 0, "ID", "the project"},
    {"domain", 0, "D", "the DNS domain"},
    {"seed", 0, "N", "the random seed"},
    {"no-auth", 0, NULL, "accept requests without a token"},
    {"help", 'h', NULL, "this help"},
    {"version", 'V', NULL, "the version"},
    {NULL, 0, NULL, NULL},
};

typedef struct main_args {
  edv_sim_options *o;
  const char **key_out;
  int help, version;
} main_args;

static int bad_value(edv__args *p, const char *name, const char *v)
{
  return edv__args_fail(p, "flag --%s: '%.200s' is not a valid value", name, v);
}

static int on_flag(edv__args *p, unsigned t, int i, const char *v)
{
  main_args *m = p->data;
  edv_sim_options *o = m->o;
  const char *name = p->tables[t][i].name;
  char *end = NULL;

  if (strcmp(name, "port") == 0) {
    unsigned long port = strtoul(v, &end, 10);
    if (*end || port > 65535 || *v == '-')
      return bad_value(p, name, v);
    o->port = (unsigned)port;
  } else if (strcmp(name, "host") == 0) {
    o->host = v;
  } else if (strcmp(name, "state") == 0) {
    o->state_file = v;
  } else if (strcmp(name, "profile") == 0) {
    o->profile = v;
  } else if (strcmp(name, "time-scale") == 0) {
    o->time_scale = strtod(v, &end);
    if (*end || !(o->time_scale > 0))
      return bad_value(p, name, v);
  } else if (strcmp(name, "key-out") == 0) {
    *m->key_out = v;
  } else if (strcmp(name, "project") == 0) {
    o->project = v;
  } else if (strcmp(name, "domain") == 0) {
    o->domain = v;
  } else if (strcmp(name, "seed") == 0) {
    o->seed = strtoull(v, &end, 10);
    if (*end || *v == '-')
      return bad_value(p, name, v);
  } else if (strcmp(name, "no-auth") == 0) {
    o->no_auth = 1;
  } else if (strcmp(name, "help") == 0) {
    m->help = 1;
  } else {
    m->version = 1;
  }
  return 0;
}

/* The parser the three programs share (common/args.h): -1 to exit with
 * *code, else 0. */
static int parse_args(int argc, char **argv, edv_sim_options *o,
                      const char **key_out, int *code)
{
  main_args m = {o, key_out, 0, 0};
  edv__args p;

  memset(&p, 0, sizeof(p));
  p.tables[0] = sim_opts_table;
  p.flag = on_flag;
  p.prog = "edv-gcpsim";
  p.data = &m;
  if ((*code = edv__args_parse(&p, argc, argv)) != 0)
    return -1;
  if (m.help) {
    usage(stdout);
    return -1;
  }
  if (m.version) {
    printf("edv-gcpsim %s (commit %s, built %s)\n", edv_version(),
           edv_build_commit(), edv_build_date());
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
  int code = 0;

  memset(&opt, 0, sizeof(opt));
  if (parse_args(argc, argv, &opt, &key_out, &code) < 0)
    return code;
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
