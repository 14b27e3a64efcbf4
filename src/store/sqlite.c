/*
 * sqlite.c - the SQLite backend of the store.
 *
 * One connection per process, used only from the loop thread. The file is
 * created 0600 by us before SQLite opens it (SQLite gives its -wal and -shm
 * files the database file's mode), marked with our PRAGMA application_id
 * from its first byte on; an existing file that is empty, not SQLite or
 * without the mark is refused, never taken for a new store. The
 * connection runs in WAL mode with a short busy timeout
 * (EDV_STORE_BUSY_TIMEOUT_MS; 5 s while opening) and foreign keys on;
 * synchronous is FULL unless the caller chose NORMAL.
 *
 * Schema migrations are an ordered array of SQL scripts. PRAGMA
 * user_version holds the number applied; each script runs in its own
 * BEGIN IMMEDIATE transaction that first re-reads user_version, so two
 * processes opening a new file at once apply each script exactly once.
 * Never edit a shipped migration: append a new one.
 *
 * Statements are prepared once (SQLITE_PREPARE_PERSISTENT) and cached in
 * the store; every use resets them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite_int.h"
#include "store/store.h"

#define SQ_APPLICATION_ID     0x45445631   /* "EDV1" */
#define SQ_APPLICATION_ID_STR "1162106417" /* the same, for SQL */
#define SQ_OPEN_BUSY_MS       5000         /* busy timeout while opening */

