/*
 * add.c - store a model file as a new version (mbr add).
 *
 * The file is mmapped and parsed (header only). Then all cores work
 * through one job list: job 0 streams the whole file through SHA-256 (the
 * digest model_signing and users check exports against, inherently
 * sequential, so it starts first), and every other job hashes one region
 * or tensor chunk straight from the mapping and writes it to the object
 * store if it is new. Each byte is read by exactly two consumers, the
 * whole-file hash and its region's hash, and copied at most once, into
 * its object. New objects are written as one batch (odb.h): the disk
 * catches up while the cores hash, and one wait at the end makes them all
 * durable before the manifest is committed under the lineage lock.
 *
 * A stat cache (.mbr/addcache) remembers files already added, keyed by
 * device, inode, size, mtime and ctime like git's index, so adding an
 * unchanged file again does not read it at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mbr/error.h"
#include "mbr/lock.h"
#include "mbr/pool.h"
#include "mbr/store.h"

/* Whole-file hashing reports progress in pieces of this size. */
#define HASH_STEP (16u << 20)

struct add_job {
	size_t region;		/* index into mf->regions */
	uint64_t offset;	/* absolute file offset of this piece */
	uint64_t len;
	struct mbr_oid *id;	/* where to put the piece's object id */
};

struct add_ctx {
	const struct mbr_modelfile *mf;
	struct mbr_odb_batch *batch;
	struct add_job *jobs;	/* jobs[0] is the whole-file hash */
	size_t n_jobs;
	struct mbr_region_store *stores;
	struct mbr_oid file_sha256;
	mbr_progress_fn progress;
	void *progress_payload;
};

char *mbr_store_default_name(const char *path)
{
	static const char *const exts[] = { ".gguf", ".safetensors" };
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	for (size_t i = 0; i < MBR_ARRAY_SIZE(exts); i++) {
		size_t el = strlen(exts[i]);

		if (len > el && !strcmp(base + len - el, exts[i])) {
			len -= el;
			break;
		}
	}
	return strndup(base, len);
}

int mbr_spdx_is_valid(const char *s)
{
	/* An SPDX expression: ids of [A-Za-z0-9.+-] (LicenseRef-x too) joined
	 * by AND / OR / WITH, with parentheses. Good enough to catch typos
	 * like a file path or an empty string without an SPDX list. */
	int depth = 0, want_id = 1;

	if (!s || !*s)
		return 0;
	while (*s) {
		size_t n;

		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s == '(' && want_id) {
			depth++, s++;
			continue;
		}
		if (*s == ')' && !want_id && depth > 0) {
			depth--, s++;
			continue;
		}
		n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+-:");
		if (!n)
			return 0;
		if (want_id) {
			want_id = 0;
		} else if ((n == 3 && !strncmp(s, "AND", 3)) || (n == 2 && !strncmp(s, "OR", 2)) ||
			   (n == 4 && !strncmp(s, "WITH", 4))) {
			want_id = 1;
		} else {
			return 0;
		}
		s += n;
	}
	return !want_id && depth == 0;
}

