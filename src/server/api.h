/*
 * api.h - internals of the Management API shared by api.c (routing,
 * errors, auth, audit, infrastructure routes) and api_tenants.c (the
 * tenant routes).
 */
#ifndef EDV_SERVER_API_H
#define EDV_SERVER_API_H

#include <stdint.h>

#include <json-c/json.h>

#include "server/edvd.h"

/* A peer address as text (INET6_ADDRSTRLEN). */
#define EDVD_ADDR_SZ 48

/* One request, from routing to its answer (sync or deferred). */
typedef struct api_ctx {
  edvd *d;
  edv_http_req *req; /* NULL once answered or gone */
  char method[8];
  char path[200]; /* raw path, truncated, bytes outside printable ASCII
                     percent-encoded: for answers, logs and the audit */
  char source[EDVD_ADDR_SZ]; /* the peer's address */
  char who[EDV_TOKEN_NAME_MAX + 1];
  char token_id[16];
  edv_role role;
  char tenant[EDV_TENANT_ID_MAX + 6]; /* the tenant concerned, or "" */
  const char *route; /* the matched route's template, or NULL */
  char idem_key[EDV_IDEMPOTENCY_KEY_MAX + 1];
  int audit;   /* a mutating call: write the audit line */
  int basic;   /* authenticated by HTTP Basic auth (api_alerts.c) */
  uint64_t t0; /* uv_hrtime() at arrival */
  /* Deferred work. */
  int busy; /* a callback we cannot cancel is pending */
} api_ctx;

/* Answers with a malloc'd body (taken; NULL and 0: none) and frees c
 * unless busy. */
void api_respond(api_ctx *c, unsigned status, const char *ctype, char *body,
                 size_t len);
/* Answers with a JSON body (taken) and frees c unless busy. */
void api_send(api_ctx *c, unsigned status, json_object *body);
/* Answers {"error":{code,status,message,field?}}; status_name NULL picks
 * the usual one for the HTTP code; field may be NULL. */
void api_error(api_ctx *c, unsigned http, const char *status_name,
               const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* Answers an edv_error with the HTTP code its code maps to. */
void api_error_edv(api_ctx *c, const edv_error *e, const char *field);
/* Frees a context whose request is gone (deferred work finished). */
void api_ctx_free(api_ctx *c);

/* The one parser of request bodies: Content-Type application/json (else
 * 415 naming the type received), one JSON object of valid UTF-8 without
 * duplicate keys (else 400 naming the problem, a duplicate by its key
 * path); answers and returns NULL when refused. */
json_object *api_body_object(api_ctx *c);
/* Checks that the query has only `allowed` names (NULL-ended), each at
 * most once, names and values valid once decoded (as path parameters: no
 * NUL, invalid UTF-8 or control character); answers 400 naming the first
 * offending parameter and returns -1. */
int api_query_only(api_ctx *c, const char *const *allowed);

/* dashboard.c: answers a request for /dashboard or under /dashboard/
 * (the embedded dashboard) and returns 1; 0 for any other path. */
int api_dashboard(api_ctx *c, const char *raw);

/* api_audit.c: the request's audit line (a mutating call); lines of
 * requests refused without a valid token are limited per source and
 * summarised. api_audit_close() writes the pending summaries. */
void api_audit(api_ctx *c, unsigned status);
void api_audit_close(edvd *d);

/* "2026-11-27T22:28:15.123Z" */
void api_time(int64_t ms, char *buf, size_t size);
/* The wall clock, in ms since the epoch. */
int64_t api_wall_ms(void);
/* The field a validation message names ("field 'slug' ..."), or NULL. */
const char *api_field_of(const char *message, char *buf, size_t size);

/* Suspends the request until a callback answers it: the handler returns
 * with c kept (busy); httpd answers 504 itself past deadline_ms. The
 * callback calls api_resume() first: 1 when the request is still there to
 * answer, 0 when it is gone (c is then freed). */
void api_suspend(api_ctx *c, uint64_t deadline_ms);
int api_resume(api_ctx *c);

/* A handler that only passes the library's document on: call the library
 * with api_lib_200 or api_lib_201 (its edv_fleet_cb: the document as it is,
 * with that status, or the error) and c, then api_lib_wait() with what the
 * call returned: a refusal is answered at once (api_error_lib: the error,
 * naming the field its message names), else the request waits for the
 * callback. */
void api_error_lib(api_ctx *c, const edv_error *err);
void api_lib_200(void *data, json_object *o, const edv_error *err);
void api_lib_201(void *data, json_object *o, const edv_error *err);
void api_lib_wait(api_ctx *c, int result, const edv_error *err,
                  uint64_t deadline_ms);

/* api_tenants.c */
void api_tenants_list(api_ctx *c, const char *id);
void api_tenants_create(api_ctx *c, const char *id);
void api_tenant_get(api_ctx *c, const char *id);
void api_tenant_put(api_ctx *c, const char *id);
void api_tenant_scale(api_ctx *c, const char *id);
void api_tenant_delete(api_ctx *c, const char *id);
void api_tenant_events(api_ctx *c, const char *id);
void api_tenant_apply(api_ctx *c, const char *id);
void api_tenant_retry(api_ctx *c, const char *id);
void api_tenant_resume(api_ctx *c, const char *id);
void api_tenant_plan(api_ctx *c, const char *id);
void api_tenant_recover(api_ctx *c, const char *id);
void api_tenant_undelete(api_ctx *c, const char *id);
void api_tenant_move(api_ctx *c, const char *id);
void api_tenant_release(api_ctx *c, const char *id);

/* api_ops.c */
void api_tenant_backup(api_ctx *c, const char *id);
void api_tenant_backups(api_ctx *c, const char *id);
void api_tenant_restore(api_ctx *c, const char *id);
void api_tenant_metrics(api_ctx *c, const char *id);
void api_infra_capacity(api_ctx *c, const char *id);
/* api_releases.c */
void api_releases_list(api_ctx *c, const char *id);
void api_releases_create(api_ctx *c, const char *id);

/* api_alerts.c */
void api_alerts_notify(api_ctx *c, const char *id);
void api_incidents_list(api_ctx *c, const char *id);

/* api_updates.c */
void api_updates_list(api_ctx *c, const char *id);
void api_updates_create(api_ctx *c, const char *id);
void api_update_get(api_ctx *c, const char *id);
void api_update_act(api_ctx *c, const char *id);

#endif /* EDV_SERVER_API_H */
