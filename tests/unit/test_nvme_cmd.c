/* SPDX-License-Identifier: MIT */
/*
 * NVMe passthrough without hardware: command encoding (backend/nvme/cmd.h), the
 * splitting arithmetic, status -> errno, and the name/sysfs helpers of
 * backend/nvme/discover.h. The split bookkeeping is driven through the real
 * backend's queue/complete on a ring that is never submitted: the test
 * reads the SQEs it fills and answers them with made-up CQEs.
 */
#include <libnvme.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <liburing.h>

#include "backend/nvme/cmd.h"
#include "backend/nvme/discover.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static const struct nvme_cmd_ns ns512 = { .nsid = 1, .lba_shift = 9 };
static const struct nvme_cmd_ns ns4k = { .nsid = 7, .lba_shift = 12 };

static char buf[4096] __attribute__((aligned(4096)));

static struct nvme_uring_cmd encode(const struct nvme_cmd_ns *ns, enum io_op op, bool fua,
				    uint64_t off, uint64_t len)
{
	struct nvme_uring_cmd cmd;

	memset(&cmd, 0xa5, sizeof(cmd));
	assert_int_equal(nvme_cmd_encode(&cmd, ns, op, fua, off, len, buf), 0);
	assert_int_equal(nvme_cmd_check(&cmd, ns), 0);
	return cmd;
}

/* Fields a command never uses must be zero (the driver passes them on). */
static void assert_clean(const struct nvme_uring_cmd *cmd)
{
	assert_int_equal(cmd->flags, 0);
	assert_int_equal(cmd->rsvd1, 0);
	assert_int_equal(cmd->cdw2, 0);
	assert_int_equal(cmd->cdw3, 0);
	assert_int_equal(cmd->metadata, 0);
	assert_int_equal(cmd->metadata_len, 0);
	assert_int_equal(cmd->cdw13, 0);
	assert_int_equal(cmd->cdw14, 0);
	assert_int_equal(cmd->cdw15, 0);
	assert_int_equal(cmd->timeout_ms, 0);
	assert_int_equal(cmd->rsvd2, 0);
}

static void test_read_write(void **state)
{
	struct nvme_uring_cmd c;

	(void)state;
	/* SLBA 0x1_0000_0002 = byte 0x200_0000_0400 with 512-byte blocks */
	c = encode(&ns512, IO_OP_READ, false, 0x20000000400ULL, 8 * KiB);
	assert_int_equal(c.opcode, 0x02);
	assert_int_equal(c.nsid, 1);
	assert_int_equal(c.cdw10, 0x00000002);
	assert_int_equal(c.cdw11, 0x00000001);
	assert_int_equal(c.cdw12, 15);
	assert_int_equal(c.addr, (uint64_t)(uintptr_t)buf);
	assert_int_equal(c.data_len, 8 * KiB);
	assert_clean(&c);

	c = encode(&ns4k, IO_OP_WRITE, false, 1 * MiB, 4 * KiB);
	assert_int_equal(c.opcode, 0x01);
	assert_int_equal(c.nsid, 7);
	assert_int_equal(c.cdw10, 256);
	assert_int_equal(c.cdw11, 0);
	assert_int_equal(c.cdw12, 0);
	assert_clean(&c);

	/* FUA is bit 30 of cdw12, for writes only */
	c = encode(&ns4k, IO_OP_WRITE, true, 0, 8 * KiB);
	assert_int_equal(c.cdw12, (1u << 30) | 1);
	c = encode(&ns4k, IO_OP_READ, true, 0, 8 * KiB);
	assert_int_equal(c.cdw12, 1);
}

