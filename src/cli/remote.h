/*
 * remote.h - edvctl's remote mode: the tenant commands through edvd's
 * Management API (--server URL or EDV_SERVER), and the renderer the
 * tenant commands share in both modes.
 *
 * The local mode (cmd_tenant.c) and the remote mode (remote.c) build the
 * same JSON documents (cli_tenant_doc, steps, journal entries) and print
 * them with the same functions below, so that both print the same thing
 * in --format table and json.
 */
#ifndef EDV_CLI_REMOTE_H
#define EDV_CLI_REMOTE_H

#include <stdint.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "tenant/tiers.h"

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

/* The tiers file, looked up as the local mode does; NULL when there is
 * none (nothing is printed). The caller frees it (edv__tiers_free). */
edv__tiers *cli_tenant_tiers(cli_ctx *ctx);

/* A tenant's document: id, spec (taken over; NULL: {}), phase,
 * generation, url(s), last_error, times, and from `tiers` (may be NULL)
 * the cost estimate, licences and apps of its tier. */
json_object *cli_tenant_doc(const edv__tiers *tiers, const char *domain,
                            const char *id, json_object *spec,
                            const char *phase, int64_t generation,
                            const char *last_error, int64_t created_ms,
                            int64_t updated_ms);

/* `tenant get`/`create`: a document with "resources" {vm, database,
 * certificate: {name, state, private_ip?}}. */
void cli_tenant_print_summary(cli_ctx *ctx, json_object *doc,
                              const edv__tiers *tiers);
/* The steps table: [{step, state, attempt, ..., started_ms, finished_ms,
 * title}] in plan order. Table format only. */
void cli_tenant_print_steps(cli_ctx *ctx, json_object *steps);
/* `tenant list`: an array of documents. */
void cli_tenant_print_list(cli_ctx *ctx, json_object *arr);
/* `tenant history`: [{seq, time_ms, actor, event, step?, detail?,
 * operation?, duration_ms?, error?}]. */
void cli_tenant_print_history(cli_ctx *ctx, json_object *arr);

#endif /* EDV_CLI_REMOTE_H */
