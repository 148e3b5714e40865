/*
 * evidence.c - evaluation records: build them, give them their canonical
 * text and id, store and index them beside the lineage, find them again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "kernels.h"
#include "mbr/error.h"
#include "mbr/evidence.h"
#include "mbr/lock.h"
#include "mbr/store.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static json_t *oid_json(const struct mbr_oid *id)
{
	char s[MBR_OID_STRSZ];

	return json_string(mbr_oid_fmt(s, id));
}

/* The adapters; with_name for the record, without for the run key, as
 * the same file may be named in many ways. */
static json_t *adapters_json(const struct mbr_evidence_inputs *in, int with_name)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < in->n_adapters; i++) {
		const struct mbr_evidence_adapter *ad = &in->adapters[i];

		json_array_append_new(a, json_pack("{s:o, s:f, s:s?}", "sha256",
						   oid_json(&ad->digest), "scale", ad->scale,
						   "name", with_name ? ad->name : NULL));
	}
	return a;
}

static json_t *inputs_json(const struct mbr_suite *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n_tasks; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "task", s->tasks[i].name,
						   "file", s->tasks[i].file,
						   "sha256", oid_json(&s->tasks[i].sha256)));
	return a;
}

int mbr_evidence_canonical(struct strbuf *out, const json_t *ev)
{
	char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);

	MBR_CHECK_ALLOC(text);
	strbuf_addstr(out, text);
	strbuf_addch(out, '\n');
	free(text);
	return 0;
}

/* The id of v's canonical text; v's reference is consumed. */
static int hash_json(struct mbr_oid *out, json_t *v)
{
	int err;

	MBR_CHECK_ALLOC(v);
	err = mbr_evidence_id(out, v);
	json_decref(v);
	return err;
}

int mbr_evidence_run_key(struct mbr_oid *out, const struct mbr_evidence_inputs *in)
{
	return hash_json(out, json_pack("{s:o, s:s, s:o, s:o, s:o}",
					"weights", oid_json(&in->weights),
					"engine", "mbr " MBR_VERSION,
					"suite", oid_json(&in->suite->sha256),
					"inputs", inputs_json(in->suite),
					"adapters", adapters_json(in, 0)));
}

/* ---- the machine and the run -------------------------------------- */

static json_t *cpu_model(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	json_t *model = NULL;

	while (f && !model && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			colon[1 + strspn(colon + 1, " ") + strcspn(colon + 1 + strspn(colon + 1, " "), "\n")] = '\0';
			model = json_string(colon + 1 + strspn(colon + 1, " "));
		}
	}
	if (f)
		fclose(f);
	return model ? model : json_string("unknown");
}

static json_t *machine_json(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	return json_pack("{s:o, s:i, s:I}", "cpu", cpu_model(),
			 "cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "memory_bytes", (json_int_t)(pages > 0 && page > 0 ? pages * page : 0));
}

static const char *kernels_name(void)
{
	switch (mbr_kernel_isa()) {
	case MBR_KERNELS_AVX512:
		return "avx512";
	case MBR_KERNELS_AVX2:
		return "avx2";
	default:
		return "ref";
	}
}

static json_t *run_json(const struct mbr_eval_stats *st, double seconds)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return json_pack("{s:f, s:I, s:f, s:I, s:f, s:I}", "seconds", seconds,
			 "prompt_tokens", (json_int_t)st->prompt_tokens,
			 "prompt_tps", st->prompt_seconds > 0 ?
				       st->prompt_tokens / st->prompt_seconds : 0.0,
			 "decode_tokens", (json_int_t)st->decode_tokens,
			 "decode_tps", st->decode_seconds > 0 ?
				       st->decode_tokens / st->decode_seconds : 0.0,
			 /* Linux reports KiB */
			 "peak_rss_bytes", (json_int_t)ru.ru_maxrss * 1024);
}

/*
 * UTC to the microsecond, fixed width, so comparing the strings orders
 * the records in time: "newest" must tell apart two runs of one second.
 */
static json_t *now_json(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%06ldZ", ts.tv_nsec / 1000);
	return json_string(buf);
}