static void test_nlb_boundaries(void **state)
{
	struct nvme_uring_cmd c;

	(void)state;
	c = encode(&ns512, IO_OP_READ, false, 512, 512);
	assert_int_equal(c.cdw10, 1);
	assert_int_equal(c.cdw12, 0);
	assert_int_equal(c.data_len, 512);
	c = encode(&ns512, IO_OP_WRITE_ZEROES, false, 0, 65536ULL * 512);
	assert_int_equal(c.cdw12, 0xffff);
	c = encode(&ns512, IO_OP_READ, false, 0, 65536ULL * 512);
	assert_int_equal(c.cdw12, 0xffff);
	assert_int_equal(c.data_len, 32 * MiB);
	/* one block more does not fit the 16-bit field */
	assert_int_equal(nvme_cmd_encode(&c, &ns512, IO_OP_WRITE_ZEROES, false, 0,
					 65537ULL * 512, NULL), -EINVAL);
	assert_int_equal(nvme_cmd_encode(&c, &ns512, IO_OP_READ, false, 0, 0, buf), -EINVAL);
	/* not whole blocks */
	assert_int_equal(nvme_cmd_encode(&c, &ns4k, IO_OP_READ, false, 512, 4096, buf), -EINVAL);
	assert_int_equal(nvme_cmd_encode(&c, &ns4k, IO_OP_WRITE, false, 0, 4097, buf), -EINVAL);
	assert_int_equal(nvme_cmd_encode(&c, &ns4k, IO_OP_DISCARD, false, 0, 512, buf), -EINVAL);
	assert_int_equal(nvme_cmd_encode(&c, &ns512, 99, false, 0, 512, buf), -EOPNOTSUPP);
}

static void test_flush_and_write_zeroes(void **state)
{
	struct nvme_uring_cmd c;

	(void)state;
	c = encode(&ns512, IO_OP_FLUSH, false, 0, 0);
	assert_int_equal(c.opcode, 0x00);
	assert_int_equal(c.nsid, 1);
	assert_int_equal(c.cdw10, 0);
	assert_int_equal(c.cdw11, 0);
	assert_int_equal(c.cdw12, 0);
	assert_int_equal(c.addr, 0);
	assert_int_equal(c.data_len, 0);
	assert_clean(&c);

	c = encode(&ns4k, IO_OP_WRITE_ZEROES, false, 8 * GiB, 1 * MiB);
	assert_int_equal(c.opcode, 0x08);
	assert_int_equal(c.cdw10, (uint32_t)((8 * GiB) >> 12));
	assert_int_equal(c.cdw11, 0);
	assert_int_equal(c.cdw12, 255);
	assert_int_equal(c.addr, 0);
	assert_int_equal(c.data_len, 0);
	assert_clean(&c);
}

