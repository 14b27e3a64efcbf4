/*
 * audit.c - the isolation audit: Compute firewall semantics evaluated over
 * the observed firewalls, VMs and Cloud SQL instances (see audit.h).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenant/audit.h"
#include "transport/transport.h"
#include "tenant/machine.h"
#include "tenant/spec.h"
#include "tenant/steps.h"

#define PROTO_ALL  (-1)
#define PROTO_TCP  6
#define PROTO_UDP  17
#define PROTO_SCTP 132
#define NO_PORT    (-1)

/* An IPv4 range [lo, hi]. */
typedef struct range {
  uint32_t lo, hi;
  const char *text;
} range;

/* One allowed[] / denied[] entry, parsed once. */
typedef struct entry {
  int proto;     /* PROTO_ALL, a number, or -2 (unknown: matches nothing) */
  size_t nraw;   /* ports given; 0: every port */
  size_t nports; /* of them, well-formed */
  int (*ports)[2];
} entry;

typedef struct fw {
  json_object *j;
  const char *name;
  const char *net;
  int egress, deny, prio;
  range *ranges; /* sourceRanges (ingress) or destinationRanges (egress) */
  size_t nranges;
  int all_peers; /* no source (ingress) / no destination (egress) given */
  json_object *src_tags, *src_sas, *tgt_tags, *tgt_sas, *entries;
  entry *ent;
  size_t nent;
  char owner[EDV_TENANT_ID_MAX + 1]; /* from the description marker */
} fw;

typedef struct vm {
  const char *name;
  const char *net;
  char tenant[EDV_TENANT_ID_MAX + 1]; /* "" when not a tenant's */
  uint32_t ip;
  int has_ip;
  json_object *tags; /* tags.items */
  json_object *sas;  /* serviceAccounts */
  /* The enabled rules of its network that apply to it: as a target
   * (ingress) and as a source (egress). */
  const struct fw **rules[2];
  size_t nrules[2];
  char ops[EDV_NAME_MAX]; /* its tenant's operations SSH rule */
} vm;

/* A probe of one protocol and port (NO_PORT for port-less protocols). */
typedef struct probe {
  int proto, port;
} probe;

typedef struct audit {
  fw *fws;
  size_t nfws;
  vm *vms;
  size_t nvms;
  json_object *findings, *seen, *tenants;
  range fixed[3]; /* EDV_HC_RANGE_1, EDV_HC_RANGE_2, EDV_IAP_RANGE */
} audit;

