/*
 * modelfile.c - open a model file, detect its format, check what GGUF and
 * safetensors have in common and lay out the regions (see modelfile.h).
 *
 * The format parsers only read header bytes, so opening a 1 GB file costs
 * the page faults of its header, not a read of the whole file.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mbr/error.h"
#include "mbr/modelfile.h"
#include "modelfile-internal.h"

/*
 * Open-addressing hash sets from names to entry indices, so that duplicate
 * detection and lookups stay linear in the number of entries. A slot holds
 * index + 1; 0 marks it empty.
 */
struct name_index {
	size_t *slots;
	size_t mask;
};

/* The public struct plus its lookup indices; callers only see `pub`. */
struct modelfile {
	struct mbr_modelfile pub;
	struct name_index kv_index;
	struct name_index tensor_index;
};

int mbr_modelfile__error(const struct mbr_modelfile *mf, int code,
			 const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mbr_error_set(MBR_ERROR_FORMAT, "%s: %s", mf->path, msg);
	return code;
}

char *mbr_modelfile__strndup(const void *bytes, size_t len)
{
	char *s = malloc(len + 1);

	if (s) {
		memcpy(s, bytes, len);
		s[len] = '\0';
	}
	return s;
}

static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (len--)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static void kv_name(const struct mbr_modelfile *mf, size_t i,
		    const char **s, size_t *len)
{
	*s = mf->kv[i].key;
	*len = mf->kv[i].key_len;
}

static void tensor_name(const struct mbr_modelfile *mf, size_t i,
			const char **s, size_t *len)
{
	*s = mf->tensors[i].name;
	*len = strlen(*s);
}

typedef void (*name_fn)(const struct mbr_modelfile *, size_t,
			const char **, size_t *);

/* The slot holding name, or the empty slot where it would go. */
static size_t *index_slot(const struct name_index *ix,
			  const struct mbr_modelfile *mf, name_fn name_of,
			  const char *s, size_t len)
{
	size_t i = name_hash(s, len) & ix->mask;

	for (;; i = (i + 1) & ix->mask) {
		const char *other;
		size_t other_len;

		if (!ix->slots[i])
			return &ix->slots[i];
		name_of(mf, ix->slots[i] - 1, &other, &other_len);
		if (other_len == len && !memcmp(other, s, len))
			return &ix->slots[i];
	}
}

/* Index n entries; fails naming the first entry that repeats a name. */
static int index_build(struct name_index *ix, struct mbr_modelfile *mf,
		       size_t n, name_fn name_of, const char *what)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	ix->slots = calloc(cap, sizeof(*ix->slots));
	MBR_CHECK_ALLOC(ix->slots);
	ix->mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		const char *s;
		size_t len, *slot;

		name_of(mf, i, &s, &len);
		slot = index_slot(ix, mf, name_of, s, len);
		if (*slot)
			return mbr_modelfile__error(mf, MBR_ECORRUPT,
				"duplicate %s '%s' (entries %zu and %zu)",
				what, s, *slot - 1, i);
		*slot = i + 1;
	}
	return 0;
}

static const void *index_find(const struct name_index *ix,
			      const struct mbr_modelfile *mf, name_fn name_of,
			      const void *entries, size_t entry_size,
			      const char *s)
{
	size_t *slot;

	if (!ix->slots)
		return NULL;
	slot = index_slot(ix, mf, name_of, s, strlen(s));
	if (!*slot)
		return NULL;
	return (const char *)entries + (*slot - 1) * entry_size;
}

struct span {
	uint64_t offset, size;
	size_t tensor;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return 0;
}

/* The tensors' data ranges in file order, each checked against the end. */
static int sorted_spans(struct span **out, struct mbr_modelfile *mf)
{
	struct span *spans;

	*out = NULL;
	if (!mf->n_tensors)
		return 0;
	spans = calloc(mf->n_tensors, sizeof(*spans));
	MBR_CHECK_ALLOC(spans);
	for (size_t i = 0; i < mf->n_tensors; i++) {
		const struct mbr_tensor_info *t = &mf->tensors[i];
		uint64_t end;

		if (MBR_ADD_OVERFLOW(&end, t->offset, t->size) ||
		    end > mf->size) {
			free(spans);
			return mbr_modelfile__error(mf, MBR_ECORRUPT,
				"tensor '%s' data [%llu, %llu) runs past the end of the file (size %llu)",
				t->name, (unsigned long long)t->offset,
				(unsigned long long)t->offset + t->size,
				(unsigned long long)mf->size);
		}
		spans[i] = (struct span){ t->offset, t->size, i };
	}
	qsort(spans, mf->n_tensors, sizeof(*spans), span_cmp);
	*out = spans;
	return 0;
}

