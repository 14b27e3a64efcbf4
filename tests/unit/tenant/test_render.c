/*
 * test_render.c - the tenant VM's rendered files, checked by the real
 * tools: `nginx -t` on the site (inside a minimal nginx.conf with a temp
 * prefix), `systemd-analyze verify` on the units (ExecStart pointed at a
 * stub), `bash -n` and shellcheck on the startup script. A tool that is
 * not installed skips its check (said on stderr), never fails it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ftw.h>

#include <cmocka.h>

#include "tenant/render.h"

static edv__tiers *g_tiers;
static char g_dir[256];

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int setup(void **state)
{
  const char *root = getenv("EDV_SOURCE_ROOT");
  const char *tmp = getenv("TMPDIR");
  char path[512];
  edv_error err;

  (void)state;
  snprintf(path, sizeof(path), "%s/tiers.json", root ? root : ".");
  if (edv__tiers_load_file(path, &g_tiers, &err))
    return -1;
  snprintf(g_dir, sizeof(g_dir), "%s/edv-render-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  edv__tiers_free(g_tiers);
  nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");

  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
  chmod(path, mode);
}

/* Runs `cmd` through sh; returns its exit status, output in out. */
static int run(const char *cmd, char *out, size_t size)
{
  FILE *p;
  size_t n;
  int st;
  char full[2048];

  snprintf(full, sizeof(full), "%s 2>&1", cmd);
  p = popen(full, "r");
  assert_non_null(p);
  n = fread(out, 1, size - 1, p);
  out[n] = '\0';
  st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static int have(const char *tool)
{
  char cmd[256], out[512];

  snprintf(cmd, sizeof(cmd), "command -v %s", tool);
  if (run(cmd, out, sizeof(out)) == 0)
    return 1;
  /* nginx lives in /usr/sbin, often not on a user's PATH. */
  snprintf(cmd, sizeof(cmd), "test -x /usr/sbin/%s", tool);
  return run(cmd, out, sizeof(out)) == 0;
}

static void in_for(edv__render_in *in, edv__tenant_spec *s, const char *tier,
                   const char *display)
{
  memset(s, 0, sizeof(*s));
  snprintf(s->id, sizeof(s->id), "school001");
  snprintf(s->slug, sizeof(s->slug), "greenwood-high");
  snprintf(s->display_name, sizeof(s->display_name), "%s", display);
  snprintf(s->tier, sizeof(s->tier), "%s", tier);
  snprintf(s->region, sizeof(s->region), "us-central1");
  memset(in, 0, sizeof(*in));
  in->spec = s;
  in->tier = edv__tiers_find(g_tiers, tier);
  assert_non_null(in->tier);
  in->project = "edv-sim";
  in->domain = "edvirons.com";
  in->db_host = "10.10.0.3";
  in->db_instance = "edv-school001-db-1";
  in->secret = "projects/edv-sim/secrets/edv-school001-db-password";
}

static const char *const names[] = {
    "Greenwood High School",
    "O'Brien's \"Academy\" $(touch /tmp/pwned) `id` \\ ; & | < > École",
};

static void test_nginx(void **state)
{
  edv__render_in in;
  edv__tenant_spec s;
  char path[512], conf[4096], cmd[1400], out[4096];
  char *site;

  (void)state;
  if (!have("nginx")) {
    fprintf(stderr, "# nginx not installed: skipped\n");
    skip();
  }
  in_for(&in, &s, "premium", names[0]);
  site = edv__render_nginx(&in);
  assert_non_null(site);
  assert_non_null(strstr(site, "server_name school001.edvirons.com "
                               "greenwood-high.edvirons.com;"));
  snprintf(path, sizeof(path), "%s/site.conf", g_dir);
  write_file(path, site, 0644);
  free(site);
  snprintf(conf, sizeof(conf),
           "pid %s/nginx.pid;\nerror_log %s/error.log;\n"
           "events {}\n"
           "http {\n  access_log off;\n"
           "  client_body_temp_path %s/cb;\n  proxy_temp_path %s/px;\n"
           "  fastcgi_temp_path %s/fc;\n  uwsgi_temp_path %s/uw;\n"
           "  scgi_temp_path %s/sc;\n"
           "  include %s;\n}\n",
           g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, path);
  snprintf(path, sizeof(path), "%s/nginx.conf", g_dir);
  write_file(path, conf, 0644);
  snprintf(cmd, sizeof(cmd), "PATH=$PATH:/usr/sbin nginx -t -p %s -c %s", g_dir,
           path);
  if (run(cmd, out, sizeof(out)) != 0)
    fail_msg("nginx -t: %s", out);
  assert_non_null(strstr(out, "test is successful"));
}

static void test_systemd(void **state)
{
  edv__render_in in;
  edv__tenant_spec s;
  char path[512], stub[512], cmd[2048], out[8192];
  char *units[3];
  const char *files[3] = {"edvirons-app.service", "edvirons-migrate.service",
                          "edvirons-config-watch.service"};
  const char *bins[3] = {"/opt/edvirons/bin/edvirons-app",
                         "/opt/edvirons/bin/edvirons-app",
                         "/usr/local/sbin/edv-config-watch"};

  (void)state;
  if (!have("systemd-analyze")) {
    fprintf(stderr, "# systemd-analyze not installed: skipped\n");
    skip();
  }
  in_for(&in, &s, "enterprise", names[1]);
  units[0] = edv__render_app_unit(&in);
  units[1] = edv__render_migrate_unit(&in);
  units[2] = edv__render_watch_unit(&in);
  /* The app's binary does not exist here: point ExecStart at a stub. */
  snprintf(stub, sizeof(stub), "%s/edvirons-app", g_dir);
  write_file(stub, "#!/bin/sh\nexit 0\n", 0755);
  for (int i = 0; i < 3; i++) {
    char *p;
    char fixed[4096];
    assert_non_null(units[i]);
    p = strstr(units[i], bins[i]);
    assert_non_null(p);
    snprintf(fixed, sizeof(fixed), "%.*s%s%s", (int)(p - units[i]), units[i],
             stub, p + strlen(bins[i]));
    snprintf(path, sizeof(path), "%s/%s", g_dir, files[i]);
    write_file(path, fixed, 0644);
    free(units[i]);
  }
  snprintf(cmd, sizeof(cmd),
           "cd %s && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "
           "--man=no ./%s ./%s ./%s",
           g_dir, files[0], files[1], files[2]);
  {
    int rc = run(cmd, out, sizeof(out));
    /* Without a running systemd (containers, CI), verify may not be able
     * to load the unit search path at all: that is not our units. */
    if (rc != 0 && (strstr(out, "Failed to initialize manager") ||
                    strstr(out, "Failed to setup working directory") ||
                    strstr(out, "System has not been booted"))) {
      fprintf(stderr, "# systemd-analyze cannot run here: %s", out);
      skip();
    }
    /* Lines naming our files are findings about them. */
    if (rc != 0 || strstr(out, files[0]) || strstr(out, files[1]) ||
        strstr(out, files[2]))
      fail_msg("systemd-analyze verify (%d): %s", rc, out);
  }
}

static void test_startup_script(void **state)
{
  char path[512], cmd[1400], out[8192];

  (void)state;
  for (size_t t = 0; t < g_tiers->ntiers; t++)
    for (size_t k = 0; k < sizeof(names) / sizeof(*names); k++) {
      edv__render_in in;
      edv__tenant_spec s;
      char *script, *env;

      in_for(&in, &s, g_tiers->tiers[t].name, names[k]);
      script = edv__render_startup(&in);
      env = edv__render_env(&in);
      assert_non_null(script);
      assert_non_null(env);
      /* No secret in the script: it fetches the password at boot. */
      assert_null(strstr(script, "PASSWORD="));
      /* Every connection to Cloud SQL is TLS. */
      assert_non_null(strstr(env, "\nPGSSLMODE=require\n"));
      assert_non_null(strstr(env, "\nDB_SSLMODE=require\n"));
      snprintf(path, sizeof(path), "%s/startup-%zu-%zu.sh", g_dir, t, k);
      write_file(path, script, 0755);
      snprintf(cmd, sizeof(cmd), "bash -n %s", path);
      if (run(cmd, out, sizeof(out)) != 0)
        fail_msg("bash -n (%s): %s", g_tiers->tiers[t].name, out);
      if (have("shellcheck")) {
        snprintf(cmd, sizeof(cmd), "shellcheck -s bash -S warning %s", path);
        if (run(cmd, out, sizeof(out)) != 0)
          fail_msg("shellcheck: %s", out);
      }
      /* The environment file reads back the display name exactly, and
       * nothing in it runs (a hostile name stays text). */
      snprintf(path, sizeof(path), "%s/app-%zu-%zu.env", g_dir, t, k);
      write_file(path, env, 0644);
      snprintf(cmd, sizeof(cmd),
               "bash -c 'set -a; . %s; printf %%s \"$EDV_TENANT_NAME\"'", path);
      assert_int_equal(run(cmd, out, sizeof(out)), 0);
      assert_string_equal(out, names[k]);
      free(script);
      free(env);
    }
  /* The configuration watcher the script installs: a shell script of its
   * own (a quoted heredoc, so the checks above do not read it). */
  {
    char *watch = edv__render_watch_script();
    assert_non_null(watch);
    assert_non_null(strstr(watch, "wait_for_change=true"));
    assert_non_null(strstr(watch, "google_metadata_script_runner startup"));
    snprintf(path, sizeof(path), "%s/edv-config-watch", g_dir);
    write_file(path, watch, 0755);
    free(watch);
    snprintf(cmd, sizeof(cmd), "bash -n %s", path);
    if (run(cmd, out, sizeof(out)) != 0)
      fail_msg("bash -n (watcher): %s", out);
    if (have("shellcheck")) {
      snprintf(cmd, sizeof(cmd), "shellcheck -s bash -S warning %s", path);
      if (run(cmd, out, sizeof(out)) != 0)
        fail_msg("shellcheck (watcher): %s", out);
    }
  }
  if (!have("shellcheck"))
    fprintf(stderr, "# shellcheck not installed: only bash -n ran\n");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nginx),
      cmocka_unit_test(test_systemd),
      cmocka_unit_test(test_startup_script),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
