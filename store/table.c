/* SPDX-License-Identifier: MIT */
/*
 * The tenant table on disk (see table.h).
 *
 * One copy's image, every integer little-endian:
 *
 *   header  off  size
 *             0     8  magic "DDUBLKTB"
 *             8     4  format version (2; 1 is still read)
 *            12     4  entry count, 0..TABLE_MAX_ENTRIES
 *            16     8  generation, >= 1
 *            24     4  image length: 64 + 256 * count, rounded up to TABLE_ALIGN
 *            28     4  CRC32C of the image [0, length) with this field zeroed
 *            32    16  backend uuid, not all zero (version 1: zero, no uuid)
 *            48    16  reserved, zero
 *            64        the entries, then zero padding up to the length
 *
 *   entry   off  size
 *             0    64  name, NUL-padded
 *            64    16  uuid
 *            80     8  offset
 *            88     8  size
 *            96     8  ctime
 *           104     8  iops_limit
 *           112     8  bw_limit
 *           120     4  dev_id (signed)
 *           124     4  queues
 *           128     4  depth
 *           132     4  class
 *           136     4  weight
 *           140     4  flags: bit 0 recovery, bit 1 from_policy
 *           144     8  min_iops (0: none)
 *           152     8  min_bw (0: none)
 *           160     4  latency_target_us (0: the scheduler's)
 *           164    92  reserved, zero
 *
 * min_iops, min_bw and latency_target_us came later within version 2:
 * they lie in what were reserved bytes, zero in every older entry, and
 * zero is their "not set". An older version 2 daemon refuses a copy whose
 * reserved bytes are not zero; so that it refuses the table and never
 * falls back to an older copy without them (a stale table), every save of
 * a table that sets them writes both copies (table_save). Refusing a
 * backend changes nothing on it (table.h), so going back to an older
 * daemon loses nothing: it serves that backend again once the fields are
 * cleared by a newer one.
 *
 * Decoding is as strict as state.c: every byte is either checked or must be
 * zero, so a table has exactly one image and the lengths in the header are
 * only compared with what the count implies, never used to index.
 */
#include "store/table.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/text.h"
#include "common/units.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "DDUBLKTB"
#define MAGIC_LEN 8
#define FORMAT_VERSION TABLE_FORMAT_VERSION
#define FORMAT_VERSION_OLDEST 1u /* version 1: no backend uuid */
#define HEADER_BYTES 64u
#define ENTRY_BYTES 256u

/* header fields */
#define H_VERSION 8
#define H_COUNT 12
#define H_GENERATION 16
#define H_LENGTH 24
#define H_CRC 28
#define H_UUID 32
#define H_RESERVED 48

/* entry fields */
#define E_NAME 0
#define E_UUID 64
#define E_OFFSET 80
#define E_SIZE 88
#define E_CTIME 96
#define E_IOPS 104
#define E_BW 112
#define E_DEV_ID 120
#define E_QUEUES 124
#define E_DEPTH 128
#define E_CLASS 132
#define E_WEIGHT 136
#define E_FLAGS 140
#define E_MIN_IOPS 144
#define E_MIN_BW 152
#define E_LATENCY_TARGET 160
#define E_RESERVED 164

#define FLAG_RECOVERY 0x1u
#define FLAG_FROM_POLICY 0x2u
#define FLAGS_KNOWN (FLAG_RECOVERY | FLAG_FROM_POLICY)

/* Offsets end up in off_t: an extent must end at or below this. */
#define EXTENT_END_MAX ((uint64_t)INT64_MAX)

#define WHY_MAX 256 /* one copy's problem, inside a longer message */

_Static_assert(CONF_NAME_MAX == E_UUID - E_NAME, "the entry holds a CONF_NAME_MAX name");
_Static_assert(HEADER_BYTES + ENTRY_BYTES * (uint64_t)TABLE_MAX_ENTRIES <= TABLE_COPY_BYTES,
	       "a full table fits in one copy");
_Static_assert(TABLE_COPY_BYTES % TABLE_ALIGN == 0, "copy B starts aligned");

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Bytes of the image of a table of nr entries (nr <= TABLE_MAX_ENTRIES). */
static size_t image_bytes(size_t nr)
{
	return (size_t)round_up_u64(HEADER_BYTES + (uint64_t)nr * ENTRY_BYTES, TABLE_ALIGN);
}

