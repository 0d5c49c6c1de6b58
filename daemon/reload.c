/* SPDX-License-Identifier: MIT */
/*
 * Live reload: read the policy file again, work out what changed
 * (conf/diff.h), and apply it -- new tenants added, class and QoS changes
 * applied to running tenants without stopping them. Destructive changes
 * (a tenant removed from the policy, or its size, backend, queues, depth
 * or recovery changed) are refused unless forced; a refused or invalid
 * reload changes nothing. A new queues, depth or recovery recreates the
 * device on the same extent, data kept; a new size or backend deletes the
 * tenant and adds it anew, empty. Devices in use (mounted, open) are never
 * taken away, forced or not, and placement is tried out first: a reload
 * that would do either fails before it touches anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/overrides.h"

struct reload {
	struct daemon *d;
	struct conf next;
	struct conf_running *running;
	size_t nr_running;
	struct conf_change *changes;
	size_t nr_changes;
};

static void reload_free(struct reload *r)
{
	conf_free(&r->next);
	free(r->running);
	free(r->changes);
}

static int collect_running(struct reload *r, char *err, size_t errlen)
{
	struct daemon *d = r->d;

	r->running = calloc(d->nr_tenants ? d->nr_tenants : 1, sizeof(*r->running));
	if (!r->running) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->nr_tenants; i++)
		r->running[i] = (struct conf_running){ .spec = d->tenants[i].e.spec,
						       .from_policy = d->tenants[i].e.from_policy };
	r->nr_running = d->nr_tenants;
	return 0;
}

static int format_lines(const struct reload *r, char ***lines, size_t *nr)
{
	char **out = calloc(r->nr_changes ? r->nr_changes : 1, sizeof(*out));

	if (!out)
		return -1;
	for (size_t i = 0; i < r->nr_changes; i++) {
		char buf[768];

		conf_change_format(&r->changes[i], buf, sizeof(buf));
		out[i] = strdup(buf);
		if (!out[i]) {
			while (i--)
				free(out[i]);
			free(out);
			return -1;
		}
	}
	*lines = out;
	*nr = r->nr_changes;
	return 0;
}

/* A change that gives up an extent: removed, or recreated elsewhere. */
static bool frees_extent(const struct reload *r, const struct conf_change *c)
{
	const struct tenant_spec *now, *next;

	if (c->kind == CHANGE_REMOVE)
		return true;
	if (c->kind != CHANGE_RESHAPE)
		return false;
	now = &r->running[c->running_index].spec;
	next = &r->next.tenants[c->new_index].spec;
	return strcmp(now->backend, next->backend) || now->size != next->size;
}

/* A forced change that takes a device away from whoever uses it: refused, naming them. */
static int devices_free(struct reload *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->nr_changes; i++) {
		const struct conf_change *c = &r->changes[i];
		struct tenant *t = tenant_find(r->d, c->tenant);
		char who[512];

		if ((c->kind != CHANGE_REMOVE && c->kind != CHANGE_RESHAPE) || !t)
			continue;
		if (tenant_unserved(t, who, sizeof(who))) {
			snprintf(err, errlen, "reload refused: %s", who);
			return -1;
		}
		if (!tenant_held(t, who, sizeof(who)))
			continue;
		snprintf(err, errlen, "reload refused: tenant \"%s\" would be %s, but /dev/ublkb%d "
			 "is in use: %s; nothing was changed (unmount it and stop those "
			 "processes first; `ublk-ctl del --force %s` deletes it anyway)", c->tenant,
			 c->kind == CHANGE_REMOVE ? "deleted" : "recreated", ublk_dev_id(t->dev),
			 who, c->tenant);
		return -1;
	}
	return 0;
}

/*
 * Try the placement out on the real extent maps and undo it: release what
 * the reload frees, allocate what it adds (first fit, as it will for
 * real), then put everything back.
 */
static int placement_fits(struct reload *r, char *err, size_t errlen)
{
	struct daemon *d = r->d;
	struct trial trial;
	int ret = 0;

	if (trial_init(&trial, 2 * r->nr_changes) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < r->nr_changes; i++) {
		const struct conf_change *c = &r->changes[i];
		struct tenant *t = tenant_find(d, c->tenant);

		if (frees_extent(r, c) && t)
			trial_release(&trial, t->pool, t->e.offset, t->e.spec.size);
	}
	for (size_t i = 0; i < r->nr_changes && ret == 0; i++) {
		const struct conf_change *c = &r->changes[i];
		const struct conf_tenant *ct;
		struct pool *p;
		char why[512];

		if (c->kind != CHANGE_ADD && !(c->kind == CHANGE_RESHAPE && frees_extent(r, c)))
			continue;
		ct = &r->next.tenants[c->new_index];
		p = pool_find(d, ct->spec.backend);
		if (!p || p->broken[0]) {
			snprintf(err, errlen, "%s:%d: tenants: tenant \"%s\": backend \"%s\" is not "
				 "in use%s%s", d->policy_path, ct->line, ct->spec.name,
				 ct->spec.backend, p ? ": " : "", p ? p->broken : "");
			ret = -1;
		} else if (trial_alloc(&trial, p, ct->spec.size, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: tenants: tenant \"%s\": %s", d->policy_path,
				 ct->line, ct->spec.name, why);
			ret = -1;
		}
	}
	trial_undo(&trial);
	return ret;
}

