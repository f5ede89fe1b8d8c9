// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Names, as lib/name.c: "/name" in the gosync filesystem's root (kernel
// mode: $GOSYNC_FS or /run/gosync), or a file in the standalone
// directory ($GOSYNC_SHM_DIR or /dev/shm/gosync, tmpfs).

const nameMax = 255

func nameCheck(name string) (string, error) {
	if !strings.HasPrefix(name, "/") {
		return "", syscall.EINVAL
	}
	base := name[1:]
	if base == "" || strings.ContainsAny(base, "/\x00") || base == "." ||
		base == ".." {
		return "", syscall.EINVAL
	}
	if len(base) > nameMax {
		return "", syscall.ENAMETOOLONG
	}
	return base, nil
}

const openFlags = os.O_CREATE | os.O_EXCL

// Open opens the channel called name ("/" and at most 255 bytes, no
// other "/"), as open(2): flag is os.O_RDONLY (a receive-only end),
// os.O_WRONLY (send-only) or os.O_RDWR, with os.O_CREATE to make it
// (then perm, elemSize and capacity give its mode and shape; 0, 0 when
// opening an existing one takes it as it is; a different shape is
// EINVAL) and os.O_EXCL to fail with EEXIST if it exists.  Directional
// ends are never mapped: every operation on one is a system call.  With
// Standalone the name is a file in the standalone directory, opened
// O_RDWR only (EOPNOTSUPP otherwise, and for Autoclose or NoMap).
func Open(name string, flag int, perm os.FileMode, elemSize, capacity int, f Flags) (*Chan, error) {
	base, err := nameCheck(name)
	if err != nil {
		return nil, err
	}
	acc := flag & syscall.O_ACCMODE
	if acc != os.O_RDONLY && acc != os.O_WRONLY && acc != os.O_RDWR ||
		flag&^(syscall.O_ACCMODE|openFlags|syscall.O_CLOEXEC) != 0 ||
		f&^(Standalone|Autoclose|NoMap) != 0 {
		return nil, syscall.EINVAL
	}
	if _, err := chanLayout(elemSize, capacity); err != nil {
		return nil, err
	}
	mode := uint32(0)
	if flag&os.O_CREATE != 0 {
		if perm&^(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
			return nil, syscall.EINVAL
		}
		mode = unixMode(perm)
	}
	if f&Standalone != 0 {
		if acc != os.O_RDWR || f&(Autoclose|NoMap) != 0 {
			return nil, syscall.EOPNOTSUPP
		}
		c, err := shmOpen(base, flag, mode, elemSize, capacity)
		// The kernel checks an existing channel's shape; a standalone
		// file is checked here (as gosync_chan_open).
		if err == nil && (elemSize != 0 && elemSize != c.elemSize ||
			capacity != 0 && capacity != c.cap) {
			c.Free()
			return nil, syscall.EINVAL
		}
		return c, err
	}
	root, err := fsRoot()
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			err = syscall.ENODEV
		}
		return nil, err
	}
	defer syscall.Close(root)
	nb := append([]byte(base), 0)
	req := openArg{Name: uint64(uintptr(unsafe.Pointer(&nb[0]))),
		NameLen: uint32(len(base)), Oflag: uint32(flag | syscall.O_CLOEXEC),
		Mode: mode, Kind: kindChan, ElemSize: uint32(elemSize),
		Cap: uint32(capacity)}
	if f&Autoclose != 0 {
		req.Flags = openAutoclose
	}
	fd, e := ioctl(root, fsIocOpen, unsafe.Pointer(&req))
	runtime.KeepAlive(nb)
	if e != 0 {
		return nil, e
	}
	c, err := adoptFD(fd, f&NoMap != 0)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return c, nil
}

func unixMode(perm os.FileMode) uint32 {
	m := uint32(perm.Perm())
	if perm&os.ModeSetuid != 0 {
		m |= syscall.S_ISUID
	}
	if perm&os.ModeSetgid != 0 {
		m |= syscall.S_ISGID
	}
	if perm&os.ModeSticky != 0 {
		m |= syscall.S_ISVTX
	}
	return m
}

// Unlink removes a name (Standalone: from the standalone directory); the
// object lives on while fds hold it.
func Unlink(name string, f Flags) error {
	base, err := nameCheck(name)
	if err != nil {
		return err
	}
	if f&^Standalone != 0 {
		return syscall.EINVAL
	}
	var dir int
	if f&Standalone != 0 {
		dir, err = shmDir(false)
	} else {
		dir, err = fsRoot()
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			err = syscall.ENODEV
		}
	}
	if err != nil {
		return err
	}
	defer syscall.Close(dir)
	return unlinkat(dir, base)
}