static size_t alen(json_object *a)
{
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

static const char *aget(json_object *a, size_t i)
{
  return json_object_get_string(json_object_array_get_idx(a, i));
}

static int in_strings(json_object *a, const char *s)
{
  for (size_t i = 0; s && i < alen(a); i++)
    if (aget(a, i) && strcmp(aget(a, i), s) == 0)
      return 1;
  return 0;
}

/* "a.b.c.d/n" or "a.b.c.d", host bits ignored (Compute keeps the range as
 * given; what matters is which addresses it covers). 0, or -1 for what is
 * not IPv4 (IPv6 ranges match no IPv4 source). */
static int parse_range(const char *text, range *out)
{
  char buf[64];
  char *slash;
  struct in_addr a;
  unsigned long prefix = 32;
  uint32_t ip, mask;

  if (!text || strlen(text) >= sizeof(buf))
    return -1;
  snprintf(buf, sizeof(buf), "%s", text);
  slash = strchr(buf, '/');
  if (slash) {
    char *end;
    *slash = '\0';
    prefix = strtoul(slash + 1, &end, 10);
    if (*end || slash[1] == '\0' || prefix > 32)
      return -1;
  }
  if (inet_pton(AF_INET, buf, &a) != 1)
    return -1;
  ip = ntohl(a.s_addr);
  mask = prefix ? 0xFFFFFFFFu << (32 - prefix) : 0;
  out->lo = ip & mask;
  out->hi = out->lo | ~mask;
  out->text = text;
  return 0;
}

static int range_has(const range *r, uint32_t ip)
{
  return ip >= r->lo && ip <= r->hi;
}

/* Protocol number of a rule entry's IPProtocol; PROTO_ALL, or -2 when
 * unknown. */
static int proto_num(const char *p)
{
  static const struct {
    const char *name;
    int num;
  } names[] = {{"all", PROTO_ALL},   {"tcp", PROTO_TCP}, {"udp", PROTO_UDP},
               {"icmp", 1},          {"esp", 50},        {"ah", 51},
               {"sctp", PROTO_SCTP}, {"ipip", 4}};
  char *end;
  long n;

  if (!p || !*p)
    return -2;
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
    if (strcmp(p, names[i].name) == 0)
      return names[i].num;
  n = strtol(p, &end, 10);
  return *end || n < 0 || n > 255 ? -2 : (int)n;
}

static int has_ports(int proto)
{
  return proto == PROTO_TCP || proto == PROTO_UDP || proto == PROTO_SCTP;
}

/* "80" or "8000-8080" -> [lo, hi]; -1 when malformed. */
static int parse_ports(const char *s, int *lo, int *hi)
{
  char *end;
  long a, b;

  if (!s)
    return -1;
  a = strtol(s, &end, 10);
  b = a;
  if (*end == '-')
    b = strtol(end + 1, &end, 10);
  if (*end || a < 0 || b < a || b > 65535)
    return -1;
  *lo = (int)a;
  *hi = (int)b;
  return 0;
}

/* 1 when one of the entries (allowed[] or denied[]) covers the probe. */
static int entries_match(const fw *f, const probe *p)
{
  for (size_t i = 0; i < f->nent; i++) {
    const entry *e = &f->ent[i];

    if (e->proto != PROTO_ALL && e->proto != p->proto)
      continue;
    if (e->nraw == 0)
      return 1;
    for (size_t k = 0; p->port != NO_PORT && k < e->nports; k++)
      if (p->port >= e->ports[k][0] && p->port <= e->ports[k][1])
        return 1;
  }
  return 0;
}

/* Parses the rule's entries; 0, or -1 when out of memory. */
static int load_entries(fw *f)
{
  f->ent = calloc(alen(f->entries) + 1, sizeof(*f->ent));
  if (!f->ent)
    return -1;
  for (size_t i = 0; i < alen(f->entries); i++) {
    json_object *e = json_object_array_get_idx(f->entries, i), *pl = NULL;
    entry *x = &f->ent[f->nent++];

    x->proto = proto_num(edv__jstr(e, "IPProtocol"));
    if (json_object_is_type(e, json_type_object))
      json_object_object_get_ex(e, "ports", &pl);
    x->nraw = alen(pl);
    x->ports = calloc(x->nraw + 1, sizeof(*x->ports));
    if (!x->ports)
      return -1;
    for (size_t k = 0; k < x->nraw; k++)
      if (parse_ports(aget(pl, k), &x->ports[x->nports][0],
                      &x->ports[x->nports][1]) == 0)
        x->nports++;
  }
  return 0;
}

static int target_match(const fw *f, const vm *v)
{
  if (alen(f->tgt_tags)) {
    for (size_t i = 0; i < alen(f->tgt_tags); i++)
      if (in_strings(v->tags, aget(f->tgt_tags, i)))
        return 1;
    return 0;
  }
  if (alen(f->tgt_sas)) {
    for (size_t i = 0; i < alen(v->sas); i++)
      if (in_strings(f->tgt_sas,
                     edv__jstr(json_object_array_get_idx(v->sas, i), "email")))
        return 1;
    return 0;
  }
  return 1;
}

/* The rule's range holding ip, or NULL. */
static const range *range_of(const fw *f, uint32_t ip)
{
  for (size_t i = 0; i < f->nranges; i++)
    if (range_has(&f->ranges[i], ip))
      return &f->ranges[i];
  return NULL;
}

/* Ingress: does the source (address ip, and the VM `src` when it is one)
 * match? Egress: does the destination ip? */
static int peer_match(const fw *f, uint32_t ip, const vm *src)
{
  if (f->all_peers || range_of(f, ip))
    return 1;
  if (f->egress || !src)
    return 0;
  for (size_t i = 0; i < alen(f->src_tags); i++)
    if (in_strings(src->tags, aget(f->src_tags, i)))
      return 1;
  for (size_t i = 0; i < alen(src->sas); i++)
    if (in_strings(f->src_sas,
                   edv__jstr(json_object_array_get_idx(src->sas, i), "email")))
      return 1;
  return 0;
}

/*
 * The rule that decides traffic of probe p: for ingress, from (ip, src)
 * to `subject`; for egress, from `subject` to ip. NULL when no rule
 * matches (the implied rule). *allow receives the verdict.
 */
static const fw *decide(int egress, const vm *subject, uint32_t ip,
                        const vm *src, const probe *p, int *allow)
{
  const fw *best = NULL;

  for (size_t i = 0; i < subject->nrules[egress]; i++) {
    const fw *f = subject->rules[egress][i];
    if (!peer_match(f, ip, src) || !entries_match(f, p))
      continue;
    if (!best || f->prio < best->prio ||
        (f->prio == best->prio && f->deny && !best->deny))
      best = f;
  }
  *allow = best ? !best->deny : egress;
  return best;
}

static void add_finding(audit *a, const char *kind, const char *tenant,
                        const char *from, const fw *f, const char *source,
                        const char *detail)
{
  char key[512];
  const char *rule = f ? f->name
                       : (strcmp(kind, "db-reachable") == 0 ||
                                  strcmp(kind, "cross-tenant") == 0
                              ? "implied allow egress"
                              : "-");
  json_object *o, *ports;
  char buf[256];
  size_t off = 0;

  snprintf(key, sizeof(key), "%s|%s|%s|%s|%s", kind, tenant, from ? from : "",
           rule, source ? source : "");
  if (json_object_object_get_ex(a->seen, key, NULL))
    return;
  json_object_object_add(a->seen, key, NULL);
  buf[0] = '\0';
  ports = f ? f->entries : NULL;
  for (size_t i = 0; i < alen(ports) && off < sizeof(buf); i++) {
    json_object *e = json_object_array_get_idx(ports, i);
    json_object *pl = edv__jget(e, "ports");
    const char *proto = edv__jstr(e, "IPProtocol");
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "",
                            proto ? proto : "?");
    for (size_t k = 0; k < alen(pl) && off < sizeof(buf); k++)
      off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
                              k ? "," : ":", aget(pl, k));
  }
  o = json_object_new_object();
  json_object_object_add(o, "kind", json_object_new_string(kind));
  json_object_object_add(o, "tenant", json_object_new_string(tenant));
  if (from)
    json_object_object_add(o, "from_tenant", json_object_new_string(from));
  json_object_object_add(o, "rule", json_object_new_string(rule));
  json_object_object_add(o, "source",
                         json_object_new_string(source ? source : ""));
  json_object_object_add(o, "ports", json_object_new_string(buf));
  json_object_object_add(o, "detail", json_object_new_string(detail));
  json_object_array_add(a->findings, o);
}

