/*
 * fuzz_state.c - state exports (src/fleet/state.c) as `edvctl state
 * import FILE` reads them: parsed, every field checked and loaded into an
 * empty store (SQLite in memory) against the repository's tiers.json.
 * What loads is then used as the library does: exported, loaded into a
 * second empty store and exported again; both exports must be the same
 * bytes (an import keeps everything an export writes).
 *
 * Input: a JSON document (an export: {"format": "edv-state", "version":
 * 1, "tenants": [...], "journal": [...]}).
 */
#include <stdio.h>
#include <string.h>

#include "fleet/fleet.h"
#include "fuzz.h"
#include "tenant/subnet.h"

static edv__tiers *tiers;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  edv_error err;

  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  if (edv__tiers_load_file(FUZZ_TIERS_JSON, &tiers, &err) != 0) {
    fprintf(stderr, "fuzz_state: %s\n", err.message);
    abort();
  }
  return 0;
}

static edv_store *mem_store(void)
{
  edv__store_opts o;
  edv_store *st = NULL;
  edv_error err;

  memset(&o, 0, sizeof(o));
  o.path = ":memory:";
  if (edv__store_open_sqlite(&o, &st, &err))
    abort();
  return st;
}

/* Loads doc into a new store and exports it (NULL when refused). */
static char *load_export(json_object *doc, int must)
{
  edv_store *st = mem_store();
  json_object *out = NULL;
  edv_error err;
  char *text = NULL;

  if (edv__state_import_doc(st, tiers, "edvirons.com", EDV_SUBNET_SUPERNET, doc,
                            NULL, &err) == 0) {
    if (edv__state_export_doc(st, EDV_STATE_JOURNAL, &out, &err))
      abort(); /* a store just loaded must export */
    text = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
    json_object_put(out);
  } else if (must) {
    abort(); /* an export of ours must load */
  }
  edv__store_close(st);
  return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_object *doc = fuzz_json((const char *)data, size), *again;
  char *a, *b;

  if (!doc)
    return 0;
  a = load_export(doc, 0);
  json_object_put(doc);
  if (!a)
    return 0;
  again = json_tokener_parse(a);
  b = load_export(again, 1);
  json_object_put(again);
  if (strcmp(a, b) != 0)
    abort(); /* import then export lost or changed something */
  free(a);
  free(b);
  return 0;
}
