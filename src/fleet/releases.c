/*
 * releases.c - releases: what tenant VMs run (edv/fleet.h, "Releases").
 *
 * A release is an app version and the tenant image that holds it, in the
 * project of config release.image_project (default: the fleet's). Its
 * image is checked through the Compute API (images.get, or
 * images.getFromFamily for a family) before anything is recorded: it must
 * exist, be READY and be neither DEPRECATED, OBSOLETE nor DELETED. A family
 * is resolved then, once: the release records the image that was the
 * family's newest, so that every VM of the release boots the same bits.
 * The fleet's current release (what new tenants get) is the newest one.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "fleet/fleet.h"

#define REL_VERSION_MAX 40

typedef struct rel_op {
  edv_fleet *f;
  edv__release_rec rec;
  const char *field; /* "image" or "image_family" */
  char project[128];
  char path[512];
  edv_fleet_cb cb;
  void *data;
} rel_op;

/* "1.4.0", "2.0.0-rc.1": three numbers, then an optional pre-release of
 * [0-9a-z.-] (lower case: the version also names a VM label value). */
int edv__release_version_ok(const char *v)
{
  const char *p = v;
  size_t n = v ? strlen(v) : 0;

  if (n == 0 || n > REL_VERSION_MAX)
    return 0;
  for (int part = 0; part < 3; part++) {
    if (!isdigit((unsigned char)*p))
      return 0;
    while (isdigit((unsigned char)*p))
      p++;
    if (part < 2 && *p++ != '.')
      return 0;
  }
  if (*p == '\0')
    return 1;
  if (*p++ != '-' || !*p)
    return 0;
  for (; *p; p++)
    if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
        *p != '.' && *p != '-')
      return 0;
  return 1;
}

/* A Compute resource name: [a-z]([-a-z0-9]{0,61}[a-z0-9])?. */
static int rel_name_ok(const char *s)
{
  size_t n = strlen(s);

  if (n == 0 || n > 63 || !islower((unsigned char)s[0]) || s[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
        s[i] != '-')
      return 0;
  return 1;
}

static int rel_string(json_object *spec, const char *key, const char **out,
                      edv_error *err)
{
  json_object *v;

  *out = NULL;
  if (!json_object_object_get_ex(spec, key, &v) ||
      json_object_is_type(v, json_type_null))
    return 0;
  if (!json_object_is_type(v, json_type_string))
    return edv_error_set(err, EDV_EINVAL, "field '%s' must be a string", key);
  *out = json_object_get_string(v);
  return 0;
}

/* Checks the spec {version, image | image_family[, notes]} into op. */
static int rel_check(rel_op *op, json_object *spec, edv_error *err)
{
  const char *version, *image, *family, *notes, *name;

  if (!json_object_is_type(spec, json_type_object))
    return edv_error_set(err, EDV_EINVAL, "the release must be a JSON object");
  json_object_object_foreach(spec, key, val)
  {
    (void)val;
    if (strcmp(key, "version") && strcmp(key, "image") &&
        strcmp(key, "image_family") && strcmp(key, "notes"))
      return edv_error_set(err, EDV_EINVAL,
                           "field '%.64s' is not known (allowed: version, "
                           "image, image_family, notes)",
                           key);
  }
  if (rel_string(spec, "version", &version, err) ||
      rel_string(spec, "image", &image, err) ||
      rel_string(spec, "image_family", &family, err) ||
      rel_string(spec, "notes", &notes, err))
    return EDV_EINVAL;
  if (!version)
    return edv_error_set(err, EDV_EINVAL, "field 'version' is missing");
  if (!edv__release_version_ok(version))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'version': '%.64s' is not a version "
                         "(MAJOR.MINOR.PATCH[-PRERELEASE], lower case, at "
                         "most %d characters)",
                         version, REL_VERSION_MAX);
  if (!image == !family)
    return edv_error_set(err, EDV_EINVAL,
                         "field 'image': give exactly one of image and "
                         "image_family");
  op->field = image ? "image" : "image_family";
  name = image ? image : family;
  if (!rel_name_ok(name))
    return edv_error_set(err, EDV_EINVAL,
                         "field '%s': '%.64s' is not an image name", op->field,
                         name);
  if (notes && strlen(notes) >= sizeof(op->rec.notes))
    return edv_error_set(err, EDV_EINVAL,
                         "field 'notes': at most %zu characters",
                         sizeof(op->rec.notes) - 1);
  for (const char *p = notes; p && *p; p++)
    if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
      return edv_error_set(err, EDV_EINVAL,
                           "field 'notes': control characters are not "
                           "allowed");
  snprintf(op->rec.version, sizeof(op->rec.version), "%s", version);
  snprintf(op->rec.family, sizeof(op->rec.family), "%s", family ? family : "");
  snprintf(op->rec.notes, sizeof(op->rec.notes), "%s", notes ? notes : "");
  snprintf(op->path, sizeof(op->path),
           image ? "/compute/v1/projects/%s/global/images/%s"
                 : "/compute/v1/projects/%s/global/images/family/%s",
           op->project, name);
  return 0;
}

