/*
 * tharness.c - see tharness.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ftw.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "edv/config.h"
#include "sim/sim_int.h"
#include "pharness.h"
#include "tharness.h"

uint64_t th_now_ms(void)
{
  return uv_hrtime() / 1000000u;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* ---- the request tap ----------------------------------------------------- */

int th_count_request(th_counts *c, const sim_logent *e)
{
  if (e->api == SIM_API_ADMIN || e->api == SIM_API_OAUTH ||
      e->api == SIM_API_METADATA)
    return 0;
  c->total++;
  if (strstr(e->method_id, "operations.") ||
      strstr(e->method_id, "changes.get"))
    c->polls++;
  else if (strcmp(e->verb, "GET") != 0 && !ph_read_like(e->method_id))
    c->mutations++;
  else
    c->reads++;
  switch (e->status) {
  case 409:
    c->st409++;
    break;
  case 412:
    c->st412++;
    break;
  case 429:
    c->st429++;
    break;
  case 403:
    c->st403++;
    break;
  case 404:
    c->st404++;
    break;
  default:
    if (e->status >= 500)
      c->st5xx++;
    else if (e->status >= 400)
      c->other4xx++;
  }
  if (e->dropped)
    c->dropped++;
  return 1;
}

static void tap_one(th *h, const sim_logent *e)
{
  if (!th_count_request(&h->counts, e))
    return;
  if (getenv("TH_READS")) {
    /* A histogram of calls by method, printed at close. */
    static json_object *hist;
    json_object *v;
    if (!hist)
      hist = json_object_new_object();
    if (!e->method_id[0]) {
      fprintf(stderr, "# %s\n",
              json_object_to_json_string_ext(hist, JSON_C_TO_STRING_PRETTY));
      return;
    }
    v = json_object_object_get(hist, e->method_id);
    json_object_object_add(
        hist, e->method_id,
        json_object_new_int(v ? json_object_get_int(v) + 1 : 1));
  }
}

/* Every loop turn: read the entries the simulator logged since the last
 * turn (far fewer than the ring holds). */
static void on_tap(uv_check_t *t)
{
  th *h = t->data;
  sim *s = edv__sim_core(h->sim);

  if (!s)
    return;
  while (h->tap_cursor != s->log_next) {
    tap_one(h, &s->log[h->tap_cursor]);
    h->tap_cursor = (h->tap_cursor + 1) % SIM_LOG_SIZE;
  }
}

/* ---- events -------------------------------------------------------------- */

static void on_event(void *data, const edv__event *ev)
{
  th *h = data;

  if (ev->kind == EDV_EV_STEP_RETRY)
    h->events_retry++;
  if (getenv("TH_VERBOSE") &&
      (ev->kind == EDV_EV_STEP_RETRY || ev->kind == EDV_EV_STEP_FAIL)) {
    char buf[700] = "";
    if (ev->error)
      edv_error_format(ev->error, buf, sizeof(buf));
    fprintf(stderr, "# %s %s %s: %s %s\n", ev->tenant, ev->step,
            ev->kind == EDV_EV_STEP_RETRY ? "retry" : "FAIL",
            ev->message ? ev->message : "", buf);
  }
  if (getenv("TH_TRACE") && ev->kind == EDV_EV_STEP_DONE)
    fprintf(stderr, "# %8llu %s %s done in %llu ms\n",
            (unsigned long long)th_now_ms() % 100000, ev->tenant, ev->step,
            (unsigned long long)ev->elapsed_ms);
  if (h->hook)
    h->hook(h->hook_data, ev);
}

static void on_run_done(void *data, const char *tenant, edv_tenant_phase phase,
                        const edv_error *err)
{
  th *h = data;

  (void)tenant;
  h->runs--;
  if ((unsigned)phase < EDV_PHASE__COUNT)
    h->ended[phase]++;
  if (err && err->code) {
    char buf[900];
    snprintf(h->last_err, sizeof(h->last_err), "%s: %s", tenant,
             edv_error_format(err, buf, sizeof(buf)));
    if (getenv("TH_VERBOSE"))
      fprintf(stderr, "# run end %s\n", h->last_err);
  }
}

/* ---- open / close ----------------------------------------------------------
 */

