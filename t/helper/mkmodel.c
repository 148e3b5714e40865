/*
 * mkmodel.c - write a llama-architecture GGUF with random weights.
 *
 *	test-tool mkmodel -o OUT --vocab VOCAB.gguf [--dim 2048] [--layers 22]
 *		[--heads 32] [--kv-heads 4] [--ff 5632] [--ctx 2048]
 *		[--rope-base 10000] [--type F32|F16|BF16|Q8_0|Q4_0|...]
 *		[--tied] [--seed N] [--name NAME] [--set KEY=VALUE]...
 *		[--scale-output X]
 *
 * The metadata is what llama.cpp's convert script writes for a llama model;
 * the tokenizer (every "tokenizer." key) is copied from VOCAB. Matrices
 * are approximately gaussian with standard deviation 1/sqrt(ne[0])
 * (token_embd: 1; output: --scale-output times that), norms are 1 plus
 * noise of 0.1. Every row has its own generator seeded from (seed, tensor,
 * row), so the bytes depend only on the options. Tensors are generated
 * and quantized one at a time while the file is written: a TinyLlama-sized
 * model needs one tensor of memory, not the model.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kernels.h"
#include "mbr/random.h"
#include "mbr/error.h"
#include "mbr/gguf-write.h"
#include "mbr/modelfile.h"
#include "mbr/pool.h"
#include "mbr/types.h"
#include "test-tool.h"

static const char usage_text[] =
	"usage: test-tool mkmodel -o <out> --vocab <vocab.gguf> [--dim <n>]\n"
	"    [--layers <n>] [--heads <n>] [--kv-heads <n>] [--ff <n>] [--ctx <n>]\n"
	"    [--rope-base <x>] [--type F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1]\n"
	"    [--tied] [--seed <n>] [--name <name>] [--set <key>=<value>]...\n"
	"    [--scale-output <x>]\n";

struct mkmodel_opts {
	const char *out, *vocab, *name;
	uint64_t dim, layers, heads, kv_heads, ff, ctx, seed;
	double rope_base, scale_output;
	const struct mbr_type_info *type;
	int tied;
	const char **sets;		/* "KEY=VALUE" */
	int *set_used;
	int n_sets;
};

/* What a tensor's fill callback needs. */
struct tensor_job {
	const struct mkmodel_opts *opts;
	const struct mbr_kernel_traits *kernels;	/* NULL: F32 norm */
	uint64_t index;			/* position in the file, seeds the rows */
	uint64_t ne0, ne1;
	float scale;
};

/*
 * Sum of four 16-bit uniforms, centred and scaled to unit variance: the
 * Irwin-Hall approximation of a gaussian, one generator call per value.
 */
static float gaussianish(uint64_t *state)
{
	uint64_t r = mbr_splitmix64(state);
	int32_t sum = (int32_t)((r & 0xffff) + (r >> 16 & 0xffff) +
				(r >> 32 & 0xffff) + (r >> 48)) - 2 * 65535;

	/* the sum's standard deviation is 65536 / sqrt(3) */
	return (float)sum * (float)(1.7320508075688772 / 65536);
}

static void fill_row(float *row, const struct tensor_job *job, uint64_t r,
		     float mean)
{
	uint64_t state = job->opts->seed ^ (job->index << 40 | r);

	/* decorrelate neighbouring seeds before drawing */
	state = mbr_splitmix64(&state);
	for (uint64_t i = 0; i < job->ne0; i++)
		row[i] = mean + job->scale * gaussianish(&state);
}

/* One run of rows of the tensor being filled, for mbr_parallel_run. */
struct fill_ctx {
	const struct tensor_job *job;
	char *buf;
	uint64_t row_bytes;
};

#define ROWS_PER_JOB 64

