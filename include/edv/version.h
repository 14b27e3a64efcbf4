/*
 * edv/version.h - which libedv this is.
 */
#ifndef EDV_VERSION_H
#define EDV_VERSION_H

#include "edv/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's release ("0.1.0"), as the running libedv was built: it may
 * differ from the EDV_VERSION a program was compiled against. */
EDV_EXPORT const char *edv_version(void);

/* The source commit it was built from (`git describe --always --dirty`:
 * "3f2a9c1b7e0d" or "3f2a9c1b7e0d-dirty"; "unknown" outside git). */
EDV_EXPORT const char *edv_build_commit(void);

/* The day it was built, "YYYY-MM-DD" in UTC (SOURCE_DATE_EPOCH's day when
 * that is set, for reproducible builds). */
EDV_EXPORT const char *edv_build_date(void);

#ifdef __cplusplus
}
#endif

#endif /* EDV_VERSION_H */
