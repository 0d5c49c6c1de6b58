/* SPDX-License-Identifier: MIT */
#include "backend/backend.h"

#include <errno.h>
#include <stdlib.h>

#include "backend/nvme/discover.h"

bool backend_is_nvme(const struct conf_backend *cb)
{
	char ns[NVME_NAME_MAX];

	if (cb->type != CONF_BACKEND_AUTO)
		return cb->type == CONF_BACKEND_NVME;
	return cb->controller[0] || nvme_path_namespace(cb->path, ns, sizeof(ns)) == 1;
}

int backend_open(const struct conf_backend *cb, struct backend **out, char *err, size_t errlen)
{
	if (cb->type == CONF_BACKEND_NULL)
		return null_backend_open(cb, out, err, errlen);
	if (backend_is_nvme(cb))
		return nvme_backend_open(cb, out, err, errlen);
	return file_backend_open(cb, out, err, errlen);
}

void backend_close(struct backend *be)
{
	if (be)
		be->ops->close(be);
}

const char *backend_route_ns(const struct backend *be)
{
	return be->ops->route_ns ? be->ops->route_ns(be) : NULL;
}
