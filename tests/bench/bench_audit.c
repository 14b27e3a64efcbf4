/*
 * bench_audit.c - the isolation audit's cost over a crafted fleet of N
 * tenants as the tenant plan makes them (4 firewall rules, a VM and a
 * Cloud SQL instance each), plus one rule a tenant that opens nothing
 * (the worst case keeps its findings empty). Prints the time of one
 * edv__audit() and its findings.
 *
 *   bench-audit [N]   (default 200)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <json-c/json.h>

#include "tenant/audit.h"
#include "tenant/machine.h"

#define NET "projects/p/global/networks/edv-tenants"

static json_object *parse(const char *s)
{
  json_object *o = json_tokener_parse(s);

  if (!o) {
    fprintf(stderr, "bad JSON: %s\n", s);
    exit(1);
  }
  return o;
}

int main(int argc, char **argv)
{
  unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200;
  json_object *fw = json_object_new_array(), *vms = json_object_new_array();
  json_object *dbs = json_object_new_array(), *r;
  edv__audit_in in = {fw, vms, dbs};
  struct timespec t0, t1;
  char b[2048];

  for (unsigned i = 0; i < n; i++) {
    unsigned vm = 0x0a400002u + 16 * i, db = 0x0a600003u + i;
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-allow-lb\",\"network\":\"" NET "\","
             "\"priority\":1000,\"targetTags\":[\"edv-t%u\"],\"allowed\":[{"
             "\"IPProtocol\":\"tcp\",\"ports\":[\"80\"]}],\"sourceRanges\":["
             "\"35.191.0.0/16\",\"130.211.0.0/22\"]}",
             i, i);
    json_object_array_add(fw, parse(b));
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-deny-ingress\",\"network\":\"" NET "\","
             "\"priority\":65000,\"targetTags\":[\"edv-t%u\"],\"denied\":[{"
             "\"IPProtocol\":\"all\"}],\"sourceRanges\":[\"0.0.0.0/0\"]}",
             i, i);
    json_object_array_add(fw, parse(b));
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-allow-db-egress\",\"network\":\"" NET "\","
             "\"direction\":\"EGRESS\",\"priority\":1000,\"targetTags\":["
             "\"edv-t%u\"],\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":["
             "\"5432\"]}],\"destinationRanges\":[\"%u.%u.%u.%u/32\"]}",
             i, i, db >> 24, (db >> 16) & 255, (db >> 8) & 255, db & 255);
    json_object_array_add(fw, parse(b));
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-deny-db-egress\",\"network\":\"" NET "\","
             "\"direction\":\"EGRESS\",\"priority\":65000,\"targetTags\":["
             "\"edv-t%u\"],\"denied\":[{\"IPProtocol\":\"all\"}],"
             "\"destinationRanges\":[\"10.96.0.0/16\"]}",
             i, i);
    json_object_array_add(fw, parse(b));
    /* Closed by the deny above it: a shadowed opening to evaluate. */
    snprintf(b, sizeof(b),
             "{\"name\":\"shadowed-%u\",\"network\":\"" NET "\","
             "\"priority\":1001,\"targetTags\":[\"edv-t%u\"],\"denied\":[{"
             "\"IPProtocol\":\"tcp\",\"ports\":[\"%u\"]}],\"sourceRanges\":["
             "\"10.%u.0.0/16\"]}",
             i, i, 1000 + i, i % 256);
    json_object_array_add(fw, parse(b));
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-vm\",\"labels\":{\"edv-managed\":\"true\","
             "\"edv-tenant\":\"t%u\"},\"tags\":{\"items\":[\"edv-t%u\"]},"
             "\"networkInterfaces\":[{\"network\":\"" NET "\",\"networkIP\":"
             "\"%u.%u.%u.%u\"}]}",
             i, i, i, vm >> 24, (vm >> 16) & 255, (vm >> 8) & 255, vm & 255);
    json_object_array_add(vms, parse(b));
    snprintf(b, sizeof(b),
             "{\"name\":\"edv-t%u-db-1\",\"settings\":{\"userLabels\":{"
             "\"edv-managed\":\"true\",\"edv-tenant\":\"t%u\"},"
             "\"ipConfiguration\":{\"ipv4Enabled\":false,\"privateNetwork\":"
             "\"" NET "\",\"sslMode\":\"ENCRYPTED_ONLY\"}},\"ipAddresses\":[{"
             "\"type\":\"PRIVATE\",\"ipAddress\":\"%u.%u.%u.%u\"}]}",
             i, i, db >> 24, (db >> 16) & 255, (db >> 8) & 255, db & 255);
    json_object_array_add(dbs, parse(b));
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  r = edv__audit(&in);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (!r)
    return 1;
  printf("tenants %u  firewall rules %u  audit %.1f ms  findings %zu\n", n,
         5 * n,
         (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
             (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
         json_object_array_length(edv__jget(r, "findings")));
  json_object_put(r);
  json_object_put(fw);
  json_object_put(vms);
  json_object_put(dbs);
  return 0;
}
