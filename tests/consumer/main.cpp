// The consumer test's program: uses interproc as an outside project would, through the
// umbrella header and the interproc::interproc target. Exit code 0 means it all worked.
#include <interproc/interproc.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>

int main() {
  try {
    auto segment = interproc::SharedSegment::create(4096);
    if (segment.size() != 4096) {
      std::fprintf(stderr, "consumer: size() is %zu, expected 4096\n", segment.size());
      return 2;
    }
    auto bytes = segment.bytes();
    if (bytes.size() != 4096 || bytes[0] != std::byte{0}) {
      std::fprintf(stderr, "consumer: the new segment is not 4096 zero-filled bytes\n");
      return 3;
    }
    bytes[0] = std::byte{0x5a};
    bytes[4095] = std::byte{0xa5};
    if (segment.bytes()[0] != std::byte{0x5a} || segment.bytes()[4095] != std::byte{0xa5}) {
      std::fprintf(stderr, "consumer: a byte written to the segment did not read back\n");
      return 4;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 5;
  }
  std::puts("consumer: created a 4096-byte segment, wrote and read it back: ok");
  return 0;
}
