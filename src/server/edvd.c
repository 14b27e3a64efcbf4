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

#include "edv/log.h"
#include "server/api.h"
#include "server/edvd.h"
#include "prog/fleetenv.h"

#define MOD "edvd"

static void edvd_maybe_finish(edvd *d);

/* ---- runs ----------------------------------------------------------------*/

/* A run's end (the fleet's EDV_EVENT_END, once the run has left the
 * fleet): counted, logged; the platform READY lets the tenants waiting for
 * it go; a shutdown waits for the last. */
static void edvd_on_run_end(edvd *d, const edv_event *ev)
{
  const edv_error *err = ev->error;
  const char *phase = ev->phase ? ev->phase : "?";
  char ebuf[700] = "";
  char id[EDV_TENANT_ID_MAX + 6];

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
    edv_log(EDV_LOG_ERROR, MOD, "run ended: tenant=%s phase=%s error=%s", id,
            phase, ebuf);
  else
    edv_log(EDV_LOG_INFO, MOD, "run ended: tenant=%s phase=%s%s%s", id, phase,
            ebuf[0] ? " note=" : "", ebuf);
  if (d->stopping) {
    edvd_maybe_finish(d);
    return;
  }
  /* The platform is ready: tenants waiting for it may go. */
  if (strcmp(id, EDV_PLATFORM_TENANT) == 0 && strcmp(phase, "READY") == 0)
    edvd_reconcile_pass(d);
}

void edvd_reconcile_pass(edvd *d)
{
  if (!d->stopping && d->ef) {
    edv_fleet_reconcile(d->ef, EDV_FLEET_ASYNC | EDV_PASS_DRIFT, NULL, NULL,
                        NULL);
    (void)edv_fleet_update_carry(d->ef);
  }
}

static void on_reconcile_timer(uv_timer_t *t)
{
  edvd *d = t->data;

  edv_fleet_reconcile(d->ef, EDV_FLEET_ASYNC, NULL, NULL, NULL);
  /* Fleet updates left RUNNING by a process that died: carried on here. */
  (void)edv_fleet_update_carry(d->ef);
}

static void on_backups_checked(void *data, json_object *doc,
                               const edv_error *err)
{
  (void)data;
  (void)doc;
  if (err && err->code != EDV_ECANCELED)
    edv_log(EDV_LOG_WARN, MOD, "backup check: %s", err->message);
}

static void on_drift_timer(uv_timer_t *t)
{
  edvd *d = t->data;
  edv_error e;

  edv_fleet_drift_pass(d->ef);
  /* Backup health (edv_fleet_backup_check: its alerts, the status and
   * /metrics): one backupRuns.list per tenant, every 10 minutes at most. */
  if (d->last_backup_check && uv_now(t->loop) - d->last_backup_check < 600000)
    return;
  d->last_backup_check = uv_now(t->loop);
  if (edv_fleet_backup_check(d->ef, on_backups_checked, NULL, &e))
    edv_log(EDV_LOG_WARN, MOD, "backup check: %s", e.message);
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
  edvd *d = t->data;

  edv_fleet_heal_pass(d->ef);
}

/* The reconciler's orphan deletions, in the audit log. */
static void on_recon_audit(void *data, json_object *line)
{
  edvd *d = data;

  if (d->audit_fd >= 0)
    edvd_audit_line(d, line);
}

/* The server.* settings of the passes (start and reload): their intervals
 * (edvd's timers) and the fleet's reconciler options. */
