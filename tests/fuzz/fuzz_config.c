/*
 * fuzz_config.c - the configuration file (src/transport/config.c): lines
 * split, values unquoted, every key validated by edv_config_set() and the
 * whole file applied all or nothing, then read back as the engine reads
 * it. Compiled with config.c to read the text through its line loop with
 * fmemopen() instead of a file.
 *
 * Input: the file's bytes.
 */
#include "fuzz.h"
#include "transport/config.c"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  return 0;
}

static void visit(void *data, const char *key, const char *value)
{
  (void)edv_config_get_int((const edv_config *)data, key, 0);
  (void)value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  edv_config *cfg, *scratch;
  edv_error err;
  FILE *f;

  if (size == 0 || size > 64 * 1024)
    return 0;
  cfg = edv_config_new();
  scratch = edv__config_dup(cfg);
  f = fmemopen((void *)data, size, "r");
  if (!cfg || !scratch || !f)
    abort();
  if (cfg_load_lines(scratch, f, "edv.conf", &err) == EDV_OK) {
    edv__retry_policy pol;
    edv__limiter rl;
    cfg_adopt(cfg, scratch);
    edv_config_foreach(cfg, visit, cfg);
    /* What the engine derives from it. */
    edv__retry_policy_from_config(&pol, cfg);
    edv__rl_init(&rl, cfg, edv__clock_real, NULL);
  } else {
    edv_config_free(scratch);
  }
  fclose(f);
  edv_config_free(cfg);
  return 0;
}
