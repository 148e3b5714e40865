/*
 * gguf-write.h - write GGUF v3 files.
 *
 * Metadata and the tensor table are added in file order, then
 * mbr_gguf_writer_write_file() lays the file out: header, metadata, tensor
 * infos, zero padding to the alignment, then each tensor's data, each
 * starting on an alignment boundary. The file is written to a temporary
 * name in the destination's directory, fsynced and renamed into place, so
 * a reader sees the old file or the whole new one.
 *
 *	struct mbr_gguf_writer *w;
 *	mbr_gguf_writer_new(&w, 0);
 *	mbr_gguf_writer_add_kv_string(w, "general.architecture", "llama");
 *	mbr_gguf_writer_add_tensor(w, "output_norm.weight", MBR_TYPE_F32,
 *				   1, ne, data, size);
 *	mbr_gguf_writer_write_file(w, "out.gguf");
 *	mbr_gguf_writer_free(w);
 *
 * Keys and tensor names must be unique (MBR_EEXISTS otherwise); tensor
 * names are at most 63 bytes and have 1..4 dimensions, as ggml requires.
 */
#ifndef MBR_GGUF_WRITE_H
#define MBR_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "modelfile.h"

#define MBR_GGUF_DEFAULT_ALIGNMENT 32
#define MBR_GGUF_MAX_NAME 63
#define MBR_GGUF_MAX_DIMS 4

struct mbr_gguf_writer;

/*
 * alignment 0 (or 32) means GGUF's default of 32 and no key. Any other
 * power of two is used and recorded as a general.alignment entry added
 * here, as the first key. Adding a general.alignment (a uint32 power of
 * two) later sets the alignment too, as a reader would take it.
 */
int mbr_gguf_writer_new(struct mbr_gguf_writer **out, uint32_t alignment);
void mbr_gguf_writer_free(struct mbr_gguf_writer *w);

int mbr_gguf_writer_add_kv_u8(struct mbr_gguf_writer *w, const char *key, uint8_t v);
int mbr_gguf_writer_add_kv_i8(struct mbr_gguf_writer *w, const char *key, int8_t v);
int mbr_gguf_writer_add_kv_u16(struct mbr_gguf_writer *w, const char *key, uint16_t v);
int mbr_gguf_writer_add_kv_i16(struct mbr_gguf_writer *w, const char *key, int16_t v);
int mbr_gguf_writer_add_kv_u32(struct mbr_gguf_writer *w, const char *key, uint32_t v);
int mbr_gguf_writer_add_kv_i32(struct mbr_gguf_writer *w, const char *key, int32_t v);
int mbr_gguf_writer_add_kv_f32(struct mbr_gguf_writer *w, const char *key, float v);
int mbr_gguf_writer_add_kv_u64(struct mbr_gguf_writer *w, const char *key, uint64_t v);
int mbr_gguf_writer_add_kv_i64(struct mbr_gguf_writer *w, const char *key, int64_t v);
int mbr_gguf_writer_add_kv_f64(struct mbr_gguf_writer *w, const char *key, double v);
int mbr_gguf_writer_add_kv_bool(struct mbr_gguf_writer *w, const char *key, int v);
int mbr_gguf_writer_add_kv_string(struct mbr_gguf_writer *w, const char *key,
				  const char *v);
/* A string that may hold NUL bytes. */
int mbr_gguf_writer_add_kv_string_len(struct mbr_gguf_writer *w, const char *key,
				      const void *v, size_t len);

/*
 * An array given as its raw GGUF element bytes (little-endian values, or
 * for strings a u64 length then the bytes, per element), copied now. The
 * bytes are checked to hold exactly count elements of elem_type; arrays of
 * arrays are MBR_EUNSUPPORTED.
 */
int mbr_gguf_writer_add_kv_array(struct mbr_gguf_writer *w, const char *key,
				 int elem_type, uint64_t count,
				 const void *raw, size_t len);

/* Copy one entry of a parsed GGUF file (value bytes from mf->data). */
int mbr_gguf_writer_copy_kv(struct mbr_gguf_writer *w,
			    const struct mbr_modelfile *mf,
			    const struct mbr_kv *kv);

/*
 * A tensor (type is an enum mbr_type, ne in ggml order) whose bytes are
 * borrowed: data must stay valid until the file is written. size must be
 * what the type and shape need (MBR_EINVALID otherwise).
 */
int mbr_gguf_writer_add_tensor(struct mbr_gguf_writer *w, const char *name,
			       int type, uint32_t n_dims, const uint64_t *ne,
			       const void *data, uint64_t size);

/*
 * A tensor produced while the file is written, so a writer of big models
 * never holds them whole: fill is called once, in table order, with a
 * buffer of the tensor's size to fill. A non-zero return aborts the write
 * and is returned by mbr_gguf_writer_write_file().
 */
typedef int (*mbr_gguf_fill_fn)(void *payload, void *buf, uint64_t size);
int mbr_gguf_writer_add_tensor_fn(struct mbr_gguf_writer *w, const char *name,
				  int type, uint32_t n_dims, const uint64_t *ne,
				  mbr_gguf_fill_fn fill, void *payload);

/*
 * Report the tensors' data as it is written: progress->fn(payload, size
 * of the tensor, total size of all of them) after each, in table order.
 * The struct is copied; NULL reports nothing.
 */
void mbr_gguf_writer_set_progress(struct mbr_gguf_writer *w,
				  const struct mbr_progress *progress);

/* Write everything to path, atomically (see above). */
int mbr_gguf_writer_write_file(struct mbr_gguf_writer *w, const char *path);

#endif