static int fill_rows(void *payload, size_t n)
{
	const struct fill_ctx *c = payload;
	const struct tensor_job *job = c->job;
	uint64_t first = (uint64_t)n * ROWS_PER_JOB;
	uint64_t end = first + ROWS_PER_JOB < job->ne1 ? first + ROWS_PER_JOB : job->ne1;
	float *row = NULL;

	if (job->kernels && !(row = malloc(job->ne0 * sizeof(float)))) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	for (uint64_t r = first; r < end; r++) {
		char *out = c->buf + r * c->row_bytes;

		if (!job->kernels) {
			fill_row((float *)out, job, r, 1.0f);
			continue;
		}
		fill_row(row, job, r, 0.0f);
		job->kernels->quantize(row, out, (int64_t)job->ne0);
	}
	free(row);
	return 0;
}

/* Rows are seeded independently, so threads cannot change the bytes. */
static int fill_tensor(void *payload, void *buf, uint64_t size)
{
	const struct tensor_job *job = payload;
	struct fill_ctx c = { job, buf, size / job->ne1 };

	return mbr_parallel_run((job->ne1 + ROWS_PER_JOB - 1) / ROWS_PER_JOB, 0,
				fill_rows, &c);
}

static int parse_u64(uint64_t *out, const char *opt, const char *s)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || !*s || *end || *s == '-') {
		fprintf(stderr, "mkmodel: %s wants a number, not '%s'\n", opt, s);
		return -1;
	}
	return 0;
}

static int parse_double(double *out, const char *opt, const char *s)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || !*s || *end) {
		fprintf(stderr, "mkmodel: %s wants a number, not '%s'\n", opt, s);
		return -1;
	}
	return 0;
}

static int parse_type(struct mkmodel_opts *o, const char *s)
{
	const struct mbr_kernel_traits *k;

	o->type = mbr_type_by_name(s);
	k = o->type ? mbr_kernel_traits(o->type->type) : NULL;
	if (!k || !k->quantize) {
		fprintf(stderr, "mkmodel: cannot write tensors of type '%s'\n", s);
		return -1;
	}
	return 0;
}

/* One option and its value; returns how many argv words it used or -1. */
static int parse_one(struct mkmodel_opts *o, int argc, const char **argv)
{
	static const struct { const char *name; size_t field; } nums[] = {
		{ "--dim", offsetof(struct mkmodel_opts, dim) },
		{ "--layers", offsetof(struct mkmodel_opts, layers) },
		{ "--heads", offsetof(struct mkmodel_opts, heads) },
		{ "--kv-heads", offsetof(struct mkmodel_opts, kv_heads) },
		{ "--ff", offsetof(struct mkmodel_opts, ff) },
		{ "--ctx", offsetof(struct mkmodel_opts, ctx) },
		{ "--seed", offsetof(struct mkmodel_opts, seed) },
	};
	const char *opt = argv[0], *val = argc > 1 ? argv[1] : NULL;

	if (!strcmp(opt, "--tied")) {
		o->tied = 1;
		return 1;
	}
	if (!val)
		return -1;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!strcmp(opt, nums[i].name))
			return parse_u64((uint64_t *)((char *)o + nums[i].field),
					 opt, val) ? -1 : 2;
	if (!strcmp(opt, "-o"))
		o->out = val;
	else if (!strcmp(opt, "--vocab"))
		o->vocab = val;
	else if (!strcmp(opt, "--name"))
		o->name = val;
	else if (!strcmp(opt, "--set") && strchr(val, '='))
		o->sets[o->n_sets++] = val;
	else if (!strcmp(opt, "--type"))
		return parse_type(o, val) ? -1 : 2;
	else if (!strcmp(opt, "--rope-base"))
		return parse_double(&o->rope_base, opt, val) ? -1 : 2;
	else if (!strcmp(opt, "--scale-output"))
		return parse_double(&o->scale_output, opt, val) ? -1 : 2;
	else
		return -1;
	return 2;
}

