"""Simulated processes as asyncio coroutines, talking through mxhandles.aio.

Run it from the repository root:  python examples/asyncio_echo.py

init starts an echo server and three clients.  The kernel runs no code:
its on_process_start hook turns each started process into an asyncio task
running that process's coroutine, all in one event loop.  Every wait is an
await on the kernel -- no thread per waiter, no polling:

  * aio.channel_read(process, h) waits for a message (the server waits on
    all its connections at once, one coroutine each);
  * aio.wait_one(process, h, signals) waits for signals: each client waits
    for the server's acknowledgement on an event pair, and init waits for
    TASK_TERMINATED on every process it started.

Each client opens with a message carrying one end of an event pair (a
handle moving from client to server), sends a few words, awaits each echo,
says "bye", and waits until the server has signalled its end of the pair
and closed the other.  The
server counts the words, signals, hangs up, and exits with the total.
Finally init closes its handles and checks the kernel is back at its
baseline.  (The lines of different clients may interleave differently from
run to run: the kernel's wake-ups come from a dispatcher thread.)
"""
import asyncio

import mxhandles as mx
from mxhandles import aio

WORDS = {"client-0": [b"ping", b"pong"],
         "client-1": [b"hello", b"handles", b"world"],
         "client-2": [b"magenta"]}
TEN_SECONDS = 10 * 10**9


def say(who, text):
    print("%-9s %s" % (who + ":", text), flush=True)


async def server(me, boot):
    """Serves every connection whose channel end came in the bootstrap
    message; exits with the number of words echoed."""
    _, connections = await aio.channel_read(me, boot)
    say(me.name, "%d connections" % len(connections))
    counts = await asyncio.gather(*(serve(me, ch) for ch in connections))
    return sum(counts)


async def serve(me, ch):
    _, (bell,) = await aio.channel_read(me, ch)     # hello + an epair end
    words = 0
    while True:
        data, _ = await aio.channel_read(me, ch)
        if data == b"bye":
            break
        me.mx_channel_write(ch, data.upper())
        words += 1
    me.mx_object_signal_peer(bell, 0, mx.EPAIR_SIGNALED)   # acknowledged
    me.mx_handle_close_many([bell, ch])
    return words


async def client(me, boot):
    mine, theirs = me.mx_eventpair_create()
    me.mx_channel_write(boot, b"hello", [theirs])   # theirs leaves us
    for word in WORDS[me.name]:
        me.mx_channel_write(boot, word)
        reply, _ = await aio.channel_read(me, boot, deadline=mx.deadline_after(TEN_SECONDS))
        say(me.name, "sent %r, got %r" % (word.decode(), reply.decode()))
    me.mx_channel_write(boot, b"bye")
    # The server signals our end of the pair, then closes its own: wait
    # for the close, and find the signal asserted beside it.
    seen = await aio.wait_one(me, mine, mx.EPAIR_PEER_CLOSED,
                              mx.deadline_after(TEN_SECONDS))
    assert seen == mx.EPAIR_SIGNALED | mx.EPAIR_PEER_CLOSED, seen
    say(me.name, "server acknowledged and hung up "
        "(EPAIR_SIGNALED | EPAIR_PEER_CLOSED)")
    return 0


class System:
    """The "CPU": runs each started process's coroutine as an asyncio task."""

    def __init__(self):
        self.kernel = mx.Kernel(seed=2017,
                                on_process_start=self.on_process_start)
        self.init = self.kernel.init
        self.tasks = []

    def on_process_start(self, process, start_info):
        # Called in the starter's thread: here, the loop's.
        program = start_info.entry
        self.tasks.append(asyncio.get_running_loop().create_task(
            self.run(program, process, start_info.arg1)))

    @staticmethod
    async def run(program, process, boot):
        code = -1                            # a crash kills the process
        try:
            code = await program(process, boot)
        finally:
            process.mx_process_exit(code)    # its handles close
            # Its aio dispatcher thread stops by itself once it sees the
            # death; close() waits for that, so that the thread's hold on
            # the dispatcher's port is gone before init counts objects.
            aio.close(process)

    def spawn(self, name, program, bootstrap):
        init = self.init
        proc = init.mx_process_create(init.mx_job_default(), name)
        thread = init.mx_thread_create(proc, "main")
        init.mx_process_start(proc, thread, program, None, bootstrap, 0)
        return proc, thread                  # keep both: see simulators.md


async def main():
    system = System()
    init, kernel = system.init, system.kernel
    baseline = kernel.stats()

    # One channel per client; the server's ends travel in its bootstrap
    # message, each client's end is that client's bootstrap handle.
    pairs = [init.mx_channel_create() for _ in WORDS]
    boot_mine, boot_theirs = init.mx_channel_create()
    init.mx_channel_write(boot_mine, b"your connections",
                          [s for _, s in pairs])
    init.mx_handle_close(boot_mine)
    started = [("server",) + system.spawn("server", server, boot_theirs)]
    for name, (c, _) in zip(WORDS, pairs):
        started.append((name,) + system.spawn(name, client, c))

    # init awaits every process's end: signals, not polling.
    await asyncio.gather(*(aio.wait_one(init, proc, mx.TASK_TERMINATED,
                                        mx.deadline_after(TEN_SECONDS))
                           for _, proc, _ in started))
    await asyncio.gather(*system.tasks)
    for name, proc, thread in started:
        info = init.mx_object_get_info(proc, mx.INFO_PROCESS)
        say("init", "%s: TASK_TERMINATED, return code %d"
            % (name, info.return_code))
        init.mx_handle_close_many([proc, thread])
    aio.close(init)                          # init's dispatcher and port
    kernel.collect()
    stats = kernel.stats()
    assert stats.live_objects == baseline.live_objects, stats
    assert stats.live_handles == baseline.live_handles, stats
    say("init", "kernel back at baseline")


if __name__ == "__main__":
    asyncio.run(main())
