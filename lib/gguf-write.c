/*
 * gguf-write.c - write GGUF v3 files (see gguf-write.h).
 *
 * Metadata entries are serialized as they are added, into one growing
 * buffer; tensors are only recorded. Offsets are worked out at write time,
 * when the alignment is final.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mbr/error.h"
#include "mbr/gguf-write.h"
#include "mbr/strbuf.h"
#include "mbr/types.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF writer copies values as they lie in memory: little-endian only"
#endif

#define GGUF_MAGIC "GGUF"
#define GGUF_VERSION 3

struct bytes {
	unsigned char *p;
	size_t len, alloc;
};

struct wtensor {
	char *name;
	int type;
	uint32_t n_dims;
	uint64_t ne[MBR_GGUF_MAX_DIMS];
	uint64_t size;
	const void *data;		/* borrowed, or NULL when fill is used */
	mbr_gguf_fill_fn fill;
	void *payload;
};

struct mbr_gguf_writer {
	uint32_t alignment;
	struct bytes kv;		/* serialized entries, in order */
	char **keys;			/* for the uniqueness check */
	size_t n_kv, keys_alloc;
	struct wtensor *tensors;
	size_t n_tensors, tensors_alloc;
	struct mbr_progress progress;
};

/* Element sizes of the fixed-size GGUF value types; 0 for string/array. */
static const uint8_t value_size[] = {
	[MBR_GGUF_UINT8] = 1, [MBR_GGUF_INT8] = 1, [MBR_GGUF_UINT16] = 2,
	[MBR_GGUF_INT16] = 2, [MBR_GGUF_UINT32] = 4, [MBR_GGUF_INT32] = 4,
	[MBR_GGUF_FLOAT32] = 4, [MBR_GGUF_BOOL] = 1, [MBR_GGUF_STRING] = 0,
	[MBR_GGUF_ARRAY] = 0, [MBR_GGUF_UINT64] = 8, [MBR_GGUF_INT64] = 8,
	[MBR_GGUF_FLOAT64] = 8
};

static int is_fixed_type(int type)
{
	return type >= 0 && (size_t)type < MBR_ARRAY_SIZE(value_size) &&
	       value_size[type];
}

static int bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (!len)		/* data may be NULL then, which memcpy forbids */
		return 0;
	if (b->alloc - b->len < len) {
		size_t want = b->alloc ? b->alloc : 4096;
		unsigned char *p;

		while (want - b->len < len) {
			if (MBR_MUL_OVERFLOW(&want, want, 2))
				return mbr_error_set(MBR_ERROR_NOMEMORY,
					"GGUF header too large"), MBR_ENOMEM;
		}
		p = realloc(b->p, want);
		MBR_CHECK_ALLOC(p);
		b->p = p;
		b->alloc = want;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static int bytes_add_u32(struct bytes *b, uint32_t v)
{
	return bytes_add(b, &v, sizeof(v));
}

static int bytes_add_u64(struct bytes *b, uint64_t v)
{
	return bytes_add(b, &v, sizeof(v));
}

/* A GGUF string: u64 length, then the bytes. */
static int bytes_add_str(struct bytes *b, const void *s, size_t len)
{
	int error = bytes_add_u64(b, len);

	return error ? error : bytes_add(b, s, len);
}

static uint64_t align_up(uint64_t v, uint64_t alignment)
{
	return (v + alignment - 1) / alignment * alignment;
}

int mbr_gguf_writer_new(struct mbr_gguf_writer **out, uint32_t alignment)
{
	struct mbr_gguf_writer *w = calloc(1, sizeof(*w));
	int error;

	*out = NULL;
	MBR_CHECK_ALLOC(w);
	w->alignment = MBR_GGUF_DEFAULT_ALIGNMENT;
	if (alignment && alignment != MBR_GGUF_DEFAULT_ALIGNMENT &&
	    (error = mbr_gguf_writer_add_kv_u32(w, "general.alignment", alignment)) < 0) {
		mbr_gguf_writer_free(w);
		return error;
	}
	*out = w;
	return 0;
}

void mbr_gguf_writer_free(struct mbr_gguf_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_kv; i++)
		free(w->keys[i]);
	for (size_t i = 0; i < w->n_tensors; i++)
		free(w->tensors[i].name);
	free(w->keys);
	free(w->tensors);
	free(w->kv.p);
	free(w);
}

