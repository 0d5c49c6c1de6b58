/* SPDX-License-Identifier: MIT */
/*
 * The tenant table on disk (see state.h).
 *
 * Decoding is strict: this file decides which bytes of a shared backend a
 * tenant gets after a restart, so anything surprising is refused, never
 * guessed at. Offsets and sizes are JSON integers, capped at INT64_MAX
 * (they end up in off_t anyway).
 */
#include "conf/state.h"
#include "common/err.h"
#include "common/text.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_VERSION 1
#define STATE_MAX_BYTES (64u << 20)
#define QUOTE_MAX 64
#define QUOTE_BUF (QUOTE_MAX * 4 + 8)

struct decoder {
	const char *prefix; /* file name, or "state" */
	char *err;
	size_t errlen;
};

static const char *const root_keys[] = { "version", "tenants", NULL };
static const char *const tenant_keys[] = { "name", "backend", "offset", "size",
					   "dev_id", "queues", "depth", NULL };

/* "PREFIX: KEY: problem", KEY being e.g. tenants[3].offset. Returns -1. */
static int bad(const struct decoder *d, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct decoder *d, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(d->err, d->errlen, "%s: %s%s%s", d->prefix, key ? key : "",
		key ? ": " : "", msg);
	return -1;
}

/* Untrusted text in a message: one line, bounded. */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t n = 0, i;

	n += (size_t)snprintf(buf, len, "\"");
	for (i = 0; s[i] && i < QUOTE_MAX && n < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, len - n, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			n += (size_t)snprintf(buf + n, len - n, "%c", c);
	}
	if (n < len)
		snprintf(buf + n, len - n, s[i] ? "\"..." : "\"");
	return buf;
}

static int check_keys(const struct decoder *d, const char *where,
		      struct json_object *obj, const char *const *valid)
{
	json_object_object_foreach(obj, key, val) {
		const char *const *v;
		char q[QUOTE_BUF];

		for (v = valid; *v && strcmp(*v, key) != 0; v++)
			;
		if (!*v)
			return bad(d, where, "unknown key %s", quote(key, q, sizeof(q)));
	}
	return 0;
}

/* The member `key` of obj (NULL for a JSON null), or an error naming `path`. */
static int member(const struct decoder *d, struct json_object *obj,
		  const char *key, const char *path, struct json_object **val)
{
	if (!json_object_object_get_ex(obj, key, val))
		return bad(d, path, "missing");
	return 0;
}

static int get_int(const struct decoder *d, struct json_object *obj, const char *key,
		   const char *path, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *val;
	int64_t v;

	if (member(d, obj, key, path, &val) < 0)
		return -1;
	if (!json_object_is_type(val, json_type_int))
		return bad(d, path, "must be an integer");
	v = json_object_get_int64(val);
	/* json-c clamps what does not fit in int64; do not take the clamp */
	if (v == INT64_MAX && json_object_get_uint64(val) != (uint64_t)INT64_MAX)
		return bad(d, path, "%llu is out of range (%lld..%lld)",
			   (unsigned long long)json_object_get_uint64(val),
			   (long long)min, (long long)max);
	if (v < min || v > max)
		return bad(d, path, "%lld is out of range (%lld..%lld)",
			   (long long)v, (long long)min, (long long)max);
	*out = v;
	return 0;
}

static int get_name(const struct decoder *d, struct json_object *obj, const char *key,
		    const char *path, char out[CONF_NAME_MAX])
{
	struct json_object *val;
	char q[QUOTE_BUF];
	const char *s;

	if (member(d, obj, key, path, &val) < 0)
		return -1;
	if (!json_object_is_type(val, json_type_string))
		return bad(d, path, "must be a string");
	s = json_object_get_string(val);
	if (strlen(s) != (size_t)json_object_get_string_len(val) || !conf_name_valid(s))
		return bad(d, path, "%s is not a valid name", quote(s, q, sizeof(q)));
	strcpy(out, s);
	return 0;
}