static void test_dsm_ranges(void **state)
{
	const struct nvme_dsm_range *r = (const void *)buf;
	struct nvme_uring_cmd c;

	(void)state;
	memset(buf, 0xff, sizeof(buf));
	c = encode(&ns512, IO_OP_DISCARD, false, 3 * MiB, 64 * KiB);
	assert_int_equal(c.opcode, 0x09);
	assert_int_equal(c.nsid, 1);
	assert_int_equal(c.cdw10, 0); /* one range */
	assert_int_equal(c.cdw11, 1u << 2); /* AD: deallocate */
	assert_int_equal(c.cdw12, 0);
	assert_int_equal(c.addr, (uint64_t)(uintptr_t)buf);
	assert_int_equal(c.data_len, 16);
	assert_int_equal(r[0].cattr, 0);
	assert_int_equal(r[0].nlb, 128);
	assert_int_equal(r[0].slba, (3 * MiB) >> 9);
	assert_clean(&c);

	/* 1 GiB, the largest ublk sends: still one range */
	c = encode(&ns512, IO_OP_DISCARD, false, 1 * MiB, 1 * GiB);
	assert_int_equal(c.cdw10, 0);
	assert_int_equal(r[0].nlb, 2 * 1024 * 1024);
	assert_int_equal(r[0].slba, 2048);

	/* 2^32 blocks need two ranges, the second where the first ends */
	c = encode(&ns512, IO_OP_DISCARD, false, 0, (1ULL << 32) * 512);
	assert_int_equal(c.cdw10, 1);
	assert_int_equal(c.data_len, 32);
	assert_int_equal(r[0].nlb, 0xffffffffu);
	assert_int_equal(r[0].slba, 0);
	assert_int_equal(r[1].nlb, 1);
	assert_int_equal(r[1].slba, 0xffffffffULL);

	/* a controller with DMRSL 1 MiB and DMRL 4: 4 ranges per command */
	{
		const struct nvme_cmd_ns lim = { .nsid = 1, .lba_shift = 9,
						  .dsm_range_blocks = 2048, .dsm_ranges = 4 };
		uint64_t max = nvme_cmd_max_chunk(IO_OP_DISCARD, &lim, 512 * KiB);

		assert_int_equal(max, 4 * MiB);
		assert_int_equal(nvme_cmd_nr_chunks(1 * GiB, max), 256);
		c = encode(&lim, IO_OP_DISCARD, false, 1 * MiB, 3 * MiB + 4096);
		assert_int_equal(c.cdw10, 3);
		assert_int_equal(c.data_len, 64);
		assert_int_equal(r[0].nlb, 2048);
		assert_int_equal(r[1].nlb, 2048);
		assert_int_equal(r[2].nlb, 2048);
		assert_int_equal(r[3].nlb, 8);
		assert_int_equal(r[3].slba, 2048 + 3 * 2048);
		assert_int_equal(nvme_cmd_encode(&c, &lim, IO_OP_DISCARD, false, 0, max + 512, buf),
				 -EINVAL);
	}

	/* no room for the ranges */
	assert_int_equal(nvme_cmd_encode(&c, &ns512, IO_OP_DISCARD, false, 0, 4096, NULL), -EINVAL);
}

static void test_data_len_check(void **state)
{
	struct nvme_uring_cmd c = encode(&ns512, IO_OP_WRITE, false, 0, 4096);

	(void)state;
	c.data_len = 4096 - 512;
	assert_int_equal(nvme_cmd_check(&c, &ns512), -EIO);
	c.data_len = 4096 + 512;
	assert_int_equal(nvme_cmd_check(&c, &ns512), -EIO);
	c.data_len = 4096;
	c.cdw12 = (1u << 30) | 7; /* FUA does not count as blocks */
	assert_int_equal(nvme_cmd_check(&c, &ns512), 0);
	c.cdw12 = 8;
	assert_int_equal(nvme_cmd_check(&c, &ns512), -EIO);
	/* the same bytes are 1 block on a 4 KiB namespace */
	c.cdw12 = 0;
	assert_int_equal(nvme_cmd_check(&c, &ns4k), 0);

	c = encode(&ns512, IO_OP_DISCARD, false, 0, 4096);
	c.data_len = 32;
	assert_int_equal(nvme_cmd_check(&c, &ns512), -EIO);
	c = encode(&ns512, IO_OP_FLUSH, false, 0, 0);
	c.data_len = 512;
	assert_int_equal(nvme_cmd_check(&c, &ns512), -EIO);
	c = encode(&ns512, IO_OP_WRITE_ZEROES, false, 0, 4096);
	c.data_len = 4096; /* write zeroes carries no data */
	assert_int_equal(nvme_cmd_check(&c, &ns512), -EIO);
}