static int claim_key(struct mbr_gguf_writer *w, const char *key)
{
	char *copy;

	if (!*key)
		return mbr_error_set(MBR_ERROR_INVALID, "GGUF key is empty"),
		       MBR_EINVALID;
	for (size_t i = 0; i < w->n_kv; i++)
		if (!strcmp(w->keys[i], key))
			return mbr_error_set(MBR_ERROR_INVALID,
				"GGUF key '%s' added twice", key), MBR_EEXISTS;
	if (w->n_kv == w->keys_alloc) {
		size_t n = w->keys_alloc ? 2 * w->keys_alloc : 32;
		char **keys = realloc(w->keys, n * sizeof(*keys));

		MBR_CHECK_ALLOC(keys);
		w->keys = keys;
		w->keys_alloc = n;
	}
	copy = strdup(key);
	MBR_CHECK_ALLOC(copy);
	w->keys[w->n_kv++] = copy;
	return 0;
}

/* general.alignment decides the layout, so it must be usable as one. */
static int check_alignment_key(int type, const void *value, uint32_t *alignment)
{
	if (type != MBR_GGUF_UINT32)
		return mbr_error_set(MBR_ERROR_INVALID,
			"general.alignment must be a uint32"), MBR_EINVALID;
	memcpy(alignment, value, sizeof(*alignment));
	if (!*alignment || (*alignment & (*alignment - 1)))
		return mbr_error_set(MBR_ERROR_INVALID,
			"general.alignment %u is not a power of two", *alignment),
		       MBR_EINVALID;
	return 0;
}

/*
 * Append one entry: key, type, then head (a string length, or an array's
 * element type and count) and the value bytes. On failure the buffer is
 * cut back, so a failed add leaves the writer as it was.
 */
static int add_entry(struct mbr_gguf_writer *w, const char *key, int type,
		     const void *head, size_t head_len,
		     const void *value, size_t len)
{
	int is_alignment = !strcmp(key, "general.alignment");
	uint32_t alignment = w->alignment;
	size_t mark = w->kv.len;
	int error;

	if (is_alignment &&
	    (error = check_alignment_key(type, value, &alignment)) < 0)
		return error;
	if ((error = claim_key(w, key)) < 0)
		return error;
	if ((error = bytes_add_str(&w->kv, key, strlen(key))) < 0 ||
	    (error = bytes_add_u32(&w->kv, (uint32_t)type)) < 0 ||
	    (error = bytes_add(&w->kv, head, head_len)) < 0 ||
	    (error = bytes_add(&w->kv, value, len)) < 0) {
		w->kv.len = mark;
		free(w->keys[--w->n_kv]);
		return error;
	}
	w->alignment = alignment;
	return 0;
}

static int add_scalar(struct mbr_gguf_writer *w, const char *key, int type,
		      const void *value)
{
	return add_entry(w, key, type, NULL, 0, value, value_size[type]);
}

#define DEFINE_SCALAR_ADDER(suffix, ctype, gtype) \
int mbr_gguf_writer_add_kv_##suffix(struct mbr_gguf_writer *w, const char *key, ctype v) \
{ \
	return add_scalar(w, key, gtype, &v); \
}

DEFINE_SCALAR_ADDER(u8, uint8_t, MBR_GGUF_UINT8)
DEFINE_SCALAR_ADDER(i8, int8_t, MBR_GGUF_INT8)
DEFINE_SCALAR_ADDER(u16, uint16_t, MBR_GGUF_UINT16)
DEFINE_SCALAR_ADDER(i16, int16_t, MBR_GGUF_INT16)
DEFINE_SCALAR_ADDER(u32, uint32_t, MBR_GGUF_UINT32)
DEFINE_SCALAR_ADDER(i32, int32_t, MBR_GGUF_INT32)
DEFINE_SCALAR_ADDER(f32, float, MBR_GGUF_FLOAT32)
DEFINE_SCALAR_ADDER(u64, uint64_t, MBR_GGUF_UINT64)
DEFINE_SCALAR_ADDER(i64, int64_t, MBR_GGUF_INT64)
DEFINE_SCALAR_ADDER(f64, double, MBR_GGUF_FLOAT64)

int mbr_gguf_writer_add_kv_bool(struct mbr_gguf_writer *w, const char *key, int v)
{
	uint8_t b = v ? 1 : 0;

	return add_scalar(w, key, MBR_GGUF_BOOL, &b);
}

int mbr_gguf_writer_add_kv_string_len(struct mbr_gguf_writer *w, const char *key,
				      const void *v, size_t len)
{
	uint64_t n = len;

	return add_entry(w, key, MBR_GGUF_STRING, &n, sizeof(n), v, len);
}