static void add_region(struct mbr_modelfile *mf, uint64_t *pos, uint64_t end,
		       int kind, size_t index)
{
	/* an empty tensor keeps its (empty) region: every tensor has one */
	if (end > *pos || kind == MBR_REGION_TENSOR)
		mf->regions[mf->n_regions++] = (struct mbr_region){
			*pos, end - *pos, kind, index };
	*pos = end;
}

/*
 * Header regions up to header_end (large arrays cut out of them), then the
 * tensors in file order with the gaps between them as padding.
 */
static int layout_regions(struct mbr_modelfile *mf, uint64_t header_end)
{
	struct span *spans;
	uint64_t pos = 0;
	size_t max = 2 * mf->n_kv + 2 * mf->n_tensors + 2;
	int err;

	if ((err = sorted_spans(&spans, mf)) < 0)
		return err;
	mf->regions = calloc(max, sizeof(*mf->regions));
	if (!mf->regions) {
		free(spans);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	for (size_t i = 0; i < mf->n_kv; i++) {
		const struct mbr_kv *kv = &mf->kv[i];

		if (kv->type != MBR_GGUF_ARRAY ||
		    kv->value_len < MBR_ARRAY_REGION_MIN)
			continue;
		add_region(mf, &pos, kv->value_offset, MBR_REGION_HEADER, 0);
		add_region(mf, &pos, kv->value_offset + kv->value_len,
			   MBR_REGION_ARRAY, i);
	}
	add_region(mf, &pos, header_end, MBR_REGION_HEADER, 0);
	for (size_t i = 0; i < mf->n_tensors; i++) {
		const struct span *s = &spans[i];

		if (s->offset < pos) {
			const struct span *prev;

			/* Parsers place data after the header, so i > 0. */
			assert(i > 0);
			prev = &spans[i - 1];

			err = mbr_modelfile__error(mf, MBR_ECORRUPT,
				"tensor '%s' data [%llu, %llu) overlaps tensor '%s' [%llu, %llu)",
				mf->tensors[s->tensor].name,
				(unsigned long long)s->offset,
				(unsigned long long)(s->offset + s->size),
				mf->tensors[prev->tensor].name,
				(unsigned long long)prev->offset,
				(unsigned long long)pos);
			break;
		}
		add_region(mf, &pos, s->offset, MBR_REGION_PADDING, 0);
		add_region(mf, &pos, s->offset + s->size, MBR_REGION_TENSOR,
			   s->tensor);
	}
	if (!err)
		add_region(mf, &pos, mf->size, MBR_REGION_PADDING, 0);
	free(spans);
	return err;
}

static int detect_and_parse(struct mbr_modelfile *mf, uint64_t *header_end)
{
	const unsigned char *p = mf->data;

	if (!mf->data_len)
		return mbr_modelfile__error(mf, MBR_ECORRUPT, "empty file");
	if (mf->data_len >= 4 && !memcmp(p, "GGUF", 4)) {
		mf->format = MBR_FORMAT_GGUF;
		return mbr_gguf__parse(mf, header_end);
	}
	/* safetensors: a u64 header size, then the JSON object's '{' */
	if (mf->data_len >= 9 && p[8] == '{') {
		mf->format = MBR_FORMAT_SAFETENSORS;
		return mbr_safetensors__parse(mf, header_end);
	}
	return mbr_modelfile__error(mf, MBR_ECORRUPT,
		"not a GGUF or safetensors file (bad magic)");
}

int mbr_modelfile_parse(struct mbr_modelfile **out, const void *data,
			uint64_t size, const char *name)
{
	return mbr_modelfile_parse_header(out, data, size, size, name);
}

int mbr_modelfile_parse_header(struct mbr_modelfile **out, const void *data,
			       uint64_t len, uint64_t size, const char *name)
{
	struct modelfile *m;
	struct mbr_modelfile *mf;
	uint64_t header_end = 0;
	int err;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	MBR_CHECK_ALLOC(m);
	mf = &m->pub;
	mf->path = strdup(name ? name : "(buffer)");
	if (!mf->path) {
		free(m);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	mf->data = data;
	mf->size = size;
	mf->data_len = len <= size ? len : size;
	if ((err = detect_and_parse(mf, &header_end)) < 0 ||
	    (err = index_build(&m->kv_index, mf, mf->n_kv, kv_name,
			       "metadata key")) < 0 ||
	    (err = index_build(&m->tensor_index, mf, mf->n_tensors,
			       tensor_name, "tensor name")) < 0 ||
	    (err = layout_regions(mf, header_end)) < 0) {
		mbr_modelfile_free(mf);
		return err;
	}
	*out = mf;
	return 0;
}

static int map_file(void **map, uint64_t *size, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		mbr_error_set_os("cannot open '%s'", path);
		return errno == ENOENT ? MBR_ENOTFOUND : MBR_EIO;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return mbr_error_set_os("cannot stat '%s'", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		mbr_error_set(MBR_ERROR_INVALID, "%s: not a regular file", path);
		return MBR_EINVALID;
	}
	if (st.st_size == 0) {
		close(fd);
		mbr_error_set(MBR_ERROR_FORMAT, "%s: empty file", path);
		return MBR_ECORRUPT;
	}
	*map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*map == MAP_FAILED) {
		close(fd);
		return mbr_error_set_os("cannot map '%s'", path);
	}
	close(fd);
	*size = st.st_size;
	/* The usual next step hashes the regions front to back. */
	madvise(*map, *size, MADV_SEQUENTIAL);
	return 0;
}

int mbr_modelfile_open(struct mbr_modelfile **out, const char *path)
{
	void *map = NULL;
	uint64_t size = 0;
	int err;

	*out = NULL;
	if ((err = map_file(&map, &size, path)) < 0)
		return err;
	if ((err = mbr_modelfile_parse(out, map, size, path)) < 0) {
		munmap(map, size);
		return err;
	}
	(*out)->mapped = 1;
	return 0;
}

void mbr_modelfile_free(struct mbr_modelfile *mf)
{
	struct modelfile *m = (struct modelfile *)mf;

	if (!mf)
		return;
	for (size_t i = 0; i < mf->n_kv; i++) {
		free(mf->kv[i].key);
		free(mf->kv[i].str);
	}
	for (size_t i = 0; i < mf->n_tensors; i++)
		free(mf->tensors[i].name);
	free(mf->kv);
	free(mf->tensors);
	free(mf->regions);
	free(m->kv_index.slots);
	free(m->tensor_index.slots);
	if (mf->mapped)
		munmap((void *)mf->data, mf->size);
	free(mf->path);
	free(m);
}

const struct mbr_kv *mbr_modelfile_kv(const struct mbr_modelfile *mf,
				      const char *key)
{
	const struct modelfile *m = (const struct modelfile *)mf;

	return index_find(&m->kv_index, mf, kv_name, mf->kv,
			  sizeof(*mf->kv), key);
}

const struct mbr_tensor_info *mbr_modelfile_tensor(
	const struct mbr_modelfile *mf, const char *name)
{
	const struct modelfile *m = (const struct modelfile *)mf;

	return index_find(&m->tensor_index, mf, tensor_name, mf->tensors,
			  sizeof(*mf->tensors), name);
}

const char *mbr_gguf_type_name(int gguf_type)
{
	static const char *const names[] = {
		"uint8", "int8", "uint16", "int16", "uint32", "int32",
		"float32", "bool", "string", "array", "uint64", "int64",
		"float64"
	};

	if (gguf_type < 0 || gguf_type >= (int)MBR_ARRAY_SIZE(names))
		return NULL;
	return names[gguf_type];
}

int mbr_kv_int(int64_t *out, const struct mbr_kv *kv)
{
	switch (kv->type) {
	case MBR_GGUF_UINT8: case MBR_GGUF_UINT16: case MBR_GGUF_UINT32:
	case MBR_GGUF_UINT64:
		*out = kv->v.u > INT64_MAX ? -1 : (int64_t)kv->v.u;
		return 0;
	case MBR_GGUF_INT8: case MBR_GGUF_INT16: case MBR_GGUF_INT32:
	case MBR_GGUF_INT64:
		*out = kv->v.i;
		return 0;
	default:
		return MBR_EINVALID;
	}
}
