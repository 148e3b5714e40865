#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#define UT_RNG_SEED 0x2545f4914f6cdd1dull
#include "unit.h"
#include "kernels.h"
#include "quants.h"
#include "mbr/types.h"


static const int weight_types[] = {
	MBR_TYPE_F32, MBR_TYPE_F16, MBR_TYPE_BF16, MBR_TYPE_Q4_0, MBR_TYPE_Q4_1,
	MBR_TYPE_Q5_0, MBR_TYPE_Q5_1, MBR_TYPE_Q8_0, MBR_TYPE_Q2_K,
	MBR_TYPE_Q3_K, MBR_TYPE_Q4_K, MBR_TYPE_Q5_K, MBR_TYPE_Q6_K,
};

/* 17 super-blocks, 136 blocks of 32: odd and even counts both occur */
enum { N = 17 * QK_K };

/* Activations whose range changes from block to block, as real ones do. */
static void random_activations(float *x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = ut_rng_float() * (float)(1 + (i / 32) % 7) * 0.5f;
}

static void put_half(unsigned char *p, float f)
{
	mbr_half h = mbr_fp32_to_fp16(f);

	memcpy(p, &h, sizeof(h));
}

/*
 * K-quant rows: nothing in mbr writes them, so random bytes (any code,
 * any six-bit scale is a valid block) with small positive super-block
 * scales where the fp16 fields are.
 */
static void random_k_blocks(int type, unsigned char *w, int n)
{
	const struct mbr_type_info *ti = mbr_type_get(type);
	size_t d_at;
	int has_dmin = 1;

	for (size_t i = 0; i < mbr_row_size(type, n); i++)
		w[i] = (unsigned char)ut_rng_next();
	switch (type) {
	case MBR_TYPE_Q2_K: d_at = offsetof(struct block_q2_K, d); break;
	case MBR_TYPE_Q3_K: d_at = offsetof(struct block_q3_K, d); has_dmin = 0; break;
	case MBR_TYPE_Q6_K: d_at = offsetof(struct block_q6_K, d); has_dmin = 0; break;
	default: d_at = 0; break;	/* Q4_K, Q5_K: d, dmin first */
	}
	for (int b = 0; b < n / QK_K; b++, w += ti->block_bytes) {
		put_half(w + d_at, 0.001f + 0.01f * fabsf(ut_rng_float()));
		if (has_dmin)
			put_half(w + d_at + 2, 0.01f * fabsf(ut_rng_float()));
	}
}

/* A row of weights: real quantization where mbr has a quantizer. */
static void random_weights(int type, unsigned char *w, int n)
{
	const struct mbr_kernel_traits *t = mbr_kernel_traits_isa(type, MBR_KERNELS_REF);
	static float f[N];

	if (!t->quantize) {
		random_k_blocks(type, w, n);
		return;
	}
	for (int i = 0; i < n; i++)
		f[i] = ut_rng_float() * (float)(1 + i % 5);
	t->quantize(f, w, n);
}

struct case_data {
	unsigned char w[N * 4], xq[N * 4];
	float x[N], wf[N], xf[N];
	double exact, scale;	/* the dot in double; sum of |products| */
	double swapped;		/* the dot with neighbours swapped in x */
};

/*
 * Q8_1 stores the sum of its values as a half s, and the dot uses it for
 * the weights' offset m: sum (d q + m) y = d sum(q y) + m s. The truth
 * follows the format: add m (s - the exact sum) per block. Q4_1 and Q5_1
 * both keep d, then m, at the start of their blocks.
 */
static double q8_1_correction(int type, const struct case_data *c)
{
	const struct block_q8_1 *y = (const void *)c->xq;
	size_t bytes = mbr_type_get(type)->block_bytes;
	double fix = 0;

	for (int b = 0; b < N / 32; b++) {
		mbr_half m;
		double sum = 0;

		memcpy(&m, c->w + b * bytes + 2, sizeof(m));
		for (int j = 32 * b; j < 32 * b + 32; j++)
			sum += c->xf[j];
		fix += mbr_fp16_to_fp32(m) * (mbr_fp16_to_fp32(y[b].s) - sum);
	}
	return fix;
}

