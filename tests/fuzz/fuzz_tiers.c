/*
 * fuzz_tiers.c - `tiers.json` (src/tenant/tiers.c): the catalog, the
 * tiers, the price table and the cost model are loaded and validated; a
 * file that loads is then used as edvd and edvctl use it: every tier
 * looked up, its features and apps checked, its SQL tier parsed and its
 * monthly cost estimated.
 *
 * Input: the file's bytes.
 */
#include "fuzz.h"
#include "tenant/tiers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  edv__tiers *tiers = NULL;
  edv__tier_cost cost;
  edv_error err;
  char *s;
  size_t i;

  if (size > 256 * 1024)
    return 0;
  s = fuzz_str(data, size);
  if (edv__tiers_load_string(s, "tiers.json", &tiers, &err) == 0) {
    for (i = 0; i < tiers->ntiers; i++) {
      const edv__tier *t = edv__tiers_find(tiers, tiers->tiers[i].name);
      int shared, vcpu, mem;
      if (!t)
        abort(); /* a tier the file has must be found */
      (void)edv__tier_has_feature(t, "backups");
      (void)edv__tier_has_app(t, "moodle");
      (void)edv__sql_tier_parse(t->sql.tier, &shared, &vcpu, &mem);
      (void)edv__machine_type_valid(t->machine_type);
      (void)edv__tier_cost_estimate(tiers, t, 0, &cost, &err);
      (void)edv__tier_cost_estimate(tiers, t, 1, &cost, &err);
    }
    edv__tiers_free(tiers);
  }
  free(s);
  return 0;
}
