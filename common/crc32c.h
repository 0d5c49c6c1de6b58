/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI, ext4 and
 * NVMe use it. Software only: it guards a few KiB of metadata per save.
 */
#ifndef DDUBLK_COMMON_CRC32C_H
#define DDUBLK_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continue a CRC over len more bytes: start with crc = 0, feed the pieces
 * in order. crc32c(0, "123456789", 9) == 0xE3069283.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
