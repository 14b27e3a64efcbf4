/*
 * edvd_main.c - `edvd`: the reconciler service and Management API.
 *
 *   edvd [--config FILE] [--listen HOST:PORT] [--state-dir DIR] [--sim]
 *        [--profile P]
 *
 * Same configuration and state directory as edvctl. On start it prints
 * one JSON line on stdout ({"listen":URL,"sim":URL,...}) so that scripts
 * and tests started with --listen 127.0.0.1:0 learn the port; logs are
 * JSON lines on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "common/args.h"
#include "edv/version.h"
#include "server/edvd.h"

#ifndef EDV_TIERS_INSTALLED
#define EDV_TIERS_INSTALLED "/usr/local/share/edv/tiers.json"
#endif
#ifndef EDV_TIERS_SOURCE
#define EDV_TIERS_SOURCE "tiers.json"
#endif

static void usage(FILE *f)
{
  fputs("usage: edvd [--config FILE] [--listen HOST:PORT] [--state-dir DIR]\n"
        "            [--sim] [--profile fast|demo|realistic]\n"
        "\n"
        "Serves the EdVirons Management API (docs/api.md) and drives every\n"
        "tenant to its spec. --listen defaults to server.listen, else\n"
        "127.0.0.1:8080 (port 0 picks a free one; the address is printed\n"
        "on stdout). --sim embeds the Google Cloud simulator, its cloud in\n"
        "the state directory, and creates the platform when it is missing.\n"
        "SIGTERM/SIGINT stop cleanly (the next start resumes every tenant);\n"
        "SIGHUP reloads the configuration file and the API tokens.\n",
        f);
}

static const edv__opt edvd_opts_table[] = {
    {"config", 0, "FILE", "the configuration file"},
    {"listen", 0, "HOST:PORT", "where the API listens"},
    {"state-dir", 0, "DIR", "the state directory"},
    {"sim", 0, NULL, "embed the Google Cloud simulator"},
    {"profile", 0, "NAME", "the simulator's latency profile"},
    {"help", 'h', NULL, "this help"},
    {"version", 'V', NULL, "the version"},
    {NULL, 0, NULL, NULL},
};

typedef struct main_args {
  edvd_opts *o;
  int help, version;
} main_args;

static int on_flag(edv__args *p, unsigned t, int i, const char *v)
{
  main_args *m = p->data;
  const char *name = p->tables[t][i].name;

  if (strcmp(name, "config") == 0)
    m->o->config_file = v;
  else if (strcmp(name, "listen") == 0)
    m->o->listen = v;
  else if (strcmp(name, "state-dir") == 0)
    m->o->state_dir = v;
  else if (strcmp(name, "sim") == 0)
    m->o->use_sim = 1;
  else if (strcmp(name, "profile") == 0)
    m->o->profile = v;
  else if (strcmp(name, "help") == 0)
    m->help = 1;
  else
    m->version = 1;
  return 0;
}

int main(int argc, char **argv)
{
  static const char *const fallbacks[] = {EDV_TIERS_INSTALLED, EDV_TIERS_SOURCE,
                                          NULL};
  static edvd d;
  edvd_opts o;
  uv_loop_t loop;
  main_args m = {&o, 0, 0};
  edv__args p;
  int result;

  memset(&o, 0, sizeof(o));
  o.tiers_fallbacks = fallbacks;
  /* The parser the three programs share (common/args.h). */
  memset(&p, 0, sizeof(p));
  p.tables[0] = edvd_opts_table;
  p.flag = on_flag;
  p.prog = "edvd";
  p.data = &m;
  if ((result = edv__args_parse(&p, argc, argv)) != 0)
    return result;
  if (m.help) {
    usage(stdout);
    return 0;
  }
  if (m.version) {
    printf("edvd %s (libedv %s, commit %s, built %s)\n", EDV_VERSION,
           edv_version(), edv_build_commit(), edv_build_date());
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  uv_loop_init(&loop);
  result = edvd_start(&d, &loop, &o);
  if (result) {
    fflush(NULL);
    _exit(result); /* half-started: nothing worth an orderly close */
  }
  result = edvd_run_loop(&d);
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "edvd: handles still open at exit\n");
  curl_global_cleanup();
  return result;
}
