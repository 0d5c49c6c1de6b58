/* SPDX-License-Identifier: MIT */
/*
 * NVMe I/O queues (NQs) as the scheduler sees them, and groups of them.
 *
 * The router discovers each NQ (kind, the CPUs blk-mq maps to it, its tag
 * depth) and describes it with a struct nq_desc. The scheduler keeps every
 * NQ's in-flight count and bytes from the caller's submitted/completed
 * calls and never lets the count reach the tag depth: a command beyond it
 * would wait for a tag in the kernel, or be punted to an io-wq worker on
 * another CPU, which puts it on another queue.
 *
 * In daredevil mode every NQ belongs to one lane's group: latency (L) or
 * throughput (T). Inside a group a request joins the shortest queue: the
 * usable member with the fewest commands in flight, then the fewest bytes,
 * remaining ties to the earliest member. Not round-robin: a controller
 * fetches round-robin over its non-empty SQs, so every extra SQ a class
 * occupies is one more fetch turn for it per round. Round-robin ties
 * spread a few T commands over every T queue, each landing just ahead of
 * the arbiter, and an L command waits a whole round of T queues (the
 * simulation measured L p99 1.2 ms against 0.8 ms with earliest-first).
 */
#ifndef DDUBLK_SCHED_NQ_H
#define DDUBLK_SCHED_NQ_H

#include <stdbool.h>
#include <stdint.h>

#define NQ_MAX_CPUS 1024 /* CPUs an nq_desc can name (glibc's CPU_SETSIZE); higher fold modulo */

enum nq_kind {
	NQ_DEFAULT = 0, /* interrupt-driven */
	NQ_POLL, /* reaped by polling (an IOPOLL ring): the lowest latency */
};

/* Which class of traffic a group (and a request) belongs to. */
enum nq_lane {
	NQ_LANE_LATENCY = 0,
	NQ_LANE_THROUGHPUT, /* throughput and besteffort tenants */
	NQ_NR_LANES,
};

/* What discovery found out about one NQ. */
struct nq_desc {
	enum nq_kind kind;
	unsigned depth; /* tags: the most commands in flight, >= 1 */
	uint64_t cpus[NQ_MAX_CPUS / 64]; /* blk-mq's CPU map: who submits here on a stock kernel */
};

void nq_desc_init(struct nq_desc *d, enum nq_kind kind, unsigned depth);
void nq_desc_add_cpu(struct nq_desc *d, unsigned cpu);
bool nq_desc_has_cpu(const struct nq_desc *d, unsigned cpu);

/* One NQ's live state. */
struct nq {
	unsigned index; /* the router's NQ number: position in the table */
	enum nq_kind kind;
	unsigned depth;
	unsigned inflight; /* commands submitted and not completed, < depth */
	uint64_t inflight_bytes;
	enum nq_lane lane; /* daredevil: the group that owns it; static: THROUGHPUT */
	bool draining; /* joined the L group, still holds T commands: not usable yet */
};

/* May one more command go to q now? */
static inline bool nq_usable(const struct nq *q)
{
	return !q->draining && q->inflight < q->depth;
}

/* A set of NQs (indexes into the caller's nq table), in joining order. */
struct nq_group {
	unsigned *member;
	unsigned nr;
};

/* Room for `capacity` members. 0, or -ENOMEM. */
int nq_group_init(struct nq_group *g, unsigned capacity);
void nq_group_free(struct nq_group *g);
/* Appends nq (the caller keeps members unique and within capacity). */
void nq_group_add(struct nq_group *g, unsigned nq);
/* Removes nq if it is a member; the others keep their order. */
void nq_group_remove(struct nq_group *g, unsigned nq);

/* Join-shortest-queue over the usable members: an NQ index, or -1 if none is usable. */
int nq_group_pick(const struct nq_group *g, const struct nq *nqs);
/* The same over the members of one kind only. */
int nq_group_pick_kind(const struct nq_group *g, const struct nq *nqs, enum nq_kind kind);
/* Members of that kind, usable or not. */
unsigned nq_group_count_kind(const struct nq_group *g, const struct nq *nqs, enum nq_kind kind);

/*
 * The member to give away when the group shrinks: of kind `prefer` if the
 * group has one, then the fewest in flight (it drains soonest), then the
 * latest to join. -1 for an empty group.
 */
int nq_group_victim(const struct nq_group *g, const struct nq *nqs, enum nq_kind prefer);
/* The same, never choosing NQ `keep` (-1: any may go); -1 if no other member. */
int nq_group_victim_except(const struct nq_group *g, const struct nq *nqs, enum nq_kind prefer,
			   int keep);

#endif
