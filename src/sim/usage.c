/*
 * usage.c - what drives the built-in metrics (metrics_gen.c) besides the
 * resources themselves:
 *
 * - the usage model: how many users each backend service has and how many
 *   requests each makes per minute, with a daily pattern;
 *     POST /_sim/usage {"backendService": NAME or "*", "users": N,
 *       "requestsPerUserMinute": R, "pattern": "flat"|"school"|"none",
 *       "utcOffsetMinutes": M}
 *     GET  /_sim/usage
 *   Every backend service has the default (users 20, 6 requests per user
 *   and minute, flat) until a body names it; "*" sets the default and
 *   drops every backend service's own setting. "school": the users on
 *   weekdays from 07:00 to 16:00 local time (UTC + utcOffsetMinutes), 2%
 *   of them otherwise; "none": no traffic. The model has no history: a
 *   change applies to every time, past ones included. Saved in the state
 *   file.
 *
 * - the metric faults of POST /_sim/faults (parsed here, kept with the
 *   others in limits.c): {"backendErrors": BACKEND_SERVICE, "rate": 0..1},
 *   {"sqlDown": INSTANCE}, {"vmLoad": INSTANCE, "cpu": 0..1,
 *   "memory": 0..100}, {"appDown": INSTANCE}. Each records when it was
 *   added and removed on the simulated clock, in a ring of the last
 *   SIM_MHIST_MAX, so that metrics of a past interval see it where it was
 *   (GET /_sim/faults lists the ring as "history"). Not persisted, like
 *   faults.
 *
 * - the data plane's answers (dataplane.c), counted per backend service,
 *   minute and response code in a ring of the last DP_SLOTS (minute,
 *   code) pairs per backend service; request_count adds them to the
 *   model's. Not persisted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

#define DP_SLOTS 64

#define USAGE_USERS   20
#define USAGE_RPM     6
#define USAGE_MAX     1000000 /* users, requests per user and minute */
#define OFFSET_MIN    (-720)
#define OFFSET_MAX    840
#define SCHOOL_OFF    0.02 /* share of users outside school hours */
#define SCHOOL_START  (7 * 3600)
#define SCHOOL_END    (16 * 3600)
#define DAY_S         86400
#define EPOCH_WEEKDAY 4 /* 1970-01-01 was a Thursday (0: Sunday) */

typedef struct dp_slot {
  uint64_t minute;
  int code;
  long n;
} dp_slot;

typedef struct sim_dpring {
  char *name;
  dp_slot slot[DP_SLOTS];
  size_t next;
} sim_dpring;

/* --- the usage model ---------------------------------------------------- */

static const char *base_name(const char *name)
{
  const char *slash = name ? strrchr(name, '/') : NULL;

  return slash ? slash + 1 : name;
}

static json_object *usage_spec(double users, double rpm, const char *pattern,
                               int offset, const char *bs)
{
  json_object *o = json_object_new_object();

  json_object_object_add(o, "backendService", json_object_new_string(bs));
  json_object_object_add(o, "users", json_object_new_int64((int64_t)users));
  json_object_object_add(o, "requestsPerUserMinute",
                         json_object_new_double(rpm));
  json_object_object_add(o, "pattern", json_object_new_string(pattern));
  json_object_object_add(o, "utcOffsetMinutes", json_object_new_int(offset));
  return o;
}

static json_object *usage_of(sim *s, const char *bs)
{
  json_object *o = NULL;

  if (s->usage && bs && json_object_object_get_ex(s->usage, base_name(bs), &o))
    return o;
  if (s->usage && json_object_object_get_ex(s->usage, "*", &o))
    return o;
  return NULL;
}

