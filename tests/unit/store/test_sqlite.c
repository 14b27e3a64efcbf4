/*
 * test_sqlite.c - the SQLite store: migrations, file mode, tenants, steps,
 * journal, subnets (with two processes racing), leases, idempotency keys,
 * transactions.
 *
 * Each test works in its own directory under EDV_BUILD_ROOT (set by
 * tests/meson.build), removed afterwards.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "tenant/subnet.h"

#define assert_contains(hay, needle)                                           \
  do {                                                                         \
    if (!strstr((hay), (needle)))                                              \
      fail_msg("'%s' does not contain '%s'", (hay), (needle));                 \
  } while (0)

typedef struct fixture {
  char dir[4096];
  char path[4200];
  int64_t now; /* the fake clock */
  edv_store *st;
} fixture;

static int64_t fake_clock(void *data)
{
  return ((fixture *)data)->now;
}

static int fx_open(fixture *fx, edv_error *err)
{
  edv__store_opts o;

  memset(&o, 0, sizeof(o));
  o.path = fx->path;
  o.clock = fake_clock;
  o.clock_data = fx;
  o.synchronous_normal = 1; /* tests need no power-loss durability */
  return edv__store_open_sqlite(&o, &fx->st, err);
}

static int setup(void **state)
{
  const char *root = getenv("EDV_BUILD_ROOT");
  fixture *fx = calloc(1, sizeof(*fx));
  edv_error err;

  assert_non_null(fx);
  snprintf(fx->dir, sizeof(fx->dir), "%s/store-test-XXXXXX", root ? root : ".");
  assert_non_null(mkdtemp(fx->dir));
  snprintf(fx->path, sizeof(fx->path), "%s/edv.db", fx->dir);
  fx->now = 1700000000000LL;
  if (fx_open(fx, &err))
    fail_msg("open: %s", err.message);
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  fixture *fx = *state;
  struct dirent *de;
  char p[4400];
  DIR *d;

  edv__store_close(fx->st);
  d = opendir(fx->dir);
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
    unlink(p);
  }
  if (d)
    closedir(d);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static void tenant_rec(edv__tenant_rec *r, const char *id, const char *slug,
                       const char *tier, edv_tenant_phase phase)
{
  memset(r, 0, sizeof(*r));
  snprintf(r->id, sizeof(r->id), "%s", id);
  snprintf(r->slug, sizeof(r->slug), "%s", slug);
  snprintf(r->tier, sizeof(r->tier), "%s", tier);
  snprintf(r->spec_json, sizeof(r->spec_json),
           "{\"id\":\"%s\",\"slug\":\"%s\",\"tier\":\"%s\"}", id, slug, tier);
  r->phase = phase;
}

static void put_tenant(edv_store *st, const char *id, const char *tier,
                       edv_tenant_phase phase)
{
  edv__tenant_rec r;
  edv_error err;

  tenant_rec(&r, id, id, tier, phase);
  if (edv__store_tenant_put(st, &r, EDV_PUT_CREATE, &err))
    fail_msg("put %s: %s", id, err.message);
}

/* A raw SQLite query on the file, beside the store's own connection. */
static int raw_int(const char *path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  int v = -1;

  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static int raw_exec(const char *path, const char *sql)
{
  sqlite3 *db;
  int rc;

  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                   SQLITE_OK);
  rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc;
}

static void test_migrations(void **state)
{
  fixture *fx = *state;
  edv_error err;
  int v;

  assert_string_equal(edv__store_backend(fx->st), "sqlite");
  assert_int_equal(edv__store_schema_version(fx->st, &v, &err), 0);
  assert_int_equal(v, 5);
  put_tenant(fx->st, "school001", "basic", EDV_PHASE_PENDING);
  /* Re-open: nothing re-applied, data kept. */
  edv__store_close(fx->st);
  assert_int_equal(fx_open(fx, &err), 0);
  assert_int_equal(edv__store_schema_version(fx->st, &v, &err), 0);
  assert_int_equal(v, 5);
  {
    edv__tenant_rec r;

    assert_int_equal(edv__store_tenant_get(fx->st, "school001", &r, &err), 0);
  }
  edv__store_close(fx->st);
  fx->st = NULL;
  assert_int_equal(raw_int(fx->path, "PRAGMA user_version"), 5);
  assert_int_equal(raw_int(fx->path, "PRAGMA application_id"), 0x45445631);
  assert_int_equal(raw_int(fx->path,
                           "SELECT count(*) FROM sqlite_master WHERE type = "
                           "'table' AND name IN ('tenants', 'steps', 'journal',"
                           " 'subnets', 'leases', 'idempotency_keys',"
                           " 'releases', 'updates', 'update_tenants',"
                           " 'incidents')"),
                   10);
  /* WAL is a property of the file. */
  assert_int_equal(raw_int(fx->path, "SELECT journal_mode = 'wal' FROM "
                                     "pragma_journal_mode"),
                   1);
  /* A newer schema is refused, not downgraded. */
  assert_int_equal(raw_exec(fx->path, "PRAGMA user_version = 99"), SQLITE_OK);
  assert_int_equal(fx_open(fx, &err), EDV_ECONFIG);
  assert_null(fx->st);
  assert_contains(err.message, "schema version 99 is newer");
  /* Another application's file is refused. */
  assert_int_equal(raw_exec(fx->path, "PRAGMA user_version = 5;"
                                      "PRAGMA application_id = 42"),
                   SQLITE_OK);
  assert_int_equal(fx_open(fx, &err), EDV_ECONFIG);
  assert_contains(err.message, "has application_id 42");
  assert_contains(err.message, fx->path);
  assert_int_equal(raw_exec(fx->path, "PRAGMA application_id = 1162106417"),
                   SQLITE_OK);
  assert_int_equal(fx_open(fx, &err), 0);
}

/* A version-1 store (the phase CHECK without the grace's phases) with a
 * tenant, its steps and its subnet: opening it migrates to version 2, the
 * steps and subnet kept (the table rebuild cascades to nothing), and a
 * SUSPENDED phase is accepted. */
