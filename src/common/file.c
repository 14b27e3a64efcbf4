/*
 * file.c - a private file replaced atomically (common/file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"

static int write_all(int fd, const char *p, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int edv__file_write_private(const char *path, const char *text, edv_error *err)
{
  char tmp[1100];
  size_t len = strlen(text);
  int fd, ok, e;

  if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >=
      (int)sizeof(tmp))
    return edv_error_set(err, EDV_EINVAL, "%s: path too long", path);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return edv_error_set(err, EDV_EIO, "cannot create %s: %s", tmp,
                         strerror(errno));
  /* fchmod: a umask cannot have changed what the file is. */
  ok = fchmod(fd, 0600) == 0 && write_all(fd, text, len) == 0 &&
       (len > 0 && text[len - 1] == '\n' ? 1 : write_all(fd, "\n", 1) == 0) &&
       fsync(fd) == 0;
  e = errno;
  ok = close(fd) == 0 && ok;
  if (ok && rename(tmp, path) == 0)
    return 0;
  e = ok ? errno : e;
  unlink(tmp);
  return edv_error_set(err, EDV_EIO, "cannot write %s: %s", path, strerror(e));
}
