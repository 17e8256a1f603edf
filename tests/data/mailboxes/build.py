"""Builds every fixture of this folder, deterministically: `python tests/data/mailboxes/build.py`.

Every ``Received`` value below is copied verbatim (folding kept) from
``shared/reference/received-formats.md``; the section and original source are in the comment
beside it and in README.md. The other header fields use reserved example domains.
"""

from __future__ import annotations

import gzip
import itertools
import random
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent

# §3.5, PUBLIC-LIST (list linux-mm@kvack.org)
R_GOOGLE_INTERNAL = """Received: from mail-sor-f65.google.com (mail-sor-f65.google.com. [209.85.220.65])
        by mx.google.com with SMTPS id z4-v6sor3890102lfh.21.2018.10.16.10.44.19
        for <linux-mm@kvack.org>
        (Google Transport Security);
        Tue, 16 Oct 2018 10:44:20 -0700 (PDT)"""
# §3.5, ARCH-USRP@954d03faad2e
R_GMAIL = """Received: from [192.168.101.110] ([102.220.209.175])
        by smtp.gmail.com with ESMTPSA id ffacd0b85a97d-3b910180aebsm7202456f8f.59.2025.08.13.00.25.32
        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);
        Wed, 13 Aug 2025 00:25:33 -0700 (PDT)"""
# §3.1, PUBLIC-LIST (list git@vger.kernel.org, 2005)
R_SUSE_3DES = """Received: from extimap.suse.de (extimap.suse.de [195.135.220.6])
\t(using TLSv1 with cipher EDH-RSA-DES-CBC3-SHA (168/168 bits))
\t(No client certificate requested)
\tby mx2.suse.de (Postfix) with ESMTP id 646069EAC;
\tWed,  4 May 2005 17:56:25 +0200 (CEST)"""
# §3.3, ARCH-USRP@a78781dfda4f
R_EXIM_NEW = """Received: from [147.188.128.54] (helo=mailer3)
\tby sun61.bham.ac.uk with esmtps  (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
\t(Exim 4.97.1)
\t(envelope-from <d.white.4@bham.ac.uk>)
\tid 1tf2r0-000000005BD-FtAs;
\tMon, 03 Feb 2025 20:15:34 +0000"""
# §3.3, ARCH-USRP@d57d9f29f322
R_EXIM_OLD = """Received: from mail-qv1-f42.google.com ([209.85.219.42]:35518)
 by mm2.emwd.com with esmtps (TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256:128)
 (Exim 4.92) (envelope-from <patchvonbraun@gmail.com>)
 id 1j6Pcq-0007rG-GT
 for usrp-users@lists.ettus.com; Mon, 24 Feb 2020 21:07:08 -0500"""
# §3.1, ARCH-USRP@aa7751badd2f
R_POSTFIX_LRZ = """Received: from BADWLRZ-SWEX11B.ads.mwn.de (BADWLRZ-SWEX11B.ads.mwn.de [IPv6:2001:4ca0:0:108::171])
\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))
\t(No client certificate requested)
\tby postout2.mail.lrz.de (Postfix) with ESMTPS id 4gpx656NxWzygc;
\tMon, 29 Jun 2026 21:23:57 +0200 (CEST)"""
# §3.4, ARCH-USRP@aa7ea070af4f
R_EXCHANGE = """Received: from CH0PR10MB5179.namprd10.prod.outlook.com (2603:10b6:610:c7::21)
 by CH0PR10MB7534.namprd10.prod.outlook.com (2603:10b6:610:190::17) with
 Microsoft SMTP Server (version=TLS1_2,
 cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.21.181.10; Fri, 3 Jul
 2026 10:39:20 +0000"""
# §3.2, ARCH-USRP@aa7ea070af4f (two lines of the same message)
R_PPS = """Received: from cy7pr03cu001.outbound.protection.outlook.com (mail-westcentralusazon11010071.outbound.protection.outlook.com [40.93.198.71])
\tby mx0b-00300601.pphosted.com (PPS) with ESMTPS id 4f69fbgv99-1
\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)
\tfor <usrp-users@lists.ettus.com>; Fri, 03 Jul 2026 10:39:23 +0000 (GMT)"""
R_PPS_FILTER = """Received: from pps.filterd (m0484888.ppops.net [127.0.0.1])
\tby mx0b-00300601.pphosted.com (8.18.1.11/8.18.1.11) with ESMTP id 6639lIxE1132588
\tfor <usrp-users@lists.ettus.com>; Fri, 3 Jul 2026 10:39:23 GMT"""
# §3.6, ARCH-HAMS@5fa887c4bf51
R_OPENSMTPD = """Received: by mail.zx2c4.com (ZX2C4 Mail Server) with ESMTPSA id d3107c28 (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO);
        Thu, 6 Oct 2022 13:07:40 +0000 (UTC)"""
