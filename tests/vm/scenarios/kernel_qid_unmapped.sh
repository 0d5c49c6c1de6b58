#!/usr/bin/env bash
# kernel_qid with as many possible CPUs as online ones (no CPU hotplug
# slots): the extra poll queues then have no CPU at all, so this exercises
# the blk-mq side of patches/linux-6.1 (hardware queues without software
# queues keep their tags, run from an unbound worker, are in sysfs and in
# the timeout walk). In the harness's default layout (maxcpus=64) the
# hotplug slots give every queue a (possible, offline) CPU.
# vm-needs-daemon: no
# vm-maxcpus: 2
# vm-qemu-trace: pci_nvme_io_cmd
set -euo pipefail
exec bash "$(dirname "$0")/kernel_qid.sh" unmapped "$@"
