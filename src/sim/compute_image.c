/*
 * compute_image.c - Compute Engine v1 images: the public image projects
 * gcloud lists (seeded, read-only) and the project's own images, which a
 * platform team publishes as tenant images (insert from a rawDisk or a
 * sourceDisk, get, getFromFamily, list, deprecate, delete). An image of
 * the project is READY when its insert operation ends; a family resolves
 * to its newest image that is not DEPRECATED, OBSOLETE or DELETED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/compute_vm.h"
#include "sim/schema.h"
#include "sim/sim.h"

#define CP SIM_CVM_CP

/* --- public images ------------------------------------------------------ */

/*
 * The public images: a few real-looking ones in every project `gcloud
 * compute images list` reads (its PUBLIC_IMAGE_PROJECTS), each family's
 * newest READY and older ones deprecated in its favour, as Google does.
 * The debian-12 images are the ones tenant VMs boot.
 */
typedef struct public_image {
  const char *project, *name, *family, *created, *desc, *license;
  const char *replacement; /* deprecated in favour of it, or NULL */
  int size_gb, arm;
} public_image;

static const public_image public_images[] = {
    {"debian-cloud", "debian-12-bookworm-v20261110", "debian-12",
     "2026-11-10T10:00:00.000-08:00",
     "Debian, Debian GNU/Linux, 12 (bookworm), amd64 built on 20261110",
     "debian-12-bookworm", NULL, 10, 0},
    {"debian-cloud", "debian-12-bookworm-v20261015", "debian-12",
     "2026-10-15T10:00:00.000-07:00",
     "Debian, Debian GNU/Linux, 12 (bookworm), amd64 built on 20261015",
     "debian-12-bookworm", "debian-12-bookworm-v20261110", 10, 0},
    {"debian-cloud", "debian-12-bookworm-arm64-v20261110", "debian-12-arm64",
     "2026-11-10T10:00:00.000-08:00",
     "Debian, Debian GNU/Linux, 12 (bookworm), arm64 built on 20261110",
     "debian-12-bookworm", NULL, 10, 1},
    {"debian-cloud", "debian-11-bullseye-v20261110", "debian-11",
     "2026-11-10T10:00:00.000-08:00",
     "Debian, Debian GNU/Linux, 11 (bullseye), amd64 built on 20261110",
     "debian-11-bullseye", NULL, 10, 0},
    {"ubuntu-os-cloud", "ubuntu-2404-noble-amd64-v20261105",
     "ubuntu-2404-lts-amd64", "2026-11-05T09:12:41.000-08:00",
     "Canonical, Ubuntu, 24.04 LTS, amd64 noble image built on 2026-11-05",
     "ubuntu-2404-lts", NULL, 10, 0},
    {"ubuntu-os-cloud", "ubuntu-2404-noble-amd64-v20261002",
     "ubuntu-2404-lts-amd64", "2026-10-02T10:03:19.000-07:00",
     "Canonical, Ubuntu, 24.04 LTS, amd64 noble image built on 2026-10-02",
     "ubuntu-2404-lts", "ubuntu-2404-noble-amd64-v20261105", 10, 0},
    {"ubuntu-os-cloud", "ubuntu-2204-jammy-v20261105", "ubuntu-2204-lts",
     "2026-11-05T09:10:02.000-08:00",
     "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image built on 2026-11-05",
     "ubuntu-2204-lts", NULL, 10, 0},
    {"ubuntu-os-pro-cloud", "ubuntu-pro-2404-noble-amd64-v20261105",
     "ubuntu-pro-2404-lts-amd64", "2026-11-05T11:40:00.000-08:00",
     "Canonical, Ubuntu Pro, 24.04 LTS, amd64 noble image built on "
     "2026-11-05",
     "ubuntu-pro-2404-lts", NULL, 10, 0},
    {"ubuntu-os-accelerator-images",
     "ubuntu-accelerator-2404-amd64-with-nvidia-570-v20261104",
     "ubuntu-accelerator-2404-amd64-with-nvidia-570",
     "2026-11-04T08:00:00.000-08:00",
     "Canonical, Ubuntu, 24.04 LTS, amd64 with NVIDIA 570 built on "
     "2026-11-04",
     "ubuntu-2404-lts", NULL, 50, 0},
    {"cos-cloud", "cos-121-18867-199-38", "cos-121-lts",
     "2026-11-03T14:22:05.000-08:00",
     "Container-Optimized OS 121-18867.199.38 LTS, Kernel: COS-6.6.93",
     "cos-pcid", NULL, 10, 0},
    {"cos-cloud", "cos-stable-125-19216-104-26", "cos-stable",
     "2026-11-06T16:01:44.000-08:00",
     "Container-Optimized OS 125-19216.104.26 stable, Kernel: COS-6.12.40",
     "cos-pcid", NULL, 10, 0},
    {"centos-cloud", "centos-stream-9-v20261104", "centos-stream-9",
     "2026-11-04T12:31:08.000-08:00",
     "CentOS, CentOS, Stream 9, x86_64 built on 20261104", "centos-stream",
     NULL, 20, 0},
    {"rocky-linux-cloud", "rocky-linux-9-optimized-gcp-v20261105",
     "rocky-linux-9-optimized-gcp", "2026-11-05T13:05:51.000-08:00",
     "Rocky Linux, Rocky Linux, 9, x86_64 optimized for GCP built on "
     "20261105",
     "rocky-linux-9-optimized-gcp", NULL, 20, 0},
    {"rocky-linux-cloud", "rocky-linux-8-optimized-gcp-v20261105",
     "rocky-linux-8-optimized-gcp", "2026-11-05T13:02:27.000-08:00",
     "Rocky Linux, Rocky Linux, 8, x86_64 optimized for GCP built on "
     "20261105",
     "rocky-linux-8-optimized-gcp", NULL, 20, 0},
    {"rocky-linux-accelerator-cloud",
     "rocky-linux-9-optimized-gcp-nvidia-570-v20261105",
     "rocky-linux-9-optimized-gcp-nvidia-570", "2026-11-05T14:00:00.000-08:00",
     "Rocky Linux 9 optimized for GCP with NVIDIA 570 built on 20261105",
     "rocky-linux-9-optimized-gcp", NULL, 50, 0},
    {"fedora-coreos-cloud", "fedora-coreos-42-20261020-3-0-gcp-x86-64",
     "fedora-coreos-stable", "2026-10-21T05:31:42.000-07:00",
     "Fedora CoreOS stable 42.20261020.3.0", "fedora-coreos-stable", NULL, 10,
     0},
    {"opensuse-cloud", "opensuse-leap-15-6-v20261030-x86-64",
     "opensuse-leap-x86-64", "2026-10-30T07:45:10.000-07:00",
     "openSUSE Leap 15.6 (x86_64) built on 20261030", "opensuse-leap", NULL, 10,
     0},
    {"oracle-linux-cloud", "oracle-linux-9-v20261028", "oracle-linux-9",
     "2026-10-28T09:15:00.000-07:00",
     "Oracle, Oracle Linux, 9, x86_64 built on 20261028", "oracle-linux-9",
     NULL, 20, 0},
    {"rhel-cloud", "rhel-9-v20261104", "rhel-9",
     "2026-11-04T11:20:33.000-08:00",
     "Red Hat, Red Hat Enterprise Linux, 9, x86_64 built on 20261104",
     "rhel-9-server", NULL, 20, 0},
    {"rhel-sap-cloud", "rhel-9-4-sap-v20261104", "rhel-9-4-sap-ha",
     "2026-11-04T11:40:12.000-08:00",
     "Red Hat, Red Hat Enterprise Linux for SAP with HA and Update "
     "Services, 9.4, x86_64 built on 20261104",
     "rhel-9-sap", NULL, 20, 0},
    {"suse-cloud", "sles-15-sp6-v20261031-x86-64", "sles-15-x86-64",
     "2026-10-31T08:01:55.000-07:00",
     "SUSE, SUSE Linux Enterprise Server 15 SP6, x86-64 built on 20261031",
     "sles-15", NULL, 10, 0},
    {"suse-sap-cloud", "sles-15-sp6-sap-v20261031-x86-64",
     "sles-15-sp6-sap-x86-64", "2026-10-31T08:20:10.000-07:00",
     "SUSE, SUSE Linux Enterprise Server 15 SP6 for SAP, x86-64 built on "
     "20261031",
     "sles-sap-15", NULL, 10, 0},
    {"windows-cloud", "windows-server-2025-dc-v20261112", "windows-2025",
     "2026-11-12T12:03:11.000-08:00",
     "Microsoft, Windows Server, 2025, Server with Desktop Experience, x64 "
     "built on 20261112",
     "windows-server-2025-dc", NULL, 50, 0},
    {"windows-cloud", "windows-server-2022-dc-v20261112", "windows-2022",
     "2026-11-12T11:58:40.000-08:00",
     "Microsoft, Windows Server, 2022, Server with Desktop Experience, x64 "
     "built on 20261112",
     "windows-server-2022-dc", NULL, 50, 0},
    {"windows-sql-cloud", "sql-2022-standard-windows-2022-dc-v20261112",
     "sql-std-2022-win-2022", "2026-11-12T13:30:00.000-08:00",
     "Microsoft, SQL Server 2022 Standard, on Windows Server 2022 built on "
     "20261112",
     "sql-server-2022-standard", NULL, 50, 0},
};