/*
 * The independent truth for one weight type: dequantize both operands
 * and take their dot in double. scale bounds what rounding can do to it.
 */
static const struct mbr_kernel_traits *prepare(int type, struct case_data *c)
{
	const struct mbr_kernel_traits *t = mbr_kernel_traits_isa(type, MBR_KERNELS_REF);
	const struct mbr_kernel_traits *xt = mbr_kernel_traits_isa(t->vec_dot_type, MBR_KERNELS_REF);

	random_weights(type, c->w, N);
	random_activations(c->x, N);
	xt->from_float(c->x, c->xq, N);
	t->dequantize(c->w, c->wf, N);
	xt->dequantize(c->xq, c->xf, N);
	c->exact = c->scale = c->swapped = 0;
	for (int i = 0; i < N; i++) {
		double p = (double)c->wf[i] * c->xf[i];

		c->exact += p;
		c->scale += fabs(p);
		c->swapped += (double)c->wf[i] * c->xf[i ^ 1];
	}
	if (t->vec_dot_type == MBR_TYPE_Q8_1)
		c->exact += q8_1_correction(t->type, c);
	return t;
}

#define LAST_ISA MBR_KERNELS_AVX512

static int has_isa(enum mbr_kernel_isa isa)
{
	return mbr_kernel_traits_isa(MBR_TYPE_F32, isa) != NULL;
}

/* the set mbr_kernel_traits() should pick when nothing caps it */
static enum mbr_kernel_isa best_isa(void)
{
	int isa = LAST_ISA;

	while (!has_isa(isa))
		isa--;
	return isa;
}

static const char *isa_name(enum mbr_kernel_isa isa)
{
	return isa == MBR_KERNELS_AVX512 ? "avx512" :
	       isa == MBR_KERNELS_AVX2 ? "avx2" : "ref";
}

static int close_enough(const char *what, int type, double got, double want, double scale)
{
	if (getenv("U_VECDOT_VERBOSE"))
		printf("# %s %s: error %.2e of scale\n", what, mbr_type_get(type)->name,
		       fabs(got - want) / scale);
	if (fabs(got - want) <= 1e-5 * scale)
		return 1;
	printf("# %s %s: %.9g, want %.9g (scale %.3g)\n", what,
	       mbr_type_get(type)->name, got, want, scale);
	return 0;
}

static void test_vecdot__traits(void)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(weight_types); i++) {
		const struct mbr_kernel_traits *t = mbr_kernel_traits(weight_types[i]);
		const struct mbr_kernel_traits *xt;

		UT_ASSERT(t && t->vec_dot);
		xt = mbr_kernel_traits(t->vec_dot_type);
		UT_ASSERT(xt && xt->from_float && xt->dequantize);
	}
	UT_EQ_INT(mbr_kernel_traits(MBR_TYPE_Q4_0)->vec_dot_type, MBR_TYPE_Q8_0);
	UT_EQ_INT(mbr_kernel_traits(MBR_TYPE_Q5_1)->vec_dot_type, MBR_TYPE_Q8_1);
	UT_EQ_INT(mbr_kernel_traits(MBR_TYPE_Q3_K)->vec_dot_type, MBR_TYPE_Q8_K);
	UT_EQ_INT(mbr_kernel_traits(MBR_TYPE_BF16)->vec_dot_type, MBR_TYPE_BF16);
	UT_CHECK(!mbr_kernel_traits(MBR_TYPE_Q8_K)->vec_dot);
	UT_CHECK(!mbr_kernel_traits(MBR_TYPE_Q8_K)->quantize);
	UT_EQ_INT(mbr_row_size(MBR_TYPE_Q4_K, 512), 288);
	UT_EQ_INT(mbr_row_size(MBR_TYPE_Q8_K, 256), 292);
	UT_EQ_INT(mbr_row_size(MBR_TYPE_Q8_1, 64), 72);
	UT_EQ_INT(mbr_row_size(MBR_TYPE_F16, 10), 20);
}