static int check_shape(const struct mkmodel_opts *o)
{
	const char *why = NULL;

	if (!o->out || !o->vocab)
		why = "-o and --vocab are required";
	else if (!o->dim || !o->layers || !o->heads || !o->kv_heads || !o->ff)
		why = "sizes must be positive";
	else if (o->dim % o->heads || o->heads % o->kv_heads)
		why = "--dim must divide by --heads, and --heads by --kv-heads";
	else if (o->dim % o->type->block_elems || o->ff % o->type->block_elems)
		why = "--dim and --ff must be whole blocks of --type";
	else if (o->dim > UINT32_MAX || o->layers > UINT32_MAX ||
		 o->ff > UINT32_MAX || o->ctx > UINT32_MAX)
		why = "sizes must fit 32 bits";
	if (why)
		fprintf(stderr, "mkmodel: %s\n", why);
	return why ? -1 : 0;
}

static int parse_args(struct mkmodel_opts *o, int argc, const char **argv)
{
	o->dim = 2048;
	o->layers = 22;
	o->heads = 32;
	o->kv_heads = 4;
	o->ff = 5632;
	o->ctx = 2048;
	o->seed = 1;
	o->rope_base = 10000;
	o->scale_output = 1;
	o->name = "mbr-test";
	o->type = mbr_type_by_name("F32");
	for (int i = 1; i < argc;) {
		int used = parse_one(o, argc - i, argv + i);

		if (used < 0) {
			fprintf(stderr, "mkmodel: bad option '%s'\n%s", argv[i], usage_text);
			return -1;
		}
		i += used;
	}
	return check_shape(o);
}

/* The --set value for key, or NULL; marks it used. */
static const char *override(struct mkmodel_opts *o, const char *key)
{
	size_t len = strlen(key);

	for (int i = 0; i < o->n_sets; i++) {
		if (!strncmp(o->sets[i], key, len) && o->sets[i][len] == '=') {
			o->set_used[i] = 1;
			return o->sets[i] + len + 1;
		}
	}
	return NULL;
}

static int refuse_override(struct mkmodel_opts *o, const char *key)
{
	if (!override(o, key))
		return 0;
	fprintf(stderr, "mkmodel: --set overrides strings only; '%s' is not one\n", key);
	return -1;
}

static int add_string(struct mbr_gguf_writer *w, struct mkmodel_opts *o,
		      const char *key, const char *value)
{
	const char *v = override(o, key);

	return mbr_gguf_writer_add_kv_string(w, key, v ? v : value);
}

static int add_u32(struct mbr_gguf_writer *w, struct mkmodel_opts *o,
		   const char *key, uint64_t value)
{
	if (refuse_override(o, key))
		return -1;
	return mbr_gguf_writer_add_kv_u32(w, key, (uint32_t)value);
}

static int add_f32(struct mbr_gguf_writer *w, struct mkmodel_opts *o,
		   const char *key, double value)
{
	if (refuse_override(o, key))
		return -1;
	return mbr_gguf_writer_add_kv_f32(w, key, (float)value);
}

/* llama.cpp's llama_ftype for a model whose matrices are all of type t */
static uint32_t file_type(int t)
{
	static const struct { int type; uint32_t ftype; } map[] = {
		{ MBR_TYPE_F32, 0 }, { MBR_TYPE_F16, 1 }, { MBR_TYPE_Q4_0, 2 },
		{ MBR_TYPE_Q4_1, 3 }, { MBR_TYPE_Q8_0, 7 }, { MBR_TYPE_Q5_0, 8 },
		{ MBR_TYPE_Q5_1, 9 }, { MBR_TYPE_BF16, 32 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].type == t)
			return map[i].ftype;
	return 0;
}