int mbr_gguf_writer_add_kv_string(struct mbr_gguf_writer *w, const char *key,
				  const char *v)
{
	return mbr_gguf_writer_add_kv_string_len(w, key, v, strlen(v));
}

/* Do len raw bytes hold exactly count GGUF strings? */
static int strings_fit(const unsigned char *raw, size_t len, uint64_t count)
{
	size_t pos = 0;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t n;

		if (len - pos < sizeof(n))
			return 0;
		memcpy(&n, raw + pos, sizeof(n));
		pos += sizeof(n);
		if (len - pos < n)
			return 0;
		pos += (size_t)n;
	}
	return pos == len;
}

int mbr_gguf_writer_add_kv_array(struct mbr_gguf_writer *w, const char *key,
				 int elem_type, uint64_t count,
				 const void *raw, size_t len)
{
	unsigned char head[12];
	uint32_t et = (uint32_t)elem_type;
	uint64_t need;

	if (elem_type == MBR_GGUF_STRING) {
		if (!strings_fit(raw, len, count))
			return mbr_error_set(MBR_ERROR_INVALID,
				"GGUF array '%s': %zu bytes are not %llu strings",
				key, len, (unsigned long long)count), MBR_EINVALID;
	} else if (is_fixed_type(elem_type)) {
		if (MBR_MUL_OVERFLOW(&need, count, (uint64_t)value_size[elem_type]) ||
		    need != len)
			return mbr_error_set(MBR_ERROR_INVALID,
				"GGUF array '%s': %zu bytes for %llu elements of %s",
				key, len, (unsigned long long)count,
				mbr_gguf_type_name(elem_type)), MBR_EINVALID;
	} else {
		return mbr_error_set(MBR_ERROR_INVALID,
			"GGUF array '%s': element type %d not supported",
			key, elem_type), MBR_EUNSUPPORTED;
	}
	memcpy(head, &et, sizeof(et));
	memcpy(head + sizeof(et), &count, sizeof(count));
	return add_entry(w, key, MBR_GGUF_ARRAY, head, sizeof(head), raw, len);
}

int mbr_gguf_writer_copy_kv(struct mbr_gguf_writer *w,
			    const struct mbr_modelfile *mf,
			    const struct mbr_kv *kv)
{
	const unsigned char *value = mf->data + kv->value_offset;

	if (strlen(kv->key) != kv->key_len)
		return mbr_error_set(MBR_ERROR_INVALID,
			"%s: key with a NUL byte cannot be copied", mf->path),
		       MBR_EUNSUPPORTED;
	if (kv->type == MBR_GGUF_STRING)
		return mbr_gguf_writer_add_kv_string_len(w, kv->key, kv->str,
							 kv->str_len);
	if (mf->format != MBR_FORMAT_GGUF)
		return mbr_error_set(MBR_ERROR_INVALID,
			"%s: only GGUF values can be copied ('%s')",
			mf->path, kv->key), MBR_EUNSUPPORTED;
	if (kv->type == MBR_GGUF_ARRAY)
		return mbr_gguf_writer_add_kv_array(w, kv->key, kv->elem_type,
						    kv->count, value,
						    (size_t)kv->value_len);
	if (!is_fixed_type(kv->type) || kv->value_len != value_size[kv->type])
		return mbr_error_set(MBR_ERROR_INVALID,
			"%s: '%s' has type %d and %llu value bytes", mf->path,
			kv->key, kv->type, (unsigned long long)kv->value_len),
		       MBR_EINVALID;
	return add_scalar(w, kv->key, kv->type, value);
}

static int check_tensor(struct mbr_gguf_writer *w, const char *name, int type,
			uint32_t n_dims, const uint64_t *ne, uint64_t *size)
{
	size_t len = strlen(name);

	if (!len || len > MBR_GGUF_MAX_NAME)
		return mbr_error_set(MBR_ERROR_INVALID,
			"tensor name '%s' must have 1..%d bytes", name,
			MBR_GGUF_MAX_NAME), MBR_EINVALID;
	for (size_t i = 0; i < w->n_tensors; i++)
		if (!strcmp(w->tensors[i].name, name))
			return mbr_error_set(MBR_ERROR_INVALID,
				"tensor '%s' added twice", name), MBR_EEXISTS;
	if (n_dims < 1 || n_dims > MBR_GGUF_MAX_DIMS)
		return mbr_error_set(MBR_ERROR_INVALID,
			"tensor '%s': %u dimensions, GGUF allows 1..%d", name,
			n_dims, MBR_GGUF_MAX_DIMS), MBR_EINVALID;
	for (uint32_t d = 0; d < n_dims; d++)
		if (!ne[d])
			return mbr_error_set(MBR_ERROR_INVALID,
				"tensor '%s': dimension %u is 0", name, d), MBR_EINVALID;
	if (type < 0 || type >= 100 || mbr_type_nbytes(size, type, ne, n_dims) < 0)
		return mbr_error_set(MBR_ERROR_INVALID,
			"tensor '%s': type %d cannot hold this shape in GGUF",
			name, type), MBR_EINVALID;
	return 0;
}

