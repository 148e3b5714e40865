/*
 * modelfile.h - read GGUF (v2, v3) and safetensors files: untrusted input.
 *
 * The parser checks every count, length, offset, dimension and type against
 * the file size and against overflow, and fails with MBR_ECORRUPT (or
 * MBR_EUNSUPPORTED for a valid file mbr cannot store, like an unknown tensor
 * type) and a last error that names the file and the problem.
 *
 * Besides the typed metadata and tensor table, the parse yields `regions`:
 * an ordered list of byte ranges that tile the whole file [0, size) with no
 * gap and no overlap. The store keeps each region as its own object (or as a
 * run of zeros), so exporting the concatenation of the regions reproduces
 * the file byte for byte, and a change to one metadata value only changes
 * the small header region around it.
 */
#ifndef MBR_MODELFILE_H
#define MBR_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#define MBR_MAX_DIMS 8		/* GGUF allows 4; safetensors is capped here */

enum mbr_format { MBR_FORMAT_GGUF = 1, MBR_FORMAT_SAFETENSORS = 2 };

/* GGUF metadata value types (gguf.md). */
enum mbr_gguf_type {
	MBR_GGUF_UINT8 = 0, MBR_GGUF_INT8 = 1, MBR_GGUF_UINT16 = 2,
	MBR_GGUF_INT16 = 3, MBR_GGUF_UINT32 = 4, MBR_GGUF_INT32 = 5,
	MBR_GGUF_FLOAT32 = 6, MBR_GGUF_BOOL = 7, MBR_GGUF_STRING = 8,
	MBR_GGUF_ARRAY = 9, MBR_GGUF_UINT64 = 10, MBR_GGUF_INT64 = 11,
	MBR_GGUF_FLOAT64 = 12
};

/*
 * One metadata entry. For GGUF, type is an mbr_gguf_type. For safetensors
 * the "__metadata__" map's entries appear here as MBR_GGUF_STRING values.
 * Strings are copies, NUL-terminated, but may hold NUL bytes (use *_len).
 */
struct mbr_kv {
	char *key;
	size_t key_len;
	int type;
	union {
		uint64_t u;	/* UINT8..UINT64, BOOL (0/1) */
		int64_t i;	/* INT8..INT64 */
		double f;	/* FLOAT32 (exactly widened), FLOAT64 */
	} v;
	char *str;		/* STRING */
	size_t str_len;
	/* ARRAY: element type and count; values are not copied. */
	int elem_type;
	uint64_t count;
	/* Where this entry's value bytes lie in the file: for an ARRAY, the
	 * element data after its type and count; for a STRING its bytes after
	 * the length; for scalars the value itself. Safetensors metadata
	 * has no tracked position: both are 0. */
	uint64_t value_offset;
	uint64_t value_len;
};

struct mbr_tensor_info {
	char *name;
	int type;			/* enum mbr_type */
	uint32_t n_dims;
	uint64_t ne[MBR_MAX_DIMS];	/* ne[0] fastest-varying (ggml order) */
	uint64_t offset;		/* absolute offset of the data in the file */
	uint64_t size;			/* bytes */
	uint64_t info_offset;		/* GGUF: where its tensor info starts (for tools) */
};

enum mbr_region_kind {
	MBR_REGION_HEADER = 1,	/* header bytes kept as an object */
	MBR_REGION_ARRAY = 2,	/* a large metadata array's element bytes */
	MBR_REGION_PADDING = 3,	/* bytes between/after tensors (often zero) */
	MBR_REGION_TENSOR = 4	/* one tensor's data */
};

struct mbr_region {
	uint64_t offset;
	uint64_t len;
	int kind;		/* enum mbr_region_kind */
	size_t index;		/* TENSOR: index into tensors; ARRAY: into kv */
};

/* An ARRAY whose element bytes are at least this long gets its own region. */
#define MBR_ARRAY_REGION_MIN 4096

struct mbr_modelfile {
	char *path;			/* as given, for messages */
	int format;			/* enum mbr_format */
	uint32_t version;		/* GGUF version; 0 for safetensors */
	uint64_t alignment;		/* GGUF general.alignment (32 default); 1 for safetensors */
	uint64_t data_offset;		/* start of tensor data (<= size) */
	const unsigned char *data;	/* the whole file (mmapped or borrowed) */
	uint64_t size;			/* of the file */
	uint64_t data_len;		/* bytes at data: size, or less for a header parse */
	struct mbr_kv *kv;
	size_t n_kv;
	struct mbr_tensor_info *tensors;	/* in the file's table order */
	size_t n_tensors;
	struct mbr_region *regions;
	size_t n_regions;
	int mapped;			/* internal: data is our mmap */
};

/* mmap PATH read-only and parse it; the format is detected from the magic. */
int mbr_modelfile_open(struct mbr_modelfile **out, const char *path);
/* Parse a buffer the caller keeps alive; name is used in messages. */
int mbr_modelfile_parse(struct mbr_modelfile **out, const void *data,
			uint64_t size, const char *name);
/*
 * Parse only the leading len bytes of a file of the given size: its
 * header, metadata and tensor table (tensor extents are checked against
 * size). For stored versions, whose tensors live in separate objects.
 */
int mbr_modelfile_parse_header(struct mbr_modelfile **out, const void *data,
			       uint64_t len, uint64_t size, const char *name);
void mbr_modelfile_free(struct mbr_modelfile *mf);

/* Borrowed; NULL when absent. */
const struct mbr_kv *mbr_modelfile_kv(const struct mbr_modelfile *mf, const char *key);
const struct mbr_tensor_info *mbr_modelfile_tensor(const struct mbr_modelfile *mf, const char *name);
const char *mbr_gguf_type_name(int gguf_type);

/*
 * An integer entry's value, whatever its width and signedness; values
 * above INT64_MAX come back as -1 (callers range-check anyway). Returns 0,
 * or MBR_EINVALID when the entry is not an integer.
 */
int mbr_kv_int(int64_t *out, const struct mbr_kv *kv);	/* "uint32", "string", ...; NULL when unknown */

#endif
