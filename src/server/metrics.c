/*
 * metrics.c - edvd's own families of /metrics beside the fleet's:
 * edv_build_info, the process_* figures of the Prometheus conventions (from
 * /proc on Linux: a few small reads of procfs, which never waits on a
 * disk), and the Management API's request-duration histogram. The
 * families are listed in docs/operations.md ("Metrics").
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "edv/version.h"
#include "server/edvd.h"

/* Request durations, in seconds: Prometheus's default buckets and 30 s,
 * the longest a suspended request waits (server.request_timeout_s). */
static const double req_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                    0.5,   1,    2.5,   5,    10,  30};
#define REQ_NBOUNDS (sizeof(req_bounds) / sizeof(req_bounds[0]))
/* The routes (about 25) times 5 status classes, and the unmatched ones. */
#define REQ_MAX_SERIES 192

int edvd_metrics_open(edvd *d)
{
  d->step_hist = edv__stephist_new();
  d->req_hist = edv__hist_new(
      "edv_http_request_duration_seconds",
      "Management API answers: time from the request's arrival to its "
      "answer, by route template, method and status class.",
      req_bounds, REQ_NBOUNDS, REQ_MAX_SERIES);
  return d->step_hist && d->req_hist ? 0 : -1;
}

void edvd_metrics_close(edvd *d)
{
  edv__stephist_free(d->step_hist);
  d->step_hist = NULL;
  edv__hist_free(d->req_hist);
  d->req_hist = NULL;
}

/* The method as a label: the usual ones as they are, anything else
 * "other" (an unmatched request's method is the client's choice). */
static const char *method_label(const char *m)
{
  static const char *const known[] = {"GET",    "HEAD",    "POST", "PUT",
                                      "DELETE", "OPTIONS", "PATCH"};

  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    if (strcmp(m, known[i]) == 0)
      return known[i];
  return "other";
}

void edvd_metrics_request(edvd *d, const char *route, const char *method,
                          unsigned status, uint64_t elapsed_ns)
{
  char labels[EDV_HIST_LABELS_SZ];

  if (status / 100 < 6)
    d->http_requests[status / 100]++;
  /* Route templates are the table's constants: nothing to escape. */
  snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",code=\"%uxx\"",
           route ? route : "unmatched", method_label(method), status / 100);
  edv__hist_observe(d->req_hist, labels, elapsed_ns / 1000u);
}

/* A label value with \, " and newline escaped (the text format's rule). */
void edvd_metrics_label(char *out, size_t size, const char *in)
{
  size_t o = 0;

  for (; in && *in && o + 3 < size; in++) {
    if (*in == '\\' || *in == '"' || *in == '\n') {
      out[o++] = '\\';
      out[o++] = *in == '\n' ? 'n' : *in;
    } else
      out[o++] = *in;
  }
  out[o] = '\0';
}

/* Fields of /proc/self/stat after the command (which may hold spaces and
 * parentheses: the last ')' ends it): utime (14), stime (15), starttime
 * (22), vsize (23), rss (24), numbered as in proc(5). */
static int proc_stat(double *cpu_s, double *start_s, double *vsize, double *rss)
{
  char buf[1024], *p;
  unsigned long long ut, st, start, vs;
  long long rs;
  long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
  double btime = -1;
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n;

  if (!f)
    return -1;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  p = strrchr(buf, ')');
  if (!p || tck <= 0 || page <= 0 ||
      sscanf(p + 2,
             "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s "
             "%*s %*s %*s %*s %llu %llu %lld",
             &ut, &st, &start, &vs, &rs) != 5)
    return -1;
  /* The boot time, for the start time since the epoch. */
  f = fopen("/proc/stat", "r");
  if (f) {
    char line[256];
    while (fgets(line, sizeof(line), f))
      if (sscanf(line, "btime %lf", &btime) == 1)
        break;
    fclose(f);
  }
  if (btime < 0)
    return -1;
  *cpu_s = (double)(ut + st) / (double)tck;
  *start_s = btime + (double)start / (double)tck;
  *vsize = (double)vs;
  *rss = (double)rs * (double)page;
  return 0;
}

/* Entries of /proc/self/fd but "." and ".." (and the one opendir holds). */
static long open_fds(void)
{
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *e;
  long n = 0;

  if (!dir)
    return -1;
  while ((e = readdir(dir)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(dir);
  return n - 1;
}

int edvd_metrics_process(char *buf, size_t size)
{
  char version[64], commit[96];
  double cpu, start, vsize, rss;
  struct rlimit rl;
  long fds = open_fds();
  int n, m = 0;

  edvd_metrics_label(version, sizeof(version), edv_version());
  edvd_metrics_label(commit, sizeof(commit), edv_build_commit());
  n = snprintf(buf, size,
               "# HELP edv_build_info edvd's version and the commit it was "
               "built from (always 1).\n"
               "# TYPE edv_build_info gauge\n"
               "edv_build_info{version=\"%s\",commit=\"%s\"} 1\n",
               version, commit);
  if (n < 0 || (size_t)n >= size)
    return -1;
  if (proc_stat(&cpu, &start, &vsize, &rss) == 0)
    m = snprintf(
        buf + n, size - (size_t)n,
        "# HELP process_cpu_seconds_total Total user and system CPU time "
        "spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total %.2f\n"
        "# HELP process_start_time_seconds Start time of the process since "
        "unix epoch in seconds.\n"
        "# TYPE process_start_time_seconds gauge\n"
        "process_start_time_seconds %.2f\n"
        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
        "# TYPE process_virtual_memory_bytes gauge\n"
        "process_virtual_memory_bytes %.0f\n"
        "# HELP process_resident_memory_bytes Resident memory size in "
        "bytes.\n"
        "# TYPE process_resident_memory_bytes gauge\n"
        "process_resident_memory_bytes %.0f\n",
        cpu, start, vsize, rss);
  if (m < 0 || (size_t)(n + m) >= size)
    return -1;
  n += m;
  m = 0;
  if (fds >= 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0)
    m = snprintf(buf + n, size - (size_t)n,
                 "# HELP process_open_fds Number of open file descriptors.\n"
                 "# TYPE process_open_fds gauge\n"
                 "process_open_fds %ld\n"
                 "# HELP process_max_fds Maximum number of open file "
                 "descriptors.\n"
                 "# TYPE process_max_fds gauge\n"
                 "process_max_fds %.0f\n",
                 fds,
                 rl.rlim_cur == RLIM_INFINITY ? -1.0 : (double)rl.rlim_cur);
  if (m < 0 || (size_t)(n + m) >= size)
    return -1;
  return n + m;
}