int mbr_evidence_build(json_t **out, const struct mbr_evidence_inputs *in,
		       json_t *metrics, const struct mbr_eval_stats *stats,
		       double seconds)
{
	struct mbr_oid key;
	int err;

	if ((err = mbr_evidence_run_key(&key, in)))
		return err;
	*out = json_pack("{s:s, s:o, s:{s:o, s:s, s:s}, s:o, s:{s:s, s:s, s:o}, s:o,"
			 " s:{s:s, s:s, s:s, s:i}, s:o, s:o, s:O, s:o}",
			 "schema", MBR_EVIDENCE_SCHEMA, "run_key", oid_json(&key),
			 "weights", "manifest", oid_json(&in->weights),
			 "model", in->model, "commit", in->commit,
			 "adapters", adapters_json(in, 1),
			 "suite", "name", in->suite->name, "file", base_name(in->suite->path),
			 "sha256", oid_json(&in->suite->sha256),
			 "inputs", inputs_json(in->suite),
			 "engine", "name", "mbr", "version", MBR_VERSION,
			 "kernels", kernels_name(), "threads", in->n_threads,
			 "machine", machine_json(), "created", now_json(),
			 "metrics", metrics, "run", run_json(stats, seconds));
	MBR_CHECK_ALLOC(*out);
	return 0;
}

/* ---- validation --------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int corrupt(const char *what, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	mbr_error_set(MBR_ERROR_REPO, "evidence %s: %s", what, sb.buf);
	strbuf_release(&sb);
	return MBR_ECORRUPT;
}

static int get_oid(struct mbr_oid *out, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && !mbr_oid_parse(out, s) ? 0 : -1;
}

/* Every task's metrics are an object of numbers. */
static int check_metrics(json_t *metrics, const char *what)
{
	const char *task, *name;
	json_t *m, *v;

	if (!json_is_object(metrics))
		return corrupt(what, "\"metrics\" is not an object");
	json_object_foreach(metrics, task, m) {
		if (!json_is_object(m))
			return corrupt(what, "metrics of task '%s' are not an object", task);
		json_object_foreach(m, name, v)
			if (!json_is_number(v))
				return corrupt(what, "metric %s.%s is not a number", task, name);
	}
	return 0;
}

static int check_evidence(json_t *ev, const char *path)
{
	const char *schema = json_string_value(json_object_get(ev, "schema"));
	json_t *suite = json_object_get(ev, "suite");
	char weights_hex[MBR_OID_HEXSZ + 1], key_hex[MBR_OID_HEXSZ + 1], want[160];
	struct mbr_oid weights, key;

	if (!json_is_object(ev))
		return corrupt(path, "not a JSON object");
	if (!schema || strcmp(schema, MBR_EVIDENCE_SCHEMA))
		return corrupt(path, "schema is not \"%s\"", MBR_EVIDENCE_SCHEMA);
	if (get_oid(&weights, json_object_get(ev, "weights"), "manifest") ||
	    get_oid(&key, ev, "run_key"))
		return corrupt(path, "weights.manifest or run_key is not an id");
	if (!json_is_string(json_object_get(suite, "name")) ||
	    !json_is_string(json_object_get(ev, "created")))
		return corrupt(path, "no suite.name or created");
	snprintf(want, sizeof(want), "%s/%s.json", mbr_oid_tohex(weights_hex, &weights),
		 mbr_oid_tohex(key_hex, &key));
	if (strcmp(path, want) && strchr(path, '/'))
		return corrupt(path, "is filed under the wrong weights or key (its own: %s)",
			       want);
	return check_metrics(json_object_get(ev, "metrics"), path);
}

int mbr_evidence_parse(json_t **out, const char *buf, size_t len, const char *path)
{
	json_error_t jerr;
	json_t *ev = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	int err;

	*out = NULL;
	if (!ev)
		return corrupt(path, "line %d: %s", jerr.line, jerr.text);
	if ((err = check_evidence(ev, path))) {
		json_decref(ev);
		return err;
	}
	*out = ev;
	return 0;
}

/* ---- the index ---------------------------------------------------- */

static void index_path(struct strbuf *out, const struct mbr_oid *weights,
		       const struct mbr_oid *key)
{
	char hex[MBR_OID_HEXSZ + 1];

	strbuf_addf(out, "%s/", mbr_oid_tohex(hex, weights));
	if (key)
		strbuf_addf(out, "%s.json", mbr_oid_tohex(hex, key));
}