void th_open(th *h, const th_opts *o)
{
  th_opts dflt;
  edv_config *cfg;
  edv_error err;
  edv__store_opts so;
  edv__fleet_opts fo;
  char path[512];
  const char *root = getenv("EDV_SOURCE_ROOT");

  if (!o) {
    memset(&dflt, 0, sizeof(dflt));
    o = &dflt;
  }
  memset(h, 0, sizeof(*h));
  assert_int_equal(uv_loop_init(&h->loop), 0);
  if (o->dir) {
    snprintf(h->dir, sizeof(h->dir), "%s", o->dir);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(h->dir, sizeof(h->dir), "%s/edv-tm-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(h->dir));
    h->own_dir = 1;
  }
  if (o->endpoint) {
    snprintf(h->base, sizeof(h->base), "%s", o->endpoint);
    snprintf(h->key, sizeof(h->key), "%s", o->key_file);
  } else {
    h->sim = ph_sim_start(&h->loop, o->profile, h->dir, h->base, h->key);
    if (!o->quiet_tap) {
      uv_check_init(&h->loop, &h->tap);
      h->tap.data = h;
      uv_check_start(&h->tap, on_tap);
      uv_unref((uv_handle_t *)&h->tap);
      h->tap_cursor = edv__sim_core(h->sim)->log_next;
      h->tap_on = 1;
    }
  }
  cfg = ph_engine_config(h->base, h->key);
  h->engine = edv_engine_new(&h->loop, cfg, &err);
  edv_config_free(cfg);
  if (!h->engine)
    fail_msg("engine: %s", err.message);
  snprintf(path, sizeof(path), "%s/tiers.json", root ? root : ".");
  if (edv__tiers_load_file(path, &h->tiers, &err))
    fail_msg("tiers: %s", err.message);
  snprintf(path, sizeof(path), "%s/edv.db", h->dir);
  memset(&so, 0, sizeof(so));
  so.path = path;
  so.synchronous_normal = 1;
  if (edv__store_open_sqlite(&so, &h->store, &err))
    fail_msg("store: %s", err.message);
  memset(&fo, 0, sizeof(fo));
  fo.engine = h->engine;
  fo.store = h->store;
  fo.tiers = h->tiers;
  fo.actor = "test";
  fo.max_attempts = o->max_attempts ? o->max_attempts : 12;
  fo.retry_base_ms = 50;
  fo.poll_ms = o->poll_ms ? o->poll_ms : 50;
  fo.lease_ttl_ms = o->lease_ttl_ms;
  fo.ready_timeout_ms = 120000;
  fo.on_event = on_event;
  fo.event_data = h;
  if (edv__fleet_new(&h->loop, &fo, &h->fleet, &err))
    fail_msg("fleet: %s", err.message);
}

static void set_flag(void *data)
{
  *(int *)data = 1;
}

void th_close(th *h)
{
  int done = 0;

  if (h->fleet) {
    edv__fleet_close(h->fleet, set_flag, &done);
    while (!done)
      uv_run(&h->loop, UV_RUN_ONCE);
    h->fleet = NULL;
  }
  if (h->engine) {
    done = 0;
    edv_engine_close(h->engine, set_flag, &done);
    while (!done)
      uv_run(&h->loop, UV_RUN_ONCE);
  }
  if (h->tap_on) {
    sim_logent dump;
    memset(&dump, 0, sizeof(dump));
    dump.api = SIM_API_COMPUTE;
    if (getenv("TH_READS"))
      tap_one(h, &dump); /* prints the histogram */
    uv_close((uv_handle_t *)&h->tap, NULL);
  }
  if (h->sim) {
    done = 0;
    edv_sim_close(h->sim, set_flag, &done);
    while (!done)
      uv_run(&h->loop, UV_RUN_ONCE);
  }
  uv_run(&h->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&h->loop), 0);
  edv__store_close(h->store);
  edv__tiers_free(h->tiers);
  if (h->own_dir && !getenv("TH_KEEP"))
    nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- tenants ----------------------------------------------------------------
 */

void th_spec(edv__tenant_spec *s, const char *id, const char *tier,
             const char *region)
{
  memset(s, 0, sizeof(*s));
  snprintf(s->id, sizeof(s->id), "%s", id);
  snprintf(s->slug, sizeof(s->slug), "%s-s", id);
  snprintf(s->display_name, sizeof(s->display_name), "School %s", id);
  snprintf(s->tier, sizeof(s->tier), "%s", tier);
  snprintf(s->region, sizeof(s->region), "%s", region ? region : "us-central1");
}

int th_register(th *h, const char *id, const char *tier, edv_error *err)
{
  edv__tenant_spec s;

  th_spec(&s, id, tier, NULL);
  return edv__fleet_register(h->fleet, &s, err);
}

int th_drive(th *h, const char *id, edv__direction dir, edv_error *err)
{
  int result = edv__fleet_drive(h->fleet, id, dir, on_run_done, h, err);

  if (result == 0)
    h->runs++;
  return result;
}

int th_wait(th *h, uint64_t timeout_ms)
{
  uint64_t end = th_now_ms() + timeout_ms;

  while (h->runs > 0) {
    if (th_now_ms() > end)
      return -1;
    uv_run(&h->loop, UV_RUN_ONCE);
  }
  return 0;
}

void th_platform(th *h)
{
  edv_error err;

  if (edv__fleet_drive(h->fleet, EDV_PLATFORM_ID, EDV_DIR_UP, on_run_done, h,
                       &err))
    fail_msg("platform: %s", err.message);
  h->runs++;
  assert_int_equal(th_wait(h, 60000), 0);
  assert_int_equal(th_phase(h, EDV_PLATFORM_ID), EDV_PHASE_READY);
  h->ended[EDV_PHASE_READY]--; /* count tenants only */
}

int th_phase(th *h, const char *id)
{
  edv__tenant_rec rec;

  if (edv__store_tenant_get(h->store, id, &rec, NULL))
    return -1;
  return (int)rec.phase;
}

/* ---- the admin API
 * ------------------------------------------------------------ */

json_object *th_admin(th *h, const char *method, const char *path,
                      json_object *body)
{
  char url[1024];

  snprintf(url, sizeof(url), "%s%s", h->base, path);
  return ph_call(&h->loop, h->engine, EDV_API_OTHER, method, url, body);
}

json_object *th_state_all(th *h)
{
  return th_admin(h, "GET", "/_sim/state", NULL);
}

void th_raise_quotas(th *h, unsigned n)
{
  static const char *const regional[] = {"CPUS",         "DISKS_TOTAL_GB",
                                         "SSD_TOTAL_GB", "INSTANCES",
                                         "SUBNETWORKS",  "IN_USE_ADDRESSES"};
  static const char *const global[] = {"FIREWALLS", "BACKEND_SERVICES",
                                       "HEALTH_CHECKS", "SQL_INSTANCES",
                                       "SSL_CERTIFICATES"};
  char lim[32];

  snprintf(lim, sizeof(lim), "%u", n * 400 + 1000);
  for (size_t i = 0; i < sizeof(regional) / sizeof(*regional); i++) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "metric", json_object_new_string(regional[i]));
    json_object_object_add(b, "region", json_object_new_string("us-central1"));
    json_object_object_add(b, "limit", json_object_new_int64(n * 400 + 1000));
    json_object_put(th_admin(h, "POST", "/_sim/quotas", b));
  }
  for (size_t i = 0; i < sizeof(global) / sizeof(*global); i++) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "metric", json_object_new_string(global[i]));
    json_object_object_add(b, "limit", json_object_new_int64(n * 400 + 1000));
    json_object_put(th_admin(h, "POST", "/_sim/quotas", b));
  }
  (void)lim;
}

