/* TLS for the I/O module: OpenSSL's SSL objects live here and nowhere else. Non-blocking
 * throughout: a handshake or a read that wants the other direction arms that watcher and
 * comes back on readiness; io.c's buffers and deadlines bound everything as for plaintext. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "io_int.h"

struct io_tls_ctx {
	SSL_CTX *ctx;
};

static void ssl_why(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static struct io_tls_ctx *ctx_new(const SSL_METHOD *m, char *err, size_t errlen)
{
	struct io_tls_ctx *t = calloc(1, sizeof(*t));
	if (!t || !(t->ctx = SSL_CTX_new(m))) {
		ssl_why(err, errlen, "TLS context");
		free(t);
		return NULL;
	}
	/* a scanner and a sink meet every kind of peer: accept what OpenSSL's default level
	 * does, partial writes out of a buffer that moves */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                             SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_VERSION);
	return t;
}

struct io_tls_ctx *io_tls_client_ctx(char *err, size_t errlen)
{
	struct io_tls_ctx *t = ctx_new(TLS_client_method(), err, errlen);
	if (!t)
		return NULL;
	/* verify nothing, so that no certificate stops a scan; the system's CAs are loaded so
	 * that SSL_get_verify_result still says whether it would have verified */
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_default_verify_paths(t->ctx);
	return t;
}

/* A self-signed certificate for name: EC P-256, valid from now for a year. */
static int self_signed(SSL_CTX *ctx, const char *name, char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	int ok = key && x;
	if (ok) {
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
		X509_set_pubkey(x, key);
		X509_NAME *n = X509_get_subject_name(x);
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1,
		                           -1, 0);
		X509_set_issuer_name(x, n);
		ok = X509_sign(x, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, x) == 1 &&
		     SSL_CTX_use_PrivateKey(ctx, key) == 1;
	}
	if (!ok)
		ssl_why(err, errlen, "generating a certificate");
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

struct io_tls_ctx *io_tls_server_ctx(const char *cert, const char *key, const char *name, char *err,
                                     size_t errlen)
{
	struct io_tls_ctx *t = ctx_new(TLS_server_method(), err, errlen);
	if (!t)
		return NULL;
	int rc;
	if (cert) {
		rc = SSL_CTX_use_certificate_chain_file(t->ctx, cert) == 1 &&
		             SSL_CTX_use_PrivateKey_file(t->ctx, key ? key : cert,
		                                         SSL_FILETYPE_PEM) == 1 &&
		             SSL_CTX_check_private_key(t->ctx) == 1
		         ? 0
		         : -1;
		if (rc < 0) {
			char what[300];
			snprintf(what, sizeof(what), "--tls-cert %s / --tls-key %s", cert,
			         key ? key : cert);
			ssl_why(err, errlen, what);
		}
	} else {
		rc = self_signed(t->ctx, name, err, errlen);
	}
	if (rc < 0) {
		io_tls_ctx_free(t);
		return NULL;
	}
	return t;
}

