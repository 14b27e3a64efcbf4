/*
 * ensure.c - the common step shapes: "this resource exists, is ours and
 * matches" and "this resource is gone" (see machine.h).
 *
 * The parameters are copied into a small object hung on the step (one
 * ensure at a time per step), so callers can build paths on the stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenant/ensure.h"
#include "tenant/machine.h"

typedef struct ensure_ctx {
  edv__ensure e;
  const edv__kind *row; /* e.build NULL: the create body is its build's */
  unsigned index;       /* ... of its index-th resource */
  char *what, *get_path, *create_path, *label, *delete_path;
  int created; /* we issued the create in this attempt */
  int absent;  /* ensure_absent mode */
  int taken;   /* the create said EEXIST: observing once before the hook */
  edv_error taken_err;
} ensure_ctx;

static void ctx_free(void *p)
{
  ensure_ctx *c = p;

  if (!c)
    return;
  free(c->what);
  free(c->get_path);
  free(c->create_path);
  free(c->label);
  free(c->delete_path);
  free(c);
}

static ensure_ctx *ctx_of(edv__srun *sr)
{
  return edv__srun_ctx(sr);
}

static ensure_ctx *ctx_new(edv__srun *sr)
{
  ensure_ctx *c = calloc(1, sizeof(*c));

  if (c)
    edv__srun_set_ctx(sr, c, ctx_free);
  return c;
}

/* Forgets the step's context (called when the ensure ends). */
static void ctx_release(edv__srun *sr)
{
  edv__srun_set_ctx(sr, NULL, NULL);
}