static int is_all_zero(const unsigned char *p, uint64_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

static int hash_whole_file(struct add_ctx *ctx)
{
	struct mbr_sha256_ctx sha;
	uint64_t off = 0;
	int err;

	if ((err = mbr_sha256_init(&sha)))
		return err;
	while (off < ctx->mf->size) {
		uint64_t n = ctx->mf->size - off < HASH_STEP ? ctx->mf->size - off : HASH_STEP;

		mbr_sha256_update(&sha, ctx->mf->data + off, n);
		off += n;
		if (ctx->progress)
			ctx->progress(ctx->progress_payload, n, ctx->mf->size);
	}
	mbr_sha256_final(&ctx->file_sha256, &sha);
	return 0;
}

static int store_piece(struct add_ctx *ctx, const struct add_job *job)
{
	const struct mbr_region *r = &ctx->mf->regions[job->region];
	int flags = r->kind == MBR_REGION_TENSOR ? MBR_ODB_RAW : MBR_ODB_TRY_COMPRESS;
	const unsigned char *data = ctx->mf->data + job->offset;

	mbr_sha256(job->id, data, job->len);
	return mbr_odb_batch_write(ctx->batch, job->id, data, job->len, flags);
}

static int run_add_job(void *payload, size_t i)
{
	struct add_ctx *ctx = payload;

	return i == 0 ? hash_whole_file(ctx) : store_piece(ctx, &ctx->jobs[i]);
}

/*
 * One job per object to store: a region, or a chunk of a big tensor.
 * Padding that is all zeros needs no object. The jobs are ordered biggest
 * first after job 0, so no thread is left with a large tensor at the end.
 */
static int cmp_job_len_desc(const void *a, const void *b)
{
	const struct add_job *x = a, *y = b;

	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

static int plan_jobs(struct add_ctx *ctx)
{
	const struct mbr_modelfile *mf = ctx->mf;
	uint64_t chunk = mbr_chunk_size();
	size_t n = 1;

	ctx->stores = calloc(mf->n_regions ? mf->n_regions : 1, sizeof(*ctx->stores));
	MBR_CHECK_ALLOC(ctx->stores);
	for (size_t i = 0; i < mf->n_regions; i++) {
		const struct mbr_region *r = &mf->regions[i];
		struct mbr_region_store *s = &ctx->stores[i];

		if (r->kind == MBR_REGION_PADDING && is_all_zero(mf->data + r->offset, r->len)) {
			s->zeros = 1;
			continue;
		}
		s->n_ids = r->kind == MBR_REGION_TENSOR && r->len > chunk ?
			(size_t)((r->len + chunk - 1) / chunk) : 1;
		s->chunk_size = s->n_ids > 1 ? chunk : r->len;
		s->ids = calloc(s->n_ids, sizeof(*s->ids));
		MBR_CHECK_ALLOC(s->ids);
		n += s->n_ids;
	}
	ctx->jobs = calloc(n, sizeof(*ctx->jobs));
	MBR_CHECK_ALLOC(ctx->jobs);
	ctx->n_jobs = 1;
	for (size_t i = 0; i < mf->n_regions; i++) {
		const struct mbr_region *r = &mf->regions[i];
		struct mbr_region_store *s = &ctx->stores[i];

		for (size_t c = 0; c < s->n_ids; c++) {
			struct add_job *j = &ctx->jobs[ctx->n_jobs++];
			uint64_t off = c * s->chunk_size;

			j->region = i;
			j->offset = r->offset + off;
			j->len = r->len - off < s->chunk_size ? r->len - off : s->chunk_size;
			j->id = &s->ids[c];
		}
	}
	qsort(ctx->jobs + 1, ctx->n_jobs - 1, sizeof(*ctx->jobs), cmp_job_len_desc);
	return 0;
}

static void free_ctx(struct add_ctx *ctx)
{
	if (ctx->stores)
		for (size_t i = 0; i < ctx->mf->n_regions; i++)
			free(ctx->stores[i].ids);
	free(ctx->stores);
	free(ctx->jobs);
}

/* ---- the stat cache ------------------------------------------------ */

struct stat_key {
	unsigned long long dev, ino, size;
	long long mtime_s, mtime_ns, ctime_s, ctime_ns;
};

static void stat_key_of(struct stat_key *k, const struct stat *st)
{
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime_s = st->st_mtim.tv_sec;
	k->mtime_ns = st->st_mtim.tv_nsec;
	k->ctime_s = st->st_ctim.tv_sec;
	k->ctime_ns = st->st_ctim.tv_nsec;
}

static void stat_key_fmt(struct strbuf *sb, const struct stat_key *k)
{
	strbuf_addf(sb, "%llu %llu %llu %lld.%09lld %lld.%09lld", k->dev, k->ino, k->size,
		    k->mtime_s, k->mtime_ns, k->ctime_s, k->ctime_ns);
}

/*
 * The commit a file with this stat was stored as, or "" when unknown.
 * Lines: "<dev> <ino> <size> <mtime> <ctime> <commit>". Anything else in
 * the file is ignored: the cache only ever saves work, never decides.
 */
static void stat_cache_lookup(char commit[MBR_COMMIT_HEXSZ + 1], struct mbr_repo *repo,
			      const struct stat_key *key)
{
	struct strbuf path = STRBUF_INIT, want = STRBUF_INIT;
	char line[256];
	FILE *f;

	commit[0] = '\0';
	mbr_repo_path(&path, repo, "addcache");
	stat_key_fmt(&want, key);
	strbuf_addch(&want, ' ');
	f = fopen(path.buf, "r");
	while (f && fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\n");

		if (len == want.len + MBR_COMMIT_HEXSZ && !strncmp(line, want.buf, want.len)) {
			memcpy(commit, line + want.len, MBR_COMMIT_HEXSZ);
			commit[MBR_COMMIT_HEXSZ] = '\0';
		}
	}
	if (f)
		fclose(f);
	strbuf_release(&path);
	strbuf_release(&want);
}

/* Record key -> commit, replacing older entries for the same file.
 * Called with the lineage lock held, so writers do not interleave. */
static void stat_cache_record(struct mbr_repo *repo, const struct stat_key *key,
			      const char *commit)
{
	struct strbuf path = STRBUF_INIT, tmp = STRBUF_INIT, text = STRBUF_INIT, same = STRBUF_INIT;
	char line[256];
	FILE *f;
	int fd;

	/* A file changed within the timestamp's granularity of being cached
	 * could look unchanged later (git's "racy" entries): don't cache. */
	if (time(NULL) - key->mtime_s < 2 || time(NULL) - key->ctime_s < 2)
		return;
	mbr_repo_path(&path, repo, "addcache");
	strbuf_addf(&same, "%llu %llu ", key->dev, key->ino);
	f = fopen(path.buf, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, same.buf, same.len) && strchr(line, '\n'))
			strbuf_addstr(&text, line);
	if (f)
		fclose(f);
	stat_key_fmt(&text, key);
	strbuf_addf(&text, " %s\n", commit);
	strbuf_addf(&tmp, "%s.tmp", path.buf);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		int ok = write(fd, text.buf, text.len) == (ssize_t)text.len;

		close(fd);
		if (!ok || rename(tmp.buf, path.buf))
			unlink(tmp.buf);
	}
	strbuf_release(&path);
	strbuf_release(&tmp);
	strbuf_release(&text);
	strbuf_release(&same);
}