static int store_and_index(struct mbr_repo *repo, const struct mbr_oid *id,
			   const json_t *ev, const struct strbuf *text)
{
	struct mbr_lock lock = MBR_LOCK_INIT;
	struct strbuf path = STRBUF_INIT, msg = STRBUF_INIT;
	struct mbr_oid weights, key;
	char commit[MBR_COMMIT_HEXSZ + 1], hex[MBR_OID_STRSZ];
	struct mbr_tree_file f;
	int err, written;

	get_oid(&weights, json_object_get(ev, "weights"), "manifest");
	get_oid(&key, ev, "run_key");
	index_path(&path, &weights, &key);
	f.path = path.buf;
	f.data = text->buf;
	f.len = text->len;
	strbuf_addf(&msg, "evidence: %s on %s\n\nMbr-Evidence: %s\n",
		    json_string_value(json_object_get(json_object_get(ev, "suite"), "name")),
		    json_string_value(json_object_get(json_object_get(ev, "weights"), "model")),
		    mbr_oid_fmt(hex, id));
	if (!(err = mbr_odb_write(repo->odb, &written, id, text->buf, text->len, MBR_ODB_RAW)) &&
	    !(err = mbr_repo_lock(&lock, repo, "lineage.lock", MBR_LOCK_EXCLUSIVE))) {
		err = mbr_lineage_ref_put_file(commit, repo->lineage, MBR_EVIDENCE_REF, &f,
					       msg.buf);
		mbr_lock_release(&lock);
	}
	strbuf_release(&path);
	strbuf_release(&msg);
	return err;
}

int mbr_evidence_record(struct mbr_oid *id, struct mbr_repo *repo, const json_t *ev)
{
	struct mbr_lock gc_lock = MBR_LOCK_INIT;
	struct strbuf text = STRBUF_INIT;
	int err;

	if ((err = check_evidence((json_t *)ev, "(new)")) ||
	    (err = mbr_evidence_canonical(&text, ev)))
		return err;
	mbr_sha256(id, text.buf, text.len);
	/* gc must not collect the object before the ref names it */
	if (!(err = mbr_repo_lock(&gc_lock, repo, "gc.lock", MBR_LOCK_SHARED))) {
		err = store_and_index(repo, id, ev, &text);
		mbr_lock_release(&gc_lock);
	}
	strbuf_release(&text);
	return err;
}

struct each {
	mbr_evidence_cb cb;
	void *payload;
};

static int each_file(const struct mbr_tree_file *f, void *payload)
{
	struct each *e = payload;
	struct mbr_oid id;
	json_t *ev;
	int err;

	if ((err = mbr_evidence_parse(&ev, f->data, f->len, f->path)))
		return err;
	mbr_sha256(&id, f->data, f->len);
	err = e->cb(f->path, &id, ev, e->payload);
	json_decref(ev);
	return err;
}

int mbr_evidence_foreach(struct mbr_repo *repo, const struct mbr_oid *weights,
			 mbr_evidence_cb cb, void *payload)
{
	struct strbuf prefix = STRBUF_INIT;
	struct each e = { cb, payload };
	int err;

	if (weights)
		index_path(&prefix, weights, NULL);
	err = mbr_lineage_foreach_file(repo->lineage, MBR_EVIDENCE_REF, prefix.buf,
				       each_file, &e);
	strbuf_release(&prefix);
	/* no ref yet: nothing was ever recorded */
	if (err == MBR_ENOTFOUND) {
		mbr_error_clear();
		return 0;
	}
	return err;
}

int mbr_evidence_lookup(json_t **out, struct mbr_oid *id, struct mbr_repo *repo,
			const struct mbr_oid *weights, const struct mbr_oid *run_key)
{
	struct strbuf path = STRBUF_INIT;
	char *text = NULL;
	size_t len;
	int err;

	*out = NULL;
	index_path(&path, weights, run_key);
	err = mbr_lineage_read_file(&text, &len, repo->lineage, MBR_EVIDENCE_REF, path.buf);
	if (!err && !(err = mbr_evidence_parse(out, text, len, path.buf)))
		mbr_sha256(id, text, len);
	if (err == MBR_ENOTFOUND) {
		mbr_error_clear();
		err = 0;
	}
	free(text);
	strbuf_release(&path);
	return err;
}

