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
    {"format", 0, "table|json", "output format (default table)"},
    {"state-dir", 0, "DIR",
     "local state directory (env EDV_STATE_DIR; default "
     "$XDG_STATE_HOME/edv)"},
    {"sim", 0, NULL, "run against the embedded simulator"},
    {"quiet", 'q', NULL, "print results and errors only"},
    {"verbose", 'v', NULL, "log more (repeat for debug logs)"},
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

static const cli_opt create_opts[] = {
    {"wait", 0, NULL, "wait until READY (the default on a terminal)"},
    {"no-wait", 0, NULL, "record the tenant and return (PENDING)"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt list_opts[] = {
    {"tier", 0, "TIER", "only tenants of this tier"},
    {"state", 0, "PHASE", "only tenants in this phase (READY, FAILED, ...)"},
    {"all", 0, NULL, "include DELETED tenants"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt resume_opts[] = {
    {"all", 0, NULL, "resume every interrupted tenant"},
    {NULL, 0, NULL, NULL},
};

static const cli_opt delete_opts[] = {
    {"yes", 'y', NULL, "do not ask for confirmation"},
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

static const cli_cmd tenant_cmds[] = {
    {"create", "provision a tenant's stack",
     "ID SLUG NAME TIER REGION [--wait|--no-wait]",
     "Validates the spec (id, slug, display name, tier from tiers.json,\n"
     "region from the Compute API), records the tenant and provisions its\n"
     "stack: subnet, firewall, service account, DB password secret, Cloud\n"
     "SQL PostgreSQL, database and user, VM, snapshot schedule, instance\n"
     "group, backend service, URL map rule, DNS, certificate, health. Bad\n"
     "input creates nothing. Ctrl-C stops safely; `tenant resume` goes on.\n"
     "\n"
     "Examples:\n"
     "  edvctl --sim tenant create school001 greenwood-high "
     "\"Greenwood High School\" premium us-central1\n"
     "  edvctl tenant create school002 hillside \"Hillside\" basic "
     "europe-west1 --no-wait\n",
     create_opts, 5, 5, create_args, cli_cmd_tenant_create, NULL},
    {"list", "list tenants", "[--tier T] [--state S] [--all]",
     "Lists the tenants recorded in the state store.\n"
     "\n"
     "Examples:\n"
     "  edvctl tenant list\n"
     "  edvctl tenant list --state failed --format json\n",
     list_opts, 0, 0, NULL, cli_cmd_tenant_list, NULL},
    {"get", "show a tenant and its steps", "ID",
     "Shows the tenant's spec, phase, URL, resources, cost estimate and the\n"
     "state of every step.\n\nExamples:\n  edvctl tenant get school001\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_get, NULL},
    {"history", "show the tenant's journal", "ID",
     "Every transition and API mutation of the tenant, oldest first.\n"
     "\nExamples:\n  edvctl tenant history school001\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_history, NULL},
    {"state", "print the tenant's whole record as JSON", "ID",
     "The tenant's record (spec, phase, steps with requestIds and\n"
     "operations, subnet, lease): the equivalent of an isolated Terraform\n"
     "state.\n\nExamples:\n  edvctl tenant state school001 > "
     "school001.json\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_state, NULL},
    {"plan", "show what a reconcile would change", "ID",
     "Observes every resource of the tenant without changing anything and\n"
     "prints the calls a reconcile would make (nothing: it matches).\n"
     "\nExamples:\n  edvctl tenant plan school001\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_plan, NULL},
    {"retry", "retry a FAILED tenant", "ID",
     "Drives a FAILED tenant again in the direction it was going.\n"
     "\nExamples:\n  edvctl tenant retry school001\n",
     NULL, 1, 1, id_arg, cli_cmd_tenant_retry, NULL},
    {"resume", "continue interrupted tenants", "[ID | --all]",
     "Continues tenants left PENDING, PROVISIONING or DEPROVISIONING by a\n"
     "crash or Ctrl-C: recorded operations are awaited, not re-issued.\n"
     "\nExamples:\n  edvctl tenant resume school001\n"
     "  edvctl tenant resume --all\n",
     resume_opts, 0, 1, id_arg, cli_cmd_tenant_resume, NULL},
    {"delete", "deprovision a tenant", "ID [--yes]",
     "Deletes every resource of the tenant (backwards through its plan);\n"
     "its subnet range returns to the pool. Asks on a terminal unless\n"
     "--yes.\n\nExamples:\n  edvctl tenant delete school001 --yes\n",
     delete_opts, 1, 1, id_arg, cli_cmd_tenant_delete, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const cli_cmd tiers_cmds[] = {
    {"list", "list the subscription tiers", "",
     "The tiers of tiers.json with their resources and a monthly cost\n"
     "estimate from list prices.\n\nExamples:\n  edvctl tiers list\n",
     NULL, 0, 0, NULL, cli_cmd_tiers_list, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

const cli_cmd cli_commands[] = {
    {"platform", "the shared platform", "COMMAND",
     "Commands about the resources every tenant shares.\n", NULL, 0, -1,
     NULL, NULL, platform_cmds},
    {"tenant", "tenant lifecycle", "COMMAND",
     "Create, inspect, repair and delete tenants.\n", NULL, 0, -1, NULL,
     NULL, tenant_cmds},
    {"tiers", "subscription tiers", "COMMAND",
     "The tiers tenants are provisioned from.\n", NULL, 0, -1, NULL, NULL,
     tiers_cmds},
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
     "Commands about the credentials edvctl uses.\n", NULL, 0, -1, NULL, NULL,
     auth_cmds},
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
