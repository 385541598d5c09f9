// SPDX-License-Identifier: MIT
// A request/response conversation with one child over a Pipe, as Python's
//
//   def server(conn):
//       while (request := conn.recv()) is not None:
//           conn.send((request, len(request.split())))
//   left, right = multiprocessing.Pipe()
//   p = multiprocessing.Process(target=server, args=(right,)); p.start(); right.close()
//   for line in lines: left.send(line); print(left.recv())
//   left.send(None); p.join()
//
// The child answers each line with the line and its word count; std::nullopt ends it.
#include <interproc/interproc.hpp>

#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using Request = std::optional<std::string>;
using Response = std::pair<std::string, long>;

INTERPROC_CHILD_ENTRY(word_counter) {
  interproc::Connection& conn = ctx.connection(0);
  while (Request line = conn.recv<Request>()) {
    std::istringstream words(*line);
    long count = 0;
    for (std::string word; words >> word;) ++count;
    conn.send(Response{*line, count});
  }
  return 0;
}

int main(int argc, char** argv) {
  if (auto code = interproc::child_main(argc, argv)) return *code;

  auto [left, right] = interproc::Pipe::create();
  interproc::Child server = interproc::spawn_child("word_counter", {}, {right});
  right.close();  // the child has its own copy; ours would keep the pipe open after it ends

  const std::vector<std::pair<std::string, long>> lines{
      {"the quick brown fox", 4}, {"", 0}, {"jumps over the lazy dog", 5}, {std::string(100000, 'a'), 1}};
  int wrong = 0;
  for (const auto& [line, expected] : lines) {
    left.send(Request{line});
    const auto [echoed, words] = left.recv<Response>();
    std::printf("%zu characters: %ld words\n", echoed.size(), words);
    if (echoed != line || words != expected) ++wrong;
  }
  left.send(Request{});  // the sentinel: the child returns
  const int code = server.wait();
  std::printf("server exited with %d\n", code);
  return wrong == 0 && code == 0 ? 0 : 1;
}
