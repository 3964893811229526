#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

int polo_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

static int parse_base(const char *s, int base, unsigned long min,
		      unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts leading space and a '-' (wrapping around): refuse */
	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int polo_parse_uint(const char *s, unsigned long min, unsigned long max,
		    unsigned long *out)
{
	return parse_base(s, 10, min, max, out);
}

int polo_parse_octal(const char *s, unsigned long max, unsigned long *out)
{
	return parse_base(s, 8, 0, max, out);
}

int polo_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

bool polo_is_clean_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

bool polo_valid_user_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 32)
		return false;
	if (s[n - 1] == '$')
		n--;
	if (n == 0 || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

bool polo_valid_abs_path(const char *s)
{
	return s[0] == '/' && strlen(s) < PATH_MAX && polo_is_clean_text(s);
}

bool polo_valid_file_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NAME_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

void polo_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

unsigned long polo_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000UL +
	       (unsigned long)ts.tv_nsec / 1000000UL;
}

bool polo_valid_dns_name(const char *s)
{
	size_t i, len = strlen(s), label = 0;

	if (len == 0 || len > POLO_DNS_NAME_MAX + 1 ||
	    (len == POLO_DNS_NAME_MAX + 1 && s[len - 1] != '.'))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return false;	/* empty label */
			label = 0;
			continue;
		}
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '-' && ch != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

int polo_sockaddr(const char *addr, unsigned long port,
		  struct sockaddr_storage *ss, unsigned *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
		return 0;
	}
	return -EINVAL;
}

#define PW_BUF_START	4096
#define PW_BUF_MAX	(1024 * 1024)

int polo_getpw(const char *name, uid_t uid, struct passwd *pw, char **buf)
{
	struct passwd *res = NULL;
	size_t len = PW_BUF_START;
	char *b = NULL, *nb;
	int r;

	for (;;) {
		nb = realloc(b, len);
		if (nb == NULL) {
			free(b);
			return -ENOMEM;
		}
		b = nb;
		r = name ? getpwnam_r(name, pw, b, len, &res) :
			   getpwuid_r(uid, pw, b, len, &res);
		if (r != ERANGE || len >= PW_BUF_MAX)
			break;
		len *= 2;
	}
	if (r == 0 && res == NULL)
		r = ENOENT;
	if (r != 0) {
		free(b);
		return -r;
	}
	*buf = b;
	return 0;
}
