#!/usr/bin/env python3
"""A Python peer of an ipcez app, built on the Python binding (bindings/python).

Usage:
  ipcez_peer.py listen <socket-path> [--count N] [--no-ack]
      serve; print "listening <path>"; echo every message back; after N messages
      (default: forever) close and exit 0.
  ipcez_peer.py send <socket-path> <message>... [--replies N] [--no-ack] [--ack-timeout S]
      connect, send each message, read N replies, print each as one line of UTF-8 text,
      exit 0. Exit 124 on an ack timeout, 1 when no server answers, 3 when the connection
      ends early.

The endpoint is local (target=local os=linux are passed explicitly). Install the binding with
`pip install ./bindings/python`; run from a clone, this script also finds it there.
"""

import os
import sys

try:
    import ipcez
except ImportError:  # not installed: use the clone's copy
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "bindings", "python", "src"))
    import ipcez

LOCAL = {"target": "local", "os": "linux"}


def listen(path, count, ack):
    with ipcez.listen(path, ack=ack, **LOCAL) as server:
        print("listening " + server.endpoint, flush=True)
        handled = 0
        for sock in server:
            with sock:
                for message in sock:
                    sock.send_message(message)
                    handled += 1
                    if count is not None and handled >= count:
                        return 0
    return 0


def send(path, messages, replies, ack, ack_timeout):
    try:
        sock = ipcez.connect(path, ack=ack, ack_timeout=ack_timeout, **LOCAL)
    except ipcez.IoError as error:
        print("no server at %s: %s" % (path, error), file=sys.stderr)
        return 1
    with sock:
        try:
            for message in messages:
                sock.send_message(message)
            for _ in range(replies):
                print(sock.read().decode("utf-8", "replace"), flush=True)
        except ipcez.RecipientAckTimeoutError as error:
            print(error, file=sys.stderr)
            return 124
        except ipcez.ConnectionLostError:
            print("connection closed before all replies arrived", file=sys.stderr)
            return 3
    return 0


def main(argv):
    args = list(argv)
    ack = "--no-ack" not in args
    args = [a for a in args if a != "--no-ack"]

    def option(name, default):
        if name in args:
            i = args.index(name)
            value = args[i + 1]
            del args[i : i + 2]
            return value
        return default

    count = option("--count", None)
    replies = int(option("--replies", "0"))
    ack_timeout = float(option("--ack-timeout", "5"))
    if len(args) < 2 or args[0] not in ("listen", "send"):
        print(__doc__, file=sys.stderr)
        return 64
    if args[0] == "listen":
        return listen(args[1], None if count is None else int(count), ack)
    return send(args[1], args[2:], replies, ack, ack_timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
