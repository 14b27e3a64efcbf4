/*
 * notify.c - systemd's service notifications for edvd (Type=notify).
 *
 * READY=1 once the store is open and the API listens; RELOADING=1 then
 * READY=1 around a SIGHUP reload; STOPPING=1 when a shutdown starts; and,
 * when the unit sets WatchdogSec=, WATCHDOG=1 from a timer of edvd's own
 * loop at half the interval: a loop that stops turning stops the pings,
 * and systemd restarts the service. Outside systemd (no NOTIFY_SOCKET), or
 * in a build without libsystemd (`-Dsystemd=disabled`), nothing is sent.
 */
#include "edv/log.h"
#include "server/edvd.h"

#ifdef EDV_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define MOD "edvd"

void edvd_notify(edvd *d, const char *state)
{
  (void)d;
#ifdef EDV_HAVE_SYSTEMD
  (void)sd_notify(0, state);
#else
  (void)state;
#endif
}

static void on_watchdog(uv_timer_t *t)
{
  edvd_notify(t->data, "WATCHDOG=1");
}

void edvd_notify_start(edvd *d)
{
  uint64_t usec = 0;

  uv_timer_init(d->loop, &d->watchdog_timer);
  d->watchdog_timer.data = d;
#ifdef EDV_HAVE_SYSTEMD
  if (sd_watchdog_enabled(0, &usec) <= 0)
    usec = 0;
#endif
  if (usec) {
    uint64_t ms = usec / 2000 ? usec / 2000 : 1;

    edv_log(EDV_LOG_INFO, MOD, "systemd watchdog: a ping every %llu ms",
            (unsigned long long)ms);
    uv_timer_start(&d->watchdog_timer, on_watchdog, ms, ms);
    uv_unref((uv_handle_t *)&d->watchdog_timer);
  }
}
