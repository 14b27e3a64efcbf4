/*
 * common/rfc3339.h - RFC 3339 times as Google writes and takes them, for
 * the client and the simulator alike (edvcommon).
 */
#ifndef EDV_COMMON_RFC3339_H
#define EDV_COMMON_RFC3339_H

#include <stdint.h>

/* "2026-12-07T09:30:00Z", with fractions of a second ("...00.123Z") or an
 * offset ("...00+03:00") to ms since the epoch; -1 when it is not one. */
int64_t edv__rfc3339_ms(const char *t);

#endif /* EDV_COMMON_RFC3339_H */
