"""tfevents_read.py - an independent reader of TensorBoard event files, from
the TFRecord and protocol-buffer descriptions (not from pure's code): checks
both masked CRC-32C of every record (CRC computed bit by bit here), decodes
tensorflow.Event (wall_time, step, file_version, summary.value{tag,
simple_value}) and prints JSON: {"version": ..., "scalars": [[tag, step, value, wall_time], ...]}.

usage: python3 tfevents_read.py FILE
Exit 1 with a message on any malformed byte."""
import json
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def fields(buf):
    """Yields (field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 2:
            n, i = varint(buf, i)
            v = buf[i:i + n]
            i += n
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"wire type {wt}")
        if i > len(buf):
            raise ValueError("field runs past the message")
        yield num, wt, v


def read(path):
    data = open(path, "rb").read()
    out = {"version": None, "scalars": []}
    i = 0
    while i < len(data):
        if i + 12 > len(data):
            raise ValueError(f"truncated header at byte {i}")
        (length,) = struct.unpack_from("<Q", data, i)
        (hcrc,) = struct.unpack_from("<I", data, i + 8)
        if hcrc != masked(data[i:i + 8]):
            raise ValueError(f"length CRC mismatch at byte {i}")
        body = data[i + 12:i + 12 + length]
        (dcrc,) = struct.unpack_from("<I", data, i + 12 + length)
        if dcrc != masked(body):
            raise ValueError(f"data CRC mismatch at byte {i}")
        i += 12 + length + 4
        wall, step, summary = None, 0, None
        for num, wt, v in fields(body):
            if num == 1 and wt == 1:
                (wall,) = struct.unpack("<d", v)
            elif num == 2 and wt == 0:
                step = v
            elif num == 3 and wt == 2:
                out["version"] = v.decode()
            elif num == 5 and wt == 2:
                summary = v
        if summary is None:
            continue
        for num, wt, val in fields(summary):
            if num != 1:
                continue
            tag, value = None, None
            for n2, w2, v2 in fields(val):
                if n2 == 1 and w2 == 2:
                    tag = v2.decode()
                elif n2 == 2 and w2 == 5:
                    (value,) = struct.unpack("<f", v2)
            out["scalars"].append([tag, step, value, wall])
    return out


if __name__ == "__main__":
    try:
        print(json.dumps(read(sys.argv[1])))
    except Exception as e:  # noqa: BLE001 - a test tool: any failure is a malformed file
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
