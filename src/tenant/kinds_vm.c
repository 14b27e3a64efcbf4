/*
 * kinds_vm.c - the diffs of the tenant's VM and boot disk (tenant/kinds.h):
 * what a tier change or a rename changes in place (its machine type, its
 * metadata and app environment, the edv-tier labels), and the tier label
 * every labelled kind carries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "tenant/kinds.h"
#include "tenant/render.h"

static int str_is(const char *have, const char *want)
{
  return have && want && strcmp(have, want) == 0;
}

/* ---- labels ----------------------------------------------------------------
 *
 * Every resource that carries the tenant's labels carries its tier
 * (edv-tier): a scale relabels them in place. */

int edv__kind_tier_label_diff(const edv__kind_ctx *ctx, json_object *labels,
                              char *text, size_t size)
{
  const char *have = edv__jstr(labels, EDV_LABEL_TIER);

  if (!ctx->tier || str_is(have, ctx->tier->name))
    return 0;
  edv__kind_note(text, size, "label " EDV_LABEL_TIER " %.30s -> %s",
                 have ? have : "(none)", ctx->tier->name);
  return 1;
}

json_object *edv__kind_labels_fixed(const edv__kind_ctx *ctx,
                                    json_object *labels)
{
  json_object *out = json_object_new_object();

  if (json_object_is_type(labels, json_type_object)) {
    json_object_object_foreach(labels, k, v)
    {
      if (strcmp(k, EDV_LABEL_TIER) != 0)
        json_object_object_add(out, k, json_object_get(v));
    }
  }
  json_object_object_add(out, EDV_LABEL_TIER,
                         json_object_new_string(ctx->tier->name));
  return out;
}

/* A Compute resource's tier label: the patch is the body of its setLabels
 * (its labels with the tier put right, and the observed labelFingerprint:
 * a concurrent change makes it 412). */
static int compute_labels_diff(const edv__kind_ctx *ctx, json_object *observed,
                               json_object **patch, char *text, size_t size)
{
  json_object *labels = edv__jget(observed, "labels");

  if (!edv__kind_tier_label_diff(ctx, labels, text, size))
    return 0;
  if (!patch)
    return 1;
  *patch = json_object_new_object();
  json_object_object_add(*patch, "labels", edv__kind_labels_fixed(ctx, labels));
  if (edv__jstr(observed, "labelFingerprint"))
    json_object_object_add(
        *patch, "labelFingerprint",
        json_object_new_string(edv__jstr(observed, "labelFingerprint")));
  return 1;
}

int edv__kind_labels_diff(const edv__kind_ctx *ctx, json_object *observed,
                          json_object **patch, char *text, size_t size)
{
  json_object *labels = edv__jget(observed, "labels");

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  if (!edv__kind_tier_label_diff(ctx, labels, text, size))
    return 0;
  if (patch) {
    *patch = json_object_new_object();
    json_object_object_add(*patch, "labels",
                           edv__kind_labels_fixed(ctx, labels));
  }
  return 1;
}

/* ---- VM ------------------------------------------------------------------*/

/* The metadata item `key` of a VM's items (NULL when none). */
static json_object *meta_item(json_object *items, const char *key)
{
  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (str_is(edv__jstr(it, "key"), key))
      return it;
  }
  return NULL;
}

/*
 * The line of `script` that begins with want's "KEY=" made `want`: 0 when
 * it is already, 1 when it differs (*out: the script with that one line
 * replaced, NULL without memory), -1 when the script has no such line.
 */
static int script_line_put(const char *script, const char *want, char **out)
{
  size_t kl = strcspn(want, "=") + 1, wl = strlen(want), pre;
  const char *line = script, *end;

  *out = NULL;
  while (line && strncmp(line, want, kl) != 0)
    line = (line = strchr(line, '\n')) ? line + 1 : NULL;
  if (!line)
    return -1;
  end = line + strcspn(line, "\n");
  if ((size_t)(end - line) == wl && memcmp(line, want, wl) == 0)
    return 0;
  pre = (size_t)(line - script);
  if ((*out = malloc(pre + wl + strlen(end) + 1))) {
    memcpy(*out, script, pre);
    memcpy(*out + pre, want, wl);
    memcpy(*out + pre + wl, end, strlen(end) + 1);
  }
  return 1;
}