struct newest {
	const char *suite;
	json_t *best;
};

static int take_newer(const char *path, const struct mbr_oid *id, json_t *ev, void *payload)
{
	struct newest *n = payload;
	const char *suite = json_string_value(json_object_get(json_object_get(ev, "suite"),
							      "name"));

	if (n->suite && strcmp(suite, n->suite))
		return 0;
	if (!n->best || strcmp(json_string_value(json_object_get(ev, "created")),
			       json_string_value(json_object_get(n->best, "created"))) >= 0) {
		json_decref(n->best);
		n->best = json_incref(ev);
	}
	return 0;
}

int mbr_evidence_newest(json_t **out, struct mbr_repo *repo, const char *commit,
			const char *suite)
{
	struct newest n = { suite, NULL };
	struct mbr_oid weights;
	int err = mbr_version_manifest_digest(&weights, repo, commit);

	if (!err)
		err = mbr_evidence_foreach(repo, &weights, take_newer, &n);

	*out = err ? NULL : n.best;
	if (err)
		json_decref(n.best);
	return err;
}

int mbr_evidence_id(struct mbr_oid *out, const json_t *ev)
{
	struct strbuf text = STRBUF_INIT;
	int err = mbr_evidence_canonical(&text, ev);

	if (!err)
		mbr_sha256(out, text.buf, text.len);
	strbuf_release(&text);
	return err;
}

json_t *mbr_evidence_flat_metrics(const json_t *ev)
{
	json_t *flat = json_object(), *task, *v;
	const char *name, *metric;
	char key[160];

	json_object_foreach(json_object_get(ev, "metrics"), name, task)
		json_object_foreach(task, metric, v) {
			snprintf(key, sizeof(key), "%s.%s", name, metric);
			json_object_set(flat, key, v);
		}
	return flat;
}

json_t *mbr_evidence_delta(const json_t *mine, const json_t *theirs)
{
	json_t *d = json_object(), *v;
	const char *key;

	json_object_foreach((json_t *)mine, key, v) {
		json_t *p = json_object_get(theirs, key);

		if (p)
			json_object_set_new(d, key, json_real(json_number_value(v) -
							      json_number_value(p)));
	}
	return d;
}

/* ---- comparing versions ------------------------------------------ */

static int add_suite(const char *path, const struct mbr_oid *id, json_t *ev, void *payload)
{
	json_t *name = json_object_get(json_object_get(ev, "suite"), "name");

	return json_object_set_new(payload, json_string_value(name), json_true()) ?
	       (mbr_error_oom(), MBR_ENOMEM) : 0;
}

static json_t *suite_delta(json_t *ea, json_t *eb, const char *suite)
{
	json_t *ma = mbr_evidence_flat_metrics(ea), *mb = mbr_evidence_flat_metrics(eb);
	char ha[MBR_OID_STRSZ], hb[MBR_OID_STRSZ];
	struct mbr_oid ia, ib;

	mbr_evidence_id(&ia, ea);
	mbr_evidence_id(&ib, eb);
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "suite", suite,
			 "old", mbr_oid_fmt(ha, &ia), "new", mbr_oid_fmt(hb, &ib),
			 "delta", mbr_evidence_delta(mb, ma), "old_metrics", ma,
			 "new_metrics", mb);
}

int mbr_evidence_diff(json_t **out, struct mbr_repo *repo, const char *a, const char *b)
{
	json_t *suites = json_object(), *v, *ea = NULL, *eb = NULL;
	struct mbr_oid weights;
	const char *suite;
	int err = suites && (*out = json_array()) ? 0 : (mbr_error_oom(), MBR_ENOMEM);

	if (!err && !(err = mbr_version_manifest_digest(&weights, repo, b)))
		err = mbr_evidence_foreach(repo, &weights, add_suite, suites);
	json_object_foreach(suites, suite, v) {
		if (err || (err = mbr_evidence_newest(&ea, repo, a, suite)) ||
		    (err = mbr_evidence_newest(&eb, repo, b, suite)))
			break;
		if (ea && eb && json_array_append_new(*out, suite_delta(ea, eb, suite)))
			err = (mbr_error_oom(), MBR_ENOMEM);
		json_decref(ea);
		json_decref(eb);
		ea = eb = NULL;
	}
	json_decref(suites);
	if (err && *out) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}
