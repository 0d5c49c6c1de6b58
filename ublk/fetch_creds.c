// SPDX-License-Identifier: MIT
/* FETCH without CAP_SYS_ADMIN: see fetch_creds.h for why. */
#include "ublk/fetch_creds.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

/* capget/capset on the calling thread only (pid 0); glibc has no wrapper. */
static int thread_caps(struct __user_cap_data_struct data[2], bool set)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	if (syscall(set ? SYS_capset : SYS_capget, &hdr, data) < 0)
		return -errno;
	return 0;
}

int ublk_fetch_personality(struct io_uring *ring)
{
	struct __user_cap_data_struct saved[2], less[2];
	const unsigned word = CAP_TO_INDEX(CAP_SYS_ADMIN);
	const __u32 bit = CAP_TO_MASK(CAP_SYS_ADMIN);
	int id, ret;

	ret = thread_caps(saved, false);
	if (ret < 0)
		return ret;
	if (!(saved[word].effective & bit))
		return 0;
	less[0] = saved[0];
	less[1] = saved[1];
	less[word].effective &= ~bit;
	ret = thread_caps(less, true);
	if (ret < 0)
		return ret;
	/* The kernel keeps the credentials current at registration. */
	id = io_uring_register_personality(ring);
	/* CAP_SYS_ADMIN is still permitted, so taking it back cannot fail. */
	ret = thread_caps(saved, true);
	if (ret < 0)
		return ret;
	return id;
}
