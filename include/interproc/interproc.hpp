// SPDX-License-Identifier: MIT
#pragma once
// interproc: shared memory, robust interprocess mutexes, events, semaphores, conditions,
// queues and child processes, one API for POSIX and Windows.
#include <interproc/barrier.hpp>
#include <interproc/condition.hpp>
#include <interproc/connection.hpp>
#include <interproc/error.hpp>
#include <interproc/event.hpp>
#include <interproc/interprocess_mutex.hpp>
#include <interproc/joinable_queue.hpp>
#include <interproc/names.hpp>
#include <interproc/process_pool.hpp>
#include <interproc/recursive_mutex.hpp>
#include <interproc/semaphore.hpp>
#include <interproc/shared_queue.hpp>
#include <interproc/shared_segment.hpp>
#include <interproc/shared_value.hpp>
#include <interproc/spawn.hpp>
#include <interproc/wait.hpp>
#include <interproc/version.hpp>
