#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "mbr/odb.h"

static char root[256];		/* the objects directory of each test */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static struct mbr_odb *fresh_odb(void)
{
	const char *tmp = getenv("TMPDIR");
	struct mbr_odb *odb = NULL;

	if (root[0])
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(root, sizeof(root), "%s/u-odb.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root) || mbr_odb_open(&odb, root))
		return NULL;
	return odb;
}

static void cleanup(struct mbr_odb *odb)
{
	mbr_odb_free(odb);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	root[0] = '\0';
}

/* Where the object should be, by odb.h's layout, not by odb.c's code. */
static const char *path_of(const struct mbr_oid *id, int zst)
{
	static char path[512];
	char hex[MBR_OID_HEXSZ + 1];

	mbr_oid_tohex(hex, id);
	snprintf(path, sizeof(path), "%s/%.2s/%s%s", root, hex, hex + 2,
		 zst ? ".zst" : "");
	return path;
}

static int file_exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

/* xorshift: incompressible bytes, reproducible */
static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

static void fill_text(unsigned char *buf, size_t len)
{
	static const char line[] = "tokenizer.ggml.tokens: [\"<s>\", \"</s>\"]\n";

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)line[i % (sizeof(line) - 1)];
}

static int flip_byte(const char *path, off_t at)
{
	unsigned char c;
	int fd, ok;

	chmod(path, 0644);
	fd = open(path, O_RDWR);
	ok = fd >= 0 && pread(fd, &c, 1, at) == 1 && (c ^= 0x40, 1) &&
		pwrite(fd, &c, 1, at) == 1;
	if (fd >= 0)
		close(fd);
	chmod(path, 0444);
	return ok ? 0 : -1;
}

static int same_bytes(const struct mbr_object *obj, const void *data,
		      size_t len)
{
	return obj->size == len && !memcmp(obj->data, data, len);
}

static void test_odb__open_missing_dir(void)
{
	struct mbr_odb *odb = (void *)1;

	UT_EQ_INT(mbr_odb_open(&odb, "/nonexistent/objects"), MBR_ENOTFOUND);
	UT_CHECK(odb == NULL);
	UT_CHECK(strstr(mbr_error_last(), "/nonexistent/objects") != NULL);
}

static void test_odb__raw_roundtrip(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char data[100000];
	struct mbr_object *obj = NULL;
	struct mbr_oid id, want;
	struct stat st;
	uint64_t stored;
	int written = -1;

	UT_ASSERT(odb);
	fill_random(data, sizeof(data), 1);
	mbr_sha256(&want, data, sizeof(data));
	UT_CHECK(!mbr_odb_exists(odb, &want));
	UT_EQ_INT(mbr_odb_hash_write(&id, odb, &written, data, sizeof(data),
				     MBR_ODB_TRY_COMPRESS), 0);
	UT_EQ_INT(written, 1);
	UT_EQ_INT(mbr_oid_cmp(&id, &want), 0);
	UT_CHECK(mbr_odb_exists(odb, &id));
	/* random bytes do not compress: stored raw, read-only */
	UT_ASSERT(stat(path_of(&id, 0), &st) == 0);
	UT_CHECK(!file_exists(path_of(&id, 1)));
	UT_EQ_INT(st.st_mode & 0777, 0444);
	UT_EQ_INT(st.st_size, sizeof(data));
	UT_EQ_INT(mbr_odb_stored_size(&stored, odb, &id), 0);
	UT_EQ_INT(stored, sizeof(data));
	UT_EQ_INT(mbr_odb_read(&obj, odb, &id), 0);
	UT_ASSERT(obj);
	UT_CHECK(!obj->compressed);
	UT_CHECK(same_bytes(obj, data, sizeof(data)));
	mbr_object_free(obj);
	mbr_object_free(NULL);
	UT_EQ_INT(mbr_odb_verify(odb, &id), 0);
	cleanup(odb);
}

