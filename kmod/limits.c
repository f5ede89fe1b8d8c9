// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: limits on what users may pin, as module parameters.
 *
 * Every object's shared region is pinned kernel memory, so it is charged
 * to the user that made it (like POSIX mqueues' RLIMIT_MSGQUEUE), and so
 * is other kernel memory a user can make the module hold for long (a
 * queued io_uring command and its copy of the element):
 *   max_obj_bytes	one object's region (a channel's ring)
 *   max_user_bytes	all regions and queued commands of one user
 *   max_user_objects	objects one user may have at a time
 * The parameters are writable at run time (root, via
 * /sys/module/gosync/parameters); a change applies to later creations.
 *
 * Locking: gosync_users_lock protects the table and every counter in it;
 * it is a leaf lock, taken with nothing else held.
 */
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/user_namespace.h>

#include "gosync.h"

static unsigned long max_obj_bytes = 64UL << 20;
module_param(max_obj_bytes, ulong, 0644);
MODULE_PARM_DESC(max_obj_bytes, "Largest shared region of one object, bytes (default 64 MiB)");

static unsigned long max_user_bytes = 256UL << 20;
module_param(max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes, "Shared memory one user may pin, bytes (default 256 MiB)");

static unsigned int max_user_objects = 1024;
module_param(max_user_objects, uint, 0644);
MODULE_PARM_DESC(max_user_objects, "Objects one user may have at a time (default 1024)");

/**
 * struct gosync_user - what one user has pinned
 * @node:	in gosync_users, keyed by @uid
 * @uid:	the user
 * @bytes:	pinned bytes: objects' regions and other kernel memory the
 *		user holds (queued io_uring commands)
 * @objects:	live objects
 * @charges:	outstanding charges of any kind; the entry goes at zero
 */
struct gosync_user {
	struct hlist_node node;
	kuid_t uid;
	size_t bytes;
	unsigned int objects;
	unsigned long charges;
};

static DEFINE_HASHTABLE(gosync_users, 6);
static DEFINE_SPINLOCK(gosync_users_lock);

static struct gosync_user *gosync_user_find(kuid_t uid)
{
	struct gosync_user *user;

	lockdep_assert_held(&gosync_users_lock);
	hash_for_each_possible(gosync_users, user, node, __kuid_val(uid))
		if (uid_eq(user->uid, uid))
			return user;
	return NULL;
}

/* Charge @bytes, and one object if @object, to the calling user. */
static int gosync_charge_as(struct gosync_user **userp, size_t bytes,
			    bool object)
{
	kuid_t uid = current_uid();
	struct gosync_user *user, *fresh;
	size_t user_max = READ_ONCE(max_user_bytes);
	int ret = 0;

	if (object && bytes > READ_ONCE(max_obj_bytes))
		return -ENOMEM;
	/* Allocate outside the lock; most calls find the user already there. */
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return -ENOMEM;

	spin_lock(&gosync_users_lock);
	user = gosync_user_find(uid);
	if (!user) {
		user = fresh;
		fresh = NULL;
		user->uid = uid;
		hash_add(gosync_users, &user->node, __kuid_val(uid));
	}
	if (object && user->objects >= READ_ONCE(max_user_objects))
		ret = -EMFILE;
	else if (bytes > user_max - min(user->bytes, user_max))
		ret = -ENOMEM;
	if (!ret) {
		user->objects += object;
		user->bytes += bytes;
		user->charges++;
		*userp = user;
	} else if (!user->charges) {
		hash_del(&user->node);
		fresh = user;
	}
	spin_unlock(&gosync_users_lock);
	kfree(fresh);
	return ret;
}

static void gosync_uncharge_as(struct gosync_user *user, size_t bytes,
			       bool object)
{
	bool last;

	spin_lock(&gosync_users_lock);
	user->bytes -= bytes;
	user->objects -= object;
	last = !--user->charges;
	if (last)
		hash_del(&user->node);
	spin_unlock(&gosync_users_lock);
	if (last)
		kfree(user);
}

int gosync_charge_more(struct gosync_user *user, size_t bytes)
{
	size_t user_max = READ_ONCE(max_user_bytes);
	int ret = 0;

	spin_lock(&gosync_users_lock);
	if (bytes > user_max - min(user->bytes, user_max))
		ret = -ENOMEM;
	else
		user->bytes += bytes;
	spin_unlock(&gosync_users_lock);
	return ret;
}

void gosync_uncharge_more(struct gosync_user *user, size_t bytes)
{
	if (!bytes)
		return;
	spin_lock(&gosync_users_lock);
	user->bytes -= bytes;
	spin_unlock(&gosync_users_lock);
}

int gosync_charge(struct gosync_user **userp, size_t bytes)
{
	return gosync_charge_as(userp, bytes, true);
}

void gosync_uncharge(struct gosync_user *user, size_t bytes)
{
	gosync_uncharge_as(user, bytes, true);
}

int gosync_charge_mem(struct gosync_user **userp, size_t bytes)
{
	return gosync_charge_as(userp, bytes, false);
}

void gosync_uncharge_mem(struct gosync_user *user, size_t bytes)
{
	gosync_uncharge_as(user, bytes, false);
}

/*
 * debugfs gosync/limits: the totals over all users, then one line per
 * user, so tests and the fuzzer can check that everything charged comes
 * back once everything is closed.
 */
int gosync_limits_show(struct seq_file *m, void *unused)
{
	struct gosync_user *user;
	unsigned int objects = 0, bkt;
	size_t bytes = 0;

	spin_lock(&gosync_users_lock);
	hash_for_each(gosync_users, bkt, user, node) {
		objects += user->objects;
		bytes += user->bytes;
	}
	seq_printf(m, "objects %u bytes %zu\n", objects, bytes);
	hash_for_each(gosync_users, bkt, user, node)
		seq_printf(m, "uid %u objects %u bytes %zu\n",
			   from_kuid_munged(&init_user_ns, user->uid),
			   user->objects, user->bytes);
	spin_unlock(&gosync_users_lock);
	return 0;
}
