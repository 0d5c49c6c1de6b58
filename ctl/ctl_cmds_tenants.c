/* SPDX-License-Identifier: MIT */
/*
 * The commands that change or show the tenant table: add, list, del, and
 * reload (the policy file again). Each is its entry (struct command) plus
 * the hooks it needs: its options, its operands, how it shows the reply.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/units.h"
#include "conf/config.h"
#include "ctl/ctl_cli.h"
#include "ctl/ctl_help.h"

/* ---- add --------------------------------------------------------------- */

/* --min-iops, --min-bw, --latency-target: the reservations and the p99 goal. */
static int slo_option(struct ctl_request *req, int c, const char *arg)
{
	struct conf_qos *q = &req->spec.qos;
	unsigned v;

	switch (c) {
	case OPT_MIN_IOPS:
		if (parse_count(arg, CONF_MAX_IOPS_LIMIT, &v))
			return usage_error("add", "--min-iops must be 0 (none) or an integer up to "
					   "%u, not '%s'", CONF_MAX_IOPS_LIMIT, arg);
		q->min_iops = v;
		return 0;
	case OPT_MIN_BW:
		if (parse_size(arg, &q->min_bw) ||
		    (q->min_bw && (q->min_bw < CONF_MIN_BW_LIMIT || q->min_bw > CONF_MAX_BW_LIMIT)))
			return usage_error("add", "--min-bw must be 0 (none) or 4K to 1T per second, "
					   "e.g. 50M, not '%s'", arg);
		return 0;
	case OPT_LATENCY_TARGET:
		if (parse_count(arg, CONF_MAX_LATENCY_TARGET_US, &v) ||
		    (v && v < CONF_MIN_LATENCY_TARGET_US))
			return usage_error("add", "--latency-target must be 0 (the scheduler's) or "
					   "%u to %u microseconds, not '%s'",
					   CONF_MIN_LATENCY_TARGET_US, CONF_MAX_LATENCY_TARGET_US,
					   arg);
		q->latency_target_us = v;
		return 0;
	}
	return OPT_NOT_COMMON;
}

/* --class, --iops-limit, --bw-limit, --weight, --no-recovery, and slo_option()'s. */
static int qos_option(struct ctl_request *req, int c, const char *arg)
{
	unsigned long long v;
	char *end;
	int cls;

	switch (c) {
	case OPT_CLASS:
		cls = conf_class_from_name(arg);
		if (cls < 0)
			return usage_error("add", "--class must be latency, throughput or besteffort, "
					   "not '%s'", arg);
		req->spec.cls = (enum conf_class)cls;
		return 0;
	case OPT_IOPS_LIMIT:
		errno = 0;
		v = strtoull(arg, &end, 10);
		/* strtoull() also skips blanks and takes a sign: digits only */
		if (!isdigit((unsigned char)arg[0]) || errno || *end || v > 10000000ULL)
			return usage_error("add", "--iops-limit must be 0 (no limit) or an integer up "
					   "to 10000000, not '%s'", arg);
		req->spec.qos.iops_limit = v;
		return 0;
	case OPT_BW_LIMIT:
		if (parse_size(arg, &req->spec.qos.bw_limit) ||
		    (req->spec.qos.bw_limit &&
		     (req->spec.qos.bw_limit < 4096 || req->spec.qos.bw_limit > (1ULL << 40))))
			return usage_error("add", "--bw-limit must be 0 (no limit) or 4K to 1T per "
					   "second, e.g. 100M, not '%s'", arg);
		return 0;
	case OPT_WEIGHT:
		if (parse_count(arg, CONF_MAX_WEIGHT, &req->spec.qos.weight) ||
		    !req->spec.qos.weight)
			return usage_error("add", "--weight must be an integer from 1 to %d, not '%s'",
					   CONF_MAX_WEIGHT, arg);
		return 0;
	case OPT_NO_RECOVERY:
		req->spec.recovery = false;
		return 0;
	}
	return slo_option(req, c, arg);
}

