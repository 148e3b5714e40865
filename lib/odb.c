/*
 * odb.c - the loose object store: one file per object, raw or one zstd
 * frame, under objects/<2 hex>/<62 hex>[.zst]. See odb.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>
#include "mbr/error.h"
#include "mbr/odb.h"
#include "mbr/strbuf.h"

#define ODB_ZSTD_LEVEL 3
/* A frame claiming more than this is damaged, not a real object. */
#define ODB_MAX_INFLATED ((unsigned long long)64 << 30)

struct mbr_odb {
	char *dir;		/* the objects directory, no trailing '/' */
	size_t dirlen;
	/* MBR_FSYNC=0 trades durability for speed (like git's core.fsync):
	 * after a crash, objects may be damaged, which fsck finds. */
	int fsync;
};

static const unsigned char empty_object[1];

static void object_path(struct strbuf *sb, const struct mbr_odb *odb,
			const struct mbr_oid *id, int zst)
{
	char hex[MBR_OID_HEXSZ + 1];

	mbr_oid_tohex(hex, id);
	strbuf_reset(sb);
	strbuf_addf(sb, "%s/%.2s/%s%s", odb->dir, hex, hex + 2,
		    zst ? ".zst" : "");
}

static int not_found(const struct mbr_odb *odb, const struct mbr_oid *id)
{
	char s[MBR_OID_STRSZ];

	mbr_error_set(MBR_ERROR_ODB, "object %s not found in '%s'",
		      mbr_oid_fmt(s, id), odb->dir);
	return MBR_ENOTFOUND;
}

static int corrupt(const struct mbr_oid *id, const char *path, const char *why)
{
	char s[MBR_OID_STRSZ];

	mbr_error_set(MBR_ERROR_ODB, "object %s ('%s') is corrupt: %s",
		      mbr_oid_fmt(s, id), path, why);
	return MBR_ECORRUPT;
}