static int object_missing(const struct mbr_oid *id, uint64_t size, void *odb)
{
	return !mbr_odb_exists(odb, id);
}

/* The manifest of a cached commit, when all its objects are present. */
static int manifest_from_cache(struct mbr_manifest **out, struct mbr_repo *repo,
			       const char *commit)
{
	char *text = NULL;
	size_t len;
	int err;

	*out = NULL;
	if ((err = mbr_lineage_read_file(&text, &len, repo->lineage, commit, "manifest.json")))
		return err;
	err = mbr_manifest_parse(out, text, len, commit);
	free(text);
	if (!err && mbr_manifest_foreach_object(*out, object_missing, repo->odb)) {
		mbr_manifest_free(*out);
		*out = NULL;
		err = MBR_ENOTFOUND;
	}
	return err;
}

/* ---- reading the file ---------------------------------------------- */

static int manifest_from_file(struct mbr_manifest **out, struct mbr_add_result *res,
			      struct mbr_repo *repo, const struct mbr_modelfile *mf,
			      const struct mbr_add_options *opts)
{
	struct add_ctx ctx = { .mf = mf, .progress = opts->progress,
			       .progress_payload = opts->progress_payload };
	const struct mbr_kv *lic = mbr_modelfile_kv(mf, "general.license");
	const char *license = opts->license;
	int err;

	if (!license && lic && lic->type == MBR_GGUF_STRING && mbr_spdx_is_valid(lic->str))
		license = lic->str;
	if (!(err = mbr_odb_batch_new(&ctx.batch, repo->odb)) &&
	    !(err = plan_jobs(&ctx)) &&
	    !(err = mbr_parallel_run(ctx.n_jobs, opts->n_threads, run_add_job, &ctx)) &&
	    !(err = mbr_odb_batch_commit(ctx.batch, &res->objects_written, &res->bytes_written)))
		err = mbr_manifest_from_modelfile(out, mf, ctx.stores, &ctx.file_sha256, license);
	mbr_odb_batch_free(ctx.batch);
	free_ctx(&ctx);
	return err;
}