static void test_migration_v1_to_v2(void **state)
{
  fixture *fx = *state;
  edv__tenant_rec r;
  edv_error err;
  int v;

  put_tenant(fx->st, "school001", "basic", EDV_PHASE_READY);
  edv__store_close(fx->st);
  fx->st = NULL;
  /* Back to version 1's tenants table, by hand, foreign keys off (the
   * connection's default), then a step and a subnet row. */
  assert_int_equal(
      raw_exec(fx->path,
               "CREATE TABLE t1 (id TEXT PRIMARY KEY NOT NULL,"
               " slug TEXT NOT NULL UNIQUE, tier TEXT NOT NULL,"
               " spec TEXT NOT NULL, phase TEXT NOT NULL CHECK (phase IN"
               " ('PENDING', 'PROVISIONING', 'READY', 'UPDATING',"
               " 'DEPROVISIONING', 'DELETED', 'FAILED')),"
               " generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),"
               " last_error TEXT NOT NULL DEFAULT '',"
               " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
               "INSERT INTO t1 SELECT id, slug, tier, spec, phase, generation,"
               " last_error, created_ms, updated_ms FROM tenants;"
               "DROP TABLE tenants; ALTER TABLE t1 RENAME TO tenants;"
               "DROP TABLE releases; DROP TABLE update_tenants;"
               "DROP TABLE updates; DROP TABLE incidents;"
               "INSERT INTO steps (tenant, step, state) VALUES"
               " ('school001', 'vm', 'DONE');"
               "INSERT INTO subnets VALUES ('10.64.0.0/28', 'school001', 1, 2,"
               " 28, 1);"
               "PRAGMA user_version = 1;"),
      SQLITE_OK);
  assert_int_equal(raw_exec(fx->path, "UPDATE tenants SET phase = 'SUSPENDED'"),
                   SQLITE_CONSTRAINT);
  assert_int_equal(fx_open(fx, &err), 0);
  assert_int_equal(edv__store_schema_version(fx->st, &v, &err), 0);
  assert_int_equal(v, 5);
  edv__store_close(fx->st);
  fx->st = NULL;
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM steps"), 1);
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM subnets"), 1);
  assert_int_equal(raw_exec(fx->path, "UPDATE tenants SET phase = 'SUSPENDED'"),
                   SQLITE_OK);
  assert_int_equal(fx_open(fx, &err), 0);
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &r, &err), 0);
  assert_int_equal(r.phase, EDV_PHASE_SUSPENDED);
  /* Foreign keys are on again: deleting the tenant takes its steps. */
  assert_int_equal(edv__store_tenant_delete(fx->st, "school001", &err), 0);
  edv__store_close(fx->st);
  fx->st = NULL;
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM steps"), 0);
  assert_int_equal(fx_open(fx, &err), 0);
}

static edv__release_rec release_rec(const char *version, const char *image)
{
  edv__release_rec r;

  memset(&r, 0, sizeof(r));
  snprintf(r.version, sizeof(r.version), "%s", version);
  snprintf(r.image, sizeof(r.image), "projects/p/global/images/%s", image);
  return r;
}

static int count_release(void *data, const edv__release_rec *r)
{
  (void)r;
  ++*(int *)data;
  return 0;
}

static int count_update_tenant(void *data, const edv__update_tenant_rec *r)
{
  unsigned *n = data;

  /* Ordered by wave, then tenant. */
  if (*n == 0)
    assert_string_equal(r->tenant, "school002");
  (*n)++;
  return 0;
}

/* A version-3 store (releases, no updates) with a tenant on a release:
 * opening it migrates to version 4, the tenant and its release kept; an
 * update and its tenant rows are then written and read back, a second put
 * changes only the update's progress, a bad state is refused by the
 * schema, and a tenant row needs its update. */
static void test_migration_v3_to_v4(void **state)
{
  fixture *fx = *state;
  edv__release_rec rel = release_rec("1.0.0", "tenant-1");
  edv__update_rec u, got;
  edv__update_tenant_rec t;
  edv__tenant_rec r;
  edv_error err;
  unsigned n = 0;
  int v;

  put_tenant(fx->st, "school001", "basic", EDV_PHASE_READY);
  assert_int_equal(edv__store_release_put(fx->st, &rel, &err), 0);
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &r, &err), 0);
  snprintf(r.release, sizeof(r.release), "1.0.0");
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_UPDATE, &err), 0);
  edv__store_close(fx->st);
  fx->st = NULL;
  assert_int_equal(raw_exec(fx->path,
                            "DROP TABLE update_tenants;"
                            "DROP TABLE updates; DROP TABLE incidents;"
                            "PRAGMA user_version = 3;"),
                   SQLITE_OK);
  assert_int_equal(fx_open(fx, &err), 0);
  assert_int_equal(edv__store_schema_version(fx->st, &v, &err), 0);
  assert_int_equal(v, 5);
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &r, &err), 0);
  assert_string_equal(r.release, "1.0.0");
  assert_int_equal(edv__store_update_get(fx->st, "u-1", &got, &err),
                   EDV_ENOTFOUND);
  memset(&u, 0, sizeof(u));
  snprintf(u.id, sizeof(u.id), "u-1");
  snprintf(u.release, sizeof(u.release), "1.1.0");
  snprintf(u.waves, sizeof(u.waves), "1,50%%,100%%");
  u.soak_ms = 5000;
  u.max_parallel = 4;
  u.max_failures = 1;
  snprintf(u.tiers, sizeof(u.tiers), "basic");
  snprintf(u.state, sizeof(u.state), "RUNNING");
  assert_int_equal(edv__store_update_put(fx->st, &u, &err), 0);
  u.wave = 1;
  u.soak_until_ms = 99;
  u.max_parallel = 9; /* the spec is written once */
  snprintf(u.state, sizeof(u.state), "PAUSED");
  snprintf(u.status, sizeof(u.status), "paused by alice");
  assert_int_equal(edv__store_update_put(fx->st, &u, &err), 0);
  assert_int_equal(edv__store_update_get(fx->st, "u-1", &got, &err), 0);
  assert_string_equal(got.release, "1.1.0");
  assert_string_equal(got.waves, "1,50%,100%");
  assert_string_equal(got.tiers, "basic");
  assert_string_equal(got.state, "PAUSED");
  assert_string_equal(got.status, "paused by alice");
  assert_int_equal(got.max_parallel, 4);
  assert_int_equal(got.max_failures, 1);
  assert_int_equal(got.soak_ms, 5000);
  assert_int_equal(got.wave, 1);
  assert_int_equal(got.soak_until_ms, 99);
  assert_true(got.created_ms > 0);
  snprintf(u.state, sizeof(u.state), "SLEEPING");
  assert_int_equal(edv__store_update_put(fx->st, &u, &err), EDV_EINVAL);
  memset(&t, 0, sizeof(t));
  snprintf(t.update_id, sizeof(t.update_id), "u-1");
  snprintf(t.tenant, sizeof(t.tenant), "school001");
  t.wave = 1;
  snprintf(t.state, sizeof(t.state), "PENDING");
  snprintf(t.from, sizeof(t.from), "1.0.0");
  snprintf(t.to, sizeof(t.to), "1.1.0");
  assert_int_equal(edv__store_update_tenant_put(fx->st, &t, &err), 0);
  snprintf(t.tenant, sizeof(t.tenant), "school002");
  t.wave = 0;
  snprintf(t.state, sizeof(t.state), "DONE");
  assert_int_equal(edv__store_update_tenant_put(fx->st, &t, &err), 0);
  snprintf(t.state, sizeof(t.state), "FAILED");
  snprintf(t.error, sizeof(t.error), "the VM never became healthy");
  assert_int_equal(edv__store_update_tenant_put(fx->st, &t, &err), 0);
  assert_int_equal(
      edv__store_update_tenants(fx->st, "u-1", count_update_tenant, &n, &err),
      0);
  assert_int_equal(n, 2);
  snprintf(t.update_id, sizeof(t.update_id), "u-none");
  assert_int_equal(edv__store_update_tenant_put(fx->st, &t, &err), EDV_EINVAL);
}