sim_usage sim__usage_at(sim *s, const char *bs, uint64_t t_ms)
{
  json_object *o = usage_of(s, bs);
  const char *pattern =
      o ? json_object_get_string(json_object_object_get(o, "pattern")) : "flat";
  sim_usage u = {USAGE_USERS, USAGE_RPM};

  if (o) {
    u.users = json_object_get_double(json_object_object_get(o, "users"));
    u.rpm = json_object_get_double(
        json_object_object_get(o, "requestsPerUserMinute"));
  }
  if (strcmp(pattern, "none") == 0) {
    u.users = 0;
  } else if (strcmp(pattern, "school") == 0) {
    int64_t off =
        json_object_get_int(json_object_object_get(o, "utcOffsetMinutes"));
    int64_t local = (int64_t)(t_ms / 1000) + off * 60;
    int64_t day = local >= 0 ? local / DAY_S : (local - DAY_S + 1) / DAY_S;
    int64_t sod = local - day * DAY_S;
    int wd = (int)(((day + EPOCH_WEEKDAY) % 7 + 7) % 7);

    if (wd == 0 || wd == 6 || sod < SCHOOL_START || sod >= SCHOOL_END)
      u.users *= SCHOOL_OFF;
  }
  return u;
}

/* A number field in [lo, hi] (integral when integral), or the default. */
static int num_field(json_object *b, const char *key, double lo, double hi,
                     int integral, double *out, char *err, size_t n)
{
  json_object *v;

  if (!json_object_object_get_ex(b, key, &v))
    return 0;
  if (!json_object_is_type(v, json_type_int) &&
      !(json_object_is_type(v, json_type_double) && !integral)) {
    snprintf(err, n, "%s: must be %s", key,
             integral ? "an integer" : "a number");
    return -1;
  }
  *out = json_object_get_double(v);
  if (!(*out >= lo && *out <= hi)) {
    snprintf(err, n, "%s: must be between %g and %g", key, lo, hi);
    return -1;
  }
  return 0;
}

static int usage_parse(json_object *b, json_object **out, char *err, size_t n)
{
  static const char *const known[] = {"backendService", "users",
                                      "requestsPerUserMinute", "pattern",
                                      "utcOffsetMinutes"};
  double users = USAGE_USERS, rpm = USAGE_RPM, off = 0;
  const char *pattern = "flat", *bs;
  json_object *v;

  json_object_object_foreach(b, key, val)
  {
    size_t i;

    (void)val;
    for (i = 0; i < sizeof(known) / sizeof(*known); i++)
      if (strcmp(key, known[i]) == 0)
        break;
    if (i == sizeof(known) / sizeof(*known)) {
      snprintf(err, n, "%.64s: unknown field", key);
      return -1;
    }
  }
  if (!json_object_object_get_ex(b, "backendService", &v) ||
      !json_object_is_type(v, json_type_string) ||
      (strcmp(bs = json_object_get_string(v), "*") != 0 &&
       !sim_valid_compute_name(bs))) {
    snprintf(err, n,
             "backendService: must name a backend service, or be "
             "\"*\" for every one");
    return -1;
  }
  if (num_field(b, "users", 0, USAGE_MAX, 1, &users, err, n) < 0 ||
      num_field(b, "requestsPerUserMinute", 0, USAGE_MAX, 0, &rpm, err, n) <
          0 ||
      num_field(b, "utcOffsetMinutes", OFFSET_MIN, OFFSET_MAX, 1, &off, err,
                n) < 0)
    return -1;
  if (json_object_object_get_ex(b, "pattern", &v)) {
    pattern = json_object_is_type(v, json_type_string)
                  ? json_object_get_string(v)
                  : "";
    if (strcmp(pattern, "flat") != 0 && strcmp(pattern, "school") != 0 &&
        strcmp(pattern, "none") != 0) {
      snprintf(err, n, "pattern: must be \"flat\", \"school\" or \"none\"");
      return -1;
    }
  }
  *out = usage_spec(users, rpm, pattern, (int)off, bs);
  return 0;
}

static json_object *usage_json(sim *s)
{
  json_object *o = json_object_new_object(), *arr = json_object_new_array();

  if (usage_of(s, "*") == NULL)
    json_object_array_add(arr,
                          usage_spec(USAGE_USERS, USAGE_RPM, "flat", 0, "*"));
  if (s->usage) {
    json_object_object_foreach(s->usage, key, val)
    {
      (void)key;
      json_object_array_add(arr, json_object_get(val));
    }
  }
  json_object_object_add(o, "usage", arr);
  return o;
}

static int usage_get(sim *s, sim_req *req, sim_resp *resp)
{
  (void)req;
  return sim_resp_json(resp, 200, usage_json(s));
}