/* Ordered schema migrations; index i takes user_version i to i + 1. */
static const char *const sq_migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE tenants ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  tier TEXT NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  phase TEXT NOT NULL CHECK (phase IN ('PENDING', 'PROVISIONING',"
    "    'READY', 'UPDATING', 'DEPROVISIONING', 'DELETED', 'FAILED')),"
    "  generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX tenants_tier ON tenants (tier, id);"
    "CREATE INDEX tenants_phase ON tenants (phase, id);"
    "CREATE TABLE steps ("
    "  tenant TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,"
    "  step TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('PENDING', 'INTENT', 'WAITING',"
    "    'DONE', 'FAILED')),"
    "  attempt INTEGER NOT NULL DEFAULT 0,"
    "  request_id TEXT NOT NULL DEFAULT '',"
    "  op_name TEXT NOT NULL DEFAULT '',"
    "  op_kind TEXT NOT NULL DEFAULT '',"
    "  resource TEXT NOT NULL DEFAULT '',"
    "  error TEXT NOT NULL DEFAULT '',"
    "  started_ms INTEGER NOT NULL DEFAULT 0,"
    "  finished_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (tenant, step)"
    ");"
    /* No foreign key: the history outlives the tenant. */
    "CREATE TABLE journal ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  actor TEXT NOT NULL DEFAULT '',"
    "  event TEXT NOT NULL,"
    "  step TEXT NOT NULL DEFAULT '',"
    "  api_call TEXT NOT NULL DEFAULT '',"
    "  operation TEXT NOT NULL DEFAULT '',"
    "  duration_ms INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE INDEX journal_tenant ON journal (tenant, seq);"
    "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal"
    "  BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;"
    "CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal"
    "  BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;"
    /* One range per tenant and one tenant per range: the uniqueness
     * guarantee behind the allocator. */
    "CREATE TABLE subnets ("
    "  cidr TEXT NOT NULL UNIQUE,"
    "  tenant TEXT NOT NULL UNIQUE REFERENCES tenants (id) ON DELETE CASCADE,"
    "  first_addr INTEGER NOT NULL,"
    "  last_addr INTEGER NOT NULL,"
    "  prefix INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX subnets_range ON subnets (first_addr, last_addr);"
    /* Leases may exist before the tenant row (a create takes the lease
     * first), so no foreign key. */
    "CREATE TABLE leases ("
    "  tenant TEXT PRIMARY KEY NOT NULL,"
    "  holder TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  acquired_ms INTEGER NOT NULL"
    ");"
    "CREATE TABLE idempotency_keys ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  request_hash TEXT NOT NULL,"
    "  tenant TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX idempotency_created ON idempotency_keys (created_ms);",
    /* 2: the grace's phases; 3, 4, 5: releases, fleet updates, incidents
     * (store/sqlite_int.h). */
    EDV__SQ_MIGRATION_GRACE,
    EDV__SQ_MIGRATION_RELEASES,
    EDV__SQ_MIGRATION_UPDATES,
    EDV__SQ_MIGRATION_INCIDENTS,
};

#define SQ_SCHEMA_VERSION                                                      \
  ((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))

/* Cached statements. */
enum {
  SQ_TENANT_EXISTS,
  SQ_TENANT_CLASH,
  SQ_TENANT_UPSERT,
  SQ_TENANT_GET,
  SQ_TENANT_LIST,
  SQ_TENANT_DELETE,
  SQ_LEASE_DELETE_TENANT,
  SQ_TENANT_NEXT_GEN,
  SQ_TENANT_COUNTS,
  SQ_STEP_UPSERT,
  SQ_STEP_GET,
  SQ_STEP_LIST,
  SQ_STEP_DELETE_ALL,
  SQ_JOURNAL_APPEND,
  SQ_JOURNAL_LIST,
  SQ_SUBNET_GET,
  SQ_SUBNET_TAKEN,
  SQ_SUBNET_INSERT,
  SQ_SUBNET_RELEASE,
  SQ_SUBNET_COUNT,
  SQ_LEASE_ACQUIRE,
  SQ_LEASE_RENEW,
  SQ_LEASE_RELEASE,
  SQ_LEASE_GET,
  SQ_IDEM_GET,
  SQ_IDEM_INSERT,
  SQ_IDEM_PRUNE,
  SQ_JOURNAL_ALL,
  SQ__COUNT
};

#define SQ_TENANT_COLS                                                         \
  "id, slug, tier, spec, phase, generation, last_error, created_ms, "          \
  "updated_ms, release_version"
#define SQ_STEP_COLS                                                           \
  "tenant, step, state, attempt, request_id, op_name, op_kind, resource, "     \
  "error, started_ms, finished_ms"
#define SQ_JOURNAL_COLS                                                        \
  "seq, tenant, time_ms, actor, event, step, api_call, operation, "            \
  "duration_ms, error"

static const char *const sq_sql[SQ__COUNT] = {
    [SQ_TENANT_EXISTS] = "SELECT 1 FROM tenants WHERE id = ?1",
    /* Another tenant whose id or slug equals this one's id or slug: both
     * become hostnames in one zone. */
    [SQ_TENANT_CLASH] = "SELECT id FROM tenants WHERE id <> ?1 AND"
                        " (slug = ?2 OR id = ?2 OR slug = ?1) LIMIT 1",
    [SQ_TENANT_UPSERT] =
        "INSERT INTO tenants (" SQ_TENANT_COLS ")"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)"
        " ON CONFLICT (id) DO UPDATE SET slug = excluded.slug,"
        " tier = excluded.tier, spec = excluded.spec, phase = excluded.phase,"
        " generation = excluded.generation, last_error = excluded.last_error,"
        " updated_ms = excluded.updated_ms,"
        " release_version = excluded.release_version",
    [SQ_TENANT_GET] = "SELECT " SQ_TENANT_COLS " FROM tenants WHERE id = ?1",
    [SQ_TENANT_LIST] = "SELECT " SQ_TENANT_COLS " FROM tenants"
                       " WHERE (?1 = '' OR tier = ?1)"
                       " AND (?2 = '' OR phase = ?2) AND id > ?3"
                       " ORDER BY id LIMIT ?4",
    [SQ_TENANT_DELETE] = "DELETE FROM tenants WHERE id = ?1",
    [SQ_LEASE_DELETE_TENANT] = "DELETE FROM leases WHERE tenant = ?1",
    [SQ_TENANT_NEXT_GEN] = "UPDATE tenants SET generation = generation + 1,"
                           " updated_ms = ?2 WHERE id = ?1"
                           " RETURNING generation",
    [SQ_TENANT_COUNTS] = "SELECT tier, phase, count(*) FROM tenants"
                         " GROUP BY tier, phase ORDER BY tier, phase",
    [SQ_STEP_UPSERT] =
        "INSERT INTO steps (" SQ_STEP_COLS ")"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        " ON CONFLICT (tenant, step) DO UPDATE SET state = excluded.state,"
        " attempt = excluded.attempt, request_id = excluded.request_id,"
        " op_name = excluded.op_name, op_kind = excluded.op_kind,"
        " resource = excluded.resource, error = excluded.error,"
        " started_ms = excluded.started_ms,"
        " finished_ms = excluded.finished_ms",
    [SQ_STEP_GET] =
        "SELECT " SQ_STEP_COLS " FROM steps WHERE tenant = ?1 AND step = ?2",
    [SQ_STEP_LIST] =
        "SELECT " SQ_STEP_COLS " FROM steps WHERE tenant = ?1 ORDER BY rowid",
    [SQ_STEP_DELETE_ALL] = "DELETE FROM steps WHERE tenant = ?1",
    [SQ_JOURNAL_APPEND] =
        "INSERT INTO journal (tenant, time_ms, actor, event, step, api_call,"
        " operation, duration_ms, error)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQ_JOURNAL_LIST] = "SELECT " SQ_JOURNAL_COLS " FROM journal"
                        " WHERE tenant = ?1 AND seq > ?2 ORDER BY seq"
                        " LIMIT ?3",
    /* Every tenant's (a state export): ?1 is bound and unused. */
    [SQ_JOURNAL_ALL] = "SELECT " SQ_JOURNAL_COLS " FROM journal"
                       " WHERE seq > ?2 ORDER BY seq"
                       " LIMIT ?3",
    [SQ_SUBNET_GET] =
        "SELECT first_addr, prefix FROM subnets WHERE tenant = ?1",
    [SQ_SUBNET_TAKEN] = "SELECT first_addr, prefix FROM subnets"
                        " WHERE last_addr >= ?1 AND first_addr <= ?2",
    [SQ_SUBNET_INSERT] = "INSERT INTO subnets (cidr, tenant, first_addr,"
                         " last_addr, prefix, created_ms)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_SUBNET_RELEASE] = "DELETE FROM subnets WHERE tenant = ?1",
    [SQ_SUBNET_COUNT] = "SELECT count(*) FROM subnets",
    /* Atomic: take a missing or expired lease, or extend our own. */
    [SQ_LEASE_ACQUIRE] =
        "INSERT INTO leases (tenant, holder, expires_ms, acquired_ms)"
        " VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (tenant) DO UPDATE SET holder = excluded.holder,"
        " expires_ms = excluded.expires_ms,"
        " acquired_ms = CASE WHEN leases.holder = excluded.holder"
        "   THEN leases.acquired_ms ELSE excluded.acquired_ms END"
        " WHERE leases.expires_ms <= ?4 OR leases.holder = excluded.holder",
    [SQ_LEASE_RENEW] = "UPDATE leases SET expires_ms = ?3"
                       " WHERE tenant = ?1 AND holder = ?2",
    [SQ_LEASE_RELEASE] = "DELETE FROM leases WHERE tenant = ?1 AND holder = ?2",
    [SQ_LEASE_GET] = "SELECT tenant, holder, expires_ms FROM leases"
                     " WHERE tenant = ?1",
    [SQ_IDEM_GET] = "SELECT request_hash, tenant FROM idempotency_keys"
                    " WHERE key = ?1",
    [SQ_IDEM_INSERT] = "INSERT INTO idempotency_keys (key, request_hash,"
                       " tenant, created_ms) VALUES (?1, ?2, ?3, ?4)",
    [SQ_IDEM_PRUNE] = "DELETE FROM idempotency_keys WHERE created_ms < ?1",
};

typedef struct sq_store {
  edv_store base;                 /* must stay the head: see container_of */
  sqlite3 *db;                    /* the connection */
  int depth;                      /* open transaction levels (0: none) */
  sqlite3_stmt *stmts[SQ__COUNT]; /* prepared lazily, kept until close */
} sq_store;

#define SQ(st) ((sq_store *)((char *)(st)-offsetof(sq_store, base)))

/* Maps a SQLite result to our code and fills err with the context. */
static int sq_fail(sq_store *s, int rc, edv_error *err, const char *what)
{
  edv_code code;

  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    code = EDV_EBUSY;
    break;
  case SQLITE_CONSTRAINT:
    code = rc == SQLITE_CONSTRAINT_FOREIGNKEY ? EDV_ENOTFOUND : EDV_ECONFLICT;
    break;
  case SQLITE_NOMEM:
    code = EDV_ENOMEM;
    break;
  case SQLITE_NOTADB:
    code = EDV_ECONFIG;
    break;
  default:
    code = EDV_EIO;
    break;
  }
  edv_error_set(err, code, "store: %s: %s", what,
                s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
  if (err)
    snprintf(err->where, sizeof(err->where), "sqlite");
  return code;
}

