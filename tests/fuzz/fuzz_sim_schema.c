/*
 * fuzz_sim_schema.c - the simulator's request body validation
 * (src/sim/schema.c and the generated tables schema_*.c): a body walked
 * against a discovery schema of one API, nested objects, arrays and maps
 * included, and the 400 naming the first bad field built in that API's
 * error style.
 *
 * Input: byte 0 picks the API's table; the first line after it names the
 * request type (an unknown name picks a type from its first byte), the
 * rest is the request body.
 */
#include "fuzz.h"
#include "sim/schema.h"
#include "sim/schema_apis.h"
#include "sim/compute_vm.h"
#include "sim/sim_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  return 0;
}

static const struct {
  const sim_schema_type *table;
  sim_api api;
} apis[] = {
    {sim_schema_compute, SIM_API_COMPUTE},
    {sim_schema_compute_vm, SIM_API_COMPUTE},
    {sim_schema_sql, SIM_API_SQL},
    {sim_schema_dns, SIM_API_DNS},
    {sim_schema_certmgr, SIM_API_CERTMGR},
    {sim_schema_monitoring, SIM_API_MONITORING},
    {sim_schema_secrets, SIM_API_SECRETS},
};
#define NAPIS (sizeof(apis) / sizeof(apis[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const sim_schema_type *table, *t;
  sim_rt rt;
  sim_req req;
  size_t ntypes = 0;
  json_object *body;
  char *s, *rest;
  size_t rest_len;
  int i;

  if (size < 1 || size > 64 * 1024)
    return 0;
  table = apis[data[0] % NAPIS].table;
  while (table[ntypes].name)
    ntypes++;
  s = fuzz_str(data + 1, size - 1);
  rest = fuzz_split(s, size - 1, &rest_len);
  t = sim_schema_find(table, s);
  if (!t) {
    t = &table[(unsigned char)s[0] % ntypes];
    if (sim_schema_find(table, t->name) != t)
      abort(); /* the table must be sorted for the lookup */
  }
  body = fuzz_json(rest, rest_len);
  memset(&rt, 0, sizeof(rt));
  memset(&req, 0, sizeof(req));
  rt.api = apis[data[0] % NAPIS].api;
  req.rt = &rt; /* the error style comes from the request's API */
  if (sim_schema_check(&req.resp, table, t->name, body, "resource") != 0 &&
      (req.resp.status != 400 || !req.resp.json))
    abort(); /* a refusal is always a 400 with a body */
  json_object_put(req.resp.json);
  free(req.resp.text);
  free(req.resp.ctype);
  for (i = 0; i < req.resp.n_hdr; i++) {
    free(req.resp.hdr_name[i]);
    free(req.resp.hdr_value[i]);
  }
  json_object_put(body);
  free(s);
  return 0;
}
