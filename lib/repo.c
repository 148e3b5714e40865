/*
 * repo.c - create, find and open a registry (see repo.h for the layout).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mbr/error.h"
#include "mbr/lock.h"
#include "mbr/repo.h"

#define REPO_FORMAT_LINE "mbr-registry 1\n"

void mbr_repo_path(struct strbuf *out, const struct mbr_repo *repo, const char *rel)
{
	strbuf_reset(out);
	strbuf_addf(out, "%s/%s", repo->dir, rel);
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0777) && errno != EEXIST)
		return mbr_error_set_os("cannot create directory '%s'", path);
	return 0;
}

static int write_small_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return mbr_error_set_os("cannot create '%s'", path);
	fputs(text, f);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		return mbr_error_set_os("cannot write '%s'", path);
	}
	return fclose(f) ? mbr_error_set_os("cannot write '%s'", path) : 0;
}

/* A registry directory has a format file and a lineage repository; a
 * directory that merely holds a file called "format" is not one. */
static int is_registry(const char *mbrdir)
{
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int ok;

	strbuf_addf(&path, "%s/format", mbrdir);
	ok = !stat(path.buf, &st) && S_ISREG(st.st_mode);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/lineage.git", mbrdir);
	ok = ok && !stat(path.buf, &st) && S_ISDIR(st.st_mode);
	strbuf_release(&path);
	return ok;
}

int mbr_repo_init(char **created, const char *dir)
{
	static const char *const subdirs[] = { "objects", "objects/tmp", "hooks" };
	struct strbuf mbrdir = STRBUF_INIT, path = STRBUF_INIT;
	char abs[PATH_MAX];
	int err = 0;

	if (make_dir(dir))
		return MBR_EIO;
	if (!realpath(dir, abs))
		return mbr_error_set_os("cannot resolve '%s'", dir);
	strbuf_addf(&mbrdir, "%s/.mbr", abs);
	if (is_registry(mbrdir.buf)) {
		err = MBR_EEXISTS;
		mbr_error_set(MBR_ERROR_REPO, "a registry already exists in '%s'", mbrdir.buf);
		goto done;
	}
	if ((err = make_dir(mbrdir.buf)))
		goto done;
	for (size_t i = 0; i < MBR_ARRAY_SIZE(subdirs) && !err; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", mbrdir.buf, subdirs[i]);
		err = make_dir(path.buf);
	}
	if (err)
		goto done;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/lineage.git", mbrdir.buf);
	if ((err = mbr_lineage_init(path.buf)))
		goto done;
	/* format last: a registry without it is not a registry yet */
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/format", mbrdir.buf);
	if ((err = write_small_file(path.buf, REPO_FORMAT_LINE)))
		goto done;
	if (created)
		*created = strbuf_detach(&mbrdir, NULL);
done:
	strbuf_release(&mbrdir);
	strbuf_release(&path);
	return err;
}

static int check_format(const char *mbrdir)
{
	struct strbuf path = STRBUF_INIT;
	char line[64] = "";
	FILE *f;
	int err = 0;

	strbuf_addf(&path, "%s/format", mbrdir);
	f = fopen(path.buf, "r");
	if (!f || !fgets(line, sizeof(line), f))
		err = mbr_error_set_os("cannot read '%s'", path.buf);
	else if (strcmp(line, REPO_FORMAT_LINE)) {
		err = MBR_EUNSUPPORTED;
		mbr_error_set(MBR_ERROR_REPO, "'%s': unsupported registry format '%.*s'",
			      path.buf, (int)strcspn(line, "\n"), line);
	}
	if (f)
		fclose(f);
	strbuf_release(&path);
	return err;
}

/* Walk up from start; found receives the .mbr directory. */
static int discover(struct strbuf *found, const char *start)
{
	char cur[PATH_MAX];

	if (!realpath(start, cur))
		return mbr_error_set_os("cannot resolve '%s'", start);
	for (;;) {
		char *slash;

		strbuf_reset(found);
		if (is_registry(cur)) {	/* start was the .mbr directory itself */
			strbuf_addstr(found, cur);
			return 0;
		}
		strbuf_addf(found, "%s/.mbr", strcmp(cur, "/") ? cur : "");
		if (is_registry(found->buf))
			return 0;
		slash = strrchr(cur, '/');
		if (!slash || !strcmp(cur, "/"))
			break;
		if (slash == cur)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	mbr_error_set(MBR_ERROR_REPO, "not an mbr registry (or any parent up to /): %s", start);
	return MBR_ENOTFOUND;
}

/* Long enough for an add of a very large model to finish. */
#define REPO_LOCK_WAIT_MS (10 * 60 * 1000)

int mbr_repo_lock(struct mbr_lock *lock, const struct mbr_repo *repo,
		  const char *name, int mode)
{
	struct strbuf path = STRBUF_INIT;
	int err;

	mbr_repo_path(&path, repo, name);
	err = mbr_lock_acquire(lock, path.buf, mode, REPO_LOCK_WAIT_MS);
	strbuf_release(&path);
	return err;
}

int mbr_repo_open(struct mbr_repo **out, const char *start)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
	struct mbr_repo *repo;
	int err;

	*out = NULL;
	if ((err = discover(&dir, start ? start : ".")) || (err = check_format(dir.buf))) {
		strbuf_release(&dir);
		return err;
	}
	repo = calloc(1, sizeof(*repo));
	if (!repo) {
		strbuf_release(&dir);
		MBR_CHECK_ALLOC(repo);
	}
	repo->dir = strbuf_detach(&dir, NULL);
	mbr_repo_path(&path, repo, "objects");
	err = mbr_odb_open(&repo->odb, path.buf);
	if (!err) {
		mbr_repo_path(&path, repo, "lineage.git");
		err = mbr_lineage_open(&repo->lineage, path.buf);
	}
	strbuf_release(&path);
	if (err) {
		mbr_repo_free(repo);
		return err;
	}
	*out = repo;
	return 0;
}

void mbr_repo_free(struct mbr_repo *repo)
{
	if (!repo)
		return;
	mbr_odb_free(repo->odb);
	mbr_lineage_free(repo->lineage);
	free(repo->dir);
	free(repo);
}