/* The cached statement `id`, reset and with cleared bindings. */
static sqlite3_stmt *sq_stmt(sq_store *s, int id, edv_error *err)
{
  int rc;

  if (!s->stmts[id]) {
    rc = sqlite3_prepare_v3(s->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                            &s->stmts[id], NULL);
    if (rc != SQLITE_OK) {
      sq_fail(s, rc, err, "prepare");
      return NULL;
    }
  }
  sqlite3_reset(s->stmts[id]);
  sqlite3_clear_bindings(s->stmts[id]);
  return s->stmts[id];
}

static void sq_text(sqlite3_stmt *st, int col, char *buf, size_t size)
{
  const unsigned char *t = sqlite3_column_text(st, col);

  snprintf(buf, size, "%s", t ? (const char *)t : "");
}

static void sq_bind_text(sqlite3_stmt *st, int idx, const char *text)
{
  sqlite3_bind_text(st, idx, text ? text : "", -1, SQLITE_TRANSIENT);
}

/* Runs a statement that returns no rows; SQLITE_DONE is success. */
static int sq_done(sq_store *s, sqlite3_stmt *st, edv_error *err,
                   const char *what)
{
  int rc = sqlite3_step(st);

  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return sq_fail(s, rc, err, what);
  return 0;
}

static int sq_exec(sq_store *s, const char *sql, edv_error *err,
                   const char *what)
{
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? 0 : sq_fail(s, rc, err, what);
}

/* ---- transactions ---------------------------------------------------- */

static int sq_begin(edv_store *st, edv_error *err)
{
  sq_store *s = SQ(st);
  char sql[48];
  int rc;

  if (s->depth == 0)
    rc = sq_exec(s, "BEGIN IMMEDIATE", err, "begin");
  else {
    snprintf(sql, sizeof(sql), "SAVEPOINT edv_%d", s->depth);
    rc = sq_exec(s, sql, err, "savepoint");
  }
  if (rc == 0)
    s->depth++;
  return rc;
}

static int sq_rollback(edv_store *st, edv_error *err)
{
  sq_store *s = SQ(st);
  char sql[80];

  if (s->depth == 0)
    return edv_error_set(err, EDV_EINVAL, "store: no transaction is open");
  s->depth--;
  if (s->depth == 0)
    return sqlite3_get_autocommit(s->db)
               ? 0 /* SQLite already rolled it back */
               : sq_exec(s, "ROLLBACK", err, "rollback");
  snprintf(sql, sizeof(sql), "ROLLBACK TO edv_%d; RELEASE edv_%d", s->depth,
           s->depth);
  return sq_exec(s, sql, err, "rollback to savepoint");
}

static int sq_commit(edv_store *st, edv_error *err)
{
  sq_store *s = SQ(st);
  char sql[48];
  int rc;

  if (s->depth == 0)
    return edv_error_set(err, EDV_EINVAL, "store: no transaction is open");
  if (s->depth == 1) {
    rc = sq_exec(s, "COMMIT", err, "commit");
    if (rc) {
      /* Leave no half-open transaction behind. */
      if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    s->depth = 0;
    return rc;
  }
  s->depth--;
  snprintf(sql, sizeof(sql), "RELEASE edv_%d", s->depth);
  return sq_exec(s, sql, err, "release savepoint");
}

/* Ends a transaction opened by an operation: commit on success. */
static int sq_end(sq_store *s, int rc, edv_error *err)
{
  if (rc) {
    sq_rollback(&s->base, NULL);
    return rc;
  }
  return sq_commit(&s->base, err);
}

/* ---- open, migrate, close -------------------------------------------- */

static int sq_pragma_int(sq_store *s, const char *sql, int *out, edv_error *err)
{
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

  if (rc != SQLITE_OK)
    return sq_fail(s, rc, err, sql);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, err, sql);
}

static int sq_migrate_all(sq_store *s, edv_error *err);

static int sq_migrate(sq_store *s, edv_error *err)
{
  int rc = sq_exec(s, "PRAGMA foreign_keys = OFF", err, "migration");

  /* Off while migrating (a pragma that only changes outside a
   * transaction): a table rebuild must not cascade; each migration checks
   * the keys before it commits. */
  if (!rc)
    rc = sq_migrate_all(s, err);
  if (!rc)
    rc = sq_exec(s, "PRAGMA foreign_keys = ON", err, "foreign keys");
  else
    sq_exec(s, "PRAGMA foreign_keys = ON", NULL, "foreign keys");
  return rc;
}

/* 0 when no row breaks a foreign key. */
static int sq_fk_check(sq_store *s, edv_error *err)
{
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL);

  if (rc != SQLITE_OK)
    return sq_fail(s, rc, err, "foreign_key_check");
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW)
    return edv_error_set(err, EDV_ECONFIG,
                         "store: a migration broke a foreign key");
  return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, err, "foreign_key_check");
}

static int sq_migrate_all(sq_store *s, edv_error *err)
{
  char sql[64];
  int version, i, rc;

  for (i = 0; i < SQ_SCHEMA_VERSION; i++) {
    if ((rc = sq_begin(&s->base, err)))
      return rc;
    /* Re-read under the write lock: another process may have migrated. */
    if ((rc = sq_pragma_int(s, "PRAGMA user_version", &version, err)))
      return sq_end(s, rc, err);
    if (version > SQ_SCHEMA_VERSION)
      return sq_end(s,
                    edv_error_set(err, EDV_ECONFIG,
                                  "store: schema version %d is newer than "
                                  "this build (%d)",
                                  version, SQ_SCHEMA_VERSION),
                    err);
    if (version > i) {
      sq_rollback(&s->base, NULL);
      continue;
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
    if ((rc = sq_exec(s, sq_migrations[i], err, "migration")) ||
        (rc = sq_exec(s, sql, err, "migration")) ||
        (rc = sq_exec(s, "PRAGMA application_id = " SQ_APPLICATION_ID_STR, err,
                      "migration")) ||
        (rc = sq_fk_check(s, err)))
      return sq_end(s, rc, err);
    if ((rc = sq_commit(&s->base, err)))
      return rc;
  }
  return 0;
}

/* The advice every refused file gets. */
#define SQ_NOT_OURS                                                            \
  "not an edv store (move it away to start a new store, or restore the "       \
  "store from a backup)"

static int sq_foreign(const char *path, int appid, edv_error *err)
{
  return edv_error_set(err, EDV_ECONFIG,
                       "store: %s has application_id %d, " SQ_NOT_OURS, path,
                       appid);
}

/* A new store: made under a temporary name, marked with our
 * application_id, then linked into place (link() fails when the name
 * exists). So `path` never exists without the mark, even if we are killed
 * half way, and a file found there unmarked is not ours. Not an error when
 * another process created the store first. */
static int sq_create_new(const char *path, edv_error *err)
{
  char tmp[4200];
  sqlite3 *db = NULL;
  int fd, rc;

  if (snprintf(tmp, sizeof(tmp), "%s.new-XXXXXX", path) >= (int)sizeof(tmp))
    return edv_error_set(err, EDV_EINVAL, "store: path too long: %s", path);
  fd = mkstemp(tmp); /* 0600 */
  if (fd < 0)
    return edv_error_set(err, EDV_EIO, "store: cannot create %s: %s", tmp,
                         strerror(errno));
  close(fd);
  rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "PRAGMA application_id = " SQ_APPLICATION_ID_STR,
                      NULL, NULL, NULL);
  sqlite3_close(db);
  if (rc != SQLITE_OK) {
    unlink(tmp);
    return edv_error_set(err, EDV_EIO, "store: cannot create %s: %s", path,
                         sqlite3_errstr(rc));
  }
  rc = link(tmp, path) != 0 && errno != EEXIST ? errno : 0;
  unlink(tmp);
  if (rc)
    return edv_error_set(err, EDV_EIO, "store: cannot create %s: %s", path,
                         strerror(rc));
  return 0;
}