static int apply_one(struct reload *r, const struct conf_change *c, char *err, size_t errlen)
{
	struct daemon *d = r->d;
	const struct tenant_spec *want = c->new_index >= 0 ? &r->next.tenants[c->new_index].spec :
							     NULL;
	struct tenant *t = c->tenant[0] ? tenant_find(d, c->tenant) : NULL;

	switch (c->kind) {
	case CHANGE_GLOBAL:
		log_set_level((enum log_level)r->next.log_level);
		if (r->next.sched.poll != d->conf.sched.poll) {
			pools_set_poll(d, r->next.sched.poll);
			d->conf.sched.poll = r->next.sched.poll; /* live: in force from now */
		}
		if (c->at_restart)
			log_warn("reload: the scheduler section changed; the running schedulers "
				 "keep their mode and parameters until ddublkd restarts (classes "
				 "of tenants do change now)");
		return 0;
	case CHANGE_REMOVE:
		return tenant_del(d, c->tenant, false, err, errlen);
	case CHANGE_RESHAPE:
		if (!frees_extent(r, c)) {
			if (!t) {
				snprintf(err, errlen, "tenant \"%s\" vanished", c->tenant);
				return -1;
			}
			return tenant_reshape(d, t, want, err, errlen);
		}
		/* A new size or backend: a new, empty extent (diff.c says "data lost"). */
		if (tenant_del(d, c->tenant, false, err, errlen) < 0)
			return -1;
		return tenant_add(d, want, true, &t, err, errlen);
	case CHANGE_UPDATE:
		if (!t) {
			snprintf(err, errlen, "tenant \"%s\" vanished", c->tenant);
			return -1;
		}
		return tenant_update(d, t, want, err, errlen);
	case CHANGE_ADD:
		return tenant_add(d, want, true, &t, err, errlen);
	}
	return 0;
}

static int apply_all(struct reload *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->nr_changes; i++) {
		char line[768], why[768];

		conf_change_format(&r->changes[i], line, sizeof(line));
		if (apply_one(r, &r->changes[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "reload stopped at \"%s\": %s (%zu of %zu changes "
				 "applied)", line, why, i, r->nr_changes);
			return -1;
		}
		log_info("reload: %s", line);
	}
	return 0;
}

int daemon_reload(struct daemon *d, bool force, bool dry_run, char ***lines, size_t *nr_lines,
		  bool *applied, char *err, size_t errlen)
{
	struct reload r = { .d = d };
	size_t destructive = 0;
	int ret = -1;

	*lines = NULL;
	*nr_lines = 0;
	*applied = false;
	conf_init(&r.next);
	if (conf_load_file(d->policy_path, &r.next, err, errlen) < 0)
		goto out;
	overrides_apply(&d->ov, &r.next);
	if (collect_running(&r, err, errlen) < 0 ||
	    conf_diff(&d->conf, r.running, r.nr_running, &r.next, d->policy_path, &r.changes,
		      &r.nr_changes, err, errlen) < 0)
		goto out;
	if (format_lines(&r, lines, nr_lines) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.nr_changes; i++)
		destructive += r.changes[i].destructive;
	if (destructive && !force && !dry_run) {
		snprintf(err, errlen, "reload refused: %zu destructive change%s (marked \"needs "
			 "--force\"); nothing was changed", destructive, destructive == 1 ? "" : "s");
		goto out;
	}
	if (devices_free(&r, err, errlen) < 0 || placement_fits(&r, err, errlen) < 0 ||
	    reservations_fit(d, &r.next, d->policy_path, err, errlen) < 0)
		goto out;
	if (dry_run || r.nr_changes == 0) {
		ret = 0;
		goto out;
	}
	d->resv_prechecked = true; /* checked as a whole: a swap must not fail halfway */
	ret = apply_all(&r, err, errlen);
	d->resv_prechecked = false;
	*applied = true; /* partly, on failure: the reply says where it stopped */
	/*
	 * The new policy is the one in force (what is applied of it, on
	 * failure) -- but for the scheduler section, which the running
	 * schedulers still follow: a later reload lists that change again.
	 * (Its poll key applies live: apply_one() put it in d->conf already.)
	 */
	r.next.sched = d->conf.sched;
	conf_free(&d->conf);
	d->conf = r.next;
	conf_init(&r.next);
out:
	reload_free(&r);
	return ret;
}
