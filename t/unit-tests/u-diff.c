#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "diff.h"
#include "mbr/store.h"
#include "mbr/types.h"

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * (fabs(b) > 1 ? fabs(b) : 1);
}

/* One-shot relative L2 of n elements; -1 on error. */
static double rel_l2(int type, const void *old, const void *new, uint64_t n)
{
	struct mbr_l2_acc acc;
	double rel = -1;

	if (mbr_l2_acc_init(&acc, type, type))
		return -1;
	if (!mbr_l2_acc_add(&acc, old, new, n))
		rel = mbr_l2_acc_rel(&acc);
	mbr_l2_acc_release(&acc);
	return rel;
}

static void test_diff__f32(void)
{
	float a[2] = { 3, 4 }, b[2] = { 3, 4.1f };
	/* ||b - a|| / ||a|| = |4.1f - 4| / 5, 4.1f being the float nearest 4.1 */
	double want = ((double)4.1f - 4) / 5;

	UT_CHECK(near(rel_l2(MBR_TYPE_F32, a, b, 2), want));
	UT_CHECK(fabs(want - 0.02) < 1e-7);
	UT_CHECK(rel_l2(MBR_TYPE_F32, a, a, 2) == 0);
}

static void test_diff__f16(void)
{
	/* 3.0 = 0x4200, 4.0 = 0x4400; the half nearest 4.1 is 0x441a =
	 * 4 * (1 + 26/1024) = 4.1015625, so the ratio is 0.1015625 / 5. */
	uint16_t a[2] = { 0x4200, 0x4400 }, b[2] = { 0x4200, 0x441a };

	UT_CHECK(near(rel_l2(MBR_TYPE_F16, a, b, 2), 0.1015625 / 5));
}

/* A Q8_0 block: a half scale d, then 32 int8 quants; value i is d * q[i]. */
static void q8_0_block(unsigned char blk[34], int bump)
{
	blk[0] = 0x00;	/* d = 0.5 = half 0x3800, little-endian */
	blk[1] = 0x38;
	for (int i = 0; i < 32; i++)
		blk[2 + i] = (unsigned char)(int8_t)(i - 16);
	blk[2] = (unsigned char)(int8_t)(-16 + bump);
}

static void test_diff__q8_0(void)
{
	unsigned char a[34], b[34];

	/* old values 0.5 * k for k = -16..15: sum of squares
	 * 0.25 * (1496 + 1240) = 684 (sum k^2 to 16 is 1496, to 15 is 1240);
	 * new differs in one quant by 2, so in one value by 1. */
	q8_0_block(a, 0);
	q8_0_block(b, 2);
	UT_CHECK(near(rel_l2(MBR_TYPE_Q8_0, a, b, 32), sqrt(1.0 / 684)));
	/* not a whole block */
	UT_CHECK(rel_l2(MBR_TYPE_Q8_0, a, b, 16) == -1);
}

/* More elements than one piece: the sums must carry across pieces. */
static void test_diff__many_pieces(void)
{
	uint64_t n = 2 * MBR_DIFF_PIECE_ELEMS + 96;
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));

	UT_ASSERT(a && b);
	/* only the 96 elements past the second piece differ, by 0.5 each:
	 * sqrt(96 * 0.25 / n); a per-piece reset would give sqrt(0.25) */
	for (uint64_t i = 0; i < n; i++) {
		a[i] = 1;
		b[i] = i < 2 * MBR_DIFF_PIECE_ELEMS ? 1 : 1.5f;
	}
	UT_CHECK(near(rel_l2(MBR_TYPE_F32, a, b, n), sqrt(24.0 / n)));
	free(a);
	free(b);
}

static void test_diff__zero_reference(void)
{
	float z[4] = { 0 }, b[4] = { 0, 0, 1, 0 }, bad[4] = { 0, NAN, 0, 0 };

	UT_CHECK(rel_l2(MBR_TYPE_F32, z, z, 4) == 0);
	UT_CHECK(isinf(rel_l2(MBR_TYPE_F32, z, b, 4)));
	UT_CHECK(isnan(rel_l2(MBR_TYPE_F32, z, bad, 4)));
	UT_CHECK(isnan(rel_l2(MBR_TYPE_F32, b, bad, 4)));
}