/* Checks that the file at `path` is a store (creating it when there is no
 * file) before SQLite opens it, and makes it 0600 (so are the -wal/-shm
 * files SQLite gives the database's mode), whatever the umask. An empty or
 * foreign file is refused, untouched: taking it for a new store would
 * forget every tenant (and edvd would then call their resources orphans). */
static int sq_check_file(const char *path, edv_error *err)
{
  unsigned char head[100];
  uint32_t appid;
  struct stat sb;
  ssize_t n;
  int fd, rc;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    if ((rc = sq_create_new(path, err)))
      return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0)
    return edv_error_set(err, EDV_EIO, "store: cannot open %s: %s", path,
                         strerror(errno));
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return edv_error_set(err, EDV_EIO, "store: %s is not a regular file", path);
  }
  n = sb.st_size > 0 ? read(fd, head, sizeof(head)) : 0;
  if (n < (ssize_t)sizeof(head) || memcmp(head, "SQLite format 3", 16) != 0) {
    close(fd);
    return edv_error_set(err, EDV_ECONFIG, "store: %s is %s, " SQ_NOT_OURS,
                         path,
                         sb.st_size == 0 ? "empty" : "not an SQLite database");
  }
  /* The header's copy of application_id (SQLite's file format: 4 bytes,
   * big-endian, at offset 68). 0 may still be ours with the mark only in
   * the -wal file: sq_configure reads it through SQLite. */
  appid = (uint32_t)head[68] << 24 | (uint32_t)head[69] << 16 |
          (uint32_t)head[70] << 8 | head[71];
  if (appid != 0 && appid != SQ_APPLICATION_ID) {
    close(fd);
    return sq_foreign(path, (int32_t)appid, err);
  }
  if ((sb.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0) {
    close(fd);
    return edv_error_set(err, EDV_EIO, "store: cannot chmod %s: %s", path,
                         strerror(errno));
  }
  close(fd);
  return 0;
}

static int sq_configure(sq_store *s, const edv__store_opts *opts, int memory,
                        edv_error *err)
{
  sqlite3_stmt *st;
  const unsigned char *mode;
  int rc, wal, appid;

  sqlite3_extended_result_codes(s->db, 1);
  /* Opening and migrating happen before the loop runs: they may wait for
   * another process's transaction longer than the loop's writes do. */
  sqlite3_busy_timeout(s->db, opts->busy_timeout_ms > SQ_OPEN_BUSY_MS
                                  ? (int)opts->busy_timeout_ms
                                  : SQ_OPEN_BUSY_MS);
  /* Ours (sq_create_new marked it) before anything writes to it. */
  if (!memory) {
    if ((rc = sq_pragma_int(s, "PRAGMA application_id", &appid, err)))
      return rc;
    if (appid != SQ_APPLICATION_ID)
      return sq_foreign(opts->path, appid, err);
  }
  if ((rc = sq_exec(s, "PRAGMA foreign_keys = ON", err, "foreign keys")) ||
      (rc = sq_exec(s,
                    opts->synchronous_normal ? "PRAGMA synchronous = NORMAL"
                                             : "PRAGMA synchronous = FULL",
                    err, "synchronous")))
    return rc;
  rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sq_fail(s, rc, err, "journal mode");
  rc = sqlite3_step(st);
  mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
  /* An in-memory database reports "memory"; that is fine for tests. */
  wal = mode && (strcmp((const char *)mode, "wal") == 0 ||
                 strcmp((const char *)mode, "memory") == 0);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW)
    return sq_fail(s, rc, err, "journal mode");
  if (!wal)
    return edv_error_set(err, EDV_EIO, "store: cannot switch to WAL mode");
  return 0;
}

static void sq_close(edv_store *st)
{
  sq_store *s = SQ(st);
  int i;

  if (s->depth > 0 && !sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  for (i = 0; i < SQ__COUNT; i++)
    sqlite3_finalize(s->stmts[i]);
  sqlite3_close_v2(s->db);
  free(s);
}

static int sq_schema_version(edv_store *st, int *version, edv_error *err)
{
  return sq_pragma_int(SQ(st), "PRAGMA user_version", version, err);
}

/* ---- tenants ----------------------------------------------------------- */

static void sq_tenant_row(sqlite3_stmt *st, edv__tenant_rec *r)
{
  char phase[32];

  memset(r, 0, sizeof(*r));
  sq_text(st, 0, r->id, sizeof(r->id));
  sq_text(st, 1, r->slug, sizeof(r->slug));
  sq_text(st, 2, r->tier, sizeof(r->tier));
  sq_text(st, 3, r->spec_json, sizeof(r->spec_json));
  sq_text(st, 4, phase, sizeof(phase));
  r->phase = (edv_tenant_phase)edv__phase_parse(phase);
  r->generation = (uint32_t)sqlite3_column_int64(st, 5);
  sq_text(st, 6, r->last_error, sizeof(r->last_error));
  r->created_ms = sqlite3_column_int64(st, 7);
  r->updated_ms = sqlite3_column_int64(st, 8);
  sq_text(st, 9, r->release, sizeof(r->release));
}

/* 1 when tenant `id` exists, 0 when not, negative code on error. */
static int sq_tenant_exists(sq_store *s, const char *id, edv_error *err)
{
  sqlite3_stmt *st = sq_stmt(s, SQ_TENANT_EXISTS, err);
  int rc;

  if (!st)
    return -EDV_EIO;
  sq_bind_text(st, 1, id);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE)
    return 0;
  return -sq_fail(s, rc, err, "tenant lookup");
}

