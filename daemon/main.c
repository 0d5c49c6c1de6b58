/* SPDX-License-Identifier: MIT */
/*
 * ddublkd: serves every tenant's ublk device from the shared backends.
 *
 * Start-up order matters: the policy is validated before anything is
 * touched; the control socket opens only once every tenant of the table is
 * back, so a client that can talk to the daemon sees the devices.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/fault.h"
#include "daemon/overrides.h"

#define DEFAULT_CONFIG "/etc/ddublk/policy.conf"

static const char usage_text[] =
	"Usage: ddublkd [OPTIONS]\n"
	"       ddublkd --check-config FILE\n"
	"\n"
	"Serve per-tenant ublk block devices (/dev/ublkbN) carved out of shared\n"
	"backends (NVMe namespaces, block devices or files), as described by a\n"
	"policy file. Runs in the foreground and logs to stderr.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE       policy file (default " DEFAULT_CONFIG ")\n"
	"  -s, --socket PATH       control socket (overrides daemon.socket;\n"
	"                          default " CONF_DEFAULT_SOCKET ")\n"
	"  -w, --workers N         I/O worker threads (overrides daemon.workers;\n"
	"                          0 = one per online CPU)\n"
	"  -l, --log-level LEVEL   error, warn, info or debug (default info)\n"
	"      --on-stop ACTION    delete or keep: what SIGTERM does to devices\n"
	"                          (overrides daemon.on_stop; default delete)\n"
	"      --check-config FILE validate FILE and check that its tenants fit the\n"
	"                          backends as they are now (sizes, and the tenants\n"
	"                          their tables already hold, read read-only);\n"
	"                          print a summary, touch nothing\n"
	"  -h, --help              this text\n"
	"  -V, --version           print the version\n"
	"\n"
	"Tenants are recorded in a table at the start of each backend (its\n"
	"reserved region, 1 MiB by default: two checksummed copies), so a\n"
	"restarted daemon serves the same tenants on the same extents, whatever\n"
	"the policy says; the policy's tenants that the tables lack are added.\n"
	"\n"
	"Start-up: a policy tenant the tables lack that cannot be created (it\n"
	"does not fit, its backend is unusable, it asks for more queues than\n"
	"workers) makes ddublkd refuse to start before any device is touched.\n"
	"A start that fails later (a device cannot be made, the control socket\n"
	"cannot be bound) exits 1 as after a crash: no device is stopped or\n"
	"deleted, recovery tenants' devices wait for the next ddublkd.\n"
	"A device that is LIVE under a process still running is never touched:\n"
	"its tenant is left unserved (state failed).\n"
	"\n"
	"Signals: SIGTERM or SIGINT stop every tenant device (in-flight I/O\n"
	"completes, new I/O fails) and exit; the tenant tables are kept.\n"
	"With on_stop keep, devices of tenants with recovery on are left\n"
	"instead, their I/O waiting, for the next ddublkd to re-attach: a\n"
	"restart (upgrade, 'systemctl restart') does not disturb mounts.\n"
	"If the daemon dies instead (SIGKILL, a crash), the devices of tenants\n"
	"with recovery on stay, their I/O waiting; starting ddublkd again\n"
	"re-attaches to them (ublk user recovery). Tenants with recovery off\n"
	"fail their I/O within seconds and get a new device on the next start.\n"
	"SIGHUP reloads the policy file like 'ublk-ctl reload' (without --force:\n"
	"destructive changes are refused and logged).\n"
	"\n"
	"Exit status: 0 after a clean stop or a valid --check-config; 1 on a bad\n"
	"policy or a failure to start; 2 on a usage error.\n"
	"\n"
	"Example:\n"
	"  ddublkd --config /etc/ddublk/policy.conf\n"
	"  ublk-ctl add --name db --backend nvme0 --size 10G\n";

struct options {
	const char *config;
	struct daemon_overrides ov;
	bool check_only;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_CHECK = 256, OPT_ON_STOP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "on-stop", required_argument, NULL, OPT_ON_STOP },
		{ "check-config", required_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char *end;
	int c;

	*o = (struct options){ .config = DEFAULT_CONFIG, .ov = { .workers = -1, .log_level = -1, .on_stop = -1 } };
	while ((c = getopt_long(argc, argv, "c:s:w:l:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 's': o->ov.socket = optarg; break;
		case OPT_CHECK: o->config = optarg; o->check_only = true; break;
		case 'w':
			errno = 0;
			o->ov.workers = (int)strtol(optarg, &end, 10);
			if (errno || *end || o->ov.workers < 0 || o->ov.workers > CONF_MAX_WORKERS) {
				fprintf(stderr, "ddublkd: --workers must be 0..%d\n", CONF_MAX_WORKERS);
				return 2;
			}
			break;
		case 'l':
			o->ov.log_level = log_level_from_name(optarg);
			if (o->ov.log_level < 0) {
				fprintf(stderr, "ddublkd: --log-level must be error, warn, info or debug\n");
				return 2;
			}
			break;
		case OPT_ON_STOP:
			o->ov.on_stop = conf_on_stop_from_name(optarg);
			if (o->ov.on_stop < 0) {
				fprintf(stderr, "ddublkd: --on-stop must be delete or keep\n");
				return 2;
			}
			break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': puts("ddublkd 0.1.0"); exit(0);
		default:
			fprintf(stderr, "Try 'ddublkd --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ddublkd: unexpected argument '%s'\nTry 'ddublkd --help'.\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

/*
 * Learn what the ublk driver supports: GET_FEATURES on 6.5+, otherwise add
 * a throw-away device asking for every flag we know and read back what the
 * kernel kept. Either way the opcode form is settled here.
 */
