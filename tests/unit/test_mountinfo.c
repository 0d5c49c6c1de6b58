/* SPDX-License-Identifier: MIT */
/* Finding ublk mounts in /proc/PID/mountinfo lines (common/mountinfo.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/mountinfo.h"

#define PFX "/dev/ublkb"

static void test_ublk_mount_matches(void **state)
{
	char t[64];

	(void)state;
	assert_true(mountinfo_source_match("36 25 259:1 / /run/mnt/a rw,relatime shared:1 - ext4 "
					   "/dev/ublkb3 rw\n", PFX, t, sizeof(t)));
	assert_string_equal(t, "/run/mnt/a");
}

static void test_no_optional_fields(void **state)
{
	char t[64];

	(void)state;
	assert_true(mountinfo_source_match("36 25 259:1 / /mnt rw - xfs /dev/ublkb12 rw", PFX, t,
					   sizeof(t)));
	assert_string_equal(t, "/mnt");
}

static void test_other_sources_do_not_match(void **state)
{
	char t[64];

	(void)state;
	assert_false(mountinfo_source_match("22 1 0:20 / /proc rw - proc proc rw\n", PFX, t,
					    sizeof(t)));
	assert_false(mountinfo_source_match("40 1 259:0 / /data rw - ext4 /dev/nvme0n1 rw\n",
					    PFX, t, sizeof(t)));
	/* The mount point names ublk, the source does not. */
	assert_false(mountinfo_source_match("41 1 0:30 / /dev/ublkb0x rw - tmpfs tmpfs rw\n",
					    PFX, t, sizeof(t)));
}

static void test_escaped_mount_point(void **state)
{
	char t[64];

	(void)state;
	assert_true(mountinfo_source_match("36 25 259:1 / /run/my\\040mnt\\134x rw - ext4 "
					   "/dev/ublkb0 rw\n", PFX, t, sizeof(t)));
	assert_string_equal(t, "/run/my mnt\\x");
}

static void test_malformed_and_too_long(void **state)
{
	char t[8];

	(void)state;
	assert_false(mountinfo_source_match("", PFX, t, sizeof(t)));
	assert_false(mountinfo_source_match("36 25 259:1 / /m rw ext4 /dev/ublkb0", PFX, t,
					    sizeof(t)));
	assert_false(mountinfo_source_match("36 25 259:1 / /m rw -", PFX, t, sizeof(t)));
	assert_false(mountinfo_source_match("36 25 259:1 / /a/long/path rw - ext4 /dev/ublkb0 rw",
					    PFX, t, sizeof(t)));
}

/* Holders of a device: by its number, whatever path it was mounted from. */
static void test_dev_match(void **state)
{
	char t[64];

	(void)state;
	assert_true(mountinfo_dev_match("36 25 259:3 / /mnt/x rw,relatime shared:1 - ext4 "
					"/dev/ublkb3 rw\n", 259, 3, t, sizeof(t)));
	assert_string_equal(t, "/mnt/x");
	/* A container mounted it by another name: the number still matches. */
	assert_true(mountinfo_dev_match("50 40 259:3 /sub /srv/a\\040b rw - xfs "
					"/dev/disk/by-uuid/1234 rw", 259, 3, t, sizeof(t)));
	assert_string_equal(t, "/srv/a b");
}

static void test_dev_no_match(void **state)
{
	char t[64];

	(void)state;
	/* Neighbours in number, and prefixes of it, are other devices. */
	assert_false(mountinfo_dev_match("36 25 259:30 / /mnt rw - ext4 /dev/ublkb30 rw", 259, 3,
					 t, sizeof(t)));
	assert_false(mountinfo_dev_match("36 25 259:3 / /mnt rw - ext4 /dev/ublkb3 rw", 259, 30,
					 t, sizeof(t)));
	assert_false(mountinfo_dev_match("36 25 25:3 / /mnt rw - ext4 /dev/x rw", 259, 3, t,
					 sizeof(t)));
	assert_false(mountinfo_dev_match("36 25 1259:3 / /mnt rw - ext4 /dev/x rw", 259, 3, t,
					 sizeof(t)));
	assert_false(mountinfo_dev_match("22 1 0:20 / /proc rw - proc proc rw", 259, 3, t,
					 sizeof(t)));
	assert_false(mountinfo_dev_match("", 259, 3, t, sizeof(t)));
	assert_false(mountinfo_dev_match("36 25 259:3", 259, 3, t, sizeof(t)));
	/* A mount point that does not fit is not reported cut short. */
	assert_false(mountinfo_dev_match("36 25 259:3 / /a/very/long/mount/point/that/does/not/"
					 "fit rw - ext4 /dev/ublkb3 rw", 259, 3, t, 16));
}

/* A backend's device number, mounted or not (the "maj:min" field). */
static void test_devno(void **state)
{
	unsigned ma = 0, mi = 0;
	char t[64], small[4];

	(void)state;
	assert_true(mountinfo_devno("36 25 259:1 / /srv/my\\040data rw,relatime shared:1 - ext4 "
				    "/dev/nvme0n1p1 rw\n", &ma, &mi, t, sizeof(t)));
	assert_int_equal(ma, 259);
	assert_int_equal(mi, 1);
	assert_string_equal(t, "/srv/my data");
	assert_true(mountinfo_devno("22 1 8:16 / / rw - xfs /dev/sdb rw", &ma, &mi, t, sizeof(t)));
	assert_int_equal(ma, 8);
	assert_int_equal(mi, 16);
	assert_string_equal(t, "/");
	assert_false(mountinfo_devno("", &ma, &mi, t, sizeof(t)));
	assert_false(mountinfo_devno("36 25 259 / /m rw - ext4 x rw", &ma, &mi, t, sizeof(t)));
	assert_false(mountinfo_devno("36 25 259:1x / /m rw - ext4 x rw", &ma, &mi, t, sizeof(t)));
	assert_false(mountinfo_devno("36 25 8:1", &ma, &mi, t, sizeof(t)));
	assert_false(mountinfo_devno("36 25 8:1 / /long rw - ext4 x rw", &ma, &mi, small,
				     sizeof(small)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ublk_mount_matches),
		cmocka_unit_test(test_no_optional_fields),
		cmocka_unit_test(test_other_sources_do_not_match),
		cmocka_unit_test(test_escaped_mount_point),
		cmocka_unit_test(test_malformed_and_too_long),
		cmocka_unit_test(test_dev_match),
		cmocka_unit_test(test_dev_no_match),
		cmocka_unit_test(test_devno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
