/*
 * file.h - a private file replaced atomically: the one way the library and
 * its programs write a file that may matter (state exports, API tokens);
 * and a secret read from a private file named by the configuration.
 */
#ifndef EDV_COMMON_FILE_H
#define EDV_COMMON_FILE_H

#include "edv/error.h"

/*
 * Writes `text` (and a final newline when it lacks one) to
 * "PATH.tmp-PID", created 0600 (O_EXCL, never through a symlink), syncs
 * it and renames it over `path`: a reader sees the old file or the whole
 * new one, never a part, and the file is 0600 whatever was there before.
 * 0, or EDV_EIO / EDV_EINVAL with `err` naming the file.
 */
int edv__file_write_private(const char *path, const char *text, edv_error *err);

/*
 * Reads the secret of the file `path` that configuration key `cfgkey`
 * names into buf (NUL-terminated; one trailing "\n" or "\r\n" dropped).
 * The file must be a regular file of this user, readable by nobody else
 * (mode 0600 or stricter), of 1 to size-1 bytes, not empty once the
 * newline is dropped. 0, or EDV_ECONFIG with `err` naming the key and the
 * file (never the secret); buf is then zeroed. Reads a few bytes
 * synchronously: call it where a config file would be read.
 */
int edv__file_read_secret(const char *cfgkey, const char *path, char *buf,
                          size_t size, edv_error *err);

#endif /* EDV_COMMON_FILE_H */