static char *sdup(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void ensure_observe(edv__srun *sr);

/* The create body from the kind's row, or NULL when the step ended. */
static json_object *row_build(edv__srun *sr, ensure_ctx *c)
{
  edv__kind_ctx k;
  edv_error err;
  json_object *body = NULL;

  edv_error_clear(&err);
  edv__srun_kind_ctx(sr, &k);
  if (c->row && c->row->build)
    body = c->row->build(&k, c->index, &err);
  else
    edv_error_set(&err, EDV_EINTERNAL, "%s: its kind has no build", c->what);
  if (!body) {
    ctx_release(sr);
    edv__step_done(sr, &err);
  }
  return body;
}

static int check_owned(edv__srun *sr, ensure_ctx *c, json_object *res)
{
  if (c->e.own == EDV_OWN_LABELS)
    return edv__step_owned_labels(sr, res, c->what);
  if (c->e.own == EDV_OWN_DESC)
    return edv__step_owned_desc(sr, res, c->what);
  return 0;
}

static void poll_again(edv__srun *sr)
{
  ensure_observe(sr);
}

static void on_created(edv__srun *sr, json_object *op, const edv_error *err)
{
  ensure_ctx *c = ctx_of(sr);

  (void)op;
  if (err && err->code == EDV_EEXIST && c->e.name_taken && !c->created &&
      !c->taken) {
    /* Look once, at once: our own create may have landed with its reply
     * lost (then the GET finds it and it is verified as ours); otherwise
     * the name is reserved and the hook runs now, not after the act's
     * observe-again retries with their backoffs. */
    c->taken = 1;
    c->taken_err = *err;
    ensure_observe(sr);
    return;
  }
  if (err) {
    ctx_release(sr);
    edv__step_done(sr, err);
    return;
  }
  c->created = 1;
  ensure_observe(sr); /* verify what the cloud now holds */
}

static void on_observed(edv__srun *sr, json_object *res, const edv_error *err)
{
  ensure_ctx *c = ctx_of(sr);
  json_object *body;
  int r;

  if (!c) {
    edv__step_fail(sr, EDV_EINTERNAL, "ensure: lost context");
    return;
  }
  if (err) {
    ctx_release(sr);
    edv__step_done(sr, err);
    return;
  }
  if (!res && c->taken) {
    /* The context goes first: the hook restarts the step with its own. */
    int (*hook)(edv__srun *, const edv_error *) = c->e.name_taken;
    edv_error e = c->taken_err;
    ctx_release(sr);
    if (!hook(sr, &e))
      edv__step_done(sr, &e);
    return;
  }
  if (!res) {
    if (c->created) {
      /* The create's operation finished but the resource is not there:
       * eventual consistency or a failed create. Look again shortly. */
      edv__step_later(sr, 500, poll_again);
      return;
    }
    if (c->e.build) {
      body = c->e.build(sr);
      if (!body) {
        ctx_release(sr);
        return; /* build ended the step */
      }
    } else if (!(body = row_build(sr, c))) {
      return; /* the step ended */
    }
    edv__step_info(sr, 0, "creating %s", c->what);
    if (c->e.name_taken)
      edv__step_act_eexist(sr, c->e.api, "POST", c->create_path, body, c->label,
                           on_created);
    else
      edv__step_act(sr, c->e.api, "POST", c->create_path, body, c->label,
                    on_created);
    return;
  }
  if (check_owned(sr, c, res) < 0) {
    ctx_release(sr);
    return;
  }
  if (c->e.ready && !edv__srun_planning(sr)) {
    r = c->e.ready(sr, res);
    if (r < 0) {
      ctx_release(sr);
      return;
    }
    if (r == 0) {
      /* Not ready yet (SQL instance creating, VM booting, certificate
       * provisioning): look again after the fleet's poll interval. This
       * was a 0 ms delay, i.e. a GET loop as fast as the API answered:
       * minutes of back-to-back reads per tenant against quotas such as
       * Cloud SQL Admin's 180 a minute. */
      edv__step_later(sr, edv__srun_poll_ms(sr), poll_again);
      return;
    }
  }
  {
    void (*verify)(edv__srun *, json_object *) = c->e.verify;
    json_object *keep = json_object_get(res);
    ctx_release(sr);
    if (verify)
      verify(sr, keep);
    else
      edv__step_done(sr, NULL);
    json_object_put(keep);
  }
}

static void ensure_observe(edv__srun *sr)
{
  ensure_ctx *c = ctx_of(sr);
  edv__step_get(sr, c->e.api, c->get_path, on_observed);
}

/* edv__step_ensure(), the create body from `row` when e->build is NULL. */
static void ensure_start(edv__srun *sr, const edv__ensure *e,
                         const edv__kind *row, unsigned index)
{
  ensure_ctx *c = ctx_new(sr);

  if (!c) {
    edv__step_fail(sr, EDV_ENOMEM, "out of memory");
    return;
  }
  c->e = *e;
  c->row = row;
  c->index = index;
  c->what = sdup(e->what);
  c->get_path = sdup(e->get_path);
  c->create_path = sdup(e->create_path);
  c->label = sdup(e->label);
  c->e.what = c->what;
  ensure_observe(sr);
}

void edv__step_ensure(edv__srun *sr, const edv__ensure *e)
{
  ensure_start(sr, e, NULL, 0);
}

/* ---- absent ---------------------------------------------------------- */

static void absent_observe(edv__srun *sr);

static void on_deleted(edv__srun *sr, json_object *op, const edv_error *err)
{
  ensure_ctx *c = ctx_of(sr);

  (void)op;
  if (err) {
    ctx_release(sr);
    edv__step_done(sr, err);
    return;
  }
  c->created = 1; /* here: "delete issued" */
  absent_observe(sr);
}

static void poll_absent(edv__srun *sr)
{
  absent_observe(sr);
}

static void on_absent_observed(edv__srun *sr, json_object *res,
                               const edv_error *err)
{
  ensure_ctx *c = ctx_of(sr);

  if (err || !res) {
    ctx_release(sr);
    edv__step_done(sr, err);
    return;
  }
  if (check_owned(sr, c, res) < 0) {
    ctx_release(sr);
    return;
  }
  if (c->created) {
    /* Deleted, but still visible (SQL keeps PENDING_DELETE a while):
     * poll at the fleet's interval, not back to back (see above). */
    edv__step_later(sr, edv__srun_poll_ms(sr), poll_absent);
    return;
  }
  edv__step_info(sr, 0, "deleting %s", c->what);
  edv__step_act(sr, c->e.api, "DELETE",
                c->delete_path ? c->delete_path : c->get_path, NULL, c->label,
                on_deleted);
}

static void absent_observe(edv__srun *sr)
{
  ensure_ctx *c = ctx_of(sr);
  edv__step_get(sr, c->e.api, c->get_path, on_absent_observed);
}

void edv__step_ensure_absent(edv__srun *sr, edv_api api, const char *what,
                             const char *get_path, const char *delete_path,
                             edv__own_mode own, const char *label)
{
  ensure_ctx *c = ctx_new(sr);

  if (!c) {
    edv__step_fail(sr, EDV_ENOMEM, "out of memory");
    return;
  }
  c->absent = 1;
  c->e.api = api;
  c->e.own = own;
  c->what = sdup(what);
  c->get_path = sdup(get_path);
  c->delete_path = sdup(delete_path);
  c->label = sdup(label);
  absent_observe(sr);
}

/* ---- repair ---------------------------------------------------------- */

/* A repair's context: what runs once the change is in. */
typedef struct repair_ctx {
  edv__srun_fn again;
} repair_ctx;

static void on_repaired(edv__srun *sr, json_object *op, const edv_error *err)
{
  repair_ctx *r = edv__srun_ctx(sr);
  edv__srun_fn again = r ? r->again : NULL;

  (void)op;
  edv__srun_set_ctx(sr, NULL, NULL);
  if (err && err->code == EDV_EPRECONDITION) {
    /* A fingerprint (or settingsVersion) race: someone changed the
     * resource between our read and our write. Read it again. */
    edv__step_info(sr, 0, "changed meanwhile (%s); observing again",
                   err->message);
    err = NULL;
  }
  if (err || !again) {
    edv__step_done(sr, err);
    return;
  }
  again(sr);
}

int edv__step_repair_allowed(edv__srun *sr, const char *key, const char *what)
{
  char k[160], v[16];
  const char *have;
  int n;

  snprintf(k, sizeof(k), "repairs:%s", key);
  have = edv__srun_fact(sr, k);
  n = have ? atoi(have) : 0;
  snprintf(v, sizeof(v), "%d", n + 1);
  edv__srun_set_fact(sr, k, v);
  if (n < EDV_REPAIR_MAX)
    return 1;
  edv__step_fail(sr, EDV_EPRECONDITION,
                 "%s drifted again after %d repairs in this run; something "
                 "else is changing it",
                 what, EDV_REPAIR_MAX);
  return 0;
}

void edv__step_repair(edv__srun *sr, edv_api api, const char *method,
                      const char *path, json_object *body, const char *label,
                      edv__srun_fn again)
{
  repair_ctx *r = calloc(1, sizeof(*r));

  if (!r) {
    json_object_put(body);
    edv__step_fail(sr, EDV_ENOMEM, "out of memory");
    return;
  }
  r->again = again;
  edv__srun_set_ctx(sr, r, free);
  edv__step_act(sr, api, method, path, body, label, on_repaired);
}

/* ---- resources as data (ensure.h) ---------------------------------------- */

int edv__res_path(edv__srun *sr, const char *tmpl, const char *name, char *out,
                  size_t size)
{
  return edv__kind_path(tmpl, edv__srun_project(sr), edv__srun_region(sr),
                        edv__srun_zone(sr), name, NULL, out, size);
}

/* What the runner needs of r: its own fields, or its kind's row. */
typedef struct res_of {
  edv_api api;
  const char *kind, *path, *collection, *create, *remove;
  edv__own_mode own;
} res_of;

static void res_get(const edv__res *r, res_of *o)
{
  if (r->row) {
    o->api = r->row->api;
    o->kind = r->row->title;
    o->path = r->row->path;
    o->collection = r->row->create;
    o->create = r->row->create_label;
    o->remove = r->row->remove;
    o->own = r->row->own;
  } else {
    o->api = r->api;
    o->kind = r->kind;
    o->path = r->path;
    o->collection = r->collection;
    o->create = r->create;
    o->remove = r->remove;
    o->own = r->own;
  }
}

/* Paths and the message text of o named name; 0 or -1 (step failed). */
static int res_fill(edv__srun *sr, const res_of *o, const char *name, char *get,
                    char *col, char *what, size_t size)
{
  if (edv__res_path(sr, o->path, name, get, size) ||
      (o->collection && edv__res_path(sr, o->collection, name, col, size)) ||
      (size_t)snprintf(what, size, "%s '%s'", o->kind, name) >= size) {
    edv__step_fail(sr, EDV_EINTERNAL, "%s '%s': path too long", o->kind, name);
    return -1;
  }
  if (!o->collection)
    col[0] = '\0';
  return 0;
}

void edv__step_ensure_res(edv__srun *sr, const edv__res *r, const char *name)
{
  edv__step_ensure_res_at(sr, r, name, 0);
}

void edv__step_ensure_res_at(edv__srun *sr, const edv__res *r, const char *name,
                             unsigned i)
{
  char get[768], col[768], what[768];
  edv__ensure e = {0};
  res_of o;

  res_get(r, &o);
  if (res_fill(sr, &o, name, get, col, what, sizeof(get)))
    return;
  e.api = o.api;
  e.what = what;
  e.get_path = get;
  e.create_path = col;
  e.label = o.create;
  e.own = o.own;
  e.build = r->build;
  e.verify = r->verify;
  e.ready = r->ready;
  e.name_taken = r->name_taken;
  ensure_start(sr, &e, r->row, i);
}

void edv__step_ensure_res_absent(edv__srun *sr, const edv__res *r,
                                 const char *name)
{
  char get[768], col[768], what[768];
  res_of o;

  res_get(r, &o);
  if (res_fill(sr, &o, name, get, col, what, sizeof(get)))
    return;
  edv__step_ensure_absent(sr, o.api, what, get, NULL, o.own, o.remove);
}

void edv__srun_kind_ctx(edv__srun *sr, edv__kind_ctx *ctx)
{
  const edv__tenant_spec *s = edv__srun_spec(sr);
  unsigned nh = edv__spec_has_alias(s) ? 2 : 1;

  memset(ctx, 0, sizeof(*ctx));
  ctx->tier = edv__srun_tier(sr);
  ctx->tenant = s->id;
  ctx->project = edv__srun_project(sr);
  ctx->network = edv__srun_network(sr);
  ctx->region = edv__srun_region(sr);
  ctx->zone = edv__srun_zone(sr);
  ctx->generation = edv__srun_generation(sr);
  ctx->db_ip = edv__srun_fact(sr, "db_ip");
  ctx->cidr = edv__srun_fact(sr, "cidr");
  ctx->backend = edv__srun_fact(sr, "backend_link");
  ctx->lb_ip = edv__srun_fact(sr, "lb_ip");
  ctx->backup_location = edv__srun_backup_location(
      sr, ctx->backup_location_buf, sizeof(ctx->backup_location_buf));
  ctx->display_name = s->display_name;
  for (unsigned h = 0; h < nh; h++) {
    char *b = ctx->host_buf[h];
    size_t n;
    if ((h == 0 ? edv__name_dns_primary(s, edv__srun_domain(sr), b,
                                        sizeof(ctx->host_buf[h]))
                : edv__name_dns_alias(s, edv__srun_domain(sr), b,
                                      sizeof(ctx->host_buf[h]))) != 0)
      break;
    /* The hostnames without the root dot (certificates, URL map). */
    n = strlen(b);
    if (n && b[n - 1] == '.')
      b[n - 1] = '\0';
    ctx->host_ptr[h] = b;
  }
  ctx->hosts = ctx->host_ptr;
}