static int sq_tenant_clash(sq_store *s, const edv__tenant_rec *r,
                           edv_error *err)
{
  sqlite3_stmt *st = sq_stmt(s, SQ_TENANT_CLASH, err);
  char other[EDV_STORE_ID_SZ];
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, r->id);
  sq_bind_text(st, 2, r->slug);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    sq_text(st, 0, other, sizeof(other));
    sqlite3_reset(st);
    return edv_error_set(err, EDV_ECONFLICT,
                         "tenant '%s': id or slug '%s' is already a hostname "
                         "of tenant '%s'",
                         r->id, r->slug, other);
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, err, "tenant slug check");
}

static int sq_tenant_put_locked(sq_store *s, const edv__tenant_rec *r,
                                edv__put_mode mode, edv_error *err)
{
  sqlite3_stmt *st;
  int exists, rc;

  exists = sq_tenant_exists(s, r->id, err);
  if (exists < 0)
    return -exists;
  if (mode == EDV_PUT_CREATE && exists)
    return edv_error_set(err, EDV_EEXIST, "tenant '%s' already exists", r->id);
  if (mode == EDV_PUT_UPDATE && !exists)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' does not exist",
                         r->id);
  if ((rc = sq_tenant_clash(s, r, err)))
    return rc;
  if (!(st = sq_stmt(s, SQ_TENANT_UPSERT, err)))
    return EDV_EIO;
  sq_bind_text(st, 1, r->id);
  sq_bind_text(st, 2, r->slug);
  sq_bind_text(st, 3, r->tier);
  sq_bind_text(st, 4, r->spec_json);
  sq_bind_text(st, 5, edv__phase_name(r->phase));
  sqlite3_bind_int64(st, 6, r->generation);
  sq_bind_text(st, 7, r->last_error);
  sqlite3_bind_int64(st, 8, edv__store_now(&s->base));
  sq_bind_text(st, 9, r->release);
  return sq_done(s, st, err, "tenant put");
}

static int sq_tenant_put(edv_store *stp, const edv__tenant_rec *r,
                         edv__put_mode mode, edv_error *err)
{
  sq_store *s = SQ(stp);
  int rc;

  if ((rc = sq_begin(stp, err)))
    return rc;
  return sq_end(s, sq_tenant_put_locked(s, r, mode, err), err);
}

static int sq_tenant_get(edv_store *stp, const char *id, edv__tenant_rec *out,
                         edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_TENANT_GET, err);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    sq_tenant_row(st, out);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' does not exist", id);
  return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, err, "tenant get");
}

static int sq_tenant_list(edv_store *stp, const edv__tenant_filter *f,
                          edv__tenant_fn fn, void *data, char *next_after,
                          size_t next_size, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_TENANT_LIST, err);
  edv__tenant_rec *rec;
  unsigned limit = f->limit ? f->limit : 100, n = 0;
  int rc;

  if (!st)
    return EDV_EIO;
  if (limit > 1000)
    limit = 1000;
  rec = malloc(sizeof(*rec));
  if (!rec)
    return edv_error_set(err, EDV_ENOMEM, "store: tenant list");
  sq_bind_text(st, 1, f->tier);
  sq_bind_text(st, 2, f->phase >= 0 ? edv__phase_name(f->phase) : "");
  sq_bind_text(st, 3, f->after);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)limit + 1); /* one more: next? */
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == limit) {
      if (next_after)
        snprintf(next_after, next_size, "%s", rec->id);
      break;
    }
    sq_tenant_row(st, rec);
    n++;
    if (fn(data, rec)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_reset(st);
  free(rec);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return sq_fail(s, rc, err, "tenant list");
  return 0;
}

static int sq_tenant_delete(edv_store *stp, const char *id, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st;
  int rc;

  if ((rc = sq_begin(stp, err)))
    return rc;
  if (!(st = sq_stmt(s, SQ_TENANT_DELETE, err)))
    return sq_end(s, EDV_EIO, err);
  sq_bind_text(st, 1, id);
  if ((rc = sq_done(s, st, err, "tenant delete")))
    return sq_end(s, rc, err);
  if (sqlite3_changes(s->db) == 0)
    return sq_end(
        s, edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' does not exist", id),
        err);
  if (!(st = sq_stmt(s, SQ_LEASE_DELETE_TENANT, err)))
    return sq_end(s, EDV_EIO, err);
  sq_bind_text(st, 1, id);
  return sq_end(s, sq_done(s, st, err, "lease delete"), err);
}

static int sq_tenant_next_generation(edv_store *stp, const char *id,
                                     uint32_t *generation, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_TENANT_NEXT_GEN, err);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, id);
  sqlite3_bind_int64(st, 2, edv__store_now(stp));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *generation = (uint32_t)sqlite3_column_int64(st, 0);
    rc = sqlite3_step(st); /* finish the statement: the update applies */
  } else if (rc == SQLITE_DONE) {
    sqlite3_reset(st);
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' does not exist", id);
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, err, "next generation");
}

static int sq_tenant_counts(edv_store *stp, edv__tenant_count_fn fn, void *data,
                            edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_TENANT_COUNTS, err);
  char tier[EDV_STORE_TIER_SZ], phase[32];
  int rc;

  if (!st)
    return EDV_EIO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sq_text(st, 0, tier, sizeof(tier));
    sq_text(st, 1, phase, sizeof(phase));
    if (fn(data, tier, (edv_tenant_phase)edv__phase_parse(phase),
           (uint64_t)sqlite3_column_int64(st, 2))) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, err, "tenant counts");
}

/* ---- steps ------------------------------------------------------------- */

static void sq_step_row(sqlite3_stmt *st, edv__step_rec *r)
{
  char state[32];

  memset(r, 0, sizeof(*r));
  sq_text(st, 0, r->tenant, sizeof(r->tenant));
  sq_text(st, 1, r->step, sizeof(r->step));
  sq_text(st, 2, state, sizeof(state));
  r->state = (edv_step_state)edv__step_state_parse(state);
  r->attempt = (unsigned)sqlite3_column_int64(st, 3);
  sq_text(st, 4, r->request_id, sizeof(r->request_id));
  sq_text(st, 5, r->op_name, sizeof(r->op_name));
  sq_text(st, 6, r->op_kind, sizeof(r->op_kind));
  sq_text(st, 7, r->resource, sizeof(r->resource));
  sq_text(st, 8, r->error, sizeof(r->error));
  r->started_ms = sqlite3_column_int64(st, 9);
  r->finished_ms = sqlite3_column_int64(st, 10);
}

