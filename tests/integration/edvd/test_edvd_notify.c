/*
 * test_edvd_notify.c - edvd under systemd's Type=notify and WatchdogSec=.
 *
 * The test plays systemd: a datagram socket as $NOTIFY_SOCKET and
 * $WATCHDOG_USEC set, then edvd --sim. READY=1 must come once the API
 * answers, WATCHDOG=1 at half the interval from edvd's loop, RELOADING=1
 * then READY=1 around SIGHUP, and STOPPING=1 at SIGTERM.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "edvd_harness.h"

static int nsock = -1;

/* The next notification within ms ("" on a timeout). */
static const char *next_note(int ms, char *buf, size_t size)
{
  struct pollfd p = {nsock, POLLIN, 0};
  ssize_t n;

  buf[0] = '\0';
  if (poll(&p, 1, ms) != 1)
    return buf;
  n = recv(nsock, buf, size - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

/* Waits up to ms for a notification holding `want`; counts WATCHDOG=1s. */
static int wait_note(const char *want, int ms, int *pings)
{
  char buf[512];
  struct timespec a, b;

  clock_gettime(CLOCK_MONOTONIC, &a);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &b);
    long left =
        ms - ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000);
    if (left <= 0)
      return 0;
    next_note((int)left, buf, sizeof(buf));
    if (pings && strstr(buf, "WATCHDOG=1"))
      (*pings)++;
    if (buf[0] && strstr(buf, want))
      return 1;
  }
}

static char sockdir[] = "/tmp/edvd-notify-XXXXXX";

/* Plays systemd, then starts edvd (the harness's set-up) under it. */
static int notify_setup(void **state)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int result;

  (void)state;
  if (!mkdtemp(sockdir))
    return -1;
  nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", sockdir);
  if (nsock < 0 || bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    return -1;
  setenv("NOTIFY_SOCKET", sa.sun_path, 1);
  setenv("WATCHDOG_USEC", "200000", 1); /* a ping every 100 ms */
  result = eh_setup(NULL);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  return result;
}

static void test_notify(void **state)
{
  char path[300];
  int pings = 0;
  long ms;
  resp *r;

  (void)state;
  /* start_edvd returned once edvd printed where it listens: READY=1 was
   * sent just before, and the API answers. */
  assert_true(wait_note("READY=1", 10000, &pings));
  r = http("GET", base, "/healthz", NULL, NULL, NULL);
  assert_int_equal(r->status, 200);
  resp_free(r);

  /* About 10 pings a second from the loop: at least 5 in one. */
  pings = 0;
  wait_note("never sent", 1000, &pings);
  printf("# %d watchdog pings in 1 s (WATCHDOG_USEC=200000)\n", pings);
  assert_true(pings >= 5);

  kill(edvd_pid, SIGHUP);
  assert_true(wait_note("RELOADING=1", 5000, NULL));
  assert_true(wait_note("READY=1", 5000, NULL));

  assert_int_equal(stop_edvd(&ms), 0);
  assert_true(wait_note("STOPPING=1", 1000, NULL));
  close(nsock);
  snprintf(path, sizeof(path), "%s/notify", sockdir);
  unlink(path);
  rmdir(sockdir);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_notify),
  };

  return EH_MAIN("notify", tests, notify_setup, NULL);
}
