# polohook — build, test and install. See README.md.
#
#   make            build lib/libpolohook.a, pam_polohook.so, polohook-run
#   make check      install missing Debian test packages (as root), build, run t/
#   make demo       a login and a logout through the real PAM library
#   make bench      one W hook per login against its peers (root; writes
#                   bench/RESULTS.md)
#   make install    DESTDIR= PREFIX= SECUREDIR= SYSCONFDIR=

PREFIX     ?= /usr
SYSCONFDIR ?= /etc
LIBEXECDIR ?= $(PREFIX)/libexec
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
# The system's PAM module directory (Debian: /usr/lib/<triplet>/security).
SECUREDIR  ?= $(shell dirname "$$(find /usr/lib /lib -name pam_permit.so 2>/dev/null | head -n1)" 2>/dev/null || echo /usr/lib/security)
DESTDIR    ?=

CC      ?= cc
B       := build
WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wwrite-strings -Wvla -Wnull-dereference \
           -Wimplicit-fallthrough
HARDEN  := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
           -fstack-clash-protection
CFLAGS  ?= -g
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ALL_CFLAGS := -std=gnu11 $(WARN) $(HARDEN) $(CFLAGS) -D_GNU_SOURCE \
           -DPOLO_SYSCONFDIR='"$(SYSCONFDIR)"' -DPOLO_LIBEXECDIR='"$(LIBEXECDIR)"'
LDHARDEN := -Wl,-z,relro,-z,now
# inih is linked in statically: no runtime dependency, and nothing of it
# is shared with (or visible to) the host process.
LIBS    := -l:libinih.a
# The cluster parts (lib/proto.c, lib/tls.c) need jansson and OpenSSL 3;
# the PAM module never links them.
NET_LIBS := -ljansson -lssl -lcrypto

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

# The module exports pam_sm_open_session and pam_sm_close_session only;
# --no-undefined makes a missing symbol a link error, not a dlopen failure
# inside sshd.
$(MODULE): pam_polohook/pam_polohook.c pam_polohook/pam_polohook.map $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -iquote lib -o $@ $< $(LIB_A) \
	    -Wl,--version-script=pam_polohook/pam_polohook.map \
	    -Wl,--no-undefined $(LDHARDEN) $(LIBS) -lpam

$(RUNNER): pam_polohook/polohook-run.c $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ $< $(LIB_A) $(LDHARDEN) $(LIBS)

# The admin CLI (jansson for sessions --json).
$(CTL): hookd/polohookctl.c $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ $< $(LIB_A) $(LDHARDEN) $(LIBS) -ljansson

# The node daemon: monitor (root) + worker/connection children (unprivileged).
$(HOOKD): hookd/hookd.c hookd/hookd_priv.c hookd/hookd.h $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ hookd/hookd.c \
	    hookd/hookd_priv.c $(LIB_A) $(LDHARDEN) $(LIBS) $(NET_LIBS)

# The cluster client hook: jansson for the wire messages, OpenSSL for TLS.
$(MKHOME): hookd/polo-mkhome.c $(LIB_A)
	$(CC) $(ALL_CFLAGS) -fPIE -pie -iquote lib -o $@ $< $(LIB_A) $(LDHARDEN) \
	    $(LIBS) $(NET_LIBS)

# Test programs. The PAM harness exports syslog()/vsyslog() so that what
# libpam and the module log can be captured (see t/pamh.c).
$(B)/t/pamh: t/pamh.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -rdynamic -o $@ $< -lpam -ldl
$(B)/t/%: t/%.c t/tap.h t/testlog.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -iquote lib -o $@ $< $(LIB_A) $(LIBS) $(NET_LIBS) -ldl

tests: all $(T_BIN)

deps:
	@sh tools/deps.sh

check: deps
	$(MAKE) WERROR=1 tests
	prove -f t/

demo: deps
	$(MAKE) all $(B)/t/pamh
	@sh tools/demo.sh
	@if [ "$$(id -u)" -eq 0 ]; then echo; sh tools/demo-cluster.sh; \
	else echo; echo "(run as root for the three-node cluster demo)"; fi

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
	install -m 0644 man/session-scripts.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sh tools/install-tree.sh session.d $(DESTDIR)$(SYSCONFDIR)/session.d
	install -m 0755 $(MKHOME) $(DESTDIR)$(LIBEXECDIR)/polohook/polo-mkhome
	install -m 0644 man/polo-mkhome.8 $(DESTDIR)$(MANDIR)/man8/
	@# an admin's hook tree is theirs: the link is made only where none is
	l=$(DESTDIR)$(SYSCONFDIR)/session.d/added/10W-polo-mkhome; \
	    test -e "$$l" || test -L "$$l" || \
	    ln -s $(LIBEXECDIR)/polohook/polo-mkhome "$$l"

clean:
	rm -rf $(B)

.PHONY: all tests deps check demo bench install clean
