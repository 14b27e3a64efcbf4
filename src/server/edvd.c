/*
 * edvd.c - the life of the reconciler service (see edvd.h): start, the
 * runs it drives, the periodic pass, signals and a bounded shutdown.
 *
 * Shutdown order (SIGTERM/SIGINT): the API server stops accepting and
 * answers what it holds; every run is stopped at a durable point (a step
 * is left INTENT or WAITING, which the next start resumes); the fleet
 * flushes its batch; then the engine, the simulator and our own handles
 * close and the loop ends. A timer bounds the whole sequence.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "server/api.h"
#include "server/edvd.h"
#include "prog/fleetenv.h"

#define MOD "edvd"

static void edvd_maybe_finish(edvd *d);

/* ---- runs ----------------------------------------------------------------*/

edvd_run *edvd_find_run(edvd *d, const char *id)
{
  return d->ef ? edv__fleet_run_find(d->ef, id) : NULL;
}

/* A run's end (the fleet's EDV_EVENT_END, once the run has left the
 * fleet): counted, logged; the platform READY lets the tenants waiting for
 * it go; a shutdown waits for the last. */
static void edvd_on_run_end(edvd *d, const edv_event *ev)
{
  const edv_error *err = ev->error;
  const char *phase = ev->phase ? ev->phase : "?";
  char ebuf[700] = "";
  char id[EDV_STORE_ID_SZ];

  snprintf(id, sizeof(id), "%s", ev->tenant);
  if (err && err->code)
    edv_error_format(err, ebuf, sizeof(ebuf));
  if (strcmp(phase, "READY") == 0)
    d->runs_ready++;
  else if (strcmp(phase, "DELETED") == 0)
    d->runs_deleted++;
  else if (strcmp(phase, "FAILED") == 0)
    d->runs_failed++;
  if (strcmp(phase, "FAILED") == 0)
    EDV_LOG_E(MOD, "run ended: tenant=%s phase=%s error=%s", id, phase, ebuf);
  else
    EDV_LOG_I(MOD, "run ended: tenant=%s phase=%s%s%s", id, phase,
              ebuf[0] ? " note=" : "", ebuf);
  if (d->stopping) {
    edvd_maybe_finish(d);
    return;
  }
  /* The platform is ready: tenants waiting for it may go. */
  if (strcmp(id, EDV_PLATFORM_ID) == 0 && strcmp(phase, "READY") == 0)
    edvd_reconcile_pass(d);
}

int edvd_drive(edvd *d, const char *id, edv__direction dir, edv_error *err)
{
  edvd_run *r = edvd_find_run(d, id);
  int result;

  if (d->stopping)
    return edv_error_set(err, EDV_EUNAVAIL, "edvd is shutting down");
  if (r)
    return edv_error_set(err, EDV_EBUSY, "tenant '%s' is already being %s", id,
                         r->dir == EDV_DIR_UP ? "provisioned"
                                              : "deprovisioned");
  /* A backup or restore holds the database: the fleet starts no run
   * meanwhile (fleet/dayops.h). */
  result = edv__fleet_drive_tenant(d->ef, id, dir, NULL, NULL, err);
  if (result)
    return result;
  d->runs_started++;
  EDV_LOG_I(MOD, "run started: tenant=%s direction=%s", id,
            dir == EDV_DIR_UP ? "up" : "down");
  return 0;
}

int edvd_journal(edvd *d, const edv__journal_rec *j)
{
  edv_error err;

  if (d->ef)
    return edv__fleet_journal(d->ef, j);
  if (edv__store_journal_append(d->store, j, NULL, &err) == 0)
    return 0;
  EDV_LOG_E(MOD, "journal: tenant=%s event=%s not written: %s", j->tenant,
            j->event, err.message);
  return -1;
}

void edvd_stop_then_down(edvd *d, edvd_run *r)
{
  r->then_down = 1;
  edv__fleet_stop(d->fleet, r->id);
}

/* ---- the periodic pass --------------------------------------------------*/

typedef struct pass_ctx {
  char ids[256][EDV_STORE_ID_SZ];
  edv__direction dirs[256];
  unsigned n;
} pass_ctx;