#define N_PUBLIC_IMAGES (sizeof(public_images) / sizeof(*public_images))

/* 0 when {project} is ours or a public image project, else 404 filled. */
static int image_project_ok(sim *s, sim_req *req, sim_resp *resp)
{
  const char *p = sim_param(req, "project");

  for (size_t i = 0; p && i < N_PUBLIC_IMAGES; i++)
    if (strcmp(p, public_images[i].project) == 0)
      return 0;
  return sim_check_project(s, req, resp);
}

/* 1 when the image is DEPRECATED, OBSOLETE or DELETED (not ACTIVE). */
static int image_deprecated(json_object *img)
{
  const char *st =
      sim_cvm_str(json_object_object_get(img, "deprecated"), "state");

  return st && strcmp(st, "ACTIVE") != 0;
}

struct family_ctx {
  const char *family;
  json_object *best;
};

static int family_cb(void *data, const char *name, const char *kind,
                     json_object *obj)
{
  struct family_ctx *c = data;
  const char *fam = sim_cvm_str(obj, "family");

  (void)name;
  if (strcmp(kind, "compute#image") != 0 || fam == NULL ||
      strcmp(fam, c->family) != 0 || image_deprecated(obj))
    return 0;
  /* Newest creationTimestamp wins, as getFromFamily documents. */
  if (c->best == NULL || strcmp(sim_cvm_str(obj, "creationTimestamp"),
                                sim_cvm_str(c->best, "creationTimestamp")) > 0)
    c->best = obj;
  return 0;
}

