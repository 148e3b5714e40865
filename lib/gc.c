/*
 * gc.c - delete the objects no version needs: mark everything the
 * manifests of all commits reachable from any branch or tag name, and
 * the evidence records indexed on refs/mbr/evidence, then sweep the
 * object store.
 *
 * Deleting on an incomplete mark would lose data for good, so a reachable
 * version that cannot be read stops gc before anything is deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/evidence.h"
#include "mbr/lock.h"
#include "mbr/store.h"

/* An add may hold the gc lock (shared) while it writes a big file. */
/* Leftovers in objects/tmp older than this are from a crashed writer. */
#define GC_TMP_MAX_AGE 3600

/*
 * The mark: an open-addressing set of ids. Ids are SHA-256 digests, so
 * their first bytes are already a good hash. The all-zero id marks an
 * empty slot; should a manifest name it, has_zero remembers that.
 */
struct oid_set {
	struct mbr_oid *slots;
	size_t mask;		/* slots - 1; slots is a power of two */
	size_t n;
	int has_zero;
};

static size_t set_slot(const struct oid_set *s, const struct mbr_oid *id)
{
	uint64_t h;
	size_t i;

	memcpy(&h, id->id, sizeof(h));
	for (i = h & s->mask; !mbr_oid_is_zero(&s->slots[i]) &&
	     mbr_oid_cmp(&s->slots[i], id); i = (i + 1) & s->mask)
		;
	return i;
}

static int set_contains(const struct oid_set *s, const struct mbr_oid *id)
{
	if (mbr_oid_is_zero(id))
		return s->has_zero;
	return s->slots && !mbr_oid_is_zero(&s->slots[set_slot(s, id)]);
}

static int set_grow(struct oid_set *s)
{
	struct oid_set bigger = { NULL, s->slots ? 2 * s->mask + 1 : 1023, s->n,
				  s->has_zero };

	bigger.slots = calloc(bigger.mask + 1, sizeof(*bigger.slots));
	MBR_CHECK_ALLOC(bigger.slots);
	for (size_t i = 0; s->slots && i <= s->mask; i++)
		if (!mbr_oid_is_zero(&s->slots[i]))
			bigger.slots[set_slot(&bigger, &s->slots[i])] = s->slots[i];
	free(s->slots);
	*s = bigger;
	return 0;
}

/* A mbr_manifest_object_cb: add id to the set. */
static int set_add(const struct mbr_oid *id, uint64_t size, void *payload)
{
	struct oid_set *s = payload;
	size_t i;

	if (mbr_oid_is_zero(id)) {
		s->has_zero = 1;
		return 0;
	}
	/* keep the load at most one half so probe runs stay short */
	if ((!s->slots || 2 * (s->n + 1) > s->mask + 1) && set_grow(s))
		return MBR_ENOMEM;
	i = set_slot(s, id);
	if (mbr_oid_is_zero(&s->slots[i])) {
		s->slots[i] = *id;
		s->n++;
	}
	return 0;
}

struct gc {
	struct mbr_repo *repo;
	struct mbr_gc_stats *stats;
	int dry_run;
	struct oid_set live;
};

static int mark_commit(const struct mbr_commit_info *info, void *payload)
{
	struct gc *gc = payload;
	struct mbr_version *v;
	int err = mbr_version_load(&v, gc->repo, info->id);

	if (err)
		return err;
	err = mbr_manifest_foreach_object(v->manifest, set_add, &gc->live);
	mbr_version_free(v);
	return err;
}

/* Evidence records are objects too, named by the evidence ref's tree;
 * hashed as they are, so even a record fsck would reject is kept. */
static int mark_evidence(const struct mbr_tree_file *f, void *payload)
{
	struct mbr_oid id;

	mbr_sha256(&id, f->data, f->len);
	return set_add(&id, f->len, payload);
}

static int mark_all_evidence(struct gc *gc)
{
	int err = mbr_lineage_foreach_file(gc->repo->lineage, MBR_EVIDENCE_REF, NULL,
					   mark_evidence, &gc->live);

	if (err == MBR_ENOTFOUND)	/* nothing recorded yet */
		mbr_error_clear();
	return err == MBR_ENOTFOUND ? 0 : err;
}

/* Mark, or say why nothing will be deleted. */
static int mark(struct gc *gc)
{
	char why[768];
	int err = mbr_lineage_walk(gc->repo->lineage, NULL, mark_commit, gc);

	if (!err)
		err = mark_all_evidence(gc);

	if (!err || err == MBR_ENOMEM)
		return err;
	snprintf(why, sizeof(why), "%s", mbr_error_last());
	mbr_error_set(MBR_ERROR_REPO, "not deleting anything: cannot tell what is reachable (%s); see mbr fsck",
		      why);
	return err;
}

static int sweep_object(const struct mbr_oid *id, uint64_t stored_size, void *payload)
{
	struct gc *gc = payload;
	int err;

	if (set_contains(&gc->live, id)) {
		gc->stats->objects_kept++;
		return 0;
	}
	/* a .zst and a raw copy of one object are listed twice but deleted
	 * together: the second delete finds nothing */
	err = gc->dry_run ? 0 : mbr_odb_delete(gc->repo->odb, id);
	if (err == MBR_ENOTFOUND)
		return 0;
	if (!err) {
		gc->stats->objects_removed++;
		gc->stats->bytes_removed += stored_size;
	}
	return err;
}

int mbr_store_gc(struct mbr_gc_stats *stats, struct mbr_repo *repo, int dry_run)
{
	struct gc gc = { repo, stats, dry_run, { NULL, 0, 0, 0 } };
	struct mbr_lock lock = MBR_LOCK_INIT;
	int err;

	memset(stats, 0, sizeof(*stats));
	if ((err = mbr_repo_lock(&lock, repo, "gc.lock", MBR_LOCK_EXCLUSIVE)))
		return err;
	/* the sweep deletes in the walk: readdir stays valid over unlinks */
	if (!(err = mark(&gc)) &&
	    !(err = mbr_odb_foreach(repo->odb, sweep_object, &gc)) && !dry_run)
		err = mbr_odb_prune_tmp(repo->odb, GC_TMP_MAX_AGE);
	mbr_lock_release(&lock);
	free(gc.live.slots);
	return err;
}
