/*
 * file.h - a private file replaced atomically: the one way the library and
 * its programs write a file that may matter (state exports, API tokens).
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

#endif /* EDV_COMMON_FILE_H */