static void test_split(void **state)
{
	uint64_t max = nvme_cmd_max_chunk(IO_OP_READ, &ns512, 512 * KiB);

	(void)state;
	assert_int_equal(max, 512 * KiB);
	assert_int_equal(nvme_cmd_max_chunk(IO_OP_WRITE, &ns512, 128 * KiB), 128 * KiB);
	/* never more than 65536 blocks, whatever the transfer limit */
	assert_int_equal(nvme_cmd_max_chunk(IO_OP_READ, &ns512, 64 * MiB), 32 * MiB);
	/* exact boundaries */
	assert_int_equal(nvme_cmd_nr_chunks(512 * KiB, max), 1);
	assert_int_equal(nvme_cmd_nr_chunks(512 * KiB + 512, max), 2);
	assert_int_equal(nvme_cmd_nr_chunks(512, max), 1);
	assert_int_equal(nvme_cmd_nr_chunks(0, max), 1);
	assert_int_equal(nvme_cmd_nr_chunks(1 * MiB, max), 2);
	/* remainder */
	assert_int_equal(nvme_cmd_chunk(1 * MiB + 4096, 0, max), 512 * KiB);
	assert_int_equal(nvme_cmd_chunk(1 * MiB + 4096, 512 * KiB, max), 512 * KiB);
	assert_int_equal(nvme_cmd_chunk(1 * MiB + 4096, 1 * MiB, max), 4096);
	assert_int_equal(nvme_cmd_nr_chunks(1 * MiB + 4096, max), 3);

	/* write zeroes: 65536 blocks per command; 1 GiB of 512-byte blocks is 32 */
	max = nvme_cmd_max_chunk(IO_OP_WRITE_ZEROES, &ns512, 512 * KiB);
	assert_int_equal(max, 32 * MiB);
	assert_int_equal(nvme_cmd_nr_chunks(1 * GiB, max), 32);
	assert_int_equal(nvme_cmd_nr_chunks(1 * GiB + 512, max), 33);
	assert_int_equal(nvme_cmd_max_chunk(IO_OP_WRITE_ZEROES, &ns4k, 512 * KiB), 256 * MiB);
	assert_int_equal(nvme_cmd_nr_chunks(1 * GiB, 256 * MiB), 4);

	/* discard: a 1 GiB request is one DSM command, flush is one command */
	max = nvme_cmd_max_chunk(IO_OP_DISCARD, &ns512, 512 * KiB);
	assert_int_equal(nvme_cmd_nr_chunks(1 * GiB, max), 1);
	assert_true(max >= 256 * (0xffffffffULL * 512) - 1);
	assert_int_equal(nvme_cmd_nr_chunks(0, nvme_cmd_max_chunk(IO_OP_FLUSH, &ns512, 4096)), 1);

	/* every chunk of a split request encodes and checks */
	max = nvme_cmd_max_chunk(IO_OP_READ, &ns4k, 128 * KiB);
	for (uint64_t done = 0, len = 1 * MiB + 8 * KiB; done < len;) {
		uint64_t n = nvme_cmd_chunk(len, done, max);
		struct nvme_uring_cmd c;

		assert_int_equal(nvme_cmd_encode(&c, &ns4k, IO_OP_READ, false, done, n, buf), 0);
		assert_int_equal(nvme_cmd_check(&c, &ns4k), 0);
		assert_int_equal(c.cdw10, done >> 12);
		done += n;
	}
}