/* Puts each line of `lines` into *script (script_line_put): the number
 * changed; *missing counts those the script lacks; -1 without memory. */
static int script_lines_put(char **script, const char *lines, int *missing)
{
  int n = 0;

  for (const char *l = lines; l && *l;) {
    size_t len = strcspn(l, "\n");
    char *want = strndup(l, len), *next = NULL;
    int r = want ? script_line_put(*script, want, &next) : 1;

    free(want);
    if (r == 1 && !next)
      return -1;
    if (r == 1) {
      free(*script);
      *script = next;
      n++;
    }
    *missing += r < 0;
    l += len + (l[len] == '\n');
  }
  return n;
}

/* Metadata item `key` of `items` against `want`: 1 with a note when it
 * differs. */
static int meta_value_diff(json_object *items, const char *key,
                           const char *want, char *text, size_t size)
{
  const char *have = edv__jstr(meta_item(items, key), "value");

  if (str_is(have, want))
    return 0;
  edv__kind_note(text, size, "metadata %s %.30s -> %s", key,
                 have ? have : "(none)", want);
  return 1;
}

/* The body of instances.setMetadata: the observed items with the startup
 * script, edv-tier and edv-max-users as wanted (the last two added when
 * missing), and the observed fingerprint. */
static json_object *meta_patch(json_object *md, const char *script,
                               const char *tier, const char *users)
{
  json_object *items = edv__jget(md, "items"), *out = json_object_new_array();
  json_object *body = json_object_new_object();
  const char *keys[] = {"startup-script", EDV_META_TIER, EDV_META_MAX_USERS};
  const char *vals[] = {script, tier, users};
  int seen[3] = {0, 0, 0};

  for (size_t i = 0; i < edv__jarr_len(items); i++) {
    json_object *it = json_object_array_get_idx(items, i), *o;
    int k = 0;

    while (k < 3 && !str_is(edv__jstr(it, "key"), keys[k]))
      k++;
    if (k == 3 || !vals[k]) {
      json_object_array_add(out, json_object_get(it));
      continue;
    }
    seen[k] = 1;
    o = json_object_new_object();
    json_object_object_add(o, "key", json_object_new_string(keys[k]));
    json_object_object_add(o, "value", json_object_new_string(vals[k]));
    json_object_array_add(out, o);
  }
  for (int k = 1; k < 3; k++)
    if (!seen[k]) {
      json_object *o = json_object_new_object();
      json_object_object_add(o, "key", json_object_new_string(keys[k]));
      json_object_object_add(o, "value", json_object_new_string(vals[k]));
      json_object_array_add(out, o);
    }
  if (edv__jstr(md, "fingerprint"))
    json_object_object_add(
        body, "fingerprint",
        json_object_new_string(edv__jstr(md, "fingerprint")));
  json_object_object_add(body, "items", out);
  return body;
}

/*
 * What the VM's metadata says of the tenant (tenant/render.c writes it):
 * the startup script's app environment (the display name's
 * EDV_TENANT_NAME line when ctx->display_name is set, and the tier's
 * lines: EDV_TIER, EDV_MAX_USERS, EDV_FEATURES, EDV_APPS) and the
 * edv-tier and edv-max-users items. The number of differences, with
 * *patch (if patch) the body of instances.setMetadata that puts them all
 * right. A script without a line is a difference without a patch of its
 * own (never made up).
 */
