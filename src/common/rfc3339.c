/*
 * rfc3339.c - RFC 3339 times (common/rfc3339.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/rfc3339.h"

/* The n digits at p as a number, or -1. */
static int digits(const char *p, int n)
{
  int v = 0;

  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)p[i]))
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

int64_t edv__rfc3339_ms(const char *t)
{
  struct tm tm;
  int y, mo, d, h, mi, sec;
  int64_t ms = 0, scale = 100, off = 0;
  const char *q;

  /* By hand, not sscanf: the simulator reads every point's times. */
  if (!t || strnlen(t, 19) < 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
      t[13] != ':' || t[16] != ':')
    return -1;
  y = digits(t, 4);
  mo = digits(t + 5, 2);
  d = digits(t + 8, 2);
  h = digits(t + 11, 2);
  mi = digits(t + 14, 2);
  sec = digits(t + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
      mi < 0 || mi > 59 || sec < 0 || sec > 60)
    return -1;
  q = t + 19;
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