json_object *th_api(th *h, edv_api api, const char *method, const char *path,
                    json_object *body)
{
  return ph_call(&h->loop, h->engine, api, method, path, body);
}

json_object *th_res(th *h, const char *name)
{
  char path[700];

  snprintf(path, sizeof(path), "/_sim/state?prefix=%s", name);
  return ph_find(th_admin(h, "GET", path, NULL), name);
}

unsigned th_count_names(json_object *state, const char *needle,
                        json_object *names)
{
  json_object *items = json_object_object_get(state, "resources");
  unsigned n = 0;

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    const char *nm = json_object_get_string(
        json_object_object_get(json_object_array_get_idx(items, i), "name"));
    if (nm && strstr(nm, needle)) {
      n++;
      if (names)
        json_object_array_add(names, json_object_new_string(nm));
    }
  }
  return n;
}

/* ---- footprints -------------------------------------------------------------
 */

static int segment_is_tenant(const char *seg, size_t len, const char *id,
                             const char *slug)
{
  char pre[64], dn[128], dn2[128];
  size_t pl;

  pl = (size_t)snprintf(pre, sizeof(pre), "edv-%s", id);
  if (len == pl && strncmp(seg, pre, pl) == 0)
    return 1;
  if (len > pl && strncmp(seg, pre, pl) == 0 &&
      (seg[pl] == '-' || seg[pl] == '@'))
    return 1;
  /* DNS names: "<id>.edvirons.com." and "_acme-challenge.<id>...". */
  snprintf(dn, sizeof(dn), "%s.edvirons.com.", id);
  snprintf(dn2, sizeof(dn2), "%s.edvirons.com.", slug ? slug : "\x01");
  for (size_t i = 0; i < len; i++) {
    if (i == 0 || seg[i - 1] == '.') {
      size_t l1 = strlen(dn), l2 = strlen(dn2);
      if (len - i == l1 && strncmp(seg + i, dn, l1) == 0)
        return 1;
      if (len - i == l2 && strncmp(seg + i, dn2, l2) == 0)
        return 1;
    }
  }
  return 0;
}