# §3.8, PUBLIC-LIST (py4e mbox-short.txt)
R_CYRUS = (
    "Received: from murder (mail.umich.edu [141.211.14.90]) by frankenstein.mail.umich.edu"
    " (Cyrus v2.3.8) with LMTPA; Sat, 05 Jan 2008 09:14:16 -0500"
)
# §3.2, ARCH-USRP@6e2b14fef6b5
R_SENDMAIL = """Received: from mail-io1-f72.google.com (mail-io1-f72.google.com
 [209.85.166.72])
 by sendprodmail11.cc.columbia.edu (8.14.4/8.14.4) with ESMTP id 10JIN9NW033531
 (version=TLSv1/SSLv3 cipher=AES128-GCM-SHA256 bits=128 verify=NOT)
 for <usrp-users@lists.ettus.com>; Tue, 19 Jan 2021 13:23:10 -0500"""
# §3.4, ARCH-USRP@e05326e811d0
R_EXCH_TLS = """Received: from EIS-LS2-EP06147.forces.mil.ca (10.240.27.15) by
 IMG-LSL-EP00895.forces.mil.ca (10.68.4.30) with Microsoft SMTP Server (TLS)
 id 14.3.408.0; Mon, 2 Nov 2020 08:23:49 -0500"""
# §3.4, ARCH-OBMC@a46b8d32fb48
R_EXCH_PLAIN = """Received: from localhost.localdomain (211.20.1.79) by
 SG1PEPF000082E4.mail.protection.outlook.com (10.167.240.7) with Microsoft
 SMTP Server id 15.20.8398.14 via Frontend Transport; Fri, 7 Feb 2025 06:51:59
 +0000"""
# §3.1, ARCH-USRP@4aa1de6e9b70
R_POSTFIX_OLD = """Received: from [149.139.33.244] (hydra-pc.ifac.cnr.it [149.139.33.244])
\t(using TLSv1 with cipher AES128-SHA (128/128 bits))
\t(No client certificate requested)
\tby mailsrv.ifac.cnr.it (Postfix) with ESMTP id E7900905006C
\tfor <usrp-users@lists.ettus.com>; Fri,  2 Feb 2024 09:21:54 +0100 (CET)"""

# --- a minimal OLE compound file writer, for the .msg fixtures -----------------------------
# A minimal writer of OLE compound files ([MS-CFB] version 3), enough to build a .msg fixture.
#
# Every stream is stored in the mini stream (all are under the 4096-byte cutoff), the tree of
# each storage is a right-sibling chain in [MS-CFB] 2.6.4 name order (length, then upper case),
# and one FAT sector maps everything. Readers (olefile, extract-msg) do not check red-black
# colouring, so every entry is black.

