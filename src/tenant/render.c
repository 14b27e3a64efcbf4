/*
 * render.c - the tenant VM's configuration files and startup script (see
 * render.h).
 *
 * Values come from validated specs and tiers (ids, slugs and hostnames are
 * [a-z0-9-.] only; the display name is the one free-form field and is
 * single-quoted for the shell, with quotes escaped), so the rendered files
 * cannot be broken out of.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenant/render.h"

/* A growing string. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (b->oom)
    return;
  for (;;) {
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    {
      size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
      char *p = realloc(b->p, cap);
      if (!p) {
        b->oom = 1;
        return;
      }
      b->p = p;
      b->cap = cap;
    }
  }
}

static char *sb_done(sbuf *b)
{
  if (b->oom) {
    free(b->p);
    return NULL;
  }
  return b->p;
}

/* 'text' for the shell: single quotes, with ' written as '\''. */
static void sb_shq(sbuf *b, const char *s)
{
  sb_printf(b, "'");
  for (; *s; s++) {
    if (*s == '\'')
      sb_printf(b, "'\\''");
    else
      sb_printf(b, "%c", *s);
  }
  sb_printf(b, "'");
}

static void join(sbuf *b, char (*items)[EDV_TIER_ITEM_MAX + 1], size_t n)
{
  for (size_t i = 0; i < n; i++)
    sb_printf(b, "%s%s", i ? "," : "", items[i]);
}

char *edv__render_name_line(const char *display_name)
{
  sbuf b = {0};

  sb_printf(&b, "EDV_TENANT_NAME=");
  sb_shq(&b, display_name);
  return sb_done(&b);
}

char *edv__render_env(const edv__render_in *in)
{
  sbuf b = {0};
  char *name = edv__render_name_line(in->spec->display_name);

  sb_printf(&b, "# EdVirons application environment (rendered by edv).\n");
  sb_printf(&b, "# No secret here: the DB password is read from Secret "
                "Manager at start.\n");
  sb_printf(&b, "EDV_TENANT_ID=%s\n", in->spec->id);
  sb_printf(&b, "EDV_TENANT_SLUG=%s\n", in->spec->slug);
  sb_printf(&b, "%s\nEDV_TIER=%s\n", name ? name : "", in->tier->name);
  if (!name)
    b.oom = 1;
  free(name);
  sb_printf(&b, "EDV_MAX_USERS=%d\n", in->tier->max_users);
  sb_printf(&b, "EDV_FEATURES=");
  join(&b, (char(*)[EDV_TIER_ITEM_MAX + 1]) in->tier->features,
       in->tier->nfeatures);
  sb_printf(&b, "\nEDV_APPS=");
  join(&b, (char(*)[EDV_TIER_ITEM_MAX + 1]) in->tier->app_access,
       in->tier->napps);
  sb_printf(&b, "\nEDV_HOSTNAME=%s.%s\n", in->spec->id, in->domain);
  sb_printf(&b, "EDV_PROJECT=%s\n", in->project);
  sb_printf(&b, "DB_HOST=%s\n", in->db_host ? in->db_host : "");
  sb_printf(&b, "DB_NAME=edvirons\nDB_USER=edvirons\n");
  /* Cloud SQL accepts only TLS (sslMode ENCRYPTED_ONLY): the app and any
   * libpq client encrypt. `require`, not `verify-ca`: the server's CA is
   * Cloud SQL's per-instance CA, and the connection runs over the VPC's
   * private address only. */
  sb_printf(&b, "DB_SSLMODE=require\nPGSSLMODE=require\n");
  sb_printf(&b, "DB_PASSWORD_SECRET=%s\n", in->secret ? in->secret : "");
  sb_printf(&b, "REDIS_URL=redis://127.0.0.1:6379/0\n");
  sb_printf(&b, "PORT=8080\n");
  return sb_done(&b);
}