/* A reservation above its own limit: the daemon would refuse it, say so here. */
static int check_reservations(const struct conf_qos *q)
{
	if (q->iops_limit && q->min_iops > q->iops_limit)
		return usage_error("add", "--min-iops %llu is above --iops-limit %llu: a "
				   "reservation cannot exceed the limit",
				   (unsigned long long)q->min_iops,
				   (unsigned long long)q->iops_limit);
	if (q->bw_limit && q->min_bw > q->bw_limit)
		return usage_error("add", "--min-bw %llu is above --bw-limit %llu (bytes per "
				   "second): a reservation cannot exceed the limit",
				   (unsigned long long)q->min_bw, (unsigned long long)q->bw_limit);
	return 0;
}

/* add's options: where the tenant goes, its shape, its QoS. */
static int add_option(struct cmd_ctx *x, int c, const char *arg)
{
	switch (c) {
	case OPT_NAME:
		x->name = arg;
		return 0;
	case OPT_BACKEND:
		x->backend = arg;
		return 0;
	case OPT_SIZE:
		x->size = arg;
		return 0;
	case OPT_QUEUES:
		if (parse_count(arg, CONF_MAX_QUEUES, &x->req.spec.queues))
			return usage_error("add", "--queues must be an integer from 1 to %d, not '%s'",
					   CONF_MAX_QUEUES, arg);
		return 0;
	case OPT_DEPTH:
		if (parse_count(arg, CONF_MAX_DEPTH, &x->req.spec.depth))
			return usage_error("add", "--depth must be an integer from 1 to %d, not '%s'",
					   CONF_MAX_DEPTH, arg);
		return 0;
	}
	return qos_option(&x->req, c, arg);
}

/* --size: a positive multiple of 4096 bytes. */
static int parse_device_size(const char *text, uint64_t *size)
{
	switch (parse_size(text, size)) {
	case 0:
		break;
	case -ERANGE:
		return usage_error("add", "size '%s' is too large", text);
	default:
		return usage_error("add", "invalid size '%s' (use e.g. 4K, 64M, 1G, 2T)", text);
	}
	if (*size == 0 || *size % 4096)
		return usage_error("add", "size must be a positive multiple of 4096 bytes, not %s",
				   text);
	return 0;
}

/* Once every option is read: the required ones complete the request. */
static int add_operands(struct cmd_ctx *x, int argc, char **argv)
{
	int ret = no_operands(x, argc, argv);

	if (ret)
		return ret;
	if (!x->name)
		return usage_error("add", "missing --name");
	if (!x->backend)
		return usage_error("add", "missing --backend");
	if (!x->size)
		return usage_error("add", "missing --size");
	if (check_name("add", "tenant", x->name) || check_name("add", "backend", x->backend))
		return EXIT_USAGE;
	ret = parse_device_size(x->size, &x->req.spec.size);
	if (!ret)
		ret = check_reservations(&x->req.spec.qos);
	if (ret)
		return ret;
	strcpy(x->req.spec.name, x->name); /* lengths checked by check_name() */
	strcpy(x->req.spec.backend, x->backend);
	return 0;
}

/* The new device's path, and nothing else: dev=$(ublk-ctl add ...). */
static int show_added(struct cmd_ctx *x, json_object *tenant)
{
	struct ctl_tenant_info t;

	(void)x;
	if (ctl_tenant_from_json(tenant, &t) || !t.device[0]) {
		errmsg("malformed reply from the daemon (bad \"tenant\")");
		return EXIT_REFUSED;
	}
	printf("%s\n", t.device);
	return EXIT_OK;
}