static int pass_one(void *data, const edv__tenant_rec *rec)
{
  pass_ctx *p = data;

  if (rec->id[0] == '@' || p->n >= 256)
    return 0;
  if (rec->phase != EDV_PHASE_PENDING && rec->phase != EDV_PHASE_PROVISIONING &&
      rec->phase != EDV_PHASE_DEPROVISIONING)
    return 0;
  snprintf(p->ids[p->n], sizeof(p->ids[p->n]), "%s", rec->id);
  p->dirs[p->n] =
      rec->phase == EDV_PHASE_DEPROVISIONING ? EDV_DIR_DOWN : EDV_DIR_UP;
  p->n++;
  return 0;
}

/* 1 when tenants may be driven: the platform is READY. */
static int platform_ready(edvd *d)
{
  edv__tenant_rec rec;

  return edv__store_tenant_get(d->store, EDV_PLATFORM_ID, &rec, NULL) == 0 &&
         rec.phase == EDV_PHASE_READY;
}

/* Resumes interrupted tenants; `drift`: then a drift pass too (the API's
 * "pass now", the start, the platform turning READY; the timers run the
 * two on their own intervals). */
static unsigned reconcile_pass(edvd *d, int drift)
{
  pass_ctx *p;
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ] = "";
  uint64_t t0 = uv_hrtime();
  unsigned started = 0;
  edv_error err;

  if (d->stopping || edvd_find_run(d, EDV_PLATFORM_ID))
    return 0;
  if (!platform_ready(d)) {
    EDV_LOG_W(MOD, "pass skipped: the platform is not READY (run `edvctl "
                   "platform init`, or edvd --sim)");
    return 0;
  }
  p = calloc(1, sizeof(*p));
  if (!p)
    return 0;
  d->last_pass_ms = edv__store_now(d->store);
  memset(&f, 0, sizeof(f));
  f.phase = -1;
  f.limit = 256; /* pass_one keeps at most 256: page at that size */
  /* Collect first, drive after: the store must not be called from inside
   * its own list callback. */
  do {
    f.after = next;
    if (edv__store_tenant_list(d->store, &f, pass_one, p, next, sizeof(next),
                               &err)) {
      EDV_LOG_E(MOD, "pass: cannot list tenants: %s", err.message);
      break;
    }
    for (unsigned i = 0; i < p->n; i++) {
      if (edvd_find_run(d, p->ids[i]))
        continue;
      if (edvd_drive(d, p->ids[i], p->dirs[i], &err) == 0)
        started++;
      else if (err.code != EDV_EBUSY)
        EDV_LOG_W(MOD, "pass: tenant=%s: %s", p->ids[i], err.message);
    }
    p->n = 0;
  } while (next[0]);
  free(p);
  /* Idempotency keys answer retries, which come within minutes; a day
   * is plenty, and keeps the table small. */
  if (edv__store_idem_prune(d->store, d->last_pass_ms - 86400000, &err))
    EDV_LOG_W(MOD, "pass: idempotency prune: %s", err.message);
  if (drift)
    edvd_drift_pass(d);
  d->passes++;
  d->last_pass_dur_ms = (uv_hrtime() - t0) / 1000000u;
  d->last_pass_started = started;
  if (started)
    EDV_LOG_I(MOD, "pass: resumed %u tenant(s)", started);
  return started;
}

unsigned edvd_reconcile_pass(edvd *d)
{
  return reconcile_pass(d, 1);
}

static void on_reconcile_timer(uv_timer_t *t)
{
  reconcile_pass(t->data, 0);
}

static void on_backups_checked(void *data, json_object *doc,
                               const edv_error *err)
{
  (void)data;
  (void)doc;
  if (err && err->code != EDV_ECANCELED)
    EDV_LOG_W(MOD, "backup check: %s", err->message);
}

static void on_drift_timer(uv_timer_t *t)
{
  static uint64_t last_backup_check; /* one edvd per process */
  edvd *d = t->data;
  edv_error e;

  edvd_drift_pass(d);
  /* Backup health (edv_fleet_backup_check: its alerts, the status and
   * /metrics): one backupRuns.list per tenant, every 10 minutes at most. */
  if (last_backup_check && uv_now(t->loop) - last_backup_check < 600000)
    return;
  last_backup_check = uv_now(t->loop);
  if (edv_fleet_backup_check(d->ef, on_backups_checked, NULL, &e))
    EDV_LOG_W(MOD, "backup check: %s", e.message);
}