/* ---- committing ---------------------------------------------------- */

static int is_add(const struct mbr_add_options *opts)
{
	return !opts->operator || !strcmp(opts->operator, "add");
}

static const char *base_name(const char *path)
{
	const char *base = strrchr(path, '/');

	return base ? base + 1 : path;
}

/* add records the file itself: its name, SHA-256 and size. */
static json_t *add_operator(const struct mbr_manifest *m, const char *path)
{
	char digest[MBR_OID_STRSZ];

	return json_pack("{s:s, s:{s:s, s:s, s:I}}", "operator", "add", "params",
			 "source", base_name(path),
			 "sha256", mbr_oid_fmt(digest, &m->file_sha256),
			 "size", (json_int_t)m->file_size);
}

/* An input version by commit and by the digest of its manifest, so the
 * record names the exact weights even if the commit were rewritten. */
int mbr_version_manifest_digest(struct mbr_oid *out, struct mbr_repo *repo,
				const char *commit)
{
	char *text = NULL;
	size_t len;
	int err;

	if ((err = mbr_lineage_read_file(&text, &len, repo->lineage, commit, "manifest.json")))
		return err;
	mbr_sha256(out, text, len);
	free(text);
	return 0;
}

static int input_entry(json_t **out, struct mbr_repo *repo, const char *commit)
{
	char digest[MBR_OID_STRSZ];
	struct mbr_oid id;
	int err;

	if ((err = mbr_version_manifest_digest(&id, repo, commit)))
		return err;
	*out = json_pack("{s:s, s:s}", "commit", commit,
			 "manifest_sha256", mbr_oid_fmt(digest, &id));
	MBR_CHECK_ALLOC(*out);
	return 0;
}

/* The input versions, each by commit and manifest digest. */
static int inputs_json(json_t **out, struct mbr_repo *repo,
		       const struct mbr_add_options *opts)
{
	json_t *inputs = json_array();
	int err = 0;

	MBR_CHECK_ALLOC(inputs);
	for (size_t i = 0; i < opts->n_parents && !err; i++) {
		json_t *in = NULL;

		if (!(err = input_entry(&in, repo, opts->parents[i])) &&
		    json_array_append_new(inputs, in))
			err = MBR_ENOMEM;
	}
	if (err) {
		json_decref(inputs);
		return err;
	}
	*out = inputs;
	return 0;
}

static int breed_operator(json_t **out, struct mbr_repo *repo,
			  const struct mbr_add_options *opts)
{
	json_t *inputs;
	int err;

	if ((err = inputs_json(&inputs, repo, opts)))
		return err;
	*out = json_pack("{s:s, s:o, s:o}", "operator", opts->operator, "params",
			 opts->params ? json_incref(opts->params) : json_object(),
			 "inputs", inputs);
	MBR_CHECK_ALLOC(*out);
	return 0;
}

/*
 * A file made outside mbr from stored versions (a fine-tune, say) names
 * them as breeds name their inputs; an adapter's base is named under
 * "adapter" instead.
 */
