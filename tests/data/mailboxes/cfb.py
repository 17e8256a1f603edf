"""A minimal writer of OLE compound files ([MS-CFB] version 3), enough to build a .msg fixture.

Every stream is stored in the mini stream (all are under the 4096-byte cutoff), the tree of
each storage is a right-sibling chain in [MS-CFB] 2.6.4 name order (length, then upper case),
and one FAT sector maps everything. Readers (olefile, extract-msg) do not check red-black
colouring, so every entry is black.
"""

from __future__ import annotations

import itertools
import struct

SECTOR = 512
MINI = 64
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _order(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def _chain(start: int, count: int) -> list[int]:
    return [start + i + 1 for i in range(count - 1)] + [ENDOFCHAIN] if count else []


def build(streams: dict[str, bytes]) -> bytes:
    """Build a compound file; keys are paths like ``"__substg1.0_001A001F"`` or ``"a/b"``."""
    # entries: (name, type, parent index, data); 0 = root
    entries: list[list[object]] = [["Root Entry", 5, -1, b""]]
    index: dict[str, int] = {"": 0}
    for path in sorted(streams):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            sub = "/".join(parts[:depth])
            if sub not in index:
                index[sub] = len(entries)
                entries.append([parts[depth - 1], 1, index["/".join(parts[: depth - 1])], b""])
        index[path] = len(entries)
        entries.append([parts[-1], 2, index["/".join(parts[:-1])], streams[path]])
    # mini stream and mini FAT
    mini = bytearray()
    minifat: list[int] = []
    starts: dict[int, int] = {}
    for i, (_, kind, _, data) in enumerate(entries):
        if kind == 2 and data:
            assert isinstance(data, bytes)
            assert len(data) < 4096
            n = -(-len(data) // MINI)
            starts[i] = len(minifat)
            minifat += _chain(len(minifat), n)
            mini += data + b"\0" * (n * MINI - len(data))
    mini_sectors = -(-len(mini) // SECTOR)
    minifat_sectors = -(-len(minifat) * 4 // SECTOR)
    dir_sectors = -(-len(entries) * 128 // SECTOR)
    fat: list[int] = []
    fat += _chain(0, mini_sectors)
    fat += _chain(len(fat), minifat_sectors)
    dir_start = len(fat)
    fat += _chain(len(fat), dir_sectors)
    fat_start = len(fat)
    fat.append(FATSECT)
    assert len(fat) <= SECTOR // 4
    # children: right-sibling chains in name order
    children: dict[int, list[int]] = {}
    for i, e in enumerate(entries[1:], 1):
        parent = e[2]
        assert isinstance(parent, int)
        children.setdefault(parent, []).append(i)
    child_of: dict[int, int] = {}
    right_of: dict[int, int] = {}
    for parent, kids in children.items():
        kids.sort(key=lambda k: _order(str(entries[k][0])))
        child_of[parent] = kids[0]
        for a, b in itertools.pairwise(kids):
            right_of[a] = b
    directory = bytearray()
    for i, (name, kind, _, data) in enumerate(entries):
        assert isinstance(name, str)
        assert isinstance(kind, int)
        assert isinstance(data, bytes)
        raw_name = (name + "\0").encode("utf-16-le")
        if i == 0:
            start, size = (0 if mini else ENDOFCHAIN), len(mini)
        elif kind == 2:
            start, size = starts.get(i, ENDOFCHAIN), len(data)
        else:
            start, size = 0, 0
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ",
            raw_name, len(raw_name), kind, 1, NOSTREAM, right_of.get(i, NOSTREAM),
            child_of.get(i, NOSTREAM), b"\0" * 16, 0, 0, 0, start, size,
        )
    directory += b"\0" * (dir_sectors * SECTOR - len(directory))
    for j in range(len(entries), dir_sectors * 4):  # unused entries: empty, no siblings
        off = j * 128
        directory[off + 68 : off + 80] = struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6,
        0, 1, dir_start, 0, 4096,
        mini_sectors if minifat_sectors else ENDOFCHAIN, minifat_sectors, ENDOFCHAIN, 0,
    )
    header += struct.pack("<109I", fat_start, *([FREESECT] * 108))
    body = bytearray(mini + b"\0" * (mini_sectors * SECTOR - len(mini)))
    mf = b"".join(struct.pack("<I", x) for x in minifat)
    body += mf + struct.pack("<I", FREESECT) * ((minifat_sectors * SECTOR - len(mf)) // 4)
    body += directory
    body += b"".join(struct.pack("<I", x) for x in fat)
    body += struct.pack("<I", FREESECT) * (SECTOR // 4 - len(fat))
    return header + bytes(body)
