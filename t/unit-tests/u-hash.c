#include "unit.h"
#include "mbr/hash.h"

/* FIPS 180-2 / NIST CAVP test vectors. */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static const char *hex_of(const struct mbr_oid *oid)
{
	static char hex[MBR_OID_HEXSZ + 1];

	return mbr_oid_tohex(hex, oid);
}

static void test_hash__vectors(void)
{
	struct mbr_oid oid;
	char *a = malloc(1000000);

	UT_ASSERT(a);
	mbr_sha256(&oid, "", 0);
	UT_EQ_STR(hex_of(&oid), SHA_EMPTY);
	mbr_sha256(&oid, "abc", 3);
	UT_EQ_STR(hex_of(&oid), SHA_ABC);
	memset(a, 'a', 1000000);
	mbr_sha256(&oid, a, 1000000);
	UT_EQ_STR(hex_of(&oid), SHA_MILLION_A);
	free(a);
}

/* Odd-sized pieces cross SHA-256's 64-byte block boundaries everywhere. */
static void test_hash__streaming_matches_oneshot(void)
{
	struct mbr_sha256_ctx ctx;
	struct mbr_oid streamed, whole;
	unsigned char *buf = malloc(1000000);
	size_t off = 0, piece = 1;

	UT_ASSERT(buf);
	for (size_t i = 0; i < 1000000; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	UT_EQ_INT(mbr_sha256_init(&ctx), 0);
	while (off < 1000000) {
		size_t n = piece < 1000000 - off ? piece : 1000000 - off;

		mbr_sha256_update(&ctx, buf + off, n);
		off += n;
		piece = piece * 3 + 7;
	}
	mbr_sha256_final(&streamed, &ctx);
	UT_CHECK(ctx.evp == NULL);
	mbr_sha256(&whole, buf, 1000000);
	UT_EQ_STR(hex_of(&streamed), hex_of(&whole));

	memset(buf, 'a', 1000000);
	UT_EQ_INT(mbr_sha256_init(&ctx), 0);
	for (int i = 0; i < 1000; i++)
		mbr_sha256_update(&ctx, buf, 1000);
	mbr_sha256_final(&streamed, &ctx);
	UT_EQ_STR(hex_of(&streamed), SHA_MILLION_A);
	free(buf);
}

static void test_hash__fmt_parse_roundtrip(void)
{
	struct mbr_oid oid, back;
	char s[MBR_OID_STRSZ];

	mbr_sha256(&oid, "abc", 3);
	UT_EQ_STR(mbr_oid_fmt(s, &oid), "sha256:" SHA_ABC);
	UT_EQ_INT(mbr_oid_parse(&back, s), 0);
	UT_EQ_INT(mbr_oid_cmp(&oid, &back), 0);
	memset(&back, 0, sizeof(back));
	UT_EQ_INT(mbr_oid_parse(&back, SHA_ABC), 0);
	UT_EQ_INT(mbr_oid_cmp(&oid, &back), 0);
	UT_CHECK(back.id[0] == 0xba && back.id[31] == 0xad);
}

static void test_hash__parse_rejects(void)
{
	static const char *bad[] = {
		"",
		"sha256:",
		SHA_ABC "0",				/* 65 hex */
		"sha256:" SHA_ABC "0",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
		"ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015 d",
		/* uppercase: refused, so an id has one spelling (hash.h) */
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		"sha256:Ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"sha512:" SHA_ABC,
		"SHA256:" SHA_ABC,
		" sha256:" SHA_ABC,
	};
	struct mbr_oid oid, keep;

	memset(&keep, 0x5a, sizeof(keep));
	for (size_t i = 0; i < MBR_ARRAY_SIZE(bad); i++) {
		oid = keep;
		mbr_error_clear();
		UT_EQ_INT(mbr_oid_parse(&oid, bad[i]), MBR_EINVALID);
		UT_CHECK(!mbr_oid_cmp(&oid, &keep));	/* untouched */
		UT_CHECK(strstr(mbr_error_last(), "is not an object id"));
	}
}

static void test_hash__cmp_and_zero(void)
{
	struct mbr_oid a, b;

	memset(&a, 0, sizeof(a));
	UT_CHECK(mbr_oid_is_zero(&a));
	b = a;
	b.id[31] = 1;
	UT_CHECK(!mbr_oid_is_zero(&b));
	UT_CHECK(mbr_oid_cmp(&a, &b) < 0);
	UT_CHECK(mbr_oid_cmp(&b, &a) > 0);
	a.id[0] = 1;
	UT_CHECK(mbr_oid_cmp(&a, &b) > 0);	/* first byte dominates */
}

static const struct unit_test tests[] = {
	UT(test_hash__vectors),
	UT(test_hash__streaming_matches_oneshot),
	UT(test_hash__fmt_parse_roundtrip),
	UT(test_hash__parse_rejects),
	UT(test_hash__cmp_and_zero),
	{ 0 }
};
UNIT_MAIN(tests)
