/* SPDX-License-Identifier: MIT */
/*
 * What ublk-ctl's commands share. A command is a table entry (struct
 * command, ctl_cmds_*.c); run_command() is the one skeleton that runs
 * each: options, operands, one request and its reply's payload shown.
 *
 *   ctl_cli.c      messages, option values, the skeleton
 *   ctl_client.c   one request, one reply, over the control socket
 *   ctl_help.c     the help texts
 *   ctl_cmds_*.c   the commands, one entry each
 */
#ifndef DDUBLK_CTL_CLI_H
#define DDUBLK_CTL_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include <json-c/json.h>

#include "ctl/proto.h"

/* common_option(): c is not a common option / help was printed, stop. */
#define OPT_NOT_COMMON (-1)
#define OPT_HELP_SHOWN (-2)

enum exit_status {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* the daemon said no, or answered nonsense */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3, /* no daemon, or no answer in time */
};

/* Long-only options get values outside the char range. */
enum {
	OPT_HELP = 256,
	OPT_SOCKET,
	OPT_TIMEOUT,
	OPT_VERSION,
	OPT_NAME,
	OPT_BACKEND,
	OPT_SIZE,
	OPT_QUEUES,
	OPT_DEPTH,
	OPT_JSON,
	OPT_CLASS,
	OPT_IOPS_LIMIT,
	OPT_BW_LIMIT,
	OPT_WEIGHT,
	OPT_NO_RECOVERY,
	OPT_MIN_IOPS,
	OPT_MIN_BW,
	OPT_LATENCY_TARGET,
	OPT_FORCE,
	OPT_DRY_RUN,
	OPT_PROMETHEUS,
	OPT_INTERVAL,
	OPT_SORT,
	OPT_LISTEN,
};

/* Accepted before the command and, for convenience, after it too. */
#define COMMON_LONG_OPTIONS                                            \
	{ "socket", required_argument, NULL, OPT_SOCKET },             \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },           \
	{ "help", no_argument, NULL, OPT_HELP }

/* The connection: from the options before (or after) the command. */
struct ctl_opts {
	const char *socket;
	const char *timeout_text; /* as given, for messages */
	int timeout_ms; /* -1: wait forever */
};

/* One run of a command: what its options and arguments said. */
struct cmd_ctx {
	struct ctl_opts *o;
	const struct command *cmd;
	struct ctl_request req; /* what query_and_show() sends */
	bool json; /* --json */
	bool prometheus; /* stats --prometheus */
	/* add: the required values, checked once every option is read */
	const char *name, *backend, *size;
	/* top */
	unsigned interval_ms, iterations;
	int sort;
	const char *listen; /* serve-metrics */
};

/*
 * A command is its table entry. run_command() parses the common options
 * and the command's own (option), then its operands (args); then it
 * sends req and hands the reply's payload to show, or calls loop for a
 * command that asks more than once. raw takes over all of it (help).
 */
struct command {
	const char *name;
	const char *help;
	int (*raw)(struct ctl_opts *o, int argc, char **argv);
	enum ctl_cmd request; /* the request ctx.req starts as */
	void (*init)(struct cmd_ctx *x); /* the defaults of its options */
	const struct option *longopts; /* NULL: the common ones only */
	const char *shortopts; /* NULL: ":h" */
	/*
	 * 0, or an exit status (its reason printed), or OPT_NOT_COMMON.
	 * NULL: the flags --json, --prometheus, --force, --dry-run.
	 */
	int (*option)(struct cmd_ctx *x, int c, const char *arg);
	/* The operands argv[optind..argc); NULL: there must be none. */
	int (*args)(struct cmd_ctx *x, int argc, char **argv);
	const char *payload; /* the reply's key show takes; NULL: none */
	enum json_type payload_type;
	int (*show)(struct cmd_ctx *x, json_object *payload);
	int (*loop)(struct cmd_ctx *x); /* instead of one request and show */
};

/* ---- ctl_cli.c ---------------------------------------------------------- */

void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a usage error for `cmd` (NULL: global) and return EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int print_help(const char *text);
int bad_option(const char *cmd, int c, char **argv);
void print_json(json_object *obj);

int parse_count(const char *text, unsigned max, unsigned *out);
int parse_seconds(const char *text, double max, double *out);
int set_timeout(struct ctl_opts *o, const char *cmd, const char *text);
int set_socket(struct ctl_opts *o, const char *cmd, const char *path);
int common_option(struct ctl_opts *o, const char *cmd, int c, const char *help);
int option_status(const char *cmd, int c, char **argv, int ret);
int check_name(const char *cmd, const char *what, const char *name);

/* --json and the common options: list, features, nq. */
extern const struct option json_options[];
int no_operands(struct cmd_ctx *x, int argc, char **argv);
/* The command's exit status (enum exit_status). */
int run_command(const struct command *cmd, struct ctl_opts *o, int argc, char **argv);

/* ---- ctl_client.c ------------------------------------------------------- */

/* EXIT_OK with *reply (caller puts it), or an exit status, its reason printed. */
int transact(const struct ctl_opts *o, const struct ctl_request *req, json_object **reply);
json_object *reply_payload(json_object *reply, const char *key, enum json_type type);

/* ---- the commands ------------------------------------------------------- */

extern const struct command cmd_add, cmd_list, cmd_del, cmd_reload; /* ctl_cmds_tenants.c */
extern const struct command cmd_features; /* ctl_cmds_features.c */
extern const struct command cmd_stats, cmd_nq, cmd_top, cmd_serve_metrics; /* ctl_cmds_stats.c */

#endif