static int add_tensor(struct mbr_gguf_writer *w, const struct wtensor *t)
{
	if (w->n_tensors == w->tensors_alloc) {
		size_t n = w->tensors_alloc ? 2 * w->tensors_alloc : 64;
		struct wtensor *p = realloc(w->tensors, n * sizeof(*p));

		MBR_CHECK_ALLOC(p);
		w->tensors = p;
		w->tensors_alloc = n;
	}
	w->tensors[w->n_tensors] = *t;
	w->tensors[w->n_tensors].name = strdup(t->name);
	MBR_CHECK_ALLOC(w->tensors[w->n_tensors].name);
	w->n_tensors++;
	return 0;
}

static int tensor_init(struct wtensor *t, struct mbr_gguf_writer *w,
		       const char *name, int type, uint32_t n_dims,
		       const uint64_t *ne)
{
	memset(t, 0, sizeof(*t));
	t->name = (char *)name;
	t->type = type;
	t->n_dims = n_dims;
	if (n_dims <= MBR_GGUF_MAX_DIMS)
		memcpy(t->ne, ne, n_dims * sizeof(*ne));
	return check_tensor(w, name, type, n_dims, ne, &t->size);
}

int mbr_gguf_writer_add_tensor(struct mbr_gguf_writer *w, const char *name,
			       int type, uint32_t n_dims, const uint64_t *ne,
			       const void *data, uint64_t size)
{
	struct wtensor t;
	int error = tensor_init(&t, w, name, type, n_dims, ne);

	if (error < 0)
		return error;
	if (size != t.size)
		return mbr_error_set(MBR_ERROR_INVALID,
			"tensor '%s': %llu bytes given, its type and shape need %llu",
			name, (unsigned long long)size,
			(unsigned long long)t.size), MBR_EINVALID;
	t.data = data;
	return add_tensor(w, &t);
}

int mbr_gguf_writer_add_tensor_fn(struct mbr_gguf_writer *w, const char *name,
				  int type, uint32_t n_dims, const uint64_t *ne,
				  mbr_gguf_fill_fn fill, void *payload)
{
	struct wtensor t;
	int error = tensor_init(&t, w, name, type, n_dims, ne);

	if (error < 0)
		return error;
	t.fill = fill;
	t.payload = payload;
	return add_tensor(w, &t);
}

/* Everything before the tensor data, padded to the alignment. */
static int build_header(struct bytes *h, const struct mbr_gguf_writer *w)
{
	uint64_t offset = 0;
	int error;

	if ((error = bytes_add(h, GGUF_MAGIC, 4)) < 0 ||
	    (error = bytes_add_u32(h, GGUF_VERSION)) < 0 ||
	    (error = bytes_add_u64(h, w->n_tensors)) < 0 ||
	    (error = bytes_add_u64(h, w->n_kv)) < 0 ||
	    (error = bytes_add(h, w->kv.p, w->kv.len)) < 0)
		return error;
	for (size_t i = 0; i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];

		offset = align_up(offset, w->alignment);
		if ((error = bytes_add_str(h, t->name, strlen(t->name))) < 0 ||
		    (error = bytes_add_u32(h, t->n_dims)) < 0 ||
		    (error = bytes_add(h, t->ne, t->n_dims * sizeof(uint64_t))) < 0 ||
		    (error = bytes_add_u32(h, (uint32_t)t->type)) < 0 ||
		    (error = bytes_add_u64(h, offset)) < 0)
			return error;
		offset += t->size;
	}
	while (h->len % w->alignment)
		if ((error = bytes_add(h, "", 1)) < 0)
			return error;
	return 0;
}

