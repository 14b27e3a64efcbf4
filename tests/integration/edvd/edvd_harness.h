/*
 * edvd_harness.h - shared by the edvd end-to-end tests (see
 * edvd_harness.c). One edvd per test program: eh_setup() starts it with
 * --sim, eh_teardown() stops it and removes the state directory (kept with
 * EDV_KEEP_TEST_DIR=1).
 */
#ifndef EDV_TESTS_EDVD_HARNESS_H
#define EDV_TESTS_EDVD_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

extern const char *edvd_bin, *edvctl_bin; /* argv[1], argv[2] */
extern char dir[256];                     /* the state directory */
extern char base[128], sim_base[128];     /* edvd's and the simulator's URL */
extern pid_t edvd_pid;
extern char tok_admin[128], tok_op[128], tok_view[128];
extern json_object *openapi; /* docs/openapi.json */
/* edvd's --listen ("127.0.0.1:0": a port of the system's choosing). */
extern const char *eh_listen;

typedef struct resp {
  long status;
  char *body;
  size_t len, cap;
  char headers[4096];
  size_t hlen;
  json_object *json;
} resp;

void sleep_ms(long ms);
/* Runs edvctl token create; the token printed on stdout into out. */
void make_token(const char *role, const char *name, char *out, size_t size);
/* Starts edvd (state dir `dir`, config dir/edvd.conf); sets base, sim_base. */
void start_edvd(void);
/* SIGTERMs edvd; returns its exit status and how long it took (ms). */
int stop_edvd(long *ms);
/* One HTTP call; `extra` is one more header line or NULL. A body goes
 * with Content-Type: application/json unless `extra` is another
 * Content-Type ("Content-Type:" alone sends none). */
resp *http(const char *method, const char *url_base, const char *path,
           const char *token, const char *body, const char *extra);
void resp_free(resp *r);
/* The value of response header `name` copied into buf (returned), "" when
 * absent. */
const char *resp_header(const resp *r, const char *name, char *buf,
                        size_t size);
/* A whole file as a new string (free it), "" when it cannot be read. */
char *eh_slurp(const char *path);
/* The string at a dotted path ("error.field"), or NULL. */
const char *jstr(json_object *o, const char *path);
/* Validates v against a schema; 0, or -1 with the reason in why. */
int validate(json_object *schema, json_object *v, const char *where, char *why,
             size_t size);
/* Validates r against the document's response for (template, method). */
void check_schema(resp *r, const char *tmpl, const char *method);
/* A call to edvd that must answer `want`, checked against the document. */
resp *call(const char *method, const char *path, const char *tmpl,
           const char *token, const char *body, const char *extra, long want);
/* An error answer `want` naming `field` (when not NULL). */
void expect_error_h(const char *method, const char *path, const char *tmpl,
                    const char *token, const char *body, const char *extra,
                    long want, const char *field);
void expect_error(const char *method, const char *path, const char *tmpl,
                  const char *token, const char *body, long want,
                  const char *field);
/* The tenant's phase ("?" when unknown); waits for one (fails the test). */
const char *phase_of(const char *id);
void wait_phase(const char *id, const char *phase, int secs);
/* Creates tenants `ids` (tier basic, slug "school-ID", display name
 * `name`) through the API and waits up to 90 s for all to be READY: 0, or
 * -1 (for a setup function). */
int eh_tenants_ready(const char *const *ids, size_t n, const char *name);
/* A tenant spec's JSON in buf. */
char *spec(char *buf, size_t size, const char *id, const char *slug,
           const char *name, const char *tier);
/* Runs `edvctl api METHOD PATH --wait` against the simulator; exit status. */
int sim_api(const char *method, const char *path);
/* The same with `--data JSON` (data may be NULL). */
int sim_api_data(const char *method, const char *path, const char *data);
/* The simulator's canonical name of the resource ending in `suffix`. */
int sim_find(const char *suffix, char *out, size_t size);
/* The simulator's resource whose name ends in `suffix` (new), or NULL. */
json_object *sim_resource(const char *suffix);
/* Asserts the tenant's VM machine type (and RUNNING), boot disk size, Cloud
 * SQL tier and storage in the simulator; a size of 0 is not checked. */
void check_tenant_cloud(const char *id, const char *mt, const char *sqltier,
                        int boot_gb, int sql_gb);
/* Makes A record `name` -> `ip` in managed zone `zone` (its canonical
 * name, "projects/P/managedZones/Z") through the simulator's API. */
void sim_make_a(const char *zone, const char *name, const char *ip);
/* Requests in the simulator's log (its last 4,096) with this method id
 * whose path contains `path_part` (NULL: any). */
int sim_count(const char *method_id, const char *path_part);
/* 0 when the simulator holds exactly one READY footprint of the tenant. */
int footprint_ok(const char *id, const char *slug, char *why, size_t size);

/* Runs edvctl with `args` (NULL-ended; the program name is added) and
 * `env` (NAME=VALUE strings, NULL-ended, or NULL) set on top of this
 * environment, less EDV_SERVER, EDV_TOKEN, EDV_TOKEN_FILE and EDV_CACERT;
 * stdin is /dev/null. Its stdout and stderr go to new strings (free them)
 * when out/err are not NULL. Returns the exit status. */
int run_edvctl(const char *const *env, const char *const *args, char **out,
               char **err);

/* The alert intake (POST /api/v1/alerts/notifications): a 0600 password
 * file in a new directory (eh_intake_file), its config line into conf;
 * EH_INTAKE_AUTH the header that passes. */
#define EH_INTAKE_PASSWORD "s3cret-intake"
#define EH_INTAKE_AUTH                                                         \
  "Authorization: Basic ZWR2LWFsZXJ0czpzM2NyZXQtaW50YWtl" /* edv-alerts: */
extern char eh_intake_file[320];
int eh_intake_setup(char *conf, size_t size);
void eh_intake_cleanup(void);
/* A notification as Monitoring sends it (webhook schema 1.2) into buf:
 * incident `id`, `state` "open" or "closed", `user`, `metric` and
 * `backend` the labels that name the tenant (NULL: absent). */
char *eh_notification(char *buf, size_t size, const char *id, const char *state,
                      const char *user, const char *metric,
                      const char *backend);

int eh_setup(const char *conf_extra);
int eh_teardown(void);

/* Rate limits off and wide concurrency, for fleets on the local simulator
 * (a real project's budgets would make the test wait minutes). */
#define EH_CONF_UNLIMITED                                                      \
  "ratelimit.compute.per_minute = 0\n"                                         \
  "ratelimit.compute.write.per_minute = 0\n"                                   \
  "ratelimit.sqladmin.per_minute = 0\n"                                        \
  "ratelimit.dns.per_minute = 0\n"                                             \
  "ratelimit.certificatemanager.per_minute = 0\n"                              \
  "ratelimit.iam.per_minute = 0\n"                                             \
  "ratelimit.secretmanager.per_minute = 0\n"                                   \
  "ratelimit.servicenetworking.per_minute = 0\n"                               \
  "ratelimit.monitoring.per_minute = 0\n"

struct CMUnitTest;
/* Every edvd test program's main: checks argv (EDVD EDVCTL), then runs the
 * group: `setup` (NULL: eh_setup(conf_extra)), the tests, eh_teardown(). */
int eh_main(int argc, char **argv, const char *group,
            const struct CMUnitTest *tests, size_t ntests,
            int (*setup)(void **state), const char *conf_extra);
#define EH_MAIN(group, tests, setup, conf)                                     \
  eh_main(argc, argv, (group), (tests), sizeof(tests) / sizeof(*(tests)),      \
          (setup), (conf))

#endif