static void test_odb__compressed_roundtrip(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char data[200000];
	struct mbr_object *obj = NULL;
	struct mbr_oid id;
	struct stat st;
	uint64_t stored;
	int written;

	UT_ASSERT(odb);
	fill_text(data, sizeof(data));
	UT_EQ_INT(mbr_odb_hash_write(&id, odb, &written, data, sizeof(data),
				     MBR_ODB_TRY_COMPRESS), 0);
	UT_EQ_INT(written, 1);
	UT_CHECK(!file_exists(path_of(&id, 0)));
	UT_ASSERT(stat(path_of(&id, 1), &st) == 0);
	UT_EQ_INT(st.st_mode & 0777, 0444);
	UT_CHECK(st.st_size < (off_t)sizeof(data) / 8);
	UT_EQ_INT(mbr_odb_stored_size(&stored, odb, &id), 0);
	UT_EQ_INT(stored, st.st_size);
	UT_EQ_INT(mbr_odb_read(&obj, odb, &id), 0);
	UT_ASSERT(obj);
	UT_CHECK(obj->compressed);
	UT_CHECK(same_bytes(obj, data, sizeof(data)));
	mbr_object_free(obj);
	UT_EQ_INT(mbr_odb_verify(odb, &id), 0);

	/* the same bytes with MBR_ODB_RAW exist already: nothing is added */
	UT_EQ_INT(mbr_odb_write(odb, &written, &id, data, sizeof(data),
				MBR_ODB_RAW), 0);
	UT_EQ_INT(written, 0);
	UT_CHECK(!file_exists(path_of(&id, 0)));
	cleanup(odb);
}

static void test_odb__raw_flag_never_compresses(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char data[50000];
	struct mbr_oid id;
	int written;

	UT_ASSERT(odb);
	fill_text(data, sizeof(data));
	UT_EQ_INT(mbr_odb_hash_write(&id, odb, &written, data, sizeof(data),
				     MBR_ODB_RAW), 0);
	UT_CHECK(file_exists(path_of(&id, 0)));
	UT_CHECK(!file_exists(path_of(&id, 1)));
	cleanup(odb);
}

static void test_odb__empty_object(void)
{
	struct mbr_odb *odb = fresh_odb();
	struct mbr_object *obj = NULL;
	struct mbr_oid id;
	char s[MBR_OID_STRSZ];
	int written;

	UT_ASSERT(odb);
	UT_EQ_INT(mbr_odb_hash_write(&id, odb, &written, "", 0,
				     MBR_ODB_TRY_COMPRESS), 0);
	UT_EQ_INT(written, 1);
	UT_EQ_STR(mbr_oid_fmt(s, &id), "sha256:e3b0c44298fc1c149afbf4c8996fb924"
		  "27ae41e4649b934ca495991b7852b855");
	UT_CHECK(file_exists(path_of(&id, 0)));
	UT_EQ_INT(mbr_odb_read(&obj, odb, &id), 0);
	UT_ASSERT(obj);
	UT_EQ_INT(obj->size, 0);
	UT_CHECK(obj->data != NULL);
	mbr_object_free(obj);
	UT_EQ_INT(mbr_odb_verify(odb, &id), 0);
	cleanup(odb);
}

static void test_odb__second_write_is_noop(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char data[4096];
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat before, after;
	struct mbr_oid id;
	int written;

	UT_ASSERT(odb);
	fill_random(data, sizeof(data), 2);
	UT_EQ_INT(mbr_odb_hash_write(&id, odb, &written, data, sizeof(data), 0), 0);
	UT_EQ_INT(written, 1);
	/* an old mtime shows any rewrite, however coarse the clock */
	UT_ASSERT(utimensat(AT_FDCWD, path_of(&id, 0), old, 0) == 0);
	UT_ASSERT(stat(path_of(&id, 0), &before) == 0);
	UT_EQ_INT(mbr_odb_write(odb, &written, &id, data, sizeof(data), 0), 0);
	UT_EQ_INT(written, 0);
	UT_ASSERT(stat(path_of(&id, 0), &after) == 0);
	UT_EQ_INT(after.st_ino, before.st_ino);
	UT_EQ_INT(after.st_mtime, 1000000000);
	cleanup(odb);
}