static int sq_step_put(edv_store *stp, const edv__step_rec *r, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_STEP_UPSERT, err);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, r->tenant);
  sq_bind_text(st, 2, r->step);
  sq_bind_text(st, 3, edv__step_state_name(r->state));
  sqlite3_bind_int64(st, 4, r->attempt);
  sq_bind_text(st, 5, r->request_id);
  sq_bind_text(st, 6, r->op_name);
  sq_bind_text(st, 7, r->op_kind);
  sq_bind_text(st, 8, r->resource);
  sq_bind_text(st, 9, r->error);
  sqlite3_bind_int64(st, 10, r->started_ms);
  sqlite3_bind_int64(st, 11, r->finished_ms);
  rc = sq_done(s, st, err, "step put");
  if (rc == EDV_ENOTFOUND)
    edv_error_set(err, rc, "step '%s': tenant '%s' does not exist", r->step,
                  r->tenant);
  return rc;
}

static int sq_step_get(edv_store *stp, const char *tenant, const char *step,
                       edv__step_rec *out, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_STEP_GET, err);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, tenant);
  sq_bind_text(st, 2, step);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    sq_step_row(st, out);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' has no step '%s'",
                         tenant, step);
  return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, err, "step get");
}

static int sq_step_list(edv_store *stp, const char *tenant, edv__step_fn fn,
                        void *data, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_STEP_LIST, err);
  edv__step_rec *rec;
  int rc;

  if (!st)
    return EDV_EIO;
  if (!(rec = malloc(sizeof(*rec))))
    return edv_error_set(err, EDV_ENOMEM, "store: step list");
  sq_bind_text(st, 1, tenant);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sq_step_row(st, rec);
    if (fn(data, rec)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_reset(st);
  free(rec);
  return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, err, "step list");
}

static int sq_step_delete_all(edv_store *stp, const char *tenant,
                              edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_STEP_DELETE_ALL, err);

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, tenant);
  return sq_done(s, st, err, "step delete");
}

/* ---- journal ----------------------------------------------------------- */

static int sq_journal_append(edv_store *stp, const edv__journal_rec *r,
                             int64_t *seq, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_JOURNAL_APPEND, err);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, r->tenant);
  sqlite3_bind_int64(st, 2, r->time_ms ? r->time_ms : edv__store_now(stp));
  sq_bind_text(st, 3, r->actor);
  sq_bind_text(st, 4, r->event);
  sq_bind_text(st, 5, r->step);
  sq_bind_text(st, 6, r->api_call);
  sq_bind_text(st, 7, r->operation);
  sqlite3_bind_int64(st, 8, r->duration_ms);
  sq_bind_text(st, 9, r->error);
  if ((rc = sq_done(s, st, err, "journal append")))
    return rc;
  if (seq)
    *seq = sqlite3_last_insert_rowid(s->db);
  return 0;
}

static int sq_journal_list(edv_store *stp, const char *tenant,
                           int64_t after_seq, unsigned limit,
                           edv__journal_fn fn, void *data, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, tenant ? SQ_JOURNAL_LIST : SQ_JOURNAL_ALL, err);
  edv__journal_rec *r;
  int rc;

  if (!st)
    return EDV_EIO;
  if (!(r = malloc(sizeof(*r))))
    return edv_error_set(err, EDV_ENOMEM, "store: journal list");
  sq_bind_text(st, 1, tenant);
  sqlite3_bind_int64(st, 2, after_seq);
  sqlite3_bind_int64(st, 3, limit ? (sqlite3_int64)limit : -1);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    memset(r, 0, sizeof(*r));
    r->seq = sqlite3_column_int64(st, 0);
    sq_text(st, 1, r->tenant, sizeof(r->tenant));
    r->time_ms = sqlite3_column_int64(st, 2);
    sq_text(st, 3, r->actor, sizeof(r->actor));
    sq_text(st, 4, r->event, sizeof(r->event));
    sq_text(st, 5, r->step, sizeof(r->step));
    sq_text(st, 6, r->api_call, sizeof(r->api_call));
    sq_text(st, 7, r->operation, sizeof(r->operation));
    r->duration_ms = sqlite3_column_int64(st, 8);
    sq_text(st, 9, r->error, sizeof(r->error));
    if (fn(data, r)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_reset(st);
  free(r);
  return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, err, "journal list");
}

/* ---- subnets ----------------------------------------------------------- */

/* 1 and *out when the tenant has a range, 0 when not, negative on error. */
static int sq_subnet_lookup(sq_store *s, const char *tenant, edv_cidr *out,
                            edv_error *err)
{
  sqlite3_stmt *st = sq_stmt(s, SQ_SUBNET_GET, err);
  int rc;

  if (!st)
    return -EDV_EIO;
  sq_bind_text(st, 1, tenant);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    out->net = (uint32_t)sqlite3_column_int64(st, 0);
    out->prefix = (unsigned)sqlite3_column_int(st, 1);
  }
  sqlite3_reset(st);
  if (rc == SQLITE_ROW)
    return 1;
  return rc == SQLITE_DONE ? 0 : -sq_fail(s, rc, err, "subnet lookup");
}

/* Reads the ranges overlapping the supernet into a new array (plus room
 * for `extra` more). */
static int sq_subnet_taken(sq_store *s, const edv_cidr *super, size_t extra,
                           edv_cidr **out, size_t *n, edv_error *err)
{
  sqlite3_stmt *st = sq_stmt(s, SQ_SUBNET_TAKEN, err);
  edv_cidr *v = NULL, *nv;
  size_t cap = 0;
  int rc;

  *n = 0;
  if (!st)
    return EDV_EIO;
  sqlite3_bind_int64(st, 1, edv__cidr_first(super));
  sqlite3_bind_int64(st, 2, edv__cidr_last(super));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n + extra >= cap) {
      cap = cap ? cap * 2 : 64 + extra;
      nv = realloc(v, cap * sizeof(*v));
      if (!nv) {
        sqlite3_reset(st);
        free(v);
        return edv_error_set(err, EDV_ENOMEM, "store: subnet allocation");
      }
      v = nv;
    }
    v[*n].net = (uint32_t)sqlite3_column_int64(st, 0);
    v[*n].prefix = (unsigned)sqlite3_column_int(st, 1);
    (*n)++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    free(v);
    return sq_fail(s, rc, err, "subnet scan");
  }
  if (!v && !(v = malloc((extra + 1) * sizeof(*v))))
    return edv_error_set(err, EDV_ENOMEM, "store: subnet allocation");
  *out = v;
  return 0;
}