/* server.drift_interval_s, server.delete_orphans and server.orphan_grace_s
 * (start and reload). */
static void read_drift_config(edvd *d, const edv_config *cfg)
{
  const char *del = edv_config_get(cfg, "server.delete_orphans");

  d->drift_interval_ms =
      (uint64_t)edv_config_get_int(cfg, "server.drift_interval_s", 60) * 1000u;
  d->orphan_grace_ms =
      (uint64_t)edv_config_get_int(cfg, "server.orphan_grace_s", 3600) * 1000u;
  /* The configuration validated it: true/yes/on/1 or their opposites. */
  d->delete_orphans =
      del && (strcasecmp(del, "true") == 0 || strcasecmp(del, "yes") == 0 ||
              strcasecmp(del, "on") == 0 || strcmp(del, "1") == 0);
}

static void arm_drift(edvd *d)
{
  uv_timer_stop(&d->drift_timer);
  if (d->drift_interval_ms)
    uv_timer_start(&d->drift_timer, on_drift_timer, d->drift_interval_ms,
                   d->drift_interval_ms);
}

static void on_health_timer(uv_timer_t *t)
{
  edvd_heal_pass(t->data);
}

static void read_heal_config(edvd *d, const edv_config *cfg)
{
  d->health_interval_ms =
      (uint64_t)edv_config_get_int(cfg, "server.health_interval_s", 30) * 1000u;
  d->heal_after = (unsigned)edv_config_get_int(cfg, "server.heal_after", 3);
  d->heal_max_per_hour =
      (unsigned)edv_config_get_int(cfg, "server.heal_max_per_hour", 3);
  d->probe_timeout_ms =
      (uint64_t)edv_config_get_int(cfg, "server.probe_timeout_s", 10) * 1000u;
  /* With --sim and no probe_via of its own, probes go to the embedded
   * simulator, whose data plane answers for tenant hostnames. */
  snprintf(d->probe_via, sizeof(d->probe_via), "%s",
           edv_config_get(cfg, "server.probe_via")
               ? edv_config_get(cfg, "server.probe_via")
           : d->sim ? edv_sim_base_url(d->sim)
                    : "");
}

static void arm_health(edvd *d)
{
  uv_timer_stop(&d->health_timer);
  if (d->health_interval_ms)
    uv_timer_start(&d->health_timer, on_health_timer, d->health_interval_ms,
                   d->health_interval_ms);
}

static void arm_reconcile(edvd *d)
{
  uv_timer_stop(&d->reconcile_timer);
  if (d->reconcile_interval_ms)
    uv_timer_start(&d->reconcile_timer, on_reconcile_timer,
                   d->reconcile_interval_ms, d->reconcile_interval_ms);
}

/* ---- configuration --------------------------------------------------------*/

static void read_cors_config(edvd *d, const edv_config *cfg)
{
  const char *v = edv_config_get(cfg, "server.cors_origins");

  snprintf(d->cors, sizeof(d->cors), "%s", v ? v : "none");
}

static void apply_log_level(const edv_config *cfg)
{
  const char *lv = edv_config_get(cfg, "log.level");

  /* A service logs its lifecycle: info unless the file says otherwise
   * (the library's default, warn, is for the CLI). */
  if (lv && strcmp(lv, "error") == 0)
    edv__log_set_level(EDV_LOG_ERROR);
  else if (lv && strcmp(lv, "debug") == 0)
    edv__log_set_level(EDV_LOG_DEBUG);
  else
    edv__log_set_level(EDV_LOG_INFO);
}