static void test_status_errno(void **state)
{
	(void)state;
	assert_int_equal(nvme_status_errno(0), 0);
	/* generic command status (SCT 0) */
	assert_int_equal(nvme_status_errno(0x002), -EOPNOTSUPP); /* invalid field */
	assert_int_equal(nvme_status_errno(0x001), -EOPNOTSUPP); /* invalid opcode */
	assert_int_equal(nvme_status_errno(0x00b), -EOPNOTSUPP); /* invalid namespace */
	assert_int_equal(nvme_status_errno(0x080), -EREMOTEIO); /* LBA out of range */
	assert_int_equal(nvme_status_errno(0x081), -ENOSPC); /* capacity exceeded */
	assert_int_equal(nvme_status_errno(0x082), -EREMOTEIO); /* namespace not ready */
	assert_int_equal(nvme_status_errno(0x083), -EBADE); /* reservation conflict */
	assert_int_equal(nvme_status_errno(0x006), -EIO); /* internal error: not singled out */
	/* command specific (SCT 1) */
	assert_int_equal(nvme_status_errno(0x182), -ENODATA); /* write to read-only */
	assert_int_equal(nvme_status_errno(0x183), -EOPNOTSUPP);
	/* media errors (SCT 2) */
	assert_int_equal(nvme_status_errno(0x281), -ENODATA); /* unrecovered read */
	assert_int_equal(nvme_status_errno(0x280), -ENODATA); /* write fault */
	assert_int_equal(nvme_status_errno(0x282), -EILSEQ); /* guard check */
	/* path (SCT 3) */
	assert_int_equal(nvme_status_errno(0x370), -ENOLINK);
	/* DNR, More and CRD do not change the answer */
	assert_int_equal(nvme_status_errno(0x4000 | 0x081), -ENOSPC);
	assert_int_equal(nvme_status_errno(0x4000 | 0x2000 | 0x1800 | 0x281), -ENODATA);
	assert_int_equal(nvme_status_errno(0x4000), 0);
	/* unknown */
	assert_int_equal(nvme_status_errno(0x7ff), -EIO);
	assert_int_equal(nvme_status_errno(0x4000 | 0x1ff), -EIO);
	/* fields */
	assert_int_equal(nvme_status_sct(0x4281), 2);
	assert_int_equal(nvme_status_sc(0x4281), 0x81);
	assert_true(nvme_status_dnr(0x4281));
	assert_false(nvme_status_dnr(0x0281));
	/* a name for logs, never NULL */
	assert_non_null(nvme_status_name(0x080));
	assert_true(strlen(nvme_status_name(0x4080)) > 0);
	assert_string_equal(nvme_status_name(0x4080), nvme_status_name(0x080));
	assert_non_null(nvme_status_name(0x7ff));
}