/* ---- collecting ---------------------------------------------------------*/

static int cmp_u64(const void *x, const void *y)
{
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

static int cmp_int(const void *x, const void *y)
{
  int a = *(const int *)x, b = *(const int *)y;
  return a < b ? -1 : a > b;
}

/* Sorts and removes duplicates; returns the new count. */
static size_t uniq_u64(uint64_t *v, size_t n)
{
  size_t k = 0;

  qsort(v, n, sizeof(*v), cmp_u64);
  for (size_t i = 0; i < n; i++)
    if (k == 0 || v[k - 1] != v[i])
      v[k++] = v[i];
  return k;
}

static size_t uniq_int(int *v, size_t n)
{
  size_t k = 0;

  qsort(v, n, sizeof(*v), cmp_int);
  for (size_t i = 0; i < n; i++)
    if (k == 0 || v[k - 1] != v[i])
      v[k++] = v[i];
  return k;
}

static int load_fw(fw *f, json_object *j)
{
  const char *dir = edv__jstr(j, "direction");
  json_object *ranges, *dis = edv__jget(j, "disabled");
  json_object *allowed = edv__jget(j, "allowed");

  memset(f, 0, sizeof(*f));
  f->j = j;
  f->name = edv__jstr(j, "name");
  f->net = edv__jstr(j, "network");
  if (!f->name || (dis && json_object_get_boolean(dis)))
    return 0;
  f->egress = dir && strcmp(dir, "EGRESS") == 0;
  f->deny = alen(allowed) == 0;
  f->entries = f->deny ? edv__jget(j, "denied") : allowed;
  f->prio = (int)edv__jint(j, "priority", 1000);
  ranges = edv__jget(j, f->egress ? "destinationRanges" : "sourceRanges");
  f->src_tags = edv__jget(j, "sourceTags");
  f->src_sas = edv__jget(j, "sourceServiceAccounts");
  f->tgt_tags = edv__jget(j, "targetTags");
  f->tgt_sas = edv__jget(j, "targetServiceAccounts");
  f->all_peers =
      alen(ranges) == 0 &&
      (f->egress || (alen(f->src_tags) == 0 && alen(f->src_sas) == 0));
  f->ranges = calloc(alen(ranges) + 1, sizeof(*f->ranges));
  if (!f->ranges || load_entries(f))
    return -1;
  for (size_t i = 0; i < alen(ranges); i++)
    if (parse_range(aget(ranges, i), &f->ranges[f->nranges]) == 0)
      f->nranges++;
  edv__description_owner(edv__jstr(j, "description"), f->owner,
                         sizeof(f->owner));
  return 1;
}

static void load_vm(vm *v, json_object *j)
{
  json_object *nic =
      json_object_array_get_idx(edv__jget(j, "networkInterfaces"), 0);
  range r;

  memset(v, 0, sizeof(*v));
  v->name = edv__jstr(j, "name") ? edv__jstr(j, "name") : "?";
  v->net = edv__jstr(nic, "network");
  if (parse_range(edv__jstr(nic, "networkIP"), &r) == 0) {
    v->ip = r.lo;
    v->has_ip = 1;
  }
  v->tags = edv__jget(j, "tags.items");
  v->sas = edv__jget(j, "serviceAccounts");
  if (!edv__labels_owner(edv__jget(j, "labels"), v->tenant, sizeof(v->tenant)))
    v->tenant[0] = '\0';
  else
    edv__name_firewall(v->tenant, EDV_FIREWALL_OPS_SSH, v->ops, sizeof(v->ops));
}

/* The rules that apply to v, by direction. 0, or -1 when out of memory. */
static int vm_rules(const audit *a, vm *v)
{
  for (int e = 0; e < 2; e++) {
    v->rules[e] = calloc(a->nfws + 1, sizeof(*v->rules[e]));
    if (!v->rules[e])
      return -1;
    for (size_t i = 0; i < a->nfws; i++) {
      const fw *f = &a->fws[i];
      if (f->egress == e && edv__same_link(f->net, v->net) &&
          target_match(f, v))
        v->rules[e][v->nrules[e]++] = f;
    }
  }
  return 0;
}

/* A set of probes: interval starts of the address space, and
 * (protocol, port) pairs. */
typedef struct probes {
  uint64_t *ips;
  size_t nips;
  probe *p;
  size_t n;
} probes;

static void probes_free(probes *pr)
{
  free(pr->ips);
  free(pr->p);
  memset(pr, 0, sizeof(*pr));
}

/* Interval starts of the address space at every boundary the source
 * ranges of `rules` (ingress rules of one target) draw, and of the ranges
 * the design admits. */
static int make_ips(const fw *const *rules, size_t nr, probes *pr)
{
  static const char *const fixed[] = {EDV_HC_RANGE_1, EDV_HC_RANGE_2,
                                      EDV_IAP_RANGE};
  size_t n = 1 + 2 * (sizeof(fixed) / sizeof(*fixed));

  for (size_t i = 0; i < nr; i++)
    n += 2 * rules[i]->nranges;
  pr->ips = calloc(n, sizeof(*pr->ips));
  if (!pr->ips)
    return -1;
  pr->ips[pr->nips++] = 0;
  for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
    range r;
    parse_range(fixed[i], &r);
    pr->ips[pr->nips++] = r.lo;
    pr->ips[pr->nips++] = (uint64_t)r.hi + 1;
  }
  for (size_t i = 0; i < nr; i++)
    for (size_t k = 0; k < rules[i]->nranges; k++) {
      pr->ips[pr->nips++] = rules[i]->ranges[k].lo;
      pr->ips[pr->nips++] = (uint64_t)rules[i]->ranges[k].hi + 1;
    }
  pr->nips = uniq_u64(pr->ips, pr->nips);
  while (pr->nips && pr->ips[pr->nips - 1] > 0xFFFFFFFFu)
    pr->nips--;
  return 0;
}