static void test_odb__verify_detects_flipped_byte(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char data[3 << 20];
	struct mbr_oid id;
	char s[MBR_OID_STRSZ];
	int written;

	UT_ASSERT(odb);
	fill_random(data, sizeof(data), 3);
	UT_EQ_INT(mbr_odb_hash_write(&id, odb, &written, data, sizeof(data), 0), 0);
	UT_EQ_INT(mbr_odb_verify(odb, &id), 0);
	UT_ASSERT(flip_byte(path_of(&id, 0), (2 << 20) + 12345) == 0);
	mbr_error_clear();
	UT_EQ_INT(mbr_odb_verify(odb, &id), MBR_ECORRUPT);
	UT_CHECK(strstr(mbr_error_last(), mbr_oid_fmt(s, &id)) != NULL);
	UT_CHECK(strstr(mbr_error_last(), "is corrupt (hashes to sha256:") != NULL);
	cleanup(odb);
}

static void test_odb__damaged_zst(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char data[100000];
	struct mbr_object *obj = NULL;
	struct mbr_oid id;
	char s[MBR_OID_STRSZ];
	struct stat st;
	int written;

	UT_ASSERT(odb);
	fill_text(data, sizeof(data));
	UT_EQ_INT(mbr_odb_hash_write(&id, odb, &written, data, sizeof(data),
				     MBR_ODB_TRY_COMPRESS), 0);
	UT_ASSERT(stat(path_of(&id, 1), &st) == 0);

	/* a flipped byte in the compressed payload */
	UT_ASSERT(flip_byte(path_of(&id, 1), st.st_size / 2) == 0);
	mbr_error_clear();
	UT_EQ_INT(mbr_odb_verify(odb, &id), MBR_ECORRUPT);
	UT_CHECK(strstr(mbr_error_last(), mbr_oid_fmt(s, &id)) != NULL);

	/* a truncated frame fails to decompress at all */
	UT_ASSERT(flip_byte(path_of(&id, 1), st.st_size / 2) == 0);
	UT_EQ_INT(mbr_odb_verify(odb, &id), 0);
	chmod(path_of(&id, 1), 0644);
	UT_ASSERT(truncate(path_of(&id, 1), st.st_size - 5) == 0);
	mbr_error_clear();
	UT_EQ_INT(mbr_odb_read(&obj, odb, &id), MBR_ECORRUPT);
	UT_CHECK(obj == NULL);
	UT_CHECK(strstr(mbr_error_last(), mbr_oid_fmt(s, &id)) != NULL);

	/* not a zstd frame at all */
	UT_ASSERT(truncate(path_of(&id, 1), 0) == 0);
	UT_EQ_INT(mbr_odb_read(&obj, odb, &id), MBR_ECORRUPT);
	cleanup(odb);
}

/* A frame that declares a size its data does not fill. */
static void test_odb__zst_short_of_declared_size(void)
{
	/* zstd frame: magic, FHD 0x20 (single segment, 1-byte size) = 5,
	 * one last raw block of 3 bytes "abc" */
	static const unsigned char frame[] = {
		0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x19, 0x00, 0x00,
		'a', 'b', 'c'
	};
	struct mbr_odb *odb = fresh_odb();
	struct mbr_object *obj = NULL;
	struct mbr_oid id;
	char dir[512];
	int fd;

	UT_ASSERT(odb);
	mbr_sha256(&id, "abcde", 5);
	snprintf(dir, sizeof(dir), "%s", path_of(&id, 1));
	*strrchr(dir, '/') = '\0';
	UT_ASSERT(mkdir(dir, 0755) == 0);
	fd = open(path_of(&id, 1), O_WRONLY | O_CREAT, 0644);
	UT_ASSERT(fd >= 0);
	UT_ASSERT(write(fd, frame, sizeof(frame)) == sizeof(frame));
	close(fd);
	mbr_error_clear();
	UT_EQ_INT(mbr_odb_read(&obj, odb, &id), MBR_ECORRUPT);
	UT_CHECK(strstr(mbr_error_last(), "is corrupt") != NULL);
	cleanup(odb);
}

