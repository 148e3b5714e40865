/*
 * odb.h - the content-addressed object store under .mbr/objects/.
 *
 * An object is a byte string addressed by the SHA-256 of its uncompressed
 * bytes. It lives at objects/<2 hex>/<62 hex> holding exactly those bytes
 * (so it can be mmapped, and pushed as an OCI blob of the same digest), or,
 * when zstd saves at least an eighth, at objects/<2 hex>/<62 hex>.zst holding
 * one zstd frame. Writes go to objects/tmp/, are fsynced, then renamed into
 * place: an object either exists whole or not at all. Writing an object
 * that exists is a no-op.
 */
#ifndef MBR_ODB_H
#define MBR_ODB_H

#include <stddef.h>
#include <stdint.h>
#include "hash.h"

struct mbr_odb;

enum mbr_odb_write_flags {
	MBR_ODB_RAW = 0,		/* always store raw (tensor data) */
	MBR_ODB_TRY_COMPRESS = 1	/* zstd when it saves >= 1/8 */
};

/* objects_dir must exist (mbr_repo_init makes it). */
int mbr_odb_open(struct mbr_odb **out, const char *objects_dir);
void mbr_odb_free(struct mbr_odb *odb);

/* 1 when present (raw or compressed), 0 when not. */
int mbr_odb_exists(struct mbr_odb *odb, const struct mbr_oid *id);

/*
 * Store data under id, which the caller computed as mbr_sha256(data). Sets
 * *written to 1 when a new object was written, 0 when it already existed.
 * Safe to call from several threads and processes at once.
 */
int mbr_odb_write(struct mbr_odb *odb, int *written, const struct mbr_oid *id,
		  const void *data, size_t len, int flags);
/* Hash then write; out receives the id. */
int mbr_odb_hash_write(struct mbr_oid *out, struct mbr_odb *odb, int *written,
		       const void *data, size_t len, int flags);

/*
 * A batch of writes made durable together, for writers of many objects
 * (mbr add). mbr_odb_batch_write() leaves each new object in objects/tmp/
 * with its writeback started but not waited for; mbr_odb_batch_commit()
 * then makes them durable with one syncfs (by then mostly written back
 * while the caller kept hashing), renames them into place and syncs
 * again for the names. An object name therefore only ever appears once its bytes are
 * on disk, as with mbr_odb_write(), without a disk wait per object.
 * batch_write may be called from several threads at once. Freeing a batch
 * that was not committed removes its temporary files.
 */
struct mbr_odb_batch;

int mbr_odb_batch_new(struct mbr_odb_batch **out, struct mbr_odb *odb);
int mbr_odb_batch_write(struct mbr_odb_batch *batch, const struct mbr_oid *id,
			const void *data, size_t len, int flags);
/* objects_written/bytes_written (uncompressed) count the new objects. */
int mbr_odb_batch_commit(struct mbr_odb_batch *batch, uint64_t *objects_written,
			 uint64_t *bytes_written);
void mbr_odb_batch_free(struct mbr_odb_batch *batch);

/* A read-only view of an object's uncompressed bytes. */
struct mbr_object {
	const unsigned char *data;
	uint64_t size;
	int compressed;		/* was stored as .zst */
	void *priv_map;		/* internal */
	size_t priv_maplen;
	void *priv_buf;
};

/*
 * Open an object: raw ones are mmapped (no copy), compressed ones are
 * decompressed into memory. The bytes are NOT re-hashed here (see verify).
 * A .zst object whose frame is damaged gives MBR_ECORRUPT.
 */
int mbr_odb_read(struct mbr_object **out, struct mbr_odb *odb, const struct mbr_oid *id);
void mbr_object_free(struct mbr_object *obj);

/* Size of the stored file on disk (compressed size for .zst). */
int mbr_odb_stored_size(uint64_t *out, struct mbr_odb *odb, const struct mbr_oid *id);

/* Re-hash an object: 0 when it matches its id, MBR_ECORRUPT when not,
 * MBR_ENOTFOUND when absent. */
int mbr_odb_verify(struct mbr_odb *odb, const struct mbr_oid *id);

/* Call cb for every object file (loose objects only; tmp/ is skipped).
 * A non-zero return from cb stops the walk and is returned. */
typedef int (*mbr_odb_foreach_cb)(const struct mbr_oid *id, uint64_t stored_size, void *payload);
int mbr_odb_foreach(struct mbr_odb *odb, mbr_odb_foreach_cb cb, void *payload);

/* Remove an object (both forms). MBR_ENOTFOUND when absent. */
int mbr_odb_delete(struct mbr_odb *odb, const struct mbr_oid *id);

/* Remove leftovers in objects/tmp/ older than max_age seconds. */
int mbr_odb_prune_tmp(struct mbr_odb *odb, int max_age);

#endif
