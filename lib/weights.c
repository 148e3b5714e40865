/*
 * weights.c - tensor bytes for the engine, from a file or a stored version.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/store.h"
#include "mbr/weights.h"

struct weights_priv {
	unsigned char *header;		/* version: the header bytes parsed */
	struct mbr_object **objects;	/* version: one per tensor (NULL if joined) */
	void **joined;			/* version: buffers of chunked tensors */
	char *name;
};

/*
 * Ask for 2 MiB pages under weights the engine reads over and over (best
 * effort: the kernel may have no transparent huge pages, the file system
 * no large folios). Pages of a file read in while so advised are cached
 * as 2 MiB folios and mapped by one page-table entry each instead of 512:
 * fewer TLB misses anywhere, and far fewer faults on a VM whose
 * hypervisor drops the mappings of guest pages now and then (the
 * benchmark VM's; there, one read per 4 KiB over TinyLlama's F16 file
 * took 0.3-0.7 s a pass in 4 KiB folios and 0.01-0.03 s in 2 MiB ones).
 * Pages the cache already holds keep their size.
 */
static void advise_huge(const void *data, size_t size)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t start = ((uintptr_t)data + huge - 1) & ~(huge - 1);
	uintptr_t end = ((uintptr_t)data + size) & ~(huge - 1);

#ifdef MADV_HUGEPAGE
	if (start < end)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
#endif
}