struct seen {
	struct mbr_oid ids[16];
	uint64_t sizes[16];
	int n;
};

static int collect(const struct mbr_oid *id, uint64_t stored_size,
		   void *payload)
{
	struct seen *seen = payload;

	if (seen->n == 16)
		return -1;
	seen->ids[seen->n] = *id;
	seen->sizes[seen->n++] = stored_size;
	return 0;
}

static int stop_at_first(const struct mbr_oid *id, uint64_t stored_size,
			 void *payload)
{
	(*(int *)payload)++;
	return 42;
}

static const char *in_root(const char *rel)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return path;
}

static void touch(const char *rel)
{
	int fd = open(in_root(rel), O_WRONLY | O_CREAT, 0644);

	if (fd >= 0)
		close(fd);
}

static void test_odb__foreach_lists_exactly_the_objects(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char data[8][3000];
	struct mbr_oid ids[8];
	struct seen seen = { .n = 0 };
	int written, calls = 0;

	UT_ASSERT(odb);
	for (int i = 0; i < 8; i++) {
		if (i % 2)
			fill_text(data[i], sizeof(data[i]) - i);
		else
			fill_random(data[i], sizeof(data[i]), 10 + i);
		UT_EQ_INT(mbr_odb_hash_write(&ids[i], odb, &written, data[i],
					     sizeof(data[i]) - i,
					     MBR_ODB_TRY_COMPRESS), 0);
	}
	/* things that are not objects */
	mkdir(in_root("zz"), 0755);
	mkdir(in_root("AB"), 0755);
	mkdir(in_root("tmp"), 0755);
	touch("tmp/obj_leftover");
	touch("zz/00000000000000000000000000000000000000000000000000000000000000");
	touch("AB/00000000000000000000000000000000000000000000000000000000000000");
	touch("ab");
	{
		char hex[MBR_OID_HEXSZ + 1], rel[128];

		mbr_oid_tohex(hex, &ids[0]);
		snprintf(rel, sizeof(rel), "%.2s/%s.tmp", hex, hex + 2);
		touch(rel);
		snprintf(rel, sizeof(rel), "%.2s/%.61s", hex, hex + 2);
		touch(rel);
		snprintf(rel, sizeof(rel), "%.2s/%.61sA", hex, hex + 2);
		touch(rel);
	}

	UT_EQ_INT(mbr_odb_foreach(odb, collect, &seen), 0);
	UT_EQ_INT(seen.n, 8);
	for (int i = 0; i < 8; i++) {
		int hits = 0;

		for (int j = 0; j < seen.n; j++) {
			uint64_t size;

			if (mbr_oid_cmp(&ids[i], &seen.ids[j]))
				continue;
			hits++;
			UT_EQ_INT(mbr_odb_stored_size(&size, odb, &ids[i]), 0);
			UT_EQ_INT(seen.sizes[j], size);
		}
		UT_EQ_INT(hits, 1);
	}
	UT_EQ_INT(mbr_odb_foreach(odb, stop_at_first, &calls), 42);
	UT_EQ_INT(calls, 1);
	cleanup(odb);
}

