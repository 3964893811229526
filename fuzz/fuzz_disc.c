/* polo_disc_parse on any datagram, and the round trip of what it accepts:
 * a parsed message formats (the formatter accepts whatever the parser
 * does), the formatted bytes parse back to the same message, and
 * formatting that again gives the same bytes. A refusal always says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static void same_msg(const struct polo_disc_msg *a,
		     const struct polo_disc_msg *b)
{
	if (a->cmd != b->cmd)
		abort();
	if (a->cmd == POLO_DISC_REQUEST_FOR &&
	    strcmp(a->service, b->service) != 0)
		abort();
	if (a->cmd == POLO_DISC_POLO && strcmp(a->hostname, b->hostname) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct polo_disc_msg m, m2;
	char why[256], out[POLO_DGRAM_MAX + 1], out2[POLO_DGRAM_MAX + 1];
	int n, n2;

	memset(&m, 0x5a, sizeof m);
	why[0] = '\0';
	if (polo_disc_parse((const char *)data, size, &m, why, sizeof why) != 0) {
		/* refused: the reason is a NUL-terminated, non-empty string */
		if (why[0] == '\0' || memchr(why, '\0', sizeof why) == NULL)
			abort();
		return 0;
	}
	if (strnlen(m.service, sizeof m.service) == sizeof m.service ||
	    strnlen(m.hostname, sizeof m.hostname) == sizeof m.hostname)
		abort();
	n = polo_disc_format(out, sizeof out, &m);
	if (n <= 0 || (size_t)n > POLO_DGRAM_MAX)
		abort();
	memset(&m2, 0xa5, sizeof m2);
	if (polo_disc_parse(out, (size_t)n, &m2, why, sizeof why) != 0)
		abort();
	same_msg(&m, &m2);
	n2 = polo_disc_format(out2, sizeof out2, &m2);
	if (n2 != n || memcmp(out, out2, (size_t)n) != 0)
		abort();
	return 0;
}
