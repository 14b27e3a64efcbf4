/*
 * fuzz_listfilter.c - the simulator's list filters (src/sim/listfilter.h,
 * Certificate Manager's and Cloud SQL's AIP-160 subset): the syntax check
 * every list request runs first, then the match against a resource.
 *
 * Input: the first line is the filter, the rest a JSON resource.
 */
#include "fuzz.h"
#include "sim/listfilter.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_object *obj;
  char *s, *rest, why[160];
  size_t rest_len;
  int syntax, m;

  if (size > 8 * 1024)
    return 0;
  s = fuzz_str(data, size);
  rest = fuzz_split(s, size, &rest_len);
  obj = fuzz_json(rest, rest_len);
  why[0] = '\0';
  syntax = sim_lf_match(NULL, s, why, sizeof(why));
  if (syntax == -1 && !why[0])
    abort(); /* a refused filter says why */
  if (syntax != -1 && obj) {
    m = sim_lf_match(obj, s, NULL, 0);
    if (m != 0 && m != 1)
      abort(); /* the syntax passed: the match cannot fail */
  }
  json_object_put(obj);
  free(s);
  return 0;
}
