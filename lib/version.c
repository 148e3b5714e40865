/*
 * version.c - load a stored version: its commit's manifest and operator
 * record (see store.h).
 */
#include <stdlib.h>
#include "mbr/error.h"
#include "mbr/store.h"

void mbr_version_free(struct mbr_version *v)
{
	if (!v)
		return;
	mbr_manifest_free(v->manifest);
	json_decref(v->operator);
	free(v);
}

/*
 * Every version has both files, so a missing one means the commit was not
 * made by mbr or was damaged: MBR_ECORRUPT either way, naming the file.
 */
static int read_version_file(char **buf, size_t *len, struct mbr_repo *repo,
			     const char *commit, const char *rev, const char *file)
{
	int err = mbr_lineage_read_file(buf, len, repo->lineage, commit, file);

	if (err == MBR_ENOTFOUND) {
		mbr_error_set(MBR_ERROR_REPO, "%s:%s: missing (version %s is corrupt)",
			      rev, file, commit);
		return MBR_ECORRUPT;
	}
	return err;
}

static int load_manifest(struct mbr_version *v, struct mbr_repo *repo, const char *rev)
{
	struct strbuf what = STRBUF_INIT;
	char *buf;
	size_t len;
	int err = read_version_file(&buf, &len, repo, v->commit, rev, "manifest.json");

	if (err)
		return err;
	strbuf_addf(&what, "%s:manifest.json", rev);
	err = mbr_manifest_parse(&v->manifest, buf, len, what.buf);
	strbuf_release(&what);
	free(buf);
	return err;
}

static int load_operator(struct mbr_version *v, struct mbr_repo *repo, const char *rev)
{
	json_error_t jerr;
	char *buf;
	size_t len;
	int err = read_version_file(&buf, &len, repo, v->commit, rev, "operator.json");

	if (err)
		return err;
	v->operator = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!v->operator) {
		mbr_error_set(MBR_ERROR_REPO, "%s:operator.json: line %d: %s",
			      rev, jerr.line, jerr.text);
		return MBR_ECORRUPT;
	}
	return 0;
}

int mbr_version_load(struct mbr_version **out, struct mbr_repo *repo, const char *rev)
{
	struct mbr_version *v;
	int err;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	MBR_CHECK_ALLOC(v);
	if ((err = mbr_lineage_resolve(v->commit, repo->lineage, rev)) ||
	    (err = load_manifest(v, repo, rev)) ||
	    (err = load_operator(v, repo, rev))) {
		mbr_version_free(v);
		return err;
	}
	*out = v;
	return 0;
}
