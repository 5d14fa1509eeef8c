"""Builds a small scene and draws it: docs/scene.dot and, when Graphviz's
``dot`` is installed, docs/scene.png.

    python docs/make_scene.py

The scene: init holds an event; a channel whose queue holds one message
carrying two handles (an event and the end of a second channel); an event
pair; and a 2-cycle of channels (each end's only handle sits in the other's
queue) that no process can reach any more, which ``k.collect()`` would
reclaim.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import mxhandles as mx

HERE = os.path.dirname(os.path.abspath(__file__))


def build() -> mx.Kernel:
    k = mx.Kernel(seed=2017)
    init = k.init

    init.mx_event_create()                                  # an event

    a, b = init.mx_channel_create()                         # a message in b's
    carried = init.mx_event_create()                        # queue with two
    c0, c1 = init.mx_channel_create()                       # handles
    init.mx_channel_write(a, b"hello", [carried, c1])

    init.mx_eventpair_create()                              # an event pair

    w0, r0 = init.mx_channel_create()                       # the 2-cycle:
    w1, r1 = init.mx_channel_create()                       # r0's queue holds
    init.mx_channel_write(w0, b"", [r1])                    # r1, r1's holds r0;
    init.mx_channel_write(w1, b"", [r0])                    # the writers go
    init.mx_handle_close_many([w0, w1])
    return k


def main() -> None:
    k = build()
    dot = k.to_dot()
    dot_path = os.path.join(HERE, "scene.dot")
    with open(dot_path, "w") as f:
        f.write(dot)
    print("wrote", dot_path)
    if shutil.which("dot"):
        png_path = os.path.join(HERE, "scene.png")
        subprocess.run(["dot", "-Tpng", "-Gdpi=110", dot_path, "-o", png_path],
                       check=True)
        print("wrote", png_path)
    else:
        print("Graphviz 'dot' not found: no PNG (try: dot -Tpng %s)" % dot_path)
    print("collect() would reclaim", k.collect(), "objects")


if __name__ == "__main__":
    main()
