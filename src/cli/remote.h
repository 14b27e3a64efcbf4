/*
 * remote.h - edvctl's remote mode: the tenant commands through edvd's
 * Management API (--server URL or EDV_SERVER), and the renderer the
 * tenant commands share in both modes.
 *
 * The local mode (cmd_tenant.c) prints the library's documents
 * (edv/fleet.h), the remote mode (remote.c) the Management API's, which
 * are the same; both with the functions below, so that both print the
 * same thing in --format table and json.
 */
#ifndef EDV_CLI_REMOTE_H
#define EDV_CLI_REMOTE_H

#include <stdint.h>

#include <json-c/json.h>

#include "cli/cli.h"

/* ---- remote.c ----------------------------------------------------------*/

/* 1 when the tenant commands go through a server (--server/EDV_SERVER). */
int cli_remote_on(const cli_ctx *ctx);

/* Before a command runs: with a server, refuses the commands that the
 * Management API cannot express ("not available with --server"). Returns
 * CLI_EXIT_OK or an exit code after printing. */
int cli_remote_gate(cli_ctx *ctx, const cli_cmd *cmd);

/* Runs `edvctl tenant <args->cmd->name>` through the API. */
int cli_remote_tenant(cli_ctx *ctx, const cli_args *args);

/* One request of the day-2 verbs: METHOD /api/tenants/ID`path` (id NULL:
 * `path` alone) with `query` (name, value pairs, NULL-ended; NULL: none)
 * and `body` (NULL: none); the answer's JSON into *out (the caller puts
 * it). Returns CLI_EXIT_OK or an exit code after printing the error as
 * the local mode would. */
int cli_remote_request(cli_ctx *ctx, const char *method, const char *id,
                       const char *path, const char *const *query,
                       json_object *body, json_object **out);

/* Frees what the remote mode opened (main's shutdown). */
void cli_remote_close(cli_ctx *ctx);

/* ---- cmd_tenant.c: the shared renderer ---------------------------------*/

/* The tiers document (edv_tiers_load, edv/tiers.h), the file looked up as
 * the local mode does; NULL when there is none (nothing is printed). The
 * caller puts it. */
json_object *cli_tenant_tiers(cli_ctx *ctx);

/* `tenant get`/`create`: the tenant document (edv/fleet.h) alone, with
 * its tier's machine type, disk and database tier and the live state of
 * its VM, database and certificate from its "observed" (absent: "not
 * observed"). JSON: the document. */
void cli_tenant_print_summary(cli_ctx *ctx, json_object *doc);
/* `tenant resume` of a tenant document READY, DELETED or SUSPENDED (no run
 * to carry on): says so and returns 1; else 0. */
int cli_tenant_nothing_to_resume(cli_ctx *ctx, json_object *doc);
/* `tenant update`'s change: the body of PUT /api/tenants/ID ({display_name,
 * ops_ssh}; a new object) and in `what` its words for the heading; NULL
 * after a usage error (printed). */
json_object *cli_tenant_update_patch(cli_ctx *ctx, const cli_args *args,
                                     char *what, size_t size);
/* The steps table of a tenant document's "steps" [{name, title, state,
 * attempt, ..., started, finished}] in plan order. Table format only. */
void cli_tenant_print_steps(cli_ctx *ctx, json_object *steps);
/* `tenant list`: {"tenants": [documents], "next_page_token": null}. */
void cli_tenant_print_list(cli_ctx *ctx, json_object *list);
/* An empty list document, and its tenants sorted by id. */
json_object *cli_tenant_list_new(void);
void cli_tenant_list_sort(json_object *list);
/* `tenant history`: {"tenant", "events": [{seq, time, actor, event, step,
 * detail, operation, duration_ms, error}], "next_page_token": null,
 * "next_after": null}. */
void cli_tenant_print_history(cli_ctx *ctx, json_object *doc);
/* Appends the events of a page to `doc` (one document of every page). */
void cli_tenant_events_append(json_object *doc, json_object *page);
/* The "notes" of a scale's answer ("the boot disk stays 100 GB ..."), on
 * stderr (not with -q). */
void cli_tenant_print_notes(cli_ctx *ctx, json_object *answer);
/* `tenant delete` without --yes: asks on the terminal to type the id;
 * CLI_EXIT_OK when confirmed, else an exit code after saying why. */
int cli_tenant_confirm_delete(cli_ctx *ctx, const char *id, const char *slug);

#endif /* EDV_CLI_REMOTE_H */
