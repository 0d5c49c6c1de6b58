/* SPDX-License-Identifier: MIT */
/* parse_size / format_size / rounding helpers (common/units.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/units.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* Compare as text so that a failure names the input. */
static void expect_size(const char *text, uint64_t want)
{
	char got_s[96], want_s[96];
	uint64_t v = 12345;
	int rc = parse_size(text, &v);

	snprintf(got_s, sizeof(got_s), "%s -> %d, %llu", text, rc, (unsigned long long)v);
	snprintf(want_s, sizeof(want_s), "%s -> 0, %llu", text, (unsigned long long)want);
	assert_string_equal(got_s, want_s);
}

static void expect_reject(const char *text, int want)
{
	const uint64_t sentinel = 0xdeadbeefcafef00dULL;
	char got_s[96], want_s[96];
	uint64_t v = sentinel;
	int rc = parse_size(text, &v);

	snprintf(got_s, sizeof(got_s), "%s -> %d", text ? text : "(null)", rc);
	snprintf(want_s, sizeof(want_s), "%s -> %d", text ? text : "(null)", want);
	assert_string_equal(got_s, want_s);
	assert_true(v == sentinel); /* a refused size never leaks out */
}

static void test_plain_numbers(void **state)
{
	(void)state;
	expect_size("0", 0);
	expect_size("1", 1);
	expect_size("512", 512);
	expect_size("4096", 4096);
	expect_size("007", 7);
	expect_size("18446744073709551615", UINT64_MAX);
}

static void test_suffixes(void **state)
{
	(void)state;
	expect_size("4K", 4 * KiB);
	expect_size("64M", 64 * MiB);
	expect_size("1G", GiB);
	expect_size("2T", 2 * TiB);
	/* case-insensitive */
	expect_size("4k", 4 * KiB);
	expect_size("64m", 64 * MiB);
	expect_size("3g", 3 * GiB);
	expect_size("2t", 2 * TiB);
	/* binary multiples whichever spelling */
	expect_size("4KiB", 4 * KiB);
	expect_size("4kib", 4 * KiB);
	expect_size("64MiB", 64 * MiB);
	expect_size("1GiB", GiB);
	expect_size("2TiB", 2 * TiB);
	expect_size("4KB", 4 * KiB);
	expect_size("4kb", 4 * KiB);
	expect_size("1GB", GiB);
	expect_size("512B", 512);
	expect_size("512b", 512);
	expect_size("0K", 0);
}

static void test_garbage(void **state)
{
	(void)state;
	expect_reject("", -EINVAL);
	expect_reject(NULL, -EINVAL);
	expect_reject("K", -EINVAL);
	expect_reject("G", -EINVAL);
	expect_reject("-1", -EINVAL);
	expect_reject("+1", -EINVAL);
	expect_reject(" 1", -EINVAL);
	expect_reject("1 ", -EINVAL);
	expect_reject("1 G", -EINVAL);
	expect_reject("1.5G", -EINVAL);
	expect_reject("0x10", -EINVAL);
	expect_reject("12Q", -EINVAL);
	expect_reject("1P", -EINVAL); /* no peta: not in the accepted set */
	expect_reject("1KK", -EINVAL);
	expect_reject("1KiBB", -EINVAL);
	expect_reject("1KiBx", -EINVAL);
	expect_reject("1iB", -EINVAL); /* "iB" needs a multiplier */
	expect_reject("1Ki", -EINVAL);
	expect_reject("1BB", -EINVAL);
	expect_reject("abc", -EINVAL);
}

static void test_overflow(void **state)
{
	(void)state;
	expect_reject("18446744073709551616", -ERANGE); /* 2^64 */
	expect_reject("99999999999999999999999", -ERANGE);
	expect_reject("16777216T", -ERANGE); /* exactly 2^64 */
	expect_reject("17179869184G", -ERANGE); /* exactly 2^64 */
	expect_reject("18014398509481984K", -ERANGE); /* exactly 2^64 */
	expect_size("16777215T", 16777215ULL * TiB); /* just below */
	expect_size("17179869183G", 17179869183ULL * GiB);
}

static void expect_format(uint64_t bytes, const char *want)
{
	char buf[32];

	memset(buf, 'x', sizeof(buf));
	assert_ptr_equal(format_size(bytes, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
}

static void test_format(void **state)
{
	(void)state;
	expect_format(0, "0 B");
	expect_format(512, "512 B");
	expect_format(1023, "1023 B");
	expect_format(KiB, "1 KiB");
	expect_format(1536, "1.5 KiB");
	expect_format(4 * KiB, "4 KiB");
	expect_format(64 * MiB, "64 MiB");
	expect_format(GiB + GiB / 2, "1.5 GiB");
	expect_format(2 * TiB, "2 TiB");
	expect_format(1ULL << 50, "1 PiB");
	expect_format(1ULL << 60, "1024 PiB"); /* PiB is the largest unit */
	expect_format(UINT64_MAX, "16383 PiB");
	expect_format(100 * KiB + 512, "100 KiB"); /* three digits: no fraction */
}

static void test_format_truncates_safely(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	format_size(123 * MiB, buf, 4);
	assert_string_equal(buf, "123");
	assert_int_equal(buf[4], 'x'); /* nothing written past len */
}

static void test_rounding(void **state)
{
	(void)state;
	assert_true(round_up_u64(0, 4096) == 0);
	assert_true(round_up_u64(1, 4096) == 4096);
	assert_true(round_up_u64(4096, 4096) == 4096);
	assert_true(round_up_u64(4097, 4096) == 8192);
	assert_true(round_up_u64(10, 3) == 12);
	assert_true(round_down_u64(4095, 4096) == 0);
	assert_true(round_down_u64(8191, 4096) == 4096);
	assert_true(round_down_u64(8192, 4096) == 8192);
	assert_true(round_down_u64(11, 3) == 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_numbers),
		cmocka_unit_test(test_suffixes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_truncates_safely),
		cmocka_unit_test(test_rounding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