/* The child's answer: 10 for the reference kernels, 20 for AVX2, 30 for
 * AVX-512; 99 if the table handed out is not the set's own. */
static int child_isa(void)
{
	enum mbr_kernel_isa isa = mbr_kernel_isa();
	mbr_vec_dot_fn dot = mbr_kernel_traits(MBR_TYPE_Q4_0)->vec_dot;

	if (dot != mbr_kernel_traits_isa(MBR_TYPE_Q4_0, isa)->vec_dot ||
	    (isa == MBR_KERNELS_REF) != (dot == mbr_vec_dot_q4_0_q8_0_ref))
		return 99;
	return 10 + 10 * (int)isa;
}

/* Which set MBR_KERNELS picks: the choice is made once per process, so
 * ask a fresh one (this binary again). */
static int isa_in_child(const char *env)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (env)
			setenv("MBR_KERNELS", env, 1);
		else
			unsetenv("MBR_KERNELS");
		setenv("U_VECDOT_CHILD", "1", 1);
		execl("/proc/self/exe", "u-vecdot", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_vecdot__env_override(void)
{
	int best = 10 + 10 * (int)best_isa();

	UT_EQ_INT(isa_in_child("ref"), 10);
	UT_EQ_INT(isa_in_child("avx2"), has_isa(MBR_KERNELS_AVX2) ? 20 : 10);
	UT_EQ_INT(isa_in_child(NULL), best);
	UT_EQ_INT(isa_in_child("anything-else"), best);
}

static void test_vecdot__ref_matches_dequantized(void)
{
	static struct case_data c;

	for (size_t i = 0; i < MBR_ARRAY_SIZE(weight_types); i++) {
		const struct mbr_kernel_traits *t = prepare(weight_types[i], &c);
		float s = NAN;

		t->vec_dot(N, &s, c.w, c.xq);
		UT_CHECK(close_enough("ref", t->type, s, c.exact, c.scale));
		/* the tolerance must catch the subtlest layout slip */
		UT_CHECK(fabs(c.swapped - c.exact) > 5e-5 * c.scale);
	}
}

/* Every dot product of one set against the reference. */
static void isa_matches_ref(enum mbr_kernel_isa isa)
{
	static struct case_data c;

	if (!has_isa(isa))
		return;
	for (size_t i = 0; i < MBR_ARRAY_SIZE(weight_types); i++) {
		const struct mbr_kernel_traits *t = prepare(weight_types[i], &c);
		const struct mbr_kernel_traits *v = mbr_kernel_traits_isa(t->type, isa);
		float r = NAN, s = NAN, tail = NAN, tail_ref = NAN;
		void *wb, *xb;
		int blk = mbr_type_get(t->type)->block_elems == 1 ? 40 :
			  (int)mbr_type_get(t->type)->block_elems;

		t->vec_dot(N, &r, c.w, c.xq);
		v->vec_dot(N, &s, c.w, c.xq);
		UT_CHECK(close_enough(isa_name(isa), t->type, s, r, c.scale));
		/* short rows: one block, or 40 plain elements (a ragged
		 * tail), and 13 of those (kernels that take eight blocks at
		 * a time have five left), in buffers of their exact size so
		 * ASan sees overreads */
		for (int len = blk; len <= 13 * blk; len += 12 * blk) {
			size_t wsize = mbr_row_size(t->type, len);
			size_t xsize = mbr_row_size(t->vec_dot_type, len);

			wb = malloc(wsize);
			xb = malloc(xsize);
			UT_ASSERT(wb && xb);
			memcpy(wb, c.w, wsize);
			memcpy(xb, c.xq, xsize);
			t->vec_dot(len, &tail_ref, wb, xb);
			v->vec_dot(len, &tail, wb, xb);
			free(wb);
			free(xb);
			UT_CHECK(close_enough(isa_name(isa), t->type, tail, tail_ref,
					      c.scale));
		}
	}
}

static void test_vecdot__avx2_matches_ref(void)
{
	isa_matches_ref(MBR_KERNELS_AVX2);
}

static void test_vecdot__avx512_matches_ref(void)
{
	isa_matches_ref(MBR_KERNELS_AVX512);
}

/* from_float must give the same bytes on every ISA. */
static void test_vecdot__from_float_same_bytes(void)
{
	static const int act_types[] = {
		MBR_TYPE_F16, MBR_TYPE_BF16, MBR_TYPE_Q8_0, MBR_TYPE_Q8_1, MBR_TYPE_Q8_K,
	};
	static float x[N];
	static unsigned char a[N * 4], b[N * 4];

	random_activations(x, N);
	/* exact ties: block 3 has amax 127, so the codes are x itself */
	x[96] = 127.0f;
	for (int j = 97; j < 128; j++)
		x[j] = (float)(j % 9) - 4.5f;
	/* a zero block and a super-block whose largest element is negative */
	memset(x + 256, 0, 32 * sizeof(float));
	x[600] = -40.0f;
	memset(x + 2 * QK_K, 0, QK_K * sizeof(float));
	for (size_t i = 0; i < MBR_ARRAY_SIZE(act_types); i++) {
		int type = act_types[i];
		size_t size = mbr_row_size(type, N);

		memset(a, 0xa5, sizeof(a));
		mbr_kernel_traits_isa(type, MBR_KERNELS_REF)->from_float(x, a, N);
		for (int isa = MBR_KERNELS_AVX2; isa <= LAST_ISA; isa++) {
			if (!has_isa(isa))
				continue;
			memset(b, 0x5a, sizeof(b));
			mbr_kernel_traits_isa(type, isa)->from_float(x, b, N);
			if (memcmp(a, b, size))
				printf("# %s %s differs\n", isa_name(isa),
				       mbr_type_get(type)->name);
			UT_CHECK(!memcmp(a, b, size));
		}
	}
}

/*
 * Rounding as llama.cpp does on AVX2 (half to even, multiplier 127/amax),
 * unlike the file quantizer's roundf: this pins the difference.
 */
static void test_vecdot__q8_0_activation_rounding(void)
{
	float x[32] = { 127.0f, 2.5f, -3.5f, 0.5f, 1.5f, -0.5f, 100.25f };
	static const int8_t want[7] = { 127, 2, -4, 0, 2, 0, 100 };
	static const int8_t want_file[7] = { 127, 3, -4, 1, 2, -1, 100 };
	struct block_q8_0 act, file;
	struct block_q8_1 act1;

	mbr_kernel_traits(MBR_TYPE_Q8_0)->from_float(x, &act, 32);
	mbr_quantize_row_q8_0_ref(x, &file, 32);
	mbr_kernel_traits(MBR_TYPE_Q8_1)->from_float(x, &act1, 32);
	UT_EQ_INT(act.d, 0x3c00);	/* 127 / 127 */
	UT_EQ_INT(act1.d, 0x3c00);
	for (int j = 0; j < 7; j++) {
		UT_EQ_INT(act.qs[j], want[j]);
		UT_EQ_INT(act1.qs[j], want[j]);
		UT_EQ_INT(file.qs[j], want_file[j]);
	}
	/* s = d * sum(qs) = 127 + 2 - 4 + 0 + 2 + 0 + 100 */
	UT_EQ_INT(act1.s, mbr_fp32_to_fp16(227.0f));
}

/* Every ISA the CPU has must give these exactly (small integers). */
static void check_all_isas(int type, const void *w, const void *x, float want)
{
	for (int isa = MBR_KERNELS_REF; isa <= LAST_ISA; isa++) {
		const struct mbr_kernel_traits *t = mbr_kernel_traits_isa(type, isa);
		float s = NAN;

		if (!t)
			continue;
		t->vec_dot(32, &s, w, x);
		if (s != want)
			printf("# %s isa %d: %g, want %g\n", mbr_type_get(type)->name, isa, s, want);
		UT_CHECK(s == want);
	}
}

static void test_vecdot__hand_blocks(void)
{
	struct block_q8_0 w8 = { .d = 0x3800 }, x8 = { .d = 0x3400 };	/* 0.5, 0.25 */
	struct block_q4_0 w4 = { .d = 0x4000 };				/* 2 */
	struct block_q8_0 x4 = { .d = 0x3800 };				/* 0.5 */

	/* sum_j<16 3 (j - 16) + sum_j>=16 -(j - 16) = -408 - 120 = -528 */
	for (int j = 0; j < 32; j++) {
		w8.qs[j] = (int8_t)(j - 16);
		x8.qs[j] = (int8_t)(j < 16 ? 3 : -1);
	}
	check_all_isas(MBR_TYPE_Q8_0, &w8, &x8, -528 * 0.125f);

	/* weights j - 8 then 7 - j; activations 1 then 2:
	 * sum (j - 8) + 2 sum (7 - j) = -8 - 16 = -24, times 2 * 0.5 */
	for (int j = 0; j < 16; j++) {
		w4.qs[j] = (uint8_t)(j | (15 - j) << 4);
		x4.qs[j] = 1;
		x4.qs[j + 16] = 2;
	}
	check_all_isas(MBR_TYPE_Q4_0, &w4, &x4, -24.0f);
}

static void test_vecdot__q8_K_blocks(void)
{
	static float x[N], y[N];
	static struct block_q8_K q[N / QK_K];

	random_activations(x, N);
	x[5] = 9.0f;		/* the largest: positive, so d < 0 */
	x[300] = -9.0f;		/* a tie in block 1: the first one wins */
	x[260] = 9.0f;
	for (int isa = MBR_KERNELS_REF; isa <= LAST_ISA; isa++) {
		const struct mbr_kernel_traits *t = mbr_kernel_traits_isa(MBR_TYPE_Q8_K, isa);
		int bad = 0;

		if (!t)
			continue;
		t->from_float(x, q, N);
		for (int b = 0; b < N / QK_K; b++)
			for (int j = 0; j < 16; j++) {
				int sum = 0;

				for (int l = 0; l < 16; l++)
					sum += q[b].qs[16 * j + l];
				bad += sum != q[b].bsums[j];
			}
		UT_EQ_INT(bad, 0);
		UT_EQ_INT(q[0].qs[5], -127);
		UT_CHECK(q[0].d < 0 && q[1].d < 0);
		UT_EQ_INT(q[1].qs[260 - QK_K], -127);
		UT_EQ_INT(q[1].qs[300 - QK_K], 127);
		t->dequantize(q, y, N);
		for (int i = 0; i < N; i++)
			bad += fabsf(y[i] - x[i]) > fabsf(q[i / QK_K].d) * 0.5001f;
		UT_EQ_INT(bad, 0);
	}
}

static struct unit_test tests[] = {
	UT(test_vecdot__traits),
	UT(test_vecdot__env_override),
	UT(test_vecdot__ref_matches_dequantized),
	UT(test_vecdot__avx2_matches_ref),
	UT(test_vecdot__avx512_matches_ref),
	UT(test_vecdot__from_float_same_bytes),
	UT(test_vecdot__q8_0_activation_rounding),
	UT(test_vecdot__hand_blocks),
	UT(test_vecdot__q8_K_blocks),
	{ 0 }
};

int main(void)
{
	if (getenv("U_VECDOT_CHILD"))
		return child_isa();
	/* a TAP skip directive where there is nothing to compare */
	if (!has_isa(MBR_KERNELS_AVX2)) {
		tests[3].name = "test_vecdot__avx2_matches_ref # SKIP no AVX2/F16C/FMA";
		tests[5].name = "test_vecdot__from_float_same_bytes # SKIP no AVX2/F16C/FMA";
	}
	if (!has_isa(MBR_KERNELS_AVX512))
		tests[4].name = "test_vecdot__avx512_matches_ref # SKIP no AVX-512 F/BW/VL/VNNI";
	return unit_main(tests);
}