static int weights_alloc(struct mbr_weights **out, const char *name)
{
	struct mbr_weights *w = calloc(1, sizeof(*w));
	struct weights_priv *p = calloc(1, sizeof(*p));

	if (!w || !p || !(p->name = strdup(name))) {
		free(w);
		free(p);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	w->priv = p;
	w->name = p->name;
	*out = w;
	return 0;
}

static int alloc_tables(struct mbr_weights *w, int with_objects)
{
	struct weights_priv *p = w->priv;
	size_t n = w->mf->n_tensors ? w->mf->n_tensors : 1;

	w->data = calloc(n, sizeof(*w->data));
	MBR_CHECK_ALLOC(w->data);
	if (with_objects) {
		p->objects = calloc(n, sizeof(*p->objects));
		p->joined = calloc(n, sizeof(*p->joined));
		MBR_CHECK_ALLOC(p->objects);
		MBR_CHECK_ALLOC(p->joined);
	}
	return 0;
}

int mbr_weights_open_file(struct mbr_weights **out, const char *path)
{
	struct mbr_weights *w;
	int err;

	*out = NULL;
	if ((err = weights_alloc(&w, path)))
		return err;
	if (!(err = mbr_modelfile_open(&w->mf, path)) && !(err = alloc_tables(w, 0))) {
		/*
		 * The map comes advised for one pass front to back (what
		 * hashing wants); a model reads its weights over and over, and
		 * MADV_SEQUENTIAL would have the kernel drop them first under
		 * memory pressure (and on the benchmark VM, F16 pp64 right
		 * after llama-bench averaged 0.93x of it advised so, 1.00x
		 * not, over 8 pairs of runs that scatter by +-0.1 each).
		 */
		madvise((void *)w->mf->data, w->mf->size, MADV_NORMAL);
		advise_huge(w->mf->data, w->mf->size);
		for (size_t i = 0; i < w->mf->n_tensors; i++)
			w->data[i] = w->mf->data + w->mf->tensors[i].offset;
	}
	if (err) {
		mbr_weights_free(w);
		return err;
	}
	*out = w;
	return 0;
}

/* The bytes before the first tensor: header, metadata arrays, tensor table. */
static int read_header(struct strbuf *out, struct mbr_repo *repo, const struct mbr_manifest *m)
{
	static const unsigned char zeros[4096];
	int err = 0;

	for (size_t i = 0; i < m->n_segments && !err; i++) {
		const struct mbr_manifest_segment *s = &m->segments[i];
		struct mbr_object *obj = NULL;

		if (s->kind == MBR_SEG_TENSOR)
			break;
		if (s->kind == MBR_SEG_ZEROS) {
			for (uint64_t left = s->size; left; ) {
				uint64_t n = left < sizeof(zeros) ? left : sizeof(zeros);

				strbuf_add(out, zeros, n);
				left -= n;
			}
			continue;
		}
		if (!(err = mbr_odb_read(&obj, repo->odb, &s->id)))
			strbuf_add(out, obj->data, obj->size);
		mbr_object_free(obj);
	}
	return err;
}

/* Point data[i] at tensor i's object, joining chunks when there are several. */
static int bind_tensor(struct mbr_weights *w, struct mbr_repo *repo,
		       const struct mbr_manifest *m, size_t i)
{
	struct weights_priv *p = w->priv;
	const struct mbr_tensor_info *t = &w->mf->tensors[i];
	const struct mbr_manifest_tensor *mt = mbr_manifest_tensor(m, t->name);
	unsigned char *buf;
	int err;

	if (!mt || mt->size != t->size) {
		mbr_error_set(MBR_ERROR_MANIFEST, "%s: tensor '%s' does not match the manifest",
			      w->name, t->name);
		return MBR_ECORRUPT;
	}
	if (mt->n_chunks == 1) {
		if ((err = mbr_odb_read(&p->objects[i], repo->odb, &mt->chunks[0])))
			return err;
		w->data[i] = p->objects[i]->data;
		advise_huge(w->data[i], mt->size);
		return 0;
	}
	buf = p->joined[i] = malloc(mt->size ? mt->size : 1);
	MBR_CHECK_ALLOC(buf);
	for (size_t c = 0; c < mt->n_chunks; c++) {
		struct mbr_object *obj = NULL;
		uint64_t off = c * mt->chunk_size;

		if ((err = mbr_odb_read(&obj, repo->odb, &mt->chunks[c])))
			return err;
		if (obj->size != (mt->size - off < mt->chunk_size ? mt->size - off : mt->chunk_size)) {
			mbr_object_free(obj);
			mbr_error_set(MBR_ERROR_ODB, "%s: a chunk of tensor '%s' has the wrong size",
				      w->name, t->name);
			return MBR_ECORRUPT;
		}
		memcpy(buf + off, obj->data, obj->size);
		mbr_object_free(obj);
	}
	w->data[i] = buf;
	return 0;
}

int mbr_weights_open_version(struct mbr_weights **out, struct mbr_repo *repo, const char *rev)
{
	struct mbr_version *v = NULL;
	struct mbr_weights *w = NULL;
	struct weights_priv *p;
	struct strbuf header = STRBUF_INIT;
	size_t len;
	int err;

	*out = NULL;
	if ((err = mbr_version_load(&v, repo, rev)) || (err = weights_alloc(&w, rev)) ||
	    (err = read_header(&header, repo, v->manifest)))
		goto done;
	p = w->priv;
	p->header = (unsigned char *)strbuf_detach(&header, &len);
	err = mbr_modelfile_parse_header(&w->mf, p->header, len, v->manifest->file_size, rev);
	if (!err)
		err = alloc_tables(w, 1);
	for (size_t i = 0; !err && i < w->mf->n_tensors; i++)
		err = bind_tensor(w, repo, v->manifest, i);
done:
	strbuf_release(&header);
	mbr_version_free(v);
	if (err) {
		mbr_weights_free(w);
		return err;
	}
	*out = w;
	return 0;
}

void mbr_weights_free(struct mbr_weights *w)
{
	struct weights_priv *p;

	if (!w)
		return;
	p = w->priv;
	for (size_t i = 0; w->mf && p->objects && i < w->mf->n_tensors; i++) {
		mbr_object_free(p->objects[i]);
		free(p->joined[i]);
	}
	mbr_modelfile_free(w->mf);
	free(p->objects);
	free(p->joined);
	free(p->header);
	free(p->name);
	free(p);
	free(w->data);
	free(w);
}

const void *mbr_weights_tensor(const struct mbr_weights *w, const char *name,
			       const struct mbr_tensor_info **info)
{
	const struct mbr_tensor_info *t = mbr_modelfile_tensor(w->mf, name);

	if (info)
		*info = t;
	return t ? w->data[t - w->mf->tensors] : NULL;
}
