"""A discrete-event simulation on top of mxhandles: clients, a server, ports.

Run it from the repository root:  python examples/des_scheduler.py [--seed N]

mxhandles is a kernel without a CPU.  This file is the CPU: a scheduler
loop with a *virtual* clock that runs simulated processes one at a time,
in one Python thread, so the whole run -- the trace, the handle values, the
koids -- is a pure function of the seed.

  * A simulated process is a Python generator.  It makes real syscalls as
    its own `Process`, and yields to the scheduler when it would block:
    `yield BLOCK` (until a packet for it arrives on the port) or
    `yield Sleep(ms)` (virtual time passes: thinking, serving).
  * Every process shares one port.  init (the scheduler) creates it and
    hands each process a copy with only RIGHT_WRITE inside its bootstrap
    message; a process asks for wake-ups with mx_object_wait_async(handle,
    port, key, ...), where the key names the process.
  * The loop drains the port with mx_port_wait(port, deadline=0), never
    blocking.  When the port is empty, nothing can happen until the next
    timer: the clock jumps there and the timer is queued on the port as a
    user packet (mx_port_queue), in order with the signal packets.

The system: a server and three clients.  Each client, a few times, thinks
for a while, creates an event, sends the server a request carrying a
duplicate of the event (write and transfer rights only), and blocks until
the server signals the event.  The server serves requests one at a time,
each taking some virtual time.  Clients exit when done; the server sees
PEER_CLOSED on their channels and exits with the number of requests served.
init waits on TASK_TERMINATED for everyone, closes its handles, and checks
that the kernel is back at its baseline.
"""
import argparse
import heapq
import random
import struct
from collections import deque

import mxhandles as mx

CLIENTS = 3
REQUESTS_PER_CLIENT = 3
BLOCK = "block"                  # yield BLOCK: wait for a packet


class Sleep:
    """yield Sleep(ms): let `ms` milliseconds of virtual time pass."""

    def __init__(self, ms):
        self.ms = ms


# A port key names a process (its pid, 1 ..) and a tag of its own choosing.
TAG_START, TAG_TIMER = 0xFE, 0xFF


def key_of(pid, tag):
    return pid << 8 | tag


class Simulation:
    """The scheduler: a virtual clock, timers, and the processes it runs."""

    def __init__(self, seed):
        self.rng = random.Random(seed)      # think and service times
        self.now = 0                        # virtual milliseconds
        self.timers = []                    # heap of (time, seq, pid)
        self.seq = 0
        self.procs = {}                     # pid -> SimProcess
        self.next_pid = 1
        self.kernel = mx.Kernel(seed=seed,
                                on_process_start=self.on_process_start)
        self.init = self.kernel.init
        self.baseline = self.kernel.stats()   # root job, init, its thread
        self.port = self.init.mx_port_create()
        self.starting = {}                  # koid -> (pid, program, args)

    def log(self, who, text):
        print("[%5d ms] %-9s %s" % (self.now, who, text))

    # -- starting processes -------------------------------------------------

    def spawn(self, name, program, handles, *args):
        """init creates and starts process `name` running `program`; its
        bootstrap message carries a write-only copy of the port and then
        `handles`.  Returns the pid."""
        init = self.init
        proc = init.mx_process_create(init.mx_job_default(), name)
        thread = init.mx_thread_create(proc, "main")
        mine, theirs = init.mx_channel_create()
        port_copy = init.mx_handle_duplicate(
            self.port, mx.RIGHT_WRITE | mx.RIGHT_TRANSFER)
        init.mx_channel_write(mine, b"bootstrap", [port_copy] + handles)
        init.mx_handle_close(mine)          # the message stays queued
        pid = self.next_pid
        self.next_pid += 1
        koid = init.mx_object_get_info(proc, mx.INFO_HANDLE_BASIC).koid
        self.starting[koid] = (pid, program, args)
        init.mx_process_start(proc, thread, program.__name__, None, theirs,
                              pid)
        # init keeps the process and thread handles (a thread whose last
        # handle goes dies, and with it a one-thread process), and waits
        # for the end on the port, under its own pid 0.
        init.mx_object_wait_async(proc, self.port, key_of(0, pid),
                                  mx.TASK_TERMINATED, mx.WAIT_ASYNC_ONCE)
        self.procs[pid].handles = (proc, thread)
        return pid

    def on_process_start(self, process, start_info):
        # The kernel calls this right after mx_process_start.
        pid, program, args = self.starting.pop(process.koid)
        env = Env(self, pid, process.name)
        gen = program(process, start_info.arg1, env, *args)
        self.procs[pid] = SimProcess(process, gen, env)
        self.log("kernel", "started %s (pid %d, koid %d), bootstrap handle %#010x"
                 % (process.name, pid, process.koid, start_info.arg1))
        # Make it runnable now: a START packet for it on the port.
        self.init.mx_port_queue(self.port,
                                mx.PortPacket(key_of(pid, TAG_START)))

    # -- the loop -------------------------------------------------------------

    def run(self):
        exits = {}
        while True:
            try:
                pkt = self.init.mx_port_wait(self.port, 0)   # never blocks
            except mx.TimedOutError:
                if not self.timers:
                    break                   # nothing left to happen
                at, _, pid = heapq.heappop(self.timers)
                self.now = at               # jump to the next event
                self.init.mx_port_queue(self.port,
                                        mx.PortPacket(key_of(pid, TAG_TIMER)))
                continue
            pid, tag = pkt.key >> 8, pkt.key & 0xFF
            if pid == 0:                    # init's own wait: a process ended
                sp = self.procs[tag]
                info = self.init.mx_object_get_info(sp.handles[0],
                                                    mx.INFO_PROCESS)
                exits[sp.env.name] = info.return_code
                self.log("init", "%s ended: TASK_TERMINATED, return code %d"
                         % (sp.env.name, info.return_code))
                self.init.mx_handle_close_many(sp.handles)
                continue
            self.deliver(self.procs[pid], pid, pkt)
        return exits

    def deliver(self, sp, pid, pkt):
        """Hands a packet to a process, or keeps it until the process
        blocks (a packet that arrives while it sleeps waits in its inbox)."""
        if sp.done:
            return
        if pkt.key & 0xFF == TAG_TIMER or sp.state == "new":
            self.resume(sp, pid, None)
        elif sp.state == BLOCK:
            self.resume(sp, pid, pkt)
        else:
            sp.inbox.append(pkt)

    def resume(self, sp, pid, value):
        """Runs a process until it yields; handles what it yielded."""
        while True:
            try:
                request = sp.gen.send(value)
            except StopIteration:
                sp.done = True
                return
            if isinstance(request, Sleep):
                sp.state = "sleep"
                self.seq += 1
                heapq.heappush(self.timers,
                               (self.now + request.ms, self.seq, pid))
                return
            sp.state = BLOCK
            if not sp.inbox:
                return
            value = sp.inbox.popleft()      # already has a packet