static void test_diff__unsupported_type(void)
{
	struct mbr_l2_acc acc;

	/* 4 is a type id ggml removed: no table entry, no kernels */
	UT_EQ_INT(mbr_l2_acc_init(&acc, 4, 4), MBR_EUNSUPPORTED);
	UT_EQ_INT(mbr_l2_acc_init(&acc, MBR_TYPE_F32, 4), MBR_EUNSUPPORTED);
}

/* ---- mbr_store_diff on hand-made versions ---------------------------- */

/* Store data as a tensor cut into chunks of chunk bytes. */
static int make_tensor(struct mbr_manifest_tensor *t, struct mbr_odb *odb,
		       const char *name, int type, uint64_t ne0, uint64_t ne1,
		       const void *data, uint64_t size, uint64_t chunk)
{
	int written;

	memset(t, 0, sizeof(*t));
	t->name = (char *)name;
	t->type = type;
	t->n_dims = ne1 ? 2 : 1;
	t->ne[0] = ne0;
	t->ne[1] = ne1;
	t->size = size;
	t->chunk_size = chunk;
	t->n_chunks = (size + chunk - 1) / chunk;
	t->chunks = calloc(t->n_chunks, sizeof(*t->chunks));
	for (size_t c = 0; t->chunks && c < t->n_chunks; c++) {
		uint64_t off = c * chunk, len = size - off < chunk ? size - off : chunk;

		if (mbr_odb_hash_write(&t->chunks[c], odb, &written,
				       (const char *)data + off, len, MBR_ODB_RAW))
			return -1;
	}
	return t->chunks ? 0 : -1;
}

static struct mbr_manifest_segment tensor_seg(size_t i, uint64_t size)
{
	struct mbr_manifest_segment s = { MBR_SEG_TENSOR, size, { { 0 } }, i };

	return s;
}

/* Is v equal to the JSON text want? */
static int json_is(json_t *v, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	int eq = w && json_equal(v, w);

	json_decref(w);
	return eq;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	return remove(path);
}

/* An object store in a new temporary directory (dir is its template). */
static struct mbr_odb *tmp_odb(char *dir)
{
	char objects[64];
	struct mbr_odb *odb = NULL;

	snprintf(objects, sizeof(objects), "%s/objects", mkdtemp(dir) ? dir : "/nonexistent");
	if (mkdir(objects, 0777) || mbr_odb_open(&odb, objects))
		return NULL;
	return odb;
}