/* The image as Compute answered it: usable for a release, or why not. */
static int rel_image_usable(rel_op *op, json_object *img, edv_error *err)
{
  const char *name = edv__jstr(img, "name"), *status = edv__jstr(img, "status"),
             *dep = edv__jstr(edv__jget(img, "deprecated"), "state");

  if (!name)
    return edv_error_set(err, EDV_EUNAVAIL,
                         "field '%s': the Compute API answered no image name",
                         op->field);
  if (dep && strcmp(dep, "ACTIVE") != 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field '%s': image '%s' of project '%s' is %s; "
                         "publish a new image for the release",
                         op->field, name, op->project, dep);
  if (!status || strcmp(status, "READY") != 0)
    return edv_error_set(err, EDV_EINVAL,
                         "field '%s': image '%s' of project '%s' is %s, not "
                         "READY",
                         op->field, name, op->project,
                         status ? status : "without a status");
  snprintf(op->rec.image, sizeof(op->rec.image), "projects/%s/global/images/%s",
           op->project, name);
  return 0;
}

static void rel_on_image(void *data, const edv_response *res)
{
  rel_op *op = data;
  edv__release_rec cur;
  json_object *doc;
  edv_error err;

  if (res->error && res->error->code == EDV_ENOTFOUND)
    edv_error_set(&err, EDV_EINVAL,
                  "field '%s': %s '%s' not found in project '%s'", op->field,
                  strcmp(op->field, "image") ? "image family" : "image",
                  strrchr(op->path, '/') + 1, op->project);
  else if (res->error)
    edv_error_set(&err, res->error->code, "cannot check the image: %s",
                  res->error->message);
  if (res->error || rel_image_usable(op, res->json, &err) ||
      edv__store_release_put(op->f->store, &op->rec, &err) ||
      edv__store_release_get(op->f->store, op->rec.version, &op->rec, &err) ||
      edv__store_release_current(op->f->store, &cur, &err)) {
    op->cb(op->data, NULL, &err);
    free(op);
    return;
  }
  doc = edv__view_release(&op->rec, strcmp(cur.version, op->rec.version) == 0);
  op->cb(op->data, doc, NULL);
  json_object_put(doc);
  free(op);
}

int edv_release_create(edv_fleet *f, json_object *spec, edv_fleet_cb cb,
                       void *data, edv_error *err)
{
  const char *p =
      f->cfg ? edv_config_get(f->cfg, "release.image_project") : NULL;
  const char *own = edv__fleet_project(f->machine);
  edv__release_rec old;
  edv_request rq;
  rel_op *op;
  int result;

  if (!spec || !cb)
    return edv_error_set(err, EDV_EINVAL,
                         "a release and a callback are needed");
  if (f->closing || f->stopping)
    return edv_error_set(err, EDV_EUNAVAIL, "the fleet is closing");
  if (!(p && p[0]) && !(own && own[0]))
    return edv_error_set(err, EDV_ECONFIG,
                         "no project: set project (or release.image_project)");
  if (!(op = calloc(1, sizeof(*op))))
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  snprintf(op->project, sizeof(op->project), "%s", p && p[0] ? p : own);
  if ((result = rel_check(op, spec, err)) != 0) {
    free(op);
    return result;
  }
  /* A known version is refused before any call (and again at the write). */
  if (edv__store_release_get(f->store, op->rec.version, &old, NULL) == 0) {
    free(op);
    return edv_error_set(err, EDV_EEXIST,
                         "field 'version': release '%s' already exists",
                         old.version);
  }
  op->f = f;
  op->cb = cb;
  op->data = data;
  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_COMPUTE;
  rq.method = "GET";
  rq.path = op->path;
  rq.label = strcmp(op->field, "image") ? "compute.images.getFromFamily"
                                        : "compute.images.get";
  rq.timeout_ms = 20000;
  if (edv_call_submit(f->engine, &rq, rel_on_image, op, NULL)) {
    free(op);
    return edv_error_set(err, EDV_EUNAVAIL, "cannot check the image now");
  }
  return 0;
}

static int rel_list_one(void *data, const edv__release_rec *rec)
{
  json_object_array_add(data, edv__view_release(rec, 0));
  return 0;
}

int edv_release_list(edv_fleet *f, edv_fleet_cb cb, void *data, edv_error *err)
{
  json_object *doc, *arr = json_object_new_array(), *last;
  size_t n;
  int result;

  if (!cb)
    return edv_error_set(err, EDV_EINVAL, "a callback is needed");
  if ((result = edv__store_release_list(f->store, rel_list_one, arr, err))) {
    json_object_put(arr);
    return result;
  }
  /* The newest is the current one. */
  n = json_object_array_length(arr);
  last = n ? json_object_array_get_idx(arr, n - 1) : NULL;
  if (last)
    json_object_object_add(last, "current", json_object_new_boolean(1));
  doc = json_object_new_object();
  json_object_object_add(doc, "releases", arr);
  json_object_object_add(
      doc, "current",
      last ? json_object_get(json_object_object_get(last, "version")) : NULL);
  result = edv__fleet_answer_later(f, cb, data, doc, NULL, err);
  json_object_put(doc);
  return result;
}