/* Builds the configuration: file, environment, then flags. */
static int load_config(edvd *d, edv_config **out, edv_error *err)
{
  edv_config *cfg = edv_config_new();
  const char *file = d->opts.config_file;
  const char *sd = getenv("STATE_DIRECTORY");
  char sdbuf[512];

  *out = NULL;
  if (!cfg)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  if (!file && getenv("EDV_CONFIG") && *getenv("EDV_CONFIG"))
    file = getenv("EDV_CONFIG");
  if ((file && edv_config_load_file(cfg, file, err)) ||
      edv_config_load_env(cfg, err) ||
      (d->opts.state_dir &&
       edv_config_set(cfg, "state_dir", d->opts.state_dir, err)) ||
      (d->opts.profile &&
       edv_config_set(cfg, "sim.profile", d->opts.profile, err))) {
    edv_config_free(cfg);
    return err->code;
  }
  /* systemd's StateDirectory= (the first of a ':'-list) when nothing
   * else chose one. */
  if (!edv_config_get(cfg, "state_dir") && sd && *sd) {
    snprintf(sdbuf, sizeof(sdbuf), "%s", sd);
    sdbuf[strcspn(sdbuf, ":")] = '\0';
    if (edv_config_set(cfg, "state_dir", sdbuf, err)) {
      edv_config_free(cfg);
      return err->code;
    }
  }
  *out = cfg;
  return 0;
}

/* "[host]:port" -> host and port; host defaults to 127.0.0.1. */
static int parse_listen(const char *v, char *host, size_t hsize, unsigned *port,
                        edv_error *err)
{
  const char *colon = v ? strrchr(v, ':') : NULL;
  char *end;
  unsigned long p;

  if (!v) {
    snprintf(host, hsize, "127.0.0.1");
    *port = 8080;
    return 0;
  }
  if (!colon)
    colon = v - 1; /* a bare port */
  p = strtoul(colon + 1, &end, 10);
  if (*end || colon[1] == '\0' || p > 65535 ||
      (colon >= v && (size_t)(colon - v) >= hsize))
    return edv_error_set(err, EDV_ECONFIG,
                         "server.listen: '%s' is not HOST:PORT", v);
  if (colon <= v)
    snprintf(host, hsize, "127.0.0.1");
  else
    snprintf(host, hsize, "%.*s", (int)(colon - v), v);
  if (strcmp(host, "localhost") == 0)
    snprintf(host, hsize, "127.0.0.1");
  *port = (unsigned)p;
  return 0;
}

static int load_tokens(edvd *d, edv_error *err)
{
  edv__tokens *t;
  int result = edv__tokens_load(d->tokens_path, &t, err);

  if (result)
    return result;
  edv__tokens_free(d->tokens);
  d->tokens = t;
  EDV_LOG_I(MOD, "API tokens loaded: %zu", edv__tokens_count(t));
  return 0;
}

int edvd_reload(edvd *d, edv_error *err)
{
  edv_config *cfg;
  int result = load_config(d, &cfg, err);

  if (result)
    return result;
  apply_log_level(cfg);
  read_cors_config(d, cfg);
  read_heal_config(d, cfg);
  arm_health(d);
  d->reconcile_interval_ms =
      (uint64_t)edv_config_get_int(cfg, "server.reconcile_interval_s", 60) *
      1000u;
  read_drift_config(d, cfg);
  arm_drift(d);
  edv_config_free(cfg);
  arm_reconcile(d);
  return load_tokens(d, err);
}

/* ---- events from the fleet ------------------------------------------------*/

static void on_fleet_event(void *data, const edv_event *ev)
{
  edvd *d = data;
  char ebuf[700];

  switch (ev->kind) {
  case EDV_EVENT_END:
    edvd_on_run_end(d, ev);
    break;
  case EDV_EVENT_PHASE:
    EDV_LOG_I(MOD, "phase: tenant=%s phase=%s", ev->tenant,
              ev->message ? ev->message : "");
    break;
  case EDV_EVENT_STEP_FAIL:
    EDV_LOG_E(MOD, "step failed: tenant=%s step=%s error=%s", ev->tenant,
              ev->step ? ev->step : "",
              ev->error ? edv_error_format(ev->error, ebuf, sizeof(ebuf)) : "");
    break;
  case EDV_EVENT_STEP_RETRY:
    EDV_LOG_W(MOD, "step retry: tenant=%s step=%s error=%s", ev->tenant,
              ev->step ? ev->step : "",
              ev->error ? edv_error_format(ev->error, ebuf, sizeof(ebuf)) : "");
    break;
  case EDV_EVENT_STEP_DONE:
    EDV_LOG_D(MOD, "step done: tenant=%s step=%s ms=%llu", ev->tenant,
              ev->step ? ev->step : "", (unsigned long long)ev->elapsed_ms);
    /* edv_step_duration_seconds of /metrics. */
    if (!d->step_hist)
      d->step_hist = edv__stephist_new();
    edv__stephist_observe(d->step_hist, ev->step, ev->elapsed_ms);
    break;
  default:
    break;
  }
}