int th_name_is_tenant(const char *name, const char *id, const char *slug)
{
  const char *p = name;

  while (*p) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (segment_is_tenant(p, len, id, slug))
      return 1;
    if (!e)
      break;
    p = e + 1;
  }
  return 0;
}

json_object *th_footprint(json_object *state, const char *id, const char *slug)
{
  json_object *items, *fp;

  /* No state (the admin call failed) must never read as "nothing left". */
  assert_non_null(state);
  items = json_object_object_get(state, "resources");
  assert_non_null(items);
  fp = json_object_new_object();

  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i), *c;
    const char *nm = json_object_get_string(json_object_object_get(it, "name"));
    const char *kind =
        json_object_get_string(json_object_object_get(it, "kind"));
    /* The simulator's records that a deleted Cloud SQL name stays
     * reserved and of where an instance's data came from are not
     * resources anyone owns. */
    if (!nm || !kind || !th_name_is_tenant(nm, id, slug) ||
        strcmp(kind, "sql.deletedInstance") == 0 ||
        strcmp(kind, "sql.simRestore") == 0)
      continue;
    c = json_object_object_get(fp, kind);
    json_object_object_add(
        fp, kind, json_object_new_int(c ? json_object_get_int(c) + 1 : 1));
  }
  return fp;
}

/* What a READY tenant with a slug alias owns (both hostnames have an A
 * record, a DNS authorization with its CNAME, and a map entry). */
static const struct {
  const char *kind;
  int n;
} ready_fp[] = {
    {"compute#subnetwork", 1},
    {"compute#firewall", 4}, /* LB in, deny in, own DB out, deny DB out */
    {"iam.serviceAccount", 1},
    {"secretmanager.secret", 1},
    {"secretmanager.iamPolicy", 1},
    {"secretmanager.secretVersion", 1},
    {"secretmanager.secretPayload", 1},
    {"sql#instance", 1},
    {"sql#database", 2},    /* edvirons + the default postgres */
    {"sql#user", 2},        /* edvirons + the default postgres */
    {"sql.dataVersion", 1}, /* the simulator's data version of it */
    {"compute#instance", 1},
    {"compute#disk", 1},
    {"compute#resourcePolicy", 1},
    {"compute#instanceGroup", 1},
    {"compute#backendService", 1},
    {"dns#resourceRecordSet", 4}, /* 2 A + 2 challenge CNAME */
    {"certificatemanager.dnsAuthorization", 2},
    {"certificatemanager.certificate", 1},
    {"certificatemanager.certificateMapEntry", 2},
};

int th_footprint_want(const char *kind)
{
  for (size_t i = 0; i < sizeof(ready_fp) / sizeof(*ready_fp); i++)
    if (strcmp(ready_fp[i].kind, kind) == 0)
      return ready_fp[i].n;
  return 0;
}

int th_footprint_check(json_object *fp, int ready, char *why, size_t size)
{
  size_t n = sizeof(ready_fp) / sizeof(*ready_fp);

  why[0] = '\0';
  json_object_object_foreach(fp, kind, val)
  {
    int want = ready ? th_footprint_want(kind) : 0;
    if (json_object_get_int(val) != want) {
      snprintf(why, size, "%s: %d, want %d (%s)", kind,
               json_object_get_int(val), want, json_object_to_json_string(fp));
      return -1;
    }
  }
  for (size_t i = 0; ready && i < n; i++)
    if (!json_object_object_get(fp, ready_fp[i].kind)) {
      snprintf(why, size, "%s: missing (%s)", ready_fp[i].kind,
               json_object_to_json_string(fp));
      return -1;
    }
  return 0;
}

int th_urlmap_rules(th *h, const char *id, json_object *map)
{
  json_object *own = NULL, *rules, *pms;
  char pm[64];
  int n = 0;

  if (!map)
    map = own = th_res(h, "projects/edv-sim/global/urlMaps/edv-urlmap");
  if (!map)
    return -1;
  snprintf(pm, sizeof(pm), "edv-%s", id);
  rules = json_object_object_get(map, "hostRules");
  pms = json_object_object_get(map, "pathMatchers");
  for (size_t i = 0; rules && i < json_object_array_length(rules); i++)
    if (strcmp(json_object_get_string(json_object_object_get(
                   json_object_array_get_idx(rules, i), "pathMatcher")),
               pm) == 0)
      n++;
  for (size_t i = 0; pms && i < json_object_array_length(pms); i++)
    if (strcmp(json_object_get_string(json_object_object_get(
                   json_object_array_get_idx(pms, i), "name")),
               pm) == 0)
      n += 100;
  json_object_put(own);
  return n; /* 101 = one rule and one matcher */
}

