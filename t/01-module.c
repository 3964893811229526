/* pam_polohook.so loads as a PAM module is loaded (RTLD_NOW: every symbol
 * resolvable) and shows only the two session entry points: lib/ and inih
 * stay hidden inside it (DESIGN: exports only pam_sm_*). A symbol that
 * dlsym() finds through the handle may come from one of the module's
 * dependencies (ini_parse from libinih.so): only one defined by the module
 * itself is a leak.
 *
 * Usage: 01-module [PATH-TO-pam_polohook.so]; by default the module next
 * to the build/t/ directory this program lives in. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

/* build/t/01-module -> build/pam_polohook.so */
static int default_module(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;
	int w;

	if (n < 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	w = snprintf(buf, len, "%s/../pam_polohook.so", exe);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* Is `name`, as found through handle, defined by the module itself? */
static int defined_by_module(void *handle, const char *name,
			     const char *module_real, const void *module_base)
{
	char real[PATH_MAX];
	void *sym;
	Dl_info di;

	dlerror();
	sym = dlsym(handle, name);
	if (sym == NULL)
		return 0;
	if (dladdr(sym, &di) == 0 || di.dli_fname == NULL)
		return 1;	/* cannot tell where it lives: count it */
	if (di.dli_fbase == module_base)
		return 1;
	if (realpath(di.dli_fname, real) != NULL &&
	    strcmp(real, module_real) == 0)
		return 1;
	printf("# %s found in %s, not in the module\n", name, di.dli_fname);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const hidden[] = {
		"polo_log", "polo_conf_load", "ini_parse", "polo_hooks_scan",
		"polo_spawn_wait", "polo_open_trusted", "polo_env_build",
		"polo_run_phase", "ini_parse_file", "ini_parse_stream",
	};
	char module[PATH_MAX], module_real[PATH_MAX], name[128];
	void *handle, *open_fn, *close_fn;
	const void *base = NULL;
	Dl_info di;
	size_t i;

	if (argc > 1) {
		if (snprintf(module, sizeof module, "%s", argv[1]) >=
		    (int)sizeof module) {
			printf("Bail out! module path too long\n");
			return 2;
		}
	} else if (default_module(module, sizeof module) < 0) {
		printf("Bail out! cannot find the module next to this program\n");
		return 2;
	}
	if (realpath(module, module_real) == NULL) {
		printf("1..0 # SKIP %s not built\n", module);
		return 0;
	}

	handle = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	ok(handle != NULL, "dlopen(RTLD_NOW|RTLD_LOCAL) succeeds");
	if (handle == NULL) {
		printf("#   %s\n", dlerror());
		return tap_done();
	}

	open_fn = dlsym(handle, "pam_sm_open_session");
	close_fn = dlsym(handle, "pam_sm_close_session");
	ok(open_fn != NULL, "pam_sm_open_session is exported");
	ok(close_fn != NULL, "pam_sm_close_session is exported");
	if (open_fn != NULL && dladdr(open_fn, &di) != 0)
		base = di.dli_fbase;
	ok(base != NULL && close_fn != NULL && dladdr(close_fn, &di) != 0 &&
	   di.dli_fbase == base,
	   "both entry points are defined by the module itself");
	ok(defined_by_module(handle, "pam_sm_open_session", module_real, base),
	   "the check below does see a symbol of the module");
	ok(dlsym(handle, "pam_sm_authenticate") == NULL,
	   "pam_sm_authenticate is not exported (session module only)");

	for (i = 0; i < sizeof hidden / sizeof *hidden; i++) {
		(void)snprintf(name, sizeof name, "%s is not exported by the "
			       "module", hidden[i]);
		ok(!defined_by_module(handle, hidden[i], module_real, base),
		   name);
	}

	is_int(dlclose(handle), 0, "dlclose succeeds");
	return tap_done();
}