/* ---- signals and shutdown -------------------------------------------------*/

static void on_handle_closed(uv_handle_t *h)
{
  (void)h;
}

static void close_own_handles(edvd *d)
{
  uv_close((uv_handle_t *)&d->sig_term, on_handle_closed);
  uv_close((uv_handle_t *)&d->sig_int, on_handle_closed);
  uv_close((uv_handle_t *)&d->sig_hup, on_handle_closed);
  uv_close((uv_handle_t *)&d->stop_timer, on_handle_closed);
  uv_close((uv_handle_t *)&d->reconcile_timer, on_handle_closed);
  uv_close((uv_handle_t *)&d->drift_timer, on_handle_closed);
  uv_close((uv_handle_t *)&d->health_timer, on_handle_closed);
  uv_close((uv_handle_t *)&d->watchdog_timer, on_handle_closed);
}

static void on_sim_closed(void *data)
{
  edvd *d = data;

  EDV_LOG_I(MOD, "stopped");
  close_own_handles(d);
}

static void on_engine_closed(void *data)
{
  edvd *d = data;

  if (d->sim) {
    edv_sim_close(d->sim, on_sim_closed, d);
    d->sim = NULL;
    return;
  }
  on_sim_closed(d);
}

static void on_fleet_closed(void *data)
{
  edvd *d = data;

  d->store = NULL;
  d->tiers = NULL;
  api_audit_close(d); /* the pending summaries, then the timer */
  if (d->audit_fd >= 0) {
    fsync(d->audit_fd);
    close(d->audit_fd);
    d->audit_fd = -1;
  }
  edv_engine_close(d->engine, on_engine_closed, d);
  d->engine = NULL;
}

static void on_httpd_closed(void *data)
{
  edvd *d = data;

  d->httpd = NULL;
  edvd_maybe_finish(d);
}

/* Once the server is closed and every run has ended: close the rest. */
static void edvd_maybe_finish(edvd *d)
{
  edv_fleet *f = d->ef;

  if (!d->stopping || d->httpd || !f || f->nruns)
    return;
  d->ef = NULL;
  d->fleet = NULL;
  edv_fleet_close(f, on_fleet_closed, d);
}

static void on_stop_timer(uv_timer_t *t)
{
  edvd *d = t->data;

  /* Every record is consistent at any point (intents are committed before
   * calls), so leaving now is safe; it only means a run did not stop. */
  EDV_LOG_E(MOD, "shutdown took longer than %u ms (%u run(s) left); exiting",
            EDVD_STOP_GRACE_MS, d->ef ? d->ef->nruns : 0);
  fflush(NULL);
  _exit(1);
}

static void edvd_shutdown(edvd *d, const char *why)
{
  if (d->stopping)
    return;
  d->stopping = 1;
  edvd_notify(d, "STOPPING=1");
  EDV_LOG_I(MOD, "%s: stopping (%u run(s) in flight)", why,
            d->ef ? d->ef->nruns : 0);
  uv_timer_stop(&d->reconcile_timer);
  uv_timer_stop(&d->drift_timer);
  uv_timer_stop(&d->health_timer);
  uv_timer_start(&d->stop_timer, on_stop_timer, EDVD_STOP_GRACE_MS, 0);
  uv_unref((uv_handle_t *)&d->stop_timer);
  if (d->httpd)
    edv__httpd_close(d->httpd, on_httpd_closed, d);
  if (d->ef)
    edv__fleet_stop_all(d->ef);
  edvd_maybe_finish(d);
}

