/* SPDX-License-Identifier: MIT */
/*
 * features: what the running kernel's ublk driver offers, and per backend
 * how its NVMe queues are reached.
 */
#include <stdio.h>

#include "ctl/ctl_cli.h"
#include "ctl/ctl_help.h"

/*
 * One line per backend (print), or only the check that every entry is well
 * formed: how its NVMe queues are reached. Older daemons send none.
 */
static int show_backends(json_object *f, bool print)
{
	json_object *arr;
	size_t n;

	if (!json_object_object_get_ex(f, "backends", &arr))
		return EXIT_OK;
	if (!json_object_is_type(arr, json_type_array)) {
		errmsg("malformed reply from the daemon (bad \"backends\")");
		return EXIT_REFUSED;
	}
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct ctl_backend_info b;

		if (ctl_backend_from_json(json_object_array_get_idx(arr, i), &b) < 0) {
			errmsg("malformed reply from the daemon (bad \"backends\")");
			return EXIT_REFUSED;
		}
		if (!print)
			continue;
		if (b.route == CTL_ROUTE_NONE)
			printf("backend %s (%s): no NVMe queue routing\n", b.name, b.kind);
		else
			printf("backend %s (%s): %s, %u of %u NVMe queues reachable (%u polled)\n",
			       b.name, b.kind, b.route == CTL_ROUTE_STEERING ?
			       "queue steering" : "pinned submitters", b.reachable_queues,
			       b.hw_queues, b.poll_queues);
	}
	return EXIT_OK;
}

static int show_features(struct cmd_ctx *x, json_object *f)
{
	json_object *opcodes, *flags, *raw, *kernel, *flag;
	size_t n;

	if (!json_object_object_get_ex(f, "opcodes", &opcodes) ||
	    !json_object_is_type(opcodes, json_type_string) ||
	    !json_object_object_get_ex(f, "flags", &flags) ||
	    !json_object_is_type(flags, json_type_array) ||
	    !json_object_object_get_ex(f, "flags_raw", &raw) ||
	    !json_object_is_type(raw, json_type_int) ||
	    !json_object_object_get_ex(f, "kernel", &kernel) ||
	    !json_object_is_type(kernel, json_type_string)) {
		errmsg("malformed reply from the daemon (bad \"features\")");
		return EXIT_REFUSED;
	}
	n = json_object_array_length(flags);
	for (size_t i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(flags, i), json_type_string)) {
			errmsg("malformed reply from the daemon (bad \"flags\")");
			return EXIT_REFUSED;
		}
	}
	if (show_backends(f, false) != EXIT_OK)
		return EXIT_REFUSED;
	if (x->json) {
		print_json(f);
		return EXIT_OK;
	}
	printf("ublk opcodes: %s\n", json_object_get_string(opcodes));
	fputs("ublk flags:", stdout);
	for (size_t i = 0; i < n; i++) {
		flag = json_object_array_get_idx(flags, i);
		printf(" %s", json_object_get_string(flag));
	}
	printf("%s (0x%llx)\n", n ? "" : " none",
	       (unsigned long long)json_object_get_uint64(raw));
	printf("kernel: %s\n", json_object_get_string(kernel));
	return show_backends(f, true);
}

const struct command cmd_features = {
	.name = "features", .help = help_features,
	.request = CTL_CMD_FEATURES, .longopts = json_options,
	.payload = "features", .payload_type = json_type_object, .show = show_features,
};