char *edv__render_nginx(const edv__render_in *in)
{
  sbuf b = {0};

  sb_printf(&b,
            "# EdVirons reverse proxy for %s.%s (rendered by edv).\n"
            "# TLS ends at the Google load balancer; it reaches us on :80.\n"
            "upstream edvirons_app {\n"
            "    server 127.0.0.1:8080;\n"
            "    keepalive 16;\n"
            "}\n\n"
            "server {\n"
            "    listen 80 default_server;\n"
            "    server_name %s.%s %s.%s;\n\n"
            "    client_max_body_size 20m;\n"
            "    proxy_read_timeout 60s;\n\n"
            "    location = /health {\n"
            "        proxy_pass http://edvirons_app/health;\n"
            "        proxy_connect_timeout 5s;\n"
            "        proxy_read_timeout 9s;\n"
            "        access_log off;\n"
            "    }\n\n"
            "    location / {\n"
            "        proxy_http_version 1.1;\n"
            "        proxy_set_header Connection \"\";\n"
            "        proxy_set_header Host $host;\n"
            "        proxy_set_header X-Forwarded-For "
            "$proxy_add_x_forwarded_for;\n"
            "        proxy_set_header X-Forwarded-Proto https;\n"
            "        proxy_set_header X-EdVirons-Tenant %s;\n"
            "        proxy_pass http://edvirons_app;\n"
            "    }\n"
            "}\n",
            in->spec->id, in->domain, in->spec->id, in->domain, in->spec->slug,
            in->domain, in->spec->id);
  return sb_done(&b);
}

char *edv__render_app_unit(const edv__render_in *in)
{
  sbuf b = {0};

  sb_printf(&b,
            "# EdVirons application for tenant %s (rendered by edv).\n"
            "[Unit]\n"
            "Description=EdVirons application (tenant %s)\n"
            "Wants=network-online.target redis-server.service\n"
            "After=network-online.target redis-server.service "
            "edvirons-migrate.service\n"
            "Requires=edvirons-migrate.service\n\n"
            "[Service]\n"
            "Type=simple\n"
            "User=edvirons\n"
            "Group=edvirons\n"
            "EnvironmentFile=/etc/edvirons/app.env\n"
            "ExecStart=/opt/edvirons/bin/edvirons-app\n"
            "Restart=on-failure\n"
            "RestartSec=5\n"
            "NoNewPrivileges=yes\n"
            "ProtectSystem=strict\n"
            "ProtectHome=yes\n"
            "PrivateTmp=yes\n"
            "ReadWritePaths=/var/lib/edvirons\n"
            "StateDirectory=edvirons\n\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n",
            in->spec->id, in->spec->id);
  return sb_done(&b);
}

char *edv__render_migrate_unit(const edv__render_in *in)
{
  sbuf b = {0};

  sb_printf(&b,
            "# EdVirons database migration for tenant %s (rendered by "
            "edv).\n"
            "[Unit]\n"
            "Description=EdVirons database migration (tenant %s)\n"
            "Wants=network-online.target\n"
            "After=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            "RemainAfterExit=yes\n"
            "User=edvirons\n"
            "Group=edvirons\n"
            "EnvironmentFile=/etc/edvirons/app.env\n"
            "ExecStart=/opt/edvirons/bin/edvirons-app migrate --seed\n"
            "TimeoutStartSec=600\n\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n",
            in->spec->id, in->spec->id);
  return sb_done(&b);
}

/* Appends `body` as a quoted heredoc writing `path` with `mode`. */
static void heredoc(sbuf *b, const char *path, const char *mode,
                    const char *body)
{
  sb_printf(b, "install -d -m 0755 \"$(dirname %s)\"\n", path);
  sb_printf(b, "cat > %s <<'EDV_EOF'\n%sEDV_EOF\nchmod %s %s\n\n", path, body,
            mode, path);
}

/*
 * The app of the release: its image holds /opt/edvirons/bin/edvirons-app
 * (the stock image has none: nothing starts, and "none" is reported). The
 * version it says it is goes back as the guest attribute
 * edvirons/app-version, what the orchestrator observes
 * (docs/operations.md, "Releases").
 */