static int add_model_kv(struct mbr_gguf_writer *w, struct mkmodel_opts *o,
			uint64_t n_vocab)
{
	if (add_string(w, o, "general.architecture", "llama") ||
	    add_string(w, o, "general.name", o->name) ||
	    add_u32(w, o, "llama.context_length", o->ctx) ||
	    add_u32(w, o, "llama.embedding_length", o->dim) ||
	    add_u32(w, o, "llama.block_count", o->layers) ||
	    add_u32(w, o, "llama.feed_forward_length", o->ff) ||
	    add_u32(w, o, "llama.rope.dimension_count", o->dim / o->heads) ||
	    add_u32(w, o, "llama.attention.head_count", o->heads) ||
	    add_u32(w, o, "llama.attention.head_count_kv", o->kv_heads) ||
	    add_f32(w, o, "llama.attention.layer_norm_rms_epsilon", 1e-5) ||
	    add_f32(w, o, "llama.rope.freq_base", o->rope_base) ||
	    add_u32(w, o, "llama.vocab_size", n_vocab) ||
	    add_u32(w, o, "general.file_type", file_type(o->type->type)))
		return -1;
	return 0;
}

static int copy_tokenizer(struct mbr_gguf_writer *w, struct mkmodel_opts *o,
			  const struct mbr_modelfile *vocab)
{
	for (size_t i = 0; i < vocab->n_kv; i++) {
		const struct mbr_kv *kv = &vocab->kv[i];
		int error;

		if (strncmp(kv->key, "tokenizer.", 10))
			continue;
		if (kv->type == MBR_GGUF_STRING)
			error = add_string(w, o, kv->key, kv->str);
		else
			error = refuse_override(o, kv->key) ? -1 :
				mbr_gguf_writer_copy_kv(w, vocab, kv);
		if (error)
			return -1;
	}
	return 0;
}

/* --set keys the model does not have become new string entries. */
static int add_extra_sets(struct mbr_gguf_writer *w, struct mkmodel_opts *o)
{
	for (int i = 0; i < o->n_sets; i++) {
		const char *eq = strchr(o->sets[i], '=');
		char key[256];

		if (o->set_used[i])
			continue;
		if ((size_t)(eq - o->sets[i]) >= sizeof(key)) {
			fprintf(stderr, "mkmodel: --set key too long: %s\n", o->sets[i]);
			return -1;
		}
		memcpy(key, o->sets[i], (size_t)(eq - o->sets[i]));
		key[eq - o->sets[i]] = '\0';
		if (mbr_gguf_writer_add_kv_string(w, key, eq + 1))
			return -1;
	}
	return 0;
}

static int vocab_size(uint64_t *out, const struct mbr_modelfile *vocab)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(vocab, "tokenizer.ggml.tokens");

	if (!kv || kv->type != MBR_GGUF_ARRAY || kv->elem_type != MBR_GGUF_STRING) {
		fprintf(stderr, "mkmodel: %s has no tokenizer.ggml.tokens string array\n",
			vocab->path);
		return -1;
	}
	*out = kv->count;
	return 0;
}

struct model_plan {
	struct tensor_job *jobs;
	size_t n;
};

static int plan_tensor(struct mbr_gguf_writer *w, struct model_plan *p,
		       const struct mkmodel_opts *o, const char *name,
		       int is_norm, uint64_t ne0, uint64_t ne1, float scale)
{
	struct tensor_job *job = &p->jobs[p->n];
	uint64_t ne[2] = { ne0, ne1 };
	int type = is_norm ? MBR_TYPE_F32 : o->type->type;

	job->opts = o;
	job->kernels = is_norm ? NULL : mbr_kernel_traits(type);
	job->index = p->n++;
	job->ne0 = ne0;
	job->ne1 = ne1;
	job->scale = scale;
	return mbr_gguf_writer_add_tensor_fn(w, name, type, is_norm ? 1 : 2, ne,
					     fill_tensor, job);
}