static int probe_features(struct daemon *d, char *err, size_t errlen)
{
	struct ublksrv_ctrl_dev_info info = {
		.nr_hw_queues = 1,
		.queue_depth = 1,
		.max_io_buf_bytes = 4096,
		.dev_id = (uint32_t)-1,
		.flags = UBLK_F_URING_CMD_COMP_IN_TASK | UBLK_F_NEED_GET_DATA |
			 UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE,
	};
	char names[256];
	int ret;

	if (ublk_ctrl_get_features(&d->ctrl, &d->ublk_flags) == 0)
		goto out;
	ret = ublk_ctrl_add_dev(&d->ctrl, &info);
	if (ret < 0) {
		snprintf(err, errlen, "ublk ADD_DEV probe failed: %s", strerror(-ret));
		return -1;
	}
	d->ublk_flags = info.flags;
	ret = ublk_ctrl_del_dev(&d->ctrl, info.dev_id);
	if (ret < 0)
		log_warn("ublk probe device %u: DEL_DEV: %s", info.dev_id, strerror(-ret));
out:
	log_info("ublk driver: %s opcodes, flags %s", ublk_form_name(d->ctrl.form),
		 ublk_flags_describe(d->ublk_flags, names, sizeof(names)));
	return 0;
}

static int block_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread exists, so every thread inherits it. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	return d->signal_fd < 0 ? -1 : 0;
}

static unsigned worker_count(const struct conf *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->workers)
		return c->workers;
	return cpus > 0 ? (unsigned)cpus : 1;
}

/*
 * Every tenant's device dies with the daemon: the OOM killer should pick
 * anything else first (as it does for multipathd and iscsid).
 */
static void shield_from_oom(void)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "w");

	if (!f || fputs("-1000\n", f) < 0 || fclose(f) != 0) {
		log_warn("cannot set oom_score_adj to -1000: %s", strerror(errno));
		if (f)
			fclose(f);
	}
}

static int start(struct daemon *d, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen, "ddublkd must run as root (ublk control needs CAP_SYS_ADMIN)");
		return -1;
	}
	if (block_signals(d) < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	enter_own_mount_ns();
	shield_from_oom();
	if (ublk_ctrl_open(&d->ctrl, 0, err, errlen) < 0)
		return -1;
	if (probe_features(d, err, errlen) < 0)
		return -1;
	if (ublk_workers_create(worker_count(&d->conf), d->ctrl.form, &d->workers, err,
				errlen) < 0)
		return -1;
	fault_arm(d);
	log_info("%u worker thread(s)", ublk_workers_count(d->workers));
	if (pools_open(d, err, errlen) < 0)
		return -1;
	pools_set_poll(d, d->conf.sched.poll);
	if (tenants_restore(d, err, errlen) < 0)
		return -1;
	return ctl_listen(d, err, errlen);
}

