"""A tiny simulated system on top of mxhandles: init, a service and a client.

Run it from the repository root:  python examples/simulated_system.py

What happens:
  1. init makes a job and a channel, and starts two processes in the job,
     each with one end of the channel as its *bootstrap handle*.
  2. The client asks the service for an event with mx_channel_call; the
     service creates one and sends the handle back in its reply.
  3. The client says goodbye; the service replies and exits (code 7).
  4. Everyone notices: the client sees PEER_CLOSED on its channel, init
     sees TASK_TERMINATED on the service's process and reads its exit code.
  5. init closes everything and the kernel is back where it booted.

The kernel runs no code of its own.  This file is the "CPU": the kernel calls
on_process_start after each mx_process_start, and we answer by running the
new process's Python function in a Python thread, acting as that process.
"""
import struct
import threading

import mxhandles as mx

TEN_SECONDS = 10 * 10**9
_print_lock = threading.Lock()


def say(who, text):
    with _print_lock:
        print("%-8s %s" % (who + ":", text), flush=True)


class Simulator:
    """Maps process koids to Python functions and runs them when started."""

    def __init__(self):
        self.programs = {}       # koid of a process -> its "code"
        self.threads = []        # the Python threads running that code
        # A seed makes handle values and koids the same on every run.
        self.kernel = mx.Kernel(seed=2017,
                                on_process_start=self.on_process_start)

    def spawn(self, parent, job, name, program, bootstrap):
        """parent creates and starts process `name` in `job`, moving the
        handle `bootstrap` into it.  Returns (process handle, thread handle)."""
        proc = parent.mx_process_create(job, name)
        thread = parent.mx_thread_create(proc, "main")
        koid = parent.mx_object_get_info(proc, mx.INFO_HANDLE_BASIC).koid
        self.programs[koid] = program
        parent.mx_process_start(proc, thread, program.__name__, None,
                                bootstrap, 0)
        return proc, thread

    def on_process_start(self, process, start_info):
        # Called by the kernel in the caller's thread, right after a
        # successful mx_process_start.  start_info.arg1 is the bootstrap
        # handle's value *in the new process's* handle table.
        program = self.programs.pop(process.koid)
        say("kernel", "started %s (koid %d), its bootstrap handle is %#x"
            % (process.name, process.koid, start_info.arg1))
        t = threading.Thread(target=self.run, name=process.name,
                             args=(program, process, start_info.arg1))
        self.threads.append(t)
        t.start()

    @staticmethod
    def run(program, process, bootstrap):
        """Runs a process's code; returning from it is like returning from
        main (exit code 0), an exception is a crash (exit code -1)."""
        code = -1
        try:
            program(process, bootstrap)
            code = 0
        finally:
            try:
                process.mx_process_exit(code)
            except mx.MxError:      # it had exited already: BAD_STATE
                pass


def service(me, channel):
    """Answers requests on its bootstrap channel until told goodbye."""
    while True:
        seen = me.mx_object_wait_one(
            channel, mx.CHANNEL_READABLE | mx.CHANNEL_PEER_CLOSED,
            mx.deadline_after(TEN_SECONDS))
        if not seen & mx.CHANNEL_READABLE:
            return                              # the client went away
        request, _ = me.mx_channel_read(channel)
        txid, what = request[:4], request[4:]   # a call's first 4 bytes: txid
        if what == b"event please":
            event = me.mx_event_create()
            say("service", "created an event, sending handle %#x away" % event)
            # Writing the handle moves it: it leaves our table right here.
            me.mx_channel_write(channel, txid + b"here you are", [event])
        elif what == b"goodbye":
            me.mx_channel_write(channel, txid + b"bye")
            say("service", "exiting with return code 7")
            me.mx_process_exit(7)   # closes our handles, threads end
            return


def client(me, channel):
    """Asks the service for an event, uses it, and says goodbye."""
    reply, handles = me.mx_channel_call(channel, struct.pack("<I", 1) +
                                        b"event please")
    event = handles[0]
    info = me.mx_object_get_info(event, mx.INFO_HANDLE_BASIC)
    say("client", "got %r and event handle %#x (koid %d)"
        % (reply[4:].decode(), event, info.koid))
    me.mx_object_signal(event, 0, mx.EVENT_SIGNALED)     # it is ours to use
    me.mx_channel_call(channel, struct.pack("<I", 2) + b"goodbye")
    seen = me.mx_object_wait_one(channel, mx.CHANNEL_PEER_CLOSED,
                                 mx.deadline_after(TEN_SECONDS))
    if seen & mx.CHANNEL_PEER_CLOSED:
        say("client", "the service is gone (PEER_CLOSED on my channel)")
    # The handle outlives the process that created the event.
    state = me.mx_object_wait_one(event, mx.EVENT_SIGNALED, 0)
    say("client", "my event is still valid and signaled: %s"
        % bool(state & mx.EVENT_SIGNALED))
    # Returning ends the process with code 0 (see Simulator.run).


def main():
    sim = Simulator()
    k, init = sim.kernel, sim.kernel.init
    say("init", "booted: %s" % (k.stats().live_objects,))

    job = init.mx_job_create(init.mx_job_default())
    svc_end, cli_end = init.mx_channel_create()
    say("init", "made a job and a channel; starting service and client")
    svc, svc_thread = sim.spawn(init, job, "service", service, svc_end)
    cli, cli_thread = sim.spawn(init, job, "client", client, cli_end)

    # Block until each process has terminated: a signal the kernel asserts
    # on the process object when it dies (exit, kill, or last thread gone).
    for proc in (svc, cli):
        init.mx_object_wait_one(proc, mx.TASK_TERMINATED,
                                mx.deadline_after(TEN_SECONDS))
    for name, proc in (("service", svc), ("client", cli)):
        pi = init.mx_object_get_info(proc, mx.INFO_PROCESS)
        say("init", "%s: TASK_TERMINATED, exited=%s return_code=%d"
            % (name, pi.exited, pi.return_code))
    say("init", "processes left in the job: %s; live events: %d (the "
        "client's handles were closed when it exited)"
        % (init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES),
           k.stats().live_objects["event"]))

    for t in sim.threads:
        t.join()
    say("init", "closing my handles to the job, processes and threads")
    init.mx_handle_close_many([svc, svc_thread, cli, cli_thread, job])
    k.collect()
    st = k.stats()
    baseline = (st.live_handles == 1 and st.in_transit_handles == 0 and
                st.live_objects == {"event": 0, "eventpair": 0, "channel": 0,
                                    "port": 0, "job": 1, "process": 1,
                                    "thread": 1})
    say("init", "%d objects destroyed in all" % st.destroyed_objects)
    if not baseline:
        raise SystemExit("kernel NOT back at baseline: %r" % (st,))
    say("init", "kernel back at baseline: root job, init and its thread")


if __name__ == "__main__":
    main()
