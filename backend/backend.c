/* SPDX-License-Identifier: MIT */
#include "backend/backend.h"

#include <errno.h>
#include <stdlib.h>

#include "backend/nvme/discover.h"
#include "ublk/uapi.h"

bool backend_is_nvme(const struct conf_backend *cb)
{
	char ns[NVME_NAME_MAX];

	if (cb->type != CONF_BACKEND_AUTO)
		return cb->type == CONF_BACKEND_NVME;
	return cb->controller[0] || nvme_path_namespace(cb->path, ns, sizeof(ns)) == 1;
}

int backend_open(const struct conf_backend *cb, struct backend **out, char *err, size_t errlen)
{
	if (backend_is_nvme(cb))
		return nvme_backend_open(cb, out, err, errlen);
	return file_backend_open(cb, out, err, errlen);
}

void backend_close(struct backend *be)
{
	if (be)
		be->ops->close(be);
}

int backend_op_from_ublk(unsigned ublk_op)
{
	switch (ublk_op) {
	case UBLK_IO_OP_READ: return BIO_READ;
	case UBLK_IO_OP_WRITE: return BIO_WRITE;
	case UBLK_IO_OP_FLUSH: return BIO_FLUSH;
	case UBLK_IO_OP_DISCARD: return BIO_DISCARD;
	case UBLK_IO_OP_WRITE_ZEROES: return BIO_WRITE_ZEROES;
	default: return -EOPNOTSUPP;
	}
}