class SimProcess:
    __slots__ = ("process", "gen", "env", "state", "inbox", "done",
                 "handles")

    def __init__(self, process, gen, env):
        self.process, self.gen, self.env = process, gen, env
        self.state, self.inbox, self.done = "new", deque(), False
        self.handles = ()


class Env:
    """What a simulated process may ask of the simulation: its keys, the
    virtual time, random numbers and the trace."""

    def __init__(self, sim, pid, name):
        self.sim, self.pid, self.name = sim, pid, name

    def key(self, tag):
        return key_of(self.pid, tag)

    @property
    def now(self):
        return self.sim.now

    def randint(self, lo, hi):
        return self.sim.rng.randint(lo, hi)

    def log(self, text):
        self.sim.log(self.name, text)


# -- the simulated programs ----------------------------------------------------

def server(me, boot, env):
    _, handles = me.mx_channel_read(boot)
    port, channels = handles[0], dict(enumerate(handles[1:]))
    for i, ch in channels.items():          # one repeating wait per client
        me.mx_object_wait_async(ch, port, env.key(i), mx.CHANNEL_READABLE
                                | mx.CHANNEL_PEER_CLOSED,
                                mx.WAIT_ASYNC_REPEATING)
    pending, served = deque(), 0
    env.log("serving %d clients" % len(channels))
    while True:
        for i in sorted(channels):          # take whatever has arrived
            ch = channels[i]
            while True:
                try:
                    data, evs = me.mx_channel_read(ch)
                except mx.ShouldWaitError:
                    break
                except mx.PeerClosedError:
                    env.log("client %d hung up" % i)
                    me.mx_port_cancel(port, ch, env.key(i))
                    me.mx_handle_close(ch)
                    del channels[i]
                    break
                pending.append((i, struct.unpack("<I", data)[0], evs[0]))
        if not pending:
            if not channels:
                break
            yield BLOCK                     # any packet: look again
            continue
        i, seq, ev = pending.popleft()
        work = env.randint(2, 6)
        env.log("serving client %d request %d (%d ms, %d queued)"
                % (i, seq, work, len(pending)))
        yield Sleep(work)
        me.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)   # "done"
        me.mx_handle_close(ev)
        served += 1
    env.log("no clients left, served %d requests" % served)
    me.mx_process_exit(served)


def client(me, boot, env, n):
    _, (port, ch) = me.mx_channel_read(boot)
    for seq in range(1, n + 1):
        yield Sleep(env.randint(1, 15))     # think
        ev = me.mx_event_create()
        theirs = me.mx_handle_duplicate(ev, mx.RIGHT_WRITE | mx.RIGHT_TRANSFER)
        me.mx_channel_write(ch, struct.pack("<I", seq), [theirs])
        me.mx_object_wait_async(ev, port, env.key(1), mx.EVENT_SIGNALED,
                                mx.WAIT_ASYNC_ONCE)
        sent = env.now
        env.log("request %d sent (event handle %#010x here)" % (seq, ev))
        pkt = yield BLOCK
        assert pkt.signal.observed & mx.EVENT_SIGNALED
        env.log("request %d done after %d ms" % (seq, env.now - sent))
        me.mx_handle_close(ev)
    me.mx_process_exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2017)
    seed = parser.parse_args().seed

    sim = Simulation(seed)
    init = sim.init
    baseline = sim.baseline
    ends = [init.mx_channel_create() for _ in range(CLIENTS)]
    sim.spawn("server", server, [s for _, s in ends])
    for i, (c, _) in enumerate(ends):
        sim.spawn("client-%d" % i, client, [c], REQUESTS_PER_CLIENT)
    exits = sim.run()

    init.mx_handle_close(sim.port)
    collected = sim.kernel.collect()
    stats = sim.kernel.stats()
    print("virtual time %d ms; return codes %s; collect() reclaimed %d"
          % (sim.now, ", ".join("%s=%d" % kv for kv in sorted(exits.items())),
             collected))
    assert exits["server"] == CLIENTS * REQUESTS_PER_CLIENT, exits
    assert (stats.live_objects == baseline.live_objects
            and stats.live_handles == baseline.live_handles), stats
    print("kernel back at baseline: %d objects destroyed"
          % stats.destroyed_objects)


if __name__ == "__main__":
    main()
