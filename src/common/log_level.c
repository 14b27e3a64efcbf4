/*
 * log_level.c - edv_log_set_level (edv/log.h): libedv's own, so that the
 * threshold a program sets reaches the library's logger.
 */
#include "common/log.h"

void edv_log_set_level(edv_log_level level)
{
  edv__log_set_level(level);
}