/* A version-2 store (no releases table, no tenant release column) with a
 * tenant: opening it migrates to version 3, the tenant kept with no
 * release; releases then record, refuse a duplicate, and the newest is the
 * current one; a tenant's release is written and read back. */
static void test_migration_v2_to_v3(void **state)
{
  fixture *fx = *state;
  edv__release_rec rel = release_rec("1.0.0", "tenant-1"), got;
  edv__tenant_rec r;
  edv_error err;
  int v, n = 0;

  put_tenant(fx->st, "school001", "basic", EDV_PHASE_READY);
  edv__store_close(fx->st);
  fx->st = NULL;
  assert_int_equal(raw_exec(fx->path,
                            "ALTER TABLE tenants DROP COLUMN release_version;"
                            "DROP TABLE releases; DROP TABLE update_tenants;"
                            "DROP TABLE updates; DROP TABLE incidents;"
                            " PRAGMA user_version = 2;"),
                   SQLITE_OK);
  assert_int_equal(fx_open(fx, &err), 0);
  assert_int_equal(edv__store_schema_version(fx->st, &v, &err), 0);
  assert_int_equal(v, 5);
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &r, &err), 0);
  assert_int_equal(r.phase, EDV_PHASE_READY);
  assert_string_equal(r.release, "");
  assert_int_equal(edv__store_release_current(fx->st, &got, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(edv__store_release_put(fx->st, &rel, &err), 0);
  assert_int_equal(edv__store_release_put(fx->st, &rel, &err), EDV_EEXIST);
  assert_contains(err.message, "1.0.0");
  rel = release_rec("1.1.0-rc.1", "tenant-2");
  rel.created_ms = 1234;
  assert_int_equal(edv__store_release_put(fx->st, &rel, &err), 0);
  assert_int_equal(edv__store_release_current(fx->st, &got, &err), 0);
  assert_string_equal(got.version, "1.1.0-rc.1");
  assert_string_equal(got.image, "projects/p/global/images/tenant-2");
  assert_int_equal(got.created_ms, 1234);
  assert_int_equal(edv__store_release_list(fx->st, count_release, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(edv__store_release_get(fx->st, "9.9.9", &got, &err),
                   EDV_ENOTFOUND);
  snprintf(r.release, sizeof(r.release), "1.0.0");
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_UPDATE, &err), 0);
  memset(&r, 0, sizeof(r));
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &r, &err), 0);
  assert_string_equal(r.release, "1.0.0");
}

