/*
 * edv/export.h - which symbols libedv.so exports.
 *
 * libedv is built with -fvisibility=hidden: a function is part of the shared
 * object's interface only when its declaration in a public header
 * (include/edv/) carries EDV_EXPORT. Everything else, the library's
 * internal edv__ functions included, stays inside the library. Programs
 * never need this header themselves: the public headers include it.
 *
 *   EDV_EXPORT const char *edv_version(void);
 */
#ifndef EDV_EXPORT_H
#define EDV_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define EDV_EXPORT __attribute__((visibility("default")))
#else
#define EDV_EXPORT
#endif

#endif /* EDV_EXPORT_H */
