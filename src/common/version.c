/*
 * version.c - edv_version(); the commit and build date are in the
 * generated build_info.c (scripts/build-info.py).
 */
#include "edv/version.h"

const char *edv_version(void)
{
  return EDV_VERSION;
}
