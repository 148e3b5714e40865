/*
 * u-weights.c - a stored version yields the same metadata and tensor bytes
 * as the file it was added from, chunked or not.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "mbr/store.h"
#include "mbr/weights.h"

static char dir[256];

static const char *fixture(const char *name)
{
	static char path[512];
	const char *root = getenv("MBR_FIXTURES");

	snprintf(path, sizeof(path), "%s/models/%s", root ? root : "../../../t/fixtures", name);
	return path;
}

static struct mbr_repo *new_repo(void)
{
	struct mbr_repo *repo = NULL;

	snprintf(dir, sizeof(dir), "/tmp/u-weights.XXXXXX");
	if (!mkdtemp(dir) || mbr_repo_init(NULL, dir) || mbr_repo_open(&repo, dir))
		return NULL;
	return repo;
}

static void remove_repo(struct mbr_repo *repo)
{
	char cmd[300];

	mbr_repo_free(repo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
}

static void check_same(const char *file, const char *chunk_size)
{
	struct mbr_repo *repo = new_repo();
	struct mbr_add_options opts = { .name = "m" };
	struct mbr_add_result res;
	struct mbr_weights *a = NULL, *b = NULL;

	UT_ASSERT(repo);
	if (chunk_size)
		setenv("MBR_TEST_CHUNK_SIZE", chunk_size, 1);
	UT_EQ_INT(mbr_store_add(&res, repo, fixture(file), &opts), 0);
	unsetenv("MBR_TEST_CHUNK_SIZE");
	UT_EQ_INT(mbr_weights_open_file(&a, fixture(file)), 0);
	UT_EQ_INT(mbr_weights_open_version(&b, repo, "m"), 0);
	UT_ASSERT(a && b);
	UT_EQ_INT(a->mf->n_kv, b->mf->n_kv);
	UT_EQ_INT(a->mf->n_tensors, b->mf->n_tensors);
	for (size_t i = 0; i < a->mf->n_kv; i++) {
		const struct mbr_kv *x = &a->mf->kv[i], *y = &b->mf->kv[i];

		UT_EQ_STR(x->key, y->key);
		UT_EQ_INT(x->value_len, y->value_len);
		UT_CHECK(!memcmp(a->mf->data + x->value_offset, b->mf->data + y->value_offset,
				 x->value_len));
	}
	for (size_t i = 0; i < a->mf->n_tensors; i++) {
		const struct mbr_tensor_info *t = &a->mf->tensors[i], *u = NULL;
		const void *bytes = mbr_weights_tensor(b, t->name, &u);

		UT_ASSERT(bytes && u);
		UT_EQ_INT(t->size, u->size);
		UT_CHECK(!memcmp(a->data[i], bytes, t->size));
	}
	UT_CHECK(mbr_weights_tensor(b, "no.such.tensor", NULL) == NULL);
	mbr_weights_free(a);
	mbr_weights_free(b);
	remove_repo(repo);
}

static void test_weights__version_equals_file(void)
{
	check_same("tiny-Q4_0.gguf", NULL);
}

static void test_weights__chunked_version_equals_file(void)
{
	check_same("tiny-Q8_0.gguf", "100000");
}

static void test_weights__unknown_revision(void)
{
	struct mbr_repo *repo = new_repo();
	struct mbr_weights *w = NULL;

	UT_ASSERT(repo);
	UT_EQ_INT(mbr_weights_open_version(&w, repo, "nosuch"), MBR_ENOTFOUND);
	UT_CHECK(w == NULL);
	UT_CHECK(strstr(mbr_error_last(), "nosuch") != NULL);
	remove_repo(repo);
}

static const struct unit_test tests[] = {
	UT(test_weights__version_equals_file),
	UT(test_weights__chunked_version_equals_file),
	UT(test_weights__unknown_revision),
	{ 0 }
};
UNIT_MAIN(tests)
