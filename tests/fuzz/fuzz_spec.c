/*
 * fuzz_spec.c - tenant specs (src/tenant/spec.c) as the Management API
 * and `edvctl tenant create` take them: read from JSON, validated against
 * the repository's tiers.json and a platform domain, then used: written
 * back (the round trip must give the same spec), every resource name,
 * the labels and the description marker, and the files rendered for the
 * VM (render.c). Also the ownership checks the drift pass applies to
 * labels and descriptions read back from Google.
 *
 * Input: the first line is the platform domain, the rest a JSON object:
 * the spec, optionally with "labels" and "description" members (those are
 * removed before the spec is read and fed to the ownership checks).
 */
#include <stdio.h>

#include "fuzz.h"
#include "tenant/render.h"
#include "tenant/spec.h"
#include "tenant/tiers.h"

static edv__tiers *tiers;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  edv_error err;

  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  if (edv__tiers_load_file(FUZZ_TIERS_JSON, &tiers, &err) != 0) {
    fprintf(stderr, "fuzz_spec: %s\n", err.message);
    abort();
  }
  return 0;
}

static void use_names(const edv__tenant_spec *sp, const char *domain)
{
  char buf[EDV_FQDN_MAX], id[EDV_NAME_MAX];
  json_object *labels;

  (void)edv__name_subnet(sp->id, buf, sizeof(buf));
  (void)edv__name_firewall(sp->id, EDV_FIREWALL_DENY_INGRESS, buf, sizeof(buf));
  (void)edv__name_service_account_email(sp->id, "edv-prod", buf, sizeof(buf));
  (void)edv__name_sql_instance(sp->id, 3, buf, sizeof(buf));
  (void)edv__name_vm(sp->id, buf, sizeof(buf));
  (void)edv__name_cert_map_entry(sp->id, EDV_HOST_ALIAS, buf, sizeof(buf));
  (void)edv__name_dns_authorization(sp->id, EDV_HOST_PRIMARY, buf, sizeof(buf));
  (void)edv__name_dns_primary(sp, domain, buf, sizeof(buf));
  if (edv__spec_has_alias(sp))
    (void)edv__name_dns_alias(sp, domain, buf, sizeof(buf));
  labels = edv__tenant_labels(sp->id, sp->tier);
  if (edv__labels_owner(labels, id, sizeof(id)) != 1 || strcmp(id, sp->id))
    abort(); /* our own labels must say the tenant is ours */
  json_object_put(labels);
  (void)edv__tenant_description(sp->id, buf, sizeof(buf));
  if (edv__description_owner(buf, id, sizeof(id)) != 1 || strcmp(id, sp->id))
    abort();
}

static void render(const edv__tenant_spec *sp, const char *domain)
{
  edv__render_in in = {
      .spec = sp,
      .tier = edv__tiers_find(tiers, sp->tier),
      .project = "edv-prod",
      .domain = domain,
      .db_host = "10.20.0.3",
      .db_instance = "edv-t-x-sql-1",
      .secret = "projects/edv-prod/secrets/edv-t-x-db",
  };

  if (!in.tier)
    return;
  free(edv__render_env(&in));
  free(edv__render_nginx(&in));
  free(edv__render_app_unit(&in));
  free(edv__render_migrate_unit(&in));
  free(edv__render_startup(&in));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  edv__tenant_spec sp, back;
  edv_error err;
  json_object *obj, *v, *again;
  char *s, *rest, id[EDV_NAME_MAX];
  size_t rest_len;

  if (size > 16 * 1024)
    return 0;
  s = fuzz_str(data, size);
  rest = fuzz_split(s, size, &rest_len);
  obj = fuzz_json(rest, rest_len);
  if (!obj || !json_object_is_type(obj, json_type_object))
    goto out;
  if (json_object_object_get_ex(obj, "labels", &v)) {
    (void)edv__labels_owner(v, id, sizeof(id));
    json_object_object_del(obj, "labels");
  }
  if (json_object_object_get_ex(obj, "description", &v)) {
    (void)edv__description_owner(json_object_get_string(v), id, sizeof(id));
    json_object_object_del(obj, "description");
  }
  if (edv__spec_from_json(obj, &sp, &err) != 0)
    goto out;
  again = edv__spec_to_json(&sp);
  if (edv__spec_from_json(again, &back, &err) != 0 ||
      !edv__spec_equal(&sp, &back))
    abort(); /* a spec we read must read back the same */
  json_object_put(again);
  if (edv__spec_validate(&sp, tiers, NULL, NULL,
                         edv__dns_domain_valid(s) ? s : NULL, &err) == 0) {
    use_names(&sp, edv__dns_domain_valid(s) ? s : "edvirons.com");
    render(&sp, edv__dns_domain_valid(s) ? s : "edvirons.com");
  }
out:
  json_object_put(obj);
  free(s);
  return 0;
}
