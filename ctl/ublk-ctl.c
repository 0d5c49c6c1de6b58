/* SPDX-License-Identifier: MIT */
/*
 * ublk-ctl: the operator's interface to ddublkd.
 *
 * One request, one reply, over the daemon's unix control socket (see
 * ctl/proto.h). Output is meant for both people and scripts: stdout
 * carries only results, stderr only "ublk-ctl: reason", and the exit
 * status says whose fault a failure was (see EXIT STATUS in the help).
 *
 * This file is the command line: the options before the command, and the
 * table of commands. Each command is an entry in ctl_cmds_*.c, run by the
 * skeleton in ctl_cli.c; the texts are in ctl_help.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "ctl/ctl_cli.h"
#include "ctl/ctl_help.h"

#define UBLK_CTL_VERSION "0.1.0" /* keep in step with project() in CMakeLists.txt */

static int run_help(struct ctl_opts *o, int argc, char **argv);

/* help parses its own arguments: "help -h" is help's help, not an option. */
static const struct command cmd_help = { .name = "help", .help = help_help, .raw = run_help };

static const struct command *const commands[] = {
	&cmd_add, &cmd_list, &cmd_del, &cmd_reload, &cmd_features,
	&cmd_stats, &cmd_top, &cmd_nq, &cmd_serve_metrics, &cmd_help,
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int run_help(struct ctl_opts *o, int argc, char **argv)
{
	const struct command *cmd;

	(void)o;
	if (argc < 2)
		return print_help(help_main);
	if (argc > 2)
		return usage_error("help", "unexpected argument '%s'", argv[2]);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return print_help(help_help);
	cmd = find_command(argv[1]);
	if (!cmd)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	return print_help(cmd->help);
}

/* ---- main -------------------------------------------------------------- */

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONG_OPTIONS,
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o = {
		.socket = CONF_DEFAULT_SOCKET,
		.timeout_text = DEFAULT_TIMEOUT,
	};
	const struct command *cmd;
	const char *env;
	int c, ret;

	set_timeout(&o, NULL, DEFAULT_TIMEOUT);
	env = getenv("DDUBLK_SOCKET");
	if (env && env[0] && set_socket(&o, NULL, env))
		return EXIT_USAGE;

	opterr = 0;
	/* '+': stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VERSION:
			printf("ublk-ctl %s\n", UBLK_CTL_VERSION);
			return EXIT_OK;
		case '?':
		case ':':
			return bad_option(NULL, c, argv);
		default:
			ret = common_option(&o, NULL, c, help_main);
			if (ret)
				return option_status(NULL, c, argv, ret);
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "missing command");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage_error(NULL, "unknown command '%s'", argv[optind]);

	argc -= optind;
	argv += optind;
	optind = 0; /* full getopt reset (glibc) for the command's own options */
	return run_command(cmd, &o, argc, argv);
}

int main(int argc, char **argv)
{
	int ret = run(argc, argv);

	/* A result nobody received is a failure, e.g. a full disk or closed pipe. */
	if (fflush(stdout) || ferror(stdout)) {
		errmsg("cannot write to stdout: %s", strerror(errno));
		if (ret == EXIT_OK)
			ret = EXIT_REFUSED;
	}
	return ret;
}
