/* SPDX-License-Identifier: MIT */
/*
 * The tenant table on disk: the first bytes of every backend (its metadata
 * region, TABLE_REGION_BYTES) hold the tenants whose extents lie on that
 * backend, so that a restarted daemon serves exactly the same tenants on
 * exactly the same extents, whatever the policy file says.
 *
 * Two copies, A at offset 0 and B at TABLE_COPY_BYTES. Each copy is a
 * 4 KiB-aligned image: a header (magic, format version, generation, entry
 * count, length, the backend's uuid, CRC32C over the whole image) followed
 * by fixed-size little-endian entries. A save writes the copy that does
 * NOT hold the newest valid table, with generation + 1, then flushes; a
 * crash in the middle tears at most that copy and the other still holds
 * the previous table. The first save of a backend, the first save of a
 * table read in an older format, and every save of a table whose entries
 * set the fields older daemons do not know (reservations, latency goals:
 * see table.c) write both copies (B first, then A with the generation
 * after): from then on one damaged copy never leaves the backend without
 * a table. A load takes the valid copy with the
 * highest generation.
 *
 *   no copy carries the magic              -> a fresh backend: empty table
 *   A without magic, B damaged             -> the first save (B) was torn:
 *                                             empty, as before it
 *   a copy in a format version we do not
 *   know (a newer ddublkd wrote it)        -> error: refuse the backend
 *   some copy is valid                     -> the newest valid one
 *   magic present but no copy valid        -> error: refuse the backend
 *
 * A refused backend is left alone: nothing is allocated on it and its
 * table is not written, so an operator can look at what is there.
 *
 * Pure encode/decode plus load/save over a tiny I/O interface, so the
 * unit tests and the fuzz target need no device.
 */
#ifndef DDUBLK_STORE_TABLE_H
#define DDUBLK_STORE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

#define TABLE_REGION_BYTES (1u << 20) /* reserved at the start of a backend */
#define TABLE_COPY_BYTES (TABLE_REGION_BYTES / 2)
#define TABLE_ALIGN 4096u /* images are written in multiples of this */
#define TABLE_MAX_ENTRIES 1024
#define TABLE_FORMAT_VERSION 2u /* what table_encode writes; 1 (no uuid) is still read */
#define TABLE_UUID_BYTES 16

struct table_entry {
	/* All but spec.backend, which is this backend: table_decode leaves it "". */
	struct tenant_spec spec;
	uint8_t uuid[16]; /* random, given at creation, never changes */
	uint64_t offset; /* byte offset of the extent on this backend */
	uint64_t ctime; /* creation time, seconds since the epoch */
	int32_t dev_id; /* ublk device id it had, -1 if none */
	bool from_policy; /* created from the policy file (vs. ublk-ctl add) */
};

struct table {
	uint64_t generation; /* of the copy loaded / last saved; 0: never saved */
	int slot; /* copy holding that generation: 0 = A, 1 = B, -1: none */
	uint32_t version; /* format of the copy loaded / saved; 0: never saved */
	/*
	 * The backend's identity, random, written with its first table and
	 * kept by every later one: two backends of one daemon with the same
	 * uuid are one device under two names (or a copy). All zero: none
	 * yet (a fresh backend, or a version 1 table); table_encode needs one.
	 */
	uint8_t uuid[TABLE_UUID_BYTES];
	size_t nr;
	struct table_entry *e; /* malloc'd, nr entries (NULL when nr == 0) */
};

/* Synchronous I/O on the backend's metadata region (offsets from its start). */
struct table_io {
	void *ctx;
	/* Each returns 0 or -errno; buf is TABLE_ALIGN-aligned, len a multiple of it. */
	int (*read)(void *ctx, void *buf, size_t len, uint64_t off);
	int (*write)(void *ctx, const void *buf, size_t len, uint64_t off);
	int (*flush)(void *ctx);
};

/*
 * One copy's image. table_encode fills buf (len >= TABLE_COPY_BYTES is
 * always enough) and returns the number of bytes to write (a multiple of
 * TABLE_ALIGN), or -1 with a message (too many entries, invalid entry).
 */
long table_encode(const struct table *t, uint64_t generation, void *buf, size_t len,
		  char *err, size_t errlen);

/* table_decode: the magic, but a format version this daemon cannot read. */
#define TABLE_DECODE_UNKNOWN_VERSION (-2)

/*
 * Decode one copy's image: 1 valid (*out filled: generation, version,
 * uuid), 0 no magic (never written), -1 magic but damaged or invalid,
 * TABLE_DECODE_UNKNOWN_VERSION (message in err). Never trusts a length or
 * count from the image: a fuzz target feeds it arbitrary bytes.
 */
int table_decode(const void *buf, size_t len, struct table *out, char *err, size_t errlen);

/*
 * Read both copies and pick as described above. `what` names the backend
 * in messages ("backend \"pool\" (/dev/nvme0n1)"). 0 or -1 with err.
 */
int table_load(const struct table_io *io, const char *what, struct table *out, char *err,
	       size_t errlen);

/*
 * Save t with generation t->generation + 1 into the other copy, flush, and
 * on success update t->generation, t->slot and t->version. When t was
 * never saved (slot -1) or was read in an older format, the copy it came
 * from is written too, next, with the generation after. On failure t is
 * unchanged and the previous table stays valid on disk.
 */
int table_save(const struct table_io *io, const char *what, struct table *t, char *err,
	       size_t errlen);

/* Deep copy / free. */
int table_copy(struct table *dst, const struct table *src);
void table_free(struct table *t);

/* Append an entry (realloc); 0 or -1 (out of memory / too many). */
int table_append(struct table *t, const struct table_entry *e);
/* Remove entry i, keeping the order of the others. */
void table_remove(struct table *t, size_t i);
/* Index of the entry named name, or -1. */
long table_find(const struct table *t, const char *name);

#endif
