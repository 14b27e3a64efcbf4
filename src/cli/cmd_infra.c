/*
 * cmd_infra.c - `edvctl infra audit`: the isolation audit of the project's
 * network (edv_network_audit, edv/fleet.h), read-only: three list calls,
 * no change.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "edv/fleet.h"

/* Static: a cancelled call may complete during shutdown, after the
 * handler returned; one command runs per process. */
static struct audit_job {
  cli_ctx *ctx;
  json_object *report;
  edv_error err;
  int failed;
} audit_job;

static void on_audit(void *data, json_object *report, const edv_error *err)
{
  struct audit_job *j = data;

  if (err) {
    j->err = *err;
    j->failed = 1;
  }
  j->report = json_object_get(report);
  j->ctx->done = 1;
}

static const char *s_or(json_object *o, const char *key, const char *def)
{
  const char *s = edv__jstr(o, key);
  return s ? s : def;
}

static void print_table(cli_ctx *ctx, json_object *rep)
{
  json_object *t = edv__jget(rep, "tenants"), *f = edv__jget(rep, "findings");
  size_t nt = json_object_array_length(t), nf = json_object_array_length(f);

  static const cli_col cols[] = {{"TENANT", "id"},
                                 {"VM", "vm"},
                                 {"VM IP", "ip"},
                                 {"DB IP", "db_ip"},
                                 {"OPS SSH", "ops_ssh"}};

  (void)nt;
  cli_print_table(ctx, t, cols, sizeof(cols) / sizeof(cols[0]));
  fprintf(ctx->out,
          "\nChecked %lld firewall rules, %lld VMs, %lld "
          "databases.\n",
          (long long)edv__jint(rep, "checked.firewalls", 0),
          (long long)edv__jint(rep, "checked.vms", 0),
          (long long)edv__jint(rep, "checked.databases", 0));
  if (nf == 0) {
    fprintf(ctx->out, "No findings: every tenant is isolated.\n");
    return;
  }
  fprintf(ctx->out, "%zu finding%s:\n", nf, nf == 1 ? "" : "s");
  for (size_t i = 0; i < nf; i++) {
    json_object *x = json_object_array_get_idx(f, i);
    fprintf(ctx->out, "  %-13s %-26s rule %s: %s\n", s_or(x, "kind", "?"),
            s_or(x, "tenant", "?"), s_or(x, "rule", "?"),
            s_or(x, "detail", ""));
  }
}

int cli_cmd_infra_audit(cli_ctx *ctx, const cli_args *args)
{
  edv_error err;
  int result;
  size_t nf;

  (void)args;
  memset(&audit_job, 0, sizeof(audit_job));
  audit_job.ctx = ctx;
  result = cli_engine(ctx);
  if (result != CLI_EXIT_OK)
    return result;
  cli_progress(ctx, "Auditing the network of project %s",
               edv_engine_project(ctx->engine));
  if (edv_network_audit(ctx->engine, on_audit, &audit_job, &err))
    return cli_fail(ctx, &err);
  cli_loop_run(ctx);
  if (!audit_job.report && !audit_job.failed)
    return CLI_EXIT_INTERRUPTED; /* Ctrl-C before the answer */
  if (audit_job.failed)
    return cli_fail(ctx, &audit_job.err);
  if (ctx->format == CLI_FORMAT_JSON)
    cli_print_json(ctx, audit_job.report);
  else
    print_table(ctx, audit_job.report);
  nf = json_object_array_length(edv__jget(audit_job.report, "findings"));
  json_object_put(audit_job.report);
  return nf ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
}
