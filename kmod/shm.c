// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: shared regions, seen by the kernel and by every process that
 * maps the object.
 *
 * A region is a shmem file whose pages the module pins and vmaps for its
 * own use.  A process's mapping of the object keeps the object's own file
 * as its vm_file and gets the pinned pages from our ->fault: they keep
 * their shmem page->mapping, so non-private futex keys (which
 * standalone-style waits and futex_waitv() need across processes) are
 * the same everywhere, while nothing a process can do to its vma reaches
 * the shmem file itself (remap_file_pages(2) re-mmaps the vm_file, so it
 * meets our ->mmap again; MADV_REMOVE needs a ->fallocate we do not
 * have).  udmabuf serves shmem pages the same way.
 *
 * Each mapping gets a struct gosync_mapping with an owner id from the
 * object: the object learns when the mapping is gone (munmap, exit,
 * kill), which is how it releases what a dead process left claimed, and
 * the mapping notes which pages it touched, which bounds that release to
 * the slots the process could have claimed.  The vma holds the object's
 * file; the mapping pins it too, and puts it from ->close: the final fput
 * (and the module_put of the file's owner) then runs after ->close has
 * returned, never under our feet.
 *
 * Mappings are MAP_SHARED only, never executable, not inherited by fork
 * (each process maps for itself, so owner ids are per process), and may
 * not be split or grown.
 */
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "gosync.h"

/*
 * What the region really pins: its pages' folios.  With shmem huge pages
 * enabled (transparent_hugepage/shmem_enabled always, within_size or
 * force) one page of a region can be a piece of a 2 MiB folio, all of
 * which stays pinned.
 */
static size_t gosync_shm_pinned(struct gosync_shm *shm)
{
	struct folio *prev = NULL;
	size_t bytes = 0;
	unsigned int i;

	for (i = 0; i < shm->npages; i++) {
		struct folio *folio = page_folio(shm->pages[i]);

		if (folio != prev)
			bytes += folio_size(folio);
		prev = folio;
	}
	return bytes;
}

int gosync_shm_create(struct gosync_shm *shm, const char *name, size_t size,
		      struct gosync_user *user)
{
	struct address_space *mapping;
	unsigned int i;
	size_t pinned;
	int ret;

	shm->npages = DIV_ROUND_UP(size, PAGE_SIZE);
	atomic_set(&shm->maps, 0);
	shm->fscount = NULL;
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
	/* The caller charged @size; huge folios are charged for in full. */
	pinned = gosync_shm_pinned(shm);
	shm->user = user;
	shm->extra = pinned > size ? pinned - size : 0;
	if (shm->extra) {
		ret = gosync_charge_more(user, shm->extra);
		if (ret)
			goto put_pages;
	}
	shm->vaddr = vmap(shm->pages, shm->npages, VM_MAP, PAGE_KERNEL);
	if (!shm->vaddr) {
		ret = -ENOMEM;
		goto uncharge;
	}
	return 0;

uncharge:
	gosync_uncharge_more(user, shm->extra);
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

	if (shm->fscount)
		gosync_fs_uncount(shm->fscount);
	gosync_uncharge_more(shm->user, shm->extra);
	vunmap(shm->vaddr);
	for (i = 0; i < shm->npages; i++)
		put_page(shm->pages[i]);
	kvfree(shm->pages);
	mapping_clear_unevictable(shm->file->f_mapping);
	fput(shm->file);
}

/* A new mapping record with a fresh owner id from @ids; ERR_PTR. */
static struct gosync_mapping *gosync_mapping_new(struct gosync_shm *shm,
						 struct file *objfile,
						 struct ida *ids,
						 void (*died)(struct gosync_mapping *))
{
	struct gosync_mapping *map;
	int owner;

	map = kzalloc(struct_size(map, touched, BITS_TO_LONGS(shm->npages)),
		      GFP_KERNEL_ACCOUNT);
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
	map->shm = shm;
	INIT_LIST_HEAD(&map->owned_node);
	map->objfile = get_file(objfile);
	atomic_inc(&shm->maps);
	return map;
}

static void gosync_shm_vm_open(struct vm_area_struct *vma)
{
	struct gosync_mapping *map = vma->vm_private_data;
	struct gosync_mapping *copy;

	/*
	 * Another address space: a fork copied the vma after MADV_DOFORK.
	 * Owner ids are per process, so the copy gets a record of its own
	 * (fork copies no page of a shared mapping: the child's touches
	 * are its own faults).
	 */
	if (vma->vm_mm != map->mm) {
		copy = gosync_mapping_new(map->shm, map->objfile, map->ids,
					  map->died);
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
	atomic_dec(&map->shm->maps);
	kfree(map);
	/* Last: the object, its file and the module may go after this. */
	fput(objfile);
}

static int gosync_shm_vm_may_split(struct vm_area_struct *vma,
				   unsigned long addr)
{
	return -EINVAL;
}

/*
 * Every page of the mapping comes from here: the region's own pinned
 * pages, whose page->mapping stays shmem's (so non-private futex keys
 * are the same in every process).  The mapping notes each page it
 * touched: only those can hold a claim it made.  A page that is part of
 * a huge folio is mapped with all of it (finish_fault() maps the whole
 * PMD when it can), so the whole folio counts as touched.
 */
static vm_fault_t gosync_shm_vm_fault(struct vm_fault *vmf)
{
	struct gosync_mapping *map = vmf->vma->vm_private_data;
	struct gosync_shm *shm = map->shm;
	struct folio *folio;
	pgoff_t i, end;

	if (vmf->pgoff >= shm->npages)
		return VM_FAULT_SIGBUS;
	vmf->page = shm->pages[vmf->pgoff];
	folio = page_folio(vmf->page);
	i = folio->index;
	end = min_t(pgoff_t, i + folio_nr_pages(folio), shm->npages);
	for (; i < end; i++)
		set_bit(i, map->touched);
	set_bit(vmf->pgoff, map->touched);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct gosync_shm_vm_ops = {
	.open		= gosync_shm_vm_open,
	.close		= gosync_shm_vm_close,
	.may_split	= gosync_shm_vm_may_split,
	.fault		= gosync_shm_vm_fault,
};

/**
 * gosync_shm_mmap - map @shm into the vma of an object's ->mmap
 * @shm:	the region; the vma must cover all of it, from offset 0
 * @vma:	the vma, still set up by mmap_region()
 * @ro:		a region only the kernel writes
 * @ids:	the object's owner ids: the mapping gets one
 * @died:	called once the mapping is gone, or NULL
 *
 * The vma keeps the object's own file, so every way back into ->mmap
 * (remap_file_pages(2) re-mmaps vma->vm_file) meets these rules again,
 * and the object's file has no ->fallocate (MADV_REMOVE fails with
 * EOPNOTSUPP): the pages the kernel pins and vmaps are the only ones any
 * process ever sees.
 *
 * A read-only region (@ro: only the kernel writes it) is mapped from a
 * file that can read, without PROT_WRITE (EACCES), and mprotect(2)
 * cannot add it later (VM_MAYWRITE goes).
 *
 * Return: 0, or -EINVAL (private, partial or offset mapping), -EACCES
 * (the file's access mode, PROT_WRITE of a read-only region), -EPERM
 * (executable), -ENOMEM (no owner id or memory).
 */
int gosync_shm_mmap(struct gosync_shm *shm, struct vm_area_struct *vma,
		    bool ro, struct ida *ids,
		    void (*died)(struct gosync_mapping *map))
{
	fmode_t need = ro ? FMODE_READ : FMODE_READ | FMODE_WRITE;
	struct gosync_mapping *map;

	/*
	 * Only a file that can do both: a channel's directional end (the
	 * ring could not hold it to its direction), a sync object's name
	 * opened for less than O_RDWR.
	 */
	if ((vma->vm_file->f_mode & need) != need)
		return -EACCES;
	if (ro && vma->vm_flags & VM_WRITE)
		return -EACCES;
	/* (VM_SHARED goes from a shared mapping of a read-only file) */
	if (!(vma->vm_flags & (ro ? VM_MAYSHARE : VM_SHARED)) ||
	    vma->vm_pgoff || vma_pages(vma) != shm->npages)
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	map = gosync_mapping_new(shm, vma->vm_file, ids, died);
	if (IS_ERR(map))
		return PTR_ERR(map);
	vma->vm_flags &= ~(VM_MAYEXEC | (ro ? VM_MAYWRITE : 0));
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND;
	map->mm = vma->vm_mm;
	vma->vm_private_data = map;
	vma->vm_ops = &gosync_shm_vm_ops;
	return 0;
}

/*
 * The slots whose slot word lies on a page @map touched, as ranges
 * [*first, *last] of slot indexes, one page at a time from page *@page;
 * false when there are no more.  A claim writes the slot word through
 * the claimer's mapping, so a mapping's claims are all in these.
 */
bool gosync_mapping_next_slots(struct gosync_mapping *map, unsigned int *page,
			       u64 off_slots, u32 slot_size, u32 nslots,
			       u32 *first, u32 *last)
{
	for (;;) {
		u64 lo, hi;
		unsigned int p = find_next_bit(map->touched, map->shm->npages,
					       *page);

		if (p >= map->shm->npages)
			return false;
		*page = p + 1;
		lo = (u64)p << PAGE_SHIFT;
		hi = lo + PAGE_SIZE;
		if (hi <= off_slots)
			continue;
		lo = lo > off_slots ? DIV_ROUND_UP(lo - off_slots, slot_size) : 0;
		hi = (hi - off_slots - 1) / slot_size;
		if (lo >= nslots)
			return false;
		*first = lo;
		*last = min_t(u64, hi, nslots - 1);
		if (*first <= *last)
			return true;
	}
}

/*
 * The caller's mapping of @file's object that starts at @addr, or NULL.
 * The caller holds current->mm's mmap lock, which keeps it alive.
 */
struct gosync_mapping *gosync_shm_mapping_at(struct file *file, u64 addr)
{
	struct vm_area_struct *vma;
	struct gosync_mapping *map;

	/* not mmap_assert_locked(): its VM_BUG_ON_MM needs dump_mm, unexported */
	lockdep_assert_held(&current->mm->mmap_lock);
	vma = vma_lookup(current->mm, addr);
	if (!vma || vma->vm_ops != &gosync_shm_vm_ops || vma->vm_start != addr)
		return NULL;
	map = vma->vm_private_data;
	return map->objfile->private_data == file->private_data ? map : NULL;
}

/*
 * GOSYNC_CHAN_IOC_MAP and GOSYNC_SYNC_IOC_MAP: the owner id of the
 * caller's mapping of @file's object that starts at req.addr.
 */
long gosync_shm_ioctl_map(struct file *file, void __user *uarg)
{
	struct gosync_chan_map req;
	struct gosync_mapping *map;
	long ret = -EINVAL;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.resv)
		return -EINVAL;

	mmap_read_lock(current->mm);
	map = gosync_shm_mapping_at(file, req.addr);
	if (map) {
		req.owner = map->owner;
		ret = 0;
	}
	mmap_read_unlock(current->mm);
	if (ret)
		return ret;
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}
