/*
 * compute_guest.c - Compute Engine v1 instances.getGuestAttributes: what a
 * VM's guest wrote under its guest attributes (docs/simulator.md, "Guest
 * attributes").
 *
 * No guest runs here, so the one attribute the tenant startup script
 * writes is derived when read, the way the script derives it: once the
 * instance has booted (RUNNING for its boot delay since its last start or
 * reset, the boot model of compute_health.c) with a startup-script and
 * metadata enable-guest-attributes TRUE, edvirons/app-version holds the
 * app version it started. A boot disk made from an image of the project
 * (a tenant image, which holds the app of the release that names it)
 * reports the VM's metadata edv-release; any other image (the public
 * Debian one) has no app and reports "none".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/compute_vm.h"
#include "sim/sim.h"

#define CP SIM_CVM_CP

#define GUEST_NS  "edvirons"
#define GUEST_KEY "app-version"

static uint64_t guest_priv(json_object *inst, const char *key)
{
  json_object *v =
      json_object_object_get(json_object_object_get(inst, "_sim"), key);

  return v ? (uint64_t)json_object_get_int64(v) : 0;
}

/* The image the instance's boot disk was made from (canonical), or NULL;
 * malloc'd. */
static char *guest_boot_image(sim *s, json_object *inst)
{
  json_object *disks = json_object_object_get(inst, "disks"), *disk;
  char *dname, *img;

  if (sim_cvm_len(disks) == 0)
    return NULL;
  dname = sim_ref_name(
      s, sim_cvm_str(json_object_array_get_idx(disks, 0), "source"));
  disk = dname ? sim_store_get(s, dname) : NULL;
  free(dname);
  img = sim_cvm_str(disk, "sourceImage")
            ? sim_ref_name(s, sim_cvm_str(disk, "sourceImage"))
            : NULL;
  return img;
}

/* The app version the startup script has reported, or NULL (not yet). */
static const char *guest_app_version(sim *s, json_object *inst, char *buf,
                                     size_t size)
{
  const char *on = sim_cvm_metadata(inst, "enable-guest-attributes");
  const char *script = sim_cvm_metadata(inst, "startup-script");
  const char *release = sim_cvm_metadata(inst, "edv-release");
  char *img, own[200];
  int tenant_image;

  if (!on || strcasecmp(on, "TRUE") != 0 || !script || !script[0] ||
      strcmp(sim_cvm_instance_status(s, inst), "RUNNING") != 0 ||
      sim_now_ms(s) < guest_priv(inst, "startMs") + guest_priv(inst, "bootMs"))
    return NULL;
  img = guest_boot_image(s, inst);
  snprintf(own, sizeof(own), "projects/%s/global/images/", sim_project(s));
  tenant_image = img && strncmp(img, own, strlen(own)) == 0;
  free(img);
  snprintf(buf, size, "%s",
           !tenant_image           ? "none"
           : release && release[0] ? release
                                   : "unknown");
  return buf;
}

static int guest_get(sim *s, sim_req *req, sim_resp *resp)
{
  const char *zone = sim_param(req, "zone"),
             *path = sim_query(req, "queryPath"),
             *var = sim_query(req, "variableKey"), *v;
  json_object *inst, *out, *val, *items, *e;
  char *name, buf[64], want[] = GUEST_NS "/" GUEST_KEY;
  int result;

  if (sim_check_project(s, req, resp) < 0)
    return SIM_DONE;
  name = sim_cvm_name("projects/%s/zones/%s/instances/%s", sim_project(s), zone,
                      sim_param(req, "instance"));
  inst = sim_store_get(s, name);
  v = inst ? guest_app_version(s, inst, buf, sizeof(buf)) : NULL;
  /* Only what the queried path or key covers; nothing written: 404. */
  if (v && var && strcmp(var, want) != 0)
    v = NULL;
  if (v && path && strncmp(want, path, strlen(path)) != 0)
    v = NULL;
  if (!v) {
    char gname[700];
    snprintf(gname, sizeof(gname), "%s/guestAttributes/%s", name,
             var    ? var
             : path ? path
                    : "");
    result = sim_cvm_not_found(resp, inst ? gname : name);
    free(name);
    return result;
  }
  out = json_object_new_object();
  json_object_object_add(out, "kind",
                         json_object_new_string("compute#guestAttributes"));
  if (var) {
    json_object_object_add(out, "variableKey", json_object_new_string(var));
    json_object_object_add(out, "variableValue", json_object_new_string(v));
  } else {
    json_object_object_add(out, "queryPath",
                           json_object_new_string(path ? path : ""));
    e = json_object_new_object();
    json_object_object_add(e, "namespace", json_object_new_string(GUEST_NS));
    json_object_object_add(e, "key", json_object_new_string(GUEST_KEY));
    json_object_object_add(e, "value", json_object_new_string(v));
    items = json_object_new_array();
    json_object_array_add(items, e);
    val = json_object_new_object();
    json_object_object_add(val, "items", items);
    json_object_object_add(out, "queryValue", val);
  }
  json_object_object_add(
      out, "selfLink",
      sim_link_json(SIM_API_COMPUTE, "%s/getGuestAttributes", name));
  free(name);
  return sim_resp_json(resp, 200, out);
}

static const sim_route guest_routes[] = {
    {"GET", CP "/zones/{zone}/instances/{instance}/getGuestAttributes",
     "compute.instances.getGuestAttributes", guest_get, NULL, 0, NULL},
};

int sim_cvm_guest_init(sim *s)
{
  return sim_register(s, SIM_API_COMPUTE, guest_routes, 1);
}
