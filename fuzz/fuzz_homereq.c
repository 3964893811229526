/* The Create-Home request and its replies, on any bytes:
 * - polo_home_req_parse: what it accepts formats again (the formatter
 *   takes whatever the parser gives), and the formatted request parses
 *   back to the same home, uid and gid;
 * - polo_home_reply_parse: 0 only with a NUL-terminated status, else
 *   -EPROTO with a reason; a status it returns that is one of our words
 *   round-trips through polo_home_reply_ok;
 * - polo_home_reply_error on the input as text never refuses (it quotes
 *   peer text, capped and printable) and what it makes parses as an error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void req(const char *buf, size_t size)
{
	struct polo_home_req r, r2;
	char why[256], out[POLO_REQ_MAX + 1];
	int rc, n;

	memset(&r, 0x5a, sizeof r);
	why[0] = '\0';
	rc = polo_home_req_parse(buf, size, &r, why, sizeof why);
	if (rc == -EINVAL || rc == -ENOTSUP) {
		if (why[0] == '\0' || memchr(why, '\0', sizeof why) == NULL)
			abort();
		return;
	}
	if (rc != 0 || strnlen(r.home, sizeof r.home) == sizeof r.home)
		abort();
	n = polo_home_req_format(out, sizeof out, &r);
	if (n <= 0 || (size_t)n > POLO_REQ_MAX)
		abort();
	memset(&r2, 0xa5, sizeof r2);
	if (polo_home_req_parse(out, (size_t)n, &r2, why, sizeof why) != 0)
		abort();
	if (strcmp(r.home, r2.home) != 0 || r.uid != r2.uid || r.gid != r2.gid)
		abort();
}

static void reply(const char *buf, size_t size)
{
	char status[128], status2[128], why[256], out[POLO_REQ_MAX + 1];
	int rc, n;

	memset(status, 0x5a, sizeof status);
	why[0] = '\0';
	rc = polo_home_reply_parse(buf, size, status, sizeof status, why,
				   sizeof why);
	if (rc == -EPROTO) {
		if (why[0] == '\0' || memchr(why, '\0', sizeof why) == NULL)
			abort();
		return;
	}
	if (rc != 0 || memchr(status, '\0', sizeof status) == NULL)
		abort();
	/* a status of ours ("created", "exists") goes out and back as is */
	n = polo_home_reply_ok(out, sizeof out, status[0] ? status : NULL);
	if (n < 0)
		return;	/* peer text that we would not send: fine */
	if (polo_home_reply_parse(out, (size_t)n, status2, sizeof status2, why,
				  sizeof why) != 0 || strcmp(status, status2) != 0)
		abort();
}

static void error_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char why[256], out[POLO_REQ_MAX + 1];
	int n;

	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	n = polo_home_reply_error(out, sizeof out, text);
	if (n <= 0 || polo_home_reply_parse(out, (size_t)n, NULL, 0, why,
					    sizeof why) != -EPROTO)
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	req((const char *)data, size);
	reply((const char *)data, size);
	error_text(data, size);
	return 0;
}
