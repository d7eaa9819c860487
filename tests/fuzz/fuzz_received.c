/* Message header walker, unfolding, Received parser and trace-address extraction, and the
 * whole-message scan the sink runs on every delivery (tokens, Received chain, trace IPs). */
#include <string.h>

#include "fuzz.h"
#include "msgscan.h"
#include "opt.h"
#include "received.h"

static struct received_parser *rp;
static struct msgscan *ms;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	static const uint8_t key[32] = {1, 2, 3};
	if (!rp && !(rp = received_parser_new(err, sizeof(err))))
		abort();
	if (!ms && !(ms = msgscan_new(key, sizeof(key), 65536, 50, err, sizeof(err))))
		abort();
	const char *msg = (const char *)data;
	size_t pos = 0;
	struct hdr_field f;
	int r, n = 0;
	static char unfold[65536];
	while (n++ < 1000 && (r = hdr_next(msg, size, &pos, &f)) != 0) {
		CHECK(pos <= size);
		if (r < 0)
			break;
		CHECK(f.value >= msg && f.value + f.valuelen <= msg + size);
		size_t u = hdr_unfold(f.value, f.valuelen, unfold, sizeof(unfold));
		CHECK(u < sizeof(unfold));
		struct received rc;
		received_parse(rp, unfold, u, &rc);
		struct ipaddr ips[16];
		int k = received_ips(rp, unfold, u, ips, 16);
		CHECK(k >= 0 && k <= 16);
	}
	struct strlist rcpts = {0};
	strlist_add(&rcpts, "rt-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa@sink.example");
	json_t *o = msgscan_run(ms, "relaytest@example.org", msg, size, &rcpts);
	CHECK(o != NULL);
	json_decref(o);
	strlist_free(&rcpts);
	return 0;
}
