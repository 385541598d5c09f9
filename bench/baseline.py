#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python baselines of bench/run: the seed program's world, multiprocessing.

Prints `bench <case> <impl> <metric>=<median> min=<x> max=<y>` lines like interproc_bench,
each the median of several rounds and their range:
  lock_contended_<N>p python_mp  N Processes (2, 4, 8, 16) adding 1 to a Value('l') under
                    get_lock(), the same total of increments for every N
  spawn_join        python_spawn start + join of a Process that touches a Value ('spawn')
  spawn_join        python_fork, python_forkserver: the same with the 'fork' and
                    'forkserver' start methods
  spawn_burst_<N>   python_spawn, python_fork, python_forkserver: N Processes (1, 8, 64)
                    started, then all joined (us per child)
  queue_1p1c, queue_4p1c  python_mp: 64-byte bytes through a Queue from 1 or 4 processes
  queue_strings     python_mp: str items of 16 B to 4 KiB (16, 32, ... 4096 in turn) from one
                    process through a Queue(1024)
  pingpong          python_mp    a round trip through two Events
  pipe_pingpong     python_mp    an int there and back over a Pipe (send / recv)
  pipe_bytes        python_mp    1 MiB messages from a child over a Pipe (send_bytes /
                    recv_bytes), GiB/s
  pool_map_square   python_pool_spawn / python_pool_fork: Pool(4).map(square, range(100000))
  pool_submit_roundtrip  python_pool_spawn / python_pool_fork: apply_async(square, (i,)).get(),
                    one at a time (us per round trip)
  pool_bytes        python_pool_spawn / python_pool_fork: Pool(4).map of an echo over 64 bytes
                    objects of 1 MiB (MiB per second)
  pool_map_tiny     python_pool_spawn / python_pool_fork: Pool(4).map of tasks that return
                    their argument, on a warm pool (us per task)
Only the work is timed, never this interpreter's own start.

    baseline.py [--quick]