/* Every protocol the rules of both lists name (plus tcp, udp, icmp and
 * one none names), and for tcp/udp/sctp every port interval start. Only
 * the rules that can decide a verdict matter: the target's ingress rules
 * and the source's egress rules. */
static int make_probes(const fw *const *r1, size_t n1, const fw *const *r2,
                       size_t n2, probes *pr)
{
  int protos[260], nprotos = 0, *ports;
  size_t nports = 0, cap = 8;
  int other = 0;

  protos[nprotos++] = PROTO_TCP;
  protos[nprotos++] = PROTO_UDP;
  protos[nprotos++] = 1;
  for (size_t i = 0; i < n1 + n2; i++)
    cap += 2 * 16 * (alen((i < n1 ? r1[i] : r2[i - n1])->entries) + 1);
  ports = calloc(cap, sizeof(*ports));
  if (!ports)
    return -1;
  ports[nports++] = 0;
  ports[nports++] = 22;
  ports[nports++] = 23;
  ports[nports++] = EDV_APP_PORT;
  ports[nports++] = EDV_APP_PORT + 1;
  ports[nports++] = EDV_DB_PORT;
  ports[nports++] = EDV_DB_PORT + 1;
  for (size_t i = 0; i < n1 + n2; i++) {
    json_object *en = (i < n1 ? r1[i] : r2[i - n1])->entries;
    for (size_t k = 0; k < alen(en); k++) {
      json_object *e = json_object_array_get_idx(en, k);
      json_object *pl = edv__jget(e, "ports");
      int p = proto_num(edv__jstr(e, "IPProtocol"));
      if (p >= 0 && nprotos < 256)
        protos[nprotos++] = p;
      for (size_t m = 0; m < alen(pl) && m < 16; m++) {
        int lo, hi;
        if (parse_ports(aget(pl, m), &lo, &hi) == 0) {
          ports[nports++] = lo;
          ports[nports++] = hi + 1;
        }
      }
    }
  }
  nprotos = (int)uniq_int(protos, (size_t)nprotos);
  for (int i = 0; i < nprotos && protos[i] == other; i++)
    other++;
  protos[nprotos++] = other; /* a protocol no rule names */
  nports = uniq_int(ports, nports);
  while (nports && ports[nports - 1] > 65535)
    nports--;
  pr->p = calloc((size_t)nprotos * (nports + 1), sizeof(*pr->p));
  if (!pr->p) {
    free(ports);
    return -1;
  }
  for (int i = 0; i < nprotos; i++) {
    if (!has_ports(protos[i])) {
      pr->p[pr->n++] = (probe){protos[i], NO_PORT};
      continue;
    }
    for (size_t k = 0; k < nports; k++)
      pr->p[pr->n++] = (probe){protos[i], ports[k]};
  }
  free(ports);
  return 0;
}

