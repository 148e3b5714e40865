/*
 * unit.h - a small clar-style harness for C unit tests, TAP output.
 *
 *   static void test_odb__roundtrip(void) { ... UT_ASSERT(x == 1); ... }
 *   static const struct unit_test tests[] = { UT(test_odb__roundtrip), { 0 } };
 *   UNIT_MAIN(tests)
 *
 * A failed check prints the expression, file:line and mbr_error_last(), and
 * marks the current test failed; the test continues with its next check
 * only where it uses UT_CHECK (UT_ASSERT returns from the test).
 */
#ifndef MBR_UNIT_H
#define MBR_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/random.h"

/*
 * A reproducible random stream (splitmix64) for test data; a test file
 * may choose its seed by defining UT_RNG_SEED before including this.
 */
#ifndef UT_RNG_SEED
#define UT_RNG_SEED 0x9e3779b97f4a7c15ull
#endif
static uint64_t ut_rng_state = UT_RNG_SEED;

static inline uint64_t ut_rng_next(void)
{
	return mbr_splitmix64(&ut_rng_state);
}

/* uniform in [-1, 1) */
static inline float ut_rng_float(void)
{
	return (float)((double)(ut_rng_next() >> 40) / (double)(1 << 23) - 1.0);
}

struct unit_test {
	const char *name;
	void (*fn)(void);
};
#define UT(fn) { #fn, fn }

static int ut_failed;

static inline void ut_fail(const char *expr, const char *file, int line)
{
	printf("# FAILED: %s at %s:%d (last error: %s)\n", expr, file, line,
	       mbr_error_last());
	ut_failed = 1;
}

#define UT_CHECK(c) do { if (!(c)) ut_fail(#c, __FILE__, __LINE__); } while (0)
#define UT_ASSERT(c) do { if (!(c)) { ut_fail(#c, __FILE__, __LINE__); return; } } while (0)
#define UT_EQ_INT(a, b) do { long long ut_a = (a), ut_b = (b); if (ut_a != ut_b) { \
	printf("# %lld != %lld\n", ut_a, ut_b); ut_fail(#a " == " #b, __FILE__, __LINE__); } } while (0)
#define UT_EQ_STR(a, b) do { const char *ut_a = (a), *ut_b = (b); \
	if (!ut_a || !ut_b || strcmp(ut_a, ut_b)) { \
	printf("# '%s' != '%s'\n", ut_a ? ut_a : "(null)", ut_b ? ut_b : "(null)"); \
	ut_fail(#a " == " #b, __FILE__, __LINE__); } } while (0)

static inline int unit_main(const struct unit_test *tests)
{
	int n = 0, bad = 0;
	const char *only = getenv("UT_ONLY");
	for (const struct unit_test *t = tests; t->name; t++)
		n++;
	printf("1..%d\n", n);
	for (int i = 0; i < n; i++) {
		if (only && !strstr(tests[i].name, only)) {
			printf("ok %d - %s # SKIP UT_ONLY\n", i + 1, tests[i].name);
			continue;
		}
		ut_failed = 0;
		mbr_error_clear();
		tests[i].fn();
		printf("%sok %d - %s\n", ut_failed ? "not " : "", i + 1, tests[i].name);
		bad += ut_failed;
	}
	return bad ? 1 : 0;
}
#define UNIT_MAIN(tests) int main(void) { return unit_main(tests); }

#endif