/*
 * Release everything. Returns the number of devices kept for the next
 * daemon (daemon.on_stop = "keep"); then the workers still serve them and
 * are left running: the caller exits at once, and the kernel notices the
 * daemon is gone and holds the devices' I/O, as after a crash.
 */
static size_t stop(struct daemon *d)
{
	size_t kept;

	ctl_close(d);
	kept = tenants_stop_all(d, d->conf.on_stop == CONF_ON_STOP_KEEP);
	if (kept) {
		log_info("exiting with %zu device(s) kept: the kernel holds their I/O until "
			 "ddublkd starts again and re-attaches them", kept);
		return kept;
	}
	ublk_workers_destroy(d->workers);
	d->workers = NULL;
	pools_close(d);
	free(d->tenants);
	if (d->ctrl.fd >= 0)
		ublk_ctrl_close(&d->ctrl);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	conf_free(&d->conf);
	return 0;
}

/*
 * A start that failed exits as if it had crashed: no device it found,
 * re-attached or made is stopped or deleted, and no record goes. The
 * kernel quiesces the devices of recovery tenants (a mounted file system
 * only waits) for the next ddublkd to re-attach, and stops the others, as
 * after a crash. Only a start that never reached a device cleans up.
 */
static void give_up(struct daemon *d)
{
	size_t left = 0;

	ctl_close(d);
	for (size_t i = 0; i < d->nr_tenants; i++)
		left += d->tenants[i].dev != NULL;
	if (!left) {
		stop(d);
		return;
	}
	log_err("start failed: exiting as after a crash, every device left as it is: %zu "
		"tenant device(s); those of recovery tenants wait, their I/O held, for the "
		"next ddublkd to re-attach them", left);
}

int main(int argc, char **argv)
{
	struct daemon d = { .listen_fd = -1, .signal_fd = -1, .ctrl = { .fd = -1 } };
	struct options opts;
	char err[1024];
	int ret;

	ret = parse_args(argc, argv, &opts);
	if (ret)
		return ret;
	if (conf_load_file(opts.config, &d.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "ddublkd: %s\n", err);
		return 1;
	}
	if (opts.check_only) {
		ret = check_config(&d.conf, opts.config);
		conf_free(&d.conf);
		return ret;
	}
	if (overrides_check(&opts.ov) < 0) {
		conf_free(&d.conf);
		return 2;
	}
	d.ov = opts.ov;
	d.policy_path = opts.config;
	overrides_apply(&d.ov, &d.conf);
	log_set_level((enum log_level)d.conf.log_level);
	log_info("ddublkd 0.1.0 starting: policy %s, socket %s, scheduler %s", opts.config,
		 d.conf.socket_path, conf_sched_mode_name(d.conf.sched.mode));
	if (start(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		give_up(&d);
		return 1;
	}
	log_info("ready: %zu tenant(s), control socket %s", d.nr_tenants, d.conf.socket_path);
	/* Type=notify: "started" means the devices are back and ublk-ctl answers. */
	sd_notifyf(0, "READY=1\nSTATUS=serving %zu tenant(s) on %s", d.nr_tenants,
		   d.conf.socket_path);
	ret = ctl_serve(&d);
	sd_notify(0, d.conf.on_stop == CONF_ON_STOP_KEEP ?
		  "STOPPING=1\nSTATUS=keeping recovery tenants' devices, stopping the rest" :
		  "STOPPING=1\nSTATUS=stopping every tenant device");
	/* With devices kept, the workers still run: exit() ends them with the process. */
	if (!stop(&d))
		log_info("stopped");
	return ret ? 1 : 0;
}