/* ---- checks ---------------------------------------------------------------*/

static json_object *tenant_entry(audit *a, const char *id)
{
  json_object *t;

  if (json_object_object_get_ex(a->tenants, id, &t))
    return t;
  t = json_object_new_object();
  json_object_object_add(t, "id", json_object_new_string(id));
  json_object_object_add(t, "ops_ssh", json_object_new_boolean(0));
  json_object_object_add(a->tenants, id, t);
  return t;
}

/* What the design lets reach a tenant VM from address ip. */
static int permitted(const audit *a, const fw *f, const vm *t, uint32_t ip,
                     const probe *p)
{
  if (p->proto != PROTO_TCP)
    return 0;
  if (p->port == EDV_APP_PORT &&
      (range_has(&a->fixed[0], ip) || range_has(&a->fixed[1], ip)))
    return 1;
  return p->port == 22 && range_has(&a->fixed[2], ip) && f &&
         strcmp(f->name, t->ops) == 0 && strcmp(f->owner, t->tenant) == 0;
}

static int check_addresses(audit *a, const vm *t)
{
  probes pr;

  memset(&pr, 0, sizeof(pr));
  if (make_ips(t->rules[0], t->nrules[0], &pr) ||
      make_probes(t->rules[0], t->nrules[0], NULL, 0, &pr)) {
    probes_free(&pr);
    return -1;
  }
  for (size_t i = 0; i < pr.nips; i++) {
    uint32_t ip = (uint32_t)pr.ips[i];
    for (size_t k = 0; k < pr.n; k++) {
      int allow;
      const fw *f = decide(0, t, ip, NULL, &pr.p[k], &allow);
      const range *r;
      char detail[512];
      if (!allow)
        continue;
      if (permitted(a, f, t, ip, &pr.p[k])) {
        if (pr.p[k].port == 22)
          json_object_object_add(tenant_entry(a, t->tenant), "ops_ssh",
                                 json_object_new_boolean(1));
        continue;
      }
      r = f ? range_of(f, ip) : NULL;
      snprintf(detail, sizeof(detail),
               "firewall rule '%s' admits %s to tenant %s's VM %s",
               f ? f->name : "?", r ? r->text : "any address", t->tenant,
               t->name);
      add_finding(a, "exposed", t->tenant, NULL, f, r ? r->text : "0.0.0.0/0",
                  detail);
    }
  }
  probes_free(&pr);
  return 0;
}