static void test_odb__delete(void)
{
	struct mbr_odb *odb = fresh_odb();
	static unsigned char text[20000], rnd[20000];
	struct mbr_object *obj = (void *)1;
	struct mbr_oid a, b;
	char s[MBR_OID_STRSZ];
	int written;

	UT_ASSERT(odb);
	fill_text(text, sizeof(text));
	fill_random(rnd, sizeof(rnd), 4);
	UT_EQ_INT(mbr_odb_hash_write(&a, odb, &written, text, sizeof(text),
				     MBR_ODB_TRY_COMPRESS), 0);
	UT_EQ_INT(mbr_odb_hash_write(&b, odb, &written, rnd, sizeof(rnd), 0), 0);
	UT_EQ_INT(mbr_odb_delete(odb, &a), 0);
	UT_EQ_INT(mbr_odb_delete(odb, &b), 0);
	UT_CHECK(!mbr_odb_exists(odb, &a));
	UT_CHECK(!file_exists(path_of(&a, 1)));
	UT_CHECK(!file_exists(path_of(&b, 0)));
	mbr_error_clear();
	UT_EQ_INT(mbr_odb_delete(odb, &a), MBR_ENOTFOUND);
	UT_CHECK(strstr(mbr_error_last(), mbr_oid_fmt(s, &a)) != NULL);
	UT_EQ_INT(mbr_odb_read(&obj, odb, &b), MBR_ENOTFOUND);
	UT_CHECK(obj == NULL);
	UT_CHECK(strstr(mbr_error_last(), mbr_oid_fmt(s, &b)) != NULL);
	UT_EQ_INT(mbr_odb_verify(odb, &b), MBR_ENOTFOUND);
	cleanup(odb);
}

static void test_odb__prune_tmp(void)
{
	struct mbr_odb *odb = fresh_odb();
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	UT_ASSERT(odb);
	UT_EQ_INT(mbr_odb_prune_tmp(odb, 0), 0);	/* no tmp/ yet */
	UT_ASSERT(mkdir(in_root("tmp"), 0755) == 0);
	touch("tmp/old");
	touch("tmp/new");
	UT_ASSERT(utimensat(AT_FDCWD, in_root("tmp/old"), old, 0) == 0);
	UT_EQ_INT(mbr_odb_prune_tmp(odb, 3600), 0);
	UT_CHECK(!file_exists(in_root("tmp/old")));
	UT_CHECK(file_exists(in_root("tmp/new")));
	cleanup(odb);
}

#define RACERS 8

struct race {
	struct mbr_odb *odb;
	pthread_barrier_t start;
	const unsigned char *data;
	size_t len;
	struct mbr_oid id;
	int rc[RACERS], written[RACERS];
};

struct racer {
	struct race *race;
	int i;
};