static void test_file_mode_0600(void **state)
{
  fixture *fx = *state;
  char wal[4300], other[4300];
  struct stat sb;
  mode_t old;
  edv_store *st2;
  edv__store_opts o;
  edv_error err;

  put_tenant(fx->st, "school001", "basic", EDV_PHASE_PENDING);
  assert_int_equal(stat(fx->path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  snprintf(wal, sizeof(wal), "%s-wal", fx->path);
  assert_int_equal(stat(wal, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);

  /* Whatever the umask, and an existing world-readable file is tightened. */
  old = umask(0);
  snprintf(other, sizeof(other), "%s/loose.db", fx->dir);
  memset(&o, 0, sizeof(o));
  o.path = other;
  assert_int_equal(edv__store_open_sqlite(&o, &st2, &err), 0);
  assert_int_equal(stat(other, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  edv__store_close(st2);
  assert_int_equal(chmod(other, 0644), 0);
  assert_int_equal(edv__store_open_sqlite(&o, &st2, &err), 0);
  assert_int_equal(stat(other, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  edv__store_close(st2);
  umask(old);
  unlink(other);
  /* A directory is not a database. */
  o.path = fx->dir;
  assert_int_equal(edv__store_open_sqlite(&o, &st2, &err), EDV_EIO);
  assert_null(st2);
}

/* Opening `path` must fail with EDV_ECONFIG naming it and `why`, and leave
 * the file as it was (same size, no -wal/-shm beside it). */
static void refused_file(const char *path, const char *why)
{
  struct stat before, after;
  char side[4300];
  edv__store_opts o;
  edv_store *st = (edv_store *)1;
  edv_error err;

  assert_int_equal(stat(path, &before), 0);
  memset(&o, 0, sizeof(o));
  o.path = path;
  assert_int_equal(edv__store_open_sqlite(&o, &st, &err), EDV_ECONFIG);
  assert_null(st);
  assert_contains(err.message, path);
  assert_contains(err.message, why);
  assert_contains(err.message, "not an edv store");
  assert_int_equal(stat(path, &after), 0);
  assert_int_equal(after.st_size, before.st_size);
  assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  snprintf(side, sizeof(side), "%s-wal", path);
  assert_int_equal(access(side, F_OK), -1);
  snprintf(side, sizeof(side), "%s-shm", path);
  assert_int_equal(access(side, F_OK), -1);
}

/* Only a missing file makes a new store: an empty file, another
 * application's SQLite database or any other file is refused, untouched. */
static void test_refuses_foreign_files(void **state)
{
  fixture *fx = *state;
  char path[4300];
  struct dirent *de;
  edv__store_opts o;
  edv_store *st;
  edv_error err;
  FILE *f;
  DIR *d;
  int n;

  /* Empty (a truncated store, or one touched by hand). */
  snprintf(path, sizeof(path), "%s/empty.db", fx->dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  refused_file(path, "is empty");
  unlink(path);
  /* Not SQLite at all. */
  snprintf(path, sizeof(path), "%s/garbage.db", fx->dir);
  f = fopen(path, "w");
  assert_non_null(f);
  for (n = 0; n < 200; n++)
    fputs("tenants: school001 school002\n", f);
  fclose(f);
  refused_file(path, "is not an SQLite database");
  unlink(path);
  /* Another application's SQLite database, unmarked and marked. */
  snprintf(path, sizeof(path), "%s/foreign.db", fx->dir);
  {
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
  }
  refused_file(path, "has application_id 0");
  assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);
  assert_int_equal(raw_int(path, "PRAGMA user_version"), 0);
  assert_int_equal(raw_exec(path, "PRAGMA application_id = 42"), SQLITE_OK);
  refused_file(path, "has application_id 42");
  unlink(path);
  /* Missing: created, marked, and no temporary file left behind. */
  snprintf(path, sizeof(path), "%s/new.db", fx->dir);
  memset(&o, 0, sizeof(o));
  o.path = path;
  assert_int_equal(edv__store_open_sqlite(&o, &st, &err), 0);
  put_tenant(st, "school001", "basic", EDV_PHASE_PENDING);
  edv__store_close(st);
  assert_int_equal(raw_int(path, "PRAGMA application_id"), 0x45445631);
  assert_int_equal(raw_int(path, "SELECT count(*) FROM tenants"), 1);
  d = opendir(fx->dir);
  assert_non_null(d);
  while ((de = readdir(d)))
    if (strstr(de->d_name, ".new-"))
      fail_msg("left behind: %s", de->d_name);
  closedir(d);
}

typedef struct collect {
  char ids[64][EDV_STORE_STEP_SZ];
  int n;
} collect;

static int collect_tenant(void *data, const edv__tenant_rec *r)
{
  collect *c = data;

  if (c->n < 64)
    snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", r->id);
  return 0;
}

typedef struct counts {
  char line[16][64];
  int n;
} counts;

static int collect_count(void *data, const char *tier, edv_tenant_phase phase,
                         uint64_t count)
{
  counts *c = data;

  snprintf(c->line[c->n++], sizeof(c->line[0]), "%s/%s=%llu", tier,
           edv__phase_name(phase), (unsigned long long)count);
  return 0;
}

static void test_tenant_crud(void **state)
{
  fixture *fx = *state;
  edv__tenant_rec r, g;
  edv__tenant_filter f;
  char next[EDV_STORE_ID_SZ], id[32];
  collect c;
  edv_error err;
  uint32_t gen;
  int i;

  tenant_rec(&r, "school001", "greenwood-high", "premium", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_CREATE, &err), 0);
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_CREATE, &err),
                   EDV_EEXIST);
  assert_contains(err.message, "tenant 'school001' already exists");
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &g, &err), 0);
  assert_string_equal(g.slug, "greenwood-high");
  assert_string_equal(g.tier, "premium");
  assert_string_equal(g.spec_json, r.spec_json);
  assert_int_equal(g.phase, EDV_PHASE_PENDING);
  assert_int_equal(g.generation, 0);
  assert_int_equal(g.created_ms, fx->now);
  assert_int_equal(g.updated_ms, fx->now);

  /* Update keeps created_ms, moves updated_ms. */
  fx->now += 5000;
  r.phase = EDV_PHASE_FAILED;
  snprintf(r.last_error, sizeof(r.last_error), "EQUOTA: CPUS exceeded");
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_UPDATE, &err), 0);
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &g, &err), 0);
  assert_int_equal(g.phase, EDV_PHASE_FAILED);
  assert_string_equal(g.last_error, "EQUOTA: CPUS exceeded");
  assert_int_equal(g.created_ms, fx->now - 5000);
  assert_int_equal(g.updated_ms, fx->now);

  tenant_rec(&r, "school002", "other", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_UPDATE, &err),
                   EDV_ENOTFOUND);
  /* Hostname clashes: same slug, slug = another id, id = another slug. */
  tenant_rec(&r, "school002", "greenwood-high", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_UPSERT, &err),
                   EDV_ECONFLICT);
  assert_contains(err.message, "of tenant 'school001'");
  tenant_rec(&r, "school002", "school001", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_UPSERT, &err),
                   EDV_ECONFLICT);
  tenant_rec(&r, "greenwood-high", "gh", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_UPSERT, &err),
                   EDV_ECONFLICT);
  assert_int_equal(edv__store_tenant_get(fx->st, "school002", &g, &err),
                   EDV_ENOTFOUND);

  /* Generations. */
  assert_int_equal(
      edv__store_tenant_next_generation(fx->st, "school001", &gen, &err), 0);
  assert_int_equal(gen, 1);
  assert_int_equal(
      edv__store_tenant_next_generation(fx->st, "school001", &gen, &err), 0);
  assert_int_equal(gen, 2);
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &g, &err), 0);
  assert_int_equal(g.generation, 2);
  assert_int_equal(
      edv__store_tenant_next_generation(fx->st, "nobody", &gen, &err),
      EDV_ENOTFOUND);

  /* 25 more tenants; list with filters and pages of 10. */
  for (i = 0; i < 25; i++) {
    snprintf(id, sizeof(id), "t%03d", i);
    put_tenant(fx->st, id, i % 2 ? "basic" : "standard",
               i % 5 == 0 ? EDV_PHASE_READY : EDV_PHASE_PROVISIONING);
  }
  memset(&f, 0, sizeof(f));
  f.phase = -1;
  f.limit = 10;
  memset(&c, 0, sizeof(c));
  assert_int_equal(edv__store_tenant_list(fx->st, &f, collect_tenant, &c, next,
                                          sizeof(next), &err),
                   0);
  assert_int_equal(c.n, 10);
  assert_string_equal(c.ids[0], "school001");
  assert_string_equal(c.ids[1], "t000");
  assert_string_equal(next, "t008");
  f.after = next;
  assert_int_equal(edv__store_tenant_list(fx->st, &f, collect_tenant, &c, next,
                                          sizeof(next), &err),
                   0);
  assert_int_equal(c.n, 20);
  assert_string_equal(c.ids[10], "t009");
  assert_int_equal(edv__store_tenant_list(fx->st, &f, collect_tenant, &c, next,
                                          sizeof(next), &err),
                   0);
  assert_int_equal(c.n, 26);
  assert_string_equal(next, ""); /* last page */

  memset(&c, 0, sizeof(c));
  memset(&f, 0, sizeof(f));
  f.tier = "basic";
  f.phase = EDV_PHASE_READY;
  assert_int_equal(
      edv__store_tenant_list(fx->st, &f, collect_tenant, &c, NULL, 0, &err), 0);
  assert_int_equal(c.n, 2); /* t005, t015 */
  assert_string_equal(c.ids[0], "t005");
  assert_string_equal(c.ids[1], "t015");
  memset(&c, 0, sizeof(c));
  assert_int_equal(
      edv__store_tenant_list(fx->st, NULL, collect_tenant, &c, NULL, 0, &err),
      0);
  assert_int_equal(c.n, 26);

  {
    counts k;

    /* 25 t-tenants: basic odd (12, of which t005 t015 READY), standard
     * even (13, of which t000 t010 t020 READY); school001 FAILED premium */
    memset(&k, 0, sizeof(k));
    assert_int_equal(edv__store_tenant_counts(fx->st, collect_count, &k, &err),
                     0);
    assert_int_equal(k.n, 5);
    assert_string_equal(k.line[0], "basic/PROVISIONING=10");
    assert_string_equal(k.line[1], "basic/READY=2");
    assert_string_equal(k.line[2], "premium/FAILED=1");
    assert_string_equal(k.line[3], "standard/PROVISIONING=10");
    assert_string_equal(k.line[4], "standard/READY=3");
  }
  assert_int_equal(edv__store_tenant_delete(fx->st, "t000", &err), 0);
  assert_int_equal(edv__store_tenant_get(fx->st, "t000", &g, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(edv__store_tenant_delete(fx->st, "t000", &err),
                   EDV_ENOTFOUND);
  assert_int_equal(edv__phase_parse("READY"), EDV_PHASE_READY);
  assert_int_equal(edv__phase_parse("ready"), -1);
  assert_string_equal(edv__phase_name(EDV_PHASE_DEPROVISIONING),
                      "DEPROVISIONING");
}

static int collect_step(void *data, const edv__step_rec *r)
{
  collect *c = data;

  snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", r->step);
  return 0;
}

static void test_steps(void **state)
{
  fixture *fx = *state;
  edv__step_rec s, g;
  collect c;
  edv_error err;

  put_tenant(fx->st, "school001", "basic", EDV_PHASE_PROVISIONING);
  memset(&s, 0, sizeof(s));
  snprintf(s.tenant, sizeof(s.tenant), "school001");
  snprintf(s.step, sizeof(s.step), "subnet");
  s.state = EDV_STEP_INTENT;
  s.attempt = 1;
  snprintf(s.request_id, sizeof(s.request_id),
           "6f1c2b7e-8d4a-4f4e-9a61-0c7e5d2b9f10");
  s.started_ms = fx->now;
  assert_int_equal(edv__store_step_put(fx->st, &s, &err), 0);
  snprintf(s.step, sizeof(s.step), "firewall");
  assert_int_equal(edv__store_step_put(fx->st, &s, &err), 0);
  /* The subnet step's operation comes back. */
  snprintf(s.step, sizeof(s.step), "subnet");
  s.state = EDV_STEP_WAITING;
  snprintf(s.op_name, sizeof(s.op_name), "operation-1728938708258-62475e98");
  snprintf(s.op_kind, sizeof(s.op_kind), "compute.region");
  snprintf(s.resource, sizeof(s.resource),
           "projects/p/regions/us-central1/subnetworks/edv-school001");
  assert_int_equal(edv__store_step_put(fx->st, &s, &err), 0);
  assert_int_equal(edv__store_step_get(fx->st, "school001", "subnet", &g, &err),
                   0);
  assert_int_equal(g.state, EDV_STEP_WAITING);
  assert_int_equal(g.attempt, 1);
  assert_string_equal(g.request_id, "6f1c2b7e-8d4a-4f4e-9a61-0c7e5d2b9f10");
  assert_string_equal(g.op_name, "operation-1728938708258-62475e98");
  assert_string_equal(g.op_kind, "compute.region");
  assert_int_equal(g.started_ms, fx->now);
  assert_int_equal(g.finished_ms, 0);
  /* Listed in first-insertion order, not name order. */
  memset(&c, 0, sizeof(c));
  assert_int_equal(
      edv__store_step_list(fx->st, "school001", collect_step, &c, &err), 0);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.ids[0], "subnet");
  assert_string_equal(c.ids[1], "firewall");
  assert_int_equal(edv__store_step_get(fx->st, "school001", "vm", &g, &err),
                   EDV_ENOTFOUND);
  /* No step without its tenant. */
  snprintf(s.tenant, sizeof(s.tenant), "nobody");
  assert_int_equal(edv__store_step_put(fx->st, &s, &err), EDV_ENOTFOUND);
  assert_contains(err.message, "tenant 'nobody' does not exist");
  /* Deleting the tenant deletes its steps. */
  assert_int_equal(edv__store_tenant_delete(fx->st, "school001", &err), 0);
  put_tenant(fx->st, "school001", "basic", EDV_PHASE_PENDING);
  memset(&c, 0, sizeof(c));
  assert_int_equal(
      edv__store_step_list(fx->st, "school001", collect_step, &c, &err), 0);
  assert_int_equal(c.n, 0);
}

