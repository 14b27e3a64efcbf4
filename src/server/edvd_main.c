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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

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

int main(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"listen", required_argument, NULL, 'l'},
      {"state-dir", required_argument, NULL, 's'},
      {"sim", no_argument, NULL, 'S'},
      {"profile", required_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  static const char *const fallbacks[] = {EDV_TIERS_INSTALLED, EDV_TIERS_SOURCE,
                                          NULL};
  static edvd d;
  edvd_opts o;
  uv_loop_t loop;
  int c, result;

  memset(&o, 0, sizeof(o));
  o.tiers_fallbacks = fallbacks;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'c':
      o.config_file = optarg;
      break;
    case 'l':
      o.listen = optarg;
      break;
    case 's':
      o.state_dir = optarg;
      break;
    case 'S':
      o.use_sim = 1;
      break;
    case 'p':
      o.profile = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case 'V':
      printf("edvd %s (libedv %s, commit %s, built %s)\n", EDV_VERSION,
             edv_version(), edv_build_commit(), edv_build_date());
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "edvd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
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
