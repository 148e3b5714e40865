/*
 * hash.c - SHA-256 object ids on OpenSSL's EVP interface.
 *
 * The SHA-256 implementation is fetched once and cached: in OpenSSL 3 an
 * implicit fetch (EVP_sha256() at init, or the SHA256() shortcut) takes a
 * lock on the provider store each call, and mbr_sha256 runs on every core
 * at once while hashing tensors.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "mbr/error.h"
#include "mbr/hash.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/*
 * SHA-256 is built into OpenSSL's default provider, so failing to find it
 * means a broken installation; the hashing functions return void, and
 * carrying on would store objects under wrong ids, so stop here.
 */
static const EVP_MD *md(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	if (!sha256_md)
		abort();
	return sha256_md;
}

void mbr_sha256(struct mbr_oid *out, const void *data, size_t len)
{
	/* Only fails when a context cannot be allocated; see md(). */
	if (!EVP_Digest(data, len, out->id, NULL, md(), NULL))
		abort();
}

int mbr_sha256_init(struct mbr_sha256_ctx *ctx)
{
	EVP_MD_CTX *evp = EVP_MD_CTX_new();

	MBR_CHECK_ALLOC(evp);
	if (!EVP_DigestInit_ex(evp, md(), NULL)) {
		EVP_MD_CTX_free(evp);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	ctx->evp = evp;
	return 0;
}

void mbr_sha256_update(struct mbr_sha256_ctx *ctx, const void *data, size_t len)
{
	/* SHA-256 updates only fail on a NULL context, a caller bug. */
	if (!EVP_DigestUpdate(ctx->evp, data, len))
		abort();
}

void mbr_sha256_final(struct mbr_oid *out, struct mbr_sha256_ctx *ctx)
{
	if (!EVP_DigestFinal_ex(ctx->evp, out->id, NULL))
		abort();
	EVP_MD_CTX_free(ctx->evp);
	ctx->evp = NULL;
}

char *mbr_oid_tohex(char *out, const struct mbr_oid *oid)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < MBR_OID_RAWSZ; i++) {
		out[2 * i] = hex[oid->id[i] >> 4];
		out[2 * i + 1] = hex[oid->id[i] & 0xf];
	}
	out[MBR_OID_HEXSZ] = '\0';
	return out;
}

char *mbr_oid_fmt(char *out, const struct mbr_oid *oid)
{
	memcpy(out, "sha256:", 7);
	mbr_oid_tohex(out + 7, oid);
	return out;
}

/* Lowercase only: see hash.h. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mbr_oid_parse(struct mbr_oid *out, const char *str)
{
	const char *hex = str;
	struct mbr_oid oid;

	if (!strncmp(hex, "sha256:", 7))
		hex += 7;
	if (strlen(hex) != MBR_OID_HEXSZ)
		goto invalid;
	for (int i = 0; i < MBR_OID_RAWSZ; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto invalid;
		oid.id[i] = (unsigned char)(hi << 4 | lo);
	}
	*out = oid;
	return 0;

invalid:
	mbr_error_set(MBR_ERROR_INVALID,
		      "'%.80s' is not an object id (want sha256:<64 lowercase hex>)",
		      str);
	return MBR_EINVALID;
}

int mbr_oid_cmp(const struct mbr_oid *a, const struct mbr_oid *b)
{
	return memcmp(a->id, b->id, MBR_OID_RAWSZ);
}

int mbr_oid_is_zero(const struct mbr_oid *a)
{
	for (int i = 0; i < MBR_OID_RAWSZ; i++)
		if (a->id[i])
			return 0;
	return 1;
}