static int sq_subnet_allocate_locked(sq_store *s, const char *tenant,
                                     const edv_cidr *super, unsigned prefix,
                                     const edv_cidr *reserved, size_t nreserved,
                                     edv_cidr *out, edv_error *err)
{
  char text[EDV_CIDR_STRLEN];
  sqlite3_stmt *st;
  edv_cidr *taken = NULL;
  size_t n;
  int rc;

  rc = sq_subnet_lookup(s, tenant, out, err);
  if (rc != 0)
    return rc > 0 ? 0 : -rc; /* already allocated: idempotent */
  if ((rc = sq_subnet_taken(s, super, nreserved, &taken, &n, err)))
    return rc;
  if (nreserved)
    memcpy(taken + n, reserved, nreserved * sizeof(*reserved));
  rc = edv__cidr_alloc(super, prefix, taken, n + nreserved, out, err);
  free(taken);
  if (rc)
    return rc;
  if (!(st = sq_stmt(s, SQ_SUBNET_INSERT, err)))
    return EDV_EIO;
  sq_bind_text(st, 1, edv__cidr_format(out, text, sizeof(text)));
  sq_bind_text(st, 2, tenant);
  sqlite3_bind_int64(st, 3, edv__cidr_first(out));
  sqlite3_bind_int64(st, 4, edv__cidr_last(out));
  sqlite3_bind_int(st, 5, (int)out->prefix);
  sqlite3_bind_int64(st, 6, edv__store_now(&s->base));
  rc = sq_done(s, st, err, "subnet insert");
  if (rc == EDV_ENOTFOUND)
    edv_error_set(err, rc, "subnet: tenant '%s' does not exist", tenant);
  return rc;
}

static int sq_subnet_allocate(edv_store *stp, const char *tenant,
                              const edv_cidr *supernet, unsigned prefix,
                              const edv_cidr *reserved, size_t nreserved,
                              edv_cidr *out, edv_error *err)
{
  sq_store *s = SQ(stp);
  int rc;

  /* BEGIN IMMEDIATE: the write lock is ours before we read what is taken,
   * so no other process can allocate between our read and our insert. */
  if ((rc = sq_begin(stp, err)))
    return rc;
  rc = sq_subnet_allocate_locked(s, tenant, supernet, prefix, reserved,
                                 nreserved, out, err);
  return sq_end(s, rc, err);
}

static int sq_subnet_get(edv_store *stp, const char *tenant, edv_cidr *out,
                         edv_error *err)
{
  int rc = sq_subnet_lookup(SQ(stp), tenant, out, err);

  if (rc < 0)
    return -rc;
  if (rc == 0)
    return edv_error_set(err, EDV_ENOTFOUND,
                         "tenant '%s' has no subnet allocated", tenant);
  return 0;
}

static int sq_subnet_release(edv_store *stp, const char *tenant, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_SUBNET_RELEASE, err);

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, tenant);
  return sq_done(s, st, err, "subnet release");
}

static int sq_subnet_count(edv_store *stp, size_t *count, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_SUBNET_COUNT, err);
  int rc;

  if (!st)
    return EDV_EIO;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *count = (size_t)sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, err, "subnet count");
}

/* ---- leases ------------------------------------------------------------ */

/* 1 and *out when a lease row exists, 0 when not, negative on error. */
static int sq_lease_lookup(sq_store *s, const char *tenant, edv__lease_rec *out,
                           edv_error *err)
{
  sqlite3_stmt *st = sq_stmt(s, SQ_LEASE_GET, err);
  int rc;

  if (!st)
    return -EDV_EIO;
  sq_bind_text(st, 1, tenant);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    memset(out, 0, sizeof(*out));
    sq_text(st, 0, out->tenant, sizeof(out->tenant));
    sq_text(st, 1, out->holder, sizeof(out->holder));
    out->expires_ms = sqlite3_column_int64(st, 2);
  }
  sqlite3_reset(st);
  if (rc == SQLITE_ROW)
    return 1;
  return rc == SQLITE_DONE ? 0 : -sq_fail(s, rc, err, "lease lookup");
}

static int sq_lease_busy(sq_store *s, const char *tenant,
                         edv__lease_rec *current, edv_error *err)
{
  edv__lease_rec cur;
  int rc = sq_lease_lookup(s, tenant, &cur, err);

  if (rc < 0)
    return -rc;
  if (rc == 0)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' has no lease",
                         tenant);
  if (current)
    *current = cur;
  edv_error_set(err, EDV_EBUSY,
                "tenant '%s' is driven by '%s' (lease expires in %lld ms)",
                tenant, cur.holder,
                (long long)(cur.expires_ms - edv__store_now(&s->base)));
  return EDV_EBUSY;
}

static int sq_lease_acquire(edv_store *stp, const char *tenant,
                            const char *holder, int64_t ttl_ms,
                            edv__lease_rec *current, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_LEASE_ACQUIRE, err);
  int64_t now = edv__store_now(stp);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, tenant);
  sq_bind_text(st, 2, holder);
  sqlite3_bind_int64(st, 3, now + ttl_ms);
  sqlite3_bind_int64(st, 4, now);
  if ((rc = sq_done(s, st, err, "lease acquire")))
    return rc;
  if (sqlite3_changes(s->db) == 1) {
    if (current) {
      memset(current, 0, sizeof(*current));
      snprintf(current->tenant, sizeof(current->tenant), "%s", tenant);
      snprintf(current->holder, sizeof(current->holder), "%s", holder);
      current->expires_ms = now + ttl_ms;
    }
    return 0;
  }
  return sq_lease_busy(s, tenant, current, err);
}

static int sq_lease_renew(edv_store *stp, const char *tenant,
                          const char *holder, int64_t ttl_ms, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_LEASE_RENEW, err);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, tenant);
  sq_bind_text(st, 2, holder);
  sqlite3_bind_int64(st, 3, edv__store_now(stp) + ttl_ms);
  if ((rc = sq_done(s, st, err, "lease renew")))
    return rc;
  if (sqlite3_changes(s->db) == 1)
    return 0;
  return sq_lease_busy(s, tenant, NULL, err);
}

static int sq_lease_release(edv_store *stp, const char *tenant,
                            const char *holder, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_LEASE_RELEASE, err);

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, tenant);
  sq_bind_text(st, 2, holder);
  return sq_done(s, st, err, "lease release");
}