static int usage_post(sim *s, sim_req *req, sim_resp *resp)
{
  char err[200];
  json_object *spec;
  const char *bs;

  if (sim_body(req) == NULL)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT",
                       "backendService: a usage body is required");
  if (usage_parse(sim_body(req), &spec, err, sizeof(err)) < 0)
    return sim_err_rpc(resp, 400, "INVALID_ARGUMENT", "%s", err);
  bs = json_object_get_string(json_object_object_get(spec, "backendService"));
  if (strcmp(bs, "*") == 0) {
    json_object_put(s->usage);
    s->usage = json_object_new_object();
  } else if (s->usage == NULL) {
    s->usage = json_object_new_object();
  }
  json_object_object_add(s->usage, bs, spec);
  sim_dirty(s);
  return sim_resp_json(resp, 200, usage_json(s));
}

json_object *sim__usage_save(sim *s)
{
  return s->usage ? json_object_get(s->usage) : json_object_new_object();
}

void sim__usage_load(sim *s, json_object *o)
{
  json_object *fresh = json_object_new_object();

  /* Only what parses: a hand-edited state file cannot break generation. */
  if (json_object_is_type(o, json_type_object)) {
    json_object_object_foreach(o, key, val)
    {
      char err[200];
      json_object *spec;

      if (json_object_is_type(val, json_type_object) &&
          usage_parse(val, &spec, err, sizeof(err)) == 0)
        json_object_object_add(fresh, key, spec);
    }
  }
  json_object_put(s->usage);
  s->usage = fresh;
}

/* --- metric faults ------------------------------------------------------ */

static int fault_name(json_object *spec, const char *key, char **out, char *err,
                      size_t n)
{
  json_object *v;

  if (!json_object_object_get_ex(spec, key, &v))
    return 0;
  if (!json_object_is_type(v, json_type_string) ||
      !sim_valid_compute_name(json_object_get_string(v)) ||
      strlen(json_object_get_string(v)) >= sizeof(((sim_mhist *)0)->target)) {
    snprintf(err, n, "%s: must name %s", key,
             strcmp(key, "backendErrors") == 0 ? "a backend service"
             : strcmp(key, "sqlDown") == 0     ? "a Cloud SQL instance"
                                               : "a VM instance");
    return -1;
  }
  *out = strdup(json_object_get_string(v));
  return *out ? 1 : -1;
}

int sim__mfault_parse(sim_fault *f, json_object *spec, char *err, size_t errlen)
{
  static const struct {
    const char *key;
    int kind;
  } kinds[] = {{"backendErrors", SIM_MF_BACKEND_ERRORS},
               {"sqlDown", SIM_MF_SQL_DOWN},
               {"vmLoad", SIM_MF_VM_LOAD},
               {"appDown", SIM_MF_APP_DOWN}};
  json_object *v;

  f->mcpu = f->mmem = -1;
  for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
    char *name = NULL;
    int r = fault_name(spec, kinds[i].key, &name, err, errlen);

    if (r < 0)
      return -1;
    if (r == 0)
      continue;
    if (f->mkind) {
      free(name);
      snprintf(err, errlen, "%s: one metric fault per body", kinds[i].key);
      return -1;
    }
    f->mkind = kinds[i].kind;
    f->mtarget = name;
  }
  if (json_object_object_get_ex(spec, "rate", &v)) {
    if (f->mkind != SIM_MF_BACKEND_ERRORS) {
      snprintf(err, errlen, "rate: only with backendErrors");
      return -1;
    }
    if (num_field(spec, "rate", 0, 1, 0, &f->mrate, err, errlen) < 0)
      return -1;
  } else if (f->mkind == SIM_MF_BACKEND_ERRORS) {
    snprintf(err, errlen, "rate: required with backendErrors (0..1)");
    return -1;
  }
  if ((json_object_object_get_ex(spec, "cpu", &v) ||
       json_object_object_get_ex(spec, "memory", &v)) &&
      f->mkind != SIM_MF_VM_LOAD) {
    snprintf(err, errlen, "%s: only with vmLoad",
             json_object_object_get_ex(spec, "cpu", NULL) ? "cpu" : "memory");
    return -1;
  }
  if (f->mkind == SIM_MF_VM_LOAD) {
    if (num_field(spec, "cpu", 0, 1, 0, &f->mcpu, err, errlen) < 0 ||
        num_field(spec, "memory", 0, 100, 0, &f->mmem, err, errlen) < 0)
      return -1;
    if (f->mcpu < 0 && f->mmem < 0) {
      snprintf(err, errlen,
               "cpu: vmLoad needs cpu (0..1), memory (0..100) "
               "or both");
      return -1;
    }
  }
  return 0;
}

