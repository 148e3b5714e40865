/*
 * fsck.c - check a registry: refs, the versions reachable from them, and
 * every object's content against its id.
 *
 * Problems go to the caller's callback, one call each, and fsck goes on:
 * the point is to list all the damage. Only a registry that cannot be read
 * at all (or running out of memory) ends it early with an error.
 */
#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/evidence.h"
#include "mbr/lock.h"
#include "mbr/pool.h"
#include "mbr/store.h"

/* fsck holds the gc lock shared, so no gc deletes objects under it. */

struct fsck_object {
	struct mbr_oid id;
	uint64_t size;		/* stored */
};

struct fsck {
	struct mbr_repo *repo;
	struct mbr_fsck_stats *stats;
	mbr_fsck_problem_fn problem;
	void *payload;
	mbr_progress_fn progress;
	void *progress_payload;
	pthread_mutex_t mutex;		/* serialises problem reports */

	/* refs pass: the commits good refs point at */
	char **tips;
	size_t n_tips, alloc_tips;

	/* commits pass; the sets are tsearch(3) trees of malloc'd keys */
	void *seen;			/* commit ids checked */
	void *missing;			/* object ids reported missing */
	const char *commit;		/* being checked */
	const struct mbr_manifest *manifest;
	int fatal;			/* a callback's error that stops fsck */

	/* objects pass */
	struct fsck_object *objects;
	size_t n_objects, alloc_objects;
	uint64_t total_bytes;
};

static void report(struct fsck *f, const char *kind, const char *what,
		   const char *problem)
{
	pthread_mutex_lock(&f->mutex);
	f->stats->problems++;
	if (f->problem)
		f->problem(f->payload, kind, what, problem);
	pthread_mutex_unlock(&f->mutex);
}

/* items (of item bytes each), grown to hold more than n; NULL on OOM. */
static void *grow(void *items, size_t *alloc, size_t n, size_t item)
{
	size_t want = *alloc ? 2 * *alloc : 256;

	if (n < *alloc)
		return items;
	if (!(items = realloc(items, want * item))) {
		mbr_error_oom();
		return NULL;
	}
	*alloc = want;
	return items;
}

/* ---- refs --------------------------------------------------------- */

static int add_tip(struct fsck *f, const char *target)
{
	char **tips = grow(f->tips, &f->alloc_tips, f->n_tips, sizeof(*tips));

	if (!tips)
		return MBR_ENOMEM;
	f->tips = tips;
	if (!(tips[f->n_tips] = strdup(target))) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	f->n_tips++;
	return 0;
}

/* An evidence record parses, sits under its own weights and run key,
 * and its object is in the store (whose content the objects pass checks). */
static int check_evidence(const struct mbr_tree_file *file, void *payload)
{
	struct fsck *f = payload;
	char hex[MBR_OID_STRSZ];
	struct mbr_oid id;
	json_t *ev;

	mbr_sha256(&id, file->data, file->len);
	if (mbr_evidence_parse(&ev, file->data, file->len, file->path))
		report(f, "evidence", file->path, mbr_error_last());
	else if (!mbr_odb_exists(f->repo->odb, &id))
		report(f, "object", mbr_oid_fmt(hex, &id), "missing (an evidence record)");
	json_decref(ev);
	return 0;
}

static int check_ref(const char *refname, const char *target, int target_ok,
		     void *payload)
{
	struct fsck *f = payload;
	struct strbuf msg = STRBUF_INIT;

	f->stats->refs_checked++;
	/* records, not versions: their commits hold no manifest */
	if (target_ok && !strcmp(refname, MBR_EVIDENCE_REF))
		return mbr_lineage_foreach_file(f->repo->lineage, refname, NULL,
						check_evidence, f);
	if (target_ok)
		return add_tip(f, target);
	if (*target)
		strbuf_addf(&msg, "points at missing commit %s", target);
	else
		strbuf_addstr(&msg, "cannot be resolved");
	report(f, "ref", refname, msg.buf);
	strbuf_release(&msg);
	return 0;
}

/* ---- commits ------------------------------------------------------ */

/* Where the manifest uses id, for the message about it missing. */
static void describe_use(struct strbuf *out, const struct mbr_manifest *m,
			 const struct mbr_oid *id)
{
	for (size_t i = 0; i < m->n_segments; i++)
		if (m->segments[i].kind == MBR_SEG_OBJECT &&
		    !mbr_oid_cmp(&m->segments[i].id, id)) {
			strbuf_addf(out, "segment %zu", i);
			return;
		}
	for (size_t i = 0; i < m->n_tensors; i++)
		for (size_t c = 0; c < m->tensors[i].n_chunks; c++)
			if (!mbr_oid_cmp(&m->tensors[i].chunks[c], id)) {
				strbuf_addf(out, "tensor '%s'", m->tensors[i].name);
				if (m->tensors[i].n_chunks > 1)
					strbuf_addf(out, " chunk %zu", c);
				return;
			}
}