static int check_vms(audit *a, const vm *t)
{
  for (size_t s = 0; s < a->nvms; s++) {
    const vm *src = &a->vms[s];
    probes pr;
    if (src == t || !src->has_ip || !edv__same_link(src->net, t->net) ||
        (src->tenant[0] && strcmp(src->tenant, t->tenant) == 0))
      continue;
    memset(&pr, 0, sizeof(pr));
    if (make_probes(t->rules[0], t->nrules[0], src->rules[1], src->nrules[1],
                    &pr)) {
      probes_free(&pr);
      return -1;
    }
    for (size_t k = 0; k < pr.n; k++) {
      int in, out;
      const fw *f = decide(0, t, src->ip, src, &pr.p[k], &in);
      char detail[512], source[300];
      if (!in)
        continue;
      decide(1, src, t->ip, NULL, &pr.p[k], &out);
      if (!out)
        continue;
      snprintf(source, sizeof(source), "vm:%s", src->name ? src->name : "?");
      if (src->tenant[0]) {
        snprintf(detail, sizeof(detail),
                 "firewall rule '%s' admits tenant %s's VM %s to tenant %s's "
                 "VM %s",
                 f ? f->name : "?", src->tenant, src->name, t->tenant, t->name);
        add_finding(a, "cross-tenant", t->tenant, src->tenant, f, source,
                    detail);
      } else {
        snprintf(detail, sizeof(detail),
                 "firewall rule '%s' admits VM %s (no tenant's) to tenant "
                 "%s's VM %s",
                 f ? f->name : "?", src->name, t->tenant, t->name);
        add_finding(a, "exposed", t->tenant, NULL, f, source, detail);
      }
      break;
    }
    probes_free(&pr);
  }
  return 0;
}

static void check_db(audit *a, json_object *db)
{
  char owner[EDV_TENANT_ID_MAX + 1];
  json_object *st = edv__jget(db, "settings");
  json_object *ipc = edv__jget(st, "ipConfiguration");
  json_object *ips = edv__jget(db, "ipAddresses"), *t;
  const char *name = edv__jstr(db, "name"), *ssl = edv__jstr(ipc, "sslMode");
  const char *dbip = NULL;
  char detail[512];
  range r;
  probe p = {PROTO_TCP, EDV_DB_PORT};

  if (!name ||
      !edv__labels_owner(edv__jget(st, "userLabels"), owner, sizeof(owner)))
    return;
  t = tenant_entry(a, owner);
  json_object_object_add(t, "database", json_object_new_string(name));
  for (size_t i = 0; i < alen(ips); i++) {
    json_object *ip = json_object_array_get_idx(ips, i);
    const char *type = edv__jstr(ip, "type");
    if (type && strcmp(type, "PRIVATE") == 0)
      dbip = edv__jstr(ip, "ipAddress");
    else if (type && strcmp(type, "PRIMARY") == 0) {
      snprintf(detail, sizeof(detail),
               "tenant %s's database %s has a public IP %s", owner, name,
               edv__jstr(ip, "ipAddress") ? edv__jstr(ip, "ipAddress") : "?");
      add_finding(a, "db-public", owner, NULL, NULL, name, detail);
    }
  }
  if (ipc && json_object_get_boolean(edv__jget(ipc, "ipv4Enabled"))) {
    snprintf(detail, sizeof(detail),
             "tenant %s's database %s has ipv4Enabled (a public IP)", owner,
             name);
    add_finding(a, "db-public", owner, NULL, NULL, name, detail);
  }
  if (!ssl || (strcmp(ssl, "ENCRYPTED_ONLY") != 0 &&
               strcmp(ssl, "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") != 0)) {
    snprintf(detail, sizeof(detail),
             "tenant %s's database %s accepts unencrypted connections "
             "(sslMode %s)",
             owner, name, ssl ? ssl : "unset");
    add_finding(a, "db-tls", owner, NULL, NULL, name, detail);
  }
  if (!dbip || parse_range(dbip, &r) != 0)
    return;
  json_object_object_add(t, "db_ip", json_object_new_string(dbip));
  for (size_t s = 0; s < a->nvms; s++) {
    const vm *src = &a->vms[s];
    int out;
    const fw *f;
    if (!src->tenant[0] || strcmp(src->tenant, owner) == 0 ||
        !edv__same_link(src->net, edv__jstr(ipc, "privateNetwork")))
      continue;
    f = decide(1, src, r.lo, NULL, &p, &out);
    if (!out)
      continue;
    snprintf(detail, sizeof(detail),
             "tenant %s's VM %s can open tcp:%d to tenant %s's database %s "
             "(%s) through %s",
             src->tenant, src->name, EDV_DB_PORT, owner, name, dbip,
             f ? f->name : "the implied allow-egress rule");
    add_finding(a, "db-reachable", owner, src->tenant, f, dbip, detail);
  }
}