json_object *sim_cvm_image_resolve(sim *s, const char *name)
{
  const char *fam = strstr(name, "/global/images/family/");
  const char *view = strstr(name, "/imageFamilyViews/");
  struct family_ctx c;
  char prefix[300];

  /* gcloud sends --image-family as a zonal family view
   * ("projects/P/zones/-/imageFamilyViews/F"); it names the same image as
   * ".../global/images/family/F". */
  if (fam == NULL && view != NULL) {
    const char *zones = strstr(name, "/zones/");
    if (zones == NULL || zones > view)
      return NULL;
    snprintf(prefix, sizeof(prefix), "%.*s/global/images/", (int)(zones - name),
             name);
    c.family = view + strlen("/imageFamilyViews/");
    c.best = NULL;
    sim_store_each(s, prefix, family_cb, &c);
    return c.best;
  }
  if (fam == NULL)
    return sim_store_get(s, name);
  snprintf(prefix, sizeof(prefix), "%.*s/global/images/", (int)(fam - name),
           name);
  c.family = fam + strlen("/global/images/family/");
  c.best = NULL;
  sim_store_each(s, prefix, family_cb, &c);
  return c.best;
}

static int images_get(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *img;
  int result;

  if (image_project_ok(s, req, resp) < 0)
    return SIM_DONE;
  name = sim_cvm_name("projects/%s/global/images/%s", sim_param(req, "project"),
                      sim_param(req, "image"));
  img = sim_cvm_image_resolve(s, name);
  result = img ? sim_resp_json(resp, 200, sim_cvm_render(s, img))
               : sim_cvm_not_found(resp, name);
  free(name);
  return result;
}

