/*
 * manifest.h - what a stored model version is made of (JSON, via jansson).
 *
 * A manifest records the source file's format and its SHA-256 and size, the
 * typed metadata (descriptive), every tensor (name, type, shape, offset,
 * size, object ids) and the layout: the ordered segments whose concatenation
 * is the file, byte for byte. The schema is specified in
 * store-format/mbrformat-manifest.adoc. Manifests live in the lineage (git);
 * being user-editable there, they are parsed as untrusted input.
 */
#ifndef MBR_MANIFEST_H
#define MBR_MANIFEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "hash.h"
#include "modelfile.h"
#include "strbuf.h"

#define MBR_MANIFEST_SCHEMA "mbr.manifest/1"

struct mbr_manifest_tensor {
	char *name;
	int type;			/* enum mbr_type */
	uint32_t n_dims;
	uint64_t ne[MBR_MAX_DIMS];	/* ggml order: ne[0] fastest */
	uint64_t offset;		/* in the source file */
	uint64_t size;			/* bytes */
	uint64_t chunk_size;		/* bytes per chunk but the last */
	struct mbr_oid *chunks;		/* ceil(size / chunk_size) ids, >= 1 */
	size_t n_chunks;
};

enum mbr_segment_kind {
	MBR_SEG_OBJECT = 1,	/* one object's bytes */
	MBR_SEG_ZEROS = 2,	/* size zero bytes, stored nowhere */
	MBR_SEG_TENSOR = 3	/* tensors[tensor]'s chunks, in order */
};

struct mbr_manifest_segment {
	int kind;
	uint64_t size;
	struct mbr_oid id;	/* OBJECT */
	size_t tensor;		/* TENSOR */
};

struct mbr_manifest {
	int format;			/* enum mbr_format */
	uint32_t format_version;
	uint64_t alignment;
	struct mbr_oid file_sha256;
	uint64_t file_size;
	char *license;			/* SPDX id, or NULL */
	json_t *metadata;		/* array of entries, owned */
	struct mbr_manifest_tensor *tensors;
	size_t n_tensors;
	struct mbr_manifest_segment *segments;
	size_t n_segments;
	/* summary */
	uint64_t n_params;
	char *architecture;		/* general.architecture, or NULL */
	char *tokenizer;		/* tokenizer.ggml.model, or NULL */
	char *model_name;		/* general.name, or NULL */
};

/* What the add pipeline stored for one region of a modelfile. */
struct mbr_region_store {
	int zeros;		/* the region is all zero bytes: no object */
	struct mbr_oid *ids;	/* one id, or one per chunk of a TENSOR */
	size_t n_ids;
	uint64_t chunk_size;	/* TENSOR only */
};

/*
 * Build a manifest for a parsed file. regions[i] describes mf->regions[i].
 * Large metadata arrays are described by count and the digest of their
 * element bytes; small ones (<= 64 elements) are listed in full.
 */
int mbr_manifest_from_modelfile(struct mbr_manifest **out,
				const struct mbr_modelfile *mf,
				const struct mbr_region_store *regions,
				const struct mbr_oid *file_sha256,
				const char *license);

/* Canonical JSON text (stable key order, one tensor per line, final '\n'). */
int mbr_manifest_write_json(struct strbuf *out, const struct mbr_manifest *m);

/* Parse and validate; what names the source in messages (e.g. "tiny~1:manifest.json"). */
int mbr_manifest_parse(struct mbr_manifest **out, const char *buf, size_t len, const char *what);

void mbr_manifest_free(struct mbr_manifest *m);

/* Every object the manifest needs (segment objects, then tensor chunks, in
 * layout order; duplicates are possible). Stops on a non-zero cb return. */
typedef int (*mbr_manifest_object_cb)(const struct mbr_oid *id, uint64_t size, void *payload);
int mbr_manifest_foreach_object(const struct mbr_manifest *m, mbr_manifest_object_cb cb, void *payload);

const struct mbr_manifest_tensor *mbr_manifest_tensor(const struct mbr_manifest *m, const char *name);
/* The metadata entry (a JSON object) for key, borrowed; NULL when absent. */
json_t *mbr_manifest_meta(const struct mbr_manifest *m, const char *key);

/* The chunk size for tensors: 1 GiB, or MBR_TEST_CHUNK_SIZE from the
 * environment (tests only). */
uint64_t mbr_chunk_size(void);

#endif