/* ---- entry point ---------------------------------------------------------*/

static void audit_free(audit *a)
{
  for (size_t i = 0; i < a->nfws; i++) {
    free(a->fws[i].ranges);
    for (size_t k = 0; k < a->fws[i].nent; k++)
      free(a->fws[i].ent[k].ports);
    free(a->fws[i].ent);
  }
  free(a->fws);
  for (size_t i = 0; i < a->nvms; i++) {
    free(a->vms[i].rules[0]);
    free(a->vms[i].rules[1]);
  }
  free(a->vms);
  json_object_put(a->seen);
  json_object_put(a->findings);
  json_object_put(a->tenants);
}

json_object *edv__audit(const edv__audit_in *in)
{
  audit a;
  json_object *out = NULL, *tenants, *checked;
  size_t nf = alen(in->firewalls), nv = alen(in->instances);
  size_t nd = alen(in->sql_instances);
  int bad = 0;

  memset(&a, 0, sizeof(a));
  parse_range(EDV_HC_RANGE_1, &a.fixed[0]);
  parse_range(EDV_HC_RANGE_2, &a.fixed[1]);
  parse_range(EDV_IAP_RANGE, &a.fixed[2]);
  a.fws = calloc(nf + 1, sizeof(*a.fws));
  a.vms = calloc(nv + 1, sizeof(*a.vms));
  a.findings = json_object_new_array();
  a.seen = json_object_new_object();
  a.tenants = json_object_new_object();
  if (!a.fws || !a.vms || !a.findings || !a.seen || !a.tenants)
    goto done;
  for (size_t i = 0; i < nf && !bad; i++) {
    int rc =
        load_fw(&a.fws[a.nfws], json_object_array_get_idx(in->firewalls, i));
    if (rc < 0)
      bad = 1;
    else
      a.nfws += (size_t)rc;
  }
  if (bad)
    goto done;
  for (size_t i = 0; i < nv && !bad; i++) {
    vm *v = &a.vms[a.nvms++];
    load_vm(v, json_object_array_get_idx(in->instances, i));
    bad = vm_rules(&a, v);
  }
  if (bad)
    goto done;
  for (size_t i = 0; i < a.nvms; i++) {
    const vm *t = &a.vms[i];
    json_object *te;
    char ip[INET_ADDRSTRLEN];
    struct in_addr ia;
    if (!t->tenant[0] || !t->has_ip)
      continue;
    te = tenant_entry(&a, t->tenant);
    json_object_object_add(te, "vm", json_object_new_string(t->name));
    ia.s_addr = htonl(t->ip);
    inet_ntop(AF_INET, &ia, ip, sizeof(ip));
    json_object_object_add(te, "ip", json_object_new_string(ip));
    if (check_addresses(&a, t) || check_vms(&a, t))
      goto done;
  }
  for (size_t i = 0; i < nd; i++)
    check_db(&a, json_object_array_get_idx(in->sql_instances, i));
  out = json_object_new_object();
  tenants = json_object_new_array();
  json_object_object_foreach(a.tenants, id, t)
  {
    (void)id;
    json_object_array_add(tenants, json_object_get(t));
  }
  json_object_object_add(out, "tenants", tenants);
  json_object_object_add(out, "findings", json_object_get(a.findings));
  checked = json_object_new_object();
  json_object_object_add(checked, "firewalls",
                         json_object_new_int((int)a.nfws));
  json_object_object_add(checked, "vms", json_object_new_int((int)a.nvms));
  json_object_object_add(checked, "databases", json_object_new_int((int)nd));
  json_object_object_add(out, "checked", checked);
done:
  audit_free(&a);
  return out;
}

