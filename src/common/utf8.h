/*
 * utf8.h - one UTF-8 decoder, for the library's input checks and the
 * programs' (edvd's query strings and answers): built into libedv and
 * into the programs' support library (edvprog), like common/args.h.
 */
#ifndef EDV_COMMON_UTF8_H
#define EDV_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes one UTF-8 sequence at s (n > 0 bytes left). Returns its length
 * and the code point in *cp, or 0 for an invalid sequence: truncated, bad
 * continuation byte, overlong form, surrogate or above U+10FFFF.
 */
size_t edv__utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

#endif /* EDV_COMMON_UTF8_H */
