/* SPDX-License-Identifier: MIT */
/*
 * A lock-free multi-producer, single-consumer inbox: producers push one
 * item with a compare-and-swap, the consumer takes everything at once with
 * an exchange (so there is no ABA problem) and gets it oldest first.
 *
 * inbox_push() reports whether the inbox was empty: the producer that
 * makes it non-empty is the one that wakes the consumer (an eventfd). The
 * consumer must take after every wakeup; items pushed after a take find
 * the inbox empty again and wake it again.
 */
#ifndef DDUBLK_ROUTER_INBOX_H
#define DDUBLK_ROUTER_INBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct inbox_link {
	struct inbox_link *next;
};

struct inbox {
	_Atomic(struct inbox_link *) head; /* newest first */
};

static inline void inbox_init(struct inbox *in)
{
	atomic_init(&in->head, NULL);
}

/* true if the inbox was empty before. */
static inline bool inbox_push(struct inbox *in, struct inbox_link *l)
{
	struct inbox_link *old = atomic_load_explicit(&in->head, memory_order_relaxed);

	do
		l->next = old;
	while (!atomic_compare_exchange_weak_explicit(&in->head, &old, l, memory_order_seq_cst,
						      memory_order_relaxed));
	return old == NULL;
}

static inline bool inbox_empty(struct inbox *in)
{
	return atomic_load_explicit(&in->head, memory_order_seq_cst) == NULL;
}

/* Everything pushed so far, oldest first, linked by next; NULL if none. */
static inline struct inbox_link *inbox_take(struct inbox *in)
{
	struct inbox_link *l = atomic_exchange_explicit(&in->head, NULL, memory_order_acquire);
	struct inbox_link *fifo = NULL;

	while (l) {
		struct inbox_link *next = l->next;

		l->next = fifo;
		fifo = l;
		l = next;
	}
	return fifo;
}

#endif