"""
import multiprocessing as mp
import statistics
import sys
import time


def formatted(value):
    digits = 1 if value >= 100 else 2 if value >= 1 else 3
    return f"{value:.{digits}f}"


def report(case, impl, metric, samples):
    """The median of `samples`, then their range."""
    samples = list(samples)
    print(f"bench {case} {impl} {metric}={formatted(statistics.median(samples))}"
          f" min={formatted(min(samples))} max={formatted(max(samples))}", flush=True)


def contend_worker(counter, ready, go, ends, index, n):
    with ready.get_lock():
        ready.value += 1
    go.wait()
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1
    ends[index] = time.monotonic()


def contended_ns(ctx, procs, n):
    """ns per increment, `procs` processes doing n each at the same time."""
    counter, ready = ctx.Value('l', 0), ctx.Value('i', 0)
    go, ends = ctx.Event(), ctx.Array('d', procs)
    workers = [ctx.Process(target=contend_worker, args=(counter, ready, go, ends, i, n)) for i in range(procs)]
    for w in workers:
        w.start()
    while ready.value < procs:
        time.sleep(0.0005)
    start = time.monotonic()
    go.set()
    for w in workers:
        w.join()
    if counter.value != procs * n or any(w.exitcode != 0 for w in workers):
        raise RuntimeError("python_mp: a worker failed or lost increments")
    return (max(ends) - start) / (procs * n) * 1e9


def touch(value):
    with value.get_lock():
        value.value += 1


def start_join_us(ctx, value, children):
    """us per child: start and join `children` Processes, one after the other."""
    start = time.perf_counter()
    for _ in range(children):
        p = ctx.Process(target=touch, args=(value,))
        p.start()
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("a child failed")
    return (time.perf_counter() - start) / children * 1e6


def burst_us(ctx, value, children):
    """us per child: start `children` Processes, then join them all."""
    start = time.perf_counter()
    processes = [ctx.Process(target=touch, args=(value,)) for _ in range(children)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    if any(p.exitcode != 0 for p in processes):
        raise RuntimeError("a child failed")
    return (time.perf_counter() - start) / children * 1e6


def echo(x):
    return x


def square(x):
    return x * x


def square_us_per_item(pool, items):
    start = time.perf_counter()
    results = pool.map(square, range(items))
    if len(results) != items or results[-1] != (items - 1) ** 2:
        raise RuntimeError("Pool.map lost results")
    return (time.perf_counter() - start) / items * 1e6


def submit_us_per_round_trip(pool, trips):
    start = time.perf_counter()
    for i in range(trips):
        if pool.apply_async(square, (i,)).get() != i * i:
            raise RuntimeError("apply_async lost its result")
    return (time.perf_counter() - start) / trips * 1e6


def bytes_mib_per_s(pool):
    inputs = [b"q" * (1 << 20)] * 64
    start = time.perf_counter()
    results = pool.map(echo, inputs)
    if len(results) != 64 or results[-1] != inputs[-1]:
        raise RuntimeError("Pool.map lost bytes")
    return 64 / (time.perf_counter() - start)


def pool_us_per_task(pool, tasks):
    start = time.perf_counter()
    results = pool.map(echo, range(tasks))
    if len(results) != tasks or results[-1] != tasks - 1:
        raise RuntimeError("Pool.map lost results")
    return (time.perf_counter() - start) / tasks * 1e6


def queue_producer(q, n):
    item = bytes(64)
    for _ in range(n):
        q.put(item)


def queue_ns(ctx, producers, items):
    """ns per 64-byte item from `producers` processes to this one through a Queue."""
    q = ctx.Queue(1024)
    workers = [ctx.Process(target=queue_producer, args=(q, items // producers)) for _ in range(producers)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for _ in range(items // producers * producers):
        q.get()
    elapsed = time.perf_counter() - start
    for w in workers:
        w.join()
    return elapsed / items * 1e9


STRING_SIZES = [16 << k for k in range(9)]  # 16 B to 4 KiB


def string_producer(q, n):
    items = ["s" * size for size in STRING_SIZES]
    for i in range(n):
        q.put(items[i % len(items)])


def queue_strings_ns(ctx, items):
    """ns per str item of 16 B to 4 KiB from one process to this one through a Queue."""
    q = ctx.Queue(1024)
    worker = ctx.Process(target=string_producer, args=(q, items))
    start = time.perf_counter()
    worker.start()
    for i in range(items):
        if len(q.get()) != STRING_SIZES[i % len(STRING_SIZES)]:
            raise RuntimeError("queue_strings: an item lost or changed")
    elapsed = time.perf_counter() - start
    worker.join()
    return elapsed / items * 1e9


def pong(ping, pong_event, trips):
    for _ in range(trips):
        ping.wait()
        ping.clear()
        pong_event.set()


def pingpong_ns(ctx, trips):
    """ns per round trip through two Events."""
    ping, pong_event = ctx.Event(), ctx.Event()
    p = ctx.Process(target=pong, args=(ping, pong_event, trips))
    p.start()
    start = time.perf_counter()
    for _ in range(trips):
        ping.set()
        pong_event.wait()
        pong_event.clear()
    elapsed = time.perf_counter() - start
    p.join()
    return elapsed / trips * 1e9


def pipe_pong(conn, trips):
    conn.send(conn.recv())
    for _ in range(trips):
        conn.send(conn.recv() + 1)


def pipe_pingpong_ns(ctx, trips):
    """ns per round trip of an int over a Pipe."""
    left, right = ctx.Pipe()
    p = ctx.Process(target=pipe_pong, args=(right, trips))
    p.start()
    right.close()
    left.send(0)
    left.recv()
    start = time.perf_counter()
    value = 0
    for _ in range(trips):
        left.send(value)
        value = left.recv()
    elapsed = time.perf_counter() - start
    p.join()
    return elapsed / trips * 1e9


def pipe_source(conn, size, messages):
    block = bytes(size)
    conn.send(0)
    conn.recv()
    for _ in range(messages):
        conn.send_bytes(block)


def pipe_bytes_gib_per_s(ctx, size, messages):
    """GiB/s of `messages` messages of `size` bytes from a child over a Pipe."""
    left, right = ctx.Pipe()
    p = ctx.Process(target=pipe_source, args=(right, size, messages))
    p.start()
    right.close()
    left.recv()
    start = time.perf_counter()
    left.send(1)
    total = sum(len(left.recv_bytes()) for _ in range(messages))
    elapsed = time.perf_counter() - start
    p.join()
    return total / elapsed / (1 << 30)


def available_contexts():
    """(name, context) of each start method this Python has, with a note for the others."""
    for method in ("spawn", "fork", "forkserver"):
        if method in mp.get_all_start_methods():
            yield method, mp.get_context(method)
        else:
            print(f"note: multiprocessing has no '{method}' start method here", file=sys.stderr)


def spawn_cases(quick, rounds):
    children = {"spawn": 4 if quick else 10, "fork": 10 if quick else 30, "forkserver": 4 if quick else 30}
    contexts = list(available_contexts())
    values = {}
    for method, ctx in contexts:
        values[method] = ctx.Value('l', 0)
        start_join_us(ctx, values[method], 1)  # warm up: the resource tracker, the fork server, imports
        report("spawn_join", f"python_{method}", "us_per_child",
               (start_join_us(ctx, values[method], children[method]) for _ in range(rounds)))
    for n in (1, 8, 64):
        # A burst of 64 fresh interpreters costs seconds on 2 cores: fewer rounds of it.
        burst_rounds = (1 if quick else 3) if n == 64 else (3 if quick else 5)
        for method, ctx in contexts:
            report(f"spawn_burst_{n}", f"python_{method}", "us_per_child",
                   (burst_us(ctx, values[method], n) for _ in range(burst_rounds)))


def main():
    quick = "--quick" in sys.argv[1:]
    rounds = 5 if quick else 7
    increments = 20000 if quick else 100000

    ctx = mp.get_context()
    for procs in (2, 4, 8, 16):
        # 2 workers of `increments` each, the same total split among more workers.
        report(f"lock_contended_{procs}p", "python_mp", "ns_per_op",
               (contended_ns(ctx, procs, 2 * increments // procs) for _ in range(rounds if procs == 2 else 3)))

    spawn_cases(quick, rounds)

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    items = 20000 if quick else 100000
    for producers, case in ((1, "queue_1p1c"), (4, "queue_4p1c")):
        report(case, "python_mp", "ns_per_item", (queue_ns(ctx, producers, items) for _ in range(rounds)))
    report("queue_strings", "python_mp", "ns_per_item", (queue_strings_ns(ctx, items) for _ in range(rounds)))
    report("pingpong", "python_mp", "ns_per_round_trip",
           (pingpong_ns(ctx, 2000 if quick else 10000) for _ in range(rounds)))
    report("pipe_pingpong", "python_mp", "ns_per_round_trip",
           (pipe_pingpong_ns(ctx, 2000 if quick else 10000) for _ in range(rounds)))
    report("pipe_bytes", "python_mp", "gib_per_s",
           (pipe_bytes_gib_per_s(ctx, 1 << 20, 128 if quick else 512) for _ in range(rounds)))

    tasks = 2000 if quick else 10000
    for method in ("spawn", "fork"):
        if method not in mp.get_all_start_methods():
            continue
        with mp.get_context(method).Pool(4) as pool:
            pool_us_per_task(pool, 100)  # warm up: the workers have started
            report("pool_map_tiny", f"python_pool_{method}", "us_per_task",
                   (pool_us_per_task(pool, tasks) for _ in range(rounds)))
            report("pool_map_square", f"python_pool_{method}", "us_per_item",
                   (square_us_per_item(pool, 100000) for _ in range(rounds)))
            report("pool_submit_roundtrip", f"python_pool_{method}", "us_per_round_trip",
                   (submit_us_per_round_trip(pool, 1000 if quick else 5000) for _ in range(rounds)))
            report("pool_bytes", f"python_pool_{method}", "mib_per_s",
                   (bytes_mib_per_s(pool) for _ in range(rounds)))


if __name__ == "__main__":
    main()
