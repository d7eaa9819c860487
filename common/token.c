#include "token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/socket.h>

#define TOKEN_V4 0x04
#define TOKEN_V6 0x06
#define TAG_V4 8
#define TAG_V6 11
#define RAW_MAX 35

const char *const token_status_names[] = {"valid", "unverified", "forged", "malformed"};

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	size_t need = (n * 8 + 4) / 5;
	if (need + 1 > outlen)
		return -1;
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return (int)o;
}

static int b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int base32_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b32_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			if (o >= outlen)
				return -1;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= 0xff; /* keep only bits not yet emitted */
	}
	/* Leftover bits must be zero, so each byte string has exactly one encoding. */
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)o;
}

static void token_tag(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n, uint8_t *tag,
                      size_t taglen)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	HMAC(EVP_sha256(), key, (int)keylen, msg, n, mac, &maclen);
	memcpy(tag, mac, taglen);
}

int token_encode(const uint8_t *key, size_t keylen, const struct token_fields *f, char *out)
{
	uint8_t raw[RAW_MAX];
	size_t alen = f->target.family == AF_INET6 ? 16 : 4;
	size_t taglen = alen == 16 ? TAG_V6 : TAG_V4;
	size_t o = 0;
	if (f->target.family != AF_INET && f->target.family != AF_INET6)
		return -1;
	raw[o++] = alen == 16 ? TOKEN_V6 : TOKEN_V4;
	raw[o++] = (uint8_t)(f->scan_id >> 24);
	raw[o++] = (uint8_t)(f->scan_id >> 16);
	raw[o++] = (uint8_t)(f->scan_id >> 8);
	raw[o++] = (uint8_t)f->scan_id;
	memcpy(raw + o, f->target.a, alen);
	o += alen;
	raw[o++] = (uint8_t)(f->port >> 8);
	raw[o++] = (uint8_t)f->port;
	raw[o++] = f->test;
	token_tag(key, keylen, raw, o, raw + o, taglen);
	o += taglen;
	return base32_encode(raw, o, out, TOKEN_MAX + 1);
}

enum token_status token_decode(const uint8_t *key, size_t keylen, const char *s, size_t n,
                               struct token_fields *f)
{
	uint8_t raw[RAW_MAX];
	if (n != TOKEN_LEN_V4 && n != TOKEN_LEN_V6)
		return TOKEN_MALFORMED;
	int len = base32_decode(s, n, raw, sizeof(raw));
	size_t alen = n == TOKEN_LEN_V6 ? 16 : 4;
	size_t taglen = alen == 16 ? TAG_V6 : TAG_V4;
	if (len < 0 || raw[0] != (alen == 16 ? TOKEN_V6 : TOKEN_V4))
		return TOKEN_MALFORMED;
	memset(f, 0, sizeof(*f));
	f->scan_id =
	    (uint32_t)raw[1] << 24 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 8 | raw[4];
	f->target.family = alen == 16 ? AF_INET6 : AF_INET;
	memcpy(f->target.a, raw + 5, alen);
	size_t o = 5 + alen;
	f->port = (uint16_t)(raw[o] << 8 | raw[o + 1]);
	f->test = raw[o + 2];
	o += 3;
	if (!key)
		return TOKEN_UNVERIFIED;
	uint8_t tag[TAG_V6];
	token_tag(key, keylen, raw, o, tag, taglen);
	return CRYPTO_memcmp(tag, raw + o, taglen) == 0 ? TOKEN_VALID : TOKEN_FORGED;
}