static int cmp_oid(const void *a, const void *b)
{
	return mbr_oid_cmp(a, b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Add a copy of key (size bytes) to the tree *root: 1 when it was new,
 * 0 when it was there already, MBR_ENOMEM. */
static int set_insert(void **root, const void *key, size_t size,
		      int (*cmp)(const void *, const void *))
{
	void *copy;

	if (tfind(key, root, cmp))
		return 0;
	copy = malloc(size);
	if (!copy || !tsearch(memcpy(copy, key, size), root, cmp)) {
		free(copy);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	return 1;
}

static int check_needed(const struct mbr_oid *id, uint64_t size, void *payload)
{
	struct fsck *f = payload;
	struct strbuf msg = STRBUF_INIT;
	char hex[MBR_OID_STRSZ];
	int new;

	if (mbr_odb_exists(f->repo->odb, id))
		return 0;
	if ((new = set_insert(&f->missing, id, sizeof(*id), cmp_oid)) <= 0)
		return new;
	strbuf_addf(&msg, "missing (needed by %s ", f->commit);
	describe_use(&msg, f->manifest, id);
	strbuf_addch(&msg, ')');
	report(f, "object", mbr_oid_fmt(hex, id), msg.buf);
	strbuf_release(&msg);
	return 0;
}

static int check_commit(const struct mbr_commit_info *info, void *payload)
{
	struct fsck *f = payload;
	struct mbr_version *v;
	int err = set_insert(&f->seen, info->id, sizeof(info->id), cmp_str);

	if (err <= 0)
		return f->fatal = err;
	f->stats->commits_checked++;
	if (mbr_version_load(&v, f->repo, info->id)) {
		report(f, mbr_error_last_class() == MBR_ERROR_MANIFEST ?
		       "manifest" : "commit", info->id, mbr_error_last());
		return 0;
	}
	f->commit = info->id;
	f->manifest = v->manifest;
	err = mbr_manifest_foreach_object(v->manifest, check_needed, f);
	mbr_version_free(v);
	return f->fatal = err;
}

/*
 * Walk from each good ref on its own: one walk from all refs would stop at
 * the first dangling one, and fsck should look at everything else. A tip
 * seen already had its whole history walked.
 */
static int check_commits(struct fsck *f)
{
	for (size_t i = 0; i < f->n_tips; i++) {
		struct strbuf msg = STRBUF_INIT;

		if (tfind(f->tips[i], &f->seen, cmp_str))
			continue;
		if (!mbr_lineage_walk(f->repo->lineage, f->tips[i], check_commit, f))
			continue;
		if (f->fatal)
			return f->fatal;
		strbuf_addf(&msg, "history cannot be walked: %s", mbr_error_last());
		report(f, "commit", f->tips[i], msg.buf);
		strbuf_release(&msg);
	}
	return 0;
}

/* ---- objects ------------------------------------------------------ */

static int collect_object(const struct mbr_oid *id, uint64_t stored_size,
			  void *payload)
{
	struct fsck *f = payload;
	struct fsck_object *objects = grow(f->objects, &f->alloc_objects,
					   f->n_objects, sizeof(*objects));

	if (!objects)
		return MBR_ENOMEM;
	f->objects = objects;
	f->objects[f->n_objects].id = *id;
	f->objects[f->n_objects++].size = stored_size;
	f->total_bytes += stored_size;
	return 0;
}

/* One job per object; the last error is per thread, so it is this one's. */
static int verify_object(void *ctx, size_t job)
{
	struct fsck *f = ctx;
	const struct fsck_object *o = &f->objects[job];
	char hex[MBR_OID_STRSZ];

	if (mbr_odb_verify(f->repo->odb, &o->id))
		report(f, "object", mbr_oid_fmt(hex, &o->id), mbr_error_last());
	if (f->progress)
		f->progress(f->progress_payload, o->size, f->total_bytes);
	return 0;
}

static int check_objects(struct fsck *f)
{
	int err = mbr_odb_foreach(f->repo->odb, collect_object, f);

	if (err)
		return err;
	f->stats->objects_checked = f->n_objects;
	return mbr_parallel_run(f->n_objects, 0, verify_object, f);
}

int mbr_store_fsck(struct mbr_fsck_stats *stats, struct mbr_repo *repo,
		   mbr_fsck_problem_fn problem, void *payload,
		   mbr_progress_fn progress, void *progress_payload)
{
	struct fsck f = { .repo = repo, .stats = stats, .problem = problem,
			  .payload = payload, .progress = progress,
			  .progress_payload = progress_payload };
	struct mbr_lock lock = MBR_LOCK_INIT;
	int err;

	memset(stats, 0, sizeof(*stats));
	if ((err = mbr_repo_lock(&lock, repo, "gc.lock", MBR_LOCK_SHARED)))
		return err;
	pthread_mutex_init(&f.mutex, NULL);
	if (!(err = mbr_lineage_foreach_ref(repo->lineage, check_ref, &f)) &&
	    !(err = check_commits(&f)))
		err = check_objects(&f);
	pthread_mutex_destroy(&f.mutex);
	mbr_lock_release(&lock);
	for (size_t i = 0; i < f.n_tips; i++)
		free(f.tips[i]);
	free(f.tips);
	tdestroy(f.seen, free);
	tdestroy(f.missing, free);
	free(f.objects);
	return err;
}