func unlinkat(dir int, base string) error {
	p, err := syscall.BytePtrFromString(base)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(syscall.SYS_UNLINKAT, uintptr(dir),
		uintptr(unsafe.Pointer(p)), 0)
	return errno(e)
}

func shmDir(make bool) (int, error) {
	path := os.Getenv("GOSYNC_SHM_DIR")
	if path == "" {
		path = "/dev/shm/gosync"
	}
	const oflag = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_NOFOLLOW |
		syscall.O_CLOEXEC
	made := false
	fd, err := syscall.Open(path, oflag, 0)
	if err == syscall.ENOENT && make {
		err = syscall.Mkdir(path, 01777)
		made = err == nil
		if err != nil && err != syscall.EEXIST {
			return -1, err
		}
		fd, err = syscall.Open(path, oflag, 0)
	}
	if err != nil {
		if err == syscall.ELOOP {
			err = syscall.ENOTDIR
		}
		return -1, err
	}
	var st syscall.Statfs_t
	if made {
		if err = syscall.Fchmod(fd, 01777); err != nil {
			syscall.Close(fd)
			return -1, err
		}
	}
	if err = syscall.Fstatfs(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	if st.Type != tmpfsMagic {
		syscall.Close(fd)
		return -1, syscall.EINVAL
	}
	return fd, nil
}

var shmSeq atomic.Uint64

func shmOpen(base string, flag int, mode uint32, elemSize, capacity int) (*Chan, error) {
	creat := flag&os.O_CREATE != 0
	excl := creat && flag&os.O_EXCL != 0
	dir, err := shmDir(creat)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dir)
	err = syscall.ENOENT
	for i := 0; i < 64; i++ {
		var c *Chan
		if !excl {
			c, err = shmOpenExisting(dir, base)
			if err != syscall.ENOENT || !creat {
				return c, err
			}
		}
		c, err = shmMake(dir, base, mode, elemSize, capacity)
		if err != syscall.EEXIST || excl {
			return c, err
		}
	}
	return nil, err
}

func openat(dir int, name string, flags int, mode uint32) (int, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	r, _, e := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dir),
		uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mode), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func shmOpenExisting(dir int, base string) (*Chan, error) {
	// O_NONBLOCK: a FIFO someone made there must not hang us.
	fd, err := openat(dir, base, syscall.O_RDWR|syscall.O_NOFOLLOW|
		syscall.O_NOCTTY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var hdr [16]byte
	var st syscall.Stat_t
	n, _ := syscall.Pread(fd, hdr[:], 0)
	ok := syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && n == 16
	magic := *(*uint32)(unsafe.Pointer(&hdr[0]))
	if !ok || magic != chanMagic {
		syscall.Close(fd)
		kind := *(*uint32)(unsafe.Pointer(&hdr[8]))
		if ok && magic == syncMagic && kind >= 1 && kind < kindChan {
			return nil, syscall.EMEDIUMTYPE // another kind of object
		}
		return nil, syscall.EINVAL
	}
	if _, e := fcntl(fd, syscall.F_SETFL, 0); e != 0 {
		syscall.Close(fd)
		return nil, e
	}
	c, err := adoptStandalone(fd)
	if err != nil {
		syscall.Close(fd)
	}
	return c, err
}

func shmMake(dir int, base string, mode uint32, elemSize, capacity int) (*Chan, error) {
	var fd int
	var tmp string
	var err error
	for {
		tmp = fmt.Sprintf(".gosync-tmp.%d.%d", os.Getpid(), shmSeq.Add(1))
		fd, err = openat(dir, tmp, syscall.O_RDWR|syscall.O_CREAT|
			syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, mode)
		if err != syscall.EEXIST {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	defer unlinkat(dir, tmp)
	l, err := chanLayout(elemSize, capacity)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	c, err := makeStandalone(elemSize, capacity, l, fd) // owns fd now
	if err != nil {
		return nil, err
	}
	if err := linkat(dir, tmp, base); err != nil {
		c.Free()
		return nil, err
	}
	return c, nil
}

func linkat(dir int, from, to string) error {
	a, err := syscall.BytePtrFromString(from)
	if err != nil {
		return err
	}
	b, err := syscall.BytePtrFromString(to)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(dir),
		uintptr(unsafe.Pointer(a)), uintptr(dir), uintptr(unsafe.Pointer(b)), 0, 0)
	return errno(e)
}