/* The tensor table, in convert_hf_to_gguf's order. */
static int plan_tensors(struct mbr_gguf_writer *w, struct model_plan *p,
			const struct mkmodel_opts *o, uint64_t n_vocab)
{
	uint64_t kv_dim = o->dim / o->heads * o->kv_heads;
	float sd = (float)(1 / sqrt((double)o->dim));
	static const struct {
		const char *name;
		int is_norm, ne0_ff, ne1;	/* ne1: 0 dim, 1 kv_dim, 2 ff */
	} layer[] = {
		{ "attn_norm", 1, 0, 0 }, { "attn_q", 0, 0, 0 },
		{ "attn_k", 0, 0, 1 }, { "attn_v", 0, 0, 1 },
		{ "attn_output", 0, 0, 0 }, { "ffn_norm", 1, 0, 0 },
		{ "ffn_gate", 0, 0, 2 }, { "ffn_up", 0, 0, 2 },
		{ "ffn_down", 0, 1, 0 },
	};
	char name[64];

	if (plan_tensor(w, p, o, "token_embd.weight", 0, o->dim, n_vocab, 1.0f))
		return -1;
	for (uint64_t l = 0; l < o->layers; l++) {
		for (size_t i = 0; i < sizeof(layer) / sizeof(layer[0]); i++) {
			uint64_t ne0 = layer[i].ne0_ff ? o->ff : o->dim;
			uint64_t ne1 = layer[i].ne1 == 1 ? kv_dim :
				       layer[i].ne1 == 2 ? o->ff : o->dim;

			snprintf(name, sizeof(name), "blk.%llu.%s.weight",
				 (unsigned long long)l, layer[i].name);
			if (plan_tensor(w, p, o, name, layer[i].is_norm, ne0,
					layer[i].is_norm ? 1 : ne1,
					layer[i].is_norm ? 0.1f :
					(float)(1 / sqrt((double)ne0))))
				return -1;
		}
	}
	if (plan_tensor(w, p, o, "output_norm.weight", 1, o->dim, 1, 0.1f))
		return -1;
	if (!o->tied && plan_tensor(w, p, o, "output.weight", 0, o->dim, n_vocab,
				    sd * (float)o->scale_output))
		return -1;
	return 0;
}

static int write_model(struct mkmodel_opts *o)
{
	struct mbr_modelfile *vocab = NULL;
	struct mbr_gguf_writer *w = NULL;
	struct model_plan plan = { 0 };
	uint64_t n_vocab = 0;
	int error = -1;

	if (mbr_modelfile_open(&vocab, o->vocab) < 0 || vocab_size(&n_vocab, vocab) ||
	    mbr_gguf_writer_new(&w, 0) < 0 || add_model_kv(w, o, n_vocab) ||
	    copy_tokenizer(w, o, vocab) || add_extra_sets(w, o))
		goto done;
	plan.jobs = calloc(3 + 9 * o->layers, sizeof(*plan.jobs));
	if (!plan.jobs) {
		mbr_error_oom();
		goto done;
	}
	if (plan_tensors(w, &plan, o, n_vocab) ||
	    mbr_gguf_writer_write_file(w, o->out) < 0)
		goto done;
	error = 0;
done:
	mbr_gguf_writer_free(w);
	mbr_modelfile_free(vocab);
	free(plan.jobs);
	return error;
}

int cmd__mkmodel(int argc, const char **argv)
{
	struct mkmodel_opts o = { 0 };
	struct stat st;
	int status = 1;

	o.sets = calloc((size_t)argc, sizeof(*o.sets));
	o.set_used = calloc((size_t)argc, sizeof(*o.set_used));
	if (!o.sets || !o.set_used) {
		fprintf(stderr, "mkmodel: out of memory\n");
	} else if (parse_args(&o, argc, argv)) {
		status = 129;
	} else if (write_model(&o)) {
		if (mbr_error_last_class() != MBR_ERROR_NONE)
			fprintf(stderr, "mkmodel: %s\n", mbr_error_last());
	} else if (stat(o.out, &st) < 0) {
		perror(o.out);
	} else {
		printf("%s %llu\n", o.out, (unsigned long long)st.st_size);
		status = 0;
	}
	free(o.sets);
	free(o.set_used);
	return status;
}
