/*
 * rfc3339.c - RFC 3339 times (common/rfc3339.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/rfc3339.h"

int64_t edv__rfc3339_ms(const char *t)
{
  struct tm tm;
  int y, mo, d, h, mi, sec, n = 0;
  int64_t ms = 0, scale = 100, off = 0;
  const char *q;

  if (!t ||
      sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) !=
          6 ||
      n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      sec > 60)
    return -1;
  q = t + n;
  if (*q == '.') {
    if (!isdigit((unsigned char)q[1]))
      return -1;
    for (q++; isdigit((unsigned char)*q); q++, scale /= 10)
      ms += (*q - '0') * scale;
  }
  if ((*q == '+' || *q == '-') && strlen(q) == 6 &&
      isdigit((unsigned char)q[1]) && isdigit((unsigned char)q[2]) &&
      q[3] == ':' && isdigit((unsigned char)q[4]) &&
      isdigit((unsigned char)q[5]))
    off = (int64_t)(((q[1] - '0') * 10 + (q[2] - '0')) * 60 +
                    (q[4] - '0') * 10 + (q[5] - '0')) *
          60000 * (*q == '-' ? -1 : 1);
  else if ((*q != 'Z' && *q != 'z') || q[1] != '\0')
    return -1;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return (int64_t)timegm(&tm) * 1000 + ms - off;
}
