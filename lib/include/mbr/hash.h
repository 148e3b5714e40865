/*
 * hash.h - SHA-256 object ids (OpenSSL underneath).
 *
 * An object id is the SHA-256 of an object's uncompressed bytes. Its text
 * form is the OCI digest form "sha256:<64 lowercase hex>", so an object can
 * travel to an OCI registry as a blob with the same digest.
 */
#ifndef MBR_HASH_H
#define MBR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MBR_OID_RAWSZ 32
#define MBR_OID_HEXSZ 64
/* "sha256:" + 64 hex + NUL */
#define MBR_OID_STRSZ (7 + MBR_OID_HEXSZ + 1)

struct mbr_oid {
	unsigned char id[MBR_OID_RAWSZ];
};

struct mbr_sha256_ctx {
	void *evp;	/* EVP_MD_CTX */
};

void mbr_sha256(struct mbr_oid *out, const void *data, size_t len);
/* Streaming; init returns 0 or MBR_ENOMEM. final frees the context. */
int mbr_sha256_init(struct mbr_sha256_ctx *ctx);
void mbr_sha256_update(struct mbr_sha256_ctx *ctx, const void *data, size_t len);
void mbr_sha256_final(struct mbr_oid *out, struct mbr_sha256_ctx *ctx);

/* "sha256:<hex>" into out (MBR_OID_STRSZ bytes); returns out. */
char *mbr_oid_fmt(char *out, const struct mbr_oid *oid);
/* 64 hex chars, no prefix, into out (MBR_OID_HEXSZ + 1 bytes). */
char *mbr_oid_tohex(char *out, const struct mbr_oid *oid);
/* Accepts "sha256:<hex>" or bare 64 hex; MBR_EINVALID otherwise. The hex
 * must be lowercase: OCI digests are, and an id must have one spelling so
 * that ids compared as text (refs, manifests) agree. */
int mbr_oid_parse(struct mbr_oid *out, const char *str);
int mbr_oid_cmp(const struct mbr_oid *a, const struct mbr_oid *b);
int mbr_oid_is_zero(const struct mbr_oid *a);

#endif
