/*
 * bench_tenants.c - provisions N tenants (default 1,000) at once on the
 * simulator's fast profile, in-process on the same uv loop, and prints:
 * wall time, API calls per tenant (mutations, operation polls, reads, from
 * the simulator's request log), CPU ms per tenant (getrusage; the
 * in-process simulator's CPU is included), peak RSS, and the ratio of the
 * fleet's wall time to one tenant's.
 *
 *   bench-tenants [-n N] [-p fast|demo] [-i POLL_MS]
 *
 * POLL_MS (default 250, as `edvctl --sim`) is the fleet's poll interval
 * for observed states (certificate ACTIVE, backend HEALTHY, SQL RUNNABLE)
 * and operations; the tests use 50 ms, which at 1,000 tenants is 20,000
 * polls a second against one in-process simulator.
 *
 * Needs EDV_SOURCE_ROOT (for tiers.json) or runs from the source root.
 * Built, never run as a test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "tenant/shared.h"
#include "tharness.h"

static const char *const tier_cycle[] = {"basic", "standard", "premium",
                                         "enterprise"};

static double cpu_ms(void)
{
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
         (double)ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static double provision(th *h, const char *prefix, unsigned n)
{
  edv_error err;
  char id[32];
  uint64_t t0 = th_now_ms();
  unsigned ready0 = h->ended[EDV_PHASE_READY];

  for (unsigned i = 0; i < n; i++) {
    snprintf(id, sizeof(id), "%s%04u", prefix, i);
    if (th_register(h, id, tier_cycle[i % 4], &err) ||
        th_drive(h, id, EDV_DIR_UP, &err)) {
      fprintf(stderr, "bench: %s: %s\n", id, err.message);
      exit(1);
    }
  }
  if (th_wait(h, 3600000)) {
    fprintf(stderr, "bench: not done in an hour\n");
    exit(1);
  }
  if (h->ended[EDV_PHASE_READY] - ready0 != n) {
    fprintf(stderr, "bench: %u of %u READY; last error: %s\n",
            h->ended[EDV_PHASE_READY] - ready0, n, h->last_err);
    exit(1);
  }
  return (double)(th_now_ms() - t0);
}

int main(int argc, char **argv)
{
  unsigned n = 1000;
  uint64_t poll = 250;
  const char *profile = "fast";
  th h;
  th_opts o;
  double solo_ms, fleet_ms, cpu0, cpu1;
  th_counts c;
  unsigned long uw = 0, dw = 0, conf = 0;
  struct rusage ru;
  int opt;

  while ((opt = getopt(argc, argv, "n:p:i:")) != -1) {
    if (opt == 'n')
      n = (unsigned)strtoul(optarg, NULL, 10);
    else if (opt == 'i')
      poll = strtoull(optarg, NULL, 10);
    else if (opt == 'p')
      profile = optarg;
    else {
      fprintf(stderr,
              "usage: bench-tenants [-n N] [-p fast|demo] [-i POLL_MS]\n");
      return 2;
    }
  }
  if (n == 0)
    n = 1;
  if (!getenv("EDV_SOURCE_ROOT"))
    setenv("EDV_SOURCE_ROOT", ".", 0);
  memset(&o, 0, sizeof(o));
  o.profile = profile;
  o.max_attempts = 30;
  o.poll_ms = poll;
  th_open(&h, &o);
  th_raise_quotas(&h, n + 1);
  th_platform(&h);

  /* One tenant alone: the reference for the ratio. */
  memset(&h.counts, 0, sizeof(h.counts));
  solo_ms = provision(&h, "solo", 1);

  memset(&h.counts, 0, sizeof(h.counts));
  cpu0 = cpu_ms();
  fleet_ms = provision(&h, "b", n);
  cpu1 = cpu_ms();
  c = h.counts;
  edv__shared_stats(edv__fleet_shared(h.fleet), &uw, &dw, &conf);
  getrusage(RUSAGE_SELF, &ru);

  printf("tenants                 %u (profile %s, simulator in-process, "
         "poll %llu ms)\n",
         n, profile, (unsigned long long)poll);
  printf("wall time               %.2f s (one tenant alone: %.2f s)\n",
         fleet_ms / 1e3, solo_ms / 1e3);
  printf("fleet / one tenant      %.2f\n", fleet_ms / solo_ms);
  printf("API calls per tenant    %.1f (mutations %.1f, operation polls "
         "%.1f, reads %.1f)\n",
         (double)c.total / n, (double)c.mutations / n, (double)c.polls / n,
         (double)c.reads / n);
  printf("rejected (409/412)      %lu / %lu; shared writers: %lu URL map "
         "writes, %lu DNS changes, %lu conflicts\n",
         c.st409, c.st412, uw, dw, conf);
  printf("CPU per tenant          %.2f ms (orchestrator + simulator)\n",
         (cpu1 - cpu0) / n);
  printf("peak RSS                %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
  th_close(&h);
  return 0;
}