static int add_inputs(json_t *op, struct mbr_repo *repo, const struct mbr_add_options *opts)
{
	json_t *inputs;
	int err;

	if (!opts->n_parents || opts->adapter_base)
		return 0;
	if ((err = inputs_json(&inputs, repo, opts)))
		return err;
	if (json_object_set_new(op, "inputs", inputs)) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	return 0;
}

/* An adapter names its base version as an input is named. */
static int adapter_entry(json_t *op, struct mbr_repo *repo, const char *base)
{
	json_t *in = NULL;
	int err;

	if ((err = input_entry(&in, repo, base)))
		return err;
	if (json_object_set_new(op, "adapter", json_pack("{s:o}", "base", in))) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	return 0;
}

static int operator_json(struct strbuf *out, struct mbr_repo *repo,
			 const struct mbr_manifest *m, const char *path,
			 const struct mbr_add_options *opts)
{
	json_t *op = NULL;
	char *text;
	int err = 0;

	if (is_add(opts))
		op = add_operator(m, path);
	else if ((err = breed_operator(&op, repo, opts)))
		return err;
	if (op && is_add(opts) && (err = add_inputs(op, repo, opts))) {
		json_decref(op);
		return err;
	}
	if (op && opts->adapter_base && (err = adapter_entry(op, repo, opts->adapter_base))) {
		json_decref(op);
		return err;
	}
	text = op ? json_dumps(op, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;
	json_decref(op);
	if (!text) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	strbuf_addf(out, "%s\n", text);
	free(text);
	return 0;
}

static void commit_message(struct strbuf *out, const char *path,
			   const struct mbr_add_options *opts)
{
	const char *op = is_add(opts) ? "add" : opts->operator;

	strbuf_addf(out, "%s %s\n\n", op, opts->summary ? opts->summary : base_name(path));
	if (opts->message && *opts->message)
		strbuf_addf(out, "%s\n\n", opts->message);
	strbuf_addf(out, "Mbr-Operator: %s\n", op);
}

/* The head's manifest equals text: the model already is this file. */
static int head_has_manifest(struct mbr_repo *repo, const char *head, const struct strbuf *text)
{
	char *cur = NULL;
	size_t len = 0;
	int same;

	if (mbr_lineage_read_file(&cur, &len, repo->lineage, head, "manifest.json"))
		return 0;
	same = len == text->len && !memcmp(cur, text->buf, len);
	free(cur);
	return same;
}

static int is_listed(const char *id, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], id))
			return 1;
	return 0;
}

/* The branch's head first (when it is not an input), then the inputs,
 * each once. */
static int commit_parents(const char ***out, size_t *n, const char *head,
			  const struct mbr_add_options *opts)
{
	const char **p = calloc(opts->n_parents + 1, sizeof(*p));

	MBR_CHECK_ALLOC(p);
	*n = 0;
	if (head && !is_listed(head, opts->parents, opts->n_parents))
		p[(*n)++] = head;
	for (size_t i = 0; i < opts->n_parents; i++)
		if (!is_listed(opts->parents[i], p, *n))
			p[(*n)++] = opts->parents[i];
	*out = p;
	return 0;
}

