// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: shared regions, seen by the kernel and by every process that
 * maps the object.
 *
 * A region is a shmem file whose pages the module pins and vmaps for its
 * own use.  A process's mmap of the object is redirected to the shmem file
 * (vma_set_file() + shmem's own ->mmap): only memory with a page->mapping
 * gives non-private futex keys, which standalone-style waits and
 * futex_waitv() need across processes.
 *
 * Each mapping gets a struct gosync_mapping with an owner id from the
 * object: the object learns when the mapping is gone (munmap, exit,
 * kill), which is how it releases what a dead process left claimed.  For
 * that the vma's operations are shmem's with open/close added; the vma
 * itself holds the shmem file, so the mapping pins the object's own file
 * instead, and puts it from ->close:
 * the final fput (and the module_put of the file's owner) then runs after
 * ->close has returned, never under our feet.
 *
 * Mappings are MAP_SHARED only, never executable, not inherited by fork
 * (each process maps for itself, so owner ids are per process), and may
 * not be split or grown.
 */
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "gosync.h"

int gosync_shm_create(struct gosync_shm *shm, const char *name, size_t size)
{
	struct address_space *mapping;
	unsigned int i;
	int ret;

	shm->npages = DIV_ROUND_UP(size, PAGE_SIZE);
	shm->file = shmem_file_setup(name, (loff_t)shm->npages << PAGE_SHIFT, 0);
	if (IS_ERR(shm->file))
		return PTR_ERR(shm->file);
	mapping = shm->file->f_mapping;
	mapping_set_unevictable(mapping);
	/* Pinned for the object's life: keep them out of movable zones. */
	mapping_set_gfp_mask(mapping, GFP_HIGHUSER);

	shm->pages = kvcalloc(shm->npages, sizeof(*shm->pages),
			      GFP_KERNEL_ACCOUNT);
	if (!shm->pages) {
		ret = -ENOMEM;
		goto put_file;
	}
	for (i = 0; i < shm->npages; i++) {
		struct page *page = shmem_read_mapping_page(mapping, i);

		if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			goto put_pages;
		}
		shm->pages[i] = page;
	}
	shm->vaddr = vmap(shm->pages, shm->npages, VM_MAP, PAGE_KERNEL);
	if (!shm->vaddr) {
		ret = -ENOMEM;
		goto put_pages;
	}
	return 0;

put_pages:
	while (i--)
		put_page(shm->pages[i]);
	kvfree(shm->pages);
put_file:
	mapping_clear_unevictable(mapping);
	fput(shm->file);
	return ret;
}

void gosync_shm_destroy(struct gosync_shm *shm)
{
	unsigned int i;

	vunmap(shm->vaddr);
	for (i = 0; i < shm->npages; i++)
		put_page(shm->pages[i]);
	kvfree(shm->pages);
	mapping_clear_unevictable(shm->file->f_mapping);
	fput(shm->file);
}

/*
 * shmem's vm_operations_struct is private to mm/shmem.c: copy it from the
 * first vma shmem sets up, adding our hooks.  Written once, under the
 * mutex, before any vma points at it.
 */
static struct vm_operations_struct gosync_shm_vm_ops;
static const struct vm_operations_struct *gosync_shmem_vm_ops;
static DEFINE_MUTEX(gosync_shm_vm_ops_lock);

/* A new mapping record with a fresh owner id from @ids; ERR_PTR. */
static struct gosync_mapping *gosync_mapping_new(struct file *objfile,
						 struct ida *ids,
						 void (*died)(struct gosync_mapping *))
{
	struct gosync_mapping *map;
	int owner;

	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return ERR_PTR(-ENOMEM);
	owner = ida_alloc_range(ids, 1, GOSYNC_OWNER_MAX, GFP_KERNEL);
	if (owner < 0) {
		kfree(map);
		return ERR_PTR(owner == -ENOSPC ? -ENOMEM : owner);
	}
	refcount_set(&map->refs, 1);
	map->owner = owner;
	map->ids = ids;
	map->died = died;
	map->objfile = get_file(objfile);
	return map;
}

/* Undo gosync_mapping_new() of a mapping that never was. */
static void gosync_mapping_drop(struct gosync_mapping *map)
{
	ida_free(map->ids, map->owner);
	fput(map->objfile);
	kfree(map);
}

static void gosync_shm_vm_open(struct vm_area_struct *vma)
{
	struct gosync_mapping *map = vma->vm_private_data;
	struct gosync_mapping *copy;

	/*
	 * Another address space: a fork copied the vma after MADV_DOFORK.
	 * Owner ids are per process, so the copy gets a record of its own.
	 */
	if (vma->vm_mm != map->mm) {
		copy = gosync_mapping_new(map->objfile, map->ids, map->died);
		if (!IS_ERR(copy)) {
			copy->mm = vma->vm_mm;
			vma->vm_private_data = copy;
			return;
		}
		/* No memory: share the id; a death then waits for both. */
	}
	refcount_inc(&map->refs);
}

static void gosync_shm_vm_close(struct vm_area_struct *vma)
{
	struct gosync_mapping *map = vma->vm_private_data;
	struct file *objfile = map->objfile;

	if (!refcount_dec_and_test(&map->refs))
		return;
	if (map->died)
		map->died(map);
	ida_free(map->ids, map->owner);
	kfree(map);
	/* Last: the object, its file and the module may go after this. */
	fput(objfile);
}

static int gosync_shm_vm_may_split(struct vm_area_struct *vma,
				   unsigned long addr)
{
	return -EINVAL;
}

static int gosync_shm_vm_ops_init(const struct vm_operations_struct *shmem)
{
	int ret = 0;

	mutex_lock(&gosync_shm_vm_ops_lock);
	if (!gosync_shmem_vm_ops) {
		/* Our hooks would hide shmem's own: make sure there are none. */
		if (WARN_ON_ONCE(shmem->open || shmem->close || shmem->may_split)) {
			ret = -ENODEV;
			goto unlock;
		}
		gosync_shm_vm_ops = *shmem;
		gosync_shm_vm_ops.open = gosync_shm_vm_open;
		gosync_shm_vm_ops.close = gosync_shm_vm_close;
		gosync_shm_vm_ops.may_split = gosync_shm_vm_may_split;
		gosync_shmem_vm_ops = shmem;
	} else if (WARN_ON_ONCE(shmem != gosync_shmem_vm_ops)) {
		ret = -ENODEV;
	}
unlock:
	mutex_unlock(&gosync_shm_vm_ops_lock);
	return ret;
}

/**
 * gosync_shm_mmap - map @shm into the vma of an object's ->mmap
 * @shm:	the region; the vma must cover all of it, from offset 0
 * @vma:	the vma, still set up by mmap_region()
 * @ids:	the object's owner ids: the mapping gets one
 * @died:	called once the mapping is gone, or NULL
 *
 * Return: 0, or -EINVAL (private, partial or offset mapping), -EPERM
 * (executable), -ENOMEM (no owner id or memory), or shmem's error.
 */
int gosync_shm_mmap(struct gosync_shm *shm, struct vm_area_struct *vma,
		    struct ida *ids, void (*died)(struct gosync_mapping *map))
{
	struct file *objfile = vma->vm_file;
	struct gosync_mapping *map;
	int ret;

	if (!(vma->vm_flags & VM_SHARED) || vma->vm_pgoff ||
	    vma_pages(vma) != shm->npages)
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	map = gosync_mapping_new(objfile, ids, died);
	if (IS_ERR(map))
		return PTR_ERR(map);
	vma->vm_flags &= ~VM_MAYEXEC;
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND;

	vma_set_file(vma, shm->file);
	ret = call_mmap(shm->file, vma);
	if (!ret)
		ret = gosync_shm_vm_ops_init(vma->vm_ops);
	if (ret) {
		gosync_mapping_drop(map);
		return ret;
	}
	map->mm = vma->vm_mm;
	vma->vm_private_data = map;
	vma->vm_ops = &gosync_shm_vm_ops;
	return 0;
}

/*
 * GOSYNC_CHAN_IOC_MAP and GOSYNC_SYNC_IOC_MAP: the owner id of the
 * caller's mapping of @file's object that starts at req.addr.
 */
long gosync_shm_ioctl_map(struct file *file, void __user *uarg)
{
	struct gosync_chan_map req;
	struct gosync_mapping *map = NULL;
	struct vm_area_struct *vma;
	long ret = -EINVAL;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.resv)
		return -EINVAL;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, req.addr);
	if (vma && vma->vm_ops == &gosync_shm_vm_ops)
		map = vma->vm_private_data;
	if (map && vma->vm_start == req.addr &&
	    map->objfile->private_data == file->private_data) {
		req.owner = map->owner;
		ret = 0;
	}
	mmap_read_unlock(current->mm);
	if (ret)
		return ret;
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}
