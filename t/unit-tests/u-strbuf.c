#include "unit.h"
#include "mbr/strbuf.h"

static void test_strbuf__grows_and_formats(void)
{
	struct strbuf sb = STRBUF_INIT;

	UT_EQ_STR(sb.buf, "");
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%d,", i % 10);
	UT_EQ_INT(sb.len, 2000);
	UT_CHECK(!strncmp(sb.buf, "0,1,2,", 6));
	strbuf_setlen(&sb, 3);
	UT_EQ_STR(sb.buf, "0,1");
	strbuf_release(&sb);
	UT_EQ_INT(sb.len, 0);
}

static void test_strbuf__humanise(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_humanise_bytes(&sb, 17);
	UT_EQ_STR(sb.buf, "17 B");
	strbuf_reset(&sb);
	strbuf_humanise_bytes(&sb, 1288490189);	/* 1.2 GiB */
	UT_EQ_STR(sb.buf, "1.2 GiB");
	strbuf_release(&sb);
}

static const struct unit_test tests[] = {
	UT(test_strbuf__grows_and_formats),
	UT(test_strbuf__humanise),
	{ 0 }
};
UNIT_MAIN(tests)
