# polohook — build, test and install. See README.md.
#
#   make            build lib/libpolohook.a, pam_polohook.so, polohook-run
#   make check      install missing Debian test packages (as root), shellcheck
#                   every shell script, build, run t/
#   make demo       a login and a logout through the real PAM library
#   make bench      the benchmark tables against the peers (root; QUICK=1
#                   for a short try; writes bench/RESULTS.md)
#   make check-system  the packages (make deb) installed into a booted
#                   Debian 12 (systemd-nspawn) and driven by real logins
#                   (root; t/system/, ~2 min, +2 min the first time)
#   make install    DESTDIR= PREFIX= SECUREDIR= SYSCONFDIR= UNITDIR=
#   make uninstall  the same variables; the admin's config and hooks stay
#   make check-asan everything built with clang, ASan and UBSan into
#                   build-asan/ (POLO_BUILD=build-asan), then run t/ on it
#   make fuzz       libFuzzer targets (fuzz/), FUZZ_SECONDS each (default 60)
#   make deb        the Debian packages, into build-deb/ (README.md,
#                   "Debian package")
#   make fuzz-smoke each fuzz target for 5 s, then on fuzz/regress/
#                   (make check runs it with FUZZ_SMOKE_SECONDS=3)

PREFIX     ?= /usr
SYSCONFDIR ?= /etc
LIBEXECDIR ?= $(PREFIX)/libexec
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
# systemd units (systemd/), and the tmpfiles.d entry that makes the state
# directory at boot. The units name /usr/sbin and /etc/session.d: install
# rewrites them to SBINDIR and SYSCONFDIR.
UNITDIR    ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
UNITS      := hookd.service polohook-gc.service polohook-gc.timer
DROPIN_DIR := user-runtime-dir@.service.d
UNIT_SED   := -e 's|/usr/sbin/|$(SBINDIR)/|g' \
              -e 's|/etc/session.d/|$(SYSCONFDIR)/session.d/|g'
# The system's PAM module directory (Debian: /usr/lib/<triplet>/security).
SECUREDIR  ?= $(shell dirname "$$(find /usr/lib /lib -name pam_permit.so 2>/dev/null | head -n1)" 2>/dev/null || echo /usr/lib/security)
DESTDIR    ?=

CC      ?= cc
# The build directory. The tests follow the same variable (t/lib.sh), so
# POLO_BUILD=build-asan prove t/ runs what make check-asan built.
POLO_BUILD ?= build
B       := $(POLO_BUILD)
WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wwrite-strings -Wvla -Wnull-dereference \
           -Wimplicit-fallthrough
HARDEN  := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
           -fstack-clash-protection
CFLAGS  ?= -g
ifeq ($(WERROR),1)
WARN    += -Werror
endif
# --no-undefined makes a missing symbol a link error, not a dlopen failure
# inside sshd (see the module's rule).
MODULE_LDFLAGS := -Wl,--no-undefined
SAN     :=
# The sanitizer build: clang links the ASan/UBSan runtime statically into
# executables only; a shared object leaves __asan_*/__ubsan_* undefined, to
# be resolved from the host at dlopen (so the harness that loads the module
# must be ASan-built too). --no-undefined would reject exactly those, hence
# it is dropped here; t/01-module still loads the module with RTLD_NOW.
# _FORTIFY_SOURCE is off: its __*_chk calls hide accesses from ASan.
ifeq ($(B),build-asan)
CC      := clang
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined -g -O1
HARDEN  := -U_FORTIFY_SOURCE -fstack-protector-strong -fstack-clash-protection
MODULE_LDFLAGS :=
endif
# Control-flow protection (Intel CET: IBT and shadow stack markings) where
# the compiler has it (gcc 12 and clang 14 do on x86_64; others build
# without it). hardening-check's "Control flow integrity" needs it.
CF_PROTECTION := $(shell $(CC) -fcf-protection -E -x c /dev/null \
		   >/dev/null 2>&1 && echo -fcf-protection)
HARDEN  += $(CF_PROTECTION)
# CPPFLAGS, CFLAGS and LDFLAGS are the packager's (dpkg-buildflags: see
# debian/rules), added to ours.
ALL_CFLAGS := -std=gnu11 $(WARN) $(HARDEN) $(CPPFLAGS) $(CFLAGS) -D_GNU_SOURCE \
           -DPOLO_SYSCONFDIR='"$(SYSCONFDIR)"' -DPOLO_LIBEXECDIR='"$(LIBEXECDIR)"'