void io_tls_ctx_free(struct io_tls_ctx *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* A server's SSL object is made when the client's first handshake bytes arrive: a client
 * that says STARTTLS and then nothing holds no TLS memory (some 40 KiB each otherwise). */
static int server_ssl(struct io *io)
{
	if (!(io->ssl = SSL_new(io->tls_ctx)))
		return -1;
	SSL_set_fd(io->ssl, io->fd);
	SSL_set_accept_state(io->ssl);
	return 0;
}

int io_tls_start(struct io *io, struct io_tls_ctx *ctx, int server, const char *sni)
{
	if (io->ssl || io->tls_ctx || buf_len(&io->rbuf))
		return -1;
	io->tls_server = server;
	if (server) {
		io->tls_ctx = ctx->ctx;
	} else {
		if (!(io->ssl = SSL_new(ctx->ctx)))
			return -1;
		SSL_set_fd(io->ssl, io->fd);
		SSL_set_connect_state(io->ssl);
		if (sni && *sni)
			SSL_set_tlsext_host_name(io->ssl, sni);
	}
	if (buf_len(&io->wbuf)) { /* "220 Ready to start TLS" goes out in the clear first */
		io->tls_waiting = 1;
		return 0;
	}
	io->tls_handshaking = 1;
	ev_feed_event(io->loop->ev, &io->ww, EV_WRITE);
	return 0;
}

/* A fatal TLS error: the reason goes where io_strerror() finds it. */
static void tls_fail(struct io *io, const char *what)
{
	char why[160];
	ssl_why(why, sizeof(why), what);
	ev_io_stop(io->loop->ev, &io->rw);
	ev_io_stop(io->loop->ev, &io->ww);
	snprintf(io->err, sizeof(io->err), "%s", why);
	io->tls_handshaking = 0;
	io->cb(io, IO_ERROR, io->arg);
}

void iotls_handshake(struct io *io)
{
	if (!io->ssl) { /* a server: wait for the ClientHello before making the SSL object */
		if (!io->tls_peer_spoke) {
			ev_io_stop(io->loop->ev, &io->ww);
			ev_io_start(io->loop->ev, &io->rw);
			return;
		}
		if (server_ssl(io) < 0) {
			tls_fail(io, "TLS session");
			return;
		}
	}
	ERR_clear_error();
	int r = SSL_do_handshake(io->ssl);
	if (r == 1) {
		io->tls_handshaking = 0;
		ev_io_stop(io->loop->ev, &io->ww);
		if (!io->paused)
			ev_io_start(io->loop->ev, &io->rw);
		io->cb(io, IO_TLS_UP, io->arg);
		return;
	}
	switch (SSL_get_error(io->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		ev_io_stop(io->loop->ev, &io->ww);
		ev_io_start(io->loop->ev, &io->rw);
		return;
	case SSL_ERROR_WANT_WRITE:
		ev_io_start(io->loop->ev, &io->ww);
		return;
	case SSL_ERROR_SYSCALL:
		if (!ERR_peek_error()) {
			ev_io_stop(io->loop->ev, &io->rw);
			ev_io_stop(io->loop->ev, &io->ww);
			snprintf(io->err, sizeof(io->err), "TLS handshake: %s",
			         errno && r < 0 ? strerror(errno) : "connection closed by peer");
			io->tls_handshaking = 0;
			io->cb(io, IO_ERROR, io->arg);
			return;
		}
		/* fall through */
	default:
		tls_fail(io, "TLS handshake");
	}
}

ssize_t iotls_read(struct io *io, void *p, size_t n)
{
	ERR_clear_error();
	int r = SSL_read(io->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0) {
		if (SSL_pending(io->ssl)) /* decrypted bytes the socket will not announce */
			ev_feed_event(io->loop->ev, &io->rw, EV_READ);
		return r;
	}
	switch (SSL_get_error(io->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		io->tls_read_blocked = 1;
		ev_io_start(io->loop->ev, &io->ww);
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN: /* close_notify */
		return 0;
	case SSL_ERROR_SYSCALL:
		if (!ERR_peek_error() && r == 0)
			return 0; /* closed without close_notify: an end all the same */
		                  /* fall through */
	default: {
		char why[160];
		ssl_why(why, sizeof(why), "TLS read");
		snprintf(io->err, sizeof(io->err), "%s", why);
		errno = EPROTO;
		return -1;
	}
	}
}

ssize_t iotls_write(struct io *io, const void *p, size_t n)
{
	ERR_clear_error();
	int r = SSL_write(io->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(io->ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ: /* a renegotiation or key update: wait for input */
		io->tls_write_blocked = 1;
		ev_io_start(io->loop->ev, &io->rw);
		errno = EAGAIN;
		return -1;
	default:
		errno = EPIPE;
		return -1;
	}
}

void iotls_close(struct io *io)
{
	if (!io->ssl)
		return;
	if (!io->tls_handshaking && !io->tls_waiting) {
		ERR_clear_error();
		SSL_shutdown(io->ssl); /* close_notify, best effort, never waited for */
	}
	ERR_clear_error();
	SSL_free(io->ssl);
	io->ssl = NULL;
}

static void name_line(X509_NAME *n, char *out, size_t len)
{
	out[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int k = BIO_read(b, out, (int)len - 1);
	out[k > 0 ? k : 0] = '\0';
	BIO_free(b);
}

static void cert_names(X509 *x, char *out, size_t len)
{
	out[0] = '\0';
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
		size_t o = strlen(out);
		snprintf(out + o, len - o, "%s%.*s", o ? " " : "", ASN1_STRING_length(g->d.dNSName),
		         (const char *)s);
	}
	GENERAL_NAMES_free(gens);
}

int io_tls_info(const struct io *io, struct io_tls_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!io->ssl)
		return -1;
	snprintf(out->version, sizeof(out->version), "%s", SSL_get_version(io->ssl));
	snprintf(out->cipher, sizeof(out->cipher), "%s", SSL_get_cipher_name(io->ssl));
	X509 *x = SSL_get1_peer_certificate(io->ssl);
	if (!x)
		return 0;
	out->has_cert = 1;
	name_line(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	name_line(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	cert_names(x, out->names, sizeof(out->names));
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(out->not_after, sizeof(out->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out->self_signed = X509_check_issued(x, x) == X509_V_OK;
	out->verified = SSL_get_verify_result(io->ssl) == X509_V_OK;
	X509_free(x);
	return 0;
}