static int images_from_family(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *img;
  int result;

  if (image_project_ok(s, req, resp) < 0)
    return SIM_DONE;
  name = sim_cvm_name("projects/%s/global/images/family/%s",
                      sim_param(req, "project"), sim_param(req, "family"));
  img = sim_cvm_image_resolve(s, name);
  result = img ? sim_resp_json(resp, 200, sim_cvm_render(s, img))
               : sim_cvm_not_found(resp, name);
  free(name);
  return result;
}

/*
 * imageFamilyViews.get: the family's image as seen from a zone, wrapped in
 * {"image": ...}. gcloud resolves --image-family through it (with zone
 * "-" when it has not picked one yet), so every zone sees the same image
 * here: images are global in the simulator.
 */
static int images_family_view(sim *s, sim_req *req, sim_resp *resp)
{
  char *name;
  json_object *img, *view;

  if (image_project_ok(s, req, resp) < 0)
    return SIM_DONE;
  name = sim_cvm_name("projects/%s/global/images/family/%s",
                      sim_param(req, "project"), sim_param(req, "family"));
  img = sim_cvm_image_resolve(s, name);
  if (!img) {
    int result = sim_cvm_not_found(resp, name);
    free(name);
    return result;
  }
  free(name);
  view = json_object_new_object();
  json_object_object_add(view, "image", sim_cvm_render(s, img));
  return sim_resp_json(resp, 200, view);
}

static int images_list(sim *s, sim_req *req, sim_resp *resp)
{
  char prefix[300];
  char *self;
  json_object *page;

  if (image_project_ok(s, req, resp) < 0)
    return SIM_DONE;
  snprintf(prefix, sizeof(prefix), "projects/%s/global/images/",
           sim_param(req, "project"));
  self = sim_link(SIM_API_COMPUTE, "projects/%s/global/images",
                  sim_param(req, "project"));
  page =
      sim_list_page(s, req, prefix, "compute#image", "compute#imageList", self);
  free(self);
  sim_cvm_render_items(s, page);
  return sim_resp_json(resp, 200, page);
}