static int decode_tenant(const struct decoder *d, struct json_object *obj,
			 size_t idx, struct tenant_rec *r)
{
	char where[32], path[64];
	int64_t offset, size, dev_id, queues, depth;

	snprintf(where, sizeof(where), "tenants[%zu]", idx);
	if (!json_object_is_type(obj, json_type_object))
		return bad(d, where, "must be an object");
	if (check_keys(d, where, obj, tenant_keys) < 0)
		return -1;
#define FIELD(k) (snprintf(path, sizeof(path), "%s.%s", where, k), path)
	if (get_name(d, obj, "name", FIELD("name"), r->name) < 0 ||
	    get_name(d, obj, "backend", FIELD("backend"), r->backend) < 0 ||
	    get_int(d, obj, "offset", FIELD("offset"), 0, INT64_MAX, &offset) < 0 ||
	    get_int(d, obj, "size", FIELD("size"), 1, INT64_MAX, &size) < 0 ||
	    get_int(d, obj, "dev_id", FIELD("dev_id"), -1, INT_MAX, &dev_id) < 0 ||
	    get_int(d, obj, "queues", FIELD("queues"), 1, CONF_MAX_QUEUES, &queues) < 0 ||
	    get_int(d, obj, "depth", FIELD("depth"), 1, CONF_MAX_DEPTH, &depth) < 0)
		return -1;
	if (offset > INT64_MAX - size)
		return bad(d, FIELD("size"), "offset + size overflows");
#undef FIELD
	r->offset = (uint64_t)offset;
	r->size = (uint64_t)size;
	r->dev_id = (int)dev_id;
	r->queues = (unsigned)queues;
	r->depth = (unsigned)depth;
	return 0;
}

/* Two tenants on one name or one ublk device means the file is corrupt. */
static int check_unique(const struct decoder *d, const struct tenant_rec *recs, size_t i)
{
	char path[64], q[QUOTE_BUF];

	for (size_t j = 0; j < i; j++) {
		if (strcmp(recs[j].name, recs[i].name) == 0) {
			snprintf(path, sizeof(path), "tenants[%zu].name", i);
			return bad(d, path, "duplicate tenant name %s (also tenants[%zu])",
				   quote(recs[i].name, q, sizeof(q)), j);
		}
		if (recs[i].dev_id >= 0 && recs[j].dev_id == recs[i].dev_id) {
			snprintf(path, sizeof(path), "tenants[%zu].dev_id", i);
			return bad(d, path, "device %d is also used by tenants[%zu]",
				   recs[i].dev_id, j);
		}
	}
	return 0;
}

static int decode_root(const struct decoder *d, struct json_object *root,
		       struct tenant_rec **recs, size_t *nr)
{
	struct json_object *tenants;
	struct tenant_rec *r = NULL;
	int64_t version;
	size_t n;

