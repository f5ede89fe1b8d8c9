// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

// The kernel's ABI (uapi/linux/gosync.h), as Go constants and structs of
// the same layout; abi_test.go checks sizes and offsets against it.

const (
	abiVersion = 1

	deadlineNonblock = -1
	deadlineForever  = 0x7fffffffffffffff

	maxElem = 65535
	maxCap  = 0x100000

	chanMagic  = 0x676f6368 // "goch"
	syncMagic  = 0x676f7379 // "gosy"
	fsMagic    = 0x676f6673 // statfs f_type of the gosync fs
	tmpfsMagic = 0x01021994

	featChan     = 0x1
	featSelect   = 0x2
	featSync     = 0x8
	featChanZero = 0x40
	featNames    = 0x80

	// ioctl numbers (magic 0xB8; x86-64/arm64 _IOC encoding).
	iocInfo       = 0xc040b800
	iocChanCreate = 0xc020b801
	iocSelect     = 0xc030b802
	iocSyncCreate = 0xc020b803
	chanIocInfo   = 0xc068b820
	chanIocSend   = 0x4028b821
	chanIocRecv   = 0x4028b822
	chanIocClose  = 0x0000b823
	chanIocWake   = 0x4008b824
	chanIocMap    = 0xc018b825
	chanIocDup    = 0xc010b826
	syncIocInfo   = 0xc030b840
	syncIocMap    = 0xc018b841
	syncIocWake   = 0x0000b842
	fsIocOpen     = 0xc038b860

	createCloexec   = 0x1
	createNonblock  = 0x2
	createAutoclose = 0x4

	xferSync = 0x1

	wakeRecv = 0x1
	wakeSend = 0x2

	dupSendOnly = 0x1
	dupRecvOnly = 0x2
	dupCloexec  = 0x4
	dupNonblock = 0x8

	stateClosed    = 0x1
	stateNoSend    = 0x2
	stateNoRecv    = 0x4
	stateAutoclose = 0x8

	selSend = 1
	selRecv = 2

	syncKindWG        = 1
	syncKindMutex     = 2
	syncCloexec       = 0x1
	syncSize          = 4096
	syncOffWords      = 64
	syncHdrStandalone = 0x1

	openAutoclose = 0x1
	openCreated   = 0x80000000
	kindChan      = 6

	// The channel page.
	chanHdrSize       = 80
	chanLine          = 128
	chanHdrStandalone = 0x1

	// Slot words: pos << 20 | owner << 3 | state.
	slotStateBits = 3
	slotPosShift  = 20
	slotOwnerMax  = 0x1ffff
	posMask       = 1<<44 - 1
	slotFree      = 0
	slotWriting   = 1
	slotFull      = 2
	slotSync      = 3
	slotReading   = 4
	slotSkip      = 5
	tailClosed    = 1
	ringTries     = 1024
)

type devInfo struct {
	Flags      uint32
	AbiVersion uint32
	Features   uint64
	Resv       [6]uint64
}

type chanCreate struct {
	Flags    uint32
	ElemSize uint32
	Cap      uint32
	Fd       int32
	Resv     [2]uint64
}

type chanInfo struct {
	Flags       uint32
	ElemSize    uint32
	Cap         uint32
	Nslots      uint32
	SlotSize    uint32
	State       uint32
	MapSize     uint64
	OffTail     uint64
	OffHead     uint64
	OffRecvWait uint64
	OffSendWait uint64
	OffSlots    uint64
	Len         uint64
	Resv        [3]uint64
}

type chanXfer struct {
	Elem       uint64
	DeadlineNs int64
	Flags      uint32
	Count      uint32
	Resv       [2]uint64
}

type chanWake struct {
	Flags uint32
	Resv  uint32
}

type chanMap struct {
	Addr  uint64
	Owner uint32
	Flags uint32
	Resv  uint64
}

type chanDup struct {
	Flags uint32
	Fd    int32
	Resv  uint64
}

type selectCase struct {
	Fd     int32
	Op     uint32
	Elem   uint64
	Result int32
	Flags  uint32
}

type selectArg struct {
	Cases      uint64
	Ncases     uint32
	Flags      uint32
	DeadlineNs int64
	Index      int32
	Resv0      uint32
	Resv       [2]uint64
}

type syncCreate struct {
	Flags uint32
	Kind  uint32
	Fd    int32
	Resv0 uint32
	Resv  [2]uint64
}

type syncInfo struct {
	Flags    uint32
	Kind     uint32
	MapSize  uint64
	OffWords uint64
	Resv     [3]uint64
}

type openArg struct {
	Name     uint64
	NameLen  uint32
	Oflag    uint32
	Mode     uint32
	Kind     uint32
	ElemSize uint32
	Cap      uint32
	Flags    uint32
	Fd       int32
	Resv     [2]uint64
}

// The header at the start of a channel's mapping (standalone: written by
// its creator, magic last).
type chanHeader struct {
	Magic       uint32
	AbiVersion  uint32
	ElemSize    uint32
	Cap         uint32
	Nslots      uint32
	SlotSize    uint32
	Flags       uint32
	Resv0       uint32
	MapSize     uint64
	OffTail     uint64
	OffHead     uint64
	OffRecvWait uint64
	OffSendWait uint64
	OffSlots    uint64
}
