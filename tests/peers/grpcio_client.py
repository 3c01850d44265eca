"""A grpcio (Python, grpc-core) proxyless xDS client for the interop tests.

Calls mesh.test.Echo/Echo on an `xds:///` target, resolved by grpc-core's own xDS
client from the bootstrap file named by GRPC_XDS_BOOTSTRAP, and prints one JSON line
saying which backend (EchoReply.server) answered each class of calls:

    {"jason": {"v2": 50}, "others": {"v1": 148, "v3": 152}, "errors": []}

No generated code: the two messages are tiny, so they are encoded and decoded here
(proto3, see mesh-testkit/src/echo.rs):

    message EchoRequest { bytes payload = 1; }
    message EchoReply   { bytes payload = 1; string server = 2; string grpc_timeout = 3; }

Usage: grpcio_client.py TARGET --jason N --others N [--timeout SECONDS]
"""

import argparse
import json
import random
import sys
import time

import grpc

METHOD = "/mesh.test.Echo/Echo"


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes, i: int) -> tuple[int, int]:
    n, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, i
        shift += 7


def encode_request(payload: bytes) -> bytes:
    # field 1, wire type 2 (length-delimited)
    return b"\x0a" + varint(len(payload)) + payload


def decode_reply(data: bytes) -> dict:
    fields, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire_type = key >> 3, key & 7
        if wire_type == 2:
            length, i = read_varint(data, i)
            fields[number] = data[i : i + length]
            i += length
        elif wire_type == 0:
            fields[number], i = read_varint(data, i)
        else:
            raise ValueError(f"unexpected wire type {wire_type} for field {number}")
    return {
        "payload": fields.get(1, b""),
        "server": fields.get(2, b"").decode(),
        "grpc_timeout": fields.get(3, b"").decode(),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--jason", type=int, default=50)
    parser.add_argument("--others", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=20.0, help="deadline of the first call")
    args = parser.parse_args()

    summary = {"jason": {}, "others": {}, "errors": []}
    deadline = time.monotonic() + args.timeout
    with grpc.insecure_channel(args.target) as channel:
        # Raw bytes in and out: no serializers.
        echo = channel.unary_unary(METHOD)

        def call(metadata, first):
            # The first call waits for the xDS resolution and a ready subchannel, bounded
            # by --timeout; the others fail fast.
            timeout = max(deadline - time.monotonic(), 0.1) if first else 5.0
            reply = echo(encode_request(b"ping"), metadata=metadata, timeout=timeout, wait_for_ready=first)
            return decode_reply(reply)["server"]

        plan = [("others", ())] * args.others + [("jason", (("end-user", "jason"),))] * args.jason
        # Interleave the two classes in a fixed pseudo-random order.
        random.Random(7).shuffle(plan)
        for i, (cls, metadata) in enumerate(plan):
            try:
                server = call(metadata, first=(i == 0))
            except grpc.RpcError as e:
                summary["errors"].append(f"{cls}: {e.code().name}: {e.details()}")
                if i == 0 or len(summary["errors"]) >= 10:
                    break
                continue
            summary[cls][server] = summary[cls].get(server, 0) + 1
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