	if (!json_object_is_type(root, json_type_object))
		return bad(d, NULL, "must be a JSON object");
	if (check_keys(d, NULL, root, root_keys) < 0 ||
	    get_int(d, root, "version", "version", INT64_MIN, INT64_MAX, &version) < 0)
		return -1;
	if (version != STATE_VERSION)
		return bad(d, "version", "%lld is not supported (expected %d)",
			   (long long)version, STATE_VERSION);
	if (member(d, root, "tenants", "tenants", &tenants) < 0)
		return -1;
	if (!json_object_is_type(tenants, json_type_array))
		return bad(d, "tenants", "must be an array");
	n = json_object_array_length(tenants);
	if (n) {
		r = calloc(n, sizeof(*r));
		if (!r)
			return bad(d, NULL, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (decode_tenant(d, json_object_array_get_idx(tenants, i), i, &r[i]) < 0 ||
		    check_unique(d, r, i) < 0) {
			free(r);
			return -1;
		}
	}
	*recs = r;
	*nr = n;
	return 0;
}

static unsigned line_at(const char *text, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

static int decode(const struct decoder *d, const char *text,
		  struct tenant_rec **recs, size_t *nr)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t len = strlen(text);
	int rc;

	if (!tok)
		return bad(d, NULL, "out of memory");
	if (len >= INT_MAX) {
		json_tokener_free(tok);
		return bad(d, NULL, "too large");
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* the NUL too: it ends a number that is the last thing in the text */
	root = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (!root) {
		size_t end = json_tokener_get_parse_end(tok);

		json_tokener_free(tok);
		if (jerr == json_tokener_error_parse_eof || jerr == json_tokener_continue)
			return bad(d, NULL, "not valid JSON: %s",
				   strspn(text, " \t\r\n") == len ? "empty" :
								   "unexpected end of input");
		return bad(d, NULL, "not valid JSON: %s at line %u",
			   json_tokener_error_desc(jerr), line_at(text, end));
	}
	json_tokener_free(tok);
	rc = decode_root(d, root, recs, nr);
	json_object_put(root);
	return rc;
}

int state_decode(const char *text, struct tenant_rec **recs, size_t *nr,
		 char *err, size_t errlen)
{
	struct decoder d = { .prefix = "state", .err = err, .errlen = errlen };

	return decode(&d, text, recs, nr);
}

/* json_object_object_add() with ownership of val settled either way. */
static int put_field(struct json_object *o, const char *key, struct json_object *val)
{
	if (!val)
		return -1;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static struct json_object *encode_rec(const struct tenant_rec *r)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (put_field(o, "name", json_object_new_string(r->name)) ||
	    put_field(o, "backend", json_object_new_string(r->backend)) ||
	    put_field(o, "offset", json_object_new_int64((int64_t)r->offset)) ||
	    put_field(o, "size", json_object_new_int64((int64_t)r->size)) ||
	    put_field(o, "dev_id", json_object_new_int(r->dev_id)) ||
	    put_field(o, "queues", json_object_new_int64(r->queues)) ||
	    put_field(o, "depth", json_object_new_int64(r->depth))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

char *state_encode(const struct tenant_rec *recs, size_t nr)
{
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	char *text = NULL;

	if (!root || !arr ||
	    put_field(root, "version", json_object_new_int(STATE_VERSION))) {
		json_object_put(arr);
		goto out;
	}
	if (put_field(root, "tenants", arr)) /* root owns arr from here on */
		goto out;
	for (size_t i = 0; i < nr; i++) {
		struct json_object *o;

		/* what does not fit would come back negative: refuse to write it */
		if (recs[i].offset > INT64_MAX || recs[i].size > INT64_MAX) {
			errno = ERANGE;
			goto out;
		}
		o = encode_rec(&recs[i]);
		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			goto out;
		}
	}
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(root);
	return text;
}

int state_load(const char *path, struct tenant_rec **recs, size_t *nr,
	       char *err, size_t errlen)
{
	struct decoder d = { .prefix = path, .err = err, .errlen = errlen };
	char *text;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*recs = NULL;
		*nr = 0;
		return 0;
	}
	if (fd < 0)
		return bad(&d, NULL, "cannot read: %s", strerror(errno));
	text = read_text_fd(fd, STATE_MAX_BYTES);
	if (!text) {
		rc = errno;
		close(fd);
		return bad(&d, NULL, "cannot read: %s",
			   rc == EILSEQ ? "contains a NUL byte" : strerror(rc));
	}
	close(fd);
	rc = decode(&d, text, recs, nr);
	free(text);
	return rc;
}

/* mkdir -p for dir; the levels it creates are private (0700). */
static int make_parents(const char *dir)
{
	struct stat st;
	char *copy, *p;
	int saved;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		return -1;
	}
	copy = strdup(dir);
	if (!copy)
		return -1;
	for (p = copy + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			break;
		*p = c;
		if (!c) {
			free(copy);
			return 0;
		}
	}
	saved = errno;
	free(copy);
	errno = saved;
	return -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write tmp fully and durably; on failure errno is set and tmp is gone. */
static int write_tmp(const char *tmp, const char *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int saved;

	if (fd < 0)
		return -1;
	if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
	    fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int state_save(const char *path, const struct tenant_rec *recs, size_t nr,
	       char *err, size_t errlen)
{
	char *text = state_encode(recs, nr);
	char *dir = dir_of(path), *tmp = NULL;
	int rc = -1;

	if (!text || !dir) {
		set_err(err, errlen, "%s: cannot encode: %s", path, strerror(errno));
		goto out;
	}
	if (make_parents(dir) < 0) {
		set_err(err, errlen, "%s: cannot create directory %s: %s", path, dir,
			strerror(errno));
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (write_tmp(tmp, text) < 0) {
		set_err(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		set_err(err, errlen, "%s: cannot rename %s into place: %s", path, tmp,
			strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* without this the rename itself may not survive a crash */
	if (sync_dir(dir) < 0) {
		set_err(err, errlen, "%s: cannot sync directory %s: %s", path, dir,
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(dir);
	free(tmp);
	return rc;
}
