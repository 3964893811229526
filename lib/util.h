/* Small helpers shared by every part: bounded string handling, number
 * parsing with bounds (strtonum semantics) and allowlist checks. */
#ifndef POLO_UTIL_H
#define POLO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Copy src into dst[size]; -ENAMETOOLONG (dst untouched) if it does not fit. */
int polo_strlcpy(char *dst, const char *src, size_t size);

/* Parse a decimal integer in [min, max]: the whole string, no sign games,
 * no leading/trailing space. 0 or -EINVAL / -ERANGE. */
int polo_parse_uint(const char *s, unsigned long min, unsigned long max,
		    unsigned long *out);
/* Octal in [0, max], e.g. a umask: "077" or "0077". */
int polo_parse_octal(const char *s, unsigned long max, unsigned long *out);
/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int polo_parse_bool(const char *s, bool *out);

/* True if s has no byte < 0x20 and no 0x7f (tab included: refused). */
bool polo_is_clean_text(const char *s);

/* A login name as DESIGN.md allows: [A-Za-z0-9_][A-Za-z0-9_.-]*, optional
 * trailing '$', 1..32 bytes including the '$'. */
bool polo_valid_user_name(const char *s);

/* An absolute path of clean text, shorter than PATH_MAX. */
bool polo_valid_abs_path(const char *s);

/* A single file name: [A-Za-z0-9_.-]+, not "." or "..", at most NAME_MAX. */
bool polo_valid_file_name(const char *s);

/* Write a one-line reason into why[whylen] (if why is not NULL): reasons
 * are advice for log lines, so truncation is harmless. */
void polo_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC now, in ms (for deadlines). */
unsigned long polo_now_ms(void);

struct sockaddr_storage;

/* A numeric IPv4 or IPv6 address and a port as a socket address (IPv6
 * without a scope). 0, or -EINVAL. */
int polo_sockaddr(const char *addr, unsigned long port,
		  struct sockaddr_storage *ss, unsigned *len);

struct passwd;

/* The passwd entry of name (or, with name NULL, of uid) through NSS, in a
 * buffer that grows as an entry needs (to 1 MiB). 0 with *buf malloc'd
 * (free it once pw is no longer used), -ENOENT no such user, -errno. */
int polo_getpw(const char *name, uid_t uid, struct passwd *pw, char **buf);

#define POLO_DNS_NAME_MAX	253	/* a DNS name in text, no final dot */

/* A DNS name we look up or accept from an answer: letters, digits, '-',
 * '_' in labels of 1..63, '.' between them (one final dot allowed), at
 * most POLO_DNS_NAME_MAX in all. */
bool polo_valid_dns_name(const char *s);

#endif