typedef struct jcollect {
  int64_t seq[64];
  char event[64][EDV_STORE_SMALL_SZ];
  int n;
} jcollect;

static int collect_journal(void *data, const edv__journal_rec *r)
{
  jcollect *c = data;

  c->seq[c->n] = r->seq;
  snprintf(c->event[c->n++], sizeof(c->event[0]), "%s", r->event);
  return 0;
}

static void test_journal(void **state)
{
  fixture *fx = *state;
  edv__journal_rec j;
  jcollect c;
  edv_error err;
  int64_t seq, first = 0;
  int i;

  for (i = 0; i < 10; i++) {
    memset(&j, 0, sizeof(j));
    snprintf(j.tenant, sizeof(j.tenant), i % 2 ? "school001" : "school002");
    snprintf(j.actor, sizeof(j.actor), "edvctl:alice");
    snprintf(j.event, sizeof(j.event), "e%d", i);
    snprintf(j.api_call, sizeof(j.api_call), "POST compute.instances.insert");
    j.duration_ms = 10 * i;
    fx->now += 1;
    assert_int_equal(edv__store_journal_append(fx->st, &j, &seq, &err), 0);
    if (!first)
      first = seq;
    assert_int_equal(seq, first + i);
  }
  memset(&c, 0, sizeof(c));
  assert_int_equal(edv__store_journal_list(fx->st, "school001", 0, 0,
                                           collect_journal, &c, &err),
                   0);
  assert_int_equal(c.n, 5);
  for (i = 0; i < 5; i++) {
    char want[8];

    snprintf(want, sizeof(want), "e%d", 2 * i + 1);
    assert_string_equal(c.event[i], want);
    if (i)
      assert_true(c.seq[i] > c.seq[i - 1]);
  }
  /* Paging by sequence number. */
  seq = c.seq[1];
  memset(&c, 0, sizeof(c));
  assert_int_equal(edv__store_journal_list(fx->st, "school001", seq, 2,
                                           collect_journal, &c, &err),
                   0);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.event[0], "e5");
  assert_string_equal(c.event[1], "e7");
  /* Append-only, even to someone holding the file. */
  assert_int_not_equal(raw_exec(fx->path, "UPDATE journal SET event = 'x'"),
                       SQLITE_OK);
  assert_int_not_equal(raw_exec(fx->path, "DELETE FROM journal"), SQLITE_OK);
  /* The history outlives the tenant. */
  put_tenant(fx->st, "school001", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_tenant_delete(fx->st, "school001", &err), 0);
  memset(&c, 0, sizeof(c));
  assert_int_equal(edv__store_journal_list(fx->st, "school001", 0, 0,
                                           collect_journal, &c, &err),
                   0);
  assert_int_equal(c.n, 5);
}

static edv_cidr cidr(const char *text)
{
  edv_cidr c;

  assert_int_equal(edv__cidr_parse(text, &c), 0);
  return c;
}

static void assert_cidr(const edv_cidr *c, const char *want)
{
  char buf[EDV_CIDR_STRLEN];

  assert_string_equal(edv__cidr_format(c, buf, sizeof(buf)), want);
}

