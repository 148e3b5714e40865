/*
 * repo.h - a registry: the .mbr directory and what is in it.
 *
 *   .mbr/format          "mbr-registry 1"
 *   .mbr/objects/        the object store (odb.h)
 *   .mbr/lineage.git/    bare git repository of versions (lineage.h)
 *   .mbr/hooks/          reserved for hook programs (none run yet)
 *   .mbr/addcache        stat cache that makes re-adding a file instant
 *   .mbr/gc.lock, .mbr/lineage.lock   (lock.h)
 */
#ifndef MBR_REPO_H
#define MBR_REPO_H

#include "lineage.h"
#include "odb.h"
#include "strbuf.h"

struct mbr_repo {
	char *dir;			/* absolute path of the .mbr directory */
	struct mbr_odb *odb;
	struct mbr_lineage *lineage;
};

/* Create DIR/.mbr (DIR is made if missing). MBR_EEXISTS if already a registry.
 * *created receives the absolute .mbr path (malloc'd) when not NULL. */
int mbr_repo_init(char **created, const char *dir);

/*
 * Find and open a registry: start is a directory to search upward from
 * (NULL: the working directory). A directory that is itself a .mbr
 * directory, or contains one, is taken. MBR_ENOTFOUND when none is found.
 */
int mbr_repo_open(struct mbr_repo **out, const char *start);
void mbr_repo_free(struct mbr_repo *repo);

/*
 * Take one of the registry's locks ("gc.lock", "lineage.lock"; see lock.h
 * for who holds which how), waiting up to ten minutes for it.
 */
struct mbr_lock;
int mbr_repo_lock(struct mbr_lock *lock, const struct mbr_repo *repo,
		  const char *name, int mode);

/* out = <repo->dir>/<rel>. */
void mbr_repo_path(struct strbuf *out, const struct mbr_repo *repo, const char *rel);

#endif