static const struct option add_options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "class", required_argument, NULL, OPT_CLASS },
	{ "iops-limit", required_argument, NULL, OPT_IOPS_LIMIT },
	{ "bw-limit", required_argument, NULL, OPT_BW_LIMIT },
	{ "weight", required_argument, NULL, OPT_WEIGHT },
	{ "min-iops", required_argument, NULL, OPT_MIN_IOPS },
	{ "min-bw", required_argument, NULL, OPT_MIN_BW },
	{ "latency-target", required_argument, NULL, OPT_LATENCY_TARGET },
	{ "no-recovery", no_argument, NULL, OPT_NO_RECOVERY },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

const struct command cmd_add = {
	.name = "add", .help = help_add,
	.request = CTL_CMD_ADD, .longopts = add_options, .option = add_option,
	.args = add_operands,
	.payload = "tenant", .payload_type = json_type_object, .show = show_added,
};

/* ---- list -------------------------------------------------------------- */

enum list_column {
	COL_NAME,
	COL_DEVICE,
	COL_STATE,
	COL_BACKEND,
	COL_OFFSET,
	COL_SIZE,
	COL_QUEUES,
	COL_DEPTH,
	COL_CLASS,
	COL_LIMITS,
	COL_SLO,
	NR_COLS,
};

struct table_row {
	char cell[NR_COLS][80];
};

static const char *const list_header[NR_COLS] = {
	"NAME", "DEVICE", "STATE", "BACKEND", "OFFSET", "SIZE", "QUEUES", "DEPTH", "CLASS",
	"LIMITS", "SLO",
};

static void format_limits(const struct conf_qos *q, char *buf, size_t len)
{
	char bw[32];
	int n = 0;

	buf[0] = '\0';
	if (q->iops_limit)
		n = snprintf(buf, len, "%llu IOPS", (unsigned long long)q->iops_limit);
	if (q->bw_limit && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%s%s/s", n ? ", " : "",
			 format_size(q->bw_limit, bw, sizeof(bw)));
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* The p99 goal and the reservations: "p99 500 us, min 1000 IOPS, min 50 MiB/s", or "-". */
static void format_slo(const struct conf_qos *q, char *buf, size_t len)
{
	char bw[32];
	size_t n = 0;

	buf[0] = '\0';
	if (q->latency_target_us)
		snprintf(buf, len, "p99 %u us", q->latency_target_us);
	n = strlen(buf);
	if (q->min_iops && n + 1 < len)
		snprintf(buf + n, len - n, "%smin %llu IOPS", n ? ", " : "",
			 (unsigned long long)q->min_iops);
	n = strlen(buf);
	if (q->min_bw && n + 1 < len)
		snprintf(buf + n, len - n, "%smin %s/s", n ? ", " : "",
			 format_size(q->min_bw, bw, sizeof(bw)));
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void tenant_row(const struct ctl_tenant_info *t, struct table_row *r)
{
	snprintf(r->cell[COL_NAME], sizeof(r->cell[0]), "%s", t->spec.name);
	snprintf(r->cell[COL_DEVICE], sizeof(r->cell[0]), "%s", t->device[0] ? t->device : "-");
	snprintf(r->cell[COL_STATE], sizeof(r->cell[0]), "%s", t->state);
	snprintf(r->cell[COL_BACKEND], sizeof(r->cell[0]), "%s", t->spec.backend);
	format_size(t->offset, r->cell[COL_OFFSET], sizeof(r->cell[0]));
	format_size(t->spec.size, r->cell[COL_SIZE], sizeof(r->cell[0]));
	snprintf(r->cell[COL_QUEUES], sizeof(r->cell[0]), "%u", t->spec.queues);
	snprintf(r->cell[COL_DEPTH], sizeof(r->cell[0]), "%u", t->spec.depth);
	snprintf(r->cell[COL_CLASS], sizeof(r->cell[0]), "%s", conf_class_name(t->spec.cls));
	format_limits(&t->spec.qos, r->cell[COL_LIMITS], sizeof(r->cell[0]));
	format_slo(&t->spec.qos, r->cell[COL_SLO], sizeof(r->cell[0]));
}

/* Left-aligned columns two spaces apart, no trailing blanks. */
static void print_table(const struct table_row *rows, size_t n)
{
	size_t width[NR_COLS];
	int col;

	for (col = 0; col < NR_COLS; col++) {
		width[col] = strlen(list_header[col]);
		for (size_t i = 0; i < n; i++)
			if (strlen(rows[i].cell[col]) > width[col])
				width[col] = strlen(rows[i].cell[col]);
	}
	for (size_t i = 0; i <= n; i++) {
		for (col = 0; col < NR_COLS; col++) {
			const char *s = i == 0 ? list_header[col] : rows[i - 1].cell[col];

			if (col == NR_COLS - 1)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)width[col], s);
		}
	}
}

