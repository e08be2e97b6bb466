#!/usr/bin/python3
"""roost's guard in front of `borg serve --append-only` for a source host's backup key.

borg 1.2's append-only mode keeps deleted data on disk but lets `borg delete` and `borg prune`
from the client appear to succeed (the archives vanish from its list until someone rolls the
repository back by hand). This guard reads borg's RPC stream (msgpack) on its way to
`borg serve` and ends the connection, before anything is committed, when the client asks to
delete a chunk it did not write itself in this same connection (a checkpoint replacing its own
metadata is allowed), or to destroy the repository. So deleting or pruning archives from the
source fails; roost prunes from its own side.

Usage (an authorized_keys forced command): borg-serve-guard borg serve --append-only ...
"""

import os
import subprocess
import sys
import time

import msgpack  # type: ignore[import-untyped]

REFUSED = ("roost: this host may only add backups here; deleting or pruning archives is "
           "done from roost, not from the backed-up host\n")


def request(obj: object) -> tuple[object, object]:
    """(method, id) of one RPC request, both bytes or None."""
    if isinstance(obj, dict):
        method, args = obj.get(b"m"), obj.get(b"a")
        ident = args.get(b"id") if isinstance(args, dict) else None
    elif isinstance(obj, (list, tuple)) and len(obj) == 4:
        method, args = obj[2], obj[3]
        ident = args[0] if isinstance(args, (list, tuple)) and args else None
    else:
        return None, None
    return method, ident


def main() -> int:
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE)
    pipe = child.stdin
    assert pipe is not None
    unpacker = msgpack.Unpacker(raw=True, use_list=True, max_buffer_size=256 * 1024 * 1024)
    written: set[bytes] = set()
    buf = bytearray()
    base = 0  # the stream offset of buf[0]
    fd = sys.stdin.fileno()
    while True:
        data = os.read(fd, 1 << 20)
        if not data:
            break
        unpacker.feed(data)
        buf += data
        done = base
        for obj in unpacker:
            end = unpacker.tell()
            method, ident = request(obj)
            if method == b"put" and isinstance(ident, bytes):
                written.add(ident)
            elif method == b"destroy" or (method == b"delete" and ident not in written):
                sys.stderr.write(REFUSED)
                sys.stderr.flush()
                # borg's client prints the server's stderr as it reads it, but stops reading
                # at the end of stdout: give the line time to arrive before the connection ends
                time.sleep(1.0)
                child.kill()
                child.wait()
                return 2
            pipe.write(buf[done - base:end - base])
            done = end
        pipe.flush()
        del buf[:done - base]
        base = done
    pipe.close()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
