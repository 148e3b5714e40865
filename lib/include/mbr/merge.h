/*
 * merge.h - mbr breed merge: mergekit's merge methods on stored versions.
 *
 * The methods are mergekit's (arcee-ai/mergekit) as its current code
 * defines them, reimplemented on F32 values. With θ_i the models, θ_b the
 * base, δ_i = θ_i − θ_b the task vectors and w_i the weights:
 *
 *	linear           Σ w_i θ_i / Σ w_i
 *	slerp            two tensors v0 (the base), v1; see mbr_merge_slerp()
 *	task-arithmetic  θ_b + λ Σ w_i δ_i
 *	ties             θ_b + λ Σ w_i m_i δ'_i / Σ w_i m_i, δ'_i the top
 *	                 density_i fraction of δ_i by magnitude, m_i the sign
 *	                 election mask (mbr_merge_gta())
 *	dare-ties        as ties, but δ'_i a random Bernoulli(density_i) mask
 *	                 of δ_i rescaled to its L1 norm, and no division
 *	dare-linear      θ_b + λ Σ w_i δ'_i with δ'_i as in dare-ties
 *
 * The math works on whole tensors flattened to vectors, as mergekit does
 * (slerp's angle and ties' top-k are per tensor).
 */
#ifndef MBR_MERGE_H
#define MBR_MERGE_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

enum mbr_merge_method {
	MBR_MERGE_LINEAR,
	MBR_MERGE_SLERP,
	MBR_MERGE_TASK_ARITHMETIC,
	MBR_MERGE_TIES,
	MBR_MERGE_DARE_TIES,
	MBR_MERGE_DARE_LINEAR,
};

/* The i-th method's name ("linear", "dare-ties", ...); NULL past the last. */
const char *mbr_merge_method_name(size_t i);
/* The method called name; -1 when there is none. */
int mbr_merge_method_by_name(const char *name);
/* Does the method work on task vectors against a base (--base required)? */
int mbr_merge_method_has_base(int method);

/* ---- the math on float vectors ------------------------------------- */

/* out = Σ w_i x_i / Σ w_i over n_models vectors of n; Σ w_i must not be 0. */
void mbr_merge_linear(float *out, const float *const *x, const double *w,
		      size_t n_models, size_t n);

/*
 * mergekit's slerp of v0 to v1 at t: the dot product d of the normalised
 * vectors (a norm of at most 1e-8 is left unnormalised) picks lerp,
 * (1−t)v0 + t·v1, when |d| > 0.9995, else with θ = acos(d)
 *	out = sin((1−t)θ)/sin θ · v0 + sin(tθ)/sin θ · v1
 * on the unnormalised vectors.
 */
void mbr_merge_slerp(float *out, const float *v0, const float *v1, double t,
		     size_t n);

/*
 * Keep the int(density·n) entries of largest magnitude (ties broken by
 * position, lower first), zero the rest. density >= 1 keeps everything.
 * MBR_EINVALID when that keeps nothing (mergekit refuses the same).
 */
int mbr_merge_sparsify_magnitude(float *delta, size_t n, double density);

/*
 * The DARE mask's random numbers: splitmix64 (Steele, Lea, Flood 2014),
 * whose state starts at mix(mix(seed ^ fnv1a64(tensor name)) ^ model)
 * where mix is splitmix64's output function, so a tensor's mask depends
 * only on the seed, its name and the model's position, never on the
 * order or thread it is merged in.
 */
struct mbr_merge_rng {
	uint64_t state;
};
void mbr_merge_rng_init(struct mbr_merge_rng *rng, uint64_t seed,
			const char *tensor, size_t model);
/* The next uniform double in [0, 1) (the top 53 bits of the next value). */
double mbr_merge_rng_uniform(struct mbr_merge_rng *rng);

/*
 * Keep each entry when the next uniform number is below density, zero
 * it otherwise, then scale the kept entries so the L1 norm is the
 * original one (mergekit's current rescale; DARE's paper divides by
 * density instead). density >= 1 keeps everything and draws nothing.
 */
void mbr_merge_sparsify_random(float *delta, size_t n, double density,
			       struct mbr_merge_rng *rng);

/*
 * mergekit's generalized task arithmetic on already sparsified task
 * vectors: wδ_i = w_i δ_i; with consensus, an entry's majority sign is
 * that of Σ wδ_i (0 counts as +) and only the wδ_i of that sign (zeros
 * never) are summed, the divisor being the sum of their w_i (1 when 0);
 * without, all are summed and the divisor is Σ w_i (1 when below 1e-8
 * in magnitude). Then out = base + λ · (normalize ? sum / divisor : sum).
 */
void mbr_merge_gta(float *out, const float *base, const float *const *delta,
		   const double *w, size_t n_models, size_t n, int consensus,
		   int normalize, double lambda);

/* ---- a merge of one tensor ----------------------------------------- */

struct mbr_merge_params {
	int method;		/* enum mbr_merge_method */
	size_t n_models;	/* models merged, not counting the base */
	const double *weights;	/* n_models of them */
	const double *densities;	/* n_models of them */
	double lambda;
	double t;
	uint64_t seed;
};

/*
 * Merge one tensor of n values: x[i] holds model i's values and is used
 * as scratch (it becomes its task vector); base is the base's values
 * (slerp's v0, with x[0] as v1), NULL for linear. name is the tensor's,
 * for the DARE streams and for messages.
 */
int mbr_merge_tensor(float *out, const float *base, float *const *x, size_t n,
		     const struct mbr_merge_params *p, const char *name);

/* ---- mbr breed merge ----------------------------------------------- */

struct mbr_merge_options {
	int method;
	const char *const *revs;	/* the models */
	size_t n_revs;
	const char *base;		/* the base's revision, or NULL */
	const double *weights;		/* n_weights: 1 (for all) or n_revs */
	size_t n_weights;		/* 0: 1 for each */
	const double *densities;	/* likewise; 0: 1 for each */
	size_t n_densities;
	double lambda;			/* NAN: not given (1) */
	double t;			/* slerp's; NAN: not given (0.5) */
	int64_t seed;			/* the DARE seed; < 0: not given (0) */
	const char *out_type;		/* a quantize type name, or NULL */
	const char *name;		/* the model to store in */
	int n_threads;
	/* hears of the merged file's tensor bytes as they are written
	 * (each is merged then); fn NULL: nobody */
	struct mbr_progress progress;
};

/*
 * Merge the versions into a new version of opts->name (NULL:
 * "<first model>-<method>"): every tensor is
 * dequantized to F32, merged and stored in opts->out_type (for the
 * tensors mbr breed quantize would quantize; the others and every tensor
 * without out_type keep the first model's type, 1-D tensors F32). The
 * metadata is the first model's. The inputs must have one architecture
 * and the same tensor names and shapes: MBR_EINVALID otherwise, naming
 * the first mismatch; an option the method does not take, a count of
 * weights or densities that is neither 1 nor the number of models, or
 * a density outside (0, 1] is MBR_EINVALID too. slerp merges two
 * versions: the base (--base, else the first) and the other. The commit
 * has operator "merge", the parameters, and every input version, base
 * included, as a parent.
 */
int mbr_breed_merge(struct mbr_add_result *out, struct mbr_repo *repo,
		    const struct mbr_merge_options *opts);

#endif