static void on_signal(uv_signal_t *s, int signum)
{
  edvd *d = s->data;
  edv_error err;

  if (signum == SIGHUP) {
    edvd_notify(d, "RELOADING=1");
    if (edvd_reload(d, &err))
      EDV_LOG_E(MOD, "SIGHUP: reload failed, keeping the old settings: %s",
                err.message);
    else
      EDV_LOG_I(MOD, "SIGHUP: configuration and tokens reloaded");
    edvd_notify(d, "READY=1");
    return;
  }
  if (d->stopping && signum == SIGINT) {
    EDV_LOG_W(MOD, "second SIGINT: exiting at once");
    fflush(NULL);
    _exit(1);
  }
  edvd_shutdown(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- start ----------------------------------------------------------------*/

/* Reads a PEM file of the TLS set-up into a new NUL-terminated buffer.
 * `key`: a private key, refused when group or others may read it. */
static char *read_pem(const char *cfgkey, const char *path, int key,
                      edv_error *err)
{
  struct stat st;
  char *buf;
  ssize_t n;
  size_t got = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0) {
    edv_error_set(err, EDV_ECONFIG, "%s: cannot read '%s': %s", cfgkey, path,
                  strerror(errno));
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      st.st_size > 1024 * 1024) {
    close(fd);
    edv_error_set(err, EDV_ECONFIG,
                  "%s: '%s' is not a regular file of 1 byte to 1 MiB", cfgkey,
                  path);
    return NULL;
  }
  if (key && (st.st_mode & 077)) {
    close(fd);
    edv_error_set(err, EDV_ECONFIG,
                  "%s: '%s' is readable by group or others (mode %04o): "
                  "chmod 600 it",
                  cfgkey, path, (unsigned)(st.st_mode & 07777));
    return NULL;
  }
  buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    close(fd);
    edv_error_set(err, EDV_ENOMEM, "%s: out of memory", cfgkey);
    return NULL;
  }
  while (got < (size_t)st.st_size &&
         (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
    got += (size_t)n;
  close(fd);
  buf[got] = '\0';
  if (got != (size_t)st.st_size || !strstr(buf, "-----BEGIN ")) {
    OPENSSL_cleanse(buf, got);
    free(buf);
    edv_error_set(err, EDV_ECONFIG, "%s: '%s' is not a PEM file", cfgkey, path);
    return NULL;
  }
  return buf;
}

/* server.tls_cert and server.tls_key: both or neither. */
static int load_tls(edv_config *cfg, char **cert, char **key, edv_error *err)
{
  const char *c = edv_config_get(cfg, "server.tls_cert");
  const char *k = edv_config_get(cfg, "server.tls_key");

  *cert = *key = NULL;
  if (!c && !k)
    return 0;
  if (!c || !k)
    return edv_error_set(err, EDV_ECONFIG,
                         "%s is not set (%s is): HTTPS needs both",
                         c ? "server.tls_key" : "server.tls_cert",
                         c ? "server.tls_cert" : "server.tls_key");
  *cert = read_pem("server.tls_cert", c, 0, err);
  if (!*cert)
    return -1;
  *key = read_pem("server.tls_key", k, 1, err);
  if (!*key) {
    free(*cert);
    *cert = NULL;
    return -1;
  }
  return 0;
}

/* Wipes and frees the TLS set-up's buffers. */
static void free_tls(char *cert, char *key)
{
  if (key) {
    OPENSSL_cleanse(key, strlen(key));
    free(key);
  }
  free(cert);
}

/* Descriptors kept for everything but API clients: the store, the audit
 * log, outgoing connections to Google, the embedded simulator. */
#define EDVD_FD_RESERVE 256u

/*
 * The API's connection limits from the configuration. Each connection is a
 * descriptor, so the soft open-file limit is raised to the hard one first
 * (distributions often start services with 1,024), and max_connections is
 * lowered, with a warning, when even that is too small for it.
 */
static void connection_limits(edvd *d, edv_httpd_options *ho)
{
  struct rlimit rl;
  unsigned max =
      (unsigned)edv_config_get_int(d->cfg, "server.max_connections", 4096);

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rlim_t was = rl.rlim_cur;

      rl.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = was;
    }
    if (rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)max + 2 * EDVD_FD_RESERVE) {
      unsigned fit = rl.rlim_cur > 2 * EDVD_FD_RESERVE
                         ? (unsigned)(rl.rlim_cur - EDVD_FD_RESERVE)
                         : EDVD_FD_RESERVE;

      if (fit < max) {
        EDV_LOG_W(MOD,
                  "server.max_connections %u lowered to %u: the open-file "
                  "limit is %llu (raise it, e.g. LimitNOFILE= in the unit)",
                  max, fit, (unsigned long long)rl.rlim_cur);
        max = fit;
      }
    }
  }
  ho->max_connections = max;
  ho->max_per_ip =
      (unsigned)edv_config_get_int(d->cfg, "server.max_connections_per_ip", 64);
  ho->request_timeout_ms =
      (uint64_t)edv_config_get_int(d->cfg, "server.request_timeout_s", 30) *
      1000u;
}

