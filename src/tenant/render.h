/*
 * render.h - the files a tenant VM is configured with.
 *
 * The VM boots from the public Debian 12 image; its startup script (the
 * `startup-script` metadata value) installs and configures everything the
 * seed lists: the application's environment, an nginx reverse proxy for
 * <id>.<domain>, redis, the monitoring agent, systemd units for the app,
 * and the database migration. Each piece is rendered separately so tests
 * can check it with the real tool (`nginx -t`, `systemd-analyze verify`,
 * `bash -n`, shellcheck).
 *
 * Nothing secret is rendered: the script fetches the database password
 * from Secret Manager at boot with the VM's own service account (the
 * metadata server's token), so the password never sits in metadata, in
 * our state, or in a log.
 */
#ifndef EDV_TENANT_RENDER_H
#define EDV_TENANT_RENDER_H

#include <stddef.h>

#include "tenant/spec.h"
#include "tenant/tiers.h"

typedef struct edv__render_in {
  const edv__tenant_spec *spec;
  const edv__tier *tier;
  const char *project;
  const char *domain;      /* "edvirons.com" */
  const char *db_host;     /* the SQL instance's private IP */
  const char *db_instance; /* the SQL instance's name */
  const char *secret;      /* "projects/P/secrets/S" (the DB password) */
  const char *release;     /* the release's version, or NULL: none */
} edv__render_in;

/* Each returns a malloc'd NUL-terminated text, or NULL on ENOMEM. */
char *edv__render_env(const edv__render_in *in); /* app.env */
/* app.env's display name line, "EDV_TENANT_NAME='...'" (no newline; the
 * VM's diff looks for it in the startup script). */
char *edv__render_name_line(const char *display_name);
char *edv__render_nginx(const edv__render_in *in);    /* nginx site */
char *edv__render_app_unit(const edv__render_in *in); /* systemd unit */
char *edv__render_migrate_unit(const edv__render_in *in);
char *edv__render_startup(const edv__render_in *in); /* the script */

#endif /* EDV_TENANT_RENDER_H */