static void read_pass_config(edvd *d, const edv_config *cfg)
{
  const char *del = edv_config_get(cfg, "server.delete_orphans");
  const char *via = edv_config_get(cfg, "server.probe_via");
  edv_reconciler_options o;
  edv_error err;

  d->reconcile_interval_ms =
      (uint64_t)edv_config_get_int(cfg, "server.reconcile_interval_s", 60) *
      1000u;
  d->drift_interval_ms =
      (uint64_t)edv_config_get_int(cfg, "server.drift_interval_s", 60) * 1000u;
  d->health_interval_ms =
      (uint64_t)edv_config_get_int(cfg, "server.health_interval_s", 30) * 1000u;
  memset(&o, 0, sizeof(o));
  o.orphan_grace_ms =
      (uint64_t)edv_config_get_int(cfg, "server.orphan_grace_s", 3600) * 1000u;
  /* The configuration validated it: true/yes/on/1 or their opposites. */
  o.delete_orphans =
      del && (strcasecmp(del, "true") == 0 || strcasecmp(del, "yes") == 0 ||
              strcasecmp(del, "on") == 0 || strcmp(del, "1") == 0);
  o.heal_after = (unsigned)edv_config_get_int(cfg, "server.heal_after", 3);
  o.heal_max_per_hour =
      (unsigned)edv_config_get_int(cfg, "server.heal_max_per_hour", 3);
  o.probe_timeout_ms =
      (uint64_t)edv_config_get_int(cfg, "server.probe_timeout_s", 10) * 1000u;
  /* With --sim and no probe_via of its own, probes go to the embedded
   * simulator, whose data plane answers for tenant hostnames. */
  o.probe_via = via ? via : d->sim ? edv_sim_base_url(d->sim) : NULL;
  o.reconcile_interval_ms = d->reconcile_interval_ms;
  o.drift_interval_ms = d->drift_interval_ms;
  o.health_interval_ms = d->health_interval_ms;
  o.audit = on_recon_audit;
  o.audit_data = d;
  if (d->ef && edv_fleet_reconciler_set(d->ef, &o, &err))
    edv_log(EDV_LOG_ERROR, MOD, "reconciler: %s", err.message);
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

/* A service's lines are JSON unless log.format asks for text. */
static int log_json(const edv_config *cfg)
{
  const char *fmt = edv_config_get(cfg, "log.format");

  return !(fmt && strcmp(fmt, "text") == 0);
}

static void apply_log_level(const edv_config *cfg)
{
  const char *lv = edv_config_get(cfg, "log.level");

  edv_log_set_json(log_json(cfg));

  /* A service logs its lifecycle: info unless the file says otherwise
   * (the library's default, warn, is for the CLI). */
  if (lv && strcmp(lv, "error") == 0)
    edv_log_set_level(EDV_LOG_ERROR);
  else if (lv && strcmp(lv, "debug") == 0)
    edv_log_set_level(EDV_LOG_DEBUG);
  else
    edv_log_set_level(EDV_LOG_INFO);
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
  edv_log(EDV_LOG_INFO, MOD, "API tokens loaded: %zu", edv__tokens_count(t));
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
  read_pass_config(d, cfg);
  edv_config_free(cfg);
  arm_health(d);
  arm_drift(d);
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
    edv_log(EDV_LOG_INFO, MOD, "phase: tenant=%s phase=%s", ev->tenant,
            ev->message ? ev->message : "");
    break;
  case EDV_EVENT_STEP_FAIL:
    edv_log(EDV_LOG_ERROR, MOD, "step failed: tenant=%s step=%s error=%s",
            ev->tenant, ev->step ? ev->step : "",
            ev->error ? edv_error_format(ev->error, ebuf, sizeof(ebuf)) : "");
    break;
  case EDV_EVENT_STEP_RETRY:
    edv_log(EDV_LOG_WARN, MOD, "step retry: tenant=%s step=%s error=%s",
            ev->tenant, ev->step ? ev->step : "",
            ev->error ? edv_error_format(ev->error, ebuf, sizeof(ebuf)) : "");
    break;
  case EDV_EVENT_STEP_DONE:
    edv_log(EDV_LOG_DEBUG, MOD, "step done: tenant=%s step=%s ms=%llu",
            ev->tenant, ev->step ? ev->step : "",
            (unsigned long long)ev->elapsed_ms);
    /* edv_step_duration_seconds of /metrics. */
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
  uv_close((uv_handle_t *)&d->snapshot_timer, on_handle_closed);
}

static void on_sim_closed(void *data)
{
  edvd *d = data;

  edv_log(EDV_LOG_INFO, MOD, "stopped");
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

  if (!d->stopping || d->httpd || !f || edv_fleet_runs(f))
    return;
  d->ef = NULL;
  edv_fleet_close(f, on_fleet_closed, d);
}

static void on_stop_timer(uv_timer_t *t)
{
  edvd *d = t->data;

  /* Every record is consistent at any point (intents are committed before
   * calls), so leaving now is safe; it only means a run did not stop. */
  edv_log(EDV_LOG_ERROR, MOD,
          "shutdown took longer than %u ms (%u run(s) left); exiting",
          EDVD_STOP_GRACE_MS, d->ef ? edv_fleet_runs(d->ef) : 0);
  fflush(NULL);
  _exit(1);
}

static void edvd_shutdown(edvd *d, const char *why)
{
  if (d->stopping)
    return;
  d->stopping = 1;
  edvd_notify(d, "STOPPING=1");
  edv_log(EDV_LOG_INFO, MOD, "%s: stopping (%u run(s) in flight)", why,
          d->ef ? edv_fleet_runs(d->ef) : 0);
  uv_timer_stop(&d->reconcile_timer);
  uv_timer_stop(&d->drift_timer);
  uv_timer_stop(&d->health_timer);
  uv_timer_stop(&d->snapshot_timer);
  uv_timer_start(&d->stop_timer, on_stop_timer, EDVD_STOP_GRACE_MS, 0);
  uv_unref((uv_handle_t *)&d->stop_timer);
  if (d->httpd)
    edv__httpd_close(d->httpd, on_httpd_closed, d);
  if (d->ef)
    edv_fleet_stop(d->ef);
  edvd_maybe_finish(d);
}

static void on_signal(uv_signal_t *s, int signum)
{
  edvd *d = s->data;
  edv_error err;

  if (signum == SIGHUP) {
    edvd_notify(d, "RELOADING=1");
    if (edvd_reload(d, &err))
      edv_log(EDV_LOG_ERROR, MOD,
              "SIGHUP: reload failed, keeping the old settings: %s",
              err.message);
    else
      edv_log(EDV_LOG_INFO, MOD, "SIGHUP: configuration and tokens reloaded");
    edvd_notify(d, "READY=1");
    return;
  }
  if (d->stopping && signum == SIGINT) {
    edv_log(EDV_LOG_WARN, MOD, "second SIGINT: exiting at once");
    fflush(NULL);
    _exit(1);
  }
  edvd_shutdown(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- start ----------------------------------------------------------------*/

/* Reads the file of config key `cfgkey` into a new NUL-terminated buffer.
 * `key`: a secret, refused when group or others may read it. */
static char *read_conf_file(const char *cfgkey, const char *path, int key,
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
  if (got != (size_t)st.st_size || strlen(buf) != got) {
    OPENSSL_cleanse(buf, got);
    free(buf);
    edv_error_set(err, EDV_ECONFIG, "%s: '%s' could not be read whole as text",
                  cfgkey, path);
    return NULL;
  }
  return buf;
}

/* Reads a PEM file of the TLS set-up (read_conf_file). */
static char *read_pem(const char *cfgkey, const char *path, int key,
                      edv_error *err)
{
  char *buf = read_conf_file(cfgkey, path, key, err);

  if (buf && !strstr(buf, "-----BEGIN ")) {
    OPENSSL_cleanse(buf, strlen(buf));
    free(buf);
    edv_error_set(err, EDV_ECONFIG, "%s: '%s' is not a PEM file", cfgkey, path);
    return NULL;
  }
  return buf;
}

/* alerts.intake_password_file: the password of the alert intake's Basic
 * auth (api_alerts.c), read as every secret file is
 * (edv_config_read_secret: this user's, 0600), one line; none: the intake
 * is disabled. */
static int load_intake_password(edvd *d, edv_error *err)
{
  const char *path = edv_config_get(d->cfg, "alerts.intake_password_file");
  char buf[1024];
  int r = edv_config_read_secret(d->cfg, "alerts.intake_password_file", buf,
                                 sizeof(buf), err);

  if (r)
    return r == 1 ? 0 : -1;
  if (strpbrk(buf, "\r\n")) {
    OPENSSL_cleanse(buf, sizeof(buf));
    return edv_error_set(err, EDV_ECONFIG,
                         "alerts.intake_password_file: '%s' must hold one "
                         "line, the password",
                         path);
  }
  d->intake_password = strdup(buf);
  OPENSSL_cleanse(buf, sizeof(buf));
  if (!d->intake_password)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  return 0;
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
        edv_log(EDV_LOG_WARN, MOD,
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

/* The HTTP server's own lines, in edvd's log (libedv's logger). */
static void httpd_log_line(void *data, edv_log_level level, const char *line)
{
  (void)data;
  edv_log(level, "httpd", "%s", line);
}

static int fail(edv_error *err, const char *what)
{
  edv_log(EDV_LOG_ERROR, MOD, "%s: %s", what, err->message);
  return 2;
}

/* The fleet: the store, the tiers and the tenant machine. A holder that
 * survives a restart: after a crash the next edvd takes its own leases
 * back at once instead of waiting for them to expire. */
static int open_fleet(edvd *d, const edvd_opts *opts, edv_error *err)
{
  edv_fleet_options fo;
  char host[64] = "localhost", holder[128];

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
    /* The simulator's clock is quick; poll it often. Metric points and
     * intervals on its clock. */
    fo.poll_ms = 250;
    fo.retry_base_ms = 250;
    fo.cloud_clock = edv_sim_clock;
    fo.cloud_clock_data = d->sim;
  }
  if (edv_fleet_open(&fo, &d->ef, err))
    return -1;
  if (!edv_fleet_subscribe(d->ef, on_fleet_event, d))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  return 0;
}

int edvd_start(edvd *d, uv_loop_t *loop, const edvd_opts *opts)
{
  edv_error err;
  edv_httpd_options ho;
  char *tls_cert = NULL, *tls_key = NULL;

  memset(d, 0, sizeof(*d));
  d->loop = loop;
  d->opts = *opts;
  d->audit_fd = -1;
  edv_log_set_json(1);
  edv_log_set_level(EDV_LOG_INFO);
  if (load_config(d, &d->cfg, &err) || load_intake_password(d, &err))
    return fail(&err, "configuration");
  apply_log_level(d->cfg);
  if (edvd_metrics_open(d)) {
    edv_error_set(&err, EDV_ENOMEM, "out of memory");
    return fail(&err, "metrics");
  }
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
  if (edv_fleet_state_dir(d->cfg, NULL, d->state_dir, sizeof(d->state_dir),
                          &err))
    return fail(&err, "configuration");
  snprintf(d->tokens_path, sizeof(d->tokens_path), "%s/%s", d->state_dir,
           EDV_TOKENS_FILE);
  snprintf(d->audit_path, sizeof(d->audit_path), "%s/audit.log", d->state_dir);
  if (opts->use_sim) {
    /* Its lines as edvd's: the same level and format. */
    edv_sim_log_set(edv_log_get_level(), log_json(d->cfg));
    d->sim = edv__env_start_sim(loop, d->cfg, d->state_dir, &err);
    if (!d->sim)
      return fail(&err, "simulator");
  }
  d->engine = edv_engine_new(loop, d->cfg, &err);
  if (!d->engine)
    return fail(&err, "engine");
  if (open_fleet(d, opts, &err))
    return fail(&err, "fleet");
  if (load_tokens(d, &err))
    return fail(&err, "tokens");
  if (edv__tokens_count(d->tokens) == 0)
    edv_log(EDV_LOG_WARN, MOD,
            "no API token yet: every authenticated call gets 401; "
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
  ho.log = httpd_log_line;
  connection_limits(d, &ho);
  if (load_tls(d->cfg, &tls_cert, &tls_key, &err))
    return fail(&err, "tls");
  ho.tls_cert_pem = tls_cert;
  ho.tls_key_pem = tls_key;
  d->httpd = edv__httpd_start(loop, &ho, &err);
  free_tls(tls_cert, tls_key); /* libmicrohttpd has its own copy */
  if (!d->httpd)
    return fail(&err, "listen");
  d->started_ms = (uint64_t)api_wall_ms();

  uv_signal_init(loop, &d->sig_term);
  uv_signal_init(loop, &d->sig_int);
  uv_signal_init(loop, &d->sig_hup);
  uv_timer_init(loop, &d->stop_timer);
  uv_timer_init(loop, &d->reconcile_timer);
  uv_timer_init(loop, &d->drift_timer);
  uv_timer_init(loop, &d->health_timer);
  d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
  d->stop_timer.data = d->reconcile_timer.data = d;
  d->drift_timer.data = d->health_timer.data = d;
  uv_signal_start(&d->sig_term, on_signal, SIGTERM);
  uv_signal_start(&d->sig_int, on_signal, SIGINT);
  uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
  edvd_notify_start(d);
  read_pass_config(d, d->cfg);
  edvd_snapshot_start(d);
  arm_reconcile(d);
  arm_drift(d);
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
  edv_log(EDV_LOG_INFO, MOD, "listening on %s://%s:%u (state %s%s)",
          edv__httpd_tls(d->httpd) ? "https" : "http", d->listen_host,
          edv__httpd_port(d->httpd), d->state_dir,
          d->sim ? ", embedded simulator" : "");
  /* The store is open and the API answers: systemd may start dependants. */
  edvd_notify(d, "READY=1");

  /* The platform first (with --sim, created when missing), then every
   * tenant an earlier run left half-way. */
  if (edv_fleet_reconcile(d->ef,
                          EDV_FLEET_ASYNC | EDV_PASS_DRIFT |
                              (opts->use_sim ? EDV_PASS_PLATFORM : 0),
                          NULL, NULL, &err))
    return fail(&err, "platform init");
  /* Fleet updates an earlier run (or a killed edvctl) left RUNNING. */
  (void)edv_fleet_update_carry(d->ef);
  return 0;
}

int edvd_run_loop(edvd *d)
{
  uv_run(d->loop, UV_RUN_DEFAULT);
  edv__tokens_free(d->tokens);
  d->tokens = NULL;
  edv_config_free(d->cfg);
  d->cfg = NULL;
  if (d->intake_password) {
    OPENSSL_cleanse(d->intake_password, strlen(d->intake_password));
    free(d->intake_password);
    d->intake_password = NULL;
  }
  edvd_metrics_close(d);
  return d->exit_code;
}
