/* The fingerprint matcher with hostile texts (long, binary, built to backtrack), against the
 * shipped rules and, when the first byte's low bit is set, against rules parsed from the
 * input itself (catastrophic patterns included: the match limits must hold them); and the
 * version comparison and ranges of advisories.
 * Input: a mode byte, then texts separated by NUL: the banner, then EHLO lines and refusal
 * texts in turn. */
#include <string.h>

#include "advisory.h"
#include "fingerprint.h"
#include "fuzz.h"

#define TEXTS_MAX 17

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static void check_result(int rc, const struct fp_result *r)
{
	CHECK(rc == 0 || rc == 1);
	CHECK(rc == !!r->product[0]);
	CHECK(printable(r->product) && printable(r->version) && printable(r->os));
	CHECK(strlen(r->version) < FP_VERSION_MAX && strlen(r->os) < FP_OS_MAX);
	CHECK(r->source < FP_SOURCES);
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fptable *shipped;
	char err[400];
	if (!shipped &&
	    !(shipped = fp_parse(fingerprints_default_text, "default", err, sizeof(err))))
		abort();
	if (size < 1 || size > 65536)
		return 0;
	char *buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	const char *texts[TEXTS_MAX];
	int n = 0;
	for (char *p = buf; n < TEXTS_MAX && p < buf + size; p += strlen(p) + 1)
		texts[n++] = p;
	const char *ehlo[TEXTS_MAX], *errors[TEXTS_MAX];
	struct fp_texts in = {.banner = texts[0], .ehlo = ehlo, .errors = errors};
	for (int i = 1; i < n; i++) {
		if (i % 2)
			ehlo[in.nehlo++] = texts[i];
		else
			errors[in.nerrors++] = texts[i];
	}
	struct fp_result r;
	check_result(fp_identify(shipped, &in, &r), &r);
	if (data[0] & 1) { /* the input as a rules file, matched against its own texts */
		struct fptable *t = fp_parse(buf, "fuzz", err, sizeof(err));
		CHECK(t || !strncmp(err, "fuzz:", 5));
		if (t) {
			check_result(fp_identify(t, &in, &r), &r);
			fp_free(t);
		}
	}
	const char *a = texts[0], *b = n > 1 ? texts[1] : "";
	CHECK(advis_vercmp(a, a) == 0);
	CHECK(sign(advis_vercmp(a, b)) == -sign(advis_vercmp(b, a)));
	int k = advis_in_range(a, b);
	CHECK(k >= -1 && k <= 1);
	free(buf);
	return 0;
}
