/* SPDX-License-Identifier: MIT */
/*
 * The cap on throughput (T) bytes in flight while latency (L) tenants are
 * active. A device fetches and serves queues in turn, so every T command
 * waiting in it delays an L command; the cap bounds how many wait.
 *
 * The cap follows L's measured p99 against the policy's target, AIMD like
 * TCP's congestion window -- but a cut must pay for itself, because a cap
 * that does not lower L's latency only costs T its bandwidth:
 *
 * - above the target, the cap halves (down to its minimum, and no lower
 *   than a level where cutting did not help); the next window judges it: if
 *   L's p99 did not fall to TCAP_HELPED_PCT % of what it was, the cap goes
 *   back and will not go below that level (the floor) while the target
 *   stays missed. Then, TCAP_HOLD windows later (as long after the last
 *   cut that helped, when the cap is at its minimum), it probes a looser
 *   cap (twice as large): kept unless L's p99 rises past TCAP_HURT_PCT %;
 *   probing on up to the ceiling, where the cap goes off. The target is
 *   then "unmet by throttling": throttling T cannot reach it.
 * - in a window where T had nothing in flight, L's p99 is its own: above
 *   the target, no cap can help; the cap goes off and the target is
 *   "unmet alone" (a slow or busy drive, a target set too low).
 * - below 3/4 of the target, the cap grows by `step` if it held T back in
 *   that window (growing an unused cap only makes the next cut slower); a
 *   window that meets the target clears the floor and the verdict, and
 *   turns the cap back on.
 * - while off and missing the target, a cut is tried again every
 *   TCAP_REPROBE windows: things change (the drive, the load).
 *
 * Pure: one call per window with that window's facts; unit-tested with
 * made-up p99s (tests/unit/test_sched_cap.c).
 */
#ifndef DDUBLK_SCHED_TCAP_H
#define DDUBLK_SCHED_TCAP_H

#include <stdbool.h>
#include <stdint.h>

#define TCAP_HELPED_PCT 80 /* a cut helped when L's p99 fell to this % of before */
#define TCAP_HURT_PCT 125 /* a looser cap hurt when L's p99 rose past this % of before */
#define TCAP_HOLD 8 /* windows between a fruitless step and the next probe */
#define TCAP_REPROBE 50 /* windows between cuts tried while the cap is off */

/* Whether L's target is being met, and if not, why. */
enum tcap_verdict {
	TCAP_MET, /* met, or nothing says otherwise */
	TCAP_UNMET_CUTTING, /* missed; the cap is being cut, and that has helped so far */
	TCAP_UNMET_ALONE, /* missed with T idle: no cap can help */
	TCAP_UNMET_THROTTLE, /* missed, and cutting T's cap does not lower L's p99 */
};

/* What the cap did last window: the next window judges it. */
enum tcap_step { TCAP_STEADY, TCAP_CUT, TCAP_LOOSENED };

struct tcap {
	uint64_t cap; /* bytes: T may have this much in flight (unless off) */
	uint64_t min, max; /* bounds, min <= cap <= max */
	uint64_t step; /* additive increase per window */
	bool off; /* no cap: throttling does not help L */
	enum tcap_verdict verdict;
	enum tcap_step last; /* the step being judged */
	uint64_t prev_cap; /* the cap before it */
	uint64_t ref_p99; /* L's p99 before it */
	uint64_t floor; /* cuts below this did not help */
	unsigned hold; /* windows before the next probe */
	unsigned quiet; /* windows off since the last cut tried */
	uint64_t cuts, raises, fruitless; /* steps so far; cuts that were taken back */
};

/* One window's facts. */
struct tcap_window {
	uint64_t p99_ns; /* L's p99 in it */
	uint64_t target_ns;
	bool limited; /* the cap refused T in it */
	bool t_idle; /* T had nothing in flight all through it */
};

/* initial is clamped into [min, max]; min 0 counts as 1. */
void tcap_init(struct tcap *c, uint64_t initial, uint64_t min, uint64_t max, uint64_t step);

/* One window's verdict (see above). */
void tcap_adapt(struct tcap *c, const struct tcap_window *w);

const char *tcap_verdict_name(enum tcap_verdict v);

/*
 * May a T request of `bytes` go with `inflight` T bytes already out? One
 * request always may, however large, so T never stalls outright.
 */
static inline bool tcap_allows(const struct tcap *c, uint64_t inflight, uint64_t bytes)
{
	return c->off || inflight == 0 || inflight + bytes <= c->cap;
}

#endif
