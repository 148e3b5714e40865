/*
 * export.c - write a stored version's file back, byte for byte.
 *
 * The file is the concatenation of the manifest's layout segments. The
 * bytes are hashed as they are written and the result must have the
 * manifest's SHA-256 and size: a damaged or incomplete store then fails
 * loudly instead of producing a plausible but wrong model file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mbr/error.h"
#include "mbr/store.h"

struct export_out {
	int fd;
	const char *path;	/* for messages */
	struct mbr_sha256_ctx sha;
	uint64_t written;
	uint64_t total;
	mbr_progress_fn progress;
	void *payload;
};

static int out_write(struct export_out *o, const void *data, uint64_t len)
{
	const unsigned char *p = data;

	mbr_sha256_update(&o->sha, data, len);
	while (len) {
		ssize_t n = write(o->fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return mbr_error_set_os("cannot write '%s'", o->path);
		p += n;
		len -= n;
		o->written += n;
		if (o->progress)
			o->progress(o->payload, n, o->total);
	}
	return 0;
}

static int out_zeros(struct export_out *o, uint64_t len)
{
	static const unsigned char zeros[65536];
	int err = 0;

	while (len && !err) {
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		err = out_write(o, zeros, n);
		len -= n;
	}
	return err;
}

static int out_object(struct export_out *o, struct mbr_odb *odb, const struct mbr_oid *id,
		      uint64_t expect)
{
	struct mbr_object *obj = NULL;
	char hex[MBR_OID_STRSZ];
	int err;

	if ((err = mbr_odb_read(&obj, odb, id)))
		return err;
	if (obj->size != expect) {
		mbr_error_set(MBR_ERROR_ODB, "object %s has %llu bytes, the manifest says %llu",
			      mbr_oid_fmt(hex, id), (unsigned long long)obj->size,
			      (unsigned long long)expect);
		err = MBR_ECORRUPT;
	} else {
		err = out_write(o, obj->data, obj->size);
	}
	mbr_object_free(obj);
	return err;
}

static int out_tensor(struct export_out *o, struct mbr_odb *odb,
		      const struct mbr_manifest_tensor *t)
{
	int err = 0;

	for (size_t c = 0; c < t->n_chunks && !err; c++) {
		uint64_t off = c * t->chunk_size;
		uint64_t len = t->size - off < t->chunk_size ? t->size - off : t->chunk_size;

		err = out_object(o, odb, &t->chunks[c], len);
	}
	return err;
}

static int write_segments(struct export_out *o, struct mbr_repo *repo,
			  const struct mbr_manifest *m)
{
	int err = 0;

	for (size_t i = 0; i < m->n_segments && !err; i++) {
		const struct mbr_manifest_segment *s = &m->segments[i];

		if (s->kind == MBR_SEG_ZEROS)
			err = out_zeros(o, s->size);
		else if (s->kind == MBR_SEG_OBJECT)
			err = out_object(o, repo->odb, &s->id, s->size);
		else
			err = out_tensor(o, repo->odb, &m->tensors[s->tensor]);
	}
	return err;
}

static int check_digest(struct export_out *o, const struct mbr_manifest *m)
{
	struct mbr_oid got;
	char want_hex[MBR_OID_STRSZ], got_hex[MBR_OID_STRSZ];

	mbr_sha256_final(&got, &o->sha);
	if (o->written == m->file_size && !mbr_oid_cmp(&got, &m->file_sha256))
		return 0;
	mbr_error_set(MBR_ERROR_ODB, "exported bytes do not match the manifest "
		      "(%s, %llu bytes; expected %s, %llu bytes): the store is damaged, run 'mbr fsck'",
		      mbr_oid_fmt(got_hex, &got), (unsigned long long)o->written,
		      mbr_oid_fmt(want_hex, &m->file_sha256), (unsigned long long)m->file_size);
	return MBR_ECORRUPT;
}

static int export_to_fd(struct mbr_repo *repo, const struct mbr_manifest *m,
			struct export_out *o)
{
	int err;

	if ((err = mbr_sha256_init(&o->sha)))
		return err;
	err = write_segments(o, repo, m);
	if (err) {
		struct mbr_oid discard;

		mbr_sha256_final(&discard, &o->sha);
		return err;
	}
	return check_digest(o, m);
}

int mbr_store_export(struct mbr_repo *repo, const struct mbr_manifest *m,
		     const char *path, mbr_progress_fn progress, void *payload)
{
	struct export_out o = { .path = path, .total = m->file_size, .progress = progress,
				.payload = payload };
	struct strbuf tmp = STRBUF_INIT;
	int err;

	if (!strcmp(path, "-")) {
		o.fd = 1;
		o.path = "standard output";
		return export_to_fd(repo, m, &o);
	}
	strbuf_addf(&tmp, "%s.mbr-tmp-XXXXXX", path);
	o.fd = mkstemp(tmp.buf);
	if (o.fd < 0) {
		err = mbr_error_set_os("cannot create a temporary file next to '%s'", path);
		strbuf_release(&tmp);
		return err;
	}
	/* mkstemp makes 0600; an exported model is an ordinary file */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(o.fd, 0666 & ~mask))
		err = mbr_error_set_os("cannot chmod '%s'", tmp.buf);
	else
		err = export_to_fd(repo, m, &o);
	if (!err && fsync(o.fd))
		err = mbr_error_set_os("cannot fsync '%s'", tmp.buf);
	if (close(o.fd) && !err)
		err = mbr_error_set_os("cannot close '%s'", tmp.buf);
	if (!err && rename(tmp.buf, path))
		err = mbr_error_set_os("cannot rename '%s' to '%s'", tmp.buf, path);
	if (err)
		unlink(tmp.buf);
	strbuf_release(&tmp);
	return err;
}