static void test_names(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(nvme_ns_name_from_dev("nvme0n1", out, sizeof(out)), 0);
	assert_string_equal(out, "nvme0n1");
	assert_int_equal(nvme_ns_name_from_dev("ng0n1", out, sizeof(out)), 0);
	assert_string_equal(out, "nvme0n1");
	assert_int_equal(nvme_ns_name_from_dev("ng12n345", out, sizeof(out)), 0);
	assert_string_equal(out, "nvme12n345");
	assert_int_equal(nvme_ns_name_from_dev("nvme0n1p1", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("nvme0", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("nvme0c0n1", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("ng0c0n1", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("nvmen1", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("nvme0n", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("sda", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("", out, sizeof(out)), -1);
	assert_int_equal(nvme_ns_name_from_dev("ng0n1", out, 7), -1); /* no room */

	assert_int_equal(nvme_generic_path("nvme0n1", out, sizeof(out)), 0);
	assert_string_equal(out, "/dev/ng0n1");
	assert_int_equal(nvme_block_path("nvme0n1", out, sizeof(out)), 0);
	assert_string_equal(out, "/dev/nvme0n1");
	assert_int_equal(nvme_generic_path("nvme3n12", out, sizeof(out)), 0);
	assert_string_equal(out, "/dev/ng3n12");
	assert_int_equal(nvme_generic_path("ng0n1", out, sizeof(out)), -1);
	assert_int_equal(nvme_generic_path("nvme0n1p2", out, sizeof(out)), -1);
	assert_int_equal(nvme_generic_path("nvme0n1", out, 10), -1); /* "/dev/ng0n1" + NUL */

	/* not a device at all, or not an NVMe one: the file backend's business */
	assert_int_equal(nvme_path_namespace("/nonexistent/nvme0n1", out, sizeof(out)), 0);
	assert_int_equal(nvme_path_namespace("/dev/null", out, sizeof(out)), 0);
	assert_int_equal(nvme_path_namespace("/", out, sizeof(out)), 0);
}

static void test_sysfs_parsing(void **state)
{
	uint64_t v = 42;

	(void)state;
	assert_int_equal(nvme_parse_sysfs_u64("512\n", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(nvme_parse_sysfs_u64("131072", &v), 0);
	assert_int_equal(v, 131072);
	assert_int_equal(nvme_parse_sysfs_u64("18446744073709551615\n", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	v = 42;
	assert_int_equal(nvme_parse_sysfs_u64("18446744073709551616\n", &v), -1);
	assert_int_equal(nvme_parse_sysfs_u64("", &v), -1);
	assert_int_equal(nvme_parse_sysfs_u64("\n", &v), -1);
	assert_int_equal(nvme_parse_sysfs_u64("-1\n", &v), -1);
	assert_int_equal(nvme_parse_sysfs_u64("12 kB\n", &v), -1);
	assert_int_equal(nvme_parse_sysfs_u64("12\n\n", &v), -1);
	assert_int_equal(v, 42);

	/* QEMU: MDTS 512 KiB but 127 segments: 508 KiB from page-aligned buffers */
	assert_int_equal(nvme_max_transfer(512, 127, 4096), 508 * KiB);
	assert_int_equal(nvme_max_transfer(512, 129, 4096), 512 * KiB);
	assert_int_equal(nvme_max_transfer(128, 33, 4096), 128 * KiB);
	assert_int_equal(nvme_max_transfer(128, 0, 4096), 128 * KiB);
	assert_int_equal(nvme_max_transfer(4096, 127, 65536), 4096 * KiB);
	assert_int_equal(nvme_max_transfer(1ULL << 40, 0, 4096), UINT32_MAX);

	assert_true(nvme_mq_entry_is_queue("0"));
	assert_true(nvme_mq_entry_is_queue("63"));
	assert_false(nvme_mq_entry_is_queue("."));
	assert_false(nvme_mq_entry_is_queue(".."));
	assert_false(nvme_mq_entry_is_queue(""));
	assert_false(nvme_mq_entry_is_queue("cpu_list"));
}

static void test_split_complete(void **state)
{
	struct backend_io io = { .op = IO_OP_WRITE_ZEROES, .len = 80 * MiB };
	uint64_t max = 32 * MiB;

	(void)state;
	/* -EAGAIN: the same command again, nothing counted */
	assert_int_equal(nvme_split_complete(&io, max, -EAGAIN), NVME_SPLIT_AGAIN);
	assert_int_equal(io.done, 0);
	assert_int_equal(nvme_split_complete(&io, max, 0), NVME_SPLIT_NEXT);
	assert_int_equal(io.done, 32 * MiB);
	assert_int_equal(nvme_split_complete(&io, max, -EAGAIN), NVME_SPLIT_AGAIN);
	assert_int_equal(io.done, 32 * MiB);
	assert_int_equal(nvme_split_complete(&io, max, 0), NVME_SPLIT_NEXT);
	assert_int_equal(nvme_split_complete(&io, max, 0), NVME_SPLIT_DONE); /* the 16 MiB tail */
	assert_int_equal(io.done, 80 * MiB);
	assert_int_equal(io.result, 0);
	/* a failure ends it, whatever is left */
	io = (struct backend_io){ .op = IO_OP_WRITE_ZEROES, .len = 80 * MiB };
	assert_int_equal(nvme_split_complete(&io, max, 0), NVME_SPLIT_NEXT);
	assert_int_equal(nvme_split_complete(&io, max, -EIO), NVME_SPLIT_DONE);
	assert_int_equal(io.result, -EIO);
	assert_int_equal(io.done, 0);
	/* FLUSH: one command of no bytes */
	io = (struct backend_io){ .op = IO_OP_FLUSH };
	assert_int_equal(nvme_split_complete(&io, UINT64_MAX, 0), NVME_SPLIT_DONE);
}

/* A passthrough backend on no device: 512-byte blocks, 512 KiB transfers, DLFEAT as given. */
static struct backend *fake_passthru(uint8_t dlfeat)
{
	struct nvme_ns_info ns = {
		.ns = "nvme0n1", .generic_path = "/dev/ng0n1", .nsid = 1, .lba_size = 512,
		.lba_count = 8 * GiB / 512, .max_transfer = 512 * KiB,
		.max_discard_bytes = 0xffffffffULL * 512, .max_discard_ranges = 256,
		.dlfeat = dlfeat,
	};
	struct backend *be = nvme_backend_make(&ns, "t", -1);

	assert_non_null(be);
	return be;
}

/* The SQEs queued on ring since *tail (at most one expected), as the command they carry. */
static unsigned new_cmds(struct io_uring *ring, unsigned *tail, struct nvme_uring_cmd *cmd,
			 uint32_t *cmd_op)
{
	unsigned n = ring->sq.sqe_tail - *tail;

	if (n) {
		struct io_uring_sqe *sqe =
			&ring->sq.sqes[((ring->sq.sqe_tail - 1) & ring->sq.ring_mask) << 1];

		memcpy(cmd, sqe->cmd, sizeof(*cmd));
		*cmd_op = sqe->cmd_op;
	}
	*tail = ring->sq.sqe_tail;
	return n;
}

static uint64_t slba_of(const struct nvme_uring_cmd *c)
{
	return (uint64_t)c->cdw10 | (uint64_t)c->cdw11 << 32;
}

/*
 * A steered 1 GiB WRITE ZEROES on a queue whose tags other tenants keep
 * taking: every third attempt finds none (-EAGAIN). One command is out at
 * a time, a refused one goes again alone (after BACKEND_AGAIN, when the
 * caller queues the request again), and every 32 MiB piece succeeds once,
 * in order. Before: all 32 commands went out together and one -EAGAIN sent
 * all of them again, forever on a queue of fewer than 32 free tags.
 */
static void test_split_steered_retry(void **state)
{
	struct backend *be = fake_passthru(0x09);
	struct backend_io io = { .op = IO_OP_WRITE_ZEROES, .off = 1 * MiB, .len = 1 * GiB,
				 .steer = true, .hw_queue = 3, .buf_index = -1 };
	struct io_uring ring;
	struct nvme_uring_cmd c;
	uint32_t cmd_op = 0;
	unsigned tail, attempts = 0, refused = 0, pieces = 0;
	int ret;

	(void)state;
	assert_int_equal(io_uring_queue_init(256, &ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32), 0);
	tail = ring.sq.sqe_tail;
	assert_int_equal(be->ops->queue(be, &ring, &io, 42), 0);
	for (;;) {
		struct io_uring_cqe cqe = { .user_data = 42 };
		uint64_t want = (1 * MiB + (uint64_t)pieces * 32 * MiB) >> 9;

		assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 1);
		assert_int_equal(io.pending, 1);
		assert_int_equal(cmd_op, NVME_URING_CMD_IO_QID);
		assert_int_equal(c.opcode, nvme_cmd_write_zeroes);
		assert_int_equal(slba_of(&c), want); /* the first piece not yet done */
		assert_int_equal(c.cdw12 & 0xffff, 65535);
		assert_int_equal(c.cdw12 & NVME_CMD_WZ_DEAC, 0); /* io.unmap is off */
		cqe.res = ++attempts % 3 == 2 ? -EAGAIN : 0;
		ret = be->ops->complete(be, &ring, &io, &cqe, 42);
		assert_int_equal(io.pending, ret == 0 ? 1 : 0);
		if (cqe.res == -EAGAIN) {
			refused++;
			assert_int_equal(ret, BACKEND_AGAIN);
			assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 0);
			assert_int_equal(be->ops->queue(be, &ring, &io, 42), 0);
			continue;
		}
		pieces++;
		if (ret == 1)
			break;
		assert_int_equal(ret, 0);
	}
	assert_int_equal(pieces, 32);
	assert_int_equal(attempts, pieces + refused);
	assert_true(refused >= 10);
	assert_int_equal(io.result, 0);
	assert_int_equal(io.done, 1 * GiB);
	assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 0);
	io_uring_queue_exit(&ring);
	backend_close(be);
}

/* Unsteered, a -EAGAIN goes again at once, alone; a failure stops the rest. */
static void test_split_unsteered(void **state)
{
	struct backend *be = fake_passthru(0);
	struct backend_io io = { .op = IO_OP_WRITE_ZEROES, .len = 96 * MiB, .buf_index = -1 };
	struct io_uring_cqe ok = { .res = 0 }, again = { .res = -EAGAIN };
	struct io_uring_cqe bad = { .res = 0x4002 }; /* invalid field, DNR */
	struct io_uring ring;
	struct nvme_uring_cmd c;
	uint32_t cmd_op = 0;
	unsigned tail;

	(void)state;
	assert_int_equal(io_uring_queue_init(64, &ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32), 0);
	tail = ring.sq.sqe_tail;
	assert_int_equal(be->ops->queue(be, &ring, &io, 7), 0);
	assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 1);
	assert_int_equal(cmd_op, NVME_URING_CMD_IO);
	assert_int_equal(slba_of(&c), 0);
	assert_int_equal(be->ops->complete(be, &ring, &io, &ok, 7), 0);
	assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 1);
	assert_int_equal(slba_of(&c), 32 * MiB >> 9);
	assert_int_equal(be->ops->complete(be, &ring, &io, &again, 7), 0);
	assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 1);
	assert_int_equal(slba_of(&c), 32 * MiB >> 9); /* the same piece, not the first */
	assert_int_equal(be->ops->complete(be, &ring, &io, &bad, 7), 1);
	assert_int_equal(io.result, -EOPNOTSUPP);
	assert_int_equal(io.pending, 0);
	assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 0);
	io_uring_queue_exit(&ring);
	backend_close(be);
}

/* WRITE ZEROES sets DEAC only when asked (io.unmap) and DLFEAT allows it. */
static void test_write_zeroes_deac(void **state)
{
	static const struct { uint8_t dlfeat; bool unmap, deac; } cases[] = {
		{ 0x09, true, true },   /* reads zeroes, DEAC supported */
		{ 0x09, false, false }, /* not asked */
		{ 0x01, true, false },  /* reads zeroes, but no DEAC in WRITE ZEROES */
		{ 0x0a, true, false },  /* deallocated blocks read 0xff */
		{ 0x00, true, false },  /* nothing promised (or unknown) */
	};

	(void)state;
	assert_true(nvme_dlfeat_reads_zeroes(0x01));
	assert_true(nvme_dlfeat_reads_zeroes(0x19));
	assert_false(nvme_dlfeat_reads_zeroes(0x00));
	assert_false(nvme_dlfeat_reads_zeroes(0x02));
	assert_false(nvme_dlfeat_reads_zeroes(0x08));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct backend *be = fake_passthru(cases[i].dlfeat);
		struct backend_io io = { .op = IO_OP_WRITE_ZEROES, .len = 1 * MiB,
					 .unmap = cases[i].unmap, .buf_index = -1 };
		struct io_uring ring;
		struct nvme_uring_cmd c;
		uint32_t cmd_op;
		unsigned tail;

		assert_int_equal(io_uring_queue_init(8, &ring,
						     IORING_SETUP_SQE128 | IORING_SETUP_CQE32), 0);
		tail = ring.sq.sqe_tail;
		assert_int_equal(be->ops->queue(be, &ring, &io, 1), 0);
		assert_int_equal(new_cmds(&ring, &tail, &c, &cmd_op), 1);
		assert_int_equal(!!(c.cdw12 & NVME_CMD_WZ_DEAC), cases[i].deac);
		assert_int_equal(c.cdw12 & 0xffff, (1 * MiB >> 9) - 1);
		io_uring_queue_exit(&ring);
		backend_close(be);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_nlb_boundaries),
		cmocka_unit_test(test_flush_and_write_zeroes),
		cmocka_unit_test(test_dsm_ranges),
		cmocka_unit_test(test_data_len_check),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_complete),
		cmocka_unit_test(test_split_steered_retry),
		cmocka_unit_test(test_split_unsteered),
		cmocka_unit_test(test_write_zeroes_deac),
		cmocka_unit_test(test_status_errno),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sysfs_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
