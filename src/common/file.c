/*
 * file.c - a private file replaced atomically, a secret read from one
 * (common/file.h).
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

int edv__file_read_secret(const char *cfgkey, const char *path, char *buf,
                          size_t size, edv_error *err)
{
  struct stat st;
  size_t got = 0;
  int fd;

  memset(buf, 0, size);
  /* O_NONBLOCK: a FIFO named here must not hang the caller. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return edv_error_set(err, EDV_ECONFIG, "%s: cannot read '%s': %s", cfgkey,
                         path, strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      (size_t)st.st_size >= size) {
    close(fd);
    return edv_error_set(err, EDV_ECONFIG,
                         "%s: '%s' is not a regular file of 1 to %zu bytes",
                         cfgkey, path, size - 1);
  }
  if (st.st_uid != geteuid() || (st.st_mode & 077)) {
    close(fd);
    return edv_error_set(err, EDV_ECONFIG,
                         "%s: '%s' holds a secret but is %s (mode %04o, "
                         "uid %u): chmod 600 it, owned by uid %u",
                         cfgkey, path,
                         st.st_uid != geteuid() ? "not this user's"
                                                : "open to group or others",
                         (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                         (unsigned)geteuid());
  }
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (got != (size_t)st.st_size || memchr(buf, '\0', got)) {
    memset(buf, 0, size);
    return edv_error_set(err, EDV_ECONFIG,
                         "%s: '%s' could not be read whole as text", cfgkey,
                         path);
  }
  if (got && buf[got - 1] == '\n')
    buf[--got] = '\0';
  if (got && buf[got - 1] == '\r')
    buf[--got] = '\0';
  if (got == 0)
    return edv_error_set(err, EDV_ECONFIG, "%s: '%s' is empty", cfgkey, path);
  return 0;
}