/* ---- an edv-gcpsim child process ---------------------------------------- */

void th_simproc_start(th_simproc *p, const char *dir)
{
  int fds[2];
  char state[320], line[256], prog[512];
  const char *build = getenv("EDV_BUILD_ROOT");
  FILE *f;

  snprintf(prog, sizeof(prog), "%s/edv-gcpsim", build ? build : ".");
  snprintf(state, sizeof(state), "%s/cloud.json", dir);
  snprintf(p->key, sizeof(p->key), "%s/key.json", dir);
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  p->pid = fork();
  assert_true(p->pid >= 0);
  if (p->pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(prog, prog, "--port", "0", "--state", state, "--key-out", p->key,
          "--profile", "fast", "--seed", "7", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  f = fdopen(fds[0], "r");
  assert_non_null(f);
  if (!fgets(line, sizeof(line), f))
    fail_msg("edv-gcpsim (%s) did not start", prog);
  fclose(f);
  line[strcspn(line, "\n")] = '\0';
  assert_non_null(strstr(line, "listening on "));
  assert_non_null(strstr(line, "http"));
  snprintf(p->url, sizeof(p->url), "%s", strstr(line, "http"));
}

void th_simproc_stop(th_simproc *p)
{
  int st;

  if (p->pid > 0) {
    kill(p->pid, SIGTERM);
    waitpid(p->pid, &st, 0);
  }
  p->pid = -1;
}

/* A file's first size-1 bytes into buf (nothing when buf is NULL). */
static void th_slurp(const char *path, char *buf, size_t size)
{
  FILE *f;
  size_t k;

  if (!buf || !size)
    return;
  f = fopen(path, "r");
  k = f ? fread(buf, 1, size - 1, f) : 0;
  buf[k] = '\0';
  if (f)
    fclose(f);
}
/* Runs edvctl against the simulator child with state directory DIR/cli;
 * kills it after kill_ms (0: never) with `sig`. Returns its exit code, or
 * -SIG when a signal ended it; its stdout and stderr land in `out` and
 * `errout` (each may be NULL). */
int th_edvctl(const th_simproc *sp, const char *dir, unsigned kill_ms, int sig,
              char *out, size_t outsize, char *errout, size_t errsize,
              const char *const *args)
{
  const char *build = getenv("EDV_BUILD_ROOT");
  char prog[512], sd[320], errf[320], outf[320];
  const char *argv[32];
  int n = 0, st;
  pid_t pid;
  uint64_t kill_at = th_now_ms() + kill_ms, end = th_now_ms() + 150000;

  snprintf(prog, sizeof(prog), "%s/src/cli/edvctl", build ? build : ".");
  snprintf(sd, sizeof(sd), "%s/cli", dir);
  snprintf(errf, sizeof(errf), "%s/edvctl.err", dir);
  snprintf(outf, sizeof(outf), "%s/edvctl.out", dir);
  argv[n++] = prog;
  argv[n++] = "--endpoint";
  argv[n++] = sp->url;
  argv[n++] = "--key-file";
  argv[n++] = sp->key;
  argv[n++] = "--project";
  argv[n++] = "edv-sim";
  argv[n++] = "--state-dir";
  argv[n++] = sd;
  argv[n++] = "--quiet";
  while (*args && n < 31)
    argv[n++] = *args++;
  argv[n] = NULL;
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fo = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0);
    dup2(fo, 1);
    dup2(fd, 2);
    execv(prog, (char *const *)argv);
    _exit(127);
  }
  for (;;) {
    if (waitpid(pid, &st, WNOHANG) == pid)
      break;
    if (kill_ms && th_now_ms() >= kill_at) {
      kill(pid, sig);
      kill_ms = 0;
    }
    if (th_now_ms() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("edvctl did not end in 150 s");
    }
    usleep(5000);
  }
  th_slurp(errf, errout, errsize);
  th_slurp(outf, out, outsize);
  if (WIFSIGNALED(st))
    return -WTERMSIG(st);
  return WEXITSTATUS(st);
}

void th_simproc_opts(const th_simproc *p, const char *dir, th_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->endpoint = p->url;
  o->key_file = p->key;
  o->dir = dir;
  o->quiet_tap = 1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void th_rmtree(const char *dir)
{
  if (!getenv("TH_KEEP"))
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