static int fail(edv_error *err, const char *what)
{
  EDV_LOG_E(MOD, "%s: %s", what, err->message);
  return 2;
}

int edvd_start(edvd *d, uv_loop_t *loop, const edvd_opts *opts)
{
  edv_error err;
  edv_fleet_options fo;
  edv_httpd_options ho;
  char host[64] = "localhost", holder[128];
  edv__tenant_rec prec;
  char *tls_cert = NULL, *tls_key = NULL;

  memset(d, 0, sizeof(*d));
  d->loop = loop;
  d->opts = *opts;
  d->audit_fd = -1;
  edv__log_set_json(1);
  edv__log_set_level(EDV_LOG_INFO);
  if (load_config(d, &d->cfg, &err))
    return fail(&err, "configuration");
  apply_log_level(d->cfg);
  read_cors_config(d, d->cfg);
  /* --listen is not stored in the configuration, whose validator refuses
   * port 0 (which tests use to get a free port). */
  if (parse_listen(
          opts->listen ? opts->listen : edv_config_get(d->cfg, "server.listen"),
          d->listen_host, sizeof(d->listen_host), &d->listen_port, &err))
    return fail(&err, "configuration");
  /* Checked now, before anything starts, and read again at the end. */
  if (load_tls(d->cfg, &tls_cert, &tls_key, &err))
    return fail(&err, "tls");
  free_tls(tls_cert, tls_key);
  if (edv__env_state_dir(d->cfg, d->state_dir, sizeof(d->state_dir), &err))
    return fail(&err, "configuration");
  if (edv__env_mkdirs(d->state_dir) != 0) {
    edv_error_set(&err, EDV_EIO, "cannot create '%s': %s", d->state_dir,
                  strerror(errno));
    return fail(&err, "state_dir");
  }
  snprintf(d->tokens_path, sizeof(d->tokens_path), "%s/%s", d->state_dir,
           EDV_TOKENS_FILE);
  snprintf(d->audit_path, sizeof(d->audit_path), "%s/audit.log", d->state_dir);
  d->reconcile_interval_ms =
      (uint64_t)edv_config_get_int(d->cfg, "server.reconcile_interval_s", 60) *
      1000u;
  if (opts->use_sim) {
    d->sim = edv__env_start_sim(loop, d->cfg, d->state_dir, &err);
    if (!d->sim)
      return fail(&err, "simulator");
  }
  d->engine = edv_engine_new(loop, d->cfg, &err);
  if (!d->engine)
    return fail(&err, "engine");
  /* The fleet: the store, the tiers and the tenant machine. A holder that
   * survives a restart: after a crash the next edvd takes its own leases
   * back at once instead of waiting for them to expire. */
  memset(&fo, 0, sizeof(fo));
  fo.engine = d->engine;
  fo.config = d->cfg;
  fo.state_dir = d->state_dir;
  fo.actor = "edvd";
  fo.tiers_fallbacks = opts->tiers_fallbacks;
  gethostname(host, sizeof(host) - 1);
  snprintf(holder, sizeof(holder), "edvd@%s", host);
  fo.holder = holder;
  if (opts->use_sim) {
    /* The simulator's clock is quick; poll it often. */
    fo.poll_ms = 250;
    fo.retry_base_ms = 250;
  }
  if (edv_fleet_open(&fo, &d->ef, &err))
    return fail(&err, "fleet");
  d->store = d->ef->store;
  d->tiers = d->ef->tiers;
  d->fleet = d->ef->machine;
  if (!edv_fleet_subscribe(d->ef, on_fleet_event, d)) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    return fail(&err, "fleet");
  }
  if (load_tokens(d, &err))
    return fail(&err, "tokens");
  if (edv__tokens_count(d->tokens) == 0)
    EDV_LOG_W(MOD, "no API token yet: every authenticated call gets 401; "
                   "create one with `edvctl token create --role admin "
                   "--name NAME`");
  d->audit_fd =
      open(d->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (d->audit_fd < 0 || fchmod(d->audit_fd, 0600) != 0) {
    edv_error_set(&err, EDV_EIO, "%s: %s", d->audit_path, strerror(errno));
    return fail(&err, "audit log");
  }
  memset(&ho, 0, sizeof(ho));
  ho.host = d->listen_host;
  ho.port = d->listen_port;
  ho.max_body = EDVD_MAX_BODY;
  ho.deadline_ms = 60000;
  ho.handler = edvd_api_handle;
  ho.data = d;
  ho.error_body = edvd_api_error_body;
  connection_limits(d, &ho);
  if (load_tls(d->cfg, &tls_cert, &tls_key, &err))
    return fail(&err, "tls");
  ho.tls_cert_pem = tls_cert;
  ho.tls_key_pem = tls_key;
  d->httpd = edv__httpd_start(loop, &ho, &err);
  free_tls(tls_cert, tls_key); /* libmicrohttpd has its own copy */
  if (!d->httpd)
    return fail(&err, "listen");
  d->started_ms = (uint64_t)edv__store_now(d->store);

  uv_signal_init(loop, &d->sig_term);
  uv_signal_init(loop, &d->sig_int);
  uv_signal_init(loop, &d->sig_hup);
  uv_timer_init(loop, &d->stop_timer);
  uv_timer_init(loop, &d->reconcile_timer);
  uv_timer_init(loop, &d->drift_timer);
  d->drift_timer.data = d;
  uv_timer_init(loop, &d->health_timer);
  d->health_timer.data = d;
  d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
  d->stop_timer.data = d->reconcile_timer.data = d;
  uv_signal_start(&d->sig_term, on_signal, SIGTERM);
  uv_signal_start(&d->sig_int, on_signal, SIGINT);
  uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
  edvd_notify_start(d);
  arm_reconcile(d);
  read_drift_config(d, d->cfg);
  arm_drift(d);
  read_heal_config(d, d->cfg);
  arm_health(d);

  /* One line on stdout for whoever started us (tests, scripts): where we
   * listen, and where the embedded simulator does. */
  printf("{\"listen\":\"%s://%s:%u\"",
         edv__httpd_tls(d->httpd) ? "https" : "http", d->listen_host,
         edv__httpd_port(d->httpd));
  if (d->sim)
    printf(",\"sim\":\"%s\"", edv_sim_base_url(d->sim));
  printf(",\"state_dir\":\"%s\"}\n", d->state_dir);
  fflush(stdout);
  EDV_LOG_I(MOD, "listening on %s://%s:%u (state %s%s)",
            edv__httpd_tls(d->httpd) ? "https" : "http", d->listen_host,
            edv__httpd_port(d->httpd), d->state_dir,
            d->sim ? ", embedded simulator" : "");
  /* The store is open and the API answers: systemd may start dependants. */
  edvd_notify(d, "READY=1");

  /* The platform first (with --sim, created when missing), then every
   * tenant an earlier run left half-way. */
  if (edv__store_tenant_get(d->store, EDV_PLATFORM_ID, &prec, NULL) == 0 &&
      prec.phase == EDV_PHASE_READY) {
    edvd_reconcile_pass(d);
  } else if (opts->use_sim) {
    EDV_LOG_I(MOD, "platform missing: running platform init");
    if (edvd_drive(d, EDV_PLATFORM_ID, EDV_DIR_UP, &err))
      return fail(&err, "platform init");
  } else {
    EDV_LOG_W(MOD, "the platform is not READY: run `edvctl platform init`; "
                   "tenants wait until it is");
  }
  return 0;
}

int edvd_run_loop(edvd *d)
{
  uv_run(d->loop, UV_RUN_DEFAULT);
  edv__tokens_free(d->tokens);
  d->tokens = NULL;
  edvd_heal_free(d);
  json_object_put(d->vm_zones);
  d->vm_zones = NULL;
  json_object_put(d->orphans);
  d->orphans = NULL;
  json_object_put(d->drift_state);
  d->drift_state = NULL;
  json_object_put(d->orphans_asked);
  d->orphans_asked = NULL;
  json_object_put(d->orphans_seen);
  d->orphans_seen = NULL;
  edv_config_free(d->cfg);
  d->cfg = NULL;
  edv__stephist_free(d->step_hist);
  d->step_hist = NULL;
  return d->exit_code;
}
