/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the control protocol's request decoder (ctl/proto.h)
 * on arbitrary lines, as a hostile or broken client would send them.
 *
 * Besides not crashing: a refused request says why and leaves *req
 * untouched; an accepted one encodes to a line that decodes to the same
 * request (what ublk-ctl sends is what the daemon reads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_check.h"

#include "ctl/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct ctl_request *req)
{
	const struct tenant_spec *s = &req->spec;
	struct ctl_request again;
	const struct tenant_spec *a = &again.spec;
	char err[512];
	char *line = ctl_request_encode(req);

	CHECK(line != NULL);
	CHECK(line[strlen(line) - 1] == '\n');
	CHECK(ctl_request_decode(line, strlen(line) - 1, &again, err, sizeof(err)) == 0);
	CHECK(again.cmd == req->cmd);
	CHECK(strcmp(a->name, s->name) == 0);
	CHECK(strcmp(a->backend, s->backend) == 0);
	CHECK(a->size == s->size && a->queues == s->queues && a->depth == s->depth);
	CHECK(a->cls == s->cls && a->recovery == s->recovery);
	CHECK(a->qos.iops_limit == s->qos.iops_limit && a->qos.bw_limit == s->qos.bw_limit &&
	      a->qos.weight == s->qos.weight);
	CHECK(a->qos.min_iops == s->qos.min_iops && a->qos.min_bw == s->qos.min_bw &&
	      a->qos.latency_target_us == s->qos.latency_target_us);
	CHECK(again.force == req->force && again.dry_run == req->dry_run);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req, before;
	char err[512] = "";

	memset(&req, 0x5a, sizeof(req));
	memcpy(&before, &req, sizeof(req));
	if (ctl_request_decode((const char *)data, size, &req, err, sizeof(err)) == 0) {
		check_round_trip(&req);
	} else {
		CHECK(err[0] != '\0');
		CHECK(memcmp(&req, &before, sizeof(req)) == 0);
	}
	return 0;
}
