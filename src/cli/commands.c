/*
 * commands.c - the command table of edvctl.
 *
 * To add a command: write its handler (cmd_<name>.c), declare it in cli.h,
 * and add an entry here with its usage, help text (with examples), flags
 * and number of positional arguments. Parsing, validation of the flags and
 * arity, `--help` and `edvctl help` all come from this table; docs/cli.md
 * mirrors it.
 */
#include <stddef.h>

#include "cli/cli.h"

const cli_opt cli_global_opts[] = {
    {"config", 0, "FILE", "read configuration from FILE (env EDV_CONFIG)"},
    {"project", 0, "ID", "Google Cloud project id (env EDV_PROJECT)"},
    {"endpoint", 0, "URL",
     "send every API call to URL instead of *.googleapis.com "
     "(env EDV_ENDPOINT)"},
    {"key-file", 0, "FILE",
     "service-account or ADC key file (env EDV_KEY_FILE)"},
    {"format", 0, "table|json|yaml|value(F,...)",
     "output format (default table; env EDV_FORMAT); json, yaml and "
     "value(FIELD,...) print only the document (or the fields' values, "
     "tab-separated, one line per item) and no progress"},
    {"filter", 0, "EXPR",
     "keep the items that match EXPR, as gcloud's --filter: KEY=VALUE, "
     "KEY!=V, KEY:V (has), KEY~REGEX, KEY<V..., NOT, AND, OR"},
    {"sort-by", 0, "FIELD[,~FIELD]",
     "order the items by these fields (~: descending)"},
    {"state-dir", 0, "DIR",
     "local state directory (env EDV_STATE_DIR; default "
     "$XDG_STATE_HOME/edv)"},
    {"sim", 0, NULL,
     "run against the embedded simulator, its cloud kept in the state "
     "directory (env EDV_SIM=1)"},
    {"server", 0, "URL",
     "run the tenant commands through edvd's Management API at URL "
     "(env EDV_SERVER); token from env EDV_TOKEN or --token-file"},
    {"token-file", 0, "FILE",
     "read the API token from FILE, which must be 0600 (env "
     "EDV_TOKEN_FILE)"},
    {"cacert", 0, "FILE",
     "trust the CA certificates in FILE for an https --server (env "
     "EDV_CACERT)"},
    {"quiet", 'q', NULL, "print results and errors only (env EDV_QUIET=1)"},
    {"verbose", 'v', NULL,
     "log more, one line per step event (repeat for debug logs; env "
     "EDV_VERBOSE=N)"},
    {"help", 'h', NULL, "show help"},
    {"version", 0, NULL, "print the version and exit"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt api_opts[] = {
    {"data", 'd', "JSON|@FILE",
     "request body: JSON text, @FILE, or @- for stdin"},
    {"api", 0, "NAME",
     "API serving the path: compute, sqladmin, dns, certificatemanager, "
     "monitoring, iam, secretmanager, servicenetworking"},
    {"wait", 0, NULL,
     "when the answer is a long-running operation, wait for it and print "
     "the finished operation"},
    {"timeout", 0, "SECONDS",
     "give up after SECONDS (the call, and with --wait the whole wait; "
     "default: the config's http.timeout_ms, and 30 minutes with --wait)"},
    {NULL, 0, NULL, NULL},
};

static const char *const api_arg_names[] = {"METHOD", "URL_OR_PATH"};

static const cli_cmd auth_cmds[] = {
    {"print-access-token", "print an access token for the credentials",
     "[--key-file FILE]",
     "Resolves credentials in Application Default Credentials order (the\n"
     "config's access_token_file, --key-file / key_file,\n"
     "GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, the GCE metadata\n"
     "server) and prints a valid access token on stdout, like\n"
     "`gcloud auth print-access-token`. Nothing else is printed there.\n"
     "\n"
     "Examples:\n"
     "  edvctl auth print-access-token\n"
     "  edvctl auth print-access-token --key-file sa.json\n"
     "  curl -H \"Authorization: Bearer $(edvctl auth print-access-token)\" "
     "...\n",
     NULL, 0, 0, NULL, cli_cmd_auth_token, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const char *const id_arg[] = {"ID"};
static const char *const create_args[] = {"ID", "SLUG", "NAME", "TIER",
                                          "REGION"};
static const char *const scale_args[] = {"ID", "TIER"};

/* Long operations wait for their end by default, as gcloud's do. */
#define ASYNC_OPT                                                              \
  {                                                                            \
    "async", 0, NULL,                                                          \
        "return once the work is recorded and started; `tenant get ID` "       \
        "follows "                                                             \
        "it"                                                                   \
  }

static const cli_opt create_opts[] = {
    ASYNC_OPT,
    {"wait", 0, NULL, "wait until READY (the default)"},
    {"no-wait", 0, NULL, "the older name of --async"},
    {"ops-ssh", 0, NULL,
     "open operations SSH through IAP to the tenant's VM (default off)"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt update_opts[] = {
    {"display-name", 0, "NAME",
     "the school's name as shown (1..100 characters, no leading or "
     "trailing space)"},
    {"ops-ssh", 0, "on|off",
     "operations SSH through IAP to the tenant's VM: add or remove its "
     "firewall rule"},
    {"release", 0, "VERSION",
     "run this release (edvctl release list): a new VM replaces the "
     "tenant's, without downtime, or the change is rolled back"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt list_opts[] = {
    {"tier", 0, "TIER", "only tenants of this tier"},
    {"state", 0, "PHASE", "only tenants in this phase (READY, FAILED, ...)"},
    {"all", 0, NULL, "include DELETED tenants"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt move_opts[] = {
    {"region", 0, "R", "the region to move the tenant to (required)"},
    {"from-latest-backup", 0, NULL,
     "fail over: restore the newest backup kept outside the old region"},
    ASYNC_OPT,
    {NULL, 0, NULL, NULL},
};

static const cli_opt resume_opts[] = {
    {"all", 0, NULL, "resume every interrupted tenant"},
    ASYNC_OPT,
    {NULL, 0, NULL, NULL},
};

static const cli_opt delete_opts[] = {
    {"yes", 'y', NULL, "do not ask for confirmation"},
    {"now", 0, NULL, "purge at once, without the grace"},
    ASYNC_OPT,
    {NULL, 0, NULL, NULL},
};

static const cli_opt async_opts[] = {
    ASYNC_OPT,
    {NULL, 0, NULL, NULL},
};

static const cli_cmd platform_cmds[] = {
    {"init", "create the shared platform (idempotent)", "",
     "Creates what every tenant shares, once per project: the tenant VPC\n"
     "(custom subnet mode), private services access for Cloud SQL, Cloud\n"
     "Router + NAT, the load balancer's global IP, the shared /health check\n"
     "(30 s interval, 10 s timeout), URL map, certificate map, target HTTPS\n"
     "proxy and forwarding rule, a check that the domain's DNS zone exists,\n"
     "and the fleet-wide alert policies. Running it again changes nothing.\n"
     "\n"
     "Examples:\n"
     "  edvctl --sim platform init\n"
     "  edvctl --project my-proj --key-file sa.json platform init\n",
     NULL, 0, 0, NULL, cli_cmd_platform_init, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_opt plan_opts[] = {
    {"detailed-exitcode", 0, NULL,
     "exit 2 when a reconcile would change something (0: in sync)"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt backup_opts[] = {
    {"description", 0, "D",
     "the backup's description (at most 200 characters)"},
    ASYNC_OPT,
    {NULL, 0, NULL, NULL},
};

static const cli_opt restore_opts[] = {
    {"backup", 0, "B", "the backup run to restore (see `tenant backups`)"},
    {"to-time", 0, "T",
     "restore the database as it was at T (RFC 3339, e.g. "
     "2026-12-07T09:30:00Z)"},
    ASYNC_OPT,
    {NULL, 0, NULL, NULL},
};

static const cli_opt metrics_opts[] = {
    {"window", 0, "W", "how far back: 60s..30d, e.g. 15m, 1h (default), 7d"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt incidents_opts[] = {
    {"state", 0, "open|closed|all", "which incidents (default all)"},
    {"tenant", 0, "ID", "only this tenant's incidents"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd tenant_cmds[] = {
    {"create", "provision a tenant's stack",
     "ID SLUG NAME TIER REGION [--async] [--ops-ssh]",
     "Validates the spec (id, slug, display name, tier from tiers.json,\n"
     "region from the Compute API), records the tenant and provisions its\n"
     "stack: subnet, firewall, service account, DB password secret, Cloud\n"
     "SQL PostgreSQL, database and user, VM, snapshot schedule, instance\n"
     "group, backend service, URL map rule, DNS, certificate, health. Bad\n"
     "input creates nothing (exit 2, naming the field); so does a reserved\n"
     "hostname label (dns.reserved_labels: www, mail, ...), and a hostname\n"
     "that already holds a DNS record EdVirons did not create (exit 4,\n"
     "naming the record).\n"
     "\n"
     "It waits until READY (or FAILED), as every long operation does;\n"
     "--async returns once the tenant is recorded and its run started, and\n"
     "says how to follow it. While it waits, a terminal shows a live view of\n"
     "the steps; elsewhere one line per transition goes to stderr; with\n"
     "--format json only the final tenant JSON is printed. The tenant's\n"
     "summary (URL, VM, database, certificate, cost) ends the run. Ctrl-C\n"
     "stops at a durable point (exit 7): `edvctl tenant resume ID` goes on.\n"
     "--ops-ssh opens SSH to the VM through Identity-Aware Proxy (a\n"
     "firewall rule from 35.235.240.0/20 to its tcp:22; see `tenant\n"
     "update`).\n"
     "\n"
     "Examples:\n"
     "  edvctl --sim tenant create school001 greenwood-high "
     "\"Greenwood High School\" premium us-central1\n"
     "  edvctl tenant create school002 hillside \"Hillside\" basic "
     "europe-west1 --async\n"
     "  edvctl tenant create school003 oakwood \"Oakwood\" standard "
     "us-central1 --wait --format json\n",
     create_opts, 5, 5, create_args, cli_cmd_tenant_create, NULL},
    {"list", "list tenants", "[--tier T] [--state S] [--all]",
     "Lists the tenants recorded in the state store (DELETED ones with\n"
     "--all): id, slug, tier, region, phase and URL.\n"
     "\n"
     "Examples:\n"
     "  edvctl tenant list\n"
     "  edvctl tenant list --tier premium\n"
     "  edvctl tenant list --state failed --format json\n",
     list_opts, 0, 0, NULL, cli_cmd_tenant_list, NULL},
    {"get", "show a tenant and its steps", "ID",
     "Shows the tenant's summary: phase, URLs, the VM, the database and\n"
     "the TLS certificate with their live state (asked from the API; an\n"
     "unreachable API shows `unknown: why`), licences and app access of its\n"
     "tier, the monthly cost estimate (list prices), the last error; then\n"
     "every step with its state, attempts and duration.\n"
     "\nExamples:\n  edvctl tenant get school001\n"
     "  edvctl tenant get school001 --format json\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_get, NULL},
    {"history", "show the tenant's journal", "ID",
     "Every transition and API mutation of the tenant, oldest first: time\n"
     "(UTC), actor, event, step, call or operation, duration, error.\n"
     "\nExamples:\n  edvctl tenant history school001\n"
     "  edvctl tenant history school001 --format json\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_history, NULL},
    {"state", "print the tenant's whole record as JSON", "ID",
     "The tenant document without the live state, as GET\n"
     "/api/tenants/ID answers it (spec fields, phase, steps with\n"
     "requestIds and operations, resource names, subnet range): the\n"
     "equivalent of an isolated Terraform state.\n"
     "\nExamples:\n  edvctl tenant state school001 > "
     "school001.json\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_state, NULL},
    {"plan", "show what a reconcile would change", "ID [--detailed-exitcode]",
     "Observes every resource of the tenant without changing anything (no\n"
     "mutating call, no record written) and prints what a reconcile would\n"
     "do, as a diff: `+` create, `~` change, `-` delete, each with its\n"
     "call, and `!` drift that needs a manual change; or `No changes`. No\n"
     "progress is shown. With --format json: {tenant, tier, phase, in_sync,\n"
     "changes[], drift[], not_checked[]}. With --detailed-exitcode, as\n"
     "terraform: exit 0 when in sync, 2 when there are changes or drift,\n"
     "another code on an error.\n"
     "\nExamples:\n  edvctl tenant plan school001\n"
     "  edvctl tenant plan school001 --format json\n"
     "  edvctl tenant plan school001 --detailed-exitcode || echo drifted\n",
     plan_opts, 1, 1, id_arg, cli_cmd_tenant_plan, NULL},
    {"retry", "retry a FAILED tenant", "ID",
     "Drives a FAILED tenant again in the direction it was going\n"
     "(provisioning or deleting), with the same progress as create.\n"
     "\nExamples:\n  edvctl tenant retry school001\n",
     async_opts, 1, 1, id_arg, cli_cmd_tenant_retry, NULL},
    {"resume", "continue interrupted tenants", "[ID | --all]",
     "Continues tenants left PENDING, PROVISIONING or DEPROVISIONING by a\n"
     "crash, Ctrl-C or `--async`: recorded operations are\n"
     "awaited, not re-issued. With one ID, the same progress as create.\n"
     "\nExamples:\n  edvctl tenant resume school001\n"
     "  edvctl tenant resume --all\n",
     resume_opts, 0, 1, id_arg, cli_cmd_tenant_resume, NULL},
    {"update", "change a tenant's name, options or release",
     "ID [--display-name NAME] [--ops-ssh on|off] | ID --release VERSION",
     "Changes the display name or an option of a tenant (PUT\n"
     "/api/tenants/ID) and drives it up, with the same progress as\n"
     "create. --ops-ssh on adds the firewall rule\n"
     "edv-ID-allow-iap-ssh (Identity-Aware Proxy's 35.235.240.0/20 to the\n"
     "tenant VM's tcp:22 only); off removes it (only that rule, and only\n"
     "when it is ours). The VM has no public IP and uses OS Login: connect\n"
     "with `gcloud compute ssh VM --tunnel-through-iap`.\n"
     "--release VERSION changes the release the tenant runs (POST\n"
     "/api/tenants/ID/release), alone: a VM of the release's image, with\n"
     "the labels and metadata of the tenant's VM, joins its instance group;\n"
     "once the load balancer reports it HEALTHY it serves and the old VM\n"
     "drains out and is deleted. Not HEALTHY within\n"
     "release.health_timeout_s: it is removed, the tenant stays on its old\n"
     "VM and release, and the command fails saying so (the tenant is\n"
     "FAILED until `edvctl tenant retry`).\n"
     "\nExamples:\n  edvctl tenant update school001 --ops-ssh on\n"
     "  edvctl tenant update school001 --release 1.5.0\n"
     "  edvctl tenant update school001 --display-name \"Greenwood Academy\"\n"
     "  edvctl tenant update school001 --ops-ssh off --format json\n",
     update_opts, 1, 1, id_arg, cli_cmd_tenant_update, NULL},
    {"scale", "move a tenant to another tier", "ID TIER",
     "Records the new tier and drives the tenant to it, with the same\n"
     "progress as create: the VM's machine type (stop, setMachineType,\n"
     "start), its boot disk and Cloud SQL's tier and storage. Disks never\n"
     "shrink: a smaller tier keeps the larger disks, and a note says so.\n"
     "Only a READY or FAILED tenant can scale. With --format json: {tenant,\n"
     "from_tier, to_tier, notes}, as POST /api/tenants/ID/scale answers.\n"
     "\nExamples:\n  edvctl tenant scale school001 premium\n"
     "  edvctl tenant scale school001 basic --format json\n",
     async_opts, 2, 2, scale_args, cli_cmd_tenant_scale, NULL},
    {"apply", "carry out what `tenant plan` shows", "ID",
     "Reconciles the tenant now, with the same progress as create: every\n"
     "step observes its resources and makes the calls `tenant plan`\n"
     "listed (a deleted firewall rule is created again, a changed setting\n"
     "put back). A tenant being deleted goes on down; a FAILED one needs\n"
     "`tenant retry`. With --format json: the tenant document.\n"
     "\nExamples:\n  edvctl tenant plan school001 && edvctl tenant apply "
     "school001\n"
     "  edvctl tenant apply school001 --format json\n",
     async_opts, 1, 1, id_arg, cli_cmd_tenant_apply, NULL},
    {"delete", "deprovision a tenant", "ID [--now] [--yes] [--async]",
     "A READY tenant is first suspended for its grace (tenant.delete_grace_s,\n"
     "7 days by default): its VM stopped, its host rule taken out of the\n"
     "load balancer, its DNS A records removed, nothing destroyed;\n"
     "SUSPENDED, `tenant get` shows purge_after. `tenant undelete` brings\n"
     "it back; edvd purges it when the grace ends. With --now (or for a\n"
     "SUSPENDED tenant, --now again), the purge is at once:\n"
     "deletes every resource of the tenant (backwards through its plan);\n"
     "its subnet range returns to the pool and its record stays, DELETED,\n"
     "with its history. Its Cloud SQL instance goes with a final backup\n"
     "kept for the tier's backup.final_backup_days (at least 30; `tenant\n"
     "get` shows it), from which `tenant recover` recreates the tenant.\n"
     "Asks on a terminal (type the id) unless --yes; without a terminal,\n"
     "--yes is required (exit 2).\n"
     "\nExamples:\n  edvctl tenant delete school001\n"
     "  edvctl tenant delete school001 --now --yes --format json\n",
     delete_opts, 1, 1, id_arg, cli_cmd_tenant_delete, NULL},
    {"undelete", "bring back a tenant in its deletion's grace", "ID",
     "Brings a SUSPENDED tenant (deleted, in its grace) back to READY, with\n"
     "the same progress as create: its VM started, its host rule and DNS\n"
     "records put back; the same Cloud SQL instance and data. Refused for a\n"
     "tenant in any other phase. With --format json: the tenant document.\n"
     "\nExamples:\n  edvctl tenant undelete school001\n",
     async_opts, 1, 1, id_arg, cli_cmd_tenant_undelete, NULL},
    {"recover", "recreate a deleted tenant from its final backup", "ID",
     "Recreates a DELETED tenant with the same id, slug, hostnames, tier\n"
     "and region, its Cloud SQL data restored from the final backup its\n"
     "deletion left (`tenant get` shows final_backup: name and expiry),\n"
     "with the same progress as create. The database user gets a new\n"
     "password. Refused, naming why, when the tenant is not DELETED or the\n"
     "final backup is missing, expired or gone. With --format json: the\n"
     "tenant document.\n"
     "\nExamples:\n  edvctl tenant recover school001\n"
     "  edvctl tenant recover school001 --async\n",
     async_opts, 1, 1, id_arg, cli_cmd_tenant_recover, NULL},
    {"move", "move a tenant to another region",
     "ID --region R [--from-latest-backup] [--async]",
     "Moves a READY tenant to region R: its load balancer backend,\n"
     "instance group, VM, subnet and Cloud SQL instance in the old region\n"
     "are retired (the instance deleted with a final backup), then brought\n"
     "up in R with the database restored from that backup, with the same\n"
     "progress as create. Hostnames, DNS and the load balancer's IP stay;\n"
     "the school is offline from the backend's removal until the new VM is\n"
     "healthy (docs/operations.md). Killed midway, `tenant resume ID`\n"
     "carries the move on. Refused, naming why, for an unknown region,\n"
     "the tenant's own, a tenant not READY, or an old region that is down.\n"
     "With --from-latest-backup (failover, for an old region that is down)\n"
     "the tenant comes up in R from the newest successful backup of its\n"
     "database kept outside the old region, without asking that region\n"
     "(what was written since that backup is lost); the old region's\n"
     "resources are recorded and retired by the reconcile pass once the\n"
     "region answers again.\n"
     "\nExamples:\n  edvctl tenant move school001 --region europe-west1\n"
     "  edvctl tenant move school001 --region europe-west1 --async\n"
     "  edvctl tenant move school001 --region europe-west2 "
     "--from-latest-backup\n",
     move_opts, 1, 1, id_arg, cli_cmd_tenant_move, NULL},
    {"backup", "take an on-demand backup of the tenant's database",
     "ID [--description D]",
     "Takes an on-demand Cloud SQL backup of the tenant's instance (a\n"
     "READY tenant; none while a run drives it or another backup or\n"
     "restore of it is on) and waits until it is done; with --server,\n"
     "edvd takes it and answers once it started (follow it with `tenant\n"
     "backups`). The journal says backup.start and backup. --format json\n"
     "prints {tenant, kind, instance, backup_id, operation, status,\n"
     "started, replayed}.\n"
     "\nExamples:\n  edvctl tenant backup school001\n"
     "  edvctl tenant backup school001 --description 'before the term'\n",
     backup_opts, 1, 1, id_arg, cli_cmd_tenant_backup, NULL},
    {"backups", "list the backups of the tenant's database", "ID",
     "The backup runs of the tenant's Cloud SQL instance, newest first\n"
     "(one page of 100): id, type, status, end, description; and the\n"
     "backup or restore in progress. --format json prints {tenant,\n"
     "instance, backups, more, operation}.\n"
     "\nExamples:\n  edvctl tenant backups school001\n"
     "  edvctl tenant backups school001 --format json\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_backups, NULL},
    {"restore", "restore the tenant's database from a backup or to a time",
     "ID --backup B | --to-time T",
     "Restores the tenant's Cloud SQL instance from its backup run B (one\n"
     "of this tenant's, SUCCESSFUL) and waits until it is done; with\n"
     "--server, edvd answers once it started. Same rules and document as\n"
     "backup.\n"
     "\n"
     "--to-time T restores the database as it was at T (RFC 3339): Cloud\n"
     "SQL clones the instance at T into the tenant's next instance name,\n"
     "the tenant switches to it (its VM is pointed at it and reset) and\n"
     "the old instance is deleted. T must be inside the recovery window\n"
     "(point-in-time recovery's log retention, not before the instance was\n"
     "made, not in the future); outside it nothing changes and the error\n"
     "names the earliest and latest times (exit 2). Interrupted (Ctrl-C, a\n"
     "crash), the same command with the same T finishes it. --format json\n"
     "prints {tenant, kind, point_in_time, from_instance, instance, status,\n"
     "resumed, started}.\n"
     "\nExamples:\n  edvctl tenant backups school001\n"
     "  edvctl tenant restore school001 --backup 1733562000000\n"
     "  edvctl tenant restore school001 --to-time 2026-12-07T09:30:00Z\n",
     restore_opts, 1, 1, id_arg, cli_cmd_tenant_restore, NULL},
    {"metrics", "show the tenant's metrics over a window", "ID [--window W]",
     "The seed's tenant metrics over the window (60s..30d, default 1h)\n"
     "from Cloud Monitoring: active users, requests per second and the\n"
     "share answered 5xx (the load balancer's), response time p50/p95,\n"
     "the VM's CPU and memory, the database's CPU and connections (now,\n"
     "mean, max); availability and probe latency from edvd's probes; the\n"
     "backup or restore in progress, and how long each step took.\n"
     "--format json adds each metric's points (about 60 over the window).\n"
     "\nExamples:\n  edvctl tenant metrics school001\n"
     "  edvctl tenant metrics school001 --window 7d --format json\n",
     metrics_opts, 1, 1, id_arg, cli_cmd_tenant_metrics, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_cmd tiers_cmds[] = {
    {"list", "list the subscription tiers", "",
     "The tiers of tiers.json (config tiers_file, else ./tiers.json, the\n"
     "installed copy or the source tree's) with their machine type, disk,\n"
     "database, licences, backups and a monthly cost estimate from list\n"
     "prices.\n\nExamples:\n  edvctl tiers list\n"
     "  edvctl tiers list --format json\n"
     "  edvctl --config edv.conf tiers list   # tiers_file = my-tiers.json\n",
     NULL, 0, 0, NULL, cli_cmd_tiers_list, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_cmd infra_cmds[] = {
    {"audit", "prove tenant isolation from the project's live network", "",
     "Lists the project's firewall rules, VMs (every zone) and Cloud SQL\n"
     "instances (read-only: three list calls, nothing is changed) and\n"
     "evaluates Compute firewall semantics (network, direction, priority,\n"
     "allow over deny, source and target tags, service accounts and\n"
     "ranges, protocols and ports, disabled rules, the implied rules) for\n"
     "every tenant VM and database. Only Google's load-balancer ranges\n"
     "(tcp:80) and, for a tenant with --ops-ssh, IAP's range through the\n"
     "tenant's own rule (tcp:22) may reach a tenant VM. Findings:\n"
     "cross-tenant (a tenant's VM reaches another's), exposed (anything\n"
     "else reaches a tenant VM), db-reachable (a tenant's VM can reach\n"
     "another tenant's Cloud SQL private IP), db-public, db-tls. Each\n"
     "names the rule that decided and the tenants. Exit 8 when there is\n"
     "any finding; --format json prints {tenants, findings, checked}.\n"
     "\n"
     "Examples:\n"
     "  edvctl --sim infra audit\n"
     "  edvctl --project my-proj infra audit --format json\n",
     NULL, 0, 0, NULL, cli_cmd_infra_audit, NULL},
    {"status", "show the fleet's tenants, runs and platform", "",
     "Tenants by phase and tier, the FAILED ones with their error, the\n"
     "runs in flight and the platform's phase, from the state store (no\n"
     "cloud call); with --server, edvd's document, which adds its\n"
     "reconciler, drift and probe figures. --format json prints {tenants,\n"
     "failed, runs_in_flight, runs, platform, apis, ...}.\n"
     "\nExamples:\n  edvctl infra status\n"
     "  edvctl --server https://edvd.example:8443 infra status --format json\n",
     NULL, 0, 0, NULL, cli_cmd_infra_status, NULL},
    {"costs", "estimate the fleet's monthly cost", "",
     "Monthly list-price estimates per tier from tiers.json for the\n"
     "tenants not DELETED, shared platform costs split across them; not\n"
     "a bill. --format json prints {currency, basis, tenants, tiers,\n"
     "monthly_total}.\n"
     "\nExamples:\n  edvctl infra costs\n"
     "  edvctl infra costs --format json\n",
     NULL, 0, 0, NULL, cli_cmd_infra_costs, NULL},
    {"capacity", "show quotas and how many tenants still fit", "",
     "The Compute quotas of the fleet's regions, the URL map's host rules,\n"
     "the project's Cloud SQL instances and the subnet pool, and how many\n"
     "more tenants of each tier fit, with what binds first (read-only\n"
     "calls). --format json prints {as_of, age_s, fresh, max_age_s,\n"
     "per_tenant, regions, subnets, url_map, sql}.\n"
     "\nExamples:\n  edvctl infra capacity\n"
     "  edvctl infra capacity --format json\n",
     NULL, 0, 0, NULL, cli_cmd_infra_capacity, NULL},
    {"incidents", "list the alert policies' incidents",
     "[--state open|closed|all] [--tenant ID]",
     "The incidents Cloud Monitoring reported to edvd's alert intake\n"
     "(POST /api/v1/alerts/notifications), newest first, from the state\n"
     "store (no cloud call): tenant, alert, severity, state, since, ended\n"
     "and summary; then the open ones by alert and severity. --format json\n"
     "prints {incidents, next_page_token, open}, the document of GET\n"
     "/api/alerts/incidents, the same locally and with --server.\n"
     "\nExamples:\n  edvctl infra incidents --state open\n"
     "  edvctl --server https://edvd.example:8443 infra incidents --tenant "
     "greenwood\n",
     incidents_opts, 0, 0, NULL, cli_cmd_infra_incidents, NULL},
    {"reconcile", "resume every interrupted tenant now", "[--async]",
     "A reconcile pass, as POST /api/infrastructure/reconcile: every\n"
     "tenant left PENDING, PROVISIONING or DEPROVISIONING (a crash,\n"
     "Ctrl-C, --async) that no run drives is driven on in the direction it\n"
     "was going, and idempotency keys older than a day are forgotten;\n"
     "nothing happens while the platform is not READY. Waits for the runs\n"
     "unless --async (with --server, edvd runs them: it answers at once,\n"
     "and adds its drift pass). --format json prints {resumed,\n"
     "runs_in_flight, platform}.\n"
     "\nExamples:\n  edvctl infra reconcile\n"
     "  edvctl --server https://edvd.example:8443 infra reconcile\n",
     async_opts, 0, 0, NULL, cli_cmd_infra_reconcile, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_opt release_create_opts[] = {
    {"image", 0, "I",
     "the tenant image (an image of config release.image_project, default "
     "the fleet's project)"},
    {"image-family", 0, "F",
     "the image family: its newest image now is the release's"},
    {"notes", 0, "TEXT", "what the release brings (free text)"},
    {NULL, 0, NULL, NULL},
};

static const char *const version_arg[] = {"VERSION"};

static const cli_cmd release_cmds[] = {
    {"create", "record a release: an app version and its tenant image",
     "VERSION --image I | --image-family F [--notes TEXT]",
     "Records release VERSION (MAJOR.MINOR.PATCH[-PRERELEASE], lower case)\n"
     "naming the tenant image that holds the app. The image is checked\n"
     "through the Compute API first (it must exist, be READY and not be\n"
     "deprecated); a family is resolved to its newest image now. Nothing is\n"
     "recorded on an error (exit 2, naming the field); an existing version\n"
     "exits 4. The newest release is the current one: new tenants run it.\n"
     "--format json prints {version, image, image_family, notes, created,\n"
     "current}.\n"
     "\nExamples:\n"
     "  edvctl release create 1.4.0 --image-family edvirons-tenant\n"
     "  edvctl release create 1.4.1 --image edvirons-tenant-20261207 "
     "--notes \"fixes\"\n",
     release_create_opts, 1, 1, version_arg, cli_cmd_release_create, NULL},
    {"list", "list the releases, oldest first", "",
     "Lists the recorded releases and says which one is current.\n"
     "--format json prints {releases, current}.\n"
     "\nExamples:\n  edvctl release list\n"
     "  edvctl release list --format json\n",
     NULL, 0, 0, NULL, cli_cmd_release_list, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_opt sim_start_opts[] = {
    {"port", 0, "N", "listen on port N (default 0: any free port)"},
    {"host", 0, "ADDR", "bind address (default 127.0.0.1)"},
    {"profile", 0, "P",
     "latency profile: fast, demo or realistic (default: config "
     "sim.profile, else fast)"},
    {"state", 0, "FILE",
     "keep the simulated cloud in FILE (default STATE_DIR/sim-cloud.json, "
     "the cloud --sim uses)"},
    {"key-out", 0, "FILE",
     "write a service-account key the simulator trusts to FILE (default "
     "STATE_DIR/sim-key.json)"},
    {"time-scale", 0, "X", "simulated seconds per real second (default 1)"},
    {"no-auth", 0, NULL, "accept API calls without a bearer token"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt sim_state_opts[] = {
    {"kind", 0, "K", "only resources of kind K (compute#instance, ...)"},
    {NULL, 0, NULL, NULL},
};
static const char *const sim_fault_args[] = {"FAULT"};
static const char *const sim_fault_id_args[] = {"ID"};
static const char *const sim_duration_args[] = {"DURATION"};

static const cli_cmd sim_faults_cmds[] = {
    {"add", "add a fault", "FAULT",
     "FAULT is a JSON object: api (compute, sql, dns, certificatemanager,\n"
     "secretmanager, iam, monitoring, servicenetworking, or *), method\n"
     "(a method id), errorRate (0..1), code (HTTP status, default 503),\n"
     "reason, message, latencyMs, latencyRate (0..1: the share delayed),\n"
     "dropAfterApply (0..1: the call is done,\n"
     "its answer lost), count (how many times), failOperation,\n"
     "operationError {code, message, httpStatus}, unhealthy (an instance).\n"
     "Prints the fault's id.\n"
     "\nExamples:\n"
     "  edvctl sim faults add '{\"api\":\"sql\",\"errorRate\":1,"
     "\"code\":429,\"count\":3}'\n"
     "  edvctl sim faults add '{\"api\":\"*\",\"latencyMs\":2000}'\n",
     NULL, 1, 1, sim_fault_args, cli_cmd_sim_faults_add, NULL},
    {"list", "list the active faults", "",
     "Prints the active faults with their ids and settings.\n"
     "\nExamples:\n  edvctl sim faults list\n",
     NULL, 0, 0, NULL, cli_cmd_sim_faults_list, NULL},
    {"clear", "remove one fault, or all", "[ID]",
     "Removes fault ID, or every fault.\n"
     "\nExamples:\n  edvctl sim faults clear\n  edvctl sim faults clear 2\n",
     NULL, 0, 1, sim_fault_id_args, cli_cmd_sim_faults_clear, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_cmd sim_clock_cmds[] = {
    {"advance", "move the simulated clock forward", "DURATION",
     "Moves the clock by DURATION (90, 90s, 15m, 2h, 1d): pending\n"
     "operations, VM boots and scheduled backups that fall due complete.\n"
     "\nExamples:\n  edvctl sim clock advance 15m\n",
     NULL, 1, 1, sim_duration_args, cli_cmd_sim_clock_advance, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_cmd sim_cmds[] = {
    {"start", "run the Google Cloud simulator in the foreground",
     "[--port N] [--profile P] [--state FILE] [--key-out FILE]",
     "Runs edv-gcpsim, the local simulator of the Google Cloud APIs edv\n"
     "calls (Compute, Cloud SQL, DNS, Certificate Manager, Monitoring, IAM,\n"
     "Secret Manager, Service Networking, OAuth2 tokens), in the\n"
     "foreground until Ctrl-C or SIGTERM, which save its state and exit 0.\n"
     "It prints `listening on URL` and the variables that point edvctl\n"
     "(EDV_*) and gcloud (CLOUDSDK_*) at it, as `sim env` does; with\n"
     "--format json one object (url, port, project, key_file, state_file).\n"
     "By default it serves the same cloud as --sim. The other sim commands\n"
     "find it through the state directory's sim-env.json.\n"
     "\n"
     "Examples:\n"
     "  edvctl sim start --port 8080 --profile demo\n"
     "  edvctl sim start --state /tmp/cloud.json --key-out /tmp/key.json\n"
     "  EDV_ENDPOINT=http://127.0.0.1:8080 EDV_KEY_FILE=/tmp/key.json \\\n"
     "      EDV_PROJECT=edv-sim edvctl tenant list\n",
     sim_start_opts, 0, 0, NULL, cli_cmd_sim_start, NULL},
    {"env", "print the variables that point clients at it", "",
     "Prints the export lines for the simulator that `sim start` runs from\n"
     "this state directory: EDV_ENDPOINT, EDV_KEY_FILE and EDV_PROJECT for\n"
     "edvctl and libedv; for gcloud, CLOUDSDK_CORE_PROJECT,\n"
     "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (a token `sim start` keeps fresh)\n"
     "and one CLOUDSDK_API_ENDPOINT_OVERRIDES_<API> per API.\n"
     "\nExamples:\n  eval \"$(edvctl sim env)\"\n"
     "  gcloud compute instances list\n",
     NULL, 0, 0, NULL, cli_cmd_sim_env, NULL},
    {"state", "print the simulated cloud's resources", "[--kind K]",
     "Prints the resources the running simulator holds (Secret Manager\n"
     "payloads masked), all or of one kind.\n"
     "\nExamples:\n  edvctl sim state --kind compute#instance\n"
     "  edvctl sim state --format json > cloud.json\n",
     sim_state_opts, 0, 0, NULL, cli_cmd_sim_state, NULL},
    {"reset", "empty the simulated project", "",
     "Drops every resource, operation, fault and request log of the running\n"
     "simulator: a fresh project (the state directory's records are not\n"
     "touched).\n"
     "\nExamples:\n  edvctl sim reset\n",
     NULL, 0, 0, NULL, cli_cmd_sim_reset, NULL},
    {"faults", "inject errors, latency and drops", "COMMAND",
     "Faults the running simulator injects into matching calls.\n"
     "\nExamples:\n"
     "  edvctl sim faults add '{\"api\":\"compute\",\"errorRate\":0.1,"
     "\"code\":503}'\n"
     "  edvctl sim faults list\n",
     NULL, 0, -1, NULL, NULL, sim_faults_cmds},
    {"clock", "the simulated clock", "COMMAND",
     "Moves the simulator's clock (operations, VM boots, backups).\n"
     "\nExamples:\n  edvctl sim clock advance 15m\n",
     NULL, 0, -1, NULL, NULL, sim_clock_cmds},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_opt token_create_opts[] = {
    {"role", 0, "ROLE",
     "viewer (GET only), operator (tenant lifecycle) or "
     "admin (everything)"},
    {"name", 0, "NAME", "who uses it (1..64 of A-Z a-z 0-9 . _ @ -)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd token_cmds[] = {
    {"create", "create a Management API token for edvd",
     "--role ROLE --name NAME",
     "Creates a bearer token for edvd's Management API and prints it once\n"
     "on stdout. The state directory's api-tokens.json (0600) keeps only a\n"
     "salted hash. A running edvd loads new tokens on SIGHUP.\n"
     "\n"
     "Examples:\n"
     "  edvctl token create --role admin --name alice\n"
     "  edvctl token create --role viewer --name grafana --state-dir "
     "/var/lib/edv\n",
     token_create_opts, 0, 0, NULL, cli_cmd_token_create, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const char *const completion_args[] = {"SHELL"};
static const char *const config_key_args[] = {"KEY", "VALUE"};

static const cli_cmd config_cmds[] = {
    {"list", "every key with its value and source", "",
     "Prints the effective configuration: every key that has a value, the\n"
     "value, and where it comes from (default, file, environment or flag;\n"
     "later ones win). The first line names the config file.\n"
     "\nExamples:\n  edvctl config list\n"
     "  edvctl config list --format json\n",
     NULL, 0, 0, NULL, cli_cmd_config_list, NULL},
    {"get", "print one key's effective value", "KEY",
     "Prints the value KEY has for edvctl now (file, environment and flags\n"
     "applied); exit 3 when it has none. Keys are listed in docs/config.md.\n"
     "\nExamples:\n  edvctl config get project\n"
     "  edvctl config get http.timeout_ms\n",
     NULL, 1, 1, config_key_args, cli_cmd_config_get, NULL},
    {"set", "set a key in the config file", "KEY VALUE",
     "Validates KEY and VALUE and writes them to the config file (--config,\n"
     "EDV_CONFIG, else $XDG_CONFIG_HOME/edv/config), keeping its other\n"
     "lines and comments; the file is replaced atomically and a new one is\n"
     "0600. The environment and flags still override it.\n"
     "\nExamples:\n  edvctl config set project my-proj\n"
     "  edvctl config set region europe-west1\n",
     NULL, 2, 2, config_key_args, cli_cmd_config_set, NULL},
    {"unset", "remove a key from the config file", "KEY",
     "Removes KEY's lines from the config file; it takes its default again.\n"
     "\nExamples:\n  edvctl config unset region\n",
     NULL, 1, 1, config_key_args, cli_cmd_config_unset, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_opt fleet_update_opts[] = {
    {"release", 0, "VERSION", "the release to roll out (start an update)"},
    {"waves", 0, "LIST",
     "cumulative targets, counts or percentages (default 1,100%)"},
    {"soak", 0, "DURATION",
     "how long each wave stays healthy before the next (default 60s)"},
    {"max-parallel", 0, "N", "tenants updated at once (default 5)"},
    {"max-failures", 0, "N",
     "failed tenants tolerated before halting "
     "(default 0)"},
    {"tier", 0, "T[,T]",
     "only tenants of these tiers, comma-separated or the flag repeated "
     "(default every tier)"},
    ASYNC_OPT,
    {NULL, 0, NULL, NULL},
};

static const char *const fleet_update_args[] = {"ACTION", "ID"};

static const cli_cmd fleet_cmds[] = {
    {"update", "roll a release out to the fleet in waves",
     "--release VERSION [--waves 1,10%,50%,100%] [--soak DURATION]\n"
     "           [--max-parallel N] [--max-failures N] [--tier T[,T]] "
     "[--async]\n"
     "       edvctl fleet update status|pause|resume|abort|rollback [ID]",
     "Moves the READY tenants (of --tier, when given) that do not run\n"
     "release VERSION to it, wave by wave: --waves gives each wave's\n"
     "cumulative target, a count or a percentage of the selected tenants\n"
     "(tenants past the last one are left out); at most --max-parallel\n"
     "tenants at a time; once a wave is updated, its tenants must stay\n"
     "healthy (READY on the release, VM RUNNING, the app reporting it) for\n"
     "--soak before the next wave starts. More failed tenants than\n"
     "--max-failures halt the update (HALTED, exit 5). The update is\n"
     "recorded before anything is done: Ctrl-C or a crash leaves it\n"
     "RUNNING, and `fleet update resume` carries it on (edvd does so by\n"
     "itself). Waits and shows the waves and tenants unless --async.\n"
     "ACTION: status (the newest update, or ID), pause (no tenant starts;\n"
     "those in flight finish), resume (PAUSED or HALTED: the failed\n"
     "tenants of the wave are retried; RUNNING: carried on here), abort\n"
     "(stops for good), rollback (the tenants it moved go back to their\n"
     "previous release, the same way). With --server, through edvd's\n"
     "Management API. --format json prints the update document (docs/\n"
     "api.md, \"Fleet updates\").\n"
     "\nExamples:\n"
     "  edvctl fleet update --release 1.5.0 --waves 1,10%,50%,100% --soak 10m\n"
     "  edvctl fleet update status\n"
     "  edvctl fleet update resume u-20261207-101500\n"
     "  edvctl fleet update rollback\n",
     fleet_update_opts, 0, 2, fleet_update_args, cli_cmd_fleet_update, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

const cli_cmd cli_commands[] = {
    {"token", "Management API tokens (edvd)", "COMMAND",
     "Commands about the bearer tokens edvd accepts.\n"
     "\nExamples:\n  edvctl token create --role viewer --name grafana\n",
     NULL, 0, -1, NULL, NULL, token_cmds},
    {"platform", "the shared platform", "COMMAND",
     "Commands about the resources every tenant shares.\n"
     "\nExamples:\n  edvctl --sim platform init\n",
     NULL, 0, -1, NULL, NULL, platform_cmds},
    {"tenant", "tenant lifecycle", "COMMAND",
     "Create, inspect, repair and delete tenants. With --server URL (env\n"
     "EDV_SERVER) and a token (env EDV_TOKEN or --token-file), create,\n"
     "list, get, state, history, delete, recover, move, retry, resume ID, "
     "backup,\n"
     "backups, restore and metrics go through edvd's Management API and\n"
     "print the same output.\n"
     "\nExamples:\n"
     "  edvctl --sim tenant create school001 greenwood-high "
     "\"Greenwood High School\" premium us-central1\n"
     "  edvctl --sim tenant list\n"
     "  edvctl --sim tenant get school001\n"
     "  EDV_TOKEN=... edvctl --server https://edvd:8443 --cacert ca.pem "
     "tenant list\n",
     NULL, 0, -1, NULL, NULL, tenant_cmds},
    {"infra", "the project's infrastructure as a whole", "COMMAND",
     "Commands about every tenant's resources at once.\n"
     "\nExamples:\n  edvctl --sim infra audit\n  edvctl infra status\n",
     NULL, 0, -1, NULL, NULL, infra_cmds},
    {"state", "the state store itself: export, import, rebuild", "COMMAND",
     "Commands about edv.db, the state store (docs/operations.md, \"Lost\n"
     "edv.db\").\n"
     "\nExamples:\n  edvctl state export fleet.json\n"
     "  edvctl state rebuild\n",
     NULL, 0, -1, NULL, NULL, cli_state_cmds},
    {"release", "releases: what tenant VMs run", "COMMAND",
     "The releases (an app version and the tenant image holding it) the\n"
     "fleet's VMs run; docs/operations.md, \"Releases\". With --server,\n"
     "through edvd's Management API.\n"
     "\nExamples:\n  edvctl release list\n",
     NULL, 0, -1, NULL, NULL, release_cmds},
    {"fleet", "the fleet as a whole: rolling updates", "COMMAND",
     "Commands that act on many tenants at once (docs/operations.md,\n"
     "\"Rolling out a release\").\n"
     "\nExamples:\n  edvctl fleet update --release 1.5.0\n",
     NULL, 0, -1, NULL, NULL, fleet_cmds},
    {"tiers", "subscription tiers", "COMMAND",
     "The tiers tenants are provisioned from.\n"
     "\nExamples:\n  edvctl tiers list\n",
     NULL, 0, -1, NULL, NULL, tiers_cmds},
    {"sim", "the local Google Cloud simulator", "COMMAND",
     "Commands about edv-gcpsim, the simulator behind --sim.\n"
     "\nExamples:\n  edvctl sim start --port 8080 --profile demo\n",
     NULL, 0, -1, NULL, NULL, sim_cmds},
    {"api", "make one authenticated REST call",
     "METHOD URL_OR_PATH [--data JSON|@FILE] [--api NAME] [--wait]\n"
     "           [--timeout SECONDS]",
     "Sends one request through the engine (credentials, rate limits,\n"
     "retries, endpoint overrides) and prints the JSON answer. METHOD is\n"
     "GET, POST, PUT, PATCH or DELETE. URL_OR_PATH is a path such as\n"
     "/compute/v1/projects/P/global/networks, resolved against the API's\n"
     "endpoint, or an absolute http(s) URL. The API is inferred from the\n"
     "path (/compute/ compute, /sql/ sqladmin, /dns/ dns, /v3/ monitoring,\n"
     "/v1/projects/P/locations certificatemanager, .../secrets\n"
     "secretmanager, .../serviceAccounts iam, .../instances and\n"
     ".../operations sqladmin, /v1/services servicenetworking); --api\n"
     "overrides it. An error prints one line and exits non-zero.\n"
     "\n"
     "Examples:\n"
     "  edvctl api GET /compute/v1/projects/my-proj/global/networks\n"
     "  edvctl api POST /compute/v1/projects/my-proj/global/networks \\\n"
     "      --data '{\"name\":\"edv-net\",\"autoCreateSubnetworks\":false}' "
     "--wait\n"
     "  edvctl api PATCH /sql/v1beta4/projects/p/instances/db --data "
     "@patch.json\n"
     "  edvctl --sim api GET /dns/v1/projects/edv-sim/managedZones\n",
     api_opts, 2, 2, api_arg_names, cli_cmd_api, NULL},
    {"auth", "credentials and access tokens", "COMMAND",
     "Commands about the credentials edvctl uses.\n"
     "\nExamples:\n  edvctl auth print-access-token\n",
     NULL, 0, -1, NULL, NULL, auth_cmds},
    {"config", "edvctl's configuration file", "COMMAND",
     "Reads and edits the configuration edvctl uses (docs/config.md). The\n"
     "file is --config, else EDV_CONFIG, else $XDG_CONFIG_HOME/edv/config\n"
     "(~/.config/edv/config), read when it exists.\n"
     "\nExamples:\n  edvctl config set project my-proj\n"
     "  edvctl config list\n",
     NULL, 0, -1, NULL, NULL, config_cmds},
    {"completion", "shell completion script", "SHELL",
     "Prints the completion script for SHELL (bash, zsh or fish). It\n"
     "completes commands, flags and their listed values, tenant ids and\n"
     "regions from the state directory, and tiers from tiers.json, by\n"
     "asking edvctl itself, so it follows the installed version.\n"
     "`meson install` installs the three scripts where the shells look.\n"
     "\n"
     "Examples:\n"
     "  source <(edvctl completion bash)\n"
     "  edvctl completion zsh > \"${fpath[1]}/_edvctl\"\n"
     "  edvctl completion fish > ~/.config/fish/completions/edvctl.fish\n",
     NULL, 1, 1, completion_args, cli_cmd_completion, NULL},
    {"version", "print the version", "",
     "Prints the version of edvctl and libedv.\n"
     "\n"
     "Examples:\n"
     "  edvctl version\n"
     "  edvctl version --format json\n",
     NULL, 0, 0, NULL, cli_cmd_version, NULL},
    {"help", "show help for a command", "[COMMAND...]",
     "Shows help for a command, like COMMAND --help.\n"
     "\n"
     "Examples:\n"
     "  edvctl help api\n"
     "  edvctl help auth print-access-token\n",
     NULL, 0, -1, NULL, cli_cmd_help, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};