static void test_subnets(void **state)
{
  fixture *fx = *state;
  edv_cidr super = cidr("10.64.0.0/26"), psa = cidr("10.64.0.32/28"), out,
           again;
  edv_error err;
  size_t n;

  put_tenant(fx->st, "a1", "basic", EDV_PHASE_PENDING);
  put_tenant(fx->st, "b2", "basic", EDV_PHASE_PENDING);
  put_tenant(fx->st, "c3", "basic", EDV_PHASE_PENDING);
  put_tenant(fx->st, "d4", "basic", EDV_PHASE_PENDING);
  assert_int_equal(
      edv__store_subnet_allocate(fx->st, "a1", &super, 28, &psa, 1, &out, &err),
      0);
  assert_cidr(&out, "10.64.0.0/28");
  /* Idempotent: the same tenant gets the same range back. */
  assert_int_equal(edv__store_subnet_allocate(fx->st, "a1", &super, 28, &psa, 1,
                                              &again, &err),
                   0);
  assert_cidr(&again, "10.64.0.0/28");
  assert_int_equal(
      edv__store_subnet_allocate(fx->st, "b2", &super, 28, &psa, 1, &out, &err),
      0);
  assert_cidr(&out, "10.64.0.16/28");
  /* The reserved range is skipped. */
  assert_int_equal(
      edv__store_subnet_allocate(fx->st, "c3", &super, 28, &psa, 1, &out, &err),
      0);
  assert_cidr(&out, "10.64.0.48/28");
  assert_int_equal(
      edv__store_subnet_allocate(fx->st, "d4", &super, 28, &psa, 1, &out, &err),
      EDV_EQUOTA);
  /* Released ranges return to the pool, lowest first. */
  assert_int_equal(edv__store_subnet_release(fx->st, "a1", &err), 0);
  assert_int_equal(edv__store_subnet_get(fx->st, "a1", &out, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(
      edv__store_subnet_allocate(fx->st, "d4", &super, 28, &psa, 1, &out, &err),
      0);
  assert_cidr(&out, "10.64.0.0/28");
  assert_int_equal(edv__store_subnet_get(fx->st, "d4", &out, &err), 0);
  assert_cidr(&out, "10.64.0.0/28");
  assert_int_equal(edv__store_subnet_count(fx->st, &n, &err), 0);
  assert_int_equal(n, 3);
  /* Only for a tenant we know. */
  assert_int_equal(edv__store_subnet_allocate(fx->st, "nobody", &super, 28,
                                              NULL, 0, &out, &err),
                   EDV_ENOTFOUND);
  /* The tenant's deletion frees its range. */
  assert_int_equal(edv__store_tenant_delete(fx->st, "b2", &err), 0);
  assert_int_equal(edv__store_subnet_count(fx->st, &n, &err), 0);
  assert_int_equal(n, 2);
  /* UNIQUE: a second row for the same range cannot exist. */
  assert_int_not_equal(
      raw_exec(fx->path, "INSERT INTO subnets VALUES ('10.64.0.0/28', 'a1', "
                         "0, 0, 28, 0)"),
      SQLITE_OK);
}

/* Child: open its own connection, create 100 tenants and allocate each a
 * range while the other child does the same. Exit status 0 on success. */
static int race_child(const char *path, int which)
{
  edv_cidr super, out;
  edv__store_opts o;
  edv__tenant_rec r;
  edv_store *st;
  edv_error err;
  char id[32];
  int i;

  memset(&o, 0, sizeof(o));
  o.path = path;
  o.busy_timeout_ms = 30000;
  o.synchronous_normal = 1;
  if (edv__store_open_sqlite(&o, &st, &err))
    return 2;
  edv__cidr_parse(EDV_SUBNET_SUPERNET, &super);
  for (i = 0; i < 100; i++) {
    snprintf(id, sizeof(id), "p%d-t%03d", which, i);
    tenant_rec(&r, id, id, "basic", EDV_PHASE_PENDING);
    if (edv__store_tenant_put(st, &r, EDV_PUT_CREATE, &err) ||
        edv__store_subnet_allocate(st, id, &super, 28, NULL, 0, &out, &err)) {
      fprintf(stderr, "child %d: %s\n", which, err.message);
      edv__store_close(st);
      return 3;
    }
  }
  edv__store_close(st);
  return 0;
}

static void test_subnet_race_two_processes(void **state)
{
  fixture *fx = *state;
  edv_cidr all[200];
  pid_t pids[2];
  edv_error err;
  char id[32];
  int i, j, status;

  /* No SQLite connection may cross a fork: close ours first. */
  edv__store_close(fx->st);
  fx->st = NULL;
  for (i = 0; i < 2; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0)
      _exit(race_child(fx->path, i));
  }
  for (i = 0; i < 2; i++) {
    assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  assert_int_equal(fx_open(fx, &err), 0);
  for (i = 0; i < 200; i++) {
    snprintf(id, sizeof(id), "p%d-t%03d", i / 100, i % 100);
    assert_int_equal(edv__store_subnet_get(fx->st, id, &all[i], &err), 0);
  }
  for (i = 0; i < 200; i++)
    for (j = i + 1; j < 200; j++)
      if (edv__cidr_overlaps(&all[i], &all[j]))
        fail_msg("tenants %d and %d share a range", i, j);
  /* Distinct and dense: exactly the first 200 /28s of the supernet. */
  for (i = 0; i < 200; i++)
    assert_true(all[i].net < 0x0a400000u + 200 * 16);
}

static void test_leases(void **state)
{
  fixture *fx = *state;
  edv__lease_rec cur;
  edv_error err;

  assert_int_equal(edv__store_lease_acquire(fx->st, "school001", "edvd@a:1",
                                            30000, &cur, &err),
                   0);
  assert_string_equal(cur.holder, "edvd@a:1");
  assert_int_equal(cur.expires_ms, fx->now + 30000);
  /* A second holder is refused while the lease is live. */
  fx->now += 10000;
  assert_int_equal(edv__store_lease_acquire(fx->st, "school001", "edvctl@b:2",
                                            30000, &cur, &err),
                   EDV_EBUSY);
  assert_string_equal(cur.holder, "edvd@a:1");
  assert_contains(err.message, "driven by 'edvd@a:1'");
  /* The holder may re-acquire (extend) and renew. */
  assert_int_equal(edv__store_lease_acquire(fx->st, "school001", "edvd@a:1",
                                            30000, NULL, &err),
                   0);
  fx->now += 20000;
  assert_int_equal(
      edv__store_lease_renew(fx->st, "school001", "edvd@a:1", 30000, &err), 0);
  assert_int_equal(edv__store_lease_get(fx->st, "school001", &cur, &err), 0);
  assert_int_equal(cur.expires_ms, fx->now + 30000);
  assert_int_equal(
      edv__store_lease_renew(fx->st, "school001", "edvctl@b:2", 30000, &err),
      EDV_EBUSY);
  /* Its holder died: once expired, the lease can be taken over. */
  fx->now += 29999;
  assert_int_equal(edv__store_lease_acquire(fx->st, "school001", "edvctl@b:2",
                                            30000, NULL, &err),
                   EDV_EBUSY);
  fx->now += 1;
  assert_int_equal(edv__store_lease_acquire(fx->st, "school001", "edvctl@b:2",
                                            30000, &cur, &err),
                   0);
  assert_string_equal(cur.holder, "edvctl@b:2");
  /* The old holder has lost it: renew fails, release does nothing. */
  assert_int_equal(
      edv__store_lease_renew(fx->st, "school001", "edvd@a:1", 30000, &err),
      EDV_EBUSY);
  assert_int_equal(
      edv__store_lease_release(fx->st, "school001", "edvd@a:1", &err), 0);
  assert_int_equal(edv__store_lease_get(fx->st, "school001", &cur, &err), 0);
  assert_string_equal(cur.holder, "edvctl@b:2");
  assert_int_equal(
      edv__store_lease_release(fx->st, "school001", "edvctl@b:2", &err), 0);
  assert_int_equal(edv__store_lease_get(fx->st, "school001", &cur, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(
      edv__store_lease_renew(fx->st, "school001", "edvctl@b:2", 30000, &err),
      EDV_ENOTFOUND);
  /* Free again for anyone. */
  assert_int_equal(edv__store_lease_acquire(fx->st, "school001", "edvd@a:1",
                                            30000, NULL, &err),
                   0);
  /* Deleting the tenant drops its lease. */
  put_tenant(fx->st, "school001", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_tenant_delete(fx->st, "school001", &err), 0);
  assert_int_equal(edv__store_lease_get(fx->st, "school001", &cur, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(
      edv__store_lease_acquire(fx->st, "school001", "x", 0, NULL, &err),
      EDV_EINVAL);
}

static void test_idempotency_keys(void **state)
{
  fixture *fx = *state;
  char tenant[EDV_STORE_ID_SZ];
  edv_error err;

  assert_int_equal(edv__store_idem_check(fx->st, "key-1", "hash-a", "school001",
                                         tenant, sizeof(tenant), &err),
                   0);
  assert_int_equal(edv__store_idem_check(fx->st, "key-1", "hash-a", "school001",
                                         tenant, sizeof(tenant), &err),
                   EDV_EEXIST);
  assert_string_equal(tenant, "school001");
  assert_int_equal(edv__store_idem_check(fx->st, "key-1", "hash-b", "school002",
                                         tenant, sizeof(tenant), &err),
                   EDV_ECONFLICT);
  fx->now += 1000;
  assert_int_equal(edv__store_idem_check(fx->st, "key-2", "hash-c", "school002",
                                         NULL, 0, &err),
                   0);
  assert_int_equal(edv__store_idem_prune(fx->st, fx->now, &err), 0);
  /* key-1 is gone, key-2 (created at now) is kept. */
  assert_int_equal(edv__store_idem_check(fx->st, "key-1", "hash-b", "school002",
                                         NULL, 0, &err),
                   0);
  assert_int_equal(edv__store_idem_check(fx->st, "key-2", "hash-c", "school002",
                                         NULL, 0, &err),
                   EDV_EEXIST);
}

static void test_transactions(void **state)
{
  fixture *fx = *state;
  edv__tenant_rec g;
  edv_error err;

  /* Rolled back: nothing. */
  assert_int_equal(edv__store_begin(fx->st, &err), 0);
  put_tenant(fx->st, "t1", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_rollback(fx->st, &err), 0);
  assert_int_equal(edv__store_tenant_get(fx->st, "t1", &g, &err),
                   EDV_ENOTFOUND);
  /* Nested: the inner rollback undoes only the inner part. */
  assert_int_equal(edv__store_begin(fx->st, &err), 0);
  put_tenant(fx->st, "t1", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_begin(fx->st, &err), 0);
  put_tenant(fx->st, "t2", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_rollback(fx->st, &err), 0);
  assert_int_equal(edv__store_begin(fx->st, &err), 0);
  put_tenant(fx->st, "t3", "basic", EDV_PHASE_PENDING);
  assert_int_equal(edv__store_commit(fx->st, &err), 0);
  /* Not visible to another connection before the outer commit. */
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM tenants"), 0);
  assert_int_equal(edv__store_commit(fx->st, &err), 0);
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM tenants"), 2);
  assert_int_equal(edv__store_tenant_get(fx->st, "t1", &g, &err), 0);
  assert_int_equal(edv__store_tenant_get(fx->st, "t2", &g, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(edv__store_tenant_get(fx->st, "t3", &g, &err), 0);
  assert_int_equal(edv__store_commit(fx->st, &err), EDV_EINVAL);
  assert_int_equal(edv__store_rollback(fx->st, &err), EDV_EINVAL);
  /* A failing operation inside a transaction leaves it usable. */
  assert_int_equal(edv__store_begin(fx->st, &err), 0);
  put_tenant(fx->st, "t4", "basic", EDV_PHASE_PENDING);
  {
    edv__tenant_rec r;

    tenant_rec(&r, "t4", "t4", "basic", EDV_PHASE_PENDING);
    assert_int_equal(edv__store_tenant_put(fx->st, &r, EDV_PUT_CREATE, &err),
                     EDV_EEXIST);
  }
  assert_int_equal(edv__store_commit(fx->st, &err), 0);
  assert_int_equal(edv__store_tenant_get(fx->st, "t4", &g, &err), 0);
  /* Closed stores and bad arguments. */
  assert_int_equal(edv__store_tenant_get(NULL, "t4", &g, &err), EDV_EINVAL);
  assert_int_equal(edv__store_tenant_put(fx->st, NULL, 0, &err), EDV_EINVAL);
}

static edv__incident_rec incident_rec(const char *id, const char *tenant,
                                      const char *state, int64_t started_ms,
                                      int64_t ended_ms)
{
  edv__incident_rec r;

  memset(&r, 0, sizeof(r));
  snprintf(r.id, sizeof(r.id), "%s", id);
  snprintf(r.tenant, sizeof(r.tenant), "%s", tenant);
  snprintf(r.policy, sizeof(r.policy), "edv: application_errors");
  snprintf(r.alert, sizeof(r.alert), "application_errors");
  snprintf(r.severity, sizeof(r.severity), "Error");
  snprintf(r.state, sizeof(r.state), "%s", state);
  r.started_ms = started_ms;
  r.ended_ms = ended_ms;
  snprintf(r.summary, sizeof(r.summary), "errors above the threshold");
  snprintf(r.labels_json, sizeof(r.labels_json), "{}");
  return r;
}

static int collect_incident(void *data, const edv__incident_rec *rec)
{
  char *ids = data;

  strcat(ids, rec->id);
  strcat(ids, " ");
  return 0;
}

static int count_open(void *data, const char *alert, const char *severity,
                      uint64_t n)
{
  char *out = data;

  sprintf(out + strlen(out), "%s/%s=%llu ", alert, severity,
          (unsigned long long)n);
  return 0;
}

static unsigned incident_rows(fixture *fx)
{
  char ids[4096] = "";
  unsigned n = 0;
  edv_error err;
  edv__incident_filter f = {NULL, NULL, 0, NULL, 1000};

  assert_int_equal(
      edv__store_incident_list(fx->st, &f, collect_incident, ids, NULL, &err),
      0);
  for (char *p = ids; *p; p++)
    n += *p == ' ';
  return n;
}

/* A version-4 store (updates, no incidents) with a tenant, a release and
 * an update: opening it migrates to version 5, all of them kept; an
 * incident opened then closed is one row, a late "open" leaves it closed,
 * a closed one never seen is recorded closed; lists filter by state and
 * tenant and page newest first; open counts group by alert and severity;
 * prune drops closed incidents received before a time, then the oldest
 * closed past the row cap, never an open one. */
static void test_migration_v4_to_v5(void **state)
{
  fixture *fx = *state;
  edv__release_rec rel = release_rec("1.0.0", "tenant-1");
  edv__update_rec u, gu;
  edv__incident_rec i, got;
  edv__tenant_rec r;
  edv_error err;
  char ids[1024] = "", opencounts[256] = "";
  int v, more = 0;

  put_tenant(fx->st, "school001", "basic", EDV_PHASE_READY);
  assert_int_equal(edv__store_release_put(fx->st, &rel, &err), 0);
  memset(&u, 0, sizeof(u));
  snprintf(u.id, sizeof(u.id), "u-1");
  snprintf(u.release, sizeof(u.release), "1.0.0");
  snprintf(u.waves, sizeof(u.waves), "1");
  u.max_parallel = 1;
  snprintf(u.state, sizeof(u.state), "DONE");
  assert_int_equal(edv__store_update_put(fx->st, &u, &err), 0);
  edv__store_close(fx->st);
  fx->st = NULL;
  assert_int_equal(raw_exec(fx->path, "DROP TABLE incidents;"
                                      "PRAGMA user_version = 4;"),
                   SQLITE_OK);
  assert_int_equal(fx_open(fx, &err), 0);
  assert_int_equal(edv__store_schema_version(fx->st, &v, &err), 0);
  assert_int_equal(v, 5);
  assert_int_equal(edv__store_tenant_get(fx->st, "school001", &r, &err), 0);
  assert_int_equal(edv__store_release_get(fx->st, "1.0.0", &rel, &err), 0);
  assert_int_equal(edv__store_update_get(fx->st, "u-1", &gu, &err), 0);
  assert_string_equal(gu.state, "DONE");
  assert_int_equal(incident_rows(fx), 0);

  /* Open, then closed: one row, closed, with its end. */
  fx->now = 5000;
  i = incident_rec("0.a", "school001", "open", 1000, 0);
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), 0);
  assert_int_equal(edv__store_incident_get(fx->st, "0.a", &got, &err), 0);
  assert_string_equal(got.state, "open");
  assert_int_equal(got.received_ms, 5000);
  fx->now = 9000;
  i = incident_rec("0.a", "school001", "closed", 1000, 9000);
  snprintf(i.summary, sizeof(i.summary), "back below the threshold");
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), 0);
  assert_int_equal(incident_rows(fx), 1);
  assert_int_equal(edv__store_incident_get(fx->st, "0.a", &got, &err), 0);
  assert_string_equal(got.state, "closed");
  assert_int_equal(got.ended_ms, 9000);
  assert_string_equal(got.summary, "back below the threshold");
  assert_string_equal(got.alert, "application_errors");
  /* A late open does not reopen it. */
  i = incident_rec("0.a", "school001", "open", 1000, 0);
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), 0);
  assert_int_equal(edv__store_incident_get(fx->st, "0.a", &got, &err), 0);
  assert_string_equal(got.state, "closed");
  assert_int_equal(got.ended_ms, 9000);
  /* A closed one never seen open. */
  fx->now = 3000;
  i = incident_rec("0.b", "", "closed", 2000, 3000);
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), 0);
  assert_int_equal(edv__store_incident_get(fx->st, "0.a", &got, &err), 0);
  assert_int_equal(got.received_ms, 9000); /* the late open changed nothing */
  i = incident_rec("0.c", "school002", "open", 3000, 0);
  snprintf(i.severity, sizeof(i.severity), "Critical");
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), 0);
  i = incident_rec("0.d", "school001", "open", 4000, 0);
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), 0);
  i = incident_rec("0.e", "school001", "sleeping", 4000, 0);
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), EDV_EINVAL);
  assert_int_equal(edv__store_incident_get(fx->st, "0.e", &got, &err),
                   EDV_ENOTFOUND);

  {
    edv__incident_filter f = {"open", NULL, 0, NULL, 0};
    assert_int_equal(edv__store_incident_list(fx->st, &f, collect_incident, ids,
                                              &more, &err),
                     0);
    assert_string_equal(ids, "0.d 0.c ");
    assert_int_equal(more, 0);
    ids[0] = '\0';
    f.state = NULL;
    f.tenant = "school001";
    assert_int_equal(edv__store_incident_list(fx->st, &f, collect_incident, ids,
                                              &more, &err),
                     0);
    assert_string_equal(ids, "0.d 0.a ");
    ids[0] = '\0';
    f.tenant = "";
    assert_int_equal(edv__store_incident_list(fx->st, &f, collect_incident, ids,
                                              &more, &err),
                     0);
    assert_string_equal(ids, "0.b ");
    /* Pages of two, newest first. */
    ids[0] = '\0';
    f.tenant = NULL;
    f.limit = 2;
    assert_int_equal(edv__store_incident_list(fx->st, &f, collect_incident, ids,
                                              &more, &err),
                     0);
    assert_string_equal(ids, "0.d 0.c ");
    assert_int_equal(more, 1);
    f.after_ms = 3000;
    f.after_id = "0.c";
    assert_int_equal(edv__store_incident_list(fx->st, &f, collect_incident, ids,
                                              &more, &err),
                     0);
    assert_string_equal(ids, "0.d 0.c 0.b 0.a ");
    assert_int_equal(more, 0);
  }
  assert_int_equal(
      edv__store_incident_open_counts(fx->st, count_open, opencounts, &err), 0);
  assert_string_equal(opencounts, "application_errors/Critical=1 "
                                  "application_errors/Error=1 ");

  /* Prune: 0.b closed (received) at 3000, 0.a at 9000. */
  assert_int_equal(edv__store_incident_prune(fx->st, 5000, 100, &err), 0);
  assert_int_equal(edv__store_incident_get(fx->st, "0.b", &got, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(edv__store_incident_get(fx->st, "0.a", &got, &err), 0);
  assert_int_equal(incident_rows(fx), 3);
  /* Past the cap the oldest closed go, the open ones stay. */
  fx->now = 9500;
  i = incident_rec("0.f", "", "closed", 5000, 9500);
  assert_int_equal(edv__store_incident_put(fx->st, &i, &err), 0);
  assert_int_equal(edv__store_incident_prune(fx->st, 0, 3, &err), 0);
  assert_int_equal(edv__store_incident_get(fx->st, "0.a", &got, &err),
                   EDV_ENOTFOUND);
  assert_int_equal(edv__store_incident_get(fx->st, "0.f", &got, &err), 0);
  assert_int_equal(edv__store_incident_prune(fx->st, 0, 1, &err), 0);
  assert_int_equal(incident_rows(fx), 2);
  assert_int_equal(edv__store_incident_get(fx->st, "0.c", &got, &err), 0);
  assert_int_equal(edv__store_incident_get(fx->st, "0.d", &got, &err), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_v1_to_v2, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_v2_to_v3, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_v3_to_v4, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_v4_to_v5, setup, teardown),
      cmocka_unit_test_setup_teardown(test_file_mode_0600, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_foreign_files, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_tenant_crud, setup, teardown),
      cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_subnets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_subnet_race_two_processes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idempotency_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