ifneq ($(SAN),)
ALL_CFLAGS += $(SAN)
endif
LDHARDEN := -Wl,-z,relro,-z,now $(LDFLAGS)
# inih is linked in statically: no runtime dependency, and nothing of it
# is shared with (or visible to) the host process.
LIBS    := -l:libinih.a
# The cluster parts (lib/proto.c, lib/tls.c, lib/srv.c) need jansson,
# OpenSSL 3 and glibc's libresolv;
# the PAM module never links them.
NET_LIBS := -ljansson -lssl -lcrypto -lresolv

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIB_A   := $(B)/libpolohook.a
MODULE  := $(B)/pam_polohook.so
RUNNER  := $(B)/polohook-run
CTL     := $(B)/polohookctl
HOOKD   := $(B)/hookd
MKHOME  := $(B)/polo-mkhome
T_CSRC  := $(wildcard t/*.c)
T_BIN   := $(T_CSRC:t/%.c=$(B)/t/%)

all: $(LIB_A) $(MODULE) $(RUNNER) $(CTL) $(HOOKD) $(MKHOME)

$(B)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The module exports pam_sm_open_session and pam_sm_close_session only.
$(MODULE): pam_polohook/pam_polohook.c pam_polohook/pam_polohook.map $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -iquote lib -o $@ $< $(LIB_A) \
	    -Wl,--version-script=pam_polohook/pam_polohook.map \
	    $(MODULE_LDFLAGS) $(LDHARDEN) $(LIBS) -lpam

$(RUNNER): pam_polohook/polohook-run.c $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ $< $(LIB_A) $(LDHARDEN) $(LIBS)

# The programs above lib/, each in its own directory (one file per part,
# a private header): every .c there is linked in.
CTL_SRC    := $(wildcard polohookctl/*.c)
HOOKD_SRC  := $(wildcard hookd/*.c)
MKHOME_SRC := $(wildcard polo-mkhome/*.c)

# The admin CLI (jansson for sessions --json).
$(CTL): $(CTL_SRC) $(wildcard polohookctl/*.h) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ $(CTL_SRC) $(LIB_A) \
	    $(LDHARDEN) $(LIBS) $(NET_LIBS)

# The node daemon: monitor (root) + worker/connection children (unprivileged).
$(HOOKD): $(HOOKD_SRC) $(wildcard hookd/*.h) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ $(HOOKD_SRC) \
	    $(LIB_A) $(LDHARDEN) $(LIBS) $(NET_LIBS)

# The cluster client hook: jansson for the wire messages, OpenSSL for TLS.
$(MKHOME): $(MKHOME_SRC) $(wildcard polo-mkhome/*.h) $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ $(MKHOME_SRC) $(LIB_A) \
	    $(LDHARDEN) $(LIBS) $(NET_LIBS)

# Test programs. The PAM harness exports syslog()/vsyslog() so that what
# libpam and the module log can be captured (see t/pamh.c).
$(B)/t/pamh: t/pamh.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -rdynamic -o $@ $< -lpam -ldl
$(B)/t/%: t/%.c t/tap.h t/testlog.h t/tfs.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -iquote lib -o $@ $< $(LIB_A) $(LIBS) $(NET_LIBS) -ldl

tests: all $(T_BIN)

deps:
	@sh tools/deps.sh

# The suite, then every fuzz target for a short smoke run (and its saved
# crashes replayed): a parser change that crashes at once fails check.
check: deps shellcheck
	$(MAKE) WERROR=1 tests
	prove -f t/
	$(MAKE) fuzz-smoke FUZZ_SMOKE_SECONDS=3

# Every shell script of the tree (tools/shell-scripts.sh: tests, tools,
# bench, examples, hooks, debian/ maintainer scripts when there are any)
# through shellcheck; a warning or an error fails (.shellcheckrc has the
# settings). Its style notes (A && B || C, single quotes meant to stay
# unexpanded, functions only called from a trap) are shown with
# SHELLCHECK_SEVERITY=style.
SHELLCHECK_SEVERITY ?= warning
shellcheck:
	@command -v shellcheck >/dev/null || \
	    { echo "shellcheck: not installed (make deps as root)"; exit 1; }
	sh tools/shell-scripts.sh | xargs shellcheck -S $(SHELLCHECK_SEVERITY)

demo: deps
	$(MAKE) all $(B)/t/pamh
	@sh tools/demo.sh
	@if [ "$$(id -u)" -eq 0 ]; then echo; sh tools/demo-cluster.sh; \
	else echo; echo "(run as root for the three-node cluster demo)"; fi

# The whole suite against build-asan/. LSan is on (leaks fail the test that
# made them); the PAM harness and nss_wrapper are preloaded in an order
# ASan's check would refuse, hence verify_asan_link_order=0. Forked
# children that _exit() are not leak-checked. nss_wrapper dlopen()s libc
# with RTLD_DEEPBIND unless told not to, and ASan aborts on that. Tests
# that cannot run under ASan (valgrind) print a TAP skip naming the reason.
ASAN_ENV := POLO_BUILD=build-asan NSS_WRAPPER_DISABLE_DEEPBIND=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:verify_asan_link_order=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
check-asan: deps
	$(MAKE) POLO_BUILD=build-asan WERROR=1 tests
	$(ASAN_ENV) prove -f t/

# libFuzzer targets (fuzz/README.md). The lib/ files each target needs are
# compiled into it with the fuzzer's instrumentation (libpolohook.a is
# not instrumented). Runs work on copies of the seed corpora in
# build-fuzz/corpus/; crashes land in build-fuzz/crashes/<target>/ and, once
# understood, belong in fuzz/regress/<target>/, which fuzz-smoke replays.
FUZZ_B       := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CC      := clang
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -D_GNU_SOURCE -iquote lib $(filter-out -Werror,$(WARN)) \
                -DPOLO_SYSCONFDIR='"$(SYSCONFDIR)"' -DPOLO_LIBEXECDIR='"$(LIBEXECDIR)"'
FUZZ_TARGETS := disc homereq conf hookname
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
FUZZ_SRC_disc     := lib/proto.c lib/util.c
FUZZ_LIBS_disc    := -ljansson
FUZZ_SRC_homereq  := lib/proto.c lib/util.c
FUZZ_LIBS_homereq := -ljansson
FUZZ_SRC_conf     := lib/conf.c lib/fsutil.c lib/util.c lib/log.c
FUZZ_LIBS_conf    := -l:libinih.a
FUZZ_SRC_hookname := lib/hookdir.c lib/fsutil.c lib/util.c lib/log.c

.SECONDEXPANSION:
$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*)

fuzz-build: $(FUZZ_BIN)

# fuzz_run TARGET SECONDS: fuzz a copy of the seed corpus (new inputs
# accumulate in build-fuzz/corpus/, never in fuzz/corpus/).
define fuzz_run
	mkdir -p $(FUZZ_B)/corpus/$(1) $(FUZZ_B)/crashes/$(1)
	cp -n fuzz/corpus/$(1)/* $(FUZZ_B)/corpus/$(1)/
	$(FUZZ_B)/fuzz_$(1) -max_total_time=$(2) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_B)/crashes/$(1)/ $(FUZZ_B)/corpus/$(1)

endef

fuzz: fuzz-build
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),$(FUZZ_SECONDS)))

# FUZZ_SMOKE_SECONDS each (default 5), then every saved crash of
# fuzz/regress/ once.
FUZZ_SMOKE_SECONDS ?= 5
fuzz-smoke: fuzz-build
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),$(FUZZ_SMOKE_SECONDS)))
	@set -e; for t in $(FUZZ_TARGETS); do \
	    f=$$(find fuzz/regress/$$t -type f 2>/dev/null | sort); \
	    [ -z "$$f" ] || $(FUZZ_B)/fuzz_$$t $$f; \
	done

# The benchmark tables (root; bench/run.sh, which installs libpam-script
# if missing), written to bench/RESULTS.md. make bench QUICK=1: small N,
# one round, to try it.
bench: deps
	sh bench/run.sh

install: all
	install -d $(DESTDIR)$(SECUREDIR) $(DESTDIR)$(LIBEXECDIR)/polohook \
	    $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(MODULE) $(DESTDIR)$(SECUREDIR)/pam_polohook.so
	install -m 0755 $(RUNNER) $(DESTDIR)$(LIBEXECDIR)/polohook/polohook-run
	install -m 0755 $(CTL) $(DESTDIR)$(SBINDIR)/polohookctl
	install -m 0755 $(HOOKD) $(DESTDIR)$(SBINDIR)/hookd
	install -m 0644 man/pam_polohook.8 man/polohookctl.8 man/hookd.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/session-scripts.conf.5 man/session.d.5 \
	    $(DESTDIR)$(MANDIR)/man5/
	sh tools/install-tree.sh session.d $(DESTDIR)$(SYSCONFDIR)/session.d
	install -m 0755 $(MKHOME) $(DESTDIR)$(LIBEXECDIR)/polohook/polo-mkhome
	install -m 0644 man/polo-mkhome.8 $(DESTDIR)$(MANDIR)/man8/
	@# an admin's hook tree is theirs: the link is made only where none is
	l=$(DESTDIR)$(SYSCONFDIR)/session.d/added/10W-polo-mkhome; \
	    test -e "$$l" || test -L "$$l" || \
	    ln -s $(LIBEXECDIR)/polohook/polo-mkhome "$$l"
	install -d $(DESTDIR)$(UNITDIR)/$(DROPIN_DIR) $(DESTDIR)$(TMPFILESDIR)
	for u in $(UNITS) $(DROPIN_DIR)/polohook.conf; do \
	    sed $(UNIT_SED) systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    mv -f $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 systemd/polohook.tmpfiles $(DESTDIR)$(TMPFILESDIR)/polohook.conf

# The reverse of install, as far as it is ours: the programs, the module,
# the man pages, the units, the 10W-polo-mkhome link while it still points
# to our polo-mkhome, an unchanged session.d/README and the then empty
# libexec/polohook. session-scripts.conf, the session.d directories and
# every hook in them are the administrator's and stay. No build needed.
uninstall:
	rm -f $(DESTDIR)$(SECUREDIR)/pam_polohook.so \
	    $(DESTDIR)$(LIBEXECDIR)/polohook/polohook-run \
	    $(DESTDIR)$(LIBEXECDIR)/polohook/polo-mkhome \
	    $(DESTDIR)$(SBINDIR)/polohookctl $(DESTDIR)$(SBINDIR)/hookd
	rm -f $(DESTDIR)$(MANDIR)/man8/pam_polohook.8 \
	    $(DESTDIR)$(MANDIR)/man8/polohookctl.8 \
	    $(DESTDIR)$(MANDIR)/man8/hookd.8 \
	    $(DESTDIR)$(MANDIR)/man8/polo-mkhome.8 \
	    $(DESTDIR)$(MANDIR)/man5/session-scripts.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/session.d.5
	rm -f $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(UNITDIR)/$(DROPIN_DIR)/polohook.conf \
	    $(DESTDIR)$(TMPFILESDIR)/polohook.conf
	d=$(DESTDIR)$(UNITDIR)/$(DROPIN_DIR); \
	    if test -d "$$d" && test -z "$$(ls -A "$$d")"; then rmdir "$$d"; fi
	@# an admin's own file or link in its place is theirs
	l=$(DESTDIR)$(SYSCONFDIR)/session.d/added/10W-polo-mkhome; \
	    if test -L "$$l" && test "$$(readlink "$$l")" = \
	        "$(LIBEXECDIR)/polohook/polo-mkhome"; then rm -f "$$l"; fi
	sh tools/install-tree.sh -u session.d $(DESTDIR)$(SYSCONFDIR)/session.d
	d=$(DESTDIR)$(LIBEXECDIR)/polohook; \
	    if test -d "$$d" && test -z "$$(ls -A "$$d")"; then rmdir "$$d"; fi
.PHONY: uninstall

# The Debian packages (debian/), built with dpkg-buildpackage from a copy
# of the tree in build-deb/src, so that they land in build-deb/ rather than
# in the directory above this one; then checked with lintian. Installs
# debhelper, devscripts and lintian (and the build packages) if missing.
# Copies what git tracks (everything but build*/ without git).
deb:
	sh tools/deps.sh debhelper devscripts lintian
	rm -rf build-deb
	mkdir -p build-deb/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z | xargs -0 cp -a --parents -t build-deb/src; \
	else \
	    tar --exclude='./build*' --exclude=./.git -cf - . | \
	        tar -C build-deb/src -xf -; \
	fi
	cd build-deb/src && dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning build-deb/*.changes
	@ls -1 build-deb/*.deb

# The system tier: a debootstrapped bookworm (cached in
# /var/cache/polohook-systest) booted with systemd-nspawn, the packages
# installed with apt, real ssh and su -l logins (t/system/10-debian.t).
# Skips, saying why, when not root or when the container cannot be made.
check-system: deb
	sh tools/deps.sh debootstrap systemd-container
	prove -v t/system/

clean:
	rm -rf $(B)

.PHONY: all tests deps check check-asan fuzz fuzz-build fuzz-smoke demo bench \
	install clean deb check-system shellcheck
