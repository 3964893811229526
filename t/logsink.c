/*
 * logsink SOCKET FILE SECONDS: a stand-in for syslogd in tests. Binds a
 * datagram socket at SOCKET and appends every record to FILE, one per
 * line, until SIGTERM or SECONDS have passed (so it can never be left
 * running). Used inside a private mount namespace where SOCKET is then
 * bound over /dev/log.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[8192];
	time_t end;
	int s, out;

	if (argc != 4 || strlen(argv[1]) >= sizeof sa.sun_path) {
		fprintf(stderr, "usage: logsink SOCKET FILE SECONDS\n");
		return 2;
	}
	end = time(NULL) + atoi(argv[3]);
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s < 0 || out < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("logsink");
		return 1;
	}
	chmod(argv[1], 0666);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(s, buf, sizeof buf - 1, 0);
		if (n <= 0)
			continue;
		if (buf[n - 1] != '\n')
			buf[n++] = '\n';
		(void)!write(out, buf, (size_t)n);
	}
	return 0;
}
