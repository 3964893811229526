/* Mutual TLS between hookd and polo-mkhome (OpenSSL 3): contexts built
 * step by step, every failure drained from the OpenSSL error queue into
 * one log line (the stunnel way), non-blocking I/O with deadlines so one
 * slow or silent peer never stalls a caller. */
#ifndef POLO_TLS_H
#define POLO_TLS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "log.h"
#include "util.h"	/* polo_now_ms, for the deadlines below */

struct polo_tls_conf {
	char ca[PATH_MAX];	/* the cluster CA (PEM) */
	char cert[PATH_MAX];	/* this node's certificate chain (PEM) */
	char key[PATH_MAX];	/* its private key (PEM), not group/other-readable */
	char crl[PATH_MAX];	/* "" or revocation lists (PEM) signed by the CA */
	bool verify_name;	/* client: server cert SAN must match the address */
};

/* A server context: TLS 1.2 minimum (1.3 preferred by OpenSSL; in 1.2
 * only ECDHE suites with AES-GCM or ChaCha20-Poly1305), the
 * client must present a certificate chaining to the CA
 * (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); certificates shaped
 * like the original polousers ones (RSA, X.509 v1, no extensions) are
 * accepted if they chain to the CA. The key file must be a regular file
 * not readable by group or others. NULL on error (logged, with the
 * OpenSSL reasons and the file). */
SSL_CTX *polo_tls_server_ctx(const struct polo_tls_conf *c,
			     const struct polo_log *lg);

/* A client context: same minimum version, presents our certificate,
 * verifies the server's chain against the CA. NULL on error (logged). */
SSL_CTX *polo_tls_client_ctx(const struct polo_tls_conf *c,
			     const struct polo_log *lg);

/* For a client SSL about to connect to `addr` (an IPv4/IPv6 literal or a
 * host name): with verify_name, the server certificate must carry that IP
 * address or DNS name in its subjectAltName, checked by OpenSSL during the
 * handshake. 0 or -EINVAL. */
int polo_tls_expect_peer(SSL *ssl, const char *addr, bool verify_name);

/* Drive SSL_connect / SSL_accept on the non-blocking socket under ssl
 * until done or the absolute CLOCK_MONOTONIC deadline (ms). 0, -ETIMEDOUT,
 * or -EPROTO with the reason (verification result, OpenSSL errors) in
 * why. */
int polo_tls_handshake(SSL *ssl, bool server, unsigned long deadline_ms,
		       char *why, size_t whylen);

/* Write all of buf / read one message of at most max bytes (a peer sends
 * one JSON object per write and no terminator: read until the peer
 * closes, the object is complete by brace counting outside strings, the
 * first byte that is not blank is not '{' (what was read is returned for
 * the caller to reject, without waiting for more), or max is reached),
 * under the deadline. Return bytes, or -ETIMEDOUT / -EMSGSIZE / -EPROTO
 * (why filled). */
int polo_tls_write_all(SSL *ssl, const char *buf, size_t len,
		       unsigned long deadline_ms, char *why, size_t whylen);
int polo_tls_read_msg(SSL *ssl, char *buf, size_t max,
		      unsigned long deadline_ms, char *why, size_t whylen);

/* "CN=node1,O=lab" of the peer's certificate ("(none)" without one). */
void polo_tls_peer_subject(SSL *ssl, char *buf, size_t len);

/* TCP_NODELAY on a TLS connection's socket: each side's messages are
 * small and come in turns, and Nagle would hold the client's request
 * after the handshake until the server's delayed ACK (~40 ms a node). */
void polo_tcp_nodelay(int fd);

#endif