static void startup_app(sbuf *b, const char *release)
{
  sb_printf(b,
            "# Release %s: the app comes with the image.\n"
            "app_version=none\n"
            "if [ -x /opt/edvirons/bin/edvirons-app ]; then\n"
            "  systemctl enable edvirons-migrate.service "
            "edvirons-app.service\n"
            "  systemctl restart edvirons-migrate.service\n"
            "  systemctl restart edvirons-app.service\n"
            "  app_version=$(/opt/edvirons/bin/edvirons-app --version "
            "2>/dev/null | head -n 1 || true)\n"
            "  app_version=${app_version:-unknown}\n"
            "fi\n"
            "curl -sS -X PUT -H 'Metadata-Flavor: Google' --data "
            "\"${app_version}\" "
            "http://metadata.google.internal/computeMetadata/v1/instance/"
            "guest-attributes/edvirons/app-version || true\n",
            release ? release : "none");
}

char *edv__render_startup(const edv__render_in *in)
{
  sbuf b = {0};
  char *env = edv__render_env(in), *site = edv__render_nginx(in),
       *unit = edv__render_app_unit(in), *mig = edv__render_migrate_unit(in);

  if (!env || !site || !unit || !mig) {
    free(env);
    free(site);
    free(unit);
    free(mig);
    return NULL;
  }
  sb_printf(&b,
            "#!/bin/bash\n"
            "# EdVirons tenant %s: first-boot configuration (rendered by "
            "edv).\n"
            "# Idempotent: safe to run on every boot.\n"
            "set -euo pipefail\n"
            "exec > >(logger -t edv-startup) 2>&1\n\n"
            "export DEBIAN_FRONTEND=noninteractive\n"
            "if ! dpkg -s nginx redis-server jq >/dev/null 2>&1; then\n"
            "  apt-get update -q\n"
            "  apt-get install -y -q nginx redis-server jq curl\n"
            "fi\n\n"
            "# Google Cloud Ops Agent: metrics (memory) and logs.\n"
            "if ! systemctl is-active --quiet google-cloud-ops-agent; then\n"
            "  curl -sSfO https://dl.google.com/cloudagents/"
            "add-google-cloud-ops-agent-repo.sh\n"
            "  bash add-google-cloud-ops-agent-repo.sh --also-install\n"
            "fi\n\n"
            "id edvirons >/dev/null 2>&1 || useradd --system --home "
            "/var/lib/edvirons --shell /usr/sbin/nologin edvirons\n\n",
            in->spec->id);
  heredoc(&b, "/etc/edvirons/app.env", "0640", env);
  sb_printf(&b, "chgrp edvirons /etc/edvirons/app.env\n\n");
  heredoc(&b, "/etc/nginx/sites-available/edvirons", "0644", site);
  sb_printf(&b, "ln -sf /etc/nginx/sites-available/edvirons "
                "/etc/nginx/sites-enabled/edvirons\n"
                "rm -f /etc/nginx/sites-enabled/default\n\n");
  heredoc(&b, "/etc/systemd/system/edvirons-migrate.service", "0644", mig);
  heredoc(&b, "/etc/systemd/system/edvirons-app.service", "0644", unit);
  sb_printf(&b,
            "# The DB password: fetched with the VM's own service account;\n"
            "# kept only in a root-owned 0600 file the app reads.\n"
            "token=$(curl -sSf -H 'Metadata-Flavor: Google' "
            "http://metadata.google.internal/computeMetadata/v1/instance/"
            "service-accounts/default/token | jq -r .access_token)\n"
            "umask 077\n"
            "curl -sSf -H \"Authorization: Bearer ${token}\" "
            "\"https://secretmanager.googleapis.com/v1/%s/versions/"
            "latest:access\" | jq -r .payload.data | base64 -d "
            "> /etc/edvirons/db-password\n"
            "chown root:edvirons /etc/edvirons/db-password\n"
            "chmod 0640 /etc/edvirons/db-password\n"
            "unset token\n\n"
            "systemctl enable --now redis-server\n"
            "nginx -t\n"
            "systemctl daemon-reload\n",
            in->secret ? in->secret : "");
  startup_app(&b, in->release);
  sb_printf(&b, "systemctl reload nginx || systemctl restart nginx\n");
  free(env);
  free(site);
  free(unit);
  free(mig);
  return sb_done(&b);
}
