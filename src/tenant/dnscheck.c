/*
 * dnscheck.c - the hostname check before a tenant is recorded (see
 * dnscheck.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gcp/gcp.h"
#include "store/store.h"
#include "tenant/dnscheck.h"

#define NAMES 4 /* two hosts, each with its challenge CNAME's name */

typedef struct hcheck {
  edv__fleet *f;
  edv__shared_cb cb;
  void *data;
  int skip; /* recorded and live: nothing to check */
  unsigned n, pending;
  char name[NAMES][EDV_FQDN_MAX + 20];
  const char *field[NAMES];
  edv_error found[NAMES]; /* per name, so the message is the first name's */
  edv_error err;          /* a lookup failed */
  char zone[128];
} hcheck;

static void hc_end(hcheck *hc)
{
  const edv_error *e = hc->err.code ? &hc->err : NULL;

  for (unsigned i = 0; !e && i < hc->n; i++)
    if (hc->found[i].code)
      e = &hc->found[i];
  hc->cb(hc->data, e);
  free(hc);
}

static int hc_get(hcheck *hc, const char *path, const char *label,
                  edv_response_cb cb, void *data)
{
  edv_request rq;

  memset(&rq, 0, sizeof(rq));
  rq.api = EDV_API_DNS;
  rq.method = "GET";
  rq.path = path;
  rq.label = label;
  rq.timeout_ms = 20000;
  return edv_call_submit(edv__fleet_engine(hc->f), &rq, cb, data, NULL);
}

typedef struct hname {
  hcheck *hc;
  unsigned i;
} hname;

static void on_rrsets(void *data, const edv_response *res)
{
  hname *hn = data;
  hcheck *hc = hn->hc;
  unsigned i = hn->i;
  json_object *sets = res->error ? NULL : edv__jget(res->json, "rrsets");

  free(hn);
  if (res->error && !hc->err.code)
    hc->err = *res->error;
  for (size_t k = 0; sets && k < json_object_array_length(sets); k++) {
    json_object *rr = json_object_array_get_idx(sets, k);
    json_object *d = edv__jget(rr, "rrdatas");
    const char *n = edv__jstr(rr, "name"), *t = edv__jstr(rr, "type");
    if (!n || !t || strcasecmp(n, hc->name[i]) != 0)
      continue;
    edv_error_set(&hc->found[i], EDV_ENOTOWNED,
                  "field '%s': DNS name %s already holds a record (%s "
                  "%.80s) that EdVirons did not create; pick another %s",
                  hc->field[i], hc->name[i], t,
                  d && json_object_array_length(d)
                      ? json_object_get_string(json_object_array_get_idx(d, 0))
                      : "",
                  hc->field[i]);
    break;
  }
  if (--hc->pending == 0)
    hc_end(hc);
}

static void on_zones(void *data, const edv_response *res)
{
  hcheck *hc = data;
  json_object *zones = res->error ? NULL : edv__jget(res->json, "managedZones");
  char want[EDV_FQDN_MAX];

  if (res->error) {
    hc->err = *res->error;
    hc_end(hc);
    return;
  }
  snprintf(want, sizeof(want), "%s.", edv__fleet_domain(hc->f));
  for (size_t i = 0; zones && i < json_object_array_length(zones); i++) {
    json_object *z = json_object_array_get_idx(zones, i);
    const char *dn = edv__jstr(z, "dnsName"), *nm = edv__jstr(z, "name");
    if (dn && nm && strcasecmp(dn, want) == 0) {
      snprintf(hc->zone, sizeof(hc->zone), "%s", nm);
      break;
    }
  }
  if (hc->skip || !hc->zone[0]) {
    hc_end(hc);
    return;
  }
  hc->pending = 1; /* guard */
  for (unsigned i = 0; i < hc->n; i++) {
    char path[900], *enc = edv__url_escape(hc->name[i]);
    hname *hn = calloc(1, sizeof(*hn));
    if (!enc || !hn) {
      free(enc);
      free(hn);
      edv_error_set(&hc->err, EDV_ENOMEM, "out of memory");
      break;
    }
    snprintf(path, sizeof(path),
             "/dns/v1/projects/%s/managedZones/%s/rrsets?name=%s",
             edv__fleet_project(hc->f), hc->zone, enc);
    free(enc);
    hn->hc = hc;
    hn->i = i;
    hc->pending++;
    if (hc_get(hc, path, "dns.resourceRecordSets.list", on_rrsets, hn)) {
      hc->pending--;
      free(hn);
      edv_error_set(&hc->err, EDV_ENOMEM, "cannot look the DNS names up");
      break;
    }
  }
  if (--hc->pending == 0)
    hc_end(hc);
}

int edv__fleet_check_hosts(edv__fleet *f, const edv__tenant_spec *spec,
                           edv__shared_cb cb, void *data, edv_error *err)
{
  const char *domain = edv__fleet_domain(f);
  edv__tenant_rec rec;
  hcheck *hc;
  char path[600], want[EDV_FQDN_MAX], *enc;
  int result, hosts;

  result = edv__spec_check_reserved(spec, edv__fleet_reserved_labels(f), err);
  if (result)
    return result;
  hc = calloc(1, sizeof(*hc));
  if (!hc)
    return edv_error_set(err, EDV_ENOMEM, "out of memory");
  hc->f = f;
  hc->cb = cb;
  hc->data = data;
  hc->skip =
      edv__store_tenant_get(edv__fleet_store(f), spec->id, &rec, NULL) == 0 &&
      rec.phase != EDV_PHASE_DELETED;
  hosts = edv__spec_has_alias(spec) ? 2 : 1;
  for (int h = 0; h < hosts; h++) {
    char fqdn[EDV_FQDN_MAX];
    const char *field = h ? "slug" : "id";
    if ((h ? edv__name_dns_alias(spec, domain, fqdn, sizeof(fqdn))
           : edv__name_dns_primary(spec, domain, fqdn, sizeof(fqdn))) != 0) {
      free(hc);
      return edv_error_set(err, EDV_EINVAL,
                           "field '%s': the hostname is too long", field);
    }
    snprintf(hc->name[hc->n], sizeof(hc->name[0]), "%s", fqdn);
    hc->field[hc->n++] = field;
    snprintf(hc->name[hc->n], sizeof(hc->name[0]), "_acme-challenge.%s", fqdn);
    hc->field[hc->n++] = field;
  }
  snprintf(want, sizeof(want), "%s.", domain);
  enc = edv__url_escape(want);
  snprintf(path, sizeof(path), "/dns/v1/projects/%s/managedZones?dnsName=%s",
           edv__fleet_project(f), enc ? enc : want);
  free(enc);
  if (hc_get(hc, path, "dns.managedZones.list", on_zones, hc)) {
    free(hc);
    return edv_error_set(err, EDV_ENOMEM, "cannot look the DNS zone up");
  }
  return 0;
}
