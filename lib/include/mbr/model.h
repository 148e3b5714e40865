/*
 * model.h - a llama-architecture model bound to its weights, and sessions
 * that run its forward pass (the inference engine, llama2.c style).
 *
 * mbr_model_build reads the configuration from the GGUF metadata and
 * binds every tensor by name, checking its presence, type and shape
 * against the configuration: a file is untrusted, so a missing or
 * misshapen tensor is an error that names it, not a crash. The model
 * never copies weights: its matrices point into the mapped tensors.
 *
 * A session holds what one stream of tokens needs: the KV cache and the
 * scratch buffers, all allocated once by mbr_session_new, and a pool of
 * threads that split each matrix multiply by rows. The arithmetic follows
 * llama.cpp's CPU backend (activations converted to each weight type's
 * dot-product partner, K and V kept in F16, attention probabilities
 * rounded to F16 before they weigh V) so the numbers agree with it.
 */
#ifndef MBR_MODEL_H
#define MBR_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "weights.h"

struct mbr_model_config {
	int dim;		/* llama.embedding_length */
	int n_layers;		/* llama.block_count */
	int n_heads;		/* llama.attention.head_count */
	int n_kv_heads;		/* llama.attention.head_count_kv (GQA) */
	int head_dim;		/* llama.attention.key_length, or dim / n_heads */
	int n_rot;		/* llama.rope.dimension_count: rotated dims per head */
	int ff;			/* llama.feed_forward_length */
	int n_vocab;		/* rows of token_embd.weight */
	int n_ctx_train;	/* llama.context_length */
	float norm_eps;		/* llama.attention.layer_norm_rms_epsilon */
	float rope_base;	/* llama.rope.freq_base */
	float rope_pos_scale;	/* 1 / linear rope scaling factor */
};

struct mbr_lora_delta;

/* A weight matrix in place: rows of cols elements, each row a whole
 * number of blocks of its type (ggml: ne[0] = cols, ne[1] = rows). */
struct mbr_matrix {
	const void *data;
	int type;		/* enum mbr_type */
	int64_t rows, cols;
	size_t row_bytes;
	const char *name;	/* the tensor's, for messages */
	struct mbr_lora_delta *lora;	/* adapters' terms on it; NULL: none */
};

/* An adapter's low-rank term on a matrix W: W x + scale * B (A x), as
 * llama.cpp's build_lora_mm adds it (lora.h). */
struct mbr_lora_delta {
	struct mbr_matrix a;		/* (rank, W's cols): lora_a */
	struct mbr_matrix b;		/* (W's rows, rank): lora_b */
	float scale;			/* alpha / rank times the user's scale */
	struct mbr_lora_delta *next;	/* the next adapter's on W */
};

struct mbr_layer {
	const float *attn_norm;		/* (dim) */
	struct mbr_matrix wq;		/* (n_heads * head_dim, dim) */
	struct mbr_matrix wk;		/* (n_kv_heads * head_dim, dim) */
	struct mbr_matrix wv;		/* (n_kv_heads * head_dim, dim) */
	struct mbr_matrix wo;		/* (dim, n_heads * head_dim) */
	const float *ffn_norm;		/* (dim) */
	struct mbr_matrix w_gate;	/* (ff, dim) */
	struct mbr_matrix w_up;		/* (ff, dim) */
	struct mbr_matrix w_down;	/* (dim, ff) */
};

struct mbr_model {
	struct mbr_model_config cfg;
	struct mbr_matrix tok_embd;	/* (n_vocab, dim) */
	struct mbr_layer *layers;	/* n_layers */
	const float *output_norm;	/* (dim) */
	struct mbr_matrix output;	/* (n_vocab, dim); token_embd when tied */
	const struct mbr_weights *w;	/* borrowed: must outlive the model */
	struct mbr_lora_delta **terms;	/* every adapter term, owned */
	size_t n_terms;
};

/*
 * Bind a llama model to w. MBR_EUNSUPPORTED names the architecture or the
 * tensor and its type when mbr cannot run it; MBR_ECORRUPT names the key
 * or tensor that is missing, of the wrong kind or misshapen.
 */
int mbr_model_build(struct mbr_model **out, const struct mbr_weights *w);
void mbr_model_free(struct mbr_model *m);

/*
 * Apply a LoRA adapter at user scale scale to every matrix it names, on
 * top of those applied before: the weights stay as they are and each
 * product gains the adapter's term. Call it before any session is made
 * (sessions size their buffers for the ranks). The adapter is checked
 * against the model (mbr_lora_check) and must outlive it.
 */
struct mbr_lora;
int mbr_model_add_lora(struct mbr_model *m, const struct mbr_lora *l, float scale);

struct mbr_session;

/*
 * A session of up to n_ctx positions (<= 0: the model's context_length)
 * run by n_threads threads (<= 0: the online cores). Prompts are processed
 * in batches of up to MBR_SESSION_BATCH tokens, each weight matrix read
 * once per batch.
 */
#define MBR_SESSION_BATCH 512
int mbr_session_new(struct mbr_session **out, const struct mbr_model *m,
		    int n_ctx, int n_threads);
void mbr_session_free(struct mbr_session *s);
int mbr_session_n_ctx(const struct mbr_session *s);
int mbr_session_threads(const struct mbr_session *s);
const struct mbr_model *mbr_session_model(const struct mbr_session *s);
/* Forget every cached position. */
void mbr_session_reset(struct mbr_session *s);

/*
 * Run tokens[0..n) at positions pos..pos+n-1, attending to the cached
 * positions before pos (later ones are overwritten); pos may not pass
 * the cached positions. logits receives n_vocab floats for each of the
 * last n_logits tokens (0..n), in order; only those rows go through the
 * output layer. MBR_EINVALID when a token is out of the vocabulary or the
 * positions do not fit n_ctx. Nothing is allocated.
 */
int mbr_session_decode(struct mbr_session *s, const int32_t *tokens, int n,
		       int pos, float *logits, int n_logits);

#endif