static int show_tenants(struct cmd_ctx *x, json_object *tenants)
{
	size_t n = json_object_array_length(tenants);
	struct ctl_tenant_info t;
	struct table_row *rows;

	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		errmsg("out of memory");
		return EXIT_REFUSED;
	}
	/* Validate everything first: print all or nothing. */
	for (size_t i = 0; i < n; i++) {
		if (ctl_tenant_from_json(json_object_array_get_idx(tenants, i), &t)) {
			errmsg("malformed reply from the daemon (bad tenant #%zu)", i + 1);
			free(rows);
			return EXIT_REFUSED;
		}
		tenant_row(&t, &rows[i]);
	}
	if (x->json)
		print_json(tenants);
	else
		print_table(rows, n);
	free(rows);
	return EXIT_OK;
}

const struct command cmd_list = {
	.name = "list", .help = help_list,
	.request = CTL_CMD_LIST, .longopts = json_options,
	.payload = "tenants", .payload_type = json_type_array, .show = show_tenants,
};

/* ---- del --------------------------------------------------------------- */

/* del NAME */
static int del_operands(struct cmd_ctx *x, int argc, char **argv)
{
	if (optind >= argc)
		return usage_error("del", "missing NAME");
	if (optind + 1 < argc)
		return usage_error("del", "unexpected argument '%s'", argv[optind + 1]);
	if (check_name("del", "tenant", argv[optind]))
		return EXIT_USAGE;
	strcpy(x->req.spec.name, argv[optind]);
	return 0;
}

static const struct option del_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

const struct command cmd_del = {
	.name = "del", .help = help_del,
	.request = CTL_CMD_DEL, .longopts = del_options, .args = del_operands,
};

/* ---- reload ------------------------------------------------------------ */

static int show_reload(struct cmd_ctx *x, json_object *r)
{
	json_object *applied, *changes, *line;
	size_t n;

	(void)x;
	if (!json_object_object_get_ex(r, "applied", &applied) ||
	    !json_object_is_type(applied, json_type_boolean) ||
	    !json_object_object_get_ex(r, "changes", &changes) ||
	    !json_object_is_type(changes, json_type_array)) {
		errmsg("malformed reply from the daemon (bad \"reload\")");
		return EXIT_REFUSED;
	}
	n = json_object_array_length(changes);
	/* Validate first: print all or nothing. */
	for (size_t i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(changes, i), json_type_string)) {
			errmsg("malformed reply from the daemon (bad \"changes\")");
			return EXIT_REFUSED;
		}
	}
	for (size_t i = 0; i < n; i++) {
		line = json_object_array_get_idx(changes, i);
		printf("%s\n", json_object_get_string(line));
	}
	if (!n)
		puts("no changes");
	else if (!json_object_get_boolean(applied))
		puts("(dry run: nothing was changed)");
	return EXIT_OK;
}

static const struct option reload_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

const struct command cmd_reload = {
	.name = "reload", .help = help_reload,
	.request = CTL_CMD_RELOAD, .longopts = reload_options,
	.payload = "reload", .payload_type = json_type_object, .show = show_reload,
};