SECTOR = 512
MINI = 64
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _order(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def _chain(start: int, count: int) -> list[int]:
    return [start + i + 1 for i in range(count - 1)] + [ENDOFCHAIN] if count else []


def build_cfb(streams: dict[str, bytes]) -> bytes:
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


# Separator lines, real forms (see analyzer/sources/kinds.py for the sources).
SEP_TAKEOUT = "From 1545668983435175434@xxx Fri Sep 16 22:26:51 +0000 2016"
SEP_TAKEOUT_OLD = "From 1457861861978585811@xxx Tue Jan 21 05:30:14 2014"
SEP_TAKEOUT_2025 = "From 182625943453455425@xxx Tue Mar 11 01:31:25 +0000 2025"
SEP_TBIRD = "From - Tue Oct 10 12:34:56 2023"
SEP_IETNG = "From - no-reply@cc.yahoo-inc.com  Mon Oct 16 2023 16:18:56 GMT-0700"
SEP_CLASSIC = "From stephen.marquard@uct.ac.za Sat Jan  5 09:14:16 2008"
SEP_CLASSIC_2 = "From louis@media.berkeley.edu Fri Jan  4 18:10:48 2008"


def msg(received: list[str], extra: str, body: str) -> str:
    """A message: the Received headers on top, then ``extra`` fields, a blank line, ``body``."""
    return "\n".join([*received, extra.strip("\n"), "", body])


def attachment(seed: int, size: int) -> str:
    rnd = random.Random(seed)
    import base64

    return base64.encodebytes(bytes(rnd.getrandbits(8) for _ in range(size))).decode()


TAKEOUT = [
    (SEP_TAKEOUT, msg(
        [R_GOOGLE_INTERNAL, R_GMAIL],
        """X-GM-THRID: 1545668983435175434
X-Gmail-Labels: Inbox,Important
Message-ID: <takeout-1@example.org>
Date: Fri, 16 Sep 2016 22:26:51 +0000
From: =?UTF-8?Q?J=C3=B6rg_Example?= <joerg@example.org>
To: Alice <alice@example.net>
Subject: =?UTF-8?B?R3LDvMOfZQ==?= with a forwarded message
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"
""",
        f"""--b1
Content-Type: text/plain; charset=UTF-8

From the old days we kept this line unquoted (mboxo).
From - is not a date either
--b1
Content-Type: message/rfc822

{R_SUSE_3DES}
Message-ID: <inner@example.org>
Subject: the attached message has its own chain

inner body
--b1
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

{attachment(1, 3000)}--b1--
""")),
    (SEP_TAKEOUT_OLD, msg(
        [R_EXIM_NEW, R_EXIM_OLD],
        """X-GM-THRID: 1457861861978585811
X-Gmail-Labels: Inbox
Message-ID: <takeout-2@example.org>
Date: Tue, 21 Jan 2014 05:30:14 +0000
From: Bob <bob@example.org>
To: Alice <alice@example.net>
Subject: plain
""",
        "Short body.\n")),
    (SEP_TAKEOUT_2025, msg(
        [],
        """X-GM-THRID: 182625943453455425
X-Gmail-Labels: Sent
Message-ID: <takeout-3@example.org>
Date: Tue, 11 Mar 2025 01:31:25 +0000
From: Alice <alice@example.net>
To: Bob <bob@example.org>
Subject: a sent item has no Received header
""",
        "Sent from the web.\n")),
]

THUNDERBIRD = [
    (SEP_TBIRD, msg(
        [R_POSTFIX_LRZ],
        """X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
X-Mozilla-Keys:
Message-ID: <tb-1@example.org>
Subject: Thunderbird local folder
""",
        "Body one.\n\n")),
    (SEP_TBIRD, msg(
        [R_EXCHANGE, R_PPS, R_PPS_FILTER],
        """X-Mozilla-Status: 0011
X-Mozilla-Status2: 00000000
Message-ID: <tb-2@example.org>
Subject: three hops
""",
        "Body two.\n\n")),
    (SEP_IETNG, msg(
        [R_OPENSMTPD],
        """X-Mozilla-Status: 0001
Message-ID: <tb-3@example.org>
Subject: exported by ImportExportTools NG
""",
        "Body three.\n")),
]

MBOXRD = [
    (SEP_CLASSIC, msg(
        [R_CYRUS],
        """Return-Path: <postmaster@collab.sakaiproject.org>
Message-ID: <rd-1@example.org>
Subject: mboxrd quoting
""",
        ">From the archive: a quoted body line\n>>From a doubly quoted one\n\n")),
    (SEP_CLASSIC_2, msg(
        [R_POSTFIX_OLD],
        """Message-ID: <rd-2@example.org>
Subject: second
""",
        "last body\n")),
]

CRLF = [
    (SEP_TAKEOUT, msg(
        [R_SENDMAIL],
        """Message-ID: <crlf-1@example.org>
Subject: CRLF line ends
""",
        "From here on the body has an unquoted From line.\n\n")),
    (SEP_TAKEOUT_OLD, msg(
        [R_EXCH_TLS],
        """Message-ID: <crlf-2@example.org>
Subject: second CRLF
""",
        "end\n")),
]


def mbox(messages: list[tuple[str, str]], crlf: bool = False) -> bytes:
    text = "".join(f"{sep}\n{body}" if body.endswith("\n") else f"{sep}\n{body}\n"
                   for sep, body in messages)
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")


def eml(received: list[str], extra: str, body: str, crlf: bool = False) -> bytes:
    text = msg(received, extra, body)
    return (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")


def msg_file(headers: str | None, cls: str = "IPM.Note") -> bytes:
    def u(s: str) -> bytes:
        return s.encode("utf-16-le")

    # [MS-OXMSG] 2.4.1.1: 32-byte header, then 16-byte property entries; 0x340D0003
    # PidTagStoreSupportMask with STORE_UNICODE_OK (0x40000): strings are UTF-16LE (001F).
    props = b"\0" * 32 + struct.pack("<IIQ", 0x340D0003, 0x6, 0x40000)
    streams = {
        "__properties_version1.0": props,
        "__substg1.0_001A001F": u(cls),
        "__substg1.0_0037001F": u("Outlook item"),
        "__nameid_version1.0/__substg1.0_00020102": b"",
        "__nameid_version1.0/__substg1.0_00030102": b"",
        "__nameid_version1.0/__substg1.0_00040102": b"",
    }
    if headers is not None:
        streams["__substg1.0_007D001F"] = u(headers)
    return build_cfb(streams)


def write(rel: str, data: bytes) -> None:
    path = HERE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main() -> None:
    write("takeout.mbox", mbox(TAKEOUT))
    write("thunderbird.mbox", mbox(THUNDERBIRD))
    write("mboxrd.mbox", mbox(MBOXRD))
    write("crlf.mbox", mbox(CRLF, crlf=True))
    write("takeout.mbox.gz", gzip.compress(mbox(TAKEOUT), mtime=0))
    write("maildir/cur/1700000000.M1P1.host:2,S",
          eml([R_POSTFIX_OLD], "Message-ID: <md-1@example.org>\nSubject: seen", "a\n"))
    write("maildir/new/1700000001.M2P2.host",
          eml([R_EXCH_PLAIN], "Message-ID: <md-2@example.org>\nSubject: new", "b\n"))
    write("maildir/tmp/1700000002.M3P3.host",
          eml([R_CYRUS], "Message-ID: <md-tmp@example.org>\nSubject: in delivery", "c\n"))
    write("maildir/dovecot-uidlist", b"3 V1700000000 N3\n")
    write("maildir/.Sent/cur/1700000003.M4P4.host:2,S",
          eml([], "Message-ID: <md-sent@example.org>\nSubject: sent, no Received", "d\n"))
    write("maildir/.Sent/new/.keep", b"")
    write("maildir/.Sent/tmp/.keep", b"")
    write("maildir/new/.keep", b"")
    write("maildir/tmp/.keep", b"")
    write("eml-tree/a.eml",
          eml([R_EXCH_TLS], "Message-ID: <eml-a@example.org>\nSubject: a", "a\n"))
    write("eml-tree/sub/b.eml",
          eml([R_SUSE_3DES], "Message-ID: <eml-b@example.org>\nSubject: b", "b\n", crlf=True))
    write("eml-tree/sub/deeper/c.eml",
          eml([R_CYRUS], "Message-ID: <eml-c@example.org>\nSubject: c", "c\n"))
    write("eml-tree/sub/notes.txt", b"Nov 24 12:00:00 host postfix/smtpd[1]: not a message\n")
    outlook_headers = "\r\n".join([R_EXCHANGE, R_EXCH_TLS, "Message-ID: <msg-1@example.org>",
                                   "Subject: Outlook"]).replace("\n", "\r\n").replace("\r\r", "\r")
    write("outlook/received.msg", msg_file(outlook_headers + "\r\n\r\n"))
    write("outlook/draft.msg", msg_file(None))
    write("broken/not-outlook.ole", build_cfb({"WordDocument": b"\0" * 100}))
    trunc = mbox(MBOXRD[:1]) + (SEP_CLASSIC_2 + "\n" + R_POSTFIX_OLD[:120]).encode()
    write("broken/truncated.mbox", trunc)
    runs = (f"{SEP_TBIRD}\n{R_CYRUS}\nSubject: cut, no blank line\n"
            f"{SEP_TBIRD}\n{R_OPENSMTPD}\nSubject: next\n\nbody\n")
    write("broken/runs-into-next.mbox", runs.encode())
    nul = mbox([(SEP_TBIRD, msg([R_CYRUS.replace("murder", "mur\0der")],
                                "Subject: NUL\0byte", "x\n"))])
    write("broken/nul.mbox", nul)
    # Latin-1 bytes where UTF-8 is due: one in a Received value, one in the Subject.
    bad = mbox([(SEP_TBIRD, msg([R_CYRUS.replace("murder", "mur@@der")],
                                "Subject: caf@@ au lait", "x\n"))])
    write("broken/bad-utf8.mbox", bad.replace(b"mur@@der", b"mur\xffder").replace(b"@@", b"\xe9"))
    rnd = random.Random(7)
    write("broken/junk.bin", b"\x00\x01junk" + bytes(rnd.getrandbits(8) for _ in range(4096)))
    write("broken/store.pst", b"!BDN" + b"\0" * 508)
    # Dateless separators ("From -", "From " alone: thunderbird/import-export-tools-ng #215,
    # apache/ponymail #190) between messages, mixed with a dated one; the prose "From the
    # team:" paragraph and a "From -" body line not followed by a header must stay in bodies.
    dateless = (
        f"From -\n{R_CYRUS}\nSubject: dateless one\n\nFrom the team:\nNote: not a header block\n\n"
        f"From \n{R_POSTFIX_OLD}\nSubject: dateless two\n\nbody\nFrom -\nstill body\n\n"
        f"{SEP_TBIRD}\n{R_OPENSMTPD}\nSubject: dated\n\nbody\n\n"
        f"From MAILER-DAEMON\n{R_EXCH_TLS}\nSubject: dateless three\n\nend\n"
    )
    write("dateless.mbox", dateless.encode())
    full = gzip.compress(mbox(TAKEOUT), mtime=0)
    write("broken/cut.mbox.gz", full[: len(full) // 2])


if __name__ == "__main__":
    main()