static sim_mhist *hist_at(sim *s, size_t i)
{
  return &s->mhist[(s->mhist_at + i) % SIM_MHIST_MAX];
}

void sim__mfault_began(sim *s, const sim_fault *f)
{
  sim_mhist *h;

  if (f->mkind == 0)
    return;
  if (s->mhist == NULL &&
      (s->mhist = calloc(SIM_MHIST_MAX, sizeof(*s->mhist))) == NULL)
    return;
  if (s->mhist_n == SIM_MHIST_MAX) { /* full: the oldest goes */
    s->mhist_at = (s->mhist_at + 1) % SIM_MHIST_MAX;
    s->mhist_n--;
  }
  h = hist_at(s, s->mhist_n++);
  memset(h, 0, sizeof(*h));
  h->id = f->id;
  h->kind = f->mkind;
  snprintf(h->target, sizeof(h->target), "%s", f->mtarget);
  h->rate = f->mrate;
  h->cpu = f->mcpu;
  h->mem = f->mmem;
  h->from_ms = sim_now_ms(s);
}

void sim__mfault_ended(sim *s, const sim_fault *f)
{
  uint64_t now = sim_now_ms(s);

  for (size_t i = 0; f->mkind && i < s->mhist_n; i++) {
    sim_mhist *h = hist_at(s, i);

    if (h->id == f->id && h->to_ms == 0)
      h->to_ms = now > h->from_ms ? now : h->from_ms + 1;
  }
}

static const char *kind_key(int kind)
{
  switch (kind) {
  case SIM_MF_BACKEND_ERRORS:
    return "backendErrors";
  case SIM_MF_SQL_DOWN:
    return "sqlDown";
  case SIM_MF_VM_LOAD:
    return "vmLoad";
  default:
    return "appDown";
  }
}

void sim__mfault_fields(json_object *o, int kind, const char *target,
                        double rate, double cpu, double mem)
{
  json_object_object_add(o, kind_key(kind), json_object_new_string(target));
  if (kind == SIM_MF_BACKEND_ERRORS)
    json_object_object_add(o, "rate", json_object_new_double(rate));
  if (kind == SIM_MF_VM_LOAD && cpu >= 0)
    json_object_object_add(o, "cpu", json_object_new_double(cpu));
  if (kind == SIM_MF_VM_LOAD && mem >= 0)
    json_object_object_add(o, "memory", json_object_new_double(mem));
}

json_object *sim__mfault_history_json(sim *s)
{
  json_object *arr = json_object_new_array();
  char ts[32];

  for (size_t i = 0; i < s->mhist_n; i++) {
    sim_mhist *h = hist_at(s, i);
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_int(h->id));
    sim__mfault_fields(o, h->kind, h->target, h->rate, h->cpu, h->mem);
    json_object_object_add(
        o, "from", json_object_new_string(sim_time_str(h->from_ms, ts)));
    if (h->to_ms)
      json_object_object_add(
          o, "to", json_object_new_string(sim_time_str(h->to_ms, ts)));
    json_object_array_add(arr, o);
  }
  return arr;
}

size_t sim__mfault_find(sim *s, int kind, const char *target, uint64_t from_ms,
                        uint64_t to_ms, const sim_mhist **out, size_t max)
{
  const char *base = base_name(target);
  size_t n = 0;

  for (size_t i = 0; i < s->mhist_n && n < max; i++) {
    const sim_mhist *h = hist_at(s, i);

    if (h->kind == kind && h->from_ms <= to_ms &&
        (h->to_ms == 0 || h->to_ms > from_ms) && strcmp(h->target, base) == 0)
      out[n++] = h;
  }
  return n;
}