/* ---- observing ------------------------------------------------------------*/

enum { L_FW, L_VM, L_SQL, L__COUNT };

typedef struct run {
  json_object *items[L__COUNT];
  unsigned pending;
  edv_error err;
  int failed;
  edv__audit_cb cb;
  void *data;
} run;

typedef struct walk {
  run *r;
  int kind;
} walk;

static int add_vm(void *data, const char *scope, json_object *item)
{
  (void)scope;
  json_object_array_add(data, json_object_get(item));
  return 0;
}

static int on_page(void *data, json_object *page)
{
  walk *w = data;
  json_object *items = w->r->items[w->kind];

  if (w->kind == L_VM)
    return edv__aggregated_foreach(page, "instances", add_vm, items);
  for (size_t i = 0; i < alen(edv__jget(page, "items")); i++)
    json_object_array_add(items, json_object_get(json_object_array_get_idx(
                                     edv__jget(page, "items"), i)));
  return 0;
}

static void on_done(void *data, const edv_error *err, unsigned pages)
{
  walk *w = data;
  run *r = w->r;

  (void)pages;
  free(w);
  if (err && !r->failed) {
    r->err = *err;
    r->failed = 1;
  }
  if (--r->pending)
    return;
  if (r->failed) {
    r->cb(r->data, NULL, &r->err);
  } else {
    edv__audit_in in = {r->items[L_FW], r->items[L_VM], r->items[L_SQL]};
    json_object *rep = edv__audit(&in);
    edv_error e;
    if (rep)
      r->cb(r->data, rep, NULL);
    else {
      edv_error_set(&e, EDV_ENOMEM, "audit: out of memory");
      r->cb(r->data, NULL, &e);
    }
  }
  for (int i = 0; i < L__COUNT; i++)
    json_object_put(r->items[i]);
  free(r);
}

int edv__audit_run(edv_engine *engine, const char *project, uint64_t timeout_ms,
                   edv__audit_cb cb, void *data)
{
  static const struct {
    edv_api api;
    const char *prefix, *suffix, *label;
  } lists[L__COUNT] = {
      {EDV_API_COMPUTE, "/compute/v1/projects/", "/global/firewalls",
       "compute.firewalls.list"},
      {EDV_API_COMPUTE, "/compute/v1/projects/", "/aggregated/instances",
       "compute.instances.aggregatedList"},
      {EDV_API_SQLADMIN, "/sql/v1beta4/projects/", "/instances",
       "sql.instances.list"},
  };
  run *r = calloc(1, sizeof(*r));

  if (!r)
    return -1;
  r->cb = cb;
  r->data = data;
  for (int i = 0; i < L__COUNT; i++)
    if (!(r->items[i] = json_object_new_array()))
      goto fail;
  for (int i = 0; i < L__COUNT; i++) {
    char path[512];
    edv_request rq;
    walk *w = calloc(1, sizeof(*w));
    if (!w)
      goto started;
    w->r = r;
    w->kind = i;
    memset(&rq, 0, sizeof(rq));
    snprintf(path, sizeof(path), "%s%s%s", lists[i].prefix, project,
             lists[i].suffix);
    rq.api = lists[i].api;
    rq.method = "GET";
    rq.path = path;
    rq.label = lists[i].label;
    rq.timeout_ms = timeout_ms;
    r->pending++;
    if (edv_call_pages(engine, &rq, on_page, on_done, w) != 0) {
      r->pending--;
      free(w);
      goto started;
    }
  }
  return 0;
started:
  /* Some lists run: they end the run (with this error). */
  if (r->pending) {
    edv_error_set(&r->err, EDV_ENOMEM, "audit: out of memory");
    r->failed = 1;
    return 0;
  }
fail:
  for (int i = 0; i < L__COUNT; i++)
    json_object_put(r->items[i]);
  free(r);
  return -1;
}