int mbr_odb_open(struct mbr_odb **out, const char *objects_dir)
{
	struct mbr_odb *odb;
	struct stat st;
	size_t len = strlen(objects_dir);

	*out = NULL;
	if (stat(objects_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		mbr_error_set(MBR_ERROR_ODB, "object directory '%s' does not exist",
			      objects_dir);
		return MBR_ENOTFOUND;
	}
	while (len > 1 && objects_dir[len - 1] == '/')
		len--;
	odb = calloc(1, sizeof(*odb));
	MBR_CHECK_ALLOC(odb);
	odb->dir = strndup(objects_dir, len);
	if (!odb->dir) {
		free(odb);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	odb->dirlen = len;
	odb->fsync = !getenv("MBR_FSYNC") || strcmp(getenv("MBR_FSYNC"), "0");
	*out = odb;
	return 0;
}

void mbr_odb_free(struct mbr_odb *odb)
{
	if (!odb)
		return;
	free(odb->dir);
	free(odb);
}

/*
 * Find which form of id is stored: fills path, *zst and st. MBR_ENOTFOUND
 * (with the last error set) when neither is there.
 */
static int locate(struct strbuf *path, int *zst, struct stat *st,
		  const struct mbr_odb *odb, const struct mbr_oid *id)
{
	for (*zst = 0; *zst < 2; (*zst)++) {
		object_path(path, odb, id, *zst);
		if (!stat(path->buf, st))
			return 0;
		if (errno != ENOENT)
			return mbr_error_set_os("cannot stat '%s'", path->buf);
	}
	return not_found(odb, id);
}

int mbr_odb_exists(struct mbr_odb *odb, const struct mbr_oid *id)
{
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int zst, r;

	r = locate(&path, &zst, &st, odb, id);
	strbuf_release(&path);
	return !r;
}

int mbr_odb_stored_size(uint64_t *out, struct mbr_odb *odb,
			const struct mbr_oid *id)
{
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int zst, r;

	r = locate(&path, &zst, &st, odb, id);
	if (!r)
		*out = (uint64_t)st.st_size;
	strbuf_release(&path);
	return r;
}

/* The compressed form when it saves at least an eighth, else *out = NULL. */
static int try_compress(void **out, size_t *outlen, const struct mbr_oid *id,
			const void *data, size_t len)
{
	size_t bound = ZSTD_compressBound(len), n;
	char s[MBR_OID_STRSZ];
	void *buf;

	*out = NULL;
	if (ZSTD_isError(bound))
		return 0;	/* too large for one frame: store raw */
	buf = malloc(bound);
	MBR_CHECK_ALLOC(buf);
	n = ZSTD_compress(buf, bound, data, len, ODB_ZSTD_LEVEL);
	if (ZSTD_isError(n)) {
		free(buf);
		mbr_error_set(MBR_ERROR_ZSTD, "cannot compress object %s: %s",
			      mbr_oid_fmt(s, id), ZSTD_getErrorName(n));
		return MBR_ERROR;
	}
	/* saved >= len / 8, rounded up, so 8 * saved >= len */
	if (n < len && len - n >= len / 8 + (len % 8 != 0)) {
		*out = buf;
		*outlen = n;
	} else {
		free(buf);
	}
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const struct mbr_odb *odb, const char *path)
{
	int fd;

	if (!odb->fsync)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int r = mbr_error_set_os("cannot fsync directory '%s'", path);

		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	return 0;
}

/* mkstemp in objects/tmp/, making tmp/ on first use. */
static int create_tmp(struct strbuf *path, const struct mbr_odb *odb)
{
	int fd;

	for (int tries = 0; tries < 2; tries++) {
		strbuf_reset(path);
		strbuf_addf(path, "%s/tmp/obj_XXXXXX", odb->dir);
		fd = mkostemp(path->buf, O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		strbuf_setlen(path, odb->dirlen + 4);
		if (mkdir(path->buf, 0755) < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		mbr_error_set_os("cannot create a temporary file in '%s/tmp'",
				 odb->dir);
	return fd;
}

/*
 * Write buf to a new temporary file, read-only and on disk, whose name is
 * left in path. Nothing is left behind on failure.
 */
static int write_tmp(struct strbuf *path, const struct mbr_odb *odb,
		     const void *buf, size_t len, int durable)
{
	int fd = create_tmp(path, odb);
	const char *what;

	if (fd < 0)
		return MBR_EIO;
	if (write_all(fd, buf, len) < 0)
		what = "write";
	else if (fchmod(fd, 0444) < 0)
		what = "chmod";
	else if (!odb->fsync)
		what = NULL;
	else if (durable ? fsync(fd) < 0 :
		 /* a batch: start writeback now, wait for it at commit */
		 sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0 && errno != ENOSYS)
		what = durable ? "fsync" : "start writeback of";
	else
		what = NULL;
	if (what) {
		int r = mbr_error_set_os("cannot %s '%s'", what, path->buf);

		close(fd);
		unlink(path->buf);
		return r;
	}
	if (close(fd) < 0) {
		int r = mbr_error_set_os("cannot close '%s'", path->buf);

		unlink(path->buf);
		return r;
	}
	return 0;
}

/*
 * Rename without replacing: when another writer got the object there first
 * (same bytes, by its name), keep theirs and report EEXIST. Filesystems
 * without RENAME_NOREPLACE get a plain rename, which is also correct, as
 * both files hold the same bytes.
 */
static int rename_noreplace(const char *from, const char *to)
{
	if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	return rename(from, to);
}

/* A new fan-out directory must itself be durable for its objects to be. */
static int make_fanout(const struct mbr_odb *odb, const char *fanout)
{
	if (!mkdir(fanout, 0755))
		return fsync_dir(odb, odb->dir);
	if (errno == EEXIST)
		return 0;	/* another writer just made it */
	return mbr_error_set_os("cannot create '%s'", fanout);
}

/*
 * Move the temporary file to its object name, making the fan-out directory
 * on first use, and make the new name durable. Sets *written.
 */
static int install(int *written, const struct mbr_odb *odb,
		   const char *tmp, const char *dst)
{
	struct strbuf fanout = STRBUF_INIT;
	int r;

	/* before the rename: allocating may clobber its errno */
	strbuf_add(&fanout, dst, odb->dirlen + 3);
	r = rename_noreplace(tmp, dst);
	if (r < 0 && errno == ENOENT) {
		r = make_fanout(odb, fanout.buf);
		if (r)
			goto out;
		r = rename_noreplace(tmp, dst);
	}
	if (r < 0 && errno == EEXIST) {
		/* a concurrent writer stored the same bytes first */
		unlink(tmp);
		r = 0;
	} else if (r < 0) {
		r = mbr_error_set_os("cannot rename '%s' to '%s'", tmp, dst);
	} else {
		r = fsync_dir(odb, fanout.buf);
		*written = !r;
	}
out:
	strbuf_release(&fanout);
	return r;
}

/*
 * Write a new object's bytes (compressed when that pays) to a temporary
 * file; tmp and dst receive its temporary and final names. Returns 1 when
 * staged, 0 when the object already exists, or an error.
 */
static int stage(struct strbuf *tmp, struct strbuf *dst, struct mbr_odb *odb,
		 const struct mbr_oid *id, const void *data, size_t len, int flags,
		 int durable)
{
	void *zbuf = NULL;
	size_t outlen = len;
	int r;

	if (mbr_odb_exists(odb, id))
		return 0;
	if (flags & MBR_ODB_TRY_COMPRESS) {
		r = try_compress(&zbuf, &outlen, id, data, len);
		if (r)
			return r;
	}
	r = write_tmp(tmp, odb, zbuf ? zbuf : data, outlen, durable);
	object_path(dst, odb, id, zbuf != NULL);
	free(zbuf);
	return r ? r : 1;
}

int mbr_odb_write(struct mbr_odb *odb, int *written, const struct mbr_oid *id,
		  const void *data, size_t len, int flags)
{
	struct strbuf tmp = STRBUF_INIT, dst = STRBUF_INIT;
	int r;

	*written = 0;
	r = stage(&tmp, &dst, odb, id, data, len, flags, 1);
	if (r == 1) {
		r = install(written, odb, tmp.buf, dst.buf);
		if (r)
			unlink(tmp.buf);
	}
	strbuf_release(&tmp);
	strbuf_release(&dst);
	return r;
}

int mbr_odb_hash_write(struct mbr_oid *out, struct mbr_odb *odb, int *written,
		       const void *data, size_t len, int flags)
{
	mbr_sha256(out, data, len);
	return mbr_odb_write(odb, written, out, data, len, flags);
}

/* ---- batches ------------------------------------------------------- */

struct staged {
	char *tmp;
	char *dst;
	uint64_t len;		/* uncompressed */
};

struct mbr_odb_batch {
	struct mbr_odb *odb;
	pthread_mutex_t lock;
	struct staged *items;
	size_t n, alloc;
};

int mbr_odb_batch_new(struct mbr_odb_batch **out, struct mbr_odb *odb)
{
	struct mbr_odb_batch *b = calloc(1, sizeof(*b));

	MBR_CHECK_ALLOC(b);
	b->odb = odb;
	pthread_mutex_init(&b->lock, NULL);
	*out = b;
	return 0;
}

static int batch_append(struct mbr_odb_batch *b, struct strbuf *tmp, struct strbuf *dst,
			uint64_t len)
{
	int r = 0;

	pthread_mutex_lock(&b->lock);
	if (b->n == b->alloc) {
		size_t alloc = b->alloc ? 2 * b->alloc : 64;
		struct staged *items = realloc(b->items, alloc * sizeof(*items));

		if (items) {
			b->items = items;
			b->alloc = alloc;
		}
	}
	if (b->n < b->alloc) {
		struct staged *s = &b->items[b->n++];

		s->tmp = strbuf_detach(tmp, NULL);
		s->dst = strbuf_detach(dst, NULL);
		s->len = len;
	} else {
		mbr_error_oom();
		r = MBR_ENOMEM;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

int mbr_odb_batch_write(struct mbr_odb_batch *b, const struct mbr_oid *id,
			const void *data, size_t len, int flags)
{
	struct strbuf tmp = STRBUF_INIT, dst = STRBUF_INIT;
	int r = stage(&tmp, &dst, b->odb, id, data, len, flags, 0);

	if (r == 1) {
		r = batch_append(b, &tmp, &dst, len);
		if (r)
			unlink(tmp.buf);
	}
	strbuf_release(&tmp);
	strbuf_release(&dst);
	return r;
}

/*
 * Make everything written to the store's filesystem durable with one
 * syncfs(2): a single journal commit instead of one per file, which on
 * ext4 costs about a millisecond each and dominated adds of many objects.
 * (git's core.fsyncMethod=batch solves the same problem.)
 */
static int sync_store(const struct mbr_odb *odb)
{
	int fd, r = 0;

	if (!odb->fsync)
		return 0;
	fd = open(odb->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0)
		r = mbr_error_set_os("cannot sync the filesystem of '%s'", odb->dir);
	if (fd >= 0)
		close(fd);
	return r;
}

static int cmp_staged_dst(const void *a, const void *b)
{
	return strcmp(((const struct staged *)a)->dst, ((const struct staged *)b)->dst);
}

/* Rename every staged file into place (sorted, so fan-out directories
 * are visited in order). */
static int install_all(struct mbr_odb_batch *b, uint64_t *objects, uint64_t *bytes)
{
	size_t fan = b->odb->dirlen + 3;	/* "<dir>/ab" */
	int r = 0;

	qsort(b->items, b->n, sizeof(*b->items), cmp_staged_dst);
	for (size_t i = 0; i < b->n && !r; i++) {
		struct staged *s = &b->items[i];
		int rr = rename_noreplace(s->tmp, s->dst);

		if (rr < 0 && errno == ENOENT) {
			char *dir = strndup(s->dst, fan);

			r = dir ? make_fanout(b->odb, dir) : MBR_ENOMEM;
			free(dir);
			rr = r ? -1 : rename_noreplace(s->tmp, s->dst);
		}
		if (rr < 0 && errno == EEXIST) {
			unlink(s->tmp);	/* the same bytes got there first */
		} else if (rr < 0) {
			r = r ? r : mbr_error_set_os("cannot rename '%s' to '%s'", s->tmp, s->dst);
		} else {
			*objects += 1;
			*bytes += s->len;
		}
		free(s->tmp);
		s->tmp = NULL;
	}
	return r;
}

int mbr_odb_batch_commit(struct mbr_odb_batch *b, uint64_t *objects, uint64_t *bytes)
{
	int r = 0;

	*objects = *bytes = 0;
	if (!b->n)
		return 0;
	/* the bytes first, then the names: a name never outlives its bytes */
	if (!(r = sync_store(b->odb)) && !(r = install_all(b, objects, bytes)))
		r = sync_store(b->odb);
	return r;
}

void mbr_odb_batch_free(struct mbr_odb_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		if (b->items[i].tmp)
			unlink(b->items[i].tmp);
		free(b->items[i].tmp);
		free(b->items[i].dst);
	}
	free(b->items);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static int map_file(void **map, int fd, size_t len, const char *path)
{
	*map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*map != MAP_FAILED)
		return 0;
	*map = NULL;
	return mbr_error_set_os("cannot mmap '%s'", path);
}

static int map_raw(struct mbr_object *obj, int fd, const struct stat *st,
		   const char *path)
{
	obj->size = (uint64_t)st->st_size;
	if (!obj->size) {
		obj->data = empty_object;	/* mmap refuses length 0 */
		return 0;
	}
	obj->priv_maplen = (size_t)st->st_size;
	if (map_file(&obj->priv_map, fd, obj->priv_maplen, path))
		return MBR_EIO;
	obj->data = obj->priv_map;
	return 0;
}

/* Decompress one frame whose declared size is trusted only up to a limit. */
static int inflate_zst(struct mbr_object *obj, const struct mbr_oid *id,
		       const char *path, const void *src, size_t srclen)
{
	unsigned long long want = ZSTD_getFrameContentSize(src, srclen);
	size_t n;

	if (want == ZSTD_CONTENTSIZE_UNKNOWN || want == ZSTD_CONTENTSIZE_ERROR)
		return corrupt(id, path, "no valid zstd frame header");
	if (want > ODB_MAX_INFLATED)
		return corrupt(id, path, "zstd frame claims over 64 GiB");
	obj->priv_buf = malloc(want ? (size_t)want : 1);
	MBR_CHECK_ALLOC(obj->priv_buf);
	n = ZSTD_decompress(obj->priv_buf, (size_t)want, src, srclen);
	if (ZSTD_isError(n))
		return corrupt(id, path, ZSTD_getErrorName(n));
	if (n != want)
		return corrupt(id, path, "zstd frame shorter than it claims");
	obj->data = obj->priv_buf;
	obj->size = want;
	obj->compressed = 1;
	return 0;
}

static int load_zst(struct mbr_object *obj, int fd, const struct stat *st,
		    const char *path, const struct mbr_oid *id)
{
	size_t srclen = (size_t)st->st_size;
	void *src;
	int r;

	if (!srclen)
		return corrupt(id, path, "empty file");
	if (map_file(&src, fd, srclen, path))
		return MBR_EIO;
	r = inflate_zst(obj, id, path, src, srclen);
	munmap(src, srclen);
	return r;
}

int mbr_odb_read(struct mbr_object **out, struct mbr_odb *odb,
		 const struct mbr_oid *id)
{
	struct strbuf path = STRBUF_INIT;
	struct mbr_object *obj = NULL;
	struct stat st;
	int fd = -1, zst, r;

	*out = NULL;
	r = locate(&path, &zst, &st, odb, id);
	if (r)
		goto out;
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* deleted since locate() saw it */
		r = errno == ENOENT ? not_found(odb, id) :
			mbr_error_set_os("cannot open '%s'", path.buf);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = mbr_error_set_os("cannot stat '%s'", path.buf);
		goto out;
	}
	obj = calloc(1, sizeof(*obj));
	if (!obj) {
		mbr_error_oom();
		r = MBR_ENOMEM;
		goto out;
	}
	r = zst ? load_zst(obj, fd, &st, path.buf, id) :
		map_raw(obj, fd, &st, path.buf);
	if (!r) {
		*out = obj;
		obj = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	mbr_object_free(obj);
	strbuf_release(&path);
	return r;
}

void mbr_object_free(struct mbr_object *obj)
{
	if (!obj)
		return;
	if (obj->priv_map)
		munmap(obj->priv_map, obj->priv_maplen);
	free(obj->priv_buf);
	free(obj);
}

int mbr_odb_verify(struct mbr_odb *odb, const struct mbr_oid *id)
{
	char want[MBR_OID_STRSZ], got[MBR_OID_STRSZ];
	struct mbr_object *obj;
	struct mbr_oid actual;
	int r = mbr_odb_read(&obj, odb, id);

	if (r)
		return r;
	/* the mapping is hashed in place: pages fault in as the hash goes */
	mbr_sha256(&actual, obj->data, (size_t)obj->size);
	mbr_object_free(obj);
	if (!mbr_oid_cmp(&actual, id))
		return 0;
	mbr_error_set(MBR_ERROR_ODB, "object %s is corrupt (hashes to %s)",
		      mbr_oid_fmt(want, id), mbr_oid_fmt(got, &actual));
	return MBR_ECORRUPT;
}

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The id of "<fan>/<name>" when name is "<62 hex>" or "<62 hex>.zst". */
static int parse_object_name(struct mbr_oid *id, const char *fan,
			     const char *name)
{
	size_t len = strlen(name);
	char hex[MBR_OID_HEXSZ + 1];

	if (len != MBR_OID_HEXSZ - 2 &&
	    (len != MBR_OID_HEXSZ + 2 || strcmp(name + len - 4, ".zst")))
		return 0;
	if (!is_lower_hex(name, MBR_OID_HEXSZ - 2))
		return 0;
	memcpy(hex, fan, 2);
	memcpy(hex + 2, name, MBR_OID_HEXSZ - 2);
	hex[MBR_OID_HEXSZ] = '\0';
	return !mbr_oid_parse(id, hex);
}

/*
 * Objects may come and go while we walk (a concurrent add or gc): a name
 * that vanished between readdir and stat is skipped, not an error.
 */
static int foreach_in_fanout(struct mbr_odb *odb, int objects_fd,
			     const char *fan, mbr_odb_foreach_cb cb,
			     void *payload)
{
	int fd = openat(objects_fd, fan, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	struct mbr_oid id;
	struct stat st;
	DIR *d;
	int r = 0;

	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = mbr_error_set_os("cannot read '%s/%s'", odb->dir, fan);
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (!r && (de = readdir(d))) {
		if (!parse_object_name(&id, fan, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				r = mbr_error_set_os("cannot stat '%s/%s/%s'",
						     odb->dir, fan, de->d_name);
			continue;
		}
		if (S_ISREG(st.st_mode))
			r = cb(&id, (uint64_t)st.st_size, payload);
	}
	closedir(d);
	return r;
}

int mbr_odb_foreach(struct mbr_odb *odb, mbr_odb_foreach_cb cb, void *payload)
{
	DIR *d = opendir(odb->dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return mbr_error_set_os("cannot read '%s'", odb->dir);
	while (!r && (de = readdir(d))) {
		/* fan-out directories only; this also skips tmp/ */
		if (strlen(de->d_name) != 2 || !is_lower_hex(de->d_name, 2))
			continue;
		r = foreach_in_fanout(odb, dirfd(d), de->d_name, cb, payload);
	}
	closedir(d);
	return r;
}

int mbr_odb_delete(struct mbr_odb *odb, const struct mbr_oid *id)
{
	struct strbuf path = STRBUF_INIT;
	int found = 0, r = 0;

	for (int zst = 0; zst < 2 && !r; zst++) {
		object_path(&path, odb, id, zst);
		if (!unlink(path.buf))
			found = 1;
		else if (errno != ENOENT)
			r = mbr_error_set_os("cannot remove '%s'", path.buf);
	}
	strbuf_release(&path);
	if (!r && !found)
		r = not_found(odb, id);
	return r;
}

int mbr_odb_prune_tmp(struct mbr_odb *odb, int max_age)
{
	struct strbuf path = STRBUF_INIT;
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	strbuf_addf(&path, "%s/tmp", odb->dir);
	d = opendir(path.buf);
	if (!d) {
		if (errno != ENOENT)
			r = mbr_error_set_os("cannot read '%s'", path.buf);
		strbuf_release(&path);
		return r;
	}
	while (!r && (de = readdir(d))) {
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime <= max_age)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			r = mbr_error_set_os("cannot remove '%s/%s'", path.buf,
					     de->d_name);
	}
	closedir(d);
	strbuf_release(&path);
	return r;
}
