/*
 * edv/export.h - EDV_EXPORT marks the functions libedv exports.
 *
 * libedv is built with hidden visibility: a function is part of the shared
 * library's interface only when its declaration in a public header
 * (include/edv/) carries EDV_EXPORT. Everything else, the edv__ internals
 * included, stays inside the library.
 */
#ifndef EDV_EXPORT_H
#define EDV_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define EDV_EXPORT __attribute__((visibility("default")))
#else
#define EDV_EXPORT
#endif

#endif /* EDV_EXPORT_H */
