/* leader-exit DIR SECONDS: a process whose main thread has exited while
 * another thread lives on, with its working directory in DIR (the case of
 * issue 11: /proc/PID/status then says "State: Z" for the whole process).
 * The main thread changes into DIR, starts the other thread and calls
 * pthread_exit(). The other thread waits until the kernel shows the
 * leader as a zombie, writes DIR/leader-exited (relative to the working
 * directory, so it lands in DIR) and sleeps SECONDS before it ends the
 * process. Used by t/25-tmphome.t and t/26-polohookctl.t. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned seconds;

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Is the leader (the thread whose id is the process id) a zombie? */
static int leader_gone(void)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof path, "/proc/%ld/task/%ld/status",
		       (long)getpid(), (long)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, "\nState:\tZ") != NULL;
}

static void *survivor(void *arg)
{
	char line[32];
	int fd, i, n;

	(void)arg;
	for (i = 0; i < 500 && !leader_gone(); i++)
		nap_ms(10);
	fd = open("leader-exited", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  0600);
	if (fd < 0)
		_exit(3);
	n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n)
		_exit(4);
	close(fd);
	nap_ms((long)seconds * 1000);
	_exit(0);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 3) {
		fprintf(stderr, "usage: leader-exit DIR SECONDS\n");
		return 2;
	}
	seconds = (unsigned)strtoul(argv[2], NULL, 10);
	if (chdir(argv[1]) < 0) {
		perror(argv[1]);
		return 1;
	}
	if (pthread_create(&t, NULL, survivor, NULL) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	pthread_exit(NULL);
}