/* CRC32C of the image with its crc field read as zero. */
static uint32_t image_crc(const unsigned char *p, size_t length)
{
	static const unsigned char zero[4];
	uint32_t crc = crc32c(0, p, H_CRC);

	crc = crc32c(crc, zero, sizeof(zero));
	return crc32c(crc, p + H_CRC + 4, length - H_CRC - 4);
}

/* "entry I (\"NAME\"): problem", or "entry I: problem" before the name is known good. */
static int bad_entry(char *err, size_t errlen, size_t i, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int bad_entry(char *err, size_t errlen, size_t i, const char *name, const char *fmt, ...)
{
	char msg[WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (name)
		set_err(err, errlen, "entry %zu (\"%s\"): %s", i, name, msg);
	else
		set_err(err, errlen, "entry %zu: %s", i, msg);
	return -1;
}

static int check_name(const char *name, size_t i, char *err, size_t errlen)
{
	char q[QUOTE_BUF];

	if (!memchr(name, '\0', CONF_NAME_MAX))
		return bad_entry(err, errlen, i, NULL, "name is not NUL-terminated");
	if (!conf_name_valid(name))
		return bad_entry(err, errlen, i, NULL, "name %s is not a valid name",
				 quote(name, q, sizeof(q)));
	return 0;
}

/*
 * Entry i of e on its own and against e[0..i-1], which passed already:
 * the same rules for what we write and what we read back.
 */
static int check_entry(const struct table_entry *e, size_t i, char *err, size_t errlen)
{
	const struct table_entry *x = &e[i];
	const struct tenant_spec *s = &x->spec;
	const char *n = s->name;

	if (check_name(n, i, err, errlen) < 0)
		return -1;
	if (s->size == 0)
		return bad_entry(err, errlen, i, n, "size is 0");
	if (x->offset < TABLE_REGION_BYTES)
		return bad_entry(err, errlen, i, n,
				 "offset %llu is inside the table region (the first %u bytes)",
				 (unsigned long long)x->offset, TABLE_REGION_BYTES);
	if (x->offset > EXTENT_END_MAX || s->size > EXTENT_END_MAX - x->offset)
		return bad_entry(err, errlen, i, n,
				 "extent %llu + %llu ends beyond the largest offset %lld",
				 (unsigned long long)x->offset, (unsigned long long)s->size,
				 (long long)INT64_MAX);
	if (x->dev_id < -1)
		return bad_entry(err, errlen, i, n, "dev_id %d is invalid (-1: none)",
				 (int)x->dev_id);
	if (s->queues < 1 || s->queues > CONF_MAX_QUEUES)
		return bad_entry(err, errlen, i, n, "queues %u is out of range (1..%d)",
				 (unsigned)s->queues, CONF_MAX_QUEUES);
	if (s->depth < 1 || s->depth > CONF_MAX_DEPTH)
		return bad_entry(err, errlen, i, n, "depth %u is out of range (1..%d)",
				 (unsigned)s->depth, CONF_MAX_DEPTH);
	if ((unsigned)s->cls > CONF_CLASS_THROUGHPUT)
		return bad_entry(err, errlen, i, n, "class %u is unknown", (unsigned)s->cls);
	if (s->qos.weight < 1 || s->qos.weight > CONF_MAX_WEIGHT)
		return bad_entry(err, errlen, i, n, "weight %u is out of range (1..%d)",
				 s->qos.weight, CONF_MAX_WEIGHT);
	if (s->qos.latency_target_us &&
	    (s->qos.latency_target_us < CONF_MIN_LATENCY_TARGET_US ||
	     s->qos.latency_target_us > CONF_MAX_LATENCY_TARGET_US))
		return bad_entry(err, errlen, i, n,
				 "latency_target_us %u is out of range (0 or %u..%u)",
				 s->qos.latency_target_us, CONF_MIN_LATENCY_TARGET_US,
				 CONF_MAX_LATENCY_TARGET_US);
	if (s->qos.iops_limit && s->qos.min_iops > s->qos.iops_limit)
		return bad_entry(err, errlen, i, n, "min_iops %llu is above iops_limit %llu",
				 (unsigned long long)s->qos.min_iops,
				 (unsigned long long)s->qos.iops_limit);
	if (s->qos.bw_limit && s->qos.min_bw > s->qos.bw_limit)
		return bad_entry(err, errlen, i, n, "min_bw %llu is above bw_limit %llu",
				 (unsigned long long)s->qos.min_bw,
				 (unsigned long long)s->qos.bw_limit);
	for (size_t j = 0; j < i; j++) {
		if (strcmp(e[j].spec.name, n) == 0)
			return bad_entry(err, errlen, i, n, "duplicate name (also entry %zu)", j);
		/* both ends were checked against overflow above */
		if (x->offset < e[j].offset + e[j].spec.size &&
		    e[j].offset < x->offset + s->size)
			return bad_entry(err, errlen, i, n, "extent overlaps entry %zu (\"%s\")", j,
					 e[j].spec.name);
	}
	return 0;
}

static void encode_entry(unsigned char *p, const struct table_entry *x)
{
	const struct tenant_spec *s = &x->spec;
	uint32_t flags = (s->recovery ? FLAG_RECOVERY : 0) |
			 (x->from_policy ? FLAG_FROM_POLICY : 0);

	/* strnlen, not the whole array: what follows the NUL in memory stays out */
	memcpy(p + E_NAME, s->name, strnlen(s->name, CONF_NAME_MAX));
	memcpy(p + E_UUID, x->uuid, sizeof(x->uuid));
	put64(p + E_OFFSET, x->offset);
	put64(p + E_SIZE, s->size);
	put64(p + E_CTIME, x->ctime);
	put64(p + E_IOPS, s->qos.iops_limit);
	put64(p + E_BW, s->qos.bw_limit);
	put32(p + E_DEV_ID, (uint32_t)x->dev_id);
	put32(p + E_QUEUES, s->queues);
	put32(p + E_DEPTH, s->depth);
	put32(p + E_CLASS, (uint32_t)s->cls);
	put32(p + E_WEIGHT, s->qos.weight);
	put32(p + E_FLAGS, flags);
	put64(p + E_MIN_IOPS, s->qos.min_iops);
	put64(p + E_MIN_BW, s->qos.min_bw);
	put32(p + E_LATENCY_TARGET, s->qos.latency_target_us);
}

long table_encode(const struct table *t, uint64_t generation, void *buf, size_t len,
		  char *err, size_t errlen)
{
	unsigned char *p = buf;
	size_t need;

	if (t->nr > TABLE_MAX_ENTRIES) {
		set_err(err, errlen, "too many entries (%zu, at most %d)", t->nr,
			TABLE_MAX_ENTRIES);
		return -1;
	}
	if (generation == 0) {
		set_err(err, errlen, "generation 0 is reserved for a table never saved");
		return -1;
	}
	if (all_zero(t->uuid, sizeof(t->uuid))) {
		set_err(err, errlen, "the backend uuid is not set");
		return -1;
	}
	need = image_bytes(t->nr);
	if (len < need) {
		set_err(err, errlen, "buffer too small (%zu bytes, need %zu)", len, need);
		return -1;
	}
	for (size_t i = 0; i < t->nr; i++)
		if (check_entry(t->e, i, err, errlen) < 0)
			return -1;

	memset(p, 0, need);
	memcpy(p, MAGIC, MAGIC_LEN);
	put32(p + H_VERSION, FORMAT_VERSION);
	put32(p + H_COUNT, (uint32_t)t->nr);
	put64(p + H_GENERATION, generation);
	put32(p + H_LENGTH, (uint32_t)need);
	memcpy(p + H_UUID, t->uuid, sizeof(t->uuid));
	for (size_t i = 0; i < t->nr; i++)
		encode_entry(p + HEADER_BYTES + i * ENTRY_BYTES, &t->e[i]);
	put32(p + H_CRC, image_crc(p, need));
	return (long)need;
}

/* The bytes that check_entry() cannot see in a struct table_entry, then the fields. */
static int decode_entry(const unsigned char *p, size_t i, struct table_entry *x, char *err,
			size_t errlen)
{
	const unsigned char *nul = memchr(p + E_NAME, '\0', CONF_NAME_MAX);
	struct tenant_spec *s = &x->spec;
	uint32_t cls = get32(p + E_CLASS), flags = get32(p + E_FLAGS);

	memcpy(s->name, p + E_NAME, CONF_NAME_MAX);
	if (check_name(s->name, i, err, errlen) < 0)
		return -1;
	if (!all_zero(nul, (size_t)(p + E_NAME + CONF_NAME_MAX - nul)))
		return bad_entry(err, errlen, i, s->name, "name padding is not zero");
	if (cls > CONF_CLASS_THROUGHPUT)
		return bad_entry(err, errlen, i, s->name, "class %u is unknown", cls);
	if (flags & ~FLAGS_KNOWN)
		return bad_entry(err, errlen, i, s->name, "unknown flags 0x%x",
				 flags & ~FLAGS_KNOWN);
	if (!all_zero(p + E_RESERVED, ENTRY_BYTES - E_RESERVED))
		return bad_entry(err, errlen, i, s->name, "reserved bytes are not zero");

	memcpy(x->uuid, p + E_UUID, sizeof(x->uuid));
	x->offset = get64(p + E_OFFSET);
	s->size = get64(p + E_SIZE);
	x->ctime = get64(p + E_CTIME);
	s->qos.iops_limit = get64(p + E_IOPS);
	s->qos.bw_limit = get64(p + E_BW);
	x->dev_id = (int32_t)get32(p + E_DEV_ID);
	s->queues = get32(p + E_QUEUES);
	s->depth = get32(p + E_DEPTH);
	s->cls = (enum conf_class)cls;
	s->qos.weight = get32(p + E_WEIGHT);
	s->qos.min_iops = get64(p + E_MIN_IOPS);
	s->qos.min_bw = get64(p + E_MIN_BW);
	s->qos.latency_target_us = get32(p + E_LATENCY_TARGET);
	s->recovery = flags & FLAG_RECOVERY;
	x->from_policy = flags & FLAG_FROM_POLICY;
	return 0;
}

int table_decode(const void *buf, size_t len, struct table *out, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	struct table_entry *e = NULL;
	uint32_t version, count, length, stored, crc;
	uint64_t generation;
	size_t used;

	if (len < MAGIC_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0) {
		set_err(err, errlen, "no table (no magic)");
		return 0;
	}
	if (len < HEADER_BYTES) {
		set_err(err, errlen, "truncated: %zu bytes, the header alone is %u", len,
			HEADER_BYTES);
		return -1;
	}
	/* the version first: another version may lay out everything after it differently */
	version = get32(p + H_VERSION);
	if (version < FORMAT_VERSION_OLDEST || version > FORMAT_VERSION) {
		set_err(err, errlen, "format version %u is not supported (this ddublkd reads "
			"%u..%u)", version, FORMAT_VERSION_OLDEST, FORMAT_VERSION);
		return TABLE_DECODE_UNKNOWN_VERSION;
	}
	count = get32(p + H_COUNT);
	if (count > TABLE_MAX_ENTRIES) {
		set_err(err, errlen, "entry count %u exceeds the maximum %d", count,
			TABLE_MAX_ENTRIES);
		return -1;
	}
	length = get32(p + H_LENGTH);
	if (length != image_bytes(count)) {
		set_err(err, errlen, "image length %u does not match %u entries (expected %zu)",
			length, count, image_bytes(count));
		return -1;
	}
	if (length > len) {
		set_err(err, errlen, "truncated: the image is %u bytes, only %zu available", length,
			len);
		return -1;
	}
	stored = get32(p + H_CRC);
	crc = image_crc(p, length);
	if (crc != stored) {
		set_err(err, errlen, "CRC32C mismatch (stored 0x%08x, computed 0x%08x)", stored,
			crc);
		return -1;
	}
	generation = get64(p + H_GENERATION);
	if (generation == 0) {
		set_err(err, errlen, "generation 0 is invalid");
		return -1;
	}
	/* version 1 had no uuid: its bytes were reserved, zero */
	if (version == 1 ? !all_zero(p + H_UUID, TABLE_UUID_BYTES) :
			   all_zero(p + H_UUID, TABLE_UUID_BYTES)) {
		set_err(err, errlen, version == 1 ? "header reserved bytes are not zero" :
						    "the backend uuid is zero");
		return -1;
	}
	if (!all_zero(p + H_RESERVED, HEADER_BYTES - H_RESERVED)) {
		set_err(err, errlen, "header reserved bytes are not zero");
		return -1;
	}
	used = HEADER_BYTES + (size_t)count * ENTRY_BYTES;
	if (!all_zero(p + used, length - used)) {
		set_err(err, errlen, "padding after the last entry is not zero");
		return -1;
	}
	if (count) {
		e = calloc(count, sizeof(*e));
		if (!e) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (decode_entry(p + HEADER_BYTES + i * ENTRY_BYTES, i, &e[i], err, errlen) < 0 ||
		    check_entry(e, i, err, errlen) < 0) {
			free(e);
			return -1;
		}
	}
	out->generation = generation;
	out->slot = -1;
	out->version = version;
	memcpy(out->uuid, p + H_UUID, sizeof(out->uuid));
	out->nr = count;
	out->e = e;
	return 1;
}

static const char slot_name[2] = { 'A', 'B' };

/* 0 or a positive errno: io callbacks promise 0 or -errno, do not count on it. */
static int io_errno(int rc)
{
	return rc == 0 ? 0 : rc < 0 ? -rc : EIO;
}

/* A copy that is ours in a format we cannot read: a newer ddublkd's, or a mistake. */
static bool unknown_version(const int rc[2])
{
	return rc[0] == TABLE_DECODE_UNKNOWN_VERSION || rc[1] == TABLE_DECODE_UNKNOWN_VERSION;
}

int table_load(const struct table_io *io, const char *what, struct table *out, char *err,
	       size_t errlen)
{
	struct table copy[2] = { { .slot = -1 }, { .slot = -1 } };
	char why[2][WHY_MAX];
	int rc[2] = { 0, 0 }, pick;
	void *buf;

	if (posix_memalign(&buf, TABLE_ALIGN, TABLE_COPY_BYTES)) {
		set_err(err, errlen, "%s: cannot read the tenant table: out of memory", what);
		return -1;
	}
	for (int s = 0; s < 2; s++) {
		int e = io_errno(io->read(io->ctx, buf, TABLE_COPY_BYTES,
					  (uint64_t)s * TABLE_COPY_BYTES));

		/* an I/O error says nothing about the copy: do not guess around it */
		if (e) {
			set_err(err, errlen, "%s: cannot read tenant table copy %c: %s", what,
				slot_name[s], strerror(e));
			table_free(&copy[0]);
			free(buf);
			return -1;
		}
		rc[s] = table_decode(buf, TABLE_COPY_BYTES, &copy[s], why[s], sizeof(why[s]));
	}
	free(buf);

	if (unknown_version(rc)) {
		/* the other copy may be older than it: never serve a table behind a newer one */
		int s = rc[1] == TABLE_DECODE_UNKNOWN_VERSION;

		set_err(err, errlen, "%s: tenant table copy %c: %s (written by a newer ddublkd?)",
			what, slot_name[s], why[s]);
		table_free(&copy[0]);
		table_free(&copy[1]);
		return -1;
	}
	if (rc[0] == 1 && rc[1] == 1) {
		/* save never writes one generation twice: equal ones are not ours */
		if (copy[0].generation == copy[1].generation) {
			set_err(err, errlen,
				"%s: tenant table copies A and B both hold generation %llu",
				what, (unsigned long long)copy[0].generation);
			table_free(&copy[0]);
			table_free(&copy[1]);
			return -1;
		}
		pick = copy[1].generation > copy[0].generation;
		table_free(&copy[!pick]);
	} else if (rc[0] == 1 || rc[1] == 1) {
		/* the other one is the torn newer write (or older and damaged) */
		pick = rc[1] == 1;
	} else if (rc[0] == 0 && (rc[1] == 0 || rc[1] == -1)) {
		/*
		 * A never written: no save completed. The first save writes B
		 * and then A, so a damaged B is that first save, torn; before
		 * it the table was empty, so empty it is (else a crash in the
		 * first add of a fresh backend would lock the backend for good).
		 * Any other damage (A damaged, whatever B holds) is refused:
		 * it may have held tenants.
		 */
		*out = (struct table){ .generation = 0, .slot = -1 };
		return 0;
	} else {
		set_err(err, errlen, "%s: no valid tenant table: copy A: %s; copy B: %s", what,
			why[0], why[1]);
		return -1;
	}
	*out = copy[pick];
	out->slot = pick;
	return 0;
}

/* Encode t as generation into copy slot and flush it. 0 or -1 with err. */
static int save_copy(const struct table_io *io, const char *what, const struct table *t,
		     uint64_t generation, int slot, char *err, size_t errlen)
{
	size_t cap = t->nr <= TABLE_MAX_ENTRIES ? image_bytes(t->nr) : TABLE_ALIGN;
	char why[WHY_MAX];
	void *buf;
	long n;
	int e;

	if (posix_memalign(&buf, TABLE_ALIGN, cap)) {
		set_err(err, errlen, "%s: cannot save the tenant table: out of memory", what);
		return -1;
	}
	n = table_encode(t, generation, buf, cap, why, sizeof(why));
	if (n < 0) {
		set_err(err, errlen, "%s: cannot save the tenant table: %s", what, why);
		free(buf);
		return -1;
	}
	e = io_errno(io->write(io->ctx, buf, (size_t)n, (uint64_t)slot * TABLE_COPY_BYTES));
	free(buf);
	if (e) {
		set_err(err, errlen, "%s: cannot write tenant table copy %c: %s", what,
			slot_name[slot], strerror(e));
		return -1;
	}
	/* until the flush returns the new copy may not be durable */
	e = io_errno(io->flush(io->ctx));
	if (e) {
		set_err(err, errlen, "%s: cannot flush tenant table copy %c: %s", what,
			slot_name[slot], strerror(e));
		return -1;
	}
	return 0;
}

/* Does an entry set a field that an older version 2 daemon finds in its reserved bytes? */
static bool has_later_fields(const struct table *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct conf_qos *q = &t->e[i].spec.qos;

		if (q->min_iops || q->min_bw || q->latency_target_us)
			return true;
	}
	return false;
}

int table_save(const struct table_io *io, const char *what, struct table *t, char *err,
	       size_t errlen)
{
	/* never saved: B first (see table_load: a torn B alone means "still empty") */
	int slot = t->slot == 1 ? 0 : 1;
	/* later fields: no copy an older daemon could read may stay behind (see the top) */
	bool both = t->slot < 0 || t->version != FORMAT_VERSION || has_later_fields(t);
	uint64_t last = t->generation + (both ? 2 : 1);

	if (t->generation > UINT64_MAX - (both ? 2 : 1)) {
		set_err(err, errlen, "%s: cannot save the tenant table: generations exhausted",
			what);
		return -1;
	}
	if (save_copy(io, what, t, t->generation + 1, slot, err, errlen) < 0)
		return -1;
	/*
	 * The other copy too, newer still: an old-format or missing copy
	 * would otherwise be all that is left when this one is damaged.
	 * Failing here leaves t as it was: the next save starts over.
	 */
	if (both && save_copy(io, what, t, last, !slot, err, errlen) < 0)
		return -1;
	t->generation = last;
	t->slot = both ? !slot : slot;
	t->version = FORMAT_VERSION;
	return 0;
}

int table_copy(struct table *dst, const struct table *src)
{
	struct table_entry *e = NULL;

	if (src->nr) {
		e = malloc(src->nr * sizeof(*e));
		if (!e)
			return -1;
		memcpy(e, src->e, src->nr * sizeof(*e));
	}
	*dst = *src;
	dst->e = e;
	return 0;
}

/*
 * Entries only: generation and slot stay, so a table emptied and saved
 * again still goes to the right copy with a higher generation.
 */
void table_free(struct table *t)
{
	free(t->e);
	t->e = NULL;
	t->nr = 0;
}

int table_append(struct table *t, const struct table_entry *e)
{
	struct table_entry copy = *e; /* e may point into t->e, which realloc moves */
	struct table_entry *grown;

	if (t->nr >= TABLE_MAX_ENTRIES) {
		errno = E2BIG;
		return -1;
	}
	grown = realloc(t->e, (t->nr + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	grown[t->nr++] = copy;
	t->e = grown;
	return 0;
}

void table_remove(struct table *t, size_t i)
{
	if (i >= t->nr)
		return;
	memmove(&t->e[i], &t->e[i + 1], (t->nr - i - 1) * sizeof(*t->e));
	if (--t->nr == 0) {
		free(t->e);
		t->e = NULL;
	}
}

long table_find(const struct table *t, const char *name)
{
	/* entry names always hold a NUL within CONF_NAME_MAX; name may be longer */
	for (size_t i = 0; i < t->nr; i++)
		if (strncmp(t->e[i].spec.name, name, CONF_NAME_MAX) == 0)
			return (long)i;
	return -1;
}
