// SPDX-License-Identifier: MIT
#pragma once
// What passes between a ProcessPool and its workers: the items of their queues, and a string
// task's arguments as bytes, in interproc's one codec (codec.hpp).
#include <interproc/codec.hpp>

#include "common/transfer.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace interproc::detail {

// Payloads up to this size travel inside their item; larger ones in the sender's arena.
inline constexpr std::size_t payload_bytes = 960;
inline constexpr std::uint64_t initializer_id = 0;  // a worker's initializer's result (tasks start at 1)

enum class TaskKind : std::uint32_t {
  call = 0,   // a string task (INTERPROC_TASK) on one argument list
  batch = 1,  // a string task on a list of argument lists (the string map's chunks)
  chunk = 2,  // a typed function (INTERPROC_FUNCTION) on an encoded chunk of inputs
};

// Where an item's payload is: in the item, or at the start of the sender's arena of
// `generation` (pool_arena.hpp).
struct PayloadPlace {
  std::uint64_t size;
  std::uint32_t in_arena;
  std::uint32_t generation;
};

struct TaskItem {
  std::uint64_t id;
  PayloadPlace payload;
  TaskKind kind;
  char task[max_entry_name + 1];
  char data[payload_bytes];
};

struct ResultItem {
  std::uint64_t id;
  PayloadPlace payload;
  std::uint32_t failed;  // the payload is the failure's message
  std::uint32_t slot;    // the sender's slot (read for initializer_id only)
  char data[payload_bytes];
};

// A string task's arguments in the codec, in a buffer of their exact size.
template <class Buffer = std::string>
Buffer encode_args(const std::vector<std::string>& args) {
  Buffer bytes;
  bytes.reserve(encoded_size(args));
  Writer<Buffer> w(bytes);
  encode(w, args);
  return bytes;
}

inline std::vector<std::string> decode_args(std::string_view bytes) { return decode<std::vector<std::string>>(bytes); }

}  // namespace interproc::detail