static int sq_lease_get(edv_store *stp, const char *tenant, edv__lease_rec *out,
                        edv_error *err)
{
  int rc = sq_lease_lookup(SQ(stp), tenant, out, err);

  if (rc < 0)
    return -rc;
  if (rc == 0)
    return edv_error_set(err, EDV_ENOTFOUND, "tenant '%s' has no lease",
                         tenant);
  return 0;
}

/* ---- idempotency keys -------------------------------------------------- */

static int sq_idem_locked(sq_store *s, const char *key, const char *hash,
                          const char *tenant, char *tenant_out,
                          size_t tenant_size, edv_error *err)
{
  char stored_hash[EDV_STORE_HASH_SZ], stored_tenant[EDV_STORE_ID_SZ];
  sqlite3_stmt *st = sq_stmt(s, SQ_IDEM_GET, err);
  int rc;

  if (!st)
    return EDV_EIO;
  sq_bind_text(st, 1, key);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    sq_text(st, 0, stored_hash, sizeof(stored_hash));
    sq_text(st, 1, stored_tenant, sizeof(stored_tenant));
  }
  sqlite3_reset(st);
  if (rc == SQLITE_ROW) {
    if (tenant_out && tenant_size)
      snprintf(tenant_out, tenant_size, "%s", stored_tenant);
    if (strcmp(stored_hash, hash) == 0)
      return edv_error_set(err, EDV_EEXIST,
                           "idempotency key already used for tenant '%s'",
                           stored_tenant);
    return edv_error_set(err, EDV_ECONFLICT,
                         "idempotency key was used for a different request");
  }
  if (rc != SQLITE_DONE)
    return sq_fail(s, rc, err, "idempotency lookup");
  if (!(st = sq_stmt(s, SQ_IDEM_INSERT, err)))
    return EDV_EIO;
  sq_bind_text(st, 1, key);
  sq_bind_text(st, 2, hash);
  sq_bind_text(st, 3, tenant);
  sqlite3_bind_int64(st, 4, edv__store_now(&s->base));
  return sq_done(s, st, err, "idempotency insert");
}

static int sq_idem_check(edv_store *stp, const char *key, const char *hash,
                         const char *tenant, char *tenant_out,
                         size_t tenant_size, edv_error *err)
{
  sq_store *s = SQ(stp);
  int rc;

  if ((rc = sq_begin(stp, err)))
    return rc;
  rc = sq_idem_locked(s, key, hash, tenant, tenant_out, tenant_size, err);
  /* A replay or a conflict changed nothing: still end cleanly. */
  return sq_end(s, rc, err);
}

static int sq_idem_prune(edv_store *stp, int64_t older_than_ms, edv_error *err)
{
  sq_store *s = SQ(stp);
  sqlite3_stmt *st = sq_stmt(s, SQ_IDEM_PRUNE, err);

  if (!st)
    return EDV_EIO;
  sqlite3_bind_int64(st, 1, older_than_ms);
  return sq_done(s, st, err, "idempotency prune");
}

static const edv__store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .schema_version = sq_schema_version,
    .tenant_put = sq_tenant_put,
    .tenant_get = sq_tenant_get,
    .tenant_list = sq_tenant_list,
    .tenant_delete = sq_tenant_delete,
    .tenant_next_generation = sq_tenant_next_generation,
    .tenant_counts = sq_tenant_counts,
    .step_put = sq_step_put,
    .step_get = sq_step_get,
    .step_list = sq_step_list,
    .step_delete_all = sq_step_delete_all,
    .journal_append = sq_journal_append,
    .journal_list = sq_journal_list,
    .subnet_allocate = sq_subnet_allocate,
    .subnet_get = sq_subnet_get,
    .subnet_release = sq_subnet_release,
    .subnet_count = sq_subnet_count,
    .lease_acquire = sq_lease_acquire,
    .lease_renew = sq_lease_renew,
    .lease_release = sq_lease_release,
    .lease_get = sq_lease_get,
    .idem_check = sq_idem_check,
    .idem_prune = sq_idem_prune,
    .release_put = edv__sq_release_put,
    .release_get = edv__sq_release_get,
    .release_list = edv__sq_release_list,
    .update_put = edv__sq_update_put,
    .update_get = edv__sq_update_get,
    .update_list = edv__sq_update_list,
    .update_tenant_put = edv__sq_update_tenant_put,
    .update_tenants = edv__sq_update_tenants,
    .incident_put = edv__sq_incident_put,
    .incident_get = edv__sq_incident_get,
    .incident_list = edv__sq_incident_list,
    .incident_open_counts = edv__sq_incident_open_counts,
    .incident_prune = edv__sq_incident_prune,
};

sqlite3 *edv__sq_db(edv_store *st)
{
  return SQ(st)->db;
}

int edv__store_open_sqlite(const edv__store_opts *opts, edv_store **out,
                           edv_error *err)
{
  sq_store *s;
  int memory, rc;

  if (!out)
    return edv_error_set(err, EDV_EINVAL, "store: no output");
  *out = NULL;
  if (!opts || !opts->path || !opts->path[0])
    return edv_error_set(err, EDV_EINVAL, "store: no database path");
  memory = strcmp(opts->path, ":memory:") == 0;
  if (!memory && (rc = sq_check_file(opts->path, err)))
    return rc;
  s = calloc(1, sizeof(*s));
  if (!s)
    return edv_error_set(err, EDV_ENOMEM, "store");
  s->base.ops = &sq_ops;
  s->base.clock = opts->clock ? opts->clock : edv__store_wall_clock;
  s->base.clock_data = opts->clock_data;
  rc = sqlite3_open_v2(opts->path, &s->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                           (memory ? SQLITE_OPEN_CREATE : 0),
                       NULL);
  if (rc != SQLITE_OK) {
    rc = sq_fail(s, rc, err, "open");
    goto fail;
  }
  if ((rc = sq_configure(s, opts, memory, err)) || (rc = sq_migrate(s, err)))
    goto fail;
  /* From now on the store runs on the loop: a write meeting another
   * process's lock waits at most this long, then fails with EDV_EBUSY (the
   * group commit retries it from a timer; see store/batch.h). */
  sqlite3_busy_timeout(s->db, opts->busy_timeout_ms
                                  ? (int)opts->busy_timeout_ms
                                  : EDV_STORE_BUSY_TIMEOUT_MS);
  s->base.magic = EDV_STORE_MAGIC;
  *out = &s->base;
  return 0;
fail:
  sq_close(&s->base);
  return rc;
}
