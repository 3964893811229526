#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fsops.h"
#include "fsutil.h"
#include "mkhome.h"

static int fill(int homefd, const struct polo_home_spec *h,
		const struct polo_log *lg)
{
	char why[512];
	int skelfd = -1, r;

	r = polo_open_trusted(h->skel, O_RDONLY | O_DIRECTORY, h->trust,
			      &skelfd, NULL, 0, why, sizeof why);
	if (r == -ENOENT) {
		polo_log(lg, LOG_NOTICE, "home %s: no skel %s, the home starts "
			 "empty", h->what, h->skel);
		return 0;
	}
	if (r < 0) {
		polo_log(lg, LOG_ERR, "home %s: skel refused: %s", h->what, why);
		return r;
	}
	r = polo_copy_tree(skelfd, homefd, h->uid, h->gid, h->umask, h->what,
			   lg);
	close(skelfd);
	return r;
}

static int step(const struct polo_home_spec *h, enum polo_home_stage s,
		const struct stat *st)
{
	return h->step ? h->step(h->ctx, s, st) : 0;
}

int polo_home_make_at(int parentfd, const char *name,
		      const struct polo_home_spec *h, const struct polo_log *lg)
{
	struct stat st;
	int fd, r;

	if (mkdirat(parentfd, name, 0700) < 0) {
		r = -errno;
		if (r != -EEXIST)
			polo_log(lg, LOG_ERR, "home %s: %s", h->what,
				 strerror(-r));
		return r;
	}
	fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		polo_log(lg, LOG_ERR, "home %s: %s", h->what, strerror(-r));
		if (fd >= 0)
			close(fd);
		(void)unlinkat(parentfd, name, AT_REMOVEDIR);
		return r;
	}
	r = step(h, POLO_HOME_CREATED, &st);
	if (r == 0)
		r = fill(fd, h, lg);
	if (r == 0)
		r = step(h, POLO_HOME_FILLED, &st);
	/* the user gets it only now, complete */
	if (r == 0 && (fchmod(fd, 0755 & ~h->umask) < 0 ||
		       fchown(fd, h->uid, h->gid) < 0)) {
		r = -errno;
		polo_log(lg, LOG_ERR, "home %s: %s", h->what, strerror(-r));
	}
	close(fd);
	if (r < 0)
		(void)polo_rm_tree_at(parentfd, name, st.st_dev, st.st_ino,
				      h->what, lg);
	return r;
}
