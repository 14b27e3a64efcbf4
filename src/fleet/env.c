/*
 * env.c - the state directory, the store in it and the tiers file a fleet
 * is opened from (fleet/fleet.h). One set of rules, so that edvctl, edvd
 * and embedders open the same state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet/fleet.h"

int edv__env_state_dir(const edv_config *cfg, char *buf, size_t size,
                       edv_error *err)
{
  const char *v = cfg ? edv_config_get(cfg, "state_dir") : NULL;
  const char *xdg = getenv("XDG_STATE_HOME");
  const char *home = getenv("HOME");
  int n;

  if (v)
    n = snprintf(buf, size, "%s", v);
  else if (xdg && *xdg)
    n = snprintf(buf, size, "%s/edv", xdg);
  else
    n = snprintf(buf, size, "%s/.local/state/edv", home ? home : ".");
  if (n < 0 || (size_t)n >= size)
    return edv_error_set(err, EDV_EINVAL, "state_dir: path too long");
  return 0;
}

int edv__env_mkdirs(const char *path)
{
  char buf[512];
  size_t n = strlen(path);

  if (n == 0 || n >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return -1;
    buf[i] = i < n ? '/' : '\0';
  }
  return 0;
}

int edv__env_load_tiers(const edv_config *cfg, const char *const *fallbacks,
                        edv__tiers **out, edv_error *err)
{
  const char *p = cfg ? edv_config_get(cfg, "tiers_file") : NULL;

  if (!p && access("tiers.json", R_OK) == 0)
    p = "tiers.json";
  for (size_t i = 0; !p && fallbacks && fallbacks[i]; i++)
    if (access(fallbacks[i], R_OK) == 0 || !fallbacks[i + 1])
      p = fallbacks[i];
  if (!p)
    return edv_error_set(err, EDV_ECONFIG,
                         "tiers_file: no tiers file found (set tiers_file)");
  return edv__tiers_load_file(p, out, err);
}

int edv__env_open_store(const char *dir, edv_store **out, edv_error *err)
{
  char path[600];
  edv__store_opts o;

  if (edv__env_mkdirs(dir) != 0)
    return edv_error_set(err, EDV_EIO, "state_dir: cannot create '%s': %s", dir,
                         strerror(errno));
  if (snprintf(path, sizeof(path), "%s/edv.db", dir) >= (int)sizeof(path))
    return edv_error_set(err, EDV_EINVAL, "state_dir: path too long");
  memset(&o, 0, sizeof(o));
  o.path = path;
  return edv__store_open_sqlite(&o, out, err);
}

void edv__env_fleet_opts(const edv_config *cfg, edv__fleet_opts *o)
{
  o->domain = edv_config_get(cfg, "domain");
  o->reserved = edv_config_get(cfg, "dns.reserved_labels");
  o->backup_loc = edv_config_get(cfg, "sql.backup_location");
  o->alert_email = edv_config_get(cfg, "alerts.email");
  o->alert_webhook = edv_config_get(cfg, "alerts.webhook");
  o->alert_slack_channel = edv_config_get(cfg, "alerts.slack_channel");
  o->alert_slack_token_file = edv_config_get(cfg, "alerts.slack_token_file");
  o->alert_pagerduty_key_file =
      edv_config_get(cfg, "alerts.pagerduty_key_file");
  o->alert_intake_url = edv_config_get(cfg, "alerts.intake_url");
  o->alert_intake_password_file =
      edv_config_get(cfg, "alerts.intake_password_file");
  o->region = edv_config_get(cfg, "region");
  o->supernet = edv_config_get(cfg, "supernet");
  o->subnet_prefix = (unsigned)edv_config_get_int(cfg, "subnet_prefix", 0);
  /* One TTL for edvctl and edvd: both take the same tenants' leases. */
  o->lease_ttl_ms =
      (uint64_t)edv_config_get_int(cfg, "tenant.lease_ttl_s", 60) * 1000;
}

int edv_fleet_state_dir(const edv_config *cfg, const char *dir, char *buf,
                        size_t size, edv_error *err)
{
  int result;

  if (dir) {
    if (snprintf(buf, size, "%s", dir) >= (int)size)
      return edv_error_set(err, EDV_EINVAL, "state_dir: path too long");
  } else if ((result = edv__env_state_dir(cfg, buf, size, err)) != 0) {
    return result;
  }
  if (edv__env_mkdirs(buf) != 0)
    return edv_error_set(err, EDV_EIO, "state_dir: cannot create '%s': %s", buf,
                         strerror(errno));
  return 0;
}