static int write_all(int fd, const char *path, const void *data, uint64_t len)
{
	const unsigned char *p = data;

	while (len) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = write(fd, p, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mbr_error_set_os("%s: write", path);
		p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int write_zeros(int fd, const char *path, uint64_t len)
{
	static const unsigned char zeros[256];
	int error = 0;

	while (len && !error) {
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		error = write_all(fd, path, zeros, n);
		len -= n;
	}
	return error;
}

/* Fill-in tensors share one buffer, sized for the biggest of them. */
static int alloc_fill_buffer(void **out, const struct mbr_gguf_writer *w)
{
	uint64_t max = 0;

	*out = NULL;
	for (size_t i = 0; i < w->n_tensors; i++)
		if (w->tensors[i].fill && w->tensors[i].size > max)
			max = w->tensors[i].size;
	if (!max)
		return 0;
	if (max > SIZE_MAX || !(*out = malloc((size_t)max))) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	return 0;
}

void mbr_gguf_writer_set_progress(struct mbr_gguf_writer *w,
				  const struct mbr_progress *progress)
{
	w->progress = progress ? *progress : (struct mbr_progress){ NULL, NULL };
}

static uint64_t data_size(const struct mbr_gguf_writer *w)
{
	uint64_t total = 0;

	for (size_t i = 0; i < w->n_tensors; i++)
		total += w->tensors[i].size;
	return total;
}

static int write_tensors(int fd, const char *path, const struct mbr_gguf_writer *w)
{
	uint64_t pos = 0, total = data_size(w);
	void *buf;
	int error = alloc_fill_buffer(&buf, w);

	for (size_t i = 0; i < w->n_tensors && !error; i++) {
		const struct wtensor *t = &w->tensors[i];
		const void *data = t->data;
		uint64_t start = align_up(pos, w->alignment);

		if (t->fill) {
			error = t->fill(t->payload, buf, t->size);
			data = buf;
		}
		if (!error)
			error = write_zeros(fd, path, start - pos);
		if (!error)
			error = write_all(fd, path, data, t->size);
		if (!error && w->progress.fn)
			w->progress.fn(w->progress.payload, t->size, total);
		pos = start + t->size;
	}
	/* end on a boundary too, as ggml does, so the file can be appended */
	if (!error)
		error = write_zeros(fd, path, align_up(pos, w->alignment) - pos);
	free(buf);
	return error;
}

/* The directory entry of a rename is only durable once the directory is. */
static int sync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, error = 0;

	MBR_CHECK_ALLOC(copy);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) < 0)
		error = mbr_error_set_os("%s: syncing its directory", path);
	if (fd >= 0)
		close(fd);
	free(copy);
	return error;
}

static int write_to_fd(int fd, const char *tmp, const struct mbr_gguf_writer *w)
{
	struct bytes header = { 0 };
	int error = build_header(&header, w);

	if (!error)
		error = write_all(fd, tmp, header.p, header.len);
	free(header.p);
	if (!error)
		error = write_tensors(fd, tmp, w);
	if (!error && fsync(fd) < 0)
		error = mbr_error_set_os("%s: fsync", tmp);
	return error;
}

/*
 * A new file next to path. Not mkstemp: its 0600 would stick to the model
 * file, and fixing that up needs umask(), which is not thread-safe.
 */
static int create_temp(struct strbuf *tmp, const char *path)
{
	static unsigned counter;

	for (int tries = 0; tries < 100; tries++) {
		int fd;

		strbuf_reset(tmp);
		strbuf_addf(tmp, "%s.tmp-%ld-%u", path, (long)getpid(),
			    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
		fd = open(tmp->buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : mbr_error_set_os(
				"%s: cannot create a temporary file", tmp->buf);
	}
	return mbr_error_set(MBR_ERROR_OS, "%s: no free temporary name", path);
}

int mbr_gguf_writer_write_file(struct mbr_gguf_writer *w, const char *path)
{
	struct strbuf tmp = STRBUF_INIT;
	int fd = create_temp(&tmp, path), error;

	if (fd < 0) {
		strbuf_release(&tmp);
		return fd;
	}
	error = write_to_fd(fd, tmp.buf, w);
	if (close(fd) < 0 && !error)
		error = mbr_error_set_os("%s: close", tmp.buf);
	if (!error && rename(tmp.buf, path) < 0)
		error = mbr_error_set_os("%s: rename to %s", tmp.buf, path);
	if (error)
		unlink(tmp.buf);
	else
		error = sync_parent_dir(path);
	strbuf_release(&tmp);
	return error;
}