static int commit_version(struct mbr_add_result *res, struct mbr_repo *repo,
			  const struct mbr_manifest *m, const char *path,
			  const struct mbr_add_options *opts, const struct stat_key *key)
{
	struct strbuf manifest = STRBUF_INIT, op = STRBUF_INIT, msg = STRBUF_INIT;
	struct mbr_lock lock = MBR_LOCK_INIT;
	char head[MBR_COMMIT_HEXSZ + 1];
	const char **parents = NULL;
	size_t n_parents;
	int err, has_head;

	if ((err = mbr_manifest_write_json(&manifest, m)) ||
	    (err = operator_json(&op, repo, m, path, opts)))
		goto done;
	commit_message(&msg, path, opts);
	if ((err = mbr_repo_lock(&lock, repo, "lineage.lock", MBR_LOCK_EXCLUSIVE)))
		goto done;
	err = mbr_lineage_branch_head(head, repo->lineage, res->name);
	has_head = !err;
	if (err && err != MBR_ENOTFOUND)
		goto unlock;
	if (has_head && head_has_manifest(repo, head, &manifest)) {
		memcpy(res->commit, head, sizeof(head));
		res->unchanged = 1;
		err = 0;
	} else if (!(err = commit_parents(&parents, &n_parents, has_head ? head : NULL, opts))) {
		struct mbr_tree_file files[] = {
			{ "manifest.json", manifest.buf, manifest.len },
			{ "operator.json", op.buf, op.len },
		};

		err = mbr_lineage_commit(res->commit, repo->lineage, res->name, parents,
					 n_parents, files, MBR_ARRAY_SIZE(files), msg.buf);
	}
	/* A breed's file is a temporary one: nothing to remember it by. */
	if (!err && is_add(opts))
		stat_cache_record(repo, key, res->commit);
unlock:
	mbr_lock_release(&lock);
done:
	free(parents);
	strbuf_release(&manifest);
	strbuf_release(&op);
	strbuf_release(&msg);
	return err;
}

/* ---- mbr_store_add ------------------------------------------------- */

static int check_options(struct mbr_add_result *res, const char *path,
			 const struct mbr_add_options *opts)
{
	char *name = opts->name ? strdup(opts->name) : mbr_store_default_name(path);

	MBR_CHECK_ALLOC(name);
	if (!mbr_lineage_name_is_valid(name) || strlen(name) >= sizeof(res->name)) {
		mbr_error_set(MBR_ERROR_INVALID, "'%s' is not a valid model name%s", name,
			      opts->name ? "" : " (choose one with --name)");
		free(name);
		return MBR_EINVALID;
	}
	strcpy(res->name, name);
	free(name);
	if (opts->license && !mbr_spdx_is_valid(opts->license)) {
		mbr_error_set(MBR_ERROR_INVALID, "'%s' is not an SPDX license expression",
			      opts->license);
		return MBR_EINVALID;
	}
	return 0;
}

static int replace_license(struct mbr_manifest *m, const char *license)
{
	if (!license)
		return 0;
	free(m->license);
	m->license = strdup(license);
	MBR_CHECK_ALLOC(m->license);
	return 0;
}

int mbr_store_add(struct mbr_add_result *res, struct mbr_repo *repo, const char *path,
		  const struct mbr_add_options *opts)
{
	struct mbr_modelfile *mf = NULL;
	struct mbr_manifest *m = NULL;
	struct mbr_lock gc_lock = MBR_LOCK_INIT;
	char cached[MBR_COMMIT_HEXSZ + 1];
	struct stat_key key;
	struct stat st;
	int err;

	memset(res, 0, sizeof(*res));
	if ((err = check_options(res, path, opts)))
		return err;
	if (stat(path, &st))
		return mbr_error_set_os("cannot stat '%s'", path), MBR_ENOTFOUND;
	stat_key_of(&key, &st);
	res->file_size = st.st_size;
	/* Held shared from the first object written to the commit naming it,
	 * so a concurrent gc cannot delete objects not yet referenced. */
	if ((err = mbr_repo_lock(&gc_lock, repo, "gc.lock", MBR_LOCK_SHARED)))
		return err;
	cached[0] = '\0';
	if (is_add(opts))
		stat_cache_lookup(cached, repo, &key);
	if (cached[0] && !manifest_from_cache(&m, repo, cached))
		res->from_cache = 1;
	else if (!(err = mbr_modelfile_open(&mf, path)))
		err = manifest_from_file(&m, res, repo, mf, opts);
	if (!err && !(err = replace_license(m, opts->license)))
		err = commit_version(res, repo, m, path, opts, &key);
	mbr_lock_release(&gc_lock);
	mbr_manifest_free(m);
	mbr_modelfile_free(mf);
	return err;
}
