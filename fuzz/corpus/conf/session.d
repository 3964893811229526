; /etc/session.d/session-scripts.conf — settings for pam_polohook and the
; polohook tools (polohookctl, hookd, polo-mkhome). See
; session-scripts.conf(5). Every line below is a comment showing the
; default; PAM module arguments override this file. polohookctl reads only
; this file: set statedir and tmphome here, not only on the PAM line.
; hookd reads it at start and on SIGHUP (e.g. systemctl reload hookd).
;
; This file must be owned by root and not writable by group or others,
; or it is refused (and logged). Errors are reported as FILE:LINE;
; `polohookctl check` shows them without a login.

[hooks]
; Hook directory: added/ runs at session open, removed/ at close.
;hookdir = /etc/session.d
; Seconds a W hook (NNW-name) may run before SIGTERM (SIGKILL 2 s later).
;timeout = 15
; Seconds each hook of the background batch may run.
;batch_timeout = 300
; succeed: a failing W hook is logged and the login goes on.
; fail:    a failing W hook at open ends the walk and fails the session
;          (so does a temporary home that cannot be made).
;onerr = succeed
; Run hooks only for users whose home holds this file (e.g. .session).
; Only the hooks are gated: the others' sessions are still recorded and
; counted, and still get a temporary home.
;optin =
;debug = no
;quiet = no
; The helper that runs D (NND-name) and batch hooks.
;runner = /usr/libexec/polohook/polohook-run

[session]
; Root-only session state: gives hooks POLO_USER_SESSIONS and
; POLO_LAST_SESSION, and is what `polohookctl sessions` lists. Created
; 0700 at the first login; keep it on a filesystem emptied at boot.
;statedir = /run/session.d

[home]
; Temporary homes for walk-up terminals: off unless set. Users whose home
; is ROOT/NAME get it made from skel at login and removed after their last
; session ends. ROOT must exist, owned by root, mode 0755 (not writable by
; group or others). Run `polohookctl gc` at boot to clean up after a
; power cut.
;tmphome =
; Copied into each new temporary home.
;skel = /etc/skel
; Modes of the new home (0777 & ~umask) and of everything copied into it.
;umask = 077
;
; ---- The cluster: a home on every node (hookd(8), polo-mkhome(8)) ----
; polo-mkhome (added/10W-polo-mkhome) does nothing on a machine without
; the node certificate below ([tls] cert). The module ignores these
; sections, but reports a bad line in them like any other.

[discovery]
; MarcoPolo discovery (UDP multicast, IPv4): the group hookd joins and
; polo-mkhome asks; the same on every node.
;group = 224.0.0.112
;port = 1337
; The interface to join/send on; empty: the routing table decides (needs
; a route for the group, e.g. a default route).
;interface =
; polo-mkhome stops listening after this long without an answer (ms) ...
;idle_ms = 50
; ... or after this long in any case, or as soon as every static and
; last-seen node has answered.
;max_ms = 1000
; Nodes always asked (IPv4, separated by blanks or commas, at most 64;
; one line: a second nodes line replaces the first).
;nodes =
; Where polo-mkhome keeps the nodes seen last time (root-owned).
;state = /var/lib/polohook/nodes

[tls]
; Mutual TLS: every node has a certificate from the cluster CA
; (examples/make-certs.sh). Root-owned files; the key mode 0600.
;ca = /etc/polohook/tls/ca.pem
;cert = /etc/polohook/tls/node.pem
;key = /etc/polohook/tls/node.key
; polo-mkhome: a node's certificate must carry the IP address it is
; reached at (subjectAltName).
;verify_name = yes

[hookd]
; TCP port of the home service (hookd listens, polo-mkhome connects).
;port = 1343
; No home is made for a uid below this.
;min_uid = 1000
; done: reply once the home is complete; early: once it exists (the copy
; from skel goes on).
;ack = done
; hookd's network side runs as this user (never uid or gid 0).
;user = nobody
; Connections served at once.
;max_conns = 64
; hookd: a client's TLS handshake, and its whole connection (ms).
;handshake_ms = 2000
;idle_ms = 5000
; polo-mkhome: connect + handshake, and the whole request, per node (ms).
; Keep [hooks] timeout above max_ms + request_ms + 0.5 s.
;connect_ms = 2000
;request_ms = 5000