static int vm_meta_diff(const edv__kind_ctx *ctx, json_object *observed,
                        json_object **patch, char *text, size_t size)
{
  json_object *md = edv__jget(observed, "metadata");
  json_object *items = edv__jget(md, "items");
  const char *have = edv__jstr(meta_item(items, "startup-script"), "value");
  char *script = strdup(have ? have : "");
  char *name =
      ctx->display_name ? edv__render_name_line(ctx->display_name) : NULL;
  char *tier = edv__render_tier_env(ctx->tier), users[16];
  int n = 0, missing = 0, r, fixed = 0;

  snprintf(users, sizeof(users), "%d", ctx->tier->max_users);
  if (!script || !tier || (ctx->display_name && !name))
    goto out;
  /* A script without the name's line: a difference without a patch. */
  if (name &&
      ((r = script_lines_put(&script, name, &missing)) != 0 || missing)) {
    if (r < 0)
      goto out;
    edv__kind_note(text, size, "display name in the startup script differs");
    n++;
    fixed += r;
  }
  /* Its tier's lines (a script without them is left as it is). */
  if ((r = script_lines_put(&script, tier, &missing)) < 0)
    goto out;
  if (r > 0) {
    edv__kind_note(text, size,
                   "app environment in the startup script: tier -> %s",
                   ctx->tier->name);
    n++;
    fixed += r;
  }
  /* The items, when the observation carries them. */
  r = json_object_is_type(items, json_type_array)
          ? meta_value_diff(items, EDV_META_TIER, ctx->tier->name, text, size) +
                meta_value_diff(items, EDV_META_MAX_USERS, users, text, size)
          : 0;
  n += r;
  fixed += r;
  if (patch && fixed)
    *patch = meta_patch(md, script, ctx->tier->name, users);
out:
  free(script);
  free(name);
  free(tier);
  return n;
}

int edv__kind_disk_diff(const edv__kind_ctx *ctx, json_object *observed,
                        json_object **patch, char *text, size_t size)
{
  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  return compute_labels_diff(ctx, observed, patch, text, size);
}

/*
 * The VM runs with the tier's machine type. The patch is the body of
 * instances.setMachineType (which needs the VM stopped: the step stops
 * it first); a stopped VM is a difference without a patch of its own
 * (instances.start). With the machine type right, what its metadata says
 * of the tenant (display name, tier, licences) is put right in place
 * (setMetadata), then its tier label (setLabels).
 */
int edv__kind_vm_diff(const edv__kind_ctx *ctx, json_object *observed,
                      json_object **patch, char *text, size_t size)
{
  const char *mt = edv__jstr(observed, "machineType");
  const char *st = edv__jstr(observed, "status");
  const char *zone = ctx->zone;
  char have[96], zbuf[96], buf[256];
  int n = 0;

  if (size)
    text[0] = '\0';
  if (patch)
    *patch = NULL;
  edv__url_last_segment(mt ? mt : "", have, sizeof(have));
  if (strcmp(have, ctx->tier->machine_type) != 0) {
    edv__kind_note(text, size, "machine type %.40s -> %s",
                   have[0] ? have : "(none)", ctx->tier->machine_type);
    if (!zone)
      zone = edv__url_last_segment(
          edv__jstr(observed, "zone") ? edv__jstr(observed, "zone") : "", zbuf,
          sizeof(zbuf));
    if (patch) {
      *patch = json_object_new_object();
      snprintf(buf, sizeof(buf), "zones/%s/machineTypes/%s", zone,
               ctx->tier->machine_type);
      json_object_object_add(*patch, "machineType",
                             json_object_new_string(buf));
    }
    n++;
  }
  if (st && strcmp(st, "TERMINATED") == 0) {
    edv__kind_note(text, size, "stopped (TERMINATED) -> running");
    n++;
  }
  n += vm_meta_diff(ctx, observed, patch && !*patch ? patch : NULL, text, size);
  n += compute_labels_diff(ctx, observed, patch && !*patch ? patch : NULL, text,
                           size);
  return n;
}
