/*
 * add.c - mbr add FILE [--name NAME] [-m MSG] [--license SPDX-ID]
 *                      [--base REV | --parent REV...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/lineage.h"
#include "mbr/lora.h"
#include "mbr/store.h"

static const char *const add_usage[] = {
	"mbr add <file> [--name <name>] [-m <msg>] [--license <spdx-id>]\n"
	"        [--base <rev> | --parent <rev>...]", NULL
};

static void print_result_json(const struct mbr_add_result *res)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I}",
			      "commit", res->commit, "name", res->name,
			      "unchanged", res->unchanged,
			      "objects_written", (json_int_t)res->objects_written,
			      "bytes_written", (json_int_t)res->bytes_written,
			      "file_size", (json_int_t)res->file_size);

	print_json(o);
}

/*
 * An adapter made for the version base: it must fit it (lora.h), and the
 * version records base as its parent and in operator.json. Dies if not.
 */
static void set_adapter_base(struct mbr_add_options *aopts, char *commit,
			     struct mbr_repo *repo, const char *path, const char *base)
{
	struct mbr_lora *l = NULL;
	struct mbr_weights *w = NULL;

	if (mbr_lineage_resolve(commit, repo->lineage, base) ||
	    mbr_weights_open_version(&w, repo, base) ||
	    mbr_lora_open_file(&l, path) || mbr_lora_check(l, w))
		die("%s", mbr_error_last());
	mbr_lora_free(l);
	mbr_weights_free(w);
	aopts->adapter_base = commit;
	aopts->parents = (const char *const *)&aopts->adapter_base;
	aopts->n_parents = 1;
}

/*
 * Versions the file was made from outside mbr (a fine-tune of them, say):
 * they become its parents and operator.json's inputs. Dies on a bad rev.
 */
static const char **resolve_parents(struct mbr_repo *repo, const struct string_list *revs)
{
	const char **ids = calloc(revs->nr, sizeof(*ids));
	char (*commits)[MBR_COMMIT_HEXSZ + 1] = calloc(revs->nr, sizeof(*commits));

	if (!ids || !commits)
		die("out of memory");
	for (int i = 0; i < revs->nr; i++) {
		if (mbr_lineage_resolve(commits[i], repo->lineage, revs->items[i]))
			die("%s", mbr_error_last());
		ids[i] = commits[i];
	}
	return ids;
}

int cmd_add(int argc, const char **argv)
{
	struct mbr_add_options aopts = { 0 };
	struct mbr_add_result res;
	struct mbr_repo *repo;
	struct progress *progress;
	int json = 0, quiet = 0;
	const char *base = NULL;
	char base_commit[MBR_COMMIT_HEXSZ + 1];
	struct string_list parent_revs = { 0 };
	const char **parents = NULL;
	struct option opts[] = {
		OPT_STRING(0, "name", &aopts.name, "name", "model name (default: the file's stem)"),
		OPT_STRING('m', "message", &aopts.message, "msg", "text for the version's commit message"),
		OPT_STRING(0, "license", &aopts.license, "spdx-id", "license of the model (SPDX expression)"),
		OPT_STRING(0, "base", &base, "rev", "for a LoRA adapter: the version it was made for"),
		OPT_STRING_LIST(0, "parent", &parent_revs, "rev", "a version the file was made from (repeatable)"),
		OPT_INTEGER('t', "threads", &aopts.n_threads, "n", "threads to hash with (default: all cores)"),
		OPT_BOOL('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct stat st;
	int err;

	argc = parse_options(argc, argv, opts, add_usage);
	if (argc != 1 || (base && parent_revs.nr))
		usage_with_options(add_usage, opts);
	repo = setup_repo();
	if (base)
		set_adapter_base(&aopts, base_commit, repo, argv[0], base);
	if (parent_revs.nr) {
		parents = resolve_parents(repo, &parent_revs);
		aopts.parents = parents;
		aopts.n_parents = parent_revs.nr;
	}
	progress = quiet || json ? NULL : progress_start("Hashing", stat(argv[0], &st) ? 0 : (uint64_t)st.st_size);
	aopts.progress = progress ? progress_update : NULL;
	aopts.progress_payload = progress;
	err = mbr_store_add(&res, repo, argv[0], &aopts);
	progress_stop(progress);
	mbr_repo_free(repo);
	if (parents)
		free((char *)parents[0]);	/* the commits, one block */
	free(parents);
	string_list_clear(&parent_revs);
	if (err)
		return error("%s", mbr_error_last());
	if (json)
		print_result_json(&res);
	else if (!quiet && res.unchanged)
		printf("%s (%s unchanged)\n", res.commit, res.name);
	else if (!quiet)
		printf("%s\n", res.commit);
	return 0;
}
