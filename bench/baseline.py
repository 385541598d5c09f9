#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python baselines of bench/run: the seed program's world, multiprocessing.

Prints `bench <case> <impl> <metric>=<value>` lines like interproc_bench, each the median
of several rounds:
  lock_contended_2p python_mp    2 Processes adding 1 to a Value('l') under get_lock()
  spawn_join        python_spawn start + join of a Process that touches a Value ('spawn')
  spawn_join        python_fork  the same with the 'fork' start method
  queue_1p1c, queue_4p1c  python_mp: 64-byte bytes through a Queue from 1 or 4 processes
  pingpong          python_mp    a round trip through two Events
  pool_map_tiny     python_pool_spawn / python_pool_fork: Pool(4).map of tasks that return
                    their argument, on a warm pool (us per task)
Only the work is timed, never this interpreter's own start.

    baseline.py [--quick]
"""
import multiprocessing as mp
import statistics
import sys
import time


def report(case, impl, metric, value):
    digits = 1 if value >= 100 else 2 if value >= 1 else 3
    print(f"bench {case} {impl} {metric}={value:.{digits}f}", flush=True)


def contend_worker(counter, ready, go, ends, index, n):
    with ready.get_lock():
        ready.value += 1
    go.wait()
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1
    ends[index] = time.monotonic()


def contended_ns(ctx, n):
    """ns per increment, 2 processes doing n each at the same time."""
    counter, ready = ctx.Value('l', 0), ctx.Value('i', 0)
    go, ends = ctx.Event(), ctx.Array('d', 2)
    workers = [ctx.Process(target=contend_worker, args=(counter, ready, go, ends, i, n)) for i in range(2)]
    for w in workers:
        w.start()
    while ready.value < 2:
        time.sleep(0.0005)
    start = time.monotonic()
    go.set()
    for w in workers:
        w.join()
    if counter.value != 2 * n or any(w.exitcode != 0 for w in workers):
        raise RuntimeError("python_mp: a worker failed or lost increments")
    return (max(ends) - start) / (2 * n) * 1e9


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


def echo(x):
    return x


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


def main():
    quick = "--quick" in sys.argv[1:]
    rounds = 5 if quick else 7
    increments = 20000 if quick else 100000
    children = {"spawn": 4 if quick else 10, "fork": 10 if quick else 30}

    ctx = mp.get_context()
    report("lock_contended_2p", "python_mp", "ns_per_op",
           statistics.median(contended_ns(ctx, increments) for _ in range(rounds)))

    for method in ("spawn", "fork"):
        if method not in mp.get_all_start_methods():
            print(f"note: multiprocessing has no '{method}' start method here", file=sys.stderr)
            continue
        ctx = mp.get_context(method)
        value = ctx.Value('l', 0)
        start_join_us(ctx, value, 1)  # warm up: the resource tracker, imports, page cache
        report("spawn_join", f"python_{method}", "us_per_child",
               statistics.median(start_join_us(ctx, value, children[method]) for _ in range(rounds)))

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    items = 20000 if quick else 100000
    for producers, case in ((1, "queue_1p1c"), (4, "queue_4p1c")):
        report(case, "python_mp", "ns_per_item",
               statistics.median(queue_ns(ctx, producers, items) for _ in range(rounds)))
    report("pingpong", "python_mp", "ns_per_round_trip",
           statistics.median(pingpong_ns(ctx, 2000 if quick else 10000) for _ in range(rounds)))

    tasks = 2000 if quick else 10000
    for method in ("spawn", "fork"):
        if method not in mp.get_all_start_methods():
            continue
        with mp.get_context(method).Pool(4) as pool:
            pool_us_per_task(pool, 100)  # warm up: the workers have started
            report("pool_map_tiny", f"python_pool_{method}", "us_per_task",
                   statistics.median(pool_us_per_task(pool, tasks) for _ in range(rounds)))


if __name__ == "__main__":
    main()