static void *race_write(void *arg)
{
	struct racer *me = arg;
	struct race *r = me->race;

	pthread_barrier_wait(&r->start);
	r->rc[me->i] = mbr_odb_write(r->odb, &r->written[me->i], &r->id,
				     r->data, r->len, MBR_ODB_RAW);
	return NULL;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void test_odb__concurrent_writes_of_one_object(void)
{
	static unsigned char data[4 << 20];
	static struct race race;
	struct racer racers[RACERS];
	pthread_t tids[RACERS];
	char dir[512];
	int total = 0;

	race.odb = fresh_odb();
	UT_ASSERT(race.odb);
	fill_random(data, sizeof(data), 5);
	race.data = data;
	race.len = sizeof(data);
	mbr_sha256(&race.id, data, sizeof(data));
	pthread_barrier_init(&race.start, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){ &race, i };
		UT_ASSERT(!pthread_create(&tids[i], NULL, race_write, &racers[i]));
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(tids[i], NULL);
	pthread_barrier_destroy(&race.start);
	for (int i = 0; i < RACERS; i++) {
		UT_EQ_INT(race.rc[i], 0);
		total += race.written[i];
	}
	UT_CHECK(total >= 1);
	snprintf(dir, sizeof(dir), "%s", path_of(&race.id, 0));
	*strrchr(dir, '/') = '\0';
	UT_EQ_INT(count_entries(dir), 1);
	UT_EQ_INT(count_entries(in_root("tmp")), 0);
	UT_EQ_INT(mbr_odb_verify(race.odb, &race.id), 0);
	cleanup(race.odb);
}

/*
 * A batch: nothing is visible before commit; commit installs each new
 * object once (a duplicate in the batch and an object already stored are
 * not counted), read-only, with no temporary files left.
 */
static void test_odb__batch_commit(void)
{
	struct mbr_odb *odb = fresh_odb();
	struct mbr_odb_batch *b = NULL;
	unsigned char x[3000], y[5000], z[100];
	struct mbr_oid ix, iy, iz;
	uint64_t n = 99, bytes = 99;
	struct stat st;
	int written;

	UT_ASSERT(odb);
	fill_random(x, sizeof(x), 1);
	fill_random(y, sizeof(y), 2);
	fill_random(z, sizeof(z), 3);
	UT_EQ_INT(mbr_odb_hash_write(&iz, odb, &written, z, sizeof(z), MBR_ODB_RAW), 0);
	mbr_sha256(&ix, x, sizeof(x));
	mbr_sha256(&iy, y, sizeof(y));
	UT_EQ_INT(mbr_odb_batch_new(&b, odb), 0);
	UT_EQ_INT(mbr_odb_batch_write(b, &ix, x, sizeof(x), MBR_ODB_RAW), 0);
	UT_EQ_INT(mbr_odb_batch_write(b, &iy, y, sizeof(y), MBR_ODB_RAW), 0);
	UT_EQ_INT(mbr_odb_batch_write(b, &ix, x, sizeof(x), MBR_ODB_RAW), 0);
	UT_EQ_INT(mbr_odb_batch_write(b, &iz, z, sizeof(z), MBR_ODB_RAW), 0);
	UT_EQ_INT(mbr_odb_exists(odb, &ix), 0);
	UT_EQ_INT(mbr_odb_batch_commit(b, &n, &bytes), 0);
	UT_EQ_INT(n, 2);
	UT_EQ_INT(bytes, sizeof(x) + sizeof(y));
	UT_EQ_INT(mbr_odb_verify(odb, &ix), 0);
	UT_EQ_INT(mbr_odb_verify(odb, &iy), 0);
	UT_CHECK(!stat(path_of(&iy, 0), &st) && (st.st_mode & 0777) == 0444);
	mbr_odb_batch_free(b);
	UT_EQ_INT(count_entries(in_root("tmp")), 0);
	cleanup(odb);
}

/* A batch freed without commit leaves neither objects nor temp files. */
static void test_odb__batch_abandoned(void)
{
	struct mbr_odb *odb = fresh_odb();
	struct mbr_odb_batch *b = NULL;
	unsigned char x[3000];
	struct mbr_oid ix;

	UT_ASSERT(odb);
	fill_random(x, sizeof(x), 4);
	mbr_sha256(&ix, x, sizeof(x));
	UT_EQ_INT(mbr_odb_batch_new(&b, odb), 0);
	UT_EQ_INT(mbr_odb_batch_write(b, &ix, x, sizeof(x), MBR_ODB_RAW), 0);
	UT_EQ_INT(count_entries(in_root("tmp")), 1);
	mbr_odb_batch_free(b);
	UT_EQ_INT(count_entries(in_root("tmp")), 0);
	UT_EQ_INT(mbr_odb_exists(odb, &ix), 0);
	cleanup(odb);
}

static const struct unit_test tests[] = {
	UT(test_odb__batch_commit),
	UT(test_odb__batch_abandoned),
	UT(test_odb__open_missing_dir),
	UT(test_odb__raw_roundtrip),
	UT(test_odb__compressed_roundtrip),
	UT(test_odb__raw_flag_never_compresses),
	UT(test_odb__empty_object),
	UT(test_odb__second_write_is_noop),
	UT(test_odb__verify_detects_flipped_byte),
	UT(test_odb__damaged_zst),
	UT(test_odb__zst_short_of_declared_size),
	UT(test_odb__foreach_lists_exactly_the_objects),
	UT(test_odb__delete),
	UT(test_odb__prune_tmp),
	UT(test_odb__concurrent_writes_of_one_object),
	{ 0 }
};
UNIT_MAIN(tests)
