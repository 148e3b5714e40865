/*
 * gguf-rewrite.c - test-tool gguf-rewrite IN OUT [--set KEY=STRING]...
 *
 * Read a GGUF file and write it again through the project's GGUF writer,
 * every entry and tensor in order, replacing (or adding) the string
 * values given with --set. Without --set the output is byte-identical to
 * a file llama.cpp wrote, which makes a file that differs from another
 * in exactly one metadata value.
 */
#include <stdio.h>
#include <string.h>
#include "test-tool.h"
#include "mbr/error.h"
#include "mbr/gguf-write.h"
#include "mbr/modelfile.h"

#define MAX_SETS 16

struct rewrite {
	const char *keys[MAX_SETS];
	const char *values[MAX_SETS];
	size_t key_lens[MAX_SETS];
	int used[MAX_SETS];
	int n;
};

static int parse_sets(struct rewrite *rw, int argc, const char **argv)
{
	for (int i = 3; i < argc; i += 2) {
		const char *eq = i + 1 < argc ? strchr(argv[i + 1], '=') : NULL;

		if (strcmp(argv[i], "--set") || !eq || rw->n == MAX_SETS)
			return -1;
		rw->keys[rw->n] = argv[i + 1];
		rw->key_lens[rw->n] = eq - argv[i + 1];
		rw->values[rw->n++] = eq + 1;
	}
	return 0;
}

static int find_set(struct rewrite *rw, const char *key)
{
	for (int i = 0; i < rw->n; i++)
		if (strlen(key) == rw->key_lens[i] && !strncmp(key, rw->keys[i], rw->key_lens[i]))
			return i;
	return -1;
}

static int add_entries(struct mbr_gguf_writer *w, struct rewrite *rw,
		       const struct mbr_modelfile *mf)
{
	char key[256];
	int err = 0;

	for (size_t i = 0; i < mf->n_kv && !err; i++) {
		int s = find_set(rw, mf->kv[i].key);

		if (s < 0) {
			err = mbr_gguf_writer_copy_kv(w, mf, &mf->kv[i]);
			continue;
		}
		rw->used[s] = 1;
		err = mbr_gguf_writer_add_kv_string(w, mf->kv[i].key, rw->values[s]);
	}
	for (int s = 0; s < rw->n && !err; s++) {
		if (rw->used[s] || rw->key_lens[s] >= sizeof(key))
			continue;
		memcpy(key, rw->keys[s], rw->key_lens[s]);
		key[rw->key_lens[s]] = '\0';
		err = mbr_gguf_writer_add_kv_string(w, key, rw->values[s]);
	}
	for (size_t i = 0; i < mf->n_tensors && !err; i++) {
		const struct mbr_tensor_info *t = &mf->tensors[i];

		err = mbr_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne,
						 mf->data + t->offset, t->size);
	}
	return err;
}

int cmd__gguf_rewrite(int argc, const char **argv)
{
	struct rewrite rw = { 0 };
	struct mbr_modelfile *mf = NULL;
	struct mbr_gguf_writer *w = NULL;
	int err;

	if (argc < 3 || parse_sets(&rw, argc, argv)) {
		fprintf(stderr, "usage: test-tool gguf-rewrite <in> <out> [--set <key>=<string>]...\n");
		return 129;
	}
	err = mbr_modelfile_open(&mf, argv[1]);
	if (!err && mf->format != MBR_FORMAT_GGUF) {
		mbr_error_set(MBR_ERROR_INVALID, "%s is not a GGUF file", argv[1]);
		err = MBR_EINVALID;
	}
	if (!err)
		err = mbr_gguf_writer_new(&w, (uint32_t)mf->alignment);
	if (!err)
		err = add_entries(w, &rw, mf);
	if (!err)
		err = mbr_gguf_writer_write_file(w, argv[2]);
	if (err)
		fprintf(stderr, "gguf-rewrite: %s\n", mbr_error_last());
	mbr_gguf_writer_free(w);
	mbr_modelfile_free(mf);
	return err ? 1 : 0;
}