static void seed_image(sim *s, const public_image *im)
{
  char key[300], id[24];
  json_object *o = json_object_new_object(), *lic = json_object_new_array(),
              *loc = json_object_new_array();

  snprintf(key, sizeof(key), "projects/%s/global/images/%s", im->project,
           im->name);
  json_object_object_add(o, "kind", json_object_new_string("compute#image"));
  json_object_object_add(o, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(o, "creationTimestamp",
                         json_object_new_string(im->created));
  json_object_object_add(o, "name", json_object_new_string(im->name));
  json_object_object_add(o, "description", json_object_new_string(im->desc));
  json_object_object_add(o, "family", json_object_new_string(im->family));
  json_object_object_add(o, "sourceType", json_object_new_string("RAW"));
  json_object_object_add(o, "status", json_object_new_string("READY"));
  json_object_object_add(o, "archiveSizeBytes",
                         json_object_new_string("1012456320"));
  snprintf(id, sizeof(id), "%d", im->size_gb);
  json_object_object_add(o, "diskSizeGb", json_object_new_string(id));
  json_object_object_add(o, "architecture",
                         json_object_new_string(im->arm ? "ARM64" : "X86_64"));
  json_object_array_add(lic, sim_link_json(SIM_API_COMPUTE,
                                           "projects/%s/global/licenses/%s",
                                           im->project, im->license));
  json_object_object_add(o, "licenses", lic);
  json_object_array_add(loc, json_object_new_string("eu"));
  json_object_array_add(loc, json_object_new_string("us"));
  json_object_array_add(loc, json_object_new_string("asia"));
  json_object_object_add(o, "storageLocations", loc);
  json_object_object_add(o, "labelFingerprint",
                         json_object_new_string("42WmSpB8rSM="));
  json_object_object_add(o, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", key));
  if (im->replacement) {
    json_object *d = json_object_new_object();

    json_object_object_add(d, "state", json_object_new_string("DEPRECATED"));
    json_object_object_add(d, "replacement",
                           sim_link_json(SIM_API_COMPUTE,
                                         "projects/%s/global/images/%s",
                                         im->project, im->replacement));
    json_object_object_add(o, "deprecated", d);
  }
  sim_store_put(s, key, "compute#image", o);
}

/* --- the project's images ----------------------------------------------- */

static char *image_name(sim *s, sim_req *req, const char *param)
{
  return sim_cvm_name("projects/%s/global/images/%s", sim_project(s),
                      sim_param(req, param));
}

/* The source of a new image: exactly one of rawDisk.source, sourceDisk
 * (an existing disk of the project) or sourceImage. 0, or -1 with 400. */
static int image_source(sim *s, sim_resp *resp, json_object *body)
{
  const char *disk = sim_cvm_str(body, "sourceDisk");
  const char *raw =
      sim_cvm_str(json_object_object_get(body, "rawDisk"), "source");
  const char *src = sim_cvm_str(body, "sourceImage");
  char *name;
  int found;

  if (!!disk + !!raw + !!src != 1)
    return sim_err_legacy(resp, 400, "invalid",
                          "Invalid value for field 'resource': ''. Exactly "
                          "one of rawDisk.source, sourceDisk or sourceImage "
                          "must be specified."),
           -1;
  if (raw)
    return 0;
  name = sim_ref_name(s, disk ? disk : src);
  found = name && (disk ? sim_store_get(s, name) != NULL
                        : sim_cvm_image_resolve(s, name) != NULL);
  if (!found)
    sim_cvm_not_found(resp, name ? name : (disk ? disk : src));
  free(name);
  return found ? 0 : -1;
}

static int images_insert(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *img = NULL, *p;
  const char *iname;
  char *full = NULL, id[24], ts[32];
  int result = SIM_DONE;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  if (sim_cvm_check_name(resp, body, &iname) < 0 ||
      sim_cvm_schema(resp, "Image", body) < 0 ||
      image_source(s, resp, body) < 0)
    goto out;
  full = sim_cvm_name("projects/%s/global/images/%s", sim_project(s), iname);
  if (sim_store_get(s, full) || sim_op_pending(s, full)) {
    sim_err_legacy(resp, 409, "alreadyExists",
                   "The resource '%s' already exists", full);
    goto out;
  }
  json_object_deep_copy(body, &img, NULL);
  json_object_object_add(img, "kind", json_object_new_string("compute#image"));
  json_object_object_add(img, "id", json_object_new_string(sim_new_id(s, id)));
  json_object_object_add(img, "creationTimestamp",
                         json_object_new_string(sim_now_str(s, ts)));
  json_object_object_add(img, "status", json_object_new_string("READY"));
  json_object_object_add(img, "sourceType", json_object_new_string("RAW"));
  if (!sim_cvm_str(img, "diskSizeGb"))
    json_object_object_add(img, "diskSizeGb", json_object_new_string("10"));
  json_object_object_add(img, "archiveSizeBytes",
                         json_object_new_string("1073741824"));
  json_object_object_add(img, "labelFingerprint", sim_cvm_fingerprint(s));
  json_object_object_add(img, "selfLink",
                         sim_link_json(SIM_API_COMPUTE, "%s", full));
  p = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string(full));
  json_object_object_add(p, "image", json_object_get(img));
  result =
      sim_cvm_op(s, req, resp, "global", "insert", full, img, SIM_DUR_QUICK, p);
out:
  json_object_put(img);
  free(full);
  return result;
}

static void images_insert_apply(sim *s, sim_op *op, json_object *payload)
{
  if (sim_op_failed(op))
    return;
  sim_store_put(s, sim_cvm_str(payload, "name"), "compute#image",
                json_object_get(json_object_object_get(payload, "image")));
}

static int images_deprecate(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *body = sim_body(req), *o, *p;
  const char *st;
  char *name;
  int result = SIM_DONE;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = image_name(s, req, "image");
  if (!(o = sim_store_get(s, name)))
    result = sim_cvm_not_found(resp, name);
  else if (sim_cvm_schema(resp, "DeprecationStatus", body) == 0) {
    st = sim_cvm_str(body, "state");
    if (st && strcmp(st, "ACTIVE") && strcmp(st, "DEPRECATED") &&
        strcmp(st, "OBSOLETE") && strcmp(st, "DELETED")) {
      sim_err_legacy(resp, 400, "invalid",
                     "Invalid value for field 'resource.state': '%s'.", st);
      goto out;
    }
    p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    json_object_object_add(p, "deprecated", json_object_get(body));
    result = sim_cvm_op(s, req, resp, "global", "deprecate", name, o,
                        SIM_DUR_INSTANT, p);
  }
out:
  free(name);
  return result;
}

static void images_deprecate_apply(sim *s, sim_op *op, json_object *payload)
{
  json_object *o = sim_store_get(s, sim_cvm_str(payload, "name"));
  json_object *d = json_object_object_get(payload, "deprecated");
  const char *st = sim_cvm_str(d, "state");

  if (o == NULL || sim_op_failed(op))
    return;
  /* ACTIVE (or no state) takes the deprecation away. */
  if (!st || strcmp(st, "ACTIVE") == 0)
    json_object_object_del(o, "deprecated");
  else
    json_object_object_add(o, "deprecated", json_object_get(d));
}

static int images_delete(sim *s, sim_req *req, sim_resp *resp)
{
  json_object *o, *p;
  char *name;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = image_name(s, req, "image");
  if (!(o = sim_store_get(s, name))) {
    result = sim_cvm_not_found(resp, name);
  } else {
    p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    result =
        sim_cvm_op(s, req, resp, "global", "delete", name, o, SIM_DUR_QUICK, p);
  }
  free(name);
  return result;
}

static void images_delete_apply(sim *s, sim_op *op, json_object *payload)
{
  if (!sim_op_failed(op))
    sim_store_del(s, sim_cvm_str(payload, "name"));
}

/* --- table -------------------------------------------------------------- */

static const sim_route image_routes[] = {
    {"GET", CP "/global/images", "compute.images.list", images_list, NULL, 0,
     NULL},
    {"GET", CP "/global/images/{image}", "compute.images.get", images_get, NULL,
     0, NULL},
    {"GET", CP "/zones/{zone}/imageFamilyViews/{family}",
     "compute.imageFamilyViews.get", images_family_view, NULL, 0, NULL},
    {"GET", CP "/global/images/family/{family}", "compute.images.getFromFamily",
     images_from_family, NULL, 0, NULL},
    {"POST", CP "/global/images", "compute.images.insert", images_insert,
     images_insert_apply, 0, NULL},
    {"POST", CP "/global/images/{image}/deprecate", "compute.images.deprecate",
     images_deprecate, images_deprecate_apply, 0, NULL},
    {"DELETE", CP "/global/images/{image}", "compute.images.delete",
     images_delete, images_delete_apply, 0, NULL},
};

int sim_cvm_image_init(sim *s)
{
  return sim_register(s, SIM_API_COMPUTE, image_routes,
                      sizeof(image_routes) / sizeof(*image_routes));
}

void sim_cvm_image_seed(sim *s)
{
  for (size_t i = 0; i < N_PUBLIC_IMAGES; i++)
    seed_image(s, &public_images[i]);
}
