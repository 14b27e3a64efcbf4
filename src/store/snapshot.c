/*
 * snapshot.c - a copy of a SQLite store through SQLite's online backup API
 * (sqlite3_backup_*), on connections of its own.
 *
 * The copy runs in one sqlite3_backup_step(-1): one read transaction on
 * the source, so the copy is a consistent image of one moment; in WAL
 * mode the store's own connection keeps writing meanwhile (a reader never
 * blocks a writer). It is written to "DEST.tmp-PID" created 0600, synced,
 * then renamed over DEST: a reader never sees half a snapshot.
 *
 * It blocks while it copies: the fleet runs it in a uv work thread
 * (fleet/state.c), never on the loop. Each call opens and closes its own
 * connections, so any thread may call it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

#define SNAP_BUSY_MS 5000 /* waiting for another process's lock */

static int snap_fail(sqlite3 *db, int rc, const char *what, const char *path,
                     edv_error *err)
{
  return edv_error_set(err, rc == SQLITE_BUSY ? EDV_EBUSY : EDV_EIO,
                       "snapshot: %s %s: %s", what, path,
                       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* The copy itself, from the open source into the open destination. */
static int snap_copy(sqlite3 *from, sqlite3 *to, const char *dst,
                     edv_error *err)
{
  sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
  int rc;

  if (!b)
    return snap_fail(to, SQLITE_ERROR, "cannot start the copy to", dst, err);
  rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE)
    return snap_fail(NULL, rc, "cannot copy to", dst, err);
  /* A snapshot is one file: no -wal beside it. */
  rc = sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : snap_fail(to, rc, "cannot finish", dst, err);
}

int edv__store_snapshot_file(const char *src, const char *dst, edv_error *err)
{
  sqlite3 *from = NULL, *to = NULL;
  char tmp[1024];
  int fd, rc, result;

  if (!src || !*src || !dst || !*dst)
    return edv_error_set(err, EDV_EINVAL, "snapshot: no path");
  if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dst, (long)getpid()) >=
      (int)sizeof(tmp))
    return edv_error_set(err, EDV_EINVAL, "snapshot: path too long: %s", dst);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return edv_error_set(err, EDV_EIO, "snapshot: cannot create %s: %s", tmp,
                         strerror(errno));
  close(fd);
  rc = sqlite3_open_v2(src, &from, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                       NULL);
  if (rc != SQLITE_OK) {
    result = snap_fail(from, rc, "cannot open", src, err);
    goto out;
  }
  sqlite3_busy_timeout(from, SNAP_BUSY_MS);
  rc = sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                       NULL);
  if (rc != SQLITE_OK) {
    result = snap_fail(to, rc, "cannot open", tmp, err);
    goto out;
  }
  if ((result = snap_copy(from, to, dst, err)))
    goto out;
  rc = sqlite3_close(to);
  to = NULL;
  if (rc != SQLITE_OK) {
    result = snap_fail(NULL, rc, "cannot close", tmp, err);
    goto out;
  }
  fd = open(tmp, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0 || rename(tmp, dst) != 0) {
    result = edv_error_set(err, EDV_EIO, "snapshot: cannot write %s: %s", dst,
                           strerror(errno));
  }
  if (fd >= 0)
    close(fd);
out:
  sqlite3_close(to);
  sqlite3_close(from);
  if (result)
    unlink(tmp);
  return result;
}
