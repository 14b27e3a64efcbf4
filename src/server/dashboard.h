/*
 * dashboard.h - edvd's web dashboard (/dashboard/): static files embedded
 * into the binary at build time (embed_files.py), served to anyone (they
 * hold no data and no secret) with strict headers; the page asks for a
 * token and reads the Management API with it (docs/operations.md,
 * "The dashboard").
 */
#ifndef EDV_SERVER_DASHBOARD_H
#define EDV_SERVER_DASHBOARD_H

#include <stddef.h>

/* One embedded file. */
typedef struct edvd_asset {
  const char *name;  /* the URL's last segment ("app.js"), exactly */
  const char *ctype; /* its Content-Type */
  const unsigned char *data;
  size_t len;
  const char *etag; /* quoted digest of the bytes */
} edvd_asset;

/* The table (generated), ended by a row whose name is NULL. */
extern const edvd_asset edvd_dashboard_assets[];

/* The file a name names, or NULL: an exact match in the table, nothing
 * read from the file system. */
const edvd_asset *edvd_dashboard_find(const char *name);

#endif /* EDV_SERVER_DASHBOARD_H */