/* --- the data plane's counts -------------------------------------------- */

int sim__dp_backend_error(sim *s, const char *bs)
{
  const char *base = base_name(bs);

  for (sim_fault *f = s->faults; f; f = f->next) {
    uint64_t i;

    if (f->mkind != SIM_MF_BACKEND_ERRORS || strcmp(f->mtarget, base) != 0)
      continue;
    /* Request i fails when floor((i + 1) * rate) passes floor(i * rate):
     * exactly that share of requests, evenly spread. */
    i = f->dp_seq++;
    if (floor((double)(i + 1) * f->mrate) > floor((double)i * f->mrate))
      return 1;
  }
  return 0;
}

static sim_dpring *dp_ring(sim *s, const char *bs, int create)
{
  int found;
  size_t pos = sim__index_find(&s->dpcount, bs, &found);
  sim_dpring *r;

  if (found)
    return s->dpcount.v[pos].p;
  if (!create || (r = calloc(1, sizeof(*r))) == NULL)
    return NULL;
  if ((r->name = strdup(bs)) == NULL ||
      sim__index_insert(&s->dpcount, pos, r->name, r) < 0) {
    free(r->name);
    free(r);
    return NULL;
  }
  return r;
}

void sim__dp_count(sim *s, const char *bs, int code)
{
  sim_dpring *r = dp_ring(s, bs, 1);
  uint64_t minute = sim_now_ms(s) / 60000;
  dp_slot *sl;

  if (r == NULL)
    return;
  for (size_t i = 0; i < DP_SLOTS; i++) {
    sl = &r->slot[i];
    if (sl->n && sl->minute == minute && sl->code == code) {
      sl->n++;
      return;
    }
  }
  sl = &r->slot[r->next];
  r->next = (r->next + 1) % DP_SLOTS;
  sl->minute = minute;
  sl->code = code;
  sl->n = 1;
}

long sim__dp_counted(sim *s, const char *bs, int code, uint64_t from_ms,
                     uint64_t to_ms)
{
  sim_dpring *r = dp_ring(s, bs, 0);
  long n = 0;

  for (size_t i = 0; r && i < DP_SLOTS; i++) {
    const dp_slot *sl = &r->slot[i];

    if (sl->n && sl->code == code && sl->minute * 60000 >= from_ms &&
        sl->minute * 60000 < to_ms)
      n += sl->n;
  }
  return n;
}

size_t sim__dp_codes(sim *s, const char *bs, uint64_t from_ms, int *codes,
                     size_t max)
{
  sim_dpring *r = dp_ring(s, bs, 0);
  size_t n = 0;

  for (size_t i = 0; r && i < DP_SLOTS; i++) {
    const dp_slot *sl = &r->slot[i];
    size_t j;

    if (sl->n == 0 || (sl->minute + 1) * 60000 <= from_ms)
      continue;
    for (j = 0; j < n && codes[j] != sl->code; j++)
      ;
    if (j == n && n < max)
      codes[n++] = sl->code;
  }
  return n;
}

void sim__usage_clear(sim *s)
{
  json_object_put(s->usage);
  s->usage = NULL;
  free(s->mhist);
  s->mhist = NULL;
  s->mhist_n = s->mhist_at = 0;
  for (size_t i = 0; i < s->dpcount.n; i++) {
    sim_dpring *r = s->dpcount.v[i].p;

    free(r->name);
    free(r);
  }
  free(s->dpcount.v);
  memset(&s->dpcount, 0, sizeof(s->dpcount));
}

#define USAGE_FLAGS (SIM_ROUTE_NOAUTH | SIM_ROUTE_LOOPBACK)

static const sim_route usage_routes[] = {
    {"GET", "/_sim/usage", "sim.usage.get", usage_get, NULL, USAGE_FLAGS, NULL},
    {"POST", "/_sim/usage", "sim.usage.set", usage_post, NULL, USAGE_FLAGS,
     NULL},
};

int sim__usage_init(sim *s)
{
  return sim_register(s, SIM_API_ADMIN, usage_routes,
                      sizeof(usage_routes) / sizeof(*usage_routes));
}
