/* The prober's SMTP client state machine fed what a server might send: the first byte sets
 * the chunk size (bits 0-5), the catalogue (bit 4: with the twins of --starttls both), whether
 * a PTR name is wanted (bit 6) and whether the lookup answers with the next bytes of input as
 * the name or with none (bit 7); the rest is the server's byte stream; reconnects are
 * honoured, the end of input is a close; once done, the smuggling phase runs on what is left
 * (as for a host that relayed). The client must end (CL_DONE) within a bounded number of steps
 * and keep its buffers within their limits. */
#include <string.h>

#include "catalog.h"
#include "client.h"
#include "fuzz.h"
#include "message.h"

static struct catalog cat, cat_both;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (!cat.n &&
	    (catalog_parse(&cat, catalog_default_text, "default", err, sizeof(err)) < 0 ||
	     catalog_parse(&cat_both, catalog_default_text, "default", err, sizeof(err)) < 0 ||
	     catalog_add_starttls_twins(&cat_both, err, sizeof(err)) < 0 ||
	     catalog_add_smuggling(&cat, err, sizeof(err)) < 0 ||
	     catalog_add_smuggling(&cat_both, err, sizeof(err)) < 0))
		abort();
	if (size < 1)
		return 0;
	size_t chunk = 1 + data[0] % 64;
	static const uint8_t key[32] = {7};
	struct client_params p = {
	    .cat = (data[0] & 0x10) ? &cat_both : &cat,
	    .key = key,
	    .keylen = sizeof(key),
	    .scan_id = 0x01020304,
	    .port = 25,
	    .helo = "probe.example",
	    .sender = "relaytest",
	    .contact = "noc@example.net",
	    .sink_domain = "sink.example",
	    .message_tmpl = message_default_text,
	    .date = "Thu, 01 Jan 1970 00:00:00 +0000",
	    .max_reconnects = 2,
	    .max_line = 2048,
	    .max_lines = 128,
	    .transcript = 1,
	    .want_name = (data[0] & 0x40) != 0,
	    .starttls = (data[0] & 0x20) != 0,
	};
	ipaddr_parse("192.0.2.25", &p.target);
	struct ipaddr local;
	ipaddr_parse("198.51.100.7", &local);
	struct client c;
	if (client_init(&c, &p) < 0)
		return 0;
	client_connected(&c, &local, 1);
	struct buf in;
	buf_init(&in, 1 << 20);
	const char *s = (const char *)data + 1;
	size_t n = size - 1, off = 0;
	enum client_status st = CL_CONTINUE;
	int steps = 0, smuggled = 0;
	while (steps++ < 100000) {
		if (st == CL_DONE) {
			if (smuggled++ || (st = client_smuggle(&c)) == CL_DONE)
				break;
		}
		if (st == CL_NAME) {
			char name[64] = "";
			size_t k = n - off < sizeof(name) - 1 ? n - off : sizeof(name) - 1;
			memcpy(name, s + off, k);
			name[k] = '\0';
			off += k;
			st = client_named(&c, (data[0] & 0x80) ? name : NULL, 1.6);
			continue;
		}
		if (st == CL_STARTTLS) { /* as the engine: drop the plaintext, then up or not */
			const struct io_tls_info ti = {.version = "TLSv1.3", .cipher = "X"};
			buf_consume(&in, buf_len(&in));
			st = off < n && (s[off++] & 1) ? client_tls_up(&c, &ti, 1.7)
			                               : client_tls_failed(&c, "handshake failed");
			continue;
		}
		if (st == CL_RECONNECT) {
			buf_consume(&in, buf_len(&in));
			client_connected(&c, &local, 2);
		}
		buf_consume(&c.out, buf_len(&c.out));
		if (off >= n) {
			st = client_closed(&c, "end of input");
			continue;
		}
		size_t k = n - off < chunk ? n - off : chunk;
		buf_append(&in, s + off, k);
		off += k;
		st = client_input(&c, &in, 1.5);
		CHECK(buf_len(&in) <= (1 << 20));
	}
	CHECK(st == CL_DONE);
	CHECK(c.end != END_RUNNING);
	CHECK(buf_len(&c.transcript) <= TRANSCRIPT_MAX);
	buf_free(&in);
	client_free(&c);
	return 0;
}