static void rm_tmp_odb(struct mbr_odb *odb, const char *dir)
{
	mbr_odb_free(odb);
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

static json_t *changed_named(json_t *d, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(json_object_get(d, "tensors"), "changed"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return e;
	return NULL;
}

static void test_diff__versions(void)
{
	char dir[] = "/tmp/u-diff-XXXXXX";
	struct mbr_odb *odb = tmp_odb(dir);
	struct mbr_repo repo = { dir, odb, NULL };
	struct mbr_manifest_tensor ta[4], tb[4];
	struct mbr_manifest ma = { 0 }, mb = { 0 };
	struct mbr_manifest_segment sa[5], sb[6];
	struct mbr_version va = { "1111111111111111111111111111111111111111", &ma, NULL };
	struct mbr_version vb = { "2222222222222222222222222222222222222222", &mb, NULL };
	float wa[100], wb[100], same[4] = { 1, 2, 3, 4 };
	/* 1 2 3 5 in F16: against F32 1 2 3 4, rel_l2 = 1 / sqrt(30) */
	uint16_t half[4] = { 0x3c00, 0x4000, 0x4200, 0x4500 };
	unsigned char q8[68], header[10] = "GGUF head";
	int written;
	json_t *d = NULL, *e;

	UT_ASSERT(odb);
	/* w: 1..100, changed by 2 at one place, chunked at 37 and 64 bytes
	 * (chunk edges inside floats): rel_l2 = 2 / sqrt(sum k^2, k <= 100)
	 * = 2 / sqrt(338350). */
	for (int i = 0; i < 100; i++)
		wa[i] = wb[i] = (float)(i + 1);
	wb[50] += 2;
	q8_0_block(q8, 0);
	q8_0_block(q8 + 34, 1);
	UT_ASSERT(!make_tensor(&ta[0], odb, "w", MBR_TYPE_F32, 100, 0, wa, 400, 37));
	UT_ASSERT(!make_tensor(&tb[0], odb, "w", MBR_TYPE_F32, 100, 0, wb, 400, 64));
	UT_ASSERT(!make_tensor(&ta[1], odb, "same", MBR_TYPE_F32, 4, 0, same, 16, 16));
	UT_ASSERT(!make_tensor(&tb[1], odb, "same", MBR_TYPE_F32, 4, 0, same, 16, 16));
	/* a rename: "new" holds what "gone" held */
	UT_ASSERT(!make_tensor(&ta[2], odb, "gone", MBR_TYPE_Q8_0, 32, 2, q8, 68, 68));
	UT_ASSERT(!make_tensor(&tb[2], odb, "new", MBR_TYPE_Q8_0, 32, 2, q8, 68, 68));
	UT_ASSERT(!make_tensor(&ta[3], odb, "retyped", MBR_TYPE_F32, 4, 0, same, 16, 16));
	UT_ASSERT(!make_tensor(&tb[3], odb, "retyped", MBR_TYPE_F16, 4, 0, half, 8, 8));
	ma.tensors = ta;
	ma.n_tensors = 4;
	mb.tensors = tb;
	mb.n_tensors = 4;

	/* both files: a header object, the tensors; the new one 5 zeros */
	sa[0].kind = MBR_SEG_OBJECT;
	sa[0].size = sizeof(header);
	UT_ASSERT(!mbr_odb_hash_write(&sa[0].id, odb, &written, header,
				      sizeof(header), MBR_ODB_RAW));
	sb[0] = sa[0];
	for (size_t i = 0; i < 4; i++) {
		sa[1 + i] = tensor_seg(i, ta[i].size);
		sb[1 + i] = tensor_seg(i, tb[i].size);
	}
	sb[5].kind = MBR_SEG_ZEROS;
	sb[5].size = 5;
	ma.segments = sa;
	ma.n_segments = 5;
	mb.segments = sb;
	mb.n_segments = 6;
	ma.file_size = 10 + 400 + 16 + 68 + 16;
	mb.file_size = 10 + 400 + 16 + 68 + 8 + 5;

	ma.metadata = json_pack("[{s:s,s:i},{s:s,s:i},{s:s,s:i}]",
				"key", "a", "value", 1, "key", "b", "value", 2,
				"key", "c", "value", 3);
	mb.metadata = json_pack("[{s:s,s:i},{s:s,s:i},{s:s,s:i}]",
				"key", "d", "value", 4, "key", "b", "value", 5,
				"key", "a", "value", 1);

	UT_ASSERT(!mbr_store_diff(&d, &repo, &va, &vb));
	e = json_object_get(d, "metadata");
	UT_CHECK(json_is(json_object_get(e, "added"), "[{\"key\":\"d\",\"value\":4}]"));
	UT_CHECK(json_is(json_object_get(e, "removed"), "[{\"key\":\"c\",\"value\":3}]"));
	UT_CHECK(json_is(json_object_get(e, "changed"),
			 "[{\"key\":\"b\",\"old\":{\"key\":\"b\",\"value\":2},"
			 "\"new\":{\"key\":\"b\",\"value\":5}}]"));

	e = json_object_get(d, "tensors");
	UT_EQ_INT(json_integer_value(json_object_get(e, "unchanged")), 1);
	UT_CHECK(json_is(json_object_get(e, "added"),
			 "[{\"name\":\"new\",\"type\":\"Q8_0\",\"shape\":[32,2]}]"));
	UT_CHECK(json_is(json_object_get(e, "removed"),
			 "[{\"name\":\"gone\",\"type\":\"Q8_0\",\"shape\":[32,2]}]"));
	UT_EQ_INT(json_array_size(json_object_get(e, "changed")), 2);
	UT_ASSERT(changed_named(d, "w") && changed_named(d, "retyped"));
	UT_CHECK(near(json_real_value(json_object_get(changed_named(d, "w"), "rel_l2")),
		      2 / sqrt(338350)));
	e = changed_named(d, "retyped");
	UT_CHECK(near(json_real_value(json_object_get(e, "rel_l2")), 1 / sqrt(30)));
	UT_EQ_STR(json_string_value(json_object_get(e, "old_type")), "F32");
	UT_EQ_STR(json_string_value(json_object_get(e, "new_type")), "F16");
	UT_CHECK(json_is(json_object_get(e, "old_shape"), "[4]"));

	/* shared: header 10, "same" 16, "new" 68 (was "gone"); no chunk of
	 * w (cut differently), nor the 5 zeros */
	e = json_object_get(d, "file");
	UT_EQ_INT(json_integer_value(json_object_get(e, "old_size")), 510);
	UT_EQ_INT(json_integer_value(json_object_get(e, "new_size")), 507);
	UT_EQ_INT(json_integer_value(json_object_get(e, "shared_bytes")), 94);
	json_decref(d);

	/* a missing chunk fails the diff, naming the object */
	UT_ASSERT(!mbr_odb_delete(odb, &ta[0].chunks[5]));
	UT_EQ_INT(mbr_store_diff(&d, &repo, &va, &vb), MBR_ENOTFOUND);
	UT_CHECK(d == NULL);
	UT_CHECK(strstr(mbr_error_last(), "sha256:") != NULL);

	for (int i = 0; i < 4; i++) {
		free(ta[i].chunks);
		free(tb[i].chunks);
	}
	json_decref(ma.metadata);
	json_decref(mb.metadata);
	rm_tmp_odb(odb, dir);
}

/*
 * A tensor bigger than one piece, cut into chunks the pieces do not line
 * up with: pieces start inside chunks on both sides.
 */
static void test_diff__pieces_across_chunks(void)
{
	char dir[] = "/tmp/u-diff-XXXXXX";
	struct mbr_odb *odb = tmp_odb(dir);
	struct mbr_repo repo = { dir, odb, NULL };
	uint64_t n = MBR_DIFF_PIECE_ELEMS + 1000;
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
	struct mbr_manifest_tensor ta, tb;
	struct mbr_manifest ma = { 0 }, mb = { 0 };
	struct mbr_version va = { "1111111111111111111111111111111111111111", &ma, NULL };
	struct mbr_version vb = { "2222222222222222222222222222222222222222", &mb, NULL };
	double ref2 = 0;
	json_t *d = NULL;

	UT_ASSERT(odb && a && b);
	/* two values differ by 1: rel_l2 = sqrt(2 / sum a^2) */
	for (uint64_t i = 0; i < n; i++) {
		a[i] = b[i] = (float)(i % 1000);
		ref2 += (double)a[i] * a[i];
	}
	b[7] += 1;
	b[n - 1] += 1;
	UT_ASSERT(!make_tensor(&ta, odb, "w", MBR_TYPE_F32, n, 0, a, 4 * n, (1 << 20) + 3));
	UT_ASSERT(!make_tensor(&tb, odb, "w", MBR_TYPE_F32, n, 0, b, 4 * n, 3 * (1 << 20) + 1));
	ma.tensors = &ta;
	mb.tensors = &tb;
	ma.n_tensors = mb.n_tensors = 1;
	UT_ASSERT(!mbr_store_diff(&d, &repo, &va, &vb));
	UT_CHECK(near(json_real_value(json_object_get(changed_named(d, "w"), "rel_l2")),
		      sqrt(2 / ref2)));
	json_decref(d);
	free(ta.chunks);
	free(tb.chunks);
	free(a);
	free(b);
	rm_tmp_odb(odb, dir);
}

static const struct unit_test tests[] = {
	UT(test_diff__f32),
	UT(test_diff__f16),
	UT(test_diff__q8_0),
	UT(test_diff__many_pieces),
	UT(test_diff__zero_reference),
	UT(test_diff__unsupported_type),
	UT(test_diff__versions),
	UT(test_diff__pieces_across_chunks),
	{ 0 }
};
UNIT_MAIN(tests)
