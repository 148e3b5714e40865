/*
 * diff.h - the numeric core of mbr_store_diff, apart so it can be tested.
 *
 * The relative L2 distance of two tensors of one shape, ||new - old|| /
 * ||old||, over their dequantized values. The two may be of different
 * types (a quantized descendant against its F32 parent). The sums are kept
 * in double and fed piece by piece, so a tensor of any size is compared
 * with a bounded amount of float scratch.
 */
#ifndef MBR_DIFF_H
#define MBR_DIFF_H

#include <stddef.h>
#include <stdint.h>

/* Elements dequantized at a time (a multiple of every block size). */
#define MBR_DIFF_PIECE_ELEMS ((uint64_t)1 << 20)

struct mbr_kernel_traits;

struct mbr_l2_side {
	uint32_t block_elems;
	uint32_t block_bytes;
	const struct mbr_kernel_traits *kt;
};

struct mbr_l2_acc {
	double diff2;		/* sum of (new - old)^2 */
	double ref2;		/* sum of old^2 */
	struct mbr_l2_side old, new;
	float *fa, *fb;		/* scratch, cap elements each */
	size_t cap;
};

/* MBR_EUNSUPPORTED when the kernels cannot dequantize either type. */
int mbr_l2_acc_init(struct mbr_l2_acc *acc, int old_type, int new_type);

/* Bytes that n elements take on one side (n whole blocks). */
uint64_t mbr_l2_side_bytes(const struct mbr_l2_side *side, uint64_t n);

/* Add n elements stored at old and new (n a whole number of blocks of
 * both types). */
int mbr_l2_acc_add(struct mbr_l2_acc *acc, const void *old, const void *new,
		   uint64_t n);

/* sqrt(diff2 / ref2): 0 when both sums are 0, +inf when only ref2 is
 * (the old tensor is all zeros), NaN when a value was not finite. */
double mbr_l2_acc_rel(const struct mbr_l2_acc *acc);

void mbr_l2_acc_release(struct mbr_l2_acc *acc);

#endif
