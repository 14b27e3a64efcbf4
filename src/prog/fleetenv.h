/*
 * fleetenv.h - what edvctl includes for its fleet environment: the
 * embedded simulator (prog/simenv.h) and, until edvctl is on the public
 * API (issue 10), the library's inside (fleet/fleet.h). edvd includes
 * prog/simenv.h alone.
 */
#ifndef EDV_PROG_FLEETENV_H
#define EDV_PROG_FLEETENV_H

#include "fleet/fleet.h"
#include "prog/simenv.h"

#endif /* EDV_PROG_FLEETENV_H */
